/* compiler/codegen_reduce.c — one REDUCE kernel (compiler/fuse.c, rule 4) as one LLVM
 * function: a reduce_sum or reduce_max over one axis, with the elementwise producers of
 * its operand computed on the fly (never stored).
 *
 *     void llmc_red_<n>(void **bufs, int64_t begin, int64_t end)
 *
 * ABI (compiler.h, "JIT: reduce"): bufs[] = the kernel's inputs as CcKernel.inputs lists
 * them (ascending id; splat constants are literals and not listed), then the output.
 * The operand is viewed as [outer, len, inner] around the axis and the output (keepdims
 * or not: same layout) as [outer, inner]; [begin, end) ranges over output elements
 * idx = o * inner + j. A call never splits one output's reduction, so any split of the
 * outputs over calls or threads gives the same bytes.
 *
 * Order (inner > 1, and nested kernels): each output is computed exactly as
 * ir/interp_reduce.c orders it, element 0 first, then i = 1 .. len-1 left to right,
 * acc = acc + x[i] (reduce_sum) or acc = (acc is not nan and (x[i] > acc or x[i] is nan))
 * ? x[i] : acc (reduce_max: the first nan wins and sticks; of equal values, +-0 included,
 * the first wins). The accumulator has the node's dtype: an f32 sum accumulates in f32,
 * where the interpreter accumulates in double and rounds once. That is the one intended
 * difference, and why f32 sums are checked to the f32 tolerance (1e-5 by norm ratio)
 * rather than bit for bit; f64 sums, all maxima and i32 sums (wrapping) are the
 * interpreter's bits.
 *
 * Vectorization (inner > 1) is ACROSS independent outputs, never across the reduced axis:
 * when W consecutive outputs idx..idx+W-1 lie in one outer row (j + W <= inner) and in the
 * range, one vector body reduces all W of them with W-lane loads at o*len*inner + i*inner
 * + j; otherwise a scalar body does one output. Both bodies perform the same per-element
 * operations, so which one computes an output does not change its bytes. W follows
 * codegen_elementwise.c (16/8 lanes with AVX-512, else 8/4).
 *
 * When the reduced axis is the last one (inner = 1, not nested: softmax and norm rows) the
 * elements of one output are contiguous and the reduction is vectorized ALONG them
 * ("reductions along the row" below, shared with ROW kernels): W lane accumulators, lane l
 * taking elements l, l + W, l + 2W, .. (the tail element len - len % W + l last), then a
 * halving tree over the lanes. That order is fixed by len and W alone (never by the
 * split of outputs over calls or threads). It changes f32 sums (by rounding, within the
 * f32 tolerance); i32 sums (associative), f64 sums (kept in the scalar order: only their
 * operand is vectorized) and maxima (each lane keeps its winner's index; the tree breaks
 * ties by it) stay the interpreter's bits.
 *
 * Accepted kernels: members are elementwise ops of the operand's shape, chains of
 * reshape/permute/broadcast members whose top has the operand's shape (members below the
 * top any shape) over a kernel input or a splat constant, and the one reduction (the root
 * and only output). A chain is index arithmetic (cc_cg_chain_index through CC_ROLE_BCAST:
 * the element the operand index maps to, gathered per lane in vector bodies); over a
 * rank-0 value or a splat it is a repeat. Operands from outside are inputs of the
 * operand's shape, inputs read through chains, or splat constants. slice and concat
 * members, and chains over a computed member, are "not supported yet": false + message.
 *
 * Nested (fuse.c rule 4a): when the operand is itself a member reduction (a sum over the
 * sequence, then over the batch), the plan's `sub` computes each operand element as that
 * inner reduction, accumulated inside the outer loop in the left-to-right order, as a
 * REDUCE kernel over a non-last axis would; such kernels are scalar code.
 *
 * ROW kernels (fuse.c rule 4b) are the second half of this file: rows through several
 * last-axis reductions and their consumers, in phases per row (its own banner below).
 *
 * Deliberately not here: slice/concat index arithmetic, multiple outputs of REDUCE
 * kernels, vectorizing nested reductions, threading, the object cache.
 */
#include "compiler_int.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/Orc.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* --- the plan --------------------------------------------------------------------- */

typedef struct Plan {
    const IrGraph *g;
    IrId red;           /* the reduction (kernel root) */
    IrId x;             /* its operand */
    IrOp op;            /* IR_OP_REDUCE_SUM or IR_OP_REDUCE_MAX */
    IrDtype dt;         /* of the reduction */
    int64_t outer, len, inner;
    uint8_t *role;      /* [n_nodes] CcRole */
    IrId *alias;        /* [n_nodes] */
    IrId *order;        /* compute members, ascending */
    uint32_t n_order;
    const IrId *inputs; /* the kernel's (not owned) */
    uint32_t n_inputs;
    struct Plan *sub;   /* nested: the inner reduction computing x at each index (owned) */
} Plan;

static void plan_free(Plan *p) {
    free(p->role);
    free(p->alias);
    free(p->order);
    if (p->sub) plan_free(p->sub);
    free(p->sub);
    memset(p, 0, sizeof *p);
}

static bool is_splat_const(const IrNode *n) { return n->op == IR_OP_CONST && n->attrs.constant.value.count == 1; }

static bool kernel_has(const CcKernel *k, IrId id) {
    for (uint32_t i = 0; i < k->n_nodes; i++)
        if (k->nodes[i] == id) return true;
    return false;
}

static bool is_input(const CcKernel *k, IrId id) {
    for (uint32_t i = 0; i < k->n_inputs; i++)
        if (k->inputs[i] == id) return true;
    return false;
}

/* Role of operand `o` of a member, when o is outside the kernel. */
static bool plan_external(Plan *p, const CcKernel *k, IrId o, LlmcErr *err) {
    const IrGraph *g = p->g;
    const IrNode *n = ir_graph_node(g, o);
    const IrType *xt = &ir_graph_node(g, p->x)->type;
    if (p->role[o] != CC_ROLE_NONE && p->role[o] != CC_ROLE_INDEXED) return true;
    if (p->role[o] == CC_ROLE_NONE && is_splat_const(n)) {
        p->role[o] = CC_ROLE_CONST;
        return true;
    }
    if (!is_input(k, o)) {
        llmc_err_set(err, "reduce kernel (root %%%u): operand %%%u is neither a member nor a kernel input",
                     k->root, o);
        return false;
    }
    if (!ir_type_same_shape(&n->type, xt)) {
        char a[IR_TYPE_STR_MAX], b[IR_TYPE_STR_MAX];
        llmc_err_set(err, "reduce kernel (root %%%u): input %%%u (%s) does not have the operand's shape %s",
                     k->root, o, ir_type_format(&n->type, a, sizeof a), ir_type_format(xt, b, sizeof b));
        return false;
    }
    p->role[o] = CC_ROLE_BUFFER;
    return true;
}

static bool is_move(const IrNode *n) {
    return n->op == IR_OP_BROADCAST || n->op == IR_OP_RESHAPE || n->op == IR_OP_PERMUTE;
}

/* A movement member `id` of the operand's shape read by the body: the top of a chain of
 * movement members (below the top any shape; no role of their own) down to a source
 * outside the kernel. A rank-0 or splat-constant source is repeated (CC_ROLE_ALIAS);
 * any other is a kernel input read at the index the chain maps to (CC_ROLE_BCAST over
 * it; the source is CC_ROLE_INDEXED unless the body also reads it directly). A chain
 * over a computed member would need the member at another index: not supported yet. */
static bool plan_move(Plan *p, const CcKernel *k, IrId id, LlmcErr *err) {
    const IrGraph *g = p->g;
    IrId src = id;
    while (kernel_has(k, src) && is_move(ir_graph_node(g, src))) src = ir_graph_node(g, src)->operands[0];
    const IrNode *s = ir_graph_node(g, src);
    if (kernel_has(k, src)) {
        llmc_err_set(err, "reduce codegen: kernel (root %%%u): movement %%%u reads the computed member %%%u; "
                          "not supported yet", k->root, id, src);
        return false;
    }
    bool splat = is_splat_const(s);
    if (!splat && !is_input(k, src)) {
        llmc_err_set(err, "reduce codegen: kernel (root %%%u): %%%u is not a kernel input", k->root, src);
        return false;
    }
    if (s->type.rank == 0 || splat) {
        p->role[id] = CC_ROLE_ALIAS;
        p->alias[id] = src;
        if (p->role[src] == CC_ROLE_NONE) p->role[src] = splat ? CC_ROLE_CONST : CC_ROLE_SCALAR;
        return true;
    }
    p->role[id] = CC_ROLE_BCAST;
    p->alias[id] = src;
    if (p->role[src] == CC_ROLE_NONE) p->role[src] = CC_ROLE_INDEXED;
    return true;
}

