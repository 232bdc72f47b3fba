#!/usr/bin/env bash
# Checkpoints are canonical (the same files whatever wrote them), so any world size
# resumes them: 4 ranks train 10 steps, 1 rank resumes for 10 more, and the result is
# bit-identical to 2 ranks training 20 steps without a stop — under each strategy.
# Also: per-rank memory under full, as the runtime counts its allocations.
source "$(dirname "$0")/lib.sh"
common=(-D vocab=256 -D accumulate=4 -D batch=2 -D seq=16 --threads 1 --data "$work/D")
# validation every 5 steps: under full it reads params gathered from every rank
for shard in none grad full; do
    expect 0 "$shard: 4 ranks, 10 steps" ranks 4 "$llmrun" models/gpt2-tiny.llm "${common[@]}" --shard $shard \
        --out "$work/a-$shard" --steps 10 --eval-every 5 --eval-batches 2
    expect 0 "$shard: 1 rank resumes to 20" "$llmrun" models/gpt2-tiny.llm "${common[@]}" --shard $shard \
        --resume "$work/a-$shard" --out "$work/a-$shard" --steps 20 --eval-every 5 --eval-batches 2
    contains "$shard: resume names the writer" "written by 4 ranks"
    expect 0 "$shard: 2 ranks, 20 steps" ranks 2 "$llmrun" models/gpt2-tiny.llm "${common[@]}" --shard $shard \
        --out "$work/b-$shard" --steps 20 --eval-every 5 --eval-batches 2
    same "$shard: 4 ranks + resume on 1 vs 2 ranks" "$work/a-$shard/ckpt-00000020/state.safetensors" \
        "$work/b-$shard/ckpt-00000020/state.safetensors"
    losses "$work/a-$shard" >"$work/a-$shard.losses"
    losses "$work/b-$shard" >"$work/b-$shard.losses"
    same "$shard: loss and validation curves" "$work/a-$shard.losses" "$work/b-$shard.losses"
    grep -qE "^20 [^ ]+ [^ ]+ [0-9]" "$work/b-$shard.losses" || bad "$shard: no validation loss at step 20"
done
# a checkpoint of one strategy resumes under another (same canonical tensors)
expect 0 "full checkpoint resumed under none" "$llmrun" models/gpt2-tiny.llm "${common[@]}" --shard none \
    --resume "$work/b-full" --out "$work/b-full" --steps 21

# per-rank memory under full: persistent state (params + grads + optimizer) per rank
expect 0 "memory, 1 rank" "$llmrun" models/gpt2-tiny.llm "${common[@]}" --shard full --out "$work/m1" --steps 1
m1=$out
expect 0 "memory, 2 ranks" ranks 2 "$llmrun" models/gpt2-tiny.llm "${common[@]}" --shard full --out "$work/m2" --steps 1
m2=$out
expect 0 "memory, 4 ranks" ranks 4 "$llmrun" models/gpt2-tiny.llm "${common[@]}" --shard full --out "$work/m4" --steps 1
m4=$out
python3 - "$m1" "$m2" "$m4" <<'PY' || bad "memory ratios under full"
import re, sys
def state(text):
    m = re.search(r"rank 0 memory: params ([\d.]+) MiB \| grads ([\d.]+) MiB \| optimizer ([\d.]+) MiB.*peak ([\d.]+) MiB", text)
    if not m: sys.exit("no memory line in:\n" + text[-500:])
    p, g, o, peak = map(float, m.groups())
    return p + g + o, peak
s1, p1 = state(sys.argv[1]); s2, p2 = state(sys.argv[2]); s4, p4 = state(sys.argv[3])
print("persistent state per rank: 1 rank %.3f MiB, 2 ranks %.3f (%.3fx), 4 ranks %.3f (%.3fx); peak %.3f / %.3f / %.3f MiB"
      % (s1, s2, s2 / s1, s4, s4 / s1, p1, p2, p4))
if s2 > 0.55 * s1: sys.exit("2 ranks: %.3f > 0.55 x %.3f" % (s2, s1))
if s4 > 0.30 * s1: sys.exit("4 ranks: %.3f > 0.30 x %.3f" % (s4, s1))
PY
exit $fail
