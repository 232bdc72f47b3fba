/* compiler/codegen_elementwise.c — one fused elementwise kernel as one LLVM function.
 *
 * Given a set of elementwise nodes that all have the output's shape (and movement chains
 * of `broadcast`, `reshape`, `permute` members feeding them), this builds
 *
 *     void llmc_ew_<n>(void **bufs, int64_t begin, int64_t end)
 *
 * computing out[i] for i in [begin, end) (ABI: compiler.h, CcKernelFn). bufs[] holds the
 * external inputs in ascending node id, then the output — or the outputs: a kernel may
 * compute several, each value of the body once per element, all loads of an element
 * before its stores (so an output may overwrite an input at the same index: the
 * optimizer's state written back), and unrelated outputs run as segments one after
 * another over the item range, each a function of its own (see "segments" below). Operands from outside the set
 * are: nodes of the output's shape (a dense buffer, indexed by i); rank-0 values seen
 * through a `broadcast` (a 1-element buffer loaded once and splatted); splat constants
 * (folded into the code as literals, no buffer); values of any other shape seen through
 * a chain of movement members of the set (a dense buffer of the source's shape, read at
 * the source index that output index i maps to through the chain, member by member:
 * broadcast by constant division with size-1 source axes at 0, permute by the inverse
 * permutation of coordinates, reshape as the identity on flat indices — codegen_emit.c,
 * move_index). The chain's top has the output's shape; members below it may have any
 * shape and are read by nothing but the chain. Only the nodes the output needs are
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
 *     interpreter's once-rounded double); exp/log/tanh/sin/cos/pow are computed in the
 *     kernel (compiler/codegen_math.c): f64 within about 4e-15 relative of libm, f32
 *     computed in double and rounded once.
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
 *   - bf16: held as its 16 bits (i16 loads and stores of the uint16 buffers); the only
 *     ops on it are movement members and cast f32/f64 <-> bf16, integer code equal to
 *     ir/bf16.c bit for bit (codegen_emit.c); codegen_kernel.c refuses any other.
 *
 * Which functions a module may reach: LLVM intrinsics that lower to instructions
 * (cc_codegen_inline_intrinsics), nothing else — no libm, checked by tests/jit.
 *
 * The per-node emission (roles, op semantics) lives in
 * compiler/codegen_emit.c, shared with the reduce codegen; this file keeps the plan (which
 * node is what) and the loop.
 *
 * The function is named "llmc_ew"; cc_jit_add_kernel renames it (after its object-cache
 * key when the JIT has a cache, compiler/objcache.c).
 *
 * Broadcast reads in the vector loop. Correctness first: each lane computes its own source
 * index and does a scalar load, and the lanes are inserted into a vector (a gather by
 * hand). That costs W index computations per broadcast operand per vector; the obvious
 * improvements — one load splatted when the innermost output axis is broadcast and the W
 * lanes stay in one run, one vector load when the innermost axis is kept and contiguous —
 * need a per-vector run test and are left for the performance issue. The scalar and vector
 * loops compute the same index per element, so split-range calls stay byte-identical.
 *
 * Deliberately not here: fusion decisions (the caller picks the set), reductions, `slice`
 * and `concat` members (a MOVEMENT kernel copies them today), threading.
 */
#include "compiler_int.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/Orc.h>

#include <stdlib.h>
#include <string.h>

/* --- the plan: what each node is to the kernel ------------------------------------- */

