/* tests/jit/test_jit_matmul_epilogue.c — MATMUL kernels with a fused elementwise epilogue
 * (cc_codegen_matmul_kernel) against the reference interpreter.
 *
 * Builder graphs, each fused by cc_fuse into exactly one MATMUL kernel:
 *   - bias + GeLU: gelu(x @ W + b), b an [N] input seen through a broadcast (index
 *     arithmetic), GeLU's tanh form with rank-0 and splat constants;
 *   - scale + residual: (x @ W) * s + r, s a rank-0 input (splatted), r an [.., M, N] input;
 * f32 and f64, every ta/tb, shapes with edge tiles and several KC / NC blocks, and a
 * batched case with a shared rank-2 W; and operands reached through movement chains inside
 * the kernel (permuted x / W, x reshaped [B, T, D] -> [B*T, D], a batched permute). Tolerances: ||jit - ref|| / ||ref|| <= 1e-5 (f32),
 * 1e-12 (f64). Calling the kernel over pieces of its task range, last first, and one task
 * per call, gives the same bytes as one call.
 *
 * Then gpt2-tiny's @micro (-D batch=1 -D seq=8, cc_train_step_build, cc_fuse): every
 * MATMUL kernel that cc_codegen_matmul_kernel accepts matches one interpreter run of the
 * whole graph (f32 mode, each kernel fed the interpreter's values of its inputs, every
 * output compared at 1e-5); the others must say "not supported yet". Counts are printed.
 *
 * Movement trees with slice / concat (test_slice_concat): the MoE combine's epilogue
 * add(x @ W^T, slice(g)) (rows cut, stepped columns), a concat addend, a permuted and a
 * reshape(slice) addend, and operands x = slice(wider x), W = concat(w1, w2) along K;
 * f32 and f64, at the tolerances above.
 *
 * Whole models (test_model_kernels): every kernel function of moe-tiny's and
 * moe-alt-tiny's @micro and @update (cc_kernel_call / cc_codegen_kernel, every kind)
 * compiles and matches one interpreter run: INDEX and MOVEMENT kernels bit for bit, the
 * others at 1e-5 by norm ratio (a sum cancelling to ~0 within the f32 summation bound).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "runtime.h"
#include "frontend.h"
#include "test.h"
#include "fuse/fuse_check.h"

/* gpt2-tiny at one short sequence keeps the whole-step checks fast. */
static const FeOverride tiny_batch[2] = {{"batch", "1"}, {"seq", "8"}};

static CcJit *jit;
static int n_cases;

static uint64_t rng = 0xD1B54A32D192ED03ull;
static double urand(void) { /* [0, 1) */
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) * 0x1.0p-53;
}

/* ||jit - ref|| / ||ref|| over finite elements; non-finite ones must be equal. */
static void compare(const char *what, const void *out, const IrValue *ref, double tol) {
    int64_t n = ir_type_numel(&ref->type);
    double d2 = 0, r2 = 0;
    int bad = 0;
    for (int64_t i = 0; i < n; i++) {
        double a = rt_native_at(out, ref->type.dtype, i), r = ref->data[i];
        if ((isnan(a) && isnan(r)) || a == r) continue;
        if (!isfinite(a) || !isfinite(r)) {
            bad++;
            continue;
        }
        d2 += (a - r) * (a - r);
        r2 += r * r;
    }
    double ratio = r2 > 0 ? sqrt(d2 / r2) : sqrt(d2);
    if (bad || !(ratio <= tol)) fprintf(stderr, "  %s: %d non-finite mismatches, norm ratio %.3g > %.3g\n", what, bad, ratio, tol);
    CHECK(bad == 0);
    CHECK(ratio <= tol);
}

/* Runs fn over [0, tasks) once, then in three pieces (last first), then one task per
 * call: the outputs must be byte-identical. Returns the first run's outputs (bufs[n_in..]
 * are replaced by malloc'd buffers, freed by the caller). */
