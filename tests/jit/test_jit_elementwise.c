/* tests/jit/test_jit_elementwise.c — JIT-compiled elementwise kernels against the
 * reference interpreter.
 *
 * Walks the op table: every ELEMENTWISE op has a case here (a switch with no default, and
 * a runtime check that each one actually ran), for f32 and f64, and for i32 where the op
 * allows it. Inputs are N = 1007 elements (the vector loop plus a remainder for W = 4, 8
 * or 16), random in the op's interesting range, with edge values (0, -0, +-inf, nan,
 * large, tiny and denormal; INT32_MIN, -1, 0, 1, INT32_MAX for i32) at the front.
 * Tolerances: f64 ||jit - ref|| / ||ref|| <= 1e-12, f32 <= 1e-5 per tensor over the
 * finite elements (non-finite ones must match exactly); bit-exact for i32 and for the
 * correctly rounded ops. Also: a fused GeLU chain compiles to one function and matches;
 * a kernel's LLVM IR has the host vector type and verifies; the declarations of every
 * kernel module are intrinsics of cc_codegen_inline_intrinsics (no libm); kernels reading
 * a [N] bias, a [M,1] column and a [M] row through broadcasts; calling a kernel over
 * pieces of the range gives the same bytes as one call; the kernel's own behaviour where the
 * interpreter errors (i32 x/0, float -> i32 of nan or out of range).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "runtime.h"
#include "test.h"

#define N 1007

static CcJit *jit;
static bool tested[IR_OP_COUNT];

/* --- random inputs ------------------------------------------------------------------ */

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static double urand(void) { /* [0, 1) */
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) * 0x1.0p-53;
}

typedef enum Domain { DOM_ANY, DOM_POS, DOM_SMALL, DOM_NONZERO } Domain;

static void fill(IrValue *v, Domain dom, int edge_shift) {
    int64_t n = ir_type_numel(&v->type);
    IrDtype dt = v->type.dtype;
    for (int64_t i = 0; i < n; i++) {
        double x;
        if (dt == IR_DTYPE_I32) {
            static const double edge[] = {-2147483648.0, -1, 0, 1, 2147483647.0, 7, -7};
            int64_t k = i + edge_shift;
            if (i < 21 && k % 3 != 2) x = edge[(k / 3 + k) % 7];
            else x = floor(urand() * 4294967296.0) - 2147483648.0;
            if (dom == DOM_SMALL) x = floor(urand() * 200) - 100;
            if (dom == DOM_NONZERO && x == 0) x = 3;
        } else {
            static const double edge[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 1e30, -1e30, 1e-30, 1e-40, -3.5, 2.0, 0.5};
            int64_t k = i + edge_shift;
            if (i < 48) x = edge[(k + k / 12) % 12];
            else if (dom == DOM_POS) x = urand() * 5;
            else if (dom == DOM_SMALL) x = urand() * 6 - 3;
            else x = urand() * 20 - 10;
            if (dom == DOM_NONZERO && x == 0) x = 1;
            if (dt == IR_DTYPE_F32) x = (double)(float)x;
        }
        v->data[i] = x;
    }
}

/* --- running one kernel against the interpreter ---------------------------------------- */

/* Exact: equal values, equal signs of zero, nan where ref has nan. Else the norm ratio over
 * the finite reference elements, and non-finite elements equal. Returns the ratio. */
static double compare(const char *what, const void *jit_out, const IrValue *ref, bool exact, double tol) {
    int64_t n = ir_type_numel(&ref->type);
    double d2 = 0, r2 = 0;
    int bad = 0;
    for (int64_t i = 0; i < n; i++) {
        double a = rt_native_at(jit_out, ref->type.dtype, i), r = ref->data[i];
        bool same = (isnan(a) && isnan(r)) || (a == r && signbit(a) == signbit(r));
        if (same) continue;
        if (exact || !isfinite(r) || !isfinite(a)) {
            if (bad++ < 5) fprintf(stderr, "  %s[%lld]: jit %.17g ref %.17g\n", what, (long long)i, a, r);
            continue;
        }
        d2 += (a - r) * (a - r);
        r2 += r * r;
    }
    double ratio = r2 > 0 ? sqrt(d2 / r2) : sqrt(d2);
    if (bad || ratio > tol) {
        fprintf(stderr, "  %s: %d mismatching elements, norm ratio %.3g (tolerance %.3g%s)\n", what, bad, ratio,
                tol, exact ? ", exact" : "");
    }
    CHECK(bad == 0);
    CHECK(ratio <= tol);
    return ratio;
}

static IrPrecision precision_of(const IrGraph *g) {
    for (uint32_t i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].type.dtype == IR_DTYPE_F32) return IR_PRECISION_F32;
    return IR_PRECISION_F64;
}

