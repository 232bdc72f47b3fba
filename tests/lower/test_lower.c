/* tests/lower/test_lower.c — whole programs through fe_parse + fe_lower: parameter
 * naming (scopes, site numbering, name = overrides, repeat prefixes, MoE experts),
 * -D overrides and their errors, every diagnostic of docs/llm.md at its line:col, the
 * train record, the init graph's values (gains 1, biases 0, weights with std init_std,
 * residual scaling), dropout's rand inputs, and a tiny model's initial loss ≈ ln(vocab)
 * on the reference interpreter.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "test.h"

/* --- harness ------------------------------------------------------------------------- */

typedef struct Run {
    FeProgram *p;
    IrModule m;
    LlmcDiags d;
    bool ok;
} Run;

static bool lower_with(const char *text, const FeOverride *ov, uint32_t n_ov, Run *r) {
    memset(r, 0, sizeof *r);
    LlmcSource src = {"t.llm", text, strlen(text)};
    r->p = fe_parse(&src, &r->d);
    if (!r->p) return false; /* callers print the diagnostics they did not expect */
    FeLowerOptions opt = {ov, n_ov};
    r->ok = fe_lower(r->p, &opt, &r->m, &r->d);
    if (r->ok) CHECK(r->d.errors == 0 && r->m.n_graphs >= 1);
    else CHECK(r->m.n_graphs == 0); /* nothing half-built on failure */
    return r->ok;
}

static bool lower(const char *text, Run *r) { return lower_with(text, NULL, 0, r); }

static void run_free(Run *r) {
    ir_module_free(&r->m);
    fe_program_free(r->p);
    llmc_diags_free(&r->d);
}

/* An error at file:line:col whose message contains `want`. line 0 matches any. */
static bool has_error(const Run *r, const char *file, uint32_t line, uint32_t col, const char *want) {
    for (uint32_t i = 0; i < r->d.count; i++) {
        const LlmcDiag *g = &r->d.items[i];
        if (g->severity != LLMC_SEV_ERROR || !strstr(g->msg, want)) continue;
        if (file && (!g->file || strcmp(g->file, file) != 0)) continue;
        if (g->line == line && g->col == col) return true;
    }
    return false;
}

static void expect_error_with(const char *text, const FeOverride *ov, uint32_t n_ov, const char *file, uint32_t line,
                              uint32_t col, const char *want) {
    Run r;
    bool ok = lower_with(text, ov, n_ov, &r);
    CHECK(!ok);
    bool found = has_error(&r, file, line, col, want);
    if (!found) {
        fprintf(stderr, "  wanted %s:%u:%u: \"%s\"; got:\n", file ? file : "?", line, col, want);
        llmc_diags_print(&r.d, stderr);
    }
    CHECK(found);
    run_free(&r);
}

static void expect_error(const char *text, uint32_t line, uint32_t col, const char *want) {
    expect_error_with(text, NULL, 0, "t.llm", line, col, want);
}

static const IrGraph *forward(const Run *r) { return r->m.graphs[0]; }
static const IrGraph *init_graph(const Run *r) { return r->m.n_graphs > 1 ? r->m.graphs[1] : NULL; }

static bool has_input(const IrGraph *g, const char *name) { return ir_graph_find_input(g, name) != IR_ID_NONE; }

static const IrType *input_type(const IrGraph *g, const char *name) {
    IrId id = ir_graph_find_input(g, name);
    return id == IR_ID_NONE ? NULL : &ir_graph_node(g, id)->type;
}

static const char *type_str(const IrGraph *g, const char *name, char *buf) {
    const IrType *t = input_type(g, name);
    return t ? ir_type_format(t, buf, IR_TYPE_STR_MAX) : "(none)";
}

static int output_index(const IrGraph *g, const char *name) {
    for (uint32_t i = 0; i < g->n_outputs; i++)
        if (strcmp(ir_graph_str(g, g->outputs[i].name), name) == 0) return (int)i;
    return -1;
}

/* --- running models on the interpreter ------------------------------------------------ */

/* Runs @init with `seed`; outs[] receives one value per parameter (caller frees). */
static bool run_init(const IrGraph *init, uint32_t seed, IrValue *outs) {
    IrValue in;
    ir_value_alloc(&in, ir_type_scalar(IR_DTYPE_I32));
    in.data[0] = seed;
    IrInterpOptions opt = {.precision = IR_PRECISION_F32, .ranks = 1};
    LlmcErr err = {0};
    bool ok = ir_interp_run(init, &opt, &in, outs, &err);
    if (!ok) fprintf(stderr, "  init: %s\n", err.msg);
    ir_value_free(&in);
    return ok;
}

/* Runs @forward: params from @init's outputs (by name), tokens/targets a fixed pattern
 * below vocab, seed/step/micro as given. Returns the "loss" output (nan on failure). */
static double run_forward(const Run *r, const IrValue *params, int64_t vocab, uint32_t micro, IrPrecision prec) {
    const IrGraph *g = forward(r), *init = init_graph(r);
    uint32_t n = ir_graph_inputs(g, NULL);
    IrId *ids = malloc(n * sizeof *ids);
    IrValue *in = calloc(n, sizeof *in);
    IrValue *out = calloc(g->n_outputs, sizeof *out);
    ir_graph_inputs(g, ids);
    for (uint32_t i = 0; i < n; i++) {
        const IrNode *node = ir_graph_node(g, ids[i]);
        const char *name = ir_graph_str(g, node->attrs.input.name);
        ir_value_alloc(&in[i], node->type);
        int64_t numel = ir_type_numel(&node->type);
        int o = init ? output_index(init, name) : -1;
        if (o >= 0)
            memcpy(in[i].data, params[o].data, (size_t)numel * sizeof(double));
        else if (strcmp(name, "tokens") == 0 || strcmp(name, "targets") == 0)
            for (int64_t e = 0; e < numel; e++) in[i].data[e] = (double)((e * 7 + (name[1] == 'a' ? 3 : 0)) % vocab);
        else if (strcmp(name, "micro") == 0)
            in[i].data[0] = micro;
        else if (strcmp(name, "seed") == 0)
            in[i].data[0] = 5;
        else if (strcmp(name, "step") == 0)
            in[i].data[0] = 11;
        else
            CHECK(!"unexpected input");
    }
    IrInterpOptions opt = {.precision = prec, .ranks = 1};
    LlmcErr err = {0};
    double loss = NAN;
    if (ir_interp_run(g, &opt, in, out, &err))
        loss = out[output_index(g, "loss")].data[0];
    else
        fprintf(stderr, "  forward: %s\n", err.msg);
    for (uint32_t i = 0; i < n; i++) ir_value_free(&in[i]);
    for (uint32_t i = 0; i < g->n_outputs; i++) ir_value_free(&out[i]);
    free(in);
    free(out);
    free(ids);
    return loss;
}

