/* compiler/codegen_elementwise.c — one fused elementwise kernel as one LLVM function.
 *
 * Given a set of elementwise nodes that all have the output's shape, this builds
 *
 *     void llmc_ew_<n>(void **bufs, int64_t begin, int64_t end)
 *
 * computing out[i] for i in [begin, end) (ABI: compiler.h, CcKernelFn). bufs[] holds the
 * external inputs in ascending node id, then the output. Operands from outside the set
 * are: nodes of the output's shape (a dense buffer, indexed by i); rank-0 values seen
 * through a `broadcast` (a 1-element buffer loaded once and splatted); splat constants
 * (folded into the code as literals, no buffer). Only the nodes the output needs are
 * computed; intermediates live in registers, never in memory.
 *
 * The loop is vectorized by hand: a main loop over W lanes, then a scalar remainder loop
 * over the same per-element code. W is 16 (4-byte dtypes) or 8 (f64) with AVX-512
 * (+avx512f in the host features; the function then carries prefer-vector-width=512),
 * else 8 or 4; a kernel mixing f64 with 4-byte dtypes uses the 4-byte width. Both loops
 * compute each element with the same operations, so any split of [0, n) over calls gives
 * the same bytes — what the thread pool relies on.
 *
 * Semantics follow ir/ops.def and ir/interp_elementwise.c:
 *   - f32 computes in f32, f64 in f64; no fast-math flags, no FMA contraction (jit.c).
 *     add/sub/mul/div/recip/sqrt/neg/abs/max/min/compares/select/cast are correctly
 *     rounded, so they equal the interpreter's f32 mode (double, rounded once) bit for
 *     bit. rsqrt is 1/sqrt in the value's dtype (two roundings in f32: within 1 ulp of the
 *     interpreter's once-rounded double); exp/log/tanh/sin/cos/pow are the libm calls of
 *     the table below (f32: expf & co., within a few ulp).
 *   - max/min: x >= y ? x : y (x <= y for min), with a nan operand passed through (x's
 *     first), by fcmp + select, so -0/+0 and nan payloads match the interpreter.
 *   - cmplt/cmpeq: ordered compares (0 when either is nan), 1 or 0 in the operand dtype.
 *     select: c != 0 (unordered for floats: a nan condition picks x).
 *   - i32: add/sub/mul/neg/abs wrap modulo 2^32 (no nsw/nuw); div truncates toward 0,
 *     INT32_MIN / -1 = INT32_MIN. Division by zero, an error in the interpreter, gives 0
 *     here: kernels cannot fail, and the interpreter is the place to find such bugs.
 *   - cast float -> i32 truncates toward 0 and saturates (llvm.fptosi.sat): nan gives 0,
 *     values beyond the int32 range give INT32_MIN / INT32_MAX; the interpreter errors
 *     on those. Other casts are fpext / fptrunc / sitofp (correctly rounded).
 *
 * Which functions a module may reach: LLVM intrinsics only. Those in cc_codegen_libm_table
 * become libm calls in the x86 backend (e.g. llvm.exp.v16f32 becomes 16 expf calls): the
 * documented exception of this first slice, checked by tests/jit; a later issue replaces
 * them with in-kernel polynomials. The rest (cc_codegen_inline_intrinsics) lower to
 * instructions.
 *
 * Deliberately not here: fusion decisions (the caller picks the set), reductions, movement
 * other than a rank-0 broadcast, multiple outputs, threading, and the object cache.
 */
#include "compiler.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/Orc.h>

#include <stdlib.h>
#include <string.h>

/* --- the libm table ------------------------------------------------------------------ */

static const CcLibmEntry LIBM[] = {
    {IR_OP_EXP, "llvm.exp", "expf", "exp"},
    {IR_OP_LOG, "llvm.log", "logf", "log"},
    {IR_OP_TANH, "llvm.tanh", "tanhf", "tanh"},
    {IR_OP_SIN, "llvm.sin", "sinf", "sin"},
    {IR_OP_COS, "llvm.cos", "cosf", "cos"},
    {IR_OP_POW, "llvm.pow", "powf", "pow"},
};

