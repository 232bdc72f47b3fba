#!/usr/bin/env bash
# tests/run/test_run_faults.sh LLMRUN LLMC LLMDATA — issue 6's bad input and faults, each
# with a message naming the file and the problem, exit 1, and nothing saved lost (the
# run directory G, a 10-step run with checkpoints at 5 and 10, is resumed by every case
# and compared with a copy afterwards): a truncated, corrupt, wrong-magic or
# wrong-version bundle; a corrupt or truncated checkpoint; a checkpoint of another
# model; bad shards and a token id >= vocab; a missing or empty data directory; disk
# full while saving (ulimit -f: the previous checkpoint is intact and resumes
# bit-exactly); a nan loss or grad norm (the step named, the last good checkpoint intact)
# and --debug-nan (a kernel and an IR node with its .llm location); a model too big for
# memory (refused before allocating); a -D that would change a bundle's graph; usage
# errors (exit 2).
source "$(dirname "$0")/lib.sh"
m=$work/m.llmc
D=$work/D
G=$work/G
expect 0 "setup: 10 steps" "$llmrun" "$m" --data "$D" --out "$G" --steps 10 --ckpt-every 5 || exit 1
cp -r "$G" "$work/G.copy"

fault() { # fault DESCRIPTION TEXT CMD...: exit 1, the output holds TEXT (which names the file), G intact
    local what=$1 text=$2
    shift 2
    expect 1 "$what" "$@" && contains "$what" "$text"
    intact "$what" "$G" "$work/G.copy"
}
resume_g() { # resume_g MODEL ARGS...: resume G from MODEL to step 15
    local model=$1
    shift
    "$llmrun" "$model" --data "$D" --out "$G" --resume "$G" --steps 15 "$@"
}

# bundles
b=$work/bad
mkdir "$b"
size=$(stat -c %s "$m")
head -c $((size / 2)) "$m" >"$b/trunc.llmc"
fault "truncated bundle" "$b/trunc.llmc: truncated bundle ($((size / 2)) of $size bytes)" resume_g "$b/trunc.llmc"
head -c 20 "$m" >"$b/stub.llmc"
fault "bundle cut in its header" "$b/stub.llmc: " resume_g "$b/stub.llmc"
matches "bundle cut in its header" "stub\.llmc: .*truncated"
cp "$m" "$b/corrupt.llmc" && flip_byte "$b/corrupt.llmc" $((size / 2))
fault "corrupt bundle" "$b/corrupt.llmc: corrupt section '" resume_g "$b/corrupt.llmc"
cp "$m" "$b/magic.llmc" && flip_byte "$b/magic.llmc" 0
fault "wrong-magic bundle" "$b/magic.llmc: not an llmc bundle" resume_g "$b/magic.llmc"
[ "$(wc -l <<<"$out")" -le 3 ] || bad "wrong-magic bundle: $(wc -l <<<"$out") lines of messages, expected one"
cp "$m" "$b/magic.bin" && flip_byte "$b/magic.bin" 0
fault "wrong-magic bundle, another name" "$b/magic.bin: not an llmc bundle" resume_g "$b/magic.bin"
cp "$m" "$b/version.llmc" && flip_byte "$b/version.llmc" 8
fault "wrong-version bundle" "$b/version.llmc: unsupported bundle version" resume_g "$b/version.llmc"

# checkpoints (each a copy of G; G's own copy must stay as it is)
ck() { rm -rf "$work/C" "$work/C.copy" && cp -r "$G" "$work/C"; } # then a change, then a copy
ck && flip_byte "$work/C/ckpt-00000010/state.safetensors" 2000 && cp -r "$work/C" "$work/C.copy"
fault "corrupt checkpoint" "$work/C/ckpt-00000010/state.safetensors: checksum mismatch" \
    "$llmrun" "$m" --data "$D" --out "$work/C" --resume "$work/C" --steps 15
intact "corrupt checkpoint" "$work/C" "$work/C.copy"
expect 0 "the older checkpoint still loads" "$llmrun" "$m" --data "$D" --out "$work/C" --resume "$work/C/ckpt-00000005" --steps 10 &&
    same "the older checkpoint resumes bit-exactly" "$work/C/ckpt-00000010/state.safetensors" "$G/ckpt-00000010/state.safetensors"
ck && head -c 100 "$G/ckpt-00000010/manifest.json" >"$work/C/ckpt-00000010/manifest.json" && cp -r "$work/C" "$work/C.copy"
fault "truncated manifest" "$work/C/ckpt-00000010/manifest.json:" \
    "$llmrun" "$m" --data "$D" --out "$work/C" --resume "$work/C" --steps 15
