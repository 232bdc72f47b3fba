/* tests/jit/test_jit_matmul_bf16.c — JIT matmul kernels of bf16 operands (f32 result and
 * accumulation, compiler/codegen_matmul.c) against the reference interpreter.
 *
 * Two JITs in one process: the host's features (on an avx512bf16 host, the bf16_dot path:
 * vdpbf16ps on k-pair panels — asserted through CcMatmulPlan.bf16_dot) and the same with
 * "-avx512bf16" appended (the fp32 path: the pack widens bf16 to f32, f32 FMA). A host
 * without avx512bf16 (or with it turned off by LLMC_JIT_FEATURES) skips the first with a
 * message. Every kernel goes through cc_fuse, cc_kernel_call (its bf16 dtype check) and
 * cc_codegen_kernel, like the executor's.
 *
 * Cases: shapes with K odd (the bf16_dot pad), K over two KC blocks, M / N tails, every
 * ta / tb; batched (both operands rank 3, and a shared rank-2 weight on either side); an
 * epilogue y = max(x @ W + b, 0) * s (b an f32 [N] bias, s an f32 rank-0 scale); x read
 * through a permute member (the pack's movement chain) and W a concat of two inputs along
 * K (a movement tree). Values: bf16 in [-2, 2), +-1 and +-2^-12 / 2^-13 (products that
 * land on f32 ties), bf16 subnormals, tiny normals (products below f32's normal range)
 * and zeros; and a "tiny" set where every sum is near f32's smallest normal.
 *
 * Checks per output element, against the interpreter in f64 (its f32 results left in
 * double: the exact sum of the exact products, to 2^-53):
 *   |jit - ref| <= K 2^-23 S + D + K t      S = sum_k |a_k b_k|
 *   bf16_dot: D = sum of |a_k b_k| over k with a subnormal factor (vdpbf16ps reads bf16
 *             subnormals as 0), t = 2^-126 (each step's result flushed below 2^-126);
 *   fp32:     D = 0, t = 2^-149 (gradual underflow);
 * the epilogue's bound adds its f32 roundings (test_bound). The max observed error over
 * its bound is printed per path. Bare kernels are also compared bit for bit with a C model
 * of the stated order (fp32: c = fmaf(a_k, b_k, c), k ascending; bf16_dot: per k-pair the
 * odd k's product, then the even k's, each one fmaf with subnormal inputs read as 0 and a
 * subnormal result flushed to 0 — Intel's SDM pseudocode of vdpbf16ps).
 * The same bytes come out of one call, of three pieces of the task range (last first), of
 * a 1-thread and a 2-thread rt_pool_run at grain 1.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "runtime.h"
#include "test.h"

enum { PATH_DOT, PATH_FP32, PATHS };
static const char *const PATH_NAME[PATHS] = {"bf16_dot (vdpbf16ps)", "fp32 (widened, fma)"};
static CcJit *jits[PATHS];  /* NULL: the path is skipped on this host */
static RtPool *pools[2];    /* 1 and 2 threads */
static double worst[PATHS]; /* max |jit - ref| / bound */
static int n_cases[PATHS];

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static double urand(void) { /* [0, 1) */
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) * 0x1.0p-53;
}

typedef enum Values { VAL_MIXED, VAL_TINY } Values;
typedef enum Operand { OPND_DIRECT, OPND_PERMUTED_X, OPND_CONCAT_W } Operand;

typedef struct Case {
    int64_t batch; /* 0: both rank 2 */
    int shared;    /* 0 none, 1 x rank 2, 2 y rank 2 (batch > 0) */
    int64_t M, N, K;
    bool ta, tb;
    bool epilogue; /* y = max(x @ W + b, 0) * s */
    Values vals;
    Operand opnd;
} Case;

