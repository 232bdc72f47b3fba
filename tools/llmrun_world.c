/* tools/llmrun_world.c — llmrun on a world of ranks: the sharded step, and the map between
 * canonical tensors (what checkpoints, --init and @init hold: every param whole, and its
 * optimizer moments whole) and this rank's vars.
 *
 * Under `grad` and `full` a flat var ("flat.G", "opt.m.flat.G", "opt.v.flat.G") holds rank
 * r's elements [r*shard, (r+1)*shard) of group G's flat vector, in which member P occupies
 * [offset, offset + numel) (compiler.h, "Sharding"). A canonical tensor therefore lands on
 * a rank as at most one contiguous run of elements: the intersection of the two ranges.
 * Everything else (the step counter, seed, hp.*, and params under none and grad) is
 * replicated: every rank holds all of it, and rank 0 alone writes it into a checkpoint.
 * So a checkpoint has the same files whatever the strategy and world size, and any world
 * resumes it (DESIGN §8).
 */
#include "llmrun.h"

#include <stdlib.h>
#include <string.h>

/* Where a canonical tensor's elements live on this rank. */
typedef struct Loc {
    char *var;          /* the trainer var (malloc'd) */
    bool replicated;    /* the var is the whole tensor, on every rank */
    uint64_t var_off;   /* first element in the var */
    uint64_t src_off;   /* first element in the canonical tensor */
    uint64_t count;     /* elements on this rank (0: none) */
} Loc;

static const char *const moment_prefixes[] = {CC_ADAM_M_PREFIX, CC_ADAM_V_PREFIX, ""};

static void locate(const LlmrunWorld *w, const char *name, const IrType *type, Loc *out) {
    *out = (Loc){0};
    if (w->strategy != CC_SHARD_NONE)
        for (uint32_t k = 0; k < 3; k++) {
            const char *prefix = moment_prefixes[k];
            size_t pl = strlen(prefix);
            if (strncmp(name, prefix, pl) != 0) continue;
            if (!pl && w->strategy != CC_SHARD_FULL) break; /* params are replicated under grad */
            uint32_t g, m;
            if (!cc_shard_plan_find(&w->plan, name + pl, &g, &m)) continue;
            const CcFlatGroup *grp = &w->plan.groups[g];
            const CcFlatMember *mem = &grp->members[m];
            uint64_t lo = (uint64_t)w->rank * grp->shard, hi = lo + grp->shard;
            uint64_t a = mem->offset > lo ? mem->offset : lo;
            uint64_t b = mem->offset + mem->numel < hi ? mem->offset + mem->numel : hi;
            LlmcBuf var = {0};
            llmc_buf_printf(&var, "%sflat.%s", prefix, grp->name);
            out->var = var.data;
            if (a < b) *out = (Loc){var.data, false, a - lo, a - mem->offset, b - a};
            return;
        }
    out->var = llmc_xstrdup(name);
    out->replicated = true;
    out->count = (uint64_t)ir_type_numel(type);
}

bool llmrun_world_setup(LlmrunWorld *w, const CcTrainStep *base, const IrGraph *init, LlmcErr *err) {
    if (w->size == 1 && w->strategy == CC_SHARD_NONE) {
        w->step = *base;
    } else {
        if (!cc_shard_step(base, w->strategy, w->size, &w->step, &w->plan, err)) return false;
        w->owns_step = true;
    }
    uint32_t n_state = 0;
    CcVar *state = cc_train_state_new(base, &n_state, err);
    if (!state) return false;
    w->specs = llmc_xcalloc(init->n_outputs + n_state + 1, sizeof *w->specs);
    for (uint32_t o = 0; o < init->n_outputs; o++)
        w->specs[w->n_specs++] = (RtCkptSpec){ir_graph_str(init, init->outputs[o].name),
                                              ir_graph_node(init, init->outputs[o].node)->type};
    for (uint32_t i = 0; i < n_state; i++) {
        w->specs[w->n_specs++] = (RtCkptSpec){state[i].name, state[i].value.type};
        ir_value_free(&state[i].value);
    }
    free(state);
    return true;
}

