#!/usr/bin/env bash
# `npm start`'s build: incremental, so that an unchanged tree starts in seconds. `tsc -b` compares
# the sources' times with dist/.tsbuildinfo and compiles only what changed; a source that has no
# output yet (a file copied in with an old time, which -b does not notice) makes it a full
# incremental compile instead. Then compiled files whose source is gone are removed, so that a
# module deleted from src/ can never be loaded from dist/. `npm run build` stays the clean build
# (CI, images, benches).
set -euo pipefail
cd "$(dirname "$0")/.."
node_modules/.bin/tsc -b tsconfig.build.json
# The sources tsconfig.build.json compiles (its "exclude" list, in find's terms).
sources() {
  find src scripts -type f -name '*.ts' ! -name '*.d.ts' ! -name '*.spec.ts' ! -name '*.int-spec.ts' \
    ! -name '*.e2e-spec.ts' ! -name '*.contract.ts' ! -name 'testing-*.ts' ! -path '*/testing/*'
}
while IFS= read -r src; do
  if [ ! -e "dist/${src%.ts}.js" ]; then
    node_modules/.bin/tsc -p tsconfig.build.json
    break
  fi
done < <(sources)
find dist/src dist/scripts -type f \( -name '*.js' -o -name '*.js.map' \) | while IFS= read -r out; do
  rel="${out#dist/}"
  rel="${rel%.map}"
  [ -e "${rel%.js}.ts" ] || rm -f "$out"
done
find dist -mindepth 1 -type d -empty -delete
