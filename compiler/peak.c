/* compiler/peak.c — the FMA peak kernel (cc_codegen_fma_peak): the host's widest vector
 * FMA in as many independent chains as it takes to hide the FMA latency, so that the
 * runtime can measure what the machine's floating-point units deliver through the same
 * JIT, target machine and thread pool as the real kernels (runtime/peak.c; MFU's
 * denominator in tools/llmbench.c).
 *
 *     void llmc_peak_<n>(void **bufs, int64_t begin, int64_t end)
 *
 * For each item in [begin, end):
 *     acc[j] = splat(j + 1)                                for j < N_ACC
 *     repeat PEAK_ITERS times: acc[j] = llvm.fma(acc[j], a, b)   (all N_ACC chains)
 *     ((float *)bufs[0])[item] = sum over j and lanes of acc[j]
 * with <W x float> vectors, W = 16 with AVX-512 (the function carries prefer- and
 * min-legal-vector-width 512, as the matmul kernels do), 8 with AVX/AVX2, else 4.
 * a = begin * 1e-30 + 0.999 and b = begin * 1e-30 + 0.001, computed at run time, so the
 * optimizer cannot fold the chains (no fast-math flags either: nothing may be
 * reassociated), and acc converges to b / (1 - a) = 1: no overflow, no denormals that
 * could slow a core down. The result store keeps the loop alive.
 *
 * flops_per_item = PEAK_ITERS * N_ACC * W * 2 (an FMA counted as 2). N_ACC = 12 covers a
 * 4-cycle latency on two FMA pipes (8 in flight) with room, and with a and b needs 14
 * vector registers, so it fits AVX2's 16 without spills as well as AVX-512's 32.
 *
 * The bf16 peak (cc_codegen_bf16_peak, AVX-512 with avx512bf16 only): the same loop with
 * vdpbf16ps (llvm.x86.avx512bf16.dpbf16ps.512) in place of the FMA, a and b rounded to 32
 * bf16 lanes each (both 2^-10 + a run-time tiny, so acc grows by 2^-19 per instruction and
 * stays far from overflow and denormals); flops_per_item = PEAK_ITERS * N_ACC * 16 * 4
 * (per lane two products and two additions). It is what the bf16 matmuls' microkernel
 * can reach at most. AMX (tdpbf16ps) has no peak kernel: this project has no AMX code.
 *
 * Deliberately not here: an f64 peak, memory traffic (runtime/peak.c measures the
 * bandwidth with a plain C copy), and any claim that real kernels can reach this number.
 */
#include "compiler_int.h"

#include <llvm-c/Core.h>
#include <llvm-c/Orc.h>

#include <string.h>

enum { N_ACC = 12, PEAK_ITERS = 1 << 16 };
#define DPBF16PS "llvm.x86.avx512bf16.dpbf16ps.512" /* <16 x float>(<16 x float>, <32 x bfloat>, <32 x bfloat>) */

/* True when the LLVM feature string ("+avx2,-avx512f,...") turns `name` on. */
static bool feature_on(const char *features, const char *name) {
    size_t n = strlen(name);
    for (const char *p = features; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n + 1 && p[0] == '+' && memcmp(p + 1, name, n) == 0) return true;
        p = end ? end + 1 : NULL;
    }
    return false;
}

static unsigned peak_lanes(const CcJit *jit) {
    const char *features = NULL;
    cc_jit_cpu(jit, &features);
    if (cc_jit_has_avx512(jit)) return 16;
    if (feature_on(features, "avx2") || feature_on(features, "avx")) return 8;
    return 4;
}

/* Builds the kernel function "llmc_peak" into a new module of ctx: FMA chains, or with
 * `dot` vdpbf16ps chains (the banner). */
