/* tests/jit/test_jit_reduce.c — JIT-compiled REDUCE kernels (compiler/codegen_reduce.c)
 * against the reference interpreter.
 *
 * Builder graphs: reduce_sum and reduce_max over every axis of rank 1-4 shapes, keepdims
 * on and off, f32 and f64, with no producer, x*x, and exp(x - c) (c a rank-0 input seen
 * through a broadcast) fused in; inputs random, or with edge values (nan, +-inf, -0, +0)
 * scattered in, or only +-0 (max: the first zero wins). The kernel is the one REDUCE
 * kernel cc_fuse makes of the graph. Tolerances: f64 ||jit - ref|| / ||ref|| <= 1e-12,
 * f32 <= 1e-5 (the kernel accumulates f32 sums in f32, the interpreter in double);
 * non-finite elements equal; reduce_max exact (bits, -0 included) unless fed by exp. Calling a kernel over
 * pieces of the output range gives the same bytes as one call. A reduction over a
 * permute reads its operand through the chain (index arithmetic) and matches too. Softmax
 * and LayerNorm (gain, bias) over the last axis are one ROW kernel each, f32 and f64,
 * matching the interpreter for any split of the rows. Rows vectorized along their length
 * (W lanes and a scalar tail): softmax plus its row max over every row length 2..40 and
 * 8192, 8193, f32 and f64, random, edge values and +-0 only (the max exact: the lane
 * tie-break keeps the first), with chains strided and constant along the row; and REDUCE
 * kernels over the last axis at the same lengths.
 *
 * Then gpt2-tiny's simplified @micro and @update (-D batch=1 -D seq=8): every REDUCE
 * kernel compiles (none is "not supported yet" any more) and matches one interpreter run
 * of the whole graph (f32 mode, each kernel fed the interpreter's values of its inputs);
 * the counts are printed. Every MOVEMENT kernel of both graphs compiles
 * (cc_codegen_movement) and gives the interpreter's bytes. Every ROW kernel of gpt2-tiny's
 * and llama-tiny's (RMSNorm) @micro, bound through cc_kernel_call / cc_codegen_kernel,
 * matches the interpreter to 1e-5 by norm ratio per output (an output ~0 by cancellation
 * that misses it: the f32 summation error bound of its kernel's sums), split over rows
 * or not. Sums whose exact value is ~0 next to their
 * terms (several gradient sums) fail any relative test under f32 accumulation; those are
 * held to the f32 sequential-summation error bound instead (cancelling()).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "runtime.h"
#include "frontend.h"
#include "test.h"
#include "fuse/fuse_check.h"

/* gpt2-tiny at one short sequence keeps the whole-step checks fast. */
static const FeOverride tiny_batch[2] = {{"batch", "1"}, {"seq", "8"}};

static CcJit *jit;
static int n_cases;

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static double urand(void) { /* [0, 1) */
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) * 0x1.0p-53;
}

/* Exact: equal values with equal zero signs, nan where ref has nan. Else the norm ratio
 * over finite elements, non-finite ones equal. */
static bool compare(const char *what, const void *out, const IrValue *ref, bool exact, double tol) {
    int64_t n = ir_type_numel(&ref->type);
    double d2 = 0, r2 = 0;
    int bad = 0;
    for (int64_t i = 0; i < n; i++) {
        double a = rt_native_at(out, ref->type.dtype, i), r = ref->data[i];
        if ((isnan(a) && isnan(r)) || (a == r && signbit(a) == signbit(r))) continue;
        if (exact || !isfinite(r) || !isfinite(a)) {
            if (bad++ < 5) fprintf(stderr, "  %s[%lld]: jit %.17g ref %.17g\n", what, (long long)i, a, r);
            continue;
        }
        d2 += (a - r) * (a - r);
        r2 += r * r;
    }
    double ratio = r2 > 0 ? sqrt(d2 / r2) : sqrt(d2);
    if (bad || ratio > tol)
        fprintf(stderr, "  %s: %d mismatches, norm ratio %.3g (tolerance %.3g%s)\n", what, bad, ratio, tol,
                exact ? ", exact" : "");
    CHECK(bad == 0);
    CHECK(ratio <= tol);
    return bad == 0 && ratio <= tol;
}

/* Runs fn over all outputs, then over pieces; checks the pieces give the same bytes.
 * bufs[n_in] must be free; returns the whole-range output (malloc'd). */
static void *run_split(CcKernelFn fn, void **bufs, uint32_t n_in, const IrType *ot) {
    int64_t n = ir_type_numel(ot);
    size_t bytes = (size_t)n * ir_dtype_size(ot->dtype);
    void *whole = calloc(1, bytes + 1);
    bufs[n_in] = whole;
    fn(bufs, 0, n);
    const int64_t cuts[] = {0, 1, 2, 5, 17, 18, n / 2, n / 2 + 3, n - 1, n};
    void *split = calloc(1, bytes + 1);
    bufs[n_in] = split;
    int64_t at = 0;
    for (size_t c = 1; c < sizeof cuts / sizeof cuts[0]; c++) {
        int64_t e = cuts[c] < n ? cuts[c] : n;
        if (e < at) continue;
        fn(bufs, at, e);
        at = e;
    }
    fn(bufs, 3, 1); /* an empty range writes nothing */
    CHECK(memcmp(whole, split, bytes) == 0);
    free(split);
    bufs[n_in] = NULL;
    return whole;
}

/* The kernel of f rooted at `root`. */
static const CcKernel *kernel_at(const CcFusion *f, IrId root) {
    for (uint32_t k = 0; k < f->n_kernels; k++)
        if (f->kernels[k].root == root) return &f->kernels[k];
    return NULL;
}

/* --- builder cases ------------------------------------------------------------------- */

typedef enum Producer { PROD_NONE, PROD_SQUARE, PROD_EXP_SHIFT } Producer;
typedef enum Fill { FILL_RANDOM, FILL_EDGES, FILL_ZEROS } Fill;

