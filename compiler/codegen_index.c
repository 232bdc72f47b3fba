/* compiler/codegen_index.c — one INDEX kernel of cc_fuse (compiler/fuse.c) as one LLVM
 * function, for the kernels that are a single node: iota, onehot, gather, rand, cumsum,
 * scatter_add, topk.
 *
 *     void llmc_idx_<n>(void **bufs, int64_t begin, int64_t end)
 *
 * ABI (compiler.h, "JIT: index"): bufs[] = the kernel's inputs as CcKernel.inputs lists
 * them (ascending id; splat constants are literals and not listed), then the output, each
 * dense row-major in its dtype (a rank-0 input is a 1-element array). [begin, end) ranges
 * over OUTPUT ELEMENTS for iota, onehot, gather, rand and scatter_add, over independent
 * ROWS for cumsum (row r = o * inner + j: the outer x inner positions around the axis,
 * row-major), and over the rows of the last axis for topk (out has k per row). Every
 * output element is a pure function of the inputs and its own index, and a cumsum or
 * topk row is done whole by one call, so any split over calls or threads gives the same
 * bytes.
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
 *           ir_rand_value: the value is computed in double (normal: llvm.log, llvm.cos,
 *           llvm.sqrt on double, i.e. the same libm log/cos the interpreter calls) and
 *           rounded once to the result dtype. So uniform is bit-exact and normal is
 *           bit-exact whenever the JIT's libm is the interpreter's (same process).
 *           Sharded rand (shard_axis >= 0) needs the rank, which this ABI does not carry:
 *           "not supported yet".
 *   cumsum  sequential along the axis in visiting order (reverse: from the end), the first
 *           term taken as is (keeps -0), exclusive outputs starting at +0; f64 sums in
 *           f64, f32 sums in double rounded once per output (the interpreter's order and
 *           precision, so bit-exact), i32 wrapping. Each element is loaded before its
 *           output is stored, so the output may be the input buffer (in place).
 *   scatter_add  each output element is summed whole by itself: +0, then every update
 *           that lands on it, in the updates' element order (for one output element
 *           they differ only in the index position m, visited upward) — the
 *           interpreter's order; f64 in f64, f32 in double rounded once (the interpreter
 *           keeps doubles and rounds the finished node), i32 wrapping. So bit-exact and
 *           split-invariant with no atomics, at a cost of O(numel(out) x M) index reads
 *           (M = the index positions per batch, numel(idx) / batch): fine for tests and
 *           small vocabularies, quadratic-ish for an embedding gradient — a sort- or
 *           segment-based kernel is the later fix. An index outside [0, out.dims[axis])
 *           hits nothing (skipped) where the interpreter reports an error.
 *   topk    k selection scans per row: pick r is the first entry after pick r-1 in the
 *           total order (larger first, nan larger than every number, -0 == +0, ties
 *           lower index first) — exactly the interpreter's result. O(k n) per row.
 *
 * Deliberately not here: absorbed movement ops (fusion folds them into INDEX kernels as
 * index arithmetic), a fast scatter_add or topk (see above), vectorization (these
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

/* Checks that k is one supported node; false + message otherwise. */
static bool plan_check(const IrGraph *g, const CcKernel *k, LlmcErr *err) {
    if (k->kind != CC_KERNEL_INDEX) {
        llmc_err_set(err, "index codegen: kernel (root %%%u) is %s, not index", k->root, cc_kernel_kind_name(k->kind));
        return false;
    }
    const IrNode *n = ir_graph_node(g, k->root);
    if (k->n_nodes != 1 || k->n_outputs != 1) {
        llmc_err_set(err, "index codegen: kernel (root %%%u, %s) has %u nodes and %u outputs; absorbed movement "
                          "ops are not supported yet", k->root, ir_op_name(n->op), k->n_nodes, k->n_outputs);
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
    case IR_OP_BROADCAST: case IR_OP_SLICE: case IR_OP_CONCAT: case IR_OP_MATMUL: case IR_OP_EXTERN_CALL:
    case IR_OP_ALL_GATHER: case IR_OP_REDUCE_SCATTER: case IR_OP_ALL_REDUCE: case IR_OP_ALL_TO_ALL:
    case IR_OP_INVALID: case IR_OP_COUNT:
        llmc_err_set(err, "index codegen: kernel root %%%u is %s, not an index op", k->root, ir_op_name(n->op));
        return false;
    }
    if (!dtype_ok(n->type.dtype)) {
        llmc_err_set(err, "index codegen: %%%u has dtype %s (f32, f64 or i32 supported)", k->root,
                     ir_dtype_name(n->type.dtype));
        return false;
    }
    for (uint32_t o = 0; o < n->n_operands; o++) {
        IrId x = n->operands[o];
        const IrNode *xn = ir_graph_node(g, x);
        if (!dtype_ok(xn->type.dtype)) {
            llmc_err_set(err, "index codegen: operand %%%u has dtype %s", x, ir_dtype_name(xn->type.dtype));
            return false;
        }
        bool splat = xn->op == IR_OP_CONST && xn->attrs.constant.value.count == 1;
        bool scalar_ok = n->op == IR_OP_RAND; /* rand's keys may be literals */
        if (!is_input(k, x) && !(splat && scalar_ok)) {
            llmc_err_set(err, "index codegen: operand %%%u of %%%u is not a kernel input (a splat constant "
                              "there is not supported yet)", x, k->root);
            return false;
        }
    }
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

/* Row-major strides of t. */
static void strides(const IrType *t, int64_t *s) {
    int64_t acc = 1;
    for (uint32_t i = t->rank; i-- > 0;) {
        s[i] = acc;
        acc *= t->dims[i];
    }
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
    LLVMValueRef v = LLVMBuildSExt(G->b, load_at(G, buffer_of(G, n->operands[0]), IR_DTYPE_I32, i), G->i64, "");
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
    LLVMValueRef j = LLVMBuildSExt(G->b, load_at(G, buffer_of(G, n->operands[1]), IR_DTYPE_I32, ii), G->i64, "j");
    LLVMValueRef in_range = LLVMBuildICmp(G->b, LLVMIntULT, j, c64(G, xt->dims[axis]), "inrange");
    LLVMValueRef jj = LLVMBuildSelect(G->b, in_range, j, c64(G, 0), "");
    LLVMValueRef ti = LLVMBuildMul(G->b, jj, c64(G, ts[axis]), "");
    for (int64_t d = 0; d < axis; d++) ti = LLVMBuildAdd(G->b, ti, LLVMBuildMul(G->b, gc[d], c64(G, ts[d]), ""), "");
    for (int64_t d = axis + 1; d < (int64_t)xt->rank; d++)
        ti = LLVMBuildAdd(G->b, ti, LLVMBuildMul(G->b, gc[d - 1 + q - bd], c64(G, ts[d]), ""), "");
    LLVMValueRef v = load_at(G, buffer_of(G, n->operands[0]), xt->dtype, ti);
    return LLVMBuildSelect(G->b, in_range, v, zero_of(G, ot->dtype), "");
}

static LLVMValueRef call_intrinsic(Gen *G, const char *name, LLVMValueRef x) {
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLMC_ASSERT(id != 0);
    LLVMTypeRef t = LLVMTypeOf(x);
    LLVMValueRef f = LLVMGetIntrinsicDeclaration(G->mod, id, &t, 1);
    return LLVMBuildCall2(G->b, LLVMIntrinsicGetType(G->ctx, id, &t, 1), f, &x, 1, "");
}

/* rand key operand k of n (seed, step, micro), as an i32 read once in the entry block. */
static LLVMValueRef rand_key(Gen *G, const IrNode *n, uint32_t k) {
    IrId id = n->operands[k];
    const IrNode *kn = ir_graph_node(G->g, id);
    if (!is_input(G->k, id)) return c32(G, (uint32_t)(int32_t)cc_const_value(kn, 0)); /* splat literal */
    return load_at(G, buffer_of(G, id), IR_DTYPE_I32, c64(G, 0));
}

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
        LLVMValueRef r = LLVMBuildFMul(G->b, LLVMConstReal(G->f64, -2.0), call_intrinsic(G, "llvm.log", u1), "");
        r = call_intrinsic(G, "llvm.sqrt", r);
        LLVMValueRef a = LLVMBuildFMul(G->b, LLVMConstReal(G->f64, 6.283185307179586476925286766559), u2, "");
        z = LLVMBuildFMul(G->b, r, call_intrinsic(G, "llvm.cos", a), "");
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
    LLVMValueRef src = buffer_of(G, n->operands[0]), dst = G->out;
    LLVMValueRef o = LLVMBuildUDiv(G->b, r, c64(G, inner), "o");
    LLVMValueRef j = LLVMBuildSub(G->b, r, LLVMBuildMul(G->b, o, c64(G, inner), ""), "j");
    LLVMValueRef base = LLVMBuildAdd(G->b, LLVMBuildMul(G->b, o, c64(G, len * inner), ""), j, "base");
    /* position of visit q: p = reverse ? len-1-q : q; offset base + p*inner */
    LLVMValueRef off0 = LLVMBuildAdd(G->b, base, c64(G, (reverse ? len - 1 : 0) * inner), "");
    LLVMValueRef v0 = load_at(G, src, dt, off0);
    if (dt == IR_DTYPE_F32) v0 = LLVMBuildFPExt(G->b, v0, G->f64, "");
    store_at(G, dst, dt, off0, exclusive ? zero_of(G, dt) : (dt == IR_DTYPE_F32 ? LLVMBuildFPTrunc(G->b, v0, elem_type(G, dt), "") : v0));
    if (len == 1) return;
    Loop l = loop_open(G, c64(G, 1), c64(G, len), v0, "q");
    LLVMValueRef acc = l.carry;
    LLVMValueRef p = reverse ? LLVMBuildSub(G->b, c64(G, len - 1), l.i, "") : l.i;
    LLVMValueRef off = LLVMBuildAdd(G->b, base, LLVMBuildMul(G->b, p, c64(G, inner), ""), "");
    LLVMValueRef v = load_at(G, src, dt, off);
    if (dt == IR_DTYPE_F32) v = LLVMBuildFPExt(G->b, v, G->f64, "");
    LLVMValueRef sum = dt == IR_DTYPE_I32 ? LLVMBuildAdd(G->b, acc, v, "") : LLVMBuildFAdd(G->b, acc, v, "");
    LLVMValueRef shown = exclusive ? acc : sum;
    if (dt == IR_DTYPE_F32) shown = LLVMBuildFPTrunc(G->b, shown, elem_type(G, dt), "");
    store_at(G, dst, dt, off, shown);
    loop_close(G, &l, sum);
}

