/* frontend/frontend_int.h — declarations shared by the files of frontend/ and nobody
 * else. The public API is frontend.h.
 *
 * Sections: the lexer and parser (lex.c, parse.c, ast_print.c); the lowering
 * (lower*.c) keeps its own section below.
 */
#ifndef LLMC_FRONTEND_INT_H
#define LLMC_FRONTEND_INT_H

#include "frontend.h"

/* ===================================================================================
 * Lexer and parser (lex.c, parse.c, ast_print.c) — this section belongs to the parser.
 * =================================================================================== */

/* Limits that keep hostile input from exhausting the stack (see docs/llm.md). */
#define FE_MAX_ERRORS 50       /* then a note, and the parse stops */
#define FE_MAX_EXPR_DEPTH 200  /* the parser's recursion and the tree's height */
#define FE_MAX_BLOCK_DEPTH 100 /* nested blocks, the model block first, each 'else if' one */

typedef enum FeTokKind {
    FE_TOK_INVALID = 0,
    FE_TOK_EOF,
    FE_TOK_NEWLINE, /* one per run of line ends; none inside ( ) */
    FE_TOK_IDENT,
    FE_TOK_INT,
    FE_TOK_FLOAT,
    FE_TOK_STRING,
    /* keywords (contiguous, MODEL to DIV) */
    FE_TOK_MODEL, FE_TOK_TRAIN, FE_TOK_EXTERN, FE_TOK_REPEAT, FE_TOK_AS, FE_TOK_IF, FE_TOK_ELSE,
    FE_TOK_TRUE, FE_TOK_FALSE, FE_TOK_AND, FE_TOK_OR, FE_TOK_NOT, FE_TOK_DIV,
    /* punctuation */
    FE_TOK_PLUS, FE_TOK_MINUS, FE_TOK_STAR, FE_TOK_SLASH, FE_TOK_PERCENT, FE_TOK_POW,
    FE_TOK_EQ, FE_TOK_NE, FE_TOK_LT, FE_TOK_LE, FE_TOK_GT, FE_TOK_GE, FE_TOK_ASSIGN,
    FE_TOK_LPAREN, FE_TOK_RPAREN, FE_TOK_LBRACE, FE_TOK_RBRACE, FE_TOK_COMMA, FE_TOK_SEMI,
    FE_TOK_LBRACKET, FE_TOK_RBRACKET, FE_TOK_COLON, FE_TOK_ARROW, /* extern signatures: [ ] : -> */
    FE_TOK_ERROR, /* a run of bad characters, already reported */
    FE_TOK_COUNT
} FeTokKind;

typedef struct FeToken {
    FeTokKind kind;
    uint32_t line, col;   /* 1-based, byte column; NEWLINE and EOF sit right after the
                             previous token, for "expected X, found end of line" */
    uint32_t paren_depth; /* open '(' before this token (a '{' or '}' closes them all) */
    size_t start, len;    /* the bytes in the source; len 0 for NEWLINE and EOF */
    union {
        int64_t i;       /* INT (0 after an overflow error) */
        double f;        /* FLOAT */
        const char *str; /* IDENT, STRING (unescaped): NUL-terminated, in the arena */
    } v;
} FeToken;

/* The lexer is also the parser's diagnostic sink, so lexer and parser errors share one
 * cap and come out in source order. */
typedef struct FeLexer {
    const LlmcSource *src;
    const char *text;
    size_t len;
    size_t pos;        /* the first byte not yet lexed */
    uint32_t line;     /* line of pos */
    size_t line_start; /* offset of that line's first byte */
    uint32_t paren_depth;
    bool pending_newline;          /* a line end was crossed since the last token */
    bool any_token;                /* a token other than NEWLINE since the last NEWLINE */
    uint32_t last_line, last_col;  /* just past the last token other than NEWLINE */
    LlmcArena *arena;              /* identifier and string texts */
    LlmcDiags *diags;
    uint32_t errors_at_start;
    bool stop; /* FE_MAX_ERRORS reached: only EOF from now on, no more diagnostics */
} FeLexer;

