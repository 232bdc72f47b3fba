/* tests/lower/test_lower_bf16.c — the train block's precision = bf16, lowered and built
 * into a training step, for every tiny model in models/ (-D precision=bf16) and a few
 * inline ones (composite attention, untied head with bias, MoE with bias):
 *
 *   @forward  every dense matmul (linear layers, the head, the MoE experts) reads
 *             cast<bf16> of its activation and of its weight (an f32 param, or the
 *             stack of the experts' params) and gives f32; the matmul count is fp32's;
 *             the only other matmuls are on f32 values: a composite attention's QK^T
 *             and PV, and the MoE router (kept f32); every cast is one of those operand
 *             casts (none in front of attention, norms, softmax or the loss); the
 *             attention op reads f32.
 *   step      @micro's gradients are f32 and typed like their params; the backward's
 *             dense matmuls are bf16 x bf16 too; @update has no bf16 value at all
 *             (master weights, optimizer state, accumulation in f32); the useful FLOPs
 *             equal fp32's.
 *   inference @logits, @prefill and @decode cast like @forward (so they compute what was
 *             trained); @decode's composite attention stays f32.
 *   values    on the reference interpreter, a small model's initial loss under bf16 is
 *             within 1% of fp32's, and so are the losses of five whole training steps
 *             (cc_step_interp) from the same @init (which bf16 leaves unchanged).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "frontend.h"
#include "test.h"

static const FeOverride bf16_override = {"precision", "bf16"};

typedef struct Lowered {
    FeProgram *p;
    IrModule m;
    LlmcDiags d;
    bool ok;
} Lowered;

static bool lower_text(const char *name, const char *text, bool bf16, Lowered *r) {
    memset(r, 0, sizeof *r);
    LlmcSource src = {name, text, strlen(text)};
    r->p = fe_parse(&src, &r->d);
    FeLowerOptions opt = {&bf16_override, bf16 ? 1 : 0};
    r->ok = r->p && fe_lower(r->p, &opt, &r->m, &r->d);
    if (!r->ok) {
        fprintf(stderr, "  %s (%s) does not lower:\n", name, bf16 ? "bf16" : "fp32");
        llmc_diags_print(&r->d, stderr);
    }
    CHECK(r->ok);
    return r->ok;
}

static void lowered_free(Lowered *r) {
    ir_module_free(&r->m);
    fe_program_free(r->p);
    llmc_diags_free(&r->d);
}

static uint32_t count_op(const IrGraph *g, IrOp op) {
    uint32_t n = 0;
    for (IrId id = 0; id < g->n_nodes; id++) n += ir_graph_node(g, id)->op == op;
    return n;
}

/* Casts to a float dtype (MoE casts positions to i32 in any precision). */
static uint32_t float_casts(const IrGraph *g) {
    uint32_t n = 0;
    for (IrId id = 0; id < g->n_nodes; id++) {
        const IrNode *nd = ir_graph_node(g, id);
        n += nd->op == IR_OP_CAST && ir_dtype_is_float(nd->type.dtype);
    }
    return n;
}

static IrDtype dtype_of(const IrGraph *g, IrId id) { return ir_graph_node(g, id)->type.dtype; }

static bool is_cast_to_bf16(const IrGraph *g, IrId id) {
    const IrNode *n = ir_graph_node(g, id);
    return n->op == IR_OP_CAST && n->type.dtype == IR_DTYPE_BF16 && dtype_of(g, n->operands[0]) == IR_DTYPE_F32;
}

/* What a graph lowered under bf16 holds (see the banner); false after a failed check. */
typedef struct Census {
    uint32_t dense;     /* matmuls of bf16 casts */
    uint32_t composite; /* matmuls of f32 values in attention (composite attention) */
    uint32_t router;    /* f32 matmuls by a MoE router param */
} Census;

