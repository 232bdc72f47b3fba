/* compiler/codegen_matmul.c — one matmul node as one LLVM function: packing, cache
 * blocking and a register-blocked FMA microkernel, sized for the host's vector width.
 *
 * The kernel
 *
 *     void llmc_mm_<n>(void **bufs, int64_t begin, int64_t end)
 *
 * computes tasks [begin, end) of the node's output (ABI: compiler.h, CcKernelFn; bufs =
 * {A, B, C}: x, y and the output, dense row-major in their dtypes). Shapes, strides,
 * ta/tb and block sizes are constants of the generated code.
 *
 * Iteration space (CcMatmulPlan). A task is one output block: batch b, rows
 * [mb*MC, +MC), columns [nb*NC, +NC), numbered t = (b * m_blocks + mb) * n_blocks + nb.
 * A task owns its block and computes it over the whole K axis; no two tasks write the same
 * element and none reads another's output, so any split of [0, tasks) over calls or
 * threads gives the same bytes.
 *
 * Summation order (the determinism contract). Every output element is
 *     c = 0; for k = 0, 1, ..., K-1: c = fma(a[m,k], b[k,n], c)
 * in the node's dtype (f32 in f32, f64 in f64), each fma rounded once (llvm.fma). Blocking
 * over K stores c into the output between KC blocks and reloads it, which changes nothing
 * since the accumulator has the output's dtype; so the result depends on neither the
 * split nor the block sizes. It differs from the interpreter (double accumulation, one
 * rounding) by ordinary f32/f64 summation error: the tests bound it at 1e-5 (f32) and
 * 1e-12 (f64) relative, by norm. K = 0 gives zeros.
 *
 * bf16 operands (x and y bf16, the result f32: ir_shape_matmul). Products of bf16 are
 * exact in f32 (8-bit significands), so only the additions round. Two paths, chosen by the
 * JIT's features (cc_jit_has_avx512bf16; CcMatmulPlan.bf16_dot says which):
 *   bf16_dot (avx512bf16 with avx512f): the panels hold bf16 in k-pairs (the VNNI layout):
 *     an A panel [kc/2][MR] and a B panel [kc/2][NR] of pairs, a pair the elements at
 *     k = 2p and 2p + 1 in one 32-bit lane, the even one in the low half; an odd kc (only
 *     the last K block: KC is even) pads its last pair with a zero. The microkernel steps
 *     over pairs: NV loads of B pairs, MR broadcasts of an A pair (one i32), MR*NV
 *     llvm.x86.avx512bf16.dpbf16ps.512 (vdpbf16ps). Intel's SDM defines vdpbf16ps per f32
 *     lane as c = fma(a[2p+1], b[2p+1], c), then c = fma(a[2p], b[2p], c), each rounded to
 *     nearest even, bf16 subnormal inputs read as zero (DAZ), subnormal results flushed to
 *     zero (FTZ), MXCSR ignored. So every element is
 *         c = 0; for p = 0 .. ceil(K/2) - 1:
 *             c = ftz(fma(daz(a[2p+1]), daz(b[2p+1]), c)); c = ftz(fma(daz(a[2p]), daz(b[2p]), c))
 *     (a[K] = b[K] = 0 for an odd K): k in the order 1, 0, 3, 2, ... The test
 *     (tests/jit/test_jit_matmul_bf16.c) checks this model bit for bit; Zen 4 follows it.
 *   fp32 (no avx512bf16: AVX2, or LLMC_JIT_FEATURES=-avx512bf16): the pack widens each bf16
 *     to f32 exactly (bits << 16) into the f32 panels and the f32 microkernel runs
 *     unchanged: c = fma(a[k], b[k], c), k ascending, with gradual underflow.
 * Against the interpreter (the exact sum of the exact products, rounded once to f32 in its
 * f32 mode, kept in double in f64 mode), per element, with S = sum_k |a[k] b[k]|:
 *     |jit - ref| <= K 2^-23 S + D + K t
 * (K roundings of partial sums bounded by S: gamma_K <= K 2^-23 covers them and the
 * reference's own rounding). bf16_dot: D = the sum of |a[k] b[k]| over the k where a[k] or
 * b[k] is a bf16 subnormal (DAZ drops that product: not small when the other factor is
 * large), t = 2^-126 (a flush per step); fp32: D = 0, t = 2^-149. The accumulator is the
 * output's f32 on both paths, so the K blocking still changes nothing, each element is one
 * task's in a fixed order, and any split or thread count gives the same bytes; the two
 * paths give different bytes from each other.
 *
 * Structure per task (GotoBLAS / BLIS order, specialised to one block):
 *     for pc in K by KC (at least once):
 *         pack B[b, pc..pc+kc, block cols] -> Bp: panels of NR cols, [kc][NR] each,
 *             columns beyond N zero; once per KC step, for all the task's rows;
 *         for each A block of MA rows of the task (MA = 8 MR, fewer at the end):
 *             pack A[b, those rows, pc..pc+kc) -> Ap: panels of MR rows, [kc][MR] each,
 *                 rows beyond M zero;
 *             for each MR panel (A micro-panel stays in L1), for each NR panel (Bp in L2):
 *                 microkernel: MR x NR accumulators in vector registers (NR = NV vectors
 *                 of VL lanes); per k, NV vector loads of Bp, MR broadcasts of Ap, MR*NV
 *                 fma. Edge tiles (fewer than MR rows or NR columns) run the same
 *                 microkernel on a small tile buffer that is copied in and out.
 * ta / tb only change how the packing reads: where a panel's rows (or columns) are
 * contiguous in memory (A when ta, B when not tb), one masked vector load per VL of them
 * and k; where each is contiguous along k (A when not ta, B when tb), VL x VL squares
 * loaded as VL vectors and transposed in registers, the k tail (kc % VL) element by
 * element. Operands behind movement chains pack element by element. The microkernel
 * never sees ta / tb. A rank-2 operand of a batched matmul has batch stride 0.
 * On the bf16_dot path a pair is the vector element: where a panel's rows are contiguous
 * (A when ta, B when not tb), the rows at k and k + 1 are two masked <VL x i16> loads
 * interleaved by a shufflevector into VL pairs; where each row is contiguous along k (A
 * when not ta, B when tb), a pair is one 32-bit load, VL x VL squares of pairs transposed
 * on i32 as above, the tail of pairs (and the pad) element by element. The fp32 path packs
 * as f32 does, loading <VL x i16> and widening before the transpose or store.
 *
 * Block sizes (f32 / f64; VL = lanes of a 512- or 256-bit vector):
 *     AVX-512: MR 14, NR 32 / 16 (2 vectors), 28 accumulators of 32 zmm.
 *     AVX2:    MR  6, NR 16 /  8 (2 vectors), 12 accumulators of 16 ymm.
 *     KC 256 (f32, and bf16 on the fp32 path) / 128 (f64) / 512 (bf16_dot: 2-byte panels,
 *     so an A and a B micro-panel are the same bytes as f32's at 256). NC: the columns in blocks of at most 512, as even as NR
 *     allows. MC: the rows in blocks of at most 32 MR, as even as MR allows, their count
 *     chosen by a cost model (plan_score: packing amortised over big tasks against the
 *     pool's static split over 1 and 2 threads, this project's target; more cores would
 *     want more, smaller tasks). Ap, Bp and the tile are stack allocas of MA*KC + KC*NC
 *     packed elements (the dtype's, or bf16 on the bf16_dot path) and MR*NR of the dtype
 *     (< 700 KiB, CcMatmulPlan.stack_bytes); the kernel calls nothing, allocates
 *     nothing on the heap, and needs that much stack in whatever thread runs it.
 *
 * FMA: explicit llvm.fma calls (or vdpbf16ps), no fast-math and no contraction flags;
 * functions carry prefer-vector-width / min-legal-vector-width = 512 with AVX-512 so the
 * backend keeps zmm registers. The module declares only LLVM intrinsics.
 *
 * cc_codegen_matmul_cached builds the same module under the fixed name "llmc_mm" and hands
 * it to the object cache (compiler/objcache.c), which keys and names it.
 *
 * Epilogue (cc_codegen_matmul_kernel: a MATMUL kernel of cc_fuse, the matmul plus the
 * same-shape elementwise chain that consumes it). The K-sums are accumulated, exactly as
 * above, into the buffer of the kernel's root (which has the matmul's shape and dtype),
 * or when the root is a cast to bf16 into the first kernel output that has them (C).
 * When a task has run its last KC block — so each element's sum is complete — one pass
 * over the task's block applies the epilogue to each element exactly once, in place:
 * C's element is read as the matmul's value, every kernel output is computed (per
 * node emission of compiler/codegen_emit.c: same-shape inputs at the output index,
 * rank-0 inputs splatted, splat constants as literals, a broadcast of a [N] bias or any
 * other non-scalar input through its index arithmetic) and then stored. The pass runs
 * VL elements at a time along each row and one at a time for the row's last nc % VL;
 * which path an element takes depends only on its column within the task's block, and
 * both paths compute the same IEEE operations, so splits still give the same bytes.
 *
 * Operands behind movement chains (a MATMUL kernel that absorbed reshape / permute /
 * broadcast members under the matmul's x or y): the packing loops compute the logical
 * operand's flat index as above and map it down the chain to the source input's index
 * (cc_cg_chain_index, the elementwise loads' arithmetic), one scalar load per element; the
 * packed layout, the microkernel and the K order are unchanged, so the bytes are those of
 * the same matmul on the materialised operand.
 *
 * Movement trees (mv_value): an operand or an epilogue member that is a tree of reshape,
 * permute, broadcast, slice and concat members over kernel inputs and splat constants
 * (the MoE combine's add(matmul, slice(scatter_add result)) cutting the dropped-slot row;
 * a concat of two inputs) is read element by element at its flat index: reshape /
 * permute / broadcast as cc_cg_chain_index, slice as start + c * step per axis, concat by
 * clamped loads of every operand and a select (codegen_movement.c's arithmetic), so the
 * values are bit for bit those of the materialised tree. In the pack that replaces the
 * one load; in the epilogue each tree's value is computed before the body (one scalar
 * read per lane in the vector body) and found memoized by cc_cg_value. A movement over a
 * node computed in the kernel (the matmul, an elementwise member) is "not supported yet".
 *
 * Deliberately not here: threading, other dtypes than f32/f64 and bf16 operands into f32
 * (a bf16 result is a cast after the matmul, in the epilogue; AMX's tdpbf16ps), the cache
 * itself, prefetch hints and a hand-scheduled inner loop (the backend's schedule of the
 * k loop is already FMA-bound: 28 fma, 2 loads, 14 broadcasts per k), reading B in place
 * without packing.
 */
#include "compiler_int.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>

#include <stdlib.h>
#include <string.h>

#define MAX_ACC 32 /* MR * NV */

/* --- the plan -------------------------------------------------------------------------- */

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* Block-size rules (the banner): a packed A block is at most MA_PANELS micro-panels; a
 * task has at most MT_PANELS micro-panels of rows and NC_MAX columns; PACK_COST is what
 * packing one element costs, in multiply-adds (task_cost). */
enum { MA_PANELS = 8, MT_PANELS = 32, NC_MAX = 512, PACK_COST = 16 };

/* task_cost: one task's cost in multiply-adds per k: it computes whole micro-tiles, packs
 * its B block once and each of its rows of A once per k.
 * plan_score: the makespan of all tasks under the pool's static split (rt_pool_run:
 * contiguous chunks of [0, tasks)) on 1 and 2 threads, each times its thread count. The
 * plan's rows per task minimise it: big tasks pack B over more rows, small ones split
 * evenly. Only speed depends on it, never the bytes. */
static double task_cost(const CcMatmulPlan *p, int64_t mc, int64_t nc, int64_t mb, int64_t nb) {
    int64_t rows = p->M - mb * mc < mc ? p->M - mb * mc : mc, cols = p->N - nb * nc < nc ? p->N - nb * nc : nc;
    double r = (double)(ceil_div(rows, p->mr) * p->mr), c = (double)(ceil_div(cols, p->nr) * p->nr);
    return r * c + PACK_COST * (r + c);
}

