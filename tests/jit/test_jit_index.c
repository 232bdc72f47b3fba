/* tests/jit/test_jit_index.c — JIT-compiled INDEX kernels (compiler/codegen_index.c)
 * against the reference interpreter.
 *
 * Builder graphs of one index node each, random shapes of rank 1-4 (seeded xorshift):
 *   iota over every axis; onehot with indices partly outside [0, depth); gather over every
 *   axis with every legal batch_dims; cumsum over every axis, inclusive/exclusive,
 *   forward/reverse — each in f64, f32 and i32 and compared EXACTLY (bits, zero signs
 *   included) with the interpreter (f32 graphs run with f32 precision);
 *   rand uniform in f32 and f64, bit-exact; rand normal in f32 and f64 within a relative
 *   error per element of 1e-12 (f64) or 1e-6 (f32): the kernel's Box-Muller takes log and
 *   cos from the in-kernel math (compiler/codegen_math.c), not the interpreter's libm, so
 *   bits may differ in the last place (the count and the worst relative error are printed).
 * Every kernel is also called over pieces of its range (output elements, or rows for
 * cumsum) and must give the same bytes as one call. A gather index outside the axis gives
 * 0 (the interpreter errors instead). A sharded rand is refused as "not supported yet".
 * scatter_add over every axis with every legal batch_dims, indices repeating (so the
 * accumulation order shows in f32/f64 rounding and i32 wrapping), f64/f32/i32 bit-exact,
 * out-of-range indices skipped (the interpreter errors), rows longer than one accumulator
 * chunk, and splat-constant updates; topk with ties (-0/+0 included), nans and
 * infinities, every k on small rows, bit-exact indices. Both are split over their ranges
 * (output rows; rows) like the others.
 * Absorbed movement members (fuse.c rule 5), in f64, f32 and i32, bit-exact: the MoE
 * dispatch gather(concat(x, splat zeros)) and combine gather(concat(reshape(y), zeros)),
 * a gather from a concat of two inputs along axis 1 with indices behind permute, reshape
 * and a slice (batch_dims 1), a gather from a broadcast table with stepped-slice indices;
 * scatter_add with reshaped updates, with reshaped indices and permuted updates (axis 1,
 * batch_dims 1), with updates from a concat of an input and a broadcast; onehot of
 * permuted + reshaped indices; cumsum over a permute and over a slice (every direction);
 * topk over a permute. Each must fuse into one INDEX kernel holding its members.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "runtime.h"
#include "test.h"

static CcJit *jit;
static int n_cases;
static uint32_t min_members; /* run_case: the kernel must have at least this many nodes */
static double worst_normal_rel;
static int64_t normal_not_bitexact, normal_elems;

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint64_t next_u64(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
static double urand(void) { return (double)(next_u64() >> 11) * 0x1.0p-53; }
static int64_t irand(int64_t lo, int64_t hi) { return lo + (int64_t)(next_u64() % (uint64_t)(hi - lo + 1)); }

/* Exact (equal values and zero signs, nan for nan), or within rel per element. */
static void compare(const char *what, const void *out, const IrValue *ref, double rel, bool is_normal) {
    int64_t n = ir_type_numel(&ref->type);
    int bad = 0;
    for (int64_t i = 0; i < n; i++) {
        double a = rt_native_at(out, ref->type.dtype, i), r = ref->data[i];
        bool same = (isnan(a) && isnan(r)) || (a == r && signbit(a) == signbit(r));
        if (is_normal) {
            normal_elems++;
            if (!same) normal_not_bitexact++;
            double e = r != 0 ? fabs(a - r) / fabs(r) : fabs(a);
            if (e > worst_normal_rel) worst_normal_rel = e;
        }
        if (same || (rel > 0 && fabs(a - r) <= rel * fabs(r))) continue;
        if (bad++ < 5) fprintf(stderr, "  %s[%lld]: jit %.17g ref %.17g\n", what, (long long)i, a, r);
    }
    if (bad) fprintf(stderr, "  %s: %d mismatches\n", what, bad);
    CHECK(bad == 0);
}

/* Runs fn over [0, range), then over pieces; the pieces must give the same bytes. */
static void *run_split(CcKernelFn fn, void **bufs, uint32_t n_in, const IrType *ot, int64_t range) {
    int64_t n = ir_type_numel(ot);
    size_t bytes = (size_t)n * ir_dtype_size(ot->dtype);
    void *whole = calloc(1, bytes + 1);
    bufs[n_in] = whole;
    fn(bufs, 0, range);
    void *split = calloc(1, bytes + 1);
    memset(split, 0x5a, bytes + 1);
    ((unsigned char *)whole)[bytes] = 0x5a; /* the byte past the end stays untouched */
    bufs[n_in] = split;
    int64_t at = 0;
    while (at < range) {
        int64_t e = at + irand(1, range / 3 + 1);
        if (e > range) e = range;
        fn(bufs, at, e);
        at = e;
    }
    fn(bufs, 3, 1); /* an empty range writes nothing */
    CHECK(memcmp(whole, split, bytes + 1) == 0);
    free(split);
    bufs[n_in] = NULL;
    return whole;
}

/* A built graph: one output node, inputs in build order with their values. */
typedef struct Case {
    IrGraph *g;
    IrBuilder b;
    IrId ids[4];
    IrValue vals[4];
    uint32_t n_in;
} Case;

static void case_init(Case *c) {
    memset(c, 0, sizeof *c);
    c->g = ir_graph_new("k");
    ir_builder_init(&c->b, c->g);
}

static IrId case_input(Case *c, const char *name, IrType t) {
    IrId id = ir_build_input(&c->b, IR_ROLE_DATA, name, t);
    c->ids[c->n_in] = id;
    ir_value_alloc(&c->vals[c->n_in], t);
    c->n_in++;
    return id;
}

static void case_free(Case *c) {
    for (uint32_t i = 0; i < c->n_in; i++) ir_value_free(&c->vals[i]);
    ir_graph_free(c->g);
}

static const IrValue *value_of(const Case *c, IrId id) {
    for (uint32_t i = 0; i < c->n_in; i++)
        if (c->ids[i] == id) return &c->vals[i];
    return NULL;
}

/* The kernel rooted at r, compiled; NULL fn + message when refused. */
static const CcKernel *kernel_at(const CcFusion *f, IrId root) {
    for (uint32_t k = 0; k < f->n_kernels; k++)
        if (f->kernels[k].root == root) return &f->kernels[k];
    return NULL;
}

/* Interprets, fuses, compiles and compares output r. rel 0: exact. */
static void run_case(Case *c, IrId r, const char *what, double rel, bool is_normal) {
    ir_graph_add_output(c->g, "out", r);
    CHECK(ir_builder_ok(&c->b));
    const IrNode *n = &c->g->nodes[r];
    IrDtype dt = n->type.dtype;
    IrInterpOptions opt = {.precision = dt == IR_DTYPE_F32 ? IR_PRECISION_F32 : IR_PRECISION_F64, .ranks = 1};
    IrValue ref = {0};
    LlmcErr err = {0};
    CcFusion f;
    bool ok = ir_interp_run(c->g, &opt, c->vals, &ref, &err) && cc_fuse(c->g, &f, &err);
    if (!ok) fprintf(stderr, "  %s: %s\n", what, err.msg);
    CHECK(ok);
    if (!ok) return;
    const CcKernel *k = kernel_at(&f, r);
    CHECK(k && k->kind == CC_KERNEL_INDEX);
    if (k && k->n_nodes < min_members) fprintf(stderr, "  %s: %u members, expected %u\n", what, k->n_nodes, min_members);
    CHECK(k && k->n_nodes >= min_members);
    CcKernelFn fn = NULL;
    ok = k && cc_codegen_index(jit, c->g, k, &fn, &err);
    if (!ok) fprintf(stderr, "  %s: %s\n", what, err.msg);
    CHECK(ok);
    if (ok) {
        void *bufs[8] = {0};
        for (uint32_t i = 0; i < k->n_inputs; i++) bufs[i] = rt_native_from_value(value_of(c, k->inputs[i]));
        int64_t range = ir_type_numel(&n->type);
        if (n->op == IR_OP_CUMSUM) range = n->type.dims[n->attrs.cumsum.axis] ? range / n->type.dims[n->attrs.cumsum.axis] : 0;
        if (n->op == IR_OP_TOPK) range /= n->attrs.topk.k; /* rows */
        if (n->op == IR_OP_SCATTER_ADD) { /* output rows: cc_kernel_call's items */
            CcKernelCall call;
            CHECK(cc_kernel_call(jit, c->g, k, 0, &call, &err));
            range = call.items;
            cc_kernel_call_free(&call);
        }
        void *out = run_split(fn, bufs, k->n_inputs, &n->type, range);
        compare(what, out, &ref, rel, is_normal);
        free(out);
        for (uint32_t i = 0; i < k->n_inputs; i++) free(bufs[i]);
        n_cases++;
    }
    cc_fusion_free(&f);
    ir_value_free(&ref);
}

static const IrDtype DTYPES[] = {IR_DTYPE_F64, IR_DTYPE_F32, IR_DTYPE_I32};

static uint32_t random_shape(int64_t *dims, uint32_t min_rank, uint32_t max_rank, int64_t max_dim) {
    uint32_t rank = (uint32_t)irand(min_rank, max_rank);
    for (uint32_t i = 0; i < rank; i++) dims[i] = irand(1, max_dim);
    return rank;
}

static void fill(IrValue *v) {
    int64_t n = ir_type_numel(&v->type);
    for (int64_t i = 0; i < n; i++) {
        double x;
        if (v->type.dtype == IR_DTYPE_I32) x = (double)irand(-1000, 1000);
        else x = urand() * 8 - 4;
        if (v->type.dtype == IR_DTYPE_F32) x = (double)(float)x;
        if (v->type.dtype != IR_DTYPE_I32 && urand() < 0.05) x = urand() < 0.5 ? -0.0 : 0.0;
        v->data[i] = x;
    }
}

/* --- cases ---------------------------------------------------------------------------- */

static void test_iota(void) {
    for (int rep = 0; rep < 6; rep++)
        for (size_t d = 0; d < 3; d++) {
            int64_t dims[IR_MAX_RANK];
            uint32_t rank = random_shape(dims, 1, 4, 7);
            for (uint32_t axis = 0; axis < rank; axis++) {
                Case c;
                case_init(&c);
                IrId r = ir_build_iota(&c.b, ir_type_make(DTYPES[d], rank, dims), axis);
                char what[96];
                snprintf(what, sizeof what, "iota %s rank %u axis %u", ir_dtype_name(DTYPES[d]), rank, axis);
                run_case(&c, r, what, 0, false);
                case_free(&c);
            }
        }
}

static void test_onehot(void) {
    for (int rep = 0; rep < 8; rep++)
        for (size_t d = 0; d < 3; d++) {
            int64_t dims[IR_MAX_RANK];
            uint32_t rank = random_shape(dims, 0, 3, 6);
            int64_t depth = irand(1, 9);
            Case c;
            case_init(&c);
            IrId idx = case_input(&c, "idx", ir_type_make(IR_DTYPE_I32, rank, dims));
            IrValue *v = &c.vals[0];
            for (int64_t i = 0; i < ir_type_numel(&v->type); i++) v->data[i] = (double)irand(-2, depth + 1);
            IrId r = ir_build_onehot(&c.b, idx, depth, DTYPES[d]);
            char what[96];
            snprintf(what, sizeof what, "onehot %s rank %u depth %lld", ir_dtype_name(DTYPES[d]), rank, (long long)depth);
            run_case(&c, r, what, 0, false);
            case_free(&c);
        }
}

static void gather_case(IrDtype dt, uint32_t xr, const int64_t *xd, int64_t axis, int64_t bd, uint32_t ir_,
                        const int64_t *id, bool oob) {
    Case c;
    case_init(&c);
    IrId x = case_input(&c, "x", ir_type_make(dt, xr, xd));
    IrId idx = case_input(&c, "idx", ir_type_make(IR_DTYPE_I32, ir_, id));
    fill(&c.vals[0]);
    IrValue *iv = &c.vals[1];
    for (int64_t i = 0; i < ir_type_numel(&iv->type); i++) iv->data[i] = (double)irand(0, xd[axis] - 1);
    IrId r = ir_build_gather(&c.b, x, idx, axis, bd);
    char what[128];
    snprintf(what, sizeof what, "gather %s x rank %u idx rank %u axis %lld batch_dims %lld", ir_dtype_name(dt), xr,
             ir_, (long long)axis, (long long)bd);
    if (!oob) {
        run_case(&c, r, what, 0, false);
    } else {
        /* out-of-range indices: 0 there (the interpreter errors); in-range elements equal */
        ir_graph_add_output(c.g, "out", r);
        int64_t ni = ir_type_numel(&iv->type);
        if (ni > 0) iv->data[0] = (double)xd[axis];
        if (ni > 1) iv->data[ni - 1] = -1;
        LlmcErr err = {0};
        CcFusion f;
        CHECK(cc_fuse(c.g, &f, &err));
        const CcKernel *k = kernel_at(&f, r);
        CcKernelFn fn = NULL;
        CHECK(k && cc_codegen_index(jit, c.g, k, &fn, &err));
        IrValue ref = {0};
        IrInterpOptions opt = {.precision = IR_PRECISION_F64, .ranks = 1};
        CHECK(!ir_interp_run(c.g, &opt, c.vals, &ref, &err)); /* the interpreter refuses */
        if (fn) {
            void *bufs[3] = {rt_native_from_value(&c.vals[k->inputs[0] == x ? 0 : 1]), rt_native_from_value(&c.vals[k->inputs[0] == x ? 1 : 0]),
                             NULL};
            const IrType *ot = &c.g->nodes[r].type;
            void *out = run_split(fn, bufs, 2, ot, ir_type_numel(ot));
            /* the whole slice selected by idx[0] (and by the last index) is zero */
            int64_t inner = 1;
            for (uint32_t i = (uint32_t)axis + 1; i < xr; i++) inner *= xd[i];
            int64_t zeros = 0;
            for (int64_t i = 0; i < ir_type_numel(ot); i++) zeros += rt_native_at(out, dt, i) == 0;
            CHECK(zeros >= inner);
            free(out);
            free(bufs[0]);
            free(bufs[1]);
            n_cases++;
        }
        cc_fusion_free(&f);
    }
    case_free(&c);
}

static void test_gather(void) {
    for (int rep = 0; rep < 10; rep++)
        for (size_t d = 0; d < 3; d++) {
            int64_t xd[IR_MAX_RANK], id[IR_MAX_RANK];
            uint32_t xr = random_shape(xd, 1, 3, 6);
            for (int64_t axis = 0; axis < (int64_t)xr; axis++)
                for (int64_t bd = 0; bd <= axis; bd++) {
                    uint32_t extra = (uint32_t)irand(0, 2);
                    uint32_t ir_ = (uint32_t)bd + extra;
                    if (xr - 1 + ir_ - bd > 4) continue;
                    for (int64_t i = 0; i < bd; i++) id[i] = xd[i];
                    for (uint32_t i = (uint32_t)bd; i < ir_; i++) id[i] = irand(1, 5);
                    gather_case(DTYPES[d], xr, xd, axis, bd, ir_, id, false);
                }
        }
    /* embedding lookups and out-of-range indices */
    const int64_t table[2] = {11, 5}, tokens[2] = {2, 7};
    gather_case(IR_DTYPE_F32, 2, table, 0, 0, 2, tokens, false);
    gather_case(IR_DTYPE_F32, 2, table, 0, 0, 2, tokens, true);
    const int64_t xb[3] = {3, 4, 2}, ib[2] = {3, 5};
    gather_case(IR_DTYPE_F64, 3, xb, 1, 1, 2, ib, true);
}

static void test_cumsum(void) {
    for (int rep = 0; rep < 4; rep++)
        for (size_t d = 0; d < 3; d++) {
            int64_t dims[IR_MAX_RANK];
            uint32_t rank = random_shape(dims, 1, 4, 7);
            for (uint32_t axis = 0; axis < rank; axis++)
                for (int mode = 0; mode < 4; mode++) {
                    bool exclusive = mode & 1, reverse = mode & 2;
                    Case c;
                    case_init(&c);
                    IrId x = case_input(&c, "x", ir_type_make(DTYPES[d], rank, dims));
                    fill(&c.vals[0]);
                    IrId r = ir_build_cumsum(&c.b, x, axis, exclusive, reverse);
                    char what[128];
                    snprintf(what, sizeof what, "cumsum %s rank %u axis %u%s%s", ir_dtype_name(DTYPES[d]), rank,
                             axis, exclusive ? " exclusive" : "", reverse ? " reverse" : "");
                    run_case(&c, r, what, 0, false);
                    case_free(&c);
                }
        }
    /* i32 wrapping */
    Case c;
    case_init(&c);
    const int64_t d1[1] = {6};
    IrId x = case_input(&c, "x", ir_type_make(IR_DTYPE_I32, 1, d1));
    for (int i = 0; i < 6; i++) c.vals[0].data[i] = i % 2 ? 2147483647.0 : 1000.0;
    run_case(&c, ir_build_cumsum(&c.b, x, 0, false, false), "cumsum i32 wrapping", 0, false);
    case_free(&c);
}

static void rand_case(IrDtype dt, IrRandDist dist, uint32_t rank, const int64_t *dims, uint32_t seed, uint32_t step,
                      uint32_t micro, int64_t site) {
    Case c;
    case_init(&c);
    IrType k = ir_type_make(IR_DTYPE_I32, 0, NULL);
    IrId s = case_input(&c, "seed", k), st = case_input(&c, "step", k), m = case_input(&c, "micro", k);
    c.vals[0].data[0] = (double)(int32_t)seed;
    c.vals[1].data[0] = (double)(int32_t)step;
    c.vals[2].data[0] = (double)(int32_t)micro;
    IrId r = ir_build_rand(&c.b, ir_type_make(dt, rank, dims), s, st, m, site, dist);
    char what[128];
    snprintf(what, sizeof what, "rand %s %s rank %u seed %u step %u micro %u site %lld",
             dist == IR_RAND_UNIFORM ? "uniform" : "normal", ir_dtype_name(dt), rank, seed, step, micro,
             (long long)site);
    double rel = dist == IR_RAND_UNIFORM ? 0 : dt == IR_DTYPE_F64 ? 1e-12 : 1e-6; /* uniform: exact */
    run_case(&c, r, what, rel, dist == IR_RAND_NORMAL);
    case_free(&c);
}

static void test_rand(void) {
    for (int rep = 0; rep < 6; rep++)
        for (int dist = IR_RAND_UNIFORM; dist <= IR_RAND_NORMAL; dist++)
            for (int f = 0; f < 2; f++) {
                int64_t dims[IR_MAX_RANK];
                uint32_t rank = random_shape(dims, 0, 3, 40);
                uint32_t seed = (uint32_t)next_u64(), step = (uint32_t)irand(0, 1000), micro = (uint32_t)irand(0, 7);
                if (rep == 0) seed = 0xffffffffu; /* negative as i32 */
                rand_case(f ? IR_DTYPE_F32 : IR_DTYPE_F64, (IrRandDist)dist, rank, dims, seed, step, micro,
                          irand(0, 100));
            }
    /* long streams (20000 elements) with fixed keys */
    const int64_t big[1] = {20000};
    rand_case(IR_DTYPE_F64, IR_RAND_NORMAL, 1, big, 42, 7, 1, 3);
    rand_case(IR_DTYPE_F32, IR_RAND_UNIFORM, 1, big, 42, 7, 1, 3);
}

/* scatter_add into out (dt, rank or_, dims od) at axis with batch_dims bd; idx has bd
 * batch dims then extra dims ed[0..ne); indices drawn from [0, D + oob) so repeats are
 * common (accumulation order) and, with oob, some are out of range (skipped here; the
 * interpreter errors, so those cases compare against in-range-only indices). */
static void scatter_case(IrDtype dt, uint32_t or_, const int64_t *od, int64_t axis, int64_t bd, uint32_t ne,
                         const int64_t *ed) {
    Case c;
    case_init(&c);
    int64_t id[IR_MAX_RANK], ud[2 * IR_MAX_RANK];
    uint32_t ir_ = (uint32_t)bd + ne, ur = 0;
    for (int64_t i = 0; i < bd; i++) id[i] = od[i];
    for (uint32_t i = 0; i < ne; i++) id[bd + i] = ed[i];
    for (int64_t i = 0; i < axis; i++) ud[ur++] = od[i];
    for (uint32_t i = 0; i < ne; i++) ud[ur++] = ed[i];
    for (uint32_t i = (uint32_t)axis + 1; i < or_; i++) ud[ur++] = od[i];
    IrId idx = case_input(&c, "idx", ir_type_make(IR_DTYPE_I32, ir_, id));
    IrId upd = case_input(&c, "upd", ir_type_make(dt, ur, ud));
    IrValue *iv = &c.vals[0];
    int64_t hi = irand(0, 2) == 0 ? 1 : od[axis] - 1; /* sometimes everything hits 0 or 1 */
    if (hi > od[axis] - 1) hi = od[axis] - 1;
    for (int64_t i = 0; i < ir_type_numel(&iv->type); i++) iv->data[i] = (double)irand(0, hi);
    fill(&c.vals[1]);
    /* large and small magnitudes so the f32/f64 sums round differently per order */
    for (int64_t i = 0; dt != IR_DTYPE_I32 && i < ir_type_numel(&c.vals[1].type); i++)
        if (urand() < 0.2) {
            double big = c.vals[1].data[i] * (dt == IR_DTYPE_F32 ? 1e7 : 1e16);
            c.vals[1].data[i] = dt == IR_DTYPE_F32 ? (double)(float)big : big;
        }
    for (int64_t i = 0; dt == IR_DTYPE_I32 && i < ir_type_numel(&c.vals[1].type); i++)
        if (urand() < 0.2) c.vals[1].data[i] = urand() < 0.5 ? 2147483647.0 : -2147483648.0; /* wraps */
    IrId r = ir_build_scatter_add(&c.b, ir_type_make(dt, or_, od), idx, upd, axis, bd);
    char what[128];
    snprintf(what, sizeof what, "scatter_add %s out rank %u idx rank %u axis %lld batch_dims %lld", ir_dtype_name(dt),
             or_, ir_, (long long)axis, (long long)bd);
    run_case(&c, r, what, 0, false);
    case_free(&c);
}

static void test_scatter_add(void) {
    for (int rep = 0; rep < 10; rep++)
        for (size_t d = 0; d < 3; d++) {
            int64_t od[IR_MAX_RANK], ed[IR_MAX_RANK];
            uint32_t or_ = random_shape(od, 1, 3, 5);
            for (int64_t axis = 0; axis < (int64_t)or_; axis++)
                for (int64_t bd = 0; bd <= axis; bd++) {
                    uint32_t ne = (uint32_t)irand(0, 2);
                    if (or_ - 1 + ne > 4 || bd + ne > 4) continue;
                    for (uint32_t i = 0; i < ne; i++) ed[i] = irand(1, 7);
                    scatter_case(DTYPES[d], or_, od, axis, bd, ne, ed);
                }
        }
    /* the embedding gradient: [vocab, dim] from [batch, seq] tokens */
    const int64_t table[2] = {11, 5}, tokens[2] = {4, 9};
    for (size_t d = 0; d < 3; d++) scatter_case(DTYPES[d], 2, table, 0, 0, 2, tokens);
    /* rows longer than one accumulator chunk (SCATTER_CHUNK, 1024 in codegen_index.c):
     * two full chunks and a short one per row */
    const int64_t wide[2] = {5, 2500}, few[1] = {7};
    for (size_t d = 0; d < 3; d++) scatter_case(DTYPES[d], 2, wide, 0, 0, 1, few);
    /* the cross-entropy gradient's shape: axis 2 with batch_dims 2 and a splat constant
     * as the updates (a literal in the kernel, not a buffer) */
    for (size_t d = 0; d < 3; d++) {
        Case cs;
        case_init(&cs);
        const int64_t od3[3] = {2, 5, 7}, id2[2] = {2, 5};
        IrId ix = case_input(&cs, "idx", ir_type_make(IR_DTYPE_I32, 2, id2));
        for (int64_t i = 0; i < 10; i++) cs.vals[0].data[i] = (double)irand(0, 6);
        const double v = DTYPES[d] == IR_DTYPE_I32 ? -3.0 : -0.375;
        IrId up = ir_build_const(&cs.b, ir_type_make(DTYPES[d], 2, id2), &v, 1);
        IrId rs = ir_build_scatter_add(&cs.b, ir_type_make(DTYPES[d], 3, od3), ix, up, 2, 2);
        char what[96];
        snprintf(what, sizeof what, "scatter_add %s splat updates axis 2 batch_dims 2", ir_dtype_name(DTYPES[d]));
        run_case(&cs, rs, what, 0, false);
        case_free(&cs);
    }

    /* out-of-range indices (4 and -1 into 4 rows) are skipped where the interpreter
     * errors: rows 1 and 3 get their in-range updates in order, rows 0 and 2 stay +0 */
    Case c;
    case_init(&c);
    const int64_t od[2] = {4, 3}, id1[1] = {6}, ud[2] = {6, 3};
    IrId idx = case_input(&c, "idx", ir_type_make(IR_DTYPE_I32, 1, id1));
    IrId upd = case_input(&c, "upd", ir_type_make(IR_DTYPE_F64, 2, ud));
    const double ix[6] = {1, 4, 1, -1, 3, 1};
    for (int i = 0; i < 6; i++) c.vals[0].data[i] = ix[i];
    fill(&c.vals[1]);
    IrId r = ir_build_scatter_add(&c.b, ir_type_make(IR_DTYPE_F64, 2, od), idx, upd, 0, 0);
    ir_graph_add_output(c.g, "out", r);
    LlmcErr err = {0};
    CcFusion f;
    CHECK(cc_fuse(c.g, &f, &err));
    const CcKernel *k = kernel_at(&f, r);
    CcKernelFn fn = NULL;
    CHECK(k && cc_codegen_index(jit, c.g, k, &fn, &err));
    IrValue ref = {0};
    IrInterpOptions opt = {.precision = IR_PRECISION_F64, .ranks = 1};
    CHECK(!ir_interp_run(c.g, &opt, c.vals, &ref, &err)); /* the interpreter refuses */
    if (fn) {
        void *bufs[3] = {rt_native_from_value(&c.vals[0]), rt_native_from_value(&c.vals[1]), NULL};
        void *out = run_split(fn, bufs, 2, &c.g->nodes[r].type, 4); /* 4 output rows */
        const double *o = out, *u = c.vals[1].data;
        for (int64_t col = 0; col < 3; col++) {
            double want1 = 0.0 + u[0 * 3 + col] + u[2 * 3 + col] + u[5 * 3 + col];
            double want3 = 0.0 + u[4 * 3 + col];
            CHECK(o[0 * 3 + col] == 0 && !signbit(o[0 * 3 + col]));
            CHECK(o[1 * 3 + col] == want1);
            CHECK(o[2 * 3 + col] == 0);
            CHECK(o[3 * 3 + col] == want3);
        }
        free(out);
        free(bufs[0]);
        free(bufs[1]);
        n_cases++;
    }
    cc_fusion_free(&f);
    case_free(&c);
}

/* topk over random rows with many ties (values from a small set, -0 and +0 both) and
 * nans; every k from 1 to the row length on small rows. */
static void test_topk(void) {
    for (int rep = 0; rep < 12; rep++)
        for (size_t d = 0; d < 3; d++) {
            int64_t dims[IR_MAX_RANK];
            uint32_t rank = random_shape(dims, 1, 3, 6);
            if (rep == 0) dims[rank - 1] = 1;
            int64_t n = dims[rank - 1];
            for (int64_t kk = 1; kk <= n; kk++) {
                Case c;
                case_init(&c);
                IrId x = case_input(&c, "x", ir_type_make(DTYPES[d], rank, dims));
                IrValue *v = &c.vals[0];
                for (int64_t i = 0; i < ir_type_numel(&v->type); i++) {
                    double t = (double)irand(-3, 3);
                    if (DTYPES[d] != IR_DTYPE_I32) {
                        if (t == 0 && urand() < 0.5) t = -0.0;
                        if (urand() < 0.1) t = NAN;
                        if (urand() < 0.05) t = urand() < 0.5 ? INFINITY : -INFINITY;
                        if (urand() < 0.2) t += urand(); /* a few distinct values */
                        if (DTYPES[d] == IR_DTYPE_F32) t = (double)(float)t;
                    }
                    v->data[i] = t;
                }
                IrId r = ir_build_topk(&c.b, x, kk);
                char what[96];
                snprintf(what, sizeof what, "topk %s rank %u n %lld k %lld", ir_dtype_name(DTYPES[d]), rank,
                         (long long)n, (long long)kk);
                run_case(&c, r, what, 0, false);
                case_free(&c);
            }
        }
    /* a long row: vocabulary-sized, k 5, all nans and ties at the top */
    Case c;
    case_init(&c);
    const int64_t d2[2] = {3, 1000};
    IrId x = case_input(&c, "x", ir_type_make(IR_DTYPE_F32, 2, d2));
    for (int64_t i = 0; i < 3000; i++) c.vals[0].data[i] = (double)(float)(urand() * 10);
    c.vals[0].data[10] = c.vals[0].data[20] = c.vals[0].data[999] = 100; /* ties, lower index first */
    c.vals[0].data[1500] = NAN;
    c.vals[0].data[2999] = NAN;
    c.vals[0].data[2001] = NAN;
    run_case(&c, ir_build_topk(&c.b, x, 5), "topk f32 3x1000 k 5", 0, false);
    case_free(&c);
}

/* --- absorbed movement members (fuse.c rule 5) ------------------------------------------ */

/* Index operands read through movement members absorbed into the INDEX kernel, the
 * shapes of the MoE models' dispatch and combine: each case must fuse into one INDEX
 * kernel with its movement members, and match the interpreter exactly. */
static void test_absorbed(void) {
    const int64_t T = 7, C = 5, E = 3, CAP = 4; /* tokens, width, experts, capacity */
    const double zero = 0;
    for (size_t d = 0; d < 3; d++) {
        IrDtype dt = DTYPES[d];
        char what[128];
        /* dispatch: gather(concat(x [T, C], splat zeros [1, C]), idx [E*CAP]) — index T is
         * the zero row (an empty expert slot) */
        {
            Case c;
            case_init(&c);
            const int64_t xd[2] = {T, C}, zd[2] = {1, C}, id1[1] = {E * CAP};
            IrId x = case_input(&c, "x", ir_type_make(dt, 2, xd));
            IrId idx = case_input(&c, "idx", ir_type_make(IR_DTYPE_I32, 1, id1));
            fill(&c.vals[0]);
            for (int64_t i = 0; i < E * CAP; i++) c.vals[1].data[i] = (double)irand(0, T);
            IrId parts[2] = {x, ir_build_const(&c.b, ir_type_make(dt, 2, zd), &zero, 1)};
            IrId r = ir_build_gather(&c.b, ir_build_concat(&c.b, parts, 2, 0), idx, 0, 0);
            snprintf(what, sizeof what, "gather(concat(x, zeros)) %s", ir_dtype_name(dt));
            min_members = 2;
            run_case(&c, r, what, 0, false);
            case_free(&c);
        }
        /* combine: gather(concat(reshape(y [E, CAP, C] -> [E*CAP, C]), zeros), idx [T*2]) */
        {
            Case c;
            case_init(&c);
            const int64_t yd[3] = {E, CAP, C}, y2[2] = {E * CAP, C}, zd[2] = {1, C}, id1[1] = {T * 2};
            IrId y = case_input(&c, "y", ir_type_make(dt, 3, yd));
            IrId idx = case_input(&c, "idx", ir_type_make(IR_DTYPE_I32, 1, id1));
            fill(&c.vals[0]);
            for (int64_t i = 0; i < T * 2; i++) c.vals[1].data[i] = (double)irand(0, E * CAP);
            IrId parts[2] = {ir_build_reshape(&c.b, y, 2, y2), ir_build_const(&c.b, ir_type_make(dt, 2, zd), &zero, 1)};
            IrId r = ir_build_gather(&c.b, ir_build_concat(&c.b, parts, 2, 0), idx, 0, 0);
            snprintf(what, sizeof what, "gather(concat(reshape(y), zeros)) %s", ir_dtype_name(dt));
            min_members = 3;
            run_case(&c, r, what, 0, false);
            case_free(&c);
        }
        /* gather from a concat of two inputs along axis 1, indices behind permute + reshape
         * and a strided slice; batch_dims 1 */
        {
            Case c;
            case_init(&c);
            const int64_t ad[2] = {4, 3}, bd[2] = {4, 2}, id2[2] = {2, 4}, i2[2] = {4, 2}, st[2] = {0, 0}, en[2] = {4, 2},
                          sp[2] = {1, 1};
            IrId a = case_input(&c, "a", ir_type_make(dt, 2, ad));
            IrId b = case_input(&c, "b", ir_type_make(dt, 2, bd));
            IrId idx = case_input(&c, "idx", ir_type_make(IR_DTYPE_I32, 2, id2));
            fill(&c.vals[0]);
            fill(&c.vals[1]);
            for (int64_t i = 0; i < 8; i++) c.vals[2].data[i] = (double)irand(0, 4);
            const int64_t perm[2] = {1, 0};
            IrId pi = ir_build_reshape(&c.b, ir_build_permute(&c.b, idx, 2, perm), 2, i2);
            IrId si = ir_build_slice(&c.b, pi, st, en, sp);
            IrId parts[2] = {a, b};
            IrId r = ir_build_gather(&c.b, ir_build_concat(&c.b, parts, 2, 1), si, 1, 1);
            snprintf(what, sizeof what, "gather(concat(a, b, axis 1), slice(reshape(permute(idx)))) %s",
                     ir_dtype_name(dt));
            min_members = 5;
            run_case(&c, r, what, 0, false);
            case_free(&c);
        }
        /* gather from a broadcast table [T, C] of a [C] row, indices through a slice with a step */
        {
            Case c;
            case_init(&c);
            const int64_t rd[1] = {C}, td[2] = {T, C}, id1[1] = {9}, st[1] = {1}, en[1] = {9}, sp[1] = {2};
            const int64_t map[1] = {1};
            IrId row = case_input(&c, "row", ir_type_make(dt, 1, rd));
            IrId idx = case_input(&c, "idx", ir_type_make(IR_DTYPE_I32, 1, id1));
            fill(&c.vals[0]);
            for (int64_t i = 0; i < 9; i++) c.vals[1].data[i] = (double)irand(0, T - 1);
            IrId tab = ir_build_broadcast(&c.b, row, 2, td, map);
            IrId r = ir_build_gather(&c.b, tab, ir_build_slice(&c.b, idx, st, en, sp), 0, 0);
            snprintf(what, sizeof what, "gather(broadcast(row), slice(idx, step 2)) %s", ir_dtype_name(dt));
            min_members = 3;
            run_case(&c, r, what, 0, false);
            case_free(&c);
        }
        /* scatter_add back to tokens: updates [E, CAP, C] reshaped to [E*CAP, C], into [T+1, C]
         * (index T: the dropped slots' row) */
        {
            Case c;
            case_init(&c);
            const int64_t ud[3] = {E, CAP, C}, u2[2] = {E * CAP, C}, od[2] = {T + 1, C}, id1[1] = {E * CAP};
            IrId idx = case_input(&c, "idx", ir_type_make(IR_DTYPE_I32, 1, id1));
            IrId upd = case_input(&c, "upd", ir_type_make(dt, 3, ud));
            for (int64_t i = 0; i < E * CAP; i++) c.vals[0].data[i] = (double)irand(0, T);
            fill(&c.vals[1]);
            IrId r = ir_build_scatter_add(&c.b, ir_type_make(dt, 2, od), idx, ir_build_reshape(&c.b, upd, 2, u2), 0, 0);
            snprintf(what, sizeof what, "scatter_add(idx, reshape(upd)) %s", ir_dtype_name(dt));
            min_members = 2;
            run_case(&c, r, what, 0, false);
            case_free(&c);
        }
        /* the router gradient: updates [T] -> reshape [1, T] -> permute [T, 1], indices
         * [T, 1] behind a reshape of [T], axis 1 with batch_dims 1 into [T, E] */
        {
            Case c;
            case_init(&c);
            const int64_t t1[1] = {T}, u2[2] = {1, T}, i2[2] = {T, 1}, od[2] = {T, E}, perm[2] = {1, 0};
            IrId idx = case_input(&c, "idx", ir_type_make(IR_DTYPE_I32, 1, t1));
            IrId upd = case_input(&c, "upd", ir_type_make(dt, 1, t1));
            for (int64_t i = 0; i < T; i++) c.vals[0].data[i] = (double)irand(0, E - 1);
            fill(&c.vals[1]);
            IrId u = ir_build_permute(&c.b, ir_build_reshape(&c.b, upd, 2, u2), 2, perm);
            IrId r = ir_build_scatter_add(&c.b, ir_type_make(dt, 2, od), ir_build_reshape(&c.b, idx, 2, i2), u, 1, 1);
            snprintf(what, sizeof what, "scatter_add(reshape(idx), permute(reshape(upd))) batch_dims 1 %s",
                     ir_dtype_name(dt));
            min_members = 4;
            run_case(&c, r, what, 0, false);
            case_free(&c);
        }
        /* scatter_add with updates from a concat with a splat row and a broadcast */
        {
            Case c;
            case_init(&c);
            const int64_t ud[2] = {5, C}, id1[1] = {6}, od[2] = {3, C}, vd[1] = {C}, bd[2] = {1, C}, map[1] = {1};
            IrId idx = case_input(&c, "idx", ir_type_make(IR_DTYPE_I32, 1, id1));
            IrId upd = case_input(&c, "upd", ir_type_make(dt, 2, ud));
            IrId v = case_input(&c, "v", ir_type_make(dt, 1, vd));
            for (int64_t i = 0; i < 6; i++) c.vals[0].data[i] = (double)irand(0, 2);
            fill(&c.vals[1]);
            fill(&c.vals[2]);
            IrId parts[2] = {upd, ir_build_broadcast(&c.b, v, 2, bd, map)};
            IrId r = ir_build_scatter_add(&c.b, ir_type_make(dt, 2, od), idx, ir_build_concat(&c.b, parts, 2, 0), 0, 0);
            snprintf(what, sizeof what, "scatter_add(idx, concat(upd, broadcast(v))) %s", ir_dtype_name(dt));
            min_members = 3;
            run_case(&c, r, what, 0, false);
            case_free(&c);
        }
        /* the router's onehot: topk indices [T, 2] -> permute [2, T] -> reshape [2T] */
        {
            Case c;
            case_init(&c);
            const int64_t id2[2] = {T, 2}, f1[1] = {2 * T}, perm[2] = {1, 0};
            IrId idx = case_input(&c, "idx", ir_type_make(IR_DTYPE_I32, 2, id2));
            for (int64_t i = 0; i < 2 * T; i++) c.vals[0].data[i] = (double)irand(-1, E);
            IrId r = ir_build_onehot(&c.b, ir_build_reshape(&c.b, ir_build_permute(&c.b, idx, 2, perm), 1, f1), E, dt);
            snprintf(what, sizeof what, "onehot(reshape(permute(idx))) %s", ir_dtype_name(dt));
            min_members = 3;
            run_case(&c, r, what, 0, false);
            case_free(&c);
        }
        /* cumsum over a permuted input and over a slice, every direction */
        for (int mode = 0; mode < 4; mode++) {
            bool excl = mode & 1, rev = mode >> 1;
            Case c;
            case_init(&c);
            const int64_t xd[2] = {6, 9}, perm[2] = {1, 0}, st[2] = {1, 2}, en[2] = {6, 9};
            IrId x = case_input(&c, "x", ir_type_make(dt, 2, xd));
            fill(&c.vals[0]);
            IrId r = ir_build_cumsum(&c.b, ir_build_permute(&c.b, x, 2, perm), 1, excl, rev);
            snprintf(what, sizeof what, "cumsum(permute(x)) %s excl %d rev %d", ir_dtype_name(dt), excl, rev);
            min_members = 2;
            run_case(&c, r, what, 0, false);
            case_free(&c);
            case_init(&c);
            x = case_input(&c, "x", ir_type_make(dt, 2, xd));
            fill(&c.vals[0]);
            r = ir_build_cumsum(&c.b, ir_build_slice(&c.b, x, st, en, NULL), 0, excl, rev);
            snprintf(what, sizeof what, "cumsum(slice(x)) %s excl %d rev %d", ir_dtype_name(dt), excl, rev);
            run_case(&c, r, what, 0, false);
            case_free(&c);
        }
        /* topk over a permuted input with ties */
        {
            Case c;
            case_init(&c);
            const int64_t xd[2] = {8, 5}, perm[2] = {1, 0};
            IrId x = case_input(&c, "x", ir_type_make(dt, 2, xd));
            for (int64_t i = 0; i < 40; i++) c.vals[0].data[i] = (double)irand(-2, 2);
            IrId r = ir_build_topk(&c.b, ir_build_permute(&c.b, x, 2, perm), 3);
            snprintf(what, sizeof what, "topk(permute(x)) %s", ir_dtype_name(dt));
            min_members = 2;
            run_case(&c, r, what, 0, false);
            case_free(&c);
        }
    }
    min_members = 0;
}

static void expect_refused(Case *c, IrId r, const char *what) {
    ir_graph_add_output(c->g, "out", r);
    LlmcErr err = {0};
    CcFusion f;
    CHECK(cc_fuse(c->g, &f, &err));
    const CcKernel *k = kernel_at(&f, r);
    CcKernelFn fn = NULL;
    CHECK(k && !cc_codegen_index(jit, c->g, k, &fn, &err));
    CHECK(strstr(err.msg, "not supported yet") != NULL);
    fprintf(stderr, "  %s refused: %s\n", what, err.msg);
    cc_fusion_free(&f);
}

static void test_unsupported(void) {
    const int64_t d2[2] = {3, 5};
    Case c;
    case_init(&c);
    IrType k = ir_type_make(IR_DTYPE_I32, 0, NULL);
    IrId s = case_input(&c, "seed", k), st = case_input(&c, "step", k), m = case_input(&c, "micro", k);
    IrId r = ir_build_rand(&c.b, ir_type_make(IR_DTYPE_F32, 2, d2), s, st, m, 1, IR_RAND_UNIFORM);
    c.g->nodes[r].attrs.rand.shard_axis = 0;
    c.g->nodes[r].attrs.rand.shards = 2;
    expect_refused(&c, r, "sharded rand");
    case_free(&c);
}

int main(void) {
    LlmcErr err = {0};
    jit = cc_jit_new(&err);
    if (!jit) fprintf(stderr, "cc_jit_new: %s\n", err.msg);
    CHECK(jit != NULL);
    if (jit) {
        test_iota();
        test_onehot();
        test_gather();
        test_cumsum();
        test_rand();
        test_scatter_add();
        test_topk();
        test_absorbed();
        test_unsupported();
        fprintf(stderr, "%d index kernels compiled and compared\n", n_cases);
        fprintf(stderr, "rand normal: %lld of %lld elements not bit-exact, worst relative error %.3g\n",
                (long long)normal_not_bitexact, (long long)normal_elems, worst_normal_rel);
    }
    cc_jit_free(jit);
    TEST_MAIN();
}