/* Compiles the set (every non-input, non-const node of g) for output `out` (g's only
 * output), runs it on `inputs` (graph input order) and the interpreter, compares. When
 * `pieces`, also runs the kernel over pieces of [0, N) and checks the bytes. */
static void run_kernel(const char *what, IrGraph *g, IrId out, const IrValue *inputs, bool exact, double tol,
                       bool pieces) {
    IrId set[64];
    uint32_t n_set = 0;
    for (IrId id = 0; id < g->n_nodes; id++)
        if (g->nodes[id].op != IR_OP_INPUT && g->nodes[id].op != IR_OP_CONST) set[n_set++] = id;
    LlmcErr err = {0};
    CcKernelFn fn = NULL;
    bool ok = cc_codegen_elementwise(jit, g, set, n_set, out, &fn, &err);
    if (!ok) fprintf(stderr, "  %s: %s\n", what, err.msg);
    CHECK(ok);
    if (!ok) return;
    IrId kin[3 * 64];
    uint32_t n_kin = 0;
    CHECK(cc_elementwise_inputs(g, set, n_set, out, kin, &n_kin, &err));

    IrId gin[16];
    uint32_t n_gin = ir_graph_inputs(g, gin);
    IrValue ref = {0};
    IrInterpOptions opt = {.precision = precision_of(g), .ranks = 1};
    ok = ir_interp_run(g, &opt, inputs, &ref, &err);
    if (!ok) fprintf(stderr, "  %s: interpreter: %s\n", what, err.msg);
    CHECK(ok);
    if (!ok) return;

    void *bufs[17];
    for (uint32_t k = 0; k < n_kin; k++) {
        bufs[k] = NULL;
        for (uint32_t j = 0; j < n_gin; j++)
            if (gin[j] == kin[k]) bufs[k] = rt_native_from_value(&inputs[j]);
        CHECK(bufs[k] != NULL);
        if (!bufs[k]) return;
    }
    const IrType *ot = &g->nodes[out].type;
    int64_t n = ir_type_numel(ot);
    size_t bytes = (size_t)n * ir_dtype_size(ot->dtype);
    void *whole = calloc(1, bytes);
    bufs[n_kin] = whole;
    fn(bufs, 0, n);
    compare(what, whole, &ref, exact, tol);
    if (pieces) {
        static const int64_t cuts[] = {0, 1, 5, 37, 38, 500, 1000, N};
        void *split = calloc(1, bytes);
        bufs[n_kin] = split;
        for (size_t c = 0; c + 1 < sizeof cuts / sizeof cuts[0]; c++) {
            int64_t b = cuts[c] < n ? cuts[c] : n, e = cuts[c + 1] < n ? cuts[c + 1] : n;
            fn(bufs, b, e);
        }
        fn(bufs, 10, 3); /* an empty range writes nothing */
        CHECK(memcmp(whole, split, bytes) == 0);
        free(split);
    }
    for (uint32_t k = 0; k < n_kin; k++) free(bufs[k]);
    free(whole);
    ir_value_free(&ref);
}

/* --- per-op cases ------------------------------------------------------------------- */

static double tol_of(IrDtype dt) { return dt == IR_DTYPE_F64 ? 1e-12 : 1e-5; }

/* Ops whose f32/f64 results are correctly rounded, hence bit-exact against the
 * interpreter (which rounds its double result to float once). */
static bool exact_float(IrOp op) {
    static const IrOp exact[] = {IR_OP_NEG, IR_OP_ABS, IR_OP_ADD, IR_OP_SUB, IR_OP_MUL, IR_OP_DIV, IR_OP_MAX,
                                 IR_OP_MIN, IR_OP_CMPLT, IR_OP_CMPEQ, IR_OP_SELECT, IR_OP_CAST, IR_OP_SQRT,
                                 IR_OP_RECIP, IR_OP_STOP_GRADIENT};
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
        if (exact[i] == op) return true;
    return false;
}

static void one_op(IrOp op, IrDtype dt, Domain d0, Domain d1) {
    IrGraph *g = ir_graph_new("k");
    IrBuilder b;
    ir_builder_init(&b, g);
    int64_t dims[1] = {N};
    IrType t = ir_type_make(dt, 1, dims);
    int arity = ir_op_info(op)->arity;
    IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", t);
    IrId y = arity > 1 ? ir_build_input(&b, IR_ROLE_DATA, "y", t) : IR_ID_NONE;
    IrId r = arity > 1 ? ir_build_binary(&b, op, x, y) : ir_build_unary(&b, op, x);
    ir_graph_add_output(g, "out", r);
    CHECK(ir_builder_ok(&b));
    IrValue in[2];
    memset(in, 0, sizeof in);
    ir_value_alloc(&in[0], t);
    fill(&in[0], d0, 0);
    if (arity > 1) {
        ir_value_alloc(&in[1], t);
        fill(&in[1], d1, 5); /* shifted edges: edge x edge pairs */
    }
    char what[64];
    snprintf(what, sizeof what, "%s %s", ir_op_name(op), ir_dtype_name(dt));
    bool exact = dt == IR_DTYPE_I32 || exact_float(op);
    run_kernel(what, g, r, in, exact, exact ? 0 : tol_of(dt), true);
    ir_value_free(&in[0]);
    ir_value_free(&in[1]);
    ir_graph_free(g);
    tested[op] = true;
}

