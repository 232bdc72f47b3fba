/* compiler/codegen_math.c — exp, log, tanh, sin, cos and pow as in-kernel code: range
 * reduction plus polynomials, built with the LLVM C API on a scalar or on a <W x T>
 * vector alike (every operation is elementwise), so a kernel module calls no libm.
 *
 * Every function is computed in double; an f32 operand is widened, computed with the f64
 * code and rounded once to f32 — the interpreter's f32 mode does the same with libm, so
 * the results agree except where the two doubles straddle an f32 rounding boundary.
 *
 * Determinism: no fast-math or contract flags; the only fused operation is the explicit
 * llvm.fma (exactly rounded), so a lane of a vector body and the scalar tail compute the
 * same bits. The intrinsics used (llvm.fma, llvm.rint, llvm.fabs, llvm.copysign,
 * llvm.fptosi.sat) lower to instructions on x86-64 with SSE4.1 and FMA (the JIT targets
 * the host; without FMA the backend would call fma()); cc_codegen_inline_intrinsics
 * lists them and the forms default<O3> turns some of this code into.
 *
 * Algorithms (f64; errors are against correctly rounded results, measured by
 * tests/jit/test_jit_math.c):
 *   exp(z [+ zlo])  k = rint(z / ln2); r = z - k ln2 by fma in two parts (the first exact),
 *                  plus zlo (pow's low part); exp(r) by its Taylor series to r^13 (|r| <=
 *                  0.35: truncation 4e-18) in Horner form with fma; times 2^k as two
 *                  powers of two 2^(k>>1) 2^(k-(k>>1)), so results near overflow and in the
 *                  subnormal range are scaled without an intermediate overflow, and round
 *                  once. z is clamped to [-746, 710] first: beyond, the scaling overflows
 *                  to inf or underflows to +0 by itself. nan passes through.
 *   log(x)         x = 2^k m, m in [sqrt(1/2), sqrt(2)) by integer operations on the bits
 *                  (subnormal x pre-scaled by 2^54); s = (m-1)/(m+1) with its rounding error
 *                  kept (slo, by fma); log(m) = 2s + 2slo + 2s^3 (1/3 + s^2/5 + ... +
 *                  s^20/23); k ln2 with fdlibm's split ln2 (k ln2_hi exact). The result is
 *                  a double-double (hi, lo) good to ~2^-56 relative (the rounding of the
 *                  s^3 series), which pow uses; log returns hi+lo rounded. log(0) = -inf, log(x < 0) = nan, log(inf) = inf, nan passes.
 *   tanh(x)        a = |x|; a < 0.5: e = expm1(2a) by its Taylor series to t^20, e/(e+2);
 *                  0.5 <= a <= 22: 1 - 2/(exp(2a)+1); a > 22: 1; sign by copysign (keeps
 *                  -0 and the sign of tiny x).
 *   sin, cos       |x| < 2^30: q = rint(x 2/pi); r = x - q pi/2 with pi/2 in three doubles
 *                  (Cody-Waite by fma; the first step is exact for any q < 2^52, and x 2/pi
 *                  is within 2^-23 of its true value, so q is the nearest quadrant).
 *                  2^30 <= |x| < inf: Payne-Hanek, in integers: |x| = M 2^e, a 192-bit
 *                  window of 2/pi (a 22-word table in the module, private) from bit e-1,
 *                  M times it mod 2^192 (three 64x64->128 multiplies) gives |x| 2/pi mod 4
 *                  to ~2^-137, hence q mod 4 and r. That path sits in a block of its own,
 *                  entered only when some lane needs it (the cost of the table loads and
 *                  i128 multiplies is then paid by that vector only). sin(r), cos(r) by
 *                  Taylor series to r^19 / r^20 (|r| <= pi/4 + a little); the quadrant q
 *                  mod 4 picks and signs. sin(x) = x for |x| < 2^-26 (keeps -0);
 *                  sin/cos(+-inf) = nan.
 *   pow(x, y)      C99 pow, the interpreter's: |x|^y = exp(y * log|x|) with log as a
 *                  double-double and the product's low part (fma) handed to exp, so the
 *                  error stays below ~4e-15 relative even for |y log x| near 700 (plain
 *                  exp(y * log x) would lose up to 700 ulp there). Then: x < 0
 *                  (sign bit) and y an odd integer: negated; x < 0 finite nonzero and y not
 *                  an integer: nan; pow(1, y) = pow(-1, +-inf) = 1; pow(x, +-0) = 1 (even
 *                  for nan x). Zeros, infinities and y = +-inf follow from log|x| = +-inf
 *                  and exp(+-inf) (e.g. pow(-0, -3) = -inf, pow(0.5, inf) = 0).
 *
 * One exception: cc_math_exp_f32, exp in f32 arithmetic within 1 ulp (measured), for the
 * attention kernels, where an exp per score would otherwise cost more than the score's
 * matmul work; the elementwise and row kernels keep the correctly rounded exp above.
 *
 * Deliberately not here: other dtypes (kernels compute f32 and f64 only), table-driven
 * log/exp (that would bring pow to ~1 ulp), f32-only polynomials for the other functions
 * (f32 is computed with the f64 code), errno and floating-point exception flags.
 */
#include "compiler_int.h"

#include <llvm-c/Core.h>
#include <llvm-c/Orc.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

/* The builder state of one math expansion: double or <W x double>, and i64 likewise. */
typedef struct M {
    LLVMModuleRef mod;
    LLVMBuilderRef b;
    LLVMContextRef ctx;
    unsigned lanes; /* 0: scalar */
    LLVMTypeRef t;  /* double or <lanes x double> */
    LLVMTypeRef it; /* i64 or <lanes x i64> */
} M;