static const char *const INLINE_INTRINSICS[] = {"llvm.fabs", "llvm.sqrt", "llvm.fptosi.sat", NULL};

const CcLibmEntry *cc_codegen_libm_table(uint32_t *count) {
    *count = (uint32_t)(sizeof LIBM / sizeof LIBM[0]);
    return LIBM;
}

const char *const *cc_codegen_inline_intrinsics(void) { return INLINE_INTRINSICS; }

static const char *libm_intrinsic(IrOp op) {
    for (size_t i = 0; i < sizeof LIBM / sizeof LIBM[0]; i++)
        if (LIBM[i].op == op) return LIBM[i].intrinsic;
    LLMC_ASSERT(!"op has no libm table entry");
    return NULL;
}

/* --- the plan: what each node is to the kernel ------------------------------------- */

typedef enum Role {
    ROLE_NONE = 0, /* not used by the kernel */
    ROLE_COMPUTE,  /* computed in the loop body */
    ROLE_BUFFER,   /* output-shaped input: bufs[slot][i] */
    ROLE_SCALAR,   /* rank-0 input: bufs[slot][0], splatted */
    ROLE_CONST,    /* splat constant, a literal */
    ROLE_ALIAS,    /* broadcast of a rank-0 value: that value, splatted */
} Role;

typedef struct Plan {
    const IrGraph *g;
    IrId output;
    uint8_t *role;      /* [n_nodes] Role */
    IrId *alias;        /* [n_nodes] ROLE_ALIAS: the rank-0 node it repeats */
    uint32_t *slot;     /* [n_nodes] ROLE_BUFFER / ROLE_SCALAR: index into bufs */
    IrId *order;        /* compute nodes, ascending */
    uint32_t n_order;
    IrId *inputs;       /* buffer and scalar inputs, ascending */
    uint32_t n_inputs;
    unsigned lanes;     /* W, set at emission */
} Plan;

static void plan_free(Plan *p) {
    free(p->role);
    free(p->alias);
    free(p->slot);
    free(p->order);
    free(p->inputs);
    memset(p, 0, sizeof *p);
}

static bool is_splat_const(const IrNode *n) { return n->op == IR_OP_CONST && n->attrs.constant.value.count == 1; }

static bool is_rank0_broadcast(const IrGraph *g, const IrNode *n) {
    return n->op == IR_OP_BROADCAST && ir_graph_node(g, n->operands[0])->type.rank == 0;
}

/* Classifies external (or broadcast) operand `id` used by a compute node. */
static bool plan_external(Plan *p, IrId id, const IrType *out_type, LlmcErr *err) {
    const IrGraph *g = p->g;
    const IrNode *n = ir_graph_node(g, id);
    if (p->role[id] != ROLE_NONE && p->role[id] != ROLE_ALIAS) return true;
    if (is_rank0_broadcast(g, n)) {
        IrId src = n->operands[0];
        p->role[id] = ROLE_ALIAS;
        p->alias[id] = src;
        if (p->role[src] == ROLE_NONE)
            p->role[src] = is_splat_const(ir_graph_node(g, src)) ? ROLE_CONST : ROLE_SCALAR;
        return true;
    }
    if (is_splat_const(n)) {
        p->role[id] = ROLE_CONST;
        return true;
    }
    if (!ir_type_same_shape(&n->type, out_type)) {
        char a[IR_TYPE_STR_MAX], b[IR_TYPE_STR_MAX];
        llmc_err_set(err, "elementwise kernel: input %%%u (%s) has neither the output's shape %s nor rank 0",
                     id, ir_type_format(&n->type, a, sizeof a), ir_type_format(out_type, b, sizeof b));
        return false;
    }
    p->role[id] = ROLE_BUFFER;
    return true;
}