static Census census(const char *what, const IrGraph *g) {
    Census c = {0, 0, 0};
    uint32_t casts = 0, bad = 0;
    bool *feeds_matmul = calloc(g->n_nodes ? g->n_nodes : 1, sizeof *feeds_matmul);
    bool *feeds_other = calloc(g->n_nodes ? g->n_nodes : 1, sizeof *feeds_other);
    for (IrId id = 0; id < g->n_nodes; id++) {
        const IrNode *n = ir_graph_node(g, id);
        for (uint32_t k = 0; k < n->n_operands; k++) {
            if (n->op == IR_OP_MATMUL) feeds_matmul[n->operands[k]] = true;
            else feeds_other[n->operands[k]] = true;
        }
        if (n->op == IR_OP_ATTENTION)
            for (uint32_t k = 0; k < n->n_operands; k++) bad += dtype_of(g, n->operands[k]) != IR_DTYPE_F32;
        if (n->op != IR_OP_MATMUL) continue;
        bool a = is_cast_to_bf16(g, n->operands[0]), w = is_cast_to_bf16(g, n->operands[1]);
        if (a && w) {
            c.dense++;
            /* the weight: a param, or the experts' stacked params */
            const IrNode *src = ir_graph_node(g, ir_graph_node(g, n->operands[1])->operands[0]);
            bool weight = (src->op == IR_OP_INPUT && src->attrs.input.role == IR_ROLE_PARAM) || src->op == IR_OP_CONCAT;
            if (!weight) fprintf(stderr, "  %s: matmul %%%u: its bf16 weight is not a param\n", what, id);
            bad += !weight;
            bad += n->type.dtype != IR_DTYPE_F32;
        } else if (!a && !w && dtype_of(g, n->operands[0]) == IR_DTYPE_F32 &&
                   dtype_of(g, n->operands[1]) == IR_DTYPE_F32) {
            const IrNode *wn = ir_graph_node(g, n->operands[1]);
            const char *scope = ir_graph_str(g, n->scope), *wname = "";
            if (wn->op == IR_OP_INPUT) wname = ir_graph_str(g, wn->attrs.input.name);
            size_t wl = strlen(wname);
            bool router = wl >= 7 && strcmp(wname + wl - 7, ".router") == 0;
            bool attn = !router && strstr(scope, "attn") != NULL;
            c.router += router;
            c.composite += attn;
            if (!attn && !router) fprintf(stderr, "  %s: matmul %%%u (%s) is f32 outside attention\n", what, id, scope);
            bad += !attn && !router;
        } else {
            fprintf(stderr, "  %s: matmul %%%u mixes a bf16 cast and another operand\n", what, id);
            bad++;
        }
    }
    for (IrId id = 0; id < g->n_nodes; id++) {
        const IrNode *n = ir_graph_node(g, id);
        if (n->op != IR_OP_CAST || !ir_dtype_is_float(n->type.dtype)) continue;
        casts++;
        bool operand_cast = is_cast_to_bf16(g, id) && feeds_matmul[id] && !feeds_other[id];
        if (!operand_cast) fprintf(stderr, "  %s: cast %%%u is no dense matmul's operand\n", what, id);
        bad += !operand_cast;
    }
    free(feeds_matmul);
    free(feeds_other);
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(casts, 2 * c.dense); /* @forward is not simplified: a cast per operand */
    return c;
}

/* Builds the training step of r's module; false on failure (reported). */
static bool build_step(const char *what, const Lowered *r, CcTrainStep *s) {
    LlmcErr err = {0};
    bool ok = cc_train_step_build(&r->m, s, &err);
    if (!ok) fprintf(stderr, "  %s: cc_train_step_build: %s\n", what, err.msg);
    CHECK(ok);
    return ok;
}

