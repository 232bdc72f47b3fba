/* tests/exec/test_exec_ops.c — every compute op of the op table through the executor
 * (runtime/exec.c: fusion, codegen, the pool), against the reference interpreter.
 *
 * Walks ir/ops.def: each op has a case building a small graph around it (a switch with
 * no default, and a check afterwards that every op ran), in f32 and in f64 where the op
 * takes floats. Inputs are random in the op's domain; integer operands (indices) in
 * range. Tolerances, per output tensor: f64 ||jit - ref|| / ||ref|| <= 1e-12, f32 <= 1e-5;
 * integer outputs exact. Collectives at world size 1 are the identity (the executor's
 * RUNTIME kernels copy); extern_call is carried out by the runtime through libffi and
 * has no kernel: it is the one op listed as not run here (tests/extern/ runs it, with a
 * library of its own).
 * bf16: the casts f32/f64 <-> bf16 and a permute, bit-exact against the interpreter over
 * every bf16 pattern, ties, subnormals, overflow, inf and nan; a reduction on bf16 refused;
 * casts to bf16 at the end of a matmul epilogue and of a row kernel.
 * The deeper per-kind tests (edge values, every ta/tb, splits) are tests/jit/.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "runtime.h"
#include "test.h"

static bool ran[IR_OP_COUNT];
static CcJit *jit;
static RtPool *pool;
static uint64_t rng = 0x9E3779B97F4A7C15ull;

static double urand(void) { /* [0, 1) */
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) * 0x1.0p-53;
}

typedef enum Domain { ANY, POSITIVE, SMALL } Domain;

/* Random inputs: floats by domain, i32 in [0, bound). */
static void fill(IrValue *v, Domain d, int64_t bound) {
    for (int64_t i = 0; i < ir_type_numel(&v->type); i++) {
        double x = urand();
        if (v->type.dtype == IR_DTYPE_I32) {
            v->data[i] = floor(x * (double)bound);
            continue;
        }
        x = d == POSITIVE ? 0.1 + 3 * x : d == SMALL ? 2 * x - 1 : 8 * x - 4;
        v->data[i] = v->type.dtype == IR_DTYPE_F32 ? (double)(float)x : x;
    }
}

typedef struct Case {
    IrGraph *g;
    IrBuilder b;
    IrId in[8];
    Domain dom[8];
    int64_t bound[8]; /* i32 inputs: [0, bound) */
    uint32_t n_in;
} Case;

static void begin(Case *c, const char *name) {
    memset(c, 0, sizeof *c);
    c->g = ir_graph_new(name);
    ir_builder_init(&c->b, c->g);
}

static IrId input(Case *c, IrType t, Domain d, int64_t bound) {
    char name[8];
    snprintf(name, sizeof name, "x%u", c->n_in);
    c->dom[c->n_in] = d;
    c->bound[c->n_in] = bound;
    return c->in[c->n_in++] = ir_build_input(&c->b, IR_ROLE_DATA, name, t);
}

static double ratio(const IrValue *a, const IrValue *r) {
    double d2 = 0, r2 = 0;
    for (int64_t i = 0; i < ir_type_numel(&r->type); i++) {
        double d = a->data[i] - r->data[i];
        d2 += d * d;
        r2 += r->data[i] * r->data[i];
    }
    return r2 > 0 ? sqrt(d2 / r2) : sqrt(d2);
}

