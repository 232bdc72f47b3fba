/* runtime/train.c — RtTrainer: whole optimizer steps through JIT code, the way
 * cc_step_interp (compiler/step_interp.c) runs them on the interpreter: the micro graph
 * once per global micro-batch 0..accumulate-1, every micro output summed in the fixed
 * tree order (RtAccum: compiler/accumulate.c's order and rounding), then the update graph
 * once, its params, moments and step counter written back in place (rt_exec_run's NULL
 * outputs) so the next step starts from them.
 *
 * The trainer owns one native buffer per var (params, optimizer state, "seed", hp.*),
 * shared by both executors: the micro graph reads the very bytes the update graph
 * wrote. Data inputs come from the CcBatchFn callback as interpreter values (converted
 * once per micro-batch); the data input "micro" is the micro-batch index.
 *
 * On a world of N ranks (rt_trainer_new_world) the step is the shard pass's
 * (cc_shard_step): rank r runs the global micro-batches r, r + N, ... in rounds, each
 * micro run ending in collectives that sum the round's N micro-batches over the ranks in
 * rank-order pairs; the trainer then sums the rounds with the same binary counter. With N
 * a power of two the rounds are aligned subtrees of DESIGN §8's tree, so 1 rank doing 4
 * micro-batches, 2 doing 2 and 4 doing 1 add the same numbers in the same order. The
 * update graph's data input "rank" (sharded updates) is this rank's index.
 *
 * Memory is counted where it is allocated (rt_trainer_memory): vars by kind, the
 * micro-batch outputs and their sums, and both executors' arenas.
 * Deliberately not here: data loading, checkpoints.
 */
#include "runtime.h"

#include "compiler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct Var {
    const char *name; /* not owned: the caller's CcVar names live in the step's graphs */
    IrType type;
    void *buf;
} Var;

struct RtTrainer {
    const CcTrainStep *step;
    RtExec *micro, *update;
    Var *vars;
    uint32_t n_vars;
    int64_t accumulate;     /* global micro-batches per step */
    int64_t rounds;         /* micro runs per step on this rank: accumulate / world */
    uint32_t rank, world;
    int32_t rank_value;     /* the update graph's "rank" input */
    RtTrainerMemory mem;
    /* micro graph */
    void **micro_in;        /* [inputs] */
    bool *micro_in_data;    /* [inputs] filled per micro-batch from the callback */
    void **micro_out;       /* [outputs] one micro-batch's outputs */
    void **micro_sum;       /* [outputs] the tree sums */
    RtAccum *acc;
    int32_t loss_out;
    /* update graph */
    void **update_in;       /* [inputs] */
    void **update_out;      /* [outputs]; NULL = written back */
    void **update_own;      /* [outputs] buffers the trainer allocated */
    int32_t lr_out, norm_out;
};

static Var *find_var(const RtTrainer *t, const char *name) {
    for (uint32_t i = 0; i < t->n_vars; i++)
        if (strcmp(t->vars[i].name, name) == 0) return &t->vars[i];
    return NULL;
}

static int32_t output_index(const IrGraph *g, const char *name) {
    for (uint32_t o = 0; o < g->n_outputs; o++)
        if (strcmp(ir_graph_str(g, g->outputs[o].name), name) == 0) return (int32_t)o;
    return -1;
}

/* A zeroed buffer for a value of type t, its bytes added to *counter. */
static void *alloc_for(const IrType *t, uint64_t *counter) {
    uint64_t n = ir_type_bytes(t);
    *counter += n;
    return llmc_xcalloc(1, n ? n : 1);
}