static void run_split(CcKernelFn fn, void **bufs, uint32_t n_in, const IrGraph *g, const CcKernel *k,
                      int64_t tasks, const char *what) {
    uint32_t n_out = k->n_outputs;
    size_t *bytes = calloc(n_out, sizeof *bytes);
    void **o2 = calloc(n_out, sizeof *o2);
    for (uint32_t o = 0; o < n_out; o++) {
        bytes[o] = (size_t)ir_type_bytes(&ir_graph_node(g, k->outputs[o])->type);
        bufs[n_in + o] = malloc(bytes[o]);
        memset(bufs[n_in + o], 0x7f, bytes[o]); /* garbage: every element must be written */
        o2[o] = malloc(bytes[o]);
    }
    fn(bufs, 0, tasks);
    void **bufs2 = calloc(n_in + n_out, sizeof *bufs2);
    memcpy(bufs2, bufs, n_in * sizeof *bufs);
    for (uint32_t o = 0; o < n_out; o++) bufs2[n_in + o] = o2[o];
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t o = 0; o < n_out; o++) memset(o2[o], pass ? 0x33 : 0x55, bytes[o]);
        if (pass == 0) {
            int64_t cut1 = tasks / 3, cut2 = (2 * tasks) / 3 + (tasks > 1);
            if (cut2 > tasks) cut2 = tasks;
            fn(bufs2, cut2, tasks);
            fn(bufs2, cut1, cut2);
            fn(bufs2, 0, cut1);
        } else {
            for (int64_t t = 0; t < tasks; t++) fn(bufs2, t, t + 1);
        }
        for (uint32_t o = 0; o < n_out; o++) {
            bool same = memcmp(bufs[n_in + o], o2[o], bytes[o]) == 0;
            if (!same) fprintf(stderr, "  %s: output %%%u differs under a split (pass %d)\n", what, k->outputs[o], pass);
            CHECK(same);
        }
    }
    for (uint32_t o = 0; o < n_out; o++) free(o2[o]);
    free(o2);
    free(bufs2);
    free(bytes);
}

/* --- builder graphs -------------------------------------------------------------------------- */

typedef enum Epilogue { EPI_BIAS_GELU, EPI_SCALE_RESIDUAL } Epilogue;

typedef struct Case {
    Epilogue epi;
    int64_t batch; /* 0: rank 2; else x rank 3, W shared rank 2 */
    int64_t M, N, K;
    bool ta, tb;
    IrDtype dt;
} Case;

static IrGraph *case_graph(const Case *c) {
    IrGraph *g = ir_graph_new("epi");
    IrBuilder b;
    ir_builder_init(&b, g);
    int64_t xd[3], od[3];
    uint32_t r = 0;
    if (c->batch) xd[r] = od[r] = c->batch, r++;
    xd[r] = c->ta ? c->K : c->M;
    xd[r + 1] = c->ta ? c->M : c->K;
    od[r] = c->M;
    od[r + 1] = c->N;
    int64_t wd[2] = {c->tb ? c->N : c->K, c->tb ? c->K : c->N};
    IrType ot = ir_type_make(c->dt, r + 2, od);
    IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", ir_type_make(c->dt, r + 2, xd));
    IrId w = ir_build_input(&b, IR_ROLE_PARAM, "w", ir_type_make(c->dt, 2, wd));
    IrId y;
    if (c->epi == EPI_BIAS_GELU) {
        IrId bias = ir_build_input(&b, IR_ROLE_PARAM, "b", ir_type_make(c->dt, 1, &c->N));
        IrId mm = ir_build_matmul(&b, x, w, c->ta, c->tb);
        IrId h = ir_build_binary_bcast(&b, IR_OP_ADD, mm, bias);
        /* 0.5 h (1 + tanh(sqrt(2/pi) (h + 0.044715 h^3))) */
        double half = 0.5, one = 1, k0 = 0.7978845608028654, k1 = 0.044715;
        IrId h3 = ir_build_binary(&b, IR_OP_MUL, ir_build_binary(&b, IR_OP_MUL, h, h), h);
        IrId in = ir_build_binary(&b, IR_OP_ADD, h, ir_build_binary_bcast(&b, IR_OP_MUL, ir_build_scalar(&b, c->dt, k1), h3));
        IrId t = ir_build_unary(&b, IR_OP_TANH, ir_build_binary(&b, IR_OP_MUL, ir_build_const(&b, ot, &k0, 1), in));
        IrId onep = ir_build_binary(&b, IR_OP_ADD, ir_build_const(&b, ot, &one, 1), t);
        y = ir_build_binary(&b, IR_OP_MUL, ir_build_binary(&b, IR_OP_MUL, ir_build_const(&b, ot, &half, 1), h), onep);
    } else {
        IrId s = ir_build_input(&b, IR_ROLE_PARAM, "s", ir_type_make(c->dt, 0, NULL));
        IrId res = ir_build_input(&b, IR_ROLE_DATA, "r", ot);
        IrId mm = ir_build_matmul(&b, x, w, c->ta, c->tb);
        y = ir_build_binary(&b, IR_OP_ADD, ir_build_binary_bcast(&b, IR_OP_MUL, mm, s), res);
    }
    ir_graph_add_output(g, "y", y);
    CHECK(ir_builder_ok(&b));
    return g;
}

