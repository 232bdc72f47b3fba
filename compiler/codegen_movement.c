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
 * Deliberately not here: vector bodies and contiguous-run memcpy (a later performance
 * step), kernels with several outputs.
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

static LLVMValueRef c64(const Mv *m, int64_t v) {
    return LLVMConstInt(LLVMInt64TypeInContext(m->e.ctx), (unsigned long long)v, 1);
}

static void strides_of(const IrType *t, int64_t *s) {
    int64_t acc = 1;
    for (uint32_t a = t->rank; a-- > 0;) {
        s[a] = acc;
        acc *= t->dims[a];
    }
}

/* Node id's element (an integer of the dtype's width) at flat index i. */
static LLVMValueRef value_at(Mv *m, IrId id, LLVMValueRef i) {
    const IrGraph *g = m->e.g;
    LLVMBuilderRef b = m->e.b;
    const IrNode *n = ir_graph_node(g, id);
    size_t size = ir_dtype_size(n->type.dtype);
    LLVMTypeRef et = LLVMIntTypeInContext(m->e.ctx, (unsigned)(8 * size));
    if (!kernel_has(m->k, id)) {
        if (m->base[id]) {
            LLVMValueRef v = LLVMBuildLoad2(b, et, LLVMBuildGEP2(b, et, m->base[id], &i, 1, ""), "");
            LLVMSetAlignment(v, (unsigned)size);
            return v;
        }
        uint64_t bits = 0;
        memcpy(&bits, cc_const_elem(n, 0), size); /* little-endian host */
        return LLVMConstInt(et, bits, 0);
    }
    const IrType *ot = &n->type;
    int64_t os[IR_MAX_RANK];
    strides_of(ot, os);
    if (is_chain_op(n)) return value_at(m, n->operands[0], cc_cg_chain_index(&m->e, id, n->operands[0], i));
    if (n->op == IR_OP_SLICE) {
        const IrType *st = &ir_graph_node(g, n->operands[0])->type;
        int64_t ss[IR_MAX_RANK];
        strides_of(st, ss);
        const IrInts *start = &n->attrs.slice.start, *step = &n->attrs.slice.step;
        int64_t base = 0;
        LLVMValueRef acc = NULL;
        for (uint32_t a = 0; a < ot->rank; a++) {
            int64_t sp = step->n ? step->v[a] : 1;
            base += start->v[a] * ss[a];
            if (ot->dims[a] == 1) continue;
            LLVMValueRef c = LLVMBuildUDiv(b, i, c64(m, os[a]), "");
            if (a) c = LLVMBuildURem(b, c, c64(m, ot->dims[a]), "");
            LLVMValueRef t = LLVMBuildMul(b, c, c64(m, sp * ss[a]), "");
            acc = acc ? LLVMBuildAdd(b, acc, t, "") : t;
        }
        LLVMValueRef si = acc ? LLVMBuildAdd(b, acc, c64(m, base), "") : c64(m, base);
        return value_at(m, n->operands[0], si);
    }
    LLMC_ASSERT(n->op == IR_OP_CONCAT);
    {
        int64_t axis = n->attrs.axis.axis, inner = os[axis], big = ot->dims[axis];
        LLVMValueRef outer = LLVMBuildUDiv(b, i, c64(m, big * inner), "");
        LLVMValueRef c = LLVMBuildURem(b, LLVMBuildUDiv(b, i, c64(m, inner), ""), c64(m, big), "");
        LLVMValueRef r = LLVMBuildURem(b, i, c64(m, inner), "");
        LLVMValueRef *v = llmc_xmalloc(n->n_operands * sizeof *v);
        int64_t *off = llmc_xmalloc(n->n_operands * sizeof *off);
        int64_t at = 0;
        for (uint32_t j = 0; j < n->n_operands; j++) {
            int64_t d = ir_graph_node(g, n->operands[j])->type.dims[axis];
            off[j] = at;
            /* local coordinate clamped to [0, d-1] */
            LLVMValueRef lc = LLVMBuildSub(b, c, c64(m, at), "");
            lc = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, lc, c64(m, 0), ""), c64(m, 0), lc, "");
            lc = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSGT, lc, c64(m, d - 1), ""), c64(m, d - 1), lc, "");
            LLVMValueRef xi = LLVMBuildAdd(b, LLVMBuildMul(b, outer, c64(m, d * inner), ""),
                                           LLVMBuildAdd(b, LLVMBuildMul(b, lc, c64(m, inner), ""), r, ""), "");
            v[j] = d > 0 ? value_at(m, n->operands[j], xi) : NULL;
            at += d;
        }
        LLVMValueRef res = NULL;
        for (uint32_t j = n->n_operands; j-- > 0;) {
            if (!v[j]) continue;
            int64_t d = ir_graph_node(g, n->operands[j])->type.dims[axis];
            res = res ? LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, c, c64(m, off[j] + d), ""), v[j], res, "")
                      : v[j];
        }
        free(v);
        free(off);
        return res;
    }
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
    LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(ctx, fn, "head");
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(ctx, fn, "body");
    LLVMBasicBlockRef exit = LLVMAppendBasicBlockInContext(ctx, fn, "exit");

    LLVMPositionBuilderAtEnd(b, entry);
    LLVMValueRef out_ptr = NULL;
    for (uint32_t s = 0; s <= k->n_inputs; s++) {
        LLVMValueRef ix = LLVMConstInt(i64, s, 0);
        LLVMValueRef ptr = LLVMBuildLoad2(b, ptr_t, LLVMBuildGEP2(b, ptr_t, bufs, &ix, 1, ""), "buf");
        if (s == k->n_inputs) out_ptr = ptr;
        else m.base[k->inputs[s]] = ptr;
    }
    LLVMBuildBr(b, head);

    LLVMPositionBuilderAtEnd(b, head);
    LLVMValueRef i = LLVMBuildPhi(b, i64, "i");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, i, end, ""), body, exit);

    LLVMPositionBuilderAtEnd(b, body);
    size_t size = ir_dtype_size(ir_graph_node(g, k->root)->type.dtype);
    LLVMTypeRef et = LLVMIntTypeInContext(ctx, (unsigned)(8 * size));
    LLVMValueRef v = value_at(&m, k->root, i);
    LLVMValueRef st = LLVMBuildStore(b, v, LLVMBuildGEP2(b, et, out_ptr, &i, 1, ""));
    LLVMSetAlignment(st, (unsigned)size);
    LLVMValueRef inext = LLVMBuildAdd(b, i, LLVMConstInt(i64, 1, 0), "i.next");
    LLVMBasicBlockRef last = LLVMGetInsertBlock(b);
    LLVMBuildBr(b, head);
    LLVMValueRef iv[2] = {begin, inext};
    LLVMBasicBlockRef from[2] = {entry, last};
    LLVMAddIncoming(i, iv, from, 2);

    LLVMPositionBuilderAtEnd(b, exit);
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
