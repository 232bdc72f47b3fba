/* tests/jit/test_jit_attention.c — the fused attention kernels (compiler/codegen_attention.c)
 * against the reference interpreter.
 *
 * One graph per case holds the forward and the whole backward of attention:
 *   out = attention(q, k, v), lse = attention_lse(q, k), dsum = sum(dout * out, -1),
 *   dq, dk, dv = attention_grad(q, k, v, lse, dsum, dout) wrt q, k, v,
 * run by the executor (cc_fuse, the memory plan, the JIT) with 1 and with 2 threads, and
 * by the interpreter in f64. Checked per output: the norm ratio ||jit - ref|| / ||ref||
 * within 5e-6 (f32; the kernels sum in f32 over up to a few hundred keys) or 1e-12
 * (f64); the 1- and 2-thread results bit-identical; the fusion has exactly three
 * attention kernels (forward with its lse, dq, dk with dv); and no buffer of the plan is
 * as large as one R x S score matrix (linear memory). Shapes cover causal and not, GQA
 * (R = 2 S, rows mod S), several row and key chunks, tiles cut by the causal diagonal,
 * head sizes with vector tails (d, e not multiples of the lanes), d != e, leading batch
 * axes, and a 5 x 5 toy. Identical attention_grad nodes (a graph no CSE ran on) get
 * kernels of their own, and every output is written (outputs start as garbage).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "runtime.h"
#include "test.h"

static CcJit *jit;
static RtPool *pools[2];
static uint64_t rng = 0x9E3779B97F4A7C15ull;

static double urand(void) { /* [0, 1) */
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) * 0x1.0p-53;
}

typedef struct Shape {
    int64_t batch0, batch1, R, S, d, e;
    bool causal;
    IrDtype dt;
    bool twins; /* a second, identical dq and dk node (no CSE ran): each is still written */
} Shape;

static double ratio(const IrValue *got, const IrValue *ref) {
    double d2 = 0, r2 = 0;
    for (int64_t i = 0; i < ir_type_numel(&ref->type); i++) {
        double d = got->data[i] - ref->data[i];
        d2 += d * d;
        r2 += ref->data[i] * ref->data[i];
    }
    return r2 > 0 ? sqrt(d2 / r2) : sqrt(d2);
}

