#!/usr/bin/env bash
# tests/tools/test_llmsweep.sh LLMSWEEP LLMRUN LLMDATA (run from the source dir) — llmsweep
# end to end on a byte-level corpus:
#   run: a 2 x 2 grid of gpt2-tiny (dim x layers, 6 steps): four run.json files, done, whose
#     params, params_no_embed and flops_per_step equal a hand count of the model, tokens =
#     steps x tokens per step, flops = flops_per_step x steps, the losses those of
#     metrics.jsonl; summary.tsv with the four rows;
#   resume: the same command skips every run and changes no file; a run without run.json
#     resumes from its checkpoint, a deleted run trains again to the same losses;
#   sweep.json refuses another --steps; status prints the table;
#   failures: a run llmrun rejects (vocab below the data's) and one that does not lower
#     (dim not divisible by heads) are recorded as failed, the others finish, exit 1;
#   SIGINT: exit 130, the run's checkpoint, 'interrupted' in the summary, and the same
#     command resumes it from there; --jobs 2; --mpi 2 (when mpirun exists) gives the
#     1-rank training losses bit for bit;
#   fit: synthetic runs from known constants are recovered (within 2%; intervals around
#     noisy ones), --params non-embedding rescales A as it must, fewer than 5 points exit 1;
#   usage errors exit 2.
set -u
sweep=$1 llmrun=$2 llmdata=$3
fail=0
work=$(mktemp -d /tmp/llmc-sweep-XXXXXX)
trap 'rm -rf "$work"' EXIT
: "${LLMC_CACHE_DIR:=$(cd "$(dirname "$sweep")/.." && pwd)/kernel-cache}" # the build tree's, as other tests
export LLMC_CACHE_DIR
export OMPI_MCA_pml=${OMPI_MCA_pml:-ob1}
t_start=$SECONDS

bad() { echo "FAIL $*"; fail=1; }
expect() { # expect WANT_RC DESCRIPTION CMD... ; stdout+stderr in $out
    local want=$1 what=$2
    shift 2
    out=$("$@" 2>&1)
    local rc=$?
    if [ $rc -ne "$want" ]; then bad "$what: exit $rc, expected $want"; echo "$out" | tail -8; return 1; fi
    return 0
}
contains() { grep -qF -- "$2" <<<"$out" || { bad "$1: output lacks '$2'"; echo "$out" | tail -8; }; }
lacks() { ! grep -qF -- "$2" <<<"$out" || bad "$1: output has '$2'"; }
count_of() { grep -cF -- "$1" <<<"$out"; }
sums() { (cd "$1" && find . -name metrics.jsonl -o -name run.json | sort | xargs md5sum); }

# a corpus of short sentences, byte-level shards (as tests/run/lib.sh)
python3 "$(dirname "$0")/../corpus.py" "$work/corpus.txt"
"$llmdata" shard "$work/corpus.txt" --out "$work/D" >/dev/null || { echo "FAIL llmdata shard"; exit 1; }
D=$work/D M=models/gpt2-tiny.llm

# --- a 2 x 2 grid ----------------------------------------------------------------------
S=$work/S
grid=("$sweep" run "$M" --data "$D" --out "$S" --llmrun "$llmrun" -D vocab=256 --grid dim=32,64 --grid layers=1,2 --steps 6
      --eval-every 3 --threads 2)
t0=$SECONDS
expect 0 "grid" "${grid[@]}" && {
    contains "grid" "[1/4] dim=32,layers=1: training ... done in"
    contains "grid" "[4/4] dim=64,layers=2: training ... done in"
    contains "grid" "val loss"
}
echo "grid of 4 runs: $((SECONDS - t0)) s"
# run.json against a hand count of gpt2-tiny (vocab V = 256, context C = 64, seq 32,
# batch 2 x accumulate 2 = 128 tokens per step, tied head): params = (V + C) d +
# L (12 d^2 + 13 d) + 2 d, of which (V + C) d are the two tables; the useful FLOPs of a
# step = tokens x (6 (12 L d^2 + d V) + 12 L seq d): every matmul forward and backward,
# attention's QK^T and PV counted whole.
python3 - "$S" <<'PY' || fail=1
import json, math, os, sys
S = sys.argv[1]
bad = False
def check(cond, what):
    global bad
    if not cond: print("FAIL", what); bad = True
