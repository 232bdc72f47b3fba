/* tests/jit/test_jit_matmul.c — the JIT matmul kernel against the reference interpreter.
 *
 * Shapes M x N x K include 1x1x1, 3x5x7, 17x33x65, 64x64x64, 128x96x200 and some that
 * cross the cache blocks (M > MC, N > NC, K > KC), for every ta/tb combination, f32 and
 * f64; batched (both operands rank 3), and batched with a shared rank-2 operand on either
 * side (the IR has no zero-sized dims, so K = 0 is not a case). Tolerances: ||jit - ref|| / ||ref|| <= 1e-5 (f32), 1e-12 (f64).
 * Calling the kernel over pieces of its task range, in any order, gives the same bytes as
 * one call. The optimized IR has the host vector type and llvm.fma and declares only
 * LLVM intrinsics; with AVX-512 the assembly has vfmadd on zmm registers.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "runtime.h"
#include "test.h"

static CcJit *jit;
static int cases;

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static double urand(void) { /* [0, 1) */
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) * 0x1.0p-53;
}

typedef struct Case {
    int64_t batch;       /* 0: both rank 2 */
    int shared;          /* 0 none, 1 x rank 2, 2 y rank 2 (batch > 0) */
    int64_t M, N, K;
    bool ta, tb;
    IrDtype dt;
} Case;

/* x: [batch?, M, K] or [batch?, K, M] (ta); y: [batch?, K, N] or [batch?, N, K] (tb). */
static IrGraph *case_graph(const Case *c, IrId *mm) {
    IrGraph *g = ir_graph_new("mm");
    IrBuilder b;
    ir_builder_init(&b, g);
    int64_t xd[3], yd[3];
    uint32_t xr = 0, yr = 0;
    if (c->batch && c->shared != 1) xd[xr++] = c->batch;
    if (c->batch && c->shared != 2) yd[yr++] = c->batch;
    xd[xr++] = c->ta ? c->K : c->M;
    xd[xr++] = c->ta ? c->M : c->K;
    yd[yr++] = c->tb ? c->N : c->K;
    yd[yr++] = c->tb ? c->K : c->N;
    IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", ir_type_make(c->dt, xr, xd));
    IrId y = ir_build_input(&b, IR_ROLE_DATA, "y", ir_type_make(c->dt, yr, yd));
    *mm = ir_build_matmul(&b, x, y, c->ta, c->tb);
    ir_graph_add_output(g, "out", *mm);
    CHECK(ir_builder_ok(&b));
    return g;
}

static double at(const void *p, IrDtype dt, int64_t i) {
    return dt == IR_DTYPE_F32 ? (double)((const float *)p)[i] : ((const double *)p)[i];
}