typedef struct Plan {
    const IrGraph *g;
    const IrId *outputs; /* [n_outputs] stored in this order after the inputs (not owned) */
    uint32_t n_outputs;
    IrId output;         /* the highest output: every compute node is at or below it */
    uint8_t *role;      /* [n_nodes] CcRole */
    IrId *alias;        /* [n_nodes] CC_ROLE_ALIAS: the rank-0 node it repeats; BCAST: its source */
    uint32_t *slot;     /* [n_nodes] BUFFER / SCALAR / INDEXED: index into bufs */
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

static bool is_input_role(uint8_t r) { return r == CC_ROLE_BUFFER || r == CC_ROLE_SCALAR || r == CC_ROLE_INDEXED; }

/* Classifies external (or broadcast) operand `id` used by a compute node. */
static bool plan_external(Plan *p, IrId id, const IrType *out_type, LlmcErr *err) {
    const IrGraph *g = p->g;
    const IrNode *n = ir_graph_node(g, id);
    if (p->role[id] != CC_ROLE_NONE && p->role[id] != CC_ROLE_ALIAS && p->role[id] != CC_ROLE_INDEXED) return true;
    if (p->role[id] != CC_ROLE_INDEXED && is_rank0_broadcast(g, n)) {
        IrId src = n->operands[0];
        p->role[id] = CC_ROLE_ALIAS;
        p->alias[id] = src;
        if (p->role[src] == CC_ROLE_NONE)
            p->role[src] = is_splat_const(ir_graph_node(g, src)) ? CC_ROLE_CONST : CC_ROLE_SCALAR;
        return true;
    }
    if (p->role[id] != CC_ROLE_INDEXED && is_splat_const(n)) {
        p->role[id] = CC_ROLE_CONST;
        return true;
    }
    if (!ir_type_same_shape(&n->type, out_type)) {
        char a[IR_TYPE_STR_MAX], b[IR_TYPE_STR_MAX];
        llmc_err_set(err, "elementwise kernel: input %%%u (%s) has neither the output's shape %s nor rank 0",
                     id, ir_type_format(&n->type, a, sizeof a), ir_type_format(out_type, b, sizeof b));
        return false;
    }
    p->role[id] = CC_ROLE_BUFFER;
    return true;
}

static bool is_move(const IrNode *n) {
    return n->op == IR_OP_BROADCAST || n->op == IR_OP_RESHAPE || n->op == IR_OP_PERMUTE;
}

/* A movement member `id` of the set (broadcast, reshape, permute), the top of a chain of
 * movement members down to a source outside the set (chain members below the top may have
 * any shape; they get no role of their own). A rank-0 or splat-constant source is repeated
 * (CC_ROLE_ALIAS, as for an outside rank-0 broadcast); any other source is read at the
 * index the chain maps to (CC_ROLE_BCAST; the source becomes an input, CC_ROLE_INDEXED
 * unless it is also read directly). */
static bool plan_move(Plan *p, IrId id, const uint8_t *in_set, const IrType *out_type, LlmcErr *err) {
    const IrGraph *g = p->g;
    if (!ir_type_same_shape(&ir_graph_node(g, id)->type, out_type)) {
        llmc_err_set(err, "elementwise kernel: %%%u (%s) is read by the body but does not have the output's shape",
                     id, ir_op_name(ir_graph_node(g, id)->op));
        return false;
    }
    IrId src = id;
    while (in_set[src] && is_move(ir_graph_node(g, src))) src = ir_graph_node(g, src)->operands[0];
    const IrNode *s = ir_graph_node(g, src);
    if (in_set[src]) {
        llmc_err_set(err, "elementwise kernel: movement %%%u reads %%%u, a member of the kernel", id, src);
        return false;
    }
    if (s->type.rank == 0 || is_splat_const(s)) {
        p->role[id] = CC_ROLE_ALIAS;
        p->alias[id] = src;
        if (p->role[src] == CC_ROLE_NONE) p->role[src] = is_splat_const(s) ? CC_ROLE_CONST : CC_ROLE_SCALAR;
        return true;
    }
    p->role[id] = CC_ROLE_BCAST;
    p->alias[id] = src;
    if (p->role[src] == CC_ROLE_NONE) p->role[src] = CC_ROLE_INDEXED;
    return true;
}

static bool plan_build(Plan *p, const IrGraph *g, const IrId *nodes, uint32_t n_nodes, const IrId *outputs,
                       uint32_t n_outputs, LlmcErr *err) {
    memset(p, 0, sizeof *p);
    p->g = g;
    p->outputs = outputs;
    p->n_outputs = n_outputs;
    if (n_outputs == 0) {
        llmc_err_set(err, "elementwise kernel: no output");
        return false;
    }
    IrId output = outputs[0];
    for (uint32_t o = 0; o < n_outputs; o++) {
        if (outputs[o] >= g->n_nodes) {
            llmc_err_set(err, "elementwise kernel: output %%%u is not a node", outputs[o]);
            return false;
        }
        if (outputs[o] > output) output = outputs[o];
    }
    p->output = output;
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
        if (ir_op_info(n->op)->kind != IR_KIND_ELEMENTWISE && !is_move(n)) {
            llmc_err_set(err, "elementwise kernel: %%%u is %s, not an elementwise op", id, ir_op_name(n->op));
            ok = false;
        } else if (!is_move(n) && !ir_type_same_shape(&n->type, ot)) {
            llmc_err_set(err, "elementwise kernel: %%%u (%s) does not have the output's shape", id,
                         ir_op_name(n->op));
            ok = false;
        }
        in_set[id] = 1;
    }
    for (uint32_t o = 0; o < n_outputs && ok; o++) {
        if (!in_set[outputs[o]]) {
            llmc_err_set(err, "elementwise kernel: output %%%u is not in the node set", outputs[o]);
            ok = false;
        } else if (o && !ir_type_same_shape(&ir_graph_node(g, outputs[o])->type, &ir_graph_node(g, outputs[0])->type)) {
            llmc_err_set(err, "elementwise kernel: outputs %%%u and %%%u differ in shape", outputs[0], outputs[o]);
            ok = false;
        }
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

    /* Mark what the outputs need, walking ids downward (topological order). */
    uint8_t *need = llmc_xcalloc(g->n_nodes, 1);
    for (uint32_t o = 0; o < n_outputs; o++) need[outputs[o]] = 1;
    for (IrId id = output + 1; id-- > 0;) {
        if (!need[id] || !in_set[id]) continue;
        const IrNode *n = ir_graph_node(g, id);
        if (is_move(n)) {
            if (!plan_move(p, id, in_set, &out_type, err)) ok = false;
            continue;
        }
        p->role[id] = CC_ROLE_COMPUTE;
        for (uint32_t k = 0; k < n->n_operands; k++) {
            IrId o = n->operands[k];
            if (in_set[o]) need[o] = 1; /* a movement member is planned at its turn */
            else if (!plan_external(p, o, &out_type, err)) ok = false;
        }
    }
    for (IrId id = 0; id <= output; id++)
        if (p->role[id] == CC_ROLE_COMPUTE) p->order[p->n_order++] = id;
    uint32_t n_in = 0;
    for (IrId id = 0; id < g->n_nodes; id++)
        if (is_input_role(p->role[id])) n_in++;
    p->inputs = llmc_xmalloc((n_in + 1) * sizeof *p->inputs);
    for (IrId id = 0; id < g->n_nodes; id++)
        if (is_input_role(p->role[id])) {
            p->slot[id] = p->n_inputs;
            p->inputs[p->n_inputs++] = id;
        }
    free(need);
    free(in_set);
    if (!ok) plan_free(p);
    return ok;
}

/* One loop body at e->idx with e->lanes lanes: every compute node, then the stores —
 * all loads of the element block before any store, so an output may overwrite an input
 * it is computed from at the same index (in-place write-back of optimizer state). */
static void emit_body(CcEmit *e, const Plan *p, LLVMValueRef const *out_ptrs) {
    memset(e->val, 0, p->g->n_nodes * sizeof *e->val);
    for (uint32_t k = 0; k < p->n_order; k++) cc_cg_value(e, p->order[k]);
    for (uint32_t o = 0; o < p->n_outputs; o++) {
        IrDtype dt = ir_graph_node(p->g, p->outputs[o])->type.dtype;
        LLVMValueRef ptr = LLVMBuildGEP2(e->b, cc_cg_elem_type(e, dt), out_ptrs[o], &e->idx, 1, "");
        LLVMValueRef st = LLVMBuildStore(e->b, e->val[p->outputs[o]], ptr);
        LLVMSetAlignment(st, (unsigned)ir_dtype_size(dt));
    }
}

/* W: 4-byte dtypes set it when present. */
static unsigned kernel_lanes(const Plan *p, bool avx512) {
    bool narrow = false;
    for (IrId id = 0; id < p->g->n_nodes; id++)
        if (p->role[id] != CC_ROLE_NONE && ir_dtype_size(ir_graph_node(p->g, id)->type.dtype) == 4) narrow = true;
    return (narrow ? 8u : 4u) * (avx512 ? 2u : 1u);
}

/* --- segments: a horizontally fused kernel ------------------------------------------
 * An ELEMENTWISE kernel whose outputs have several shapes or are unrelated (fuse.c rule
 * 6: the optimizer update of every parameter, one kernel) is one segment per group of
 * outputs computed from common members, in order of first output: segment s owns items [off_s, off_s + numel_s) of the call's range, and runs the
 * plan of its outputs (and of the members of its shape and the movement members) over
 * its part of [begin, end). bufs: the union of the segments' inputs in ascending id, then
 * the outputs in the kernel's order. A kernel of one shape is one segment at offset 0. */

typedef struct Segments {
    Plan *plans;        /* [n] */
    int64_t *offset;    /* [n + 1] item offsets; offset[n] = all items */
    uint32_t **out_at;  /* [n][plan outputs]: each output's place among the kernel's outputs */
    uint32_t n;
    IrId *inputs;       /* the union, ascending */
    uint32_t n_inputs;
    IrId *seg_outputs;  /* storage for the plans' output lists */
} Segments;

static void segments_free(Segments *sg) {
    for (uint32_t s = 0; s < sg->n; s++) {
        plan_free(&sg->plans[s]);
        free(sg->out_at[s]);
    }
    free(sg->plans);
    free(sg->offset);
    free(sg->out_at);
    free(sg->inputs);
    free(sg->seg_outputs);
    memset(sg, 0, sizeof *sg);
}

/* The representative of id's component (union-find with path halving). */
static IrId component_of(IrId *parent, IrId id) {
    while (parent[id] != id) id = parent[id] = parent[parent[id]];
    return id;
}

static bool segments_build(Segments *sg, const IrGraph *g, const IrId *nodes, uint32_t n_nodes, const IrId *outputs,
                           uint32_t n_outputs, LlmcErr *err) {
    memset(sg, 0, sizeof *sg);
    if (n_outputs == 0) {
        llmc_err_set(err, "elementwise kernel: no output");
        return false;
    }
    for (uint32_t o = 0; o < n_outputs; o++)
        if (outputs[o] >= g->n_nodes) {
            llmc_err_set(err, "elementwise kernel: output %%%u is not a node", outputs[o]);
            return false;
        }
    sg->plans = llmc_xcalloc(n_outputs, sizeof *sg->plans);
    sg->offset = llmc_xcalloc(n_outputs + 1, sizeof *sg->offset);
    sg->out_at = llmc_xcalloc(n_outputs, sizeof *sg->out_at);
    sg->seg_outputs = llmc_xmalloc(n_outputs * sizeof *sg->seg_outputs);
    IrId *subset = llmc_xmalloc((n_nodes + 1) * sizeof *subset);
    bool *placed = llmc_xcalloc(n_outputs, sizeof *placed);
    uint8_t *is_in = llmc_xcalloc(g->n_nodes, 1);
    bool ok = true;
    uint32_t used = 0;
    /* Outputs computed from common members or reading a common input buffer are one
     * segment (one loop over their shape); unrelated ones (two parameters' updates of one
     * shape) are segments of their own, so a loop streams only the arrays its outputs
     * need. Components over operand edges through values of the kernel's rank, not
     * scalars or movement: an input read through a broadcast or another movement member
     * is never written in place (runtime/exec.c, direct_candidate), so a later segment
     * reading it sees the value the kernel was called with. */
    IrId *parent = llmc_xmalloc(g->n_nodes * sizeof *parent);
    for (IrId id = 0; id < g->n_nodes; id++) parent[id] = id;
    for (uint32_t i = 0; i < n_nodes; i++) {
        if (nodes[i] >= g->n_nodes) continue;
        const IrNode *n = ir_graph_node(g, nodes[i]);
        if (is_move(n) || n->type.rank == 0) continue;
        for (uint32_t o = 0; o < n->n_operands; o++) {
            IrId x = n->operands[o];
            const IrNode *xn = ir_graph_node(g, x);
            /* a member of the kernel's rank, or an input buffer read directly: two outputs
             * reading one input share a loop, whose loads come before its stores, so
             * either may be written back over that input (runtime/exec.c) */
            if (is_move(xn) || xn->type.rank == 0) continue;
            IrId ra = component_of(parent, nodes[i]), rb = component_of(parent, x);
            if (ra != rb) parent[ra < rb ? rb : ra] = ra < rb ? ra : rb;
        }
    }
    for (uint32_t first = 0; first < n_outputs && ok; first++) {
        if (placed[first]) continue;
        const IrType *shape = &ir_graph_node(g, outputs[first])->type;
        IrId comp = component_of(parent, outputs[first]);
        uint32_t s = sg->n++;
        IrId *mine = sg->seg_outputs + used;
        uint32_t n_mine = 0;
        sg->out_at[s] = llmc_xmalloc(n_outputs * sizeof **sg->out_at);
        for (uint32_t o = first; o < n_outputs; o++)
            if (!placed[o] && ir_type_same_shape(&ir_graph_node(g, outputs[o])->type, shape) &&
                component_of(parent, outputs[o]) == comp) {
                placed[o] = true;
                sg->out_at[s][n_mine] = o;
                mine[n_mine++] = outputs[o];
            }
        used += n_mine;
        uint32_t n_sub = 0;
        for (uint32_t i = 0; i < n_nodes; i++) {
            const IrNode *n = nodes[i] < g->n_nodes ? ir_graph_node(g, nodes[i]) : NULL;
            if (!n || is_move(n) || ir_type_same_shape(&n->type, shape) || ir_op_info(n->op)->kind != IR_KIND_ELEMENTWISE)
                subset[n_sub++] = nodes[i]; /* plan_build judges anything odd */
        }
        ok = plan_build(&sg->plans[s], g, subset, n_sub, mine, n_mine, err);
        sg->offset[s + 1] = sg->offset[s] + ir_type_numel(shape);
    }
    /* Every member is in some segment: an elementwise member of no output's shape, or
     * one segment reading another's member as if it were an input, is not a kernel. */
    for (uint32_t i = 0; i < n_nodes && ok; i++) {
        const IrNode *n = ir_graph_node(g, nodes[i]);
        bool has_segment = is_move(n);
        for (uint32_t s = 0; s < sg->n && !has_segment; s++)
            has_segment = ir_type_same_shape(&n->type, &ir_graph_node(g, sg->plans[s].outputs[0])->type);
        if (!has_segment) {
            llmc_err_set(err, "elementwise kernel: %%%u (%s) does not have an output's shape", nodes[i],
                         ir_op_name(n->op));
            ok = false;
        }
        is_in[nodes[i]] = 2;
    }
    for (uint32_t s = 0; s < sg->n && ok; s++)
        for (uint32_t i = 0; i < sg->plans[s].n_inputs && ok; i++) {
            IrId x = sg->plans[s].inputs[i];
            if (is_in[x] == 2) {
                llmc_err_set(err, "elementwise kernel: %%%u is a member but is read as an input (movement over a "
                                  "member of another shape)", x);
                ok = false;
            }
            is_in[x] = 1;
        }
    if (ok) {
        for (IrId id = 0; id < g->n_nodes; id++) sg->n_inputs += is_in[id] == 1;
        sg->inputs = llmc_xmalloc((sg->n_inputs + 1) * sizeof *sg->inputs);
        sg->n_inputs = 0;
        for (IrId id = 0; id < g->n_nodes; id++)
            if (is_in[id] == 1) sg->inputs[sg->n_inputs++] = id;
    }
    free(subset);
    free(placed);
    free(is_in);
    free(parent);
    if (!ok) segments_free(sg);
    return ok;
}

static LLVMValueRef smax64(LLVMBuilderRef b, LLVMValueRef x, LLVMValueRef y) {
    return LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSGT, x, y, ""), x, y, "");
}
static LLVMValueRef smin64(LLVMBuilderRef b, LLVMValueRef x, LLVMValueRef y) {
    return LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, x, y, ""), x, y, "");
}