V, C, seq, T = 256, 64, 32, 128
runs = sorted(os.listdir(S + "/runs"))
check(runs == ["dim=32,layers=1", "dim=32,layers=2", "dim=64,layers=1", "dim=64,layers=2"], f"run directories {runs}")
for name in runs:
    d = S + "/runs/" + name
    r = json.load(open(d + "/run.json"))
    dim, L = (int(kv.split("=")[1]) for kv in name.split(","))
    check(r["name"] == name and r["status"] == "done", f"{name}: name/status {r['name']} {r['status']}")
    check(r["overrides"] == {"dim": str(dim), "layers": str(L)}, f"{name}: overrides {r['overrides']}")
    check(r["defines"] == {"vocab": "256", "dim": str(dim), "layers": str(L)}, f"{name}: defines {r['defines']}")
    params = (V + C) * dim + L * (12 * dim * dim + 13 * dim) + 2 * dim
    check(r["params"] == params, f"{name}: params {r['params']}, hand count {params}")
    check(r["params_no_embed"] == params - (V + C) * dim, f"{name}: params_no_embed {r['params_no_embed']}")
    fps = T * (6 * (12 * L * dim * dim + dim * V) + 12 * L * seq * dim)
    check(r["flops_per_step"] == fps, f"{name}: flops_per_step {r['flops_per_step']}, hand count {fps}")
    check(r["steps"] == 6 and r["tokens_per_step"] == T and r["tokens"] == 6 * T, f"{name}: steps/tokens {r['steps']} {r['tokens']}")
    check(r["flops"] == r["flops_per_step"] * r["steps"], f"{name}: flops {r['flops']}")
    m = [json.loads(l) for l in open(d + "/metrics.jsonl")]
    vals = [x["val_loss"] for x in m if "val_loss" in x]
    check([x["step"] for x in m] == list(range(1, 7)) and len(vals) == 2, f"{name}: metrics steps / evaluations")
    check(r["final_loss"] == m[-1]["loss"] and r["final_val_loss"] == m[-1]["val_loss"], f"{name}: final losses")
    check(r["best_val_loss"] == min(vals), f"{name}: best_val_loss {r['best_val_loss']}")
    check(all(math.isfinite(r[k]) and r[k] > 0 for k in ("final_loss", "final_val_loss", "wall_s")), f"{name}: finite")
    check(r["resumed"] is False, f"{name}: resumed")
sw = json.load(open(S + "/sweep.json"))
check([g["name"] for g in sw["grid"]] == ["dim", "layers"] and sw["steps"] == 6 and sw["defines"] == {"vocab": "256"},
      "sweep.json: grid, steps, defines")
check([r["name"] for r in sw["runs"]] == runs, "sweep.json: the runs in grid order")
sys.exit(1 if bad else 0)
PY
# summary.tsv: a header and 4 rows; positive params, tokens, FLOPs; finite losses; params
# grow with dim at each depth
awk -F'\t' 'NR == 1 { if ($0 != "name\tparams\tparams_no_embed\ttokens\tflops\tfinal_loss\tfinal_val_loss\tbest_val_loss\twall_s\tstatus") { print "FAIL summary.tsv header: " $0; bad = 1 }; next }
            { rows++; if (!($2 > 0 && $3 > 0 && $4 > 0 && $5 > 0 && $6 > 0 && $7 > 0 && $8 > 0 && $10 == "done")) { print "FAIL summary.tsv row: " $0; bad = 1 }
              p[$1] = $2 }
            END { if (rows != 4) { print "FAIL summary.tsv: " rows " rows"; bad = 1 }
                  if (!(p["dim=32,layers=1"] < p["dim=64,layers=1"] && p["dim=32,layers=2"] < p["dim=64,layers=2"] &&
                        p["dim=32,layers=1"] < p["dim=32,layers=2"])) { print "FAIL summary.tsv: params not monotone"; bad = 1 }
                  exit bad }' "$S/summary.tsv" || fail=1
[ "$(grep -c 'dim=' <<<"$out")" -ge 8 ] || bad "grid: the summary table is not printed"

# --- resume ------------------------------------------------------------------------------
sums "$S" >"$work/sums.before"
t0=$SECONDS
expect 0 "the same sweep again" "${grid[@]}" && {
    [ "$(count_of "(finished)")" -eq 4 ] || bad "again: $(count_of "(finished)") runs skipped, expected 4"
    contains "again" "[2/4] skipped: dim=32,layers=2 (finished)"
    lacks "again" "training ..."
}
[ $((SECONDS - t0)) -le 10 ] || bad "again: skipping 4 finished runs took $((SECONDS - t0)) s"
sums "$S" | cmp -s - "$work/sums.before" || bad "again: a run's metrics.jsonl or run.json changed"

