/* tests/comm/test_comm_timeout.c — a peer that never joins: run under mpirun with 2+
 * ranks; rank 0 enters a collective (argv[1]: all_gather, all_reduce or barrier, or
 * graph: an IR all_gather in layers.7's scope run by the executor) with a 1 s timeout
 * while the other ranks sleep. Rank 0 must print the comm-timeout message — for the
 * graph, naming the IR node, its layer and the graph — and end the job
 * (test_comm_timeout.sh checks the exit status, time and message). */
#include "compiler.h"
#include "runtime.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    const char *op = argc > 1 ? argv[1] : "all_gather";
    LlmcErr err = {0};
    RtComm *c = rt_comm_world(&err);
    if (!c) {
        fprintf(stderr, "rt_comm_world: %s\n", err.msg);
        return 2;
    }
    if (rt_comm_size(c) < 2) {
        fprintf(stderr, "test_comm_timeout: needs 2 or more ranks (mpirun -np 2)\n");
        return 2;
    }
    rt_comm_set_timeout(c, 1.0);
    if (rt_comm_rank(c) != 0) {
        for (int i = 0; i < 120; i++) sleep(1); /* never joins; MPI_Abort kills us */
        return 0;
    }
    float x[4] = {1, 2, 3, 4}, y[64];
    if (strcmp(op, "graph") == 0) { /* through the executor: the message names the IR node */
        IrGraph *g = ir_graph_new("micro");
        IrBuilder b;
        ir_builder_init(&b, g);
        int64_t n = 4;
        IrId in = ir_build_input(&b, IR_ROLE_PARAM, "flat.layers.7", ir_type_make(IR_DTYPE_F32, 1, &n));
        ir_builder_set_scope(&b, "layers.7");
        ir_graph_add_output(g, "y", ir_build_all_gather(&b, in, 0, rt_comm_size(c)));
        CcJit *jit = cc_jit_new(&err);
        RtPool *pool = rt_pool_new(1, &err);
        RtExec *e = jit && pool ? rt_exec_new_world(jit, g, pool, c, &err) : NULL;
        if (!e) {
            fprintf(stderr, "test_comm_timeout: %s\n", err.msg);
            return 2;
        }
        void *ins[1] = {x}, *outs[1] = {y};
        rt_exec_run(e, ins, outs, &err);
    } else if (strcmp(op, "barrier") == 0) rt_comm_barrier(c);
    else if (strcmp(op, "all_reduce") == 0)
        rt_comm_run(c, RT_COMM_ALL_REDUCE, IR_DTYPE_F32, x, y, 4, "all_reduce %7 (test)");
    else rt_comm_run(c, RT_COMM_ALL_GATHER, IR_DTYPE_F32, x, y, 4, "all_gather %3 (test)");
    fprintf(stderr, "test_comm_timeout: the collective completed without its peer\n");
    return 0;
}