/* Fuses g (which must give one MATMUL kernel), compiles it, runs it under splits and
 * compares with the interpreter at dt's tolerance; frees g. */
static void run_graph(IrGraph *g, IrDtype dt, const char *what) {
    n_cases++;
    LlmcErr err = {0};
    CcFusion f;
    CHECK(cc_fuse(g, &f, &err));
    CHECK(f.n_kernels == 1 && f.kernels[0].kind == CC_KERNEL_MATMUL);
    if (f.n_kernels != 1 || f.kernels[0].kind != CC_KERNEL_MATMUL) {
        fprintf(stderr, "  %s: fused into %u kernels\n", what, f.n_kernels);
        cc_fusion_free(&f);
        ir_graph_free(g);
        return;
    }
    const CcKernel *k = &f.kernels[0];
    uint32_t n_in = ir_graph_inputs(g, NULL);
    IrId *in_ids = malloc(n_in * sizeof *in_ids);
    ir_graph_inputs(g, in_ids);
    IrValue *in = calloc(n_in, sizeof *in), out;
    memset(&out, 0, sizeof out);
    for (uint32_t i = 0; i < n_in; i++) {
        ir_value_alloc(&in[i], ir_graph_node(g, in_ids[i])->type);
        for (int64_t e = 0; e < ir_type_numel(&in[i].type); e++) {
            double v = urand() * 2 - 1;
            in[i].data[e] = dt == IR_DTYPE_F32 ? (double)(float)v : v;
        }
    }
    IrInterpOptions opt = {.precision = dt == IR_DTYPE_F32 ? IR_PRECISION_F32 : IR_PRECISION_F64, .ranks = 1};
    CHECK(ir_interp_run(g, &opt, in, &out, &err));
    CcKernelFn fn = NULL;
    bool ok = cc_codegen_matmul_kernel(jit, g, k, &fn, &err);
    if (!ok) fprintf(stderr, "  %s: %s\n", what, err.msg);
    CHECK(ok);
    IrId mm = IR_ID_NONE;
    for (uint32_t i = 0; i < k->n_nodes; i++)
        if (g->nodes[k->nodes[i]].op == IR_OP_MATMUL) mm = k->nodes[i];
    CcMatmulPlan plan;
    CHECK(cc_matmul_plan(jit, g, mm, &plan, &err));
    CHECK(k->n_outputs == 1);
    if (ok && k->n_outputs == 1) {
        void **bufs = calloc(k->n_inputs + 1, sizeof *bufs);
        for (uint32_t i = 0; i < k->n_inputs; i++) {
            uint32_t j = 0;
            while (j < n_in && in_ids[j] != k->inputs[i]) j++;
            CHECK(j < n_in);
            bufs[i] = j < n_in ? rt_native_from_value(&in[j]) : NULL;
        }
        run_split(fn, bufs, k->n_inputs, g, k, plan.tasks, what);
        compare(what, bufs[k->n_inputs], &out, dt == IR_DTYPE_F32 ? 1e-5 : 1e-12);
        for (uint32_t i = 0; i <= k->n_inputs; i++) free(bufs[i]);
        free(bufs);
    }
    for (uint32_t i = 0; i < n_in; i++) ir_value_free(&in[i]);
    free(in);
    free(in_ids);
    ir_value_free(&out);
    cc_fusion_free(&f);
    ir_graph_free(g);
}

static void run_case(const Case *c) {
    char what[160];
    snprintf(what, sizeof what, "%s %s b%lld %lldx%lldx%lld ta%d tb%d", c->epi == EPI_BIAS_GELU ? "bias+gelu" : "scale+residual",
             ir_dtype_name(c->dt), (long long)c->batch, (long long)c->M, (long long)c->N, (long long)c->K, c->ta, c->tb);
    run_graph(case_graph(c), c->dt, what);
}

