/* tests/step/test_optim.c — the update graph (compiler/train_step.c) on the reference
 * interpreter in f64, against the formulas computed by hand in plain C loops:
 * AdamW for 3 steps (with and without weight decay, with the decay mask: 1-D params and
 * embeddings skipped unless decay_1d / decay_embeddings), SGD with momentum for 3 steps,
 * the three schedules at chosen steps, clipping above and below the threshold, and the
 * hyperparameters as inputs (one compiled graph, another hp.lr). Also the graph's
 * interface (which inputs exist per recipe), its .llir round trip, and the initial state.
 * No autodiff here: the gradients are given.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "test.h"

/* --- a forward graph with params of each kind ------------------------------------------
 * w [2,3] (decays), gain [3] (1-D), emb [4,3] (gathered: an embedding by structure),
 * pos_emb [4,3] (an embedding by name). The loss is any scalar: only the params and the
 * record matter to the update graph. */

enum { P_W, P_GAIN, P_EMB, P_POS, NP };
static const char *const pnames[NP] = {"w", "gain", "emb", "pos_emb"};
static const int64_t pdims[NP][2] = {{2, 3}, {3, 0}, {4, 3}, {4, 3}};
static int64_t pnumel(int p) { return pdims[p][0] * (pdims[p][1] ? pdims[p][1] : 1); }
static IrType ptype(int p) {
    return pdims[p][1] ? ir_type_make(IR_DTYPE_F32, 2, pdims[p]) : ir_type_make(IR_DTYPE_F32, 1, pdims[p]);
}

static IrGraph *make_forward(const IrTrainConfig *t) {
    IrGraph *g = ir_graph_new("forward");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrId p[NP];
    for (int i = 0; i < NP; i++) p[i] = ir_build_input(&b, IR_ROLE_PARAM, pnames[i], ptype(i));
    IrId ids = ir_build_input(&b, IR_ROLE_DATA, "tokens", ir_type_make(IR_DTYPE_I32, 1, (int64_t[]){2}));
    IrId x = ir_build_gather(&b, p[P_EMB], ids, 0, 0);                            /* [2,3] */
    x = ir_build_binary(&b, IR_OP_ADD, x, ir_build_slice(&b, p[P_POS], (int64_t[]){0, 0}, (int64_t[]){2, 3}, NULL));
    x = ir_build_binary_bcast(&b, IR_OP_MUL, ir_build_binary(&b, IR_OP_MUL, x, p[P_W]), p[P_GAIN]);
    IrId loss = ir_build_reduce(&b, IR_OP_REDUCE_SUM, ir_build_reduce(&b, IR_OP_REDUCE_SUM, x, 1, false), 0, false);
    CHECK(ir_builder_ok(&b));
    if (!ir_builder_ok(&b)) fprintf(stderr, "%s\n", b.err.msg);
    ir_graph_add_output(g, "loss", loss);
    g->train = *t;
    g->train.present = true;
    g->train.model = ir_graph_intern(g, "optim_test");
    return g;
}

static IrTrainConfig base_record(void) {
    IrTrainConfig t;
    ir_train_defaults(&t);
    t.present = true;
    return t;
}

/* --- named values and running the update graph --------------------------------------- */

typedef struct State {
    CcVar v[64];
    uint32_t n;
} State;

static CcVar *state_find(State *s, const char *name) {
    for (uint32_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].name, name) == 0) return &s->v[i];
    return NULL;
}

static void state_free(State *s) {
    for (uint32_t i = 0; i < s->n; i++) {
        ir_value_free(&s->v[i].value);
        free((char *)s->v[i].name);
    }
    s->n = 0;
}

/* Sets (or replaces) a named value: a copy of data[numel] as type. */
static void state_set(State *s, const char *name, IrType type, const double *data) {
    CcVar *v = state_find(s, name);
    if (!v) {
        LLMC_ASSERT(s->n < 64);
        v = &s->v[s->n++];
        v->name = llmc_xstrdup(name);
    } else {
        ir_value_free(&v->value);
    }
    ir_value_alloc(&v->value, type);
    if (data) memcpy(v->value.data, data, (size_t)ir_type_numel(&type) * sizeof(double));
}

