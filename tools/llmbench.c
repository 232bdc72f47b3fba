/* tools/llmbench.c — llmbench, the performance benchmark (issue 9): one run prints one
 * plain-text table of what this machine and this build deliver.
 *
 *   machine   /proc/cpuinfo's model name, the JIT's CPU and whether it uses AVX-512, the
 *             thread count, the f32 FMA peak, the bf16 dot peak and the memory bandwidth
 *             (rt_machine_peak)
 *   matmul    every distinct matmul shape of each model's @micro graph (batch, M, N, K,
 *             ta, tb; how many nodes share it; the first one's scope): our JIT kernel
 *             (cc_codegen_matmul on a one-node graph, run through the pool over its plan's
 *             tasks) against OpenBLAS's cblas_sgemm at the same thread count (a batched
 *             matmul loops over the batch, or is one call of batch x M rows when the
 *             weight is shared and A is not transposed), GFLOP/s and the ratio; per model, the
 *             node-count-weighted total (sum of OpenBLAS time / sum of ours)
 *   training  per model: the training step's compile time as `llmc MODEL -o M.llmc`
 *             reports it, with an empty kernel cache and again with the warm one; `llmrun M.llmc` on random tokens for --steps
 *             steps, the first two dropped as warm-up: ms/step, tok/s, useful GFLOP/s
 *             and MFU = cc_step_flops' step_useful per second / the FMA peak
 *
 * Each figure is measured in this run; nothing is hard-coded. A timing is the median of
 * several runs after a warm-up, each run repeating a call until it lasts about RUN_S.
 * The training rows run the real tools (llmc and llmrun next to this binary) as
 * subprocesses, in a private temporary directory with its own LLMC_CACHE_DIR, removed at
 * the end.
 *
 * OpenBLAS is loaded with dlopen("libopenblas.so.0"), never linked: without it the table
 * says so and leaves its columns "-". Progress goes to stderr, the table to stdout.
 *
 * bf16 (issue 11; --skip-bf16 leaves it out): the machine section adds the bf16 dot peak
 * (vdpbf16ps chains, rt_machine_peak), which path the bf16 matmuls take and what the CPU
 * says about AMX; each matmul shape is timed again on bf16 operands (GFLOP/s, speed over
 * our f32 kernel, share of the bf16 peak); each model trains twice, fp32 and
 * precision = bf16, with the bf16 step's speed-up over the fp32 one.
 *
 * Deliberately not here: several ranks (tools/bench_fsdp.sh), f64 matmuls (skipped),
 * comparisons across runs or machines.
 *
 * Exit codes: 0 done, 1 bad input or a failed measurement, 2 bad usage.
 */
#include "compiler.h"
#include "frontend.h"
#include "ir.h"
#include "runtime.h"
#include "subcmd.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_OK = 0, EXIT_BAD_INPUT = 1, EXIT_USAGE = 2 };
enum { WARMUP_STEPS = 2, MAX_OV = 16 };
#define RUN_S 0.02

static const char *const usage_text =
    "usage: llmbench [options]\n"
    "\n"
    "Measures this machine and build and prints one table: the FMA peak and memory\n"
    "bandwidth; each model's distinct matmul shapes, our JIT kernel against OpenBLAS\n"
    "(dlopen'd when installed); and per model the compile time (cold and cached kernel\n"
    "cache) and training throughput through llmc and llmrun, with MFU. The same in bf16:\n"
    "the bf16 dot peak, each matmul shape on bf16 operands and each model trained with\n"
    "precision = bf16 next to fp32.\n"
    "\n"
    "options:\n"
    "  --models A,B,... the .llm files to measure (repeatable); each may carry -D\n"
    "                   overrides as PATH:NAME=V,NAME=V, e.g.\n"
    "                   --models models/gpt2-tiny.llm,models/gpt2-small.llm:batch=4,seq=64\n"
    "                   Default: models/bench/{gpt2,llama,moe}-d256.llm,\n"
    "                   models/gpt2-small.llm and models/gpt2-small.llm:batch=4,seq=64\n"
    "  --steps N        training steps per model, the first 2 untimed (default 6, >= 3)\n"
    "  --threads N      threads for every measurement (default: all cores)\n"
    "  --skip-models    no compile/training rows\n"
    "  --skip-gemm      no matmul rows\n"
    "  --skip-bf16      no bf16 columns (matmuls) or bf16 rows (training)\n"
    "  --bf16-path P    auto, avx512bf16 or fp32: what multiplies bf16 operands\n"
    "                   (llmrun --help); default auto\n"
    "  --smoke          a quick check for CI: the peaks, one matmul shape and\n"
    "                   models/gpt2-tiny.llm for 3 steps\n"
    "  -h, --help       this text\n"
    "\n"
    "exit status: 0 done, 1 bad input or a failed measurement, 2 bad usage\n";

/* One model to measure: a .llm path and its -D overrides. */
typedef struct Model {
    char *path;
    char *label; /* "gpt2-small" or "gpt2-small:batch=4,seq=64" */
    FeOverride ov[MAX_OV];
    uint32_t n_ov;
    /* loaded */
    FeProgram *prog;
    IrModule m;
    CcTrainStep step;
    bool loaded;
    uint32_t vocab;
} Model;

typedef struct Options {
    Model *models;
    uint32_t n_models;
    int64_t steps;
    uint32_t threads;
    bool skip_models, skip_gemm, smoke, skip_bf16;
} Options;

