/* tests/bench/bench_step.c — training-step throughput through JIT code (runtime/train.c)
 * against the reference interpreter on the same machine, in one run. Not a test: it
 * prints what it measured.
 *
 * Per model: kernels and compiled functions per step (@micro + @update), the JIT compile
 * time cold (an empty object cache: codegen + optimization + object emission) and cached
 * (a new JIT loading every kernel from that cache), tokens/s of the interpreter (f32,
 * one step), and of the JIT on 1 thread and on every core (after a warm-up step).
 *
 * Usage: bench_step [--steps N] [MODEL ...]   (default: every tiny model; run from the
 *        source dir, models/MODEL.llm)
 */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "../step/step_harness.h"
#include "runtime.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A trainer on a fresh JIT using `cache`; *ms gets the compile time. */
static RtTrainer *trainer(CcJit **jit, CcObjCache *cache, RtPool *pool, Model *md, double *ms) {
    LlmcErr err = {0};
    *jit = cc_jit_new(&err);
    if (!*jit) return NULL;
    cc_jit_set_cache(*jit, cache);
    double t0 = now_s();
    RtTrainer *t = rt_trainer_new(*jit, &md->step, pool, md->vars, md->n_vars, &err);
    *ms = (now_s() - t0) * 1e3;
    if (!t) fprintf(stderr, "rt_trainer_new: %s\n", err.msg);
    return t;
}

static double jit_tokens_per_s(RtTrainer *t, Data *dt, int steps, double tokens) {
    CcStepResult r;
    LlmcErr err = {0};
    if (!rt_trainer_step(t, data_batch, dt, &r, &err)) return 0; /* warm-up */
    double t0 = now_s();
    for (int s = 0; s < steps; s++)
        if (!rt_trainer_step(t, data_batch, dt, &r, &err)) return 0;
    return tokens * steps / (now_s() - t0);
}

int main(int argc, char **argv) {
    static const char *const all[] = {"gpt2-tiny", "llama-tiny", "mqa-tiny", "transformer-tiny",
                                      "parallel-tiny", "moe-tiny", "moe-alt-tiny"};
    (void)test_checks; /* test.h comes with the harness; nothing is checked here */
    (void)test_failures;
    int steps = 10;
    const char *names[64];
    int n = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc) {
            steps = atoi(argv[++i]);
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf("usage: bench_step [--steps N] [MODEL ...]  (run from the source dir)\n");
            return 0;
        } else if (n < 64) {
            names[n++] = argv[i];
        }
    }
    if (!n)
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) names[n++] = all[i];
    if (steps < 1) steps = 1;
    LlmcErr err = {0};
    uint32_t cores = (uint32_t)sysconf(_SC_NPROCESSORS_ONLN);
    RtPool *pool1 = rt_pool_new(1, &err), *pooln = rt_pool_new(cores, &err);
    char dir[] = "/tmp/llmc-bench-XXXXXX";
    if (!pool1 || !pooln || !mkdtemp(dir)) {
        fprintf(stderr, "bench_step: setup failed\n");
        return 1;
    }
    printf("training steps, f32, %d timed steps after a warm-up; %u cores; JIT compile cold = empty cache\n\n", steps,
           cores);
    printf("%-17s %7s %9s %9s %9s %10s %10s %10s %8s\n", "model", "kernels", "functions", "cold ms", "cached ms",
           "interp t/s", "jit1 t/s", "jitN t/s", "jit1/int");
    for (int i = 0; i < n; i++) {
        Model md, ref;
        if (!model_load_named(&md, names[i]) || !model_load_named(&ref, names[i])) return 1;
        const IrTrainConfig *tc = &model_graph(&md, "forward")->train;
        double tokens = (double)tc->batch * tc->seq * tc->accumulate;
        Data dt = data_for(&md, 3, false);
        char sub[64];
        snprintf(sub, sizeof sub, "%s/%d", dir, i);
        CcObjCache *cache = cc_objcache_open(sub, &err);
        CcJit *jit_cold = NULL, *jit_warm = NULL;
        double cold_ms = 0, warm_ms = 0;
        RtTrainer *cold = cache ? trainer(&jit_cold, cache, pool1, &md, &cold_ms) : NULL;
        RtTrainer *warm = cold ? trainer(&jit_warm, cache, pooln, &md, &warm_ms) : NULL;
        if (!warm) return 1;
        RtExecStats a = rt_exec_stats(rt_trainer_exec(cold, false)), b = rt_exec_stats(rt_trainer_exec(cold, true));
        double t0 = now_s();
        CcStepResult r;
        bool ok = cc_step_interp(&ref.step, ref.vars, ref.n_vars, data_batch, &dt, IR_PRECISION_F32, &r, &err);
        double interp = ok ? tokens / (now_s() - t0) : 0;
        double jit1 = jit_tokens_per_s(cold, &dt, steps, tokens);
        double jitn = jit_tokens_per_s(warm, &dt, steps, tokens);
        printf("%-17s %7u %9u %9.0f %9.0f %10.0f %10.0f %10.0f %7.1fx\n", names[i], a.kernels + b.kernels,
               a.functions + b.functions, cold_ms, warm_ms, interp, jit1, jitn, interp > 0 ? jit1 / interp : 0);
        fflush(stdout);
        rt_trainer_free(cold);
        rt_trainer_free(warm);
        cc_jit_free(jit_cold);
        cc_jit_free(jit_warm);
        cc_objcache_free(cache);
        model_free(&md);
        model_free(&ref);
    }
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "bench_step: could not remove %s\n", dir);
    rt_pool_free(pool1);
    rt_pool_free(pooln);
    return 0;
}
