/* compiler/compiler.h — the public face of compiler/: from a forward graph to the
 * training step, and the passes over IR graphs.
 *
 * What is here now:
 *   - autodiff: reverse mode over the IR primitives, one gradient rule per op
 *     (cc_grad_<mnemonic>, collected from ir/ops.def), optional per-layer
 *     rematerialization;
 *   - the training step: a micro-batch graph (forward + backward of one micro-batch)
 *     and an update graph (clipping, schedule, AdamW or SGD with momentum), plus the
 *     fixed binary-tree gradient accumulation and a driver that runs a whole step on
 *     the reference interpreter;
 *   - passes: constant folding, CSE, DCE, algebraic simplification, each a function
 *     from graph to new graph, found by name (llmir opt --passes=...).
 *   - the first codegen slices: an ORC LLJIT for the host CPU, vectorized elementwise
 *     kernels built with the LLVM C API, and a first fusion pass grouping nodes into
 *     kernels (see the sections at the end).
 *   - the memory plan: the fused graph's intermediates in one arena by liveness;
 *   - reduction and matmul kernels, and an object cache for compiled kernels.
 *   - index kernels (iota, onehot, gather, rand, cumsum); broadcasts as index arithmetic
 *     inside elementwise kernels.
 * What is not (yet): sharding, scatter_add/topk and movement kernels, reductions fused
 * with their consumers, the executor (later slices and issues).
 * compiler/ never sees the .llm AST: the recipe arrives as the IrTrainConfig record on
 * the graph.
 * Prefix cc_.
 */
#ifndef LLMC_COMPILER_H
#define LLMC_COMPILER_H

#include "ir.h"

/* ===================================================================================
 * Autodiff
 * =================================================================================== */

typedef struct CcGradOptions {
    const char *loss;          /* output to differentiate: a scalar float; "loss" if NULL */
    const char *const *extra;  /* non-param inputs to differentiate too (by name) */
    uint32_t n_extra;
    bool remat_layers;         /* recompute each `layers.N` scope's forward in backward */
} CcGradOptions;

/* Returns a new graph: fwd's nodes, then the backward pass. Its inputs are fwd's; its
 * outputs are fwd's outputs followed by one per differentiated input, named
 * "grad.<input name>", in input order (params first seen first). The seed is d loss = 1.
 * Inputs the loss does not depend on get a zero gradient. Only nodes on a path from a
 * differentiated input to the loss get gradients; non-differentiable ops (IR_TRAIT_NONDIFF,
 * integer values) stop them. An extern_call differentiates through its `backward` symbol;
 * one without is an error when a gradient must pass it. The result is verified. NULL +
 * message on error. */
IrGraph *cc_grad(const IrGraph *fwd, const CcGradOptions *opt, LlmcErr *err);

/* Bytes of forward values that the backward pass reads (the activations that must be
 * kept until backward): the measure rematerialization lowers. */
uint64_t cc_grad_activation_bytes(const IrGraph *grad_graph, uint32_t n_forward_nodes);

/* ===================================================================================
 * Passes
 * =================================================================================== */

/* A pass maps a graph to a new, verified graph (never in place). */
typedef IrGraph *(*CcPassFn)(const IrGraph *g, LlmcErr *err);

typedef struct CcPass {
    const char *name;    /* "fold", "cse", "dce", "algebra", "simplify", "autodiff" */
    const char *summary; /* one line for --help */
    CcPassFn run;
} CcPass;

const CcPass *cc_pass_find(const char *name); /* NULL if unknown */
const CcPass *cc_pass_list(uint32_t *count);

IrGraph *cc_pass_fold(const IrGraph *g, LlmcErr *err);     /* constant folding */
IrGraph *cc_pass_cse(const IrGraph *g, LlmcErr *err);      /* common subexpressions */
IrGraph *cc_pass_dce(const IrGraph *g, LlmcErr *err);      /* dead code */
IrGraph *cc_pass_algebra(const IrGraph *g, LlmcErr *err);  /* x*1, x+0, reshape∘reshape, ... */
IrGraph *cc_pass_simplify(const IrGraph *g, LlmcErr *err); /* all four to a fixed point */
/* One copy of a shared broadcast of a rank-0 value per reading node, so fusion splats it
 * into each reader instead of materializing it (compiler/unshare.c); run after CSE. */
IrGraph *cc_pass_unshare_splats(const IrGraph *g, LlmcErr *err);

/* ===================================================================================
 * The training step
 * =================================================================================== */

/* Names the step's graphs use for what is not a param or data input. */
#define CC_GRAD_PREFIX "grad."   /* gradient of param P: "grad.P" */
#define CC_ADAM_M_PREFIX "opt.m." /* AdamW first moment / SGD momentum buffer of P */
#define CC_ADAM_V_PREFIX "opt.v." /* AdamW second moment of P */
#define CC_STEP "step"           /* i32[]: optimizer steps taken so far */

typedef struct CcTrainStep {
    IrGraph *micro;  /* forward + backward of one micro-batch (train record attached) */
    IrGraph *update; /* clip + schedule + optimizer over the accumulated gradients */
} CcTrainStep;

/* Builds the step from a lowered module (@forward with its train record; @init is not
 * needed). Micro-batch graph: forward's inputs; outputs the loss terms ("loss", and
 * "moe_aux_loss", "moe_dropped_tokens" when present) and "grad.P" per param P.
 * Update graph: inputs are the params, "grad.P" (data: the tree-ordered SUM over the
 * step's micro-batches), the optimizer state (state: "opt.m.P", "opt.v.P", "step") and
 * the hyperparameters as scalar state inputs ("hp.lr", "hp.beta1", "hp.beta2",
 * "hp.eps", "hp.weight_decay", "hp.momentum", "hp.min_lr", "hp.warmup", "hp.steps",
 * "hp.clip" — only those the recipe uses, see compiler/train_step.c); outputs the new
 * params and state under the same names as their inputs, plus "lr" and "grad_norm" (the
 * pre-clip global norm of the mean gradient). Both graphs carry the train record and are
 * verified; the micro graph is named @micro, the update graph @update. */
bool cc_train_step_build(const IrModule *lowered, CcTrainStep *out, LlmcErr *err);
void cc_train_step_free(CcTrainStep *s);

/* The update graph alone, from a forward graph's param inputs and its train record
 * (cc_train_step_build calls it; no autodiff needed). The conventions — t indexing, the
 * schedule, the clip epsilon, AdamW and SGD, which hp.* inputs exist — are in the banner
 * of compiler/train_step.c. Verified; NULL + message on error. */
IrGraph *cc_train_update_build(const IrGraph *fwd, LlmcErr *err);
/* Whether weight decay applies to param input `param` of fwd under fwd's record: not to
 * 1-D params unless decay_1d, not to embedding tables unless decay_embeddings. */
bool cc_train_param_decays(const IrGraph *fwd, IrId param);
/* The record's value for hyperparameter input `name` ("hp.lr" -> lr, "hp.warmup" ->
 * warmup, ...); false when name is not an hp.* input. */
