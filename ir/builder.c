/* ir/builder.c — building graphs node by node with shape inference.
 *
 * Every entry returns the new node's id or IR_ID_NONE with the first error kept in the
 * builder (sticky), so a caller builds a whole expression and checks once. The builder
 * never aborts on a user's mistake. It deliberately does not simplify, fold or
 * deduplicate (the compiler's passes do) and does not verify whole graphs (verify.c).
 */
#include "ir_int.h"

#include <math.h>
#include <string.h>

void ir_builder_init(IrBuilder *b, IrGraph *g) {
    memset(b, 0, sizeof *b);
    b->g = g;
}

void ir_builder_set_scope(IrBuilder *b, const char *scope) { b->scope = ir_graph_intern(b->g, scope); }

void ir_builder_set_loc(IrBuilder *b, const char *file, uint32_t line, uint32_t col) {
    b->loc.file = ir_graph_intern(b->g, file);
    b->loc.line = line;
    b->loc.col = col;
}

bool ir_builder_ok(const IrBuilder *b) { return !b->err.set; }

IrId ir_build(IrBuilder *b, IrOp op, const IrId *operands, uint32_t n_operands, const IrAttrs *attrs,
              const IrType *hint) {
    for (uint32_t i = 0; i < n_operands; i++)
        if (operands[i] == IR_ID_NONE) {
            llmc_err_set(&b->err, "%s: an operand failed to build", ir_op_name(op));
            return IR_ID_NONE;
        }
    IrNode n;
    memset(&n, 0, sizeof n);
    n.op = op;
    n.n_operands = n_operands;
    n.operands = (IrId *)operands;
    if (attrs)
        n.attrs = *attrs;
    else if (op > IR_OP_INVALID && op < IR_OP_COUNT)
        ir_attrs_init_defaults(op, &n.attrs);
    if (hint) n.type = *hint;
    n.scope = b->scope;
    n.loc = b->loc;
    IrType t;
    if (!ir_infer_type(b->g, &n, &t, &b->err)) return IR_ID_NONE;
    n.type = t;
    return ir_graph_add_node(b->g, &n);
}

static IrAttrs attrs_for(IrOp op) {
    IrAttrs a;
    ir_attrs_init_defaults(op, &a);
    return a;
}

static bool ints_from(IrBuilder *b, const char *op, IrInts *dst, uint32_t n, const int64_t *v) {
    if (n > IR_MAX_RANK) {
        llmc_err_set(&b->err, "%s: %u entries exceed rank %d", op, n, IR_MAX_RANK);
        return false;
    }
    dst->n = n;
    for (uint32_t i = 0; i < n; i++) dst->v[i] = v ? v[i] : 1;
    return true;
}

static const IrType *type_of(IrBuilder *b, IrId x) { return &b->g->nodes[x].type; }

IrId ir_build_input(IrBuilder *b, IrRole role, const char *name, IrType type) {
    IrAttrs a = attrs_for(IR_OP_INPUT);
    a.input.role = role;
    a.input.name = ir_graph_intern(b->g, name);
    return ir_build(b, IR_OP_INPUT, NULL, 0, &a, &type);
}

IrId ir_build_const(IrBuilder *b, IrType type, const double *values, uint64_t count) {
    size_t esize = ir_dtype_size(type.dtype);
    if (esize == 0 || count == 0) {
        llmc_err_set(&b->err, "const: needs a dtype and at least one value");
        return IR_ID_NONE;
    }
    IrAttrs a = attrs_for(IR_OP_CONST);
    a.constant.value.count = count;
    a.constant.value.bytes = llmc_arena_alloc(&b->g->arena, count * esize);
    for (uint64_t i = 0; i < count; i++) {
        double v = values[i];
        switch (type.dtype) {
        case IR_DTYPE_F32: ((float *)a.constant.value.bytes)[i] = (float)v; break;
        case IR_DTYPE_F64: ((double *)a.constant.value.bytes)[i] = v; break;
        case IR_DTYPE_I32:
            ((int32_t *)a.constant.value.bytes)[i] =
                isfinite(v) && v > -2147483649.0 && v < 2147483648.0 ? (int32_t)v : 0;
            break;
        case IR_DTYPE_BF16: /* rounded once, from the double */
            ((uint16_t *)a.constant.value.bytes)[i] = ir_bf16_from_double(v);
            break;
        case IR_DTYPE_INVALID:
        case IR_DTYPE_COUNT: break;
        }
    }
    return ir_build(b, IR_OP_CONST, NULL, 0, &a, &type);
}

