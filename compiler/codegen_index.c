/* compiler/codegen_index.c — one INDEX kernel of cc_fuse (compiler/fuse.c) as one LLVM
 * function: one index node (iota, onehot, gather, rand, cumsum, scatter_add, topk) with
 * the movement members fusion absorbed under its operands (rule 5).
 *
 *     void llmc_idx_<n>(void **bufs, int64_t begin, int64_t end)
 *
 * ABI (compiler.h, "JIT: index"): bufs[] = the kernel's inputs as CcKernel.inputs lists
 * them (ascending id; splat constants are literals and not listed), then the output, each
 * dense row-major in its dtype (a rank-0 input is a 1-element array). [begin, end) ranges
 * over OUTPUT ELEMENTS for iota, onehot, gather and rand, over independent ROWS for cumsum
 * (row r = o * inner + j: the outer x inner positions around the axis, row-major), over
 * OUTPUT ROWS for scatter_add (row r = pre * D + j: every output coordinate up to and
 * including the axis; a row is the numel(out) / rows elements after the axis), and over
 * the rows of the last axis for topk (out has k per row). Every output element is a pure
 * function of the inputs and its own index, and a cumsum, scatter_add or topk row is
 * done whole by one call, so any split over calls or threads gives the same bytes.
 *
 * Operands (value_at): every read of an operand element — gather's table and indices,
 * scatter_add's indices and updates, onehot's indices, cumsum's and topk's input, rand's
 * keys — is of the logical operand at its flat index, mapped down the absorbed movement
 * members to a kernel input as index arithmetic: reshape, permute, broadcast as
 * cc_cg_chain_index; slice and concat as compiler/codegen_movement.c (a concat reads each
 * operand at its clamped coordinate and selects, so no load leaves its buffer). A splat
 * constant anywhere (the MoE dispatch's zero row concatenated to the table, splat
 * updates) is its literal, from its bits. Values pass through bit for bit, so the op's
 * result is the same as on the materialised operand: the semantics, item ranges and
 * bit-exactness below are unchanged.
 *
 * Semantics, matched to the interpreter (ir/interp_index.c, ir/interp_rand.c):
 *   iota    out[e] = (e / stride[axis]) % dims[axis] in the node's dtype.
 *   onehot  out[i, j] = idx[i] == j ? 1 : 0; an index outside [0, depth) is a zero row.
 *   gather  TF gather with axis and batch_dims, the interpreter's gather_source map. An
 *           index outside [0, x.dims[axis]) makes the interpreter fail; a kernel cannot
 *           report an error, so here that element is 0 (never clamped, never read out of
 *           bounds: the load uses index 0 and the result is then replaced by 0). Callers
 *           that need the error must check indices (the interpreter does).
 *   rand    Philox4x32-10 unrolled in i32/i64 arithmetic, exactly ir_philox4x32 and
 *           ir_rand_value: the value is computed in double and rounded once to the result
 *           dtype. Uniform is bit-exact. Normal (Box-Muller) takes log and cos from the
 *           in-kernel math of compiler/codegen_math.c (kernels call no libm), not the
 *           interpreter's libm, so it is no longer bit-exact: within ~1e-15 relative per
 *           element in f64 (log and cos within ~1 ulp each, sqrt exact), and in f32 equal
 *           except where that difference crosses an f32 rounding boundary (1 ulp).
 *           Sharded rand (shard_axis >= 0) needs the rank, which this ABI does not carry:
 *           "not supported yet".
 *   cumsum  sequential along the axis in visiting order (reverse: from the end), the first
 *           term taken as is (keeps -0), exclusive outputs starting at +0; f64 sums in
 *           f64, f32 sums in double rounded once per output (the interpreter's order and
 *           precision, so bit-exact), i32 wrapping. Each element is loaded before its
 *           output is stored, so the output may be the input buffer (in place) when
 *           the input is read directly (not through members that reorder it).
 *   scatter_add  each output row (pre, j) is summed whole by one call: its elements
 *           start at +0 in an accumulator on the stack (chunks of SCATTER_CHUNK
 *           elements), then the index positions m of its batch are scanned upward and
 *           every m with idx[b, m] == j adds its update row upd[pre, m, ..] — so each
 *           output element gets its updates in the updates' element order (for one
 *           element they differ only in m), the interpreter's order; f64 in f64, f32 in
 *           double rounded once per element (the interpreter keeps doubles and rounds
 *           the finished node), i32 wrapping. Bit-exact and split-invariant, no atomics.
 *           Cost: O(rows x M + numel(upd)) (M = the index positions per batch,
 *           numel(idx) / batch; x ceil(row / SCATTER_CHUNK) on the index scans): for an
 *           embedding gradient [V, C] from T tokens that is V x T i32 compares plus
 *           T x C adds, where it was V x C x T before (each output element scanned every
 *           update). A sort- or segment-based kernel (O(T log T + T x C)) would need
 *           scratch memory this ABI does not carry. The updates may be a splat constant
 *           (a literal). An index outside [0, out.dims[axis]) hits nothing (skipped)
 *           where the interpreter reports an error.
 *   topk    k selection scans per row: pick r is the first entry after pick r-1 in the
 *           total order (larger first, nan larger than every number, -0 == +0, ties
 *           lower index first) — exactly the interpreter's result. O(k n) per row.
 *
 * Deliberately not here: absorbed elementwise producers (fusion does not make them), a
 * segment-based scatter_add or a fast topk (see above), vectorization (these
 * kernels are memory- or integer-bound and small next to the matmuls), threading, the
 * object cache.
 */
#include "compiler_int.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/Orc.h>

#include <stdlib.h>
#include <string.h>

/* --- the plan ------------------------------------------------------------------------ */

static bool dtype_ok(IrDtype dt) { return dt == IR_DTYPE_F32 || dt == IR_DTYPE_F64 || dt == IR_DTYPE_I32; }

static bool is_input(const CcKernel *k, IrId id) {
    for (uint32_t i = 0; i < k->n_inputs; i++)
        if (k->inputs[i] == id) return true;
    return false;
}