/* --- naming ---------------------------------------------------------------------------- */

static const char naming_src[] =
    "model names {\n"                                                                  /* 1 */
    "    vocab = 16; context = 8; dim = 8; layers = 4; heads = 2\n"                    /* 2 */
    "    x = embed(tokens, vocab, dim, position = learned)\n"                          /* 3 */
    "    repeat layers as i {\n"                                                       /* 4 */
    "        x = x + attention(layernorm(x), heads = heads)\n"                         /* 5 */
    "        x = x + mlp(layernorm(x), hidden = 16)\n"                                 /* 6 */
    "    }\n"                                                                          /* 7 */
    "    repeat layers {\n"                                                            /* 8 */
    "        x = x + mlp(rmsnorm(x), hidden = 16, name = \"ff\")\n"                    /* 9 */
    "    }\n"                                                                          /* 10 */
    "    repeat 2 { x = x + moe(rmsnorm(x), experts = 3, top_k = 1, hidden = 4, act = relu) }\n" /* 11 */
    "    logits = lm_head(layernorm(x, name = \"ln_f\"), tied = false)\n"              /* 12 */
    "    loss = cross_entropy(logits, targets)\n"                                      /* 13 */
    "}\n"
    "train { batch = 2; seq = 8 }\n";

static void test_naming(void) {
    Run r;
    if (!lower(naming_src, &r)) {
        llmc_diags_print(&r.d, stderr);
        CHECK(!"naming model lowers");
        run_free(&r);
        return;
    }
    const IrGraph *g = forward(&r);
    static const char *const present[] = {
        "tok_emb", "pos_emb", "layers.0.ln.gain", "layers.0.ln.bias", "layers.0.attn.wq", "layers.3.attn.wo",
        "layers.0.ln_2.gain", "layers.2.mlp.w1", "layers.2.mlp.w2", "layers_2.0.norm.gain", "layers_2.3.ff.w1",
        "blocks.0.norm.gain", "blocks.1.moe.router", "blocks.0.moe.experts.2.w2", "blocks.1.moe.experts.0.w1",
        "ln_f.gain", "lm_head", "tokens", "targets"};
    for (size_t i = 0; i < sizeof present / sizeof present[0]; i++) {
        bool has = has_input(g, present[i]);
        if (!has) fprintf(stderr, "  missing input %s\n", present[i]);
        CHECK(has);
    }
    static const char *const absent[] = {"layers.0.ln_3.gain", "layers.4.attn.wq", "layers_2.0.mlp.w1",
                                         "blocks.0.moe.experts.0.w3", "layers.0.attn.bq", "seed", "micro"};
    for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++) CHECK(!has_input(g, absent[i]));
    char buf[IR_TYPE_STR_MAX];
    CHECK_STR(type_str(g, "pos_emb", buf), "f32[8,8]");
    CHECK_STR(type_str(g, "lm_head", buf), "f32[8,16]");
    CHECK_STR(type_str(g, "tokens", buf), "i32[2,8]");
    CHECK_STR(type_str(g, "blocks.0.moe.experts.1.w1", buf), "f32[8,4]");
    /* inputs: params first (in creation order), then tokens, targets */
    IrId ids[256];
    uint32_t n = ir_graph_inputs(g, ids);
    CHECK(n > 2 && n <= 256);
    CHECK_STR(ir_graph_str(g, ir_graph_node(g, ids[0])->attrs.input.name), "tok_emb");
    CHECK_STR(ir_graph_str(g, ir_graph_node(g, ids[n - 2])->attrs.input.name), "tokens");
    CHECK_STR(ir_graph_str(g, ir_graph_node(g, ids[n - 1])->attrs.input.name), "targets");
    for (uint32_t i = 0; i + 2 < n; i++) CHECK(ir_graph_node(g, ids[i])->attrs.input.role == IR_ROLE_PARAM);
    CHECK_EQ_INT(ids[n - 1], n - 1); /* inputs are the first nodes */
    /* outputs */
    CHECK(output_index(g, "loss") == 0);
    CHECK(output_index(g, "moe_aux_loss") >= 0);
    CHECK(output_index(g, "moe_dropped_tokens") >= 0);
    /* provenance: a matmul of layers.1's attention, at line 5 */
    bool found = false;
    for (IrId id = 0; id < g->n_nodes; id++) {
        const IrNode *nd = ir_graph_node(g, id);
        if (nd->op == IR_OP_MATMUL && strcmp(ir_graph_str(g, nd->scope), "layers.1.attn") == 0) {
            found = true;
            CHECK_EQ_INT(nd->loc.line, 5);
            CHECK_EQ_INT(nd->loc.col, 17);
            CHECK_STR(ir_graph_str(g, nd->loc.file), "t.llm");
        }
    }
    CHECK(found);
    for (IrId id = 0; id < g->n_nodes; id++)
        CHECK(ir_graph_node(g, id)->loc.line > 0 || ir_graph_node(g, id)->op == IR_OP_INPUT);
    /* @init: the same parameters, same order, named alike */
    const IrGraph *init = init_graph(&r);
    CHECK(init != NULL);
    if (init) {
        CHECK_EQ_INT(init->n_outputs, n - 2);
        for (uint32_t i = 0; i + 2 < n && i < init->n_outputs; i++)
            CHECK_STR(ir_graph_str(init, init->outputs[i].name),
                      ir_graph_str(g, ir_graph_node(g, ids[i])->attrs.input.name));
        CHECK_EQ_INT(ir_graph_inputs(init, NULL), 1);
        CHECK(ir_graph_find_input(init, "seed") != IR_ID_NONE);
    }
    /* the train record */
    CHECK(g->train.present);
    CHECK_STR(ir_graph_str(g, g->train.model), "names");
    run_free(&r);
}

