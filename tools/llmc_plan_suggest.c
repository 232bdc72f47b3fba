/* tools/llmc_plan_suggest.c — shapes of a model's own family with about N_opt parameters,
 * as -D overrides of its width and depth, for `llmc plan`.
 *
 * The width and depth are the model block's top-level assignments of a whole number under
 * a conventional name (dim / d_model / n_embd ..., layers / n_layer / depth ...; a -D of
 * the user's replaces the value written). What must change with the width changes with it
 * when it too is written as a number: heads keep their head size (dim / heads), kv_heads
 * their group size (heads / kv_heads), and hidden sizes (names with "hidden", "ffn" or
 * "intermediate") their ratio to the width, rounded to a multiple of 8. Whatever is an
 * expression (hidden = 4 * dim) follows by itself. Widths stay on a grid: multiples of
 * head size x group size (8 without heads written as a number), and from 256 on also of
 * 64.
 *
 * N is never estimated by a formula: every shape tried is lowered (fe_lower_architecture,
 * batch = seq = 1, so cheap) and its parameters counted, so tied heads, biases, positions,
 * MoE experts and anything else a model does are counted as they are. A shape that does
 * not lower (a constraint of the model's) is skipped.
 *
 * The search: for dim / layers ratios of 1/2, 1/sqrt 2, 1, sqrt 2 and 2 times the model's
 * own (Kaplan et al. 2020 find the loss flat over a wide range of aspect ratios), the depth
 * where N along the ratio crosses N_opt (a bisection), and at it or one layer less the
 * grid width with N nearest N_opt (another bisection); shapes found twice are shown once.
 */
#include "llmc_plan_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 512
#define MAX_WIDTH 131072

static const char *const width_names[] = {"dim", "d_model", "n_embd", "width", "hidden_size", "embed_dim", "model_dim"};
static const char *const depth_names[] = {"layers", "n_layer", "n_layers", "depth", "num_layers"};
static const char *const head_names[] = {"heads", "n_head", "n_heads", "num_heads"};
static const char *const kv_names[] = {"kv_heads", "n_kv_heads", "n_kv_head", "num_kv_heads"};
#define COUNT(a) (sizeof(a) / sizeof(a)[0])

/* A whole number written as the whole of s ("128"); false otherwise. */
static bool int_text(const char *s, int64_t *out) {
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || v < 1) return false;
    *out = v;
    return true;
}

/* The value of top-level name `name` as given: the user's last -D of it when that is a
 * whole number, else the model block's assignment when that is an int literal. 0 when
 * the name is not assigned at the top level; -1 when it is, but not as a number. */
static int64_t given_value(const FeProgram *p, const FeOverride *ov, uint32_t n_ov, const char *name) {
    int64_t v = 0;
    bool assigned = false;
    for (uint32_t i = 0; i < p->model->body.n; i++) {
        const FeStmt *s = p->model->body.stmts[i];
        if (s->kind != FE_STMT_ASSIGN || strcmp(s->u.assign.name, name) != 0) continue;
        assigned = true;
        v = s->u.assign.value->kind == FE_EXPR_INT ? s->u.assign.value->u.i : -1;
    }
    if (!assigned) return 0;
    for (uint32_t i = n_ov; i-- > 0;)
        if (strcmp(ov[i].name, name) == 0) return int_text(ov[i].value, &v) ? v : -1;
    return v > 0 ? v : -1;
}

/* The first of names assigned at the top level as a number; NULL if none. */
static const char *find_name(const FeProgram *p, const FeOverride *ov, uint32_t n_ov, const char *const *names,
                             size_t n, int64_t *value) {
    for (size_t i = 0; i < n; i++) {
        int64_t v = given_value(p, ov, n_ov, names[i]);
        if (v > 0) {
            *value = v;
            return names[i];
        }
    }
    return NULL;
}

static bool in_list(const char *name, const char *const *names, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0) return true;
    return false;
}

typedef struct Lowered {
    int64_t w, l;
    uint64_t n; /* parameters; 0: does not lower */
} Lowered;

typedef struct Family {
    const FeProgram *p;
    const FeOverride *ov;
    uint32_t n_ov;
    const char *width, *depth, *heads, *kv;
    int64_t width0, depth0, heads0, kv0, head_size, group;
    int64_t unit, step; /* width grid: head size x group; that widened to a multiple of 64 */
    const char *prop[PLAN_MAX_SET]; /* hidden sizes written as numbers */
    int64_t prop0[PLAN_MAX_SET];
    uint32_t n_prop;
    Lowered memo[1024]; /* shapes lowered so far */
    uint32_t n_memo;
} Family;