static bool plan_build(Plan *p, const IrGraph *g, const CcKernel *k, LlmcErr *err) {
    memset(p, 0, sizeof *p);
    p->g = g;
    if (k->kind != CC_KERNEL_REDUCE) {
        llmc_err_set(err, "reduce codegen: kernel (root %%%u) is %s, not reduce", k->root,
                     cc_kernel_kind_name(k->kind));
        return false;
    }
    const IrNode *r = ir_graph_node(g, k->root);
    if (r->op != IR_OP_REDUCE_SUM && r->op != IR_OP_REDUCE_MAX) {
        llmc_err_set(err, "reduce codegen: kernel root %%%u is %s, not a reduction", k->root, ir_op_name(r->op));
        return false;
    }
    if (k->n_outputs != 1 || k->outputs[0] != k->root) {
        llmc_err_set(err, "reduce codegen: kernel (root %%%u) has %u outputs; only the reduction is supported",
                     k->root, k->n_outputs);
        return false;
    }
    p->red = k->root;
    p->x = r->operands[0];
    p->op = r->op;
    p->dt = r->type.dtype;
    p->inputs = k->inputs;
    p->n_inputs = k->n_inputs;
    if (p->dt != IR_DTYPE_F32 && p->dt != IR_DTYPE_F64 && p->dt != IR_DTYPE_I32) {
        llmc_err_set(err, "reduce codegen: %%%u has dtype %s (f32, f64 or i32 supported)", k->root,
                     ir_dtype_name(p->dt));
        return false;
    }
    const IrType *xt = &ir_graph_node(g, p->x)->type;
    int64_t axis = r->attrs.reduce.axis;
    LLMC_ASSERT(axis >= 0 && axis < (int64_t)xt->rank);
    p->outer = 1;
    p->len = xt->dims[axis];
    p->inner = 1;
    for (int64_t i = 0; i < axis; i++) p->outer *= xt->dims[i];
    for (uint32_t i = (uint32_t)axis + 1; i < xt->rank; i++) p->inner *= xt->dims[i];
    if (p->len < 1) {
        llmc_err_set(err, "reduce codegen: %%%u reduces an empty axis", k->root);
        return false;
    }

    /* Nested: the operand is itself a member reduction (a sum over one axis, then over
     * another: parameter gradients over batch and sequence). The inner plan w computes
     * it at each index the outer reduction reads; the members below are w's. */
    IrId inner_red = IR_ID_NONE;
    Plan *w = p;
    if (kernel_has(k, p->x) && ir_op_info(ir_graph_node(g, p->x)->op)->kind == IR_KIND_REDUCE) {
        const IrNode *r1 = ir_graph_node(g, p->x);
        const IrType *t1 = &ir_graph_node(g, r1->operands[0])->type;
        if ((r1->op != IR_OP_REDUCE_SUM && r1->op != IR_OP_REDUCE_MAX) || r1->type.dtype != p->dt) {
            llmc_err_set(err, "reduce codegen: kernel (root %%%u): inner reduction %%%u not supported", k->root,
                         p->x);
            return false;
        }
        inner_red = p->x;
        w = llmc_xcalloc(1, sizeof *w);
        w->g = g;
        w->red = inner_red;
        w->x = r1->operands[0];
        w->op = r1->op;
        w->dt = r1->type.dtype;
        w->inputs = k->inputs;
        w->n_inputs = k->n_inputs;
        int64_t a1 = r1->attrs.reduce.axis;
        w->outer = 1;
        w->len = t1->dims[a1];
        w->inner = 1;
        for (int64_t i = 0; i < a1; i++) w->outer *= t1->dims[i];
        for (uint32_t i = (uint32_t)a1 + 1; i < t1->rank; i++) w->inner *= t1->dims[i];
        if (w->len < 1) {
            free(w);
            llmc_err_set(err, "reduce codegen: %%%u reduces an empty axis", inner_red);
            return false;
        }
    }
    const IrType *wt = &ir_graph_node(g, w->x)->type;

    /* Every member but the root: an elementwise op, or a reshape/permute/broadcast. */
    for (uint32_t i = 0; i < k->n_nodes; i++) {
        IrId id = k->nodes[i];
        if (id == k->root || id == inner_red) continue;
        const IrNode *n = ir_graph_node(g, id);
        IrOpKind kind = ir_op_info(n->op)->kind;
        if (kind == IR_KIND_MOVEMENT && !is_move(n)) {
            llmc_err_set(err, "reduce codegen: kernel (root %%%u) contains %%%u = %s; that movement inside a "
                              "reduction is not supported yet", k->root, id, ir_op_name(n->op));
            return false;
        }
        if (kind != IR_KIND_ELEMENTWISE && kind != IR_KIND_MOVEMENT) {
            llmc_err_set(err, "reduce codegen: kernel (root %%%u) contains %%%u = %s, not an elementwise op",
                         k->root, id, ir_op_name(n->op));
            return false;
        }
    }

    w->role = llmc_xcalloc(g->n_nodes, 1);
    w->alias = llmc_xcalloc(g->n_nodes, sizeof *w->alias);
    w->order = llmc_xmalloc((k->n_nodes + 1) * sizeof *w->order);
    bool ok = true;
    /* The operand of the reduction, then members downward (ids are topological). */
    if (!kernel_has(k, w->x)) ok = plan_external(w, k, w->x, err);
    uint8_t *need = llmc_xcalloc(g->n_nodes, 1);
    need[w->x] = 1;
    for (uint32_t i = k->n_nodes; i-- > 0 && ok;) {
        IrId id = k->nodes[i];
        if (id == k->root || id == inner_red || !need[id]) continue;
        const IrNode *n = ir_graph_node(g, id);
        if (!ir_type_same_shape(&n->type, wt)) {
            llmc_err_set(err, "reduce codegen: kernel (root %%%u): %%%u = %s does not have the operand's shape; "
                              "not supported yet", k->root, id, ir_op_name(n->op));
            ok = false;
            break;
        }
        if (is_move(n)) {
            ok = plan_move(w, k, id, err);
            continue;
        }
        w->role[id] = CC_ROLE_COMPUTE;
        for (uint32_t o = 0; o < n->n_operands && ok; o++) {
            IrId x = n->operands[o];
            if (kernel_has(k, x)) need[x] = 1;
            else ok = plan_external(w, k, x, err);
        }
    }
    free(need);
    for (uint32_t i = 0; i < k->n_nodes && ok; i++)
        if (w->role[k->nodes[i]] == CC_ROLE_COMPUTE) w->order[w->n_order++] = k->nodes[i];
    /* Every kernel input gets a slot; one the body never reads (none, today) is a buffer. */
    for (uint32_t i = 0; i < k->n_inputs && ok; i++) {
        IrId id = k->inputs[i];
        if (w->role[id] == CC_ROLE_BUFFER || w->role[id] == CC_ROLE_SCALAR || w->role[id] == CC_ROLE_INDEXED)
            continue;
        llmc_err_set(err, "reduce codegen: kernel (root %%%u): input %%%u is not read as a buffer or a scalar",
                     k->root, id);
        ok = false;
    }
    if (w != p) { /* nested: the outer plan shares the inner one's roles */
        p->role = w->role;
        p->alias = w->alias;
        w->role = NULL;
        w->alias = NULL;
        p->order = llmc_xmalloc(sizeof *p->order);
        p->sub = w;
    }
    if (!ok) plan_free(p);
    return ok;
}

/* --- emission ---------------------------------------------------------------------- */

/* The reduction's combine step: acc (+) v in the accumulator's dtype. */
static LLVMValueRef combine(const CcEmit *e, const Plan *p, LLVMValueRef acc, LLVMValueRef v) {
    LLVMBuilderRef b = e->b;
    bool is_int = p->dt == IR_DTYPE_I32;
    if (p->op == IR_OP_REDUCE_SUM) return is_int ? LLVMBuildAdd(b, acc, v, "acc") : LLVMBuildFAdd(b, acc, v, "acc");
    if (is_int) return LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSGT, v, acc, ""), v, acc, "acc");
    /* take v when acc is not nan and (v > acc or v is nan): fcmp ugt is "v > acc or
     * either is nan", fcmp ord acc, acc is "acc is not nan". */
    LLVMValueRef take = LLVMBuildAnd(b, LLVMBuildFCmp(b, LLVMRealUGT, v, acc, ""),
                                     LLVMBuildFCmp(b, LLVMRealORD, acc, acc, ""), "");
    return LLVMBuildSelect(b, take, v, acc, "acc");
}

/* The reduced value at element index `at` of the operand (e->lanes wide). */
static LLVMValueRef emit_accumulate(CcEmit *e, const Plan *p, LLVMValueRef fn, LLVMValueRef first, const char *tag);

static LLVMValueRef operand_at(CcEmit *e, const Plan *p, LLVMValueRef fn, LLVMValueRef at) {
    if (p->sub) { /* nested: the inner reduction's output element `at`, accumulated here */
        LLVMTypeRef i64 = LLVMInt64TypeInContext(e->ctx);
        const Plan *q = p->sub;
        LLVMValueRef qi = LLVMConstInt(i64, (unsigned long long)q->inner, 0);
        LLVMValueRef o = LLVMBuildUDiv(e->b, at, qi, "");
        LLVMValueRef j = LLVMBuildSub(e->b, at, LLVMBuildMul(e->b, o, qi, ""), "");
        LLVMValueRef first =
            LLVMBuildAdd(e->b, LLVMBuildMul(e->b, o, LLVMConstInt(i64, (unsigned long long)(q->len * q->inner), 0), ""),
                         j, "first.in");
        return emit_accumulate(e, q, fn, first, "in");
    }
    memset(e->val, 0, p->g->n_nodes * sizeof *e->val);
    e->idx = at;
    for (uint32_t k = 0; k < p->n_order; k++) cc_cg_value(e, p->order[k]);
    return cc_cg_value(e, p->x);
}

/* One reduction from operand element `first`: acc = x[first]; for i in 1..len-1:
 * acc = combine(acc, x[first + i*inner]). Returns acc, the builder at the end of the
 * loop. */
static LLVMValueRef emit_accumulate(CcEmit *e, const Plan *p, LLVMValueRef fn, LLVMValueRef first, const char *tag) {
    LLVMContextRef ctx = e->ctx;
    LLVMBuilderRef b = e->b;
    LLVMTypeRef i64 = LLVMInt64TypeInContext(ctx);
    LLVMValueRef acc0 = operand_at(e, p, fn, first);
    LLVMValueRef acc = acc0;
    if (p->len > 1) {
        char name[32];
        LLVMBasicBlockRef pre = LLVMGetInsertBlock(b);
        snprintf(name, sizeof name, "%s.red", tag);
        LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(ctx, fn, name);
        snprintf(name, sizeof name, "%s.done", tag);
        LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(ctx, fn, name);
        LLVMBuildBr(b, body);
        LLVMPositionBuilderAtEnd(b, body);
        LLVMValueRef i = LLVMBuildPhi(b, i64, "r");
        LLVMValueRef a = LLVMBuildPhi(b, LLVMTypeOf(acc0), "a");
        LLVMValueRef at = LLVMBuildAdd(b, first, LLVMBuildMul(b, i, LLVMConstInt(i64, (unsigned long long)p->inner, 0), ""), "");
        LLVMValueRef next = combine(e, p, a, operand_at(e, p, fn, at));
        LLVMValueRef inext = LLVMBuildAdd(b, i, LLVMConstInt(i64, 1, 0), "r.next");
        LLVMBasicBlockRef last = LLVMGetInsertBlock(b);
        LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, inext, LLVMConstInt(i64, (unsigned long long)p->len, 0), ""),
                        body, done);
        LLVMValueRef iv[2] = {LLVMConstInt(i64, 1, 0), inext};
        LLVMValueRef av[2] = {acc0, next};
        LLVMBasicBlockRef from[2] = {pre, last};
        LLVMAddIncoming(i, iv, from, 2);
        LLVMAddIncoming(a, av, from, 2);
        LLVMPositionBuilderAtEnd(b, done);
        acc = next;
    }
    return acc;
}

