/* compiler/codegen_emit.c — per-node LLVM emission shared by the kernel codegens
 * (codegen_elementwise.c, codegen_reduce.c): the value of one IR node at one element
 * index (or W consecutive ones, as a vector), given each node's role in the kernel
 * (compiler_int.h, CcEmit), and the list of intrinsics a kernel may declare.
 * exp/log/tanh/sin/cos/pow are expanded in the kernel by compiler/codegen_math.c.
 *
 * The op semantics and the floating-point policy are those stated in the banner of
 * compiler/codegen_elementwise.c (moved here unchanged when the reduce codegen needed them),
 * except exp/log/tanh/sin/cos/pow: no longer libm calls (that banner's libm paragraphs and
 * its cc_codegen_libm_table predate this) but in-kernel code, f64 within ~1e-16 relative
 * of libm and f32 computed in double and rounded once (compiler/codegen_math.c).
 *
 * Deliberately not here: loops, plans (which node is what), function signatures; each
 * codegen builds its own and calls cc_cg_value for the nodes of its body.
 */
#include "compiler_int.h"

#include <llvm-c/Core.h>

#include <stdlib.h>
#include <string.h>

/* --- the intrinsics a kernel may declare ---------------------------------------------- */

/* The first six are what the codegens emit. The rest appear after default<O3>: InstCombine
 * turns nan/inf compares into llvm.is.fpclass and integer clamps into min/max, the loop
 * vectorizer turns codegen_math.c's table loads (sin/cos, large arguments) into
 * llvm.masked.gather. All lower to instructions (vfpclass, vpminuq, vpgatherqq..., or
 * scalar sequences on older x86-64). */
static const char *const INLINE_INTRINSICS[] = {
    "llvm.fabs", "llvm.sqrt", "llvm.fptosi.sat", "llvm.fma",  "llvm.rint",          "llvm.copysign", "llvm.is.fpclass",
    "llvm.smax", "llvm.smin", "llvm.umax",       "llvm.umin", "llvm.masked.gather", NULL};

const char *const *cc_codegen_inline_intrinsics(void) { return INLINE_INTRINSICS; }

/* --- emission ------------------------------------------------------------------------ */

LLVMTypeRef cc_cg_elem_type(const CcEmit *e, IrDtype dt) {
    switch (dt) {
    case IR_DTYPE_F32: return LLVMFloatTypeInContext(e->ctx);
    case IR_DTYPE_F64: return LLVMDoubleTypeInContext(e->ctx);
    case IR_DTYPE_I32: return LLVMInt32TypeInContext(e->ctx);
    case IR_DTYPE_BF16: return LLVMInt16TypeInContext(e->ctx); /* its bits: converted by cast only */
    case IR_DTYPE_INVALID:
    case IR_DTYPE_COUNT: break;
    }
    LLMC_ASSERT(!"dtype has no kernel type");
    return NULL;
}

LLVMTypeRef cc_cg_val_type(const CcEmit *e, IrDtype dt) {
    LLVMTypeRef t = cc_cg_elem_type(e, dt);
    return e->lanes ? LLVMVectorType(t, e->lanes) : t;
}

static LLVMValueRef splat_const(const CcEmit *e, LLVMValueRef c) {
    if (!e->lanes) return c;
    LLVMValueRef v[64];
    LLMC_ASSERT(e->lanes <= 64);
    for (unsigned i = 0; i < e->lanes; i++) v[i] = c;
    return LLVMConstVector(v, e->lanes);
}

LLVMValueRef cc_cg_const(const CcEmit *e, IrDtype dt, double x) {
    LLVMTypeRef t = cc_cg_elem_type(e, dt);
    LLVMValueRef c = dt == IR_DTYPE_I32    ? LLVMConstInt(t, (unsigned long long)(int64_t)x, 1)
                     : dt == IR_DTYPE_BF16 ? LLVMConstInt(t, ir_bf16_from_double(x), 0)
                                           : LLVMConstReal(t, x);
    return splat_const(e, c);
}

