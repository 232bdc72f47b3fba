/* compiler/codegen_attention.c — the ATTENTION kernels of cc_fuse (compiler.h, "JIT:
 * attention"): FlashAttention-style forward and backward, tiled, with an online softmax.
 *
 * Tiles are transposed: a score tile is St[bk keys][bq rows], rows along the vectors.
 * The statistics of a row (running max m, sum l, lse, dsum) are then vectors of bq rows,
 * so the softmax is vertical (max and sum over keys are lane-wise, in key order): no
 * horizontal reduction anywhere. Keys are read as rows straight from k and v (broadcast
 * loads, no packing); the task's rows of q (and dout) are transposed once per task into
 * Qt[d][rows], the vector side of the score product.
 *
 * Two microkernels (internal functions) do the arithmetic:
 *   dot  C[mr_dot][bq] = A[rows r0.., 0..kdim) x Bt[0..kdim)[bq]: St = k q^T, Dt = v dout^T;
 *        A's rows past `amax` read row amax (their scores are masked or unused).
 *   acc  Acc[mr_acc][0..W) += sum_t P[row, t] B[t, 0..W): O += P v, dQ += dS k, dV += P^T dout,
 *        dK += dS^T q; P is read at any pair of strides (transposed or not), B rows past
 *        `bmax` read row bmax (their P is zero or their sum is discarded).
 * Every element accumulates in one order fixed by the plan (tiles ascending, fma along
 * the contraction), so a task's bytes do not depend on how tasks are split over threads.
 *
 * Passes (per task):
 *   FORWARD  rows [r0, r0 + chunk): Qt; m = -inf, l = 0, O = 0. For each key tile j0 and
 *            each row tile that attends to it: St = k q^T; s = scale St, -inf where key
 *            j >= lim(r) (lim = r mod S + 1 when causal, else S); m' = max(m, max_j s);
 *            p = exp(s - m'); l = l exp(m - m') + sum_j p; O = O exp(m - m') + p v.
 *            Then out = O / l, lse = m + log l.
 *   DQ       rows [r0, r0 + chunk): Qt, dOt; for each key tile: St = k q^T, Dt = v dout^T,
 *            p = exp(scale St - lse) (0 where masked), dS = scale p (Dt - dsum);
 *            dQ += dS k.
 *   DKV      keys [j0, j0 + chunk): for each row tile with a row attending to a key of
 *            the chunk: Qt, dOt of the tile; for each key tile: as DQ, then dV += p^T dout,
 *            dK += dS^T q.
 * The row tiles of a causal pass skip key tiles no row of theirs attends to.
 */
#include "compiler_int.h"

#include <llvm-c/Core.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TILE 48              /* bq = bk: divisible by every microkernel height below */
#define MAX_ACC 24           /* accumulator registers a microkernel may use: 24 of 32 zmm (AVX2: 12 of 16 ymm) */
#define MAX_COL_VECS 8       /* vectors of W per column group of the acc microkernel */
#define CHUNK_TARGET 192     /* rows (or keys) per task: repacking per task is 1 / (2 chunk) of its work */
#define STACK_BUDGET (448 << 10) /* bytes of allocas per kernel (threads have megabytes) */

/* --- the plan ------------------------------------------------------------------------ */

static uint32_t slot_of(const CcKernel *k, IrId id) {
    for (uint32_t i = 0; i < k->n_inputs; i++)
        if (k->inputs[i] == id) return i;
    for (uint32_t i = 0; i < k->n_outputs; i++)
        if (k->outputs[i] == id) return k->n_inputs + i;
    return UINT32_MAX;
}

static int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

/* The tallest microkernel (a divisor of TILE) whose accumulators fit: height x vecs <=
 * max_acc registers. */
static int64_t micro_rows(int64_t vecs, int64_t max_acc) {
    static const int64_t heights[] = {12, 8, 6, 4, 3, 2, 1};
    for (size_t i = 0; i < sizeof heights / sizeof heights[0]; i++)
        if (heights[i] * vecs <= max_acc) return heights[i];
    return 1;
}

static bool same_attention_attrs(const IrNode *a, const IrNode *b) {
    return a->attrs.attention.causal == b->attrs.attention.causal &&
           memcmp(&a->attrs.attention.scale, &b->attrs.attention.scale, sizeof(double)) == 0;
}

/* Stack bytes of the pass at `chunk` rows (or keys) per task (allocas of build_kernel). */
static int64_t stack_bytes(const CcAttentionPlan *p, int64_t chunk) {
    int64_t dp = round_up(p->d, p->vl), ep = round_up(p->e, p->vl), tiles = 2 * p->bk * p->bq;
    int64_t elems = 0, ints = 0;
    switch (p->pass) {
    case CC_ATTENTION_FORWARD: elems = p->d * chunk + chunk * ep + 3 * chunk + p->bq + tiles, ints = chunk; break;
    case CC_ATTENTION_DQ: elems = (p->d + p->e) * chunk + chunk * dp + 2 * chunk + tiles, ints = chunk; break;
    case CC_ATTENTION_DKV: elems = (p->d + p->e) * p->bq + chunk * (dp + ep) + 2 * p->bq + tiles, ints = p->bq; break;
    }
    return elems * (int64_t)ir_dtype_size(p->dtype) + 4 * ints + 64 * 16;
}