static void state_scalar(State *s, const char *name, IrDtype dt, double x) { state_set(s, name, ir_type_scalar(dt), &x); }

static double *state_data(State *s, const char *name) {
    CcVar *v = state_find(s, name);
    CHECK(v != NULL);
    if (!v) fprintf(stderr, "  missing value '%s'\n", name);
    return v ? v->value.data : NULL;
}

/* The initial state of the update graph (cc_train_state_new) into s. */
static void state_init(State *s, const IrGraph *upd) {
    CcTrainStep step = {.micro = NULL, .update = (IrGraph *)upd};
    uint32_t n = 0;
    LlmcErr err = {0};
    CcVar *vars = cc_train_state_new(&step, &n, &err);
    CHECK(vars != NULL);
    if (!vars) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        state_set(s, vars[i].name, vars[i].value.type, vars[i].value.data);
        ir_value_free(&vars[i].value);
    }
    free(vars);
}

/* Runs the update graph on s (inputs by name) and stores every output back by name. */
static bool run_update(const IrGraph *upd, State *s, IrPrecision prec) {
    uint32_t n_in = ir_graph_inputs(upd, NULL);
    IrId ids[64];
    LLMC_ASSERT(n_in <= 64);
    ir_graph_inputs(upd, ids);
    IrValue in[64];
    for (uint32_t i = 0; i < n_in; i++) {
        const char *name = ir_graph_str(upd, upd->nodes[ids[i]].attrs.input.name);
        CcVar *v = state_find(s, name);
        if (!v) {
            fprintf(stderr, "run_update: no value for input '%s'\n", name);
            CHECK(v != NULL);
            return false;
        }
        in[i] = v->value;
    }
    IrValue out[64];
    LLMC_ASSERT(upd->n_outputs <= 64);
    IrInterpOptions opt = {.precision = prec, .ranks = 1};
    LlmcErr err = {0};
    bool ok = ir_interp_run(upd, &opt, in, out, &err);
    CHECK(ok);
    if (!ok) {
        fprintf(stderr, "run_update: %s\n", err.msg);
        return false;
    }
    for (uint32_t o = 0; o < upd->n_outputs; o++) {
        state_set(s, ir_graph_str(upd, upd->outputs[o].name), out[o].type, out[o].data);
        ir_value_free(&out[o]);
    }
    return true;
}

static bool has_input(const IrGraph *g, const char *name) { return ir_graph_find_input(g, name) != IR_ID_NONE; }

static bool has_output(const IrGraph *g, const char *name) {
    for (uint32_t o = 0; o < g->n_outputs; o++)
        if (strcmp(ir_graph_str(g, g->outputs[o].name), name) == 0) return true;
    return false;
}

static IrGraph *build_update(const IrTrainConfig *t) {
    IrGraph *fwd = make_forward(t);
    LlmcErr err = {0};
    IrGraph *upd = cc_train_update_build(fwd, &err);
    CHECK(upd != NULL);
    if (!upd) fprintf(stderr, "cc_train_update_build: %s\n", err.msg);
    ir_graph_free(fwd);
    return upd;
}

/* A deterministic "random" number in [-1, 1). */
static double rnd(uint32_t *s) {
    *s = *s * 1664525u + 1013904223u;
    return (double)(*s >> 8) / (double)(1u << 23) - 1.0;
}

/* Initial params and three steps of gradients (the SUM over `accumulate` micro-batches). */
typedef struct Problem {
    double p[NP][16];
    double grad[3][NP][16];
} Problem;

static void make_problem(Problem *pr, uint32_t seed, double gscale) {
    for (int i = 0; i < NP; i++)
        for (int64_t e = 0; e < pnumel(i); e++) {
            pr->p[i][e] = rnd(&seed);
            for (int k = 0; k < 3; k++) pr->grad[k][i][e] = gscale * rnd(&seed);
        }
}

static void set_params_and_grad(State *s, const Problem *pr, int k, bool params) {
    char name[64];
    for (int i = 0; i < NP; i++) {
        if (params) state_set(s, pnames[i], ptype(i), pr->p[i]);
        snprintf(name, sizeof name, "grad.%s", pnames[i]);
        state_set(s, name, ptype(i), pr->grad[k][i]);
    }
}

