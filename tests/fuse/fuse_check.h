/* tests/fuse/fuse_check.h — what the fusion tests share: loading a model's training step
 * (cc_train_step_build on models/NAME.llm) and checking a fusion's contract: every
 * non-source node in exactly one kernel, kernel_of consistent, nodes ascending, inputs
 * and outputs exactly as documented in compiler.h, operands from earlier kernels only
 * (a valid execution order; non-root members read by other kernels only in ROW kernels), and every ELEMENTWISE kernel accepted by
 * cc_elementwise_inputs for each of its outputs.
 * Static functions only (marked unused: not every program calls each); each test
 * program includes it once. Also the whole-step fixture the JIT tests share:
 * step_load_with (-D overrides) and step_run_all (every node's value from one run).
 */
#ifndef LLMC_FUSE_CHECK_H
#define LLMC_FUSE_CHECK_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "frontend.h"
#include "test.h"

/* Lowers models/<name>.llm (relative to the source dir) with -D overrides and builds its
 * step. */
static bool step_load_with(const char *name, const FeOverride *ov, uint32_t n_ov, IrModule *m, CcTrainStep *step) {
    char path[256];
    snprintf(path, sizeof path, "models/%s.llm", name);
    char *text = NULL;
    size_t len = 0;
    LlmcErr err = {0};
    memset(m, 0, sizeof *m);
    memset(step, 0, sizeof *step);
    if (!llmc_file_read(path, &text, &len, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return false;
    }
    LlmcDiags d = {0};
    LlmcSource src = {path, text, len};
    FeProgram *p = fe_parse(&src, &d);
    FeLowerOptions lo = {ov, n_ov};
    bool ok = p && fe_lower(p, &lo, m, &d);
    llmc_diags_print(&d, stderr);
    llmc_diags_free(&d);
    fe_program_free(p);
    free(text);
    if (ok && !cc_train_step_build(m, step, &err)) {
        fprintf(stderr, "%s: %s\n", path, err.msg);
        ok = false;
    }
    return ok;
}

__attribute__((unused)) static bool step_load(const char *name, IrModule *m, CcTrainStep *step) {
    return step_load_with(name, NULL, 0, m, step);
}

/* Values of every node of g from one f32 interpreter run on random inputs (floats from
 * rand01() - 0.5, i32 in [0, 4)); NULL if the run fails. Caller frees each and the array. */
__attribute__((unused)) static IrValue *step_run_all(const IrGraph *g, double (*rand01)(void)) {
    IrGraph *c = ir_graph_clone(g);
    c->n_outputs = 0;
    IrId *out_node = malloc(g->n_nodes * sizeof *out_node);
    uint32_t n_out = 0;
    for (IrId id = 0; id < g->n_nodes; id++) {
        if (g->nodes[id].op == IR_OP_INPUT) continue;
        char name[32];
        snprintf(name, sizeof name, "v.%u", id);
        ir_graph_add_output(c, name, id);
        out_node[n_out++] = id;
    }
    uint32_t n_in = ir_graph_inputs(g, NULL);
    IrId *in_ids = malloc((n_in + 1) * sizeof *in_ids);
    ir_graph_inputs(g, in_ids);
    IrValue *vals = calloc(g->n_nodes, sizeof *vals);
    IrValue *inputs = calloc(n_in + 1, sizeof *inputs);
    for (uint32_t i = 0; i < n_in; i++) {
        const IrType *t = &g->nodes[in_ids[i]].type;
        ir_value_alloc(&inputs[i], *t);
        for (int64_t e = 0; e < ir_type_numel(t); e++)
            inputs[i].data[e] = t->dtype == IR_DTYPE_I32 ? floor(rand01() * 4) : (double)(float)(rand01() - 0.5);
    }
    IrValue *outs = calloc(n_out + 1, sizeof *outs);
    IrInterpOptions io = {.precision = IR_PRECISION_F32, .ranks = 1};
    LlmcErr err = {0};
    bool ok = ir_interp_run(c, &io, inputs, outs, &err);
    if (!ok) fprintf(stderr, "interpreter: %s\n", err.msg);
    CHECK(ok);
    for (uint32_t i = 0; i < n_in; i++) vals[in_ids[i]] = inputs[i];
    for (uint32_t o = 0; o < n_out; o++) vals[out_node[o]] = outs[o];
    free(outs);
    free(inputs);
    free(in_ids);
    free(out_node);
    ir_graph_free(c);
    if (!ok) {
        free(vals);
        return NULL;
    }
    return vals;
}

static bool ids_contain(const IrId *ids, uint32_t n, IrId x) {
    for (uint32_t i = 0; i < n; i++)
        if (ids[i] == x) return true;
    return false;
}

/* Checks the whole contract; returns the number of failed checks it added. */
__attribute__((unused)) static int fusion_check(const IrGraph *g, const CcFusion *f) {
    int before = test_failures;
    uint32_t *count = calloc(g->n_nodes, sizeof *count);
    bool *is_out = calloc(g->n_nodes, sizeof *is_out);
    for (uint32_t o = 0; o < g->n_outputs; o++) is_out[g->outputs[o].node] = true;
    for (uint32_t k = 0; k < f->n_kernels; k++) {
        const CcKernel *kn = &f->kernels[k];
        CHECK(kn->kind > CC_KERNEL_INVALID && kn->kind < CC_KERNEL_COUNT);
        CHECK(kn->n_nodes > 0 && kn->n_outputs > 0);
        CHECK(kn->root == kn->nodes[kn->n_nodes - 1]);
        /* order: checked below (operands from earlier kernels only); roots ascend unless a
         * ROW kernel's non-root output is read by a kernel of lower root */
        for (uint32_t i = 0; i < kn->n_nodes; i++) {
            IrId id = kn->nodes[i];
            count[id]++;
            CHECK(f->kernel_of[id] == k);
            if (i) CHECK(kn->nodes[i - 1] < id);
            const IrNode *n = ir_graph_node(g, id);
            for (uint32_t o = 0; o < n->n_operands; o++) {
                IrId x = n->operands[o];
                const IrNode *xn = ir_graph_node(g, x);
                uint32_t kx = f->kernel_of[x];
                bool splat = xn->op == IR_OP_CONST && xn->attrs.constant.value.count == 1;
                if (kx == k) continue;
                CHECK(kx == UINT32_MAX || kx < k); /* computed before */
                if (kx != UINT32_MAX) CHECK(ids_contain(f->kernels[kx].outputs, f->kernels[kx].n_outputs, x));
                if (!splat) CHECK(ids_contain(kn->inputs, kn->n_inputs, x));
            }
        }
        for (uint32_t i = 0; i < kn->n_inputs; i++) {
            CHECK(f->kernel_of[kn->inputs[i]] != k);
            if (i) CHECK(kn->inputs[i - 1] < kn->inputs[i]);
        }
        for (uint32_t i = 0; i < kn->n_outputs; i++) {
            CHECK(f->kernel_of[kn->outputs[i]] == k);
            if (i) CHECK(kn->outputs[i - 1] < kn->outputs[i]);
        }
        CHECK(ids_contain(kn->outputs, kn->n_outputs, kn->root));
        /* non-root outputs are graph outputs or read by other kernels; those are ROW and
         * ATTENTION kernels' (other kinds: only the root is read outside) */
        for (uint32_t i = 0; i < kn->n_outputs; i++) {
            IrId x = kn->outputs[i];
            if (x == kn->root) continue;
            bool read_outside = false;
            for (IrId u = x + 1; u < g->n_nodes; u++) {
                const IrNode *un = ir_graph_node(g, u);
                for (uint32_t o = 0; o < un->n_operands; o++)
                    if (un->operands[o] == x) read_outside |= f->kernel_of[u] != k;
            }
            CHECK(is_out[x] || read_outside);
            if (kn->kind != CC_KERNEL_ROW && kn->kind != CC_KERNEL_ATTENTION) CHECK(!read_outside);
        }
        if (kn->kind == CC_KERNEL_ELEMENTWISE) {
            IrId *ids = malloc((3 * kn->n_nodes + 1) * sizeof *ids);
            uint32_t n_in = 0;
            int64_t items = 0;
            LlmcErr err = {0};
            bool ok = cc_elementwise_kernel_inputs(g, kn->nodes, kn->n_nodes, kn->outputs, kn->n_outputs, ids, &n_in,
                                                   &items, &err);
            if (!ok) fprintf(stderr, "  @%s kernel %u: %s\n", ir_graph_name(g), k, err.msg);
            CHECK(ok && items >= ir_type_numel(&ir_graph_node(g, kn->root)->type));
            free(ids);
        }
    }
    for (IrId id = 0; id < g->n_nodes; id++) {
        IrOp op = ir_graph_node(g, id)->op;
        bool source = op == IR_OP_INPUT || op == IR_OP_CONST;
        CHECK(count[id] == (source ? 0u : 1u));
        if (source) CHECK(f->kernel_of[id] == UINT32_MAX);
        if (is_out[id] && !source) {
            uint32_t k = f->kernel_of[id];
            CHECK(k != UINT32_MAX && ids_contain(f->kernels[k].outputs, f->kernels[k].n_outputs, id));
        }
    }
    free(count);
    free(is_out);
    return test_failures - before;
}

#endif /* LLMC_FUSE_CHECK_H */
