#!/usr/bin/env bash
# tests/exec/test_llmir_jit.sh LLMIR — `llmir run --jit` (the executor, runtime/exec.c)
# on the example graphs in tests/ir/: every output's sum agrees with the interpreter's
# within 1e-5 relative (1e-6 absolute near zero), i32 outputs exactly; 1 and 3 threads
# give the same bytes (fnv1a); a graph with collectives over 2 ranks is refused (exit 1);
# --threads without --jit and --jit with --dtype f64 are usage errors (exit 2).
set -u
llmir=$1
if [ -z "${LLMC_CACHE_DIR:-}" ]; then
    LLMC_CACHE_DIR=$(mktemp -d)
    trap 'rm -rf "$LLMC_CACHE_DIR"' EXIT
fi
export LLMC_CACHE_DIR
fail=0
for f in tests/ir/*.llir; do
    [ "$(basename "$f")" = collectives.llir ] && continue
    ref=$("$llmir" run "$f" --show 0 2>&1) || { echo "FAIL $f: interpreter: $ref"; fail=1; continue; }
    jit1=$("$llmir" run "$f" --jit --threads 1 --show 0 2>/dev/null) || { echo "FAIL $f: --jit failed"; "$llmir" run "$f" --jit --show 0; fail=1; continue; }
    jit3=$("$llmir" run "$f" --jit --threads 3 --show 0 2>/dev/null)
    if [ "$jit1" != "$jit3" ]; then echo "FAIL $f: 1 and 3 threads differ"; diff <(echo "$jit1") <(echo "$jit3"); fail=1; fi
    if ! paste <(echo "$ref") <(echo "$jit1") | awk '
        { split($0, h, "\t"); split(h[1], a, " "); split(h[2], b, " ");
          if (a[1] != b[1] || a[2] != b[2]) { print "  output/type mismatch: " h[1] " vs " h[2]; bad = 1; next }
          sa = substr(a[4], 5); sb = substr(b[4], 5); d = sa - sb; if (d < 0) d = -d; m = sa < 0 ? -sa : sa;
          if (a[2] ~ /^i32/ ? d != 0 : d > 1e-5 * m + 1e-6) { print "  " a[1] " sum " sa " vs jit " sb; bad = 1 } }
        END { exit bad }'; then
        echo "FAIL $f: outputs differ from the interpreter"; fail=1; continue
    fi
    echo "ok   $f: $(wc -l <<<"$jit1") outputs match, bit-identical on 1 and 3 threads"
done
"$llmir" run tests/ir/collectives.llir --jit >/dev/null 2>&1
[ $? -eq 1 ] || { echo "FAIL: collectives over 2 ranks should exit 1 under --jit"; fail=1; }
"$llmir" run tests/ir/mlp_xent.llir --threads 2 >/dev/null 2>&1
[ $? -eq 2 ] || { echo "FAIL: --threads without --jit should exit 2"; fail=1; }
"$llmir" run tests/ir/mlp_xent.llir --jit --dtype f64 >/dev/null 2>&1
[ $? -eq 2 ] || { echo "FAIL: --jit --dtype f64 should exit 2"; fail=1; }
"$llmir" --help | grep -q -- '--threads' || { echo "FAIL: --help does not mention --threads"; fail=1; }
exit $fail
