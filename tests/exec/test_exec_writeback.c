/* tests/exec/test_exec_writeback.c — the executor's buffers on small hand-built graphs
 * (runtime/exec.c): outputs written back over the input of the same name (NULL output
 * buffer), directly where that is safe and through a scratch copy where it is not, with
 * the values the graph defines either way:
 *   - SGD-like p = p - 0.1 g and step = step + 1: written straight over p and step;
 *   - p = 2 p while a later kernel still reads p (s = sum(p)): copied, s from the old p;
 *   - a swap-like pair a' = a + b, b' = a - b: each reads the other's input; one kernel
 *     function loads both before it stores either, so both go straight over their
 *     inputs, and both see the old values;
 *   - step' = step + 1 and p' = p * step in one horizontal kernel, step's segment first:
 *     p sees the old step (step through scratch, p direct);
 *   - an output that is an input itself (also "seed" -> "seed", with and without a buffer
 *     of its own), and an output named twice;
 *   - an output named like an input of another type is never written back;
 *   - a NULL buffer for an output with no input of its name is an error;
 *   - a collective over 1 rank is a copy; over 2 ranks the build is refused.
 * Every case on 1 and 3 threads.
 */
#include <math.h>
#include <string.h>

#include "compiler.h"
#include "runtime.h"
#include "test.h"

enum { N = 1000 };

static CcJit *jit;
static RtPool *pools[2];

static IrType vec(void) { return ir_type_make(IR_DTYPE_F32, 1, (int64_t[]){N}); }

static RtExec *build(const IrGraph *g, RtPool *pool) {
    LlmcErr err = {0};
    RtExec *e = rt_exec_new(jit, g, pool, &err);
    if (!e) fprintf(stderr, "rt_exec_new @%s: %s\n", ir_graph_name(g), err.msg);
    return e;
}

static void fill(float *x, float base) {
    for (int i = 0; i < N; i++) x[i] = base + (float)i * 0.25f;
}

static void sgd_case(RtPool *pool) {
    IrGraph *g = ir_graph_new("sgd");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrId p = ir_build_input(&b, IR_ROLE_PARAM, "p", vec());
    IrId gr = ir_build_input(&b, IR_ROLE_DATA, "g", vec());
    IrId st = ir_build_input(&b, IR_ROLE_STATE, "step", ir_type_scalar(IR_DTYPE_I32));
    IrId lr = ir_build_broadcast_to(&b, ir_build_scalar(&b, IR_DTYPE_F32, 0.1), 1, (int64_t[]){N});
    ir_graph_add_output(g, "p", ir_build_binary(&b, IR_OP_SUB, p, ir_build_binary(&b, IR_OP_MUL, gr, lr)));
    ir_graph_add_output(g, "step", ir_build_binary(&b, IR_OP_ADD, st, ir_build_scalar(&b, IR_DTYPE_I32, 1)));
    CHECK(ir_builder_ok(&b));
    RtExec *e = build(g, pool);
    CHECK(e != NULL);
    if (e) {
        float pv[N], gv[N], want[N];
        int32_t step = 41;
        fill(pv, 1), fill(gv, -3);
        for (int i = 0; i < N; i++) want[i] = pv[i] - gv[i] * 0.1f;
        void *in[3] = {pv, gv, &step}, *out[2] = {NULL, NULL};
        LlmcErr err = {0};
        CHECK(rt_exec_run(e, in, out, &err));
        CHECK(memcmp(pv, want, sizeof pv) == 0);
        CHECK(step == 42);
        RtExecStats s = rt_exec_stats(e);
        CHECK(s.writeback_direct == 2 && s.writeback_copied == 0);
        /* the same graph into fresh buffers leaves the inputs alone */
        float pout[N];
        int32_t sout = 0;
        void *out2[2] = {pout, &sout};
        for (int i = 0; i < N; i++) want[i] = pv[i] - gv[i] * 0.1f;
        float before[N];
        memcpy(before, pv, sizeof pv);
        CHECK(rt_exec_run(e, in, out2, &err));
        CHECK(memcmp(pout, want, sizeof pout) == 0 && memcmp(pv, before, sizeof pv) == 0 && sout == 43);
        rt_exec_free(e);
    }
    ir_graph_free(g);
}