static bool is_member(const CcKernel *k, IrId id) {
    for (uint32_t i = 0; i < k->n_nodes; i++)
        if (k->nodes[i] == id) return true;
    return false;
}

static bool is_splat(const IrNode *n) { return n->op == IR_OP_CONST && n->attrs.constant.value.count == 1; }

static bool is_movement(IrOp op) {
    return op == IR_OP_RESHAPE || op == IR_OP_PERMUTE || op == IR_OP_BROADCAST || op == IR_OP_SLICE ||
           op == IR_OP_CONCAT;
}

/* Operand x of member `user`: a kernel input, a splat constant (a literal) or a member;
 * false + message otherwise. */
static bool operand_ok(const IrGraph *g, const CcKernel *k, IrId user, IrId x, LlmcErr *err) {
    const IrNode *xn = ir_graph_node(g, x);
    if (!dtype_ok(xn->type.dtype)) {
        llmc_err_set(err, "index codegen: operand %%%u of %%%u has dtype %s", x, user, ir_dtype_name(xn->type.dtype));
        return false;
    }
    if (is_input(k, x) || is_splat(xn) || is_member(k, x)) return true;
    llmc_err_set(err, "index codegen: operand %%%u of %%%u is neither a kernel input, a splat constant nor a member",
                 x, user);
    return false;
}

/* Checks that k is one supported index node over absorbed movement members; false +
 * message otherwise. */
static bool plan_check(const IrGraph *g, const CcKernel *k, LlmcErr *err) {
    if (k->kind != CC_KERNEL_INDEX) {
        llmc_err_set(err, "index codegen: kernel (root %%%u) is %s, not index", k->root, cc_kernel_kind_name(k->kind));
        return false;
    }
    const IrNode *n = ir_graph_node(g, k->root);
    if (k->n_outputs != 1 || k->outputs[0] != k->root) {
        llmc_err_set(err, "index codegen: kernel (root %%%u, %s) has %u outputs; not supported yet", k->root,
                     ir_op_name(n->op), k->n_outputs);
        return false;
    }
    switch (n->op) {
    case IR_OP_IOTA:
    case IR_OP_ONEHOT:
    case IR_OP_GATHER:
    case IR_OP_RAND:
    case IR_OP_CUMSUM:
    case IR_OP_SCATTER_ADD:
    case IR_OP_TOPK: break;
    case IR_OP_INPUT: case IR_OP_CONST: case IR_OP_NEG: case IR_OP_ABS: case IR_OP_EXP: case IR_OP_LOG:
    case IR_OP_SQRT: case IR_OP_RSQRT: case IR_OP_TANH: case IR_OP_RECIP: case IR_OP_SIN: case IR_OP_COS:
    case IR_OP_CAST: case IR_OP_ADD: case IR_OP_SUB: case IR_OP_MUL: case IR_OP_DIV: case IR_OP_MAX:
    case IR_OP_MIN: case IR_OP_POW: case IR_OP_CMPLT: case IR_OP_CMPEQ: case IR_OP_SELECT:
    case IR_OP_REDUCE_SUM: case IR_OP_REDUCE_MAX: case IR_OP_RESHAPE: case IR_OP_PERMUTE:
    case IR_OP_BROADCAST: case IR_OP_SLICE: case IR_OP_CONCAT: case IR_OP_MATMUL: case IR_OP_ATTENTION: case IR_OP_ATTENTION_LSE: case IR_OP_ATTENTION_GRAD: case IR_OP_EXTERN_CALL:
    case IR_OP_ALL_GATHER: case IR_OP_REDUCE_SCATTER: case IR_OP_ALL_REDUCE: case IR_OP_ALL_TO_ALL:
    case IR_OP_STOP_GRADIENT: case IR_OP_INVALID: case IR_OP_COUNT:
        llmc_err_set(err, "index codegen: kernel root %%%u is %s, not an index op", k->root, ir_op_name(n->op));
        return false;
    }
    if (!dtype_ok(n->type.dtype)) {
        llmc_err_set(err, "index codegen: %%%u has dtype %s (f32, f64 or i32 supported)", k->root,
                     ir_dtype_name(n->type.dtype));
        return false;
    }
    /* absorbed members (fuse.c rule 5): movement ops read only inside the kernel */
    for (uint32_t i = 0; i < k->n_nodes; i++) {
        IrId id = k->nodes[i];
        if (id == k->root) continue;
        const IrNode *m = ir_graph_node(g, id);
        if (!is_movement(m->op)) {
            llmc_err_set(err, "index codegen: kernel (root %%%u) contains %%%u = %s; not supported yet", k->root, id,
                         ir_op_name(m->op));
            return false;
        }
        if (!dtype_ok(m->type.dtype)) {
            llmc_err_set(err, "index codegen: %%%u has dtype %s", id, ir_dtype_name(m->type.dtype));
            return false;
        }
        for (uint32_t o = 0; o < m->n_operands; o++)
            if (!operand_ok(g, k, id, m->operands[o], err)) return false;
    }
    for (uint32_t o = 0; o < n->n_operands; o++)
        if (!operand_ok(g, k, k->root, n->operands[o], err)) return false;
    if (n->op == IR_OP_RAND && n->attrs.rand.shard_axis >= 0) {
        llmc_err_set(err, "index codegen: %%%u is a sharded rand (shard_axis %lld); not supported yet", k->root,
                     (long long)n->attrs.rand.shard_axis);
        return false;
    }
    if (n->op == IR_OP_GATHER && ir_graph_node(g, n->operands[0])->type.dims[n->attrs.gather.axis] == 0 &&
        ir_type_numel(&n->type) > 0) {
        llmc_err_set(err, "index codegen: %%%u gathers from an empty axis", k->root);
        return false;
    }
    return true;
}

/* --- emission ------------------------------------------------------------------------ */

typedef struct Gen {
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMBuilderRef b;
    LLVMValueRef fn;
    LLVMTypeRef i32, i64, f64, ptr;
    const IrGraph *g;
    const CcKernel *k;
    LLVMValueRef *in; /* [k->n_inputs] buffer pointers */
    LLVMValueRef out;
    LLVMValueRef acc; /* scatter_add: [SCATTER_CHUNK] accumulators, alloca'd in the entry block */
    CcEmit ce;        /* ctx, b, g: what cc_cg_chain_index needs */
} Gen;

