/* tests/step/test_accumulate.c — the fixed tree order of gradient accumulation.
 *
 * CcAccum alone: for n = 1..9 pushes it equals, bit for bit in f32, the interpreter's
 * all_reduce over n simulated ranks (the order DESIGN §8 fixes for the collectives), and
 * the spelled-out trees for n = 3, 4, 5, 7; f64 values and f64 precision are not rounded;
 * an accumulator is reusable after finish.
 * The whole step: one step of n micro-batches through cc_step_interp (f32) equals, BIT
 * FOR BIT, the tree-ordered sum of n single-micro-batch gradient runs of the micro graph
 * (n = 4: ((g0 + g1) + (g2 + g3)); n = 3: ((g0 + g1) + g2); n = 5: (((g0 + g1) + (g2 +
 * g3)) + g4)), on a model with dropout so that the micro-batch index matters; the
 * loss is the same tree sum / n.
 */
#include "step_harness.h"

/* --- CcAccum -------------------------------------------------------------------------- */

static double rnd(uint32_t *s) {
    *s = *s * 1664525u + 1013904223u;
    return (double)(*s >> 8) / (double)(1u << 23) - 1.0;
}

enum { K = 6 }; /* elements per value */

/* x[i][e]: values of wildly different magnitudes, so that summation order shows in the
 * low bits; rounded to float (they are f32 values). */
static void make_values(double x[][K], uint32_t n, uint32_t seed) {
    for (uint32_t i = 0; i < n; i++)
        for (int e = 0; e < K; e++) x[i][e] = (double)(float)(rnd(&seed) * pow(10.0, (double)((i * 7 + (uint32_t)e) % 9) - 4));
}

static double fadd(double a, double b) { return (double)(float)(a + b); }

static bool same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

/* The interpreter's all_reduce over n ranks of x[r]: the collective tree. */
static void all_reduce_ref(double x[][K], uint32_t n, double *out) {
    IrGraph *g = ir_graph_new("ar");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrType t = ir_type_make(IR_DTYPE_F32, 1, (int64_t[]){K});
    IrId in = ir_build_input(&b, IR_ROLE_DATA, "x", t);
    ir_graph_add_output(g, "y", ir_build_all_reduce(&b, in, n, IR_REDUCE_SUM));
    CHECK(ir_builder_ok(&b));
    IrValue *ins = llmc_xcalloc(n, sizeof *ins), *outs = llmc_xcalloc(n, sizeof *outs);
    for (uint32_t r = 0; r < n; r++) {
        ir_value_alloc(&ins[r], t);
        memcpy(ins[r].data, x[r], sizeof x[r]);
    }
    IrInterpOptions opt = {.precision = IR_PRECISION_F32, .ranks = n};
    LlmcErr err = {0};
    bool ok = ir_interp_run(g, &opt, ins, outs, &err);
    CHECK(ok);
    if (!ok) fprintf(stderr, "all_reduce: %s\n", err.msg);
    for (int e = 0; e < K; e++) out[e] = ok ? outs[0].data[e] : NAN;
    for (uint32_t r = 0; r < n; r++) {
        ir_value_free(&ins[r]);
        if (ok) ir_value_free(&outs[r]);
    }
    free(ins);
    free(outs);
    ir_graph_free(g);
}

/* Pushes x[0..n) (two values each: the f32 vector and an f64 scalar x[i][0]) and
 * finishes into out (the vector) and out64 (the scalar). */
static void accum(CcAccum *a, double x[][K], uint32_t n, double *out, double *out64) {
    IrValue v[2];
    ir_value_alloc(&v[0], ir_type_make(IR_DTYPE_F32, 1, (int64_t[]){K}));
    ir_value_alloc(&v[1], ir_type_scalar(IR_DTYPE_F64));
    for (uint32_t i = 0; i < n; i++) {
        memcpy(v[0].data, x[i], sizeof x[i]);
        v[1].data[0] = x[i][0] * (1 + 1e-12); /* not a float: must stay unrounded */
        cc_accum_push(a, v);
    }
    ir_value_free(&v[0]);
    ir_value_free(&v[1]);
    IrValue r[2];
    cc_accum_finish(a, r);
    memcpy(out, r[0].data, K * sizeof *out);
    *out64 = r[1].data[0];
    ir_value_free(&r[0]);
    ir_value_free(&r[1]);
}

