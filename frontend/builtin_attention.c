/* frontend/builtin_attention.c — causal self-attention with MHA / MQA / GQA and RoPE,
 * and the rope(theta) option.
 *
 * Layout (docs/llm.md): H query heads in K groups of G = H/K. Head h = k*G + g, so the
 * q projection's columns reshape to [B, T, K, G, hd]; q is laid out [B, K, G*T, hd]
 * against k, v [B, K, T, hd], and one op serves every query head of a group without
 * copying its K/V head. Row r of the scores is query position r % T.
 *
 * Two lowerings of the same formula:
 *   fused      one `attention` op (ops.def: FlashAttention-style kernels; its gradient
 *              recomputes the probabilities instead of keeping a [G*T, T] matrix per K/V
 *              head). The op's causal rule, key j <= row r mod S, is exactly this layout's
 *              mask. Taken with dropout = 0 and fused = true (the default) everywhere but
 *              @decode: training, @logits and @prefill.
 *   composite  matmul -> scale -> mask -> softmax -> matmul. Taken for @decode (its keys
 *              are the cache and its mask depends on the position input), for dropout > 0
 *              (dropout acts on the probabilities, which the fused op never materializes)
 *              and when asked with fused = false (to compare the two). The causal mask
 *              comes from iota + cmplt (no constant of T*T values) and always keeps the
 *              diagonal, so no row is all -inf.
 * Under precision = bf16 only the projections wq wk wv wo are bf16 matmuls
 * (fe_build_linear); both paths keep q, k, v and the scores in f32 (the fused op has no
 * bf16 form), so fused and composite still compute the same thing.
 */
#include "frontend_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* --- composites ---------------------------------------------------------------------- */

/* The RoPE tables cos/sin [T, hd/2] of angle t * theta^(-2i/hd), as constants. */
static bool rope_tables(FeBuild *fb, int64_t T, int64_t hd, double theta, IrId *cs, IrId *sn) {
    int64_t half = hd / 2;
    if (half > 0 && T > ((int64_t)1 << 26) / half) {
        llmc_err_set(&fb->b.err, "RoPE tables of %lld x %lld values are too large", (long long)T, (long long)half);
        return false;
    }
    double *cv = llmc_xmalloc((size_t)(T * half + 1) * sizeof *cv),
           *sv = llmc_xmalloc((size_t)(T * half + 1) * sizeof *sv);
    for (int64_t p = 0; p < T; p++)
        for (int64_t i = 0; i < half; i++) {
            double angle = (double)p * pow(theta, -2.0 * (double)i / (double)hd);
            cv[p * half + i] = cos(angle);
            sv[p * half + i] = sin(angle);
        }
    IrType tt = ir_type_make(fb->dt, 2, (int64_t[]){T, half});
    *cs = ir_build_const(&fb->b, tt, cv, (uint64_t)(T * half));
    *sn = ir_build_const(&fb->b, tt, sv, (uint64_t)(T * half));
    free(cv);
    free(sv);
    return true;
}

/* rotate-half of x [.., T, hd] with tables cos/sin [T, hd/2]:
 * (x1, x2) -> (x1 cos - x2 sin, x2 cos + x1 sin), x1 = features [0, hd/2), x2 the rest. */