typedef struct Loop {
    LLVMBasicBlockRef pre, head, exit;
    LLVMValueRef from, i;
    LLVMValueRef carry, carry0; /* an optional loop-carried value (phi in head), or NULL */
} Loop;

static LLVMValueRef c64(const Gen *G, int64_t v) { return LLVMConstInt(G->i64, (unsigned long long)v, 1); }
static LLVMValueRef c32(const Gen *G, uint32_t v) { return LLVMConstInt(G->i32, v, 0); }

static LLVMTypeRef elem_type(const Gen *G, IrDtype dt) {
    switch (dt) {
    case IR_DTYPE_F32: return LLVMFloatTypeInContext(G->ctx);
    case IR_DTYPE_F64: return G->f64;
    case IR_DTYPE_I32: return G->i32;
    case IR_DTYPE_INVALID:
    case IR_DTYPE_BF16:
    case IR_DTYPE_COUNT: break;
    }
    LLMC_ASSERT(!"dtype has no kernel type");
    return NULL;
}

/* for (i = from; i < to; i++) { <body at the builder> }: opens the body. With carry0,
 * l.carry is a value carried around the loop (carry0 first; loop_close's `next` after). */
static Loop loop_open(Gen *G, LLVMValueRef from, LLVMValueRef to, LLVMValueRef carry0, const char *tag) {
    Loop l = {.pre = LLVMGetInsertBlock(G->b), .from = from, .carry0 = carry0};
    char name[32];
    snprintf(name, sizeof name, "%s.head", tag);
    l.head = LLVMAppendBasicBlockInContext(G->ctx, G->fn, name);
    snprintf(name, sizeof name, "%s.body", tag);
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(G->ctx, G->fn, name);
    snprintf(name, sizeof name, "%s.exit", tag);
    l.exit = LLVMAppendBasicBlockInContext(G->ctx, G->fn, name);
    LLVMBuildBr(G->b, l.head);
    LLVMPositionBuilderAtEnd(G->b, l.head);
    l.i = LLVMBuildPhi(G->b, G->i64, tag);
    if (carry0) l.carry = LLVMBuildPhi(G->b, LLVMTypeOf(carry0), "carry");
    LLVMBuildCondBr(G->b, LLVMBuildICmp(G->b, LLVMIntSLT, l.i, to, ""), body, l.exit);
    LLVMPositionBuilderAtEnd(G->b, body);
    return l;
}

static void loop_close(Gen *G, const Loop *l, LLVMValueRef carry_next) {
    LLVMValueRef next = LLVMBuildAdd(G->b, l->i, c64(G, 1), "");
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(G->b);
    LLVMBuildBr(G->b, l->head);
    LLVMValueRef v[2] = {l->from, next};
    LLVMBasicBlockRef from[2] = {l->pre, latch};
    LLVMAddIncoming(l->i, v, from, 2);
    if (l->carry) {
        LLVMValueRef cv[2] = {l->carry0, carry_next};
        LLVMAddIncoming(l->carry, cv, from, 2);
    }
    LLVMPositionBuilderAtEnd(G->b, l->exit);
}

static LLVMValueRef buffer_of(const Gen *G, IrId id) {
    for (uint32_t i = 0; i < G->k->n_inputs; i++)
        if (G->k->inputs[i] == id) return G->in[i];
    LLMC_ASSERT(!"not a kernel input");
    return NULL;
}

static LLVMValueRef load_at(Gen *G, LLVMValueRef base, IrDtype dt, LLVMValueRef at) {
    LLVMValueRef p = LLVMBuildGEP2(G->b, elem_type(G, dt), base, &at, 1, "");
    LLVMValueRef v = LLVMBuildLoad2(G->b, elem_type(G, dt), p, "");
    LLVMSetAlignment(v, (unsigned)ir_dtype_size(dt));
    return v;
}

/* Row-major strides of t. */
static void strides(const IrType *t, int64_t *s) {
    int64_t acc = 1;
    for (uint32_t i = t->rank; i-- > 0;) {
        s[i] = acc;
        acc *= t->dims[i];
    }
}

/* Leaves of the operand trees: a kernel input is loaded, a splat constant is its
 * literal (plan_check admits nothing else). */
static bool tree_member(const void *ctx, IrId id) { return is_member(((const Gen *)ctx)->k, id); }

static LLVMValueRef tree_leaf(const void *ctx, IrId id, LLVMValueRef i) {
    Gen *G = (Gen *)ctx;
    const IrNode *n = ir_graph_node(G->g, id);
    if (is_input(G->k, id)) return load_at(G, buffer_of(G, id), n->type.dtype, i);
    LLMC_ASSERT(is_splat(n)); /* plan_check */
    return cc_cg_splat_literal(&G->ce, n, false);
}

/* The element of node id (an operand of the root, or below one) at flat index i (i64,
 * inside id's shape), in id's dtype, through the absorbed movement members
 * (cc_cg_move_value: codegen_movement.c's arithmetic, so values pass through bit for
 * bit). */
static LLVMValueRef value_at(Gen *G, IrId id, LLVMValueRef i) {
    CcMoveTree t = {&G->ce, tree_member, tree_leaf, G};
    return cc_cg_move_value(&t, id, i);
}

static void store_at(Gen *G, LLVMValueRef base, IrDtype dt, LLVMValueRef at, LLVMValueRef v) {
    LLVMValueRef p = LLVMBuildGEP2(G->b, elem_type(G, dt), base, &at, 1, "");
    LLVMSetAlignment(LLVMBuildStore(G->b, v, p), (unsigned)ir_dtype_size(dt));
}

/* An i64 count as a value of dtype dt (i32: truncated; exact for the counts here). */
static LLVMValueRef from_i64(Gen *G, LLVMValueRef x, IrDtype dt) {
    if (dt == IR_DTYPE_I32) return LLVMBuildTrunc(G->b, x, G->i32, "");
    return LLVMBuildSIToFP(G->b, x, elem_type(G, dt), "");
}