static void test_builder(void) {
    static const int64_t shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {17, 33, 65}, {15, 31, 300}, {113, 257, 3}, {29, 530, 40}};
    for (int d = 0; d < 2; d++)
        for (int epi = 0; epi < 2; epi++) {
            IrDtype dt = d ? IR_DTYPE_F64 : IR_DTYPE_F32;
            for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
                for (int t = 0; t < 4; t++) {
                    Case c = {.epi = (Epilogue)epi, .M = shapes[s][0], .N = shapes[s][1], .K = shapes[s][2],
                              .ta = t & 1, .tb = t >> 1, .dt = dt};
                    run_case(&c);
                }
            Case c = {.epi = (Epilogue)epi, .batch = 3, .M = 20, .N = 40, .K = 130, .tb = true, .dt = dt};
            run_case(&c);
        }
}

/* Operands behind movement chains absorbed into the MATMUL kernel (read by the pack
 * through the chain's index mapping):
 *   - permuted x: x [K, M] -> permute -> [M, K] (and, with ta, the matmul transposes it
 *     back), tanh epilogue; also a permuted W [N, K] -> [K, N];
 *   - reshaped x: x [B, T, D] -> reshape -> [B*T, D] @ W [D, N] + b, b broadcast;
 *   - batched: x [M, B, K] -> permute -> [B, M, K] @ W [K, N], a shared rank-2 W. */
static void test_movement(void) {
    static const int64_t shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {17, 33, 65}, {15, 31, 300}, {113, 257, 3}};
    for (int d = 0; d < 2; d++) {
        IrDtype dt = d ? IR_DTYPE_F64 : IR_DTYPE_F32;
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int t = 0; t < 4; t++) {
                int64_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2], perm[2] = {1, 0};
                bool ta = t & 1, pw = t >> 1; /* pw: W is permuted too */
                IrGraph *g = ir_graph_new("perm");
                IrBuilder b;
                ir_builder_init(&b, g);
                int64_t xd[2] = {ta ? M : K, ta ? K : M}, wd[2] = {pw ? N : K, pw ? K : N};
                IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", ir_type_make(dt, 2, xd));
                IrId w = ir_build_input(&b, IR_ROLE_PARAM, "w", ir_type_make(dt, 2, wd));
                if (pw) w = ir_build_permute(&b, w, 2, perm);
                IrId mm = ir_build_matmul(&b, ir_build_permute(&b, x, 2, perm), w, ta, false);
                ir_graph_add_output(g, "y", ir_build_unary(&b, IR_OP_TANH, mm));
                CHECK(ir_builder_ok(&b));
                char what[160];
                snprintf(what, sizeof what, "permute %s %lldx%lldx%lld ta%d pw%d", ir_dtype_name(dt), (long long)M,
                         (long long)N, (long long)K, ta, pw);
                run_graph(g, dt, what);
            }
        static const int64_t btdn[][4] = {{1, 1, 1, 1}, {2, 8, 16, 48}, {3, 37, 65, 300}, {2, 70, 257, 5}};
        for (size_t s = 0; s < sizeof btdn / sizeof btdn[0]; s++) {
            int64_t B = btdn[s][0], T = btdn[s][1], D = btdn[s][2], N = btdn[s][3];
            IrGraph *g = ir_graph_new("reshape");
            IrBuilder b;
            ir_builder_init(&b, g);
            int64_t xd[3] = {B, T, D}, x2[2] = {B * T, D}, wd[2] = {D, N};
            IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", ir_type_make(dt, 3, xd));
            IrId w = ir_build_input(&b, IR_ROLE_PARAM, "w", ir_type_make(dt, 2, wd));
            IrId bias = ir_build_input(&b, IR_ROLE_PARAM, "b", ir_type_make(dt, 1, &N));
            IrId mm = ir_build_matmul(&b, ir_build_reshape(&b, x, 2, x2), w, false, false);
            ir_graph_add_output(g, "y", ir_build_binary_bcast(&b, IR_OP_ADD, mm, bias));
            CHECK(ir_builder_ok(&b));
            char what[160];
            snprintf(what, sizeof what, "reshape %s [%lld,%lld,%lld]->[%lld,%lld] N%lld", ir_dtype_name(dt), (long long)B,
                     (long long)T, (long long)D, (long long)(B * T), (long long)D, (long long)N);
            run_graph(g, dt, what);
        }
        {
            int64_t Bt = 3, M = 20, K = 130, N = 40, xd[3] = {M, Bt, K}, wd[2] = {K, N}, perm[3] = {1, 0, 2};
            IrGraph *g = ir_graph_new("bperm");
            IrBuilder b;
            ir_builder_init(&b, g);
            IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", ir_type_make(dt, 3, xd));
            IrId w = ir_build_input(&b, IR_ROLE_PARAM, "w", ir_type_make(dt, 2, wd));
            IrId mm = ir_build_matmul(&b, ir_build_permute(&b, x, 3, perm), w, false, false);
            ir_graph_add_output(g, "y", ir_build_unary(&b, IR_OP_TANH, mm));
            CHECK(ir_builder_ok(&b));
            char what[160];
            snprintf(what, sizeof what, "batched permute %s", ir_dtype_name(dt));
            run_graph(g, dt, what);
        }
    }
}

