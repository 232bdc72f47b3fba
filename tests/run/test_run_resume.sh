#!/usr/bin/env bash
# tests/run/test_run_resume.sh LLMRUN LLMC LLMDATA — issue 6's exact resume, compared
# with `cmp` on ckpt-N/state.safetensors (params and optimizer state, bit for bit):
# 20 steps straight = 10 steps + --resume to 20, from the bundle; 10 steps from the .llm
# then resumed from the bundle; resumed with other --threads; a changed recipe value
# resumes with a warning naming it. SIGKILL between checkpoints (and a save killed
# mid-way, left as a .tmp- folder): the resume from the last checkpoint to a fixed
# step equals a straight run there. SIGINT: exit 130, a checkpoint at the step printed,
# and a resume that continues bit-exactly.
source "$(dirname "$0")/lib.sh"
m=$work/m.llmc
D=$work/D

run() { # run DESCRIPTION ARGS... : llmrun ARGS --data D, expecting exit 0
    local what=$1
    shift
    expect 0 "$what" "$llmrun" "$@" --data "$D"
}
state() { printf '%s/ckpt-%08d/state.safetensors' "$1" "$2"; }

# the references: straight runs (their checkpoints at 20 and 30 stay: --keep 0)
run "straight 30" "$m" --out "$work/S" --steps 30 --ckpt-every 10 --keep 0 --threads 2

# 10 + resume to 20, from the bundle
run "bundle 10" "$m" --out "$work/A" --steps 10
run "bundle resume 20" "$m" --out "$work/A" --resume "$work/A" --steps 20 &&
    contains "bundle resume 20" "llmrun: resumed from $work/A/ckpt-00000010 at step 10"
same "10 + resume = 20 straight" "$(state "$work/S" 20)" "$(state "$work/A" 20)"
python3 - "$work/A/metrics.jsonl" <<'PY' || fail=1
import json, sys
steps = [json.loads(l)["step"] for l in open(sys.argv[1])]
if steps != list(range(1, 21)): print(f"FAIL metrics.jsonl after a resume: steps {steps}"); sys.exit(1)
PY

# 10 from the .llm, resumed from the bundle (the same model hash either way)
run ".llm 10" models/gpt2-tiny.llm -D vocab=256 --out "$work/L" --steps 10
same ".llm 10 = bundle 10" "$(state "$work/A" 10)" "$(state "$work/L" 10)"
run ".llm 10 + bundle resume 20" "$m" --out "$work/L" --resume "$work/L" --steps 20
same ".llm 10 + bundle resume = 20 straight" "$(state "$work/S" 20)" "$(state "$work/L" 20)"

# the work split is not in the recipe: other thread counts resume bit-exactly
run "threads 1, 10" "$m" --out "$work/T" --steps 10 --threads 1
run "threads 3, resume 20" "$m" --out "$work/T" --resume "$work/T" --steps 20 --threads 3
same "--threads 1 then 3 = 20 straight on 2" "$(state "$work/S" 20)" "$(state "$work/T" 20)"

# a changed recipe value resumes, with a warning that names it
cp -r "$work/A" "$work/W"
run "resume with -D lr" "$m" --out "$work/W" --resume "$work/W" --steps 22 -D lr=0.002 &&
    contains "resume with -D lr" "no longer exactly reproducible" && contains "resume with -D lr" "lr: 0.001 -> 0.002"

# SIGKILL between checkpoints: resume from what is saved to a fixed step
K=$work/K
"$llmrun" "$m" --data "$D" --out "$K" --steps 1000 --ckpt-every 5 >"$work/k.log" 2>&1 &
pid=$!
for _ in $(seq 200); do [ -e "$K/latest" ] && break; sleep 0.05; done
kill -9 $pid
wait $pid 2>/dev/null
k=$(sed -nE 's/^ckpt-0*([0-9]+)$/\1/p' "$K/latest" 2>/dev/null)
if [ -z "$k" ]; then
    bad "SIGKILL: no checkpoint after 10 s"; tail -3 "$work/k.log"
else
    last=$(tail -1 "$K/metrics.jsonl" | sed -nE 's/^\{"step":([0-9]+),.*/\1/p')
    echo "SIGKILL: killed at step ${last:-?}, the latest checkpoint is step $k"
    # and a save killed mid-way: a half-written temporary folder that loading ignores
    mkdir "$K/.tmp-ckpt-99999999-1"
    head -c 1000 "$(state "$K" "$k")" >"$K/.tmp-ckpt-99999999-1/state.safetensors"
    to=$((k + 7))
    run "SIGKILL: resume to $to" "$m" --out "$K" --resume "$K" --steps $to
    run "SIGKILL: straight $to" "$m" --out "$work/K2" --steps $to
    same "SIGKILL: resume = straight at step $to" "$(state "$K" $to)" "$(state "$work/K2" $to)"
    [ ! -e "$K/.tmp-ckpt-99999999-1" ] || bad "SIGKILL: the next save left the killed save's .tmp- folder"
    n=$(wc -l <"$K/metrics.jsonl")
    [ "$n" -eq $to ] || bad "SIGKILL: metrics.jsonl has $n lines after the resume to $to"
fi

# SIGINT: a checkpoint at the step printed, exit 130, and the resume continues
I=$work/I
"$llmrun" "$m" --data "$D" --out "$I" --steps 1000 >"$work/i.log" 2>&1 &
pid=$!
for _ in $(seq 200); do [ "$(wc -l <"$I/metrics.jsonl" 2>/dev/null || echo 0)" -ge 3 ] && break; sleep 0.05; done
kill -INT $pid
wait $pid
rc=$?
[ $rc -eq 130 ] || bad "SIGINT: exit $rc, expected 130"
s=$(sed -nE 's/^llmrun: interrupted at step ([0-9]+): checkpoint saved in .*; resume with --resume .*/\1/p' "$work/i.log")
if [ -z "$s" ]; then
    bad "SIGINT: no 'interrupted at step N' line"; tail -3 "$work/i.log"
else
    echo "SIGINT: interrupted at step $s"
    latest_is "SIGINT" "$I" "$s"
    to=$((s + 5))
    run "SIGINT: resume to $to" "$m" --out "$I" --resume "$I" --steps $to &&
        contains "SIGINT: resume" "resumed from $I/ckpt-$(printf %08d "$s") at step $s"
    latest_is "SIGINT: resume" "$I" "$to"
    run "SIGINT: straight $to" "$m" --out "$work/I2" --steps $to
    same "SIGINT: resume = straight at step $to" "$(state "$I" $to)" "$(state "$work/I2" $to)"
fi

# SIGTERM: exit 143 after saving
"$llmrun" "$m" --data "$D" --out "$work/TT" --steps 1000 >"$work/t.log" 2>&1 &
pid=$!
for _ in $(seq 200); do [ -s "$work/TT/metrics.jsonl" ] && break; sleep 0.05; done
kill -TERM $pid
wait $pid
rc=$?
[ $rc -eq 143 ] || bad "SIGTERM: exit $rc, expected 143"
grep -qE '^llmrun: terminated at step [0-9]+: checkpoint saved' "$work/t.log" || bad "SIGTERM: no 'terminated at step N' line"
[ -e "$work/TT/latest" ] || bad "SIGTERM: no checkpoint"
exit $fail
