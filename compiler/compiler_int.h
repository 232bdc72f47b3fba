/* compiler/compiler_int.h — private to compiler/: declarations shared between its files.
 *
 * Sections are owned by the files they serve; each says which.
 */
#ifndef LLMC_COMPILER_INT_H
#define LLMC_COMPILER_INT_H

#include "compiler.h"

/* ===================================================================================
 * Rewriting toolkit (compiler/rewrite.c), shared by the simplification passes
 * (fold.c, cse.c, dce.c, algebra.c, simplify.c).
 *
 * A pass never edits its input: it walks the old graph in id order and builds a new one,
 * keeping a remap table old id -> new id. A node is either copied (operands remapped),
 * replaced by a value that already exists in the new graph, or replaced by new nodes that
 * inherit its provenance (scope and .llm location). The new graph keeps the old one's
 * name, train record, string table (ids unchanged), inputs and outputs (names, order).
 * =================================================================================== */

typedef struct CcRewrite {
    const IrGraph *src; /* the graph being rewritten (read only) */
    IrGraph *dst;       /* the graph being built */
    IrId *map;          /* [src->n_nodes]: dst id standing for each src node, IR_ID_NONE
                           until the pass decides */
} CcRewrite;

/* Starts dst: src's name, strings (same ids), train record; no nodes, no outputs. */
void cc_rewrite_begin(CcRewrite *rw, const IrGraph *src);
/* The dst value standing for src node `id` (which must have been decided). */
IrId cc_rewrite_get(const CcRewrite *rw, IrId id);
/* Copies src node `id` with its operands remapped; map[id] = the copy. */
IrId cc_rewrite_copy(CcRewrite *rw, IrId id);
/* Adds a new node to dst: proto's operands are dst ids; its scope and location are taken
 * from src node `from`. Const payloads are copied. Does not touch the map. */
IrId cc_rewrite_add(CcRewrite *rw, const IrNode *proto, IrId from);
/* Adds `const` of `type` with `count` (1 = splat, or numel) elements of `bytes` in the
 * dtype's representation; provenance from src node `from`. */
IrId cc_rewrite_add_const(CcRewrite *rw, IrType type, const void *bytes, uint64_t count, IrId from);
/* src node `id` now stands for dst value `value`, which must have the same type (an
 * identity that changes a type is a bug: asserted). */
void cc_rewrite_set(CcRewrite *rw, IrId id, IrId value);
/* Adds the outputs (remapped), verifies dst and returns it; on a verifier error returns
 * NULL with "internal error: pass 'NAME' produced an invalid graph ...". Frees the map
 * either way. */
IrGraph *cc_rewrite_finish(CcRewrite *rw, const char *pass, LlmcErr *err);

/* --- comparing nodes ----------------------------------------------------------------
 * Structural equality for CSE: op, type, operand ids, and attributes field by field
 * through the op's schema (never memcmp of the IrAttrs union, whose padding and unused
 * members are garbage); strings by content, const payloads by content (a splat equals a
 * full payload of the same values; floats by bits, so -0 != +0 and NaN payloads count).
 * Provenance is not compared. a and b may live in different graphs. */
bool cc_node_same(const IrGraph *ga, const IrNode *a, const IrGraph *gb, const IrNode *b);
/* Kernels already compiled in a JIT, by the signature of what their code is generated
 * from (codegen_kernel.c): a second request of the same kernel — every layer of a model
 * after the first — skips building its module, printing it and keying it. */
typedef struct CcJitMemo {
    CcObjKey sig;
    CcKernelFn fn;
} CcJitMemo;
CcKernelFn cc_jit_memo_find(const CcJit *jit, CcObjKey sig); /* NULL: not compiled yet */
CcObjCache *cc_jit_cache(const CcJit *jit); /* the cache cc_jit_set_cache set; NULL: none */
void cc_jit_memo_add(CcJit *jit, CcObjKey sig, CcKernelFn fn);

/* Optimizing and emitting several modules at once (jit.c): each job's module (in a
 * context of its own, prepared and named) becomes an object file in memory, on up to
 * `threads` threads, each with its own target machine; the modules stay the caller's.
 * ok/err per job. */
typedef struct CcEmitJob {
    struct LLVMOpaqueModule *mod;
    char *obj;    /* malloc'd */
    size_t len;
    bool ok;
    LlmcErr err;
} CcEmitJob;
void cc_jit_emit_objects(const CcJit *jit, CcEmitJob *jobs, uint32_t n, uint32_t threads);

