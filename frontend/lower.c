/* frontend/lower.c — fe_lower: evaluates a parsed program and builds the IR module.
 *
 * The evaluator is eager and in order (docs/llm.md "Values", "Blocks and scopes"):
 *   1. -D overrides are parsed and attached to the top-level assignments they replace;
 *   2. the train block runs first (it sees only its own names) and becomes the
 *      IrTrainConfig record (lower_train.c); its precision decides the dtype of the
 *      dense matmuls the model block builds;
 *   3. the model block runs, building @forward as it goes: every builtin call checks its
 *      arguments against the builtin's schema here, generically, then its handler
 *      (builtin_*.c) builds primitives; naming scopes (repeat) and site numbering give
 *      parameters their stable names;
 *   4. @forward gets its outputs and its inputs in a fixed order (params, tokens,
 *      targets, seed, step, micro), then @init is built from the parameter list.
 * Errors are reported where they happen and leave a poison value (FE_VAL_ERROR) that
 * silences everything computed from it, so one run reports several independent errors
 * without cascades.
 *
 * Not here: the grammar (parse.c), the composites' math (builtin_*.c), autodiff.
 */
#include "frontend_int.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Limits against runaway programs: iterations of all repeats together, and nodes. */
#define FE_MAX_ITERATIONS 100000
#define FE_MAX_NODES 1000000u
#define FE_MAX_STRING (1 << 20)

/* ===================================================================================
 * The evaluator's state
 * =================================================================================== */

typedef struct Env {
    FeBinding *items;
    uint32_t n, cap;
} Env;

typedef struct Count {
    const char *key;
    uint32_t n;
} Count;

/* A naming scope: the path of names above ("layers.3"), the site names taken in it and
 * the per-kind counters behind kind, kind_2, ... (and repeat prefixes P, P_2, ...). */
typedef struct Frame {
    const char *path; /* "" at the top */
    const char **used;
    uint32_t n_used, cap_used;
    Count *counts;
    uint32_t n_counts, cap_counts;
} Frame;

/* Where a -D override goes: a top-level assignment of the model or train block, a train
 * setting the block leaves at its default, or one argument of the optimizer or schedule
 * call (so `-D lr=1e-3` sweeps lr without restating the whole adamw(...)). */
typedef enum Target { TARGET_NONE = 0, TARGET_MODEL, TARGET_TRAIN, TARGET_INJECT, TARGET_ARG } Target;

/* Optimizer and schedule arguments that -D can set on their own. */
static const char *const recipe_args[] = {"lr", "betas", "eps", "weight_decay", "momentum", "warmup", "min_lr"};

typedef struct Override {
    const char *name;
    LlmcSource src; /* "-D name=value" over the value text */
    FeExpr *expr;   /* NULL when it did not parse */
    Target target;
} Override;

struct FeLower {
    const FeProgram *p;
    LlmcDiags *diags;
    uint32_t errors0; /* diags->errors on entry */
    bool stop;        /* FE_MAX_ERRORS reached */
    LlmcArena arena;
    const LlmcSource *src; /* the source of the expression being evaluated */
    FeBlockKind block;
    Env train_env, model_env, *env;
    Frame *frames;
    uint32_t n_frames, cap_frames;
    Override *ovr;
    uint32_t n_ovr;
    uint64_t iterations;
    IrTrainConfig train;
    /* the model */
    IrGraph *g;
    FeBuild fb;
    IrId tokens, targets;
    bool data_ready, data_failed;
    IrId tok_emb;
    uint32_t n_attention;
    IrId moe_aux, moe_dropped;
    bool has_moe;
    bool seq_reported;
    FeInfer *infer; /* an inference graph (lower_infer.c); NULL: training */
};

static const FeValue error_value = {.kind = FE_VAL_ERROR};

/* ===================================================================================
 * Diagnostics
 * =================================================================================== */

static uint32_t error_count(const FeLower *L) { return L->diags->errors - L->errors0; }

static void verror(FeLower *L, const LlmcSource *src, FeLoc loc, const char *fmt, va_list ap) {
    if (L->stop) return;
    if (error_count(L) >= FE_MAX_ERRORS) {
        L->stop = true;
        llmc_diag_at(L->diags, LLMC_SEV_NOTE, src, 0, 0, "too many errors; stopping here");
        return;
    }
    llmc_diag_vat(L->diags, LLMC_SEV_ERROR, src, loc.line, loc.col, fmt, ap);
}

bool fe_lower_error(FeLower *L, const LlmcSource *src, FeLoc loc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    verror(L, src, loc, fmt, ap);
    va_end(ap);
    return false;
}

/* An error at loc in the source being evaluated. */
static bool error_at(FeLower *L, FeLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool error_at(FeLower *L, FeLoc loc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    verror(L, L->src, loc, fmt, ap);
    va_end(ap);
    return false;
}

/* Optimal string alignment distance (edits plus adjacent swaps), case-insensitive.
 * Names longer than 64 bytes are never close. */
static uint32_t edit_distance(const char *a, const char *b) {
    size_t n = strlen(a), m = strlen(b);
    if (n > 64 || m > 64) return UINT32_MAX;
    uint32_t d[65][65];
    for (size_t i = 0; i <= n; i++) d[i][0] = (uint32_t)i;
    for (size_t j = 0; j <= m; j++) d[0][j] = (uint32_t)j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            uint32_t best = d[i - 1][j - 1] + (ca != cb);
            if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) && tolower((unsigned char)a[i - 2]) == cb &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[n][m];
}

const char *fe_closest(const char *name, const char *const *cands, uint32_t n) {
    size_t len = strlen(name);
    uint32_t limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;
    const char *best = NULL;
    uint32_t best_d = UINT32_MAX;
    for (uint32_t i = 0; i < n; i++) {
        if (!cands[i] || strcmp(cands[i], name) == 0) continue;
        uint32_t d = edit_distance(name, cands[i]);
        if (d <= limit && d < len && d < best_d) {
            best = cands[i];
            best_d = d;
        }
    }
    return best;
}

/* " (did you mean 'x'?)" or "", into buf. */
static const char *did_you_mean(const char *name, const char *const *cands, uint32_t n, char *buf, size_t size) {
    const char *c = fe_closest(name, cands, n);
    if (c)
        snprintf(buf, size, " (did you mean '%s'?)", c);
    else
        buf[0] = 0;
    return buf;
}

/* A float as the language writes it: shortest round-trip form, "2.0" rather than "2". */
static void format_float(double f, char *buf, size_t n) {
    snprintf(buf, n, "%g", f);
    if (strtod(buf, NULL) != f) snprintf(buf, n, "%.17g", f);
    if (!strpbrk(buf, ".eEin")) snprintf(buf + strlen(buf), n - strlen(buf), ".0");
}

/* A value for messages: "an int (3)", "a float (2.0)", "a tensor f32[2,8]", "the option
 * 'gelu'". */
static const char *describe(const FeLower *L, const FeValue *v, char *buf, size_t n) {
    char f[48];
    switch (v->kind) {
    case FE_VAL_INT: snprintf(buf, n, "an int (%lld)", (long long)v->u.i); break;
    case FE_VAL_FLOAT:
        format_float(v->u.f, f, sizeof f);
        snprintf(buf, n, "a float (%s)", f);
        break;
    case FE_VAL_BOOL: snprintf(buf, n, "a bool (%s)", v->u.b ? "true" : "false"); break;
    case FE_VAL_STRING: snprintf(buf, n, "a string (\"%.40s\")", v->u.s); break;
    case FE_VAL_TUPLE: snprintf(buf, n, "a tuple of %u", v->u.tuple.n); break;
    case FE_VAL_SYMBOL: snprintf(buf, n, "the option '%s'", v->u.s); break;
    case FE_VAL_SPEC: snprintf(buf, n, "the option %s(...)", v->u.spec->bi->name); break;
    case FE_VAL_TENSOR: {
        char t[IR_TYPE_STR_MAX];
        snprintf(buf, n, "a tensor %s", ir_type_format(&L->g->nodes[v->u.t].type, t, sizeof t));
        break;
    }
    case FE_VAL_ERROR:
    case FE_VAL_COUNT: snprintf(buf, n, "an invalid value"); break;
    }
    return buf;
}
#define DESC_MAX 160

/* ===================================================================================
 * Environments, builtins, symbols
 * =================================================================================== */

static FeBinding *env_find(Env *e, const char *name) {
    for (uint32_t i = e->n; i-- > 0;)
        if (strcmp(e->items[i].name, name) == 0) return &e->items[i];
    return NULL;
}

static void env_set(Env *e, const char *name, FeValue v, const LlmcSource *src, FeLoc loc) {
    FeBinding *b = env_find(e, name);
    if (!b) {
        if (e->n == e->cap) {
            e->cap = e->cap ? 2 * e->cap : 32;
            e->items = llmc_xrealloc(e->items, e->cap * sizeof *e->items);
        }
        b = &e->items[e->n++];
        b->name = name;
    }
    b->v = v;
    b->src = src;
    b->loc = loc;
}

const FeBinding *fe_lower_binding(const FeLower *L, const char *name) { return env_find(L->env, name); }

static const FeBuiltin *const builtins[] = {
    &fe_builtin_embed,   &fe_builtin_lm_head, &fe_builtin_cross_entropy, &fe_builtin_layernorm,
    &fe_builtin_rmsnorm, &fe_builtin_dropout, &fe_builtin_attention,     &fe_builtin_rope,
    &fe_builtin_mlp,     &fe_builtin_moe,     &fe_builtin_adamw,         &fe_builtin_sgd,
    &fe_builtin_constant, &fe_builtin_cosine, &fe_builtin_linear,
};
#define N_BUILTINS (sizeof builtins / sizeof builtins[0])

static const FeBuiltin *find_builtin(const char *name) {
    for (size_t i = 0; i < N_BUILTINS; i++)
        if (strcmp(builtins[i]->name, name) == 0) return builtins[i];
    return NULL;
}

/* Calls `fn(ctx, symbol)` for every option name the language knows: the options of
 * every builtin argument and train setting, and the option calls' own names. */