/* Runs c's graph (output "y" = y) on both and compares; marks op as run. */
static void finish(Case *c, IrOp op, IrId y) {
    ir_graph_add_output(c->g, "y", y);
    CHECK(ir_builder_ok(&c->b));
    IrDtype dt = c->g->nodes[y].type.dtype;
    bool f64 = false;
    for (IrId id = 0; id < c->g->n_nodes; id++) f64 |= c->g->nodes[id].type.dtype == IR_DTYPE_F64;
    IrValue ins[8], ref = {0};
    memset(ins, 0, sizeof ins);
    void *bufs[8] = {0};
    for (uint32_t i = 0; i < c->n_in; i++) {
        ir_value_alloc(&ins[i], c->g->nodes[c->in[i]].type);
        fill(&ins[i], c->dom[i], c->bound[i]);
        bufs[i] = rt_native_from_value(&ins[i]);
    }
    LlmcErr err = {0};
    IrInterpOptions io = {.precision = f64 ? IR_PRECISION_F64 : IR_PRECISION_F32, .ranks = 1};
    bool ok = ir_interp_run(c->g, &io, ins, &ref, &err);
    if (!ok) fprintf(stderr, "%s: interpreter: %s\n", ir_op_name(op), err.msg);
    RtExec *e = ok ? rt_exec_new(jit, c->g, pool, &err) : NULL;
    if (ok && !e) fprintf(stderr, "%s (%s): %s\n", ir_op_name(op), ir_dtype_name(dt), err.msg);
    CHECK(e != NULL);
    if (e) {
        void *out = calloc(1, ir_type_bytes(&ref.type));
        void *outs[1] = {out};
        CHECK(rt_exec_run(e, bufs, outs, &err));
        IrValue got;
        rt_native_to_value(out, ref.type, &got);
        double r = ratio(&got, &ref), tol = dt == IR_DTYPE_I32 ? 0 : dt == IR_DTYPE_F64 ? 1e-12 : 1e-5;
        if (r > tol) fprintf(stderr, "%s (%s): ratio %.3g > %g\n", ir_op_name(op), ir_dtype_name(dt), r, tol);
        CHECK(r <= tol);
        ran[op] = true;
        ir_value_free(&got);
        free(out);
        rt_exec_free(e);
    }
    if (ok) ir_value_free(&ref);
    for (uint32_t i = 0; i < c->n_in; i++) {
        ir_value_free(&ins[i]);
        free(bufs[i]);
    }
    ir_graph_free(c->g);
}

static IrType t2(IrDtype dt, int64_t a, int64_t b) { return ir_type_make(dt, 2, (int64_t[]){a, b}); }
static IrType t1(IrDtype dt, int64_t a) { return ir_type_make(dt, 1, (int64_t[]){a}); }