static double plan_score(const CcMatmulPlan *p, int64_t mc, int64_t m_blocks) {
    int64_t per = m_blocks * p->n_blocks, T = p->batches * per;
    double score = 0;
    for (int64_t P = 1; P <= 2; P *= 2) {
        int64_t C = T < P ? T : P;
        double worst = 0;
        for (int64_t i = 0; i < C; i++) {
            double sum = 0;
            for (int64_t t = i * T / C; t < (i + 1) * T / C; t++)
                sum += task_cost(p, mc, p->nc, (t % per) / p->n_blocks, t % p->n_blocks);
            worst = sum > worst ? sum : worst;
        }
        score += (double)P * worst;
    }
    return score;
}

/* Rows of a packed A block: at most MA_PANELS micro-panels, and not above a task's rows. */
static int64_t a_block_rows(const CcMatmulPlan *p) {
    int64_t ma = MA_PANELS * p->mr;
    return p->mc < ma ? p->mc : ma;
}

bool cc_matmul_plan(const CcJit *jit, const IrGraph *g, IrId node, CcMatmulPlan *p, LlmcErr *err) {
    memset(p, 0, sizeof *p);
    if (node >= g->n_nodes || ir_graph_node(g, node)->op != IR_OP_MATMUL) {
        llmc_err_set(err, "matmul kernel: %%%u is not a matmul node", node);
        return false;
    }
    const IrNode *n = ir_graph_node(g, node);
    const IrType *tx = &ir_graph_node(g, n->operands[0])->type;
    const IrType *ty = &ir_graph_node(g, n->operands[1])->type;
    const IrType *to = &n->type;
    if (to->dtype != IR_DTYPE_F32 && to->dtype != IR_DTYPE_F64) {
        llmc_err_set(err, "matmul kernel: %%%u has dtype %s; only f32 and f64 are generated", node,
                     ir_dtype_name(to->dtype));
        return false;
    }
    bool bf16 = tx->dtype == IR_DTYPE_BF16 && to->dtype == IR_DTYPE_F32;
    if (ty->dtype != tx->dtype || (tx->dtype != to->dtype && !bf16)) {
        llmc_err_set(err, "matmul kernel: %%%u reads %s x %s into %s; not generated", node, ir_dtype_name(tx->dtype),
                     ir_dtype_name(ty->dtype), ir_dtype_name(to->dtype));
        return false;
    }
    p->dtype = to->dtype;
    p->in_dtype = tx->dtype;
    p->bf16_dot = bf16 && cc_jit_has_avx512bf16(jit);
    p->ta = n->attrs.matmul.ta;
    p->tb = n->attrs.matmul.tb;
    p->M = to->dims[to->rank - 2];
    p->N = to->dims[to->rank - 1];
    p->K = tx->dims[tx->rank - (p->ta ? 2 : 1)];
    p->batches = p->M * p->N > 0 ? ir_type_numel(to) / (p->M * p->N) : 0;
    for (uint32_t i = 0; i + 2 < to->rank; i++)
        if (to->dims[i] == 0) p->batches = 0;
    p->a_shared = tx->rank == 2;
    p->b_shared = ty->rank == 2;
    if (p->b_shared && !p->a_shared && !p->ta && p->batches > 1) {
        /* x [.., M, K] times a shared weight: the batches are just more rows of one
         * matmul ([B*M, K] row-major is the same bytes), so small per-batch M (4 x 64
         * tokens) still fills whole row blocks. Element sums are unchanged. */
        p->M *= p->batches;
        p->batches = 1;
    }
    bool f32 = p->dtype == IR_DTYPE_F32, avx512 = cc_jit_has_avx512(jit);
    int64_t vl = (avx512 ? 64 : 32) / (f32 ? 4 : 8);
    p->vl = vl;
    p->mr = avx512 ? 14 : 6;
    p->nr = 2 * vl;
    p->kc = p->bf16_dot ? 512 : f32 ? 256 : 128; /* even on the bf16_dot path: whole k-pairs */
    /* Columns: blocks of at most NC_MAX, as even as NR allows (N 768 -> 2 x 384). */
    int64_t n_r = ceil_div(p->N > 0 ? p->N : 1, p->nr);
    int64_t nb = ceil_div(n_r * p->nr, NC_MAX);
    p->nc = ceil_div(n_r, nb) * p->nr;
    p->n_blocks = ceil_div(p->N, p->nc);
    /* Rows: blocks of at most MT_PANELS micro-panels, as even as MR allows, their count
     * chosen by plan_score among the next few (M 2048 -> 5 x 420). */
    int64_t m_r = ceil_div(p->M > 0 ? p->M : 1, p->mr), best = -1;
    double best_score = 0;
    for (int64_t mb = ceil_div(m_r, MT_PANELS); mb <= m_r && mb <= 8 * ceil_div(m_r, MT_PANELS); mb++) {
        int64_t mc = ceil_div(m_r, mb) * p->mr;
        if (mb > 1 && ceil_div(m_r, mb) == ceil_div(m_r, mb - 1)) continue; /* the same blocks */
        double sc = p->batches > 0 ? plan_score(p, mc, ceil_div(p->M, mc)) : 0;
        if (best < 0 || sc < best_score * (1 - 1e-9)) best = mc, best_score = sc;
    }
    p->mc = best;
    p->m_blocks = ceil_div(p->M, p->mc);
    p->tasks = p->batches * p->m_blocks * p->n_blocks;
    /* Ap and Bp hold bf16 (2 bytes) on the bf16_dot path, the dtype otherwise; the tile the dtype */
    int64_t packed = p->bf16_dot ? 2 : f32 ? 4 : 8;
    p->stack_bytes = (a_block_rows(p) * p->kc + p->kc * p->nc) * packed + p->mr * p->nr * (f32 ? 4 : 8);
    LLMC_ASSERT(p->mr * 2 <= MAX_ACC && p->nc % p->nr == 0 && p->mc % p->mr == 0);
    return true;
}

/* --- emission helpers ------------------------------------------------------------------ */

typedef struct Mm {
    const CcMatmulPlan *p;
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMBuilderRef b;
    LLVMTypeRef i64, i1, ptr, elt, vec; /* elt, vec: the dtype's (C, the tile, the microkernel) */
    LLVMTypeRef src;  /* an operand's element: elt, or i16 (the bits of a bf16) */
    LLVMTypeRef pk;   /* a packed panel's element: elt, or i16 on the bf16_dot path */
    LLVMValueRef fn; /* the function being built */
    bool avx512;
    bool widen;       /* bf16 operands packed as f32 (the fp32 path) */
} Mm;

/* A MATMUL kernel's epilogue binding (cc_codegen_matmul_kernel); NULL for one bare node. */
typedef struct Epi {
    const IrGraph *g;
    const CcKernel *k;
    IrId mm;        /* the matmul member */
    uint32_t slot_x, slot_y, slot_c; /* bufs[] of its operands' sources and of the root (C) */
    IrId top[2], src[2]; /* operand x / y and the kernel input under its movement chain
                            (reshape, permute, broadcast members); top == src: read directly */
    bool tree[2];   /* operand j is a movement tree with slice / concat members or several
                       sources: read element by element through mv_value (slot UINT32_MAX) */
    uint8_t *role;  /* [g->n_nodes] CcRole */
    IrId *alias;    /* [g->n_nodes] */
    IrId *moves;    /* [n_moves] epilogue members that are movement trees over inputs other
                       than epi_bcast's one broadcast (slice, concat, reshape, permute, chains):
                       their values are computed by mv_value before each epilogue body */
    uint32_t n_moves;
} Epi;

/* Reading a movement tree (reshape, permute, broadcast, slice, concat members over kernel
 * inputs and splat constants) at one flat index, for the pack and the epilogue. */
typedef struct MvRead {
    const CcEmit *ce;  /* ctx, b, g: what cc_cg_chain_index and cc_cg_elem_type need */
    const CcKernel *k;
    LLVMValueRef *ptr; /* [g->n_nodes] the kernel inputs' element pointers */
} MvRead;

/* A counted loop for (i = lo; i < hi; i++): loop_begin leaves the builder in the body,
 * loop_end closes it from wherever the body ended and leaves the builder after it. */
typedef struct Loop {
    LLVMBasicBlockRef head, exit;
    LLVMValueRef i;
} Loop;

static LLVMValueRef ci(const Mm *e, int64_t v) { return LLVMConstInt(e->i64, (unsigned long long)v, 1); }

static Loop loop_begin(Mm *e, LLVMValueRef lo, LLVMValueRef hi, const char *name) {
    Loop l;
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(e->b);
    l.head = LLVMAppendBasicBlockInContext(e->ctx, e->fn, name);
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "body");
    l.exit = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "done");
    LLVMBuildBr(e->b, l.head);
    LLVMPositionBuilderAtEnd(e->b, l.head);
    l.i = LLVMBuildPhi(e->b, e->i64, name);
    LLVMAddIncoming(l.i, &lo, &pre, 1);
    LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, l.i, hi, ""), body, l.exit);
    LLVMPositionBuilderAtEnd(e->b, body);
    return l;
}

static void loop_end(Mm *e, const Loop *l) {
    LLVMValueRef next = LLVMBuildAdd(e->b, l->i, ci(e, 1), "");
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(e->b);
    LLVMBuildBr(e->b, l->head);
    LLVMAddIncoming(l->i, &next, &latch, 1);
    LLVMPositionBuilderAtEnd(e->b, l->exit);
}

static LLVMValueRef smin(const Mm *e, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, a, b, ""), a, b, "");
}

static LLVMValueRef at(const Mm *e, LLVMValueRef base, LLVMValueRef idx) {
    return LLVMBuildGEP2(e->b, e->elt, base, &idx, 1, "");
}

/* base + idx elements of type t */
static LLVMValueRef at_t(const Mm *e, LLVMTypeRef t, LLVMValueRef base, LLVMValueRef idx) {
    return LLVMBuildGEP2(e->b, t, base, &idx, 1, "");
}

/* The bytes of a scalar of type t (float, double, i16, i32): the alignment of its loads. */
static unsigned scalar_bytes(LLVMTypeRef t) {
    LLVMTypeKind k = LLVMGetTypeKind(t);
    if (k == LLVMFloatTypeKind) return 4;
    if (k == LLVMDoubleTypeKind) return 8;
    LLMC_ASSERT(k == LLVMIntegerTypeKind);
    return LLVMGetIntTypeWidth(t) / 8;
}

static LLVMValueRef load_t(const Mm *e, LLVMTypeRef t, LLVMValueRef base, LLVMValueRef idx) {
    LLVMValueRef v = LLVMBuildLoad2(e->b, t, at_t(e, t, base, idx), "");
    LLVMSetAlignment(v, scalar_bytes(t));
    return v;
}

/* <n x T> of the scalar x (T) */
static LLVMValueRef splat_n(const Mm *e, LLVMValueRef x, unsigned n) {
    LLVMTypeRef i32 = LLVMInt32TypeInContext(e->ctx), vt = LLVMVectorType(LLVMTypeOf(x), n);
    LLVMValueRef one = LLVMBuildInsertElement(e->b, LLVMGetPoison(vt), x, LLVMConstInt(i32, 0, 0), "");
    return LLVMBuildShuffleVector(e->b, one, LLVMGetPoison(vt), LLVMConstNull(LLVMVectorType(i32, n)), "");
}

/* bf16 bits (i16 or <n x i16>) -> f32 (float or <n x float>): bits << 16, exact (the pack
 * of the fp32 path). Unlike codegen_emit.c's cast, a signalling nan is not quieted: the
 * fma makes any nan operand a quiet nan result either way. */
