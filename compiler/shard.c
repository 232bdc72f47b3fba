/* compiler/shard.c — the shard pass (DESIGN §8): from a built training step and a
 * strategy (none, grad, full), the step every rank of an N-rank world runs, with the
 * collectives written into its graphs. The update graph of grad and full is built in
 * shard_update.c; this file holds the plan (which params form which flat parameter), the
 * rewritten micro graph and the entry point.
 *
 * The plan (grad, full). Every param of @micro goes to one group:
 *   "layers.N"  a param named layers.N.<rest>;
 *   "embed"     an embedding table: the table (operand 0) of a gather, or a last name part
 *               tok_emb / pos_emb (tok_emb_N ...), as cc_train_param_decays decides;
 *   "head"      any other param of rank >= 2 (an untied output head);
 *   "final"     the rest (1-D params outside the layers: final norm, head bias).
 * Groups in the order embed, layers.0, layers.1, ..., head, final (empty ones left out).
 * A group's members: decaying params first, then the others, each part in input order;
 * its flat vector is their elements concatenated (row-major), zero-padded to ranks *
 * shard, shard = ceil(numel / (ranks * CC_SHARD_BLOCK)) * CC_SHARD_BLOCK. Rank r owns
 * elements [r * shard, (r + 1) * shard). A group's params share one float dtype.
 *
 * @micro' (every strategy). Inputs keep their names and order, except under full (below).
 * Outputs: the loss terms (every output not named grad.*: "loss", "moe_aux_loss",
 * "moe_dropped_tokens"), each all_reduce(sum) of itself, placed right after the value;
 * then
 *   none:       every grad.P as all_reduce(sum) of itself, same name and order, placed
 *               right after the gradient;
 *   grad, full: per group in plan order, "grad.flat.G" (dtype[shard]) = reduce_scatter(
 *               sum, axis 0) of concat(reshape(grad.P, [numel]) for the members, zeros
 *               [ranks*shard - numel]) — placed right after the group's last gradient is
 *               computed, so the runtime can overlap it with the rest of the backward.
 *   full:       @micro's param inputs are replaced by "flat.G" (param, dtype[shard]), one
 *               per group in plan order, as the graph's first inputs; the other inputs
 *               follow in their order. Each group is all-gathered (axis 0 ->
 *               [ranks*shard]) once for the forward and once for the backward: a use of a
 *               member by a node that is an ancestor of a loss output (the forward) reads
 *               the first gather, any other use (the backward, including rematerialized
 *               forward nodes) the second. A member's value is slice [offset, offset +
 *               numel) of the gather, reshaped to the member's shape, placed right before
 *               its first user in that phase (one per member and phase). A movement
 *               chain over a member (reshape, permute, broadcast, slice, and cast: the bf16
 *               copy of a weight) computed in the forward and read again by the backward
 *               is cloned over the second gather,
 *               right before its first backward reader: nothing reads the forward gather
 *               after the forward, so its buffer can be freed (and the backward one is not
 *               live during the forward).
 *
 * Placement of the gathers (node order is the schedule: fusion runs ready kernels by
 * ascending root id). Forward: the groups ordered by their first forward use G_0, G_1,
 * ... (plan order for a usual model, except that the final norm is used before the
 * head); G_0's gather right before the first non-input node, G_{j+1}'s right before the
 * first forward use of G_j (the prefetch: one group ahead). Backward: the groups ordered
 * by their first backward use (reverse plan order for a usual model); the first one's
 * gather right before its first backward use, the next one's right before the first
 * backward use of the one before it. A group with no backward use (an embedding table
 * read only by gathers) gets no second gather.
 *
 * @update': none: a copy of @update. grad, full: shard_update.c.
 *
 * Deliberately not here: running anything, freeing gathered buffers (the memory plan's
 * liveness does that), communication (the runtime carries out the collectives).
 */
#include "compiler_int.h"

#include <stdlib.h>
#include <string.h>

/* --- names ------------------------------------------------------------------------------ */

const char *cc_shard_name(CcShard s) {
    switch (s) {
    case CC_SHARD_NONE: return "none";
    case CC_SHARD_GRAD: return "grad";
    case CC_SHARD_FULL: return "full";
    case CC_SHARD_INVALID:
    case CC_SHARD_COUNT: break;
    }
    return "?";
}