/* One reduction body at output index idx (emit_accumulate); out[idx] = acc. Leaves the
 * builder at the end of the block that did the store. */
static void emit_reduction(CcEmit *e, const Plan *p, LLVMValueRef fn, LLVMValueRef out_ptr, LLVMValueRef idx,
                           LLVMValueRef first, const char *tag) {
    LLVMBuilderRef b = e->b;
    LLVMValueRef acc = emit_accumulate(e, p, fn, first, tag);
    LLVMValueRef ptr = LLVMBuildGEP2(b, cc_cg_elem_type(e, p->dt), out_ptr, &idx, 1, "");
    LLVMValueRef st = LLVMBuildStore(b, acc, ptr);
    LLVMSetAlignment(st, (unsigned)ir_dtype_size(p->dt));
}

/* W as in codegen_elementwise.c: 4-byte dtypes set it when present. */
static unsigned kernel_lanes(const Plan *p, bool avx512) {
    bool narrow = ir_dtype_size(p->dt) == 4;
    for (IrId id = 0; id < p->g->n_nodes; id++)
        if (p->role[id] != CC_ROLE_NONE && ir_dtype_size(ir_graph_node(p->g, id)->type.dtype) == 4) narrow = true;
    return (narrow ? 8u : 4u) * (avx512 ? 2u : 1u);
}

/* --- reductions along the row (inner = 1), W lanes at a time -------------------------
 * Shared by REDUCE kernels whose reduced axis is the last one and by ROW kernels: the
 * operand's elements first + j, j in [0, len), are contiguous. The operand is computed W
 * elements at a time (vector bodies at j = 0, W, 2W, .. while j + W <= len), then the
 * len % W tail elements one at a time (scalar bodies doing the same IEEE operations per
 * element). Which body computes an element, and so every bit of the result, depends only
 * on len and W, never on which rows a call gets. The orders (banner of this file):
 *   - f32 / i32 reduce_sum: W lane accumulators starting at the identity -0.0 (0); lane l
 *     adds elements l, l + W, l + 2W, .. in ascending order (the tail element vlen + l,
 *     vlen = len - len % W, goes to lane l last); then a halving tree: for h = W/2, W/4,
 *     .., 1: lane l = lane l + lane l + h (l < h); the result is lane 0. x + -0.0 is x for
 *     every x (-0 kept), so lanes that get no element (len < W) change nothing.
 *   - f64 reduce_sum: the scalar order, acc = -0.0 + x[0] + x[1] + .. left to right
 *     (the interpreter's bits); only the operand's computation is vectorized.
 *   - reduce_max: W lane accumulators starting at -inf (i32: INT32_MIN), each combining
 *     its elements in ascending order with the rule of combine() (first nan wins and
 *     sticks, of equal values the first wins); floats also keep the index of each lane's
 *     winner; the same halving tree then takes lane l + h over lane l when it is the
 *     scalar rule's winner: a greater value or a nan over a non-nan, or equal values (or
 *     two nans) with the smaller index. So the result is the element the scalar left-to-
 *     right scan picks, bit for bit (-0 / +0 ties and nan payloads included).
 * Chains (CC_ROLE_BCAST) of the operand's shape whose row map is affine (row_chain_stride)
 * are read at their row base plus j * stride: stride 1 a contiguous vector load, stride 0
 * one scalar load per row, splatted; other strides, and chains that are not affine,
 * element by element (load_bcast's gather). */

typedef struct RowVec {
    unsigned W;          /* lanes of the vector bodies */
    IrId *chain;         /* [n_chain] BCAST members of the row's shape with an affine row map */
    int64_t *stride;     /* [n_chain] source elements per row element (0: the row repeats one) */
    LLVMValueRef *at;    /* [n_chain] i64 source index of the row's element 0 (this row) */
    LLVMValueRef *value; /* [n_chain] stride 0: the value, loaded once per row */
    uint32_t n_chain;
    /* ROW kernels: X-shaped members kept in a row buffer (row_plan_cache) */
    IrId *keep;          /* [n_keep] */
    uint32_t *keep_at;   /* [n_keep] the phase that computes and stores them; later ones load */
    LLVMValueRef *buf;   /* [n_keep] their buffers, [len] elements each (entry-block allocas) */
    uint32_t n_keep;
    uint32_t phase;      /* the phase being emitted */
} RowVec;

static void row_major(const IrType *t, int64_t *strides) {
    int64_t s = 1;
    for (uint32_t k = t->rank; k-- > 0;) {
        strides[k] = s;
        s *= t->dims[k];
    }
}

/* Chain `top` (shape X = [..., len], movement members down to src): the source index of
 * X's flat index i0 + j is that of i0 plus j * stride, for every row start i0 = o * len
 * and j in [0, len). The row axis is followed down the chain as a flat stride s (1 at the
 * top): a reshape keeps the flat index; a permute or broadcast needs the result axis of
 * stride s and extent len (the row axis there; every row start has coordinate 0 on it),
 * which a permute moves to operand axis perm[a] and a broadcast to the operand axis
 * mapped to it, or drops (no such axis, or extent 1: stride 0, the row repeats one
 * source element). -1 when no axis carries the row (a reshape split it): not affine. */
static int64_t row_chain_stride(const IrGraph *g, IrId top, IrId src) {
    const IrType *xt = &ir_graph_node(g, top)->type;
    int64_t len = xt->dims[xt->rank - 1], s = 1;
    for (IrId m = top; m != src; m = ir_graph_node(g, m)->operands[0]) {
        const IrNode *n = ir_graph_node(g, m);
        if (n->op == IR_OP_RESHAPE) continue;
        const IrType *rt = &n->type, *st = &ir_graph_node(g, n->operands[0])->type;
        int64_t rs[IR_MAX_RANK], ss[IR_MAX_RANK];
        row_major(rt, rs);
        row_major(st, ss);
        int64_t a = -1;
        for (uint32_t k = 0; k < rt->rank; k++)
            if (rs[k] == s && rt->dims[k] == len) a = k;
        if (a < 0) return -1;
        if (n->op == IR_OP_PERMUTE) {
            s = ss[n->attrs.permute.perm.v[a]];
            continue;
        }
        LLMC_ASSERT(n->op == IR_OP_BROADCAST);
        int64_t b = -1;
        for (uint32_t k = 0; k < st->rank; k++)
            if (n->attrs.broadcast.dims.v[k] == a) b = k;
        if (b < 0 || st->dims[b] == 1) return 0;
        s = ss[b];
    }
    return s;
}

/* The BCAST members of shape xt in role[] with an affine row map. */
static void row_vec_init(RowVec *rv, const IrGraph *g, const uint8_t *role, const IrId *alias, const IrType *xt,
                         unsigned W) {
    memset(rv, 0, sizeof *rv);
    rv->W = W;
    rv->chain = llmc_xmalloc((g->n_nodes + 1) * sizeof *rv->chain);
    rv->stride = llmc_xmalloc((g->n_nodes + 1) * sizeof *rv->stride);
    for (IrId id = 0; id < g->n_nodes; id++) {
        if (role[id] != CC_ROLE_BCAST || !ir_type_same_shape(&ir_graph_node(g, id)->type, xt)) continue;
        int64_t s = row_chain_stride(g, id, alias[id]);
        if (s < 0) continue;
        rv->chain[rv->n_chain] = id;
        rv->stride[rv->n_chain++] = s;
    }
    rv->at = llmc_xcalloc(rv->n_chain + 1, sizeof *rv->at);
    rv->value = llmc_xcalloc(rv->n_chain + 1, sizeof *rv->value);
}

static void row_vec_free(RowVec *rv) {
    free(rv->keep);
    free(rv->keep_at);
    free(rv->buf);
    free(rv->chain);
    free(rv->stride);
    free(rv->at);
    free(rv->value);
    memset(rv, 0, sizeof *rv);
}

/* At the start of a row (first: its element 0): the chains' row bases, stride-0 values. */
static void row_vec_begin(CcEmit *e, RowVec *rv, LLVMValueRef first) {
    for (uint32_t c = 0; c < rv->n_chain; c++) {
        IrId id = rv->chain[c], src = e->alias[id];
        rv->at[c] = cc_cg_chain_index(e, id, src, first);
        if (rv->stride[c] != 0) continue;
        IrDtype dt = ir_graph_node(e->g, src)->type.dtype;
        LLVMTypeRef et = cc_cg_elem_type(e, dt);
        LLVMValueRef v = LLVMBuildLoad2(e->b, et, LLVMBuildGEP2(e->b, et, e->base[src], &rv->at[c], 1, ""), "row.bc");
        LLVMSetAlignment(v, (unsigned)ir_dtype_size(dt));
        rv->value[c] = v;
    }
}

/* Starts a body at row element j (i64) of the row at `first`, e->lanes wide: clears the
 * memo, sets e->idx and presets the affine chains' values. */