/* One bf16 value of the case's distribution (a double holding it exactly). */
static double bf16_value(Values v) {
    double u = urand(), sign = urand() < 0.5 ? -1 : 1;
    if (v == VAL_TINY) { /* products near 2^-126, sums around f32's smallest normal */
        if (u < 0.15) return sign * floor(urand() * 127 + 1) * 0x1p-133; /* subnormal */
        return ir_round_bf16(sign * (1 + urand()) * ldexp(1, -66 + (int)(urand() * 6)));
    }
    if (u < 0.55) return ir_round_bf16(urand() * 4 - 2);
    if (u < 0.70) { /* 1 * 1 + 2^-12 * 2^-12: a partial sum on a tie of f32 */
        static const double ties[3] = {1, 0x1p-12, 0x1p-13};
        return sign * ties[(int)(urand() * 3)];
    }
    if (u < 0.80) return sign * floor(urand() * 127 + 1) * 0x1p-133; /* bf16 subnormal */
    if (u < 0.90) return ir_round_bf16(sign * (1 + urand()) * ldexp(1, -70 + (int)(urand() * 10)));
    return sign * 0.0;
}

static bool is_subnormal(double x) { return x != 0 && fabs(x) < 0x1p-126; }

/* The graph: y = x @ W (or the epilogue of it); ids of what the bound reads. */
typedef struct Built {
    IrGraph *g;
    IrId out, mm, h, s; /* h = mm + b, s the scale (epilogue only) */
} Built;

static Built case_graph(const Case *c) {
    Built r = {.g = ir_graph_new("mmbf16"), .h = IR_ID_NONE, .s = IR_ID_NONE};
    IrBuilder b;
    ir_builder_init(&b, r.g);
    int64_t xd[3], yd[3];
    uint32_t xr = 0, yr = 0;
    if (c->batch && c->shared != 1) xd[xr++] = c->batch;
    if (c->batch && c->shared != 2) yd[yr++] = c->batch;
    xd[xr++] = c->ta ? c->K : c->M;
    xd[xr++] = c->ta ? c->M : c->K;
    yd[yr++] = c->tb ? c->N : c->K;
    yd[yr++] = c->tb ? c->K : c->N;
    IrId x, y;
    if (c->opnd == OPND_PERMUTED_X) { /* stored transposed, permuted back inside the kernel */
        int64_t st[2] = {xd[1], xd[0]}, perm[2] = {1, 0};
        x = ir_build_permute(&b, ir_build_input(&b, IR_ROLE_DATA, "x", ir_type_make(IR_DTYPE_BF16, 2, st)), 2, perm);
    } else {
        x = ir_build_input(&b, IR_ROLE_DATA, "x", ir_type_make(IR_DTYPE_BF16, xr, xd));
    }
    if (c->opnd == OPND_CONCAT_W) { /* W = concat(w1, w2) along K */
        int64_t k1 = c->K / 2, axis = c->tb ? 1 : 0, d1[2] = {yd[0], yd[1]}, d2[2] = {yd[0], yd[1]};
        d1[axis] = k1;
        d2[axis] = c->K - k1;
        IrId ws[2] = {ir_build_input(&b, IR_ROLE_PARAM, "w1", ir_type_make(IR_DTYPE_BF16, 2, d1)),
                      ir_build_input(&b, IR_ROLE_PARAM, "w2", ir_type_make(IR_DTYPE_BF16, 2, d2))};
        y = ir_build_concat(&b, ws, 2, axis);
    } else {
        y = ir_build_input(&b, IR_ROLE_PARAM, "w", ir_type_make(IR_DTYPE_BF16, yr, yd));
    }
    r.mm = r.out = ir_build_matmul(&b, x, y, c->ta, c->tb);
    if (c->epilogue) {
        IrId bias = ir_build_input(&b, IR_ROLE_PARAM, "b", ir_type_make(IR_DTYPE_F32, 1, &c->N));
        r.s = ir_build_input(&b, IR_ROLE_PARAM, "s", ir_type_make(IR_DTYPE_F32, 0, NULL));
        r.h = ir_build_binary_bcast(&b, IR_OP_ADD, r.mm, bias);
        IrId relu = ir_build_binary_bcast(&b, IR_OP_MAX, r.h, ir_build_scalar(&b, IR_DTYPE_F32, 0));
        r.out = ir_build_binary_bcast(&b, IR_OP_MUL, relu, r.s);
    }
    ir_graph_add_output(r.g, "y", r.out);
    CHECK(ir_builder_ok(&b));
    return r;
}

