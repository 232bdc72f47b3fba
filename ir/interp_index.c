/* ir/interp_index.c — the interpreter's indexing ops: gather, scatter_add, topk, iota,
 * onehot, cumsum.
 *
 * Indices are i32 values held exactly in double. gather and scatter_add check every
 * index before touching data and report the first bad one in row-major order of the
 * index tensor; onehot deliberately does not (an index outside [0, depth) is a zero row:
 * that is how cross-entropy ignores padding). Accumulations (scatter_add, cumsum) run in
 * element order in double, or wrapping exactly for i32.
 *
 * Deliberately not here: sorting networks, partial sorts or anything clever in topk;
 * an insertion into a k-long list is obviously right.
 */
#include "ir_int.h"

#include <math.h>
#include <stdlib.h>

/* --- gather / scatter_add ------------------------------------------------------------ */

/* Every index must lie in [0, limit). */
static bool check_indices(const IrInterpCall *c, const IrValue *idx, int64_t limit) {
    int64_t n = ir_type_numel(&idx->type);
    for (int64_t i = 0; i < n; i++) {
        double v = idx->data[i];
        if (!(v >= 0 && v < (double)limit)) {
            llmc_err_set(c->err, "index %.17g out of range [0, %lld) at element %lld", v, (long long)limit,
                         (long long)i);
            return false;
        }
    }
    return true;
}

/* The TF-style gather map shared by gather and its transpose. `table` is gather's x (or
 * scatter_add's result), `g` a coordinate in the gathered shape
 *   [table.dims[0..axis), idx.dims[bd..Q), table.dims[axis+1..R)].
 * Returns the flat position in `table` that g reads (gather) or adds to (scatter_add):
 *   table[g[0..axis), idx[g[0..bd), g[axis..axis+Q-bd)], g[axis+Q-bd..]]. */
static int64_t gather_source(const IrType *table, const IrValue *idx, int64_t axis, int64_t bd, const int64_t *g) {
    int64_t ts[IR_MAX_RANK], is[IR_MAX_RANK];
    ir_type_strides(table, ts);
    ir_type_strides(&idx->type, is);
    int64_t q = (int64_t)idx->type.rank;
    int64_t ii = 0;
    for (int64_t k = 0; k < bd; k++) ii += g[k] * is[k];
    for (int64_t k = bd; k < q; k++) ii += g[axis + k - bd] * is[k];
    int64_t j = (int64_t)idx->data[ii];
    int64_t ti = j * ts[axis];
    for (int64_t k = 0; k < axis; k++) ti += g[k] * ts[k];
    for (int64_t k = axis + 1; k < (int64_t)table->rank; k++) ti += g[k - 1 + q - bd] * ts[k];
    return ti;
}

/* out[g] = x[b.., idx[b.., j..], rest..] at `axis`, with b the first batch_dims axes
 * shared by x and idx (TF gather with batch_dims). An index < 0 or >= x.dims[axis] is an
 * error naming the index, the range and its element in idx. */
bool ir_interp_gather(const IrInterpCall *c) {
    const IrValue *x = c->args[0], *idx = c->args[1];
    int64_t axis = c->node->attrs.gather.axis, bd = c->node->attrs.gather.batch_dims;
    if (!check_indices(c, idx, x->type.dims[axis])) return false;
    int64_t g[IR_MAX_RANK];
    int64_t n = ir_type_numel(&c->out->type);
    for (int64_t e = 0; e < n; e++) {
        ir_type_unravel(&c->out->type, e, g);
        c->out->data[e] = x->data[gather_source(&x->type, idx, axis, bd, g)];
    }
    return true;
}

/* out = zeros of the result type; then for every element g of upd in row-major order:
 *   out[b.., idx[b.., j..], rest..] += upd[g]
 * (gather's transpose; the same index check against out.dims[axis]). */
bool ir_interp_scatter_add(const IrInterpCall *c) {
    const IrValue *idx = c->args[0], *upd = c->args[1];
    const IrType *to = &c->out->type;
    int64_t axis = c->node->attrs.gather.axis, bd = c->node->attrs.gather.batch_dims;
    if (!check_indices(c, idx, to->dims[axis])) return false;
    int64_t g[IR_MAX_RANK];
    int64_t n = ir_type_numel(&upd->type);
    for (int64_t e = 0; e < n; e++) {
        ir_type_unravel(&upd->type, e, g);
        int64_t t = gather_source(to, idx, axis, bd, g);
        c->out->data[t] = ir_interp_accum(to->dtype, c->out->data[t], upd->data[e]);
    }
    return true;
}