/* Movement trees with slice and concat (read element by element, mv_value):
 *   - the MoE combine's epilogue: y = x @ W^T + slice(g [M+1, N] -> [M, N]) — the
 *     scatter_add result's last (dropped-slot) row cut off — also with a stepped slice
 *     along N and a concat of two inputs as the addend;
 *   - epilogue permute / reshape of inputs (chains that are not one direct broadcast);
 *   - operands: x sliced from a wider input, W a concat of two inputs along K. */
static void test_slice_concat(void) {
    static const int64_t shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {17, 33, 65}, {64, 64, 64}, {29, 530, 40}};
    for (int d = 0; d < 2; d++) {
        IrDtype dt = d ? IR_DTYPE_F64 : IR_DTYPE_F32;
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            int64_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
            char what[160];
            for (int v = 0; v < 5; v++) {
                IrGraph *g = ir_graph_new("epimove");
                IrBuilder b;
                ir_builder_init(&b, g);
                int64_t xd[2] = {M, K}, wd[2] = {N, K}, od[2] = {M, N};
                IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", ir_type_make(dt, 2, xd));
                IrId w = ir_build_input(&b, IR_ROLE_PARAM, "w", ir_type_make(dt, 2, wd));
                IrId addend;
                const char *name;
                if (v == 0) { /* slice of [M+1, N]: rows 0..M */
                    int64_t gd[2] = {M + 1, N}, st[2] = {0, 0};
                    IrId gi = ir_build_input(&b, IR_ROLE_DATA, "g", ir_type_make(dt, 2, gd));
                    addend = ir_build_slice(&b, gi, st, od, NULL);
                    name = "slice rows";
                } else if (v == 1) { /* stepped slice of [M+2, 2N+1]: rows 2.., columns 1, 3, .. */
                    int64_t gd[2] = {M + 2, 2 * N + 1}, st[2] = {2, 1}, en[2] = {M + 2, 2 * N + 1}, sp[2] = {1, 2};
                    IrId gi = ir_build_input(&b, IR_ROLE_DATA, "g", ir_type_make(dt, 2, gd));
                    addend = ir_build_slice(&b, gi, st, en, sp);
                    name = "stepped slice";
                } else if (v == 2) { /* concat along N of [M, 1] and [M, N-1] (or a splat) */
                    int64_t ad[2] = {M, 1}, bd[2] = {M, N - 1};
                    IrId a = ir_build_input(&b, IR_ROLE_DATA, "a", ir_type_make(dt, 2, ad));
                    double c = -0.25;
                    IrId rest = N > 1 ? ir_build_input(&b, IR_ROLE_DATA, "b", ir_type_make(dt, 2, bd))
                                      : IR_ID_NONE;
                    IrId parts[2] = {a, rest};
                    addend = N > 1 ? ir_build_concat(&b, parts, 2, 1) : ir_build_unary(&b, IR_OP_NEG, a);
                    if (N == 1) addend = ir_build_binary(&b, IR_OP_ADD, addend, ir_build_const(&b, ir_type_make(dt, 2, od), &c, 1));
                    name = "concat";
                } else if (v == 3) { /* permute of an [N, M] input */
                    int64_t td[2] = {N, M}, perm[2] = {1, 0};
                    IrId t = ir_build_input(&b, IR_ROLE_DATA, "t", ir_type_make(dt, 2, td));
                    addend = ir_build_permute(&b, t, 2, perm);
                    name = "permute";
                } else { /* slice of a reshape: [M*N + 3] -> slice [3..] -> [M, N] */
                    int64_t fd[1] = {M * N + 3}, st[1] = {3}, en[1] = {M * N + 3};
                    IrId fi = ir_build_input(&b, IR_ROLE_DATA, "f", ir_type_make(dt, 1, fd));
                    addend = ir_build_reshape(&b, ir_build_slice(&b, fi, st, en, NULL), 2, od);
                    name = "reshape(slice)";
                }
                IrId mm = ir_build_matmul(&b, x, w, false, true);
                ir_graph_add_output(g, "y", ir_build_binary(&b, IR_OP_ADD, mm, addend));
                CHECK(ir_builder_ok(&b));
                snprintf(what, sizeof what, "epilogue %s %s %lldx%lldx%lld", name, ir_dtype_name(dt), (long long)M,
                         (long long)N, (long long)K);
                run_graph(g, dt, what);
            }
            /* operands: x = slice(xw [M, K+3], columns 2..K+2), W = concat(w1 [K1, N], w2 [K-K1, N]) along K */
            {
                IrGraph *g = ir_graph_new("opmove");
                IrBuilder b;
                ir_builder_init(&b, g);
                int64_t K1 = K / 2, xd[2] = {M, K + 3}, st[2] = {0, 2}, en[2] = {M, K + 2}, w1d[2] = {K1, N},
                        w2d[2] = {K - K1, N};
                IrId xw = ir_build_input(&b, IR_ROLE_DATA, "x", ir_type_make(dt, 2, xd));
                IrId w2 = ir_build_input(&b, IR_ROLE_PARAM, "w2", ir_type_make(dt, 2, w2d));
                IrId w = w2;
                if (K1 > 0) {
                    IrId parts[2] = {ir_build_input(&b, IR_ROLE_PARAM, "w1", ir_type_make(dt, 2, w1d)), w2};
                    w = ir_build_concat(&b, parts, 2, 0);
                }
                IrId mm = ir_build_matmul(&b, ir_build_slice(&b, xw, st, en, NULL), w, false, false);
                ir_graph_add_output(g, "y", ir_build_unary(&b, IR_OP_TANH, mm));
                CHECK(ir_builder_ok(&b));
                snprintf(what, sizeof what, "operands slice/concat %s %lldx%lldx%lld", ir_dtype_name(dt), (long long)M,
                         (long long)N, (long long)K);
                run_graph(g, dt, what);
            }
        }
    }
}