LLVMValueRef cc_cg_splat(const CcEmit *e, LLVMValueRef s) {
    if (!e->lanes) return s;
    LLVMTypeRef vt = LLVMVectorType(LLVMTypeOf(s), e->lanes);
    LLVMTypeRef i32 = LLVMInt32TypeInContext(e->ctx);
    LLVMValueRef v = LLVMBuildInsertElement(e->b, LLVMGetPoison(vt), s, LLVMConstInt(i32, 0, 0), "");
    LLVMValueRef mask = LLVMConstNull(LLVMVectorType(i32, e->lanes));
    return LLVMBuildShuffleVector(e->b, v, LLVMGetPoison(vt), mask, "splat");
}

static LLVMValueRef intrinsic(const CcEmit *e, const char *name, LLVMTypeRef *tys, unsigned n_tys,
                              LLVMValueRef *args, unsigned n_args) {
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLMC_ASSERT(id != 0);
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(e->mod, id, tys, n_tys);
    LLVMTypeRef fty = LLVMIntrinsicGetType(e->ctx, id, tys, n_tys);
    return LLVMBuildCall2(e->b, fty, fn, args, n_args, "");
}

static LLVMValueRef unary_intrinsic(const CcEmit *e, const char *name, LLVMValueRef x) {
    LLVMTypeRef t = LLVMTypeOf(x);
    return intrinsic(e, name, &t, 1, &x, 1);
}

/* The literal of splat constant `id`, from its payload bits. */
static LLVMValueRef const_node(const CcEmit *e, IrId id) {
    const IrNode *n = ir_graph_node(e->g, id);
    const void *bytes = n->attrs.constant.value.bytes;
    double x = 0;
    switch (n->type.dtype) {
    case IR_DTYPE_F32: x = *(const float *)bytes; break;
    case IR_DTYPE_F64: x = *(const double *)bytes; break;
    case IR_DTYPE_I32: x = *(const int32_t *)bytes; break;
    case IR_DTYPE_BF16: x = ir_bf16_to_double(*(const uint16_t *)bytes); break; /* back to the same bits */
    case IR_DTYPE_INVALID:
    case IR_DTYPE_COUNT: LLMC_ASSERT(!"bad const dtype"); break;
    }
    return cc_cg_const(e, n->type.dtype, x);
}

static LLVMValueRef load_buffer(CcEmit *e, IrId id) {
    IrDtype dt = ir_graph_node(e->g, id)->type.dtype;
    LLVMValueRef ptr = LLVMBuildGEP2(e->b, cc_cg_elem_type(e, dt), e->base[id], &e->idx, 1, "");
    LLVMValueRef v = LLVMBuildLoad2(e->b, cc_cg_val_type(e, dt), ptr, "");
    LLVMSetAlignment(v, (unsigned)ir_dtype_size(dt));
    return v;
}

/* The flat operand index of movement member `id` (broadcast, permute, reshape) for its
 * flat result index i (an i64 scalar). broadcast: the result coordinates of i by constant
 * division, then the operand's row-major ravel with size-1 axes at 0 (ir_interp_broadcast's
 * formula); permute: result axis k is operand axis perm[k], so coordinate k weighs the
 * operand's stride perm[k] (ir_interp_permute); reshape: the identity (row-major order is
 * kept). Shapes are static, so every divisor is a constant and LLVM turns them into
 * multiplies. */
static void row_major_strides(const IrType *t, int64_t *strides) {
    int64_t s = 1;
    for (uint32_t k = t->rank; k-- > 0;) {
        strides[k] = s;
        s *= t->dims[k];
    }
}

/* Result coordinate a of flat index i, times `weight` (skipped for weight 0). */
static LLVMValueRef coord_term(const CcEmit *e, const IrType *ot, const int64_t *ostride, uint32_t a, int64_t weight,
                               LLVMValueRef i) {
    LLVMTypeRef i64 = LLVMInt64TypeInContext(e->ctx);
    LLVMValueRef c = i;
    if (ostride[a] != 1) c = LLVMBuildUDiv(e->b, c, LLVMConstInt(i64, (unsigned long long)ostride[a], 0), "");
    if (a != 0) c = LLVMBuildURem(e->b, c, LLVMConstInt(i64, (unsigned long long)ot->dims[a], 0), "");
    if (weight != 1) c = LLVMBuildMul(e->b, c, LLVMConstInt(i64, (unsigned long long)weight, 0), "");
    return c;
}

