/* tests/grad/test_grad_bf16.c — autodiff of mixed precision (precision = bf16): the
 * gradients cc_grad builds through casts to bf16, a bf16 x bf16 -> f32 matmul and a
 * bf16 elementwise op, run on the reference interpreter (f32 mode), equal BIT FOR BIT
 * the straight-through formulas computed here:
 *
 *   forward   xb = bf16(x), wb = bf16(W) (x, W f32 params), y = xb wb (f32: the bf16
 *             products summed exactly, rounded once to f32);
 *   backward  g = dL/dy (f32), gb = bf16(g); dx = f32(gb wb^T), dW = f32(xb^T gb) —
 *             the casts pass the f32 gradient straight through to the f32 params.
 *   bf16 op   p = bf16(xb * ab) feeding the matmul: dp = f32(gb wb^T) is held in f32,
 *             rounded to bf16 for mul's rule, dx = bf16(bf16(dp) * ab), back in f32.
 *
 * Values are f32 numbers in +-[0.1, 1.5] that are not bf16 numbers, so every rounding
 * matters; a check against the gradient without the bf16 roundings makes sure it does.
 * Each sum of bf16 x bf16 products here is exact in double (16-bit products over a
 * small exponent range), so the interpreter's order of summation cannot differ from
 * ours. Also: the gradient graph verifies, its outputs are f32, and its backward
 * matmuls read bf16 operands.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "test.h"

#define M 3
#define K 5
#define N 4

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint64_t rng_next(void) { /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* An f32 number in +-[0.1, 1.5] that bf16 cannot hold. */
static double rand_f32(void) {
    for (;;) {
        double u = 0.1 + 1.4 * (double)(rng_next() >> 11) * 0x1p-53;
        double v = (double)(float)((rng_next() >> 63) ? -u : u);
        if (ir_round_bf16(v) != v) return v;
    }
}

static void fill(double *v, int n) {
    for (int i = 0; i < n; i++) v[i] = rand_f32();
}

static double bf(double v) { return ir_round_bf16(v); }
static double f32(double v) { return (double)(float)v; }

#define TY2(dt, a, b) ir_type_make((dt), 2, (int64_t[]){(a), (b)})

/* Differentiates g (output "loss"), checks the result verifies and has f32 gradient
 * outputs, and runs it on inputs in[] (f32 interpreter). outs[n_outputs] on success. */
static IrGraph *grad_and_run(const IrGraph *g, const IrValue *in, IrValue *outs) {
    LlmcErr err = {0};
    IrGraph *gg = cc_grad(g, NULL, &err);
    CHECK(gg != NULL);
    if (!gg) {
        fprintf(stderr, "  cc_grad: %s\n", err.msg);
        return NULL;
    }
    LlmcDiags d = {0};
    bool verified = ir_verify(gg, &d, NULL, NULL);
    if (!verified) llmc_diags_print(&d, stderr);
    CHECK(verified);
    llmc_diags_free(&d);
    for (uint32_t o = 1; o < gg->n_outputs; o++) /* grad.<param>: f32, as the params */
        CHECK(ir_graph_node(gg, gg->outputs[o].node)->type.dtype == IR_DTYPE_F32);
    IrInterpOptions opt = {.precision = IR_PRECISION_F32, .ranks = 1};
    bool ran = ir_interp_run(gg, &opt, in, outs, &err);
    if (!ran) fprintf(stderr, "  interpreter: %s\n", err.msg);
    CHECK(ran);
    if (!ran) {
        ir_graph_free(gg);
        return NULL;
    }
    return gg;
}

/* Matmuls of gg whose operands are both bf16. */
static uint32_t bf16_matmuls(const IrGraph *gg) {
    uint32_t n = 0;
    for (IrId id = 0; id < gg->n_nodes; id++) {
        const IrNode *nd = ir_graph_node(gg, id);
        if (nd->op != IR_OP_MATMUL) continue;
        bool a = ir_graph_node(gg, nd->operands[0])->type.dtype == IR_DTYPE_BF16;
        bool b = ir_graph_node(gg, nd->operands[1])->type.dtype == IR_DTYPE_BF16;
        CHECK(a == b);
        CHECK(nd->type.dtype == IR_DTYPE_F32);
        n += a && b;
    }
    return n;
}

static IrValue value_of(IrType t, const double *v) {
    IrValue x;
    ir_value_alloc(&x, t);
    memcpy(x.data, v, (size_t)ir_type_numel(&t) * sizeof *v);
    return x;
}

