#!/usr/bin/env bash
# `npm test`: build, then the test tiers in turn:
#   unit         src/**/*.spec.ts, fast, no services
#   integration  src/**/*.int-spec.ts + test/integration: every zoo model through a GHN and
#                onnxruntime, the S3 store on a real Swift s3api, two replicas, lint boundaries
#   e2e          test/e2e over real HTTP: on PGlite with the filesystem store, then on PostgreSQL
#                with the filesystem store and with the S3 store (Swift s3api)
# PostgreSQL: TEST_DATABASE_URL, else a throwaway database on the local server (127.0.0.1:5432).
set -euo pipefail
cd "$(dirname "$0")/.."
npm run -s build
npm run -s openapi:client >/dev/null
npm run -s build:native
if [ "${WEIGHTSMITH_NATIVE_KERNELS:-auto}" != "off" ] && [ ! -f native/dnnl/build/Release/weightsmith_dnnl.node ]; then
  echo "npm test checks the native kernels: install oneDNN (apt-get install libdnnl-dev), or set WEIGHTSMITH_NATIVE_KERNELS=off to test the TF.js path only" >&2
  exit 2
fi

if [ -z "${TEST_DATABASE_URL:-}" ]; then
  if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    echo "npm test needs PostgreSQL: set TEST_DATABASE_URL=postgresql://... or start the local server on 127.0.0.1:5432" >&2
    exit 2
  fi
  db="weightsmith_test_$$"
  psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE ${db}"
  trap 'psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS ${db} WITH (FORCE)" >/dev/null || true' EXIT
  export TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:5432/${db}"
fi

tier() { echo "== $1 ($(date +%T))"; }
tier "unit"
npx jest
tier "integration"
npm run -s test:integration
tier "e2e on PGlite, filesystem store"
TEST_DATABASE_URL= TEST_BLOB_STORE=fs npm run -s test:e2e
tier "e2e on PostgreSQL, filesystem store"
TEST_BLOB_STORE=fs npm run -s test:e2e
tier "e2e on PostgreSQL, S3 store (Swift s3api)"
TEST_BLOB_STORE=s3 npm run -s test:e2e
tier "done"
