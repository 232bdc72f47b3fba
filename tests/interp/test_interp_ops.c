/* tests/interp/test_interp_ops.c — the reference interpreter, op by op, against
 * hand-computed values, with the edge cases that decide what an op means: broadcasting
 * shapes, reductions over every axis, nan, ties, i32 wraparound and division, bad
 * indices, transposes, f32 versus f64 rounding, rand keys, extern hooks.
 *
 * The tests form a registry: each entry names the ops its function covers. The final
 * check walks the op table and fails for any op that no entry covers, or that an entry
 * claims but never actually ran (the harness records every op it executes). Adding an
 * op to ops.def without an interpreter test therefore fails this program.
 */
#include "harness.h"

#include <float.h>
#include <stdint.h>

static IrInterpOptions f64_opt(void) { return (IrInterpOptions){.precision = IR_PRECISION_F64, .ranks = 1}; }

/* --- sources ------------------------------------------------------------------------- */

static void test_input_const(void) {
    Case c;
    case_begin(&c, 1);
    IrId x = case_input(&c, TY(IR_DTYPE_F32, 3), V(0.1, -2.5, 1e40));
    IrId k = ir_build_const(&c.b, TY(IR_DTYPE_F32, 2, 2), V(1, 2, 3, 0.1), 4);
    IrId s = ir_build_scalar(&c.b, IR_DTYPE_F64, 0.1);
    IrId i = ir_build_const(&c.b, TY(IR_DTYPE_I32, 3), V(-7), 1); /* splat */
    case_output(&c, x);
    case_output(&c, k);
    case_output(&c, s);
    case_output(&c, i);
    /* f32 mode rounds an f32 input to float (1e40 overflows to inf); f64 mode does not. */
    if (case_run_ok(&c, IR_PRECISION_F32)) {
        CHECK_VALS(c.out[0], (double)0.1f, -2.5, INFINITY);
        CHECK_VALS(c.out[1], 1, 2, 3, (double)0.1f);
        CHECK_VALS(c.out[2], 0.1);
        CHECK_VALS(c.out[3], -7, -7, -7);
    }
    if (case_run_ok(&c, IR_PRECISION_F64)) {
        CHECK_VALS(c.out[0], 0.1, -2.5, 1e40);
        CHECK_VALS(c.out[1], 1, 2, 3, (double)0.1f); /* the constant itself is stored as f32 */
    }
    case_end(&c);

    /* An input of the wrong type is an error naming the node and both types. */
    case_begin(&c, 1);
    IrId y = ir_build_input(&c.b, IR_ROLE_DATA, "tokens", TY(IR_DTYPE_I32, 2, 3));
    case_output(&c, y);
    IrValue wrong;
    ir_value_alloc(&wrong, TY(IR_DTYPE_F32, 2, 3));
    IrValue out = {0};
    LlmcErr err = {0};
    IrInterpOptions opt = f64_opt();
    CHECK(!ir_interp_run(c.g, &opt, &wrong, &out, &err));
    CHECK_STR(err.msg, "%0 (input): input 'tokens' was given as f32[2,3] but the graph expects i32[2,3]");
    CHECK(out.data == NULL);
    /* An i32 input must hold int32 values. */
    ir_value_free(&wrong);
    ir_value_alloc(&wrong, TY(IR_DTYPE_I32, 2, 3));
    wrong.data[4] = 1.5;
    llmc_err_clear(&err);
    CHECK(!ir_interp_run(c.g, &opt, &wrong, &out, &err));
    CHECK_STR(err.msg, "%0 (input): element 4 is 1.5, not an int32 value");
    wrong.data[4] = 4294967296.0;
    llmc_err_clear(&err);
    CHECK(!ir_interp_run(c.g, &opt, &wrong, &out, &err));
    CHECK(strstr(err.msg, "not an int32 value") != NULL);
    /* NULL options: f32, one rank. */
    wrong.data[4] = -3;
    llmc_err_clear(&err);
    CHECK(ir_interp_run(c.g, NULL, &wrong, &out, &err));
    CHECK_VALS(out, 0, 0, 0, 0, -3, 0);
    ir_value_free(&out);
    ir_value_free(&wrong);
    case_end(&c);
}

/* --- elementwise --------------------------------------------------------------------- */

/* libm through volatile operands, so the compiler cannot fold a reference value at
 * compile time with a different rounding than the library the interpreter calls. */
static double rt(double (*f)(double), double x) {
    volatile double v = x;
    return f(v);
}
static double ref_neg(double x) { return -x; }
static double ref_rsqrt(double x) { return 1.0 / sqrt(x); }
static double ref_recip(double x) { return 1.0 / x; }
static double ref_identity(double x) { return x; }

static void test_unary_float(void) {
    static const struct {
        IrOp op;
        double (*ref)(double);
    } ops[] = {
        {IR_OP_NEG, ref_neg},     {IR_OP_ABS, fabs},     {IR_OP_EXP, exp},         {IR_OP_LOG, log},
        {IR_OP_SQRT, sqrt},       {IR_OP_RSQRT, ref_rsqrt}, {IR_OP_TANH, tanh},    {IR_OP_RECIP, ref_recip},
        {IR_OP_SIN, sin},         {IR_OP_COS, cos},      {IR_OP_STOP_GRADIENT, ref_identity},
    };
    static const double xs[] = {0.0, -0.0, 1.0, -2.5, 4.0, 1e-3, 0.1, INFINITY, -INFINITY, NAN};
    enum { N = sizeof xs / sizeof xs[0] };
    for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++) {
        Case c;
        case_begin(&c, 1);
        IrId x = case_input(&c, TY(IR_DTYPE_F64, N), xs);
        IrId x32 = case_input(&c, TY(IR_DTYPE_F32, N), xs);
        case_output(&c, ir_build_unary(&c.b, ops[o].op, x));
        case_output(&c, ir_build_unary(&c.b, ops[o].op, x32));
        double want[N], want32[N];
        for (size_t i = 0; i < N; i++) {
            want[i] = rt(ops[o].ref, xs[i]);
            /* f32: the input is rounded to float first, the result once more. */
            want32[i] = (double)(float)rt(ops[o].ref, (double)(float)xs[i]);
        }
        if (case_run_ok(&c, IR_PRECISION_F32)) {
            CHECK_VALS_N(c.out[0], want, N);
            CHECK_VALS_N(c.out[1], want32, N);
        }
        /* f64 mode: f32 nodes are not rounded at all (the input neither). */
        if (case_run_ok(&c, IR_PRECISION_F64)) CHECK_VALS_N(c.out[1], want, N);
        case_end(&c);
    }
    /* A few by hand, to pin the libm-free facts down. */
    Case c;
    case_begin(&c, 1);
    IrId x = case_input(&c, TY(IR_DTYPE_F64, 4), V(0, -1, 4, -0.0));
    case_output(&c, ir_build_unary(&c.b, IR_OP_LOG, x));
    case_output(&c, ir_build_unary(&c.b, IR_OP_SQRT, x));
    case_output(&c, ir_build_unary(&c.b, IR_OP_RSQRT, x));
    case_output(&c, ir_build_unary(&c.b, IR_OP_RECIP, x));
    case_output(&c, ir_build_unary(&c.b, IR_OP_NEG, x));
    case_output(&c, ir_build_unary(&c.b, IR_OP_ABS, x));
    if (case_run_ok(&c, IR_PRECISION_F64)) {
        CHECK_VALS(c.out[0], -INFINITY, NAN, rt(log, 4.0), -INFINITY);
        CHECK_VALS(c.out[1], 0, NAN, 2, -0.0);
        CHECK_VALS(c.out[2], INFINITY, NAN, 0.5, -INFINITY);
        CHECK_VALS(c.out[3], INFINITY, -1, 0.25, -INFINITY);
        CHECK_VALS(c.out[4], -0.0, 1, -4, 0);
        CHECK_VALS(c.out[5], 0, 1, 4, 0);
    }
    case_end(&c);
}