intact "truncated manifest" "$work/C" "$work/C.copy"
ck && head -c 5000 "$G/ckpt-00000010/state.safetensors" >"$work/C/ckpt-00000010/state.safetensors" && cp -r "$work/C" "$work/C.copy"
fault "truncated checkpoint state" "$work/C/ckpt-00000010/state.safetensors: 5000 bytes, but the manifest says" \
    "$llmrun" "$m" --data "$D" --out "$work/C" --resume "$work/C" --steps 15
ck && echo ckpt-00000099 >"$work/C/latest" && cp -r "$work/C" "$work/C.copy"
fault "latest names no checkpoint" "$work/C/latest: points at ckpt-00000099, which does not exist" \
    "$llmrun" "$m" --data "$D" --out "$work/C" --resume "$work/C" --steps 15
fault "checkpoint of another model" "$G/ckpt-00000010: checkpoint is of another model" \
    resume_g models/llama-tiny.llm -D vocab=256
fault "checkpoint of another size" "$G/ckpt-00000010: checkpoint is of another model" \
    resume_g models/gpt2-tiny.llm -D vocab=256 -D dim=32

# shards and data directories
sh=$work/shards
mkdir -p "$sh"/{trunc,corrupt,magic,version,ids,empty}
s0=$D/corpus_00000.shard
head -c 1000 "$s0" >"$sh/trunc/a.shard"
fault "truncated shard" "$sh/trunc/a.shard: truncated" resume_g "$m" --data "$sh/trunc"
cp "$s0" "$sh/corrupt/a.shard" && flip_byte "$sh/corrupt/a.shard" 5000
fault "corrupt shard" "$sh/corrupt/a.shard: " resume_g "$m" --data "$sh/corrupt"
matches "corrupt shard" "a\.shard: .*checksum"
cp "$s0" "$sh/magic/a.shard" && flip_byte "$sh/magic/a.shard" 0
fault "wrong-magic shard" "$sh/magic/a.shard: not a token shard" resume_g "$m" --data "$sh/magic"
cp "$s0" "$sh/version/a.shard" && flip_byte "$sh/version/a.shard" 8
fault "wrong-version shard" "$sh/version/a.shard: " resume_g "$m" --data "$sh/version"
matches "wrong-version shard" "a\.shard: .*version"
# an id >= vocab in a shard whose header and checksums are otherwise right
python3 - "$sh/ids/a.shard" <<'PY'
import struct, sys
def fnv(b):
    h = 0xcbf29ce484222325
    for x in b: h = ((h ^ x) * 0x100000001b3) & 0xffffffffffffffff
    return h
ids = [i % 90 for i in range(3000)]
ids[1234] = 200
data = struct.pack(f"<{len(ids)}H", *ids)
head = b"LLMTOK\0\0" + struct.pack("<IIIIQQ", 1, 2, 100, 0, len(ids), fnv(data))
open(sys.argv[1], "wb").write(head + struct.pack("<Q", fnv(head)) + data)
PY
fault "token id >= vocab" "$sh/ids/a.shard: token 200 at position 1234 is >= vocab 100" resume_g "$m" --data "$sh/ids"
fault "shard vocab > model vocab" "$s0: shard vocab 256 > model vocab 100" \
    "$llmrun" models/gpt2-tiny.llm -D vocab=100 --data "$D" --out "$work/V" --steps 5
[ ! -e "$work/V" ] || bad "shard vocab > model vocab: made $work/V"
fault "missing data directory" "$work/nowhere: cannot open data directory" resume_g "$m" --data "$work/nowhere"
fault "empty data directory" "$sh/empty: no token shards" resume_g "$m" --data "$sh/empty"

# disk full while saving: the error, exit 1, the previous checkpoint intact and loading
F=$work/F
cp -r "$G" "$F"
expect 1 "disk full" bash -c "ulimit -f 1000; exec \"\$@\"" - "$llmrun" "$m" --data "$D" --out "$F" --resume "$F" \
    --steps 20 --ckpt-every 5 &&
    matches "disk full" "saving the checkpoint of step 15: (rank 0: )?$F/\.tmp-ckpt-00000015-[0-9]+/state\.safetensors: .*File too large"