static bool plan_build(Plan *p, const IrGraph *g, const IrId *nodes, uint32_t n_nodes, IrId output,
                       LlmcErr *err) {
    memset(p, 0, sizeof *p);
    p->g = g;
    p->output = output;
    if (output >= g->n_nodes) {
        llmc_err_set(err, "elementwise kernel: output %%%u is not a node", output);
        return false;
    }
    uint8_t *in_set = llmc_xcalloc(g->n_nodes, 1);
    bool ok = true;
    for (uint32_t i = 0; i < n_nodes && ok; i++) {
        IrId id = nodes[i];
        if (id >= g->n_nodes) {
            llmc_err_set(err, "elementwise kernel: %%%u is not a node", id);
            ok = false;
            break;
        }
        const IrNode *n = ir_graph_node(g, id);
        const IrType *ot = &ir_graph_node(g, output)->type;
        if (ir_op_info(n->op)->kind != IR_KIND_ELEMENTWISE && !is_rank0_broadcast(g, n)) {
            llmc_err_set(err, "elementwise kernel: %%%u is %s, not an elementwise op", id, ir_op_name(n->op));
            ok = false;
        } else if (!ir_type_same_shape(&n->type, ot)) {
            llmc_err_set(err, "elementwise kernel: %%%u (%s) does not have the output's shape", id,
                         ir_op_name(n->op));
            ok = false;
        }
        in_set[id] = 1;
    }
    if (ok && !in_set[output]) {
        llmc_err_set(err, "elementwise kernel: output %%%u is not in the node set", output);
        ok = false;
    }
    if (!ok) {
        free(in_set);
        return false;
    }

    p->role = llmc_xcalloc(g->n_nodes, 1);
    p->alias = llmc_xcalloc(g->n_nodes, sizeof *p->alias);
    p->slot = llmc_xcalloc(g->n_nodes, sizeof *p->slot);
    p->order = llmc_xmalloc((size_t)n_nodes * sizeof *p->order);
    const IrType out_type = ir_graph_node(g, output)->type;

    /* Mark what the output needs, walking ids downward (topological order). */
    uint8_t *need = llmc_xcalloc(g->n_nodes, 1);
    need[output] = 1;
    for (IrId id = output + 1; id-- > 0;) {
        if (!need[id] || !in_set[id]) continue;
        const IrNode *n = ir_graph_node(g, id);
        if (is_rank0_broadcast(g, n)) {
            if (!plan_external(p, id, &out_type, err)) ok = false;
            continue;
        }
        p->role[id] = ROLE_COMPUTE;
        for (uint32_t k = 0; k < n->n_operands; k++) {
            IrId o = n->operands[k];
            if (in_set[o]) need[o] = 1; /* a rank-0 broadcast in the set is planned at its turn */
            else if (!plan_external(p, o, &out_type, err)) ok = false;
        }
    }
    for (IrId id = 0; id <= output; id++)
        if (p->role[id] == ROLE_COMPUTE) p->order[p->n_order++] = id;
    uint32_t n_in = 0;
    for (IrId id = 0; id < g->n_nodes; id++)
        if (p->role[id] == ROLE_BUFFER || p->role[id] == ROLE_SCALAR) n_in++;
    p->inputs = llmc_xmalloc((n_in + 1) * sizeof *p->inputs);
    for (IrId id = 0; id < g->n_nodes; id++)
        if (p->role[id] == ROLE_BUFFER || p->role[id] == ROLE_SCALAR) {
            p->slot[id] = p->n_inputs;
            p->inputs[p->n_inputs++] = id;
        }
    free(need);
    free(in_set);
    if (!ok) plan_free(p);
    return ok;
}

bool cc_elementwise_inputs(const IrGraph *g, const IrId *nodes, uint32_t n_nodes, IrId output, IrId *ids,
                           uint32_t *n_inputs, LlmcErr *err) {
    Plan p;
    if (!plan_build(&p, g, nodes, n_nodes, output, err)) return false;
    memcpy(ids, p.inputs, p.n_inputs * sizeof *ids);
    *n_inputs = p.n_inputs;
    plan_free(&p);
    return true;
}

/* --- emission ------------------------------------------------------------------------ */

typedef struct Emit {
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMBuilderRef b;
    const Plan *p;
    LLVMValueRef *base; /* [n_nodes] ROLE_BUFFER: element pointer; ROLE_SCALAR: loaded value */
    LLVMValueRef *val;  /* [n_nodes] this body's values; reset per body */
    unsigned lanes;     /* 0: scalar body */
    LLVMValueRef idx;   /* i64 element index of this iteration */
} Emit;

