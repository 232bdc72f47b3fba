/* tests/exec/test_train_jit.c — whole training steps through JIT code (runtime/exec.c,
 * runtime/train.c) against the reference interpreter (cc_step_interp, f32), for the
 * tiny model named on the command line:
 *   - @micro alone, executor vs interpreter on the same params and batch: the loss
 *     within 1e-5 relative, every gradient within 1e-4 by ||jit - ref|| / ||ref||;
 *   - one whole step (accumulation, clipping, schedule, AdamW, write-back in place):
 *     the loss within 1e-5, every updated param and moment within 1e-4;
 *   - 20 steps of each, the loss within 1e-4 relative at every step;
 *   - kernels come through the object cache in $LLMC_CACHE_DIR when it can be opened;
 *   - with "threads", a second and third trainer on 2 and 3 threads: after 3 steps every
 *     var is bit-identical to the 1-thread trainer's (and so is every loss).
 * Usage: test_train_jit MODEL [threads]   (run from the source dir: models/MODEL.llm)
 */
#include <math.h>
#include <stdio.h>

#include "../step/step_harness.h"
#include "runtime.h"

static int steps = 20;

/* Params whose gradient is zero in exact arithmetic, so that what either side computes
 * is rounding noise: the attention key bias (softmax is invariant to adding the same
 * q.bk to every score of a query row). Found from the reference: a gradient whose norm
 * is below ZERO_GRAD times the global gradient norm. Such a gradient is checked by that
 * absolute bound on both sides instead of a ratio; and its param and moments, which
 * AdamW moves by +-lr whatever the noise's size (m / sqrt(v) normalizes it), are left
 * out of the var comparison (listed on stderr). */
#define ZERO_GRAD 1e-6
static char zero_grad[64][128];
static int n_zero_grad;

static bool is_zero_grad_var(const char *var) {
    for (int i = 0; i < n_zero_grad; i++) {
        const char *p = zero_grad[i]; /* "grad.P": matches P, opt.m.P, opt.v.P */
        const char *param = p + strlen(CC_GRAD_PREFIX);
        size_t lv = strlen(var), lp = strlen(param);
        if (lv >= lp && strcmp(var + lv - lp, param) == 0 &&
            (lv == lp || strncmp(var, CC_ADAM_M_PREFIX, strlen(CC_ADAM_M_PREFIX)) == 0 ||
             strncmp(var, CC_ADAM_V_PREFIX, strlen(CC_ADAM_V_PREFIX)) == 0))
            return true;
    }
    return false;
}

static double norm_ratio(const IrValue *a, const IrValue *ref) {
    double d2 = 0, r2 = 0;
    for (int64_t i = 0; i < ir_type_numel(&ref->type); i++) {
        double d = a->data[i] - ref->data[i];
        d2 += d * d;
        r2 += ref->data[i] * ref->data[i];
    }
    return r2 > 0 ? sqrt(d2 / r2) : sqrt(d2);
}

static double sumsq(const IrValue *v) {
    double s = 0;
    for (int64_t i = 0; i < ir_type_numel(&v->type); i++) s += v->data[i] * v->data[i];
    return s;
}

static double rel(double a, double r) { return fabs(a - r) / fmax(fabs(r), 1e-30); }

