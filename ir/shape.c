/* ir/shape.c — shape rules: the result type of every op from its operands, attributes
 * and (for hinted ops) the requested type; and the checks of attribute ranges.
 *
 * One function per rule family named in ops.def (ir_shape_<family>). The builder runs
 * them to type new nodes and the verifier re-runs them to judge a parsed graph, so a
 * rule is the one place an op's typing lives. Messages name the op and the shapes.
 * Rules assume operand ids are valid; ir_infer_type checks that first. Deliberately not
 * here: SSA order, names and whole-graph checks (verify.c).
 */
#include "ir_int.h"

#include <math.h>
#include <string.h>

#define MAX_NUMEL ((int64_t)1 << 40)

const IrShapeFn ir_shape_table[IR_OP_COUNT] = {
#define IR_OP(ENUM, mn, arity, kind, traits, attrs, shape, flops) [IR_OP_##ENUM] = ir_shape_##shape,
#include "ops.def"
#undef IR_OP
};

static const IrType *operand_type(const IrGraph *g, const IrNode *n, uint32_t i) {
    return &g->nodes[n->operands[i]].type;
}

static const char *op_name(const IrNode *n) { return ir_op_name(n->op); }

/* Type text into a caller buffer, for messages. */
#define TSTR(t, buf) ir_type_format((t), (buf), sizeof(buf))

static bool check_axis(const IrNode *n, const char *what, int64_t axis, uint32_t rank, LlmcErr *err) {
    if (axis < 0 || axis >= (int64_t)rank) {
        llmc_err_set(err, "%s: %s %lld is out of range for rank %u", op_name(n), what, (long long)axis, rank);
        return false;
    }
    return true;
}

static bool check_float(const IrNode *n, const IrType *t, LlmcErr *err) {
    if (!ir_dtype_is_float(t->dtype)) {
        char b[IR_TYPE_STR_MAX];
        llmc_err_set(err, "%s: needs a float operand, got %s", op_name(n), TSTR(t, b));
        return false;
    }
    return true;
}

/* A result type must be well formed: a dtype, rank <= 8, every dim >= 1, sane size. */
static bool check_result(const IrNode *n, const IrType *t, LlmcErr *err) {
    if (t->dtype <= IR_DTYPE_INVALID || t->dtype >= IR_DTYPE_COUNT) {
        llmc_err_set(err, "%s: result has no valid dtype", op_name(n));
        return false;
    }
    if (t->rank > IR_MAX_RANK) {
        llmc_err_set(err, "%s: result rank %u exceeds %d", op_name(n), t->rank, IR_MAX_RANK);
        return false;
    }
    int64_t numel = 1;
    for (uint32_t i = 0; i < t->rank; i++) {
        if (t->dims[i] < 1) {
            llmc_err_set(err, "%s: dimension %u is %lld; every dimension must be >= 1", op_name(n), i,
                         (long long)t->dims[i]);
            return false;
        }
        if (t->dims[i] > MAX_NUMEL || numel > MAX_NUMEL / t->dims[i]) {
            llmc_err_set(err, "%s: result has more than 2^40 elements", op_name(n));
            return false;
        }
        numel *= t->dims[i];
    }
    return true;
}

/* --- rule families ------------------------------------------------------------------- */

/* Sources and calls take their result type from the request (n->type). */
static bool hinted_type(const IrNode *n, IrType *out, LlmcErr *err) {
    *out = n->type;
    return check_result(n, out, err);
}

bool ir_shape_input(const IrGraph *g, const IrNode *n, IrType *out, LlmcErr *err) {
    if (!hinted_type(n, out, err)) return false;
    if (n->attrs.input.name == 0) {
        llmc_err_set(err, "input: needs a non-empty name");
        return false;
    }
    return true;
}

bool ir_shape_const(const IrGraph *g, const IrNode *n, IrType *out, LlmcErr *err) {
    if (!hinted_type(n, out, err)) return false;
    const IrData *d = &n->attrs.constant.value;
    int64_t numel = ir_type_numel(out);
    if (!d->bytes || (d->count != 1 && d->count != (uint64_t)numel)) {
        char b[IR_TYPE_STR_MAX];
        llmc_err_set(err, "const: %llu values for %s; give 1 (splat) or %lld", (unsigned long long)d->count,
                     TSTR(out, b), (long long)numel);
        return false;
    }
    return true;
}