/* src->text need not be NUL-terminated and may contain any bytes. */
void fe_lexer_init(FeLexer *L, const LlmcSource *src, LlmcArena *arena, LlmcDiags *diags);
/* The next token; EOF forever at the end (and once the error cap is reached). */
void fe_lex_next(FeLexer *L, FeToken *out);
/* Errors through the shared cap; notes are dropped once the cap is reached. */
void fe_lex_error(FeLexer *L, uint32_t line, uint32_t col, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void fe_lex_note(FeLexer *L, uint32_t line, uint32_t col, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
uint32_t fe_lex_error_count(const FeLexer *L);
/* For messages: "end of input", "end of line", or the token's text quoted (at most 32
 * bytes, unprintable bytes as \xNN). */
const char *fe_tok_describe(const FeLexer *L, const FeToken *t, char *buf, size_t n);
#define FE_DESCRIBE_MAX 160
/* The spelling of a keyword or punctuation kind ("repeat", "**"); a class name
 * ("identifier") for the others. */
const char *fe_tok_kind_text(FeTokKind k);

/* Parses the whole of src as one expression (blank lines and comments around it are
 * fine) — for `-D name=value` overrides. Nodes and strings go into arena; locations are
 * in src. Returns NULL after reporting errors to diags. */
FeExpr *fe_parse_expr(const LlmcSource *src, LlmcArena *arena, LlmcDiags *diags);

/* ===================================================================================
 * Lowering (lower*.c, build.c, builtin_*.c) — this section belongs to the lowering.
 *
 * Two layers:
 *   - FeBuild + fe_build_*: the composites (attention, norms, mlp, moe, ...) as plain C
 *     functions over an IrBuilder, with parameters created as graph inputs on demand.
 *     They know nothing about the AST, so tests build them on small inputs directly.
 *   - FeLower + FeBuiltin: the evaluator (lower.c) and the builtin table. A builtin is
 *     a name, an argument schema and a handler; argument checking is generic (lower.c),
 *     handlers (builtin_*.c) read checked values and call the composites.
 * =================================================================================== */

/* --- composites: FeBuild ----------------------------------------------------------- */

/* How a parameter starts (the init graph, docs/llm.md "Model options"). */
typedef enum FeInit {
    FE_INIT_INVALID = 0,
    FE_INIT_NORMAL,   /* normal(0, init_std): weights, embeddings, routers */
    FE_INIT_RESIDUAL, /* normal(0, init_std / sqrt(2 n_attention)) when residual_scale:
                         attn.wo, mlp.w2, experts' w2 */
    FE_INIT_ONES,     /* norm gains */
    FE_INIT_ZEROS,    /* biases */
    FE_INIT_COUNT
} FeInit;

typedef struct FeParam {
    const char *name; /* full name ("layers.3.attn.wq"), in the FeBuild arena */
    IrType type;
    FeInit init;
    IrId id;   /* its `input` node (role param) */
    IrLoc loc; /* the builder's loc when it was created: the call that owns it */
} FeParam;

/* A graph under construction plus what the composites share: the activation dtype,
 * the parameters created so far, and the rand keys (seed, step, micro) once a dropout
 * needs them. Scope and loc of new nodes are the builder's (b.scope, b.loc). */
/* What the composites do differently in an inference graph (lower_infer.c; frontend.h
 * "Inference graphs"). NULL in FeBuild.infer when lowering for training. */
typedef struct FeInfer {
    FeInferKind kind;
    int64_t seq;       /* tokens per run: T (logits), C (prefill), 1 (decode) */
    int64_t cache_len; /* C: the model's context */
    IrId pos;          /* prefill / decode: input pos i32[] (created on first use) */
    IrId *cache_in, *cache_out; /* [n_cache]: decode inputs / prefill + decode outputs */
    const char **cache_names;   /* [n_cache]: "cache.<site>.k", in the FeBuild arena */
    uint32_t n_cache, cap_cache;
} FeInfer;

typedef struct FeBuild {
    IrBuilder b;
    FeInfer *infer; /* NULL: training */
    IrDtype dt; /* float dtype of activations, params and constants (f32; tests use f64) */
    IrDtype mm_dt; /* operands of dense matmuls (fe_build_dense_matmul): dt, or bf16 under
                      the train block's precision = bf16 */
    LlmcArena arena;
    FeParam *params;
    uint32_t n_params, cap_params;
    uint32_t *param_slots; /* hash set over params[] by name: index + 1, 0 = empty */
    uint32_t n_param_slots;
    IrId seed, step, micro; /* IR_ID_NONE until the first rand asks for them */
    uint32_t *rand_sites;   /* site ids handed out, to catch hash collisions */
    uint32_t n_rand_sites, cap_rand_sites;
} FeBuild;

void fe_build_init(FeBuild *fb, IrGraph *g, IrDtype dt);
void fe_build_free(FeBuild *fb); /* not the graph */
/* A parameter input named `name` (role param, fb->dt) with its init rule. A second
 * parameter of the same name is a builder error. */
IrId fe_build_param(FeBuild *fb, const char *name, uint32_t rank, const int64_t *dims, FeInit init);
const FeParam *fe_build_find_param(const FeBuild *fb, const char *name); /* NULL if none */
/* "a.b" in fb's arena: a parameter's name below its site. */
const char *fe_build_name(FeBuild *fb, const char *a, const char *b);
/* The stable 31-bit id of a name: FNV-1a 32 of its bytes, top bit cleared. The init
 * graph keys each parameter's rand by it; dropout keys by its scope name. */
uint32_t fe_site_hash(const char *name);
/* rand(seed, step, micro) of x's shape, uniform, site fe_site_hash(site_name): creates
 * the inputs seed, step (state i32[]) and micro (data i32[]) on first use. A site id
 * already handed out is a builder error (a hash collision). */
IrId fe_build_rand_like(FeBuild *fb, IrId x, const char *site_name);

/* Small pieces (all in fb->dt, over the last axis unless said). */
IrId fe_build_scalar(FeBuild *fb, double v);             /* dt[] constant */
IrId fe_build_full(FeBuild *fb, double v, IrId like);     /* v broadcast to like's shape */
IrId fe_build_softmax(FeBuild *fb, IrId x);               /* exp(x - max) / sum */
IrId fe_build_logsumexp(FeBuild *fb, IrId x);             /* max + log sum exp(x - max); drops the axis */
IrId fe_build_mean_all(FeBuild *fb, IrId x);              /* mean of every element: dt[] */
/* A dense layer's product of activations by weights: x [.., K] w [K, N] -> [.., N], or
 * with tw w [N, K] used transposed (a tied head). In fb->dt; when fb->mm_dt is bf16 both
 * operands are cast to bf16 first and the matmul's result is f32 (bf16 products summed
 * in f32). The dense matmuls go through here: linear layers, the head, the MoE experts —
 * not attention's QK^T and PV, nor the MoE router (kept f32, builtin_moe.c). */
IrId fe_build_dense_matmul(FeBuild *fb, IrId x, IrId w, bool tw);
IrId fe_build_linear(FeBuild *fb, IrId x, IrId w, IrId bias /* or IR_ID_NONE */); /* dense x w + bias */
int64_t fe_type_dim(const FeBuild *fb, IrId x, int axis); /* size along axis (< 0: from the end); 0 for IR_ID_NONE */

/* embed, lm_head, cross_entropy (builtin_embed.c) */
typedef enum FePosition { FE_POS_NONE = 0, FE_POS_LEARNED, FE_POS_SINUSOIDAL, FE_POS_COUNT } FePosition;
typedef struct FeEmbedSpec {
    int64_t vocab, dim;
    int64_t context;     /* rows of pos_emb; bounds seq */
    FePosition position;
} FeEmbedSpec;
/* ids i32 [B, T] -> [B, T, D]: gather(tok_emb, ids) (+ positions). Parameters:
 * `tok_site` [V, D], with learned positions `pos_site` [context, D]. *table (may be
 * NULL) receives the tok_emb input, for a tied head. */
IrId fe_build_embed(FeBuild *fb, IrId ids, const FeEmbedSpec *s, const char *tok_site, const char *pos_site,
                    IrId *table);
/* The fixed 2017 sinusoid table [T, D] as a constant. */
IrId fe_build_sinusoid_table(FeBuild *fb, int64_t T, int64_t D);
/* x [.., D] -> [.., V]: x tied^T (tied = tok_emb [V, D]) or x site [D, V]; bias
 * `site.bias` [V]. */
IrId fe_build_lm_head(FeBuild *fb, IrId x, IrId tied, int64_t vocab, bool bias, const char *site);
/* mean over all positions of logsumexp(logits) - logits[target]: dt[]. logits [.., V],
 * targets i32 [..]. */
IrId fe_build_cross_entropy(FeBuild *fb, IrId logits, IrId targets);

/* layernorm, rmsnorm, dropout (builtin_norm.c) */
IrId fe_build_layernorm(FeBuild *fb, IrId x, double eps, bool bias, const char *site);
IrId fe_build_rmsnorm(FeBuild *fb, IrId x, double eps, const char *site);
/* x * (rand >= p) / (1 - p); p = 0 is x itself. rand site: fe_site_hash(site). */
IrId fe_build_dropout(FeBuild *fb, IrId x, double p, const char *site);

/* attention (builtin_attention.c) */
typedef struct FeAttentionSpec {
    int64_t heads, kv_heads;
    bool causal;
    bool rope;
    double rope_theta;
    double dropout; /* on the probabilities; rand site "<site>.dropout" */
    bool bias;
    bool unfused;   /* attention(.., fused = false): always the composite path (matmul, mask,
                       softmax, matmul); see builtin_attention.c for when it is taken anyway */
} FeAttentionSpec;
/* x [B, T, D] -> [B, T, D]. Parameters <site>.wq .wk .wv .wo (+ .bq .bk .bv .bo). */
IrId fe_build_attention(FeBuild *fb, IrId x, const FeAttentionSpec *s, const char *site);
/* Rotate-half RoPE over the last two axes of x [.., T, hd]. */
IrId fe_build_rope(FeBuild *fb, IrId x, double theta);

/* mlp and activations (builtin_mlp.c) */
typedef enum FeAct { FE_ACT_INVALID = 0, FE_ACT_RELU, FE_ACT_GELU, FE_ACT_SWIGLU, FE_ACT_COUNT } FeAct;
const char *fe_act_name(FeAct a);
FeAct fe_act_from_name(const char *s); /* FE_ACT_INVALID if unknown */
extern const char *const fe_act_option_names[]; /* "relu", "gelu", "swiglu", NULL */
typedef struct FeMlpSpec {
    int64_t hidden;
    FeAct act;
    bool bias;
} FeMlpSpec;
/* x [.., D] -> [.., D]. Parameters <site>.w1 .w2 (.w3 for swiglu) (+ .b1 .b2 (.b3)). */
IrId fe_build_mlp(FeBuild *fb, IrId x, const FeMlpSpec *s, const char *site);
IrId fe_build_relu(FeBuild *fb, IrId x);
IrId fe_build_gelu(FeBuild *fb, IrId x); /* tanh approximation */
IrId fe_build_silu(FeBuild *fb, IrId x);
/* The gated/plain activation between the two projections: act(h1) or silu(h1) * h3. */
IrId fe_build_act(FeBuild *fb, FeAct act, IrId h1, IrId h3);

/* mixture of experts (builtin_moe.c) */
typedef struct FeMoeSpec {
    int64_t experts, top_k, hidden;
    FeAct act;
    double capacity_factor, aux_loss, z_loss;
    bool bias;
} FeMoeSpec;
typedef struct FeMoeResult {
    IrId y;          /* [.., D] */
    IrId aux_loss;   /* dt[]: aux_loss * E * sum_e f_e P_e */
    IrId z_loss;     /* dt[]: z_loss * mean_n logsumexp(logits_n)^2 */
    IrId dropped;    /* dt[]: dropped (token, expert) assignments */
    int64_t capacity; /* C, slots per expert */
} FeMoeResult;
/* C = ceil(capacity_factor * k * N / E), at least 1 and at most N. */
int64_t fe_moe_capacity(double capacity_factor, int64_t k, int64_t n, int64_t experts);
/* Parameters <site>.router [D, E] and <site>.experts.<e>.w1 / .w2 (/ .w3) (+ biases).
 * false (builder error set) on failure. */
bool fe_build_moe(FeBuild *fb, IrId x, const FeMoeSpec *s, const char *site, FeMoeResult *out);

/* --- the evaluator and the builtin table ------------------------------------------ */

typedef struct FeLower FeLower; /* lower.c */
typedef struct FeSpec FeSpec;

/* A value of the language (docs/llm.md "Values"). FE_VAL_ERROR is the poison left by
 * an error already reported: everything built from it is silently an error too. */
typedef enum FeValKind {
    FE_VAL_ERROR = 0,
    FE_VAL_INT,
    FE_VAL_FLOAT,
    FE_VAL_BOOL,
    FE_VAL_STRING,
    FE_VAL_TUPLE,
    FE_VAL_SYMBOL, /* a bare option name: gelu, learned, none, cosine */
    FE_VAL_SPEC,   /* an option call: rope(theta = 10000), adamw(...) */
    FE_VAL_TENSOR,
    FE_VAL_COUNT
} FeValKind;

typedef struct FeValue {
    FeValKind kind;
    union {
        int64_t i;
        double f;
        bool b;
        const char *s; /* STRING, SYMBOL */
        struct { struct FeValue *items; uint32_t n; } tuple;
        const FeSpec *spec;
        IrId t; /* TENSOR: a node of the forward graph */
    } u;
} FeValue;

/* What an argument (or a train setting) accepts. */
typedef enum FeArgKind {
    FE_ARG_INVALID = 0,
    FE_ARG_TENSOR,
    FE_ARG_INT,    /* an int */
    FE_ARG_SIZE,   /* an int >= 1 */
    FE_ARG_NUMBER, /* an int or a float; delivered as a float */
    FE_ARG_BOOL,
    FE_ARG_NAME,   /* a string naming a site: letters, digits, _ and . between parts */
    FE_ARG_OPTION, /* a symbol or a spec from `options`; a symbol naming a spec builtin
                      becomes that spec with its defaults */
    FE_ARG_PAIR,   /* a tuple of two numbers; delivered as two floats */
    FE_ARG_COUNT
} FeArgKind;

/* Where an argument's value comes from when the call does not give it. */
typedef enum FeDefault {
    FE_DEF_REQUIRED = 0, /* no default: missing is an error */
    FE_DEF_ABSENT,       /* optional without a value (given[] tells) */
    FE_DEF_INT,          /* num */
    FE_DEF_NUMBER,       /* num */
    FE_DEF_BOOL,         /* num != 0 */
    FE_DEF_SYMBOL,       /* str */
    FE_DEF_PAIR,         /* (num, num2) */
    FE_DEF_MODEL_NAME,   /* the model's name `str` (e.g. vocab = vocab) */
    FE_DEF_ARG,          /* the value of the earlier argument `str` (kv_heads = heads) */
    FE_DEF_COUNT
} FeDefault;

typedef struct FeArgSpec {
    const char *name;
    FeArgKind kind;
    FeDefault def;
    double num, num2;
    const char *str;
    const char *const *options; /* FE_ARG_OPTION: accepted symbols and spec names, NULL-terminated */
} FeArgSpec;

typedef struct FeCall FeCall;
/* A builtin's handler: reads c->args (checked, defaults filled), builds IR, sets *out.
 * Returns false after reporting an error. */
typedef bool (*FeBuiltinFn)(FeCall *c, FeValue *out);

typedef enum FeWhere { FE_IN_MODEL = 1u << 0, FE_IN_TRAIN = 1u << 1 } FeWhere;

typedef struct FeBuiltin {
    const char *name;
    FeBuiltinFn fn; /* NULL for an option call: its value is the spec of its arguments */
    const FeArgSpec *args;
    uint32_t n_args;
    unsigned where; /* FeWhere bits */
} FeBuiltin;

/* An option call's checked arguments. */
struct FeSpec {
    const FeBuiltin *bi;
    FeValue *args;         /* [bi->n_args] */
    FeLoc *locs;           /* [bi->n_args]: where each value was written (loc for defaults) */
    bool *given;           /* [bi->n_args] */
    const LlmcSource *src; /* of the call */
    FeLoc loc;
};

struct FeCall {
    FeLower *L;
    const FeBuiltin *bi;
    const LlmcSource *src;
    FeLoc loc;     /* the call */
    FeValue *args; /* [bi->n_args] */
    FeLoc *locs;   /* [bi->n_args]: the value's location (the call's, or the model name's
                      binding, for a default) */
    bool *given;   /* [bi->n_args]: has a value (written or defaulted); false only for an
                      absent optional (FE_DEF_ABSENT, or FE_DEF_MODEL_NAME unassigned) */
    bool *written; /* [bi->n_args]: written in the call itself */
};

/* The table, one entry per builtin, by topic file. */
extern const FeBuiltin fe_builtin_embed, fe_builtin_lm_head, fe_builtin_cross_entropy; /* builtin_embed.c */
extern const FeBuiltin fe_builtin_layernorm, fe_builtin_rmsnorm, fe_builtin_dropout;   /* builtin_norm.c */
extern const FeBuiltin fe_builtin_attention, fe_builtin_rope;                          /* builtin_attention.c */
extern const FeBuiltin fe_builtin_mlp;                                                 /* builtin_mlp.c */
extern const FeBuiltin fe_builtin_moe;                                                 /* builtin_moe.c */
extern const FeBuiltin fe_builtin_adamw, fe_builtin_sgd, fe_builtin_constant, fe_builtin_cosine,
    fe_builtin_linear; /* lower_train.c */

/* Services of the evaluator to handlers (lower.c). */
/* Reports an error at argument `arg` (at the call when arg < 0). Returns false. */
bool fe_call_error(FeCall *c, int arg, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The call's site name: its `name = "..."` argument `name_arg` when given (pass -1 when
 * the builtin has none), else `kind`, `kind_2`, ... in the current naming scope, all
 * prefixed with the scope path. NULL after an error (reported). */
const char *fe_call_site(FeCall *c, const char *kind, int name_arg);
/* The forward graph's FeBuild with scope `scope` and the call's location. */
FeBuild *fe_call_build(FeCall *c, const char *scope);
/* Finishes a call that built IR: a builder error is reported at the call as
 * "<builtin>: <message>" (and cleared); else *out becomes the tensor. */
bool fe_call_result(FeCall *c, IrId result, FeValue *out);
/* Checks that tensor argument `arg` has a float dtype and rank in [min_rank, max_rank]
 * (max 0: any); `shape` describes the expected shape for the message ("[batch, seq, dim]"). */
bool fe_call_check_tensor(FeCall *c, int arg, uint32_t min_rank, uint32_t max_rank, const char *shape);
/* The symbol or spec name of an FE_ARG_OPTION value. */
const char *fe_option_name(const FeValue *v);
/* The value of argument `name` of a spec (NULL when the spec has no such argument). */
const FeValue *fe_spec_arg(const FeSpec *s, const char *name);
const FeLoc *fe_spec_loc(const FeSpec *s, const char *name);

/* Model-wide state handlers update. */
void fe_lower_set_tok_emb(FeLower *L, IrId table);
/* The last embed's table, or IR_ID_NONE. */
IrId fe_lower_tok_emb(const FeLower *L);
void fe_lower_count_attention(FeLower *L);
/* Reports, once per run, that the sequence length exceeds the model's context, at the
 * train block's seq (where the fix belongs). Returns false. */
bool fe_lower_seq_exceeds(FeLower *L, int64_t seq, int64_t context);
/* Whether a -D override replaces recipe argument `arg` (lr, warmup, min_lr...): the
 * train block then skips its own range check of the source value, and the record is
 * checked once the override is applied (lower.c, apply_recipe_args). */
bool fe_lower_recipe_overridden(const FeLower *L, const char *arg);
void fe_lower_add_moe(FeLower *L, const FeMoeResult *r);

/* For the train block (lower_train.c). */
typedef struct FeBinding {
    const char *name;
    FeValue v;
    const LlmcSource *src; /* of the value expression */
    FeLoc loc;             /* of the value expression */
} FeBinding;
/* The current block's binding of `name`, or NULL. */
const FeBinding *fe_lower_binding(const FeLower *L, const char *name);
bool fe_lower_error(FeLower *L, const LlmcSource *src, FeLoc loc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Checks (and converts) v against a, as "<subject> must be ...". false after an error. */
bool fe_lower_check_value(FeLower *L, const FeArgSpec *a, FeValue *v, const LlmcSource *src, FeLoc loc,
                          const char *subject);
/* The train settings (docs/llm.md "The train block") as argument specs: NULL if `name`
 * is not one. fe_train_settings lists them all (count in *n). */
const FeArgSpec *fe_train_setting(const char *name);
const FeArgSpec *fe_train_settings(uint32_t *n);
/* Reads the train block's bindings into t (defaults for the rest; t->seq = 0 when seq
 * is not set: the model's context decides) and checks their ranges. */
bool fe_lower_train(FeLower *L, IrTrainConfig *t);

/* Inference lowering (lower_infer.c). fe_lower_run is fe_lower with `infer` (NULL:
 * training) set on the builder; finishing an inference program goes to
 * fe_infer_finish instead of the loss. */
bool fe_lower_run(const FeProgram *p, const FeLowerOptions *opt, FeInfer *infer, IrModule *out, LlmcDiags *diags);
bool fe_infer_finish(FeLower *L, FeBuild *fb, const FeBinding *logits, IrId tokens, const LlmcSource *src,
                     FeLoc model_loc, IrModule *out);
/* Decode/prefill attention pieces: pos i32[] (the input, made on first use), and the
 * cache of (site, "k"|"v") recorded as input (decode) and output. */
IrId fe_infer_pos(FeBuild *fb);
/* Row pos of table [N, ..]: [1, ..] (positions in decode). */
IrId fe_infer_rows(FeBuild *fb, IrId table);
/* Prefill: value [B, K, C, hd] is output "cache.<site>.<kv>". */
void fe_infer_cache_output(FeBuild *fb, const char *site, const char *kv, IrId value);
/* Decode: input "cache.<site>.<kv>" [B, K, C, hd] with row pos replaced by x [B, K, 1, hd],
 * which is also the output of that name (written back in place). */
IrId fe_infer_cache_write(FeBuild *fb, const char *site, const char *kv, IrId x);

/* Extern functions (lower_extern.c). */
const FeBuiltin *fe_lower_find_builtin(const char *name); /* lower.c; NULL if none */
const FeExtern *fe_extern_find(const FeProgram *p, const char *name); /* NULL if none */
/* Checks every declaration (dtypes, shapes, the backward's signature, names). */
bool fe_extern_check_decls(FeLower *L, const FeProgram *p);
/* A call of extern x with its arguments evaluated (args[call's n_args]); fb is the
 * forward graph's builder positioned at the call, NULL outside the model block. */
bool fe_extern_call(FeLower *L, const LlmcSource *src, FeBuild *fb, const FeExtern *x, const FeExpr *call,
                    const FeValue *args, FeValue *out);

/* "did you mean": the candidate closest to `name` by edit distance, or NULL when none
 * is close enough to be a likely typo. */
const char *fe_closest(const char *name, const char *const *cands, uint32_t n);

#endif /* LLMC_FRONTEND_INT_H */