val_before=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['final_val_loss'])" "$S/runs/dim=64,layers=1/run.json")
rm "$S/runs/dim=32,layers=2/run.json"  # interrupted after its last checkpoint: resumes
rm -r "$S/runs/dim=64,layers=1"        # gone: trains again
expect 0 "after deleting a run.json and a run" "${grid[@]}" && {
    contains "rerun" "[2/4] dim=32,layers=2: resuming from ckpt-00000006 ... done"
    contains "rerun" "[3/4] dim=64,layers=1: training ... done"
    [ "$(count_of "(finished)")" -eq 2 ] || bad "rerun: $(count_of "(finished)") runs skipped, expected 2"
}
keep='dim=64,layers=1|dim=32,layers=2/run.json' # the retrained run, the resumed run's new record
sums "$S" | grep -vE "$keep" | cmp -s - <(grep -vE "$keep" "$work/sums.before") ||
    bad "rerun: the resumed run's metrics or another run's record changed"
python3 - "$S" "$val_before" <<'PY' || fail=1
import json, sys
S, before = sys.argv[1], float(sys.argv[2])
a = json.load(open(S + "/runs/dim=32,layers=2/run.json"))
b = json.load(open(S + "/runs/dim=64,layers=1/run.json"))
ok = a["status"] == "done" and a["resumed"] is True and b["status"] == "done" and b["resumed"] is False
ok = ok and b["final_val_loss"] == before and sum(1 for _ in open(S + "/runs/dim=64,layers=1/metrics.jsonl")) == 6
if not ok: print(f"FAIL rerun: records {a['status']} {a['resumed']} {b['status']} {b['resumed']} {b['final_val_loss']} vs {before}")
sys.exit(0 if ok else 1)
PY

# another --steps into the same directory: refused, nothing run
expect 1 "another --steps" "$sweep" run "$M" --data "$D" --out "$S" -D vocab=256 --grid dim=32,64 --steps 7 &&
    contains "another --steps" "--steps: 6 in sweep.json, 7 in this command"
expect 0 "status" "$sweep" status "$S" && {
    contains "status" "4 runs, 4 done"
    [ "$(grep -cE '^dim=(32|64),layers=[12] .* done$' <<<"$out")" -eq 4 ] || bad "status: not 4 done rows"
}

# --- failures ------------------------------------------------------------------------------
F=$work/F
expect 1 "failing runs" "$sweep" run "$M" --data "$D" --out "$F" -D vocab=256 --steps 2 \
    --runs 'dim=32;dim=32,vocab=100;dim=30' && {
    contains "failing runs" "[2/3] dim=32,vocab=100: training ... failed (llmrun exited with status 1)"
    contains "failing runs" "shard vocab 256 > model vocab 100"
    contains "failing runs" "[3/3] dim=30: failed: the model does not lower"
    contains "failing runs" "dim 30 is not divisible by heads"
}
python3 - "$F" <<'PY' || fail=1
import json, sys
F = sys.argv[1]
r = {n: json.load(open(f"{F}/runs/{n}/run.json")) for n in ("dim=32", "dim=32,vocab=100", "dim=30")}
ok = r["dim=32"]["status"] == "done"
ok = ok and r["dim=32,vocab=100"]["status"] == "failed" and r["dim=32,vocab=100"]["exit_code"] == 1
ok = ok and r["dim=32,vocab=100"]["log"] == f"{F}/runs/dim=32,vocab=100/log.txt" and r["dim=30"]["status"] == "failed"
ok = ok and r["dim=30"]["params"] is None and "does not lower" in r["dim=30"]["error"]
rows = [l.split("\t")[-1].strip() for l in open(F + "/summary.tsv")][1:]
ok = ok and rows == ["done", "failed", "failed"]
if not ok: print("FAIL failing runs: records", {n: (x["status"], x.get("exit_code")) for n, x in r.items()}, rows)
sys.exit(0 if ok else 1)
PY

# --- SIGINT: the running run saves its checkpoint; the same command resumes it -----------
I=$work/I
icmd=("$sweep" run "$M" --data "$D" --out "$I" -D vocab=256 -D dim=32 -D layers=1 -D batch=8 -D seq=64
      --runs 'lr=0.001' --steps 300 --threads 1)
