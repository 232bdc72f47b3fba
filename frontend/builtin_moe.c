/* frontend/builtin_moe.c — the mixture-of-experts feed-forward layer (docs/llm.md
 * "Mixture of experts"): softmax router, top-k with renormalized gates, static
 * capacity-limited dispatch, experts as batched matmuls over E, weighted combine, the
 * dropped-assignment count, the Switch load-balancing loss and the router z-loss.
 *
 * Everything is static-shaped primitives, per micro-batch of N = B*T tokens:
 *   assignments a = j*N + n (choice slot j, token n) — all first choices first;
 *   position(a) = exclusive cumsum over a of onehot(expert(a)), read at expert(a);
 *   slot(a)     = expert(a)*C + position(a) if position(a) < C, else the trash slot E*C;
 *   dispatch:  src[slot] = token via scatter_add (empty slots point at a zero row N),
 *              expert input [E, C, D] = gather(concat(x, 0), src);
 *   combine:   y[token(a)] += gate(a) * out[slot(a)] via gather + scatter_add, with
 *              out extended by a zero row at E*C so dropped assignments add nothing.
 * No [N, E*C] one-hot dispatch matrix: that would be quadratic in N.
 * Under precision = bf16 the experts are dense bf16 matmuls (fe_build_dense_matmul, the
 * stacked weights cast once per stack); the router, softmax, top-k, gates, dispatch,
 * combine and the losses stay f32 (see the router below).
 */
#include "frontend_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t fe_moe_capacity(double capacity_factor, int64_t k, int64_t n, int64_t experts) {
    if (!(capacity_factor > 0) || k < 1 || n < 1 || experts < 1) return 1;
    double c = capacity_factor * (double)k * (double)n / (double)experts;
    /* A product that is an integer in exact arithmetic may land a hair above it. */
    double r = ceil(c - 1e-9 * c);
    if (r < 1) r = 1;
    if (r > (double)n) r = (double)n; /* an expert gets at most one assignment per token */
    return (int64_t)r;
}

/* The E per-expert parameters [r0, r1] (or [r0]) stacked into [E, r0, r1] (or [E, 1, r0],
 * ready to broadcast over the C slots). */
static IrId stack(FeBuild *fb, const IrId *w, int64_t E, int64_t r0, int64_t r1) {
    IrId *parts = llmc_xmalloc((size_t)E * sizeof *parts);
    for (int64_t e = 0; e < E; e++)
        parts[e] = r1 ? ir_build_reshape(&fb->b, w[e], 3, (int64_t[]){1, r0, r1})
                      : ir_build_reshape(&fb->b, w[e], 3, (int64_t[]){1, 1, r0});
    IrId s = ir_build_concat(&fb->b, parts, (uint32_t)E, 0);
    free(parts);
    return s;
}

/* An i32 scalar broadcast to x's shape. */
static IrId full_i32(FeBuild *fb, double v, IrId like) {
    if (like == IR_ID_NONE) return IR_ID_NONE;
    const IrType t = fb->b.g->nodes[like].type; /* a copy: building reallocates nodes */
    return ir_build_broadcast_to(&fb->b, ir_build_scalar(&fb->b, IR_DTYPE_I32, v), t.rank, t.dims);
}

