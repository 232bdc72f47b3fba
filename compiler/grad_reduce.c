/* compiler/grad_reduce.c — gradient rules of the reductions (reduce_sum, reduce_max) and
 * of the contraction (matmul).
 *
 *   reduce_sum: the gradient is broadcast back along the reduced axis.
 *   reduce_max: the whole gradient goes to the FIRST position holding the maximum (the
 *               lowest index along the axis), the element the interpreter returns (it
 *               keeps the first of equal values). That is a true one-sided derivative:
 *               splitting among ties, or copying to every tie, would not be. A nan
 *               maximum matches no element, so nothing flows. Away from ties it is the
 *               ordinary derivative, which is what finite differences check.
 *   matmul:     out = A B with A = x or x^T (ta), B = y or y^T (tb), per batch:
 *               dA = g B^T, dB = A^T g, each written as one matmul with transpose
 *               flags, so no transpose is materialized. A rank-2 operand shared by every
 *               batch gets the sum over the batch: for the common case (x batched and
 *               not transposed, y a shared weight) batch and rows are merged into one
 *               [batch*M, K]^T [batch*M, N] matmul; otherwise the batched gradient is
 *               summed over a leading batch axis.
 *
 * Deliberately not here: matmul of integer operands (the shape rule rejects them).
 */
#include "compiler_int.h"

/* x's shape with `axis` kept as size 1. */
static IrType keepdims_type(IrType x, int64_t axis) {
    x.dims[axis] = 1;
    return x;
}

/* Broadcasts v (of x's rank, size 1 along `axis`) back to type xt. */
static IrId expand(CcGradCall *c, IrId v, const IrType *xt) {
    int64_t map[IR_MAX_RANK];
    for (uint32_t i = 0; i < xt->rank; i++) map[i] = i;
    return ir_build_broadcast(c->b, v, xt->rank, xt->dims, map);
}

/* The reduction's result (or gradient) with the reduced axis kept, broadcast to x. */
static IrId back_to_x(CcGradCall *c, IrId v, const IrType *xt) {
    int64_t axis = c->node.attrs.reduce.axis;
    IrType kd = keepdims_type(*xt, axis);
    if (!c->node.attrs.reduce.keepdims) v = ir_build_reshape(c->b, v, kd.rank, kd.dims);
    return xt->dims[axis] == 1 ? v : expand(c, v, xt);
}

/* out = sum over `axis`:  dx = g broadcast along the axis */
bool cc_grad_reduce_sum(CcGradCall *c) {
    IrType xt = cc_grad_xtype(c, 0);
    c->gx[0] = back_to_x(c, c->gy, &xt);
    return true;
}

/* out = max over `axis`:  dx = g at the first arg-max along the axis, 0 elsewhere:
 *   hit   = (x == out)                       every position holding the maximum
 *   ahead = exclusive cumsum of hit          maxima before this position
 *   dx    = hit ? (ahead ? 0 : g) : 0 */
bool cc_grad_reduce_max(CcGradCall *c) {
    IrType xt = cc_grad_xtype(c, 0);
    IrId x = cc_grad_x(c, 0);
    IrId hit = ir_build_binary(c->b, IR_OP_CMPEQ, x, back_to_x(c, cc_grad_y(c), &xt));
    IrId ahead = ir_build_cumsum(c->b, hit, c->node.attrs.reduce.axis, true, false);
    IrId zero = cc_grad_full(c, xt, 0.0);
    IrId first = ir_build_select(c->b, ahead, zero, back_to_x(c, c->gy, &xt));
    c->gx[0] = ir_build_select(c->b, hit, first, zero);
    return true;
}

/* v of rank >= 3 summed over its leading batch axes into rank 2. */
static IrId sum_batch(CcGradCall *c, IrId v) {
    IrType t = c->b->g->nodes[v].type;
    int64_t r0 = t.dims[t.rank - 2], r1 = t.dims[t.rank - 1];
    int64_t nb = ir_type_numel(&t) / (r0 * r1);
    IrId flat = ir_build_reshape(c->b, v, 3, (int64_t[]){nb, r0, r1});
    return ir_build_reduce(c->b, IR_OP_REDUCE_SUM, flat, 0, false);
}

/* out[b] = A[b] B[b] (see the banner). */
bool cc_grad_matmul(CcGradCall *c) {
    bool ta = c->node.attrs.matmul.ta, tb = c->node.attrs.matmul.tb;
    IrType xt = cc_grad_xtype(c, 0), yt = cc_grad_xtype(c, 1), ot = c->node.type;
    IrId g = c->gy;
    /* bf16 operands (an f32 result): the backward products are bf16 x bf16 with an f32
     * result too, so the gradient is rounded to bf16 and the operand gradients come
     * out f32, which is the dtype cc_grad holds a bf16 value's gradient in. */
    if (xt.dtype == IR_DTYPE_BF16) g = ir_build_cast(c->b, g, IR_DTYPE_BF16);
    bool batched = ot.rank > 2;
    if (c->want[0]) {
        IrId y = cc_grad_x(c, 1);
        /* !ta: dx = dA = g B^T;  ta: dx = dA^T = B g^T */
        IrId d = ta ? ir_build_matmul(c->b, y, g, tb, true) : ir_build_matmul(c->b, g, y, false, !tb);
        c->gx[0] = batched && xt.rank == 2 ? sum_batch(c, d) : d;
    }
    if (c->want[1]) {
        IrId x = cc_grad_x(c, 0);
        if (batched && yt.rank == 2 && xt.rank > 2 && !ta) {
            /* x [.., M, K] and g [.., M, N] are row-major with the batch outermost, so
             * they reshape to [nb*M, K] and [nb*M, N]: the batch sum is the contraction. */
            int64_t K = xt.dims[xt.rank - 1], N = ot.dims[ot.rank - 1];
            int64_t rows = ir_type_numel(&xt) / K;
            IrId x2 = ir_build_reshape(c->b, x, 2, (int64_t[]){rows, K});
            IrId g2 = ir_build_reshape(c->b, g, 2, (int64_t[]){rows, N});
            c->gx[1] = tb ? ir_build_matmul(c->b, g2, x2, true, false) : ir_build_matmul(c->b, x2, g2, true, false);
        } else {
            /* !tb: dy = dB = A^T g;  tb: dy = dB^T = g^T A */
            IrId d = tb ? ir_build_matmul(c->b, g, x, true, ta) : ir_build_matmul(c->b, x, g, !ta, false);
            c->gx[1] = batched && yt.rank == 2 ? sum_batch(c, d) : d;
        }
    }
    return true;
}