static void op_case(IrOp op, IrDtype dt) {
    Case c;
    begin(&c, ir_op_name(op));
    IrBuilder *b = &c.b;
    IrType x67 = t2(dt, 6, 7);
    IrId y = IR_ID_NONE;
    switch (op) {
    case IR_OP_NEG: case IR_OP_ABS: case IR_OP_EXP: case IR_OP_TANH: case IR_OP_RECIP: case IR_OP_SIN:
    case IR_OP_COS: case IR_OP_STOP_GRADIENT:
        y = ir_build_unary(b, op, input(&c, x67, ANY, 0));
        break;
    case IR_OP_LOG: case IR_OP_SQRT: case IR_OP_RSQRT: y = ir_build_unary(b, op, input(&c, x67, POSITIVE, 0)); break;
    case IR_OP_CAST: y = ir_build_cast(b, input(&c, x67, ANY, 0), dt == IR_DTYPE_F32 ? IR_DTYPE_F64 : IR_DTYPE_F32); break;
    case IR_OP_ADD: case IR_OP_SUB: case IR_OP_MUL: case IR_OP_MAX: case IR_OP_MIN: case IR_OP_CMPLT:
    case IR_OP_CMPEQ: {
        IrId x = input(&c, x67, ANY, 0);
        y = ir_build_binary(b, op, x, op == IR_OP_CMPEQ ? x : input(&c, x67, ANY, 0));
        break;
    }
    case IR_OP_DIV: case IR_OP_POW: {
        IrId x = input(&c, x67, POSITIVE, 0);
        y = ir_build_binary(b, op, x, input(&c, x67, op == IR_OP_POW ? SMALL : POSITIVE, 0));
        break;
    }
    case IR_OP_SELECT: {
        IrId cond = ir_build_binary(b, IR_OP_CMPLT, input(&c, x67, ANY, 0), input(&c, x67, ANY, 0));
        y = ir_build_select(b, cond, input(&c, x67, ANY, 0), input(&c, x67, ANY, 0));
        break;
    }
    case IR_OP_REDUCE_SUM: case IR_OP_REDUCE_MAX: y = ir_build_reduce(b, op, input(&c, x67, ANY, 0), 1, false); break;
    case IR_OP_RESHAPE: y = ir_build_reshape(b, input(&c, x67, ANY, 0), 1, (int64_t[]){42}); break;
    case IR_OP_PERMUTE: y = ir_build_permute(b, input(&c, x67, ANY, 0), 2, (int64_t[]){1, 0}); break;
    case IR_OP_BROADCAST: y = ir_build_broadcast_to(b, input(&c, t1(dt, 7), ANY, 0), 2, (int64_t[]){6, 7}); break;
    case IR_OP_SLICE:
        y = ir_build_slice(b, input(&c, x67, ANY, 0), (int64_t[]){1, 0}, (int64_t[]){6, 7}, (int64_t[]){2, 3});
        break;
    case IR_OP_CONCAT: {
        IrId xs[2] = {input(&c, x67, ANY, 0), input(&c, t2(dt, 6, 3), ANY, 0)};
        y = ir_build_concat(b, xs, 2, 1);
        break;
    }
    case IR_OP_MATMUL: y = ir_build_matmul(b, input(&c, x67, ANY, 0), input(&c, t2(dt, 7, 5), ANY, 0), false, false); break;
    case IR_OP_GATHER:
        y = ir_build_gather(b, input(&c, t2(dt, 10, 7), ANY, 0), input(&c, t1(IR_DTYPE_I32, 6), ANY, 10), 0, 0);
        break;
    case IR_OP_SCATTER_ADD:
        y = ir_build_scatter_add(b, t2(dt, 10, 7), input(&c, t1(IR_DTYPE_I32, 6), ANY, 10), input(&c, x67, ANY, 0),
                                 0, 0);
        break;
    case IR_OP_TOPK: y = ir_build_topk(b, input(&c, x67, ANY, 0), 3); break;
    case IR_OP_IOTA:
        y = ir_build_binary(b, IR_OP_ADD, ir_build_iota(b, x67, 1), input(&c, x67, ANY, 0)); /* a graph input */
        break;
    case IR_OP_ONEHOT: y = ir_build_onehot(b, input(&c, t1(IR_DTYPE_I32, 6), ANY, 10), 10, dt); break;
    case IR_OP_CUMSUM: y = ir_build_cumsum(b, input(&c, x67, ANY, 0), 1, false, false); break;
    case IR_OP_RAND: {
        IrType s = ir_type_scalar(IR_DTYPE_I32);
        IrId k[3] = {input(&c, s, ANY, 1000), input(&c, s, ANY, 1000), input(&c, s, ANY, 8)};
        y = ir_build_rand(b, x67, k[0], k[1], k[2], 3, dt == IR_DTYPE_F32 ? IR_RAND_UNIFORM : IR_RAND_NORMAL);
        break;
    }
    case IR_OP_ALL_GATHER: y = ir_build_all_gather(b, input(&c, x67, ANY, 0), 0, 1); break;
    case IR_OP_REDUCE_SCATTER: y = ir_build_reduce_scatter(b, input(&c, x67, ANY, 0), 0, 1, IR_REDUCE_SUM); break;
    case IR_OP_ALL_REDUCE: y = ir_build_all_reduce(b, input(&c, x67, ANY, 0), 1, IR_REDUCE_MAX); break;
    case IR_OP_ALL_TO_ALL: y = ir_build_all_to_all(b, input(&c, x67, ANY, 0), 0, 1, 1); break;
    case IR_OP_ATTENTION: case IR_OP_ATTENTION_LSE: case IR_OP_ATTENTION_GRAD: {
        /* GQA-like: 6 rows over 3 keys, causal; d = 8, e = 5 (a tail vector) */
        IrType tq = ir_type_make(dt, 3, (int64_t[]){2, 6, 8}), tk = ir_type_make(dt, 3, (int64_t[]){2, 3, 8});
        IrType tv = ir_type_make(dt, 3, (int64_t[]){2, 3, 5}), tr = t2(dt, 2, 6);
        IrId q = input(&c, tq, ANY, 0), k = input(&c, tk, ANY, 0);
        if (op == IR_OP_ATTENTION_LSE) {
            y = ir_build_attention_lse(b, q, k, 0.35, true);
            break;
        }
        IrId v = input(&c, tv, ANY, 0);
        if (op == IR_OP_ATTENTION) {
            y = ir_build_attention(b, q, k, v, 0.35, true);
            break;
        }
        IrId lse = input(&c, tr, SMALL, 0), dsum = input(&c, tr, SMALL, 0);
        IrId dout = input(&c, ir_type_make(dt, 3, (int64_t[]){2, 6, 5}), ANY, 0);
        y = ir_build_attention_grad(b, q, k, v, lse, dsum, dout, 0.35, true, IR_ATTENTION_K);
        break;
    }
    case IR_OP_EXTERN_CALL: /* the runtime's (libffi), not a kernel: tests/extern/ */
    case IR_OP_INPUT: case IR_OP_CONST: /* sources: every case has them */
    case IR_OP_INVALID: case IR_OP_COUNT: break;
    }
    if (y == IR_ID_NONE) {
        ir_graph_free(c.g);
        return;
    }
    finish(&c, op, y);
}