static void later_reader_case(RtPool *pool) {
    IrGraph *g = ir_graph_new("later");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrId p = ir_build_input(&b, IR_ROLE_PARAM, "p", vec());
    IrId two = ir_build_broadcast_to(&b, ir_build_scalar(&b, IR_DTYPE_F32, 2), 1, (int64_t[]){N});
    ir_graph_add_output(g, "p", ir_build_binary(&b, IR_OP_MUL, p, two));
    ir_graph_add_output(g, "s", ir_build_reduce(&b, IR_OP_REDUCE_SUM, p, 0, false));
    ir_graph_add_output(g, "p_again", p);  /* an input as an output: the old value */
    CHECK(ir_builder_ok(&b));
    RtExec *e = build(g, pool);
    CHECK(e != NULL);
    if (e) {
        float pv[N], old[N], again[N], s = 0;
        fill(pv, 0.5f);
        memcpy(old, pv, sizeof pv);
        float sum = 0;
        for (int i = 0; i < N; i++) sum += old[i]; /* left to right in f32, as the kernel */
        void *in[1] = {pv}, *out[3] = {NULL, &s, again};
        LlmcErr err = {0};
        CHECK(rt_exec_run(e, in, out, &err));
        for (int i = 0; i < N; i++) CHECK(pv[i] == old[i] * 2 && again[i] == old[i]);
        CHECK(s == sum);
        RtExecStats st = rt_exec_stats(e);
        CHECK(st.writeback_direct == 0 && st.writeback_copied == 1);
        float dummy = 0;
        void *bad[3] = {NULL, NULL, &dummy}; /* "s" has no input to write back to */
        CHECK(!rt_exec_run(e, in, bad, &err) && strstr(err.msg, "'s'") != NULL);
        rt_exec_free(e);
    }
    ir_graph_free(g);
}

static void swap_case(RtPool *pool) {
    IrGraph *g = ir_graph_new("swap");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrId a = ir_build_input(&b, IR_ROLE_STATE, "a", vec());
    IrId c = ir_build_input(&b, IR_ROLE_STATE, "b", vec());
    IrId sum = ir_build_binary(&b, IR_OP_ADD, a, c);
    ir_graph_add_output(g, "a", sum);
    ir_graph_add_output(g, "b", ir_build_binary(&b, IR_OP_SUB, a, c));
    ir_graph_add_output(g, "sum_again", sum); /* one node, two outputs */
    CHECK(ir_builder_ok(&b));
    RtExec *e = build(g, pool);
    CHECK(e != NULL);
    if (e) {
        float av[N], bv[N], oa[N], ob[N], again[N];
        fill(av, 3), fill(bv, -7);
        memcpy(oa, av, sizeof av), memcpy(ob, bv, sizeof bv);
        void *in[2] = {av, bv}, *out[3] = {NULL, NULL, again};
        LlmcErr err = {0};
        CHECK(rt_exec_run(e, in, out, &err));
        for (int i = 0; i < N; i++) CHECK(av[i] == oa[i] + ob[i] && bv[i] == oa[i] - ob[i] && again[i] == av[i]);
        RtExecStats st = rt_exec_stats(e);
        /* one function computes both a + b and a - b per element, loads before stores:
         * both go straight over their inputs */
        CHECK(st.writeback_direct == 2 && st.writeback_copied == 0);
        rt_exec_free(e);
    }
    ir_graph_free(g);
}

/* "seed" passed through (an output that is its own input): a buffer of its own gets the
 * value, NULL leaves the input as it is. An output named like an input but of another
 * type is never written back: NULL for it is an error, not an overflow. */
/* step' = step + 1 and p' = p * step, both written back, in one horizontally fused kernel
 * (fuse.c rule 6) whose first segment is step's: p's segment, after it, must still read
 * the step the kernel was called with. step is read through a broadcast, so it is
 * written back through scratch (runtime/exec.c), and rank-0 inputs are loaded before
 * any segment stores anyway; p goes straight over its input. */
