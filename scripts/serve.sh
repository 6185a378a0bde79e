#!/usr/bin/env bash
# Runs the built server (`npm start`, `npm run start:dist`) with glibc's allocator told to give
# freed memory back to the system: two arenas instead of eight per core (worker threads otherwise
# each keep one), and allocations of 128 KiB and more mapped on their own and unmapped when freed
# (weights, ONNX models and request buffers). The server's resident memory after a deployment and
# a GHN initialization then falls back towards idle instead of staying at its peak
# (bench/results/memory.json). Each value can be overridden from the environment.
set -euo pipefail
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-131072}"
export MALLOC_TRIM_THRESHOLD_="${MALLOC_TRIM_THRESHOLD_:-131072}"
exec node "$(dirname "$0")/../dist/src/main.js" "$@"
