/* frontend/lower_infer.c — the inference graphs of a model (frontend.h "Inference graphs"):
 * @logits (the full forward pass up to the model's `logits`, no loss), and the KV-cache
 * pair @prefill / @decode, lowered from the same program as @forward.
 *
 * How: lower.c evaluates the model block as for training, with batch = 1, seq set here,
 * and an FeInfer on the builder that the composites consult (dropout is the identity;
 * embed reads positions at `pos` in decode; attention records its K/V as caches, and in
 * decode reads and updates them). Finishing takes the `logits` binding instead of the
 * loss and copies out only what the outputs need (the loss, targets and MoE auxiliaries
 * drop out), inputs first: every param in @forward's order — so the params of a
 * checkpoint bind by name to any of these graphs — then tokens, pos, the caches.
 *
 * Not here: sampling (tools/llmrun_generate.c), the bundle (tools/llmc.c).
 */
#include "frontend_int.h"

#include <stdlib.h>
#include <string.h>

const char *fe_infer_graph_name(FeInferKind k) {
    switch (k) {
    case FE_INFER_LOGITS: return "logits";
    case FE_INFER_PREFILL: return "prefill";
    case FE_INFER_DECODE: return "decode";
    case FE_INFER_NONE:
    case FE_INFER_COUNT: break;
    }
    return "?";
}

/* --- services to the composites ------------------------------------------------------ */

IrId fe_infer_pos(FeBuild *fb) {
    FeInfer *in = fb->infer;
    if (in->pos != IR_ID_NONE) return in->pos;
    uint32_t scope = fb->b.scope;
    ir_builder_set_scope(&fb->b, "pos");
    in->pos = ir_build_input(&fb->b, IR_ROLE_DATA, "pos", ir_type_scalar(IR_DTYPE_I32));
    fb->b.scope = scope;
    return in->pos;
}

/* The slot of cache "cache.<site>.<kv>", created when new. */
static uint32_t cache_slot(FeBuild *fb, const char *site, const char *kv) {
    FeInfer *in = fb->infer;
    const char *name = fe_build_name(fb, fe_build_name(fb, "cache", site), kv);
    for (uint32_t i = 0; i < in->n_cache; i++)
        if (strcmp(in->cache_names[i], name) == 0) return i;
    if (in->n_cache == in->cap_cache) {
        in->cap_cache = in->cap_cache ? 2 * in->cap_cache : 16;
        in->cache_in = llmc_xrealloc(in->cache_in, in->cap_cache * sizeof *in->cache_in);
        in->cache_out = llmc_xrealloc(in->cache_out, in->cap_cache * sizeof *in->cache_out);
        in->cache_names = llmc_xrealloc(in->cache_names, in->cap_cache * sizeof *in->cache_names);
    }
    in->cache_in[in->n_cache] = in->cache_out[in->n_cache] = IR_ID_NONE;
    in->cache_names[in->n_cache] = name;
    return in->n_cache++;
}

IrId fe_infer_rows(FeBuild *fb, IrId table) {
    IrId idx = ir_build_reshape(&fb->b, fe_infer_pos(fb), 1, (int64_t[]){1});
    return ir_build_gather(&fb->b, table, idx, 0, 0);
}

void fe_infer_cache_output(FeBuild *fb, const char *site, const char *kv, IrId value) {
    uint32_t i = cache_slot(fb, site, kv); /* may grow the arrays: before indexing them */
    fb->infer->cache_out[i] = value;
}

IrId fe_infer_cache_write(FeBuild *fb, const char *site, const char *kv, IrId x) {
    IrBuilder *b = &fb->b;
    if (x == IR_ID_NONE) return IR_ID_NONE;
    const IrType xt = b->g->nodes[x].type; /* [B, K, 1, hd] */
    FeInfer *in = fb->infer;
    uint32_t i = cache_slot(fb, site, kv);
    int64_t B = xt.dims[0], K = xt.dims[1], hd = xt.dims[3], C = in->cache_len;
    int64_t dims[4] = {B, K, C, hd};
    IrType ct = ir_type_make(xt.dtype, 4, dims);
    ir_builder_set_scope(b, in->cache_names[i]);
    if (in->cache_in[i] == IR_ID_NONE) in->cache_in[i] = ir_build_input(b, IR_ROLE_STATE, in->cache_names[i], ct);
    IrId row = ir_build_iota(b, ir_type_make(IR_DTYPE_I32, 4, dims), 2);
    IrId at = ir_build_binary(b, IR_OP_CMPEQ, row, ir_build_broadcast_to(b, fe_infer_pos(fb), 4, dims));
    IrId flat = ir_build_reshape(b, x, 3, (int64_t[]){B, K, hd});
    IrId wide = ir_build_broadcast(b, flat, 4, dims, (int64_t[]){0, 1, 3});
    IrId out = ir_build_select(b, at, wide, in->cache_in[i]);
    in->cache_out[i] = out;
    return out;
}

