/* tests/step/test_overfit.c — every tiny model in models/ (*-tiny.llm) learns: trained on
 * the reference interpreter (f32) through cc_step_interp on one fixed batch for 50
 * steps, its loss falls below 10% of the initial loss.
 *
 * Each model is lowered with -D batch=2 -D seq=32 (the tiny models' own geometry, pinned
 * so that an edit to a model cannot slow this test down; ~25 s in all in Release),
 * -D accumulate=1 -D schedule=constant (no warmup), and the peak learning rate is raised
 * to 1e-2 through the update graph's hp.lr input — the point of hyperparameters being
 * inputs — not by recompiling (at the models' 1e-3, 50 steps reach only ~25%). Everything else (optimizer, betas, clipping, decay mask) is the
 * model's own recipe. The initial loss is the first step's; the final one is @forward
 * evaluated on the batch after the 50th update. Prints the curve's endpoints per model.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <time.h>

#include "step_harness.h"

enum { STEPS = 50 };
static const double LR = 1e-2;

/* @forward's "loss" on the batch with the current vars. */
static double eval_loss(Model *md, Data *data) {
    const IrGraph *fwd = model_graph(md, "forward");
    uint32_t n_in = ir_graph_inputs(fwd, NULL);
    IrId *ids = llmc_xcalloc(n_in, sizeof *ids);
    ir_graph_inputs(fwd, ids);
    IrValue *in = llmc_xcalloc(n_in, sizeof *in);
    bool *own = llmc_xcalloc(n_in, sizeof *own);
    bool ok = true;
    for (uint32_t k = 0; ok && k < n_in; k++) {
        const IrNode *node = &fwd->nodes[ids[k]];
        const char *name = ir_graph_str(fwd, node->attrs.input.name);
        LlmcErr e = {0};
        if (node->attrs.input.role == IR_ROLE_DATA) {
            own[k] = true;
            ok = data_batch(data, 0, name, &in[k], &e);
        } else {
            CcVar *v = model_var(md, name);
            ok = v != NULL;
            if (v) in[k] = v->value;
        }
    }
    IrValue *out = llmc_xcalloc(fwd->n_outputs, sizeof *out);
    IrInterpOptions opt = {.precision = IR_PRECISION_F32, .ranks = 1};
    LlmcErr err = {0};
    double loss = NAN;
    if (ok && ir_interp_run(fwd, &opt, in, out, &err)) {
        for (uint32_t o = 0; o < fwd->n_outputs; o++) {
            if (strcmp(ir_graph_str(fwd, fwd->outputs[o].name), "loss") == 0) loss = out[o].data[0];
            ir_value_free(&out[o]);
        }
    } else {
        fprintf(stderr, "eval_loss: %s\n", err.msg);
    }
    for (uint32_t k = 0; k < n_in; k++)
        if (own[k]) ir_value_free(&in[k]);
    free(in);
    free(own);
    free(out);
    free(ids);
    return loss;
}

static void overfit(const char *path) {
    char *text = NULL;
    size_t len = 0;
    LlmcErr err = {0};
    if (!llmc_file_read(path, &text, &len, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        CHECK(!"read model");
        return;
    }
    static const FeOverride ov[] = {
        {"batch", "2"}, {"seq", "32"}, {"accumulate", "1"}, {"schedule", "constant"}};
    Model md;
    clock_t t0 = clock();
    bool ok = model_load(&md, path, text, ov, sizeof ov / sizeof ov[0]);
    free(text);
    CHECK(ok);
    if (!ok) {
        model_free(&md);
        return;
    }
    CcVar *lr = model_var(&md, "hp.lr");
    CHECK(lr != NULL);
    if (lr) lr->value.data[0] = LR;
    Data data = data_for(&md, 12345, true);
    double first = NAN, last_step = NAN, grad_norm0 = NAN;
    for (int s = 0; s < STEPS; s++) {
        CcStepResult res;
        if (!cc_step_interp(&md.step, md.vars, md.n_vars, data_batch, &data, IR_PRECISION_F32, &res, &err)) {
            fprintf(stderr, "%s step %d: %s\n", path, s, err.msg);
            CHECK(!"cc_step_interp");
            break;
        }
        if (s == 0) {
            first = res.loss;
            grad_norm0 = res.grad_norm;
            CHECK_CLOSE(res.lr, LR, 1e-7);
        }
        last_step = res.loss;
        CHECK(isfinite(res.loss));
    }
    double final = eval_loss(&md, &data);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    IrStats st;
    ir_graph_stats(md.step.micro, &st);
    fprintf(stderr, "%-28s loss %.4f -> %.4f (%.1f%%) in %d steps (step 50 reported %.4f), grad_norm0 %.3f, "
                    "%llu params, micro %u nodes, %.1f s\n",
            path, first, final, 100 * final / first, STEPS, last_step, grad_norm0, (unsigned long long)st.n_params,
            st.n_nodes, secs);
    CHECK(final < 0.1 * first);
    model_free(&md);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
    /* optional: one model path as the argument */
    if (argc > 1) {
        overfit(argv[1]);
        TEST_MAIN();
    }
    DIR *d = opendir("models");
    CHECK(d != NULL);
    if (!d) TEST_MAIN();
    char *names[256];
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) && n < 256;) {
        size_t l = strlen(e->d_name);
        if (l > 9 && strcmp(e->d_name + l - 9, "-tiny.llm") == 0) {
            names[n] = llmc_xmalloc(l + 8);
            snprintf(names[n], l + 8, "models/%s", e->d_name);
            n++;
        }
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    CHECK(n >= 7);
    for (int i = 0; i < n; i++) {
        overfit(names[i]);
        free(names[i]);
    }
    TEST_MAIN();
}