static LLVMValueRef widen_bf16(const Mm *e, LLVMValueRef x) {
    LLVMTypeRef t = LLVMTypeOf(x), i32 = LLVMInt32TypeInContext(e->ctx);
    bool vec = LLVMGetTypeKind(t) == LLVMVectorTypeKind;
    unsigned n = vec ? LLVMGetVectorSize(t) : 0;
    LLVMValueRef sh = LLVMConstInt(i32, 16, 0);
    if (vec) {
        LLVMValueRef lanes[64];
        for (unsigned l = 0; l < n; l++) lanes[l] = sh;
        sh = LLVMConstVector(lanes, n);
    }
    LLVMValueRef u = LLVMBuildZExt(e->b, x, vec ? LLVMVectorType(i32, n) : i32, "");
    return LLVMBuildBitCast(e->b, LLVMBuildShl(e->b, u, sh, ""), vec ? LLVMVectorType(e->elt, n) : e->elt, "");
}

/* The k extent of a packed block: kc, rounded up to whole pairs on the bf16_dot path
 * (the odd K's last pair holds a zero). */
static LLVMValueRef kc_packed(const Mm *e, LLVMValueRef kc) {
    if (!e->p->bf16_dot) return kc;
    return LLVMBuildAnd(e->b, LLVMBuildAdd(e->b, kc, ci(e, 1), ""), ci(e, -2), "kcp");
}

static LLVMValueRef load_elt(const Mm *e, LLVMValueRef base, LLVMValueRef idx) {
    LLVMValueRef v = LLVMBuildLoad2(e->b, e->elt, at(e, base, idx), "");
    LLVMSetAlignment(v, (unsigned)ir_dtype_size(e->p->dtype));
    return v;
}

static void store_elt(const Mm *e, LLVMValueRef v, LLVMValueRef base, LLVMValueRef idx) {
    LLVMSetAlignment(LLVMBuildStore(e->b, v, at(e, base, idx)), (unsigned)ir_dtype_size(e->p->dtype));
}

static bool mv_member(const CcKernel *k, IrId id) {
    for (uint32_t i = 0; i < k->n_nodes; i++)
        if (k->nodes[i] == id) return true;
    return false;
}

static bool mv_is_input(const CcKernel *k, IrId id) {
    for (uint32_t i = 0; i < k->n_inputs; i++)
        if (k->inputs[i] == id) return true;
    return false;
}

static bool mv_tree_member(const void *ctx, IrId id) { return mv_member(((const MvRead *)ctx)->k, id); }

/* A leaf of a tree: a kernel input is loaded, a splat constant is its literal. */
static LLVMValueRef mv_tree_leaf(const void *ctx, IrId id, LLVMValueRef i) {
    const MvRead *r = ctx;
    const CcEmit *ce = r->ce;
    const IrNode *n = ir_graph_node(ce->g, id);
    if (!mv_is_input(r->k, id)) return cc_cg_splat_literal(ce, n, false); /* epi_tree admits splats */
    IrDtype dt = n->type.dtype;
    LLVMTypeRef et = cc_cg_elem_type(ce, dt);
    LLVMValueRef v = LLVMBuildLoad2(ce->b, et, LLVMBuildGEP2(ce->b, et, r->ptr[id], &i, 1, ""), "");
    LLVMSetAlignment(v, (unsigned)ir_dtype_size(dt));
    return v;
}

/* The element (a scalar of id's dtype) of tree node id at flat index i (i64, inside id's
 * shape), through reshape, permute, broadcast, slice and concat members down to inputs
 * and splat constants (cc_cg_move_value: codegen_movement.c's arithmetic, so values pass
 * through bit for bit). */
static LLVMValueRef mv_value(const MvRead *r, IrId id, LLVMValueRef i) {
    CcMoveTree t = {r->ce, mv_tree_member, mv_tree_leaf, r};
    return cc_cg_move_value(&t, id, i);
}

static void add_fn_attrs(const Mm *e, LLVMValueRef fn) {
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                            LLVMCreateEnumAttribute(e->ctx, LLVMGetEnumAttributeKindForName("nounwind", 8), 0));
    if (e->avx512) {
        static const char *const kv[2][2] = {{"prefer-vector-width", "512"}, {"min-legal-vector-width", "512"}};
        for (int i = 0; i < 2; i++)
            LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                                    LLVMCreateStringAttribute(e->ctx, kv[i][0], (unsigned)strlen(kv[i][0]), kv[i][1],
                                                              (unsigned)strlen(kv[i][1])));
    }
}

/* --- the microkernel --------------------------------------------------------------------- */

/* One k-pair step of the bf16_dot microkernel (ap [kc/2][MR] and bp [kc/2][NR] of pairs,
 * k the pair): NV loads of B pairs, MR broadcasts of an A pair (one i32), MR*NV vdpbf16ps,
 * each adding the odd k's product, then the even k's (Intel SDM). The intrinsic's operand
 * types are taken from LLVM (<32 x bfloat> in LLVM 19; <16 x i32> before LLVM 18). */
static void micro_dot_step(Mm *e, LLVMValueRef ap, LLVMValueRef bp, LLVMValueRef k, const LLVMValueRef *acc,
                           LLVMValueRef *next) {
    const CcMatmulPlan *p = e->p;
    unsigned MR = (unsigned)p->mr, NV = (unsigned)(p->nr / p->vl), VL = (unsigned)p->vl;
    static const char name[] = "llvm.x86.avx512bf16.dpbf16ps.512";
    unsigned id = LLVMLookupIntrinsicID(name, sizeof name - 1);
    LLMC_ASSERT(id != 0 && VL == 16);
    LLVMValueRef dp = LLVMGetIntrinsicDeclaration(e->mod, id, NULL, 0);
    LLVMTypeRef dp_ty = LLVMIntrinsicGetType(e->ctx, id, NULL, 0), args_ty[3];
    LLMC_ASSERT(LLVMCountParamTypes(dp_ty) == 3);
    LLVMGetParamTypes(dp_ty, args_ty);
    LLVMTypeRef i32 = LLVMInt32TypeInContext(e->ctx), pairs = LLVMVectorType(i32, VL);
    LLVMValueRef brow = LLVMBuildMul(e->b, k, ci(e, p->nr), "");
    LLVMValueRef arow = LLVMBuildMul(e->b, k, ci(e, MR), "");
    LLVMValueRef bv[MAX_ACC];
    for (unsigned v = 0; v < NV; v++) {
        LLVMValueRef x = LLVMBuildLoad2(e->b, pairs, at_t(e, i32, bp, LLVMBuildAdd(e->b, brow, ci(e, v * VL), "")), "b");
        LLVMSetAlignment(x, VL * 4);
        bv[v] = LLVMBuildBitCast(e->b, x, args_ty[2], "");
    }
    for (unsigned i = 0; i < MR; i++) {
        LLVMValueRef a = load_t(e, i32, ap, LLVMBuildAdd(e->b, arow, ci(e, i), ""));
        LLVMValueRef splat = LLVMBuildBitCast(e->b, splat_n(e, a, VL), args_ty[1], "a");
        for (unsigned v = 0; v < NV; v++) {
            LLVMValueRef args[3] = {acc[i * NV + v], splat, bv[v]};
            next[i * NV + v] = LLVMBuildCall2(e->b, dp_ty, dp, args, 3, "");
        }
    }
}

/* internal void micro(ptr ap [kc][MR], ptr bp [kc][NR], i64 kc, ptr c, i64 ldc, i1 first):
 *   acc = first ? 0 : c[0..MR, 0..NR);  for k < kc: acc[i][:] = fma(ap[k][i], bp[k][:], acc[i][:]);
 *   c[0..MR, 0..NR) = acc.   c rows are ldc elements apart.
 * On the bf16_dot path kc counts k-pairs and each step is micro_dot_step. */
static LLVMValueRef build_micro(Mm *e, const char *name) {
    const CcMatmulPlan *p = e->p;
    unsigned MR = (unsigned)p->mr, NV = (unsigned)(p->nr / p->vl), VL = (unsigned)p->vl;
    unsigned vec_align = VL * (unsigned)ir_dtype_size(p->dtype);
    LLVMTypeRef params[6] = {e->ptr, e->ptr, e->i64, e->ptr, e->i64, e->i1};
    LLVMTypeRef fty = LLVMFunctionType(LLVMVoidTypeInContext(e->ctx), params, 6, 0);
    LLVMValueRef fn = LLVMAddFunction(e->mod, name, fty);
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    add_fn_attrs(e, fn);
    LLVMValueRef outer_fn = e->fn;
    e->fn = fn;
    LLVMValueRef ap = LLVMGetParam(fn, 0), bp = LLVMGetParam(fn, 1), kc = LLVMGetParam(fn, 2);
    LLVMValueRef c = LLVMGetParam(fn, 3), ldc = LLVMGetParam(fn, 4), first = LLVMGetParam(fn, 5);
    LLVMSetValueName2(ap, "ap", 2);
    LLVMSetValueName2(bp, "bp", 2);
    LLVMSetValueName2(kc, "kc", 2);
    LLVMSetValueName2(c, "c", 1);
    LLVMSetValueName2(ldc, "ldc", 3);
    LLVMSetValueName2(first, "first", 5);

    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(e->ctx, fn, "entry");
    LLVMBasicBlockRef load = LLVMAppendBasicBlockInContext(e->ctx, fn, "load.c");
    LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(e->ctx, fn, "k.head");
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(e->ctx, fn, "k.body");
    LLVMBasicBlockRef exit = LLVMAppendBasicBlockInContext(e->ctx, fn, "store.c");

    LLVMPositionBuilderAtEnd(e->b, entry);
    LLVMBuildCondBr(e->b, first, head, load);

    LLVMValueRef init[MAX_ACC], acc[MAX_ACC], next[MAX_ACC];
    LLVMPositionBuilderAtEnd(e->b, load);
    for (unsigned i = 0; i < MR; i++) {
        LLVMValueRef row = LLVMBuildMul(e->b, ci(e, i), ldc, "");
        for (unsigned v = 0; v < NV; v++) {
            LLVMValueRef cp = at(e, c, LLVMBuildAdd(e->b, row, ci(e, v * VL), ""));
            init[i * NV + v] = LLVMBuildLoad2(e->b, e->vec, cp, "");
            LLVMSetAlignment(init[i * NV + v], (unsigned)ir_dtype_size(p->dtype));
        }
    }
    LLVMBuildBr(e->b, head);

    LLVMPositionBuilderAtEnd(e->b, head);
    LLVMValueRef k = LLVMBuildPhi(e->b, e->i64, "k");
    LLVMValueRef zero = LLVMConstNull(e->vec);
    for (unsigned a = 0; a < MR * NV; a++) {
        acc[a] = LLVMBuildPhi(e->b, e->vec, "acc");
        LLVMValueRef in[2] = {zero, init[a]};
        LLVMBasicBlockRef from[2] = {entry, load};
        LLVMAddIncoming(acc[a], in, from, 2);
    }
    LLVMValueRef k0 = ci(e, 0);
    LLVMBasicBlockRef from2[2] = {entry, load};
    LLVMValueRef in2[2] = {k0, k0};
    LLVMAddIncoming(k, in2, from2, 2);
    LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, k, kc, ""), body, exit);

    LLVMPositionBuilderAtEnd(e->b, body);
    if (p->bf16_dot) {
        micro_dot_step(e, ap, bp, k, acc, next);
    } else {
        unsigned fma_id = LLVMLookupIntrinsicID("llvm.fma", 8);
        LLVMValueRef fma = LLVMGetIntrinsicDeclaration(e->mod, fma_id, &e->vec, 1);
        LLVMTypeRef fma_ty = LLVMIntrinsicGetType(e->ctx, fma_id, &e->vec, 1);
        LLVMValueRef brow = LLVMBuildMul(e->b, k, ci(e, p->nr), "");
        LLVMValueRef arow = LLVMBuildMul(e->b, k, ci(e, MR), "");
        LLVMValueRef bv[MAX_ACC];
        for (unsigned v = 0; v < NV; v++) {
            bv[v] = LLVMBuildLoad2(e->b, e->vec, at(e, bp, LLVMBuildAdd(e->b, brow, ci(e, v * VL), "")), "b");
            LLVMSetAlignment(bv[v], vec_align);
        }
        LLVMTypeRef i32 = LLVMInt32TypeInContext(e->ctx);
        LLVMValueRef mask = LLVMConstNull(LLVMVectorType(i32, VL));
        for (unsigned i = 0; i < MR; i++) {
            LLVMValueRef a = load_elt(e, ap, LLVMBuildAdd(e->b, arow, ci(e, i), ""));
            LLVMValueRef one = LLVMBuildInsertElement(e->b, LLVMGetPoison(e->vec), a, LLVMConstInt(i32, 0, 0), "");
            LLVMValueRef splat = LLVMBuildShuffleVector(e->b, one, LLVMGetPoison(e->vec), mask, "a");
            for (unsigned v = 0; v < NV; v++) {
                LLVMValueRef args[3] = {splat, bv[v], acc[i * NV + v]};
                next[i * NV + v] = LLVMBuildCall2(e->b, fma_ty, fma, args, 3, "");
            }
        }
    }
    LLVMValueRef kn = LLVMBuildAdd(e->b, k, ci(e, 1), "");
    LLVMBuildBr(e->b, head);
    LLVMAddIncoming(k, &kn, &body, 1);
    for (unsigned a = 0; a < MR * NV; a++) LLVMAddIncoming(acc[a], &next[a], &body, 1);

    LLVMPositionBuilderAtEnd(e->b, exit);
    for (unsigned i = 0; i < MR; i++) {
        LLVMValueRef row = LLVMBuildMul(e->b, ci(e, i), ldc, "");
        for (unsigned v = 0; v < NV; v++) {
            LLVMValueRef st = LLVMBuildStore(e->b, acc[i * NV + v], at(e, c, LLVMBuildAdd(e->b, row, ci(e, v * VL), "")));
            LLVMSetAlignment(st, (unsigned)ir_dtype_size(p->dtype));
        }
    }
    LLVMBuildRetVoid(e->b);
    e->fn = outer_fn;
    return fn;
}