bool fe_build_moe(FeBuild *fb, IrId x, const FeMoeSpec *s, const char *site, FeMoeResult *out) {
    IrBuilder *b = &fb->b;
    out->y = out->aux_loss = out->z_loss = out->dropped = IR_ID_NONE;
    out->capacity = 0;
    if (x == IR_ID_NONE) return false;
    const IrType xt = b->g->nodes[x].type;
    int64_t E = s->experts, k = s->top_k, Hd = s->hidden;
    if (xt.rank < 2 || xt.dtype != fb->dt || E < 1 || k < 1 || k > E || Hd < 1 || !(s->capacity_factor > 0) ||
        s->act <= FE_ACT_INVALID || s->act >= FE_ACT_COUNT) {
        char ts[IR_TYPE_STR_MAX];
        llmc_err_set(&b->err, "needs x [.., dim] of rank >= 2, 1 <= top_k <= experts, hidden >= 1 and "
                              "capacity_factor > 0; got x %s, experts = %lld, top_k = %lld, hidden = %lld, "
                              "capacity_factor = %g",
                     ir_type_format(&xt, ts, sizeof ts), (long long)E, (long long)k, (long long)Hd,
                     s->capacity_factor);
        return false;
    }
    int64_t D = xt.dims[xt.rank - 1], N = ir_type_numel(&xt) / D;
    int64_t C = fe_moe_capacity(s->capacity_factor, k, N, E), KN = k * N, EC = E * C;
    if (E > (int64_t)1 << 20 || EC + 1 > INT32_MAX || KN > INT32_MAX) {
        llmc_err_set(&b->err, "experts * capacity is too large for i32 indices");
        return false;
    }
    out->capacity = C;
    ir_builder_set_scope(b, site);
    bool gated = s->act == FE_ACT_SWIGLU;

    /* Parameters: the router, then expert by expert w1, w2, (w3), (b1, b2, (b3)). */
    IrId router = fe_build_param(fb, fe_build_name(fb, site, "router"), 2, (int64_t[]){D, E}, FE_INIT_NORMAL);
    IrId *w = llmc_xcalloc((size_t)(6 * E), sizeof *w); /* [6][E]: w1 w2 w3 b1 b2 b3 */
    IrId *w1 = w, *w2 = w + E, *w3 = w + 2 * E, *b1 = w + 3 * E, *b2 = w + 4 * E, *b3 = w + 5 * E;
    bool params_ok = router != IR_ID_NONE;
    for (int64_t e = 0; e < E && params_ok; e++) {
        char pre[64];
        snprintf(pre, sizeof pre, "experts.%lld", (long long)e);
        const char *ex = fe_build_name(fb, site, pre);
        w1[e] = fe_build_param(fb, fe_build_name(fb, ex, "w1"), 2, (int64_t[]){D, Hd}, FE_INIT_NORMAL);
        w2[e] = fe_build_param(fb, fe_build_name(fb, ex, "w2"), 2, (int64_t[]){Hd, D}, FE_INIT_RESIDUAL);
        if (gated) w3[e] = fe_build_param(fb, fe_build_name(fb, ex, "w3"), 2, (int64_t[]){D, Hd}, FE_INIT_NORMAL);
        if (s->bias) {
            b1[e] = fe_build_param(fb, fe_build_name(fb, ex, "b1"), 1, &Hd, FE_INIT_ZEROS);
            b2[e] = fe_build_param(fb, fe_build_name(fb, ex, "b2"), 1, &D, FE_INIT_ZEROS);
            if (gated) b3[e] = fe_build_param(fb, fe_build_name(fb, ex, "b3"), 1, &Hd, FE_INIT_ZEROS);
        }
        params_ok = ir_builder_ok(b);
    }
    if (!params_ok) {
        free(w);
        return false;
    }
    IrId w1s = stack(fb, w1, E, D, Hd), w2s = stack(fb, w2, E, Hd, D);  /* [E, D, Hd], [E, Hd, D] */
    IrId w3s = gated ? stack(fb, w3, E, D, Hd) : IR_ID_NONE;
    IrId b1s = s->bias ? stack(fb, b1, E, Hd, 0) : IR_ID_NONE;           /* [E, 1, Hd] */
    IrId b2s = s->bias ? stack(fb, b2, E, D, 0) : IR_ID_NONE;            /* [E, 1, D] */
    IrId b3s = s->bias && gated ? stack(fb, b3, E, Hd, 0) : IR_ID_NONE;
    free(w);

    /* 1-2. router, top-k, renormalized gates */
    IrId xf = ir_build_reshape(b, x, 2, (int64_t[]){N, D});                /* [N, D] */
    /* The router stays in fb->dt (f32) under precision = bf16: bf16 logits flip near-tied
     * routing decisions, and these discrete flips make training diverge from f32's
     * (Switch Transformer's "selective precision" casts the router to f32 for this). */
    IrId logits = ir_build_matmul(b, xf, router, false, false);            /* [N, E] */
    IrId probs = fe_build_softmax(fb, logits);                             /* [N, E] */
    IrId top = ir_build_topk(b, probs, k);                                 /* i32 [N, k] */
    IrId gp = ir_build_gather(b, probs, top, 1, 1);                        /* [N, k] */
    /* Renormalized over the k chosen (Mixtral) when k > 1. With k = 1 that would make
     * every gate exactly 1 and starve the router of gradient from the task loss, so
     * top-1 keeps the raw probability, as Switch Transformer does. */
    IrId gates = k > 1 ? ir_build_binary_bcast(b, IR_OP_DIV, gp, ir_build_reduce(b, IR_OP_REDUCE_SUM, gp, 1, true))
                       : gp;

    /* 3. positions, slot-major: assignment a = j*N + n */
    IrId ea = ir_build_reshape(b, ir_build_permute(b, top, 2, (int64_t[]){1, 0}), 1, &KN); /* i32 [kN] */
    IrId oh = ir_build_onehot(b, ea, E, fb->dt);                                          /* [kN, E] */
    IrId before = ir_build_cumsum(b, oh, 0, true, false);                                 /* [kN, E] */
    IrId pos = ir_build_reduce(b, IR_OP_REDUCE_SUM, ir_build_binary(b, IR_OP_MUL, before, oh), 1, false); /* [kN] */
    IrId kept = ir_build_binary(b, IR_OP_CMPLT, pos, fe_build_full(fb, (double)C, pos));   /* 1 = kept: [kN] */
    IrId slot = ir_build_binary(b, IR_OP_ADD, ir_build_binary(b, IR_OP_MUL, ea, full_i32(fb, (double)C, ea)),
                                ir_build_cast(b, pos, IR_DTYPE_I32));
    slot = ir_build_select(b, kept, slot, full_i32(fb, (double)EC, slot));                /* i32 [kN], trash E*C */
    IrId tok = ir_build_reshape(b, ir_build_iota(b, ir_type_make(IR_DTYPE_I32, 2, (int64_t[]){k, N}), 1), 1, &KN);

    /* 4. dispatch: per slot its source token (N = empty -> the zero row) */
    IrId src = ir_build_scatter_add(b, ir_type_make(IR_DTYPE_I32, 1, (int64_t[]){EC + 1}), slot,
                                    ir_build_binary(b, IR_OP_SUB, tok, full_i32(fb, (double)N, tok)), 0, 0);
    src = ir_build_slice(b, src, (int64_t[]){0}, (int64_t[]){EC}, NULL);
    src = ir_build_binary(b, IR_OP_ADD, src, full_i32(fb, (double)N, src));                /* i32 [E*C] */
    IrId zrow_d = ir_build_const(b, ir_type_make(fb->dt, 2, (int64_t[]){1, D}), (double[]){0.0}, 1);
    IrId xz = ir_build_concat(b, (IrId[]){xf, zrow_d}, 2, 0);                             /* [N+1, D] */
    IrId xe = ir_build_reshape(b, ir_build_gather(b, xz, src, 0, 0), 3, (int64_t[]){E, C, D}); /* [E, C, D] */

    /* experts, batched over E */
    IrId h1 = fe_build_dense_matmul(fb, xe, w1s, false);                   /* [E, C, Hd] */
    if (s->bias) h1 = ir_build_binary_bcast(b, IR_OP_ADD, h1, b1s);
    IrId h3 = IR_ID_NONE;
    if (gated) {
        h3 = fe_build_dense_matmul(fb, xe, w3s, false);
        if (s->bias) h3 = ir_build_binary_bcast(b, IR_OP_ADD, h3, b3s);
    }
    IrId ye = fe_build_dense_matmul(fb, fe_build_act(fb, s->act, h1, h3), w2s, false); /* [E, C, D] */
    if (s->bias) ye = ir_build_binary_bcast(b, IR_OP_ADD, ye, b2s);

    /* combine: y[token] += gate * out[slot] */
    IrId yz =
        ir_build_concat(b, (IrId[]){ir_build_reshape(b, ye, 2, (int64_t[]){EC, D}), zrow_d}, 2, 0); /* [E*C+1, D] */
    IrId contrib = ir_build_gather(b, yz, slot, 0, 0);                                    /* [kN, D] */
    IrId ga = ir_build_reshape(b, ir_build_permute(b, gates, 2, (int64_t[]){1, 0}), 1, &KN); /* [kN] */
    contrib = ir_build_binary(b, IR_OP_MUL, contrib,
                              ir_build_broadcast(b, ga, 2, (int64_t[]){KN, D}, (int64_t[]){0}));
    IrId y = ir_build_scatter_add(b, ir_type_make(fb->dt, 2, (int64_t[]){N, D}), tok, contrib, 0, 0); /* [N, D] */
    out->y = ir_build_reshape(b, y, xt.rank, xt.dims);

    /* 5. statistics and losses */
    IrId n_kept = ir_build_reduce(b, IR_OP_REDUCE_SUM, kept, 0, false);
    out->dropped = ir_build_binary(b, IR_OP_SUB, fe_build_scalar(fb, (double)KN), n_kept);
    IrId f = ir_build_binary_bcast(b, IR_OP_MUL, ir_build_reduce(b, IR_OP_REDUCE_SUM, oh, 0, false),
                                   fe_build_scalar(fb, 1.0 / (double)KN));               /* [E] before dropping */
    IrId P = ir_build_binary_bcast(b, IR_OP_MUL, ir_build_reduce(b, IR_OP_REDUCE_SUM, probs, 0, false),
                                   fe_build_scalar(fb, 1.0 / (double)N));                /* [E] */
    IrId fp = ir_build_reduce(b, IR_OP_REDUCE_SUM, ir_build_binary(b, IR_OP_MUL, f, P), 0, false);
    out->aux_loss = ir_build_binary(b, IR_OP_MUL, fe_build_scalar(fb, s->aux_loss * (double)E), fp);
    IrId lse = fe_build_logsumexp(fb, logits);                                            /* [N] */
    out->z_loss = ir_build_binary(b, IR_OP_MUL, fe_build_scalar(fb, s->z_loss),
                                  fe_build_mean_all(fb, ir_build_binary(b, IR_OP_MUL, lse, lse)));
    return ir_builder_ok(b) && out->y != IR_ID_NONE && out->aux_loss != IR_ID_NONE && out->z_loss != IR_ID_NONE &&
           out->dropped != IR_ID_NONE;
}