static void fill_x(IrValue *v, Fill how) {
    int64_t n = ir_type_numel(&v->type);
    static const double edge[] = {NAN, INFINITY, -INFINITY, -0.0, 0.0, 1e3, -1e3};
    for (int64_t i = 0; i < n; i++) {
        double x = urand() * 8 - 4;
        if (how == FILL_EDGES && urand() < 0.08) x = edge[(int)(urand() * 7)];
        if (how == FILL_ZEROS) x = urand() < 0.5 ? -0.0 : 0.0;
        if (v->type.dtype == IR_DTYPE_F32) x = (double)(float)x;
        v->data[i] = x;
    }
}

static void one_case(IrOp op, IrDtype dt, uint32_t rank, const int64_t *dims, int64_t axis, bool keepdims,
                     Producer prod, Fill how) {
    IrGraph *g = ir_graph_new("k");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrType t = ir_type_make(dt, rank, dims);
    IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", t);
    IrId c = ir_build_input(&b, IR_ROLE_DATA, "c", ir_type_make(dt, 0, NULL));
    IrId v = x;
    if (prod == PROD_SQUARE) v = ir_build_binary(&b, IR_OP_MUL, x, x);
    if (prod == PROD_EXP_SHIFT) {
        int64_t map[1];
        IrId cb = ir_build_broadcast(&b, c, rank, dims, map);
        v = ir_build_unary(&b, IR_OP_EXP, ir_build_binary(&b, IR_OP_SUB, x, cb));
    }
    IrId r = ir_build_reduce(&b, op, v, axis, keepdims);
    ir_graph_add_output(g, "out", r);
    CHECK(ir_builder_ok(&b));

    char what[160];
    snprintf(what, sizeof what, "%s %s rank %u axis %lld%s %s %s", ir_op_name(op), ir_dtype_name(dt), rank,
             (long long)axis, keepdims ? " keepdims" : "",
             prod == PROD_NONE ? "x" : prod == PROD_SQUARE ? "x*x" : "exp(x-c)",
             how == FILL_RANDOM ? "random" : how == FILL_EDGES ? "edges" : "zeros");
    IrValue in[2];
    memset(in, 0, sizeof in);
    ir_value_alloc(&in[0], t);
    fill_x(&in[0], how);
    ir_value_alloc(&in[1], ir_type_make(dt, 0, NULL));
    in[1].data[0] = dt == IR_DTYPE_F32 ? (double)(float)0.7 : 0.7;

    IrValue ref = {0};
    IrInterpOptions opt = {.precision = dt == IR_DTYPE_F32 ? IR_PRECISION_F32 : IR_PRECISION_F64, .ranks = 1};
    LlmcErr err = {0};
    CcFusion f;
    bool ok = ir_interp_run(g, &opt, in, &ref, &err) && cc_fuse(g, &f, &err);
    if (!ok) fprintf(stderr, "  %s: %s\n", what, err.msg);
    CHECK(ok);
    if (ok) {
        const CcKernel *k = kernel_at(&f, r);
        CHECK(k && k->kind == CC_KERNEL_REDUCE && f.n_kernels == 1);
        CcKernelFn fn = NULL;
        ok = k && cc_codegen_reduce(jit, g, k, &fn, &err);
        if (!ok) fprintf(stderr, "  %s: %s\n", what, err.msg);
        CHECK(ok);
        if (ok) {
            void *bufs[4] = {0};
            for (uint32_t i = 0; i < k->n_inputs; i++) bufs[i] = rt_native_from_value(&in[k->inputs[i] == x ? 0 : 1]);
            CHECK(k->n_inputs == (prod == PROD_EXP_SHIFT ? 2u : 1u));
            void *out = run_split(fn, bufs, k->n_inputs, &g->nodes[r].type);
            /* max is exact over exactly computed producers; expf may differ by an ulp */
            bool exact = op == IR_OP_REDUCE_MAX && prod != PROD_EXP_SHIFT;
            compare(what, out, &ref, exact, exact ? 0 : dt == IR_DTYPE_F64 ? 1e-12 : 1e-5);
            free(out);
            for (uint32_t i = 0; i < k->n_inputs; i++) free(bufs[i]);
            n_cases++;
        }
        cc_fusion_free(&f);
    }
    ir_value_free(&ref);
    ir_value_free(&in[0]);
    ir_value_free(&in[1]);
    ir_graph_free(g);
}

static void test_shapes(void) {
    static const int64_t shapes[4][4] = {{45}, {7, 45}, {3, 5, 37}, {2, 3, 4, 35}};
    static const IrOp ops[2] = {IR_OP_REDUCE_SUM, IR_OP_REDUCE_MAX};
    static const IrDtype dts[2] = {IR_DTYPE_F32, IR_DTYPE_F64};
    for (uint32_t rank = 1; rank <= 4; rank++)
        for (int64_t axis = 0; axis < rank; axis++)
            for (int o = 0; o < 2; o++)
                for (int d = 0; d < 2; d++)
                    for (int keep = 0; keep < 2; keep++)
                        for (int prod = PROD_NONE; prod <= PROD_EXP_SHIFT; prod++) {
                            Fill how = (Fill)((rank + (uint32_t)axis + (uint32_t)prod + (uint32_t)keep) % 2);
                            one_case(ops[o], dts[d], rank, shapes[rank - 1], axis, keep, (Producer)prod, how);
                        }
    /* -0/+0 only (max: the first one wins) and edge values everywhere */
    for (int d = 0; d < 2; d++)
        for (int64_t axis = 0; axis < 2; axis++) {
            one_case(IR_OP_REDUCE_MAX, dts[d], 2, shapes[1], axis, false, PROD_NONE, FILL_ZEROS);
            one_case(IR_OP_REDUCE_SUM, dts[d], 2, shapes[1], axis, false, PROD_NONE, FILL_ZEROS);
            one_case(IR_OP_REDUCE_MAX, dts[d], 3, shapes[2], axis, true, PROD_SQUARE, FILL_EDGES);
            one_case(IR_OP_REDUCE_SUM, dts[d], 3, shapes[2], axis, true, PROD_EXP_SHIFT, FILL_EDGES);
        }
    /* a length-1 axis: the element itself (-0 kept) */
    static const int64_t one[3] = {4, 1, 33};
    one_case(IR_OP_REDUCE_SUM, IR_DTYPE_F32, 3, one, 1, false, PROD_NONE, FILL_ZEROS);
    one_case(IR_OP_REDUCE_MAX, IR_DTYPE_F64, 3, one, 1, true, PROD_NONE, FILL_EDGES);
}