static LLVMTypeRef elem_type(const Emit *e, IrDtype dt) {
    switch (dt) {
    case IR_DTYPE_F32: return LLVMFloatTypeInContext(e->ctx);
    case IR_DTYPE_F64: return LLVMDoubleTypeInContext(e->ctx);
    case IR_DTYPE_I32: return LLVMInt32TypeInContext(e->ctx);
    case IR_DTYPE_INVALID:
    case IR_DTYPE_BF16:
    case IR_DTYPE_COUNT: break;
    }
    LLMC_ASSERT(!"dtype has no kernel type");
    return NULL;
}

static LLVMTypeRef val_type(const Emit *e, IrDtype dt) {
    LLVMTypeRef t = elem_type(e, dt);
    return e->lanes ? LLVMVectorType(t, e->lanes) : t;
}

static LLVMValueRef splat_const(const Emit *e, LLVMValueRef c) {
    if (!e->lanes) return c;
    LLVMValueRef v[64];
    LLMC_ASSERT(e->lanes <= 64);
    for (unsigned i = 0; i < e->lanes; i++) v[i] = c;
    return LLVMConstVector(v, e->lanes);
}

static LLVMValueRef const_of(const Emit *e, IrDtype dt, double x) {
    LLVMTypeRef t = elem_type(e, dt);
    LLVMValueRef c = dt == IR_DTYPE_I32 ? LLVMConstInt(t, (unsigned long long)(int64_t)x, 1) : LLVMConstReal(t, x);
    return splat_const(e, c);
}

static LLVMValueRef splat_value(const Emit *e, LLVMValueRef s) {
    if (!e->lanes) return s;
    LLVMTypeRef vt = LLVMVectorType(LLVMTypeOf(s), e->lanes);
    LLVMTypeRef i32 = LLVMInt32TypeInContext(e->ctx);
    LLVMValueRef v = LLVMBuildInsertElement(e->b, LLVMGetPoison(vt), s, LLVMConstInt(i32, 0, 0), "");
    LLVMValueRef mask = LLVMConstNull(LLVMVectorType(i32, e->lanes));
    return LLVMBuildShuffleVector(e->b, v, LLVMGetPoison(vt), mask, "splat");
}

static LLVMValueRef intrinsic(const Emit *e, const char *name, LLVMTypeRef *tys, unsigned n_tys,
                              LLVMValueRef *args, unsigned n_args) {
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLMC_ASSERT(id != 0);
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(e->mod, id, tys, n_tys);
    LLVMTypeRef fty = LLVMIntrinsicGetType(e->ctx, id, tys, n_tys);
    return LLVMBuildCall2(e->b, fty, fn, args, n_args, "");
}

static LLVMValueRef unary_intrinsic(const Emit *e, const char *name, LLVMValueRef x) {
    LLVMTypeRef t = LLVMTypeOf(x);
    return intrinsic(e, name, &t, 1, &x, 1);
}

static LLVMValueRef value(Emit *e, IrId id);

/* The literal of splat constant `id`, from its payload bits. */
static LLVMValueRef const_node(const Emit *e, IrId id) {
    const IrNode *n = ir_graph_node(e->p->g, id);
    const void *bytes = n->attrs.constant.value.bytes;
    double x = 0;
    switch (n->type.dtype) {
    case IR_DTYPE_F32: x = *(const float *)bytes; break;
    case IR_DTYPE_F64: x = *(const double *)bytes; break;
    case IR_DTYPE_I32: x = *(const int32_t *)bytes; break;
    case IR_DTYPE_INVALID:
    case IR_DTYPE_BF16:
    case IR_DTYPE_COUNT: LLMC_ASSERT(!"bad const dtype"); break;
    }
    return const_of(e, n->type.dtype, x);
}

static LLVMValueRef load_buffer(Emit *e, IrId id) {
    IrDtype dt = ir_graph_node(e->p->g, id)->type.dtype;
    LLVMValueRef ptr = LLVMBuildGEP2(e->b, elem_type(e, dt), e->base[id], &e->idx, 1, "");
    LLVMValueRef v = LLVMBuildLoad2(e->b, val_type(e, dt), ptr, "");
    LLVMSetAlignment(v, (unsigned)ir_dtype_size(dt));
    return v;
}

