#!/usr/bin/env bash
# Runs the Prisma CLI offline: with `engine: 'js'` (prisma.config.ts) no native engine is used, but
# the CLI still probes for one (a download these machines cannot make) unless these point somewhere.
set -euo pipefail
export PRISMA_QUERY_ENGINE_LIBRARY="${PRISMA_QUERY_ENGINE_LIBRARY:-/dev/null}"
export PRISMA_SCHEMA_ENGINE_BINARY="${PRISMA_SCHEMA_ENGINE_BINARY:-/dev/null}"
export PRISMA_HIDE_UPDATE_MESSAGE=1 CHECKPOINT_DISABLE=1
exec "$(dirname "$0")/../node_modules/.bin/prisma" "$@"
