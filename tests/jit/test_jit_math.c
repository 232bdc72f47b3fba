/* tests/jit/test_jit_math.c — the in-kernel exp, log, tanh, sin, cos and pow
 * (compiler/codegen_math.c) against libm, element by element.
 *
 * Each function is a one-node elementwise kernel in f64 and f32, run on dense sweeps of
 * its range plus special values. The reference is C libm in double (what the interpreter
 * calls), rounded once to float for f32 (the interpreter's f32 mode). Per element:
 *   - a non-finite or zero reference must be matched exactly (nan for nan, signs of zero
 *     and infinity included); a finite nonzero reference within a relative error of 1e-12
 *     (f64) or 1e-6 (f32), relative to max(|ref|, smallest normal) so that subnormal
 *     results count in absolute terms;
 *   - the kernel called one element at a time (the scalar tail) gives the same bytes as
 *     one call over everything (the vector body): the same operations per lane.
 * Ranges: exp [-746, 711] (overflow to inf, underflow to 0), log (0, DBL_MAX] including
 * subnormals and near 1, tanh [-30, 30] and tiny, sin/cos |x| <= 1e4 dense, up to 2^30
 * sparse (Cody-Waite), and 2^30 to DBL_MAX (Payne-Hanek) with known hard cases, points
 * near multiples of pi/2; pow x in (0, 1e300] with |y log x| <= 708, plus
 * a grid of special x and y (zeros, +-1, infinities, nan, negative x with integer and
 * fractional y). The worst relative error per function and dtype is printed.
 * The attention kernels' f32 exp (cc_math_exp_f32, f32 arithmetic) within 2 ulp of the
 * correctly rounded result over [-86.64, 88.72], its flushes and overflows exact.
 * Also: a kernel using every transcendental (f32 and f64), and a rand normal kernel,
 * declare only intrinsics of cc_codegen_inline_intrinsics in their optimized IR, and their
 * host assembly calls no function at all.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "test.h"

static CcJit *jit;

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static double urand(void) { /* [0, 1) */
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) * 0x1.0p-53;
}

/* --- the attention kernels' f32 exp (cc_math_exp_f32) ----------------------------------- */

/* Against (float)exp((double)x): within 2 ulp of it on [XLO, XHI] = [-86.64, 88.722839],
 * +0 below, +inf above, nan for nan; the 16-lane body and the scalar tail give the same
 * bits (one call over everything against one call per element). */
static void test_exp_f32(void) {
    LlmcErr err = {0};
    CcKernelFn fn = NULL;
    CHECK(cc_codegen_exp_f32(jit, &fn, &err));
    if (!fn) return;
    enum { N = 1 << 21 };
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y), *y1 = malloc(N * sizeof *y1);
    static const float special[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, -86.64f, -86.6399f, -86.6401f, 88.72283f,
                                    88.7228391f, 88.7229f, -87.3365f, -103.9f, -104.0f, 1e-30f, -1e-30f, 0x1p-149f,
                                    FLT_MAX, -FLT_MAX, 0.5f * 0.6931472f, -0.5f * 0.6931472f, 1.0f, -1.0f};
    int64_t n = 0;
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) x[n++] = special[i];
    for (; n < N / 2; n++) x[n] = (float)(-90 + 180 * urand());            /* the whole range */
    for (; n < N; n++) x[n] = (float)(-0.5 + urand());                      /* |r| small: k = 0, 1 */
    void *bufs[2] = {x, y};
    fn(bufs, 0, N);
    bufs[1] = y1;
    for (int64_t i = 0; i < N; i++) fn(bufs, i, i + 1);
    CHECK(memcmp(y, y1, N * sizeof *y) == 0);
    double worst_ulp = 0;
    int64_t bad = 0;
    for (int64_t i = 0; i < N; i++) {
        float ref = (float)exp((double)x[i]);
        bool ok;
        if (isnan(x[i])) ok = isnan(y[i]);
        else if (x[i] < -86.64f) ok = y[i] == 0.0f && !signbit(y[i]);
        else if (x[i] > 88.7228390f || isinf(ref)) ok = isinf(y[i]) && y[i] > 0;
        else {
            double ulp = (double)nextafterf(ref, INFINITY) - (double)ref, e = fabs((double)y[i] - (double)ref) / ulp;
            if (e > worst_ulp) worst_ulp = e;
            ok = e <= 2;
        }
        if (!ok && bad++ < 5) fprintf(stderr, "exp_f32(%.9g) = %.9g, want %.9g\n", x[i], y[i], ref);
    }
    CHECK(bad == 0);
    fprintf(stderr, "exp_f32 worst error: %.2f ulp over %d inputs\n", worst_ulp, N);
    free(x);
    free(y);
    free(y1);
}

