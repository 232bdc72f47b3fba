#!/usr/bin/env bash
# tests/weights/test_weights.sh LLMRUN LLMC LLMDATA — issue 7's weights interchange on
# gpt2-tiny (-D vocab=256; corpus, bundle and helpers from tests/run/lib.sh):
#   - export: the params of a 3-step run's checkpoint, bit for bit, under their names, no
#     optimizer state, metadata format/model_hash/step; RUN_DIR and CKPT_DIR give the same
#     bytes;
#   - round trip: --init FILE --steps 0 saves the imported params as the step-0
#     checkpoint; its export holds the same params, and export(import(·)) is a fixed point
#     byte for byte;
#   - bit-identical logits: on data with a single training window (every micro-batch the
#     same), the first step's loss and grad norm from the imported weights (fresh moments,
#     `llmrun import` spelling) equal step 4's of the original run resumed at step 3;
#   - another model's hash in the metadata: a warning;
#   - errors, each naming the tensor or file, exit 1 and no run saved: a missing, extra,
#     transposed or f64 tensor; not a safetensors file; export of a non-checkpoint; usage
#     (exit 2).
source "$(dirname "$0")/../run/lib.sh"
st() { python3 "$(dirname "$0")/st.py" "$@"; }
m=$work/m.llmc
D=$work/D
ck() { printf '%s/ckpt-%08d' "$1" "$2"; }
json_at() { # json_at METRICS STEP FIELD: the field's JSON text in the line of STEP
    python3 -c "
import json, sys
for l in open(sys.argv[1]):
    j = json.loads(l)
    if j['step'] == int(sys.argv[2]): print(repr(j[sys.argv[3]]))" "$@"
}

# the original run and its export
expect 0 "train 3" "$llmrun" "$m" --data "$D" --out "$work/A" --steps 3 || exit 1
expect 0 "export RUN_DIR" "$llmrun" export "$work/A" -o "$work/E.safetensors" &&
    contains "export RUN_DIR" "-> $work/E.safetensors"
st same-params "$(ck "$work/A" 3)/state.safetensors" "$work/E.safetensors" || bad "export: params differ from the checkpoint's"
names=$(st names "$work/E.safetensors")
grep -qE '^(opt\.|hp\.|step$|seed$)' <<<"$names" && bad "export holds non-params: $(grep -E '^(opt\.|hp\.|step$|seed$)' <<<"$names" | head -3)"
grep -qx 'layers.0.attn.wq' <<<"$names" || bad "export: no tensor named layers.0.attn.wq: $(head -5 <<<"$names")"
[ "$(st meta "$work/E.safetensors" format)" = llmc-weights ] || bad "export: metadata format"
[ "$(st meta "$work/E.safetensors" step)" = 3 ] || bad "export: metadata step"
hash=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['model_hash'])" "$(ck "$work/A" 3)/manifest.json")
[ "$(st meta "$work/E.safetensors" model_hash)" = "$hash" ] || bad "export: metadata model_hash is not $hash"
expect 0 "export CKPT_DIR" "$llmrun" export "$(ck "$work/A" 3)" -o "$work/E2.safetensors"
same "export of RUN_DIR = of its CKPT_DIR" "$work/E.safetensors" "$work/E2.safetensors"

# round trip: import with --steps 0, export again
expect 0 "--init --steps 0" "$llmrun" "$m" --data "$D" --out "$work/I" --init "$work/E.safetensors" --steps 0 &&
    contains "--init --steps 0" "params from $work/E.safetensors"
latest_is "--init --steps 0" "$work/I" 0
expect 0 "export the import" "$llmrun" export "$work/I" -o "$work/EI.safetensors"
st same-params "$work/E.safetensors" "$work/EI.safetensors" || bad "export(import(E)) params differ from E"
[ "$(st meta "$work/EI.safetensors" step)" = 0 ] || bad "export of the import: metadata step"
expect 0 "--init --steps 0 again" "$llmrun" "$m" --data "$D" --out "$work/I2" --init "$work/EI.safetensors" --steps 0
expect 0 "export again" "$llmrun" export "$work/I2" -o "$work/EI2.safetensors"
same "export(import(export(x))) = export(x)" "$work/EI.safetensors" "$work/EI2.safetensors"

# bit-identical logits: one training window, so every step reads the same batch
head -c 60 "$work/corpus.txt" >"$work/one.txt"
"$llmdata" shard "$work/one.txt" --out "$work/D1" >/dev/null || bad "llmdata shard (one window): exit $?"
cp -r "$work/A" "$work/R"
expect 0 "resume 3 -> 4 on D1" "$llmrun" "$m" --data "$work/D1" --val-fraction 0 --out "$work/R" --resume "$work/R" --steps 4
expect 0 "import, 1 step on D1" "$llmrun" import "$work/E.safetensors" "$m" --data "$work/D1" --val-fraction 0 \
    --out "$work/B" --steps 1
