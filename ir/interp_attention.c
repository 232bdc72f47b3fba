/* ir/interp_attention.c — the interpreter's fused attention ops: attention, attention_lse
 * and attention_grad (ops.def states the formulas).
 *
 * Per batch element b (the row-major index over the leading axes): q [R, d], k [S, d],
 * v [S, e]; row r attends key j when !causal or j <= r mod S, so key 0 always is and no
 * row is empty. The scores s[r, j] = scale * q[r,:].k[j,:] live in a scratch row (an
 * [R, S] scratch matrix for the gradient), recomputed by each op from q and k.
 *
 * Order is part of the contract, as in interp_reduce.c: every sum runs in index order
 * in double over the attended keys only (a masked key is skipped, not added as 0), and
 * only the finished value is rounded (by the driver):
 *   dot products      over the feature index i = 0, 1, .. (then times scale);
 *   the softmax       m = max_j s (nan if any is nan), z = sum_j exp(s_j - m) in key
 *                     order, P_j = exp(s_j - m) / z: nothing overflows for large scores;
 *   attention         out[r, c] = sum_j P[r, j] v[j, c], j in key order;
 *   attention_lse     out[r] = m + log z;
 *   attention_grad    P[r, j] = exp(s[r, j] - lse[r]), dP[r, j] = sum_c
 *                     dout[r, c] v[j, c] in c order, dS = P (dP - dsum[r]); dq[r, i] =
 *                     scale * sum_j dS[r, j] k[j, i] in j order; dk[j, i] = scale * sum_r
 *                     dS[r, j] q[r, i] and dv[j, c] = sum_r P[r, j] dout[r, c] in r order.
 * The scale multiplies the finished dot product (and the finished sums of dq and dk).
 *
 * Deliberately not here: tiling, the online (running-max) softmax, or anything else a
 * FlashAttention kernel does to save memory — those are tested against this.
 */
#include "ir_int.h"

#include <math.h>
#include <stdlib.h>

/* The sizes of one attention node, read from its operands (the shape rule checked them):
 * `batches` leading elements of q [R, d], k [S, d] and v [S, e] each. */
typedef struct AttnShape {
    int64_t batches, R, S, d, e;
    double scale;
    bool causal;
} AttnShape;

static AttnShape attn_shape(const IrInterpCall *c, bool has_v) {
    const IrType *q = &c->args[0]->type, *k = &c->args[1]->type;
    uint32_t r = q->rank;
    AttnShape a = {
        .R = q->dims[r - 2],
        .S = k->dims[r - 2],
        .d = q->dims[r - 1],
        .e = has_v ? c->args[2]->type.dims[r - 1] : 0,
        .scale = c->node->attrs.attention.scale,
        .causal = c->node->attrs.attention.causal,
    };
    a.batches = 1;
    for (uint32_t i = 0; i + 2 < r; i++) a.batches *= q->dims[i];
    return a;
}

/* Number of keys row r attends: keys 0 .. n-1. */
static int64_t attn_keys(const AttnShape *a, int64_t r) { return a->causal ? r % a->S + 1 : a->S; }

/* s[j] = scale * sum_i q[i] k[j, i] for j < n (q one row [d], k [S, d]). */
static void attn_scores(const AttnShape *a, const double *q, const double *k, int64_t n, double *s) {
    for (int64_t j = 0; j < n; j++) {
        double acc = 0.0;
        for (int64_t i = 0; i < a->d; i++) acc += q[i] * k[j * a->d + i];
        s[j] = a->scale * acc;
    }
}

/* The softmax's shift and normalizer over s[0..n): m = max (nan if any is nan), z =
 * sum_j exp(s_j - m) in j order. */
static void attn_softmax_stats(const double *s, int64_t n, double *m_out, double *z_out) {
    double m = s[0];
    for (int64_t j = 1; j < n && !isnan(m); j++)
        if (isnan(s[j]) || s[j] > m) m = s[j];
    double z = 0.0;
    for (int64_t j = 0; j < n; j++) z += exp(s[j] - m);
    *m_out = m;
    *z_out = z;
}

/* out[b, r, c] = sum_j P[r, j] v[j, c] (see the banner). */
bool ir_interp_attention(const IrInterpCall *c) {
    AttnShape a = attn_shape(c, true);
    double *s = llmc_xcalloc((size_t)(a.S > 0 ? a.S : 1), sizeof *s); /* [S]: one row's scores, then P */
    for (int64_t b = 0; b < a.batches; b++) {
        const double *q = c->args[0]->data + b * a.R * a.d; /* [R, d] */
        const double *k = c->args[1]->data + b * a.S * a.d; /* [S, d] */
        const double *v = c->args[2]->data + b * a.S * a.e; /* [S, e] */
        double *o = c->out->data + b * a.R * a.e;           /* [R, e] */
        for (int64_t r = 0; r < a.R; r++) {
            int64_t n = attn_keys(&a, r);
            double m, z;
            attn_scores(&a, q + r * a.d, k, n, s);
            attn_softmax_stats(s, n, &m, &z);
            for (int64_t j = 0; j < n; j++) s[j] = exp(s[j] - m) / z;
            for (int64_t col = 0; col < a.e; col++) {
                double acc = 0.0;
                for (int64_t j = 0; j < n; j++) acc += s[j] * v[j * a.e + col];
                o[r * a.e + col] = acc;
            }
        }
    }
    free(s);
    return true;
}

