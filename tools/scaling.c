/* tools/scaling.c — scaling laws: the parametric law L(N, D) = E + A/N^alpha + B/D^beta,
 * its published constants, compute-optimal sizing under C = 6 N D, and the fit of a law
 * to runs as Hoffmann et al. 2022 (Chinchilla, Appendix D.2) describe it.
 *
 * The fit. Over theta = (a, b, e, alpha, beta), with A = e^a, B = e^b, E = e^e, minimize
 *     F(theta) = sum_i w_i Huber_delta(r_i),
 *     r_i = LSE(a - alpha log N_i, b - beta log D_i, e) - log L_i,
 * (w_i = 1; a bootstrap resample uses w_i = how often point i was drawn) by L-BFGS from
 * every start of Hoffmann's grid (alpha, beta in {0, 0.5, .., 2}, e in {-1, -0.5, .., 1},
 * a, b in {0, 5, .., 25}: 4500 starts, the full grid), keeping the lowest objective among
 * the starts that converged. The gradient is analytic (sl_objective, below). L-BFGS is
 * the two-loop recursion with 10 pairs and a line search satisfying the strong Wolfe
 * conditions (Nocedal & Wright, Algorithms 3.5 and 3.6, cubic interpolation).
 *
 * The bootstrap. Each resample draws n points with replacement (splitmix64 seeded by
 * opt->seed) and is refitted from the best full-data solution and from the end points of
 * up to SL_BOOT_EXTRA other distinct local optima the grid found — not from the whole
 * grid, which would cost 4500 L-BFGS runs per resample. lo / hi are the 2.5% and 97.5%
 * percentiles (linear interpolation between order statistics) over the resamples that
 * converged, per constant.
 *
 * Deterministic: one thread, a fixed order of starts, ties keep the earlier start.
 * Not here: reading run directories (llmsweep), printing tables (the tools).
 */
#include "scaling.h"

#include "runtime.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ===================================================================================
 * Published constants and closed forms
 * =================================================================================== */

const SlLaw SL_BESIROGLU_2024 = {.E = 1.8172, .A = 482.01, .B = 2085.43, .alpha = 0.3478, .beta = 0.3658};
const SlLaw SL_HOFFMANN_2022 = {.E = 1.69, .A = 406.4, .B = 410.7, .alpha = 0.34, .beta = 0.28};

const SlLaw *sl_law_named(const char *name) {
    if (!name) return NULL;
    if (!strcmp(name, "besiroglu") || !strcmp(name, "epoch")) return &SL_BESIROGLU_2024;
    if (!strcmp(name, "hoffmann") || !strcmp(name, "chinchilla")) return &SL_HOFFMANN_2022;
    return NULL;
}

double sl_loss(const SlLaw *law, double N, double D) {
    return law->E + law->A / pow(N, law->alpha) + law->B / pow(D, law->beta);
}

/* Setting dL/dN = 0 along D = (C/6)/N gives alpha A N^-alpha = beta B (C/6)^-beta N^beta. */
void sl_optimal(const SlLaw *law, double C, double *N_opt, double *D_opt) {
    double s = law->alpha + law->beta;
    double a = law->beta / s;
    double G = pow(law->alpha * law->A / (law->beta * law->B), 1.0 / s);
    double N = G * pow(C / 6.0, a);
    *N_opt = N;
    *D_opt = (C / 6.0) / N;
}

/* ===================================================================================
 * The objective and its gradient
 * =================================================================================== */

enum { SL_A, SL_B, SL_E, SL_ALPHA, SL_BETA, SL_DIM };

#define SL_HUBER_DELTA 1e-3
#define SL_HISTORY 10       /* L-BFGS pairs kept */
#define SL_MAX_ITER 1000    /* L-BFGS iterations per start */
#define SL_FTOL 1e-13       /* stop when one step lowers F by less than this, relatively */
#define SL_GTOL 1e-14       /* stop when max |dF/dtheta| is below this (absolute) */
#define SL_BOOT_EXTRA 4     /* other local optima a bootstrap refit also starts from */

