/* frontend/builtin_norm.c — layernorm, rmsnorm and dropout.
 *
 * Norms work over the last axis with statistics in the input dtype, from reduce_sum,
 * mul, rsqrt and broadcast only. Dropout draws rand(seed, step, micro) keyed by its
 * scope name, so the mask is the same wherever the graph is recomputed or sharded.
 * Not here: any notion of an evaluation mode (the forward graph is the training one).
 */
#include "frontend_int.h"

/* --- composites ---------------------------------------------------------------------- */

/* mean over the last axis, kept as a size-1 axis: sum * (1/D). */
static IrId mean_last(FeBuild *fb, IrId x) {
    IrId s = ir_build_reduce(&fb->b, IR_OP_REDUCE_SUM, x, -1, true);
    return ir_build_binary_bcast(&fb->b, IR_OP_MUL, s, fe_build_scalar(fb, 1.0 / (double)fe_type_dim(fb, x, -1)));
}

static bool check_norm_input(FeBuild *fb, IrId x) {
    if (x == IR_ID_NONE) return false;
    const IrType *t = &fb->b.g->nodes[x].type;
    if (t->rank < 1 || t->dtype != fb->dt) {
        char ts[IR_TYPE_STR_MAX];
        llmc_err_set(&fb->b.err, "needs a %s tensor of rank >= 1, got %s", ir_dtype_name(fb->dt),
                     ir_type_format(t, ts, sizeof ts));
        return false;
    }
    return true;
}

IrId fe_build_layernorm(FeBuild *fb, IrId x, double eps, bool bias, const char *site) {
    IrBuilder *b = &fb->b;
    if (!check_norm_input(fb, x)) return IR_ID_NONE;
    ir_builder_set_scope(b, site);
    int64_t D = fe_type_dim(fb, x, -1);
    IrId gain = fe_build_param(fb, fe_build_name(fb, site, "gain"), 1, &D, FE_INIT_ONES); /* [D] */
    IrId beta = bias ? fe_build_param(fb, fe_build_name(fb, site, "bias"), 1, &D, FE_INIT_ZEROS) : IR_ID_NONE;
    IrId mean = mean_last(fb, x);                                                /* [.., 1] */
    IrId xc = ir_build_binary_bcast(b, IR_OP_SUB, x, mean);                      /* [.., D] */
    IrId var = mean_last(fb, ir_build_binary(b, IR_OP_MUL, xc, xc));             /* [.., 1] */
    IrId r = ir_build_unary(b, IR_OP_RSQRT, ir_build_binary_bcast(b, IR_OP_ADD, var, fe_build_scalar(fb, eps)));
    IrId y = ir_build_binary_bcast(b, IR_OP_MUL, xc, r);
    y = ir_build_binary_bcast(b, IR_OP_MUL, y, gain);
    if (bias) y = beta == IR_ID_NONE ? IR_ID_NONE : ir_build_binary_bcast(b, IR_OP_ADD, y, beta);
    return y;
}

IrId fe_build_rmsnorm(FeBuild *fb, IrId x, double eps, const char *site) {
    IrBuilder *b = &fb->b;
    if (!check_norm_input(fb, x)) return IR_ID_NONE;
    ir_builder_set_scope(b, site);
    int64_t D = fe_type_dim(fb, x, -1);
    IrId gain = fe_build_param(fb, fe_build_name(fb, site, "gain"), 1, &D, FE_INIT_ONES); /* [D] */
    IrId ms = mean_last(fb, ir_build_binary(b, IR_OP_MUL, x, x));                       /* [.., 1] */
    IrId r = ir_build_unary(b, IR_OP_RSQRT, ir_build_binary_bcast(b, IR_OP_ADD, ms, fe_build_scalar(fb, eps)));
    IrId y = ir_build_binary_bcast(b, IR_OP_MUL, x, r);
    return ir_build_binary_bcast(b, IR_OP_MUL, y, gain);
}

IrId fe_build_dropout(FeBuild *fb, IrId x, double p, const char *site) {
    if (x == IR_ID_NONE) return IR_ID_NONE;
    if (!(p >= 0 && p < 1)) {
        llmc_err_set(&fb->b.err, "p must be in [0, 1), got %g", p);
        return IR_ID_NONE;
    }
    if (p == 0 || fb->infer) return x; /* inference: dropout off */
    IrBuilder *b = &fb->b;
    ir_builder_set_scope(b, site);
    IrId r = fe_build_rand_like(fb, x, site);                            /* uniform [0, 1) */
    IrId dropped = ir_build_binary(b, IR_OP_CMPLT, r, fe_build_full(fb, p, r)); /* 1 where rand < p */
    IrId kept = ir_build_binary(b, IR_OP_MUL, x, fe_build_full(fb, 1.0 / (1.0 - p), x));
    return ir_build_select(b, dropped, fe_build_full(fb, 0.0, x), kept);
}

