#!/usr/bin/env bash
# tools/test.sh — the README's test command: install, build, run every test.
#   1. an optimized build (warnings are errors) runs every label;
#   2. an ASan+UBSan build runs the fast labels (unit, golden, fuzz) again.
# Heavy labels (deps now; grad, jit, e2e, mpi later) run only in the optimized build.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=$(nproc 2>/dev/null || echo 2)

tools/install-deps.sh

cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DLLMC_WERROR=ON
cmake --build build/release -j"$JOBS"
cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DLLMC_SANITIZE=ON -DLLMC_WERROR=ON
cmake --build build/asan -j"$JOBS"

echo "== optimized build: all labels"
ctest --test-dir build/release --output-on-failure -j"$JOBS"
echo "== ASan+UBSan build: unit, golden, fuzz"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build/asan -L 'unit|golden|fuzz' --output-on-failure -j"$JOBS"