/* The candidate (width w, depth l) with every override it sets. */
static void shape(const Family *f, int64_t w, int64_t l, PlanCandidate *c) {
    memset(c, 0, sizeof *c);
    c->width = w, c->depth = l;
#define SET(name, value)                                                                                            \
    do {                                                                                                            \
        snprintf(c->names[c->n_set], sizeof c->names[0], "%s", name);                                               \
        c->values[c->n_set++] = (value);                                                                            \
    } while (0)
    SET(f->width, w);
    SET(f->depth, l);
    if (f->heads && f->head_size) {
        int64_t h = w / f->head_size;
        SET(f->heads, h);
        if (f->kv) SET(f->kv, h / f->group);
    }
    for (uint32_t i = 0; i < f->n_prop; i++) {
        double x = (double)f->prop0[i] * (double)w / (double)f->width0;
        int64_t v = (int64_t)llround(x / 8.0) * 8;
        SET(f->prop[i], v < 8 ? 8 : v);
    }
#undef SET
}

/* N of a shape, lowered; 0 when it does not lower. */
static uint64_t params_of(Family *f, int64_t w, int64_t l) {
    for (uint32_t i = 0; i < f->n_memo; i++)
        if (f->memo[i].w == w && f->memo[i].l == l) return f->memo[i].n;
    PlanCandidate c;
    shape(f, w, l, &c);
    FeOverride *ov = llmc_xcalloc(f->n_ov + c.n_set + 1, sizeof *ov);
    char values[PLAN_MAX_SET + 4][24];
    uint32_t n = 0;
    for (uint32_t i = 0; i < f->n_ov; i++) {
        bool replaced = false;
        for (uint32_t k = 0; k < c.n_set; k++) replaced |= strcmp(c.names[k], f->ov[i].name) == 0;
        if (!replaced) ov[n++] = f->ov[i];
    }
    for (uint32_t k = 0; k < c.n_set; k++) {
        snprintf(values[k], sizeof values[k], "%lld", (long long)c.values[k]);
        ov[n++] = (FeOverride){c.names[k], values[k]};
    }
    FeLowerOptions lo = {ov, n};
    IrModule m = {0};
    LlmcDiags d = {0};
    uint64_t params = 0, emb = 0;
    if (fe_lower_architecture(f->p, &lo, &m, &d) && m.n_graphs > 0) params = cc_param_count(m.graphs[0], &emb);
    ir_module_free(&m);
    llmc_diags_free(&d);
    free(ov);
    if (f->n_memo < COUNT(f->memo)) f->memo[f->n_memo++] = (Lowered){w, l, params};
    return params;
}

/* The grid step at width w: the unit (head size x group), widened to a multiple of 64
 * once the width reaches 256 (kernels prefer it; small models keep a fine grid). */
static int64_t grid_step(const Family *f, double w) { return w >= 256 ? f->step : f->unit; }

static int64_t grid(const Family *f, double w) {
    int64_t s = grid_step(f, w);
    int64_t g = (int64_t)llround(w / (double)s) * s;
    if (g < f->unit) g = f->unit;
    return g > MAX_WIDTH ? MAX_WIDTH / s * s : g;
}

static double log_gap(uint64_t n, double target) { return n ? fabs(log((double)n / target)) : INFINITY; }

/* The grid width at depth l whose N is nearest n_opt (N grows with the width: a
 * bisection); 0 when a width tried does not lower. */
static int64_t width_at(Family *f, int64_t l, double n_opt) {
    int64_t lo = f->unit, hi = grid(f, MAX_WIDTH);
    uint64_t n_lo = params_of(f, lo, l);
    if (!n_lo) return 0;
    if ((double)n_lo >= n_opt) return lo;
    while (hi - lo > grid_step(f, (double)lo)) {
        int64_t mid = grid(f, 0.5 * (double)(lo + hi));
        if (mid <= lo || mid >= hi) break;
        uint64_t n = params_of(f, mid, l);
        if (!n) return 0;
        if ((double)n >= n_opt) hi = mid;
        else lo = mid;
    }
    return log_gap(params_of(f, lo, l), n_opt) <= log_gap(params_of(f, hi, l), n_opt) ? lo : hi;
}

/* The shape near n_opt along dim / layers = ratio; false when none lowers. The depth where
 * the ratio's width crosses n_opt (a bisection: N grows with depth along a ratio), or one
 * less; at each, the width nearest n_opt; of the two, the one that keeps N and the ratio
 * closer (N counting double). */
static bool along(Family *f, double ratio, double n_opt, PlanCandidate *out) {
    int64_t lo = 1, hi = MAX_DEPTH;
    uint64_t n1 = params_of(f, grid(f, ratio), 1);
    if (!n1) return false;
    if ((double)n1 >= n_opt) {
        hi = lo;
    } else {
        while (lo + 1 < hi) {
            int64_t mid = lo + (hi - lo) / 2;
            uint64_t n = params_of(f, grid(f, ratio * (double)mid), mid);
            if (!n) return false;
            if ((double)n >= n_opt) hi = mid;
            else lo = mid;
        }
    }
    int64_t best_l = 0, best_w = 0;
    double best = INFINITY;
    for (int64_t l = hi > 1 ? hi - 1 : hi; l <= hi; l++) {
        int64_t w = width_at(f, l, n_opt);
        if (!w) continue;
        double score = 2.0 * log_gap(params_of(f, w, l), n_opt) + fabs(log((double)w / (double)l / ratio));
        if (score < best) best = score, best_l = l, best_w = w;
    }
    if (!best_l) return false;
    shape(f, best_w, best_l, out);
    out->params = params_of(f, best_w, best_l);
    return true;
}