/* Segment p's loops over its items [lo, hi) (segment-local): a vector loop of W lanes,
 * then a scalar remainder, appended after the builder's block; leaves the builder in
 * the block after them. */
static void emit_segment(CcEmit *e, LLVMValueRef fn, const Plan *p, LLVMValueRef lo, LLVMValueRef hi,
                         LLVMValueRef const *out_ptrs, unsigned W) {
    LLVMContextRef ctx = e->ctx;
    LLVMTypeRef i64 = LLVMInt64TypeInContext(ctx);
    LLVMBasicBlockRef entry = LLVMGetInsertBlock(e->b);
    LLVMBasicBlockRef vhead = LLVMAppendBasicBlockInContext(ctx, fn, "vec.head");
    LLVMBasicBlockRef vbody = LLVMAppendBasicBlockInContext(ctx, fn, "vec.body");
    LLVMBasicBlockRef shead = LLVMAppendBasicBlockInContext(ctx, fn, "rem.head");
    LLVMBasicBlockRef sbody = LLVMAppendBasicBlockInContext(ctx, fn, "rem.body");
    LLVMBasicBlockRef exit = LLVMAppendBasicBlockInContext(ctx, fn, "seg.exit");
    LLVMValueRef len = LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSGT, hi, lo, ""), LLVMBuildSub(e->b, hi, lo, ""),
                                       LLVMConstInt(i64, 0, 0), "len");
    LLVMValueRef vlen = LLVMBuildAnd(e->b, len, LLVMConstInt(i64, ~(unsigned long long)(W - 1), 0), "");
    LLVMValueRef vend = LLVMBuildAdd(e->b, lo, vlen, "vend");
    LLVMBuildBr(e->b, vhead);

    /* vector loop */
    LLVMPositionBuilderAtEnd(e->b, vhead);
    LLVMValueRef i = LLVMBuildPhi(e->b, i64, "i");
    LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, i, vend, ""), vbody, shead);
    LLVMPositionBuilderAtEnd(e->b, vbody);
    e->lanes = W;
    e->idx = i;
    emit_body(e, p, out_ptrs);
    LLVMValueRef inext = LLVMBuildAdd(e->b, i, LLVMConstInt(i64, W, 0), "i.next");
    LLVMBasicBlockRef vlast = LLVMGetInsertBlock(e->b);
    LLVMBuildBr(e->b, vhead);
    LLVMValueRef vin[2] = {lo, inext};
    LLVMBasicBlockRef vfrom[2] = {entry, vlast};
    LLVMAddIncoming(i, vin, vfrom, 2);

    /* scalar remainder */
    LLVMPositionBuilderAtEnd(e->b, shead);
    LLVMValueRef j = LLVMBuildPhi(e->b, i64, "j");
    LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, j, hi, ""), sbody, exit);
    LLVMPositionBuilderAtEnd(e->b, sbody);
    e->lanes = 0;
    e->idx = j;
    emit_body(e, p, out_ptrs);
    LLVMValueRef jnext = LLVMBuildAdd(e->b, j, LLVMConstInt(i64, 1, 0), "j.next");
    LLVMBasicBlockRef slast = LLVMGetInsertBlock(e->b);
    LLVMBuildBr(e->b, shead);
    LLVMValueRef sin_[2] = {vend, jnext};
    LLVMBasicBlockRef sfrom[2] = {vhead, slast};
    LLVMAddIncoming(j, sin_, sfrom, 2);
    LLVMPositionBuilderAtEnd(e->b, exit);
}

