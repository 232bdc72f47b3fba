/* ir/interp.c — the reference interpreter's driver: runs a graph node by node on every
 * simulated rank, rounds each result to its node's dtype, frees values after their last
 * use, and turns an op's failure into a message naming the node. Also the three ops the
 * driver feeds directly: input, const and extern_call.
 *
 * Execution order: nodes in id order (the graph is topological); for each node every
 * rank r = 0..ranks-1 before the next node, so a collective on rank r sees operand 0 of
 * every rank (IrInterpCall.peers). Values are doubles whatever the dtype (IrValue):
 *   f32 node, IR_PRECISION_F32: every element rounded to float after the op;
 *   f32 node, IR_PRECISION_F64: not rounded (the f64 oracle);
 *   f64 node: never rounded;
 *   bf16 node, either precision: every element rounded to bf16 after the op, once and
 *             directly from the double (ir_round_bf16: nearest, ties to even, bf16's
 *             subnormals, |x| >= 0x1.ffp127 to +-inf, NaN and +-0 kept; never through
 *             float, which would round twice). bf16 is a storage dtype, not a precision
 *             knob: IR_PRECISION_F64 does not widen it. An op reading bf16 operands
 *             computes in double like any other, so a bf16 add, matmul or reduce_sum
 *             is the exact result of the bf16 inputs rounded once;
 *   i32 node: the op produced exact int32 values (checked; a hook or an input that
 *             breaks this is an error naming the node); -0 becomes +0.
 * Same inputs, same bits: nothing here depends on time, addresses or global state.
 * On failure `outputs` is left untouched (nothing to free); on success the caller owns
 * deep copies.
 *
 * What it deliberately does not do: be fast (naive loops, doubles everywhere), cache
 * anything between runs, or trust the graph blindly — it re-runs shape inference on every
 * node first, so an unverified graph is an error rather than an out-of-bounds read. It
 * does not judge a graph beyond that; ir_verify does.
 */
#include "ir_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The dispatch table: expanding ops.def makes a missing ir_interp_<mnemonic> a link
 * error, never a silent hole. */
static const IrInterpFn interp_table[IR_OP_COUNT] = {
#define IR_OP(ENUM, mn, arity, kind, traits, attrs, shape, flops) [IR_OP_##ENUM] = ir_interp_##mn,
#include "ops.def"
#undef IR_OP
};

/* --- values and shared helpers ------------------------------------------------------- */

void ir_value_alloc(IrValue *v, IrType type) {
    int64_t n = ir_type_numel(&type);
    LLMC_ASSERT(n >= 1);
    v->type = type;
    v->data = llmc_xcalloc((size_t)n, sizeof *v->data);
}

void ir_value_free(IrValue *v) {
    if (!v) return;
    free(v->data);
    v->data = NULL; /* idempotent: a value freed twice is freed once */
}

int64_t ir_interp_wrap_i32(int64_t v) {
    /* int64 -> uint64 conversion is defined modulo 2^64; keep the low 32 bits and
     * reinterpret them as two's complement without an implementation-defined cast. */
    uint32_t u = (uint32_t)((uint64_t)v & 0xffffffffu);
    return u >= 0x80000000u ? (int64_t)u - ((int64_t)1 << 32) : (int64_t)u;
}

double ir_interp_accum(IrDtype dt, double a, double b) {
    if (dt == IR_DTYPE_I32) return (double)ir_interp_wrap_i32((int64_t)a + (int64_t)b);
    return a + b;
}

void ir_type_unravel(const IrType *t, int64_t index, int64_t *coords) {
    for (uint32_t i = t->rank; i-- > 0;) {
        coords[i] = index % t->dims[i];
        index /= t->dims[i];
    }
}

/* --- ops the driver feeds ------------------------------------------------------------ */

/* out = the caller's value for this input on this rank (passed by the driver as args[0]). */
bool ir_interp_input(const IrInterpCall *c) {
    const IrValue *v = c->args[0];
    LLMC_ASSERT(ir_type_equal(&v->type, &c->out->type));
    memcpy(c->out->data, v->data, (size_t)ir_type_numel(&v->type) * sizeof *v->data);
    return true;
}