/* The data a fit sees, logs taken once. */
typedef struct SlData {
    int n;
    const double *logN, *logD, *logL; /* [n] */
    const double *w;                   /* [n] point weights; NULL: all 1 */
    double delta;                      /* Huber threshold */
} SlData;

/* F(theta) and dF/dtheta (grad[SL_DIM]); +inf when anything is not finite.
 * With u = (a - alpha log N, b - beta log D, e), p = softmax(u) and h = Huber'(r) =
 * clamp(r, -delta, delta):
 *   dF/da = sum w h p1,  dF/dalpha = -sum w h p1 log N,
 *   dF/db = sum w h p2,  dF/dbeta  = -sum w h p2 log D,  dF/de = sum w h p3. */
static double sl_eval(const SlData *d, const double *th, double *grad) {
    double f = 0.0, g[SL_DIM] = {0};
    for (int i = 0; i < d->n; i++) {
        double w = d->w ? d->w[i] : 1.0;
        if (w == 0.0) continue;
        double u1 = th[SL_A] - th[SL_ALPHA] * d->logN[i];
        double u2 = th[SL_B] - th[SL_BETA] * d->logD[i];
        double u3 = th[SL_E];
        double m = fmax(u1, fmax(u2, u3));
        double e1 = exp(u1 - m), e2 = exp(u2 - m), e3 = exp(u3 - m);
        double s = e1 + e2 + e3;
        double r = m + log(s) - d->logL[i];
        double h, hp;
        if (fabs(r) <= d->delta) {
            h = 0.5 * r * r;
            hp = r;
        } else {
            h = d->delta * (fabs(r) - 0.5 * d->delta);
            hp = copysign(d->delta, r);
        }
        f += w * h;
        double c = w * hp / s;
        g[SL_A] += c * e1;
        g[SL_ALPHA] -= c * e1 * d->logN[i];
        g[SL_B] += c * e2;
        g[SL_BETA] -= c * e2 * d->logD[i];
        g[SL_E] += c * e3;
    }
    bool ok = isfinite(f);
    for (int k = 0; k < SL_DIM; k++) ok = ok && isfinite(g[k]);
    if (grad) memcpy(grad, g, sizeof g);
    return ok ? f : INFINITY;
}

/* Not in scaling.h: the objective over raw points, for the gradient check in
 * tests/tools/test_scaling.c (which declares it itself). theta = (a, b, e, alpha, beta);
 * delta <= 0 means SL_HUBER_DELTA. Points must be positive. */
double sl_objective(const SlPoint *pts, int n, double delta, const double theta[5], double grad[5]);
double sl_objective(const SlPoint *pts, int n, double delta, const double theta[5], double grad[5]) {
    double *logs = malloc(3 * (size_t)(n > 0 ? n : 1) * sizeof *logs);
    if (!logs) return INFINITY;
    for (int i = 0; i < n; i++) {
        logs[i] = log(pts[i].N);
        logs[n + i] = log(pts[i].D);
        logs[2 * n + i] = log(pts[i].loss);
    }
    SlData d = {.n = n, .logN = logs, .logD = logs + n, .logL = logs + 2 * n,
                .delta = delta > 0 ? delta : SL_HUBER_DELTA};
    double f = sl_eval(&d, theta, grad);
    free(logs);
    return f;
}

/* ===================================================================================
 * L-BFGS with a strong-Wolfe line search
 * =================================================================================== */

static double dot5(const double *x, const double *y) {
    double s = 0.0;
    for (int k = 0; k < SL_DIM; k++) s += x[k] * y[k];
    return s;
}

/* A point of the line search: step t, F and dF/dt there, the point and its gradient. */
typedef struct SlTrial {
    double t, f, df;
    double x[SL_DIM], g[SL_DIM];
} SlTrial;

static void sl_trial_eval(const SlData *d, const double *x0, const double *p, double t, SlTrial *tr) {
    tr->t = t;
    for (int k = 0; k < SL_DIM; k++) tr->x[k] = x0[k] + t * p[k];
    tr->f = sl_eval(d, tr->x, tr->g);
    tr->df = isfinite(tr->f) ? dot5(tr->g, p) : INFINITY;
}

