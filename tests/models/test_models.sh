#!/usr/bin/env bash
# tests/models/test_models.sh LLMC LLMIR — the model library, through the tools a user
# has: every model passes `llmc --check`, emits an AST, and forward, init, grad and train
# graphs that `llmir check` accepts; gpt2-small has exactly GPT-2's 124,439,808 parameters; and on
# the reference interpreter each tiny model's initial loss is within 0.1 of ln(vocab)
# (init graph -> safetensors -> forward graph); remat leaves every number unchanged.
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

for f in models/*.llm models/bench/*.llm; do
  name=$(basename "$f" .llm)
  if "$LLMC" "$f" --check >"$TMP/out" 2>&1; then ok; else bad "llmc --check $f"; sed 's/^/    /' "$TMP/out" | head -20; continue; fi
  if "$LLMC" "$f" --emit=ast >"$TMP/$name.ast" 2>&1 && grep -q "^model " "$TMP/$name.ast"; then ok; else bad "--emit=ast $f"; fi
  if "$LLMC" "$f" --emit=forward -o "$TMP/$name.fwd.llir" && "$LLMIR" check "$TMP/$name.fwd.llir"; then ok; else bad "--emit=forward $f | llmir check"; fi
  if "$LLMC" "$f" --emit=init -o "$TMP/$name.init.llir" && "$LLMIR" check "$TMP/$name.init.llir"; then ok; else bad "--emit=init $f | llmir check"; fi
  if "$LLMC" "$f" --stats >"$TMP/$name.stats" 2>&1 && grep -q "^parameters: " "$TMP/$name.stats"; then ok; else bad "--stats $f"; fi
  for stage in grad train; do
    if "$LLMC" "$f" --emit=$stage -o "$TMP/$name.$stage.llir" && "$LLMIR" check "$TMP/$name.$stage.llir"; then ok; else bad "--emit=$stage $f | llmir check"; fi
  done
done

if grep -q "^parameters: 124439808 " "$TMP/gpt2-small.stats"; then ok; else bad "gpt2-small parameter count: $(grep '^parameters' "$TMP/gpt2-small.stats")"; fi
# The benchmark models, counted by hand: gpt2-d256 = 8192*256 + 256*256 (embeddings) +
# 4 * (4*256*256 + 2*256*1024 + 4*256) + 2*256 + 256*8192; llama-d256 = 8192*256 +
# 4 * (2*256*256 + 2*256*128 + 3*256*688 + 2*256) + 256 + 256*8192; moe-d256 the same
# with 4 experts of 3*256*688 plus a 256*4 router in each layer.
for want in gpt2-d256:7410176 llama-d256:7096576 moe-d256:13441280; do
  name=${want%%:*} n=${want##*:}
  if grep -q "^parameters: $n " "$TMP/$name.stats"; then ok; else bad "$name parameter count: $(grep '^parameters' "$TMP/$name.stats")"; fi
done

# Initial loss ≈ ln(vocab): small weights give near-uniform logits. fortune runs at a
# smaller batch to keep the naive interpreter fast; gpt2-small is too big for it.
for f in models/*-tiny.llm models/fortune.llm; do
  name=$(basename "$f" .llm)
  extra=()
  if [ "$name" = fortune ]; then extra=(-D batch=1 -D seq=16); fi
  "$LLMC" "$f" "${extra[@]}" --emit=init -o "$TMP/i.llir" &&
    "$LLMC" "$f" "${extra[@]}" --emit=forward -o "$TMP/f.llir" &&
    "$LLMIR" run "$TMP/i.llir" --seed 3 --out "$TMP/p.safetensors" >/dev/null &&
    "$LLMIR" run "$TMP/f.llir" --seed 4 --input "$TMP/p.safetensors" --show 1 >"$TMP/run" 2>&1
  loss=$(grep -A1 '^loss:' "$TMP/run" | tail -1 | tr -d '[] ')
  vocab=$(grep -Eo 'vocab = [0-9_]+' "$f" | head -1 | grep -Eo '[0-9_]+' | tr -d _)
  if [ -n "$loss" ] && awk -v l="$loss" -v v="$vocab" 'BEGIN { d = l - log(v); exit !(d < 0.1 && d > -0.1) }'; then
    ok
  else
    bad "$name: initial loss '$loss' is not within 0.1 of ln($vocab)"; sed 's/^/    /' "$TMP/run" | head -10
  fi
done

# -D reaches single optimizer/schedule arguments, checked like the train block's own.
if "$LLMC" models/gpt2-tiny.llm -D lr=2e-3 -D "betas=(0.8, 0.9)" -D warmup=5 --emit=forward | head -3 |
  grep -q 'beta1=0.8, beta2=0.9.*lr=0.002.*warmup=5'; then ok; else bad "-D lr/betas/warmup did not reach the record"; fi
if "$LLMC" models/gpt2-tiny.llm -D lr=-1 --check 2>&1 | grep -q 'lr must be > 0'; then ok; else bad "-D lr=-1 accepted"; fi
if "$LLMC" models/gpt2-tiny.llm -D lrr=1 --check 2>&1 | grep -q "did you mean 'lr'"; then ok; else bad "-D lrr: no did-you-mean"; fi

# Rematerialization changes memory, never numbers: the compiled micro-batch graph gives
# bit-identical loss and gradients with remat = layers (same inputs, f32 interpreter).
for f in models/*-tiny.llm; do
  name=$(basename "$f" .llm)
  "$LLMC" "$f" -D batch=1 -D seq=8 --emit=train -o "$TMP/plain.llir" &&
    "$LLMC" "$f" -D batch=1 -D seq=8 -D remat=layers --emit=train -o "$TMP/remat.llir" &&
    "$LLMIR" run "$TMP/plain.llir" --graph micro --seed 5 --show 0 >"$TMP/plain.out" &&
    "$LLMIR" run "$TMP/remat.llir" --graph micro --seed 5 --show 0 >"$TMP/remat.out"
  if [ -s "$TMP/plain.out" ] && cmp -s "$TMP/plain.out" "$TMP/remat.out"; then ok; else bad "$name: remat changes the micro-batch results"; fi
done

# ... and that holds with dropout: the recomputed layers draw the same masks.
cat >"$TMP/dropout.llm" <<'LLM'
model dropout_tiny {
    vocab = 64; context = 16; dim = 16; layers = 2; heads = 2
    x = embed(tokens, vocab, dim, position = learned)
    repeat layers as i {
        x = x + dropout(attention(layernorm(x), heads = heads, dropout = 0.1), 0.2)
        x = x + dropout(mlp(layernorm(x), hidden = 4 * dim, act = gelu), 0.2)
    }
    loss = cross_entropy(lm_head(layernorm(x, name = "ln_f")), targets)
}
train { batch = 2; seq = 8 }
LLM
"$LLMC" "$TMP/dropout.llm" --emit=train -o "$TMP/plain.llir" &&
  "$LLMC" "$TMP/dropout.llm" -D remat=layers --emit=train -o "$TMP/remat.llir" &&
  "$LLMIR" run "$TMP/plain.llir" --graph micro --seed 9 --show 0 >"$TMP/plain.out" &&
  "$LLMIR" run "$TMP/remat.llir" --graph micro --seed 9 --show 0 >"$TMP/remat.out"
if [ -s "$TMP/plain.out" ] && cmp -s "$TMP/plain.out" "$TMP/remat.out" &&
  [ "$(grep -c '^  %' "$TMP/remat.llir")" -gt "$(grep -c '^  %' "$TMP/plain.llir")" ]; then
  ok
else
  bad "dropout model: remat changes results (or recomputes nothing)"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
