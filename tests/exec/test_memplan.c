/* tests/exec/test_memplan.c — the memory plan (compiler/memplan.c): exact offsets on
 * hand-built fused graphs (a chain of matmuls, a diamond with an in-place add, cases
 * where in place is not allowed, among them an input read through a broadcast), the checker rejecting a broken plan, and every tiny
 * model's @micro and @update: the plan checks, peak <= sum (peak < sum for @micro), and
 * planning twice gives the same plan.
 */
#include "fuse/fuse_check.h"

enum { N = 64 }; /* [N, N] f32: 16384 bytes */
static const uint64_t SZ = N * N * 4;

static IrId mat_input(IrBuilder *b, const char *name, IrDtype dt) {
    int64_t dims[2] = {N, N};
    return ir_build_input(b, IR_ROLE_PARAM, name, ir_type_make(dt, 2, dims));
}

static IrId transpose(IrBuilder *b, IrId x) {
    static const int64_t perm[2] = {1, 0};
    return ir_build_permute(b, x, 2, perm);
}

static bool plans_equal(const CcMemPlan *a, const CcMemPlan *b) {
    size_t n = a->n_nodes;
    return a->n_nodes == b->n_nodes && a->peak_bytes == b->peak_bytes && a->total_bytes == b->total_bytes &&
           a->n_buffers == b->n_buffers && a->n_inplace == b->n_inplace &&
           memcmp(a->offset, b->offset, n * sizeof *a->offset) == 0 &&
           memcmp(a->size, b->size, n * sizeof *a->size) == 0 &&
           memcmp(a->first, b->first, n * sizeof *a->first) == 0 &&
           memcmp(a->last, b->last, n * sizeof *a->last) == 0 &&
           memcmp(a->inplace_of, b->inplace_of, n * sizeof *a->inplace_of) == 0;
}

/* Fuses and plans g; checks the fusion, the plan, and determinism. */
static bool plan(const IrGraph *g, CcFusion *f, CcMemPlan *p, const char *what) {
    LlmcErr err = {0};
    bool ok = cc_fuse(g, f, &err);
    CHECK(ok);
    if (!ok) {
        fprintf(stderr, "%s: %s\n", what, err.msg);
        return false;
    }
    CHECK(fusion_check(g, f) == 0);
    ok = cc_memplan(f, p, &err);
    CHECK(ok);
    if (!ok) {
        fprintf(stderr, "%s: %s\n", what, err.msg);
        cc_fusion_free(f);
        return false;
    }
    bool checked = cc_memplan_check(f, p, &err);
    if (!checked) fprintf(stderr, "%s: %s\n", what, err.msg);
    CHECK(checked);
    CHECK(p->peak_bytes <= p->total_bytes);
    CcMemPlan again;
    CHECK(cc_memplan(f, &again, &err));
    CHECK(plans_equal(p, &again));
    cc_memplan_free(&again);
    return true;
}

/* h1 -> h2 -> h3 -> y (4 matmul kernels) plus a dead matmul nobody reads. */
static void test_chain(void) {
    IrGraph *g = ir_graph_new("chain");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrId x = mat_input(&b, "x", IR_DTYPE_F32), w1 = mat_input(&b, "w1", IR_DTYPE_F32);
    IrId w2 = mat_input(&b, "w2", IR_DTYPE_F32), w3 = mat_input(&b, "w3", IR_DTYPE_F32);
    IrId h1 = ir_build_matmul(&b, x, w1, false, false);
    IrId h2 = ir_build_matmul(&b, h1, w2, false, false);
    IrId dead = ir_build_matmul(&b, x, w3, false, false);
    IrId h3 = ir_build_matmul(&b, h2, w3, false, false);
    IrId y = ir_build_matmul(&b, h3, w1, false, false);
    CHECK(ir_builder_ok(&b));
    ir_graph_add_output(g, "y", y);
    CcFusion f;
    CcMemPlan p;
    if (plan(g, &f, &p, "chain")) {
        CHECK_EQ_INT(f.n_kernels, 5);
        CHECK_EQ_INT(p.n_buffers, 4); /* h1 h2 dead h3; y is a graph output */
        CHECK_EQ_INT(p.offset[y], CC_MEMPLAN_NONE);
        CHECK_EQ_INT(p.offset[x], CC_MEMPLAN_NONE);
        CHECK_EQ_INT(p.total_bytes, 4 * SZ);
        /* k0 h1 @0; k1 h2 @SZ, h1 freed; k2 dead @0 (best fit), freed; k3 h3 @0 */
        CHECK_EQ_INT(p.offset[h1], 0);
        CHECK_EQ_INT(p.offset[h2], SZ);
        CHECK_EQ_INT(p.offset[dead], 0);
        CHECK_EQ_INT(p.first[dead], p.last[dead]);
        CHECK_EQ_INT(p.offset[h3], 0);
        CHECK_EQ_INT(p.peak_bytes, 2 * SZ);
        CHECK_EQ_INT(p.n_inplace, 0);
        fprintf(stderr, "chain: peak %llu of %llu\n", (unsigned long long)p.peak_bytes, (unsigned long long)p.total_bytes);
        /* the checker catches two live buffers sharing bytes */
        p.offset[h2] = 0;
        LlmcErr err = {0};
        CHECK(!cc_memplan_check(&f, &p, &err));
        CHECK(strstr(err.msg, "overlap") != NULL);
        cc_memplan_free(&p);
        cc_fusion_free(&f);
    }
    ir_graph_free(g);
}

