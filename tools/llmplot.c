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
 * The SVG is written directly (no plotting dependency) with presentation attributes
 * only, so browsers, librsvg and editors draw it alike. It is meant to be inspected by
 * tests too: every curve is a <path class="series KIND" data-run="NAME"> (KIND: train,
 * val, lr; in a sweep iso-n and frontier, with data-params="SIZE" for iso-n), validation
 * markers are <g class="markers val" data-run="NAME"> and the sweep's points <g
 * class="series points" data-params="SIZE"> of circles, tick labels <text
 * class="tick-label x|y">, axis titles <text class="axis-title x|y">.
 *
 * What it does not do: smooth noisy curves, read checkpoints, or draw anything
 * interactive beyond a <title> tooltip on sweep points. Bad metrics lines are skipped
 * with a file:line warning; a run with nothing to plot is an error.
 *
 * Exit codes, as the other tools: 0 written, 1 bad input, 2 bad usage.
 */
#include "ir.h"
#include "runtime.h"
#include "scaling.h"

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

static int usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "llmplot: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'llmplot --help'.\n");
    return EXIT_USAGE;
}

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

/* A copy of s that is safe in XML text: valid UTF-8 without control characters (each
 * offending byte becomes '?'). Escaping of & < > " ' happens when it is written. */
static char *text_clean(const char *s) {
    char *c = llmc_xstrdup(s);
    size_t n = strlen(c);
    bool utf8 = rt_utf8_valid(c, n);
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)c[i];
        if (b < 0x20 || b == 0x7f || (!utf8 && b >= 0x80)) c[i] = '?';
    }
    return c;
}

/* Characters (UTF-8 code points) in s. */
static size_t text_chars(const char *s) {
    size_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

/* s cut to at most max characters, the last one an ellipsis when cut (malloc'd). */
static char *text_fit(const char *s, size_t max) {
    if (text_chars(s) <= max) return llmc_xstrdup(s);
    size_t i = 0, chars = 0;
    while (s[i] && chars < max - 1) {
        i++;
        while (((unsigned char)s[i] & 0xc0) == 0x80) i++;
        chars++;
    }
    char *c = llmc_xmalloc(i + 4);
    memcpy(c, s, i);
    memcpy(c + i, "\xe2\x80\xa6", 4); /* U+2026 */
    return c;
}

static void xml_escape(LlmcBuf *b, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '&': llmc_buf_puts(b, "&amp;"); break;
        case '<': llmc_buf_puts(b, "&lt;"); break;
        case '>': llmc_buf_puts(b, "&gt;"); break;
        case '"': llmc_buf_puts(b, "&quot;"); break;
        case '\'': llmc_buf_puts(b, "&apos;"); break;
        default: llmc_buf_putc(b, *s);
        }
    }
}

/* Cuts the zeros after a decimal point ("1.50" -> "1.5", "2.00" -> "2"). */
static void trim_zeros(char *s) {
    if (!strchr(s, '.')) return;
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '0') s[--n] = 0;
    if (n > 0 && s[n - 1] == '.') s[--n] = 0;
}

/* Digits after the point that show multiples of step (a 1-2-5 number) exactly. */
static int decimals_for(double step) {
    int d = -(int)floor(log10(step) + 1e-9);
    return d < 0 ? 0 : d > 12 ? 12 : d;
}

/* A tick label: v on an axis whose labels are `step` apart and whose largest magnitude
 * is mag. SI suffixes (k M G T P E) from 1e4 on, "1.5e-4" below 1e-3, plain between. */
static void fmt_tick(char *buf, size_t n, double v, double step, double mag) {
    if (fabs(v) < step * 1e-6) {
        snprintf(buf, n, "0");
        return;
    }
    char mant[48];
    const char *suffix = "";
    char exp_suffix[16];
    if (mag >= 1e4 && mag < 1e21) {
        static const char *const si[] = {"", "k", "M", "G", "T", "P", "E"};
        int k = (int)floor(log10(fabs(v)) / 3 + 1e-9);
        k = k < 0 ? 0 : k > 6 ? 6 : k;
        double scale = pow(1e3, k);
        snprintf(mant, sizeof mant, "%.*f", decimals_for(step / scale), v / scale);
        suffix = si[k];
    } else if (mag < 1e-3 || mag >= 1e21) {
        int e = (int)floor(log10(fabs(v)) + 1e-9);
        double scale = pow(10, e);
        snprintf(mant, sizeof mant, "%.*f", decimals_for(step / scale), v / scale);
        snprintf(exp_suffix, sizeof exp_suffix, "e%d", e);
        suffix = exp_suffix;
    } else {
        snprintf(mant, sizeof mant, "%.*f", decimals_for(step), v);
    }
    trim_zeros(mant);
    snprintf(buf, n, "%s%s", mant, suffix);
}

