/* compiler/codegen_kernel.c — any kernel of cc_fuse, whatever its kind: how many
 * functions it is, how each is called (which buffers, over how many items), its code and
 * its text. The executor (runtime/exec.c) and `llmc --emit=llvm|asm` go through here, so
 * the per-kind ABIs documented in compiler.h are bound in exactly one place.
 *
 * Items and buffers by kind (the ABIs of the codegen files):
 *   ELEMENTWISE  one function computes every output (shared values once per element):
 *                bufs = cc_elementwise_kernel_inputs, then the outputs in order; items =
 *                the elements of their shape, or of each shape in turn when fuse.c's
 *                rule 6 put several shapes in one kernel (segments).
 *   REDUCE       inputs, then the one output; items = output elements (a nested reduction
 *                is one kernel: its grain counts the inner sums).
 *   ROW          inputs, then every output; items = rows of its reductions' operand X
 *                (numel(X) / its last dimension).
 *   MATMUL       inputs, then every output; items = the matmul's tasks (CcMatmulPlan).
 *   INDEX        inputs, then the output; items = output elements, except cumsum (the
 *                rows around its axis), scatter_add (output rows: the coordinates up to
 *                and including its axis) and topk (rows of the last axis).
 *   MOVEMENT     inputs, then the output; items = output elements.
 *   ATTENTION    inputs, then every output; items = the kernel's tasks (CcAttentionPlan).
 *   RUNTIME      no function.
 * Grain: about 32K elements of work per chunk for the streaming kinds, about a million
 * flops of tasks for matmul.
 */
#include "compiler_int.h"

#include <llvm-c/Core.h>
#include <llvm-c/Orc.h>

#include <stdlib.h>
#include <string.h>

/* Work per pool chunk: a chunk shorter than a few microseconds costs more to hand to a
 * thread than it saves (measured with tests/bench/bench_step on the tiny models). */
#define STREAM_GRAIN 32768     /* elements per chunk for the streaming kinds */
#define MATMUL_GRAIN_FLOPS (1 << 20) /* flops per chunk of matmul tasks */

uint32_t cc_kernel_functions(const CcKernel *k) {
    switch (k->kind) {
    case CC_KERNEL_RUNTIME: return 0;
    case CC_KERNEL_ELEMENTWISE:
    case CC_KERNEL_REDUCE:
    case CC_KERNEL_MATMUL:
    case CC_KERNEL_INDEX:
    case CC_KERNEL_MOVEMENT:
    case CC_KERNEL_ROW:
    case CC_KERNEL_ATTENTION: return 1;
    case CC_KERNEL_INVALID:
    case CC_KERNEL_COUNT: break;
    }
    return 0;
}

static IrId matmul_member(const IrGraph *g, const CcKernel *k) {
    for (uint32_t i = 0; i < k->n_nodes; i++)
        if (ir_graph_node(g, k->nodes[i])->op == IR_OP_MATMUL) return k->nodes[i];
    return IR_ID_NONE;
}

static int64_t index_items(const IrGraph *g, const CcKernel *k) {
    const IrNode *n = ir_graph_node(g, k->root);
    int64_t numel = ir_type_numel(&n->type);
    if (n->op == IR_OP_CUMSUM) return numel / n->type.dims[n->attrs.cumsum.axis];
    if (n->op == IR_OP_TOPK) return n->attrs.topk.k ? numel / n->attrs.topk.k : 0;
    if (n->op == IR_OP_SCATTER_ADD) {
        int64_t post = 1;
        for (uint32_t d = (uint32_t)n->attrs.gather.axis + 1; d < n->type.rank; d++) post *= n->type.dims[d];
        return post ? numel / post : 0;
    }
    return numel;
}

static int64_t grain_for(int64_t work_per_item) {
    int64_t g = STREAM_GRAIN / (work_per_item > 0 ? work_per_item : 1);
    return g > 0 ? g : 1;
}

