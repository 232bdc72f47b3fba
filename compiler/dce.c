/* compiler/dce.c — dead code elimination: drops every node that no output depends on.
 *
 * Liveness is one backward walk over the topological order from the outputs. Inputs are
 * always kept, used or not: they are the graph's interface (the runtime binds tensors to
 * them by position and name), and a pass must not change it. Survivors keep their order,
 * provenance and attributes; only ids are renumbered.
 *
 * extern_call is kept too, with what it reads: it runs through a hook the runtime
 * installs, which may have effects the graph cannot see (cse does not merge it either).
 *
 * Deliberately not done: keeping the run-time errors of dead nodes — an i32 division by
 * zero or a bad index in code no output needs vanishes with it, as in any compiler.
 */
#include "compiler_int.h"

#include <stdlib.h>

IrGraph *cc_pass_dce(const IrGraph *g, LlmcErr *err) {
    bool *live = llmc_xcalloc(g->n_nodes ? g->n_nodes : 1, sizeof *live);
    for (uint32_t o = 0; o < g->n_outputs; o++) live[g->outputs[o].node] = true;
    for (IrId id = g->n_nodes; id-- > 0;) {
        const IrNode *n = &g->nodes[id];
        if (n->op == IR_OP_INPUT || n->op == IR_OP_EXTERN_CALL) live[id] = true;
        if (!live[id]) continue;
        for (uint32_t k = 0; k < n->n_operands; k++) live[n->operands[k]] = true;
    }
    CcRewrite rw;
    cc_rewrite_begin(&rw, g);
    for (IrId id = 0; id < g->n_nodes; id++)
        if (live[id]) cc_rewrite_copy(&rw, id);
    free(live);
    return cc_rewrite_finish(&rw, "dce", err);
}