/* A kernel-shaped function (bufs, begin, end) named `name` in mod; `internal`: a
 * segment's own (private, never inlined, so default<O3> sees many small functions
 * rather than one of every parameter's loops: its time grows faster than their size). */
static LLVMValueRef kernel_function(LLVMContextRef ctx, LLVMModuleRef mod, const char *name, bool avx512,
                                    bool internal) {
    LLVMTypeRef ptr_t = LLVMPointerTypeInContext(ctx, 0);
    LLVMTypeRef i64 = LLVMInt64TypeInContext(ctx);
    LLVMTypeRef params[3] = {ptr_t, i64, i64};
    LLVMTypeRef fty = LLVMFunctionType(LLVMVoidTypeInContext(ctx), params, 3, 0);
    LLVMValueRef fn = LLVMAddFunction(mod, name, fty);
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                            LLVMCreateEnumAttribute(ctx, LLVMGetEnumAttributeKindForName("nounwind", 8), 0));
    if (internal) {
        LLVMSetLinkage(fn, LLVMInternalLinkage);
        LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                                LLVMCreateEnumAttribute(ctx, LLVMGetEnumAttributeKindForName("noinline", 8), 0));
    }
    if (avx512) {
        const char *k = "prefer-vector-width", *v = "512";
        LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                                LLVMCreateStringAttribute(ctx, k, (unsigned)strlen(k), v, (unsigned)strlen(v)));
    }
    LLVMSetValueName2(LLVMGetParam(fn, 0), "bufs", 4);
    LLVMSetValueName2(LLVMGetParam(fn, 1), "begin", 5);
    LLVMSetValueName2(LLVMGetParam(fn, 2), "end", 3);
    return fn;
}