bool cc_shard_parse(const char *text, CcShard *out) {
    for (int s = CC_SHARD_NONE; s < CC_SHARD_COUNT; s++)
        if (text && strcmp(text, cc_shard_name((CcShard)s)) == 0) {
            *out = (CcShard)s;
            return true;
        }
    return false;
}

/* --- the plan --------------------------------------------------------------------------- */

void cc_shard_plan_free(CcShardPlan *p) {
    if (!p) return;
    for (uint32_t g = 0; g < p->n_groups; g++) {
        free(p->groups[g].name);
        free(p->groups[g].members);
    }
    free(p->groups);
    memset(p, 0, sizeof *p);
}

bool cc_shard_plan_find(const CcShardPlan *p, const char *name, uint32_t *group, uint32_t *member) {
    for (uint32_t g = 0; g < p->n_groups; g++)
        for (uint32_t m = 0; m < p->groups[g].n_members; m++)
            if (strcmp(p->groups[g].members[m].name, name) == 0) {
                if (group) *group = g;
                if (member) *member = m;
                return true;
            }
    return false;
}

enum { KIND_EMBED, KIND_LAYER, KIND_HEAD, KIND_FINAL };

typedef struct GroupKey {
    int kind;
    uint64_t layer; /* KIND_LAYER: N */
    size_t len;     /* KIND_LAYER: length of "layers.N" in the name */
} GroupKey;

static GroupKey group_key(const char *name, bool embedding, uint32_t rank) {
    if (strncmp(name, "layers.", 7) == 0 && name[7] >= '0' && name[7] <= '9') {
        const char *p = name + 7;
        uint64_t n = 0;
        for (; *p >= '0' && *p <= '9'; p++) n = n * 10 + (uint64_t)(*p - '0');
        if (*p == '.') return (GroupKey){KIND_LAYER, n, (size_t)(p - name)};
    }
    if (embedding) return (GroupKey){KIND_EMBED, 0, 0};
    return (GroupKey){rank >= 2 ? KIND_HEAD : KIND_FINAL, 0, 0};
}

static int key_cmp(const GroupKey *a, const GroupKey *b) {
    if (a->kind != b->kind) return a->kind < b->kind ? -1 : 1;
    if (a->layer != b->layer) return a->layer < b->layer ? -1 : 1;
    return 0;
}

typedef struct PParam {
    const char *name;
    IrId id;
    GroupKey key;
    bool decays;
} PParam;

