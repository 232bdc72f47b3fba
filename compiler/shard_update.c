/* compiler/shard_update.c — the update graph of the grad and full strategies: the
 * optimizer step over each rank's shard of the flat parameters (see compiler/shard.c for
 * the plan and the flat layout).
 *
 * Inputs, in this order:
 *   params        grad: every param P of @update (param, its shape, @update's order);
 *                 full: "flat.G" per group (param, dtype[shard], plan order)
 *   grad.flat.G   data, dtype[shard]: this rank's shard of the SUM of the flat gradient
 *                 over the step's micro-batches (as @micro' reduce-scatters it)
 *   opt.m.flat.G  state, dtype[shard]; then opt.v.flat.G (AdamW only), each in plan order
 *   step          state, i32[]
 *   hp.*          the hp.* inputs of @update: same names, types and order
 *   rank          data, i32[]: this rank's index r
 * Outputs: the params (grad: P, all-gathered; full: flat.G, this rank's shard) |
 * opt.m.flat.G | opt.v.flat.G | step | lr | grad_norm.
 *
 * The math is compiler/train_step.c's, built by the same functions (compiler/train_math.c)
 * elementwise over the shard (so lr is bit-identical to @update's), except:
 *   - the parameter shard: full has it as an input; grad reads element r*shard + i of
 *     concat(reshape(P, [numel]) for the members, zeros) with a gather (i an iota);
 *   - grad_norm: per group, g*g reshaped [shard/B, B] (B = CC_SHARD_BLOCK), summed over
 *     axis 1, the block sums all-gathered ([ranks*shard/B]) and sliced to the group's real
 *     blocks [0, ceil(numel/B)), summed (cast to f32); total = ((s_0 + s_1) + s_2) + ...
 *     over groups in plan order; sqrt. Every rank computes it alike, and since the blocks
 *     do not depend on the number of ranks, neither does any bit of the result;
 *   - weight decay applies where the global element index r*shard + i < decay_end
 *     (cmplt on i32, select); the padding (p = g = m = v = 0) stays exactly 0.
 *
 * Deliberately not here: simplification (cc_shard_step runs cc_pass_simplify), the micro
 * graph.
 */
#include "compiler_int.h"

#include <stdlib.h>
#include <string.h>

/* The builder and the shared update arithmetic (compiler/train_math.c). */
typedef struct Upd {
    CcUpd m;
    int64_t ranks;
} Upd;

static IrId f32(Upd *u, double v) { return cc_upd_f32(&u->m, v); }
static IrId bin(Upd *u, IrOp op, IrId x, IrId y) { return cc_upd_bin(&u->m, op, x, y); }
static IrId un(Upd *u, IrOp op, IrId x) { return cc_upd_un(&u->m, op, x); }
static IrId as(Upd *u, IrId s, IrDtype dt) { return cc_upd_as(&u->m, s, dt); }

static void at_scope(Upd *u, const char *scope) {
    ir_builder_set_scope(&u->m.b, scope);
    u->m.b.loc = (IrLoc){0, 0, 0};
}

typedef struct UGroup {
    const CcFlatGroup *grp;
    IrType type;            /* dtype[shard] */
    IrId flat, grad, m, v;  /* inputs (flat: full only) */
    IrId p, g, gidx;        /* the shard, the processed gradient, global element indices */
    IrId p_new, m_new, v_new;
} UGroup;

/* CcUpdParam.where for a flat shard: select(gidx < decay_end, decayed, plain); no
 * select when every element of the flat vector decays. */
typedef struct Where {
    Upd *u;
    const UGroup *q;
} Where;

static IrId where_decays(void *ctx, IrId decayed, IrId plain) {
    const Where *w = ctx;
    const UGroup *q = w->q;
    IrBuilder *b = &w->u->m.b;
    if (q->grp->decay_end >= q->grp->shard * (uint64_t)w->u->ranks) return decayed;
    double end = (double)q->grp->decay_end;
    IrId lim = ir_build_const(b, ir_type_make(IR_DTYPE_I32, 1, q->type.dims), &end, 1);
    return ir_build_select(b, ir_build_binary(b, IR_OP_CMPLT, q->gidx, lim), decayed, plain);
}