static M m_of(LLVMModuleRef mod, LLVMBuilderRef b, LLVMValueRef x) {
    M m = {mod, b, LLVMGetModuleContext(mod), 0, NULL, NULL};
    LLVMTypeRef t = LLVMTypeOf(x);
    if (LLVMGetTypeKind(t) == LLVMVectorTypeKind) m.lanes = LLVMGetVectorSize(t);
    LLVMTypeRef d = LLVMDoubleTypeInContext(m.ctx), i = LLVMInt64TypeInContext(m.ctx);
    m.t = m.lanes ? LLVMVectorType(d, m.lanes) : d;
    m.it = m.lanes ? LLVMVectorType(i, m.lanes) : i;
    return m;
}

static LLVMValueRef splat(const M *m, LLVMValueRef c) {
    if (!m->lanes) return c;
    LLVMValueRef v[64];
    LLMC_ASSERT(m->lanes <= 64);
    for (unsigned i = 0; i < m->lanes; i++) v[i] = c;
    return LLVMConstVector(v, m->lanes);
}

static LLVMValueRef K(const M *m, double c) { return splat(m, LLVMConstReal(LLVMDoubleTypeInContext(m->ctx), c)); }
static LLVMValueRef KI(const M *m, int64_t c) {
    return splat(m, LLVMConstInt(LLVMInt64TypeInContext(m->ctx), (unsigned long long)c, 1));
}

static LLVMValueRef call(const M *m, const char *name, LLVMValueRef *args, unsigned n_args) {
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLMC_ASSERT(id != 0);
    LLVMTypeRef ty = m->t;
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(m->mod, id, &ty, 1);
    return LLVMBuildCall2(m->b, LLVMIntrinsicGetType(m->ctx, id, &ty, 1), fn, args, n_args, "");
}

static LLVMValueRef add(const M *m, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFAdd(m->b, a, b, ""); }
static LLVMValueRef sub(const M *m, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFSub(m->b, a, b, ""); }
static LLVMValueRef mul(const M *m, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFMul(m->b, a, b, ""); }
static LLVMValueRef quo(const M *m, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFDiv(m->b, a, b, ""); }
static LLVMValueRef neg(const M *m, LLVMValueRef a) { return LLVMBuildFNeg(m->b, a, ""); }
static LLVMValueRef fma3(const M *m, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c) {
    LLVMValueRef args[3] = {a, b, c};
    return call(m, "llvm.fma", args, 3);
}
static LLVMValueRef rint1(const M *m, LLVMValueRef a) { return call(m, "llvm.rint", &a, 1); }
static LLVMValueRef fabs1(const M *m, LLVMValueRef a) { return call(m, "llvm.fabs", &a, 1); }
static LLVMValueRef cmp(const M *m, LLVMRealPredicate p, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildFCmp(m->b, p, a, b, "");
}
static LLVMValueRef sel(const M *m, LLVMValueRef c, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildSelect(m->b, c, a, b, "");
}
static LLVMValueRef and1(const M *m, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildAnd(m->b, a, b, ""); }
static LLVMValueRef or1(const M *m, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildOr(m->b, a, b, ""); }
static LLVMValueRef bits_of(const M *m, LLVMValueRef a) { return LLVMBuildBitCast(m->b, a, m->it, ""); }
static LLVMValueRef real_of(const M *m, LLVMValueRef a) { return LLVMBuildBitCast(m->b, a, m->t, ""); }

/* c[0] x^(n-1) + ... + c[n-1], Horner with fma. */
static LLVMValueRef horner(const M *m, LLVMValueRef x, const double *c, int n) {
    LLVMValueRef p = K(m, c[0]);
    for (int i = 1; i < n; i++) p = fma3(m, p, x, K(m, c[i]));
    return p;
}

/* a + b = s + err exactly (Knuth's two-sum, any magnitudes). */
static LLVMValueRef two_sum(const M *m, LLVMValueRef a, LLVMValueRef b, LLVMValueRef *err) {
    LLVMValueRef s = add(m, a, b);
    LLVMValueRef bb = sub(m, s, a);
    *err = add(m, sub(m, a, sub(m, s, bb)), sub(m, b, bb));
    return s;
}

/* --- exp ------------------------------------------------------------------------------ */

static const double LN2_HI = 0x1.62e42fefa39efp-1, LN2_LO = 0x1.abc9e3b39803fp-56, INV_LN2 = 0x1.71547652b82fep+0;
/* 1/13!, ..., 1/2!, 1, 1 */
static const double EXP_C[] = {0x1.6124613a86d09p-33, 0x1.1eed8eff8d898p-29, 0x1.ae64567f544e4p-26,
                               0x1.27e4fb7789f5cp-22, 0x1.71de3a556c734p-19, 0x1.a01a01a01a01ap-16,
                               0x1.a01a01a01a01ap-13, 0x1.6c16c16c16c17p-10, 0x1.1111111111111p-7,
                               0x1.5555555555555p-5,  0x1.5555555555555p-3,  0x1.0p-1,
                               0x1.0p+0,              0x1.0p+0};

