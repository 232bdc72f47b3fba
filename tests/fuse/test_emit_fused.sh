#!/usr/bin/env bash
# tests/fuse/test_emit_fused.sh LLMC — `llmc --emit=fused` on every model in models/:
# exit 0, two `fused @...` blocks (@micro, @update), every block closed with its
# "N kernels for M nodes" summary, N < M; an unknown stage is a usage error (exit 2).
set -u
llmc=$1
fail=0
for m in models/*.llm; do
    out=$("$llmc" "$m" --emit=fused 2>&1)
    rc=$?
    if [ $rc -ne 0 ]; then echo "FAIL $m: exit $rc"; echo "$out" | tail -5; fail=1; continue; fi
    blocks=$(grep -c '^fused @' <<<"$out")
    micro=$(grep -c '^fused @micro {' <<<"$out")
    update=$(grep -c '^fused @update {' <<<"$out")
    sums=$(grep -cE '^  // [0-9]+ kernels for [0-9]+ nodes' <<<"$out")
    if [ "$blocks" -ne 2 ] || [ "$micro" -ne 1 ] || [ "$update" -ne 1 ] || [ "$sums" -ne 2 ]; then
        echo "FAIL $m: blocks=$blocks micro=$micro update=$update summaries=$sums"; fail=1; continue
    fi
    while read -r n m2; do
        if [ "$n" -ge "$m2" ]; then echo "FAIL $m: $n kernels for $m2 nodes"; fail=1; fi
    done < <(sed -nE 's|^  // ([0-9]+) kernels for ([0-9]+) nodes.*|\1 \2|p' <<<"$out")
    echo "ok   $m: $(sed -nE 's|^  // ([0-9]+ kernels for [0-9]+ nodes).*|\1|p' <<<"$out" | paste -sd ';')"
done
"$llmc" models/gpt2-tiny.llm --emit=fuzed >/dev/null 2>&1
if [ $? -ne 2 ]; then echo "FAIL: unknown stage should exit 2"; fail=1; fi
"$llmc" --help | grep -q 'fused' || { echo "FAIL: --help does not mention fused"; fail=1; }
exit $fail
