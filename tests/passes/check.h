/* tests/passes/check.h — what every pass test asks of a pass's result, shared by the
 * golden driver and the unit tests:
 *
 *   char *s = passes_print(g);                     the canonical print (caller frees)
 *   passes_check_interface(where, before, after);  same inputs (name, role, type, order)
 *                                                  and outputs (name, type, order)
 *   passes_check_results(where, before, after);    same outputs, bit for bit, in f32 and
 *                                                  f64 mode, on plain random inputs and on
 *                                                  inputs salted with -0, inf, -inf, NaNs
 *   passes_check_verifies(where, g);               ir_verify, diagnostics on failure
 *
 * Inputs: floats uniform in [-1, 1); every third element of the salted set is a special
 * value instead. i32 inputs lie within the index range of the gather/onehot/scatter_add
 * they reach through movement ops (else [0, 10)), so graphs with indices run. Data inputs
 * differ per simulated rank; the world size is what the graph's collectives say.
 * If the original graph fails to run (an i32 division by zero, say), there is nothing to
 * compare and the check counts as skipped (passes_results_skipped).
 */
#ifndef LLMC_TESTS_PASSES_CHECK_H
#define LLMC_TESTS_PASSES_CHECK_H

#include <stdlib.h>

#include "compiler.h"
#include "test.h"

static int passes_results_compared, passes_results_skipped;

static inline char *passes_print(const IrGraph *g) {
    LlmcBuf b = {0};
    llmc_buf_put(&b, "", 0);
    ir_print_graph(g, &b);
    return b.data;
}

static inline bool passes_check_verifies(const char *where, const IrGraph *g) {
    LlmcDiags d = {0};
    bool ok = ir_verify(g, &d, NULL, NULL);
    if (!ok) {
        fprintf(stderr, "%s: the result does not verify:\n", where);
        llmc_diags_print(&d, stderr);
    }
    llmc_diags_free(&d);
    CHECK(ok);
    return ok;
}

static inline void passes_check_interface(const char *where, const IrGraph *a, const IrGraph *b) {
    uint32_t na = ir_graph_inputs(a, NULL), nb = ir_graph_inputs(b, NULL);
    bool ok = na == nb && a->n_outputs == b->n_outputs;
    if (ok) {
        IrId *ia = llmc_xcalloc(na + 1, sizeof *ia), *ib = llmc_xcalloc(nb + 1, sizeof *ib);
        ir_graph_inputs(a, ia);
        ir_graph_inputs(b, ib);
        for (uint32_t i = 0; ok && i < na; i++) {
            const IrNode *x = &a->nodes[ia[i]], *y = &b->nodes[ib[i]];
            ok = ir_type_equal(&x->type, &y->type) && x->attrs.input.role == y->attrs.input.role &&
                 strcmp(ir_graph_str(a, x->attrs.input.name), ir_graph_str(b, y->attrs.input.name)) == 0;
        }
        for (uint32_t o = 0; ok && o < a->n_outputs; o++)
            ok = strcmp(ir_graph_str(a, a->outputs[o].name), ir_graph_str(b, b->outputs[o].name)) == 0 &&
                 ir_type_equal(&a->nodes[a->outputs[o].node].type, &b->nodes[b->outputs[o].node].type);
        free(ia);
        free(ib);
    }
    if (!ok) fprintf(stderr, "%s: the graph's interface changed\n", where);
    CHECK(ok);
}

/* --- inputs --------------------------------------------------------------------------- */

/* Smallest index range the input reaches through movement ops; 0: none. */
static inline int64_t passes_index_bound(const IrGraph *g, IrId input) {
    bool *reach = llmc_xcalloc(g->n_nodes, sizeof *reach);
    int64_t bound = 0;
    reach[input] = true;
    for (IrId id = input + 1; id < g->n_nodes; id++) {
        const IrNode *n = &g->nodes[id];
        for (uint32_t k = 0; k < n->n_operands; k++) {
            if (!reach[n->operands[k]]) continue;
            int64_t b = 0;
            if (n->op == IR_OP_GATHER && k == 1)
                b = g->nodes[n->operands[0]].type.dims[n->attrs.gather.axis];
            else if (n->op == IR_OP_SCATTER_ADD && k == 0)
                b = n->type.dims[n->attrs.gather.axis];
            else if (n->op == IR_OP_ONEHOT)
                b = n->type.dims[n->type.rank - 1];
            else if (ir_op_info(n->op)->kind == IR_KIND_MOVEMENT)
                reach[id] = true;
            if (b && (bound == 0 || b < bound)) bound = b;
        }
    }
    free(reach);
    return bound;
}