/* Three significant digits with an SI suffix: 1.23M, 456k, 0.0123. */
static void fmt_si3(char *buf, size_t n, double v) {
    if (!(fabs(v) >= 1e-3) || fabs(v) >= 1e21) {
        snprintf(buf, n, "%.3g", v);
        return;
    }
    int digits = (int)floor(log10(fabs(v)));
    int k = digits >= 3 ? digits / 3 : 0;
    if (k > 6) k = 6;
    static const char *const si[] = {"", "k", "M", "G", "T", "P", "E"};
    double m = v / pow(1e3, k);
    int d = 2 - (int)floor(log10(fabs(m)) + 1e-9);
    snprintf(buf, n, "%.*f", d < 0 ? 0 : d, m);
    trim_zeros(buf);
    size_t len = strlen(buf);
    snprintf(buf + len, n - len, "%s", si[k]);
}

/* --- runs --------------------------------------------------------------------------- */

/* One metrics line; NaN marks what it lacks (or null: llmrun writes NaN as null). */
typedef struct Step {
    double step, tokens, loss, lr, val;
} Step;

typedef struct Run {
    const char *dir; /* as given */
    char *label;     /* legend: run.json's name, or the directory's name (text_clean'd) */
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
            r->label = text_clean(name->str);
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

/* --- the plot: series, legend ------------------------------------------------------- */

typedef enum Mark {
    MARK_INVALID = 0,
    MARK_LINE,        /* solid line */
    MARK_DASHED_DOTS, /* dashed line with a circle at each point */
    MARK_DOTS,        /* circles only */
    MARK_DASHED,      /* dashed line */
    MARK_COUNT
} Mark;

typedef struct Series {
    const char *kind; /* its class after "series": train, val, lr, points, iso-n, frontier */
    char *run;        /* data-run (owned) or NULL */
    char *params;     /* data-params (owned) or NULL: the model size of sweep series */
    char color[8];    /* #rrggbb */
    int panel;        /* 0: loss, 1: lr */
    Mark mark;
    double width;     /* stroke width; circle radius for MARK_DOTS */
    double *x, *y;    /* [n] finite points, in drawing order */
    char **tips;      /* [n] tooltips of MARK_DOTS points, or NULL */
    size_t n, cap;
    const SlLaw *law; /* a frontier: plot_render fills it over the final x limits */
} Series;

typedef enum LegendKind {
    LEG_INVALID = 0,
    LEG_LINE,
    LEG_DASHED_DOTS,
    LEG_DOT,
    LEG_DASHED,
    LEG_NOTE, /* gray text, no symbol */
    LEG_GAP,
    LEG_COUNT
} LegendKind;

typedef struct LegendItem {
    LegendKind kind;
    char color[8];
    char *text; /* owned, text_clean'd */
} LegendItem;

enum { MAX_PANELS = 2 };

typedef struct Plot {
    const char *title, *xlabel;
    const char *ylabel[MAX_PANELS];
    bool log_x, log_y[MAX_PANELS];
    int panels;
    bool pad; /* points (not lines) at the data's edges: keep them off the frame */
    Series *s;
    size_t n, cap;
    LegendItem *leg;
    size_t n_leg, cap_leg;
} Plot;

static Series *plot_series(Plot *p, const char *kind, const char *run, const char *color, int panel, Mark mark,
                           double width) {
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 16;
        p->s = llmc_xrealloc(p->s, p->cap * sizeof *p->s);
    }
    Series *s = &p->s[p->n++];
    *s = (Series){.kind = kind, .run = run ? llmc_xstrdup(run) : NULL, .panel = panel, .mark = mark, .width = width};
    snprintf(s->color, sizeof s->color, "%s", color);
    return s;
}

/* Appends (x, y) when both are finite, and positive where the axis is logarithmic. */
static void series_add(const Plot *p, Series *s, double x, double y, const char *tip) {
    if (!isfinite(x) || !isfinite(y)) return;
    if ((p->log_x && x <= 0) || (p->log_y[s->panel] && y <= 0)) return;
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->x = llmc_xrealloc(s->x, s->cap * sizeof *s->x);
        s->y = llmc_xrealloc(s->y, s->cap * sizeof *s->y);
        if (s->tips) s->tips = llmc_xrealloc(s->tips, s->cap * sizeof *s->tips);
    }
    if (s->tips) s->tips[s->n] = tip ? llmc_xstrdup(tip) : NULL;
    s->x[s->n] = x;
    s->y[s->n] = y;
    s->n++;
}

static void plot_legend(Plot *p, LegendKind kind, const char *color, const char *text) {
    if (p->n_leg == p->cap_leg) {
        p->cap_leg = p->cap_leg ? 2 * p->cap_leg : 16;
        p->leg = llmc_xrealloc(p->leg, p->cap_leg * sizeof *p->leg);
    }
    LegendItem *l = &p->leg[p->n_leg++];
    *l = (LegendItem){.kind = kind, .text = text ? text_clean(text) : NULL};
    snprintf(l->color, sizeof l->color, "%s", color ? color : "#000000");
}