/* One case's values: the graph's inputs (in[], graph order) and, from one f64 interpreter
 * run, its output, the matmul, the matmul's operands and h; v[id] points at each. */
typedef struct Ref {
    uint32_t n_in, n_out;
    IrValue *in, out[5];
    const IrValue **v; /* [n_nodes] */
} Ref;

static bool reference(const Built *r, Values vals, Ref *ref) {
    const IrGraph *g = r->g;
    memset(ref, 0, sizeof *ref);
    IrGraph *c = ir_graph_clone(g);
    c->n_outputs = 0;
    const IrNode *mm = ir_graph_node(g, r->mm);
    IrId want[5] = {r->out, r->mm, mm->operands[0], mm->operands[1], r->h}, out_id[5] = {0};
    for (int i = 0; i < 5; i++) {
        bool skip = want[i] == IR_ID_NONE || ir_graph_node(g, want[i])->op == IR_OP_INPUT;
        for (uint32_t j = 0; j < ref->n_out && !skip; j++) skip = out_id[j] == want[i];
        if (skip) continue;
        char name[16];
        snprintf(name, sizeof name, "v%u", ref->n_out);
        ir_graph_add_output(c, name, want[i]);
        out_id[ref->n_out++] = want[i];
    }
    ref->n_in = ir_graph_inputs(g, NULL);
    IrId *in_ids = malloc(ref->n_in * sizeof *in_ids);
    ir_graph_inputs(g, in_ids);
    ref->in = calloc(ref->n_in, sizeof *ref->in);
    ref->v = calloc(g->n_nodes, sizeof *ref->v);
    for (uint32_t i = 0; i < ref->n_in; i++) {
        const IrType *t = &ir_graph_node(g, in_ids[i])->type;
        ir_value_alloc(&ref->in[i], *t);
        for (int64_t e = 0; e < ir_type_numel(t); e++)
            ref->in[i].data[e] = t->dtype == IR_DTYPE_BF16 ? bf16_value(vals) : (double)(float)(urand() * 2 - 1);
        ref->v[in_ids[i]] = &ref->in[i];
    }
    IrInterpOptions opt = {.precision = IR_PRECISION_F64, .ranks = 1};
    LlmcErr err = {0};
    bool ok = ir_interp_run(c, &opt, ref->in, ref->out, &err);
    if (!ok) fprintf(stderr, "  interpreter: %s\n", err.msg);
    CHECK(ok);
    for (uint32_t o = 0; o < ref->n_out && ok; o++) ref->v[out_id[o]] = &ref->out[o];
    free(in_ids);
    ir_graph_free(c);
    return ok;
}

static void ref_free(Ref *ref) {
    for (uint32_t i = 0; i < ref->n_in; i++) ir_value_free(&ref->in[i]);
    for (uint32_t o = 0; o < ref->n_out; o++) ir_value_free(&ref->out[o]);
    free(ref->in);
    free(ref->v);
}

/* The operands' k-th elements of output element (bat, m, n), from their logical values. */
typedef struct Dot {
    const IrValue *x, *y;
    const Case *c;
    int64_t xoff, yoff, m, n;
} Dot;

static Dot dot_at(const Case *c, const IrValue *x, const IrValue *y, int64_t idx) {
    int64_t bat = idx / (c->M * c->N), m = idx / c->N % c->M, n = idx % c->N;
    return (Dot){x, y, c, x->type.rank > 2 ? bat * c->M * c->K : 0, y->type.rank > 2 ? bat * c->K * c->N : 0, m, n};
}

static double dot_a(const Dot *d, int64_t k) {
    return d->x->data[d->xoff + (d->c->ta ? k * d->c->M + d->m : d->m * d->c->K + k)];
}