/* --- the interface per recipe --------------------------------------------------------- */

static void test_interface(void) {
    IrTrainConfig t = base_record();
    t.schedule = IR_SCHEDULE_COSINE;
    t.clip_grad_norm = 1;
    IrGraph *u = build_update(&t);
    if (!u) return;
    static const char *const adamw_in[] = {"w", "grad.w", "opt.m.w", "opt.v.w", "opt.m.pos_emb", "opt.v.gain", "step",
                                           "hp.lr", "hp.warmup", "hp.min_lr", "hp.steps", "hp.beta1", "hp.beta2",
                                           "hp.eps", "hp.weight_decay", "hp.clip"};
    for (size_t i = 0; i < sizeof adamw_in / sizeof *adamw_in; i++) {
        if (!has_input(u, adamw_in[i])) fprintf(stderr, "adamw: no input %s\n", adamw_in[i]);
        CHECK(has_input(u, adamw_in[i]));
    }
    CHECK(!has_input(u, "hp.momentum"));
    static const char *const outs[] = {"w", "gain", "emb", "pos_emb", "opt.m.w", "opt.v.emb", "step", "lr", "grad_norm"};
    for (size_t i = 0; i < sizeof outs / sizeof *outs; i++) CHECK(has_output(u, outs[i]));
    CHECK_EQ_INT(u->n_outputs, 4 + 4 + 4 + 3);
    /* roles: params param, gradients data, the rest state */
    CHECK_EQ_INT(u->nodes[ir_graph_find_input(u, "w")].attrs.input.role, IR_ROLE_PARAM);
    CHECK_EQ_INT(u->nodes[ir_graph_find_input(u, "grad.w")].attrs.input.role, IR_ROLE_DATA);
    CHECK_EQ_INT(u->nodes[ir_graph_find_input(u, "opt.v.w")].attrs.input.role, IR_ROLE_STATE);
    CHECK_EQ_INT(u->nodes[ir_graph_find_input(u, "hp.lr")].attrs.input.role, IR_ROLE_STATE);
    char tb[IR_TYPE_STR_MAX];
    CHECK_STR(ir_type_format(&u->nodes[ir_graph_find_input(u, "step")].type, tb, sizeof tb), "i32[]");
    CHECK_STR(ir_type_format(&u->nodes[ir_graph_find_input(u, "hp.steps")].type, tb, sizeof tb), "f32[]");
    CHECK(u->train.present);
    CHECK_STR(ir_graph_str(u, u->train.model), "optim_test");
    CHECK_STR(ir_graph_name(u), "update");

    /* The .llir text round-trips. */
    LlmcBuf a = {0}, b = {0};
    ir_print_graph(u, &a);
    LlmcSource src = {"update.llir", a.data, a.len};
    IrModule m = {0};
    LlmcDiags d = {0};
    bool ok = ir_parse_module(&src, &m, &d);
    CHECK(ok);
    if (!ok) llmc_diags_print(&d, stderr);
    if (ok) {
        ir_print_graph(m.graphs[0], &b);
        CHECK_STR(b.data, a.data);
    }
    ir_module_free(&m);
    llmc_diags_free(&d);
    llmc_buf_free(&a);
    llmc_buf_free(&b);
    ir_graph_free(u);

    /* SGD, constant schedule, no clipping: no second moment, no betas, no min_lr. */
    t = base_record();
    t.optimizer = IR_OPTIMIZER_SGD;
    t.momentum = 0.9;
    u = build_update(&t);
    if (!u) return;
    CHECK(has_input(u, "opt.m.w") && !has_input(u, "opt.v.w"));
    CHECK(has_input(u, "hp.momentum") && has_input(u, "hp.lr") && has_input(u, "hp.warmup"));
    CHECK(!has_input(u, "hp.beta1") && !has_input(u, "hp.eps") && !has_input(u, "hp.min_lr"));
    CHECK(!has_input(u, "hp.steps") && !has_input(u, "hp.clip"));
    CHECK(!has_output(u, "opt.v.w"));
    CHECK_EQ_INT(u->n_outputs, 4 + 4 + 3);
    ir_graph_free(u);

    /* A param named like the step's own values is refused with its name. */
    const char *const clashes[] = {"lr", "step", "grad_norm", "hp.x", "opt.m.w", "grad.w"};
    for (size_t i = 0; i < sizeof clashes / sizeof *clashes; i++) {
        IrGraph *g = ir_graph_new("forward");
        IrBuilder bd;
        ir_builder_init(&bd, g);
        IrId w = ir_build_input(&bd, IR_ROLE_PARAM, clashes[i], ir_type_make(IR_DTYPE_F32, 1, (int64_t[]){2}));
        ir_graph_add_output(g, "loss", ir_build_reduce(&bd, IR_OP_REDUCE_SUM, w, 0, false));
        g->train = base_record();
        LlmcErr e = {0};
        CHECK(cc_train_update_build(g, &e) == NULL);
        CHECK(strstr(e.msg, clashes[i]) != NULL && strstr(e.msg, "uses for its own") != NULL);
        ir_graph_free(g);
    }

    /* No record: an error, not a guess. */
    IrGraph *fwd = make_forward(&t);
    fwd->train.present = false;
    LlmcErr err = {0};
    CHECK(cc_train_update_build(fwd, &err) == NULL);
    CHECK(strstr(err.msg, "no train record") != NULL);
    ir_graph_free(fwd);
}

