/* tools/llmplot_svg.c — llmplot's drawing layer: a Plot (llmplot.h), already filled
 * with series in data units and legend lines, written out as one SVG document.
 *
 * Layout: a fixed canvas (960 x 600, 760 with a second panel), the legend at the top
 * right as wide as its longest line, panels sharing one x axis. Axes: linear ones on
 * 1-2-5 steps, log ones labeled at 1..9, 1-2-5 or decades, whichever is the densest whose
 * labels stay apart; tick labels with SI suffixes (k M G ...) or exponents. A frontier
 * series (->law) is filled here, over the final x limits, since only the layout knows
 * them. Polylines are thinned to four points per pixel column, so a long run draws the
 * same as all of its steps in a small file.
 *
 * The SVG is written directly (no plotting dependency) with presentation attributes
 * only, so browsers, librsvg and editors draw it alike. It is meant to be inspected by
 * tests too: every curve is a <path class="series KIND" data-run="NAME"> (KIND: train,
 * val, lr; in a sweep iso-n and frontier, with data-params="SIZE" for iso-n), validation
 * markers are <g class="markers val" data-run="NAME"> and the sweep's points <g
 * class="series points" data-params="SIZE"> of circles, tick labels <text
 * class="tick-label x|y">, axis titles <text class="axis-title x|y">. KIND, NAME and SIZE
 * are the caller's (llmplot.c); the structure is this file's.
 *
 * What it does not do: read files, choose what to plot or its colors (llmplot.c), or
 * fail: every plot draws, an empty one on default axes.
 */
#include "ir.h"
#include "llmplot.h"
#include "runtime.h"
#include "scaling.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- text --------------------------------------------------------------------------- */