static LLVMValueRef zero_of(const Gen *G, IrDtype dt) { return LLVMConstNull(elem_type(G, dt)); }

static LLVMValueRef one_of(const Gen *G, IrDtype dt) {
    return dt == IR_DTYPE_I32 ? c32(G, 1) : LLVMConstReal(elem_type(G, dt), 1.0);
}

/* iota: out[e] = (e / stride[axis]) % dims[axis]. */
static LLVMValueRef emit_iota(Gen *G, const IrNode *n, LLVMValueRef e) {
    int64_t s[IR_MAX_RANK];
    strides(&n->type, s);
    int64_t axis = n->attrs.axis.axis;
    LLVMValueRef q = LLVMBuildUDiv(G->b, e, c64(G, s[axis]), "");
    return from_i64(G, LLVMBuildURem(G->b, q, c64(G, n->type.dims[axis]), "coord"), n->type.dtype);
}

/* onehot: out[i, j] = idx[i] == j; j < depth, so equality implies the index is in range. */
static LLVMValueRef emit_onehot(Gen *G, const IrNode *n, LLVMValueRef e) {
    int64_t depth = n->type.dims[n->type.rank - 1];
    LLVMValueRef i = LLVMBuildUDiv(G->b, e, c64(G, depth), "i");
    LLVMValueRef j = LLVMBuildSub(G->b, e, LLVMBuildMul(G->b, i, c64(G, depth), ""), "j");
    LLVMValueRef v = LLVMBuildSExt(G->b, value_at(G, n->operands[0], i), G->i64, "");
    LLVMValueRef hit = LLVMBuildICmp(G->b, LLVMIntEQ, v, j, "hit");
    return LLVMBuildSelect(G->b, hit, one_of(G, n->type.dtype), zero_of(G, n->type.dtype), "");
}

/* gather: out[g] = x[g[0..axis), idx[g[0..bd), g[axis..axis+q-bd)], g[axis+q-bd..]], 0
 * where that index is outside [0, x.dims[axis]). */
static LLVMValueRef emit_gather(Gen *G, const IrNode *n, LLVMValueRef e) {
    const IrType *ot = &n->type;
    const IrType *xt = &ir_graph_node(G->g, n->operands[0])->type;
    const IrType *it = &ir_graph_node(G->g, n->operands[1])->type;
    int64_t axis = n->attrs.gather.axis, bd = n->attrs.gather.batch_dims, q = (int64_t)it->rank;
    int64_t ts[IR_MAX_RANK], is[IR_MAX_RANK];
    strides(xt, ts);
    strides(it, is);
    LLVMValueRef gc[IR_MAX_RANK];
    LLVMValueRef rest = e;
    for (uint32_t d = ot->rank; d-- > 0;) {
        LLVMValueRef qd = LLVMBuildUDiv(G->b, rest, c64(G, ot->dims[d]), "");
        gc[d] = LLVMBuildSub(G->b, rest, LLVMBuildMul(G->b, qd, c64(G, ot->dims[d]), ""), "");
        rest = qd;
    }
    LLVMValueRef ii = c64(G, 0);
    for (int64_t d = 0; d < bd; d++) ii = LLVMBuildAdd(G->b, ii, LLVMBuildMul(G->b, gc[d], c64(G, is[d]), ""), "");
    for (int64_t d = bd; d < q; d++)
        ii = LLVMBuildAdd(G->b, ii, LLVMBuildMul(G->b, gc[axis + d - bd], c64(G, is[d]), ""), "");
    LLVMValueRef j = LLVMBuildSExt(G->b, value_at(G, n->operands[1], ii), G->i64, "j");
    LLVMValueRef in_range = LLVMBuildICmp(G->b, LLVMIntULT, j, c64(G, xt->dims[axis]), "inrange");
    LLVMValueRef jj = LLVMBuildSelect(G->b, in_range, j, c64(G, 0), "");
    LLVMValueRef ti = LLVMBuildMul(G->b, jj, c64(G, ts[axis]), "");
    for (int64_t d = 0; d < axis; d++) ti = LLVMBuildAdd(G->b, ti, LLVMBuildMul(G->b, gc[d], c64(G, ts[d]), ""), "");
    for (int64_t d = axis + 1; d < (int64_t)xt->rank; d++)
        ti = LLVMBuildAdd(G->b, ti, LLVMBuildMul(G->b, gc[d - 1 + q - bd], c64(G, ts[d]), ""), "");
    LLVMValueRef v = value_at(G, n->operands[0], ti);
    return LLVMBuildSelect(G->b, in_range, v, zero_of(G, ot->dtype), "");
}

static LLVMValueRef call_intrinsic(Gen *G, const char *name, LLVMValueRef x) {
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLMC_ASSERT(id != 0);
    LLVMTypeRef t = LLVMTypeOf(x);
    LLVMValueRef f = LLVMGetIntrinsicDeclaration(G->mod, id, &t, 1);
    return LLVMBuildCall2(G->b, LLVMIntrinsicGetType(G->ctx, id, &t, 1), f, &x, 1, "");
}

/* rand key operand k of n (seed, step, micro), as an i32 read once in the entry block
 * (a splat constant is a literal). */
static LLVMValueRef rand_key(Gen *G, const IrNode *n, uint32_t k) { return value_at(G, n->operands[k], c64(G, 0)); }