static void cast_case(IrDtype from, IrDtype to) {
    IrGraph *g = ir_graph_new("k");
    IrBuilder b;
    ir_builder_init(&b, g);
    int64_t dims[1] = {N};
    IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", ir_type_make(from, 1, dims));
    IrId r = ir_build_cast(&b, x, to);
    ir_graph_add_output(g, "out", r);
    CHECK(ir_builder_ok(&b));
    IrValue in = {0};
    ir_value_alloc(&in, ir_graph_node(g, x)->type);
    fill(&in, DOM_ANY, 0);
    if (to == IR_DTYPE_I32 && from != IR_DTYPE_I32) /* in range: the interpreter errors otherwise */
        for (int64_t i = 0; i < N; i++)
            if (!(fabs(in.data[i]) < 2e9)) in.data[i] = (i % 2 ? -1 : 1) * (double)(float)(i * 1234567.0 + 0.75);
    char what[64];
    snprintf(what, sizeof what, "cast %s->%s", ir_dtype_name(from), ir_dtype_name(to));
    run_kernel(what, g, r, &in, true, 0, true);
    ir_value_free(&in);
    ir_graph_free(g);
    tested[IR_OP_CAST] = true;
}

static void select_case(IrDtype cdt, IrDtype dt) {
    IrGraph *g = ir_graph_new("k");
    IrBuilder b;
    ir_builder_init(&b, g);
    int64_t dims[1] = {N};
    IrId c = ir_build_input(&b, IR_ROLE_DATA, "c", ir_type_make(cdt, 1, dims));
    IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", ir_type_make(dt, 1, dims));
    IrId y = ir_build_input(&b, IR_ROLE_DATA, "y", ir_type_make(dt, 1, dims));
    IrId r = ir_build_select(&b, c, x, y);
    ir_graph_add_output(g, "out", r);
    CHECK(ir_builder_ok(&b));
    IrValue in[3];
    memset(in, 0, sizeof in);
    for (int k = 0; k < 3; k++) ir_value_alloc(&in[k], ir_graph_node(g, (IrId)k)->type);
    fill(&in[0], DOM_SMALL, 0);
    for (int64_t i = 60; i < N; i += 3) in[0].data[i] = 0; /* plenty of both branches */
    fill(&in[1], DOM_ANY, 1);
    fill(&in[2], DOM_ANY, 2);
    char what[64];
    snprintf(what, sizeof what, "select %s ? %s", ir_dtype_name(cdt), ir_dtype_name(dt));
    run_kernel(what, g, r, in, true, 0, true);
    for (int k = 0; k < 3; k++) ir_value_free(&in[k]);
    ir_graph_free(g);
    tested[IR_OP_SELECT] = true;
}

static const IrDtype DTYPES[] = {IR_DTYPE_F32, IR_DTYPE_F64, IR_DTYPE_I32};