/* A reduction of a permuted value: fusion absorbs the permute; codegen refuses it. */
static void test_unsupported(void) {
    IrGraph *g = ir_graph_new("k");
    IrBuilder b;
    ir_builder_init(&b, g);
    int64_t dims[2] = {6, 40}, perm[2] = {1, 0};
    IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", ir_type_make(IR_DTYPE_F32, 2, dims));
    IrId r = ir_build_reduce(&b, IR_OP_REDUCE_SUM, ir_build_permute(&b, x, 2, perm), 1, false);
    ir_graph_add_output(g, "out", r);
    CHECK(ir_builder_ok(&b));
    CcFusion f;
    LlmcErr err = {0};
    CHECK(cc_fuse(g, &f, &err));
    const CcKernel *k = kernel_at(&f, r);
    CHECK(k && k->kind == CC_KERNEL_REDUCE && k->n_nodes == 2);
    /* read through the permute (index arithmetic): matches the interpreter, any split */
    CcKernelFn fn = NULL;
    bool ok = k && cc_codegen_reduce(jit, g, k, &fn, &err);
    if (!ok) fprintf(stderr, "  reduce over permute: %s\n", err.msg);
    CHECK(ok);
    if (ok) {
        IrValue in = {0}, ref = {0};
        ir_value_alloc(&in, ir_type_make(IR_DTYPE_F32, 2, dims));
        fill_x(&in, FILL_RANDOM);
        IrInterpOptions opt = {.precision = IR_PRECISION_F32, .ranks = 1};
        CHECK(ir_interp_run(g, &opt, &in, &ref, &err));
        void *bufs[2] = {rt_native_from_value(&in), NULL};
        void *out = run_split(fn, bufs, 1, &ref.type);
        compare("reduce_sum over permute", out, &ref, false, 1e-5);
        free(out);
        free(bufs[0]);
        ir_value_free(&ref);
        ir_value_free(&in);
        n_cases++;
    }
    /* sum over axis 0 of x * broadcast(permute(reshape(w))): a chain over an input of
     * another shape next to a computed member, vector bodies gathering through it */
    {
        IrGraph *g2 = ir_graph_new("k");
        IrBuilder b2;
        ir_builder_init(&b2, g2);
        int64_t xd[3] = {5, 4, 40}, wd[1] = {160}, rd[2] = {40, 4}, pm[2] = {1, 0};
        IrId xx = ir_build_input(&b2, IR_ROLE_DATA, "x", ir_type_make(IR_DTYPE_F64, 3, xd));
        IrId w = ir_build_input(&b2, IR_ROLE_DATA, "w", ir_type_make(IR_DTYPE_F64, 1, wd));
        IrId wc = ir_build_broadcast_to(&b2, ir_build_permute(&b2, ir_build_reshape(&b2, w, 2, rd), 2, pm), 3, xd);
        IrId rr = ir_build_reduce(&b2, IR_OP_REDUCE_SUM, ir_build_binary(&b2, IR_OP_MUL, xx, wc), 0, false);
        ir_graph_add_output(g2, "out", rr);
        CcFusion f2;
        bool fused = ir_builder_ok(&b2) && cc_fuse(g2, &f2, &err), ok2 = fused;
        CHECK(fused);
        const CcKernel *k2 = ok2 ? kernel_at(&f2, rr) : NULL;
        CHECK(k2 && k2->kind == CC_KERNEL_REDUCE && k2->n_inputs == 2);
        CcKernelFn fn2 = NULL;
        ok2 = k2 && k2->n_inputs == 2 && cc_codegen_reduce(jit, g2, k2, &fn2, &err);
        if (!ok2) fprintf(stderr, "  reduce over a chain: %s\n", err.msg);
        CHECK(ok2);
        if (ok2) {
            IrValue in2[2], ref2 = {0};
            memset(in2, 0, sizeof in2);
            ir_value_alloc(&in2[0], ir_type_make(IR_DTYPE_F64, 3, xd));
            ir_value_alloc(&in2[1], ir_type_make(IR_DTYPE_F64, 1, wd));
            fill_x(&in2[0], FILL_RANDOM);
            fill_x(&in2[1], FILL_RANDOM);
            IrInterpOptions opt = {.precision = IR_PRECISION_F64, .ranks = 1};
            CHECK(ir_interp_run(g2, &opt, in2, &ref2, &err));
            void *bufs2[3] = {rt_native_from_value(&in2[0]), rt_native_from_value(&in2[1]), NULL};
            void *out2 = run_split(fn2, bufs2, 2, &ref2.type);
            compare("reduce_sum over a chain", out2, &ref2, false, 1e-12);
            free(out2);
            free(bufs2[0]);
            free(bufs2[1]);
            ir_value_free(&ref2);
            ir_value_free(&in2[0]);
            ir_value_free(&in2[1]);
            n_cases++;
        }
        if (fused) cc_fusion_free(&f2);
        ir_graph_free(g2);
    }
    /* IR text: verifies, vector type when the reduced axis is not the last */
    llmc_err_clear(&err);
    cc_fusion_free(&f);
    ir_graph_free(g);

    g = ir_graph_new("k");
    ir_builder_init(&b, g);
    x = ir_build_input(&b, IR_ROLE_DATA, "x", ir_type_make(IR_DTYPE_F32, 2, dims));
    r = ir_build_reduce(&b, IR_OP_REDUCE_SUM, ir_build_binary(&b, IR_OP_MUL, x, x), 0, false);
    ir_graph_add_output(g, "out", r);
    ok = cc_fuse(g, &f, &err);
    if (!ok) fprintf(stderr, "  cc_fuse: %s\n", err.msg);
    CHECK(ok);
    char *ir = cc_codegen_reduce_ir(jit, g, &f.kernels[0], false, &err);
    CHECK(ir != NULL);
    unsigned lanes = cc_jit_has_avx512(jit) ? 16 : 8;
    char vt[32];
    snprintf(vt, sizeof vt, "<%u x float>", lanes);
    CHECK(ir && strstr(ir, vt) != NULL);
    CHECK(ir && strstr(ir, "declare") == NULL); /* nothing outside the kernel */
    free(ir);
    cc_fusion_free(&f);
    ir_graph_free(g);
}