static LLVMValueRef move_index(const CcEmit *e, IrId id, LLVMValueRef i) {
    const IrNode *n = ir_graph_node(e->g, id);
    if (n->op == IR_OP_RESHAPE) return i;
    const IrType *ot = &n->type, *st = &ir_graph_node(e->g, n->operands[0])->type;
    LLVMTypeRef i64 = LLVMInt64TypeInContext(e->ctx);
    int64_t ostride[IR_MAX_RANK], sstride[IR_MAX_RANK];
    row_major_strides(ot, ostride);
    row_major_strides(st, sstride);
    LLVMValueRef acc = LLVMConstInt(i64, 0, 0);
    if (n->op == IR_OP_PERMUTE) {
        const IrInts *perm = &n->attrs.permute.perm;
        for (uint32_t k = 0; k < ot->rank; k++) {
            uint32_t s = (uint32_t)perm->v[k];
            if (ot->dims[k] == 1) continue;
            acc = LLVMBuildAdd(e->b, acc, coord_term(e, ot, ostride, k, sstride[s], i), "");
        }
        return acc;
    }
    LLMC_ASSERT(n->op == IR_OP_BROADCAST);
    const IrInts *map = &n->attrs.broadcast.dims;
    for (uint32_t k = 0; k < st->rank; k++) {
        if (st->dims[k] == 1) continue;
        acc = LLVMBuildAdd(e->b, acc, coord_term(e, ot, ostride, (uint32_t)map->v[k], sstride[k], i), "");
    }
    return acc;
}

/* Movement chain `id` over buffer alias[id]: each member maps its result index to its
 * operand's, down to the buffer; a scalar load at the final index; with lanes, one scalar
 * load per lane inserted into a vector (a gather). Correct for every chain; the splat and
 * contiguous-run special cases are a later performance step (compiler/fuse.c). */
static LLVMValueRef load_bcast(CcEmit *e, IrId id) {
    IrId src = e->alias[id];
    IrDtype dt = ir_graph_node(e->g, src)->type.dtype;
    LLVMTypeRef et = cc_cg_elem_type(e, dt), i64 = LLVMInt64TypeInContext(e->ctx);
    unsigned n = e->lanes ? e->lanes : 1;
    LLVMValueRef v = e->lanes ? LLVMGetPoison(LLVMVectorType(et, e->lanes)) : NULL;
    for (unsigned l = 0; l < n; l++) {
        LLVMValueRef si = l ? LLVMBuildAdd(e->b, e->idx, LLVMConstInt(i64, l, 0), "") : e->idx;
        for (IrId m = id; m != src; m = ir_graph_node(e->g, m)->operands[0]) si = move_index(e, m, si);
        LLVMValueRef ptr = LLVMBuildGEP2(e->b, et, e->base[src], &si, 1, "");
        LLVMValueRef x = LLVMBuildLoad2(e->b, et, ptr, "");
        LLVMSetAlignment(x, (unsigned)ir_dtype_size(dt));
        if (!e->lanes) return x;
        v = LLVMBuildInsertElement(e->b, v, x, LLVMConstInt(LLVMInt32TypeInContext(e->ctx), l, 0), "");
    }
    return v;
}

/* The flat index into `src` that flat index i of movement chain `top` maps to: each member
 * from top down to (not including) src maps its result index to its operand's (move_index).
 * Needs only e->ctx, e->b and e->g; used by the matmul packing loops. */
LLVMValueRef cc_cg_chain_index(const CcEmit *e, IrId top, IrId src, LLVMValueRef i) {
    for (IrId m = top; m != src; m = ir_graph_node(e->g, m)->operands[0]) i = move_index(e, m, i);
    return i;
}