/* @micro once through the executor and the interpreter, on micro-batch 0. */
static void check_micro(CcJit *jit, RtPool *pool, Model *md, Data *dt) {
    const IrGraph *g = md->step.micro;
    LlmcErr err = {0};
    RtExec *ex = rt_exec_new(jit, g, pool, &err);
    if (!ex) fprintf(stderr, "rt_exec_new @micro: %s\n", err.msg);
    CHECK(ex != NULL);
    if (!ex) return;
    uint32_t n_in = ir_graph_inputs(g, NULL);
    IrId *ids = calloc(n_in, sizeof *ids);
    ir_graph_inputs(g, ids);
    IrValue *in = calloc(n_in, sizeof *in);
    void **bufs = calloc(n_in, sizeof *bufs);
    for (uint32_t i = 0; i < n_in; i++) {
        const IrNode *n = &g->nodes[ids[i]];
        const char *name = ir_graph_str(g, n->attrs.input.name);
        CcVar *v = model_var(md, name);
        if (v) {
            ir_value_alloc(&in[i], v->value.type);
            memcpy(in[i].data, v->value.data, (size_t)ir_type_numel(&v->value.type) * sizeof(double));
        } else if (strcmp(name, "micro") == 0) {
            ir_value_alloc(&in[i], n->type);
        } else {
            CHECK(data_batch(dt, 0, name, &in[i], &err));
        }
        bufs[i] = rt_native_from_value(&in[i]);
    }
    IrValue *ref = calloc(g->n_outputs, sizeof *ref);
    void **outs = calloc(g->n_outputs, sizeof *outs);
    for (uint32_t o = 0; o < g->n_outputs; o++)
        outs[o] = calloc(1, ir_type_bytes(&g->nodes[g->outputs[o].node].type));
    IrInterpOptions io = {.precision = IR_PRECISION_F32, .ranks = 1};
    CHECK(ir_interp_run(g, &io, in, ref, &err));
    bool ran = rt_exec_run(ex, bufs, outs, &err);
    if (!ran) fprintf(stderr, "rt_exec_run @micro: %s\n", err.msg);
    CHECK(ran);
    double worst = 0, global2 = 0;
    for (uint32_t o = 0; o < g->n_outputs; o++)
        if (strncmp(ir_graph_str(g, g->outputs[o].name), CC_GRAD_PREFIX, strlen(CC_GRAD_PREFIX)) == 0)
            global2 += sumsq(&ref[o]);
    for (uint32_t o = 0; ran && o < g->n_outputs; o++) {
        IrValue got;
        rt_native_to_value(outs[o], ref[o].type, &got);
        const char *name = ir_graph_str(g, g->outputs[o].name);
        bool grad = strncmp(name, CC_GRAD_PREFIX, strlen(CC_GRAD_PREFIX)) == 0;
        if (grad && sqrt(sumsq(&ref[o])) < ZERO_GRAD * sqrt(global2)) {
            fprintf(stderr, "  %s is zero in exact arithmetic: |ref| %.2g, |jit| %.2g, global %.3g\n", name,
                    sqrt(sumsq(&ref[o])), sqrt(sumsq(&got)), sqrt(global2));
            CHECK(sqrt(sumsq(&got)) < ZERO_GRAD * sqrt(global2));
            if (n_zero_grad < 64) snprintf(zero_grad[n_zero_grad++], sizeof zero_grad[0], "%s", name);
            ir_value_free(&got);
            continue;
        }
        double r = strcmp(name, "loss") == 0 ? rel(got.data[0], ref[o].data[0]) : norm_ratio(&got, &ref[o]);
        double tol = strcmp(name, "loss") == 0 ? 1e-5 : 1e-4;
        if (r > tol) fprintf(stderr, "  @micro output %s: ratio %.3g > %g (ref norm %.3g)\n", name, r, tol, sqrt(sumsq(&ref[o])));
        CHECK(r <= tol);
        if (r > worst) worst = r;
        ir_value_free(&got);
    }
    RtExecStats st = rt_exec_stats(ex);
    fprintf(stderr, "  @micro: %u kernels, %u functions, arena %.2f MB, compiled in %.0f ms; worst output ratio %.2g\n",
            st.kernels, st.functions, st.arena_bytes / 1e6, st.compile_ms, worst);
    for (uint32_t o = 0; o < g->n_outputs; o++) {
        free(outs[o]);
        ir_value_free(&ref[o]);
    }
    for (uint32_t i = 0; i < n_in; i++) {
        free(bufs[i]);
        ir_value_free(&in[i]);
    }
    free(outs);
    free(ref);
    free(bufs);
    free(in);
    free(ids);
    rt_exec_free(ex);
}

static RtTrainer *trainer(CcJit *jit, RtPool *pool, Model *md) {
    LlmcErr err = {0};
    RtTrainer *t = rt_trainer_new(jit, &md->step, pool, md->vars, md->n_vars, &err);
    if (!t) fprintf(stderr, "rt_trainer_new: %s\n", err.msg);
    CHECK(t != NULL);
    return t;
}

/* Every var of t against md's (the interpreter's) after a step. */
static void compare_vars(const RtTrainer *t, Model *md, double tol, const char *when) {
    double worst = 0;
    const char *worst_name = "";
    for (uint32_t i = 0; i < md->n_vars; i++) {
        if (is_zero_grad_var(md->vars[i].name)) {
            fprintf(stderr, "  %s: var %s not compared (its gradient is rounding noise)\n", when, md->vars[i].name);
            continue;
        }
        IrValue got;
        CHECK(rt_trainer_var(t, md->vars[i].name, &got));
        double r = norm_ratio(&got, &md->vars[i].value);
        if (r > tol) fprintf(stderr, "  %s: var %s ratio %.3g > %g\n", when, md->vars[i].name, r, tol);
        CHECK(r <= tol);
        if (r > worst) {
            worst = r;
            worst_name = md->vars[i].name;
        }
        ir_value_free(&got);
    }
    fprintf(stderr, "  %s: %u vars, worst ratio %.2g (%s)\n", when, md->n_vars, worst, worst_name);
}