/* out[b, r] = log sum_j exp s[r, j] = m + log z (see the banner). */
bool ir_interp_attention_lse(const IrInterpCall *c) {
    AttnShape a = attn_shape(c, false);
    double *s = llmc_xcalloc((size_t)(a.S > 0 ? a.S : 1), sizeof *s); /* [S]: one row's scores */
    for (int64_t b = 0; b < a.batches; b++) {
        const double *q = c->args[0]->data + b * a.R * a.d; /* [R, d] */
        const double *k = c->args[1]->data + b * a.S * a.d; /* [S, d] */
        for (int64_t r = 0; r < a.R; r++) {
            int64_t n = attn_keys(&a, r);
            double m, z;
            attn_scores(&a, q + r * a.d, k, n, s);
            attn_softmax_stats(s, n, &m, &z);
            c->out->data[b * a.R + r] = m + log(z);
        }
    }
    free(s);
    return true;
}

/* d sum(dout * attention(q, k, v)) / d wrt for wrt = q, k or v (see the banner). P and
 * dS are built as [R, S] matrices per batch element, then contracted over the attended
 * entries only (a masked key adds nothing, not even 0 * inf). */
bool ir_interp_attention_grad(const IrInterpCall *c) {
    AttnShape a = attn_shape(c, true);
    IrAttentionWrt wrt = c->node->attrs.attention.wrt;
    size_t rs = (size_t)(a.R * a.S > 0 ? a.R * a.S : 1);
    double *P = llmc_xcalloc(rs, sizeof *P);   /* [R, S] */
    double *dS = llmc_xcalloc(rs, sizeof *dS); /* [R, S] */
    for (int64_t b = 0; b < a.batches; b++) {
        const double *q = c->args[0]->data + b * a.R * a.d;    /* [R, d] */
        const double *k = c->args[1]->data + b * a.S * a.d;    /* [S, d] */
        const double *v = c->args[2]->data + b * a.S * a.e;    /* [S, e] */
        const double *lse = c->args[3]->data + b * a.R;        /* [R] */
        const double *dsum = c->args[4]->data + b * a.R;       /* [R] */
        const double *dout = c->args[5]->data + b * a.R * a.e; /* [R, e] */
        for (int64_t r = 0; r < a.R; r++) {
            int64_t n = attn_keys(&a, r);
            double *p = P + r * a.S, *ds = dS + r * a.S;
            attn_scores(&a, q + r * a.d, k, n, p);
            for (int64_t j = 0; j < n; j++) {
                p[j] = exp(p[j] - lse[r]);
                double dp = 0.0;
                for (int64_t col = 0; col < a.e; col++) dp += dout[r * a.e + col] * v[j * a.e + col];
                ds[j] = p[j] * (dp - dsum[r]);
            }
        }
        switch (wrt) {
        case IR_ATTENTION_Q: { /* dq [R, d] = scale * dS k */
            double *o = c->out->data + b * a.R * a.d;
            for (int64_t r = 0; r < a.R; r++)
                for (int64_t i = 0; i < a.d; i++) {
                    double acc = 0.0;
                    for (int64_t j = 0; j < attn_keys(&a, r); j++) acc += dS[r * a.S + j] * k[j * a.d + i];
                    o[r * a.d + i] = a.scale * acc;
                }
            break;
        }
        case IR_ATTENTION_K: { /* dk [S, d] = scale * dS^T q */
            double *o = c->out->data + b * a.S * a.d;
            for (int64_t j = 0; j < a.S; j++)
                for (int64_t i = 0; i < a.d; i++) {
                    double acc = 0.0;
                    for (int64_t r = 0; r < a.R; r++)
                        if (j < attn_keys(&a, r)) acc += dS[r * a.S + j] * q[r * a.d + i];
                    o[j * a.d + i] = a.scale * acc;
                }
            break;
        }
        case IR_ATTENTION_V: { /* dv [S, e] = P^T dout */
            double *o = c->out->data + b * a.S * a.e;
            for (int64_t j = 0; j < a.S; j++)
                for (int64_t col = 0; col < a.e; col++) {
                    double acc = 0.0;
                    for (int64_t r = 0; r < a.R; r++)
                        if (j < attn_keys(&a, r)) acc += P[r * a.S + j] * dout[r * a.e + col];
                    o[j * a.e + col] = acc;
                }
            break;
        }
        case IR_ATTENTION_WRT_INVALID:
        case IR_ATTENTION_WRT_COUNT:
            free(P);
            free(dS);
            llmc_err_set(c->err, "attention_grad: wrt must be q, k or v");
            return false;
        }
    }
    free(P);
    free(dS);
    return true;
}