/* --- packing ------------------------------------------------------------------------------ */

/* A packed operand read through a movement chain: the logical operand's flat index
 * (boff + g * s_r + (pc + k) * s_k) is mapped down the chain top..src to src's index. */
typedef struct PackChain {
    const CcEmit *mv; /* ctx, b, g for cc_cg_chain_index */
    IrId top, src;
    LLVMValueRef boff; /* the batch's offset in the logical operand */
    const MvRead *tree; /* not NULL: top is a movement tree, read by mv_value (src unused) */
} PackChain;

/* The element-at-a-time pack of k in [k_lo, kc): any strides, any movement chain. On the
 * bf16_dot path k runs on to kc rounded up to a whole pair (the pad of an odd kc is 0) and
 * element (r, k) lands in half k % 2 of pair (k / 2, r). */
static void emit_pack_scalar(Mm *e, LLVMValueRef dst, LLVMValueRef src, LLVMValueRef n_panels, int64_t R,
                             LLVMValueRef g0, int64_t limit, int64_t s_r, int64_t s_k, LLVMValueRef pc,
                             LLVMValueRef k_lo, LLVMValueRef kc, const PackChain *ch) {
    bool pairs = e->p->bf16_dot, r_outer = s_k == 1;
    LLVMValueRef kcp = kc_packed(e, kc);
    Loop lp = loop_begin(e, ci(e, 0), n_panels, "pack.panel");
    Loop lo = loop_begin(e, r_outer ? ci(e, 0) : k_lo, r_outer ? ci(e, R) : kcp, "pack.outer");
    Loop li = loop_begin(e, r_outer ? k_lo : ci(e, 0), r_outer ? kcp : ci(e, R), "pack.inner");
    LLVMValueRef r = r_outer ? lo.i : li.i, k = r_outer ? li.i : lo.i;
    LLVMValueRef gi = LLVMBuildAdd(e->b, g0, LLVMBuildAdd(e->b, LLVMBuildMul(e->b, lp.i, ci(e, R), ""), r, ""), "");
    LLVMValueRef valid = LLVMBuildICmp(e->b, LLVMIntSLT, gi, ci(e, limit), "");
    LLVMValueRef gc = LLVMBuildSelect(e->b, valid, gi, ci(e, limit - 1), "");
    LLVMValueRef kk = k;
    if (pairs) { /* the pad reads k = kc - 1, in bounds, and stores 0 */
        LLVMValueRef in = LLVMBuildICmp(e->b, LLVMIntSLT, k, kc, "");
        kk = LLVMBuildSelect(e->b, in, k, LLVMBuildSub(e->b, kc, ci(e, 1), ""), "");
        valid = LLVMBuildAnd(e->b, valid, in, "");
    }
    LLVMValueRef sidx = LLVMBuildAdd(e->b, LLVMBuildMul(e->b, gc, ci(e, s_r), ""),
                                     LLVMBuildMul(e->b, LLVMBuildAdd(e->b, pc, kk, ""), ci(e, s_k), ""), "");
    LLVMValueRef x;
    if (ch && ch->tree) {
        x = mv_value(ch->tree, ch->top, LLVMBuildAdd(e->b, ch->boff, sidx, ""));
    } else {
        if (ch) sidx = cc_cg_chain_index(ch->mv, ch->top, ch->src, LLVMBuildAdd(e->b, ch->boff, sidx, ""));
        x = load_t(e, e->src, src, sidx);
    }
    if (e->widen) x = widen_bf16(e, x);
    LLVMValueRef v = LLVMBuildSelect(e->b, valid, x, LLVMConstNull(e->pk), "");
    LLVMValueRef didx;
    if (pairs) /* pair (k / 2, r) of the panel, half k % 2 */
        didx = LLVMBuildAdd(
            e->b, LLVMBuildMul(e->b, lp.i, LLVMBuildMul(e->b, kcp, ci(e, R), ""), ""),
            LLVMBuildAdd(e->b, LLVMBuildMul(e->b, LLVMBuildAShr(e->b, k, ci(e, 1), ""), ci(e, 2 * R), ""),
                         LLVMBuildAdd(e->b, LLVMBuildMul(e->b, r, ci(e, 2), ""), LLVMBuildAnd(e->b, k, ci(e, 1), ""), ""),
                         ""),
            "");
    else
        didx = LLVMBuildAdd(
            e->b, LLVMBuildMul(e->b, lp.i, LLVMBuildMul(e->b, kc, ci(e, R), ""), ""),
            LLVMBuildAdd(e->b, LLVMBuildMul(e->b, k, ci(e, R), ""), r, ""), "");
    LLVMSetAlignment(LLVMBuildStore(e->b, v, at_t(e, e->pk, dst, didx)), scalar_bytes(e->pk));
    loop_end(e, &li);
    loop_end(e, &lo);
    loop_end(e, &lp);
}

/* <VL x i1>: lane l is (l + off < n), n an i64. */
static LLVMValueRef lane_mask(Mm *e, int64_t off, LLVMValueRef n) {
    unsigned VL = (unsigned)e->p->vl;
    LLVMValueRef lanes[64];
    for (unsigned l = 0; l < VL; l++) lanes[l] = ci(e, (int64_t)l + off);
    LLVMTypeRef vi = LLVMVectorType(e->i64, VL);
    LLVMValueRef one = LLVMBuildInsertElement(e->b, LLVMGetPoison(vi), n, LLVMConstInt(LLVMInt32TypeInContext(e->ctx), 0, 0), "");
    LLVMValueRef splat = LLVMBuildShuffleVector(e->b, one, LLVMGetPoison(vi),
                                                LLVMConstNull(LLVMVectorType(LLVMInt32TypeInContext(e->ctx), VL)), "");
    return LLVMBuildICmp(e->b, LLVMIntSLT, LLVMConstVector(lanes, VL), splat, "");
}

/* A vector of type vt at ptr (align bytes), lanes off in mask read as 0. */
static LLVMValueRef masked_load_t(Mm *e, LLVMTypeRef vt, LLVMValueRef ptr, LLVMValueRef mask, unsigned align) {
    unsigned id = LLVMLookupIntrinsicID("llvm.masked.load", 16);
    LLVMTypeRef tys[2] = {vt, e->ptr};
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(e->mod, id, tys, 2);
    LLVMValueRef args[4] = {ptr, LLVMConstInt(LLVMInt32TypeInContext(e->ctx), align, 0), mask, LLVMConstNull(vt)};
    return LLVMBuildCall2(e->b, LLVMIntrinsicGetType(e->ctx, id, tys, 2), fn, args, 4, "");
}

static LLVMValueRef masked_load(Mm *e, LLVMValueRef ptr, LLVMValueRef mask) {
    return masked_load_t(e, e->vec, ptr, mask, (unsigned)ir_dtype_size(e->p->dtype));
}

/* VL operand elements at ptr as a <VL x elt> (lanes off in mask read as 0): one masked
 * load, of the bf16 bits widened to f32 on the fp32 path. */
static LLVMValueRef load_operand_vec(Mm *e, LLVMValueRef ptr, LLVMValueRef mask) {
    if (!e->widen) return masked_load(e, ptr, mask);
    return widen_bf16(e, masked_load_t(e, LLVMVectorType(e->src, (unsigned)e->p->vl), ptr, mask, 2));
}

/* Stores lanes [0, n) of v (VL lanes of 32 or 64 bits) at ptr (n a constant, at most VL). */
static void store_lanes(Mm *e, LLVMValueRef v, LLVMValueRef ptr, int64_t n) {
    LLVMTypeRef vt = LLVMTypeOf(v);
    unsigned align = scalar_bytes(LLVMGetElementType(vt));
    if (n >= e->p->vl) {
        LLVMSetAlignment(LLVMBuildStore(e->b, v, ptr), align);
        return;
    }
    unsigned id = LLVMLookupIntrinsicID("llvm.masked.store", 17);
    LLVMTypeRef tys[2] = {vt, e->ptr};
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(e->mod, id, tys, 2);
    LLVMValueRef args[4] = {v, ptr, LLVMConstInt(LLVMInt32TypeInContext(e->ctx), align, 0), lane_mask(e, 0, ci(e, n))};
    LLVMBuildCall2(e->b, LLVMIntrinsicGetType(e->ctx, id, tys, 2), fn, args, 4, "");
}

/* The pack when the R rows of a panel are contiguous (s_r = 1): per k, ceil(R / VL)
 * masked vector loads (lanes past `limit` read as 0) and stores. */
static void emit_pack_rows(Mm *e, LLVMValueRef dst, LLVMValueRef src, LLVMValueRef n_panels, int64_t R,
                           LLVMValueRef g0, int64_t limit, int64_t s_k, LLVMValueRef pc, LLVMValueRef kc) {
    int64_t VL = e->p->vl, nv = ceil_div(R, VL);
    LLVMValueRef mask[MAX_ACC];
    Loop lp = loop_begin(e, ci(e, 0), n_panels, "pack.panel");
    LLVMValueRef gb = LLVMBuildAdd(e->b, g0, LLVMBuildMul(e->b, lp.i, ci(e, R), ""), "");
    LLVMValueRef valid = smin(e, ci(e, R), LLVMBuildSub(e->b, ci(e, limit), gb, ""));
    for (int64_t v = 0; v < nv; v++) mask[v] = lane_mask(e, v * VL, valid);
    LLVMValueRef dpan = at(e, dst, LLVMBuildMul(e->b, lp.i, LLVMBuildMul(e->b, kc, ci(e, R), ""), ""));
    Loop lk = loop_begin(e, ci(e, 0), kc, "pack.k");
    LLVMValueRef sp = at_t(e, e->src, src,
                           LLVMBuildAdd(e->b, gb, LLVMBuildMul(e->b, LLVMBuildAdd(e->b, pc, lk.i, ""), ci(e, s_k), ""), ""));
    LLVMValueRef dp = at(e, dpan, LLVMBuildMul(e->b, lk.i, ci(e, R), ""));
    for (int64_t v = 0; v < nv; v++) {
        LLVMValueRef x = load_operand_vec(e, at_t(e, e->src, sp, ci(e, v * VL)), mask[v]);
        store_lanes(e, x, at(e, dp, ci(e, v * VL)), R - v * VL);
    }
    loop_end(e, &lk);
    loop_end(e, &lp);
}