/* exp(z + zlo) for a small correction zlo (NULL: 0) that must be finite. */
static LLVMValueRef exp_dd(const M *m, LLVMValueRef z, LLVMValueRef zlo) {
    LLVMValueRef nan = cmp(m, LLVMRealUNO, z, z);
    LLVMValueRef zc = sel(m, cmp(m, LLVMRealOGT, z, K(m, 710)), K(m, 710), z);
    zc = sel(m, cmp(m, LLVMRealOLT, zc, K(m, -746)), K(m, -746), zc);
    zc = sel(m, nan, K(m, 0), zc);
    LLVMValueRef kf = rint1(m, mul(m, zc, K(m, INV_LN2)));
    LLVMValueRef nk = neg(m, kf);
    LLVMValueRef r = fma3(m, nk, K(m, LN2_HI), zc); /* exact */
    r = fma3(m, nk, K(m, LN2_LO), r);
    if (zlo) r = add(m, r, zlo);
    LLVMValueRef p = horner(m, r, EXP_C, (int)(sizeof EXP_C / sizeof EXP_C[0]));
    LLVMValueRef k = LLVMBuildFPToSI(m->b, kf, m->it, ""); /* in [-1077, 1025] */
    LLVMValueRef k1 = LLVMBuildAShr(m->b, k, KI(m, 1), "");
    LLVMValueRef k2 = LLVMBuildSub(m->b, k, k1, "");
    LLVMValueRef s1 = real_of(m, LLVMBuildShl(m->b, LLVMBuildAdd(m->b, k1, KI(m, 1023), ""), KI(m, 52), ""));
    LLVMValueRef s2 = real_of(m, LLVMBuildShl(m->b, LLVMBuildAdd(m->b, k2, KI(m, 1023), ""), KI(m, 52), ""));
    LLVMValueRef res = mul(m, mul(m, p, s1), s2);
    return sel(m, nan, z, res);
}

/* --- log ------------------------------------------------------------------------------ */

static const double LOG_LN2_HI = 0x1.62e42feep-1;        /* fdlibm ln2_hi: 32 significant bits */
static const double LOG_LN2_LO = 0x1.a39ef35793c76p-33;  /* ln2 - LOG_LN2_HI */
/* 2/23, 2/21, ..., 2/5, 2/3: log(m) = 2s + s^3 P(s^2) */
static const double LOG_C[] = {0x1.642c8590b2164p-4, 0x1.8618618618618p-4, 0x1.af286bca1af28p-4, 0x1.e1e1e1e1e1e1ep-4,
                               0x1.1111111111111p-3, 0x1.3b13b13b13b14p-3, 0x1.745d1745d1746p-3, 0x1.c71c71c71c71cp-3,
                               0x1.2492492492492p-2, 0x1.999999999999ap-2, 0x1.5555555555555p-1};

/* log(x) = *hi + *lo (|lo| <= ulp(hi)/2), with the special values in hi and lo = 0 for
 * x = 0, x < 0, inf, nan. */
static void log_dd(const M *m, LLVMValueRef x, LLVMValueRef *hi_out, LLVMValueRef *lo_out) {
    LLVMBuilderRef b = m->b;
    LLVMValueRef sub_n = cmp(m, LLVMRealOLT, x, K(m, 0x1p-1022));
    LLVMValueRef xs = sel(m, sub_n, mul(m, x, K(m, 0x1p54)), x);
    LLVMValueRef kadj = LLVMBuildSelect(b, sub_n, KI(m, -54), KI(m, 0), "");
    LLVMValueRef bits = bits_of(m, xs);
    LLVMValueRef tmp = LLVMBuildSub(b, bits, KI(m, 0x3fe6a09e667f3bcdLL), "");
    LLVMValueRef k = LLVMBuildAdd(b, LLVMBuildAShr(b, tmp, KI(m, 52), ""), kadj, "");
    LLVMValueRef iz = LLVMBuildSub(b, bits, LLVMBuildAnd(b, tmp, KI(m, (int64_t)(0xfffULL << 52)), ""), "");
    LLVMValueRef mm = real_of(m, iz); /* [sqrt(1/2), sqrt(2)) */
    LLVMValueRef f = sub(m, mm, K(m, 1)); /* exact (Sterbenz) */
    LLVMValueRef ulo;
    LLVMValueRef u = two_sum(m, mm, K(m, 1), &ulo);
    LLVMValueRef s = quo(m, f, u);
    LLVMValueRef ns = neg(m, s);
    LLVMValueRef rem = fma3(m, ns, u, f);
    rem = fma3(m, ns, ulo, rem); /* f - s (u + ulo) */
    LLVMValueRef slo = quo(m, rem, u);
    LLVMValueRef s2 = mul(m, s, s);
    LLVMValueRef tail = mul(m, mul(m, s, s2), horner(m, s2, LOG_C, (int)(sizeof LOG_C / sizeof LOG_C[0])));
    LLVMValueRef kf = LLVMBuildSIToFP(b, k, m->t, "");
    LLVMValueRef a = mul(m, kf, K(m, LOG_LN2_HI)); /* exact: |k| < 2^11 */
    LLVMValueRef err;
    LLVMValueRef hi = two_sum(m, a, mul(m, s, K(m, 2)), &err);
    LLVMValueRef lo = add(m, err, add(m, mul(m, kf, K(m, LOG_LN2_LO)), add(m, mul(m, slo, K(m, 2)), tail)));
    LLVMValueRef h = add(m, hi, lo);
    LLVMValueRef l = sub(m, lo, sub(m, h, hi));
    /* specials */
    LLVMValueRef special = K(m, 0);
    LLVMValueRef is_special = cmp(m, LLVMRealUNO, x, x);
    special = sel(m, is_special, x, special);
    LLVMValueRef c = cmp(m, LLVMRealOLT, x, K(m, 0));
    special = sel(m, c, K(m, NAN), special);
    is_special = or1(m, is_special, c);
    c = cmp(m, LLVMRealOEQ, x, K(m, 0));
    special = sel(m, c, K(m, -INFINITY), special);
    is_special = or1(m, is_special, c);
    c = cmp(m, LLVMRealOEQ, x, K(m, INFINITY));
    special = sel(m, c, K(m, INFINITY), special);
    is_special = or1(m, is_special, c);
    *hi_out = sel(m, is_special, special, h);
    *lo_out = sel(m, is_special, K(m, 0), l);
}

/* --- tanh ----------------------------------------------------------------------------- */