/* Site numbering restarts in every naming scope; name = does not consume a number. */
static void test_site_numbering(void) {
    Run r;
    bool ok = lower("model m {\n vocab = 8; context = 4; dim = 4\n x = embed(tokens, vocab, dim)\n"
                    " a = layernorm(x); b = layernorm(x, name = \"mine\"); c = layernorm(x)\n"
                    " d = rmsnorm(x); e = layernorm(x, bias = false)\n"
                    " repeat 1 { f = layernorm(x) }\n"
                    " loss = cross_entropy(lm_head(a + b + c + d + e + f), targets)\n}\n",
                    &r);
    CHECK(ok);
    if (ok) {
        const IrGraph *g = forward(&r);
        CHECK(has_input(g, "ln.gain") && has_input(g, "mine.gain") && has_input(g, "ln_2.gain"));
        CHECK(has_input(g, "ln_3.gain") && !has_input(g, "ln_3.bias") && has_input(g, "norm.gain"));
        CHECK(has_input(g, "blocks.0.ln.gain"));
        CHECK(!has_input(g, "lm_head")); /* tied by default */
        CHECK_EQ_INT(g->train.seq, 4);   /* seq defaults to the model's context */
    } else {
        llmc_diags_print(&r.d, stderr);
    }
    run_free(&r);
    expect_error("model m {\n vocab = 8; context = 4; dim = 4\n x = embed(tokens, vocab, dim)\n"
                 " a = layernorm(x, name = \"q\"); b = rmsnorm(x, name = \"q\")\n loss = cross_entropy(lm_head(b), "
                 "targets)\n}\n",
                 4, 54, "name 'q' is already used");
}

/* --- -D overrides ---------------------------------------------------------------------- */

static const char small_src[] =
    "model small {\n"                                               /* 1 */
    "    vocab = 16; context = 8; dim = 8; layers = 2; act = relu\n"    /* 2 */
    "    x = embed(tokens, vocab, dim)\n"                           /* 3 */
    "    repeat layers {\n"                                         /* 4 */
    "        x = x + attention(rmsnorm(x), heads = 2)\n"            /* 5 */
    "        x = x + mlp(rmsnorm(x), hidden = 2 * dim, act = act)\n" /* 6 */
    "    }\n"                                                       /* 7 */
    "    loss = cross_entropy(lm_head(rmsnorm(x)), targets)\n"      /* 8 */
    "}\n"                                                           /* 9 */
    "train { batch = 2; seq = 8; steps = 100 }\n";                  /* 10 */

static void test_overrides(void) {
    Run r;
    FeOverride ov[] = {{"dim", "16"}, {"layers", "1"}, {"act", "swiglu"}, {"seq", "4"}, {"seed", "3"}, {"dim", "12"}};
    bool ok = lower_with(small_src, ov, 6, &r);
    CHECK(ok);
    if (ok) {
        const IrGraph *g = forward(&r);
        char buf[IR_TYPE_STR_MAX];
        CHECK_STR(type_str(g, "tok_emb", buf), "f32[16,12]"); /* the last -D of a name wins */
        CHECK(has_input(g, "layers.0.mlp.w3") && !has_input(g, "layers.1.attn.wq"));
        CHECK_STR(type_str(g, "layers.0.mlp.w1", buf), "f32[12,24]");
        CHECK_STR(type_str(g, "tokens", buf), "i32[2,4]");
        CHECK_EQ_INT(g->train.seq, 4);
        CHECK_EQ_INT(g->train.seed, 3); /* not in the train block: still a setting */
        CHECK_EQ_INT(g->train.steps, 100);
    } else {
        llmc_diags_print(&r.d, stderr);
    }
    run_free(&r);
    /* a program without a train block takes train settings too */
    FeOverride ov2[] = {{"batch", "3"}, {"optimizer", "sgd(lr = 0.5)"}};
    ok = lower_with("model m {\n vocab = 8; context = 4; dim = 4\n"
                    " loss = cross_entropy(lm_head(embed(tokens, vocab, dim)), targets)\n}\n", ov2, 2, &r);
    CHECK(ok);
    if (ok) {
        CHECK_EQ_INT(forward(&r)->train.batch, 3);
        CHECK(forward(&r)->train.optimizer == IR_OPTIMIZER_SGD);
        CHECK_CLOSE(forward(&r)->train.lr, 0.5, 0);
    }
    run_free(&r);
    /* errors: unknown name with a suggestion, parse error, bad value, bad name */
    FeOverride bad1[] = {{"dmi", "3"}};
    expect_error_with(small_src, bad1, 1, "-D dmi=3", 0, 0, "'dmi' is not assigned at the top level of the model or "
                                                         "train block (did you mean 'dim'?)");
    FeOverride bad2[] = {{"dim", "(8"}};
    expect_error_with(small_src, bad2, 1, "-D dim=(8", 1, 3, "expected");
    FeOverride bad3[] = {{"dim", "2.5"}};
    expect_error_with(small_src, bad3, 1, "t.llm", 3, 30, "argument 'dim' of embed must be an int, got a float (2.5)");
    FeOverride bad4[] = {{"x y", "1"}};
    expect_error_with(small_src, bad4, 1, "-D x y=1", 0, 0, "NAME an identifier");
    FeOverride bad5[] = {{"batch", "0"}};
    expect_error_with(small_src, bad5, 1, "-D batch=0", 1, 1, "train setting 'batch' must be >= 1, got 0");
    FeOverride bad6[] = {{"act", "gleu"}};
    expect_error_with(small_src, bad6, 1, "-D act=gleu", 1, 1, "unknown name 'gleu' (did you mean 'gelu'?)");
    FeOverride bad8[] = {{"steps", "5"}}; /* assigned, but not at the top level of the train block */
    expect_error_with("model m {\n vocab = 8; context = 4; dim = 4\n"
                      " loss = cross_entropy(lm_head(embed(tokens, vocab, dim)), targets)\n}\n"
                      "train {\n if true { steps = 10 }\n}\n",
                      bad8, 1, "-D steps=5", 0, 0, "'steps' is not assigned at the top level");
    FeOverride bad7[] = {{"x", "1"}}; /* x is assigned at the top level: allowed, but then it is an int */
    expect_error_with(small_src, bad7, 1, "t.llm", 5, 35, "argument 'x' of rmsnorm must be a tensor, got an int");

    /* A recipe -D replaces the source argument before its range check: a shorter run
     * with its own warmup is fine; steps alone still meets the source warmup. */
    static const char sched_src[] =
        "model m {\n vocab = 8; context = 4; dim = 4\n"
        " loss = cross_entropy(lm_head(embed(tokens, vocab, dim)), targets)\n}\n"
        "train { steps = 100; schedule = cosine(warmup = 50, min_lr = 1e-4) }\n";
    FeOverride short_run[] = {{"steps", "8"}, {"warmup", "2"}};
    ok = lower_with(sched_src, short_run, 2, &r);
    CHECK(ok);
    if (ok) CHECK(forward(&r)->train.steps == 8 && forward(&r)->train.warmup == 2);
    run_free(&r);
    FeOverride steps_only[] = {{"steps", "8"}};
    expect_error_with(sched_src, steps_only, 1, "t.llm", 5, 49, "argument 'warmup' of cosine must be in [0, steps = 8]");
    FeOverride low_lr[] = {{"lr", "1e-5"}};
    expect_error_with(sched_src, low_lr, 1, "-D lr=1e-5", 1, 1, "min_lr must be in [0, lr=1e-05]");
}