/* cc_train_param_decays and cc_train_state_new's values. */
static void test_decay_mask_and_state(void) {
    IrTrainConfig t = base_record();
    bool want[4][NP] = {
        /* none, decay_1d, decay_embeddings, both */
        {true, false, false, false},
        {true, true, false, false},
        {true, false, true, true},
        {true, true, true, true},
    };
    for (int c = 0; c < 4; c++) {
        t.decay_1d = c & 1;
        t.decay_embeddings = c & 2;
        IrGraph *fwd = make_forward(&t);
        for (int i = 0; i < NP; i++) {
            bool got = cc_train_param_decays(fwd, ir_graph_find_input(fwd, pnames[i]));
            if (got != want[c][i]) fprintf(stderr, "case %d param %s: decays %d\n", c, pnames[i], got);
            CHECK(got == want[c][i]);
        }
        ir_graph_free(fwd);
    }

    t = base_record();
    t.schedule = IR_SCHEDULE_LINEAR;
    t.lr = 0.25;
    t.min_lr = 0.125;
    t.warmup = 7;
    t.steps = 70;
    t.clip_grad_norm = 2.5;
    IrGraph *u = build_update(&t);
    if (!u) return;
    State s = {0};
    state_init(&s, u);
    double *x;
    if ((x = state_data(&s, "hp.lr"))) CHECK(x[0] == 0.25);
    if ((x = state_data(&s, "hp.min_lr"))) CHECK(x[0] == 0.125);
    if ((x = state_data(&s, "hp.warmup"))) CHECK(x[0] == 7);
    if ((x = state_data(&s, "hp.steps"))) CHECK(x[0] == 70);
    if ((x = state_data(&s, "hp.clip"))) CHECK(x[0] == 2.5);
    if ((x = state_data(&s, "hp.beta2"))) CHECK(x[0] == 0.95);
    if ((x = state_data(&s, "step"))) CHECK(x[0] == 0);
    if ((x = state_data(&s, "opt.v.emb"))) CHECK(x[0] == 0 && x[11] == 0);
    CHECK(state_find(&s, "w") == NULL); /* params are not state */
    CHECK_EQ_INT(s.n, 4 * 2 + 1 + 9);
    state_free(&s);
    ir_graph_free(u);
}

/* --- AdamW by hand -------------------------------------------------------------------- */