/* --- handler ------------------------------------------------------------------------- */

enum { MOE_X, MOE_EXPERTS, MOE_TOP_K, MOE_HIDDEN, MOE_ACT, MOE_CF, MOE_AUX, MOE_Z, MOE_BIAS, MOE_NAME, MOE_N };
static const FeArgSpec moe_args[MOE_N] = {
    [MOE_X] = {.name = "x", .kind = FE_ARG_TENSOR},
    [MOE_EXPERTS] = {.name = "experts", .kind = FE_ARG_SIZE},
    [MOE_TOP_K] = {.name = "top_k", .kind = FE_ARG_SIZE},
    [MOE_HIDDEN] = {.name = "hidden", .kind = FE_ARG_SIZE},
    [MOE_ACT] = {.name = "act", .kind = FE_ARG_OPTION, .def = FE_DEF_SYMBOL, .str = "swiglu",
                 .options = fe_act_option_names},
    [MOE_CF] = {.name = "capacity_factor", .kind = FE_ARG_NUMBER, .def = FE_DEF_NUMBER, .num = 1.25},
    [MOE_AUX] = {.name = "aux_loss", .kind = FE_ARG_NUMBER, .def = FE_DEF_NUMBER, .num = 0.01},
    [MOE_Z] = {.name = "z_loss", .kind = FE_ARG_NUMBER, .def = FE_DEF_NUMBER, .num = 0.001},
    [MOE_BIAS] = {.name = "bias", .kind = FE_ARG_BOOL, .def = FE_DEF_BOOL, .num = 0},
    [MOE_NAME] = {.name = "name", .kind = FE_ARG_NAME, .def = FE_DEF_ABSENT},
};