/* --- gpt2-tiny @micro ------------------------------------------------------------------ */


static int n_cancelling;

/* A reduce_sum whose result is tiny next to its terms (gradients that sum to ~0
 * mathematically): there f32 accumulation (kernel) and double accumulation (interpreter)
 * differ by rounding residue, so a norm ratio says nothing. True (and checked) when the
 * norm ratio exceeds 1e-5 but every element is within the sequential f32 error bound
 * |jit - ref| <= (len + 1) * 2^-24 * sum_i |x_i| of its own terms. */
static bool cancelling(const CcKernel *kn, const IrGraph *g, const IrValue *vals, const void *out,
                       const IrValue *ref) {
    const IrNode *r = ir_graph_node(g, kn->root);
    if (r->op != IR_OP_REDUCE_SUM || ref->type.dtype != IR_DTYPE_F32) return false;
    const IrValue *x = &vals[r->operands[0]];
    int64_t axis = r->attrs.reduce.axis, outer = 1, len = x->type.dims[axis], inner = 1;
    for (int64_t i = 0; i < axis; i++) outer *= x->type.dims[i];
    for (uint32_t i = (uint32_t)axis + 1; i < x->type.rank; i++) inner *= x->type.dims[i];
    double d2 = 0, r2 = 0;
    for (int64_t i = 0; i < outer * inner; i++) {
        double a = rt_native_at(out, IR_DTYPE_F32, i), v = ref->data[i];
        d2 += (a - v) * (a - v);
        r2 += v * v;
    }
    if (!(d2 > 1e-10 * r2)) return false; /* the plain tolerance holds */
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < inner; j++) {
            double abs_sum = 0;
            for (int64_t i = 0; i < len; i++) abs_sum += fabs(x->data[(o * len + i) * inner + j]);
            double a = rt_native_at(out, IR_DTYPE_F32, o * inner + j), v = ref->data[o * inner + j];
            double bound = (double)(len + 1) * 0x1.0p-24 * abs_sum;
            if (!(fabs(a - v) <= bound)) {
                fprintf(stderr, "  %%%u[%lld]: jit %.9g ref %.9g beyond the f32 bound %.3g\n", kn->root,
                        (long long)(o * inner + j), a, v, bound);
                CHECK(false);
                return true;
            }
        }
    n_cancelling++;
    return true;
}

static void gpt2_graph(const IrGraph *g, const char *gname, uint32_t *n_supported, uint32_t *n_total) {
    LlmcErr err = {0};
    CcFusion f;
    CHECK(cc_fuse(g, &f, &err));
    IrValue *vals = step_run_all(g, urand);
    CHECK(vals != NULL);
    uint32_t supported = 0, unsupported = 0;
    uint32_t n_move = 0;
    for (uint32_t k = 0; vals && k < f.n_kernels; k++) {
        const CcKernel *kn = &f.kernels[k];
        if (kn->kind == CC_KERNEL_MOVEMENT) { /* a copy: the interpreter's bits */
            CcKernelFn fn = NULL;
            bool ok = cc_codegen_movement(jit, g, kn, &fn, &err);
            if (!ok) fprintf(stderr, "  %%k%u (root %%%u, movement): %s\n", k, kn->root, err.msg);
            CHECK(ok);
            llmc_err_clear(&err);
            if (!ok) continue;
            void **bufs = calloc(kn->n_inputs + 1, sizeof *bufs);
            for (uint32_t i = 0; i < kn->n_inputs; i++) bufs[i] = rt_native_from_value(&vals[kn->inputs[i]]);
            const IrValue *ref = &vals[kn->root];
            void *out = run_split(fn, bufs, kn->n_inputs, &ref->type), *want = rt_native_from_value(ref);
            bool same = memcmp(out, want, (size_t)ir_type_numel(&ref->type) * ir_dtype_size(ref->type.dtype)) == 0;
            if (!same) fprintf(stderr, "  %%k%u (root %%%u, movement): bytes differ\n", k, kn->root);
            CHECK(same);
            n_move++;
            free(out);
            free(want);
            for (uint32_t i = 0; i < kn->n_inputs; i++) free(bufs[i]);
            free(bufs);
            continue;
        }
        if (kn->kind != CC_KERNEL_REDUCE) continue;
        CcKernelFn fn = NULL;
        if (!cc_codegen_reduce(jit, g, kn, &fn, &err)) {
            bool later = strstr(err.msg, "not supported yet") != NULL;
            fprintf(stderr, "  %%k%u (root %%%u, %u nodes): %s\n", k, kn->root, kn->n_nodes, err.msg);
            CHECK(later);
            unsupported++;
            llmc_err_clear(&err);
            continue;
        }
        supported++;
        void **bufs = calloc(kn->n_inputs + 1, sizeof *bufs);
        for (uint32_t i = 0; i < kn->n_inputs; i++) bufs[i] = rt_native_from_value(&vals[kn->inputs[i]]);
        const IrValue *ref = &vals[kn->root];
        void *out = run_split(fn, bufs, kn->n_inputs, &ref->type);
        char what[64];
        snprintf(what, sizeof what, "gpt2-tiny %%k%u %s", k, ir_op_name(g->nodes[kn->root].op));
        bool exact = g->nodes[kn->root].op == IR_OP_REDUCE_MAX;
        if (exact || !cancelling(kn, g, vals, out, ref)) compare(what, out, ref, exact, exact ? 0 : 1e-5);
        free(out);
        for (uint32_t i = 0; i < kn->n_inputs; i++) free(bufs[i]);
        free(bufs);
    }
    fprintf(stderr, "gpt2-tiny @%s (batch=1, seq=8): %u REDUCE kernels: %u supported, %u not yet; "
            "%u MOVEMENT kernels compiled, bit-exact\n", gname, supported + unsupported, supported, unsupported,
            n_move);
    CHECK(unsupported == 0);
    *n_supported += supported;
    *n_total += supported + unsupported;
    if (vals)
        for (IrId id = 0; id < g->n_nodes; id++) ir_value_free(&vals[id]);
    free(vals);
    cc_fusion_free(&f);
}