bool cc_attention_plan(const CcJit *jit, const IrGraph *g, const CcKernel *k, CcAttentionPlan *p, LlmcErr *err) {
    memset(p, 0, sizeof *p);
    p->slot_q = p->slot_k = p->slot_v = p->slot_lse = p->slot_dsum = p->slot_dout = UINT32_MAX;
    p->slot_out = p->slot_out_lse = p->slot_dq = p->slot_dk = p->slot_dv = UINT32_MAX;
    const IrNode *first = NULL;
    bool fwd = false, dq = false, dkv = false, ok = k->n_nodes >= 1 && k->n_nodes <= 2;
    for (uint32_t i = 0; ok && i < k->n_nodes; i++) {
        const IrNode *n = ir_graph_node(g, k->nodes[i]);
        if (!first) first = n;
        uint32_t slot = slot_of(k, k->nodes[i]);
        uint32_t *dst = n->op == IR_OP_ATTENTION                  ? &p->slot_out
                        : n->op == IR_OP_ATTENTION_LSE            ? &p->slot_out_lse
                        : n->op != IR_OP_ATTENTION_GRAD           ? NULL
                        : n->attrs.attention.wrt == IR_ATTENTION_Q ? &p->slot_dq
                        : n->attrs.attention.wrt == IR_ATTENTION_K ? &p->slot_dk
                                                                  : &p->slot_dv;
        ok = dst && *dst == UINT32_MAX; /* one member per role: a second would go unwritten */
        if (ok) *dst = slot;
        fwd |= dst == &p->slot_out || dst == &p->slot_out_lse;
        dq |= dst == &p->slot_dq;
        dkv |= dst == &p->slot_dk || dst == &p->slot_dv;
        /* siblings: the same operands (those the smaller op has) and attributes */
        for (uint32_t o = 0; ok && n != first && o < n->n_operands && o < first->n_operands; o++)
            ok = n->operands[o] == first->operands[o];
        ok = ok && same_attention_attrs(n, first) && slot != UINT32_MAX;
    }
    ok = ok && fwd + dq + dkv == 1;
    if (!ok) {
        llmc_err_set(err, "attention kernel of root %%%u: members are not one attention (with its attention_lse), "
                          "one attention_grad wrt q, or attention_grad wrt k and v of one operand set",
                     k->root);
        return false;
    }
    const IrNode *n = ir_graph_node(g, k->root); /* the operands' types: attention's carries v */
    for (uint32_t i = 0; i < k->n_nodes; i++)
        if (ir_graph_node(g, k->nodes[i])->op == IR_OP_ATTENTION) n = ir_graph_node(g, k->nodes[i]);
    p->pass = fwd ? CC_ATTENTION_FORWARD : dq ? CC_ATTENTION_DQ : CC_ATTENTION_DKV;
    uint32_t *slots[6] = {&p->slot_q, &p->slot_k, &p->slot_v, &p->slot_lse, &p->slot_dsum, &p->slot_dout};
    for (uint32_t o = 0; o < n->n_operands; o++) {
        *slots[o] = slot_of(k, n->operands[o]);
        if (*slots[o] == UINT32_MAX || *slots[o] >= k->n_inputs) {
            llmc_err_set(err, "attention kernel of root %%%u: operand %u (%%%u) is not a buffer of the kernel "
                              "(a splat constant?): not supported",
                         k->root, o, n->operands[o]);
            return false;
        }
    }
    const IrType *qt = &ir_graph_node(g, n->operands[0])->type, *kt = &ir_graph_node(g, n->operands[1])->type;
    p->dtype = qt->dtype;
    if (p->dtype != IR_DTYPE_F32 && p->dtype != IR_DTYPE_F64) {
        llmc_err_set(err, "attention kernel of root %%%u: dtype %s not supported yet", k->root, ir_dtype_name(p->dtype));
        return false;
    }
    uint32_t r = qt->rank;
    p->causal = n->attrs.attention.causal;
    p->scale = n->attrs.attention.scale;
    p->R = qt->dims[r - 2], p->d = qt->dims[r - 1], p->S = kt->dims[r - 2];
    p->e = n->n_operands > 2 ? ir_graph_node(g, n->operands[2])->type.dims[r - 1] : 0; /* 0: attention_lse alone */
    p->batches = p->R && p->d ? ir_type_numel(qt) / (p->R * p->d) : 0;
    p->vl = (cc_jit_has_avx512(jit) ? 64 : 32) / (int64_t)ir_dtype_size(p->dtype);
    p->bq = p->bk = TILE;
    int64_t nq = p->bq / p->vl;
    int64_t max_acc = cc_jit_has_avx512(jit) ? MAX_ACC : MAX_ACC / 2;
    p->mr_dot = micro_rows(nq, max_acc);
    int64_t wv = round_up(p->pass == CC_ATTENTION_FORWARD ? p->e : p->d > p->e ? p->d : p->e, p->vl) / p->vl;
    p->mr_acc = micro_rows(wv < MAX_COL_VECS ? wv : MAX_COL_VECS, max_acc);
    int64_t len = p->pass == CC_ATTENTION_DKV ? p->S : p->R;
    int64_t chunks = (len + CHUNK_TARGET - 1) / CHUNK_TARGET;
    if (chunks < 1) chunks = 1;
    p->chunk = round_up((len + chunks - 1) / chunks, TILE);
    while (p->chunk > TILE && stack_bytes(p, p->chunk) > STACK_BUDGET) p->chunk -= TILE;
    if (stack_bytes(p, p->chunk) > STACK_BUDGET) {
        llmc_err_set(err, "attention kernel of root %%%u: head sizes d = %lld, e = %lld need more than %d KiB of "
                          "stack per task: not supported",
                     k->root, (long long)p->d, (long long)p->e, STACK_BUDGET >> 10);
        return false;
    }
    p->chunks = len ? (len + p->chunk - 1) / p->chunk : 0;
    p->tasks = p->batches * p->chunks;
    p->stack_bytes = stack_bytes(p, p->chunk);
    return true;
}

/* --- emission helpers ---------------------------------------------------------------- */

typedef struct At {
    const CcAttentionPlan *p;
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMBuilderRef b;
    LLVMTypeRef i64, i32, ptr, elt, vec, ivec;
    LLVMValueRef fn;
    LLVMValueRef fma;
    LLVMTypeRef fma_ty;
    unsigned esize; /* bytes per element */
    bool avx512;
} At;

typedef struct Loop {
    LLVMBasicBlockRef head, exit;
    LLVMValueRef i;
} Loop;

static LLVMValueRef ci(const At *a, int64_t v) { return LLVMConstInt(a->i64, (unsigned long long)v, 1); }
static LLVMValueRef add(const At *a, LLVMValueRef x, LLVMValueRef y) { return LLVMBuildAdd(a->b, x, y, ""); }
static LLVMValueRef mul(const At *a, LLVMValueRef x, LLVMValueRef y) { return LLVMBuildMul(a->b, x, y, ""); }

static LLVMValueRef smin(const At *a, LLVMValueRef x, LLVMValueRef y) {
    return LLVMBuildSelect(a->b, LLVMBuildICmp(a->b, LLVMIntSLT, x, y, ""), x, y, "");
}

/* for (i = lo; i < hi; i += step), carrying one value (carry: its phi, NULL for none):
 * the builder is left in the body; loop_end closes it from wherever the body ended, the
 * carry's value after the loop is the phi. */
static Loop loop_carry(At *a, LLVMValueRef lo, LLVMValueRef hi, const char *name, LLVMValueRef init,
                       LLVMValueRef *carry) {
    Loop l;
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(a->b);
    l.head = LLVMAppendBasicBlockInContext(a->ctx, a->fn, name);
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(a->ctx, a->fn, "body");
    l.exit = LLVMAppendBasicBlockInContext(a->ctx, a->fn, "done");
    LLVMBuildBr(a->b, l.head);
    LLVMPositionBuilderAtEnd(a->b, l.head);
    l.i = LLVMBuildPhi(a->b, a->i64, name);
    LLVMAddIncoming(l.i, &lo, &pre, 1);
    if (carry) {
        *carry = LLVMBuildPhi(a->b, LLVMTypeOf(init), "carry");
        LLVMAddIncoming(*carry, &init, &pre, 1);
    }
    LLVMBuildCondBr(a->b, LLVMBuildICmp(a->b, LLVMIntSLT, l.i, hi, ""), body, l.exit);
    LLVMPositionBuilderAtEnd(a->b, body);
    return l;
}

static Loop loop_begin(At *a, LLVMValueRef lo, LLVMValueRef hi, const char *name) {
    return loop_carry(a, lo, hi, name, NULL, NULL);
}

/* carry: the phi of loop_carry, next its value for the next iteration (NULL: none). */
static void loop_close(At *a, const Loop *l, int64_t step, LLVMValueRef carry, LLVMValueRef next) {
    LLVMValueRef i_next = add(a, l->i, ci(a, step));
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(a->b);
    LLVMBuildBr(a->b, l->head);
    LLVMAddIncoming(l->i, &i_next, &latch, 1);
    if (carry) LLVMAddIncoming(carry, &next, &latch, 1);
    LLVMPositionBuilderAtEnd(a->b, l->exit);
}

static void loop_end(At *a, const Loop *l) { loop_close(a, l, 1, NULL, NULL); }

/* Runs the rest of the body only when cond holds; if_end joins. */
static LLVMBasicBlockRef if_begin(At *a, LLVMValueRef cond) {
    LLVMBasicBlockRef then = LLVMAppendBasicBlockInContext(a->ctx, a->fn, "then");
    LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(a->ctx, a->fn, "join");
    LLVMBuildCondBr(a->b, cond, then, join);
    LLVMPositionBuilderAtEnd(a->b, then);
    return join;
}

static void if_end(At *a, LLVMBasicBlockRef join) {
    LLVMBuildBr(a->b, join);
    LLVMPositionBuilderAtEnd(a->b, join);
}