static void row_vec_body(CcEmit *e, const RowVec *rv, LLVMValueRef first, LLVMValueRef j) {
    LLVMBuilderRef b = e->b;
    LLVMTypeRef i64 = LLVMInt64TypeInContext(e->ctx), i32 = LLVMInt32TypeInContext(e->ctx);
    memset(e->val, 0, e->g->n_nodes * sizeof *e->val);
    e->idx = LLVMBuildAdd(b, first, j, "at");
    for (uint32_t c = 0; c < rv->n_chain; c++) {
        IrId id = rv->chain[c], src = e->alias[id];
        IrDtype dt = ir_graph_node(e->g, src)->type.dtype;
        LLVMTypeRef et = cc_cg_elem_type(e, dt);
        int64_t s = rv->stride[c];
        LLVMValueRef v;
        if (s == 0) {
            v = cc_cg_splat(e, rv->value[c]);
        } else if (s == 1 || !e->lanes) {
            LLVMValueRef si = LLVMBuildAdd(b, rv->at[c], s == 1 ? j : LLVMBuildMul(b, j, LLVMConstInt(i64, (unsigned long long)s, 0), ""), "");
            v = LLVMBuildLoad2(b, cc_cg_val_type(e, dt), LLVMBuildGEP2(b, et, e->base[src], &si, 1, ""), "row.ld");
            LLVMSetAlignment(v, (unsigned)ir_dtype_size(dt));
        } else { /* strided: one load per lane */
            v = LLVMGetPoison(cc_cg_val_type(e, dt));
            for (unsigned l = 0; l < e->lanes; l++) {
                LLVMValueRef jl = LLVMBuildAdd(b, j, LLVMConstInt(i64, l, 0), "");
                LLVMValueRef si = LLVMBuildAdd(b, rv->at[c], LLVMBuildMul(b, jl, LLVMConstInt(i64, (unsigned long long)s, 0), ""), "");
                LLVMValueRef x = LLVMBuildLoad2(b, et, LLVMBuildGEP2(b, et, e->base[src], &si, 1, ""), "");
                LLVMSetAlignment(x, (unsigned)ir_dtype_size(dt));
                v = LLVMBuildInsertElement(b, v, x, LLVMConstInt(i32, l, 0), "");
            }
        }
        e->val[id] = v;
    }
    for (uint32_t c = 0; c < rv->n_keep; c++) {
        if (rv->keep_at[c] >= rv->phase) continue;
        IrDtype dt = ir_graph_node(e->g, rv->keep[c])->type.dtype;
        LLVMValueRef v = LLVMBuildLoad2(b, cc_cg_val_type(e, dt),
                                        LLVMBuildGEP2(b, cc_cg_elem_type(e, dt), rv->buf[c], &j, 1, ""), "row.kept");
        LLVMSetAlignment(v, (unsigned)ir_dtype_size(dt));
        e->val[rv->keep[c]] = v;
    }
}

/* Ends a body of the phase that computes kept members: stores them at row element j. */
static void row_vec_keep(CcEmit *e, const RowVec *rv, LLVMValueRef j) {
    for (uint32_t c = 0; c < rv->n_keep; c++) {
        if (rv->keep_at[c] != rv->phase) continue;
        IrId id = rv->keep[c];
        IrDtype dt = ir_graph_node(e->g, id)->type.dtype;
        LLMC_ASSERT(e->val[id] != NULL);
        LLVMValueRef st = LLVMBuildStore(e->b, e->val[id], LLVMBuildGEP2(e->b, cc_cg_elem_type(e, dt), rv->buf[c], &j, 1, ""));
        LLVMSetAlignment(st, (unsigned)ir_dtype_size(dt));
    }
}

/* Max with the first-wins rule across two candidates (a, ia) and (v, iv) whose order is
 * not known: take v when it is greater, a nan over a non-nan, or the same value (or both
 * nan) at a smaller index. Vectors or scalars. */
static LLVMValueRef row_max_take(LLVMBuilderRef b, LLVMValueRef a, LLVMValueRef ia, LLVMValueRef v,
                                 LLVMValueRef iv) {
    LLVMValueRef gt = LLVMBuildAnd(b, LLVMBuildFCmp(b, LLVMRealUGT, v, a, ""), LLVMBuildFCmp(b, LLVMRealORD, a, a, ""), "");
    LLVMValueRef same = LLVMBuildOr(b, LLVMBuildFCmp(b, LLVMRealOEQ, v, a, ""),
                                    LLVMBuildAnd(b, LLVMBuildFCmp(b, LLVMRealUNO, v, v, ""),
                                                 LLVMBuildFCmp(b, LLVMRealUNO, a, a, ""), ""), "");
    return LLVMBuildOr(b, gt, LLVMBuildAnd(b, same, LLVMBuildICmp(b, LLVMIntULT, iv, ia, ""), ""), "take");
}

/* Elements in ascending order: combine() (sum; max: take v when a is not nan and v > a or
 * v is nan), the winner's index kept alongside when `ia` is given. */
static LLVMValueRef row_combine(LLVMBuilderRef b, IrOp op, IrDtype dt, LLVMValueRef a, LLVMValueRef v,
                                LLVMValueRef *ia, LLVMValueRef iv) {
    bool is_int = dt == IR_DTYPE_I32;
    if (op == IR_OP_REDUCE_SUM) return is_int ? LLVMBuildAdd(b, a, v, "acc") : LLVMBuildFAdd(b, a, v, "acc");
    if (is_int) return LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSGT, v, a, ""), v, a, "acc");
    LLVMValueRef take = LLVMBuildAnd(b, LLVMBuildFCmp(b, LLVMRealUGT, v, a, ""), LLVMBuildFCmp(b, LLVMRealORD, a, a, ""), "");
    *ia = LLVMBuildSelect(b, take, iv, *ia, "acc.i");
    return LLVMBuildSelect(b, take, v, a, "acc");
}

/* Reduction q (op, dt, x; len) of the row whose element 0 is at `first`, in the order of
 * this section's banner. Returns the scalar result; the builder is left at the end of the
 * last block emitted. */
static LLVMValueRef row_reduce(CcEmit *e, const Plan *q, const RowVec *rv, LLVMValueRef fn, LLVMValueRef first,
                               const char *tag) {
    LLVMContextRef ctx = e->ctx;
    LLVMBuilderRef b = e->b;
    LLVMTypeRef i64 = LLVMInt64TypeInContext(ctx);
    unsigned W = rv->W;
    int64_t len = q->len, vlen = len - len % (int64_t)W;
    bool is_int = q->dt == IR_DTYPE_I32;
    bool ordered = q->op == IR_OP_REDUCE_SUM && q->dt == IR_DTYPE_F64;
    bool track = q->op == IR_OP_REDUCE_MAX && !is_int;
    LLVMTypeRef it = len <= INT32_MAX ? LLVMInt32TypeInContext(ctx) : i64; /* winner indices */
    LLVMTypeRef et = cc_cg_elem_type(e, q->dt), ivt = LLVMVectorType(it, W);
    LLVMValueRef ident;
    if (q->op == IR_OP_REDUCE_SUM) ident = is_int ? LLVMConstInt(et, 0, 0) : LLVMConstReal(et, -0.0);
    else ident = is_int ? LLVMConstInt(et, (unsigned long long)(int64_t)INT32_MIN, 1) : LLVMConstReal(et, -INFINITY);
    LLVMValueRef lanes_[64], iota_[64];
    LLMC_ASSERT(W <= 64);
    for (unsigned l = 0; l < W; l++) {
        lanes_[l] = ident;
        iota_[l] = LLVMConstInt(it, l, 0);
    }
    LLVMValueRef acc = ordered ? ident : LLVMConstVector(lanes_, W);
    LLVMValueRef aidx = track ? LLVMConstNull(ivt) : NULL;
    char name[40];

    if (vlen > 0) {
        LLVMBasicBlockRef pre = LLVMGetInsertBlock(b);
        snprintf(name, sizeof name, "%s.vec", tag);
        LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(ctx, fn, name);
        snprintf(name, sizeof name, "%s.vdone", tag);
        LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(ctx, fn, name);
        LLVMBuildBr(b, body);
        LLVMPositionBuilderAtEnd(b, body);
        LLVMValueRef j = LLVMBuildPhi(b, i64, "j");
        LLVMValueRef a = LLVMBuildPhi(b, LLVMTypeOf(acc), "a");
        LLVMValueRef ai = track ? LLVMBuildPhi(b, ivt, "a.i") : NULL, ai0 = ai;
        e->lanes = W;
        row_vec_body(e, rv, first, j);
        LLVMValueRef v = cc_cg_value(e, q->x), next;
        row_vec_keep(e, rv, j);
        if (ordered) {
            next = a;
            for (unsigned l = 0; l < W; l++)
                next = LLVMBuildFAdd(b, next, LLVMBuildExtractElement(b, v, LLVMConstInt(i64, l, 0), ""), "acc");
        } else {
            LLVMValueRef iv = NULL;
            if (track) {
                LLVMValueRef js = LLVMBuildTrunc(b, j, it, "");
                if (it == i64) js = j;
                e->lanes = W;
                iv = LLVMBuildAdd(b, cc_cg_splat(e, js), LLVMConstVector(iota_, W), "");
            }
            next = row_combine(b, q->op, q->dt, a, v, &ai, iv);
        }
        LLVMValueRef jn = LLVMBuildAdd(b, j, LLVMConstInt(i64, W, 0), "j.next");
        LLVMBasicBlockRef last = LLVMGetInsertBlock(b);
        LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, jn, LLVMConstInt(i64, (unsigned long long)vlen, 0), ""), body,
                        done);
        LLVMValueRef jv[2] = {LLVMConstInt(i64, 0, 0), jn}, av[2] = {acc, next};
        LLVMBasicBlockRef from[2] = {pre, last};
        LLVMAddIncoming(j, jv, from, 2);
        LLVMAddIncoming(a, av, from, 2);
        if (track) {
            LLVMValueRef iv2[2] = {aidx, ai};
            LLVMAddIncoming(ai0, iv2, from, 2);
            aidx = ai;
        }
        LLVMPositionBuilderAtEnd(b, done);
        acc = next;
    }
    if (vlen < len) { /* the tail: element vlen + l into lane l, scalar bodies */
        LLVMBasicBlockRef pre = LLVMGetInsertBlock(b);
        snprintf(name, sizeof name, "%s.tail", tag);
        LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(ctx, fn, name);
        snprintf(name, sizeof name, "%s.tdone", tag);
        LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(ctx, fn, name);
        LLVMBuildBr(b, body);
        LLVMPositionBuilderAtEnd(b, body);
        LLVMValueRef t = LLVMBuildPhi(b, i64, "t");
        LLVMValueRef a = LLVMBuildPhi(b, LLVMTypeOf(acc), "a");
        LLVMValueRef ai = track ? LLVMBuildPhi(b, ivt, "a.i") : NULL;
        e->lanes = 0;
        row_vec_body(e, rv, first, t);
        LLVMValueRef v = cc_cg_value(e, q->x), next, inext = ai;
        row_vec_keep(e, rv, t);
        if (ordered) {
            next = LLVMBuildFAdd(b, a, v, "acc");
        } else {
            LLVMValueRef lane = LLVMBuildSub(b, t, LLVMConstInt(i64, (unsigned long long)vlen, 0), "lane");
            LLVMValueRef al = LLVMBuildExtractElement(b, a, lane, "");
            LLVMValueRef il = track ? LLVMBuildExtractElement(b, ai, lane, "") : NULL;
            LLVMValueRef ts = !track || it == i64 ? t : LLVMBuildTrunc(b, t, it, "");
            LLVMValueRef r = row_combine(b, q->op, q->dt, al, v, &il, ts);
            next = LLVMBuildInsertElement(b, a, r, lane, "acc");
            if (track) inext = LLVMBuildInsertElement(b, ai, il, lane, "acc.i");
        }
        LLVMValueRef tn = LLVMBuildAdd(b, t, LLVMConstInt(i64, 1, 0), "t.next");
        LLVMBasicBlockRef last = LLVMGetInsertBlock(b);
        LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, tn, LLVMConstInt(i64, (unsigned long long)len, 0), ""), body,
                        done);
        LLVMValueRef tv[2] = {LLVMConstInt(i64, (unsigned long long)vlen, 0), tn}, av[2] = {acc, next};
        LLVMBasicBlockRef from[2] = {pre, last};
        LLVMAddIncoming(t, tv, from, 2);
        LLVMAddIncoming(a, av, from, 2);
        if (track) {
            LLVMValueRef iv2[2] = {aidx, inext};
            LLVMAddIncoming(ai, iv2, from, 2);
            aidx = inext;
        }
        LLVMPositionBuilderAtEnd(b, done);
        acc = next;
    }
    if (ordered) return acc;
    /* the halving tree over the lanes */
    for (unsigned h = W / 2; h >= 1; h /= 2) {
        LLVMValueRef lo_m[32], hi_m[32];
        for (unsigned l = 0; l < h; l++) {
            lo_m[l] = LLVMConstInt(LLVMInt32TypeInContext(ctx), l, 0);
            hi_m[l] = LLVMConstInt(LLVMInt32TypeInContext(ctx), l + h, 0);
        }
        LLVMValueRef lo = LLVMBuildShuffleVector(b, acc, LLVMGetPoison(LLVMTypeOf(acc)), LLVMConstVector(lo_m, h), "");
        LLVMValueRef hi = LLVMBuildShuffleVector(b, acc, LLVMGetPoison(LLVMTypeOf(acc)), LLVMConstVector(hi_m, h), "");
        if (track) {
            LLVMValueRef ilo = LLVMBuildShuffleVector(b, aidx, LLVMGetPoison(ivt), LLVMConstVector(lo_m, h), "");
            LLVMValueRef ihi = LLVMBuildShuffleVector(b, aidx, LLVMGetPoison(ivt), LLVMConstVector(hi_m, h), "");
            LLVMValueRef take = row_max_take(b, lo, ilo, hi, ihi);
            acc = LLVMBuildSelect(b, take, hi, lo, "tree");
            aidx = LLVMBuildSelect(b, take, ihi, ilo, "tree.i");
            ivt = LLVMTypeOf(aidx);
        } else {
            LLVMValueRef dummy = NULL;
            acc = row_combine(b, q->op, q->dt, lo, hi, &dummy, NULL);
        }
        if (h == 1) break;
    }
    return LLVMBuildExtractElement(b, acc, LLVMConstInt(i64, 0, 0), "red");
}