static void adamw_case(double wd, bool decay_1d, bool decay_emb, int accumulate, IrPrecision prec, double tol) {
    IrTrainConfig t = base_record();
    t.lr = 0.01;
    t.beta1 = 0.8;
    t.beta2 = 0.99;
    t.eps = 1e-3; /* large enough that its placement shows */
    t.weight_decay = wd;
    t.decay_1d = decay_1d;
    t.decay_embeddings = decay_emb;
    t.accumulate = accumulate;
    IrGraph *u = build_update(&t);
    if (!u) return;
    Problem pr;
    make_problem(&pr, 42, 0.5);
    State s = {0};
    state_init(&s, u);
    set_params_and_grad(&s, &pr, 0, true);

    /* the reference, in double */
    double p[NP][16], m[NP][16] = {{0}}, v[NP][16] = {{0}};
    memcpy(p, pr.p, sizeof p);
    bool decays[NP] = {true, decay_1d, decay_emb, decay_emb};
    for (int k = 0; k < 3; k++) {
        double b1 = t.beta1, b2 = t.beta2, lr = t.lr;
        for (int i = 0; i < NP; i++)
            for (int64_t e = 0; e < pnumel(i); e++) {
                double g = pr.grad[k][i][e] / accumulate;
                m[i][e] = b1 * m[i][e] + (1 - b1) * g;
                v[i][e] = b2 * v[i][e] + (1 - b2) * g * g;
                double mhat = m[i][e] / (1 - pow(b1, k + 1)), vhat = v[i][e] / (1 - pow(b2, k + 1));
                double old = p[i][e];
                p[i][e] = old - lr * (mhat / (sqrt(vhat) + t.eps));
                if (decays[i]) p[i][e] -= lr * wd * old;
            }
        if (k) set_params_and_grad(&s, &pr, k, false);
        if (!run_update(u, &s, prec)) break;
        double *step = state_data(&s, "step"), *lr_out = state_data(&s, "lr");
        if (step) CHECK_EQ_INT(step[0], k + 1);
        if (lr_out) CHECK_CLOSE(lr_out[0], lr, tol);
        char name[64];
        for (int i = 0; i < NP; i++) {
            double *got = state_data(&s, pnames[i]);
            snprintf(name, sizeof name, "opt.m.%s", pnames[i]);
            double *gm = state_data(&s, name);
            snprintf(name, sizeof name, "opt.v.%s", pnames[i]);
            double *gv = state_data(&s, name);
            if (!got || !gm || !gv) continue;
            for (int64_t e = 0; e < pnumel(i); e++) {
                CHECK_CLOSE(got[e], p[i][e], tol);
                CHECK_CLOSE(gm[e], m[i][e], tol);
                CHECK_CLOSE(gv[e], v[i][e], tol);
            }
        }
    }
    state_free(&s);
    ir_graph_free(u);
}

static void test_adamw(void) {
    adamw_case(0.1, false, false, 1, IR_PRECISION_F64, 1e-13); /* decay on w only */
    adamw_case(0.0, false, false, 1, IR_PRECISION_F64, 1e-13); /* no decay */
    adamw_case(0.3, true, false, 1, IR_PRECISION_F64, 1e-13);  /* decay_1d: gain too */
    adamw_case(0.3, false, true, 1, IR_PRECISION_F64, 1e-13);  /* decay_embeddings: emb, pos_emb too */
    adamw_case(0.1, false, false, 4, IR_PRECISION_F64, 1e-13); /* grad = sum of 4 micro-batches */
    adamw_case(0.1, false, false, 3, IR_PRECISION_F32, 2e-5);  /* f32 arithmetic: close, not equal */
}

/* Decay must actually differ between a decayed and a masked param: the same param
 * values and gradients give different results with decay_1d on and off. */
static void test_decay_visible(void) {
    double gain_off[3] = {0}, gain_on[3] = {0};
    for (int on = 0; on < 2; on++) {
        IrTrainConfig t = base_record();
        t.weight_decay = 0.5;
        t.lr = 0.1;
        t.decay_1d = on;
        IrGraph *u = build_update(&t);
        if (!u) return;
        Problem pr;
        make_problem(&pr, 7, 1);
        State s = {0};
        state_init(&s, u);
        set_params_and_grad(&s, &pr, 0, true);
        run_update(u, &s, IR_PRECISION_F64);
        double *g = state_data(&s, "gain");
        if (g) memcpy(on ? gain_on : gain_off, g, sizeof gain_on);
        /* decayed by exactly lr * wd * p relative to the masked result */
        if (on)
            for (int e = 0; e < 3; e++) CHECK_CLOSE(gain_off[e] - gain_on[e], 0.1 * 0.5 * pr.p[P_GAIN][e], 1e-14);
        state_free(&s);
        ir_graph_free(u);
    }
    CHECK(gain_on[0] != gain_off[0]);
}