/* --- one function over an array ------------------------------------------------------- */

typedef struct Sweep {
    double *x, *y; /* y: pow only */
    int64_t n, cap;
} Sweep;

static void push(Sweep *s, double x, double y) {
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 1024;
        s->x = realloc(s->x, (size_t)s->cap * sizeof *s->x);
        s->y = realloc(s->y, (size_t)s->cap * sizeof *s->y);
    }
    s->x[s->n] = x;
    s->y[s->n] = y;
    s->n++;
}

static double ref_of(IrOp op, double x, double y) {
    if (op == IR_OP_EXP) return exp(x);
    if (op == IR_OP_LOG) return log(x);
    if (op == IR_OP_TANH) return tanh(x);
    if (op == IR_OP_SIN) return sin(x);
    if (op == IR_OP_COS) return cos(x);
    if (op == IR_OP_POW) return pow(x, y);
    return NAN;
}

static double worst[IR_OP_COUNT][2];

/* Compiles op for dt, runs it on s (values rounded to dt), checks every element. */
static void check_sweep(IrOp op, IrDtype dt, const Sweep *s) {
    bool f32 = dt == IR_DTYPE_F32, binary = op == IR_OP_POW;
    int64_t n = s->n;
    IrGraph *g = ir_graph_new("k");
    IrBuilder b;
    ir_builder_init(&b, g);
    int64_t dims[1] = {n};
    IrType t = ir_type_make(dt, 1, dims);
    IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", t);
    IrId r = binary ? ir_build_binary(&b, op, x, ir_build_input(&b, IR_ROLE_DATA, "y", t)) : ir_build_unary(&b, op, x);
    CHECK(ir_builder_ok(&b));
    LlmcErr err = {0};
    CcKernelFn fn = NULL;
    bool ok = cc_codegen_elementwise(jit, g, &r, 1, r, &fn, &err);
    if (!ok) fprintf(stderr, "  %s %s: %s\n", ir_op_name(op), ir_dtype_name(dt), err.msg);
    CHECK(ok);
    size_t es = f32 ? sizeof(float) : sizeof(double);
    void *xb = malloc((size_t)n * es), *yb = malloc((size_t)n * es);
    void *whole = malloc((size_t)n * es), *one = malloc((size_t)n * es);
    for (int64_t i = 0; i < n; i++) {
        if (f32) {
            ((float *)xb)[i] = (float)s->x[i];
            ((float *)yb)[i] = (float)s->y[i];
        } else {
            ((double *)xb)[i] = s->x[i];
            ((double *)yb)[i] = s->y[i];
        }
    }
    void *bufs[3] = {xb, binary ? yb : whole, whole};
    if (ok) {
        fn(bufs, 0, n);
        bufs[binary ? 2 : 1] = one;
        for (int64_t i = 0; i < n; i++) fn(bufs, i, i + 1);
        CHECK(memcmp(whole, one, (size_t)n * es) == 0);
    }
    double tol = f32 ? 1e-6 : 1e-12, floor_ = f32 ? FLT_MIN : DBL_MIN, w = 0;
    int bad = 0;
    for (int64_t i = 0; ok && i < n; i++) {
        double xi = f32 ? ((float *)xb)[i] : ((double *)xb)[i];
        double yi = f32 ? ((float *)yb)[i] : ((double *)yb)[i];
        double ref = ref_of(op, xi, yi), a = f32 ? ((float *)whole)[i] : ((double *)whole)[i];
        if (f32) ref = (float)ref;
        bool good;
        if (isnan(ref) || isnan(a)) good = isnan(ref) && isnan(a);
        else if (!isfinite(ref) || ref == 0 || !isfinite(a) || a == 0)
            good = a == ref && signbit(a) == signbit(ref);
        else {
            double e = fabs(a - ref) / fmax(fabs(ref), floor_);
            if (e > w) w = e;
            good = e <= tol;
        }
        if (!good && bad++ < 8)
            fprintf(stderr, "  %s %s (%.17g, %.17g): jit %.17g libm %.17g\n", ir_op_name(op), ir_dtype_name(dt), xi,
                    yi, a, ref);
        CHECK(good);
    }
    if (bad) fprintf(stderr, "  %s %s: %d bad elements\n", ir_op_name(op), ir_dtype_name(dt), bad);
    if (w > worst[op][f32]) worst[op][f32] = w;
    free(xb);
    free(yb);
    free(whole);
    free(one);
    ir_graph_free(g);
}