/* c != 0 as an i1 (vector) value; floats unordered, so nan counts as true. */
static LLVMValueRef nonzero(const CcEmit *e, LLVMValueRef c, IrDtype dt) {
    if (dt == IR_DTYPE_I32) return LLVMBuildICmp(e->b, LLVMIntNE, c, cc_cg_const(e, dt, 0), "");
    return LLVMBuildFCmp(e->b, LLVMRealUNE, c, cc_cg_const(e, dt, 0), "");
}

/* max (greater) or min: x OP y ? x : y; then y if y is nan; then x if x is nan. */
static LLVMValueRef emit_minmax(const CcEmit *e, LLVMValueRef x, LLVMValueRef y, IrDtype dt, bool greater) {
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
static LLVMValueRef emit_idiv(const CcEmit *e, LLVMValueRef x, LLVMValueRef y) {
    LLVMBuilderRef b = e->b;
    LLVMValueRef zero = cc_cg_const(e, IR_DTYPE_I32, 0), one = cc_cg_const(e, IR_DTYPE_I32, 1);
    LLVMValueRef by0 = LLVMBuildICmp(b, LLVMIntEQ, y, zero, "");
    LLVMValueRef ovf = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntEQ, x, cc_cg_const(e, IR_DTYPE_I32, (double)INT32_MIN), ""),
                                    LLVMBuildICmp(b, LLVMIntEQ, y, cc_cg_const(e, IR_DTYPE_I32, -1), ""), "");
    LLVMValueRef safe = LLVMBuildSelect(b, LLVMBuildOr(b, by0, ovf, ""), one, y, "");
    LLVMValueRef q = LLVMBuildSDiv(b, x, safe, "");
    return LLVMBuildSelect(b, by0, zero, q, "");
}

/* --- bf16 conversions, in integer operations on the bits ------------------------------
 * A bf16 value is held as its 16 bits (i16). The conversions are integer code, not
 * fptrunc/fpext to LLVM's bfloat (whose lowering may flush subnormals or differ between
 * the vector and scalar paths), and equal ir/bf16.c bit for bit:
 *   bf16 -> f32: bits << 16, exact; a signalling nan is quieted first (bit 6 set), as
 *     ir_bf16_to_double's float -> double conversion does. bf16 -> f64: that f32, fpext.
 *   f32 -> bf16: u + 0x7fff + (bit 16 of u), >> 16: nearest, ties to even, on the whole
 *     pattern, so subnormals round on the same grid and the carry out of the largest
 *     finite goes to the exponent (inf). Nan: u >> 16 | 0x40 (sign, quiet bit and the 6
 *     payload bits below it, ir_bf16_from_double's).
 *   f64 -> bf16, rounded once from the double: a = |bits|, exponent E = a >> 52.
 *     E >= 897 (|x| >= 2^-126, bf16 normal): round a at bit 45 the same way (sticky below
 *     it, ties to even, the carry into the exponent), r = rounded >> 45 is E'*128 + 7
 *     fraction bits, and the bf16 pattern is r - 896*128; r >= 1151*128 (E' - 896 >= 255)
 *     is inf. E < 897 (bf16 subnormal, steps of 2^-133): the significand m (implicit bit
 *     when E > 0) times 2^(E-1075) is m >> s units, s = 942 - E, rounded to nearest even
 *     with s clamped to 63 (any s >= 54 rounds to 0); 128 units is the smallest normal,
 *     pattern 0x0080, so the result is the pattern. Nan: 0x7fc0 | (bits >> 45 & 0x3f).
 * Every step is lane-wise, so the vector and scalar loops give the same bits. */

static LLVMTypeRef int_type(const CcEmit *e, unsigned width) {
    LLVMTypeRef t = LLVMIntTypeInContext(e->ctx, width);
    return e->lanes ? LLVMVectorType(t, e->lanes) : t;
}

static LLVMValueRef int_const(const CcEmit *e, unsigned width, uint64_t v) {
    return splat_const(e, LLVMConstInt(LLVMIntTypeInContext(e->ctx, width), v, 0));
}