static void test_accum_unit(void) {
    IrType types[2] = {ir_type_make(IR_DTYPE_F32, 1, (int64_t[]){K}), ir_type_scalar(IR_DTYPE_F64)};
    CcAccum *a = cc_accum_new(types, 2, IR_PRECISION_F32);
    int order_visible = 0;
    for (uint32_t n = 1; n <= 9; n++) {
        double x[9][K], got[K], got64, ref[K];
        make_values(x, n, 100 + n);
        accum(a, x, n, got, &got64); /* the same accumulator every time: reusable */
        all_reduce_ref(x, n, ref);
        for (int e = 0; e < K; e++) {
            if (!same_bits(got[e], ref[e]))
                fprintf(stderr, "n=%u e=%d: accum %.9g vs all_reduce %.9g\n", n, e, got[e], ref[e]);
            CHECK(same_bits(got[e], ref[e]));
            double left = x[0][e]; /* a left fold, for contrast */
            for (uint32_t i = 1; i < n; i++) left = fadd(left, x[i][e]);
            order_visible += !same_bits(left, got[e]);
        }
        /* the f64 value: the same tree, never rounded to float */
        double y[9];
        for (uint32_t i = 0; i < n; i++) y[i] = x[i][0] * (1 + 1e-12);
        double want64 = y[0];
        if (n == 3) want64 = (y[0] + y[1]) + y[2];
        if (n == 4) want64 = (y[0] + y[1]) + (y[2] + y[3]);
        if (n == 5) want64 = ((y[0] + y[1]) + (y[2] + y[3])) + y[4];
        if (n == 3 || n == 4 || n == 5) CHECK(same_bits(got64, want64));
        if (n == 1) CHECK(same_bits(got64, y[0]));
        CHECK(got64 != (double)(float)got64 || got64 == 0); /* not rounded */
        /* the spelled-out trees */
        for (int e = 0; e < K; e++) {
            double w = NAN;
#define X(i) x[i][e]
            if (n == 3) w = fadd(fadd(X(0), X(1)), X(2));
            if (n == 4) w = fadd(fadd(X(0), X(1)), fadd(X(2), X(3)));
            if (n == 5) w = fadd(fadd(fadd(X(0), X(1)), fadd(X(2), X(3))), X(4));
            if (n == 7) w = fadd(fadd(fadd(X(0), X(1)), fadd(X(2), X(3))), fadd(fadd(X(4), X(5)), X(6)));
            if (n == 8)
                w = fadd(fadd(fadd(X(0), X(1)), fadd(X(2), X(3))), fadd(fadd(X(4), X(5)), fadd(X(6), X(7))));
#undef X
            if (!isnan(w)) CHECK(same_bits(got[e], w));
        }
    }
    CHECK(order_visible > 0); /* the data is such that a left fold would differ */
    cc_accum_free(a);

    /* f64 precision: f32 values are summed in the tree order, unrounded */
    a = cc_accum_new(types, 2, IR_PRECISION_F64);
    double x[4][K], got[K], got64;
    make_values(x, 4, 7);
    accum(a, x, 4, got, &got64);
    for (int e = 0; e < K; e++) CHECK(same_bits(got[e], (x[0][e] + x[1][e]) + (x[2][e] + x[3][e])));
    /* a freed accumulator with pending partials frees them (ASan checks) */
    IrValue v[2];
    ir_value_alloc(&v[0], types[0]);
    ir_value_alloc(&v[1], types[1]);
    cc_accum_push(a, v);
    cc_accum_push(a, v);
    cc_accum_push(a, v);
    ir_value_free(&v[0]);
    ir_value_free(&v[1]);
    cc_accum_free(a);
}

/* --- the whole step ------------------------------------------------------------------- */

