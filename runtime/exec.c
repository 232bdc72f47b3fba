/* runtime/exec.c — the executor: one graph as a list of JIT-compiled kernels over one
 * arena, run on the thread pool.
 *
 * Building (rt_exec_new): cc_fuse groups the graph into kernels, cc_memplan gives every
 * intermediate an offset in one arena, and every kernel function is generated through
 * cc_codegen_kernel (the JIT's object cache, if one is set, makes a second build skip
 * codegen). Nothing is interpreted: a kernel that codegen does not support makes the
 * build fail with its message. RUNTIME kernels are the collectives and extern_call. The
 * executor runs one rank of a world (rt_exec_new_world; rt_exec_new is a one-rank
 * world): a collective's `ranks` must be the world's size, and over one rank it is the
 * identity (a copy). Over more it goes through the communicator (runtime/comm.c, whose
 * reductions follow the interpreter's rank-order tree). Every collective is started
 * where the schedule puts it and waited for just before the first kernel that reads its
 * result (cc_fusion_first_reader), so the kernels in between hide the transfer: the
 * FSDP all-gather of a param shard, which the shard pass places one layer before its
 * use, and the gradient reductions, placed right after each gradient, under the rest of
 * the backward. The memory plan keeps a collective's operand live until then
 * (compiler/memplan.c). Outstanding requests are polled between kernels, because MPI
 * progresses non-blocking collectives only inside MPI calls.
 * An extern_call is one call of the user's
 * function through libffi (runtime/extern.c), resolved at build time, so a missing
 * library or symbol fails rt_exec_new; it is never split, and its determinism is the
 * library's business.
 *
 * Buffers. Inputs and outputs are the caller's dense row-major arrays in their native
 * dtype (float, double, int32_t; a rank-0 value is one element). Constants are
 * materialized once. A kernel output that is a graph output is written straight into
 * the caller's output buffer; every other intermediate lives in the arena.
 *
 * Write-back (DESIGN §7, "state written back in place"): an output whose name is also an
 * input's name (the update graph's params, moments and step counter) may be given a NULL
 * buffer, meaning "into that input's buffer". It is written there directly when that is
 * safe, decided once at build time:
 *   - no kernel after the writing kernel reads the input, and
 *   - the writing kernel is ELEMENTWISE, reads the input only element by element at the
 *     output's own index (same type, no movement or broadcast member over it), or does
 *     not read it at all, and
 *   - (a kernel is one function, which loads everything an element needs before it
 *     stores that element's outputs, so an output may overwrite an input another output
 *     of the same kernel reads at the same index).
 * Otherwise the output goes to a scratch buffer and is copied into the input after the
 * last kernel. Either way a run leaves exactly the values the graph defines; the
 * direct path just saves the copy and the memory.
 *
 * Determinism: kernels split over independent outputs only (compiler.h), the pool's split
 * is static, kernels run one after another in the fusion's order; so the bytes of every
 * output are the same for any thread count.
 */
#include "runtime.h"

#include "compiler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct ExecFn {
    CcKernelFn fn;
    CcKernelCall call;
    void **bufs; /* [call.n_bufs] filled per run */
} ExecFn;

typedef struct ExecKernel {
    ExecFn *fns;        /* [n_fns] in run order (write-back constraints) */
    uint32_t n_fns;
    IrId copy_from;     /* RUNTIME kernel: identity collective copy operand -> root */
    RtExtern *ext;      /* RUNTIME kernel: an extern_call (runtime/extern.c) */
    bool comm;          /* RUNTIME kernel: a collective through the communicator */
    RtCommOp op;
    uint64_t count;     /* elements per rank, as rt_comm_start counts them */
    uint32_t wait_at;   /* kernel index before which the request must be complete (the
                           next kernel for a blocking one; n_kernels: after the last) */
    char *what;         /* "all_gather %12 (layers.3)" for timeout messages */
    uint32_t overlap_at; /* wait_at as planned (rt_exec_set_prefetch(false) waits at k + 1) */
    RtCommReq *req;     /* in flight during a run */
} ExecKernel;

/* Where a node's bytes are during a run. */
typedef enum Place {
    PLACE_NONE = 0, /* not needed */
    PLACE_INPUT,    /* the caller's input slot `index` */
    PLACE_CONST,    /* consts[index] */
    PLACE_ARENA,    /* arena + plan.offset */
    PLACE_OUTPUT,   /* output slot `index`: the caller's buffer, the input written back
                       to (direct), or that output's scratch */
} Place;

typedef struct Late {
    IrId node;   /* copy this node's bytes ... */
    uint32_t to; /* ... into output slot `to` (or its write-back input) after the last kernel */
} Late;