static LLVMValueRef bf16_to_f32(const CcEmit *e, LLVMValueRef x) {
    LLVMBuilderRef b = e->b;
    LLVMValueRef u = LLVMBuildZExt(b, x, int_type(e, 32), "");
    LLVMValueRef nan = LLVMBuildICmp(b, LLVMIntUGT, LLVMBuildAnd(b, u, int_const(e, 32, 0x7fff), ""),
                                     int_const(e, 32, 0x7f80), "");
    u = LLVMBuildSelect(b, nan, LLVMBuildOr(b, u, int_const(e, 32, 0x40), ""), u, "");
    return LLVMBuildBitCast(b, LLVMBuildShl(b, u, int_const(e, 32, 16), ""), cc_cg_val_type(e, IR_DTYPE_F32), "");
}

static LLVMValueRef bf16_from_f32(const CcEmit *e, LLVMValueRef x) {
    LLVMBuilderRef b = e->b;
    LLVMValueRef u = LLVMBuildBitCast(b, x, int_type(e, 32), "");
    LLVMValueRef hi = LLVMBuildLShr(b, u, int_const(e, 32, 16), "");
    LLVMValueRef nan = LLVMBuildICmp(b, LLVMIntUGT, LLVMBuildAnd(b, u, int_const(e, 32, 0x7fffffff), ""),
                                     int_const(e, 32, 0x7f800000), "");
    LLVMValueRef odd = LLVMBuildAnd(b, hi, int_const(e, 32, 1), "");
    LLVMValueRef r = LLVMBuildAdd(b, LLVMBuildAdd(b, u, int_const(e, 32, 0x7fff), ""), odd, "");
    r = LLVMBuildLShr(b, r, int_const(e, 32, 16), "");
    r = LLVMBuildSelect(b, nan, LLVMBuildOr(b, hi, int_const(e, 32, 0x40), ""), r, "");
    return LLVMBuildTrunc(b, r, int_type(e, 16), "");
}

/* x >> s rounded to nearest, ties to even (s in [1, 63]). */
static LLVMValueRef round_shift(const CcEmit *e, LLVMValueRef x, LLVMValueRef s) {
    LLVMBuilderRef b = e->b;
    LLVMValueRef one = int_const(e, 64, 1);
    LLVMValueRef half_m1 = LLVMBuildSub(b, LLVMBuildShl(b, one, LLVMBuildSub(b, s, one, ""), ""), one, "");
    LLVMValueRef odd = LLVMBuildAnd(b, LLVMBuildLShr(b, x, s, ""), one, "");
    return LLVMBuildLShr(b, LLVMBuildAdd(b, LLVMBuildAdd(b, x, half_m1, ""), odd, ""), s, "");
}

static LLVMValueRef bf16_from_f64(const CcEmit *e, LLVMValueRef x) {
    LLVMBuilderRef b = e->b;
#define K(v) int_const(e, 64, (v))
    LLVMValueRef d = LLVMBuildBitCast(b, x, int_type(e, 64), "");
    LLVMValueRef a = LLVMBuildAnd(b, d, K(0x7fffffffffffffffull), "");
    LLVMValueRef sign = LLVMBuildAnd(b, LLVMBuildLShr(b, d, K(48), ""), K(0x8000), "");
    LLVMValueRef nan = LLVMBuildICmp(b, LLVMIntUGT, a, K(0x7ff0000000000000ull), "");
    LLVMValueRef nan_bits = LLVMBuildOr(b, LLVMBuildAnd(b, LLVMBuildLShr(b, d, K(45), ""), K(0x3f), ""), K(0x7fc0), "");
    LLVMValueRef ex = LLVMBuildLShr(b, a, K(52), "");
    /* bf16 normal */
    LLVMValueRef r = round_shift(e, a, K(45));
    LLVMValueRef normal = LLVMBuildSub(b, r, K(896 * 128), "");
    normal = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntUGE, r, K(1151 * 128), ""), K(0x7f80), normal, "");
    /* bf16 subnormal */
    LLVMValueRef implicit = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntNE, ex, K(0), ""), K(1ull << 52), K(0), "");
    LLVMValueRef m = LLVMBuildOr(b, LLVMBuildAnd(b, a, K((1ull << 52) - 1), ""), implicit, "");
    LLVMValueRef s = LLVMBuildSub(b, K(942), ex, ""); /* wraps when ex > 942: not this branch */
    s = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntUGT, s, K(63), ""), K(63), s, "");
    LLVMValueRef sub = round_shift(e, m, s);
    LLVMValueRef bits = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntULT, ex, K(897), ""), sub, normal, "");
    bits = LLVMBuildOr(b, LLVMBuildSelect(b, nan, nan_bits, bits, ""), sign, "");