/* --- diagnostics ----------------------------------------------------------------------- */

/* A model with one statement to vary at line 4. */
static char *with_line4(const char *stmt) {
    static char buf[1024];
    snprintf(buf, sizeof buf,
             "model m {\n"                                       /* 1 */
             "    vocab = 16; context = 8; dim = 8; heads = 2\n" /* 2 */
             "    x = embed(tokens, vocab, dim)\n"               /* 3 */
             "%s\n"                                              /* 4 */
             "    loss = cross_entropy(lm_head(x), targets)\n"   /* 5 */
             "}\n",
             stmt);
    return buf;
}

static void test_diagnostics(void) {
    /* names and builtins */
    expect_error(with_line4("    y = dimm + 1"), 4, 9, "unknown name 'dimm' (did you mean 'dim'?)");
    expect_error(with_line4("    y = layrnorm(x)"), 4, 9, "unknown builtin 'layrnorm' (did you mean 'layernorm'?)");
    expect_error(with_line4("    y = x(1)"), 4, 9, "'x' is a value, not a builtin");
    expect_error(with_line4("    y = attention"), 4, 9, "'attention' is a builtin");
    expect_error(with_line4("    y = gelu + 1"), 4, 14, "cannot apply '+' to the option 'gelu'");
    /* arguments */
    expect_error(with_line4("    y = attention(x, heads = 2.0)"), 4, 30,
                 "argument 'heads' of attention must be an int, got a float (2.0)");
    expect_error(with_line4("    y = attention(x, head = 2)"), 4, 22,
                 "unknown argument 'head' to attention (did you mean 'heads'?)");
    expect_error(with_line4("    y = attention(x, 2, heads = 2)"), 4, 25,
                 "argument 'heads' of attention is given twice");
    expect_error(with_line4("    y = attention(x)"), 4, 9, "missing argument 'heads' to attention");
    expect_error(with_line4("    y = dropout(x, 0.1, \"d\", 4)"), 4, 30,
                 "too many positional arguments to dropout: it takes at most 3 (x, p, name)");
    expect_error(with_line4("    y = attention(x, heads = 2, causal = 1)"), 4, 42,
                 "argument 'causal' of attention must be a bool");
    expect_error(with_line4("    y = attention(x, heads = 2, position = learned)"), 4, 44,
                 "argument 'position' of attention must be one of none, rope");
    expect_error(with_line4("    y = mlp(x, hidden = 8, act = \"gelu\")"), 4, 34,
                 "must be one of relu, gelu, swiglu; got a string");
    expect_error(with_line4("    y = layernorm(2)"), 4, 19, "argument 'x' of layernorm must be a tensor, got an int");
    expect_error(with_line4("    y = embed(x, vocab, dim)"), 4, 15, "argument 'ids' of embed must be an i32 tensor");
    /* sizes */
    expect_error(with_line4("    y = mlp(x, hidden = 0)"), 4, 25, "argument 'hidden' of mlp must be >= 1, got 0");
    expect_error(with_line4("    y = attention(x, heads = -2)"), 4, 30,
                 "argument 'heads' of attention must be >= 1, got -2");
    expect_error(with_line4("    y = moe(x, experts = 0, top_k = 1, hidden = 4)"), 4, 26,
                 "argument 'experts' of moe must be >= 1");
    /* structure */
    expect_error(with_line4("    y = attention(x, heads = 3)"), 4, 30,
                 "attention: dim 8 is not divisible by heads = 3");
    expect_error(with_line4("    y = attention(x, heads = 4, kv_heads = 3)"), 4, 44,
                 "heads = 4 is not divisible by kv_heads = 3");
    expect_error(with_line4("    y = attention(x, heads = 8, position = rope)"), 4, 44, "RoPE needs an even head dim");
    expect_error(with_line4("    y = moe(x, experts = 2, top_k = 3, hidden = 4)"), 4, 37,
                 "moe: top_k = 3 exceeds experts = 2");
    expect_error(with_line4("    y = attention(x, heads = 2, dropout = 1.0)"), 4, 43,
                 "argument 'dropout' of attention must be in [0, 1)");
    expect_error(with_line4("    y = x + lm_head(x)"), 4, 11, "do not broadcast");
    expect_error(with_line4("    y = tokens ** 2"), 4, 16, "pow");
    /* values and statements */
    expect_error(with_line4("    y = dim / 0"), 4, 13, "division by zero");
    expect_error(with_line4("    y = 9223372036854775807 + 1"), 4, 29, "integer overflow");
    expect_error(with_line4("    repeat -1 { }"), 4, 12, "repeat needs an int count >= 0");
    expect_error(with_line4("    if dim { }"), 4, 8, "if needs a bool condition");
    expect_error(with_line4("    if dim > 2 and 3 { }"), 4, 20, "'and' needs bools");
    expect_error(with_line4("    tokens = x"), 4, 5, "'tokens' is an input of the model");
    expect_error(with_line4("    seq = 3"), 4, 5, "set it in the train block");
    expect_error(with_line4("    y = adamw(lr = 1)"), 4, 9, "adamw(...) belongs in the train block");
    expect_error(with_line4("    y = layernorm(x, eps = 0)"), 4, 28, "argument 'eps' of layernorm must be > 0");
    expect_error(with_line4("    y = layernorm(x, name = \"a..b\")"), 4, 29,
                 "argument 'name' of layernorm must be letters");
    /* the model as a whole */
    expect_error("model nl {\n vocab = 8; context = 4; dim = 4\n x = embed(tokens, vocab, dim)\n}\n", 1, 1,
                 "model 'nl' has no 'loss'");
    expect_error("model sl {\n vocab = 8; context = 4; dim = 4\n x = embed(tokens, vocab, dim)\n loss = x\n}\n", 4, 9,
                 "'loss' must be a float scalar tensor");
    expect_error("model th {\n x = layernorm(1.0)\n loss = cross_entropy(lm_head(x, vocab = 8), targets)\n}\n", 2, 16,
                 "must be a tensor");
    expect_error("model nt {\n vocab = 8; dim = 4\n x = embed(tokens, vocab, dim)\n"
                 " loss = cross_entropy(lm_head(x), targets)\n}\n",
                 3, 12, "tokens needs seq");
    expect_error(
        "model ne {\n context = 4; vocab = 8\n t = tokens\n loss = cross_entropy(lm_head(layernorm(1)), targets)\n}\n",
        4, 41, "must be a tensor");
    expect_error(with_line4("    y = lm_head(x, tied = false, vocab = 8, bias = 1)"), 4, 52, "must be a bool");
    expect_error("model tt {\n vocab = 8; context = 4\n x = tokens\n"
                 " loss = cross_entropy(lm_head(x + 0.5), targets)\n}\n",
                 4, 33, "an i32 tensor can only be combined with ints");
    /* the tied head needs an embed before it */
    expect_error("model ti {\n vocab = 8; context = 4\n loss = cross_entropy(lm_head(layernorm(tokens)), targets)\n}\n",
                 3, 41, "must be a float tensor");
    /* several independent errors in one run */
    Run r;
    bool ok = lower("model many {\n vocab = 16; context = 8; dim = 8\n a = undefined1\n b = undefined2\n"
                    " x = embed(tokens, vocab, dim)\n y = attention(x, heads = 3)\n}\n",
                    &r);
    CHECK(!ok);
    CHECK(has_error(&r, "t.llm", 3, 6, "undefined1"));
    CHECK(has_error(&r, "t.llm", 4, 6, "undefined2"));
    CHECK(has_error(&r, "t.llm", 6, 27, "not divisible"));
    CHECK(has_error(&r, "t.llm", 1, 1, "no 'loss'"));
    CHECK_EQ_INT(r.d.errors, 4);
    run_free(&r);
    /* a poisoned value does not cascade */
    ok = lower(with_line4("    y = nope\n    z = y + 1\n    w = attention(y, heads = 2)"), &r);
    CHECK(!ok);
    CHECK_EQ_INT(r.d.errors, 1);
    run_free(&r);
}