struct RtExec {
    const IrGraph *g;
    RtPool *pool;
    RtComm *comm;          /* NULL: a one-rank world */
    uint32_t *flight;      /* [n_kernels] kernels with a request out, during a run */
    uint32_t world;        /* its size */
    CcFusion fusion;
    CcMemPlan plan;
    ExecKernel *kernels;   /* [fusion.n_kernels] */
    uint32_t n_inputs;
    IrId *input_ids;       /* [n_inputs] graph input order */
    int32_t *writeback;    /* [n_outputs] input slot an output may be written back to, or -1 */
    bool *direct;          /* [n_outputs] that write-back goes straight into the input */
    uint32_t *scratch_of;  /* [n_outputs] scratch index of a copied write-back or a
                              source output's snapshot; UINT32_MAX if none */
    Place *place;          /* [n_nodes] */
    uint32_t *place_index; /* [n_nodes] */
    void **consts;         /* [n_consts] */
    uint32_t n_consts;
    void **scratch;        /* [n_scratch] */
    uint32_t n_scratch;
    Late *late;            /* copies after the last kernel */
    uint32_t n_late;
    Late *early;           /* outputs that are sources: copied before the first kernel */
    uint32_t n_early;
    void *arena;
    void **ptr;            /* [n_nodes] per run */
    bool check_finite;     /* rt_exec_set_check_finite: stop at the first non-finite write */
    bool profile;          /* rt_exec_set_profile: time every kernel into prof_s */
    double *prof_s;        /* [n_kernels] seconds over prof_runs runs; NULL until profiled */
    uint64_t prof_runs;
    RtExecStats stats;
};

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static bool is_source(const IrNode *n) { return n->op == IR_OP_INPUT || n->op == IR_OP_CONST; }

static bool is_collective(IrOp op) {
    return op == IR_OP_ALL_REDUCE || op == IR_OP_ALL_GATHER || op == IR_OP_REDUCE_SCATTER || op == IR_OP_ALL_TO_ALL;
}

static bool call_reads(const CcKernelCall *c, IrId id) {
    for (uint32_t i = 0; i + c->n_written < c->n_bufs; i++)
        if (c->bufs[i] == id) return true;
    return false;
}

static bool call_writes(const CcKernelCall *c, IrId id) {
    for (uint32_t i = c->n_bufs - c->n_written; i < c->n_bufs; i++)
        if (c->bufs[i] == id) return true;
    return false;
}

static bool kernel_reads(const RtExec *e, uint32_t k, IrId id) {
    const ExecKernel *ek = &e->kernels[k];
    if (ek->copy_from == id) return true;
    if (ek->comm && ir_graph_node(e->g, e->fusion.kernels[k].root)->operands[0] == id) return true;
    if (ek->ext && rt_extern_reads(ek->ext, id)) return true;
    for (uint32_t f = 0; f < ek->n_fns; f++)
        if (call_reads(&ek->fns[f].call, id)) return true;
    return false;
}

/* --- building --------------------------------------------------------------------- */

/* A collective over the world: which rt_comm operation, on how many elements, and when
 * its request must be complete. */
static bool build_comm_kernel(RtExec *e, uint32_t k, LlmcErr *err) {
    ExecKernel *ek = &e->kernels[k];
    IrId root = e->fusion.kernels[k].root;
    const IrNode *n = ir_graph_node(e->g, root), *x = ir_graph_node(e->g, n->operands[0]);
    int64_t numel = ir_type_numel(&x->type);
    if (n->op == IR_OP_ALL_REDUCE) {
        ek->op = RT_COMM_ALL_REDUCE;
        ek->count = (uint64_t)numel;
    } else if (n->op == IR_OP_ALL_GATHER) {
        ek->op = RT_COMM_ALL_GATHER;
        ek->count = (uint64_t)numel;
    } else if (n->op == IR_OP_REDUCE_SCATTER) {
        ek->op = RT_COMM_REDUCE_SCATTER;
        ek->count = (uint64_t)(numel / e->world);
    } else {
        llmc_err_set(err, "@%s %%%u: %s over %u ranks is not supported by the executor", ir_graph_name(e->g), root,
                     ir_op_name(n->op), e->world);
        return false;
    }
    if (n->op != IR_OP_ALL_GATHER && n->attrs.coll.reduce != IR_REDUCE_SUM) {
        llmc_err_set(err, "@%s %%%u: %s with a reduction other than sum is not supported over %u ranks",
                     ir_graph_name(e->g), root, ir_op_name(n->op), e->world);
        return false;
    }
    /* Blocks are whole leading slices only when everything before the axis is 1. */
    int64_t axis = n->op == IR_OP_ALL_REDUCE ? 0 : n->attrs.coll.axis;
    for (int64_t a = 0; a < axis; a++)
        if (x->type.dims[a] != 1) {
            llmc_err_set(err, "@%s %%%u: %s along axis %lld of %s is not contiguous per rank; the executor "
                              "exchanges leading blocks only", ir_graph_name(e->g), root, ir_op_name(n->op),
                         (long long)axis, ir_op_name(x->op));
            return false;
        }
    LlmcBuf what = {0};
    llmc_buf_printf(&what, "%s %%%u", ir_op_name(n->op), root);
    if (n->scope) llmc_buf_printf(&what, " (%s)", ir_graph_str(e->g, n->scope));
    llmc_buf_printf(&what, " of @%s", ir_graph_name(e->g));
    ek->what = what.data;
    ek->comm = true;
    ek->wait_at = ek->overlap_at = cc_fusion_first_reader(&e->fusion, root);
    return true;
}