static LLVMModuleRef peak_module(const CcJit *jit, LLVMContextRef ctx, unsigned W, bool dot) {
    LLVMModuleRef mod = LLVMModuleCreateWithNameInContext("llmc_peak", ctx);
    LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
    LLVMTypeRef ptr_t = LLVMPointerTypeInContext(ctx, 0);
    LLVMTypeRef i64 = LLVMInt64TypeInContext(ctx);
    LLVMTypeRef i32 = LLVMInt32TypeInContext(ctx);
    LLVMTypeRef f32 = LLVMFloatTypeInContext(ctx);
    LLVMTypeRef vec = LLVMVectorType(f32, W);
    LLVMTypeRef params[3] = {ptr_t, i64, i64};
    LLVMValueRef fn = LLVMAddFunction(mod, "llmc_peak", LLVMFunctionType(LLVMVoidTypeInContext(ctx), params, 3, 0));
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                            LLVMCreateEnumAttribute(ctx, LLVMGetEnumAttributeKindForName("nounwind", 8), 0));
    if (cc_jit_has_avx512(jit)) {
        static const char *const kv[2][2] = {{"prefer-vector-width", "512"}, {"min-legal-vector-width", "512"}};
        for (int i = 0; i < 2; i++)
            LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                                    LLVMCreateStringAttribute(ctx, kv[i][0], (unsigned)strlen(kv[i][0]), kv[i][1],
                                                              (unsigned)strlen(kv[i][1])));
    }
    LLVMValueRef bufs = LLVMGetParam(fn, 0), begin = LLVMGetParam(fn, 1), end = LLVMGetParam(fn, 2);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(ctx, fn, "entry");
    LLVMBasicBlockRef ihead = LLVMAppendBasicBlockInContext(ctx, fn, "item.head");
    LLVMBasicBlockRef ibody = LLVMAppendBasicBlockInContext(ctx, fn, "item.body");
    LLVMBasicBlockRef loop = LLVMAppendBasicBlockInContext(ctx, fn, "fma.loop");
    LLVMBasicBlockRef itail = LLVMAppendBasicBlockInContext(ctx, fn, "item.tail");
    LLVMBasicBlockRef exit = LLVMAppendBasicBlockInContext(ctx, fn, "exit");

    /* entry: the output pointer; a and b from `begin`, splatted */
    LLVMPositionBuilderAtEnd(b, entry);
    LLVMValueRef out = LLVMBuildLoad2(b, ptr_t, bufs, "out");
    LLVMValueRef fb = LLVMBuildSIToFP(b, begin, f32, "");
    LLVMValueRef tiny = LLVMBuildFMul(b, fb, LLVMConstReal(f32, 1e-30), "");
    LLVMValueRef as = LLVMBuildFAdd(b, tiny, LLVMConstReal(f32, dot ? 0x1p-10 : 0.999), "a");
    LLVMValueRef bs = LLVMBuildFAdd(b, tiny, LLVMConstReal(f32, dot ? 0x1p-10 : 0.001), "b");
    LLVMValueRef mask = LLVMConstNull(LLVMVectorType(i32, W));
    LLVMValueRef zero32 = LLVMConstInt(i32, 0, 0);
    LLVMValueRef av = LLVMBuildShuffleVector(b, LLVMBuildInsertElement(b, LLVMGetPoison(vec), as, zero32, ""),
                                             LLVMGetPoison(vec), mask, "av");
    LLVMValueRef bv = LLVMBuildShuffleVector(b, LLVMBuildInsertElement(b, LLVMGetPoison(vec), bs, zero32, ""),
                                             LLVMGetPoison(vec), mask, "bv");
    LLVMValueRef ax = av, by = bv;
    if (dot) { /* a and b as 2W bf16 lanes: fptrunc rounds to nearest, and 2^-10 is exact */
        LLVMTypeRef bf = LLVMVectorType(LLVMBFloatTypeInContext(ctx), 2 * W);
        LLVMValueRef zeros = LLVMConstNull(LLVMVectorType(i32, 2 * W));
        ax = LLVMBuildFPTrunc(b, LLVMBuildShuffleVector(b, av, av, zeros, ""), bf, "a.bf16");
        by = LLVMBuildFPTrunc(b, LLVMBuildShuffleVector(b, bv, bv, zeros, ""), bf, "b.bf16");
    }
    LLVMBuildBr(b, ihead);

    /* item loop */
    LLVMPositionBuilderAtEnd(b, ihead);
    LLVMValueRef item = LLVMBuildPhi(b, i64, "item");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, item, end, ""), ibody, exit);
    LLVMPositionBuilderAtEnd(b, ibody);
    LLVMBuildBr(b, loop);

    /* the FMA loop: N_ACC independent chains */
    LLVMPositionBuilderAtEnd(b, loop);
    LLVMValueRef it = LLVMBuildPhi(b, i64, "it");
    LLVMValueRef acc[N_ACC], next[N_ACC];
    LLVMValueRef fma, x = av, y = bv;
    LLVMTypeRef fma_ty;
    if (dot) {
        x = ax, y = by;
        unsigned id = LLVMLookupIntrinsicID(DPBF16PS, strlen(DPBF16PS));
        fma = LLVMGetIntrinsicDeclaration(mod, id, NULL, 0);
        fma_ty = LLVMIntrinsicGetType(ctx, id, NULL, 0);
    } else {
        unsigned id = LLVMLookupIntrinsicID("llvm.fma", 8);
        fma = LLVMGetIntrinsicDeclaration(mod, id, &vec, 1);
        fma_ty = LLVMIntrinsicGetType(ctx, id, &vec, 1);
    }
    for (unsigned j = 0; j < N_ACC; j++) acc[j] = LLVMBuildPhi(b, vec, "acc");
    for (unsigned j = 0; j < N_ACC; j++) {
        LLVMValueRef args[3] = {acc[j], x, y};
        next[j] = LLVMBuildCall2(b, fma_ty, fma, args, 3, "");
    }
    LLVMValueRef it_next = LLVMBuildAdd(b, it, LLVMConstInt(i64, 1, 0), "it.next");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, it_next, LLVMConstInt(i64, PEAK_ITERS, 0), ""), loop, itail);
    LLVMValueRef it_in[2] = {LLVMConstInt(i64, 0, 0), it_next};
    LLVMBasicBlockRef it_from[2] = {ibody, loop};
    LLVMAddIncoming(it, it_in, it_from, 2);
    for (unsigned j = 0; j < N_ACC; j++) {
        LLVMValueRef lanes[16];
        for (unsigned l = 0; l < W; l++) lanes[l] = LLVMConstReal(f32, (double)(j + 1));
        LLVMValueRef in[2] = {LLVMConstVector(lanes, W), next[j]};
        LLVMAddIncoming(acc[j], in, it_from, 2);
    }

    /* item tail: sum every chain and lane, store, next item */
    LLVMPositionBuilderAtEnd(b, itail);
    LLVMValueRef sum = next[0];
    for (unsigned j = 1; j < N_ACC; j++) sum = LLVMBuildFAdd(b, sum, next[j], "");
    LLVMValueRef s = LLVMBuildExtractElement(b, sum, zero32, "");
    for (unsigned l = 1; l < W; l++) s = LLVMBuildFAdd(b, s, LLVMBuildExtractElement(b, sum, LLVMConstInt(i32, l, 0), ""), "");
    LLVMValueRef slot = LLVMBuildGEP2(b, f32, out, &item, 1, "");
    LLVMBuildStore(b, s, slot);
    LLVMValueRef item_next = LLVMBuildAdd(b, item, LLVMConstInt(i64, 1, 0), "item.next");
    LLVMBuildBr(b, ihead);
    LLVMValueRef item_in[2] = {begin, item_next};
    LLVMBasicBlockRef item_from[2] = {entry, itail};
    LLVMAddIncoming(item, item_in, item_from, 2);

    LLVMPositionBuilderAtEnd(b, exit);
    LLVMBuildRetVoid(b);
    LLVMDisposeBuilder(b);
    return mod;
}

