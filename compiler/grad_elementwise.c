/* compiler/grad_elementwise.c — gradient rules of the elementwise ops: unary math, cast,
 * stop_gradient, the binary ops, compares and select.
 *
 * Every operand has the result's shape (broadcasting is its own op), so each rule is
 * the textbook derivative written with IR ops, elementwise. Conventions where the
 * derivative is not defined, chosen to match the interpreter's formulas:
 *   abs:      d|x| = sign(x), with sign(0) = 0 (so a zero input gets no gradient);
 *   max, min: the whole gradient goes to the operand that was chosen; on a tie to x,
 *             as max = x >= y ? x : y and min = x <= y ? x : y choose x;
 *   pow:      d/dx = y x^(y-1); d/dy = out ln x where x > 0, and 0 where x <= 0 (there
 *             the formula gives nan or -inf*0 while x^y, when defined, is locally
 *             constant or undefined in y — 0 keeps a stray nan out of training);
 *   select:   the gradient goes to x where the condition is nonzero, to y elsewhere;
 *             the condition gets none.
 * Compares and stop_gradient are IR_TRAIT_NONDIFF: their rules give nothing (the driver
 * never asks).
 * Rules read forward values only through cc_grad_x / cc_grad_y (rematerialization).
 *
 * Deliberately not here: simplifying the results (multiplying by a constant one, say):
 * the simplify passes see every rule's output.
 */
#include "compiler_int.h"

static IrId un(CcGradCall *c, IrOp op, IrId x) { return ir_build_unary(c->b, op, x); }
static IrId bin(CcGradCall *c, IrOp op, IrId x, IrId y) { return ir_build_binary(c->b, op, x, y); }
/* A constant of the node's result type (== every operand's type for these ops). */
static IrId full(CcGradCall *c, double v) { return cc_grad_full(c, c->node.type, v); }

/* --- unary ------------------------------------------------------------------------------ */

/* out = -x:  dx = -g */
bool cc_grad_neg(CcGradCall *c) {
    c->gx[0] = un(c, IR_OP_NEG, c->gy);
    return true;
}

/* out = |x|:  dx = g * sign(x), sign(x) = (0 < x) - (x < 0), so sign(0) = 0 */
bool cc_grad_abs(CcGradCall *c) {
    IrId x = cc_grad_x(c, 0), zero = full(c, 0.0);
    IrId sign = bin(c, IR_OP_SUB, bin(c, IR_OP_CMPLT, zero, x), bin(c, IR_OP_CMPLT, x, zero));
    c->gx[0] = bin(c, IR_OP_MUL, c->gy, sign);
    return true;
}

/* out = e^x:  dx = g * out */
bool cc_grad_exp(CcGradCall *c) {
    c->gx[0] = bin(c, IR_OP_MUL, c->gy, cc_grad_y(c));
    return true;
}

/* out = ln x:  dx = g / x */
bool cc_grad_log(CcGradCall *c) {
    c->gx[0] = bin(c, IR_OP_DIV, c->gy, cc_grad_x(c, 0));
    return true;
}

/* out = sqrt(x):  dx = g * 0.5 / out */
bool cc_grad_sqrt(CcGradCall *c) {
    c->gx[0] = bin(c, IR_OP_DIV, bin(c, IR_OP_MUL, c->gy, full(c, 0.5)), cc_grad_y(c));
    return true;
}

/* out = x^(-1/2):  dx = g * (-0.5) * out^3  (no division by x) */
bool cc_grad_rsqrt(CcGradCall *c) {
    IrId y = cc_grad_y(c);
    IrId y3 = bin(c, IR_OP_MUL, bin(c, IR_OP_MUL, y, y), y);
    c->gx[0] = bin(c, IR_OP_MUL, bin(c, IR_OP_MUL, c->gy, full(c, -0.5)), y3);
    return true;
}

/* out = tanh(x):  dx = g * (1 - out^2) */
bool cc_grad_tanh(CcGradCall *c) {
    IrId y = cc_grad_y(c);
    c->gx[0] = bin(c, IR_OP_MUL, c->gy, bin(c, IR_OP_SUB, full(c, 1.0), bin(c, IR_OP_MUL, y, y)));
    return true;
}

/* out = 1/x:  dx = -g * out^2 */
bool cc_grad_recip(CcGradCall *c) {
    IrId y = cc_grad_y(c);
    c->gx[0] = un(c, IR_OP_NEG, bin(c, IR_OP_MUL, c->gy, bin(c, IR_OP_MUL, y, y)));
    return true;
}

/* out = sin x:  dx = g * cos x */
bool cc_grad_sin(CcGradCall *c) {
    c->gx[0] = bin(c, IR_OP_MUL, c->gy, un(c, IR_OP_COS, cc_grad_x(c, 0)));
    return true;
}

/* out = cos x:  dx = -g * sin x */
bool cc_grad_cos(CcGradCall *c) {
    c->gx[0] = un(c, IR_OP_NEG, bin(c, IR_OP_MUL, c->gy, un(c, IR_OP_SIN, cc_grad_x(c, 0))));
    return true;
}