/* The bf16_dot pack when the R rows of a panel are contiguous (s_r = 1): per k-pair, the
 * rows at k and k + 1 as two masked <VL x i16> loads (the k + 1 of an odd kc's last pair
 * is 0), interleaved by a shufflevector into VL pairs, stored as <VL x i32>. */
static void emit_pack_rows_pairs(Mm *e, LLVMValueRef dst, LLVMValueRef src, LLVMValueRef n_panels, int64_t R,
                                 LLVMValueRef g0, int64_t limit, int64_t s_k, LLVMValueRef pc, LLVMValueRef kc) {
    unsigned VL = (unsigned)e->p->vl;
    int64_t nv = ceil_div(R, VL);
    LLVMTypeRef i32 = LLVMInt32TypeInContext(e->ctx);
    LLVMTypeRef halves = LLVMVectorType(e->src, VL), pairs = LLVMVectorType(i32, VL);
    LLVMValueRef mask[MAX_ACC], lanes[128];
    for (unsigned l = 0; l < VL; l++) {
        lanes[2 * l] = LLVMConstInt(i32, l, 0);           /* pair l: k's element of row l, */
        lanes[2 * l + 1] = LLVMConstInt(i32, VL + l, 0);  /* then k + 1's */
    }
    LLVMValueRef interleave = LLVMConstVector(lanes, 2 * VL);
    LLVMValueRef kcp = kc_packed(e, kc);
    Loop lp = loop_begin(e, ci(e, 0), n_panels, "packp.panel");
    LLVMValueRef gb = LLVMBuildAdd(e->b, g0, LLVMBuildMul(e->b, lp.i, ci(e, R), ""), "");
    LLVMValueRef valid = smin(e, ci(e, R), LLVMBuildSub(e->b, ci(e, limit), gb, ""));
    for (int64_t v = 0; v < nv; v++) mask[v] = lane_mask(e, v * VL, valid);
    LLVMValueRef dpan = at_t(e, e->pk, dst, LLVMBuildMul(e->b, lp.i, LLVMBuildMul(e->b, kcp, ci(e, R), ""), ""));
    Loop lk = loop_begin(e, ci(e, 0), LLVMBuildAShr(e->b, kcp, ci(e, 1), ""), "packp.k");
    LLVMValueRef k0 = LLVMBuildMul(e->b, lk.i, ci(e, 2), "");
    LLVMValueRef k1 = LLVMBuildAdd(e->b, k0, ci(e, 1), "");
    LLVMValueRef has1 = LLVMBuildICmp(e->b, LLVMIntSLT, k1, kc, "");
    k1 = LLVMBuildSelect(e->b, has1, k1, k0, ""); /* in bounds; read, then replaced by 0 */
    LLVMValueRef sp[2];
    for (int h = 0; h < 2; h++)
        sp[h] = at_t(e, e->src, src,
                     LLVMBuildAdd(e->b, gb, LLVMBuildMul(e->b, LLVMBuildAdd(e->b, pc, h ? k1 : k0, ""), ci(e, s_k), ""), ""));
    LLVMValueRef dp = at_t(e, e->pk, dpan, LLVMBuildMul(e->b, lk.i, ci(e, 2 * R), ""));
    for (int64_t v = 0; v < nv; v++) {
        LLVMValueRef lo = masked_load_t(e, halves, at_t(e, e->src, sp[0], ci(e, v * VL)), mask[v], 2);
        LLVMValueRef hi = masked_load_t(e, halves, at_t(e, e->src, sp[1], ci(e, v * VL)), mask[v], 2);
        hi = LLVMBuildSelect(e->b, has1, hi, LLVMConstNull(halves), "");
        LLVMValueRef pr = LLVMBuildBitCast(e->b, LLVMBuildShuffleVector(e->b, lo, hi, interleave, ""), pairs, "");
        store_lanes(e, pr, at_t(e, e->pk, dp, ci(e, v * VL * 2)), R - v * VL);
    }
    loop_end(e, &lk);
    loop_end(e, &lp);
}

/* Rows grp*VL .. grp*VL+VL-1 of a transposing pack's panel (first row gb): for row r,
 * rmask[r] = all lanes of "a real row" (NULL past R) and rptr[r] = its start at k offset
 * pc, the row clamped into the operand so a masked-off load stays in bounds. */
static void group_rows(Mm *e, LLVMValueRef src, LLVMValueRef gb, int64_t grp, int64_t R, int64_t limit, int64_t s_r,
                       LLVMValueRef pc, LLVMValueRef *rmask, LLVMValueRef *rptr) {
    unsigned VL = (unsigned)e->p->vl;
    for (unsigned r = 0; r < VL; r++) {
        int64_t rr = grp * VL + r;
        if (rr >= R) {
            rmask[r] = NULL;
            continue;
        }
        LLVMValueRef g = LLVMBuildAdd(e->b, gb, ci(e, rr), "");
        LLVMValueRef ok = LLVMBuildICmp(e->b, LLVMIntSLT, g, ci(e, limit), "");
        LLVMValueRef gc = LLVMBuildSelect(e->b, ok, g, ci(e, limit - 1), "");
        rptr[r] = at_t(e, e->src, src, LLVMBuildAdd(e->b, LLVMBuildMul(e->b, gc, ci(e, s_r), ""), pc, ""));
        rmask[r] = splat_n(e, ok, VL);
    }
}

/* The pack when each row is contiguous along k (s_k = 1): VL rows x VL k at a time, read as
 * VL row vectors and transposed in registers (log2 VL rounds of two-source shuffles, round
 * d exchanging bit d of the lane and of the vector index), stored as VL k-rows of the
 * panel. Rows past R or `limit` are zeros. Covers k < kc rounded down to VL; returns that
 * bound, the rest is the scalar pack's. */
static LLVMValueRef emit_pack_transpose(Mm *e, LLVMValueRef dst, LLVMValueRef src, LLVMValueRef n_panels, int64_t R,
                                        LLVMValueRef g0, int64_t limit, int64_t s_r, LLVMValueRef pc, LLVMValueRef kc) {
    unsigned VL = (unsigned)e->p->vl;
    int64_t ng = ceil_div(R, VL);
    LLVMValueRef kmain = LLVMBuildMul(e->b, LLVMBuildSDiv(e->b, kc, ci(e, VL), ""), ci(e, VL), "kmain");
    Loop lp = loop_begin(e, ci(e, 0), n_panels, "packt.panel");
    LLVMValueRef gb = LLVMBuildAdd(e->b, g0, LLVMBuildMul(e->b, lp.i, ci(e, R), ""), "");
    LLVMValueRef dpan = at(e, dst, LLVMBuildMul(e->b, lp.i, LLVMBuildMul(e->b, kc, ci(e, R), ""), ""));
    for (int64_t grp = 0; grp < ng; grp++) {
        LLVMValueRef rmask[64], rptr[64];
        group_rows(e, src, gb, grp, R, limit, s_r, pc, rmask, rptr);
        Loop lk = loop_begin(e, ci(e, 0), LLVMBuildSDiv(e->b, kmain, ci(e, VL), ""), "packt.k");
        LLVMValueRef k0 = LLVMBuildMul(e->b, lk.i, ci(e, VL), "");
        LLVMValueRef v[64];
        for (unsigned r = 0; r < VL; r++)
            v[r] = rmask[r] ? load_operand_vec(e, at_t(e, e->src, rptr[r], k0), rmask[r]) : LLVMConstNull(e->vec);
        cc_cg_transpose(e->b, v, VL);
        for (unsigned j = 0; j < VL; j++) {
            LLVMValueRef didx = LLVMBuildAdd(e->b, LLVMBuildMul(e->b, LLVMBuildAdd(e->b, k0, ci(e, j), ""), ci(e, R), ""),
                                             ci(e, grp * VL), "");
            store_lanes(e, v[j], at(e, dpan, didx), R - grp * (int64_t)VL);
        }
        loop_end(e, &lk);
    }
    loop_end(e, &lp);
    return kmain;
}

/* The bf16_dot pack when each row is contiguous along k (s_k = 1): VL rows x VL k-pairs at
 * a time, a row's VL pairs (2 VL adjacent bf16) one <VL x i32> load, transposed in
 * registers as emit_pack_transpose does and stored as VL pair-rows of the panel. Covers
 * the whole pairs of kc rounded down to VL pairs; returns that bound in k (elements), the
 * rest (and an odd kc's pad) is the scalar pack's. */
static LLVMValueRef emit_pack_transpose_pairs(Mm *e, LLVMValueRef dst, LLVMValueRef src, LLVMValueRef n_panels,
                                              int64_t R, LLVMValueRef g0, int64_t limit, int64_t s_r, LLVMValueRef pc,
                                              LLVMValueRef kc) {
    unsigned VL = (unsigned)e->p->vl;
    int64_t ng = ceil_div(R, VL);
    LLVMTypeRef i32 = LLVMInt32TypeInContext(e->ctx), pairs = LLVMVectorType(i32, VL);
    LLVMValueRef kcp = kc_packed(e, kc);
    LLVMValueRef groups = LLVMBuildSDiv(e->b, kc, ci(e, 2 * (int64_t)VL), "pgroups"); /* of VL whole pairs */
    Loop lp = loop_begin(e, ci(e, 0), n_panels, "packtp.panel");
    LLVMValueRef gb = LLVMBuildAdd(e->b, g0, LLVMBuildMul(e->b, lp.i, ci(e, R), ""), "");
    LLVMValueRef dpan = at_t(e, e->pk, dst, LLVMBuildMul(e->b, lp.i, LLVMBuildMul(e->b, kcp, ci(e, R), ""), ""));
    for (int64_t grp = 0; grp < ng; grp++) {
        LLVMValueRef rmask[64], rptr[64];
        group_rows(e, src, gb, grp, R, limit, s_r, pc, rmask, rptr);
        Loop lk = loop_begin(e, ci(e, 0), groups, "packtp.k");
        LLVMValueRef p0 = LLVMBuildMul(e->b, lk.i, ci(e, VL), ""); /* the group's first pair */
        LLVMValueRef v[64];
        for (unsigned r = 0; r < VL; r++)
            v[r] = rmask[r] ? masked_load_t(e, pairs, at_t(e, e->src, rptr[r], LLVMBuildMul(e->b, p0, ci(e, 2), "")),
                                            rmask[r], 2)
                            : LLVMConstNull(pairs);
        cc_cg_transpose(e->b, v, VL);
        for (unsigned j = 0; j < VL; j++) {
            LLVMValueRef didx = LLVMBuildAdd(
                e->b, LLVMBuildMul(e->b, LLVMBuildAdd(e->b, p0, ci(e, j), ""), ci(e, 2 * R), ""),
                ci(e, grp * VL * 2), "");
            store_lanes(e, v[j], at_t(e, e->pk, dpan, didx), R - grp * (int64_t)VL);
        }
        loop_end(e, &lk);
    }
    loop_end(e, &lp);
    return LLVMBuildMul(e->b, groups, ci(e, 2 * (int64_t)VL), "");
}

/* dst[panel][k][r] = src[g * s_r + (pc + k) * s_k] for g = g0 + panel*R + r < limit, else 0;
 * panel < n_panels, r < R, k < kc (bf16_dot: dst[panel][k / 2][r][k % 2], k < kc rounded
 * up to even, the pad 0; fp32 path on bf16: the bf16 widened). Vector loads where the
 * source is contiguous along r (emit_pack_rows*) or along k (emit_pack_transpose*, their
 * k tail element by element); with ch, src is the chain's source and the index goes
 * through the chain, element by element. */