static bool plan_build(const IrGraph *micro, uint32_t ranks, CcShardPlan *plan, LlmcErr *err) {
    uint32_t n_in = ir_graph_inputs(micro, NULL);
    IrId *ins = llmc_xcalloc(n_in ? n_in : 1, sizeof *ins);
    ir_graph_inputs(micro, ins);
    bool *gathered = cc_train_gathered_tables(micro);
    PParam *ps = llmc_xcalloc(n_in ? n_in : 1, sizeof *ps);
    uint32_t np = 0;
    for (uint32_t i = 0; i < n_in; i++) {
        const IrNode *n = &micro->nodes[ins[i]];
        if (n->attrs.input.role != IR_ROLE_PARAM) continue;
        const char *name = ir_graph_str(micro, n->attrs.input.name);
        ps[np++] = (PParam){name, ins[i], group_key(name, cc_train_is_embedding(micro, ins[i], gathered), n->type.rank),
                            cc_train_param_decays_in(micro, ins[i], gathered)};
    }
    free(gathered);
    free(ins);

    /* distinct keys, sorted (insertion sort: a few dozen groups) */
    GroupKey *keys = llmc_xcalloc(np ? np : 1, sizeof *keys);
    const char **key_name = llmc_xcalloc(np ? np : 1, sizeof *key_name); /* a member's name, for "layers.N" */
    uint32_t nk = 0;
    for (uint32_t i = 0; i < np; i++) {
        uint32_t k = 0;
        while (k < nk && key_cmp(&keys[k], &ps[i].key) != 0) k++;
        if (k < nk) continue;
        uint32_t at = nk;
        while (at > 0 && key_cmp(&keys[at - 1], &ps[i].key) > 0) {
            keys[at] = keys[at - 1];
            key_name[at] = key_name[at - 1];
            at--;
        }
        keys[at] = ps[i].key;
        key_name[at] = ps[i].name;
        nk++;
    }
    plan->groups = llmc_xcalloc(nk ? nk : 1, sizeof *plan->groups);
    plan->n_groups = nk;
    static const char *const kind_names[] = {"embed", "", "head", "final"};
    bool ok = true;
    for (uint32_t k = 0; k < nk; k++) {
        CcFlatGroup *g = &plan->groups[k];
        if (keys[k].kind == KIND_LAYER) {
            g->name = llmc_xmalloc(keys[k].len + 1);
            memcpy(g->name, key_name[k], keys[k].len);
            g->name[keys[k].len] = 0;
        } else {
            g->name = llmc_xstrdup(kind_names[keys[k].kind]);
        }
        g->members = llmc_xcalloc(np, sizeof *g->members);
        for (int pass = 0; pass < 2; pass++) /* decaying members first */
            for (uint32_t i = 0; i < np; i++) {
                if (key_cmp(&ps[i].key, &keys[k]) != 0 || ps[i].decays != (pass == 0)) continue;
                const IrNode *n = &micro->nodes[ps[i].id];
                CcFlatMember *m = &g->members[g->n_members++];
                *m = (CcFlatMember){ps[i].name, n->type, g->numel, (uint64_t)ir_type_numel(&n->type), ps[i].decays};
                g->numel += m->numel;
                if (m->decays) g->decay_end = g->numel;
                if (g->n_members == 1) g->dtype = n->type.dtype;
                if (ok && n->type.dtype != g->dtype) {
                    llmc_err_set(err,
                                 "cannot shard: params '%s' (%s) and '%s' (%s) of group '%s' have different dtypes",
                                 g->members[0].name, ir_dtype_name(g->dtype), m->name, ir_dtype_name(n->type.dtype),
                                 g->name);
                    ok = false;
                }
            }
        uint64_t per = (uint64_t)ranks * CC_SHARD_BLOCK;
        g->shard = (g->numel + per - 1) / per * CC_SHARD_BLOCK;
        if (ok && g->shard * ranks > (uint64_t)INT32_MAX) {
            llmc_err_set(err, "cannot shard: group '%s' has %llu elements, more than i32 indices reach", g->name,
                         (unsigned long long)g->numel);
            ok = false;
        }
    }
    free(keys);
    free(key_name);
    free(ps);
    return ok;
}

/* --- @micro' ---------------------------------------------------------------------------- */

static bool is_grad_name(const char *name) { return strncmp(name, CC_GRAD_PREFIX, strlen(CC_GRAD_PREFIX)) == 0; }

typedef struct Micro {
    const IrGraph *src;
    const CcShardPlan *plan;
    CcShard strategy;
    int64_t ranks;
    CcRewrite rw;
    IrBuilder b;
    bool *fwd;            /* [src n_nodes]: an ancestor of a loss output */
    int32_t *member_of;   /* [src n_nodes]: param input -> group * 65536 + member, or -1 */
    int32_t *view_of;     /* [src n_nodes] full: a movement chain over a member -> its code, or -1 */
    IrId *bwd_view;       /* [src n_nodes] full: a forward view's clone over the backward gather */
    /* full */
    IrId *flat;           /* [n_groups]: "flat.G" inputs */
    IrId *gather[2];      /* [n_groups]: the forward and backward gathers (dst), NONE until placed */
    IrId *pos[2];         /* [n_groups]: src node before which each gather goes (IR_ID_NONE: none) */
    IrId *value[2];       /* [n_groups * 65536 ... ] compacted: member values per phase, see member_slot */
    uint32_t *slot0;      /* [n_groups]: first slot of the group's members */
    /* grads */
    IrId *grad_src;       /* [slots]: src node of grad.P per member */
    IrId *last_grad;      /* [n_groups]: src id of the group's last gradient */
    IrId *flat_grad;      /* [n_groups]: dst "grad.flat.G" */
    IrId *out_value;      /* [src n_outputs]: dst values of loss terms / none's grads */
} Micro;

/* Builder provenance: scope `scope` (a dst string) and location `loc` (dst file id). */
static void at(Micro *m, uint32_t scope, IrLoc loc) {
    m->b.scope = scope;
    m->b.loc = loc;
}

/* Provenance of src node id (string ids are equal in src and dst). */
static void at_node(Micro *m, IrId id) { at(m, m->src->nodes[id].scope, m->src->nodes[id].loc); }