static void test_gpt2_tiny(void) {
    IrModule m;
    CcTrainStep step;
    CHECK(step_load_with("gpt2-tiny", tiny_batch, 2, &m, &step));
    uint32_t supported = 0, total = 0;
    if (step.micro) gpt2_graph(step.micro, "micro", &supported, &total);
    if (step.update) gpt2_graph(step.update, "update", &supported, &total);
    fprintf(stderr, "gpt2-tiny @micro + @update: %u/%u REDUCE kernels supported and matching "
            "(%d cancelling sums checked against the f32 error bound)\n", supported, total, n_cancelling);
    CHECK(total > 0 && supported == total);
    cc_train_step_free(&step);
    ir_module_free(&m);
}

/* Runs ROW kernel kn of g (bound generically: cc_kernel_call, cc_codegen_kernel) on the
 * native values of its inputs (natives[id], NULL for others); returns its outputs
 * (malloc'd each, in kn->outputs order) or NULL if it does not compile. Checks that a
 * split of the rows ([0,1) [1,items/2) [items/2,items), run backward) gives the same bytes. */
static void **row_run(const IrGraph *g, const CcKernel *kn, void *const *natives, const char *what) {
    LlmcErr err = {0};
    CcKernelCall call;
    CcKernelFn fn = NULL;
    bool ok = cc_kernel_call(jit, g, kn, 0, &call, &err) && cc_codegen_kernel(jit, g, kn, 0, &fn, &err);
    if (!ok) fprintf(stderr, "  %s (root %%%u, row): %s\n", what, kn->root, err.msg);
    CHECK(ok);
    if (!ok) return NULL;
    uint32_t n_in = call.n_bufs - call.n_written;
    void **bufs = calloc(call.n_bufs, sizeof *bufs), **split = calloc(call.n_bufs, sizeof *split);
    for (uint32_t i = 0; i < call.n_bufs; i++) {
        size_t bytes = (size_t)ir_type_numel(&ir_graph_node(g, call.bufs[i])->type) *
                       ir_dtype_size(ir_graph_node(g, call.bufs[i])->type.dtype);
        bufs[i] = i < n_in ? natives[call.bufs[i]] : calloc(1, bytes + 1);
        split[i] = i < n_in ? natives[call.bufs[i]] : calloc(1, bytes + 1);
    }
    fn(bufs, 0, call.items);
    const int64_t cuts[4] = {0, call.items > 1 ? 1 : call.items, call.items / 2 > 1 ? call.items / 2 : call.items,
                             call.items};
    for (int c = 3; c-- > 0;) fn(split, cuts[c], cuts[c + 1]);
    void **outs = calloc(call.n_written, sizeof *outs);
    for (uint32_t i = n_in; i < call.n_bufs; i++) {
        const IrType *t = &ir_graph_node(g, call.bufs[i])->type;
        CHECK(memcmp(bufs[i], split[i], (size_t)ir_type_numel(t) * ir_dtype_size(t->dtype)) == 0);
        outs[i - n_in] = bufs[i];
        free(split[i]);
    }
    free(bufs);
    free(split);
    cc_kernel_call_free(&call);
    return outs;
}

/* Whether some reduce_sum member of ROW kernel kn has a row whose exact sum is below 1e-3
 * of the sum of its terms' magnitudes (gradient sums that are ~0 mathematically, such as
 * the cross-entropy's sum of dlogits), itself or a row value computed from it: there the kernel's f32 accumulation and the
 * interpreter's double accumulation differ by rounding residue of up to len * 2^-24 of
 * the terms, which after the row's later ops can be any multiple of an output that is
 * itself ~0; such an output, when it misses 1e-5, is held to row_bound instead (counted
 * and printed). */
/* ||out - ref|| / ||ref|| over finite elements (compare's measure, no check). */
static double norm_ratio(const void *out, const IrValue *ref) {
    double d2 = 0, r2 = 0;
    for (int64_t i = 0; i < ir_type_numel(&ref->type); i++) {
        double a = rt_native_at(out, ref->type.dtype, i), r = ref->data[i];
        if ((isnan(a) && isnan(r)) || (a == r && signbit(a) == signbit(r)) || !isfinite(a) || !isfinite(r)) continue;
        d2 += (a - r) * (a - r);
        r2 += r * r;
    }
    return r2 > 0 ? sqrt(d2 / r2) : sqrt(d2);
}

/* The norm of ref over the elements compare counts (not equal to out, finite). */
static double ref_norm(const void *out, const IrValue *ref) {
    double r2 = 0;
    for (int64_t i = 0; i < ir_type_numel(&ref->type); i++) {
        double a = rt_native_at(out, ref->type.dtype, i), r = ref->data[i];
        if ((isnan(a) && isnan(r)) || (a == r && signbit(a) == signbit(r)) || !isfinite(a) || !isfinite(r)) continue;
        r2 += r * r;
    }
    return r2 > 0 ? sqrt(r2) : 1;
}

/* 4 (len + 1) 2^-24 ||(sum_j |x_oj|)_o||, the largest over the kernel's reduce_sum members:
 * the f32 sequential-summation error bound of a row sum, with room for one chained sum
 * (a row sum feeding another, as softmax's backward does). */
static double row_bound(const IrGraph *g, const CcKernel *kn, const IrValue *vals) {
    double worst = 0;
    for (uint32_t i = 0; i < kn->n_nodes; i++) {
        const IrNode *r = ir_graph_node(g, kn->nodes[i]);
        if (r->op != IR_OP_REDUCE_SUM) continue;
        const IrValue *x = &vals[r->operands[0]];
        int64_t len = x->type.dims[x->type.rank - 1], rows = ir_type_numel(&x->type) / len;
        double a2 = 0;
        for (int64_t o = 0; o < rows; o++) {
            double abs_sum = 0;
            for (int64_t j = 0; j < len; j++) abs_sum += fabs(x->data[o * len + j]);
            a2 += abs_sum * abs_sum;
        }
        double b = 4.0 * (double)(len + 1) * 0x1.0p-24 * sqrt(a2);
        if (b > worst) worst = b;
    }
    return worst;
}