#undef K
    return LLVMBuildTrunc(b, bits, int_type(e, 16), "");
}

static LLVMValueRef emit_cast(const CcEmit *e, LLVMValueRef x, IrDtype from, IrDtype to) {
    if (from == to) return x;
    LLVMTypeRef t = cc_cg_val_type(e, to);
    /* bf16 <-> f32/f64 only: the kernel check (codegen_kernel.c) admits no other bf16 cast */
    if (to == IR_DTYPE_BF16) return from == IR_DTYPE_F64 ? bf16_from_f64(e, x) : bf16_from_f32(e, x);
    if (from == IR_DTYPE_BF16) {
        LLVMValueRef f = bf16_to_f32(e, x);
        return to == IR_DTYPE_F64 ? LLVMBuildFPExt(e->b, f, t, "") : f;
    }
    if (from == IR_DTYPE_I32) return LLVMBuildSIToFP(e->b, x, t, "");
    if (to == IR_DTYPE_I32) {
        LLVMTypeRef tys[2] = {t, LLVMTypeOf(x)};
        return intrinsic(e, "llvm.fptosi.sat", tys, 2, &x, 1);
    }
    if (to == IR_DTYPE_F64) return LLVMBuildFPExt(e->b, x, t, "");
    return LLVMBuildFPTrunc(e->b, x, t, "");
}

static LLVMValueRef emit_op(CcEmit *e, IrId id) {
    const IrNode *n = ir_graph_node(e->g, id);
    IrDtype dt = n->type.dtype;
    IrDtype dt0 = ir_graph_node(e->g, n->operands[0])->type.dtype;
    bool is_int = dt0 == IR_DTYPE_I32;
    LLVMBuilderRef b = e->b;
    LLVMValueRef x = cc_cg_value(e, n->operands[0]);
    LLVMValueRef y = n->n_operands > 1 ? cc_cg_value(e, n->operands[1]) : NULL;
    switch (n->op) {
    case IR_OP_NEG: return is_int ? LLVMBuildSub(b, cc_cg_const(e, dt, 0), x, "") : LLVMBuildFNeg(b, x, "");
    case IR_OP_ABS:
        if (!is_int) return unary_intrinsic(e, "llvm.fabs", x);
        return LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, x, cc_cg_const(e, dt, 0), ""),
                               LLVMBuildSub(b, cc_cg_const(e, dt, 0), x, ""), x, "");
    case IR_OP_EXP: return cc_math_exp(e->mod, b, x);
    case IR_OP_LOG: return cc_math_log(e->mod, b, x);
    case IR_OP_TANH: return cc_math_tanh(e->mod, b, x);
    case IR_OP_SIN: return cc_math_sin(e->mod, b, x);
    case IR_OP_COS: return cc_math_cos(e->mod, b, x);
    case IR_OP_SQRT: return unary_intrinsic(e, "llvm.sqrt", x);
    case IR_OP_RSQRT: return LLVMBuildFDiv(b, cc_cg_const(e, dt, 1), unary_intrinsic(e, "llvm.sqrt", x), "");
    case IR_OP_RECIP: return LLVMBuildFDiv(b, cc_cg_const(e, dt, 1), x, "");
    case IR_OP_CAST: return emit_cast(e, x, dt0, dt);
    case IR_OP_STOP_GRADIENT: return x; /* the identity: only autodiff sees a difference */
    case IR_OP_ADD: return is_int ? LLVMBuildAdd(b, x, y, "") : LLVMBuildFAdd(b, x, y, "");
    case IR_OP_SUB: return is_int ? LLVMBuildSub(b, x, y, "") : LLVMBuildFSub(b, x, y, "");
    case IR_OP_MUL: return is_int ? LLVMBuildMul(b, x, y, "") : LLVMBuildFMul(b, x, y, "");
    case IR_OP_DIV: return is_int ? emit_idiv(e, x, y) : LLVMBuildFDiv(b, x, y, "");
    case IR_OP_MAX: return emit_minmax(e, x, y, dt, true);
    case IR_OP_MIN: return emit_minmax(e, x, y, dt, false);
    case IR_OP_POW: return cc_math_pow(e->mod, b, x, y);
    case IR_OP_CMPLT:
    case IR_OP_CMPEQ: {
        bool lt = n->op == IR_OP_CMPLT;
        LLVMValueRef c = is_int ? LLVMBuildICmp(b, lt ? LLVMIntSLT : LLVMIntEQ, x, y, "")
                                : LLVMBuildFCmp(b, lt ? LLVMRealOLT : LLVMRealOEQ, x, y, "");
        return LLVMBuildSelect(b, c, cc_cg_const(e, dt, 1), cc_cg_const(e, dt, 0), "");
    }
    case IR_OP_SELECT: return LLVMBuildSelect(b, nonzero(e, x, dt0), y, cc_cg_value(e, n->operands[2]), "");
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
    case IR_OP_ATTENTION:
    case IR_OP_ATTENTION_LSE:
    case IR_OP_ATTENTION_GRAD:
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

