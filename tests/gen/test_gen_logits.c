/* tests/gen/test_gen_logits.c MODEL — the inference graphs of models/MODEL.llm
 * (frontend/lower_infer.c) through the executor, with params from @init:
 *   - @logits, @prefill and @decode lower, verify and simplify; @logits' inputs are the
 *     params of @forward (same names, types, order) and tokens i32[1, T];
 *   - loss equivalence: the mean cross-entropy of @logits' output against targets equals
 *     @forward's loss (minus the MoE auxiliary terms) on the same params and tokens
 *     (batch 1), relative 1e-4;
 *   - KV cache (models without MoE, whose routing capacity depends on the token count):
 *     @prefill on a prompt of P tokens, then @decode token by token up to the context,
 *     give at every position the logits of @logits over the same prefix, relative 1e-4
 *     (f32). Also prints the decode and full-recompute tokens/s.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compiler.h"
#include "frontend.h"
#include "runtime.h"
#include "test.h"

static CcJit *jit;
static RtPool *pool;

typedef struct Named {
    const char *name;
    void *data;
} Named;
static Named vals[1024];
static uint32_t n_vals;

static void *val(const char *name) {
    for (uint32_t i = 0; i < n_vals; i++)
        if (strcmp(vals[i].name, name) == 0) return vals[i].data;
    return NULL;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static IrGraph *lower_kind(const FeProgram *p, const FeLowerOptions *lo, FeInferKind kind, int64_t seq) {
    IrModule m = {0};
    LlmcDiags d = {0};
    IrGraph *s = NULL;
    if (fe_lower_inference(p, lo, kind, seq, &m, &d)) {
        LlmcErr err = {0};
        s = cc_pass_simplify(m.graphs[0], &err);
        if (!s) fprintf(stderr, "simplify @%s: %s\n", fe_infer_graph_name(kind), err.msg);
    }
    llmc_diags_print(&d, stderr);
    llmc_diags_free(&d);
    ir_module_free(&m);
    CHECK(s != NULL);
    return s;
}

/* Binds g's inputs: params and others by name from vals (made zeroed when new). */
static void **inputs_of(const IrGraph *g) {
    uint32_t n = ir_graph_inputs(g, NULL);
    IrId *ids = calloc(n + 1, sizeof *ids);
    ir_graph_inputs(g, ids);
    void **in = calloc(n + 1, sizeof *in);
    for (uint32_t i = 0; i < n; i++) {
        const IrNode *node = &g->nodes[ids[i]];
        const char *name = ir_graph_str(g, node->attrs.input.name);
        in[i] = val(name);
        if (!in[i]) {
            vals[n_vals] = (Named){name, calloc(1, ir_type_bytes(&node->type) + 8)};
            in[i] = vals[n_vals++].data;
        }
    }
    free(ids);
    return in;
}

static RtExec *exec_of(const IrGraph *g) {
    LlmcErr err = {0};
    RtExec *e = rt_exec_new(jit, g, pool, &err);
    if (!e) fprintf(stderr, "rt_exec_new @%s: %s\n", ir_graph_name(g), err.msg);
    CHECK(e != NULL);
    return e;
}

static bool run(RtExec *e, void **in, void **out) {
    LlmcErr err = {0};
    bool ok = rt_exec_run(e, in, out, &err);
    if (!ok) fprintf(stderr, "rt_exec_run: %s\n", err.msg);
    CHECK(ok);
    return ok;
}

static int output_index(const IrGraph *g, const char *name) {
    for (uint32_t o = 0; o < g->n_outputs; o++)
        if (strcmp(ir_graph_str(g, g->outputs[o].name), name) == 0) return (int)o;
    return -1;
}

