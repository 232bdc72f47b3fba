/* compiler/algebra.c — algebraic identities, each exact: the rewritten graph computes the
 * same bits as the original, in f32 and f64 interpreter modes, for every input (NaN and
 * signed zeros included), and no rewrite changes a value's type.
 *
 * One walk in id order; each node is looked at with its operands already rewritten, so
 * chains collapse in one pass (reshape(reshape(reshape(x))) becomes one reshape, the
 * broadcast of a constant 1 becomes a splat and then x*that becomes x). Constants are
 * recognized by value: a const whose elements all have the same bits, splat or not.
 *
 *   x*1, 1*x, x/1 -> x               x+(-0), (-0)+x, x-(+0) -> x (i32: the one zero)
 *   neg(neg(x)) -> x                  cast(x) to x's own dtype -> x
 *   reshape(reshape(x)) -> reshape(x), and -> x when the shape is x's
 *   permute(permute(x)) -> one permute (composed); an identity permute -> x
 *   broadcast(broadcast(x)) -> one broadcast (composed); identity broadcast -> x
 *   broadcast(reshape(x)) -> broadcast(x) when the reshape only inserts unit axes (how
 *     autodiff brings a reduction's gradient back to the reduced shape)
 *   reshape/permute/broadcast/slice of a uniform const -> a splat const of the result type
 *   slice of the full range -> x      concat of one operand -> x
 *   select(c, x, x) -> x; select(uniform const c, x, y) -> x if c != 0, else y
 *   reduce_sum/reduce_max over an axis of size 1 -> x (keepdims) or reshape(x)
 *     (the interpreter's one-element sum is that element, -0 included)
 *   i32 only: x*0, 0*x -> 0
 *   stop_gradient(x) -> x, only in a graph that already holds its gradients (an output
 *     named "grad.*"): stop_gradient computes x, and its only meaning — no gradient
 *     flows through it — is spent once autodiff has run (llmc takes no gradients of
 *     gradients). Before autodiff it stays: cc_train_step_build simplifies the forward
 *     before differentiating it, and stripping it there would bring back the backward
 *     through softmax's max shift (a cmpeq mask, a cumsum, two selects) it exists to
 *     avoid. Inference graphs keep it too; codegen emits it as the identity.
 *
 * Deliberately not done, because it is not exact:
 *   - x*0 -> 0 for floats: nan*0 and inf*0 are nan, and a negative x times 0 is -0.
 *   - x+(+0) -> x for floats: (-0)+(+0) is +0, and the sign of zero is observable
 *     (recip(-0) is -inf). Only x+(-0) is an identity (and x-(+0), the same thing).
 *     Producers of additive zeros (autodiff's zero gradients) should write -0 or, better,
 *     no add at all.
 *   - x-x -> 0, x/x -> 1 (nan, inf), (x*c1)*c2 -> x*(c1*c2) (rounding), x*(-1) -> neg(x)
 *     and 0-x -> neg(x) (NaN sign, +-0), add(a,b) == add(b,a) canonicalization (cse's
 *     business, and NaN payloads).
 * Nodes left dead by a rewrite are dce's business; constant arithmetic is fold's.
 */
#include "compiler_int.h"

#include <stdlib.h>
#include <string.h>

static const IrNode *dnode(const CcRewrite *rw, IrId d) { return &rw->dst->nodes[d]; }

static bool is_all(const CcRewrite *rw, IrId d, double v) { return cc_const_all(dnode(rw, d), v); }

/* A new node op(x) with the type and provenance of src node `from` (attrs: given, or
 * zero for ops that have none). */
static IrId add_unary(CcRewrite *rw, IrId from, IrOp op, const IrAttrs *attrs, IrId x) {
    IrNode proto = {.op = op, .type = rw->src->nodes[from].type, .n_operands = 1, .operands = &x};
    if (attrs) proto.attrs = *attrs;
    return cc_rewrite_add(rw, &proto, from);
}