/* 1/20!, ..., 1/2!, 1: expm1(t) = t P(t) */
static const double EXPM1_C[] = {
    0x1.e542ba4020225p-62, 0x1.2f49b46814157p-57, 0x1.6827863b97d97p-53, 0x1.952c77030ad4ap-49, 0x1.ae7f3e733b81fp-45,
    0x1.ae7f3e733b81fp-41, 0x1.93974a8c07c9dp-37, 0x1.6124613a86d09p-33, 0x1.1eed8eff8d898p-29, 0x1.ae64567f544e4p-26,
    0x1.27e4fb7789f5cp-22, 0x1.71de3a556c734p-19, 0x1.a01a01a01a01ap-16, 0x1.a01a01a01a01ap-13, 0x1.6c16c16c16c17p-10,
    0x1.1111111111111p-7,  0x1.5555555555555p-5,  0x1.5555555555555p-3,  0x1.0p-1,              0x1.0p+0};

static LLVMValueRef tanh_d(const M *m, LLVMValueRef x) {
    LLVMValueRef a = fabs1(m, x);
    LLVMValueRef t = mul(m, a, K(m, 2));
    LLVMValueRef em = mul(m, t, horner(m, t, EXPM1_C, (int)(sizeof EXPM1_C / sizeof EXPM1_C[0])));
    LLVMValueRef small = quo(m, em, add(m, em, K(m, 2)));
    LLVMValueRef e2 = exp_dd(m, t, NULL);
    LLVMValueRef mid = sub(m, K(m, 1), quo(m, K(m, 2), add(m, e2, K(m, 1))));
    LLVMValueRef r = sel(m, cmp(m, LLVMRealOLT, a, K(m, 0.5)), small, mid);
    r = sel(m, cmp(m, LLVMRealOGT, a, K(m, 22)), K(m, 1), r);
    LLVMValueRef args[2] = {r, x};
    return call(m, "llvm.copysign", args, 2); /* nan stays nan */
}

/* --- sin, cos ------------------------------------------------------------------------- */

static const double PIO2_1 = 0x1.921fb54442d18p+0, PIO2_2 = 0x1.1a62633145c07p-54, PIO2_3 = -0x1.f1976b7ed8fbcp-110;
static const double TWO_OVER_PI = 0x1.45f306dc9c883p-1;
/* sin(r) = r + r^3 P(r^2): -1/19!, ..., -1/3! */
static const double SIN_C[] = {-0x1.2f49b46814157p-57, 0x1.952c77030ad4ap-49, -0x1.ae7f3e733b81fp-41,
                               0x1.6124613a86d09p-33,  -0x1.ae64567f544e4p-26, 0x1.71de3a556c734p-19,
                               -0x1.a01a01a01a01ap-13, 0x1.1111111111111p-7,  -0x1.5555555555555p-3};
/* cos(r) = P(r^2): 1/20!, ..., -1/2!, 1 */
static const double COS_C[] = {0x1.e542ba4020225p-62, -0x1.6827863b97d97p-53, 0x1.ae7f3e733b81fp-45,
                               -0x1.93974a8c07c9dp-37, 0x1.1eed8eff8d898p-29, -0x1.27e4fb7789f5cp-22,
                               0x1.a01a01a01a01ap-16,  -0x1.6c16c16c16c17p-10, 0x1.5555555555555p-5,
                               -0x1.0p-1,              0x1.0p+0};

/* 2/pi in 64-bit words after one zero word: bit i of 2/pi (weight 2^-i, i >= 1) is bit
 * 63 + i of the stream, most significant first. 1344 bits cover every double exponent. */
static const uint64_t TWO_OVER_PI_BITS[] = {
    0x0000000000000000ULL, 0xa2f9836e4e441529ULL, 0xfc2757d1f534ddc0ULL, 0xdb6295993c439041ULL,
    0xfe5163abdebbc561ULL, 0xb7246e3a424dd2e0ULL, 0x06492eea09d1921cULL, 0xfe1deb1cb129a73eULL,
    0xe88235f52ebb4484ULL, 0xe99c7026b45f7e41ULL, 0x3991d639835339f4ULL, 0x9c845f8bbdf9283bULL,
    0x1ff897ffde05980fULL, 0xef2f118b5a0a6d1fULL, 0x6d367ecf27cb09b7ULL, 0x4f463f669e5fea2dULL,
    0x7527bac7ebe5f17bULL, 0x3d0739f78a5292eaULL, 0x6bfb5fb11f8d5d08ULL, 0x56033046fc7b6babULL,
    0xf0cfbc209af4361dULL, 0xa9e391615ee61b08ULL};
#define N_TWO_OVER_PI (sizeof TWO_OVER_PI_BITS / sizeof TWO_OVER_PI_BITS[0])

/* Word w (an i64 value) of the table, lane by lane. */
static LLVMValueRef table_word(const M *m, LLVMValueRef w) {
    LLVMTypeRef i64 = LLVMInt64TypeInContext(m->ctx), at = LLVMArrayType(i64, N_TWO_OVER_PI);
    LLVMValueRef g = LLVMGetNamedGlobal(m->mod, "llmc.two_over_pi");
    if (!g) {
        LLVMValueRef words[N_TWO_OVER_PI];
        for (size_t i = 0; i < N_TWO_OVER_PI; i++) words[i] = LLVMConstInt(i64, TWO_OVER_PI_BITS[i], 0);
        g = LLVMAddGlobal(m->mod, at, "llmc.two_over_pi");
        LLVMSetInitializer(g, LLVMConstArray(i64, words, N_TWO_OVER_PI));
        LLVMSetGlobalConstant(g, 1);
        LLVMSetLinkage(g, LLVMPrivateLinkage);
        LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
    }
    unsigned n = m->lanes ? m->lanes : 1;
    LLVMValueRef v = m->lanes ? LLVMGetPoison(m->it) : NULL;
    LLVMTypeRef i32 = LLVMInt32TypeInContext(m->ctx);
    for (unsigned l = 0; l < n; l++) {
        LLVMValueRef idx = m->lanes ? LLVMBuildExtractElement(m->b, w, LLVMConstInt(i32, l, 0), "") : w;
        LLVMValueRef ix[2] = {LLVMConstInt(i64, 0, 0), idx};
        LLVMValueRef x = LLVMBuildLoad2(m->b, i64, LLVMBuildInBoundsGEP2(m->b, at, g, ix, 2, ""), "");
        if (!m->lanes) return x;
        v = LLVMBuildInsertElement(m->b, v, x, LLVMConstInt(i32, l, 0), "");
    }
    return v;
}