int main(int argc, char **argv) {
    const char *model = argc > 1 ? argv[1] : "gpt2-tiny";
    char path[256];
    snprintf(path, sizeof path, "models/%s.llm", model);
    char *text = NULL;
    size_t len = 0;
    LlmcErr err = {0};
    if (!llmc_file_read(path, &text, &len, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    LlmcSource src = {path, text, len};
    LlmcDiags d = {0};
    FeProgram *p = fe_parse(&src, &d);
    CHECK(p != NULL);
    jit = cc_jit_new(&err);
    CcObjCache *cache = cc_objcache_open(NULL, &err);
    if (cache) cc_jit_set_cache(jit, cache);
    pool = rt_pool_new(2, &err);
    if (!p || !jit || !pool) TEST_MAIN();

    /* @forward at batch 1 (seq from the train block) and its params from @init */
    FeOverride ov[1] = {{"batch", "1"}};
    FeLowerOptions lo = {ov, 1};
    IrModule fm = {0};
    CHECK(fe_lower(p, &lo, &fm, &d));
    llmc_diags_print(&d, stderr);
    if (fm.n_graphs < 2) TEST_MAIN();
    const IrGraph *fwd = fm.graphs[0], *init = fm.graphs[1];
    for (uint32_t o = 0; o < init->n_outputs; o++) {
        const IrType *t = &init->nodes[init->outputs[o].node].type;
        vals[n_vals++] = (Named){ir_graph_str(init, init->outputs[o].name), calloc(1, ir_type_bytes(t) + 8)};
    }
    int32_t seed = 5;
    RtExec *ie = exec_of(init);
    void **iout = calloc(init->n_outputs + 1, sizeof *iout);
    for (uint32_t o = 0; o < init->n_outputs; o++) iout[o] = val(ir_graph_str(init, init->outputs[o].name));
    void *iin[1] = {&seed};
    if (ie) run(ie, iin, iout);
    free(iout);
    rt_exec_free(ie);

    IrId ftok = ir_graph_find_input(fwd, "tokens");
    int64_t T = fwd->nodes[ftok].type.dims[1];

    /* @logits at seq T: inputs are @forward's params in order, then tokens */
    IrGraph *lg = lower_kind(p, &lo, FE_INFER_LOGITS, T);
    IrGraph *pre = lower_kind(p, &lo, FE_INFER_PREFILL, 0);
    IrGraph *dec = lower_kind(p, &lo, FE_INFER_DECODE, 0);
    IrGraph *full = lower_kind(p, &lo, FE_INFER_LOGITS, 0);
    if (!lg || !pre || !dec || !full) TEST_MAIN();
    uint32_t nf = ir_graph_inputs(fwd, NULL), nl = ir_graph_inputs(lg, NULL);
    IrId *fid = calloc(nf + 1, sizeof *fid), *lid = calloc(nl + 1, sizeof *lid);
    ir_graph_inputs(fwd, fid);
    ir_graph_inputs(lg, lid);
    uint32_t np = 0;
    while (np < nf && fwd->nodes[fid[np]].attrs.input.role == IR_ROLE_PARAM) np++;
    CHECK_EQ_INT(nl, np + 1);
    for (uint32_t i = 0; i < np && i < nl; i++) {
        CHECK_STR(ir_graph_str(lg, lg->nodes[lid[i]].attrs.input.name), ir_graph_str(fwd, fwd->nodes[fid[i]].attrs.input.name));
        CHECK(ir_type_equal(&lg->nodes[lid[i]].type, &fwd->nodes[fid[i]].type));
    }
    if (nl) CHECK_STR(ir_graph_str(lg, lg->nodes[lid[nl - 1]].attrs.input.name), "tokens");
    free(fid);
    free(lid);
    CHECK_EQ_INT(lg->n_outputs, 1);
    const IrType *lt = &lg->nodes[lg->outputs[0].node].type;
    int64_t V = lt->dims[2];
    CHECK_EQ_INT(lt->rank, 3);
    CHECK_EQ_INT(lt->dims[1], T);

    /* loss equivalence */
    int32_t *tokens = calloc((size_t)T, sizeof *tokens), *targets = calloc((size_t)T, sizeof *targets);
    vals[n_vals++] = (Named){"tokens", tokens};
    vals[n_vals++] = (Named){"targets", targets};
    srand(17);
    for (int64_t i = 0; i < T; i++) tokens[i] = rand() % (int)V, targets[i] = rand() % (int)V;
    RtExec *fe = exec_of(fwd), *le = exec_of(lg);
    float *fout = calloc(fwd->n_outputs + 1, sizeof *fout);
    void **fo = calloc(fwd->n_outputs + 1, sizeof *fo);
    for (uint32_t o = 0; o < fwd->n_outputs; o++) fo[o] = &fout[o];
    float *logits = calloc((size_t)(T * V), sizeof *logits);
    void *lo_out[1] = {logits};
    void **fin = inputs_of(fwd), **lin = inputs_of(lg);
    if (fe && le && run(fe, fin, fo) && run(le, lin, lo_out)) {
        double ce = 0;
        for (int64_t t = 0; t < T; t++) {
            const float *row = logits + t * V;
            double mx = row[0], s = 0;
            for (int64_t v = 1; v < V; v++) mx = row[v] > mx ? row[v] : mx;
            for (int64_t v = 0; v < V; v++) s += exp(row[v] - mx);
            ce += mx + log(s) - row[targets[t]];
        }
        ce /= (double)T;
        int li = output_index(fwd, "loss"), ai = output_index(fwd, "moe_aux_loss");
        double loss = fout[li] - (ai >= 0 ? fout[ai] : 0.0);
        fprintf(stderr, "%s: @forward loss %.7f, cross-entropy of @logits %.7f\n", model, loss, ce);
        CHECK_CLOSE(ce, loss, 1e-4);
    }
    free(fin);
    free(lin);
    free(fo);
    free(fout);
    rt_exec_free(fe);
    rt_exec_free(le);

    /* KV cache against the full pass, at every position */
    bool moe = output_index(fwd, "moe_aux_loss") >= 0;
    int64_t C = full->nodes[ir_graph_find_input(full, "tokens")].type.dims[1];
    CHECK_EQ_INT(pre->nodes[ir_graph_find_input(pre, "tokens")].type.dims[1], C);
    CHECK(ir_graph_find_input(dec, "pos") != IR_ID_NONE);
    CHECK(dec->n_outputs > 1);
    for (uint32_t o = 1; o < dec->n_outputs; o++) /* every cache written back */
        CHECK(ir_graph_find_input(dec, ir_graph_str(dec, dec->outputs[o].name)) != IR_ID_NONE);
    if (!moe) {
        int32_t *seqt = calloc((size_t)C, sizeof *seqt), *ptok = calloc((size_t)C, sizeof *ptok), one = 0, pos = 0;
        for (int64_t i = 0; i < C; i++) seqt[i] = rand() % (int)V;
        float *want = calloc((size_t)(C * V), sizeof *want), *got = calloc((size_t)V, sizeof *got);
        RtExec *xe = exec_of(full), *pe = exec_of(pre), *de = exec_of(dec);
        /* full */
        for (uint32_t i = 0; i < n_vals; i++)
            if (strcmp(vals[i].name, "tokens") == 0) vals[i].data = seqt;
        void **xin = inputs_of(full), *xout[1] = {want};
        bool ok = xe && pe && de && run(xe, xin, xout);
        double t0 = now_s();
        for (int r = 0; ok && r < 4; r++) ok = run(xe, xin, xout);
        double full_s = (now_s() - t0) / 4;
        free(xin);
        /* prefill over P tokens, the rest padded */
        int64_t P = 5 < C ? 5 : C;
        for (int64_t i = 0; i < P; i++) ptok[i] = seqt[i];
        for (uint32_t i = 0; i < n_vals; i++)
            if (strcmp(vals[i].name, "tokens") == 0) vals[i].data = ptok;
        vals[n_vals++] = (Named){"pos", &pos};
        pos = (int32_t)(P - 1);
        void **pin = inputs_of(pre);
        void **pout = calloc(pre->n_outputs + 1, sizeof *pout);
        pout[0] = got;
        for (uint32_t o = 1; o < pre->n_outputs; o++) { /* the caches: decode's inputs */
            const char *name = ir_graph_str(pre, pre->outputs[o].name);
            pout[o] = val(name);
            if (!pout[o]) {
                const IrType *t = &pre->nodes[pre->outputs[o].node].type;
                vals[n_vals] = (Named){name, calloc(1, ir_type_bytes(t) + 8)};
                pout[o] = vals[n_vals++].data;
            }
        }
        double worst = 0;
        int bad = 0;
        if (ok && run(pe, pin, pout)) {
            for (int64_t v = 0; v < V; v++) {
                double a = got[v], b = want[(P - 1) * V + v], e = fabs(a - b) / fmax(1.0, fabs(b));
                worst = fmax(worst, e);
            }
            for (uint32_t i = 0; i < n_vals; i++)
                if (strcmp(vals[i].name, "tokens") == 0) vals[i].data = &one;
            void **din = inputs_of(dec);
            void **dout = calloc(dec->n_outputs + 1, sizeof *dout);
            dout[0] = got;
            double td = now_s();
            for (int64_t q = P; q < C && ok; q++) {
                one = seqt[q];
                pos = (int32_t)q;
                ok = run(de, din, dout);
                for (int64_t v = 0; ok && v < V; v++) {
                    double a = got[v], b = want[q * V + v], e = fabs(a - b) / fmax(1.0, fabs(b));
                    if (e > 1e-4 && bad++ < 5)
                        fprintf(stderr, "position %lld, logit %lld: decode %.7g, full %.7g\n", (long long)q, (long long)v,
                                a, b);
                    worst = fmax(worst, e);
                }
            }
            double dec_s = (now_s() - td) / (double)(C - P);
            fprintf(stderr, "%s: KV cache vs full pass over %lld positions: worst relative difference %.3g; "
                            "decode %.0f tokens/s, full recompute (context %lld) %.0f tokens/s\n",
                    model, (long long)C, worst, 1.0 / dec_s, (long long)C, 1.0 / full_s);
            free(din);
            free(dout);
        }
        CHECK(worst <= 1e-4);
        CHECK_EQ_INT(bad, 0);
        free(pin);
        free(pout);
        rt_exec_free(xe);
        rt_exec_free(pe);
        rt_exec_free(de);
        free(want);
        free(got);
        free(seqt);
        free(ptok);
    }
    ir_graph_free(lg);
    ir_graph_free(pre);
    ir_graph_free(dec);
    ir_graph_free(full);
    ir_module_free(&fm);
    llmc_diags_free(&d);
    fe_program_free(p);
    free(text);
    rt_pool_free(pool);
    cc_objcache_free(cache);
    cc_jit_free(jit);
    TEST_MAIN();
}