/* out[i] = value[i], or value[0] everywhere for a splat. */
bool ir_interp_const(const IrInterpCall *c) {
    int64_t n = ir_type_numel(&c->out->type);
    for (int64_t i = 0; i < n; i++) c->out->data[i] = ir_const_get(c->node, (uint64_t)i);
    return true;
}

/* out = symbol(args...) through opt->extern_hook. The hook gets deep copies of the
 * arguments, so a misbehaving hook cannot corrupt values other nodes still read; it
 * writes into out->data (allocated, zeroed, of the node's type) and must not replace it. */
bool ir_interp_extern_call(const IrInterpCall *c) {
    const char *symbol = ir_graph_str(c->g, c->node->attrs.extern_call.symbol);
    if (!c->opt->extern_hook) {
        llmc_err_set(c->err, "no extern hook is installed to call '%s'", symbol);
        return false;
    }
    uint32_t n = c->node->n_operands;
    IrValue *args = llmc_xcalloc(n ? n : 1, sizeof *args);
    for (uint32_t i = 0; i < n; i++) {
        ir_value_alloc(&args[i], c->args[i]->type);
        memcpy(args[i].data, c->args[i]->data, (size_t)ir_type_numel(&args[i].type) * sizeof(double));
    }
    double *data = c->out->data;
    LlmcErr e = {0};
    bool ok = c->opt->extern_hook(c->opt->extern_ctx, symbol, args, n, c->out, &e);
    for (uint32_t i = 0; i < n; i++) ir_value_free(&args[i]);
    free(args);
    if (!ok) {
        llmc_err_set(c->err, "extern '%s' failed: %s", symbol, e.set ? e.msg : "(the hook gave no reason)");
        return false;
    }
    if (c->out->data != data || !ir_type_equal(&c->out->type, &c->node->type)) {
        /* We cannot know how a replaced buffer was allocated; leak rather than free it. */
        c->out->data = data;
        c->out->type = c->node->type;
        llmc_err_set(c->err, "extern '%s': the hook replaced its result buffer or type", symbol);
        return false;
    }
    return true;
}

/* --- the driver ---------------------------------------------------------------------- */

/* "%12 (gather, scope layers.0.embed, rank 1): <msg>"; scope and rank only when known
 * and meaningful. */
static void node_err(LlmcErr *err, const IrGraph *g, IrId id, uint32_t rank, uint32_t ranks, const char *msg) {
    const IrNode *n = &g->nodes[id];
    char where[320];
    size_t used = (size_t)snprintf(where, sizeof where, "%%%u (%s", id, ir_op_name(n->op));
    if (n->scope && n->scope < g->strings.count && used < sizeof where)
        used += (size_t)snprintf(where + used, sizeof where - used, ", scope %s", ir_graph_str(g, n->scope));
    if (ranks > 1 && used < sizeof where) snprintf(where + used, sizeof where - used, ", rank %u", rank);
    llmc_err_set(err, "%s): %s", where, msg);
}

/* The interpreter re-checks what it relies on, so a graph that skipped ir_verify fails
 * with a message instead of reading out of bounds. */
static bool check_node(const IrGraph *g, IrId id, LlmcErr *err) {
    const IrNode *n = &g->nodes[id];
    char msg[sizeof err->msg + 64];
    if (n->op <= IR_OP_INVALID || n->op >= IR_OP_COUNT) {
        snprintf(msg, sizeof msg, "invalid op %d", (int)n->op);
        node_err(err, g, id, 0, 1, msg);
        return false;
    }
    for (uint32_t i = 0; i < n->n_operands; i++)
        if (n->operands[i] >= id) {
            snprintf(msg, sizeof msg, "operand %u (%%%u) is not an earlier node; the graph is not in SSA order", i,
                     n->operands[i]);
            node_err(err, g, id, 0, 1, msg);
            return false;
        }
    LlmcErr e = {0};
    IrType t;
    if (!ir_infer_type(g, n, &t, &e)) {
        snprintf(msg, sizeof msg, "ill-typed node (run ir_verify): %s", e.msg);
        node_err(err, g, id, 0, 1, msg);
        return false;
    }
    if (!ir_type_equal(&t, &n->type)) {
        char a[IR_TYPE_STR_MAX], b[IR_TYPE_STR_MAX];
        snprintf(msg, sizeof msg, "node type %s differs from the inferred %s (run ir_verify)",
                 ir_type_format(&n->type, a, sizeof a), ir_type_format(&t, b, sizeof b));
        node_err(err, g, id, 0, 1, msg);
        return false;
    }
    return true;
}

