/* ir/verify.c — the verifier: is this graph well formed?
 *
 * Checks SSA order and dangling ids, arity, attribute ranges and types (by re-running
 * the op's shape rule and comparing with the declared type), reserved dtypes, input
 * roles, duplicate input and output names, and that the graph computes something.
 * Every message names the node (%id, op, scope) and the reason; all problems are
 * reported, not just the first. It never changes the graph and never aborts on a bad one.
 */
#include "ir_int.h"

#include <stdlib.h>
#include <string.h>

typedef struct Verifier {
    const IrGraph *g;
    bool *broken; /* [n_nodes]: node failed, so its users are not judged by its type */
    LlmcDiags *diags;
    const LlmcSource *src;
    const IrTextPos *pos;
    bool ok;
} Verifier;

static void node_error(Verifier *v, IrId id, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Reports at the node's .llir position when known, else at its .llm provenance. */
static void node_error(Verifier *v, IrId id, const char *fmt, ...) {
    const IrNode *n = &v->g->nodes[id];
    LlmcBuf msg = {0};
    llmc_buf_printf(&msg, "%%%u (%s", id, ir_op_name(n->op));
    if (n->scope && n->scope < v->g->strings.count) llmc_buf_printf(&msg, ", scope %s", ir_graph_str(v->g, n->scope));
    llmc_buf_puts(&msg, "): ");
    va_list ap;
    va_start(ap, fmt);
    llmc_buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    if (v->pos) {
        llmc_diag_at(v->diags, LLMC_SEV_ERROR, v->src, v->pos[id].line, v->pos[id].col, "%s", msg.data);
    } else if (n->loc.file && n->loc.file < v->g->strings.count) {
        LlmcSource where = {ir_graph_str(v->g, n->loc.file), NULL, 0};
        llmc_diag_at(v->diags, LLMC_SEV_ERROR, &where, n->loc.line, n->loc.col, "%s", msg.data);
    } else {
        llmc_diag_at(v->diags, LLMC_SEV_ERROR, v->src, 0, 0, "graph @%s: %s", ir_graph_name(v->g), msg.data);
    }
    llmc_buf_free(&msg);
    v->ok = false;
}

static void graph_error(Verifier *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void graph_error(Verifier *v, const char *fmt, ...) {
    LlmcBuf msg = {0};
    va_list ap;
    va_start(ap, fmt);
    llmc_buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    llmc_diag_at(v->diags, LLMC_SEV_ERROR, v->src, 0, 0, "graph @%s: %s", ir_graph_name(v->g), msg.data);
    llmc_buf_free(&msg);
    v->ok = false;
}

/* Structure first: without valid operand ids nothing else can be checked. */
static bool verify_operands(Verifier *v, IrId id) {
    const IrNode *n = &v->g->nodes[id];
    bool ok = true;
    for (uint32_t i = 0; i < n->n_operands; i++) {
        IrId o = n->operands[i];
        if (o >= v->g->n_nodes) {
            node_error(v, id, "operand %u refers to %%%u, which does not exist", i, o);
            ok = false;
        } else if (o >= id) {
            node_error(v, id, "operand %u uses %%%u before its definition (SSA order)", i, o);
            ok = false;
        }
    }
    return ok;
}

static bool has_reserved_dtype(const IrType *t) { return t->dtype == IR_DTYPE_BF16; }

/* Returns false when the node is broken. A node whose operand is broken is skipped
 * silently: its type would be judged from garbage, and the root cause is reported. */
static bool verify_node(Verifier *v, IrId id) {
    const IrNode *n = &v->g->nodes[id];
    if (n->op <= IR_OP_INVALID || n->op >= IR_OP_COUNT) {
        node_error(v, id, "invalid op code %d", (int)n->op);
        return false;
    }
    if (n->scope >= v->g->strings.count || n->loc.file >= v->g->strings.count) {
        node_error(v, id, "scope or location refers to a string that does not exist");
        return false;
    }
    if (!verify_operands(v, id)) return false;
    for (uint32_t i = 0; i < n->n_operands; i++)
        if (v->broken[n->operands[i]]) return false;
    if (has_reserved_dtype(&n->type)) {
        node_error(v, id, "dtype bf16 is reserved and not supported yet");
        return false;
    }
    if (n->op == IR_OP_INPUT && (n->attrs.input.role <= IR_ROLE_INVALID || n->attrs.input.role >= IR_ROLE_COUNT)) {
        node_error(v, id, "input role must be param, state or data");
        return false;
    }
    LlmcErr err = {0};
    IrType want;
    if (!ir_infer_type(v->g, n, &want, &err)) {
        node_error(v, id, "%s", err.msg);
        return false;
    }
    if (!ir_type_equal(&want, &n->type)) {
        char a[IR_TYPE_STR_MAX], b[IR_TYPE_STR_MAX];
        node_error(v, id, "declared type %s, but the operands and attributes give %s",
                   ir_type_format(&n->type, a, sizeof a), ir_type_format(&want, b, sizeof b));
        return false;
    }
    return true;
}

static void verify_names(Verifier *v) {
    const IrGraph *g = v->g;
    /* Quadratic is fine: graphs have at most a few thousand inputs and outputs. */
    for (IrId i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].op != IR_OP_INPUT) continue;
        for (IrId j = 0; j < i; j++)
            if (g->nodes[j].op == IR_OP_INPUT && g->nodes[j].attrs.input.name == g->nodes[i].attrs.input.name) {
                node_error(v, i, "duplicate input name \"%s\" (first defined by %%%u)",
                           ir_graph_str(g, g->nodes[i].attrs.input.name), j);
                break;
            }
    }
    for (uint32_t o = 0; o < g->n_outputs; o++) {
        const IrOutput *out = &g->outputs[o];
        if (out->name == 0 || out->name >= g->strings.count) {
            graph_error(v, "output %u has no name", o);
            continue;
        }
        if (out->node >= g->n_nodes) graph_error(v, "output \"%s\" refers to %%%u, which does not exist",
                                                 ir_graph_str(g, out->name), out->node);
        for (uint32_t p = 0; p < o; p++)
            if (g->outputs[p].name == out->name) {
                graph_error(v, "duplicate output name \"%s\"", ir_graph_str(g, out->name));
                break;
            }
    }
}

bool ir_verify(const IrGraph *g, LlmcDiags *diags, const LlmcSource *src, const IrTextPos *pos) {
    Verifier v = {g, llmc_xcalloc(g->n_nodes + 1, sizeof(bool)), diags, src, pos, true};
    for (IrId id = 0; id < g->n_nodes; id++) v.broken[id] = !verify_node(&v, id);
    free(v.broken);
    verify_names(&v);
    if (g->n_outputs == 0) graph_error(&v, "has no outputs, so it computes nothing");
    return v.ok;
}