/* a = x@w; l = a^T; r = a^T; yl = l@w; yr = r@w; d = l + r (in place over l); y = d@w.
 * l and r are read by two kernels each, so they stay MOVEMENT kernels (buffers) rather
 * than joining d's kernel as index arithmetic. */
static void test_diamond(void) {
    IrGraph *g = ir_graph_new("diamond");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrId x = mat_input(&b, "x", IR_DTYPE_F32), w = mat_input(&b, "w", IR_DTYPE_F32);
    IrId a = ir_build_matmul(&b, x, w, false, false);
    IrId l = transpose(&b, a), r = transpose(&b, a);
    IrId yl = ir_build_matmul(&b, l, w, false, false), yr = ir_build_matmul(&b, r, w, false, false);
    IrId d = ir_build_binary(&b, IR_OP_ADD, l, r);
    IrId y = ir_build_matmul(&b, d, w, false, false);
    CHECK(ir_builder_ok(&b));
    ir_graph_add_output(g, "y", y);
    ir_graph_add_output(g, "yl", yl);
    ir_graph_add_output(g, "yr", yr);
    CcFusion f;
    CcMemPlan p;
    if (plan(g, &f, &p, "diamond")) {
        CHECK_EQ_INT(f.n_kernels, 7);
        CHECK_EQ_INT(p.n_buffers, 4);
        CHECK_EQ_INT(p.total_bytes, 4 * SZ);
        CHECK_EQ_INT(p.peak_bytes, 3 * SZ); /* a, l, r live at r's kernel */
        CHECK_EQ_INT(p.n_inplace, 1);
        CHECK_EQ_INT(p.inplace_of[d], l);
        CHECK_EQ_INT(p.offset[d], p.offset[l]);
        /* the checker rejects an in-place claim the rule does not allow */
        p.inplace_of[d] = a;
        LlmcErr err = {0};
        CHECK(!cc_memplan_check(&f, &p, &err));
        cc_memplan_free(&p);
        cc_fusion_free(&f);
    }
    ir_graph_free(g);
}

/* Elementwise kernels that must not write in place, and one that must pick its dying input:
 *   c64 = cast(a^T, f64)          sizes differ: no
 *   s   = p + q, p read later     over q (dies here), not p
 *   e   = neg(exp(q2)), exp(q2) a graph output: two outputs, no
 *   t   = neg(m^T), m dying here but read through a permute member: no */
static void test_inplace_rules(void) {
    IrGraph *g = ir_graph_new("inplace");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrId x = mat_input(&b, "x", IR_DTYPE_F32), w = mat_input(&b, "w", IR_DTYPE_F32);
    IrId a = ir_build_matmul(&b, x, w, false, false);
    IrId c64 = ir_build_cast(&b, transpose(&b, a), IR_DTYPE_F64);
    IrId y0 = transpose(&b, c64);
    IrId pp = transpose(&b, a), q = transpose(&b, a);
    IrId yq = ir_build_matmul(&b, q, w, false, false); /* q: two reader kernels, a buffer */
    IrId s = ir_build_binary(&b, IR_OP_ADD, pp, q);
    IrId y1 = ir_build_matmul(&b, s, w, false, false);
    IrId y2 = ir_build_matmul(&b, pp, w, false, false);
    IrId q2 = transpose(&b, y2);
    IrId ex = ir_build_unary(&b, IR_OP_EXP, q2);
    IrId e = ir_build_unary(&b, IR_OP_NEG, ex);
    IrId y3 = ir_build_matmul(&b, e, w, false, false);
    IrId m = ir_build_matmul(&b, w, w, false, false);
    IrId t = ir_build_unary(&b, IR_OP_NEG, transpose(&b, m));
    IrId y4 = ir_build_matmul(&b, t, w, false, false);
    CHECK(ir_builder_ok(&b));
    ir_graph_add_output(g, "y0", y0);
    ir_graph_add_output(g, "y1", y1);
    ir_graph_add_output(g, "ex", ex);
    ir_graph_add_output(g, "y3", y3);
    ir_graph_add_output(g, "y4", y4);
    ir_graph_add_output(g, "yq", yq);
    CcFusion f;
    CcMemPlan p;
    if (plan(g, &f, &p, "inplace")) {
        CHECK_EQ_INT(p.inplace_of[c64], IR_ID_NONE);
        CHECK_EQ_INT(p.inplace_of[s], q);
        CHECK(p.offset[s] != p.offset[pp]);
        CHECK_EQ_INT(f.kernels[f.kernel_of[e]].n_outputs, 2);
        CHECK_EQ_INT(p.inplace_of[e], IR_ID_NONE);
        CHECK_EQ_INT(p.offset[ex], CC_MEMPLAN_NONE);
        CHECK_EQ_INT(f.kernel_of[t], f.kernel_of[t - 1]); /* the permute joined t's kernel */
        CHECK_EQ_INT(p.last[m], f.kernel_of[t]);
        CHECK_EQ_INT(p.inplace_of[t], IR_ID_NONE);
        CHECK_EQ_INT(p.n_inplace, 1);
        cc_memplan_free(&p);
        cc_fusion_free(&f);
    }
    ir_graph_free(g);
}

