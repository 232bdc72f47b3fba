#!/usr/bin/env bash
# The determinism contract (DESIGN §8): for each strategy and model, the same global batch
# (accumulate = 4) run as 1 rank x 4 micro-batches, 2 x 2 and 4 x 1 gives bit-identical
# losses, grad norms and final checkpoints (state.safetensors byte for byte); also under
# precision = bf16, and on 1 and 2 threads.
source "$(dirname "$0")/lib.sh"

# a dropout model: gpt2-tiny with dropout after the embedding and inside attention
sed -e 's/x = embed(tokens, vocab, dim, position = learned)/x = dropout(embed(tokens, vocab, dim, position = learned), p = 0.1)/' \
    -e 's/causal = true, bias = true)/causal = true, bias = true, dropout = 0.1)/' \
    models/gpt2-tiny.llm >"$work/dropout-tiny.llm"
grep -q "dropout(embed" "$work/dropout-tiny.llm" || bad "the dropout model was not made"

steps=3
for model in models/gpt2-tiny.llm models/llama-tiny.llm models/moe-tiny.llm "$work/dropout-tiny.llm"; do
    name=$(basename "$model" .llm)
    for shard in none grad full; do
        for n in 1 2 4; do
            run="$work/$name-$shard-$n"
            if ! expect 0 "$name --shard $shard on $n ranks" \
                ranks "$n" "$llmrun" "$model" -D vocab=256 -D accumulate=4 -D batch=2 -D seq=16 --threads 1 \
                --data "$work/D" --out "$run" --steps $steps --shard $shard; then
                continue
            fi
            losses "$run" >"$run.losses"
            [ "$(wc -l <"$run.losses")" = $steps ] || bad "$name $shard $n: $(wc -l <"$run.losses") metrics lines"
            if [ "$n" != 1 ]; then
                same "$name --shard $shard: losses, 1 vs $n ranks" "$work/$name-$shard-1.losses" "$run.losses"
                same "$name --shard $shard: final state, 1 vs $n ranks" \
                    "$work/$name-$shard-1/ckpt-0000000$steps/state.safetensors" "$run/ckpt-0000000$steps/state.safetensors"
            fi
        done
        echo "$name --shard $shard: $(tail -1 "$work/$name-$shard-1.losses")"
    done
    # the strategies compute the same step (different summation of the grad norm only)
    python3 - "$work/$name-none-1.losses" "$work/$name-full-1.losses" <<'PY' || bad "$name: none and full diverge"
import sys
a = [l.split() for l in open(sys.argv[1])]
b = [l.split() for l in open(sys.argv[2])]
for x, y in zip(a, b):
    if abs(float(x[1]) - float(y[1])) > 1e-4 * abs(float(x[1])):
        sys.exit("step %s: loss %s (none) vs %s (full)" % (x[0], x[1], y[1]))
PY
done

# precision = bf16 (issue 11): the same contract with bf16 matmuls, and the same bytes on
# 1 and 2 threads
for shard in none grad full; do
    for n in 1 2 4; do
        run="$work/bf16-$shard-$n"
        expect 0 "bf16 gpt2-tiny --shard $shard on $n ranks" \
            ranks "$n" "$llmrun" models/gpt2-tiny.llm -D precision=bf16 -D vocab=256 -D accumulate=4 -D batch=2 \
            -D seq=16 --threads 1 --data "$work/D" --out "$run" --steps $steps --shard $shard || continue
        losses "$run" >"$run.losses"
        if [ "$n" != 1 ]; then
            same "bf16 --shard $shard: losses, 1 vs $n ranks" "$work/bf16-$shard-1.losses" "$run.losses"
            same "bf16 --shard $shard: final state, 1 vs $n ranks" \
                "$work/bf16-$shard-1/ckpt-0000000$steps/state.safetensors" "$run/ckpt-0000000$steps/state.safetensors"
        fi
    done
    echo "bf16 --shard $shard: $(tail -1 "$work/bf16-$shard-1.losses")"
done
expect 0 "bf16 gpt2-tiny on 2 threads" "$llmrun" models/gpt2-tiny.llm -D precision=bf16 -D vocab=256 -D accumulate=4 \
    -D batch=2 -D seq=16 --threads 2 --data "$work/D" --out "$work/bf16-t2" --steps $steps
same "bf16: final state, 1 vs 2 threads" "$work/bf16-none-1/ckpt-0000000$steps/state.safetensors" \
    "$work/bf16-t2/ckpt-0000000$steps/state.safetensors"
cmp -s "$work/bf16-none-1/ckpt-0000000$steps/state.safetensors" "$work/gpt2-tiny-none-1/ckpt-0000000$steps/state.safetensors" &&
    bad "bf16 and fp32 runs gave the same state: precision = bf16 changed nothing"

# ranks that do not divide accumulate, or are not a power of two: a clear error
expect 1 "3 ranks" ranks 3 "$llmrun" models/gpt2-tiny.llm -D vocab=256 -D accumulate=4 --threads 1 \
    --data "$work/D" --out "$work/three" --steps 1
contains "3 ranks" "power of two"
exit $fail