static void test_i32_arith(void) {
    const double MIN = -2147483648.0, MAX = 2147483647.0;
    Case c;
    case_begin(&c, 1);
    IrId x = case_input(&c, TY(IR_DTYPE_I32, 8), V(MAX, MIN, 65536, 46341, 7, -7, MIN, 3));
    IrId y = case_input(&c, TY(IR_DTYPE_I32, 8), V(1, 1, 65536, 46341, -2, 2, -1, 3));
    case_output(&c, ir_build_binary(&c.b, IR_OP_ADD, x, y));
    case_output(&c, ir_build_binary(&c.b, IR_OP_SUB, x, y));
    case_output(&c, ir_build_binary(&c.b, IR_OP_MUL, x, y));
    case_output(&c, ir_build_binary(&c.b, IR_OP_DIV, x, y));
    case_output(&c, ir_build_unary(&c.b, IR_OP_NEG, x));
    case_output(&c, ir_build_unary(&c.b, IR_OP_ABS, x));
    case_output(&c, ir_build_binary(&c.b, IR_OP_MAX, x, y));
    case_output(&c, ir_build_binary(&c.b, IR_OP_MIN, x, y));
    case_output(&c, ir_build_binary(&c.b, IR_OP_CMPLT, x, y));
    case_output(&c, ir_build_binary(&c.b, IR_OP_CMPEQ, x, y));
    case_output(&c, ir_build_unary(&c.b, IR_OP_STOP_GRADIENT, x));
    for (int p = IR_PRECISION_F32; p <= IR_PRECISION_F64; p++)
        if (case_run_ok(&c, (IrPrecision)p)) {
            CHECK_VALS(c.out[0], MIN, MIN + 1, 131072, 92682, 5, -5, MAX, 6);        /* add wraps */
            CHECK_VALS(c.out[1], MAX - 1, MAX, 0, 0, 9, -9, MIN + 1, 0);            /* sub wraps */
            CHECK_VALS(c.out[2], MAX, MIN, 0, -2147479015, -14, -14, MIN, 9);       /* mul wraps */
            CHECK_VALS(c.out[3], MAX, MIN, 1, 1, -3, -3, MIN, 1);                   /* trunc; MIN/-1 */
            CHECK_VALS(c.out[4], -MAX, MIN, -65536, -46341, -7, 7, MIN, -3);        /* -MIN = MIN */
            CHECK_VALS(c.out[5], MAX, MIN, 65536, 46341, 7, 7, MIN, 3);             /* |MIN| = MIN */
            CHECK_VALS(c.out[6], MAX, 1, 65536, 46341, 7, 2, -1, 3);
            CHECK_VALS(c.out[7], 1, MIN, 65536, 46341, -2, -7, MIN, 3);
            CHECK_VALS(c.out[8], 0, 1, 0, 0, 0, 1, 1, 0);
            CHECK_VALS(c.out[9], 0, 0, 1, 1, 0, 0, 0, 1);
            CHECK_VALS(c.out[10], MAX, MIN, 65536, 46341, 7, -7, MIN, 3);           /* the identity */
        }
    case_end(&c);

    /* Division by zero names the node, its scope, the operands and the element. */
    case_begin(&c, 1);
    x = case_input(&c, TY(IR_DTYPE_I32, 3), V(1, 2, 3));
    y = case_input(&c, TY(IR_DTYPE_I32, 3), V(1, 0, 0));
    ir_builder_set_scope(&c.b, "layers.1.mlp");
    case_output(&c, ir_build_binary(&c.b, IR_OP_DIV, x, y));
    case_run_fails(&c, IR_PRECISION_F32, "%2 (div, scope layers.1.mlp): integer division by zero (2 / 0) at element 1");
    case_end(&c);
}

static double rt_pow(double x, double y) {
    volatile double a = x, b = y;
    return pow(a, b);
}

static void test_float_binary(void) {
    Case c;
    case_begin(&c, 1);
    IrId x = case_input(&c, TY(IR_DTYPE_F64, 6), V(1, NAN, 2, -0.0, 3, 0));
    IrId y = case_input(&c, TY(IR_DTYPE_F64, 6), V(NAN, 1, 2, 0.0, -1, 0));
    case_output(&c, ir_build_binary(&c.b, IR_OP_ADD, x, y));
    case_output(&c, ir_build_binary(&c.b, IR_OP_SUB, x, y));
    case_output(&c, ir_build_binary(&c.b, IR_OP_MUL, x, y));
    case_output(&c, ir_build_binary(&c.b, IR_OP_DIV, x, y));
    case_output(&c, ir_build_binary(&c.b, IR_OP_MAX, x, y));
    case_output(&c, ir_build_binary(&c.b, IR_OP_MIN, x, y));
    case_output(&c, ir_build_binary(&c.b, IR_OP_CMPLT, x, y));
    case_output(&c, ir_build_binary(&c.b, IR_OP_CMPEQ, x, y));
    case_output(&c, ir_build_binary(&c.b, IR_OP_POW, x, y));
    if (case_run_ok(&c, IR_PRECISION_F64)) {
        CHECK_VALS(c.out[0], NAN, NAN, 4, 0.0, 2, 0);
        CHECK_VALS(c.out[1], NAN, NAN, 0, -0.0, 4, 0);
        CHECK_VALS(c.out[2], NAN, NAN, 4, -0.0, -3, 0);
        CHECK_VALS(c.out[3], NAN, NAN, 1, NAN, -3, NAN); /* 0/0 = nan, float division never fails */
        CHECK_VALS(c.out[4], NAN, NAN, 2, -0.0, 3, 0);   /* nan either side propagates; x >= y ? x */
        CHECK_VALS(c.out[5], NAN, NAN, 2, -0.0, -1, 0);
        CHECK_VALS(c.out[6], 0, 0, 0, 0, 0, 0);          /* nan compares false; -0 < 0 is false */
        CHECK_VALS(c.out[7], 0, 0, 1, 1, 0, 1);
        CHECK_VALS(c.out[8], 1, NAN, 4, 1, rt_pow(3, -1), 1); /* C pow: pow(1, nan) = 1 */
    }
    case_end(&c);

    /* x / 0 is +-inf for floats; pow with a negative base and fractional exponent is nan. */
    case_begin(&c, 1);
    x = case_input(&c, TY(IR_DTYPE_F32, 3), V(1, -1, -8));
    y = case_input(&c, TY(IR_DTYPE_F32, 3), V(0, 0, 1.0 / 3));
    case_output(&c, ir_build_binary(&c.b, IR_OP_DIV, x, y));
    case_output(&c, ir_build_binary(&c.b, IR_OP_POW, x, y));
    if (case_run_ok(&c, IR_PRECISION_F32)) {
        CHECK_VALS(c.out[0], INFINITY, -INFINITY, -24);
        CHECK_VALS(c.out[1], 1, 1, NAN);
    }
    case_end(&c);

    /* f32 versus f64 mode: 1 + 1e-10 is 1 after rounding to float, not before. */
    case_begin(&c, 1);
    x = case_input(&c, TY(IR_DTYPE_F32, 1), V(1));
    y = ir_build_const(&c.b, TY(IR_DTYPE_F32, 1), V(1e-10), 1);
    IrId sum = ir_build_binary(&c.b, IR_OP_ADD, x, y);
    case_output(&c, sum);
    case_output(&c, ir_build_binary(&c.b, IR_OP_SUB, sum, x));
    if (case_run_ok(&c, IR_PRECISION_F32)) {
        CHECK_VALS(c.out[0], 1);
        CHECK_VALS(c.out[1], 0);
    }
    if (case_run_ok(&c, IR_PRECISION_F64)) {
        CHECK(c.out[0].data[0] != 1.0);
        CHECK_VALS(c.out[1], (1.0 + (double)1e-10f) - 1.0);
    }
    case_end(&c);

    /* f64 nodes are never rounded, even in f32 mode. */
    case_begin(&c, 1);
    x = case_input(&c, TY(IR_DTYPE_F64, 1), V(1));
    y = case_input(&c, TY(IR_DTYPE_F64, 1), V(1e-10));
    case_output(&c, ir_build_binary(&c.b, IR_OP_ADD, x, y));
    if (case_run_ok(&c, IR_PRECISION_F32)) CHECK_VALS(c.out[0], 1 + 1e-10);
    case_end(&c);
}

static void test_select(void) {
    Case c;
    case_begin(&c, 1);
    IrId ci = case_input(&c, TY(IR_DTYPE_I32, 4), V(1, 0, -5, 0));
    IrId cf = case_input(&c, TY(IR_DTYPE_F32, 4), V(NAN, 0, -0.0, 0.5));
    IrId x = case_input(&c, TY(IR_DTYPE_F32, 4), V(1, 2, 3, 4));
    IrId y = case_input(&c, TY(IR_DTYPE_F32, 4), V(10, 20, 30, 40));
    case_output(&c, ir_build_select(&c.b, ci, x, y));
    case_output(&c, ir_build_select(&c.b, cf, x, y));
    if (case_run_ok(&c, IR_PRECISION_F32)) {
        CHECK_VALS(c.out[0], 1, 20, 3, 40);
        CHECK_VALS(c.out[1], 1, 20, 30, 4); /* nan != 0 picks x; -0 == 0 picks y */
    }
    case_end(&c);
}

static void test_cast(void) {
    Case c;
    case_begin(&c, 1);
    IrId x = case_input(&c, TY(IR_DTYPE_F64, 7), V(2.7, -2.7, -0.5, 2147483647.9, -2147483648.9, 0.1, 1e300));
    IrId head = ir_build_slice(&c.b, x, (int64_t[]){0}, (int64_t[]){5}, NULL);
    case_output(&c, ir_build_cast(&c.b, head, IR_DTYPE_I32));
    case_output(&c, ir_build_cast(&c.b, x, IR_DTYPE_F32));
    IrId i = case_input(&c, TY(IR_DTYPE_I32, 2), V(16777217, -3));
    case_output(&c, ir_build_cast(&c.b, i, IR_DTYPE_F32));
    case_output(&c, ir_build_cast(&c.b, i, IR_DTYPE_F64));
    case_output(&c, ir_build_cast(&c.b, i, IR_DTYPE_I32));
    if (case_run_ok(&c, IR_PRECISION_F32)) {
        CHECK_VALS(c.out[0], 2, -2, 0, 2147483647, -2147483648.0); /* truncation toward 0 */
        CHECK_VALS(c.out[1], (double)2.7f, (double)-2.7f, -0.5, 2147483648.0, -2147483648.0, (double)0.1f,
                   INFINITY);
        CHECK_VALS(c.out[2], 16777216, -3); /* 2^24 + 1 is not a float */
        CHECK_VALS(c.out[3], 16777217, -3);
        CHECK_VALS(c.out[4], 16777217, -3);
    }
    if (case_run_ok(&c, IR_PRECISION_F64)) {
        CHECK_VALS(c.out[1], 2.7, -2.7, -0.5, 2147483647.9, -2147483648.9, 0.1, 1e300); /* f64 oracle */
        CHECK_VALS(c.out[2], 16777217, -3);
    }
    case_end(&c);

    /* nan and out-of-range values are errors naming the element. */
    case_begin(&c, 1);
    x = case_input(&c, TY(IR_DTYPE_F32, 3), V(1, NAN, 3));
    case_output(&c, ir_build_cast(&c.b, x, IR_DTYPE_I32));
    case_run_fails(&c, IR_PRECISION_F32, "%1 (cast): cannot cast nan to i32 (nan or out of range) at element 1");
    case_end(&c);
    case_begin(&c, 1);
    x = case_input(&c, TY(IR_DTYPE_F64, 2), V(1, 2147483648.0));
    case_output(&c, ir_build_cast(&c.b, x, IR_DTYPE_I32));
    case_run_fails(&c, IR_PRECISION_F64, "cannot cast 2147483648 to i32 (nan or out of range) at element 1");
    case_end(&c);
}