static IrId rope_apply(FeBuild *fb, IrId x, IrId cs, IrId sn) {
    IrBuilder *b = &fb->b;
    if (x == IR_ID_NONE) return IR_ID_NONE;
    const IrType t = b->g->nodes[x].type;
    int64_t half = t.dims[t.rank - 1] / 2;
    int64_t start[IR_MAX_RANK] = {0}, mid[IR_MAX_RANK], end[IR_MAX_RANK];
    for (uint32_t i = 0; i < t.rank; i++) mid[i] = end[i] = t.dims[i];
    mid[t.rank - 1] = half;
    IrId x1 = ir_build_slice(b, x, start, mid, NULL); /* [.., T, hd/2] */
    start[t.rank - 1] = half;
    IrId x2 = ir_build_slice(b, x, start, end, NULL);
    IrId c = ir_build_broadcast_to(b, cs, t.rank, mid), s = ir_build_broadcast_to(b, sn, t.rank, mid);
    IrId r1 = ir_build_binary(b, IR_OP_SUB, ir_build_binary(b, IR_OP_MUL, x1, c), ir_build_binary(b, IR_OP_MUL, x2, s));
    IrId r2 = ir_build_binary(b, IR_OP_ADD, ir_build_binary(b, IR_OP_MUL, x2, c), ir_build_binary(b, IR_OP_MUL, x1, s));
    return ir_build_concat(b, (IrId[]){r1, r2}, 2, -1);
}

IrId fe_build_rope(FeBuild *fb, IrId x, double theta) {
    IrBuilder *b = &fb->b;
    if (x == IR_ID_NONE) return IR_ID_NONE;
    const IrType t = b->g->nodes[x].type;
    if (t.rank < 2 || t.dims[t.rank - 1] % 2 != 0 || t.dtype != fb->dt) {
        char ts[IR_TYPE_STR_MAX];
        llmc_err_set(&b->err, "RoPE needs %s [.., T, hd] with an even head dim, got %s", ir_dtype_name(fb->dt),
                     ir_type_format(&t, ts, sizeof ts));
        return IR_ID_NONE;
    }
    IrId cs, sn;
    if (!rope_tables(fb, t.dims[t.rank - 2], t.dims[t.rank - 1], theta, &cs, &sn)) return IR_ID_NONE;
    return rope_apply(fb, x, cs, sn);
}

/* x [B, T, n*hd] -> [B, n, T, hd] (one head per n). */
static IrId split_heads(IrBuilder *b, IrId x, int64_t B, int64_t T, int64_t n, int64_t hd) {
    IrId r = ir_build_reshape(b, x, 4, (int64_t[]){B, T, n, hd});
    return ir_build_permute(b, r, 4, (int64_t[]){0, 2, 1, 3});
}

/* The composite path (see the banner): q [B, K, G*T, hd], k, v [B, K, S, hd] ->
 * softmax(mask(q k^T / sqrt(hd))) v [B, K, G*T, hd]. decode (T = 1) masks the keys after
 * the position input; otherwise S = T and the causal mask keeps keys <= row % T. */
static IrId attention_composite(FeBuild *fb, IrId q, IrId k, IrId v, const FeAttentionSpec *s, const char *site,
                                int64_t G, int64_t T, bool decode) {
    IrBuilder *b = &fb->b;
    if (q == IR_ID_NONE || k == IR_ID_NONE) return IR_ID_NONE;
    const IrType qt = b->g->nodes[q].type, kt = b->g->nodes[k].type;
    int64_t B = qt.dims[0], K = qt.dims[1], hd = qt.dims[3], S = kt.dims[2];
    IrId sc = ir_build_matmul(b, q, k, false, true);                /* [B, K, G*T, S] */
    sc = ir_build_binary_bcast(b, IR_OP_MUL, sc, fe_build_scalar(fb, 1.0 / sqrt((double)hd)));
    if (decode) { /* keys after pos are not written yet */
        IrType it = ir_type_make(IR_DTYPE_I32, 4, (int64_t[]){B, K, G, S});
        IrId kpos = ir_build_iota(b, it, 3);
        IrId qpos = ir_build_broadcast_to(b, fe_infer_pos(fb), 4, (int64_t[]){B, K, G, S});
        IrId future = ir_build_binary(b, IR_OP_CMPLT, qpos, kpos);
        sc = ir_build_select(b, future, fe_build_full(fb, -INFINITY, sc), sc);
    } else if (s->causal) {
        IrType it = ir_type_make(IR_DTYPE_I32, 3, (int64_t[]){G, T, T});
        IrId qpos = ir_build_iota(b, it, 1), kpos = ir_build_iota(b, it, 2);
        IrId future = ir_build_binary(b, IR_OP_CMPLT, qpos, kpos);  /* 1 where key > query: [G, T, T] */
        future = ir_build_reshape(b, future, 2, (int64_t[]){G * T, T});
        future = ir_build_broadcast(b, future, 4, (int64_t[]){B, K, G * T, T}, (int64_t[]){2, 3});
        sc = ir_build_select(b, future, fe_build_full(fb, -INFINITY, sc), sc);
    }
    IrId p = fe_build_softmax(fb, sc); /* [B, K, G*T, S] */
    if (s->dropout > 0) p = fe_build_dropout(fb, p, s->dropout, fe_build_name(fb, site, "dropout"));
    ir_builder_set_scope(b, site);
    return ir_build_matmul(b, p, v, false, false); /* [B, K, G*T, hd] */
}