static void test_op_table(void) {
    for (int o = 1; o < IR_OP_COUNT; o++) {
        IrOp op = (IrOp)o;
        const IrOpInfo *info = ir_op_info(op);
        if (info->kind != IR_KIND_ELEMENTWISE) continue;
        for (size_t d = 0; d < 3; d++) {
            IrDtype dt = DTYPES[d];
            if (dt == IR_DTYPE_I32 && (info->traits & IR_TRAIT_FLOAT_ONLY)) continue;
            switch (op) {
            case IR_OP_NEG: case IR_OP_ABS: case IR_OP_EXP: case IR_OP_TANH: case IR_OP_RECIP:
            case IR_OP_SIN: case IR_OP_COS: case IR_OP_STOP_GRADIENT: one_op(op, dt, DOM_ANY, DOM_ANY); break;
            case IR_OP_LOG: case IR_OP_SQRT: case IR_OP_RSQRT: one_op(op, dt, DOM_POS, DOM_ANY); break;
            case IR_OP_ADD: case IR_OP_SUB: case IR_OP_MUL: case IR_OP_MAX: case IR_OP_MIN:
            case IR_OP_CMPLT: case IR_OP_CMPEQ: one_op(op, dt, DOM_ANY, DOM_ANY); break;
            case IR_OP_DIV: one_op(op, dt, DOM_ANY, DOM_NONZERO); break;
            case IR_OP_POW: one_op(op, dt, DOM_POS, DOM_SMALL); break;
            case IR_OP_CAST:
                for (size_t d2 = 0; d2 < 3; d2++) cast_case(dt, DTYPES[d2]);
                break;
            case IR_OP_SELECT:
                for (size_t d2 = 0; d2 < 3; d2++) select_case(DTYPES[d2], dt);
                break;
            case IR_OP_INPUT: case IR_OP_CONST: case IR_OP_REDUCE_SUM: case IR_OP_REDUCE_MAX:
            case IR_OP_RESHAPE: case IR_OP_PERMUTE: case IR_OP_BROADCAST: case IR_OP_SLICE:
            case IR_OP_CONCAT: case IR_OP_MATMUL: case IR_OP_ATTENTION: case IR_OP_ATTENTION_LSE:
            case IR_OP_ATTENTION_GRAD: case IR_OP_GATHER: case IR_OP_SCATTER_ADD:
            case IR_OP_TOPK: case IR_OP_IOTA: case IR_OP_ONEHOT: case IR_OP_CUMSUM: case IR_OP_RAND:
            case IR_OP_EXTERN_CALL: case IR_OP_ALL_GATHER: case IR_OP_REDUCE_SCATTER:
            case IR_OP_ALL_REDUCE: case IR_OP_ALL_TO_ALL: case IR_OP_INVALID: case IR_OP_COUNT:
                break; /* not elementwise: no case, so the check below fails if one becomes so */
            }
        }
    }
    for (int o = 1; o < IR_OP_COUNT; o++) {
        if (ir_op_info((IrOp)o)->kind != IR_KIND_ELEMENTWISE) continue;
        if (!tested[o]) fprintf(stderr, "  elementwise op %s has no JIT case\n", ir_op_name((IrOp)o));
        CHECK(tested[o]);
    }
}

/* --- a fused chain: GeLU (tanh form) times a rank-0 input ----------------------------- */

/* out = s * 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), s a rank-0 input. */
static IrGraph *gelu_graph(IrDtype dt, IrId *out) {
    IrGraph *g = ir_graph_new("gelu");
    IrBuilder b;
    ir_builder_init(&b, g);
    int64_t dims[2] = {19, 53}; /* 1007 elements */
    IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", ir_type_make(dt, 2, dims));
    IrId s = ir_build_input(&b, IR_ROLE_PARAM, "s", ir_type_scalar(dt));
    IrId x3 = ir_build_binary(&b, IR_OP_MUL, ir_build_binary(&b, IR_OP_MUL, x, x), x);
    IrId inner = ir_build_binary(&b, IR_OP_ADD, x,
                                 ir_build_binary_bcast(&b, IR_OP_MUL, ir_build_scalar(&b, dt, 0.044715), x3));
    IrId th = ir_build_unary(&b, IR_OP_TANH,
                             ir_build_binary_bcast(&b, IR_OP_MUL, ir_build_scalar(&b, dt, sqrt(2.0 / 3.14159265358979323846)), inner));
    IrId onep = ir_build_binary_bcast(&b, IR_OP_ADD, ir_build_scalar(&b, dt, 1.0), th);
    IrId half = ir_build_binary_bcast(&b, IR_OP_MUL, ir_build_scalar(&b, dt, 0.5), x);
    IrId r = ir_build_binary_bcast(&b, IR_OP_MUL, s, ir_build_binary(&b, IR_OP_MUL, half, onep));
    ir_graph_add_output(g, "out", r);
    CHECK(ir_builder_ok(&b));
    *out = r;
    return g;
}

static void test_fused_gelu(void) {
    for (size_t d = 0; d < 2; d++) {
        IrDtype dt = DTYPES[d];
        IrId out;
        IrGraph *g = gelu_graph(dt, &out);
        IrValue in[2];
        memset(in, 0, sizeof in);
        ir_value_alloc(&in[0], ir_graph_node(g, 0)->type);
        ir_value_alloc(&in[1], ir_graph_node(g, 1)->type);
        fill(&in[0], DOM_ANY, 0);
        in[1].data[0] = dt == IR_DTYPE_F32 ? (double)1.25f : 1.25;
        /* The interpreter's f32 mode rounds after every op, as the kernel does in f32. */
        run_kernel(dt == IR_DTYPE_F32 ? "gelu f32" : "gelu f64", g, out, in, false, tol_of(dt), true);

        /* One function; the rank-0 input is the only other buffer; constants are literals. */
        IrId set[64], kin[192];
        uint32_t n_set = 0, n_kin = 0;
        for (IrId id = 0; id < g->n_nodes; id++)
            if (g->nodes[id].op != IR_OP_INPUT && g->nodes[id].op != IR_OP_CONST) set[n_set++] = id;
        LlmcErr err = {0};
        CHECK(n_set >= 10);
        CHECK(cc_elementwise_inputs(g, set, n_set, out, kin, &n_kin, &err));
        CHECK_EQ_INT(n_kin, 2);
        char *ir = cc_codegen_elementwise_ir(jit, g, set, n_set, out, true, &err);
        CHECK(ir != NULL);
        if (ir) {
            int defines = 0;
            for (const char *p = ir; (p = strstr(p, "\ndefine ")); p++) defines++;
            CHECK_EQ_INT(defines, 1);
            free(ir);
        }
        ir_value_free(&in[0]);
        ir_value_free(&in[1]);
        ir_graph_free(g);
    }
}