IrId ir_build_scalar(IrBuilder *b, IrDtype dt, double value) {
    return ir_build_const(b, ir_type_scalar(dt), &value, 1);
}

IrId ir_build_unary(IrBuilder *b, IrOp op, IrId x) { return ir_build(b, op, &x, 1, NULL, NULL); }

IrId ir_build_binary(IrBuilder *b, IrOp op, IrId x, IrId y) {
    IrId ops[2] = {x, y};
    return ir_build(b, op, ops, 2, NULL, NULL);
}

IrId ir_build_binary_bcast(IrBuilder *b, IrOp op, IrId x, IrId y) {
    if (x == IR_ID_NONE || y == IR_ID_NONE) return ir_build_binary(b, op, x, y);
    const IrType *tx = type_of(b, x), *ty = type_of(b, y);
    uint32_t rank = tx->rank > ty->rank ? tx->rank : ty->rank;
    int64_t dims[IR_MAX_RANK];
    for (uint32_t i = 0; i < rank; i++) {
        int64_t dx = i + tx->rank >= rank ? tx->dims[i + tx->rank - rank] : 1;
        int64_t dy = i + ty->rank >= rank ? ty->dims[i + ty->rank - rank] : 1;
        if (dx != dy && dx != 1 && dy != 1) {
            char a[IR_TYPE_STR_MAX], c[IR_TYPE_STR_MAX];
            llmc_err_set(&b->err, "%s: shapes %s and %s do not broadcast", ir_op_name(op),
                         ir_type_format(tx, a, sizeof a), ir_type_format(ty, c, sizeof c));
            return IR_ID_NONE;
        }
        dims[i] = dx > dy ? dx : dy;
    }
    IrType want = ir_type_make(tx->dtype, rank, dims);
    if (!ir_type_same_shape(tx, &want)) x = ir_build_broadcast_to(b, x, rank, dims);
    if (!ir_type_same_shape(type_of(b, y), &want)) y = ir_build_broadcast_to(b, y, rank, dims);
    return ir_build_binary(b, op, x, y);
}

IrId ir_build_select(IrBuilder *b, IrId cond, IrId x, IrId y) {
    IrId ops[3] = {cond, x, y};
    return ir_build(b, IR_OP_SELECT, ops, 3, NULL, NULL);
}

IrId ir_build_cast(IrBuilder *b, IrId x, IrDtype dt) {
    if (x == IR_ID_NONE) return ir_build(b, IR_OP_CAST, &x, 1, NULL, NULL);
    IrType t = *type_of(b, x);
    t.dtype = dt;
    return ir_build(b, IR_OP_CAST, &x, 1, NULL, &t);
}

/* Negative axes count from the end, as in numpy; the IR itself stores them normalized. */
static int64_t norm_axis(IrBuilder *b, IrId x, int64_t axis) {
    if (axis < 0 && x != IR_ID_NONE) axis += type_of(b, x)->rank;
    return axis;
}

IrId ir_build_reduce(IrBuilder *b, IrOp op, IrId x, int64_t axis, bool keepdims) {
    IrAttrs a = attrs_for(op);
    a.reduce.axis = norm_axis(b, x, axis);
    a.reduce.keepdims = keepdims;
    return ir_build(b, op, &x, 1, &a, NULL);
}

IrId ir_build_reshape(IrBuilder *b, IrId x, uint32_t rank, const int64_t *dims) {
    if (rank > IR_MAX_RANK) {
        llmc_err_set(&b->err, "reshape: rank %u exceeds %d", rank, IR_MAX_RANK);
        return IR_ID_NONE;
    }
    IrType t = ir_type_make(IR_DTYPE_INVALID, rank, dims);
    return ir_build(b, IR_OP_RESHAPE, &x, 1, NULL, &t);
}

IrId ir_build_permute(IrBuilder *b, IrId x, uint32_t rank, const int64_t *perm) {
    IrAttrs a = attrs_for(IR_OP_PERMUTE);
    if (!ints_from(b, "permute", &a.permute.perm, rank, perm)) return IR_ID_NONE;
    return ir_build(b, IR_OP_PERMUTE, &x, 1, &a, NULL);
}

IrId ir_build_broadcast(IrBuilder *b, IrId x, uint32_t rank, const int64_t *dims, const int64_t *map) {
    if (x == IR_ID_NONE) return ir_build(b, IR_OP_BROADCAST, &x, 1, NULL, NULL);
    if (rank > IR_MAX_RANK) {
        llmc_err_set(&b->err, "broadcast: rank %u exceeds %d", rank, IR_MAX_RANK);
        return IR_ID_NONE;
    }
    IrAttrs a = attrs_for(IR_OP_BROADCAST);
    if (!ints_from(b, "broadcast", &a.broadcast.dims, type_of(b, x)->rank, map)) return IR_ID_NONE;
    IrType t = ir_type_make(IR_DTYPE_INVALID, rank, dims);
    return ir_build(b, IR_OP_BROADCAST, &x, 1, &a, &t);
}

