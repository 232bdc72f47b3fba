/* tools/llmrun_generate.c — `llmrun generate`: text from a trained checkpoint.
 *
 *   llmrun generate RUN_DIR|CKPT_DIR --model M.llmc|M.llm [--prompt TEXT] [--tokens N]
 *       [--temperature T] [--top-k K] [--top-p P] [--seed S] [--tok FILE.tok]
 *       [--threads N] [--no-kv-cache] [-D NAME=VALUE]
 *
 * The params come from the checkpoint (rt_ckpt_load; bound by name, dtype and shape
 * checked, the model hash compared with the bundle's or the .llm's). The graphs are the
 * model's inference graphs (frontend.h "Inference graphs"): from the bundle's
 * inference.llir (kernels from its objects), or lowered here from the .llm; each runs as
 * one executor (fused, JIT-compiled, through the kernel cache).
 *   - With @prefill and @decode (the default when present): the prompt runs once through
 *     @prefill, which fills the K/V caches, then every new token is one @decode step that
 *     writes its row of each cache in place (outputs named like inputs: exec.c's
 *     write-back). Past the context the cache cannot slide, so generation continues
 *     with the full recompute below.
 *   - Without (--no-kv-cache, or a graph missing): every token recomputes @logits over
 *     the whole prefix (its last `context` tokens).
 * Sampling (llmrun_sample): temperature (0 = greedy), top-k, top-p, one draw per token
 * from a seeded xorshift64* stream, so a seed reproduces its sample exactly. Text is
 * bytes (byte-level ids 0..255) unless --tok gives a BPE tokenizer (runtime/bpe.c).
 * stdout gets the prompt and the sample, streamed; stderr the timing (tokens/s).
 *
 * Not here: training (llmrun.c), the graphs' construction (frontend/lower_infer.c).
 */
#include "compiler.h"
#include "frontend.h"
#include "ir.h"
#include "llmrun.h"
#include "runtime.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { EXIT_OK = 0, EXIT_BAD_INPUT = 1, EXIT_USAGE = 2 };

static const char *const usage_text =
    "usage: llmrun generate RUN_DIR|CKPT_DIR --model MODEL.llmc|MODEL.llm [options]\n"
    "\n"
    "Samples text from the params of a checkpoint (RUN_DIR follows its `latest`), with the\n"
    "model's inference graphs: a bundle's (llmc -o), or lowered from the .llm here.\n"
    "\n"
    "options:\n"
    "  --prompt TEXT      the text to continue (default: a newline)\n"
    "  --tokens N         tokens to generate (default 100)\n"
    "  --temperature T    softmax temperature, >= 0; 0 is greedy (default 1.0)\n"
    "  --top-k K          sample among the K most likely tokens (default 0: all)\n"
    "  --top-p P          nucleus: the smallest set of tokens of mass >= P, in (0, 1]\n"
    "                     (default 1: all)\n"
    "  --seed S           the sampler's seed (default 0); a seed reproduces its sample\n"
    "  --tok FILE.tok     a BPE tokenizer (llmtok train) for the prompt and the sample;\n"
    "                     without it text is bytes (ids 0..255)\n"
    "  --threads N        kernel threads (default: the number of cores)\n"
    "  --no-kv-cache      recompute the whole prefix for every token (@logits) instead of\n"
    "                     @prefill + @decode with the K/V cache\n"
    "  -D NAME=VALUE      with a .llm: the overrides the model was trained with\n"
    "  -h, --help         this text\n"
    "\n"
    "stdout: the prompt and the sample; stderr: tokens/s.\n"
    "exit status: 0 done, 1 bad input, 2 bad usage\n";

/* --- sampling ------------------------------------------------------------------------ */

void llmrun_rng_seed(LlmrunRng *r, uint64_t seed) {
    uint64_t z = seed + 0x9e3779b97f4a7c15ull; /* splitmix64: any seed, 0 included */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    r->s = z ? z : 0x9e3779b97f4a7c15ull; /* xorshift needs a nonzero state */
}