static void build_kernel(LLVMContextRef ctx, LLVMModuleRef mod, const Plan *p, const char *name, bool avx512) {
    CcEmit e = {.ctx = ctx, .mod = mod, .g = p->g, .role = p->role, .alias = p->alias};
    e.b = LLVMCreateBuilderInContext(ctx);
    e.base = llmc_xcalloc(p->g->n_nodes, sizeof *e.base);
    e.val = llmc_xcalloc(p->g->n_nodes, sizeof *e.val);
    unsigned W = kernel_lanes(p, avx512);
    bool vec = p->inner >= (int64_t)W && !p->sub; /* a vector body can ever apply (nested: scalar) */
    bool along = p->inner == 1 && !p->sub;        /* the last axis: vectorized along the row */
    RowVec rv;
    if (along) row_vec_init(&rv, p->g, p->role, p->alias, &ir_graph_node(p->g, p->x)->type, W);
    LLVMBuilderRef b = e.b;

    LLVMTypeRef ptr_t = LLVMPointerTypeInContext(ctx, 0);
    LLVMTypeRef i64 = LLVMInt64TypeInContext(ctx);
    LLVMTypeRef params[3] = {ptr_t, i64, i64};
    LLVMTypeRef fty = LLVMFunctionType(LLVMVoidTypeInContext(ctx), params, 3, 0);
    LLVMValueRef fn = LLVMAddFunction(mod, name, fty);
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                            LLVMCreateEnumAttribute(ctx, LLVMGetEnumAttributeKindForName("nounwind", 8), 0));
    if (avx512) {
        const char *k = "prefer-vector-width", *v = "512";
        LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                                LLVMCreateStringAttribute(ctx, k, (unsigned)strlen(k), v, (unsigned)strlen(v)));
    }
    LLVMValueRef bufs = LLVMGetParam(fn, 0), begin = LLVMGetParam(fn, 1), end = LLVMGetParam(fn, 2);
    LLVMSetValueName2(bufs, "bufs", 4);
    LLVMSetValueName2(begin, "begin", 5);
    LLVMSetValueName2(end, "end", 3);

    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(ctx, fn, "entry");
    LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(ctx, fn, "out.head");
    LLVMBasicBlockRef pick = LLVMAppendBasicBlockInContext(ctx, fn, "out.body");
    LLVMBasicBlockRef vbody = vec ? LLVMAppendBasicBlockInContext(ctx, fn, "vec") : NULL;
    LLVMBasicBlockRef sbody = LLVMAppendBasicBlockInContext(ctx, fn, "scalar");
    LLVMBasicBlockRef latch = LLVMAppendBasicBlockInContext(ctx, fn, "out.next");
    LLVMBasicBlockRef exit = LLVMAppendBasicBlockInContext(ctx, fn, "exit");

    /* entry: buffer pointers, rank-0 inputs loaded once */
    LLVMPositionBuilderAtEnd(b, entry);
    LLVMValueRef out_ptr = NULL;
    for (uint32_t k = 0; k <= p->n_inputs; k++) {
        LLVMValueRef ix = LLVMConstInt(i64, k, 0);
        LLVMValueRef slot = LLVMBuildGEP2(b, ptr_t, bufs, &ix, 1, "");
        LLVMValueRef ptr = LLVMBuildLoad2(b, ptr_t, slot, k < p->n_inputs ? "in" : "out");
        if (k == p->n_inputs) {
            out_ptr = ptr;
            break;
        }
        IrId id = p->inputs[k];
        if (p->role[id] == CC_ROLE_SCALAR) {
            IrDtype dt = ir_graph_node(p->g, id)->type.dtype;
            e.lanes = 0;
            LLVMValueRef v = LLVMBuildLoad2(b, cc_cg_elem_type(&e, dt), ptr, "scalar");
            LLVMSetAlignment(v, (unsigned)ir_dtype_size(dt));
            e.base[id] = v;
        } else {
            e.base[id] = ptr;
        }
    }
    LLVMBuildBr(b, head);

    /* out.head: idx over [begin, end) */
    LLVMPositionBuilderAtEnd(b, head);
    LLVMValueRef idx = LLVMBuildPhi(b, i64, "idx");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, idx, end, ""), pick, exit);

    /* out.body: o = idx / inner, j = idx % inner, first = o*len*inner + j */
    LLVMPositionBuilderAtEnd(b, pick);
    LLVMValueRef inner = LLVMConstInt(i64, (unsigned long long)p->inner, 0);
    LLVMValueRef o = LLVMBuildUDiv(b, idx, inner, "o");
    LLVMValueRef j = LLVMBuildSub(b, idx, LLVMBuildMul(b, o, inner, ""), "j");
    LLVMValueRef first = LLVMBuildAdd(
        b, LLVMBuildMul(b, o, LLVMConstInt(i64, (unsigned long long)(p->len * p->inner), 0), ""), j, "first");
    if (vec) {
        LLVMValueRef wc = LLVMConstInt(i64, W, 0);
        LLVMValueRef fits_row = LLVMBuildICmp(b, LLVMIntSLE, LLVMBuildAdd(b, j, wc, ""), inner, "");
        LLVMValueRef fits_range = LLVMBuildICmp(b, LLVMIntSLE, LLVMBuildAdd(b, idx, wc, ""), end, "");
        LLVMBuildCondBr(b, LLVMBuildAnd(b, fits_row, fits_range, ""), vbody, sbody);
    } else {
        LLVMBuildBr(b, sbody);
    }

    LLVMValueRef nexts[2];
    LLVMBasicBlockRef froms[2];
    unsigned n_from = 0;
    if (vec) {
        LLVMPositionBuilderAtEnd(b, vbody);
        e.lanes = W;
        emit_reduction(&e, p, fn, out_ptr, idx, first, "vec");
        nexts[n_from] = LLVMBuildAdd(b, idx, LLVMConstInt(i64, W, 0), "");
        froms[n_from++] = LLVMGetInsertBlock(b);
        LLVMBuildBr(b, latch);
    }
    LLVMPositionBuilderAtEnd(b, sbody);
    e.lanes = 0;
    if (along) {
        row_vec_begin(&e, &rv, first);
        LLVMValueRef acc = row_reduce(&e, p, &rv, fn, first, "row");
        LLVMValueRef st = LLVMBuildStore(b, acc, LLVMBuildGEP2(b, cc_cg_elem_type(&e, p->dt), out_ptr, &idx, 1, ""));
        LLVMSetAlignment(st, (unsigned)ir_dtype_size(p->dt));
    } else {
        emit_reduction(&e, p, fn, out_ptr, idx, first, "scalar");
    }
    nexts[n_from] = LLVMBuildAdd(b, idx, LLVMConstInt(i64, 1, 0), "");
    froms[n_from++] = LLVMGetInsertBlock(b);
    LLVMBuildBr(b, latch);

    LLVMPositionBuilderAtEnd(b, latch);
    LLVMValueRef idx_next = LLVMBuildPhi(b, i64, "idx.next");
    LLVMAddIncoming(idx_next, nexts, froms, n_from);
    LLVMBuildBr(b, head);
    LLVMValueRef hv[2] = {begin, idx_next};
    LLVMBasicBlockRef hf[2] = {entry, latch};
    LLVMAddIncoming(idx, hv, hf, 2);

    LLVMPositionBuilderAtEnd(b, exit);
    LLVMBuildRetVoid(b);

    if (along) row_vec_free(&rv);
    LLVMDisposeBuilder(b);
    free(e.base);
    free(e.val);
}