/* --- SGD with momentum by hand -------------------------------------------------------- */

static void test_sgd(void) {
    IrTrainConfig t = base_record();
    t.optimizer = IR_OPTIMIZER_SGD;
    t.lr = 0.1;
    t.momentum = 0.9;
    t.weight_decay = 0.05; /* a record may carry decay for sgd (the .llm sgd() does not) */
    t.accumulate = 2;
    IrGraph *u = build_update(&t);
    if (!u) return;
    Problem pr;
    make_problem(&pr, 9, 2);
    State s = {0};
    state_init(&s, u);
    set_params_and_grad(&s, &pr, 0, true);
    double p[NP][16], buf[NP][16] = {{0}};
    memcpy(p, pr.p, sizeof p);
    bool decays[NP] = {true, false, false, false};
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < NP; i++)
            for (int64_t e = 0; e < pnumel(i); e++) {
                double g = pr.grad[k][i][e] / 2;
                if (decays[i]) g += t.weight_decay * p[i][e];
                buf[i][e] = t.momentum * buf[i][e] + g;
                p[i][e] -= t.lr * buf[i][e];
            }
        if (k) set_params_and_grad(&s, &pr, k, false);
        if (!run_update(u, &s, IR_PRECISION_F64)) break;
        char name[64];
        for (int i = 0; i < NP; i++) {
            double *got = state_data(&s, pnames[i]);
            snprintf(name, sizeof name, "opt.m.%s", pnames[i]);
            double *gb = state_data(&s, name);
            if (!got || !gb) continue;
            for (int64_t e = 0; e < pnumel(i); e++) {
                CHECK_CLOSE(got[e], p[i][e], 1e-14);
                CHECK_CLOSE(gb[e], buf[i][e], 1e-14);
            }
        }
    }
    state_free(&s);
    ir_graph_free(u);
}

/* --- schedules ------------------------------------------------------------------------ */

static double closed_form(IrSchedule kind, double lr, double min_lr, double warmup, double steps, double t) {
    if (t < warmup) return lr * (t + 1) / warmup;
    if (kind == IR_SCHEDULE_CONSTANT) return lr;
    double span = steps - warmup > 1 ? steps - warmup : 1;
    double p = (t - warmup) / span;
    p = p < 0 ? 0 : p > 1 ? 1 : p;
    if (kind == IR_SCHEDULE_COSINE) return min_lr + 0.5 * (lr - min_lr) * (1 + cos(3.14159265358979323846 * p));
    return lr + (min_lr - lr) * p;
}

static double lr_at(const IrGraph *u, State *s, int64_t step) {
    state_scalar(s, "step", IR_DTYPE_I32, (double)step);
    if (!run_update(u, s, IR_PRECISION_F64)) return NAN;
    double *lr = state_data(s, "lr");
    return lr ? lr[0] : NAN;
}