/* scatter_add output element e = (pre * D + j) * post + p, with pre the flat coordinate
 * over out.dims[0..axis), j the coordinate on the axis (D long), p over
 * out.dims[axis+1..). The updates that can hit e are upd[pre, m, p] for the M positions m
 * of idx.dims[bd..Q) (upd is [pre, M, post] in row-major order); one hits when
 * idx[b, m] == j, b = pre's first bd coordinates. Summing them for increasing m is the
 * interpreter's element order restricted to e. Started at +0 (the interpreter's zeros);
 * f32 in double rounded once; i32 wrapping. An index outside [0, D) equals no j. */
static LLVMValueRef emit_scatter_add(Gen *G, const IrNode *n, LLVMValueRef e) {
    const IrType *ot = &n->type;
    const IrType *it = &ir_graph_node(G->g, n->operands[0])->type;
    int64_t axis = n->attrs.gather.axis, bd = n->attrs.gather.batch_dims;
    int64_t D = ot->dims[axis], post = 1, mid = 1, M = 1;
    for (uint32_t d = (uint32_t)axis + 1; d < ot->rank; d++) post *= ot->dims[d];
    for (int64_t d = bd; d < axis; d++) mid *= ot->dims[d];
    for (uint32_t d = (uint32_t)bd; d < it->rank; d++) M *= it->dims[d];
    IrDtype dt = ot->dtype;
    LLVMValueRef p = LLVMBuildURem(G->b, e, c64(G, post), "p");
    LLVMValueRef rest = LLVMBuildUDiv(G->b, e, c64(G, post), "");
    LLVMValueRef j = LLVMBuildURem(G->b, rest, c64(G, D), "j");
    LLVMValueRef pre = LLVMBuildUDiv(G->b, rest, c64(G, D), "pre");
    LLVMValueRef ibase = LLVMBuildMul(G->b, LLVMBuildUDiv(G->b, pre, c64(G, mid), ""), c64(G, M), "ibase");
    LLVMValueRef ubase = LLVMBuildAdd(G->b, LLVMBuildMul(G->b, pre, c64(G, M * post), ""), p, "ubase");
    LLVMValueRef acc0 = dt == IR_DTYPE_I32 ? c32(G, 0) : LLVMConstReal(G->f64, 0.0);
    Loop l = loop_open(G, c64(G, 0), c64(G, M), acc0, "m");
    LLVMValueRef iv = load_at(G, buffer_of(G, n->operands[0]), IR_DTYPE_I32, LLVMBuildAdd(G->b, ibase, l.i, ""));
    LLVMValueRef hit = LLVMBuildICmp(G->b, LLVMIntEQ, LLVMBuildSExt(G->b, iv, G->i64, ""), j, "hit");
    LLVMValueRef uoff = LLVMBuildAdd(G->b, ubase, LLVMBuildMul(G->b, l.i, c64(G, post), ""), "");
    /* the load is in bounds for every m, hit or not */
    LLVMValueRef u = load_at(G, buffer_of(G, n->operands[1]), dt, uoff);
    if (dt == IR_DTYPE_F32) u = LLVMBuildFPExt(G->b, u, G->f64, "");
    LLVMValueRef sum = dt == IR_DTYPE_I32 ? LLVMBuildAdd(G->b, l.carry, u, "") : LLVMBuildFAdd(G->b, l.carry, u, "");
    LLVMValueRef next = LLVMBuildSelect(G->b, hit, sum, l.carry, "");
    loop_close(G, &l, next);
    LLVMValueRef acc = l.carry;
    if (dt == IR_DTYPE_F32) acc = LLVMBuildFPTrunc(G->b, acc, elem_type(G, dt), "");
    return acc;
}