/* Philox4x32-10 of counter {e lo, e hi, step, micro}, key {seed, site}: w[0], w[1]. */
static void emit_philox(Gen *G, LLVMValueRef e, LLVMValueRef step, LLVMValueRef micro, LLVMValueRef seed,
                        uint32_t site, LLVMValueRef w[2]) {
    LLVMBuilderRef b = G->b;
    LLVMValueRef c[4] = {LLVMBuildTrunc(b, e, G->i32, ""), LLVMBuildTrunc(b, LLVMBuildLShr(b, e, c64(G, 32), ""), G->i32, ""),
                         step, micro};
    LLVMValueRef k0 = seed, k1 = c32(G, site);
    for (int r = 0; r < 10; r++) {
        if (r > 0) {
            k0 = LLVMBuildAdd(b, k0, c32(G, 0x9E3779B9u), "");
            k1 = LLVMBuildAdd(b, k1, c32(G, 0xBB67AE85u), "");
        }
        LLVMValueRef p0 = LLVMBuildMul(b, LLVMBuildZExt(b, c[0], G->i64, ""), c64(G, 0xD2511F53), "");
        LLVMValueRef p1 = LLVMBuildMul(b, LLVMBuildZExt(b, c[2], G->i64, ""), c64(G, 0xCD9E8D57), "");
        LLVMValueRef hi0 = LLVMBuildTrunc(b, LLVMBuildLShr(b, p0, c64(G, 32), ""), G->i32, "");
        LLVMValueRef lo0 = LLVMBuildTrunc(b, p0, G->i32, "");
        LLVMValueRef hi1 = LLVMBuildTrunc(b, LLVMBuildLShr(b, p1, c64(G, 32), ""), G->i32, "");
        LLVMValueRef lo1 = LLVMBuildTrunc(b, p1, G->i32, "");
        LLVMValueRef n0 = LLVMBuildXor(b, LLVMBuildXor(b, hi1, c[1], ""), k0, "");
        LLVMValueRef n2 = LLVMBuildXor(b, LLVMBuildXor(b, hi0, c[3], ""), k1, "");
        c[0] = n0;
        c[1] = lo1;
        c[2] = n2;
        c[3] = lo0;
    }
    w[0] = c[0];
    w[1] = c[1];
}

/* (w >> 8) + add as a double times 2^-24. */
static LLVMValueRef unit(Gen *G, LLVMValueRef w, uint32_t add) {
    LLVMValueRef m = LLVMBuildLShr(G->b, w, c32(G, 8), "");
    if (add) m = LLVMBuildAdd(G->b, m, c32(G, add), "");
    LLVMValueRef d = LLVMBuildUIToFP(G->b, m, G->f64, "");
    return LLVMBuildFMul(G->b, d, LLVMConstReal(G->f64, 1.0 / 16777216.0), "");
}

static LLVMValueRef emit_rand(Gen *G, const IrNode *n, LLVMValueRef e, LLVMValueRef keys[3]) {
    LLVMValueRef w[2];
    emit_philox(G, e, keys[1], keys[2], keys[0], (uint32_t)n->attrs.rand.site, w);
    LLVMValueRef z = NULL;
    switch (n->attrs.rand.dist) {
    case IR_RAND_UNIFORM: z = unit(G, w[0], 0); break;
    case IR_RAND_NORMAL: {
        LLVMValueRef u1 = unit(G, w[0], 1), u2 = unit(G, w[1], 0);
        LLVMValueRef r = LLVMBuildFMul(G->b, LLVMConstReal(G->f64, -2.0), cc_math_log(G->mod, G->b, u1), "");
        r = call_intrinsic(G, "llvm.sqrt", r);
        LLVMValueRef a = LLVMBuildFMul(G->b, LLVMConstReal(G->f64, 6.283185307179586476925286766559), u2, "");
        z = LLVMBuildFMul(G->b, r, cc_math_cos(G->mod, G->b, a), "");
        break;
    }
    case IR_RAND_INVALID:
    case IR_RAND_COUNT: LLMC_ASSERT(!"rand: invalid distribution"); break;
    }
    if (n->type.dtype == IR_DTYPE_F32) return LLVMBuildFPTrunc(G->b, z, elem_type(G, IR_DTYPE_F32), "");
    return z; /* the shape rule admits float results only; f64 */
}

/* cumsum row r (= o * inner + j) in visiting order. */
static void emit_cumsum_row(Gen *G, const IrNode *n, LLVMValueRef r) {
    const IrType *t = &n->type;
    int64_t axis = n->attrs.cumsum.axis;
    bool exclusive = n->attrs.cumsum.exclusive, reverse = n->attrs.cumsum.reverse;
    int64_t len = t->dims[axis], inner = 1;
    for (uint32_t i = (uint32_t)axis + 1; i < t->rank; i++) inner *= t->dims[i];
    if (len == 0) return;
    IrDtype dt = t->dtype;
    IrId src = n->operands[0];
    LLVMValueRef dst = G->out;
    LLVMValueRef o = LLVMBuildUDiv(G->b, r, c64(G, inner), "o");
    LLVMValueRef j = LLVMBuildSub(G->b, r, LLVMBuildMul(G->b, o, c64(G, inner), ""), "j");
    LLVMValueRef base = LLVMBuildAdd(G->b, LLVMBuildMul(G->b, o, c64(G, len * inner), ""), j, "base");
    /* position of visit q: p = reverse ? len-1-q : q; offset base + p*inner */
    LLVMValueRef off0 = LLVMBuildAdd(G->b, base, c64(G, (reverse ? len - 1 : 0) * inner), "");
    LLVMValueRef v0 = value_at(G, src, off0);
    if (dt == IR_DTYPE_F32) v0 = LLVMBuildFPExt(G->b, v0, G->f64, "");
    store_at(G, dst, dt, off0, exclusive ? zero_of(G, dt) : (dt == IR_DTYPE_F32 ? LLVMBuildFPTrunc(G->b, v0, elem_type(G, dt), "") : v0));
    if (len == 1) return;
    Loop l = loop_open(G, c64(G, 1), c64(G, len), v0, "q");
    LLVMValueRef acc = l.carry;
    LLVMValueRef p = reverse ? LLVMBuildSub(G->b, c64(G, len - 1), l.i, "") : l.i;
    LLVMValueRef off = LLVMBuildAdd(G->b, base, LLVMBuildMul(G->b, p, c64(G, inner), ""), "");
    LLVMValueRef v = value_at(G, src, off);
    if (dt == IR_DTYPE_F32) v = LLVMBuildFPExt(G->b, v, G->f64, "");
    LLVMValueRef sum = dt == IR_DTYPE_I32 ? LLVMBuildAdd(G->b, acc, v, "") : LLVMBuildFAdd(G->b, acc, v, "");
    LLVMValueRef shown = exclusive ? acc : sum;
    if (dt == IR_DTYPE_F32) shown = LLVMBuildFPTrunc(G->b, shown, elem_type(G, dt), "");
    store_at(G, dst, dt, off, shown);
    loop_close(G, &l, sum);
}