"${icmd[@]}" >"$work/i.log" 2>&1 &
pid=$!
mf=$I/runs/lr=0.001/metrics.jsonl
for _ in $(seq 600); do [ -f "$mf" ] && [ "$(wc -l <"$mf")" -ge 3 ] && break; sleep 0.05; done
kill -INT $pid
wait $pid
rc=$?
if [ $rc -eq 0 ]; then
    echo "note: the run finished before SIGINT reached it; the interruption is not checked"
elif [ $rc -ne 130 ]; then
    bad "SIGINT: exit $rc, expected 130"; tail -5 "$work/i.log"
else
    k=$(sed -nE 's/^ckpt-0*([0-9]+)$/\1/p' "$I/runs/lr=0.001/latest" 2>/dev/null)
    [ -n "$k" ] || bad "SIGINT: no checkpoint"
    [ ! -e "$I/runs/lr=0.001/run.json" ] || bad "SIGINT: an interrupted run has a run.json"
    grep -q 'interrupted at step' "$work/i.log" || bad "SIGINT: no 'interrupted at step' line"
    [ "$(tail -1 "$I/summary.tsv" | cut -f10)" = interrupted ] || bad "SIGINT: summary.tsv: $(tail -1 "$I/summary.tsv")"
    expect 0 "status of the interrupted sweep" "$sweep" status "$I" && contains "status" "1 incomplete"
    expect 0 "SIGINT: resume" "${icmd[@]}" && contains "SIGINT: resume" "[1/1] lr=0.001: resuming from ckpt-$(printf %08d "$k") ... done"
    n=$(wc -l <"$I/runs/lr=0.001/metrics.jsonl")
    [ "$n" -eq 300 ] || bad "SIGINT: metrics.jsonl has $n lines after the resume"
fi

# --- --jobs 2, and --mpi 2 against one rank ---------------------------------------------------
J=$work/J
expect 0 "--jobs 2" "$sweep" run "$M" --data "$D" --out "$J" -D vocab=256 -D dim=32 --grid lr=0.001,0.002 --steps 4 \
    --jobs 2 --threads 2 && {
    grep -q -- '--threads 1 ' "$J/runs/lr=0.001/log.txt" || bad "--jobs 2: each run should get --threads 1"
    [ "$(count_of ": done in")" -eq 2 ] || bad "--jobs 2: not 2 runs done"
}
if command -v mpirun >/dev/null; then
    P=$work/P
    expect 0 "--mpi 2" "$sweep" run "$M" --data "$D" --out "$P" -D vocab=256 -D dim=32 --grid lr=0.001 --steps 4 --mpi 2 && {
        grep -q -- 'mpirun .*-np 2 .*--shard full' "$P/runs/lr=0.001/log.txt" || bad "--mpi 2: no mpirun -np 2 ... --shard full"
        # training losses bit for bit; the validation loss under --shard full differs from
        # one rank's in the last bits of a float (llmrun's, not the sweep's: --shard none
        # on 2 ranks matches), so it is compared to 1e-6
        python3 - "$J/runs/lr=0.001/metrics.jsonl" "$P/runs/lr=0.001/metrics.jsonl" <<'PY' || fail=1
import json, sys
a, b = ([json.loads(l) for l in open(p)] for p in sys.argv[1:])
ok = [m["loss"] for m in a] == [m["loss"] for m in b] and len(a) == len(b) == 4
ok = ok and abs(a[-1]["val_loss"] / b[-1]["val_loss"] - 1) <= 1e-6
if not ok: print("FAIL --mpi 2: losses differ from one rank's:", a, b); sys.exit(1)
PY
    }
else
    echo "note: no mpirun; --mpi not checked"
fi

