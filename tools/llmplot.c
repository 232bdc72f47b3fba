/* tools/llmplot.c — llmplot, training runs and sweeps drawn as SVG.
 *
 *   llmplot RUN_DIR... -o FILE.svg [--x step|tokens|flops] [--log-x] [--log-y] [--lr]
 *           [--title TEXT]
 *       loss against step (tokens, FLOPs) for each run: train solid, validation dashed
 *       with markers, one color per run; --lr adds the learning rate in a second panel
 *       under the loss panel, sharing its x axis.
 *   llmplot --sweep SWEEP_DIR -o FILE.svg [--law FILE.json|besiroglu|hoffmann] [--title TEXT]
 *       the final loss of every finished run against its training FLOPs (log-log),
 *       colored by model size, and the compute-optimal frontier L(N_opt(C), D_opt(C)) of
 *       a scaling law (tools/scaling.h) over the plotted C.
 *
 * Inputs: RUN_DIR/metrics.jsonl (llmrun: one JSON object per step: step, loss, lr,
 * tokens, ... and val_loss on validation steps; a NaN is written as null) and, for runs
 * llmsweep made, RUN_DIR/run.json (name, flops_per_step, flops, params, final losses,
 * status). A sweep is SWEEP_DIR/runs/NAME/ (run directories) and SWEEP_DIR/fit.json.
 *
 * This file reads those and chooses what to plot: the series (their kind, train, val,
 * lr, points, iso-n or frontier, and their run or model size), the colors, the legend's
 * lines. The drawing, with the SVG's structure that tests inspect (classes, data-run,
 * data-params), is llmplot_svg.c's, through llmplot.h.
 *
 * What it does not do: smooth noisy curves, read checkpoints, or draw anything
 * interactive beyond a <title> tooltip on sweep points. Bad metrics lines are skipped
 * with a file:line warning; a run with nothing to plot is an error.
 *
 * Exit codes, as the other tools: 0 written, 1 bad input, 2 bad usage.
 */
#include "ir.h"
#include "llmplot.h"
#include "runtime.h"
#include "scaling.h"
#include "subcmd.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { EXIT_OK = 0, EXIT_BAD_INPUT = 1, EXIT_USAGE = 2 };

static const char *const usage_text =
    "usage: llmplot RUN_DIR... -o FILE.svg [options]\n"
    "       llmplot --sweep SWEEP_DIR -o FILE.svg [--law LAW] [--title TEXT]\n"
    "\n"
    "Draws training runs as an SVG file (open it in a browser).\n"
    "\n"
    "Runs: the loss of each RUN_DIR (llmrun --out) from RUN_DIR/metrics.jsonl, training\n"
    "loss solid and validation loss dashed with markers, one color per run, named by\n"
    "RUN_DIR/run.json (runs llmsweep made) or else by the directory's name.\n"
    "  -o FILE.svg            the output (required; - writes to standard output)\n"
    "  --x step|tokens|flops  the x axis (default step); flops is step x flops_per_step\n"
    "                         from RUN_DIR/run.json, so it needs runs llmsweep made\n"
    "  --log-x, --log-y       logarithmic axes (decade ticks); points <= 0 are left out\n"
    "  --lr                   the learning-rate schedule too: a second panel under the\n"
    "                         loss panel, sharing its x axis\n"
    "  --title TEXT           a title above the plot\n"
    "\n"
    "Sweeps: --sweep SWEEP_DIR (llmsweep --out) draws the final loss of every finished run\n"
    "(SWEEP_DIR/runs/NAME/run.json with status \"done\"; its validation loss when measured,\n"
    "else its training loss) against its training FLOPs, log-log, colored by model size,\n"
    "the runs of one size joined; and the compute-optimal frontier L(N_opt(C), D_opt(C))\n"
    "of a scaling law L(N, D) = E + A/N^alpha + B/D^beta over the plotted C.\n"
    "  --law LAW              FILE.json (a fit, as `llmsweep fit` writes it), besiroglu or\n"
    "                         hoffmann (published constants); default SWEEP_DIR/fit.json\n"
    "                         when it exists, else no frontier\n"
    "\n"
    "  -h, --help             this text\n"
    "\n"
    "exit status: 0 written, 1 bad input (a missing directory or file, nothing to plot),\n"
    "2 bad usage\n";

