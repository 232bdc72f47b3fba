/* tests/grad/test_grad_ops.c — every differentiable op's gradient rule against central
 * finite differences in f64, on small random shapes; the rules of non-differentiable ops
 * give nothing; the driver's contracts (outputs, zero gradients, extra inputs, fan-out,
 * provenance, determinism, errors).
 *
 * A case builds a forward graph around the op under test with the builder. Inputs made
 * with gc_param are differentiated (role param); gc_data gives fixed data (indices,
 * conditions). gc_check appends the loss sum(y * W), W fixed random weights with |w| in
 * [0.25, 1] (so every output element matters), runs cc_grad, and compares every element
 * of every param on every simulated rank with the five-point central difference
 *     (-L(x+2h) + 8 L(x+h) - 8 L(x-h) + L(x-2h)) / 12h,   h = 1e-3 * max(1, |x|),
 * of the total loss (the sum of the ranks' losses: the SPMD objective the collective
 * rules assume), all in the f64 interpreter. Its error is O(h^4) plus rounding ~1e-13,
 * so the check is tight: |a - b| <= 1e-7 * max(1, |a|, |b|). Inputs are drawn away
 * from kinks (abs at 0, max/min ties, reduce_max ties) by more than 2h.
 *
 * The registry walker at the end fails for any op without IR_TRAIT_NONDIFF that no case
 * exercised, and calls every IR_TRAIT_NONDIFF op's rule to see that it gives nothing.
 * attention_lse and attention_grad, which only attention's rule builds, are neither:
 * their rules refuse a gradient (second derivatives of attention), which
 * test_attention_second_order checks instead.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "compiler_int.h"
#include "test.h"

#define MAX_IN 8
#define MAX_RANKS 2
#define TOL 1e-7

#define TY(dt, ...)                                                                    \
    ir_type_make((dt), (uint32_t)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), \
                 (int64_t[]){__VA_ARGS__})
#define F64 IR_DTYPE_F64
#define I32 IR_DTYPE_I32

/* --- deterministic randomness ----------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng_next(void) { /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double rng_uniform(double lo, double hi) { return lo + (hi - lo) * (double)(rng_next() >> 11) * 0x1p-53; }
static double rng_sign(void) { return (rng_next() >> 63) ? 1.0 : -1.0; }

/* --- the case harness ------------------------------------------------------------------- */

static bool covered[IR_OP_COUNT]; /* ops some finite-difference case ran through */
static bool refuses_gradient[IR_OP_COUNT]; /* ops whose rule was seen to refuse (no gradient by design) */
static double worst_err;
static int n_fd_checks;

typedef struct GCase {
    const char *name;
    IrGraph *g;
    IrBuilder b;
    uint32_t ranks;
    uint32_t n_in;
    IrType in_type[MAX_IN];
    double *in_val[MAX_IN]; /* [ranks * numel] */
    bool in_param[MAX_IN];
} GCase;

static void gc_begin(GCase *c, const char *name, uint32_t ranks) {
    memset(c, 0, sizeof *c);
    c->name = name;
    c->ranks = ranks;
    c->g = ir_graph_new("fwd");
    ir_builder_init(&c->b, c->g);
}

/* An input with the given values (vals[r * numel + i] for rank r; when per_rank is
 * false the same numel values on every rank). */
static IrId gc_input(GCase *c, IrRole role, IrType t, const double *vals, bool per_rank) {
    LLMC_ASSERT(c->n_in < MAX_IN);
    char name[16];
    snprintf(name, sizeof name, "%s%u", role == IR_ROLE_PARAM ? "p" : "d", c->n_in);
    IrId id = ir_build_input(&c->b, role, name, t);
    size_t n = (size_t)ir_type_numel(&t);
    c->in_type[c->n_in] = t;
    c->in_val[c->n_in] = malloc(n * c->ranks * sizeof(double));
    for (uint32_t r = 0; r < c->ranks; r++)
        memcpy(c->in_val[c->n_in] + r * n, vals + (per_rank ? r * n : 0), n * sizeof(double));
    c->in_param[c->n_in] = role == IR_ROLE_PARAM;
    c->n_in++;
    return id;
}

/* A param with values drawn per element (and per rank) from +-[lo, hi] (sign random
 * when signed) — so |x| >= lo keeps it away from kinks at 0. */
static IrId gc_param_range(GCase *c, IrType t, double lo, double hi, bool signed_) {
    size_t n = (size_t)ir_type_numel(&t) * c->ranks;
    double *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = rng_uniform(lo, hi) * (signed_ ? rng_sign() : 1.0);
    IrId id = gc_input(c, IR_ROLE_PARAM, t, v, true);
    free(v);
    return id;
}

static IrId gc_param(GCase *c, IrType t) { return gc_param_range(c, t, 0.1, 1.5, true); }
static IrId gc_param_vals(GCase *c, IrType t, const double *v) { return gc_input(c, IR_ROLE_PARAM, t, v, false); }
static IrId gc_data(GCase *c, IrType t, const double *v) { return gc_input(c, IR_ROLE_DATA, t, v, false); }

static void gc_free(GCase *c) {
    for (uint32_t i = 0; i < c->n_in; i++) free(c->in_val[i]);
    ir_graph_free(c->g);
}

/* extern_call through a hook in the test: "sq" y = x^2 with backward "sq_grad"
 * dx = 2 x dy; anything else fails. */
static bool test_extern_hook(void *ctx, const char *symbol, const IrValue *args, uint32_t n_args, IrValue *out,
                             LlmcErr *err) {
    (void)ctx;
    int64_t n = ir_type_numel(&out->type);
    if (strcmp(symbol, "t:sq") == 0 && n_args == 1) {
        for (int64_t i = 0; i < n; i++) out->data[i] = args[0].data[i] * args[0].data[i];
        return true;
    }
    if (strcmp(symbol, "t:sq_grad") == 0 && n_args == 2) {
        for (int64_t i = 0; i < n; i++) out->data[i] = 2 * args[0].data[i] * args[1].data[i];
        return true;
    }
    llmc_err_set(err, "no test extern '%s'", symbol);
    return false;
}

/* Runs g on the case's inputs (f64); outputs[r * n_out + o]. */
static bool gc_run(const GCase *c, const IrGraph *g, IrValue *outputs, LlmcErr *err) {
    IrValue in[MAX_RANKS * MAX_IN];
    for (uint32_t r = 0; r < c->ranks; r++)
        for (uint32_t i = 0; i < c->n_in; i++) {
            size_t n = (size_t)ir_type_numel(&c->in_type[i]);
            in[r * c->n_in + i].type = c->in_type[i];
            in[r * c->n_in + i].data = c->in_val[i] + r * n; /* borrowed: the interpreter copies */
        }
    IrInterpOptions opt = {.precision = IR_PRECISION_F64, .ranks = c->ranks, .extern_hook = test_extern_hook};
    return ir_interp_run(g, &opt, in, outputs, err);
}