/* An input read through a broadcast member is never overwritten in place, even when its
 * size matches: a [N] row sum broadcast to [1, N] (map {1}) plus z, then a matmul. The
 * checker rejects the claim when forced. */
static void test_inplace_broadcast(void) {
    IrGraph *g = ir_graph_new("inplace_bcast");
    IrBuilder b;
    ir_builder_init(&b, g);
    int64_t row[2] = {1, N}, map1 = 1;
    IrId x = mat_input(&b, "x", IR_DTYPE_F32), w = mat_input(&b, "w", IR_DTYPE_F32);
    IrId z = ir_build_input(&b, IR_ROLE_DATA, "z", ir_type_make(IR_DTYPE_F32, 2, row));
    IrId a = ir_build_reduce(&b, IR_OP_REDUCE_SUM, x, 1, false); /* [N] */
    IrId s = ir_build_binary(&b, IR_OP_ADD, ir_build_broadcast(&b, a, 2, row, &map1), z);
    IrId y = ir_build_matmul(&b, s, w, false, false);
    CHECK(ir_builder_ok(&b));
    ir_graph_add_output(g, "y", y);
    CcFusion f;
    CcMemPlan p;
    if (plan(g, &f, &p, "inplace broadcast")) {
        CHECK_EQ_INT(f.n_kernels, 3); /* sum | broadcast, add | matmul */
        CHECK(p.offset[a] != CC_MEMPLAN_NONE && p.offset[s] != CC_MEMPLAN_NONE);
        CHECK_EQ_INT(p.last[a], p.first[s]);
        CHECK_EQ_INT(p.inplace_of[s], IR_ID_NONE);
        CHECK(p.offset[s] != p.offset[a]);
        p.inplace_of[s] = a;
        p.offset[s] = p.offset[a];
        LlmcErr err = {0};
        CHECK(!cc_memplan_check(&f, &p, &err));
        CHECK(strstr(err.msg, "rule does not allow") != NULL);
        cc_memplan_free(&p);
        cc_fusion_free(&f);
    }
    ir_graph_free(g);
}

static void test_models(void) {
    static const char *const names[] = {"gpt2-tiny",    "llama-tiny", "mqa-tiny", "moe-tiny",   "moe-alt-tiny",
                                        "parallel-tiny", "transformer-tiny", "fortune"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        IrModule m;
        CcTrainStep step;
        bool ok = step_load(names[i], &m, &step);
        CHECK(ok);
        if (ok) {
            const IrGraph *gs[2] = {step.micro, step.update};
            for (int j = 0; j < 2; j++) {
                CcFusion f;
                CcMemPlan p;
                if (!plan(gs[j], &f, &p, names[i])) continue;
                fprintf(stderr, "%-16s @%-6s %4u kernels %4u buffers (%3u in place): peak %9llu of %9llu bytes (%.1f%%)\n",
                        names[i], ir_graph_name(gs[j]), f.n_kernels, p.n_buffers, p.n_inplace,
                        (unsigned long long)p.peak_bytes, (unsigned long long)p.total_bytes,
                        100.0 * (double)p.peak_bytes / (double)(p.total_bytes ? p.total_bytes : 1));
                if (j == 0) CHECK(p.peak_bytes < p.total_bytes);
                cc_memplan_free(&p);
                cc_fusion_free(&f);
            }
        }
        cc_train_step_free(&step);
        ir_module_free(&m);
    }
}

int main(void) {
    test_chain();
    test_diamond();
    test_inplace_rules();
    test_inplace_broadcast();
    test_models();
    TEST_MAIN();
}