IrId ir_build_broadcast_to(IrBuilder *b, IrId x, uint32_t rank, const int64_t *dims) {
    if (x == IR_ID_NONE) return IR_ID_NONE;
    uint32_t xr = type_of(b, x)->rank;
    if (xr > rank) {
        char a[IR_TYPE_STR_MAX];
        llmc_err_set(&b->err, "broadcast: cannot broadcast %s to rank %u", ir_type_format(type_of(b, x), a, sizeof a),
                     rank);
        return IR_ID_NONE;
    }
    int64_t map[IR_MAX_RANK];
    for (uint32_t i = 0; i < xr; i++) map[i] = rank - xr + i;
    return ir_build_broadcast(b, x, rank, dims, map);
}

IrId ir_build_slice(IrBuilder *b, IrId x, const int64_t *start, const int64_t *end, const int64_t *step) {
    if (x == IR_ID_NONE) return ir_build(b, IR_OP_SLICE, &x, 1, NULL, NULL);
    uint32_t r = type_of(b, x)->rank;
    IrAttrs a = attrs_for(IR_OP_SLICE);
    ints_from(b, "slice", &a.slice.start, r, start);
    ints_from(b, "slice", &a.slice.end, r, end);
    if (step) ints_from(b, "slice", &a.slice.step, r, step);
    return ir_build(b, IR_OP_SLICE, &x, 1, &a, NULL);
}

IrId ir_build_concat(IrBuilder *b, const IrId *xs, uint32_t n, int64_t axis) {
    IrAttrs a = attrs_for(IR_OP_CONCAT);
    a.axis.axis = n ? norm_axis(b, xs[0], axis) : axis;
    return ir_build(b, IR_OP_CONCAT, xs, n, &a, NULL);
}

IrId ir_build_matmul(IrBuilder *b, IrId x, IrId y, bool ta, bool tb) {
    IrAttrs a = attrs_for(IR_OP_MATMUL);
    a.matmul.ta = ta;
    a.matmul.tb = tb;
    IrId ops[2] = {x, y};
    return ir_build(b, IR_OP_MATMUL, ops, 2, &a, NULL);
}

IrId ir_build_attention(IrBuilder *b, IrId q, IrId k, IrId v, double scale, bool causal) {
    IrAttrs a = attrs_for(IR_OP_ATTENTION);
    a.attention.scale = scale;
    a.attention.causal = causal;
    IrId ops[3] = {q, k, v};
    return ir_build(b, IR_OP_ATTENTION, ops, 3, &a, NULL);
}

IrId ir_build_attention_lse(IrBuilder *b, IrId q, IrId k, double scale, bool causal) {
    IrAttrs a = attrs_for(IR_OP_ATTENTION_LSE);
    a.attention.scale = scale;
    a.attention.causal = causal;
    IrId ops[2] = {q, k};
    return ir_build(b, IR_OP_ATTENTION_LSE, ops, 2, &a, NULL);
}

IrId ir_build_attention_grad(IrBuilder *b, IrId q, IrId k, IrId v, IrId lse, IrId dsum, IrId dout, double scale,
                             bool causal, IrAttentionWrt wrt) {
    IrAttrs a = attrs_for(IR_OP_ATTENTION_GRAD);
    a.attention.scale = scale;
    a.attention.causal = causal;
    a.attention.wrt = wrt;
    IrId ops[6] = {q, k, v, lse, dsum, dout};
    return ir_build(b, IR_OP_ATTENTION_GRAD, ops, 6, &a, NULL);
}

IrId ir_build_gather(IrBuilder *b, IrId x, IrId idx, int64_t axis, int64_t batch_dims) {
    IrAttrs a = attrs_for(IR_OP_GATHER);
    a.gather.axis = norm_axis(b, x, axis);
    a.gather.batch_dims = batch_dims;
    IrId ops[2] = {x, idx};
    return ir_build(b, IR_OP_GATHER, ops, 2, &a, NULL);
}

