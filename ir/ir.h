/* ir/ir.h — the public face of ir/: the tensor IR of llmc and the tiny base layer
 * everything else stands on.
 *
 * What is here:
 *   - base layer (llmc_ prefix): asserts, arenas, growable strings, error values,
 *     accumulating diagnostics with caret rendering, checked file I/O;
 *   - tensor types and dtypes;
 *   - the op table (rows in ir/ops.def) with typed attribute structs and their schema;
 *   - graphs: one arena, dense node array in topological order, 32-bit ids, interned
 *     strings, typed named inputs and named outputs, provenance on every node;
 *   - the builder (shape inference, sticky error values, never aborts on user error);
 *   - the verifier, the .llir printer and parser, graph statistics;
 *   - the reference interpreter (f32 or f64; simulated N-rank world for collectives).
 *
 * What is not: anything about .llm source, autodiff, codegen or MPI. Those live in
 * frontend/, compiler/ and runtime/ and only ever use what this header offers.
 */
#ifndef LLMC_IR_H
#define LLMC_IR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ===================================================================================
 * Base layer
 * =================================================================================== */

/* Internal invariant: aborts with file and line. Never used for user errors. */
#define LLMC_ASSERT(cond)                                                              \
    do {                                                                               \
        if (!(cond)) llmc_assert_fail(#cond, __FILE__, __LINE__);                      \
    } while (0)
_Noreturn void llmc_assert_fail(const char *expr, const char *file, int line);

/* Allocation that cannot fail silently: aborts (with a message) on out-of-memory. */
void *llmc_xmalloc(size_t size);
void *llmc_xcalloc(size_t count, size_t size);
void *llmc_xrealloc(void *ptr, size_t size);
char *llmc_xstrdup(const char *s);

/* Bump arena: many small allocations freed together. Chunks grow geometrically;
 * memory is zeroed. */
typedef struct LlmcArenaChunk LlmcArenaChunk;
typedef struct LlmcArena {
    LlmcArenaChunk *head;
    size_t bytes_used; /* total handed out, for statistics */
} LlmcArena;
void *llmc_arena_alloc(LlmcArena *a, size_t size); /* 16-byte aligned, zeroed */
char *llmc_arena_strndup(LlmcArena *a, const char *s, size_t n);
void llmc_arena_free(LlmcArena *a);

/* Growable string. */
typedef struct LlmcBuf {
    char *data; /* NUL-terminated when len > 0 or after any append */
    size_t len, cap;
} LlmcBuf;
void llmc_buf_put(LlmcBuf *b, const char *s, size_t n);
void llmc_buf_puts(LlmcBuf *b, const char *s);
void llmc_buf_putc(LlmcBuf *b, char c);
void llmc_buf_printf(LlmcBuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void llmc_buf_vprintf(LlmcBuf *b, const char *fmt, va_list ap);
void llmc_buf_free(LlmcBuf *b);

/* An error value: the first message set wins, later ones are dropped, so the root cause
 * is what the user sees. */
typedef struct LlmcErr {
    bool set;
    char msg[512];
} LlmcErr;
void llmc_err_set(LlmcErr *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void llmc_err_clear(LlmcErr *e);

/* A source text with a name, for diagnostics that quote the offending line. */
typedef struct LlmcSource {
    const char *name; /* file name as given by the user */
    const char *text; /* not necessarily NUL-terminated */
    size_t len;
} LlmcSource;

typedef enum LlmcSeverity { LLMC_SEV_ERROR = 1, LLMC_SEV_WARNING, LLMC_SEV_NOTE } LlmcSeverity;

typedef struct LlmcDiag {
    LlmcSeverity severity;
    char *file;      /* NULL when the diagnostic has no location */
    uint32_t line;   /* 1-based; 0 when unknown */
    uint32_t col;    /* 1-based byte column */
    char *line_text; /* copy of the source line, or NULL */
    char *msg;
} LlmcDiag;

/* Diagnostics accumulate: parsers recover and report several errors at once. */
typedef struct LlmcDiags {
    LlmcDiag *items;
    uint32_t count, cap;
    uint32_t errors;
} LlmcDiags;
void llmc_diag_at(LlmcDiags *d, LlmcSeverity sev, const LlmcSource *src, uint32_t line,
                  uint32_t col, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void llmc_diag_vat(LlmcDiags *d, LlmcSeverity sev, const LlmcSource *src, uint32_t line,
                   uint32_t col, const char *fmt, va_list ap);
/* Prints `file:line:col: error: msg`, the source line and a caret under the column. */
void llmc_diags_print(const LlmcDiags *d, FILE *out);
void llmc_diags_free(LlmcDiags *d);

/* Checked I/O: errors name the path and the errno text. The read buffer is
 * NUL-terminated (not counted in *len). */
bool llmc_file_read(const char *path, char **data, size_t *len, LlmcErr *err);
/* Writes atomically: to path.tmp, fsync, rename. */
bool llmc_file_write(const char *path, const void *data, size_t len, LlmcErr *err);

/* ===================================================================================
 * Types
 * =================================================================================== */

#define IR_MAX_RANK 8

typedef enum IrDtype {
    IR_DTYPE_INVALID = 0,
    IR_DTYPE_F32,
    IR_DTYPE_F64,
    IR_DTYPE_I32,
    IR_DTYPE_BF16, /* bfloat16: f32's sign and 8 exponent bits, 7 stored mantissa bits */
    IR_DTYPE_COUNT
} IrDtype;

typedef struct IrType {
    IrDtype dtype;
    uint32_t rank;
    int64_t dims[IR_MAX_RANK];
} IrType;

const char *ir_dtype_name(IrDtype dt);             /* "f32"; "?" for invalid */
IrDtype ir_dtype_from_name(const char *s, size_t n); /* IR_DTYPE_INVALID if unknown */
size_t ir_dtype_size(IrDtype dt);
bool ir_dtype_is_float(IrDtype dt);

/* bfloat16 rounding, shared by the interpreter, the builder, the text parser and the
 * runtime (ir/bf16.c). ir_round_bf16: x rounded once, directly from the double (never
 * through float, which would round twice), to the nearest bf16, ties to even; bf16's
 * subnormals are f32's with 7 fraction bits (steps of 2^-133); |x| >= 0x1.ffp127 (the
 * halfway point above the largest finite 0x1.fep127) becomes +-inf; a NaN becomes the NaN
 * a bf16 holds (ir_bf16_from_double's, widened); +-0 keep their sign. The result is a
 * double holding a bf16 value exactly, so a JIT kernel's 16 bits can hold it too. */
double ir_round_bf16(double x);
/* The bits of ir_round_bf16(x). A NaN becomes a quiet NaN with x's sign and the 6 bits
 * below the double's quiet bit as payload, so a bf16 NaN widened to f32 or f64 comes
 * back as itself, quieted. */
uint16_t ir_bf16_from_double(double x);
double ir_bf16_to_double(uint16_t bits); /* exact */

IrType ir_type_make(IrDtype dt, uint32_t rank, const int64_t *dims);
IrType ir_type_scalar(IrDtype dt);
int64_t ir_type_numel(const IrType *t);
uint64_t ir_type_bytes(const IrType *t);
bool ir_type_equal(const IrType *a, const IrType *b);
bool ir_type_same_shape(const IrType *a, const IrType *b);
/* "f32[2,3]"; writes at most n bytes, returns buf. 96 bytes always suffice. */
char *ir_type_format(const IrType *t, char *buf, size_t n);
#define IR_TYPE_STR_MAX 128

/* ===================================================================================
 * The op table
 * =================================================================================== */

typedef enum IrOp {
    IR_OP_INVALID = 0,
#define IR_OP(ENUM, mn, arity, kind, traits, attrs, shape, flops) IR_OP_##ENUM,
#include "ops.def"
#undef IR_OP
    IR_OP_COUNT
} IrOp;

typedef enum IrOpKind {
    IR_KIND_INVALID = 0,
    IR_KIND_SOURCE,
    IR_KIND_ELEMENTWISE,
    IR_KIND_REDUCE,
    IR_KIND_MOVEMENT,
    IR_KIND_CONTRACTION,
    IR_KIND_INDEX,
    IR_KIND_RANDOM,
    IR_KIND_EXTERN,
    IR_KIND_COLLECTIVE,
    IR_KIND_ATTENTION, /* attention, attention_lse, attention_grad: fused, tiled kernels */
    IR_KIND_COUNT
} IrOpKind;

enum {
    IR_TRAIT_COMMUTATIVE = 1u << 0, /* op(x, y) == op(y, x) */
    IR_TRAIT_NONDIFF = 1u << 1,     /* no gradient flows through the result */
    IR_TRAIT_FLOAT_ONLY = 1u << 2,  /* operands must have a float dtype */
};

/* --- attributes: one typed struct per family, one schema per op row ---------------- */

typedef enum IrRole { IR_ROLE_INVALID = 0, IR_ROLE_PARAM, IR_ROLE_STATE, IR_ROLE_DATA, IR_ROLE_COUNT } IrRole;
typedef enum IrRandDist { IR_RAND_INVALID = 0, IR_RAND_UNIFORM, IR_RAND_NORMAL, IR_RAND_COUNT } IrRandDist;
typedef enum IrReduceKind { IR_REDUCE_INVALID = 0, IR_REDUCE_SUM, IR_REDUCE_MAX, IR_REDUCE_COUNT } IrReduceKind;
/* Which operand attention_grad differentiates by. */
typedef enum IrAttentionWrt { IR_ATTENTION_WRT_INVALID = 0, IR_ATTENTION_Q, IR_ATTENTION_K, IR_ATTENTION_V, IR_ATTENTION_WRT_COUNT } IrAttentionWrt;

typedef struct IrInts {
    uint32_t n;
    int64_t v[IR_MAX_RANK];
} IrInts;

/* Constant payload, in the node's dtype (float, double, int32_t), row-major.
 * count is 1 (a splat) or the node's numel. Lives in the graph arena. */
typedef struct IrData {
    uint64_t count;
    void *bytes;
} IrData;

typedef union IrAttrs {
    struct { uint32_t name; IrRole role; } input;          /* name: interned */
    struct { IrData value; } constant;
    struct { int64_t axis; bool keepdims; } reduce;
    struct { IrInts perm; } permute;
    struct { IrInts dims; } broadcast;
    struct { IrInts start, end, step; } slice;            /* step empty = all 1 */
    struct { int64_t axis; } axis;                          /* concat, iota */
    struct { bool ta, tb; } matmul;
    struct { int64_t axis, batch_dims; } gather;            /* gather, scatter_add */
    struct { int64_t k; } topk;
    struct { int64_t axis; bool exclusive, reverse; } cumsum;
    /* shard_axis >= 0: this node is block `rank` along shard_axis of an unsharded
     * tensor `shards` times as long there, and draws that block's values. */
    struct { int64_t site; IrRandDist dist; int64_t shard_axis, shards; } rand;
    struct { uint32_t symbol, backward; } extern_call;      /* interned "lib:fn"; backward 0 = none */
    struct { int64_t axis, concat_axis, ranks; IrReduceKind reduce; } coll;
    struct { double scale; bool causal; IrAttentionWrt wrt; } attention; /* wrt: attention_grad only */
} IrAttrs;

typedef enum IrAttrKind {
    IR_ATTR_INVALID = 0,
    IR_ATTR_INT,    /* int64_t */
    IR_ATTR_BOOL,   /* bool */
    IR_ATTR_INTS,   /* IrInts */
    IR_ATTR_ENUM,   /* an enum stored as int; names in IrAttrField.enum_names */
    IR_ATTR_STRING, /* uint32_t interned id; 0 = absent */
    IR_ATTR_DATA,   /* IrData, in the node's dtype */
    IR_ATTR_FLOAT,  /* double (the training record; no op uses it) */
    IR_ATTR_COUNT
} IrAttrKind;

/* One attribute of an op: how it is named in text, where it lives in IrAttrs, and its
 * default (a field equal to its default is omitted when printing). */
typedef struct IrAttrField {
    const char *name;
    IrAttrKind kind;
    size_t offset;                 /* offsetof(IrAttrs, ...) */
    bool required;                 /* must appear in text; no default */
    int64_t default_int;           /* INT, BOOL, ENUM */
    double default_float;          /* FLOAT */
    const char *const *enum_names; /* ENUM: index -> name, NULL-terminated */
} IrAttrField;

typedef struct IrAttrSchema {
    const IrAttrField *fields; /* sorted by name: the canonical print order */
    uint32_t count;
} IrAttrSchema;

/* What statistics count as an op's arithmetic (the ops.def `flops` column). */
typedef enum IrFlops {
    IR_FLOPS_INVALID = 0,
    IR_FLOPS_NONE,    /* free: sources, movement, gathers, collectives */
    IR_FLOPS_OUT,     /* one per result element */
    IR_FLOPS_IN,      /* one per element of operand 0 (reductions) */
    IR_FLOPS_UPDATES, /* one per element of operand 1 (scatter_add) */
    IR_FLOPS_MATMUL,  /* 2*M*N*K per batch element */
    IR_FLOPS_ATTENTION, /* the matmuls an attention op stands for (ops.def) */
    IR_FLOPS_COUNT
} IrFlops;

typedef struct IrOpInfo {
    const char *name; /* mnemonic */
    int arity;        /* -1: variadic */
    IrOpKind kind;
    unsigned traits;
    const IrAttrSchema *attrs;
    IrFlops flops;
} IrOpInfo;

const IrOpInfo *ir_op_info(IrOp op);
IrOp ir_op_from_name(const char *s, size_t n); /* IR_OP_INVALID if unknown */
const char *ir_op_name(IrOp op);
const char *ir_role_name(IrRole r);
/* Sets every field of *a to its default. */
void ir_attrs_init_defaults(IrOp op, IrAttrs *a);

/* ===================================================================================
 * Graphs
 * =================================================================================== */

typedef uint32_t IrId;
#define IR_ID_NONE UINT32_MAX

/* Where a node came from in .llm source; file is interned, 0 = unknown. */
typedef struct IrLoc {
    uint32_t file, line, col;
} IrLoc;

typedef struct IrNode {
    IrOp op;
    IrType type;
    uint32_t n_operands;
    IrId *operands; /* [n_operands], in the graph arena */
    IrAttrs attrs;
    uint32_t scope; /* interned hierarchical name, e.g. "layers.3.attn.wq"; 0 = none */
    IrLoc loc;
} IrNode;

typedef struct IrOutput {
    uint32_t name; /* interned */
    IrId node;
} IrOutput;

typedef struct IrStrTable {
    char **strs;    /* [count]; strs[0] = "" */
    uint32_t count, cap;
    uint32_t *slots; /* open addressing, value = id + 1, 0 = empty */
    uint32_t n_slots;
} IrStrTable;

/* --- the training-config record -------------------------------------------------------
 * What the train {} block of a .llm file says, lowered by the frontend and attached to
 * the forward graph; printed and parsed with it (`train {...}` as the graph's first
 * line). compiler/ learns the recipe from this record, never from the AST. Its fields
 * are described by a schema like an op's attributes, so text handles it generically. */
typedef enum IrOptimizer { IR_OPTIMIZER_INVALID = 0, IR_OPTIMIZER_ADAMW, IR_OPTIMIZER_SGD, IR_OPTIMIZER_COUNT } IrOptimizer;
typedef enum IrSchedule {
    IR_SCHEDULE_INVALID = 0,
    IR_SCHEDULE_CONSTANT,     /* lr after warmup */
    IR_SCHEDULE_COSINE,       /* linear warmup, cosine decay to min_lr at `steps` */
    IR_SCHEDULE_LINEAR,       /* linear warmup, linear decay to min_lr at `steps` */
    IR_SCHEDULE_COUNT
} IrSchedule;
typedef enum IrRemat { IR_REMAT_INVALID = 0, IR_REMAT_NONE, IR_REMAT_LAYERS, IR_REMAT_COUNT } IrRemat;
typedef enum IrTrainPrecision { IR_TRAIN_INVALID = 0, IR_TRAIN_FP32, IR_TRAIN_BF16, IR_TRAIN_PRECISION_COUNT } IrTrainPrecision;

typedef struct IrTrainConfig {
    bool present;       /* false: the graph carries no record (printed as nothing) */
    uint32_t model;     /* interned model name */
    int64_t batch;      /* sequences per micro-batch */
    int64_t seq;        /* tokens per sequence */
    int64_t accumulate; /* micro-batches per optimizer step, over all ranks together */
    int64_t steps;      /* length of the schedule */
    int64_t seed;
    IrOptimizer optimizer;
    double lr, beta1, beta2, eps, weight_decay, momentum; /* momentum: sgd only */
    IrSchedule schedule;
    int64_t warmup;        /* steps of linear warmup */
    double min_lr;
    double clip_grad_norm; /* global norm; 0 = off */
    bool decay_1d;         /* weight decay on 1-D params (norm gains, biases) too */
    bool decay_embeddings; /* weight decay on embedding tables (tok_emb, pos_emb) too */
    IrRemat remat;
    IrTrainPrecision precision;
} IrTrainConfig;

/* The record's defaults (present = false): batch 1, seq 1, accumulate 1, steps 1000,
 * seed 0, adamw(lr 3e-4, betas (0.9, 0.95), eps 1e-8, weight_decay 0.1), constant
 * schedule, warmup 0, min_lr 0, no clipping, no decay on 1-D params or embeddings, no remat,
 * fp32. */
void ir_train_defaults(IrTrainConfig *t);
const IrAttrSchema *ir_train_schema(void); /* fields over IrTrainConfig, sorted by name */
/* Range checks: sizes >= 1, lr > 0, betas in [0,1), eps > 0, weight_decay >= 0,
 * 0 <= warmup <= steps, 0 <= min_lr <= lr, clip >= 0. Names the field. */
bool ir_train_check(const IrTrainConfig *t, LlmcErr *err);

typedef struct IrGraph {
    uint32_t name; /* interned */
    IrTrainConfig train;
    IrNode *nodes; /* [n_nodes], topological order; id = index */
    uint32_t n_nodes, cap_nodes;
    IrOutput *outputs;
    uint32_t n_outputs, cap_outputs;
    LlmcArena arena;
    IrStrTable strings;
} IrGraph;

IrGraph *ir_graph_new(const char *name);
void ir_graph_free(IrGraph *g);
uint32_t ir_graph_intern(IrGraph *g, const char *s);
uint32_t ir_graph_intern_n(IrGraph *g, const char *s, size_t n);
const char *ir_graph_str(const IrGraph *g, uint32_t id); /* "" for 0 */
const char *ir_graph_name(const IrGraph *g);
/* Appends a node as given: no checks (the parser uses this, then verifies). Copies
 * operands into the arena. Returns the new id. */
IrId ir_graph_add_node(IrGraph *g, const IrNode *proto);
const IrNode *ir_graph_node(const IrGraph *g, IrId id);
void ir_graph_add_output(IrGraph *g, const char *name, IrId node);
/* Input nodes in graph order; returns the count, fills ids[] when not NULL. */
uint32_t ir_graph_inputs(const IrGraph *g, IrId *ids);
IrId ir_graph_find_input(const IrGraph *g, const char *name); /* IR_ID_NONE if absent */
/* Deep copy, strings and data included. */
IrGraph *ir_graph_clone(const IrGraph *g);

/* A module: the graphs of one .llir file (a training step has two). */
typedef struct IrModule {
    IrGraph **graphs;
    uint32_t n_graphs;
} IrModule;
void ir_module_add(IrModule *m, IrGraph *g); /* takes ownership */
void ir_module_free(IrModule *m);

/* ===================================================================================
 * Builder: shape inference with sticky error values
 * =================================================================================== */

/* Every ir_build_* returns IR_ID_NONE on error and records the first message in b->err
 * (naming the op and the shapes involved). An IR_ID_NONE operand propagates without a
 * new message, so a caller can build a whole expression and check once. */
typedef struct IrBuilder {
    IrGraph *g;
    uint32_t scope; /* stamped on every node built */
    IrLoc loc;
    LlmcErr err;
} IrBuilder;

void ir_builder_init(IrBuilder *b, IrGraph *g);
void ir_builder_set_scope(IrBuilder *b, const char *scope);
void ir_builder_set_loc(IrBuilder *b, const char *file, uint32_t line, uint32_t col);
bool ir_builder_ok(const IrBuilder *b);

/* The general entry: attrs may be NULL (defaults); hint is the result type for ops
 * whose result is not implied by their operands (input, const, reshape, broadcast,
 * cast, iota, onehot, scatter_add, rand, extern_call), NULL otherwise. */
IrId ir_build(IrBuilder *b, IrOp op, const IrId *operands, uint32_t n_operands,
              const IrAttrs *attrs, const IrType *hint);

IrId ir_build_input(IrBuilder *b, IrRole role, const char *name, IrType type);
/* values: 1 (splat) or numel doubles, converted to the dtype (i32 truncates). */
IrId ir_build_const(IrBuilder *b, IrType type, const double *values, uint64_t count);
IrId ir_build_scalar(IrBuilder *b, IrDtype dt, double value);
IrId ir_build_unary(IrBuilder *b, IrOp op, IrId x);
IrId ir_build_binary(IrBuilder *b, IrOp op, IrId x, IrId y);
/* Binary op with numpy-style broadcasting: inserts broadcast ops as needed. */
IrId ir_build_binary_bcast(IrBuilder *b, IrOp op, IrId x, IrId y);
IrId ir_build_select(IrBuilder *b, IrId cond, IrId x, IrId y);
IrId ir_build_cast(IrBuilder *b, IrId x, IrDtype dt);
IrId ir_build_reduce(IrBuilder *b, IrOp op, IrId x, int64_t axis, bool keepdims);
IrId ir_build_reshape(IrBuilder *b, IrId x, uint32_t rank, const int64_t *dims);
IrId ir_build_permute(IrBuilder *b, IrId x, uint32_t rank, const int64_t *perm);
IrId ir_build_broadcast(IrBuilder *b, IrId x, uint32_t rank, const int64_t *dims,
                        const int64_t *map /* [x.rank]: result axis of each x axis */);
/* numpy rule: align trailing axes; each pair equal or 1. */
IrId ir_build_broadcast_to(IrBuilder *b, IrId x, uint32_t rank, const int64_t *dims);
IrId ir_build_slice(IrBuilder *b, IrId x, const int64_t *start, const int64_t *end,
                    const int64_t *step /* NULL = 1s */);
IrId ir_build_concat(IrBuilder *b, const IrId *xs, uint32_t n, int64_t axis);
IrId ir_build_matmul(IrBuilder *b, IrId x, IrId y, bool ta, bool tb);
/* Fused attention (ops.def): q [.., R, d], k [.., S, d], v [.., S, e] -> [.., R, e];
 * causal: row r attends keys j <= r mod S (R % S == 0). */
IrId ir_build_attention(IrBuilder *b, IrId q, IrId k, IrId v, double scale, bool causal);
/* log sum_j exp(scale q[r].k[j]) over the attended keys: [.., R]. */
IrId ir_build_attention_lse(IrBuilder *b, IrId q, IrId k, double scale, bool causal);
/* The gradient of sum(dout * attention(q, k, v)) by q, k or v (wrt), given lse (above)
 * and dsum[.., r] = sum_c dout[.., r, c] * out[.., r, c]; the result has wrt's type. */
IrId ir_build_attention_grad(IrBuilder *b, IrId q, IrId k, IrId v, IrId lse, IrId dsum, IrId dout, double scale,
                             bool causal, IrAttentionWrt wrt);
IrId ir_build_gather(IrBuilder *b, IrId x, IrId idx, int64_t axis, int64_t batch_dims);
IrId ir_build_scatter_add(IrBuilder *b, IrType result, IrId idx, IrId upd, int64_t axis,
                          int64_t batch_dims);
IrId ir_build_topk(IrBuilder *b, IrId x, int64_t k);
IrId ir_build_iota(IrBuilder *b, IrType type, int64_t axis);
IrId ir_build_onehot(IrBuilder *b, IrId idx, int64_t depth, IrDtype dt);
IrId ir_build_cumsum(IrBuilder *b, IrId x, int64_t axis, bool exclusive, bool reverse);
IrId ir_build_rand(IrBuilder *b, IrType type, IrId seed, IrId step, IrId micro, int64_t site,
                   IrRandDist dist);
/* extern_call with a backward symbol (NULL: none): autodiff's rule calls it as
 * dx = backward(x, dy) (see compiler/grad_misc.c). */
IrId ir_build_extern_call_bwd(IrBuilder *b, const char *symbol, const char *backward, const IrId *args, uint32_t n,
                              IrType result);
IrId ir_build_extern_call(IrBuilder *b, const char *symbol, const IrId *args, uint32_t n,
                          IrType result);
IrId ir_build_all_gather(IrBuilder *b, IrId x, int64_t axis, int64_t ranks);
IrId ir_build_reduce_scatter(IrBuilder *b, IrId x, int64_t axis, int64_t ranks, IrReduceKind r);
IrId ir_build_all_reduce(IrBuilder *b, IrId x, int64_t ranks, IrReduceKind r);
IrId ir_build_all_to_all(IrBuilder *b, IrId x, int64_t split_axis, int64_t concat_axis,
                         int64_t ranks);

/* Shape inference alone: computes the result type of a node whose op, operands, attrs
 * and (for hinted ops) type are set. false + message on error. */
bool ir_infer_type(const IrGraph *g, const IrNode *n, IrType *out, LlmcErr *err);

/* ===================================================================================
 * Verifier
 * =================================================================================== */

/* Where each node was written in a .llir text, so the verifier can point at it. */
typedef struct IrTextPos {
    uint32_t line, col;
} IrTextPos;

/* Checks types, shapes (by re-running shape inference), SSA order, dangling ids,
 * attribute ranges, duplicate input/output names, empty graphs, and the train record's
 * ranges (ir_train_check) when present. Every message names the node (%id, op, scope)
 * and the reason. Diagnostics point at pos[id] in src when both are given. Returns true
 * when the graph is valid. */
bool ir_verify(const IrGraph *g, LlmcDiags *diags, const LlmcSource *src, const IrTextPos *pos);

/* ===================================================================================
 * .llir text (grammar: docs/llir.md and the banner of ir/text_parse.c)
 * =================================================================================== */

void ir_print_graph(const IrGraph *g, LlmcBuf *out);
void ir_print_module(const IrModule *m, LlmcBuf *out);
/* Parses every graph in src and verifies each; collects diagnostics and recovers.
 * Returns true when there were no errors; on false, *out holds nothing. */
bool ir_parse_module(const LlmcSource *src, IrModule *out, LlmcDiags *diags);
/* Float printing that re-parses bit-exactly (shortest round-trip form; inf, -inf, nan;
 * non-canonical nan as nan:0xBITS). */
void ir_format_f32(float v, char *buf, size_t n);
void ir_format_f64(double v, char *buf, size_t n);

/* Graphviz rendering: nodes labelled by op, type and scope. */
void ir_print_dot(const IrGraph *g, LlmcBuf *out);

/* ===================================================================================
 * Statistics
 * =================================================================================== */

typedef struct IrStats {
    uint32_t op_count[IR_OP_COUNT];
    uint32_t n_nodes;
    double flops; /* matmul 2*M*N*K per batch; elementwise 1 per output element;
                     reductions 1 per input element; movement, index, sources 0 */
    uint64_t n_params;     /* elements of param inputs */
    uint64_t bytes_params, bytes_state, bytes_data, bytes_consts, bytes_intermediates;
} IrStats;
void ir_graph_stats(const IrGraph *g, IrStats *s);
uint64_t ir_node_flops(const IrGraph *g, IrId id);

/* ===================================================================================
 * Reference interpreter
 * =================================================================================== */

/* A tensor value. Storage is always double, whatever the dtype: the interpreter rounds
 * every result to its node's dtype (to float in f32 mode, to int32 for i32), so one code
 * path serves f32, f64 and i32 exactly. */
typedef struct IrValue {
    IrType type;
    double *data; /* [numel], malloc'd */
} IrValue;
void ir_value_alloc(IrValue *v, IrType type); /* zeroed */
void ir_value_free(IrValue *v);

typedef enum IrPrecision { IR_PRECISION_INVALID = 0, IR_PRECISION_F32, IR_PRECISION_F64, IR_PRECISION_COUNT } IrPrecision;

/* extern_call goes through this hook, installed by the runtime. */
typedef bool (*IrExternHook)(void *ctx, const char *symbol, const IrValue *args,
                             uint32_t n_args, IrValue *out, LlmcErr *err);

typedef struct IrInterpOptions {
    IrPrecision precision; /* f32 rounds float results to float after every op */
    uint32_t ranks;        /* simulated world size (>= 1) */
    IrExternHook extern_hook;
    void *extern_ctx;
} IrInterpOptions;

/* Runs g for every simulated rank side by side; collectives exchange between them.
 * inputs[r * n_inputs + i] is input i (graph order) on rank r, types must match;
 * outputs[r * n_outputs + o] receives output o on rank r (caller frees).
 * Errors (bad index, division by zero, missing hook, type mismatch) return false with
 * a message naming the node. */
bool ir_interp_run(const IrGraph *g, const IrInterpOptions *opt, const IrValue *inputs,
                   IrValue *outputs, LlmcErr *err);

/* The counter-based generator rand uses: Philox4x32-10. */
void ir_philox4x32(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]);
/* The value of rand element e for the given keys, in double. */
double ir_rand_value(IrRandDist dist, uint32_t seed, uint32_t step, uint32_t micro,
                     uint32_t site, uint64_t e);

#endif /* LLMC_IR_H */
