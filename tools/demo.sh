#!/usr/bin/env bash
# tools/demo.sh — the README's main command: install, build, and train a small model.
# The corpus is this repository's own documentation (until the data issue brings a
# default corpus and BPE): llmdata turns it into byte-level token shards, llmc compiles
# models/llama-tiny.llm (vocab 256: one token per byte; 1000 steps) into a bundle and
# prints its compile report, and llmrun trains it for those 1000 steps through JIT
# kernels, printing progress and validation loss; metrics and checkpoints land in
# build/demo/run. Ctrl-C stops it with a checkpoint; run the printed --resume command
# to continue exactly where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc 2>/dev/null || echo 2)" --target llmc llmrun llmdata
BIN=build/release/tools
OUT=build/demo
rm -rf "$OUT"
mkdir -p "$OUT"
cat README.md docs/*.md models/README.md > "$OUT/corpus.txt"
echo "== llmdata: the docs as byte-level token shards"
$BIN/llmdata shard "$OUT/corpus.txt" --out "$OUT/data"
echo "== llmc models/llama-tiny.llm -D vocab=256 -D steps=1000 -o $OUT/llama-tiny.llmc"
$BIN/llmc models/llama-tiny.llm -D vocab=256 -D steps=1000 -o "$OUT/llama-tiny.llmc"
echo "== llmrun: 1000 steps (the loss starts near ln 256 = 5.55)"
$BIN/llmrun "$OUT/llama-tiny.llmc" --data "$OUT/data" --out "$OUT/run" --eval-every 100 --ckpt-every 100
echo "== $OUT/run: $(ls "$OUT/run" | tr '\n' ' ')"
echo "   last metrics: $(tail -n 1 "$OUT/run/metrics.jsonl")"
