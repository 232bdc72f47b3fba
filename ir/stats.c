/* ir/stats.c — graph statistics: op histogram, FLOPs, parameter count, bytes.
 *
 * FLOPs count arithmetic, not memory traffic, as each op's `flops` column in ops.def
 * says (matmul 2*M*N*K per batch element, elementwise one per result element,
 * reductions one per input element, ...). It deliberately does not count
 * communication (the shard pass counts bytes) or estimate time. Byte counts are per
 * graph, one rank.
 */
#include "ir_int.h"

#include <string.h>

static uint64_t matmul_flops(const IrGraph *g, const IrNode *n) {
    const IrType *x = &g->nodes[n->operands[0]].type;
    int64_t k = x->dims[x->rank - (n->attrs.matmul.ta ? 2 : 1)];
    return 2ull * (uint64_t)ir_type_numel(&n->type) * (uint64_t)k;
}

/* The matmuls an attention op stands for (ops.def): per batch element R x S scores over d
 * features (q k^T) and R x e outputs over S keys (P v), and the backward's four. */
static uint64_t attention_flops(const IrGraph *g, const IrNode *n) {
    const IrType *q = &g->nodes[n->operands[0]].type, *k = &g->nodes[n->operands[1]].type;
    uint32_t r = q->rank;
    uint64_t rows = (uint64_t)ir_type_numel(q) / (uint64_t)q->dims[r - 1]; /* batches * R */
    uint64_t S = (uint64_t)k->dims[r - 2], d = (uint64_t)q->dims[r - 1];
    if (n->op == IR_OP_ATTENTION_LSE) return 2 * rows * S * d;
    uint64_t e = n->op == IR_OP_ATTENTION ? (uint64_t)n->type.dims[r - 1]
                                          : (uint64_t)g->nodes[n->operands[2]].type.dims[r - 1];
    if (n->op == IR_OP_ATTENTION) return 2 * rows * S * (d + e);
    switch (n->attrs.attention.wrt) { /* dq: dout v^T and dS k; dk: dS^T q; dv: P^T dout */
    case IR_ATTENTION_Q: return 2 * rows * S * (d + e);
    case IR_ATTENTION_K: return 2 * rows * S * d;
    case IR_ATTENTION_V: return 2 * rows * S * e;
    case IR_ATTENTION_WRT_INVALID:
    case IR_ATTENTION_WRT_COUNT: break;
    }
    return 0;
}

uint64_t ir_node_flops(const IrGraph *g, IrId id) {
    const IrNode *n = ir_graph_node(g, id);
    switch (ir_op_info(n->op)->flops) {
    case IR_FLOPS_OUT: return (uint64_t)ir_type_numel(&n->type);
    case IR_FLOPS_IN: return (uint64_t)ir_type_numel(&g->nodes[n->operands[0]].type);
    case IR_FLOPS_UPDATES: return (uint64_t)ir_type_numel(&g->nodes[n->operands[1]].type);
    case IR_FLOPS_MATMUL: return matmul_flops(g, n);
    case IR_FLOPS_ATTENTION: return attention_flops(g, n);
    case IR_FLOPS_NONE:
    case IR_FLOPS_INVALID:
    case IR_FLOPS_COUNT: return 0;
    }
    return 0;
}

void ir_graph_stats(const IrGraph *g, IrStats *s) {
    memset(s, 0, sizeof *s);
    s->n_nodes = g->n_nodes;
    for (IrId id = 0; id < g->n_nodes; id++) {
        const IrNode *n = &g->nodes[id];
        uint64_t bytes = ir_type_bytes(&n->type);
        s->op_count[n->op]++;
        s->flops += (double)ir_node_flops(g, id);
        if (n->op == IR_OP_INPUT) {
            switch (n->attrs.input.role) {
            case IR_ROLE_PARAM:
                s->n_params += (uint64_t)ir_type_numel(&n->type);
                s->bytes_params += bytes;
                break;
            case IR_ROLE_STATE: s->bytes_state += bytes; break;
            case IR_ROLE_DATA: s->bytes_data += bytes; break;
            case IR_ROLE_INVALID:
            case IR_ROLE_COUNT: break;
            }
        } else if (n->op == IR_OP_CONST) {
            s->bytes_consts += n->attrs.constant.value.count * ir_dtype_size(n->type.dtype);
        } else {
            s->bytes_intermediates += bytes;
        }
    }
}