static bool build_runtime_kernel(RtExec *e, uint32_t k, LlmcErr *err) {
    const CcKernel *kn = &e->fusion.kernels[k];
    const IrNode *n = ir_graph_node(e->g, kn->root);
    if (n->op == IR_OP_EXTERN_CALL) {
        LlmcErr xe = {0};
        e->kernels[k].ext = rt_extern_new(e->g, kn->root, &xe);
        if (!e->kernels[k].ext) llmc_err_set(err, "@%s %%%u: %s", ir_graph_name(e->g), kn->root, xe.msg);
        return e->kernels[k].ext != NULL;
    }
    if (!is_collective(n->op)) {
        llmc_err_set(err, "@%s %%%u: %s is not supported by the executor yet", ir_graph_name(e->g), kn->root,
                     ir_op_name(n->op));
        return false;
    }
    if (n->attrs.coll.ranks != (int64_t)e->world) {
        llmc_err_set(err, "@%s %%%u: %s over %lld ranks, but this world has %u (%s)", ir_graph_name(e->g), kn->root,
                     ir_op_name(n->op), (long long)n->attrs.coll.ranks, e->world,
                     e->world == 1 ? "use mpirun for more" : "compile the step for this world size");
        return false;
    }
    if (e->world == 1) {
        e->kernels[k].copy_from = n->operands[0]; /* over one rank every collective is the identity */
        return true;
    }
    return build_comm_kernel(e, k, err);
}

static bool build_kernels(RtExec *e, CcJit *jit, LlmcErr *err) {
    const CcFusion *f = &e->fusion;
    e->kernels = llmc_xcalloc(f->n_kernels ? f->n_kernels : 1, sizeof *e->kernels);
    double t0 = now_ms();
    /* What the object cache lacks compiles on the pool's thread count at once; the loop
     * below then only looks kernels up (a failure there names the kernel). */
    LlmcErr be = {0};
    if (!cc_codegen_kernels(jit, e->g, f, rt_pool_threads(e->pool), &be)) {
        llmc_err_set(err, "@%s: %s", ir_graph_name(e->g), be.msg);
        return false;
    }
    for (uint32_t k = 0; k < f->n_kernels; k++) {
        const CcKernel *kn = &f->kernels[k];
        ExecKernel *ek = &e->kernels[k];
        ek->copy_from = IR_ID_NONE;
        if (kn->kind == CC_KERNEL_RUNTIME) {
            if (!build_runtime_kernel(e, k, err)) return false;
            e->stats.runtime_kernels++;
            continue;
        }
        ek->n_fns = cc_kernel_functions(kn);
        ek->fns = llmc_xcalloc(ek->n_fns ? ek->n_fns : 1, sizeof *ek->fns);
        for (uint32_t i = 0; i < ek->n_fns; i++) {
            LlmcErr ke = {0};
            if (!cc_kernel_call(jit, e->g, kn, i, &ek->fns[i].call, &ke) ||
                !cc_codegen_kernel(jit, e->g, kn, i, &ek->fns[i].fn, &ke)) {
                llmc_err_set(err, "@%s kernel %%k%u (%s, root %%%u): %s", ir_graph_name(e->g), k,
                             cc_kernel_kind_name(kn->kind), kn->root, ke.msg);
                return false;
            }
            ek->fns[i].bufs = llmc_xcalloc(ek->fns[i].call.n_bufs, sizeof *ek->fns[i].bufs);
            e->stats.functions++;
        }
    }
    e->stats.kernels = f->n_kernels;
    e->stats.compile_ms = now_ms() - t0;
    return true;
}

