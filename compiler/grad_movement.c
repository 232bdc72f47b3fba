/* compiler/grad_movement.c — gradient rules of the movement ops: reshape, permute,
 * broadcast, slice, concat. Each is the transpose of a copy, so each rule only moves or
 * adds values:
 *   reshape   -> reshape back;
 *   permute   -> the inverse permutation;
 *   broadcast -> reduce_sum over every result axis no operand axis maps to, and (with
 *                keepdims) over every size-1 operand axis that was expanded;
 *   slice     -> the gradient placed into zeros of x's shape, one axis at a time: a
 *                contiguous range is padded with zero blocks by concat; a strided range
 *                is a scatter_add at constant indices start, start+step, ... — both
 *                exact (each position receives one value or stays zero);
 *   concat    -> each operand's slice of the gradient.
 *
 * Deliberately not here: views or aliasing; whether a movement becomes a copy is for the
 * code generator to decide.
 */
#include "compiler_int.h"

#include <stdlib.h>

/* out = x with another shape:  dx = reshape(g) to x's shape */
bool cc_grad_reshape(CcGradCall *c) {
    IrType xt = cc_grad_xtype(c, 0);
    c->gx[0] = ir_build_reshape(c->b, c->gy, xt.rank, xt.dims);
    return true;
}

/* out.dims[i] = x.dims[perm[i]]:  dx = permute(g, inverse(perm)) */
bool cc_grad_permute(CcGradCall *c) {
    const IrInts *p = &c->node.attrs.permute.perm;
    int64_t inv[IR_MAX_RANK];
    for (uint32_t i = 0; i < p->n; i++) inv[p->v[i]] = i;
    c->gx[0] = ir_build_permute(c->b, c->gy, p->n, inv);
    return true;
}

/* Operand axis k maps to result axis dims[k] (increasing). From the last result axis
 * down (so earlier axis numbers stay valid): an axis no operand axis maps to is summed
 * away; an axis an operand axis of size 1 was expanded along is summed with keepdims.
 * What is left has the operand's shape. */
bool cc_grad_broadcast(CcGradCall *c) {
    IrType xt = cc_grad_xtype(c, 0), ot = c->node.type;
    const IrInts *map = &c->node.attrs.broadcast.dims;
    IrId g = c->gy;
    int64_t k = (int64_t)map->n - 1; /* the operand axis that may map to result axis a */
    for (int64_t a = (int64_t)ot.rank - 1; a >= 0; a--) {
        if (k >= 0 && map->v[k] == a) {
            if (xt.dims[k] == 1 && ot.dims[a] != 1) g = ir_build_reduce(c->b, IR_OP_REDUCE_SUM, g, a, true);
            k--;
        } else {
            g = ir_build_reduce(c->b, IR_OP_REDUCE_SUM, g, a, false);
        }
    }
    c->gx[0] = g;
    return true;
}

/* out[i] = x[start + i*step] per axis:  dx = g scattered back into zeros (banner). */
bool cc_grad_slice(CcGradCall *c) {
    IrType xt = cc_grad_xtype(c, 0);
    const IrInts *start = &c->node.attrs.slice.start, *step = &c->node.attrs.slice.step;
    IrId g = c->gy;
    IrType cur = c->node.type; /* g's type as axes are filled in */
    for (uint32_t a = 0; a < xt.rank; a++) {
        int64_t s = start->v[a], st = step->n ? step->v[a] : 1, n = cur.dims[a], d = xt.dims[a];
        if (n == d) continue; /* the whole axis */
        IrType full = cur;
        full.dims[a] = d;
        if (st > 1 && n > 1) {
            /* positions s, s+st, ..., s+(n-1)st along a */
            double *pos = llmc_xmalloc((size_t)n * sizeof *pos);
            for (int64_t i = 0; i < n; i++) pos[i] = (double)(s + i * st);
            IrId idx = ir_build_const(c->b, ir_type_make(IR_DTYPE_I32, 1, &n), pos, (uint64_t)n);
            free(pos);
            g = ir_build_scatter_add(c->b, full, idx, g, a, 0);
        } else {
            IrId parts[3];
            uint32_t np = 0;
            if (s > 0) {
                IrType z = cur;
                z.dims[a] = s;
                parts[np++] = cc_grad_full(c, z, 0.0);
            }
            parts[np++] = g;
            if (s + n < d) {
                IrType z = cur;
                z.dims[a] = d - s - n;
                parts[np++] = cc_grad_full(c, z, 0.0);
            }
            g = ir_build_concat(c->b, parts, np, a);
        }
        cur = full;
    }
    c->gx[0] = g;
    return true;
}

/* out = operands joined along `axis`:  operand k's gradient is its range of g. */
bool cc_grad_concat(CcGradCall *c) {
    int64_t axis = c->node.attrs.axis.axis, off = 0;
    IrType ot = c->node.type;
    for (uint32_t k = 0; k < c->node.n_operands; k++) {
        IrType xt = cc_grad_xtype(c, k);
        int64_t len = xt.dims[axis];
        if (c->want[k]) {
            if (len == ot.dims[axis]) {
                c->gx[k] = c->gy;
            } else {
                int64_t lo[IR_MAX_RANK] = {0}, hi[IR_MAX_RANK];
                for (uint32_t i = 0; i < ot.rank; i++) hi[i] = ot.dims[i];
                lo[axis] = off;
                hi[axis] = off + len;
                c->gx[k] = ir_build_slice(c->b, c->gy, lo, hi, NULL);
            }
        }
        off += len;
    }
    return true;
}