/* c != 0 as an i1 (vector) value; floats unordered, so nan counts as true. */
static LLVMValueRef nonzero(const Emit *e, LLVMValueRef c, IrDtype dt) {
    if (dt == IR_DTYPE_I32) return LLVMBuildICmp(e->b, LLVMIntNE, c, const_of(e, dt, 0), "");
    return LLVMBuildFCmp(e->b, LLVMRealUNE, c, const_of(e, dt, 0), "");
}

/* max (greater) or min: x OP y ? x : y; then y if y is nan; then x if x is nan. */
static LLVMValueRef emit_minmax(const Emit *e, LLVMValueRef x, LLVMValueRef y, IrDtype dt, bool greater) {
    if (dt == IR_DTYPE_I32) {
        LLVMValueRef c = LLVMBuildICmp(e->b, greater ? LLVMIntSGE : LLVMIntSLE, x, y, "");
        return LLVMBuildSelect(e->b, c, x, y, "");
    }
    LLVMValueRef c = LLVMBuildFCmp(e->b, greater ? LLVMRealOGE : LLVMRealOLE, x, y, "");
    LLVMValueRef r = LLVMBuildSelect(e->b, c, x, y, "");
    r = LLVMBuildSelect(e->b, LLVMBuildFCmp(e->b, LLVMRealUNO, y, y, ""), y, r, "");
    return LLVMBuildSelect(e->b, LLVMBuildFCmp(e->b, LLVMRealUNO, x, x, ""), x, r, "");
}

/* i32 division: truncating; x / 0 = 0; INT32_MIN / -1 = INT32_MIN (divides by 1). */
static LLVMValueRef emit_idiv(const Emit *e, LLVMValueRef x, LLVMValueRef y) {
    LLVMBuilderRef b = e->b;
    LLVMValueRef zero = const_of(e, IR_DTYPE_I32, 0), one = const_of(e, IR_DTYPE_I32, 1);
    LLVMValueRef by0 = LLVMBuildICmp(b, LLVMIntEQ, y, zero, "");
    LLVMValueRef ovf = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntEQ, x, const_of(e, IR_DTYPE_I32, (double)INT32_MIN), ""),
                                    LLVMBuildICmp(b, LLVMIntEQ, y, const_of(e, IR_DTYPE_I32, -1), ""), "");
    LLVMValueRef safe = LLVMBuildSelect(b, LLVMBuildOr(b, by0, ovf, ""), one, y, "");
    LLVMValueRef q = LLVMBuildSDiv(b, x, safe, "");
    return LLVMBuildSelect(b, by0, zero, q, "");
}

static LLVMValueRef emit_cast(const Emit *e, LLVMValueRef x, IrDtype from, IrDtype to) {
    if (from == to) return x;
    LLVMTypeRef t = val_type(e, to);
    if (from == IR_DTYPE_I32) return LLVMBuildSIToFP(e->b, x, t, "");
    if (to == IR_DTYPE_I32) {
        LLVMTypeRef tys[2] = {t, LLVMTypeOf(x)};
        return intrinsic(e, "llvm.fptosi.sat", tys, 2, &x, 1);
    }
    if (to == IR_DTYPE_F64) return LLVMBuildFPExt(e->b, x, t, "");
    return LLVMBuildFPTrunc(e->b, x, t, "");
}