bool ir_shape_iota(const IrGraph *g, const IrNode *n, IrType *out, LlmcErr *err) {
    return hinted_type(n, out, err) && check_axis(n, "axis", n->attrs.axis.axis, out->rank, err);
}

bool ir_shape_extern_call(const IrGraph *g, const IrNode *n, IrType *out, LlmcErr *err) {
    if (!hinted_type(n, out, err)) return false;
    if (n->attrs.extern_call.symbol == 0) {
        llmc_err_set(err, "extern_call: needs a symbol");
        return false;
    }
    return true;
}

bool ir_shape_unary(const IrGraph *g, const IrNode *n, IrType *out, LlmcErr *err) {
    const IrType *x = operand_type(g, n, 0);
    if ((ir_op_info(n->op)->traits & IR_TRAIT_FLOAT_ONLY) && !check_float(n, x, err)) return false;
    *out = *x;
    return true;
}

bool ir_shape_cast(const IrGraph *g, const IrNode *n, IrType *out, LlmcErr *err) {
    const IrType *x = operand_type(g, n, 0);
    if (n->type.dtype == IR_DTYPE_INVALID) {
        llmc_err_set(err, "cast: needs a result dtype");
        return false;
    }
    if (n->type.rank != 0 || x->rank != 0) {
        /* A hint with a shape must keep the operand's shape. */
        if (n->type.rank != x->rank || !ir_type_same_shape(&n->type, x)) {
            char a[IR_TYPE_STR_MAX], b[IR_TYPE_STR_MAX];
            llmc_err_set(err, "cast: result %s must have the shape of operand %s", TSTR(&n->type, a), TSTR(x, b));
            return false;
        }
    }
    *out = *x;
    out->dtype = n->type.dtype;
    return true;
}

bool ir_shape_binary(const IrGraph *g, const IrNode *n, IrType *out, LlmcErr *err) {
    const IrType *x = operand_type(g, n, 0), *y = operand_type(g, n, 1);
    if (!ir_type_equal(x, y)) {
        char a[IR_TYPE_STR_MAX], b[IR_TYPE_STR_MAX];
        llmc_err_set(err, "%s: operand types %s and %s differ (broadcasting is explicit: use broadcast)",
                     op_name(n), TSTR(x, a), TSTR(y, b));
        return false;
    }
    if ((ir_op_info(n->op)->traits & IR_TRAIT_FLOAT_ONLY) && !check_float(n, x, err)) return false;
    *out = *x;
    return true;
}

bool ir_shape_select(const IrGraph *g, const IrNode *n, IrType *out, LlmcErr *err) {
    const IrType *c = operand_type(g, n, 0), *x = operand_type(g, n, 1), *y = operand_type(g, n, 2);
    char a[IR_TYPE_STR_MAX], b[IR_TYPE_STR_MAX];
    if (!ir_type_equal(x, y)) {
        llmc_err_set(err, "select: value types %s and %s differ", TSTR(x, a), TSTR(y, b));
        return false;
    }
    if (!ir_type_same_shape(c, x)) {
        llmc_err_set(err, "select: condition %s and values %s differ in shape", TSTR(c, a), TSTR(x, b));
        return false;
    }
    *out = *x;
    return true;
}

bool ir_shape_reduce(const IrGraph *g, const IrNode *n, IrType *out, LlmcErr *err) {
    const IrType *x = operand_type(g, n, 0);
    int64_t axis = n->attrs.reduce.axis;
    if (!check_axis(n, "axis", axis, x->rank, err)) return false;
    *out = *x;
    if (n->attrs.reduce.keepdims) {
        out->dims[axis] = 1;
    } else {
        for (uint32_t i = (uint32_t)axis; i + 1 < x->rank; i++) out->dims[i] = x->dims[i + 1];
        out->dims[--out->rank] = 0;
    }
    return true;
}

bool ir_shape_reshape(const IrGraph *g, const IrNode *n, IrType *out, LlmcErr *err) {
    const IrType *x = operand_type(g, n, 0);
    *out = n->type;
    if (out->dtype == IR_DTYPE_INVALID) out->dtype = x->dtype;
    if (!check_result(n, out, err)) return false;
    char a[IR_TYPE_STR_MAX], b[IR_TYPE_STR_MAX];
    if (out->dtype != x->dtype || ir_type_numel(out) != ir_type_numel(x)) {
        llmc_err_set(err, "reshape: cannot reshape %s to %s", TSTR(x, a), TSTR(out, b));
        return false;
    }
    return true;
}

