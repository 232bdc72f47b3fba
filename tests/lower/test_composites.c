/* tests/lower/test_composites.c — every composite the frontend lowers to (softmax,
 * norms, activations, mlp, attention with MHA/GQA/MQA, causal masks and RoPE — fused
 * into one `attention` op and as the composite — embed
 * with positions, lm_head, cross-entropy, dropout, MoE dispatch with dropped tokens)
 * built through the fe_build_* API on small random inputs, run on the f64 reference
 * interpreter, and compared with a naive loop implementation written here from the
 * formulas in docs/llm.md. Agreement is asked to ~1e-12.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frontend_int.h"
#include "test.h"

#define TOL 1e-12

/* --- a tiny harness ------------------------------------------------------------------ */

typedef struct Rng {
    uint64_t s;
} Rng;

/* uniform in [-1, 1) */
static double rnd(Rng *r) {
    r->s = r->s * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(r->s >> 11) * 0x1.0p-52 - 1.0;
}

#define MAX_IN 256
#define MAX_OUT 8

typedef struct Case {
    IrGraph *g;
    FeBuild fb;
    Rng rng;
    double param_scale;
    uint32_t seed, step, micro; /* values for the rand keys, if the graph has them */
    const char *names[MAX_IN];  /* data inputs given by the test */
    double *vals[MAX_IN];
    uint32_t n_data;
    IrValue in[MAX_IN]; /* every input, graph order, after run */
    uint32_t n_in;
    IrValue out[MAX_OUT];
    uint32_t n_out;
} Case;

static void case_begin(Case *c, uint64_t seed) {
    memset(c, 0, sizeof *c);
    c->g = ir_graph_new("t");
    fe_build_init(&c->fb, c->g, IR_DTYPE_F64);
    c->rng.s = seed;
    c->param_scale = 0.5;
}

static void case_end(Case *c) {
    for (uint32_t i = 0; i < c->n_in; i++) ir_value_free(&c->in[i]);
    for (uint32_t i = 0; i < c->n_out; i++) ir_value_free(&c->out[i]);
    for (uint32_t i = 0; i < c->n_data; i++) free(c->vals[i]);
    fe_build_free(&c->fb);
    ir_graph_free(c->g);
}

/* A data input with given values (copied). */
static IrId case_data(Case *c, const char *name, IrType t, const double *v) {
    size_t n = (size_t)ir_type_numel(&t);
    c->names[c->n_data] = name;
    c->vals[c->n_data] = malloc(n * sizeof(double));
    memcpy(c->vals[c->n_data], v, n * sizeof(double));
    c->n_data++;
    return ir_build_input(&c->fb.b, IR_ROLE_DATA, name, t);
}

/* A data input of random values in [-scale, scale). */
static IrId case_random(Case *c, const char *name, IrType t, double scale, double **values) {
    size_t n = (size_t)ir_type_numel(&t);
    double *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = scale * rnd(&c->rng);
    IrId id = case_data(c, name, t, v);
    free(v);
    if (values) *values = c->vals[c->n_data - 1];
    return id;
}

static void case_output(Case *c, const char *name, IrId id) {
    CHECK(id != IR_ID_NONE);
    if (!ir_builder_ok(&c->fb.b)) fprintf(stderr, "  builder: %s\n", c->fb.b.err.msg);
    if (id != IR_ID_NONE) ir_graph_add_output(c->g, name, id);
}

/* Verifies and runs the graph: data inputs as given, params random in
 * [-param_scale, param_scale), seed/step/micro from the case. */
static bool case_run(Case *c) {
    LlmcDiags d = {0};
    bool ok = ir_verify(c->g, &d, NULL, NULL);
    if (!ok) llmc_diags_print(&d, stderr);
    llmc_diags_free(&d);
    CHECK(ok);
    if (!ok) return false;
    IrId ids[MAX_IN];
    c->n_in = ir_graph_inputs(c->g, NULL);
    CHECK(c->n_in <= MAX_IN);
    if (c->n_in > MAX_IN) return false;
    ir_graph_inputs(c->g, ids);
    for (uint32_t i = 0; i < c->n_in; i++) {
        const IrNode *n = ir_graph_node(c->g, ids[i]);
        const char *name = ir_graph_str(c->g, n->attrs.input.name);
        ir_value_alloc(&c->in[i], n->type);
        int64_t numel = ir_type_numel(&n->type);
        bool given = false;
        for (uint32_t k = 0; k < c->n_data; k++)
            if (strcmp(c->names[k], name) == 0) {
                memcpy(c->in[i].data, c->vals[k], (size_t)numel * sizeof(double));
                given = true;
            }
        if (given) continue;
        if (strcmp(name, "seed") == 0) c->in[i].data[0] = c->seed;
        else if (strcmp(name, "step") == 0) c->in[i].data[0] = c->step;
        else if (strcmp(name, "micro") == 0) c->in[i].data[0] = c->micro;
        else
            for (int64_t e = 0; e < numel; e++) c->in[i].data[e] = c->param_scale * rnd(&c->rng);
    }
    c->n_out = c->g->n_outputs;
    IrInterpOptions opt = {.precision = IR_PRECISION_F64, .ranks = 1};
    LlmcErr err = {0};
    ok = ir_interp_run(c->g, &opt, c->in, c->out, &err);
    if (!ok) fprintf(stderr, "  interp: %s\n", err.msg);
    CHECK(ok);
    return ok;
}