/* The sum over ranks of output 0 (the loss) of g. */
static double total_loss(const GCase *c, const IrGraph *g) {
    IrValue out[MAX_RANKS * 64];
    LlmcErr err = {0};
    LLMC_ASSERT(g->n_outputs <= 64);
    if (!gc_run(c, g, out, &err)) {
        fprintf(stderr, "  %s: forward run failed: %s\n", c->name, err.msg);
        return NAN;
    }
    double s = 0;
    for (uint32_t r = 0; r < c->ranks; r++) s += out[r * g->n_outputs].data[0];
    for (uint32_t i = 0; i < c->ranks * g->n_outputs; i++) ir_value_free(&out[i]);
    return s;
}

/* Appends loss = sum(y * W) and checks every param's gradient (see the banner). */
static void gc_check(GCase *c, IrId y) {
    IrBuilder *b = &c->b;
    CHECK(ir_builder_ok(b));
    if (!ir_builder_ok(b)) {
        fprintf(stderr, "  %s: build error: %s\n", c->name, b->err.msg);
        gc_free(c);
        return;
    }
    IrType yt = c->g->nodes[y].type;
    int64_t n = ir_type_numel(&yt);
    double *w = malloc((size_t)n * sizeof *w);
    for (int64_t i = 0; i < n; i++) w[i] = rng_uniform(0.25, 1.0) * rng_sign();
    IrId prod = ir_build_binary(b, IR_OP_MUL, y, ir_build_const(b, yt, w, (uint64_t)n));
    free(w);
    IrId loss = yt.rank == 0 ? prod : ir_build_reduce(b, IR_OP_REDUCE_SUM, ir_build_reshape(b, prod, 1, &n), 0, false);
    ir_graph_add_output(c->g, "loss", loss);
    CHECK(ir_builder_ok(b));

    LlmcErr err = {0};
    IrGraph *gg = cc_grad(c->g, NULL, &err);
    CHECK(gg != NULL);
    if (!gg) {
        fprintf(stderr, "  %s: cc_grad failed: %s\n", c->name, err.msg);
        gc_free(c);
        return;
    }
    IrValue *out = calloc((size_t)c->ranks * gg->n_outputs, sizeof *out);
    bool ran = gc_run(c, gg, out, &err);
    CHECK(ran);
    if (!ran) fprintf(stderr, "  %s: gradient run failed: %s\n", c->name, err.msg);
    double case_worst = 0;
    uint32_t o = 1; /* outputs: loss, then grad.<param> in input order */
    for (uint32_t i = 0; ran && i < c->n_in; i++) {
        if (!c->in_param[i]) continue;
        int64_t numel = ir_type_numel(&c->in_type[i]);
        for (uint32_t r = 0; r < c->ranks; r++)
            for (int64_t e = 0; e < numel; e++) {
                double *x = &c->in_val[i][r * numel + e], x0 = *x;
                double h = 1e-3 * fmax(1.0, fabs(x0));
                double f[4], off[4] = {2, 1, -1, -2};
                for (int s = 0; s < 4; s++) {
                    *x = x0 + off[s] * h;
                    f[s] = total_loss(c, c->g);
                }
                *x = x0;
                double fd = ((f[3] - f[0]) + 8 * (f[1] - f[2])) / (12 * h);
                double an = out[r * gg->n_outputs + o].data[e];
                double rel = fabs(an - fd) / fmax(1.0, fmax(fabs(an), fabs(fd)));
                if (!(rel <= TOL)) {
                    fprintf(stderr, "  %s: param %u rank %u element %lld: autodiff %.17g vs finite difference %.17g\n",
                            c->name, i, r, (long long)e, an, fd);
                    rel = isnan(rel) ? INFINITY : rel;
                }
                CHECK(rel <= TOL);
                n_fd_checks++;
                if (rel > case_worst) case_worst = rel;
            }
        o++;
    }
    if (case_worst > worst_err) worst_err = case_worst;
    if (ran)
        for (IrId id = 0; id < c->g->n_nodes; id++) covered[c->g->nodes[id].op] = true;
    for (uint32_t k = 0; ran && k < c->ranks * gg->n_outputs; k++) ir_value_free(&out[k]);
    free(out);
    ir_graph_free(gg);
    gc_free(c);
}

/* --- elementwise -------------------------------------------------------------------------- */

static void test_unary(void) {
    static const struct {
        IrOp op;
        double lo, hi;
        bool signed_;
    } ops[] = {
        {IR_OP_NEG, 0.1, 2, true},   {IR_OP_ABS, 0.2, 2, true},   {IR_OP_EXP, 0.1, 2, true},
        {IR_OP_LOG, 0.3, 3, false},  {IR_OP_SQRT, 0.3, 3, false}, {IR_OP_RSQRT, 0.3, 3, false},
        {IR_OP_TANH, 0.0, 2, true},  {IR_OP_RECIP, 0.3, 3, true}, {IR_OP_SIN, 0.0, 3, true},
        {IR_OP_COS, 0.0, 3, true},
    };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        GCase c;
        gc_begin(&c, ir_op_name(ops[i].op), 1);
        IrId x = gc_param_range(&c, TY(F64, 2, 3), ops[i].lo, ops[i].hi, ops[i].signed_);
        gc_check(&c, ir_build_unary(&c.b, ops[i].op, x));
    }
    /* f32 nodes too (run in f64: not rounded), through a float->float cast each way. */
    GCase c;
    gc_begin(&c, "cast f64->f32->f64", 1);
    IrId x = gc_param(&c, TY(F64, 3, 2));
    IrId x32 = ir_build_cast(&c.b, x, IR_DTYPE_F32);
    gc_check(&c, ir_build_cast(&c.b, ir_build_unary(&c.b, IR_OP_TANH, x32), F64));
    /* An i32 -> float cast passes nothing back: only the param gets a gradient. */
    gc_begin(&c, "cast i32->f64", 1);
    IrId k = gc_data(&c, TY(I32, 2, 2), (double[]){3, -1, 0, 7});
    x = gc_param(&c, TY(F64, 2, 2));
    gc_check(&c, ir_build_binary(&c.b, IR_OP_MUL, ir_build_cast(&c.b, k, F64), x));
}