static void at_group(Micro *m, uint32_t g) {
    at(m, ir_graph_intern(m->rw.dst, m->plan->groups[g].name), (IrLoc){0, 0, 0});
}

static void emit_gather(Micro *m, uint32_t g, int phase) {
    at_group(m, g);
    m->gather[phase][g] = ir_build_all_gather(&m->b, m->flat[g], 0, m->ranks);
}

/* The dst value of member (g, k) as its user in `phase` reads it: slice + reshape of the
 * phase's gather, made on first use. */
static IrId member_value(Micro *m, uint32_t g, uint32_t k, int phase, IrId param) {
    IrId *v = &m->value[phase][m->slot0[g] + k];
    if (*v != IR_ID_NONE) return *v;
    const CcFlatMember *mem = &m->plan->groups[g].members[k];
    at_node(m, param);
    int64_t start = (int64_t)mem->offset, end = (int64_t)(mem->offset + mem->numel);
    IrId x = ir_build_slice(&m->b, m->gather[phase][g], &start, &end, NULL);
    if (!(mem->type.rank == 1)) x = ir_build_reshape(&m->b, x, mem->type.rank, mem->type.dims);
    *v = x;
    return x;
}

/* A view of a member: movement, or a cast (precision = bf16's cast<bf16> of a weight) —
 * cheap to recompute from the backward gather, and as large as the member. */
static bool is_view_op(IrOp op) {
    return op == IR_OP_RESHAPE || op == IR_OP_PERMUTE || op == IR_OP_BROADCAST || op == IR_OP_SLICE ||
           op == IR_OP_CAST;
}

/* The dst value of src operand o for a user in `phase`. A member reads its phase's
 * gather; a forward chain of views over a member (reshape, permute, broadcast, slice,
 * cast), when the backward reads it, is cloned over the backward gather, so the forward
 * gather (and the forward's bf16 copy) is dead once the forward is done. */
static IrId operand_value(Micro *m, IrId o, int phase) {
    int32_t mo = m->member_of[o];
    if (mo >= 0) return member_value(m, (uint32_t)mo >> 16, (uint32_t)mo & 0xffff, phase, o);
    if (phase == 1 && m->view_of && m->view_of[o] >= 0 && m->fwd[o]) {
        if (m->bwd_view[o] == IR_ID_NONE) {
            IrId x = operand_value(m, m->src->nodes[o].operands[0], 1);
            IrNode proto = m->src->nodes[o];
            proto.operands = &x;
            m->bwd_view[o] = cc_rewrite_add(&m->rw, &proto, o);
        }
        return m->bwd_view[o];
    }
    return cc_rewrite_get(&m->rw, o);
}

/* grad.flat.G of group g from the dst gradients of its members. */
static void emit_flat_grad(Micro *m, uint32_t g) {
    const CcFlatGroup *grp = &m->plan->groups[g];
    IrId *parts = llmc_xcalloc(grp->n_members + 1, sizeof *parts);
    at_group(m, g);
    for (uint32_t k = 0; k < grp->n_members; k++) {
        IrId x = cc_rewrite_get(&m->rw, m->grad_src[m->slot0[g] + k]);
        int64_t n = (int64_t)grp->members[k].numel;
        parts[k] = grp->members[k].type.rank == 1 ? x : ir_build_reshape(&m->b, x, 1, &n);
    }
    uint32_t n_parts = grp->n_members;
    int64_t pad = (int64_t)(grp->shard * (uint64_t)m->ranks - grp->numel);
    if (pad > 0) {
        double zero = 0;
        parts[n_parts++] = ir_build_const(&m->b, ir_type_make(grp->dtype, 1, &pad), &zero, 1);
    }
    IrId flat = n_parts == 1 ? parts[0] : ir_build_concat(&m->b, parts, n_parts, 0);
    m->flat_grad[g] = ir_build_reduce_scatter(&m->b, flat, 0, m->ranks, IR_REDUCE_SUM);
    free(parts);
}

static void micro_free(Micro *m) {
    free(m->fwd);
    free(m->member_of);
    free(m->view_of);
    free(m->bwd_view);
    free(m->flat);
    for (int p = 0; p < 2; p++) {
        free(m->gather[p]);
        free(m->pos[p]);
        free(m->value[p]);
    }
    free(m->slot0);
    free(m->grad_src);
    free(m->last_grad);
    free(m->flat_grad);
    free(m->out_value);
}