# --- fit ---------------------------------------------------------------------------------------
# 20 synthetic runs from L = E + A/N^alpha + B/D^beta (params_no_embed = N/2), as run.json
synthetic() { # synthetic DIR NOISE COUNT
    mkdir -p "$1/runs"
    awk -v dir="$1" -v noise="$2" -v count="$3" 'BEGIN {
        E = 1.8; A = 400; B = 2000; a = 0.34; b = 0.37; k = 0
        split("1e5 3e5 1e6 3e6 1e7", Ns, " "); split("1e7 3e7 1e8 1e9", Ds, " ")
        for (i = 1; i <= 5; i++) for (j = 1; j <= 4; j++) {
            if (k >= count) exit
            N = Ns[i] + 0; D = Ds[j] + 0
            L = (E + A / N^a + B / D^b) * (1 + noise * sin(7 * k + 1))
            d = sprintf("%s/runs/r%02d", dir, k++); system("mkdir -p " d)
            printf "{\"name\": \"N=%g,D=%g\", \"status\": \"done\", \"params\": %d, \"params_no_embed\": %d, \"tokens\": %d, \"final_val_loss\": %.17g, \"best_val_loss\": %.17g, \"final_loss\": %.17g}\n", N, D, N, N / 2, D, L, L, L > (d "/run.json")
        } }'
}
near() { # near DESCRIPTION FILE.json KEY WANT REL: |got/want - 1| <= REL
    python3 -c "
import json, sys
f, k, want, rel = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
got = json.load(open(f))[k]
sys.exit(0 if abs(got / want - 1) <= rel else (print(f'FAIL $1: {k} = {got}, want {want} within {rel:.0%}') or 1))" "$2" "$3" "$4" "$5" || fail=1
}
synthetic "$work/fit" 0 20
expect 0 "fit" "$sweep" fit "$work/fit" && {
    contains "fit" "20 points: N = params, D = tokens, L = final_val_loss"
    contains "fit" "wrote $work/fit/fit.json"
    contains "fit" "compute-optimal under C = 6 N D"
    grep -qE '^  alpha = 0\.34' <<<"$out" || bad "fit: the printed alpha"
    [ "$(grep -cE '^  N=[0-9e+.]+,D=[0-9e+.]+ ' <<<"$out")" -eq 20 ] || bad "fit: not 20 point rows"
}
for kv in E=1.8 A=400 B=2000 alpha=0.34 beta=0.37; do near "fit" "$work/fit/fit.json" "${kv%=*}" "${kv#*=}" 0.02; done
# non-embedding N = N/2: A/N^alpha = (A 2^-alpha) / (N/2)^alpha
expect 0 "fit --params non-embedding" "$sweep" fit "$work/fit" --params non-embedding --bootstrap 0 --out "$work/ne.json"
near "fit --params non-embedding" "$work/ne.json" A "$(awk 'BEGIN { print 400 * 2^-0.34 }')" 0.02
near "fit --params non-embedding" "$work/ne.json" alpha 0.34 0.02
# 0.2% noise: near the truth, each estimate inside its bootstrap interval
synthetic "$work/noisy" 0.002 20
expect 0 "fit of noisy runs" "$sweep" fit "$work/noisy"/runs/* --out "$work/noisy.json"
python3 - "$work/noisy.json" <<'PY' || fail=1
import json, sys
f = json.load(open(sys.argv[1]))
truth = {"E": 1.8, "A": 400, "B": 2000, "alpha": 0.34, "beta": 0.37}
bad = [k for k, t in truth.items() if not (abs(f[k] / t - 1) <= 0.1 and f["lo"][k] <= f[k] <= f["hi"][k] and f["lo"][k] < f["hi"][k])]
if bad or f["points"] != 20 or f["bootstrap"] < 190: print("FAIL fit of noisy runs:", bad, f); sys.exit(1)
PY
synthetic "$work/few" 0 4
expect 1 "fit of 4 runs" "$sweep" fit "$work/few" && contains "fit of 4 runs" "needs at least 5"
expect 1 "fit of the 4-run grid" "$sweep" fit "$S" && contains "fit of the 4-run grid" "4 usable points"

# --- usage ------------------------------------------------------------------------------------
expect 2 "no command" "$sweep"
expect 2 "unknown command" "$sweep" bogus
expect 2 "run without --out" "$sweep" run "$M" --data "$D"
expect 2 "a bad --grid" "$sweep" run "$M" --data "$D" --out "$work/u" --grid dim
expect 2 "--grid and --runs" "$sweep" run "$M" --data "$D" --out "$work/u" --grid dim=32 --runs dim=64
expect 2 "--jobs 0" "$sweep" run "$M" --data "$D" --out "$work/u" --jobs 0
expect 2 "fit --loss" "$sweep" fit "$work/fit" --loss nope
expect 2 "status without a directory" "$sweep" status
for c in "" run status fit; do expect 0 "$c --help" "$sweep" $c --help; done
expect 1 "a missing data directory" "$sweep" run "$M" --data "$work/none" --out "$work/u"

echo "test_llmsweep: $((SECONDS - t_start)) s"
[ $fail -eq 0 ] && echo "ok   llmsweep"
exit $fail