/* scatter_add's geometry: out is [pre, D, post] around the axis (pre = out.dims[0..axis),
 * batch dims first, mid of them after the batch), idx is [batch, M], upd [pre, M, post]. */
typedef struct Scatter {
    int64_t D, post, mid, M;
} Scatter;

static Scatter scatter_geometry(const IrGraph *g, const IrNode *n) {
    const IrType *ot = &n->type, *it = &ir_graph_node(g, n->operands[0])->type;
    int64_t axis = n->attrs.gather.axis, bd = n->attrs.gather.batch_dims;
    Scatter s = {.D = ot->dims[axis], .post = 1, .mid = 1, .M = 1};
    for (uint32_t d = (uint32_t)axis + 1; d < ot->rank; d++) s.post *= ot->dims[d];
    for (int64_t d = bd; d < axis; d++) s.mid *= ot->dims[d];
    for (uint32_t d = (uint32_t)bd; d < it->rank; d++) s.M *= it->dims[d];
    return s;
}

/* Accumulator elements per chunk of an output row: 8 KiB of doubles on the stack (a
 * GPT-2 row of 768 is one chunk). */
#define SCATTER_CHUNK 1024

static int64_t scatter_chunk(const Scatter *s) { return s->post < SCATTER_CHUNK ? s->post : SCATTER_CHUNK; }

/* scatter_add output row r = pre * D + j, elements out[r * post + p], p in [0, post):
 * per chunk of the row, acc = +0; for m = 0..M-1 (upward): if idx[b, m] == j (b = pre's
 * first batch_dims coordinates, so idx row pre / mid), acc[p] += upd[(pre * M + m) * post
 * + p]; then out = acc (f32: rounded once). Sums per element in the interpreter's order;
 * f32 in double, f64 in f64, i32 wrapping. An index outside [0, D) equals no j. */
static void emit_scatter_add_row(Gen *G, const IrNode *n, LLVMValueRef r) {
    Scatter s = scatter_geometry(G->g, n);
    if (s.post == 0 || s.D == 0 || s.mid == 0) return; /* no rows: numel(out) == 0 */
    IrDtype dt = n->type.dtype;
    LLVMTypeRef at = dt == IR_DTYPE_I32 ? G->i32 : G->f64;
    int64_t ch = scatter_chunk(&s), n_chunks = (s.post + ch - 1) / ch;
    IrId idx = n->operands[0], upd = n->operands[1];
    LLVMValueRef j = LLVMBuildURem(G->b, r, c64(G, s.D), "j");
    LLVMValueRef pre = LLVMBuildUDiv(G->b, r, c64(G, s.D), "pre");
    LLVMValueRef ibase = LLVMBuildMul(G->b, LLVMBuildUDiv(G->b, pre, c64(G, s.mid), ""), c64(G, s.M), "ibase");
    LLVMValueRef ubase = LLVMBuildMul(G->b, pre, c64(G, s.M * s.post), "ubase");
    LLVMValueRef obase = LLVMBuildMul(G->b, r, c64(G, s.post), "obase");
    Loop lc = loop_open(G, c64(G, 0), c64(G, n_chunks), NULL, "chunk");
    LLVMValueRef c0 = LLVMBuildMul(G->b, lc.i, c64(G, ch), "c0");
    LLVMValueRef len = c64(G, ch);
    if (s.post % ch != 0) { /* the last chunk is shorter */
        LLVMValueRef left = LLVMBuildSub(G->b, c64(G, s.post), c0, "");
        len = LLVMBuildSelect(G->b, LLVMBuildICmp(G->b, LLVMIntSLT, left, len, ""), left, len, "len");
    }
    /* acc[0..len) = +0 */
    Loop lz = loop_open(G, c64(G, 0), len, NULL, "z");
    LLVMValueRef ap = LLVMBuildGEP2(G->b, at, G->acc, &lz.i, 1, "");
    LLVMSetAlignment(LLVMBuildStore(G->b, LLVMConstNull(at), ap), 8);
    loop_close(G, &lz, NULL);
    /* the index positions of the batch, upward; a hit adds its update row's chunk */
    Loop lm = loop_open(G, c64(G, 0), c64(G, s.M), NULL, "m");
    LLVMValueRef iv = value_at(G, idx, LLVMBuildAdd(G->b, ibase, lm.i, ""));
    LLVMValueRef hit = LLVMBuildICmp(G->b, LLVMIntEQ, LLVMBuildSExt(G->b, iv, G->i64, ""), j, "hit");
    LLVMBasicBlockRef add_bb = LLVMAppendBasicBlockInContext(G->ctx, G->fn, "hit");
    LLVMBasicBlockRef next_bb = LLVMAppendBasicBlockInContext(G->ctx, G->fn, "m.next");
    LLVMBuildCondBr(G->b, hit, add_bb, next_bb);
    LLVMPositionBuilderAtEnd(G->b, add_bb);
    LLVMValueRef urow = LLVMBuildAdd(G->b, LLVMBuildAdd(G->b, ubase, LLVMBuildMul(G->b, lm.i, c64(G, s.post), ""), ""),
                                     c0, "urow");
    Loop lq = loop_open(G, c64(G, 0), len, NULL, "q");
    LLVMValueRef u = value_at(G, upd, LLVMBuildAdd(G->b, urow, lq.i, "")); /* a splat: its literal */
    if (dt == IR_DTYPE_F32) u = LLVMBuildFPExt(G->b, u, G->f64, "");
    LLVMValueRef qp = LLVMBuildGEP2(G->b, at, G->acc, &lq.i, 1, "");
    LLVMValueRef a = LLVMBuildLoad2(G->b, at, qp, "");
    LLVMSetAlignment(a, 8);
    LLVMValueRef sum = dt == IR_DTYPE_I32 ? LLVMBuildAdd(G->b, a, u, "") : LLVMBuildFAdd(G->b, a, u, "");
    LLVMSetAlignment(LLVMBuildStore(G->b, sum, qp), 8);
    loop_close(G, &lq, NULL);
    LLVMBuildBr(G->b, next_bb);
    LLVMPositionBuilderAtEnd(G->b, next_bb);
    loop_close(G, &lm, NULL);
    /* out = acc, rounded once */
    Loop lo = loop_open(G, c64(G, 0), len, NULL, "o");
    LLVMValueRef op = LLVMBuildGEP2(G->b, at, G->acc, &lo.i, 1, "");
    LLVMValueRef v = LLVMBuildLoad2(G->b, at, op, "");
    LLVMSetAlignment(v, 8);
    if (dt == IR_DTYPE_F32) v = LLVMBuildFPTrunc(G->b, v, elem_type(G, dt), "");
    store_at(G, G->out, dt, LLVMBuildAdd(G->b, LLVMBuildAdd(G->b, obase, c0, ""), lo.i, ""), v);
    loop_close(G, &lo, NULL);
    loop_close(G, &lc, NULL);
}

