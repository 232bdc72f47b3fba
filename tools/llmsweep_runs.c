/* tools/llmsweep_runs.c — the records of a sweep's runs: the model's exact figures under
 * a run's overrides (lowered and differentiated here, as llmbench does), the results in
 * a run's metrics.jsonl, RUN_DIR/run.json, the summary table (aligned text and
 * summary.tsv), the listing of a sweep directory, and `llmsweep status`.
 *
 * Deliberately not here: starting or watching llmrun (llmsweep.c), fitting (llmsweep_fit.c).
 */
#include "compiler.h"
#include "llmsweep.h"
#include "runtime.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* --- small helpers ---------------------------------------------------------------------- */

char *sw_path_join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = llmc_xmalloc(n);
    snprintf(p, n, "%s%s%s", dir, dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/", name);
    return p;
}

bool sw_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool sw_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

const char *sw_status_name(SwStatus s) {
    switch (s) {
    case SW_STATUS_PENDING: return "pending";
    case SW_STATUS_RUNNING: return "running";
    case SW_STATUS_DONE: return "done";
    case SW_STATUS_FAILED: return "failed";
    case SW_STATUS_INTERRUPTED: return "interrupted";
    case SW_STATUS_INCOMPLETE: return "incomplete";
    case SW_STATUS_INVALID:
    case SW_STATUS_COUNT: break;
    }
    return "?";
}

void sw_run_clear_results(SwRun *r) {
    r->steps = r->tokens = -1;
    r->final_loss = r->final_val_loss = r->best_val_loss = r->wall_s = NAN;
    r->exit_code = -1;
    r->resumed = false;
    free(r->error), r->error = NULL;
    free(r->log), r->log = NULL;
}

void sw_run_init(SwRun *r) {
    memset(r, 0, sizeof *r);
    r->status = SW_STATUS_PENDING;
    r->params = r->params_no_embed = r->tokens_per_step = r->steps_planned = r->accumulate = -1;
    r->flops_per_step = NAN;
    sw_run_clear_results(r);
}

void sw_run_free(SwRun *r) {
    free(r->name);
    free(r->dir);
    for (uint32_t i = 0; i < r->n_ov; i++) free((char *)r->ov[i].name), free((char *)r->ov[i].value);
    free(r->ov);
    free(r->error);
    free(r->log);
    memset(r, 0, sizeof *r);
}

/* --- the model's figures ---------------------------------------------------------------- */

bool sw_model_stats(const FeProgram *prog, const FeOverride *ov, uint32_t n, SwRun *r, FILE *const diag[2],
                    LlmcErr *err) {
    LlmcDiags d = {0};
    IrModule m = {0};
    FeLowerOptions lo = {ov, n};
    bool ok = fe_lower(prog, &lo, &m, &d);
    for (int k = 0; k < 2; k++)
        if (diag[k]) llmc_diags_print(&d, diag[k]);
    llmc_diags_free(&d);
    if (!ok) {
        llmc_err_set(err, "the model does not lower with these settings");
        return false;
    }
    const IrGraph *fwd = NULL;
    for (uint32_t i = 0; i < m.n_graphs; i++)
        if (strcmp(ir_graph_name(m.graphs[i]), "forward") == 0) fwd = m.graphs[i];
    if (!fwd || !fwd->train.present) {
        llmc_err_set(err, "the model has no %s", !fwd ? "@forward graph" : "train block");
        ir_module_free(&m);
        return false;
    }
    uint64_t embed, all = cc_param_count(fwd, &embed);
    r->params = (int64_t)all;
    r->params_no_embed = (int64_t)(all - embed);
    r->steps_planned = fwd->train.steps;
    r->accumulate = fwd->train.accumulate;
    CcTrainStep step;
    ok = cc_train_step_build(&m, &step, err);
    if (ok) {
        CcStepFlops fl = cc_step_flops(&step);
        r->flops_per_step = fl.step_useful;
        r->tokens_per_step = fl.tokens_per_step;
        cc_train_step_free(&step);
    }
    ir_module_free(&m);
    return ok;
}

