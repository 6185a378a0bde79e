{
  "targets": [
    {
      "target_name": "weightsmith_dnnl",
      "sources": ["src/addon.cc", "src/kernels.cc"],
      "cflags_cc": ["-std=c++17", "-O2", "-fexceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "libraries": ["-ldl"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
