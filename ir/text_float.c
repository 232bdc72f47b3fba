/* ir/text_float.c — floating-point literals of the .llir text: printing that re-parses
 * bit-exactly, and the matching reader.
 *
 * Printing tries %.6g .. %.9g (f32) or %.15g .. %.17g (f64) and keeps the first text whose
 * strtof/strtod gives the same bits, so 0.1f prints "0.1" and every value comes back
 * exactly (9 and 17 significant digits always suffice). The exponent is tidied ("1e38",
 * "1e-5" rather than "1e+38", "1e-05"). Special values: "inf", "-inf", "-0"; the canonical
 * quiet NaN (f32 0x7fc00000, f64 0x7ff8000000000000) prints "nan"; every other NaN (sign
 * bit, payload, signalling) prints "nan:0x" and the full bit pattern in hex (8 digits for
 * f32, 16 for f64), so nothing is lost.
 *
 * Reading accepts exactly those forms plus "-nan" (the canonical NaN with the sign bit
 * set), and rejects everything else strtod would take (hex floats, "infinity", spaces,
 * "nan(...)"), so the text format does not depend on libc's extensions.
 *
 * Not here: integers (the parser reads those itself) and bf16 rounding (the parser).
 * Both directions use the C library, so they assume the "C" LC_NUMERIC locale.
 */
#include "ir_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define F32_CANON_NAN 0x7fc00000u
#define F64_CANON_NAN 0x7ff8000000000000ull

/* --- printing ------------------------------------------------------------------------ */

/* "1e+38" -> "1e38", "1e-05" -> "1e-5": strtod reads both, the short one reads better. */
/* The shortest digits may come out as 1e+05; a whole number below 10^16 reads better
 * as 100000. More digits of the same value still re-parse to the same bits: the
 * decimal only gets closer to the binary value. */
static void prefer_fixed(char *s, size_t n, double v) {
    const char *e = strchr(s, 'e');
    if (!e) return;
    int exp10 = atoi(e + 1);
    if (exp10 >= 0 && exp10 < 16) snprintf(s, n, "%.*g", exp10 + 1, v);
}

static void tidy_exponent(char *s) {
    char *e = strchr(s, 'e');
    if (!e) return;
    char *src = e + 1, *dst = e + 1;
    if (*src == '+') src++;
    else if (*src == '-') *dst++ = *src++;
    while (src[0] == '0' && src[1] != 0) src++;
    memmove(dst, src, strlen(src) + 1);
}

static void copy_out(const char *s, char *buf, size_t n) {
    if (n == 0) return;
    snprintf(buf, n, "%s", s);
}

void ir_format_f32(float v, char *buf, size_t n) {
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    char tmp[48];
    if (isnan(v)) {
        if (bits == F32_CANON_NAN)
            copy_out("nan", buf, n);
        else {
            snprintf(tmp, sizeof tmp, "nan:0x%08x", (unsigned)bits);
            copy_out(tmp, buf, n);
        }
        return;
    }
    if (isinf(v)) {
        copy_out(v < 0 ? "-inf" : "inf", buf, n);
        return;
    }
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, (double)v);
        float back = strtof(tmp, NULL);
        uint32_t back_bits;
        memcpy(&back_bits, &back, sizeof back_bits);
        if (back_bits == bits) break;
    }
    prefer_fixed(tmp, sizeof tmp, (double)v);
    tidy_exponent(tmp);
    copy_out(tmp, buf, n);
}

void ir_format_f64(double v, char *buf, size_t n) {
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    char tmp[48];
    if (isnan(v)) {
        if (bits == F64_CANON_NAN)
            copy_out("nan", buf, n);
        else {
            snprintf(tmp, sizeof tmp, "nan:0x%016llx", (unsigned long long)bits);
            copy_out(tmp, buf, n);
        }
        return;
    }
    if (isinf(v)) {
        copy_out(v < 0 ? "-inf" : "inf", buf, n);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        double back = strtod(tmp, NULL);
        uint64_t back_bits;
        memcpy(&back_bits, &back, sizeof back_bits);
        if (back_bits == bits) break;
    }
    prefer_fixed(tmp, sizeof tmp, v);
    tidy_exponent(tmp);
    copy_out(tmp, buf, n);
}

/* --- reading ------------------------------------------------------------------------- */

typedef enum LitForm { LIT_INVALID = 0, LIT_DECIMAL, LIT_INF, LIT_NAN, LIT_NAN_BITS } LitForm;

typedef struct Literal {
    LitForm form;
    bool negative;
    uint64_t bits;     /* LIT_NAN_BITS */
    size_t hex_digits; /* LIT_NAN_BITS */
} Literal;

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static size_t skip_digits(const char *s, size_t i, size_t n) {
    while (i < n && is_digit(s[i])) i++;
    return i;
}

