/* frontend/builtin_mlp.c — the feed-forward block and its activations: ReLU (max with
 * 0), GeLU (GPT-2's tanh approximation) and SwiGLU (silu(x w1) * (x w3)).
 *
 * The activations are shared with the MoE experts (builtin_moe.c), which run the same
 * computation batched over experts.
 */
#include "frontend_int.h"

#include <math.h>
#include <string.h>

#define FE_PI 3.14159265358979323846 /* M_PI is not in strict C11 + POSIX */

static const char *const act_names[FE_ACT_COUNT] = {
    [FE_ACT_INVALID] = "?", [FE_ACT_RELU] = "relu", [FE_ACT_GELU] = "gelu", [FE_ACT_SWIGLU] = "swiglu"};

const char *fe_act_name(FeAct a) { return a > FE_ACT_INVALID && a < FE_ACT_COUNT ? act_names[a] : "?"; }

FeAct fe_act_from_name(const char *s) {
    for (int a = FE_ACT_INVALID + 1; a < FE_ACT_COUNT; a++)
        if (strcmp(act_names[a], s) == 0) return (FeAct)a;
    return FE_ACT_INVALID;
}

/* --- composites ---------------------------------------------------------------------- */

IrId fe_build_relu(FeBuild *fb, IrId x) { return ir_build_binary(&fb->b, IR_OP_MAX, x, fe_build_full(fb, 0.0, x)); }

/* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
IrId fe_build_gelu(FeBuild *fb, IrId x) {
    IrBuilder *b = &fb->b;
    IrId x3 = ir_build_binary(b, IR_OP_MUL, ir_build_binary(b, IR_OP_MUL, x, x), x);
    IrId inner = ir_build_binary(b, IR_OP_ADD, x, ir_build_binary(b, IR_OP_MUL, fe_build_full(fb, 0.044715, x), x3));
    IrId t = ir_build_unary(b, IR_OP_TANH,
                            ir_build_binary(b, IR_OP_MUL, fe_build_full(fb, sqrt(2.0 / FE_PI), x), inner));
    IrId half_x = ir_build_binary(b, IR_OP_MUL, fe_build_full(fb, 0.5, x), x);
    return ir_build_binary(b, IR_OP_MUL, half_x, ir_build_binary(b, IR_OP_ADD, fe_build_full(fb, 1.0, x), t));
}

/* z * sigmoid(z) = z / (1 + exp(-z)) */
IrId fe_build_silu(FeBuild *fb, IrId x) {
    IrBuilder *b = &fb->b;
    IrId e = ir_build_unary(b, IR_OP_EXP, ir_build_unary(b, IR_OP_NEG, x));
    IrId sig = ir_build_unary(b, IR_OP_RECIP, ir_build_binary(b, IR_OP_ADD, fe_build_full(fb, 1.0, x), e));
    return ir_build_binary(b, IR_OP_MUL, x, sig);
}

IrId fe_build_act(FeBuild *fb, FeAct act, IrId h1, IrId h3) {
    switch (act) {
    case FE_ACT_RELU: return fe_build_relu(fb, h1);
    case FE_ACT_GELU: return fe_build_gelu(fb, h1);
    case FE_ACT_SWIGLU: return ir_build_binary(&fb->b, IR_OP_MUL, fe_build_silu(fb, h1), h3);
    case FE_ACT_INVALID:
    case FE_ACT_COUNT: break;
    }
    llmc_err_set(&fb->b.err, "unknown activation %d", (int)act);
    return IR_ID_NONE;
}