/* The step's contract under bf16 (see the banner). */
static void check_step(const char *what, const CcTrainStep *s32, const CcTrainStep *s16, uint32_t dense) {
    const IrGraph *mi = s16->micro, *up = s16->update;
    uint32_t bf16_mm = 0;
    for (IrId id = 0; id < mi->n_nodes; id++) {
        const IrNode *n = ir_graph_node(mi, id);
        if (n->op == IR_OP_MATMUL && dtype_of(mi, n->operands[0]) == IR_DTYPE_BF16) {
            bf16_mm++;
            CHECK(dtype_of(mi, n->operands[1]) == IR_DTYPE_BF16 && n->type.dtype == IR_DTYPE_F32);
        }
    }
    /* forward, d(activation), d(weight): every activation of a dense matmul needs a gradient */
    if (bf16_mm != 3 * dense) fprintf(stderr, "  %s: %u bf16 matmuls in @micro for %u dense\n", what, bf16_mm, dense);
    CHECK_EQ_INT(bf16_mm, 3 * dense);
    CHECK_EQ_INT(count_op(mi, IR_OP_MATMUL), count_op(s32->micro, IR_OP_MATMUL));
    for (uint32_t o = 0; o < mi->n_outputs; o++) {
        const char *name = ir_graph_str(mi, mi->outputs[o].name);
        if (strncmp(name, "grad.", 5) != 0) continue;
        IrId p = ir_graph_find_input(mi, name + 5);
        CHECK(p != IR_ID_NONE);
        if (p == IR_ID_NONE) continue;
        const IrType *gt = &ir_graph_node(mi, mi->outputs[o].node)->type, *pt = &ir_graph_node(mi, p)->type;
        CHECK(pt->dtype == IR_DTYPE_F32 && ir_type_equal(gt, pt));
    }
    uint32_t bf16_update = 0;
    for (IrId id = 0; id < up->n_nodes; id++) bf16_update += ir_graph_node(up, id)->type.dtype == IR_DTYPE_BF16;
    CHECK_EQ_INT(bf16_update, 0);
    CcStepFlops f32 = cc_step_flops(s32), f16 = cc_step_flops(s16);
    CHECK(f16.micro_useful == f32.micro_useful && f16.step_useful == f32.step_useful);
    CHECK(f16.micro_matmul == f32.micro_matmul);
    CHECK(f16.update == f32.update);
}

/* One program: fp32 and bf16 lowered, @forward's census, the steps. Returns the census. */
static Census check_program(const char *name, const char *text) {
    Lowered r32, r16;
    Census c = {0, 0, 0};
    if (lower_text(name, text, false, &r32) & lower_text(name, text, true, &r16)) {
        const IrGraph *f32 = r32.m.graphs[0], *f16 = r16.m.graphs[0];
        CHECK(f32->train.precision == IR_TRAIN_FP32 && f16->train.precision == IR_TRAIN_BF16);
        CHECK_EQ_INT(float_casts(f32), 0);
        c = census(name, f16);
        CHECK(c.dense > 0);
        CHECK_EQ_INT(c.dense + c.composite + c.router, count_op(f32, IR_OP_MATMUL));
        CHECK_EQ_INT(count_op(f16, IR_OP_ATTENTION), count_op(f32, IR_OP_ATTENTION));
        /* the same params, f32 (the init graph is the same graph) */
        CHECK_EQ_INT(ir_graph_inputs(f16, NULL), ir_graph_inputs(f32, NULL));
        CcTrainStep s32, s16;
        if (build_step(name, &r32, &s32)) {
            if (build_step(name, &r16, &s16)) {
                check_step(name, &s32, &s16, c.dense);
                cc_train_step_free(&s16);
            }
            cc_train_step_free(&s32);
        }
    }
    lowered_free(&r32);
    lowered_free(&r16);
    return c;
}

static char *read_model(const char *name) {
    char path[128];
    snprintf(path, sizeof path, "models/%s.llm", name);
    char *text = NULL;
    size_t len = 0;
    LlmcErr err = {0};
    if (!llmc_file_read(path, &text, &len, &err)) {
        fprintf(stderr, "  %s\n", err.msg);
        CHECK(!"the model file reads");
        return NULL;
    }
    return text;
}