uint64_t llmrun_rng_next(LlmrunRng *r) {
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545f4914f6cdd1dull;
}

double llmrun_rng_uniform(LlmrunRng *r) { return (double)(llmrun_rng_next(r) >> 11) * 0x1.0p-53; }

typedef struct Cand {
    double logit;
    uint32_t id;
} Cand;

/* Descending logit; ties: the lower id first. */
static int cand_cmp(const void *a, const void *b) {
    const Cand *x = a, *y = b;
    if (x->logit != y->logit) return x->logit > y->logit ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

uint32_t llmrun_sample(const float *logits, uint32_t n, const LlmrunSampling *s, LlmrunRng *rng) {
    LLMC_ASSERT(n > 0);
    if (s->temperature <= 0 || s->top_k == 1) { /* greedy; a nan never wins */
        uint32_t best = 0;
        for (uint32_t i = 1; i < n; i++)
            if (logits[i] > logits[best] || (logits[best] != logits[best] && logits[i] == logits[i])) best = i;
        return best;
    }
    Cand *c = llmc_xmalloc(n * sizeof *c);
    for (uint32_t i = 0; i < n; i++) {
        double l = logits[i];
        c[i] = (Cand){l == l ? l / s->temperature : -INFINITY, i};
    }
    qsort(c, n, sizeof *c, cand_cmp);
    uint32_t keep = s->top_k && s->top_k < n ? s->top_k : n;
    double *p = llmc_xmalloc(keep * sizeof *p), sum = 0;
    for (uint32_t i = 0; i < keep; i++) sum += p[i] = exp(c[i].logit - c[0].logit);
    if (!(sum > 0)) { /* every logit -inf or nan: the first */
        uint32_t id = c[0].id;
        free(c);
        free(p);
        return id;
    }
    if (s->top_p < 1) { /* the smallest prefix of mass >= top_p */
        double acc = 0;
        uint32_t k = 0;
        while (k < keep) {
            acc += p[k++] / sum;
            if (acc >= s->top_p) break;
        }
        keep = k;
        sum = 0;
        for (uint32_t i = 0; i < keep; i++) sum += p[i];
    }
    double u = llmrun_rng_uniform(rng) * sum, acc = 0;
    uint32_t id = c[keep - 1].id;
    for (uint32_t i = 0; i < keep; i++) {
        acc += p[i];
        if (u < acc) {
            id = c[i].id;
            break;
        }
    }
    free(c);
    free(p);
    return id;
}

/* --- options ------------------------------------------------------------------------- */

typedef struct GenOptions {
    const char *ckpt, *model, *prompt, *tok;
    int64_t tokens;
    LlmrunSampling sampling;
    uint64_t seed;
    uint32_t threads;
    bool no_kv_cache;
    FeOverride *ov;
    uint32_t n_ov;
} GenOptions;

static int usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "llmrun generate: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'llmrun generate --help'.\n");
    return EXIT_USAGE;
}

