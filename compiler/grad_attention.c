/* compiler/grad_attention.c — gradient rules of the fused attention ops (ops.def).
 *
 *   attention:      out = softmax(scale q k^T, masked) v, per batch element. The backward
 *                   is FlashAttention's: it keeps no [R, S] probability matrix but the
 *                   softmax's normalizer per row, recomputed from q and k,
 *                       lse  = attention_lse(q, k)                  [.., R]
 *                       dsum = reduce_sum(gy * out, last axis)      [.., R]
 *                   and each wanted operand w in q, k, v gets one op
 *                       dw   = attention_grad(q, k, v, lse, dsum, gy) {wrt = w}
 *                   which recomputes P = exp(s - lse) and dS = P (gy v^T - dsum) tile by
 *                   tile. lse and dsum are built once and shared by the three.
 *   attention_lse,
 *   attention_grad: no rule. They appear only in backward graphs, built above, so a
 *                   gradient through them is a second derivative of attention, which is
 *                   not supported: asked for one, the rule reports that and fails. They
 *                   are deliberately not IR_TRAIT_NONDIFF — that trait means "the
 *                   derivative is zero" (the driver would silently give zero gradients),
 *                   and theirs is not.
 *
 * Deliberately not here: a composite fallback (matmul, softmax, matmul) for the backward;
 * the unfused path is the frontend's (attention(..., fused = false)).
 */
#include "compiler_int.h"

/* out = attention(q, k, v) (see the banner). */
bool cc_grad_attention(CcGradCall *c) {
    if (!c->want[0] && !c->want[1] && !c->want[2]) return true;
    double scale = c->node.attrs.attention.scale;
    bool causal = c->node.attrs.attention.causal;
    IrId q = cc_grad_x(c, 0), k = cc_grad_x(c, 1), v = cc_grad_x(c, 2);
    IrId y = cc_grad_y(c);
    IrId lse = ir_build_attention_lse(c->b, q, k, scale, causal);
    IrId dsum = ir_build_reduce(c->b, IR_OP_REDUCE_SUM, ir_build_binary(c->b, IR_OP_MUL, c->gy, y), -1, false);
    static const IrAttentionWrt wrt[3] = {IR_ATTENTION_Q, IR_ATTENTION_K, IR_ATTENTION_V};
    for (uint32_t i = 0; i < 3; i++)
        if (c->want[i]) c->gx[i] = ir_build_attention_grad(c->b, q, k, v, lse, dsum, c->gy, scale, causal, wrt[i]);
    return true;
}

/* The rule of attention_lse and attention_grad: fails when any operand is wanted. */
static bool second_derivative(CcGradCall *c) {
    for (uint32_t i = 0; i < c->node.n_operands; i++)
        if (c->want[i]) {
            llmc_err_set(c->err,
                         "autodiff: %s (%%%u) is part of attention's backward; the loss needs a gradient through it, "
                         "but second derivatives of attention are not supported",
                         ir_op_name(c->node.op), c->id);
            return false;
        }
    return true;
}

bool cc_grad_attention_lse(CcGradCall *c) { return second_derivative(c); }
bool cc_grad_attention_grad(CcGradCall *c) { return second_derivative(c); }