/* bf16 kernels the JIT does not compile yet (a reduction of bf16) are refused with a
 * message naming the node, and nothing is compiled. */
static void test_bf16_refused(void) {
    IrGraph *g = ir_graph_new("bf");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", ir_type_make(IR_DTYPE_F32, 2, (int64_t[]){2, 2}));
    IrId y = ir_build_cast(&b, x, IR_DTYPE_BF16);
    y = ir_build_cast(&b, ir_build_reduce(&b, IR_OP_REDUCE_SUM, y, 1, false), IR_DTYPE_F32);
    ir_graph_add_output(g, "y", y);
    CHECK(ir_builder_ok(&b));
    LlmcErr err = {0};
    RtExec *e = rt_exec_new(jit, g, pool, &err);
    CHECK(e == NULL);
    CHECK(err.set && strstr(err.msg, "bf16 kernels are not supported yet") != NULL);
    if (err.set) fprintf(stderr, "  (expected) %s\n", err.msg);
    rt_exec_free(e);
    ir_graph_free(g);
}

/* --- bf16 casts and copies, bit-exact against the interpreter ------------------------ */

static double f32_of_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static double f64_of_bits(uint64_t u) {
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static uint64_t rand_bits(void) {
    (void)urand();
    return rng;
}

/* Runs g (input "x" = xs, output "y") through the interpreter and the executor and checks
 * the output bytes are equal (the interpreter's value made native, runtime/native.c), and
 * that the finite elements agree with ratio 0 and the non-finite ones in class. */
static void bf16_compare(IrGraph *g, const char *what, const IrValue *xs) {
    IrValue ref = {0};
    LlmcErr err = {0};
    bool f64 = false;
    for (IrId id = 0; id < g->n_nodes; id++) f64 |= g->nodes[id].type.dtype == IR_DTYPE_F64;
    IrInterpOptions io = {.precision = f64 ? IR_PRECISION_F64 : IR_PRECISION_F32, .ranks = 1};
    bool ok = ir_interp_run(g, &io, xs, &ref, &err);
    if (!ok) fprintf(stderr, "bf16 %s: interpreter: %s\n", what, err.msg);
    CHECK(ok);
    RtExec *e = ok ? rt_exec_new(jit, g, pool, &err) : NULL;
    if (ok && !e) fprintf(stderr, "bf16 %s: %s\n", what, err.msg);
    CHECK(e != NULL);
    if (e) {
        void *in = rt_native_from_value(xs), *want = rt_native_from_value(&ref);
        uint64_t nbytes = ir_type_bytes(&ref.type);
        void *out = calloc(1, nbytes);
        void *ins[1] = {in}, *outs[1] = {out};
        CHECK(rt_exec_run(e, ins, outs, &err));
        /* Every element bit for bit, NaNs included: a bf16 node holds a bf16 value in the
         * interpreter too (ir_round_bf16 maps a NaN to the NaN 16 bits hold). */
        int64_t bad = 0;
        size_t w = ir_dtype_size(ref.type.dtype);
        for (int64_t i = 0; i < ir_type_numel(&ref.type); i++) {
            uint64_t a = 0, r = 0;
            memcpy(&a, (char *)out + i * w, w);
            memcpy(&r, (char *)want + i * w, w);
            if (a == r) continue;
            if (!bad++)
                fprintf(stderr, "bf16 %s: element %lld: jit %#llx, interpreter %#llx\n", what, (long long)i,
                        (unsigned long long)a, (unsigned long long)r);
        }
        CHECK(bad == 0);
        IrValue got;
        rt_native_to_value(out, ref.type, &got);
        double d2 = 0;
        int64_t class_diff = 0;
        for (int64_t i = 0; i < ir_type_numel(&ref.type); i++) {
            double a = got.data[i], r = ref.data[i];
            if (isfinite(r)) d2 += (a - r) * (a - r);
            else class_diff += isnan(a) != isnan(r) || (isinf(r) && a != r);
        }
        CHECK(d2 == 0 && class_diff == 0);
        ir_value_free(&got);
        free(out);
        free(in);
        free(want);
        rt_exec_free(e);
    }
    if (ok) ir_value_free(&ref);
}

/* y = cast(x, to), x of dtype `from` holding vals[0..n) exactly (the values are taken as
 * that dtype's values: callers pass f32 values for f32 and bf16 values for bf16). */
static void bf16_cast_case(IrDtype from, IrDtype to, const double *vals, int64_t n, const char *what) {
    IrGraph *g = ir_graph_new("bf16_cast");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrType t = ir_type_make(from, 1, (int64_t[]){n});
    IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", t);
    ir_graph_add_output(g, "y", ir_build_cast(&b, x, to));
    CHECK(ir_builder_ok(&b));
    IrValue xs;
    ir_value_alloc(&xs, t);
    memcpy(xs.data, vals, (size_t)n * sizeof *vals);
    char name[96];
    snprintf(name, sizeof name, "%s -> %s, %s", ir_dtype_name(from), ir_dtype_name(to), what);
    bf16_compare(g, name, &xs);
    ir_value_free(&xs);
    ir_graph_free(g);
}

/* f32 and f64 -> bf16 and back over random values, every bf16 pattern, ties either side,
 * subnormals, overflow, inf and nan; the round trip f32 -> bf16 -> f32 in one kernel. */
static void test_bf16_casts(void) {
    enum { N = 1 << 18 };
    double *v = llmc_xmalloc(N * sizeof *v);
    int64_t n;
    /* bf16 -> f32 / f64: every pattern (NaNs as the interpreter reads them: quieted) */
    for (n = 0; n < 65536; n++) v[n] = ir_bf16_to_double((uint16_t)n);
    bf16_cast_case(IR_DTYPE_BF16, IR_DTYPE_F32, v, n, "every pattern");
    bf16_cast_case(IR_DTYPE_BF16, IR_DTYPE_F64, v, n, "every pattern");
    /* f32 -> bf16: every bf16 pattern as an f32 (a round trip), the ties and their
     * neighbours above and below, random bit patterns (every class), and specials */
    n = 0;
    for (uint32_t p = 0; p < 65536; p++) {
        uint32_t u = p << 16;
        v[n++] = f32_of_bits(u);
        v[n++] = f32_of_bits(u | 0x8000u);
        v[n++] = f32_of_bits(u | 0x7fffu);
        v[n++] = f32_of_bits(u | 0x8001u);
    }
    bf16_cast_case(IR_DTYPE_F32, IR_DTYPE_BF16, v, n, "patterns and ties");
    n = 0;
    while (n < N - 16) {
        uint32_t u = (uint32_t)rand_bits();
        v[n++] = f32_of_bits(u);
        v[n++] = f32_of_bits(u & 0x807fffffu); /* f32 subnormal */
        v[n++] = (double)(float)(8 * urand() - 4);
    }
    double specials[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, -NAN, 0x1.fffffep127, -0x1.fffffep127, 0x1.ffp127,
                         0x1.fep127, 0x1p-149, 0x1p-133, 0x1p-134, 0x1.8p-134, 0x1p-126, 0x1.fcp-127};
    for (size_t i = 0; i < sizeof specials / sizeof *specials; i++) v[n++] = specials[i];
    bf16_cast_case(IR_DTYPE_F32, IR_DTYPE_BF16, v, n, "random and specials");
    /* f64 -> bf16, rounded once: every bf16 value plus exactly half an ulp (ties), plus
     * or minus a little (where rounding through f32 would go wrong), random doubles over
     * the f32 exponent range and beyond, double subnormals, specials */
    n = 0;
    for (uint32_t p = 0; p < 32768; p++) {
        double x = ir_bf16_to_double((uint16_t)p);
        if (!isfinite(x)) continue;
        int ex;
        (void)frexp(x, &ex);
        double ulp = ldexp(1.0, (ex - 8 < -133 ? -133 : ex - 8) - 1); /* half an ulp */
        if (x == 0) ulp = 0x1p-134;
        v[n++] = x;
        v[n++] = x + ulp;
        v[n++] = -(x + ulp);
        v[n++] = x + ulp + ulp * 0x1p-30;
        v[n++] = x + ulp - ulp * 0x1p-30;
        v[n++] = x + ulp * 0x1p-40;
    }
    bf16_cast_case(IR_DTYPE_F64, IR_DTYPE_BF16, v, n, "ties and neighbours");
    n = 0;
    while (n < N - 64) {
        uint64_t u = rand_bits();
        uint64_t ex = 1023 - 160 + (u >> 40) % 330; /* 2^-160 .. 2^169 */
        uint64_t d = (u & 0x800fffffffffffffull) | ex << 52;
        v[n++] = f64_of_bits(d);
        v[n++] = f64_of_bits(u);                           /* any pattern, nan payloads included */
        v[n++] = f64_of_bits(u & 0x800fffffffffffffull);  /* double subnormal */
        v[n++] = f64_of_bits((u & 0x800fffffffffffffull) | (uint64_t)(1023 - 134 + (u >> 60)) << 52); /* bf16 subnormal */
    }
    double more[] = {0x1.ffp127, -0x1.ffp127, nextafter(0x1.ffp127, 0), 0x1p128, 1e300, -1e300, 0x1p-134,
                     nextafter(0x1p-134, 1), 0x1p-135, 0x1.fcp-127, 0x1.fdp-127, 0x1.fep-127, 0x1.ffp-127, 4.9e-324};
    for (size_t i = 0; i < sizeof more / sizeof *more; i++) v[n++] = more[i];
    for (size_t i = 0; i < sizeof specials / sizeof *specials; i++) v[n++] = specials[i];
    bf16_cast_case(IR_DTYPE_F64, IR_DTYPE_BF16, v, n, "random and specials");
    /* f32 -> bf16 -> f32, one kernel: every f32 pattern with the top 16 bits from the
     * enumeration and random low bits */
    IrGraph *g = ir_graph_new("bf16_round_trip");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrType t = ir_type_make(IR_DTYPE_F32, 1, (int64_t[]){65536});
    IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", t);
    ir_graph_add_output(g, "y", ir_build_cast(&b, ir_build_cast(&b, x, IR_DTYPE_BF16), IR_DTYPE_F32));
    CHECK(ir_builder_ok(&b));
    IrValue xs;
    ir_value_alloc(&xs, t);
    for (uint32_t p = 0; p < 65536; p++) xs.data[p] = f32_of_bits(p << 16 | ((uint32_t)rand_bits() & 0xffffu));
    bf16_compare(g, "f32 -> bf16 -> f32", &xs);
    ir_value_free(&xs);
    ir_graph_free(g);
    free(v);
}

/* A permute of a bf16 tensor (a MOVEMENT kernel), and the same permute read by a cast to
 * f32 (a movement member of an ELEMENTWISE kernel): every bf16 pattern, bytes equal. */
static void test_bf16_permute(void) {
    for (int cast = 0; cast < 2; cast++) {
        IrGraph *g = ir_graph_new("bf16_permute");
        IrBuilder b;
        ir_builder_init(&b, g);
        IrType t = ir_type_make(IR_DTYPE_BF16, 3, (int64_t[]){16, 64, 64});
        IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", t);
        IrId y = ir_build_permute(&b, x, 3, (int64_t[]){2, 0, 1});
        if (cast) y = ir_build_cast(&b, y, IR_DTYPE_F32);
        ir_graph_add_output(g, "y", y);
        CHECK(ir_builder_ok(&b));
        IrValue xs;
        ir_value_alloc(&xs, t);
        for (int64_t i = 0; i < 65536; i++) xs.data[i] = ir_bf16_to_double((uint16_t)(i * 40503u)); /* a bijection */
        bf16_compare(g, cast ? "permute -> f32" : "permute", &xs);
        ir_value_free(&xs);
        ir_graph_free(g);
    }
}

/* precision = bf16 ends row kernels and matmul epilogues in a cast to bf16 (fuse.c rule 3,
 * codegen_kernel.c bf16_cast_out): the cast must land in that kernel, and each bf16
 * element must be the f32 element of the same kernel rounded to nearest even, bit for
 * bit; the f32 outputs within 1e-5 of the interpreter. */
static void fused_cast_case(IrGraph *g, IrId y, IrId c, CcKernelKind kind, const char *what) {
    ir_graph_add_output(g, "y", y);
    ir_graph_add_output(g, "c", c);
    IrId x = ir_graph_find_input(g, "x");
    IrValue xs = {0}, ref[2];
    memset(ref, 0, sizeof ref);
    ir_value_alloc(&xs, g->nodes[x].type);
    fill(&xs, ANY, 0);
    LlmcErr err = {0};
    IrInterpOptions io = {.precision = IR_PRECISION_F32, .ranks = 1};
    CHECK(ir_interp_run(g, &io, &xs, ref, &err));
    RtExec *e = rt_exec_new(jit, g, pool, &err);
    if (!e) fprintf(stderr, "bf16 fused cast, %s: %s\n", what, err.msg);
    CHECK(e != NULL);
    if (e) {
        const CcFusion *f = rt_exec_fusion(e);
        bool in_kind = false; /* the cast sits in a kernel of the expected kind */
        for (uint32_t k = 0; k < f->n_kernels; k++)
            for (uint32_t i = 0; i < f->kernels[k].n_nodes; i++)
                in_kind |= f->kernels[k].nodes[i] == c && f->kernels[k].kind == kind;
        if (!in_kind) fprintf(stderr, "bf16 fused cast, %s: the cast is not in a %s kernel\n", what, cc_kernel_kind_name(kind));
        CHECK(in_kind);
        int64_t n = ir_type_numel(&g->nodes[y].type);
        float *yo = calloc((size_t)n, sizeof *yo);
        uint16_t *co = calloc((size_t)n, sizeof *co);
        void *in = rt_native_from_value(&xs), *ins[1] = {in}, *outs[2] = {yo, co};
        CHECK(rt_exec_run(e, ins, outs, &err));
        int64_t bad = 0;
        double worst = 0;
        for (int64_t i = 0; i < n; i++) {
            bad += co[i] != ir_bf16_from_double(yo[i]); /* a float is exact in double: one rounding */
            double d = fabs(yo[i] - ref[0].data[i]) / (fabs(ref[0].data[i]) + 1e-3);
            if (d > worst) worst = d;
        }
        if (bad) fprintf(stderr, "bf16 fused cast, %s: %lld elements not the rounded f32\n", what, (long long)bad);
        CHECK(bad == 0);
        CHECK(worst < 1e-5);
        free(in), free(yo), free(co);
        rt_exec_free(e);
    }
    ir_value_free(&xs), ir_value_free(&ref[0]), ir_value_free(&ref[1]);
    ir_graph_free(g);
}

static void test_bf16_fused_casts(void) {
    /* matmul epilogue: y = tanh(x w + b), c = bf16(y); C is y's buffer */
    IrGraph *g = ir_graph_new("epi_cast");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", t2(IR_DTYPE_F32, 70, 48));
    IrId w = ir_build_const(&b, t2(IR_DTYPE_F32, 48, 40), (double[]){0.03125}, 1);
    IrId bias = ir_build_const(&b, t1(IR_DTYPE_F32, 40), (double[]){0.25}, 1);
    IrId y = ir_build_unary(&b, IR_OP_TANH, ir_build_binary_bcast(&b, IR_OP_ADD, ir_build_matmul(&b, x, w, false, false), bias));
    fused_cast_case(g, y, ir_build_cast(&b, y, IR_DTYPE_BF16), CC_KERNEL_MATMUL, "matmul epilogue");
    /* row kernel: y = softmax(x) along rows, c = bf16(y) */
    g = ir_graph_new("row_cast");
    ir_builder_init(&b, g);
    x = ir_build_input(&b, IR_ROLE_DATA, "x", t2(IR_DTYPE_F32, 33, 100));
    IrId m = ir_build_reduce(&b, IR_OP_REDUCE_MAX, x, 1, true);
    IrId ex = ir_build_unary(&b, IR_OP_EXP, ir_build_binary_bcast(&b, IR_OP_SUB, x, m));
    y = ir_build_binary_bcast(&b, IR_OP_DIV, ex, ir_build_reduce(&b, IR_OP_REDUCE_SUM, ex, 1, true));
    fused_cast_case(g, y, ir_build_cast(&b, y, IR_DTYPE_BF16), CC_KERNEL_ROW, "row kernel");
}

int main(void) {
    LlmcErr err = {0};
    jit = cc_jit_new(&err);
    pool = rt_pool_new(2, &err);
    CHECK(jit && pool);
    for (int o = 1; jit && pool && o < IR_OP_COUNT; o++) {
        op_case((IrOp)o, IR_DTYPE_F32);
        op_case((IrOp)o, IR_DTYPE_F64);
    }
    if (jit && pool) {
        test_bf16_refused();
        test_bf16_casts();
        test_bf16_permute();
        test_bf16_fused_casts();
    }
    ran[IR_OP_INPUT] = ran[IR_OP_CONST] = ran[IR_OP_EXTERN_CALL] = true; /* see the banner */
    for (int o = 1; o < IR_OP_COUNT; o++) {
        if (!ran[o]) fprintf(stderr, "op %s has no executor case\n", ir_op_name((IrOp)o));
        CHECK(ran[o]);
    }
    rt_pool_free(pool);
    cc_jit_free(jit);
    TEST_MAIN();
}
