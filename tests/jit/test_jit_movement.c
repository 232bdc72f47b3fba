/* tests/jit/test_jit_movement.c — JIT-compiled MOVEMENT kernels (compiler/codegen_movement.c)
 * against the reference interpreter, bit for bit.
 *
 * Builder graphs whose one kernel is a MOVEMENT kernel: permute of a rank-3 tensor,
 * reshape, broadcast, a reshape/permute/broadcast chain, slice (with steps), concat of
 * three operands, slice of a concat, and a concat of flat runs (its per-operand loops); f32 (with -0 scattered in), f64 and i32. The
 * output equals the interpreter's bytes, and calls over pieces of the output range give
 * the same bytes as one call.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "runtime.h"
#include "test.h"

static CcJit *jit;
static int n_cases;
static uint64_t rng = 0x243F6A8885A308D3ull;

static double urand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) * 0x1.0p-53;
}

/* g's one kernel is a MOVEMENT kernel over g's inputs: compile, run whole and split,
 * compare bytes with the interpreter. */
static void check_graph(IrGraph *g, IrDtype dt, const char *what) {
    uint32_t n_in = ir_graph_inputs(g, NULL);
    IrId *in_ids = calloc(n_in + 1, sizeof *in_ids);
    ir_graph_inputs(g, in_ids);
    IrValue *in = calloc(n_in + 1, sizeof *in);
    IrValue ref = {0};
    for (uint32_t i = 0; i < n_in; i++) {
        ir_value_alloc(&in[i], g->nodes[in_ids[i]].type);
        for (int64_t e = 0; e < ir_type_numel(&in[i].type); e++) {
            double x = dt == IR_DTYPE_I32 ? floor(urand() * 2000) - 1000 : urand() * 8 - 4;
            if (dt == IR_DTYPE_F32) x = urand() < 0.05 ? -0.0 : (double)(float)x;
            in[i].data[e] = x;
        }
    }
    IrInterpOptions opt = {.precision = dt == IR_DTYPE_F64 ? IR_PRECISION_F64 : IR_PRECISION_F32, .ranks = 1};
    LlmcErr err = {0};
    CcFusion f;
    bool ok = ir_interp_run(g, &opt, in, &ref, &err) && cc_fuse(g, &f, &err);
    if (!ok) fprintf(stderr, "  %s: %s\n", what, err.msg);
    CHECK(ok);
    if (!ok) return;
    const CcKernel *k = &f.kernels[f.n_kernels - 1];
    CHECK(f.n_kernels == 1 && k->kind == CC_KERNEL_MOVEMENT);
    CcKernelFn fn = NULL;
    ok = cc_codegen_movement(jit, g, k, &fn, &err);
    if (!ok) fprintf(stderr, "  %s: %s\n", what, err.msg);
    CHECK(ok);
    if (ok) {
        CHECK(k->n_inputs == n_in);
        void **bufs = calloc(n_in + 1, sizeof *bufs);
        for (uint32_t i = 0; i < n_in; i++) bufs[i] = rt_native_from_value(&in[i]); /* inputs ascend, as k->inputs */
        int64_t n = ir_type_numel(&ref.type);
        size_t bytes = (size_t)n * ir_dtype_size(dt);
        void *want = rt_native_from_value(&ref), *whole = calloc(1, bytes + 1), *split = calloc(1, bytes + 1);
        bufs[n_in] = whole;
        fn(bufs, 0, n);
        bufs[n_in] = split;
        const int64_t cuts[] = {0, 1, 3, n / 2, n / 2 + 1, n - 1, n};
        int64_t at = 0;
        for (size_t c = 1; c < sizeof cuts / sizeof cuts[0]; c++) {
            int64_t e = cuts[c] < n ? cuts[c] : n;
            if (e < at) continue;
            fn(bufs, at, e);
            at = e;
        }
        bool same = memcmp(whole, want, bytes) == 0;
        if (!same) fprintf(stderr, "  %s: bytes differ from the interpreter\n", what);
        CHECK(same);
        CHECK(memcmp(whole, split, bytes) == 0);
        for (uint32_t i = 0; i < n_in; i++) free(bufs[i]);
        free(bufs);
        free(want);
        free(whole);
        free(split);
        n_cases++;
    }
    cc_fusion_free(&f);
    for (uint32_t i = 0; i < n_in; i++) ir_value_free(&in[i]);
    free(in);
    free(in_ids);
    ir_value_free(&ref);
}