static bool moe_fn(FeCall *c, FeValue *out) {
    if (!fe_call_check_tensor(c, MOE_X, 2, 0, "[batch, seq, dim]")) return false;
    FeMoeSpec s = {
        .experts = c->args[MOE_EXPERTS].u.i,
        .top_k = c->args[MOE_TOP_K].u.i,
        .hidden = c->args[MOE_HIDDEN].u.i,
        .act = fe_act_from_name(fe_option_name(&c->args[MOE_ACT])),
        .capacity_factor = c->args[MOE_CF].u.f,
        .aux_loss = c->args[MOE_AUX].u.f,
        .z_loss = c->args[MOE_Z].u.f,
        .bias = c->args[MOE_BIAS].u.b,
    };
    bool ok = true;
    if (s.top_k > s.experts)
        ok = fe_call_error(c, MOE_TOP_K, "moe: top_k = %lld exceeds experts = %lld", (long long)s.top_k,
                           (long long)s.experts);
    if (!(s.capacity_factor > 0))
        ok = fe_call_error(c, MOE_CF, "argument 'capacity_factor' of moe must be > 0, got %g", s.capacity_factor);
    if (!(s.aux_loss >= 0))
        ok = fe_call_error(c, MOE_AUX, "argument 'aux_loss' of moe must be >= 0, got %g", s.aux_loss);
    if (!(s.z_loss >= 0)) ok = fe_call_error(c, MOE_Z, "argument 'z_loss' of moe must be >= 0, got %g", s.z_loss);
    if (!ok) return false;
    const char *site = fe_call_site(c, "moe", MOE_NAME);
    if (!site) return false;
    FeBuild *fb = fe_call_build(c, site);
    FeMoeResult r;
    fe_build_moe(fb, c->args[MOE_X].u.t, &s, site, &r);
    if (!fe_call_result(c, r.y, out)) return false;
    fe_lower_add_moe(c->L, &r);
    return true;
}

const FeBuiltin fe_builtin_moe = {"moe", moe_fn, moe_args, MOE_N, FE_IN_MODEL};