/* bf16 in kernels (issue 11), so far: MOVEMENT kernels copy it as 16-bit integers
 * (codegen_movement.c); ELEMENTWISE kernels read and write bf16 buffers (uint16 bits,
 * runtime/native.c), move them through reshape/permute/broadcast members and convert with
 * cast f32/f64 <-> bf16 (integer code, codegen_emit.c); MATMUL kernels read bf16 operands
 * of their matmul (f32 result, codegen_matmul.c), directly or through the movement members
 * under them (mm_operand: reshape, permute, broadcast, slice, concat, read by the pack),
 * with an f32 epilogue; ROW kernels and matmul epilogues may end in casts to bf16 that
 * only leave the kernel (bf16_cast_out). Every other kernel touching bf16 — arithmetic on
 * it, casts from or to i32, reductions, a bf16 value read inside a row kernel or an
 * epilogue, index ops, the other kinds — fails here with a message rather than reaching
 * codegen that does not handle it. */
static bool kernel_member(const CcKernel *k, IrId id) {
    for (uint32_t i = 0; i < k->n_nodes; i++)
        if (k->nodes[i] == id) return true;
    return false;
}

static bool kernel_output(const CcKernel *k, IrId id) {
    for (uint32_t i = 0; i < k->n_outputs; i++)
        if (k->outputs[i] == id) return true;
    return false;
}

/* Marks the movement members under a matmul operand `id` (what the pack reads through). */
static void mm_operand(const IrGraph *g, const CcKernel *k, IrId id, uint8_t *mark) {
    const IrNode *n = ir_graph_node(g, id);
    bool mv = n->op == IR_OP_RESHAPE || n->op == IR_OP_PERMUTE || n->op == IR_OP_BROADCAST || n->op == IR_OP_SLICE ||
              n->op == IR_OP_CONCAT;
    if (!mv || mark[id] || !kernel_member(k, id)) return;
    mark[id] = 1;
    for (uint32_t o = 0; o < n->n_operands; o++) mm_operand(g, k, n->operands[o], mark);
}

/* A cast of an f32 / f64 member to bf16 that only leaves the kernel (no member reads it):
 * row kernels and matmul epilogues compute in f32 / f64 and store it as the elementwise
 * kernels do (codegen_emit.c's integer rounding, i16 stores) — how precision = bf16's cast
 * in front of a matmul rides on the kernel that produces its operand. */
bool cc_bf16_store_cast(const IrGraph *g, IrId id) {
    const IrNode *n = ir_graph_node(g, id);
    if (n->op != IR_OP_CAST || n->type.dtype != IR_DTYPE_BF16) return false;
    IrDtype from = ir_graph_node(g, n->operands[0])->type.dtype;
    return from == IR_DTYPE_F32 || from == IR_DTYPE_F64;
}

static bool bf16_cast_out(const IrGraph *g, const CcKernel *k, IrId id) {
    if (!cc_bf16_store_cast(g, id) || !kernel_output(k, id)) return false;
    for (uint32_t i = 0; i < k->n_nodes; i++) {
        const IrNode *m = ir_graph_node(g, k->nodes[i]);
        for (uint32_t o = 0; o < m->n_operands; o++)
            if (m->operands[o] == id) return false;
    }
    return true;
}