/* --- handlers ------------------------------------------------------------------------ */

enum { LN_X, LN_EPS, LN_BIAS, LN_NAME, LN_N };
static const FeArgSpec layernorm_args[LN_N] = {
    [LN_X] = {.name = "x", .kind = FE_ARG_TENSOR},
    [LN_EPS] = {.name = "eps", .kind = FE_ARG_NUMBER, .def = FE_DEF_NUMBER, .num = 1e-5},
    [LN_BIAS] = {.name = "bias", .kind = FE_ARG_BOOL, .def = FE_DEF_BOOL, .num = 1},
    [LN_NAME] = {.name = "name", .kind = FE_ARG_NAME, .def = FE_DEF_ABSENT},
};

static bool check_eps(FeCall *c, int arg) {
    double eps = c->args[arg].u.f;
    if (!(eps > 0)) return fe_call_error(c, arg, "argument 'eps' of %s must be > 0, got %g", c->bi->name, eps);
    return true;
}

static bool layernorm_fn(FeCall *c, FeValue *out) {
    if (!fe_call_check_tensor(c, LN_X, 1, 0, "[.., dim]") || !check_eps(c, LN_EPS)) return false;
    const char *site = fe_call_site(c, "ln", LN_NAME);
    if (!site) return false;
    FeBuild *fb = fe_call_build(c, site);
    return fe_call_result(c, fe_build_layernorm(fb, c->args[LN_X].u.t, c->args[LN_EPS].u.f, c->args[LN_BIAS].u.b, site),
                          out);
}

const FeBuiltin fe_builtin_layernorm = {"layernorm", layernorm_fn, layernorm_args, LN_N, FE_IN_MODEL};

enum { RMS_X, RMS_EPS, RMS_NAME, RMS_N };
static const FeArgSpec rmsnorm_args[RMS_N] = {
    [RMS_X] = {.name = "x", .kind = FE_ARG_TENSOR},
    [RMS_EPS] = {.name = "eps", .kind = FE_ARG_NUMBER, .def = FE_DEF_NUMBER, .num = 1e-6},
    [RMS_NAME] = {.name = "name", .kind = FE_ARG_NAME, .def = FE_DEF_ABSENT},
};

static bool rmsnorm_fn(FeCall *c, FeValue *out) {
    if (!fe_call_check_tensor(c, RMS_X, 1, 0, "[.., dim]") || !check_eps(c, RMS_EPS)) return false;
    const char *site = fe_call_site(c, "norm", RMS_NAME);
    if (!site) return false;
    FeBuild *fb = fe_call_build(c, site);
    return fe_call_result(c, fe_build_rmsnorm(fb, c->args[RMS_X].u.t, c->args[RMS_EPS].u.f, site), out);
}

const FeBuiltin fe_builtin_rmsnorm = {"rmsnorm", rmsnorm_fn, rmsnorm_args, RMS_N, FE_IN_MODEL};

enum { DROP_X, DROP_P, DROP_NAME, DROP_N };
static const FeArgSpec dropout_args[DROP_N] = {
    [DROP_X] = {.name = "x", .kind = FE_ARG_TENSOR},
    [DROP_P] = {.name = "p", .kind = FE_ARG_NUMBER},
    [DROP_NAME] = {.name = "name", .kind = FE_ARG_NAME, .def = FE_DEF_ABSENT},
};

static bool dropout_fn(FeCall *c, FeValue *out) {
    if (!fe_call_check_tensor(c, DROP_X, 0, 0, "of any shape")) return false;
    double p = c->args[DROP_P].u.f;
    if (!(p >= 0 && p < 1)) return fe_call_error(c, DROP_P, "argument 'p' of dropout must be in [0, 1), got %g", p);
    /* A dropout is a site too (without parameters): its scope name keys its rand. */
    const char *site = fe_call_site(c, "dropout", DROP_NAME);
    if (!site) return false;
    FeBuild *fb = fe_call_build(c, site);
    return fe_call_result(c, fe_build_dropout(fb, c->args[DROP_X].u.t, p, site), out);
}

const FeBuiltin fe_builtin_dropout = {"dropout", dropout_fn, dropout_args, DROP_N, FE_IN_MODEL};