/* topk's order, as i1: a ranks before b (a larger, nan larger than every number). */
static LLVMValueRef ranks_before(Gen *G, LLVMValueRef a, LLVMValueRef b) {
    LLVMValueRef b_nan = LLVMBuildFCmp(G->b, LLVMRealUNO, b, b, "");
    LLVMValueRef a_nan = LLVMBuildFCmp(G->b, LLVMRealUNO, a, a, "");
    LLVMValueRef gt = LLVMBuildFCmp(G->b, LLVMRealOGT, a, b, "");
    return LLVMBuildAnd(G->b, LLVMBuildNot(G->b, b_nan, ""), LLVMBuildOr(G->b, a_nan, gt, ""), "");
}

static LLVMValueRef load_f64(Gen *G, IrId id, LLVMValueRef at) {
    IrDtype dt = ir_graph_node(G->g, id)->type.dtype;
    LLVMValueRef v = value_at(G, id, at);
    if (dt == IR_DTYPE_F32) return LLVMBuildFPExt(G->b, v, G->f64, "");
    if (dt == IR_DTYPE_I32) return LLVMBuildSIToFP(G->b, v, G->f64, "");
    return v;
}

/* topk row `row`: pick r = 0..k-1 by a scan each. Entries are totally ordered by (value
 * by ranks_before, then lower index first) — the interpreter's order; pick r is the
 * first entry of that order strictly after pick r-1. O(k n) per row; k is small. */
static void emit_topk_row(Gen *G, const IrNode *n, LLVMValueRef row) {
    const IrNode *xn = ir_graph_node(G->g, n->operands[0]);
    int64_t len = xn->type.dims[xn->type.rank - 1], k = n->attrs.topk.k;
    IrId src = n->operands[0];
    LLVMValueRef xbase = LLVMBuildMul(G->b, row, c64(G, len), "xbase");
    Loop lr = loop_open(G, c64(G, 0), c64(G, k), c64(G, -1), "r");
    LLVMValueRef prev = lr.carry;
    LLVMValueRef has_prev = LLVMBuildICmp(G->b, LLVMIntSGE, prev, c64(G, 0), "");
    LLVMValueRef pat = LLVMBuildSelect(G->b, has_prev, prev, c64(G, 0), "");
    LLVMValueRef pv = load_f64(G, src, LLVMBuildAdd(G->b, xbase, pat, ""));
    Loop li = loop_open(G, c64(G, 0), c64(G, len), c64(G, -1), "i");
    LLVMValueRef cand = li.carry;
    LLVMValueRef v = load_f64(G, src, LLVMBuildAdd(G->b, xbase, li.i, ""));
    /* after prev: prev ranks before v, or they tie and prev < i */
    LLVMValueRef p_before = ranks_before(G, pv, v), v_before = ranks_before(G, v, pv);
    LLVMValueRef tie_after = LLVMBuildAnd(G->b, LLVMBuildNot(G->b, LLVMBuildOr(G->b, p_before, v_before, ""), ""),
                                          LLVMBuildICmp(G->b, LLVMIntSLT, prev, li.i, ""), "");
    LLVMValueRef after = LLVMBuildOr(G->b, LLVMBuildNot(G->b, has_prev, ""),
                                     LLVMBuildOr(G->b, p_before, tie_after, ""), "after");
    /* before cand (i > cand, so a tie keeps cand) */
    LLVMValueRef has_cand = LLVMBuildICmp(G->b, LLVMIntSGE, cand, c64(G, 0), "");
    LLVMValueRef cat = LLVMBuildSelect(G->b, has_cand, cand, c64(G, 0), "");
    LLVMValueRef cv = load_f64(G, src, LLVMBuildAdd(G->b, xbase, cat, ""));
    LLVMValueRef better = LLVMBuildOr(G->b, LLVMBuildNot(G->b, has_cand, ""), ranks_before(G, v, cv), "better");
    LLVMValueRef take = LLVMBuildAnd(G->b, after, better, "take");
    loop_close(G, &li, LLVMBuildSelect(G->b, take, li.i, cand, ""));
    LLVMValueRef pick = li.carry; /* >= 0: k <= len leaves an entry after prev */
    LLVMValueRef ooff = LLVMBuildAdd(G->b, LLVMBuildMul(G->b, row, c64(G, k), ""), lr.i, "");
    store_at(G, G->out, IR_DTYPE_I32, ooff, LLVMBuildTrunc(G->b, pick, G->i32, ""));
    loop_close(G, &lr, pick);
}

