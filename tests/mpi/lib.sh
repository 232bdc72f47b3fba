# tests/mpi/lib.sh — sourced by tests/mpi/test_mpi_*.sh LLMRUN LLMC LLMDATA: tests/run/lib.sh
# (tools, $work, the corpus in $work/D, helpers) plus `ranks N CMD...`, which runs CMD on
# N ranks: mpirun as root needs --allow-run-as-root, 4 ranks on 2 cores --oversubscribe;
# 1 rank runs without mpirun (the one-process path).
source "$(dirname "${BASH_SOURCE[0]}")/../run/lib.sh"
export OMPI_MCA_pml=${OMPI_MCA_pml:-ob1}
ranks() {
    local n=$1
    shift
    if [ "$n" = 1 ]; then "$@"; else
        mpirun --allow-run-as-root --oversubscribe --bind-to none -np "$n" "$@"
    fi
}
losses() { # losses RUN_DIR: step, loss, grad norm and validation loss of every metrics line
    python3 -c "
import json, sys
for l in open(sys.argv[1] + '/metrics.jsonl'):
    m = json.loads(l); print(m['step'], repr(m['loss']), repr(m['grad_norm']), repr(m.get('val_loss')))" "$1"
}
