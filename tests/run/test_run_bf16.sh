#!/usr/bin/env bash
# tests/run/test_run_bf16.sh LLMRUN LLMC LLMDATA — mixed precision end to end: every tiny
# model in models/ (gpt2, llama, moe, moe-alt, mqa, parallel, transformer; -D vocab=256
# on the byte-level shards of lib.sh) trained 200 steps with precision = fp32 and with
# precision = bf16 (-D precision=...), from the same init on the same data (the init
# graph and the data order depend on the seed alone), validating every 20 steps:
#   - both runs exit 0 with a finite validation loss at every eval;
#   - the bf16 run really is another computation (its loss curve is not fp32's);
#   - the final validation losses agree within 1% relative;
#   - gpt2-tiny again with --bf16-path fp32 (the fallback of a CPU without avx512_bf16,
#     forced here): the path is reported, it is within 1% too, and differs from the
#     vdpbf16ps run where that exists.
# Prints, per model, the final validation losses and the largest relative gap along
# the validation curves (and where). Needs the JIT's bf16 matmul kernels.
source "$(dirname "$0")/lib.sh"

models="gpt2 llama moe moe-alt mqa parallel transformer"
for m in $models; do
    for p in fp32 bf16; do
        expect 0 "$m-tiny $p" "$llmrun" "models/$m-tiny.llm" -D vocab=256 -D precision=$p --data "$work/D" \
            --out "$work/$m.$p" --steps 200 --eval-every 20
        [ $p = bf16 ] && matches "$m-tiny bf16: the path" '^llmrun: precision bf16: matmuls on (avx512bf16|fp32) .*; AMX: '
    done
done

# The fallback forced on this machine: --bf16-path fp32 widens bf16 into the f32 kernels
# (a CPU without avx512_bf16 does this); 200 steps of gpt2-tiny stay within 1% of fp32 too.
expect 0 "gpt2-tiny bf16 --bf16-path fp32" "$llmrun" models/gpt2-tiny.llm -D vocab=256 -D precision=bf16 \
    --bf16-path fp32 --data "$work/D" --out "$work/gpt2.bf16-fp32path" --steps 200 --eval-every 20
contains "--bf16-path fp32: the path" "matmuls on fp32 (bf16 widened to f32"
# where vdpbf16ps exists, the two paths are different computations; then resuming the
# fp32-path run on the default path warns: the bytes change (the path is in the recipe)
if grep -qw avx512_bf16 /proc/cpuinfo; then
    [ "$(grep -o '"loss":[^,]*' "$work/gpt2.bf16/metrics.jsonl")" = \
      "$(grep -o '"loss":[^,]*' "$work/gpt2.bf16-fp32path/metrics.jsonl")" ] &&
        bad "--bf16-path fp32 gave vdpbf16ps's losses: the flag changed nothing"
    want='bf16_path: "fp32" -> "avx512bf16"'
else
    expect 2 "--bf16-path avx512bf16 without avx512_bf16" "$llmrun" models/gpt2-tiny.llm --bf16-path avx512bf16
    want="resumed from"
fi
expect 0 "gpt2-tiny bf16: resume on the default path" "$llmrun" models/gpt2-tiny.llm -D vocab=256 -D precision=bf16 \
    --data "$work/D" --out "$work/gpt2.bf16-fp32path" --resume "$work/gpt2.bf16-fp32path" --steps 201
contains "resume on the default path" "$want"

python3 - "$work" $models <<'PY' || fail=1
import json, math, os, sys
work, models = sys.argv[1], sys.argv[2:]
ok = True
def bad(msg):
    global ok
    print("FAIL", msg); ok = False
def curve(m, p):
    path = os.path.join(work, f"{m}.{p}", "metrics.jsonl")
    if not os.path.exists(path):
        return None
    rows = [json.loads(l) for l in open(path).read().splitlines()]
    return {r["step"]: r for r in rows}
print(f"{'model':<17} {'val fp32':>9} {'val bf16':>9} {'final gap':>10} {'max gap (step)':>18}")
for m, pb in [(m, "bf16") for m in models] + [("gpt2", "bf16-fp32path")]:
    a, b = curve(m, "fp32"), curve(m, pb)
    if a is None or b is None:
        bad(f"{m}-tiny: a run left no metrics"); continue
    evals = [s for s in sorted(a) if "val_loss" in a[s]]
    if evals != list(range(20, 201, 20)) or [s for s in sorted(b) if "val_loss" in b[s]] != evals:
        bad(f"{m}-tiny: validation at steps {evals} (fp32) and "
            f"{[s for s in sorted(b) if 'val_loss' in b[s]]} (bf16), expected 20, 40, ..., 200"); continue
    gaps = []
    for s in evals:
        va, vb = a[s]["val_loss"], b[s]["val_loss"]
        if not (math.isfinite(va) and math.isfinite(vb)):
            bad(f"{m}-tiny: step {s}: val_loss {va} (fp32), {vb} (bf16)")
        gaps.append((abs(vb - va) / va, s))
    if all(a[s]["loss"] == b[s]["loss"] for s in a if s in b):
        bad(f"{m}-tiny: the bf16 losses are fp32's bit for bit: no bf16 was computed")
    final = gaps[-1][0]
    worst, at = max(gaps)
    fa, fb = a[200]["val_loss"], b[200]["val_loss"]
    print(f"{m + '-tiny' + ('' if pb == 'bf16' else ' (fp32 path)'):<17} {fa:9.4f} {fb:9.4f} {100 * final:9.3f}% {100 * worst:10.3f}% ({at:3d})")
    if not final <= 0.01:
        bad(f"{m}-tiny: final validation loss {fb} (bf16) vs {fa} (fp32): {100 * final:.3f}% apart, more than 1%")
sys.exit(0 if ok else 1)
PY
exit $fail