/* x reshaped to the type of src node `from`, collapsing a reshape of a reshape. */
static IrId make_reshape(CcRewrite *rw, IrId from, IrId x) {
    const IrType *want = &rw->src->nodes[from].type;
    if (dnode(rw, x)->op == IR_OP_RESHAPE) x = dnode(rw, x)->operands[0];
    if (ir_type_equal(&dnode(rw, x)->type, want)) return x;
    return add_unary(rw, from, IR_OP_RESHAPE, NULL, x);
}

/* A movement of a uniform const is a splat of the result type. */
static IrId splat_of(CcRewrite *rw, IrId from, IrId x) {
    const void *e;
    if (!cc_const_uniform(dnode(rw, x), &e)) return IR_ID_NONE;
    return cc_rewrite_add_const(rw, rw->src->nodes[from].type, e, 1, from);
}

static bool ints_identity(const IrInts *v) {
    for (uint32_t i = 0; i < v->n; i++)
        if (v->v[i] != (int64_t)i) return false;
    return true;
}

static IrId rule_permute(CcRewrite *rw, IrId id, IrId x) {
    const IrNode *n = &rw->src->nodes[id];
    IrAttrs a = n->attrs;
    IrId s = splat_of(rw, id, x);
    if (s != IR_ID_NONE) return s;
    bool composed = false;
    if (dnode(rw, x)->op == IR_OP_PERMUTE) {
        /* out.dims[i] = inner.dims[p2[i]] = x.dims[p1[p2[i]]] */
        const IrInts *p1 = &dnode(rw, x)->attrs.permute.perm;
        for (uint32_t i = 0; i < a.permute.perm.n; i++) a.permute.perm.v[i] = p1->v[n->attrs.permute.perm.v[i]];
        x = dnode(rw, x)->operands[0];
        composed = true;
    }
    if (ints_identity(&a.permute.perm)) return x;
    return composed ? add_unary(rw, id, IR_OP_PERMUTE, &a, x) : IR_ID_NONE;
}

/* Whether reshape r of a value of type xt only inserts unit axes: xt's dims are r's in
 * order with some 1s left out. m[i] is then the axis of r that xt's axis i became. */
static bool unit_insertion(const IrNode *r, const IrType *xt, uint32_t *m) {
    uint32_t i = 0;
    for (uint32_t j = 0; j < r->type.rank; j++) {
        if (i < xt->rank && xt->dims[i] == r->type.dims[j])
            m[i++] = j;
        else if (r->type.dims[j] != 1)
            return false;
    }
    return i == xt->rank;
}

static IrId rule_broadcast(CcRewrite *rw, IrId id, IrId x) {
    const IrNode *n = &rw->src->nodes[id];
    IrAttrs a = n->attrs;
    IrId s = splat_of(rw, id, x);
    if (s != IR_ID_NONE) return s;
    bool composed = false;
    uint32_t m[IR_MAX_RANK];
    if (dnode(rw, x)->op == IR_OP_RESHAPE && unit_insertion(dnode(rw, x), &dnode(rw, dnode(rw, x)->operands[0])->type, m)) {
        /* The reshape only inserted unit axes: x axis i is reshape axis m[i], which the
         * broadcast maps to d[m[i]] (increasing, sizes unchanged). */
        const IrType *xt = &dnode(rw, dnode(rw, x)->operands[0])->type;
        a.broadcast.dims.n = xt->rank;
        for (uint32_t i = 0; i < xt->rank; i++) a.broadcast.dims.v[i] = n->attrs.broadcast.dims.v[m[i]];
        x = dnode(rw, x)->operands[0];
        composed = true;
    } else if (dnode(rw, x)->op == IR_OP_BROADCAST) {
        /* x axis i -> inner axis d1[i] -> result axis d2[d1[i]]; sizes stay 1-or-equal
         * along the way, and increasing maps compose to an increasing map. */
        const IrInts *d1 = &dnode(rw, x)->attrs.broadcast.dims;
        a.broadcast.dims.n = d1->n;
        for (uint32_t i = 0; i < d1->n; i++) a.broadcast.dims.v[i] = n->attrs.broadcast.dims.v[d1->v[i]];
        x = dnode(rw, x)->operands[0];
        composed = true;
    }
    if (ir_type_equal(&dnode(rw, x)->type, &n->type) && ints_identity(&a.broadcast.dims)) return x;
    return composed ? add_unary(rw, id, IR_OP_BROADCAST, &a, x) : IR_ID_NONE;
}