static void each_symbol(void (*fn)(void *, const char *), void *ctx) {
    for (size_t i = 0; i < N_BUILTINS; i++) {
        if (!builtins[i]->fn) fn(ctx, builtins[i]->name);
        for (uint32_t a = 0; a < builtins[i]->n_args; a++)
            if (builtins[i]->args[a].options)
                for (const char *const *o = builtins[i]->args[a].options; *o; o++) fn(ctx, *o);
    }
    uint32_t n;
    const FeArgSpec *s = fe_train_settings(&n);
    for (uint32_t i = 0; i < n; i++)
        if (s[i].options)
            for (const char *const *o = s[i].options; *o; o++) fn(ctx, *o);
}

typedef struct SymbolFind {
    const char *name;
    bool found;
} SymbolFind;

static void symbol_match(void *ctx, const char *s) {
    SymbolFind *f = ctx;
    if (strcmp(f->name, s) == 0) f->found = true;
}

static bool is_symbol(const char *name) {
    SymbolFind f = {name, false};
    each_symbol(symbol_match, &f);
    return f.found;
}

/* A growable list of candidate names for "did you mean". */
typedef struct Names {
    const char **v;
    uint32_t n, cap;
} Names;

static void names_add(Names *ns, const char *s) {
    if (ns->n == ns->cap) {
        ns->cap = ns->cap ? 2 * ns->cap : 64;
        ns->v = llmc_xrealloc(ns->v, ns->cap * sizeof *ns->v);
    }
    ns->v[ns->n++] = s;
}

static void names_add_cb(void *ctx, const char *s) { names_add(ctx, s); }

/* ===================================================================================
 * Naming scopes and sites
 * =================================================================================== */

static Frame *top_frame(FeLower *L) { return &L->frames[L->n_frames - 1]; }

static void push_frame(FeLower *L, const char *path) {
    if (L->n_frames == L->cap_frames) {
        L->cap_frames = L->cap_frames ? 2 * L->cap_frames : 8;
        L->frames = llmc_xrealloc(L->frames, L->cap_frames * sizeof *L->frames);
    }
    Frame *f = &L->frames[L->n_frames++];
    memset(f, 0, sizeof *f);
    f->path = path;
}

static void pop_frame(FeLower *L) {
    Frame *f = top_frame(L);
    free(f->used);
    free(f->counts);
    L->n_frames--;
}

/* The next number of `key` in frame f: 1, 2, ... */
static uint32_t frame_count(Frame *f, const char *key) {
    for (uint32_t i = 0; i < f->n_counts; i++)
        if (strcmp(f->counts[i].key, key) == 0) return ++f->counts[i].n;
    if (f->n_counts == f->cap_counts) {
        f->cap_counts = f->cap_counts ? 2 * f->cap_counts : 8;
        f->counts = llmc_xrealloc(f->counts, f->cap_counts * sizeof *f->counts);
    }
    f->counts[f->n_counts].key = key;
    f->counts[f->n_counts].n = 1;
    f->n_counts++;
    return 1;
}

static bool frame_used(const Frame *f, const char *name) {
    for (uint32_t i = 0; i < f->n_used; i++)
        if (strcmp(f->used[i], name) == 0) return true;
    return false;
}

static void frame_use(Frame *f, const char *name) {
    if (f->n_used == f->cap_used) {
        f->cap_used = f->cap_used ? 2 * f->cap_used : 8;
        f->used = llmc_xrealloc(f->used, f->cap_used * sizeof *f->used);
    }
    f->used[f->n_used++] = name;
}