static void *materialize_const(const IrNode *n) {
    int64_t numel = ir_type_numel(&n->type);
    size_t size = ir_dtype_size(n->type.dtype);
    char *p = llmc_xmalloc((size_t)numel * size);
    const IrData *d = &n->attrs.constant.value;
    for (int64_t i = 0; i < numel; i++) memcpy(p + i * size, (const char *)d->bytes + (d->count == 1 ? 0 : i) * size, size);
    return p;
}

/* Whether node n may be written straight into input node `in`: same type, no later
 * kernel reads `in`, and its kernel reads `in` at most element by element at n's own
 * index. */
static bool direct_candidate(const RtExec *e, IrId n, IrId in) {
    const IrGraph *g = e->g;
    uint32_t k = e->fusion.kernel_of[n];
    if (!ir_type_equal(&ir_graph_node(g, n)->type, &ir_graph_node(g, in)->type)) return false;
    for (uint32_t later = k + 1; later < e->fusion.n_kernels; later++)
        if (kernel_reads(e, later, in)) return false;
    if (!kernel_reads(e, k, in)) return true;
    const CcKernel *kn = &e->fusion.kernels[k];
    if (kn->kind != CC_KERNEL_ELEMENTWISE) return false;
    for (uint32_t i = 0; i < kn->n_nodes; i++) {
        const IrNode *m = ir_graph_node(g, kn->nodes[i]);
        for (uint32_t o = 0; o < m->n_operands; o++)
            if (m->operands[o] == in && ir_op_info(m->op)->kind != IR_KIND_ELEMENTWISE) return false;
    }
    return true;
}

static uint32_t output_first_slot(const IrGraph *g, IrId n) {
    for (uint32_t o = 0; o < g->n_outputs; o++)
        if (g->outputs[o].node == n) return o;
    return UINT32_MAX;
}

static uint32_t output_slot_of_input(const IrGraph *g, IrId input) {
    const char *name = ir_graph_str(g, ir_graph_node(g, input)->attrs.input.name);
    for (uint32_t o = 0; o < g->n_outputs; o++)
        if (strcmp(ir_graph_str(g, g->outputs[o].name), name) == 0) return o;
    return UINT32_MAX;
}

/* Decides the write-backs: e->writeback, e->direct, and the function order. */
static void plan_writeback(RtExec *e) {
    const IrGraph *g = e->g;
    for (uint32_t o = 0; o < g->n_outputs; o++) e->writeback[o] = -1;
    for (uint32_t i = 0; i < e->n_inputs; i++) {
        uint32_t o = output_slot_of_input(g, e->input_ids[i]);
        /* only an output of the input's very type can take its bytes */
        if (o == UINT32_MAX || !ir_type_equal(&ir_graph_node(g, g->outputs[o].node)->type,
                                              &ir_graph_node(g, e->input_ids[i])->type))
            continue;
        e->writeback[o] = (int32_t)i;
    }
    /* Every kernel is at most one function (compiler/codegen_kernel.c), which loads what
     * an element needs before it stores that element's outputs; so any output of it may
     * go straight over its input when direct_candidate allows. */
    for (uint32_t k = 0; k < e->fusion.n_kernels; k++) {
        const ExecKernel *ek = &e->kernels[k];
        for (uint32_t f = 0; f < ek->n_fns; f++) {
            const CcKernelCall *c = &ek->fns[f].call;
            for (uint32_t o = 0; o < g->n_outputs; o++) {
                IrId n = g->outputs[o].node;
                if (e->writeback[o] < 0 || !call_writes(c, n)) continue;
                if (output_first_slot(g, n) != o) continue; /* the node's first output owns its buffer */
                if (direct_candidate(e, n, e->input_ids[e->writeback[o]])) e->direct[o] = true;
            }
        }
    }
}

static uint32_t add_scratch(RtExec *e, IrId n) {
    e->scratch = llmc_xrealloc(e->scratch, (e->n_scratch + 1) * sizeof *e->scratch);
    e->scratch[e->n_scratch] = llmc_xmalloc(ir_type_bytes(&ir_graph_node(e->g, n)->type));
    return e->n_scratch++;
}

static void add_copy(Late **list, uint32_t *n, IrId node, uint32_t to) {
    *list = llmc_xrealloc(*list, (*n + 1) * sizeof **list);
    (*list)[(*n)++] = (Late){node, to};
}

/* Where every node lives (e->place) and the copies around the kernels. A kernel output
 * that is a graph output is placed at its first output slot; PLACE_OUTPUT resolves at run
 * time to the caller's buffer, or for a NULL write-back buffer to the input (direct) or to
 * the output's scratch (scratch_of). */