/* --- reductions ---------------------------------------------------------------------- */

static void test_reduce(void) {
    Case c;
    case_begin(&c, 1);
    /* x[0] = [[1,2,3],[4,5,6]], x[1] = [[7,8,9],[10,11,12]] */
    IrId x = case_input(&c, TY(IR_DTYPE_F64, 2, 2, 3), V(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12));
    for (int op = 0; op < 2; op++)
        for (int axis = 0; axis < 3; axis++) {
            case_output(&c, ir_build_reduce(&c.b, op ? IR_OP_REDUCE_MAX : IR_OP_REDUCE_SUM, x, axis, false));
            case_output(&c, ir_build_reduce(&c.b, op ? IR_OP_REDUCE_MAX : IR_OP_REDUCE_SUM, x, axis, true));
        }
    if (case_run_ok(&c, IR_PRECISION_F64)) {
        char buf[IR_TYPE_STR_MAX];
        CHECK_VALS(c.out[0], 8, 10, 12, 14, 16, 18);
        CHECK_STR(ir_type_format(&c.out[0].type, buf, sizeof buf), "f64[2,3]");
        CHECK_VALS(c.out[1], 8, 10, 12, 14, 16, 18);
        CHECK_STR(ir_type_format(&c.out[1].type, buf, sizeof buf), "f64[1,2,3]");
        CHECK_VALS(c.out[2], 5, 7, 9, 17, 19, 21);
        CHECK_STR(ir_type_format(&c.out[3].type, buf, sizeof buf), "f64[2,1,3]");
        CHECK_VALS(c.out[3], 5, 7, 9, 17, 19, 21);
        CHECK_VALS(c.out[4], 6, 15, 24, 33);
        CHECK_STR(ir_type_format(&c.out[5].type, buf, sizeof buf), "f64[2,2,1]");
        CHECK_VALS(c.out[5], 6, 15, 24, 33);
        CHECK_VALS(c.out[6], 7, 8, 9, 10, 11, 12);
        CHECK_VALS(c.out[7], 7, 8, 9, 10, 11, 12);
        CHECK_VALS(c.out[8], 4, 5, 6, 10, 11, 12);
        CHECK_VALS(c.out[9], 4, 5, 6, 10, 11, 12);
        CHECK_VALS(c.out[10], 3, 6, 9, 12);
        CHECK_VALS(c.out[11], 3, 6, 9, 12);
    }
    case_end(&c);

    /* nan propagates through both; max ties keep the first (-0 before +0); sums run left
     * to right in double: (1e16 + 1) - 1e16 = 0, while the other order would give 1. */
    case_begin(&c, 1);
    x = case_input(&c, TY(IR_DTYPE_F64, 3, 3), V(1, NAN, 3, -0.0, 0.0, -1, 1e16, 1, -1e16));
    case_output(&c, ir_build_reduce(&c.b, IR_OP_REDUCE_SUM, x, 1, false));
    case_output(&c, ir_build_reduce(&c.b, IR_OP_REDUCE_MAX, x, 1, false));
    IrId neg = ir_build_unary(&c.b, IR_OP_NEG, x);
    case_output(&c, ir_build_reduce(&c.b, IR_OP_REDUCE_MAX, neg, 1, false));
    if (case_run_ok(&c, IR_PRECISION_F64)) {
        CHECK_VALS(c.out[0], NAN, -1, 0);
        CHECK_VALS(c.out[1], NAN, -0.0, 1e16);
        CHECK_VALS(c.out[2], NAN, 1, 1e16);
    }
    case_end(&c);

    /* Sums accumulate in double and round once in f32 mode: 2^24 + 1 + 1 is exact in
     * double, so the result is 2^24 + 2, which float represents. */
    case_begin(&c, 1);
    x = case_input(&c, TY(IR_DTYPE_F32, 3), V(16777216, 1, 1));
    case_output(&c, ir_build_reduce(&c.b, IR_OP_REDUCE_SUM, x, 0, false));
    if (case_run_ok(&c, IR_PRECISION_F32)) CHECK_VALS(c.out[0], 16777218);
    case_end(&c);

    /* i32 sums wrap exactly. */
    case_begin(&c, 1);
    x = case_input(&c, TY(IR_DTYPE_I32, 3), V(2147483647, 2, 5));
    case_output(&c, ir_build_reduce(&c.b, IR_OP_REDUCE_SUM, x, 0, true));
    case_output(&c, ir_build_reduce(&c.b, IR_OP_REDUCE_MAX, x, 0, false));
    if (case_run_ok(&c, IR_PRECISION_F32)) {
        CHECK_VALS(c.out[0], 2147483647.0 + 2 + 5 - 4294967296.0);
        CHECK_VALS(c.out[1], 2147483647);
    }
    case_end(&c);
}

/* --- movement ------------------------------------------------------------------------ */

static void test_reshape_permute(void) {
    Case c;
    case_begin(&c, 1);
    IrId x = case_input(&c, TY(IR_DTYPE_F64, 2, 1, 3), V(0, 1, 2, 3, 4, 5));
    case_output(&c, ir_build_reshape(&c.b, x, 2, (int64_t[]){3, 2}));
    case_output(&c, ir_build_permute(&c.b, x, 3, (int64_t[]){2, 0, 1})); /* out[a,b,0] = x[b,0,a] */
    IrId y = case_input(&c, TY(IR_DTYPE_F64, 2, 3, 4), V(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                                           17, 18, 19, 20, 21, 22, 23));
    case_output(&c, ir_build_permute(&c.b, y, 3, (int64_t[]){1, 2, 0})); /* out[j,k,i] = y[i,j,k] */
    case_output(&c, ir_build_permute(&c.b, y, 3, (int64_t[]){0, 1, 2}));
    if (case_run_ok(&c, IR_PRECISION_F64)) {
        char buf[IR_TYPE_STR_MAX];
        CHECK_VALS(c.out[0], 0, 1, 2, 3, 4, 5);
        CHECK_STR(ir_type_format(&c.out[0].type, buf, sizeof buf), "f64[3,2]");
        CHECK_VALS(c.out[1], 0, 3, 1, 4, 2, 5);
        CHECK_STR(ir_type_format(&c.out[1].type, buf, sizeof buf), "f64[3,2,1]");
        CHECK_STR(ir_type_format(&c.out[2].type, buf, sizeof buf), "f64[3,4,2]");
        CHECK_VALS(c.out[2], 0, 12, 1, 13, 2, 14, 3, 15, 4, 16, 5, 17, 6, 18, 7, 19, 8, 20, 9, 21, 10, 22, 11, 23);
        CHECK_VALS(c.out[3], 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23);
    }
    case_end(&c);
}

static void test_broadcast(void) {
    Case c;
    case_begin(&c, 1);
    IrId s = case_input(&c, SCALAR(IR_DTYPE_F32), V(7));
    IrId row = case_input(&c, TY(IR_DTYPE_F32, 1, 3), V(1, 2, 3));
    IrId col = case_input(&c, TY(IR_DTYPE_F32, 2, 1), V(10, 20));
    IrId m = case_input(&c, TY(IR_DTYPE_F32, 2, 4), V(1, 2, 3, 4, 5, 6, 7, 8));
    IrId v = case_input(&c, TY(IR_DTYPE_F32, 3), V(1, 2, 3));
    case_output(&c, ir_build_broadcast(&c.b, s, 2, (int64_t[]){2, 3}, NULL));                    /* scalar */
    case_output(&c, ir_build_broadcast(&c.b, row, 2, (int64_t[]){2, 3}, (int64_t[]){0, 1}));     /* size-1 axis 0 */
    case_output(&c, ir_build_broadcast(&c.b, col, 2, (int64_t[]){2, 3}, (int64_t[]){0, 1}));     /* size-1 axis 1 */
    case_output(&c, ir_build_broadcast(&c.b, m, 3, (int64_t[]){2, 3, 4}, (int64_t[]){0, 2}));    /* new middle axis */
    case_output(&c, ir_build_broadcast(&c.b, v, 2, (int64_t[]){3, 2}, (int64_t[]){0}));          /* new trailing axis */
    case_output(&c, ir_build_binary_bcast(&c.b, IR_OP_ADD, row, col));                            /* numpy helper */
    if (case_run_ok(&c, IR_PRECISION_F32)) {
        CHECK_VALS(c.out[0], 7, 7, 7, 7, 7, 7);
        CHECK_VALS(c.out[1], 1, 2, 3, 1, 2, 3);
        CHECK_VALS(c.out[2], 10, 10, 10, 20, 20, 20);
        CHECK_VALS(c.out[3], 1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4, 5, 6, 7, 8, 5, 6, 7, 8, 5, 6, 7, 8);
        CHECK_VALS(c.out[4], 1, 1, 2, 2, 3, 3);
        CHECK_VALS(c.out[5], 11, 12, 13, 21, 22, 23);
    }
    case_end(&c);
}