/* Sorts group indices idx[0..n) by key[] ascending (insertion sort). */
static void sort_by(uint32_t *idx, uint32_t n, const IrId *key) {
    for (uint32_t i = 1; i < n; i++) {
        uint32_t x = idx[i], j = i;
        while (j > 0 && key[idx[j - 1]] > key[x]) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = x;
    }
}

/* pos[phase][g] for full, from the first uses (see the banner). */
static void place_gathers(Micro *m) {
    const IrGraph *src = m->src;
    uint32_t ng = m->plan->n_groups;
    IrId *first[2];
    for (int p = 0; p < 2; p++) {
        first[p] = llmc_xmalloc((ng ? ng : 1) * sizeof *first[p]);
        for (uint32_t g = 0; g < ng; g++) first[p][g] = IR_ID_NONE;
    }
    IrId first_compute = IR_ID_NONE;
    for (IrId id = 0; id < src->n_nodes; id++) {
        const IrNode *n = &src->nodes[id];
        if (n->op != IR_OP_INPUT && first_compute == IR_ID_NONE) first_compute = id;
        int phase = m->fwd[id] ? 0 : 1;
        for (uint32_t k = 0; k < n->n_operands; k++) {
            IrId o = n->operands[k];
            int32_t mo = m->member_of[o];
            if (mo < 0 && phase == 1 && m->view_of[o] >= 0 && m->fwd[o]) mo = m->view_of[o]; /* cloned */
            if (mo < 0) continue;
            uint32_t g = (uint32_t)mo >> 16;
            if (first[phase][g] == IR_ID_NONE) first[phase][g] = id;
        }
    }
    uint32_t *order = llmc_xcalloc(ng ? ng : 1, sizeof *order);
    for (int p = 0; p < 2; p++) {
        uint32_t n = 0;
        for (uint32_t g = 0; g < ng; g++)
            if (first[p][g] != IR_ID_NONE) order[n++] = g;
        sort_by(order, n, first[p]);
        for (uint32_t j = 0; j < n; j++) {
            IrId at_id = j > 0 ? first[p][order[j - 1]] : p == 0 ? first_compute : first[p][order[0]];
            m->pos[p][order[j]] = at_id;
        }
    }
    free(order);
    free(first[0]);
    free(first[1]);
}

