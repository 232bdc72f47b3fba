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
 * Order: each output is computed exactly as ir/interp_reduce.c orders it, element 0 first,
 * then i = 1 .. len-1 left to right, acc = acc + x[i] (reduce_sum) or acc = (acc is not
 * nan and (x[i] > acc or x[i] is nan)) ? x[i] : acc (reduce_max: the first nan wins and
 * sticks; of equal values, +-0 included, the first wins). The accumulator has the node's
 * dtype: an f32 sum accumulates in f32, where the interpreter accumulates in double and
 * rounds once. That is the one intended difference, and why f32 sums are checked to the
 * f32 tolerance (1e-5 by norm ratio) rather than bit for bit; f64 sums, all maxima and
 * i32 sums (wrapping) are the interpreter's bits.
 *
 * Vectorization is ACROSS independent outputs, never across the reduced axis (that would
 * reorder the sum): when W consecutive outputs idx..idx+W-1 lie in one outer row
 * (j + W <= inner) and in the range, one vector body reduces all W of them with W-lane
 * loads at o*len*inner + i*inner + j; otherwise a scalar body does one output. Both bodies
 * perform the same per-element operations, so which one computes an output does not
 * change its bytes. W follows codegen_elementwise.c (16/8 lanes with AVX-512, else 8/4).
 * When the reduced axis is the last one (inner = 1: softmax and norm rows), only the
 * scalar body exists in this slice (vectorizing across rows would need strided loads).
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
 * inner reduction, accumulated inside the outer loop in the same order and dtype as a
 * kernel of its own would, so the bytes equal two kernels'; such kernels are scalar code.
 *
 * ROW kernels (fuse.c rule 4b) are the second half of this file: rows through several
 * last-axis reductions and their consumers, in phases per row (its own banner below).
 *
 * Deliberately not here: slice/concat index arithmetic, multiple outputs of REDUCE
 * kernels, vectorizing row reductions, threading, the object cache.
 */
#include "compiler_int.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/Orc.h>

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