/* Returns EXIT_OK, EXIT_USAGE, or -1 after printing the help. */
static int parse_args(int argc, char **argv, GenOptions *o) {
    *o = (GenOptions){.prompt = "\n", .tokens = 100, .sampling = {.temperature = 1.0, .top_k = 0, .top_p = 1.0}};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int64_t n = 0;
        static const char *const takes[] = {"--model", "--prompt", "--tokens", "--temperature", "--top-k", "--top-p",
                                            "--seed", "--tok", "--threads", "-D"};
        bool needs = false;
        for (size_t k = 0; k < sizeof takes / sizeof takes[0]; k++) needs = needs || strcmp(a, takes[k]) == 0;
        if (needs && !v) return usage_error("option '%s' needs a value", a);
        if (needs) i++;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage_text, stdout);
            return -1;
        } else if (strcmp(a, "--model") == 0) {
            o->model = v;
        } else if (strcmp(a, "--prompt") == 0) {
            o->prompt = v;
        } else if (strcmp(a, "--tok") == 0) {
            o->tok = v;
        } else if (strcmp(a, "--tokens") == 0) {
            if (!llmrun_parse_i64(v, 0, 1 << 24, &o->tokens)) return usage_error("--tokens needs a count in [0, 2^24], got '%s'", v);
        } else if (strcmp(a, "--temperature") == 0) {
            if (!llmrun_parse_f64(v, 0, 1e6, &o->sampling.temperature))
                return usage_error("--temperature needs a number >= 0, got '%s'", v);
        } else if (strcmp(a, "--top-k") == 0) {
            if (!llmrun_parse_i64(v, 0, INT32_MAX, &n)) return usage_error("--top-k needs a count >= 0, got '%s'", v);
            o->sampling.top_k = (uint32_t)n;
        } else if (strcmp(a, "--top-p") == 0) {
            if (!llmrun_parse_f64(v, 0, 1, &o->sampling.top_p) || o->sampling.top_p <= 0)
                return usage_error("--top-p needs a number in (0, 1], got '%s'", v);
        } else if (strcmp(a, "--seed") == 0) {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(v, &end, 10);
            if (errno || end == v || *end || v[0] == '-') return usage_error("--seed needs an integer >= 0, got '%s'", v);
            o->seed = s;
        } else if (strcmp(a, "--threads") == 0) {
            if (!llmrun_parse_i64(v, 1, 1024, &n)) return usage_error("--threads needs an integer in [1, 1024], got '%s'", v);
            o->threads = (uint32_t)n;
        } else if (strcmp(a, "--no-kv-cache") == 0) {
            o->no_kv_cache = true;
        } else if (strcmp(a, "-D") == 0) {
            const char *eq = strchr(v, '=');
            if (!eq || eq == v || !eq[1]) return usage_error("-D needs NAME=VALUE, got '%s'", v);
            char *name = llmc_xmalloc((size_t)(eq - v) + 1);
            memcpy(name, v, (size_t)(eq - v));
            name[eq - v] = 0;
            o->ov = llmc_xrealloc(o->ov, (o->n_ov + 1) * sizeof *o->ov);
            o->ov[o->n_ov++] = (FeOverride){name, eq + 1};
        } else if (a[0] == '-' && a[1] != 0) {
            return usage_error("unknown option '%s'", a);
        } else if (o->ckpt) {
            return usage_error("more than one checkpoint ('%s')", a);
        } else {
            o->ckpt = a;
        }
    }
    if (!o->ckpt) return usage_error("%s", "missing RUN_DIR or CKPT_DIR");
    if (!o->model) return usage_error("%s", "missing --model MODEL.llmc|MODEL.llm");
    if (!o->prompt[0] && !o->tok) return usage_error("%s", "--prompt must not be empty");
    return EXIT_OK;
}

/* --- the model: its inference graphs and hash ---------------------------------------- */

typedef struct GenModel {
    RtBundle bundle;
    bool is_bundle;
    IrModule m; /* @logits, and @prefill + @decode when present */
    const IrGraph *logits, *prefill, *decode;
    char hash[17];
} GenModel;

static const IrGraph *graph_named(const IrModule *m, const char *name) {
    for (uint32_t i = 0; i < m->n_graphs; i++)
        if (strcmp(ir_graph_name(m->graphs[i]), name) == 0) return m->graphs[i];
    return NULL;
}