/* Segment s of sg in fn, from the builder's block: its buffer pointers (bufs slots: the
 * union's inputs, then the kernel's outputs), its rank-0 inputs loaded once, then its
 * loops over [lo, hi). */
static void emit_segment_in(LLVMContextRef ctx, LLVMModuleRef mod, LLVMBuilderRef b, LLVMValueRef fn,
                            const Segments *sg, uint32_t s, LLVMValueRef lo, LLVMValueRef hi, bool avx512) {
    const Plan *p = &sg->plans[s];
    const IrGraph *g = p->g;
    LLVMTypeRef ptr_t = LLVMPointerTypeInContext(ctx, 0);
    LLVMTypeRef i64 = LLVMInt64TypeInContext(ctx);
    LLVMValueRef bufs = LLVMGetParam(fn, 0);
    CcEmit e = {.ctx = ctx, .mod = mod, .g = g, .role = p->role, .alias = p->alias, .b = b};
    e.base = llmc_xcalloc(g->n_nodes, sizeof *e.base);
    e.val = llmc_xcalloc(g->n_nodes, sizeof *e.val);
    for (uint32_t k = 0; k < p->n_inputs; k++) {
        IrId id = p->inputs[k];
        uint32_t slot = 0;
        while (sg->inputs[slot] != id) slot++; /* in the union by construction */
        LLVMValueRef ix = LLVMConstInt(i64, slot, 0);
        LLVMValueRef ptr = LLVMBuildLoad2(b, ptr_t, LLVMBuildGEP2(b, ptr_t, bufs, &ix, 1, ""), "in");
        if (p->role[id] == CC_ROLE_SCALAR) { /* loaded once, splatted in the vector body */
            IrDtype dt = ir_graph_node(g, id)->type.dtype;
            LLVMValueRef v = LLVMBuildLoad2(b, cc_cg_elem_type(&e, dt), ptr, "scalar");
            LLVMSetAlignment(v, (unsigned)ir_dtype_size(dt));
            e.base[id] = v;
        } else {
            e.base[id] = ptr;
        }
    }
    LLVMValueRef *outs = llmc_xmalloc(p->n_outputs * sizeof *outs);
    for (uint32_t o = 0; o < p->n_outputs; o++) {
        LLVMValueRef ix = LLVMConstInt(i64, sg->n_inputs + sg->out_at[s][o], 0);
        outs[o] = LLVMBuildLoad2(b, ptr_t, LLVMBuildGEP2(b, ptr_t, bufs, &ix, 1, ""), "out");
    }
    emit_segment(&e, fn, p, lo, hi, outs, kernel_lanes(p, avx512));
    free(outs);
    free(e.base);
    free(e.val);
}

