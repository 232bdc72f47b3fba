#!/usr/bin/env bash
# tests/data/test_llmdata.sh LLMDATA — llmdata through its command line: `shard` cuts a
# small text into byte-level shards (names, counts, what it prints), `info` reads them
# back (header fields, ids = the text's bytes), a corrupt shard and a vocab too small
# for the text are bad input (exit 1, the file named), usage errors exit 2, --help on
# every command exits 0.
set -u
llmdata=$1
fail=0
work=$(mktemp -d /tmp/llmc-llmdata-XXXXXX)
trap 'rm -rf "$work"' EXIT

expect() { # expect WANT_RC DESCRIPTION CMD... ; output in $out
    local want=$1 what=$2
    shift 2
    out=$("$@" 2>&1)
    local rc=$?
    if [ $rc -ne "$want" ]; then echo "FAIL $what: exit $rc, expected $want"; echo "$out" | head -5; fail=1; return 1; fi
    return 0
}
contains() { # contains DESCRIPTION TEXT
    if ! grep -qF -- "$2" <<<"$out"; then echo "FAIL $1: output lacks '$2'"; echo "$out" | head -8; fail=1; fi
}

# 2500 bytes: 'a'..'z' repeated, plus a newline every 50
python3 -c "
import sys
s = ''.join(chr(97 + i % 26) if i % 50 != 49 else '\n' for i in range(2500))
sys.stdout.write(s)" > "$work/corpus.txt"

expect 0 "shard" "$llmdata" shard "$work/corpus.txt" --out "$work/out/sub" --shard-tokens 1000
contains "shard" "wrote $work/out/sub/corpus_00000.shard: 1000 tokens (u16 ids, vocab 256)"
contains "shard" "wrote $work/out/sub/corpus_00002.shard: 500 tokens (u16 ids, vocab 256)"
contains "shard" "2500 tokens (byte-level) in 3 shards in $work/out/sub"
n=$(ls "$work/out/sub" | wc -l)
[ "$n" -eq 3 ] || { echo "FAIL shard: $n files in the output directory, expected 3"; fail=1; }

expect 0 "info" "$llmdata" info "$work"/out/sub/corpus_0000{0,1,2}.shard
contains "info" "$work/out/sub/corpus_00000.shard: ok"
contains "info" "count            500"
contains "info" "ids              10..122"
contains "info" "id bytes         2 (u16)"
contains "info" "vocab            256"
[ "$(grep -c '^  count            1000$' <<<"$out")" -eq 2 ] || { echo "FAIL info: two shards of 1000"; fail=1; }

# the ids are the text's bytes: the shards' payloads, concatenated, are the text in u16
python3 - "$work" <<'EOF' || fail=1
import struct, sys
w = sys.argv[1]
text = open(f"{w}/corpus.txt", "rb").read()
ids = b""
for i in range(3):
    b = open(f"{w}/out/sub/corpus_{i:05d}.shard", "rb").read()
    assert b[:8] == b"LLMTOK\0\0", "magic"
    version, width, vocab, reserved, count = struct.unpack_from("<IIIIQ", b, 8)
    assert (version, width, vocab, reserved) == (1, 2, 256, 0), (version, width, vocab, reserved)
    assert len(b) == 48 + 2 * count
    ids += b[48:]
got = bytes(struct.unpack(f"<{len(ids)//2}H", ids))
if got != text:
    print("FAIL: shard ids are not the text's bytes"); sys.exit(1)
EOF

# --vocab > 65536 writes u32 ids
expect 0 "shard --vocab 70000" "$llmdata" shard "$work/corpus.txt" --out "$work/wide" --vocab 70000
contains "shard --vocab 70000" "2500 tokens (u32 ids, vocab 70000)"
expect 0 "info wide" "$llmdata" info "$work/wide/corpus_00000.shard"
contains "info wide" "id bytes         4 (u32)"

# re-sharding into a directory holding other shards says so
expect 0 "shard again" "$llmdata" shard "$work/corpus.txt" --out "$work/out/sub" --shard-tokens 2000
contains "shard again" "also holds 1 other *.shard file (e.g. corpus_00002.shard)"

# bad input: exit 1, the file named
head -c 100 "$work/out/sub/corpus_00001.shard" > "$work/cut.shard"
expect 1 "info truncated" "$llmdata" info "$work/out/sub/corpus_00000.shard" "$work/cut.shard"
contains "info truncated" "llmdata: $work/cut.shard: truncated: the header says 500 ids but only 52 bytes of ids follow"
contains "info truncated" "$work/out/sub/corpus_00000.shard: ok"
expect 1 "info text" "$llmdata" info "$work/corpus.txt"
contains "info text" "$work/corpus.txt: not a token shard (bad magic"
expect 1 "info missing" "$llmdata" info "$work/nope.shard"
contains "info missing" "$work/nope.shard: cannot open"
expect 1 "shard missing" "$llmdata" shard "$work/nope.txt" --out "$work/x"
contains "shard missing" "$work/nope.txt: cannot open"
: > "$work/empty.txt"
expect 1 "shard empty" "$llmdata" shard "$work/empty.txt" --out "$work/x"
contains "shard empty" "$work/empty.txt: empty file"
expect 1 "shard vocab" "$llmdata" shard "$work/corpus.txt" --out "$work/x" --vocab 100
contains "shard vocab" "$work/corpus.txt: byte 0x64 at offset 3 is >= vocab 100"
[ ! -e "$work/x" ] || { echo "FAIL shard vocab: wrote output"; fail=1; }
expect 1 "shard into a file" "$llmdata" shard "$work/corpus.txt" --out "$work/corpus.txt/d"
contains "shard into a file" "$work/corpus.txt: exists and is not a directory"

# usage: exit 2
expect 2 "no arguments" "$llmdata"
expect 2 "unknown command" "$llmdata" frobnicate && contains "unknown command" "unknown command 'frobnicate'"
expect 2 "shard without --out" "$llmdata" shard "$work/corpus.txt" && contains "shard without --out" "missing --out DIR"
expect 2 "shard without file" "$llmdata" shard --out "$work/x" && contains "shard without file" "missing TEXT_FILE"
expect 2 "bad --shard-tokens" "$llmdata" shard "$work/corpus.txt" --out "$work/x" --shard-tokens 0
expect 2 "bad --vocab" "$llmdata" shard "$work/corpus.txt" --out "$work/x" --vocab -3
expect 2 "--out without value" "$llmdata" shard "$work/corpus.txt" --out
expect 2 "unknown option" "$llmdata" shard "$work/corpus.txt" --out "$work/x" --bpe && contains "unknown option" "unknown option '--bpe'"
expect 2 "two files" "$llmdata" shard a b --out "$work/x"
expect 2 "info without shard" "$llmdata" info && contains "info without shard" "missing SHARD"
expect 2 "info option" "$llmdata" info --all x.shard

# help: exit 0, on stdout
expect 0 "--help" "$llmdata" --help && contains "--help" "shard TEXT_FILE --out DIR"
expect 0 "shard --help" "$llmdata" shard --help && contains "shard --help" "--shard-tokens N"
expect 0 "info --help" "$llmdata" info --help && contains "info --help" "usage: llmdata info SHARD..."
expect 0 "--version" "$llmdata" --version

[ $fail -eq 0 ] && echo "ok   llmdata"
exit $fail
