#!/usr/bin/env bash
# tests/comm/test_comm_timeout.sh MPIRUN TEST_COMM_TIMEOUT — a rank that never joins a
# collective: rank 0 (timeout 1 s) must end the job within seconds, non-zero, with
# "llmrun: rank 0: collective ... (comm-timeout); aborting" on stderr.
set -u
mpirun=$1 bin=$2
err=$(mktemp)
trap 'rm -f "$err"' EXIT
fail=0
for op in all_gather all_reduce barrier graph; do
    t0=$(date +%s)
    timeout 60 "$mpirun" --allow-run-as-root --oversubscribe -np 2 "$bin" "$op" >/dev/null 2>"$err"
    rc=$?
    dt=$(($(date +%s) - t0))
    echo "$op: exit $rc after ${dt} s"
    if [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ]; then echo "FAIL $op: exit status $rc (want non-zero, no hang)"; fail=1; fi
    if [ "$dt" -gt 20 ]; then echo "FAIL $op: took ${dt} s"; fail=1; fi
    if ! grep -q "rank 0: collective" "$err" || ! grep -q "(comm-timeout); aborting" "$err"; then
        echo "FAIL $op: no timeout message; stderr was:"; cat "$err"; fail=1
    fi
    if [ "$op" = graph ] && ! grep -q "rank 0: collective all_gather %[0-9]* (layers.7) of @micro waited" "$err"; then
        echo "FAIL graph: the message does not name the IR node, its layer and graph"; fail=1
    fi
    grep "comm-timeout" "$err"
done
exit $fail