/* Compiles kernel functions ahead of their cc_codegen_kernel calls (objcache.c):
 * modules[i] (function `bases[i]`, in its own thread-safe context) are keyed as
 * cc_jit_add_kernel_cached keys them: those in the JIT already are looked up, those with
 * a cache entry loaded (hits), and the rest optimized and emitted on `threads` threads,
 * stored, linked and recorded as misses. fns[i]: the linked kernel, or NULL when module
 * i defines no function `bases[i]` (cc_codegen_kernel reports it). Consumes the modules
 * and contexts. */
bool cc_objcache_compile_batch(CcJit *jit, CcObjCache *cache, struct LLVMOpaqueModule **modules,
                               struct LLVMOrcOpaqueThreadSafeContext **tsctxs, const char *const *bases, uint32_t n,
                               uint32_t threads, CcKernelFn *fns, LlmcErr *err);

/* A hash consistent with cc_node_same. */
uint64_t cc_node_hash(const IrGraph *g, const IrNode *n);
/* The same without the operands: op, type, attributes (const payloads by content). */
uint64_t cc_node_content_hash(const IrGraph *g, const IrNode *n);
/* Graphs equal node by node (cc_node_same plus provenance) with equal outputs; the train
 * record is not compared (passes copy it verbatim). simplify's fixed-point test. */
bool cc_graph_same(const IrGraph *a, const IrGraph *b);

/* --- reading constants ----------------------------------------------------------------
 * Element i (splat-aware) of const node n, as bytes in the node's dtype. */
const void *cc_const_elem(const IrNode *n, uint64_t i);
/* True when every element of const node n has the same bits; *elem (if not NULL) gets
 * the first. A splat always is. */
bool cc_const_uniform(const IrNode *n, const void **elem);
/* True when n is a const whose every element is exactly v in n's dtype: bit for bit, so
 * for floats -0 and +0 differ (i32 has one zero). False for bf16. */
bool cc_const_all(const IrNode *n, double v);
/* Element i as a double (i32 and f32 widen exactly). */
double cc_const_value(const IrNode *n, uint64_t i);

/* ===================================================================================
 * Autodiff (compiler/grad.c drives; one gradient rule per op in grad_elementwise.c,
 * grad_reduce.c (reductions, matmul), grad_movement.c, grad_index.c, grad_attention.c,
 * grad_misc.c (sources, rand, extern_call, collectives)).
 *
 * cc_grad calls the rule of every active forward node once, from the loss down. A rule
 * builds, with c->b, the contribution of the node's result gradient c->gy to each
 * operand k with c->want[k] set, into c->gx[k] (operand k's exact type), and leaves
 * IR_ID_NONE where it gives none. It reads forward values only through cc_grad_x and
 * cc_grad_y — never node.operands[k] directly — because under rematerialization those
 * return recomputed clones. The builder's scope and location are set by the driver.
 * =================================================================================== */

typedef struct CcGradState CcGradState; /* private to grad.c */

typedef struct CcGradCall {
    IrBuilder *b;     /* builds into the gradient graph */
    IrNode node;      /* a copy of the forward node (the node array may move while building) */
    IrId id;          /* the forward node's id */
    IrId gy;          /* gradient of the node's result, of the node's type */
    const bool *want; /* [node.n_operands]: operand k needs a gradient */
    IrId *gx;         /* [node.n_operands] out, preset to IR_ID_NONE */
    LlmcErr *err;     /* a rule that cannot differentiate sets it and returns false */
    CcGradState *st;
} CcGradCall;

typedef bool (*CcGradFn)(CcGradCall *c);
#define IR_OP(ENUM, mn, arity, kind, traits, attrs, shape, flops) bool cc_grad_##mn(CcGradCall *c);
#include "ops.def"
#undef IR_OP

IrId cc_grad_x(CcGradCall *c, uint32_t k);                  /* operand k's value, to read */
IrId cc_grad_y(CcGradCall *c);                              /* the node's result, to read */
IrType cc_grad_xtype(const CcGradCall *c, uint32_t k);      /* operand k's type */
IrId cc_grad_full(CcGradCall *c, IrType t, double v);       /* const splat v of type t */

/* ===================================================================================
 * Kernel emission (compiler/codegen_emit.c), shared by codegen_elementwise.c and
 * codegen_reduce.c: the LLVM value of one node at one element index. LLVM handles are
 * spelled as their structs (struct LLVMOpaqueValue * is LLVMValueRef), so this header
 * needs no LLVM include.
 * =================================================================================== */

struct LLVMOpaqueContext;
struct LLVMOpaqueBuilder;
struct LLVMOpaqueValue;
struct LLVMOpaqueType;

