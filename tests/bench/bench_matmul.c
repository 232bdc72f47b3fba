/* tests/bench/bench_matmul.c — matmul GFLOP/s of the JIT kernel against OpenBLAS sgemm at
 * the same shapes and thread counts (1 and 2), f32, at the shapes a training step runs:
 * every projection's forward (Y = X W), and its two backward matmuls (dX = dY W^T, tb;
 * dW = X^T dY, ta), for the d=256 model (rows = 2048 tokens; qkv, attention out, fc,
 * proj, a Llama hidden of 688, the 8192-vocab lm head, and the batched attention
 * matmuls, 32 x [256 x 64]) and gpt2-small (dim 768, hidden 3072, vocab 50257).
 *
 * The JIT kernel runs through the runtime's pool (rt_pool_run over plan.tasks, grain 1),
 * OpenBLAS through cblas_sgemm (one call per batch) after openblas_set_num_threads.
 * OpenBLAS is dlopen'ed ("libopenblas.so.0"), never linked: when it is missing, its
 * columns say "n/a". Each time is the median of up to 5 calls after one warm-up call
 * (fewer calls when one takes over 0.3 s). "rel" is the norm ratio of ours minus
 * OpenBLAS's over OpenBLAS's (f32 summation differences only), or, without OpenBLAS, of
 * ours against a naive -O3 triple loop on the first rows.
 *
 * Usage: bench_matmul [substring ...]   only the shapes whose "model what" contains one.
 * BENCH_CPUTIME=1 times the 1-thread columns by the calling thread's CPU time (both run
 * on it), which other load on the machine disturbs less than the wall clock.
 * Not a ctest: timings vary with the machine and its load.
 */
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compiler.h"
#include "runtime.h"

void bench_naive_matmul(const float *a, const float *b, float *c, int64_t M, int64_t N, int64_t K, bool ta,
                        bool tb, int64_t m_lo, int64_t m_hi);

typedef struct Shape {
    const char *model, *what;
    int64_t batch, M, N, K;
    bool ta, tb;
} Shape;

static const Shape SHAPES[] = {
    {"d256", "qkv  fwd", 1, 2048, 768, 256, false, false},
    {"d256", "qkv  dX", 1, 2048, 256, 768, false, true},
    {"d256", "qkv  dW", 1, 256, 768, 2048, true, false},
    {"d256", "wo   fwd", 1, 2048, 256, 256, false, false},
    {"d256", "wo   dX", 1, 2048, 256, 256, false, true},
    {"d256", "wo   dW", 1, 256, 256, 2048, true, false},
    {"d256", "fc   fwd", 1, 2048, 1024, 256, false, false},
    {"d256", "fc   dX", 1, 2048, 256, 1024, false, true},
    {"d256", "fc   dW", 1, 256, 1024, 2048, true, false},
    {"d256", "proj fwd", 1, 2048, 256, 1024, false, false},
    {"d256", "proj dX", 1, 2048, 1024, 256, false, true},
    {"d256", "proj dW", 1, 1024, 256, 2048, true, false},
    {"d256", "ffn688 fwd", 1, 2048, 688, 256, false, false},
    {"d256", "ffn688 dX", 1, 2048, 256, 688, false, true},
    {"d256", "ffn688 dW", 1, 256, 688, 2048, true, false},
    {"d256", "lm   fwd", 1, 2048, 8192, 256, false, false},
    {"d256", "lm   dX", 1, 2048, 256, 8192, false, true},
    {"d256", "lm   dW", 1, 256, 8192, 2048, true, false},
    {"d256", "att  QK^T", 32, 256, 256, 64, false, true},
    {"d256", "att  PV", 32, 256, 64, 256, false, false},
    {"gpt2-small", "attn fwd", 1, 2048, 768, 768, false, false},
    {"gpt2-small", "attn dX", 1, 2048, 768, 768, false, true},
    {"gpt2-small", "attn dW", 1, 768, 768, 2048, true, false},
    {"gpt2-small", "fc   fwd", 1, 2048, 3072, 768, false, false},
    {"gpt2-small", "fc   dX", 1, 2048, 768, 3072, false, true},
    {"gpt2-small", "fc   dW", 1, 768, 3072, 2048, true, false},
    {"gpt2-small", "proj fwd", 1, 2048, 768, 3072, false, false},
    {"gpt2-small", "proj dX", 1, 2048, 3072, 768, false, true},
    {"gpt2-small", "proj dW", 1, 3072, 768, 2048, true, false},
    {"gpt2-small", "lm   fwd", 1, 2048, 50257, 768, false, false},
    {"gpt2-small", "lm   dX", 1, 2048, 768, 50257, false, true},
    {"gpt2-small", "lm   dW", 1, 768, 50257, 2048, true, false},
    {"gpt2-small", "wte  dW", 1, 50257, 768, 2048, true, false}, /* the tied head's table: dlogits^T x */
};