IrId fe_build_attention(FeBuild *fb, IrId x, const FeAttentionSpec *s, const char *site) {
    IrBuilder *b = &fb->b;
    if (x == IR_ID_NONE) return IR_ID_NONE;
    const IrType xt = b->g->nodes[x].type;
    char ts[IR_TYPE_STR_MAX];
    if (xt.rank != 3 || xt.dtype != fb->dt) {
        llmc_err_set(&b->err, "x must be a %s tensor [batch, seq, dim], got %s", ir_dtype_name(fb->dt),
                     ir_type_format(&xt, ts, sizeof ts));
        return IR_ID_NONE;
    }
    int64_t B = xt.dims[0], T = xt.dims[1], D = xt.dims[2], H = s->heads, K = s->kv_heads;
    if (H < 1 || K < 1 || D % H != 0 || H % K != 0) {
        llmc_err_set(&b->err, "needs dim %% heads == 0 and heads %% kv_heads == 0, got dim = %lld, heads = %lld, "
                              "kv_heads = %lld", (long long)D, (long long)H, (long long)K);
        return IR_ID_NONE;
    }
    int64_t hd = D / H, G = H / K;
    if (s->rope && hd % 2 != 0) {
        llmc_err_set(&b->err, "RoPE needs an even head dim, got dim / heads = %lld", (long long)hd);
        return IR_ID_NONE;
    }
    ir_builder_set_scope(b, site);
    IrId wq = fe_build_param(fb, fe_build_name(fb, site, "wq"), 2, (int64_t[]){D, H * hd}, FE_INIT_NORMAL);
    IrId wk = fe_build_param(fb, fe_build_name(fb, site, "wk"), 2, (int64_t[]){D, K * hd}, FE_INIT_NORMAL);
    IrId wv = fe_build_param(fb, fe_build_name(fb, site, "wv"), 2, (int64_t[]){D, K * hd}, FE_INIT_NORMAL);
    IrId wo = fe_build_param(fb, fe_build_name(fb, site, "wo"), 2, (int64_t[]){H * hd, D}, FE_INIT_RESIDUAL);
    IrId bq = IR_ID_NONE, bk = IR_ID_NONE, bv = IR_ID_NONE, bo = IR_ID_NONE;
    if (s->bias) {
        bq = fe_build_param(fb, fe_build_name(fb, site, "bq"), 1, (int64_t[]){H * hd}, FE_INIT_ZEROS);
        bk = fe_build_param(fb, fe_build_name(fb, site, "bk"), 1, (int64_t[]){K * hd}, FE_INIT_ZEROS);
        bv = fe_build_param(fb, fe_build_name(fb, site, "bv"), 1, (int64_t[]){K * hd}, FE_INIT_ZEROS);
        bo = fe_build_param(fb, fe_build_name(fb, site, "bo"), 1, (int64_t[]){D}, FE_INIT_ZEROS);
        if (bq == IR_ID_NONE || bk == IR_ID_NONE || bv == IR_ID_NONE || bo == IR_ID_NONE) return IR_ID_NONE;
    }
    IrId q = fe_build_linear(fb, x, wq, bq); /* [B, T, H*hd] */
    IrId k = fe_build_linear(fb, x, wk, bk); /* [B, T, K*hd] */
    IrId v = fe_build_linear(fb, x, wv, bv); /* [B, T, K*hd] */
    q = ir_build_reshape(b, q, 5, (int64_t[]){B, T, K, G, hd});
    q = ir_build_permute(b, q, 5, (int64_t[]){0, 2, 3, 1, 4}); /* [B, K, G, T, hd] */
    k = split_heads(b, k, B, T, K, hd);                        /* [B, K, T, hd] */
    v = split_heads(b, v, B, T, K, hd);                        /* [B, K, T, hd] */
    /* Inference (lower_infer.c): @prefill records k (after RoPE) and v as its caches;
     * @decode (T = 1, at position pos) writes them into row pos of the caches and
     * attends to rows 0..pos of those: S key positions, the cache length. */
    bool decode = fb->infer && fb->infer->kind == FE_INFER_DECODE;
    if (s->rope) { /* one pair of tables for q and k */
        IrId cs, sn;
        if (!rope_tables(fb, decode ? fb->infer->cache_len : T, hd, s->rope_theta, &cs, &sn)) return IR_ID_NONE;
        if (decode) cs = fe_infer_rows(fb, cs), sn = fe_infer_rows(fb, sn); /* [1, hd/2] at pos */
        q = rope_apply(fb, q, cs, sn);
        k = rope_apply(fb, k, cs, sn);
    }
    if (fb->infer && fb->infer->kind == FE_INFER_PREFILL) {
        fe_infer_cache_output(fb, site, "k", k);
        fe_infer_cache_output(fb, site, "v", v);
    } else if (decode) {
        k = fe_infer_cache_write(fb, site, "k", k); /* [B, K, C, hd]: S = C keys */
        v = fe_infer_cache_write(fb, site, "v", v);
        ir_builder_set_scope(b, site);
    }
    q = ir_build_reshape(b, q, 4, (int64_t[]){B, K, G * T, hd});   /* row g*T + t */
    IrId o;                                                         /* [B, K, G*T, hd] */
    if (!decode && (s->dropout == 0 || fb->infer) && !s->unfused) /* no dropout in @logits, @prefill */
        o = ir_build_attention(b, q, k, v, 1.0 / sqrt((double)hd), s->causal);
    else
        o = attention_composite(fb, q, k, v, s, site, G, T, decode);
    o = ir_build_reshape(b, o, 5, (int64_t[]){B, K, G, T, hd});
    o = ir_build_permute(b, o, 5, (int64_t[]){0, 3, 1, 2, 4});         /* [B, T, K, G, hd] */
    o = ir_build_reshape(b, o, 3, (int64_t[]){B, T, H * hd});
    return fe_build_linear(fb, o, wo, bo);                             /* [B, T, D] */
}