static void check_both(IrOp op, Sweep *s) {
    check_sweep(op, IR_DTYPE_F64, s);
    check_sweep(op, IR_DTYPE_F32, s);
    free(s->x);
    free(s->y);
    memset(s, 0, sizeof *s);
}

static const double SPECIAL[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 1e300, -1e300, 1e-300, -1e-300,
                                 5e-324, -5e-324, 1e-40, -1e-40, DBL_MAX, -DBL_MAX, DBL_MIN, 1.0, -1.0,
                                 FLT_MAX, FLT_MIN, 0.5, -0.5, 2.0, -2.0, 1e-8, -1e-8};
#define N_SPECIAL (sizeof SPECIAL / sizeof SPECIAL[0])

static void add_specials(Sweep *s) {
    for (size_t i = 0; i < N_SPECIAL; i++) push(s, SPECIAL[i], 0);
}

/* n points evenly over [lo, hi] with a random jitter of one step. */
static void add_range(Sweep *s, double lo, double hi, int64_t n) {
    double step = (hi - lo) / (double)n;
    for (int64_t i = 0; i < n; i++) push(s, lo + step * ((double)i + urand()), 0);
}

static void test_exp(void) {
    Sweep s = {0};
    add_specials(&s);
    add_range(&s, -746, 711, 200000);
    add_range(&s, -1, 1, 20000);
    add_range(&s, -1e-6, 1e-6, 2000);
    static const double edge[] = {709.782712893383973, 709.782712893384, 709.79, -745.13321910194110842, -745.2,
                                  -708.4, -708.39641853226408, 88.72283905206835, 88.7228394, -87.33654475055310898,
                                  -103.972077083991796, -104.0};
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) push(&s, edge[i], 0);
    check_both(IR_OP_EXP, &s);
}

static void test_log(void) {
    Sweep s = {0};
    add_specials(&s);
    for (int64_t i = 0; i < 200000; i++) push(&s, ldexp(1.0 + urand(), (int)(urand() * 2098) - 1074), 0);
    add_range(&s, 0.5, 2, 50000);
    for (int k = -2000; k <= 2000; k++) push(&s, 1.0 + k * DBL_EPSILON, 0);
    for (int64_t i = 0; i < 2000; i++) push(&s, -urand() * 100, 0); /* nan */
    check_both(IR_OP_LOG, &s);
}

static void test_tanh(void) {
    Sweep s = {0};
    add_specials(&s);
    add_range(&s, -30, 30, 200000);
    add_range(&s, -1, 1, 20000);
    add_range(&s, -1e-3, 1e-3, 2000);
    for (int64_t i = 0; i < 2000; i++) push(&s, ldexp(urand() - 0.5, -(int)(urand() * 1000)), 0);
    check_both(IR_OP_TANH, &s);
}

static void test_sincos(IrOp op) {
    Sweep s = {0};
    add_specials(&s);
    add_range(&s, -1e4, 1e4, 200000);
    add_range(&s, -4, 4, 20000);
    for (int64_t i = 0; i < 20000; i++) push(&s, (urand() - 0.5) * ldexp(1, (int)(urand() * 30)), 0); /* to 1e9 */
    for (int64_t i = 0; i < 20000; i++) /* Payne-Hanek: 2^30 <= |x| < 2^1024 */
        push(&s, (urand() < 0.5 ? -1 : 1) * ldexp(1.0 + urand(), 30 + (int)(urand() * 994)), 0);
    for (int64_t i = 0; i < 2000; i++) push(&s, ldexp(1.0 + urand(), 29 + (int)(urand() * 3)), 0); /* the switch */
    static const double hard[] = {6381956970095103.0 * 0x1p797, 5261692873635770.0 * 0x1p499, 0x1p30, -0x1p30,
                                  nextafter(0x1p30, 0), 1e22, 1e300, 0x1.921fb54442d18p+1023};
    for (size_t i = 0; i < sizeof hard / sizeof hard[0]; i++) push(&s, hard[i], 0);
    for (int k = -6400; k <= 6400; k++) { /* near multiples of pi/2 */
        double x = k * 1.5707963267948966;
        push(&s, x, 0);
        push(&s, nextafter(x, INFINITY), 0);
        push(&s, nextafter(x, -INFINITY), 0);
    }
    check_both(op, &s);
}

