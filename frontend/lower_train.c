/* frontend/lower_train.c — the train {} block: its settings, the option calls it uses
 * (adamw, sgd, constant, cosine, linear), and their lowering into the IrTrainConfig
 * record with every range check of docs/llm.md "The train block".
 *
 * decay_1d / decay_embeddings only widen where weight decay applies (compiler/train_step.c
 * decides which parameters are 1-D or embeddings).
 * The block itself is evaluated by lower.c like any other (arithmetic, if, repeat),
 * with assignments restricted to the settings below; this file reads the resulting
 * bindings. Each range error points at the value that breaks it (a setting, or an
 * argument inside an option call). A setting that fails keeps its default, so the
 * model block still lowers and reports its own errors in the same run.
 * Not here: seq <= context (the model decides context; lower.c checks it).
 */
#include "frontend_int.h"

#include <stdio.h>
#include <string.h>

/* --- option calls -------------------------------------------------------------------- */

enum { ADAMW_LR, ADAMW_BETAS, ADAMW_EPS, ADAMW_WD, ADAMW_N };
static const FeArgSpec adamw_args[ADAMW_N] = {
    [ADAMW_LR] = {.name = "lr", .kind = FE_ARG_NUMBER},
    [ADAMW_BETAS] = {.name = "betas", .kind = FE_ARG_PAIR, .def = FE_DEF_PAIR, .num = 0.9, .num2 = 0.95},
    [ADAMW_EPS] = {.name = "eps", .kind = FE_ARG_NUMBER, .def = FE_DEF_NUMBER, .num = 1e-8},
    [ADAMW_WD] = {.name = "weight_decay", .kind = FE_ARG_NUMBER, .def = FE_DEF_NUMBER, .num = 0.1},
};
const FeBuiltin fe_builtin_adamw = {"adamw", NULL, adamw_args, ADAMW_N, FE_IN_TRAIN};

enum { SGD_LR, SGD_MOMENTUM, SGD_N };
static const FeArgSpec sgd_args[SGD_N] = {
    [SGD_LR] = {.name = "lr", .kind = FE_ARG_NUMBER},
    [SGD_MOMENTUM] = {.name = "momentum", .kind = FE_ARG_NUMBER, .def = FE_DEF_NUMBER, .num = 0},
};
const FeBuiltin fe_builtin_sgd = {"sgd", NULL, sgd_args, SGD_N, FE_IN_TRAIN};

enum { SCHED_WARMUP, SCHED_MIN_LR, SCHED_N };
static const FeArgSpec schedule_args[SCHED_N] = {
    [SCHED_WARMUP] = {.name = "warmup", .kind = FE_ARG_INT, .def = FE_DEF_INT, .num = 0},
    [SCHED_MIN_LR] = {.name = "min_lr", .kind = FE_ARG_NUMBER, .def = FE_DEF_NUMBER, .num = 0},
};
const FeBuiltin fe_builtin_constant = {"constant", NULL, schedule_args, 1 /* warmup only */, FE_IN_TRAIN};
const FeBuiltin fe_builtin_cosine = {"cosine", NULL, schedule_args, SCHED_N, FE_IN_TRAIN};
const FeBuiltin fe_builtin_linear = {"linear", NULL, schedule_args, SCHED_N, FE_IN_TRAIN};

/* --- settings ------------------------------------------------------------------------ */

static const char *const optimizer_options[] = {"adamw", "sgd", NULL};
static const char *const schedule_options[] = {"constant", "cosine", "linear", NULL};
static const char *const remat_options[] = {"none", "layers", NULL};
static const char *const precision_options[] = {"fp32", "bf16", NULL};