static bool row_cancelling(const IrGraph *g, const CcKernel *kn, const IrValue *vals) {
    for (uint32_t i = 0; i < kn->n_nodes; i++) {
        const IrNode *r = ir_graph_node(g, kn->nodes[i]);
        if (r->op != IR_OP_REDUCE_SUM) continue;
        const IrValue *x = &vals[r->operands[0]];
        int64_t len = x->type.dims[x->type.rank - 1], rows = ir_type_numel(&x->type) / len;
        for (int64_t o = 0; o < rows; o++) {
            double abs_sum = 0;
            for (int64_t j = 0; j < len; j++) abs_sum += fabs(x->data[o * len + j]);
            /* the sum itself, or a row value computed from it (sum + c) */
            for (uint32_t v = i; v < kn->n_nodes; v++) {
                const IrValue *s = &vals[kn->nodes[v]];
                if (ir_type_numel(&s->type) == rows && fabs(s->data[o]) < 1e-3 * abs_sum) return true;
            }
        }
    }
    return false;
}

/* Every ROW kernel of a model's simplified @micro (-D batch=1 -D seq=8) compiles and
 * matches one interpreter run of the whole graph, each output to 1e-5 by norm ratio. */
static void test_model_rows(const char *name) {
    IrModule m;
    CcTrainStep step;
    CHECK(step_load_with(name, tiny_batch, 2, &m, &step));
    const IrGraph *g = step.micro;
    LlmcErr err = {0};
    CcFusion f;
    IrValue *vals = g ? step_run_all(g, urand) : NULL;
    CHECK(vals != NULL);
    uint32_t n_rows = 0, n_red = 0, n_cancel = 0;
    if (vals && cc_fuse(g, &f, &err)) {
        void **natives = calloc(g->n_nodes, sizeof *natives);
        for (IrId id = 0; id < g->n_nodes; id++)
            if (vals[id].data) natives[id] = rt_native_from_value(&vals[id]);
        for (uint32_t k = 0; k < f.n_kernels; k++) {
            const CcKernel *kn = &f.kernels[k];
            if (kn->kind != CC_KERNEL_ROW) continue;
            n_rows++;
            for (uint32_t i = 0; i < kn->n_nodes; i++)
                n_red += ir_op_info(ir_graph_node(g, kn->nodes[i])->op)->kind == IR_KIND_REDUCE;
            char what[96];
            snprintf(what, sizeof what, "%s %%k%u", name, k);
            void **outs = row_run(g, kn, natives, what);
            if (!outs) continue;
            bool cancel = row_cancelling(g, kn, vals), loose = false;
            for (uint32_t o = 0; o < kn->n_outputs; o++) {
                snprintf(what, sizeof what, "%s %%k%u output %%%u", name, k, kn->outputs[o]);
                const IrValue *ref = &vals[kn->outputs[o]];
                if (cancel && norm_ratio(outs[o], ref) > 1e-5) {
                    /* ~0 by cancellation: the f32 sequential-summation bound of the terms */
                    double dist = norm_ratio(outs[o], ref) * ref_norm(outs[o], ref), bound = row_bound(g, kn, vals);
                    if (!(dist <= bound))
                        fprintf(stderr, "  %s: error %.3g beyond the f32 summation bound %.3g\n", what, dist, bound);
                    CHECK(dist <= bound);
                    loose = true;
                    continue;
                }
                compare(what, outs[o], ref, false, 1e-5);
            }
            n_cancel += loose;
            for (uint32_t o = 0; o < kn->n_outputs; o++) free(outs[o]);
            free(outs);
        }
        for (IrId id = 0; id < g->n_nodes; id++) free(natives[id]);
        free(natives);
        cc_fusion_free(&f);
    }
    fprintf(stderr, "%s @micro (batch=1, seq=8): %u ROW kernels (%u reductions) compiled and matching, "
            "%u held to the f32 summation bound (cancelling sums)\n", name, n_rows, n_red, n_cancel);
    CHECK(n_rows > 0);
    if (vals)
        for (IrId id = 0; id < g->n_nodes; id++) ir_value_free(&vals[id]);
    free(vals);
    cc_train_step_free(&step);
    ir_module_free(&m);
}

/* Softmax over the last axis: one ROW kernel (max | sub,exp,sum | div), JIT against the
 * interpreter, and every split of the rows gives the same bytes. */
static void test_softmax_row(IrDtype dt) {
    IrGraph *g = ir_graph_new("softmax");
    IrBuilder b;
    ir_builder_init(&b, g);
    int64_t dims[2] = {7, 37};
    IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", ir_type_make(dt, 2, dims));
    IrId m = ir_build_reduce(&b, IR_OP_REDUCE_MAX, x, 1, true);
    IrId e = ir_build_unary(&b, IR_OP_EXP, ir_build_binary(&b, IR_OP_SUB, x, ir_build_broadcast_to(&b, m, 2, dims)));
    IrId s = ir_build_reduce(&b, IR_OP_REDUCE_SUM, e, 1, true);
    IrId y = ir_build_binary(&b, IR_OP_DIV, e, ir_build_broadcast_to(&b, s, 2, dims));
    ir_graph_add_output(g, "y", y);
    CHECK(ir_builder_ok(&b));
    IrValue in = {0}, ref = {0};
    ir_value_alloc(&in, ir_type_make(dt, 2, dims));
    fill_x(&in, FILL_RANDOM);
    IrInterpOptions opt = {.precision = dt == IR_DTYPE_F32 ? IR_PRECISION_F32 : IR_PRECISION_F64, .ranks = 1};
    LlmcErr err = {0};
    CcFusion f;
    bool ok = ir_interp_run(g, &opt, &in, &ref, &err) && cc_fuse(g, &f, &err);
    if (!ok) fprintf(stderr, "  softmax row: %s\n", err.msg);
    CHECK(ok);
    if (!ok) return;
    CHECK(f.n_kernels == 1 && f.kernels[0].kind == CC_KERNEL_ROW);
    if (f.n_kernels == 1) {
        CHECK(f.kernels[0].n_inputs == 1 && f.kernels[0].inputs[0] == x && f.kernels[0].n_outputs == 1 &&
              f.kernels[0].outputs[0] == y);
        void **natives = calloc(g->n_nodes, sizeof *natives);
        natives[x] = rt_native_from_value(&in);
        void **outs = row_run(g, &f.kernels[0], natives, "softmax row");
        if (outs) {
            compare("softmax row", outs[0], &ref, false, dt == IR_DTYPE_F64 ? 1e-12 : 1e-5);
            free(outs[0]);
            free(outs);
            n_cases++;
        }
        free(natives[x]);
        free(natives);
    }
    cc_fusion_free(&f);
    ir_value_free(&ref);
    ir_value_free(&in);
    ir_graph_free(g);
}