static void test_pow(void) {
    Sweep s = {0};
    /* x in (0, 1e300], y with |y log x| <= 708 */
    for (int64_t i = 0; i < 200000; i++) {
        double x = exp((urand() * 2 - 1) * 690);
        double lx = fabs(log(x));
        double y = (urand() * 2 - 1) * (lx > 1e-3 ? 708 / lx : 50);
        push(&s, x, y);
    }
    for (int64_t i = 0; i < 20000; i++) push(&s, urand() * 4, (urand() - 0.5) * 8);
    for (int64_t i = 0; i < 20000; i++) { /* negative x, integer y */
        double x = -(urand() * 10 + 0.01);
        push(&s, x, floor((urand() - 0.5) * 60));
    }
    for (int64_t i = 0; i < 2000; i++) push(&s, -urand() * 10 - 1e-3, (urand() - 0.5) * 9 + 0.25); /* nan */
    static const double sx[] = {0.0, -0.0, 1.0, -1.0, INFINITY, -INFINITY, NAN, 2.0, -2.0, 0.5, -0.5, 1e-300, -1e300,
                                5e-324, DBL_MAX, -3.0};
    static const double sy[] = {0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 3.0, -3.0, 0.5, -0.5, 2.5, INFINITY, -INFINITY, NAN,
                                1e300, -1e300, 1e-300, 9007199254740993.0, 4503599627370497.0, 1e10 + 1, 7.0};
    for (size_t i = 0; i < sizeof sx / sizeof sx[0]; i++)
        for (size_t j = 0; j < sizeof sy / sizeof sy[0]; j++) push(&s, sx[i], sy[j]);
    check_both(IR_OP_POW, &s);
}

/* --- no external calls ------------------------------------------------------------------ */

/* Every `declare` is an allowed intrinsic; every `call` in the IR targets an intrinsic. */
static void check_ir(const char *what, const char *ir) {
    const char *const *inl = cc_codegen_inline_intrinsics();
    for (const char *p = ir; (p = strstr(p, "\ndeclare ")); p++) {
        const char *at = strchr(p, '@');
        bool ok = false;
        for (uint32_t k = 0; at && inl[k]; k++) {
            size_t n = strlen(inl[k]);
            ok |= strncmp(at + 1, inl[k], n) == 0 && at[1 + n] == '.';
        }
        if (!ok) fprintf(stderr, "  %s: %.60s\n", what, p + 1);
        CHECK(ok);
    }
    for (const char *p = ir; (p = strstr(p, " call ")); p++) {
        const char *at = strchr(p, '@'), *eol = strchr(p, '\n');
        bool ok = at && (!eol || at < eol) && strncmp(at, "@llvm.", 6) == 0;
        if (!ok) fprintf(stderr, "  %s: call %.60s\n", what, p + 6);
        CHECK(ok);
    }
}

/* No call instruction at all in the assembly (the kernels have no helpers), in particular
 * none to a libm name. */
static void check_asm(const char *what, const char *s) {
    static const char *const libm[] = {"exp", "log", "tanh", "sin", "cos", "pow", "fma", "rint", "floor"};
    for (const char *p = s; (p = strstr(p, "\tcall")); p++) {
        const char *eol = strchr(p, '\n');
        fprintf(stderr, "  %s: %.*s\n", what, eol ? (int)(eol - p) : 40, p + 1);
        CHECK(!"a call instruction in the kernel's assembly");
    }
    for (size_t k = 0; k < sizeof libm / sizeof libm[0]; k++) {
        char name[16];
        snprintf(name, sizeof name, "%s@PLT", libm[k]);
        CHECK(strstr(s, name) == NULL);
        snprintf(name, sizeof name, "%sf@PLT", libm[k]);
        CHECK(strstr(s, name) == NULL);
    }
}