static void plot_free(Plot *p) {
    for (size_t i = 0; i < p->n; i++) {
        Series *s = &p->s[i];
        if (s->tips)
            for (size_t k = 0; k < s->n; k++) free(s->tips[k]);
        free(s->tips);
        free(s->x);
        free(s->y);
        free(s->run);
        free(s->params);
    }
    for (size_t i = 0; i < p->n_leg; i++) free(p->leg[i].text);
    free(p->s);
    free(p->leg);
}

/* --- axes ----------------------------------------------------------------------------- */

enum { AXIS_MAX_TICKS = 400 };

typedef struct Tick {
    double v;
    bool major, label; /* major: a grid line in the darker gray; label: printed */
} Tick;

typedef struct Axis {
    bool log;
    double lo, hi;   /* limits, data units (> 0 when log) */
    double a, b;     /* pixels of lo and hi */
    double step;     /* label spacing, for the label format (log: 0, each label its own) */
    double mag;      /* max(|lo|, |hi|) */
    Tick t[AXIS_MAX_TICKS];
    int nt;
} Axis;

static double axis_px(const Axis *ax, double v) {
    double f = ax->log ? (log10(v) - log10(ax->lo)) / (log10(ax->hi) - log10(ax->lo)) : (v - ax->lo) / (ax->hi - ax->lo);
    return ax->a + f * (ax->b - ax->a);
}

/* The smallest 1, 2 or 5 times a power of ten that is at least span / target: labels
 * never come closer than the caller asked. */
static double nice_step(double span, double target) {
    double raw = span / target;
    double p = pow(10, floor(log10(raw)));
    double m = raw / p;
    return (m <= 1 + 1e-9 ? 1 : m <= 2 + 1e-9 ? 2 : m <= 5 + 1e-9 ? 5 : 10) * p;
}

/* Is the mantissa m (1..9) one of the log axis' snap values for this rule? */
typedef enum LogRule { LOG_INVALID = 0, LOG_ALL, LOG_125, LOG_DECADES, LOG_COUNT } LogRule;

static bool log_rule_has(LogRule r, int m) {
    return r == LOG_ALL || m == 1 || (r == LOG_125 && (m == 2 || m == 5));
}

/* The largest (down) or smallest (up) value m * 10^e <= v (>= v) with m a snap value. */
static double log_snap(double v, LogRule r, bool up) {
    int e = (int)floor(log10(v) + 1e-12);
    double best = up ? INFINITY : 0;
    for (int de = -1; de <= 1; de++)
        for (int m = 1; m <= 9; m++) {
            if (!log_rule_has(r, m)) continue;
            double c = m * pow(10, e + de);
            if (up && c >= v * (1 - 1e-12) && c < best) best = c;
            if (!up && c <= v * (1 + 1e-12) && c > best) best = c;
        }
    return best;
}

/* Limits and ticks for data in [dlo, dhi] over the pixels a..b, with labels at least
 * min_px apart. Linear: 1-2-5 steps, limits on a step. Log: limits on a labeled value;
 * labels at 1..9, at 1-2-5 or at decades (every k-th when they crowd), whichever is the
 * densest that fits; unlabeled grid lines at the other mantissas when there is room. */
static void axis_fit(Axis *ax, bool log, double dlo, double dhi, double a, double b, double min_px) {
    *ax = (Axis){.log = log, .a = a, .b = b};
    double px = fabs(b - a);
    if (!(dlo <= dhi) || !isfinite(dlo) || !isfinite(dhi)) dlo = log ? 1 : 0, dhi = log ? 10 : 1;
    if (!log) {
        if (dhi - dlo <= fabs(dhi) * 1e-12) {
            double pad = dlo == 0 ? 1 : fabs(dlo) * 0.1;
            dlo -= pad;
            dhi += pad;
        }
        double target = px / min_px < 2 ? 2 : px / min_px;
        double step = nice_step(dhi - dlo, target);
        double k0 = floor(dlo / step + 1e-9), k1 = ceil(dhi / step - 1e-9);
        ax->lo = k0 * step;
        ax->hi = k1 * step;
        ax->step = step;
        for (double k = k0; k <= k1 && ax->nt < AXIS_MAX_TICKS; k++) {
            double v = k * step;
            if (fabs(v) < step * 1e-9) v = 0;
            ax->t[ax->nt++] = (Tick){v, true, true};
        }
    } else {
        if (dhi <= dlo * (1 + 1e-12)) dlo /= 2, dhi *= 2;
        /* Pick the densest rule whose closest labels stay min_px apart; snapping to it
         * only narrows the range (more pixels per decade), so the choice holds. */
        LogRule rule = LOG_DECADES;
        static const LogRule tries[] = {LOG_ALL, LOG_125};
        static const double gaps[] = {0.04575749056 /* log10(10/9) */, 0.30102999566 /* log10 2 */};
        for (int i = 0; i < 2 && rule == LOG_DECADES; i++) {
            double lo = log_snap(dlo, tries[i], false), hi = log_snap(dhi, tries[i], true);
            if (px / (log10(hi) - log10(lo)) * gaps[i] >= min_px) rule = tries[i];
        }
        ax->lo = log_snap(dlo, rule, false);
        ax->hi = log_snap(dhi, rule, true);
        double decades = log10(ax->hi) - log10(ax->lo);
        double pxd = px / decades;
        int every = rule == LOG_DECADES ? (int)ceil(min_px / pxd - 1e-9) : 1;
        if (every < 1) every = 1;
        int e0 = (int)floor(log10(ax->lo) + 1e-12), e1 = (int)ceil(log10(ax->hi) - 1e-12);
        for (int e = e0; e <= e1; e++)
            for (int m = 1; m <= 9; m++) {
                double v = m * pow(10, e);
                if (v < ax->lo * (1 - 1e-9) || v > ax->hi * (1 + 1e-9)) continue;
                bool label = log_rule_has(rule, m) && (rule != LOG_DECADES || (e - e0) % every == 0);
                bool grid = label || m == 1 || pxd >= 90;
                if (grid && ax->nt < AXIS_MAX_TICKS) ax->t[ax->nt++] = (Tick){v, m == 1 || label, label};
            }
    }
    ax->mag = fmax(fabs(ax->lo), fabs(ax->hi));
}