expect 0 "@init, 1 step on D1" "$llmrun" "$m" --data "$work/D1" --val-fraction 0 --out "$work/C" --steps 1
for f in loss grad_norm; do
    want=$(json_at "$work/R/metrics.jsonl" 4 $f) got=$(json_at "$work/B/metrics.jsonl" 1 $f)
    [ -n "$want" ] && [ "$want" = "$got" ] || bad "first-step $f from the import is '$got', the checkpoint's '$want'"
done
[ "$(json_at "$work/C/metrics.jsonl" 1 loss)" != "$(json_at "$work/B/metrics.jsonl" 1 loss)" ] ||
    bad "the loss from @init equals the imported one: the comparison proves nothing"

# another model's hash in the metadata only warns: params match by name and shape
st edit "$work/E.safetensors" "$work/H.safetensors" rehash
expect 0 "--init, other model hash" "$llmrun" "$m" --data "$D" --out "$work/H" --init "$work/H.safetensors" --steps 0 &&
    contains "--init, other model hash" "warning: $work/H.safetensors was exported from another model (hash 0123456789abcdef"

# bad weights files: exit 1, the message names the file and the tensor, no run saved
w=$work/w
mkdir "$w"
E=$work/E.safetensors
first=$(head -1 <<<"$names")
ns=$(st nonsquare "$E")
ns_type=$(python3 -c "
import json, struct, sys
b = open(sys.argv[1], 'rb').read(); h = json.loads(b[8:8 + struct.unpack('<Q', b[:8])[0]])[sys.argv[2]]
print(h['dtype'].lower() + '[' + ','.join(map(str, h['shape'])) + ']')" "$E" "$ns")
ns_rev=$(sed -E 's/\[([0-9]+),([0-9]+)\]/[\2,\1]/' <<<"$ns_type")
bad_init() { # bad_init DESCRIPTION FILE TEXT
    rm -rf "$work/X"
    expect 1 "$1" "$llmrun" "$m" --data "$D" --out "$work/X" --init "$2" --steps 1 && contains "$1" "$3"
    [ -e "$work/X/latest" ] && bad "$1: a checkpoint was saved"
}
st edit "$E" "$w/missing.safetensors" drop "$first"
bad_init "missing tensor" "$w/missing.safetensors" "$w/missing.safetensors: the model's param '$first' ("
st edit "$E" "$w/extra.safetensors" extra
bad_init "extra tensor" "$w/extra.safetensors" "$w/extra.safetensors: tensor 'extra.w' (f32[2]) is not a param of the model"
st edit "$E" "$w/shape.safetensors" transpose "$ns"
bad_init "shape mismatch" "$w/shape.safetensors" "$w/shape.safetensors: tensor '$ns' is $ns_rev, the model's is $ns_type"
st edit "$E" "$w/dtype.safetensors" f64 "$ns"
bad_init "dtype mismatch" "$w/dtype.safetensors" "$w/dtype.safetensors: tensor '$ns' is f64${ns_type#f32}, the model's is $ns_type"
echo "not weights" >"$w/text.safetensors"
bad_init "not a safetensors file" "$w/text.safetensors" "$w/text.safetensors: "
bad_init "no such file" "$w/none.safetensors" "$w/none.safetensors"
expect 1 "import of a missing file" "$llmrun" import "$w/none.safetensors" "$m" --data "$D" --out "$work/X" &&
    contains "import of a missing file" "$w/none.safetensors"

# bad exports: exit 1 naming the path, nothing written
expect 1 "export of a non-checkpoint" "$llmrun" export "$D" -o "$w/x.safetensors" && contains "export of a non-checkpoint" "$D"
expect 1 "export of a missing path" "$llmrun" export "$work/nope" -o "$w/x.safetensors" && contains "export of a missing path" "$work/nope"
[ -e "$w/x.safetensors" ] && bad "a failed export wrote $w/x.safetensors"

# usage
expect 2 "export without -o" "$llmrun" export "$work/A" && contains "export without -o" "missing -o"
expect 2 "export, unknown option" "$llmrun" export "$work/A" -o "$w/y" --bogus
expect 2 "import without a file" "$llmrun" import
expect 2 "--init and --resume" "$llmrun" "$m" --data "$D" --out "$work/A" --resume "$work/A" --init "$E" &&
    contains "--init and --resume" "not both"
expect 0 "export --help" "$llmrun" export --help && contains "export --help" "llmc-weights"
exit $fail
