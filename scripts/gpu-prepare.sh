#!/usr/bin/env bash
# Prepares the GPU check (bench/gpu.ts, bench/README.md): builds, packs node, tfjs, webgpu,
# protobufjs and dist/ into .gpu/, and copies the fixtures that fit the 64 MiB transfer into
# .gpu-fixtures/ (git-ignored, never committed), and downloads the Vulkan loader with libglvnd into .gl/
# (the NVIDIA Vulkan driver there needs libGLdispatch). Then run on the device, with carry
# [".gpu", ".gpu-fixtures", ".gl"] (bench/README.md):
#   for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig; tar xJf .gpu-fixtures/protobufjs-src.tar.xz &&
#     bash .gpu/run.sh node dist/bench/gpu.js --fixtures .gpu-fixtures --out $OUT/gpu.json
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
fixtures=../shared/fixtures
npm run build >/dev/null
bash ../shared/gpu/pack.sh protobufjs >/dev/null
grep -qx '/.gpu-fixtures/' .git/info/exclude || echo '/.gpu-fixtures/' >> .git/info/exclude
rm -rf .gpu-fixtures && mkdir -p .gpu-fixtures/runtime .gpu-fixtures/ghn
# resnet18's 47 MB of weights do not fit beside node, tfjs and webgpu (~34 MiB) in the 64 MiB transfer.
cp "$fixtures"/runtime/squeezenet1_0.* "$fixtures"/runtime/vit_tiny.* .gpu-fixtures/runtime/
cp -r "$fixtures"/ghn/runs "$fixtures"/ghn/manifest.json "$fixtures"/ghn/inputs.safetensors .gpu-fixtures/ghn/
chmod -R u+w .gpu-fixtures
# pack.sh leaves out every package's src/, where protobufjs keeps its runtime: carried beside it.
tar -cJf .gpu-fixtures/protobufjs-src.tar.xz node_modules/protobufjs/src
grep -qx '/.gl/' .git/info/exclude || echo '/.gl/' >> .git/info/exclude
rm -rf .gl && mkdir -p .gl /tmp/gpu-apt-lists/partial
apt=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/gpu-apt-lists)
apt-get "${apt[@]}" update >/dev/null 2>&1 || true
(cd .gl && apt-get "${apt[@]}" download libvulkan1 libglvnd0 libegl1 libgl1 libglx0 libopengl0 >/dev/null 2>&1)
du -sh .gpu .gpu-fixtures .gl