bool cc_train_hp_value(const IrTrainConfig *t, const char *name, double *value);

/* The forward graph's parameter count, and in *embedding those of its embedding tables
 * (read by a gather, or named tok_emb / pos_emb by embed(): the rule that exempts them
 * from weight decay), as `llmc --stats`, `llmc plan` and `llmsweep` report them. */
uint64_t cc_param_count(const IrGraph *fwd, uint64_t *embedding);

/* Model FLOPs (compiler/flops.c): what MFU counts. Counted exactly from the step's IR:
 * every matmul of @micro at 2·M·N·K per batch element (forward and backward, attention's
 * QK^T and PV included, the causal mask's zeros too, as PaLM's MFU counts them; a fused
 * attention op counts as the matmuls it stands for, its attention_lse recomputation as
 * matmul work but not useful). A MoE
 * layer's expert matmuls run over capacity slots (experts × capacity rows); "useful"
 * counts them only for the slots the routed tokens fill (tokens × top_k of experts ×
 * capacity), so padding is not credited. Recomputation is not useful either: a matmul
 * that rematerialization duplicated is counted once (the step never remats today). */
typedef struct CcStepFlops {
    double micro_matmul;    /* per micro-batch: every matmul of @micro (and attention op) */
    double micro_useful;    /* the same, MoE experts counted for routed tokens only */
    double micro_other;     /* the rest of @micro's arithmetic (ops.def flops column) */
    double update;          /* @update's arithmetic, once per optimizer step */
    double step_useful;     /* micro_useful x accumulate: MFU's numerator per step */
    int64_t tokens_per_step; /* batch x seq x accumulate */
} CcStepFlops;
CcStepFlops cc_step_flops(const CcTrainStep *s);
/* Node id's useful FLOPs under cc_step_flops's rule (0 for everything but a matmul,
 * attention and attention_grad). */
double cc_node_useful_flops(const IrGraph *g, IrId id);

/* Tree-ordered accumulation over micro-batches, as DESIGN §8 fixes it: a stack of
 * partial sums that behaves like a binary counter over the global micro-batch index.
 * Push micro-batch i's values (in index order); finish() folds what is left from the
 * top: s_0 + (s_1 + (... + s_k)). 4 pushes give ((x0 + x1) + (x2 + x3)), 3 give
 * ((x0 + x1) + x2) — the interpreter's all_reduce tree over as many ranks. So 1 rank
 * doing all and N ranks each accumulating an aligned power-of-two block then all-reducing
 * agree bit for bit (other splits must combine partial stacks, not finished sums; the
 * shard issue's concern). f32 values are rounded to float after every addition in
 * IR_PRECISION_F32 (compiler/accumulate.c). finish() needs at least one push and leaves
 * the accumulator empty, ready for the next step. */
typedef struct CcAccum CcAccum;
CcAccum *cc_accum_new(const IrType *types, uint32_t n_values, IrPrecision precision);
void cc_accum_push(CcAccum *a, const IrValue *values); /* values[n_values], copied */
void cc_accum_finish(CcAccum *a, IrValue *out);        /* out[n_values], caller frees */
void cc_accum_free(CcAccum *a);

/* A whole optimizer step on the reference interpreter: runs `micro` for the global
 * micro-batches 0..accumulate-1 of the record (data inputs from the callback; input
 * "micro", when the graph has one, is the index itself; params and state such as
 * "seed" and "step" from `vars` by name), accumulates every micro output in tree order
 * (CcAccum), runs `update` on `vars` and the summed "grad.P", and replaces the vars named
 * like an update output with that output (the old value is freed). On failure `vars`
 * is unchanged. The loss is the tree-ordered sum of the micro losses / accumulate. */
typedef struct CcVar {
    const char *name; /* not owned */
    IrValue value;    /* owned by whoever owns the array */
} CcVar;
/* The initial optimizer state of a step: every state input of s->micro and s->update —
 * moments zero, "step" 0, "seed" and hp.* from the update graph's record. Names point
 * into the step's graphs; the caller frees each value and the array. NULL + message on
 * a state input with no known initial value. */
CcVar *cc_train_state_new(const CcTrainStep *s, uint32_t *n_vars, LlmcErr *err);
/* Data input `input` of global micro-batch `micro_index`: the callback allocates *out
 * (ir_value_alloc, the input's type) and fills it; the driver frees it. */
typedef bool (*CcBatchFn)(void *ctx, uint32_t micro_index, const char *input, IrValue *out, LlmcErr *err);
typedef struct CcStepResult {
    double loss;      /* mean over the micro-batches */
    double lr;
    double grad_norm;
} CcStepResult;
bool cc_step_interp(const CcTrainStep *s, CcVar *vars, uint32_t n_vars, CcBatchFn batch, void *ctx,
                    IrPrecision precision, CcStepResult *res, LlmcErr *err);

/* ===================================================================================
 * Sharding (compiler/shard.c): the shard pass of DESIGN §8. From a built training step
 * and a strategy, the step every rank of an N-rank world runs, with the collectives
 * written into its graphs. The full conventions are in compiler/shard.c's banner; what
 * the runtime binds is here.
 * =================================================================================== */

typedef enum CcShard {
    CC_SHARD_INVALID = 0,
    CC_SHARD_NONE, /* DDP: params, grads and optimizer state replicated; grads all-reduced */
    CC_SHARD_GRAD, /* ZeRO-2: grads and optimizer state sharded, params replicated */
    CC_SHARD_FULL, /* FSDP / ZeRO-3: params sharded too, gathered around each layer's use */
    CC_SHARD_COUNT
} CcShard;
const char *cc_shard_name(CcShard s);           /* "none", "grad", "full"; "?" if invalid */
bool cc_shard_parse(const char *text, CcShard *out); /* false on an unknown name */

/* Shards of a flat parameter are whole blocks of this many elements, so the grad-norm's
 * per-block partial sums (the only reduction of the update graph over elements) are the
 * same blocks, summed in the same order, for every number of ranks. */
#define CC_SHARD_BLOCK 256

/* A flat parameter ("flat.<group>") is its members' elements concatenated (each member
 * row-major), zero-padded to ranks * shard; rank r owns elements [r*shard, (r+1)*shard). */
typedef struct CcFlatMember {
    const char *name;   /* the param's name; points into the source step's graphs */
    IrType type;
    uint64_t offset;    /* first element in the flat vector */
    uint64_t numel;
    bool decays;        /* cc_train_param_decays */
} CcFlatMember;
typedef struct CcFlatGroup {
    char *name;            /* "layers.3", "embed", "head", "final" (malloc'd) */
    CcFlatMember *members; /* [n_members]: decaying members first, then the others; each
                              part in @forward input order */
    uint32_t n_members;
    IrDtype dtype;         /* every member's (f32 or f64) */
    uint64_t numel;        /* sum of the members' numel */
    uint64_t decay_end;    /* elements [0, decay_end) decay */
    uint64_t shard;        /* elements per rank: a multiple of CC_SHARD_BLOCK */
} CcFlatGroup;
typedef struct CcShardPlan {
    CcShard strategy;
    uint32_t ranks;
    CcFlatGroup *groups;   /* [n_groups], grad and full only (none: 0 groups) */
    uint32_t n_groups;
} CcShardPlan;