static double now_s(void) {
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

/* --- options ---------------------------------------------------------------------- */

/* "PATH[:NAME=V,NAME=V]" -> m (the overrides after the last ':' that follows the last
 * '/'). false + message on a malformed override. */
static bool model_spec(const char *spec, Model *m) {
    memset(m, 0, sizeof *m);
    const char *slash = strrchr(spec, '/');
    const char *colon = strchr(slash ? slash : spec, ':');
    size_t plen = colon ? (size_t)(colon - spec) : strlen(spec);
    m->path = llmc_xmalloc(plen + 1);
    memcpy(m->path, spec, plen);
    m->path[plen] = 0;
    const char *base = strrchr(m->path, '/');
    base = base ? base + 1 : m->path;
    size_t blen = strlen(base);
    if (blen > 4 && strcmp(base + blen - 4, ".llm") == 0) blen -= 4;
    size_t llen = blen + (colon ? strlen(colon) : 0);
    m->label = llmc_xmalloc(llen + 1);
    memcpy(m->label, base, blen);
    strcpy(m->label + blen, colon ? colon : "");
    for (const char *p = colon ? colon + 1 : NULL; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (!eq || eq == p || m->n_ov == MAX_OV) {
            fprintf(stderr, "llmbench: --models: '%s': expected PATH:NAME=VALUE[,NAME=VALUE...]\n", spec);
            return false;
        }
        char *name = llmc_xmalloc((size_t)(eq - p) + 1), *value = llmc_xmalloc(len - (size_t)(eq - p));
        memcpy(name, p, (size_t)(eq - p));
        name[eq - p] = 0;
        memcpy(value, eq + 1, len - (size_t)(eq - p) - 1);
        value[len - (size_t)(eq - p) - 1] = 0;
        m->ov[m->n_ov++] = (FeOverride){name, value};
        p = end ? end + 1 : NULL;
    }
    return true;
}

static void model_add(Options *o, const char *spec, bool *ok) {
    o->models = llmc_xrealloc(o->models, (o->n_models + 1) * sizeof *o->models);
    if (!model_spec(spec, &o->models[o->n_models])) *ok = false;
    o->n_models++;
}

static bool parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out) {
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

/* "A,B:k=v,k=v,C": split at commas; a piece that is NAME=VALUE (no '/', no ':') is one
 * more override of the model before it. */
static void models_add(Options *o, const char *list, bool *ok) {
    char *copy = llmc_xstrdup(list);
    LlmcBuf spec = {0};
    for (char *save = NULL, *t = strtok_r(copy, ",", &save);; t = strtok_r(NULL, ",", &save)) {
        bool more = t && strchr(t, '=') && !strchr(t, '/') && !strchr(t, ':') && spec.len;
        if (more) {
            llmc_buf_printf(&spec, ",%s", t);
            continue;
        }
        if (spec.len) model_add(o, spec.data, ok);
        spec.len = 0;
        if (!t) break;
        llmc_buf_printf(&spec, "%s", t);
    }
    llmc_buf_free(&spec);
    free(copy);
}

/* 0 ok, -1 for --help (done), else the exit code. */
static int parse_args(int argc, char **argv, Options *o) {
    memset(o, 0, sizeof *o);
    o->steps = 6;
    bool ok = true, have_models = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int64_t n;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage_text, stdout);
            return -1;
        } else if (strcmp(a, "--skip-models") == 0) {
            o->skip_models = true;
        } else if (strcmp(a, "--skip-gemm") == 0) {
            o->skip_gemm = true;
        } else if (strcmp(a, "--smoke") == 0) {
            o->smoke = true;
        } else if (strcmp(a, "--skip-bf16") == 0) {
            o->skip_bf16 = true;
        } else if ((strcmp(a, "--steps") == 0 || strcmp(a, "--threads") == 0 || strcmp(a, "--models") == 0 ||
                    strcmp(a, "--bf16-path") == 0) &&
                   !v) {
            fprintf(stderr, "llmbench: %s needs a value\n", a);
            return EXIT_USAGE;
        } else if (strcmp(a, "--steps") == 0) {
            if (!parse_int(v, WARMUP_STEPS + 1, 1000000, &n)) {
                fprintf(stderr, "llmbench: --steps '%s': expected an integer >= %d\n", v, WARMUP_STEPS + 1);
                return EXIT_USAGE;
            }
            o->steps = n, i++;
        } else if (strcmp(a, "--threads") == 0) {
            if (!parse_int(v, 1, 4096, &n)) {
                fprintf(stderr, "llmbench: --threads '%s': expected an integer in [1, 4096]\n", v);
                return EXIT_USAGE;
            }
            o->threads = (uint32_t)n, i++;
        } else if (strcmp(a, "--models") == 0) {
            models_add(o, v, &ok);
            have_models = true, i++;
        } else if (strcmp(a, "--bf16-path") == 0) {
            char msg[160];
            if (!subcmd_bf16_path(v, msg, sizeof msg)) {
                fprintf(stderr, "llmbench: %s\n", msg);
                return EXIT_USAGE;
            }
            i++;
        } else {
            fprintf(stderr, "llmbench: unknown option '%s' (try --help)\n", a);
            return EXIT_USAGE;
        }
    }
    if (!ok) return EXIT_USAGE;
    if (have_models && o->n_models == 0) {
        fprintf(stderr, "llmbench: --models: empty list\n");
        return EXIT_USAGE;
    }
    if (o->smoke && !have_models) {
        model_add(o, "models/gpt2-tiny.llm", &ok);
        o->steps = WARMUP_STEPS + 1;
    } else if (!have_models) {
        static const char *const defaults[] = {"models/bench/gpt2-d256.llm", "models/bench/llama-d256.llm",
                                               "models/bench/moe-d256.llm", "models/gpt2-small.llm",
                                               "models/gpt2-small.llm:batch=4,seq=64"};
        for (size_t k = 0; k < sizeof defaults / sizeof defaults[0]; k++) model_add(o, defaults[k], &ok);
    }
    /* the default models also from the source tree, when run from elsewhere */
    for (uint32_t k = 0; k < o->n_models && !have_models; k++) {
        Model *m = &o->models[k];
        if (access(m->path, R_OK) == 0) continue;
        size_t len = strlen(LLMC_SOURCE_DIR) + strlen(m->path) + 2;
        char *p = llmc_xmalloc(len);
        snprintf(p, len, "%s/%s", LLMC_SOURCE_DIR, m->path);
        free(m->path);
        m->path = p;
    }
    for (uint32_t k = 0; k < o->n_models; k++)
        if (access(o->models[k].path, R_OK) != 0) {
            fprintf(stderr, "llmbench: %s: %s\n", o->models[k].path, strerror(errno));
            return EXIT_BAD_INPUT;
        }
    return 0;
}

