// Node-API glue: validates typed arrays against the geometry, allocates outputs, runs the kernels
// synchronously on the calling thread (callers run training in worker threads). One Kernels (and
// primitive cache) per Node environment, so worker threads never share state.
#include <dlfcn.h>
#include <node_api.h>
#include <omp.h>
#include <stdlib.h>

#include <stdexcept>
#include <string>

#include "kernels.hh"

namespace {

struct Instance {
  ws::Kernels kernels;
  napi_env env = nullptr;
  napi_ref listener = nullptr;
};

struct JsError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

#define NAPI(call)                                                 \
  do {                                                             \
    if ((call) != napi_ok) throw JsError("Node-API call failed: " #call); \
  } while (0)

Instance &instance(napi_env env) {
  void *data = nullptr;
  NAPI(napi_get_instance_data(env, &data));
  return *static_cast<Instance *>(data);
}

std::vector<napi_value> argv(napi_env env, napi_callback_info info, size_t want) {
  std::vector<napi_value> args(want);
  size_t got = want;
  NAPI(napi_get_cb_info(env, info, &got, args.data(), nullptr, nullptr));
  if (got < want) throw JsError("expected " + std::to_string(want) + " arguments");
  return args;
}

bool isNullish(napi_env env, napi_value v) {
  napi_valuetype t;
  NAPI(napi_typeof(env, v, &t));
  return t == napi_null || t == napi_undefined;
}

template <typename T>
T *typedArray(napi_env env, napi_value v, napi_typedarray_type want, size_t length, const char *name) {
  bool is = false;
  NAPI(napi_is_typedarray(env, v, &is));
  if (!is) throw JsError(std::string(name) + " must be a typed array");
  napi_typedarray_type type;
  size_t len;
  void *data;
  NAPI(napi_get_typedarray_info(env, v, &type, &len, &data, nullptr, nullptr));
  if (type != want) throw JsError(std::string(name) + " has the wrong element type");
  if (length != SIZE_MAX && len != length)
    throw JsError(std::string(name) + " has " + std::to_string(len) + " elements, expected " + std::to_string(length));
  return static_cast<T *>(data);
}

napi_value newFloat32(napi_env env, size_t length, float **data) {
  napi_value buffer, array;
  void *raw;
  NAPI(napi_create_arraybuffer(env, length * sizeof(float), &raw, &buffer));
  NAPI(napi_create_typedarray(env, napi_float32_array, length, buffer, 0, &array));
  *data = static_cast<float *>(raw);
  return array;
}

ws::ConvGeometry geometry(napi_env env, napi_value v) {
  const int32_t *p = typedArray<int32_t>(env, v, napi_int32_array, 17, "geometry");
  ws::ConvGeometry g{p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13], p[14], p[15], p[16] != 0};
  for (int i = 0; i < 16; i++)
    if (p[i] < (i >= 11 && i <= 14 ? 0 : 1)) throw JsError("geometry entry " + std::to_string(i) + " is out of range");
  if (g.c % g.groups != 0 || g.o % g.groups != 0) throw JsError("channels are not divisible by groups");
  if (g.outH() < 1 || g.outW() < 1) throw JsError("the convolution output is empty");
  return g;
}

size_t filterSize(const ws::ConvGeometry &g) { return size_t(g.o) * (g.c / g.groups) * g.kh * g.kw; }
size_t inputSize(const ws::ConvGeometry &g) { return size_t(g.n) * g.c * g.h * g.w; }
size_t outputSize(const ws::ConvGeometry &g) { return size_t(g.n) * g.o * g.outH() * g.outW(); }

template <typename F>
napi_value guarded(napi_env env, F f) {
  try {
    return f();
  } catch (const dnnl::error &e) {
    napi_throw_error(env, "NATIVE_DNNL", (std::string("oneDNN: ") + e.what()).c_str());
  } catch (const std::exception &e) {
    napi_throw_error(env, "NATIVE_ARGUMENT", e.what());
  }
  return nullptr;
}

napi_value ConvForward(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto a = argv(env, info, 4);
    auto g = geometry(env, a[0]);
    const float *x = typedArray<float>(env, a[1], napi_float32_array, inputSize(g), "x");
    const float *w = typedArray<float>(env, a[2], napi_float32_array, filterSize(g), "w");
    const float *b = g.bias ? typedArray<float>(env, a[3], napi_float32_array, size_t(g.o), "bias") : nullptr;
    float *y;
    napi_value out = newFloat32(env, outputSize(g), &y);
    instance(env).kernels.convForward(g, x, w, b, y);
    return out;
  });
}

napi_value ConvBackwardData(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto a = argv(env, info, 3);
    auto g = geometry(env, a[0]);
    const float *dy = typedArray<float>(env, a[1], napi_float32_array, outputSize(g), "dy");
    const float *w = typedArray<float>(env, a[2], napi_float32_array, filterSize(g), "w");
    float *dx;
    napi_value out = newFloat32(env, inputSize(g), &dx);
    instance(env).kernels.convBackwardData(g, dy, w, dx);
    return out;
  });
}

napi_value ConvBackwardWeights(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto a = argv(env, info, 3);
    auto g = geometry(env, a[0]);
    const float *x = typedArray<float>(env, a[1], napi_float32_array, inputSize(g), "x");
    const float *dy = typedArray<float>(env, a[2], napi_float32_array, outputSize(g), "dy");
    float *dw, *db = nullptr;
    napi_value result, dwArr = newFloat32(env, filterSize(g), &dw), dbArr;
    NAPI(napi_create_array_with_length(env, 2, &result));
    NAPI(napi_set_element(env, result, 0, dwArr));
    if (g.bias) {
      dbArr = newFloat32(env, size_t(g.o), &db);
      NAPI(napi_set_element(env, result, 1, dbArr));
    }
    instance(env).kernels.convBackwardWeights(g, x, dy, dw, db);
    return result;
  });
}

