/* compiler/grad.c — reverse-mode autodiff: cc_grad appends the backward pass of a
 * scalar loss to a forward graph; cc_grad_activation_bytes measures how much of the
 * forward the backward pass keeps alive.
 *
 * How cc_grad works:
 *   1. Clone the forward graph (ids and strings unchanged). Find the loss output (a float
 *      scalar) and the differentiated inputs: every param, plus opt->extra by name.
 *   2. Activity. An edge (node n, operand k) is differentiable when n's op is not
 *      IR_TRAIT_NONDIFF, n and operand k both have float dtypes (no gradient flows
 *      through integers: gather's and scatter_add's indices, topk, casts to or from i32)
 *      and it is not select's condition. A node is active when it lies on a path of such
 *      edges from a differentiated input to the loss; only active nodes get gradient
 *      nodes, and a rule is asked only for the operands that are active.
 *   3. Sweep from the loss down to id 0. The seed is d loss = 1. The gradient of an
 *      active node is the sum of its users' contributions, added left to right in the
 *      order the uses appear in the graph (user id, then operand position) — a fixed
 *      order, so the result is deterministic and does not depend on the sweep. The
 *      node's rule, cc_grad_<mnemonic> from the table below, then contributes to its
 *      operands.
 *      Mixed precision: the gradient of a bf16 value is held and summed in f32
 *      (grad_dtype). The rules of reshape, permute, broadcast and cast take it in f32;
 *      any other rule of a bf16 node gets it rounded to bf16, and a bf16 result of a rule
 *      goes back to f32 before it is summed (any other dtype mismatch is an internal
 *      error, as before).
 *   4. Outputs: the forward outputs, then "grad.<name>" per differentiated input in
 *      input order; an input the loss does not reach gets a zero (a const splat 0).
 *      The result is verified.
 *
 * Provenance: every backward node built for forward node n carries n's .llm location
 * and the scope "<n's scope>.grad" ("grad" when n has none). Keeping n's scope as the
 * prefix keeps backward nodes grouped with their layer ("layers.3.attn.grad" still
 * starts with "layers.3."), which is what later per-layer passes key on; the suffix
 * keeps a dump readable. Rematerialized clones carry "<scope>.remat".
 *
 * Rematerialization (opt->remat_layers): the nodes whose scope is "layers.N" or starts
 * with "layers.N." form layer N. The rule of a layer-N node never reads a forward value
 * of layer N: cc_grad_x/cc_grad_y hand it a clone, re-emitted from the layer's inputs
 * (values made outside the layer, which are kept; input and const nodes are never
 * cloned). Clones are emitted on first use, so each is recomputed once, right before
 * the first backward node of its layer that needs it, and a forward value no rule reads
 * is not recomputed at all. A clone is the same op with the same attributes on the same
 * operand values, so every value and every gradient is bit-identical to the run without
 * remat (rand is keyed by its operands and attributes, so it draws the same numbers).
 *
 * Deliberately not here: simplifying what rules build (x*1, adding zeros, dead clones
 * — the simplify passes do that), higher-order gradients, and gradients of max
 * reductions over ranks (reported as unsupported).
 */
#include "compiler_int.h"

#include <stdlib.h>
#include <string.h>

/* The rule table: expanding ops.def makes a missing cc_grad_<mnemonic> a link error. */
static const CcGradFn grad_table[IR_OP_COUNT] = {
#define IR_OP(ENUM, mn, arity, kind, traits, attrs, shape, flops) [IR_OP_##ENUM] = cc_grad_##mn,
#include "ops.def"
#undef IR_OP
};

/* One contribution to a node's gradient: from operand position k of node `user`. */
typedef struct Contrib {
    IrId user;
    uint32_t k;
    IrId value;
} Contrib;

typedef struct ContribList {
    Contrib *v;
    uint32_t n, cap;
} ContribList;

#define CLONE_PENDING (IR_ID_NONE - 1) /* on the clone worklist, not built yet */