static void plan_places(RtExec *e, uint32_t *scratch_of) {
    const IrGraph *g = e->g;
    for (uint32_t i = 0; i < e->n_inputs; i++) {
        e->place[e->input_ids[i]] = PLACE_INPUT;
        e->place_index[e->input_ids[i]] = i;
    }
    for (IrId id = 0; id < g->n_nodes; id++) {
        const IrNode *n = ir_graph_node(g, id);
        if (n->op == IR_OP_CONST) {
            e->consts = llmc_xrealloc(e->consts, (e->n_consts + 1) * sizeof *e->consts);
            e->consts[e->n_consts] = materialize_const(n);
            e->place[id] = PLACE_CONST;
            e->place_index[id] = e->n_consts++;
        } else if (e->plan.offset[id] != CC_MEMPLAN_NONE) {
            e->place[id] = PLACE_ARENA;
        }
    }
    for (uint32_t o = 0; o < g->n_outputs; o++) {
        IrId n = g->outputs[o].node;
        scratch_of[o] = UINT32_MAX;
        bool source = is_source(ir_graph_node(g, n));
        if (source || output_first_slot(g, n) != o) {
            if (source) { /* snapshot before any write-back can touch it */
                scratch_of[o] = add_scratch(e, n);
                add_copy(&e->early, &e->n_early, n, o);
            }
            add_copy(&e->late, &e->n_late, n, o);
            continue;
        }
        e->place[n] = PLACE_OUTPUT;
        e->place_index[n] = o;
        if (e->writeback[o] >= 0 && !e->direct[o]) scratch_of[o] = add_scratch(e, n);
    }
}

/* Every buffer a kernel reads or writes has a place: the fusion and the memory plan
 * agree with the calls (a broken contract is reported, never a NULL dereference). */
static bool check_places(const RtExec *e, LlmcErr *err) {
    for (uint32_t k = 0; k < e->fusion.n_kernels; k++) {
        const ExecKernel *ek = &e->kernels[k];
        IrId root = e->fusion.kernels[k].root;
        if (ek->copy_from != IR_ID_NONE && (e->place[ek->copy_from] == PLACE_NONE || e->place[root] == PLACE_NONE)) {
            llmc_err_set(err, "internal error: @%s kernel %%k%u: collective %%%u has no buffer", ir_graph_name(e->g),
                         k, root);
            return false;
        }
        const IrNode *rn = ir_graph_node(e->g, root);
        for (uint32_t o = 0; ek->ext && o <= rn->n_operands; o++) {
            IrId id = o < rn->n_operands ? rn->operands[o] : root;
            if (e->place[id] != PLACE_NONE) continue;
            llmc_err_set(err, "internal error: @%s kernel %%k%u: extern_call %%%u: %%%u has no buffer",
                         ir_graph_name(e->g), k, root, id);
            return false;
        }
        for (uint32_t f = 0; f < ek->n_fns; f++)
            for (uint32_t b = 0; b < ek->fns[f].call.n_bufs; b++) {
                IrId id = ek->fns[f].call.bufs[b];
                if (e->place[id] != PLACE_NONE) continue;
                llmc_err_set(err, "internal error: @%s kernel %%k%u (%s): %%%u has no buffer", ir_graph_name(e->g), k,
                             cc_kernel_kind_name(e->fusion.kernels[k].kind), id);
                return false;
            }
    }
    return true;
}

RtExec *rt_exec_new(CcJit *jit, const IrGraph *g, RtPool *pool, LlmcErr *err) {
    return rt_exec_new_world(jit, g, pool, NULL, err);
}