/* cblas_sgemm(order, transa, transb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) */
typedef void (*SgemmFn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *,
                        int);
typedef void (*SetThreadsFn)(int);
static SgemmFn blas_sgemm;
static SetThreadsFn blas_set_threads;

static clockid_t bench_clock = CLOCK_MONOTONIC;

static double now(void) {
    struct timespec ts;
    clock_gettime(bench_clock, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static float *random_floats(int64_t n, uint64_t *s) {
    float *p = malloc((size_t)n * sizeof *p);
    for (int64_t i = 0; i < n; i++) {
        *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
        p[i] = (float)((double)(*s >> 11) * 0x1.0p-53 * 2 - 1);
    }
    return p;
}

typedef struct Run {
    const Shape *sh;
    const float *A, *B; /* [batch][M x K or K x M], [batch][K x N or N x K] */
    float *C;           /* [batch][M x N] */
    CcKernelFn fn;      /* ours: NULL runs OpenBLAS */
    int64_t tasks;
    RtPool *pool;
} Run;

static void run_once(const Run *r) {
    const Shape *sh = r->sh;
    if (r->fn) {
        void *bufs[3] = {(void *)r->A, (void *)r->B, r->C};
        rt_pool_run(r->pool, (RtKernelFn)r->fn, bufs, r->tasks, 1);
        return;
    }
    int64_t sa = sh->M * sh->K, sb = sh->K * sh->N, sc = sh->M * sh->N;
    for (int64_t b = 0; b < sh->batch; b++)
        blas_sgemm(101, sh->ta ? 112 : 111, sh->tb ? 112 : 111, (int)sh->M, (int)sh->N, (int)sh->K, 1.0f,
                   r->A + b * sa, (int)(sh->ta ? sh->M : sh->K), r->B + b * sb, (int)(sh->tb ? sh->K : sh->N), 0.0f,
                   r->C + b * sc, (int)sh->N);
}

/* GFLOP/s: median of up to 5 timed calls after a warm-up. */
static double time_gflops(const Run *r) {
    const Shape *sh = r->sh;
    double flops = 2.0 * (double)sh->batch * (double)sh->M * (double)sh->N * (double)sh->K;
    double t0 = now();
    run_once(r);
    double first = now() - t0;
    int reps = first > 0.3 ? 1 : first > 0.1 ? 3 : 5;
    double t[5];
    for (int i = 0; i < reps; i++) {
        t0 = now();
        run_once(r);
        t[i] = now() - t0;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    return flops / t[reps / 2] * 1e-9;
}

static bool selected(const Shape *sh, int argc, char **argv) {
    if (argc < 2) return true;
    char name[128];
    snprintf(name, sizeof name, "%s %s", sh->model, sh->what);
    for (int i = 1; i < argc; i++)
        if (strstr(name, argv[i])) return true;
    return false;
}

int main(int argc, char **argv) {
    LlmcErr err = {0};
    bool cpu_time = getenv("BENCH_CPUTIME") && *getenv("BENCH_CPUTIME") == '1';
    CcJit *jit = cc_jit_new(&err);
    if (!jit) {
        fprintf(stderr, "cc_jit_new: %s\n", err.msg);
        return 1;
    }
    void *blas = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (blas) {
        blas_sgemm = (SgemmFn)dlsym(blas, "cblas_sgemm");
        blas_set_threads = (SetThreadsFn)dlsym(blas, "openblas_set_num_threads");
        if (!blas_sgemm || !blas_set_threads) blas_sgemm = NULL;
    }
    RtPool *pools[2] = {rt_pool_new(1, &err), rt_pool_new(2, &err)};
    if (!pools[0] || !pools[1]) {
        fprintf(stderr, "rt_pool_new: %s\n", err.msg);
        return 1;
    }
    printf("matmul, f32; host %s, avx512f %s; OpenBLAS %s; GF/s = GFLOP/s, median of <= 5 calls%s\n",
           cc_jit_cpu(jit, NULL), cc_jit_has_avx512(jit) ? "yes" : "no",
           blas_sgemm ? "libopenblas.so.0 (dlopen)" : "not installed",
           cpu_time ? "; 1 thread: thread CPU time" : "");
    printf("%-10s %-10s %3s %5s %5s %5s %2s %2s %13s | %7s %7s %5s | %7s %7s %5s | %7s\n", "model", "matmul", "bat",
           "M", "N", "K", "ta", "tb", "tasks(mc*nc)", "ours1", "blas1", "ratio", "ours2", "blas2", "ratio", "rel");
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    double lsum[2] = {0, 0};
    int lcount = 0;
    for (size_t s = 0; s < sizeof SHAPES / sizeof SHAPES[0]; s++) {
        const Shape *sh = &SHAPES[s];
        if (!selected(sh, argc, argv)) continue;
        IrGraph *g = ir_graph_new("bench");
        IrBuilder b;
        ir_builder_init(&b, g);
        bool batched = sh->batch > 1;
        uint32_t rank = batched ? 3 : 2;
        int64_t xd[3] = {sh->batch, sh->ta ? sh->K : sh->M, sh->ta ? sh->M : sh->K};
        int64_t yd[3] = {sh->batch, sh->tb ? sh->N : sh->K, sh->tb ? sh->K : sh->N};
        IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", ir_type_make(IR_DTYPE_F32, rank, batched ? xd : xd + 1));
        IrId y = ir_build_input(&b, IR_ROLE_DATA, "y", ir_type_make(IR_DTYPE_F32, rank, batched ? yd : yd + 1));
        IrId mm = ir_build_matmul(&b, x, y, sh->ta, sh->tb);
        CcMatmulPlan plan;
        CcKernelFn fn = NULL;
        if (!ir_builder_ok(&b) || !cc_matmul_plan(jit, g, mm, &plan, &err) || !cc_codegen_matmul(jit, g, mm, &fn, &err)) {
            fprintf(stderr, "%s %s: %s\n", sh->model, sh->what, err.msg);
            return 1;
        }
        int64_t nc = sh->batch * sh->M * sh->N;
        float *A = random_floats(sh->batch * sh->M * sh->K, &seed), *B = random_floats(sh->batch * sh->K * sh->N, &seed);
        float *C = calloc((size_t)nc, sizeof *C), *Cb = calloc((size_t)nc, sizeof *Cb);
        double gf[2][2] = {{0, 0}, {0, 0}}; /* [threads-1][ours, blas] */
        for (int th = 0; th < 2; th++) {
            bench_clock = th == 0 && cpu_time ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC;
            Run ours = {sh, A, B, C, fn, plan.tasks, pools[th]};
            gf[th][0] = time_gflops(&ours);
            if (blas_sgemm) {
                blas_set_threads(th + 1);
                Run theirs = {sh, A, B, Cb, NULL, 0, NULL};
                gf[th][1] = time_gflops(&theirs);
            }
        }
        double d2 = 0, r2 = 0;
        int64_t check = nc;
        if (!blas_sgemm) { /* the naive loop on the first rows of batch 0 */
            int64_t rows = (int64_t)(0.05e9 / (2.0 * (double)sh->N * (double)sh->K));
            rows = rows < 1 ? 1 : rows > sh->M ? sh->M : rows;
            bench_naive_matmul(A, B, Cb, sh->M, sh->N, sh->K, sh->ta, sh->tb, 0, rows);
            check = rows * sh->N;
        }
        for (int64_t i = 0; i < check; i++) {
            double d = (double)C[i] - (double)Cb[i];
            d2 += d * d;
            r2 += (double)Cb[i] * (double)Cb[i];
        }
        char r1[16] = "n/a", r2s[16] = "n/a", b1[16] = "n/a", b2[16] = "n/a";
        if (blas_sgemm) {
            snprintf(b1, sizeof b1, "%.1f", gf[0][1]);
            snprintf(b2, sizeof b2, "%.1f", gf[1][1]);
            snprintf(r1, sizeof r1, "%.2f", gf[0][0] / gf[0][1]);
            snprintf(r2s, sizeof r2s, "%.2f", gf[1][0] / gf[1][1]);
            lsum[0] += log(gf[0][0] / gf[0][1]);
            lsum[1] += log(gf[1][0] / gf[1][1]);
            lcount++;
        }
        char tasks[32];
        snprintf(tasks, sizeof tasks, "%lld(%lldx%lld)", (long long)plan.tasks, (long long)plan.mc, (long long)plan.nc);
        printf("%-10s %-10s %3lld %5lld %5lld %5lld %2d %2d %13s | %7.1f %7s %5s | %7.1f %7s %5s | %7.1e\n",
               sh->model, sh->what, (long long)sh->batch, (long long)sh->M, (long long)sh->N, (long long)sh->K, sh->ta,
               sh->tb, tasks, gf[0][0], b1, r1, gf[1][0], b2, r2s, r2 > 0 ? sqrt(d2 / r2) : 0.0);
        fflush(stdout);
        free(A), free(B), free(C), free(Cb);
        ir_graph_free(g);
    }
    if (lcount)
        printf("geometric mean ours/OpenBLAS over %d shapes: 1 thread %.2f, 2 threads %.2f\n", lcount,
               exp(lsum[0] / lcount), exp(lsum[1] / lcount));
    rt_pool_free(pools[0]);
    rt_pool_free(pools[1]);
    if (blas) dlclose(blas);
    cc_jit_free(jit);
    return 0;
}