/* --- handlers ------------------------------------------------------------------------ */

enum { ROPE_THETA, ROPE_N };
static const FeArgSpec rope_args[ROPE_N] = {
    [ROPE_THETA] = {.name = "theta", .kind = FE_ARG_NUMBER, .def = FE_DEF_NUMBER, .num = 10000},
};
const FeBuiltin fe_builtin_rope = {"rope", NULL, rope_args, ROPE_N, FE_IN_MODEL};

static const char *const attention_positions[] = {"none", "rope", NULL};

enum { ATT_X, ATT_HEADS, ATT_KV_HEADS, ATT_CAUSAL, ATT_POSITION, ATT_DROPOUT, ATT_BIAS, ATT_FUSED, ATT_NAME, ATT_N };
static const FeArgSpec attention_args[ATT_N] = {
    [ATT_X] = {.name = "x", .kind = FE_ARG_TENSOR},
    [ATT_HEADS] = {.name = "heads", .kind = FE_ARG_SIZE},
    [ATT_KV_HEADS] = {.name = "kv_heads", .kind = FE_ARG_SIZE, .def = FE_DEF_ARG, .str = "heads"},
    [ATT_CAUSAL] = {.name = "causal", .kind = FE_ARG_BOOL, .def = FE_DEF_BOOL, .num = 1},
    [ATT_POSITION] = {.name = "position", .kind = FE_ARG_OPTION, .def = FE_DEF_SYMBOL, .str = "none",
                      .options = attention_positions},
    [ATT_DROPOUT] = {.name = "dropout", .kind = FE_ARG_NUMBER, .def = FE_DEF_NUMBER, .num = 0},
    [ATT_BIAS] = {.name = "bias", .kind = FE_ARG_BOOL, .def = FE_DEF_BOOL, .num = 0},
    [ATT_FUSED] = {.name = "fused", .kind = FE_ARG_BOOL, .def = FE_DEF_BOOL, .num = 1},
    [ATT_NAME] = {.name = "name", .kind = FE_ARG_NAME, .def = FE_DEF_ABSENT},
};