/* --- models --------------------------------------------------------------------------- */

static bool model_load(Model *md) {
    char *text = NULL;
    size_t len = 0;
    LlmcErr err = {0};
    if (!llmc_file_read(md->path, &text, &len, &err)) {
        fprintf(stderr, "llmbench: %s\n", err.msg);
        return false;
    }
    LlmcDiags d = {0};
    LlmcSource src = {md->path, text, len};
    md->prog = fe_parse(&src, &d);
    FeLowerOptions lo = {md->ov, md->n_ov};
    bool ok = md->prog && fe_lower(md->prog, &lo, &md->m, &d);
    llmc_diags_print(&d, stderr);
    llmc_diags_free(&d);
    free(text);
    if (!ok) return false;
    const IrGraph *fwd = NULL;
    for (uint32_t i = 0; i < md->m.n_graphs; i++)
        if (strcmp(ir_graph_name(md->m.graphs[i]), "forward") == 0) fwd = md->m.graphs[i];
    if (!fwd || !fwd->train.present) {
        fprintf(stderr, "llmbench: %s: the model has no %s\n", md->path, !fwd ? "@forward graph" : "train block");
        return false;
    }
    /* the vocabulary: rows of the token table, the first gathered param (as llmrun) */
    for (IrId id = 0; id < fwd->n_nodes && !md->vocab; id++) {
        const IrNode *n = &fwd->nodes[id];
        if (n->op == IR_OP_GATHER && fwd->nodes[n->operands[0]].op == IR_OP_INPUT)
            md->vocab = (uint32_t)fwd->nodes[n->operands[0]].type.dims[0];
    }
    if (!md->vocab) {
        fprintf(stderr, "llmbench: %s: no token embedding (a gathered param) to size the data by\n", md->path);
        return false;
    }
    if (!cc_train_step_build(&md->m, &md->step, &err)) {
        fprintf(stderr, "llmbench: %s: %s\n", md->path, err.msg);
        return false;
    }
    md->loaded = true;
    return true;
}

static void model_free(Model *md) {
    if (md->loaded) cc_train_step_free(&md->step);
    ir_module_free(&md->m);
    fe_program_free(md->prog);
    for (uint32_t i = 0; i < md->n_ov; i++) free((char *)md->ov[i].name), free((char *)md->ov[i].value);
    free(md->path);
    free(md->label);
}

/* --- OpenBLAS through dlopen -------------------------------------------------------- */

enum { CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112 };
typedef void (*SgemmFn)(int order, int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                        const float *b, int ldb, float beta, float *c, int ldc);
typedef void (*SetThreadsFn)(int n);

typedef struct Blas {
    void *lib;
    SgemmFn sgemm;
    char config[128]; /* openblas_get_config(), when it has one */
} Blas;

static void blas_open(Blas *b, uint32_t threads) {
    memset(b, 0, sizeof *b);
    b->lib = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!b->lib) return;
    void *s = dlsym(b->lib, "cblas_sgemm"), *t = dlsym(b->lib, "openblas_set_num_threads");
    void *c = dlsym(b->lib, "openblas_get_config");
    if (!s) {
        dlclose(b->lib);
        b->lib = NULL;
        return;
    }
    memcpy(&b->sgemm, &s, sizeof s); /* POSIX: dlsym's object pointer is the function's */
    if (t) {
        SetThreadsFn set;
        memcpy(&set, &t, sizeof t);
        set((int)threads);
    }
    if (c) {
        char *(*get)(void);
        memcpy(&get, &c, sizeof c);
        snprintf(b->config, sizeof b->config, "%s", get());
    }
}

/* --- matmul shapes ---------------------------------------------------------------------- */

typedef struct Shape {
    int64_t batches, M, N, K;
    bool ta, tb;
    IrId node;      /* the first node with it */
    uint32_t count; /* nodes of @micro with it */
    /* measured */
    double ours_s, blas_s; /* one whole matmul; 0: not measured */
    double bf16_s;         /* ours with bf16 operands (an f32 result); 0: not measured */
} Shape;

/* The distinct matmul shapes of g with an f32 result (f32 or bf16 operands: each is timed
 * both ways), in first-seen order; *n_out of them. */
static Shape *matmul_shapes(const CcJit *jit, const IrGraph *g, uint32_t *n_out) {
    Shape *v = NULL;
    uint32_t n = 0, skipped = 0;
    for (IrId id = 0; id < g->n_nodes; id++) {
        if (g->nodes[id].op != IR_OP_MATMUL) continue;
        CcMatmulPlan p;
        LlmcErr err = {0};
        if (!cc_matmul_plan(jit, g, id, &p, &err) || p.dtype != IR_DTYPE_F32) {
            skipped++;
            continue;
        }
        uint32_t k = 0;
        while (k < n && !(v[k].batches == p.batches && v[k].M == p.M && v[k].N == p.N && v[k].K == p.K &&
                          v[k].ta == p.ta && v[k].tb == p.tb))
            k++;
        if (k == n) {
            v = llmc_xrealloc(v, (n + 1) * sizeof *v);
            v[n++] = (Shape){p.batches, p.M, p.N, p.K, p.ta, p.tb, id, 0, 0, 0, 0};
        }
        v[k].count++;
    }
    if (skipped) fprintf(stderr, "llmbench: %u matmul nodes not f32 (or not plannable): skipped\n", skipped);
    *n_out = n;
    return v;
}