/* The minimizer of the cubic through (lo, flo, dlo) and (hi, fhi, dhi) (Nocedal & Wright
 * 3.59), kept at least 10% of the interval away from either end; bisection when the cubic
 * has no usable minimum. */
static double sl_cubic_step(const SlTrial *lo, const SlTrial *hi) {
    double a = lo->t, b = hi->t, w = b - a;
    double t = a + 0.5 * w;
    if (isfinite(hi->f) && isfinite(hi->df)) {
        double d1 = lo->df + hi->df - 3.0 * (lo->f - hi->f) / (a - b);
        double disc = d1 * d1 - lo->df * hi->df;
        if (disc >= 0.0) {
            double d2 = copysign(sqrt(disc), w);
            double den = hi->df - lo->df + 2.0 * d2;
            if (den != 0.0) {
                double c = b - w * (hi->df + d2 - d1) / den;
                if (isfinite(c)) t = c;
            }
        }
    }
    double lo_b = fmin(a, b) + 0.1 * fabs(w), hi_b = fmax(a, b) - 0.1 * fabs(w);
    if (!(t >= lo_b && t <= hi_b)) t = a + 0.5 * w;
    return t;
}

/* Finds t > 0 along p from (x0, f0, df0 = g0.p < 0) satisfying
 *   F(x0 + t p) <= f0 + c1 t df0  and  |dF/dt| <= c2 |df0|
 * (Nocedal & Wright Algorithm 3.5, with zoom = Algorithm 3.6). On success *out is the
 * accepted point. When the bracket collapses below rounding, the best point found that
 * still satisfies the sufficient-decrease condition is accepted; false if there is none. */
static bool sl_line_search(const SlData *d, const double *x0, double f0, double df0, const double *p,
                           double t0, SlTrial *out) {
    const double c1 = 1e-4, c2 = 0.9;
    SlTrial prev, cur, lo, hi;
    memset(&prev, 0, sizeof prev);
    prev.f = f0;
    prev.df = df0;
    memcpy(prev.x, x0, sizeof prev.x);
    double t = t0;
    bool have_prev_point = false; /* prev.g is valid only after the first trial */
    for (int it = 0; it < 60; it++) {
        sl_trial_eval(d, x0, p, t, &cur);
        if (!isfinite(cur.f)) { /* overflow far along p: treat as too long a step */
            lo = prev;
            hi = cur;
            goto zoom;
        }
        if (cur.f > f0 + c1 * t * df0 || (it > 0 && cur.f >= prev.f)) {
            lo = prev;
            hi = cur;
            goto zoom;
        }
        if (fabs(cur.df) <= -c2 * df0) {
            *out = cur;
            return true;
        }
        if (cur.df >= 0.0) {
            lo = cur;
            hi = prev;
            goto zoom;
        }
        prev = cur;
        have_prev_point = true;
        t *= 2.0;
    }
    /* Still descending after 2^60 times the first step: accept the last point. */
    if (have_prev_point) {
        *out = prev;
        return true;
    }
    return false;
zoom:
    for (int it = 0; it < 60; it++) {
        double tj = sl_cubic_step(&lo, &hi);
        if (fabs(hi.t - lo.t) <= 1e-16 * fmax(1.0, fabs(lo.t))) break;
        SlTrial tr;
        sl_trial_eval(d, x0, p, tj, &tr);
        if (!isfinite(tr.f) || tr.f > f0 + c1 * tj * df0 || tr.f >= lo.f) {
            hi = tr;
        } else {
            if (fabs(tr.df) <= -c2 * df0) {
                *out = tr;
                return true;
            }
            if (tr.df * (hi.t - lo.t) >= 0.0) hi = lo;
            lo = tr;
        }
    }
    /* lo always satisfies sufficient decrease; it is a step only if it moved. */
    if (lo.t > 0.0 && lo.f < f0) {
        *out = lo;
        return true;
    }
    return false;
}

