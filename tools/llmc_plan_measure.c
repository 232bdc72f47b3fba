/* tools/llmc_plan_measure.c — what `llmc plan` measures rather than counts: the machine's
 * training throughput, from a run's metrics.jsonl or from a short calibration (cached),
 * and the tokens of a data folder.
 *
 * Metrics: llmrun writes one line per step with the tokens seen and the seconds since it
 * started (elapsed_s, restarted by a resume). The throughput is the median over step
 * intervals of tokens / seconds, leaving out each start's first two steps (warm-up: the
 * first kernels touch cold memory), so evaluation steps and noise do not move it much.
 *
 * Calibration: the step is built and trained as llmrun does (rt_trainer over the JIT
 * kernels, through the kernel cache) for 5 optimizer steps on random tokens with random
 * params; the last 3 are timed and their median kept (a model whose steps take
 * milliseconds runs more, up to a second or 100 steps, so noise does not decide). Values do not change the time a
 * kernel takes (no data-dependent paths), so random ones measure the real step. The
 * result is cached as JSON next to the kernel objects, keyed by what decides it: the
 * model text, the overrides, the threads and the JIT's target (CPU, features, LLVM).
 *
 * Deliberately not here: what the times mean for a plan (llmc_plan.c), MPI (a calibration
 * runs one rank; --metrics of a multi-rank run gives that run's global throughput).
 */
#include "llmc_plan_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CALIB_STEPS 5   /* optimizer steps run at least */
#define CALIB_TIMED 3   /* the last ones, timed */
#define CALIB_MIN_S 1.0 /* ... and more while the timed ones add up to less */
#define CALIB_MAX 100
#define CALIB_FORMAT "llmc-plan-calibration"
#define CALIB_VERSION 1

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, uint32_t n) {
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static bool json_number(const RtJson *obj, const char *key, double *out) {
    const RtJson *v = rt_json_get(obj, key);
    if (!v || v->kind != RT_JSON_NUMBER) return false;
    *out = v->number;
    return true;
}

/* --- metrics --------------------------------------------------------------------------- */

/* The model hash in RUN_DIR's latest checkpoint manifest, if there is one ("" otherwise:
 * a run without checkpoints is fine). */
static void run_model_hash(const char *dir, char hash[17]) {
    hash[0] = 0;
    char path[4096], *text = NULL;
    size_t len = 0;
    LlmcErr e = {0};
    snprintf(path, sizeof path, "%s/latest", dir);
    if (!llmc_file_read(path, &text, &len, &e)) return;
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r')) text[--len] = 0;
    if (!len || strchr(text, '/')) {
        free(text);
        return;
    }
    snprintf(path, sizeof path, "%s/%s/manifest.json", dir, text);
    free(text);
    if (!llmc_file_read(path, &text, &len, &e)) return;
    RtJson *j = NULL;
    if (rt_json_parse(text, len, path, &j, &e)) {
        const RtJson *h = rt_json_get(j, "model_hash");
        if (h && h->kind == RT_JSON_STRING && h->str_len == 16) memcpy(hash, h->str, 17);
    }
    rt_json_free(j);
    free(text);
}

bool plan_metrics_read(const char *path, PlanThroughput *out, LlmcErr *err) {
    memset(out, 0, sizeof *out);
    struct stat st;
    bool dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
    snprintf(out->where, sizeof out->where, dir ? "%s/metrics.jsonl" : "%s", path);
    char *text = NULL;
    size_t len = 0;
    if (!llmc_file_read(out->where, &text, &len, err)) return false;
    double *rates = NULL;
    uint32_t n_rates = 0, cap = 0, line_no = 0, in_run = 0;
    double prev_step = 0, prev_tokens = 0, prev_elapsed = 0;
    bool ok = true;
    out->ranks = 1;
    for (char *line = text; ok && line < text + len;) {
        char *nl = memchr(line, '\n', (size_t)(text + len - line));
        size_t n = nl ? (size_t)(nl - line) : (size_t)(text + len - line);
        line_no++;
        char *next = nl ? nl + 1 : text + len;
        if (n == 0) {
            line = next;
            continue;
        }
        char name[4200];
        snprintf(name, sizeof name, "%s:%u", out->where, line_no);
        RtJson *j = NULL;
        LlmcErr je = {0};
        double step, tokens, elapsed, ranks;
        if (!rt_json_parse(line, n, name, &j, &je)) {
            llmc_err_set(err, "%s (not a metrics.jsonl of llmrun?)", je.msg);
            ok = false;
        } else if (!json_number(j, "step", &step) || !json_number(j, "tokens", &tokens) ||
                   !json_number(j, "elapsed_s", &elapsed)) {
            llmc_err_set(err, "%s: no numbers 'step', 'tokens' and 'elapsed_s' (not a metrics.jsonl of llmrun?)", name);
            ok = false;
        } else {
            if (json_number(j, "ranks", &ranks) && ranks >= 1) out->ranks = (uint32_t)ranks;
            if (in_run && step > prev_step && elapsed > prev_elapsed && tokens > prev_tokens) {
                /* the interval ending at this run's third line or later: past the warm-up */
                if (in_run >= 2) {
                    if (n_rates == cap) rates = llmc_xrealloc(rates, (cap = cap ? 2 * cap : 64) * sizeof *rates);
                    rates[n_rates++] = (tokens - prev_tokens) / (elapsed - prev_elapsed);
                }
                out->run_tokens_per_step = (int64_t)llround((tokens - prev_tokens) / (step - prev_step));
                in_run++;
            } else {
                in_run = 1; /* the first line, or a resumed run's restart */
            }
            prev_step = step, prev_tokens = tokens, prev_elapsed = elapsed;
        }
        rt_json_free(j);
        line = next;
    }
    free(text);
    if (ok && !n_rates) {
        llmc_err_set(err, "%s: too few steps to measure (the first 2 of a run are warm-up; run at least 4)", out->where);
        ok = false;
    }
    if (ok) {
        out->tokens_per_s = median(rates, n_rates);
        out->samples = n_rates;
        out->have = true;
        if (dir) run_model_hash(path, out->run_model_hash);
    }
    free(rates);
    return ok;
}

/* --- calibration ----------------------------------------------------------------------- */

/* The calibration's random numbers: splitmix64. */
static uint64_t mix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *s) { return (double)(mix(s) >> 11) * 0x1.0p-53; }