static LLVMValueRef at_elt(const At *a, LLVMValueRef base, LLVMValueRef idx) {
    return LLVMBuildGEP2(a->b, a->elt, base, &idx, 1, "");
}

static LLVMValueRef load_elt(const At *a, LLVMValueRef base, LLVMValueRef idx) {
    LLVMValueRef v = LLVMBuildLoad2(a->b, a->elt, at_elt(a, base, idx), "");
    LLVMSetAlignment(v, a->esize);
    return v;
}

static void store_elt(const At *a, LLVMValueRef v, LLVMValueRef base, LLVMValueRef idx) {
    LLVMSetAlignment(LLVMBuildStore(a->b, v, at_elt(a, base, idx)), a->esize);
}

/* Vectors at element idx of base: `aligned` when the address is a multiple of the vector
 * size (the stack tiles), else element-aligned (rows of the operands). */
static LLVMValueRef load_vec(const At *a, LLVMValueRef base, LLVMValueRef idx, bool aligned) {
    LLVMValueRef v = LLVMBuildLoad2(a->b, a->vec, at_elt(a, base, idx), "");
    LLVMSetAlignment(v, aligned ? a->esize * (unsigned)a->p->vl : a->esize);
    return v;
}

static void store_vec(const At *a, LLVMValueRef v, LLVMValueRef base, LLVMValueRef idx) {
    LLVMSetAlignment(LLVMBuildStore(a->b, v, at_elt(a, base, idx)), a->esize * (unsigned)a->p->vl);
}

static LLVMValueRef splat(const At *a, LLVMValueRef s, LLVMTypeRef vt) {
    LLVMValueRef one = LLVMBuildInsertElement(a->b, LLVMGetPoison(vt), s, LLVMConstInt(a->i32, 0, 0), "");
    return LLVMBuildShuffleVector(a->b, one, LLVMGetPoison(vt), LLVMConstNull(LLVMVectorType(a->i32, (unsigned)a->p->vl)),
                                  "");
}

static LLVMValueRef vconst(const At *a, double x) { return splat(a, LLVMConstReal(a->elt, x), a->vec); }

static LLVMValueRef vfma(const At *a, LLVMValueRef x, LLVMValueRef y, LLVMValueRef acc) {
    LLVMValueRef args[3] = {x, y, acc};
    return LLVMBuildCall2(a->b, a->fma_ty, a->fma, args, 3, "");
}

/* Lanes [0, n) of a vector at element idx of base, 0 elsewhere (n < VL: a row's tail). */
static LLVMValueRef load_lanes(const At *a, LLVMValueRef base, LLVMValueRef idx, int64_t n) {
    if (n >= a->p->vl) return load_vec(a, base, idx, false);
    LLVMValueRef lanes[64];
    for (int64_t l = 0; l < a->p->vl; l++) lanes[l] = LLVMConstInt(LLVMInt1TypeInContext(a->ctx), l < n, 0);
    unsigned id = LLVMLookupIntrinsicID("llvm.masked.load", 16);
    LLVMTypeRef tys[2] = {a->vec, a->ptr};
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(a->mod, id, tys, 2);
    LLVMValueRef args[4] = {at_elt(a, base, idx), LLVMConstInt(a->i32, a->esize, 0),
                            LLVMConstVector(lanes, (unsigned)a->p->vl), LLVMConstNull(a->vec)};
    return LLVMBuildCall2(a->b, LLVMIntrinsicGetType(a->ctx, id, tys, 2), fn, args, 4, "");
}

/* exp in the dtype's arithmetic: f32's ~1 ulp polynomial (the softmax here is bound by
 * exp: one per score against 2 head-dim FMAs), f64's correctly rounded one. */
static LLVMValueRef vexp(const At *a, LLVMValueRef x) {
    return a->p->dtype == IR_DTYPE_F32 ? cc_math_exp_f32(a->mod, a->b, x) : cc_math_exp(a->mod, a->b, x);
}

static LLVMValueRef vmax(const At *a, LLVMValueRef x, LLVMValueRef y) { /* x > y ? x : y */
    return LLVMBuildSelect(a->b, LLVMBuildFCmp(a->b, LLVMRealOGT, x, y, ""), x, y, "");
}

static void add_fn_attrs(const At *a, LLVMValueRef fn) {
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                            LLVMCreateEnumAttribute(a->ctx, LLVMGetEnumAttributeKindForName("nounwind", 8), 0));
    if (a->avx512) {
        static const char *const kv[2][2] = {{"prefer-vector-width", "512"}, {"min-legal-vector-width", "512"}};
        for (int i = 0; i < 2; i++)
            LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                                    LLVMCreateStringAttribute(a->ctx, kv[i][0], (unsigned)strlen(kv[i][0]), kv[i][1],
                                                              (unsigned)strlen(kv[i][1])));
    }
}

static LLVMValueRef entry_alloca(At *a, LLVMBasicBlockRef entry, LLVMTypeRef t, int64_t n, const char *name) {
    LLVMBasicBlockRef here = LLVMGetInsertBlock(a->b);
    LLVMValueRef first = LLVMGetFirstInstruction(entry);
    if (first) LLVMPositionBuilderBefore(a->b, first);
    else LLVMPositionBuilderAtEnd(a->b, entry);
    LLVMValueRef v = LLVMBuildAlloca(a->b, LLVMArrayType2(t, (uint64_t)(n > 0 ? n : 1)), name);
    LLVMSetAlignment(v, 64);
    LLVMPositionBuilderAtEnd(a->b, here);
    return v;
}

/* --- microkernels -------------------------------------------------------------------- */

static LLVMValueRef begin_internal(At *a, const char *name, LLVMTypeRef *params, unsigned n) {
    LLVMTypeRef fty = LLVMFunctionType(LLVMVoidTypeInContext(a->ctx), params, n, 0);
    LLVMValueRef fn = LLVMAddFunction(a->mod, name, fty);
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    add_fn_attrs(a, fn);
    a->fn = fn;
    LLVMPositionBuilderAtEnd(a->b, LLVMAppendBasicBlockInContext(a->ctx, fn, "entry"));
    return fn;
}

/* The contraction loop of a microkernel: for (t = 0; t < n; t++) carrying `count` vector
 * accumulators from init[]; the builder is left in the body with acc[] the current
 * values; sum_loop_end closes it with next[] and leaves the builder after the loop, acc[]
 * then holding the results. */
typedef struct SumLoop {
    LLVMBasicBlockRef head, exit;
    LLVMValueRef t, acc[MAX_ACC];
    unsigned count;
} SumLoop;

static SumLoop sum_loop_begin(At *a, LLVMValueRef n, LLVMValueRef *init, unsigned count) {
    SumLoop l = {.count = count};
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(a->b);
    l.head = LLVMAppendBasicBlockInContext(a->ctx, a->fn, "t.head");
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(a->ctx, a->fn, "t.body");
    l.exit = LLVMAppendBasicBlockInContext(a->ctx, a->fn, "t.done");
    LLVMBuildBr(a->b, l.head);
    LLVMPositionBuilderAtEnd(a->b, l.head);
    LLVMValueRef t0 = ci(a, 0);
    l.t = LLVMBuildPhi(a->b, a->i64, "t");
    LLVMAddIncoming(l.t, &t0, &pre, 1);
    for (unsigned x = 0; x < count; x++) {
        l.acc[x] = LLVMBuildPhi(a->b, a->vec, "acc");
        LLVMAddIncoming(l.acc[x], &init[x], &pre, 1);
    }
    LLVMBuildCondBr(a->b, LLVMBuildICmp(a->b, LLVMIntSLT, l.t, n, ""), body, l.exit);
    LLVMPositionBuilderAtEnd(a->b, body);
    return l;
}