static LLVMValueRef emit_op(Emit *e, IrId id) {
    const IrNode *n = ir_graph_node(e->p->g, id);
    IrDtype dt = n->type.dtype;
    IrDtype dt0 = ir_graph_node(e->p->g, n->operands[0])->type.dtype;
    bool is_int = dt0 == IR_DTYPE_I32;
    LLVMBuilderRef b = e->b;
    LLVMValueRef x = value(e, n->operands[0]);
    LLVMValueRef y = n->n_operands > 1 ? value(e, n->operands[1]) : NULL;
    switch (n->op) {
    case IR_OP_NEG: return is_int ? LLVMBuildSub(b, const_of(e, dt, 0), x, "") : LLVMBuildFNeg(b, x, "");
    case IR_OP_ABS:
        if (!is_int) return unary_intrinsic(e, "llvm.fabs", x);
        return LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, x, const_of(e, dt, 0), ""),
                               LLVMBuildSub(b, const_of(e, dt, 0), x, ""), x, "");
    case IR_OP_EXP:
    case IR_OP_LOG:
    case IR_OP_TANH:
    case IR_OP_SIN:
    case IR_OP_COS: return unary_intrinsic(e, libm_intrinsic(n->op), x);
    case IR_OP_SQRT: return unary_intrinsic(e, "llvm.sqrt", x);
    case IR_OP_RSQRT: return LLVMBuildFDiv(b, const_of(e, dt, 1), unary_intrinsic(e, "llvm.sqrt", x), "");
    case IR_OP_RECIP: return LLVMBuildFDiv(b, const_of(e, dt, 1), x, "");
    case IR_OP_CAST: return emit_cast(e, x, dt0, dt);
    case IR_OP_ADD: return is_int ? LLVMBuildAdd(b, x, y, "") : LLVMBuildFAdd(b, x, y, "");
    case IR_OP_SUB: return is_int ? LLVMBuildSub(b, x, y, "") : LLVMBuildFSub(b, x, y, "");
    case IR_OP_MUL: return is_int ? LLVMBuildMul(b, x, y, "") : LLVMBuildFMul(b, x, y, "");
    case IR_OP_DIV: return is_int ? emit_idiv(e, x, y) : LLVMBuildFDiv(b, x, y, "");
    case IR_OP_MAX: return emit_minmax(e, x, y, dt, true);
    case IR_OP_MIN: return emit_minmax(e, x, y, dt, false);
    case IR_OP_POW: {
        LLVMTypeRef t = LLVMTypeOf(x);
        LLVMValueRef args[2] = {x, y};
        return intrinsic(e, libm_intrinsic(n->op), &t, 1, args, 2);
    }
    case IR_OP_CMPLT:
    case IR_OP_CMPEQ: {
        bool lt = n->op == IR_OP_CMPLT;
        LLVMValueRef c = is_int ? LLVMBuildICmp(b, lt ? LLVMIntSLT : LLVMIntEQ, x, y, "")
                                : LLVMBuildFCmp(b, lt ? LLVMRealOLT : LLVMRealOEQ, x, y, "");
        return LLVMBuildSelect(b, c, const_of(e, dt, 1), const_of(e, dt, 0), "");
    }
    case IR_OP_SELECT: return LLVMBuildSelect(b, nonzero(e, x, dt0), y, value(e, n->operands[2]), "");
    case IR_OP_INPUT:
    case IR_OP_CONST:
    case IR_OP_REDUCE_SUM:
    case IR_OP_REDUCE_MAX:
    case IR_OP_RESHAPE:
    case IR_OP_PERMUTE:
    case IR_OP_BROADCAST:
    case IR_OP_SLICE:
    case IR_OP_CONCAT:
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
    case IR_OP_INVALID:
    case IR_OP_COUNT: break;
    }
    LLMC_ASSERT(!"not an elementwise op (the plan admits none)");
    return NULL;
}

static LLVMValueRef value(Emit *e, IrId id) {
    if (e->val[id]) return e->val[id];
    LLVMValueRef v = NULL;
    switch ((Role)e->p->role[id]) {
    case ROLE_COMPUTE: v = emit_op(e, id); break;
    case ROLE_BUFFER: v = load_buffer(e, id); break;
    case ROLE_SCALAR: v = splat_value(e, e->base[id]); break;
    case ROLE_CONST: v = const_node(e, id); break;
    case ROLE_ALIAS: v = value(e, e->p->alias[id]); break;
    case ROLE_NONE: LLMC_ASSERT(!"value of a node outside the kernel"); break;
    }
    e->val[id] = v;
    return v;
}