/* --- the train block ------------------------------------------------------------------- */

static const char train_src_model[] = "model tr {\n"
                                      "    vocab = 8; context = 16; dim = 4\n"
                                      "    loss = cross_entropy(lm_head(embed(tokens, vocab, dim)), targets)\n"
                                      "}\n";

static void lower_train(const char *train, Run *r) {
    static char buf[2048];
    snprintf(buf, sizeof buf, "%s%s", train_src_model, train);
    lower(buf, r);
}

static void test_train_record(void) {
    Run r;
    lower_train("train {\n"
                "    batch = 4; seq = 2 * 4; accumulate = 3; steps = 50; seed = 4000000000\n"
                "    optimizer = adamw(lr = 1e-3, betas = (0.8, 0.99), eps = 1e-9, weight_decay = 0)\n"
                "    schedule = cosine(warmup = 5, min_lr = 1e-4)\n"
                "    clip_grad_norm = 1; decay_1d = true\n"
                "    remat = layers; precision = bf16\n"
                "}\n",
                &r);
    CHECK(r.ok);
    if (r.ok) {
        const IrTrainConfig *t = &forward(&r)->train;
        CHECK(t->present);
        CHECK_EQ_INT(t->batch, 4);
        CHECK_EQ_INT(t->seq, 8);
        CHECK_EQ_INT(t->accumulate, 3);
        CHECK_EQ_INT(t->steps, 50);
        CHECK_EQ_INT(t->seed, 4000000000);
        CHECK(t->optimizer == IR_OPTIMIZER_ADAMW);
        CHECK_CLOSE(t->lr, 1e-3, 0);
        CHECK_CLOSE(t->beta1, 0.8, 0);
        CHECK_CLOSE(t->beta2, 0.99, 0);
        CHECK_CLOSE(t->eps, 1e-9, 0);
        CHECK_CLOSE(t->weight_decay, 0, 0);
        CHECK(t->schedule == IR_SCHEDULE_COSINE);
        CHECK_EQ_INT(t->warmup, 5);
        CHECK_CLOSE(t->min_lr, 1e-4, 0);
        CHECK_CLOSE(t->clip_grad_norm, 1.0, 0);
        CHECK(t->decay_1d);
        CHECK(!t->decay_embeddings);
        CHECK(t->remat == IR_REMAT_LAYERS);
        CHECK(t->precision == IR_TRAIN_BF16);
        char buf[IR_TYPE_STR_MAX];
        CHECK_STR(type_str(forward(&r), "tokens", buf), "i32[4,8]");
    } else {
        llmc_diags_print(&r.d, stderr);
    }
    run_free(&r);
    /* defaults, sgd, symbols for schedules, arithmetic and if in the block */
    lower_train("train {\n    optimizer = sgd(lr = 0.1, momentum = 0.9)\n    schedule = linear\n"
                "    if true { steps = 10 * 10 } else { steps = 1 }\n}\n",
                &r);
    CHECK(r.ok);
    if (r.ok) {
        const IrTrainConfig *t = &forward(&r)->train;
        CHECK_EQ_INT(t->batch, 1);
        CHECK_EQ_INT(t->seq, 16); /* the model's context */
        CHECK_EQ_INT(t->accumulate, 1);
        CHECK_EQ_INT(t->steps, 100);
        CHECK_EQ_INT(t->seed, 0);
        CHECK(t->optimizer == IR_OPTIMIZER_SGD);
        CHECK_CLOSE(t->lr, 0.1, 0);
        CHECK_CLOSE(t->momentum, 0.9, 0);
        CHECK(t->schedule == IR_SCHEDULE_LINEAR);
        CHECK_EQ_INT(t->warmup, 0);
        CHECK(t->remat == IR_REMAT_NONE && t->precision == IR_TRAIN_FP32);
    }
    run_free(&r);
    lower("model nt {\n vocab = 8; context = 4; dim = 4\n"
          " loss = cross_entropy(lm_head(embed(tokens, vocab, dim)), targets)\n}\n", &r);
    CHECK(r.ok);
    if (r.ok) {
        const IrTrainConfig *t = &forward(&r)->train;
        CHECK(t->present && t->optimizer == IR_OPTIMIZER_ADAMW && t->schedule == IR_SCHEDULE_CONSTANT);
        CHECK_CLOSE(t->lr, 3e-4, 0);
        CHECK_EQ_INT(t->steps, 1000);
        CHECK_EQ_INT(t->seq, 4);
    }
    run_free(&r);
}

static void expect_train_error(const char *line3, uint32_t col, const char *want) {
    static char buf[2048];
    snprintf(buf, sizeof buf, "%strain {\n    steps = 100\n%s\n}\n", train_src_model, line3);
    expect_error(buf, 7, col, want); /* the model takes lines 1-4, train opens at 5 */
}

