/* tests/mpi/test_mpi_interp.c — the interpreter's simulated ranks against real MPI ranks
 * on the sharded graphs (DESIGN §8). Run under mpirun with N ranks (or alone: N = 1):
 * for gpt2-tiny and moe-tiny under every strategy, the shard pass's @micro and @update
 * for N ranks run on the interpreter with N simulated ranks (every process simulates
 * them all) and through the executor on this real rank, its collectives over MPI; this
 * rank's outputs must agree with the simulation's for the same rank, within the JIT's
 * tolerance against the interpreter (tests/exec/test_train_jit.c's).
 *
 * Inputs are deterministic functions of (input name, element index in the unsharded
 * tensor, rank): a flat shard's element i on rank r is element r*shard + i of one
 * tensor, tokens differ per rank (rank r runs global micro-batch r: step_harness.h's
 * data), the rest is replicated.
 */
#include "runtime.h"
#include "../step/step_harness.h"

#include <math.h>

/* small enough that 4 processes each simulating 4 ranks stay within seconds */
static const FeOverride k_ov[] = {{"batch", "1"}, {"seq", "8"}, {"accumulate", "4"}, {"vocab", "64"},
                                  {"dim", "16"},  {"layers", "2"}};
/* A gradient below this share of the global gradient norm is zero in exact arithmetic
 * (the key bias's, say: softmax ignores a shift per query) and rounding noise in both:
 * it is checked against the global norm, not against itself (tests/exec/test_train_jit.c). */
#define ZERO_GRAD 1e-6