char *plot_text_clean(const char *s) {
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

/* Every text and attribute value goes through here: names come from directories and
 * run.json, titles from the command line. */
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

/* --- numbers ------------------------------------------------------------------------ */

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

void plot_fmt_si3(char *buf, size_t n, double v) {
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

/* --- the plot: series, legend ------------------------------------------------------- */

PlotSeries *plot_series_new(Plot *p, const char *kind, const char *run, const char *color, int panel, PlotMark mark,
                            double width) {
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 16;
        p->s = llmc_xrealloc(p->s, p->cap * sizeof *p->s);
    }
    PlotSeries *s = &p->s[p->n++];
    *s = (PlotSeries){.kind = kind, .run = run ? llmc_xstrdup(run) : NULL, .panel = panel, .mark = mark,
                      .width = width};
    snprintf(s->color, sizeof s->color, "%s", color);
    return s;
}

void plot_series_add(const Plot *p, PlotSeries *s, double x, double y, const char *tip) {
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

void plot_legend_add(Plot *p, PlotLegendKind kind, const char *color, const char *text) {
    if (p->n_leg == p->cap_leg) {
        p->cap_leg = p->cap_leg ? 2 * p->cap_leg : 16;
        p->leg = llmc_xrealloc(p->leg, p->cap_leg * sizeof *p->leg);
    }
    PlotLegendItem *l = &p->leg[p->n_leg++];
    *l = (PlotLegendItem){.kind = kind, .text = text ? plot_text_clean(text) : NULL};
    snprintf(l->color, sizeof l->color, "%s", color ? color : "#000000");
}

void plot_free(Plot *p) {
    for (size_t i = 0; i < p->n; i++) {
        PlotSeries *s = &p->s[i];
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

static const char *const grid_minor = "#efefef", *const grid_major = "#d9d9d9", *const ink = "#222222";
const char PLOT_INK_SOFT[] = "#555555";

/* The data range of one panel's y (or, want_x, of every x). */
static void data_range(const Plot *p, int panel, bool want_x, double *lo, double *hi) {
    *lo = INFINITY;
    *hi = -INFINITY;
    for (size_t i = 0; i < p->n; i++) {
        const PlotSeries *s = &p->s[i];
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
static void frontier_fill(const Plot *p, PlotSeries *s, double lo, double hi) {
    double ylo, yhi;
    data_range(p, s->panel, false, &ylo, &yhi);
    if (!(ylo <= yhi)) ylo = 0, yhi = INFINITY;
    enum { FRONTIER_POINTS = 200 };
    for (int k = 0; k <= FRONTIER_POINTS; k++) {
        double C = lo * pow(hi / lo, (double)k / FRONTIER_POINTS), N, D;
        sl_optimal(s->law, C, &N, &D);
        double L = sl_loss(s->law, N, D);
        if (L > ylo / 100 && L < yhi * 100) plot_series_add(p, s, C, L, NULL);
    }
}

/* One polyline as a path "M x,y L x,y x,y ...", thinned to at most four points per
 * pixel column (the first, the lowest, the highest and the last), so a million steps
 * draw the same as all of them and the file stays small. */
static void path_data(LlmcBuf *b, const PlotSeries *s, const Axis *ax, const Axis *ay) {
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

static void svg_attr_run(LlmcBuf *b, const PlotSeries *s) {
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

static void svg_series(LlmcBuf *b, const PlotSeries *s, const Axis *ax, const Axis *ay) {
    if (s->n == 0) return;
    bool line = s->mark == PLOT_MARK_LINE || s->mark == PLOT_MARK_DASHED || s->mark == PLOT_MARK_DASHED_DOTS;
    bool dashed = s->mark == PLOT_MARK_DASHED || s->mark == PLOT_MARK_DASHED_DOTS;
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
    bool dots = s->mark == PLOT_MARK_DOTS || (s->mark == PLOT_MARK_DASHED_DOTS && s->n <= 400) || (line && s->n == 1);
    if (!dots) return;
    double r = s->mark == PLOT_MARK_DOTS ? s->width : 2.8;
    llmc_buf_printf(b, "<g class=\"%s %s\"", s->mark == PLOT_MARK_DOTS ? "series" : "markers", s->kind);
    svg_attr_run(b, s);
    llmc_buf_printf(b, " fill=\"%s\" stroke=\"#ffffff\" stroke-width=\"%.1f\">\n", s->color,
                    s->mark == PLOT_MARK_DOTS ? 1.2 : 0.8);
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
static void svg_legend_symbol(LlmcBuf *b, const PlotLegendItem *l, double x, double y) {
    switch (l->kind) {
    case PLOT_LEG_LINE:
    case PLOT_LEG_DASHED:
    case PLOT_LEG_DASHED_DOTS:
        llmc_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"%s/>\n",
                        x, y, x + 28, y, l->color, l->kind == PLOT_LEG_LINE ? "" : " stroke-dasharray=\"6 4\"");
        if (l->kind == PLOT_LEG_DASHED_DOTS)
            llmc_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.8\" fill=\"%s\"/>\n", x + 14, y, l->color);
        break;
    case PLOT_LEG_DOT:
        llmc_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4.5\" fill=\"%s\" stroke=\"#ffffff\" stroke-width=\"1.2\"/>\n",
                        x + 14, y, l->color);
        break;
    case PLOT_LEG_NOTE:
    case PLOT_LEG_GAP:
    case PLOT_LEG_INVALID:
    case PLOT_LEG_COUNT:
        break;
    }
}

enum { LEGEND_MAX_CHARS = 36 };

/* Draws the plot. Layout: the legend's width sets the right edge of the panels; the x
 * limits come first (from a nominal width: they depend on it only through the tick
 * density), then the frontiers over them, then the y axes, whose widest label sets the
 * left edge, and last the x axis mapped onto the final width. */
void plot_render(Plot *p, LlmcBuf *b) {
    const int W = SVG_W, H = p->panels > 1 ? SVG_H_PANELS : SVG_H;
    /* The legend, right of the plot: as wide as its longest line (within bounds). */
    double legend_w = 120;
    for (size_t i = 0; i < p->n_leg; i++) {
        if (!p->leg[i].text) continue;
        size_t c = text_chars(p->leg[i].text);
        if (c > LEGEND_MAX_CHARS) c = LEGEND_MAX_CHARS;
        double w = (double)c * 12 * 0.6 + (p->leg[i].kind == PLOT_LEG_NOTE ? 16 : 52);
        if (w > legend_w) legend_w = w;
    }
    double top = p->title ? 56 : 24, bottom = H - 58, right = W - 24 - legend_w - 12;
    double ptop[PLOT_MAX_PANELS], pbot[PLOT_MAX_PANELS];
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
    Axis ay[PLOT_MAX_PANELS];
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
        llmc_buf_printf(b, "<g class=\"tick-labels\" fill=\"%s\">\n", PLOT_INK_SOFT);
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
        double dh = p->leg[shown].kind == PLOT_LEG_GAP ? 8 : row;
        if (h + dh + (shown + 1 < p->n_leg ? row : 0) > room) break;
        h += dh;
    }
    size_t hidden = 0;
    for (size_t i = shown; i < p->n_leg; i++) hidden += p->leg[i].kind != PLOT_LEG_GAP;
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
        const PlotLegendItem *l = &p->leg[i];
        if (l->kind == PLOT_LEG_GAP) {
            y += 8;
            continue;
        }
        char *t = text_fit(l->text ? l->text : "", LEGEND_MAX_CHARS);
        if (l->kind == PLOT_LEG_NOTE) {
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