static IrId rule_slice(CcRewrite *rw, IrId id, IrId x) {
    const IrNode *n = &rw->src->nodes[id];
    const IrType *t = &dnode(rw, x)->type;
    bool full = ir_type_equal(t, &n->type);
    for (uint32_t i = 0; full && i < t->rank; i++) {
        int64_t step = n->attrs.slice.step.n ? n->attrs.slice.step.v[i] : 1;
        full = n->attrs.slice.start.v[i] == 0 && n->attrs.slice.end.v[i] == t->dims[i] && step == 1;
    }
    return full ? x : splat_of(rw, id, x);
}

static IrId rule_select(CcRewrite *rw, IrId c, IrId x, IrId y) {
    if (x == y) return x;
    if (!cc_const_uniform(dnode(rw, c), NULL)) return IR_ID_NONE;
    return cc_const_value(dnode(rw, c), 0) != 0 ? x : y; /* NaN != 0: x, as the interpreter */
}

static IrId rule_reduce(CcRewrite *rw, IrId id, IrId x) {
    const IrNode *n = &rw->src->nodes[id];
    if (dnode(rw, x)->type.dims[n->attrs.reduce.axis] != 1) return IR_ID_NONE;
    return n->attrs.reduce.keepdims ? x : make_reshape(rw, id, x);
}

/* i32 x*0: a zero splat of the result type. */
static IrId int_zero(CcRewrite *rw, IrId id) {
    int32_t zero = 0;
    return cc_rewrite_add_const(rw, rw->src->nodes[id].type, &zero, 1, id);
}

/* Does g hold its gradients (an output "grad.*", as cc_grad and the shard pass write)? */
static bool has_gradients(const IrGraph *g) {
    size_t plen = strlen(CC_GRAD_PREFIX);
    for (uint32_t o = 0; o < g->n_outputs; o++)
        if (strncmp(ir_graph_str(g, g->outputs[o].name), CC_GRAD_PREFIX, plen) == 0) return true;
    return false;
}

/* What src node `id` (operands already rewritten: ops[]) simplifies to, adding nodes to
 * dst when the rule needs new ones; IR_ID_NONE when no rule applies. differentiated:
 * see has_gradients and the banner (stop_gradient). */