static void sum_loop_end(At *a, SumLoop *l, LLVMValueRef *next) {
    LLVMValueRef tn = add(a, l->t, ci(a, 1));
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(a->b);
    LLVMBuildBr(a->b, l->head);
    LLVMAddIncoming(l->t, &tn, &latch, 1);
    for (unsigned x = 0; x < l->count; x++) LLVMAddIncoming(l->acc[x], &next[x], &latch, 1);
    LLVMPositionBuilderAtEnd(a->b, l->exit);
}

/* internal void dot(ptr A, i64 lda, i64 r0, i64 amax, ptr Bt, i64 ldb, i64 kdim, ptr C):
 *   C[i][0..bq) = sum_{t < kdim} A[min(r0 + i, amax)][t] * Bt[t][0..bq), i < mr_dot;
 *   C rows are bq apart; Bt rows ldb apart, vector-aligned. */
static LLVMValueRef build_dot(At *a, const char *name) {
    const CcAttentionPlan *p = a->p;
    unsigned MR = (unsigned)p->mr_dot, NV = (unsigned)(p->bq / p->vl);
    LLVMTypeRef params[8] = {a->ptr, a->i64, a->i64, a->i64, a->ptr, a->i64, a->i64, a->ptr};
    LLVMValueRef fn = begin_internal(a, name, params, 8);
    LLVMValueRef A = LLVMGetParam(fn, 0), lda = LLVMGetParam(fn, 1), r0 = LLVMGetParam(fn, 2);
    LLVMValueRef amax = LLVMGetParam(fn, 3), Bt = LLVMGetParam(fn, 4), ldb = LLVMGetParam(fn, 5);
    LLVMValueRef kdim = LLVMGetParam(fn, 6), C = LLVMGetParam(fn, 7);
    LLVMValueRef rows[MAX_ACC], zero[MAX_ACC], next[MAX_ACC], bv[MAX_ACC];
    for (unsigned i = 0; i < MR; i++) rows[i] = at_elt(a, A, mul(a, smin(a, add(a, r0, ci(a, i)), amax), lda));
    for (unsigned x = 0; x < MR * NV; x++) zero[x] = LLVMConstNull(a->vec);
    SumLoop l = sum_loop_begin(a, kdim, zero, MR * NV);
    LLVMValueRef brow = mul(a, l.t, ldb);
    for (unsigned v = 0; v < NV; v++) bv[v] = load_vec(a, Bt, add(a, brow, ci(a, v * p->vl)), true);
    for (unsigned i = 0; i < MR; i++) {
        LLVMValueRef sv = splat(a, load_elt(a, rows[i], l.t), a->vec);
        for (unsigned v = 0; v < NV; v++) next[i * NV + v] = vfma(a, sv, bv[v], l.acc[i * NV + v]);
    }
    sum_loop_end(a, &l, next);
    for (unsigned i = 0; i < MR; i++)
        for (unsigned v = 0; v < NV; v++) store_vec(a, l.acc[i * NV + v], C, ci(a, i * p->bq + v * p->vl));
    LLVMBuildRetVoid(a->b);
    return fn;
}

/* internal void acc(ptr P, i64 prs, i64 pis, ptr B, i64 ldb, i64 b0, i64 bmax, i64 n, ptr Acc, i64 lda):
 *   Acc[i][0..W) += sum_{t < n} P[i prs + t pis] * B[min(b0 + t, bmax)][0..W), i < mr_acc,
 *   in t order; Acc rows lda apart (vector-aligned, W rounded up to whole vectors); B rows
 *   ldb apart, read W elements each (the tail vector masked). */
static LLVMValueRef build_acc(At *a, const char *name, int64_t W) {
    const CcAttentionPlan *p = a->p;
    unsigned MR = (unsigned)p->mr_acc;
    int64_t WV = (W + p->vl - 1) / p->vl;
    LLVMTypeRef params[10] = {a->ptr, a->i64, a->i64, a->ptr, a->i64, a->i64, a->i64, a->i64, a->ptr, a->i64};
    LLVMValueRef fn = begin_internal(a, name, params, 10);
    LLVMValueRef P = LLVMGetParam(fn, 0), prs = LLVMGetParam(fn, 1), pis = LLVMGetParam(fn, 2);
    LLVMValueRef B = LLVMGetParam(fn, 3), ldb = LLVMGetParam(fn, 4), b0 = LLVMGetParam(fn, 5);
    LLVMValueRef bmax = LLVMGetParam(fn, 6), n = LLVMGetParam(fn, 7), Acc = LLVMGetParam(fn, 8);
    LLVMValueRef lda = LLVMGetParam(fn, 9);
    LLVMValueRef prow[MAX_ACC], arow[MAX_ACC];
    for (unsigned i = 0; i < MR; i++) {
        prow[i] = at_elt(a, P, mul(a, ci(a, i), prs));
        arow[i] = at_elt(a, Acc, mul(a, ci(a, i), lda));
    }
    for (int64_t c0 = 0; c0 < WV; c0 += MAX_COL_VECS) { /* column groups, each its own t loop */
        unsigned NV = (unsigned)(WV - c0 < MAX_COL_VECS ? WV - c0 : MAX_COL_VECS);
        LLVMValueRef init[MAX_ACC], next[MAX_ACC], bv[MAX_COL_VECS];
        for (unsigned i = 0; i < MR; i++)
            for (unsigned v = 0; v < NV; v++) init[i * NV + v] = load_vec(a, arow[i], ci(a, (c0 + v) * p->vl), true);
        SumLoop l = sum_loop_begin(a, n, init, MR * NV);
        LLVMValueRef brow = at_elt(a, B, mul(a, smin(a, add(a, b0, l.t), bmax), ldb));
        for (unsigned v = 0; v < NV; v++) {
            int64_t col = (c0 + v) * p->vl;
            bv[v] = load_lanes(a, brow, ci(a, col), W - col);
        }
        LLVMValueRef pt = mul(a, l.t, pis);
        for (unsigned i = 0; i < MR; i++) {
            LLVMValueRef sv = splat(a, load_elt(a, prow[i], pt), a->vec);
            for (unsigned v = 0; v < NV; v++) next[i * NV + v] = vfma(a, sv, bv[v], l.acc[i * NV + v]);
        }
        sum_loop_end(a, &l, next);
        for (unsigned i = 0; i < MR; i++)
            for (unsigned v = 0; v < NV; v++) store_vec(a, l.acc[i * NV + v], arow[i], ci(a, (c0 + v) * p->vl));
    }
    LLVMBuildRetVoid(a->b);
    return fn;
}

/* --- the kernel ---------------------------------------------------------------------- */

/* The values one task works with. */
typedef struct Task {
    LLVMValueRef q, k, v, lse, dsum, dout;   /* this batch element's operands */
    LLVMValueRef out, out_lse, dq, dk, dv;   /* and outputs (NULL: not written) */
    LLVMValueRef start, n;                   /* the chunk: first row (or key), how many */
    LLVMValueRef dot, acc_d, acc_e;          /* the microkernels (acc by width d and e) */
    LLVMTypeRef dot_ty, acc_ty;
} Task;

/* The largest lim(r) = (causal ? r mod S + 1 : S) over rows [r0, r0 + n), n >= 1: the
 * keys any of them attends to are [0, that). */
static LLVMValueRef rows_lim(At *a, LLVMValueRef r0, LLVMValueRef n) {
    const CcAttentionPlan *p = a->p;
    if (!p->causal) return ci(a, p->S);
    LLVMValueRef end = add(a, LLVMBuildSRem(a->b, r0, ci(a, p->S), ""), n); /* no wrap: the last row's lim */
    return smin(a, end, ci(a, p->S));
}