static const char *const tiny_src =
    "model acc_tiny {\n"
    "    vocab = 16; context = 8; dim = 8; heads = 2\n"
    "    x = embed(tokens, vocab, dim, position = learned)\n"
    "    x = x + attention(layernorm(x), heads = heads, dropout = 0.1)\n"
    "    x = x + dropout(mlp(rmsnorm(x), hidden = 16, act = swiglu), p = 0.2)\n"
    "    logits = lm_head(layernorm(x, name = \"ln_f\"), tied = false)\n"
    "    loss = cross_entropy(logits, targets)\n"
    "}\n"
    "train {\n"
    "    batch = 2; seq = 8; accumulate = 4; steps = 10; seed = 3\n"
    "    optimizer = sgd(lr = 1, momentum = 0)\n"
    "}\n";

/* The tree sum of g[0..n) for n in {3, 4, 5}, f32 additions. */
static double tree(const double *g, uint32_t n) {
    switch (n) {
    case 3: return fadd(fadd(g[0], g[1]), g[2]);
    case 4: return fadd(fadd(g[0], g[1]), fadd(g[2], g[3]));
    case 5: return fadd(fadd(fadd(g[0], g[1]), fadd(g[2], g[3])), g[4]);
    default: break;
    }
    LLMC_ASSERT(!"no tree spelled out for this n");
    return 0;
}

static void step_case(uint32_t n) {
    char acc[16];
    snprintf(acc, sizeof acc, "%u", n);
    FeOverride ov[] = {{"accumulate", acc}};
    Model md;
    if (!model_load(&md, "acc_tiny.llm", tiny_src, ov, 1)) {
        CHECK(!"model_load");
        model_free(&md);
        return;
    }
    const IrGraph *micro = md.step.micro;
    CHECK(ir_graph_find_input(micro, "micro") != IR_ID_NONE); /* dropout keys on it */
    CHECK_EQ_INT(micro->train.accumulate, n);
    Data data = data_for(&md, 5, false);

    /* n single-micro-batch runs of the micro graph, by hand */
    uint32_t n_in = ir_graph_inputs(micro, NULL), n_out = micro->n_outputs;
    IrId *ids = llmc_xcalloc(n_in, sizeof *ids);
    ir_graph_inputs(micro, ids);
    IrValue *outs = llmc_xcalloc((size_t)n * n_out, sizeof *outs); /* [n][n_out] */
    bool ok = true;
    for (uint32_t i = 0; ok && i < n; i++) {
        IrValue *in = llmc_xcalloc(n_in, sizeof *in);
        bool *own = llmc_xcalloc(n_in, sizeof *own);
        for (uint32_t k = 0; k < n_in; k++) {
            const IrNode *node = &micro->nodes[ids[k]];
            const char *name = ir_graph_str(micro, node->attrs.input.name);
            LlmcErr e = {0};
            if (strcmp(name, "micro") == 0) {
                ir_value_alloc(&in[k], node->type);
                in[k].data[0] = i;
                own[k] = true;
            } else if (node->attrs.input.role == IR_ROLE_DATA) {
                CHECK(data_batch(&data, i, name, &in[k], &e));
                own[k] = true;
            } else {
                CcVar *v = model_var(&md, name);
                CHECK(v != NULL);
                if (v) in[k] = v->value;
            }
        }
        IrInterpOptions opt = {.precision = IR_PRECISION_F32, .ranks = 1};
        LlmcErr err = {0};
        ok = ir_interp_run(micro, &opt, in, &outs[(size_t)i * n_out], &err);
        CHECK(ok);
        if (!ok) fprintf(stderr, "micro %u: %s\n", i, err.msg);
        for (uint32_t k = 0; k < n_in; k++)
            if (own[k]) ir_value_free(&in[k]);
        free(in);
        free(own);
    }
    free(ids);

    /* keep the params the step starts from */
    CcStepResult res;
    LlmcErr err = {0};
    bool stepped = ok && cc_step_interp(&md.step, md.vars, md.n_vars, data_batch, &data, IR_PRECISION_F32, &res, &err);
    CHECK(stepped);
    if (!stepped && ok) fprintf(stderr, "cc_step_interp: %s\n", err.msg);
    if (stepped) {
        /* SGD, lr 1, momentum 0, weight decay 0: the buffer opt.m.P is the mean gradient
         * (sum / n), so sum = the bits of the tree-ordered sum, then one f32 division. */
        uint64_t compared = 0, mismatched = 0, differs_by_micro = 0, left_fold_differs = 0;
        for (uint32_t o = 0; o < n_out; o++) {
            const char *name = ir_graph_str(micro, micro->outputs[o].name);
            double g[8];
            if (strcmp(name, "loss") == 0) {
                for (uint32_t i = 0; i < n; i++) g[i] = outs[(size_t)i * n_out + o].data[0];
                double want = (double)(float)(tree(g, n) / n);
                if (!same_bits(res.loss, want)) fprintf(stderr, "n=%u loss %.9g vs %.9g\n", n, res.loss, want);
                CHECK(same_bits(res.loss, want));
                continue;
            }
            if (strncmp(name, "grad.", 5) != 0) continue;
            char mname[512];
            snprintf(mname, sizeof mname, "opt.m.%s", name + 5);
            CcVar *m = model_var(&md, mname);
            CHECK(m != NULL);
            if (!m) continue;
            int64_t numel = ir_type_numel(&m->value.type);
            for (int64_t e = 0; e < numel; e++) {
                for (uint32_t i = 0; i < n; i++) g[i] = outs[(size_t)i * n_out + o].data[e];
                double want = (double)(float)(tree(g, n) / n);
                compared++;
                /* == rather than bits: 0 * p + g may turn a -0 into +0 */
                if (!(m->value.data[e] == want)) {
                    if (mismatched < 5)
                        fprintf(stderr, "n=%u %s[%lld]: step %.9g vs tree %.9g\n", n, name, (long long)e,
                                m->value.data[e], want);
                    mismatched++;
                }
                differs_by_micro += g[0] != g[1];
                double left = g[0];
                for (uint32_t i = 1; i < n; i++) left = fadd(left, g[i]);
                left_fold_differs += (double)(float)(left / n) != want;
            }
        }
        CHECK(compared >= 1000); /* every param element */
        CHECK_EQ_INT(mismatched, 0);
        CHECK(differs_by_micro > compared / 2); /* the micro-batches really differ */
        if (n > 3) CHECK(left_fold_differs > 0); /* the order is visible in these bits */
        fprintf(stderr, "accumulate=%u: %llu gradient elements equal the tree sum bit for bit (a left fold would "
                        "differ in %llu); loss %.6f, lr %g, grad_norm %.6f\n",
                n, (unsigned long long)compared, (unsigned long long)left_fold_differs, res.loss, res.lr, res.grad_norm);
        CcVar *step = model_var(&md, "step");
        if (step) CHECK_EQ_INT(step->value.data[0], 1);
        CHECK(res.lr == 1);
        CHECK(res.grad_norm > 0 && isfinite(res.grad_norm));
    }
    for (size_t i = 0; i < (size_t)n * n_out; i++) ir_value_free(&outs[i]);
    free(outs);
    model_free(&md);
}