static void emit_pack(Mm *e, LLVMValueRef dst, LLVMValueRef src, LLVMValueRef n_panels, int64_t R,
                      LLVMValueRef g0, int64_t limit, int64_t s_r, int64_t s_k, LLVMValueRef pc, LLVMValueRef kc,
                      const PackChain *ch) {
    bool pairs = e->p->bf16_dot;
    if (!ch && s_r == 1) {
        if (pairs) emit_pack_rows_pairs(e, dst, src, n_panels, R, g0, limit, s_k, pc, kc);
        else emit_pack_rows(e, dst, src, n_panels, R, g0, limit, s_k, pc, kc);
        return;
    }
    LLVMValueRef k_lo = ci(e, 0);
    if (!ch && s_k == 1)
        k_lo = pairs ? emit_pack_transpose_pairs(e, dst, src, n_panels, R, g0, limit, s_r, pc, kc)
                     : emit_pack_transpose(e, dst, src, n_panels, R, g0, limit, s_r, pc, kc);
    emit_pack_scalar(e, dst, src, n_panels, R, g0, limit, s_r, s_k, pc, k_lo, kc, ch);
}

/* c[i][j] -> d[i][j] for i < rows, j < cols; row strides ldc, ldd. */
static void emit_copy(Mm *e, LLVMValueRef d, LLVMValueRef ldd, LLVMValueRef c, LLVMValueRef ldc,
                      LLVMValueRef rows, LLVMValueRef cols) {
    Loop li = loop_begin(e, ci(e, 0), rows, "copy.i");
    Loop lj = loop_begin(e, ci(e, 0), cols, "copy.j");
    LLVMValueRef v = load_elt(e, c, LLVMBuildAdd(e->b, LLVMBuildMul(e->b, li.i, ldc, ""), lj.i, ""));
    store_elt(e, v, d, LLVMBuildAdd(e->b, LLVMBuildMul(e->b, li.i, ldd, ""), lj.i, ""));
    loop_end(e, &lj);
    loop_end(e, &li);
}

/* --- the kernel ----------------------------------------------------------------------------- */

static LLVMValueRef entry_alloca(Mm *e, LLVMTypeRef t, int64_t n, const char *name) {
    LLVMValueRef a = LLVMBuildAlloca(e->b, LLVMArrayType2(t, (uint64_t)n), name);
    LLVMSetAlignment(a, 64);
    return a;
}

/* --- the epilogue ---------------------------------------------------------------------------- */

/* One epilogue body at flat output index idx (lanes 0: one element; else `lanes`
 * consecutive ones): every kernel output computed, then stored. */
static void epi_body(Mm *e, const Epi *ep, CcEmit *ce, const MvRead *mr, LLVMValueRef *out_ptr, LLVMValueRef idx,
                     unsigned lanes) {
    const CcKernel *k = ep->k;
    memset(ce->val, 0, ep->g->n_nodes * sizeof *ce->val);
    ce->lanes = lanes;
    ce->idx = idx;
    /* movement trees: one mv_value per lane, inserted into a vector (a gather); cc_cg_value
     * then finds them memoized */
    for (uint32_t m = 0; m < ep->n_moves; m++) {
        IrId id = ep->moves[m];
        if (!lanes) {
            ce->val[id] = mv_value(mr, id, idx);
            continue;
        }
        LLVMTypeRef vt = cc_cg_val_type(ce, ir_graph_node(ep->g, id)->type.dtype);
        LLVMValueRef v = LLVMGetPoison(vt);
        for (unsigned l = 0; l < lanes; l++) {
            LLVMValueRef x = mv_value(mr, id, l ? LLVMBuildAdd(e->b, idx, ci(e, l), "") : idx);
            v = LLVMBuildInsertElement(e->b, v, x, LLVMConstInt(LLVMInt32TypeInContext(e->ctx), l, 0), "");
        }
        ce->val[id] = v;
    }
    LLVMValueRef *v = llmc_xcalloc(k->n_outputs, sizeof *v); /* all read before any store */
    for (uint32_t o = 0; o < k->n_outputs; o++) v[o] = cc_cg_value(ce, k->outputs[o]);
    for (uint32_t o = 0; o < k->n_outputs; o++) {
        IrDtype dt = ir_graph_node(ep->g, k->outputs[o])->type.dtype;
        LLVMValueRef ptr = LLVMBuildGEP2(e->b, cc_cg_elem_type(ce, dt), out_ptr[o], &idx, 1, "");
        LLVMSetAlignment(LLVMBuildStore(e->b, v[o], ptr), (unsigned)ir_dtype_size(dt));
    }
    free(v);
}

/* The task's block (batch bi, rows m0 + [0, mc), columns n0 + [0, nc)), after its last
 * KC block: each element once, VL at a time along the row, then the row's tail. */
static void emit_epilogue(Mm *e, const Epi *ep, CcEmit *ce, const MvRead *mr, LLVMValueRef *out_ptr, LLVMValueRef bi,
                          LLVMValueRef m0, LLVMValueRef n0, LLVMValueRef mc, LLVMValueRef nc) {
    const CcMatmulPlan *p = e->p;
    LLVMValueRef W = ci(e, p->vl);
    Loop lr = loop_begin(e, ci(e, 0), mc, "epi.row");
    LLVMValueRef row = LLVMBuildAdd(e->b, LLVMBuildMul(e->b, bi, ci(e, p->M * p->N), ""),
                                    LLVMBuildMul(e->b, LLVMBuildAdd(e->b, m0, lr.i, ""), ci(e, p->N), ""), "");
    row = LLVMBuildAdd(e->b, row, n0, "epi.rowbase");
    LLVMValueRef nvec = LLVMBuildSDiv(e->b, nc, W, "");
    Loop lv = loop_begin(e, ci(e, 0), nvec, "epi.vec");
    epi_body(e, ep, ce, mr, out_ptr, LLVMBuildAdd(e->b, row, LLVMBuildMul(e->b, lv.i, W, ""), ""), (unsigned)p->vl);
    loop_end(e, &lv);
    Loop ls = loop_begin(e, LLVMBuildMul(e->b, nvec, W, ""), nc, "epi.tail");
    epi_body(e, ep, ce, mr, out_ptr, LLVMBuildAdd(e->b, row, ls.i, ""), 0);
    loop_end(e, &ls);
    loop_end(e, &lr);
}

/* --- the kernel (continued) ----------------------------------------------------------------- */

