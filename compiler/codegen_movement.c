/* compiler/codegen_movement.c — one MOVEMENT kernel (compiler/fuse.c, rule 5) as one LLVM
 * function: a copy through a chain of movement ops.
 *
 *     void llmc_mov_<n>(void **bufs, int64_t begin, int64_t end)
 *
 * ABI (compiler.h, "JIT: movement"): bufs[] = the kernel's inputs as CcKernel.inputs
 * lists them (ascending id; splat constants are literals and not listed), then the
 * output. [begin, end) ranges over output elements; each is written once, so any split
 * gives the same bytes. For output element i the root's value is taken member by member
 * down to an input: reshape, permute and broadcast map the flat index as the other
 * kernels do (cc_cg_chain_index); slice maps coordinate c of axis a to start[a] +
 * c * step[a]; concat picks the operand whose range along the axis holds the coordinate
 * (every operand is read at its clamped coordinate, so no load leaves its buffer, and a
 * select keeps the right one). Elements move as integers of the dtype's width: copies
 * are bit-exact for every dtype (nan payloads and -0 included).
 *
 * A concat whose operands are runs of the output's flat order (nothing but axes of one
 * coordinate before the concat axis: the FSDP flat gradient) is instead one loop per
 * operand over the part of [begin, end) it covers, each a plain copy of the operand's
 * own run (through its chain): no operand is read for another's elements, and the loops
 * vectorize. Same bytes.
 *
 * Deliberately not here: vector bodies and contiguous-run memcpy for the general case (a
 * later performance step), kernels with several outputs.
 */
#include "compiler_int.h"

#include <llvm-c/Core.h>
#include <llvm-c/Orc.h>

#include <stdlib.h>
#include <string.h>

typedef struct Mv {
    CcEmit e;             /* ctx, b, g: what cc_cg_chain_index needs */
    const CcKernel *k;
    LLVMValueRef *base;   /* [g->n_nodes] input element pointers */
} Mv;

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

static bool is_splat_const(const IrNode *n) { return n->op == IR_OP_CONST && n->attrs.constant.value.count == 1; }

static bool is_chain_op(const IrNode *n) {
    return n->op == IR_OP_RESHAPE || n->op == IR_OP_PERMUTE || n->op == IR_OP_BROADCAST;
}

static bool check_kernel(const IrGraph *g, const CcKernel *k, LlmcErr *err) {
    if (k->kind != CC_KERNEL_MOVEMENT) {
        llmc_err_set(err, "movement codegen: kernel (root %%%u) is %s, not movement", k->root,
                     cc_kernel_kind_name(k->kind));
        return false;
    }
    if (k->n_outputs != 1 || k->outputs[0] != k->root) {
        llmc_err_set(err, "movement codegen: kernel (root %%%u) has %u outputs; not supported yet", k->root,
                     k->n_outputs);
        return false;
    }
    for (uint32_t i = 0; i < k->n_nodes; i++) {
        const IrNode *n = ir_graph_node(g, k->nodes[i]);
        if (!is_chain_op(n) && n->op != IR_OP_SLICE && n->op != IR_OP_CONCAT) {
            llmc_err_set(err, "movement codegen: kernel (root %%%u) contains %%%u = %s; not supported yet", k->root,
                         k->nodes[i], ir_op_name(n->op));
            return false;
        }
        size_t size = ir_dtype_size(n->type.dtype);
        if (size != 1 && size != 2 && size != 4 && size != 8) {
            llmc_err_set(err, "movement codegen: %%%u has dtype %s; not supported yet", k->nodes[i],
                         ir_dtype_name(n->type.dtype));
            return false;
        }
        for (uint32_t o = 0; o < n->n_operands; o++) {
            IrId x = n->operands[o];
            if (kernel_has(k, x) || is_input(k, x) || is_splat_const(ir_graph_node(g, x))) continue;
            llmc_err_set(err, "movement codegen: kernel (root %%%u): operand %%%u of %%%u is neither a member nor "
                              "an input", k->root, x, k->nodes[i]);
            return false;
        }
    }
    return true;
}

static bool tree_member(const void *ctx, IrId id) { return kernel_has(((const Mv *)ctx)->k, id); }

/* A leaf as an integer of its dtype's width: a load from its buffer, or a splat
 * constant's bits. */
static LLVMValueRef tree_leaf(const void *ctx, IrId id, LLVMValueRef i) {
    const Mv *m = ctx;
    const IrNode *n = ir_graph_node(m->e.g, id);
    if (!m->base[id]) return cc_cg_splat_literal(&m->e, n, true);
    size_t size = ir_dtype_size(n->type.dtype);
    LLVMTypeRef et = LLVMIntTypeInContext(m->e.ctx, (unsigned)(8 * size));
    LLVMValueRef v = LLVMBuildLoad2(m->e.b, et, LLVMBuildGEP2(m->e.b, et, m->base[id], &i, 1, ""), "");
    LLVMSetAlignment(v, (unsigned)size);
    return v;
}

/* Node id's element (an integer of the dtype's width) at flat index i. */
static LLVMValueRef value_at(Mv *m, IrId id, LLVMValueRef i) {
    CcMoveTree t = {&m->e, tree_member, tree_leaf, m};
    return cc_cg_move_value(&t, id, i);
}

/* Whether the root is a concat of flat runs: every axis before the concat axis holds one
 * coordinate, so operand j fills output elements [lo_j, lo_j + numel_j). */
static bool concat_of_runs(const IrGraph *g, const CcKernel *k) {
    const IrNode *n = ir_graph_node(g, k->root);
    if (n->op != IR_OP_CONCAT) return false;
    for (int64_t a = 0; a < n->attrs.axis.axis; a++)
        if (n->type.dims[a] != 1) return false;
    return true;
}