static bool attention_fn(FeCall *c, FeValue *out) {
    if (!fe_call_check_tensor(c, ATT_X, 3, 3, "[batch, seq, dim]")) return false;
    FeAttentionSpec s = {
        .heads = c->args[ATT_HEADS].u.i,
        .kv_heads = c->args[ATT_KV_HEADS].u.i,
        .causal = c->args[ATT_CAUSAL].u.b,
        .dropout = c->args[ATT_DROPOUT].u.f,
        .bias = c->args[ATT_BIAS].u.b,
        .unfused = !c->args[ATT_FUSED].u.b,
    };
    const FeValue *pos = &c->args[ATT_POSITION];
    if (strcmp(fe_option_name(pos), "rope") == 0) {
        s.rope = true;
        s.rope_theta = fe_spec_arg(pos->u.spec, "theta")->u.f;
        if (!(s.rope_theta > 0)) {
            const FeLoc *l = fe_spec_loc(pos->u.spec, "theta");
            return fe_lower_error(c->L, pos->u.spec->src, *l, "argument 'theta' of rope must be > 0, got %g",
                                  s.rope_theta);
        }
    }
    FeBuild *fb = fe_call_build(c, NULL);
    int64_t D = fe_type_dim(fb, c->args[ATT_X].u.t, -1);
    bool ok = true;
    if (D % s.heads != 0)
        ok = fe_call_error(c, ATT_HEADS, "attention: dim %lld is not divisible by heads = %lld", (long long)D,
                           (long long)s.heads);
    if (s.heads % s.kv_heads != 0)
        ok = fe_call_error(c, ATT_KV_HEADS, "attention: heads = %lld is not divisible by kv_heads = %lld",
                           (long long)s.heads, (long long)s.kv_heads);
    if (ok && s.rope && (D / s.heads) % 2 != 0)
        ok = fe_call_error(c, ATT_POSITION, "attention: RoPE needs an even head dim, but dim / heads = %lld / %lld "
                                            "= %lld", (long long)D, (long long)s.heads, (long long)(D / s.heads));
    if (!(s.dropout >= 0 && s.dropout < 1))
        ok = fe_call_error(c, ATT_DROPOUT, "argument 'dropout' of attention must be in [0, 1), got %g", s.dropout);
    if (!ok) return false;
    const char *site = fe_call_site(c, "attn", ATT_NAME);
    if (!site) return false;
    fe_lower_count_attention(c->L);
    fb = fe_call_build(c, site);
    return fe_call_result(c, fe_build_attention(fb, c->args[ATT_X].u.t, &s, site), out);
}

const FeBuiltin fe_builtin_attention = {"attention", attention_fn, attention_args, ATT_N, FE_IN_MODEL};