LLVMModuleRef cc_reduce_module(const CcJit *jit, LLVMContextRef ctx, const IrGraph *g, const CcKernel *k,
                               LlmcErr *err) {
    Plan p;
    if (!plan_build(&p, g, k, err)) return NULL;
    LLVMModuleRef mod = LLVMModuleCreateWithNameInContext("llmc_red", ctx);
    build_kernel(ctx, mod, &p, "llmc_red", cc_jit_has_avx512(jit));
    plan_free(&p);
    return mod;
}

bool cc_codegen_reduce(CcJit *jit, const IrGraph *g, const CcKernel *k, CcKernelFn *fn, LlmcErr *err) {
    LLVMOrcThreadSafeContextRef tsctx = LLVMOrcCreateNewThreadSafeContext();
    LLVMModuleRef mod = cc_reduce_module(jit, LLVMOrcThreadSafeContextGetContext(tsctx), g, k, err);
    return cc_jit_add_kernel(jit, mod, tsctx, "llmc_red", fn, err);
}

char *cc_codegen_reduce_ir(CcJit *jit, const IrGraph *g, const CcKernel *k, bool optimize, LlmcErr *err) {
    return cc_kernel_text(jit, g, k, 0, optimize ? CC_TEXT_LLVM_OPT : CC_TEXT_LLVM, err);
}

/* --- ROW kernels (fuse.c rule 4b) ---------------------------------------------------
 * X = [..., len] is the operand shape of the kernel's reductions (all last-axis, all over
 * X); a row shape is X with the last dimension 1 or dropped (one value per row). Per row
 * o in [begin, end), one phase per row value in ascending id:
 *   - a reduction: its operand computed along the row W elements at a time (then the
 *     len % W tail one at a time) and accumulated in the order of "reductions along the
 *     row" above (row_reduce): f32/i32 sums in W lanes, lane l adding elements l, l + W,
 *     .. ascending from -0.0, then the halving tree lane l += lane l + h for h = W/2 .. 1;
 *     f64 sums left to right; maxima lane-wise with the first-wins rule, exact;
 *   - a row-shaped elementwise op, a row-shaped input read at o, a reshape of a row value,
 *     a rank-0 broadcast: computed once at index o (scalar);
 * each then frozen (CC_ROLE_SCALAR: its value for the rest of the row); row-shaped outputs
 * are stored at o. Then, if the kernel has X-shaped outputs, one loop over the row's
 * elements stores them, W at a time, then the tail one at a time (the same IEEE operations
 * per element in both bodies); broadcasts of row values read the frozen values
 * (CC_ROLE_ALIAS). The order depends only on len and W, so any split of the rows over
 * calls or threads gives the same bytes. Chains of shape X are read at their row base
 * plus j * stride when their row map is affine (contiguous loads for stride 1, one value
 * per row for stride 0: a gain/bias vector, a row-broadcast input), else gathered.
 * X-shaped values are recomputed in each phase that reads them, except transcendental
 * ones (exp, log, ..) read by several phases, which the first such phase stores in a
 * stack buffer of one row that later phases load (row_plan_keep; at most ROW_KEEP_BYTES).
 * Members (what cc_row_supported accepts; fuse.c asks it): the reductions; elementwise ops
 * of shape X or of a row shape; a broadcast of a row value to X keeping the leading axes
 * (identity map); a reshape of a row value to a row shape; chains of broadcast, reshape and
 * permute members over a kernel input or a splat constant whose top has shape X or a row
 * shape (index arithmetic at that phase's index; over a rank-0 value a repeat); a reshape
 * of an X-shaped member (an output of another shape: the same bytes, stored with the
 * row's elements). Outside
 * operands: inputs of the reading member's shape, inputs through chains, splat constants.
 * len must be at least 2 (so X and the row shapes differ). */

typedef struct RowPlan {
    Plan p;           /* g, role, alias, inputs; x = the first reduction's operand; len, outer */
    IrId *rows;       /* [n_rows] row values to compute per row, ascending */
    uint32_t n_rows;
    const IrId *outs; /* the kernel's outputs (not owned) */
    uint32_t n_outs;
} RowPlan;

static void row_plan_free(RowPlan *rp) {
    free(rp->rows);
    plan_free(&rp->p);
    memset(rp, 0, sizeof *rp);
}

static bool row_shape_is_row(const IrType *x, const IrType *t) {
    if (t->rank == x->rank) {
        for (uint32_t i = 0; i + 1 < x->rank; i++)
            if (t->dims[i] != x->dims[i]) return false;
        return t->dims[x->rank - 1] == 1;
    }
    if (t->rank + 1 != x->rank) return false;
    for (uint32_t i = 0; i < t->rank; i++)
        if (t->dims[i] != x->dims[i]) return false;
    return true;
}

/* An operand from outside read directly by member `user` at shape `want` (X for a
 * reduction's operand, else the user's own shape). */
static bool row_external(Plan *p, const CcKernel *k, IrId user, IrId o, const IrType *want, LlmcErr *err) {
    const IrGraph *g = p->g;
    const IrNode *n = ir_graph_node(g, o);
    if (p->role[o] == CC_ROLE_CONST || p->role[o] == CC_ROLE_BUFFER) return true;
    if (is_splat_const(n)) {
        p->role[o] = CC_ROLE_CONST;
        return true;
    }
    if (p->role[o] == CC_ROLE_SCALAR || (is_input(k, o) && n->type.rank == 0)) {
        p->role[o] = CC_ROLE_SCALAR; /* rank-0 (X = [len], rows of rank 0): loaded once */
        return true;
    }
    if (!is_input(k, o) || !ir_type_same_shape(&n->type, want)) {
        llmc_err_set(err, "row codegen: kernel (root %%%u): %%%u reads %%%u, not a kernel input of its shape",
                     k->root, user, o);
        return false;
    }
    p->role[o] = CC_ROLE_BUFFER; /* base pointer; an INDEXED role (chains) is subsumed */
    return true;
}