static float *random_floats(int64_t n, uint64_t *s) {
    size_t bytes = ((size_t)n * sizeof(float) + 63) / 64 * 64;
    float *p = aligned_alloc(64, bytes ? bytes : 64);
    if (!p) return NULL;
    for (int64_t i = 0; i < n; i++) {
        *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
        p[i] = (float)((double)(*s >> 11) * 0x1.0p-53 * 2 - 1);
    }
    return p;
}

/* n random bf16 values in [-1, 1) (the top half of random_floats' floats, rounded to
 * nearest even), as their bits. */
static uint16_t *random_bf16(int64_t n, uint64_t *s) {
    float *f = random_floats(n, s);
    size_t bytes = ((size_t)n * sizeof(uint16_t) + 63) / 64 * 64;
    uint16_t *p = f ? aligned_alloc(64, bytes ? bytes : 64) : NULL;
    for (int64_t i = 0; p && i < n; i++) {
        uint32_t u;
        memcpy(&u, &f[i], sizeof u);
        p[i] = (uint16_t)((u + 0x7fff + ((u >> 16) & 1)) >> 16);
    }
    free(f);
    return p;
}

/* What one timed call does. */
typedef struct Call {
    RtPool *pool;
    CcKernelFn fn;
    int64_t tasks;
    const Blas *blas;
    const Shape *sh;
    bool a_shared, b_shared;
    float *A, *B, *C;
    CcKernelFn bf16_fn; /* the same shape on bf16 operands */
    int64_t bf16_tasks;
    uint16_t *A16, *B16;
} Call;

static void call_ours(const Call *c) {
    void *bufs[3] = {c->A, c->B, c->C};
    rt_pool_run(c->pool, c->fn, bufs, c->tasks, 1);
}

static void call_ours_bf16(const Call *c) {
    void *bufs[3] = {c->A16, c->B16, c->C};
    rt_pool_run(c->pool, c->bf16_fn, bufs, c->bf16_tasks, 1);
}

/* Builds the kernel of one matmul of sh's shape on operands of dtype dt (an f32 result);
 * *tasks from its plan. */
static bool one_matmul(CcJit *jit, const IrGraph *g, const Shape *sh, IrDtype dt, CcKernelFn *fn, int64_t *tasks,
                       CcMatmulPlan *plan, LlmcErr *err) {
    const IrNode *node = &g->nodes[sh->node];
    IrGraph *one = ir_graph_new("bench");
    IrBuilder b;
    ir_builder_init(&b, one);
    IrType tx = g->nodes[node->operands[0]].type, ty = g->nodes[node->operands[1]].type;
    tx.dtype = ty.dtype = dt;
    IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", tx);
    IrId y = ir_build_input(&b, IR_ROLE_DATA, "y", ty);
    IrId mm = ir_build_matmul(&b, x, y, node->attrs.matmul.ta, node->attrs.matmul.tb);
    bool ok = ir_builder_ok(&b) && cc_matmul_plan(jit, one, mm, plan, err) && cc_codegen_matmul(jit, one, mm, fn, err);
    if (!ok && !err->set) llmc_err_set(err, "cannot build a one-node matmul graph: %s", b.err.msg);
    *tasks = plan->tasks;
    ir_graph_free(one);
    return ok;
}

static void call_blas(const Call *c) {
    const Shape *s = c->sh;
    int lda = (int)(s->ta ? s->M : s->K), ldb = (int)(s->tb ? s->K : s->N);
    if (s->batches > 1 && c->b_shared && !c->a_shared && !s->ta) { /* X[B*M, K] W: one call, as a user would */
        c->blas->sgemm(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, s->tb ? CBLAS_TRANS : CBLAS_NO_TRANS, (int)(s->batches * s->M),
                       (int)s->N, (int)s->K, 1.0f, c->A, lda, c->B, ldb, 0.0f, c->C, (int)s->N);
        return;
    }
    for (int64_t b = 0; b < s->batches; b++) {
        const float *A = c->A + (c->a_shared ? 0 : b * s->M * s->K);
        const float *B = c->B + (c->b_shared ? 0 : b * s->K * s->N);
        c->blas->sgemm(CBLAS_ROW_MAJOR, s->ta ? CBLAS_TRANS : CBLAS_NO_TRANS, s->tb ? CBLAS_TRANS : CBLAS_NO_TRANS,
                       (int)s->M, (int)s->N, (int)s->K, 1.0f, A, lda, B, ldb, 0.0f, c->C + b * s->M * s->N,
                       (int)s->N);
    }
}

/* Seconds per call: a warm-up call, then the median of `runs` runs, each repeating the
 * call enough times to last about RUN_S. */
static double time_call(void (*f)(const Call *), const Call *c, int runs) {
    double t0 = now_s();
    f(c);
    double one = now_s() - t0;
    int reps = one > 0 ? (int)(RUN_S / one) + 1 : 1;
    if (reps > 1000) reps = 1000;
    double t[9];
    for (int r = 0; r < runs; r++) {
        t0 = now_s();
        for (int k = 0; k < reps; k++) f(c);
        t[r] = (now_s() - t0) / reps;
    }
    return median(t, runs);
}

/* Times shape sh of graph g (node sh->node) with ours and OpenBLAS, and ours on bf16
 * operands unless skip_bf16. */