/* Rounds a finished result to its node's dtype (see the banner). */
static bool round_result(const IrNode *n, IrPrecision precision, IrValue *v, char *msg, size_t msg_n) {
    int64_t count = ir_type_numel(&v->type);
    switch (n->type.dtype) {
    case IR_DTYPE_F32:
        if (precision == IR_PRECISION_F32)
            for (int64_t i = 0; i < count; i++) v->data[i] = (double)(float)v->data[i];
        return true;
    case IR_DTYPE_F64: return true;
    case IR_DTYPE_I32:
        for (int64_t i = 0; i < count; i++) {
            double x = v->data[i];
            if (!(x >= -2147483648.0 && x <= 2147483647.0) || x != floor(x)) {
                snprintf(msg, msg_n, "element %lld is %.17g, not an int32 value", (long long)i, x);
                return false;
            }
            if (x == 0) v->data[i] = 0.0; /* an int has one zero: -0 (e.g. trunc(-0.5)) is +0 */
        }
        return true;
    case IR_DTYPE_BF16:
        for (int64_t i = 0; i < count; i++) v->data[i] = ir_round_bf16(v->data[i]);
        return true;
    case IR_DTYPE_INVALID:
    case IR_DTYPE_COUNT: break;
    }
    snprintf(msg, msg_n, "unsupported dtype %s", ir_dtype_name(n->type.dtype));
    return false;
}