/* decimal := digits ['.' digits] [('e' | 'E') ['+' | '-'] digits] */
static bool decimal_syntax(const char *s, size_t n) {
    size_t i = skip_digits(s, 0, n);
    if (i == 0) return false;
    if (i < n && s[i] == '.') {
        size_t j = skip_digits(s, i + 1, n);
        if (j == i + 1) return false;
        i = j;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        size_t j = skip_digits(s, i, n);
        if (j == i) return false;
        i = j;
    }
    return i == n;
}

/* literal := ['-'] (decimal | 'inf' | 'nan') | 'nan:0x' hexdigits */
static Literal classify(const char *s, size_t n) {
    Literal lit = {LIT_INVALID, false, 0, 0};
    if (n > 0 && s[0] == '-') {
        lit.negative = true;
        s++;
        n--;
    }
    if (n == 3 && memcmp(s, "inf", 3) == 0) {
        lit.form = LIT_INF;
    } else if (n == 3 && memcmp(s, "nan", 3) == 0) {
        lit.form = LIT_NAN;
    } else if (n > 6 && memcmp(s, "nan:0x", 6) == 0 && !lit.negative) {
        /* The sign is part of the bits; a second one would be ambiguous. */
        for (size_t i = 6; i < n; i++) {
            int h = hex_value(s[i]);
            if (h < 0) return lit;
            if (i - 6 < 16) lit.bits = lit.bits << 4 | (uint64_t)h;
        }
        lit.hex_digits = n - 6;
        lit.form = LIT_NAN_BITS;
    } else if (decimal_syntax(s, n)) {
        lit.form = LIT_DECIMAL;
    }
    return lit;
}

/* strtod needs a NUL-terminated string; literals may be arbitrarily long. */
static char *terminated_copy(const char *s, size_t n, char *small, size_t small_size) {
    char *p = n < small_size ? small : llmc_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

IrFloatParse ir_parse_f32(const char *s, size_t n, float *out) {
    Literal lit = classify(s, n);
    uint32_t bits;
    switch (lit.form) {
    case LIT_INVALID: return IR_FLOAT_SYNTAX;
    case LIT_INF: *out = lit.negative ? -INFINITY : INFINITY; return IR_FLOAT_OK;
    case LIT_NAN:
        bits = F32_CANON_NAN | (lit.negative ? 0x80000000u : 0);
        memcpy(out, &bits, sizeof bits);
        return IR_FLOAT_OK;
    case LIT_NAN_BITS:
        bits = (uint32_t)lit.bits;
        if (lit.hex_digits != 8 || (bits & 0x7f800000u) != 0x7f800000u || (bits & 0x007fffffu) == 0)
            return IR_FLOAT_NAN_BITS;
        memcpy(out, &bits, sizeof bits);
        return IR_FLOAT_OK;
    case LIT_DECIMAL: {
        char small[64];
        char *p = terminated_copy(s, n, small, sizeof small);
        errno = 0;
        float v = strtof(p, NULL);
        bool overflow = errno == ERANGE && isinf(v);
        if (p != small) free(p);
        if (overflow) return IR_FLOAT_RANGE;
        *out = v;
        return IR_FLOAT_OK;
    }
    }
    return IR_FLOAT_SYNTAX;
}

IrFloatParse ir_parse_f64(const char *s, size_t n, double *out) {
    Literal lit = classify(s, n);
    uint64_t bits;
    switch (lit.form) {
    case LIT_INVALID: return IR_FLOAT_SYNTAX;
    case LIT_INF: *out = lit.negative ? -INFINITY : INFINITY; return IR_FLOAT_OK;
    case LIT_NAN:
        bits = F64_CANON_NAN | (lit.negative ? 0x8000000000000000ull : 0);
        memcpy(out, &bits, sizeof bits);
        return IR_FLOAT_OK;
    case LIT_NAN_BITS:
        bits = lit.bits;
        if (lit.hex_digits != 16 || (bits & 0x7ff0000000000000ull) != 0x7ff0000000000000ull ||
            (bits & 0x000fffffffffffffull) == 0)
            return IR_FLOAT_NAN_BITS;
        memcpy(out, &bits, sizeof bits);
        return IR_FLOAT_OK;
    case LIT_DECIMAL: {
        char small[64];
        char *p = terminated_copy(s, n, small, sizeof small);
        errno = 0;
        double v = strtod(p, NULL);
        bool overflow = errno == ERANGE && isinf(v);
        if (p != small) free(p);
        if (overflow) return IR_FLOAT_RANGE;
        *out = v;
        return IR_FLOAT_OK;
    }
    }
    return IR_FLOAT_SYNTAX;
}