/* What a node is to a kernel body. */
typedef enum CcRole {
    CC_ROLE_NONE = 0, /* not used by the kernel */
    CC_ROLE_COMPUTE,  /* computed in the loop body (an elementwise op) */
    CC_ROLE_BUFFER,   /* a dense input of the body's shape: base[id][idx] */
    CC_ROLE_SCALAR,   /* rank-0 input: base[id] is its loaded value, splatted */
    CC_ROLE_CONST,    /* splat constant, a literal */
    CC_ROLE_ALIAS,    /* broadcast of a rank-0 value: alias[id]'s value, splatted */
    CC_ROLE_BCAST,    /* top of a movement chain (broadcast, permute, reshape members) over a
                         buffer alias[id] (any shape) to the body's shape: the element at the
                         buffer index the body index maps to through the chain */
    CC_ROLE_INDEXED,  /* an input read only through CC_ROLE_BCAST chains: base[id] is its
                         element pointer, never read at idx itself */
} CcRole;

typedef struct CcEmit {
    struct LLVMOpaqueContext *ctx;
    struct LLVMOpaqueModule *mod;
    struct LLVMOpaqueBuilder *b;
    const IrGraph *g;
    const uint8_t *role;           /* [g->n_nodes] CcRole */
    const IrId *alias;             /* [g->n_nodes] ALIAS: the rank-0 node repeated; BCAST: the chain's buffer */
    struct LLVMOpaqueValue **base; /* [g->n_nodes] BUFFER: element pointer; SCALAR: value */
    struct LLVMOpaqueValue **val;  /* [g->n_nodes] this body's values; the caller zeroes it
                                      per body (cc_cg_value memoizes) */
    unsigned lanes;                /* 0: scalar body; else W consecutive elements */
    struct LLVMOpaqueValue *idx;   /* i64 index of the (first) element of this body */
} CcEmit;

/* float / double / i32 for the dtype; val_type is its W-vector when e->lanes. */
struct LLVMOpaqueType *cc_cg_elem_type(const CcEmit *e, IrDtype dt);
struct LLVMOpaqueType *cc_cg_val_type(const CcEmit *e, IrDtype dt);
/* The constant x in dt (splatted when e->lanes). */
struct LLVMOpaqueValue *cc_cg_const(const CcEmit *e, IrDtype dt, double x);
/* A scalar value splatted to e->lanes (itself when scalar). */
struct LLVMOpaqueValue *cc_cg_splat(const CcEmit *e, struct LLVMOpaqueValue *s);
/* Node id's value at e->idx, emitting it (and its operands) on first use. */
struct LLVMOpaqueValue *cc_cg_value(CcEmit *e, IrId id);
/* The flat index into `src` that flat index i (i64) of movement chain `top` (reshape,
 * permute, broadcast members over src) maps to; needs only e->ctx, e->b and e->g. */
struct LLVMOpaqueValue *cc_cg_chain_index(const CcEmit *e, IrId top, IrId src, struct LLVMOpaqueValue *i);
/* A movement tree read element by element: the element of node `id` at flat index i
 * (i64, inside id's shape). Members (is_member) are reshape, permute, broadcast (through
 * cc_cg_chain_index), slice (coordinate c of axis a reads start[a] + c * step[a]) and
 * concat (every operand read at its coordinate clamped into range, so no load leaves its
 * buffer, and a select keeps the one whose range holds the coordinate); anything else is
 * a leaf, read by `leaf` (a load, a literal). Values pass through untouched, so copies
 * are bit for bit. Shared by the movement, index and matmul codegens. */
typedef struct CcMoveTree {
    const CcEmit *e; /* ctx, b, g */
    bool (*is_member)(const void *ctx, IrId id);
    struct LLVMOpaqueValue *(*leaf)(const void *ctx, IrId id, struct LLVMOpaqueValue *i);
    const void *ctx;
} CcMoveTree;
struct LLVMOpaqueValue *cc_cg_move_value(const CcMoveTree *t, IrId id, struct LLVMOpaqueValue *i);
/* A splat constant's value as a literal made from its bits: in its dtype, or as an
 * integer of the dtype's width when `as_int` (bit copies). */
struct LLVMOpaqueValue *cc_cg_splat_literal(const CcEmit *e, const IrNode *n, bool as_int);
/* Transposes the n x n matrix of n <n x T> vectors v[] (row i = v[i]) in registers: log2 n
 * rounds of two-source shuffles, round d exchanging bit d of the lane and of the vector
 * index. n a power of two <= 64. */