/* topk's order, as i1: a ranks before b (a larger, nan larger than every number). */
static LLVMValueRef ranks_before(Gen *G, LLVMValueRef a, LLVMValueRef b) {
    LLVMValueRef b_nan = LLVMBuildFCmp(G->b, LLVMRealUNO, b, b, "");
    LLVMValueRef a_nan = LLVMBuildFCmp(G->b, LLVMRealUNO, a, a, "");
    LLVMValueRef gt = LLVMBuildFCmp(G->b, LLVMRealOGT, a, b, "");
    return LLVMBuildAnd(G->b, LLVMBuildNot(G->b, b_nan, ""), LLVMBuildOr(G->b, a_nan, gt, ""), "");
}

static LLVMValueRef load_f64(Gen *G, LLVMValueRef base, IrDtype dt, LLVMValueRef at) {
    LLVMValueRef v = load_at(G, base, dt, at);
    if (dt == IR_DTYPE_F32) return LLVMBuildFPExt(G->b, v, G->f64, "");
    if (dt == IR_DTYPE_I32) return LLVMBuildSIToFP(G->b, v, G->f64, "");
    return v;
}

/* topk row `row`: pick r = 0..k-1 by a scan each. Entries are totally ordered by (value
 * by ranks_before, then lower index first) — the interpreter's order; pick r is the
 * first entry of that order strictly after pick r-1. O(k n) per row; k is small. */