/* The step each of `ranks` ranks runs under `strategy` (ranks >= 1; ranks must be a
 * power of two that divides the record's accumulate: rank r runs the global micro-batches
 * r, r + ranks, r + 2 ranks, ..., and the collectives' pairwise rank-order tree then
 * coincides with DESIGN §8's tree over micro-batch indices; anything else is an error
 * that says so). In every strategy, each scalar loss output of @micro ("loss",
 * "moe_aux_loss", "moe_dropped_tokens") becomes all_reduce(sum) of itself, same name, so
 * a micro run yields the sum over one round of `ranks` micro-batches.
 *   none: every "grad.P" output becomes all_reduce(sum) of itself; @update is unchanged.
 *   grad: @micro keeps its params; its "grad.P" outputs are replaced, per group G, by
 *         "grad.flat.G" = reduce_scatter(sum) of the flat gradient ([shard]). @update
 *         takes the full params P (param), "grad.flat.G" (data), "opt.m.flat.G",
 *         "opt.v.flat.G" (state, [shard]), step, hp.*, and "rank" (data, i32[]); it
 *         updates its shard and all-gathers the new params: outputs P (full), opt.*.flat.G,
 *         step, lr, grad_norm.
 *   full: @micro's param inputs are "flat.G" (param, [shard]); each is all-gathered just
 *         before its group's forward (the next group's gather placed one group early:
 *         the prefetch) and gathered again for its backward; grads as under grad.
 *         @update takes and returns "flat.G" ([shard]) instead of P.
 * The grad-norm under grad and full: per group, squares summed per CC_SHARD_BLOCK block,
 * the block sums all-gathered and summed over the group's real blocks, groups in plan
 * order. `out` gets new graphs (verified); plan (may be NULL) the groups. false +
 * message on error. */
bool cc_shard_step(const CcTrainStep *s, CcShard strategy, uint32_t ranks, CcTrainStep *out, CcShardPlan *plan,
                   LlmcErr *err);
void cc_shard_plan_free(CcShardPlan *p);
/* The group and member holding param `name`; false if no group has it. */
bool cc_shard_plan_find(const CcShardPlan *p, const char *name, uint32_t *group, uint32_t *member);
/* The report of `llmc --emit=sharded` (compiler/shard_report.c), appended to out as
 * "// " lines: per graph of the sharded step (fused as the executor runs it) every
 * collective in schedule order — kernel, op, node, scope, dtype, elements, bytes this
 * rank sends (runtime/comm.c's count), start and wait kernel and the compute kernels in
 * flight between them (a prefetch with none is flagged); the bytes per micro run and per
 * optimizer step next to the strategy's textbook formula; per-rank memory (params, grads,
 * optimizer state, each graph's arena peak). false + message if fusion or the memory
 * plan fails. */
bool cc_shard_report(const CcTrainStep *sharded, const CcShardPlan *plan, LlmcBuf *out, LlmcErr *err);
/* One rank's memory under a sharded step, from its graphs: params (param inputs of
 * @micro), grads (its grad.* outputs), optimizer state (opt.* inputs of @update), each
 * graph's arena peak (cc_memplan), and peak = those three with the larger arena. For the
 * compile report (llmc -o --ranks N); llmrun counts its own allocations. */
typedef struct CcShardMemory {
    uint64_t params, grads, optimizer, arena_micro, arena_update, peak;
} CcShardMemory;
bool cc_shard_memory(const CcTrainStep *sharded, CcShardMemory *out, LlmcErr *err);

/* ===================================================================================
 * JIT and codegen (first slice): elementwise kernels through LLVM 19 and ORC LLJIT
 * (compiler/jit.c, compiler/codegen_elementwise.c). The LLVM handles below are the
 * llvm-c types spelled as their structs (struct LLVMOpaqueModule * is LLVMModuleRef),
 * so this header needs no LLVM include.
 * =================================================================================== */

struct LLVMOpaqueModule;               /* LLVMModuleRef */
struct LLVMOrcOpaqueThreadSafeContext; /* LLVMOrcThreadSafeContextRef */

/* The host JIT: native target, a target machine for the host CPU and features (opt level
 * aggressive, PIC), an ORC LLJIT. Not thread-safe: one thread adds and looks up. */
typedef struct CcJit CcJit;
CcJit *cc_jit_new(LlmcErr *err); /* NULL + message on failure */
/* A JIT for a given cpu name and LLVM feature string ("+avx2,-avx512f,..."); NULL for
 * either means the host's. cc_jit_new is cc_jit_new_for(NULL, NULL). The host's features
 * may be edited through the environment: LLMC_JIT_FEATURES="-avx512f,+x" turns features
 * off or on relative to the host (to compile for a fleet's common set, or to try another
 * code path on one machine). */
CcJit *cc_jit_new_for(const char *cpu, const char *features, LlmcErr *err);
/* The features every one of strings[0..n) enables ("+x" where all have +x, "-x" for every
 * other feature any of them names; the enabled ones first, so each "-x" also turns off
 * what needs x). malloc'd. A job on hosts with different CPUs compiles for it, so every rank's kernels
 * are the same code (DESIGN §8). */
char *cc_jit_features_common(const char *const *strings, uint32_t n);
void cc_jit_free(CcJit *jit);
/* Host CPU name ("skylake-avx512"); *features (may be NULL) gets the feature string. Both
 * live as long as the JIT. */
const char *cc_jit_cpu(const CcJit *jit, const char **features);
bool cc_jit_has_avx512(const CcJit *jit); /* the feature string has +avx512f */
/* The feature string has avx512bf16 and what LLVM needs under it (avx512bw, avx512f) on:
 * matmuls of bf16 operands run on vdpbf16ps; otherwise they are widened to f32 for the
 * f32 FMA kernels (compiler/codegen_matmul.c). "-avx512bf16" in LLMC_JIT_FEATURES or in
 * cc_jit_new_for's string (llmrun --bf16-path fp32) turns that path off. */
bool cc_jit_has_avx512bf16(const CcJit *jit);
uint32_t cc_jit_next_id(CcJit *jit);      /* 0, 1, 2, ...: unique kernel names */
/* Sets the module's triple and data layout to the host's. */
void cc_jit_prepare_module(const CcJit *jit, struct LLVMOpaqueModule *mod);
/* LLVMVerifyModule, then the new pass manager's default<O3> for the host target. The
 * module is left unchanged when verification fails. */
bool cc_jit_optimize(const CcJit *jit, struct LLVMOpaqueModule *mod, LlmcErr *err);
/* Prepares, verifies, optimizes and adds mod (created in tsctx's context) to the JIT.
 * Takes ownership of mod and of the caller's tsctx reference, on success and failure. */
bool cc_jit_add_module(CcJit *jit, struct LLVMOpaqueModule *mod,
                       struct LLVMOrcOpaqueThreadSafeContext *tsctx, LlmcErr *err);