LLVMValueRef cc_cg_value(CcEmit *e, IrId id) {
    if (e->val[id]) return e->val[id];
    LLVMValueRef v = NULL;
    switch ((CcRole)e->role[id]) {
    case CC_ROLE_COMPUTE: v = emit_op(e, id); break;
    case CC_ROLE_BUFFER: v = load_buffer(e, id); break;
    case CC_ROLE_SCALAR: v = cc_cg_splat(e, e->base[id]); break;
    case CC_ROLE_CONST: v = const_node(e, id); break;
    case CC_ROLE_ALIAS: v = cc_cg_value(e, e->alias[id]); break;
    case CC_ROLE_BCAST: v = load_bcast(e, id); break;
    case CC_ROLE_INDEXED:
    case CC_ROLE_NONE: LLMC_ASSERT(!"value of a node outside the kernel"); break;
    }
    e->val[id] = v;
    return v;
}

/* --- movement trees read element by element -------------------------------------------- */

LLVMValueRef cc_cg_splat_literal(const CcEmit *e, const IrNode *n, bool as_int) {
    IrDtype dt = n->type.dtype;
    size_t size = ir_dtype_size(dt);
    uint64_t bits = 0;
    memcpy(&bits, cc_const_elem(n, 0), size); /* little-endian host */
    LLVMValueRef c = LLVMConstInt(LLVMIntTypeInContext(e->ctx, (unsigned)(8 * size)), bits, 0);
    return as_int || dt == IR_DTYPE_I32 ? c : LLVMConstBitCast(c, cc_cg_elem_type(e, dt));
}

