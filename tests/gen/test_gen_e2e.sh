#!/usr/bin/env bash
# tests/gen/test_gen_e2e.sh LLMRUN LLMC LLMDATA — `llmrun generate` end to end: a tiny
# gpt2 (-D vocab=256, seq = context = 64) trained for 300 steps on one repeated line
# memorizes it; greedy decoding from its first word then reproduces the line, the same
# with the KV cache (@prefill + @decode), with --no-kv-cache (@logits), from the .llm
# and from a checkpoint folder; a fixed seed reproduces a sample and another seed
# differs; every error case: a missing checkpoint, a checkpoint of another model, a
# missing tokenizer, bad options.
set -u
llmrun=$1 llmc=$2 llmdata=$3
fail=0
work=$(mktemp -d /tmp/llmc-gen-XXXXXX)
trap 'rm -rf "$work"' EXIT
: "${LLMC_CACHE_DIR:=$work/kernel-cache}"
export LLMC_CACHE_DIR

bad() { echo "FAIL $*"; fail=1; }
expect() { # expect WANT_RC DESCRIPTION CMD... ; stdout in $out, stderr in $err, status in $rc
    local want=$1 what=$2
    shift 2
    out=$("$@" 2>"$work/stderr")
    rc=$?
    err=$(cat "$work/stderr")
    if [ $rc -ne "$want" ]; then bad "$what: exit $rc, expected $want"; echo "$err" | tail -5; return 1; fi
    return 0
}
contains() { # contains DESCRIPTION TEXT HAYSTACK
    if ! grep -qF -- "$2" <<<"$3"; then bad "$1: lacks '$2'"; echo "$3" | tail -5; fi
}

line='hello llmc! a tiny model memorizes this line. '
python3 -c "import sys; open(sys.argv[1], 'w').write(sys.argv[2] * 300)" "$work/c.txt" "$line"
"$llmdata" shard "$work/c.txt" --out "$work/D" >/dev/null || bad "llmdata shard: exit $?"
D=(-D vocab=256 -D seq=64 -D steps=300 -D lr=3e-3)
if expect 0 "llmc -o" "$llmc" models/gpt2-tiny.llm "${D[@]}" -o "$work/m.llmc"; then
    contains "report" "inference graphs   @logits @prefill @decode" "$out"
fi
expect 0 "llmc --emit=logits" "$llmc" models/gpt2-tiny.llm "${D[@]}" --emit=logits &&
    contains "--emit=logits" 'output "logits"' "$out"
expect 0 "llmc --emit=decode" "$llmc" models/gpt2-tiny.llm "${D[@]}" --emit=decode &&
    contains "--emit=decode" 'output "cache.layers.0.attn.k"' "$out"
expect 0 "llmrun train" "$llmrun" "$work/m.llmc" --data "$work/D" --out "$work/R" || exit 1

# greedy reproduces the memorized line (prompt + 40 tokens stay inside the context)
want="${line:0:45}"
G=(--prompt hello --tokens 40 --temperature 0)
if expect 0 "generate (KV cache)" "$llmrun" generate "$work/R" --model "$work/m.llmc" "${G[@]}"; then
    [ "$out" = "$want" ] || bad "greedy with the KV cache: got '$out', expected '$want'"
    contains "stderr" "KV cache (@prefill + @decode)" "$err"
    grep -qE '^llmrun generate: 40 tokens in [0-9.]+ s \([0-9.]+ tokens/s\); prompt 5 tokens in .* @decode steps at [0-9.]+ tokens/s' <<<"$err" ||
        bad "tokens/s line: $err"
fi
if expect 0 "generate (full recompute)" "$llmrun" generate "$work/R" --model "$work/m.llmc" "${G[@]}" --no-kv-cache; then
    [ "$out" = "$want" ] || bad "greedy, full recompute: got '$out', expected '$want'"
    contains "stderr" "full recompute (@logits)" "$err"
fi
ck=$(cat "$work/R/latest")
if expect 0 "generate from the .llm and a checkpoint folder" "$llmrun" generate "$work/R/$ck" \
    --model models/gpt2-tiny.llm "${D[@]}" "${G[@]}"; then
    [ "$out" = "$want" ] || bad "greedy from the .llm: got '$out', expected '$want'"
fi

# seeds: the same seed the same sample, another seed another
S=(--prompt "hello" --tokens 60 --temperature 2.0 --top-k 50 --top-p 0.95)
expect 0 "seed 1" "$llmrun" generate "$work/R" --model "$work/m.llmc" "${S[@]}" --seed 1 && a=$out
expect 0 "seed 1 again" "$llmrun" generate "$work/R" --model "$work/m.llmc" "${S[@]}" --seed 1 && b=$out
expect 0 "seed 2" "$llmrun" generate "$work/R" --model "$work/m.llmc" "${S[@]}" --seed 2 && c=$out
[ "${a-x}" = "${b-y}" ] || bad "seed 1 twice: '${a-}' vs '${b-}'"
[ "${a-x}" != "${c-x}" ] || bad "seeds 1 and 2 gave the same sample '${a-}'"
expect 0 "seed 1, full recompute" "$llmrun" generate "$work/R" --model "$work/m.llmc" "${S[@]}" --seed 1 --no-kv-cache &&
    { [ "$out" = "${a-x}" ] || bad "seed 1 with and without the cache: '${a-}' vs '$out'"; }

# errors
expect 1 "missing checkpoint" "$llmrun" generate "$work/nothing" --model "$work/m.llmc" "${G[@]}" &&
    contains "missing checkpoint" "$work/nothing" "$err"
expect 1 "another model's checkpoint" "$llmrun" generate "$work/R" --model models/gpt2-tiny.llm -D vocab=256 \
    -D layers=1 "${G[@]}" && contains "another model" "checkpoint is of another model" "$err"
expect 1 "missing tokenizer" "$llmrun" generate "$work/R" --model "$work/m.llmc" "${G[@]}" --tok "$work/none.tok" &&
    contains "missing tokenizer" "none.tok" "$err"
expect 1 "-D on a bundle" "$llmrun" generate "$work/R" --model "$work/m.llmc" -D layers=1 "${G[@]}"
expect 1 "not a model" "$llmrun" generate "$work/R" --model "$work/c.txt" "${G[@]}"
for args in "--top-p 0" "--top-p 1.5" "--temperature -1" "--tokens x" "--top-k -2" "--seed -1" "--bogus" \
    "--prompt"; do
    # shellcheck disable=SC2086
    expect 2 "bad option $args" "$llmrun" generate "$work/R" --model "$work/m.llmc" $args
done
expect 2 "no --model" "$llmrun" generate "$work/R" "${G[@]}"
expect 2 "no checkpoint" "$llmrun" generate --model "$work/m.llmc" "${G[@]}"
expect 2 "empty prompt" "$llmrun" generate "$work/R" --model "$work/m.llmc" --prompt ""
expect 0 "--help" "$llmrun" generate --help && contains "--help" "--top-p" "$out"
exit $fail