static bool same_vars(const RtTrainer *a, const RtTrainer *b, Model *md) {
    bool same = true;
    for (uint32_t i = 0; i < md->n_vars; i++) {
        IrValue x, y;
        CHECK(rt_trainer_var(a, md->vars[i].name, &x));
        CHECK(rt_trainer_var(b, md->vars[i].name, &y));
        bool eq = memcmp(x.data, y.data, (size_t)ir_type_numel(&x.type) * sizeof(double)) == 0;
        if (!eq) fprintf(stderr, "  var %s differs between thread counts\n", md->vars[i].name);
        same &= eq;
        ir_value_free(&x);
        ir_value_free(&y);
    }
    return same;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: test_train_jit MODEL [threads]\n");
        return 2;
    }
    const char *name = argv[1];
    bool threads = argc > 2 && strcmp(argv[2], "threads") == 0;
    Model ref, md;
    CHECK(model_load_named(&ref, name) && model_load_named(&md, name));
    LlmcErr err = {0};
    CcJit *jit = cc_jit_new(&err);
    RtPool *pool1 = rt_pool_new(1, &err);
    CHECK(jit && pool1);
    /* $LLMC_CACHE_DIR (set by tests/exec/tests.cmake): the models share many kernels */
    CcObjCache *cache = jit ? cc_objcache_open(NULL, &err) : NULL;
    if (cache) cc_jit_set_cache(jit, cache);
    if (!test_failures && !threads) {
        Data dt = data_for(&md, 7, false);
        fprintf(stderr, "%s:\n", name);
        check_micro(jit, pool1, &md, &dt);
        RtTrainer *t = trainer(jit, pool1, &md);
        for (int s = 0; t && s < steps; s++) {
            CcStepResult r_ref, r_jit;
            CHECK(cc_step_interp(&ref.step, ref.vars, ref.n_vars, data_batch, &dt, IR_PRECISION_F32, &r_ref, &err));
            bool ok = rt_trainer_step(t, data_batch, &dt, &r_jit, &err);
            if (!ok) fprintf(stderr, "rt_trainer_step: %s\n", err.msg);
            CHECK(ok);
            if (!ok) break;
            double tol = s == 0 ? 1e-5 : 1e-4;
            double r = rel(r_jit.loss, r_ref.loss);
            if (r > tol || s % 5 == 0 || s == steps - 1)
                fprintf(stderr, "  step %2d: loss jit %.7f ref %.7f (rel %.2g), lr %.3g/%.3g, norm %.5g/%.5g\n", s,
                        r_jit.loss, r_ref.loss, r, r_jit.lr, r_ref.lr, r_jit.grad_norm, r_ref.grad_norm);
            CHECK(r <= tol);
            CHECK(rel(r_jit.lr, r_ref.lr) <= 1e-6);
            if (s == 0) compare_vars(t, &ref, 1e-4, "after step 1");
        }
        rt_trainer_free(t);
    }
    if (!test_failures && threads) {
        Data dt = data_for(&md, 11, false);
        RtPool *pool2 = rt_pool_new(2, &err), *pool3 = rt_pool_new(3, &err);
        Model md2, md3;
        CHECK(model_load_named(&md2, name) && model_load_named(&md3, name));
        RtTrainer *t1 = trainer(jit, pool1, &md), *t2 = trainer(jit, pool2, &md2), *t3 = trainer(jit, pool3, &md3);
        for (int s = 0; t1 && t2 && t3 && s < 3; s++) {
            CcStepResult r1, r2, r3;
            CHECK(rt_trainer_step(t1, data_batch, &dt, &r1, &err));
            CHECK(rt_trainer_step(t2, data_batch, &dt, &r2, &err));
            CHECK(rt_trainer_step(t3, data_batch, &dt, &r3, &err));
            CHECK(memcmp(&r1, &r2, sizeof r1) == 0 && memcmp(&r1, &r3, sizeof r1) == 0);
            fprintf(stderr, "  step %d: loss %.9g / %.9g / %.9g on 1 / 2 / 3 threads\n", s, r1.loss, r2.loss, r3.loss);
        }
        if (t1 && t2 && t3) {
            CHECK(same_vars(t1, t2, &md));
            CHECK(same_vars(t1, t3, &md));
        }
        rt_trainer_free(t1);
        rt_trainer_free(t2);
        rt_trainer_free(t3);
        rt_pool_free(pool2);
        rt_pool_free(pool3);
        model_free(&md2);
        model_free(&md3);
    }
    rt_pool_free(pool1);
    cc_jit_free(jit);
    cc_objcache_free(cache);
    model_free(&ref);
    model_free(&md);
    TEST_MAIN();
}