/* Payne-Hanek: |x| 2/pi = q + f, f in [-1/2, 1/2], for any finite x (meant for |x| >=
 * 2^30, where Cody-Waite runs out of bits; other lanes get a clamped, unused result).
 * |x| = M 2^e; the bits of 2/pi below weight 2^(e-2) only add multiples of 4, so a
 * 192-bit window C starting at bit e-1 gives (M C mod 2^192) 2^-190 = |x| 2/pi mod 4 to
 * ~2^-137. *q = the quadrant (0..3) of x, returns x - (q + 4n) pi/2 (sign applied). */
static LLVMValueRef reduce_big(const M *m, LLVMValueRef x, LLVMValueRef *q) {
    LLVMBuilderRef b = m->b;
    LLVMTypeRef i128 = LLVMInt128TypeInContext(m->ctx);
    LLVMTypeRef wt = m->lanes ? LLVMVectorType(i128, m->lanes) : i128;
    LLVMValueRef bits = bits_of(m, fabs1(m, x));
    LLVMValueRef e = LLVMBuildSub(b, LLVMBuildLShr(b, bits, KI(m, 52), ""), KI(m, 1075), "");
    e = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, e, KI(m, -22), ""), KI(m, -22), e, "");
    e = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSGT, e, KI(m, 971), ""), KI(m, 971), e, "");
    LLVMValueRef mant = LLVMBuildOr(b, LLVMBuildAnd(b, bits, KI(m, (1LL << 52) - 1), ""), KI(m, 1LL << 52), "");
    LLVMValueRef pos = LLVMBuildAdd(b, e, KI(m, 62), ""); /* stream bit of 2/pi's bit e-1: >= 40 */
    LLVMValueRef wi = LLVMBuildLShr(b, pos, KI(m, 6), ""), sh = LLVMBuildAnd(b, pos, KI(m, 63), "");
    LLVMValueRef rsh = LLVMBuildSub(b, KI(m, 63), sh, "");
    LLVMValueRef t[4], c[3], lo[3], hi[3];
    for (int k = 0; k < 4; k++) t[k] = table_word(m, LLVMBuildAdd(b, wi, KI(m, k), ""));
    for (int k = 0; k < 3; k++) {
        LLVMValueRef next = LLVMBuildLShr(b, LLVMBuildLShr(b, t[k + 1], KI(m, 1), ""), rsh, "");
        c[k] = LLVMBuildOr(b, LLVMBuildShl(b, t[k], sh, ""), next, "");
        LLVMValueRef p = LLVMBuildMul(b, LLVMBuildZExt(b, mant, wt, ""), LLVMBuildZExt(b, c[k], wt, ""), "");
        lo[k] = LLVMBuildTrunc(b, p, m->it, "");
        LLVMValueRef s64 = LLVMConstInt(i128, 64, 0);
        if (m->lanes) {
            LLVMValueRef v[64];
            for (unsigned l = 0; l < m->lanes; l++) v[l] = s64;
            s64 = LLVMConstVector(v, m->lanes);
        }
        hi[k] = LLVMBuildTrunc(b, LLVMBuildLShr(b, p, s64, ""), m->it, "");
    }
    /* R = M C mod 2^192 = top:mid:low; only top and mid are needed with low's weight */
    LLVMValueRef low = lo[2];
    LLVMValueRef mid = LLVMBuildAdd(b, hi[2], lo[1], "");
    LLVMValueRef carry = LLVMBuildZExt(b, LLVMBuildICmp(b, LLVMIntULT, mid, lo[1], ""), m->it, "");
    LLVMValueRef top = LLVMBuildAdd(b, LLVMBuildAdd(b, hi[1], lo[0], ""), carry, "");
    top = LLVMBuildAdd(b, top, KI(m, 1LL << 61), ""); /* round to the nearest quadrant */
    LLVMValueRef qq = LLVMBuildLShr(b, top, KI(m, 62), "");
    LLVMValueRef fr = LLVMBuildSub(b, LLVMBuildAnd(b, top, KI(m, (1LL << 62) - 1), ""), KI(m, 1LL << 61), "");
    LLVMValueRef a = LLVMBuildSIToFP(b, fr, m->t, "");
    LLVMValueRef rem = LLVMBuildSub(b, fr, LLVMBuildFPToSI(b, a, m->it, ""), ""); /* exact, |rem| <= 2^8 */
    LLVMValueRef tail = mul(m, add(m, LLVMBuildUIToFP(b, mid, m->t, ""),
                                   mul(m, LLVMBuildUIToFP(b, low, m->t, ""), K(m, 0x1p-64))), K(m, 0x1p-64));
    LLVMValueRef f = mul(m, add(m, a, add(m, LLVMBuildSIToFP(b, rem, m->t, ""), tail)), K(m, 0x1p-62));
    LLVMValueRef r = fma3(m, f, K(m, PIO2_1), mul(m, f, K(m, PIO2_2)));
    LLVMValueRef xneg = LLVMBuildICmp(b, LLVMIntSLT, bits_of(m, x), KI(m, 0), "");
    *q = LLVMBuildSelect(b, xneg, LLVMBuildAnd(b, LLVMBuildNeg(b, qq, ""), KI(m, 3), ""), qq, "");
    return sel(m, xneg, neg(m, r), r);
}