/* One loop body at e->idx with e->lanes lanes: every compute node, then the store. */
static void emit_body(Emit *e, LLVMValueRef out_ptr) {
    const Plan *p = e->p;
    memset(e->val, 0, p->g->n_nodes * sizeof *e->val);
    for (uint32_t k = 0; k < p->n_order; k++) value(e, p->order[k]);
    IrDtype dt = ir_graph_node(p->g, p->output)->type.dtype;
    LLVMValueRef ptr = LLVMBuildGEP2(e->b, elem_type(e, dt), out_ptr, &e->idx, 1, "");
    LLVMValueRef st = LLVMBuildStore(e->b, e->val[p->output], ptr);
    LLVMSetAlignment(st, (unsigned)ir_dtype_size(dt));
}

/* W: 4-byte dtypes set it when present. */
static unsigned kernel_lanes(const Plan *p, bool avx512) {
    bool narrow = false;
    for (IrId id = 0; id < p->g->n_nodes; id++)
        if (p->role[id] != ROLE_NONE && ir_dtype_size(ir_graph_node(p->g, id)->type.dtype) == 4) narrow = true;
    return (narrow ? 8u : 4u) * (avx512 ? 2u : 1u);
}

/* Builds the kernel function `name` into mod. */
static void build_kernel(LLVMContextRef ctx, LLVMModuleRef mod, const Plan *p, const char *name, bool avx512) {
    Emit e = {.ctx = ctx, .mod = mod, .p = p};
    e.b = LLVMCreateBuilderInContext(ctx);
    e.base = llmc_xcalloc(p->g->n_nodes, sizeof *e.base);
    e.val = llmc_xcalloc(p->g->n_nodes, sizeof *e.val);
    unsigned W = kernel_lanes(p, avx512);

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
    LLVMBasicBlockRef vhead = LLVMAppendBasicBlockInContext(ctx, fn, "vec.head");
    LLVMBasicBlockRef vbody = LLVMAppendBasicBlockInContext(ctx, fn, "vec.body");
    LLVMBasicBlockRef shead = LLVMAppendBasicBlockInContext(ctx, fn, "rem.head");
    LLVMBasicBlockRef sbody = LLVMAppendBasicBlockInContext(ctx, fn, "rem.body");
    LLVMBasicBlockRef exit = LLVMAppendBasicBlockInContext(ctx, fn, "exit");

    /* entry: buffer pointers, rank-0 inputs, the end of the vector part. */
    LLVMPositionBuilderAtEnd(e.b, entry);
    LLVMValueRef out_ptr = NULL;
    for (uint32_t k = 0; k <= p->n_inputs; k++) {
        LLVMValueRef ix = LLVMConstInt(i64, k, 0);
        LLVMValueRef slot = LLVMBuildGEP2(e.b, ptr_t, bufs, &ix, 1, "");
        LLVMValueRef ptr = LLVMBuildLoad2(e.b, ptr_t, slot, k < p->n_inputs ? "in" : "out");
        if (k == p->n_inputs) {
            out_ptr = ptr;
            break;
        }
        IrId id = p->inputs[k];
        if (p->role[id] == ROLE_SCALAR) { /* loaded once, splatted in the vector body */
            IrDtype dt = ir_graph_node(p->g, id)->type.dtype;
            LLVMValueRef v = LLVMBuildLoad2(e.b, elem_type(&e, dt), ptr, "scalar");
            LLVMSetAlignment(v, (unsigned)ir_dtype_size(dt));
            e.base[id] = v;
        } else {
            e.base[id] = ptr;
        }
    }
    LLVMValueRef len = LLVMBuildSelect(e.b, LLVMBuildICmp(e.b, LLVMIntSGT, end, begin, ""),
                                       LLVMBuildSub(e.b, end, begin, ""), LLVMConstInt(i64, 0, 0), "len");
    LLVMValueRef vlen = LLVMBuildAnd(e.b, len, LLVMConstInt(i64, ~(unsigned long long)(W - 1), 0), "");
    LLVMValueRef vend = LLVMBuildAdd(e.b, begin, vlen, "vend");
    LLVMBuildBr(e.b, vhead);

    /* vector loop */
    LLVMPositionBuilderAtEnd(e.b, vhead);
    LLVMValueRef i = LLVMBuildPhi(e.b, i64, "i");
    LLVMBuildCondBr(e.b, LLVMBuildICmp(e.b, LLVMIntSLT, i, vend, ""), vbody, shead);
    LLVMPositionBuilderAtEnd(e.b, vbody);
    e.lanes = W;
    e.idx = i;
    emit_body(&e, out_ptr);
    LLVMValueRef inext = LLVMBuildAdd(e.b, i, LLVMConstInt(i64, W, 0), "i.next");
    LLVMBasicBlockRef vlast = LLVMGetInsertBlock(e.b);
    LLVMBuildBr(e.b, vhead);
    LLVMValueRef vin[2] = {begin, inext};
    LLVMBasicBlockRef vfrom[2] = {entry, vlast};
    LLVMAddIncoming(i, vin, vfrom, 2);

    /* scalar remainder */
    LLVMPositionBuilderAtEnd(e.b, shead);
    LLVMValueRef j = LLVMBuildPhi(e.b, i64, "j");
    LLVMBuildCondBr(e.b, LLVMBuildICmp(e.b, LLVMIntSLT, j, end, ""), sbody, exit);
    LLVMPositionBuilderAtEnd(e.b, sbody);
    e.lanes = 0;
    e.idx = j;
    emit_body(&e, out_ptr);
    LLVMValueRef jnext = LLVMBuildAdd(e.b, j, LLVMConstInt(i64, 1, 0), "j.next");
    LLVMBasicBlockRef slast = LLVMGetInsertBlock(e.b);
    LLVMBuildBr(e.b, shead);
    LLVMValueRef sin_[2] = {vend, jnext};
    LLVMBasicBlockRef sfrom[2] = {vhead, slast};
    LLVMAddIncoming(j, sin_, sfrom, 2);

    LLVMPositionBuilderAtEnd(e.b, exit);
    LLVMBuildRetVoid(e.b);

    LLVMDisposeBuilder(e.b);
    free(e.base);
    free(e.val);
}