static LLVMValueRef row_lim(At *a, LLVMValueRef r) { return rows_lim(a, r, ci(a, 1)); }

static void call_dot(At *a, const Task *t, LLVMValueRef A, int64_t lda, LLVMValueRef r0, LLVMValueRef Bt,
                     LLVMValueRef ldb, int64_t kdim, LLVMValueRef C) {
    LLVMValueRef args[8] = {A, ci(a, lda), r0, ci(a, a->p->S - 1), Bt, ldb, ci(a, kdim), C};
    LLVMBuildCall2(a->b, t->dot_ty, t->dot, args, 8, "");
}

static void call_acc(At *a, const Task *t, LLVMValueRef fn, LLVMValueRef P, int64_t prs, int64_t pis, LLVMValueRef B,
                     int64_t ldb, LLVMValueRef b0, int64_t bmax, LLVMValueRef n, LLVMValueRef Acc, int64_t lda) {
    LLVMValueRef args[10] = {P, ci(a, prs), ci(a, pis), B, ci(a, ldb), b0, ci(a, bmax), n, Acc, ci(a, lda)};
    LLVMBuildCall2(a->b, t->acc_ty, fn, args, 10, "");
}

/* Scores of keys [j0, j0 + nj) (rounded up to the dot height) against the row tile
 * whose transposed operand starts at Bt (ldb apart): St = k Bt (kdim d), and Dt = v
 * dOt when dOt is not NULL (kdim e). */
static void emit_scores(At *a, const Task *t, LLVMValueRef j0, LLVMValueRef nj, LLVMValueRef Qt, LLVMValueRef dOt,
                        LLVMValueRef ldb, LLVMValueRef St, LLVMValueRef Dt) {
    const CcAttentionPlan *p = a->p;
    Loop g = loop_begin(a, ci(a, 0), nj, "dot");
    LLVMValueRef row = add(a, j0, g.i), off = mul(a, g.i, ci(a, p->bq));
    call_dot(a, t, t->k, p->d, row, Qt, ldb, p->d, at_elt(a, St, off));
    if (dOt) call_dot(a, t, t->v, p->e, row, dOt, ldb, p->e, at_elt(a, Dt, off));
    loop_close(a, &g, p->mr_dot, NULL, NULL);
}

/* Transposes rows [r0, r0 + n) of x [.., cols] into xt[cols][ld] at columns [0, pad),
 * zeros past n: VL rows x VL columns at a time, loaded as row vectors (the tail columns
 * masked) and transposed in registers (cc_cg_transpose); pad and ld multiples of VL. */
static void emit_transpose(At *a, LLVMValueRef x, int64_t cols, LLVMValueRef r0, LLVMValueRef n, int64_t pad,
                           LLVMValueRef xt, int64_t ld) {
    unsigned VL = (unsigned)a->p->vl;
    Loop i = loop_begin(a, ci(a, 0), ci(a, pad), "tr.rows");
    LLVMValueRef rows[64], valid[64], zero = LLVMConstNull(a->vec);
    for (unsigned r = 0; r < VL; r++) {
        LLVMValueRef row = add(a, i.i, ci(a, r));
        LLVMValueRef ok = LLVMBuildICmp(a->b, LLVMIntSLT, row, n, "");
        valid[r] = splat(a, ok, LLVMVectorType(LLVMInt1TypeInContext(a->ctx), VL));
        rows[r] = at_elt(a, x, mul(a, add(a, r0, LLVMBuildSelect(a->b, ok, row, ci(a, 0), "")), ci(a, cols)));
    }
    for (int64_t c0 = 0; c0 < cols; c0 += VL) {
        int64_t nc = cols - c0 < (int64_t)VL ? cols - c0 : (int64_t)VL;
        LLVMValueRef v[64];
        for (unsigned r = 0; r < VL; r++)
            v[r] = LLVMBuildSelect(a->b, valid[r], load_lanes(a, rows[r], ci(a, c0), nc), zero, "");
        cc_cg_transpose(a->b, v, VL);
        for (int64_t c = 0; c < nc; c++) store_vec(a, v[c], xt, add(a, mul(a, ci(a, c0 + c), ci(a, ld)), i.i));
    }
    loop_close(a, &i, VL, NULL, NULL);
}

/* Per-row values of rows [r0, r0 + n) into dst[0..pad): x[r] (x NULL: lim(r) as i32) for
 * valid rows, `fill` past n. */
static void emit_row_values(At *a, LLVMValueRef x, LLVMValueRef r0, LLVMValueRef n, int64_t pad, LLVMValueRef dst,
                            double fill, int64_t lim_fill) {
    Loop i = loop_begin(a, ci(a, 0), ci(a, pad), "rows");
    LLVMValueRef valid = LLVMBuildICmp(a->b, LLVMIntSLT, i.i, n, "");
    LLVMValueRef r = add(a, r0, LLVMBuildSelect(a->b, valid, i.i, ci(a, 0), ""));
    if (x) {
        store_elt(a, LLVMBuildSelect(a->b, valid, load_elt(a, x, r), LLVMConstReal(a->elt, fill), ""), dst, i.i);
    } else {
        LLVMValueRef lim = LLVMBuildSelect(a->b, valid, row_lim(a, r), ci(a, lim_fill), "");
        LLVMValueRef st = LLVMBuildStore(a->b, LLVMBuildTrunc(a->b, lim, a->i32, ""),
                                         LLVMBuildGEP2(a->b, a->i32, dst, &i.i, 1, ""));
        LLVMSetAlignment(st, 4);
    }
    loop_end(a, &i);
}

static void emit_zero(At *a, LLVMValueRef dst, int64_t n) {
    Loop i = loop_begin(a, ci(a, 0), ci(a, n), "zero");
    store_vec(a, LLVMConstNull(a->vec), dst, i.i);
    loop_close(a, &i, a->p->vl, NULL, NULL);
}

/* dst[(start + i) * cols + c] = src[i * ld + c] (/ div[i] when div), i < n, c < cols. */
static void emit_store_rows(At *a, LLVMValueRef dst, int64_t cols, LLVMValueRef start, LLVMValueRef n,
                            LLVMValueRef src, int64_t ld, LLVMValueRef div) {
    if (!dst) return;
    Loop i = loop_begin(a, ci(a, 0), n, "out.row");
    LLVMValueRef l = div ? load_elt(a, div, i.i) : NULL;
    LLVMValueRef drow = mul(a, add(a, start, i.i), ci(a, cols)), srow = mul(a, i.i, ci(a, ld));
    Loop c = loop_begin(a, ci(a, 0), ci(a, cols), "out.col");
    LLVMValueRef x = load_elt(a, src, add(a, srow, c.i));
    if (l) x = LLVMBuildFDiv(a->b, x, l, "");
    store_elt(a, x, dst, add(a, drow, c.i));
    loop_end(a, &c);
    loop_end(a, &i);
}

/* The masked, scaled score tile column vector at (jj, lane block vb): s = scale St, and
 * whether key j0 + jj is attended by each row (key < lim). */
static LLVMValueRef tile_score(At *a, LLVMValueRef St, LLVMValueRef idx, LLVMValueRef key, LLVMValueRef limv,
                               LLVMValueRef *ok) {
    LLVMValueRef keyv = splat(a, LLVMBuildTrunc(a->b, key, a->i32, ""), a->ivec);
    *ok = LLVMBuildICmp(a->b, LLVMIntSLT, keyv, limv, "");
    return LLVMBuildFMul(a->b, load_vec(a, St, idx, true), vconst(a, a->p->scale), "");
}

