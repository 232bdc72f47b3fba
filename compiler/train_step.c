/* compiler/train_step.c — the training step: the micro-batch graph (autodiff of @forward's
 * "loss") and the update graph (mean gradient, global-norm clipping, the learning-rate
 * schedule, AdamW or SGD with momentum), both built from the lowered module and its
 * IrTrainConfig record.
 *
 * The update graph, for params P (in @forward's input order):
 *   inputs   P (param) | grad.P (data: the SUM over the step's micro-batches) |
 *            opt.m.P (state), opt.v.P (state, AdamW only) | step (state, i32[]) |
 *            hp.* (state, f32[]), see below
 *   outputs  P | opt.m.P | opt.v.P | step | lr | grad_norm
 * What is compile time (from the record): the optimizer kind, the schedule kind,
 * `accumulate`, whether clipping is on (clip_grad_norm > 0) and which params decay.
 * What is an input (so a sweep or a -D change reuses the compiled code), with the record's
 * value as its initial value (cc_train_state_new):
 *   hp.lr, hp.warmup                      always
 *   hp.min_lr, hp.steps                   cosine and linear schedules
 *   hp.beta1, hp.beta2, hp.eps            AdamW
 *   hp.momentum                           SGD
 *   hp.weight_decay                       both optimizers (when some param decays)
 *   hp.clip                               when clip_grad_norm > 0
 * All f32 scalars; warmup and steps too (exact up to 2^24 steps).
 *
 * Conventions (all in f32 graph arithmetic, in this order):
 *   t          = step, the 0-based index of the step being taken (0 on the first step);
 *                the output step is step + 1.
 *   g_P        = grad.P / accumulate (the mean gradient; no division when accumulate = 1)
 *   grad_norm  = sqrt(((s_0 + s_1) + s_2) + ...), s_i = sum of g_Pi^2 over Pi's elements,
 *                params in input order — the PRE-clip norm, an output.
 *   clipping   g_P *= min(1, hp.clip / (grad_norm + 1e-6)), as torch's clip_grad_norm_
 *                (the 1e-6 keeps a zero gradient finite; the factor is applied even when
 *                it is 1).
 *   schedule   lr(t) = hp.lr * ((t + 1) / max(hp.warmup, 1))          for t < warmup,
 *              else constant: hp.lr;
 *                   p = clamp((t - warmup) / max(steps - warmup, 1), 0, 1),
 *                   cosine: min_lr + 0.5 (lr - min_lr) (1 + cos(pi p)),
 *                   linear: lr + (min_lr - lr) p.
 *              So the first step runs at lr/warmup, step warmup at the peak, and every
 *              step from `steps` on at min_lr. The output "lr" is lr(t).
 *   AdamW      m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
 *              mhat = m / (1 - b1^(t+1));  vhat = v / (1 - b2^(t+1));
 *              P = (P - lr(t) (mhat / (sqrt(vhat) + eps))) - (lr(t) wd) P   (decoupled;
 *              the last term only where P decays).
 *   SGD        torch.optim.SGD (dampening 0, no Nesterov): g' = g + wd P (where P
 *              decays); buf = momentum buf + g'; P = P - lr(t) buf. The buffer is
 *              opt.m.P and always exists, so momentum can be swept from 0.
 *   decay      every param, except 1-D ones (norm gains, biases) unless decay_1d, and
 *              embedding tables unless decay_embeddings. An embedding table is a param
 *              that is the table (operand 0) of a gather in @forward, or whose last name
 *              part is tok_emb or pos_emb (or tok_emb_N / pos_emb_N); a tied head is the
 *              token table itself.
 *
 * precision = bf16 needs nothing here: the frontend put the casts to bf16 in front of the
 * dense matmuls of @forward, so params stay f32 (the master weights), autodiff holds
 * every gradient in f32 (compiler/grad.c), and grad.P, its sum over micro-batches, the
 * optimizer state and the whole update graph are f32.
 *
 * Deliberately not here: running anything (step_interp.c), the accumulation order
 * (accumulate.c), simplification of the result (the passes), sharding.
 */
#include "compiler_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>


/* --- which params decay --------------------------------------------------------------- */