RtExec *rt_exec_new_world(CcJit *jit, const IrGraph *g, RtPool *pool, RtComm *comm, LlmcErr *err) {
    RtExec *e = llmc_xcalloc(1, sizeof *e);
    e->g = g;
    e->pool = pool;
    e->comm = comm;
    e->world = comm ? rt_comm_size(comm) : 1;
    e->n_inputs = ir_graph_inputs(g, NULL);
    e->input_ids = llmc_xcalloc(e->n_inputs ? e->n_inputs : 1, sizeof *e->input_ids);
    ir_graph_inputs(g, e->input_ids);
    uint32_t n_out = g->n_outputs ? g->n_outputs : 1;
    e->writeback = llmc_xcalloc(n_out, sizeof *e->writeback);
    e->direct = llmc_xcalloc(n_out, sizeof *e->direct);
    e->scratch_of = llmc_xcalloc(n_out, sizeof *e->scratch_of);
    e->place = llmc_xcalloc(g->n_nodes, sizeof *e->place);
    e->place_index = llmc_xcalloc(g->n_nodes, sizeof *e->place_index);
    e->ptr = llmc_xcalloc(g->n_nodes, sizeof *e->ptr);
    if (!cc_fuse(g, &e->fusion, err) || !cc_memplan(&e->fusion, &e->plan, err) || !build_kernels(e, jit, err)) {
        rt_exec_free(e);
        return NULL;
    }
    e->flight = llmc_xcalloc(e->fusion.n_kernels + 1, sizeof *e->flight);
    plan_writeback(e);
    plan_places(e, e->scratch_of);
    if (!check_places(e, err)) {
        rt_exec_free(e);
        return NULL;
    }
    e->arena = e->plan.peak_bytes ? aligned_alloc(CC_MEMPLAN_ALIGN, e->plan.peak_bytes) : NULL;
    if (e->plan.peak_bytes && !e->arena) {
        llmc_err_set(err, "@%s: cannot allocate the %llu-byte arena", ir_graph_name(g),
                     (unsigned long long)e->plan.peak_bytes);
        rt_exec_free(e);
        return NULL;
    }
    e->stats.arena_bytes = e->plan.peak_bytes;
    for (uint32_t o = 0; o < g->n_outputs; o++) {
        IrId n = g->outputs[o].node;
        bool owns = e->place[n] == PLACE_OUTPUT && e->place_index[n] == o; /* a kernel node's first slot */
        e->stats.writeback_direct += e->direct[o];
        e->stats.writeback_copied += owns && e->writeback[o] >= 0 && !e->direct[o];
    }
    return e;
}

void rt_exec_free(RtExec *e) {
    if (!e) return;
    if (e->kernels)
        for (uint32_t k = 0; k < e->fusion.n_kernels; k++) {
            for (uint32_t f = 0; f < e->kernels[k].n_fns; f++) {
                cc_kernel_call_free(&e->kernels[k].fns[f].call);
                free(e->kernels[k].fns[f].bufs);
            }
            free(e->kernels[k].fns);
            rt_extern_free(e->kernels[k].ext);
            free(e->kernels[k].what);
        }
    free(e->kernels);
    free(e->flight);
    free(e->prof_s);
    for (uint32_t i = 0; i < e->n_consts; i++) free(e->consts[i]);
    free(e->consts);
    for (uint32_t i = 0; i < e->n_scratch; i++) free(e->scratch[i]);
    free(e->scratch);
    free(e->late);
    free(e->early);
    free(e->arena);
    free(e->input_ids);
    free(e->writeback);
    free(e->direct);
    free(e->scratch_of);
    free(e->place);
    free(e->place_index);
    free(e->ptr);
    cc_memplan_free(&e->plan);
    cc_fusion_free(&e->fusion);
    free(e);
}

/* --- running ---------------------------------------------------------------------- */

void rt_exec_set_check_finite(RtExec *e, bool on) { e->check_finite = on; }

void rt_exec_set_profile(RtExec *e, bool on) {
    if (on && !e->prof_s) e->prof_s = calloc(e->fusion.n_kernels ? e->fusion.n_kernels : 1, sizeof *e->prof_s);
    e->profile = on && e->prof_s;
}

const double *rt_exec_profile(const RtExec *e, uint64_t *runs) {
    *runs = e->prof_runs;
    return e->prof_s;
}

void rt_exec_set_prefetch(RtExec *e, bool on) {
    for (uint32_t k = 0; k < e->fusion.n_kernels; k++)
        if (e->kernels[k].comm) e->kernels[k].wait_at = on ? e->kernels[k].overlap_at : k + 1;
}

/* The index of the first value of n (dtype dt at p) that is nan, or an infinity that no
 * mask explains, or -1. A mask writes -inf on purpose (the unfused attention's `select`
 * of scores, and copies of it): -inf is allowed in select and movement outputs; +inf
 * never is (an overflow: a sum of squares, an exp). Fused attention masks inside its
 * kernel, so with it an overflow stays finite-or-inf and never turns into a nan. */
/* Element i of a float buffer as a double (bf16: its bits widened, exact). */
static double float_at(const void *p, IrDtype dt, int64_t i) {
    switch (dt) {
    case IR_DTYPE_F32: return (double)((const float *)p)[i];
    case IR_DTYPE_F64: return ((const double *)p)[i];
    case IR_DTYPE_BF16: return ir_bf16_to_double(((const uint16_t *)p)[i]);
    case IR_DTYPE_I32:
    case IR_DTYPE_INVALID:
    case IR_DTYPE_COUNT: break;
    }
    return 0;
}