static void emit_topk_row(Gen *G, const IrNode *n, LLVMValueRef row) {
    const IrNode *xn = ir_graph_node(G->g, n->operands[0]);
    IrDtype xdt = xn->type.dtype;
    int64_t len = xn->type.dims[xn->type.rank - 1], k = n->attrs.topk.k;
    LLVMValueRef src = buffer_of(G, n->operands[0]);
    LLVMValueRef xbase = LLVMBuildMul(G->b, row, c64(G, len), "xbase");
    Loop lr = loop_open(G, c64(G, 0), c64(G, k), c64(G, -1), "r");
    LLVMValueRef prev = lr.carry;
    LLVMValueRef has_prev = LLVMBuildICmp(G->b, LLVMIntSGE, prev, c64(G, 0), "");
    LLVMValueRef pat = LLVMBuildSelect(G->b, has_prev, prev, c64(G, 0), "");
    LLVMValueRef pv = load_f64(G, src, xdt, LLVMBuildAdd(G->b, xbase, pat, ""));
    Loop li = loop_open(G, c64(G, 0), c64(G, len), c64(G, -1), "i");
    LLVMValueRef cand = li.carry;
    LLVMValueRef v = load_f64(G, src, xdt, LLVMBuildAdd(G->b, xbase, li.i, ""));
    /* after prev: prev ranks before v, or they tie and prev < i */
    LLVMValueRef p_before = ranks_before(G, pv, v), v_before = ranks_before(G, v, pv);
    LLVMValueRef tie_after = LLVMBuildAnd(G->b, LLVMBuildNot(G->b, LLVMBuildOr(G->b, p_before, v_before, ""), ""),
                                          LLVMBuildICmp(G->b, LLVMIntSLT, prev, li.i, ""), "");
    LLVMValueRef after = LLVMBuildOr(G->b, LLVMBuildNot(G->b, has_prev, ""),
                                     LLVMBuildOr(G->b, p_before, tie_after, ""), "after");
    /* before cand (i > cand, so a tie keeps cand) */
    LLVMValueRef has_cand = LLVMBuildICmp(G->b, LLVMIntSGE, cand, c64(G, 0), "");
    LLVMValueRef cat = LLVMBuildSelect(G->b, has_cand, cand, c64(G, 0), "");
    LLVMValueRef cv = load_f64(G, src, xdt, LLVMBuildAdd(G->b, xbase, cat, ""));
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

    Loop l = loop_open(&G, begin, end, NULL, "idx");
    if (n->op == IR_OP_CUMSUM) {
        emit_cumsum_row(&G, n, l.i);
    } else if (n->op == IR_OP_TOPK) {
        emit_topk_row(&G, n, l.i);
    } else {
        LLVMValueRef v = NULL;
        switch (n->op) {
        case IR_OP_IOTA: v = emit_iota(&G, n, l.i); break;
        case IR_OP_ONEHOT: v = emit_onehot(&G, n, l.i); break;
        case IR_OP_GATHER: v = emit_gather(&G, n, l.i); break;
        case IR_OP_RAND: v = emit_rand(&G, n, l.i, keys); break;
        case IR_OP_SCATTER_ADD: v = emit_scatter_add(&G, n, l.i); break;
        case IR_OP_CUMSUM: case IR_OP_TOPK: case IR_OP_INPUT: case IR_OP_CONST:
        case IR_OP_NEG: case IR_OP_ABS: case IR_OP_EXP: case IR_OP_LOG: case IR_OP_SQRT: case IR_OP_RSQRT:
        case IR_OP_TANH: case IR_OP_RECIP: case IR_OP_SIN: case IR_OP_COS: case IR_OP_CAST: case IR_OP_ADD:
        case IR_OP_SUB: case IR_OP_MUL: case IR_OP_DIV: case IR_OP_MAX: case IR_OP_MIN: case IR_OP_POW:
        case IR_OP_CMPLT: case IR_OP_CMPEQ: case IR_OP_SELECT: case IR_OP_REDUCE_SUM: case IR_OP_REDUCE_MAX:
        case IR_OP_RESHAPE: case IR_OP_PERMUTE: case IR_OP_BROADCAST: case IR_OP_SLICE: case IR_OP_CONCAT:
        case IR_OP_MATMUL: case IR_OP_EXTERN_CALL: case IR_OP_ALL_GATHER: case IR_OP_REDUCE_SCATTER:
        case IR_OP_ALL_REDUCE: case IR_OP_ALL_TO_ALL: case IR_OP_INVALID: case IR_OP_COUNT:
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