static void test_train_errors(void) {
    expect_train_error("    batch = 0", 13, "train setting 'batch' must be >= 1, got 0");
    expect_train_error("    accumulate = 2.0", 18, "train setting 'accumulate' must be an int");
    expect_train_error("    seq = 17", 11, "seq = 17 exceeds the model's context = 16");
    expect_train_error("    seq = 0", 11, "train setting 'seq' must be >= 1");
    /* seq > context is reported once, at seq, even when an embed with learned positions
     * meets it first; an explicit context = is reported at that argument */
    Run r;
    lower("model lp {\n vocab = 8; context = 4; dim = 4\n x = embed(tokens, vocab, dim, position = learned)\n"
          " loss = cross_entropy(lm_head(x), targets)\n}\ntrain { seq = 6 }\n",
          &r);
    CHECK(!r.ok);
    CHECK(has_error(&r, "t.llm", 6, 15, "seq = 6 exceeds the model's context = 4"));
    CHECK_EQ_INT(r.d.errors, 1);
    run_free(&r);
    expect_error("model ec {\n vocab = 8; dim = 4\n x = embed(tokens, vocab, dim, position = learned, context = 2)\n"
                 " loss = cross_entropy(lm_head(x), targets)\n}\ntrain { seq = 3 }\n",
                 3, 62, "embed: the sequence length 3 exceeds context = 2");
    expect_train_error("    seed = 4294967296", 12, "train setting 'seed' must be in [0, 2^32)");
    expect_train_error("    bach = 3", 5, "unknown train setting 'bach' (did you mean 'batch'?)");
    expect_train_error("    optimizer = adamw(lr = 0)", 28, "argument 'lr' of adamw must be > 0");
    expect_train_error("    optimizer = adamw(lr = 1, betas = (0.9, 1))", 39, "needs beta2 in [0, 1)");
    expect_train_error("    optimizer = adamw(lr = 1, betas = (0.9,))", 39,
                       "a tuple needs at least two items"); /* the parser's */
    expect_train_error("    optimizer = adamw(lr = 1, betas = 0.9)", 39, "must be a pair of numbers");
    expect_train_error("    optimizer = adamw(lr = 1, eps = 0)", 37, "argument 'eps' of adamw must be > 0");
    expect_train_error("    optimizer = adamw(lr = 1, weight_decay = -1)", 46,
                       "argument 'weight_decay' of adamw must be >= 0");
    expect_train_error("    optimizer = sgd(lr = 1, momentum = 1)", 40, "argument 'momentum' of sgd must be in [0, 1)");
    expect_train_error("    optimizer = adamw", 17, "missing argument 'lr' to adamw");
    expect_train_error("    optimizer = rmsprop(lr = 1)", 17, "unknown builtin 'rmsprop'");
    expect_train_error("    optimizer = cosine(warmup = 1)", 17, "train setting 'optimizer' must be one of adamw, sgd");
    expect_train_error("    schedule = cosine(warmup = 101)", 32,
                       "argument 'warmup' of cosine must be in [0, steps = 100]");
    expect_train_error("    schedule = linear(min_lr = 1)", 32,
                       "argument 'min_lr' of linear must be in [0, lr = 0.0003]");
    expect_train_error("    schedule = constant(min_lr = 0)", 25, "unknown argument 'min_lr' to constant");
    expect_train_error("    clip_grad_norm = -1", 22, "train setting 'clip_grad_norm' must be >= 0");
    expect_train_error("    decay_embeddings = 1", 24, "train setting 'decay_embeddings' must be a bool");
    expect_train_error("    remat = all", 13, "unknown name 'all'");
    expect_train_error("    precision = fp16", 17, "unknown name 'fp16' (did you mean 'fp32'?)");
    expect_train_error("    x = attention(1, heads = 1)", 5, "unknown train setting 'x'");
    expect_train_error("    batch = vocab", 13, "unknown name 'vocab'"); /* the train block cannot see the model */
}

/* --- @init ------------------------------------------------------------------------------ */

static double mean_of(const IrValue *v) {
    int64_t n = ir_type_numel(&v->type);
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += v->data[i];
    return s / (double)n;
}

static double std_of(const IrValue *v) {
    int64_t n = ir_type_numel(&v->type);
    double m = mean_of(v), s = 0;
    for (int64_t i = 0; i < n; i++) s += (v->data[i] - m) * (v->data[i] - m);
    return sqrt(s / (double)n);
}

static bool all_equal(const IrValue *v, double x) {
    int64_t n = ir_type_numel(&v->type);
    for (int64_t i = 0; i < n; i++)
        if (v->data[i] != x) return false;
    return true;
}

static void check_init(const char *options, double init_std, double wo_std) {
    static char buf[2048];
    snprintf(buf, sizeof buf,
             "model ini {\n    vocab = 512; context = 8; dim = 64; layers = 2%s\n"
             "    x = embed(tokens, vocab, dim)\n"
             "    repeat layers {\n"
             "        x = x + attention(layernorm(x), heads = 4, bias = true)\n"
             "        x = x + mlp(layernorm(x), hidden = 256, act = gelu)\n"
             "    }\n"
             "    loss = cross_entropy(lm_head(layernorm(x, name = \"ln_f\")), targets)\n}\n",
             options);
    Run r;
    if (!lower(buf, &r)) {
        llmc_diags_print(&r.d, stderr);
        CHECK(!"init model lowers");
        run_free(&r);
        return;
    }
    const IrGraph *init = init_graph(&r);
    IrValue *outs = calloc(init->n_outputs, sizeof *outs);
    IrValue *again = calloc(init->n_outputs, sizeof *again);
    if (run_init(init, 42, outs) && run_init(init, 42, again)) {
        const IrValue *tok = &outs[output_index(init, "tok_emb")];
        CHECK(fabs(std_of(tok) - init_std) < 0.05 * init_std); /* 32768 samples */
        CHECK(fabs(mean_of(tok)) < 0.05 * init_std);
        const IrValue *wq = &outs[output_index(init, "layers.1.attn.wq")];
        CHECK(fabs(std_of(wq) - init_std) < 0.1 * init_std);
        const IrValue *wo = &outs[output_index(init, "layers.0.attn.wo")];
        CHECK(fabs(std_of(wo) - wo_std) < 0.1 * wo_std);
        const IrValue *w2 = &outs[output_index(init, "layers.0.mlp.w2")];
        CHECK(fabs(std_of(w2) - wo_std) < 0.1 * wo_std);
        CHECK(all_equal(&outs[output_index(init, "layers.0.ln.gain")], 1.0));
        CHECK(all_equal(&outs[output_index(init, "ln_f.gain")], 1.0));
        CHECK(all_equal(&outs[output_index(init, "layers.1.ln_2.bias")], 0.0));
        CHECK(all_equal(&outs[output_index(init, "layers.0.attn.bq")], 0.0));
        /* parameters differ from each other, and the same seed gives the same values */
        CHECK(wq->data[0] != outs[output_index(init, "layers.0.attn.wq")].data[0]);
        bool same = true;
        for (uint32_t o = 0; o < init->n_outputs; o++)
            for (int64_t e = 0; e < ir_type_numel(&outs[o].type); e++) same &= outs[o].data[e] == again[o].data[e];
        CHECK(same);
    }
    for (uint32_t o = 0; o < init->n_outputs; o++) {
        ir_value_free(&outs[o]);
        ir_value_free(&again[o]);
    }
    free(outs);
    free(again);
    run_free(&r);
}