typedef enum Case { C_PERMUTE3, C_RESHAPE, C_BROADCAST, C_CHAIN, C_SLICE, C_CONCAT, C_SLICE_CONCAT, C_CONCAT_RUNS, C_COUNT } Case;
static const char *const CASE_NAME[C_COUNT] = {"permute3", "reshape", "broadcast", "chain", "slice", "concat",
                                               "slice(concat)", "concat of runs"};

static void one_case(Case c, IrDtype dt) {
    IrGraph *g = ir_graph_new("mv");
    IrBuilder b;
    ir_builder_init(&b, g);
    int64_t d3[3] = {3, 5, 7}, perm[3] = {2, 0, 1};
    IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", ir_type_make(dt, 3, d3));
    IrId y = IR_ID_NONE;
    if (c == C_PERMUTE3) {
        y = ir_build_permute(&b, x, 3, perm);
    } else if (c == C_RESHAPE) {
        int64_t d[2] = {15, 7};
        y = ir_build_reshape(&b, x, 2, d);
    } else if (c == C_BROADCAST) {
        int64_t d[4] = {3, 4, 5, 7}, map[3] = {0, 2, 3};
        y = ir_build_broadcast(&b, x, 4, d, map);
    } else if (c == C_CHAIN) {
        int64_t r[2] = {15, 7}, p2[2] = {1, 0}, bd[3] = {2, 7, 15}, map[2] = {1, 2};
        y = ir_build_broadcast(&b, ir_build_permute(&b, ir_build_reshape(&b, x, 2, r), 2, p2), 3, bd, map);
    } else if (c == C_SLICE) {
        int64_t s[3] = {1, 0, 2}, e[3] = {3, 5, 7}, st[3] = {1, 2, 3};
        y = ir_build_slice(&b, x, s, e, st);
    } else if (c == C_CONCAT_RUNS) { /* one coordinate before the axis: a copy loop per operand */
        int64_t r[3] = {1, 15, 7}, d2[3] = {1, 4, 7}, p3[3] = {0, 2, 1};
        IrId x2 = ir_build_input(&b, IR_ROLE_DATA, "x2", ir_type_make(dt, 3, d2));
        IrId x3 = ir_build_permute(&b, ir_build_input(&b, IR_ROLE_DATA, "x3", ir_type_make(dt, 3, (int64_t[]){1, 7, 3})), 3, p3);
        IrId xs[3] = {ir_build_reshape(&b, x, 3, r), x2, x3};
        y = ir_build_concat(&b, xs, 3, 1);
    } else {
        int64_t d2[3] = {3, 2, 7}, d1[3] = {3, 1, 7};
        IrId x2 = ir_build_input(&b, IR_ROLE_DATA, "x2", ir_type_make(dt, 3, d2));
        IrId x3 = ir_build_input(&b, IR_ROLE_DATA, "x3", ir_type_make(dt, 3, d1));
        IrId xs[3] = {x2, x, x3};
        y = ir_build_concat(&b, xs, 3, 1);
        if (c == C_SLICE_CONCAT) {
            int64_t s[3] = {0, 1, 1}, e[3] = {3, 8, 6};
            y = ir_build_slice(&b, y, s, e, NULL);
        }
    }
    ir_graph_add_output(g, "y", y);
    CHECK(ir_builder_ok(&b));
    char what[64];
    snprintf(what, sizeof what, "%s %s", CASE_NAME[c], ir_dtype_name(dt));
    if (ir_builder_ok(&b)) check_graph(g, dt, what);
    ir_graph_free(g);
}

int main(void) {
    LlmcErr err = {0};
    jit = cc_jit_new(&err);
    if (!jit) fprintf(stderr, "cc_jit_new: %s\n", err.msg);
    CHECK(jit != NULL);
    if (jit) {
        static const IrDtype dts[3] = {IR_DTYPE_F32, IR_DTYPE_F64, IR_DTYPE_I32};
        for (int c = 0; c < C_COUNT; c++)
            for (int d = 0; d < 3; d++) one_case((Case)c, dts[d]);
        fprintf(stderr, "%d movement kernels compiled and compared\n", n_cases);
    }
    cc_jit_free(jit);
    TEST_MAIN();
}