static void axis_label(const Axis *ax, const Tick *t, char *buf, size_t n) {
    /* On a log axis each label is its own step: 2e-4, 50k, 300. */
    fmt_tick(buf, n, t->v, ax->log ? t->v : ax->step, ax->mag);
}

/* Estimated width in pixels of text at 12px (DejaVu Sans / Helvetica averages). */
static double text_px(const char *s, double font) {
    return (double)text_chars(s) * font * 0.6;
}

/* Horizontal axis: drop labels that would touch the one kept before them. */
static void axis_thin_x(Axis *ax) {
    double last_right = -INFINITY;
    for (int i = 0; i < ax->nt; i++) {
        if (!ax->t[i].label) continue;
        char buf[48];
        axis_label(ax, &ax->t[i], buf, sizeof buf);
        double w = text_px(buf, 12), x = axis_px(ax, ax->t[i].v);
        if (x - w / 2 < last_right + 10) {
            ax->t[i].label = false;
            continue;
        }
        last_right = x + w / 2;
    }
}

/* --- SVG ------------------------------------------------------------------------------- */

enum { SVG_W = 960, SVG_H = 600, SVG_H_PANELS = 760 };

static const char *const grid_minor = "#efefef", *const grid_major = "#d9d9d9", *const ink = "#222222",
                         *const ink_soft = "#555555";

/* The data range of one panel's y (or, want_x, of every x). */
static void data_range(const Plot *p, int panel, bool want_x, double *lo, double *hi) {
    *lo = INFINITY;
    *hi = -INFINITY;
    for (size_t i = 0; i < p->n; i++) {
        const Series *s = &p->s[i];
        if (!want_x && s->panel != panel) continue;
        for (size_t k = 0; k < s->n; k++) {
            double v = want_x ? s->x[k] : s->y[k];
            if (v < *lo) *lo = v;
            if (v > *hi) *hi = v;
        }
    }
}

/* Widens [lo, hi] by 5% of its span on each side (of its log span on a log axis, and at
 * least 2% of a decade), so markers at the edges stay clear of the frame. */
static void range_pad(bool log, double *lo, double *hi) {
    if (!(*lo <= *hi)) return;
    if (log) {
        double f = pow(10, fmax(0.02, 0.05 * (log10(*hi) - log10(*lo))));
        *lo /= f;
        *hi *= f;
    } else {
        double d = (*hi - *lo) * 0.05;
        *lo -= d;
        *hi += d;
    }
}

/* Fills a frontier series with L(N_opt(C), D_opt(C)) for C across [lo, hi] (log-spaced),
 * where it is within 100x of the rest of its panel: a law far off these runs would
 * otherwise squash them into a line. */
static void frontier_fill(const Plot *p, Series *s, double lo, double hi) {
    double ylo, yhi;
    data_range(p, s->panel, false, &ylo, &yhi);
    if (!(ylo <= yhi)) ylo = 0, yhi = INFINITY;
    enum { FRONTIER_POINTS = 200 };
    for (int k = 0; k <= FRONTIER_POINTS; k++) {
        double C = lo * pow(hi / lo, (double)k / FRONTIER_POINTS), N, D;
        sl_optimal(s->law, C, &N, &D);
        double L = sl_loss(s->law, N, D);
        if (L > ylo / 100 && L < yhi * 100) series_add(p, s, C, L, NULL);
    }
}

/* One polyline as a path "M x,y L x,y x,y ...", thinned to at most four points per
 * pixel column (the first, the lowest, the highest and the last), so a million steps
 * draw the same as all of them and the file stays small. */