static int usage_error(const char *fmt, const char *arg) { return subcmd_usage_error("llmplot", NULL, fmt, arg); }

/* --- options ------------------------------------------------------------------------ */

typedef enum XAxis { X_INVALID = 0, X_STEP, X_TOKENS, X_FLOPS, X_COUNT } XAxis;

static const char *const x_names[X_COUNT] = {[X_STEP] = "step", [X_TOKENS] = "tokens", [X_FLOPS] = "flops"};
static const char *const x_titles[X_COUNT] = {
    [X_STEP] = "step", [X_TOKENS] = "tokens", [X_FLOPS] = "training FLOPs"};

typedef struct Options {
    const char **runs; /* [n_runs] */
    int n_runs;
    const char *out, *title, *sweep, *law;
    XAxis x;
    bool x_given, log_x, log_y, lr;
} Options;

static int parse_args(int argc, char **argv, Options *o) {
    *o = (Options){.x = X_STEP};
    o->runs = llmc_xcalloc((size_t)argc, sizeof *o->runs);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = strcmp(a, "-o") == 0 || strcmp(a, "--x") == 0 || strcmp(a, "--title") == 0 ||
                     strcmp(a, "--sweep") == 0 || strcmp(a, "--law") == 0;
        if (takes && !v) return usage_error("option '%s' needs a value", a);
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage_text, stdout);
            free(o->runs);
            exit(EXIT_OK);
        } else if (strcmp(a, "-o") == 0) {
            o->out = v;
        } else if (strcmp(a, "--x") == 0) {
            o->x = X_INVALID;
            for (int k = X_STEP; k < X_COUNT; k++)
                if (strcmp(v, x_names[k]) == 0) o->x = (XAxis)k;
            if (o->x == X_INVALID) return usage_error("--x needs step, tokens or flops, got '%s'", v);
            o->x_given = true;
        } else if (strcmp(a, "--title") == 0) {
            o->title = v;
        } else if (strcmp(a, "--sweep") == 0) {
            if (o->sweep) return usage_error("more than one --sweep ('%s')", v);
            o->sweep = v;
        } else if (strcmp(a, "--law") == 0) {
            o->law = v;
        } else if (strcmp(a, "--log-x") == 0) {
            o->log_x = true;
        } else if (strcmp(a, "--log-y") == 0) {
            o->log_y = true;
        } else if (strcmp(a, "--lr") == 0) {
            o->lr = true;
        } else if (a[0] == '-' && a[1]) {
            return usage_error("unknown option '%s'", a);
        } else {
            o->runs[o->n_runs++] = a;
        }
        if (takes) i++;
    }
    if (!o->out) return usage_error("%s", "missing -o FILE.svg");
    if (o->sweep) {
        if (o->n_runs) return usage_error("--sweep draws one sweep; RUN_DIR '%s' does not go with it", o->runs[0]);
        if (o->x_given || o->lr) return usage_error("%s", "--x and --lr are for runs, not --sweep (a sweep is loss against FLOPs)");
    } else {
        if (!o->n_runs) return usage_error("%s", "missing RUN_DIR (or --sweep SWEEP_DIR)");
        if (o->law) return usage_error("%s", "--law goes with --sweep");
    }
    return EXIT_OK;
}

/* --- small helpers ------------------------------------------------------------------ */

static char *path_join(const char *dir, const char *name) {
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    size_t len = n + 1 + strlen(name) + 1;
    char *p = llmc_xmalloc(len);
    snprintf(p, len, "%.*s/%s", (int)n, dir, name);
    return p;
}

/* "runs/a/" -> "a"; "/" stays "/". */
static char *base_name(const char *path) {
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') n--;
    size_t b = n;
    while (b > 0 && path[b - 1] != '/') b--;
    if (b == n) return llmc_xstrdup(path);
    char *s = llmc_xmalloc(n - b + 1);
    memcpy(s, path + b, n - b);
    s[n - b] = 0;
    return s;
}

/* --- runs --------------------------------------------------------------------------- */

/* One metrics line; NaN marks what it lacks (or null: llmrun writes NaN as null). */
typedef struct Step {
    double step, tokens, loss, lr, val;
} Step;

typedef struct Run {
    const char *dir; /* as given */
    char *label;     /* legend: run.json's name, or the directory's name (plot_text_clean'd) */
    Step *steps;     /* [n] in file order */
    size_t n, cap;
    bool has_info;   /* run.json was read */
    double flops_per_step, flops, params, final_loss, final_val; /* NaN when absent */
    bool done;       /* run.json status "done" */
} Run;