static bool shape_measure(CcJit *jit, RtPool *pool, const Blas *blas, const IrGraph *g, Shape *sh, bool skip_bf16,
                          LlmcErr *err) {
    CcMatmulPlan plan;
    Call c = {.pool = pool, .blas = blas, .sh = sh};
    bool ok = one_matmul(jit, g, sh, IR_DTYPE_F32, &c.fn, &c.tasks, &plan, err) &&
              (skip_bf16 || one_matmul(jit, g, sh, IR_DTYPE_BF16, &c.bf16_fn, &c.bf16_tasks, &plan, err));
    const IrNode *node = &g->nodes[sh->node];
    int64_t na = ir_type_numel(&g->nodes[node->operands[0]].type), nb = ir_type_numel(&g->nodes[node->operands[1]].type);
    if (ok) {
        uint64_t seed = 0x9E3779B97F4A7C15ull;
        c.a_shared = plan.a_shared, c.b_shared = plan.b_shared;
        c.A = random_floats(na, &seed);
        c.B = random_floats(nb, &seed);
        c.C = random_floats(ir_type_numel(&node->type), &seed);
        c.A16 = skip_bf16 ? NULL : random_bf16(na, &seed);
        c.B16 = skip_bf16 ? NULL : random_bf16(nb, &seed);
        if (!c.A || !c.B || !c.C || (!skip_bf16 && (!c.A16 || !c.B16))) {
            llmc_err_set(err, "out of memory for the operands");
            ok = false;
        }
    }
    if (ok) {
        double flops = 2.0 * (double)sh->batches * (double)sh->M * (double)sh->N * (double)sh->K;
        int runs = flops > 2e10 ? 3 : 5;
        sh->ours_s = time_call(call_ours, &c, runs);
        if (blas->lib) sh->blas_s = time_call(call_blas, &c, runs);
        if (!skip_bf16) sh->bf16_s = time_call(call_ours_bf16, &c, runs);
    }
    free(c.A), free(c.B), free(c.C), free(c.A16), free(c.B16);
    return ok;
}

static void fmt_gf(char *out, size_t n, double flops, double s) {
    if (s > 0) snprintf(out, n, "%.1f", flops / s * 1e-9);
    else snprintf(out, n, "-");
}

static void print_gemm_header(void) {
    printf("%-28s %-24s %5s %5s %6s %6s %6s %2s %2s | %9s %9s %7s | %9s %7s %7s\n", "model", "scope (first node)", "nodes",
           "batch", "M", "N", "K", "ta", "tb", "ours GF/s", "BLAS GF/s", "ours/BL", "bf16 GF/s", "bf/f32", "% bfpk");
}

/* The bf16 columns: GFLOP/s, speed against our f32 kernel, share of the bf16 peak. */
static void fmt_bf16(char *gf, char *ratio, char *pk, size_t n, double flops, double bf16_s, double f32_s,
                     double bf16_peak) {
    fmt_gf(gf, n, flops, bf16_s);
    if (bf16_s > 0 && f32_s > 0) snprintf(ratio, n, "%.2f", f32_s / bf16_s);
    else snprintf(ratio, n, "-");
    if (bf16_s > 0 && bf16_peak > 0) snprintf(pk, n, "%.1f", 100.0 * flops / bf16_s * 1e-9 / bf16_peak);
    else snprintf(pk, n, "-");
}

/* The matmul rows of one model; false when a shape could not be measured. */
static bool gemm_model(CcJit *jit, RtPool *pool, const Blas *blas, Model *md, bool smoke, bool skip_bf16,
                       double bf16_peak) {
    const IrGraph *g = md->step.micro;
    uint32_t n = 0;
    Shape *v = matmul_shapes(jit, g, &n);
    if (smoke && n > 1) n = 1;
    bool ok = true;
    double fl_total = 0, ours_total = 0, blas_total = 0, bf16_total = 0;
    uint32_t nodes = 0;
    for (uint32_t k = 0; k < n; k++) {
        Shape *sh = &v[k];
        const char *scope = ir_graph_str(g, g->nodes[sh->node].scope);
        fprintf(stderr, "llmbench: matmul %s %s [%lld x] %lld x %lld x %lld%s%s\n", md->label, scope,
                (long long)sh->batches, (long long)sh->M, (long long)sh->N, (long long)sh->K, sh->ta ? " ta" : "",
                sh->tb ? " tb" : "");
        LlmcErr err = {0};
        if (!shape_measure(jit, pool, blas, g, sh, skip_bf16, &err)) {
            fprintf(stderr, "llmbench: %s: matmul %%%u: %s\n", md->label, sh->node, err.msg);
            ok = false;
        }
        double flops = 2.0 * (double)sh->batches * (double)sh->M * (double)sh->N * (double)sh->K;
        char ours[32], bl[32], ratio[32];
        fmt_gf(ours, sizeof ours, flops, sh->ours_s);
        fmt_gf(bl, sizeof bl, flops, sh->blas_s);
        if (sh->ours_s > 0 && sh->blas_s > 0) snprintf(ratio, sizeof ratio, "%.2f", sh->blas_s / sh->ours_s);
        else snprintf(ratio, sizeof ratio, "-");
        char bgf[32], bratio[32], bpk[32];
        fmt_bf16(bgf, bratio, bpk, sizeof bgf, flops, sh->bf16_s, sh->ours_s, bf16_peak);
        printf("%-28s %-24.24s %5u %5lld %6lld %6lld %6lld %2d %2d | %9s %9s %7s | %9s %7s %7s\n", md->label,
               scope[0] ? scope : "-", sh->count, (long long)sh->batches, (long long)sh->M, (long long)sh->N,
               (long long)sh->K, sh->ta, sh->tb, ours, bl, ratio, bgf, bratio, bpk);
        fflush(stdout);
        fl_total += flops * sh->count;
        ours_total += sh->ours_s * sh->count;
        blas_total += sh->blas_s * sh->count;
        bf16_total += sh->bf16_s * sh->count;
        nodes += sh->count;
    }
    char ours[32], bl[32], ratio[32], what[64];
    fmt_gf(ours, sizeof ours, fl_total, ours_total);
    fmt_gf(bl, sizeof bl, fl_total, blas_total);
    if (ours_total > 0 && blas_total > 0) snprintf(ratio, sizeof ratio, "%.2f", blas_total / ours_total);
    else snprintf(ratio, sizeof ratio, "-");
    snprintf(what, sizeof what, "all, %.2f GFLOP", fl_total * 1e-9);
    char bgf[32], bratio[32], bpk[32];
    fmt_bf16(bgf, bratio, bpk, sizeof bgf, fl_total, bf16_total, ours_total, bf16_peak);
    printf("%-28s %-24s %5u %5s %6s %6s %6s %2s %2s | %9s %9s %7s | %9s %7s %7s\n", md->label, what, nodes, "", "", "",
           "", "", "", ours, bl, ratio, bgf, bratio, bpk);
    free(v);
    return ok;
}