bool ir_shape_permute(const IrGraph *g, const IrNode *n, IrType *out, LlmcErr *err) {
    const IrType *x = operand_type(g, n, 0);
    const IrInts *p = &n->attrs.permute.perm;
    char a[IR_TYPE_STR_MAX];
    if (p->n != x->rank) {
        llmc_err_set(err, "permute: perm has %u entries for operand %s", p->n, TSTR(x, a));
        return false;
    }
    bool seen[IR_MAX_RANK] = {false};
    *out = *x;
    for (uint32_t i = 0; i < p->n; i++) {
        if (p->v[i] < 0 || p->v[i] >= (int64_t)x->rank || seen[p->v[i]]) {
            llmc_err_set(err, "permute: perm is not a permutation of 0..%u", x->rank ? x->rank - 1 : 0);
            return false;
        }
        seen[p->v[i]] = true;
        out->dims[i] = x->dims[p->v[i]];
    }
    return true;
}

bool ir_shape_broadcast(const IrGraph *g, const IrNode *n, IrType *out, LlmcErr *err) {
    const IrType *x = operand_type(g, n, 0);
    const IrInts *m = &n->attrs.broadcast.dims;
    *out = n->type;
    if (out->dtype == IR_DTYPE_INVALID) out->dtype = x->dtype;
    if (!check_result(n, out, err)) return false;
    char a[IR_TYPE_STR_MAX], b[IR_TYPE_STR_MAX];
    if (out->dtype != x->dtype) {
        llmc_err_set(err, "broadcast: cannot change dtype from %s to %s", TSTR(x, a), TSTR(out, b));
        return false;
    }
    if (m->n != x->rank) {
        llmc_err_set(err, "broadcast: dims has %u entries for operand %s", m->n, TSTR(x, a));
        return false;
    }
    for (uint32_t i = 0; i < m->n; i++) {
        if (m->v[i] < 0 || m->v[i] >= (int64_t)out->rank || (i > 0 && m->v[i] <= m->v[i - 1])) {
            llmc_err_set(err, "broadcast: dims must be increasing result axes below %u", out->rank);
            return false;
        }
        if (x->dims[i] != 1 && x->dims[i] != out->dims[m->v[i]]) {
            llmc_err_set(err, "broadcast: cannot broadcast %s to %s (axis %u -> %lld)", TSTR(x, a), TSTR(out, b), i,
                         (long long)m->v[i]);
            return false;
        }
    }
    return true;
}

bool ir_shape_slice(const IrGraph *g, const IrNode *n, IrType *out, LlmcErr *err) {
    const IrType *x = operand_type(g, n, 0);
    const IrInts *s = &n->attrs.slice.start, *e = &n->attrs.slice.end, *st = &n->attrs.slice.step;
    char a[IR_TYPE_STR_MAX];
    if (s->n != x->rank || e->n != x->rank || (st->n != 0 && st->n != x->rank)) {
        llmc_err_set(err, "slice: start, end and step need %u entries for operand %s", x->rank, TSTR(x, a));
        return false;
    }
    *out = *x;
    for (uint32_t i = 0; i < x->rank; i++) {
        int64_t step = st->n ? st->v[i] : 1;
        if (step < 1 || s->v[i] < 0 || s->v[i] >= e->v[i] || e->v[i] > x->dims[i]) {
            llmc_err_set(err, "slice: axis %u range [%lld, %lld) step %lld is out of bounds for %s", i,
                         (long long)s->v[i], (long long)e->v[i], (long long)step, TSTR(x, a));
            return false;
        }
        out->dims[i] = (e->v[i] - s->v[i] + step - 1) / step;
    }
    return true;
}

