#!/usr/bin/env bash
# tools/demo.sh — the README's main command. For now: install, build, and walk a model
# through everything that exists: llmc checks and lowers models/llama-tiny.llm, prints
# its statistics, the init graph draws its parameters from a seed, and the reference
# interpreter computes the first training loss (≈ ln(vocab) for a fresh model). It
# becomes "train a small model and print a sample" as the compiler and runtime land.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc 2>/dev/null || echo 2)" --target llmc llmir
LLMC=build/release/tools/llmc
LLMIR=build/release/tools/llmir
MODEL=models/llama-tiny.llm
OUT=build/demo
mkdir -p "$OUT"
echo "== llmc $MODEL --stats"
$LLMC $MODEL --stats
echo "== llmc $MODEL --emit=forward | llmir stats"
$LLMC $MODEL --emit=forward -o "$OUT/forward.llir"
$LLMC $MODEL --emit=init -o "$OUT/init.llir"
$LLMIR stats "$OUT/forward.llir" | head -n 40
echo "== init: parameters from seed -> $OUT/params.safetensors"
$LLMIR run "$OUT/init.llir" --seed 1 --show 0 --out "$OUT/params.safetensors" | tail -n 1
echo "== forward on random tokens: the initial loss (ln 512 = 6.238)"
$LLMIR run "$OUT/forward.llir" --seed 2 --input "$OUT/params.safetensors"
