/* compiler/fold.c — constant folding: a node whose operands are all `const` nodes is
 * evaluated now, by the reference interpreter, and replaced by a `const` holding the
 * result (with the node's scope and location).
 *
 * The folded value must be what the unfolded graph computes, in both interpreter modes:
 *   - f32 mode rounds every f32 result to float; f64 mode (the oracle) keeps f32-typed
 *     results unrounded in double. A `const` of dtype f32 holds floats, so it reads the
 *     same in both modes. The node is therefore evaluated twice, on a one-node graph of
 *     consts, in f32 mode and in f64 mode, and folded only when the two results are the
 *     same bits. That holds for every f64 and i32 node, and for an f32 node exactly when
 *     its unrounded result is already a float (2*3, 0.5*0.25, exp(0), sqrt(64), a
 *     reshape...). An inexact f32 result (1/3 in f32) stays unfolded: folding it would
 *     round the f64 oracle's value. By induction over the graph (operands are consts that
 *     were either written so or folded under this rule) the folded graph computes the same
 *     bits as the original in both modes.
 *   - Evaluation that fails (an i32 division by zero, an index out of range) leaves the
 *     node alone, so the error still happens when, and if, the graph runs.
 *   - A result whose elements are all the same bits becomes a splat (one value), so
 *     folding a broadcast of a constant costs nothing. Elementwise ops over uniform
 *     operands are evaluated on scalars, and movement ops (reshape, permute, broadcast,
 *     slice, concat of equal splats) of a uniform constant need no evaluation: both give a
 *     splat whatever the size.
 *   - Otherwise the result is folded only up to FOLD_MAX_ELEMENTS elements, so that a
 *     graph does not bloat with large literal tensors (an iota over a sequence, a matmul
 *     of two constant matrices), and only when the operands hold at most
 *     FOLD_MAX_OPERAND_ELEMENTS elements (the interpreter materializes them as doubles).
 *
 * Never folded: input and const (sources), iota (no operands: a literal of its values is
 * only bigger), rand (its values are a function of the site,
 * which later passes and sharding must see; and it would bloat), extern_call (runs
 * through a hook the runtime installs, maybe impure), collectives (need the other ranks).
 * Dead operands are left for dce; this pass never removes a node, it only replaces.
 */
#include "compiler_int.h"

#include <stdlib.h>
#include <string.h>

#define FOLD_MAX_ELEMENTS 4096
#define FOLD_MAX_OPERAND_ELEMENTS (1 << 20)

static bool kind_foldable(IrOpKind k) {
    switch (k) {
    case IR_KIND_ELEMENTWISE:
    case IR_KIND_REDUCE:
    case IR_KIND_MOVEMENT:
    case IR_KIND_CONTRACTION:
    case IR_KIND_ATTENTION:
    case IR_KIND_INDEX: return true;
    case IR_KIND_SOURCE:     /* input, const: nothing to evaluate */
    case IR_KIND_RANDOM:     /* see the banner */
    case IR_KIND_EXTERN:     /* a hook, maybe impure */
    case IR_KIND_COLLECTIVE: /* needs every rank's operand */
    case IR_KIND_INVALID:
    case IR_KIND_COUNT: return false;
    }
    return false;
}

/* Movement ops that, applied to a uniform tensor, give the same value everywhere. */
static bool moves_splat(IrOp op) {
    return op == IR_OP_RESHAPE || op == IR_OP_PERMUTE || op == IR_OP_BROADCAST || op == IR_OP_SLICE ||
           op == IR_OP_CONCAT;
}

/* Runs node n (operands: the dst consts ops[]) alone on the interpreter at one precision.
 * scalar: evaluate on rank-0 stand-ins (elementwise ops over uniform operands). */
static bool eval_once(const IrGraph *dst, const IrNode *n, const IrId *ops, bool scalar, IrPrecision precision,
                      IrValue *out) {
    IrGraph *t = ir_graph_new("fold");
    for (uint32_t k = 0; k < n->n_operands; k++) {
        IrNode c = dst->nodes[ops[k]]; /* shares the payload: t dies first, and only reads it */
        c.scope = 0;
        c.loc = (IrLoc){0, 0, 0};
        if (scalar) {
            c.type = ir_type_scalar(c.type.dtype);
            c.attrs.constant.value.count = 1;
        }
        ir_graph_add_node(t, &c);
    }
    IrId small[IR_MAX_RANK];
    IrId *ids = n->n_operands <= IR_MAX_RANK ? small : llmc_xmalloc(n->n_operands * sizeof *ids);
    for (uint32_t k = 0; k < n->n_operands; k++) ids[k] = k;
    IrNode m = *n; /* foldable ops carry no string attributes, so no ids to translate */
    m.operands = ids;
    m.scope = 0;
    m.loc = (IrLoc){0, 0, 0};
    if (scalar) m.type = ir_type_scalar(n->type.dtype);
    IrId id = ir_graph_add_node(t, &m);
    ir_graph_add_output(t, "v", id);
    IrInterpOptions opt = {.precision = precision, .ranks = 1};
    LlmcErr e = {0};
    bool ok = ir_interp_run(t, &opt, NULL, out, &e);
    if (ids != small) free(ids);
    ir_graph_free(t);
    return ok;
}