static double dot_b(const Dot *d, int64_t k) {
    return d->y->data[d->yoff + (d->c->tb ? d->n * d->c->K + k : k * d->c->N + d->n)];
}

/* The banner's bound on |jit - ref| for the matmul's element. */
static double mm_bound(const Dot *d, bool dot) {
    double S = 0, D = 0;
    for (int64_t k = 0; k < d->c->K; k++) {
        double a = dot_a(d, k), b = dot_b(d, k);
        S += fabs(a * b);
        if (dot && (is_subnormal(a) || is_subnormal(b))) D += fabs(a * b);
    }
    double K = (double)d->c->K;
    return K * 0x1p-23 * S + D + K * (dot ? 0x1p-126 : 0x1p-149);
}

/* The bound on the output: the matmul's, then the epilogue's f32 roundings (h = fl(mm + b),
 * max(h, 0) 1-Lipschitz, y = fl(max * s)), generously. */
static double test_bound(const Built *r, const Ref *ref, const Dot *d, int64_t idx, bool dot) {
    double e = mm_bound(d, dot);
    if (r->h == IR_ID_NONE) return e;
    double h = fabs(ref->v[r->h]->data[idx]), s = fabs(ref->v[r->s]->data[0]);
    double eh = e + 0x1p-23 * (h + e);
    return s * (eh + 0x1p-22 * (h + eh));
}

static float daz_ftz(float x) { return fabsf(x) < 0x1p-126f ? copysignf(0.0f, x) : x; }

/* The stated summation order in C (floats hold the bf16 values exactly). */
static float model(const Dot *d, bool dot) {
    float c = 0;
    int64_t K = d->c->K;
    if (!dot) {
        for (int64_t k = 0; k < K; k++) c = fmaf((float)dot_a(d, k), (float)dot_b(d, k), c);
        return c;
    }
    for (int64_t k = 0; k < K; k += 2) { /* the odd k (0 past K), then the even k */
        float a1 = k + 1 < K ? (float)dot_a(d, k + 1) : 0, b1 = k + 1 < K ? (float)dot_b(d, k + 1) : 0;
        c = daz_ftz(fmaf(daz_ftz(a1), daz_ftz(b1), c));
        c = daz_ftz(fmaf(daz_ftz((float)dot_a(d, k)), daz_ftz((float)dot_b(d, k)), c));
    }
    return c;
}