void *cc_jit_lookup(CcJit *jit, const char *name, LlmcErr *err); /* NULL + message */

/* An elementwise kernel: out[i] for i in [begin, end). bufs[] holds the kernel's external
 * inputs in ascending node id (cc_elementwise_inputs) and then the output, each a dense
 * row-major array in the value's native dtype (float, double, int32_t) and the value's
 * own shape: an input seen through a `broadcast` (a rank-0 value, a [N] bias, a [M,1]
 * column...) is read at the index each output element maps to. The output may be the
 * same buffer as an input read element by element at the output's index (in place), never
 * one read through a broadcast, never a partial overlap. Calling over disjoint
 * pieces of [0, numel) gives the same bytes as one call. */
typedef void (*CcKernelFn)(void **bufs, int64_t begin, int64_t end);
/* The tail every codegen shares. mod (created in tsctx's context; NULL when its builder
 * failed, err then says why) defines one kernel function named `base` ("llmc_red"...).
 * Through the JIT's object cache when one is set (cc_jit_add_kernel_cached: the function
 * is renamed after its key, identical kernels share one function), else compiled and
 * renamed "<base>_<n>"; *fn is its address. Takes ownership of mod and of tsctx. */
bool cc_jit_add_kernel(CcJit *jit, struct LLVMOpaqueModule *mod, struct LLVMOrcOpaqueThreadSafeContext *tsctx,
                       const char *base, CcKernelFn *fn, LlmcErr *err);
/* Every later kernel of this JIT goes through `cache` (NULL: none); returns the previous
 * one. The cache is not owned and must outlive its use. */
typedef struct CcObjCache CcObjCache;
CcObjCache *cc_jit_set_cache(CcJit *jit, CcObjCache *cache);
/* Verifies mod, or optimizes it (cc_jit_optimize, which verifies first). */
bool cc_jit_check_module(const CcJit *jit, struct LLVMOpaqueModule *mod, bool optimize, LlmcErr *err);
/* What cc_jit_module_text and cc_kernel_text print. */
typedef enum CcTextKind {
    CC_TEXT_LLVM,     /* LLVM IR as generated (verified) */
    CC_TEXT_LLVM_OPT, /* LLVM IR after default<O3> for the host */
    CC_TEXT_ASM,      /* the host assembly (AT&T syntax) of the optimized module */
} CcTextKind;
/* A kernel module as text, for --emit=llvm|asm and golden tests: prepared for the host,
 * verified, optimized unless CC_TEXT_LLVM. The caller still owns (and disposes) mod;
 * malloc'd; NULL + message when it does not verify. */
char *cc_jit_module_text(const CcJit *jit, struct LLVMOpaqueModule *mod, CcTextKind kind, LlmcErr *err);
char *cc_jit_module_ir(const CcJit *jit, struct LLVMOpaqueModule *mod, bool optimize, LlmcErr *err);

/* The kernel's buffer inputs for the node set `nodes` (elementwise ops, and `broadcast`s
 * of values from outside the set, all of output's shape; output among them; the output is
 * an elementwise op): node ids in ascending
 * order into ids[] (room for 3 * n_nodes), count in *n_inputs. Splat constants are
 * folded into the code and are not inputs. false + message when the set is not one
 * elementwise kernel. */
bool cc_elementwise_inputs(const IrGraph *g, const IrId *nodes, uint32_t n_nodes, IrId output,
                           IrId *ids, uint32_t *n_inputs, LlmcErr *err);
/* The same for a kernel computing several outputs in one function: the union of what
 * they read (room for 3 * n_nodes), and in *items (may be NULL) its work items — the
 * elements of each segment in turn (outputs computed from common members), in order of first
 * output (codegen_elementwise.c, "segments"). An ELEMENTWISE kernel of cc_fuse is one
 * such function over its outputs (codegen_kernel.c). */
bool cc_elementwise_kernel_inputs(const IrGraph *g, const IrId *nodes, uint32_t n_nodes, const IrId *outputs,
                                  uint32_t n_outputs, IrId *ids, uint32_t *n_inputs, int64_t *items, LlmcErr *err);
/* Generates, optimizes and JIT-compiles one function computing `output` from the set. */
bool cc_codegen_elementwise(CcJit *jit, const IrGraph *g, const IrId *nodes, uint32_t n_nodes,
                            IrId output, CcKernelFn *fn, LlmcErr *err);
/* The same kernel's LLVM IR text (verified; after default<O3> when `optimize`), for
 * --emit=llvm and golden tests. malloc'd; NULL + message on error. */
char *cc_codegen_elementwise_ir(CcJit *jit, const IrGraph *g, const IrId *nodes, uint32_t n_nodes,
                                IrId output, bool optimize, LlmcErr *err);

/* The only functions outside the kernel a kernel module may declare: LLVM intrinsics that
 * the x86-64 backend lowers to instructions (with SSE4.1 and FMA, as on the JIT's hosts).
 * exp/log/tanh/sin/cos/pow are computed in the kernel (compiler/codegen_math.c), so a
 * module calls no libm. NULL-terminated, each declared with a type suffix: "llvm.fabs",
 * "llvm.sqrt", "llvm.fptosi.sat", "llvm.fma", "llvm.rint", "llvm.copysign", and the forms
 * default<O3> gives to what the codegens emit: "llvm.is.fpclass", "llvm.smax",
 * "llvm.smin", "llvm.umax", "llvm.umin", "llvm.masked.gather". */
const char *const *cc_codegen_inline_intrinsics(void);

/* ===================================================================================
 * Fusion (compiler/fuse.c): the graph as a list of kernels. The rules of this slice and
 * what is left for later are in the banner of compiler/fuse.c.
 * =================================================================================== */

typedef enum CcKernelKind {
    CC_KERNEL_INVALID = 0,
    CC_KERNEL_ELEMENTWISE, /* same-shape elementwise ops (+ broadcasts of their operands): codegen_elementwise */
    CC_KERNEL_REDUCE,      /* one reduction (or a reduction of one) with its elementwise producers and movement */
    CC_KERNEL_MATMUL,      /* one matmul, movement of its operands, an elementwise epilogue */
    CC_KERNEL_INDEX,       /* gather, scatter_add, topk, onehot, iota, cumsum, rand */
    CC_KERNEL_MOVEMENT,    /* reshape/permute/broadcast/slice/concat chains: one copy */
    CC_KERNEL_RUNTIME,     /* collectives and extern_call: carried out by the runtime */
    CC_KERNEL_ROW,         /* last-axis reductions over one shape, row-shaped ops between them, their
                              elementwise consumers: phases per row, codegen_reduce (row) */
    CC_KERNEL_ATTENTION,   /* attention (with its attention_lse), or attention_grad for q, or for k and v
                              together: tiled, online softmax, codegen_attention */
    CC_KERNEL_COUNT
} CcKernelKind;