static void test_init(void) {
    check_init("", 0.02, 0.02 / sqrt(2.0 * 2)); /* 2 attention sites */
    check_init("; init_std = 0.1", 0.1, 0.1 / 2.0);
    check_init("; residual_scale = false", 0.02, 0.02);
    expect_error("model bad {\n init_std = -1\n vocab = 8; context = 4; dim = 4\n"
                 " loss = cross_entropy(lm_head(embed(tokens, vocab, dim)), targets)\n}\n",
                 2, 13, "model option 'init_std' must be >= 0");
    expect_error("model bad {\n residual_scale = 1\n vocab = 8; context = 4; dim = 4\n"
                 " loss = cross_entropy(lm_head(embed(tokens, vocab, dim)), targets)\n}\n",
                 2, 19, "model option 'residual_scale' must be a bool");
}

/* --- dropout, MoE outputs, initial loss ---------------------------------------------------- */

static void test_dropout_model(void) {
    Run r;
    bool ok = lower("model dr {\n vocab = 32; context = 8; dim = 16\n x = dropout(embed(tokens, vocab, dim), 0.2)\n"
                    " x = x + attention(layernorm(x), heads = 2, dropout = 0.1)\n"
                    " loss = cross_entropy(lm_head(layernorm(x)), targets)\n}\ntrain { batch = 2 }\n",
                    &r);
    CHECK(ok);
    if (!ok) {
        llmc_diags_print(&r.d, stderr);
        run_free(&r);
        return;
    }
    const IrGraph *g = forward(&r);
    IrId seed = ir_graph_find_input(g, "seed"), step = ir_graph_find_input(g, "step"),
         micro = ir_graph_find_input(g, "micro");
    CHECK(seed != IR_ID_NONE && step != IR_ID_NONE && micro != IR_ID_NONE);
    if (seed != IR_ID_NONE && step != IR_ID_NONE && micro != IR_ID_NONE) {
        CHECK(ir_graph_node(g, seed)->attrs.input.role == IR_ROLE_STATE);
        CHECK(ir_graph_node(g, step)->attrs.input.role == IR_ROLE_STATE);
        CHECK(ir_graph_node(g, micro)->attrs.input.role == IR_ROLE_DATA);
        char buf[IR_TYPE_STR_MAX];
        CHECK_STR(ir_type_format(&ir_graph_node(g, micro)->type, buf, sizeof buf), "i32[]");
    }
    uint32_t n_rand = 0;
    for (IrId id = 0; id < g->n_nodes; id++) n_rand += ir_graph_node(g, id)->op == IR_OP_RAND;
    CHECK_EQ_INT(n_rand, 2);
    const IrGraph *init = init_graph(&r);
    IrValue *params = calloc(init->n_outputs, sizeof *params);
    if (run_init(init, 1, params)) {
        double l0 = run_forward(&r, params, 32, 0, IR_PRECISION_F32);
        double l0b = run_forward(&r, params, 32, 0, IR_PRECISION_F32);
        double l1 = run_forward(&r, params, 32, 1, IR_PRECISION_F32);
        CHECK(isfinite(l0) && isfinite(l1));
        CHECK(l0 == l0b); /* same keys, same masks */
        CHECK(l0 != l1);  /* another micro-batch, other masks */
    }
    for (uint32_t o = 0; o < init->n_outputs; o++) ir_value_free(&params[o]);
    free(params);
    run_free(&r);
}

static void check_initial_loss(const char *src, int64_t vocab, bool moe) {
    Run r;
    if (!lower(src, &r)) {
        llmc_diags_print(&r.d, stderr);
        CHECK(!"model lowers");
        run_free(&r);
        return;
    }
    const IrGraph *init = init_graph(&r);
    IrValue *params = calloc(init->n_outputs, sizeof *params);
    if (run_init(init, 3, params)) {
        double loss = run_forward(&r, params, vocab, 0, IR_PRECISION_F32);
        if (!(fabs(loss - log((double)vocab)) < 0.1))
            fprintf(stderr, "  initial loss %g, ln(vocab) %g\n", loss, log((double)vocab));
        CHECK(fabs(loss - log((double)vocab)) < 0.1);
    }
    CHECK((output_index(forward(&r), "moe_aux_loss") >= 0) == moe);
    for (uint32_t o = 0; o < init->n_outputs; o++) ir_value_free(&params[o]);
    free(params);
    run_free(&r);
}

static void test_initial_loss(void) {
    check_initial_loss("model tiny {\n vocab = 64; context = 16; dim = 32; layers = 2\n"
                       " x = embed(tokens, vocab, dim, position = learned)\n"
                       " repeat layers {\n"
                       "  x = x + attention(layernorm(x), heads = 4, kv_heads = 2, position = rope)\n"
                       "  x = x + mlp(layernorm(x), hidden = 64, act = swiglu)\n }\n"
                       " loss = cross_entropy(lm_head(layernorm(x)), targets)\n}\ntrain { batch = 2; seq = 8 }\n",
                       64, false);
    check_initial_loss("model tinymoe {\n vocab = 50; context = 8; dim = 16\n"
                       " x = embed(tokens, vocab, dim, position = sinusoidal)\n"
                       " x = x + moe(rmsnorm(x), experts = 4, top_k = 2, hidden = 32)\n"
                       " loss = cross_entropy(lm_head(rmsnorm(x), tied = false, bias = true), targets)\n}\n"
                       "train { batch = 2 }\n",
                       50, true);
}

/* --- fused attention ----------------------------------------------------------------------- */