/* Every tiny model: all of its matmuls are dense ones (attention is fused) but the MoE
 * routers. */
static void test_model_library(void) {
    static const char *const models[] = {"gpt2-tiny", "llama-tiny", "moe-alt-tiny", "moe-tiny",
                                         "mqa-tiny",  "parallel-tiny", "transformer-tiny"};
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        char *text = read_model(models[i]);
        if (!text) continue;
        Census c = check_program(models[i], text);
        CHECK_EQ_INT(c.composite, 0);
        bool moe = strncmp(models[i], "moe", 3) == 0;
        CHECK_EQ_INT(c.router, strcmp(models[i], "moe-tiny") == 0 ? 2 : moe ? 1 : 0);
        free(text);
    }
}

static const char small_src[] =
    "model small {\n"
    "    vocab = 40; context = 8; dim = 16; layers = 2\n"
    "    x = embed(tokens, vocab, dim, position = learned)\n"
    "    repeat layers {\n"
    "        x = x + attention(layernorm(x), heads = 4, kv_heads = 2, bias = true%s)\n"
    "        x = x + mlp(layernorm(x), hidden = 32, act = gelu, bias = true)\n"
    "    }\n"
    "    x = x + moe(rmsnorm(x), experts = 3, top_k = 2, hidden = 8, bias = true)\n"
    "    logits = lm_head(layernorm(x), tied = %s, bias = true)\n"
    "    loss = cross_entropy(logits, targets)\n"
    "}\n"
    "train { batch = 2; seq = 6; accumulate = 2 }\n";

/* Composite attention (QK^T and PV stay f32), an untied head with a bias, MoE with
 * biases. Dense: per layer q k v o w1 w2 (12), the experts' w1 w3 w2 (swiglu) stacks,
 * the head; the router is f32. */
static void test_inline_models(void) {
    char src[1024];
    snprintf(src, sizeof src, small_src, ", fused = false", "false");
    Census c = check_program("composite.llm", src);
    CHECK_EQ_INT(c.dense, 12 + 3 + 1);
    CHECK_EQ_INT(c.composite, 4);
    CHECK_EQ_INT(c.router, 1);
    snprintf(src, sizeof src, small_src, "", "true");
    c = check_program("fused.llm", src);
    CHECK_EQ_INT(c.dense, 12 + 3 + 1);
    CHECK_EQ_INT(c.composite, 0);
    CHECK_EQ_INT(c.router, 1);
}

/* @logits, @prefill, @decode under bf16: the dense matmuls of @forward, in bf16. */
static void test_inference(void) {
    char src[1024];
    snprintf(src, sizeof src, small_src, "", "true");
    static const FeInferKind kinds[3] = {FE_INFER_LOGITS, FE_INFER_PREFILL, FE_INFER_DECODE};
    static const char *const names[3] = {"@logits", "@prefill", "@decode"};
    LlmcDiags d = {0};
    LlmcSource s = {"infer.llm", src, strlen(src)};
    FeProgram *p = fe_parse(&s, &d);
    CHECK(p != NULL);
    for (int k = 0; p && k < 3; k++) {
        IrModule m = {0};
        FeLowerOptions opt = {&bf16_override, 1};
        bool ok = fe_lower_inference(p, &opt, kinds[k], 0, &m, &d);
        if (!ok) llmc_diags_print(&d, stderr);
        CHECK(ok);
        if (ok) {
            const IrGraph *g = m.graphs[m.n_graphs - 1];
            Census c = census(names[k], g);
            CHECK_EQ_INT(c.dense, 12 + 3 + 1);
            CHECK_EQ_INT(c.composite, kinds[k] == FE_INFER_DECODE ? 4 : 0); /* decode: composite, f32 */
            CHECK_EQ_INT(c.router, 1);
        }
        ir_module_free(&m);
    }
    fe_program_free(p);
    llmc_diags_free(&d);
}

