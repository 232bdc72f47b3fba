#!/usr/bin/env bash
# tests/tok/test_llmtok.sh LLMTOK LLMDATA — llmtok through its command line: `train` on a
# corpus directory (a fortune file split at its '%' lines, a plain file whole; *.dat,
# *.u8, dot-files and subdirectories skipped), `encode` into shards (llmdata info accepts
# them), `decode` gives back the documents joined by <|endoftext|>, byte for byte, and
# `--ids`; `import-gpt2` on a tiny hand-made pair of files; bad input exits 1 naming the
# file, usage errors exit 2, --help exits 0.
set -u
llmtok=$1
llmdata=$2
fail=0
work=$(mktemp -d /tmp/llmc-llmtok-XXXXXX)
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

# --- a corpus: one fortune file (3 documents), one plain file (1), files to skip -------
mkdir -p "$work/corpus/sub"
python3 - "$work/corpus" <<'EOF'
import sys, random
d = sys.argv[1]
random.seed(7)
words = "the a cat dog sat ran on under mat tree it's don't 42 1999 quickly, slowly. why? caf\u00e9 na\u00efve".split()
def text(n):
    return " ".join(random.choice(words) for _ in range(n))
docs = [text(300) + "\n", "\t" + text(200) + "\n\t\t-- Someone\n", text(250) + "\n\n"]
open(f"{d}/a_fortunes", "w").write("%\n".join(docs))
# a plain file: invalid UTF-8, NULs, no final newline
open(f"{d}/b_plain.txt", "wb").write(text(400).encode() + b"\xff\xfe\x00\x00 \xc3(" + b" end")
open(f"{d}/a_fortunes.dat", "wb").write(b"\x00\x01 not text")
open(f"{d}/a_fortunes.u8", "w").write("skipped\n")
open(f"{d}/.hidden", "w").write("skipped\n")
open(f"{d}/sub/c", "w").write("skipped\n")
EOF

for c in train encode decode import-gpt2; do
    expect 0 "$c --help" "$llmtok" $c --help
    contains "$c --help" "usage: llmtok $c"
done
expect 0 "--help" "$llmtok" --help
expect 2 "no arguments" "$llmtok"
expect 2 "unknown command" "$llmtok" frobnicate
contains "unknown command" "unknown command 'frobnicate'"
expect 2 "train without --vocab" "$llmtok" train "$work/corpus" -o "$work/t.tok"
contains "train without --vocab" "missing --vocab"
expect 2 "train bad --vocab" "$llmtok" train "$work/corpus" --vocab 100 -o "$work/t.tok"
expect 2 "train without corpus" "$llmtok" train --vocab 300 -o "$work/t.tok"
expect 2 "train unknown option" "$llmtok" train "$work/corpus" --vocab 300 -o "$work/t.tok" --fast
expect 2 "train --ids" "$llmtok" train "$work/corpus" --vocab 300 -o "$work/t.tok" --ids 1
expect 2 "encode without --tok" "$llmtok" encode "$work/corpus" -o "$work/out"
expect 2 "decode without input" "$llmtok" decode --tok "$work/t.tok"
expect 2 "decode bad --ids" "$llmtok" decode --tok "$work/t.tok" --ids 1,x
expect 2 "import one file" "$llmtok" import-gpt2 a.json -o "$work/t.tok"