static void run_case(const Shape *s) {
    char name[128];
    snprintf(name, sizeof name, "att_%s_R%lld_S%lld_d%lld_e%lld%s", ir_dtype_name(s->dt), (long long)s->R,
             (long long)s->S, (long long)s->d, (long long)s->e, s->causal ? "_causal" : "");
    IrGraph *g = ir_graph_new(name);
    IrBuilder b;
    ir_builder_init(&b, g);
    IrType tq = ir_type_make(s->dt, 4, (int64_t[]){s->batch0, s->batch1, s->R, s->d});
    IrType tk = ir_type_make(s->dt, 4, (int64_t[]){s->batch0, s->batch1, s->S, s->d});
    IrType tv = ir_type_make(s->dt, 4, (int64_t[]){s->batch0, s->batch1, s->S, s->e});
    IrType to = ir_type_make(s->dt, 4, (int64_t[]){s->batch0, s->batch1, s->R, s->e});
    IrId in[4] = {ir_build_input(&b, IR_ROLE_DATA, "q", tq), ir_build_input(&b, IR_ROLE_DATA, "k", tk),
                  ir_build_input(&b, IR_ROLE_DATA, "v", tv), ir_build_input(&b, IR_ROLE_DATA, "dout", to)};
    double scale = 1.0 / sqrt((double)s->d);
    IrId out = ir_build_attention(&b, in[0], in[1], in[2], scale, s->causal);
    IrId lse = ir_build_attention_lse(&b, in[0], in[1], scale, s->causal);
    IrId dsum = ir_build_reduce(&b, IR_OP_REDUCE_SUM, ir_build_binary(&b, IR_OP_MUL, in[3], out), 3, false);
    IrId grads[3];
    for (int w = 0; w < 3; w++)
        grads[w] = ir_build_attention_grad(&b, in[0], in[1], in[2], lse, dsum, in[3], scale, s->causal,
                                           (IrAttentionWrt)(IR_ATTENTION_Q + w));
    static const char *const out_names[7] = {"out", "lse", "dq", "dk", "dv", "dq twin", "dk twin"};
    IrId outs[7] = {out, lse, grads[0], grads[1], grads[2]};
    int n_out = s->twins ? 7 : 5;
    for (int w = 0; s->twins && w < 2; w++)
        outs[5 + w] = ir_build_attention_grad(&b, in[0], in[1], in[2], lse, dsum, in[3], scale, s->causal,
                                              (IrAttentionWrt)(IR_ATTENTION_Q + w));
    for (int o = 0; o < n_out; o++) ir_graph_add_output(g, out_names[o], outs[o]);
    CHECK(ir_builder_ok(&b));

    IrValue ins[4];
    void *bufs[4];
    for (int i = 0; i < 4; i++) {
        ir_value_alloc(&ins[i], g->nodes[in[i]].type);
        for (int64_t j = 0; j < ir_type_numel(&ins[i].type); j++) {
            double x = 4 * urand() - 2;
            ins[i].data[j] = s->dt == IR_DTYPE_F32 ? (double)(float)x : x;
        }
        bufs[i] = rt_native_from_value(&ins[i]);
    }
    LlmcErr err = {0};
    IrValue ref[7];
    memset(ref, 0, sizeof ref);
    IrInterpOptions io = {.precision = IR_PRECISION_F64, .ranks = 1};
    bool ok = ir_interp_run(g, &io, ins, ref, &err);
    if (!ok) fprintf(stderr, "%s: interpreter: %s\n", name, err.msg);
    CHECK(ok);
    void *got[2][7];
    for (int t = 0; t < 2 && ok; t++) {
        RtExec *e = rt_exec_new(jit, g, pools[t], &err);
        if (!e) fprintf(stderr, "%s: %s\n", name, err.msg);
        CHECK(e != NULL);
        if (!e) {
            ok = false;
            break;
        }
        for (int o = 0; o < n_out; o++) {
            got[t][o] = malloc(ir_type_bytes(&g->nodes[outs[o]].type));
            memset(got[t][o], 0x7f, ir_type_bytes(&g->nodes[outs[o]].type)); /* unwritten: huge values */
        }
        CHECK(rt_exec_run(e, bufs, got[t], &err));
        if (t == 0) {
            const CcFusion *f = rt_exec_fusion(e);
            int n_att = 0;
            for (uint32_t k = 0; k < f->n_kernels; k++) n_att += f->kernels[k].kind == CC_KERNEL_ATTENTION;
            CHECK(n_att == (s->twins ? 5 : 3));
            const CcMemPlan *mp = rt_exec_memplan(e);
            uint64_t scores = (uint64_t)(s->R * s->S) * ir_dtype_size(s->dt), largest = 0;
            for (IrId id = 0; id < g->n_nodes; id++)
                if (mp->offset[id] != CC_MEMPLAN_NONE && mp->size[id] > largest) largest = mp->size[id];
            if (s->R * s->S > 4 * (s->R * s->e + s->R * s->d)) CHECK(largest < scores);
        }
        rt_exec_free(e);
    }
    double tol = s->dt == IR_DTYPE_F32 ? 5e-6 : 1e-12;
    for (int o = 0; ok && o < n_out; o++) {
        IrValue v;
        rt_native_to_value(got[0][o], ref[o].type, &v);
        double r = ratio(&v, &ref[o]);
        if (r > tol || getenv("VERBOSE")) fprintf(stderr, "%s %s: ratio %.3g (tol %g)\n", name, out_names[o], r, tol);
        CHECK(r <= tol);
        CHECK(memcmp(got[0][o], got[1][o], ir_type_bytes(&ref[o].type)) == 0); /* threads: same bytes */
        ir_value_free(&v);
    }
    for (int o = 0; ok && o < n_out; o++) {
        free(got[0][o]);
        free(got[1][o]);
    }
    for (int o = 0; o < n_out; o++) ir_value_free(&ref[o]);
    for (int i = 0; i < 4; i++) {
        ir_value_free(&ins[i]);
        free(bufs[i]);
    }
    ir_graph_free(g);
}

int main(void) {
    LlmcErr err = {0};
    jit = cc_jit_new(&err);
    pools[0] = rt_pool_new(1, &err);
    pools[1] = rt_pool_new(2, &err);
    CHECK(jit && pools[0] && pools[1]);
    static const Shape shapes[] = {
        {2, 1, 260, 130, 32, 24, true, IR_DTYPE_F32, false},  /* GQA: rows mod S; e has a tail */
        {1, 2, 200, 200, 64, 64, true, IR_DTYPE_F32, false},  /* two row chunks, diagonal tiles */
        {1, 1, 200, 200, 64, 64, true, IR_DTYPE_F64, false},
        {1, 2, 50, 70, 16, 16, false, IR_DTYPE_F64, false},   /* not causal, R != S */
        {2, 2, 97, 97, 20, 36, false, IR_DTYPE_F32, false},   /* odd sizes, d != e */
        {1, 1, 5, 5, 3, 2, true, IR_DTYPE_F32, false},        /* toy */
        {1, 1, 400, 400, 8, 8, true, IR_DTYPE_F32, false},    /* many chunks, one vector of features */
        {1, 2, 60, 60, 16, 16, true, IR_DTYPE_F32, true}, /* twins: rule 7 never merges equals */
    };
    for (size_t i = 0; jit && pools[1] && i < sizeof shapes / sizeof shapes[0]; i++) run_case(&shapes[i]);
    rt_pool_free(pools[0]);
    rt_pool_free(pools[1]);
    cc_jit_free(jit);
    TEST_MAIN();
}