/* The data inputs' values: random ids below the vocabulary for i32, uniform [0, 1) for
 * anything else, allocated from @micro's input of that name. */
typedef struct DataCtx {
    uint64_t rng;
    int64_t vocab; /* rows of the first gathered table: the token range */
    const IrGraph *micro;
} DataCtx;

static bool data_batch(void *ctx, uint32_t micro_index, const char *input, IrValue *out, LlmcErr *err) {
    DataCtx *d = ctx;
    (void)micro_index;
    const IrGraph *g = d->micro;
    for (IrId id = 0; id < g->n_nodes; id++) {
        const IrNode *n = ir_graph_node(g, id);
        if (n->op != IR_OP_INPUT || n->attrs.input.role != IR_ROLE_DATA) continue;
        if (strcmp(ir_graph_str(g, n->attrs.input.name), input) != 0) continue;
        ir_value_alloc(out, n->type);
        int64_t count = ir_type_numel(&n->type);
        for (int64_t i = 0; i < count; i++)
            out->data[i] = n->type.dtype == IR_DTYPE_I32
                               ? (double)(mix(&d->rng) % (uint64_t)(d->vocab > 0 ? d->vocab : 1))
                               : uniform(&d->rng);
        return true;
    }
    llmc_err_set(err, "the step asks for data input '%s', which @micro does not have", input);
    return false;
}

/* Every param input of the step's two graphs once, unfilled (zeros), then the state. */
static CcVar *step_vars(const CcTrainStep *s, uint32_t *n, LlmcErr *err) {
    uint32_t n_state = 0;
    CcVar *state = cc_train_state_new(s, &n_state, err);
    if (!state) return NULL;
    const IrGraph *gs[2] = {s->micro, s->update};
    uint32_t cap = n_state + 1;
    for (int k = 0; k < 2; k++) cap += ir_graph_inputs(gs[k], NULL);
    CcVar *vars = llmc_xcalloc(cap, sizeof *vars);
    *n = 0;
    for (int k = 0; k < 2; k++)
        for (IrId id = 0; id < gs[k]->n_nodes; id++) {
            const IrNode *node = ir_graph_node(gs[k], id);
            if (node->op != IR_OP_INPUT || node->attrs.input.role != IR_ROLE_PARAM) continue;
            const char *name = ir_graph_str(gs[k], node->attrs.input.name);
            bool seen = false;
            for (uint32_t j = 0; j < *n && !seen; j++) seen = strcmp(vars[j].name, name) == 0;
            if (!seen) vars[(*n)++] = (CcVar){name, {node->type, NULL}};
        }
    for (uint32_t i = 0; i < n_state; i++) vars[(*n)++] = state[i];
    free(state);
    return vars;
}

static uint64_t available_bytes(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    unsigned long long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) break;
    if (f) fclose(f);
    if (kb) return (uint64_t)kb * 1024;
    long pages = sysconf(_SC_AVPHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : UINT64_MAX;
}

