#!/bin/sh
# Regenerates the protobufjs artefacts from onnx.proto. Run from anywhere inside the project:
#   sh src/core/formats/onnx/proto/regenerate.sh
# - onnx.json: reflection descriptor loaded at runtime by onnx-codec.ts (protobufjs/light Root.fromJSON).
# - onnx-types.d.ts: TypeScript typings only (type imports; there is no matching .js module).
# To move to a newer ONNX schema, replace onnx.proto with the newer onnx/onnx.proto and rerun this.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$here"
npx pbjs -t json -o onnx.json onnx.proto
npx pbjs -t static-module -w commonjs -o "$tmp/onnx-static.js" onnx.proto
npx pbts -o onnx-types.d.ts "$tmp/onnx-static.js"
