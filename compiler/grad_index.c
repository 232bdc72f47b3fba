/* compiler/grad_index.c — gradient rules of the indexing ops.
 *
 *   gather      -> scatter_add of the gradient into the table's shape, at the same
 *                  indices with the same axis and batch_dims (its transpose); the
 *                  indices themselves are i32 and get nothing;
 *   scatter_add -> gather of the gradient at the same indices, into the updates;
 *   cumsum      -> the cumsum of the gradient in the other direction, with the same
 *                  exclusive flag (out[i] = sum_{j<=i} x[j] gives dx[j] = sum_{i>=j} g[i]);
 *   topk, iota, onehot: IR_TRAIT_NONDIFF — indices and one-hot masks are piecewise
 *                  constant; the gradient of MoE routing flows through the gate values,
 *                  which are a gather of the router probabilities at topk's indices.
 *
 * Deliberately not here: any deduplication of repeated indices; scatter_add adds them,
 * which is exactly the sum the chain rule asks for.
 */
#include "compiler_int.h"

/* out = x[b.., idx[b.., j..], ..]:  dx = scatter_add(idx, g) into x's type */
bool cc_grad_gather(CcGradCall *c) {
    IrType xt = cc_grad_xtype(c, 0);
    c->gx[0] = ir_build_scatter_add(c->b, xt, cc_grad_x(c, 1), c->gy, c->node.attrs.gather.axis,
                                    c->node.attrs.gather.batch_dims);
    return true;
}

/* out = zeros; out[b.., idx[b.., j..], ..] += upd:  dupd = gather(g, idx) */
bool cc_grad_scatter_add(CcGradCall *c) {
    c->gx[1] = ir_build_gather(c->b, c->gy, cc_grad_x(c, 0), c->node.attrs.gather.axis,
                               c->node.attrs.gather.batch_dims);
    return true;
}

/* Indices of the k largest: piecewise constant, no gradient. */
bool cc_grad_topk(CcGradCall *c) { return true; }
/* No operands. */
bool cc_grad_iota(CcGradCall *c) { return true; }
/* A 0/1 mask from i32 indices: no gradient. */
bool cc_grad_onehot(CcGradCall *c) { return true; }

/* out[i] = sum of x over the positions visited up to i (exclusive: before i), in
 * the visiting direction:  dx = the same sum of g in the opposite direction. */
bool cc_grad_cumsum(CcGradCall *c) {
    c->gx[0] = ir_build_cumsum(c->b, c->gy, c->node.attrs.cumsum.axis, c->node.attrs.cumsum.exclusive,
                               !c->node.attrs.cumsum.reverse);
    return true;
}