typedef struct CcKernel {
    CcKernelKind kind;
    IrId *nodes;     /* [n_nodes] ascending id, so topological */
    uint32_t n_nodes;
    IrId *inputs;    /* [n_inputs] values from outside the kernel, ascending id; splat
                        constants (literals in the code) are not listed. For ELEMENTWISE
                        kernels the codegen binding is cc_elementwise_inputs (which names
                        the rank-0 source of an outside rank-0 broadcast) */
    uint32_t n_inputs;
    IrId *outputs;   /* [n_outputs] ascending: members read by other kernels or graph
                        outputs, and the root always */
    uint32_t n_outputs;
    IrId root;       /* the highest member; for every kind but ROW and ATTENTION the only
                        one other kernels' nodes read (other outputs are graph outputs);
                        those kernels' other outputs may be read by later kernels too */
} CcKernel;

typedef struct CcFusion {
    const IrGraph *g;    /* not owned; must outlive the fusion */
    CcKernel *kernels;   /* [n_kernels] in a valid execution order: every kernel after
                            the kernels it reads; by root id among those ready */
    uint32_t n_kernels;
    uint32_t *kernel_of; /* [g->n_nodes] kernel index; UINT32_MAX for inputs and consts */
} CcFusion;

/* Partitions g's non-source nodes into kernels. false + message on an empty graph. */
bool cc_fuse(const IrGraph *g, CcFusion *out, LlmcErr *err);
/* HLO-like text, one graph:
 *   fused @micro {
 *     fusion %k0 = elementwise(%3, %7) -> (%12) {
 *       %10 = mul(%3, %7) : f32[2,3]          (each member's canonical .llir line,
 *       ...                                    provenance comment dropped)
 *     }
 *     // output "loss" = %12                   (one per graph output)
 *     // N kernels for M nodes (S inputs and constants)
 *   }
 * `elementwise` is the kernel kind (cc_kernel_kind_name), (...) its inputs, -> (...) its
 * outputs. */
void cc_fusion_print(const CcFusion *f, LlmcBuf *out);
void cc_fusion_free(CcFusion *f);
/* The index of the first kernel (in f's order) that reads node id as an input;
 * f->n_kernels when none does. Where a collective started early must be complete. */
uint32_t cc_fusion_first_reader(const CcFusion *f, IrId id);
const char *cc_kernel_kind_name(CcKernelKind k); /* "elementwise", ...; "?" if invalid */

/* ===================================================================================
 * JIT: matmul (compiler/codegen_matmul.c). One matmul node as one kernel: packing, cache
 * blocking over K and N, a register-blocked llvm.fma microkernel sized for the host; and a
 * MATMUL kernel of cc_fuse (the matmul plus its elementwise epilogue) as one kernel.
 * =================================================================================== */

/* How a matmul kernel covers its output. A task is one output block: batch b, rows
 * [mb*mc, +mc), columns [nb*nc, +nc), t = (b * m_blocks + mb) * n_blocks + nb; the
 * kernel's [begin, end) is a range of tasks in [0, tasks). Each element is computed by
 * exactly one task as c = 0; for k = 0..K-1: c = fma(a[m,k], b[k,n], c) in the dtype
 * (bf16 operands: in f32, the k of each pair odd first on the bf16_dot path; the banner of
 * codegen_matmul.c), so any split of the tasks over calls or threads gives the same bytes
 * (and the block sizes do not change the result either). */
typedef struct CcMatmulPlan {
    IrDtype dtype;                  /* the result's and the accumulation's: f32 or f64 */
    IrDtype in_dtype;               /* the operands': dtype, or bf16 (dtype f32) */
    bool bf16_dot;                  /* bf16 operands through vdpbf16ps on k-pair panels
                                       (avx512bf16); false: packed as f32, f32 FMA */
    bool ta, tb;                    /* the node's attributes */
    bool a_shared, b_shared;        /* a rank-2 operand, used by every batch (x [.., M, K] times a
                                       shared weight is planned as one [B*M, K] matmul) */
    int64_t batches, M, N, K;
    int64_t vl, mr, nr, mc, kc, nc; /* lanes; microkernel MR x NR; a task's block mc x nc
                                       (per shape, codegen_matmul.c); the K block kc */
    int64_t m_blocks, n_blocks, tasks;
    int64_t stack_bytes;            /* packing buffers: stack allocas of the kernel */
} CcMatmulPlan;
bool cc_matmul_plan(const CcJit *jit, const IrGraph *g, IrId node, CcMatmulPlan *plan, LlmcErr *err);
/* The kernel for matmul `node`: bufs = {x, y, out}, dense row-major in their dtypes
 * (x is A, stored [.., K, M] when ta; y is B, stored [.., N, K] when tb); begin/end index
 * tasks (CcMatmulPlan). The output must not overlap the operands. The kernel uses
 * plan.stack_bytes (< 700 KiB) of stack and calls nothing. */
bool cc_codegen_matmul(CcJit *jit, const IrGraph *g, IrId node, CcKernelFn *fn, LlmcErr *err);
/* The kernel for MATMUL kernel k of cc_fuse: its matmul and the elementwise epilogue
 * that consumes it (bias through a broadcast, activation, residual add, scaling), in one
 * function with cc_codegen_matmul's tasks and summation order (CcMatmulPlan of the
 * matmul). bufs = k->inputs in order (ascending id: the matmul's two operands among them,
 * and the epilogue's outside operands; splat constants are literals, not listed), then
 * k->outputs in order, each dense row-major in its dtype (a rank-0 input is a 1-element
 * array). The K-sums accumulate in the root's buffer; the epilogue runs on each element
 * once, after the element's last KC block. Outputs must not overlap inputs. The matmul's
 * operands and the epilogue's may be movement trees (reshape, permute, broadcast, slice,
 * concat members over kernel inputs and splat constants), read by index arithmetic.
 * false + "not supported yet" for movement over nodes computed in the kernel, epilogue
 * nodes other than elementwise and movement ops, or a root whose type is not the
 * matmul's. */
bool cc_codegen_matmul_kernel(CcJit *jit, const IrGraph *g, const CcKernel *k, CcKernelFn *fn, LlmcErr *err);
/* The kernel's LLVM IR text (verified; after default<O3> when `optimize`); malloc'd. */
char *cc_codegen_matmul_ir(CcJit *jit, const IrGraph *g, IrId node, bool optimize, LlmcErr *err);
/* The optimized kernel's host assembly (AT&T syntax), for --emit=asm; malloc'd. */
char *cc_codegen_matmul_asm(CcJit *jit, const IrGraph *g, IrId node, LlmcErr *err);

/* The attention kernels' f32 exp (codegen_math.c, cc_math_exp_f32) as a kernel, for its
 * accuracy test: bufs = {x, y} (float), y[i] = exp(x[i]) for i in [begin, end), 16
 * lanes at a time, then one at a time (the same bits either way). */
bool cc_codegen_exp_f32(CcJit *jit, CcKernelFn *fn, LlmcErr *err);