static IrId simplify_node(CcRewrite *rw, IrId id, const IrId *ops, bool differentiated) {
    const IrNode *n = &rw->src->nodes[id];
    switch (n->op) {
    case IR_OP_MUL:
        if (is_all(rw, ops[1], 1)) return ops[0];
        if (is_all(rw, ops[0], 1)) return ops[1];
        if (n->type.dtype == IR_DTYPE_I32 && (is_all(rw, ops[0], 0) || is_all(rw, ops[1], 0))) return int_zero(rw, id);
        return IR_ID_NONE;
    case IR_OP_ADD: /* -0 in i32 is the one zero */
        if (is_all(rw, ops[1], -0.0)) return ops[0];
        if (is_all(rw, ops[0], -0.0)) return ops[1];
        return IR_ID_NONE;
    case IR_OP_SUB: return is_all(rw, ops[1], 0.0) ? ops[0] : IR_ID_NONE;
    case IR_OP_DIV: return is_all(rw, ops[1], 1) ? ops[0] : IR_ID_NONE;
    case IR_OP_NEG: return dnode(rw, ops[0])->op == IR_OP_NEG ? dnode(rw, ops[0])->operands[0] : IR_ID_NONE;
    case IR_OP_CAST: return dnode(rw, ops[0])->type.dtype == n->type.dtype ? ops[0] : IR_ID_NONE;
    case IR_OP_STOP_GRADIENT: return differentiated ? ops[0] : IR_ID_NONE;
    case IR_OP_SELECT: return rule_select(rw, ops[0], ops[1], ops[2]);
    case IR_OP_REDUCE_SUM:
    case IR_OP_REDUCE_MAX: return rule_reduce(rw, id, ops[0]);
    case IR_OP_RESHAPE: {
        IrId s = splat_of(rw, id, ops[0]);
        if (s != IR_ID_NONE) return s;
        /* Only when there is something to gain: otherwise make_reshape would add a copy. */
        bool nested = dnode(rw, ops[0])->op == IR_OP_RESHAPE;
        return nested || ir_type_equal(&dnode(rw, ops[0])->type, &n->type) ? make_reshape(rw, id, ops[0]) : IR_ID_NONE;
    }
    case IR_OP_PERMUTE: return rule_permute(rw, id, ops[0]);
    case IR_OP_BROADCAST: return rule_broadcast(rw, id, ops[0]);
    case IR_OP_SLICE: return rule_slice(rw, id, ops[0]);
    case IR_OP_CONCAT: return n->n_operands == 1 ? ops[0] : IR_ID_NONE;
    case IR_OP_INPUT:
    case IR_OP_CONST:
    case IR_OP_ABS:
    case IR_OP_EXP:
    case IR_OP_LOG:
    case IR_OP_SQRT:
    case IR_OP_RSQRT:
    case IR_OP_TANH:
    case IR_OP_RECIP:
    case IR_OP_SIN:
    case IR_OP_COS:
    case IR_OP_MAX:
    case IR_OP_MIN:
    case IR_OP_POW:
    case IR_OP_CMPLT:
    case IR_OP_CMPEQ:
    case IR_OP_MATMUL:
    case IR_OP_GATHER:
    case IR_OP_SCATTER_ADD:
    case IR_OP_TOPK:
    case IR_OP_IOTA:
    case IR_OP_ONEHOT:
    case IR_OP_CUMSUM:
    case IR_OP_RAND:
    case IR_OP_EXTERN_CALL:
    case IR_OP_ALL_GATHER:
    case IR_OP_REDUCE_SCATTER:
    case IR_OP_ALL_REDUCE:
    case IR_OP_ALL_TO_ALL:
    case IR_OP_ATTENTION:
    case IR_OP_ATTENTION_LSE:
    case IR_OP_ATTENTION_GRAD: return IR_ID_NONE;
    case IR_OP_INVALID:
    case IR_OP_COUNT: break;
    }
    LLMC_ASSERT(!"algebra: invalid op");
    return IR_ID_NONE;
}

IrGraph *cc_pass_algebra(const IrGraph *g, LlmcErr *err) {
    CcRewrite rw;
    cc_rewrite_begin(&rw, g);
    IrId *ops = NULL;
    uint32_t cap = 0;
    bool differentiated = has_gradients(g);
    for (IrId id = 0; id < g->n_nodes; id++) {
        const IrNode *n = &g->nodes[id];
        if (n->n_operands > cap) {
            cap = n->n_operands;
            ops = llmc_xrealloc(ops, cap * sizeof *ops);
        }
        for (uint32_t k = 0; k < n->n_operands; k++) ops[k] = cc_rewrite_get(&rw, n->operands[k]);
        IrId r = simplify_node(&rw, id, ops, differentiated);
        if (r == IR_ID_NONE)
            cc_rewrite_copy(&rw, id);
        else
            cc_rewrite_set(&rw, id, r);
    }
    free(ops);
    return cc_rewrite_finish(&rw, "algebra", err);
}
