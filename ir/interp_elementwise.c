/* ir/interp_elementwise.c — the interpreter's elementwise ops: unary, binary, cast, select.
 *
 * Operands and result share one shape (broadcasting is an explicit op), so every op is
 * a map over element index i. Float dtypes compute in double; the driver rounds the
 * result to float for f32 nodes in f32 mode. i32 is integer arithmetic, never a double
 * approximation: add/sub/mul/neg/abs wrap modulo 2^32, div truncates toward zero (x/0 is
 * an error, INT32_MIN/-1 wraps to INT32_MIN), max/min/compares are exact.
 *
 * Deliberately not here: any broadcasting, fusion or vectorization — one element at a
 * time, the formula in plain sight.
 */
#include "ir_int.h"

#include <math.h>

/* --- shared maps --------------------------------------------------------------------- */

typedef double (*UnaryFn)(double x, bool i32);
typedef double (*BinaryFn)(double x, double y, bool i32);

/* out[i] = f(x[i]) */
static bool map_unary(const IrInterpCall *c, UnaryFn f) {
    const IrValue *x = c->args[0];
    bool i32 = x->type.dtype == IR_DTYPE_I32;
    int64_t n = ir_type_numel(&c->out->type);
    for (int64_t i = 0; i < n; i++) c->out->data[i] = f(x->data[i], i32);
    return true;
}

/* out[i] = f(x[i], y[i]); i32 when the operands are (compares too: same dtype). */
static bool map_binary(const IrInterpCall *c, BinaryFn f) {
    const IrValue *x = c->args[0], *y = c->args[1];
    bool i32 = x->type.dtype == IR_DTYPE_I32;
    int64_t n = ir_type_numel(&c->out->type);
    for (int64_t i = 0; i < n; i++) c->out->data[i] = f(x->data[i], y->data[i], i32);
    return true;
}

/* i32 values are exact in double; this makes the conversion explicit. */
static int64_t as_i(double v) { return (int64_t)v; }
static double wrap(int64_t v) { return (double)ir_interp_wrap_i32(v); }

/* --- unary --------------------------------------------------------------------------- */

static double f_neg(double x, bool i32) { return i32 ? wrap(-as_i(x)) : -x; }
static double f_abs(double x, bool i32) { return i32 ? wrap(as_i(x) < 0 ? -as_i(x) : as_i(x)) : fabs(x); }
static double f_exp(double x, bool i32) { return exp(x); }
static double f_log(double x, bool i32) { return log(x); }
static double f_sqrt(double x, bool i32) { return sqrt(x); }
static double f_rsqrt(double x, bool i32) { return 1.0 / sqrt(x); }
static double f_tanh(double x, bool i32) { return tanh(x); }
static double f_recip(double x, bool i32) { return 1.0 / x; }
static double f_sin(double x, bool i32) { return sin(x); }
static double f_cos(double x, bool i32) { return cos(x); }
static double f_stop_gradient(double x, bool i32) { return x; }

/* out = -x  (i32: -INT32_MIN wraps to INT32_MIN) */
bool ir_interp_neg(const IrInterpCall *c) { return map_unary(c, f_neg); }
/* out = |x|  (i32: |INT32_MIN| wraps to INT32_MIN) */
bool ir_interp_abs(const IrInterpCall *c) { return map_unary(c, f_abs); }
/* out = e^x */
bool ir_interp_exp(const IrInterpCall *c) { return map_unary(c, f_exp); }
/* out = ln x  (-inf at 0, nan below) */
bool ir_interp_log(const IrInterpCall *c) { return map_unary(c, f_log); }
/* out = sqrt(x)  (nan below 0) */
bool ir_interp_sqrt(const IrInterpCall *c) { return map_unary(c, f_sqrt); }
/* out = 1 / sqrt(x)  (computed in double, rounded once: not a fast approximation) */
bool ir_interp_rsqrt(const IrInterpCall *c) { return map_unary(c, f_rsqrt); }
/* out = tanh(x) */
bool ir_interp_tanh(const IrInterpCall *c) { return map_unary(c, f_tanh); }
/* out = 1 / x  (+-inf at +-0) */
bool ir_interp_recip(const IrInterpCall *c) { return map_unary(c, f_recip); }
/* out = sin(x) */
bool ir_interp_sin(const IrInterpCall *c) { return map_unary(c, f_sin); }
/* out = cos(x) */
bool ir_interp_cos(const IrInterpCall *c) { return map_unary(c, f_cos); }
/* out = x  (the identity: stop_gradient only matters to autodiff) */
bool ir_interp_stop_gradient(const IrInterpCall *c) { return map_unary(c, f_stop_gradient); }

/* out = x converted to the result dtype.
 *   float -> i32: truncate toward 0; nan or a value outside int32 is an error.
 *   i32 -> float, f32 <-> f64: exact here; the driver rounds to float for an f32 result
 *   in f32 mode. */