/* ===================================================================================
 * JIT: attention (compiler/codegen_attention.c) — the ATTENTION kernels of cc_fuse,
 * FlashAttention-style: scores exist one tile at a time, on the stack; the forward keeps
 * a running max and sum per row (online softmax) and saves only each row's log-sum-exp,
 * from which the backward recomputes the probabilities. Nothing of size R x S is ever
 * stored. Three passes:
 *   FORWARD  attention (+ attention_lse of the same q, k and attributes): a task is a
 *            chunk of rows of one batch element; keys in tiles, outer.
 *   DQ       attention_grad wrt q: a task is a chunk of rows, keys in tiles.
 *   DKV      attention_grad wrt k and/or wrt v, one pass for both: a task is a chunk of
 *            keys, rows in tiles (no atomics: every output row has one task).
 * bufs = k->inputs in order, then k->outputs in order, dense row-major in the dtype
 * (f32 or f64); every operand must be a kernel input. Each output element is computed by
 * exactly one task in a fixed order (tiles ascending), so any split of the tasks over
 * calls or threads gives the same bytes. Outputs must not overlap inputs. */
typedef enum CcAttentionPass { CC_ATTENTION_FORWARD, CC_ATTENTION_DQ, CC_ATTENTION_DKV } CcAttentionPass;

typedef struct CcAttentionPlan {
    CcAttentionPass pass;
    IrDtype dtype;
    bool causal;
    double scale;
    int64_t batches, R, S, d, e; /* per batch element: q [R, d], k [S, d], v [S, e] */
    int64_t vl;                  /* lanes */
    int64_t bq, bk;              /* a score tile: bk keys x bq rows (rows along the vectors) */
    int64_t chunk, chunks;       /* rows (FORWARD, DQ) or keys (DKV) per task; tasks per batch element */
    int64_t tasks;               /* batches * chunks */
    int64_t mr_dot, mr_acc;      /* microkernel rows: score tiles, and the P x V-like products */
    int64_t stack_bytes;         /* the kernel's allocas */
    /* bufs[] slots; UINT32_MAX when the pass does not use the value */
    uint32_t slot_q, slot_k, slot_v, slot_lse, slot_dsum, slot_dout;
    uint32_t slot_out, slot_out_lse, slot_dq, slot_dk, slot_dv;
} CcAttentionPlan;
/* The plan of ATTENTION kernel k; false + message for members it cannot compile. */
bool cc_attention_plan(const CcJit *jit, const IrGraph *g, const CcKernel *k, CcAttentionPlan *plan, LlmcErr *err);

/* FMA peak (compiler/peak.c): a kernel of the host's widest vector FMA, independent
 * chains enough to cover the FMA latency, for measuring the machine's peak through the
 * pool (runtime rt_machine_peak). fn(bufs, begin, end): each item runs *flops_per_item
 * floating-point operations (f32, an FMA counted as 2) and stores its result to
 * ((float *)bufs[0])[item] so nothing is dead. */
bool cc_codegen_fma_peak(CcJit *jit, CcKernelFn *fn, double *flops_per_item, LlmcErr *err);
/* The same with vdpbf16ps chains (bf16 pairs, f32 accumulators): the peak of the bf16
 * matmuls' instruction. *fn = NULL (and true) when the target has no avx512bf16. */
bool cc_codegen_bf16_peak(CcJit *jit, CcKernelFn *fn, double *flops_per_item, LlmcErr *err);

/* ===================================================================================
 * Memory plan (compiler/memplan.c): every intermediate of a fused graph at an offset in
 * one arena, by liveness over the kernel order. The rules are in the banner of
 * compiler/memplan.c.
 * =================================================================================== */

#define CC_MEMPLAN_ALIGN 64u              /* every buffer's offset and size */
#define CC_MEMPLAN_NONE UINT64_MAX        /* offset of a node that is no arena buffer */

/* An arena buffer is a kernel output that is not a graph output (graph outputs, inputs
 * and constants live outside the arena: the caller owns them). Per node id: */
typedef struct CcMemPlan {
    uint32_t n_nodes;      /* the graph's node count */
    uint64_t *offset;      /* [n_nodes] byte offset in the arena; CC_MEMPLAN_NONE if no buffer */
    uint64_t *size;        /* [n_nodes] bytes reserved: ir_type_bytes rounded up to 64; 0 if none */
    uint32_t *first;       /* [n_nodes] live range in kernel indices: the writer ... */
    uint32_t *last;        /* ... to the last reader (== first when nothing reads it) */
    IrId *inplace_of;      /* [n_nodes] the input whose bytes this output overwrites (an
                              ELEMENTWISE in-place write); IR_ID_NONE otherwise */
    uint32_t n_buffers;    /* arena buffers */
    uint32_t n_inplace;    /* of them written in place */
    uint64_t peak_bytes;   /* the arena size */
    uint64_t total_bytes;  /* sum of every buffer's size: what one buffer each would need */
} CcMemPlan;

/* Plans f's intermediates. Deterministic (a function of the fusion alone). false +
 * message only on an inconsistent fusion. Free with cc_memplan_free. */
bool cc_memplan(const CcFusion *f, CcMemPlan *out, LlmcErr *err);
void cc_memplan_free(CcMemPlan *p);
/* Verifies a plan against f from first principles (live ranges recomputed from the
 * member nodes' operands): every intermediate has an aligned buffer inside the arena,
 * nothing else has one, the sum is right, and no two buffers live at the same kernel
 * overlap, except an output written in place over an input that dies at that kernel
 * (same offset and size, an ELEMENTWISE kernel with one output). false + the first
 * violation. For tests. */
bool cc_memplan_check(const CcFusion *f, const CcMemPlan *p, LlmcErr *err);

/* ===================================================================================
 * Object cache (compiler/objcache.c; object code helpers in compiler/jit.c). Kernels
 * compiled once are kept as object files on disk and loaded by later JITs (other runs,
 * other processes) through LLVMOrcLLJITAddObjectFile: no optimization, no codegen. Key
 * composition, the entry format and the concurrency argument are in the banner of
 * compiler/objcache.c.
 * =================================================================================== */

struct LLVMOpaqueModule;

/* jit.c: verify + default<O3> (as cc_jit_add_module), then an object file from the JIT's
 * target machine; *obj is malloc'd. mod stays the caller's. */
bool cc_jit_emit_object(const CcJit *jit, struct LLVMOpaqueModule *mod, char **obj, size_t *len, LlmcErr *err);
/* jit.c: links an object file (copied) into the JIT's main JITDylib; `name` names the
 * buffer in LLVM's messages. */
bool cc_jit_add_object(CcJit *jit, const void *obj, size_t len, const char *name, LlmcErr *err);
/* jit.c: the address of `name` if the JIT defines it (or the process does), else NULL;
 * never an error. */
void *cc_jit_find(CcJit *jit, const char *name);

#define CC_OBJCACHE_FORMAT 2u /* bump when the entry layout, the key or jit.c's pipeline changes */

typedef struct CcObjCache CcObjCache;
typedef struct CcObjKey {
    uint64_t lo, hi; /* FNV-1a 128 of the key composition; the entry is <hi><lo>.o in hex */
} CcObjKey;
typedef struct CcObjCacheStats {
    uint64_t hits;           /* entries loaded: no optimization, no codegen */
    uint64_t misses;         /* objects generated (optimized + emitted), rebuilds included */
    uint64_t rebuilds;       /* of those, corrupt entries replaced (each also a warning) */
    uint64_t reused;         /* kernels the same JIT already had: no load at all */
    uint64_t store_failures; /* entries that could not be written (a warning; the kernel
                                still runs from the generated object) */
} CcObjCacheStats;