static void test_schedules(void) {
    const IrSchedule kinds[] = {IR_SCHEDULE_CONSTANT, IR_SCHEDULE_COSINE, IR_SCHEDULE_LINEAR};
    const int64_t steps_at[] = {0, 9, 10, 11, 55, 99, 100, 150, 100000};
    for (size_t k = 0; k < 3; k++) {
        IrTrainConfig t = base_record();
        t.schedule = kinds[k];
        t.lr = 1e-3;
        t.min_lr = kinds[k] == IR_SCHEDULE_CONSTANT ? 0 : 1e-4;
        t.warmup = 10;
        t.steps = 100;
        IrGraph *u = build_update(&t);
        if (!u) return;
        Problem pr;
        memset(&pr, 0, sizeof pr); /* zero gradients: the params do not matter */
        State s = {0};
        state_init(&s, u);
        set_params_and_grad(&s, &pr, 0, true);
        for (size_t i = 0; i < sizeof steps_at / sizeof *steps_at; i++) {
            double want = closed_form(kinds[k], 1e-3, t.min_lr, 10, 100, (double)steps_at[i]);
            double got = lr_at(u, &s, steps_at[i]);
            if (!(fabs(got - want) <= 1e-7 * want))
                fprintf(stderr, "schedule %zu at step %lld: %.17g vs %.17g\n", k, (long long)steps_at[i], got, want);
            /* f32 constants (pi, 0.5) and f32 hp inputs cost ~1e-7 relative in f64 mode */
            CHECK(fabs(got - want) <= 1e-7 * want);
        }
        /* landmarks: the first step is lr/warmup, step warmup the peak, the end min_lr */
        CHECK_CLOSE(lr_at(u, &s, 0), 1e-4, 1e-9);
        CHECK_CLOSE(lr_at(u, &s, 10), 1e-3, 1e-9);
        CHECK_CLOSE(lr_at(u, &s, 100), kinds[k] == IR_SCHEDULE_CONSTANT ? 1e-3 : 1e-4, 1e-9);
        /* the schedule's lengths are inputs too */
        state_scalar(&s, "hp.warmup", IR_DTYPE_F32, 0);
        CHECK_CLOSE(lr_at(u, &s, 0), 1e-3, 1e-9); /* no warmup, no division by zero */
        if (kinds[k] != IR_SCHEDULE_CONSTANT) {
            state_scalar(&s, "hp.steps", IR_DTYPE_F32, 20);
            CHECK_CLOSE(lr_at(u, &s, 10), closed_form(kinds[k], 1e-3, 1e-4, 0, 20, 10), 1e-7);
            CHECK_CLOSE(lr_at(u, &s, 20), 1e-4, 1e-9);
        }
        state_free(&s);
        ir_graph_free(u);
    }
    /* warmup == steps: the peak at `steps`, min_lr after */
    IrTrainConfig t = base_record();
    t.schedule = IR_SCHEDULE_COSINE;
    t.lr = 1;
    t.min_lr = 0.5;
    t.warmup = t.steps = 4;
    IrGraph *u = build_update(&t);
    if (!u) return;
    Problem pr;
    memset(&pr, 0, sizeof pr);
    State s = {0};
    state_init(&s, u);
    set_params_and_grad(&s, &pr, 0, true);
    CHECK_CLOSE(lr_at(u, &s, 3), 1, 1e-12);
    CHECK_CLOSE(lr_at(u, &s, 4), 1, 1e-12);
    CHECK_CLOSE(lr_at(u, &s, 5), 0.5, 1e-12);
    state_free(&s);
    ir_graph_free(u);
}

/* --- clipping ------------------------------------------------------------------------- */

/* SGD, lr 1, no momentum, no decay: the new params are p - clipped mean gradient. */
static void clip_case(double scale, int accumulate) {
    IrTrainConfig t = base_record();
    t.optimizer = IR_OPTIMIZER_SGD;
    t.lr = 1;
    t.weight_decay = 0;
    t.clip_grad_norm = 1.0;
    t.accumulate = accumulate;
    IrGraph *u = build_update(&t);
    if (!u) return;
    Problem pr;
    make_problem(&pr, 3, 1);
    /* the mean gradient's global norm, params in order */
    double sq = 0;
    for (int i = 0; i < NP; i++)
        for (int64_t e = 0; e < pnumel(i); e++) {
            pr.grad[0][i][e] *= scale;
            double g = pr.grad[0][i][e] / accumulate;
            sq += g * g;
        }
    double norm = sqrt(sq), factor = fmin(1.0, 1.0 / (norm + 1e-6));
    State s = {0};
    state_init(&s, u);
    set_params_and_grad(&s, &pr, 0, true);
    if (run_update(u, &s, IR_PRECISION_F64)) {
        double *gn = state_data(&s, "grad_norm");
        if (gn) CHECK_CLOSE(gn[0], norm, 1e-13); /* the PRE-clip norm */
        for (int i = 0; i < NP; i++) {
            double *got = state_data(&s, pnames[i]);
            for (int64_t e = 0; got && e < pnumel(i); e++)
                CHECK_CLOSE(got[e], pr.p[i][e] - pr.grad[0][i][e] / accumulate * factor, 1e-13);
        }
        /* above the threshold the applied update has norm 1 (up to the epsilon) */
        if (norm > 1) {
            double usq = 0;
            for (int i = 0; i < NP; i++) {
                double *got = state_data(&s, pnames[i]);
                for (int64_t e = 0; got && e < pnumel(i); e++) usq += (pr.p[i][e] - got[e]) * (pr.p[i][e] - got[e]);
            }
            CHECK_CLOSE(sqrt(usq), 1.0, 1e-5);
        }
    }
    /* the threshold is an input: raise it above the norm and the update is unclipped */
    state_scalar(&s, "hp.clip", IR_DTYPE_F32, 1e6);
    set_params_and_grad(&s, &pr, 0, true);
    if (run_update(u, &s, IR_PRECISION_F64)) {
        double *got = state_data(&s, "w");
        for (int64_t e = 0; got && e < pnumel(P_W); e++)
            CHECK_CLOSE(got[e], pr.p[P_W][e] - pr.grad[0][P_W][e] / accumulate, 1e-13);
    }
    state_free(&s);
    ir_graph_free(u);
}