static double json_num(const RtJson *obj, const char *key) {
    const RtJson *v = rt_json_get(obj, key);
    return v && v->kind == RT_JSON_NUMBER ? v->number : NAN;
}

static bool dir_check(const char *dir, LlmcErr *err) {
    struct stat st;
    if (stat(dir, &st) != 0) {
        llmc_err_set(err, "%s: %s", dir, strerror(errno));
        return false;
    }
    if (!S_ISDIR(st.st_mode)) {
        llmc_err_set(err, "%s: not a directory (a run directory, as llmrun --out writes)", dir);
        return false;
    }
    return true;
}

/* RUN_DIR/run.json when it exists (llmsweep's runs): the name, FLOPs, sizes, losses. A
 * run.json that exists but does not read is an error: it would silently change the plot. */
static bool run_read_info(Run *r, bool *exists, LlmcErr *err) {
    r->flops_per_step = r->flops = r->params = r->final_loss = r->final_val = NAN;
    char *path = path_join(r->dir, "run.json");
    *exists = false;
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT) {
        free(path);
        return true;
    }
    *exists = true;
    char *text = NULL;
    size_t len = 0;
    RtJson *root = NULL;
    bool ok = llmc_file_read(path, &text, &len, err) && rt_json_parse(text, len, path, &root, err);
    if (ok && root->kind != RT_JSON_OBJECT) {
        llmc_err_set(err, "%s: expected a JSON object, got %s", path, rt_json_kind_name(root->kind));
        ok = false;
    }
    if (ok) {
        r->has_info = true;
        const RtJson *name = rt_json_get(root, "name");
        if (name && name->kind == RT_JSON_STRING && name->str_len > 0 && strlen(name->str) == name->str_len) {
            free(r->label);
            r->label = plot_text_clean(name->str);
        }
        r->flops_per_step = json_num(root, "flops_per_step");
        r->flops = json_num(root, "flops");
        double steps = json_num(root, "steps");
        if (!isfinite(r->flops) && isfinite(r->flops_per_step) && isfinite(steps)) r->flops = r->flops_per_step * steps;
        r->params = json_num(root, "params");
        r->final_loss = json_num(root, "final_loss");
        r->final_val = json_num(root, "final_val_loss");
        const RtJson *status = rt_json_get(root, "status");
        r->done = status && status->kind == RT_JSON_STRING && strcmp(status->str, "done") == 0;
    }
    rt_json_free(root);
    free(text);
    free(path);
    return ok;
}

/* RUN_DIR/metrics.jsonl: one object per line with a numeric "step". Blank lines are
 * fine; a malformed line is skipped with a file:line warning (a run still being written
 * may end in half a line). No usable line at all is an error. */
static bool run_read_metrics(Run *r, LlmcErr *err) {
    char *path = path_join(r->dir, "metrics.jsonl");
    char *text = NULL;
    size_t len = 0;
    if (!llmc_file_read(path, &text, &len, err)) {
        free(path);
        return false;
    }
    enum { MAX_WARNINGS = 5 };
    uint32_t bad = 0, line_no = 0;
    size_t name_len = strlen(path);
    for (size_t pos = 0; pos < len;) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        pos += n + (nl != NULL);
        line_no++;
        size_t k = 0;
        while (k < n && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r')) k++;
        if (k == n) continue;
        LlmcErr perr = {0};
        RtJson *obj = NULL;
        char why[600] = "";
        if (!rt_json_parse(line, n, path, &obj, &perr)) {
            /* "PATH:1:COL: message" (the line alone was parsed) -> "COL: message" */
            const char *m = perr.msg;
            if (strncmp(m, path, name_len) == 0 && strncmp(m + name_len, ":1:", 3) == 0)
                snprintf(why, sizeof why, "%s", m + name_len + 3);
            else
                snprintf(why, sizeof why, " %s", m);
        } else if (obj->kind != RT_JSON_OBJECT || !isfinite(json_num(obj, "step"))) {
            snprintf(why, sizeof why, " expected an object with a numeric \"step\"");
        } else {
            if (r->n == r->cap) {
                r->cap = r->cap ? 2 * r->cap : 256;
                r->steps = llmc_xrealloc(r->steps, r->cap * sizeof *r->steps);
            }
            r->steps[r->n++] = (Step){json_num(obj, "step"), json_num(obj, "tokens"), json_num(obj, "loss"),
                                      json_num(obj, "lr"), json_num(obj, "val_loss")};
        }
        rt_json_free(obj);
        if (why[0]) {
            if (bad < MAX_WARNINGS)
                fprintf(stderr, "llmplot: warning: %s:%u:%s; line skipped\n", path, line_no, why);
            bad++;
        }
    }
    if (bad > MAX_WARNINGS) fprintf(stderr, "llmplot: warning: %s: %u malformed lines skipped in all\n", path, bad);
    free(text);
    bool ok = r->n > 0;
    if (!ok) llmc_err_set(err, "%s: %s", path, bad ? "no readable line" : "empty: no steps to plot");
    free(path);
    return ok;
}