static bool load_bundle(GenModel *gm, const GenOptions *o, LlmcErr *err) {
    gm->is_bundle = true;
    if (!rt_bundle_read(o->model, &gm->bundle, err)) return false;
    if (o->n_ov) {
        llmc_err_set(err, "%s: -D goes with a .llm model; a bundle's graphs are fixed", o->model);
        return false;
    }
    const RtBundleSection *s = rt_bundle_section(&gm->bundle, "inference.llir");
    if (!s) {
        llmc_err_set(err, "%s: the bundle has no inference graphs (section inference.llir); recompile it with this "
                          "llmc, or pass the .llm", o->model);
        return false;
    }
    LlmcBuf where = {0};
    llmc_buf_printf(&where, "%s:inference.llir", o->model);
    LlmcSource src = {where.data, (const char *)s->data, (size_t)s->size};
    LlmcDiags d = {0};
    bool ok = ir_parse_module(&src, &gm->m, &d);
    llmc_diags_print(&d, stderr);
    llmc_diags_free(&d);
    llmc_buf_free(&where);
    if (!ok) {
        llmc_err_set(err, "%s: section inference.llir does not parse", o->model);
        return false;
    }
    const RtBundleSection *cfg = rt_bundle_section(&gm->bundle, "config.json");
    RtJson *j = NULL;
    const RtJson *h = NULL;
    if (cfg && rt_json_parse((const char *)cfg->data, cfg->size, o->model, &j, err)) h = rt_json_get(j, "model_hash");
    if (h && h->kind == RT_JSON_STRING && h->str_len == 16) memcpy(gm->hash, h->str, 17);
    rt_json_free(j);
    if (!gm->hash[0]) {
        llmc_err_set(err, "%s: config.json has no model_hash", o->model);
        return false;
    }
    return true;
}

static bool load_llm(GenModel *gm, const GenOptions *o, const char *text, size_t len, LlmcErr *err) {
    LlmcDiags d = {0};
    LlmcSource src = {o->model, text, len};
    FeProgram *p = fe_parse(&src, &d);
    FeLowerOptions lo = {o->ov, o->n_ov};
    bool ok = p != NULL;
    static const FeInferKind kinds[] = {FE_INFER_LOGITS, FE_INFER_PREFILL, FE_INFER_DECODE};
    for (size_t k = 0; ok && k < sizeof kinds / sizeof kinds[0]; k++) {
        IrModule m = {0};
        LlmcDiags dk = {0};
        IrGraph *s = NULL;
        if (fe_lower_inference(p, &lo, kinds[k], 0, &m, &dk)) s = cc_pass_simplify(m.graphs[0], err);
        if (s) {
            ir_module_add(&gm->m, s);
        } else if (k == 0) { /* @logits is needed; the cache pair is optional */
            ok = false;
            llmc_diags_print(&dk, stderr);
            if (!err->set) llmc_err_set(err, "%s: cannot lower the @logits graph", o->model);
        } else {
            llmc_err_clear(err);
        }
        llmc_diags_free(&dk);
        ir_module_free(&m);
    }
    IrModule arch = {0};
    if (ok && fe_lower_architecture(p, &lo, &arch, &d) && arch.n_graphs)
        snprintf(gm->hash, sizeof gm->hash, "%016" PRIx64, rt_model_hash(arch.graphs[0]));
    else if (ok) {
        ok = false;
        llmc_err_set(err, "%s: cannot lower the model for its hash", o->model);
    }
    ir_module_free(&arch);
    llmc_diags_print(&d, stderr);
    if (!p && !err->set) llmc_err_set(err, "%s: the model does not parse", o->model);
    llmc_diags_free(&d);
    fe_program_free(p);
    return ok;
}

static bool model_load(GenModel *gm, const GenOptions *o, LlmcErr *err) {
    memset(gm, 0, sizeof *gm);
    char *text = NULL;
    size_t len = 0;
    if (!llmc_file_read(o->model, &text, &len, err)) return false;
    size_t n = strlen(o->model);
    bool ok;
    if (rt_bundle_sniff(text, len) || (n > 5 && strcmp(o->model + n - 5, ".llmc") == 0) || memchr(text, 0, len))
        ok = load_bundle(gm, o, err);
    else
        ok = load_llm(gm, o, text, len, err);
    free(text);
    if (!ok) return false;
    gm->logits = graph_named(&gm->m, "logits");
    gm->prefill = graph_named(&gm->m, "prefill");
    gm->decode = graph_named(&gm->m, "decode");
    if (!gm->logits) {
        llmc_err_set(err, "%s: no @logits graph", o->model);
        return false;
    }
    IrId tok = ir_graph_find_input(gm->logits, "tokens");
    const IrNode *out = gm->logits->n_outputs ? &gm->logits->nodes[gm->logits->outputs[0].node] : NULL;
    if (tok == IR_ID_NONE || gm->logits->nodes[tok].type.rank != 2 || !out || out->type.rank != 3 ||
        out->type.dtype != IR_DTYPE_F32) {
        llmc_err_set(err, "%s: @logits should map tokens i32[1, T] to logits f32[1, T, V]", o->model);
        return false;
    }
    if (!gm->prefill != !gm->decode) gm->prefill = gm->decode = NULL;
    return true;
}