static LLVMValueRef load_ivec(At *a, LLVMValueRef base, LLVMValueRef idx) {
    LLVMValueRef v = LLVMBuildLoad2(a->b, a->ivec, LLVMBuildGEP2(a->b, a->i32, base, &idx, 1, ""), "");
    LLVMSetAlignment(v, 4 * (unsigned)a->p->vl);
    return v;
}

/* FORWARD's online softmax over keys [j0, j0 + nj) of the row tile at i0 (rows along
 * vectors): St becomes p; M, L and Corr (the tile's rescale factors) are updated. */
static void emit_softmax_tile(At *a, LLVMValueRef St, LLVMValueRef j0, LLVMValueRef nj, LLVMValueRef i0,
                              LLVMValueRef LIM, LLVMValueRef M, LLVMValueRef L, LLVMValueRef Corr) {
    const CcAttentionPlan *p = a->p;
    LLVMValueRef ninf = vconst(a, -INFINITY);
    for (int64_t vb = 0; vb < p->bq / p->vl; vb++) {
        LLVMValueRef off = add(a, i0, ci(a, vb * p->vl)), limv = load_ivec(a, LIM, off);
        LLVMValueRef mold = load_vec(a, M, off, true), mblk, lsum, ok;
        Loop j = loop_carry(a, ci(a, 0), nj, "max", ninf, &mblk);
        LLVMValueRef idx = add(a, mul(a, j.i, ci(a, p->bq)), ci(a, vb * p->vl));
        LLVMValueRef s = tile_score(a, St, idx, add(a, j0, j.i), limv, &ok);
        s = LLVMBuildSelect(a->b, ok, s, ninf, "");
        store_vec(a, s, St, idx);
        loop_close(a, &j, 1, mblk, vmax(a, s, mblk));
        LLVMValueRef mnew = vmax(a, mblk, mold);
        LLVMValueRef corr = vexp(a, LLVMBuildFSub(a->b, mold, mnew, ""));
        Loop e = loop_carry(a, ci(a, 0), nj, "exp", LLVMConstNull(a->vec), &lsum);
        idx = add(a, mul(a, e.i, ci(a, p->bq)), ci(a, vb * p->vl));
        LLVMValueRef pr = vexp(a, LLVMBuildFSub(a->b, load_vec(a, St, idx, true), mnew, ""));
        store_vec(a, pr, St, idx);
        loop_close(a, &e, 1, lsum, LLVMBuildFAdd(a->b, lsum, pr, ""));
        LLVMValueRef lnew = LLVMBuildFAdd(a->b, LLVMBuildFMul(a->b, load_vec(a, L, off, true), corr, ""), lsum, "");
        store_vec(a, mnew, M, off);
        store_vec(a, lnew, L, off);
        store_vec(a, corr, Corr, ci(a, vb * p->vl));
    }
}

/* The backward's tile over keys [j0, j0 + nj): p = exp(scale St - lse) where attended,
 * dS = scale p (Dt - dsum) (0 where not); St becomes p (when keep_p) and Dt (or St) dS.
 * Row statistics at element `roff` of LSE, DS, LIM. */
static void emit_grad_tile(At *a, LLVMValueRef St, LLVMValueRef Dt, LLVMValueRef j0, LLVMValueRef nj,
                           LLVMValueRef roff, LLVMValueRef LSE, LLVMValueRef DS, LLVMValueRef LIM, bool keep_p) {
    const CcAttentionPlan *p = a->p;
    LLVMValueRef zero = LLVMConstNull(a->vec), sc = vconst(a, p->scale);
    for (int64_t vb = 0; vb < p->bq / p->vl; vb++) {
        LLVMValueRef off = add(a, roff, ci(a, vb * p->vl)), limv = load_ivec(a, LIM, off), ok;
        LLVMValueRef lsev = load_vec(a, LSE, off, true), dsv = load_vec(a, DS, off, true);
        Loop j = loop_begin(a, ci(a, 0), nj, "grad");
        LLVMValueRef idx = add(a, mul(a, j.i, ci(a, p->bq)), ci(a, vb * p->vl));
        LLVMValueRef s = tile_score(a, St, idx, add(a, j0, j.i), limv, &ok);
        LLVMValueRef pr = vexp(a, LLVMBuildFSub(a->b, s, lsev, ""));
        pr = LLVMBuildSelect(a->b, ok, pr, zero, "");
        LLVMValueRef ds = LLVMBuildFMul(a->b, LLVMBuildFMul(a->b, pr, LLVMBuildFSub(a->b, load_vec(a, Dt, idx, true), dsv, ""), ""), sc, "");
        ds = LLVMBuildSelect(a->b, ok, ds, zero, "");
        if (keep_p) {
            store_vec(a, pr, St, idx);
            store_vec(a, ds, Dt, idx);
        } else {
            store_vec(a, ds, St, idx);
        }
        loop_end(a, &j);
    }
}

/* Tile loop bounds of a row tile: nj = min(bk, lim - j0) keys. */
static LLVMValueRef tile_keys(At *a, LLVMValueRef j0, LLVMValueRef lim) {
    return smin(a, ci(a, a->p->bk), LLVMBuildSub(a->b, lim, j0, ""));
}

/* The tile pairs of a row-chunk pass (FORWARD, DQ), keys outer: key tile j.i, row tile
 * r.i of the chunk, for the pairs where some row of the tile attends to a key of the key
 * tile; nj of its keys are attended by some row. row_tiles_end closes the loops. */
typedef struct RowTiles {
    Loop j, r;
    LLVMBasicBlockRef join;
    LLVMValueRef nj;
} RowTiles;

static RowTiles row_tiles_begin(At *a, const Task *t) {
    const CcAttentionPlan *p = a->p;
    RowTiles rt;
    LLVMValueRef kend = rows_lim(a, t->start, t->n);
    rt.j = loop_begin(a, ci(a, 0), kend, "keys");
    rt.r = loop_begin(a, ci(a, 0), t->n, "tile");
    LLVMValueRef lim = rows_lim(a, add(a, t->start, rt.r.i), smin(a, ci(a, p->bq), LLVMBuildSub(a->b, t->n, rt.r.i, "")));
    rt.join = if_begin(a, LLVMBuildICmp(a->b, LLVMIntSLT, rt.j.i, lim, ""));
    rt.nj = tile_keys(a, rt.j.i, lim);
    return rt;
}

static void row_tiles_end(At *a, RowTiles *rt) {
    if_end(a, rt->join);
    loop_close(a, &rt->r, a->p->bq, NULL, NULL);
    loop_close(a, &rt->j, a->p->bk, NULL, NULL);
}

/* O = O exp(m - m') + p v for the row tile at r0 (Corr: its exp(m - m')). */
static void emit_pv_tile(At *a, const Task *t, LLVMValueRef St, LLVMValueRef j0, LLVMValueRef nj, LLVMValueRef r0,
                         LLVMValueRef Acc, LLVMValueRef Corr) {
    const CcAttentionPlan *p = a->p;
    int64_t EP = round_up(p->e, p->vl);
    Loop s = loop_begin(a, ci(a, 0), ci(a, p->bq), "rescale"); /* O *= exp(m - m') */
    LLVMValueRef c = splat(a, load_elt(a, Corr, s.i), a->vec), orow = mul(a, add(a, r0, s.i), ci(a, EP));
    for (int64_t w = 0; w < EP; w += p->vl) {
        LLVMValueRef idx = add(a, orow, ci(a, w));
        store_vec(a, LLVMBuildFMul(a->b, load_vec(a, Acc, idx, true), c, ""), Acc, idx);
    }
    loop_end(a, &s);
    Loop g = loop_begin(a, ci(a, 0), ci(a, p->bq), "pv");
    call_acc(a, t, t->acc_e, at_elt(a, St, g.i), 1, p->bq, t->v, p->e, j0, p->S - 1, nj,
             at_elt(a, Acc, mul(a, add(a, r0, g.i), ci(a, EP))), EP);
    loop_close(a, &g, p->mr_acc, NULL, NULL);
}

