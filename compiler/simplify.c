/* compiler/simplify.c — the simplification pipeline: algebra, fold, cse, dce, repeated
 * until a round changes nothing, at most SIMPLIFY_MAX_ROUNDS rounds.
 *
 * The order within a round: algebra first (it turns broadcasts of constants into splats
 * and strips identities, which exposes constant operands), fold (evaluates what is now
 * all-constant), cse (merges the duplicates the first two created or exposed, e.g. the
 * same splat folded twice), dce (drops what all three left dead).
 *
 * The fixed point is "the round's output equals its input" (cc_graph_same), not "the node
 * count stopped shrinking": a round can change a graph without shrinking it (a fold whose
 * operands stay in use elsewhere), and the next round may then shrink it. Stopping on an
 * unchanged graph is also what makes simplify idempotent: a second run does one round that
 * changes nothing. Every pass is exact (see their banners), so the pipeline is.
 *
 * Deliberately not here: any rewrite of its own, and a cost model: no pass replaces a
 * node by more than one new node, so no round grows the graph.
 */
#include "compiler_int.h"

#define SIMPLIFY_MAX_ROUNDS 16

IrGraph *cc_pass_simplify(const IrGraph *g, LlmcErr *err) {
    static const CcPassFn round[] = {cc_pass_algebra, cc_pass_fold, cc_pass_cse, cc_pass_dce};
    IrGraph *cur = NULL; /* owned; NULL: still g */
    for (int r = 0; r < SIMPLIFY_MAX_ROUNDS; r++) {
        const IrGraph *start = cur ? cur : g;
        IrGraph *x = NULL;
        for (size_t p = 0; p < sizeof round / sizeof round[0]; p++) {
            IrGraph *next = round[p](x ? x : start, err);
            ir_graph_free(x);
            if (!next) {
                ir_graph_free(cur);
                return NULL;
            }
            x = next;
        }
        bool done = cc_graph_same(start, x);
        ir_graph_free(cur);
        cur = x;
        if (done) break;
    }
    return cur;
}