static void test_binary(void) {
    static const IrOp ops[] = {IR_OP_ADD, IR_OP_SUB, IR_OP_MUL, IR_OP_DIV};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        GCase c;
        gc_begin(&c, ir_op_name(ops[i]), 1);
        IrId x = gc_param(&c, TY(F64, 3, 2));
        IrId y = gc_param_range(&c, TY(F64, 3, 2), 0.4, 2, true);
        gc_check(&c, ir_build_binary(&c.b, ops[i], x, y));
    }
    /* max, min: y = x +- [0.2, 1], so no element is near a tie. */
    for (int m = 0; m < 2; m++) {
        GCase c;
        gc_begin(&c, m ? "min" : "max", 1);
        double xv[8], yv[8];
        for (int i = 0; i < 8; i++) {
            xv[i] = rng_uniform(-1, 1);
            yv[i] = xv[i] + rng_sign() * rng_uniform(0.2, 1);
        }
        IrId x = gc_param_vals(&c, TY(F64, 2, 4), xv), y = gc_param_vals(&c, TY(F64, 2, 4), yv);
        gc_check(&c, ir_build_binary(&c.b, m ? IR_OP_MIN : IR_OP_MAX, x, y));
    }
    /* relu as max(x, 0): the constant side gets nothing. */
    GCase c;
    gc_begin(&c, "relu", 1);
    IrId x = gc_param_range(&c, TY(F64, 6), 0.2, 1, true);
    gc_check(&c, ir_build_binary(&c.b, IR_OP_MAX, x, ir_build_const(&c.b, TY(F64, 6), (double[]){0}, 1)));
    /* pow: both operands, x > 0. */
    gc_begin(&c, "pow", 1);
    x = gc_param_range(&c, TY(F64, 2, 3), 0.4, 2.5, false);
    IrId y = gc_param_range(&c, TY(F64, 2, 3), 0.0, 2.0, true);
    gc_check(&c, ir_build_binary(&c.b, IR_OP_POW, x, y));
    /* pow with a constant integer exponent accepts negative x (only dx is needed). */
    gc_begin(&c, "pow const exponent", 1);
    x = gc_param(&c, TY(F64, 5));
    gc_check(&c, ir_build_binary(&c.b, IR_OP_POW, x, ir_build_const(&c.b, TY(F64, 5), (double[]){3}, 1)));
    /* select: the condition is fixed data (float, so the driver must not differentiate it). */
    gc_begin(&c, "select", 1);
    IrId cond = gc_data(&c, TY(F64, 2, 3), (double[]){1, 0, 0, 2, 0, -1});
    x = gc_param(&c, TY(F64, 2, 3));
    y = gc_param(&c, TY(F64, 2, 3));
    gc_check(&c, ir_build_select(&c.b, cond, x, y));
    /* numpy-style broadcasting through the builder: size-1 axes and a new leading axis */
    gc_begin(&c, "broadcasting mul", 1);
    x = gc_param(&c, TY(F64, 3, 1));
    y = gc_param(&c, TY(F64, 2, 1, 4));
    gc_check(&c, ir_build_binary_bcast(&c.b, IR_OP_MUL, x, y));
    /* fan-out: one value used four times, contributions summed */
    gc_begin(&c, "fan-out", 1);
    x = gc_param(&c, TY(F64, 4));
    IrId xx = ir_build_binary(&c.b, IR_OP_MUL, x, x);
    gc_check(&c, ir_build_binary(&c.b, IR_OP_ADD, ir_build_binary(&c.b, IR_OP_MUL, xx, x),
                                 ir_build_unary(&c.b, IR_OP_EXP, x)));
}

/* pow's d/dy where x <= 0 is 0 by convention (the formula would give nan or -inf*0). */
static void test_pow_guard(void) {
    IrGraph *g = ir_graph_new("fwd");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", TY(F64, 3));
    IrId y = ir_build_input(&b, IR_ROLE_PARAM, "y", TY(F64, 3));
    IrId l = ir_build_reduce(&b, IR_OP_REDUCE_SUM, ir_build_binary(&b, IR_OP_POW, x, y), 0, false);
    ir_graph_add_output(g, "loss", l);
    LlmcErr err = {0};
    IrGraph *gg = cc_grad(g, NULL, &err);
    CHECK(gg != NULL);
    if (gg) {
        IrValue in[2], out[2];
        ir_value_alloc(&in[0], TY(F64, 3));
        ir_value_alloc(&in[1], TY(F64, 3));
        memcpy(in[0].data, (double[]){-2, 0, 2}, sizeof(double[3]));
        memcpy(in[1].data, (double[]){2, 3, 0.5}, sizeof(double[3]));
        IrInterpOptions opt = {.precision = IR_PRECISION_F64, .ranks = 1};
        CHECK(ir_interp_run(gg, &opt, in, out, &err));
        CHECK(out[1].data[0] == 0 && out[1].data[1] == 0);
        CHECK_CLOSE(out[1].data[2], sqrt(2.0) * log(2.0), 1e-15);
        ir_value_free(&in[0]);
        ir_value_free(&in[1]);
        ir_value_free(&out[0]);
        ir_value_free(&out[1]);
        ir_graph_free(gg);
    }
    ir_graph_free(g);
}

/* --- reductions and matmul ------------------------------------------------------------------ */

/* A param whose values along every line of `axis` are distinct by >= 0.1 (no ties). */
static IrId distinct_param(GCase *c, IrType t) {
    int64_t n = ir_type_numel(&t);
    double *v = malloc((size_t)n * sizeof *v);
    for (int64_t i = 0; i < n; i++) v[i] = 0.1 * (double)i; /* distinct everywhere ... */
    for (int64_t i = n - 1; i > 0; i--) {                    /* ... in shuffled order */
        int64_t j = (int64_t)(rng_next() % (uint64_t)(i + 1));
        double s = v[i];
        v[i] = v[j];
        v[j] = s;
    }
    for (int64_t i = 0; i < n; i++) v[i] += rng_uniform(-0.02, 0.02) - 1.0;
    IrId id = gc_param_vals(c, t, v);
    free(v);
    return id;
}

static void test_reduce(void) {
    for (int op = 0; op < 2; op++)
        for (int64_t axis = 0; axis < 3; axis++)
            for (int kd = 0; kd < 2; kd++) {
                GCase c;
                char name[64];
                snprintf(name, sizeof name, "%s axis %lld keepdims %d", op ? "reduce_max" : "reduce_sum",
                         (long long)axis, kd);
                gc_begin(&c, name, 1);
                IrType t = TY(F64, 2, 3, 4);
                IrId x = op ? distinct_param(&c, t) : gc_param(&c, t);
                gc_check(&c, ir_build_reduce(&c.b, op ? IR_OP_REDUCE_MAX : IR_OP_REDUCE_SUM, x, axis, kd));
            }
    /* reducing a size-1 axis, and a rank-1 operand to a scalar */
    GCase c;
    gc_begin(&c, "reduce_sum size-1 axis", 1);
    IrId x = gc_param(&c, TY(F64, 3, 1));
    gc_check(&c, ir_build_reduce(&c.b, IR_OP_REDUCE_SUM, x, 1, false));
    gc_begin(&c, "reduce_max to scalar", 1);
    x = distinct_param(&c, TY(F64, 5));
    gc_check(&c, ir_build_reduce(&c.b, IR_OP_REDUCE_MAX, x, 0, false));
    /* softmax as the frontend writes it: max subtracted */
    gc_begin(&c, "softmax", 1);
    x = distinct_param(&c, TY(F64, 2, 4));
    IrId m = ir_build_reduce(&c.b, IR_OP_REDUCE_MAX, x, 1, true);
    IrId e = ir_build_unary(&c.b, IR_OP_EXP, ir_build_binary_bcast(&c.b, IR_OP_SUB, x, m));
    gc_check(&c, ir_build_binary_bcast(&c.b, IR_OP_DIV, e, ir_build_reduce(&c.b, IR_OP_REDUCE_SUM, e, 1, true)));
}

/* stop_gradient: the identity forward, no gradient. A finite difference sees the identity,
 * so the op is checked where the result does not depend on the stopped value — softmax
 * and logsumexp shifted by their stopped max, as the frontend writes them — and its
 * zero gradient directly: d/dx sum(x * stop_gradient(x)) is x, not 2x. */