static void emit_forward(At *a, const Task *t, LLVMBasicBlockRef entry) {
    const CcAttentionPlan *p = a->p;
    int64_t C = p->chunk, EP = round_up(p->e, p->vl);
    LLVMValueRef Qt = entry_alloca(a, entry, a->elt, p->d * C, "Qt");
    LLVMValueRef Acc = entry_alloca(a, entry, a->elt, C * EP, "O");
    LLVMValueRef M = entry_alloca(a, entry, a->elt, C, "m"), L = entry_alloca(a, entry, a->elt, C, "l");
    LLVMValueRef Corr = entry_alloca(a, entry, a->elt, p->bq, "corr");
    LLVMValueRef LIM = entry_alloca(a, entry, a->i32, C, "lim");
    LLVMValueRef St = entry_alloca(a, entry, a->elt, p->bk * p->bq, "St");
    emit_transpose(a, t->q, p->d, t->start, t->n, C, Qt, C);
    emit_row_values(a, NULL, t->start, t->n, C, LIM, 0, p->S);
    Loop i = loop_begin(a, ci(a, 0), ci(a, C), "init");
    store_elt(a, LLVMConstReal(a->elt, -INFINITY), M, i.i);
    store_elt(a, LLVMConstNull(a->elt), L, i.i);
    loop_end(a, &i);
    emit_zero(a, Acc, C * EP);
    RowTiles rt = row_tiles_begin(a, t);
    LLVMValueRef j0 = rt.j.i, r0 = rt.r.i, nj = rt.nj;
    emit_scores(a, t, j0, nj, at_elt(a, Qt, r0), NULL, ci(a, C), St, NULL);
    emit_softmax_tile(a, St, j0, nj, r0, LIM, M, L, Corr);
    if (t->out) emit_pv_tile(a, t, St, j0, nj, r0, Acc, Corr);
    row_tiles_end(a, &rt);
    emit_store_rows(a, t->out, p->e, t->start, t->n, Acc, EP, L);
    if (t->out_lse) { /* lse = m + log l */
        Loop o = loop_begin(a, ci(a, 0), t->n, "lse");
        LLVMValueRef x = LLVMBuildFAdd(a->b, load_elt(a, M, o.i), cc_math_log(a->mod, a->b, load_elt(a, L, o.i)), "");
        store_elt(a, x, t->out_lse, add(a, t->start, o.i));
        loop_end(a, &o);
    }
}

static void emit_dq(At *a, const Task *t, LLVMBasicBlockRef entry) {
    const CcAttentionPlan *p = a->p;
    int64_t C = p->chunk, DP = round_up(p->d, p->vl);
    LLVMValueRef Qt = entry_alloca(a, entry, a->elt, p->d * C, "Qt");
    LLVMValueRef dOt = entry_alloca(a, entry, a->elt, p->e * C, "dOt");
    LLVMValueRef dQ = entry_alloca(a, entry, a->elt, C * DP, "dQ");
    LLVMValueRef LSE = entry_alloca(a, entry, a->elt, C, "lse"), DS = entry_alloca(a, entry, a->elt, C, "dsum");
    LLVMValueRef LIM = entry_alloca(a, entry, a->i32, C, "lim");
    LLVMValueRef St = entry_alloca(a, entry, a->elt, p->bk * p->bq, "St");
    LLVMValueRef Dt = entry_alloca(a, entry, a->elt, p->bk * p->bq, "Dt");
    emit_transpose(a, t->q, p->d, t->start, t->n, C, Qt, C);
    emit_transpose(a, t->dout, p->e, t->start, t->n, C, dOt, C);
    emit_row_values(a, t->lse, t->start, t->n, C, LSE, 0, 0);
    emit_row_values(a, t->dsum, t->start, t->n, C, DS, 0, 0);
    emit_row_values(a, NULL, t->start, t->n, C, LIM, 0, p->S);
    emit_zero(a, dQ, C * DP);
    RowTiles rt = row_tiles_begin(a, t);
    LLVMValueRef j0 = rt.j.i, r0 = rt.r.i, nj = rt.nj;
    emit_scores(a, t, j0, nj, at_elt(a, Qt, r0), at_elt(a, dOt, r0), ci(a, C), St, Dt);
    emit_grad_tile(a, St, Dt, j0, nj, r0, LSE, DS, LIM, false);
    Loop g = loop_begin(a, ci(a, 0), ci(a, p->bq), "dsk");
    call_acc(a, t, t->acc_d, at_elt(a, St, g.i), 1, p->bq, t->k, p->d, j0, p->S - 1, nj,
             at_elt(a, dQ, mul(a, add(a, r0, g.i), ci(a, DP))), DP);
    loop_close(a, &g, p->mr_acc, NULL, NULL);
    row_tiles_end(a, &rt);
    emit_store_rows(a, t->dq, p->d, t->start, t->n, dQ, DP, NULL);
}

static void emit_dkv(At *a, const Task *t, LLVMBasicBlockRef entry) {
    const CcAttentionPlan *p = a->p;
    int64_t C = p->chunk, BQ = p->bq, DP = round_up(p->d, p->vl), EP = round_up(p->e, p->vl);
    LLVMValueRef Qt = entry_alloca(a, entry, a->elt, p->d * BQ, "Qt");
    LLVMValueRef dOt = entry_alloca(a, entry, a->elt, p->e * BQ, "dOt");
    LLVMValueRef dK = entry_alloca(a, entry, a->elt, C * DP, "dK"), dV = entry_alloca(a, entry, a->elt, C * EP, "dV");
    LLVMValueRef LSE = entry_alloca(a, entry, a->elt, BQ, "lse"), DS = entry_alloca(a, entry, a->elt, BQ, "dsum");
    LLVMValueRef LIM = entry_alloca(a, entry, a->i32, BQ, "lim");
    LLVMValueRef St = entry_alloca(a, entry, a->elt, p->bk * BQ, "St");
    LLVMValueRef Dt = entry_alloca(a, entry, a->elt, p->bk * BQ, "Dt");
    emit_zero(a, dK, C * DP);
    emit_zero(a, dV, C * EP);
    LLVMValueRef kc_end = add(a, t->start, t->n);
    Loop r = loop_begin(a, ci(a, 0), ci(a, p->R), "tile");
    LLVMValueRef nr = smin(a, ci(a, BQ), LLVMBuildSub(a->b, ci(a, p->R), r.i, ""));
    LLVMValueRef lim = rows_lim(a, r.i, nr), kend = smin(a, kc_end, lim);
    LLVMBasicBlockRef join = if_begin(a, LLVMBuildICmp(a->b, LLVMIntSLT, t->start, kend, ""));
    emit_transpose(a, t->q, p->d, r.i, nr, BQ, Qt, BQ);
    emit_transpose(a, t->dout, p->e, r.i, nr, BQ, dOt, BQ);
    emit_row_values(a, t->lse, r.i, nr, BQ, LSE, INFINITY, 0);
    emit_row_values(a, t->dsum, r.i, nr, BQ, DS, 0, 0);
    emit_row_values(a, NULL, r.i, nr, BQ, LIM, 0, 0);
    Loop j = loop_begin(a, t->start, kend, "keys");
    LLVMValueRef nj = tile_keys(a, j.i, kend);
    /* dV and dK sum over keys in microkernel-high groups: the group's rows past nj must
     * hold zeros, so the tile is computed (and masked) up to nj rounded up. */
    LLVMValueRef njr = smin(a, ci(a, p->bk),
                            mul(a, LLVMBuildSDiv(a->b, add(a, nj, ci(a, p->mr_acc - 1)), ci(a, p->mr_acc), ""),
                                ci(a, p->mr_acc)));
    emit_scores(a, t, j.i, njr, Qt, dOt, ci(a, BQ), St, Dt);
    emit_grad_tile(a, St, Dt, j.i, njr, ci(a, 0), LSE, DS, LIM, true);
    LLVMValueRef krow = LLVMBuildSub(a->b, j.i, t->start, "");
    Loop g = loop_begin(a, ci(a, 0), nj, "dkv");
    LLVMValueRef tile_row = mul(a, g.i, ci(a, BQ)), key = add(a, krow, g.i);
    call_acc(a, t, t->acc_e, at_elt(a, St, tile_row), BQ, 1, t->dout, p->e, r.i, p->R - 1, nr,
             at_elt(a, dV, mul(a, key, ci(a, EP))), EP);
    call_acc(a, t, t->acc_d, at_elt(a, Dt, tile_row), BQ, 1, t->q, p->d, r.i, p->R - 1, nr,
             at_elt(a, dK, mul(a, key, ci(a, DP))), DP);
    loop_close(a, &g, p->mr_acc, NULL, NULL);
    loop_close(a, &j, p->bk, NULL, NULL);
    if_end(a, join);
    loop_close(a, &r, BQ, NULL, NULL);
    emit_store_rows(a, t->dk, p->d, t->start, t->n, dK, DP, NULL);
    emit_store_rows(a, t->dv, p->e, t->start, t->n, dV, EP, NULL);
}