/* out = x in another dtype. Float -> float: dx = g cast back to x's dtype. To or from
 * i32 carries no gradient (the driver never asks; kept here so the rule is total). */
bool cc_grad_cast(CcGradCall *c) {
    IrType xt = cc_grad_xtype(c, 0);
    if (!ir_dtype_is_float(xt.dtype) || !ir_dtype_is_float(c->node.type.dtype)) return true;
    /* A bf16 value's gradient is held in f32 (cc_grad), on either side of the cast. */
    IrDtype have = c->b->g->nodes[c->gy].type.dtype, want = xt.dtype == IR_DTYPE_BF16 ? IR_DTYPE_F32 : xt.dtype;
    c->gx[0] = have == want ? c->gy : ir_build_cast(c->b, c->gy, want);
    return true;
}

/* out = x, but by definition no gradient: dx = 0 (IR_TRAIT_NONDIFF, the driver never
 * asks). Marks a value the result does not depend on, such as softmax's max shift. */
bool cc_grad_stop_gradient(CcGradCall *c) { return true; }

/* --- binary ----------------------------------------------------------------------------- */

/* out = x + y:  dx = g, dy = g */
bool cc_grad_add(CcGradCall *c) {
    c->gx[0] = c->gy;
    c->gx[1] = c->gy;
    return true;
}

/* out = x - y:  dx = g, dy = -g */
bool cc_grad_sub(CcGradCall *c) {
    c->gx[0] = c->gy;
    if (c->want[1]) c->gx[1] = un(c, IR_OP_NEG, c->gy);
    return true;
}

/* out = x * y:  dx = g * y, dy = g * x */
bool cc_grad_mul(CcGradCall *c) {
    if (c->want[0]) c->gx[0] = bin(c, IR_OP_MUL, c->gy, cc_grad_x(c, 1));
    if (c->want[1]) c->gx[1] = bin(c, IR_OP_MUL, c->gy, cc_grad_x(c, 0));
    return true;
}

/* out = x / y:  dx = g / y, dy = -(g * out) / y */
bool cc_grad_div(CcGradCall *c) {
    IrId y = cc_grad_x(c, 1);
    if (c->want[0]) c->gx[0] = bin(c, IR_OP_DIV, c->gy, y);
    if (c->want[1]) c->gx[1] = un(c, IR_OP_NEG, bin(c, IR_OP_DIV, bin(c, IR_OP_MUL, c->gy, cc_grad_y(c)), y));
    return true;
}

/* Routes g to operand 0 where `to_y` is 0 and to operand 1 where it is 1. */
static void route(CcGradCall *c, IrId to_y) {
    IrId zero = full(c, 0.0);
    if (c->want[0]) c->gx[0] = ir_build_select(c->b, to_y, zero, c->gy);
    if (c->want[1]) c->gx[1] = ir_build_select(c->b, to_y, c->gy, zero);
}

/* out = x >= y ? x : y: y was chosen exactly where x < y (ties go to x). */
bool cc_grad_max(CcGradCall *c) {
    route(c, bin(c, IR_OP_CMPLT, cc_grad_x(c, 0), cc_grad_x(c, 1)));
    return true;
}

/* out = x <= y ? x : y: y was chosen exactly where y < x (ties go to x). */
bool cc_grad_min(CcGradCall *c) {
    route(c, bin(c, IR_OP_CMPLT, cc_grad_x(c, 1), cc_grad_x(c, 0)));
    return true;
}

/* out = x^y:  dx = g * y * x^(y-1);  dy = g * out * ln x where x > 0, else 0 (banner). */
bool cc_grad_pow(CcGradCall *c) {
    IrId x = cc_grad_x(c, 0);
    if (c->want[0]) {
        IrId y = cc_grad_x(c, 1);
        IrId dydx = bin(c, IR_OP_MUL, y, bin(c, IR_OP_POW, x, bin(c, IR_OP_SUB, y, full(c, 1.0))));
        c->gx[0] = bin(c, IR_OP_MUL, c->gy, dydx);
    }
    if (c->want[1]) {
        IrId d = bin(c, IR_OP_MUL, c->gy, bin(c, IR_OP_MUL, cc_grad_y(c), un(c, IR_OP_LOG, x)));
        c->gx[1] = ir_build_select(c->b, bin(c, IR_OP_CMPLT, full(c, 0.0), x), d, full(c, 0.0));
    }
    return true;
}

/* Compares are piecewise constant: no gradient (IR_TRAIT_NONDIFF). */
bool cc_grad_cmplt(CcGradCall *c) { return true; }
bool cc_grad_cmpeq(CcGradCall *c) { return true; }

/* out = c ? x : y:  dx = c ? g : 0, dy = c ? 0 : g; the condition gets none. */
bool cc_grad_select(CcGradCall *c) {
    IrId cond = cc_grad_x(c, 0), zero = full(c, 0.0);
    if (c->want[1]) c->gx[1] = ir_build_select(c->b, cond, c->gy, zero);
    if (c->want[2]) c->gx[2] = ir_build_select(c->b, cond, zero, c->gy);
    return true;
}