/* The values fed to input `name` (after case_run). */
static const double *case_in(Case *c, const char *name) {
    IrId ids[MAX_IN];
    ir_graph_inputs(c->g, ids);
    for (uint32_t i = 0; i < c->n_in; i++)
        if (strcmp(ir_graph_str(c->g, ir_graph_node(c->g, ids[i])->attrs.input.name), name) == 0) return c->in[i].data;
    fprintf(stderr, "  no input named %s\n", name);
    CHECK(!"input exists");
    static double zeros[4096];
    return zeros;
}

static void check_all_close(const char *what, const double *got, const double *want, int64_t n) {
    int64_t bad = 0;
    for (int64_t i = 0; i < n; i++) {
        double s = fabs(want[i]) > 1 ? fabs(want[i]) : 1;
        if (!(fabs(got[i] - want[i]) <= TOL * s)) {
            if (bad < 3) fprintf(stderr, "  %s[%lld]: got %.17g, want %.17g\n", what, (long long)i, got[i], want[i]);
            bad++;
        }
    }
    CHECK(bad == 0);
}

static IrType ty(int rank, int64_t a, int64_t b, int64_t c) {
    int64_t d[3] = {a, b, c};
    return ir_type_make(IR_DTYPE_F64, (uint32_t)rank, d);
}

/* --- naive building blocks ------------------------------------------------------------ */

/* y[m, n] = sum_k x[m, k] w[k, n] (+ b[n]) */
static void naive_linear(const double *x, const double *w, const double *b, int64_t M, int64_t K, int64_t N,
                         double *y) {
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++) {
            double s = 0;
            for (int64_t k = 0; k < K; k++) s += x[m * K + k] * w[k * N + n];
            y[m * N + n] = s + (b ? b[n] : 0);
        }
}