/* "tok_emb", "tok_emb_2", ...: the frontend's site names for embedding tables. */
static bool is_embedding_name(const char *name) {
    const char *last = strrchr(name, '.');
    last = last ? last + 1 : name;
    static const char *const kinds[] = {"tok_emb", "pos_emb"};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        size_t n = strlen(kinds[k]);
        if (strncmp(last, kinds[k], n) != 0) continue;
        const char *rest = last + n;
        if (*rest == 0) return true;
        if (*rest == '_' && rest[1]) {
            for (rest++; *rest >= '0' && *rest <= '9'; rest++) {}
            if (*rest == 0) return true;
        }
    }
    return false;
}

bool cc_train_is_embedding(const IrGraph *g, IrId param, const bool *gathered) {
    return gathered[param] || is_embedding_name(ir_graph_str(g, g->nodes[param].attrs.input.name));
}

bool cc_train_param_decays_in(const IrGraph *g, IrId param, const bool *gathered) {
    const IrNode *p = &g->nodes[param];
    const IrTrainConfig *t = &g->train;
    if (p->type.rank <= 1 && !t->decay_1d) return false;
    if (t->decay_embeddings) return true;
    return !cc_train_is_embedding(g, param, gathered);
}

/* One pass, so deciding every param's decay stays linear in the graph size. */
bool *cc_train_gathered_tables(const IrGraph *g) {
    bool *gathered = llmc_xcalloc(g->n_nodes + 1, sizeof *gathered);
    for (IrId id = 0; id < g->n_nodes; id++)
        if (g->nodes[id].op == IR_OP_GATHER) gathered[g->nodes[id].operands[0]] = true;
    return gathered;
}

uint64_t cc_param_count(const IrGraph *fwd, uint64_t *embedding) {
    bool *gathered = cc_train_gathered_tables(fwd);
    uint64_t total = 0;
    *embedding = 0;
    for (IrId id = 0; id < fwd->n_nodes; id++) {
        const IrNode *n = &fwd->nodes[id];
        if (n->op != IR_OP_INPUT || n->attrs.input.role != IR_ROLE_PARAM) continue;
        uint64_t k = (uint64_t)ir_type_numel(&n->type);
        total += k;
        if (cc_train_is_embedding(fwd, id, gathered)) *embedding += k;
    }
    free(gathered);
    return total;
}

bool cc_train_param_decays(const IrGraph *fwd, IrId param) {
    LLMC_ASSERT(param < fwd->n_nodes && fwd->nodes[param].op == IR_OP_INPUT);
    bool *gathered = cc_train_gathered_tables(fwd);
    bool decays = cc_train_param_decays_in(fwd, param, gathered);
    free(gathered);
    return decays;
}

/* --- hyperparameter inputs ------------------------------------------------------------ */

static double hp_record_value(const IrTrainConfig *t, CcHp h) {
    switch (h) {
    case CC_HP_LR: return t->lr;
    case CC_HP_WARMUP: return (double)t->warmup;
    case CC_HP_MIN_LR: return t->min_lr;
    case CC_HP_STEPS: return (double)t->steps;
    case CC_HP_BETA1: return t->beta1;
    case CC_HP_BETA2: return t->beta2;
    case CC_HP_EPS: return t->eps;
    case CC_HP_MOMENTUM: return t->momentum;
    case CC_HP_WD: return t->weight_decay;
    case CC_HP_CLIP: return t->clip_grad_norm;
    case CC_HP_N: break;
    }
    LLMC_ASSERT(!"bad hyperparameter");
    return 0;
}

bool cc_train_hp_value(const IrTrainConfig *t, const char *name, double *value) {
    for (int h = 0; h < CC_HP_N; h++)
        if (strcmp(cc_hp_names[h], name) == 0) {
            *value = hp_record_value(t, (CcHp)h);
            return true;
        }
    return false;
}

/* --- the update graph ----------------------------------------------------------------- */

typedef CcUpd Upd;

static IrId f32(Upd *u, double v) { return cc_upd_f32(u, v); }
static IrId bin(Upd *u, IrOp op, IrId x, IrId y) { return cc_upd_bin(u, op, x, y); }
static IrId un(Upd *u, IrOp op, IrId x) { return cc_upd_un(u, op, x); }
static IrId as(Upd *u, IrId s, IrDtype dt) { return cc_upd_as(u, s, dt); }

