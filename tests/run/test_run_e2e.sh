#!/usr/bin/env bash
# tests/run/test_run_e2e.sh LLMRUN LLMC LLMDATA — issue 6 end to end: `llmdata shard` a
# synthetic corpus, `llmc -D vocab=256 -o m.llmc` (every line of the compile report),
# then `llmrun m.llmc` for 40 steps with validation every 20 and checkpoints every 10:
# exit 0, one plain progress line per step (no TTY), the loss decreases, metrics.jsonl
# is valid JSON lines with every progress field and val_loss at steps 20 and 40,
# `latest` names ckpt-00000040 and --keep's default 3 leaves 3 checkpoints; a fresh run
# refuses an --out that holds a run; `llmrun --help` mentions every option; a cold
# compile (kernels optimized on every core at once) gives the cached compile's bytes.
source "$(dirname "$0")/lib.sh"

# the compile report
out=$report
matches "report" '^llmc: wrote .*/m\.llmc \([0-9.]+ MiB\) from models/gpt2-tiny\.llm$'
matches "report" '^model +gpt2_tiny, hash [0-9a-f]{16}$'
matches "report" '^parameters +[1-9][0-9]*$'
matches "report" '^tokens per step +128 \(batch 2 x seq 32 x accumulate 2\)$'
matches "report" '^FLOPs per step +[0-9.]+e\+[0-9]+ \([0-9.e+]+ per token\)$'
matches "report" '^peak memory +[0-9.]+ MiB$'
for part in params grads "optimizer state" "activations arena"; do
    matches "report" "^  $part +[0-9.]+ MiB +[1-9][0-9]* bytes"
done
matches "report" '^kernels +[1-9][0-9]* \(@micro [1-9][0-9]*, @update [1-9][0-9]*\): [1-9][0-9]* functions'
matches "report" '^compile time +[0-9.]+ ms  \(the training step\)$'
for stage in frontend "train step" "fusion \+ memplan" "LLVM codegen"; do
    matches "report" "^  $stage +[0-9.]+ ms$"
done

# training
R=$work/R
if expect 0 "llmrun 40 steps" "$llmrun" "$work/m.llmc" --data "$work/D" --out "$R" --steps 40 --eval-every 20 --ckpt-every 10; then
    n=$(grep -cE '^step [0-9]+/40 \| loss [0-9.]+ \| lr [0-9.e+-]+ \| gnorm [0-9.]+ \| [0-9]+ tok/s \| [0-9:]+ \| ETA [0-9:]+' <<<"$out")
    [ "$n" -eq 40 ] || bad "progress: $n plain step lines, expected 40"
    matches "progress" '^step 20/40 \|.* \| val [0-9.]+$'
    matches "progress" '^step 40/40 \|.* \| val [0-9.]+$'
    contains "llmrun" "llmrun: done at step 40; checkpoint and metrics in $R"
fi
python3 - "$R/metrics.jsonl" <<'PY' || fail=1
import json, math, sys
lines = open(sys.argv[1]).read().splitlines()
ok = True
def bad(msg):
    global ok
    print("FAIL metrics.jsonl:", msg); ok = False
rows = []
for i, line in enumerate(lines, 1):
    try:
        rows.append(json.loads(line))
    except ValueError as e:
        bad(f"line {i} is not JSON ({e}): {line[:80]}")
if [r.get("step") for r in rows] != list(range(1, 41)):
    bad(f"steps are {[r.get('step') for r in rows]}, expected 1..40")
fields = ["step", "loss", "lr", "grad_norm", "tokens_per_s", "elapsed_s", "eta_s"]
for r in rows:
    for f in fields:
        if not isinstance(r.get(f), (int, float)) or not math.isfinite(r[f]):
            bad(f"step {r.get('step')}: field {f} is {r.get(f)!r}")
    if ("val_loss" in r) != (r.get("step") in (20, 40)):
        bad(f"step {r.get('step')}: val_loss {'present' if 'val_loss' in r else 'missing'}")
    elif "val_loss" in r and not (isinstance(r["val_loss"], float) and 0 < r["val_loss"] < 10):
        bad(f"step {r['step']}: val_loss {r['val_loss']!r}")
if len(rows) == 40:
    first = sum(r["loss"] for r in rows[:5]) / 5
    last = sum(r["loss"] for r in rows[-5:]) / 5
    print(f"loss: first 5 steps {first:.4f}, last 5 steps {last:.4f}; val {rows[19].get('val_loss')} -> {rows[39].get('val_loss')}")
    if not last < first:
        bad(f"the loss does not decrease: mean of the first 5 steps {first}, of the last 5 {last}")
    if not rows[39].get("val_loss", 99) < rows[19].get("val_loss", 0):
        bad("the validation loss does not decrease from step 20 to 40")
sys.exit(0 if ok else 1)
PY
latest_is "latest" "$R" 40
ckpts=$(cd "$R" && ls -d ckpt-* 2>/dev/null | paste -sd ' ')
[ "$ckpts" = "ckpt-00000020 ckpt-00000030 ckpt-00000040" ] || bad "--keep 3: checkpoints are '$ckpts'"
[ -z "$(ls -A "$R" | grep '^\.')" ] || bad "temporaries left in $R: $(ls -A "$R" | grep '^\.' | paste -sd ' ')"
for c in $ckpts; do
    [ -s "$R/$c/state.safetensors" ] && [ -s "$R/$c/manifest.json" ] || bad "$R/$c lacks its state or manifest"
done
python3 - "$R/ckpt-00000040/manifest.json" <<'PY' || fail=1
import json, sys
m = json.load(open(sys.argv[1]))
want = {"format": "llmc-checkpoint", "version": 1, "step": 40, "data_pos": "80"}
for k, v in want.items():
    if m.get(k) != v: print(f"FAIL manifest: {k} is {m.get(k)!r}, expected {v!r}"); sys.exit(1)
if m["recipe"].get("lr") != 0.001: print(f"FAIL manifest: recipe {m['recipe']}"); sys.exit(1)
PY

# a fresh run never writes over an earlier one
cp -r "$R" "$work/R.copy"
expect 1 "fresh run over a run" "$llmrun" "$work/m.llmc" --data "$work/D" --out "$R" --steps 5 &&
    contains "fresh run over a run" "$R already holds a run"
intact "fresh run over a run" "$R" "$work/R.copy"

# --help mentions every option llmrun parses
expect 0 "--help" "$llmrun" --help
opts=$(grep -oE 'strcmp\(a, "-[-a-zA-Z]+"\)' tools/llmrun.c | sed -E 's/.*"(.*)".*/\1/' | sort -u)
[ "$(wc -w <<<"$opts")" -ge 15 ] || bad "found only $(wc -w <<<"$opts") options in tools/llmrun.c: $opts"
for opt in $opts; do
    grep -qE -- "(^|[ ,])$opt([ ,=]|$)" <<<"$out" || bad "--help does not mention $opt"
done

# Compiled from nothing (--no-cache: a private cache, every kernel optimized and emitted,
# on every core at once) and through the warm cache, the bundle is the same bytes.
if expect 0 "llmc --no-cache" "$llmc" models/gpt2-tiny.llm -D vocab=256 --no-cache -o "$work/cold.llmc"; then
    matches "cold report" '^object cache +0 hits, [1-9][0-9]* misses \(private, --no-cache\)$'
    same "a cold compile and a cached one" "$work/cold.llmc" "$work/m.llmc"
fi
exit $fail