static IrGraph *micro_build(const IrGraph *src, const CcShardPlan *plan, LlmcErr *err) {
    Micro m = {.src = src, .plan = plan, .strategy = plan->strategy, .ranks = plan->ranks};
    bool full = m.strategy == CC_SHARD_FULL, flat = m.strategy != CC_SHARD_NONE;
    uint32_t ng = plan->n_groups, nn = src->n_nodes;
    IrGraph *dst = NULL;

    /* The forward: ancestors of the loss terms. */
    m.fwd = llmc_xcalloc(nn + 1, sizeof *m.fwd);
    for (uint32_t o = 0; o < src->n_outputs; o++)
        if (!is_grad_name(ir_graph_str(src, src->outputs[o].name))) m.fwd[src->outputs[o].node] = true;
    for (IrId id = nn; id-- > 0;)
        if (m.fwd[id])
            for (uint32_t k = 0; k < src->nodes[id].n_operands; k++) m.fwd[src->nodes[id].operands[k]] = true;

    /* Members, their gradients. */
    m.member_of = llmc_xmalloc((nn + 1) * sizeof *m.member_of);
    for (IrId id = 0; id < nn; id++) m.member_of[id] = -1;
    m.slot0 = llmc_xcalloc(ng + 1, sizeof *m.slot0);
    for (uint32_t g = 0; g < ng; g++) m.slot0[g + 1] = m.slot0[g] + plan->groups[g].n_members;
    uint32_t slots = m.slot0[ng];
    m.grad_src = llmc_xcalloc(slots + 1, sizeof *m.grad_src);
    m.last_grad = llmc_xcalloc(ng + 1, sizeof *m.last_grad);
    m.flat_grad = llmc_xcalloc(ng + 1, sizeof *m.flat_grad);
    m.flat = llmc_xcalloc(ng + 1, sizeof *m.flat);
    for (int p = 0; p < 2; p++) {
        m.gather[p] = llmc_xcalloc(ng + 1, sizeof *m.gather[p]);
        m.pos[p] = llmc_xcalloc(ng + 1, sizeof *m.pos[p]);
        m.value[p] = llmc_xcalloc(slots + 1, sizeof *m.value[p]);
        for (uint32_t g = 0; g < ng; g++) m.gather[p][g] = m.pos[p][g] = IR_ID_NONE;
        for (uint32_t i = 0; i < slots; i++) m.value[p][i] = IR_ID_NONE;
    }
    m.out_value = llmc_xcalloc(src->n_outputs + 1, sizeof *m.out_value);
    LlmcBuf name = {0};
    for (uint32_t g = 0; g < ng; g++) {
        m.last_grad[g] = 0;
        for (uint32_t k = 0; k < plan->groups[g].n_members; k++) {
            const CcFlatMember *mem = &plan->groups[g].members[k];
            IrId in = ir_graph_find_input(src, mem->name);
            LLMC_ASSERT(in != IR_ID_NONE);
            m.member_of[in] = (int32_t)(g << 16 | k);
            name.len = 0;
            llmc_buf_puts(&name, CC_GRAD_PREFIX);
            llmc_buf_puts(&name, mem->name);
            IrId gs = IR_ID_NONE;
            for (uint32_t o = 0; o < src->n_outputs; o++)
                if (strcmp(ir_graph_str(src, src->outputs[o].name), name.data) == 0) gs = src->outputs[o].node;
            if (gs == IR_ID_NONE) {
                llmc_err_set(err, "cannot shard: graph @%s has no output '%s'", ir_graph_name(src), name.data);
                llmc_buf_free(&name);
                micro_free(&m);
                return NULL;
            }
            m.grad_src[m.slot0[g] + k] = gs;
            if (gs > m.last_grad[g]) m.last_grad[g] = gs;
        }
    }
    if (full) {
        m.view_of = llmc_xmalloc((nn + 1) * sizeof *m.view_of);
        m.bwd_view = llmc_xmalloc((nn + 1) * sizeof *m.bwd_view);
        for (IrId id = 0; id < nn; id++) {
            const IrNode *n = &src->nodes[id];
            m.bwd_view[id] = IR_ID_NONE;
            m.view_of[id] = -1;
            if (!is_view_op(n->op)) continue;
            IrId o = n->operands[0];
            m.view_of[id] = m.member_of[o] >= 0 ? m.member_of[o] : m.view_of[o];
        }
        place_gathers(&m);
    }

    cc_rewrite_begin(&m.rw, src);
    ir_builder_init(&m.b, m.rw.dst);
    dst = m.rw.dst;
    for (uint32_t g = 0; full && g < ng; g++) { /* the flat params: the first inputs */
        at_group(&m, g);
        name.len = 0;
        llmc_buf_puts(&name, "flat.");
        llmc_buf_puts(&name, plan->groups[g].name);
        int64_t shard = (int64_t)plan->groups[g].shard;
        m.flat[g] = ir_build_input(&m.b, IR_ROLE_PARAM, name.data, ir_type_make(plan->groups[g].dtype, 1, &shard));
    }

    IrId ops_small[IR_MAX_RANK];
    for (IrId id = 0; id < nn; id++) {
        const IrNode *n = &src->nodes[id];
        for (int p = 0; full && p < 2; p++)
            for (uint32_t g = 0; g < ng; g++)
                if (m.pos[p][g] == id) emit_gather(&m, g, p);
        if (full && m.member_of[id] >= 0) continue; /* a param: read through the gathers */
        IrId *ops = n->n_operands <= IR_MAX_RANK ? ops_small : llmc_xmalloc(n->n_operands * sizeof *ops);
        int phase = m.fwd[id] ? 0 : 1;
        for (uint32_t k = 0; k < n->n_operands; k++)
            ops[k] = full ? operand_value(&m, n->operands[k], phase) : cc_rewrite_get(&m.rw, n->operands[k]);
        IrNode proto = *n;
        proto.operands = ops;
        m.rw.map[id] = cc_rewrite_add(&m.rw, &proto, id);
        if (ops != ops_small) free(ops);

        /* what follows the value */
        for (uint32_t o = 0; o < src->n_outputs; o++) {
            if (src->outputs[o].node != id) continue;
            bool grad = is_grad_name(ir_graph_str(src, src->outputs[o].name));
            if (grad && flat) continue;
            at_node(&m, id);
            m.out_value[o] = ir_build_all_reduce(&m.b, m.rw.map[id], m.ranks, IR_REDUCE_SUM);
        }
        for (uint32_t g = 0; flat && g < ng; g++)
            if (m.last_grad[g] == id) emit_flat_grad(&m, g);
    }
    llmc_buf_free(&name);

    bool ok = ir_builder_ok(&m.b);
    if (!ok) llmc_err_set(err, "internal error: shard: building @%s: %s", ir_graph_name(src), m.b.err.msg);
    for (uint32_t o = 0; ok && o < src->n_outputs; o++) {
        const char *oname = ir_graph_str(src, src->outputs[o].name);
        if (!is_grad_name(oname)) ir_graph_add_output(dst, oname, m.out_value[o]);
    }
    for (uint32_t o = 0; ok && !flat && o < src->n_outputs; o++) {
        const char *oname = ir_graph_str(src, src->outputs[o].name);
        if (is_grad_name(oname)) ir_graph_add_output(dst, oname, m.out_value[o]);
    }
    LlmcBuf gname = {0};
    for (uint32_t g = 0; ok && flat && g < ng; g++) {
        gname.len = 0;
        llmc_buf_printf(&gname, "%sflat.%s", CC_GRAD_PREFIX, plan->groups[g].name);
        ir_graph_add_output(dst, gname.data, m.flat_grad[g]);
    }
    llmc_buf_free(&gname);
    free(m.rw.map);
    m.rw.map = NULL;
    micro_free(&m);
    if (ok) {
        LlmcDiags d = {0};
        if (!ir_verify(dst, &d, NULL, NULL)) {
            llmc_err_set(err, "internal error: shard: @%s fails to verify: %s", ir_graph_name(dst),
                         d.count ? d.items[0].msg : "?");
            ok = false;
        }
        llmc_diags_free(&d);
    }
    if (!ok) {
        ir_graph_free(dst);
        return NULL;
    }
    return dst;
}

