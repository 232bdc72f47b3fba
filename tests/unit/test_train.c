/* tests/unit/test_train.c — the training-config record (IrTrainConfig): its defaults,
 * the range checks at their boundaries, deep copies, and the .llir round trip of a
 * record built in code (f64 fields bit-exact). The text cases a file can hold live in
 * tests/golden/train.llir. */
#include "ir.h"
#include "test.h"

#include <stdint.h>
#include <stdlib.h>

/* Bitwise equality, so -0 vs 0 and NaN payloads count as different. */
static bool same_f64(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

static void test_defaults(void) {
    IrTrainConfig t;
    memset(&t, 0xab, sizeof t); /* every field must be written */
    ir_train_defaults(&t);
    CHECK(!t.present);
    CHECK_EQ_INT(t.model, 0);
    CHECK_EQ_INT(t.batch, 1);
    CHECK_EQ_INT(t.seq, 1);
    CHECK_EQ_INT(t.accumulate, 1);
    CHECK_EQ_INT(t.steps, 1000);
    CHECK_EQ_INT(t.seed, 0);
    CHECK_EQ_INT(t.optimizer, IR_OPTIMIZER_ADAMW);
    CHECK(same_f64(t.lr, 3e-4));
    CHECK(same_f64(t.beta1, 0.9));
    CHECK(same_f64(t.beta2, 0.95));
    CHECK(same_f64(t.eps, 1e-8));
    CHECK(same_f64(t.weight_decay, 0.1));
    CHECK(same_f64(t.momentum, 0.0));
    CHECK_EQ_INT(t.schedule, IR_SCHEDULE_CONSTANT);
    CHECK_EQ_INT(t.warmup, 0);
    CHECK(same_f64(t.min_lr, 0.0));
    CHECK(same_f64(t.clip_grad_norm, 0.0));
    CHECK(!t.decay_1d);
    CHECK(!t.decay_embeddings);
    CHECK_EQ_INT(t.remat, IR_REMAT_NONE);
    CHECK_EQ_INT(t.precision, IR_TRAIN_FP32);
    LlmcErr err = {0};
    CHECK(ir_train_check(&t, &err));
    CHECK(!err.set);

    /* A new graph starts with the defaults and no record. */
    IrGraph *g = ir_graph_new("g");
    CHECK(!g->train.present);
    CHECK_EQ_INT(g->train.steps, 1000);
    CHECK(same_f64(g->train.lr, 3e-4));
    ir_graph_free(g);

    /* The schema is sorted by name (the print order), every field required. */
    const IrAttrSchema *s = ir_train_schema();
    CHECK_EQ_INT(s->count, 21);
    for (uint32_t i = 0; i < s->count; i++) {
        CHECK(s->fields[i].required);
        if (i) CHECK(strcmp(s->fields[i - 1].name, s->fields[i].name) < 0);
    }
}

/* One modification of the defaults, and whether ir_train_check accepts it; a rejection
 * must name the field. */
typedef struct Case {
    const char *what;
    IrTrainConfig t;
    bool ok;
    const char *field; /* in the message when !ok */
} Case;

static void check_case(const Case *c) {
    LlmcErr err = {0};
    bool ok = ir_train_check(&c->t, &err);
    if (ok != c->ok) fprintf(stderr, "case %s: ir_train_check gave %d (%s)\n", c->what, ok, err.msg);
    CHECK(ok == c->ok);
    if (!c->ok && !ok) {
        if (!strstr(err.msg, c->field) || strncmp(err.msg, "train: ", 7) != 0)
            fprintf(stderr, "case %s: message '%s' should start 'train: ' and name %s\n", c->what, err.msg, c->field);
        CHECK(strstr(err.msg, c->field) != NULL);
        CHECK(strncmp(err.msg, "train: ", 7) == 0);
    }
}

static void test_check_boundaries(void) {
    IrTrainConfig d;
    ir_train_defaults(&d);
    Case cases[64];
    int n = 0;
#define CASE(WHAT, OK, FIELD, ASSIGN)                                                  \
    do {                                                                               \
        cases[n] = (Case){WHAT, d, OK, FIELD};                                         \
        IrTrainConfig *t = &cases[n].t;                                                \
        ASSIGN;                                                                        \
        n++;                                                                           \
    } while (0)
    CASE("batch 1", true, "", t->batch = 1);
    CASE("batch 0", false, "batch", t->batch = 0);
    CASE("batch -1", false, "batch", t->batch = -1);
    CASE("seq 0", false, "seq", t->seq = 0);
    CASE("accumulate 0", false, "accumulate", t->accumulate = 0);
    CASE("steps 0", false, "steps", t->steps = 0);
    CASE("steps 1", true, "", (t->steps = 1, t->warmup = 1));
    CASE("seed 2^32-1", true, "", t->seed = UINT32_MAX);
    CASE("seed 2^32", false, "seed", t->seed = (int64_t)UINT32_MAX + 1);
    CASE("lr inf", false, "lr", t->lr = INFINITY);
    CASE("clip inf", false, "clip_grad_norm", t->clip_grad_norm = INFINITY);
    CASE("weight_decay inf", false, "weight_decay", t->weight_decay = INFINITY);
    CASE("seed -1", false, "seed", t->seed = -1);
    CASE("lr tiny", true, "", t->lr = 5e-324);
    CASE("lr 0", false, "lr", (t->lr = 0, t->min_lr = 0));
    CASE("lr -0", false, "lr", (t->lr = -0.0, t->min_lr = 0));
    CASE("lr -1", false, "lr", t->lr = -1);
    CASE("lr nan", false, "lr", t->lr = NAN);
    CASE("beta1 0", true, "", t->beta1 = 0);
    CASE("beta1 below 1", true, "", t->beta1 = nextafter(1.0, 0.0));
    CASE("beta1 1", false, "beta1", t->beta1 = 1);
    CASE("beta1 -tiny", false, "beta1", t->beta1 = -5e-324);
    CASE("beta1 nan", false, "beta1", t->beta1 = NAN);
    CASE("beta2 below 1", true, "", t->beta2 = nextafter(1.0, 0.0));
    CASE("beta2 1", false, "beta2", t->beta2 = 1);
    CASE("beta2 -0.5", false, "beta2", t->beta2 = -0.5);
    CASE("eps tiny", true, "", t->eps = 5e-324);
    CASE("eps 0", false, "eps", t->eps = 0);
    CASE("eps nan", false, "eps", t->eps = NAN);
    CASE("weight_decay 0", true, "", t->weight_decay = 0);
    CASE("weight_decay -tiny", false, "weight_decay", t->weight_decay = -5e-324);
    CASE("momentum 0.9", true, "", t->momentum = 0.9);
    CASE("momentum 1", false, "momentum", t->momentum = 1);
    CASE("warmup = steps", true, "", t->warmup = t->steps);
    CASE("warmup = steps + 1", false, "warmup", t->warmup = t->steps + 1);
    CASE("warmup -1", false, "warmup", t->warmup = -1);
    CASE("min_lr = lr", true, "", t->min_lr = t->lr);
    CASE("min_lr above lr", false, "min_lr", t->min_lr = nextafter(t->lr, 1.0));
    CASE("min_lr -tiny", false, "min_lr", t->min_lr = -5e-324);
    CASE("min_lr nan", false, "min_lr", t->min_lr = NAN);
    CASE("clip 0", true, "", t->clip_grad_norm = 0);
    CASE("clip 1", true, "", t->clip_grad_norm = 1);
    CASE("clip -1", false, "clip_grad_norm", t->clip_grad_norm = -1);
    CASE("clip nan", false, "clip_grad_norm", t->clip_grad_norm = NAN);
    CASE("sgd bf16 layers linear", true, "",
         (t->optimizer = IR_OPTIMIZER_SGD, t->precision = IR_TRAIN_BF16, t->remat = IR_REMAT_LAYERS,
          t->schedule = IR_SCHEDULE_LINEAR));
    CASE("optimizer out of range", false, "enum", t->optimizer = IR_OPTIMIZER_COUNT);
    CASE("schedule out of range", false, "enum", t->schedule = IR_SCHEDULE_COUNT);
    CASE("remat invalid (0)", false, "enum", t->remat = IR_REMAT_INVALID);
    CASE("precision invalid (0)", false, "enum", t->precision = IR_TRAIN_INVALID);
#undef CASE
    for (int i = 0; i < n; i++) check_case(&cases[i]);
}

/* A record with every field off its default, so a copy that drops one shows. */
static void set_record(IrGraph *g) {
    IrTrainConfig *t = &g->train;
    t->present = true;
    t->model = ir_graph_intern(g, "gpt2-small");
    t->batch = 8;
    t->seq = 1024;
    t->accumulate = 4;
    t->steps = 5000;
    t->seed = 1234;
    t->optimizer = IR_OPTIMIZER_ADAMW;
    t->lr = 3e-4;
    t->beta1 = 0.9;
    t->beta2 = 0.95;
    t->eps = 1e-8;
    t->weight_decay = 0.1 + 0.2; /* 0.30000000000000004: needs all 17 digits */
    t->momentum = 0.0;
    t->schedule = IR_SCHEDULE_COSINE;
    t->warmup = 100;
    t->min_lr = 3e-5;
    t->clip_grad_norm = 1.0;
    t->decay_1d = true; /* the two bools differ, so a swap shows */
    t->decay_embeddings = false;
    t->remat = IR_REMAT_LAYERS;
    t->precision = IR_TRAIN_BF16;
}

static void check_same_record(const IrGraph *a, const IrGraph *b) {
    const IrTrainConfig *x = &a->train, *y = &b->train;
    CHECK(x->present == y->present);
    CHECK_STR(ir_graph_str(a, x->model), ir_graph_str(b, y->model));
    CHECK_EQ_INT(x->batch, y->batch);
    CHECK_EQ_INT(x->seq, y->seq);
    CHECK_EQ_INT(x->accumulate, y->accumulate);
    CHECK_EQ_INT(x->steps, y->steps);
    CHECK_EQ_INT(x->seed, y->seed);
    CHECK_EQ_INT(x->optimizer, y->optimizer);
    CHECK(same_f64(x->lr, y->lr));
    CHECK(same_f64(x->beta1, y->beta1));
    CHECK(same_f64(x->beta2, y->beta2));
    CHECK(same_f64(x->eps, y->eps));
    CHECK(same_f64(x->weight_decay, y->weight_decay));
    CHECK(same_f64(x->momentum, y->momentum));
    CHECK_EQ_INT(x->schedule, y->schedule);
    CHECK_EQ_INT(x->warmup, y->warmup);
    CHECK(same_f64(x->min_lr, y->min_lr));
    CHECK(same_f64(x->clip_grad_norm, y->clip_grad_norm));
    CHECK(x->decay_1d == y->decay_1d);
    CHECK(x->decay_embeddings == y->decay_embeddings);
    CHECK_EQ_INT(x->remat, y->remat);
    CHECK_EQ_INT(x->precision, y->precision);
}

static IrGraph *build_graph(void) {
    IrGraph *g = ir_graph_new("forward");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", ir_type_make(IR_DTYPE_F32, 1, (int64_t[]){4}));
    IrId y = ir_build_unary(&b, IR_OP_TANH, x);
    CHECK(ir_builder_ok(&b));
    ir_graph_add_output(g, "y", y);
    return g;
}

static void test_clone(void) {
    IrGraph *g = build_graph();
    set_record(g);
    IrGraph *c = ir_graph_clone(g);
    check_same_record(g, c);
    ir_graph_free(g); /* the clone owns its strings */
    CHECK_STR(ir_graph_str(c, c->train.model), "gpt2-small");
    LlmcDiags d = {0};
    CHECK(ir_verify(c, &d, NULL, NULL));
    llmc_diags_free(&d);
    ir_graph_free(c);
}

static char *print_graph(const IrGraph *g) {
    LlmcBuf b = {0};
    ir_print_graph(g, &b);
    return b.data;
}

static void test_round_trip(void) {
    IrGraph *g = build_graph();
    /* No record, no line. */
    char *p0 = print_graph(g);
    CHECK(strstr(p0, "train") == NULL);
    free(p0);

    set_record(g);
    char *p1 = print_graph(g);
    CHECK_STR(p1, "graph @forward {\n"
                  "  train {accumulate=4, batch=8, beta1=0.9, beta2=0.95, clip_grad_norm=1, decay_1d=true, "
                  "decay_embeddings=false, eps=1e-8, lr=0.0003, min_lr=3e-5, model=\"gpt2-small\", momentum=0, "
                  "optimizer=adamw, precision=bf16, remat=layers, schedule=cosine, seed=1234, seq=1024, steps=5000, "
                  "warmup=100, weight_decay=0.30000000000000004}\n"
                  "  %0 = input() {name=\"x\", role=data} : f32[4]\n"
                  "  %1 = tanh(%0) : f32[4]\n"
                  "  output \"y\" = %1\n"
                  "}\n");
    LlmcSource src = {"<built>", p1, strlen(p1)};
    IrModule m = {0};
    LlmcDiags d = {0};
    bool ok = ir_parse_module(&src, &m, &d);
    CHECK(ok);
    if (!ok) llmc_diags_print(&d, stderr);
    if (ok) {
        CHECK_EQ_INT(m.n_graphs, 1);
        check_same_record(g, m.graphs[0]);
        char *p2 = print_graph(m.graphs[0]);
        CHECK_STR(p2, p1);
        free(p2);
    }
    ir_module_free(&m);
    llmc_diags_free(&d);
    free(p1);
    ir_graph_free(g);
}

/* The verifier checks records of graphs built in memory (no location) and points at
 * the record's line in a parsed text. */
static void test_verify(void) {
    IrGraph *g = build_graph();
    set_record(g);
    g->train.lr = -1;
    g->train.min_lr = 0;
    LlmcDiags d = {0};
    CHECK(!ir_verify(g, &d, NULL, NULL));
    CHECK_EQ_INT(d.errors, 1);
    if (d.count) {
        CHECK_STR(d.items[0].msg, "graph @forward: train: lr must be > 0, got -1");
        CHECK_EQ_INT(d.items[0].line, 0);
    }
    llmc_diags_free(&d);

    g->train.lr = 3e-4;
    g->train.model = g->strings.count; /* a dangling string id */
    CHECK(!ir_verify(g, &d, NULL, NULL));
    CHECK(d.count == 1 && strstr(d.items[0].msg, "model string that does not exist") != NULL);
    llmc_diags_free(&d);

    /* A record that is not present is not judged. */
    g->train.present = false;
    CHECK(ir_verify(g, &d, NULL, NULL));
    CHECK_EQ_INT(d.count, 0);
    llmc_diags_free(&d);

    /* From text: at the 'train' keyword. */
    g->train.present = true;
    g->train.model = ir_graph_intern(g, "m");
    g->train.warmup = 6000;
    char *p = print_graph(g);
    LlmcSource src = {"t.llir", p, strlen(p)};
    IrModule m = {0};
    CHECK(!ir_parse_module(&src, &m, &d));
    CHECK_EQ_INT(d.errors, 1);
    if (d.count) {
        CHECK_STR(d.items[0].msg, "graph @forward: train: warmup must be in [0, steps=5000], got 6000");
        CHECK_EQ_INT(d.items[0].line, 2);
        CHECK_EQ_INT(d.items[0].col, 3);
    }
    CHECK_EQ_INT(m.n_graphs, 0);
    ir_module_free(&m);
    llmc_diags_free(&d);
    free(p);
    ir_graph_free(g);
}

int main(void) {
    test_defaults();
    test_check_boundaries();
    test_clone();
    test_round_trip();
    test_verify();
    TEST_MAIN();
}