bool ir_interp_cast(const IrInterpCall *c) {
    const IrValue *x = c->args[0];
    bool to_i32 = c->out->type.dtype == IR_DTYPE_I32;
    int64_t n = ir_type_numel(&c->out->type);
    for (int64_t i = 0; i < n; i++) {
        double v = x->data[i];
        if (to_i32 && x->type.dtype != IR_DTYPE_I32) {
            /* Check before converting: an out-of-range double -> int conversion is UB.
             * Anything strictly between -2^31-1 and 2^31 truncates into range. */
            if (!(v > -2147483649.0 && v < 2147483648.0)) {
                llmc_err_set(c->err, "cannot cast %.17g to i32 (nan or out of range) at element %lld", v,
                             (long long)i);
                return false;
            }
            v = trunc(v);
        }
        c->out->data[i] = v;
    }
    return true;
}

/* --- binary -------------------------------------------------------------------------- */

static double f_add(double x, double y, bool i32) { return i32 ? wrap(as_i(x) + as_i(y)) : x + y; }
static double f_sub(double x, double y, bool i32) { return i32 ? wrap(as_i(x) - as_i(y)) : x - y; }
/* |x|, |y| <= 2^31, so the int64 product is exact before wrapping. */
static double f_mul(double x, double y, bool i32) { return i32 ? wrap(as_i(x) * as_i(y)) : x * y; }
static double f_max(double x, double y, bool i32) {
    if (isnan(x)) return x;
    if (isnan(y)) return y;
    return x >= y ? x : y;
}
static double f_min(double x, double y, bool i32) {
    if (isnan(x)) return x;
    if (isnan(y)) return y;
    return x <= y ? x : y;
}
static double f_pow(double x, double y, bool i32) { return pow(x, y); }
static double f_cmplt(double x, double y, bool i32) { return x < y ? 1.0 : 0.0; }
static double f_cmpeq(double x, double y, bool i32) { return x == y ? 1.0 : 0.0; }

/* out = x + y  (i32: wraps modulo 2^32) */
bool ir_interp_add(const IrInterpCall *c) { return map_binary(c, f_add); }
/* out = x - y  (i32: wraps modulo 2^32) */
bool ir_interp_sub(const IrInterpCall *c) { return map_binary(c, f_sub); }
/* out = x * y  (i32: wraps modulo 2^32) */
bool ir_interp_mul(const IrInterpCall *c) { return map_binary(c, f_mul); }

/* out = x / y
 *   float: IEEE division (x/0 = +-inf, 0/0 = nan);
 *   i32: truncates toward zero; y == 0 is an error; INT32_MIN / -1 wraps to INT32_MIN. */
bool ir_interp_div(const IrInterpCall *c) {
    const IrValue *x = c->args[0], *y = c->args[1];
    int64_t n = ir_type_numel(&c->out->type);
    if (x->type.dtype != IR_DTYPE_I32) {
        for (int64_t i = 0; i < n; i++) c->out->data[i] = x->data[i] / y->data[i];
        return true;
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t a = as_i(x->data[i]), b = as_i(y->data[i]);
        if (b == 0) {
            llmc_err_set(c->err, "integer division by zero (%lld / 0) at element %lld", (long long)a, (long long)i);
            return false;
        }
        c->out->data[i] = wrap(a / b); /* int64 '/' truncates; -2^31 / -1 = 2^31 wraps */
    }
    return true;
}

/* out = x >= y ? x : y; nan if either is nan (the first nan operand is passed through) */
bool ir_interp_max(const IrInterpCall *c) { return map_binary(c, f_max); }
/* out = x <= y ? x : y; nan if either is nan */
bool ir_interp_min(const IrInterpCall *c) { return map_binary(c, f_min); }
/* out = x ^ y  (C pow: pow(x, 0) = 1 even for nan x; negative x with fractional y is nan) */
bool ir_interp_pow(const IrInterpCall *c) { return map_binary(c, f_pow); }
/* out = x < y ? 1 : 0 in the operands' dtype (0 when either is nan) */
bool ir_interp_cmplt(const IrInterpCall *c) { return map_binary(c, f_cmplt); }
/* out = x == y ? 1 : 0 in the operands' dtype (0 when either is nan; -0 == +0) */
bool ir_interp_cmpeq(const IrInterpCall *c) { return map_binary(c, f_cmpeq); }

/* out = c != 0 ? x : y  (a nan condition is != 0, so it picks x) */
bool ir_interp_select(const IrInterpCall *c) {
    const IrValue *cond = c->args[0], *x = c->args[1], *y = c->args[2];
    int64_t n = ir_type_numel(&c->out->type);
    for (int64_t i = 0; i < n; i++) c->out->data[i] = cond->data[i] != 0 ? x->data[i] : y->data[i];
    return true;
}
