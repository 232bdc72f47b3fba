/* tests/bundle/test_bundle_jit.c LLMC — a real bundle: `llmc models/gpt2-tiny.llm -o
 * X.llmc --no-cache`, then read back:
 *   - module.llir parses into @forward, @init, @micro, @update, each printing exactly as a
 *     fresh in-process compile of the model prints it;
 *   - config.json holds the numbers the report printed (parameters, tokens per step);
 *   - the objects installed into an empty cache make an executor of the bundle's @micro
 *     load every kernel (hits + reused == functions, misses 0), and running it gives the
 *     same bytes as an executor compiled from scratch;
 *   - a bundle built for another target installs nothing, with a warning.
 * Label jit (it compiles every kernel of the model once).
 */
#include "compiler.h"
#include "frontend.h"
#include "runtime.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const model_path = "models/gpt2-tiny.llm";

static bool lower_fresh(IrModule *m, CcTrainStep *step) {
    char *text = NULL;
    size_t len = 0;
    LlmcErr err = {0};
    if (!llmc_file_read(model_path, &text, &len, &err)) return false;
    LlmcSource src = {model_path, text, len};
    LlmcDiags d = {0};
    FeProgram *p = fe_parse(&src, &d);
    FeLowerOptions lo = {0};
    bool ok = p && fe_lower(p, &lo, m, &d) && cc_train_step_build(m, step, &err);
    llmc_diags_print(&d, stderr);
    if (err.set) fprintf(stderr, "%s\n", err.msg);
    llmc_diags_free(&d);
    fe_program_free(p);
    free(text);
    return ok;
}

static bool same_text(const IrGraph *a, const IrGraph *b) {
    LlmcBuf x = {0}, y = {0};
    ir_print_graph(a, &x);
    ir_print_graph(b, &y);
    bool same = x.len == y.len && memcmp(x.data, y.data, x.len) == 0;
    if (!same) fprintf(stderr, "  @%s differs from the fresh compile\n", ir_graph_name(a));
    llmc_buf_free(&x);
    llmc_buf_free(&y);
    return same;
}

static const IrGraph *find_graph(const IrModule *m, const char *name) {
    for (uint32_t i = 0; i < m->n_graphs; i++)
        if (strcmp(ir_graph_name(m->graphs[i]), name) == 0) return m->graphs[i];
    return NULL;
}

/* Deterministic input buffers: floats in [-0.5, 0.5), i32 in [0, 32). */
static void **make_inputs(const IrGraph *g, uint32_t *n) {
    *n = ir_graph_inputs(g, NULL);
    IrId *ids = calloc(*n, sizeof *ids);
    ir_graph_inputs(g, ids);
    void **bufs = calloc(*n, sizeof *bufs);
    uint32_t s = 12345;
    for (uint32_t i = 0; i < *n; i++) {
        const IrType *t = &ir_graph_node(g, ids[i])->type;
        int64_t numel = ir_type_numel(t);
        bufs[i] = calloc((size_t)ir_type_bytes(t) + 1, 1);
        for (int64_t k = 0; k < numel; k++) {
            s = s * 1103515245u + 12345u;
            uint32_t r = s >> 8;
            if (t->dtype == IR_DTYPE_F32) ((float *)bufs[i])[k] = (float)r / 16777216.0f - 0.5f;
            else if (t->dtype == IR_DTYPE_F64) ((double *)bufs[i])[k] = (double)r / 16777216.0 - 0.5;
            else if (t->dtype == IR_DTYPE_I32) ((int32_t *)bufs[i])[k] = (int32_t)(r % 32);
        }
    }
    free(ids);
    return bufs;
}

static void **make_outputs(const IrGraph *g) {
    void **out = calloc(g->n_outputs, sizeof *out);
    for (uint32_t o = 0; o < g->n_outputs; o++)
        out[o] = calloc((size_t)ir_type_bytes(&ir_graph_node(g, g->outputs[o].node)->type) + 1, 1);
    return out;
}

static void free_bufs(void **b, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) free(b[i]);
    free(b);
}