/* prefix + "flat." + group, in buf (reused). */
static const char *flat_name(LlmcBuf *buf, const char *prefix, const CcFlatGroup *grp) {
    buf->len = 0;
    llmc_buf_printf(buf, "%sflat.%s", prefix, grp->name);
    return buf->data;
}

IrGraph *cc_shard_update_build(const CcTrainStep *s, const CcShardPlan *plan, LlmcErr *err) {
    const IrGraph *src = s->update;
    const IrTrainConfig *t = &src->train;
    LLMC_ASSERT(plan->strategy == CC_SHARD_GRAD || plan->strategy == CC_SHARD_FULL);
    bool full = plan->strategy == CC_SHARD_FULL;
    bool adamw = t->optimizer == IR_OPTIMIZER_ADAMW;
    bool clip = t->clip_grad_norm > 0;
    int64_t ranks = plan->ranks;
    uint32_t ng = plan->n_groups;

    uint32_t n_src = ir_graph_inputs(src, NULL);
    IrId *src_in = llmc_xcalloc(n_src + 1, sizeof *src_in);
    ir_graph_inputs(src, src_in);

    IrGraph *g = ir_graph_new("update");
    g->train = *t;
    g->train.model = ir_graph_intern(g, ir_graph_str(src, t->model));
    Upd u = {.m = {.t = t}, .ranks = ranks};
    ir_builder_init(&u.m.b, g);
    IrBuilder *b = &u.m.b;
    LlmcBuf name = {0};
    UGroup *qs = llmc_xcalloc(ng + 1, sizeof *qs);
    for (uint32_t i = 0; i < ng; i++) {
        int64_t shard = (int64_t)plan->groups[i].shard;
        qs[i].grp = &plan->groups[i];
        qs[i].type = ir_type_make(plan->groups[i].dtype, 1, &shard);
    }

    /* Inputs. */
    IrId *params = llmc_xcalloc(n_src + 1, sizeof *params); /* grad: [src input index] -> P input */
    for (uint32_t i = 0; i < n_src; i++) {
        const IrNode *n = &src->nodes[src_in[i]];
        params[i] = IR_ID_NONE;
        if (full || n->attrs.input.role != IR_ROLE_PARAM) continue;
        const char *pname = ir_graph_str(src, n->attrs.input.name);
        ir_builder_set_scope(b, pname);
        if (n->loc.file)
            ir_builder_set_loc(b, ir_graph_str(src, n->loc.file), n->loc.line, n->loc.col);
        else
            b->loc = (IrLoc){0, 0, 0};
        params[i] = ir_build_input(b, IR_ROLE_PARAM, pname, n->type);
    }
    for (uint32_t i = 0; full && i < ng; i++) {
        at_scope(&u, qs[i].grp->name);
        qs[i].flat = ir_build_input(b, IR_ROLE_PARAM, flat_name(&name, "", qs[i].grp), qs[i].type);
    }
    for (uint32_t i = 0; i < ng; i++) {
        at_scope(&u, qs[i].grp->name);
        qs[i].grad = ir_build_input(b, IR_ROLE_DATA, flat_name(&name, CC_GRAD_PREFIX, qs[i].grp), qs[i].type);
    }
    for (uint32_t i = 0; i < ng; i++) {
        at_scope(&u, qs[i].grp->name);
        qs[i].m = ir_build_input(b, IR_ROLE_STATE, flat_name(&name, CC_ADAM_M_PREFIX, qs[i].grp), qs[i].type);
    }
    for (uint32_t i = 0; adamw && i < ng; i++) {
        at_scope(&u, qs[i].grp->name);
        qs[i].v = ir_build_input(b, IR_ROLE_STATE, flat_name(&name, CC_ADAM_V_PREFIX, qs[i].grp), qs[i].type);
    }
    at_scope(&u, CC_STEP);
    IrId step = ir_build_input(b, IR_ROLE_STATE, CC_STEP, ir_type_scalar(IR_DTYPE_I32));
    for (int h = 0; h < CC_HP_N; h++) u.m.hp[h] = IR_ID_NONE;
    for (uint32_t i = 0; i < n_src; i++) {
        const IrNode *n = &src->nodes[src_in[i]];
        const char *iname = ir_graph_str(src, n->attrs.input.name);
        if (strncmp(iname, "hp.", 3) != 0) continue;
        at_scope(&u, iname);
        IrId id = ir_build_input(b, n->attrs.input.role, iname, n->type);
        for (int h = 0; h < CC_HP_N; h++)
            if (strcmp(iname, cc_hp_names[h]) == 0) u.m.hp[h] = id;
    }
    at_scope(&u, "rank");
    IrId rank = ir_build_input(b, IR_ROLE_DATA, "rank", ir_type_scalar(IR_DTYPE_I32));

    /* t and the schedule. */
    at_scope(&u, CC_STEP);
    IrId tf = ir_build_cast(b, step, IR_DTYPE_F32);
    IrId step_new = ir_build_binary(b, IR_OP_ADD, step, ir_build_scalar(b, IR_DTYPE_I32, 1));
    at_scope(&u, "lr_schedule");
    IrId lr = cc_upd_schedule(&u.m, tf);

    /* The shards, the mean gradient, the global norm (block sums, groups in plan order). */
    IrId total = IR_ID_NONE;
    for (uint32_t i = 0; i < ng; i++) {
        UGroup *q = &qs[i];
        const CcFlatGroup *grp = q->grp;
        IrDtype dt = grp->dtype;
        at_scope(&u, grp->name);
        int64_t shard = (int64_t)grp->shard, len = shard * ranks;
        IrId base = ir_build_binary(b, IR_OP_MUL, rank, ir_build_scalar(b, IR_DTYPE_I32, (double)shard));
        q->gidx = bin(&u, IR_OP_ADD, ir_build_iota(b, ir_type_make(IR_DTYPE_I32, 1, &shard), 0), base);
        if (full) {
            q->p = q->flat;
        } else {
            IrId *parts = llmc_xcalloc(grp->n_members + 1, sizeof *parts);
            uint32_t np = 0;
            for (uint32_t k = 0; k < grp->n_members; k++) {
                IrId p = ir_graph_find_input(g, grp->members[k].name);
                int64_t n = (int64_t)grp->members[k].numel;
                parts[np++] = grp->members[k].type.rank == 1 ? p : ir_build_reshape(b, p, 1, &n);
            }
            int64_t pad = len - (int64_t)grp->numel;
            double zero = 0;
            if (pad > 0) parts[np++] = ir_build_const(b, ir_type_make(dt, 1, &pad), &zero, 1);
            IrId flat = np == 1 ? parts[0] : ir_build_concat(b, parts, np, 0);
            free(parts);
            q->p = ir_build_gather(b, flat, q->gidx, 0, 0);
        }
        q->g = t->accumulate == 1 ? q->grad
                                  : bin(&u, IR_OP_DIV, q->grad, ir_build_scalar(b, dt, (double)t->accumulate));
        int64_t blocks[2] = {shard / CC_SHARD_BLOCK, CC_SHARD_BLOCK};
        IrId sq = ir_build_reshape(b, bin(&u, IR_OP_MUL, q->g, q->g), 2, blocks);
        IrId sums = ir_build_all_gather(b, ir_build_reduce(b, IR_OP_REDUCE_SUM, sq, 1, false), 0, ranks);
        int64_t real = (int64_t)((grp->numel + CC_SHARD_BLOCK - 1) / CC_SHARD_BLOCK), zero0 = 0;
        if (real < blocks[0] * ranks) sums = ir_build_slice(b, sums, &zero0, &real, NULL);
        IrId s_i = as(&u, ir_build_reduce(b, IR_OP_REDUCE_SUM, sums, 0, false), IR_DTYPE_F32);
        at_scope(&u, "grad_norm");
        total = i == 0 ? s_i : bin(&u, IR_OP_ADD, total, s_i);
    }
    at_scope(&u, "grad_norm");
    IrId norm = ng ? un(&u, IR_OP_SQRT, total) : f32(&u, 0);
    if (clip) {
        IrId scale = cc_upd_clip_scale(&u.m, norm);
        for (uint32_t i = 0; i < ng; i++) {
            at_scope(&u, qs[i].grp->name);
            qs[i].g = bin(&u, IR_OP_MUL, qs[i].g, as(&u, scale, qs[i].grp->dtype));
        }
    }

    /* The optimizer. */
    bool any_decay = false;
    for (uint32_t i = 0; i < ng; i++) any_decay |= qs[i].grp->decay_end > 0;
    at_scope(&u, "optimizer");
    cc_upd_optimizer_scalars(&u.m, tf, lr, any_decay);
    for (uint32_t i = 0; i < ng; i++) {
        UGroup *q = &qs[i];
        at_scope(&u, q->grp->name);
        Where w = {&u, q};
        CcUpdParam x = {.dt = q->grp->dtype, .p = q->p, .g = q->g, .m = q->m, .v = q->v,
                        .decays = q->grp->decay_end > 0, .where = where_decays, .ctx = &w};
        cc_upd_optimizer(&u.m, &x);
        q->p_new = x.p_new, q->m_new = x.m_new, q->v_new = x.v_new;
    }

    /* grad: the new params, all-gathered and cut back into P. */
    IrId *p_out = llmc_xcalloc(n_src + 1, sizeof *p_out);
    for (uint32_t j = 0; j < n_src; j++) p_out[j] = IR_ID_NONE;
    for (uint32_t i = 0; !full && i < ng; i++) {
        const CcFlatGroup *grp = qs[i].grp;
        at_scope(&u, grp->name);
        IrId all = ir_build_all_gather(b, qs[i].p_new, 0, ranks);
        for (uint32_t k = 0; k < grp->n_members; k++) {
            const CcFlatMember *mem = &grp->members[k];
            int64_t start = (int64_t)mem->offset, end = (int64_t)(mem->offset + mem->numel);
            IrId x = ir_build_slice(b, all, &start, &end, NULL);
            if (mem->type.rank != 1) x = ir_build_reshape(b, x, mem->type.rank, mem->type.dims);
            for (uint32_t j = 0; j < n_src; j++)
                if (params[j] != IR_ID_NONE &&
                    strcmp(ir_graph_str(g, g->nodes[params[j]].attrs.input.name), mem->name) == 0)
                    p_out[j] = x;
        }
    }

    bool ok = true;
    if (!ir_builder_ok(b)) {
        llmc_err_set(err, "internal error: shard: building the update graph: %s", b->err.msg);
        ok = false;
    }
    for (uint32_t j = 0; ok && j < n_src; j++) {
        if (params[j] == IR_ID_NONE) continue;
        if (p_out[j] == IR_ID_NONE) {
            llmc_err_set(err, "internal error: shard: param '%s' is in no group",
                         ir_graph_str(g, g->nodes[params[j]].attrs.input.name));
            ok = false;
            break;
        }
        ir_graph_add_output(g, ir_graph_str(g, g->nodes[params[j]].attrs.input.name), p_out[j]);
    }
    for (uint32_t i = 0; ok && full && i < ng; i++)
        ir_graph_add_output(g, flat_name(&name, "", qs[i].grp), qs[i].p_new);
    for (uint32_t i = 0; ok && i < ng; i++)
        ir_graph_add_output(g, flat_name(&name, CC_ADAM_M_PREFIX, qs[i].grp), qs[i].m_new);
    for (uint32_t i = 0; ok && adamw && i < ng; i++)
        ir_graph_add_output(g, flat_name(&name, CC_ADAM_V_PREFIX, qs[i].grp), qs[i].v_new);
    if (ok) {
        ir_graph_add_output(g, CC_STEP, step_new);
        ir_graph_add_output(g, "lr", lr);
        ir_graph_add_output(g, "grad_norm", norm);
    }
    llmc_buf_free(&name);
    free(p_out);
    free(params);
    free(qs);
    free(src_in);
    if (ok) {
        LlmcDiags d = {0};
        if (!ir_verify(g, &d, NULL, NULL)) {
            llmc_err_set(err, "internal error: shard: the update graph fails to verify: %s",
                         d.count ? d.items[0].msg : "?");
            ok = false;
        }
        llmc_diags_free(&d);
    }
    if (!ok) {
        ir_graph_free(g);
        return NULL;
    }
    return g;
}