/* --- gpt2-tiny @micro ------------------------------------------------------------------ */


static void test_gpt2_tiny(void) {
    IrModule m;
    CcTrainStep step;
    CHECK(step_load_with("gpt2-tiny", tiny_batch, 2, &m, &step));
    if (!step.micro) return;
    const IrGraph *g = step.micro;
    LlmcErr err = {0};
    CcFusion f;
    CHECK(cc_fuse(g, &f, &err));
    IrValue *vals = step_run_all(g, urand);
    CHECK(vals != NULL);
    uint32_t supported = 0, unsupported = 0, with_epilogue = 0;
    for (uint32_t k = 0; vals && k < f.n_kernels; k++) {
        const CcKernel *kn = &f.kernels[k];
        if (kn->kind != CC_KERNEL_MATMUL) continue;
        CcKernelFn fn = NULL;
        if (!cc_codegen_matmul_kernel(jit, g, kn, &fn, &err)) {
            fprintf(stderr, "  %%k%u (root %%%u, %u nodes): %s\n", k, kn->root, kn->n_nodes, err.msg);
            CHECK(strstr(err.msg, "not supported yet") != NULL);
            unsupported++;
            llmc_err_clear(&err);
            continue;
        }
        supported++;
        with_epilogue += g->nodes[kn->root].op != IR_OP_MATMUL;
        IrId mm = IR_ID_NONE;
        for (uint32_t i = 0; i < kn->n_nodes; i++)
            if (g->nodes[kn->nodes[i]].op == IR_OP_MATMUL) mm = kn->nodes[i];
        CcMatmulPlan plan;
        CHECK(cc_matmul_plan(jit, g, mm, &plan, &err));
        void **bufs = calloc(kn->n_inputs + kn->n_outputs, sizeof *bufs);
        for (uint32_t i = 0; i < kn->n_inputs; i++) bufs[i] = rt_native_from_value(&vals[kn->inputs[i]]);
        char what[64];
        snprintf(what, sizeof what, "gpt2-tiny %%k%u (root %%%u, %u nodes)", k, kn->root, kn->n_nodes);
        run_split(fn, bufs, kn->n_inputs, g, kn, plan.tasks, what);
        for (uint32_t o = 0; o < kn->n_outputs; o++) compare(what, bufs[kn->n_inputs + o], &vals[kn->outputs[o]], 1e-5);
        for (uint32_t i = 0; i < kn->n_inputs + kn->n_outputs; i++) free(bufs[i]);
        free(bufs);
    }
    fprintf(stderr, "gpt2-tiny @micro (batch=1, seq=8): %u MATMUL kernels: %u supported (%u with an epilogue), "
            "%u not yet\n", supported + unsupported, supported, with_epilogue, unsupported);
    CHECK(supported > 0);
    CHECK(with_epilogue > 0);
    if (vals)
        for (IrId id = 0; id < g->n_nodes; id++) ir_value_free(&vals[id]);
    free(vals);
    cc_fusion_free(&f);
    cc_train_step_free(&step);
    ir_module_free(&m);
}