/* Builds the kernel function `name` into mod: one segment inline; several, each in a
 * function of its own called over its part of the range. A rank-0 input a segment reads
 * (through a broadcast) is never written in place (runtime/exec.c), so a segment loading
 * it after an earlier segment ran still sees the value the kernel was called with. */
static void build_kernel(LLVMContextRef ctx, LLVMModuleRef mod, const Segments *sg, const char *name, bool avx512) {
    LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
    LLVMTypeRef i64 = LLVMInt64TypeInContext(ctx);
    LLVMValueRef fn = kernel_function(ctx, mod, name, avx512, false);
    LLVMValueRef begin = LLVMGetParam(fn, 1), end = LLVMGetParam(fn, 2);
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, fn, "entry"));
    if (sg->n == 1) {
        emit_segment_in(ctx, mod, b, fn, sg, 0, begin, end, avx512);
    } else {
        LLVMTypeRef fty = LLVMGlobalGetValueType(fn);
        for (uint32_t s = 0; s < sg->n; s++) {
            char seg_name[64];
            snprintf(seg_name, sizeof seg_name, "%s.seg%u", name, s);
            LLVMValueRef sfn = kernel_function(ctx, mod, seg_name, avx512, true);
            LLVMBuilderRef sb = LLVMCreateBuilderInContext(ctx);
            LLVMPositionBuilderAtEnd(sb, LLVMAppendBasicBlockInContext(ctx, sfn, "entry"));
            emit_segment_in(ctx, mod, sb, sfn, sg, s, LLVMGetParam(sfn, 1), LLVMGetParam(sfn, 2), avx512);
            LLVMBuildRetVoid(sb);
            LLVMDisposeBuilder(sb);
            LLVMValueRef off = LLVMConstInt(i64, (unsigned long long)sg->offset[s], 0);
            LLVMValueRef n = LLVMConstInt(i64, (unsigned long long)(sg->offset[s + 1] - sg->offset[s]), 0);
            LLVMValueRef zero = LLVMConstInt(i64, 0, 0);
            LLVMValueRef args[3] = {LLVMGetParam(fn, 0),
                                    smin64(b, smax64(b, LLVMBuildSub(b, begin, off, ""), zero), n),
                                    smax64(b, smin64(b, LLVMBuildSub(b, end, off, ""), n), zero)};
            LLVMBuildCall2(b, fty, sfn, args, 3, "");
        }
    }
    LLVMBuildRetVoid(b);
    LLVMDisposeBuilder(b);
}