bool ir_shape_concat(const IrGraph *g, const IrNode *n, IrType *out, LlmcErr *err) {
    if (n->n_operands < 1) {
        llmc_err_set(err, "concat: needs at least one operand");
        return false;
    }
    const IrType *x0 = operand_type(g, n, 0);
    int64_t axis = n->attrs.axis.axis;
    if (!check_axis(n, "axis", axis, x0->rank, err)) return false;
    *out = *x0;
    for (uint32_t k = 1; k < n->n_operands; k++) {
        const IrType *xk = operand_type(g, n, k);
        bool ok = xk->dtype == x0->dtype && xk->rank == x0->rank;
        for (uint32_t i = 0; ok && i < x0->rank; i++)
            if ((int64_t)i != axis && xk->dims[i] != x0->dims[i]) ok = false;
        if (!ok) {
            char a[IR_TYPE_STR_MAX], b[IR_TYPE_STR_MAX];
            llmc_err_set(err, "concat: operand %u %s does not match %s outside axis %lld", k, TSTR(xk, a),
                         TSTR(x0, b), (long long)axis);
            return false;
        }
        out->dims[axis] += xk->dims[axis];
    }
    return check_result(n, out, err);
}

bool ir_shape_matmul(const IrGraph *g, const IrNode *n, IrType *out, LlmcErr *err) {
    const IrType *x = operand_type(g, n, 0), *y = operand_type(g, n, 1);
    char a[IR_TYPE_STR_MAX], b[IR_TYPE_STR_MAX];
    if (x->rank < 2 || y->rank < 2 || x->dtype != y->dtype || !ir_dtype_is_float(x->dtype)) {
        llmc_err_set(err, "matmul: needs float operands of rank >= 2 and one dtype, got %s and %s", TSTR(x, a),
                     TSTR(y, b));
        return false;
    }
    if (x->rank > 2 && y->rank > 2) {
        bool ok = x->rank == y->rank;
        for (uint32_t i = 0; ok && i + 2 < x->rank; i++) ok = x->dims[i] == y->dims[i];
        if (!ok) {
            llmc_err_set(err, "matmul: batch dimensions of %s and %s differ", TSTR(x, a), TSTR(y, b));
            return false;
        }
    }
    bool ta = n->attrs.matmul.ta, tb = n->attrs.matmul.tb;
    int64_t m = x->dims[x->rank - (ta ? 1 : 2)], kx = x->dims[x->rank - (ta ? 2 : 1)];
    int64_t ky = y->dims[y->rank - (tb ? 1 : 2)], nn = y->dims[y->rank - (tb ? 2 : 1)];
    if (kx != ky) {
        llmc_err_set(err, "matmul: contraction sizes differ: %s%s has K=%lld, %s%s has K=%lld", TSTR(x, a),
                     ta ? " (ta)" : "", (long long)kx, TSTR(y, b), tb ? " (tb)" : "", (long long)ky);
        return false;
    }
    *out = x->rank >= y->rank ? *x : *y;
    out->dims[out->rank - 2] = m;
    out->dims[out->rank - 1] = nn;
    /* bf16 operands, f32 result: the products of bf16 values are exact in f32 and the
     * sum is accumulated and kept in f32, as the bf16 dot-product instructions do
     * (vdpbf16ps, tdpbf16ps). A bf16 result is a cast after it. */
    if (x->dtype == IR_DTYPE_BF16) out->dtype = IR_DTYPE_F32;
    return true;
}

/* Shared by gather and scatter_add: the gathered shape of table `x` by `idx`. */
static bool gathered_type(const IrNode *n, const IrType *x, const IrType *idx, IrType *out, LlmcErr *err) {
    int64_t axis = n->attrs.gather.axis, bd = n->attrs.gather.batch_dims;
    char a[IR_TYPE_STR_MAX], b[IR_TYPE_STR_MAX];
    if (idx->dtype != IR_DTYPE_I32) {
        llmc_err_set(err, "%s: indices must be i32, got %s", op_name(n), TSTR(idx, a));
        return false;
    }
    if (bd < 0 || bd > axis || axis >= (int64_t)x->rank || bd > (int64_t)idx->rank) {
        llmc_err_set(err, "%s: need 0 <= batch_dims (%lld) <= axis (%lld) < rank of %s and batch_dims <= rank of %s",
                     op_name(n), (long long)bd, (long long)axis, TSTR(x, a), TSTR(idx, b));
        return false;
    }
    for (int64_t i = 0; i < bd; i++)
        if (x->dims[i] != idx->dims[i]) {
            llmc_err_set(err, "%s: batch dimension %lld differs between %s and indices %s", op_name(n), (long long)i,
                         TSTR(x, a), TSTR(idx, b));
            return false;
        }
    uint32_t rank = (uint32_t)(x->rank - 1 + idx->rank - bd);
    if (rank > IR_MAX_RANK) {
        llmc_err_set(err, "%s: result rank %u exceeds %d", op_name(n), rank, IR_MAX_RANK);
        return false;
    }
    memset(out, 0, sizeof *out);
    out->dtype = x->dtype;
    for (int64_t i = 0; i < axis; i++) out->dims[out->rank++] = x->dims[i];
    for (uint32_t i = (uint32_t)bd; i < idx->rank; i++) out->dims[out->rank++] = idx->dims[i];
    for (uint32_t i = (uint32_t)axis + 1; i < x->rank; i++) out->dims[out->rank++] = x->dims[i];
    return true;
}