void cc_cg_transpose(struct LLVMOpaqueBuilder *b, struct LLVMOpaqueValue **v, unsigned n);

/* ===================================================================================
 * Kernel module builders, one per codegen file, dispatched by compiler/codegen_kernel.c.
 * Each builds its kernel's one function, named after the module ("llmc_ew", "llmc_red",
 * "llmc_row", "llmc_mmk", "llmc_mm", "llmc_idx", "llmc_mov"), into a new module in ctx;
 * NULL + message when the kernel is not supported. cc_jit_add_kernel renames it.
 * =================================================================================== */

struct LLVMOpaqueContext;
struct LLVMOpaqueModule *cc_ew_module(const CcJit *jit, struct LLVMOpaqueContext *ctx, const IrGraph *g,
                                      const IrId *nodes, uint32_t n_nodes, const IrId *outputs, uint32_t n_outputs,
                                      LlmcErr *err);
struct LLVMOpaqueModule *cc_reduce_module(const CcJit *jit, struct LLVMOpaqueContext *ctx, const IrGraph *g,
                                          const CcKernel *k, LlmcErr *err);
struct LLVMOpaqueModule *cc_row_module(const CcJit *jit, struct LLVMOpaqueContext *ctx, const IrGraph *g,
                                       const CcKernel *k, LlmcErr *err);
struct LLVMOpaqueModule *cc_matmul_module(const CcJit *jit, struct LLVMOpaqueContext *ctx, const IrGraph *g,
                                          const CcKernel *k, LlmcErr *err);
struct LLVMOpaqueModule *cc_matmul_node_module(const CcJit *jit, struct LLVMOpaqueContext *ctx, const IrGraph *g,
                                               IrId node, LlmcErr *err);
struct LLVMOpaqueModule *cc_index_module(const CcJit *jit, struct LLVMOpaqueContext *ctx, const IrGraph *g,
                                         const CcKernel *k, LlmcErr *err);
struct LLVMOpaqueModule *cc_movement_module(const CcJit *jit, struct LLVMOpaqueContext *ctx, const IrGraph *g,
                                            const CcKernel *k, LlmcErr *err);
struct LLVMOpaqueModule *cc_attention_module(const CcJit *jit, struct LLVMOpaqueContext *ctx, const IrGraph *g,
                                            const CcKernel *k, LlmcErr *err);
/* Kernel function fn_index of k (cc_kernel_functions), as the builders above make it. */
struct LLVMOpaqueModule *cc_kernel_module(const CcJit *jit, struct LLVMOpaqueContext *ctx, const IrGraph *g,
                                          const CcKernel *k, uint32_t fn_index, const char **base, LlmcErr *err);

/* objcache.c: whether the cache loaded or reused a kernel since `before` (its stats then). */
bool cc_objcache_was_hit(const CcObjCache *c, CcObjCacheStats before);

/* ===================================================================================
 * In-kernel math (compiler/codegen_math.c): exp, log, tanh, sin, cos and pow as LLVM
 * instructions (range reduction + polynomials, no libm call), for a float or double
 * scalar or a <W x float|double> vector x (y of the same type), emitted at b's insertion
 * point into mod. Computed in double (f32 widened, rounded once at the end); the
 * algorithms, their accuracy and the special values are in the file's banner. Used by
 * codegen_emit.c (the elementwise ops) and codegen_index.c (rand's normal draws).
 * sin and cos branch (a block for arguments >= 2^30, skipped when no lane has one), so
 * they leave b at the end of a NEW block: a caller that adds phi incomings for "the
 * current block" must take LLVMGetInsertBlock after emitting its body, as every codegen
 * here does. The others stay in the block they start in.
 * =================================================================================== */

struct LLVMOpaqueValue *cc_math_exp(struct LLVMOpaqueModule *mod, struct LLVMOpaqueBuilder *b,
                                    struct LLVMOpaqueValue *x);
struct LLVMOpaqueValue *cc_math_log(struct LLVMOpaqueModule *mod, struct LLVMOpaqueBuilder *b,
                                    struct LLVMOpaqueValue *x);
/* exp of an f32 value or vector in f32 arithmetic, within ~1 ulp (codegen_math.c: results
 * below 2^-125 flush to +0); for kernels bound by exp. cc_math_exp is correctly rounded
 * but computes in f64. */
struct LLVMOpaqueValue *cc_math_exp_f32(struct LLVMOpaqueModule *mod, struct LLVMOpaqueBuilder *b,
                                        struct LLVMOpaqueValue *x);
