#!/usr/bin/env bash
# tools/demo.sh — the README's main command. For now: install, build, and show the IR
# workbench on an example graph (a two-layer MLP with a cross-entropy loss): verify and
# print it, count its FLOPs, and run it in the reference interpreter. It becomes "train
# a small model and print a sample" as the compiler and runtime land.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc 2>/dev/null || echo 2)" --target llmir
LLMIR=build/release/tools/llmir
EXAMPLE=tests/ir/mlp_xent.llir
echo "== llmir print $EXAMPLE"
$LLMIR print $EXAMPLE
echo "== llmir stats $EXAMPLE"
$LLMIR stats $EXAMPLE
echo "== llmir run $EXAMPLE --seed 1"
$LLMIR run $EXAMPLE --seed 1