static uint64_t mix(uint64_t x) { /* splitmix64's finalizer */
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static bool is_shard(const char *name) { return strncmp(name, "flat.", 5) == 0 || strstr(name, ".flat.") != NULL; }

/* Input `node` of g on rank r (which runs global micro-batch r). */
static void make_input(const IrGraph *g, const IrNode *node, uint32_t r, Data *data, IrValue *v) {
    const char *name = ir_graph_str(g, node->attrs.input.name);
    LlmcErr err = {0};
    if (strcmp(name, "tokens") == 0 || strcmp(name, "targets") == 0) {
        CHECK(data_batch(data, r, name, v, &err));
        return;
    }
    ir_value_alloc(v, node->type);
    int64_t numel = ir_type_numel(&node->type);
    uint64_t seed = rt_checksum(name, strlen(name));
    double hp;
    if (cc_train_hp_value(&g->train, name, &hp)) {
        v->data[0] = hp;
    } else if (strcmp(name, "micro") == 0 || strcmp(name, "rank") == 0) {
        v->data[0] = r;
    } else if (strcmp(name, CC_STEP) == 0) {
        v->data[0] = 3;
    } else if (node->type.dtype == IR_DTYPE_I32) {
        v->data[0] = 1; /* seed */
    } else {
        uint64_t base = is_shard(name) || strncmp(name, CC_GRAD_PREFIX, strlen(CC_GRAD_PREFIX)) == 0 ? (uint64_t)r * (uint64_t)numel : 0;
        bool second_moment = strncmp(name, CC_ADAM_V_PREFIX, strlen(CC_ADAM_V_PREFIX)) == 0;
        for (int64_t e = 0; e < numel; e++) {
            double u = (double)(mix(seed ^ mix(base + (uint64_t)e)) >> 11) / 9007199254740992.0 * 2 - 1; /* [-1, 1) */
            v->data[e] = second_moment ? 1e-4 * fabs(u) : 0.05 * u;
        }
    }
}

static double norm_ratio(const IrValue *got, const IrValue *ref) {
    double d2 = 0, r2 = 0;
    for (int64_t i = 0; i < ir_type_numel(&ref->type); i++) {
        double d = got->data[i] - ref->data[i];
        d2 += d * d;
        r2 += ref->data[i] * ref->data[i];
    }
    return r2 > 0 ? sqrt(d2 / r2) : sqrt(d2);
}

/* One graph both ways; returns the worst ratio of this rank's outputs. */
static double check_graph(RtComm *comm, CcJit *jit, RtPool *pool, const IrGraph *g, Data *data) {
    uint32_t n = rt_comm_size(comm), me = rt_comm_rank(comm);
    uint32_t n_in = ir_graph_inputs(g, NULL), n_out = g->n_outputs;
    IrId *ids = calloc(n_in + 1, sizeof *ids);
    ir_graph_inputs(g, ids);
    IrValue *in = calloc((size_t)n * n_in + 1, sizeof *in), *ref = calloc((size_t)n * n_out + 1, sizeof *ref);
    for (uint32_t r = 0; r < n; r++)
        for (uint32_t i = 0; i < n_in; i++) make_input(g, &g->nodes[ids[i]], r, data, &in[r * n_in + i]);
    LlmcErr err = {0};
    IrInterpOptions io = {.precision = IR_PRECISION_F32, .ranks = n};
    bool simulated = ir_interp_run(g, &io, in, ref, &err);
    if (!simulated) fprintf(stderr, "interpreter @%s: %s\n", ir_graph_name(g), err.msg);
    CHECK(simulated);
    RtExec *ex = rt_exec_new_world(jit, g, pool, comm, &err);
    if (!ex) fprintf(stderr, "rt_exec_new_world @%s: %s\n", ir_graph_name(g), err.msg);
    CHECK(ex != NULL);
    double worst = simulated && ex ? 0 : INFINITY;
    void **bufs = calloc(n_in + 1, sizeof *bufs), **outs = calloc(n_out + 1, sizeof *outs);
    for (uint32_t i = 0; i < n_in; i++) bufs[i] = rt_native_from_value(&in[me * n_in + i]);
    for (uint32_t o = 0; o < n_out; o++) outs[o] = calloc(1, ir_type_bytes(&g->nodes[g->outputs[o].node].type) + 1);
    double global2 = 0; /* of this rank's gradients */
    for (uint32_t o = 0; simulated && o < n_out; o++)
        if (strncmp(ir_graph_str(g, g->outputs[o].name), CC_GRAD_PREFIX, strlen(CC_GRAD_PREFIX)) == 0)
            for (int64_t i = 0; i < ir_type_numel(&ref[me * n_out + o].type); i++)
                global2 += ref[me * n_out + o].data[i] * ref[me * n_out + o].data[i];
    if (simulated && ex) {
        bool ran = rt_exec_run(ex, bufs, outs, &err);
        if (!ran) fprintf(stderr, "rt_exec_run @%s: %s\n", ir_graph_name(g), err.msg);
        CHECK(ran);
        for (uint32_t o = 0; ran && o < n_out; o++) {
            const IrValue *want = &ref[me * n_out + o];
            IrValue got;
            rt_native_to_value(outs[o], want->type, &got);
            double r = norm_ratio(&got, want);
            const char *name = ir_graph_str(g, g->outputs[o].name);
            if (strncmp(name, CC_GRAD_PREFIX, strlen(CC_GRAD_PREFIX)) == 0) {
                double want2 = 0, diff2 = 0;
                for (int64_t i = 0; i < ir_type_numel(&want->type); i++) {
                    want2 += want->data[i] * want->data[i];
                    diff2 += (got.data[i] - want->data[i]) * (got.data[i] - want->data[i]);
                }
                if (sqrt(want2) < ZERO_GRAD * sqrt(global2)) r = sqrt(diff2) / sqrt(global2);
            }
            double tol = strcmp(name, "loss") == 0 ? 1e-5 : 1e-4;
            if (r > tol) fprintf(stderr, "  rank %u @%s output %s: ratio %.3g > %g\n", me, ir_graph_name(g), name, r, tol);
            CHECK(r <= tol);
            if (r > worst) worst = r;
            ir_value_free(&got);
        }
    }
    for (uint32_t i = 0; i < n_in; i++) free(bufs[i]);
    for (uint32_t o = 0; o < n_out; o++) free(outs[o]);
    for (uint32_t k = 0; k < n * n_in; k++) ir_value_free(&in[k]);
    for (uint32_t k = 0; simulated && k < n * n_out; k++) ir_value_free(&ref[k]);
    free(bufs), free(outs), free(in), free(ref), free(ids);
    rt_exec_free(ex);
    return worst;
}

int main(void) {
    LlmcErr err = {0};
    RtComm *comm = rt_comm_world(&err);
    if (!comm) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    CcJit *jit = cc_jit_new(&err);
    RtPool *pool = rt_pool_new(1, &err);
    CHECK(jit && pool);
    LlmcErr cache_err = {0}; /* $LLMC_CACHE_DIR: the ranks share compiled kernels */
    CcObjCache *cache = cc_objcache_open(NULL, &cache_err);
    if (jit) cc_jit_set_cache(jit, cache);
    static const char *const models[] = {"gpt2-tiny", "moe-tiny"};
    for (size_t m = 0; jit && pool && m < sizeof models / sizeof *models; m++) {
        char path[128];
        snprintf(path, sizeof path, "models/%s.llm", models[m]);
        char *text = NULL;
        size_t len = 0;
        Model md;
        if (!llmc_file_read(path, &text, &len, &err) || !model_load(&md, path, text, k_ov, sizeof k_ov / sizeof *k_ov)) {
            CHECK(!"model loads");
            free(text);
            continue;
        }
        free(text);
        for (int s = CC_SHARD_NONE; s < CC_SHARD_COUNT; s++) {
            CcTrainStep sh = {0};
            CcShardPlan plan = {0};
            bool built = cc_shard_step(&md.step, (CcShard)s, rt_comm_size(comm), &sh, &plan, &err);
            if (!built) fprintf(stderr, "cc_shard_step: %s\n", err.msg);
            CHECK(built);
            if (!built) continue;
            Data data = data_for(&md, 7, false);
            double a = check_graph(comm, jit, pool, sh.micro, &data);
            double b = check_graph(comm, jit, pool, sh.update, &data);
            if (rt_comm_rank(comm) == 0)
                fprintf(stderr, "%s --shard %s on %u ranks: worst ratio JIT over MPI vs simulated ranks: @micro %.2g, "
                                "@update %.2g\n", models[m], cc_shard_name((CcShard)s), rt_comm_size(comm), a, b);
            cc_train_step_free(&sh);
            cc_shard_plan_free(&plan);
        }
        model_free(&md);
    }
    rt_pool_free(pool);
    cc_jit_free(jit);
    cc_objcache_free(cache);
    rt_comm_free(comm);
    TEST_MAIN();
}