static void check_kernels(const char *what, IrGraph *g) {
    CcFusion f;
    LlmcErr err = {0};
    bool ok = cc_fuse(g, &f, &err);
    if (!ok) fprintf(stderr, "  %s: %s\n", what, err.msg);
    CHECK(ok);
    if (!ok) return;
    int texts = 0;
    for (uint32_t k = 0; k < f.n_kernels; k++)
        for (uint32_t fn = 0; fn < cc_kernel_functions(&f.kernels[k]); fn++) {
            char *ir = cc_kernel_text(jit, g, &f.kernels[k], fn, CC_TEXT_LLVM_OPT, &err);
            char *as = cc_kernel_text(jit, g, &f.kernels[k], fn, CC_TEXT_ASM, &err);
            CHECK(ir && as);
            if (ir) check_ir(what, ir);
            if (as) check_asm(what, as);
            texts += ir && as;
            free(ir);
            free(as);
        }
    CHECK(texts >= 1);
    cc_fusion_free(&f);
}

static void test_no_calls(void) {
    for (int d = 0; d < 2; d++) {
        IrDtype dt = d ? IR_DTYPE_F32 : IR_DTYPE_F64;
        IrGraph *g = ir_graph_new("k");
        IrBuilder b;
        ir_builder_init(&b, g);
        int64_t dims[1] = {1000};
        IrType t = ir_type_make(dt, 1, dims);
        IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", t), y = ir_build_input(&b, IR_ROLE_DATA, "y", t);
        IrId acc = ir_build_unary(&b, IR_OP_EXP, x);
        acc = ir_build_binary(&b, IR_OP_ADD, acc, ir_build_unary(&b, IR_OP_LOG, x));
        acc = ir_build_binary(&b, IR_OP_ADD, acc, ir_build_unary(&b, IR_OP_TANH, x));
        acc = ir_build_binary(&b, IR_OP_ADD, acc, ir_build_unary(&b, IR_OP_SIN, x));
        acc = ir_build_binary(&b, IR_OP_ADD, acc, ir_build_unary(&b, IR_OP_COS, x));
        acc = ir_build_binary(&b, IR_OP_ADD, acc, ir_build_binary(&b, IR_OP_POW, x, y));
        ir_graph_add_output(g, "out", acc);
        CHECK(ir_builder_ok(&b));
        check_kernels(d ? "transcendentals f32" : "transcendentals f64", g);
        ir_graph_free(g);

        g = ir_graph_new("r");
        ir_builder_init(&b, g);
        IrType k = ir_type_make(IR_DTYPE_I32, 0, NULL);
        IrId s = ir_build_input(&b, IR_ROLE_DATA, "seed", k), st = ir_build_input(&b, IR_ROLE_DATA, "step", k);
        IrId m = ir_build_input(&b, IR_ROLE_DATA, "micro", k);
        IrId r = ir_build_rand(&b, t, s, st, m, 3, IR_RAND_NORMAL);
        ir_graph_add_output(g, "out", r);
        CHECK(ir_builder_ok(&b));
        check_kernels(d ? "rand normal f32" : "rand normal f64", g);
        ir_graph_free(g);
    }
}

int main(void) {
    LlmcErr err = {0};
    jit = cc_jit_new(&err);
    if (!jit) {
        fprintf(stderr, "cc_jit_new: %s\n", err.msg);
        return 1;
    }
    test_exp();
    test_log();
    test_tanh();
    test_sincos(IR_OP_SIN);
    test_sincos(IR_OP_COS);
    test_pow();
    test_no_calls();
    test_exp_f32();
    static const IrOp ops[] = {IR_OP_EXP, IR_OP_LOG, IR_OP_TANH, IR_OP_SIN, IR_OP_COS, IR_OP_POW};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        fprintf(stderr, "%-5s worst relative error: f64 %.3g, f32 %.3g\n", ir_op_name(ops[i]), worst[ops[i]][0],
                worst[ops[i]][1]);
    cc_jit_free(jit);
    TEST_MAIN();
}
