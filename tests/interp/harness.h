/* tests/interp/harness.h — a small harness for interpreter tests: build a graph with the
 * builder, give its inputs values per simulated rank, run it, compare results bit for bit.
 *
 *   Case c; case_begin(&c, ranks);
 *   IrId x = case_input(&c, TY(IR_DTYPE_F64, 2, 3), V(1, 2, 3, 4, 5, 6)); // same on every rank
 *   IrId y = case_input_ranks(&c, type, values);  // values[r * numel + i] for rank r
 *   case_output(&c, ir_build_unary(&c.b, IR_OP_NEG, x));
 *   if (case_run(&c, IR_PRECISION_F64)) CHECK_VALS(c.out[0], -1, -2, -3, -4, -5, -6);
 *   case_end(&c);
 *
 * c.out[r * n_outputs + o] holds output o on rank r after a successful run. Every op in a
 * graph that was run is recorded in harness_ran_op, so a test that claims to cover an op
 * can be held to having actually executed it. Comparisons are exact: nan equals nan, and
 * -0 differs from +0.
 */
#ifndef LLMC_TESTS_INTERP_HARNESS_H
#define LLMC_TESTS_INTERP_HARNESS_H

#include <stdlib.h>

#include "ir.h"
#include "test.h"

#define HARNESS_MAX_INPUTS 32
#define HARNESS_MAX_OUTPUTS 16
#define HARNESS_MAX_RANKS 8

/* A type from a dtype and dims: TY(IR_DTYPE_F32, 2, 3) is f32[2,3]. */
#define TY(dt, ...)                                                                    \
    ir_type_make((dt), (uint32_t)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), \
                 (int64_t[]){__VA_ARGS__})
#define SCALAR(dt) ir_type_scalar(dt)
/* An inline array of doubles. */
#define V(...) ((const double[]){__VA_ARGS__})
/* Exact comparison of a value with a list of expected doubles. */
#define CHECK_VALS(val, ...)                                                           \
    harness_check_vals(__FILE__, __LINE__, #val, &(val), V(__VA_ARGS__),                \
                       sizeof(V(__VA_ARGS__)) / sizeof(double))
#define CHECK_VALS_N(val, want, n) harness_check_vals(__FILE__, __LINE__, #val, &(val), (want), (n))

static bool harness_ran_op[IR_OP_COUNT];

typedef struct Case {
    IrGraph *g;
    IrBuilder b;
    uint32_t ranks;
    IrValue in[HARNESS_MAX_RANKS][HARNESS_MAX_INPUTS]; /* [rank][input] */
    uint32_t n_in;
    IrValue out[HARNESS_MAX_RANKS * HARNESS_MAX_OUTPUTS]; /* [rank * n_outputs + o] */
    bool have_out;
    LlmcErr err; /* the last run's error */
    IrInterpOptions opt;
} Case;

static inline void case_begin(Case *c, uint32_t ranks) {
    memset(c, 0, sizeof *c);
    if (ranks > HARNESS_MAX_RANKS) ranks = HARNESS_MAX_RANKS;
    c->g = ir_graph_new("t");
    ir_builder_init(&c->b, c->g);
    c->ranks = ranks;
    c->opt.precision = IR_PRECISION_F64;
    c->opt.ranks = ranks;
}

/* An input whose value on rank r is values[r * numel ..]. */
static inline IrId case_input_ranks(Case *c, IrType t, const double *values) {
    if (c->n_in >= HARNESS_MAX_INPUTS) return IR_ID_NONE;
    char name[16];
    snprintf(name, sizeof name, "in%u", c->n_in);
    IrId id = ir_build_input(&c->b, IR_ROLE_DATA, name, t);
    size_t n = (size_t)ir_type_numel(&t);
    for (uint32_t r = 0; r < c->ranks; r++) {
        ir_value_alloc(&c->in[r][c->n_in], t);
        memcpy(c->in[r][c->n_in].data, values + r * n, n * sizeof(double));
    }
    c->n_in++;
    return id;
}