static void model_free(GenModel *gm) {
    rt_bundle_free(&gm->bundle);
    ir_module_free(&gm->m);
}

/* --- buffers by name ------------------------------------------------------------------ */

typedef struct Buf {
    const char *name; /* not owned */
    IrType type;
    void *data;
} Buf;

typedef struct Bufs {
    Buf *items;
    uint32_t n, cap;
} Bufs;

static Buf *bufs_find(Bufs *b, const char *name) {
    for (uint32_t i = 0; i < b->n; i++)
        if (strcmp(b->items[i].name, name) == 0) return &b->items[i];
    return NULL;
}

static Buf *bufs_add(Bufs *b, const char *name, IrType type) {
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 64;
        b->items = llmc_xrealloc(b->items, b->cap * sizeof *b->items);
    }
    Buf *x = &b->items[b->n++];
    *x = (Buf){name, type, llmc_xcalloc(1, ir_type_bytes(&type) + 1)};
    return x;
}

static void bufs_free(Bufs *b) {
    for (uint32_t i = 0; i < b->n; i++) free(b->items[i].data);
    free(b->items);
}

/* The params of g from the checkpoint, each once into params (dtype and shape checked). */
static bool bind_params(const IrGraph *g, const RtCkpt *ck, Bufs *params, LlmcErr *err) {
    for (IrId id = 0; id < g->n_nodes; id++) {
        const IrNode *n = &g->nodes[id];
        if (n->op != IR_OP_INPUT || n->attrs.input.role != IR_ROLE_PARAM) continue;
        const char *name = ir_graph_str(g, n->attrs.input.name);
        if (bufs_find(params, name)) continue;
        const RtTensor *t = rt_safetensors_find(&ck->state, name);
        char want[IR_TYPE_STR_MAX], got[IR_TYPE_STR_MAX];
        if (!t) {
            llmc_err_set(err, "%s: the checkpoint has no tensor '%s' (%s)", ck->dir, name,
                         ir_type_format(&n->type, want, sizeof want));
            return false;
        }
        if (!ir_type_equal(&t->type, &n->type)) {
            llmc_err_set(err, "%s: tensor '%s' is %s, the model wants %s", ck->dir, name,
                         ir_type_format(&t->type, got, sizeof got), ir_type_format(&n->type, want, sizeof want));
            return false;
        }
        Buf *b = bufs_add(params, name, n->type);
        memcpy(b->data, t->data, (size_t)t->nbytes);
    }
    return true;
}

/* One inference graph as an executor with its input and output pointer tables: params
 * and the caches bound by name, tokens / pos / logits to the caller's buffers; an output
 * named like an input (@decode's caches) is written back (NULL). */
typedef struct Runner {
    const IrGraph *g;
    RtExec *e;
    void **in, **out;
} Runner;