static inline uint32_t passes_graph_ranks(const IrGraph *g) {
    int64_t ranks = 1;
    for (IrId id = 0; id < g->n_nodes; id++) {
        const IrNode *n = &g->nodes[id];
        if (ir_op_info(n->op)->kind == IR_KIND_COLLECTIVE && n->attrs.coll.ranks > ranks) ranks = n->attrs.coll.ranks;
        if (n->op == IR_OP_RAND && n->attrs.rand.shard_axis >= 0 && n->attrs.rand.shards > ranks)
            ranks = n->attrs.rand.shards;
    }
    return (uint32_t)ranks;
}

static inline double passes_special(uint64_t k) {
    static const double v[] = {-0.0, 0.0, INFINITY, -INFINITY, NAN, -NAN, 1.0, -1.0, 1e-40, 3.0e38};
    return v[k % (sizeof v / sizeof v[0])];
}

/* ins[r * n_in + i]; caller frees the values and the array. */
static inline IrValue *passes_inputs(const IrGraph *g, uint32_t ranks, uint32_t seed, bool salted, uint32_t *n_in) {
    uint32_t n = ir_graph_inputs(g, NULL);
    IrId *ids = llmc_xcalloc(n + 1, sizeof *ids);
    ir_graph_inputs(g, ids);
    IrValue *ins = llmc_xcalloc((size_t)n * ranks + 1, sizeof *ins);
    for (uint32_t i = 0; i < n; i++) {
        const IrNode *node = &g->nodes[ids[i]];
        int64_t bound = node->type.dtype == IR_DTYPE_I32 ? passes_index_bound(g, ids[i]) : 0;
        if (bound == 0) bound = 10;
        for (uint32_t r = 0; r < ranks; r++) {
            IrValue *v = &ins[r * n + i];
            ir_value_alloc(v, node->type);
            uint32_t stream = node->attrs.input.role == IR_ROLE_DATA ? r : 0;
            int64_t numel = ir_type_numel(&node->type);
            for (int64_t e = 0; e < numel; e++) {
                double u = ir_rand_value(IR_RAND_UNIFORM, seed, i, stream, 0x5eed, (uint64_t)e);
                if (node->type.dtype == IR_DTYPE_I32)
                    v->data[e] = (double)(int64_t)(u * (double)bound);
                else if (salted && e % 3 == 1)
                    v->data[e] = passes_special((uint64_t)e / 3 + i);
                else
                    v->data[e] = 2.0 * u - 1.0;
                if (node->type.dtype == IR_DTYPE_F32) v->data[e] = (double)(float)v->data[e];
            }
        }
    }
    free(ids);
    *n_in = n;
    return ins;
}

/* --- results -------------------------------------------------------------------------- */

static inline bool passes_run(const IrGraph *g, IrPrecision p, uint32_t ranks, const IrValue *ins, IrValue *outs,
                              LlmcErr *err) {
    IrInterpOptions opt = {.precision = p, .ranks = ranks};
    return ir_interp_run(g, &opt, ins, outs, err);
}

static inline void passes_check_results(const char *where, const IrGraph *before, const IrGraph *after) {
    uint32_t ranks = passes_graph_ranks(before);
    for (int salted = 0; salted < 2; salted++)
        for (int mode = 0; mode < 2; mode++) {
            IrPrecision p = mode ? IR_PRECISION_F64 : IR_PRECISION_F32;
            uint32_t n_in;
            IrValue *ins = passes_inputs(before, ranks, 7, salted, &n_in);
            size_t n_out = (size_t)before->n_outputs * ranks;
            IrValue *o1 = llmc_xcalloc(n_out + 1, sizeof *o1), *o2 = llmc_xcalloc(n_out + 1, sizeof *o2);
            LlmcErr e1 = {0}, e2 = {0};
            if (!passes_run(before, p, ranks, ins, o1, &e1)) {
                passes_results_skipped++;
            } else {
                bool ran = passes_run(after, p, ranks, ins, o2, &e2);
                if (!ran) fprintf(stderr, "%s: the result fails to run: %s\n", where, e2.msg);
                CHECK(ran);
                for (size_t o = 0; ran && o < n_out; o++) {
                    bool same = ir_type_equal(&o1[o].type, &o2[o].type) &&
                                memcmp(o1[o].data, o2[o].data,
                                       (size_t)ir_type_numel(&o1[o].type) * sizeof(double)) == 0;
                    if (!same)
                        fprintf(stderr, "%s: output '%s' differs (%s mode, %s inputs)\n", where,
                                ir_graph_str(before, before->outputs[o % before->n_outputs].name),
                                mode ? "f64" : "f32", salted ? "salted" : "plain");
                    CHECK(same);
                }
                passes_results_compared++;
                for (size_t o = 0; ran && o < n_out; o++) ir_value_free(&o2[o]);
                for (size_t o = 0; o < n_out; o++) ir_value_free(&o1[o]);
            }
            for (size_t k = 0; k < (size_t)n_in * ranks; k++) ir_value_free(&ins[k]);
            free(ins);
            free(o1);
            free(o2);
        }
}

#endif /* LLMC_TESTS_PASSES_CHECK_H */