struct LLVMOpaqueValue *cc_math_tanh(struct LLVMOpaqueModule *mod, struct LLVMOpaqueBuilder *b,
                                     struct LLVMOpaqueValue *x);
struct LLVMOpaqueValue *cc_math_sin(struct LLVMOpaqueModule *mod, struct LLVMOpaqueBuilder *b,
                                    struct LLVMOpaqueValue *x);
struct LLVMOpaqueValue *cc_math_cos(struct LLVMOpaqueModule *mod, struct LLVMOpaqueBuilder *b,
                                    struct LLVMOpaqueValue *x);
struct LLVMOpaqueValue *cc_math_pow(struct LLVMOpaqueModule *mod, struct LLVMOpaqueBuilder *b,
                                    struct LLVMOpaqueValue *x, struct LLVMOpaqueValue *y);

/* ===================================================================================
 * The update graph's arithmetic (compiler/train_math.c), shared by the unsharded update
 * graph (train_step.c) and the sharded one (shard_update.c); the formulas are in
 * train_step.c's banner. Callers set the builder's scope and location around each call.
 * =================================================================================== */

typedef enum CcHp {
    CC_HP_LR, CC_HP_WARMUP, CC_HP_MIN_LR, CC_HP_STEPS, CC_HP_BETA1, CC_HP_BETA2, CC_HP_EPS, CC_HP_MOMENTUM,
    CC_HP_WD, CC_HP_CLIP, CC_HP_N
} CcHp;
extern const char *const cc_hp_names[CC_HP_N]; /* "hp.lr", ...: the update graph's input order */
#define CC_UPD_CLIP_EPS 1e-6 /* clip scale = clip / (norm + CC_UPD_CLIP_EPS), as torch */

typedef struct CcUpd {
    IrBuilder b;
    const IrTrainConfig *t;
    IrId hp[CC_HP_N];                 /* the hp.* inputs; IR_ID_NONE where the recipe has none */
    IrId lr;                          /* lr(t), set by cc_upd_optimizer_scalars */
    IrId bc1, bc2, omb1, omb2, lr_wd; /* AdamW: 1 - b^(t+1), 1 - b, lr * wd (when some param decays) */
} CcUpd;
IrId cc_upd_f32(CcUpd *u, double v);
IrId cc_upd_bin(CcUpd *u, IrOp op, IrId x, IrId y); /* broadcasting */
IrId cc_upd_un(CcUpd *u, IrOp op, IrId x);
IrId cc_upd_as(CcUpd *u, IrId s, IrDtype dt);       /* s cast to dt (IR_ID_NONE stays) */
IrId cc_upd_schedule(CcUpd *u, IrId t);             /* lr(t), t an f32[] */
IrId cc_upd_clip_scale(CcUpd *u, IrId norm);        /* min(1, hp.clip / (norm + eps)) */
void cc_upd_optimizer_scalars(CcUpd *u, IrId tf, IrId lr, bool any_decay);

/* One param's (or flat shard's) step: in p, g (the processed gradient), m, v (AdamW),
 * dt, decays; out p_new, m_new, v_new. Where it decays: everywhere when `where` is NULL,
 * else where(ctx, decayed, plain) picks per element (the flat shards' mask). */
typedef struct CcUpdParam {
    IrDtype dt;
    IrId p, g, m, v;
    bool decays;
    IrId (*where)(void *ctx, IrId decayed, IrId plain);
    void *ctx;
    IrId p_new, m_new, v_new;
} CcUpdParam;
void cc_upd_optimizer(CcUpd *u, CcUpdParam *q);

/* Embedding tables, as the decay rule knows them: gathered[id] is true when node id is
 * the table (operand 0) of some gather (malloc'd, [n_nodes + 1]); a param is an
 * embedding when gathered or named tok_emb / pos_emb (tok_emb_N ...). */
bool *cc_train_gathered_tables(const IrGraph *g);
bool cc_train_is_embedding(const IrGraph *g, IrId param, const bool *gathered);
/* cc_train_param_decays with the tables computed once. */
bool cc_train_param_decays_in(const IrGraph *g, IrId param, const bool *gathered);

/* ===================================================================================
 * Sharding (compiler/shard.c drives; the update graph of the grad and full strategies is
 * built in compiler/shard_update.c, conventions in its banner).
 * =================================================================================== */

/* @update' over the plan's flat shards (plan->strategy grad or full), not yet
 * simplified; verified. NULL + message on error. */
IrGraph *cc_shard_update_build(const CcTrainStep *s, const CcShardPlan *plan, LlmcErr *err);

#endif /* LLMC_COMPILER_INT_H */