static void test_stop_gradient(void) {
    GCase c;
    gc_begin(&c, "softmax, max stopped", 1);
    IrId x = distinct_param(&c, TY(F64, 2, 4));
    IrId m = ir_build_unary(&c.b, IR_OP_STOP_GRADIENT, ir_build_reduce(&c.b, IR_OP_REDUCE_MAX, x, 1, true));
    IrId e = ir_build_unary(&c.b, IR_OP_EXP, ir_build_binary_bcast(&c.b, IR_OP_SUB, x, m));
    gc_check(&c, ir_build_binary_bcast(&c.b, IR_OP_DIV, e, ir_build_reduce(&c.b, IR_OP_REDUCE_SUM, e, 1, true)));
    /* logsumexp = log(sum(exp(x - m))) + m, m stopped in both uses: still exactly softmax */
    for (int ties = 0; ties < 2; ties++) {
        gc_begin(&c, ties ? "logsumexp, max stopped, tied maxima" : "logsumexp, max stopped", 1);
        /* a tie at the max is a kink of reduce_max, not of logsumexp: with the max
         * stopped the finite difference agrees there too */
        x = ties ? gc_param_vals(&c, TY(F64, 2, 3), (double[]){0.5, 0.5, -0.25, 1.0, -1.0, 1.0})
                 : gc_param(&c, TY(F64, 2, 3));
        m = ir_build_unary(&c.b, IR_OP_STOP_GRADIENT, ir_build_reduce(&c.b, IR_OP_REDUCE_MAX, x, 1, true));
        e = ir_build_unary(&c.b, IR_OP_EXP, ir_build_binary_bcast(&c.b, IR_OP_SUB, x, m));
        IrId s = ir_build_reduce(&c.b, IR_OP_REDUCE_SUM, e, 1, false);
        IrId m0 = ir_build_reshape(&c.b, m, 1, (int64_t[]){2});
        gc_check(&c, ir_build_binary(&c.b, IR_OP_ADD, ir_build_unary(&c.b, IR_OP_LOG, s), m0));
    }

    /* the rule itself: y = x * stop_gradient(x) gives dx = g * x, and no backward node
     * reaches past the stop (no cmpeq/cumsum for a stopped reduce_max either) */
    IrGraph *g = ir_graph_new("fwd");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrId p = ir_build_input(&b, IR_ROLE_PARAM, "p", TY(F64, 4));
    IrId mx = ir_build_reduce(&b, IR_OP_REDUCE_MAX, p, 0, true);
    IrId shifted = ir_build_binary(&b, IR_OP_ADD, p, ir_build_broadcast_to(&b, mx, 1, (int64_t[]){4}));
    IrId sg = ir_build_unary(&b, IR_OP_STOP_GRADIENT, shifted);
    IrId y = ir_build_binary(&b, IR_OP_MUL, p, sg); /* p * (p + max p), the second factor stopped */
    ir_graph_add_output(g, "loss", ir_build_reduce(&b, IR_OP_REDUCE_SUM, y, 0, false));
    CHECK(ir_builder_ok(&b));
    LlmcErr err = {0};
    IrGraph *gg = cc_grad(g, NULL, &err);
    CHECK(gg != NULL);
    if (gg) {
        for (IrId id = g->n_nodes; id < gg->n_nodes; id++) {
            IrOp op = gg->nodes[id].op;
            CHECK(op != IR_OP_CMPEQ && op != IR_OP_CUMSUM && op != IR_OP_SELECT && op != IR_OP_REDUCE_MAX);
        }
        const double pv[4] = {0.5, -2.0, 3.0, 1.25};
        IrValue in = {0}, out[2];
        ir_value_alloc(&in, TY(F64, 4));
        memcpy(in.data, pv, sizeof pv);
        IrInterpOptions io = {.precision = IR_PRECISION_F64, .ranks = 1};
        CHECK(ir_interp_run(gg, &io, &in, out, &err));
        for (int i = 0; i < 4; i++) CHECK(out[1].data[i] == pv[i] + 3.0); /* not 2p + max p + [i == argmax] sum p */
        ir_value_free(&in);
        for (int o = 0; o < 2; o++) ir_value_free(&out[o]);
        ir_graph_free(gg);
    }
    ir_graph_free(g);
}

/* x's stored shape for [.., M, K] (or [.., K, M] when ta), batch dims `bd` (nb of them). */
static IrType mm_type(const int64_t *bd, uint32_t nb, int64_t r, int64_t c, bool t) {
    int64_t dims[IR_MAX_RANK];
    for (uint32_t i = 0; i < nb; i++) dims[i] = bd[i];
    dims[nb] = t ? c : r;
    dims[nb + 1] = t ? r : c;
    return ir_type_make(F64, nb + 2, dims);
}

static void test_matmul(void) {
    static const int64_t bd[2] = {2, 3};
    /* batch ranks of (x, y): plain, both batched (rank 3 and 4), y shared, x shared */
    static const uint32_t shapes[][2] = {{0, 0}, {1, 1}, {2, 2}, {1, 0}, {2, 0}, {0, 1}, {0, 2}};
    const int64_t M = 3, K = 4, N = 2;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                GCase c;
                char name[96];
                snprintf(name, sizeof name, "matmul x batch rank %u, y batch rank %u, ta %d tb %d", shapes[s][0],
                         shapes[s][1], ta, tb);
                gc_begin(&c, name, 1);
                IrId x = gc_param(&c, mm_type(bd, shapes[s][0], M, K, ta));
                IrId y = gc_param(&c, mm_type(bd, shapes[s][1], K, N, tb));
                gc_check(&c, ir_build_matmul(&c.b, x, y, ta, tb));
            }
    /* x @ x^T: one operand used twice */
    GCase c;
    gc_begin(&c, "matmul x x^T", 1);
    IrId x = gc_param(&c, TY(F64, 2, 3, 2));
    gc_check(&c, ir_build_matmul(&c.b, x, x, false, true));
}

/* --- movement -------------------------------------------------------------------------------- */