/* mm_ops: NULL, or (MATMUL kernels with a bf16 matmul) mm_operand's marks. */
static bool bf16_member_ok(const IrGraph *g, const CcKernel *k, IrId id, const uint8_t *mm_ops) {
    const IrNode *n = ir_graph_node(g, id);
    if (k->kind == CC_KERNEL_MOVEMENT) return true;
    if (k->kind == CC_KERNEL_ROW) return bf16_cast_out(g, k, id);
    if (k->kind == CC_KERNEL_MATMUL) {
        if (bf16_cast_out(g, k, id)) return true;
        if (!mm_ops) return false;
        if (n->op == IR_OP_MATMUL) return n->type.dtype == IR_DTYPE_F32; /* bf16 x bf16 -> f32 */
        return mm_ops[id] && !kernel_output(k, id);
    }
    if (k->kind != CC_KERNEL_ELEMENTWISE) return false;
    if (n->op == IR_OP_RESHAPE || n->op == IR_OP_PERMUTE || n->op == IR_OP_BROADCAST) return true;
    if (n->op != IR_OP_CAST) return false;
    IrDtype from = ir_graph_node(g, n->operands[0])->type.dtype, to = n->type.dtype;
    bool from_ok = from == IR_DTYPE_F32 || from == IR_DTYPE_F64 || from == IR_DTYPE_BF16;
    bool to_ok = to == IR_DTYPE_F32 || to == IR_DTYPE_F64 || to == IR_DTYPE_BF16;
    return from_ok && to_ok;
}

static bool kernel_dtypes_ok(const IrGraph *g, const CcKernel *k, LlmcErr *err) {
    uint8_t *mm_ops = NULL; /* a MATMUL kernel whose matmul reads bf16: its operands' members */
    IrId mm = k->kind == CC_KERNEL_MATMUL ? matmul_member(g, k) : IR_ID_NONE;
    if (mm != IR_ID_NONE && ir_graph_node(g, ir_graph_node(g, mm)->operands[0])->type.dtype == IR_DTYPE_BF16) {
        mm_ops = llmc_xcalloc(g->n_nodes, 1);
        for (uint32_t o = 0; o < 2; o++) mm_operand(g, k, ir_graph_node(g, mm)->operands[o], mm_ops);
    }
    const IrId *lists[2] = {k->nodes, k->inputs};
    const uint32_t counts[2] = {k->n_nodes, k->n_inputs};
    bool ok_all = true;
    for (int l = 0; l < 2 && ok_all; l++)
        for (uint32_t i = 0; i < counts[l] && ok_all; i++) {
            const IrNode *n = ir_graph_node(g, lists[l][i]);
            bool bf16 = n->type.dtype == IR_DTYPE_BF16;
            for (uint32_t o = 0; o < n->n_operands && l == 0; o++)
                bf16 |= ir_graph_node(g, n->operands[o])->type.dtype == IR_DTYPE_BF16;
            /* an input: whatever reads it is a member, checked above */
            bool ok = l == 0 ? bf16_member_ok(g, k, lists[l][i], mm_ops)
                             : k->kind == CC_KERNEL_ELEMENTWISE || k->kind == CC_KERNEL_MOVEMENT || mm_ops;
            if (bf16 && !ok) {
                llmc_err_set(err,
                             "%%%u (%s): bf16 kernels are not supported yet (bf16 is compiled in casts, copies, "
                             "matmul operands and casts ending row and epilogue kernels)",
                             lists[l][i], ir_op_name(n->op));
                ok_all = false;
            }
        }
    free(mm_ops);
    return ok_all;
}

