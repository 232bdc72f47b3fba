/* tools/llmplot.h — what the two files of the llmplot tool share: the plot that
 * llmplot.c fills (series of points, legend lines) and llmplot_svg.c draws as SVG, and
 * the two text helpers both sides need. Not a library header: only the llmplot
 * executable includes it. Prefix plot_ (types Plot...).
 *
 *   llmplot.c       main, the command line, reading run directories, sweeps and laws,
 *                   choosing the series, colors and legend of a plot
 *   llmplot_svg.c   the drawing: layout, axes and their ticks, number formatting,
 *                   series paths and markers, the legend, XML escaping
 *
 * The split keeps the reading of files out of the drawing: llmplot_svg.c knows nothing
 * of metrics.jsonl, run.json or sweeps, only of points already in data units.
 */
#ifndef LLMC_LLMPLOT_H
#define LLMC_LLMPLOT_H

#include "ir.h"
#include "scaling.h"

#include <stdbool.h>
#include <stddef.h>

/* --- the plot: series, legend ------------------------------------------------------- */

typedef enum PlotMark {
    PLOT_MARK_INVALID = 0,
    PLOT_MARK_LINE,        /* solid line */
    PLOT_MARK_DASHED_DOTS, /* dashed line with a circle at each point */
    PLOT_MARK_DOTS,        /* circles only */
    PLOT_MARK_DASHED,      /* dashed line */
    PLOT_MARK_COUNT
} PlotMark;

typedef struct PlotSeries {
    const char *kind; /* its class after "series": train, val, lr, points, iso-n, frontier */
    char *run;        /* data-run (owned) or NULL */
    char *params;     /* data-params (owned) or NULL: the model size of sweep series */
    char color[8];    /* #rrggbb */
    int panel;        /* 0: loss, 1: lr */
    PlotMark mark;
    double width;     /* stroke width; circle radius for PLOT_MARK_DOTS */
    double *x, *y;    /* [n] finite points, in drawing order */
    char **tips;      /* [n] tooltips of PLOT_MARK_DOTS points, or NULL */
    size_t n, cap;
    const SlLaw *law; /* a frontier: plot_render fills it over the final x limits */
} PlotSeries;

typedef enum PlotLegendKind {
    PLOT_LEG_INVALID = 0,
    PLOT_LEG_LINE,
    PLOT_LEG_DASHED_DOTS,
    PLOT_LEG_DOT,
    PLOT_LEG_DASHED,
    PLOT_LEG_NOTE, /* gray text, no symbol */
    PLOT_LEG_GAP,
    PLOT_LEG_COUNT
} PlotLegendKind;

typedef struct PlotLegendItem {
    PlotLegendKind kind;
    char color[8];
    char *text; /* owned, plot_text_clean'd */
} PlotLegendItem;

enum { PLOT_MAX_PANELS = 2 };

/* Filled by the caller (titles, log axes, panels, pad) and through plot_series_new /
 * plot_series_add / plot_legend_add; zero-initialized it is an empty plot. */
typedef struct Plot {
    const char *title, *xlabel;
    const char *ylabel[PLOT_MAX_PANELS];
    bool log_x, log_y[PLOT_MAX_PANELS];
    int panels;
    bool pad; /* points (not lines) at the data's edges: keep them off the frame */
    PlotSeries *s;
    size_t n, cap;
    PlotLegendItem *leg;
    size_t n_leg, cap_leg;
} Plot;

/* A new empty series of p (run copied; color "#rrggbb"). The pointer holds until the
 * next plot_series_new, which may move p->s: refer to earlier series by index. Set
 * ->params, ->tips (a non-NULL array asks for tooltips) or ->law on it before adding. */
PlotSeries *plot_series_new(Plot *p, const char *kind, const char *run, const char *color, int panel, PlotMark mark,
                            double width);
/* Appends (x, y) when both are finite, and positive where the axis is logarithmic: what
 * cannot be drawn is left out here, so the drawing never sees a NaN. tip is copied when
 * the series keeps tooltips. */
void plot_series_add(const Plot *p, PlotSeries *s, double x, double y, const char *tip);
/* A legend line (color NULL: black; text NULL for PLOT_LEG_GAP), in the order added. */
void plot_legend_add(Plot *p, PlotLegendKind kind, const char *color, const char *text);
/* The whole SVG document into b: fills the frontiers (series with ->law) over the final
 * x limits, then lays out and draws. Deterministic: the same plot, the same bytes. */
void plot_render(Plot *p, LlmcBuf *b);
void plot_free(Plot *p);

/* The gray of the legend's generic train / validation lines, as of tick labels. */
extern const char PLOT_INK_SOFT[];

/* --- text --------------------------------------------------------------------------- */

/* A copy of s that is safe in XML text: valid UTF-8 without control characters (each
 * offending byte becomes '?'), for names from the file system and from run.json.
 * Escaping of & < > " ' happens when it is written. malloc'd. */
char *plot_text_clean(const char *s);
/* Three significant digits with an SI suffix: 1.23M, 456k, 0.0123 (model sizes, FLOPs). */
void plot_fmt_si3(char *buf, size_t n, double v);

#endif
