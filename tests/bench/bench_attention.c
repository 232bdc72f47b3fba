/* tests/bench/bench_attention.c — fused attention (compiler/codegen_attention.c) against
 * the composite it replaces (matmul, scale, causal mask, softmax, matmul, and autodiff's
 * backward of them), forward + backward, at the benchmark models' shapes, in one run. Not
 * a test: it prints what it measured.
 *
 * Per shape [batch, heads, R rows, S keys, head dim] and thread count: ms per forward +
 * backward for each lowering (the median of the timed runs, after a warm-up), their ratio,
 * the fused passes' share (forward with lse, dq, dk + dv, and the rest: dsum, copies),
 * and each lowering's memory-plan peak (the composite's grows with R x S, the fused one's
 * with R). Both graphs are differentiated by cc_grad from loss = sum(out * dout) and
 * simplified like the training step.
 *
 * Usage: bench_attention [--runs N] [--threads N]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compiler.h"
#include "runtime.h"

typedef struct Shape {
    const char *what;
    int64_t B, H, R, S, d;
} Shape;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* softmax(mask(scale q k^T)) v, as the frontend's composite lowering builds it. */
static IrId composite(IrBuilder *b, IrId q, IrId k, IrId v, const Shape *s) {
    int64_t dims[4] = {s->B, s->H, s->R, s->S};
    IrId sc = ir_build_matmul(b, q, k, false, true);
    IrType st = b->g->nodes[sc].type;
    sc = ir_build_binary(b, IR_OP_MUL, sc, ir_build_const(b, st, (double[]){1.0 / sqrt((double)s->d)}, 1));
    IrType it = ir_type_make(IR_DTYPE_I32, 2, (int64_t[]){s->R, s->S});
    IrId rows = ir_build_iota(b, it, 0), keys = ir_build_iota(b, it, 1);
    IrId pos = ir_build_binary(b, IR_OP_SUB, rows,
                               ir_build_binary(b, IR_OP_MUL,
                                               ir_build_binary(b, IR_OP_DIV, rows, ir_build_const(b, it, (double[]){(double)s->S}, 1)),
                                               ir_build_const(b, it, (double[]){(double)s->S}, 1)));
    IrId future = ir_build_broadcast(b, ir_build_binary(b, IR_OP_CMPLT, pos, keys), 4, dims, (int64_t[]){2, 3});
    sc = ir_build_select(b, future, ir_build_const(b, st, (double[]){-INFINITY}, 1), sc);
    IrId mx = ir_build_unary(b, IR_OP_STOP_GRADIENT, ir_build_reduce(b, IR_OP_REDUCE_MAX, sc, 3, true));
    IrId ex = ir_build_unary(b, IR_OP_EXP, ir_build_binary(b, IR_OP_SUB, sc, ir_build_broadcast_to(b, mx, 4, dims)));
    IrId sum = ir_build_reduce(b, IR_OP_REDUCE_SUM, ex, 3, true);
    IrId p = ir_build_binary(b, IR_OP_DIV, ex, ir_build_broadcast_to(b, sum, 4, dims));
    return ir_build_matmul(b, p, v, false, false);
}

/* The simplified gradient graph of loss = sum(attention(q, k, v) * dout). */
static IrGraph *build(const Shape *s, bool fused) {
    IrGraph *g = ir_graph_new(fused ? "fused" : "composite");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrType tq = ir_type_make(IR_DTYPE_F32, 4, (int64_t[]){s->B, s->H, s->R, s->d});
    IrType tk = ir_type_make(IR_DTYPE_F32, 4, (int64_t[]){s->B, s->H, s->S, s->d});
    IrId q = ir_build_input(&b, IR_ROLE_DATA, "q", tq), k = ir_build_input(&b, IR_ROLE_DATA, "k", tk);
    IrId v = ir_build_input(&b, IR_ROLE_DATA, "v", tk), dout = ir_build_input(&b, IR_ROLE_DATA, "dout", tq);
    IrId out = fused ? ir_build_attention(&b, q, k, v, 1.0 / sqrt((double)s->d), true) : composite(&b, q, k, v, s);
    IrId prod = ir_build_reshape(&b, ir_build_binary(&b, IR_OP_MUL, out, dout), 1,
                                 (int64_t[]){s->B * s->H * s->R * s->d});
    ir_graph_add_output(g, "loss", ir_build_reduce(&b, IR_OP_REDUCE_SUM, prod, 0, false));
    LlmcErr err = {0};
    static const char *const extra[3] = {"q", "k", "v"};
    IrGraph *gg = ir_builder_ok(&b) ? cc_grad(g, &(CcGradOptions){.extra = extra, .n_extra = 3}, &err) : NULL;
    IrGraph *gs = gg ? cc_pass_simplify(gg, &err) : NULL;
    if (!gs) fprintf(stderr, "bench_attention: %s\n", err.msg[0] ? err.msg : "builder failed");
    ir_graph_free(g);
    ir_graph_free(gg);
    return gs;
}

typedef struct Timing {
    double ms;                 /* median forward + backward */
    double pass_ms[4];         /* fused: forward, dq, dk + dv, everything else */
    uint64_t peak;             /* memory-plan peak bytes */
} Timing;

