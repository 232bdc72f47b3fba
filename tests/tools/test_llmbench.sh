#!/usr/bin/env bash
# tests/tools/test_llmbench.sh LLMBENCH — `llmbench --smoke` end to end: exit 0; the
# table's section and header rows (machine, matmul, training); a positive FMA peak and
# memory bandwidth; one matmul row and its model total with a positive GFLOP/s of ours;
# one training row (gpt2-tiny) with positive ms/step and MFU; the bf16 column, path line
# and training row, and --bf16-path fp32 taking the fp32 path. Usage: --help exits 0, a
# bad option 2, a missing model file 1. Timings are not checked against anything: this
# says the benchmark runs and prints measured numbers, not how fast they are.
set -u
bench=$1
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! "$bench" --smoke >"$tmp/out" 2>"$tmp/err"; then
    echo "FAIL llmbench --smoke: exit $?"; tail -20 "$tmp/err"; exit 1
fi
cat "$tmp/out"
for h in '^== machine' '^== matmul' '^== training' '^model +scope \(first node\) +nodes +batch +M +N +K +ta +tb' \
         '^model +prec +tok/step +GFLOP/step +cold s +cached s +ms/step +tok/s +GFLOP/s +MFU % +x fp32'; do
    grep -qE "$h" "$tmp/out" || { echo "FAIL: no line matching '$h'"; fail=1; }
done
positive() { # LABEL REGEX-WITH-ONE-NUMBER-GROUP
    local v
    v=$(sed -nE "s/$2/\1/p" "$tmp/out" | head -1)
    if [ -z "$v" ] || ! awk -v x="$v" 'BEGIN { exit !(x > 0) }'; then echo "FAIL: $1 is '$v'"; fail=1; fi
}
positive "the FMA peak" '^FMA peak +([0-9.]+) GFLOP\/s.*'
positive "the memory bandwidth" '^memory bandwidth +([0-9.]+) GB\/s.*'
positive "ours on the matmul row" '^gpt2-tiny +[a-z0-9_.]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[01] +[01] \| +([0-9.]+) .*'
positive "ours on the matmul total" '^gpt2-tiny +all, [0-9.]+ GFLOP +[0-9]+ +\| +([0-9.]+) .*'
positive "ms/step" '^gpt2-tiny +fp32 +128 +[0-9.]+ +[0-9.]+ +[0-9.]+ +([0-9.]+) .*'
positive "MFU" '^gpt2-tiny +fp32 +128 +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9]+ +[0-9.]+ +([0-9.]+) +-$'
# bf16 (issue 11): the matmul row's bf16 column, a bf16 training row and its speed over fp32
positive "bf16 on the matmul row" '^gpt2-tiny +[a-z0-9_.]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[01] +[01] \| +[0-9.]+ +[0-9.-]+ +[0-9.-]+ +\| +([0-9.]+) .*'
positive "bf16 ms/step" '^gpt2-tiny +bf16 +128 +[0-9.]+ +[0-9.]+ +[0-9.]+ +([0-9.]+) .*'
positive "bf16 speed over fp32" '^gpt2-tiny +bf16 +128 +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9]+ +[0-9.]+ +[0-9.]+ +([0-9.]+)$'
grep -qE '^bf16 matmuls +(avx512bf16|fp32)' "$tmp/out" || { echo "FAIL: no 'bf16 matmuls' path line"; fail=1; }
grep -qE '^AMX +' "$tmp/out" || { echo "FAIL: no AMX line"; fail=1; }
# the forced fallback: --bf16-path fp32 reports the widened path
"$bench" --smoke --skip-models --bf16-path fp32 >"$tmp/fp32" 2>"$tmp/err" || { echo "FAIL: --bf16-path fp32: exit $?"; fail=1; }
grep -qE '^bf16 matmuls +fp32' "$tmp/fp32" || { echo "FAIL: --bf16-path fp32 did not take the fp32 path"; fail=1; }
"$bench" --bf16-path amx >/dev/null 2>&1
[ $? -eq 2 ] || { echo "FAIL: --bf16-path amx should exit 2"; fail=1; }

"$bench" --help | grep -q -- '--smoke' || { echo "FAIL: --help does not mention --smoke"; fail=1; }
"$bench" --bogus >/dev/null 2>&1
[ $? -eq 2 ] || { echo "FAIL: an unknown option should exit 2"; fail=1; }
"$bench" --models "$tmp/none.llm" --skip-gemm >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] || { echo "FAIL: a missing model file should exit 1"; fail=1; }
grep -q 'none.llm' "$tmp/err" || { echo "FAIL: the missing model is not named"; cat "$tmp/err"; fail=1; }
[ $fail -eq 0 ] && echo "ok   llmbench --smoke"
exit $fail
