/* frontend/builtin_embed.c — the ends of a language model: embed (token table plus
 * learned or sinusoidal positions), lm_head (tied or untied) and cross_entropy.
 *
 * Each builtin is two parts: a composite (fe_build_*) that builds primitives from plain
 * C parameters, and a handler that checks what only the .llm call knows (argument
 * locations, model-level defaults, the tied table) and calls it. Not here: the
 * argument schema checking itself (lower.c does it for every builtin).
 */
#include "frontend_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* --- composites ---------------------------------------------------------------------- */

IrId fe_build_sinusoid_table(FeBuild *fb, int64_t T, int64_t D) {
    if (T < 1 || D < 1 || D > ((int64_t)1 << 26) / T) { /* no T * D: it may overflow */
        llmc_err_set(&fb->b.err, "a sinusoid table of %lld x %lld values is out of range", (long long)T, (long long)D);
        return IR_ID_NONE;
    }
    double *v = llmc_xmalloc((size_t)(T * D) * sizeof *v);
    for (int64_t pos = 0; pos < T; pos++)
        for (int64_t j = 0; j < D; j++) {
            /* pair i = j / 2: sin on the even feature, cos on the odd one */
            double angle = (double)pos / pow(10000.0, (double)(2 * (j / 2)) / (double)D);
            v[pos * D + j] = j % 2 == 0 ? sin(angle) : cos(angle);
        }
    IrId t = ir_build_const(&fb->b, ir_type_make(fb->dt, 2, (int64_t[]){T, D}), v, (uint64_t)(T * D));
    free(v);
    return t;
}

IrId fe_build_embed(FeBuild *fb, IrId ids, const FeEmbedSpec *s, const char *tok_site, const char *pos_site,
                    IrId *table) {
    IrBuilder *b = &fb->b;
    if (table) *table = IR_ID_NONE;
    if (ids == IR_ID_NONE) return IR_ID_NONE;
    const IrType it = b->g->nodes[ids].type;
    char ts[IR_TYPE_STR_MAX];
    if (it.dtype != IR_DTYPE_I32 || it.rank < 1) {
        llmc_err_set(&b->err, "ids must be an i32 tensor of token ids, got %s", ir_type_format(&it, ts, sizeof ts));
        return IR_ID_NONE;
    }
    ir_builder_set_scope(b, tok_site);
    IrId tab = fe_build_param(fb, tok_site, 2, (int64_t[]){s->vocab, s->dim}, FE_INIT_NORMAL); /* [V, D] */
    if (table) *table = tab;
    IrId x = ir_build_gather(b, tab, ids, 0, 0); /* [.., T, D] */
    if (x == IR_ID_NONE) return IR_ID_NONE;
    int64_t T = it.dims[it.rank - 1], D = s->dim;
    switch (s->position) {
    case FE_POS_NONE: break;
    case FE_POS_LEARNED: {
        if (T > s->context) {
            llmc_err_set(&b->err, "the sequence length %lld exceeds context = %lld", (long long)T,
                         (long long)s->context);
            return IR_ID_NONE;
        }
        ir_builder_set_scope(b, pos_site);
        IrId pe = fe_build_param(fb, pos_site, 2, (int64_t[]){s->context, D}, FE_INIT_NORMAL); /* [ctx, D] */
        if (fb->infer && fb->infer->kind == FE_INFER_DECODE) pe = fe_infer_rows(fb, pe); /* [1, D] at pos */
        else if (T < s->context) pe = ir_build_slice(b, pe, (int64_t[]){0, 0}, (int64_t[]){T, D}, NULL); /* [T, D] */
        x = ir_build_binary_bcast(b, IR_OP_ADD, x, pe);
        break;
    }
    case FE_POS_SINUSOIDAL:
        if (fb->infer && fb->infer->kind == FE_INFER_DECODE) /* the row at pos */
            x = ir_build_binary_bcast(b, IR_OP_ADD, x,
                                      fe_infer_rows(fb, fe_build_sinusoid_table(fb, fb->infer->cache_len, D)));
        else
            x = ir_build_binary_bcast(b, IR_OP_ADD, x, fe_build_sinusoid_table(fb, T, D));
        break;
    case FE_POS_COUNT:
        LLMC_ASSERT(!"bad position kind");
    }
    return x;
}