static void run_case(const Case *c) {
    char what[128];
    snprintf(what, sizeof what, "%s b%lld%s %lldx%lldx%lld ta%d tb%d", ir_dtype_name(c->dt), (long long)c->batch,
             c->shared == 1 ? " x-shared" : c->shared == 2 ? " y-shared" : "", (long long)c->M, (long long)c->N,
             (long long)c->K, c->ta, c->tb);
    cases++;
    IrId mm;
    IrGraph *g = case_graph(c, &mm);
    IrValue in[2], out;
    memset(&out, 0, sizeof out);
    for (int k = 0; k < 2; k++) {
        ir_value_alloc(&in[k], ir_graph_node(g, (IrId)k)->type);
        int64_t n = ir_type_numel(&in[k].type);
        for (int64_t i = 0; i < n; i++) {
            double v = urand() * 2 - 1;
            in[k].data[i] = c->dt == IR_DTYPE_F32 ? (double)(float)v : v;
        }
    }
    IrInterpOptions opt = {.precision = c->dt == IR_DTYPE_F32 ? IR_PRECISION_F32 : IR_PRECISION_F64, .ranks = 1};
    LlmcErr err = {0};
    bool ok = ir_interp_run(g, &opt, in, &out, &err);
    CHECK(ok);
    CcMatmulPlan plan;
    CcKernelFn fn = NULL;
    CHECK(cc_matmul_plan(jit, g, mm, &plan, &err));
    if (!cc_codegen_matmul(jit, g, mm, &fn, &err)) {
        fprintf(stderr, "  %s: %s\n", what, err.msg);
        CHECK(!"codegen");
    }
    if (!ok || !fn) {
        ir_value_free(&in[0]), ir_value_free(&in[1]), ir_value_free(&out), ir_graph_free(g);
        return;
    }
    void *x = rt_native_from_value(&in[0]), *y = rt_native_from_value(&in[1]);
    int64_t n = ir_type_numel(&out.type);
    size_t bytes = (size_t)(n ? n : 1) * ir_dtype_size(c->dt);
    void *o1 = malloc(bytes), *o2 = malloc(bytes);
    memset(o1, 0x7f, bytes); /* garbage: every element must be written */
    memset(o2, 0x55, bytes);
    void *bufs[3] = {x, y, o1};
    fn(bufs, 0, plan.tasks);

    double d2 = 0, r2 = 0;
    for (int64_t i = 0; i < n; i++) {
        double a = at(o1, c->dt, i), r = out.data[i];
        d2 += (a - r) * (a - r);
        r2 += r * r;
    }
    double ratio = r2 > 0 ? sqrt(d2 / r2) : sqrt(d2);
    double tol = c->dt == IR_DTYPE_F32 ? 1e-5 : 1e-12;
    if (!(ratio <= tol)) fprintf(stderr, "  %s: norm ratio %.3g > %.3g\n", what, ratio, tol);
    CHECK(ratio <= tol);

    /* Pieces of the task range, last first: the same bytes. */
    void *bufs2[3] = {x, y, o2};
    int64_t cut1 = plan.tasks / 3, cut2 = (2 * plan.tasks) / 3 + (plan.tasks > 1);
    if (cut2 > plan.tasks) cut2 = plan.tasks;
    fn(bufs2, cut2, plan.tasks);
    fn(bufs2, cut1, cut2);
    fn(bufs2, 0, cut1);
    if (memcmp(o1, o2, bytes) != 0) fprintf(stderr, "  %s: split range differs (tasks %lld)\n", what, (long long)plan.tasks);
    CHECK(memcmp(o1, o2, bytes) == 0);
    /* One task per call. */
    memset(o2, 0x33, bytes);
    for (int64_t t = 0; t < plan.tasks; t++) fn(bufs2, t, t + 1);
    CHECK(memcmp(o1, o2, bytes) == 0);

    free(x), free(y), free(o1), free(o2);
    ir_value_free(&in[0]), ir_value_free(&in[1]), ir_value_free(&out);
    ir_graph_free(g);
}

static const int64_t SHAPES[][3] = {
    {1, 1, 1}, {3, 5, 7}, {17, 33, 65}, {64, 64, 64}, {128, 96, 200},
    {15, 31, 300}, {113, 257, 3}, {29, 530, 40}, {1, 40, 17}, {40, 1, 17},
};

static void test_shapes(void) {
    for (int d = 0; d < 2; d++)
        for (size_t s = 0; s < sizeof SHAPES / sizeof SHAPES[0]; s++)
            for (int t = 0; t < 4; t++) {
                Case c = {.M = SHAPES[s][0], .N = SHAPES[s][1], .K = SHAPES[s][2], .ta = t & 1, .tb = t >> 1,
                          .dt = d ? IR_DTYPE_F64 : IR_DTYPE_F32};
                run_case(&c);
            }
}