/* LayerNorm over the last axis with a gain and a bias: one ROW kernel (sum | mean | sum of
 * (x - mean)^2 | rstd | normalize), its two reductions in phases, the gain and bias read
 * through broadcasts (index arithmetic); JIT against the interpreter, any row split. */
static void test_layernorm_row(IrDtype dt) {
    IrGraph *g = ir_graph_new("layernorm");
    IrBuilder b;
    ir_builder_init(&b, g);
    int64_t dims[2] = {5, 48}, c = dims[1];
    IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", ir_type_make(dt, 2, dims));
    IrId gain = ir_build_input(&b, IR_ROLE_PARAM, "gain", ir_type_make(dt, 1, &c));
    IrId bias = ir_build_input(&b, IR_ROLE_PARAM, "bias", ir_type_make(dt, 1, &c));
    IrId inv_c = ir_build_scalar(&b, dt, 1.0 / (double)c);
    IrId mean = ir_build_binary_bcast(&b, IR_OP_MUL, ir_build_reduce(&b, IR_OP_REDUCE_SUM, x, 1, true), inv_c);
    IrId xc = ir_build_binary(&b, IR_OP_SUB, x, ir_build_broadcast_to(&b, mean, 2, dims));
    IrId var = ir_build_binary_bcast(&b, IR_OP_MUL,
                                     ir_build_reduce(&b, IR_OP_REDUCE_SUM, ir_build_binary(&b, IR_OP_MUL, xc, xc), 1, true),
                                     inv_c);
    IrId r = ir_build_unary(&b, IR_OP_RSQRT, ir_build_binary_bcast(&b, IR_OP_ADD, var, ir_build_scalar(&b, dt, 1e-5)));
    IrId y = ir_build_binary(&b, IR_OP_MUL, xc, ir_build_broadcast_to(&b, r, 2, dims));
    y = ir_build_binary_bcast(&b, IR_OP_ADD, ir_build_binary_bcast(&b, IR_OP_MUL, y, gain), bias);
    ir_graph_add_output(g, "y", y);
    CHECK(ir_builder_ok(&b));
    IrValue in[3], ref = {0};
    memset(in, 0, sizeof in);
    ir_value_alloc(&in[0], ir_type_make(dt, 2, dims));
    ir_value_alloc(&in[1], ir_type_make(dt, 1, &c));
    ir_value_alloc(&in[2], ir_type_make(dt, 1, &c));
    for (int i = 0; i < 3; i++) fill_x(&in[i], FILL_RANDOM);
    IrInterpOptions opt = {.precision = dt == IR_DTYPE_F32 ? IR_PRECISION_F32 : IR_PRECISION_F64, .ranks = 1};
    LlmcErr err = {0};
    CcFusion f;
    bool ok = ir_interp_run(g, &opt, in, &ref, &err) && cc_fuse(g, &f, &err);
    if (!ok) fprintf(stderr, "  layernorm row: %s\n", err.msg);
    CHECK(ok);
    if (!ok) return;
    CHECK(f.n_kernels == 1 && f.kernels[0].kind == CC_KERNEL_ROW);
    if (f.n_kernels == 1) {
        void **natives = calloc(g->n_nodes, sizeof *natives);
        natives[x] = rt_native_from_value(&in[0]);
        natives[gain] = rt_native_from_value(&in[1]);
        natives[bias] = rt_native_from_value(&in[2]);
        void **outs = row_run(g, &f.kernels[0], natives, "layernorm row");
        if (outs) {
            compare("layernorm row", outs[0], &ref, false, dt == IR_DTYPE_F64 ? 1e-12 : 1e-5);
            free(outs[0]);
            free(outs);
            n_cases++;
        }
        for (IrId id = 0; id < g->n_nodes; id++) free(natives[id]);
        free(natives);
    }
    cc_fusion_free(&f);
    ir_value_free(&ref);
    for (int i = 0; i < 3; i++) ir_value_free(&in[i]);
    ir_graph_free(g);
}

/* ROW kernels vectorized along the row (W lanes and a scalar tail, codegen_reduce.c):
 * softmax with its row max as a second output, m = max(z), y = exp(z - m) / sum(...),
 * over rows of every length 2..40 and 8192, 8193 (not multiples of W), f32 and f64,
 * random, with edge values (nan, +-inf, +-0), and +-0 only (the max's first-wins tie
 * rule across lanes: m must be the interpreter's bits). With `chains`,
 * z = x + permute(w) * broadcast(v): a chain strided along the row and one constant
 * along it. Every output against the interpreter, any split of the rows the same bytes. */