/* Counts the elements where got != want, printing the first few (what != NULL). */
static int mismatches(const char *what, const double *got, const double *want, int n) {
    int bad = 0;
    for (int i = 0; i < n; i++)
        if (got[i] != want[i] && bad++ < 3 && what)
            fprintf(stderr, "  %s[%d] = %a, want %a\n", what, i, got[i], want[i]);
    return bad;
}

/* loss = sum(relu(bf16(x) bf16(W)) * C): dx, dW as in the banner. */
static void test_matmul(void) {
    double x[M * K], w[K * N], c[M * N];
    fill(x, M * K);
    fill(w, K * N);
    fill(c, M * N);
    IrGraph *g = ir_graph_new("fwd");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrId xi = ir_build_input(&b, IR_ROLE_PARAM, "x", TY2(IR_DTYPE_F32, M, K));
    IrId wi = ir_build_input(&b, IR_ROLE_PARAM, "W", TY2(IR_DTYPE_F32, K, N));
    IrId y = ir_build_matmul(&b, ir_build_cast(&b, xi, IR_DTYPE_BF16), ir_build_cast(&b, wi, IR_DTYPE_BF16), false,
                             false); /* f32 [M, N] */
    CHECK(ir_builder_ok(&b) && ir_graph_node(g, y)->type.dtype == IR_DTYPE_F32);
    IrId r = ir_build_binary(&b, IR_OP_MAX, y, ir_build_broadcast_to(&b, ir_build_scalar(&b, IR_DTYPE_F32, 0), 2,
                                                                     (int64_t[]){M, N}));
    IrId rc = ir_build_binary(&b, IR_OP_MUL, r, ir_build_const(&b, TY2(IR_DTYPE_F32, M, N), c, M * N));
    IrId loss = ir_build_reduce(&b, IR_OP_REDUCE_SUM, ir_build_reshape(&b, rc, 1, (int64_t[]){M * N}), 0, false);
    ir_graph_add_output(g, "loss", loss);
    CHECK(ir_builder_ok(&b));

    /* the reference */
    double yr[M * N], gy[M * N], dx[M * K], dw[K * N], dx_plain[M * K];
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double s = 0;
            for (int k = 0; k < K; k++) s += bf(x[m * K + k]) * bf(w[k * N + n]);
            yr[m * N + n] = f32(s);
            gy[m * N + n] = yr[m * N + n] > 0 ? c[m * N + n] : 0; /* relu' * C, f32 */
        }
    for (int m = 0; m < M; m++)
        for (int k = 0; k < K; k++) {
            double s = 0, p = 0;
            for (int n = 0; n < N; n++) {
                s += bf(gy[m * N + n]) * bf(w[k * N + n]);
                p += gy[m * N + n] * w[k * N + n];
            }
            dx[m * K + k] = f32(s);
            dx_plain[m * K + k] = f32(p);
        }
    for (int k = 0; k < K; k++)
        for (int n = 0; n < N; n++) {
            double s = 0;
            for (int m = 0; m < M; m++) s += bf(x[m * K + k]) * bf(gy[m * N + n]);
            dw[k * N + n] = f32(s);
        }

    IrValue in[2] = {value_of(TY2(IR_DTYPE_F32, M, K), x), value_of(TY2(IR_DTYPE_F32, K, N), w)};
    IrValue outs[3];
    IrGraph *gg = grad_and_run(g, in, outs);
    if (gg) {
        CHECK_EQ_INT(gg->n_outputs, 3); /* loss, grad.x, grad.W */
        CHECK_EQ_INT(bf16_matmuls(gg), 3); /* the forward and both backward products */
        CHECK_EQ_INT(mismatches("grad.x", outs[1].data, dx, M * K), 0);
        CHECK_EQ_INT(mismatches("grad.W", outs[2].data, dw, K * N), 0);
        /* the roundings matter: without them dx is another number */
        CHECK(mismatches(NULL, dx_plain, dx, M * K) > 0 || !"bf16 rounding changes dx");
        double l = 0;
        for (int i = 0; i < M * N; i++) l += (yr[i] > 0 ? yr[i] : 0) * c[i];
        CHECK_CLOSE(outs[0].data[0], l, 1e-6);
        for (uint32_t o = 0; o < gg->n_outputs; o++) ir_value_free(&outs[o]);
        ir_graph_free(gg);
    }
    ir_value_free(&in[0]);
    ir_value_free(&in[1]);
    ir_graph_free(g);
}

/* loss = sum((bf16(x) * bf16(a)) bf16(W) * C), the product a bf16 mul: its rule gets the
 * f32 gradient rounded to bf16 and computes in bf16 (compiler/grad.c, run_rule). */