/* --- metrics.jsonl ---------------------------------------------------------------------- */

static double json_number(const RtJson *o, const char *key) {
    const RtJson *v = rt_json_get(o, key);
    return v && v->kind == RT_JSON_NUMBER ? v->number : NAN;
}

bool sw_metrics_read(SwRun *r, LlmcErr *err) {
    char *path = sw_path_join(r->dir, "metrics.jsonl");
    char *text = NULL;
    size_t len = 0;
    bool ok = llmc_file_read(path, &text, &len, err);
    int64_t lines = 0;
    double best = NAN;
    for (char *p = text; ok && p < text + len;) {
        char *nl = memchr(p, '\n', (size_t)(text + len - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(text + len - p);
        RtJson *j = NULL;
        LlmcErr jerr = {0};
        if (n && rt_json_parse(p, n, path, &j, &jerr)) { /* a torn last line is skipped */
            double step = json_number(j, "step"), val = json_number(j, "val_loss");
            if (isfinite(step)) {
                lines++;
                r->steps = (int64_t)step;
                double tokens = json_number(j, "tokens");
                r->tokens = isfinite(tokens) ? (int64_t)tokens : -1;
                r->final_loss = json_number(j, "loss");
                r->final_val_loss = val;
                if (isfinite(val) && !(val >= best)) best = val;
            }
        }
        rt_json_free(j);
        p += n + 1;
    }
    r->best_val_loss = best;
    if (ok && !lines) {
        llmc_err_set(err, "%s: no step recorded", path);
        ok = false;
    }
    free(path);
    free(text);
    return ok;
}

/* --- run.json --------------------------------------------------------------------------- */

static void put_count(RtJsonWriter *w, const char *key, int64_t v) {
    rt_json_key(w, key);
    if (v >= 0) rt_json_int(w, v);
    else rt_json_null(w);
}

static void put_number(RtJsonWriter *w, const char *key, double v) {
    rt_json_key(w, key);
    rt_json_double(w, v); /* NaN: null */
}

static void put_overrides(RtJsonWriter *w, const char *key, const FeOverride *ov, uint32_t n) {
    rt_json_key(w, key);
    rt_json_begin_object(w);
    for (uint32_t i = 0; i < n; i++) {
        bool later = false; /* the last of a name wins, as in fe_lower */
        for (uint32_t k = i + 1; k < n; k++) later |= strcmp(ov[k].name, ov[i].name) == 0;
        if (later) continue;
        rt_json_key(w, ov[i].name);
        rt_json_string(w, ov[i].value);
    }
    rt_json_end_object(w);
}

bool sw_run_json_write(const SwRun *r, const SwContext *ctx, LlmcErr *err) {
    LlmcBuf b = {0};
    RtJsonWriter w;
    rt_json_writer_init(&w, &b, RT_JSON_PRETTY);
    rt_json_begin_object(&w);
    rt_json_key(&w, "name"), rt_json_string(&w, r->name);
    rt_json_key(&w, "status"), rt_json_string(&w, sw_status_name(r->status));
    put_overrides(&w, "overrides", r->ov, r->n_ov);
    rt_json_key(&w, "model"), rt_json_string(&w, ctx->model);
    rt_json_key(&w, "data"), rt_json_string(&w, ctx->data);
    put_overrides(&w, "defines", ctx->defines, ctx->n_defines);
    put_count(&w, "params", r->params);
    put_count(&w, "params_no_embed", r->params_no_embed);
    put_count(&w, "tokens_per_step", r->tokens_per_step);
    put_count(&w, "tokens", r->tokens);
    put_number(&w, "flops_per_step", r->flops_per_step);
    put_number(&w, "flops", r->steps >= 0 ? r->flops_per_step * (double)r->steps : NAN);
    put_count(&w, "steps", r->steps);
    put_number(&w, "final_loss", r->final_loss);
    put_number(&w, "final_val_loss", r->final_val_loss);
    put_number(&w, "best_val_loss", r->best_val_loss);
    put_number(&w, "wall_s", r->wall_s);
    rt_json_key(&w, "resumed"), rt_json_bool(&w, r->resumed);
    if (r->status == SW_STATUS_FAILED) {
        put_count(&w, "exit_code", r->exit_code);
        rt_json_key(&w, "log");
        if (r->log) rt_json_string(&w, r->log);
        else rt_json_null(&w);
        rt_json_key(&w, "error");
        if (r->error) rt_json_string(&w, r->error);
        else rt_json_null(&w);
    }
    rt_json_end_object(&w);
    llmc_buf_putc(&b, '\n');
    char *path = sw_path_join(r->dir, "run.json");
    bool ok = llmc_file_write(path, b.data, b.len, err);
    free(path);
    llmc_buf_free(&b);
    return ok;
}

static int64_t json_count(const RtJson *o, const char *key) {
    double v = json_number(o, key);
    return isfinite(v) && v >= 0 ? (int64_t)v : -1;
}

static char *json_strdup(const RtJson *o, const char *key) {
    const RtJson *v = rt_json_get(o, key);
    return v && v->kind == RT_JSON_STRING ? llmc_xstrdup(v->str) : NULL;
}

/* Whether the object `defines` of a run.json holds exactly ctx's merged -D list. */
static bool defines_match(const RtJson *defs, const SwContext *ctx) {
    if (!defs || defs->kind != RT_JSON_OBJECT) return false;
    uint32_t distinct = 0;
    for (uint32_t i = 0; i < ctx->n_defines; i++) {
        bool later = false;
        for (uint32_t k = i + 1; k < ctx->n_defines; k++) later |= strcmp(ctx->defines[k].name, ctx->defines[i].name) == 0;
        if (later) continue;
        distinct++;
        const RtJson *v = rt_json_get(defs, ctx->defines[i].name);
        if (!v || v->kind != RT_JSON_STRING || strcmp(v->str, ctx->defines[i].value) != 0) return false;
    }
    return defs->count == distinct;
}

bool sw_run_json_read(SwRun *r, const SwContext *ctx, bool *matches, LlmcErr *err) {
    char *path = sw_path_join(r->dir, "run.json");
    char *text = NULL;
    size_t len = 0;
    RtJson *j = NULL;
    errno = 0;
    if (!sw_exists(path)) {
        free(path);
        errno = ENOENT;
        return false;
    }
    bool ok = llmc_file_read(path, &text, &len, err) && rt_json_parse(text, len, path, &j, err);
    if (ok && j->kind != RT_JSON_OBJECT) {
        llmc_err_set(err, "%s: not a JSON object", path);
        ok = false;
    }
    if (ok) {
        const RtJson *st = rt_json_get(j, "status");
        const char *s = st && st->kind == RT_JSON_STRING ? st->str : "";
        r->status = strcmp(s, "done") == 0     ? SW_STATUS_DONE
                    : strcmp(s, "failed") == 0 ? SW_STATUS_FAILED
                                               : SW_STATUS_INCOMPLETE;
        if (!r->name) r->name = json_strdup(j, "name");
        const RtJson *ov = rt_json_get(j, "overrides");
        if (!r->n_ov && ov && ov->kind == RT_JSON_OBJECT && ov->count) {
            r->ov = llmc_xcalloc(ov->count, sizeof *r->ov);
            for (uint32_t i = 0; i < ov->count; i++)
                if (ov->items[i].kind == RT_JSON_STRING)
                    r->ov[r->n_ov++] = (FeOverride){llmc_xstrdup(ov->items[i].key), llmc_xstrdup(ov->items[i].str)};
        }
        r->params = json_count(j, "params");
        r->params_no_embed = json_count(j, "params_no_embed");
        r->tokens_per_step = json_count(j, "tokens_per_step");
        r->tokens = json_count(j, "tokens");
        r->steps = json_count(j, "steps");
        r->flops_per_step = json_number(j, "flops_per_step");
        r->final_loss = json_number(j, "final_loss");
        r->final_val_loss = json_number(j, "final_val_loss");
        r->best_val_loss = json_number(j, "best_val_loss");
        r->wall_s = json_number(j, "wall_s");
        const RtJson *res = rt_json_get(j, "resumed");
        r->resumed = res && res->kind == RT_JSON_BOOL && res->boolean;
        const RtJson *code = rt_json_get(j, "exit_code");
        r->exit_code = code && code->kind == RT_JSON_NUMBER ? (int)code->number : -1;
        free(r->error), r->error = json_strdup(j, "error");
        free(r->log), r->log = json_strdup(j, "log");
        if (matches) {
            *matches = true;
            if (ctx) {
                const RtJson *model = rt_json_get(j, "model"), *data = rt_json_get(j, "data");
                *matches = model && model->kind == RT_JSON_STRING && strcmp(model->str, ctx->model) == 0 && data &&
                           data->kind == RT_JSON_STRING && strcmp(data->str, ctx->data) == 0 &&
                           defines_match(rt_json_get(j, "defines"), ctx);
            }
        }
    }
    rt_json_free(j);
    free(text);
    free(path);
    return ok;
}

/* --- the summary table ------------------------------------------------------------------ */

enum { SW_COLS = 10 };
static const char *const col_tsv[SW_COLS] = {"name", "params", "params_no_embed", "tokens", "flops",
                                             "final_loss", "final_val_loss", "best_val_loss", "wall_s", "status"};
static const char *const col_text[SW_COLS] = {"run", "params", "non-embed", "tokens", "FLOPs",
                                              "loss", "val loss", "best val", "wall s", "status"};

/* Cell c of r's row: "" when unknown; tsv keeps full precision. */
static void cell(const SwRun *r, int c, bool tsv, char *out, size_t n) {
    double flops = r->steps >= 0 ? r->flops_per_step * (double)r->steps : NAN;
    out[0] = 0;
    switch (c) {
    case 0: snprintf(out, n, "%s", r->name ? r->name : "?"); break;
    case 1: if (r->params >= 0) snprintf(out, n, "%lld", (long long)r->params); break;
    case 2: if (r->params_no_embed >= 0) snprintf(out, n, "%lld", (long long)r->params_no_embed); break;
    case 3: if (r->tokens >= 0) snprintf(out, n, "%lld", (long long)r->tokens); break;
    case 4: if (isfinite(flops)) snprintf(out, n, tsv ? "%.17g" : "%.3e", flops); break;
    case 5: if (isfinite(r->final_loss)) snprintf(out, n, tsv ? "%.6f" : "%.4f", r->final_loss); break;
    case 6: if (isfinite(r->final_val_loss)) snprintf(out, n, tsv ? "%.6f" : "%.4f", r->final_val_loss); break;
    case 7: if (isfinite(r->best_val_loss)) snprintf(out, n, tsv ? "%.6f" : "%.4f", r->best_val_loss); break;
    case 8: if (isfinite(r->wall_s)) snprintf(out, n, "%.*f", tsv ? 2 : r->wall_s < 10 ? 1 : 0, r->wall_s); break;
    case 9: snprintf(out, n, "%s", sw_status_name(r->status)); break;
    default: break;
    }
    if (!tsv && !out[0]) snprintf(out, n, "-");
}

void sw_summary_print(FILE *f, const SwRun *runs, uint32_t n) {
    size_t width[SW_COLS];
    char buf[512];
    for (int c = 0; c < SW_COLS; c++) width[c] = strlen(col_text[c]);
    for (uint32_t i = 0; i < n; i++)
        for (int c = 0; c < SW_COLS; c++) {
            cell(&runs[i], c, false, buf, sizeof buf);
            if (strlen(buf) > width[c]) width[c] = strlen(buf);
        }
    for (uint32_t i = 0; i <= n; i++) { /* the header, then the runs */
        for (int c = 0; c < SW_COLS; c++) {
            if (i) cell(&runs[i - 1], c, false, buf, sizeof buf);
            else snprintf(buf, sizeof buf, "%s", col_text[c]);
            if (c == 0) fprintf(f, "%-*s", (int)width[c], buf); /* names and status left-aligned */
            else if (c == SW_COLS - 1) fprintf(f, "  %s", buf);
            else fprintf(f, "  %*s", (int)width[c], buf);
        }
        fputc('\n', f);
    }
}

bool sw_summary_write(const char *path, const SwRun *runs, uint32_t n, LlmcErr *err) {
    LlmcBuf b = {0};
    char buf[512];
    for (int c = 0; c < SW_COLS; c++) llmc_buf_printf(&b, "%s%s", c ? "\t" : "", col_tsv[c]);
    llmc_buf_putc(&b, '\n');
    for (uint32_t i = 0; i < n; i++) {
        for (int c = 0; c < SW_COLS; c++) {
            cell(&runs[i], c, true, buf, sizeof buf);
            for (char *p = buf; *p; p++) /* a name is free text: keep the row one row */
                if (*p == '\t' || *p == '\n') *p = ' ';
            llmc_buf_printf(&b, "%s%s", c ? "\t" : "", buf);
        }
        llmc_buf_putc(&b, '\n');
    }
    bool ok = llmc_file_write(path, b.data, b.len, err);
    llmc_buf_free(&b);
    return ok;
}

/* --- a sweep directory ------------------------------------------------------------------ */

static int name_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static const char *base_name(const char *path) {
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') n--;
    const char *p = path + n;
    while (p > path && p[-1] != '/') p--;
    return p;
}

static bool same_base(const char *a, const char *b) {
    const char *x = base_name(a), *y = base_name(b);
    size_t nx = strcspn(x, "/"), ny = strcspn(y, "/");
    return nx == ny && strncmp(x, y, nx) == 0;
}

/* Loads run r (its dir set) from its directory: run.json, else metrics.jsonl, else pending. */
static bool load_run(SwRun *r, LlmcErr *err) {
    if (sw_run_json_read(r, NULL, NULL, err)) return true;
    if (err->set) return false;
    LlmcErr merr = {0};
    r->status = sw_metrics_read(r, &merr) ? SW_STATUS_INCOMPLETE : SW_STATUS_PENDING;
    if (!r->name) r->name = llmc_xstrdup(base_name(r->dir));
    return true;
}

bool sw_sweep_runs(const char *dir, const SwRun *skip, uint32_t n_skip, SwRun **runs, uint32_t *n, LlmcErr *err) {
    *runs = NULL, *n = 0;
    char *sweep_json = sw_path_join(dir, "sweep.json"), *runs_dir = sw_path_join(dir, "runs");
    bool ok = true;
    uint32_t cap = 0;
    RtJson *j = NULL;
    char *text = NULL;
    size_t len = 0;
    if (!sw_exists(sweep_json) && !sw_is_dir(runs_dir)) {
        llmc_err_set(err, "%s: not a sweep directory (no sweep.json, no runs/)", dir);
        ok = false;
    } else if (sw_exists(sweep_json)) {
        ok = llmc_file_read(sweep_json, &text, &len, err) && rt_json_parse(text, len, sweep_json, &j, err);
        const RtJson *list = ok ? rt_json_get(j, "runs") : NULL;
        for (uint32_t i = 0; list && list->kind == RT_JSON_ARRAY && i < list->count; i++) {
            const RtJson *e = &list->items[i];
            const RtJson *d = rt_json_get(e, "dir");
            if (!d || d->kind != RT_JSON_STRING) continue;
            bool skipped = false;
            for (uint32_t k = 0; k < n_skip; k++) skipped |= same_base(skip[k].dir, d->str);
            for (uint32_t k = 0; k < *n; k++) skipped |= same_base((*runs)[k].dir, d->str);
            if (skipped) continue;
            if (*n == cap) *runs = llmc_xrealloc(*runs, (cap = cap ? 2 * cap : 16) * sizeof **runs);
            SwRun *r = &(*runs)[(*n)++];
            sw_run_init(r);
            r->dir = sw_path_join(dir, d->str);
            r->name = json_strdup(e, "name");
        }
    }
    DIR *dd = ok ? opendir(runs_dir) : NULL;
    if (dd) { /* other run directories, by name */
        char **names = NULL;
        uint32_t nn = 0, ncap = 0;
        for (struct dirent *de; (de = readdir(dd));) {
            if (de->d_name[0] == '.') continue;
            char *p = sw_path_join(runs_dir, de->d_name);
            bool listed = !sw_is_dir(p);
            for (uint32_t k = 0; k < n_skip && !listed; k++) listed |= same_base(skip[k].dir, de->d_name);
            for (uint32_t k = 0; k < *n && !listed; k++) listed |= same_base((*runs)[k].dir, de->d_name);
            if (!listed) {
                if (nn == ncap) names = llmc_xrealloc(names, (ncap = ncap ? 2 * ncap : 16) * sizeof *names);
                names[nn++] = llmc_xstrdup(de->d_name);
            }
            free(p);
        }
        closedir(dd);
        if (nn) qsort(names, nn, sizeof *names, name_cmp);
        for (uint32_t i = 0; i < nn; i++) {
            if (*n == cap) *runs = llmc_xrealloc(*runs, (cap = cap ? 2 * cap : 16) * sizeof **runs);
            SwRun *r = &(*runs)[(*n)++];
            sw_run_init(r);
            r->dir = sw_path_join(runs_dir, names[i]);
            free(names[i]);
        }
        free(names);
    }
    for (uint32_t i = 0; ok && i < *n; i++) ok = load_run(&(*runs)[i], err);
    rt_json_free(j);
    free(text);
    free(sweep_json);
    free(runs_dir);
    return ok;
}

/* --- llmsweep status -------------------------------------------------------------------- */

int sw_cmd_status(int argc, char **argv) {
    int n = 0;
    for (int i = 0; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1] != 0) return sw_usage_error("status", "unknown option '%s'", argv[i]);
        n++;
    }
    if (!n) return sw_usage_error("status", "%s", "missing SWEEP_DIR");
    int status = SW_EXIT_OK;
    for (int i = 0; i < argc; i++) {
        SwRun *runs;
        uint32_t nr;
        LlmcErr err = {0};
        if (!sw_sweep_runs(argv[i], NULL, 0, &runs, &nr, &err)) {
            fprintf(stderr, "llmsweep: %s\n", err.msg);
            status = SW_EXIT_BAD_INPUT;
        } else {
            uint32_t count[SW_STATUS_COUNT] = {0};
            for (uint32_t k = 0; k < nr; k++) count[runs[k].status]++;
            printf("%s%s: %u run%s", i ? "\n" : "", argv[i], nr, nr == 1 ? "" : "s");
            for (int s = SW_STATUS_PENDING; s < SW_STATUS_COUNT; s++)
                if (count[s]) printf(", %u %s", count[s], sw_status_name((SwStatus)s));
            printf("\n");
            if (nr) sw_summary_print(stdout, runs, nr);
        }
        for (uint32_t k = 0; k < nr; k++) sw_run_free(&runs[k]);
        free(runs);
    }
    return status;
}
