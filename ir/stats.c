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

uint64_t ir_node_flops(const IrGraph *g, IrId id) {
    const IrNode *n = ir_graph_node(g, id);
    switch (ir_op_info(n->op)->flops) {
    case IR_FLOPS_OUT: return (uint64_t)ir_type_numel(&n->type);
    case IR_FLOPS_IN: return (uint64_t)ir_type_numel(&g->nodes[n->operands[0]].type);
    case IR_FLOPS_UPDATES: return (uint64_t)ir_type_numel(&g->nodes[n->operands[1]].type);
    case IR_FLOPS_MATMUL: return matmul_flops(g, n);
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