enum {
    T_BATCH, T_SEQ, T_ACCUMULATE, T_STEPS, T_SEED, T_OPTIMIZER, T_SCHEDULE, T_CLIP, T_DECAY_1D, T_DECAY_EMB, T_REMAT,
    T_PRECISION, T_N
};
static const FeArgSpec settings[T_N] = {
    [T_BATCH] = {.name = "batch", .kind = FE_ARG_SIZE},
    [T_SEQ] = {.name = "seq", .kind = FE_ARG_SIZE},
    [T_ACCUMULATE] = {.name = "accumulate", .kind = FE_ARG_SIZE},
    [T_STEPS] = {.name = "steps", .kind = FE_ARG_SIZE},
    [T_SEED] = {.name = "seed", .kind = FE_ARG_INT},
    [T_OPTIMIZER] = {.name = "optimizer", .kind = FE_ARG_OPTION, .options = optimizer_options},
    [T_SCHEDULE] = {.name = "schedule", .kind = FE_ARG_OPTION, .options = schedule_options},
    [T_CLIP] = {.name = "clip_grad_norm", .kind = FE_ARG_NUMBER},
    [T_DECAY_1D] = {.name = "decay_1d", .kind = FE_ARG_BOOL},
    [T_DECAY_EMB] = {.name = "decay_embeddings", .kind = FE_ARG_BOOL},
    [T_REMAT] = {.name = "remat", .kind = FE_ARG_OPTION, .options = remat_options},
    [T_PRECISION] = {.name = "precision", .kind = FE_ARG_OPTION, .options = precision_options},
};

const FeArgSpec *fe_train_settings(uint32_t *n) {
    *n = T_N;
    return settings;
}

const FeArgSpec *fe_train_setting(const char *name) {
    for (int i = 0; i < T_N; i++)
        if (strcmp(settings[i].name, name) == 0) return &settings[i];
    return NULL;
}

/* --- lowering ------------------------------------------------------------------------ */

/* Reports "argument 'name' of spec <what> <v>" at that argument. */
static bool spec_error(FeLower *L, const FeSpec *s, const char *name, const char *what, double v) {
    return fe_lower_error(L, s->src, *fe_spec_loc(s, name), "argument '%s' of %s %s, got %g", name, s->bi->name, what,
                          v);
}

static double spec_num(const FeSpec *s, const char *name) { return fe_spec_arg(s, name)->u.f; }