static void path_data(LlmcBuf *b, const Series *s, const Axis *ax, const Axis *ay) {
    size_t i = 0, pts = 0;
    while (i < s->n) {
        long col = lround(axis_px(ax, s->x[i]));
        size_t first = i, lo = i, hi = i, last = i;
        while (i < s->n && lround(axis_px(ax, s->x[i])) == col) {
            if (s->y[i] < s->y[lo]) lo = i;
            if (s->y[i] > s->y[hi]) hi = i;
            last = i++;
        }
        size_t pick[4] = {first, lo < hi ? lo : hi, lo < hi ? hi : lo, last};
        for (int k = 0; k < 4; k++) {
            if (k > 0 && pick[k] == pick[k - 1]) continue;
            double x = axis_px(ax, s->x[pick[k]]), y = axis_px(ay, s->y[pick[k]]);
            llmc_buf_printf(b, "%s%.1f,%.1f", pts == 0 ? "M" : pts == 1 ? " L" : " ", x, y);
            pts++;
        }
    }
}

static void svg_attr_run(LlmcBuf *b, const Series *s) {
    if (s->run) {
        llmc_buf_puts(b, " data-run=\"");
        xml_escape(b, s->run);
        llmc_buf_putc(b, '"');
    }
    if (s->params) {
        llmc_buf_puts(b, " data-params=\"");
        xml_escape(b, s->params);
        llmc_buf_putc(b, '"');
    }
}

static void svg_series(LlmcBuf *b, const Series *s, const Axis *ax, const Axis *ay) {
    if (s->n == 0) return;
    bool line = s->mark == MARK_LINE || s->mark == MARK_DASHED || s->mark == MARK_DASHED_DOTS;
    bool dashed = s->mark == MARK_DASHED || s->mark == MARK_DASHED_DOTS;
    if (line && s->n >= 2) {
        llmc_buf_printf(b, "<path class=\"series %s\"", s->kind);
        svg_attr_run(b, s);
        llmc_buf_printf(b, " fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\" stroke-linejoin=\"round\"%s d=\"",
                        s->color, s->width, dashed ? " stroke-dasharray=\"6 4\"" : "");
        path_data(b, s, ax, ay);
        llmc_buf_puts(b, "\"/>\n");
    }
    /* Points: a dashed series' markers, sweep points, and any one-point series (a path
     * of one point draws nothing). Very many validation markers would only smear. */
    bool dots = s->mark == MARK_DOTS || (s->mark == MARK_DASHED_DOTS && s->n <= 400) || (line && s->n == 1);
    if (!dots) return;
    double r = s->mark == MARK_DOTS ? s->width : 2.8;
    llmc_buf_printf(b, "<g class=\"%s %s\"", s->mark == MARK_DOTS ? "series" : "markers", s->kind);
    svg_attr_run(b, s);
    llmc_buf_printf(b, " fill=\"%s\" stroke=\"#ffffff\" stroke-width=\"%.1f\">\n", s->color,
                    s->mark == MARK_DOTS ? 1.2 : 0.8);
    for (size_t k = 0; k < s->n; k++) {
        llmc_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\"", axis_px(ax, s->x[k]), axis_px(ay, s->y[k]), r);
        if (s->tips && s->tips[k]) {
            llmc_buf_puts(b, "><title>");
            xml_escape(b, s->tips[k]);
            llmc_buf_puts(b, "</title></circle>\n");
        } else {
            llmc_buf_puts(b, "/>\n");
        }
    }
    llmc_buf_puts(b, "</g>\n");
}

static void svg_text(LlmcBuf *b, double x, double y, const char *anchor, const char *cls, const char *extra,
                     const char *text) {
    llmc_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"", x, y, anchor);
    if (cls) llmc_buf_printf(b, " class=\"%s\"", cls);
    if (extra) llmc_buf_printf(b, " %s", extra);
    llmc_buf_putc(b, '>');
    xml_escape(b, text);
    llmc_buf_puts(b, "</text>\n");
}

/* The legend's symbol for one item, in a 28 x 12 box whose left middle is (x, y). */
static void svg_legend_symbol(LlmcBuf *b, const LegendItem *l, double x, double y) {
    switch (l->kind) {
    case LEG_LINE:
    case LEG_DASHED:
    case LEG_DASHED_DOTS:
        llmc_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"%s/>\n",
                        x, y, x + 28, y, l->color, l->kind == LEG_LINE ? "" : " stroke-dasharray=\"6 4\"");
        if (l->kind == LEG_DASHED_DOTS)
            llmc_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.8\" fill=\"%s\"/>\n", x + 14, y, l->color);
        break;
    case LEG_DOT:
        llmc_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4.5\" fill=\"%s\" stroke=\"#ffffff\" stroke-width=\"1.2\"/>\n",
                        x + 14, y, l->color);
        break;
    case LEG_NOTE:
    case LEG_GAP:
    case LEG_INVALID:
    case LEG_COUNT:
        break;
    }
}

enum { LEGEND_MAX_CHARS = 36 };

/* Draws the plot. Layout: the legend's width sets the right edge of the panels; the x
 * limits come first (from a nominal width: they depend on it only through the tick
 * density), then the frontiers over them, then the y axes, whose widest label sets the
 * left edge, and last the x axis mapped onto the final width. */
