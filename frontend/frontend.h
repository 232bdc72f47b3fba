/* frontend/frontend.h — the public face of frontend/: the .llm language.
 *
 * Pipeline inside this folder:
 *   text ─fe_parse─▶ FeProgram (AST, every node with its line:col)
 *        ─fe_lower─▶ IrModule { @forward: the loss of one micro-batch,
 *                               @init:    every parameter's initial value from a seed }
 * with the train {} block lowered into the IrTrainConfig record on @forward.
 * The grammar is in docs/llm.md and above each parse function in parse.c.
 *
 * What is not here: autodiff, optimizers, codegen (compiler/), running (runtime/).
 * Nothing downstream ever sees this AST.
 */
#ifndef LLMC_FRONTEND_H
#define LLMC_FRONTEND_H

#include "ir.h"

/* ===================================================================================
 * AST
 * =================================================================================== */

typedef struct FeLoc {
    uint32_t line, col; /* 1-based; of the node's first token (a binary node: of its operator) */
} FeLoc;

typedef enum FeExprKind {
    FE_EXPR_INVALID = 0,
    FE_EXPR_INT,    /* 42 */
    FE_EXPR_FLOAT,  /* 3e-4, 0.5 */
    FE_EXPR_BOOL,   /* true false */
    FE_EXPR_STRING, /* "text" */
    FE_EXPR_NAME,   /* dim, gelu, x */
    FE_EXPR_TUPLE,  /* (0.9, 0.95) — two or more items */
    FE_EXPR_UNARY,  /* -x, not x */
    FE_EXPR_BINARY, /* x + y, ... */
    FE_EXPR_CALL,   /* attention(x, heads = 8) */
    FE_EXPR_COUNT
} FeExprKind;

typedef enum FeOp {
    FE_OP_INVALID = 0,
    FE_OP_ADD, FE_OP_SUB, FE_OP_MUL, FE_OP_DIV, /* + - * /        */
    FE_OP_FLOORDIV, FE_OP_MOD, FE_OP_POW,       /* div % **        */
    FE_OP_EQ, FE_OP_NE, FE_OP_LT, FE_OP_LE,     /* == != < <=      */
    FE_OP_GT, FE_OP_GE,                         /* > >=            */
    FE_OP_AND, FE_OP_OR,                        /* and or          */
    FE_OP_NEG, FE_OP_NOT,                       /* unary - and not */
    FE_OP_COUNT
} FeOp;

typedef struct FeExpr FeExpr;

typedef struct FeArg {
    const char *name; /* NULL for a positional argument */
    FeLoc name_loc;
    FeExpr *value;
} FeArg;

struct FeExpr {
    FeExprKind kind;
    FeLoc loc;
    union {
        int64_t i;                                                      /* INT */
        double f;                                                       /* FLOAT */
        bool b;                                                         /* BOOL */
        const char *str;                                                /* STRING (unescaped), NAME */
        struct { FeExpr **items; uint32_t n; } tuple;                   /* TUPLE */
        struct { FeOp op; FeExpr *x; } unary;                           /* UNARY */
        struct { FeOp op; FeExpr *lhs, *rhs; } binary;                  /* BINARY */
        struct { const char *callee; FeArg *args; uint32_t n_args; } call; /* CALL */
    } u;
};

typedef enum FeStmtKind {
    FE_STMT_INVALID = 0,
    FE_STMT_ASSIGN, /* name = expr */
    FE_STMT_REPEAT, /* repeat count [as i] { body } */
    FE_STMT_IF,     /* if cond { then } [else { else } | else if ...] */
    FE_STMT_COUNT
} FeStmtKind;

typedef struct FeStmt FeStmt;

typedef struct FeBody {
    FeStmt **stmts;
    uint32_t n;
} FeBody;

struct FeStmt {
    FeStmtKind kind;
    FeLoc loc;
    union {
        struct { const char *name; FeLoc name_loc; FeExpr *value; } assign;
        struct { FeExpr *count; const char *index; /* NULL if no `as` */ FeBody body; } repeat;
        struct { FeExpr *cond; FeBody then_body, else_body; } if_;
    } u;
};

typedef enum FeBlockKind { FE_BLOCK_INVALID = 0, FE_BLOCK_MODEL, FE_BLOCK_TRAIN, FE_BLOCK_COUNT } FeBlockKind;

typedef struct FeBlock {
    FeBlockKind kind;
    const char *name; /* model name; NULL for train */
    FeLoc loc;
    FeBody body;
} FeBlock;

/* extern "library" fn NAME(PARAMS) -> TYPE [backward NAME [(PARAMS) -> TYPE]]
 * (docs/llm.md "Extern functions"). Checked by the lowering (lower_extern.c). */