bool cc_elementwise_inputs(const IrGraph *g, const IrId *nodes, uint32_t n_nodes, IrId output, IrId *ids,
                           uint32_t *n_inputs, LlmcErr *err) {
    return cc_elementwise_kernel_inputs(g, nodes, n_nodes, &output, 1, ids, n_inputs, NULL, err);
}

bool cc_elementwise_kernel_inputs(const IrGraph *g, const IrId *nodes, uint32_t n_nodes, const IrId *outputs,
                                  uint32_t n_outputs, IrId *ids, uint32_t *n_inputs, int64_t *items, LlmcErr *err) {
    Segments sg;
    if (!segments_build(&sg, g, nodes, n_nodes, outputs, n_outputs, err)) return false;
    memcpy(ids, sg.inputs, sg.n_inputs * sizeof *ids);
    *n_inputs = sg.n_inputs;
    if (items) *items = sg.offset[sg.n];
    segments_free(&sg);
    return true;
}

LLVMModuleRef cc_ew_module(const CcJit *jit, LLVMContextRef ctx, const IrGraph *g, const IrId *nodes, uint32_t n_nodes,
                           const IrId *outputs, uint32_t n_outputs, LlmcErr *err) {
    Segments sg;
    if (!segments_build(&sg, g, nodes, n_nodes, outputs, n_outputs, err)) return NULL;
    LLVMModuleRef mod = LLVMModuleCreateWithNameInContext("llmc_ew", ctx);
    build_kernel(ctx, mod, &sg, "llmc_ew", cc_jit_has_avx512(jit));
    segments_free(&sg);
    return mod;
}