static void plot_render(Plot *p, LlmcBuf *b) {
    const int W = SVG_W, H = p->panels > 1 ? SVG_H_PANELS : SVG_H;
    /* The legend, right of the plot: as wide as its longest line (within bounds). */
    double legend_w = 120;
    for (size_t i = 0; i < p->n_leg; i++) {
        if (!p->leg[i].text) continue;
        size_t c = text_chars(p->leg[i].text);
        if (c > LEGEND_MAX_CHARS) c = LEGEND_MAX_CHARS;
        double w = (double)c * 12 * 0.6 + (p->leg[i].kind == LEG_NOTE ? 16 : 52);
        if (w > legend_w) legend_w = w;
    }
    double top = p->title ? 56 : 24, bottom = H - 58, right = W - 24 - legend_w - 12;
    double ptop[MAX_PANELS], pbot[MAX_PANELS];
    if (p->panels == 1) {
        ptop[0] = top, pbot[0] = bottom;
    } else {
        double h = bottom - top - 28;
        ptop[0] = top, pbot[0] = top + 0.66 * h;
        ptop[1] = pbot[0] + 28, pbot[1] = bottom;
    }
    double lo, hi;
    data_range(p, 0, true, &lo, &hi);
    if (p->pad) range_pad(p->log_x, &lo, &hi);
    Axis ax;
    axis_fit(&ax, p->log_x, lo, hi, 100, right, 70);
    for (size_t i = 0; i < p->n; i++)
        if (p->s[i].law) frontier_fill(p, &p->s[i], ax.lo, ax.hi);
    Axis ay[MAX_PANELS];
    double label_w = 0;
    for (int k = 0; k < p->panels; k++) {
        data_range(p, k, false, &lo, &hi);
        if (p->pad) range_pad(p->log_y[k], &lo, &hi);
        axis_fit(&ay[k], p->log_y[k], lo, hi, pbot[k], ptop[k], p->log_y[k] ? 24 : 40);
        for (int i = 0; i < ay[k].nt; i++) {
            if (!ay[k].t[i].label) continue;
            char buf[48];
            axis_label(&ay[k], &ay[k].t[i], buf, sizeof buf);
            label_w = fmax(label_w, text_px(buf, 12));
        }
    }
    double left = 40 + label_w + 10;
    ax.a = left;
    axis_thin_x(&ax);

    llmc_buf_printf(b,
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                    "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n",
                    W, H, W, H);
    llmc_buf_printf(b, "<rect class=\"background\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", W, H);
    if (p->title)
        svg_text(b, (left + right) / 2, 32, "middle", "title", "font-size=\"17\" font-weight=\"bold\" fill=\"#222222\"",
                 p->title);
    for (int k = 0; k < p->panels; k++) {
        const Axis *y = &ay[k];
        bool x_labels = k == p->panels - 1;
        llmc_buf_printf(b, "<g class=\"panel\" id=\"panel-%d\">\n", k);
        /* 4px past the frame: a marker on the edge shows whole. */
        llmc_buf_printf(b, "<clipPath id=\"clip-%d\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/></clipPath>\n",
                        k, left - 4, ptop[k] - 4, right - left + 8, pbot[k] - ptop[k] + 8);
        /* Grid: minor lines first, so the major ones are drawn over them. */
        llmc_buf_puts(b, "<g class=\"grid\" stroke-width=\"1\">\n");
        for (int pass = 0; pass < 2; pass++) {
            for (int i = 0; i < ax.nt; i++) {
                if (ax.t[i].major != (pass == 1)) continue;
                double x = axis_px(&ax, ax.t[i].v);
                llmc_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", x, ptop[k], x,
                                pbot[k], pass ? grid_major : grid_minor);
            }
            for (int i = 0; i < y->nt; i++) {
                if (y->t[i].major != (pass == 1)) continue;
                double yy = axis_px(y, y->t[i].v);
                llmc_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", left, yy,
                                right, yy, pass ? grid_major : grid_minor);
            }
        }
        llmc_buf_puts(b, "</g>\n");
        /* Tick marks and labels. */
        llmc_buf_printf(b, "<g class=\"ticks\" stroke=\"%s\">\n", ink);
        for (int i = 0; i < ax.nt; i++)
            if (ax.t[i].major) {
                double x = axis_px(&ax, ax.t[i].v);
                llmc_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x, pbot[k], x,
                                pbot[k] + (ax.t[i].label ? 5 : 3));
            }
        for (int i = 0; i < y->nt; i++)
            if (y->t[i].major) {
                double yy = axis_px(y, y->t[i].v);
                llmc_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", left - (y->t[i].label ? 5 : 3),
                                yy, left, yy);
            }
        llmc_buf_puts(b, "</g>\n");
        llmc_buf_printf(b, "<g class=\"tick-labels\" fill=\"%s\">\n", ink_soft);
        for (int i = 0; x_labels && i < ax.nt; i++) {
            if (!ax.t[i].label) continue;
            char buf[48];
            axis_label(&ax, &ax.t[i], buf, sizeof buf);
            svg_text(b, axis_px(&ax, ax.t[i].v), pbot[k] + 19, "middle", "tick-label x", NULL, buf);
        }
        for (int i = 0; i < y->nt; i++) {
            if (!y->t[i].label) continue;
            char buf[48];
            axis_label(y, &y->t[i], buf, sizeof buf);
            svg_text(b, left - 8, axis_px(y, y->t[i].v) + 4, "end", "tick-label y", NULL, buf);
        }
        llmc_buf_puts(b, "</g>\n");
        /* Axis titles. */
        char rot[96];
        double ymid = (ptop[k] + pbot[k]) / 2;
        snprintf(rot, sizeof rot, "transform=\"rotate(-90 %.1f %.1f)\" font-size=\"13\" fill=\"%s\"", 20.0, ymid, ink);
        svg_text(b, 20, ymid, "middle", "axis-title y", rot, p->ylabel[k]);
        if (x_labels) {
            char attr[64];
            snprintf(attr, sizeof attr, "font-size=\"13\" fill=\"%s\"", ink);
            svg_text(b, (left + right) / 2, pbot[k] + 44, "middle", "axis-title x", attr, p->xlabel);
        }
        /* The data, clipped to the frame. */
        llmc_buf_printf(b, "<g class=\"data\" clip-path=\"url(#clip-%d)\">\n", k);
        for (size_t i = 0; i < p->n; i++)
            if (p->s[i].panel == k) svg_series(b, &p->s[i], &ax, y);
        llmc_buf_puts(b, "</g>\n");
        llmc_buf_printf(b, "<rect class=\"frame\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
                           "stroke=\"%s\" stroke-width=\"1\"/>\n",
                        left, ptop[k], right - left, pbot[k] - ptop[k], ink);
        llmc_buf_puts(b, "</g>\n");
    }
    /* The legend, in a box at the top right; what does not fit above the bottom of the
     * picture is summed up in a last line. */
    double lx = right + 12, ly = ptop[0], row = 19, h = 12, room = H - 12 - ly;
    size_t shown = 0;
    for (; shown < p->n_leg; shown++) {
        double dh = p->leg[shown].kind == LEG_GAP ? 8 : row;
        if (h + dh + (shown + 1 < p->n_leg ? row : 0) > room) break;
        h += dh;
    }
    size_t hidden = 0;
    for (size_t i = shown; i < p->n_leg; i++) hidden += p->leg[i].kind != LEG_GAP;
    if (hidden) h += row;
    llmc_buf_printf(b, "<g class=\"legend\">\n<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#ffffff\" "
                       "stroke=\"#cccccc\" rx=\"3\"/>\n",
                    lx, ly, legend_w, h);
    double y = ly + 6 + row / 2;
    if (hidden) {
        char more[64];
        snprintf(more, sizeof more, "\xe2\x80\xa6 and %zu more", hidden); /* U+2026 */
        svg_text(b, lx + 8, y + (h - 12 - row) + 4, "start", "legend-note", "fill=\"#666666\" font-style=\"italic\"", more);
    }
    for (size_t i = 0; i < shown; i++) {
        const LegendItem *l = &p->leg[i];
        if (l->kind == LEG_GAP) {
            y += 8;
            continue;
        }
        char *t = text_fit(l->text ? l->text : "", LEGEND_MAX_CHARS);
        if (l->kind == LEG_NOTE) {
            svg_text(b, lx + 8, y + 4, "start", "legend-note", "fill=\"#666666\" font-style=\"italic\"", t);
        } else {
            svg_legend_symbol(b, l, lx + 8, y);
            svg_text(b, lx + 44, y + 4, "start", "legend-label", "fill=\"#222222\"", t);
        }
        free(t);
        y += row;
    }
    llmc_buf_puts(b, "</g>\n</svg>\n");
}