/* --- broadcasts of any rank as index arithmetic ---------------------------------------- */

/* out = exp(x + bias) * col - row: x [19,53] read at i; bias [53] (map {1}), col [19,1]
 * (map {0,1}, its size-1 axis at 0) and row [19] (map {0}) read through `broadcast`
 * members of the set at the index each output element maps to. 19 * 53 = 1007 elements,
 * so the vector loop (lane-by-lane reads) and the remainder both run, and split-range
 * calls are compared byte for byte. A second kernel reads only a [53] bias: its input
 * list is exactly {bias, y}. */
static void test_broadcast_inputs(void) {
    for (size_t d = 0; d < 2; d++) {
        IrDtype dt = DTYPES[d];
        IrGraph *g = ir_graph_new("bcast");
        IrBuilder b;
        ir_builder_init(&b, g);
        int64_t dims[2] = {19, 53}, cd[2] = {19, 1}, bn = 53, rn = 19, map0 = 0;
        IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", ir_type_make(dt, 2, dims));
        IrId bias = ir_build_input(&b, IR_ROLE_PARAM, "bias", ir_type_make(dt, 1, &bn));
        IrId col = ir_build_input(&b, IR_ROLE_DATA, "col", ir_type_make(dt, 2, cd));
        IrId row = ir_build_input(&b, IR_ROLE_DATA, "row", ir_type_make(dt, 1, &rn));
        IrId e = ir_build_unary(&b, IR_OP_EXP, ir_build_binary_bcast(&b, IR_OP_ADD, x, bias));
        IrId m = ir_build_binary_bcast(&b, IR_OP_MUL, e, col);
        IrId r = ir_build_binary(&b, IR_OP_SUB, m, ir_build_broadcast(&b, row, 2, dims, &map0));
        ir_graph_add_output(g, "out", r);
        CHECK(ir_builder_ok(&b));
        IrValue in[4];
        memset(in, 0, sizeof in);
        for (int k = 0; k < 4; k++) {
            ir_value_alloc(&in[k], ir_graph_node(g, (IrId)k)->type);
            fill(&in[k], DOM_SMALL, 3 * k);
        }
        run_kernel(dt == IR_DTYPE_F32 ? "bias/col/row broadcast f32" : "bias/col/row broadcast f64", g, r, in,
                   false, tol_of(dt), true);
        IrId set[64], kin[192];
        uint32_t n_set = 0, n_kin = 0;
        for (IrId id = 0; id < g->n_nodes; id++)
            if (g->nodes[id].op != IR_OP_INPUT && g->nodes[id].op != IR_OP_CONST) set[n_set++] = id;
        LlmcErr err = {0};
        CHECK(cc_elementwise_inputs(g, set, n_set, r, kin, &n_kin, &err));
        CHECK_EQ_INT(n_kin, 4); /* x, bias, col, row: the sources, never the broadcasts */
        for (uint32_t k = 0; k < n_kin && k < 4; k++) CHECK_EQ_INT(kin[k], k);
        for (int k = 0; k < 4; k++) ir_value_free(&in[k]);
        ir_graph_free(g);

        /* the bias alone, exact (one correctly rounded add) */
        g = ir_graph_new("bias");
        ir_builder_init(&b, g);
        x = ir_build_input(&b, IR_ROLE_DATA, "x", ir_type_make(dt, 2, dims));
        bias = ir_build_input(&b, IR_ROLE_PARAM, "bias", ir_type_make(dt, 1, &bn));
        r = ir_build_binary_bcast(&b, IR_OP_ADD, x, bias);
        ir_graph_add_output(g, "out", r);
        CHECK(ir_builder_ok(&b));
        memset(in, 0, sizeof in);
        for (int k = 0; k < 2; k++) {
            ir_value_alloc(&in[k], ir_graph_node(g, (IrId)k)->type);
            fill(&in[k], DOM_ANY, k);
        }
        run_kernel(dt == IR_DTYPE_F32 ? "bias add f32" : "bias add f64", g, r, in, true, 0, true);
        for (int k = 0; k < 2; k++) ir_value_free(&in[k]);
        ir_graph_free(g);
    }

    /* a broadcast of a member of the set is rejected (the source must be outside) */
    IrGraph *g = ir_graph_new("k");
    IrBuilder b;
    ir_builder_init(&b, g);
    int64_t dims[2] = {4, 5}, n5 = 5, map1 = 1;
    IrId v = ir_build_input(&b, IR_ROLE_DATA, "v", ir_type_make(IR_DTYPE_F32, 1, &n5));
    IrId nv = ir_build_unary(&b, IR_OP_NEG, v);
    IrId bc = ir_build_broadcast(&b, nv, 2, dims, &map1);
    IrId y = ir_build_unary(&b, IR_OP_EXP, bc);
    IrId set[3] = {nv, bc, y};
    LlmcErr err = {0};
    CcKernelFn fn = NULL;
    CHECK(!cc_codegen_elementwise(jit, g, set, 3, y, &fn, &err) && err.set);
    ir_graph_free(g);
}