/* Any lane true, as an i1. */
static LLVMValueRef any_lane(const M *m, LLVMValueRef c) {
    if (!m->lanes) return c;
    LLVMTypeRef it = LLVMIntTypeInContext(m->ctx, m->lanes);
    return LLVMBuildICmp(m->b, LLVMIntNE, LLVMBuildBitCast(m->b, c, it, ""), LLVMConstInt(it, 0, 0), "");
}

static LLVMValueRef sincos_d(const M *m, LLVMValueRef x, bool is_cos) {
    LLVMBuilderRef b = m->b;
    LLVMValueRef q = rint1(m, mul(m, x, K(m, TWO_OVER_PI)));
    LLVMValueRef nq = neg(m, q);
    LLVMValueRef r = fma3(m, nq, K(m, PIO2_1), x); /* exact */
    r = fma3(m, nq, K(m, PIO2_2), r);
    r = fma3(m, nq, K(m, PIO2_3), r);
    LLVMTypeRef sat_tys[2] = {m->it, m->t};
    unsigned sat = LLVMLookupIntrinsicID("llvm.fptosi.sat", strlen("llvm.fptosi.sat"));
    LLVMValueRef qi = LLVMBuildCall2(b, LLVMIntrinsicGetType(m->ctx, sat, sat_tys, 2),
                                     LLVMGetIntrinsicDeclaration(m->mod, sat, sat_tys, 2), &q, 1, "");
    /* |x| >= 2^30 (finite): Payne-Hanek, in a block of its own, skipped when no lane needs it */
    LLVMValueRef ax = fabs1(m, x);
    LLVMValueRef big = and1(m, cmp(m, LLVMRealOGE, ax, K(m, 0x1p30)), cmp(m, LLVMRealOLT, ax, K(m, INFINITY)));
    LLVMBasicBlockRef from = LLVMGetInsertBlock(b), fn_bb;
    LLVMValueRef fn = LLVMGetBasicBlockParent(from);
    fn_bb = LLVMAppendBasicBlockInContext(m->ctx, fn, "trig.big");
    LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(m->ctx, fn, "trig.join");
    LLVMBuildCondBr(b, any_lane(m, big), fn_bb, join);
    LLVMPositionBuilderAtEnd(b, fn_bb);
    LLVMValueRef qb;
    LLVMValueRef rb = reduce_big(m, x, &qb);
    LLVMValueRef r_big = sel(m, big, rb, r), q_big = LLVMBuildSelect(b, big, qb, qi, "");
    LLVMBasicBlockRef big_end = LLVMGetInsertBlock(b);
    LLVMBuildBr(b, join);
    LLVMPositionBuilderAtEnd(b, join);
    LLVMValueRef rp = LLVMBuildPhi(b, m->t, "trig.r"), qp = LLVMBuildPhi(b, m->it, "trig.q");
    LLVMValueRef rin[2] = {r, r_big}, qin[2] = {qi, q_big};
    LLVMBasicBlockRef bbs[2] = {from, big_end};
    LLVMAddIncoming(rp, rin, bbs, 2);
    LLVMAddIncoming(qp, qin, bbs, 2);
    r = rp;
    qi = qp;

    LLVMValueRef r2 = mul(m, r, r);
    LLVMValueRef s = fma3(m, mul(m, r, r2), horner(m, r2, SIN_C, (int)(sizeof SIN_C / sizeof SIN_C[0])), r);
    LLVMValueRef c = horner(m, r2, COS_C, (int)(sizeof COS_C / sizeof COS_C[0]));
    if (is_cos) qi = LLVMBuildAdd(b, qi, KI(m, 1), "");
    LLVMValueRef odd = LLVMBuildICmp(b, LLVMIntNE, LLVMBuildAnd(b, qi, KI(m, 1), ""), KI(m, 0), "");
    LLVMValueRef flip = LLVMBuildICmp(b, LLVMIntNE, LLVMBuildAnd(b, qi, KI(m, 2), ""), KI(m, 0), "");
    LLVMValueRef v = sel(m, odd, c, s);
    v = sel(m, flip, neg(m, v), v);
    if (!is_cos) v = sel(m, cmp(m, LLVMRealOLT, ax, K(m, 0x1p-26)), x, v);
    return sel(m, cmp(m, LLVMRealOEQ, ax, K(m, INFINITY)), K(m, NAN), v);
}

/* --- pow ------------------------------------------------------------------------------ */

static LLVMValueRef pow_d(const M *m, LLVMValueRef x, LLVMValueRef y) {
    LLVMBuilderRef b = m->b;
    LLVMValueRef ax = fabs1(m, x);
    LLVMValueRef lh, ll;
    log_dd(m, ax, &lh, &ll);
    LLVMValueRef z = mul(m, y, lh);
    LLVMValueRef zlo = add(m, fma3(m, y, lh, neg(m, z)), mul(m, y, ll));
    zlo = sel(m, cmp(m, LLVMRealOLT, fabs1(m, z), K(m, 1000)), zlo, K(m, 0)); /* finite z only */
    LLVMValueRef r = exp_dd(m, z, zlo);
    /* y integer (inf counts, as an even one) and odd */
    LLVMValueRef yint = cmp(m, LLVMRealOEQ, rint1(m, y), y);
    LLVMValueRef hy = mul(m, y, K(m, 0.5));
    LLVMValueRef yodd = and1(m, yint, cmp(m, LLVMRealUNE, rint1(m, hy), hy));
    LLVMValueRef xneg = LLVMBuildICmp(b, LLVMIntSLT, bits_of(m, x), KI(m, 0), ""); /* sign bit (-0 too) */
    r = sel(m, and1(m, xneg, yodd), neg(m, r), r);
    LLVMValueRef finite_nz = and1(m, cmp(m, LLVMRealOLT, ax, K(m, INFINITY)), cmp(m, LLVMRealONE, ax, K(m, 0)));
    LLVMValueRef bad = and1(m, and1(m, xneg, finite_nz), LLVMBuildNot(b, yint, ""));
    bad = and1(m, bad, cmp(m, LLVMRealORD, y, y));
    r = sel(m, bad, K(m, NAN), r);
    LLVMValueRef one = or1(m, cmp(m, LLVMRealOEQ, x, K(m, 1)),
                           and1(m, cmp(m, LLVMRealOEQ, x, K(m, -1)), cmp(m, LLVMRealOEQ, fabs1(m, y), K(m, INFINITY))));
    one = or1(m, one, cmp(m, LLVMRealOEQ, y, K(m, 0)));
    return sel(m, one, K(m, 1), r);
}