/* Runs the case's one MATMUL kernel on path's JIT; checks it against ref. */
static void run_path(int path, const Case *c, const Built *r, const Ref *ref, const char *what) {
    CcJit *jit = jits[path];
    const IrGraph *g = r->g;
    LlmcErr err = {0};
    CcFusion f;
    CHECK(cc_fuse(g, &f, &err));
    bool one = f.n_kernels == 1 && f.kernels[0].kind == CC_KERNEL_MATMUL;
    if (!one) fprintf(stderr, "  %s: fused into %u kernels\n", what, f.n_kernels);
    CHECK(one);
    const CcKernel *k = &f.kernels[0];
    CcKernelCall call = {0};
    CcKernelFn fn = NULL;
    CcMatmulPlan plan;
    bool ok = one && cc_kernel_call(jit, g, k, 0, &call, &err) && cc_codegen_kernel(jit, g, k, 0, &fn, &err) &&
              cc_matmul_plan(jit, g, r->mm, &plan, &err);
    if (!ok && one) fprintf(stderr, "  %s [%s]: %s\n", what, PATH_NAME[path], err.msg);
    CHECK(ok);
    if (!ok) {
        cc_kernel_call_free(&call);
        cc_fusion_free(&f);
        return;
    }
    n_cases[path]++;
    CHECK(plan.in_dtype == IR_DTYPE_BF16 && plan.dtype == IR_DTYPE_F32);
    CHECK(plan.bf16_dot == (path == PATH_DOT));
    CHECK(call.n_written == 1 && call.bufs[call.n_bufs - 1] == r->out);
    uint32_t n_in = call.n_bufs - 1;
    void **bufs = calloc(call.n_bufs, sizeof *bufs), **bufs2 = calloc(call.n_bufs, sizeof *bufs2);
    for (uint32_t i = 0; i < n_in; i++) bufs2[i] = bufs[i] = rt_native_from_value(ref->v[call.bufs[i]]);
    int64_t n = ir_type_numel(&ir_graph_node(g, r->out)->type);
    size_t bytes = (size_t)n * sizeof(float);
    float *o1 = malloc(bytes), *o2 = malloc(bytes);
    memset(o1, 0x7f, bytes); /* garbage: every element must be written */
    bufs[n_in] = o1;
    bufs2[n_in] = o2;
    fn(bufs, 0, call.items);
    for (int run = 0; run < 3; run++) { /* the same bytes from pieces, 1 thread, 2 threads */
        memset(o2, 0x55 + run, bytes);
        if (run == 0) {
            int64_t T = call.items, cut1 = T / 3, cut2 = (2 * T) / 3 + (T > 1);
            if (cut2 > T) cut2 = T;
            fn(bufs2, cut2, T);
            fn(bufs2, cut1, cut2);
            fn(bufs2, 0, cut1);
        } else {
            rt_pool_run(pools[run - 1], fn, bufs2, call.items, 1);
        }
        bool same = memcmp(o1, o2, bytes) == 0;
        if (!same) fprintf(stderr, "  %s [%s]: bytes differ (%s)\n", what, PATH_NAME[path],
                           run == 0 ? "pieces" : run == 1 ? "1 thread" : "2 threads");
        CHECK(same);
    }
    const IrValue *y = ref->v[r->out], *mx = ref->v[ir_graph_node(g, r->mm)->operands[0]];
    const IrValue *my = ref->v[ir_graph_node(g, r->mm)->operands[1]];
    int64_t bad = 0, model_bad = 0;
    double ratio = 0;
    for (int64_t i = 0; i < n; i++) {
        Dot d = dot_at(c, mx, my, i);
        double got = o1[i], want = y->data[i], e = test_bound(r, ref, &d, i, path == PATH_DOT);
        double err_i = fabs(got - want);
        if (!(err_i <= e)) {
            if (bad++ < 3)
                fprintf(stderr, "  %s [%s]: element %lld: %.9g vs %.17g, error %.3g > bound %.3g\n", what,
                        PATH_NAME[path], (long long)i, got, want, err_i, e);
        } else if (err_i > 0) {
            ratio = fmax(ratio, err_i / e);
        }
        if (r->h == IR_ID_NONE) {
            float mdl = model(&d, path == PATH_DOT);
            if (memcmp(&mdl, &o1[i], sizeof mdl) != 0 && model_bad++ < 3)
                fprintf(stderr, "  %s [%s]: element %lld: %a, the model %a\n", what, PATH_NAME[path], (long long)i,
                        (double)o1[i], (double)mdl);
        }
    }
    CHECK(bad == 0);
    CHECK(model_bad == 0);
    worst[path] = fmax(worst[path], ratio);
    for (uint32_t i = 0; i < n_in; i++) free(bufs[i]);
    free(bufs), free(bufs2), free(o1), free(o2);
    cc_kernel_call_free(&call);
    cc_fusion_free(&f);
}

static void run_case(const Case *c) {
    char what[160];
    snprintf(what, sizeof what, "%s%s%s b%lld%s %lldx%lldx%lld ta%d tb%d", c->epilogue ? "epilogue " : "",
             c->opnd == OPND_PERMUTED_X ? "permuted-x " : c->opnd == OPND_CONCAT_W ? "concat-w " : "",
             c->vals == VAL_TINY ? "tiny" : "mixed", (long long)c->batch,
             c->shared == 1 ? " x-shared" : c->shared == 2 ? " y-shared" : "", (long long)c->M, (long long)c->N,
             (long long)c->K, c->ta, c->tb);
    Built r = case_graph(c);
    Ref ref;
    if (reference(&r, c->vals, &ref))
        for (int path = 0; path < PATHS; path++)
            if (jits[path]) run_path(path, c, &r, &ref, what);
    ref_free(&ref);
    ir_graph_free(r.g);
}