static void scalar_first_case(RtPool *pool) {
    IrGraph *g = ir_graph_new("scalar_first");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrId st = ir_build_input(&b, IR_ROLE_STATE, "step", ir_type_scalar(IR_DTYPE_F32));
    IrId p = ir_build_input(&b, IR_ROLE_PARAM, "p", vec());
    ir_graph_add_output(g, "step", ir_build_binary(&b, IR_OP_ADD, st, ir_build_scalar(&b, IR_DTYPE_F32, 1)));
    IrId bst = ir_build_broadcast_to(&b, st, 1, (int64_t[]){N});
    ir_graph_add_output(g, "p", ir_build_binary(&b, IR_OP_MUL, p, bst));
    CHECK(ir_builder_ok(&b));
    RtExec *e = build(g, pool);
    CHECK(e != NULL);
    if (e) {
        float pv[N], old[N], step = 3;
        fill(pv, 1);
        memcpy(old, pv, sizeof pv);
        void *in[2] = {&step, pv}, *out[2] = {NULL, NULL};
        LlmcErr err = {0};
        CHECK(rt_exec_run(e, in, out, &err));
        CHECK(step == 4);
        for (int i = 0; i < N; i++) CHECK(pv[i] == old[i] * 3);
        CHECK(rt_exec_fusion(e)->n_kernels == 1); /* both in one kernel */
        RtExecStats es = rt_exec_stats(e);
        CHECK(es.writeback_direct == 1 && es.writeback_copied == 1);
        rt_exec_free(e);
    }
    ir_graph_free(g);
}

static void passthrough_case(RtPool *pool) {
    IrGraph *g = ir_graph_new("pass");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrId p = ir_build_input(&b, IR_ROLE_PARAM, "p", ir_type_make(IR_DTYPE_F32, 1, (int64_t[]){4}));
    IrId seed = ir_build_input(&b, IR_ROLE_STATE, "seed", ir_type_scalar(IR_DTYPE_I32));
    ir_graph_add_output(g, "seed", seed);
    ir_graph_add_output(g, "p", ir_build_unary(&b, IR_OP_NEG, ir_build_broadcast_to(&b, p, 2, (int64_t[]){8, 4})));
    CHECK(ir_builder_ok(&b));
    RtExec *e = build(g, pool);
    CHECK(e != NULL);
    if (e) {
        float pv[4] = {1, 2, 3, 4}, pout[32];
        int32_t sv = 1234, sout = -1;
        void *in[2] = {pv, &sv}, *out[2] = {&sout, pout};
        LlmcErr err = {0};
        CHECK(rt_exec_run(e, in, out, &err));
        CHECK(sout == 1234 && pout[31] == -4 && pout[0] == -1);
        void *back[2] = {NULL, pout};
        CHECK(rt_exec_run(e, in, back, &err) && sv == 1234);
        void *bad[2] = {&sout, NULL}; /* f32[8,4] cannot go back over f32[4] */
        CHECK(!rt_exec_run(e, in, bad, &err) && strstr(err.msg, "'p'") != NULL);
        rt_exec_free(e);
    }
    ir_graph_free(g);
}

static void collective_case(RtPool *pool) {
    for (int ranks = 1; ranks <= 2; ranks++) {
        IrGraph *g = ir_graph_new("coll");
        IrBuilder b;
        ir_builder_init(&b, g);
        IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", vec());
        IrId y = ir_build_all_reduce(&b, ir_build_unary(&b, IR_OP_NEG, x), ranks, IR_REDUCE_SUM);
        ir_graph_add_output(g, "y", ir_build_unary(&b, IR_OP_ABS, y));
        CHECK(ir_builder_ok(&b));
        LlmcErr err = {0};
        RtExec *e = rt_exec_new(jit, g, pool, &err);
        if (ranks == 2) {
            CHECK(e == NULL && strstr(err.msg, "2 ranks") != NULL);
        } else {
            CHECK(e != NULL);
            float xv[N], yv[N];
            fill(xv, -100);
            void *in[1] = {xv}, *out[1] = {yv};
            CHECK(e && rt_exec_run(e, in, out, &err));
            for (int i = 0; e && i < N; i++) CHECK(yv[i] == fabsf(xv[i]));
            CHECK(e && rt_exec_stats(e).runtime_kernels == 1);
        }
        rt_exec_free(e);
        ir_graph_free(g);
    }
}

int main(void) {
    LlmcErr err = {0};
    jit = cc_jit_new(&err);
    pools[0] = rt_pool_new(1, &err);
    pools[1] = rt_pool_new(3, &err);
    CHECK(jit && pools[0] && pools[1]);
    for (int p = 0; jit && p < 2 && pools[p]; p++) {
        sgd_case(pools[p]);
        later_reader_case(pools[p]);
        swap_case(pools[p]);
        scalar_first_case(pools[p]);
        passthrough_case(pools[p]);
        collective_case(pools[p]);
    }
    rt_pool_free(pools[0]);
    rt_pool_free(pools[1]);
    cc_jit_free(jit);
    TEST_MAIN();
}