static void run_free(Run *r) {
    free(r->label);
    free(r->steps);
}

/* --- runs mode ---------------------------------------------------------------------- */

/* Tableau 20's order: Tableau 10 (distinct, colorblind-aware, readable on white), then
 * its light twins, so a sweep of up to 20 runs gets 20 colors before they repeat. */
static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                                      "#7f7f7f", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896",
                                      "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5"};

static double step_x(const Run *r, const Step *s, XAxis x) {
    return x == X_TOKENS ? s->tokens : x == X_FLOPS ? s->step * r->flops_per_step : s->step;
}

static int draw_runs(const Options *o, LlmcBuf *svg) {
    int status = EXIT_BAD_INPUT;
    Run *runs = llmc_xcalloc((size_t)o->n_runs, sizeof *runs);
    LlmcErr err = {0};
    Plot p = {.title = o->title, .xlabel = x_titles[o->x], .log_x = o->log_x, .panels = o->lr ? 2 : 1};
    p.ylabel[0] = "loss";
    p.ylabel[1] = "learning rate";
    p.log_y[0] = o->log_y;
    for (int i = 0; i < o->n_runs; i++) {
        Run *r = &runs[i];
        r->dir = o->runs[i];
        char *base = base_name(r->dir);
        r->label = plot_text_clean(base);
        free(base);
        bool has_info;
        if (!dir_check(r->dir, &err) || !run_read_info(r, &has_info, &err) || !run_read_metrics(r, &err)) goto done;
        if (o->x == X_FLOPS && !(r->flops_per_step > 0)) {
            llmc_err_set(&err, "%s: --x flops needs the FLOPs per step from %s/run.json (runs llmsweep made)%s",
                         r->dir, r->dir, has_info ? ", which has no flops_per_step" : ", which does not exist");
            goto done;
        }
    }
    /* Two runs of one name (a/run, b/run) are named by their paths instead. */
    for (int i = 0; i < o->n_runs; i++)
        for (int j = 0; j < o->n_runs; j++)
            if (i != j && strcmp(runs[i].label, runs[j].label) == 0 && !runs[i].has_info) {
                free(runs[i].label);
                runs[i].label = plot_text_clean(runs[i].dir);
                break;
            }
    bool any_val = false;
    size_t points = 0;
    for (int i = 0; i < o->n_runs; i++) {
        const Run *r = &runs[i];
        const char *color = palette[i % (int)(sizeof palette / sizeof *palette)];
        PlotSeries *train = plot_series_new(&p, "train", r->label, color, 0, PLOT_MARK_LINE, 1.6);
        for (size_t k = 0; k < r->n; k++)
            plot_series_add(&p, train, step_x(r, &r->steps[k], o->x), r->steps[k].loss, NULL);
        PlotSeries *val = plot_series_new(&p, "val", r->label, color, 0, PLOT_MARK_DASHED_DOTS, 1.6);
        for (size_t k = 0; k < r->n; k++)
            plot_series_add(&p, val, step_x(r, &r->steps[k], o->x), r->steps[k].val, NULL);
        /* plot_series_new may move the array: take the counts by index. */
        size_t n_train = p.s[p.n - 2].n, n_val = p.s[p.n - 1].n;
        if (n_train + n_val == 0)
            fprintf(stderr, "llmplot: warning: %s: no finite loss%s to plot\n", r->dir,
                    o->log_y || o->log_x ? " (with positive coordinates on the log axes)" : "");
        any_val |= n_val > 0;
        points += n_train + n_val;
        if (o->lr) {
            PlotSeries *lr = plot_series_new(&p, "lr", r->label, color, 1, PLOT_MARK_LINE, 1.6);
            for (size_t k = 0; k < r->n; k++)
                plot_series_add(&p, lr, step_x(r, &r->steps[k], o->x), r->steps[k].lr, NULL);
        }
        plot_legend_add(&p, PLOT_LEG_LINE, color, r->label);
    }
    if (points == 0) {
        llmc_err_set(&err, "nothing to plot: no run has a finite loss%s",
                     o->log_y || o->log_x ? " with positive coordinates on the log axes" : "");
        goto done;
    }
    plot_legend_add(&p, PLOT_LEG_GAP, NULL, NULL);
    plot_legend_add(&p, PLOT_LEG_LINE, PLOT_INK_SOFT, "train");
    if (any_val) plot_legend_add(&p, PLOT_LEG_DASHED_DOTS, PLOT_INK_SOFT, "validation");
    plot_render(&p, svg);
    status = EXIT_OK;
done:
    if (err.set) fprintf(stderr, "llmplot: %s\n", err.msg);
    plot_free(&p);
    for (int i = 0; i < o->n_runs; i++) run_free(&runs[i]);
    free(runs);
    return status;
}