/* --- entry points --------------------------------------------------------------------- */

typedef enum Fn { FN_EXP, FN_LOG, FN_TANH, FN_SIN, FN_COS, FN_POW } Fn;

static LLVMValueRef emit(LLVMModuleRef mod, LLVMBuilderRef b, Fn fn, LLVMValueRef x, LLVMValueRef y) {
    M m = m_of(mod, b, x);
    LLVMTypeRef t = LLVMTypeOf(x);
    LLVMTypeRef et = m.lanes ? LLVMGetElementType(t) : t;
    bool f32 = LLVMGetTypeKind(et) == LLVMFloatTypeKind;
    LLMC_ASSERT(f32 || LLVMGetTypeKind(et) == LLVMDoubleTypeKind);
    if (f32) {
        x = LLVMBuildFPExt(b, x, m.t, "");
        if (y) y = LLVMBuildFPExt(b, y, m.t, "");
    }
    LLVMValueRef r = NULL, lo;
    switch (fn) {
    case FN_EXP: r = exp_dd(&m, x, NULL); break;
    case FN_LOG: log_dd(&m, x, &r, &lo); break;
    case FN_TANH: r = tanh_d(&m, x); break;
    case FN_SIN: r = sincos_d(&m, x, false); break;
    case FN_COS: r = sincos_d(&m, x, true); break;
    case FN_POW: r = pow_d(&m, x, y); break;
    }
    return f32 ? LLVMBuildFPTrunc(b, r, t, "") : r;
}

LLVMValueRef cc_math_exp(LLVMModuleRef mod, LLVMBuilderRef b, LLVMValueRef x) { return emit(mod, b, FN_EXP, x, NULL); }
LLVMValueRef cc_math_log(LLVMModuleRef mod, LLVMBuilderRef b, LLVMValueRef x) { return emit(mod, b, FN_LOG, x, NULL); }

/* --- exp in f32 arithmetic ---------------------------------------------------------------
 * For kernels where exp is the bottleneck and ~1 ulp is enough (the attention kernels'
 * online softmax: an exp per score against 2·head-dim FMAs). x clamped to [XLO, XHI];
 * k = rint(x log2 e) in [-125, 128]; r = x - k ln2 by two fma with ln2 in two parts,
 * |r| <= ln2/2; exp(r) by its Taylor series to r^7 (truncation 7e-9
 * relative, below half an f32 ulp) in Horner form with fma; then (2 p) 2^(k-1), the power
 * of two built in the exponent field, which stays normal for k >= -125. x < XLO gives +0
 * (results below 2^-125, near FLT_MIN, are flushed: subnormals are never produced),
 * x > XHI +inf, nan passes through. Measured by tests/jit/test_jit_math.c against the
 * correctly rounded result. */
static const float EXPF_XLO = -86.64f, EXPF_XHI = 88.7228390f; /* ~ -125 ln2, ln(FLT_MAX) */
static const float EXPF_C[] = {0x1.a01a02p-13f, 0x1.6c16c2p-10f, 0x1.111112p-7f, 0x1.555556p-5f,
                               0x1.555556p-3f,  0x1.0p-1f,       0x1.0p+0f,      0x1.0p+0f}; /* 1/7!, ..., 1/2!, 1, 1 */
static const float EXPF_LOG2E = 0x1.715476p+0f, EXPF_LN2_HI = 0x1.62e4p-1f, EXPF_LN2_LO = 0x1.7f7d1cp-20f;

/* The f32 constant c as m's type (a splat when m is a vector). */
static LLVMValueRef KF(const M *m, float c) { return splat(m, LLVMConstReal(LLVMFloatTypeInContext(m->ctx), c)); }
static LLVMValueRef KI32(const M *m, int32_t c) {
    return splat(m, LLVMConstInt(LLVMInt32TypeInContext(m->ctx), (unsigned long long)(int64_t)c, 1));
}