/* for (i = max(begin, lo); i < min(end, hi); i++) out[i] = x[i - lo], x a member read
 * through the movement tree below it, appended at the builder's block; leaves b in a new
 * block. */
static void copy_run(Mv *m, LLVMValueRef fn, LLVMValueRef out_ptr, IrId x, int64_t lo, int64_t hi,
                     LLVMValueRef begin, LLVMValueRef end, LLVMTypeRef et, size_t size) {
    LLVMContextRef ctx = m->e.ctx;
    LLVMBuilderRef b = m->e.b;
    LLVMTypeRef i64 = LLVMInt64TypeInContext(ctx);
    LLVMValueRef clo = LLVMConstInt(i64, (unsigned long long)lo, 0), chi = LLVMConstInt(i64, (unsigned long long)hi, 0);
    LLVMValueRef from = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSGT, begin, clo, ""), begin, clo, "");
    LLVMValueRef to = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, end, chi, ""), end, chi, "");
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(b);
    LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(ctx, fn, "run.head");
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(ctx, fn, "run.body");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(ctx, fn, "run.done");
    LLVMBuildBr(b, head);
    LLVMPositionBuilderAtEnd(b, head);
    LLVMValueRef i = LLVMBuildPhi(b, i64, "i");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, i, to, ""), body, done);
    LLVMPositionBuilderAtEnd(b, body);
    LLVMValueRef v = value_at(m, x, LLVMBuildSub(b, i, clo, ""));
    LLVMValueRef st = LLVMBuildStore(b, v, LLVMBuildGEP2(b, et, out_ptr, &i, 1, ""));
    LLVMSetAlignment(st, (unsigned)size);
    LLVMValueRef inext = LLVMBuildAdd(b, i, LLVMConstInt(i64, 1, 0), "i.next");
    LLVMBasicBlockRef last = LLVMGetInsertBlock(b);
    LLVMBuildBr(b, head);
    LLVMValueRef iv[2] = {from, inext};
    LLVMBasicBlockRef bb[2] = {pre, last};
    LLVMAddIncoming(i, iv, bb, 2);
    LLVMPositionBuilderAtEnd(b, done);
}

static void build_kernel(LLVMContextRef ctx, LLVMModuleRef mod, const IrGraph *g, const CcKernel *k,
                         const char *name) {
    Mv m = {.e = {.ctx = ctx, .mod = mod, .g = g}, .k = k};
    m.e.b = LLVMCreateBuilderInContext(ctx);
    m.base = llmc_xcalloc(g->n_nodes, sizeof *m.base);
    LLVMBuilderRef b = m.e.b;
    LLVMTypeRef ptr_t = LLVMPointerTypeInContext(ctx, 0);
    LLVMTypeRef i64 = LLVMInt64TypeInContext(ctx);
    LLVMTypeRef params[3] = {ptr_t, i64, i64};
    LLVMValueRef fn = LLVMAddFunction(mod, name, LLVMFunctionType(LLVMVoidTypeInContext(ctx), params, 3, 0));
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                            LLVMCreateEnumAttribute(ctx, LLVMGetEnumAttributeKindForName("nounwind", 8), 0));
    LLVMValueRef bufs = LLVMGetParam(fn, 0), begin = LLVMGetParam(fn, 1), end = LLVMGetParam(fn, 2);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(ctx, fn, "entry");

    LLVMPositionBuilderAtEnd(b, entry);
    LLVMValueRef out_ptr = NULL;
    for (uint32_t s = 0; s <= k->n_inputs; s++) {
        LLVMValueRef ix = LLVMConstInt(i64, s, 0);
        LLVMValueRef ptr = LLVMBuildLoad2(b, ptr_t, LLVMBuildGEP2(b, ptr_t, bufs, &ix, 1, ""), "buf");
        if (s == k->n_inputs) out_ptr = ptr;
        else m.base[k->inputs[s]] = ptr;
    }
    const IrNode *root = ir_graph_node(g, k->root);
    size_t size = ir_dtype_size(root->type.dtype);
    LLVMTypeRef et = LLVMIntTypeInContext(ctx, (unsigned)(8 * size));
    if (concat_of_runs(g, k)) { /* one copy loop per operand */
        int64_t lo = 0;
        for (uint32_t j = 0; j < root->n_operands; j++) {
            int64_t n = ir_type_numel(&ir_graph_node(g, root->operands[j])->type);
            copy_run(&m, fn, out_ptr, root->operands[j], lo, lo + n, begin, end, et, size);
            lo += n;
        }
    } else { /* the root element by element */
        copy_run(&m, fn, out_ptr, k->root, 0, ir_type_numel(&root->type), begin, end, et, size);
    }
    LLVMBuildRetVoid(b);
    LLVMDisposeBuilder(b);
    free(m.base);
}

LLVMModuleRef cc_movement_module(const CcJit *jit, LLVMContextRef ctx, const IrGraph *g, const CcKernel *k,
                                 LlmcErr *err) {
    if (!check_kernel(g, k, err)) return NULL;
    LLVMModuleRef mod = LLVMModuleCreateWithNameInContext("llmc_mov", ctx);
    build_kernel(ctx, mod, g, k, "llmc_mov");
    return mod;
}

bool cc_codegen_movement(CcJit *jit, const IrGraph *g, const CcKernel *k, CcKernelFn *fn, LlmcErr *err) {
    LLVMOrcThreadSafeContextRef tsctx = LLVMOrcCreateNewThreadSafeContext();
    LLVMModuleRef mod = cc_movement_module(jit, LLVMOrcThreadSafeContextGetContext(tsctx), g, k, err);
    return cc_jit_add_kernel(jit, mod, tsctx, "llmc_mov", fn, err);
}
