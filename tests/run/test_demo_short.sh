#!/usr/bin/env bash
# tests/run/test_demo_short.sh LLMRUN LLMC LLMTOK — the README demo's pipeline, shortened
# for CI: a BPE tokenizer trained on a slice of the default corpus (Debian's fortunes,
# or a generated text where it is not installed), the slice encoded into shards,
# models/fortune.llm compiled into a bundle with its inference graphs, 8 training steps
# with validation, and a sample decoded through the tokenizer: every stage exits 0, the
# loss starts near ln 4096 and falls, and the same seed samples the same text twice.
set -u
llmrun=$1 llmc=$2 llmtok=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
die() { echo "FAIL $*"; fail=1; }
if [ -d /usr/share/games/fortunes ]; then
    for f in /usr/share/games/fortunes/{fortunes,literature,wisdom}; do [ -f "$f" ] && cat "$f"; done > "$work/corpus.txt"
else
    for i in $(seq 1 3000); do echo "Fortune $i: a stitch in time saves nine, and all that glitters is not gold."; echo "%"; done > "$work/corpus.txt"
fi
"$llmtok" train "$work/corpus.txt" --vocab 4096 -o "$work/c.tok" > "$work/tok.log" 2>&1 || die "llmtok train: $(tail -2 "$work/tok.log")"
"$llmtok" encode --tok "$work/c.tok" "$work/corpus.txt" -o "$work/data" > "$work/enc.log" 2>&1 || die "llmtok encode: $(tail -2 "$work/enc.log")"
"$llmc" models/fortune.llm -o "$work/f.llmc" > "$work/llmc.log" 2>&1 || die "llmc: $(tail -2 "$work/llmc.log")"
grep -q "inference graphs" "$work/llmc.log" || die "the compile report lists no inference graphs"
"$llmrun" "$work/f.llmc" --data "$work/data" --out "$work/run" --steps 8 --eval-every 4 --eval-batches 1 > "$work/run.log" 2>&1 ||
    die "llmrun: $(tail -3 "$work/run.log")"
python3 - "$work/run/metrics.jsonl" <<'PY' || fail=1
import json, math, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [r["step"] for r in rows] == list(range(1, 9)), "steps 1..8"
first, last = rows[0]["loss"], rows[-1]["loss"]
assert abs(first - math.log(4096)) < 1.0, f"first loss {first} is not near ln 4096"
assert last < first, f"the loss did not fall: {first} -> {last}"
assert "val_loss" in rows[3] and "val_loss" in rows[7], "validation at steps 4 and 8"
print(f"ok   loss {first:.3f} -> {last:.3f}, val {rows[7]['val_loss']:.3f}")
PY
gen() { "$llmrun" generate "$work/run" --model "$work/f.llmc" --tok "$work/c.tok" --prompt "The " --tokens 30 \
            --temperature 0.8 --top-k 40 --seed "$1" --threads 1 2> "$work/gen.err"; }
a=$(gen 7) || die "generate: $(tail -2 "$work/gen.err")"
b=$(gen 7)
[ -n "$a" ] && [ "$a" = "$b" ] || die "the same seed gave different samples"
grep -q "tokens/s" "$work/gen.err" || die "generate reports no tokens/s"
[ $fail -eq 0 ] && echo "ok   sample: $(head -c 80 <<<"$a" | tr '\n' ' ')"
exit $fail