bool cc_kernel_call(const CcJit *jit, const IrGraph *g, const CcKernel *k, uint32_t fn_index, CcKernelCall *call,
                    LlmcErr *err) {
    memset(call, 0, sizeof *call);
    if (!kernel_dtypes_ok(g, k, err)) return false;
    if (fn_index >= cc_kernel_functions(k)) {
        llmc_err_set(err, "kernel of root %%%u has no function %u", k->root, fn_index);
        return false;
    }
    const IrNode *root = ir_graph_node(g, k->root);
    if (k->kind == CC_KERNEL_ELEMENTWISE) {
        call->bufs = llmc_xmalloc((3 * (size_t)k->n_nodes + k->n_outputs + 1) * sizeof *call->bufs);
        if (!cc_elementwise_kernel_inputs(g, k->nodes, k->n_nodes, k->outputs, k->n_outputs, call->bufs,
                                          &call->n_bufs, &call->items, err)) {
            cc_kernel_call_free(call);
            return false;
        }
        memcpy(call->bufs + call->n_bufs, k->outputs, k->n_outputs * sizeof *call->bufs);
        call->n_bufs += k->n_outputs;
        call->n_written = k->n_outputs;
        call->grain = STREAM_GRAIN;
        return true;
    }
    bool all_outputs = k->kind == CC_KERNEL_ROW || k->kind == CC_KERNEL_MATMUL || k->kind == CC_KERNEL_ATTENTION;
    if (!all_outputs && k->n_outputs != 1) {
        llmc_err_set(err, "%s kernel of root %%%u with %u outputs: not supported yet", cc_kernel_kind_name(k->kind),
                     k->root, k->n_outputs);
        return false;
    }
    call->bufs = llmc_xmalloc(((size_t)k->n_inputs + k->n_outputs) * sizeof *call->bufs);
    memcpy(call->bufs, k->inputs, k->n_inputs * sizeof *call->bufs);
    memcpy(call->bufs + k->n_inputs, k->outputs, k->n_outputs * sizeof *call->bufs);
    call->n_written = k->n_outputs;
    call->n_bufs = k->n_inputs + k->n_outputs;
    int64_t numel = ir_type_numel(&root->type);
    switch (k->kind) {
    case CC_KERNEL_REDUCE: {
        const IrNode *x = ir_graph_node(g, root->operands[0]);
        int64_t len = x->type.rank ? x->type.dims[root->attrs.reduce.axis] : 1;
        if (ir_op_info(x->op)->kind == IR_KIND_REDUCE && x->type.rank) { /* nested: len inner sums each */
            const IrType *xt = &ir_graph_node(g, x->operands[0])->type;
            len *= xt->dims[x->attrs.reduce.axis];
        }
        call->items = numel;
        call->grain = grain_for(len);
        return true;
    }
    case CC_KERNEL_ROW: { /* rows of X, the operand shape of its (last-axis) reductions */
        IrId red = IR_ID_NONE;
        uint32_t n_red = 0;
        for (uint32_t i = 0; i < k->n_nodes; i++)
            if (ir_op_info(ir_graph_node(g, k->nodes[i])->op)->kind == IR_KIND_REDUCE) {
                if (red == IR_ID_NONE) red = k->nodes[i];
                n_red++;
            }
        if (red == IR_ID_NONE) {
            llmc_err_set(err, "row kernel of root %%%u has no reduction", k->root);
            break;
        }
        const IrType *xt = &ir_graph_node(g, ir_graph_node(g, red)->operands[0])->type;
        int64_t len = xt->rank ? xt->dims[xt->rank - 1] : 1;
        call->items = ir_type_numel(xt) / (len ? len : 1);
        call->grain = grain_for(len * (n_red + 1));
        return true;
    }
    case CC_KERNEL_MATMUL: {
        CcMatmulPlan plan;
        IrId mm = matmul_member(g, k);
        if (mm == IR_ID_NONE) {
            llmc_err_set(err, "matmul kernel of root %%%u has no matmul", k->root);
            break;
        }
        if (!cc_matmul_plan(jit, g, mm, &plan, err)) break;
        call->items = plan.tasks;
        int64_t task_flops = 2 * plan.mc * plan.nc * plan.K;
        call->grain = task_flops >= MATMUL_GRAIN_FLOPS ? 1 : MATMUL_GRAIN_FLOPS / (task_flops ? task_flops : 1);
        return true;
    }
    case CC_KERNEL_INDEX:
        call->items = index_items(g, k);
        call->grain = grain_for(call->items ? numel / call->items : 1);
        if (root->op == IR_OP_SCATTER_ADD) { /* a row scans its batch's M indices, then adds */
            const IrNode *ix = ir_graph_node(g, root->operands[0]);
            int64_t batch = 1;
            for (int64_t d = 0; d < root->attrs.gather.batch_dims; d++) batch *= ix->type.dims[d];
            int64_t m = batch ? ir_type_numel(&ix->type) / batch : 0;
            call->grain = grain_for(m + (call->items ? numel / call->items : 0));
        }
        return true;
    case CC_KERNEL_MOVEMENT:
        call->items = numel;
        call->grain = STREAM_GRAIN;
        return true;
    case CC_KERNEL_ATTENTION: { /* a task is a chunk of rows (or keys) of one batch: plenty of work */
        CcAttentionPlan plan;
        if (!cc_attention_plan(jit, g, k, &plan, err)) break;
        call->items = plan.tasks;
        call->grain = 1;
        return true;
    }
    case CC_KERNEL_ELEMENTWISE:
    case CC_KERNEL_RUNTIME:
    case CC_KERNEL_INVALID:
    case CC_KERNEL_COUNT: break;
    }
    cc_kernel_call_free(call);
    return false;
}