bool cc_codegen_elementwise(CcJit *jit, const IrGraph *g, const IrId *nodes, uint32_t n_nodes, IrId output,
                            CcKernelFn *fn, LlmcErr *err) {
    Plan p;
    if (!plan_build(&p, g, nodes, n_nodes, output, err)) return false;
    char name[32];
    snprintf(name, sizeof name, "llmc_ew_%u", cc_jit_next_id(jit));
    LLVMOrcThreadSafeContextRef tsctx = LLVMOrcCreateNewThreadSafeContext();
    LLVMContextRef ctx = LLVMOrcThreadSafeContextGetContext(tsctx);
    LLVMModuleRef mod = LLVMModuleCreateWithNameInContext(name, ctx);
    build_kernel(ctx, mod, &p, name, cc_jit_has_avx512(jit));
    plan_free(&p);
    if (!cc_jit_add_module(jit, mod, tsctx, err)) return false;
    void *addr = cc_jit_lookup(jit, name, err);
    if (!addr) return false;
    /* ISO C has no function <-> object pointer conversion; POSIX (dlsym) guarantees it. */
    memcpy(fn, &addr, sizeof addr);
    return true;
}

char *cc_codegen_elementwise_ir(CcJit *jit, const IrGraph *g, const IrId *nodes, uint32_t n_nodes, IrId output,
                                bool optimize, LlmcErr *err) {
    Plan p;
    if (!plan_build(&p, g, nodes, n_nodes, output, err)) return NULL;
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef mod = LLVMModuleCreateWithNameInContext("llmc_ew", ctx);
    build_kernel(ctx, mod, &p, "llmc_ew", cc_jit_has_avx512(jit));
    plan_free(&p);
    cc_jit_prepare_module(jit, mod);
    char *text = NULL;
    bool ok;
    if (optimize) {
        ok = cc_jit_optimize(jit, mod, err);
    } else {
        char *msg = NULL;
        ok = !LLVMVerifyModule(mod, LLVMReturnStatusAction, &msg);
        if (!ok) llmc_err_set(err, "elementwise kernel does not verify: %s", msg ? msg : "?");
        LLVMDisposeMessage(msg);
    }
    if (ok) {
        char *s = LLVMPrintModuleToString(mod);
        text = llmc_xstrdup(s);
        LLVMDisposeMessage(s);
    }
    LLVMDisposeModule(mod);
    LLVMContextDispose(ctx);
    return text;
}