static bool row_plan_build(RowPlan *rp, const IrGraph *g, const CcKernel *k, LlmcErr *err) {
    memset(rp, 0, sizeof *rp);
    Plan *p = &rp->p;
    p->g = g;
    if (k->kind != CC_KERNEL_ROW) {
        llmc_err_set(err, "row codegen: kernel (root %%%u) is %s, not row", k->root, cc_kernel_kind_name(k->kind));
        return false;
    }
    p->red = IR_ID_NONE;
    for (uint32_t i = 0; i < k->n_nodes && p->red == IR_ID_NONE; i++)
        if (ir_op_info(ir_graph_node(g, k->nodes[i])->op)->kind == IR_KIND_REDUCE) p->red = k->nodes[i];
    if (p->red == IR_ID_NONE) {
        llmc_err_set(err, "row codegen: kernel (root %%%u) has no reduction", k->root);
        return false;
    }
    p->x = ir_graph_node(g, p->red)->operands[0];
    p->inputs = k->inputs;
    p->n_inputs = k->n_inputs;
    const IrType *xt = &ir_graph_node(g, p->x)->type;
    if (xt->rank == 0 || xt->dims[xt->rank - 1] < 2) {
        llmc_err_set(err, "row codegen: kernel (root %%%u): rows of fewer than 2 elements", k->root);
        return false;
    }
    p->len = xt->dims[xt->rank - 1];
    p->inner = 1;
    p->outer = ir_type_numel(xt) / p->len;
    p->role = llmc_xcalloc(g->n_nodes, 1);
    p->alias = llmc_xcalloc(g->n_nodes, sizeof *p->alias);
    p->order = llmc_xmalloc(sizeof *p->order);
    rp->rows = llmc_xmalloc((k->n_nodes + 1) * sizeof *rp->rows);
    rp->outs = k->outputs;
    rp->n_outs = k->n_outputs;
    uint8_t *need = llmc_xcalloc(g->n_nodes, 1);
    for (uint32_t i = 0; i < k->n_outputs; i++) need[k->outputs[i]] = 1;
    bool ok = true;
    for (uint32_t i = k->n_nodes; i-- > 0 && ok;) {
        IrId id = k->nodes[i];
        const IrNode *n = ir_graph_node(g, id);
        IrOpKind kind = ir_op_info(n->op)->kind;
        bool is_row = row_shape_is_row(xt, &n->type), is_elem = ir_type_same_shape(&n->type, xt);
        if (kind == IR_KIND_REDUCE) need[id] = 1;
        if (!need[id]) continue; /* below the top of a chain: index arithmetic only */
        if (n->op == IR_OP_RESHAPE && kernel_has(k, n->operands[0]) &&
            ir_type_same_shape(&ir_graph_node(g, n->operands[0])->type, xt)) {
            /* a reshape of an X-shaped member: the same element at the
             * same flat index (row-major order is kept), stored with the row's elements */
            p->role[id] = CC_ROLE_ALIAS;
            p->alias[id] = n->operands[0];
            need[n->operands[0]] = 1;
            continue;
        }
        if (!is_row && !is_elem) {
            llmc_err_set(err, "row codegen: kernel (root %%%u): %%%u = %s has neither the rows' shape nor a row's; "
                              "not supported", k->root, id, ir_op_name(n->op));
            ok = false;
        } else if (kind == IR_KIND_REDUCE) {
            const IrNode *x = ir_graph_node(g, n->operands[0]);
            if ((n->op != IR_OP_REDUCE_SUM && n->op != IR_OP_REDUCE_MAX) ||
                (n->type.dtype != IR_DTYPE_F32 && n->type.dtype != IR_DTYPE_F64 && n->type.dtype != IR_DTYPE_I32) ||
                !ir_type_same_shape(&x->type, xt) || n->attrs.reduce.axis != (int64_t)xt->rank - 1) {
                llmc_err_set(err, "row codegen: kernel (root %%%u): reduction %%%u not supported", k->root, id);
                ok = false;
            } else {
                p->role[id] = CC_ROLE_SCALAR;
                if (kernel_has(k, n->operands[0])) need[n->operands[0]] = 1;
                else ok = row_external(p, k, id, n->operands[0], xt, err);
            }
        } else if (kind == IR_KIND_ELEMENTWISE) {
            p->role[id] = CC_ROLE_COMPUTE;
            for (uint32_t o = 0; o < n->n_operands && ok; o++) {
                IrId x = n->operands[o];
                if (kernel_has(k, x)) need[x] = 1;
                else ok = row_external(p, k, id, x, &n->type, err);
            }
        } else if (is_move(n)) {
            IrId src = n->operands[0];
            const IrNode *sn = ir_graph_node(g, src);
            bool identity = true;
            if (n->op == IR_OP_BROADCAST)
                for (uint32_t d = 0; d < n->attrs.broadcast.dims.n; d++)
                    identity &= n->attrs.broadcast.dims.v[d] == (int64_t)d;
            if (kernel_has(k, src) && row_shape_is_row(xt, &sn->type) &&
                ((n->op == IR_OP_BROADCAST && is_elem && identity) || (n->op == IR_OP_RESHAPE && is_row))) {
                p->role[id] = CC_ROLE_ALIAS; /* the row value, frozen by then */
                p->alias[id] = src;
                need[src] = 1;
            } else {
                ok = plan_move(p, k, id, err);
            }
        } else {
            llmc_err_set(err, "row codegen: kernel (root %%%u) contains %%%u = %s; not supported yet", k->root, id,
                         ir_op_name(n->op));
            ok = false;
        }
        if (ok && is_row) rp->rows[rp->n_rows++] = id;
    }
    free(need);
    /* rows ascending (collected descending) */
    for (uint32_t i = 0; i < rp->n_rows / 2; i++) {
        IrId t = rp->rows[i];
        rp->rows[i] = rp->rows[rp->n_rows - 1 - i];
        rp->rows[rp->n_rows - 1 - i] = t;
    }
    for (uint32_t i = 0; i < k->n_inputs && ok; i++) {
        uint8_t r = p->role[k->inputs[i]];
        if (r != CC_ROLE_BUFFER && r != CC_ROLE_SCALAR && r != CC_ROLE_INDEXED) {
            llmc_err_set(err, "row codegen: kernel (root %%%u): input %%%u is not read as a buffer or a scalar",
                         k->root, k->inputs[i]);
            ok = false;
        }
    }
    if (!ok) {
        if (!err->msg[0]) llmc_err_set(err, "row codegen: kernel (root %%%u) not supported", k->root);
        row_plan_free(rp);
    }
    return ok;
}

bool cc_row_supported(const IrGraph *g, const CcKernel *k, LlmcErr *err) {
    /* Rows are computed in f32 / f64: the only bf16 members are casts to bf16 that no
     * member reads (the cast in front of a bf16 matmul), stored as elementwise kernels
     * store them (codegen_kernel.c refuses anything else). */
    for (uint32_t i = 0; i < k->n_nodes; i++) {
        const IrNode *n = ir_graph_node(g, k->nodes[i]);
        bool bf16_in = false;
        for (uint32_t o = 0; o < n->n_operands; o++) bf16_in |= ir_graph_node(g, n->operands[o])->type.dtype == IR_DTYPE_BF16;
        if (bf16_in || (n->type.dtype == IR_DTYPE_BF16 && !cc_bf16_store_cast(g, k->nodes[i]))) {
            llmc_err_set(err, "row codegen: %%%u computes on bf16; rows are computed in f32 and f64 only", k->nodes[i]);
            return false;
        }
    }
    RowPlan rp;
    if (!row_plan_build(&rp, g, k, err)) return false;
    row_plan_free(&rp);
    return true;
}

static void row_store(CcEmit *e, IrId id, LLVMValueRef ptr, LLVMValueRef at) {
    IrDtype dt = ir_graph_node(e->g, id)->type.dtype;
    LLVMValueRef v = cc_cg_value(e, id);
    LLVMValueRef st = LLVMBuildStore(e->b, v, LLVMBuildGEP2(e->b, cc_cg_elem_type(e, dt), ptr, &at, 1, ""));
    LLVMSetAlignment(st, (unsigned)ir_dtype_size(dt));
}

/* W for a ROW kernel: as codegen_elementwise.c, 4-byte dtypes set it when present. */
static unsigned row_lanes(const Plan *p, bool avx512) {
    bool narrow = false;
    for (IrId id = 0; id < p->g->n_nodes; id++)
        if (p->role[id] != CC_ROLE_NONE && ir_dtype_size(ir_graph_node(p->g, id)->type.dtype) == 4) narrow = true;
    return (narrow ? 8u : 4u) * (avx512 ? 2u : 1u);
}

/* Row buffers: an X-shaped member with a transcendental op (exp, log, tanh, sin, cos,
 * pow) that two or more phases compute (a softmax's exp: its sum's phase and the output
 * loop) is computed by the first of them, which stores it in a buffer of one row, and
 * loaded by the later ones, while the buffers total at most ROW_KEEP_BYTES (a len of 16384
 * f32 keeps one). The loaded values are the stored ones, so the bytes do not change. */
#define ROW_KEEP_BYTES (64 * 1024)

static bool row_costly(IrOp op) {
    return op == IR_OP_EXP || op == IR_OP_LOG || op == IR_OP_TANH || op == IR_OP_SIN || op == IR_OP_COS ||
           op == IR_OP_POW;
}

/* Marks the X-shaped members a phase computes to get node id. */
static void row_mark(const Plan *p, const IrType *xt, IrId id, uint8_t *mark) {
    const IrNode *n = ir_graph_node(p->g, id);
    if (mark[id]) return;
    if (p->role[id] == CC_ROLE_ALIAS) {
        row_mark(p, xt, p->alias[id], mark);
        return;
    }
    if (p->role[id] != CC_ROLE_COMPUTE || !ir_type_same_shape(&n->type, xt)) return;
    mark[id] = 1;
    for (uint32_t o = 0; o < n->n_operands; o++) row_mark(p, xt, n->operands[o], mark);
}

/* Phases: the reductions in rp->rows order (0, 1, ..), then the output loop. */
static void row_plan_keep(const RowPlan *rp, RowVec *rv) {
    const Plan *p = &rp->p;
    const IrGraph *g = p->g;
    const IrType *xt = &ir_graph_node(g, p->x)->type;
    int64_t numel_x = ir_type_numel(xt);
    uint32_t *at = llmc_xmalloc(g->n_nodes * sizeof *at);
    uint8_t *mark = llmc_xmalloc(g->n_nodes), *again = llmc_xcalloc(g->n_nodes, 1);
    for (IrId id = 0; id < g->n_nodes; id++) at[id] = UINT32_MAX;
    uint32_t phase = 0;
    for (uint32_t i = 0; i <= rp->n_rows; i++) {
        memset(mark, 0, g->n_nodes);
        if (i < rp->n_rows) {
            const IrNode *n = ir_graph_node(g, rp->rows[i]);
            if (ir_op_info(n->op)->kind != IR_KIND_REDUCE) continue;
            row_mark(p, xt, n->operands[0], mark);
        } else {
            for (uint32_t k = 0; k < rp->n_outs; k++)
                if (ir_type_numel(&ir_graph_node(g, rp->outs[k])->type) == numel_x) row_mark(p, xt, rp->outs[k], mark);
        }
        for (IrId id = 0; id < g->n_nodes; id++) {
            if (!mark[id]) continue;
            if (at[id] == UINT32_MAX) at[id] = phase;
            else again[id] = 1;
        }
        phase++;
    }
    rv->keep = llmc_xmalloc((g->n_nodes + 1) * sizeof *rv->keep);
    rv->keep_at = llmc_xmalloc((g->n_nodes + 1) * sizeof *rv->keep_at);
    int64_t bytes = 0;
    for (IrId id = 0; id < g->n_nodes; id++) {
        const IrNode *n = ir_graph_node(g, id);
        if (!again[id] || !row_costly(n->op)) continue;
        int64_t b = p->len * (int64_t)ir_dtype_size(n->type.dtype);
        if (bytes + b > ROW_KEEP_BYTES) break;
        bytes += b;
        rv->keep[rv->n_keep] = id;
        rv->keep_at[rv->n_keep++] = at[id];
    }
    rv->buf = llmc_xcalloc(rv->n_keep + 1, sizeof *rv->buf);
    free(at);
    free(mark);
    free(again);
}