/* --- runs mode ---------------------------------------------------------------------- */

/* Tableau 10: distinct, colorblind-aware, readable on white. */
static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

static double step_x(const Run *r, const Step *s, XAxis x) {
    return x == X_TOKENS ? s->tokens : x == X_FLOPS ? s->step * r->flops_per_step : s->step;
}

static int plot_runs(const Options *o, LlmcBuf *svg) {
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
        r->label = text_clean(base);
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
                runs[i].label = text_clean(runs[i].dir);
                break;
            }
    bool any_val = false;
    size_t points = 0;
    for (int i = 0; i < o->n_runs; i++) {
        const Run *r = &runs[i];
        const char *color = palette[i % (int)(sizeof palette / sizeof *palette)];
        Series *train = plot_series(&p, "train", r->label, color, 0, MARK_LINE, 1.6);
        for (size_t k = 0; k < r->n; k++) series_add(&p, train, step_x(r, &r->steps[k], o->x), r->steps[k].loss, NULL);
        Series *val = plot_series(&p, "val", r->label, color, 0, MARK_DASHED_DOTS, 1.6);
        for (size_t k = 0; k < r->n; k++) series_add(&p, val, step_x(r, &r->steps[k], o->x), r->steps[k].val, NULL);
        /* plot_series may move the array: take the counts by index. */
        size_t n_train = p.s[p.n - 2].n, n_val = p.s[p.n - 1].n;
        if (n_train + n_val == 0)
            fprintf(stderr, "llmplot: warning: %s: no finite loss%s to plot\n", r->dir,
                    o->log_y || o->log_x ? " (with positive coordinates on the log axes)" : "");
        any_val |= n_val > 0;
        points += n_train + n_val;
        if (o->lr) {
            Series *lr = plot_series(&p, "lr", r->label, color, 1, MARK_LINE, 1.6);
            for (size_t k = 0; k < r->n; k++) series_add(&p, lr, step_x(r, &r->steps[k], o->x), r->steps[k].lr, NULL);
        }
        plot_legend(&p, LEG_LINE, color, r->label);
    }
    if (points == 0) {
        llmc_err_set(&err, "nothing to plot: no run has a finite loss%s",
                     o->log_y || o->log_x ? " with positive coordinates on the log axes" : "");
        goto done;
    }
    plot_legend(&p, LEG_GAP, NULL, NULL);
    plot_legend(&p, LEG_LINE, ink_soft, "train");
    if (any_val) plot_legend(&p, LEG_DASHED_DOTS, ink_soft, "validation");
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