struct CcGradState {
    IrGraph *g;
    IrBuilder b;
    uint32_t n_fwd;          /* forward nodes: ids below this */
    uint32_t n_fwd_strings;  /* forward scopes are string ids below this */
    bool *active;            /* [n_fwd] */
    ContribList *contribs;   /* [n_fwd] */
    uint32_t *grad_scope;    /* [n_fwd_strings]: interned "<scope>.grad", 0 = not yet */
    uint32_t *remat_scope;   /* [n_fwd_strings]: interned "<scope>.remat", 0 = not yet */
    /* rematerialization (remat_layers only; layer == NULL otherwise) */
    int64_t *layer;          /* [n_fwd]: N for a cloneable node of layer N, else -1 */
    IrId *clone;             /* [n_fwd]: the node's clone, IR_ID_NONE until needed */
    int64_t cur_layer;       /* layer of the node whose rule runs; -1 outside layers */
};

/* --- small helpers ------------------------------------------------------------------ */

/* Is (n, k) an edge gradients flow along? See the banner, step 2. */
static bool edge_diff(const IrGraph *g, const IrNode *n, uint32_t k) {
    if (ir_op_info(n->op)->traits & IR_TRAIT_NONDIFF) return false;
    if (!ir_dtype_is_float(n->type.dtype)) return false;
    if (!ir_dtype_is_float(g->nodes[n->operands[k]].type.dtype)) return false;
    /* select's condition only chooses; a float condition carries no gradient. */
    if (n->op == IR_OP_SELECT && k == 0) return false;
    return true;
}

/* "layers.N" or "layers.N.<...>" -> N; anything else -> -1. */
static int64_t layer_of_scope(const char *s) {
    static const char prefix[] = "layers.";
    size_t plen = sizeof prefix - 1;
    if (strncmp(s, prefix, plen) != 0) return -1;
    const char *p = s + plen;
    if (*p < '0' || *p > '9') return -1;
    int64_t n = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (n > ((int64_t)1 << 40)) return -1; /* no model has that many layers */
        n = n * 10 + (*p - '0');
    }
    return *p == 0 || *p == '.' ? n : -1;
}

/* The interned "<scope>suffix" ("<suffix without dot>" for no scope), cached per scope. */
static uint32_t derived_scope(CcGradState *st, uint32_t *cache, uint32_t scope, const char *suffix) {
    if (scope >= st->n_fwd_strings) scope = 0; /* cannot happen for forward nodes */
    if (cache[scope]) return cache[scope];
    LlmcBuf name = {0};
    if (scope)
        llmc_buf_printf(&name, "%s%s", ir_graph_str(st->g, scope), suffix);
    else
        llmc_buf_puts(&name, suffix + 1);
    cache[scope] = ir_graph_intern(st->g, name.data);
    llmc_buf_free(&name);
    return cache[scope];
}

/* Sets the builder up to build nodes on behalf of forward node n. */
static void builder_for(CcGradState *st, const IrNode *n) {
    st->b.scope = derived_scope(st, st->grad_scope, n->scope, ".grad");
    st->b.loc = n->loc;
}

static void contrib_add(ContribList *l, IrId user, uint32_t k, IrId value) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 4;
        l->v = llmc_xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = (Contrib){user, k, value};
}

static int contrib_cmp(const void *pa, const void *pb) {
    const Contrib *a = pa, *b = pb;
    if (a->user != b->user) return a->user < b->user ? -1 : 1;
    return a->k < b->k ? -1 : a->k > b->k;
}

/* The gradient of node id: its contributions summed left to right in use order.
 * IR_ID_NONE when nothing contributed. Frees the list. */