latest_is "disk full" "$F" 10
[ -z "$(ls -A "$F" | grep '^\.tmp')" ] || bad "disk full: temporaries left: $(ls -A "$F" | grep '^\.tmp' | paste -sd ' ')"
intact "disk full: ckpt-00000010" "$F/ckpt-00000010" "$G/ckpt-00000010"
expect 0 "disk full: resume" "$llmrun" "$m" --data "$D" --out "$F" --resume "$F" --steps 20 &&
    expect 0 "straight 20" "$llmrun" "$m" --data "$D" --out "$work/S20" --steps 20 &&
    same "disk full: the resume is bit-exact" "$F/ckpt-00000020/state.safetensors" "$work/S20/ckpt-00000020/state.safetensors"

# a nan loss, or a non-finite gradient norm (with fused attention an lr of 1e4 overflows
# the grad norm's sum of squares before anything turns nan): stop with the step, keep the
# last good checkpoint
N=$work/N
expect 1 "nan loss" "$llmrun" "$m" -D lr=1e4 --data "$D" --out "$N" --steps 40 --ckpt-every 2 &&
    matches "nan loss" '^llmrun: step [0-9]+: the loss is [^ ]+ \(grad norm (-?nan|-?inf)\); stopping\. '`
                      `'The last good checkpoint \(step [0-9]+\) is intact\.'
k=$(sed -nE 's/.*The last good checkpoint \(step ([0-9]+)\) is intact.*/\1/p' <<<"$out")
s=$(sed -nE 's/^llmrun: step ([0-9]+): the loss is.*/\1/p' <<<"$out")
echo "nan loss: at step ${s:-?}, last good checkpoint ${k:-?}"
if [ -n "$k" ]; then
    latest_is "nan loss" "$N" "$k"
    expect 0 "nan loss: the last good checkpoint loads" "$llmrun" "$m" -D lr=1e4 --data "$D" --out "$N" --resume "$N" --steps "$k"
    contains "nan loss: the last good checkpoint loads" "already at step $k"
fi
expect 1 "--debug-nan" "$llmrun" "$m" -D lr=1e4 --debug-nan --data "$D" --out "$work/N2" --steps 40 --ckpt-every 2 &&
    matches "--debug-nan" '^llmrun: step [0-9]+: @(micro|update) kernel %k[0-9]+ .*: %[0-9]+ = [a-z_]+ : '`
                         `'[a-z0-9]+\[.*\(models/gpt2-tiny\.llm:[0-9]+:[0-9]+\) is -?(nan|inf) at element [0-9]+'
contains "--debug-nan" "the last good checkpoint (step"
echo "--debug-nan: $(grep -E '^llmrun: step [0-9]+: @' <<<"$out")"

# too big for memory: refused before allocating (under a 2 GB address-space limit)
expect 1 "out of memory" bash -c "ulimit -v 2000000; exec \"\$@\"" - "$llmrun" models/gpt2-small.llm -D batch=4096 \
    --data "$D" --out "$work/big" --steps 5 &&
    matches "out of memory" '^llmrun: models/gpt2-small\.llm: the model needs [0-9.]+ GB \(.*\) but [0-9.]+ GB are available$'
[ ! -e "$work/big" ] || bad "out of memory: made $work/big"

# -D that would change a bundle's graph
fault "-D dim on a bundle" "$m: -D dim=32 would change the compiled graph" resume_g "$m" -D dim=32

# usage errors: exit 2
usage() { # usage DESCRIPTION TEXT ARGS...
    local what=$1 text=$2
    shift 2
    expect 2 "$what" "$llmrun" "$@" && contains "$what" "$text"
}
usage "missing --data" "missing --data" "$m" --out "$work/U"
usage "missing --out" "missing --out" "$m" --data "$D"
usage "missing model" "missing MODEL" --data "$D" --out "$work/U"
usage "unknown option" "unknown option '--stpes'" "$m" --data "$D" --out "$work/U" --stpes 5
usage "bad --steps" "--steps needs a step count, got 'ten'" "$m" --data "$D" --out "$work/U" --steps ten
usage "negative --steps" "--steps needs a step count, got '-1'" "$m" --data "$D" --out "$work/U" --steps -1
usage "--steps without a value" "option '--steps' needs a value" "$m" --data "$D" --out "$work/U" --steps
usage "bad -D" "-D needs NAME=VALUE" "$m" --data "$D" --out "$work/U" -D lr
[ ! -e "$work/U" ] || bad "usage errors made $work/U"
intact "all faults" "$G" "$work/G.copy"
exit $fail