static LLVMValueRef buf_at(At *a, LLVMValueRef bufs, uint32_t slot, LLVMValueRef off, const char *name) {
    if (slot == UINT32_MAX) return NULL;
    LLVMValueRef ix = ci(a, slot);
    LLVMValueRef base = LLVMBuildLoad2(a->b, a->ptr, LLVMBuildGEP2(a->b, a->ptr, bufs, &ix, 1, ""), name);
    return at_elt(a, base, off);
}

static void build_kernel(At *a, const char *name) {
    const CcAttentionPlan *p = a->p;
    Task t = {0};
    char sub[96];
    snprintf(sub, sizeof sub, "%s.dot", name);
    t.dot = build_dot(a, sub);
    t.dot_ty = LLVMGlobalGetValueType(t.dot);
    snprintf(sub, sizeof sub, "%s.acc_e", name);
    t.acc_e = build_acc(a, sub, p->e);
    t.acc_ty = LLVMGlobalGetValueType(t.acc_e);
    t.acc_d = t.acc_e;
    if (p->d != p->e && p->pass != CC_ATTENTION_FORWARD) {
        snprintf(sub, sizeof sub, "%s.acc_d", name);
        t.acc_d = build_acc(a, sub, p->d);
    }
    LLVMTypeRef params[3] = {a->ptr, a->i64, a->i64};
    LLVMValueRef fn = LLVMAddFunction(a->mod, name, LLVMFunctionType(LLVMVoidTypeInContext(a->ctx), params, 3, 0));
    add_fn_attrs(a, fn);
    a->fn = fn;
    LLVMValueRef bufs = LLVMGetParam(fn, 0), begin = LLVMGetParam(fn, 1), end = LLVMGetParam(fn, 2);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(a->ctx, fn, "entry");
    LLVMPositionBuilderAtEnd(a->b, entry);
    Loop task = loop_begin(a, begin, end, "task");
    LLVMValueRef b = LLVMBuildSDiv(a->b, task.i, ci(a, p->chunks), "batch");
    LLVMValueRef c = LLVMBuildSRem(a->b, task.i, ci(a, p->chunks), "chunk");
    LLVMValueRef rows = mul(a, b, ci(a, p->R)), keys = mul(a, b, ci(a, p->S));
    t.q = buf_at(a, bufs, p->slot_q, mul(a, rows, ci(a, p->d)), "q");
    t.k = buf_at(a, bufs, p->slot_k, mul(a, keys, ci(a, p->d)), "k");
    t.v = buf_at(a, bufs, p->slot_v, mul(a, keys, ci(a, p->e)), "v");
    t.lse = buf_at(a, bufs, p->slot_lse, rows, "lse");
    t.dsum = buf_at(a, bufs, p->slot_dsum, rows, "dsum");
    t.dout = buf_at(a, bufs, p->slot_dout, mul(a, rows, ci(a, p->e)), "dout");
    t.out = buf_at(a, bufs, p->slot_out, mul(a, rows, ci(a, p->e)), "out");
    t.out_lse = buf_at(a, bufs, p->slot_out_lse, rows, "out.lse");
    t.dq = buf_at(a, bufs, p->slot_dq, mul(a, rows, ci(a, p->d)), "dq");
    t.dk = buf_at(a, bufs, p->slot_dk, mul(a, keys, ci(a, p->d)), "dk");
    t.dv = buf_at(a, bufs, p->slot_dv, mul(a, keys, ci(a, p->e)), "dv");
    int64_t len = p->pass == CC_ATTENTION_DKV ? p->S : p->R;
    t.start = mul(a, c, ci(a, p->chunk));
    t.n = smin(a, ci(a, p->chunk), LLVMBuildSub(a->b, ci(a, len), t.start, ""));
    switch (p->pass) {
    case CC_ATTENTION_FORWARD: emit_forward(a, &t, entry); break;
    case CC_ATTENTION_DQ: emit_dq(a, &t, entry); break;
    case CC_ATTENTION_DKV: emit_dkv(a, &t, entry); break;
    }
    loop_end(a, &task);
    LLVMBuildRetVoid(a->b);
}

LLVMModuleRef cc_attention_module(const CcJit *jit, LLVMContextRef ctx, const IrGraph *g, const CcKernel *k,
                                  LlmcErr *err) {
    CcAttentionPlan plan;
    if (!cc_attention_plan(jit, g, k, &plan, err)) return NULL;
    At a = {.p = &plan, .ctx = ctx, .avx512 = cc_jit_has_avx512(jit), .esize = (unsigned)ir_dtype_size(plan.dtype)};
    a.mod = LLVMModuleCreateWithNameInContext("llmc_att", ctx);
    a.b = LLVMCreateBuilderInContext(ctx);
    a.i64 = LLVMInt64TypeInContext(ctx);
    a.i32 = LLVMInt32TypeInContext(ctx);
    a.ptr = LLVMPointerTypeInContext(ctx, 0);
    a.elt = plan.dtype == IR_DTYPE_F32 ? LLVMFloatTypeInContext(ctx) : LLVMDoubleTypeInContext(ctx);
    a.vec = LLVMVectorType(a.elt, (unsigned)plan.vl);
    a.ivec = LLVMVectorType(a.i32, (unsigned)plan.vl);
    unsigned fma_id = LLVMLookupIntrinsicID("llvm.fma", 8);
    a.fma = LLVMGetIntrinsicDeclaration(a.mod, fma_id, &a.vec, 1);
    a.fma_ty = LLVMIntrinsicGetType(ctx, fma_id, &a.vec, 1);
    build_kernel(&a, "llmc_att");
    LLVMDisposeBuilder(a.b);
    cc_jit_prepare_module(jit, a.mod);
    return a.mod;
}
