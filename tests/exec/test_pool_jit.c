/* tests/exec/test_pool_jit.c — JIT elementwise kernels (cc_codegen_elementwise) run
 * through the thread pool: bit-identical outputs for 1, 2 and 3 threads and several
 * grains, in f32 and f64, and also written in place over their first input (the aliasing
 * the memory plan relies on, compiler/memplan.c).
 */
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "runtime.h"
#include "test.h"

enum { N = 1003 };

/* out = tanh(x * y) + exp(-x) / (1 + y * y) over [N] */
static IrGraph *build(IrDtype dt, IrId *x, IrId *y, IrId *out) {
    IrGraph *g = ir_graph_new("t");
    IrBuilder b;
    ir_builder_init(&b, g);
    int64_t dims[1] = {N};
    *x = ir_build_input(&b, IR_ROLE_DATA, "x", ir_type_make(dt, 1, dims));
    *y = ir_build_input(&b, IR_ROLE_DATA, "y", ir_type_make(dt, 1, dims));
    IrId t = ir_build_unary(&b, IR_OP_TANH, ir_build_binary(&b, IR_OP_MUL, *x, *y));
    IrId e = ir_build_unary(&b, IR_OP_EXP, ir_build_unary(&b, IR_OP_NEG, *x));
    IrId d = ir_build_binary_bcast(&b, IR_OP_ADD, ir_build_binary(&b, IR_OP_MUL, *y, *y), ir_build_scalar(&b, dt, 1.0));
    *out = ir_build_binary(&b, IR_OP_ADD, t, ir_build_binary(&b, IR_OP_DIV, e, d));
    CHECK(ir_builder_ok(&b));
    ir_graph_add_output(g, "out", *out);
    return g;
}

static void fill(void *p, IrDtype dt, uint32_t seed) {
    uint64_t s = 0x9E3779B97F4A7C15ull * (seed + 1);
    for (int i = 0; i < N; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        double v = (double)(s >> 11) / 9007199254740992.0 * 8.0 - 4.0;
        if (dt == IR_DTYPE_F32) ((float *)p)[i] = (float)v;
        else ((double *)p)[i] = v;
    }
}

static void check_dtype(CcJit *jit, IrDtype dt) {
    IrId x, y, out;
    IrGraph *g = build(dt, &x, &y, &out);
    CcFusion f;
    LlmcErr err = {0};
    CHECK(cc_fuse(g, &f, &err));
    CHECK_EQ_INT(f.n_kernels, 1);
    const CcKernel *kn = &f.kernels[0];
    IrId ids[64];
    uint32_t n_in = 0;
    CcKernelFn fn = NULL;
    bool ok = cc_elementwise_inputs(g, kn->nodes, kn->n_nodes, out, ids, &n_in, &err) &&
              cc_codegen_elementwise(jit, g, kn->nodes, kn->n_nodes, out, &fn, &err);
    if (!ok) fprintf(stderr, "%s\n", err.msg);
    CHECK(ok);
    CHECK_EQ_INT(n_in, 2);
    if (ok && n_in == 2) {
        size_t bytes = (size_t)N * ir_dtype_size(dt);
        void *in[2] = {malloc(bytes), malloc(bytes)};
        fill(in[0], dt, ids[0] == x ? 1 : 2);
        fill(in[1], dt, ids[1] == x ? 1 : 2);
        void *ref = malloc(bytes), *res = malloc(bytes);
        void *rb[3] = {in[0], in[1], ref};
        fn(rb, 0, N);
        static const int64_t grains[] = {1, 7, 16, 100, 5000};
        int same = 0, runs = 0;
        for (uint32_t t = 1; t <= 3; t++) {
            RtPool *p = rt_pool_new(t, &err);
            CHECK(p != NULL);
            if (!p) continue;
            for (size_t gi = 0; gi < sizeof grains / sizeof grains[0]; gi++) {
                memset(res, 0x5A, bytes);
                void *b[3] = {in[0], in[1], res};
                rt_pool_run(p, (RtKernelFn)fn, b, N, grains[gi]);
                same += memcmp(res, ref, bytes) == 0;
                runs++;
                /* in place over the first input */
                memcpy(res, in[0], bytes);
                void *ib[3] = {res, in[1], res};
                rt_pool_run(p, (RtKernelFn)fn, ib, N, grains[gi]);
                same += memcmp(res, ref, bytes) == 0;
                runs++;
            }
            rt_pool_free(p);
        }
        fprintf(stderr, "%s: %d of %d pool runs bit-identical to one call\n", ir_dtype_name(dt), same, runs);
        CHECK_EQ_INT(same, runs);
        free(in[0]);
        free(in[1]);
        free(ref);
        free(res);
    }
    cc_fusion_free(&f);
    ir_graph_free(g);
}

int main(void) {
    LlmcErr err = {0};
    CcJit *jit = cc_jit_new(&err);
    CHECK(jit != NULL);
    if (!jit) {
        fprintf(stderr, "%s\n", err.msg);
        TEST_MAIN();
    }
    check_dtype(jit, IR_DTYPE_F32);
    check_dtype(jit, IR_DTYPE_F64);
    cc_jit_free(jit);
    TEST_MAIN();
}