static void test_clipping(void) {
    clip_case(5.0, 1);  /* well above 1 */
    clip_case(0.05, 1); /* below: factor 1 */
    clip_case(5.0, 4);  /* the norm of the mean, not of the sum */
    /* no clipping in the record: grad_norm is still an output, the update is unclipped */
    IrTrainConfig t = base_record();
    t.optimizer = IR_OPTIMIZER_SGD;
    t.lr = 1;
    t.weight_decay = 0;
    IrGraph *u = build_update(&t);
    if (!u) return;
    CHECK(!has_input(u, "hp.clip"));
    Problem pr;
    make_problem(&pr, 5, 100);
    State s = {0};
    state_init(&s, u);
    set_params_and_grad(&s, &pr, 0, true);
    if (run_update(u, &s, IR_PRECISION_F64)) {
        double sq = 0;
        for (int i = 0; i < NP; i++)
            for (int64_t e = 0; e < pnumel(i); e++) sq += pr.grad[0][i][e] * pr.grad[0][i][e];
        double *gn = state_data(&s, "grad_norm"), *w = state_data(&s, "w");
        if (gn) CHECK_CLOSE(gn[0], sqrt(sq), 1e-13);
        if (w) CHECK_CLOSE(w[0], pr.p[P_W][0] - pr.grad[0][P_W][0], 1e-13);
    }
    state_free(&s);
    ir_graph_free(u);
}

/* --- hyperparameters are inputs ------------------------------------------------------- */

static void test_hp_inputs(void) {
    IrTrainConfig t = base_record();
    t.lr = 0.01;
    t.weight_decay = 0.1;
    IrGraph *u = build_update(&t);
    if (!u) return;
    Problem pr;
    make_problem(&pr, 11, 1);
    double delta[2][6];
    const double lrs[2] = {0.01, 0.03};
    for (int r = 0; r < 2; r++) {
        State s = {0};
        state_init(&s, u);
        state_scalar(&s, "hp.lr", IR_DTYPE_F32, lrs[r]);
        set_params_and_grad(&s, &pr, 0, true);
        run_update(u, &s, IR_PRECISION_F64);
        double *w = state_data(&s, "w"), *lr = state_data(&s, "lr");
        if (lr) CHECK_CLOSE(lr[0], lrs[r], 1e-7);
        for (int e = 0; w && e < 6; e++) delta[r][e] = w[e] - pr.p[P_W][e];
        state_free(&s);
    }
    /* AdamW's first step is -lr (g / (|g| + eps) + wd p): linear in lr */
    for (int e = 0; e < 6; e++) CHECK_CLOSE(delta[1][e], 3 * delta[0][e], 1e-12);
    /* and it matches the hand formula with that lr (f64 mode: inputs are not rounded) */
    for (int e = 0; e < 6; e++) {
        double g = pr.grad[0][P_W][e], m = (1 - 0.9) * g, v = (1 - 0.95) * g * g;
        double upd = (m / (1 - 0.9)) / (sqrt(v / (1 - 0.95)) + 1e-8);
        CHECK_CLOSE(delta[1][e], -0.03 * upd - 0.03 * 0.1 * pr.p[P_W][e], 1e-12);
    }
    ir_graph_free(u);
}

int main(void) {
    test_interface();
    test_decay_mask_and_state();
    test_adamw();
    test_decay_visible();
    test_sgd();
    test_schedules();
    test_clipping();
    test_hp_inputs();
    TEST_MAIN();
}