static void build_kernel(Mm *e, const char *name, const Epi *ep) {
    const CcMatmulPlan *p = e->p;
    LLVMTypeRef params[3] = {e->ptr, e->i64, e->i64};
    LLVMTypeRef fty = LLVMFunctionType(LLVMVoidTypeInContext(e->ctx), params, 3, 0);
    LLVMValueRef fn = LLVMAddFunction(e->mod, name, fty);
    add_fn_attrs(e, fn);
    char micro_name[96];
    snprintf(micro_name, sizeof micro_name, "%s.micro", name);
    LLVMValueRef micro = build_micro(e, micro_name);
    LLVMTypeRef micro_ty = LLVMGlobalGetValueType(micro);
    e->fn = fn;

    LLVMValueRef bufs = LLVMGetParam(fn, 0), begin = LLVMGetParam(fn, 1), end = LLVMGetParam(fn, 2);
    LLVMSetValueName2(bufs, "bufs", 4);
    LLVMSetValueName2(begin, "begin", 5);
    LLVMSetValueName2(end, "end", 3);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(e->ctx, fn, "entry");
    LLVMPositionBuilderAtEnd(e->b, entry);
    LLVMValueRef buf[3];
    static const char *const names[3] = {"A", "B", "C"};
    uint32_t slots[3] = {0, 1, 2};
    if (ep) slots[0] = ep->slot_x, slots[1] = ep->slot_y, slots[2] = ep->slot_c;
    for (int i = 0; i < 3; i++) {
        LLVMValueRef ix = ci(e, slots[i]);
        buf[i] = slots[i] == UINT32_MAX ? NULL /* a movement tree: through mr.ptr */
                                        : LLVMBuildLoad2(e->b, e->ptr, LLVMBuildGEP2(e->b, e->ptr, bufs, &ix, 1, ""),
                                                         names[i]);
    }
    /* every kernel input's element pointer, for the movement trees */
    CcEmit tce = {.ctx = e->ctx, .mod = e->mod, .b = e->b, .g = ep ? ep->g : NULL};
    MvRead mr = {.ce = &tce, .k = ep ? ep->k : NULL};
    if (ep) {
        mr.ptr = llmc_xcalloc(ep->g->n_nodes, sizeof *mr.ptr);
        for (uint32_t i = 0; i < ep->k->n_inputs; i++) {
            LLVMValueRef ix = ci(e, i);
            mr.ptr[ep->k->inputs[i]] = LLVMBuildLoad2(e->b, e->ptr, LLVMBuildGEP2(e->b, e->ptr, bufs, &ix, 1, ""), "in");
        }
    }
    /* Epilogue operands: element pointers, rank-0 inputs loaded once; the matmul's value is
     * the root's element (C). */
    CcEmit ce = {0};
    LLVMValueRef *out_ptr = NULL;
    bool epilogue = ep && ep->k->root != ep->mm;
    if (epilogue) {
        const CcKernel *k = ep->k;
        ce = (CcEmit){.ctx = e->ctx, .mod = e->mod, .b = e->b, .g = ep->g, .role = ep->role, .alias = ep->alias};
        ce.base = llmc_xcalloc(ep->g->n_nodes, sizeof *ce.base);
        ce.val = llmc_xcalloc(ep->g->n_nodes, sizeof *ce.val);
        for (uint32_t i = 0; i < k->n_inputs; i++) {
            IrId id = k->inputs[i];
            LLVMValueRef ptr = mr.ptr[id];
            if (ep->role[id] == CC_ROLE_SCALAR) {
                IrDtype dt = ir_graph_node(ep->g, id)->type.dtype;
                LLVMValueRef v = LLVMBuildLoad2(e->b, cc_cg_elem_type(&ce, dt), ptr, "scalar");
                LLVMSetAlignment(v, (unsigned)ir_dtype_size(dt));
                ce.base[id] = v;
            } else {
                ce.base[id] = ptr;
            }
        }
        ce.base[ep->mm] = buf[2];
        out_ptr = llmc_xcalloc(k->n_outputs, sizeof *out_ptr);
        for (uint32_t o = 0; o < k->n_outputs; o++) {
            LLVMValueRef ix = ci(e, k->n_inputs + o);
            out_ptr[o] = LLVMBuildLoad2(e->b, e->ptr, LLVMBuildGEP2(e->b, e->ptr, bufs, &ix, 1, ""), "out");
        }
    }
    LLVMValueRef apack = entry_alloca(e, e->pk, a_block_rows(p) * p->kc, "Ap");
    LLVMValueRef bpack = entry_alloca(e, e->pk, p->kc * p->nc, "Bp");
    LLVMValueRef tile = entry_alloca(e, e->elt, p->mr * p->nr, "tile");

    /* for t in [begin, end): the task's batch and block */
    Loop lt = loop_begin(e, begin, end, "task");
    LLVMValueRef per_batch = ci(e, p->m_blocks * p->n_blocks);
    LLVMValueRef bi = LLVMBuildSDiv(e->b, lt.i, per_batch, "b");
    LLVMValueRef rem = LLVMBuildSRem(e->b, lt.i, per_batch, "");
    LLVMValueRef mb = LLVMBuildSDiv(e->b, rem, ci(e, p->n_blocks), "mb");
    LLVMValueRef nb = LLVMBuildSRem(e->b, rem, ci(e, p->n_blocks), "nb");
    LLVMValueRef m0 = LLVMBuildMul(e->b, mb, ci(e, p->mc), "m0");
    LLVMValueRef n0 = LLVMBuildMul(e->b, nb, ci(e, p->nc), "n0");
    LLVMValueRef mc = smin(e, ci(e, p->mc), LLVMBuildSub(e->b, ci(e, p->M), m0, ""));
    LLVMValueRef nc = smin(e, ci(e, p->nc), LLVMBuildSub(e->b, ci(e, p->N), n0, ""));
    LLVMValueRef aoff = LLVMBuildMul(e->b, bi, ci(e, p->a_shared ? 0 : p->M * p->K), "");
    LLVMValueRef boff = LLVMBuildMul(e->b, bi, ci(e, p->b_shared ? 0 : p->K * p->N), "");
    /* An operand behind a movement chain: the pack reads its source through the chain. */
    CcEmit mv = {.ctx = e->ctx, .mod = e->mod, .b = e->b, .g = ep ? ep->g : NULL};
    PackChain cha = {.mv = &mv, .top = ep ? ep->top[0] : 0, .src = ep ? ep->src[0] : 0, .boff = aoff,
                     .tree = ep && ep->tree[0] ? &mr : NULL};
    PackChain chb = {.mv = &mv, .top = ep ? ep->top[1] : 0, .src = ep ? ep->src[1] : 0, .boff = boff,
                     .tree = ep && ep->tree[1] ? &mr : NULL};
    const PackChain *pa = ep && ep->top[0] != ep->src[0] ? &cha : NULL;
    const PackChain *pb = ep && ep->top[1] != ep->src[1] ? &chb : NULL;
    LLVMValueRef abase = pa ? buf[0] : at_t(e, e->src, buf[0], aoff);
    LLVMValueRef bbase = pb ? buf[1] : at_t(e, e->src, buf[1], boff);
    LLVMValueRef cbase = at(e, buf[2], LLVMBuildMul(e->b, bi, ci(e, p->M * p->N), ""));
    LLVMValueRef n_np = LLVMBuildSDiv(e->b, LLVMBuildAdd(e->b, nc, ci(e, p->nr - 1), ""), ci(e, p->nr), "");

    /* do { ... } while ((pc += KC) < K): once at least, so K = 0 writes zeros */
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(e->b);
    LLVMBasicBlockRef kblk = LLVMAppendBasicBlockInContext(e->ctx, fn, "kblock");
    LLVMBasicBlockRef kdone = LLVMAppendBasicBlockInContext(e->ctx, fn, "kblock.done");
    LLVMBuildBr(e->b, kblk);
    LLVMPositionBuilderAtEnd(e->b, kblk);
    LLVMValueRef pc = LLVMBuildPhi(e->b, e->i64, "pc");
    LLVMValueRef zero = ci(e, 0);
    LLVMAddIncoming(pc, &zero, &pre, 1);
    LLVMValueRef kc = smin(e, ci(e, p->kc), LLVMBuildSub(e->b, ci(e, p->K), pc, ""));
    LLVMValueRef first = LLVMBuildICmp(e->b, LLVMIntEQ, pc, zero, "first");
    /* a panel's k extent, and the microkernel's steps over it: k, or k-pairs (bf16_dot) */
    LLVMValueRef kcp = kc_packed(e, kc);
    LLVMValueRef ksteps = p->bf16_dot ? LLVMBuildAShr(e->b, kcp, ci(e, 1), "kpairs") : kc;

    /* A: a(m, k) = A[m*K + k], or A[k*M + m] when ta.  B: b(k, n) = B[k*N + n], or B[n*K + k] when tb. */
    emit_pack(e, bpack, bbase, n_np, p->nr, n0, p->N, p->tb ? p->K : 1, p->tb ? 1 : p->N, pc, kc, pb);

    /* the task's rows in A blocks: pack A once per block, then every micro-tile of it */
    Loop la = loop_begin(e, zero, LLVMBuildSDiv(e->b, LLVMBuildAdd(e->b, mc, ci(e, a_block_rows(p) - 1), ""),
                                                ci(e, a_block_rows(p)), ""), "ablock");
    LLVMValueRef ia = LLVMBuildMul(e->b, la.i, ci(e, a_block_rows(p)), "ia");
    LLVMValueRef ma = smin(e, ci(e, a_block_rows(p)), LLVMBuildSub(e->b, mc, ia, ""));
    LLVMValueRef n_mp = LLVMBuildSDiv(e->b, LLVMBuildAdd(e->b, ma, ci(e, p->mr - 1), ""), ci(e, p->mr), "");
    emit_pack(e, apack, abase, n_mp, p->mr, LLVMBuildAdd(e->b, m0, ia, ""), p->M, p->ta ? 1 : p->K,
              p->ta ? p->M : 1, pc, kc, pa);

    Loop li = loop_begin(e, zero, n_mp, "panel.m");
    Loop lj = loop_begin(e, zero, n_np, "panel.n");
    LLVMValueRef rows = smin(e, ci(e, p->mr), LLVMBuildSub(e->b, ma, LLVMBuildMul(e->b, li.i, ci(e, p->mr), ""), ""));
    LLVMValueRef cols = smin(e, ci(e, p->nr), LLVMBuildSub(e->b, nc, LLVMBuildMul(e->b, lj.i, ci(e, p->nr), ""), ""));
    LLVMValueRef full = LLVMBuildAnd(e->b, LLVMBuildICmp(e->b, LLVMIntEQ, rows, ci(e, p->mr), ""),
                                     LLVMBuildICmp(e->b, LLVMIntEQ, cols, ci(e, p->nr), ""), "full");
    LLVMValueRef apan = at_t(e, e->pk, apack, LLVMBuildMul(e->b, li.i, LLVMBuildMul(e->b, kcp, ci(e, p->mr), ""), ""));
    LLVMValueRef bpan = at_t(e, e->pk, bpack, LLVMBuildMul(e->b, lj.i, LLVMBuildMul(e->b, kcp, ci(e, p->nr), ""), ""));
    LLVMValueRef crow = LLVMBuildAdd(e->b, LLVMBuildAdd(e->b, m0, ia, ""), LLVMBuildMul(e->b, li.i, ci(e, p->mr), ""), "");
    LLVMValueRef ccol = LLVMBuildAdd(e->b, n0, LLVMBuildMul(e->b, lj.i, ci(e, p->nr), ""), "");
    LLVMValueRef cptr = at(e, cbase, LLVMBuildAdd(e->b, LLVMBuildMul(e->b, crow, ci(e, p->N), ""), ccol, ""));
    LLVMValueRef ldc = ci(e, p->N), ldt = ci(e, p->nr);

    LLVMBasicBlockRef bfull = LLVMAppendBasicBlockInContext(e->ctx, fn, "tile.full");
    LLVMBasicBlockRef bedge = LLVMAppendBasicBlockInContext(e->ctx, fn, "tile.edge");
    LLVMBasicBlockRef bcopyin = LLVMAppendBasicBlockInContext(e->ctx, fn, "tile.copyin");
    LLVMBasicBlockRef bcall = LLVMAppendBasicBlockInContext(e->ctx, fn, "tile.edge.call");
    LLVMBasicBlockRef bjoin = LLVMAppendBasicBlockInContext(e->ctx, fn, "tile.done");
    LLVMBuildCondBr(e->b, full, bfull, bedge);

    LLVMPositionBuilderAtEnd(e->b, bfull);
    LLVMValueRef args[6] = {apan, bpan, ksteps, cptr, ldc, first};
    LLVMBuildCall2(e->b, micro_ty, micro, args, 6, "");
    LLVMBuildBr(e->b, bjoin);

    LLVMPositionBuilderAtEnd(e->b, bedge);
    LLVMBuildCondBr(e->b, first, bcall, bcopyin);
    LLVMPositionBuilderAtEnd(e->b, bcopyin);
    emit_copy(e, tile, ldt, cptr, ldc, rows, cols);
    LLVMBuildBr(e->b, bcall);
    LLVMPositionBuilderAtEnd(e->b, bcall);
    LLVMValueRef eargs[6] = {apan, bpan, ksteps, tile, ldt, first};
    LLVMBuildCall2(e->b, micro_ty, micro, eargs, 6, "");
    emit_copy(e, cptr, ldc, tile, ldt, rows, cols);
    LLVMBuildBr(e->b, bjoin);

    LLVMPositionBuilderAtEnd(e->b, bjoin);
    loop_end(e, &lj);
    loop_end(e, &li);
    loop_end(e, &la);

    LLVMValueRef pcn = LLVMBuildAdd(e->b, pc, ci(e, p->kc), "");
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(e->b);
    LLVMAddIncoming(pc, &pcn, &latch, 1);
    LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, pcn, ci(e, p->K), ""), kblk, kdone);
    LLVMPositionBuilderAtEnd(e->b, kdone);
    if (epilogue) emit_epilogue(e, ep, &ce, &mr, out_ptr, bi, m0, n0, mc, nc);
    loop_end(e, &lt);
    LLVMBuildRetVoid(e->b);
    free(mr.ptr);
    free(ce.base);
    free(ce.val);
    free(out_ptr);
}

/* --- planning a MATMUL kernel's epilogue ------------------------------------------------------ */

static bool epi_is_splat_const(const IrNode *n) { return n->op == IR_OP_CONST && n->attrs.constant.value.count == 1; }

static bool epi_slot(const CcKernel *k, IrId id, uint32_t *slot) {
    for (uint32_t i = 0; i < k->n_inputs; i++)
        if (k->inputs[i] == id) {
            *slot = i;
            return true;
        }
    return false;
}

static bool epi_member(const CcKernel *k, IrId id) {
    for (uint32_t i = 0; i < k->n_nodes; i++)
        if (k->nodes[i] == id) return true;
    return false;
}

static void epi_free(Epi *ep) {
    free(ep->role);
    free(ep->alias);
    free(ep->moves);
    ep->role = NULL;
    ep->alias = NULL;
    ep->moves = NULL;
}

static bool epi_is_movement(IrOp op) {
    return op == IR_OP_RESHAPE || op == IR_OP_PERMUTE || op == IR_OP_BROADCAST || op == IR_OP_SLICE ||
           op == IR_OP_CONCAT;
}

/* Whether `id` is a movement tree mv_value can read: a kernel input, a splat constant, or
 * a movement member whose operands are such trees. false + message (naming `top`, the
 * tree's root, and `what` reads it) at the first other node. */
static bool epi_tree(const Epi *ep, IrId id, IrId top, const char *what, LlmcErr *err) {
    uint32_t slot;
    const IrNode *n = ir_graph_node(ep->g, id);
    if (epi_slot(ep->k, id, &slot)) return true;
    if (!epi_member(ep->k, id)) {
        if (epi_is_splat_const(n)) return true;
        llmc_err_set(err, "matmul kernel (root %%%u): %%%u under %s %%%u is neither a kernel input nor a member",
                     ep->k->root, id, what, top);
        return false;
    }
    if (!epi_is_movement(n->op)) {
        llmc_err_set(err, "matmul kernel (root %%%u): %s %%%u reads %%%u = %s, computed inside the kernel; not "
                          "supported yet", ep->k->root, what, top, id, ir_op_name(n->op));
        return false;
    }
    for (uint32_t o = 0; o < n->n_operands; o++)
        if (!epi_tree(ep, n->operands[o], top, what, err)) return false;
    return true;
}

/* An operand `o` from outside the kernel, read by an epilogue op at the output index. */
static bool epi_external(Epi *ep, IrId o, const IrType *shape, LlmcErr *err) {
    const IrNode *n = ir_graph_node(ep->g, o);
    uint32_t slot;
    if (ep->role[o] == CC_ROLE_BUFFER || ep->role[o] == CC_ROLE_CONST) return true;
    if (epi_is_splat_const(n)) {
        ep->role[o] = CC_ROLE_CONST;
        return true;
    }
    if (!epi_slot(ep->k, o, &slot) || !ir_type_same_shape(&n->type, shape)) {
        llmc_err_set(err, "matmul kernel (root %%%u): epilogue operand %%%u is not an input of the output's shape; "
                          "not supported yet", ep->k->root, o);
        return false;
    }
    ep->role[o] = CC_ROLE_BUFFER; /* also when it was INDEXED: base is the element pointer either way */
    return true;
}

/* Whether broadcast member `id` reads a kernel input or a splat constant directly (epi_bcast);
 * other broadcasts are movement trees (mv_value). */
