/* tests/fuse/test_fuse_jit.c — every ELEMENTWISE kernel that fusion makes of gpt2-tiny's
 * simplified @micro and @update compiles with cc_codegen_elementwise and matches the
 * interpreter (@update has multi-output kernels: moments and params).
 *
 * The whole graph runs once on the interpreter in f32 mode (random params, token ids in
 * [0, 4), small integers for i32 state), with every computed node and constant made an
 * output, so each kernel's inputs and expected outputs are at hand. Each kernel output
 * is one compiled function today (codegen has one output); it runs on the interpreter's
 * values of its inputs (cc_elementwise_inputs) and must agree per tensor:
 * ||jit - ref|| / ||ref|| <= 1e-5 over finite elements, non-finite ones equal. The count
 * of kernels that read a value through a broadcast is reported, not required: today
 * layernorm and softmax statistics are read by row kernels and biases by matmul
 * epilogues, and the last elementwise one in @micro (the backward of softmax's max
 * shift) went with stop_gradient. test_jit_elementwise covers broadcast reads of every
 * rank.
 */
#include <math.h>
#include <string.h>

#include "fuse_check.h"
#include "runtime.h"

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static double urand(void) { /* [0, 1) */
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) * 0x1.0p-53;
}

/* Compiles and runs every ELEMENTWISE kernel of g; returns the number of functions. */
static uint32_t check_graph(CcJit *jit, const IrGraph *g) {
    LlmcErr err = {0};
    CcFusion f;
    CHECK(cc_fuse(g, &f, &err));
    CHECK(fusion_check(g, &f) == 0);
    IrValue *vals = step_run_all(g, urand);
    CHECK(vals != NULL);
    uint32_t n_kernels = 0, n_functions = 0, n_bcast = 0;
    double worst = 0;
    IrId *ids = malloc((3 * g->n_nodes + 1) * sizeof *ids);
    for (uint32_t k = 0; vals && k < f.n_kernels; k++) {
        const CcKernel *kn = &f.kernels[k];
        if (kn->kind != CC_KERNEL_ELEMENTWISE) continue;
        n_kernels++;
        bool reads_bcast = false; /* a broadcast of a non-scalar read as index arithmetic */
        for (uint32_t i = 0; i < kn->n_nodes; i++) {
            const IrNode *m = ir_graph_node(g, kn->nodes[i]);
            reads_bcast |= m->op == IR_OP_BROADCAST && ir_graph_node(g, m->operands[0])->type.rank > 0;
        }
        n_bcast += reads_bcast;
        for (uint32_t o = 0; o < kn->n_outputs; o++) {
            IrId out = kn->outputs[o];
            uint32_t n_in = 0;
            CcKernelFn fn = NULL;
            bool ok = cc_elementwise_inputs(g, kn->nodes, kn->n_nodes, out, ids, &n_in, &err) &&
                      cc_codegen_elementwise(jit, g, kn->nodes, kn->n_nodes, out, &fn, &err);
            if (!ok) fprintf(stderr, "kernel %%k%u output %%%u: %s\n", k, out, err.msg);
            CHECK(ok);
            if (!ok) {
                llmc_err_clear(&err);
                continue;
            }
            n_functions++;
            void **bufs = calloc(n_in + 1, sizeof *bufs);
            for (uint32_t i = 0; i < n_in; i++) bufs[i] = rt_native_from_value(&vals[ids[i]]);
            const IrValue *ref = &vals[out];
            int64_t n = ir_type_numel(&ref->type);
            bufs[n_in] = calloc((size_t)n, ir_dtype_size(ref->type.dtype));
            fn(bufs, 0, n);
            double d2 = 0, r2 = 0;
            int bad = 0;
            for (int64_t i = 0; i < n; i++) {
                double a = rt_native_at(bufs[n_in], ref->type.dtype, i), r = ref->data[i];
                if ((isnan(a) && isnan(r)) || a == r) continue;
                if (!isfinite(a) || !isfinite(r)) {
                    bad++;
                    continue;
                }
                d2 += (a - r) * (a - r);
                r2 += r * r;
            }
            double ratio = r2 > 0 ? sqrt(d2 / r2) : sqrt(d2);
            if (ratio > worst) worst = ratio;
            if (bad || ratio > 1e-5)
                fprintf(stderr, "kernel %%k%u output %%%u: %d non-finite mismatches, ratio %.3g\n", k, out, bad, ratio);
            CHECK(bad == 0);
            CHECK(ratio <= 1e-5);
            for (uint32_t i = 0; i <= n_in; i++) free(bufs[i]);
            free(bufs);
        }
    }
    fprintf(stderr, "gpt2-tiny @%s: %u elementwise kernels of %u (%u read broadcasts), %u functions, worst ratio %.3g\n",
            ir_graph_name(g), n_kernels, f.n_kernels, n_bcast, n_functions, worst);
    CHECK(n_kernels > 0);
    free(ids);
    if (vals)
        for (IrId id = 0; id < g->n_nodes; id++) ir_value_free(&vals[id]);
    free(vals);
    cc_fusion_free(&f);
    return n_functions;
}

int main(void) {
    IrModule m;
    CcTrainStep step;
    CHECK(step_load("gpt2-tiny", &m, &step));
    LlmcErr err = {0};
    CcJit *jit = cc_jit_new(&err);
    if (!jit) fprintf(stderr, "cc_jit_new: %s\n", err.msg);
    CHECK(jit != NULL);
    if (step.micro && jit) {
        check_graph(jit, step.micro);
        check_graph(jit, step.update);
    }
    cc_jit_free(jit);
    cc_train_step_free(&step);
    ir_module_free(&m);
    TEST_MAIN();
}