IrId fe_build_lm_head(FeBuild *fb, IrId x, IrId tied, int64_t vocab, bool bias, const char *site) {
    IrBuilder *b = &fb->b;
    if (x == IR_ID_NONE) return IR_ID_NONE;
    ir_builder_set_scope(b, site);
    int64_t D = fe_type_dim(fb, x, -1);
    IrId y;
    if (tied != IR_ID_NONE) {
        const IrType tt = b->g->nodes[tied].type; /* [V, D] */
        if (tt.rank != 2 || tt.dims[1] != D || (vocab > 0 && tt.dims[0] != vocab)) {
            char a[IR_TYPE_STR_MAX], c[IR_TYPE_STR_MAX];
            llmc_err_set(&b->err, "the tied embedding %s does not fit x %s and vocab = %lld",
                         ir_type_format(&tt, a, sizeof a), ir_type_format(&b->g->nodes[x].type, c, sizeof c),
                         (long long)vocab);
            return IR_ID_NONE;
        }
        vocab = tt.dims[0];
        y = fe_build_dense_matmul(fb, x, tied, true); /* x tok_emb^T: [.., V] */
    } else {
        IrId w = fe_build_param(fb, site, 2, (int64_t[]){D, vocab}, FE_INIT_NORMAL); /* [D, V] */
        y = fe_build_dense_matmul(fb, x, w, false);
    }
    if (bias) {
        IrId bb = fe_build_param(fb, fe_build_name(fb, site, "bias"), 1, &vocab, FE_INIT_ZEROS); /* [V] */
        y = bb == IR_ID_NONE ? IR_ID_NONE : ir_build_binary_bcast(b, IR_OP_ADD, y, bb);
    }
    return y;
}

IrId fe_build_cross_entropy(FeBuild *fb, IrId logits, IrId targets) {
    IrBuilder *b = &fb->b;
    if (logits == IR_ID_NONE || targets == IR_ID_NONE) return IR_ID_NONE;
    const IrType lt = b->g->nodes[logits].type, tt = b->g->nodes[targets].type;
    bool ok = ir_dtype_is_float(lt.dtype) && lt.rank >= 2 && tt.dtype == IR_DTYPE_I32 && tt.rank + 1 == lt.rank;
    for (uint32_t i = 0; ok && i < tt.rank; i++) ok = tt.dims[i] == lt.dims[i];
    if (!ok) {
        char a[IR_TYPE_STR_MAX], c[IR_TYPE_STR_MAX];
        llmc_err_set(&b->err, "needs float logits [.., vocab] and i32 targets of their leading shape, got %s and %s",
                     ir_type_format(&lt, a, sizeof a), ir_type_format(&tt, c, sizeof c));
        return IR_ID_NONE;
    }
    int64_t last = (int64_t)lt.rank - 1;
    IrId lse = fe_build_logsumexp(fb, logits);                           /* [..] */
    IrId picked = ir_build_gather(b, logits, targets, last, last);       /* logits[.., target]: [..] */
    return fe_build_mean_all(fb, ir_build_binary(b, IR_OP_SUB, lse, picked)); /* [] */
}

/* --- handlers ------------------------------------------------------------------------ */

static const char *const position_options[] = {"none", "learned", "sinusoidal", NULL};

enum { EMBED_IDS, EMBED_VOCAB, EMBED_DIM, EMBED_POSITION, EMBED_CONTEXT, EMBED_NAME, EMBED_N };
static const FeArgSpec embed_args[EMBED_N] = {
    [EMBED_IDS] = {.name = "ids", .kind = FE_ARG_TENSOR},
    [EMBED_VOCAB] = {.name = "vocab", .kind = FE_ARG_SIZE},
    [EMBED_DIM] = {.name = "dim", .kind = FE_ARG_SIZE},
    [EMBED_POSITION] = {.name = "position", .kind = FE_ARG_OPTION, .def = FE_DEF_SYMBOL, .str = "none",
                        .options = position_options},
    [EMBED_CONTEXT] = {.name = "context", .kind = FE_ARG_SIZE, .def = FE_DEF_MODEL_NAME, .str = "context"},
    [EMBED_NAME] = {.name = "name", .kind = FE_ARG_NAME, .def = FE_DEF_ABSENT},
};

static bool embed_fn(FeCall *c, FeValue *out) {
    FeEmbedSpec s = {.vocab = c->args[EMBED_VOCAB].u.i, .dim = c->args[EMBED_DIM].u.i};
    const char *pos = fe_option_name(&c->args[EMBED_POSITION]);
    s.position = strcmp(pos, "learned") == 0 ? FE_POS_LEARNED
                 : strcmp(pos, "sinusoidal") == 0 ? FE_POS_SINUSOIDAL
                                                  : FE_POS_NONE;
    IrId ids = c->args[EMBED_IDS].u.t;
    FeBuild *fb = fe_call_build(c, NULL);
    const IrType it = fb->b.g->nodes[ids].type;
    if (it.dtype != IR_DTYPE_I32 || it.rank < 1) {
        char ts[IR_TYPE_STR_MAX];
        return fe_call_error(c, EMBED_IDS, "argument 'ids' of embed must be an i32 tensor of token ids, got %s",
                             ir_type_format(&it, ts, sizeof ts));
    }
    int64_t T = it.dims[it.rank - 1];
    s.context = c->given[EMBED_CONTEXT] ? c->args[EMBED_CONTEXT].u.i : 0;
    if (s.position == FE_POS_LEARNED && !c->given[EMBED_CONTEXT])
        return fe_call_error(c, -1, "embed: position = learned needs a context: pass context = N or assign "
                                    "'context' in the model");
    if (c->given[EMBED_CONTEXT] && T > s.context) {
        if (!c->written[EMBED_CONTEXT]) /* the model's context: the fix is seq, in the train block */
            return fe_lower_seq_exceeds(c->L, T, s.context);
        return fe_call_error(c, EMBED_CONTEXT, "embed: the sequence length %lld exceeds context = %lld",
                             (long long)T, (long long)s.context);
    }
    const char *tok_site = fe_call_site(c, "tok_emb", EMBED_NAME);
    const char *pos_site = s.position == FE_POS_LEARNED ? fe_call_site(c, "pos_emb", -1) : "";
    if (!tok_site || !pos_site) return false;
    fb = fe_call_build(c, tok_site);
    IrId table;
    IrId y = fe_build_embed(fb, ids, &s, tok_site, pos_site, &table);
    if (!fe_call_result(c, y, out)) return false;
    fe_lower_set_tok_emb(c->L, table);
    return true;
}