/* Both modes, folded only when they agree bit for bit (see the banner). */
static bool eval_exact(const IrGraph *dst, const IrNode *n, const IrId *ops, bool scalar, IrValue *out) {
    IrValue v32 = {0}, v64 = {0};
    if (!eval_once(dst, n, ops, scalar, IR_PRECISION_F32, &v32)) return false;
    if (!eval_once(dst, n, ops, scalar, IR_PRECISION_F64, &v64)) {
        ir_value_free(&v32);
        return false;
    }
    size_t bytes = (size_t)ir_type_numel(&v32.type) * sizeof(double);
    bool same = memcmp(v32.data, v64.data, bytes) == 0;
    ir_value_free(&v64);
    if (!same) {
        ir_value_free(&v32);
        return false;
    }
    *out = v32;
    return true;
}

/* The interpreter's doubles in the dtype's representation; count 1 if uniform. */
static void *to_payload(const IrValue *v, IrDtype dt, uint64_t *count) {
    uint64_t numel = (uint64_t)ir_type_numel(&v->type);
    size_t size = ir_dtype_size(dt);
    unsigned char *p = llmc_xmalloc(numel * size);
    for (uint64_t i = 0; i < numel; i++) {
        switch (dt) {
        case IR_DTYPE_F32: {
            float f = (float)v->data[i];
            memcpy(p + i * size, &f, size);
            break;
        }
        case IR_DTYPE_F64: memcpy(p + i * size, &v->data[i], size); break;
        case IR_DTYPE_I32: {
            int32_t x = (int32_t)v->data[i];
            memcpy(p + i * size, &x, size);
            break;
        }
        case IR_DTYPE_BF16:
        case IR_DTYPE_INVALID:
        case IR_DTYPE_COUNT: LLMC_ASSERT(!"fold: unsupported dtype"); break;
        }
    }
    *count = numel;
    for (uint64_t i = 1; i < numel; i++)
        if (memcmp(p + i * size, p, size) != 0) return p;
    *count = 1;
    return p;
}

/* The const that src node `id` folds to, added to dst; IR_ID_NONE if it does not fold. */
static IrId fold_node(CcRewrite *rw, IrId id, const IrId *ops) {
    const IrNode *n = &rw->src->nodes[id];
    const IrGraph *dst = rw->dst;
    if (!kind_foldable(ir_op_info(n->op)->kind)) return IR_ID_NONE;
    if (n->type.dtype == IR_DTYPE_BF16) return IR_ID_NONE; /* not yet: bf16 folding comes with bf16 codegen */
    if (n->n_operands == 0) return IR_ID_NONE; /* iota: a literal would only be bigger */
    bool uniform = true;
    uint64_t operand_elements = 0;
    const void *first = NULL;
    bool same_elem = true; /* all operands uniform with the same bits (concat) */
    for (uint32_t k = 0; k < n->n_operands; k++) {
        const IrNode *o = &dst->nodes[ops[k]];
        if (o->op != IR_OP_CONST || o->type.dtype == IR_DTYPE_BF16) return IR_ID_NONE;
        const void *e;
        if (cc_const_uniform(o, &e)) {
            if (!first) first = e;
            same_elem = same_elem && o->type.dtype == n->type.dtype &&
                        memcmp(e, first, ir_dtype_size(o->type.dtype)) == 0;
        } else {
            uniform = false;
        }
        operand_elements += (uint64_t)ir_type_numel(&o->type);
    }

    /* A uniform tensor moved about is the same splat. */
    if (uniform && moves_splat(n->op) && same_elem) return cc_rewrite_add_const(rw, n->type, first, 1, id);

    bool scalar = uniform && ir_op_info(n->op)->kind == IR_KIND_ELEMENTWISE;
    if (!scalar && (ir_type_numel(&n->type) > FOLD_MAX_ELEMENTS || operand_elements > FOLD_MAX_OPERAND_ELEMENTS))
        return IR_ID_NONE;
    IrValue v;
    if (!eval_exact(dst, n, ops, scalar, &v)) return IR_ID_NONE;
    uint64_t count;
    void *payload = to_payload(&v, n->type.dtype, &count);
    ir_value_free(&v);
    IrId c = cc_rewrite_add_const(rw, n->type, payload, count, id);
    free(payload);
    return c;
}

IrGraph *cc_pass_fold(const IrGraph *g, LlmcErr *err) {
    CcRewrite rw;
    cc_rewrite_begin(&rw, g);
    IrId *ops = NULL;
    uint32_t cap = 0;
    for (IrId id = 0; id < g->n_nodes; id++) {
        const IrNode *n = &g->nodes[id];
        if (n->n_operands > cap) {
            cap = n->n_operands;
            ops = llmc_xrealloc(ops, cap * sizeof *ops);
        }
        for (uint32_t k = 0; k < n->n_operands; k++) ops[k] = cc_rewrite_get(&rw, n->operands[k]);
        IrId c = fold_node(&rw, id, ops);
        if (c == IR_ID_NONE)
            cc_rewrite_copy(&rw, id);
        else
            cc_rewrite_set(&rw, id, c);
    }
    free(ops);
    return cc_rewrite_finish(&rw, "fold", err);
}