typedef struct UParam {
    const char *name;
    IrType type;
    IrLoc loc; /* of the param in fwd (file interned there) */
    bool decays;
    IrId p, grad, m, v; /* inputs of the update graph */
    IrId g;             /* the processed gradient */
    IrId p_new, m_new, v_new;
} UParam;

static bool is_reserved(const char *name) {
    static const char *const exact[] = {CC_STEP, "lr", "grad_norm"};
    static const char *const prefixes[] = {CC_GRAD_PREFIX, "opt.", "hp."};
    for (size_t i = 0; i < sizeof exact / sizeof *exact; i++)
        if (strcmp(name, exact[i]) == 0) return true;
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
        if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0) return true;
    return false;
}

/* Per-param nodes carry the param's name as scope and its .llm location; shared nodes
 * (schedule, norm, optimizer scalars) a scope of their own and no location. */
static void at_param(Upd *u, const IrGraph *fwd, const UParam *q) {
    ir_builder_set_scope(&u->b, q->name);
    if (q->loc.file)
        ir_builder_set_loc(&u->b, ir_graph_str(fwd, q->loc.file), q->loc.line, q->loc.col);
    else
        u->b.loc = (IrLoc){0, 0, 0};
}

static void at_shared(Upd *u, const char *scope) {
    ir_builder_set_scope(&u->b, scope);
    u->b.loc = (IrLoc){0, 0, 0};
}

/* prefix + name, in buf (reused). */
static const char *prefixed(LlmcBuf *buf, const char *prefix, const char *name) {
    buf->len = 0;
    llmc_buf_puts(buf, prefix);
    llmc_buf_puts(buf, name);
    return buf->data;
}

/* sum of x^2 over every element: f32[] (or the param's dtype). */
static IrId sum_squares(Upd *u, IrId g) {
    const IrType *ty = &u->b.g->nodes[g].type;
    int64_t n = ir_type_numel(ty);
    IrId flat = ty->rank == 1 ? g : ir_build_reshape(&u->b, g, 1, &n);
    return ir_build_reduce(&u->b, IR_OP_REDUCE_SUM, bin(u, IR_OP_MUL, flat, flat), 0, false);
}