bool ir_shape_gather(const IrGraph *g, const IrNode *n, IrType *out, LlmcErr *err) {
    return gathered_type(n, operand_type(g, n, 0), operand_type(g, n, 1), out, err);
}

bool ir_shape_scatter(const IrGraph *g, const IrNode *n, IrType *out, LlmcErr *err) {
    const IrType *idx = operand_type(g, n, 0), *upd = operand_type(g, n, 1);
    *out = n->type;
    if (out->dtype == IR_DTYPE_INVALID) out->dtype = upd->dtype;
    if (!check_result(n, out, err)) return false;
    IrType want;
    if (!gathered_type(n, out, idx, &want, err)) return false;
    if (!ir_type_equal(&want, upd)) {
        char a[IR_TYPE_STR_MAX], b[IR_TYPE_STR_MAX];
        llmc_err_set(err, "scatter_add: updates are %s but indices into the result need %s", TSTR(upd, a),
                     TSTR(&want, b));
        return false;
    }
    return true;
}

bool ir_shape_topk(const IrGraph *g, const IrNode *n, IrType *out, LlmcErr *err) {
    const IrType *x = operand_type(g, n, 0);
    char a[IR_TYPE_STR_MAX];
    if (x->rank < 1 || n->attrs.topk.k < 1 || n->attrs.topk.k > x->dims[x->rank - 1]) {
        llmc_err_set(err, "topk: k=%lld is out of range for %s", (long long)n->attrs.topk.k, TSTR(x, a));
        return false;
    }
    *out = *x;
    out->dtype = IR_DTYPE_I32;
    out->dims[x->rank - 1] = n->attrs.topk.k;
    return true;
}

bool ir_shape_onehot(const IrGraph *g, const IrNode *n, IrType *out, LlmcErr *err) {
    const IrType *idx = operand_type(g, n, 0);
    *out = n->type;
    if (!check_result(n, out, err)) return false;
    char a[IR_TYPE_STR_MAX], b[IR_TYPE_STR_MAX];
    bool ok = idx->dtype == IR_DTYPE_I32 && out->rank == idx->rank + 1;
    for (uint32_t i = 0; ok && i < idx->rank; i++) ok = out->dims[i] == idx->dims[i];
    if (!ok) {
        llmc_err_set(err, "onehot: result %s must be the i32 indices' shape %s plus a depth axis", TSTR(out, a),
                     TSTR(idx, b));
        return false;
    }
    return true;
}

bool ir_shape_cumsum(const IrGraph *g, const IrNode *n, IrType *out, LlmcErr *err) {
    const IrType *x = operand_type(g, n, 0);
    *out = *x;
    return check_axis(n, "axis", n->attrs.cumsum.axis, x->rank, err);
}

bool ir_shape_rand(const IrGraph *g, const IrNode *n, IrType *out, LlmcErr *err) {
    for (uint32_t i = 0; i < 3; i++) {
        const IrType *k = operand_type(g, n, i);
        if (k->dtype != IR_DTYPE_I32 || k->rank != 0) {
            char a[IR_TYPE_STR_MAX];
            static const char *const what[] = {"seed", "step", "micro-batch index"};
            llmc_err_set(err, "rand: the %s must be i32[], got %s", what[i], TSTR(k, a));
            return false;
        }
    }
    *out = n->type;
    if (!check_result(n, out, err)) return false;
    if (!ir_dtype_is_float(out->dtype)) {
        llmc_err_set(err, "rand: result must have a float dtype");
        return false;
    }
    if (n->attrs.rand.site < 0 || n->attrs.rand.site > UINT32_MAX) {
        llmc_err_set(err, "rand: site %lld is out of range [0, 2^32)", (long long)n->attrs.rand.site);
        return false;
    }
    int64_t axis = n->attrs.rand.shard_axis, shards = n->attrs.rand.shards;
    if (axis == -1 ? shards != 1 : (axis < 0 || axis >= (int64_t)out->rank || shards < 1 || shards > 65536)) {
        llmc_err_set(err, "rand: shard_axis %lld with %lld shards is invalid for rank %u (shard_axis -1 means "
                     "unsharded, with shards 1)", (long long)axis, (long long)shards, out->rank);
        return false;
    }
    return true;
}

