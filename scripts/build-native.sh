#!/usr/bin/env bash
# Builds the oneDNN addon (native/dnnl) when oneDNN's headers and library are installed
# (Debian: libdnnl-dev); otherwise says why and exits 0, leaving everything on TF.js.
set -euo pipefail
cd "$(dirname "$0")/.."

header=""
for h in /usr/include/dnnl.hpp /usr/include/oneapi/dnnl/dnnl.hpp /usr/local/include/dnnl.hpp /usr/local/include/oneapi/dnnl/dnnl.hpp; do
  [ -f "$h" ] && header="$h" && break
done
library=""
for l in /usr/lib/*/libdnnl.so /usr/lib/libdnnl.so /usr/local/lib/libdnnl.so /usr/local/lib64/libdnnl.so; do
  [ -e "$l" ] && library="$l" && break
done
if [ -z "$header" ] || [ -z "$library" ]; then
  echo "build:native: oneDNN is not installed (no dnnl.hpp or libdnnl.so; apt-get install libdnnl-dev): native kernels stay off, everything runs on TF.js"
  exit 0
fi

# node-gyp: npm's own copy (no download); Node's headers from its install prefix when present.
gyp=""
if [ -n "${npm_execpath:-}" ] && [ -f "$(dirname "$npm_execpath")/../node_modules/node-gyp/bin/node-gyp.js" ]; then
  gyp="$(dirname "$npm_execpath")/../node_modules/node-gyp/bin/node-gyp.js"
fi
for g in "$gyp" "$(dirname "$(dirname "$(command -v node)")")/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"; do
  [ -n "$g" ] && [ -f "$g" ] && gyp="$g" && break
done
if [ -z "$gyp" ]; then
  echo "build:native: node-gyp not found (it comes with npm)" >&2
  exit 1
fi
prefix="$(dirname "$(dirname "$(command -v node)")")"
nodedir=()
[ -f "$prefix/include/node/node_api.h" ] && nodedir=(--nodedir="$prefix")

cd native/dnnl
node "$gyp" rebuild "${nodedir[@]}" --loglevel=warn
echo "build:native: built native/dnnl/build/Release/weightsmith_dnnl.node against $header"
