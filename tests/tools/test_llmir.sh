#!/usr/bin/env bash
# tests/tools/test_llmir.sh LLMIR — llmir as a user meets it: every command on every
# example in tests/ir, exit codes (0 ok, 1 bad input, 2 bad usage), diagnostics with
# file:line:col, print idempotence through stdin, and safetensors in and out.
set -u
LLMIR="$1"
cd "$(dirname "$0")/../.."
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passed=0
failed=0

ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }

# expect STATUS PATTERN CMD... : runs CMD, checks exit status and that PATTERN (grep -E)
# occurs in stdout+stderr ('' to skip).
expect() {
  local want="$1" pattern="$2"
  shift 2
  "$@" >"$TMP/out" 2>&1
  local got=$?
  if [ "$got" != "$want" ]; then
    bad "$* -> exit $got, expected $want"; sed 's/^/    /' "$TMP/out" | head -20; return
  fi
  if [ -n "$pattern" ] && ! grep -Eq -- "$pattern" "$TMP/out"; then
    bad "$* -> output lacks /$pattern/"; sed 's/^/    /' "$TMP/out" | head -20; return
  fi
  ok
}

expect 0 'usage: llmir' "$LLMIR" --help
expect 0 'usage: llmir' "$LLMIR" run x.llir --help
expect 0 'llmir' "$LLMIR" --version
expect 2 'usage' "$LLMIR"
expect 2 "unknown command 'frobnicate'" "$LLMIR" frobnicate x.llir
expect 2 'missing FILE' "$LLMIR" print
expect 2 "unexpected argument" "$LLMIR" print a.llir b.llir
expect 2 "unknown option '--bogus'" "$LLMIR" run a.llir --bogus
expect 2 "--ranks needs an integer" "$LLMIR" run a.llir --ranks 0
expect 2 "--dtype must be f32 or f64" "$LLMIR" run a.llir --dtype f16
expect 2 "needs a value" "$LLMIR" run a.llir --seed
expect 1 'nope.llir: cannot open' "$LLMIR" print "$TMP/nope.llir"
expect 1 'is a directory' "$LLMIR" check "$TMP"

expect 2 "--input needs NAME=FILE" "$LLMIR" run tests/ir/mlp_xent.llir --input =x
expect 2 "only for run" "$LLMIR" print tests/ir/mlp_xent.llir --seed 1
expect 1 'is not a regular file' "$LLMIR" check /dev/zero
: >"$TMP/empty.llir"
expect 1 'contains no graphs' "$LLMIR" check "$TMP/empty.llir"
expect 1 'error writing standard output' sh -c "'$LLMIR' print tests/ir/mlp_xent.llir >/dev/full"
# Options anywhere; the world size defaults to what the collectives say.
expect 0 'rank 1: ' "$LLMIR" run --seed 1 tests/ir/collectives.llir
expect 0 'loss: f64\[\]' "$LLMIR" run tests/ir/mlp_xent.llir --dtype f64
expect 1 'no graph named @nope' "$LLMIR" dot tests/ir/mlp_xent.llir --graph nope
expect 1 'may need up to' "$LLMIR" run tests/ir/mlp_xent.llir --max-memory 0.000001
# Random indices stay in range through movement ops (tokens reshaped before a gather).
printf 'graph @e {\n  %%0 = input() {name="tok", role=data} : i32[2,3]\n  %%1 = reshape(%%0) : i32[6]\n  %%2 = input() {name="wte", role=param} : f32[4,8]\n  %%3 = gather(%%2, %%1) {axis=0} : f32[6,8]\n  output "y" = %%3\n}\n' >"$TMP/emb.llir"
for seed in 1 2 3 4 5; do expect 0 'y: f32\[6,8\]' "$LLMIR" run "$TMP/emb.llir" --seed $seed --show 0; done
if "$LLMIR" run "$TMP/emb.llir" --show 0 | grep -q '^  \['; then bad "--show 0 printed values"; else ok; fi

printf 'graph @g {\n  %%0 = input() {name="x", role=data} : f32[4]\n  %%1 = exp(%%0, %%0) : f32[4]\n  output "y" = %%1\n}\n' >"$TMP/bad.llir"
expect 1 'bad.llir:3:[0-9]+: error: .*expects 1 operand' "$LLMIR" check "$TMP/bad.llir"
expect 1 '\^' "$LLMIR" print "$TMP/bad.llir"

for f in tests/ir/*.llir; do
  expect 0 '' "$LLMIR" check "$f"
  expect 0 'graph @' "$LLMIR" print "$f"
  "$LLMIR" print "$f" >"$TMP/p1.llir" 2>/dev/null
  if "$LLMIR" print - <"$TMP/p1.llir" >"$TMP/p2.llir" 2>"$TMP/err" && cmp -s "$TMP/p1.llir" "$TMP/p2.llir"; then ok; else bad "print of print differs for $f"; fi
  expect 0 'digraph' "$LLMIR" dot "$f"
  expect 0 'flops' "$LLMIR" stats "$f"
  ranks=1
  if grep -q 'ranks=2' "$f"; then ranks=2; fi
  expect 0 'fnv1a=' "$LLMIR" run "$f" --seed 7 --ranks $ranks
  # Same seed, same bits; f64 runs too.
  "$LLMIR" run "$f" --seed 7 --ranks $ranks >"$TMP/r1" 2>&1
  "$LLMIR" run "$f" --seed 7 --ranks $ranks >"$TMP/r2" 2>&1
  if cmp -s "$TMP/r1" "$TMP/r2"; then ok; else bad "run of $f is not deterministic"; fi
  expect 0 'fnv1a=' "$LLMIR" run "$f" --seed 7 --ranks $ranks --dtype f64
done

# safetensors out and back in: y = -x written, then fed as input "x" of the same graph.
printf 'graph @neg {\n  %%0 = input() {name="x", role=data} : f32[2,3]\n  %%1 = neg(%%0) : f32[2,3]\n  output "x" = %%1\n}\n' >"$TMP/neg.llir"
expect 0 'wrote' "$LLMIR" run "$TMP/neg.llir" --seed 5 --out "$TMP/a.safetensors"
first=$("$LLMIR" run "$TMP/neg.llir" --seed 5 | grep -o 'sum=[^ ]*')
second=$("$LLMIR" run "$TMP/neg.llir" --input "$TMP/a.safetensors" | grep -o 'sum=[^ ]*')
negated() { case "$1" in -*) echo "${1#-}" ;; *) echo "-$1" ;; esac; }
if [ -n "$first" ] && [ "sum=$(negated "${first#sum=}")" = "$second" ]; then ok; else bad "safetensors round trip: $first vs $second"; fi
expect 0 'fnv1a=' "$LLMIR" run "$TMP/neg.llir" --input "x=$TMP/a.safetensors"
expect 1 "has no input named 'y'" "$LLMIR" run "$TMP/neg.llir" --input "y=$TMP/a.safetensors"
expect 1 'nope: cannot open' "$LLMIR" run "$TMP/neg.llir" --input "x=$TMP/nope"
printf 'not a safetensors file' >"$TMP/junk.safetensors"
expect 1 'junk.safetensors' "$LLMIR" run "$TMP/neg.llir" --input "$TMP/junk.safetensors"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