static void test_slice_concat(void) {
    Case c;
    case_begin(&c, 1);
    IrId x = case_input(&c, TY(IR_DTYPE_F64, 3, 5), V(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14));
    case_output(&c, ir_build_slice(&c.b, x, (int64_t[]){0, 1}, (int64_t[]){3, 5}, (int64_t[]){2, 2}));
    case_output(&c, ir_build_slice(&c.b, x, (int64_t[]){1, 2}, (int64_t[]){2, 5}, NULL));
    case_output(&c, ir_build_slice(&c.b, x, (int64_t[]){0, 0}, (int64_t[]){3, 5}, (int64_t[]){3, 4}));
    IrId a = case_input(&c, TY(IR_DTYPE_F64, 2, 1), V(1, 2));
    IrId b = case_input(&c, TY(IR_DTYPE_F64, 2, 2), V(3, 4, 5, 6));
    IrId d = case_input(&c, TY(IR_DTYPE_F64, 2, 1), V(7, 8));
    case_output(&c, ir_build_concat(&c.b, (IrId[]){a, b, d}, 3, 1));
    IrId p = case_input(&c, TY(IR_DTYPE_F64, 1, 2), V(1, 2));
    IrId q = case_input(&c, TY(IR_DTYPE_F64, 2, 2), V(3, 4, 5, 6));
    case_output(&c, ir_build_concat(&c.b, (IrId[]){p, q, p}, 3, 0));
    case_output(&c, ir_build_concat(&c.b, (IrId[]){q}, 1, -1));
    if (case_run_ok(&c, IR_PRECISION_F64)) {
        CHECK_VALS(c.out[0], 1, 3, 11, 13);
        CHECK_VALS(c.out[1], 7, 8, 9);
        CHECK_VALS(c.out[2], 0, 4);
        CHECK_VALS(c.out[3], 1, 3, 4, 7, 2, 5, 6, 8);
        CHECK_VALS(c.out[4], 1, 2, 3, 4, 5, 6, 1, 2);
        CHECK_VALS(c.out[5], 3, 4, 5, 6);
    }
    case_end(&c);
}

/* --- matmul -------------------------------------------------------------------------- */

static void test_matmul(void) {
    Case c;
    /* By hand: [[1,2,3],[4,5,6]] @ [[7,8],[9,10],[11,12]] = [[58,64],[139,154]]. */
    case_begin(&c, 1);
    IrId a = case_input(&c, TY(IR_DTYPE_F64, 2, 3), V(1, 2, 3, 4, 5, 6));
    IrId b = case_input(&c, TY(IR_DTYPE_F64, 3, 2), V(7, 8, 9, 10, 11, 12));
    IrId at = case_input(&c, TY(IR_DTYPE_F64, 3, 2), V(1, 4, 2, 5, 3, 6));      /* a transposed */
    IrId bt = case_input(&c, TY(IR_DTYPE_F64, 2, 3), V(7, 9, 11, 8, 10, 12));   /* b transposed */
    case_output(&c, ir_build_matmul(&c.b, a, b, false, false));
    case_output(&c, ir_build_matmul(&c.b, at, b, true, false));
    case_output(&c, ir_build_matmul(&c.b, a, bt, false, true));
    case_output(&c, ir_build_matmul(&c.b, at, bt, true, true));
    /* Batched: batch 1 multiplies [[1,0,0],[0,1,0]] by b. */
    IrId a3 = case_input(&c, TY(IR_DTYPE_F64, 2, 2, 3), V(1, 2, 3, 4, 5, 6, 1, 0, 0, 0, 1, 0));
    IrId b3 = case_input(&c, TY(IR_DTYPE_F64, 2, 3, 2), V(7, 8, 9, 10, 11, 12, 7, 8, 9, 10, 11, 12));
    case_output(&c, ir_build_matmul(&c.b, a3, b3, false, false));
    case_output(&c, ir_build_matmul(&c.b, a3, b, false, false)); /* rank-2 b shared by both batches */
    case_output(&c, ir_build_matmul(&c.b, a, b3, false, false)); /* rank-2 a shared */
    if (case_run_ok(&c, IR_PRECISION_F64)) {
        for (int i = 0; i < 4; i++) CHECK_VALS(c.out[i], 58, 64, 139, 154);
        CHECK_VALS(c.out[4], 58, 64, 139, 154, 7, 8, 9, 10);
        CHECK_VALS(c.out[5], 58, 64, 139, 154, 7, 8, 9, 10);
        CHECK_VALS(c.out[6], 58, 64, 139, 154, 58, 64, 139, 154);
    }
    case_end(&c);

    /* Every ta/tb combination, batched and with a shared rank-2 operand on either side,
     * equals the plain product of explicitly permuted / broadcast operands — transposes
     * and sharing checked through other ops. Values are small integers, so every
     * product is exact whatever the path. */
    enum { B = 2, M = 3, K = 4, N = 5 };
    double xa[B * M * K], xb[B * K * N], x2a[M * K], x2b[K * N];
    for (int i = 0; i < B * M * K; i++) xa[i] = (i * 7) % 11 - 5;
    for (int i = 0; i < B * K * N; i++) xb[i] = (i * 5) % 13 - 6;
    for (int i = 0; i < M * K; i++) x2a[i] = (i * 3) % 7 - 3;
    for (int i = 0; i < K * N; i++) x2b[i] = (i * 9) % 5 - 2;
    for (int shape = 0; shape < 3; shape++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                case_begin(&c, 1);
                /* shape 0: both batched; 1: rank-2 A; 2: rank-2 B. The stored operand is the
                 * logical one transposed when its flag is set. */
                bool a2 = shape == 1, b2 = shape == 2;
                IrId la = a2 ? case_input(&c, TY(IR_DTYPE_F64, M, K), x2a) : case_input(&c, TY(IR_DTYPE_F64, B, M, K), xa);
                IrId lb = b2 ? case_input(&c, TY(IR_DTYPE_F64, K, N), x2b) : case_input(&c, TY(IR_DTYPE_F64, B, K, N), xb);
                IrId sa = ta ? ir_build_permute(&c.b, la, a2 ? 2 : 3, a2 ? (int64_t[]){1, 0} : (int64_t[]){0, 2, 1}) : la;
                IrId sb = tb ? ir_build_permute(&c.b, lb, b2 ? 2 : 3, b2 ? (int64_t[]){1, 0} : (int64_t[]){0, 2, 1}) : lb;
                case_output(&c, ir_build_matmul(&c.b, sa, sb, ta, tb));
                IrId ba = a2 ? ir_build_broadcast_to(&c.b, la, 3, (int64_t[]){B, M, K}) : la;
                IrId bb = b2 ? ir_build_broadcast_to(&c.b, lb, 3, (int64_t[]){B, K, N}) : lb;
                case_output(&c, ir_build_matmul(&c.b, ba, bb, false, false));
                if (case_run_ok(&c, IR_PRECISION_F32)) {
                    CHECK_VALS_N(c.out[0], c.out[1].data, (size_t)B * M * N);
                    /* and one element by its formula: out[1, 2, 3] = sum_k A[1,2,k] B[1,k,3] */
                    double want = 0;
                    for (int k = 0; k < K; k++)
                        want += (a2 ? x2a[2 * K + k] : xa[(1 * M + 2) * K + k]) *
                                (b2 ? x2b[k * N + 3] : xb[(1 * K + k) * N + 3]);
                    CHECK(c.out[0].data[(1 * M + 2) * N + 3] == want);
                }
                case_end(&c);
            }

    /* Accumulation in double, rounded once: in f32 mode 2^24 + 1 + 1 = 2^24 + 2. */
    case_begin(&c, 1);
    a = case_input(&c, TY(IR_DTYPE_F32, 1, 3), V(16777216, 1, 1));
    b = case_input(&c, TY(IR_DTYPE_F32, 3, 1), V(1, 1, 1));
    case_output(&c, ir_build_matmul(&c.b, a, b, false, false));
    if (case_run_ok(&c, IR_PRECISION_F32)) CHECK_VALS(c.out[0], 16777218);
    case_end(&c);
}

/* --- indexing ------------------------------------------------------------------------ */