/* The X-shaped outputs at row element j (e->lanes wide). */
static void row_store_elems(CcEmit *e, const RowPlan *rp, const RowVec *rv, LLVMValueRef *out_ptr, LLVMValueRef first,
                            LLVMValueRef j, int64_t numel_x) {
    row_vec_body(e, rv, first, j);
    for (uint32_t i = 0; i < rp->n_outs; i++)
        if (ir_type_numel(&ir_graph_node(e->g, rp->outs[i])->type) == numel_x)
            row_store(e, rp->outs[i], out_ptr[i], e->idx);
}

/* A counted loop j = from, from + step, .. while j < to (from < to, constants): the body
 * block's phi, with the builder in the body; row_loop_end closes it. */
typedef struct RowLoop {
    LLVMBasicBlockRef pre, body, done;
    LLVMValueRef j;
    int64_t step, to;
} RowLoop;

static void row_loop_begin(CcEmit *e, LLVMValueRef fn, RowLoop *l, int64_t from, int64_t to, int64_t step,
                           const char *name) {
    LLVMTypeRef i64 = LLVMInt64TypeInContext(e->ctx);
    l->pre = LLVMGetInsertBlock(e->b);
    l->body = LLVMAppendBasicBlockInContext(e->ctx, fn, name);
    l->done = LLVMAppendBasicBlockInContext(e->ctx, fn, name);
    l->step = step;
    l->to = to;
    LLVMBuildBr(e->b, l->body);
    LLVMPositionBuilderAtEnd(e->b, l->body);
    l->j = LLVMBuildPhi(e->b, i64, "j");
    LLVMValueRef v0 = LLVMConstInt(i64, (unsigned long long)from, 0);
    LLVMAddIncoming(l->j, &v0, &l->pre, 1);
}

static void row_loop_end(CcEmit *e, RowLoop *l) {
    LLVMTypeRef i64 = LLVMInt64TypeInContext(e->ctx);
    LLVMValueRef jn = LLVMBuildAdd(e->b, l->j, LLVMConstInt(i64, (unsigned long long)l->step, 0), "j.next");
    LLVMBasicBlockRef last = LLVMGetInsertBlock(e->b);
    LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, jn, LLVMConstInt(i64, (unsigned long long)l->to, 0), ""),
                    l->body, l->done);
    LLVMAddIncoming(l->j, &jn, &last, 1);
    LLVMPositionBuilderAtEnd(e->b, l->done);
}

static void build_row_kernel(LLVMContextRef ctx, LLVMModuleRef mod, RowPlan *rp, const char *name, bool avx512) {
    Plan *p = &rp->p;
    const IrGraph *g = p->g;
    const IrType *xt = &ir_graph_node(g, p->x)->type;
    CcEmit e = {.ctx = ctx, .mod = mod, .g = g, .role = p->role, .alias = p->alias};
    e.b = LLVMCreateBuilderInContext(ctx);
    e.base = llmc_xcalloc(g->n_nodes, sizeof *e.base);
    e.val = llmc_xcalloc(g->n_nodes, sizeof *e.val);
    unsigned W = row_lanes(p, avx512);
    RowVec rv;
    row_vec_init(&rv, g, p->role, p->alias, xt, W);
    row_plan_keep(rp, &rv);
    LLVMBuilderRef b = e.b;
    LLVMTypeRef ptr_t = LLVMPointerTypeInContext(ctx, 0);
    LLVMTypeRef i64 = LLVMInt64TypeInContext(ctx);
    LLVMTypeRef params[3] = {ptr_t, i64, i64};
    LLVMValueRef fn = LLVMAddFunction(mod, name, LLVMFunctionType(LLVMVoidTypeInContext(ctx), params, 3, 0));
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                            LLVMCreateEnumAttribute(ctx, LLVMGetEnumAttributeKindForName("nounwind", 8), 0));
    if (avx512) {
        const char *k = "prefer-vector-width", *v = "512";
        LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                                LLVMCreateStringAttribute(ctx, k, (unsigned)strlen(k), v, (unsigned)strlen(v)));
    }
    LLVMValueRef bufs = LLVMGetParam(fn, 0), begin = LLVMGetParam(fn, 1), end = LLVMGetParam(fn, 2);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(ctx, fn, "entry");
    LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(ctx, fn, "row.head");
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(ctx, fn, "row.body");
    LLVMBasicBlockRef exit = LLVMAppendBasicBlockInContext(ctx, fn, "exit");

    LLVMPositionBuilderAtEnd(b, entry);
    for (uint32_t c = 0; c < rv.n_keep; c++) {
        LLVMTypeRef et = cc_cg_elem_type(&e, ir_graph_node(g, rv.keep[c])->type.dtype);
        rv.buf[c] = LLVMBuildAlloca(b, LLVMArrayType2(et, (uint64_t)p->len), "row.buf");
        LLVMSetAlignment(rv.buf[c], 64);
    }
    LLVMValueRef *out_ptr = llmc_xcalloc(rp->n_outs ? rp->n_outs : 1, sizeof *out_ptr);
    for (uint32_t k = 0; k < p->n_inputs + rp->n_outs; k++) {
        LLVMValueRef ix = LLVMConstInt(i64, k, 0);
        LLVMValueRef ptr = LLVMBuildLoad2(b, ptr_t, LLVMBuildGEP2(b, ptr_t, bufs, &ix, 1, ""), "buf");
        if (k >= p->n_inputs) {
            out_ptr[k - p->n_inputs] = ptr;
            continue;
        }
        IrId id = p->inputs[k];
        if (p->role[id] == CC_ROLE_SCALAR) {
            IrDtype dt = ir_graph_node(g, id)->type.dtype;
            e.lanes = 0;
            LLVMValueRef v = LLVMBuildLoad2(b, cc_cg_elem_type(&e, dt), ptr, "scalar");
            LLVMSetAlignment(v, (unsigned)ir_dtype_size(dt));
            e.base[id] = v;
        } else {
            e.base[id] = ptr;
        }
    }
    LLVMBuildBr(b, head);

    LLVMPositionBuilderAtEnd(b, head);
    LLVMValueRef o = LLVMBuildPhi(b, i64, "o");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, o, end, ""), body, exit);

    /* the row's values, ascending: reductions accumulated along the row (row_reduce), the
     * others computed at o; each frozen as a scalar */
    LLVMPositionBuilderAtEnd(b, body);
    e.lanes = 0;
    LLVMValueRef first = LLVMBuildMul(b, o, LLVMConstInt(i64, (unsigned long long)p->len, 0), "first");
    row_vec_begin(&e, &rv, first);
    rv.phase = 0;
    for (uint32_t i = 0; i < rp->n_rows; i++) {
        IrId id = rp->rows[i];
        const IrNode *n = ir_graph_node(g, id);
        LLVMValueRef v;
        if (ir_op_info(n->op)->kind == IR_KIND_REDUCE) {
            Plan q = *p;
            q.red = id;
            q.x = n->operands[0];
            q.op = n->op;
            q.dt = n->type.dtype;
            q.n_order = 0;
            char tag[24];
            snprintf(tag, sizeof tag, "row%u", i);
            v = row_reduce(&e, &q, &rv, fn, first, tag);
            rv.phase++;
        } else {
            memset(e.val, 0, g->n_nodes * sizeof *e.val);
            e.lanes = 0;
            e.idx = o;
            v = cc_cg_value(&e, id);
        }
        p->role[id] = CC_ROLE_SCALAR;
        e.base[id] = v;
    }
    memset(e.val, 0, g->n_nodes * sizeof *e.val);
    e.lanes = 0;
    e.idx = o;
    bool any_elem = false;
    int64_t numel_x = ir_type_numel(xt);
    for (uint32_t i = 0; i < rp->n_outs; i++) {
        if (ir_type_numel(&ir_graph_node(g, rp->outs[i])->type) == numel_x) any_elem = true;
        else row_store(&e, rp->outs[i], out_ptr[i], o);
    }

    /* the row's elements: W at a time, then the tail one at a time */
    if (any_elem) {
        int64_t vlen = p->len - p->len % (int64_t)W;
        RowLoop l;
        if (vlen > 0) {
            row_loop_begin(&e, fn, &l, 0, vlen, W, "row.ew");
            e.lanes = W;
            row_store_elems(&e, rp, &rv, out_ptr, first, l.j, numel_x);
            row_loop_end(&e, &l);
        }
        if (vlen < p->len) {
            row_loop_begin(&e, fn, &l, vlen, p->len, 1, "row.ewtail");
            e.lanes = 0;
            row_store_elems(&e, rp, &rv, out_ptr, first, l.j, numel_x);
            row_loop_end(&e, &l);
        }
    }
    LLVMValueRef on = LLVMBuildAdd(b, o, LLVMConstInt(i64, 1, 0), "o.next");
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(b);
    LLVMBuildBr(b, head);
    LLVMValueRef ov[2] = {begin, on};
    LLVMBasicBlockRef of[2] = {entry, latch};
    LLVMAddIncoming(o, ov, of, 2);

    LLVMPositionBuilderAtEnd(b, exit);
    LLVMBuildRetVoid(b);
    LLVMDisposeBuilder(b);
    row_vec_free(&rv);
    free(out_ptr);
    free(e.base);
    free(e.val);
}

LLVMModuleRef cc_row_module(const CcJit *jit, LLVMContextRef ctx, const IrGraph *g, const CcKernel *k, LlmcErr *err) {
    RowPlan rp;
    if (!row_plan_build(&rp, g, k, err)) return NULL;
    LLVMModuleRef mod = LLVMModuleCreateWithNameInContext("llmc_row", ctx);
    build_row_kernel(ctx, mod, &rp, "llmc_row", cc_jit_has_avx512(jit));
    row_plan_free(&rp);
    return mod;
}

bool cc_codegen_row(CcJit *jit, const IrGraph *g, const CcKernel *k, CcKernelFn *fn, LlmcErr *err) {
    LLVMOrcThreadSafeContextRef tsctx = LLVMOrcCreateNewThreadSafeContext();
    LLVMModuleRef mod = cc_row_module(jit, LLVMOrcThreadSafeContextGetContext(tsctx), g, k, err);
    return cc_jit_add_kernel(jit, mod, tsctx, "llmc_row", fn, err);
}