/* An input with the same value on every rank. */
static inline IrId case_input(Case *c, IrType t, const double *values) {
    size_t n = (size_t)ir_type_numel(&t);
    double *all = malloc(n * c->ranks * sizeof(double));
    for (uint32_t r = 0; r < c->ranks; r++) memcpy(all + r * n, values, n * sizeof(double));
    IrId id = case_input_ranks(c, t, all);
    free(all);
    return id;
}

static inline void case_output(Case *c, IrId id) {
    char name[16];
    snprintf(name, sizeof name, "out%u", c->g->n_outputs);
    if (id == IR_ID_NONE) return; /* the build error is reported by case_run */
    ir_graph_add_output(c->g, name, id);
}

static inline void case_free_outputs(Case *c) {
    if (!c->have_out) return;
    for (uint32_t i = 0; i < c->ranks * c->g->n_outputs; i++) ir_value_free(&c->out[i]);
    c->have_out = false;
}

/* Runs the graph in the given precision; true on success (results in c->out). A build
 * error fails the test. */
static inline bool case_run(Case *c, IrPrecision p) {
    case_free_outputs(c);
    llmc_err_clear(&c->err);
    CHECK(ir_builder_ok(&c->b));
    if (!ir_builder_ok(&c->b)) {
        fprintf(stderr, "  build error: %s\n", c->b.err.msg);
        return false;
    }
    for (uint32_t i = 0; i < c->g->n_nodes; i++) harness_ran_op[c->g->nodes[i].op] = true;
    IrValue *inputs = calloc((size_t)c->ranks * (c->n_in ? c->n_in : 1), sizeof *inputs);
    for (uint32_t r = 0; r < c->ranks; r++)
        for (uint32_t i = 0; i < c->n_in; i++) inputs[r * c->n_in + i] = c->in[r][i];
    c->opt.precision = p;
    bool ok = ir_interp_run(c->g, &c->opt, inputs, c->out, &c->err);
    free(inputs);
    c->have_out = ok;
    return ok;
}

/* Runs and expects success; prints the error otherwise. */
static inline bool case_run_ok(Case *c, IrPrecision p) {
    bool ok = case_run(c, p);
    CHECK(ok);
    if (!ok && c->err.set) fprintf(stderr, "  interpreter error: %s\n", c->err.msg);
    return ok;
}

/* Runs and expects a failure whose message contains `want`. */
static inline void case_run_fails(Case *c, IrPrecision p, const char *want) {
    bool ok = case_run(c, p);
    CHECK(!ok);
    CHECK(c->err.set);
    if (!ok && !strstr(c->err.msg, want)) {
        fprintf(stderr, "  message: %s\n  wanted substring: %s\n", c->err.msg, want);
        CHECK(!"error message mismatch");
    }
}

static inline void case_end(Case *c) {
    case_free_outputs(c);
    for (uint32_t r = 0; r < c->ranks; r++)
        for (uint32_t i = 0; i < c->n_in; i++) ir_value_free(&c->in[r][i]);
    ir_graph_free(c->g);
    memset(c, 0, sizeof *c);
}

static inline bool harness_same(double a, double b) {
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    return a == b && signbit(a) == signbit(b);
}

static inline void harness_check_vals(const char *file, int line, const char *what, const IrValue *v,
                                      const double *want, size_t n) {
    test_checks++;
    int64_t numel = v->data ? ir_type_numel(&v->type) : -1;
    if (numel != (int64_t)n) {
        test_failures++;
        fprintf(stderr, "%s:%d: CHECK_VALS failed: %s has %lld elements, expected %zu\n", file, line, what,
                (long long)numel, n);
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (!harness_same(v->data[i], want[i])) {
            test_failures++;
            fprintf(stderr, "%s:%d: CHECK_VALS failed: %s[%zu] is %.17g, expected %.17g\n", file, line, what, i,
                    v->data[i], want[i]);
            return;
        }
}

#endif /* LLMC_TESTS_INTERP_HARNESS_H */