/* --- subprocesses ------------------------------------------------------------------------ */

/* Runs argv (argv[0] a path) with LLMC_CACHE_DIR=cache, stdout and stderr to log; *secs
 * gets the wall time from fork to exit. true when it exited 0. */
static bool run_tool(char *const *argv, const char *cache, const char *log, double *secs) {
    fflush(stdout), fflush(stderr);
    double t0 = now_s();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "llmbench: fork: %s\n", strerror(errno));
        return false;
    }
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) dup2(fd, 1), dup2(fd, 2), close(fd);
        if (cache) setenv("LLMC_CACHE_DIR", cache, 1);
        execv(argv[0], argv);
        fprintf(stderr, "llmbench: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    *secs = now_s() - t0;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Prints the last lines of log to stderr after a failure. */
static void show_log(const char *log, const char *what) {
    char *text = NULL;
    size_t len = 0;
    LlmcErr err = {0};
    fprintf(stderr, "llmbench: %s failed; the end of %s:\n", what, log);
    if (!llmc_file_read(log, &text, &len, &err)) return;
    size_t start = len > 1500 ? len - 1500 : 0;
    fwrite(text + start, 1, len - start, stderr);
    free(text);
}

static void remove_tree(const char *dir) {
    char *argv[] = {"/bin/rm", "-rf", (char *)dir, NULL};
    double s;
    run_tool(argv, NULL, "/dev/null", &s);
}

/* --- training rows ---------------------------------------------------------------------- */

typedef struct TrainRow {
    bool ok;
    double cold_s, cached_s, step_s;
} TrainRow;

/* Random token shard(s) in dir: enough windows for `steps` steps of md. */
static bool write_data(const Model *md, const char *dir, int64_t steps, int64_t tokens_per_step) {
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "llmbench: %s: %s\n", dir, strerror(errno));
        return false;
    }
    uint64_t count = (uint64_t)((steps + 2) * tokens_per_step * 2 + 4096);
    uint32_t *ids = llmc_xmalloc(count * sizeof *ids);
    uint64_t s = 0x2545F4914F6CDD1Dull;
    for (uint64_t i = 0; i < count; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        ids[i] = (uint32_t)(s % md->vocab);
    }
    char path[600];
    snprintf(path, sizeof path, "%s/random.shard", dir);
    LlmcErr err = {0};
    bool ok = rt_shard_write(path, ids, count, md->vocab, &err);
    if (!ok) fprintf(stderr, "llmbench: %s\n", err.msg);
    free(ids);
    return ok;
}

/* Seconds per step from metrics.jsonl: elapsed_s of the last step minus that of step
 * WARMUP_STEPS, over the steps between; 0 when there are too few lines. */
static double step_seconds(const char *path) {
    char *text = NULL;
    size_t len = 0;
    LlmcErr err = {0};
    if (!llmc_file_read(path, &text, &len, &err)) {
        fprintf(stderr, "llmbench: %s\n", err.msg);
        return 0;
    }
    double t_warm = -1, t_last = -1;
    int64_t s_last = -1;
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && text[j] != '\n') j++;
        RtJson *doc = NULL;
        if (j > i && rt_json_parse(text + i, j - i, path, &doc, &err)) {
            const RtJson *st = rt_json_get(doc, "step"), *el = rt_json_get(doc, "elapsed_s");
            if (st && el && st->kind == RT_JSON_NUMBER && el->kind == RT_JSON_NUMBER) {
                if (st->integer == WARMUP_STEPS) t_warm = el->number;
                if (st->integer > s_last) s_last = st->integer, t_last = el->number;
            }
        }
        rt_json_free(doc);
        i = j + 1;
    }
    free(text);
    if (t_warm < 0 || s_last <= WARMUP_STEPS) return 0;
    return (t_last - t_warm) / (double)(s_last - WARMUP_STEPS);
}

/* The training step's compile time llmc reported last in log ("compile time  X ms  (the
 * training step)": frontend, train step, fusion and kernels; the inference graphs' kernels
 * and writing the bundle are not in it), in seconds; 0 when absent. */
static double report_compile_s(const char *log) {
    char *text = NULL;
    size_t len = 0;
    LlmcErr err = {0};
    if (!llmc_file_read(log, &text, &len, &err)) return 0;
    double ms = 0;
    const char *key = "compile time";
    for (const char *p = text; (p = strstr(p, key)); p += strlen(key))
        if (p == text || p[-1] == '\n') ms = strtod(p + strlen(key), NULL);
    free(text);
    return ms / 1e3;
}