/* --- the pass --------------------------------------------------------------------------- */

bool cc_shard_step(const CcTrainStep *s, CcShard strategy, uint32_t ranks, CcTrainStep *out, CcShardPlan *plan,
                   LlmcErr *err) {
    memset(out, 0, sizeof *out);
    CcShardPlan local = {0};
    CcShardPlan *pl = plan ? plan : &local;
    memset(pl, 0, sizeof *pl);
    if (strategy != CC_SHARD_NONE && strategy != CC_SHARD_GRAD && strategy != CC_SHARD_FULL) {
        llmc_err_set(err, "unknown shard strategy %d (expected none, grad or full)", (int)strategy);
        return false;
    }
    int64_t acc = s->micro->train.present ? s->micro->train.accumulate : 1;
    if (ranks < 1) {
        llmc_err_set(err, "cannot shard for %u ranks: at least 1 rank is needed", ranks);
        return false;
    }
    if (ranks & (ranks - 1)) {
        llmc_err_set(err, "cannot shard for %u ranks: the number of ranks must be a power of two (1, 2, 4, ...) "
                          "so that the collectives' tree matches the accumulation tree", ranks);
        return false;
    }
    if (acc % (int64_t)ranks != 0) {
        llmc_err_set(err, "cannot shard for %u ranks: the number of ranks must divide accumulate (%lld micro-batches "
                          "per step); %u ranks do not divide %lld",
                     ranks, (long long)acc, ranks, (long long)acc);
        return false;
    }
    pl->strategy = strategy;
    pl->ranks = ranks;
    if (strategy != CC_SHARD_NONE && !plan_build(s->micro, ranks, pl, err)) {
        cc_shard_plan_free(pl);
        return false;
    }
    IrGraph *micro = micro_build(s->micro, pl, err);
    IrGraph *update = NULL;
    if (micro) {
        if (strategy == CC_SHARD_NONE) {
            update = ir_graph_clone(s->update);
        } else {
            IrGraph *raw = cc_shard_update_build(s, pl, err);
            IrGraph *simple = raw ? cc_pass_simplify(raw, err) : NULL;
            update = simple ? cc_pass_unshare_splats(simple, err) : NULL; /* after CSE, as the step's */
            ir_graph_free(raw);
            ir_graph_free(simple);
        }
    }
    if (!micro || !update) {
        ir_graph_free(micro);
        cc_shard_plan_free(pl);
        return false;
    }
    out->micro = micro;
    out->update = update;
    if (!plan) cc_shard_plan_free(&local);
    return true;
}