static bool runner_new(Runner *r, CcJit *jit, RtPool *pool, const IrGraph *g, Bufs *params, Bufs *caches,
                       void *tokens, int32_t *pos, float *logits, LlmcErr *err) {
    memset(r, 0, sizeof *r);
    r->g = g;
    if (!(r->e = rt_exec_new(jit, g, pool, err))) return false;
    uint32_t n_in = ir_graph_inputs(g, NULL);
    IrId *ids = llmc_xcalloc(n_in + 1, sizeof *ids);
    ir_graph_inputs(g, ids);
    r->in = llmc_xcalloc(n_in + 1, sizeof *r->in);
    r->out = llmc_xcalloc(g->n_outputs + 1, sizeof *r->out);
    bool ok = true;
    for (uint32_t i = 0; ok && i < n_in; i++) {
        const IrNode *n = &g->nodes[ids[i]];
        const char *name = ir_graph_str(g, n->attrs.input.name);
        Buf *b = NULL;
        if (strcmp(name, "tokens") == 0) r->in[i] = tokens;
        else if (strcmp(name, "pos") == 0) r->in[i] = pos;
        else if ((b = bufs_find(params, name)) || (b = bufs_find(caches, name))) r->in[i] = b->data;
        else if (strncmp(name, "cache.", 6) == 0) r->in[i] = bufs_add(caches, name, n->type)->data;
        if (!r->in[i]) {
            llmc_err_set(err, "@%s: input '%s' has no value", ir_graph_name(g), name);
            ok = false;
        }
    }
    for (uint32_t o = 0; ok && o < g->n_outputs; o++) {
        const char *name = ir_graph_str(g, g->outputs[o].name);
        const IrType *t = &g->nodes[g->outputs[o].node].type;
        Buf *b;
        if (strcmp(name, "logits") == 0) {
            r->out[o] = logits;
        } else if (ir_graph_find_input(g, name) != IR_ID_NONE) {
            r->out[o] = NULL; /* written back in place */
        } else if ((b = bufs_find(caches, name)) || (b = bufs_add(caches, name, *t))) {
            if (!ir_type_equal(&b->type, t)) {
                llmc_err_set(err, "@%s: output '%s' does not match its cache", ir_graph_name(g), name);
                ok = false;
            }
            r->out[o] = b->data;
        }
    }
    free(ids);
    return ok;
}

static void runner_free(Runner *r) {
    rt_exec_free(r->e);
    free(r->in);
    free(r->out);
}

/* --- generation ------------------------------------------------------------------------ */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Writes token id's text to stdout. */
static void put_token(RtBpe *tok, uint32_t id) {
    if (tok) {
        LlmcBuf b = {0};
        LlmcErr e = {0};
        rt_bpe_decode(tok, &id, 1, &b, &e);
        if (b.len) fwrite(b.data, 1, b.len, stdout);
        llmc_buf_free(&b);
    } else if (id < 256) {
        putchar((int)id);
    } else {
        printf("<%u>", id);
    }
    fflush(stdout);
}

typedef struct Gen {
    const GenOptions *o;
    GenModel *gm;
    RtBpe *tok;
    CcJit *jit;
    CcObjCache *cache;
    RtPool *pool;
    Bufs params, caches;
    int64_t ctx, vocab;
    int32_t *tokens; /* [ctx]: @logits' and @prefill's input */
    int32_t one;     /* @decode's token */
    int32_t pos;
    float *logits;   /* [ctx * vocab] */
    Runner full, prefill, decode;
    bool cached;
} Gen;

