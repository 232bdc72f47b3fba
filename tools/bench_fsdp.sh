#!/usr/bin/env bash
# tools/bench_fsdp.sh [TOOLS_DIR] — a benchmark, not a test: llmrun on 1 rank x T threads
# against N ranks x 1 thread under each --shard strategy, on the same global batch, in one
# run on this machine. It builds nothing: the tools come from TOOLS_DIR (default
# build/release/tools) or $LLMRUN / $LLMDATA. It makes a ~200 KB synthetic corpus, trains
# models/fortune.llm byte-level (-D vocab=256, accumulate 4, batch 2, seq 128: 1024
# tokens per step) for BENCH_STEPS steps (default 12) per configuration, and prints one
# table:
#   - tokens/s, the median over the steps after the first two (from metrics.jsonl:
#     tokens and elapsed_s between consecutive steps), and rank 0's peak memory;
#   - the bytes rank 0 sends per step (comm_bytes_rank0) against the formula below;
#   - the seconds rank 0 waits in collectives per step (comm_wait_s_rank0), and under
#     full the share of it that prefetch hides: 1 - wait(prefetch) / wait(--no-prefetch).
# Byte model, P = parameter bytes (from the checkpoint), N ranks, R = accumulate / N
# rounds per step (each rank runs one micro-batch per round; gradients are reduced once
# per round, ring collectives send (N-1)/N of their buffer per rank):
#   none  R x 2P(N-1)/N            all-reduce of the gradients
#   grad  R x  P(N-1)/N + P(N-1)/N reduce-scatter of the gradients; all-gather after update
#   full  R x 3P(N-1)/N            all-gather forward and backward, reduce-scatter
# Environment: BENCH_RANKS (default 2), BENCH_THREADS (threads of the 1-rank runs,
# default BENCH_RANKS), BENCH_STEPS (12), BENCH_ACCUMULATE (4; a multiple of BENCH_RANKS).
# Takes about a minute on 2 cores once the kernels are in the object cache.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=${1:-build/release/tools}
LLMRUN=${LLMRUN:-$TOOLS/llmrun}
LLMDATA=${LLMDATA:-$TOOLS/llmdata}
NR=${BENCH_RANKS:-2}
NT=${BENCH_THREADS:-$NR}
STEPS=${BENCH_STEPS:-12}
ACC=${BENCH_ACCUMULATE:-4}
for t in "$LLMRUN" "$LLMDATA"; do
    [ -x "$t" ] || { echo "bench_fsdp: no $t (build first, or pass TOOLS_DIR)" >&2; exit 2; }
done
command -v mpirun >/dev/null || { echo "bench_fsdp: no mpirun (tools/install-deps.sh)" >&2; exit 2; }
[ "$STEPS" -ge 4 ] || { echo "bench_fsdp: BENCH_STEPS must be at least 4" >&2; exit 2; }

work=$(mktemp -d /tmp/llmc-bench-fsdp-XXXXXX)
trap 'rm -rf "$work"' EXIT
export OMPI_MCA_pml=${OMPI_MCA_pml:-ob1} # fast start-up on one machine
mpi=(mpirun -np "$NR" --oversubscribe)
[ "$(id -u)" = 0 ] && mpi+=(--allow-run-as-root)
[ "$NR" -gt "$(nproc)" ] && mpi+=(--bind-to none)

python3 tests/corpus.py "$work/corpus.txt" 200000
"$LLMDATA" shard "$work/corpus.txt" --out "$work/D" >/dev/null

model=(models/fortune.llm -D vocab=256 -D batch=2 -D seq=128 -D accumulate="$ACC")
run() { # run NAME RANKS THREADS ARGS...: one training run into $work/NAME, log in NAME.log
    local name=$1 n=$2 t=$3
    shift 3
    local cmd=("$LLMRUN" "${model[@]}" --data "$work/D" --out "$work/$name" --steps "$STEPS"
               --threads "$t" "$@")
    [ "$n" -gt 1 ] && cmd=("${mpi[@]}" "${cmd[@]}")
    printf '  %-22s' "$name" >&2
    local t0=$SECONDS
    if ! "${cmd[@]}" >"$work/$name.log" 2>&1; then
        echo "failed:" >&2; tail -5 "$work/$name.log" >&2; exit 1
    fi
    echo "$((SECONDS - t0)) s" >&2
}

