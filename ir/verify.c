/* ir/verify.c — the verifier: is this graph well formed?
 *
 * Checks SSA order and dangling ids, arity, attribute ranges and types (by re-running
 * the op's shape rule and comparing with the declared type), bf16 where no op defines
 * it yet (bf16_unsupported), input roles, duplicate input and output names, that the
 * graph computes something, and the ranges of its training-config record
 * (ir_train_check).
 * Every message names the node (%id, op, scope) and the reason; all problems are
 * reported, not just the first. It deliberately never changes the graph, never aborts on
 * a bad one, and does not re-derive types itself: the op's shape rule is the one truth.
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
    const IrTextPos *train_pos; /* the record's `train` line in src, or NULL */
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

/* bf16 is a full dtype for elementwise ops (cast included), reductions, movement,
 * matmul, index ops, const and input: each computes in double and the interpreter
 * rounds the result to bf16 once. The families below have no bf16 definition yet, so a
 * bf16 result or operand there is refused rather than given one by accident. NULL when
 * the node is fine. */
static const char *bf16_unsupported(const IrGraph *g, const IrNode *n) {
    bool bf16 = n->type.dtype == IR_DTYPE_BF16;
    for (uint32_t i = 0; i < n->n_operands; i++) bf16 |= g->nodes[n->operands[i]].type.dtype == IR_DTYPE_BF16;
    if (!bf16) return NULL;
    switch (ir_op_info(n->op)->kind) {
    case IR_KIND_RANDOM:
        return "rand in bf16 is not supported yet (a uniform draw would round up to 1): draw f32 and cast";
    case IR_KIND_COLLECTIVE:
        return "bf16 collectives are not supported yet (the exchange is f32, f64 or i32): cast to f32";
    case IR_KIND_ATTENTION:
        return "bf16 attention is not supported yet (its softmax stays f32): cast q, k, v to f32";
    case IR_KIND_EXTERN: return "bf16 extern calls are not supported yet: cast the operands and result to f32";
    case IR_KIND_SOURCE:
    case IR_KIND_ELEMENTWISE:
    case IR_KIND_REDUCE:
    case IR_KIND_MOVEMENT:
    case IR_KIND_CONTRACTION:
    case IR_KIND_INDEX: return NULL;
    case IR_KIND_INVALID:
    case IR_KIND_COUNT: break;
    }
    return NULL;
}

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
    const char *no_bf16 = bf16_unsupported(v->g, n);
    if (no_bf16) {
        node_error(v, id, "%s", no_bf16);
        return false;
    }
    if (n->op == IR_OP_INPUT && (n->attrs.input.role <= IR_ROLE_INVALID || n->attrs.input.role >= IR_ROLE_COUNT)) {
        node_error(v, id, "input role must be param, state or data");
        return false;
    }
    LlmcErr err = {0};
    IrType want;
    if (!ir_infer_type(v->g, n, &want, &err)) {
        /* Shape rules start their messages with the op name, which node_error has
         * already said. */
        const char *msg = err.msg;
        size_t len = strlen(ir_op_name(n->op));
        if (strncmp(msg, ir_op_name(n->op), len) == 0 && msg[len] == ':' && msg[len + 1] == ' ') msg += len + 2;
        node_error(v, id, "%s", msg);
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

/* Names are interned, so "seen before?" is an array indexed by string id: linear in
 * the graph size even with hundreds of thousands of inputs. */
static void verify_names(Verifier *v) {
    const IrGraph *g = v->g;
    IrId *first_input = llmc_xmalloc((g->strings.count + 1) * sizeof *first_input);
    bool *output_seen = llmc_xcalloc(g->strings.count + 1, sizeof *output_seen);
    for (uint32_t i = 0; i <= g->strings.count; i++) first_input[i] = IR_ID_NONE;
    for (IrId i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].op != IR_OP_INPUT) continue;
        uint32_t name = g->nodes[i].attrs.input.name;
        if (name >= g->strings.count) continue; /* reported as a broken node */
        if (first_input[name] != IR_ID_NONE)
            node_error(v, i, "duplicate input name \"%s\" (first defined by %%%u)", ir_graph_str(g, name),
                       first_input[name]);
        else
            first_input[name] = i;
    }
    for (uint32_t o = 0; o < g->n_outputs; o++) {
        const IrOutput *out = &g->outputs[o];
        if (out->name == 0 || out->name >= g->strings.count) {
            graph_error(v, "output %u has no name", o);
            continue;
        }
        if (out->node >= g->n_nodes)
            graph_error(v, "output \"%s\" refers to %%%u, which does not exist", ir_graph_str(g, out->name), out->node);
        if (output_seen[out->name]) graph_error(v, "duplicate output name \"%s\"", ir_graph_str(g, out->name));
        output_seen[out->name] = true;
    }
    free(first_input);
    free(output_seen);
}

/* The record's range errors point at its `train` line when the text gives one. */
static void verify_train(Verifier *v) {
    const IrGraph *g = v->g;
    if (!g->train.present) return;
    LlmcErr err = {0};
    if (g->train.model >= g->strings.count) {
        llmc_err_set(&err, "train record names a model string that does not exist");
    } else if (ir_train_check(&g->train, &err)) {
        return;
    }
    if (v->train_pos) {
        llmc_diag_at(v->diags, LLMC_SEV_ERROR, v->src, v->train_pos->line, v->train_pos->col, "graph @%s: %s",
                     ir_graph_name(g), err.msg);
        v->ok = false;
    } else {
        graph_error(v, "%s", err.msg);
    }
}

bool ir_verify_text(const IrGraph *g, LlmcDiags *diags, const LlmcSource *src, const IrTextPos *pos,
                    const IrTextPos *train_pos) {
    Verifier v = {g, llmc_xcalloc(g->n_nodes + 1, sizeof(bool)), diags, src, pos, train_pos, true};
    for (IrId id = 0; id < g->n_nodes; id++) v.broken[id] = !verify_node(&v, id);
    free(v.broken);
    verify_names(&v);
    if (g->n_outputs == 0) graph_error(&v, "has no outputs, so it computes nothing");
    verify_train(&v);
    return v.ok;
}

bool ir_verify(const IrGraph *g, LlmcDiags *diags, const LlmcSource *src, const IrTextPos *pos) {
    return ir_verify_text(g, diags, src, pos, NULL);
}
