/* tests/interp/test_bf16.c — bf16 as a dtype of the IR and the interpreter.
 *
 * Covers: ir_round_bf16 against an independent reference (every finite bf16 value as a
 * sorted table, bisected, ties to the even pattern) on random doubles of the whole range
 * and on every edge; the bits conversions for all 65536 patterns; bf16 ops in the
 * interpreter rounded once per op (hand-computed), the same in f32 and f64 precision;
 * casts f32 -> bf16 -> f32 and bf16 -> f32 -> bf16; bf16 constants from the builder and
 * the text format (all 65536 patterns round-trip bit for bit, signalling NaNs included).
 */
#include "harness.h"

#include <stdint.h>

/* --- the reference: a table of the bf16 values, independent of ir/bf16.c ------------- */

/* table[i] = the value of pattern i for i in [0, 0x7f80); table[0x7f80] stands for the
 * next value after the largest finite one, 2^128, as IEEE rounding sees the overflow
 * boundary (unbounded exponent): reaching it means infinity. */
static double table[0x7f81];

static double pattern_value(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static void table_init(void) {
    for (uint32_t i = 0; i < 0x7f80; i++) table[i] = pattern_value((uint16_t)i);
    table[0x7f80] = ldexp(1.0, 128);
}

static double ref_round(double x) {
    if (isnan(x)) return x;
    double a = fabs(x);
    double r;
    if (a >= table[0x7f80]) {
        r = INFINITY;
    } else {
        uint32_t lo = 0, hi = 0x7f80; /* table[lo] <= a < table[hi] */
        while (hi - lo > 1) {
            uint32_t mid = (lo + hi) / 2;
            if (table[mid] <= a) lo = mid;
            else hi = mid;
        }
        double m = (table[lo] + table[hi]) / 2; /* exact: 9 significant bits */
        uint32_t pick = a < m ? lo : a > m ? hi : (lo % 2 == 0 ? lo : hi);
        r = pick == 0x7f80 ? INFINITY : table[pick];
    }
    return signbit(x) ? -r : r;
}

static bool same_bits(double a, double b) {
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    return memcmp(&a, &b, sizeof a) == 0;
}

static int round_mismatches;
static void check_round(double x) {
    double got = ir_round_bf16(x), want = ref_round(x);
    test_checks++;
    if (!same_bits(got, want)) {
        test_failures++;
        if (round_mismatches++ < 10)
            fprintf(stderr, "ir_round_bf16(%a) = %a, the reference gives %a\n", x, got, want);
    }
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_u64(void) { /* splitmix64 */
    uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double from_bits(uint64_t u) {
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static void test_round_reference(void) {
    table_init();
    /* Random bit patterns: every exponent of the double range, both signs. */
    for (int i = 0; i < 1000000; i++) check_round(from_bits(next_u64()));
    /* Random doubles in bf16's range: exponent drawn in [-140, 130). */
    for (int i = 0; i < 1000000; i++) {
        double m = 1 + (double)(next_u64() >> 11) * 0x1p-53;
        check_round(ldexp(i % 2 ? -m : m, (int)(next_u64() % 270) - 140));
    }
    /* Around every finite bf16 value and every midpoint: the point, its neighbours in
     * double, and the midpoint with its neighbours (ties to even up and down). */
    for (uint32_t i = 0; i < 0x7f80; i++) {
        double v = table[i], m = (table[i] + table[i + 1]) / 2;
        const double pts[] = {v, nextafter(v, 0), nextafter(v, INFINITY), m, nextafter(m, 0), nextafter(m, INFINITY)};
        for (size_t k = 0; k < sizeof pts / sizeof pts[0]; k++) {
            check_round(pts[k]);
            check_round(-pts[k]);
        }
    }
    /* The named edges. */
    const double edges[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, -NAN,
                            0x1p-133, 0x1p-134, nextafter(0x1p-134, 0), nextafter(0x1p-134, 1), 0x1.8p-133,
                            0x1p-126, 0x1.fcp-127, 0x1.fdp-127, 0x1.fep127, 0x1.ffp127,
                            nextafter(0x1.ffp127, 0), 0x1p128, 1e300, 0x1p-1074, 1.00390625, 1.01171875};
    for (size_t k = 0; k < sizeof edges / sizeof edges[0]; k++) {
        check_round(edges[k]);
        check_round(-edges[k]);
    }
    /* Spelled out, so the reference is checked too. */
    CHECK(ir_round_bf16(1.00390625) == 1.0);                    /* tie, even below */
    CHECK(ir_round_bf16(1.01171875) == 1.015625);               /* tie, even above */
    CHECK(ir_round_bf16(nextafter(1.00390625, 2)) == 1.0078125); /* just above a tie */
    CHECK(ir_round_bf16(0x1p-134) == 0 && !signbit(ir_round_bf16(0x1p-134))); /* half the smallest: to 0 */
    CHECK(ir_round_bf16(nextafter(0x1p-134, 1)) == 0x1p-133);
    CHECK(ir_round_bf16(0x1.8p-133) == 0x1p-132); /* 1.5 x the smallest: tie to 2 */
    CHECK(ir_round_bf16(nextafter(0x1.ffp127, 0)) == 0x1.fep127);
    CHECK(isinf(ir_round_bf16(0x1.ffp127)) && ir_round_bf16(-0x1.ffp127) < 0);
    CHECK(signbit(ir_round_bf16(-0.0)) && signbit(ir_round_bf16(-0x1p-140)));
    CHECK(isnan(ir_round_bf16(NAN)));
    /* Through float it would round twice: 1 + 2^-8 + 2^-30 is past the tie, so up; as an
     * f32 it is exactly the tie, which goes down to 1. */
    CHECK(ir_round_bf16(1.00390625 + 0x1p-30) == 1.0078125);
    CHECK(ir_round_bf16((double)(float)(1.00390625 + 0x1p-30)) == 1.0);
}

/* Every pattern widens exactly and comes back; NaNs come back quiet with their sign and
 * payload (the quiet bit 0x0040 set). */
static void test_bits(void) {
    int bad = 0;
    for (uint32_t i = 0; i < 65536; i++) {
        uint16_t h = (uint16_t)i;
        double d = ir_bf16_to_double(h);
        bool nan = (h & 0x7fffu) > 0x7f80u;
        uint16_t want = nan ? (uint16_t)(h | 0x0040u) : h;
        if (ir_bf16_from_double(d) != want || isnan(d) != nan || (!nan && !same_bits(d, pattern_value(h)))) bad++;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(ir_bf16_from_double(1.00390625 + 0x1p-30), 0x3f81);
    CHECK_EQ_INT(ir_bf16_from_double(0x1.ffp127), 0x7f80);
    CHECK_EQ_INT(ir_bf16_from_double(-0x1.ffp127), 0xff80);
    CHECK_EQ_INT(ir_bf16_from_double(-0.0), 0x8000);
    CHECK_EQ_INT(ir_bf16_from_double(0x1p-133), 0x0001);
    CHECK_EQ_INT(ir_bf16_from_double(NAN) & 0x7fc0, 0x7fc0);
}

/* --- the interpreter ---------------------------------------------------------------- */

/* add, mul, exp, reduce_sum and matmul on bf16: the exact result rounded once, and the
 * same in both precisions (bf16 is a dtype, not a precision knob). */
static void test_ops(void) {
    const IrPrecision precisions[2] = {IR_PRECISION_F32, IR_PRECISION_F64};
    for (int p = 0; p < 2; p++) {
        Case c;
        case_begin(&c, 1);
        IrId x = case_input(&c, TY(IR_DTYPE_BF16, 4), V(1, 1.0078125, 256, 258));
        IrId y = case_input(&c, TY(IR_DTYPE_BF16, 4), V(0.00390625, 0.00390625, 1, 1));
        case_output(&c, ir_build_binary(&c.b, IR_OP_ADD, x, y));
        IrId m1 = case_input(&c, TY(IR_DTYPE_BF16, 2), V(1.0078125, 3));
        IrId m2 = case_input(&c, TY(IR_DTYPE_BF16, 2), V(1.0078125, 1.0078125));
        case_output(&c, ir_build_binary(&c.b, IR_OP_MUL, m1, m2));
        IrId e = case_input(&c, TY(IR_DTYPE_BF16, 3), V(1, 0, -1));
        case_output(&c, ir_build_unary(&c.b, IR_OP_EXP, e));
        IrId s = case_input(&c, TY(IR_DTYPE_BF16, 3), V(1, 0.00390625, 0.00390625));
        case_output(&c, ir_build_reduce(&c.b, IR_OP_REDUCE_SUM, s, 0, false));
        IrId a = case_input(&c, TY(IR_DTYPE_BF16, 2, 2), V(1, 256, 0.01171875, 1.0078125));
        IrId b = case_input(&c, TY(IR_DTYPE_BF16, 2, 1), V(0.00390625, 1));
        IrId ab = ir_build_matmul(&c.b, a, b, false, false);
        CHECK(c.g->nodes[ab].type.dtype == IR_DTYPE_F32);
        case_output(&c, ab);
        /* An input that is no bf16 value is rounded like a result: 1 + 2^-8 + 2^-30 up. */
        IrId r = case_input(&c, TY(IR_DTYPE_BF16, 2), V(1.00390625 + 0x1p-30, 0x1.ffp127));
        case_output(&c, r);
        if (case_run_ok(&c, precisions[p])) {
            /* 1 + 2^-8: tie, to 1 (even); 1.0078125 + 2^-8: tie, to 1.015625 (even);
             * 257: tie between 256 and 258, to 256; 259: tie, to 260. */
            CHECK_VALS(c.out[0], 1, 1.015625, 256, 260);
            /* 1.0078125^2 = 1.01568603515625 -> 1.015625; 3.0234375: tie between
             * 3.015625 (odd) and 3.03125 (even). */
            CHECK_VALS(c.out[1], 1.015625, 3.03125);
            /* e = 2.71828.. -> 174 * 2^-6 = 2.71875; 1; 1/e = 0.36788.. -> 188 * 2^-9. */
            CHECK_VALS(c.out[2], 2.71875, 1, 0.3671875);
            /* The sum is 1.0078125 exactly, rounded once; bf16 additions one by one
             * would give 1 (each 1 + 2^-8 is a tie to even). */
            CHECK_VALS(c.out[3], 1.0078125);
            /* matmul of bf16 operands is f32: 256 + 2^-8 and 3 * 2^-16 + 1.0078125 =
             * 1.0078582763671875 are exact in f32 (a bf16 result would be 256 and
             * 1.0078125). */
            CHECK_VALS(c.out[4], 256.00390625, 1.0078582763671875);
            CHECK_VALS(c.out[5], 1.0078125, INFINITY);
        }
        case_end(&c);
    }
}

/* f32 -> bf16 -> f32 is ir_round_bf16; bf16 -> f32 -> bf16 and bf16 -> f64 -> bf16 are
 * the identity on every pattern (NaNs stay NaN with their sign; the interpreter keeps
 * the double's NaN as it is). */
static void test_casts(void) {
    enum { N = 65536 };
    double *v = malloc(N * sizeof *v);
    for (int i = 0; i < N; i++) {
        float f;
        uint32_t u = (uint32_t)next_u64();
        if (i < 64) u = (uint32_t)i << 16 | 0x8000u; /* exact ties */
        memcpy(&f, &u, sizeof f);
        v[i] = f;
    }
    Case c;
    case_begin(&c, 1);
    IrId x = case_input(&c, TY(IR_DTYPE_F32, N), v);
    case_output(&c, ir_build_cast(&c.b, ir_build_cast(&c.b, x, IR_DTYPE_BF16), IR_DTYPE_F32));
    if (case_run_ok(&c, IR_PRECISION_F32)) {
        int bad = 0;
        for (int i = 0; i < N; i++) bad += !same_bits(c.out[0].data[i], ir_round_bf16(v[i]));
        CHECK_EQ_INT(bad, 0);
    }
    case_end(&c);

    for (int i = 0; i < N; i++) v[i] = ir_bf16_to_double((uint16_t)i);
    case_begin(&c, 1);
    x = case_input(&c, TY(IR_DTYPE_BF16, N), v);
    case_output(&c, ir_build_cast(&c.b, ir_build_cast(&c.b, x, IR_DTYPE_F32), IR_DTYPE_BF16));
    case_output(&c, ir_build_cast(&c.b, ir_build_cast(&c.b, x, IR_DTYPE_F64), IR_DTYPE_BF16));
    if (case_run_ok(&c, IR_PRECISION_F32)) {
        int bad = 0;
        for (int o = 0; o < 2; o++)
            for (int i = 0; i < N; i++) {
                double got = c.out[o].data[i];
                if (isnan(v[i])) bad += !isnan(got) || signbit(got) != signbit(v[i]);
                else bad += !same_bits(got, v[i]);
            }
        CHECK_EQ_INT(bad, 0);
    }
    case_end(&c);
    free(v);
}

/* --- constants: builder and text ----------------------------------------------------- */

static void test_consts(void) {
    IrGraph *g = ir_graph_new("k");
    IrBuilder b;
    ir_builder_init(&b, g);
    /* The builder rounds once from the double: through float this would be 1. */
    IrId k2 = ir_build_const(&b, TY(IR_DTYPE_BF16, 2), V(1.00390625 + 0x1p-30, -0.0), 2);
    CHECK(k2 != IR_ID_NONE);
    if (k2 != IR_ID_NONE) {
        const uint16_t *h = g->nodes[k2].attrs.constant.value.bytes;
        CHECK_EQ_INT(h[0], 0x3f81);
        CHECK_EQ_INT(h[1], 0x8000);
    }
    /* Every pattern, signalling NaNs included, round-trips through the text: the
     * builder's payload is replaced by the raw patterns. */
    double *zeros = calloc(65536, sizeof *zeros);
    IrId k = ir_build_const(&b, TY(IR_DTYPE_BF16, 65536), zeros, 65536);
    free(zeros);
    CHECK(k != IR_ID_NONE);
    ir_graph_add_output(g, "k", k);
    if (k != IR_ID_NONE) {
        uint16_t *h = (uint16_t *)g->nodes[k].attrs.constant.value.bytes;
        for (uint32_t i = 0; i < 65536; i++) h[i] = (uint16_t)i;
    }
    LlmcBuf text = {0};
    ir_print_graph(g, &text);
    LlmcSource src = {"k.llir", text.data, text.len};
    IrModule m = {0};
    LlmcDiags diags = {0};
    bool ok = ir_parse_module(&src, &m, &diags);
    if (!ok) llmc_diags_print(&diags, stderr);
    CHECK(ok && m.n_graphs == 1);
    if (ok && m.n_graphs == 1) {
        const IrNode *n = &m.graphs[0]->nodes[1];
        CHECK(n->type.dtype == IR_DTYPE_BF16 && n->attrs.constant.value.count == 65536);
        CHECK(memcmp(n->attrs.constant.value.bytes, g->nodes[k].attrs.constant.value.bytes, 65536 * 2) == 0);
        LlmcBuf again = {0};
        ir_print_graph(m.graphs[0], &again);
        CHECK(again.len == text.len && memcmp(again.data, text.data, text.len) == 0);
        llmc_buf_free(&again);
    }
    ir_module_free(&m);
    llmc_diags_free(&diags);
    llmc_buf_free(&text);
    ir_graph_free(g);

    /* A decimal that is no bf16 rounds once from its double; one past the range is an
     * error, as for f32. */
    const char *t = "graph @g {\n  %0 = const() {value=[1.00390625000001, -1e-45]} : bf16[2]\n  output \"a\" = %0\n}\n";
    LlmcSource s2 = {"t.llir", t, strlen(t)};
    IrModule m2 = {0};
    LlmcDiags d2 = {0};
    ok = ir_parse_module(&s2, &m2, &d2);
    CHECK(ok);
    if (ok) {
        const uint16_t *h = m2.graphs[0]->nodes[0].attrs.constant.value.bytes;
        CHECK_EQ_INT(h[0], 0x3f81);
        CHECK_EQ_INT(h[1], 0x8000); /* -1e-45 is below half the smallest subnormal: -0 */
    }
    ir_module_free(&m2);
    llmc_diags_free(&d2);
    const char *t3 = "graph @g {\n  %0 = const() {value=3.4e38} : bf16[]\n  output \"a\" = %0\n}\n";
    LlmcSource s3 = {"t.llir", t3, strlen(t3)};
    IrModule m3 = {0};
    LlmcDiags d3 = {0};
    CHECK(!ir_parse_module(&s3, &m3, &d3));
    CHECK(d3.count >= 1 && strstr(d3.items[0].msg, "out of range for bf16"));
    ir_module_free(&m3);
    llmc_diags_free(&d3);
}

int main(void) {
    test_round_reference();
    test_bits();
    test_ops();
    test_casts();
    test_consts();
    TEST_MAIN();
}