static void test_bf16_elementwise(void) {
    double x[M * K], a[M * K], w[K * N], c[M * N];
    fill(x, M * K);
    fill(a, M * K);
    fill(w, K * N);
    fill(c, M * N);
    IrGraph *g = ir_graph_new("fwd");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrId xi = ir_build_input(&b, IR_ROLE_PARAM, "x", TY2(IR_DTYPE_F32, M, K));
    IrId ai = ir_build_input(&b, IR_ROLE_PARAM, "a", TY2(IR_DTYPE_F32, M, K));
    IrId wi = ir_build_input(&b, IR_ROLE_PARAM, "W", TY2(IR_DTYPE_F32, K, N));
    IrId p = ir_build_binary(&b, IR_OP_MUL, ir_build_cast(&b, xi, IR_DTYPE_BF16), ir_build_cast(&b, ai, IR_DTYPE_BF16));
    CHECK(ir_builder_ok(&b) && ir_graph_node(g, p)->type.dtype == IR_DTYPE_BF16);
    IrId y = ir_build_matmul(&b, p, ir_build_cast(&b, wi, IR_DTYPE_BF16), false, false); /* f32 [M, N] */
    IrId yc = ir_build_binary(&b, IR_OP_MUL, y, ir_build_const(&b, TY2(IR_DTYPE_F32, M, N), c, M * N));
    IrId loss = ir_build_reduce(&b, IR_OP_REDUCE_SUM, ir_build_reshape(&b, yc, 1, (int64_t[]){M * N}), 0, false);
    ir_graph_add_output(g, "loss", loss);
    CHECK(ir_builder_ok(&b));

    /* the reference: g = C; gb = bf16(C); dp = f32(gb wb^T) */
    double pr[M * K], dp[M * K], dx[M * K], da[M * K], dw[K * N], dx_f32[M * K];
    for (int i = 0; i < M * K; i++) pr[i] = bf(bf(x[i]) * bf(a[i]));
    for (int m = 0; m < M; m++)
        for (int k = 0; k < K; k++) {
            double s = 0;
            for (int n = 0; n < N; n++) s += bf(c[m * N + n]) * bf(w[k * N + n]);
            dp[m * K + k] = f32(s);
        }
    for (int i = 0; i < M * K; i++) {
        dx[i] = bf(bf(dp[i]) * bf(a[i]));
        da[i] = bf(bf(dp[i]) * bf(x[i]));
        dx_f32[i] = f32(dp[i] * bf(a[i])); /* had mul's rule run in f32 */
    }
    for (int k = 0; k < K; k++)
        for (int n = 0; n < N; n++) {
            double s = 0;
            for (int m = 0; m < M; m++) s += pr[m * K + k] * bf(c[m * N + n]);
            dw[k * N + n] = f32(s);
        }

    IrValue in[3] = {value_of(TY2(IR_DTYPE_F32, M, K), x), value_of(TY2(IR_DTYPE_F32, M, K), a),
                     value_of(TY2(IR_DTYPE_F32, K, N), w)};
    IrValue outs[4];
    IrGraph *gg = grad_and_run(g, in, outs);
    if (gg) {
        CHECK_EQ_INT(gg->n_outputs, 4); /* loss, grad.x, grad.a, grad.W */
        CHECK_EQ_INT(bf16_matmuls(gg), 3);
        /* mul's backward ran in bf16: two bf16 muls more than the forward's one */
        uint32_t muls = 0;
        for (IrId id = 0; id < gg->n_nodes; id++) {
            const IrNode *nd = ir_graph_node(gg, id);
            muls += nd->op == IR_OP_MUL && nd->type.dtype == IR_DTYPE_BF16;
        }
        CHECK_EQ_INT(muls, 3);
        CHECK_EQ_INT(mismatches("grad.x", outs[1].data, dx, M * K), 0);
        CHECK_EQ_INT(mismatches("grad.a", outs[2].data, da, M * K), 0);
        CHECK_EQ_INT(mismatches("grad.W", outs[3].data, dw, K * N), 0);
        CHECK(mismatches(NULL, dx_f32, dx, M * K) > 0 || !"bf16 rounding changes dx");
        for (uint32_t o = 0; o < gg->n_outputs; o++) ir_value_free(&outs[o]);
        ir_graph_free(gg);
    }
    for (int i = 0; i < 3; i++) ir_value_free(&in[i]);
    ir_graph_free(g);
}

int main(void) {
    test_matmul();
    test_bf16_elementwise();
    TEST_MAIN();
}