static void build_kernel(LLVMContextRef ctx, LLVMModuleRef mod, const IrGraph *g, const CcKernel *k,
                         const char *name) {
    Gen G = {.ctx = ctx, .mod = mod, .g = g, .k = k};
    G.b = LLVMCreateBuilderInContext(ctx);
    G.ce = (CcEmit){.ctx = ctx, .mod = mod, .b = G.b, .g = g};
    G.i32 = LLVMInt32TypeInContext(ctx);
    G.i64 = LLVMInt64TypeInContext(ctx);
    G.f64 = LLVMDoubleTypeInContext(ctx);
    G.ptr = LLVMPointerTypeInContext(ctx, 0);
    LLVMTypeRef params[3] = {G.ptr, G.i64, G.i64};
    G.fn = LLVMAddFunction(mod, name, LLVMFunctionType(LLVMVoidTypeInContext(ctx), params, 3, 0));
    LLVMAddAttributeAtIndex(G.fn, LLVMAttributeFunctionIndex,
                            LLVMCreateEnumAttribute(ctx, LLVMGetEnumAttributeKindForName("nounwind", 8), 0));
    LLVMValueRef bufs = LLVMGetParam(G.fn, 0), begin = LLVMGetParam(G.fn, 1), end = LLVMGetParam(G.fn, 2);
    LLVMSetValueName2(bufs, "bufs", 4);
    LLVMSetValueName2(begin, "begin", 5);
    LLVMSetValueName2(end, "end", 3);
    LLVMPositionBuilderAtEnd(G.b, LLVMAppendBasicBlockInContext(ctx, G.fn, "entry"));

    G.in = llmc_xcalloc(k->n_inputs + 1, sizeof *G.in);
    for (uint32_t i = 0; i <= k->n_inputs; i++) {
        LLVMValueRef ix = c64(&G, i);
        LLVMValueRef slot = LLVMBuildGEP2(G.b, G.ptr, bufs, &ix, 1, "");
        LLVMValueRef p = LLVMBuildLoad2(G.b, G.ptr, slot, i < k->n_inputs ? "in" : "out");
        if (i < k->n_inputs) G.in[i] = p;
        else G.out = p;
    }
    const IrNode *n = ir_graph_node(g, k->root);
    LLVMValueRef keys[3] = {0};
    if (n->op == IR_OP_RAND)
        for (uint32_t i = 0; i < 3; i++) keys[i] = rand_key(&G, n, i);
    if (n->op == IR_OP_SCATTER_ADD) {
        Scatter s = scatter_geometry(g, n);
        LLVMTypeRef at = n->type.dtype == IR_DTYPE_I32 ? G.i32 : G.f64;
        G.acc = LLVMBuildAlloca(G.b, LLVMArrayType2(at, (uint64_t)(s.post ? scatter_chunk(&s) : 1)), "acc");
        LLVMSetAlignment(G.acc, 64);
    }

    Loop l = loop_open(&G, begin, end, NULL, "idx");
    if (n->op == IR_OP_CUMSUM) {
        emit_cumsum_row(&G, n, l.i);
    } else if (n->op == IR_OP_SCATTER_ADD) {
        emit_scatter_add_row(&G, n, l.i);
    } else if (n->op == IR_OP_TOPK) {
        emit_topk_row(&G, n, l.i);
    } else {
        LLVMValueRef v = NULL;
        switch (n->op) {
        case IR_OP_IOTA: v = emit_iota(&G, n, l.i); break;
        case IR_OP_ONEHOT: v = emit_onehot(&G, n, l.i); break;
        case IR_OP_GATHER: v = emit_gather(&G, n, l.i); break;
        case IR_OP_RAND: v = emit_rand(&G, n, l.i, keys); break;
        case IR_OP_CUMSUM: case IR_OP_TOPK: case IR_OP_SCATTER_ADD: case IR_OP_INPUT: case IR_OP_CONST:
        case IR_OP_NEG: case IR_OP_ABS: case IR_OP_EXP: case IR_OP_LOG: case IR_OP_SQRT: case IR_OP_RSQRT:
        case IR_OP_TANH: case IR_OP_RECIP: case IR_OP_SIN: case IR_OP_COS: case IR_OP_CAST: case IR_OP_ADD:
        case IR_OP_SUB: case IR_OP_MUL: case IR_OP_DIV: case IR_OP_MAX: case IR_OP_MIN: case IR_OP_POW:
        case IR_OP_CMPLT: case IR_OP_CMPEQ: case IR_OP_SELECT: case IR_OP_REDUCE_SUM: case IR_OP_REDUCE_MAX:
        case IR_OP_RESHAPE: case IR_OP_PERMUTE: case IR_OP_BROADCAST: case IR_OP_SLICE: case IR_OP_CONCAT:
        case IR_OP_MATMUL: case IR_OP_ATTENTION: case IR_OP_ATTENTION_LSE: case IR_OP_ATTENTION_GRAD: case IR_OP_EXTERN_CALL: case IR_OP_ALL_GATHER: case IR_OP_REDUCE_SCATTER:
        case IR_OP_ALL_REDUCE: case IR_OP_ALL_TO_ALL: case IR_OP_STOP_GRADIENT: case IR_OP_INVALID:
        case IR_OP_COUNT:
            LLMC_ASSERT(!"plan_check admits no other op");
            break;
        }
        store_at(&G, G.out, n->type.dtype, l.i, v);
    }
    loop_close(&G, &l, NULL);
    LLVMBuildRetVoid(G.b);
    LLVMDisposeBuilder(G.b);
    free(G.in);
}

LLVMModuleRef cc_index_module(const CcJit *jit, LLVMContextRef ctx, const IrGraph *g, const CcKernel *k, LlmcErr *err) {
    if (!plan_check(g, k, err)) return NULL;
    LLVMModuleRef mod = LLVMModuleCreateWithNameInContext("llmc_idx", ctx);
    build_kernel(ctx, mod, g, k, "llmc_idx");
    return mod;
}

bool cc_codegen_index(CcJit *jit, const IrGraph *g, const CcKernel *k, CcKernelFn *fn, LlmcErr *err) {
    LLVMOrcThreadSafeContextRef tsctx = LLVMOrcCreateNewThreadSafeContext();
    LLVMModuleRef mod = cc_index_module(jit, LLVMOrcThreadSafeContextGetContext(tsctx), g, k, err);
    return cc_jit_add_kernel(jit, mod, tsctx, "llmc_idx", fn, err);
}

char *cc_codegen_index_ir(CcJit *jit, const IrGraph *g, const CcKernel *k, bool optimize, LlmcErr *err) {
    return cc_kernel_text(jit, g, k, 0, optimize ? CC_TEXT_LLVM_OPT : CC_TEXT_LLVM, err);
}