/* The bundle with its objects section's target text replaced. */
static void retarget(const RtBundle *b, const char *target, LlmcBuf *out) {
    RtBundleBlobs t;
    LlmcErr err = {0};
    CHECK(rt_bundle_blobs(b, "objects", "x", &t, &err));
    LlmcBuf objs = {0};
    rt_bundle_blobs_serialize(target, t.items, t.count, &objs);
    RtBundleSection *s = calloc(b->n_sections, sizeof *s);
    for (uint32_t i = 0; i < b->n_sections; i++) {
        s[i] = b->sections[i];
        if (strcmp(s[i].name, "objects") == 0) {
            s[i].data = (const unsigned char *)objs.data;
            s[i].size = objs.len;
        }
    }
    rt_bundle_serialize(s, b->n_sections, out);
    free(s);
    llmc_buf_free(&objs);
    rt_bundle_blobs_free(&t);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: test_bundle_jit LLMC\n");
        return 2;
    }
    char dir[] = "/tmp/llmc-bundle-jit-XXXXXX";
    if (!mkdtemp(dir)) return 2;
    char bundle[256], cmd[1024], cache1[256], cache2[256];
    snprintf(bundle, sizeof bundle, "%s/g.llmc", dir);
    snprintf(cache1, sizeof cache1, "%s/cache1", dir);
    snprintf(cache2, sizeof cache2, "%s/cache2", dir);
    snprintf(cmd, sizeof cmd, "'%s' %s -o '%s' --no-cache > '%s/report.txt'", argv[1], model_path, bundle, dir);
    CHECK_EQ_INT(system(cmd), 0);

    RtBundle b;
    LlmcErr err = {0};
    CHECK(rt_bundle_read(bundle, &b, &err));
    if (err.set) {
        fprintf(stderr, "%s\n", err.msg);
        TEST_MAIN();
    }

    /* the IR: the same as a fresh compile */
    IrModule bm;
    LlmcDiags d = {0};
    CHECK(rt_bundle_module(&b, bundle, &bm, &d));
    llmc_diags_print(&d, stderr);
    llmc_diags_free(&d);
    CHECK_EQ_INT(bm.n_graphs, 4);
    IrModule fm = {0};
    CcTrainStep step = {0};
    CHECK(lower_fresh(&fm, &step));
    const IrGraph *micro = find_graph(&bm, "micro");
    CHECK(micro && find_graph(&bm, "update") && find_graph(&bm, "forward") && find_graph(&bm, "init"));
    if (micro) {
        CHECK(same_text(find_graph(&bm, "forward"), fm.graphs[0]));
        CHECK(same_text(find_graph(&bm, "init"), fm.graphs[1]));
        CHECK(same_text(micro, step.micro));
        CHECK(same_text(find_graph(&bm, "update"), step.update));
    }

    /* config.json */
    const RtBundleSection *cs = rt_bundle_section(&b, "config.json");
    RtJson *cfg = NULL;
    CHECK(rt_json_parse((const char *)cs->data, cs->size, "config.json", &cfg, &err));
    IrStats fs;
    ir_graph_stats(fm.graphs[0], &fs);
    const RtJson *params = rt_json_get(cfg, "parameters"), *tokens = rt_json_get(cfg, "tokens_per_step");
    const RtJson *hash = rt_json_get(cfg, "model_hash");
    CHECK(params && params->is_int && params->integer == (int64_t)fs.n_params);
    CHECK(tokens && tokens->is_int && tokens->integer == 2 * 32 * 2);
    CHECK(hash && hash->kind == RT_JSON_STRING && hash->str_len == 16);
    CHECK(rt_json_get(rt_json_get(cfg, "memory"), "activations_micro") != NULL);
    rt_json_free(cfg);

    /* objects: install into an empty cache, then every kernel of @micro is a hit */
    CcJit *jit = cc_jit_new(&err);
    CcObjCache *cache = jit ? cc_objcache_open(cache1, &err) : NULL;
    RtPool *pool = rt_pool_new(1, &err);
    CHECK(jit && cache && pool);
    RtBundleBlobs objs;
    CHECK(rt_bundle_blobs(&b, "objects", bundle, &objs, &err));
    uint32_t installed = 0;
    CHECK(rt_bundle_install_objects(&b, bundle, cache, jit, &installed, &err));
    CHECK(installed > 0 && installed == objs.count);
    cc_jit_set_cache(jit, cache);
    RtExec *e = micro ? rt_exec_new(jit, micro, pool, &err) : NULL;
    if (err.set) fprintf(stderr, "%s\n", err.msg);
    CHECK(e != NULL);
    if (e) {
        CcObjCacheStats st = cc_objcache_stats(cache);
        RtExecStats es = rt_exec_stats(e);
        fprintf(stderr, "@micro from the bundle: %u functions, %llu hits, %llu reused, %llu misses\n", es.functions,
                (unsigned long long)st.hits, (unsigned long long)st.reused, (unsigned long long)st.misses);
        CHECK_EQ_INT(st.misses, 0); /* nothing compiled: every kernel came from the bundle */
        /* a kernel identical to one already linked (another layer's) is found by its
         * signature without asking the cache (cc_codegen_kernel), so the cache sees at
         * most one request per function */
        CHECK(st.hits > 0 && st.hits + st.reused <= es.functions);
    }

    /* the same bytes as an executor compiled from scratch */
    CcJit *jit2 = cc_jit_new(&err);
    RtExec *e2 = jit2 ? rt_exec_new(jit2, step.micro, pool, &err) : NULL;
    CHECK(e2 != NULL);
    if (e && e2) {
        uint32_t n_in = 0, n_in2 = 0;
        void **in = make_inputs(micro, &n_in), **in2 = make_inputs(step.micro, &n_in2);
        void **out = make_outputs(micro), **out2 = make_outputs(step.micro);
        CHECK(rt_exec_run(e, in, out, &err));
        CHECK(rt_exec_run(e2, in2, out2, &err));
        for (uint32_t o = 0; o < micro->n_outputs; o++) {
            size_t nb = (size_t)ir_type_bytes(&ir_graph_node(micro, micro->outputs[o].node)->type);
            if (memcmp(out[o], out2[o], nb) != 0) {
                fprintf(stderr, "  output %s differs\n", ir_graph_str(micro, micro->outputs[o].name));
                CHECK(false);
            }
        }
        float loss = 0;
        memcpy(&loss, out[0], sizeof loss);
        CHECK(isfinite(loss));
        free_bufs(in, n_in);
        free_bufs(in2, n_in2);
        free_bufs(out, micro->n_outputs);
        free_bufs(out2, micro->n_outputs);
    }

    /* another target: nothing installed, a warning */
    LlmcBuf other = {0};
    retarget(&b, "format 1\nllvm 0.0.0\ntriple x\ncpu y\nfeatures z\n", &other);
    RtBundle ob;
    CHECK(rt_bundle_parse(other.data, other.len, "other.llmc", &ob, &err));
    CcObjCache *cache_b = cc_objcache_open(cache2, &err);
    installed = 99;
    CHECK(cache_b && rt_bundle_install_objects(&ob, "other.llmc", cache_b, jit, &installed, &err));
    CHECK_EQ_INT(installed, 0);
    const LlmcDiags *wd = cache_b ? cc_objcache_diags(cache_b) : NULL;
    CHECK(wd && wd->count == 1 && strstr(wd->items[0].msg, "another target"));
    if (wd) llmc_diags_print(wd, stderr);
    rt_bundle_free(&ob);
    llmc_buf_free(&other);

    rt_exec_free(e);
    rt_exec_free(e2);
    rt_pool_free(pool);
    cc_objcache_free(cache);
    cc_objcache_free(cache_b);
    cc_jit_free(jit);
    cc_jit_free(jit2);
    rt_bundle_blobs_free(&objs);
    cc_train_step_free(&step);
    ir_module_free(&fm);
    ir_module_free(&bm);
    rt_bundle_free(&b);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK_EQ_INT(system(cmd), 0);
    TEST_MAIN();
}