typedef enum FeExternShape {
    FE_XSHAPE_INVALID = 0,
    FE_XSHAPE_ANY,  /* [*]: any shape */
    FE_XSHAPE_SAME, /* [same]: the first parameter's shape */
    FE_XSHAPE_COUNT
} FeExternShape;

typedef struct FeExternType {
    const char *dtype; /* as written: "f32" */
    FeExternShape shape;
    FeLoc loc;
} FeExternType;

typedef struct FeExternParam {
    const char *name;
    FeLoc loc;
    FeExternType type;
} FeExternParam;

typedef struct FeExternSig {
    const char *name; /* the C function */
    FeLoc loc;
    bool spelled;     /* a backward may leave its signature out */
    FeExternParam *params;
    uint32_t n_params;
    FeExternType result;
} FeExternSig;

typedef struct FeExtern {
    FeLoc loc;           /* 'extern' */
    const char *library; /* as written (unescaped) */
    FeLoc library_loc;
    FeExternSig fn;
    bool has_backward;
    FeExternSig backward;
} FeExtern;

/* A parsed .llm file: one model block and at most one train block. Owns all its
 * memory (one arena) and a copy of the source text, so diagnostics can quote it. */
typedef struct FeProgram {
    LlmcSource src;
    FeBlock *model;
    FeBlock *train; /* NULL when absent: defaults apply */
    FeExtern *externs; /* top-level extern declarations, in order */
    uint32_t n_externs;
    LlmcArena arena;
} FeProgram;

/* Parses src; collects diagnostics and recovers (several errors per run). Returns
 * NULL when there were errors. The program copies src's text. */
FeProgram *fe_parse(const LlmcSource *src, LlmcDiags *diags);
void fe_program_free(FeProgram *p);
/* The AST as an indented tree, one node per line with line:col — `llmc --emit=ast`. */
void fe_ast_print(const FeProgram *p, LlmcBuf *out);
const char *fe_op_text(FeOp op); /* "+", "and", ... */

/* ===================================================================================
 * Lowering
 * =================================================================================== */

/* `-D name=value`: overrides a top-level assignment of the model or train block.
 * value is .llm expression text ("128", "3e-4", "(0.9, 0.95)", "gelu"). */
typedef struct FeOverride {
    const char *name;
    const char *value;
} FeOverride;

typedef struct FeLowerOptions {
    const FeOverride *overrides;
    uint32_t n_overrides;
} FeLowerOptions;

/* Evaluates the program and builds the module: graph @forward (outputs "loss", plus
 * "moe_aux_loss" and "moe_dropped_tokens" when the model has MoE layers) carrying the
 * train record, and graph @init (input "seed", one output per parameter, named as the
 * parameter). Both are verified. Diagnostics point into the .llm source (or at the -D
 * option they come from). Returns false on any error; *out is then empty. */
bool fe_lower(const FeProgram *p, const FeLowerOptions *opt, IrModule *out, LlmcDiags *diags);
/* fe_lower with batch = 1 and seq = 1 appended to the overrides: the module that names
 * the architecture alone (parameter names, shapes, every op) and not the recipe, which
 * the model hash of bundles and checkpoints is taken from (rt_model_hash of @forward). */
bool fe_lower_architecture(const FeProgram *p, const FeLowerOptions *opt, IrModule *out, LlmcDiags *diags);

/* Inference graphs (lower_infer.c), lowered from the same program with batch = 1 and
 * every dropout off; the model must bind `logits` (a float [1, T, vocab] tensor). Inputs
 * come params first (all of them, in @forward's order), then the kind's own:
 *   @logits   tokens i32[1, T]                    -> logits f32[1, T, V]
 *   @prefill  tokens i32[1, C], pos i32[]         -> logits f32[1, 1, V] (at position pos),
 *                                                    cache.<attn site>.k / .v [1, kv_heads, C, hd]
 *   @decode   tokens i32[1, 1], pos i32[],        -> logits f32[1, 1, V],
 *             cache.<site>.k / .v (state)            cache.<site>.k / .v (written back in place)
 * T = seq when seq > 0, else the model's context; C (the cache length) is always the
 * context. K is stored after RoPE. Prefill reads the prompt padded to C (causal masking
 * keeps the padding out of earlier positions); decode writes row pos of every cache and
 * attends to rows 0..pos. */
typedef enum FeInferKind {
    FE_INFER_NONE = 0,
    FE_INFER_LOGITS,
    FE_INFER_PREFILL,
    FE_INFER_DECODE,
    FE_INFER_COUNT
} FeInferKind;
const char *fe_infer_graph_name(FeInferKind k); /* "logits", "prefill", "decode" */
/* One inference graph into out (appended; verified). false + diagnostics on error. */
bool fe_lower_inference(const FeProgram *p, const FeLowerOptions *opt, FeInferKind kind, int64_t seq, IrModule *out,
                        LlmcDiags *diags);

#endif /* LLMC_FRONTEND_H */