static void test_movement(void) {
    GCase c;
    gc_begin(&c, "reshape", 1);
    IrId x = gc_param(&c, TY(F64, 2, 6));
    gc_check(&c, ir_build_reshape(&c.b, x, 3, (int64_t[]){3, 2, 2}));

    static const int64_t perms[][4] = {{1, 0, 2, 3}, {0, 2, 3, 1}, {3, 1, 0, 2}, {2, 3, 1, 0}};
    for (int p = 0; p < 4; p++) {
        gc_begin(&c, "permute", 1);
        x = gc_param(&c, TY(F64, 2, 3, 1, 4));
        gc_check(&c, ir_build_permute(&c.b, x, 4, perms[p]));
    }

    /* broadcast: new axes before, between and after; size-1 axes expanded; a size-1
     * axis kept at size 1; and a scalar. */
    gc_begin(&c, "broadcast new axes", 1);
    x = gc_param(&c, TY(F64, 3, 2));
    gc_check(&c, ir_build_broadcast(&c.b, x, 5, (int64_t[]){2, 3, 2, 2, 3}, (int64_t[]){1, 3}));
    gc_begin(&c, "broadcast size-1 axes", 1);
    x = gc_param(&c, TY(F64, 1, 3, 1));
    gc_check(&c, ir_build_broadcast(&c.b, x, 3, (int64_t[]){4, 3, 2}, (int64_t[]){0, 1, 2}));
    gc_begin(&c, "broadcast mixed", 1);
    x = gc_param(&c, TY(F64, 1, 3, 1));
    gc_check(&c, ir_build_broadcast(&c.b, x, 5, (int64_t[]){2, 4, 3, 1, 2}, (int64_t[]){1, 2, 3}));
    gc_begin(&c, "broadcast scalar", 1);
    x = gc_param(&c, ir_type_scalar(F64));
    gc_check(&c, ir_build_broadcast(&c.b, x, 2, (int64_t[]){2, 3}, NULL));

    /* slice: contiguous interior, full axes, strided axes (with and without a tail),
     * a single strided element, every axis at once. */
    static const struct {
        int64_t start[3], end[3], step[3];
    } sl[] = {
        {{1, 0, 1}, {3, 3, 4}, {1, 1, 1}}, {{0, 0, 0}, {4, 3, 5}, {1, 1, 1}}, {{0, 1, 0}, {4, 3, 5}, {2, 1, 2}},
        {{1, 0, 1}, {4, 2, 5}, {2, 2, 3}}, {{3, 2, 4}, {4, 3, 5}, {2, 2, 2}}, {{1, 1, 0}, {3, 3, 5}, {1, 1, 4}},
    };
    for (size_t i = 0; i < sizeof sl / sizeof sl[0]; i++) {
        gc_begin(&c, "slice", 1);
        x = gc_param(&c, TY(F64, 4, 3, 5));
        gc_check(&c, ir_build_slice(&c.b, x, sl[i].start, sl[i].end, sl[i].step));
    }

    /* concat of 3 of different lengths, on each axis; and one operand twice */
    for (int64_t axis = 0; axis < 2; axis++) {
        gc_begin(&c, "concat of 3", 1);
        IrId a = gc_param(&c, axis ? TY(F64, 2, 1) : TY(F64, 1, 2));
        IrId b = gc_param(&c, axis ? TY(F64, 2, 3) : TY(F64, 3, 2));
        IrId d = gc_param(&c, axis ? TY(F64, 2, 2) : TY(F64, 2, 2));
        gc_check(&c, ir_build_concat(&c.b, (IrId[]){a, b, d}, 3, axis));
    }
    gc_begin(&c, "concat same operand twice", 1);
    x = gc_param(&c, TY(F64, 2, 2));
    IrId y = gc_param(&c, TY(F64, 1, 2));
    gc_check(&c, ir_build_concat(&c.b, (IrId[]){x, y, x}, 3, 0));
    gc_begin(&c, "concat of 1", 1);
    x = gc_param(&c, TY(F64, 2, 2));
    gc_check(&c, ir_build_concat(&c.b, (IrId[]){x}, 1, 1));
}

/* --- indexing ---------------------------------------------------------------------------------- */

static void test_index(void) {
    GCase c;
    /* embedding lookup: repeated rows accumulate */
    gc_begin(&c, "gather axis 0", 1);
    IrId t = gc_param(&c, TY(F64, 5, 3));
    IrId idx = gc_data(&c, TY(I32, 2, 3), (double[]){4, 0, 4, 1, 4, 0});
    gc_check(&c, ir_build_gather(&c.b, t, idx, 0, 0));
    gc_begin(&c, "gather axis 1", 1);
    t = gc_param(&c, TY(F64, 2, 4, 3));
    idx = gc_data(&c, TY(I32, 5), (double[]){3, 3, 0, 2, 1});
    gc_check(&c, ir_build_gather(&c.b, t, idx, 1, 0));
    /* topk values: batch_dims = axis = last */
    gc_begin(&c, "gather batch_dims 1", 1);
    t = gc_param(&c, TY(F64, 3, 4));
    idx = gc_data(&c, TY(I32, 3, 2), (double[]){2, 0, 1, 1, 3, 0});
    gc_check(&c, ir_build_gather(&c.b, t, idx, 1, 1));
    gc_begin(&c, "gather batch_dims 1 axis 2", 1);
    t = gc_param(&c, TY(F64, 2, 2, 3));
    idx = gc_data(&c, TY(I32, 2, 4), (double[]){0, 1, 2, 1, 2, 2, 0, 0});
    gc_check(&c, ir_build_gather(&c.b, t, idx, 2, 1));
    /* topk's indices carry nothing; the values (a gather) do */
    gc_begin(&c, "topk values", 1);
    t = distinct_param(&c, TY(F64, 3, 5));
    gc_check(&c, ir_build_gather(&c.b, t, ir_build_topk(&c.b, t, 2), 1, 1));

    gc_begin(&c, "scatter_add axis 0", 1);
    idx = gc_data(&c, TY(I32, 4), (double[]){1, 0, 1, 3});
    IrId u = gc_param(&c, TY(F64, 4, 2));
    gc_check(&c, ir_build_scatter_add(&c.b, TY(F64, 5, 2), idx, u, 0, 0));
    gc_begin(&c, "scatter_add batch_dims 1", 1);
    idx = gc_data(&c, TY(I32, 2, 3), (double[]){0, 2, 2, 1, 1, 0});
    u = gc_param(&c, TY(F64, 2, 3, 2));
    gc_check(&c, ir_build_scatter_add(&c.b, TY(F64, 2, 3, 2), idx, u, 1, 1));

    for (int64_t axis = 0; axis < 2; axis++)
        for (int ex = 0; ex < 2; ex++)
            for (int rev = 0; rev < 2; rev++) {
                gc_begin(&c, "cumsum", 1);
                IrId x = gc_param(&c, TY(F64, 3, 4));
                gc_check(&c, ir_build_cumsum(&c.b, x, axis, ex, rev));
            }
}

/* --- collectives on 2 simulated ranks -------------------------------------------------------- */

static void test_collectives(void) {
    GCase c;
    for (int64_t axis = 0; axis < 2; axis++) {
        gc_begin(&c, "all_gather", 2);
        IrId x = gc_param(&c, TY(F64, 2, 3));
        /* a nonlinear use, so each rank's gradient depends on both ranks' values */
        IrId y = ir_build_all_gather(&c.b, x, axis, 2);
        gc_check(&c, ir_build_binary(&c.b, IR_OP_MUL, y, y));

        gc_begin(&c, "reduce_scatter", 2);
        x = gc_param(&c, TY(F64, 4, 2));
        y = ir_build_reduce_scatter(&c.b, ir_build_unary(&c.b, IR_OP_TANH, x), axis, 2, IR_REDUCE_SUM);
        gc_check(&c, ir_build_binary(&c.b, IR_OP_MUL, y, y));
    }
    gc_begin(&c, "all_reduce", 2);
    IrId x = gc_param(&c, TY(F64, 3));
    IrId y = ir_build_all_reduce(&c.b, ir_build_unary(&c.b, IR_OP_SIN, x), 2, IR_REDUCE_SUM);
    gc_check(&c, ir_build_binary(&c.b, IR_OP_MUL, y, y));
    static const int64_t a2a[][2] = {{0, 1}, {1, 0}, {0, 0}, {1, 1}};
    for (size_t i = 0; i < 4; i++) {
        gc_begin(&c, "all_to_all", 2);
        x = gc_param(&c, TY(F64, 4, 2));
        y = ir_build_all_to_all(&c.b, x, a2a[i][0], a2a[i][1], 2);
        gc_check(&c, ir_build_binary(&c.b, IR_OP_MUL, y, ir_build_unary(&c.b, IR_OP_EXP, y)));
    }
}

/* --- the driver's contracts ----------------------------------------------------------------- */