/* --- finishing ----------------------------------------------------------------------- */

/* Marks x and everything it reads. */
static void mark_live(const IrGraph *g, IrId x, bool *live) {
    if (x == IR_ID_NONE || live[x]) return;
    /* iterative: operands have smaller ids, so one backward sweep from x suffices */
    live[x] = true;
    for (IrId id = x + 1; id-- > 0;) {
        if (!live[id]) continue;
        const IrNode *n = &g->nodes[id];
        for (uint32_t j = 0; j < n->n_operands; j++) live[n->operands[j]] = true;
    }
}

/* A copy of g holding the inputs `first` (in order, live or not), then the other live
 * nodes in their order, with outputs (names[i], outs[i]). */
static IrGraph *copy_live(const IrGraph *g, const char *name, const IrId *first, uint32_t n_first,
                          const char *const *names, const IrId *outs, uint32_t n_outs) {
    bool *live = llmc_xcalloc(g->n_nodes + 1, sizeof *live);
    for (uint32_t o = 0; o < n_outs; o++) mark_live(g, outs[o], live);
    IrGraph *c = ir_graph_new(ir_graph_name(g)); /* g's strings keep their ids */
    for (uint32_t i = 1; i < g->strings.count; i++) {
        uint32_t id = ir_graph_intern(c, g->strings.strs[i]);
        LLMC_ASSERT(id == i);
    }
    c->name = ir_graph_intern(c, name);
    IrId *order = llmc_xmalloc((g->n_nodes + 1) * sizeof *order);
    IrId *map = llmc_xmalloc((g->n_nodes + 1) * sizeof *map);
    bool *placed = llmc_xcalloc(g->n_nodes + 1, sizeof *placed);
    uint32_t n = 0;
    for (uint32_t i = 0; i < n_first; i++)
        if (first[i] != IR_ID_NONE && !placed[first[i]]) order[n++] = first[i], placed[first[i]] = true;
    for (IrId id = 0; id < g->n_nodes; id++)
        if (live[id] && !placed[id] && g->nodes[id].op == IR_OP_INPUT) order[n++] = id, placed[id] = true;
    for (IrId id = 0; id < g->n_nodes; id++)
        if (live[id] && !placed[id]) order[n++] = id, placed[id] = true;
    IrId ops[64];
    for (uint32_t k = 0; k < n; k++) {
        IrNode node = g->nodes[order[k]];
        IrId *operands = node.n_operands <= 64 ? ops : llmc_xmalloc(node.n_operands * sizeof *operands);
        for (uint32_t j = 0; j < node.n_operands; j++) operands[j] = map[node.operands[j]];
        node.operands = operands;
        map[order[k]] = ir_graph_add_node(c, &node);
        if (operands != ops) free(operands);
        if (node.op == IR_OP_CONST && node.attrs.constant.value.bytes) {
            size_t bytes = node.attrs.constant.value.count * ir_dtype_size(node.type.dtype);
            void *copy = llmc_arena_alloc(&c->arena, bytes);
            memcpy(copy, node.attrs.constant.value.bytes, bytes);
            c->nodes[map[order[k]]].attrs.constant.value.bytes = copy;
        }
    }
    for (uint32_t o = 0; o < n_outs; o++) ir_graph_add_output(c, names[o], map[outs[o]]);
    free(order);
    free(map);
    free(placed);
    free(live);
    return c;
}