static bool epi_bcast_direct(const Epi *ep, IrId id) {
    IrId src = ir_graph_node(ep->g, id)->operands[0];
    uint32_t slot;
    return epi_slot(ep->k, src, &slot) || (!epi_member(ep->k, src) && epi_is_splat_const(ir_graph_node(ep->g, src)));
}

/* A broadcast member `id`: a rank-0 or splat-constant source is repeated (ALIAS); any
 * other source, an input, is read at the mapped index (BCAST). */
static bool epi_bcast(Epi *ep, IrId id, LlmcErr *err) {
    IrId src = ir_graph_node(ep->g, id)->operands[0];
    const IrNode *s = ir_graph_node(ep->g, src);
    uint32_t slot;
    bool splat = epi_is_splat_const(s);
    if (!splat && !epi_slot(ep->k, src, &slot)) {
        llmc_err_set(err, "matmul kernel (root %%%u): broadcast %%%u reads %%%u, which is not a kernel input; "
                          "not supported yet", ep->k->root, id, src);
        return false;
    }
    ep->alias[id] = src;
    if (s->type.rank == 0 || splat) {
        ep->role[id] = CC_ROLE_ALIAS;
        if (ep->role[src] == CC_ROLE_NONE) ep->role[src] = splat ? CC_ROLE_CONST : CC_ROLE_SCALAR;
        return true;
    }
    ep->role[id] = CC_ROLE_BCAST;
    if (ep->role[src] == CC_ROLE_NONE) ep->role[src] = CC_ROLE_INDEXED;
    return true;
}

/* Matmul operand j (`o`): a kernel input, or the top of a chain of reshape / permute /
 * broadcast members over one (read through the chain's index mapping by the pack), or any
 * other movement tree over inputs and splat constants (slice, concat: read by mv_value). */
static bool epi_chain(Epi *ep, IrId o, int j, uint32_t *slot, LlmcErr *err) {
    ep->top[j] = o;
    while (!epi_slot(ep->k, o, slot)) {
        const IrNode *n = ir_graph_node(ep->g, o);
        bool mv = n->op == IR_OP_RESHAPE || n->op == IR_OP_PERMUTE || n->op == IR_OP_BROADCAST;
        if (!epi_member(ep->k, o) || !mv) {
            if (!epi_tree(ep, ep->top[j], ep->top[j], "matmul operand", err)) return false;
            ep->tree[j] = true;
            ep->src[j] = IR_ID_NONE;
            *slot = UINT32_MAX;
            return true;
        }
        o = n->operands[0];
    }
    ep->src[j] = o;
    return true;
}

static bool epi_plan(Epi *ep, const IrGraph *g, const CcKernel *k, LlmcErr *err) {
    memset(ep, 0, sizeof *ep);
    ep->g = g;
    ep->k = k;
    ep->mm = IR_ID_NONE;
    if (k->kind != CC_KERNEL_MATMUL) {
        llmc_err_set(err, "matmul codegen: kernel (root %%%u) is %s, not matmul", k->root,
                     cc_kernel_kind_name(k->kind));
        return false;
    }
    for (uint32_t i = 0; i < k->n_nodes; i++) {
        if (ir_graph_node(g, k->nodes[i])->op != IR_OP_MATMUL) continue;
        if (ep->mm != IR_ID_NONE) {
            llmc_err_set(err, "matmul kernel (root %%%u): two matmuls; not supported yet", k->root);
            return false;
        }
        ep->mm = k->nodes[i];
    }
    if (ep->mm == IR_ID_NONE) {
        llmc_err_set(err, "matmul codegen: kernel (root %%%u) has no matmul", k->root);
        return false;
    }
    const IrNode *mm = ir_graph_node(g, ep->mm);
    const IrType *root_t = &ir_graph_node(g, k->root)->type;
    for (int j = 0; j < 2; j++)
        if (!epi_chain(ep, mm->operands[j], j, j ? &ep->slot_y : &ep->slot_x, err)) return false;
    /* C, the buffer the K-sums accumulate in: the root's, or when the root is a cast to
     * bf16 (precision = bf16's operand of the next matmul), the first output of the
     * matmul's type; the epilogue reads every value before it stores any. */
    IrId c_out = root_t->dtype == mm->type.dtype && ir_type_same_shape(root_t, &mm->type) ? k->root : IR_ID_NONE;
    for (uint32_t o = 0; o < k->n_outputs && c_out == IR_ID_NONE; o++) {
        const IrType *t = &ir_graph_node(g, k->outputs[o])->type;
        if (t->dtype == mm->type.dtype && ir_type_same_shape(t, &mm->type)) c_out = k->outputs[o];
    }
    if (c_out == IR_ID_NONE) {
        llmc_err_set(err, "matmul kernel (root %%%u): no output has the matmul's type to accumulate in; not supported yet",
                     k->root);
        return false;
    }
    ep->slot_c = UINT32_MAX;
    for (uint32_t o = 0; o < k->n_outputs; o++) {
        if (k->outputs[o] == c_out) ep->slot_c = k->n_inputs + o;
        if (k->outputs[o] == ep->mm && ep->mm != c_out) {
            llmc_err_set(err, "matmul kernel (root %%%u): the matmul is an output besides C; not supported yet",
                         k->root);
            return false;
        }
    }
    LLMC_ASSERT(ep->slot_c != UINT32_MAX);
    ep->role = llmc_xcalloc(g->n_nodes, 1);
    ep->alias = llmc_xcalloc(g->n_nodes, sizeof *ep->alias);
    ep->role[ep->mm] = CC_ROLE_BUFFER;
    ep->moves = llmc_xcalloc(k->n_nodes, sizeof *ep->moves);
    uint8_t *need = llmc_xcalloc(g->n_nodes, 1);
    for (uint32_t o = 0; o < k->n_outputs; o++) need[k->outputs[o]] = 1;
    bool ok = true;
    for (uint32_t i = k->n_nodes; i-- > 0 && ok;) {
        IrId id = k->nodes[i];
        if (id == ep->mm || !need[id]) continue;
        const IrNode *n = ir_graph_node(g, id);
        if (!ir_type_same_shape(&n->type, &mm->type)) {
            llmc_err_set(err, "matmul kernel (root %%%u): %%%u = %s does not have the matmul's shape; not supported yet",
                         k->root, id, ir_op_name(n->op));
            ok = false;
        } else if (n->op == IR_OP_BROADCAST && epi_bcast_direct(ep, id)) {
            ok = epi_bcast(ep, id, err);
        } else if (epi_is_movement(n->op)) {
            ok = epi_tree(ep, id, id, "epilogue movement", err);
            if (ok) ep->moves[ep->n_moves++] = id;
        } else if (ir_op_info(n->op)->kind != IR_KIND_ELEMENTWISE) {
            llmc_err_set(err, "matmul kernel (root %%%u): epilogue node %%%u = %s; not supported yet", k->root, id,
                         ir_op_name(n->op));
            ok = false;
        } else {
            ep->role[id] = CC_ROLE_COMPUTE;
            for (uint32_t j = 0; j < n->n_operands && ok; j++) {
                IrId o = n->operands[j];
                if (epi_member(k, o)) need[o] = 1;
                else ok = epi_external(ep, o, &mm->type, err);
            }
        }
    }
    free(need);
    if (!ok) epi_free(ep);
    return ok;
}

/* Builds the module for `node` into ctx; NULL + message when the node is not supported.
 * ep: the MATMUL kernel around it (bufs binding, epilogue), or NULL for the bare node. */
static LLVMModuleRef build_module(const CcJit *jit, LLVMContextRef ctx, const IrGraph *g, IrId node,
                                  const Epi *ep, const char *name, LlmcErr *err) {
    CcMatmulPlan plan;
    if (!cc_matmul_plan(jit, g, node, &plan, err)) return NULL;
    Mm e = {.p = &plan, .ctx = ctx, .avx512 = cc_jit_has_avx512(jit)};
    bool bf16 = plan.in_dtype == IR_DTYPE_BF16;
    e.mod = LLVMModuleCreateWithNameInContext(name, ctx);
    e.b = LLVMCreateBuilderInContext(ctx);
    e.i64 = LLVMInt64TypeInContext(ctx);
    e.i1 = LLVMInt1TypeInContext(ctx);
    e.ptr = LLVMPointerTypeInContext(ctx, 0);
    e.elt = plan.dtype == IR_DTYPE_F32 ? LLVMFloatTypeInContext(ctx) : LLVMDoubleTypeInContext(ctx);
    e.vec = LLVMVectorType(e.elt, (unsigned)plan.vl);
    e.src = bf16 ? LLVMInt16TypeInContext(ctx) : e.elt;
    e.pk = plan.bf16_dot ? e.src : e.elt;
    e.widen = bf16 && !plan.bf16_dot;
    build_kernel(&e, name, ep);
    LLVMDisposeBuilder(e.b);
    cc_jit_prepare_module(jit, e.mod);
    return e.mod;
}

/* --- entry points ---------------------------------------------------------------------------- */

LLVMModuleRef cc_matmul_node_module(const CcJit *jit, LLVMContextRef ctx, const IrGraph *g, IrId node, LlmcErr *err) {
    return build_module(jit, ctx, g, node, NULL, "llmc_mm", err);
}

LLVMModuleRef cc_matmul_module(const CcJit *jit, LLVMContextRef ctx, const IrGraph *g, const CcKernel *k,
                               LlmcErr *err) {
    Epi ep;
    if (!epi_plan(&ep, g, k, err)) return NULL;
    LLVMModuleRef mod = build_module(jit, ctx, g, ep.mm, &ep, "llmc_mmk", err);
    epi_free(&ep);
    return mod;
}

bool cc_codegen_matmul(CcJit *jit, const IrGraph *g, IrId node, CcKernelFn *fn, LlmcErr *err) {
    LLVMOrcThreadSafeContextRef tsctx = LLVMOrcCreateNewThreadSafeContext();
    LLVMModuleRef mod = cc_matmul_node_module(jit, LLVMOrcThreadSafeContextGetContext(tsctx), g, node, err);
    return cc_jit_add_kernel(jit, mod, tsctx, "llmc_mm", fn, err);
}

bool cc_codegen_matmul_kernel(CcJit *jit, const IrGraph *g, const CcKernel *k, CcKernelFn *fn, LlmcErr *err) {
    LLVMOrcThreadSafeContextRef tsctx = LLVMOrcCreateNewThreadSafeContext();
    LLVMModuleRef mod = cc_matmul_module(jit, LLVMOrcThreadSafeContextGetContext(tsctx), g, k, err);
    return cc_jit_add_kernel(jit, mod, tsctx, "llmc_mmk", fn, err);
}

bool cc_codegen_matmul_cached(CcJit *jit, CcObjCache *cache, const IrGraph *g, IrId node, CcKernelFn *fn,
                              bool *hit, LlmcErr *err) {
    CcObjCacheStats before = cache ? cc_objcache_stats(cache) : (CcObjCacheStats){0};
    CcObjCache *old = cc_jit_set_cache(jit, cache);
    bool ok = cc_codegen_matmul(jit, g, node, fn, err);
    cc_jit_set_cache(jit, old);
    if (hit) *hit = cc_objcache_was_hit(cache, before);
    return ok;
}

static char *matmul_text(CcJit *jit, const IrGraph *g, IrId node, CcTextKind kind, LlmcErr *err) {
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef mod = cc_matmul_node_module(jit, ctx, g, node, err);
    char *text = mod ? cc_jit_module_text(jit, mod, kind, err) : NULL;
    if (mod) LLVMDisposeModule(mod);
    LLVMContextDispose(ctx);
    return text;
}

char *cc_codegen_matmul_ir(CcJit *jit, const IrGraph *g, IrId node, bool optimize, LlmcErr *err) {
    return matmul_text(jit, g, node, optimize ? CC_TEXT_LLVM_OPT : CC_TEXT_LLVM, err);
}

char *cc_codegen_matmul_asm(CcJit *jit, const IrGraph *g, IrId node, LlmcErr *err) {
    return matmul_text(jit, g, node, CC_TEXT_ASM, err);
}