static char *arena_printf(FeLower *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *arena_printf(FeLower *L, const char *fmt, ...) {
    LlmcBuf b = {0};
    va_list ap;
    va_start(ap, fmt);
    llmc_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    char *s = llmc_arena_strndup(&L->arena, b.data ? b.data : "", b.len);
    llmc_buf_free(&b);
    return s;
}

/* "path.name", or name at the top. */
static const char *join_path(FeLower *L, const char *path, const char *name) {
    return path[0] ? arena_printf(L, "%s.%s", path, name) : arena_printf(L, "%s", name);
}

/* "kind" for the first, "kind_2" for the second, ... */
static const char *numbered(FeLower *L, const char *kind, uint32_t n) {
    return n == 1 ? arena_printf(L, "%s", kind) : arena_printf(L, "%s_%u", kind, n);
}

const char *fe_call_site(FeCall *c, const char *kind, int name_arg) {
    FeLower *L = c->L;
    Frame *f = top_frame(L);
    const char *local;
    if (name_arg >= 0 && c->given[name_arg]) {
        local = c->args[name_arg].u.s;
        if (frame_used(f, local)) {
            fe_call_error(c, name_arg, "name '%s' is already used by another site in this scope", local);
            return NULL;
        }
    } else {
        local = numbered(L, kind, frame_count(f, kind));
        if (frame_used(f, local)) {
            fe_call_error(c, -1, "%s: the automatic site name '%s' is already taken by a name = \"...\" in this "
                                 "scope; give this call a name", c->bi->name, local);
            return NULL;
        }
    }
    frame_use(f, local);
    return join_path(L, f->path, local);
}

/* ===================================================================================
 * The model's data inputs and state handlers update
 * =================================================================================== */

static void set_builder_at(FeLower *L, const char *scope, FeLoc loc) {
    ir_builder_set_scope(&L->fb.b, scope ? scope : top_frame(L)->path);
    ir_builder_set_loc(&L->fb.b, L->src->name ? L->src->name : "", loc.line, loc.col);
}

/* tokens and targets, i32 [batch, seq], made on first use: seq comes from the train
 * block or, when it does not say, from the model's `context` as assigned so far. */
static bool ensure_data(FeLower *L, FeLoc loc, const char *why) {
    if (L->data_ready) return true;
    if (L->data_failed) return false;
    int64_t seq = L->train.seq;
    if (seq == 0) {
        FeBinding *ctx = env_find(&L->model_env, "context");
        if (!ctx) {
            L->data_failed = true;
            return error_at(L, loc, "%s needs seq: set seq in the train block, or assign 'context' in the model "
                                    "before this point", why);
        }
        if (ctx->v.kind != FE_VAL_INT || ctx->v.u.i < 1) {
            L->data_failed = true;
            if (ctx->v.kind == FE_VAL_ERROR) return false;
            char d[DESC_MAX];
            return fe_lower_error(L, ctx->src, ctx->loc, "'context' must be an int >= 1 (it sets seq), got %s",
                                  describe(L, &ctx->v, d, sizeof d));
        }
        seq = ctx->v.u.i;
        L->train.seq = seq;
    }
    IrType t = ir_type_make(IR_DTYPE_I32, 2, (int64_t[]){L->train.batch, seq});
    set_builder_at(L, "tokens", loc); /* the first use */
    uint32_t scope = L->fb.b.scope;
    L->tokens = ir_build_input(&L->fb.b, IR_ROLE_DATA, "tokens", t);
    ir_builder_set_scope(&L->fb.b, "targets");
    L->targets = ir_build_input(&L->fb.b, IR_ROLE_DATA, "targets", t);
    L->fb.b.scope = scope;
    if (!ir_builder_ok(&L->fb.b)) {
        L->data_failed = true;
        error_at(L, loc, "tokens: %s", L->fb.b.err.msg);
        llmc_err_clear(&L->fb.b.err);
        return false;
    }
    L->data_ready = true;
    return true;
}

void fe_lower_set_tok_emb(FeLower *L, IrId table) { L->tok_emb = table; }

bool fe_lower_seq_exceeds(FeLower *L, int64_t seq, int64_t context) {
    if (L->seq_reported) return false;
    L->seq_reported = true;
    const FeBinding *sb = env_find(&L->train_env, "seq");
    if (sb)
        return fe_lower_error(L, sb->src, sb->loc, "seq = %lld exceeds the model's context = %lld", (long long)seq,
                              (long long)context);
    return fe_lower_error(L, &L->p->src, L->p->model->loc, "seq = %lld exceeds the model's context = %lld",
                          (long long)seq, (long long)context);
}

IrId fe_lower_tok_emb(const FeLower *L) { return L->tok_emb; }

void fe_lower_count_attention(FeLower *L) { L->n_attention++; }

void fe_lower_add_moe(FeLower *L, const FeMoeResult *r) {
    IrBuilder *b = &L->fb.b;
    IrId aux = ir_build_binary(b, IR_OP_ADD, r->aux_loss, r->z_loss);
    L->moe_aux = L->has_moe ? ir_build_binary(b, IR_OP_ADD, L->moe_aux, aux) : aux;
    L->moe_dropped = L->has_moe ? ir_build_binary(b, IR_OP_ADD, L->moe_dropped, r->dropped) : r->dropped;
    L->has_moe = true;
}

/* ===================================================================================
 * Values against argument specs
 * =================================================================================== */

static bool valid_site_name(const char *s) {
    if (!s[0]) return false;
    bool part_start = true;
    for (const char *p = s; *p; p++) {
        if (*p == '.') {
            if (part_start) return false;
            part_start = true;
            continue;
        }
        if (!(isalnum((unsigned char)*p) || *p == '_')) return false;
        part_start = false;
    }
    return !part_start;
}

static bool in_options(const char *name, const char *const *options) {
    for (const char *const *o = options; o && *o; o++)
        if (strcmp(*o, name) == 0) return true;
    return false;
}

static void options_text(const char *const *options, char *buf, size_t n) {
    size_t len = 0;
    buf[0] = 0;
    for (const char *const *o = options; o && *o; o++)
        len += (size_t)snprintf(buf + len, len < n ? n - len : 0, "%s%s", o == options ? "" : ", ", *o);
}

static bool bind_args(FeLower *L, const FeBuiltin *bi, const FeArg *args, uint32_t n_args, FeLoc call_loc,
                      FeValue *vals, FeLoc *locs, bool *given, bool *written);

/* An option call with its arguments checked: the value of `rope(theta = 500000)`, or of
 * the bare symbol `rope` where an option is expected. */
static FeValue make_spec(FeLower *L, const FeBuiltin *bi, const FeArg *args, uint32_t n_args, FeLoc loc) {
    FeSpec *s = llmc_arena_alloc(&L->arena, sizeof *s);
    s->bi = bi;
    s->args = llmc_arena_alloc(&L->arena, (bi->n_args + 1) * sizeof *s->args);
    s->locs = llmc_arena_alloc(&L->arena, (bi->n_args + 1) * sizeof *s->locs);
    s->given = llmc_arena_alloc(&L->arena, (bi->n_args + 1) * sizeof *s->given);
    bool *written = llmc_arena_alloc(&L->arena, (bi->n_args + 1) * sizeof *written);
    s->src = L->src;
    s->loc = loc;
    if (!bind_args(L, bi, args, n_args, loc, s->args, s->locs, s->given, written)) return error_value;
    FeValue v = {.kind = FE_VAL_SPEC, .u.spec = s};
    return v;
}

bool fe_lower_check_value(FeLower *L, const FeArgSpec *a, FeValue *v, const LlmcSource *src, FeLoc loc,
                          const char *subject) {
    if (v->kind == FE_VAL_ERROR) return false;
    char d[DESC_MAX];
    switch (a->kind) {
    case FE_ARG_TENSOR:
        if (v->kind == FE_VAL_TENSOR) return true;
        return fe_lower_error(L, src, loc, "%s must be a tensor, got %s", subject, describe(L, v, d, sizeof d));
    case FE_ARG_INT:
    case FE_ARG_SIZE:
        if (v->kind != FE_VAL_INT)
            return fe_lower_error(L, src, loc, "%s must be an int, got %s", subject, describe(L, v, d, sizeof d));
        if (a->kind == FE_ARG_SIZE && v->u.i < 1)
            return fe_lower_error(L, src, loc, "%s must be >= 1, got %lld", subject, (long long)v->u.i);
        return true;
    case FE_ARG_NUMBER:
        if (v->kind == FE_VAL_INT) {
            v->kind = FE_VAL_FLOAT;
            v->u.f = (double)v->u.i;
            return true;
        }
        if (v->kind == FE_VAL_FLOAT) return true;
        return fe_lower_error(L, src, loc, "%s must be a number, got %s", subject, describe(L, v, d, sizeof d));
    case FE_ARG_BOOL:
        if (v->kind == FE_VAL_BOOL) return true;
        return fe_lower_error(L, src, loc, "%s must be a bool (true or false), got %s", subject,
                              describe(L, v, d, sizeof d));
    case FE_ARG_NAME:
        if (v->kind != FE_VAL_STRING)
            return fe_lower_error(L, src, loc, "%s must be a string, got %s", subject, describe(L, v, d, sizeof d));
        if (!valid_site_name(v->u.s))
            return fe_lower_error(L, src, loc, "%s must be letters, digits and '_', with '.' between parts; got "
                                               "\"%s\"", subject, v->u.s);
        return true;
    case FE_ARG_OPTION: {
        const char *name = v->kind == FE_VAL_SYMBOL ? v->u.s : v->kind == FE_VAL_SPEC ? v->u.spec->bi->name : NULL;
        if (name && in_options(name, a->options)) {
            const FeBuiltin *bi = find_builtin(name);
            if (v->kind == FE_VAL_SYMBOL && bi && !bi->fn) { /* `rope` alone: rope() */
                const LlmcSource *saved = L->src;
                L->src = src;
                *v = make_spec(L, bi, NULL, 0, loc);
                L->src = saved;
                return v->kind != FE_VAL_ERROR;
            }
            return true;
        }
        char opts[256], dym[96] = "";
        options_text(a->options, opts, sizeof opts);
        if (name) {
            uint32_t n = 0;
            while (a->options[n]) n++;
            did_you_mean(name, (const char *const *)a->options, n, dym, sizeof dym);
        }
        return fe_lower_error(L, src, loc, "%s must be one of %s; got %s%s", subject, opts,
                              describe(L, v, d, sizeof d), dym);
    }
    case FE_ARG_PAIR:
        if (v->kind == FE_VAL_TUPLE && v->u.tuple.n == 2) {
            FeValue *it = v->u.tuple.items;
            bool ok = true;
            for (int i = 0; i < 2; i++) {
                if (it[i].kind == FE_VAL_INT) {
                    it[i].kind = FE_VAL_FLOAT;
                    it[i].u.f = (double)it[i].u.i;
                }
                if (it[i].kind != FE_VAL_FLOAT) ok = false;
            }
            if (ok) return true;
        }
        return fe_lower_error(L, src, loc, "%s must be a pair of numbers like (0.9, 0.95), got %s", subject,
                              describe(L, v, d, sizeof d));
    case FE_ARG_INVALID:
    case FE_ARG_COUNT: break;
    }
    LLMC_ASSERT(!"bad argument kind");
    return false;
}

/* ===================================================================================
 * Calls
 * =================================================================================== */

bool fe_call_error(FeCall *c, int arg, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    verror(c->L, c->src, arg >= 0 ? c->locs[arg] : c->loc, fmt, ap);
    va_end(ap);
    return false;
}

FeBuild *fe_call_build(FeCall *c, const char *scope) {
    set_builder_at(c->L, scope, c->loc);
    return &c->L->fb;
}

bool fe_call_result(FeCall *c, IrId result, FeValue *out) {
    IrBuilder *b = &c->L->fb.b;
    if (!ir_builder_ok(b) || result == IR_ID_NONE) {
        fe_call_error(c, -1, "%s: %s", c->bi->name, b->err.set ? b->err.msg : "could not build the IR");
        llmc_err_clear(&b->err);
        return false;
    }
    out->kind = FE_VAL_TENSOR;
    out->u.t = result;
    return true;
}

bool fe_call_check_tensor(FeCall *c, int arg, uint32_t min_rank, uint32_t max_rank, const char *shape) {
    const IrType *t = &c->L->g->nodes[c->args[arg].u.t].type;
    if (ir_dtype_is_float(t->dtype) && t->rank >= min_rank && (max_rank == 0 || t->rank <= max_rank)) return true;
    char ts[IR_TYPE_STR_MAX];
    return fe_call_error(c, arg, "argument '%s' of %s must be a float tensor %s, got %s", c->bi->args[arg].name,
                         c->bi->name, shape, ir_type_format(t, ts, sizeof ts));
}

const char *fe_option_name(const FeValue *v) {
    if (v->kind == FE_VAL_SYMBOL) return v->u.s;
    if (v->kind == FE_VAL_SPEC) return v->u.spec->bi->name;
    return "";
}

static int spec_index(const FeSpec *s, const char *name) {
    for (uint32_t i = 0; i < s->bi->n_args; i++)
        if (strcmp(s->bi->args[i].name, name) == 0) return (int)i;
    return -1;
}

const FeValue *fe_spec_arg(const FeSpec *s, const char *name) {
    int i = spec_index(s, name);
    return i < 0 ? NULL : &s->args[i];
}

const FeLoc *fe_spec_loc(const FeSpec *s, const char *name) {
    int i = spec_index(s, name);
    return i < 0 ? &s->loc : &s->locs[i];
}

static FeValue eval(FeLower *L, const FeExpr *e);

static int arg_index(const FeBuiltin *bi, const char *name) {
    for (uint32_t i = 0; i < bi->n_args; i++)
        if (strcmp(bi->args[i].name, name) == 0) return (int)i;
    return -1;
}

/* Matches a call's arguments to bi's schema, evaluates and checks each, then fills
 * defaults. Reports every problem it finds; false if there was any. */
static bool bind_args(FeLower *L, const FeBuiltin *bi, const FeArg *args, uint32_t n_args, FeLoc call_loc,
                      FeValue *vals, FeLoc *locs, bool *given, bool *written) {
    bool ok = true;
    uint32_t n_pos = 0;
    bool seen_named = false;
    char subject[160], dym[96];
    for (uint32_t i = 0; i < bi->n_args; i++) {
        vals[i] = error_value;
        locs[i] = call_loc;
        given[i] = written[i] = false;
    }
    for (uint32_t k = 0; k < n_args; k++) {
        const FeArg *a = &args[k];
        int idx;
        if (!a->name) {
            if (seen_named) {
                ok = error_at(L, a->value->loc, "positional argument after named ones in the call of %s", bi->name);
                continue;
            }
            if (n_pos >= bi->n_args) {
                char list[256];
                size_t len = 0;
                for (uint32_t i = 0; i < bi->n_args; i++)
                    len += (size_t)snprintf(list + len, len < sizeof list ? sizeof list - len : 0, "%s%s",
                                            i ? ", " : "", bi->args[i].name);
                ok = error_at(L, a->value->loc, "too many positional arguments to %s: it takes at most %u (%s)",
                              bi->name, bi->n_args, bi->n_args ? list : "none");
                n_pos++;
                continue;
            }
            idx = (int)n_pos++;
        } else {
            seen_named = true;
            idx = arg_index(bi, a->name);
            if (idx < 0) {
                Names ns = {0};
                for (uint32_t i = 0; i < bi->n_args; i++) names_add(&ns, bi->args[i].name);
                did_you_mean(a->name, ns.v, ns.n, dym, sizeof dym);
                free(ns.v);
                ok = error_at(L, a->name_loc, "unknown argument '%s' to %s%s", a->name, bi->name, dym);
                continue;
            }
        }
        if (given[idx]) {
            ok = error_at(L, a->name ? a->name_loc : a->value->loc, "argument '%s' of %s is given twice",
                          bi->args[idx].name, bi->name);
            continue;
        }
        FeValue v = eval(L, a->value);
        given[idx] = written[idx] = true;
        locs[idx] = a->value->loc;
        snprintf(subject, sizeof subject, "argument '%s' of %s", bi->args[idx].name, bi->name);
        if (!fe_lower_check_value(L, &bi->args[idx], &v, L->src, a->value->loc, subject)) {
            ok = false;
            continue;
        }
        vals[idx] = v;
    }
    for (uint32_t i = 0; i < bi->n_args; i++) {
        if (given[i]) continue;
        const FeArgSpec *a = &bi->args[i];
        FeValue v = error_value;
        switch (a->def) {
        case FE_DEF_REQUIRED:
            ok = error_at(L, call_loc, "missing argument '%s' to %s", a->name, bi->name);
            continue;
        case FE_DEF_ABSENT: continue;
        case FE_DEF_INT:
            v.kind = FE_VAL_INT;
            v.u.i = (int64_t)a->num;
            break;
        case FE_DEF_NUMBER:
            v.kind = FE_VAL_FLOAT;
            v.u.f = a->num;
            break;
        case FE_DEF_BOOL:
            v.kind = FE_VAL_BOOL;
            v.u.b = a->num != 0;
            break;
        case FE_DEF_SYMBOL:
            v.kind = FE_VAL_SYMBOL;
            v.u.s = a->str;
            break;
        case FE_DEF_PAIR:
            v.kind = FE_VAL_TUPLE;
            v.u.tuple.n = 2;
            v.u.tuple.items = llmc_arena_alloc(&L->arena, 2 * sizeof *v.u.tuple.items);
            v.u.tuple.items[0].kind = v.u.tuple.items[1].kind = FE_VAL_FLOAT;
            v.u.tuple.items[0].u.f = a->num;
            v.u.tuple.items[1].u.f = a->num2;
            break;
        case FE_DEF_MODEL_NAME: {
            FeBinding *b = L->block == FE_BLOCK_MODEL ? env_find(&L->model_env, a->str) : NULL;
            if (!b) continue; /* absent: the handler decides whether it needs it */
            if (b->v.kind == FE_VAL_ERROR) {
                ok = false;
                continue;
            }
            v = b->v;
            snprintf(subject, sizeof subject, "'%s' (the default of argument '%s' of %s)", a->str, a->name,
                     bi->name);
            if (!fe_lower_check_value(L, a, &v, b->src, b->loc, subject)) {
                ok = false;
                continue;
            }
            locs[i] = b->loc;
            given[i] = true;
            vals[i] = v;
            continue;
        }
        case FE_DEF_ARG: {
            int j = arg_index(bi, a->str);
            LLMC_ASSERT(j >= 0 && (uint32_t)j < i);
            if (!given[j]) {
                ok = false; /* its own error was reported */
                continue;
            }
            v = vals[j];
            locs[i] = locs[j];
            break;
        }
        case FE_DEF_COUNT: LLMC_ASSERT(!"bad default"); break;
        }
        given[i] = true;
        vals[i] = v;
        /* A symbol default naming an option call becomes that call with its defaults. */
        if (a->kind == FE_ARG_OPTION) {
            snprintf(subject, sizeof subject, "argument '%s' of %s", a->name, bi->name);
            if (!fe_lower_check_value(L, a, &vals[i], L->src, call_loc, subject)) ok = false;
        }
    }
    return ok;
}

const FeBuiltin *fe_lower_find_builtin(const char *name) { return find_builtin(name); }

static FeValue eval_call(FeLower *L, const FeExpr *e) {
    const char *callee = e->u.call.callee;
    const FeBuiltin *bi = find_builtin(callee);
    char dym[96];
    const FeExtern *ext = bi ? NULL : fe_extern_find(L->p, callee);
    if (ext) { /* an extern function (lower_extern.c): arguments in order, then the call */
        FeValue *vals = llmc_arena_alloc(&L->arena, (e->u.call.n_args + 1) * sizeof *vals);
        for (uint32_t i = 0; i < e->u.call.n_args; i++) vals[i] = eval(L, e->u.call.args[i].value);
        bool model = L->block == FE_BLOCK_MODEL;
        if (model) set_builder_at(L, NULL, e->loc);
        FeValue out = error_value;
        fe_extern_call(L, L->src, model ? &L->fb : NULL, ext, e, vals, &out);
        return out;
    }
    if (!bi) {
        if (env_find(L->env, callee)) {
            error_at(L, e->loc, "'%s' is a value, not a builtin; it cannot be called", callee);
            return error_value;
        }
        Names ns = {0};
        for (size_t i = 0; i < N_BUILTINS; i++) names_add(&ns, builtins[i]->name);
        did_you_mean(callee, ns.v, ns.n, dym, sizeof dym);
        free(ns.v);
        error_at(L, e->loc, "unknown builtin '%s'%s", callee, dym);
        return error_value;
    }
    unsigned here = L->block == FE_BLOCK_MODEL ? FE_IN_MODEL : FE_IN_TRAIN;
    if (!(bi->where & here)) {
        error_at(L, e->loc, "%s(...) belongs in the %s block", bi->name, bi->where & FE_IN_MODEL ? "model" : "train");
        return error_value;
    }
    if (!bi->fn) return make_spec(L, bi, e->u.call.args, e->u.call.n_args, e->loc);
    FeCall c = {.L = L, .bi = bi, .src = L->src, .loc = e->loc};
    c.args = llmc_arena_alloc(&L->arena, (bi->n_args + 1) * sizeof *c.args);
    c.locs = llmc_arena_alloc(&L->arena, (bi->n_args + 1) * sizeof *c.locs);
    c.given = llmc_arena_alloc(&L->arena, (bi->n_args + 1) * sizeof *c.given);
    c.written = llmc_arena_alloc(&L->arena, (bi->n_args + 1) * sizeof *c.written);
    if (!bind_args(L, bi, e->u.call.args, e->u.call.n_args, e->loc, c.args, c.locs, c.given, c.written))
        return error_value;
    FeValue out = error_value;
    llmc_err_clear(&L->fb.b.err);
    if (!bi->fn(&c, &out)) {
        llmc_err_clear(&L->fb.b.err);
        return error_value;
    }
    return out;
}

/* ===================================================================================
 * Expressions
 * =================================================================================== */

static FeValue int_value(int64_t i) {
    FeValue v = {.kind = FE_VAL_INT, .u.i = i};
    return v;
}

static FeValue float_value(double f) {
    FeValue v = {.kind = FE_VAL_FLOAT, .u.f = f};
    return v;
}

static FeValue bool_value(bool b) {
    FeValue v = {.kind = FE_VAL_BOOL, .u.b = b};
    return v;
}

static FeValue tensor_value(IrId t) {
    FeValue v = {.kind = FE_VAL_TENSOR, .u.t = t};
    return v;
}

static bool is_number(const FeValue *v) { return v->kind == FE_VAL_INT || v->kind == FE_VAL_FLOAT; }
static double as_double(const FeValue *v) { return v->kind == FE_VAL_INT ? (double)v->u.i : v->u.f; }

/* Names the model block sees without assigning them. */
static const char *const model_inputs[] = {"tokens", "targets", "batch", "seq"};

static FeValue eval_name(FeLower *L, const FeExpr *e) {
    const char *n = e->u.str;
    FeBinding *b = env_find(L->env, n);
    if (b) return b->v;
    if (L->block == FE_BLOCK_MODEL) {
        if (strcmp(n, "tokens") == 0 || strcmp(n, "targets") == 0) {
            if (!ensure_data(L, e->loc, n)) return error_value;
            return tensor_value(n[1] == 'o' ? L->tokens : L->targets);
        }
        if (strcmp(n, "batch") == 0) return int_value(L->train.batch);
        if (strcmp(n, "seq") == 0) {
            if (L->train.seq == 0 && !ensure_data(L, e->loc, "seq")) return error_value;
            return int_value(L->train.seq);
        }
    }
    if (is_symbol(n)) {
        FeValue v = {.kind = FE_VAL_SYMBOL, .u.s = n};
        return v;
    }
    char dym[96];
    if (find_builtin(n)) {
        error_at(L, e->loc, "'%s' is a builtin; call it: %s(...)", n, n);
        return error_value;
    }
    Names ns = {0};
    for (uint32_t i = 0; i < L->env->n; i++) names_add(&ns, L->env->items[i].name);
    if (L->block == FE_BLOCK_MODEL)
        for (size_t i = 0; i < sizeof model_inputs / sizeof model_inputs[0]; i++) names_add(&ns, model_inputs[i]);
    each_symbol(names_add_cb, &ns);
    did_you_mean(n, ns.v, ns.n, dym, sizeof dym);
    free(ns.v);
    error_at(L, e->loc, "unknown name '%s'%s", n, dym);
    return error_value;
}

/* Integer arithmetic with Python's floor semantics; overflow and division by zero are
 * errors. */
static FeValue int_arith(FeLower *L, FeOp op, int64_t a, int64_t b, FeLoc loc) {
    int64_t r = 0;
    switch (op) {
    case FE_OP_ADD:
        if (__builtin_add_overflow(a, b, &r)) break;
        return int_value(r);
    case FE_OP_SUB:
        if (__builtin_sub_overflow(a, b, &r)) break;
        return int_value(r);
    case FE_OP_MUL:
        if (__builtin_mul_overflow(a, b, &r)) break;
        return int_value(r);
    case FE_OP_DIV:
        if (b == 0) return error_at(L, loc, "division by zero"), error_value;
        return float_value((double)a / (double)b);
    case FE_OP_FLOORDIV:
    case FE_OP_MOD: {
        if (b == 0) return error_at(L, loc, "division by zero"), error_value;
        if (b == -1) {
            if (op == FE_OP_MOD) return int_value(0);
            if (a == INT64_MIN) break;
            return int_value(-a);
        }
        int64_t q = a / b, m = a % b;
        if (m != 0 && ((m < 0) != (b < 0))) {
            q -= 1;
            m += b;
        }
        return int_value(op == FE_OP_FLOORDIV ? q : m);
    }
    case FE_OP_POW: {
        if (b < 0) {
            if (a == 0) return error_at(L, loc, "division by zero (0 to a negative power)"), error_value;
            return float_value(pow((double)a, (double)b));
        }
        int64_t acc = 1, base = a;
        bool overflow = false;
        for (int64_t e = b; e > 0 && !overflow; e >>= 1) {
            if (e & 1) overflow |= __builtin_mul_overflow(acc, base, &acc);
            if (e > 1) overflow |= __builtin_mul_overflow(base, base, &base);
        }
        if (overflow) break;
        return int_value(acc);
    }
    case FE_OP_INVALID: case FE_OP_EQ: case FE_OP_NE: case FE_OP_LT: case FE_OP_LE: case FE_OP_GT:
    case FE_OP_GE: case FE_OP_AND: case FE_OP_OR: case FE_OP_NEG: case FE_OP_NOT: case FE_OP_COUNT:
        LLMC_ASSERT(!"not an arithmetic operator");
    }
    error_at(L, loc, "integer overflow in %lld %s %lld", (long long)a, fe_op_text(op), (long long)b);
    return error_value;
}

static FeValue float_arith(FeLower *L, FeOp op, double a, double b, FeLoc loc) {
    double r = 0;
    switch (op) {
    case FE_OP_ADD: r = a + b; break;
    case FE_OP_SUB: r = a - b; break;
    case FE_OP_MUL: r = a * b; break;
    case FE_OP_DIV:
    case FE_OP_FLOORDIV:
    case FE_OP_MOD:
        if (b == 0) return error_at(L, loc, "division by zero"), error_value;
        if (op == FE_OP_DIV) {
            r = a / b;
        } else if (op == FE_OP_FLOORDIV) {
            r = floor(a / b);
        } else {
            r = fmod(a, b);
            if (r != 0 && ((r < 0) != (b < 0))) r += b;
        }
        break;
    case FE_OP_POW:
        if (a == 0 && b < 0) return error_at(L, loc, "division by zero (0 to a negative power)"), error_value;
        r = pow(a, b);
        break;
    case FE_OP_INVALID: case FE_OP_EQ: case FE_OP_NE: case FE_OP_LT: case FE_OP_LE: case FE_OP_GT:
    case FE_OP_GE: case FE_OP_AND: case FE_OP_OR: case FE_OP_NEG: case FE_OP_NOT: case FE_OP_COUNT:
        LLMC_ASSERT(!"not an arithmetic operator");
    }
    if (!isfinite(r)) {
        error_at(L, loc, "%g %s %g is not a finite number", a, fe_op_text(op), b);
        return error_value;
    }
    return float_value(r);
}

/* A number as a constant for a tensor of dtype dt. */
static IrId number_const(FeLower *L, const FeValue *v, IrDtype dt, FeLoc loc) {
    if (dt == IR_DTYPE_I32 && v->kind != FE_VAL_INT) {
        error_at(L, loc, "an i32 tensor can only be combined with ints, got a float");
        return IR_ID_NONE;
    }
    return ir_build_scalar(&L->fb.b, dt, as_double(v));
}

static FeValue tensor_arith(FeLower *L, FeOp op, FeValue a, FeValue b, FeLoc loc) {
    IrOp iop = IR_OP_INVALID;
    switch (op) {
    case FE_OP_ADD: iop = IR_OP_ADD; break;
    case FE_OP_SUB: iop = IR_OP_SUB; break;
    case FE_OP_MUL: iop = IR_OP_MUL; break;
    case FE_OP_DIV: iop = IR_OP_DIV; break;
    case FE_OP_POW: iop = IR_OP_POW; break;
    case FE_OP_FLOORDIV: case FE_OP_MOD: case FE_OP_EQ: case FE_OP_NE: case FE_OP_LT: case FE_OP_LE:
    case FE_OP_GT: case FE_OP_GE: case FE_OP_AND: case FE_OP_OR: case FE_OP_NEG: case FE_OP_NOT:
    case FE_OP_INVALID: case FE_OP_COUNT:
        error_at(L, loc, "'%s' is not defined on tensors (use + - * / **)", fe_op_text(op));
        return error_value;
    }
    char da[DESC_MAX], db[DESC_MAX];
    if ((a.kind != FE_VAL_TENSOR && !is_number(&a)) || (b.kind != FE_VAL_TENSOR && !is_number(&b))) {
        error_at(L, loc, "cannot apply '%s' to %s and %s", fe_op_text(op), describe(L, &a, da, sizeof da),
                 describe(L, &b, db, sizeof db));
        return error_value;
    }
    set_builder_at(L, NULL, loc);
    IrBuilder *bl = &L->fb.b;
    IrDtype dt = a.kind == FE_VAL_TENSOR ? L->g->nodes[a.u.t].type.dtype : L->g->nodes[b.u.t].type.dtype;
    IrId x = a.kind == FE_VAL_TENSOR ? a.u.t : number_const(L, &a, dt, loc);
    IrId y = b.kind == FE_VAL_TENSOR ? b.u.t : number_const(L, &b, dt, loc);
    if (x == IR_ID_NONE || y == IR_ID_NONE) return error_value;
    IrDtype dx = L->g->nodes[x].type.dtype, dy = L->g->nodes[y].type.dtype;
    if (dx != dy) {
        error_at(L, loc, "cannot apply '%s' to %s and %s: the dtypes differ", fe_op_text(op),
                 describe(L, &a, da, sizeof da), describe(L, &b, db, sizeof db));
        return error_value;
    }
    IrId r = ir_build_binary_bcast(bl, iop, x, y);
    if (r == IR_ID_NONE || !ir_builder_ok(bl)) {
        error_at(L, loc, "%s", bl->err.msg);
        llmc_err_clear(&bl->err);
        return error_value;
    }
    return tensor_value(r);
}

static FeValue eval_compare(FeLower *L, FeOp op, FeValue a, FeValue b, FeLoc loc) {
    char da[DESC_MAX], db[DESC_MAX];
    if (is_number(&a) && is_number(&b)) {
        int c;
        if (a.kind == FE_VAL_INT && b.kind == FE_VAL_INT)
            c = (a.u.i > b.u.i) - (a.u.i < b.u.i);
        else {
            double x = as_double(&a), y = as_double(&b);
            c = (x > y) - (x < y);
        }
        switch (op) {
        case FE_OP_EQ: return bool_value(c == 0);
        case FE_OP_NE: return bool_value(c != 0);
        case FE_OP_LT: return bool_value(c < 0);
        case FE_OP_LE: return bool_value(c <= 0);
        case FE_OP_GT: return bool_value(c > 0);
        case FE_OP_GE: return bool_value(c >= 0);
        case FE_OP_ADD: case FE_OP_SUB: case FE_OP_MUL: case FE_OP_DIV: case FE_OP_FLOORDIV: case FE_OP_MOD:
        case FE_OP_POW: case FE_OP_AND: case FE_OP_OR: case FE_OP_NEG: case FE_OP_NOT: case FE_OP_INVALID:
        case FE_OP_COUNT: break;
        }
        LLMC_ASSERT(!"not a comparison");
    }
    bool same = a.kind == b.kind && (a.kind == FE_VAL_BOOL || a.kind == FE_VAL_STRING || a.kind == FE_VAL_SYMBOL);
    if (same && (op == FE_OP_EQ || op == FE_OP_NE)) {
        bool eq = a.kind == FE_VAL_BOOL ? a.u.b == b.u.b : strcmp(a.u.s, b.u.s) == 0;
        return bool_value(op == FE_OP_EQ ? eq : !eq);
    }
    error_at(L, loc, "cannot compare %s with %s using '%s'", describe(L, &a, da, sizeof da),
             describe(L, &b, db, sizeof db), fe_op_text(op));
    return error_value;
}

static FeValue eval_binary(FeLower *L, const FeExpr *e) {
    FeOp op = e->u.binary.op;
    char da[DESC_MAX], db[DESC_MAX];
    FeValue a = eval(L, e->u.binary.lhs);
    if (op == FE_OP_AND || op == FE_OP_OR) {
        if (a.kind == FE_VAL_ERROR) return error_value;
        if (a.kind != FE_VAL_BOOL) {
            error_at(L, e->u.binary.lhs->loc, "'%s' needs bools, got %s", fe_op_text(op),
                     describe(L, &a, da, sizeof da));
            return error_value;
        }
        if (op == FE_OP_AND ? !a.u.b : a.u.b) return a; /* short-circuit */
        FeValue b = eval(L, e->u.binary.rhs);
        if (b.kind == FE_VAL_ERROR) return error_value;
        if (b.kind != FE_VAL_BOOL) {
            error_at(L, e->u.binary.rhs->loc, "'%s' needs bools, got %s", fe_op_text(op),
                     describe(L, &b, db, sizeof db));
            return error_value;
        }
        return b;
    }
    FeValue b = eval(L, e->u.binary.rhs);
    if (a.kind == FE_VAL_ERROR || b.kind == FE_VAL_ERROR) return error_value;
    switch (op) {
    case FE_OP_EQ: case FE_OP_NE: case FE_OP_LT: case FE_OP_LE: case FE_OP_GT: case FE_OP_GE:
        return eval_compare(L, op, a, b, e->loc);
    case FE_OP_ADD: case FE_OP_SUB: case FE_OP_MUL: case FE_OP_DIV: case FE_OP_FLOORDIV: case FE_OP_MOD:
    case FE_OP_POW:
        break;
    case FE_OP_AND: case FE_OP_OR: case FE_OP_NEG: case FE_OP_NOT: case FE_OP_INVALID: case FE_OP_COUNT:
        LLMC_ASSERT(!"bad binary operator");
    }
    if (a.kind == FE_VAL_TENSOR || b.kind == FE_VAL_TENSOR) return tensor_arith(L, op, a, b, e->loc);
    if (a.kind == FE_VAL_INT && b.kind == FE_VAL_INT) return int_arith(L, op, a.u.i, b.u.i, e->loc);
    if (is_number(&a) && is_number(&b)) return float_arith(L, op, as_double(&a), as_double(&b), e->loc);
    if (op == FE_OP_ADD && a.kind == FE_VAL_STRING && b.kind == FE_VAL_STRING) {
        /* Strings name things; a megabyte is already absurd, and doubling in a loop
         * would otherwise eat the machine. */
        if (strlen(a.u.s) + strlen(b.u.s) > FE_MAX_STRING) {
            error_at(L, e->loc, "string too long: joining them gives more than %d bytes", FE_MAX_STRING);
            return error_value;
        }
        FeValue v = {.kind = FE_VAL_STRING, .u.s = arena_printf(L, "%s%s", a.u.s, b.u.s)};
        return v;
    }
    error_at(L, e->loc, "cannot apply '%s' to %s and %s", fe_op_text(op), describe(L, &a, da, sizeof da),
             describe(L, &b, db, sizeof db));
    return error_value;
}

static FeValue eval_unary(FeLower *L, const FeExpr *e) {
    FeValue a = eval(L, e->u.unary.x);
    char d[DESC_MAX];
    if (a.kind == FE_VAL_ERROR) return error_value;
    if (e->u.unary.op == FE_OP_NOT) {
        if (a.kind == FE_VAL_BOOL) return bool_value(!a.u.b);
        error_at(L, e->loc, "'not' needs a bool, got %s", describe(L, &a, d, sizeof d));
        return error_value;
    }
    switch (a.kind) {
    case FE_VAL_INT:
        if (a.u.i == INT64_MIN)
            return error_at(L, e->loc, "integer overflow in -(%lld)", (long long)a.u.i), error_value;
        return int_value(-a.u.i);
    case FE_VAL_FLOAT: return float_value(-a.u.f);
    case FE_VAL_TENSOR: {
        set_builder_at(L, NULL, e->loc);
        IrId r = ir_build_unary(&L->fb.b, IR_OP_NEG, a.u.t);
        if (r == IR_ID_NONE) {
            error_at(L, e->loc, "%s", L->fb.b.err.msg);
            llmc_err_clear(&L->fb.b.err);
            return error_value;
        }
        return tensor_value(r);
    }
    case FE_VAL_ERROR: case FE_VAL_BOOL: case FE_VAL_STRING: case FE_VAL_TUPLE: case FE_VAL_SYMBOL:
    case FE_VAL_SPEC: case FE_VAL_COUNT: break;
    }
    error_at(L, e->loc, "'-' needs a number or a tensor, got %s", describe(L, &a, d, sizeof d));
    return error_value;
}

static FeValue eval(FeLower *L, const FeExpr *e) {
    if (L->stop) return error_value;
    switch (e->kind) {
    case FE_EXPR_INT: return int_value(e->u.i);
    case FE_EXPR_FLOAT: return float_value(e->u.f);
    case FE_EXPR_BOOL: return bool_value(e->u.b);
    case FE_EXPR_STRING: {
        FeValue v = {.kind = FE_VAL_STRING, .u.s = e->u.str};
        return v;
    }
    case FE_EXPR_NAME: return eval_name(L, e);
    case FE_EXPR_TUPLE: {
        FeValue v = {.kind = FE_VAL_TUPLE};
        v.u.tuple.n = e->u.tuple.n;
        v.u.tuple.items = llmc_arena_alloc(&L->arena, (e->u.tuple.n + 1) * sizeof *v.u.tuple.items);
        bool ok = true;
        for (uint32_t i = 0; i < e->u.tuple.n; i++) {
            v.u.tuple.items[i] = eval(L, e->u.tuple.items[i]);
            if (v.u.tuple.items[i].kind == FE_VAL_ERROR) ok = false;
        }
        return ok ? v : error_value;
    }
    case FE_EXPR_UNARY: return eval_unary(L, e);
    case FE_EXPR_BINARY: return eval_binary(L, e);
    case FE_EXPR_CALL: return eval_call(L, e);
    case FE_EXPR_INVALID:
    case FE_EXPR_COUNT: break;
    }
    LLMC_ASSERT(!"bad expression kind");
    return error_value;
}

/* ===================================================================================
 * Statements
 * =================================================================================== */

static const Override *find_override(const FeLower *L, Target target, const char *name) {
    for (uint32_t i = L->n_ovr; i-- > 0;) /* the last -D of a name wins */
        if (L->ovr[i].target == target && strcmp(L->ovr[i].name, name) == 0) return &L->ovr[i];
    return NULL;
}

static void exec_body(FeLower *L, const FeBody *body, bool top);

bool fe_lower_recipe_overridden(const FeLower *L, const char *arg) { return find_override(L, TARGET_ARG, arg) != NULL; }

/* Evaluates `expr` from `src` and binds it to `name`. */
static void assign(FeLower *L, const char *name, FeLoc name_loc, const FeExpr *expr, const LlmcSource *src) {
    const LlmcSource *saved = L->src;
    if (L->block == FE_BLOCK_TRAIN && !fe_train_setting(name)) {
        uint32_t n;
        const FeArgSpec *s = fe_train_settings(&n);
        Names ns = {0};
        for (uint32_t i = 0; i < n; i++) names_add(&ns, s[i].name);
        char dym[96];
        did_you_mean(name, ns.v, ns.n, dym, sizeof dym);
        free(ns.v);
        error_at(L, name_loc, "unknown train setting '%s'%s", name, dym);
        env_set(L->env, name, error_value, src, expr->loc);
        return;
    }
    if (L->block == FE_BLOCK_MODEL)
        for (size_t i = 0; i < sizeof model_inputs / sizeof model_inputs[0]; i++)
            if (strcmp(name, model_inputs[i]) == 0) {
                error_at(L, name_loc, "'%s' is an input of the model%s; it cannot be assigned", name,
                         i >= 2 ? " (set it in the train block)" : "");
                return;
            }
    L->src = src;
    FeValue v = eval(L, expr);
    L->src = saved;
    env_set(L->env, name, v, src, expr->loc);
}

static void exec_repeat(FeLower *L, const FeStmt *s) {
    const FeExpr *ce = s->u.repeat.count;
    FeValue n = eval(L, ce);
    char d[DESC_MAX];
    if (n.kind == FE_VAL_ERROR) return;
    if (n.kind != FE_VAL_INT || n.u.i < 0) {
        error_at(L, ce->loc, "repeat needs an int count >= 0, got %s", describe(L, &n, d, sizeof d));
        return;
    }
    const char *P = ce->kind == FE_EXPR_NAME ? ce->u.str : "blocks";
    Frame *f = top_frame(L);
    const char *prefix = join_path(L, f->path, numbered(L, P, frame_count(f, arena_printf(L, "repeat %s", P))));
    for (int64_t i = 0; i < n.u.i && !L->stop; i++) {
        if (++L->iterations > FE_MAX_ITERATIONS || (L->g && L->g->n_nodes > FE_MAX_NODES)) {
            error_at(L, ce->loc, "the program is too large: more than %d repeat iterations or %u IR nodes",
                     FE_MAX_ITERATIONS, FE_MAX_NODES);
            L->stop = true;
            return;
        }
        uint32_t errors = error_count(L);
        push_frame(L, arena_printf(L, "%s.%lld", prefix, (long long)i));
        if (s->u.repeat.index) env_set(L->env, s->u.repeat.index, int_value(i), L->src, s->loc);
        exec_body(L, &s->u.repeat.body, false);
        pop_frame(L);
        if (error_count(L) > errors) break; /* one iteration's errors are enough */
    }
}

static void exec_stmt(FeLower *L, const FeStmt *s, bool top) {
    if (L->stop) return;
    switch (s->kind) {
    case FE_STMT_ASSIGN: {
        const FeExpr *expr = s->u.assign.value;
        const LlmcSource *src = &L->p->src;
        if (top) {
            const Override *o = find_override(L, L->block == FE_BLOCK_MODEL ? TARGET_MODEL : TARGET_TRAIN,
                                              s->u.assign.name);
            if (o) {
                if (!o->expr) { /* its parse error was reported; uses stay silent */
                    env_set(L->env, s->u.assign.name, error_value, &o->src, (FeLoc){1, 1});
                    return;
                }
                expr = o->expr;
                src = &o->src;
            }
        }
        assign(L, s->u.assign.name, s->u.assign.name_loc, expr, src);
        return;
    }
    case FE_STMT_REPEAT: exec_repeat(L, s); return;
    case FE_STMT_IF: {
        FeValue c = eval(L, s->u.if_.cond);
        char d[DESC_MAX];
        if (c.kind == FE_VAL_ERROR) return;
        if (c.kind != FE_VAL_BOOL) {
            error_at(L, s->u.if_.cond->loc, "if needs a bool condition, got %s", describe(L, &c, d, sizeof d));
            return;
        }
        exec_body(L, c.u.b ? &s->u.if_.then_body : &s->u.if_.else_body, false);
        return;
    }
    case FE_STMT_INVALID:
    case FE_STMT_COUNT: break;
    }
    LLMC_ASSERT(!"bad statement kind");
}

static void exec_body(FeLower *L, const FeBody *body, bool top) {
    for (uint32_t i = 0; i < body->n && !L->stop; i++) exec_stmt(L, body->stmts[i], top);
}

/* ===================================================================================
 * -D overrides
 * =================================================================================== */

static bool assigned_at_top(const FeBlock *b, const char *name) {
    if (!b) return false;
    for (uint32_t i = 0; i < b->body.n; i++) {
        const FeStmt *s = b->body.stmts[i];
        if (s->kind == FE_STMT_ASSIGN && strcmp(s->u.assign.name, name) == 0) return true;
    }
    return false;
}

static bool assigned_anywhere(const FeBody *body, const char *name) {
    for (uint32_t i = 0; i < body->n; i++) {
        const FeStmt *s = body->stmts[i];
        switch (s->kind) {
        case FE_STMT_ASSIGN:
            if (strcmp(s->u.assign.name, name) == 0) return true;
            break;
        case FE_STMT_REPEAT:
            if (assigned_anywhere(&s->u.repeat.body, name)) return true;
            break;
        case FE_STMT_IF:
            if (assigned_anywhere(&s->u.if_.then_body, name) || assigned_anywhere(&s->u.if_.else_body, name))
                return true;
            break;
        case FE_STMT_INVALID:
        case FE_STMT_COUNT: break;
        }
    }
    return false;
}

static bool valid_identifier(const char *s) {
    if (!(isalpha((unsigned char)s[0]) || s[0] == '_')) return false;
    for (const char *p = s; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_')) return false;
    return true;
}

static bool is_recipe_arg(const char *name) {
    for (size_t i = 0; i < sizeof recipe_args / sizeof recipe_args[0]; i++)
        if (strcmp(recipe_args[i], name) == 0) return true;
    return false;
}

/* A -D value for a recipe argument: a number (two for betas), checked by the record's
 * own ranges afterwards. */
static bool recipe_number(FeLower *L, const Override *o, const FeValue *v, double *out) {
    if (!is_number(v)) return fe_lower_error(L, &o->src, (FeLoc){1, 1}, "-D %s needs a number", o->name);
    *out = as_double(v);
    return true;
}

static void apply_recipe_args(FeLower *L) {
    IrTrainConfig *t = &L->train;
    for (uint32_t i = 0; i < L->n_ovr; i++) {
        const Override *o = &L->ovr[i];
        if (o->target != TARGET_ARG || !o->expr) continue;
        FeValue v = eval(L, o->expr);
        if (v.kind == FE_VAL_ERROR) continue;
        double x = 0;
        if (strcmp(o->name, "betas") == 0) {
            if (v.kind != FE_VAL_TUPLE || v.u.tuple.n != 2 || !is_number(&v.u.tuple.items[0]) ||
                !is_number(&v.u.tuple.items[1])) {
                fe_lower_error(L, &o->src, (FeLoc){1, 1}, "-D betas needs two numbers, e.g. -D \"betas=(0.9, 0.95)\"");
                continue;
            }
            t->beta1 = as_double(&v.u.tuple.items[0]);
            t->beta2 = as_double(&v.u.tuple.items[1]);
        } else if (strcmp(o->name, "warmup") == 0) {
            if (v.kind != FE_VAL_INT) {
                fe_lower_error(L, &o->src, (FeLoc){1, 1}, "-D warmup needs an int");
                continue;
            }
            t->warmup = v.u.i;
        } else if (recipe_number(L, o, &v, &x)) {
            if (strcmp(o->name, "lr") == 0) t->lr = x;
            if (strcmp(o->name, "eps") == 0) t->eps = x;
            if (strcmp(o->name, "weight_decay") == 0) t->weight_decay = x;
            if (strcmp(o->name, "momentum") == 0) t->momentum = x;
            if (strcmp(o->name, "min_lr") == 0) t->min_lr = x;
        }
        IrTrainConfig probe = *t;
        if (probe.seq == 0) probe.seq = 1;
        LlmcErr err = {0};
        if (!ir_train_check(&probe, &err)) fe_lower_error(L, &o->src, (FeLoc){1, 1}, "%s", err.msg);
    }
}

static void prepare_overrides(FeLower *L, const FeLowerOptions *opt) {
    if (!opt || !opt->n_overrides) return;
    L->ovr = llmc_arena_alloc(&L->arena, opt->n_overrides * sizeof *L->ovr);
    for (uint32_t i = 0; i < opt->n_overrides; i++) {
        const FeOverride *o = &opt->overrides[i];
        Override *v = &L->ovr[L->n_ovr++];
        const char *name = o->name ? o->name : "", *value = o->value ? o->value : "";
        v->name = arena_printf(L, "%s", name);
        v->src.name = arena_printf(L, "-D %s=%s", name, value);
        v->src.text = arena_printf(L, "%s", value);
        v->src.len = strlen(value);
        if (!valid_identifier(name)) {
            fe_lower_error(L, &v->src, (FeLoc){0, 0}, "-D needs NAME=VALUE with NAME an identifier, got '%s'", name);
            continue;
        }
        if (assigned_at_top(L->p->model, name))
            v->target = TARGET_MODEL;
        else if (assigned_at_top(L->p->train, name))
            v->target = TARGET_TRAIN;
        else if (fe_train_setting(name) && !(L->p->train && assigned_anywhere(&L->p->train->body, name)))
            v->target = TARGET_INJECT; /* a train setting the block leaves at its default */
        else if (is_recipe_arg(name))
            v->target = TARGET_ARG;
        else {
            Names ns = {0};
            const FeBlock *blocks[2] = {L->p->model, L->p->train};
            for (int k = 0; k < 2; k++)
                for (uint32_t j = 0; blocks[k] && j < blocks[k]->body.n; j++)
                    if (blocks[k]->body.stmts[j]->kind == FE_STMT_ASSIGN)
                        names_add(&ns, blocks[k]->body.stmts[j]->u.assign.name);
            uint32_t n;
            const FeArgSpec *s = fe_train_settings(&n);
            for (uint32_t j = 0; j < n; j++) names_add(&ns, s[j].name);
            for (size_t j = 0; j < sizeof recipe_args / sizeof recipe_args[0]; j++) names_add(&ns, recipe_args[j]);
            char dym[96];
            did_you_mean(name, ns.v, ns.n, dym, sizeof dym);
            free(ns.v);
            fe_lower_error(L, &v->src, (FeLoc){0, 0},
                           "-D %s: '%s' is not assigned at the top level of the model or train block%s", name, name,
                           dym);
            continue;
        }
        v->expr = fe_parse_expr(&v->src, &L->arena, L->diags);
    }
}

/* ===================================================================================
 * Finishing: outputs, input order, the train record, @init
 * =================================================================================== */

/* A copy of g with its inputs first, in the order: params (as created), tokens,
 * targets, seed, step, micro. Inputs have no operands, so moving them to the front
 * keeps the order topological. */
static IrGraph *reorder_inputs(FeLower *L) {
    const IrGraph *g = L->g;
    IrGraph *c = ir_graph_new(ir_graph_name(g));
    for (uint32_t i = 1; i < g->strings.count; i++) {
        uint32_t id = ir_graph_intern(c, g->strings.strs[i]);
        LLMC_ASSERT(id == i);
    }
    IrId *order = llmc_xmalloc((g->n_nodes + 1) * sizeof *order);
    IrId *map = llmc_xmalloc((g->n_nodes + 1) * sizeof *map);
    bool *placed = llmc_xcalloc(g->n_nodes + 1, sizeof *placed);
    uint32_t n = 0;
    for (uint32_t i = 0; i < L->fb.n_params; i++) order[n++] = L->fb.params[i].id;
    IrId rest[] = {L->tokens, L->targets, L->fb.seed, L->fb.step, L->fb.micro};
    for (size_t i = 0; i < sizeof rest / sizeof rest[0]; i++)
        if (rest[i] != IR_ID_NONE) order[n++] = rest[i];
    for (uint32_t i = 0; i < n; i++) placed[order[i]] = true;
    for (IrId id = 0; id < g->n_nodes; id++)
        if (g->nodes[id].op == IR_OP_INPUT && !placed[id]) order[n++] = id, placed[id] = true;
    for (IrId id = 0; id < g->n_nodes; id++)
        if (!placed[id]) order[n++] = id;
    LLMC_ASSERT(n == g->n_nodes);
    IrId ops[64];
    for (uint32_t k = 0; k < n; k++) {
        IrNode node = g->nodes[order[k]];
        IrId *operands = node.n_operands <= 64 ? ops : llmc_xmalloc(node.n_operands * sizeof *operands);
        for (uint32_t j = 0; j < node.n_operands; j++) operands[j] = map[node.operands[j]];
        node.operands = operands;
        map[order[k]] = ir_graph_add_node(c, &node);
        if (operands != ops) free(operands);
        if (node.op == IR_OP_CONST && node.attrs.constant.value.bytes) {
            size_t bytes = node.attrs.constant.value.count * ir_dtype_size(node.type.dtype);
            void *copy = llmc_arena_alloc(&c->arena, bytes);
            memcpy(copy, node.attrs.constant.value.bytes, bytes);
            c->nodes[map[order[k]]].attrs.constant.value.bytes = copy;
        }
    }
    for (uint32_t o = 0; o < g->n_outputs; o++)
        ir_graph_add_output(c, ir_graph_str(g, g->outputs[o].name), map[g->outputs[o].node]);
    free(order);
    free(map);
    free(placed);
    return c;
}

/* Init site ids: the hash of the parameter's name, so a parameter keeps its values when
 * others are added or removed. Only randomly initialized parameters need one. Hashes
 * are 31 bits, so a big model can collide (birthday bound); a collision is resolved
 * deterministically by rehashing "name#k" for k = 1, 2, ... in parameter order, which
 * keeps every id stable as long as the colliding names are. Open addressing over a
 * table twice the parameter count keeps this linear. */
static uint32_t *assign_init_sites(const FeBuild *fb) {
    uint32_t np = fb->n_params, n_slots = 16;
    while (n_slots < 2 * np + 2) n_slots *= 2;
    uint32_t *taken = llmc_xcalloc(n_slots, sizeof *taken); /* site + 1, 0 = empty */
    uint32_t *sites = llmc_xcalloc(np + 1, sizeof *sites);
    for (uint32_t i = 0; i < np; i++) {
        const FeParam *p = &fb->params[i];
        if (p->init != FE_INIT_NORMAL && p->init != FE_INIT_RESIDUAL) continue;
        uint32_t site = fe_site_hash(p->name);
        for (uint32_t k = 1;; k++) {
            uint32_t s = (site * 2654435761u) & (n_slots - 1);
            while (taken[s] && taken[s] != site + 1) s = (s + 1) & (n_slots - 1);
            if (!taken[s]) {
                taken[s] = site + 1;
                break;
            }
            char salted[64];
            snprintf(salted, sizeof salted, "#%u", k);
            LlmcBuf name = {0};
            llmc_buf_printf(&name, "%s%s", p->name, salted);
            site = fe_site_hash(name.data);
            llmc_buf_free(&name);
        }
        sites[i] = site;
    }
    free(taken);
    return sites;
}

/* @init: one output per parameter, in @forward's order, from `seed` alone. */
static IrGraph *build_init(FeLower *L, const IrGraph *fwd, double init_std, bool residual_scale) {
    const FeBuild *fb = &L->fb;
    uint32_t np = fb->n_params;
    uint32_t *sites = assign_init_sites(fb);
    IrGraph *g = ir_graph_new("init");
    IrBuilder b;
    ir_builder_init(&b, g);
    ir_builder_set_scope(&b, "seed");
    IrId seed = ir_build_input(&b, IR_ROLE_STATE, "seed", ir_type_scalar(IR_DTYPE_I32));
    ir_builder_set_scope(&b, "");
    IrId zero = ir_build_scalar(&b, IR_DTYPE_I32, 0); /* step = micro = 0 */
    double residual = residual_scale && L->n_attention > 0 ? 1.0 / sqrt(2.0 * (double)L->n_attention) : 1.0;
    for (uint32_t i = 0; i < np; i++) {
        const FeParam *p = &fb->params[i];
        ir_builder_set_scope(&b, p->name);
        ir_builder_set_loc(&b, ir_graph_str(fwd, p->loc.file), p->loc.line, p->loc.col);
        IrId v = IR_ID_NONE;
        switch (p->init) {
        case FE_INIT_NORMAL:
        case FE_INIT_RESIDUAL: {
            double std = init_std * (p->init == FE_INIT_RESIDUAL ? residual : 1.0);
            IrId r = ir_build_rand(&b, p->type, seed, zero, zero, sites[i], IR_RAND_NORMAL);
            v = ir_build_binary_bcast(&b, IR_OP_MUL, r, ir_build_scalar(&b, p->type.dtype, std));
            break;
        }
        case FE_INIT_ONES: v = ir_build_const(&b, p->type, (double[]){1.0}, 1); break;
        case FE_INIT_ZEROS: v = ir_build_const(&b, p->type, (double[]){0.0}, 1); break;
        case FE_INIT_INVALID:
        case FE_INIT_COUNT: LLMC_ASSERT(!"parameter without an init rule"); break;
        }
        if (v == IR_ID_NONE) break;
        ir_graph_add_output(g, p->name, v);
    }
    free(sites);
    if (!ir_builder_ok(&b)) {
        fe_lower_error(L, &L->p->src, L->p->model->loc, "internal error: building @init: %s", b.err.msg);
        ir_graph_free(g);
        return NULL;
    }
    return g;
}

/* A model option: its binding checked against `a`, or NULL when not assigned. */
static const FeBinding *model_option(FeLower *L, const FeArgSpec *a, FeValue *v) {
    FeBinding *b = env_find(&L->model_env, a->name);
    if (!b || b->v.kind == FE_VAL_ERROR) return NULL;
    *v = b->v;
    char subject[96];
    snprintf(subject, sizeof subject, "model option '%s'", a->name);
    if (!fe_lower_check_value(L, a, v, b->src, b->loc, subject)) return NULL;
    return b;
}

static bool finish(FeLower *L, IrModule *out) {
    const FeBlock *m = L->p->model;
    const LlmcSource *src = &L->p->src;
    bool ok = true;
    ensure_data(L, m->loc, "the model");
    /* seq against the model's context */
    FeBinding *ctx = env_find(&L->model_env, "context");
    if (ctx && ctx->v.kind == FE_VAL_INT && L->data_ready && L->train.seq > ctx->v.u.i)
        ok = fe_lower_seq_exceeds(L, L->train.seq, ctx->v.u.i);
    /* model options */
    static const FeArgSpec init_std_spec = {.name = "init_std", .kind = FE_ARG_NUMBER};
    static const FeArgSpec residual_spec = {.name = "residual_scale", .kind = FE_ARG_BOOL};
    double init_std = 0.02;
    bool residual_scale = true;
    FeValue v;
    const FeBinding *b = model_option(L, &init_std_spec, &v);
    if (b) {
        if (!(v.u.f >= 0))
            ok = fe_lower_error(L, b->src, b->loc, "model option 'init_std' must be >= 0, got %g", v.u.f);
        init_std = v.u.f;
    }
    if ((b = model_option(L, &residual_spec, &v))) residual_scale = v.u.b;
    /* the loss */
    FeBinding *loss = env_find(&L->model_env, "loss");
    IrId total = IR_ID_NONE;
    if (!loss) {
        ok = fe_lower_error(L, src, m->loc, "model '%s' has no 'loss': assign loss = cross_entropy(logits, targets)",
                            m->name);
    } else if (loss->v.kind != FE_VAL_ERROR) {
        const IrType *t = loss->v.kind == FE_VAL_TENSOR ? &L->g->nodes[loss->v.u.t].type : NULL;
        char d[DESC_MAX];
        if (!t || t->rank != 0 || !ir_dtype_is_float(t->dtype)) {
            ok = fe_lower_error(L, loss->src, loss->loc, "'loss' must be a float scalar tensor (like "
                                                         "cross_entropy(logits, targets)), got %s",
                                describe(L, &loss->v, d, sizeof d));
        } else {
            total = loss->v.u.t;
            if (L->has_moe) {
                L->src = loss->src;
                set_builder_at(L, "", loss->loc);
                total = ir_build_binary(&L->fb.b, IR_OP_ADD, total, L->moe_aux);
            }
        }
    }
    if (L->infer) { /* an inference graph: the logits, not the loss */
        if (error_count(L) > 0 || !ok) return false;
        return fe_infer_finish(L, &L->fb, env_find(&L->model_env, "logits"), L->tokens, src, m->loc, out);
    }
    if (error_count(L) > 0 || !ok || total == IR_ID_NONE) return false;
    ir_graph_add_output(L->g, "loss", total);
    if (L->has_moe) {
        ir_graph_add_output(L->g, "moe_aux_loss", L->moe_aux);
        ir_graph_add_output(L->g, "moe_dropped_tokens", L->moe_dropped);
    }
    if (!ir_builder_ok(&L->fb.b)) {
        fe_lower_error(L, src, m->loc, "internal error: %s", L->fb.b.err.msg);
        return false;
    }
    IrGraph *fwd = reorder_inputs(L);
    fwd->train = L->train;
    fwd->train.present = true;
    fwd->train.model = ir_graph_intern(fwd, m->name);
    IrGraph *init = L->fb.n_params ? build_init(L, fwd, init_std, residual_scale) : NULL;
    if (L->fb.n_params && !init) {
        ir_graph_free(fwd);
        return false;
    }
    bool verified = ir_verify(fwd, L->diags, NULL, NULL);
    if (!verified)
        fe_lower_error(L, src, m->loc, "internal error: the forward graph of model '%s' fails verification", m->name);
    if (init && !ir_verify(init, L->diags, NULL, NULL)) {
        verified = false;
        fe_lower_error(L, src, m->loc, "internal error: the init graph of model '%s' fails verification", m->name);
    }
    if (!verified) {
        ir_graph_free(fwd);
        ir_graph_free(init);
        return false;
    }
    ir_module_add(out, fwd);
    if (init) ir_module_add(out, init);
    return true;
}

/* ===================================================================================
 * Entry
 * =================================================================================== */

bool fe_lower(const FeProgram *p, const FeLowerOptions *opt, IrModule *out, LlmcDiags *diags) {
    return fe_lower_run(p, opt, NULL, out, diags);
}

bool fe_lower_run(const FeProgram *p, const FeLowerOptions *opt, FeInfer *infer, IrModule *out, LlmcDiags *diags) {
    memset(out, 0, sizeof *out);
    FeLower *L = llmc_xcalloc(1, sizeof *L);
    L->p = p;
    L->infer = infer;
    L->diags = diags;
    L->errors0 = diags->errors;
    L->src = &p->src;
    L->tokens = L->targets = L->tok_emb = L->moe_aux = L->moe_dropped = IR_ID_NONE;
    push_frame(L, "");
    bool ok = false;
    if (!p->model) {
        fe_lower_error(L, &p->src, (FeLoc){0, 0}, "no model block");
        goto done;
    }
    prepare_overrides(L, opt);
    fe_extern_check_decls(L, p);

    /* the train block, with -D values for settings it does not assign */
    L->block = FE_BLOCK_TRAIN;
    L->env = &L->train_env;
    for (uint32_t i = 0; i < L->n_ovr; i++) {
        const Override *o = &L->ovr[i];
        if (o->target != TARGET_INJECT || !o->expr || find_override(L, TARGET_INJECT, o->name) != o) continue;
        assign(L, o->name, (FeLoc){1, 1}, o->expr, &o->src);
    }
    if (p->train) exec_body(L, &p->train->body, true);
    fe_lower_train(L, &L->train);
    apply_recipe_args(L);
    if (infer) { /* one sequence of infer->seq tokens (0: the model's context) */
        L->train.batch = 1;
        L->train.seq = infer->seq;
    }

    /* the model block */
    L->block = FE_BLOCK_MODEL;
    L->env = &L->model_env;
    L->g = ir_graph_new("forward");
    fe_build_init(&L->fb, L->g, IR_DTYPE_F32);
    L->fb.infer = infer;
    /* precision = bf16: every dense matmul in bf16 (fe_build_dense_matmul), in the
     * inference graphs too, so they compute what was trained */
    if (L->train.precision == IR_TRAIN_BF16) L->fb.mm_dt = IR_DTYPE_BF16;
    exec_body(L, &p->model->body, true);
    ok = !L->stop && finish(L, out) && error_count(L) == 0;
done:
    ok = ok && error_count(L) == 0;
    if (!ok) ir_module_free(out);
    while (L->n_frames) pop_frame(L);
    free(L->frames);
    free(L->train_env.items);
    free(L->model_env.items);
    if (L->g) {
        fe_build_free(&L->fb);
        ir_graph_free(L->g);
    }
    llmc_arena_free(&L->arena);
    free(L);
    return ok;
}

bool fe_lower_architecture(const FeProgram *p, const FeLowerOptions *opt, IrModule *out, LlmcDiags *diags) {
    uint32_t n = opt ? opt->n_overrides : 0;
    FeOverride *ov = llmc_xcalloc(n + 2, sizeof *ov);
    if (n) memcpy(ov, opt->overrides, n * sizeof *ov);
    ov[n] = (FeOverride){"batch", "1"};
    ov[n + 1] = (FeOverride){"seq", "1"}; /* the last -D of a name wins */
    FeLowerOptions lo = {ov, n + 2};
    bool ok = fe_lower(p, &lo, out, diags);
    free(ov);
    return ok;
}