/* precision: "fp32" or "bf16", passed to llmc as -D precision=... */
static TrainRow train_model(const Model *md, const char *bin, const char *tmp, int64_t steps, uint32_t threads,
                            int64_t tokens_per_step, const char *precision) {
    TrainRow row = {0};
    char llmc[4200], llmrun[4200]; /* bin: up to PATH_MAX */
    char bundle[512], cache[512], data[512], out[512], log[512], metrics[600]; /* tmp: /tmp/llmbench.XXXXXX */
    snprintf(llmc, sizeof llmc, "%s/llmc", bin);
    snprintf(llmrun, sizeof llmrun, "%s/llmrun", bin);
    snprintf(bundle, sizeof bundle, "%s/m.llmc", tmp);
    snprintf(cache, sizeof cache, "%s/cache", tmp);
    snprintf(data, sizeof data, "%s/data", tmp);
    snprintf(out, sizeof out, "%s/run", tmp);
    snprintf(log, sizeof log, "%s/log.txt", tmp);
    snprintf(metrics, sizeof metrics, "%s/metrics.jsonl", out);
    remove_tree(cache), remove_tree(out), remove(bundle), remove(log);

    /* llmc MODEL [-D k=v]... -o BUNDLE, cold then cached */
    char *argv[10 + 2 * MAX_OV];
    int n = 0;
    argv[n++] = llmc;
    argv[n++] = md->path;
    char defs[MAX_OV][256];
    for (uint32_t i = 0; i < md->n_ov; i++) {
        snprintf(defs[i], sizeof defs[i], "%s=%s", md->ov[i].name, md->ov[i].value);
        argv[n++] = "-D", argv[n++] = defs[i];
    }
    char prec[64];
    snprintf(prec, sizeof prec, "precision=%s", precision);
    argv[n++] = "-D", argv[n++] = prec;
    argv[n++] = "-o", argv[n++] = bundle, argv[n] = NULL;
    fprintf(stderr, "llmbench: %s: compiling in %s (empty kernel cache)\n", md->label, precision);
    double wall;
    if (!run_tool(argv, cache, log, &wall)) return show_log(log, "llmc (cold)"), row;
    row.cold_s = report_compile_s(log);
    fprintf(stderr, "llmbench: %s: compiling again (cached kernels)\n", md->label);
    if (!run_tool(argv, cache, log, &wall)) return show_log(log, "llmc (cached)"), row;
    row.cached_s = report_compile_s(log);

    if (!write_data(md, data, steps, tokens_per_step)) return row;
    char steps_s[32], threads_s[32];
    snprintf(steps_s, sizeof steps_s, "%lld", (long long)steps);
    snprintf(threads_s, sizeof threads_s, "%u", threads);
    char *rargv[] = {llmrun,   bundle,  "--data",    data,      "--out", out, "--steps", steps_s, "--threads",
                     threads_s, "--val-fraction", "0", NULL};
    fprintf(stderr, "llmbench: %s: training %lld steps on %u threads\n", md->label, (long long)steps, threads);
    double secs;
    if (!run_tool(rargv, cache, log, &secs)) return show_log(log, "llmrun"), row;
    row.step_s = step_seconds(metrics);
    if (row.step_s <= 0) {
        fprintf(stderr, "llmbench: %s: no timed steps in %s\n", md->label, metrics);
        return row;
    }
    row.ok = true;
    return row;
}

/* --- main ------------------------------------------------------------------------------ */

static void cpu_model_name(char *out, size_t n) {
    snprintf(out, n, "?");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0) continue;
        const char *v = strchr(line, ':');
        if (!v) continue;
        v++;
        while (*v == ' ' || *v == '\t') v++;
        line[strcspn(line, "\n")] = 0;
        snprintf(out, n, "%s", v);
        break;
    }
    fclose(f);
}

/* The first three fields of /proc/loadavg. */
static void load_average(char *out, size_t n) {
    snprintf(out, n, "?");
    FILE *f = fopen("/proc/loadavg", "r");
    if (!f) return;
    double a, b, c;
    if (fscanf(f, "%lf %lf %lf", &a, &b, &c) == 3) snprintf(out, n, "%.2f %.2f %.2f", a, b, c);
    fclose(f);
}