/* Opens (creating, like mkdir -p) the cache directory: `dir` if not NULL, else
 * $LLMC_CACHE_DIR, else $XDG_CACHE_HOME/llmc, else $HOME/.cache/llmc. NULL + message
 * when no directory can be made. One CcObjCache per thread; any number of processes may
 * share a directory. */
CcObjCache *cc_objcache_open(const char *dir, LlmcErr *err);
void cc_objcache_free(CcObjCache *c);
const char *cc_objcache_dir(const CcObjCache *c);
CcObjCacheStats cc_objcache_stats(const CcObjCache *c);
/* Warnings so far (corrupt entries, failed stores), as "path: warning: ..." diagnostics
 * (llmc_diags_print); never errors: the cache only ever costs a recompile. */
const LlmcDiags *cc_objcache_diags(const CcObjCache *c);
/* The key of `key_text` (a canonical description of the kernel) compiled by `jit`: the
 * text, the module's target triple, the host CPU name and feature string, the LLVM
 * version (LLVMGetVersion) and CC_OBJCACHE_FORMAT. */
CcObjKey cc_objcache_key(const CcJit *jit, const char *triple, const char *key_text, size_t key_len);
void cc_objkey_hex(CcObjKey k, char hex[33]);
char *cc_objcache_entry_path(const CcObjCache *c, CcObjKey k); /* malloc'd "<dir>/<hex>.o" */

/* Adds mod (created in tsctx's context) to the JIT through the cache: prepares it, keys it
 * by key_text (NULL: the module's own bitcode, written before optimization), then on
 * a hit links the entry's object; on a miss (or a corrupt entry: a warning, rebuilt)
 * optimizes and emits the object, stores it, and links that same object, so both paths
 * run the same machine code. *hit (may be NULL) says which. Takes ownership of mod and of
 * the tsctx reference, as cc_jit_add_module. The caller keeps symbol names unique per
 * JIT (cc_jit_add_kernel_cached does it by naming kernels after their key). */
bool cc_jit_add_module_cached(CcJit *jit, CcObjCache *cache, struct LLVMOpaqueModule *mod,
                              struct LLVMOrcOpaqueThreadSafeContext *tsctx, const char *key_text, bool *hit,
                              LlmcErr *err);
/* For a module defining one external kernel function named `base`: keys it by its IR
 * text, renames the function "<base>_h<key hex>" (the same name in every process, so an
 * object defines exactly the symbol it is found under), and returns its address in *addr:
 * from this JIT if it already has the kernel (stats.reused), else as
 * cc_jit_add_module_cached. Takes ownership of mod and tsctx. */
bool cc_jit_add_kernel_cached(CcJit *jit, CcObjCache *cache, struct LLVMOpaqueModule *mod,
                              struct LLVMOrcOpaqueThreadSafeContext *tsctx, const char *base, void **addr,
                              bool *hit, LlmcErr *err);

/* Bundles (llmc -o X.llmc, runtime/bundle.c) carry a model's compiled kernels: llmc
 * compiles through a cache with a recorder set and collects what it hands over; llmrun
 * installs the bundle's objects into a cache with cc_objcache_store, after checking
 * that cc_objcache_target matches, so building the executors hits every kernel. */
typedef struct CcObjRecord {
    CcObjKey key;         /* the entry's key; the kernel function is "<base>_h<key hex>" */
    const void *obj;      /* the object file the JIT linked (hit or miss alike) */
    size_t obj_len;
    const void *bitcode;  /* LLVM bitcode of the kernel module as keyed: prepared for the
                             host (triple, data layout, renamed), before optimization */
    size_t bitcode_len;   /* 0 when LLVM could not write it */
} CcObjRecord;
/* Called once for every object the cache links into a JIT, on a hit or a miss (not for
 * kernels the JIT already had: stats.reused); the record's bytes live only during the
 * call. fn NULL: no recorder (the default). */
typedef void (*CcObjRecordFn)(void *ctx, const CcObjRecord *r);
void cc_objcache_set_recorder(CcObjCache *c, CcObjRecordFn fn, void *ctx);
/* Writes an entry for `key` holding object `obj` (the entry format of objcache.c's
 * banner), atomically. The caller vouches that obj is what the key's kernel compiles to. */
bool cc_objcache_store(CcObjCache *c, CcObjKey key, const void *obj, size_t len, LlmcErr *err);
/* Everything but the key text that goes into a key for this JIT, as text (malloc'd):
 *     "format <CC_OBJCACHE_FORMAT>\nllvm <x.y.z>\ntriple <t>\ncpu <name>\nfeatures <f>\n"
 * Two JITs with the same target text key every kernel the same, so objects move between
 * them (through a bundle) exactly when their texts are equal. */