void cc_kernel_call_free(CcKernelCall *call) {
    free(call->bufs);
    memset(call, 0, sizeof *call);
}

LLVMModuleRef cc_kernel_module(const CcJit *jit, LLVMContextRef ctx, const IrGraph *g, const CcKernel *k,
                               uint32_t fn_index, const char **base, LlmcErr *err) {
    if (!kernel_dtypes_ok(g, k, err)) return NULL;
    if (fn_index >= cc_kernel_functions(k)) {
        llmc_err_set(err, "%s kernel of root %%%u has no function %u", cc_kernel_kind_name(k->kind), k->root,
                     fn_index);
        return NULL;
    }
    switch (k->kind) {
    case CC_KERNEL_ELEMENTWISE:
        *base = "llmc_ew";
        return cc_ew_module(jit, ctx, g, k->nodes, k->n_nodes, k->outputs, k->n_outputs, err);
    case CC_KERNEL_REDUCE: *base = "llmc_red"; return cc_reduce_module(jit, ctx, g, k, err);
    case CC_KERNEL_ROW: *base = "llmc_row"; return cc_row_module(jit, ctx, g, k, err);
    case CC_KERNEL_MATMUL: *base = "llmc_mmk"; return cc_matmul_module(jit, ctx, g, k, err);
    case CC_KERNEL_INDEX: *base = "llmc_idx"; return cc_index_module(jit, ctx, g, k, err);
    case CC_KERNEL_MOVEMENT: *base = "llmc_mov"; return cc_movement_module(jit, ctx, g, k, err);
    case CC_KERNEL_ATTENTION: *base = "llmc_att"; return cc_attention_module(jit, ctx, g, k, err);
    case CC_KERNEL_RUNTIME:
    case CC_KERNEL_INVALID:
    case CC_KERNEL_COUNT: break;
    }
    return NULL; /* unreachable: fn_index was checked against cc_kernel_functions */
}

/* --- signatures -----------------------------------------------------------------------
 * What a kernel's code is generated from, up to renumbering: its kind and function; per
 * member (ascending id) its op, type and attributes (const payloads by content,
 * cc_node_content_hash) and each operand as a member, a kernel input or an outside splat
 * constant (by content: a literal in the code) by position; per input its op, type and
 * attributes and its own operands' (the rank-0 source an elementwise kernel reads
 * through a broadcast input); the outputs and the root by position. The codegens read
 * nothing else of the graph, so equal signatures generate equal modules: the identical
 * layers of a model compile once per JIT (cc_jit_memo_*), and the rest only look up. */

static void sig_u64(LlmcBuf *b, uint64_t v) { llmc_buf_printf(b, "%llx ", (unsigned long long)v); }

static uint32_t index_of(const IrId *ids, uint32_t n, IrId id) {
    uint32_t lo = 0, hi = n; /* ids ascending */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (ids[mid] < id) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && ids[lo] == id ? lo : UINT32_MAX;
}