void llmrun_world_free(LlmrunWorld *w) {
    if (w->owns_step) cc_train_step_free(&w->step);
    cc_shard_plan_free(&w->plan);
    free(w->specs);
    memset(w, 0, sizeof *w);
}

bool llmrun_world_put(const LlmrunWorld *w, RtTrainer *t, const char *name, IrType type, const void *data,
                      LlmcErr *err) {
    Loc loc;
    locate(w, name, &type, &loc);
    IrType vt;
    char *buf = rt_trainer_var_data(t, loc.var, &vt);
    bool ok = buf && vt.dtype == type.dtype && (!loc.replicated || ir_type_equal(&vt, &type)) &&
              loc.var_off + loc.count <= (uint64_t)ir_type_numel(&vt);
    if (!ok) {
        char a[IR_TYPE_STR_MAX];
        llmc_err_set(err, "tensor '%s' (%s): the trainer has no var '%s' to hold it", name,
                     ir_type_format(&type, a, sizeof a), loc.var);
    } else if (loc.count) {
        size_t es = ir_dtype_size(type.dtype);
        memcpy(buf + loc.var_off * es, (const char *)data + loc.src_off * es, loc.count * es);
    }
    free(loc.var);
    return ok;
}

bool llmrun_world_pieces(const LlmrunWorld *w, const RtTrainer *t, RtCkptPiece **pieces, uint32_t *n_pieces,
                         LlmcErr *err) {
    *pieces = llmc_xcalloc(w->n_specs + 1, sizeof **pieces);
    *n_pieces = 0;
    for (uint32_t i = 0; i < w->n_specs; i++) {
        Loc loc;
        locate(w, w->specs[i].name, &w->specs[i].type, &loc);
        const char *buf = rt_trainer_var_data(t, loc.var, NULL);
        if (!buf) {
            llmc_err_set(err, "checkpoint tensor '%s': the trainer has no var '%s'", w->specs[i].name, loc.var);
            free(loc.var);
            free(*pieces);
            *pieces = NULL;
            return false;
        }
        size_t es = ir_dtype_size(w->specs[i].type.dtype);
        if (loc.count && (!loc.replicated || w->rank == 0))
            (*pieces)[(*n_pieces)++] = (RtCkptPiece){i, loc.src_off * es, loc.count * es, buf + loc.var_off * es};
        free(loc.var);
    }
    return true;
}

bool llmrun_world_params(const LlmrunWorld *w, const RtTrainer *t, const char *const *names, void *const *outs,
                         uint32_t n) {
    bool ok = true;
    for (uint32_t i = 0; i < n; i++) { /* whole params: straight from their vars */
        uint32_t g;
        if (w->strategy == CC_SHARD_FULL && cc_shard_plan_find(&w->plan, names[i], &g, NULL)) continue;
        IrType type;
        const void *buf = rt_trainer_var_data(t, names[i], &type);
        if (buf) memcpy(outs[i], buf, ir_type_bytes(&type));
        ok &= buf != NULL;
    }
    if (w->strategy != CC_SHARD_FULL) return ok;
    for (uint32_t g = 0; g < w->plan.n_groups; g++) { /* each group asked for, gathered once */
        const CcFlatGroup *grp = &w->plan.groups[g];
        char *all = NULL;
        size_t es = ir_dtype_size(grp->dtype);
        for (uint32_t i = 0; i < n; i++) {
            uint32_t pg, m;
            if (!cc_shard_plan_find(&w->plan, names[i], &pg, &m) || pg != g) continue;
            if (!all) {
                LlmcBuf var = {0};
                llmc_buf_printf(&var, "flat.%s", grp->name);
                const void *shard = rt_trainer_var_data(t, var.data, NULL);
                llmc_buf_free(&var);
                if (!shard) return false;
                all = llmc_xmalloc(grp->shard * w->size * es);
                rt_comm_run(w->comm, RT_COMM_ALL_GATHER, grp->dtype, shard, all, grp->shard,
                            "all_gather of a flat param for evaluation");
            }
            memcpy(outs[i], all + grp->members[m].offset * es, grp->members[m].numel * es);
        }
        free(all);
    }
    return ok;
}