static void test_batched(void) {
    static const int64_t shapes[][3] = {{3, 5, 7}, {17, 33, 65}, {20, 40, 130}};
    for (int d = 0; d < 2; d++)
        for (size_t s = 0; s < 3; s++)
            for (int shared = 0; shared < 3; shared++)
                for (int t = 0; t < 4; t++) {
                    Case c = {.batch = 3, .shared = shared, .M = shapes[s][0], .N = shapes[s][1],
                              .K = shapes[s][2], .ta = t & 1, .tb = t >> 1, .dt = d ? IR_DTYPE_F64 : IR_DTYPE_F32};
                    run_case(&c);
                }
}

/* --- LLVM IR and assembly ------------------------------------------------------------------ */

static void test_llvm(void) {
    bool avx512 = cc_jit_has_avx512(jit);
    fprintf(stderr, "host cpu %s, avx512f %s\n", cc_jit_cpu(jit, NULL), avx512 ? "yes" : "no");
    for (int d = 0; d < 2; d++) {
        Case c = {.M = 64, .N = 64, .K = 64, .tb = true, .dt = d ? IR_DTYPE_F64 : IR_DTYPE_F32};
        IrId mm;
        IrGraph *g = case_graph(&c, &mm);
        LlmcErr err = {0};
        const char *vec = d ? (avx512 ? "<8 x double>" : "<4 x double>") : (avx512 ? "<16 x float>" : "<8 x float>");
        for (int opt = 0; opt < 2; opt++) {
            char *ir = cc_codegen_matmul_ir(jit, g, mm, opt, &err);
            CHECK(ir != NULL);
            if (!ir) {
                fprintf(stderr, "  ir: %s\n", err.msg);
                continue;
            }
            CHECK(strstr(ir, vec) != NULL);
            CHECK(strstr(ir, "llvm.fma") != NULL);
            CHECK(strstr(ir, "define void @llmc_mm(ptr") != NULL);
            CHECK(strstr(ir, " fast ") == NULL && strstr(ir, " contract ") == NULL);
            int decls = 0;
            for (const char *p = ir; (p = strstr(p, "\ndeclare ")); p++) {
                const char *at_ = strchr(p, '@');
                bool intrinsic = at_ && strncmp(at_, "@llvm.", 6) == 0;
                if (!intrinsic) fprintf(stderr, "  non-intrinsic declaration: %.80s\n", p + 1);
                CHECK(intrinsic);
                decls++;
            }
            CHECK(decls >= 1);
            free(ir);
        }
        char *as = cc_codegen_matmul_asm(jit, g, mm, &err);
        CHECK(as != NULL);
        if (as && avx512) {
            bool zmm_fma = false;
            for (const char *p = as; (p = strstr(p, "vfmadd")); p++) {
                const char *eol = strchr(p, '\n');
                const char *z = strstr(p, "%zmm");
                if (z && (!eol || z < eol)) zmm_fma = true;
            }
            CHECK(zmm_fma);
            CHECK(strstr(as, "call") == NULL || strstr(as, "llmc_mm.micro") != NULL);
        }
        free(as);
        ir_graph_free(g);
    }
}

static void test_rejects(void) {
    IrGraph *g = ir_graph_new("k");
    IrBuilder b;
    ir_builder_init(&b, g);
    int64_t dims[2] = {4, 5};
    IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", ir_type_make(IR_DTYPE_F32, 2, dims));
    IrId n = ir_build_unary(&b, IR_OP_NEG, x);
    LlmcErr err = {0};
    CcKernelFn fn = NULL;
    CHECK(!cc_codegen_matmul(jit, g, n, &fn, &err) && err.set);
    llmc_err_clear(&err);
    CHECK(!cc_codegen_matmul(jit, g, 99, &fn, &err) && err.set);
    ir_graph_free(g);
}

int main(void) {
    LlmcErr err = {0};
    jit = cc_jit_new(&err);
    if (!jit) {
        fprintf(stderr, "cc_jit_new: %s\n", err.msg);
        return 1;
    }
    test_shapes();
    test_batched();
    test_llvm();
    test_rejects();
    fprintf(stderr, "%d matmul cases\n", cases);
    cc_jit_free(jit);
    TEST_MAIN();
}