static int64_t first_nonfinite(const void *p, IrDtype dt, int64_t n, bool mask_ok) {
    if (!ir_dtype_is_float(dt)) return -1; /* bf16 too: a cast to bf16 overflows at 0x1.ffp127 */
    for (int64_t i = 0; i < n; i++) {
        double x = float_at(p, dt, i);
        if (isnan(x) || (isinf(x) && !(mask_ok && x < 0))) return i;
    }
    return -1;
}

/* After kernel k's function f: the first output element that is nan or inf (see
 * first_nonfinite), named by kernel, node and the node's .llm provenance (scope,
 * file:line:col). */
static bool check_written(const RtExec *e, uint32_t k, const ExecFn *x, LlmcErr *err) {
    const IrGraph *g = e->g;
    for (uint32_t b = x->call.n_bufs - x->call.n_written; b < x->call.n_bufs; b++) {
        IrId id = x->call.bufs[b];
        const IrNode *n = ir_graph_node(g, id);
        bool mask_ok = n->op == IR_OP_SELECT || ir_op_info(n->op)->kind == IR_KIND_MOVEMENT;
        int64_t at = first_nonfinite(e->ptr[id], n->type.dtype, ir_type_numel(&n->type), mask_ok);
        if (at < 0) continue;
        double bad = float_at(e->ptr[id], n->type.dtype, at);
        char t[IR_TYPE_STR_MAX];
        LlmcBuf where = {0};
        if (n->scope) llmc_buf_printf(&where, " in %s", ir_graph_str(g, n->scope));
        if (n->loc.file)
            llmc_buf_printf(&where, " (%s:%u:%u)", ir_graph_str(g, n->loc.file), n->loc.line, n->loc.col);
        llmc_err_set(err, "@%s kernel %%k%u (%s, root %%%u): %%%u = %s : %s%s is %s at element %lld",
                     ir_graph_name(g), k, cc_kernel_kind_name(e->fusion.kernels[k].kind), e->fusion.kernels[k].root,
                     id, ir_op_name(n->op), ir_type_format(&n->type, t, sizeof t), where.data ? where.data : "",
                     isnan(bad) ? "nan" : bad > 0 ? "inf" : "-inf", (long long)at);
        llmc_buf_free(&where);
        return false;
    }
    return true;
}

/* Output o is input node n itself, written back (NULL buffer) over that same input:
 * nothing to do. With a buffer of its own it is copied like any source output. */
static bool is_self_writeback(const RtExec *e, void *const *outputs, uint32_t o, IrId n) {
    return !outputs[o] && e->writeback[o] >= 0 && e->input_ids[e->writeback[o]] == n;
}

/* The buffer output slot o is delivered to. */
static void *output_dest(const RtExec *e, void *const *inputs, void *const *outputs, uint32_t o) {
    return outputs[o] ? outputs[o] : inputs[e->writeback[o]];
}

/* Where output slot o's node is written during the run. */
static void *output_place(const RtExec *e, void *const *inputs, void *const *outputs, uint32_t o) {
    if (outputs[o]) return outputs[o];
    return e->direct[o] ? inputs[e->writeback[o]] : e->scratch[e->scratch_of[o]];
}

/* Before kernel k: completes the requests due there and polls the others (MPI moves a
 * non-blocking collective on only inside MPI calls). flight[0..n) holds the kernels
 * whose requests are out, in start order; returns how many stay out. */
static double clock_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Polls every collective in flight and completes those due before kernel k; when
 * profiling, the time goes to the collective it was spent on. */
static uint32_t settle(RtExec *e, uint32_t k, uint32_t *flight, uint32_t n) {
    uint32_t left = 0;
    for (uint32_t i = 0; i < n; i++) {
        ExecKernel *ek = &e->kernels[flight[i]];
        double t0 = e->profile ? clock_s() : 0;
        bool done = ek->wait_at <= k;
        if (done) {
            rt_comm_wait(e->comm, ek->req);
            ek->req = NULL;
        } else {
            rt_comm_test(e->comm, ek->req);
            flight[left++] = flight[i];
        }
        if (e->profile) e->prof_s[flight[i]] += clock_s() - t0;
    }
    return left;
}

/* Kernel k: a collective started (and added to the in-flight list), a one-rank copy, an
 * extern call, or its functions over the pool. */