static void build_kernel(LLVMContextRef ctx, LLVMModuleRef mod, const Plan *p, const char *name, bool avx512) {
    CcEmit e = {.ctx = ctx, .mod = mod, .g = p->g, .role = p->role, .alias = p->alias};
    e.b = LLVMCreateBuilderInContext(ctx);
    e.base = llmc_xcalloc(p->g->n_nodes, sizeof *e.base);
    e.val = llmc_xcalloc(p->g->n_nodes, sizeof *e.val);
    unsigned W = kernel_lanes(p, avx512);
    bool vec = p->inner >= (int64_t)W && !p->sub; /* a vector body can ever apply (nested: scalar) */
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
    emit_reduction(&e, p, fn, out_ptr, idx, first, "scalar");
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
 *   - a reduction: its operand computed per element of the row, accumulated as REDUCE
 *     kernels do (emit_accumulate: element 0, then left to right, the node's dtype);
 *   - a row-shaped elementwise op, a row-shaped input read at o, a reshape of a row value,
 *     a rank-0 broadcast: computed once at index o;
 * each then frozen (CC_ROLE_SCALAR: its value for the rest of the row); row-shaped outputs
 * are stored at o. Then, if the kernel has X-shaped outputs, one loop over the row's
 * elements stores them, broadcasts of row values reading the frozen values (CC_ROLE_ALIAS).
 * X-shaped values are recomputed in each phase that reads them, never stored in between.
 * Members (what cc_row_supported accepts; fuse.c asks it): the reductions; elementwise ops
 * of shape X or of a row shape; a broadcast of a row value to X keeping the leading axes
 * (identity map); a reshape of a row value to a row shape; chains of broadcast, reshape and
 * permute members over a kernel input or a splat constant whose top has shape X or a row
 * shape (index arithmetic at that phase's index; over a rank-0 value a repeat); a reshape
 * of an X-shaped member (an output of another shape: the same bytes, stored with the
 * row's elements). Outside
 * operands: inputs of the reading member's shape, inputs through chains, splat constants.
 * len must be at least 2 (so X and the row shapes differ). Scalar code only. */

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

static void build_row_kernel(LLVMContextRef ctx, LLVMModuleRef mod, RowPlan *rp, const char *name) {
    Plan *p = &rp->p;
    const IrGraph *g = p->g;
    const IrType *xt = &ir_graph_node(g, p->x)->type;
    CcEmit e = {.ctx = ctx, .mod = mod, .g = g, .role = p->role, .alias = p->alias};
    e.b = LLVMCreateBuilderInContext(ctx);
    e.base = llmc_xcalloc(g->n_nodes, sizeof *e.base);
    e.val = llmc_xcalloc(g->n_nodes, sizeof *e.val);
    LLVMBuilderRef b = e.b;
    LLVMTypeRef ptr_t = LLVMPointerTypeInContext(ctx, 0);
    LLVMTypeRef i64 = LLVMInt64TypeInContext(ctx);
    LLVMTypeRef params[3] = {ptr_t, i64, i64};
    LLVMValueRef fn = LLVMAddFunction(mod, name, LLVMFunctionType(LLVMVoidTypeInContext(ctx), params, 3, 0));
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                            LLVMCreateEnumAttribute(ctx, LLVMGetEnumAttributeKindForName("nounwind", 8), 0));
    LLVMValueRef bufs = LLVMGetParam(fn, 0), begin = LLVMGetParam(fn, 1), end = LLVMGetParam(fn, 2);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(ctx, fn, "entry");
    LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(ctx, fn, "row.head");
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(ctx, fn, "row.body");
    LLVMBasicBlockRef latch = LLVMAppendBasicBlockInContext(ctx, fn, "row.next");
    LLVMBasicBlockRef exit = LLVMAppendBasicBlockInContext(ctx, fn, "exit");

    LLVMPositionBuilderAtEnd(b, entry);
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

    /* the row's values, ascending: reductions accumulated, the others computed at o; each
     * frozen as a scalar */
    LLVMPositionBuilderAtEnd(b, body);
    e.lanes = 0;
    LLVMValueRef len = LLVMConstInt(i64, (unsigned long long)p->len, 0);
    LLVMValueRef first = LLVMBuildMul(b, o, len, "first");
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
            v = emit_accumulate(&e, &q, fn, first, tag);
        } else {
            memset(e.val, 0, g->n_nodes * sizeof *e.val);
            e.idx = o;
            v = cc_cg_value(&e, id);
        }
        p->role[id] = CC_ROLE_SCALAR;
        e.base[id] = v;
    }
    memset(e.val, 0, g->n_nodes * sizeof *e.val);
    e.idx = o;
    bool any_elem = false;
    int64_t numel_x = ir_type_numel(xt);
    for (uint32_t i = 0; i < rp->n_outs; i++) {
        if (ir_type_numel(&ir_graph_node(g, rp->outs[i])->type) == numel_x) any_elem = true;
        else row_store(&e, rp->outs[i], out_ptr[i], o);
    }
    LLVMBasicBlockRef rows_end = LLVMGetInsertBlock(b);

    /* the row's elements: j over [0, len) */
    if (any_elem) {
        LLVMBasicBlockRef ew = LLVMAppendBasicBlockInContext(ctx, fn, "row.ew");
        LLVMMoveBasicBlockBefore(ew, latch);
        LLVMBuildBr(b, ew);
        LLVMPositionBuilderAtEnd(b, ew);
        LLVMValueRef j = LLVMBuildPhi(b, i64, "j");
        LLVMValueRef idx = LLVMBuildAdd(b, first, j, "idx");
        memset(e.val, 0, g->n_nodes * sizeof *e.val);
        e.idx = idx;
        for (uint32_t i = 0; i < rp->n_outs; i++)
            if (ir_type_numel(&ir_graph_node(g, rp->outs[i])->type) == numel_x) row_store(&e, rp->outs[i], out_ptr[i], idx);
        LLVMValueRef jn = LLVMBuildAdd(b, j, LLVMConstInt(i64, 1, 0), "j.next");
        LLVMBasicBlockRef ew_end = LLVMGetInsertBlock(b);
        LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, jn, len, ""), ew, latch);
        LLVMValueRef jv[2] = {LLVMConstInt(i64, 0, 0), jn};
        LLVMBasicBlockRef jf[2] = {rows_end, ew_end};
        LLVMAddIncoming(j, jv, jf, 2);
    } else {
        LLVMBuildBr(b, latch);
    }

    LLVMPositionBuilderAtEnd(b, latch);
    LLVMValueRef on = LLVMBuildAdd(b, o, LLVMConstInt(i64, 1, 0), "o.next");
    LLVMBuildBr(b, head);
    LLVMValueRef ov[2] = {begin, on};
    LLVMBasicBlockRef of[2] = {entry, latch};
    LLVMAddIncoming(o, ov, of, 2);

    LLVMPositionBuilderAtEnd(b, exit);
    LLVMBuildRetVoid(b);
    LLVMDisposeBuilder(b);
    free(out_ptr);
    free(e.base);
    free(e.val);
}

LLVMModuleRef cc_row_module(const CcJit *jit, LLVMContextRef ctx, const IrGraph *g, const CcKernel *k, LlmcErr *err) {
    (void)jit;
    RowPlan rp;
    if (!row_plan_build(&rp, g, k, err)) return NULL;
    LLVMModuleRef mod = LLVMModuleCreateWithNameInContext("llmc_row", ctx);
    build_row_kernel(ctx, mod, &rp, "llmc_row");
    row_plan_free(&rp);
    return mod;
}

bool cc_codegen_row(CcJit *jit, const IrGraph *g, const CcKernel *k, CcKernelFn *fn, LlmcErr *err) {
    LLVMOrcThreadSafeContextRef tsctx = LLVMOrcCreateNewThreadSafeContext();
    LLVMModuleRef mod = cc_row_module(jit, LLVMOrcThreadSafeContextGetContext(tsctx), g, k, err);
    return cc_jit_add_kernel(jit, mod, tsctx, "llmc_row", fn, err);
}