static IrId find_output(const IrGraph *g, const char *name) {
    for (uint32_t o = 0; o < g->n_outputs; o++)
        if (strcmp(ir_graph_str(g, g->outputs[o].name), name) == 0) return g->outputs[o].node;
    return IR_ID_NONE;
}

/* A const whose every element is 0 (f32 or f64 payload). */
static bool is_zero_const(const IrGraph *g, IrId id) {
    if (id == IR_ID_NONE || g->nodes[id].op != IR_OP_CONST) return false;
    const IrNode *n = &g->nodes[id];
    for (uint64_t i = 0; i < n->attrs.constant.value.count; i++) {
        double v = n->type.dtype == F64 ? ((const double *)n->attrs.constant.value.bytes)[i]
                                        : (double)((const float *)n->attrs.constant.value.bytes)[i];
        if (v != 0) return false;
    }
    return true;
}

/* Non-differentiable ops with a float operand fed by a param: the param's gradient is
 * the zero constant, and no gradient node exists except it and the seed. */
static void test_nondiff_end_to_end(void) {
    for (int which = 0; which < 4; which++) {
        IrGraph *g = ir_graph_new("fwd");
        IrBuilder b;
        ir_builder_init(&b, g);
        IrId p = ir_build_input(&b, IR_ROLE_PARAM, "p", TY(F64, 2, 3));
        IrId c = ir_build_const(&b, TY(F64, 2, 3), (double[]){0.5}, 1);
        IrId y = IR_ID_NONE;
        switch (which) {
        case 0: y = ir_build_binary(&b, IR_OP_CMPLT, p, c); break;
        case 1: y = ir_build_binary(&b, IR_OP_CMPEQ, p, c); break;
        case 2: y = ir_build_cast(&b, ir_build_topk(&b, p, 2), F64); break;
        case 3: y = ir_build_unary(&b, IR_OP_STOP_GRADIENT, p); break;
        }
        int64_t n = ir_type_numel(&g->nodes[y].type);
        IrId l = ir_build_reduce(&b, IR_OP_REDUCE_SUM, ir_build_reshape(&b, y, 1, &n), 0, false);
        ir_graph_add_output(g, "loss", l);
        CHECK(ir_builder_ok(&b));
        LlmcErr err = {0};
        IrGraph *gg = cc_grad(g, NULL, &err);
        CHECK(gg != NULL);
        if (gg) {
            CHECK(is_zero_const(gg, find_output(gg, "grad.p")));
            CHECK_EQ_INT(gg->n_nodes, g->n_nodes + 1); /* just the zero (the loss is unreached: no seed) */
            ir_graph_free(gg);
        }
        ir_graph_free(g);
    }
}

/* Every IR_TRAIT_NONDIFF op's rule, called directly with every operand wanted, gives
 * nothing; and the registry walk: every other op was run through a finite-difference
 * case. */
static void test_registry(void) {
    IrGraph *g = ir_graph_new("r");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrId gy = ir_build_scalar(&b, F64, 1.0);
    for (int op = IR_OP_INVALID + 1; op < IR_OP_COUNT; op++) {
        const IrOpInfo *info = ir_op_info((IrOp)op);
        if (info->traits & IR_TRAIT_NONDIFF) {
            static const CcGradFn rules[IR_OP_COUNT] = {
#define IR_OP(ENUM, mn, arity, kind, traits, attrs, shape, flops) [IR_OP_##ENUM] = cc_grad_##mn,
#include "ops.def"
#undef IR_OP
            };
            IrId operands[4] = {gy, gy, gy, gy};
            bool want[4] = {true, true, true, true};
            IrId gx[4] = {IR_ID_NONE, IR_ID_NONE, IR_ID_NONE, IR_ID_NONE};
            CcGradCall call = {.b = &b, .id = gy, .gy = gy, .want = want, .gx = gx};
            call.node.op = (IrOp)op;
            call.node.n_operands = info->arity < 0 ? 4 : (uint32_t)info->arity;
            call.node.operands = operands;
            uint32_t before = g->n_nodes;
            CHECK(rules[op](&call));
            for (int k = 0; k < 4; k++) CHECK(gx[k] == IR_ID_NONE);
            CHECK_EQ_INT(g->n_nodes, before);
        } else if (!covered[op] && !refuses_gradient[op]) {
            fprintf(stderr, "  op %s is differentiable but no finite-difference case covers it\n", info->name);
            CHECK(covered[op]);
        }
    }
    ir_graph_free(g);
}

/* Outputs in input order with grad.<name>; extra inputs; unreached params get zeros;
 * backward scopes "<scope>.grad"; the result is deterministic. */
static void test_driver(void) {
    IrGraph *g = ir_graph_new("fwd");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrId d = ir_build_input(&b, IR_ROLE_DATA, "d", TY(F64, 3));
    IrId p = ir_build_input(&b, IR_ROLE_PARAM, "p", TY(F64, 3));
    IrId unused = ir_build_input(&b, IR_ROLE_PARAM, "unused", TY(F64, 2));
    IrId q = ir_build_input(&b, IR_ROLE_PARAM, "q", TY(F64, 3));
    (void)unused;
    ir_builder_set_scope(&b, "layers.0.mlp");
    IrId y = ir_build_binary(&b, IR_OP_MUL, ir_build_binary(&b, IR_OP_MUL, d, p), q);
    ir_builder_set_scope(&b, NULL);
    IrId l = ir_build_reduce(&b, IR_OP_REDUCE_SUM, y, 0, false);
    ir_graph_add_output(g, "aux", y);
    ir_graph_add_output(g, "loss", l);
    const char *extra[] = {"d"};
    CcGradOptions opt = {.extra = extra, .n_extra = 1};
    LlmcErr err = {0};
    IrGraph *gg = cc_grad(g, &opt, &err);
    CHECK(gg != NULL);
    if (!gg) {
        fprintf(stderr, "  %s\n", err.msg);
        ir_graph_free(g);
        return;
    }
    static const char *const names[] = {"aux", "loss", "grad.d", "grad.p", "grad.unused", "grad.q"};
    CHECK_EQ_INT(gg->n_outputs, 6);
    for (uint32_t o = 0; o < 6 && o < gg->n_outputs; o++) CHECK_STR(ir_graph_str(gg, gg->outputs[o].name), names[o]);
    CHECK(is_zero_const(gg, find_output(gg, "grad.unused")));
    bool scoped = false;
    for (IrId id = g->n_nodes; id < gg->n_nodes; id++) {
        const char *s = ir_graph_str(gg, gg->nodes[id].scope);
        CHECK(strcmp(s, "grad") == 0 || strcmp(s, "layers.0.mlp.grad") == 0 || strcmp(s, "unused.grad") == 0);
        scoped |= strcmp(s, "layers.0.mlp.grad") == 0;
    }
    CHECK(scoped);
    /* values: d(sum d*p*q)/dd = p*q, etc. */
    IrValue in[4], out[6];
    const double dv[3] = {1, 2, 3}, pv[3] = {4, 5, 6}, qv[3] = {7, 8, 9}, uv[2] = {1, 1};
    const double *vals[4] = {dv, pv, uv, qv};
    for (int i = 0; i < 4; i++) {
        ir_value_alloc(&in[i], i == 2 ? TY(F64, 2) : TY(F64, 3));
        memcpy(in[i].data, vals[i], (i == 2 ? 2 : 3) * sizeof(double));
    }
    IrInterpOptions io = {.precision = IR_PRECISION_F64, .ranks = 1};
    CHECK(ir_interp_run(gg, &io, in, out, &err));
    for (int i = 0; i < 3; i++) {
        CHECK(out[2].data[i] == pv[i] * qv[i]);
        CHECK(out[3].data[i] == dv[i] * qv[i]);
        CHECK(out[5].data[i] == dv[i] * pv[i]);
    }
    for (int i = 0; i < 4; i++) ir_value_free(&in[i]);
    for (int i = 0; i < 6; i++) ir_value_free(&out[i]);
    /* deterministic: the same text twice */
    IrGraph *gg2 = cc_grad(g, &opt, &err);
    LlmcBuf t1 = {0}, t2 = {0};
    ir_print_graph(gg, &t1);
    ir_print_graph(gg2, &t2);
    CHECK(t1.len == t2.len && memcmp(t1.data, t2.data, t1.len) == 0);
    llmc_buf_free(&t1);
    llmc_buf_free(&t2);
    ir_graph_free(gg2);
    ir_graph_free(gg);
    ir_graph_free(g);
}