char *cc_objcache_target(const CcJit *jit);
/* Adds a warning to the cache's diagnostics (cc_objcache_diags), as "path: warning: ...". */
void cc_objcache_warn(CcObjCache *c, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* cc_codegen_elementwise / cc_codegen_matmul through the cache (cache NULL: the uncached
 * call, *hit false). Identical kernels share one function within a JIT. */
bool cc_codegen_elementwise_cached(CcJit *jit, CcObjCache *cache, const IrGraph *g, const IrId *nodes,
                                   uint32_t n_nodes, IrId output, CcKernelFn *fn, bool *hit, LlmcErr *err);
bool cc_codegen_matmul_cached(CcJit *jit, CcObjCache *cache, const IrGraph *g, IrId node, CcKernelFn *fn,
                              bool *hit, LlmcErr *err);

/* ===================================================================================
 * JIT: reduce (compiler/codegen_reduce.c). A REDUCE kernel of cc_fuse — one reduce_sum or
 * reduce_max over one axis with the elementwise producers of its operand, or a reduction
 * of such a reduction (nested) — as one function; a ROW kernel — the rows of one shape
 * through several last-axis reductions and their elementwise consumers — as one function.
 * Ordering and vectorization: the banner of compiler/codegen_reduce.c.
 * =================================================================================== */

/* The kernel for REDUCE kernel k of g: bufs = k->inputs in order (ascending id; splat
 * constants are literals, not listed), each dense row-major in its dtype (a rank-0 input
 * is a 1-element array), then the output. [begin, end) ranges over OUTPUT elements
 * (outer x inner positions around the axis, row-major), so calls over disjoint pieces of
 * [0, numel(out)) give the same bytes as one call; a reduction is never split. Each
 * output is accumulated left to right in the node's dtype (f32 sums in f32). The output
 * must not overlap the inputs. Operands may be read through reshape/permute/broadcast
 * chains over kernel inputs (index arithmetic). Nested (fuse.c rule 4a: the operand is a
 * member reduction): each operand element of the outer reduction is the inner reduction,
 * accumulated in place as a REDUCE kernel of its own would (so the same bytes as two
 * kernels); scalar code. false + "not supported yet" for slice or concat members, chains
 * over computed members, or members of another shape than the operand's (below a chain's
 * top). */
bool cc_codegen_reduce(CcJit *jit, const IrGraph *g, const CcKernel *k, CcKernelFn *fn, LlmcErr *err);
/* The kernel's LLVM IR text (verified; after default<O3> when `optimize`); malloc'd. */
char *cc_codegen_reduce_ir(CcJit *jit, const IrGraph *g, const CcKernel *k, bool optimize, LlmcErr *err);
/* The kernel for ROW kernel k of g (fuse.c rule 4b): the rows of X = [..., len], the
 * operand shape of its last-axis reductions (len >= 2). bufs = k->inputs in order, then
 * k->outputs in order (each of shape X, a reshape of X — same elements, same order — or
 * a row shape: X with the last dimension 1 or dropped). [begin, end) ranges over ROWS
 * (numel(X) / len): per row, the row values in
 * ascending id — each reduction accumulated as cc_codegen_reduce does (left to right,
 * node dtype) over its operand computed per element from the row's earlier values, each
 * row-shaped elementwise op computed once — then the row-shaped outputs stored, then every
 * X-shaped output element of the row computed and stored (broadcasts of row values read
 * them). Rows are independent, so any split gives the same bytes. Outputs must not overlap
 * inputs. Scalar code only in this slice. Accepted members: the banner of the ROW section
 * of compiler/codegen_reduce.c. */
bool cc_codegen_row(CcJit *jit, const IrGraph *g, const CcKernel *k, CcKernelFn *fn, LlmcErr *err);
/* Whether cc_codegen_row accepts k (no LLVM involved; false + the reason). fuse.c asks it
 * of every candidate ROW kernel, so every ROW kernel fusion makes compiles. */
bool cc_row_supported(const IrGraph *g, const CcKernel *k, LlmcErr *err);
/* A cast of an f32 / f64 value to bf16: the only bf16 node a ROW kernel or a matmul
 * epilogue may hold, and only as an output no member reads (codegen_kernel.c checks
 * that; cc_fuse and cc_row_supported ask this before forming such kernels). */
bool cc_bf16_store_cast(const IrGraph *g, IrId id);

/* ===================================================================================
 * JIT: movement (compiler/codegen_movement.c). A MOVEMENT kernel of cc_fuse — a chain of
 * reshape, permute, broadcast, slice and concat members — as one copy.
 * =================================================================================== */

/* The kernel for MOVEMENT kernel k of g: bufs = k->inputs in order (ascending id; splat
 * constants are literals, not listed), each dense row-major in its dtype, then the output.
 * [begin, end) ranges over OUTPUT elements: output[i] = the source element that i maps to
 * through the chain, copied bit for bit (any dtype of 1, 2, 4 or 8 bytes), so calls over
 * disjoint pieces give the same bytes as one call. The output must not overlap the
 * inputs. false + "not supported yet" for kernels with several outputs. */
bool cc_codegen_movement(CcJit *jit, const IrGraph *g, const CcKernel *k, CcKernelFn *fn, LlmcErr *err);

/* ===================================================================================
 * JIT: index (compiler/codegen_index.c). An INDEX kernel of cc_fuse — one iota, onehot,
 * gather, rand, cumsum, scatter_add or topk node, with the movement members (reshape,
 * permute, broadcast, slice, concat) fusion absorbed under its operands — as one function. Semantics,
 * out-of-range indices, rand's precision and scatter_add's cost: the banner of
 * compiler/codegen_index.c.
 * =================================================================================== */

/* The kernel for INDEX kernel k of g: bufs = k->inputs in order (ascending id; splat
 * constants are literals, not listed), each dense row-major in its dtype, then the
 * output. [begin, end) ranges over OUTPUT elements (iota, onehot, gather, rand), over the
 * independent rows outer x inner around the axis (cumsum), over the output rows up to and
 * including the axis (scatter_add: numel(out) / the elements after the axis), or over
 * the rows of the last axis (topk: numel(out) / k), so calls over disjoint pieces give
 * the same bytes as one call. A gather index outside the axis yields 0 and a scatter_add
 * index outside it is skipped, where the interpreter reports an error. Operands are read
 * through the absorbed movement members by index arithmetic (kernel inputs and splat
 * constants at the leaves), bit for bit. false + "not supported yet" for sharded rand and
 * for members other than movement ops. */
bool cc_codegen_index(CcJit *jit, const IrGraph *g, const CcKernel *k, CcKernelFn *fn, LlmcErr *err);
/* The kernel's LLVM IR text (verified; after default<O3> when `optimize`); malloc'd. */
char *cc_codegen_index_ir(CcJit *jit, const IrGraph *g, const CcKernel *k, bool optimize, LlmcErr *err);

/* ===================================================================================
 * Kernels of a fusion, any kind (compiler/codegen_kernel.c): one entry point for the
 * executor and for --emit=llvm|asm. A kernel is one or more functions: an ELEMENTWISE
 * kernel has one per output (each recomputes what its output needs), RUNTIME kernels
 * none (the runtime carries them out), every other kind one.
 * =================================================================================== */

uint32_t cc_kernel_functions(const CcKernel *k);

/* How function fn_index of kernel k is called: fn(bufs, begin, end) over [0, items),
 * bufs[i] = the dense buffer of node bufs[i] (inputs first, then what it writes), split
 * into pieces of at least `grain` items (a size that amortizes a call, not a
 * correctness matter: any split gives the same bytes). */
typedef struct CcKernelCall {
    IrId *bufs;          /* [n_bufs]; malloc'd (cc_kernel_call_free) */
    uint32_t n_bufs;
    uint32_t n_written;  /* the last n_written of bufs are outputs */
    int64_t items;
    int64_t grain;
} CcKernelCall;
bool cc_kernel_call(const CcJit *jit, const IrGraph *g, const CcKernel *k, uint32_t fn_index, CcKernelCall *call,
                    LlmcErr *err);
void cc_kernel_call_free(CcKernelCall *call);
/* Compiles every function of f's kernels that is neither in the JIT nor in its object
 * cache on up to `threads` threads at once (optimization and code generation; the
 * modules are built and keyed on the caller's thread), so that the cc_codegen_kernel
 * calls after it only look up. Without a cache, or with one thread, it does nothing. */
bool cc_codegen_kernels(CcJit *jit, const IrGraph *g, const CcFusion *f, uint32_t threads, LlmcErr *err);
/* Generates and JIT-compiles function fn_index of k (through the JIT's cache if set). */
bool cc_codegen_kernel(CcJit *jit, const IrGraph *g, const CcKernel *k, uint32_t fn_index, CcKernelFn *fn,
                       LlmcErr *err);
/* Its text for --emit=llvm|asm; malloc'd; NULL + message if it cannot be generated. */
char *cc_kernel_text(CcJit *jit, const IrGraph *g, const CcKernel *k, uint32_t fn_index, CcTextKind kind,
                     LlmcErr *err);

#endif /* LLMC_COMPILER_H */