static bool has_prefix(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

/* Which count a var's buffer goes to. */
static uint64_t *var_counter(RtTrainer *t, const IrGraph *g, const char *name) {
    if (has_prefix(name, "opt.")) return &t->mem.optimizer;
    uint32_t n_in = ir_graph_inputs(g, NULL);
    IrId *ids = llmc_xcalloc(n_in ? n_in : 1, sizeof *ids);
    ir_graph_inputs(g, ids);
    bool param = false;
    for (uint32_t i = 0; i < n_in; i++) {
        const IrNode *n = ir_graph_node(g, ids[i]);
        param |= n->attrs.input.role == IR_ROLE_PARAM && strcmp(ir_graph_str(g, n->attrs.input.name), name) == 0;
    }
    free(ids);
    return param ? &t->mem.params : &t->mem.other;
}

/* The var bound to input `node` of g, type-checked. */
static void *var_input(RtTrainer *t, const IrGraph *g, const IrNode *node, LlmcErr *err) {
    const char *name = ir_graph_str(g, node->attrs.input.name);
    Var *v = find_var(t, name);
    if (!v) {
        llmc_err_set(err, "graph @%s needs %s input '%s', which no var holds", ir_graph_name(g),
                     ir_role_name(node->attrs.input.role), name);
        return NULL;
    }
    if (!ir_type_equal(&v->type, &node->type)) {
        char a[IR_TYPE_STR_MAX], b[IR_TYPE_STR_MAX];
        llmc_err_set(err, "var '%s' is %s but graph @%s expects %s", name, ir_type_format(&v->type, a, sizeof a),
                     ir_graph_name(g), ir_type_format(&node->type, b, sizeof b));
        return NULL;
    }
    return v->buf;
}

static bool bind_micro(RtTrainer *t, LlmcErr *err) {
    const IrGraph *g = t->step->micro;
    uint32_t n_in = ir_graph_inputs(g, NULL);
    IrId *ids = llmc_xcalloc(n_in ? n_in : 1, sizeof *ids);
    ir_graph_inputs(g, ids);
    t->micro_in = llmc_xcalloc(n_in ? n_in : 1, sizeof *t->micro_in);
    t->micro_in_data = llmc_xcalloc(n_in ? n_in : 1, sizeof *t->micro_in_data);
    bool ok = true;
    for (uint32_t i = 0; ok && i < n_in; i++) {
        const IrNode *node = ir_graph_node(g, ids[i]);
        if (node->attrs.input.role == IR_ROLE_DATA) {
            t->micro_in[i] = alloc_for(&node->type, &t->mem.other);
            t->micro_in_data[i] = true;
        } else {
            ok = (t->micro_in[i] = var_input(t, g, node, err)) != NULL;
        }
    }
    free(ids);
    uint32_t n_out = g->n_outputs ? g->n_outputs : 1;
    t->micro_out = llmc_xcalloc(n_out, sizeof *t->micro_out);
    t->micro_sum = llmc_xcalloc(n_out, sizeof *t->micro_sum);
    IrType *types = llmc_xcalloc(n_out, sizeof *types);
    for (uint32_t o = 0; o < g->n_outputs; o++) {
        types[o] = ir_graph_node(g, g->outputs[o].node)->type;
        uint64_t *counter = has_prefix(ir_graph_str(g, g->outputs[o].name), CC_GRAD_PREFIX) ? &t->mem.grads
                                                                                                : &t->mem.other;
        t->micro_out[o] = alloc_for(&types[o], counter);
        if (t->rounds > 1) t->micro_sum[o] = alloc_for(&types[o], counter); /* one round: its outputs are the sums */
    }
    t->acc = rt_accum_new(types, g->n_outputs);
    free(types);
    t->loss_out = output_index(g, "loss");
    if (ok && t->loss_out < 0) {
        llmc_err_set(err, "graph @%s has no output \"loss\"", ir_graph_name(g));
        ok = false;
    }
    return ok;
}

static bool bind_update(RtTrainer *t, LlmcErr *err) {
    const IrGraph *g = t->step->update, *micro = t->step->micro;
    uint32_t n_in = ir_graph_inputs(g, NULL);
    IrId *ids = llmc_xcalloc(n_in ? n_in : 1, sizeof *ids);
    ir_graph_inputs(g, ids);
    t->update_in = llmc_xcalloc(n_in ? n_in : 1, sizeof *t->update_in);
    bool ok = true;
    for (uint32_t i = 0; ok && i < n_in; i++) {
        const IrNode *node = ir_graph_node(g, ids[i]);
        const char *name = ir_graph_str(g, node->attrs.input.name);
        if (strncmp(name, CC_GRAD_PREFIX, strlen(CC_GRAD_PREFIX)) == 0) {
            int32_t o = output_index(micro, name);
            if (o < 0) {
                llmc_err_set(err, "graph @%s needs '%s', which graph @%s does not compute", ir_graph_name(g), name,
                             ir_graph_name(micro));
                ok = false;
            } else {
                /* one round: its outputs are the sums */
                t->update_in[i] = t->rounds == 1 ? t->micro_out[o] : t->micro_sum[o];
            }
            continue;
        }
        if (node->attrs.input.role == IR_ROLE_DATA && strcmp(name, "rank") == 0 && node->type.dtype == IR_DTYPE_I32 &&
            node->type.rank == 0) {
            t->update_in[i] = &t->rank_value;
            continue;
        }
        ok = (t->update_in[i] = var_input(t, g, node, err)) != NULL;
    }
    uint32_t n_out = g->n_outputs ? g->n_outputs : 1;
    t->update_out = llmc_xcalloc(n_out, sizeof *t->update_out);
    t->update_own = llmc_xcalloc(n_out, sizeof *t->update_own);
    for (uint32_t o = 0; o < g->n_outputs; o++) {
        const char *name = ir_graph_str(g, g->outputs[o].name);
        bool writes_back = false;
        for (uint32_t i = 0; i < n_in; i++)
            writes_back |= strcmp(ir_graph_str(g, ir_graph_node(g, ids[i])->attrs.input.name), name) == 0 &&
                           find_var(t, name) != NULL;
        if (!writes_back)
            t->update_out[o] = t->update_own[o] = alloc_for(&ir_graph_node(g, g->outputs[o].node)->type, &t->mem.other);
    }
    free(ids);
    t->lr_out = output_index(g, "lr");
    t->norm_out = output_index(g, "grad_norm");
    return ok;
}

RtTrainer *rt_trainer_new(CcJit *jit, const CcTrainStep *s, RtPool *pool, const CcVar *vars, uint32_t n_vars,
                          LlmcErr *err) {
    return rt_trainer_new_world(jit, s, pool, NULL, vars, n_vars, err);
}

RtTrainer *rt_trainer_new_world(CcJit *jit, const CcTrainStep *s, RtPool *pool, RtComm *comm, const CcVar *vars,
                                uint32_t n_vars, LlmcErr *err) {
    RtTrainer *t = llmc_xcalloc(1, sizeof *t);
    t->step = s;
    t->rank = comm ? rt_comm_rank(comm) : 0;
    t->world = comm ? rt_comm_size(comm) : 1;
    t->rank_value = (int32_t)t->rank;
    t->accumulate = s->micro->train.present ? s->micro->train.accumulate : 1;
    if (t->accumulate < 1 || t->accumulate > INT32_MAX) {
        llmc_err_set(err, "accumulate = %lld micro-batches: must be in [1, 2^31)", (long long)t->accumulate);
        free(t);
        return NULL;
    }
    if (t->accumulate % t->world != 0) {
        llmc_err_set(err, "%u ranks cannot share accumulate = %lld micro-batches: the number of ranks must divide it",
                     t->world, (long long)t->accumulate);
        free(t);
        return NULL;
    }
    t->rounds = t->accumulate / t->world;
    if (s->update->train.present && s->update->train.accumulate != t->accumulate) {
        llmc_err_set(err, "the micro graph accumulates %lld micro-batches but the update graph divides by %lld",
                     (long long)t->accumulate, (long long)s->update->train.accumulate);
        free(t);
        return NULL;
    }
    t->vars = llmc_xcalloc(n_vars ? n_vars : 1, sizeof *t->vars);
    t->n_vars = n_vars;
    for (uint32_t i = 0; i < n_vars; i++) { /* a value without data starts as zeros */
        uint64_t *counter = var_counter(t, s->update, vars[i].name);
        if (counter == &t->mem.other) counter = var_counter(t, s->micro, vars[i].name);
        t->vars[i] = (Var){vars[i].name, vars[i].value.type, alloc_for(&vars[i].value.type, counter)};
        if (vars[i].value.data) rt_native_store(&vars[i].value, t->vars[i].buf);
    }
    if (!bind_micro(t, err) || !bind_update(t, err) || !(t->micro = rt_exec_new_world(jit, s->micro, pool, comm, err)) ||
        !(t->update = rt_exec_new_world(jit, s->update, pool, comm, err))) {
        rt_trainer_free(t);
        return NULL;
    }
    t->mem.arena_micro = rt_exec_stats(t->micro).arena_bytes;
    t->mem.arena_update = rt_exec_stats(t->update).arena_bytes;
    uint64_t arena = t->mem.arena_micro > t->mem.arena_update ? t->mem.arena_micro : t->mem.arena_update;
    t->mem.peak = t->mem.params + t->mem.grads + t->mem.optimizer + t->mem.other + arena;
    return t;
}

void rt_trainer_free(RtTrainer *t) {
    if (!t) return;
    rt_exec_free(t->micro);
    rt_exec_free(t->update);
    const IrGraph *micro = t->step->micro, *update = t->step->update;
    if (t->micro_in) {
        uint32_t n_in = ir_graph_inputs(micro, NULL);
        for (uint32_t i = 0; i < n_in; i++)
            if (t->micro_in_data[i]) free(t->micro_in[i]);
    }
    free(t->micro_in);
    free(t->micro_in_data);
    for (uint32_t o = 0; t->micro_out && o < micro->n_outputs; o++) {
        free(t->micro_out[o]);
        free(t->micro_sum[o]);
    }
    free(t->micro_out);
    free(t->micro_sum);
    rt_accum_free(t->acc);
    free(t->update_in);
    for (uint32_t o = 0; t->update_own && o < update->n_outputs; o++) free(t->update_own[o]);
    free(t->update_own);
    free(t->update_out);
    for (uint32_t i = 0; i < t->n_vars; i++) free(t->vars[i].buf);
    free(t->vars);
    free(t);
}

/* Fills micro-batch `index`'s data inputs. */
static bool fill_data(RtTrainer *t, uint32_t index, RtBatchFn batch, void *ctx, LlmcErr *err) {
    const IrGraph *g = t->step->micro;
    uint32_t n_in = ir_graph_inputs(g, NULL);
    IrId *ids = llmc_xcalloc(n_in ? n_in : 1, sizeof *ids);
    ir_graph_inputs(g, ids);
    bool ok = true;
    for (uint32_t i = 0; ok && i < n_in; i++) {
        if (!t->micro_in_data[i]) continue;
        const IrNode *node = ir_graph_node(g, ids[i]);
        const char *name = ir_graph_str(g, node->attrs.input.name);
        if (strcmp(name, "micro") == 0 && node->type.dtype == IR_DTYPE_I32 && node->type.rank == 0) {
            *(int32_t *)t->micro_in[i] = (int32_t)index;
            continue;
        }
        if (!batch) {
            llmc_err_set(err, "graph @%s needs data input '%s' but no batch callback was given", ir_graph_name(g), name);
            ok = false;
            break;
        }
        IrValue v = {0};
        LlmcErr e = {0};
        if (!batch(ctx, index, name, &v, &e)) {
            llmc_err_set(err, "micro-batch %u, input '%s': %s", index, name, e.set ? e.msg : "the callback failed");
            ok = false;
        } else if (!v.data || !ir_type_equal(&v.type, &node->type)) {
            char a[IR_TYPE_STR_MAX], b[IR_TYPE_STR_MAX];
            llmc_err_set(err, "micro-batch %u: the callback gave input '%s' as %s, expected %s", index, name,
                         v.data ? ir_type_format(&v.type, a, sizeof a) : "nothing",
                         ir_type_format(&node->type, b, sizeof b));
            ok = false;
        } else {
            rt_native_store(&v, t->micro_in[i]);
        }
        ir_value_free(&v);
    }
    free(ids);
    return ok;
}

/* Scalar output o of the update graph, from the trainer's buffer. */
static double update_scalar(const RtTrainer *t, int32_t o) {
    const IrGraph *g = t->step->update;
    return rt_native_at(t->update_out[o], ir_graph_node(g, g->outputs[o].node)->type.dtype, 0);
}

bool rt_trainer_step(RtTrainer *t, RtBatchFn batch, void *ctx, CcStepResult *res, LlmcErr *err) {
    const IrGraph *micro = t->step->micro;
    memset(res, 0, sizeof *res);
    void **sums = t->rounds == 1 ? t->micro_out : t->micro_sum;
    for (int64_t i = 0; i < t->rounds; i++) {
        uint32_t index = (uint32_t)(i * t->world + t->rank); /* the global micro-batch this rank runs */
        if (!fill_data(t, index, batch, ctx, err) || !rt_exec_run(t->micro, t->micro_in, t->micro_out, err))
            return false;
        if (t->rounds > 1) rt_accum_push(t->acc, t->micro_out);
    }
    if (t->rounds > 1) rt_accum_finish(t->acc, t->micro_sum);
    const IrNode *loss = ir_graph_node(micro, micro->outputs[t->loss_out].node);
    double l = rt_native_at(sums[t->loss_out], loss->type.dtype, 0) / (double)t->accumulate;
    res->loss = loss->type.dtype == IR_DTYPE_F32 ? (double)(float)l : l;
    if (!rt_exec_run(t->update, t->update_in, t->update_out, err)) return false;
    /* lr and grad_norm are the trainer's own buffers (never written back: no var has
     * those names, else update_out would be NULL and the value is in the var) */
    if (t->lr_out >= 0 && t->update_out[t->lr_out])
        res->lr = update_scalar(t, t->lr_out);
    if (t->norm_out >= 0 && t->update_out[t->norm_out])
        res->grad_norm = update_scalar(t, t->norm_out);
    return true;
}

bool rt_trainer_micro_output(const RtTrainer *t, const char *name, double *value) {
    const IrGraph *g = t->step->micro;
    int32_t o = output_index(g, name);
    if (o < 0) return false;
    const IrNode *n = ir_graph_node(g, g->outputs[o].node);
    if (n->type.rank != 0) return false;
    *value = rt_native_at(t->rounds == 1 ? t->micro_out[o] : t->micro_sum[o], n->type.dtype, 0);
    return true;
}

bool rt_trainer_var(const RtTrainer *t, const char *name, IrValue *out) {
    Var *v = find_var(t, name);
    if (!v) return false;
    rt_native_to_value(v->buf, v->type, out);
    return true;
}

const RtExec *rt_trainer_exec(const RtTrainer *t, bool update) { return update ? t->update : t->micro; }

uint32_t rt_trainer_n_vars(const RtTrainer *t) { return t->n_vars; }

const char *rt_trainer_var_name(const RtTrainer *t, uint32_t i) { return i < t->n_vars ? t->vars[i].name : NULL; }

void *rt_trainer_var_data(const RtTrainer *t, const char *name, IrType *type) {
    Var *v = find_var(t, name);
    if (!v) return NULL;
    if (type) *type = v->type;
    return v->buf;
}

void rt_trainer_set_check_finite(RtTrainer *t, bool on) {
    rt_exec_set_check_finite(t->micro, on);
    rt_exec_set_check_finite(t->update, on);
}

void rt_trainer_set_prefetch(RtTrainer *t, bool on) {
    rt_exec_set_prefetch(t->micro, on);
    rt_exec_set_prefetch(t->update, on);
}

RtTrainerMemory rt_trainer_memory(const RtTrainer *t) { return t->mem; }

void rt_trainer_set_profile(RtTrainer *t, bool on) {
    rt_exec_set_profile(t->micro, on);
    rt_exec_set_profile(t->update, on);
}