static int plot_sweep(const Options *o, LlmcBuf *svg) {
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
        r->label = text_clean(ents[i]->d_name);
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
    plot_legend(&p, LEG_NOTE, NULL, "model size N (params)");
    size_t g = 0;
    for (size_t i = 0; i < n_pts;) {
        size_t j = i;
        while (j < n_pts && pts[j].N == pts[i].N) j++;
        char color[8], size[32];
        double t = pts[i].N > 0 && nmax > nmin ? (log(pts[i].N) - log(nmin)) / (log(nmax) - log(nmin)) : 0.4;
        viridis(t, color);
        if (pts[i].N > 0) fmt_si3(size, sizeof size, pts[i].N);
        else snprintf(size, sizeof size, "unknown");
        if (j - i >= 2) {
            Series *line = plot_series(&p, "iso-n", NULL, color, 0, MARK_LINE, 1.2);
            line->params = llmc_xstrdup(size);
            for (size_t k = i; k < j; k++) series_add(&p, line, pts[k].C, pts[k].loss, NULL);
        }
        Series *dots = plot_series(&p, "points", NULL, color, 0, MARK_DOTS, 4.5);
        dots->params = llmc_xstrdup(size);
        dots->tips = llmc_xcalloc(1, sizeof *dots->tips); /* tips wanted: series_add keeps them */
        for (size_t k = i; k < j; k++) {
            char tip[512], c[32], l[32];
            fmt_si3(c, sizeof c, pts[k].C);
            snprintf(l, sizeof l, "%.4f", pts[k].loss);
            snprintf(tip, sizeof tip, "%s: N = %s, C = %s FLOPs, %s loss %s", pts[k].run->label, size, c,
                     pts[k].val ? "validation" : "training", l);
            series_add(&p, dots, pts[k].C, pts[k].loss, tip);
        }
        if (groups <= LEGEND_SIZES || g < LEGEND_SIZES / 2 || g >= groups - LEGEND_SIZES / 2 + 1) {
            char text[64];
            snprintf(text, sizeof text, "N = %s", size);
            plot_legend(&p, LEG_DOT, color, text);
        } else if (g == LEGEND_SIZES / 2) {
            plot_legend(&p, LEG_NOTE, NULL, "\xe2\x80\xa6"); /* U+2026 */
        }
        g++;
        i = j;
    }
    /* The frontier, drawn by plot_render over the plotted range of C. */
    SlLaw law;
    bool have_law;
    char source[256] = "";
    if (!sweep_law(o, &law, &have_law, source, sizeof source, &err)) goto done;
    plot_legend(&p, LEG_GAP, NULL, NULL);
    if (have_law) {
        Series *f = plot_series(&p, "frontier", NULL, "#222222", 0, MARK_DASHED, 2.0);
        f->law = &law;
        plot_legend(&p, LEG_DASHED, "#222222", "compute-optimal frontier");
        char text[sizeof source + 16];
        snprintf(text, sizeof text, "law: %s", source);
        plot_legend(&p, LEG_NOTE, NULL, text);
        snprintf(text, sizeof text, "E=%.3g A=%.4g B=%.4g", law.E, law.A, law.B);
        plot_legend(&p, LEG_NOTE, NULL, text);
        snprintf(text, sizeof text, "\xce\xb1=%.3g \xce\xb2=%.3g", law.alpha, law.beta); /* alpha, beta */
        plot_legend(&p, LEG_NOTE, NULL, text);
    } else {
        plot_legend(&p, LEG_NOTE, NULL, "no scaling law: no frontier");
        plot_legend(&p, LEG_NOTE, NULL, "(llmsweep fit, or --law)");
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
    status = o.sweep ? plot_sweep(&o, &svg) : plot_runs(&o, &svg);
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
