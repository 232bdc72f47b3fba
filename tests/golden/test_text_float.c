/* tests/golden/test_text_float.c — ir_format_f32/f64 and their readers: exact text for
 * special values, bit-exact round trips over ~100k random bit patterns of each width
 * (NaN payloads, subnormals and all), and rejection of what the .llir format does not
 * allow even though strtod would take it. */
#include "ir_int.h"
#include "test.h"

#include <stdlib.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* splitmix64: fixed seed, so a failure reproduces. */
static uint64_t rng_next(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static float f32_bits(uint32_t b) {
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

static double f64_bits(uint64_t b) {
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

static void check_f32_text(uint32_t bits, const char *want) {
    char buf[48];
    ir_format_f32(f32_bits(bits), buf, sizeof buf);
    CHECK_STR(buf, want);
}

static void check_f64_text(uint64_t bits, const char *want) {
    char buf[48];
    ir_format_f64(f64_bits(bits), buf, sizeof buf);
    CHECK_STR(buf, want);
}

static void test_special_text(void) {
    check_f32_text(0x00000000u, "0");
    check_f32_text(0x80000000u, "-0");
    check_f32_text(0x7f800000u, "inf");
    check_f32_text(0xff800000u, "-inf");
    check_f32_text(0x7fc00000u, "nan");
    check_f32_text(0xffc00000u, "nan:0xffc00000");
    check_f32_text(0x7fc00001u, "nan:0x7fc00001");
    check_f32_text(0x7f800001u, "nan:0x7f800001"); /* signalling */
    check_f32_text(0x3dcccccdu, "0.1");
    check_f32_text(0x3f800000u, "1");
    check_f32_text(0xc0200000u, "-2.5");
    check_f32_text(0x7e967699u, "1e38");
    check_f32_text(0x7f7fffffu, "3.4028235e38");
    check_f32_text(0x00800000u, "1.1754944e-38");
    check_f32_text(0x00000001u, "1e-45");
    check_f32_text(0x4b800001u, "16777218");
    check_f32_text(0x3727c5acu, "1e-5");

    check_f64_text(0x0000000000000000ull, "0");
    check_f64_text(0x8000000000000000ull, "-0");
    check_f64_text(0x7ff0000000000000ull, "inf");
    check_f64_text(0xfff0000000000000ull, "-inf");
    check_f64_text(0x7ff8000000000000ull, "nan");
    check_f64_text(0xfff8000000000000ull, "nan:0xfff8000000000000");
    check_f64_text(0x7ff0000000000001ull, "nan:0x7ff0000000000001");
    check_f64_text(0x3fb999999999999aull, "0.1");
    check_f64_text(0x7fefffffffffffffull, "1.7976931348623157e308");
    check_f64_text(0x0000000000000001ull, "5e-324");
    check_f64_text(0x3fd5555555555555ull, "0.3333333333333333");
    check_f64_text(0x400921fb54442d18ull, "3.141592653589793");
}

/* Every width the printer may produce fits the 32 bytes callers are told suffice. */
static void round_trip_f32(uint32_t bits) {
    char buf[48];
    float v = f32_bits(bits), back = 0;
    ir_format_f32(v, buf, sizeof buf);
    CHECK(strlen(buf) < 32);
    IrFloatParse r = ir_parse_f32(buf, strlen(buf), &back);
    uint32_t back_bits;
    memcpy(&back_bits, &back, sizeof back_bits);
    if (r != IR_FLOAT_OK || back_bits != bits) {
        fprintf(stderr, "f32 0x%08x printed as %s reads back as 0x%08x (status %d)\n", (unsigned)bits, buf,
                (unsigned)back_bits, (int)r);
        CHECK(false);
    }
}

static void round_trip_f64(uint64_t bits) {
    char buf[48];
    double v = f64_bits(bits), back = 0;
    ir_format_f64(v, buf, sizeof buf);
    CHECK(strlen(buf) < 32);
    IrFloatParse r = ir_parse_f64(buf, strlen(buf), &back);
    uint64_t back_bits;
    memcpy(&back_bits, &back, sizeof back_bits);
    if (r != IR_FLOAT_OK || back_bits != bits) {
        fprintf(stderr, "f64 0x%016llx printed as %s reads back as 0x%016llx (status %d)\n",
                (unsigned long long)bits, buf, (unsigned long long)back_bits, (int)r);
        CHECK(false);
    }
}

static void test_round_trips(void) {
    /* Edges of every class, then random patterns: uniform bits hit NaNs and subnormals
     * rarely, so some draws force the exponent to all-zeros or all-ones. */
    static const uint32_t f32_edges[] = {0, 1, 2, 0x007fffff, 0x00800000, 0x00800001, 0x3f7fffff, 0x3f800001,
                                         0x7f7ffffe, 0x7f7fffff, 0x7f800000, 0x7f800001, 0x7fbfffff, 0x7fc00000,
                                         0x7fffffff, 0x80000001, 0xff7fffff, 0xff800001, 0xffffffff};
    for (size_t i = 0; i < sizeof f32_edges / sizeof f32_edges[0]; i++) round_trip_f32(f32_edges[i]);
    static const uint64_t f64_edges[] = {0, 1, 0x000fffffffffffffull, 0x0010000000000000ull, 0x7fefffffffffffffull,
                                         0x7ff0000000000001ull, 0x7ff7ffffffffffffull, 0x7fffffffffffffffull,
                                         0x8000000000000001ull, 0xffffffffffffffffull};
    for (size_t i = 0; i < sizeof f64_edges / sizeof f64_edges[0]; i++) round_trip_f64(f64_edges[i]);
    for (int i = 0; i < 100000; i++) {
        uint64_t r = rng_next();
        uint32_t b32 = (uint32_t)r;
        if (i % 8 == 1) b32 &= 0x807fffffu;
        if (i % 8 == 2) b32 |= 0x7f800000u;
        round_trip_f32(b32);
        uint64_t b64 = rng_next();
        if (i % 8 == 1) b64 &= 0x800fffffffffffffull;
        if (i % 8 == 2) b64 |= 0x7ff0000000000000ull;
        round_trip_f64(b64);
    }
}

/* Decimal text reads like strtof/strtod (correctly rounded), whatever its length. */
static void test_decimal_reading(void) {
    float f = 0;
    double d = 0;
    CHECK(ir_parse_f32("0.1", 3, &f) == IR_FLOAT_OK && f == 0.1f);
    CHECK(ir_parse_f64("0.1", 3, &d) == IR_FLOAT_OK && d == 0.1);
    CHECK(ir_parse_f32("-7", 2, &f) == IR_FLOAT_OK && f == -7.0f);
    CHECK(ir_parse_f32("1E+2", 4, &f) == IR_FLOAT_OK && f == 100.0f);
    CHECK(ir_parse_f32("1e-50", 5, &f) == IR_FLOAT_OK && f == 0.0f);
    CHECK(ir_parse_f64("1e-400", 6, &d) == IR_FLOAT_OK && d == 0.0);
    CHECK(ir_parse_f32("3.4028235e38", 12, &f) == IR_FLOAT_OK && f == 3.40282347e38f);
    /* Not NUL-terminated: only n bytes count. */
    CHECK(ir_parse_f32("2.5xyz", 3, &f) == IR_FLOAT_OK && f == 2.5f);
    /* A long literal: 0.333... with 300 digits. */
    char big[304] = "0.";
    memset(big + 2, '3', 300);
    CHECK(ir_parse_f64(big, 302, &d) == IR_FLOAT_OK && d == 1.0 / 3.0);
    CHECK(ir_parse_f32(big, 302, &f) == IR_FLOAT_OK && f == 1.0f / 3.0f);
    /* -nan is the canonical NaN with its sign bit set. */
    CHECK(ir_parse_f32("-nan", 4, &f) == IR_FLOAT_OK);
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    CHECK_EQ_INT(bits, 0xffc00000u);
    CHECK(ir_parse_f32("nan:0x7FC00001", 14, &f) == IR_FLOAT_OK);
}

static void test_rejects(void) {
    static const char *const syntax[] = {"",    "-",     "+1",     "1e",     "1.",     ".5",       "0x1p3",
                                         "1 ",  " 1",    "1,5",    "inf1",   "infinity", "nan(1)", "NaN",
                                         "Inf", "--1",   "1e+",    "1.5.2",  "-nan:0x7fc00001", "nan:",
                                         "nan:0x", "nan:0xg", "nan:7fc00001"};
    for (size_t i = 0; i < sizeof syntax / sizeof syntax[0]; i++) {
        float f;
        double d;
        IrFloatParse r32 = ir_parse_f32(syntax[i], strlen(syntax[i]), &f);
        IrFloatParse r64 = ir_parse_f64(syntax[i], strlen(syntax[i]), &d);
        if (r32 != IR_FLOAT_SYNTAX || r64 != IR_FLOAT_SYNTAX) fprintf(stderr, "accepted: '%s'\n", syntax[i]);
        CHECK(r32 == IR_FLOAT_SYNTAX);
        CHECK(r64 == IR_FLOAT_SYNTAX);
    }
    float f;
    double d;
    CHECK(ir_parse_f32("1e39", 4, &f) == IR_FLOAT_RANGE);
    CHECK(ir_parse_f32("-3.4028236e38", 13, &f) == IR_FLOAT_RANGE);
    CHECK(ir_parse_f64("1e309", 5, &d) == IR_FLOAT_RANGE);
    CHECK(ir_parse_f64("1e39", 4, &d) == IR_FLOAT_OK);
    CHECK(ir_parse_f32("nan:0x7fc0000", 13, &f) == IR_FLOAT_NAN_BITS);              /* 7 digits */
    CHECK(ir_parse_f32("nan:0x7ff8000000000001", 22, &f) == IR_FLOAT_NAN_BITS);     /* f64 width */
    CHECK(ir_parse_f32("nan:0x7f800000", 14, &f) == IR_FLOAT_NAN_BITS);             /* inf */
    CHECK(ir_parse_f32("nan:0x3f800000", 14, &f) == IR_FLOAT_NAN_BITS);             /* 1.0 */
    CHECK(ir_parse_f64("nan:0x7fc00001", 14, &d) == IR_FLOAT_NAN_BITS);             /* f32 width */
    CHECK(ir_parse_f64("nan:0x7ff0000000000000", 22, &d) == IR_FLOAT_NAN_BITS);     /* inf */
    CHECK(ir_parse_f64("nan:0x07ff8000000000000", 23, &d) == IR_FLOAT_NAN_BITS);    /* 17 digits */
}

/* A small buffer truncates safely; n == 0 writes nothing. */
static void test_small_buffers(void) {
    char buf[4] = {'x', 'x', 'x', 'x'};
    ir_format_f32(0.1f, buf, 3);
    CHECK_STR(buf, "0.");
    ir_format_f64(-INFINITY, buf, 0);
    CHECK(buf[0] == '0');
    ir_format_f64(-INFINITY, buf, 4);
    CHECK_STR(buf, "-in");
}

int main(void) {
    test_special_text();
    test_round_trips();
    test_decimal_reading();
    test_rejects();
    test_small_buffers();
    TEST_MAIN();
}