static bool check_ranks(const IrNode *n, LlmcErr *err) {
    if (n->attrs.coll.ranks < 1 || n->attrs.coll.ranks > 65536) {
        llmc_err_set(err, "%s: ranks %lld is out of range [1, 65536]", op_name(n), (long long)n->attrs.coll.ranks);
        return false;
    }
    return true;
}

bool ir_shape_all_gather(const IrGraph *g, const IrNode *n, IrType *out, LlmcErr *err) {
    const IrType *x = operand_type(g, n, 0);
    if (!check_ranks(n, err) || !check_axis(n, "axis", n->attrs.coll.axis, x->rank, err)) return false;
    *out = *x;
    out->dims[n->attrs.coll.axis] *= n->attrs.coll.ranks;
    return check_result(n, out, err);
}

static bool check_divisible(const IrNode *n, const IrType *x, int64_t axis, LlmcErr *err) {
    if (x->dims[axis] % n->attrs.coll.ranks != 0) {
        char a[IR_TYPE_STR_MAX];
        llmc_err_set(err, "%s: axis %lld of %s is not divisible by %lld ranks", op_name(n), (long long)axis,
                     TSTR(x, a), (long long)n->attrs.coll.ranks);
        return false;
    }
    return true;
}

bool ir_shape_reduce_scatter(const IrGraph *g, const IrNode *n, IrType *out, LlmcErr *err) {
    const IrType *x = operand_type(g, n, 0);
    int64_t axis = n->attrs.coll.axis;
    if (!check_ranks(n, err) || !check_axis(n, "axis", axis, x->rank, err) || !check_divisible(n, x, axis, err))
        return false;
    *out = *x;
    out->dims[axis] /= n->attrs.coll.ranks;
    return true;
}

bool ir_shape_all_to_all(const IrGraph *g, const IrNode *n, IrType *out, LlmcErr *err) {
    const IrType *x = operand_type(g, n, 0);
    int64_t split = n->attrs.coll.axis, cat = n->attrs.coll.concat_axis;
    if (!check_ranks(n, err) || !check_axis(n, "split_axis", split, x->rank, err) ||
        !check_axis(n, "concat_axis", cat, x->rank, err) || !check_divisible(n, x, split, err))
        return false;
    *out = *x;
    out->dims[split] /= n->attrs.coll.ranks;
    out->dims[cat] *= n->attrs.coll.ranks;
    return check_result(n, out, err);
}

bool ir_shape_all_reduce(const IrGraph *g, const IrNode *n, IrType *out, LlmcErr *err) {
    *out = *operand_type(g, n, 0);
    return check_ranks(n, err);
}

/* --- entry --------------------------------------------------------------------------- */

/* Enum attributes must name a value; checked generically from the schema. */
static bool check_enums(const IrNode *n, LlmcErr *err) {
    const IrAttrSchema *s = ir_op_info(n->op)->attrs;
    for (uint32_t i = 0; i < s->count; i++) {
        const IrAttrField *f = &s->fields[i];
        if (f->kind != IR_ATTR_ENUM) continue;
        int v = *(const int *)((const char *)&n->attrs + f->offset);
        int count = 0;
        while (f->enum_names[count]) count++;
        if (v < 0 || v >= count || f->enum_names[v][0] == 0) {
            llmc_err_set(err, "%s: attribute %s has invalid value %d", op_name(n), f->name, v);
            return false;
        }
    }
    return true;
}

bool ir_infer_type(const IrGraph *g, const IrNode *n, IrType *out, LlmcErr *err) {
    if (n->op <= IR_OP_INVALID || n->op >= IR_OP_COUNT) {
        llmc_err_set(err, "invalid op %d", (int)n->op);
        return false;
    }
    const IrOpInfo *info = ir_op_info(n->op);
    if (info->arity >= 0 && n->n_operands != (uint32_t)info->arity) {
        llmc_err_set(err, "%s: expects %d operand%s, got %u", info->name, info->arity, info->arity == 1 ? "" : "s",
                     n->n_operands);
        return false;
    }
    for (uint32_t i = 0; i < n->n_operands; i++)
        if (n->operands[i] >= g->n_nodes) {
            llmc_err_set(err, "%s: operand %u refers to a node that does not exist", info->name, i);
            return false;
        }
    if (!check_enums(n, err)) return false;
    memset(out, 0, sizeof *out);
    return ir_shape_table[n->op](g, n, out, err);
}

