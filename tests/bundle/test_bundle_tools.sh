#!/usr/bin/env bash
# tests/bundle/test_bundle_tools.sh LLMC LLMIR — bundles through the command lines:
# llmc -o X.llmc writes a bundle and prints the compile report; llmir print/stats/check
# read the IR inside it (print equals llmc's own --emit output); every bad bundle is
# refused with exit status 1 and a message naming the file and the problem.
set -u
LLMC="$1"
LLMIR="$2"
cd "$(dirname "$0")/../.."
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passed=0
failed=0

ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }

# expect STATUS PATTERN CMD... : exit status and a pattern (grep -E) in stdout+stderr.
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

B="$TMP/g.llmc"
expect 0 'FILE\.llmc' "$LLMC" --help
expect 2 '--no-cache goes with -o' "$LLMC" models/gpt2-tiny.llm --no-cache
expect 0 'wrote .*g\.llmc' "$LLMC" models/gpt2-tiny.llm -o "$B"
for line in '^parameters +136960$' '^tokens per step +128 ' '^FLOPs per step' '^  params ' '^  grads ' \
            '^  optimizer state ' '^  activations arena ' '^kernels +[0-9]+ \(@micro' '^  frontend ' \
            '^  train step ' '^  fusion \+ memplan ' '^  LLVM codegen '; do
  grep -Eq -- "$line" "$TMP/out" && ok || bad "report lacks /$line/"
done
# -o with --emit still writes the text
expect 0 '' "$LLMC" models/gpt2-tiny.llm --emit=forward -o "$TMP/f.llir"
grep -q '^graph @forward' "$TMP/f.llir" && ok || bad "--emit=forward -o wrote no text"

# llmir on the bundle: the IR of llmc's stages
expect 0 '' "$LLMIR" check "$B"
expect 0 'graph @update' "$LLMIR" stats "$B"
"$LLMIR" print "$B" >"$TMP/p.llir" 2>&1 && ok || bad "llmir print bundle"
{ "$LLMC" models/gpt2-tiny.llm --emit=forward; echo; "$LLMC" models/gpt2-tiny.llm --emit=init; echo;
  "$LLMC" models/gpt2-tiny.llm --emit=train; } >"$TMP/fresh.llir"
cmp -s "$TMP/p.llir" "$TMP/fresh.llir" && ok || bad "llmir print bundle differs from llmc --emit"
expect 0 'graph @micro' "$LLMIR" stats "$B" --graph micro

# bad bundles
size=$(stat -c %s "$B")
head -c $((size - 100)) "$B" >"$TMP/trunc.llmc"
expect 1 'trunc\.llmc: truncated bundle' "$LLMIR" print "$TMP/trunc.llmc"
head -c 40 "$B" >"$TMP/short.llmc"
expect 1 'short\.llmc: truncated bundle' "$LLMIR" print "$TMP/short.llmc"
cp "$B" "$TMP/corrupt.llmc"
printf '\x00' | dd of="$TMP/corrupt.llmc" bs=1 seek=$((size - 1000)) conv=notrunc 2>/dev/null
expect 1 "corrupt\.llmc: corrupt section '[a-z.]+' \(checksum mismatch\)" "$LLMIR" print "$TMP/corrupt.llmc"
cp "$B" "$TMP/version.llmc"
printf '\x09' | dd of="$TMP/version.llmc" bs=1 seek=8 conv=notrunc 2>/dev/null
expect 1 'version\.llmc: unsupported bundle version 9' "$LLMIR" stats "$TMP/version.llmc"
cp "$B" "$TMP/header.llmc"
printf '\xff' | dd of="$TMP/header.llmc" bs=1 seek=30 conv=notrunc 2>/dev/null
expect 1 'header\.llmc: corrupt bundle header' "$LLMIR" check "$TMP/header.llmc"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
