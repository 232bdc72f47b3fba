/* ir/interp_reduce.c — the interpreter's reductions (reduce_sum, reduce_max over one axis)
 * and the one contraction, matmul (a sum over k).
 *
 * Order is part of the contract, because the oracle must be reproducible and simple to
 * state: sums run left to right (index 0 first) in double, matmul accumulates in k order
 * in double, and only the finished value is rounded (by the driver). i32 sums wrap
 * modulo 2^32 (ir_interp_accum), exactly, whatever the length.
 *
 * Deliberately not here: pairwise or Kahan summation, blocking, or any order that a
 * faster kernel might pick; those are tested against this, not the other way round.
 */
#include "ir_int.h"

#include <math.h>

/* The operand viewed as [outer, len, inner] around `axis`; the result (with or without
 * keepdims, same layout) is [outer, inner]. */
typedef struct ReduceShape {
    int64_t outer, len, inner;
} ReduceShape;

static ReduceShape reduce_shape(const IrType *x, int64_t axis) {
    ReduceShape s = {1, x->dims[axis], 1};
    for (int64_t i = 0; i < axis; i++) s.outer *= x->dims[i];
    for (uint32_t i = (uint32_t)axis + 1; i < x->rank; i++) s.inner *= x->dims[i];
    return s;
}

/* out[o, j] = x[o, 0, j] + x[o, 1, j] + ... + x[o, len-1, j], left to right, in double
 * (i32: wrapping). keepdims keeps the reduced axis with size 1. */
bool ir_interp_reduce_sum(const IrInterpCall *c) {
    const IrValue *x = c->args[0];
    IrDtype dt = x->type.dtype;
    ReduceShape s = reduce_shape(&x->type, c->node->attrs.reduce.axis);
    for (int64_t o = 0; o < s.outer; o++)
        for (int64_t j = 0; j < s.inner; j++) {
            const double *p = x->data + o * s.len * s.inner + j;
            double acc = p[0]; /* a one-element sum is that element, -0 included */
            for (int64_t i = 1; i < s.len; i++) acc = ir_interp_accum(dt, acc, p[i * s.inner]);
            c->out->data[o * s.inner + j] = acc;
        }
    return true;
}

/* out[o, j] = max_i x[o, i, j]; nan if any is nan. Equal values are indistinguishable
 * except +-0: the first one (lowest i) wins, since a later one is not strictly greater. */
bool ir_interp_reduce_max(const IrInterpCall *c) {
    const IrValue *x = c->args[0];
    ReduceShape s = reduce_shape(&x->type, c->node->attrs.reduce.axis);
    for (int64_t o = 0; o < s.outer; o++)
        for (int64_t j = 0; j < s.inner; j++) {
            const double *p = x->data + o * s.len * s.inner + j;
            double m = p[0];
            for (int64_t i = 1; i < s.len && !isnan(m); i++) {
                double v = p[i * s.inner];
                if (isnan(v) || v > m) m = v;
            }
            c->out->data[o * s.inner + j] = m;
        }
    return true;
}

/* out[b, m, n] = sum_k A[b, m, k] * B[b, k, n], k = 0, 1, ... in order, in double.
 *   A = x, or x with its last two axes swapped when ta; B = y, or swapped when tb.
 *   A rank-2 operand is shared by every batch of the other; two batched operands have
 *   equal batch dims (the shape rule checked). Batch b is the row-major index over the
 *   result's leading dims. */
bool ir_interp_matmul(const IrInterpCall *c) {
    const IrValue *x = c->args[0], *y = c->args[1];
    const IrType *tx = &x->type, *ty = &y->type, *to = &c->out->type;
    bool ta = c->node->attrs.matmul.ta, tb = c->node->attrs.matmul.tb;
    int64_t M = to->dims[to->rank - 2], N = to->dims[to->rank - 1];
    int64_t K = tx->dims[tx->rank - (ta ? 2 : 1)];
    int64_t batches = ir_type_numel(to) / (M * N);
    for (int64_t b = 0; b < batches; b++) {
        const double *a = x->data + (tx->rank > 2 ? b * M * K : 0); /* stored [M,K], or [K,M] if ta */
        const double *w = y->data + (ty->rank > 2 ? b * K * N : 0); /* stored [K,N], or [N,K] if tb */
        double *o = c->out->data + b * M * N;                        /* [M,N] */
        for (int64_t m = 0; m < M; m++)
            for (int64_t n = 0; n < N; n++) {
                double acc = 0.0;
                for (int64_t k = 0; k < K; k++) {
                    double av = ta ? a[k * M + m] : a[m * K + k];
                    double bv = tb ? w[n * K + k] : w[k * N + n];
                    acc += av * bv;
                }
                o[m * N + n] = acc;
            }
    }
    return true;
}
