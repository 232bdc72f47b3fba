/* compiler/unshare.c — gives every reader of a broadcast scalar its own broadcast.
 *
 * CSE merges identical broadcasts of a rank-0 value (the learning rate, a bias-correction
 * factor, a mean's 1/n) into one node read by many ops. Fusion (compiler/fuse.c, rule 2)
 * splats a rank-0 broadcast into the one ELEMENTWISE kernel that reads it, but one read
 * by several kernels cannot be in all of them, so it became a MOVEMENT kernel of its own
 * that writes the whole tensor — for the optimizer of a model with a large embedding,
 * hundreds of megabytes per step that no kernel reads (elementwise codegen reads the
 * rank-0 source). This pass, run last when the step's graphs are built (after CSE, which
 * would merge the copies back), rebuilds the graph with one copy of such a broadcast per
 * reading node, placed just before it, so each is absorbed into its reader's kernel as a
 * splat. A broadcast that is a graph output stays shared (its bytes are wanted).
 * Values, provenance and the graph's interface are unchanged.
 * Deliberately not here: broadcasts of non-scalars (index arithmetic, not a splat; a
 * shared one is read by a MOVEMENT kernel's single copy instead of recomputed per reader).
 */
#include "compiler_int.h"

#include <stdlib.h>

static bool is_scalar_broadcast(const IrGraph *g, const IrNode *n) {
    return n->op == IR_OP_BROADCAST && g->nodes[n->operands[0]].type.rank == 0;
}

IrGraph *cc_pass_unshare_splats(const IrGraph *g, LlmcErr *err) {
    uint32_t n_nodes = g->n_nodes ? g->n_nodes : 1;
    uint32_t *uses = llmc_xcalloc(n_nodes, sizeof *uses);
    bool *kept = llmc_xcalloc(n_nodes, sizeof *kept); /* outputs: copied where they stand */
    for (IrId id = 0; id < g->n_nodes; id++) {
        const IrNode *n = &g->nodes[id];
        for (uint32_t k = 0; k < n->n_operands; k++) uses[n->operands[k]]++;
    }
    for (uint32_t o = 0; o < g->n_outputs; o++) kept[g->outputs[o].node] = true;
    CcRewrite rw;
    cc_rewrite_begin(&rw, g);
    for (IrId id = 0; id < g->n_nodes; id++) {
        const IrNode *n = &g->nodes[id];
        bool shared = is_scalar_broadcast(g, n) && uses[id] > 1 && !kept[id];
        if (shared) continue; /* each reader makes its own below */
        bool reads_shared = false;
        for (uint32_t k = 0; k < n->n_operands; k++) {
            const IrNode *o = &g->nodes[n->operands[k]];
            reads_shared |= is_scalar_broadcast(g, o) && uses[n->operands[k]] > 1 && !kept[n->operands[k]];
        }
        if (!reads_shared) {
            cc_rewrite_copy(&rw, id);
            continue;
        }
        IrNode proto = *n;
        IrId *ops = llmc_xmalloc(n->n_operands * sizeof *ops);
        for (uint32_t k = 0; k < n->n_operands; k++) {
            IrId o = n->operands[k];
            const IrNode *on = &g->nodes[o];
            if (!(is_scalar_broadcast(g, on) && uses[o] > 1 && !kept[o])) {
                ops[k] = cc_rewrite_get(&rw, o);
                continue;
            }
            IrId same = IR_ID_NONE; /* mul(b, b): one copy serves both operands */
            for (uint32_t j = 0; j < k; j++)
                if (n->operands[j] == o) same = ops[j];
            if (same != IR_ID_NONE) {
                ops[k] = same;
                continue;
            }
            IrNode bp = *on;
            IrId src = cc_rewrite_get(&rw, on->operands[0]);
            bp.operands = &src;
            ops[k] = cc_rewrite_add(&rw, &bp, o);
        }
        proto.operands = ops;
        cc_rewrite_set(&rw, id, cc_rewrite_add(&rw, &proto, id));
        free(ops);
    }
    free(uses);
    free(kept);
    return cc_rewrite_finish(&rw, "unshare-splats", err);
}
