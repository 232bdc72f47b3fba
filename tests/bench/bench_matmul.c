/* tests/bench/bench_matmul.c — matmul GFLOP/s of the JIT kernel against a naive triple
 * loop built with -O3, single-threaded, at the gpt2-tiny and gpt2-small shapes: each
 * MLP matmul forward (Y = X W), and its two backward matmuls (dX = dY W^T, tb; dW = X^T dY,
 * ta). Rows are batch x seq: 8 x 64 = 512 (tiny, dim 64, hidden 256) and 8 x 256 = 2048
 * (small, dim 768, hidden 3072). f32.
 *
 * The JIT time is the median of 5 whole-matmul calls (after one warm-up call, which also
 * faults the output in). The naive loop is slow at these sizes, so it runs on the first
 * rows only (about 0.25 GFLOP of work; rows are independent and equally costly), median
 * of 3; its GFLOP/s counts the rows it did. The last column is the norm ratio of the two
 * results on those rows (a sanity check, f32 summation differences only).
 * Not a ctest: timings vary with the machine and its load.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compiler.h"

void bench_naive_matmul(const float *a, const float *b, float *c, int64_t M, int64_t N, int64_t K, bool ta,
                        bool tb, int64_t m_lo, int64_t m_hi);

typedef struct Shape {
    const char *model, *what;
    int64_t M, N, K;
    bool ta, tb;
} Shape;

static const Shape SHAPES[] = {
    {"gpt2-tiny", "fc   fwd  X W", 512, 256, 64, false, false},
    {"gpt2-tiny", "fc   dX = dY W^T", 512, 64, 256, false, true},
    {"gpt2-tiny", "fc   dW = X^T dY", 64, 256, 512, true, false},
    {"gpt2-tiny", "proj fwd  H W", 512, 64, 256, false, false},
    {"gpt2-tiny", "proj dX = dY W^T", 512, 256, 64, false, true},
    {"gpt2-tiny", "proj dW = H^T dY", 256, 64, 512, true, false},
    {"gpt2-small", "fc   fwd  X W", 2048, 3072, 768, false, false},
    {"gpt2-small", "fc   dX = dY W^T", 2048, 768, 3072, false, true},
    {"gpt2-small", "fc   dW = X^T dY", 768, 3072, 2048, true, false},
    {"gpt2-small", "attn proj fwd", 2048, 768, 768, false, false},
    {"gpt2-small", "attn proj dX", 2048, 768, 768, false, true},
    {"gpt2-small", "attn proj dW", 768, 768, 2048, true, false},
};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

static float *random_floats(int64_t n, uint64_t *s) {
    float *p = malloc((size_t)n * sizeof *p);
    for (int64_t i = 0; i < n; i++) {
        *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
        p[i] = (float)((double)(*s >> 11) * 0x1.0p-53 * 2 - 1);
    }
    return p;
}

int main(void) {
    LlmcErr err = {0};
    CcJit *jit = cc_jit_new(&err);
    if (!jit) {
        fprintf(stderr, "cc_jit_new: %s\n", err.msg);
        return 1;
    }
    printf("matmul, f32, 1 thread; host %s, avx512f %s; clock_gettime(MONOTONIC), ~1 ns resolution\n",
           cc_jit_cpu(jit, NULL), cc_jit_has_avx512(jit) ? "yes" : "no");
    printf("%-10s %-18s %5s %5s %5s %2s %2s | %9s %9s %7s | %6s %9s\n", "model", "matmul", "M", "N", "K", "ta", "tb",
           "jit GF/s", "naive GF/s", "ratio", "rows", "rel diff");
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    for (size_t s = 0; s < sizeof SHAPES / sizeof SHAPES[0]; s++) {
        const Shape *sh = &SHAPES[s];
        IrGraph *g = ir_graph_new("bench");
        IrBuilder b;
        ir_builder_init(&b, g);
        int64_t xd[2] = {sh->ta ? sh->K : sh->M, sh->ta ? sh->M : sh->K};
        int64_t yd[2] = {sh->tb ? sh->N : sh->K, sh->tb ? sh->K : sh->N};
        IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", ir_type_make(IR_DTYPE_F32, 2, xd));
        IrId y = ir_build_input(&b, IR_ROLE_DATA, "y", ir_type_make(IR_DTYPE_F32, 2, yd));
        IrId mm = ir_build_matmul(&b, x, y, sh->ta, sh->tb);
        CcMatmulPlan plan;
        CcKernelFn fn = NULL;
        if (!ir_builder_ok(&b) || !cc_matmul_plan(jit, g, mm, &plan, &err) || !cc_codegen_matmul(jit, g, mm, &fn, &err)) {
            fprintf(stderr, "%s %s: %s\n", sh->model, sh->what, err.msg);
            return 1;
        }
        float *A = random_floats(sh->M * sh->K, &seed), *B = random_floats(sh->K * sh->N, &seed);
        float *C = calloc((size_t)(sh->M * sh->N), sizeof *C), *Cn = calloc((size_t)(sh->M * sh->N), sizeof *Cn);
        void *bufs[3] = {A, B, C};
        double flops = 2.0 * (double)sh->M * (double)sh->N * (double)sh->K;
        double t[5];
        fn(bufs, 0, plan.tasks);
        for (int r = 0; r < 5; r++) {
            double t0 = now();
            fn(bufs, 0, plan.tasks);
            t[r] = now() - t0;
        }
        double jit_gf = flops / median(t, 5) * 1e-9;

        int64_t rows = (int64_t)(0.25e9 / (2.0 * (double)sh->N * (double)sh->K));
        if (rows < 1) rows = 1;
        if (rows > sh->M) rows = sh->M;
        for (int r = 0; r < 3; r++) {
            double t0 = now();
            bench_naive_matmul(A, B, Cn, sh->M, sh->N, sh->K, sh->ta, sh->tb, 0, rows);
            t[r] = now() - t0;
        }
        double naive_gf = 2.0 * (double)rows * (double)sh->N * (double)sh->K / median(t, 3) * 1e-9;
        double d2 = 0, r2 = 0;
        for (int64_t i = 0; i < rows * sh->N; i++) {
            double d = (double)C[i] - (double)Cn[i];
            d2 += d * d;
            r2 += (double)Cn[i] * (double)Cn[i];
        }
        printf("%-10s %-18s %5lld %5lld %5lld %2d %2d | %9.1f %9.2f %6.1fx | %6lld %9.1e\n", sh->model, sh->what,
               (long long)sh->M, (long long)sh->N, (long long)sh->K, sh->ta, sh->tb, jit_gf, naive_gf,
               jit_gf / naive_gf, (long long)rows, sqrt(d2 / r2));
        fflush(stdout);
        free(A), free(B), free(C), free(Cn);
        ir_graph_free(g);
    }
    cc_jit_free(jit);
    return 0;
}