IrGraph *cc_train_update_build(const IrGraph *fwd, LlmcErr *err) {
    const IrTrainConfig *t = &fwd->train;
    if (!t->present) {
        llmc_err_set(err, "graph @%s has no train record: the training step needs one", ir_graph_name(fwd));
        return NULL;
    }
    LlmcErr check = {0};
    if (!ir_train_check(t, &check)) {
        llmc_err_set(err, "graph @%s: %s", ir_graph_name(fwd), check.msg);
        return NULL;
    }
    bool adamw = t->optimizer == IR_OPTIMIZER_ADAMW;
    bool clip = t->clip_grad_norm > 0;

    uint32_t n_inputs = ir_graph_inputs(fwd, NULL);
    IrId *inputs = llmc_xcalloc(n_inputs ? n_inputs : 1, sizeof *inputs);
    ir_graph_inputs(fwd, inputs);
    UParam *ps = llmc_xcalloc(n_inputs ? n_inputs : 1, sizeof *ps);
    bool *gathered = cc_train_gathered_tables(fwd);
    uint32_t np = 0;
    bool any_decay = false;
    for (uint32_t i = 0; i < n_inputs; i++) {
        const IrNode *n = &fwd->nodes[inputs[i]];
        if (n->attrs.input.role != IR_ROLE_PARAM) continue;
        if (!ir_dtype_is_float(n->type.dtype)) {
            llmc_err_set(err, "param '%s' has dtype %s: only float params can be trained",
                         ir_graph_str(fwd, n->attrs.input.name), ir_dtype_name(n->type.dtype));
            free(inputs);
            free(ps);
            free(gathered);
            return NULL;
        }
        const char *pname = ir_graph_str(fwd, n->attrs.input.name);
        if (is_reserved(pname)) {
            llmc_err_set(err, "param '%s' has a name the training step uses for its own inputs and outputs "
                              "(step, lr, grad_norm, grad.*, opt.*, hp.*)", pname);
            free(inputs);
            free(ps);
            free(gathered);
            return NULL;
        }
        ps[np] = (UParam){.name = pname, .type = n->type, .loc = n->loc,
                          .decays = cc_train_param_decays_in(fwd, inputs[i], gathered)};
        any_decay |= ps[np].decays;
        np++;
    }
    free(inputs);
    free(gathered);

    IrGraph *g = ir_graph_new("update");
    g->train = *t;
    g->train.model = ir_graph_intern(g, ir_graph_str(fwd, t->model));
    Upd u = {.t = t};
    ir_builder_init(&u.b, g);
    IrBuilder *b = &u.b;
    LlmcBuf name = {0};

    /* Inputs: params, gradients, moments, step, hyperparameters. */
    for (uint32_t i = 0; i < np; i++) {
        at_param(&u, fwd, &ps[i]);
        ps[i].p = ir_build_input(b, IR_ROLE_PARAM, ps[i].name, ps[i].type);
    }
    for (uint32_t i = 0; i < np; i++) {
        at_param(&u, fwd, &ps[i]);
        ps[i].grad = ir_build_input(b, IR_ROLE_DATA, prefixed(&name, CC_GRAD_PREFIX, ps[i].name), ps[i].type);
    }
    for (uint32_t i = 0; i < np; i++) {
        at_param(&u, fwd, &ps[i]);
        ps[i].m = ir_build_input(b, IR_ROLE_STATE, prefixed(&name, CC_ADAM_M_PREFIX, ps[i].name), ps[i].type);
    }
    for (uint32_t i = 0; adamw && i < np; i++) {
        at_param(&u, fwd, &ps[i]);
        ps[i].v = ir_build_input(b, IR_ROLE_STATE, prefixed(&name, CC_ADAM_V_PREFIX, ps[i].name), ps[i].type);
    }
    at_shared(&u, CC_STEP);
    IrId step = ir_build_input(b, IR_ROLE_STATE, CC_STEP, ir_type_scalar(IR_DTYPE_I32));
    bool used[CC_HP_N] = {0};
    used[CC_HP_LR] = used[CC_HP_WARMUP] = true;
    used[CC_HP_MIN_LR] = used[CC_HP_STEPS] = t->schedule != IR_SCHEDULE_CONSTANT;
    used[CC_HP_BETA1] = used[CC_HP_BETA2] = used[CC_HP_EPS] = adamw;
    used[CC_HP_MOMENTUM] = !adamw;
    used[CC_HP_WD] = any_decay;
    used[CC_HP_CLIP] = clip;
    for (int h = 0; h < CC_HP_N; h++) {
        u.hp[h] = IR_ID_NONE;
        if (!used[h]) continue;
        at_shared(&u, cc_hp_names[h]);
        u.hp[h] = ir_build_input(b, IR_ROLE_STATE, cc_hp_names[h], ir_type_scalar(IR_DTYPE_F32));
    }

    /* t and the schedule. */
    at_shared(&u, CC_STEP);
    IrId tf = ir_build_cast(b, step, IR_DTYPE_F32);
    IrId step_new = ir_build_binary(b, IR_OP_ADD, step, ir_build_scalar(b, IR_DTYPE_I32, 1));
    at_shared(&u, "lr_schedule");
    IrId lr = cc_upd_schedule(&u, tf);

    /* Mean gradient, global norm (param order), clipping. */
    IrId total = IR_ID_NONE;
    for (uint32_t i = 0; i < np; i++) {
        at_param(&u, fwd, &ps[i]);
        IrDtype dt = ps[i].type.dtype;
        ps[i].g = t->accumulate == 1 ? ps[i].grad
                                     : bin(&u, IR_OP_DIV, ps[i].grad, ir_build_scalar(b, dt, (double)t->accumulate));
        IrId s = as(&u, sum_squares(&u, ps[i].g), IR_DTYPE_F32);
        at_shared(&u, "grad_norm");
        total = i == 0 ? s : bin(&u, IR_OP_ADD, total, s);
    }
    at_shared(&u, "grad_norm");
    IrId norm = np ? un(&u, IR_OP_SQRT, total) : f32(&u, 0);
    if (clip) {
        IrId scale = cc_upd_clip_scale(&u, norm);
        for (uint32_t i = 0; i < np; i++) {
            at_param(&u, fwd, &ps[i]);
            ps[i].g = bin(&u, IR_OP_MUL, ps[i].g, as(&u, scale, ps[i].type.dtype));
        }
    }

    /* The optimizer. */
    at_shared(&u, "optimizer");
    cc_upd_optimizer_scalars(&u, tf, lr, any_decay);
    for (uint32_t i = 0; i < np; i++) {
        UParam *q = &ps[i];
        at_param(&u, fwd, q);
        CcUpdParam x = {.dt = q->type.dtype, .p = q->p, .g = q->g, .m = q->m, .v = q->v, .decays = q->decays};
        cc_upd_optimizer(&u, &x);
        q->p_new = x.p_new, q->m_new = x.m_new, q->v_new = x.v_new;
    }

    if (!ir_builder_ok(b)) {
        llmc_err_set(err, "internal error building the update graph: %s", b->err.msg);
        free(ps);
        llmc_buf_free(&name);
        ir_graph_free(g);
        return NULL;
    }
    for (uint32_t i = 0; i < np; i++) ir_graph_add_output(g, ps[i].name, ps[i].p_new);
    for (uint32_t i = 0; i < np; i++)
        ir_graph_add_output(g, prefixed(&name, CC_ADAM_M_PREFIX, ps[i].name), ps[i].m_new);
    for (uint32_t i = 0; adamw && i < np; i++)
        ir_graph_add_output(g, prefixed(&name, CC_ADAM_V_PREFIX, ps[i].name), ps[i].v_new);
    llmc_buf_free(&name);
    ir_graph_add_output(g, CC_STEP, step_new);
    ir_graph_add_output(g, "lr", lr);
    ir_graph_add_output(g, "grad_norm", norm);
    free(ps);

    LlmcDiags d = {0};
    if (!ir_verify(g, &d, NULL, NULL)) {
        llmc_err_set(err, "internal error: the update graph fails to verify: %s", d.count ? d.items[0].msg : "?");
        llmc_diags_free(&d);
        ir_graph_free(g);
        return NULL;
    }
    llmc_diags_free(&d);
    return g;
}