bool fe_lower_train(FeLower *L, IrTrainConfig *t) {
    ir_train_defaults(t);
    t->seq = 0; /* not set: the model's context decides */
    bool ok = true;
    FeValue v[T_N];
    const FeBinding *b[T_N];
    for (int i = 0; i < T_N; i++) {
        b[i] = fe_lower_binding(L, settings[i].name);
        if (!b[i]) continue;
        v[i] = b[i]->v;
        char subject[64];
        snprintf(subject, sizeof subject, "train setting '%s'", settings[i].name);
        if (!fe_lower_check_value(L, &settings[i], &v[i], b[i]->src, b[i]->loc, subject)) {
            ok = false;
            b[i] = NULL; /* keeps its default */
        }
    }
    if (b[T_BATCH]) t->batch = v[T_BATCH].u.i;
    if (b[T_SEQ]) t->seq = v[T_SEQ].u.i;
    if (b[T_ACCUMULATE]) t->accumulate = v[T_ACCUMULATE].u.i;
    if (b[T_STEPS]) t->steps = v[T_STEPS].u.i;
    if (b[T_SEED]) {
        int64_t seed = v[T_SEED].u.i;
        if (seed < 0 || seed > (int64_t)UINT32_MAX)
            ok = fe_lower_error(L, b[T_SEED]->src, b[T_SEED]->loc,
                                "train setting 'seed' must be in [0, 2^32), got %lld", (long long)seed);
        else
            t->seed = seed;
    }
    if (b[T_OPTIMIZER]) {
        const FeSpec *s = v[T_OPTIMIZER].u.spec;
        double lr = spec_num(s, "lr");
        if (!(lr > 0)) ok = spec_error(L, s, "lr", "must be > 0", lr);
        else t->lr = lr;
        if (strcmp(s->bi->name, "adamw") == 0) {
            t->optimizer = IR_OPTIMIZER_ADAMW;
            const FeValue *betas = fe_spec_arg(s, "betas");
            double b1 = betas->u.tuple.items[0].u.f, b2 = betas->u.tuple.items[1].u.f;
            if (!(b1 >= 0 && b1 < 1)) ok = spec_error(L, s, "betas", "needs beta1 in [0, 1)", b1);
            else t->beta1 = b1;
            if (!(b2 >= 0 && b2 < 1)) ok = spec_error(L, s, "betas", "needs beta2 in [0, 1)", b2);
            else t->beta2 = b2;
            double eps = spec_num(s, "eps"), wd = spec_num(s, "weight_decay");
            if (!(eps > 0)) ok = spec_error(L, s, "eps", "must be > 0", eps);
            else t->eps = eps;
            if (!(wd >= 0)) ok = spec_error(L, s, "weight_decay", "must be >= 0", wd);
            else t->weight_decay = wd;
        } else {
            t->optimizer = IR_OPTIMIZER_SGD;
            t->weight_decay = 0; /* sgd() has no decay */
            double mom = spec_num(s, "momentum");
            if (!(mom >= 0 && mom < 1)) ok = spec_error(L, s, "momentum", "must be in [0, 1)", mom);
            else t->momentum = mom;
        }
    }
    if (b[T_SCHEDULE]) {
        const FeSpec *s = v[T_SCHEDULE].u.spec;
        const char *name = s->bi->name;
        t->schedule = strcmp(name, "cosine") == 0   ? IR_SCHEDULE_COSINE
                      : strcmp(name, "linear") == 0 ? IR_SCHEDULE_LINEAR
                                                    : IR_SCHEDULE_CONSTANT;
        int64_t warmup = fe_spec_arg(s, "warmup")->u.i;
        if (fe_lower_recipe_overridden(L, "warmup")) {
            /* -D warmup replaces it; checked against steps once applied */
        } else if (warmup < 0 || warmup > t->steps)
            ok = fe_lower_error(L, s->src, *fe_spec_loc(s, "warmup"), "argument 'warmup' of %s must be in [0, steps = "
                                "%lld], got %lld", name, (long long)t->steps, (long long)warmup);
        else
            t->warmup = warmup;
        const FeValue *min_lr = fe_spec_arg(s, "min_lr");
        if (min_lr && (fe_lower_recipe_overridden(L, "min_lr") || fe_lower_recipe_overridden(L, "lr"))) {
            t->min_lr = min_lr->u.f; /* a -D replaces it or lr: checked once applied */
        } else if (min_lr) {
            if (!(min_lr->u.f >= 0 && min_lr->u.f <= t->lr))
                ok = fe_lower_error(L, s->src, *fe_spec_loc(s, "min_lr"), "argument 'min_lr' of %s must be in [0, lr = "
                                    "%g], got %g", name, t->lr, min_lr->u.f);
            else
                t->min_lr = min_lr->u.f;
        }
    }
    if (b[T_CLIP]) {
        double clip = v[T_CLIP].u.f;
        if (!(clip >= 0))
            ok = fe_lower_error(L, b[T_CLIP]->src, b[T_CLIP]->loc, "train setting 'clip_grad_norm' must be >= 0 (0 = "
                                "off), got %g", clip);
        else
            t->clip_grad_norm = clip;
    }
    if (b[T_DECAY_1D]) t->decay_1d = v[T_DECAY_1D].u.b;
    if (b[T_DECAY_EMB]) t->decay_embeddings = v[T_DECAY_EMB].u.b;
    if (b[T_REMAT]) t->remat = strcmp(fe_option_name(&v[T_REMAT]), "layers") == 0 ? IR_REMAT_LAYERS : IR_REMAT_NONE;
    if (b[T_PRECISION])
        t->precision = strcmp(fe_option_name(&v[T_PRECISION]), "bf16") == 0 ? IR_TRAIN_BF16 : IR_TRAIN_FP32;
    /* The record's own check is the backstop: after the checks above it must pass. */
    IrTrainConfig probe = *t;
    if (probe.seq == 0) probe.seq = 1;
    LlmcErr err = {0};
    if (ok && !ir_train_check(&probe, &err)) {
        ok = fe_lower_error(L, NULL, (FeLoc){0, 0}, "internal error: the train record fails its check: %s", err.msg);
    }
    return ok;
}