const FeBuiltin fe_builtin_embed = {"embed", embed_fn, embed_args, EMBED_N, FE_IN_MODEL};

enum { HEAD_X, HEAD_TIED, HEAD_VOCAB, HEAD_BIAS, HEAD_NAME, HEAD_N };
static const FeArgSpec lm_head_args[HEAD_N] = {
    [HEAD_X] = {.name = "x", .kind = FE_ARG_TENSOR},
    [HEAD_TIED] = {.name = "tied", .kind = FE_ARG_BOOL, .def = FE_DEF_BOOL, .num = 1},
    [HEAD_VOCAB] = {.name = "vocab", .kind = FE_ARG_SIZE, .def = FE_DEF_MODEL_NAME, .str = "vocab"},
    [HEAD_BIAS] = {.name = "bias", .kind = FE_ARG_BOOL, .def = FE_DEF_BOOL, .num = 0},
    [HEAD_NAME] = {.name = "name", .kind = FE_ARG_NAME, .def = FE_DEF_ABSENT},
};

static bool lm_head_fn(FeCall *c, FeValue *out) {
    if (!fe_call_check_tensor(c, HEAD_X, 2, 0, "[batch, seq, dim]")) return false;
    bool tied = c->args[HEAD_TIED].u.b;
    int64_t vocab = c->given[HEAD_VOCAB] ? c->args[HEAD_VOCAB].u.i : 0;
    IrId table = IR_ID_NONE;
    FeBuild *fb = fe_call_build(c, NULL);
    int64_t D = fe_type_dim(fb, c->args[HEAD_X].u.t, -1);
    if (tied) {
        table = fe_lower_tok_emb(c->L);
        if (table == IR_ID_NONE)
            return fe_call_error(c, HEAD_TIED, "lm_head: tied = true needs an embed(...) before it (or use "
                                               "tied = false)");
        const IrType *tt = &fb->b.g->nodes[table].type;
        if (vocab && tt->dims[0] != vocab)
            return fe_call_error(c, HEAD_VOCAB, "lm_head: vocab = %lld but the tied embedding has %lld rows",
                                 (long long)vocab, (long long)tt->dims[0]);
        if (tt->dims[1] != D)
            return fe_call_error(c, HEAD_X, "lm_head: x has dim %lld but the tied embedding has dim %lld",
                                 (long long)D, (long long)tt->dims[1]);
    } else if (!vocab) {
        return fe_call_error(c, -1, "lm_head: an untied head needs a vocab: pass vocab = N or assign 'vocab' "
                                    "in the model");
    }
    const char *site = fe_call_site(c, "lm_head", HEAD_NAME);
    if (!site) return false;
    fb = fe_call_build(c, site);
    return fe_call_result(c, fe_build_lm_head(fb, c->args[HEAD_X].u.t, table, vocab, c->args[HEAD_BIAS].u.b, site),
                          out);
}

const FeBuiltin fe_builtin_lm_head = {"lm_head", lm_head_fn, lm_head_args, HEAD_N, FE_IN_MODEL};

enum { XENT_LOGITS, XENT_TARGETS, XENT_N };
static const FeArgSpec cross_entropy_args[XENT_N] = {
    [XENT_LOGITS] = {.name = "logits", .kind = FE_ARG_TENSOR},
    [XENT_TARGETS] = {.name = "targets", .kind = FE_ARG_TENSOR},
};

static bool cross_entropy_fn(FeCall *c, FeValue *out) {
    if (!fe_call_check_tensor(c, XENT_LOGITS, 2, 0, "[batch, seq, vocab]")) return false;
    FeBuild *fb = fe_call_build(c, NULL);
    const IrType *tt = &fb->b.g->nodes[c->args[XENT_TARGETS].u.t].type;
    if (tt->dtype != IR_DTYPE_I32) {
        char ts[IR_TYPE_STR_MAX];
        return fe_call_error(c, XENT_TARGETS, "argument 'targets' of cross_entropy must be an i32 tensor of "
                                              "token ids, got %s", ir_type_format(tt, ts, sizeof ts));
    }
    return fe_call_result(c, fe_build_cross_entropy(fb, c->args[XENT_LOGITS].u.t, c->args[XENT_TARGETS].u.t),
                          out);
}

const FeBuiltin fe_builtin_cross_entropy = {"cross_entropy", cross_entropy_fn, cross_entropy_args, XENT_N,
                                            FE_IN_MODEL};