/* --- reshape, permute and chains of movement as index arithmetic ----------------------- */

/* out = x * p^T + reshape(f) - broadcast(reshape(v)) + permute(reshape(f2)), all [19,53]:
 * x read at i; p [53,19] through a permute (the inverse permutation of coordinates);
 * f [1007] through a reshape (the flat identity); v [53] through reshape [1,53] then
 * broadcast (a chain); f2 [1007] through reshape [53,19] then permute (a chain). Split-range
 * calls byte-identical, the inputs exactly the five sources, and -(p^T) exact. */
static void test_movement_inputs(void) {
    for (size_t d = 0; d < 2; d++) {
        IrDtype dt = DTYPES[d];
        IrGraph *g = ir_graph_new("move");
        IrBuilder b;
        ir_builder_init(&b, g);
        int64_t dims[2] = {19, 53}, pd[2] = {53, 19}, fn_ = 19 * 53, vn = 53, v2[2] = {1, 53}, map01[2] = {0, 1};
        static const int64_t perm[2] = {1, 0};
        IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", ir_type_make(dt, 2, dims));
        IrId p = ir_build_input(&b, IR_ROLE_DATA, "p", ir_type_make(dt, 2, pd));
        IrId f = ir_build_input(&b, IR_ROLE_DATA, "f", ir_type_make(dt, 1, &fn_));
        IrId v = ir_build_input(&b, IR_ROLE_PARAM, "v", ir_type_make(dt, 1, &vn));
        IrId f2 = ir_build_input(&b, IR_ROLE_DATA, "f2", ir_type_make(dt, 1, &fn_));
        IrId pt = ir_build_permute(&b, p, 2, perm);
        IrId r = ir_build_binary(&b, IR_OP_MUL, x, pt);
        r = ir_build_binary(&b, IR_OP_ADD, r, ir_build_reshape(&b, f, 2, dims));
        IrId vb = ir_build_broadcast(&b, ir_build_reshape(&b, v, 2, v2), 2, dims, map01);
        r = ir_build_binary(&b, IR_OP_SUB, r, vb);
        IrId f2t = ir_build_permute(&b, ir_build_reshape(&b, f2, 2, pd), 2, perm);
        r = ir_build_binary(&b, IR_OP_ADD, r, f2t);
        ir_graph_add_output(g, "out", r);
        CHECK(ir_builder_ok(&b));
        IrValue in[5];
        memset(in, 0, sizeof in);
        for (int k = 0; k < 5; k++) {
            ir_value_alloc(&in[k], ir_graph_node(g, (IrId)k)->type);
            fill(&in[k], DOM_SMALL, 3 * k);
        }
        run_kernel(dt == IR_DTYPE_F32 ? "permute/reshape/chains f32" : "permute/reshape/chains f64", g, r, in,
                   false, tol_of(dt), true);
        IrId set[64], kin[192];
        uint32_t n_set = 0, n_kin = 0;
        for (IrId id = 0; id < g->n_nodes; id++)
            if (g->nodes[id].op != IR_OP_INPUT && g->nodes[id].op != IR_OP_CONST) set[n_set++] = id;
        LlmcErr err = {0};
        CHECK(cc_elementwise_inputs(g, set, n_set, r, kin, &n_kin, &err));
        CHECK_EQ_INT(n_kin, 5); /* the sources, never the movement members */
        for (uint32_t k = 0; k < n_kin && k < 5; k++) CHECK_EQ_INT(kin[k], k);
        ir_graph_free(g);

        /* -(p^T) alone: exact */
        g = ir_graph_new("neg_t");
        ir_builder_init(&b, g);
        p = ir_build_input(&b, IR_ROLE_DATA, "p", ir_type_make(dt, 2, pd));
        r = ir_build_unary(&b, IR_OP_NEG, ir_build_permute(&b, p, 2, perm));
        ir_graph_add_output(g, "out", r);
        CHECK(ir_builder_ok(&b));
        run_kernel(dt == IR_DTYPE_F32 ? "neg permute f32" : "neg permute f64", g, r, &in[1], true, 0, true);
        ir_graph_free(g);
        for (int k = 0; k < 5; k++) ir_value_free(&in[k]);
    }

    /* a permute of a member of the set is rejected (the chain's source must be outside) */
    IrGraph *g = ir_graph_new("k");
    IrBuilder b;
    ir_builder_init(&b, g);
    int64_t dims[2] = {4, 4};
    static const int64_t perm[2] = {1, 0};
    IrId v = ir_build_input(&b, IR_ROLE_DATA, "v", ir_type_make(IR_DTYPE_F32, 2, dims));
    IrId nv = ir_build_unary(&b, IR_OP_NEG, v);
    IrId pt = ir_build_permute(&b, nv, 2, perm);
    IrId y = ir_build_unary(&b, IR_OP_EXP, pt);
    IrId set[3] = {nv, pt, y};
    LlmcErr err = {0};
    CcKernelFn fn = NULL;
    CHECK(!cc_codegen_elementwise(jit, g, set, 3, y, &fn, &err) && err.set);
    ir_graph_free(g);
}