/* Reads a cache file back; false when it is missing or not one of ours (then recomputed). */
static bool calib_read(const char *path, PlanThroughput *out) {
    char *text = NULL;
    size_t len = 0;
    LlmcErr e = {0};
    if (!llmc_file_read(path, &text, &len, &e)) return false;
    RtJson *j = NULL;
    bool ok = rt_json_parse(text, len, path, &j, &e);
    double tps = 0, samples = 0, threads = 0, compile = 0;
    const RtJson *fmt = ok ? rt_json_get(j, "format") : NULL, *cpu = ok ? rt_json_get(j, "cpu") : NULL;
    ok = ok && fmt && fmt->kind == RT_JSON_STRING && strcmp(fmt->str, CALIB_FORMAT) == 0 &&
         json_number(j, "tokens_per_s", &tps) && tps > 0 && json_number(j, "steps_timed", &samples) &&
         json_number(j, "threads", &threads) && json_number(j, "compile_s", &compile) && cpu &&
         cpu->kind == RT_JSON_STRING;
    if (ok) {
        out->tokens_per_s = tps;
        out->samples = (uint32_t)samples;
        out->threads = (uint32_t)threads;
        out->compile_s = compile;
        snprintf(out->cpu, sizeof out->cpu, "%s", cpu->str);
    }
    rt_json_free(j);
    free(text);
    return ok;
}

static void calib_write(const char *path, const IrGraph *micro, const PlanThroughput *t, double seconds_per_step) {
    LlmcBuf b = {0};
    RtJsonWriter w;
    rt_json_writer_init(&w, &b, RT_JSON_PRETTY);
    rt_json_begin_object(&w);
    rt_json_key(&w, "format"), rt_json_string(&w, CALIB_FORMAT);
    rt_json_key(&w, "version"), rt_json_int(&w, CALIB_VERSION);
    rt_json_key(&w, "model"), rt_json_string(&w, ir_graph_str(micro, micro->train.model));
    rt_json_key(&w, "tokens_per_step"),
        rt_json_int(&w, micro->train.batch * micro->train.seq * micro->train.accumulate);
    rt_json_key(&w, "cpu"), rt_json_string(&w, t->cpu);
    rt_json_key(&w, "threads"), rt_json_int(&w, t->threads);
    rt_json_key(&w, "steps_timed"), rt_json_int(&w, t->samples);
    rt_json_key(&w, "seconds_per_step"), rt_json_double(&w, seconds_per_step);
    rt_json_key(&w, "tokens_per_s"), rt_json_double(&w, t->tokens_per_s);
    rt_json_key(&w, "compile_s"), rt_json_double(&w, t->compile_s);
    rt_json_end_object(&w);
    llmc_buf_putc(&b, '\n');
    LlmcErr e = {0};
    if (!llmc_file_write(path, b.data, b.len, &e))
        fprintf(stderr, "llmc plan: warning: the calibration is not cached: %s\n", e.msg);
    llmc_buf_free(&b);
}

/* Trains 5 steps and times the last 3, or more (the median step). */
static bool calib_run(CcJit *jit, const CcTrainStep *s, uint32_t threads, PlanThroughput *out, double *spstep,
                      LlmcErr *err) {
    RtPool *pool = rt_pool_new(threads, err);
    if (!pool) return false;
    out->threads = rt_pool_threads(pool);
    uint32_t n_vars = 0;
    CcVar *vars = step_vars(s, &n_vars, err);
    RtTrainer *t = NULL;
    double t0 = now_s();
    if (vars) {
        fprintf(stderr, "llmc plan: calibrating: compiling the step ...\n");
        t = rt_trainer_new(jit, s, pool, vars, n_vars, err);
    }
    out->compile_s = now_s() - t0;
    DataCtx d = {0x6c6c6d63706c616eull, 0, s->micro}; /* "llmcplan" */
    for (IrId id = 0; id < s->micro->n_nodes && !d.vocab; id++) {
        const IrNode *n = ir_graph_node(s->micro, id);
        if (n->op == IR_OP_GATHER) d.vocab = ir_graph_node(s->micro, n->operands[0])->type.dims[0];
    }
    bool ok = t != NULL;
    /* params: small uniform values (zeros would be as fast, but a real step's are not zeros) */
    for (uint32_t i = 0; ok && i < n_vars; i++) {
        IrType type;
        void *p = rt_trainer_var_data(t, vars[i].name, &type);
        if (!p || vars[i].value.data || type.dtype != IR_DTYPE_F32) continue;
        float *f = p;
        for (int64_t k = 0; k < ir_type_numel(&type); k++) f[k] = (float)(0.04 * uniform(&d.rng) - 0.02);
    }
    /* CALIB_STEPS - CALIB_TIMED warm-up steps, then at least CALIB_TIMED timed ones, more
     * (up to CALIB_MAX) while they add up to less than CALIB_MIN_S: a tiny model's steps
     * take milliseconds, and one scheduler hiccup would be its whole measurement */
    double times[CALIB_MAX], timed = 0;
    uint32_t n = 0;
    if (ok) fprintf(stderr, "llmc plan: calibrating: %d warm-up steps, then at least %d timed ...\n",
                    CALIB_STEPS - CALIB_TIMED, CALIB_TIMED);
    for (int k = 0; ok && (k < CALIB_STEPS || (timed < CALIB_MIN_S && n < CALIB_MAX)); k++) {
        CcStepResult res;
        double a = now_s();
        ok = rt_trainer_step(t, data_batch, &d, &res, err);
        if (k >= CALIB_STEPS - CALIB_TIMED) times[n++] = now_s() - a, timed += times[n - 1];
    }
    if (ok) {
        *spstep = median(times, n);
        const IrTrainConfig *tc = &s->micro->train;
        out->tokens_per_s = (double)(tc->batch * tc->seq * tc->accumulate) / *spstep;
        out->samples = n;
    }
    rt_trainer_free(t);
    for (uint32_t i = 0; vars && i < n_vars; i++) ir_value_free(&vars[i].value);
    free(vars);
    rt_pool_free(pool);
    return ok;
}

