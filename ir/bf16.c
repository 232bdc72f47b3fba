/* ir/bf16.c — rounding to bfloat16 and its bit patterns: the one definition the
 * interpreter (results of bf16 nodes), the builder and text parser (bf16 constants) and
 * the runtime (native bf16 buffers) share, so a JIT kernel can be checked bit for bit.
 *
 * bf16 is f32 with 7 stored mantissa bits: sign, 8 exponent bits (bias 127), 7 fraction
 * bits. Normal values are 1.f * 2^E, E in [-126, 127], one unit in the last place
 * 2^(E-7); subnormals are 0.f * 2^-126, steps of 2^-133. Rounding scales |x| so that a
 * unit in the last place of its binade is 1, rounds that to an integer (ties to even)
 * and scales back: every step is exact in double, so x is rounded once.
 *
 * Deliberately not here: bf16 arithmetic (the interpreter computes in double and rounds
 * the result) and vectorised conversions (codegen's).
 */
#include "ir.h"

#include <math.h>
#include <string.h>

#define BF16_MAX 0x1.fep127 /* the largest finite bf16 */

double ir_round_bf16(double x) {
    if (isnan(x)) return ir_bf16_to_double(ir_bf16_from_double(x)); /* a NaN bf16 holds: quiet, 6 payload bits */
    if (isinf(x) || x == 0) return x;
    double a = fabs(x);
    int e;
    (void)frexp(a, &e);         /* a = m 2^e, m in [0.5, 1): the binade's ulp is 2^(e-8) */
    int q = e - 8 < -133 ? -133 : e - 8;
    double s = ldexp(a, -q);    /* exact: a power-of-two scaling into [0, 256) */
    double r = floor(s), f = s - r; /* f exact: s has at most 53 significant bits */
    if (f > 0.5 || (f == 0.5 && fmod(r, 2.0) != 0)) r += 1;
    double y = ldexp(r, q); /* r <= 256: exact, or +inf past the double range */
    if (y > BF16_MAX) y = INFINITY;
    return copysign(y, x);
}

uint16_t ir_bf16_from_double(double x) {
    uint64_t d;
    if (isnan(x)) {
        memcpy(&d, &x, sizeof d);
        uint16_t sign = (uint16_t)(d >> 48) & 0x8000u;
        uint16_t payload = (uint16_t)((d >> 45) & 0x3fu); /* the 6 bits below the quiet bit */
        return (uint16_t)(sign | 0x7fc0u | payload);
    }
    /* The rounded value is an f32 whose low 16 bits are zero. */
    float f = (float)ir_round_bf16(x);
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return (uint16_t)(u >> 16);
}

double ir_bf16_to_double(uint16_t bits) {
    uint32_t u = (uint32_t)bits << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