static bool gen_setup(Gen *g, LlmcErr *err) {
    const GenOptions *o = g->o;
    RtCkpt ck = {0};
    if (!rt_ckpt_load(o->ckpt, &ck, err)) return false;
    bool ok = rt_ckpt_check_model(&ck, g->gm->hash, err);
    for (uint32_t i = 0; ok && i < g->gm->m.n_graphs; i++) ok = bind_params(g->gm->m.graphs[i], &ck, &g->params, err);
    rt_ckpt_free(&ck);
    if (!ok) return false;
    if (o->tok && !(g->tok = rt_bpe_read(o->tok, err))) return false;
    const IrGraph *lg = g->gm->logits;
    g->ctx = lg->nodes[ir_graph_find_input(lg, "tokens")].type.dims[1];
    g->vocab = lg->nodes[lg->outputs[0].node].type.dims[2];
    if (g->tok && rt_bpe_vocab(g->tok) > g->vocab) {
        llmc_err_set(err, "%s: the tokenizer's vocab %u exceeds the model's %lld", o->tok, rt_bpe_vocab(g->tok),
                     (long long)g->vocab);
        return false;
    }
    g->tokens = llmc_xcalloc((size_t)g->ctx, sizeof *g->tokens);
    g->logits = llmc_xcalloc((size_t)(g->ctx * g->vocab), sizeof *g->logits);
    if (!(g->jit = cc_jit_new(err))) return false;
    LlmcErr cerr = {0};
    if (!(g->cache = cc_objcache_open(NULL, &cerr)))
        fprintf(stderr, "llmrun generate: warning: no kernel cache (%s); compiling everything\n", cerr.msg);
    cc_jit_set_cache(g->jit, g->cache);
    if (g->gm->is_bundle && g->cache) {
        uint32_t installed = 0;
        if (!rt_bundle_install_objects(&g->gm->bundle, o->model, g->cache, g->jit, &installed, err)) return false;
        llmc_diags_print(cc_objcache_diags(g->cache), stderr);
    }
    if (!(g->pool = rt_pool_new(o->threads, err))) return false;
    double t0 = now_s();
    if (!runner_new(&g->full, g->jit, g->pool, lg, &g->params, &g->caches, g->tokens, NULL, g->logits, err))
        return false;
    g->cached = !o->no_kv_cache && g->gm->prefill && g->gm->decode;
    if (g->cached && (!runner_new(&g->prefill, g->jit, g->pool, g->gm->prefill, &g->params, &g->caches, g->tokens,
                                  &g->pos, g->logits, err) ||
                      !runner_new(&g->decode, g->jit, g->pool, g->gm->decode, &g->params, &g->caches, &g->one,
                                  &g->pos, g->logits, err)))
        return false;
    fprintf(stderr, "llmrun generate: %s: context %lld, vocab %lld, %s; kernels ready in %.2f s\n", o->model,
            (long long)g->ctx, (long long)g->vocab, g->cached ? "KV cache (@prefill + @decode)" : "full recompute (@logits)",
            now_s() - t0);
    return true;
}

static void gen_free(Gen *g) {
    runner_free(&g->full);
    if (g->prefill.e || g->prefill.in) runner_free(&g->prefill);
    if (g->decode.e || g->decode.in) runner_free(&g->decode);
    bufs_free(&g->params);
    bufs_free(&g->caches);
    free(g->tokens);
    free(g->logits);
    rt_pool_free(g->pool);
    if (g->cache) llmc_diags_print(cc_objcache_diags(g->cache), stderr);
    cc_objcache_free(g->cache);
    cc_jit_free(g->jit);
    rt_bpe_free(g->tok);
}

/* The logits of the next token after ids[0..n) by @logits over the last ctx of them. */
static bool next_full(Gen *g, const uint32_t *ids, int64_t n, const float **row, LlmcErr *err) {
    int64_t start = n > g->ctx ? n - g->ctx : 0, w = n - start;
    memset(g->tokens, 0, (size_t)g->ctx * sizeof *g->tokens);
    for (int64_t i = 0; i < w; i++) g->tokens[i] = (int32_t)ids[start + i];
    if (!rt_exec_run(g->full.e, g->full.in, g->full.out, err)) return false;
    *row = g->logits + (w - 1) * g->vocab;
    return true;
}