static void test_gather(void) {
    Case c;
    case_begin(&c, 1);
    IrId table = case_input(&c, TY(IR_DTYPE_F32, 4, 2), V(0, 1, 10, 11, 20, 21, 30, 31));
    IrId idx = case_input(&c, TY(IR_DTYPE_I32, 2, 3), V(3, 0, 1, 1, 1, 2));
    case_output(&c, ir_build_gather(&c.b, table, idx, 0, 0)); /* embedding: [2,3,2] */
    IrId m = case_input(&c, TY(IR_DTYPE_F32, 2, 3), V(1, 2, 3, 4, 5, 6));
    IrId cols = case_input(&c, TY(IR_DTYPE_I32, 2), V(2, 0));
    case_output(&c, ir_build_gather(&c.b, m, cols, 1, 0)); /* out[i,j] = m[i, cols[j]] */
    /* batch_dims = 1: out[b,j,:] = x[b, bi[b,j], :] */
    IrId x = case_input(&c, TY(IR_DTYPE_F32, 2, 3, 2), V(0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15));
    IrId bi = case_input(&c, TY(IR_DTYPE_I32, 2, 2), V(2, 0, 1, 1));
    case_output(&c, ir_build_gather(&c.b, x, bi, 1, 1));
    /* batch_dims = 1 with a scalar index per batch: out[b] = m[b, ri[b]] */
    IrId ri = case_input(&c, TY(IR_DTYPE_I32, 2), V(1, 2));
    case_output(&c, ir_build_gather(&c.b, m, ri, 1, 1));
    /* batch_dims = 1 below axis 2, a plain axis in between: out[b,i,j] = y[b, i, yi[b,j]] */
    IrId y = case_input(&c, TY(IR_DTYPE_F32, 2, 2, 3), V(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11));
    IrId yi = case_input(&c, TY(IR_DTYPE_I32, 2, 1), V(2, 0));
    case_output(&c, ir_build_gather(&c.b, y, yi, 2, 1));
    /* a scalar index drops the axis: out = table[2, :] */
    IrId si = case_input(&c, SCALAR(IR_DTYPE_I32), V(2));
    case_output(&c, ir_build_gather(&c.b, table, si, 0, 0));
    if (case_run_ok(&c, IR_PRECISION_F32)) {
        char buf[IR_TYPE_STR_MAX];
        CHECK_STR(ir_type_format(&c.out[0].type, buf, sizeof buf), "f32[2,3,2]");
        CHECK_VALS(c.out[0], 30, 31, 0, 1, 10, 11, 10, 11, 10, 11, 20, 21);
        CHECK_VALS(c.out[1], 3, 1, 6, 4);
        CHECK_VALS(c.out[2], 4, 5, 0, 1, 12, 13, 12, 13);
        CHECK_VALS(c.out[3], 2, 6);
        CHECK_STR(ir_type_format(&c.out[4].type, buf, sizeof buf), "f32[2,2,1]");
        CHECK_VALS(c.out[4], 2, 5, 6, 9);
        CHECK_STR(ir_type_format(&c.out[5].type, buf, sizeof buf), "f32[2]");
        CHECK_VALS(c.out[5], 20, 21);
    }
    case_end(&c);
}

/* A bad index: the message names node, op, scope, index, range and element. */
static void test_gather_error(void) {
    Case c;
    case_begin(&c, 1);
    double *rows = calloc(8192, sizeof *rows);
    IrId emb = case_input(&c, TY(IR_DTYPE_F32, 8192, 1), rows);
    free(rows);
    double tok[20];
    for (int i = 0; i < 20; i++) tok[i] = i;
    tok[17] = 9000;
    tok[18] = -1;
    IrId toks = case_input(&c, TY(IR_DTYPE_I32, 20), tok);
    for (int i = 0; i < 10; i++) ir_build_scalar(&c.b, IR_DTYPE_F32, i); /* push the id to %12 */
    ir_builder_set_scope(&c.b, "layers.0.embed");
    case_output(&c, ir_build_gather(&c.b, emb, toks, 0, 0));
    case_run_fails(&c, IR_PRECISION_F32,
                   "%12 (gather, scope layers.0.embed): index 9000 out of range [0, 8192) at element 17");
    CHECK_STR(c.err.msg, "%12 (gather, scope layers.0.embed): index 9000 out of range [0, 8192) at element 17");
    case_end(&c);

    case_begin(&c, 1);
    IrId m = case_input(&c, TY(IR_DTYPE_F32, 2, 3), V(1, 2, 3, 4, 5, 6));
    IrId cols = case_input(&c, TY(IR_DTYPE_I32, 2), V(0, -1));
    case_output(&c, ir_build_gather(&c.b, m, cols, 1, 0));
    case_run_fails(&c, IR_PRECISION_F32, "%2 (gather): index -1 out of range [0, 3) at element 1");
    case_end(&c);
}

static void test_scatter_add(void) {
    Case c;
    case_begin(&c, 1);
    /* Duplicates accumulate: rows 1 and 3 of a zero [4,2]. */
    IrId idx = case_input(&c, TY(IR_DTYPE_I32, 3), V(1, 3, 1));
    IrId upd = case_input(&c, TY(IR_DTYPE_F32, 3, 2), V(1, 2, 3, 4, 5, 6));
    case_output(&c, ir_build_scatter_add(&c.b, TY(IR_DTYPE_F32, 4, 2), idx, upd, 0, 0));
    /* batch_dims = 1 along axis 1: out[b, bi[b,j]] += u[b,j] */
    IrId bi = case_input(&c, TY(IR_DTYPE_I32, 2, 2), V(0, 0, 2, 1));
    IrId u = case_input(&c, TY(IR_DTYPE_F32, 2, 2), V(1, 2, 3, 4));
    case_output(&c, ir_build_scatter_add(&c.b, TY(IR_DTYPE_F32, 2, 3), bi, u, 1, 1));
    /* i32 accumulation wraps. */
    IrId ii = case_input(&c, TY(IR_DTYPE_I32, 2), V(0, 0));
    IrId iu = case_input(&c, TY(IR_DTYPE_I32, 2), V(2147483647, 1));
    case_output(&c, ir_build_scatter_add(&c.b, TY(IR_DTYPE_I32, 2), ii, iu, 0, 0));
    /* gather's transpose: <gather(x, idx), u> == <x, scatter_add(idx, u)> */
    IrId x = case_input(&c, TY(IR_DTYPE_F64, 4, 2), V(1, -2, 3, 5, -7, 11, 13, -17));
    IrId uu = case_input(&c, TY(IR_DTYPE_F64, 3, 2), V(2, 3, 5, 7, 11, 13));
    IrId gx = ir_build_gather(&c.b, x, idx, 0, 0);
    IrId lhs = ir_build_reduce(&c.b, IR_OP_REDUCE_SUM,
                               ir_build_reshape(&c.b, ir_build_binary(&c.b, IR_OP_MUL, gx, uu), 1, (int64_t[]){6}), 0,
                               false);
    IrId su = ir_build_scatter_add(&c.b, TY(IR_DTYPE_F64, 4, 2), idx, uu, 0, 0);
    IrId rhs = ir_build_reduce(&c.b, IR_OP_REDUCE_SUM,
                               ir_build_reshape(&c.b, ir_build_binary(&c.b, IR_OP_MUL, x, su), 1, (int64_t[]){8}), 0,
                               false);
    case_output(&c, lhs);
    case_output(&c, rhs);
    if (case_run_ok(&c, IR_PRECISION_F32)) {
        CHECK_VALS(c.out[0], 0, 0, 6, 8, 0, 0, 3, 4);
        CHECK_VALS(c.out[1], 3, 0, 0, 0, 4, 3);
        CHECK_VALS(c.out[2], -2147483648.0, 0);
        CHECK_VALS(c.out[4], c.out[3].data[0]);
    }
    case_end(&c);

    case_begin(&c, 1);
    idx = case_input(&c, TY(IR_DTYPE_I32, 3), V(1, 4, 1));
    upd = case_input(&c, TY(IR_DTYPE_F32, 3, 2), V(1, 2, 3, 4, 5, 6));
    case_output(&c, ir_build_scatter_add(&c.b, TY(IR_DTYPE_F32, 4, 2), idx, upd, 0, 0));
    case_run_fails(&c, IR_PRECISION_F32, "%2 (scatter_add): index 4 out of range [0, 4) at element 1");
    case_end(&c);
}

static void test_topk(void) {
    Case c;
    case_begin(&c, 1);
    IrId x = case_input(&c, TY(IR_DTYPE_F32, 4, 5),
                        V(1, 3, 3, 2, NAN,          /* nan is the largest; equal 3s by index */
                          5, 5, 5, 1, 0,            /* all tied: lower index first */
                          -0.0, 0.0, -1, 2, 2,      /* -0 and +0 tie */
                          NAN, -INFINITY, NAN, 7, -7));
    case_output(&c, ir_build_topk(&c.b, x, 3));
    case_output(&c, ir_build_topk(&c.b, x, 5));
    case_output(&c, ir_build_topk(&c.b, x, 1));
    IrId xi = case_input(&c, TY(IR_DTYPE_I32, 1, 4), V(-3, 9, 9, -2147483648.0));
    case_output(&c, ir_build_topk(&c.b, xi, 4));
    if (case_run_ok(&c, IR_PRECISION_F32)) {
        char buf[IR_TYPE_STR_MAX];
        CHECK_STR(ir_type_format(&c.out[0].type, buf, sizeof buf), "i32[4,3]");
        CHECK_VALS(c.out[0], 4, 1, 2, 0, 1, 2, 3, 4, 0, 0, 2, 3);
        CHECK_VALS(c.out[1], 4, 1, 2, 3, 0, 0, 1, 2, 3, 4, 3, 4, 0, 1, 2, 0, 2, 3, 4, 1);
        CHECK_VALS(c.out[2], 4, 0, 3, 0);
        CHECK_VALS(c.out[3], 1, 2, 0, 3);
    }
    case_end(&c);
}

static void test_iota_onehot(void) {
    Case c;
    case_begin(&c, 1);
    case_output(&c, ir_build_iota(&c.b, TY(IR_DTYPE_I32, 2, 3), 0));
    case_output(&c, ir_build_iota(&c.b, TY(IR_DTYPE_F32, 2, 3), 1));
    case_output(&c, ir_build_iota(&c.b, TY(IR_DTYPE_F64, 2, 3, 2), -2));
    IrId idx = case_input(&c, TY(IR_DTYPE_I32, 5), V(0, 2, -1, 3, 1));
    case_output(&c, ir_build_onehot(&c.b, idx, 3, IR_DTYPE_F32));
    IrId idx2 = case_input(&c, TY(IR_DTYPE_I32, 2, 1), V(1, 2147483647));
    case_output(&c, ir_build_onehot(&c.b, idx2, 2, IR_DTYPE_I32));
    if (case_run_ok(&c, IR_PRECISION_F32)) {
        CHECK_VALS(c.out[0], 0, 0, 0, 1, 1, 1);
        CHECK_VALS(c.out[1], 0, 1, 2, 0, 1, 2);
        CHECK_VALS(c.out[2], 0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2);
        /* -1 and 3 are outside [0, 3): zero rows, no error (padding in cross-entropy). */
        CHECK_VALS(c.out[3], 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0);
        CHECK_VALS(c.out[4], 0, 1, 0, 0);
    }
    case_end(&c);
}