static CcObjKey kernel_signature(const CcJit *jit, const IrGraph *g, const CcKernel *k, uint32_t fn_index) {
    LlmcBuf b = {0};
    llmc_buf_printf(&b, "llmc-kernel-signature 1\n%s %u\n", cc_kernel_kind_name(k->kind), fn_index);
    for (uint32_t i = 0; i < k->n_inputs; i++) {
        const IrNode *n = ir_graph_node(g, k->inputs[i]);
        llmc_buf_printf(&b, "in ");
        sig_u64(&b, cc_node_content_hash(g, n));
        for (uint32_t o = 0; o < n->n_operands; o++) sig_u64(&b, cc_node_content_hash(g, ir_graph_node(g, n->operands[o])));
        llmc_buf_printf(&b, "\n");
    }
    for (uint32_t i = 0; i < k->n_nodes; i++) {
        const IrNode *n = ir_graph_node(g, k->nodes[i]);
        llmc_buf_printf(&b, "node ");
        sig_u64(&b, cc_node_content_hash(g, n));
        for (uint32_t o = 0; o < n->n_operands; o++) {
            IrId x = n->operands[o];
            uint32_t at;
            if ((at = index_of(k->nodes, k->n_nodes, x)) != UINT32_MAX) llmc_buf_printf(&b, "m%u ", at);
            else if ((at = index_of(k->inputs, k->n_inputs, x)) != UINT32_MAX) llmc_buf_printf(&b, "i%u ", at);
            else {
                llmc_buf_printf(&b, "c");
                sig_u64(&b, cc_node_content_hash(g, ir_graph_node(g, x)));
            }
        }
        llmc_buf_printf(&b, "\n");
    }
    llmc_buf_printf(&b, "out");
    for (uint32_t i = 0; i < k->n_outputs; i++) llmc_buf_printf(&b, " %u", index_of(k->nodes, k->n_nodes, k->outputs[i]));
    llmc_buf_printf(&b, "\nroot %u\n", index_of(k->nodes, k->n_nodes, k->root));
    /* The buffer binding: which value each bufs[] slot is (elementwise kernels bind the
     * rank-0 source of a broadcast input, ordered by id among the others). */
    CcKernelCall call;
    LlmcErr ce = {0};
    if (!cc_kernel_call(jit, g, k, fn_index, &call, &ce)) {
        llmc_buf_free(&b);
        return (CcObjKey){0, 0}; /* no signature: compiled (and failing) the long way */
    }
    llmc_buf_printf(&b, "bufs %u %lld %lld:", call.n_written, (long long)call.items, (long long)call.grain);
    for (uint32_t i = 0; i < call.n_bufs; i++) {
        IrId x = call.bufs[i];
        uint32_t at;
        if ((at = index_of(k->nodes, k->n_nodes, x)) != UINT32_MAX) llmc_buf_printf(&b, " m%u", at);
        else if ((at = index_of(k->inputs, k->n_inputs, x)) != UINT32_MAX) llmc_buf_printf(&b, " i%u", at);
        else {
            bool found = false;
            for (uint32_t j = 0; j < k->n_inputs && !found; j++) {
                const IrNode *in = ir_graph_node(g, k->inputs[j]);
                for (uint32_t o = 0; o < in->n_operands && !found; o++)
                    if (in->operands[o] == x) {
                        llmc_buf_printf(&b, " i%u.%u", j, o);
                        found = true;
                    }
            }
            if (!found) {
                cc_kernel_call_free(&call);
                llmc_buf_free(&b);
                return (CcObjKey){0, 0};
            }
        }
    }
    cc_kernel_call_free(&call);
    CcObjKey key = cc_objcache_key(jit, "kernel-signature", b.data, b.len);
    llmc_buf_free(&b);
    return key;
}