/* --- attention (ops.def: q [.., R, d], k [.., S, d], v [.., S, e]) --------------------- */

/* Checks q and k (and v, lse, dsum, dout when given: n_ops of them) against each other:
 * float, one dtype, one rank >= 2, equal leading axes, q and k of one feature size, v of
 * k's length, lse and dsum [.., R], dout [.., R, e]; causal needs R % S == 0. */
static bool attention_operands(const IrGraph *g, const IrNode *n, uint32_t n_ops, LlmcErr *err) {
    const IrType *q = operand_type(g, n, 0), *k = operand_type(g, n, 1);
    char a[IR_TYPE_STR_MAX], b[IR_TYPE_STR_MAX];
    if (q->rank < 2 || !ir_dtype_is_float(q->dtype)) {
        llmc_err_set(err, "%s: q must be a float tensor [.., R, d], got %s", op_name(n), TSTR(q, a));
        return false;
    }
    uint32_t r = q->rank;
    int64_t R = q->dims[r - 2], S = k->dims[r - 2], d = q->dims[r - 1]; /* k checked below */
    for (uint32_t i = 1; i < n_ops; i++) {
        const IrType *t = operand_type(g, n, i);
        bool rows = i == 3 || i == 4; /* lse, dsum: [.., R] */
        bool ok = t->dtype == q->dtype && t->rank == (rows ? r - 1 : r);
        for (uint32_t j = 0; ok && j + 2 < r; j++) ok = t->dims[j] == q->dims[j];
        if (ok && i == 1) ok = t->dims[r - 1] == d;
        if (ok && i == 2) ok = t->dims[r - 2] == S;
        if (ok && rows) ok = t->dims[r - 2] == R;
        if (ok && i == 5) ok = t->dims[r - 2] == R && t->dims[r - 1] == operand_type(g, n, 2)->dims[r - 1];
        if (!ok) {
            static const char *const what[6] = {"q", "k [.., S, d]", "v [.., S, e]", "lse [.., R]", "dsum [.., R]",
                                                "dout [.., R, e]"};
            llmc_err_set(err, "%s: %s does not match q %s: got %s", op_name(n), what[i], TSTR(q, a), TSTR(t, b));
            return false;
        }
    }
    if (n->attrs.attention.causal && R % S != 0) { /* dims are >= 1 */
        llmc_err_set(err, "%s: causal attention needs R (%lld rows of q) to be a multiple of S (%lld keys)",
                     op_name(n), (long long)R, (long long)S);
        return false;
    }
    if (!isfinite(n->attrs.attention.scale)) {
        llmc_err_set(err, "%s: scale must be finite, got %g", op_name(n), n->attrs.attention.scale);
        return false;
    }
    return true;
}

bool ir_shape_attention(const IrGraph *g, const IrNode *n, IrType *out, LlmcErr *err) {
    if (!attention_operands(g, n, 3, err)) return false;
    *out = *operand_type(g, n, 0);
    out->dims[out->rank - 1] = operand_type(g, n, 2)->dims[out->rank - 1];
    return true;
}

bool ir_shape_attention_lse(const IrGraph *g, const IrNode *n, IrType *out, LlmcErr *err) {
    if (!attention_operands(g, n, 2, err)) return false;
    *out = *operand_type(g, n, 0);
    out->rank--;
    return true;
}

bool ir_shape_attention_grad(const IrGraph *g, const IrNode *n, IrType *out, LlmcErr *err) {
    IrAttentionWrt w = n->attrs.attention.wrt;
    if (w <= IR_ATTENTION_WRT_INVALID || w >= IR_ATTENTION_WRT_COUNT) {
        llmc_err_set(err, "attention_grad: wrt must be q, k or v");
        return false;
    }
    if (!attention_operands(g, n, 6, err)) return false;
    *out = *operand_type(g, n, (uint32_t)(w - IR_ATTENTION_Q));
    return true;
}