bool fe_infer_finish(FeLower *L, FeBuild *fb, const FeBinding *logits, IrId tokens, const LlmcSource *src,
                     FeLoc model_loc, IrModule *out) {
    FeInfer *in = fb->infer;
    IrGraph *g = fb->b.g;
    if (!logits)
        return fe_lower_error(L, src, model_loc, "an inference graph needs the model to assign 'logits' (the output "
                                                 "head's [batch, seq, vocab] tensor)");
    if (logits->v.kind == FE_VAL_ERROR) return false;
    const IrType *t = logits->v.kind == FE_VAL_TENSOR ? &g->nodes[logits->v.u.t].type : NULL;
    if (!t || t->rank != 3 || !ir_dtype_is_float(t->dtype) || t->dims[0] != 1 ||
        tokens == IR_ID_NONE || t->dims[1] != g->nodes[tokens].type.dims[1])
        return fe_lower_error(L, logits->src, logits->loc, "'logits' must be a float tensor [batch, seq, vocab] for "
                                                           "an inference graph");
    IrId lg = logits->v.u.t;
    IrBuilder *b = &fb->b;
    ir_builder_set_scope(b, "logits");
    if (in->kind == FE_INFER_PREFILL) { /* the row of the last prompt token */
        IrId idx = ir_build_reshape(b, fe_infer_pos(fb), 1, (int64_t[]){1});
        lg = ir_build_gather(b, lg, idx, 1, 0); /* [1, 1, V] */
    }
    if (!ir_builder_ok(b))
        return fe_lower_error(L, src, model_loc, "internal error: building @%s: %s", fe_infer_graph_name(in->kind),
                              b->err.msg);
    uint32_t n_outs = 1 + (in->kind == FE_INFER_LOGITS ? 0 : in->n_cache);
    const char **names = llmc_xcalloc(n_outs, sizeof *names);
    IrId *outs = llmc_xcalloc(n_outs, sizeof *outs);
    names[0] = "logits";
    outs[0] = lg;
    bool ok = true;
    for (uint32_t i = 0; i + 1 < n_outs; i++) {
        names[i + 1] = in->cache_names[i];
        outs[i + 1] = in->cache_out[i];
        if (outs[i + 1] == IR_ID_NONE) ok = false;
    }
    uint32_t n_first = fb->n_params + 2 + in->n_cache;
    IrId *first = llmc_xcalloc(n_first, sizeof *first);
    uint32_t k = 0;
    for (uint32_t i = 0; i < fb->n_params; i++) first[k++] = fb->params[i].id;
    first[k++] = tokens;
    first[k++] = in->pos;
    for (uint32_t i = 0; i < in->n_cache; i++) first[k++] = in->cache_in[i];
    IrGraph *c = ok ? copy_live(g, fe_infer_graph_name(in->kind), first, n_first, names, outs, n_outs) : NULL;
    free(first);
    free(names);
    free(outs);
    if (!ok) return fe_lower_error(L, src, model_loc, "internal error: @%s: an attention left its cache unset",
                                   fe_infer_graph_name(in->kind));
    LlmcDiags d = {0};
    if (!ir_verify(c, &d, NULL, NULL)) {
        fe_lower_error(L, src, model_loc, "internal error: @%s fails verification: %s", fe_infer_graph_name(in->kind),
                       d.count ? d.items[0].msg : "");
        llmc_diags_free(&d);
        ir_graph_free(c);
        return false;
    }
    llmc_diags_free(&d);
    ir_module_add(out, c);
    return true;
}

/* --- entry --------------------------------------------------------------------------- */

static void infer_free(FeInfer *in) {
    free(in->cache_in);
    free(in->cache_out);
    free(in->cache_names);
}

bool fe_lower_inference(const FeProgram *p, const FeLowerOptions *opt, FeInferKind kind, int64_t seq, IrModule *out,
                        LlmcDiags *diags) {
    memset(out, 0, sizeof *out);
    if (kind == FE_INFER_NONE || kind == FE_INFER_COUNT || seq < 0) {
        LlmcSource none = {0};
        llmc_diag_at(diags, LLMC_SEV_ERROR, p ? &p->src : &none, 0, 0, "bad inference graph request");
        return false;
    }
    /* The cache length is the model's context: the sequence @logits takes by default. */
    FeInfer probe = {.kind = FE_INFER_LOGITS, .seq = kind == FE_INFER_LOGITS ? seq : 0, .pos = IR_ID_NONE};
    IrModule m = {0};
    bool ok = fe_lower_run(p, opt, &probe, &m, diags);
    infer_free(&probe);
    if (!ok) return false;
    if (kind == FE_INFER_LOGITS) {
        *out = m;
        return true;
    }
    const IrGraph *lg = m.graphs[0];
    IrId tok = ir_graph_find_input(lg, "tokens");
    int64_t ctx = tok != IR_ID_NONE ? lg->nodes[tok].type.dims[1] : 0;
    ir_module_free(&m);
    if (ctx < 1) {
        llmc_diag_at(diags, LLMC_SEV_ERROR, &p->src, 0, 0, "the model reads no tokens");
        return false;
    }
    FeInfer in = {.kind = kind, .seq = kind == FE_INFER_DECODE ? 1 : ctx, .cache_len = ctx, .pos = IR_ID_NONE};
    ok = fe_lower_run(p, opt, &in, out, diags);
    infer_free(&in);
    return ok;
}