static bool run_kernel(RtExec *e, uint32_t k, uint32_t *in_flight, LlmcErr *err) {
    const IrGraph *g = e->g;
    ExecKernel *ek = &e->kernels[k];
    if (ek->comm) {
        IrId root = e->fusion.kernels[k].root;
        const IrNode *n = ir_graph_node(g, root);
        ek->req = rt_comm_start(e->comm, ek->op, n->type.dtype, e->ptr[n->operands[0]], e->ptr[root], ek->count,
                                ek->what);
        e->flight[(*in_flight)++] = k;
        return true;
    }
    if (ek->copy_from != IR_ID_NONE) {
        IrId root = e->fusion.kernels[k].root;
        memcpy(e->ptr[root], e->ptr[ek->copy_from], ir_type_bytes(&ir_graph_node(g, root)->type));
        return true;
    }
    if (ek->ext) {
        rt_extern_run(ek->ext, e->ptr);
        return true;
    }
    for (uint32_t f = 0; f < ek->n_fns; f++) {
        ExecFn *x = &ek->fns[f];
        for (uint32_t b = 0; b < x->call.n_bufs; b++) x->bufs[b] = e->ptr[x->call.bufs[b]];
        rt_pool_run(e->pool, (RtKernelFn)x->fn, x->bufs, x->call.items, x->call.grain);
        if (e->check_finite && !check_written(e, k, x, err)) return false;
    }
    return true;
}

bool rt_exec_run(RtExec *e, void *const *inputs, void *const *outputs, LlmcErr *err) {
    const IrGraph *g = e->g;
    for (uint32_t o = 0; o < g->n_outputs; o++)
        if (!outputs[o] && e->writeback[o] < 0) {
            llmc_err_set(err, "@%s: output '%s' has no buffer, and no input of that name and type to write back to",
                         ir_graph_name(g), ir_graph_str(g, g->outputs[o].name));
            return false;
        }
    for (uint32_t i = 0; i < e->n_inputs; i++)
        if (!inputs[i]) {
            llmc_err_set(err, "@%s: input '%s' has no buffer", ir_graph_name(g),
                         ir_graph_str(g, ir_graph_node(g, e->input_ids[i])->attrs.input.name));
            return false;
        }
    for (IrId id = 0; id < g->n_nodes; id++) {
        switch (e->place[id]) {
        case PLACE_NONE: e->ptr[id] = NULL; break;
        case PLACE_INPUT: e->ptr[id] = inputs[e->place_index[id]]; break;
        case PLACE_CONST: e->ptr[id] = e->consts[e->place_index[id]]; break;
        case PLACE_ARENA: e->ptr[id] = (char *)e->arena + e->plan.offset[id]; break;
        case PLACE_OUTPUT: e->ptr[id] = output_place(e, inputs, outputs, e->place_index[id]); break;
        }
    }
    for (uint32_t c = 0; c < e->n_early; c++) {
        IrId n = e->early[c].node;
        if (is_self_writeback(e, outputs, e->early[c].to, n)) continue;
        memcpy(e->scratch[e->scratch_of[e->early[c].to]], e->ptr[n], ir_type_bytes(&ir_graph_node(g, n)->type));
    }
    uint32_t in_flight = 0;
    for (uint32_t k = 0; k < e->fusion.n_kernels; k++) {
        if (in_flight) in_flight = settle(e, k, e->flight, in_flight);
        double t0 = e->profile ? clock_s() : 0;
        if (!run_kernel(e, k, &in_flight, err)) return false;
        if (e->profile) e->prof_s[k] += clock_s() - t0;
    }
    if (e->profile) e->prof_runs++;
    if (in_flight) settle(e, e->fusion.n_kernels, e->flight, in_flight);
    for (uint32_t c = 0; c < e->n_late; c++) {
        uint32_t o = e->late[c].to;
        IrId n = e->late[c].node;
        if (is_self_writeback(e, outputs, o, n)) continue;
        const void *from = e->scratch_of[o] != UINT32_MAX && is_source(ir_graph_node(g, n))
                               ? e->scratch[e->scratch_of[o]]
                               : e->ptr[n];
        memcpy(output_dest(e, inputs, outputs, o), from, ir_type_bytes(&ir_graph_node(g, n)->type));
    }
    /* Write-backs that went to scratch. */
    for (uint32_t o = 0; o < g->n_outputs; o++) {
        IrId n = g->outputs[o].node;
        if (outputs[o] || e->direct[o] || e->place[n] != PLACE_OUTPUT || e->place_index[n] != o) continue;
        memcpy(inputs[e->writeback[o]], e->scratch[e->scratch_of[o]], ir_type_bytes(&ir_graph_node(g, n)->type));
    }
    e->stats.runs++;
    return true;
}

const CcFusion *rt_exec_fusion(const RtExec *e) { return &e->fusion; }
const CcMemPlan *rt_exec_memplan(const RtExec *e) { return &e->plan; }
RtExecStats rt_exec_stats(const RtExec *e) { return e->stats; }
const IrGraph *rt_exec_graph(const RtExec *e) { return e->g; }