static void test_cumsum(void) {
    Case c;
    case_begin(&c, 1);
    IrId x = case_input(&c, TY(IR_DTYPE_F64, 2, 3), V(1, 2, 3, 4, 5, 6));
    case_output(&c, ir_build_cumsum(&c.b, x, 1, false, false));
    case_output(&c, ir_build_cumsum(&c.b, x, 1, true, false));
    case_output(&c, ir_build_cumsum(&c.b, x, 1, false, true));
    case_output(&c, ir_build_cumsum(&c.b, x, 1, true, true));
    case_output(&c, ir_build_cumsum(&c.b, x, 0, false, false));
    case_output(&c, ir_build_cumsum(&c.b, x, 0, true, true));
    IrId xi = case_input(&c, TY(IR_DTYPE_I32, 3), V(2147483647, 1, 1));
    case_output(&c, ir_build_cumsum(&c.b, xi, 0, false, false));
    IrId nz = case_input(&c, TY(IR_DTYPE_F64, 2), V(-0.0, 1e16));
    case_output(&c, ir_build_cumsum(&c.b, nz, 0, false, false));
    if (case_run_ok(&c, IR_PRECISION_F64)) {
        CHECK_VALS(c.out[0], 1, 3, 6, 4, 9, 15);
        CHECK_VALS(c.out[1], 0, 1, 3, 0, 4, 9);
        CHECK_VALS(c.out[2], 6, 5, 3, 15, 11, 6);
        CHECK_VALS(c.out[3], 5, 3, 0, 11, 6, 0);
        CHECK_VALS(c.out[4], 1, 2, 3, 5, 7, 9);
        CHECK_VALS(c.out[5], 4, 5, 6, 0, 0, 0);
        CHECK_VALS(c.out[6], 2147483647, -2147483648.0, -2147483647.0);
        CHECK_VALS(c.out[7], -0.0, 1e16);
    }
    case_end(&c);
}

/* --- randomness ---------------------------------------------------------------------- */