int main(int argc, char **argv) {
    Options o;
    int st = parse_args(argc, argv, &o);
    if (st) {
        for (uint32_t k = 0; k < o.n_models; k++) model_free(&o.models[k]);
        free(o.models);
        return st < 0 ? EXIT_OK : st;
    }
    LlmcErr err = {0};
    CcJit *jit = cc_jit_new(&err);
    RtPool *pool = jit ? rt_pool_new(o.threads, &err) : NULL;
    if (!pool) {
        fprintf(stderr, "llmbench: %s\n", err.msg);
        cc_jit_free(jit);
        return EXIT_BAD_INPUT;
    }
    char msg[256];
    if (!subcmd_bf16_path_check(cc_jit_has_avx512bf16(jit), msg, sizeof msg)) {
        fprintf(stderr, "llmbench: %s\n", msg);
        rt_pool_free(pool);
        cc_jit_free(jit);
        return EXIT_USAGE;
    }
    uint32_t threads = rt_pool_threads(pool);
    Blas blas;
    blas_open(&blas, threads);

    char load[64];
    load_average(load, sizeof load);
    fprintf(stderr, "llmbench: measuring the FMA peak and memory bandwidth\n");
    RtMachinePeak peak;
    if (!rt_machine_peak(jit, pool, &peak, &err)) {
        fprintf(stderr, "llmbench: %s\n", err.msg);
        st = EXIT_BAD_INPUT;
        goto done;
    }
    char cpu[256];
    cpu_model_name(cpu, sizeof cpu);
    printf("llmbench: %s, %u threads%s\n\n", o.skip_bf16 ? "f32" : "f32 and bf16", threads, o.smoke ? " (smoke run)" : "");
    printf("== machine\n");
    printf("%-24s %s\n", "cpu (/proc/cpuinfo)", cpu);
    printf("%-24s %s, AVX-512 %s\n", "JIT target", cc_jit_cpu(jit, NULL), cc_jit_has_avx512(jit) ? "yes" : "no");
    printf("%-24s %u\n", "threads", threads);
    printf("%-24s %.1f GFLOP/s (f32 FMA chains, all threads, best run)\n", "FMA peak", peak.fma_gflops);
    if (peak.bf16_gflops > 0)
        printf("%-24s %.1f GFLOP/s (vdpbf16ps chains, all threads, best run; %.2fx the FMA peak)\n", "bf16 dot peak",
               peak.bf16_gflops, peak.bf16_gflops / peak.fma_gflops);
    else
        printf("%-24s %s\n", "bf16 dot peak", "- (the JIT target has no avx512bf16)");
    RtCpuBf16 cpu_bf16;
    rt_cpu_bf16_detect(&cpu_bf16);
    char amx[160];
    rt_cpu_bf16_amx_text(&cpu_bf16, amx, sizeof amx);
    printf("%-24s %s\n", "bf16 matmuls", subcmd_bf16_path_name(cc_jit_has_avx512bf16(jit)));
    printf("%-24s %s\n", "AMX", amx);
    printf("%-24s %.1f GB/s (memcpy of 256 MiB, read + written, best pass)\n", "memory bandwidth", peak.mem_gbs);
    printf("%-24s %s (1, 5, 15 min, before the peaks; other processes skew every figure)\n", "load average", load);
    if (blas.lib) printf("%-24s %s\n", "OpenBLAS", blas.config[0] ? blas.config : "libopenblas.so.0");
    else printf("%-24s %s\n", "OpenBLAS", "not installed (apt-get install libopenblas0-pthread)");
    fflush(stdout);

    bool need_models = !o.skip_gemm || !o.skip_models;
    for (uint32_t k = 0; k < o.n_models && need_models; k++) {
        fprintf(stderr, "llmbench: %s: lowering and building the training step\n", o.models[k].label);
        if (!model_load(&o.models[k])) {
            st = EXIT_BAD_INPUT;
            goto done;
        }
    }

    if (!o.skip_gemm) {
        printf("\n== matmul: each distinct shape of @micro; GFLOP/s, median of 3-5 runs after a warm-up;\n"
               "   ours/BL = OpenBLAS time / ours (> 1: ours faster); 'all': node-weighted total;\n"
               "   bf16 = ours on bf16 operands (f32 result), bf/f32 = its speed over ours in f32,\n"
               "   %% bfpk = its share of the bf16 dot peak\n");
        print_gemm_header();
        for (uint32_t k = 0; k < o.n_models; k++) {
            if (o.smoke && k > 0) break;
            if (!gemm_model(jit, pool, &blas, &o.models[k], o.smoke, o.skip_bf16, peak.bf16_gflops)) st = EXIT_BAD_INPUT;
        }
        fflush(stdout);
    }

    if (!o.skip_models) {
        char *bin = subcmd_exe_dir(); /* where llmc and llmrun are built */
        char tmp[] = "/tmp/llmbench.XXXXXX";
        if (!mkdtemp(tmp)) {
            fprintf(stderr, "llmbench: mkdtemp: %s\n", strerror(errno));
            free(bin);
            st = EXIT_BAD_INPUT;
            goto done;
        }
        printf("\n== training: compile = the training step's, as llmc -o reports it (empty / warm kernel cache);\n"
               "   llmrun --threads %u, %lld steps, the first %d untimed; each model in fp32 and in bf16\n"
               "   (precision = bf16), x fp32 = the bf16 step's speed over the fp32 one; MFU against the f32 FMA peak\n",
               threads, (long long)o.steps, WARMUP_STEPS);
        printf("%-28s %5s %8s %10s %8s %8s %9s %9s %9s %6s %7s\n", "model", "prec", "tok/step", "GFLOP/step", "cold s",
               "cached s", "ms/step", "tok/s", "GFLOP/s", "MFU %", "x fp32");
        for (uint32_t k = 0; k < o.n_models; k++) {
            const Model *md = &o.models[k];
            CcStepFlops fl = cc_step_flops(&md->step);
            double fp32_step_s = 0;
            for (int bf16 = 0; bf16 <= !o.skip_bf16; bf16++) {
                const char *prec = bf16 ? "bf16" : "fp32";
                TrainRow r = train_model(md, bin, tmp, o.steps, threads, fl.tokens_per_step, prec);
                if (!r.ok) {
                    st = EXIT_BAD_INPUT;
                    printf("%-28s %5s %8lld %10.2f %8s %8s %9s %9s %9s %6s %7s\n", md->label, prec,
                           (long long)fl.tokens_per_step, fl.step_useful * 1e-9, "failed", "-", "-", "-", "-", "-", "-");
                    continue;
                }
                if (!bf16) fp32_step_s = r.step_s;
                double gfs = fl.step_useful / r.step_s * 1e-9;
                char speed[32];
                if (bf16 && fp32_step_s > 0) snprintf(speed, sizeof speed, "%.2f", fp32_step_s / r.step_s);
                else snprintf(speed, sizeof speed, "-");
                printf("%-28s %5s %8lld %10.2f %8.2f %8.2f %9.1f %9.0f %9.1f %6.1f %7s\n", md->label, prec,
                       (long long)fl.tokens_per_step, fl.step_useful * 1e-9, r.cold_s, r.cached_s, r.step_s * 1e3,
                       (double)fl.tokens_per_step / r.step_s, gfs,
                       peak.fma_gflops > 0 ? 100.0 * gfs / peak.fma_gflops : 0.0, speed);
                fflush(stdout);
            }
        }
        remove_tree(tmp);
        free(bin);
    }

done:
    for (uint32_t k = 0; k < o.n_models; k++) model_free(&o.models[k]);
    free(o.models);
    if (blas.lib) dlclose(blas.lib);
    rt_pool_free(pool);
    cc_jit_free(jit);
    return st;
}
