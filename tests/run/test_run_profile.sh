#!/usr/bin/env bash
# tests/run/test_run_profile.sh LLMRUN LLMC LLMDATA — `llmrun --profile` (issue 9): after
# 4 steps it reports 3 profiled steps (the first is the warm-up); the step's time split
# into compute, collectives and the rest adds up; useful FLOPs and MFU against a peak
# measured in the same run; a table by kernel kind; the top kernels with GFLOP/s, GB/s,
# roofline share, graph, IR nodes and scope, out of every kernel of @micro and @update, shares in [0, 100] and summing to at most
# the compute share; and profiling changes no byte: the checkpoint equals an unprofiled
# run's.
source "$(dirname "$0")/lib.sh"

if expect 0 "llmrun --profile" "$llmrun" "$work/m.llmc" --data "$work/D" --out "$work/P" --steps 4 --profile --threads 2; then
    matches "header" '^profile: 3 steps after a warm-up step, 2 threads$'
    matches "split" '^  step [0-9.]+ ms = compute kernels [0-9.]+ ms \([0-9.]+%\) \+ collectives 0\.0 ms \(0\.0%\) \+ outside kernels -?[0-9.]+ ms'
    matches "useful" '^  useful work [0-9.e+]+ FLOP per step \(the matmuls of @micro, MoE experts as routed\) = [0-9.]+ GFLOP/s$'
    matches "mfu" '^  machine \(measured now\): FMA peak [1-9][0-9.]* GFLOP/s, memory [1-9][0-9.]* GB/s  ->  MFU [0-9.]+%$'
    for kind in matmul row elementwise; do matches "kind $kind" "^  $kind +[1-9][0-9]* +[0-9.]+ +[0-9.]+% +[0-9.]+$"; done
    matches "top" '^  top 30 of [1-9][0-9]* kernels'
    matches "a matmul kernel" '^ +[0-9.]+% +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9]+% +micro +[0-9]+ +matmul +%[0-9]+ matmul \[[0-9,]+\]'
    n_kernels=$(sed -nE 's/^llmrun: ([0-9]+) kernels per step.*/\1/p' <<<"$out")
    matches "every kernel of both graphs" "^  top 30 of $n_kernels kernels"
    matches "a scope" ' layers\.[01]\.(attn|mlp)'
    python3 - <<PY || bad "profile figures"
import re, sys
text = """$out"""
split = re.search(r"^  step ([0-9.]+) ms = compute kernels ([0-9.]+) ms \(([0-9.]+)%\) \+ collectives ([0-9.]+) ms .* \+ outside kernels (-?[0-9.]+) ms", text, re.M)
step, compute, share, comm, other = (float(split.group(i)) for i in (1, 2, 3, 4, 5))
assert abs(step - (compute + comm + other)) <= 0.15, (step, compute, comm, other)
assert compute > 0 and other > -0.1, (compute, other)
rows = re.findall(r"^ +([0-9.]+)% +([0-9.]+) +[0-9.]+ +[0-9.]+ +\S+ +(micro|update) ", text, re.M)
assert len(rows) == 30, len(rows)
shares = [float(r[0]) for r in rows]
assert shares == sorted(shares, reverse=True), shares
assert all(0 <= s <= 100 for s in shares) and sum(shares) <= share + 0.5, (sum(shares), share)
PY
fi
expect 0 "llmrun without --profile" "$llmrun" "$work/m.llmc" --data "$work/D" --out "$work/Q" --steps 4 --threads 2
for f in "$work"/P/ckpt-00000004/*; do same "checkpoint $(basename "$f")" "$f" "$work/Q/ckpt-00000004/$(basename "$f")"; done
expect 0 "llmrun --help" "$llmrun" --help
contains "help" "--profile"
exit $fail