/* --- whole models: every kernel --------------------------------------------------------- */

/* ||out - ref|| over finite elements (no check). */
static double diff_norm(const void *out, const IrValue *ref) {
    double d2 = 0;
    for (int64_t i = 0; i < ir_type_numel(&ref->type); i++) {
        double a = rt_native_at(out, ref->type.dtype, i), r = ref->data[i];
        if ((isnan(a) && isnan(r)) || a == r || !isfinite(a) || !isfinite(r)) continue;
        d2 += (a - r) * (a - r);
    }
    return sqrt(d2);
}

/* 4 (len + 1) 2^-24 ||(sum_j |x_oj|)_o||, the largest over the kernel's reduce_sum members
 * (len: the reduced axis): the f32 sequential-summation error bound of a sum, with room
 * for one chained sum — what a sum that cancels to ~0 (the cross-entropy's sum of
 * dlogits) can be off by against the interpreter's double accumulation (test_jit_reduce.c
 * holds such ROW outputs to the same bound). */
static double sum_bound(const IrGraph *g, const CcKernel *kn, const IrValue *vals) {
    double worst = 0;
    for (uint32_t i = 0; i < kn->n_nodes; i++) {
        const IrNode *r = ir_graph_node(g, kn->nodes[i]);
        if (r->op != IR_OP_REDUCE_SUM) continue;
        const IrValue *x = &vals[r->operands[0]];
        int64_t axis = r->attrs.reduce.axis, len = x->type.dims[axis], inner = 1;
        for (uint32_t a = (uint32_t)axis + 1; a < x->type.rank; a++) inner *= x->type.dims[a];
        int64_t outer = len > 0 && inner > 0 ? ir_type_numel(&x->type) / (len * inner) : 0;
        double a2 = 0;
        for (int64_t o = 0; o < outer; o++)
            for (int64_t j = 0; j < inner; j++) {
                double abs_sum = 0;
                for (int64_t l = 0; l < len; l++) abs_sum += fabs(x->data[(o * len + l) * inner + j]);
                a2 += abs_sum * abs_sum;
            }
        double b = 4.0 * (double)(len + 1) * 0x1.0p-24 * sqrt(a2);
        if (b > worst) worst = b;
    }
    return worst;
}

/* Every kernel function of a model's @micro and @update (default sizes; cc_fuse of the
 * step's graphs, bound generically through cc_kernel_call / cc_codegen_kernel) compiles
 * and matches one interpreter run of the whole graph (f32 mode, each kernel fed the
 * interpreter's values of its inputs): INDEX and MOVEMENT kernels bit for bit (value and
 * zero sign; nan for nan), the others at 1e-5 by norm ratio — or, for an output of a
 * kernel with reduce_sum members that misses it (a sum cancelling to ~0), within
 * sum_bound (counted and printed). RUNTIME kernels have no function. Counts are printed. */