static int cmp_aspect(const void *a, const void *b) {
    const PlanCandidate *x = a, *y = b;
    double u = (double)x->width / (double)x->depth, v = (double)y->width / (double)y->depth;
    return u < v ? -1 : u > v;
}

void plan_suggest(const FeProgram *p, const FeOverride *ov, uint32_t n_ov, double n_opt, PlanSuggest *out) {
    memset(out, 0, sizeof *out);
    Family *f = llmc_xcalloc(1, sizeof *f);
    f->p = p, f->ov = ov, f->n_ov = n_ov;
    f->width = find_name(p, ov, n_ov, width_names, COUNT(width_names), &f->width0);
    f->depth = find_name(p, ov, n_ov, depth_names, COUNT(depth_names), &f->depth0);
    if (!f->width || !f->depth) {
        snprintf(out->note, sizeof out->note,
                 "no configs: the model block assigns no %s as a number (looked for %s, ...; %s, ...)",
                 !f->width ? "width" : "depth", width_names[0], depth_names[0]);
        free(f);
        return;
    }
    out->possible = true;
    snprintf(out->width, sizeof out->width, "%s", f->width);
    snprintf(out->depth, sizeof out->depth, "%s", f->depth);
    out->width0 = f->width0, out->depth0 = f->depth0;
    f->heads = find_name(p, ov, n_ov, head_names, COUNT(head_names), &f->heads0);
    f->kv = find_name(p, ov, n_ov, kv_names, COUNT(kv_names), &f->kv0);
    f->group = 1;
    if (f->heads && f->width0 % f->heads0 == 0) {
        f->head_size = f->width0 / f->heads0;
        if (f->kv && f->heads0 % f->kv0 == 0) f->group = f->heads0 / f->kv0;
        else f->kv = NULL;
    } else {
        f->heads = f->kv = NULL;
    }
    f->unit = f->head_size ? f->head_size * f->group : 8;
    f->step = f->unit;
    while (f->step % 64) f->step += f->unit;
    size_t at = 0;
    if (f->heads) at += (size_t)snprintf(out->varied + at, sizeof out->varied - at, "%s (head size %lld)", f->heads,
                                         (long long)f->head_size);
    if (f->kv && at < sizeof out->varied)
        at += (size_t)snprintf(out->varied + at, sizeof out->varied - at, ", %s (%lld heads per group)", f->kv,
                               (long long)f->group);
    /* hidden sizes written as numbers */
    for (uint32_t i = 0; i < p->model->body.n && f->n_prop < PLAN_MAX_SET; i++) {
        const FeStmt *s = p->model->body.stmts[i];
        if (s->kind != FE_STMT_ASSIGN) continue;
        const char *name = s->u.assign.name;
        if (!strstr(name, "hidden") && !strstr(name, "ffn") && !strstr(name, "intermediate")) continue;
        if (in_list(name, width_names, COUNT(width_names))) continue;
        bool dup = false;
        for (uint32_t k = 0; k < f->n_prop; k++) dup |= strcmp(f->prop[k], name) == 0;
        int64_t v = given_value(p, ov, n_ov, name);
        if (dup || v <= 0) continue;
        f->prop[f->n_prop] = name;
        f->prop0[f->n_prop++] = v;
        if (at < sizeof out->varied)
            at += (size_t)snprintf(out->varied + at, sizeof out->varied - at, "%s%s (x %.3g of %s)", at ? ", " : "", name,
                                   (double)v / (double)f->width0, f->width);
    }
    double ratio0 = (double)f->width0 / (double)f->depth0;
    static const double factors[] = {0.5, 0.70710678118654752, 1.0, 1.41421356237309505, 2.0};
    for (size_t i = 0; i < COUNT(factors); i++) {
        PlanCandidate c;
        if (!along(f, ratio0 * factors[i], n_opt, &c)) continue;
        bool dup = false;
        for (uint32_t k = 0; k < out->n; k++) dup |= out->c[k].width == c.width && out->c[k].depth == c.depth;
        if (!dup) out->c[out->n++] = c;
    }
    qsort(out->c, out->n, sizeof out->c[0], cmp_aspect);
    if (!out->n) {
        snprintf(out->note, sizeof out->note, "no configs: no shape of the family lowers (-D %s=... -D %s=...)",
                 f->width, f->depth);
    } else {
        uint64_t smallest = params_of(f, f->unit, 1);
        if (smallest && (double)smallest > n_opt)
            snprintf(out->note, sizeof out->note,
                     "the family cannot be as small as N_opt: %s = %lld, %s = 1 already has %llu parameters "
                     "(the embeddings alone may exceed it)",
                     f->width, (long long)f->unit, f->depth, (unsigned long long)smallest);
    }
    free(f);
}