/* --- the cases ------------------------------------------------------------------------------- */

static void test_shapes(void) {
    static const int64_t shapes[][3] = {{1, 1, 1},     {3, 5, 7},      {17, 33, 65}, {64, 64, 64}, {15, 31, 1031},
                                        {113, 257, 3}, {29, 530, 40}, {1, 40, 17},  {40, 1, 18}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int t = 0; t < 4; t++) {
            Case c = {.M = shapes[s][0], .N = shapes[s][1], .K = shapes[s][2], .ta = t & 1, .tb = t >> 1};
            run_case(&c);
        }
    for (int t = 0; t < 4; t++) { /* sums near 2^-126: the flushes, and gradual underflow */
        Case c = {.M = 17, .N = 33, .K = 65, .ta = t & 1, .tb = t >> 1, .vals = VAL_TINY};
        run_case(&c);
    }
}

static void test_batched(void) {
    static const int64_t shapes[][3] = {{17, 33, 65}, {20, 40, 131}};
    for (size_t s = 0; s < 2; s++)
        for (int shared = 0; shared < 3; shared++)
            for (int t = 0; t < 4; t++) {
                Case c = {.batch = 3, .shared = shared, .M = shapes[s][0], .N = shapes[s][1], .K = shapes[s][2],
                          .ta = t & 1, .tb = t >> 1};
                run_case(&c);
            }
}

static void test_epilogue(void) {
    static const int64_t shapes[][3] = {{17, 33, 65}, {29, 530, 40}, {15, 31, 1031}};
    for (size_t s = 0; s < 3; s++)
        for (int t = 0; t < 4; t++) {
            Case c = {.M = shapes[s][0], .N = shapes[s][1], .K = shapes[s][2], .ta = t & 1, .tb = t >> 1,
                      .epilogue = true};
            run_case(&c);
        }
    Case c = {.batch = 3, .shared = 2, .M = 20, .N = 40, .K = 131, .epilogue = true}; /* a shared weight */
    run_case(&c);
}

/* x through a permute member (the pack's movement chain), W a concat (a movement tree). */
static void test_movement(void) {
    static const int64_t shapes[][3] = {{3, 5, 7}, {17, 33, 65}, {15, 31, 300}};
    for (int o = 0; o < 2; o++)
        for (size_t s = 0; s < 3; s++)
            for (int t = 0; t < 4; t++) {
                Case c = {.M = shapes[s][0], .N = shapes[s][1], .K = shapes[s][2], .ta = t & 1, .tb = t >> 1,
                          .epilogue = s == 1, .opnd = o ? OPND_CONCAT_W : OPND_PERMUTED_X};
                run_case(&c);
            }
}

/* The code of each path: vdpbf16ps and the intrinsic, or f32 fma and no vdpbf16ps. */
static void test_code(void) {
    Case c = {.M = 64, .N = 64, .K = 64};
    Built r = case_graph(&c);
    LlmcErr err = {0};
    CcFusion f;
    CHECK(cc_fuse(r.g, &f, &err) && f.n_kernels == 1);
    for (int path = 0; path < PATHS && f.n_kernels == 1; path++) {
        if (!jits[path]) continue;
        char *ir = cc_kernel_text(jits[path], r.g, &f.kernels[0], 0, CC_TEXT_LLVM, &err);
        char *as = cc_kernel_text(jits[path], r.g, &f.kernels[0], 0, CC_TEXT_ASM, &err);
        CHECK(ir && as);
        if (ir && as) {
            bool dot = path == PATH_DOT;
            CHECK((strstr(ir, "@llvm.x86.avx512bf16.dpbf16ps.512") != NULL) == dot);
            CHECK((strstr(as, "vdpbf16ps") != NULL) == dot);
            CHECK(dot || strstr(as, "vfmadd") != NULL);
        }
        free(ir);
        free(as);
    }
    cc_fusion_free(&f);
    ir_graph_free(r.g);
}