/* --- topk ---------------------------------------------------------------------------- */

/* The order topk ranks by: a before b when a is larger; nan counts as larger than every
 * number (so a nan logit is never silently skipped); two nans, or equal numbers (-0 and
 * +0 included), tie. */
static bool ranks_before(double a, double b) {
    if (isnan(b)) return false;
    if (isnan(a)) return true;
    return a > b;
}

/* out[.., r] = the index of the r-th largest x[.., i] along the last axis, r < k,
 * descending; ties keep the lower index first; nan is larger than everything. i32. */
bool ir_interp_topk(const IrInterpCall *c) {
    const IrValue *x = c->args[0];
    int64_t n = x->type.dims[x->type.rank - 1], k = c->node->attrs.topk.k;
    int64_t rows = ir_type_numel(&x->type) / n;
    int64_t *best = llmc_xcalloc((size_t)k, sizeof *best); /* indices, best first */
    for (int64_t row = 0; row < rows; row++) {
        const double *v = x->data + row * n;
        int64_t len = 0;
        /* Scanning i upward, a newcomer goes after every kept entry it does not strictly
         * beat, which puts ties in index order. */
        for (int64_t i = 0; i < n; i++) {
            int64_t pos = len;
            while (pos > 0 && ranks_before(v[i], v[best[pos - 1]])) pos--;
            if (pos >= k) continue;
            int64_t last = len < k ? len : k - 1;
            for (int64_t p = last; p > pos; p--) best[p] = best[p - 1];
            best[pos] = i;
            if (len < k) len++;
        }
        for (int64_t r = 0; r < k; r++) c->out->data[row * k + r] = (double)best[r];
    }
    free(best);
    return true;
}

/* --- iota, onehot, cumsum ------------------------------------------------------------ */

/* out[..., i, ...] = i, the coordinate along `axis`, in the node's dtype. */
bool ir_interp_iota(const IrInterpCall *c) {
    const IrType *t = &c->out->type;
    int64_t s[IR_MAX_RANK];
    ir_type_strides(t, s);
    int64_t axis = c->node->attrs.axis.axis;
    int64_t n = ir_type_numel(t);
    for (int64_t e = 0; e < n; e++) c->out->data[e] = (double)((e / s[axis]) % t->dims[axis]);
    return true;
}

/* out[.., j] = idx[..] == j ? 1 : 0 for j < depth; an index outside [0, depth) gives a
 * zero row, by design (no error). */
bool ir_interp_onehot(const IrInterpCall *c) {
    const IrValue *idx = c->args[0];
    int64_t depth = c->out->type.dims[c->out->type.rank - 1];
    int64_t n = ir_type_numel(&idx->type);
    for (int64_t i = 0; i < n; i++) {
        double v = idx->data[i];
        if (v >= 0 && v < (double)depth) c->out->data[i * depth + (int64_t)v] = 1.0;
    }
    return true;
}

/* Along `axis`, visiting positions in order p = 0..len-1 (reverse: len-1..0):
 *   inclusive: out[p] = sum of x over the positions visited up to and including p;
 *   exclusive: the same without p itself (the first visited is 0).
 * Summed in visiting order, in double (i32: wrapping). */
bool ir_interp_cumsum(const IrInterpCall *c) {
    const IrValue *x = c->args[0];
    const IrType *t = &x->type;
    int64_t axis = c->node->attrs.cumsum.axis;
    bool exclusive = c->node->attrs.cumsum.exclusive, reverse = c->node->attrs.cumsum.reverse;
    int64_t outer = 1, len = t->dims[axis], inner = 1;
    for (int64_t i = 0; i < axis; i++) outer *= t->dims[i];
    for (uint32_t i = (uint32_t)axis + 1; i < t->rank; i++) inner *= t->dims[i];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < inner; j++) {
            const double *src = x->data + o * len * inner + j;
            double *dst = c->out->data + o * len * inner + j;
            double acc = 0.0;
            bool empty = true; /* a one-term sum is that term (keeps -0) */
            for (int64_t q = 0; q < len; q++) {
                int64_t p = reverse ? len - 1 - q : q;
                double v = src[p * inner];
                if (exclusive) dst[p * inner] = acc;
                acc = empty ? v : ir_interp_accum(t->dtype, acc, v);
                empty = false;
                if (!exclusive) dst[p * inner] = acc;
            }
        }
    return true;
}