IrId fe_build_mlp(FeBuild *fb, IrId x, const FeMlpSpec *s, const char *site) {
    IrBuilder *b = &fb->b;
    if (x == IR_ID_NONE) return IR_ID_NONE;
    const IrType xt = b->g->nodes[x].type;
    if (xt.rank < 2 || xt.dtype != fb->dt || s->hidden < 1) {
        char ts[IR_TYPE_STR_MAX];
        llmc_err_set(&b->err, "needs x %s [.., dim] (rank >= 2) and hidden >= 1, got %s and hidden = %lld",
                     ir_dtype_name(fb->dt), ir_type_format(&xt, ts, sizeof ts), (long long)s->hidden);
        return IR_ID_NONE;
    }
    ir_builder_set_scope(b, site);
    int64_t D = xt.dims[xt.rank - 1], Hd = s->hidden;
    bool gated = s->act == FE_ACT_SWIGLU;
    IrId w1 = fe_build_param(fb, fe_build_name(fb, site, "w1"), 2, (int64_t[]){D, Hd}, FE_INIT_NORMAL);
    IrId w2 = fe_build_param(fb, fe_build_name(fb, site, "w2"), 2, (int64_t[]){Hd, D}, FE_INIT_RESIDUAL);
    IrId w3 = gated ? fe_build_param(fb, fe_build_name(fb, site, "w3"), 2, (int64_t[]){D, Hd}, FE_INIT_NORMAL)
                    : IR_ID_NONE;
    IrId b1 = IR_ID_NONE, b2 = IR_ID_NONE, b3 = IR_ID_NONE;
    if (s->bias) {
        b1 = fe_build_param(fb, fe_build_name(fb, site, "b1"), 1, &Hd, FE_INIT_ZEROS);
        b2 = fe_build_param(fb, fe_build_name(fb, site, "b2"), 1, &D, FE_INIT_ZEROS);
        if (gated) b3 = fe_build_param(fb, fe_build_name(fb, site, "b3"), 1, &Hd, FE_INIT_ZEROS);
        if (b1 == IR_ID_NONE || b2 == IR_ID_NONE || (gated && b3 == IR_ID_NONE)) return IR_ID_NONE;
    }
    IrId h1 = fe_build_linear(fb, x, w1, b1);                         /* [.., Hd] */
    IrId h3 = gated ? fe_build_linear(fb, x, w3, b3) : IR_ID_NONE;    /* [.., Hd] */
    return fe_build_linear(fb, fe_build_act(fb, s->act, h1, h3), w2, b2); /* [.., D] */
}

/* --- handler ------------------------------------------------------------------------- */

const char *const fe_act_option_names[] = {"relu", "gelu", "swiglu", NULL};

enum { MLP_X, MLP_HIDDEN, MLP_ACT, MLP_BIAS, MLP_NAME, MLP_N };
static const FeArgSpec mlp_args[MLP_N] = {
    [MLP_X] = {.name = "x", .kind = FE_ARG_TENSOR},
    [MLP_HIDDEN] = {.name = "hidden", .kind = FE_ARG_SIZE},
    [MLP_ACT] =
        {.name = "act", .kind = FE_ARG_OPTION, .def = FE_DEF_SYMBOL, .str = "relu", .options = fe_act_option_names},
    [MLP_BIAS] = {.name = "bias", .kind = FE_ARG_BOOL, .def = FE_DEF_BOOL, .num = 0},
    [MLP_NAME] = {.name = "name", .kind = FE_ARG_NAME, .def = FE_DEF_ABSENT},
};

static bool mlp_fn(FeCall *c, FeValue *out) {
    if (!fe_call_check_tensor(c, MLP_X, 2, 0, "[batch, seq, dim]")) return false;
    FeMlpSpec s = {.hidden = c->args[MLP_HIDDEN].u.i,
                   .act = fe_act_from_name(fe_option_name(&c->args[MLP_ACT])),
                   .bias = c->args[MLP_BIAS].u.b};
    const char *site = fe_call_site(c, "mlp", MLP_NAME);
    if (!site) return false;
    FeBuild *fb = fe_call_build(c, site);
    return fe_call_result(c, fe_build_mlp(fb, c->args[MLP_X].u.t, &s, site), out);
}

const FeBuiltin fe_builtin_mlp = {"mlp", mlp_fn, mlp_args, MLP_N, FE_IN_MODEL};