LLVMValueRef cc_math_exp_f32(LLVMModuleRef mod, LLVMBuilderRef b, LLVMValueRef x) {
    LLVMContextRef ctx = LLVMGetModuleContext(mod);
    LLVMTypeRef t = LLVMTypeOf(x), i32 = LLVMInt32TypeInContext(ctx);
    unsigned lanes = LLVMGetTypeKind(t) == LLVMVectorTypeKind ? LLVMGetVectorSize(t) : 0;
    LLMC_ASSERT(LLVMGetTypeKind(lanes ? LLVMGetElementType(t) : t) == LLVMFloatTypeKind);
    M m = {mod, b, ctx, lanes, t, lanes ? LLVMVectorType(i32, lanes) : i32}; /* f32 and i32 lanes */
    LLVMValueRef nan = cmp(&m, LLVMRealUNO, x, x);
    LLVMValueRef low = cmp(&m, LLVMRealOLT, x, KF(&m, EXPF_XLO)), high = cmp(&m, LLVMRealOGT, x, KF(&m, EXPF_XHI));
    LLVMValueRef xc = sel(&m, low, KF(&m, EXPF_XLO), sel(&m, high, KF(&m, EXPF_XHI), sel(&m, nan, KF(&m, 0), x)));
    LLVMValueRef kf = rint1(&m, mul(&m, xc, KF(&m, EXPF_LOG2E))); /* in [-125, 128] */
    LLVMValueRef nk = neg(&m, kf);
    LLVMValueRef r = fma3(&m, nk, KF(&m, EXPF_LN2_HI), xc); /* one rounding: fma */
    r = fma3(&m, nk, KF(&m, EXPF_LN2_LO), r);
    LLVMValueRef p = KF(&m, EXPF_C[0]);
    for (size_t i = 1; i < sizeof EXPF_C / sizeof EXPF_C[0]; i++) p = fma3(&m, p, r, KF(&m, EXPF_C[i]));
    LLVMValueRef k = LLVMBuildFPToSI(b, kf, m.it, "");
    LLVMValueRef pow2 = LLVMBuildBitCast(b, LLVMBuildShl(b, LLVMBuildAdd(b, k, KI32(&m, 126), ""), KI32(&m, 23), ""), t,
                                         ""); /* 2^(k-1) */
    LLVMValueRef res = mul(&m, mul(&m, p, KF(&m, 2)), pow2);
    res = sel(&m, low, KF(&m, 0), sel(&m, high, KF(&m, INFINITY), res));
    return sel(&m, nan, x, res);
}
LLVMValueRef cc_math_tanh(LLVMModuleRef mod, LLVMBuilderRef b, LLVMValueRef x) {
    return emit(mod, b, FN_TANH, x, NULL);
}
LLVMValueRef cc_math_sin(LLVMModuleRef mod, LLVMBuilderRef b, LLVMValueRef x) { return emit(mod, b, FN_SIN, x, NULL); }
LLVMValueRef cc_math_cos(LLVMModuleRef mod, LLVMBuilderRef b, LLVMValueRef x) { return emit(mod, b, FN_COS, x, NULL); }
LLVMValueRef cc_math_pow(LLVMModuleRef mod, LLVMBuilderRef b, LLVMValueRef x, LLVMValueRef y) {
    return emit(mod, b, FN_POW, x, y);
}

/* The kernel of cc_codegen_exp_f32: y[i] = cc_math_exp_f32(x[i]), 16 lanes at a time
 * from begin, then one at a time. */
static LLVMModuleRef exp_f32_module(const CcJit *jit, LLVMContextRef ctx) {
    LLVMModuleRef mod = LLVMModuleCreateWithNameInContext("llmc_expf", ctx);
    LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
    LLVMTypeRef ptr = LLVMPointerTypeInContext(ctx, 0), i64 = LLVMInt64TypeInContext(ctx);
    LLVMTypeRef ft = LLVMFloatTypeInContext(ctx), params[3] = {ptr, i64, i64};
    LLVMValueRef fn = LLVMAddFunction(mod, "llmc_expf", LLVMFunctionType(LLVMVoidTypeInContext(ctx), params, 3, 0));
    LLVMValueRef bufs = LLVMGetParam(fn, 0), begin = LLVMGetParam(fn, 1), end = LLVMGetParam(fn, 2);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(ctx, fn, "entry");
    LLVMPositionBuilderAtEnd(b, entry);
    LLVMValueRef io[2];
    for (int i = 0; i < 2; i++) {
        LLVMValueRef ix = LLVMConstInt(i64, (unsigned long long)i, 0);
        io[i] = LLVMBuildLoad2(b, ptr, LLVMBuildGEP2(b, ptr, bufs, &ix, 1, ""), "");
    }
    LLVMBasicBlockRef pre = entry;
    LLVMValueRef start = begin;
    for (unsigned w = 16;; w = 1) { /* the vector loop, then the tail from where it stopped */
        LLVMTypeRef t = w > 1 ? LLVMVectorType(ft, w) : ft;
        LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(ctx, fn, "head");
        LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(ctx, fn, "body");
        LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(ctx, fn, "done");
        LLVMBuildBr(b, head);
        LLVMPositionBuilderAtEnd(b, head);
        LLVMValueRef i = LLVMBuildPhi(b, i64, "i");
        LLVMAddIncoming(i, &start, &pre, 1);
        LLVMValueRef next = LLVMBuildAdd(b, i, LLVMConstInt(i64, w, 0), "");
        LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLE, next, end, ""), body, done);
        LLVMPositionBuilderAtEnd(b, body);
        LLVMValueRef xi = LLVMBuildLoad2(b, t, LLVMBuildGEP2(b, ft, io[0], &i, 1, ""), "");
        LLVMSetAlignment(xi, 4);
        LLVMSetAlignment(LLVMBuildStore(b, cc_math_exp_f32(mod, b, xi), LLVMBuildGEP2(b, ft, io[1], &i, 1, "")), 4);
        LLVMBuildBr(b, head);
        LLVMAddIncoming(i, &next, &body, 1);
        LLVMPositionBuilderAtEnd(b, done);
        pre = done;
        start = i;
        if (w == 1) break;
    }
    LLVMBuildRetVoid(b);
    LLVMDisposeBuilder(b);
    cc_jit_prepare_module(jit, mod);
    return mod;
}

bool cc_codegen_exp_f32(CcJit *jit, CcKernelFn *fn, LlmcErr *err) {
    LLVMOrcThreadSafeContextRef tsctx = LLVMOrcCreateNewThreadSafeContext();
    LLVMModuleRef mod = exp_f32_module(jit, LLVMOrcThreadSafeContextGetContext(tsctx));
    return cc_jit_add_kernel(jit, mod, tsctx, "llmc_expf", fn, err);
}