typedef enum SlStop {
    SL_STOP_INVALID = 0,
    SL_STOP_GTOL,      /* gradient below SL_GTOL */
    SL_STOP_FTOL,      /* relative decrease below SL_FTOL */
    SL_STOP_STALL,     /* no step lowers F any more (rounding): a minimum to precision */
    SL_STOP_MAX_ITER,  /* not converged */
    SL_STOP_NONFINITE, /* not converged */
    SL_STOP_COUNT
} SlStop;

static bool sl_stop_converged(SlStop s) {
    switch (s) {
    case SL_STOP_GTOL:
    case SL_STOP_FTOL:
    case SL_STOP_STALL: return true;
    case SL_STOP_INVALID:
    case SL_STOP_MAX_ITER:
    case SL_STOP_NONFINITE:
    case SL_STOP_COUNT: return false;
    }
    return false;
}

/* Minimizes F from x (updated in place); *fx is F at the end. */
static SlStop sl_lbfgs(const SlData *d, double *x, double *fx) {
    double S[SL_HISTORY][SL_DIM], Y[SL_HISTORY][SL_DIM], rho[SL_HISTORY];
    int hist = 0, head = 0; /* pairs held; the slot the next pair goes to */
    double g[SL_DIM], p[SL_DIM], q[SL_DIM], al[SL_HISTORY];
    double f = sl_eval(d, x, g);
    *fx = f;
    if (!isfinite(f)) return SL_STOP_NONFINITE;
    for (int iter = 0; iter < SL_MAX_ITER; iter++) {
        double gmax = 0.0;
        for (int k = 0; k < SL_DIM; k++) gmax = fmax(gmax, fabs(g[k]));
        if (gmax <= SL_GTOL) return SL_STOP_GTOL;
        /* Two-loop recursion: p = -H g, H0 = gamma I with gamma = s'y / y'y of the newest pair. */
        memcpy(q, g, sizeof q);
        for (int j = 0; j < hist; j++) {
            int i = (head - 1 - j + SL_HISTORY) % SL_HISTORY;
            al[i] = rho[i] * dot5(S[i], q);
            for (int k = 0; k < SL_DIM; k++) q[k] -= al[i] * Y[i][k];
        }
        double gamma = 1.0;
        if (hist > 0) {
            int i = (head - 1 + SL_HISTORY) % SL_HISTORY;
            gamma = dot5(S[i], Y[i]) / dot5(Y[i], Y[i]);
        }
        for (int k = 0; k < SL_DIM; k++) q[k] *= gamma;
        for (int j = hist - 1; j >= 0; j--) {
            int i = (head - 1 - j + SL_HISTORY) % SL_HISTORY;
            double b = rho[i] * dot5(Y[i], q);
            for (int k = 0; k < SL_DIM; k++) q[k] += S[i][k] * (al[i] - b);
        }
        for (int k = 0; k < SL_DIM; k++) p[k] = -q[k];
        double df0 = dot5(g, p);
        double t0 = 1.0;
        if (!(df0 < 0.0) || !isfinite(df0)) { /* not a descent direction: restart */
            hist = 0;
            for (int k = 0; k < SL_DIM; k++) p[k] = -g[k];
            df0 = dot5(g, p);
        }
        if (hist == 0) t0 = fmin(1.0, 1.0 / sqrt(dot5(g, g)));
        SlTrial acc;
        if (!sl_line_search(d, x, f, df0, p, t0, &acc)) {
            if (hist == 0) return SL_STOP_STALL;
            hist = 0; /* retry once along steepest descent with a fresh memory */
            continue;
        }
        double s[SL_DIM], y[SL_DIM];
        for (int k = 0; k < SL_DIM; k++) {
            s[k] = acc.x[k] - x[k];
            y[k] = acc.g[k] - g[k];
        }
        double f_old = f;
        memcpy(x, acc.x, sizeof acc.x);
        memcpy(g, acc.g, sizeof acc.g);
        f = acc.f;
        *fx = f;
        double sy = dot5(s, y);
        if (sy > 1e-16 * dot5(y, y) && sy > 0.0) { /* keep H positive definite */
            memcpy(S[head], s, sizeof s);
            memcpy(Y[head], y, sizeof y);
            rho[head] = 1.0 / sy;
            head = (head + 1) % SL_HISTORY;
            if (hist < SL_HISTORY) hist++;
        }
        if (f_old - f <= SL_FTOL * fmax(fabs(f_old), fabs(f))) return SL_STOP_FTOL;
    }
    return SL_STOP_MAX_ITER;
}

