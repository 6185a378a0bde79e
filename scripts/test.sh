#!/usr/bin/env bash
# `npm test`: build, unit tests, then the e2e suite on the embedded PGlite database and, when
# TEST_DATABASE_URL names a PostgreSQL database, once more on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run -s build
npm run -s openapi:client >/dev/null
npx jest --silent=false
echo "== e2e on PGlite"
TEST_DATABASE_URL= npm run -s test:e2e
if [ -n "${TEST_DATABASE_URL:-}" ]; then
  echo "== e2e on PostgreSQL"
  npm run -s test:e2e
fi