lscpu | grep -m1 'Model name' || true
echo "cores: $(nproc); fortune.llm -D vocab=256 batch=2 seq=128 accumulate=$ACC" \
     "($((2 * 128 * ACC)) tokens per step), $STEPS steps per run"
echo "runs:" >&2
for s in none grad full; do
    run "1x${NT}-$s" 1 "$NT" --shard "$s"
    run "${NR}x1-$s" "$NR" 1 --shard "$s"
done
run "${NR}x1-full-noprefetch" "$NR" 1 --shard full --no-prefetch

python3 - "$work" "$NR" "$NT" "$ACC" <<'PY'
import json, re, statistics, struct, sys
work, nr, nt, acc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])

def metrics(name):
    return [json.loads(l) for l in open(f"{work}/{name}/metrics.jsonl")]

def rate(ms):  # median tokens/s of single steps, skipping the first two
    r = [(b["tokens"] - a["tokens"]) / (b["elapsed_s"] - a["elapsed_s"])
         for a, b in zip(ms, ms[1:]) if b["step"] > 2]
    return statistics.median(r)

def med(ms, key):
    return statistics.median(m[key] for m in ms if m["step"] > 2)

def peak(name):
    m = re.search(r"rank 0 memory: .*peak ([0-9.]+) MiB", open(f"{work}/{name}.log").read())
    return float(m.group(1)) if m else float("nan")

# P: the parameter bytes in the 1-rank checkpoint (the tensors AdamW keeps opt.m.NAME of)
ck = f"{work}/1x{nt}-none"
ck += "/" + open(ck + "/latest").read().strip() + "/state.safetensors"
with open(ck, "rb") as f:
    hdr = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
P = sum(v["data_offsets"][1] - v["data_offsets"][0]
        for k, v in hdr.items() if "opt.m." + k in hdr)
R, share = acc // nr, (nr - 1) / nr
model = {"none": R * 2 * P * share, "grad": R * P * share + P * share,
         "full": R * 3 * P * share}
formula = {"none": f"{R} x 2P(N-1)/N", "grad": f"{R} x P(N-1)/N + P(N-1)/N",
           "full": f"{R} x 3P(N-1)/N"}

print(f"P = {P} parameter bytes ({P / 4:.0f} f32), N = {nr}, {R} rounds per step")
print()
print(f"| strategy | 1x{nt} tok/s | {nr}x1 tok/s | {nr}x1 / 1x{nt} | peak MiB/rank 1x{nt} -> {nr}x1"
      f" | MB sent/step (rank 0) | model | formula | wait s/step |")
print("|---|---:|---:|---:|---|---:|---:|---|---:|")
for s in ("none", "grad", "full"):
    one, many = metrics(f"1x{nt}-{s}"), metrics(f"{nr}x1-{s}")
    r1, rn = rate(one), rate(many)
    sent = med(many, "comm_bytes_rank0")
    print(f"| {s} | {r1:.0f} | {rn:.0f} | {rn / r1:.2f} | {peak(f'1x{nt}-{s}'):.1f} -> "
          f"{peak(f'{nr}x1-{s}'):.1f} | {sent / 1e6:.3f} | {model[s] / 1e6:.3f} | {formula[s]} | "
          f"{med(many, 'comm_wait_s_rank0'):.3f} |")
pf, npf = metrics(f"{nr}x1-full"), metrics(f"{nr}x1-full-noprefetch")
wp, wn = med(pf, "comm_wait_s_rank0"), med(npf, "comm_wait_s_rank0")
print()
print(f"full, {nr}x1: prefetch {rate(pf):.0f} tok/s, wait {wp:.3f} s/step; "
      f"--no-prefetch {rate(npf):.0f} tok/s, wait {wn:.3f} s/step; "
      f"hidden by prefetch: {1 - wp / wn:.0%}" if wn > 0 else
      f"full, {nr}x1: --no-prefetch waited 0 s: nothing to hide")
PY