IrId ir_build_scatter_add(IrBuilder *b, IrType result, IrId idx, IrId upd, int64_t axis, int64_t batch_dims) {
    IrAttrs a = attrs_for(IR_OP_SCATTER_ADD);
    a.gather.axis = axis < 0 ? axis + (int64_t)result.rank : axis;
    a.gather.batch_dims = batch_dims;
    IrId ops[2] = {idx, upd};
    return ir_build(b, IR_OP_SCATTER_ADD, ops, 2, &a, &result);
}

IrId ir_build_topk(IrBuilder *b, IrId x, int64_t k) {
    IrAttrs a = attrs_for(IR_OP_TOPK);
    a.topk.k = k;
    return ir_build(b, IR_OP_TOPK, &x, 1, &a, NULL);
}

IrId ir_build_iota(IrBuilder *b, IrType type, int64_t axis) {
    IrAttrs a = attrs_for(IR_OP_IOTA);
    a.axis.axis = axis < 0 ? axis + (int64_t)type.rank : axis;
    return ir_build(b, IR_OP_IOTA, NULL, 0, &a, &type);
}

IrId ir_build_onehot(IrBuilder *b, IrId idx, int64_t depth, IrDtype dt) {
    if (idx == IR_ID_NONE) return ir_build(b, IR_OP_ONEHOT, &idx, 1, NULL, NULL);
    IrType t = *type_of(b, idx);
    if (t.rank >= IR_MAX_RANK) {
        llmc_err_set(&b->err, "onehot: result rank would exceed %d", IR_MAX_RANK);
        return IR_ID_NONE;
    }
    t.dtype = dt;
    t.dims[t.rank++] = depth;
    return ir_build(b, IR_OP_ONEHOT, &idx, 1, NULL, &t);
}

IrId ir_build_cumsum(IrBuilder *b, IrId x, int64_t axis, bool exclusive, bool reverse) {
    IrAttrs a = attrs_for(IR_OP_CUMSUM);
    a.cumsum.axis = norm_axis(b, x, axis);
    a.cumsum.exclusive = exclusive;
    a.cumsum.reverse = reverse;
    return ir_build(b, IR_OP_CUMSUM, &x, 1, &a, NULL);
}

IrId ir_build_rand(IrBuilder *b, IrType type, IrId seed, IrId step, IrId micro, int64_t site, IrRandDist dist) {
    IrAttrs a = attrs_for(IR_OP_RAND);
    a.rand.site = site;
    a.rand.dist = dist;
    IrId ops[3] = {seed, step, micro};
    return ir_build(b, IR_OP_RAND, ops, 3, &a, &type);
}

IrId ir_build_extern_call_bwd(IrBuilder *b, const char *symbol, const char *backward, const IrId *args, uint32_t n,
                              IrType result) {
    IrAttrs a = attrs_for(IR_OP_EXTERN_CALL);
    a.extern_call.symbol = ir_graph_intern(b->g, symbol);
    if (backward) a.extern_call.backward = ir_graph_intern(b->g, backward);
    return ir_build(b, IR_OP_EXTERN_CALL, args, n, &a, &result);
}

IrId ir_build_extern_call(IrBuilder *b, const char *symbol, const IrId *args, uint32_t n, IrType result) {
    return ir_build_extern_call_bwd(b, symbol, NULL, args, n, result);
}

static IrId build_collective(IrBuilder *b, IrOp op, IrId x, int64_t axis, int64_t concat_axis, int64_t ranks,
                             IrReduceKind r) {
    IrAttrs a = attrs_for(op);
    a.coll.axis = norm_axis(b, x, axis);
    a.coll.concat_axis = norm_axis(b, x, concat_axis);
    a.coll.ranks = ranks;
    a.coll.reduce = r;
    return ir_build(b, op, &x, 1, &a, NULL);
}

IrId ir_build_all_gather(IrBuilder *b, IrId x, int64_t axis, int64_t ranks) {
    return build_collective(b, IR_OP_ALL_GATHER, x, axis, 0, ranks, IR_REDUCE_SUM);
}

IrId ir_build_reduce_scatter(IrBuilder *b, IrId x, int64_t axis, int64_t ranks, IrReduceKind r) {
    return build_collective(b, IR_OP_REDUCE_SCATTER, x, axis, 0, ranks, r);
}

IrId ir_build_all_reduce(IrBuilder *b, IrId x, int64_t ranks, IrReduceKind r) {
    return build_collective(b, IR_OP_ALL_REDUCE, x, 0, 0, ranks, r);
}

IrId ir_build_all_to_all(IrBuilder *b, IrId x, int64_t split_axis, int64_t concat_axis, int64_t ranks) {
    return build_collective(b, IR_OP_ALL_TO_ALL, x, split_axis, concat_axis, ranks, IR_REDUCE_SUM);
}