static void naive_softmax(const double *x, int64_t n, double *y) {
    double m = -INFINITY, s = 0;
    for (int64_t i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
    for (int64_t i = 0; i < n; i++) s += exp(x[i] - m);
    for (int64_t i = 0; i < n; i++) y[i] = exp(x[i] - m) / s;
}

static double naive_lse(const double *x, int64_t n) {
    double m = -INFINITY, s = 0;
    for (int64_t i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
    for (int64_t i = 0; i < n; i++) s += exp(x[i] - m);
    return m + log(s);
}

static double naive_gelu(double x) {
    return 0.5 * x * (1 + tanh(sqrt(2 / 3.14159265358979323846) * (x + 0.044715 * x * x * x)));
}
static double naive_silu(double x) { return x / (1 + exp(-x)); }

/* h = act(x w1 + b1) [* (x w3 + b3)]; y = h w2 + b2, for M rows. */
static void naive_mlp(const double *x, int64_t M, int64_t D, int64_t H, FeAct act, const double *w1, const double *w2,
                      const double *w3, const double *b1, const double *b2, const double *b3, double *y) {
    double *h1 = malloc((size_t)(M * H) * sizeof *h1), *h3 = malloc((size_t)(M * H) * sizeof *h3);
    naive_linear(x, w1, b1, M, D, H, h1);
    if (act == FE_ACT_SWIGLU) naive_linear(x, w3, b3, M, D, H, h3);
    for (int64_t i = 0; i < M * H; i++) {
        double v = h1[i];
        switch (act) {
        case FE_ACT_RELU: h1[i] = v > 0 ? v : 0; break;
        case FE_ACT_GELU: h1[i] = naive_gelu(v); break;
        case FE_ACT_SWIGLU: h1[i] = naive_silu(v) * h3[i]; break;
        case FE_ACT_INVALID:
        case FE_ACT_COUNT: break;
        }
    }
    naive_linear(h1, w2, b2, M, H, D, y);
    free(h1);
    free(h3);
}

/* --- tests ---------------------------------------------------------------------------- */

static void test_softmax_logsumexp(void) {
    Case c;
    case_begin(&c, 1);
    double *x;
    IrId xi = case_random(&c, "x", ty(2, 3, 5, 0), 4.0, &x);
    case_output(&c, "p", fe_build_softmax(&c.fb, xi));
    case_output(&c, "lse", fe_build_logsumexp(&c.fb, xi));
    case_output(&c, "mean", fe_build_mean_all(&c.fb, xi));
    if (case_run(&c)) {
        double want[15], lse[3], mean = 0;
        for (int r = 0; r < 3; r++) {
            naive_softmax(x + 5 * r, 5, want + 5 * r);
            lse[r] = naive_lse(x + 5 * r, 5);
        }
        for (int i = 0; i < 15; i++) mean += x[i] / 15;
        check_all_close("softmax", c.out[0].data, want, 15);
        check_all_close("logsumexp", c.out[1].data, lse, 3);
        CHECK_CLOSE(c.out[2].data[0], mean, TOL);
    }
    case_end(&c);
}

static void test_norms(bool rms, bool bias) {
    Case c;
    case_begin(&c, rms ? 2 : 3);
    double *x;
    const int64_t R = 6, D = 8;
    IrId xi = case_random(&c, "x", ty(3, 2, 3, D), 3.0, &x);
    double eps = rms ? 1e-6 : 1e-5;
    case_output(&c, "y",
                rms ? fe_build_rmsnorm(&c.fb, xi, eps, "norm") : fe_build_layernorm(&c.fb, xi, eps, bias, "ln"));
    CHECK((fe_build_find_param(&c.fb, rms ? "norm.gain" : "ln.gain") != NULL));
    CHECK((fe_build_find_param(&c.fb, "ln.bias") != NULL) == (!rms && bias));
    if (case_run(&c)) {
        const double *g = case_in(&c, rms ? "norm.gain" : "ln.gain");
        const double *b = !rms && bias ? case_in(&c, "ln.bias") : NULL;
        double want[48];
        for (int64_t r = 0; r < R; r++) {
            const double *v = x + r * D;
            double mean = 0, var = 0;
            if (rms) {
                for (int64_t i = 0; i < D; i++) var += v[i] * v[i] / D;
            } else {
                for (int64_t i = 0; i < D; i++) mean += v[i] / D;
                for (int64_t i = 0; i < D; i++) var += (v[i] - mean) * (v[i] - mean) / D;
            }
            for (int64_t i = 0; i < D; i++)
                want[r * D + i] = (v[i] - mean) / sqrt(var + eps) * g[i] + (b ? b[i] : 0);
        }
        check_all_close(rms ? "rmsnorm" : "layernorm", c.out[0].data, want, R * D);
    }
    case_end(&c);
}

static void test_activations(void) {
    Case c;
    case_begin(&c, 4);
    double *x;
    IrId xi = case_random(&c, "x", ty(1, 40, 0, 0), 5.0, &x);
    case_output(&c, "relu", fe_build_relu(&c.fb, xi));
    case_output(&c, "gelu", fe_build_gelu(&c.fb, xi));
    case_output(&c, "silu", fe_build_silu(&c.fb, xi));
    if (case_run(&c)) {
        double r[40], g[40], s[40];
        for (int i = 0; i < 40; i++) {
            r[i] = x[i] > 0 ? x[i] : 0;
            g[i] = naive_gelu(x[i]);
            s[i] = naive_silu(x[i]);
        }
        check_all_close("relu", c.out[0].data, r, 40);
        check_all_close("gelu", c.out[1].data, g, 40);
        check_all_close("silu", c.out[2].data, s, 40);
        /* GeLU's tanh form at a known point: gelu(1) = 0.8411919906082768 */
        CHECK_CLOSE(naive_gelu(1.0), 0.8411919906082768, 1e-15);
    }
    case_end(&c);
}

static void test_mlp(FeAct act, bool bias) {
    Case c;
    case_begin(&c, 10 + (uint64_t)act * 2 + bias);
    double *x;
    const int64_t M = 6, D = 6, H = 10;
    IrId xi = case_random(&c, "x", ty(3, 2, 3, D), 2.0, &x);
    FeMlpSpec s = {.hidden = H, .act = act, .bias = bias};
    case_output(&c, "y", fe_build_mlp(&c.fb, xi, &s, "mlp"));
    CHECK((fe_build_find_param(&c.fb, "mlp.w3") != NULL) == (act == FE_ACT_SWIGLU));
    CHECK(fe_build_find_param(&c.fb, "mlp.w2") && fe_build_find_param(&c.fb, "mlp.w2")->init == FE_INIT_RESIDUAL);
    if (case_run(&c)) {
        double want[36];
        bool sw = act == FE_ACT_SWIGLU;
        naive_mlp(x, M, D, H, act, case_in(&c, "mlp.w1"), case_in(&c, "mlp.w2"), sw ? case_in(&c, "mlp.w3") : NULL,
                  bias ? case_in(&c, "mlp.b1") : NULL, bias ? case_in(&c, "mlp.b2") : NULL,
                  bias && sw ? case_in(&c, "mlp.b3") : NULL, want);
        check_all_close(fe_act_name(act), c.out[0].data, want, M * D);
    }
    case_end(&c);
}

/* Naive multi-head attention with grouped K/V heads: query head h uses K/V head
 * h / (H/K); RoPE rotate-half; causal mask; scale 1/sqrt(hd). x [B, T, D]. */
static void naive_attention(Case *c, const double *x, int64_t B, int64_t T, int64_t D, const FeAttentionSpec *s,
                            double *y) {
    int64_t H = s->heads, K = s->kv_heads, hd = D / H, G = H / K;
    const double *wq = case_in(c, "attn.wq"), *wk = case_in(c, "attn.wk"), *wv = case_in(c, "attn.wv"),
                 *wo = case_in(c, "attn.wo");
    const double *bq = s->bias ? case_in(c, "attn.bq") : NULL, *bk = s->bias ? case_in(c, "attn.bk") : NULL,
                 *bv = s->bias ? case_in(c, "attn.bv") : NULL, *bo = s->bias ? case_in(c, "attn.bo") : NULL;
    int64_t BT = B * T;
    double *q = malloc((size_t)(BT * H * hd) * sizeof *q), *k = malloc((size_t)(BT * K * hd) * sizeof *k),
           *v = malloc((size_t)(BT * K * hd) * sizeof *v), *o = calloc((size_t)(BT * H * hd), sizeof *o);
    naive_linear(x, wq, bq, BT, D, H * hd, q);
    naive_linear(x, wk, bk, BT, D, K * hd, k);
    naive_linear(x, wv, bv, BT, D, K * hd, v);
    if (s->rope) { /* rows of q [BT, H*hd] and k [BT, K*hd], per head */
        for (int64_t r = 0; r < BT; r++) {
            int64_t t = r % T;
            for (int which = 0; which < 2; which++) {
                double *m = which ? k : q;
                int64_t nh = which ? K : H;
                for (int64_t h = 0; h < nh; h++) {
                    double *f = m + r * nh * hd + h * hd;
                    for (int64_t i = 0; i < hd / 2; i++) {
                        double a = (double)t * pow(s->rope_theta, -2.0 * (double)i / (double)hd);
                        double x1 = f[i], x2 = f[i + hd / 2];
                        f[i] = x1 * cos(a) - x2 * sin(a);
                        f[i + hd / 2] = x2 * cos(a) + x1 * sin(a);
                    }
                }
            }
        }
    }
    double *sc = malloc((size_t)T * sizeof *sc), *p = malloc((size_t)T * sizeof *p);
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < H; h++) {
            int64_t kh = h / G;
            for (int64_t t = 0; t < T; t++) {
                const double *qv = q + (b * T + t) * H * hd + h * hd;
                for (int64_t u = 0; u < T; u++) {
                    const double *kv = k + (b * T + u) * K * hd + kh * hd;
                    double dot = 0;
                    for (int64_t i = 0; i < hd; i++) dot += qv[i] * kv[i];
                    sc[u] = s->causal && u > t ? -INFINITY : dot / sqrt((double)hd);
                }
                naive_softmax(sc, T, p);
                double *ov = o + (b * T + t) * H * hd + h * hd;
                for (int64_t u = 0; u < T; u++)
                    for (int64_t i = 0; i < hd; i++) ov[i] += p[u] * v[(b * T + u) * K * hd + kh * hd + i];
            }
        }
    naive_linear(o, wo, bo, BT, H * hd, D, y);
    free(q);
    free(k);
    free(v);
    free(o);
    free(sc);
    free(p);
}

/* Both lowerings (the fused `attention` op and, with unfused, the composite) against
 * the naive loops. */
static void test_attention(int64_t heads, int64_t kv_heads, bool causal, bool rope, bool bias) {
    for (int unfused = 0; unfused < 2; unfused++) {
        Case c;
        case_begin(&c, (uint64_t)(100 + heads * 10 + kv_heads + causal * 3 + rope * 5 + bias * 7));
        const int64_t B = 2, T = 5, D = 16;
        double *x;
        IrId xi = case_random(&c, "x", ty(3, B, T, D), 1.5, &x);
        FeAttentionSpec s = {.heads = heads, .kv_heads = kv_heads, .causal = causal, .rope = rope,
                             .rope_theta = 10000, .bias = bias, .unfused = unfused};
        case_output(&c, "y", fe_build_attention(&c.fb, xi, &s, "attn"));
        const FeParam *wk = fe_build_find_param(&c.fb, "attn.wk");
        CHECK(wk && wk->type.dims[1] == kv_heads * (D / heads)); /* no K/V copies per query head */
        CHECK(fe_build_find_param(&c.fb, "attn.wo") && fe_build_find_param(&c.fb, "attn.wo")->init == FE_INIT_RESIDUAL);
        uint32_t n_attention = 0;
        for (IrId id = 0; id < c.g->n_nodes; id++) n_attention += c.g->nodes[id].op == IR_OP_ATTENTION;
        CHECK_EQ_INT(n_attention, unfused ? 0 : 1);
        if (case_run(&c)) {
            double want[2 * 5 * 16];
            naive_attention(&c, x, B, T, D, &s, want);
            char what[80];
            snprintf(what, sizeof what, "attention H=%lld K=%lld%s%s%s%s", (long long)heads, (long long)kv_heads,
                     causal ? " causal" : "", rope ? " rope" : "", bias ? " bias" : "", unfused ? " unfused" : "");
            check_all_close(what, c.out[0].data, want, B * T * D);
        }
        case_end(&c);
    }
}

/* The causal mask never empties a row: with T = 1 the only key is the query itself, and
 * the first query of every sequence attends to itself alone (its output is v[0] wo). */
static void test_attention_first_row(void) {
    Case c;
    case_begin(&c, 77);
    double *x;
    IrId xi = case_random(&c, "x", ty(3, 1, 1, 8), 1.0, &x);
    FeAttentionSpec s = {.heads = 2, .kv_heads = 1, .causal = true};
    case_output(&c, "y", fe_build_attention(&c.fb, xi, &s, "attn"));
    if (case_run(&c)) {
        for (int i = 0; i < 8; i++) CHECK(isfinite(c.out[0].data[i]));
        double want[8];
        naive_attention(&c, x, 1, 1, 8, &s, want);
        check_all_close("attention T=1", c.out[0].data, want, 8);
    }
    case_end(&c);
}

static void test_rope_alone(void) {
    Case c;
    case_begin(&c, 88);
    double *x;
    const int64_t T = 6, hd = 8;
    IrId xi = case_random(&c, "x", ty(2, T, hd, 0), 1.0, &x);
    case_output(&c, "y", fe_build_rope(&c.fb, xi, 500.0));
    if (case_run(&c)) {
        double want[48];
        for (int64_t t = 0; t < T; t++)
            for (int64_t i = 0; i < hd / 2; i++) {
                double a = (double)t * pow(500.0, -2.0 * (double)i / (double)hd);
                double x1 = x[t * hd + i], x2 = x[t * hd + i + hd / 2];
                want[t * hd + i] = x1 * cos(a) - x2 * sin(a);
                want[t * hd + i + hd / 2] = x2 * cos(a) + x1 * sin(a);
            }
        check_all_close("rope", c.out[0].data, want, T * hd);
    }
    case_end(&c);
}

static void test_embed_head_xent(FePosition position, bool tied, bool bias) {
    Case c;
    case_begin(&c, 200 + (uint64_t)position * 3 + tied + bias * 7);
    const int64_t B = 2, T = 3, V = 7, D = 4, CTX = 5;
    double ids[6], tg[6];
    for (int i = 0; i < 6; i++) {
        ids[i] = (double)((i * 5 + 3) % V);
        tg[i] = (double)((i * 3 + 1) % V);
    }
    IrId idi = case_data(&c, "ids", ir_type_make(IR_DTYPE_I32, 2, (int64_t[]){B, T}), ids);
    IrId tgi = case_data(&c, "tg", ir_type_make(IR_DTYPE_I32, 2, (int64_t[]){B, T}), tg);
    FeEmbedSpec es = {.vocab = V, .dim = D, .context = CTX, .position = position};
    IrId table;
    IrId h = fe_build_embed(&c.fb, idi, &es, "tok_emb", "pos_emb", &table);
    case_output(&c, "h", h);
    IrId logits = fe_build_lm_head(&c.fb, h, tied ? table : IR_ID_NONE, V, bias, "lm_head");
    case_output(&c, "logits", logits);
    case_output(&c, "loss", fe_build_cross_entropy(&c.fb, logits, tgi));
    CHECK((fe_build_find_param(&c.fb, "lm_head") != NULL) == !tied);
    CHECK((fe_build_find_param(&c.fb, "pos_emb") != NULL) == (position == FE_POS_LEARNED));
    if (case_run(&c)) {
        const double *E = case_in(&c, "tok_emb"), *P = position == FE_POS_LEARNED ? case_in(&c, "pos_emb") : NULL;
        const double *W = tied ? NULL : case_in(&c, "lm_head"), *bb = bias ? case_in(&c, "lm_head.bias") : NULL;
        double hw[24], lw[42], loss = 0;
        for (int64_t r = 0; r < B * T; r++) {
            int64_t t = r % T;
            for (int64_t j = 0; j < D; j++) {
                double pe = 0;
                if (P) pe = P[t * D + j];
                if (position == FE_POS_SINUSOIDAL) {
                    double a = (double)t / pow(10000.0, (double)(2 * (j / 2)) / (double)D);
                    pe = j % 2 == 0 ? sin(a) : cos(a);
                }
                hw[r * D + j] = E[(int64_t)ids[r] * D + j] + pe;
            }
            for (int64_t v = 0; v < V; v++) {
                double s = 0;
                for (int64_t j = 0; j < D; j++) s += hw[r * D + j] * (tied ? E[v * D + j] : W[j * V + v]);
                lw[r * V + v] = s + (bb ? bb[v] : 0);
            }
            loss += (naive_lse(lw + r * V, V) - lw[r * V + (int64_t)tg[r]]) / (double)(B * T);
        }
        check_all_close("embed", c.out[0].data, hw, B * T * D);
        check_all_close("lm_head", c.out[1].data, lw, B * T * V);
        CHECK_CLOSE(c.out[2].data[0], loss, TOL);
    }
    case_end(&c);
}

static void test_dropout(void) {
    Case c;
    case_begin(&c, 300);
    c.seed = 7;
    c.step = 3;
    c.micro = 2;
    double *x;
    IrId xi = case_random(&c, "x", ty(2, 4, 16, 0), 1.0, &x);
    case_output(&c, "y", fe_build_dropout(&c.fb, xi, 0.25, "drop"));
    CHECK(fe_build_dropout(&c.fb, xi, 0.0, "drop0") == xi); /* p = 0 is the identity */
    CHECK(c.fb.seed != IR_ID_NONE && c.fb.step != IR_ID_NONE && c.fb.micro != IR_ID_NONE);
    if (case_run(&c)) {
        double want[64];
        int zeros = 0;
        for (int e = 0; e < 64; e++) {
            double u = ir_rand_value(IR_RAND_UNIFORM, 7, 3, 2, fe_site_hash("drop"), (uint64_t)e);
            want[e] = u >= 0.25 ? x[e] / 0.75 : 0.0;
            zeros += u < 0.25;
        }
        check_all_close("dropout", c.out[0].data, want, 64);
        CHECK(zeros > 4 && zeros < 32);
    }
    case_end(&c);
}

/* Naive MoE over N tokens x [N, D] with the case's parameters under `site`. */
typedef struct MoeNaive {
    double *y; /* [N, D] */
    double aux, z, dropped;
    int64_t C;
} MoeNaive;

static void naive_moe(Case *c, const double *x, int64_t N, int64_t D, const FeMoeSpec *s, MoeNaive *r) {
    int64_t E = s->experts, k = s->top_k, H = s->hidden;
    const double *router = case_in(c, "moe.router");
    double *logits = malloc((size_t)(N * E) * sizeof *logits), *probs = malloc((size_t)(N * E) * sizeof *probs);
    naive_linear(x, router, NULL, N, D, E, logits);
    for (int64_t n = 0; n < N; n++) naive_softmax(logits + n * E, E, probs + n * E);
    int64_t *top = malloc((size_t)(N * k) * sizeof *top);
    double *gate = malloc((size_t)(N * k) * sizeof *gate);
    for (int64_t n = 0; n < N; n++) {
        bool *taken = calloc((size_t)E, sizeof *taken);
        double sum = 0;
        for (int64_t j = 0; j < k; j++) {
            int64_t best = -1;
            for (int64_t e = 0; e < E; e++)
                if (!taken[e] && (best < 0 || probs[n * E + e] > probs[n * E + best])) best = e;
            taken[best] = true;
            top[n * k + j] = best;
            sum += probs[n * E + best];
        }
        /* renormalized over the chosen when k > 1; top-1 keeps the raw probability */
        for (int64_t j = 0; j < k; j++) gate[n * k + j] = probs[n * E + top[n * k + j]] / (k > 1 ? sum : 1.0);
        free(taken);
    }
    r->C = (int64_t)ceil(s->capacity_factor * (double)(k * N) / (double)E);
    if (r->C > N) r->C = N;
    int64_t *count = calloc((size_t)E, sizeof *count);
    r->y = calloc((size_t)(N * D), sizeof *r->y);
    r->dropped = 0;
    double *ye = malloc((size_t)D * sizeof *ye);
    bool sw = s->act == FE_ACT_SWIGLU;
    for (int64_t j = 0; j < k; j++) /* slot-major: all first choices, then second ... */
        for (int64_t n = 0; n < N; n++) {
            int64_t e = top[n * k + j];
            int64_t pos = count[e]++;
            if (pos >= r->C) {
                r->dropped += 1;
                continue;
            }
            char nm[6][64];
            const char *sfx[6] = {"w1", "w2", "w3", "b1", "b2", "b3"};
            for (int q = 0; q < 6; q++) snprintf(nm[q], sizeof nm[q], "moe.experts.%lld.%s", (long long)e, sfx[q]);
            naive_mlp(x + n * D, 1, D, H, s->act, case_in(c, nm[0]), case_in(c, nm[1]), sw ? case_in(c, nm[2]) : NULL,
                      s->bias ? case_in(c, nm[3]) : NULL, s->bias ? case_in(c, nm[4]) : NULL,
                      s->bias && sw ? case_in(c, nm[5]) : NULL, ye);
            for (int64_t i = 0; i < D; i++) r->y[n * D + i] += gate[n * k + j] * ye[i];
        }
    /* Switch aux: f_e before dropping, P_e mean probability */
    double aux = 0;
    for (int64_t e = 0; e < E; e++) {
        double f = (double)count[e] / (double)(k * N), P = 0;
        for (int64_t n = 0; n < N; n++) P += probs[n * E + e] / (double)N;
        aux += f * P;
    }
    r->aux = s->aux_loss * (double)E * aux;
    double z = 0;
    for (int64_t n = 0; n < N; n++) {
        double l = naive_lse(logits + n * E, E);
        z += l * l / (double)N;
    }
    r->z = s->z_loss * z;
    free(logits);
    free(probs);
    free(top);
    free(gate);
    free(count);
    free(ye);
}

/* expect_drops: 1 some, 0 none, -1 either. */
static void test_moe(FeAct act, int64_t k, double cf, bool bias, int expect_drops) {
    Case c;
    case_begin(&c, 400 + (uint64_t)(act * 10 + k) + bias);
    c.param_scale = 0.8;
    const int64_t B = 2, T = 4, D = 6, N = B * T;
    double *x;
    IrId xi = case_random(&c, "x", ty(3, B, T, D), 1.5, &x);
    FeMoeSpec s = {.experts = 4, .top_k = k, .hidden = 5, .act = act, .capacity_factor = cf, .aux_loss = 0.01,
                   .z_loss = 0.001, .bias = bias};
    FeMoeResult r;
    CHECK(fe_build_moe(&c.fb, xi, &s, "moe", &r));
    case_output(&c, "y", r.y);
    case_output(&c, "aux", r.aux_loss);
    case_output(&c, "z", r.z_loss);
    case_output(&c, "dropped", r.dropped);
    CHECK(fe_build_find_param(&c.fb, "moe.experts.3.w2") &&
          fe_build_find_param(&c.fb, "moe.experts.3.w2")->init == FE_INIT_RESIDUAL);
    if (case_run(&c)) {
        MoeNaive n;
        naive_moe(&c, x, N, D, &s, &n);
        CHECK_EQ_INT(r.capacity, n.C);
        char what[64];
        snprintf(what, sizeof what, "moe %s k=%lld cf=%g", fe_act_name(act), (long long)k, cf);
        check_all_close(what, c.out[0].data, n.y, N * D);
        CHECK_CLOSE(c.out[1].data[0], n.aux, TOL);
        CHECK_CLOSE(c.out[2].data[0], n.z, TOL);
        CHECK_CLOSE(c.out[3].data[0], n.dropped, 0);
        if (expect_drops == 1) CHECK(n.dropped > 0);
        if (expect_drops == 0) CHECK(n.dropped == 0);
        free(n.y);
    }
    case_end(&c);
}

static void test_moe_capacity(void) {
    CHECK_EQ_INT(fe_moe_capacity(1.25, 2, 2048, 8), 640);
    CHECK_EQ_INT(fe_moe_capacity(1.0, 1, 10, 4), 3);  /* ceil(2.5) */
    CHECK_EQ_INT(fe_moe_capacity(1.1, 2, 100, 10), 22);
    CHECK_EQ_INT(fe_moe_capacity(8.0, 2, 16, 2), 16); /* at most N */
    CHECK_EQ_INT(fe_moe_capacity(0.01, 1, 4, 8), 1);  /* at least 1 */
}

/* Builder errors are reported, never aborts: bad head counts, odd RoPE head dims. */
static void test_composite_errors(void) {
    Case c;
    case_begin(&c, 500);
    IrId xi = case_random(&c, "x", ty(3, 1, 2, 6), 1.0, NULL);
    FeAttentionSpec s = {.heads = 4, .kv_heads = 4, .causal = true};
    CHECK(fe_build_attention(&c.fb, xi, &s, "a1") == IR_ID_NONE); /* 6 % 4 */
    CHECK(strstr(c.fb.b.err.msg, "dim % heads") != NULL);
    llmc_err_clear(&c.fb.b.err);
    FeAttentionSpec r = {.heads = 2, .kv_heads = 2, .causal = true, .rope = true, .rope_theta = 1e4};
    CHECK(fe_build_attention(&c.fb, xi, &r, "a2") == IR_ID_NONE); /* hd = 3 */
    CHECK(strstr(c.fb.b.err.msg, "even head dim") != NULL);
    llmc_err_clear(&c.fb.b.err);
    FeMoeSpec m = {.experts = 2, .top_k = 3, .hidden = 4, .act = FE_ACT_RELU, .capacity_factor = 1};
    FeMoeResult mr;
    CHECK(!fe_build_moe(&c.fb, xi, &m, "moe", &mr));
    llmc_err_clear(&c.fb.b.err);
    CHECK(fe_build_param(&c.fb, "p", 1, (int64_t[]){3}, FE_INIT_ZEROS) != IR_ID_NONE);
    CHECK(fe_build_param(&c.fb, "p", 1, (int64_t[]){3}, FE_INIT_ZEROS) == IR_ID_NONE);
    CHECK(strstr(c.fb.b.err.msg, "defined twice") != NULL);
    case_end(&c);
}

int main(void) {
    test_softmax_logsumexp();
    test_norms(false, true);
    test_norms(false, false);
    test_norms(true, false);
    test_activations();
    for (int a = FE_ACT_RELU; a < FE_ACT_COUNT; a++) {
        test_mlp((FeAct)a, false);
        test_mlp((FeAct)a, true);
    }
    test_attention(4, 4, true, false, false);  /* MHA */
    test_attention(4, 2, true, false, false);  /* GQA */
    test_attention(4, 1, true, false, false);  /* MQA */
    test_attention(4, 4, false, false, false); /* non-causal */
    test_attention(4, 2, false, false, true);  /* GQA, biases */
    test_attention(4, 2, true, true, false);   /* GQA + RoPE */
    test_attention(2, 2, true, true, true);    /* MHA + RoPE + biases, hd = 8 */
    test_attention_first_row();
    test_rope_alone();
    for (int p = FE_POS_NONE; p < FE_POS_COUNT; p++) {
        test_embed_head_xent((FePosition)p, true, false);
        test_embed_head_xent((FePosition)p, false, true);
    }
    test_dropout();
    test_moe_capacity();
    test_moe(FE_ACT_SWIGLU, 2, 4.0, false, 0); /* C = N: nothing dropped */
    test_moe(FE_ACT_SWIGLU, 2, 0.5, false, 1); /* C = 2: drops */
    test_moe(FE_ACT_GELU, 1, 0.5, true, 1);
    test_moe(FE_ACT_RELU, 2, 1.25, true, -1);
    test_composite_errors();
    TEST_MAIN();
}