bool cc_codegen_fma_peak(CcJit *jit, CcKernelFn *fn, double *flops_per_item, LlmcErr *err) {
    unsigned W = peak_lanes(jit);
    LLVMOrcThreadSafeContextRef tsctx = LLVMOrcCreateNewThreadSafeContext();
    LLVMModuleRef mod = peak_module(jit, LLVMOrcThreadSafeContextGetContext(tsctx), W, false);
    if (!cc_jit_add_kernel(jit, mod, tsctx, "llmc_peak", fn, err)) return false;
    *flops_per_item = (double)PEAK_ITERS * N_ACC * W * 2;
    return true;
}

bool cc_codegen_bf16_peak(CcJit *jit, CcKernelFn *fn, double *flops_per_item, LlmcErr *err) {
    *fn = NULL;
    *flops_per_item = 0;
    if (!cc_jit_has_avx512bf16(jit)) return true; /* no such instruction (or LLVM could not legalize it) */
    LLVMOrcThreadSafeContextRef tsctx = LLVMOrcCreateNewThreadSafeContext();
    LLVMModuleRef mod = peak_module(jit, LLVMOrcThreadSafeContextGetContext(tsctx), 16, true);
    if (!cc_jit_add_kernel(jit, mod, tsctx, "llmc_peak", fn, err)) return false;
    *flops_per_item = (double)PEAK_ITERS * N_ACC * 16 * 4; /* 2 products and 2 adds per lane */
    return true;
}