static bool measure(CcJit *jit, RtPool *pool, const IrGraph *g, int runs, Timing *t) {
    LlmcErr err = {0};
    memset(t, 0, sizeof *t);
    RtExec *e = rt_exec_new(jit, g, pool, &err);
    if (!e) {
        fprintf(stderr, "bench_attention: %s\n", err.msg);
        return false;
    }
    void *in[4], *out[4];
    IrId ids[4];
    uint32_t n_in = ir_graph_inputs(g, NULL);
    if (n_in > 4 || g->n_outputs > 4) return false;
    ir_graph_inputs(g, ids);
    for (uint32_t i = 0; i < n_in; i++) {
        const IrType *ty = &g->nodes[ids[i]].type;
        float *x = malloc(ir_type_bytes(ty));
        for (int64_t j = 0; j < ir_type_numel(ty); j++) x[j] = (float)((j * 2654435761u % 1000) / 500.0 - 1.0);
        in[i] = x;
    }
    for (uint32_t o = 0; o < g->n_outputs; o++) out[o] = malloc(ir_type_bytes(&g->nodes[g->outputs[o].node].type));
    bool ok = rt_exec_run(e, in, out, &err); /* warm-up */
    double *ms = calloc((size_t)runs, sizeof *ms);
    rt_exec_set_profile(e, true);
    for (int r = 0; ok && r < runs; r++) {
        double t0 = now_s();
        ok = rt_exec_run(e, in, out, &err);
        ms[r] = (now_s() - t0) * 1e3;
    }
    if (!ok) fprintf(stderr, "bench_attention: %s\n", err.msg);
    qsort(ms, (size_t)runs, sizeof *ms, cmp_double);
    t->ms = ms[runs / 2];
    uint64_t n = 0;
    const double *prof = rt_exec_profile(e, &n);
    const CcFusion *f = rt_exec_fusion(e);
    for (uint32_t k = 0; prof && n && k < f->n_kernels; k++) {
        const CcKernel *kn = &f->kernels[k];
        int pass = 3;
        for (uint32_t i = 0; i < kn->n_nodes && kn->kind == CC_KERNEL_ATTENTION; i++) {
            const IrNode *nd = ir_graph_node(g, kn->nodes[i]);
            if (nd->op == IR_OP_ATTENTION) pass = 0;
            else if (nd->op == IR_OP_ATTENTION_GRAD) pass = nd->attrs.attention.wrt == IR_ATTENTION_Q ? 1 : 2;
        }
        t->pass_ms[pass] += prof[k] / (double)n * 1e3;
    }
    t->peak = rt_exec_memplan(e)->peak_bytes;
    free(ms);
    for (uint32_t i = 0; i < n_in; i++) free(in[i]);
    for (uint32_t o = 0; o < g->n_outputs; o++) free(out[o]);
    rt_exec_free(e);
    return ok;
}

int main(int argc, char **argv) {
    int runs = 9, threads = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) threads = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_attention [--runs N >= 1] [--threads N]\n");
            return 2;
        }
    }
    if (runs < 1) runs = 1;
    static const Shape shapes[] = {
        {"gpt2-d256 (8x256, 4 heads)", 8, 4, 256, 256, 64},
        {"llama-d256 (GQA 4/2)", 8, 2, 512, 256, 64},
        {"gpt2-small (8x256, 12 heads)", 8, 12, 256, 256, 64},
        {"T = 1024, 4 heads", 1, 4, 1024, 1024, 64},
        {"T = 2048, 4 heads", 1, 4, 2048, 2048, 64},
    };
    LlmcErr err = {0};
    CcJit *jit = cc_jit_new(&err);
    RtPool *pool = jit ? rt_pool_new(threads > 0 ? (uint32_t)threads : 0, &err) : NULL;
    if (!pool) {
        fprintf(stderr, "bench_attention: %s\n", err.msg);
        return 1;
    }
    printf("attention forward + backward, causal, f32, %u threads, median of %d runs\n", rt_pool_threads(pool), runs);
    printf("%-30s %10s %10s %7s   %-32s %12s %12s\n", "shape [B,H,R,S,d]", "fused ms", "composite", "ratio",
           "fused: fwd / dq / dkv / rest ms", "fused peak", "comp. peak");
    int status = 0;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const Shape *s = &shapes[i];
        Timing tf, tc;
        IrGraph *gf = build(s, true), *gc = build(s, false);
        bool ok = gf && gc && measure(jit, pool, gf, runs, &tf) && measure(jit, pool, gc, runs, &tc);
        if (!ok) {
            status = 1;
        } else {
            char parts[64];
            snprintf(parts, sizeof parts, "%.2f / %.2f / %.2f / %.2f", tf.pass_ms[0], tf.pass_ms[1], tf.pass_ms[2],
                     tf.pass_ms[3]);
            printf("%-30s %10.2f %10.2f %6.2fx   %-32s %9.1f MiB %9.1f MiB\n", s->what, tf.ms, tc.ms, tc.ms / tf.ms,
                   parts, tf.peak / 1048576.0, tc.peak / 1048576.0);
            fflush(stdout);
        }
        ir_graph_free(gf);
        ir_graph_free(gc);
    }
    rt_pool_free(pool);
    cc_jit_free(jit);
    return status;
}
