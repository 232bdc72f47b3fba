/* ir/interp_collective.c — collectives across the simulated ranks: all_gather,
 * reduce_scatter, all_reduce, all_to_all.
 *
 * The driver runs a collective node on every rank before moving on and hands each call
 * every rank's operand 0 in c->peers[0..ranks). A node's `ranks` attribute must equal the
 * simulated world size (a graph sharded for 4 ranks cannot run on 2).
 *
 * Reductions over ranks follow one fixed pairwise tree, level by level in rank order:
 *   4 ranks: ((v0 + v1) + (v2 + v3));  3 ranks: ((v0 + v1) + v2);
 *   5 ranks: (((v0 + v1) + (v2 + v3)) + v4)
 * and for an f32 node in f32 mode every pairwise sum is rounded to float, as ranks that
 * exchange f32 buffers would — so this simulation and a real MPI run agree bit for bit.
 * The runtime's MPI collectives must implement the same tree (never MPI's own order).
 *
 * Deliberately not here: communication, overlap or buffering; each rank's result is
 * recomputed from all operands, slowly and plainly.
 */
#include "ir_int.h"

#include <math.h>
#include <stdlib.h>

static bool check_ranks(const IrInterpCall *c) {
    if (c->node->attrs.coll.ranks != (int64_t)c->ranks) {
        llmc_err_set(c->err, "the node is for %lld ranks but the interpreter simulates %u",
                     (long long)c->node->attrs.coll.ranks, c->ranks);
        return false;
    }
    return true;
}

static int64_t ravel(const int64_t *coords, const int64_t *strides, uint32_t rank) {
    int64_t i = 0;
    for (uint32_t k = 0; k < rank; k++) i += coords[k] * strides[k];
    return i;
}

/* One pairwise step of the reduction tree, in the node's arithmetic. */
static double combine(const IrInterpCall *c, double a, double b) {
    IrDtype dt = c->out->type.dtype;
    IrReduceKind kind = c->node->attrs.coll.reduce;
    switch (kind) {
    case IR_REDUCE_SUM: {
        double s = ir_interp_accum(dt, a, b);
        return dt == IR_DTYPE_F32 && c->precision == IR_PRECISION_F32 ? (double)(float)s : s;
    }
    case IR_REDUCE_MAX:
        if (isnan(a)) return a;
        if (isnan(b)) return b;
        return a >= b ? a : b;
    case IR_REDUCE_INVALID:
    case IR_REDUCE_COUNT: break;
    }
    LLMC_ASSERT(!"collective: invalid reduce kind");
    return 0;
}

/* reduce over ranks of peers[r][i], by the tree in the banner; buf has room for ranks. */
static double tree_reduce(const IrInterpCall *c, int64_t i, double *buf) {
    uint32_t n = c->ranks;
    for (uint32_t r = 0; r < n; r++) buf[r] = c->peers[r]->data[i];
    while (n > 1) {
        for (uint32_t j = 0; j < n / 2; j++) buf[j] = combine(c, buf[2 * j], buf[2 * j + 1]);
        if (n % 2) buf[n / 2] = buf[n - 1]; /* the odd one out moves up a level unchanged */
        n = (n + 1) / 2;
    }
    return buf[0];
}

/* out = concat over ranks r (in rank order) of x_r along `axis`:
 *   out[.., r * d + i, ..] = x_r[.., i, ..], d = x.dims[axis]. */
bool ir_interp_all_gather(const IrInterpCall *c) {
    if (!check_ranks(c)) return false;
    const IrType *tx = &c->peers[0]->type;
    int64_t axis = c->node->attrs.coll.axis, d = tx->dims[axis];
    int64_t xs[IR_MAX_RANK], o[IR_MAX_RANK];
    ir_type_strides(tx, xs);
    int64_t n = ir_type_numel(&c->out->type);
    for (int64_t e = 0; e < n; e++) {
        ir_type_unravel(&c->out->type, e, o);
        int64_t src = o[axis] / d;
        o[axis] %= d;
        c->out->data[e] = c->peers[src]->data[ravel(o, xs, tx->rank)];
    }
    return true;
}

/* out = reduce_r x_r elementwise (sum or max), pairwise tree in rank order; the same
 * value on every rank. */
bool ir_interp_all_reduce(const IrInterpCall *c) {
    if (!check_ranks(c)) return false;
    double *buf = llmc_xcalloc(c->ranks, sizeof *buf);
    int64_t n = ir_type_numel(&c->out->type);
    for (int64_t e = 0; e < n; e++) c->out->data[e] = tree_reduce(c, e, buf);
    free(buf);
    return true;
}

/* out_r = block r along `axis` of (reduce_r' x_r'), the all_reduce tree:
 *   out_r[.., i, ..] = reduced[.., r * b + i, ..], b = x.dims[axis] / ranks. */
bool ir_interp_reduce_scatter(const IrInterpCall *c) {
    if (!check_ranks(c)) return false;
    const IrType *tx = &c->peers[0]->type;
    int64_t axis = c->node->attrs.coll.axis, b = c->out->type.dims[axis];
    int64_t xs[IR_MAX_RANK], o[IR_MAX_RANK];
    ir_type_strides(tx, xs);
    double *buf = llmc_xcalloc(c->ranks, sizeof *buf);
    int64_t n = ir_type_numel(&c->out->type);
    for (int64_t e = 0; e < n; e++) {
        ir_type_unravel(&c->out->type, e, o);
        o[axis] += (int64_t)c->rank * b;
        c->out->data[e] = tree_reduce(c, ravel(o, xs, tx->rank), buf);
    }
    free(buf);
    return true;
}

/* Rank s sends block j (along split_axis, size b = x.dims[split] / ranks) to rank j;
 * rank r joins what it received along concat_axis in source-rank order:
 *   out_r = concat_{s = 0..ranks-1} (block r of x_s along split_axis) along concat_axis
 * i.e. out_r[o] = x_s[o'] with s = o[cat] / B, o'[cat] = o[cat] % B, then
 * o'[split] += r * b, where B is a received block's size along concat_axis. */
bool ir_interp_all_to_all(const IrInterpCall *c) {
    if (!check_ranks(c)) return false;
    const IrType *tx = &c->peers[0]->type;
    int64_t split = c->node->attrs.coll.axis, cat = c->node->attrs.coll.concat_axis;
    int64_t b = tx->dims[split] / (int64_t)c->ranks;
    int64_t B = split == cat ? b : tx->dims[cat];
    int64_t xs[IR_MAX_RANK], o[IR_MAX_RANK];
    ir_type_strides(tx, xs);
    int64_t n = ir_type_numel(&c->out->type);
    for (int64_t e = 0; e < n; e++) {
        ir_type_unravel(&c->out->type, e, o);
        int64_t src = o[cat] / B;
        o[cat] %= B;
        o[split] += (int64_t)c->rank * b;
        c->out->data[e] = c->peers[src]->data[ravel(o, xs, tx->rank)];
    }
    return true;
}
