/* compiler/flops.c — the model FLOPs that MFU counts, read off the step's IR.
 *
 * Useful work is the matmuls of @micro: forward and backward, attention's QK^T and PV
 * included, at 2·M·N·K per batch element (ir_node_flops). A fused attention op counts as
 * the matmuls it stands for (ir_node_flops again): `attention` as QK^T and PV,
 * `attention_grad` as its share of the backward's four (dq: dout v^T and dS k; dk: dS^T q;
 * dv: P^T dout), so a fused step credits exactly what the composite one does. Its
 * `attention_lse` counts in micro_matmul (its op's QK^T) but is not useful: it runs in the
 * forward's kernel as a by-product (fuse.c rule 7). The scores the backward kernels
 * recompute are not counted at all, like any recomputation. Elementwise work, reductions
 * and the optimizer are reported apart and not credited, as PaLM's MFU does not credit
 * them. A MoE layer's experts are batched matmuls over capacity slots: the rank-3
 * matmuls of the layer's scope whose leading axis is the expert axis. Only the slots the
 * router fills are useful — tokens × top_k of experts × capacity, the first read off the
 * scope's topk node ([tokens, k]), the second off the scope's first expert matmul
 * ([experts, capacity, .]) — so every expert matmul of the scope, forward or backward,
 * is scaled by that ratio. Deliberately not here: timing (runtime/peak.c, llmrun's
 * profile) and recomputation, which the step does not do (a remat graph would need its
 * duplicated forward matmuls subtracted).
 */
#include "compiler_int.h"

#include <string.h>

/* The MoE scope of node id: its routed slots over its capacity slots, and its expert
 * count; false when its scope has no topk (not a MoE layer). */
static bool moe_ratio(const IrGraph *g, uint32_t scope, double *ratio, int64_t *experts) {
    if (!scope) return false;
    int64_t routed = -1;
    for (IrId i = 0; i < g->n_nodes && routed < 0; i++) {
        const IrNode *n = ir_graph_node(g, i);
        if (n->scope == scope && n->op == IR_OP_TOPK) routed = ir_type_numel(&n->type);
    }
    if (routed < 0) return false;
    for (IrId i = 0; i < g->n_nodes; i++) {
        const IrNode *n = ir_graph_node(g, i);
        if (n->scope != scope || n->op != IR_OP_MATMUL || n->type.rank != 3) continue;
        int64_t slots = n->type.dims[0] * n->type.dims[1];
        *experts = n->type.dims[0];
        *ratio = slots > 0 && routed < slots ? (double)routed / (double)slots : 1.0;
        return true;
    }
    return false;
}

/* Is n matmul work: a matmul or a fused attention op (see the banner)? */
static bool is_matmul_work(const IrNode *n) {
    return n->op == IR_OP_MATMUL || ir_op_info(n->op)->kind == IR_KIND_ATTENTION;
}

/* Is n's matmul work useful: everything but attention_lse's recomputation? */
static bool is_useful_work(const IrNode *n) { return is_matmul_work(n) && n->op != IR_OP_ATTENTION_LSE; }

double cc_node_useful_flops(const IrGraph *g, IrId id) {
    const IrNode *n = ir_graph_node(g, id);
    if (!is_useful_work(n)) return 0;
    double flops = (double)ir_node_flops(g, id);
    if (n->op != IR_OP_MATMUL) return flops;
    double ratio;
    int64_t experts;
    if (n->type.rank == 3 && moe_ratio(g, n->scope, &ratio, &experts) && n->type.dims[0] == experts)
        flops *= ratio;
    return flops;
}

CcStepFlops cc_step_flops(const CcTrainStep *s) {
    CcStepFlops f;
    memset(&f, 0, sizeof f);
    const IrGraph *g = s->micro;
    /* Ratios per scope would be recomputed per node; cache the last scope's. */
    uint32_t last_scope = UINT32_MAX;
    bool last_moe = false;
    double ratio = 1;
    int64_t experts = 0;
    for (IrId id = 0; id < g->n_nodes; id++) {
        const IrNode *n = ir_graph_node(g, id);
        double flops = (double)ir_node_flops(g, id);
        if (!is_matmul_work(n)) {
            f.micro_other += flops;
            continue;
        }
        f.micro_matmul += flops;
        if (!is_useful_work(n)) continue;
        if (n->op != IR_OP_MATMUL) {
            f.micro_useful += flops;
            continue;
        }
        if (n->scope != last_scope) {
            last_scope = n->scope;
            last_moe = moe_ratio(g, n->scope, &ratio, &experts);
        }
        f.micro_useful += last_moe && n->type.rank == 3 && n->type.dims[0] == experts ? flops * ratio : flops;
    }
    for (IrId id = 0; id < s->update->n_nodes; id++) f.update += (double)ir_node_flops(s->update, id);
    const IrTrainConfig *t = &g->train;
    int64_t accumulate = t->present ? t->accumulate : 1;
    f.tokens_per_step = t->present ? t->batch * t->seq * accumulate : 0;
    f.step_useful = f.micro_useful * (double)accumulate;
    return f;
}