bool ir_interp_run(const IrGraph *g, const IrInterpOptions *opt_in, const IrValue *inputs, IrValue *outputs,
                   LlmcErr *err) {
    IrInterpOptions defaults = {.precision = IR_PRECISION_F32, .ranks = 1};
    const IrInterpOptions *opt = opt_in ? opt_in : &defaults; /* NULL: f32, one rank, no hook */
    const uint32_t R = opt->ranks;
    if (opt->precision != IR_PRECISION_F32 && opt->precision != IR_PRECISION_F64) {
        llmc_err_set(err, "interpreter: invalid precision %d", (int)opt->precision);
        return false;
    }
    if (R < 1 || R > 65536) {
        llmc_err_set(err, "interpreter: %u simulated ranks is out of range [1, 65536]", R);
        return false;
    }
    for (uint32_t o = 0; o < g->n_outputs; o++) {
        if (g->outputs[o].node >= g->n_nodes) {
            llmc_err_set(err, "interpreter: output %s refers to %%%u, which does not exist",
                         ir_graph_str(g, g->outputs[o].name), g->outputs[o].node);
            return false;
        }
    }
    for (IrId id = 0; id < g->n_nodes; id++)
        if (!check_node(g, id, err)) return false;

    /* Inputs: position of each input node among the graph's inputs, and type checks. */
    const uint32_t n_inputs = ir_graph_inputs(g, NULL);
    if ((n_inputs && !inputs) || (g->n_outputs && !outputs)) {
        llmc_err_set(err, "interpreter: graph %s has %u inputs and %u outputs but no %s array was given",
                     ir_graph_name(g), n_inputs, g->n_outputs, n_inputs && !inputs ? "input" : "output");
        return false;
    }
    uint32_t *input_pos = llmc_xcalloc(g->n_nodes ? g->n_nodes : 1, sizeof *input_pos);
    for (IrId id = 0, k = 0; id < g->n_nodes; id++)
        if (g->nodes[id].op == IR_OP_INPUT) input_pos[id] = k++;
    for (IrId id = 0; id < g->n_nodes; id++) {
        if (g->nodes[id].op != IR_OP_INPUT) continue;
        for (uint32_t r = 0; r < R; r++) {
            const IrValue *v = &inputs[(size_t)r * n_inputs + input_pos[id]];
            char msg[400], a[IR_TYPE_STR_MAX], b[IR_TYPE_STR_MAX];
            const char *name = ir_graph_str(g, g->nodes[id].attrs.input.name);
            if (!ir_type_equal(&v->type, &g->nodes[id].type)) {
                snprintf(msg, sizeof msg, "input '%s' was given as %s but the graph expects %s", name,
                         ir_type_format(&v->type, a, sizeof a), ir_type_format(&g->nodes[id].type, b, sizeof b));
            } else if (!v->data) {
                snprintf(msg, sizeof msg, "input '%s' was given without data", name);
            } else {
                continue;
            }
            node_err(err, g, id, r, R, msg);
            free(input_pos);
            return false;
        }
    }

    /* last_use[id]: the last node reading id; its value is freed once that node ran on
     * every rank. Outputs live to the end; unused nodes die right after they run (they
     * still run: an error in dead code is still an error). */
    uint32_t *last_use = llmc_xcalloc(g->n_nodes ? g->n_nodes : 1, sizeof *last_use);
    uint32_t max_operands = 1;
    for (IrId id = 0; id < g->n_nodes; id++) {
        const IrNode *n = &g->nodes[id];
        last_use[id] = id;
        for (uint32_t i = 0; i < n->n_operands; i++) last_use[n->operands[i]] = id;
        if (n->n_operands > max_operands) max_operands = n->n_operands;
    }
    for (uint32_t o = 0; o < g->n_outputs; o++) last_use[g->outputs[o].node] = UINT32_MAX;

    IrValue *vals = llmc_xcalloc((size_t)R * (g->n_nodes ? g->n_nodes : 1), sizeof *vals); /* [R][n_nodes] */
    const IrValue **args = llmc_xcalloc(max_operands, sizeof *args);
    const IrValue **peers = llmc_xcalloc(R, sizeof *peers);
    bool ok = true;

    for (IrId id = 0; ok && id < g->n_nodes; id++) {
        const IrNode *n = &g->nodes[id];
        bool collective = ir_op_info(n->op)->kind == IR_KIND_COLLECTIVE;
        for (uint32_t r = 0; ok && r < R; r++) {
            IrValue *vr = &vals[(size_t)r * g->n_nodes];
            if (n->op == IR_OP_INPUT)
                args[0] = &inputs[(size_t)r * n_inputs + input_pos[id]];
            for (uint32_t i = 0; i < n->n_operands; i++) args[i] = &vr[n->operands[i]];
            if (collective)
                for (uint32_t p = 0; p < R; p++) peers[p] = &vals[(size_t)p * g->n_nodes + n->operands[0]];
            IrValue *out = &vr[id];
            ir_value_alloc(out, n->type);
            LlmcErr op_err = {0};
            IrInterpCall call = {
                .g = g,
                .node = n,
                .id = id,
                .precision = opt->precision,
                .rank = r,
                .ranks = R,
                .args = args,
                .peers = collective ? peers : NULL,
                .out = out,
                .opt = opt,
                .err = &op_err,
            };
            char msg[512];
            if (!interp_table[n->op](&call)) {
                node_err(err, g, id, r, R, op_err.set ? op_err.msg : "failed without a message");
                ok = false;
            } else if (!round_result(n, opt->precision, out, msg, sizeof msg)) {
                node_err(err, g, id, r, R, msg);
                ok = false;
            }
        }
        if (!ok) break;
        /* Free what no later node reads, on every rank at once: a collective needed
         * all ranks' operands until its last rank ran. */
        for (uint32_t i = 0; i < n->n_operands; i++)
            if (last_use[n->operands[i]] == id)
                for (uint32_t r = 0; r < R; r++) ir_value_free(&vals[(size_t)r * g->n_nodes + n->operands[i]]);
        if (last_use[id] == id)
            for (uint32_t r = 0; r < R; r++) ir_value_free(&vals[(size_t)r * g->n_nodes + id]);
    }

    if (ok) {
        for (uint32_t r = 0; r < R; r++)
            for (uint32_t o = 0; o < g->n_outputs; o++) {
                const IrValue *src = &vals[(size_t)r * g->n_nodes + g->outputs[o].node];
                IrValue *dst = &outputs[(size_t)r * g->n_outputs + o];
                ir_value_alloc(dst, src->type);
                memcpy(dst->data, src->data, (size_t)ir_type_numel(&src->type) * sizeof *dst->data);
            }
    }
    for (size_t i = 0; i < (size_t)R * g->n_nodes; i++) ir_value_free(&vals[i]);
    free(vals);
    free(args);
    free(peers);
    free(last_use);
    free(input_pos);
    return ok;
}