/* Runs @init (seed 3) then @forward on fixed tokens (f32 interpreter): the loss. */
static double initial_loss(const Lowered *r, int64_t vocab) {
    const IrGraph *g = r->m.graphs[0], *init = r->m.graphs[1];
    IrValue seed, *params = calloc(init->n_outputs, sizeof *params);
    ir_value_alloc(&seed, ir_type_scalar(IR_DTYPE_I32));
    seed.data[0] = 3;
    IrInterpOptions opt = {.precision = IR_PRECISION_F32, .ranks = 1};
    LlmcErr err = {0};
    double loss = NAN;
    bool inited = ir_interp_run(init, &opt, &seed, params, &err);
    ir_value_free(&seed);
    if (!inited) {
        fprintf(stderr, "  init: %s\n", err.msg);
        free(params);
        return loss;
    }
    uint32_t n = ir_graph_inputs(g, NULL);
    IrId *ids = malloc(n * sizeof *ids);
    IrValue *in = calloc(n, sizeof *in), *out = calloc(g->n_outputs, sizeof *out);
    ir_graph_inputs(g, ids);
    for (uint32_t i = 0; i < n; i++) {
        const IrNode *node = ir_graph_node(g, ids[i]);
        ir_value_alloc(&in[i], node->type);
        int64_t numel = ir_type_numel(&node->type);
        if (i < init->n_outputs) /* params first, in @init's order */
            memcpy(in[i].data, params[i].data, (size_t)numel * sizeof(double));
        else
            for (int64_t e = 0; e < numel; e++) in[i].data[e] = (double)((e * 7 + 3 * (int64_t)i) % vocab);
    }
    if (ir_interp_run(g, &opt, in, out, &err))
        loss = out[0].data[0];
    else
        fprintf(stderr, "  forward: %s\n", err.msg);
    for (uint32_t i = 0; i < n; i++) ir_value_free(&in[i]);
    for (uint32_t o = 0; o < g->n_outputs; o++) ir_value_free(&out[o]);
    for (uint32_t o = 0; o < init->n_outputs; o++) ir_value_free(&params[o]);
    free(in);
    free(out);
    free(ids);
    free(params);
    return loss;
}

static void test_initial_loss(void) {
    char src[1024];
    snprintf(src, sizeof src, small_src, "", "false");
    Lowered r32, r16;
    if (lower_text("loss.llm", src, false, &r32) & lower_text("loss.llm", src, true, &r16)) {
        double l32 = initial_loss(&r32, 40), l16 = initial_loss(&r16, 40);
        CHECK(isfinite(l32) && isfinite(l16));
        CHECK(fabs(l32 - log(40.0)) < 0.2);
        CHECK(l16 != l32); /* the bf16 roundings are there */
        if (!(fabs(l16 - l32) <= 0.01 * l32)) fprintf(stderr, "  initial loss fp32 %.9g, bf16 %.9g\n", l32, l16);
        CHECK(fabs(l16 - l32) <= 0.01 * l32);
    }
    lowered_free(&r32);
    lowered_free(&r16);
}

/* Tokens and targets of micro-batch i: a fixed pattern below the vocab. */
static bool batch_fn(void *ctx, uint32_t micro, const char *input, IrValue *out, LlmcErr *err) {
    const IrGraph *g = ctx;
    IrId id = ir_graph_find_input(g, input);
    if (id == IR_ID_NONE) {
        llmc_err_set(err, "no input '%s'", input);
        return false;
    }
    ir_value_alloc(out, ir_graph_node(g, id)->type);
    int64_t n = ir_type_numel(&out->type);
    for (int64_t e = 0; e < n; e++) out->data[e] = (double)((e * 5 + micro * 3 + (input[1] == 'a')) % 40);
    return true;
}

