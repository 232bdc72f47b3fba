#!/usr/bin/env bash
# tools/demo.sh [TEXT_FILE_OR_DIR] — the README's main command: from text to a model that
# writes text. It installs what it needs, builds, trains a byte-level BPE tokenizer
# (vocab 4096) on the corpus — by default Debian's fortunes, /usr/share/games/fortunes,
# each fortune a document — encodes the corpus into token shards, compiles
# models/fortune.llm into a bundle (printing its compile report), trains it on 2 cores
# for DEMO_STEPS steps (default 600, a few minutes) with the progress line and the
# validation loss in view, and prints four samples. Everything lands in build/demo; Ctrl-C
# during training saves a checkpoint, and the printed --resume command continues it.
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${1:-/usr/share/games/fortunes}
STEPS=${DEMO_STEPS:-600}
tools/install-deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc 2>/dev/null || echo 2)" --target llmc llmrun llmtok
BIN=build/release/tools
OUT=build/demo
rm -rf "$OUT"
mkdir -p "$OUT"
echo "== llmtok: a byte-level BPE tokenizer from $CORPUS"
$BIN/llmtok train "$CORPUS" --vocab 4096 -o "$OUT/corpus.tok"
$BIN/llmtok encode --tok "$OUT/corpus.tok" "$CORPUS" -o "$OUT/data"
echo "== llmc models/fortune.llm -D steps=$STEPS -o $OUT/fortune.llmc"
$BIN/llmc models/fortune.llm -D steps="$STEPS" -o "$OUT/fortune.llmc"
echo "== llmrun: $STEPS steps (the loss starts near ln 4096 = 8.3)"
$BIN/llmrun "$OUT/fortune.llmc" --data "$OUT/data" --out "$OUT/run" --eval-every 100 --ckpt-every 100
echo "== llmrun generate: four samples (each stops at the end of its fortune)"
for seed in 1 2 3 4; do
    $BIN/llmrun generate "$OUT/run" --model "$OUT/fortune.llmc" --tok "$OUT/corpus.tok" --prompt "The" \
        --tokens 200 --temperature 0.8 --top-k 40 --seed "$seed" 2>/dev/null
    echo "%"
done