static uint32_t count_op(const IrGraph *g, IrOp op) {
    uint32_t n = 0;
    for (IrId id = 0; id < g->n_nodes; id++) n += ir_graph_node(g, id)->op == op;
    return n;
}

/* A two-layer GQA model with RoPE whose attention takes OPTIONS. */
static void attention_model(const char *options, char *buf, size_t n) {
    snprintf(buf, n,
             "model fa {\n vocab = 32; context = 8; dim = 16; layers = 2\n"
             " x = embed(tokens, vocab, dim)\n"
             " repeat layers { x = x + attention(rmsnorm(x), heads = 4, kv_heads = 2, position = rope%s) }\n"
             " logits = lm_head(rmsnorm(x))\n loss = cross_entropy(logits, targets)\n}\n"
             "train { batch = 2; seq = 6 }\n",
             options);
}

/* The default lowers each attention to one `attention` op (causal, scale 1/sqrt(hd), q
 * [B, K, G*T, hd] against k, v [B, K, T, hd]); fused = false and dropout > 0 to the
 * composite (two matmuls more per layer, no attention op); @decode always to the
 * composite, @prefill and @logits to the op. Fused and composite give the same loss on
 * the same params (f64 interpreter). */
static void test_attention_lowering(void) {
    static const char *const options[3] = {"", ", fused = false", ", dropout = 0.1"};
    Run r[3];
    bool ok[3];
    char src[512];
    for (int i = 0; i < 3; i++) {
        attention_model(options[i], src, sizeof src);
        ok[i] = lower(src, &r[i]);
        if (!ok[i]) llmc_diags_print(&r[i].d, stderr);
        CHECK(ok[i]);
    }
    if (ok[0] && ok[1] && ok[2]) {
        const IrGraph *fused = forward(&r[0]), *plain = forward(&r[1]), *drop = forward(&r[2]);
        CHECK_EQ_INT(count_op(fused, IR_OP_ATTENTION), 2);
        CHECK_EQ_INT(count_op(plain, IR_OP_ATTENTION), 0);
        CHECK_EQ_INT(count_op(drop, IR_OP_ATTENTION), 0);
        CHECK_EQ_INT(count_op(plain, IR_OP_MATMUL), count_op(fused, IR_OP_MATMUL) + 4);
        CHECK_EQ_INT(count_op(drop, IR_OP_MATMUL), count_op(fused, IR_OP_MATMUL) + 4);
        /* softmax's reduce_max: only cross-entropy's logsumexp is left when fused */
        CHECK_EQ_INT(count_op(plain, IR_OP_REDUCE_MAX), count_op(fused, IR_OP_REDUCE_MAX) + 2);
        for (IrId id = 0; id < fused->n_nodes; id++) {
            const IrNode *n = ir_graph_node(fused, id);
            if (n->op != IR_OP_ATTENTION) continue;
            char buf[IR_TYPE_STR_MAX];
            CHECK(n->attrs.attention.causal);
            CHECK(n->attrs.attention.scale == 1.0 / sqrt(4.0));
            CHECK_STR(ir_type_format(&ir_graph_node(fused, n->operands[0])->type, buf, sizeof buf), "f32[2,2,12,4]");
            CHECK_STR(ir_type_format(&ir_graph_node(fused, n->operands[1])->type, buf, sizeof buf), "f32[2,2,6,4]");
            CHECK_STR(ir_type_format(&n->type, buf, sizeof buf), "f32[2,2,12,4]");
            CHECK(strncmp(ir_graph_str(fused, n->scope), "layers.", 7) == 0);
        }
        /* same parameter names and shapes, same loss */
        const IrGraph *init = init_graph(&r[0]);
        CHECK(init && init_graph(&r[1]) && init->n_outputs == init_graph(&r[1])->n_outputs);
        IrValue *params = calloc(init->n_outputs, sizeof *params);
        if (run_init(init, 7, params)) {
            double lf = run_forward(&r[0], params, 32, 0, IR_PRECISION_F64);
            double lp = run_forward(&r[1], params, 32, 0, IR_PRECISION_F64);
            CHECK(isfinite(lf));
            CHECK_CLOSE(lf, lp, 1e-12);
        }
        for (uint32_t o = 0; o < init->n_outputs; o++) ir_value_free(&params[o]);
        free(params);
        /* inference graphs */
        static const FeInferKind kinds[3] = {FE_INFER_LOGITS, FE_INFER_PREFILL, FE_INFER_DECODE};
        for (int k = 0; k < 3; k++) {
            IrModule m = {0};
            LlmcDiags d = {0};
            bool iok = fe_lower_inference(r[0].p, NULL, kinds[k], 0, &m, &d);
            if (!iok) llmc_diags_print(&d, stderr);
            CHECK(iok);
            if (iok) CHECK_EQ_INT(count_op(m.graphs[m.n_graphs - 1], IR_OP_ATTENTION), kinds[k] == FE_INFER_DECODE ? 0 : 2);
            ir_module_free(&m);
            llmc_diags_free(&d);
        }
    }
    for (int i = 0; i < 3; i++) run_free(&r[i]);
    /* fused takes a bool */
    attention_model(", fused = 2", src, sizeof src);
    expect_error(src, 4, 98, "argument 'fused' of attention must be a bool");
}

/* Every model in models/ lowers; gpt2-small has GPT-2's parameter count. */
static void test_model_library(void) {
    static const char *const models[] = {"fortune", "gpt2-small", "gpt2-tiny", "llama-tiny", "moe-alt-tiny",
                                         "moe-tiny", "mqa-tiny", "parallel-tiny", "transformer-tiny"};
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, "models/%s.llm", models[i]);
        char *text = NULL;
        size_t len = 0;
        LlmcErr err = {0};
        if (!llmc_file_read(path, &text, &len, &err)) {
            fprintf(stderr, "  %s (skipped)\n", err.msg);
            continue;
        }
        Run r;
        bool ok = lower(text, &r);
        if (!ok) llmc_diags_print(&r.d, stderr);
        CHECK(ok);
        if (ok && strcmp(models[i], "gpt2-small") == 0) {
            IrStats s;
            ir_graph_stats(forward(&r), &s);
            CHECK_EQ_INT(s.n_params, 124439808);
        }
        run_free(&r);
        free(text);
    }
}

int main(void) {
    test_naming();
    test_site_numbering();
    test_overrides();
    test_diagnostics();
    test_train_record();
    test_train_errors();
    test_init();
    test_dropout_model();
    test_attention_lowering();
    test_initial_loss();
    test_model_library();
    TEST_MAIN();
}