bool cc_codegen_kernel(CcJit *jit, const IrGraph *g, const CcKernel *k, uint32_t fn_index, CcKernelFn *fn,
                       LlmcErr *err) {
    CcObjKey sig = kernel_signature(jit, g, k, fn_index);
    bool has_sig = sig.lo || sig.hi;
    if (has_sig && (*fn = cc_jit_memo_find(jit, sig))) return true;
    const char *base = NULL;
    LLVMOrcThreadSafeContextRef tsctx = LLVMOrcCreateNewThreadSafeContext();
    LLVMModuleRef mod = cc_kernel_module(jit, LLVMOrcThreadSafeContextGetContext(tsctx), g, k, fn_index, &base, err);
    if (!cc_jit_add_kernel(jit, mod, tsctx, base, fn, err)) return false;
    if (has_sig) cc_jit_memo_add(jit, sig, *fn);
    return true;
}

char *cc_kernel_text(CcJit *jit, const IrGraph *g, const CcKernel *k, uint32_t fn_index, CcTextKind kind,
                     LlmcErr *err) {
    const char *base = NULL;
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef mod = cc_kernel_module(jit, ctx, g, k, fn_index, &base, err);
    char *text = mod ? cc_jit_module_text(jit, mod, kind, err) : NULL;
    if (mod) LLVMDisposeModule(mod);
    LLVMContextDispose(ctx);
    return text;
}

bool cc_codegen_kernels(CcJit *jit, const IrGraph *g, const CcFusion *f, uint32_t threads, LlmcErr *err) {
    for (uint32_t k = 0; k < f->n_kernels; k++)
        if (f->kernels[k].kind != CC_KERNEL_RUNTIME && !kernel_dtypes_ok(g, &f->kernels[k], err)) return false;
    CcObjCache *cache = cc_jit_cache(jit);
    if (!cache || threads < 2) return true; /* cc_codegen_kernel one at a time does the same */
    uint32_t cap = 0;
    for (uint32_t k = 0; k < f->n_kernels; k++) cap += cc_kernel_functions(&f->kernels[k]);
    LLVMModuleRef *mods = llmc_xcalloc(cap ? cap : 1, sizeof *mods);
    LLVMOrcThreadSafeContextRef *ctxs = llmc_xcalloc(cap ? cap : 1, sizeof *ctxs);
    const char **bases = llmc_xcalloc(cap ? cap : 1, sizeof *bases);
    CcObjKey *sigs = llmc_xcalloc(cap ? cap : 1, sizeof *sigs);
    CcKernelFn *fns = llmc_xcalloc(cap ? cap : 1, sizeof *fns);
    uint32_t n = 0;
    for (uint32_t k = 0; k < f->n_kernels; k++)
        for (uint32_t fi = 0; fi < cc_kernel_functions(&f->kernels[k]); fi++) {
            CcObjKey sig = kernel_signature(jit, g, &f->kernels[k], fi);
            if (!(sig.lo || sig.hi) || cc_jit_memo_find(jit, sig)) continue;
            bool dup = false;
            for (uint32_t i = 0; i < n && !dup; i++) dup = sigs[i].lo == sig.lo && sigs[i].hi == sig.hi;
            if (dup) continue;
            LlmcErr me = {0};
            LLVMOrcThreadSafeContextRef tsctx = LLVMOrcCreateNewThreadSafeContext();
            LLVMModuleRef mod = cc_kernel_module(jit, LLVMOrcThreadSafeContextGetContext(tsctx), g, &f->kernels[k], fi,
                                                 &bases[n], &me);
            if (!mod) { /* cc_codegen_kernel will say why */
                LLVMOrcDisposeThreadSafeContext(tsctx);
                continue;
            }
            mods[n] = mod;
            ctxs[n] = tsctx;
            sigs[n++] = sig;
        }
    bool ok = cc_objcache_compile_batch(jit, cache, mods, ctxs, bases, n, threads, fns, err);
    for (uint32_t i = 0; i < n && ok; i++)
        if (fns[i]) cc_jit_memo_add(jit, sigs[i], fns[i]);
    free(mods);
    free(ctxs);
    free(bases);
    free(sigs);
    free(fns);
    return ok;
}