/* --- the step ------------------------------------------------------------------------- */

static const IrGraph *find_graph(const IrModule *m, const char *name) {
    for (uint32_t i = 0; i < m->n_graphs; i++)
        if (strcmp(ir_graph_name(m->graphs[i]), name) == 0) return m->graphs[i];
    return NULL;
}

/* simplify without CSE (see cc_train_step_build): algebra, fold, dce until a round
 * changes nothing. "Unchanged" is judged by the canonical print, not the node count: a
 * round can rewrite without shrinking and let the next one shrink. */
static IrGraph *simplify_keeping_duplicates(const IrGraph *g, LlmcErr *err) {
    IrGraph *cur = ir_graph_clone(g);
    for (int round = 0; round < 16 && cur; round++) {
        LlmcBuf before = {0}, after = {0};
        ir_print_graph(cur, &before);
        IrGraph *a = cc_pass_algebra(cur, err);
        IrGraph *f = a ? cc_pass_fold(a, err) : NULL;
        IrGraph *d = f ? cc_pass_dce(f, err) : NULL;
        ir_graph_free(cur);
        ir_graph_free(a);
        ir_graph_free(f);
        cur = d;
        if (cur) ir_print_graph(cur, &after);
        bool same = cur && before.len == after.len && memcmp(before.data, after.data, before.len) == 0;
        llmc_buf_free(&before);
        llmc_buf_free(&after);
        if (same) break;
    }
    return cur;
}

/* *g becomes cc_pass_unshare_splats(*g): the last pass, after CSE. */
static bool unshare(IrGraph **g, LlmcErr *err) {
    IrGraph *u = cc_pass_unshare_splats(*g, err);
    if (!u) return false;
    ir_graph_free(*g);
    *g = u;
    return true;
}

