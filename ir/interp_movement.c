/* ir/interp_movement.c — the interpreter's movement ops: reshape, permute, broadcast,
 * slice, concat. They copy values; none computes, so none rounds or fails.
 *
 * Each op is written as "for every result element, which operand element is it?": unravel
 * the result index into coordinates, map them, ravel into the operand. It is the slowest
 * way and the easiest to check against the formula.
 *
 * Deliberately not here: views or aliasing (every result is a fresh copy) — the compiler
 * decides what becomes a view; the oracle only says what the values are.
 */
#include "ir_int.h"

#include <string.h>

static int64_t ravel(const int64_t *coords, const int64_t *strides, uint32_t rank) {
    int64_t i = 0;
    for (uint32_t k = 0; k < rank; k++) i += coords[k] * strides[k];
    return i;
}

/* out = x with the result shape; row-major order kept, so the data is copied as is. */
bool ir_interp_reshape(const IrInterpCall *c) {
    memcpy(c->out->data, c->args[0]->data, (size_t)ir_type_numel(&c->out->type) * sizeof(double));
    return true;
}

/* out[o_0, .., o_{r-1}] = x[i] with i[perm[k]] = o_k  (so out.dims[k] = x.dims[perm[k]]) */
bool ir_interp_permute(const IrInterpCall *c) {
    const IrValue *x = c->args[0];
    const IrInts *perm = &c->node->attrs.permute.perm;
    int64_t xs[IR_MAX_RANK], o[IR_MAX_RANK], xi[IR_MAX_RANK];
    ir_type_strides(&x->type, xs);
    int64_t n = ir_type_numel(&c->out->type);
    for (int64_t e = 0; e < n; e++) {
        ir_type_unravel(&c->out->type, e, o);
        for (uint32_t k = 0; k < perm->n; k++) xi[perm->v[k]] = o[k];
        c->out->data[e] = x->data[ravel(xi, xs, x->type.rank)];
    }
    return true;
}

/* out[o] = x[i] with i_k = (x.dims[k] == 1 ? 0 : o[dims[k]]): operand axis k maps to
 * result axis dims[k]; result axes no operand axis maps to, and operand axes of size 1,
 * repeat. */
bool ir_interp_broadcast(const IrInterpCall *c) {
    const IrValue *x = c->args[0];
    const IrInts *map = &c->node->attrs.broadcast.dims;
    int64_t xs[IR_MAX_RANK], o[IR_MAX_RANK], xi[IR_MAX_RANK];
    ir_type_strides(&x->type, xs);
    int64_t n = ir_type_numel(&c->out->type);
    for (int64_t e = 0; e < n; e++) {
        ir_type_unravel(&c->out->type, e, o);
        for (uint32_t k = 0; k < x->type.rank; k++) xi[k] = x->type.dims[k] == 1 ? 0 : o[map->v[k]];
        c->out->data[e] = x->data[ravel(xi, xs, x->type.rank)];
    }
    return true;
}

/* out[o] = x[start + o * step] per axis (step list empty = all 1; start <= . < end). */
bool ir_interp_slice(const IrInterpCall *c) {
    const IrValue *x = c->args[0];
    const IrInts *start = &c->node->attrs.slice.start, *step = &c->node->attrs.slice.step;
    int64_t xs[IR_MAX_RANK], o[IR_MAX_RANK], xi[IR_MAX_RANK];
    ir_type_strides(&x->type, xs);
    int64_t n = ir_type_numel(&c->out->type);
    for (int64_t e = 0; e < n; e++) {
        ir_type_unravel(&c->out->type, e, o);
        for (uint32_t k = 0; k < x->type.rank; k++) xi[k] = start->v[k] + o[k] * (step->n ? step->v[k] : 1);
        c->out->data[e] = x->data[ravel(xi, xs, x->type.rank)];
    }
    return true;
}

/* out = operands joined along `axis`: along that axis, operand 0's positions come first,
 * then operand 1's, and so on. Viewed as [outer, d_k, inner], each outer row of the
 * result is the operands' rows one after another. */
bool ir_interp_concat(const IrInterpCall *c) {
    const IrType *to = &c->out->type;
    int64_t axis = c->node->attrs.axis.axis;
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < axis; i++) outer *= to->dims[i];
    for (uint32_t i = (uint32_t)axis + 1; i < to->rank; i++) inner *= to->dims[i];
    double *dst = c->out->data;
    for (int64_t o = 0; o < outer; o++)
        for (uint32_t k = 0; k < c->node->n_operands; k++) {
            const IrValue *x = c->args[k];
            int64_t row = x->type.dims[axis] * inner;
            memcpy(dst, x->data + o * row, (size_t)row * sizeof(double));
            dst += row;
        }
    return true;
}