static void expect_grad_error(IrGraph *g, const CcGradOptions *opt, const char *want) {
    LlmcErr err = {0};
    IrGraph *gg = cc_grad(g, opt, &err);
    CHECK(gg == NULL);
    CHECK(err.set && strstr(err.msg, want) != NULL);
    if (!err.set || !strstr(err.msg, want)) fprintf(stderr, "  wanted \"%s\", got \"%s\"\n", want, err.msg);
    ir_graph_free(gg);
}

/* extern_call: differentiable through its declared backward (dx = backward(x, dy)). */
static void test_extern(void) {
    GCase c;
    gc_begin(&c, "extern_call", 1);
    IrId x = gc_param(&c, TY(F64, 2, 3));
    gc_check(&c, ir_build_extern_call_bwd(&c.b, "t:sq", "t:sq_grad", &x, 1, TY(F64, 2, 3)));
}

static void test_errors(void) {
    IrGraph *g = ir_graph_new("fwd");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrId p = ir_build_input(&b, IR_ROLE_PARAM, "p", TY(F64, 4));
    ir_build_input(&b, IR_ROLE_DATA, "tokens", TY(I32, 4));
    IrId m = ir_build_all_reduce(&b, p, 1, IR_REDUCE_MAX);
    IrId rs = ir_build_reduce_scatter(&b, p, 0, 1, IR_REDUCE_MAX);
    ir_graph_add_output(g, "vec", p);
    ir_graph_add_output(g, "max", ir_build_reduce(&b, IR_OP_REDUCE_SUM, m, 0, false));
    ir_graph_add_output(g, "rsmax", ir_build_reduce(&b, IR_OP_REDUCE_SUM, rs, 0, false));
    ir_graph_add_output(g, "isum", ir_build_reduce(&b, IR_OP_REDUCE_SUM, ir_graph_find_input(g, "tokens"), 0, false));
    CHECK(ir_builder_ok(&b));
    expect_grad_error(g, NULL, "no output 'loss'");
    expect_grad_error(g, &(CcGradOptions){.loss = "vec"}, "must be a float scalar");
    expect_grad_error(g, &(CcGradOptions){.loss = "isum"}, "must be a float scalar");
    expect_grad_error(g, &(CcGradOptions){.loss = "max"}, "max reduction over ranks is not supported");
    expect_grad_error(g, &(CcGradOptions){.loss = "rsmax"}, "max reduction over ranks is not supported");
    const char *missing[] = {"nope"}, *ints[] = {"tokens"};
    expect_grad_error(g, &(CcGradOptions){.loss = "max", .extra = missing, .n_extra = 1}, "no input 'nope'");
    expect_grad_error(g, &(CcGradOptions){.loss = "max", .extra = ints, .n_extra = 1}, "only float inputs");
    ir_graph_free(g);
    /* an extern without a backward on the loss's path; with two operands */
    g = ir_graph_new("fwd");
    ir_builder_init(&b, g);
    p = ir_build_input(&b, IR_ROLE_PARAM, "p", TY(F64, 4));
    ir_builder_set_loc(&b, "m.llm", 3, 9);
    IrId y = ir_build_extern_call(&b, "t:sq", &p, 1, TY(F64, 4));
    IrId y2 = ir_build_extern_call_bwd(&b, "t:mul", "t:mul_grad", (IrId[]){p, p}, 2, TY(F64, 4));
    ir_graph_add_output(g, "loss", ir_build_reduce(&b, IR_OP_REDUCE_SUM, y, 0, false));
    ir_graph_add_output(g, "loss2", ir_build_reduce(&b, IR_OP_REDUCE_SUM, y2, 0, false));
    CHECK(ir_builder_ok(&b));
    expect_grad_error(g, NULL, "extern 't:sq' (%1 (m.llm:3:9)) has no backward");
    expect_grad_error(g, &(CcGradOptions){.loss = "loss2"}, "a backward is supported for one-argument functions only");
    ir_graph_free(g);
}

/* --- fused attention -------------------------------------------------------------------------- */

/* attention's rule (attention_lse, dsum, one attention_grad per operand) for q, k and v:
 * causal and not, R = S and R = 2S (two GQA heads stacked on S keys), d != e, a leading
 * batch axis; also a shared operand (k = v) whose two contributions add, and one operand
 * alone (only v a param). The loss's random weights make dout non-uniform. */
static void test_attention(void) {
    const int64_t NB = 2, S = 3, D = 2, E = 3;
    for (int causal = 0; causal < 2; causal++)
        for (int64_t R = S; R <= 2 * S; R += S) {
            GCase c;
            char name[64];
            snprintf(name, sizeof name, "attention%s R=%lld S=%lld", causal ? " causal" : "", (long long)R,
                     (long long)S);
            gc_begin(&c, name, 1);
            IrId q = gc_param(&c, TY(F64, NB, R, D));
            IrId k = gc_param(&c, TY(F64, NB, S, D));
            IrId v = gc_param(&c, TY(F64, NB, S, E));
            gc_check(&c, ir_build_attention(&c.b, q, k, v, 0.8, causal));
        }
    GCase c;
    gc_begin(&c, "attention k = v", 1);
    IrId q = gc_param(&c, TY(F64, 4, 2));
    IrId kv = gc_param(&c, TY(F64, 2, 2));
    gc_check(&c, ir_build_attention(&c.b, q, kv, kv, 1.3, true));
    gc_begin(&c, "attention v only", 1);
    q = gc_data(&c, TY(F64, 2, 2), (double[]){0.3, -1, 0.5, 2});
    IrId k = gc_data(&c, TY(F64, 2, 2), (double[]){1, 0.2, -0.7, 0.4});
    IrId v = gc_param(&c, TY(F64, 2, 3));
    gc_check(&c, ir_build_attention(&c.b, q, k, v, 0.5, false));
}

/* Only the wanted operands get an attention_grad, all sharing one attention_lse and one
 * dsum. */