/* --- LLVM IR: vector types, verification, declarations -------------------------------- */

static bool prefix_dot(const char *name, const char *prefix) {
    size_t n = strlen(prefix);
    return strncmp(name, prefix, n) == 0 && name[n] == '.';
}

/* Every `declare` in ir is an intrinsic of cc_codegen_inline_intrinsics; returns how many
 * declarations there are. */
static int check_declarations(const char *what, const char *ir) {
    const char *const *inl = cc_codegen_inline_intrinsics();
    int decls = 0;
    for (const char *p = ir; (p = strstr(p, "\ndeclare ")); p++) {
        const char *at = strchr(p, '@');
        const char *paren = at ? strchr(at, '(') : NULL;
        CHECK(at && paren);
        if (!at || !paren) break;
        char name[128];
        size_t len = (size_t)(paren - at - 1) < sizeof name - 1 ? (size_t)(paren - at - 1) : sizeof name - 1;
        memcpy(name, at + 1, len);
        name[len] = 0;
        bool ok = false;
        for (uint32_t k = 0; inl[k]; k++)
            if (prefix_dot(name, inl[k])) ok = true;
        if (!ok) fprintf(stderr, "  %s declares %s, not in cc_codegen_inline_intrinsics\n", what, name);
        CHECK(ok);
        decls++;
    }
    return decls;
}

static void test_llvm_ir(void) {
    const char *features = NULL;
    const char *cpu = cc_jit_cpu(jit, &features);
    fprintf(stderr, "host cpu %s, avx512f %s\n", cpu, cc_jit_has_avx512(jit) ? "yes" : "no");
    CHECK(cpu && *cpu && features);

    /* A small kernel: out = x + y, f32. */
    IrGraph *g = ir_graph_new("k");
    IrBuilder b;
    ir_builder_init(&b, g);
    int64_t dims[1] = {N};
    IrType t = ir_type_make(IR_DTYPE_F32, 1, dims);
    IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", t), y = ir_build_input(&b, IR_ROLE_DATA, "y", t);
    IrId r = ir_build_binary(&b, IR_OP_ADD, x, y);
    LlmcErr err = {0};
    const char *vec = cc_jit_has_avx512(jit) ? "<16 x float>" : "<8 x float>";
    for (int opt = 0; opt < 2; opt++) {
        char *ir = cc_codegen_elementwise_ir(jit, g, &r, 1, r, opt, &err);
        CHECK(ir != NULL);
        if (!ir) continue;
        CHECK(strstr(ir, vec) != NULL);
        CHECK(strstr(ir, "define void @llmc_ew(ptr") != NULL);
        CHECK(strstr(ir, " fast ") == NULL && strstr(ir, " contract ") == NULL);
        CHECK_EQ_INT(check_declarations("add f32", ir), 0);
        if (!opt) CHECK(strstr(ir, "vec.body:") && strstr(ir, "rem.body:"));
        free(ir);
    }
    ir_graph_free(g);

    /* Every elementwise op's module, optimized: only intrinsics that lower to instructions
     * (exp/log/tanh/sin/cos/pow included: tests/jit/test_jit_math.c checks their asm). */
    for (int o = 1; o < IR_OP_COUNT; o++) {
        IrOp op = (IrOp)o;
        if (ir_op_info(op)->kind != IR_KIND_ELEMENTWISE) continue;
        for (size_t d = 0; d < 2; d++) {
            g = ir_graph_new("k");
            ir_builder_init(&b, g);
            IrType tt = ir_type_make(DTYPES[d], 1, dims);
            IrId a = ir_build_input(&b, IR_ROLE_DATA, "a", tt);
            IrId k;
            switch (ir_op_info(op)->arity) {
            case 1: k = op == IR_OP_CAST ? ir_build_cast(&b, a, IR_DTYPE_I32) : ir_build_unary(&b, op, a); break;
            case 2: k = ir_build_binary(&b, op, a, ir_build_input(&b, IR_ROLE_DATA, "b", tt)); break;
            default: k = ir_build_select(&b, a, a, ir_build_input(&b, IR_ROLE_DATA, "b", tt)); break;
            }
            CHECK(ir_builder_ok(&b));
            char *ir = cc_codegen_elementwise_ir(jit, g, &k, 1, k, true, &err);
            CHECK(ir != NULL);
            if (ir) {
                check_declarations(ir_op_name(op), ir);
                free(ir);
            }
            ir_graph_free(g);
        }
    }
}