/* Errors are reported and leave the vars alone. */
static void test_step_errors(void) {
    Model md;
    if (!model_load(&md, "acc_tiny.llm", tiny_src, NULL, 0)) {
        CHECK(!"model_load");
        model_free(&md);
        return;
    }
    Data data = data_for(&md, 1, false);
    CcStepResult res;
    LlmcErr err = {0};
    CHECK(!cc_step_interp(&md.step, md.vars, md.n_vars, NULL, NULL, IR_PRECISION_F32, &res, &err));
    CHECK(strstr(err.msg, "no batch callback") != NULL);
    /* a missing var is named */
    CcVar saved = md.vars[0];
    md.vars[0].name = "not-a-param";
    llmc_err_clear(&err);
    CHECK(!cc_step_interp(&md.step, md.vars, md.n_vars, data_batch, &data, IR_PRECISION_F32, &res, &err));
    CHECK(strstr(err.msg, saved.name) != NULL);
    md.vars[0] = saved;
    CcVar *step = model_var(&md, "step");
    if (step) CHECK_EQ_INT(step->value.data[0], 0);
    model_free(&md);
}

int main(void) {
    test_accum_unit();
    step_case(4);
    step_case(3);
    step_case(5);
    test_step_errors();
    TEST_MAIN();
}