static int generate(Gen *g) {
    const GenOptions *o = g->o;
    LlmcErr err = {0};
    /* the prompt */
    uint32_t *ids = NULL;
    int64_t n = 0;
    if (g->tok) {
        RtBpeIds p = {0};
        rt_bpe_encode(g->tok, o->prompt, strlen(o->prompt), &p);
        int64_t eot = rt_bpe_special(g->tok, RT_BPE_EOT);
        if (p.count == 0 && eot >= 0) { /* an empty prompt starts a document */
            p.ids = llmc_xrealloc(p.ids, sizeof *p.ids);
            p.ids[p.count++] = (uint32_t)eot;
        }
        ids = p.ids;
        n = (int64_t)p.count;
    } else {
        size_t len = strlen(o->prompt);
        ids = llmc_xcalloc(len + 1, sizeof *ids);
        for (size_t i = 0; i < len; i++) {
            ids[i] = (unsigned char)o->prompt[i];
            if (ids[i] >= g->vocab) {
                fprintf(stderr, "llmrun generate: the prompt's byte 0x%02x is not below the model's vocab %lld (give "
                                "--tok)\n", ids[i], (long long)g->vocab);
                free(ids);
                return EXIT_BAD_INPUT;
            }
        }
        n = (int64_t)len;
    }
    if (n == 0) {
        fprintf(stderr, "llmrun generate: the prompt has no tokens\n");
        free(ids);
        return EXIT_BAD_INPUT;
    }
    ids = llmc_xrealloc(ids, (size_t)(n + o->tokens + 1) * sizeof *ids);
    for (int64_t i = 0; i < n; i++)
        if (!g->tok || ids[i] != (uint32_t)rt_bpe_special(g->tok, RT_BPE_EOT)) put_token(g->tok, ids[i]);
    LlmrunRng rng;
    llmrun_rng_seed(&rng, o->seed);
    int64_t eot = g->tok ? rt_bpe_special(g->tok, RT_BPE_EOT) : -1;
    int64_t made = 0, cached_steps = 0;
    double t_prefill = 0, t0 = now_s();
    bool ok = true;
    for (; made < o->tokens && ok; made++) {
        const float *row = NULL;
        int64_t len = n + made;
        if (g->cached && len <= g->ctx) {
            if (made == 0) { /* the prompt through @prefill: the caches hold rows 0..len-1 */
                double tp = now_s();
                memset(g->tokens, 0, (size_t)g->ctx * sizeof *g->tokens);
                for (int64_t i = 0; i < len; i++) g->tokens[i] = (int32_t)ids[i];
                g->pos = (int32_t)(len - 1);
                ok = rt_exec_run(g->prefill.e, g->prefill.in, g->prefill.out, &err);
                t_prefill = now_s() - tp;
            } else { /* the last token at position len - 1 */
                g->one = (int32_t)ids[len - 1];
                g->pos = (int32_t)(len - 1);
                ok = rt_exec_run(g->decode.e, g->decode.in, g->decode.out, &err);
                cached_steps++;
            }
            row = g->logits;
        } else {
            ok = next_full(g, ids, len, &row, &err);
        }
        if (!ok) break;
        uint32_t id = llmrun_sample(row, (uint32_t)g->vocab, &o->sampling, &rng);
        ids[len] = id;
        if (eot >= 0 && id == (uint32_t)eot) {
            made++;
            break;
        }
        put_token(g->tok, id);
    }
    double dt = now_s() - t0;
    putchar('\n');
    fflush(stdout);
    free(ids);
    if (!ok) {
        fprintf(stderr, "llmrun generate: %s\n", err.msg);
        return EXIT_BAD_INPUT;
    }
    double decode_s = dt - t_prefill;
    int64_t after_first = made > 0 ? made - 1 : 0;
    fprintf(stderr, "llmrun generate: %lld tokens in %.3f s (%.1f tokens/s); prompt %lld tokens%s", (long long)made,
            dt, dt > 0 ? (double)made / dt : 0.0, (long long)n, g->cached ? "" : "\n");
    if (g->cached)
        fprintf(stderr, " in %.3f s (@prefill); %lld @decode steps at %.1f tokens/s%s\n", t_prefill,
                (long long)cached_steps, decode_s > 0 ? (double)after_first / decode_s : 0.0,
                cached_steps < after_first ? " (past the context: full recompute)" : "");
    return EXIT_OK;
}

int llmrun_generate(int argc, char **argv) {
    GenOptions o;
    int st = parse_args(argc, argv, &o);
    if (st == -1) st = EXIT_OK;
    else if (st == EXIT_OK) {
        GenModel gm;
        Gen g = {.o = &o, .gm = &gm};
        LlmcErr err = {0};
        if (!model_load(&gm, &o, &err) || !gen_setup(&g, &err)) {
            fprintf(stderr, "llmrun generate: %s\n", err.msg);
            st = EXIT_BAD_INPUT;
        } else {
            st = generate(&g);
        }
        gen_free(&g);
        model_free(&gm);
    }
    for (uint32_t i = 0; i < o.n_ov; i++) free((char *)o.ov[i].name);
    free(o.ov);
    return st;
}