LLVMValueRef cc_cg_move_value(const CcMoveTree *t, IrId id, LLVMValueRef i) {
    const CcEmit *e = t->e;
    LLVMBuilderRef b = e->b;
    LLVMTypeRef i64 = LLVMInt64TypeInContext(e->ctx);
#define C64(v) LLVMConstInt(i64, (unsigned long long)(int64_t)(v), 1)
    const IrNode *n = ir_graph_node(e->g, id);
    if (!t->is_member(t->ctx, id)) return t->leaf(t->ctx, id, i);
    if (n->op == IR_OP_RESHAPE || n->op == IR_OP_PERMUTE || n->op == IR_OP_BROADCAST)
        return cc_cg_move_value(t, n->operands[0], cc_cg_chain_index(e, id, n->operands[0], i));
    const IrType *ot = &n->type;
    int64_t os[IR_MAX_RANK];
    row_major_strides(ot, os);
    if (n->op == IR_OP_SLICE) {
        int64_t ss[IR_MAX_RANK];
        row_major_strides(&ir_graph_node(e->g, n->operands[0])->type, ss);
        const IrInts *start = &n->attrs.slice.start, *step = &n->attrs.slice.step;
        int64_t base = 0;
        LLVMValueRef si = C64(0);
        for (uint32_t a = 0; a < ot->rank; a++) {
            base += start->v[a] * ss[a];
            if (ot->dims[a] == 1) continue;
            LLVMValueRef c = LLVMBuildUDiv(b, i, C64(os[a]), "");
            if (a) c = LLVMBuildURem(b, c, C64(ot->dims[a]), "");
            si = LLVMBuildAdd(b, si, LLVMBuildMul(b, c, C64((step->n ? step->v[a] : 1) * ss[a]), ""), "");
        }
        return cc_cg_move_value(t, n->operands[0], LLVMBuildAdd(b, si, C64(base), "slice"));
    }
    LLMC_ASSERT(n->op == IR_OP_CONCAT); /* the callers admit no other member */
    int64_t axis = n->attrs.axis.axis, inner = os[axis], big = ot->dims[axis];
    LLVMValueRef outer = LLVMBuildUDiv(b, i, C64(big * inner), "");
    LLVMValueRef c = LLVMBuildURem(b, LLVMBuildUDiv(b, i, C64(inner), ""), C64(big), "");
    LLVMValueRef r = LLVMBuildURem(b, i, C64(inner), "");
    LLVMValueRef res = NULL;
    int64_t at = 0;
    for (uint32_t j = 0; j < n->n_operands; j++) {
        int64_t d = ir_graph_node(e->g, n->operands[j])->type.dims[axis];
        if (d == 0) continue;
        LLVMValueRef lc = LLVMBuildSub(b, c, C64(at), ""); /* clamped to [0, d-1] */
        lc = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, lc, C64(0), ""), C64(0), lc, "");
        lc = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSGT, lc, C64(d - 1), ""), C64(d - 1), lc, "");
        LLVMValueRef xi = LLVMBuildAdd(b, LLVMBuildMul(b, outer, C64(d * inner), ""),
                                       LLVMBuildAdd(b, LLVMBuildMul(b, lc, C64(inner), ""), r, ""), "");
        LLVMValueRef v = cc_cg_move_value(t, n->operands[j], xi);
        /* operands in order: c >= at picks this one over the ones before */
        res = res ? LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSGE, c, C64(at), ""), v, res, "") : v;
        at += d;
    }
#undef C64
    return res;
}

void cc_cg_transpose(LLVMBuilderRef b, LLVMValueRef *v, unsigned n) {
    LLVMTypeRef i32 = LLVMInt32TypeInContext(LLVMGetTypeContext(LLVMTypeOf(v[0])));
    for (unsigned d = 1; d < n; d <<= 1) {
        LLVMValueRef lo_idx[64], hi_idx[64];
        for (unsigned l = 0; l < n; l++) {
            /* new_i[l] = l & d ? v_j[l ^ d] : v_i[l];  new_j[l] = l & d ? v_j[l] : v_i[l ^ d] */
            lo_idx[l] = LLVMConstInt(i32, (l & d) ? n + (l ^ d) : l, 0);
            hi_idx[l] = LLVMConstInt(i32, (l & d) ? n + l : (l ^ d), 0);
        }
        LLVMValueRef mlo = LLVMConstVector(lo_idx, n), mhi = LLVMConstVector(hi_idx, n);
        for (unsigned i = 0; i < n; i++) {
            if (i & d) continue;
            LLVMValueRef x = v[i], y = v[i | d];
            v[i] = LLVMBuildShuffleVector(b, x, y, mlo, "");
            v[i | d] = LLVMBuildShuffleVector(b, x, y, mhi, "");
        }
    }
}