static void row_case(IrDtype dt, int64_t rows, int64_t len, Fill how, bool chains) {
    IrGraph *g = ir_graph_new("rowvec");
    IrBuilder b;
    ir_builder_init(&b, g);
    int64_t dims[2] = {rows, len}, wd[2] = {len, rows}, perm[2] = {1, 0}, map[1] = {0};
    IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", ir_type_make(dt, 2, dims));
    IrId w = IR_ID_NONE, v = IR_ID_NONE, z = x;
    if (chains) {
        w = ir_build_input(&b, IR_ROLE_DATA, "w", ir_type_make(dt, 2, wd));
        v = ir_build_input(&b, IR_ROLE_DATA, "v", ir_type_make(dt, 1, dims));
        z = ir_build_binary(&b, IR_OP_ADD, x,
                            ir_build_binary(&b, IR_OP_MUL, ir_build_permute(&b, w, 2, perm),
                                            ir_build_broadcast(&b, v, 2, dims, map)));
    }
    IrId m = ir_build_reduce(&b, IR_OP_REDUCE_MAX, z, 1, true);
    IrId e = ir_build_unary(&b, IR_OP_EXP, ir_build_binary(&b, IR_OP_SUB, z, ir_build_broadcast_to(&b, m, 2, dims)));
    IrId sum = ir_build_reduce(&b, IR_OP_REDUCE_SUM, e, 1, true);
    IrId y = ir_build_binary(&b, IR_OP_DIV, e, ir_build_broadcast_to(&b, sum, 2, dims));
    ir_graph_add_output(g, "y", y);
    ir_graph_add_output(g, "m", m);
    CHECK(ir_builder_ok(&b));
    char what[96];
    snprintf(what, sizeof what, "row %s [%lld,%lld]%s %s", ir_dtype_name(dt), (long long)rows, (long long)len,
             chains ? " chains" : "", how == FILL_RANDOM ? "random" : how == FILL_EDGES ? "edges" : "zeros");
    IrValue in[3], ref[2];
    memset(in, 0, sizeof in);
    memset(ref, 0, sizeof ref);
    ir_value_alloc(&in[0], ir_type_make(dt, 2, dims));
    fill_x(&in[0], how);
    uint32_t n_in = 1;
    if (chains) {
        ir_value_alloc(&in[1], ir_type_make(dt, 2, wd));
        ir_value_alloc(&in[2], ir_type_make(dt, 1, dims));
        fill_x(&in[1], how == FILL_ZEROS ? FILL_ZEROS : FILL_RANDOM);
        fill_x(&in[2], how == FILL_ZEROS ? FILL_ZEROS : FILL_RANDOM);
        n_in = 3;
    }
    IrInterpOptions opt = {.precision = dt == IR_DTYPE_F32 ? IR_PRECISION_F32 : IR_PRECISION_F64, .ranks = 1};
    LlmcErr err = {0};
    CcFusion f;
    bool ok = ir_interp_run(g, &opt, in, ref, &err) && cc_fuse(g, &f, &err);
    if (!ok) fprintf(stderr, "  %s: %s\n", what, err.msg);
    CHECK(ok);
    if (ok) {
        const CcKernel *k = NULL;
        for (uint32_t i = 0; i < f.n_kernels; i++)
            if (f.kernels[i].kind == CC_KERNEL_ROW) k = &f.kernels[i];
        CHECK(k != NULL && k->n_outputs == 2);
        if (k && k->n_outputs == 2) {
            void **natives = calloc(g->n_nodes, sizeof *natives);
            natives[x] = rt_native_from_value(&in[0]);
            if (chains) {
                natives[w] = rt_native_from_value(&in[1]);
                natives[v] = rt_native_from_value(&in[2]);
            }
            void **outs = row_run(g, k, natives, what);
            for (uint32_t o = 0; outs && o < 2; o++) {
                bool is_m = k->outputs[o] == m;
                CHECK(k->outputs[o] == m || k->outputs[o] == y);
                char w2[128];
                snprintf(w2, sizeof w2, "%s %s", what, is_m ? "max" : "softmax");
                /* the max: exact; softmax: expf may differ by an ulp, sums reassociated */
                compare(w2, outs[o], &ref[is_m ? 1 : 0], is_m, is_m ? 0 : dt == IR_DTYPE_F64 ? 1e-12 : 1e-5);
                free(outs[o]);
            }
            free(outs);
            for (IrId id = 0; id < g->n_nodes; id++) free(natives[id]);
            free(natives);
            n_cases++;
        }
        cc_fusion_free(&f);
    }
    for (uint32_t i = 0; i < n_in; i++) ir_value_free(&in[i]);
    ir_value_free(&ref[0]);
    ir_value_free(&ref[1]);
    ir_graph_free(g);
}

static void test_row_lengths(void) {
    for (int64_t len = 2; len <= 40; len++) {
        row_case(IR_DTYPE_F32, 3, len, FILL_RANDOM, false);
        row_case(IR_DTYPE_F32, 3, len, (Fill)(len % 3), len % 2 == 0);
        row_case(IR_DTYPE_F64, 2, len, (Fill)((len + 1) % 3), len % 4 == 1);
        /* the same lengths through REDUCE kernels over the last axis (inner = 1) */
        int64_t d[2] = {3, len};
        one_case(IR_OP_REDUCE_MAX, IR_DTYPE_F32, 2, d, 1, false, PROD_NONE, (Fill)(len % 3));
        one_case(IR_OP_REDUCE_SUM, IR_DTYPE_F32, 2, d, 1, true, len % 2 ? PROD_EXP_SHIFT : PROD_SQUARE,
                 (Fill)(len % 3));
    }
    static const int64_t big[2] = {8192, 8193};
    for (int i = 0; i < 2; i++) {
        row_case(IR_DTYPE_F32, 3, big[i], FILL_RANDOM, false);
        row_case(IR_DTYPE_F32, 2, big[i], FILL_EDGES, true);
        row_case(IR_DTYPE_F32, 2, big[i], FILL_ZEROS, false);
        row_case(IR_DTYPE_F64, 2, big[i], FILL_RANDOM, i == 1);
        int64_t d[2] = {3, big[i]};
        one_case(IR_OP_REDUCE_MAX, IR_DTYPE_F32, 2, d, 1, false, PROD_NONE, FILL_ZEROS);
        one_case(IR_OP_REDUCE_SUM, IR_DTYPE_F64, 2, d, 1, false, PROD_EXP_SHIFT, FILL_EDGES);
    }
}

int main(void) {
    LlmcErr err = {0};
    jit = cc_jit_new(&err);
    if (!jit) fprintf(stderr, "cc_jit_new: %s\n", err.msg);
    CHECK(jit != NULL);
    if (jit) {
        test_shapes();
        test_unsupported();
        test_gpt2_tiny();
        test_softmax_row(IR_DTYPE_F32);
        test_softmax_row(IR_DTYPE_F64);
        test_layernorm_row(IR_DTYPE_F32);
        test_layernorm_row(IR_DTYPE_F64);
        test_row_lengths();
        test_model_rows("gpt2-tiny");
        test_model_rows("llama-tiny");
        fprintf(stderr, "%d builder cases compiled and compared\n", n_cases);
    }
    cc_jit_free(jit);
    TEST_MAIN();
}