static IrId contrib_sum(CcGradState *st, IrId id) {
    ContribList *l = &st->contribs[id];
    IrId acc = IR_ID_NONE;
    if (l->n) {
        qsort(l->v, l->n, sizeof *l->v, contrib_cmp);
        acc = l->v[0].value;
        for (uint32_t i = 1; i < l->n; i++) acc = ir_build_binary(&st->b, IR_OP_ADD, acc, l->v[i].value);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
    return acc;
}

/* --- rematerialization --------------------------------------------------------------- */

static bool cloneable_in(const CcGradState *st, IrId v, int64_t layer) {
    return v < st->n_fwd && st->layer[v] >= 0 && st->layer[v] == layer;
}

/* The clone of forward node root (of layer L), building it and every not-yet-cloned
 * layer-L node it depends on, in id order, so clones stay topologically sorted. */
static IrId remat_clone(CcGradState *st, IrId root) {
    if (st->clone[root] != IR_ID_NONE) return st->clone[root];
    int64_t L = st->layer[root];
    /* Collect what must be cloned: an explicit stack, as layers can be long chains. */
    IrId *stack = llmc_xmalloc(st->n_fwd * sizeof *stack), *todo = llmc_xmalloc(st->n_fwd * sizeof *todo);
    uint32_t sp = 0, n_todo = 0;
    stack[sp++] = root;
    st->clone[root] = CLONE_PENDING;
    while (sp) {
        IrId v = stack[--sp];
        todo[n_todo++] = v;
        const IrNode *n = &st->g->nodes[v];
        for (uint32_t k = 0; k < n->n_operands; k++) {
            IrId u = n->operands[k];
            if (cloneable_in(st, u, L) && st->clone[u] == IR_ID_NONE) {
                st->clone[u] = CLONE_PENDING;
                stack[sp++] = u;
            }
        }
    }
    /* ids are topological: building in ascending id order sees operands first. */
    for (uint32_t i = 1; i < n_todo; i++) { /* insertion sort; the list is mostly reversed */
        IrId v = todo[i];
        uint32_t j = i;
        while (j > 0 && todo[j - 1] > v) {
            todo[j] = todo[j - 1];
            j--;
        }
        todo[j] = v;
    }
    IrId ops_small[8];
    for (uint32_t i = 0; i < n_todo; i++) {
        IrId v = todo[i];
        IrNode n = st->g->nodes[v]; /* a copy: adding nodes may move the array */
        IrId *ops = n.n_operands <= 8 ? ops_small : llmc_xmalloc(n.n_operands * sizeof *ops);
        for (uint32_t k = 0; k < n.n_operands; k++) {
            IrId u = n.operands[k];
            ops[k] = cloneable_in(st, u, L) ? st->clone[u] : u;
            LLMC_ASSERT(ops[k] != IR_ID_NONE && ops[k] != CLONE_PENDING);
        }
        n.operands = ops;
        n.scope = derived_scope(st, st->remat_scope, n.scope, ".remat");
        st->clone[v] = ir_graph_add_node(st->g, &n);
        if (ops != ops_small) free(ops);
    }
    free(stack);
    free(todo);
    return st->clone[root];
}

/* The value a rule reads for forward node v: a clone when v is in the layer whose
 * backward is running under remat, else v itself. */
static IrId read_value(CcGradState *st, IrId v) {
    if (!st->layer || st->cur_layer < 0 || !cloneable_in(st, v, st->cur_layer)) return v;
    return remat_clone(st, v);
}

/* --- what rules call ------------------------------------------------------------------ */

IrId cc_grad_x(CcGradCall *c, uint32_t k) {
    LLMC_ASSERT(k < c->node.n_operands);
    return read_value(c->st, c->node.operands[k]);
}

IrId cc_grad_y(CcGradCall *c) { return read_value(c->st, c->id); }

IrType cc_grad_xtype(const CcGradCall *c, uint32_t k) {
    LLMC_ASSERT(k < c->node.n_operands);
    return c->b->g->nodes[c->node.operands[k]].type;
}

IrId cc_grad_full(CcGradCall *c, IrType t, double v) { return ir_build_const(c->b, t, &v, 1); }

/* --- the driver ------------------------------------------------------------------------ */

static IrId find_output(const IrGraph *g, const char *name) {
    for (uint32_t o = 0; o < g->n_outputs; o++)
        if (strcmp(ir_graph_str(g, g->outputs[o].name), name) == 0) return g->outputs[o].node;
    return IR_ID_NONE;
}

/* Which inputs are differentiated: params, plus opt->extra (each must name a float
 * input). diff[id] for input ids. */
static bool choose_inputs(const IrGraph *g, const CcGradOptions *opt, bool *diff, LlmcErr *err) {
    for (IrId id = 0; id < g->n_nodes; id++)
        if (g->nodes[id].op == IR_OP_INPUT && g->nodes[id].attrs.input.role == IR_ROLE_PARAM) diff[id] = true;
    for (uint32_t i = 0; i < opt->n_extra; i++) {
        const char *name = opt->extra[i];
        IrId id = name ? ir_graph_find_input(g, name) : IR_ID_NONE;
        if (id == IR_ID_NONE) {
            llmc_err_set(err, "autodiff: graph @%s has no input '%s' to differentiate", ir_graph_name(g),
                         name ? name : "(null)");
            return false;
        }
        if (!ir_dtype_is_float(g->nodes[id].type.dtype)) {
            char t[IR_TYPE_STR_MAX];
            llmc_err_set(err, "autodiff: input '%s' is %s; only float inputs can be differentiated", name,
                         ir_type_format(&g->nodes[id].type, t, sizeof t));
            return false;
        }
        diff[id] = true;
    }
    return true;
}

/* Active = reachable from a differentiated input and reaching the loss, both along
 * differentiable edges. */
static void mark_active(CcGradState *st, const bool *diff, IrId loss) {
    const IrGraph *g = st->g;
    bool *from = llmc_xcalloc(st->n_fwd, sizeof *from), *to = llmc_xcalloc(st->n_fwd, sizeof *to);
    for (IrId id = 0; id < st->n_fwd; id++) {
        const IrNode *n = &g->nodes[id];
        from[id] = diff[id];
        for (uint32_t k = 0; k < n->n_operands && !from[id]; k++)
            if (from[n->operands[k]] && edge_diff(g, n, k)) from[id] = true;
    }
    to[loss] = true;
    for (IrId id = loss + 1; id-- > 0;) {
        if (!to[id]) continue;
        const IrNode *n = &g->nodes[id];
        for (uint32_t k = 0; k < n->n_operands; k++)
            if (edge_diff(g, n, k)) to[n->operands[k]] = true;
    }
    for (IrId id = 0; id < st->n_fwd; id++) st->active[id] = from[id] && to[id];
    free(from);
    free(to);
}

static void state_free(CcGradState *st) {
    if (st->contribs)
        for (uint32_t i = 0; i < st->n_fwd; i++) free(st->contribs[i].v);
    free(st->contribs);
    free(st->active);
    free(st->grad_scope);
    free(st->remat_scope);
    free(st->layer);
    free(st->clone);
}

/* The dtype a node's gradient is held in: f32 for a bf16 value (mixed precision keeps
 * gradients and their sums in f32), the value's own dtype otherwise. */
static IrDtype grad_dtype(IrDtype dt) { return dt == IR_DTYPE_BF16 ? IR_DTYPE_F32 : dt; }

/* Rules that take an f32 gradient of a bf16 node as it is: reshape and permute move it,
 * broadcast sums it (in f32), cast gives it back in the operand's gradient dtype. Every
 * other rule of a bf16 node (elementwise, reductions, slice, concat, index ops: their
 * rules build values of the node's dtype) gets the gradient rounded to bf16 first. A
 * matmul is never a bf16 node: bf16 operands give f32 (cc_grad_matmul rounds its
 * incoming gradient to bf16 itself). */
static bool rule_takes_f32_grad(IrOp op) {
    return op == IR_OP_RESHAPE || op == IR_OP_PERMUTE || op == IR_OP_BROADCAST || op == IR_OP_CAST;
}

/* Runs node id's rule and records its contributions. false + err on failure. */
static bool run_rule(CcGradState *st, IrId id, IrId gy, bool *want, IrId *gx, LlmcErr *err) {
    IrNode n = st->g->nodes[id];
    if (n.type.dtype == IR_DTYPE_BF16 && !rule_takes_f32_grad(n.op)) gy = ir_build_cast(&st->b, gy, IR_DTYPE_BF16);
    bool any = false;
    for (uint32_t k = 0; k < n.n_operands; k++) {
        want[k] = edge_diff(st->g, &n, k) && st->active[n.operands[k]];
        gx[k] = IR_ID_NONE;
        any |= want[k];
    }
    if (!any) return true;
    st->cur_layer = st->layer ? st->layer[id] : -1;
    CcGradCall call = {.b = &st->b, .node = n, .id = id, .gy = gy, .want = want, .gx = gx, .err = err, .st = st};
    bool ok = grad_table[n.op](&call);
    st->cur_layer = -1;
    if (!ok) {
        if (!err->set) llmc_err_set(err, "autodiff: the gradient rule of %s failed", ir_op_name(n.op));
        return false;
    }
    if (!ir_builder_ok(&st->b)) {
        llmc_err_set(err, "autodiff: internal error in the gradient of %%%u (%s): %s", id, ir_op_name(n.op),
                     st->b.err.msg);
        return false;
    }
    for (uint32_t k = 0; k < n.n_operands; k++) {
        if (!want[k] || gx[k] == IR_ID_NONE) continue;
        IrType need = st->g->nodes[n.operands[k]].type;
        need.dtype = grad_dtype(need.dtype);
        if (st->g->nodes[gx[k]].type.dtype == IR_DTYPE_BF16 && need.dtype == IR_DTYPE_F32)
            gx[k] = ir_build_cast(&st->b, gx[k], IR_DTYPE_F32); /* a bf16 rule's result */
        const IrType *have = &st->g->nodes[gx[k]].type;
        if (!ir_type_equal(have, &need)) {
            char a[IR_TYPE_STR_MAX], b[IR_TYPE_STR_MAX];
            llmc_err_set(err, "autodiff: internal error: the gradient of %%%u (%s) for operand %u is %s, not %s", id,
                         ir_op_name(n.op), k, ir_type_format(have, a, sizeof a), ir_type_format(&need, b, sizeof b));
            return false;
        }
        contrib_add(&st->contribs[n.operands[k]], id, k, gx[k]);
    }
    return true;
}

IrGraph *cc_grad(const IrGraph *fwd, const CcGradOptions *opt_in, LlmcErr *err) {
    CcGradOptions defaults = {0};
    const CcGradOptions *opt = opt_in ? opt_in : &defaults;
    const char *loss_name = opt->loss ? opt->loss : "loss";
    IrId loss = find_output(fwd, loss_name);
    if (loss == IR_ID_NONE) {
        llmc_err_set(err, "autodiff: graph @%s has no output '%s' to differentiate", ir_graph_name(fwd), loss_name);
        return NULL;
    }
    const IrType *lt = &fwd->nodes[loss].type;
    if (lt->rank != 0 || !ir_dtype_is_float(lt->dtype)) {
        char t[IR_TYPE_STR_MAX];
        llmc_err_set(err, "autodiff: the loss '%s' must be a float scalar, got %s", loss_name,
                     ir_type_format(lt, t, sizeof t));
        return NULL;
    }

    CcGradState st;
    memset(&st, 0, sizeof st);
    st.g = ir_graph_clone(fwd);
    st.n_fwd = st.g->n_nodes;
    st.n_fwd_strings = st.g->strings.count;
    st.cur_layer = -1;
    ir_builder_init(&st.b, st.g);
    size_t nn = st.n_fwd ? st.n_fwd : 1;
    bool *diff = llmc_xcalloc(nn, sizeof *diff);
    st.active = llmc_xcalloc(nn, sizeof *st.active);
    st.contribs = llmc_xcalloc(nn, sizeof *st.contribs);
    st.grad_scope = llmc_xcalloc(st.n_fwd_strings, sizeof *st.grad_scope);
    st.remat_scope = llmc_xcalloc(st.n_fwd_strings, sizeof *st.remat_scope);
    IrId *input_grad = llmc_xmalloc(nn * sizeof *input_grad);
    for (IrId id = 0; id < st.n_fwd; id++) input_grad[id] = IR_ID_NONE;
    uint32_t max_operands = 1;
    for (IrId id = 0; id < st.n_fwd; id++)
        if (st.g->nodes[id].n_operands > max_operands) max_operands = st.g->nodes[id].n_operands;
    bool *want = llmc_xcalloc(max_operands, sizeof *want);
    IrId *gx = llmc_xcalloc(max_operands, sizeof *gx);
    bool ok = choose_inputs(st.g, opt, diff, err);

    if (ok && opt->remat_layers) {
        st.layer = llmc_xmalloc(nn * sizeof *st.layer);
        st.clone = llmc_xmalloc(nn * sizeof *st.clone);
        for (IrId id = 0; id < st.n_fwd; id++) {
            const IrNode *n = &st.g->nodes[id];
            bool source = n->op == IR_OP_INPUT || n->op == IR_OP_CONST; /* kept, never recomputed */
            st.layer[id] = source ? -1 : layer_of_scope(ir_graph_str(st.g, n->scope));
            st.clone[id] = IR_ID_NONE;
        }
    }

    if (ok) {
        mark_active(&st, diff, loss);
        for (IrId id = loss + 1; ok && id-- > 0;) {
            if (!st.active[id]) continue;
            const IrNode n = st.g->nodes[id];
            builder_for(&st, &n);
            IrId gy = id == loss ? ir_build_scalar(&st.b, grad_dtype(lt->dtype), 1.0) : contrib_sum(&st, id);
            if (gy == IR_ID_NONE) continue; /* every user's rule gave none */
            if (n.op == IR_OP_INPUT)
                input_grad[id] = gy;
            else
                ok = run_rule(&st, id, gy, want, gx, err);
        }
    }

    if (ok) {
        /* Outputs: one per differentiated input, in input order. */
        for (IrId id = 0; id < st.n_fwd; id++) {
            if (!diff[id]) continue;
            const IrNode n = st.g->nodes[id];
            IrId gid = input_grad[id];
            if (gid == IR_ID_NONE) {
                builder_for(&st, &n);
                double zero = 0.0;
                IrType gt = n.type;
                gt.dtype = grad_dtype(gt.dtype);
                gid = ir_build_const(&st.b, gt, &zero, 1);
            }
            LlmcBuf name = {0};
            llmc_buf_printf(&name, "%s%s", CC_GRAD_PREFIX, ir_graph_str(st.g, n.attrs.input.name));
            if (gid != IR_ID_NONE) ir_graph_add_output(st.g, name.data, gid);
            llmc_buf_free(&name);
        }
        if (!ir_builder_ok(&st.b)) {
            llmc_err_set(err, "autodiff: internal error: %s", st.b.err.msg);
            ok = false;
        }
    }
    if (ok) {
        LlmcDiags d = {0};
        if (!ir_verify(st.g, &d, NULL, NULL)) {
            llmc_err_set(err, "autodiff: internal error: the gradient graph does not verify: %s",
                         d.count ? d.items[0].msg : "(no message)");
            ok = false;
        }
        llmc_diags_free(&d);
    }

    free(diff);
    free(input_grad);
    free(want);
    free(gx);
    state_free(&st);
    if (!ok) {
        ir_graph_free(st.g);
        return NULL;
    }
    return st.g;
}

uint64_t cc_grad_activation_bytes(const IrGraph *g, uint32_t n_forward_nodes) {
    uint32_t nf = n_forward_nodes < g->n_nodes ? n_forward_nodes : g->n_nodes;
    bool *read = llmc_xcalloc(nf ? nf : 1, sizeof *read);
    for (IrId id = nf; id < g->n_nodes; id++) {
        const IrNode *n = &g->nodes[id];
        for (uint32_t k = 0; k < n->n_operands; k++)
            if (n->operands[k] < nf) read[n->operands[k]] = true;
    }
    uint64_t bytes = 0;
    for (IrId id = 0; id < nf; id++) {
        const IrNode *n = &g->nodes[id];
        /* Inputs and constants live anyway; only computed values are activations. */
        if (read[id] && n->op != IR_OP_INPUT && n->op != IR_OP_CONST) bytes += ir_type_bytes(&n->type);
    }
    free(read);
    return bytes;
}
