/* ir/stats.c — graph statistics: op histogram, FLOPs, parameter count, bytes.
 *
 * FLOPs count arithmetic, not memory traffic: matmul 2*M*N*K per batch element,
 * elementwise ops one per output element, reductions and cumsum one per input element,
 * rand and scatter_add one per element they write; sources, movement and the rest of
 * indexing are free. Collectives count no FLOPs here (communication is counted in bytes
 * by the shard pass later). Byte counts are per graph, one rank.
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
    uint64_t out = (uint64_t)ir_type_numel(&n->type);
    switch (ir_op_info(n->op)->kind) {
    case IR_KIND_ELEMENTWISE: return n->op == IR_OP_CAST ? 0 : out;
    case IR_KIND_REDUCE: return (uint64_t)ir_type_numel(&g->nodes[n->operands[0]].type);
    case IR_KIND_CONTRACTION: return matmul_flops(g, n);
    case IR_KIND_INDEX:
        if (n->op == IR_OP_CUMSUM) return out;
        if (n->op == IR_OP_SCATTER_ADD) return (uint64_t)ir_type_numel(&g->nodes[n->operands[1]].type);
        return 0;
    case IR_KIND_RANDOM: return out;
    case IR_KIND_SOURCE:
    case IR_KIND_MOVEMENT:
    case IR_KIND_EXTERN:
    case IR_KIND_COLLECTIVE:
    case IR_KIND_INVALID:
    case IR_KIND_COUNT: return 0;
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