/* ===================================================================================
 * The fit
 * =================================================================================== */

static void sl_err(char *err, size_t err_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void sl_err(char *err, size_t err_len, const char *fmt, ...) {
    if (!err || err_len == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

/* Hoffmann's grid, in a fixed order: a, b outermost, then e, alpha, beta. */
#define SL_GRID_AB 6  /* a, b in {0, 5, .., 25} */
#define SL_GRID_E 5   /* e in {-1, -0.5, .., 1} */
#define SL_GRID_EXP 5 /* alpha, beta in {0, 0.5, .., 2} */
#define SL_GRID_SIZE (SL_GRID_AB * SL_GRID_AB * SL_GRID_E * SL_GRID_EXP * SL_GRID_EXP)

static void sl_grid_start(int idx, double *th) {
    th[SL_BETA] = 0.5 * (idx % SL_GRID_EXP);
    idx /= SL_GRID_EXP;
    th[SL_ALPHA] = 0.5 * (idx % SL_GRID_EXP);
    idx /= SL_GRID_EXP;
    th[SL_E] = -1.0 + 0.5 * (idx % SL_GRID_E);
    idx /= SL_GRID_E;
    th[SL_B] = 5.0 * (idx % SL_GRID_AB);
    idx /= SL_GRID_AB;
    th[SL_A] = 5.0 * idx;
}

static bool sl_theta_to_law(const double *th, SlLaw *law) {
    law->A = exp(th[SL_A]);
    law->B = exp(th[SL_B]);
    law->E = exp(th[SL_E]);
    law->alpha = th[SL_ALPHA];
    law->beta = th[SL_BETA];
    return isfinite(law->A) && isfinite(law->B) && isfinite(law->E) && isfinite(law->alpha) &&
           isfinite(law->beta);
}

/* One end point of a start: its objective and parameters. */
typedef struct SlEnd {
    double f;
    double th[SL_DIM];
} SlEnd;

static int sl_end_cmp(const void *pa, const void *pb) {
    const SlEnd *a = pa, *b = pb;
    return (a->f > b->f) - (a->f < b->f);
}

/* From each start of starts[k][SL_DIM] (a grid start when starts is NULL, k < count),
 * minimizes F; the best converged end goes to *best (false if none converged). When ends
 * is not NULL, every converged end is appended there (*n_ends counts them). */
static bool sl_multistart(const SlData *d, const double (*starts)[SL_DIM], int count, SlEnd *best,
                          SlEnd *ends, int *n_ends) {
    bool found = false;
    memset(best, 0, sizeof *best);
    best->f = INFINITY;
    for (int k = 0; k < count; k++) {
        double th[SL_DIM], f;
        if (starts) memcpy(th, starts[k], sizeof th);
        else sl_grid_start(k, th);
        SlStop stop = sl_lbfgs(d, th, &f);
        SlLaw law;
        if (!sl_stop_converged(stop) || !isfinite(f) || !sl_theta_to_law(th, &law)) continue;
        if (!found || f < best->f) {
            best->f = f;
            memcpy(best->th, th, sizeof th);
            found = true;
        }
        if (ends) {
            ends[*n_ends].f = f;
            memcpy(ends[*n_ends].th, th, sizeof th);
            (*n_ends)++;
        }
    }
    return found;
}

static uint64_t sl_splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int sl_double_cmp(const void *pa, const void *pb) {
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* The q-quantile of sorted v[0..k) with linear interpolation between order statistics
 * (numpy's default). */
static double sl_quantile(const double *v, int k, double q) {
    double pos = q * (k - 1);
    int i = (int)floor(pos);
    if (i >= k - 1) return v[k - 1];
    double fr = pos - i;
    return v[i] + fr * (v[i + 1] - v[i]);
}

bool sl_fit(const SlPoint *pts, int n, const SlFitOptions *opt, SlFit *out, char *err, size_t err_len) {
    SlFitOptions o = opt ? *opt : (SlFitOptions){0};
    if (!pts || n < 5) {
        sl_err(err, err_len, "a scaling-law fit needs at least 5 runs, got %d", pts ? n : 0);
        return false;
    }
    for (int i = 0; i < n; i++) {
        const SlPoint *p = &pts[i];
        if (!(isfinite(p->N) && p->N > 0 && isfinite(p->D) && p->D > 0 && isfinite(p->loss) && p->loss > 0)) {
            sl_err(err, err_len, "run %d: N, D and loss must be finite and positive, got N = %g, D = %g, loss = %g",
                   i, p->N, p->D, p->loss);
            return false;
        }
    }
    if (!(o.huber_delta >= 0 && isfinite(o.huber_delta))) {
        sl_err(err, err_len, "the Huber delta must be positive (0 for Hoffmann's 1e-3), got %g", o.huber_delta);
        return false;
    }
    if (o.bootstrap < 0) {
        sl_err(err, err_len, "the number of bootstrap resamples must be >= 0, got %d", o.bootstrap);
        return false;
    }

    double *logs = malloc(3 * (size_t)n * sizeof *logs);
    SlEnd *ends = malloc(SL_GRID_SIZE * sizeof *ends);
    if (!logs || !ends) {
        free(logs);
        free(ends);
        sl_err(err, err_len, "out of memory");
        return false;
    }
    for (int i = 0; i < n; i++) {
        logs[i] = log(pts[i].N);
        logs[n + i] = log(pts[i].D);
        logs[2 * n + i] = log(pts[i].loss);
    }
    SlData d = {.n = n, .logN = logs, .logD = logs + n, .logL = logs + 2 * n,
                .delta = o.huber_delta > 0 ? o.huber_delta : SL_HUBER_DELTA};

    SlEnd best;
    int n_ends = 0;
    if (!sl_multistart(&d, NULL, SL_GRID_SIZE, &best, ends, &n_ends)) {
        free(logs);
        free(ends);
        sl_err(err, err_len, "the scaling-law fit did not converge from any of the %d starting points",
               SL_GRID_SIZE);
        return false;
    }
    SlFit fit = {.objective = best.f, .points = n};
    sl_theta_to_law(best.th, &fit.law);
    fit.lo = fit.hi = fit.law;

    if (o.bootstrap > 0) {
        /* Starts of each refit: the best solution, then the other distinct local optima
         * (parameters apart by more than 1e-3 in some coordinate), best first. */
        double starts[1 + SL_BOOT_EXTRA][SL_DIM];
        int n_starts = 0;
        qsort(ends, (size_t)n_ends, sizeof *ends, sl_end_cmp); /* ties cannot reorder: equal f, same end */
        memcpy(starts[n_starts++], best.th, sizeof best.th);
        for (int k = 0; k < n_ends && n_starts < 1 + SL_BOOT_EXTRA; k++) {
            bool distinct = true;
            for (int j = 0; j < n_starts && distinct; j++) {
                double dist = 0.0;
                for (int c = 0; c < SL_DIM; c++) dist = fmax(dist, fabs(ends[k].th[c] - starts[j][c]));
                distinct = dist > 1e-3;
            }
            if (distinct) memcpy(starts[n_starts++], ends[k].th, sizeof ends[k].th);
        }

        double *w = malloc((size_t)n * sizeof *w);
        double *vals = malloc(SL_DIM * (size_t)o.bootstrap * sizeof *vals); /* [SL_DIM][bootstrap] */
        if (!w || !vals) {
            free(w);
            free(vals);
            free(logs);
            free(ends);
            sl_err(err, err_len, "out of memory");
            return false;
        }
        uint64_t rng = o.seed;
        int ok = 0;
        for (int r = 0; r < o.bootstrap; r++) {
            memset(w, 0, (size_t)n * sizeof *w);
            for (int i = 0; i < n; i++) {
                /* 53 random bits scaled to [0, n): no modulo bias worth the name. */
                double u = (double)(sl_splitmix64(&rng) >> 11) * 0x1.0p-53;
                int j = (int)(u * n);
                w[j < n ? j : n - 1] += 1.0;
            }
            SlData dr = d;
            dr.w = w;
            SlEnd b;
            SlLaw law;
            if (!sl_multistart(&dr, (const double (*)[SL_DIM])starts, n_starts, &b, NULL, NULL)) continue;
            sl_theta_to_law(b.th, &law);
            vals[0 * o.bootstrap + ok] = law.E;
            vals[1 * o.bootstrap + ok] = law.A;
            vals[2 * o.bootstrap + ok] = law.B;
            vals[3 * o.bootstrap + ok] = law.alpha;
            vals[4 * o.bootstrap + ok] = law.beta;
            ok++;
        }
        fit.bootstrap = ok;
        if (ok > 0) {
            double lo[SL_DIM], hi[SL_DIM];
            for (int c = 0; c < SL_DIM; c++) {
                double *v = vals + (size_t)c * o.bootstrap;
                qsort(v, (size_t)ok, sizeof *v, sl_double_cmp);
                lo[c] = sl_quantile(v, ok, 0.025);
                hi[c] = sl_quantile(v, ok, 0.975);
            }
            fit.lo = (SlLaw){.E = lo[0], .A = lo[1], .B = lo[2], .alpha = lo[3], .beta = lo[4]};
            fit.hi = (SlLaw){.E = hi[0], .A = hi[1], .B = hi[2], .alpha = hi[3], .beta = hi[4]};
        }
        free(w);
        free(vals);
    }
    free(logs);
    free(ends);
    *out = fit;
    return true;
}

/* ===================================================================================
 * JSON
 * =================================================================================== */

static void sl_json_law(RtJsonWriter *w, const SlLaw *law) {
    rt_json_key(w, "E");
    rt_json_double(w, law->E);
    rt_json_key(w, "A");
    rt_json_double(w, law->A);
    rt_json_key(w, "B");
    rt_json_double(w, law->B);
    rt_json_key(w, "alpha");
    rt_json_double(w, law->alpha);
    rt_json_key(w, "beta");
    rt_json_double(w, law->beta);
}

char *sl_fit_json(const SlFit *fit) {
    LlmcBuf buf = {0};
    RtJsonWriter w;
    rt_json_writer_init(&w, &buf, RT_JSON_PRETTY);
    rt_json_begin_object(&w);
    sl_json_law(&w, &fit->law);
    rt_json_key(&w, "points");
    rt_json_int(&w, fit->points);
    rt_json_key(&w, "objective");
    rt_json_double(&w, fit->objective);
    rt_json_key(&w, "bootstrap");
    rt_json_int(&w, fit->bootstrap);
    rt_json_key(&w, "lo");
    rt_json_begin_object(&w);
    sl_json_law(&w, &fit->lo);
    rt_json_end_object(&w);
    rt_json_key(&w, "hi");
    rt_json_begin_object(&w);
    sl_json_law(&w, &fit->hi);
    rt_json_end_object(&w);
    rt_json_end_object(&w);
    llmc_buf_putc(&buf, '\n');
    return buf.data; /* malloc'd by LlmcBuf; the caller frees it */
}

/* The five constants of obj into *law. prefix names obj in messages ("" or "lo."). The law
 * itself must be usable for planning (E >= 0; A, B, alpha, beta > 0); the bootstrap bounds
 * (prefix not "") need only be numbers. */
static bool sl_read_law(const char *path, const RtJson *obj, const char *prefix, SlLaw *law, char *err,
                        size_t err_len) {
    bool strict = prefix[0] == 0;
    static const char *const keys[SL_DIM] = {"E", "A", "B", "alpha", "beta"};
    double v[SL_DIM];
    for (int k = 0; k < SL_DIM; k++) {
        const RtJson *j = rt_json_get(obj, keys[k]);
        if (!j) {
            sl_err(err, err_len, "%s:%u:%u: missing key \"%s%s\" (a scaling law needs E, A, B, alpha and beta)",
                   path, obj->line, obj->col, prefix, keys[k]);
            return false;
        }
        if (j->kind != RT_JSON_NUMBER) {
            sl_err(err, err_len, "%s:%u:%u: \"%s%s\" must be a number, got %s", path, j->line, j->col, prefix,
                   keys[k], rt_json_kind_name(j->kind));
            return false;
        }
        /* E may be 0 (no irreducible loss); the law needs A, B, alpha, beta > 0. */
        if (strict && (k == 0 ? !(j->number >= 0) : !(j->number > 0))) {
            sl_err(err, err_len, "%s:%u:%u: \"%s%s\" must be %s, got %.17g", path, j->line, j->col, prefix,
                   keys[k], k == 0 ? "non-negative" : "positive", j->number);
            return false;
        }
        v[k] = j->number;
    }
    *law = (SlLaw){.E = v[0], .A = v[1], .B = v[2], .alpha = v[3], .beta = v[4]};
    return true;
}

static bool sl_read_int(const char *path, const RtJson *root, const char *key, int *out, char *err,
                        size_t err_len) {
    const RtJson *j = rt_json_get(root, key);
    if (!j) return true;
    if (j->kind != RT_JSON_NUMBER || !j->is_int || j->integer < 0 || j->integer > INT32_MAX) {
        sl_err(err, err_len, "%s:%u:%u: \"%s\" must be a non-negative integer", path, j->line, j->col, key);
        return false;
    }
    *out = (int)j->integer;
    return true;
}

bool sl_fit_read(const char *path, SlFit *out, char *err, size_t err_len) {
    char *text = NULL;
    size_t len = 0;
    LlmcErr e = {0};
    if (!llmc_file_read(path, &text, &len, &e)) {
        sl_err(err, err_len, "%s", e.msg);
        return false;
    }
    RtJson *root = NULL;
    bool ok = rt_json_parse(text, len, path, &root, &e);
    free(text);
    if (!ok) {
        sl_err(err, err_len, "%s", e.msg);
        return false;
    }
    SlFit fit = {0};
    if (root->kind != RT_JSON_OBJECT) {
        sl_err(err, err_len, "%s: a scaling law must be a JSON object, got %s", path, rt_json_kind_name(root->kind));
        ok = false;
    }
    ok = ok && sl_read_law(path, root, "", &fit.law, err, err_len);
    fit.lo = fit.hi = fit.law;
    ok = ok && sl_read_int(path, root, "points", &fit.points, err, err_len);
    ok = ok && sl_read_int(path, root, "bootstrap", &fit.bootstrap, err, err_len);
    const RtJson *j = ok ? rt_json_get(root, "objective") : NULL;
    if (j && j->kind == RT_JSON_NUMBER) {
        fit.objective = j->number;
    } else if (j && j->kind != RT_JSON_NULL) {
        sl_err(err, err_len, "%s:%u:%u: \"objective\" must be a number, got %s", path, j->line, j->col,
               rt_json_kind_name(j->kind));
        ok = false;
    }
    static const char *const bounds[2] = {"lo", "hi"};
    for (int b = 0; b < 2 && ok; b++) {
        j = rt_json_get(root, bounds[b]);
        if (!j) continue;
        if (j->kind != RT_JSON_OBJECT) {
            sl_err(err, err_len, "%s:%u:%u: \"%s\" must be an object, got %s", path, j->line, j->col, bounds[b],
                   rt_json_kind_name(j->kind));
            ok = false;
            break;
        }
        char prefix[8];
        snprintf(prefix, sizeof prefix, "%s.", bounds[b]);
        ok = sl_read_law(path, j, prefix, b == 0 ? &fit.lo : &fit.hi, err, err_len);
    }
    rt_json_free(root);
    if (ok) *out = fit;
    return ok;
}