bool cc_train_step_build(const IrModule *lowered, CcTrainStep *out, LlmcErr *err) {
    memset(out, 0, sizeof *out);
    const IrGraph *fwd = find_graph(lowered, "forward");
    if (!fwd) {
        llmc_err_set(err, "the module has no graph @forward");
        return false;
    }
    IrGraph *raw_update = cc_train_update_build(fwd, err);
    IrGraph *update = raw_update ? cc_pass_simplify(raw_update, err) : NULL;
    ir_graph_free(raw_update);
    if (!update) return false;
    /* Simplify the forward before differentiating, then the whole micro graph — but
     * with remat, not through CSE: the recomputed copies of a layer are deliberate
     * duplicates of forward values, and merging them would keep the activations alive
     * again. */
    bool remat = fwd->train.remat == IR_REMAT_LAYERS;
    CcGradOptions opt = {.loss = "loss", .remat_layers = remat};
    IrGraph *fwd_simple = cc_pass_simplify(fwd, err);
    IrGraph *raw_micro = fwd_simple ? cc_grad(fwd_simple, &opt, err) : NULL;
    IrGraph *micro = raw_micro ? (remat ? simplify_keeping_duplicates(raw_micro, err) : cc_pass_simplify(raw_micro, err))
                               : NULL;
    ir_graph_free(fwd_simple);
    ir_graph_free(raw_micro);
    if (!micro) {
        ir_graph_free(update);
        return false;
    }
    if (!unshare(&micro, err) || !unshare(&update, err)) {
        ir_graph_free(micro);
        ir_graph_free(update);
        return false;
    }
    micro->name = ir_graph_intern(micro, "micro");
    if (!micro->train.present) { /* the record travels with the graph */
        micro->train = fwd->train;
        micro->train.model = ir_graph_intern(micro, ir_graph_str(fwd, fwd->train.model));
    }
    out->micro = micro;
    out->update = update;
    return true;
}

void cc_train_step_free(CcTrainStep *s) {
    if (!s) return;
    ir_graph_free(s->micro);
    ir_graph_free(s->update);
    s->micro = s->update = NULL;
}

/* --- initial state -------------------------------------------------------------------- */

static bool has_var(const CcVar *vars, uint32_t n, const char *name) {
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(vars[i].name, name) == 0) return true;
    return false;
}

/* Appends the state inputs of g not yet in vars. */
static bool add_state(const IrGraph *g, const IrTrainConfig *t, CcVar *vars, uint32_t *n, LlmcErr *err) {
    for (IrId id = 0; id < g->n_nodes; id++) {
        const IrNode *node = &g->nodes[id];
        if (node->op != IR_OP_INPUT || node->attrs.input.role != IR_ROLE_STATE) continue;
        const char *name = ir_graph_str(g, node->attrs.input.name);
        if (has_var(vars, *n, name)) continue;
        CcVar *v = &vars[(*n)++];
        v->name = name;
        ir_value_alloc(&v->value, node->type); /* zeros: moments, step 0 */
        double x;
        if (cc_train_hp_value(t, name, &x)) {
            v->value.data[0] = x;
        } else if (strcmp(name, "seed") == 0) {
            v->value.data[0] = (double)t->seed;
        } else if (strcmp(name, CC_STEP) != 0 && strncmp(name, CC_ADAM_M_PREFIX, strlen(CC_ADAM_M_PREFIX)) != 0 &&
                   strncmp(name, CC_ADAM_V_PREFIX, strlen(CC_ADAM_V_PREFIX)) != 0) {
            llmc_err_set(err, "no initial value is known for state input '%s' of graph @%s", name, ir_graph_name(g));
            return false;
        }
    }
    return true;
}

CcVar *cc_train_state_new(const CcTrainStep *s, uint32_t *n_vars, LlmcErr *err) {
    uint32_t cap = 0;
    const IrGraph *gs[2] = {s->micro, s->update};
    for (int k = 0; k < 2; k++)
        if (gs[k]) cap += ir_graph_inputs(gs[k], NULL);
    CcVar *vars = llmc_xcalloc(cap ? cap : 1, sizeof *vars);
    uint32_t n = 0;
    const IrTrainConfig *t = &s->update->train;
    for (int k = 0; k < 2; k++) {
        if (!gs[k] || add_state(gs[k], t, vars, &n, err)) continue;
        for (uint32_t i = 0; i < n; i++) ir_value_free(&vars[i].value);
        free(vars);
        return NULL;
    }
    *n_vars = n;
    return vars;
}