/* Five optimizer steps on the interpreter; losses[5]. params: @init's outputs. */
static bool interp_steps(const Lowered *r, const IrValue *params, double *losses) {
    CcTrainStep s;
    if (!build_step("steps", r, &s)) return false;
    LlmcErr err = {0};
    uint32_t n_state = 0;
    CcVar *state = cc_train_state_new(&s, &n_state, &err);
    CHECK(state != NULL);
    const IrGraph *init = r->m.graphs[1];
    uint32_t n_vars = n_state + init->n_outputs;
    CcVar *vars = calloc(n_vars, sizeof *vars);
    if (state) memcpy(vars, state, n_state * sizeof *vars);
    for (uint32_t o = 0; o < init->n_outputs; o++) { /* the params, by @init's names */
        IrId in = ir_graph_find_input(s.micro, ir_graph_str(init, init->outputs[o].name));
        CHECK(in != IR_ID_NONE);
        vars[n_state + o].name =
            in == IR_ID_NONE ? "" : ir_graph_str(s.micro, ir_graph_node(s.micro, in)->attrs.input.name);
        ir_value_alloc(&vars[n_state + o].value, params[o].type);
        memcpy(vars[n_state + o].value.data, params[o].data, (size_t)ir_type_numel(&params[o].type) * sizeof(double));
    }
    bool ok = state != NULL;
    for (int i = 0; i < 5 && ok; i++) {
        CcStepResult res;
        ok = cc_step_interp(&s, vars, n_vars, batch_fn, s.micro, IR_PRECISION_F32, &res, &err);
        if (!ok) fprintf(stderr, "  step %d: %s\n", i, err.msg);
        CHECK(ok);
        losses[i] = res.loss;
    }
    for (uint32_t v = 0; v < n_vars; v++) {
        if (v >= n_state) CHECK(vars[v].value.type.dtype == IR_DTYPE_F32); /* master weights */
        ir_value_free(&vars[v].value);
    }
    free(vars);
    free(state);
    cc_train_step_free(&s);
    return ok;
}

static void test_interp_steps(void) {
    char src[1024];
    snprintf(src, sizeof src, small_src, "", "false");
    Lowered r32, r16;
    if (lower_text("steps.llm", src, false, &r32) & lower_text("steps.llm", src, true, &r16)) {
        /* the same @init: precision changes @forward only */
        LlmcBuf a = {0}, b = {0};
        ir_print_graph(r32.m.graphs[1], &a);
        ir_print_graph(r16.m.graphs[1], &b);
        CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
        llmc_buf_free(&a);
        llmc_buf_free(&b);
        const IrGraph *init = r32.m.graphs[1];
        IrValue seed, *params = calloc(init->n_outputs, sizeof *params);
        ir_value_alloc(&seed, ir_type_scalar(IR_DTYPE_I32));
        seed.data[0] = 5;
        IrInterpOptions opt = {.precision = IR_PRECISION_F32, .ranks = 1};
        LlmcErr err = {0};
        double l32[5], l16[5];
        if (ir_interp_run(init, &opt, &seed, params, &err) && interp_steps(&r32, params, l32) &&
            interp_steps(&r16, params, l16)) {
            bool same = true;
            for (int i = 0; i < 5; i++) {
                same &= l32[i] == l16[i];
                if (!(fabs(l16[i] - l32[i]) <= 0.01 * l32[i]))
                    fprintf(stderr, "  step %d: loss fp32 %.9g, bf16 %.9g\n", i, l32[i], l16[i]);
                CHECK(fabs(l16[i] - l32[i]) <= 0.01 * l32[i]);
            }
            CHECK(!same);
            CHECK(l32[4] < l32[0] && l16[4] < l16[0]); /* both learn */
        }
        for (uint32_t o = 0; o < init->n_outputs; o++) ir_value_free(&params[o]);
        free(params);
        ir_value_free(&seed);
    }
    lowered_free(&r32);
    lowered_free(&r16);
}

int main(void) {
    test_model_library();
    test_inline_models();
    test_inference();
    test_initial_loss();
    test_interp_steps();
    TEST_MAIN();
}