int64_t int64Arg(napi_env env, napi_value v) {
  int64_t r;
  NAPI(napi_get_value_int64(env, v, &r));
  return r;
}

napi_value Matmul(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto a = argv(env, info, 7);
    int64_t m = int64Arg(env, a[0]), k = int64Arg(env, a[1]), n = int64Arg(env, a[2]);
    if (m < 1 || k < 1 || n < 1) throw JsError("matmul sizes must be positive");
    bool ta, tb;
    NAPI(napi_get_value_bool(env, a[3], &ta));
    NAPI(napi_get_value_bool(env, a[4], &tb));
    const float *A = typedArray<float>(env, a[5], napi_float32_array, size_t(m * k), "a");
    const float *B = typedArray<float>(env, a[6], napi_float32_array, size_t(k * n), "b");
    float *c;
    napi_value out = newFloat32(env, size_t(m * n), &c);
    instance(env).kernels.matmul(m, k, n, ta, tb, A, B, c);
    return out;
  });
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto a = argv(env, info, 1);
    int64_t n = int64Arg(env, a[0]);
    if (n < 1) throw JsError("threads must be positive");
    omp_set_num_threads(int(n));
    napi_value undef;
    NAPI(napi_get_undefined(env, &undef));
    return undef;
  });
}

napi_value Info(napi_env env, napi_callback_info) {
  return guarded(env, [&] {
    const dnnl_version_t *v = dnnl_version();
    auto &st = instance(env).kernels.stats();
    napi_value o, impls, t;
    NAPI(napi_create_object(env, &o));
    std::string version = std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
    NAPI(napi_create_string_utf8(env, version.c_str(), NAPI_AUTO_LENGTH, &t));
    NAPI(napi_set_named_property(env, o, "version", t));
    NAPI(napi_create_int32(env, omp_get_max_threads(), &t));
    NAPI(napi_set_named_property(env, o, "threads", t));
    NAPI(napi_create_int64(env, st.primitives, &t));
    NAPI(napi_set_named_property(env, o, "primitives", t));
    NAPI(napi_create_int64(env, st.refPrimitives, &t));
    NAPI(napi_set_named_property(env, o, "refPrimitives", t));
    NAPI(napi_create_int64(env, st.calls, &t));
    NAPI(napi_set_named_property(env, o, "calls", t));
    NAPI(napi_create_object(env, &impls));
    for (auto &kv : st.implementations) {
      NAPI(napi_create_int64(env, kv.second, &t));
      NAPI(napi_set_named_property(env, impls, kv.first.c_str(), t));
    }
    NAPI(napi_set_named_property(env, o, "implementations", impls));
    return o;
  });
}

napi_value SetListener(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto a = argv(env, info, 1);
    Instance &inst = instance(env);
    if (inst.listener != nullptr) NAPI(napi_delete_reference(env, inst.listener));
    inst.listener = nullptr;
    if (isNullish(env, a[0])) {
      inst.kernels.setListener(nullptr);
    } else {
      NAPI(napi_create_reference(env, a[0], 1, &inst.listener));
      Instance *self = &inst;
      inst.kernels.setListener([self](const std::string &kind, const std::string &impl, const std::string &shape) {
        napi_env e = self->env;
        napi_value fn, global, args[3], ignored;
        if (napi_get_reference_value(e, self->listener, &fn) != napi_ok || napi_get_global(e, &global) != napi_ok) return;
        napi_create_string_utf8(e, kind.c_str(), NAPI_AUTO_LENGTH, &args[0]);
        napi_create_string_utf8(e, impl.c_str(), NAPI_AUTO_LENGTH, &args[1]);
        napi_create_string_utf8(e, shape.c_str(), NAPI_AUTO_LENGTH, &args[2]);
        napi_call_function(e, global, fn, 3, args, &ignored);
      });
    }
    napi_value undef;
    NAPI(napi_get_undefined(env, &undef));
    return undef;
  });
}

void Finalize(napi_env env, void *data, void *) {
  auto *inst = static_cast<Instance *>(data);
  if (inst->listener != nullptr) napi_delete_reference(env, inst->listener);
  delete inst;
}

/**
 * Loads OpenMP and oneDNN (the addon is linked against neither, so their calls bind lazily) after
 * asking OpenMP to sleep, not spin, between parallel regions unless OMP_WAIT_POLICY says otherwise:
 * spinning threads on shared, busy cores made oneDNN's 2-thread steps 3–5× slower than 1 thread.
 * Returns an error message, or empty.
 */
std::string loadLibraries() {
  static std::string error = [] {
    setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
    for (const char *lib : {"libgomp.so.1", "libdnnl.so.2"}) {
      if (dlopen(lib, RTLD_NOW | RTLD_GLOBAL) == nullptr) return std::string(dlerror());
    }
    return std::string();
  }();
  return error;
}

napi_value Init(napi_env env, napi_value exports) {
  std::string error = loadLibraries();
  if (!error.empty()) {
    napi_throw_error(env, "NATIVE_LIBRARY", ("oneDNN cannot be loaded: " + error).c_str());
    return nullptr;
  }
  auto *inst = new Instance();
  inst->env = env;
  napi_set_instance_data(env, inst, Finalize, nullptr);
  napi_property_descriptor props[] = {
      {"convForward", nullptr, ConvForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"convBackwardData", nullptr, ConvBackwardData, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"convBackwardWeights", nullptr, ConvBackwardWeights, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"matmul", nullptr, Matmul, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setListener", nullptr, SetListener, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE_INIT() { return Init(env, exports); }
