#!/usr/bin/env bash
# tests/passes/test_llmir_opt.sh LLMIR — `llmir opt` through its command line: passes by
# name in order, --stats on stderr, --graph, the printed result is a canonical .llir that
# verifies, simplify is idempotent through text, and usage errors list the passes.
set -u
LLMIR="$1"
cd "$(dirname "$0")/../.."
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passed=0
failed=0

ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }

# expect STATUS PATTERN CMD... : runs CMD; checks the exit status and that PATTERN
# (grep -E) occurs in stdout+stderr ('' to skip). stdout alone is kept in $TMP/stdout.
expect() {
  local want="$1" pattern="$2"
  shift 2
  "$@" >"$TMP/stdout" 2>"$TMP/stderr"
  local got=$?
  cat "$TMP/stdout" "$TMP/stderr" >"$TMP/out"
  if [ "$got" != "$want" ]; then
    bad "$* -> exit $got, expected $want"; sed 's/^/    /' "$TMP/out" | head -20; return
  fi
  if [ -n "$pattern" ] && ! grep -Eq -- "$pattern" "$TMP/out"; then
    bad "$* -> output lacks /$pattern/"; sed 's/^/    /' "$TMP/out" | head -20; return
  fi
  ok
}

EX=tests/ir/mlp_xent.llir

# --stats: one line per pass and graph, on stderr; stdout is the graph alone.
expect 0 '^@mlp_xent: simplify: 28 -> 28 nodes$' "$LLMIR" opt $EX --passes=simplify --stats
if grep -q 'nodes' "$TMP/stdout"; then bad "--stats went to stdout"; else ok; fi
# The result is canonical and verifies: printing it again changes nothing.
"$LLMIR" print - <"$TMP/stdout" >"$TMP/reprint" 2>&1 && cmp -s "$TMP/stdout" "$TMP/reprint" && ok ||
  bad "opt output is not canonical"

# autodiff then simplify: the backward pass shrinks, and the counts chain.
expect 0 '^@mlp_xent: autodiff: 28 -> [0-9]+ nodes$' "$LLMIR" opt $EX --passes=autodiff,simplify --stats
grad=$(sed -n 's/^@mlp_xent: autodiff: 28 -> \([0-9]*\) nodes$/\1/p' "$TMP/stderr")
simp=$(sed -n "s/^@mlp_xent: simplify: $grad -> \\([0-9]*\\) nodes\$/\\1/p" "$TMP/stderr")
if [ -n "$grad" ] && [ -n "$simp" ] && [ "$simp" -lt "$grad" ]; then ok; else bad "simplify did not shrink autodiff's graph ($grad -> $simp)"; fi
grep -q 'output "grad.layers.0.w"' "$TMP/stdout" && ok || bad "autodiff output lacks grad.layers.0.w"
# Idempotence through text: simplify of simplify's output prints the same.
cp "$TMP/stdout" "$TMP/simplified.llir"
expect 0 '' "$LLMIR" opt "$TMP/simplified.llir" --passes=simplify
cmp -s "$TMP/stdout" "$TMP/simplified.llir" && ok || bad "simplify is not idempotent through text"

# Passes run in the order given; the value form and the two-word form of --passes; stdin.
printf 'graph @g {\n  %%0 = input() {name="x", role=data} : f32[2]\n  %%1 = const() {value=1} : f32[2]\n  %%2 = mul(%%0, %%1) : f32[2]\n  %%3 = exp(%%0) : f32[2]\n  output "y" = %%2\n}\n\ngraph @h {\n  %%0 = input() {name="x", role=data} : f32[2]\n  %%1 = neg(%%0) : f32[2]\n  %%2 = neg(%%1) : f32[2]\n  output "y" = %%2\n}\n' >"$TMP/two.llir"
expect 0 '^@g: dce: 4 -> 3 nodes$' "$LLMIR" opt "$TMP/two.llir" --passes dce,algebra --stats
grep -q '^@g: algebra: 3 -> 2 nodes$' "$TMP/stderr" && ok || bad "passes not run in order"
expect 0 '^@g: algebra: 4 -> 3 nodes$' "$LLMIR" opt "$TMP/two.llir" --passes=algebra,dce --stats
grep -q '^@g: dce: 3 -> 1 nodes$' "$TMP/stderr" && ok || bad "algebra then dce should leave only the input"
expect 0 '' sh -c "'$LLMIR' opt - --passes=algebra,dce <'$TMP/two.llir'"
[ "$(grep -c '^  %' "$TMP/stdout")" = 2 ] && ok || bad "stdin: expected one node per graph"
# --graph: only that graph is rewritten; the whole module is printed.
expect 0 '^@h: algebra: 3 -> 2 nodes$' "$LLMIR" opt "$TMP/two.llir" --passes=algebra,dce --graph h --stats
if grep -q '^@g' "$TMP/stderr"; then bad "--graph h ran on @g"; else ok; fi
grep -q 'exp(%0)' "$TMP/stdout" && ok || bad "--graph h: @g must be printed unchanged"

# Usage errors (exit 2): unknown pass (listing the registry), no --passes, opt-only options.
expect 2 "unknown pass 'bogus'" "$LLMIR" opt $EX --passes=fold,bogus
grep -q 'simplify' "$TMP/stderr" && grep -q 'autodiff' "$TMP/stderr" && ok || bad "unknown pass: the passes are not listed"
expect 2 'missing --passes' "$LLMIR" opt $EX
expect 2 'needs at least one pass' "$LLMIR" opt $EX --passes=
expect 2 'bad pass list' "$LLMIR" opt $EX --passes=fold,,dce
expect 2 "option '--stats' is only for opt" "$LLMIR" print $EX --stats
expect 2 "option '--passes' is only for opt" "$LLMIR" check $EX --passes=fold
expect 0 'simplify +algebra, fold' "$LLMIR" --help
# Bad input (exit 1): no such graph, a pass that refuses its input.
expect 1 'no graph named @nope' "$LLMIR" opt $EX --passes=fold --graph nope
expect 1 "pass 'autodiff' on @g: .*loss" "$LLMIR" opt "$TMP/two.llir" --passes=autodiff

echo "llmir opt: $passed passed, $failed failed"
[ "$failed" = 0 ]