# --- train, encode, decode ----------------------------------------------------------------
expect 1 "train missing corpus" "$llmtok" train "$work/nope" --vocab 300 -o "$work/t.tok"
contains "train missing corpus" "$work/nope"
expect 0 "train" "$llmtok" train "$work/corpus" --vocab 300 -o "$work/t.tok"
contains "train" "corpus: 4 documents"
contains "train" "in 2 files"
contains "train" "trained vocab 300 (43 merges + 256 bytes + 1 special)"
contains "train" "wrote $work/t.tok"
expect 0 "encode" "$llmtok" encode --tok "$work/t.tok" "$work/corpus" -o "$work/out/sub" --shard-tokens 1000
contains "encode" "4 documents"
contains "encode" "wrote $work/out/sub/corpus_00000.shard: 1000 tokens (vocab 300)"
contains "encode" "MB/s"
expect 0 "llmdata info" "$llmdata" info "$work"/out/sub/*.shard
contains "llmdata info" "vocab            300"
"$llmtok" decode --tok "$work/t.tok" "$work"/out/sub/*.shard > "$work/decoded" || { echo "FAIL decode: exit $?"; fail=1; }
python3 - "$work" <<'EOF' || fail=1
import sys
w = sys.argv[1]
f = open(f"{w}/corpus/a_fortunes", "rb").read().split(b"%\n")
p = open(f"{w}/corpus/b_plain.txt", "rb").read()
want = b"<|endoftext|>".join(f + [p])
got = open(f"{w}/decoded", "rb").read()
if got != want:
    print(f"FAIL decode: {len(got)} bytes, expected {len(want)}")
    sys.exit(1)
EOF
expect 0 "decode --ids" "$llmtok" decode --tok "$work/t.tok" --ids 72,105,299
[ "$out" = "Hi<|endoftext|>" ] || { echo "FAIL decode --ids: got '$out'"; fail=1; }
expect 1 "decode bad id" "$llmtok" decode --tok "$work/t.tok" --ids 72,300
contains "decode bad id" "token 300 at position 1 is >= vocab 300"

# --- bad files --------------------------------------------------------------------------
head -c 100 "$work/t.tok" > "$work/short.tok"
expect 1 "truncated tok" "$llmtok" encode --tok "$work/short.tok" "$work/corpus" -o "$work/out2"
contains "truncated tok" "$work/short.tok: "
cp "$work/t.tok" "$work/bad.tok"
printf 'X' | dd of="$work/bad.tok" bs=1 seek=500 conv=notrunc status=none
expect 1 "corrupt tok" "$llmtok" decode --tok "$work/bad.tok" --ids 1
contains "corrupt tok" "$work/bad.tok: checksum mismatch"
expect 1 "shard as tok" "$llmtok" decode --tok "$work/out/sub/corpus_00000.shard" --ids 1
contains "shard as tok" "not an llmc BPE tokenizer"

# --- import-gpt2 ------------------------------------------------------------------------
python3 - "$work" <<'EOF'
import json, sys
w = sys.argv[1]
bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
cs = bs[:]
n = 0
for b in range(256):
    if b not in bs:
        bs.append(b); cs.append(256 + n); n += 1
enc = {chr(c): i for i, c in enumerate(cs)}
enc.update({"\u0120t": 256, "he": 257, "\u0120the": 258, "<|endoftext|>": 259})
json.dump(enc, open(f"{w}/encoder.json", "w"))
open(f"{w}/vocab.bpe", "w").write("#version: 0.2\n\u0120 t\nh e\n\u0120t he\n")
EOF
expect 0 "import-gpt2" "$llmtok" import-gpt2 "$work/encoder.json" "$work/vocab.bpe" -o "$work/gpt2.tok"
contains "import-gpt2" "vocab 260 (3 merges, 1 special)"
expect 0 "decode gpt2" "$llmtok" decode --tok "$work/gpt2.tok" --ids 83,257,258,220,0,198,259
[ "$out" = "$(printf 'the the !\n<|endoftext|>')" ] || { echo "FAIL decode gpt2: got '$out'"; fail=1; }
printf 'the the\n' > "$work/plain.txt"
expect 0 "encode gpt2" "$llmtok" encode --tok "$work/gpt2.tok" "$work/plain.txt" -o "$work/g"
python3 - "$work" <<'EOF' || fail=1
import struct, sys
b = open(f"{sys.argv[1]}/g/plain_00000.shard", "rb").read()
ids = list(struct.unpack_from("<4H", b, 48))
if ids != [83, 257, 258, 198]:
    print(f"FAIL encode gpt2: {ids}")
    sys.exit(1)
EOF
echo '{"a": 0}' > "$work/bad.json"
expect 1 "import bad" "$llmtok" import-gpt2 "$work/bad.json" "$work/vocab.bpe" -o "$work/x.tok"
contains "import bad" "$work/bad.json"

if [ $fail -eq 0 ]; then echo "test_llmtok: ok"; fi
exit $fail
