/* compiler/grad_misc.c — gradient rules of the sources (input, const), rand,
 * extern_call and the collectives.
 *
 * Sources have no operands: an input is a leaf whose gradient the driver outputs, a
 * const has none. rand is IR_TRAIT_NONDIFF: its operands are i32 keys.
 *
 * extern_call is opaque user code; its derivative is whatever the .llm declared as its
 * `backward` (the node's `backward` attribute, "library:function"):
 *   y = f(x)  ->  dx = backward(x, dy), another extern_call (without a backward of its own)
 * A backward is declared for one-argument functions only (frontend/lower_extern.c). A
 * node without one is an error as soon as a gradient must flow through it; one that no
 * differentiated input reaches is never asked.
 *
 * Collectives, under the SPMD reading every rank runs the same graph and the objective
 * is the sum of the ranks' losses, so the gradient of a value on rank r collects what
 * every rank's loss owes it:
 *   all_gather(axis)               -> reduce_scatter(sum, axis)
 *   reduce_scatter(sum, axis)      -> all_gather(axis)
 *   all_reduce(sum)                -> all_reduce(sum)
 *   all_to_all(split a, concat c)  -> all_to_all(split c, concat a)  (its inverse)
 * Max reductions over ranks are reported as unsupported: their derivative needs to know
 * which rank held the maximum, and nothing in training produces them.
 */
#include "compiler_int.h"

/* A leaf: the driver outputs its gradient; nothing to pass on. */
bool cc_grad_input(CcGradCall *c) { return true; }
/* No operands, no gradient. */
bool cc_grad_const(CcGradCall *c) { return true; }
/* Operands are i32 keys: no gradient. */
bool cc_grad_rand(CcGradCall *c) { return true; }
/* Opaque user code: dx = backward(x, dy) through the declared backward symbol. */
bool cc_grad_extern_call(CcGradCall *c) {
    const IrGraph *g = c->b->g;
    const char *sym = ir_graph_str(g, c->node.attrs.extern_call.symbol);
    LlmcBuf where = {0};
    if (c->node.loc.file)
        llmc_buf_printf(&where, " (%s:%u:%u)", ir_graph_str(g, c->node.loc.file), c->node.loc.line, c->node.loc.col);
    bool ok = true;
    if (!c->node.attrs.extern_call.backward) {
        llmc_err_set(c->err, "autodiff: extern '%s' (%%%u%s) has no backward, but the loss needs the gradient "
                     "through it; declare one with 'backward NAME' after its signature",
                     sym, c->id, where.data ? where.data : "");
        ok = false;
    } else if (c->node.n_operands != 1) {
        llmc_err_set(c->err, "autodiff: extern '%s' (%%%u%s) has %u operands; a backward is supported for "
                     "one-argument functions only", sym, c->id, where.data ? where.data : "", c->node.n_operands);
        ok = false;
    }
    llmc_buf_free(&where);
    if (!ok) return false;
    if (!c->want[0]) return true;
    IrId args[2] = {cc_grad_x(c, 0), c->gy};
    c->gx[0] = ir_build_extern_call(c->b, ir_graph_str(g, c->node.attrs.extern_call.backward), args, 2,
                                    cc_grad_xtype(c, 0));
    return true;
}

static bool unsupported_max(CcGradCall *c) {
    llmc_err_set(c->err, "autodiff: the gradient of %s with a max reduction over ranks is not supported (%%%u)",
                 ir_op_name(c->node.op), c->id);
    return false;
}

/* out = concat over ranks of x_r:  dx_r = block r of sum over ranks of g */
bool cc_grad_all_gather(CcGradCall *c) {
    c->gx[0] = ir_build_reduce_scatter(c->b, c->gy, c->node.attrs.coll.axis, c->node.attrs.coll.ranks, IR_REDUCE_SUM);
    return true;
}

/* out_r = block r of sum over ranks of x:  dx = concat over ranks of g_r */
bool cc_grad_reduce_scatter(CcGradCall *c) {
    if (c->node.attrs.coll.reduce != IR_REDUCE_SUM) return unsupported_max(c);
    c->gx[0] = ir_build_all_gather(c->b, c->gy, c->node.attrs.coll.axis, c->node.attrs.coll.ranks);
    return true;
}

/* out = sum over ranks of x:  dx = sum over ranks of g */
bool cc_grad_all_reduce(CcGradCall *c) {
    if (c->node.attrs.coll.reduce != IR_REDUCE_SUM) return unsupported_max(c);
    c->gx[0] = ir_build_all_reduce(c->b, c->gy, c->node.attrs.coll.ranks, IR_REDUCE_SUM);
    return true;
}

/* out_r = concat_s (block r of x_s along split) along concat:  the inverse exchange */
bool cc_grad_all_to_all(CcGradCall *c) {
    c->gx[0] = ir_build_all_to_all(c->b, c->gy, c->node.attrs.coll.concat_axis, c->node.attrs.coll.axis,
                                   c->node.attrs.coll.ranks);
    return true;
}