/* --- where the interpreter errors, the kernel's defined behaviour ------------------------ */

static void test_no_trap(void) {
    int64_t dims[1] = {20};
    LlmcErr err = {0};
    CcKernelFn fn = NULL;

    /* i32 division: x / 0 = 0; INT32_MIN / -1 = INT32_MIN. */
    IrGraph *g = ir_graph_new("k");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrType t = ir_type_make(IR_DTYPE_I32, 1, dims);
    IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", t), y = ir_build_input(&b, IR_ROLE_DATA, "y", t);
    IrId r = ir_build_binary(&b, IR_OP_DIV, x, y);
    CHECK(cc_codegen_elementwise(jit, g, &r, 1, r, &fn, &err));
    int32_t xs[20], ys[20], out[20];
    for (int i = 0; i < 20; i++) {
        xs[i] = i % 2 ? INT32_MIN : 7 * i - 50;
        ys[i] = i % 3 == 0 ? 0 : (i % 2 ? -1 : 3);
    }
    void *bufs[3] = {xs, ys, out};
    if (fn) fn(bufs, 0, 20);
    for (int i = 0; fn && i < 20; i++) {
        int32_t want = ys[i] == 0 ? 0 : (xs[i] == INT32_MIN && ys[i] == -1) ? INT32_MIN : xs[i] / ys[i];
        CHECK_EQ_INT(out[i], want);
    }
    ir_graph_free(g);

    /* float -> i32: saturating, nan -> 0. */
    g = ir_graph_new("k");
    ir_builder_init(&b, g);
    x = ir_build_input(&b, IR_ROLE_DATA, "x", ir_type_make(IR_DTYPE_F32, 1, dims));
    r = ir_build_cast(&b, x, IR_DTYPE_I32);
    fn = NULL;
    CHECK(cc_codegen_elementwise(jit, g, &r, 1, r, &fn, &err));
    float fs[20];
    for (int i = 0; i < 20; i++) fs[i] = i % 4 == 0 ? NAN : i % 4 == 1 ? 3e9f : i % 4 == 2 ? -1e20f : -2.75f;
    void *bufs2[2] = {fs, out};
    if (fn) fn(bufs2, 0, 20);
    for (int i = 0; fn && i < 20; i++) {
        int32_t want = i % 4 == 0 ? 0 : i % 4 == 1 ? INT32_MAX : i % 4 == 2 ? INT32_MIN : -2;
        CHECK_EQ_INT(out[i], want);
    }
    ir_graph_free(g);
}

/* --- bad node sets are errors, not crashes ------------------------------------------- */

static void test_rejects(void) {
    IrGraph *g = ir_graph_new("k");
    IrBuilder b;
    ir_builder_init(&b, g);
    int64_t dims[2] = {4, 5};
    IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", ir_type_make(IR_DTYPE_F32, 2, dims));
    IrId s = ir_build_reduce(&b, IR_OP_REDUCE_SUM, x, 1, false);
    IrId e = ir_build_unary(&b, IR_OP_EXP, s);
    IrId n = ir_build_unary(&b, IR_OP_NEG, x);
    LlmcErr err = {0};
    CcKernelFn fn = NULL;
    CHECK(!cc_codegen_elementwise(jit, g, &s, 1, s, &fn, &err) && err.set); /* a reduction */
    llmc_err_clear(&err);
    IrId both[2] = {n, e};
    CHECK(!cc_codegen_elementwise(jit, g, both, 2, n, &fn, &err) && err.set); /* shapes differ */
    llmc_err_clear(&err);
    CHECK(!cc_codegen_elementwise(jit, g, &n, 1, e, &fn, &err) && err.set); /* output not in set */
    ir_graph_free(g);
}

int main(void) {
    LlmcErr err = {0};
    jit = cc_jit_new(&err);
    if (!jit) {
        fprintf(stderr, "cc_jit_new: %s\n", err.msg);
        return 1;
    }
    test_op_table();
    test_fused_gelu();
    test_broadcast_inputs();
    test_movement_inputs();
    test_llvm_ir();
    test_no_trap();
    test_rejects();
    cc_jit_free(jit);
    TEST_MAIN();
}
