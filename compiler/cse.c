/* compiler/cse.c — common subexpression elimination by hashing: two nodes with the same
 * op, the same operands (after remapping, so chains of duplicates collapse in one walk),
 * the same attributes and the same type are one value. The first occurrence is kept, with
 * its provenance; later ones map to it.
 *
 * Attributes are compared field by field through the op's schema (cc_node_same), never
 * by memcmp of the IrAttrs union; const payloads by content, so two equal constants
 * merge whether written as a splat or in full, while -0 and +0 (or two NaN payloads)
 * stay apart. `rand` nodes with equal attributes (site, dist, sharding) and operands are
 * merged: by design they draw the same values. Collectives are deterministic functions
 * of every rank's operand and every rank runs the same graph, so they merge too.
 *
 * Deliberately not merged: inputs (each is the graph's interface, and names are unique
 * anyway) and extern_call (a hook the runtime installs; it may have effects). Operand
 * order is taken as written: add(a, b) and add(b, a) stay two nodes, because with two NaN
 * operands the result's payload may depend on the order, and results must stay bit-exact.
 * Nodes made dead by merging are left for dce (only merged nodes themselves vanish).
 */
#include "compiler_int.h"

#include <stdlib.h>

static bool op_mergeable(IrOp op) {
    switch (ir_op_info(op)->kind) {
    case IR_KIND_SOURCE: return op == IR_OP_CONST;
    case IR_KIND_EXTERN: return false;
    case IR_KIND_ELEMENTWISE:
    case IR_KIND_REDUCE:
    case IR_KIND_MOVEMENT:
    case IR_KIND_CONTRACTION:
    case IR_KIND_ATTENTION:
    case IR_KIND_INDEX:
    case IR_KIND_RANDOM:
    case IR_KIND_COLLECTIVE: return true;
    case IR_KIND_INVALID:
    case IR_KIND_COUNT: break;
    }
    return false;
}

/* Open addressing over dst ids, keyed by cc_node_hash. */
typedef struct Table {
    uint64_t *hash;
    IrId *id; /* IR_ID_NONE: empty */
    uint32_t mask;
} Table;

IrGraph *cc_pass_cse(const IrGraph *g, LlmcErr *err) {
    CcRewrite rw;
    cc_rewrite_begin(&rw, g);
    uint32_t slots = 16;
    while (slots < 2 * g->n_nodes) slots *= 2;
    Table t = {llmc_xmalloc(slots * sizeof *t.hash), llmc_xmalloc(slots * sizeof *t.id), slots - 1};
    for (uint32_t i = 0; i < slots; i++) t.id[i] = IR_ID_NONE;
    IrId *ops = NULL;
    uint32_t cap = 0;
    for (IrId id = 0; id < g->n_nodes; id++) {
        const IrNode *n = &g->nodes[id];
        if (!op_mergeable(n->op)) {
            cc_rewrite_copy(&rw, id);
            continue;
        }
        if (n->n_operands > cap) {
            cap = n->n_operands;
            ops = llmc_xrealloc(ops, cap * sizeof *ops);
        }
        for (uint32_t k = 0; k < n->n_operands; k++) ops[k] = cc_rewrite_get(&rw, n->operands[k]);
        IrNode key = *n; /* the node as it would be in dst; strings have the same ids there */
        key.operands = ops;
        uint64_t h = cc_node_hash(rw.dst, &key);
        uint32_t s = (uint32_t)h & t.mask;
        IrId found = IR_ID_NONE;
        for (; t.id[s] != IR_ID_NONE; s = (s + 1) & t.mask)
            if (t.hash[s] == h && cc_node_same(rw.dst, &rw.dst->nodes[t.id[s]], rw.dst, &key)) {
                found = t.id[s];
                break;
            }
        if (found != IR_ID_NONE) {
            cc_rewrite_set(&rw, id, found);
        } else {
            t.hash[s] = h; /* s is the empty slot the probe stopped at */
            t.id[s] = cc_rewrite_copy(&rw, id);
        }
    }
    free(ops);
    free(t.hash);
    free(t.id);
    return cc_rewrite_finish(&rw, "cse", err);
}