/* Random123's known-answer vectors for philox4x32 with 10 rounds (kat_vectors). */
static void test_philox_kat(void) {
    static const struct {
        uint32_t ctr[4], key[2], want[4];
    } kat[] = {
        {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
        {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
         {0xffffffff, 0xffffffff},
         {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
        {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
         {0xa4093822, 0x299f31d0},
         {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
    };
    for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
        uint32_t out[4];
        ir_philox4x32(kat[i].ctr, kat[i].key, out);
        for (int j = 0; j < 4; j++) CHECK_EQ_INT(out[j], kat[i].want[j]);
    }
    /* ir_rand_value is built on it exactly as documented. */
    uint32_t w[4];
    ir_philox4x32((uint32_t[]){5, 1, 7, 9}, (uint32_t[]){42, 3}, w);
    uint64_t e = ((uint64_t)1 << 32) | 5;
    CHECK(ir_rand_value(IR_RAND_UNIFORM, 42, 7, 9, 3, e) == (double)(w[0] >> 8) / 16777216.0);
    double u1 = (double)((w[0] >> 8) + 1) / 16777216.0, u2 = (double)(w[1] >> 8) / 16777216.0;
    CHECK(ir_rand_value(IR_RAND_NORMAL, 42, 7, 9, 3, e) == sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2));
}

/* One rand tensor of n elements with the given keys, interpreted. */
static IrId build_rand(Case *c, int64_t n, double seed, double step, double micro, int64_t site, IrRandDist d) {
    IrId ks = ir_build_scalar(&c->b, IR_DTYPE_I32, seed);
    IrId kt = ir_build_scalar(&c->b, IR_DTYPE_I32, step);
    IrId km = ir_build_scalar(&c->b, IR_DTYPE_I32, micro);
    return ir_build_rand(&c->b, TY(IR_DTYPE_F32, n), ks, kt, km, site, d);
}

static void test_rand(void) {
    enum { N = 10000 };
    Case c;
    case_begin(&c, 1);
    case_output(&c, build_rand(&c, N, 1234, 5, 2, 7, IR_RAND_UNIFORM));  /* 0 */
    case_output(&c, build_rand(&c, N, 1234, 5, 2, 7, IR_RAND_UNIFORM));  /* 1: same keys */
    case_output(&c, build_rand(&c, N, 1234, 5, 2, 8, IR_RAND_UNIFORM));  /* 2: site */
    case_output(&c, build_rand(&c, N, 1234, 6, 2, 7, IR_RAND_UNIFORM));  /* 3: step */
    case_output(&c, build_rand(&c, N, 1234, 5, 3, 7, IR_RAND_UNIFORM));  /* 4: micro */
    case_output(&c, build_rand(&c, N, 1235, 5, 2, 7, IR_RAND_UNIFORM));  /* 5: seed */
    case_output(&c, build_rand(&c, N, 1234, 5, 2, 7, IR_RAND_NORMAL));   /* 6 */
    case_output(&c, build_rand(&c, N, -1, -2, -3, 4294967295, IR_RAND_UNIFORM)); /* 7: keys as uint32 */
    IrValue f32[8];
    bool ok32 = case_run_ok(&c, IR_PRECISION_F32);
    if (ok32)
        for (int i = 0; i < 8; i++) {
            ir_value_alloc(&f32[i], c.out[i].type);
            memcpy(f32[i].data, c.out[i].data, N * sizeof(double));
        }
    if (case_run_ok(&c, IR_PRECISION_F64) && ok32) {
        CHECK_VALS_N(c.out[1], c.out[0].data, N);
        for (int k = 2; k <= 5; k++) {
            int same = 0;
            for (int i = 0; i < N; i++) same += c.out[k].data[i] == c.out[0].data[i];
            CHECK(same < 10); /* 24-bit values: a handful of chance collisions at most */
        }
        double lo = 1, hi = 0, sum = 0;
        bool exact = true, match = true;
        for (int i = 0; i < N; i++) {
            double v = c.out[0].data[i];
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
            sum += v;
            exact = exact && v == (double)(float)v && v * 16777216.0 == floor(v * 16777216.0);
            match = match && v == ir_rand_value(IR_RAND_UNIFORM, 1234, 5, 2, 7, (uint64_t)i);
        }
        CHECK(lo >= 0 && hi < 1);
        CHECK(lo < 0.001 && hi > 0.999);
        CHECK(exact); /* k * 2^-24: exact in f32 */
        CHECK(match); /* the op is ir_rand_value at the row-major element index */
        CHECK_CLOSE(sum / N, 0.5, 0.02);
        /* Uniform values are floats, so f32 mode gives the same bits. */
        CHECK_VALS_N(f32[0], c.out[0].data, N);
        /* Normal: mean ~ 0 (sd of the mean 0.01), variance ~ 1. f32 mode rounds it. */
        double m = 0, v2 = 0;
        for (int i = 0; i < N; i++) m += c.out[6].data[i];
        m /= N;
        for (int i = 0; i < N; i++) v2 += (c.out[6].data[i] - m) * (c.out[6].data[i] - m);
        v2 /= N - 1;
        CHECK(fabs(m) < 0.05);
        CHECK(fabs(v2 - 1) < 0.05);
        CHECK(f32[6].data[17] == (double)(float)c.out[6].data[17]);
        CHECK(c.out[6].data[17] == ir_rand_value(IR_RAND_NORMAL, 1234, 5, 2, 7, 17));
        /* Negative i32 keys are their uint32 bit patterns. */
        CHECK(c.out[7].data[3] == ir_rand_value(IR_RAND_UNIFORM, 0xffffffffu, 0xfffffffeu, 0xfffffffdu,
                                                0xffffffffu, 3));
    }
    if (ok32)
        for (int i = 0; i < 8; i++) ir_value_free(&f32[i]);
    case_end(&c);
}

/* --- extern_call --------------------------------------------------------------------- */

typedef struct HookCtx {
    int calls;
} HookCtx;

/* "axpy": out = 2 a + b; "fail": an error; anything else: unknown. */
static bool test_hook(void *ctx, const char *symbol, const IrValue *args, uint32_t n_args, IrValue *out,
                      LlmcErr *err) {
    ((HookCtx *)ctx)->calls++;
    if (strcmp(symbol, "axpy") == 0 && n_args == 2) {
        int64_t n = ir_type_numel(&out->type);
        for (int64_t i = 0; i < n; i++) out->data[i] = 2 * args[0].data[i] + args[1].data[i];
        args[0].data[0] = 1e9; /* a copy: must not reach the graph's value */
        return true;
    }
    if (strcmp(symbol, "zero") == 0 && n_args == 0) return true;
    llmc_err_set(err, "unknown symbol %s/%u", symbol, n_args);
    return false;
}

static void test_extern_call(void) {
    HookCtx ctx = {0};
    Case c;
    case_begin(&c, 1);
    IrId a = case_input(&c, TY(IR_DTYPE_F32, 3), V(1, 2, 3));
    IrId b = case_input(&c, TY(IR_DTYPE_F32, 3), V(0.5, 0.25, 0.1));
    IrId r = ir_build_extern_call(&c.b, "axpy", (IrId[]){a, b}, 2, TY(IR_DTYPE_F32, 3));
    case_output(&c, r);
    case_output(&c, a);
    case_output(&c, ir_build_extern_call(&c.b, "zero", NULL, 0, TY(IR_DTYPE_F64, 2)));
    c.opt.extern_hook = test_hook;
    c.opt.extern_ctx = &ctx;
    if (case_run_ok(&c, IR_PRECISION_F32)) {
        CHECK_VALS(c.out[0], 2.5, 4.25, (double)(float)(6 + (double)0.1f)); /* rounded to f32 */
        CHECK_VALS(c.out[1], 1, 2, 3);
        CHECK_VALS(c.out[2], 0, 0);
        CHECK_EQ_INT(ctx.calls, 2);
    }
    c.opt.extern_hook = NULL;
    case_run_fails(&c, IR_PRECISION_F32, "%2 (extern_call): no extern hook is installed to call 'axpy'");
    case_end(&c);

    case_begin(&c, 1);
    a = case_input(&c, TY(IR_DTYPE_F32, 3), V(1, 2, 3));
    ir_builder_set_scope(&c.b, "ext");
    case_output(&c, ir_build_extern_call(&c.b, "mystery", (IrId[]){a}, 1, TY(IR_DTYPE_I32, 1)));
    c.opt.extern_hook = test_hook;
    c.opt.extern_ctx = &ctx;
    case_run_fails(&c, IR_PRECISION_F32, "%1 (extern_call, scope ext): extern 'mystery' failed: unknown symbol mystery/1");
    case_end(&c);
}

/* --- collectives (the full tests are in test_collectives.c) --------------------------- */

static void test_collectives_smoke(void) {
    Case c;
    case_begin(&c, 2);
    IrId x = case_input_ranks(&c, TY(IR_DTYPE_F64, 2), V(1, 2, 10, 20));
    case_output(&c, ir_build_all_gather(&c.b, x, 0, 2));
    case_output(&c, ir_build_all_reduce(&c.b, x, 2, IR_REDUCE_SUM));
    case_output(&c, ir_build_reduce_scatter(&c.b, x, 0, 2, IR_REDUCE_SUM));
    case_output(&c, ir_build_all_to_all(&c.b, x, 0, 0, 2));
    if (case_run_ok(&c, IR_PRECISION_F64)) {
        CHECK_VALS(c.out[0], 1, 2, 10, 20);
        CHECK_VALS(c.out[1], 11, 22);
        CHECK_VALS(c.out[2], 11);
        CHECK_VALS(c.out[3], 1, 10);
        CHECK_VALS(c.out[4], 1, 2, 10, 20);
        CHECK_VALS(c.out[5], 11, 22);
        CHECK_VALS(c.out[6], 22);
        CHECK_VALS(c.out[7], 2, 20);
    }
    case_end(&c);
}

/* --- fused attention ------------------------------------------------------------------ */

/* Deterministic values in [-lo_hi, lo_hi), different per seed. */
static void attn_fill(double *v, int64_t n, uint32_t seed, double amp) {
    uint64_t s = 0x9e3779b97f4a7c15ull * (seed + 1);
    for (int64_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        v[i] = amp * ((double)(s >> 11) * 0x1p-52 - 1.0);
    }
}

/* a[i] ~ b[i] for all i within tol relative (to max(1, |b|)); one CHECK, the first
 * difference printed. */
static void attn_check_close(const char *what, const IrValue *a, const IrValue *b, double tol) {
    int64_t n = ir_type_numel(&a->type), bad = -1;
    CHECK_EQ_INT(n, ir_type_numel(&b->type));
    for (int64_t i = 0; i < n && bad < 0; i++)
        if (!(fabs(a->data[i] - b->data[i]) <= tol * fmax(1.0, fabs(b->data[i])))) bad = i;
    if (bad >= 0)
        fprintf(stderr, "  %s: element %lld is %.17g, the composite gives %.17g\n", what, (long long)bad, a->data[bad],
                b->data[bad]);
    CHECK(bad < 0);
}

/* The attention ops' formulas written with primitives, on q [.., R, d], k [.., S, d],
 * v [.., S, e], dout [.., R, e]: s = scale q k^T; causal: s = select(key > row mod S,
 * -inf, s); P = exp(s - max) / sum; out = P v; lse = max + log(sum); and the gradient
 * with dsum = sum(dout * out): dS = P (dout v^T - dsum), dq = scale dS k, dk = scale
 * dS^T q, dv = P^T dout. ref[0..6) = out, lse, dq, dk, dv, dsum. */
static void attn_composite(Case *c, IrId q, IrId k, IrId v, IrId dout, double scale, bool causal, IrId ref[6]) {
    IrBuilder *b = &c->b;
    IrId s = ir_build_binary_bcast(b, IR_OP_MUL, ir_build_matmul(b, q, k, false, true),
                                   ir_build_scalar(b, IR_DTYPE_F64, scale)); /* [.., R, S] */
    IrType st = c->g->nodes[s].type;
    int64_t S = st.dims[st.rank - 1];
    if (causal) {
        IrType it = st;
        it.dtype = IR_DTYPE_I32;
        IrId row = ir_build_iota(b, it, (int64_t)st.rank - 2), key = ir_build_iota(b, it, (int64_t)st.rank - 1);
        IrId sc = ir_build_const(b, it, V((double)S), 1);
        IrId rmod = ir_build_binary(b, IR_OP_SUB, row,
                                    ir_build_binary(b, IR_OP_MUL, ir_build_binary(b, IR_OP_DIV, row, sc), sc));
        IrId masked = ir_build_binary(b, IR_OP_CMPLT, rmod, key);
        s = ir_build_select(b, masked, ir_build_const(b, st, V(-INFINITY), 1), s);
    }
    IrId m = ir_build_reduce(b, IR_OP_REDUCE_MAX, s, -1, true);
    IrId e = ir_build_unary(b, IR_OP_EXP, ir_build_binary_bcast(b, IR_OP_SUB, s, m));
    IrId z = ir_build_reduce(b, IR_OP_REDUCE_SUM, e, -1, true);
    IrId p = ir_build_binary_bcast(b, IR_OP_DIV, e, z);
    ref[0] = ir_build_matmul(b, p, v, false, false);
    ref[1] = ir_build_binary(b, IR_OP_ADD, ir_build_reduce(b, IR_OP_REDUCE_MAX, s, -1, false),
                             ir_build_unary(b, IR_OP_LOG, ir_build_reduce(b, IR_OP_REDUCE_SUM, e, -1, false)));
    ref[5] = ir_build_reduce(b, IR_OP_REDUCE_SUM, ir_build_binary(b, IR_OP_MUL, dout, ref[0]), -1, false);
    IrId dp = ir_build_matmul(b, dout, v, false, true); /* [.., R, S] */
    IrId dsum_b = ir_build_reduce(b, IR_OP_REDUCE_SUM, ir_build_binary(b, IR_OP_MUL, dout, ref[0]), -1, true);
    IrId ds = ir_build_binary(b, IR_OP_MUL, p, ir_build_binary_bcast(b, IR_OP_SUB, dp, dsum_b));
    IrId sk = ir_build_scalar(b, IR_DTYPE_F64, scale);
    ref[2] = ir_build_binary_bcast(b, IR_OP_MUL, ir_build_matmul(b, ds, k, false, false), sk);
    ref[3] = ir_build_binary_bcast(b, IR_OP_MUL, ir_build_matmul(b, ds, q, true, false), sk);
    ref[4] = ir_build_matmul(b, p, dout, true, false);
}

/* attention, attention_lse and attention_grad (q, k and v) against attn_composite on
 * random values: causal and not, R = S and R = 2S (two GQA heads stacked), d != e, two
 * leading axes. */
static void test_attention_composite(void) {
    enum { B0 = 2, B1 = 3, S = 4, D = 3, E = 5 };
    for (int causal = 0; causal < 2; causal++)
        for (int64_t R = S; R <= 2 * S; R += S) {
            Case c;
            case_begin(&c, 1);
            double q[B0 * B1 * 2 * S * D], k[B0 * B1 * S * D], v[B0 * B1 * S * E], dout[B0 * B1 * 2 * S * E];
            attn_fill(q, B0 * B1 * R * D, 1 + (uint32_t)causal, 1.5);
            attn_fill(k, B0 * B1 * S * D, 2, 1.5);
            attn_fill(v, B0 * B1 * S * E, 3, 1.0);
            attn_fill(dout, B0 * B1 * R * E, 4, 1.0);
            IrId qi = case_input(&c, TY(IR_DTYPE_F64, B0, B1, R, D), q);
            IrId ki = case_input(&c, TY(IR_DTYPE_F64, B0, B1, S, D), k);
            IrId vi = case_input(&c, TY(IR_DTYPE_F64, B0, B1, S, E), v);
            IrId di = case_input(&c, TY(IR_DTYPE_F64, B0, B1, R, E), dout);
            const double scale = 0.7;
            IrId ref[6];
            attn_composite(&c, qi, ki, vi, di, scale, causal, ref);
            IrId lse = ir_build_attention_lse(&c.b, qi, ki, scale, causal);
            case_output(&c, ir_build_attention(&c.b, qi, ki, vi, scale, causal));
            case_output(&c, lse);
            static const IrAttentionWrt wrt[3] = {IR_ATTENTION_Q, IR_ATTENTION_K, IR_ATTENTION_V};
            for (int w = 0; w < 3; w++)
                case_output(&c, ir_build_attention_grad(&c.b, qi, ki, vi, lse, ref[5], di, scale, causal, wrt[w]));
            for (int i = 0; i < 5; i++) case_output(&c, ref[i]);
            if (case_run_ok(&c, IR_PRECISION_F64)) {
                static const char *const names[5] = {"attention", "attention_lse", "attention_grad q",
                                                     "attention_grad k", "attention_grad v"};
                char what[64];
                for (int i = 0; i < 5; i++) {
                    snprintf(what, sizeof what, "%s%s R=%lld", names[i], causal ? " causal" : "", (long long)R);
                    attn_check_close(what, &c.out[i], &c.out[5 + i], 1e-13);
                }
            }
            case_end(&c);
        }
}

/* By hand: the mask, GQA rows, and the max subtracted. q [R = 4, 1], k [S = 2, 1],
 * v [2, 1], scale 1: causal row r attends keys 0..r%2, so rows 0 and 2 are v[0]
 * exactly. Scores near 1000 would overflow a naive exp: the result must be finite. */
static void test_attention_by_hand(void) {
    Case c;
    case_begin(&c, 1);
    IrId q = case_input(&c, TY(IR_DTYPE_F64, 4, 1), V(1000, 1000, 1000, 1000));
    IrId k = case_input(&c, TY(IR_DTYPE_F64, 2, 1), V(1, 0.999));
    IrId v = case_input(&c, TY(IR_DTYPE_F64, 2, 1), V(3, -5));
    case_output(&c, ir_build_attention(&c.b, q, k, v, 1.0, true));
    case_output(&c, ir_build_attention_lse(&c.b, q, k, 1.0, true));
    case_output(&c, ir_build_attention(&c.b, q, k, v, 1.0, false));
    case_output(&c, ir_build_attention_lse(&c.b, q, k, 1.0, false));
    if (case_run_ok(&c, IR_PRECISION_F64)) {
        /* scores 1000 and 999 (to rounding): P = (1, e^-1) / (1 + e^-1) */
        double s1 = 1000 * 0.999, p1 = exp(s1 - 1000) / (1 + exp(s1 - 1000)), p0 = 1 / (1 + exp(s1 - 1000));
        double both = p0 * 3 + p1 * -5, lse = 1000 + log(1 + exp(s1 - 1000));
        CHECK_VALS(c.out[0], 3, both, 3, both);
        CHECK_VALS(c.out[1], 1000, lse, 1000, lse);
        CHECK_VALS(c.out[2], both, both, both, both);
        CHECK_VALS(c.out[3], lse, lse, lse, lse);
    }
    case_end(&c);

    /* The builder refuses causal attention with R (3) not a multiple of S (2). */
    case_begin(&c, 1);
    q = case_input(&c, TY(IR_DTYPE_F32, 3, 2), V(1, 2, 3, 4, 5, 6));
    k = case_input(&c, TY(IR_DTYPE_F32, 2, 2), V(1, 0, 0, 1));
    v = case_input(&c, TY(IR_DTYPE_F32, 2, 1), V(0.1, 0.2));
    CHECK(ir_build_attention(&c.b, q, k, v, 1.0, true) == IR_ID_NONE);
    CHECK(strstr(c.b.err.msg, "multiple of S") != NULL);
    case_end(&c);
}

/* --- the driver ---------------------------------------------------------------------- */

/* Many nodes, intermediates freed as they die (ASan would see a leak or a use after
 * free), the same bits on every run, and a malformed graph rejected with a message. */
static void test_driver(void) {
    Case c;
    case_begin(&c, 1);
    double vals[64];
    for (int i = 0; i < 64; i++) vals[i] = sin(i) * 3;
    IrId x = case_input(&c, TY(IR_DTYPE_F32, 64), vals);
    IrId acc = x;
    for (int i = 0; i < 200; i++) {
        IrId t = ir_build_unary(&c.b, i % 2 ? IR_OP_TANH : IR_OP_SIN, acc);
        acc = ir_build_binary(&c.b, IR_OP_ADD, t, x);
    }
    IrId dead = ir_build_unary(&c.b, IR_OP_EXP, x); /* unused: runs and is freed at once */
    (void)dead;
    case_output(&c, acc);
    case_output(&c, acc); /* the same node twice: two independent copies */
    double first[64];
    if (case_run_ok(&c, IR_PRECISION_F32)) {
        memcpy(first, c.out[0].data, sizeof first);
        CHECK(c.out[0].data != c.out[1].data);
        CHECK_VALS_N(c.out[1], first, 64);
        for (int rep = 0; rep < 3; rep++)
            if (case_run_ok(&c, IR_PRECISION_F32)) CHECK(memcmp(c.out[0].data, first, sizeof first) == 0);
    }
    case_end(&c);

    /* A node appended without the builder and with a wrong type is refused. */
    case_begin(&c, 1);
    x = case_input(&c, TY(IR_DTYPE_F32, 2), V(1, 2));
    IrNode n;
    memset(&n, 0, sizeof n);
    n.op = IR_OP_NEG;
    n.n_operands = 1;
    n.operands = &x;
    n.type = TY(IR_DTYPE_F32, 3);
    IrId bad = ir_graph_add_node(c.g, &n);
    case_output(&c, bad);
    case_run_fails(&c, IR_PRECISION_F32, "%1 (neg): node type f32[3] differs from the inferred f32[2]");
    case_end(&c);

    /* Bad options. */
    case_begin(&c, 1);
    x = case_input(&c, TY(IR_DTYPE_F32, 2), V(1, 2));
    case_output(&c, x);
    c.opt.ranks = 0;
    case_run_fails(&c, IR_PRECISION_F32, "0 simulated ranks is out of range");
    case_end(&c);
}

/* --- the registry -------------------------------------------------------------------- */

#define MAX_COVERED 12
typedef struct OpTest {
    const char *name;
    void (*fn)(void);
    IrOp covers[MAX_COVERED]; /* zero-terminated */
} OpTest;

static const OpTest tests[] = {
    {"input_const", test_input_const, {IR_OP_INPUT, IR_OP_CONST}},
    {"unary_float", test_unary_float,
     {IR_OP_NEG, IR_OP_ABS, IR_OP_EXP, IR_OP_LOG, IR_OP_SQRT, IR_OP_RSQRT, IR_OP_TANH, IR_OP_RECIP, IR_OP_SIN,
      IR_OP_COS, IR_OP_STOP_GRADIENT}},
    {"i32_arith", test_i32_arith,
     {IR_OP_ADD, IR_OP_SUB, IR_OP_MUL, IR_OP_DIV, IR_OP_NEG, IR_OP_ABS, IR_OP_MAX, IR_OP_MIN, IR_OP_CMPLT,
      IR_OP_CMPEQ}},
    {"float_binary", test_float_binary,
     {IR_OP_ADD, IR_OP_SUB, IR_OP_MUL, IR_OP_DIV, IR_OP_MAX, IR_OP_MIN, IR_OP_POW, IR_OP_CMPLT, IR_OP_CMPEQ}},
    {"select", test_select, {IR_OP_SELECT}},
    {"cast", test_cast, {IR_OP_CAST}},
    {"reduce", test_reduce, {IR_OP_REDUCE_SUM, IR_OP_REDUCE_MAX}},
    {"reshape_permute", test_reshape_permute, {IR_OP_RESHAPE, IR_OP_PERMUTE}},
    {"broadcast", test_broadcast, {IR_OP_BROADCAST}},
    {"slice_concat", test_slice_concat, {IR_OP_SLICE, IR_OP_CONCAT}},
    {"matmul", test_matmul, {IR_OP_MATMUL}},
    {"gather", test_gather, {IR_OP_GATHER}},
    {"gather_error", test_gather_error, {IR_OP_GATHER}},
    {"scatter_add", test_scatter_add, {IR_OP_SCATTER_ADD}},
    {"topk", test_topk, {IR_OP_TOPK}},
    {"iota_onehot", test_iota_onehot, {IR_OP_IOTA, IR_OP_ONEHOT}},
    {"cumsum", test_cumsum, {IR_OP_CUMSUM}},
    {"philox_kat", test_philox_kat, {0}},
    {"rand", test_rand, {IR_OP_RAND}},
    {"extern_call", test_extern_call, {IR_OP_EXTERN_CALL}},
    {"collectives_smoke", test_collectives_smoke,
     {IR_OP_ALL_GATHER, IR_OP_ALL_REDUCE, IR_OP_REDUCE_SCATTER, IR_OP_ALL_TO_ALL}},
    {"attention", test_attention_composite, {IR_OP_ATTENTION, IR_OP_ATTENTION_LSE, IR_OP_ATTENTION_GRAD}},
    {"attention_by_hand", test_attention_by_hand, {IR_OP_ATTENTION, IR_OP_ATTENTION_LSE}},
    {"driver", test_driver, {0}},
};

int main(void) {
    bool claimed[IR_OP_COUNT] = {false};
    for (size_t t = 0; t < sizeof tests / sizeof tests[0]; t++) {
        memset(harness_ran_op, 0, sizeof harness_ran_op);
        int before = test_failures;
        tests[t].fn();
        for (int k = 0; k < MAX_COVERED && tests[t].covers[k]; k++) {
            IrOp op = tests[t].covers[k];
            claimed[op] = true;
            if (!harness_ran_op[op]) {
                fprintf(stderr, "test %s claims op %s but never ran it\n", tests[t].name, ir_op_name(op));
                CHECK(harness_ran_op[op]);
            }
        }
        fprintf(stderr, "%-18s %s\n", tests[t].name, test_failures == before ? "ok" : "FAILED");
    }
    /* The walker: every op in the table needs an interpreter test. */
    for (int op = 1; op < IR_OP_COUNT; op++) {
        if (!claimed[op]) fprintf(stderr, "op %s has no interpreter test\n", ir_op_name((IrOp)op));
        CHECK(claimed[op]);
    }
    TEST_MAIN();
}
