#!/usr/bin/env bash
# tests/tools/test_emit_llvm.sh LLMC — `llmc --emit=llvm|asm` on models/gpt2-tiny.llm:
#   llvm     exit 0; one `; @graph kernel %kN (kind, root %R), function i of n` header per
#            function, each followed by exactly one external `define void @llmc_<kind>`
#            (internal helpers, like the matmul microkernel before inlining, may follow
#            too); no `declare` but of llvm.*
#            intrinsics; the closing summary counts the same functions; --no-opt too.
#   asm      exit 0; one `#` header per function, each followed by the function's label
#            (llmc_*:); on an AVX-512 host every matmul kernel uses zmm FMAs
#            (vfmadd...ps on %zmm registers).
#   usage    --no-opt without --emit=llvm is a usage error (exit 2); --help names both.
set -u
llmc=$1
model=models/gpt2-tiny.llm
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Per header: its line and the number of lines matching $2 up to the next header.
per_function() { # FILE REGEX COMMENT
    awk -v re="$2" -v c="$3" '
        index($0, c " @") == 1 && / function [0-9]+ of [0-9]+$/ { if (h) print n "\t" h; h = $0; n = 0; next }
        index($0, c " ") == 1 && / kernels \(/ { if (h) print n "\t" h; h = ""; next }
        h && $0 ~ re { n++ }
        END { if (h) print n "\t" h }' "$1"
}

kernel_define='^define (dso_local )?void @llmc_[a-z]+\('
check_llvm() { # FILE WHAT
    local f=$1 what=$2
    local headers defines bad summary
    headers=$(grep -cE '^; @(micro|update) kernel %k[0-9]+ \([a-z]+, root %[0-9]+\), function [0-9]+ of [0-9]+$' "$f")
    defines=$(grep -cE "$kernel_define" "$f")
    if [ "$headers" -eq 0 ] || [ "$headers" -ne "$defines" ]; then
        echo "FAIL $what: $headers function headers, $defines defines"; fail=1
    fi
    bad=$(per_function "$f" "$kernel_define" ';' | awk -F'\t' '$1 != 1' | head -3)
    if [ -n "$bad" ]; then echo "FAIL $what: a header without exactly one define:"; echo "$bad"; fail=1; fi
    bad=$(grep '^declare ' "$f" | grep -v '@llvm\.' | sort -u | head -5)
    if [ -n "$bad" ]; then echo "FAIL $what: declares outside llvm.*:"; echo "$bad"; fail=1; fi
    summary=$(grep -E '^; [0-9]+ kernels \([0-9]+ carried out by the runtime\), [0-9]+ functions \([0-9]+ distinct\), [0-9]+ bytes' "$f")
    if [ -z "$summary" ] || [ "$(sed -nE 's/.*\), ([0-9]+) functions.*/\1/p' <<<"$summary")" -ne "$headers" ]; then
        echo "FAIL $what: summary '$summary' for $headers functions"; fail=1
    fi
    if grep -q 'NOT GENERATED' "$f"; then echo "FAIL $what: kernels not generated"; fail=1; fi
    echo "ok   $what: $headers functions; $summary"
}

if ! "$llmc" "$model" --emit=llvm >"$tmp/opt.ll" 2>"$tmp/err"; then
    echo "FAIL --emit=llvm: exit $?"; head -5 "$tmp/err"; fail=1
else
    check_llvm "$tmp/opt.ll" "--emit=llvm"
fi
if ! "$llmc" "$model" --emit=llvm --no-opt >"$tmp/raw.ll" 2>"$tmp/err"; then
    echo "FAIL --emit=llvm --no-opt: exit $?"; head -5 "$tmp/err"; fail=1
else
    check_llvm "$tmp/raw.ll" "--emit=llvm --no-opt"
    if cmp -s "$tmp/opt.ll" "$tmp/raw.ll"; then echo "FAIL --no-opt printed the optimized IR"; fail=1; fi
fi

if ! "$llmc" "$model" --emit=asm >"$tmp/k.s" 2>"$tmp/err"; then
    echo "FAIL --emit=asm: exit $?"; head -5 "$tmp/err"; fail=1
else
    headers=$(grep -cE '^# @(micro|update) kernel %k[0-9]+ \([a-z]+, root %[0-9]+\), function [0-9]+ of [0-9]+$' "$tmp/k.s")
    labels=$(grep -cE '^llmc_[a-z]+:' "$tmp/k.s")
    if [ "$headers" -eq 0 ] || [ "$headers" -ne "$labels" ]; then
        echo "FAIL --emit=asm: $headers function headers, $labels function labels"; fail=1
    fi
    bad=$(per_function "$tmp/k.s" '^llmc_[a-z]+:' '#' | awk -F'\t' '$1 != 1' | head -3)
    if [ -n "$bad" ]; then echo "FAIL --emit=asm: a header without exactly one function label:"; echo "$bad"; fail=1; fi
    if grep -q 'NOT GENERATED' "$tmp/k.s"; then echo "FAIL --emit=asm: kernels not generated"; fail=1; fi
    if grep -qw avx512f /proc/cpuinfo; then
        mm=$(grep -c '^# @[a-z]* kernel %k[0-9]* (matmul,' "$tmp/k.s")
        bad=$(per_function "$tmp/k.s" 'vfmadd[0-9a-z]*ps[[:space:]].*%zmm' '#' | awk -F'\t' '$1 == 0 && $2 ~ /\(matmul,/' | head -3)
        if [ "$mm" -eq 0 ]; then echo "FAIL --emit=asm: no matmul kernels"; fail=1; fi
        if [ -n "$bad" ]; then echo "FAIL --emit=asm: matmul kernels without zmm FMA:"; echo "$bad"; fail=1; fi
        echo "ok   --emit=asm: $headers functions; AVX-512 host: $mm matmul kernels, all with zmm FMA"
    else
        echo "ok   --emit=asm: $headers functions (no AVX-512 on this host: FMA check skipped)"
    fi
fi

"$llmc" "$model" --emit=fused --no-opt >/dev/null 2>&1
if [ $? -ne 2 ]; then echo "FAIL: --no-opt without --emit=llvm should exit 2"; fail=1; fi
"$llmc" "$model" --emit=llvn >/dev/null 2>&1
if [ $? -ne 2 ]; then echo "FAIL: unknown stage should exit 2"; fail=1; fi
"$llmc" --help | grep -q 'llvm ' || { echo "FAIL: --help does not mention llvm"; fail=1; }
"$llmc" --help | grep -q 'asm ' || { echo "FAIL: --help does not mention asm"; fail=1; }
exit $fail