/* --- sweep mode --------------------------------------------------------------------- */

/* Viridis from dark purple to green (its light yellow end is hard to see on white). */
static void viridis(double t, char out[8]) {
    static const double stops[][3] = {{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
    t = 0.82 * (t < 0 ? 0 : t > 1 ? 1 : t) * 4;
    int i = (int)t < 3 ? (int)t : 3;
    double f = t - i;
    int c[3];
    for (int k = 0; k < 3; k++) c[k] = (int)lround(stops[i][k] + f * (stops[i + 1][k] - stops[i][k]));
    snprintf(out, 8, "#%02x%02x%02x", c[0], c[1], c[2]);
}

typedef struct SweepPoint {
    const Run *run;
    double C, N, loss;
    bool val;
} SweepPoint;

static int point_cmp(const void *pa, const void *pb) {
    const SweepPoint *a = pa, *b = pb;
    if (a->N != b->N) return a->N < b->N ? -1 : 1;
    if (a->C != b->C) return a->C < b->C ? -1 : 1;
    return strcmp(a->run->label, b->run->label);
}

static int dirent_is_dir(const struct dirent *d) {
    return strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0;
}

/* The law for the frontier: --law (a name or a fit file), else SWEEP/fit.json when it
 * exists. *have is false when there is none; a law that exists but does not read is an
 * error. *source names it for the legend. */
static bool sweep_law(const Options *o, SlLaw *law, bool *have, char *source, size_t n, LlmcErr *err) {
    *have = false;
    const SlLaw *named = o->law ? sl_law_named(o->law) : NULL;
    if (named) {
        *law = *named;
        *have = true;
        snprintf(source, n, "%s", named == &SL_HOFFMANN_2022 ? "Hoffmann et al. 2022" : "Besiroglu et al. 2024");
        return true;
    }
    char *path = o->law ? llmc_xstrdup(o->law) : path_join(o->sweep, "fit.json");
    struct stat st;
    if (!o->law && stat(path, &st) != 0 && errno == ENOENT) {
        free(path);
        return true;
    }
    SlFit fit;
    char msg[400] = "";
    bool ok = sl_fit_read(path, &fit, msg, sizeof msg);
    if (!ok) {
        if (o->law && stat(path, &st) != 0)
            llmc_err_set(err, "--law '%s' is neither besiroglu, hoffmann nor a fit file: %s", o->law, strerror(errno));
        else
            llmc_err_set(err, "%s", msg[0] ? msg : path);
    } else {
        *law = fit.law;
        *have = true;
        char *base = base_name(path);
        if (fit.points > 0) snprintf(source, n, "%s, %d runs", base, fit.points);
        else snprintf(source, n, "%s", base);
        free(base);
    }
    free(path);
    return ok;
}

static int draw_sweep(const Options *o, LlmcBuf *svg) {
    int status = EXIT_BAD_INPUT;
    LlmcErr err = {0};
    Plot p = {.title = o->title, .xlabel = "training FLOPs (C)", .log_x = true, .panels = 1, .pad = true};
    p.log_y[0] = true;
    Run *runs = NULL;
    SweepPoint *pts = NULL;
    struct dirent **ents = NULL;
    int n_ents = 0;
    size_t n_runs = 0, n_pts = 0;
    char *runs_dir = path_join(o->sweep, "runs");
    if (!dir_check(o->sweep, &err)) goto done;
    struct stat st;
    if (stat(runs_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        llmc_err_set(&err, "%s: no runs/ directory: not a sweep (llmsweep --out writes one)", o->sweep);
        goto done;
    }
    n_ents = scandir(runs_dir, &ents, dirent_is_dir, alphasort);
    if (n_ents < 0) {
        llmc_err_set(&err, "%s: cannot list: %s", runs_dir, strerror(errno));
        n_ents = 0;
        goto done;
    }
    runs = llmc_xcalloc((size_t)n_ents + 1, sizeof *runs);
    pts = llmc_xcalloc((size_t)n_ents + 1, sizeof *pts);
    int skipped = 0;
    for (int i = 0; i < n_ents; i++) {
        char *dir = path_join(runs_dir, ents[i]->d_name);
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            free(dir);
            continue;
        }
        Run *r = &runs[n_runs++];
        r->dir = dir;
        r->label = plot_text_clean(ents[i]->d_name);
        bool has_info;
        if (!run_read_info(r, &has_info, &err)) goto done;
        const char *why = !has_info ? "no run.json (not started)" : !r->done ? "not finished (status is not \"done\")" : NULL;
        double loss = isfinite(r->final_val) ? r->final_val : r->final_loss;
        if (!why && !(r->flops > 0)) why = "no training FLOPs in run.json";
        if (!why && !(loss > 0 && isfinite(loss))) why = "no finite final loss in run.json";
        if (why) {
            fprintf(stderr, "llmplot: note: %s: %s; left out\n", dir, why);
            skipped++;
            continue;
        }
        /* An unknown size sorts and groups as 0 ("unknown"). */
        pts[n_pts++] = (SweepPoint){r, r->flops, r->params > 0 ? r->params : 0, loss, isfinite(r->final_val)};
    }
    if (n_pts == 0) {
        llmc_err_set(&err, "%s: no finished run to plot (%d run director%s in %s)", o->sweep, (int)n_runs,
                     n_runs == 1 ? "y" : "ies", runs_dir);
        goto done;
    }
    qsort(pts, n_pts, sizeof *pts, point_cmp);
    size_t n_val = 0;
    for (size_t i = 0; i < n_pts; i++) n_val += pts[i].val;
    p.ylabel[0] = n_val == n_pts ? "final validation loss" : n_val == 0 ? "final training loss"
                                                                       : "final loss (validation where measured)";
    /* One series per model size (N), colored along viridis by log N; the legend lists the
     * sizes, smallest first (the middle ones elided when there are very many). */
    double nmin = INFINITY, nmax = -INFINITY;
    for (size_t i = 0; i < n_pts; i++)
        if (pts[i].N > 0) nmin = fmin(nmin, pts[i].N), nmax = fmax(nmax, pts[i].N);
    size_t groups = 0;
    for (size_t i = 0; i < n_pts; i++) groups += i == 0 || pts[i].N != pts[i - 1].N;
    enum { LEGEND_SIZES = 12 };
    plot_legend_add(&p, PLOT_LEG_NOTE, NULL, "model size N (params)");
    size_t g = 0;
    for (size_t i = 0; i < n_pts;) {
        size_t j = i;
        while (j < n_pts && pts[j].N == pts[i].N) j++;
        char color[8], size[32];
        double t = pts[i].N > 0 && nmax > nmin ? (log(pts[i].N) - log(nmin)) / (log(nmax) - log(nmin)) : 0.4;
        viridis(t, color);
        if (pts[i].N > 0) plot_fmt_si3(size, sizeof size, pts[i].N);
        else snprintf(size, sizeof size, "unknown");
        if (j - i >= 2) {
            PlotSeries *line = plot_series_new(&p, "iso-n", NULL, color, 0, PLOT_MARK_LINE, 1.2);
            line->params = llmc_xstrdup(size);
            for (size_t k = i; k < j; k++) plot_series_add(&p, line, pts[k].C, pts[k].loss, NULL);
        }
        PlotSeries *dots = plot_series_new(&p, "points", NULL, color, 0, PLOT_MARK_DOTS, 4.5);
        dots->params = llmc_xstrdup(size);
        dots->tips = llmc_xcalloc(1, sizeof *dots->tips); /* tips wanted: plot_series_add keeps them */
        for (size_t k = i; k < j; k++) {
            char tip[512], c[32], l[32];
            plot_fmt_si3(c, sizeof c, pts[k].C);
            snprintf(l, sizeof l, "%.4f", pts[k].loss);
            snprintf(tip, sizeof tip, "%s: N = %s, C = %s FLOPs, %s loss %s", pts[k].run->label, size, c,
                     pts[k].val ? "validation" : "training", l);
            plot_series_add(&p, dots, pts[k].C, pts[k].loss, tip);
        }
        if (groups <= LEGEND_SIZES || g < LEGEND_SIZES / 2 || g >= groups - LEGEND_SIZES / 2 + 1) {
            char text[64];
            snprintf(text, sizeof text, "N = %s", size);
            plot_legend_add(&p, PLOT_LEG_DOT, color, text);
        } else if (g == LEGEND_SIZES / 2) {
            plot_legend_add(&p, PLOT_LEG_NOTE, NULL, "\xe2\x80\xa6"); /* U+2026 */
        }
        g++;
        i = j;
    }
    /* The frontier, drawn by plot_render over the plotted range of C. */
    SlLaw law;
    bool have_law;
    char source[256] = "";
    if (!sweep_law(o, &law, &have_law, source, sizeof source, &err)) goto done;
    plot_legend_add(&p, PLOT_LEG_GAP, NULL, NULL);
    if (have_law) {
        PlotSeries *f = plot_series_new(&p, "frontier", NULL, "#222222", 0, PLOT_MARK_DASHED, 2.0);
        f->law = &law;
        plot_legend_add(&p, PLOT_LEG_DASHED, "#222222", "compute-optimal frontier");
        char text[sizeof source + 16];
        snprintf(text, sizeof text, "law: %s", source);
        plot_legend_add(&p, PLOT_LEG_NOTE, NULL, text);
        snprintf(text, sizeof text, "E=%.3g A=%.4g B=%.4g", law.E, law.A, law.B);
        plot_legend_add(&p, PLOT_LEG_NOTE, NULL, text);
        snprintf(text, sizeof text, "\xce\xb1=%.3g \xce\xb2=%.3g", law.alpha, law.beta); /* alpha, beta */
        plot_legend_add(&p, PLOT_LEG_NOTE, NULL, text);
    } else {
        plot_legend_add(&p, PLOT_LEG_NOTE, NULL, "no scaling law: no frontier");
        plot_legend_add(&p, PLOT_LEG_NOTE, NULL, "(llmsweep fit, or --law)");
    }
    if (skipped) fprintf(stderr, "llmplot: %zu of %zu runs plotted\n", n_pts, n_runs);
    plot_render(&p, svg);
    status = EXIT_OK;
done:
    if (err.set) fprintf(stderr, "llmplot: %s\n", err.msg);
    plot_free(&p);
    for (size_t i = 0; i < n_runs; i++) {
        free((char *)runs[i].dir);
        run_free(&runs[i]);
    }
    for (int i = 0; i < n_ents; i++) free(ents[i]);
    free(ents);
    free(runs);
    free(pts);
    free(runs_dir);
    return status;
}

/* --- main --------------------------------------------------------------------------- */

int main(int argc, char **argv) {
    Options o;
    int status = parse_args(argc, argv, &o);
    if (status != EXIT_OK) {
        free(o.runs);
        return status;
    }
    LlmcBuf svg = {0};
    status = o.sweep ? draw_sweep(&o, &svg) : draw_runs(&o, &svg);
    if (status == EXIT_OK) {
        LlmcErr err = {0};
        if (strcmp(o.out, "-") == 0) {
            if (fwrite(svg.data, 1, svg.len, stdout) != svg.len || fflush(stdout) != 0)
                llmc_err_set(&err, "error writing standard output: %s", strerror(errno));
        } else {
            llmc_file_write(o.out, svg.data, svg.len, &err);
        }
        if (err.set) {
            fprintf(stderr, "llmplot: %s\n", err.msg);
            status = EXIT_BAD_INPUT;
        } else if (strcmp(o.out, "-") != 0) {
            fprintf(stderr, "llmplot: wrote %s\n", o.out);
        }
    }
    llmc_buf_free(&svg);
    free(o.runs);
    return status;
}