static void test_attention_graph(void) {
    for (int only_v = 0; only_v < 2; only_v++) {
        IrGraph *g = ir_graph_new("fwd");
        IrBuilder b;
        ir_builder_init(&b, g);
        IrRole qk = only_v ? IR_ROLE_DATA : IR_ROLE_PARAM;
        IrId q = ir_build_input(&b, qk, "q", TY(F64, 2, 4, 2));
        IrId k = ir_build_input(&b, qk, "k", TY(F64, 2, 2, 2));
        IrId v = ir_build_input(&b, IR_ROLE_PARAM, "v", TY(F64, 2, 2, 3));
        IrId y = ir_build_attention(&b, q, k, v, 0.5, true);
        int64_t n = ir_type_numel(&g->nodes[y].type);
        ir_graph_add_output(g, "loss", ir_build_reduce(&b, IR_OP_REDUCE_SUM, ir_build_reshape(&b, y, 1, &n), 0, false));
        CHECK(ir_builder_ok(&b));
        LlmcErr err = {0};
        IrGraph *gg = cc_grad(g, NULL, &err);
        CHECK(gg != NULL);
        if (gg) {
            int lse = 0, grads = 0;
            bool wrt_seen[IR_ATTENTION_WRT_COUNT] = {false};
            for (IrId id = g->n_nodes; id < gg->n_nodes; id++) {
                const IrNode *nd = &gg->nodes[id];
                if (nd->op == IR_OP_ATTENTION_LSE) {
                    lse++;
                    CHECK(nd->attrs.attention.causal && nd->attrs.attention.scale == 0.5);
                }
                if (nd->op == IR_OP_ATTENTION_GRAD) {
                    grads++;
                    wrt_seen[nd->attrs.attention.wrt] = true;
                    CHECK(nd->attrs.attention.causal && nd->attrs.attention.scale == 0.5);
                }
            }
            CHECK_EQ_INT(lse, 1);
            CHECK_EQ_INT(grads, only_v ? 1 : 3);
            CHECK(wrt_seen[IR_ATTENTION_V] && wrt_seen[IR_ATTENTION_Q] == !only_v && wrt_seen[IR_ATTENTION_K] == !only_v);
            ir_graph_free(gg);
        }
        ir_graph_free(g);
    }
}

/* attention_lse and attention_grad are not IR_TRAIT_NONDIFF (their derivative is not
 * zero), and their rules refuse: a loss through them is an error, never a silent zero
 * gradient; called directly with nothing wanted, a rule gives nothing. */
static void test_attention_second_order(void) {
    static const IrOp ops[] = {IR_OP_ATTENTION_LSE, IR_OP_ATTENTION_GRAD};
    for (size_t i = 0; i < 2; i++) {
        IrOp op = ops[i];
        CHECK(!(ir_op_info(op)->traits & IR_TRAIT_NONDIFF));
        IrGraph *g = ir_graph_new("fwd");
        IrBuilder b;
        ir_builder_init(&b, g);
        IrId q = ir_build_input(&b, IR_ROLE_PARAM, "q", TY(F64, 4, 2));
        IrId k = ir_build_input(&b, IR_ROLE_DATA, "k", TY(F64, 2, 2));
        IrId v = ir_build_input(&b, IR_ROLE_DATA, "v", TY(F64, 2, 3));
        IrId lse = ir_build_attention_lse(&b, q, k, 1.0, true);
        IrId y = lse; /* the node whose rule must refuse */
        if (op == IR_OP_ATTENTION_GRAD) {
            IrId dsum = ir_build_input(&b, IR_ROLE_DATA, "dsum", TY(F64, 4));
            IrId dout = ir_build_input(&b, IR_ROLE_DATA, "dout", TY(F64, 4, 3));
            y = ir_build_attention_grad(&b, q, k, v, ir_build_unary(&b, IR_OP_STOP_GRADIENT, lse), dsum, dout, 1.0,
                                        true, IR_ATTENTION_K);
        }
        int64_t n = ir_type_numel(&g->nodes[y].type);
        ir_graph_add_output(g, "loss", ir_build_reduce(&b, IR_OP_REDUCE_SUM, ir_build_reshape(&b, y, 1, &n), 0, false));
        CHECK(ir_builder_ok(&b));
        char want[96];
        snprintf(want, sizeof want, "%s (%%%u) is part of attention's backward", ir_op_name(op), y);
        expect_grad_error(g, NULL, want);
        expect_grad_error(g, NULL, "second derivatives of attention are not supported");
        ir_graph_free(g);

        /* direct calls: nothing wanted gives nothing; q wanted fails */
        g = ir_graph_new("r");
        ir_builder_init(&b, g);
        IrId gy = ir_build_scalar(&b, F64, 1.0);
        IrId operands[6] = {gy, gy, gy, gy, gy, gy};
        bool wanted[6] = {false};
        IrId gx[6] = {IR_ID_NONE, IR_ID_NONE, IR_ID_NONE, IR_ID_NONE, IR_ID_NONE, IR_ID_NONE};
        LlmcErr err = {0};
        CcGradCall call = {.b = &b, .id = gy, .gy = gy, .want = wanted, .gx = gx, .err = &err};
        call.node.op = op;
        call.node.n_operands = (uint32_t)ir_op_info(op)->arity;
        call.node.operands = operands;
        bool (*rule)(CcGradCall *) = op == IR_OP_ATTENTION_LSE ? cc_grad_attention_lse : cc_grad_attention_grad;
        uint32_t before = g->n_nodes;
        CHECK(rule(&call));
        wanted[0] = true;
        CHECK(!rule(&call));
        CHECK(err.set && strstr(err.msg, "second derivatives of attention are not supported"));
        for (int j = 0; j < 6; j++) CHECK(gx[j] == IR_ID_NONE);
        CHECK_EQ_INT(g->n_nodes, before);
        ir_graph_free(g);
        refuses_gradient[op] = true;
    }
}

/* cc_grad_activation_bytes counts forward non-source values read by backward nodes. */
static void test_activation_bytes(void) {
    IrGraph *g = ir_graph_new("fwd");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrId p = ir_build_input(&b, IR_ROLE_PARAM, "p", TY(F64, 8));
    IrId e = ir_build_unary(&b, IR_OP_EXP, p);          /* read by its rule: 64 bytes */
    IrId t = ir_build_unary(&b, IR_OP_NEG, e);          /* not read */
    IrId l = ir_build_reduce(&b, IR_OP_REDUCE_SUM, t, 0, false);
    ir_graph_add_output(g, "loss", l);
    LlmcErr err = {0};
    IrGraph *gg = cc_grad(g, NULL, &err);
    CHECK(gg != NULL);
    if (gg) CHECK_EQ_INT(cc_grad_activation_bytes(gg, g->n_nodes), 64);
    ir_graph_free(gg);
    ir_graph_free(g);
}

int main(void) {
    test_unary();
    test_binary();
    test_pow_guard();
    test_reduce();
    test_stop_gradient();
    test_matmul();
    test_movement();
    test_index();
    test_collectives();
    test_attention();
    test_attention_graph();
    test_attention_second_order();
    test_nondiff_end_to_end();
    test_extern();
    test_driver();
    test_errors();
    test_activation_bytes();
    test_registry();
    fprintf(stderr, "%d finite-difference checks, worst relative error %.3g\n", n_fd_checks, worst_err);
    TEST_MAIN();
}