/* A bf16 value in the epilogue (here the cast of the result back to bf16) is refused by
 * the kernel check, not compiled. */
static void test_refused(void) {
    IrGraph *g = ir_graph_new("refused");
    IrBuilder b;
    ir_builder_init(&b, g);
    int64_t d[2] = {8, 8};
    IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", ir_type_make(IR_DTYPE_BF16, 2, d));
    IrId w = ir_build_input(&b, IR_ROLE_PARAM, "w", ir_type_make(IR_DTYPE_BF16, 2, d));
    ir_graph_add_output(g, "y", ir_build_cast(&b, ir_build_matmul(&b, x, w, false, false), IR_DTYPE_BF16));
    CHECK(ir_builder_ok(&b));
    LlmcErr err = {0};
    CcFusion f;
    CHECK(cc_fuse(g, &f, &err));
    for (uint32_t k = 0; k < f.n_kernels; k++) {
        const CcKernel *kn = &f.kernels[k];
        bool cast_in = false;
        for (uint32_t i = 0; i < kn->n_nodes; i++) cast_in |= g->nodes[kn->nodes[i]].op == IR_OP_CAST;
        if (kn->kind != CC_KERNEL_MATMUL || !cast_in) continue;
        CcKernelCall call;
        CHECK(!cc_kernel_call(jits[PATH_FP32], g, kn, 0, &call, &err));
        CHECK(strstr(err.msg, "bf16 kernels are not supported yet") != NULL);
        llmc_err_clear(&err);
    }
    cc_fusion_free(&f);
    ir_graph_free(g);
}

int main(void) {
    LlmcErr err = {0};
    CcJit *host = cc_jit_new(&err);
    if (!host) {
        fprintf(stderr, "cc_jit_new: %s\n", err.msg);
        return 1;
    }
    const char *features = NULL, *cpu = cc_jit_cpu(host, &features);
    char *off = malloc(strlen(features) + 32);
    sprintf(off, "%s%s-avx512bf16", features, *features ? "," : "");
    jits[PATH_FP32] = cc_jit_new_for(cpu, off, &err);
    free(off);
    CHECK(jits[PATH_FP32] != NULL && !cc_jit_has_avx512bf16(jits[PATH_FP32]));
    const char *edit = getenv("LLMC_JIT_FEATURES");
    bool host_bf16 = __builtin_cpu_supports("avx512bf16");
    if (host_bf16 && !(edit && *edit)) CHECK(cc_jit_has_avx512bf16(host)); /* this machine: Zen 4 */
    if (cc_jit_has_avx512bf16(host)) {
        jits[PATH_DOT] = host;
    } else {
        fprintf(stderr, "skipping the bf16_dot path: %s\n",
                host_bf16 ? "avx512bf16 turned off by LLMC_JIT_FEATURES" : "the host has no avx512bf16");
    }
    fprintf(stderr, "host cpu %s, avx512f %s, avx512bf16 %s\n", cpu, cc_jit_has_avx512(host) ? "yes" : "no",
            host_bf16 ? "yes" : "no");
    pools[0] = rt_pool_new(1, &err);
    pools[1] = rt_pool_new(2, &err);
    CHECK(pools[0] && pools[1]);
    if (jits[PATH_FP32] && pools[0] && pools[1]) {
        test_shapes();
        test_batched();
        test_epilogue();
        test_movement();
        test_code();
        test_refused();
    }
    for (int path = 0; path < PATHS; path++)
        if (jits[path])
            fprintf(stderr, "%s: %d kernels, max |jit - ref| / bound = %.3g\n", PATH_NAME[path], n_cases[path],
                    worst[path]);
    rt_pool_free(pools[0]);
    rt_pool_free(pools[1]);
    cc_jit_free(jits[PATH_FP32]);
    cc_jit_free(host);
    TEST_MAIN();
}