bool plan_calibrate(const CcTrainStep *step, const char *model_text, size_t model_len, const FeOverride *ov,
                    uint32_t n_ov, uint32_t threads, uint64_t need_bytes, PlanThroughput *out, LlmcErr *err) {
    memset(out, 0, sizeof *out);
    out->calibrated = true;
    out->ranks = 1;
    if (!threads) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        threads = c > 0 ? (uint32_t)c : 1;
    }
    CcJit *jit = cc_jit_new(err);
    if (!jit) return false;
    snprintf(out->cpu, sizeof out->cpu, "%s", cc_jit_cpu(jit, NULL));
    /* the key: everything the measurement depends on */
    char *target = cc_objcache_target(jit);
    LlmcBuf key = {0};
    llmc_buf_printf(&key, "%s %d\n%s", CALIB_FORMAT, CALIB_VERSION, target);
    free(target);
    llmc_buf_printf(&key, "threads %u\nmodel %zu\n", threads, model_len);
    llmc_buf_put(&key, model_text, model_len);
    for (uint32_t i = 0; i < n_ov; i++) llmc_buf_printf(&key, "\n-D %s=%s", ov[i].name, ov[i].value);
    uint64_t h = rt_checksum(key.data, key.len);
    llmc_buf_free(&key);
    LlmcErr ce = {0};
    CcObjCache *cache = cc_objcache_open(NULL, &ce);
    if (cache) {
        snprintf(out->where, sizeof out->where, "%s/plan-%016llx.json", cc_objcache_dir(cache), (unsigned long long)h);
        if (calib_read(out->where, out) && out->threads == threads) {
            out->cached = out->have = true;
            cc_objcache_free(cache);
            cc_jit_free(jit);
            return true;
        }
        snprintf(out->cpu, sizeof out->cpu, "%s", cc_jit_cpu(jit, NULL));
        cc_jit_set_cache(jit, cache);
    } else {
        fprintf(stderr, "llmc plan: warning: no kernel cache (%s): compiling everything, caching nothing\n", ce.msg);
    }
    uint64_t have = available_bytes();
    bool ok = true;
    if (need_bytes > have) {
        llmc_err_set(err, "cannot calibrate: the step needs %.2f GB but %.2f GB are available (try -D batch=... "
                          "and scale the time, or --metrics of a run)", (double)need_bytes / 1e9, (double)have / 1e9);
        ok = false;
    }
    double spstep = 0;
    ok = ok && calib_run(jit, step, threads, out, &spstep, err);
    if (ok) {
        out->have = true;
        if (cache) calib_write(out->where, step->micro, out, spstep);
        else out->where[0] = 0;
    }
    if (cache) llmc_diags_print(cc_objcache_diags(cache), stderr);
    cc_jit_free(jit);
    cc_objcache_free(cache);
    return ok;
}

/* --- data ------------------------------------------------------------------------------ */

bool plan_data_count(const char *dir, uint32_t vocab, uint64_t *tokens, uint32_t *shards, LlmcErr *err) {
    RtData *d = rt_data_open(dir, vocab, 0.0, err);
    if (!d) return false;
    *tokens = rt_data_tokens(d, false) + rt_data_tokens(d, true);
    *shards = rt_data_shards(d);
    rt_data_free(d);
    return true;
}