bool cc_codegen_elementwise(CcJit *jit, const IrGraph *g, const IrId *nodes, uint32_t n_nodes, IrId output,
                            CcKernelFn *fn, LlmcErr *err) {
    LLVMOrcThreadSafeContextRef tsctx = LLVMOrcCreateNewThreadSafeContext();
    LLVMModuleRef mod = cc_ew_module(jit, LLVMOrcThreadSafeContextGetContext(tsctx), g, nodes, n_nodes, &output, 1, err);
    return cc_jit_add_kernel(jit, mod, tsctx, "llmc_ew", fn, err);
}

bool cc_codegen_elementwise_cached(CcJit *jit, CcObjCache *cache, const IrGraph *g, const IrId *nodes,
                                   uint32_t n_nodes, IrId output, CcKernelFn *fn, bool *hit, LlmcErr *err) {
    CcObjCacheStats before = cache ? cc_objcache_stats(cache) : (CcObjCacheStats){0};
    CcObjCache *old = cc_jit_set_cache(jit, cache);
    bool ok = cc_codegen_elementwise(jit, g, nodes, n_nodes, output, fn, err);
    cc_jit_set_cache(jit, old);
    if (hit) *hit = cc_objcache_was_hit(cache, before);
    return ok;
}

char *cc_codegen_elementwise_ir(CcJit *jit, const IrGraph *g, const IrId *nodes, uint32_t n_nodes, IrId output,
                                bool optimize, LlmcErr *err) {
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef mod = cc_ew_module(jit, ctx, g, nodes, n_nodes, &output, 1, err);
    char *text = mod ? cc_jit_module_ir(jit, mod, optimize, err) : NULL;
    if (mod) LLVMDisposeModule(mod);
    LLVMContextDispose(ctx);
    return text;
}