static void test_model_kernels(const char *name) {
    IrModule m;
    CcTrainStep step;
    CHECK(step_load_with(name, NULL, 0, &m, &step));
    const IrGraph *graphs[2] = {step.micro, step.update};
    for (int gi = 0; gi < 2; gi++) {
        const IrGraph *g = graphs[gi];
        if (!g) continue;
        LlmcErr err = {0};
        CcFusion f;
        IrValue *vals = step_run_all(g, urand);
        CHECK(vals != NULL);
        if (!vals || !cc_fuse(g, &f, &err)) {
            CHECK(false);
            free(vals);
            continue;
        }
        void **natives = calloc(g->n_nodes, sizeof *natives);
        for (IrId id = 0; id < g->n_nodes; id++)
            if (vals[id].data) natives[id] = rt_native_from_value(&vals[id]);
        uint32_t n_fns = 0, n_exact = 0, n_bound = 0, per_kind[CC_KERNEL_COUNT] = {0};
        for (uint32_t k = 0; k < f.n_kernels; k++) {
            const CcKernel *kn = &f.kernels[k];
            bool exact = kn->kind == CC_KERNEL_INDEX || kn->kind == CC_KERNEL_MOVEMENT;
            per_kind[kn->kind]++;
            for (uint32_t fi = 0; fi < cc_kernel_functions(kn); fi++) {
                char what[128];
                snprintf(what, sizeof what, "%s @%s %%k%u (%s, root %%%u) fn %u", name, ir_graph_name(g), k,
                         cc_kernel_kind_name(kn->kind), kn->root, fi);
                CcKernelCall call;
                CcKernelFn fn = NULL;
                bool ok = cc_kernel_call(jit, g, kn, fi, &call, &err) && cc_codegen_kernel(jit, g, kn, fi, &fn, &err);
                if (!ok) fprintf(stderr, "  %s: %s\n", what, err.msg);
                CHECK(ok);
                llmc_err_clear(&err);
                if (!ok) continue;
                n_fns++;
                n_exact += exact;
                uint32_t n_in = call.n_bufs - call.n_written;
                void **bufs = calloc(call.n_bufs, sizeof *bufs);
                for (uint32_t i = 0; i < call.n_bufs; i++) {
                    const IrType *t = &ir_graph_node(g, call.bufs[i])->type;
                    size_t bytes = (size_t)ir_type_numel(t) * ir_dtype_size(t->dtype);
                    bufs[i] = i < n_in ? natives[call.bufs[i]] : malloc(bytes + 1);
                    if (i >= n_in) memset(bufs[i], 0x7f, bytes + 1); /* every element must be written */
                }
                fn(bufs, 0, call.items);
                for (uint32_t i = n_in; i < call.n_bufs; i++) {
                    const IrValue *ref = &vals[call.bufs[i]];
                    if (!exact) {
                        double dist = diff_norm(bufs[i], ref), r2 = 0;
                        for (int64_t e = 0; e < ir_type_numel(&ref->type); e++)
                            if (isfinite(ref->data[e])) r2 += ref->data[e] * ref->data[e];
                        bool missed = dist > 1e-5 * (r2 > 0 ? sqrt(r2) : 1);
                        if (missed && dist <= sum_bound(g, kn, vals)) { /* a cancelling sum's residue */
                            n_bound++;
                            continue;
                        }
                        compare(what, bufs[i], ref, 1e-5);
                        continue;
                    }
                    int bad = 0;
                    for (int64_t e = 0; e < ir_type_numel(&ref->type); e++) {
                        double a = rt_native_at(bufs[i], ref->type.dtype, e), r = ref->data[e];
                        if ((isnan(a) && isnan(r)) || (a == r && signbit(a) == signbit(r))) continue;
                        if (bad++ < 3) fprintf(stderr, "  %s [%lld]: jit %.9g ref %.9g\n", what, (long long)e, a, r);
                    }
                    CHECK(bad == 0);
                }
                for (uint32_t i = n_in; i < call.n_bufs; i++) free(bufs[i]);
                free(bufs);
                cc_kernel_call_free(&call);
            }
        }
        fprintf(stderr, "%s @%s: %u kernels (%u index, %u movement, %u matmul), %u functions compiled and matching "
                "(%u bit-exact; %u outputs within the f32 summation bound)\n", name, ir_graph_name(g), f.n_kernels,
                per_kind[CC_KERNEL_INDEX], per_kind[CC_KERNEL_MOVEMENT], per_kind[CC_KERNEL_MATMUL], n_fns, n_exact,
                n_bound);
        CHECK(n_fns > 0);
        for (IrId id = 0; id < g->n_nodes; id++) {
            free(natives[id]);
            ir_value_free(&vals[id]);
        }
        free(natives);
        free(vals);
        cc_fusion_free(&f);
    }
    cc_train_step_free(&step);
    ir_module_free(&m);
}

int main(void) {
    LlmcErr err = {0};
    jit = cc_jit_new(&err);
    if (!jit) fprintf(stderr, "cc_jit_new: %s\n", err.msg);
    CHECK(jit != NULL);
    if (jit) {
        test_builder();
        test_movement();
        test_slice_concat();
        test_gpt2_tiny();
        test_model_kernels("moe-tiny");
        test_model_kernels("moe-alt-tiny");
        fprintf(stderr, "%d builder cases compiled and compared\n", n_cases);
    }
    cc_jit_free(jit);
    TEST_MAIN();
}
