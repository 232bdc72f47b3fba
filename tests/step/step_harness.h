/* tests/step/step_harness.h — what the whole-step tests share: a .llm program lowered
 * with -D overrides, its training step built (cc_train_step_build), params initialized by
 * running @init on the interpreter, the optimizer state from cc_train_state_new, and a
 * batch callback that makes deterministic token ids per micro-batch.
 * Static functions only: each test program includes it once.
 */
#ifndef LLMC_STEP_HARNESS_H
#define LLMC_STEP_HARNESS_H

#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "frontend.h"
#include "test.h"

typedef struct Model {
    FeProgram *prog;
    IrModule m;       /* @forward, @init */
    CcTrainStep step; /* micro, update */
    CcVar *vars;      /* params (from @init) then state */
    uint32_t n_vars;
    int64_t vocab;    /* rows of the token table */
} Model;

static const IrGraph *model_graph(const Model *md, const char *name) {
    for (uint32_t i = 0; i < md->m.n_graphs; i++)
        if (strcmp(ir_graph_name(md->m.graphs[i]), name) == 0) return md->m.graphs[i];
    return NULL;
}

static void model_free(Model *md) {
    for (uint32_t i = 0; i < md->n_vars; i++) ir_value_free(&md->vars[i].value);
    free(md->vars);
    cc_train_step_free(&md->step);
    ir_module_free(&md->m);
    fe_program_free(md->prog);
    memset(md, 0, sizeof *md);
}

/* Lowers `text` (named `file` in messages) with the overrides, builds the step and the
 * initial vars. false (with a message on stderr) on any error. */
static bool model_load(Model *md, const char *file, const char *text, const FeOverride *ov, uint32_t n_ov) {
    memset(md, 0, sizeof *md);
    LlmcDiags d = {0};
    LlmcSource src = {file, text, strlen(text)};
    md->prog = fe_parse(&src, &d);
    FeLowerOptions opt = {ov, n_ov};
    if (!md->prog || !fe_lower(md->prog, &opt, &md->m, &d)) {
        fprintf(stderr, "%s: lowering failed\n", file);
        llmc_diags_print(&d, stderr);
        llmc_diags_free(&d);
        return false;
    }
    llmc_diags_free(&d);
    LlmcErr err = {0};
    if (!cc_train_step_build(&md->m, &md->step, &err)) {
        fprintf(stderr, "%s: cc_train_step_build: %s\n", file, err.msg);
        return false;
    }
    uint32_t n_state = 0;
    CcVar *state = cc_train_state_new(&md->step, &n_state, &err);
    if (!state) {
        fprintf(stderr, "%s: cc_train_state_new: %s\n", file, err.msg);
        return false;
    }
    /* params: run @init with the record's seed */
    const IrGraph *init = model_graph(md, "init"), *fwd = model_graph(md, "forward");
    uint32_t n_params = init ? init->n_outputs : 0;
    md->vars = llmc_xcalloc(n_params + n_state + 1, sizeof *md->vars);
    if (init) {
        IrValue seed;
        ir_value_alloc(&seed, ir_type_scalar(IR_DTYPE_I32));
        seed.data[0] = (double)fwd->train.seed;
        IrValue *out = llmc_xcalloc(n_params ? n_params : 1, sizeof *out);
        IrInterpOptions io = {.precision = IR_PRECISION_F32, .ranks = 1};
        bool ok = ir_interp_run(init, &io, &seed, out, &err);
        ir_value_free(&seed);
        if (!ok) {
            fprintf(stderr, "%s: @init: %s\n", file, err.msg);
            free(out);
            for (uint32_t i = 0; i < n_state; i++) ir_value_free(&state[i].value);
            free(state);
            return false;
        }
        for (uint32_t o = 0; o < n_params; o++) {
            md->vars[md->n_vars].name = ir_graph_str(init, init->outputs[o].name);
            md->vars[md->n_vars++].value = out[o];
        }
        free(out);
    }
    for (uint32_t i = 0; i < n_state; i++) md->vars[md->n_vars++] = state[i];
    free(state);
    for (IrId id = 0; id < fwd->n_nodes; id++) { /* the token table: the first gathered param */
        const IrNode *n = &fwd->nodes[id];
        if (n->op == IR_OP_GATHER && fwd->nodes[n->operands[0]].op == IR_OP_INPUT && !md->vocab)
            md->vocab = fwd->nodes[n->operands[0]].type.dims[0];
    }
    return true;
}

/* model_load of models/<name>.llm (relative to the source dir), without overrides. */
__attribute__((unused)) static bool model_load_named(Model *md, const char *name) {
    char path[256];
    snprintf(path, sizeof path, "models/%s.llm", name);
    char *text = NULL;
    size_t len = 0;
    LlmcErr err = {0};
    if (!llmc_file_read(path, &text, &len, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        memset(md, 0, sizeof *md);
        return false;
    }
    bool ok = model_load(md, path, text, NULL, 0);
    free(text);
    return ok;
}

__attribute__((unused)) static CcVar *model_var(Model *md, const char *name) {
    for (uint32_t i = 0; i < md->n_vars; i++)
        if (strcmp(md->vars[i].name, name) == 0) return &md->vars[i];
    return NULL;
}

/* The batch callback: "tokens" and "targets" (i32 [batch, seq]) of micro-batch i as a
 * fixed function of (seed, i) — of seed alone when `same_every_micro` — in [0, vocab):
 * each row is a random sequence s_0..s_seq, tokens = s_0..s_{seq-1} and targets =
 * s_1..s_seq (the next token). */
typedef struct Data {
    int64_t vocab, batch, seq;
    uint32_t seed;
    bool same_every_micro;
} Data;

static Data data_for(const Model *md, uint32_t seed, bool same_every_micro) {
    const IrTrainConfig *t = &model_graph(md, "forward")->train;
    return (Data){md->vocab, t->batch, t->seq, seed, same_every_micro};
}

static bool data_batch(void *ctx, uint32_t micro, const char *input, IrValue *out, LlmcErr *err) {
    const Data *dt = ctx;
    bool targets = strcmp(input, "targets") == 0;
    if (!targets && strcmp(input, "tokens") != 0) {
        llmc_err_set(err, "no data for input '%s'", input);
        return false;
    }
    ir_value_alloc(out, ir_type_make(IR_DTYPE_I32, 2, (int64_t[]){dt->batch, dt->seq}));
    uint32_t s = dt->seed * 2654435761u + (dt->same_every_micro ? 0 : (micro + 1) * 40503u);
    for (int64_t b = 0; b < dt->batch; b++)
        for (int64_t i = 0; i <= dt->seq; i++) {
            s = s * 1664525u + 1013904223u;
            double tok = (double)((s >> 8) % (uint32_t)dt->vocab);
            if (!targets && i < dt->seq) out->data[b * dt->seq + i] = tok;
            if (targets && i > 0) out->data[b * dt->seq + i - 1] = tok;
        }
    return true;
}

#endif /* LLMC_STEP_HARNESS_H */
