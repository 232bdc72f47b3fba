/* tools/llmrun.c — trains a model: llmrun MODEL.llm --data DIR --out RUN_DIR [options].
 *
 * The model is compiled in-process (frontend -> training step -> fusion -> LLVM, through
 * the object cache), its params initialized by running @init as JIT code (or restored
 * from a checkpoint), and every step runs through RtTrainer (runtime/train.c). Each step
 * prints a progress line (rewritten in place on a terminal, plain lines otherwise) and
 * appends one JSON object to RUN_DIR/metrics.jsonl; checkpoints are saved every
 * --ckpt-every steps, at the end, and on SIGINT/SIGTERM (runtime/ckpt.c). --resume
 * continues bit-exactly: every bit of the training state is in the checkpoint, and the
 * data a step reads is a function of (seed, global micro-batch index) alone.
 *
 * Under mpirun every rank runs this program: the step is sharded for the world
 * (--shard, tools/llmrun_world.c), rank r runs the global micro-batches r, r + N, ...,
 * every rank takes part in each checkpoint (writing its own ranges of the one canonical
 * checkpoint), and rank 0 alone prints progress and writes metrics.jsonl. A rank that
 * fails aborts the whole job (MPI_Abort), so no rank is left waiting in a collective.
 *
 * Exit status: 0 done, 1 bad input or a failed run (a message names the problem; what is
 * saved stays saved), 2 bad usage, 130/143 stopped by SIGINT/SIGTERM after saving.
 */
#include "compiler.h"
#include "frontend.h"
#include "ir.h"
#include "llmrun.h"
#include "runtime.h"
#include "subcmd.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_OK = 0, EXIT_BAD_INPUT = 1, EXIT_USAGE = 2 };

static const char *const usage_text =
    "usage: llmrun MODEL.llmc|MODEL.llm --data DIR --out RUN_DIR [options]\n"
    "\n"
    "Trains MODEL — a bundle from `llmc MODEL.llm -o MODEL.llmc`, or a .llm compiled here\n"
    "through the kernel cache — on the token shards in DIR (llmdata shard makes them), writing\n"
    "RUN_DIR/metrics.jsonl and checkpoints RUN_DIR/ckpt-NNNNNNNN (RUN_DIR/latest names the\n"
    "newest).\n"
    "\n"
    "options:\n"
    "  --steps N          stop at absolute step N (default: the train block's steps, which\n"
    "                     stays the schedule's horizon either way)\n"
    "  --resume RUN_DIR   continue from RUN_DIR's latest checkpoint (bit-exact)\n"
    "  --init FILE        the initial params from FILE.safetensors (`llmrun export`), not\n"
    "                     @init: every param, with its dtype and shape (also spelled\n"
    "                     `llmrun import FILE MODEL ...`); with --steps 0, a fresh run only\n"
    "                     saves its initial params as the checkpoint of step 0\n"
    "  --threads N        kernel threads (default: the number of cores); results do not\n"
    "                     depend on it\n"
    "  --seed N           the run's seed (init, dropout, data order); same as -D seed=N\n"
    "  --eval-every N     validation loss every N steps (default 0: never)\n"
    "  --eval-batches N   micro-batches per validation (default 4)\n"
    "  --val-fraction F   share of the tokens held out for validation (default 0.1)\n"
    "  --ckpt-every N     checkpoint every N steps (default 0: only at the end)\n"
    "  --keep K           checkpoints to keep (default 3; 0 keeps all)\n"
    "  -D NAME=VALUE      override a model or train setting (repeatable); on a bundle only\n"
    "                     the recipe values the compiled step takes as inputs (lr, betas,\n"
    "                     eps, weight_decay, momentum, min_lr, warmup, steps, clip, seed)\n"
    "  --debug-nan        check every kernel's output; name the first kernel and IR node\n"
    "                     that produces a nan or an infinity (slow)\n"
    "  --shard S          under mpirun: none (DDP: replicated state, all-reduced gradients),\n"
    "                     grad (ZeRO-2: gradients and optimizer state sharded) or full\n"
    "                     (FSDP: params sharded too); default none. Results are bit-\n"
    "                     identical for any number of ranks that divides accumulate\n"
    "  --comm-timeout S   abort the job when a collective waits more than S seconds\n"
    "                     (default 300; 0: wait forever)\n"
    "  --no-prefetch      complete every collective where it stands instead of overlapping\n"
    "                     it with the kernels after it (to measure what the overlap hides)\n"
    "  --profile          time every kernel from the second step on and print, at the end,\n"
    "                     where a step's time goes: compute, collectives and the rest,\n"
    "                     MFU against the FMA peak measured then, time by kernel kind,\n"
    "                     and the slowest kernels (GFLOP/s, GB/s, roofline, IR nodes,\n"
    "                     scopes); results are unchanged\n"
    "  --bf16-path P      what multiplies bf16 matmul operands (precision = bf16): auto,\n"
    "                     avx512bf16 (vdpbf16ps) or fp32 (widened to f32, FMA: what a CPU\n"
    "                     without avx512bf16 runs); default auto. llmrun reports the path\n"
    "  -h, --help         this text\n"
    "\n"
    "exit status: 0 done, 1 bad input or failed run, 2 bad usage, 3 a collective timed out,\n"
    "130/143 stopped by SIGINT/SIGTERM (a checkpoint was saved first)\n"
    "\n"
    "several ranks:  mpirun -np N llmrun MODEL --data DIR --out RUN_DIR --shard full\n"
    "(N a power of two dividing the train block's accumulate; see the README for hosts)\n"
    "\n"
    "other commands (each has --help):\n"
    "  llmrun generate RUN_DIR|CKPT_DIR --model M.llmc|M.llm --prompt TEXT --tokens N\n"
    "                 [--temperature T --top-k K --top-p P --seed S --tok TOK]  sample text\n"
    "  llmrun export RUN_DIR|CKPT_DIR -o FILE.safetensors    a checkpoint's params\n"
    "  llmrun import FILE.safetensors MODEL ...              = llmrun MODEL ... --init FILE\n";

typedef struct Options {
    const char *model, *data, *out, *resume;
    const char *init;     /* --init FILE: params from safetensors instead of @init */
    int64_t steps;        /* -1: the record's */
    uint32_t threads;
    int64_t eval_every, eval_batches, ckpt_every;
    uint32_t keep;
    double val_fraction;
    bool debug_nan, no_prefetch, profile;
    CcShard shard;
    double comm_timeout;
    FeOverride *ov;
    uint32_t n_ov;
} Options;

static int usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "llmrun: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'llmrun --help'.\n");
    return EXIT_USAGE;
}

static int add_override(Options *o, const char *name, const char *value) {
    o->ov = llmc_xrealloc(o->ov, (o->n_ov + 1) * sizeof *o->ov);
    o->ov[o->n_ov++] = (FeOverride){name, value};
    return EXIT_OK;
}

static int parse_define(Options *o, const char *arg) {
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1]) return usage_error("-D needs NAME=VALUE, got '%s'", arg);
    char *name = llmc_xmalloc((size_t)(eq - arg) + 1);
    memcpy(name, arg, (size_t)(eq - arg));
    name[eq - arg] = 0;
    return add_override(o, name, eq + 1);
}

static int parse_args(int argc, char **argv, Options *o) {
    *o = (Options){.steps = -1, .eval_batches = 4, .keep = 3, .val_fraction = 0.1, .shard = CC_SHARD_NONE,
                   .comm_timeout = 300};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int64_t n = 0;
        bool takes = strcmp(a, "--data") == 0 || strcmp(a, "--out") == 0 || strcmp(a, "--resume") == 0 ||
                     strcmp(a, "--init") == 0 ||
                     strcmp(a, "--steps") == 0 || strcmp(a, "--threads") == 0 || strcmp(a, "--seed") == 0 ||
                     strcmp(a, "--eval-every") == 0 || strcmp(a, "--eval-batches") == 0 ||
                     strcmp(a, "--ckpt-every") == 0 || strcmp(a, "--keep") == 0 || strcmp(a, "--val-fraction") == 0 ||
                     strcmp(a, "--shard") == 0 || strcmp(a, "--comm-timeout") == 0 || strcmp(a, "-D") == 0 || strcmp(a, "--bf16-path") == 0;
        if (takes && !v) return usage_error("option '%s' needs a value", a);
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage_text, stdout);
            exit(EXIT_OK);
        } else if (strcmp(a, "--data") == 0) {
            o->data = v;
        } else if (strcmp(a, "--out") == 0) {
            o->out = v;
        } else if (strcmp(a, "--resume") == 0) {
            o->resume = v;
        } else if (strcmp(a, "--init") == 0) {
            o->init = v;
        } else if (strcmp(a, "--steps") == 0) {
            if (!llmrun_parse_i64(v, 0, INT32_MAX, &o->steps)) return usage_error("--steps needs a step count, got '%s'", v);
        } else if (strcmp(a, "--threads") == 0) {
            if (!llmrun_parse_i64(v, 1, 1024, &n)) return usage_error("--threads needs an integer in [1, 1024], got '%s'", v);
            o->threads = (uint32_t)n;
        } else if (strcmp(a, "--seed") == 0) {
            if (!llmrun_parse_i64(v, 0, INT32_MAX, &n)) return usage_error("--seed needs an integer in [0, 2^31), got '%s'", v);
            add_override(o, llmc_xstrdup("seed"), v);
        } else if (strcmp(a, "--eval-every") == 0) {
            if (!llmrun_parse_i64(v, 0, INT32_MAX, &o->eval_every)) return usage_error("--eval-every needs a count, got '%s'", v);
        } else if (strcmp(a, "--eval-batches") == 0) {
            if (!llmrun_parse_i64(v, 1, 1 << 20, &o->eval_batches)) return usage_error("--eval-batches needs a count, got '%s'", v);
        } else if (strcmp(a, "--ckpt-every") == 0) {
            if (!llmrun_parse_i64(v, 0, INT32_MAX, &o->ckpt_every)) return usage_error("--ckpt-every needs a count, got '%s'", v);
        } else if (strcmp(a, "--keep") == 0) {
            if (!llmrun_parse_i64(v, 0, 1 << 20, &n)) return usage_error("--keep needs a count, got '%s'", v);
            o->keep = (uint32_t)n;
        } else if (strcmp(a, "--val-fraction") == 0) {
            char *end;
            o->val_fraction = strtod(v, &end);
            if (end == v || *end || !(o->val_fraction >= 0 && o->val_fraction < 1))
                return usage_error("--val-fraction needs a number in [0, 1), got '%s'", v);
        } else if (strcmp(a, "--shard") == 0) {
            if (!cc_shard_parse(v, &o->shard)) return usage_error("--shard needs none, grad or full, got '%s'", v);
        } else if (strcmp(a, "--comm-timeout") == 0) {
            if (!llmrun_parse_f64(v, 0, 1e9, &o->comm_timeout))
                return usage_error("--comm-timeout needs seconds (>= 0), got '%s'", v);
        } else if (strcmp(a, "--debug-nan") == 0) {
            o->debug_nan = true;
            continue;
        } else if (strcmp(a, "--no-prefetch") == 0) {
            o->no_prefetch = true;
            continue;
        } else if (strcmp(a, "--profile") == 0) {
            o->profile = true;
            continue;
        } else if (strcmp(a, "--bf16-path") == 0) {
            char msg[160];
            if (!subcmd_bf16_path(v, msg, sizeof msg)) return usage_error("%s", msg);
        } else if (strcmp(a, "-D") == 0) {
            int st = parse_define(o, v);
            if (st != EXIT_OK) return st;
        } else if (strncmp(a, "-D", 2) == 0 && a[2]) {
            int st = parse_define(o, a + 2);
            if (st != EXIT_OK) return st;
            continue;
        } else if (a[0] == '-' && a[1]) {
            return usage_error("unknown option '%s'", a);
        } else if (o->model) {
            return usage_error("more than one model ('%s')", a);
        } else {
            o->model = a;
            continue;
        }
        if (takes) i++;
    }
    if (!o->model) return usage_error("%s", "missing MODEL.llm");
    if (!o->data) return usage_error("%s", "missing --data DIR");
    if (!o->out) return usage_error("%s", "missing --out RUN_DIR");
    if (o->init && o->resume) return usage_error("%s", "--init starts a run; --resume continues one: not both");
    return EXIT_OK;
}

/* --- the model ---------------------------------------------------------------------- */

typedef struct Model {
    FeProgram *prog;   /* a .llm model; NULL for a bundle */
    RtBundle bundle;   /* a .llmc bundle (its objects go into the kernel cache) */
    bool is_bundle;
    IrModule m;
    CcTrainStep step;  /* owned for a .llm; the bundle's graphs (in m) otherwise */
    const IrGraph *fwd, *init;
    char hash[17];
    int64_t vocab;
} Model;

static const IrGraph *graph_named(const IrModule *m, const char *name) {
    for (uint32_t i = 0; i < m->n_graphs; i++)
        if (strcmp(ir_graph_name(m->graphs[i]), name) == 0) return m->graphs[i];
    return NULL;
}

/* The model hash, as llmc writes it in bundles: rt_model_hash of @forward lowered at
 * batch = 1, seq = 1 (fe_lower_architecture), so the recipe may change under it. */
static bool model_hash(const FeProgram *p, const FeLowerOptions *lo, char out[17]) {
    IrModule m = {0};
    LlmcDiags d = {0};
    bool ok = fe_lower_architecture(p, lo, &m, &d) && m.n_graphs > 0;
    if (ok) snprintf(out, 17, "%016" PRIx64, rt_model_hash(m.graphs[0]));
    llmc_diags_print(&d, stderr);
    ir_module_free(&m);
    llmc_diags_free(&d);
    return ok;
}

/* The vocabulary: rows of the token table, the first gathered param. */
static bool find_vocab(Model *md) {
    for (IrId id = 0; id < md->fwd->n_nodes && !md->vocab; id++) {
        const IrNode *n = &md->fwd->nodes[id];
        if (n->op == IR_OP_GATHER && md->fwd->nodes[n->operands[0]].op == IR_OP_INPUT)
            md->vocab = md->fwd->nodes[n->operands[0]].type.dims[0];
    }
    if (!md->vocab) fprintf(stderr, "llmrun: the model has no token embedding (a gathered param) to size the data by\n");
    return md->vocab > 0;
}

/* -D on a bundle: the recipe values that are inputs of the compiled step (hp.* state and
 * the seed) may change; anything else would need another graph. */
typedef struct RecipeField {
    const char *name;
    double *real;
    int64_t *integer;
} RecipeField;

static bool apply_recipe_override(Model *md, const FeOverride *ov, LlmcErr *err) {
    IrGraph *gs[3] = {(IrGraph *)md->fwd, md->step.micro, md->step.update};
    for (int k = 0; k < 3; k++) {
        IrTrainConfig *t = &gs[k]->train;
        RecipeField fields[] = {{"lr", &t->lr, NULL},           {"beta1", &t->beta1, NULL},
                                {"beta2", &t->beta2, NULL},     {"eps", &t->eps, NULL},
                                {"weight_decay", &t->weight_decay, NULL}, {"momentum", &t->momentum, NULL},
                                {"min_lr", &t->min_lr, NULL},   {"clip_grad_norm", &t->clip_grad_norm, NULL},
                                {"warmup", NULL, &t->warmup},   {"steps", NULL, &t->steps},
                                {"seed", NULL, &t->seed}};
        const RecipeField *f = NULL;
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
            if (strcmp(fields[i].name, ov->name) == 0) f = &fields[i];
        char hp[64];
        snprintf(hp, sizeof hp, "hp.%s", strcmp(ov->name, "clip_grad_norm") == 0 ? "clip" : ov->name);
        bool input = f && (strcmp(ov->name, "seed") == 0 || ir_graph_find_input(md->step.update, hp) != IR_ID_NONE);
        if (!input) {
            llmc_err_set(err, "-D %s=%s would change the compiled graph; recompile with llmc -D %s=%s (or run the .llm)",
                         ov->name, ov->value, ov->name, ov->value);
            return false;
        }
        char *end;
        double v = strtod(ov->value, &end);
        if (end == ov->value || *end || (f->integer && v != floor(v))) {
            llmc_err_set(err, "-D %s needs a%s number, got '%s'", ov->name, f->integer ? "n integer" : "", ov->value);
            return false;
        }
        if (f->real) *f->real = v;
        else *f->integer = (int64_t)v;
        if (!ir_train_check(t, err)) return false;
    }
    return true;
}

/* A bundle from llmc -o: its module, its model hash, -D limited to the recipe inputs. */
static bool bundle_load(Model *md, const Options *o) {
    LlmcErr err = {0};
    LlmcDiags d = {0};
    md->is_bundle = true;
    if (!rt_bundle_read(o->model, &md->bundle, &err)) {
        fprintf(stderr, "llmrun: %s\n", err.msg);
        return false;
    }
    bool ok = rt_bundle_module(&md->bundle, o->model, &md->m, &d);
    llmc_diags_print(&d, stderr);
    llmc_diags_free(&d);
    if (!ok) return false;
    md->fwd = graph_named(&md->m, "forward");
    md->init = graph_named(&md->m, "init");
    md->step.micro = (IrGraph *)graph_named(&md->m, "micro");
    md->step.update = (IrGraph *)graph_named(&md->m, "update");
    const RtBundleSection *cfg = rt_bundle_section(&md->bundle, "config.json");
    RtJson *j = NULL;
    const RtJson *h = NULL;
    if (cfg && rt_json_parse((const char *)cfg->data, cfg->size, o->model, &j, &err))
        h = rt_json_get(j, "model_hash");
    if (h && h->kind == RT_JSON_STRING && h->str_len == 16) memcpy(md->hash, h->str, 17);
    rt_json_free(j);
    if (!md->fwd || !md->init || !md->step.micro || !md->step.update || !md->hash[0]) {
        fprintf(stderr, "llmrun: %s: the bundle lacks %s\n", o->model,
                !md->hash[0] ? "a model_hash in config.json" : "one of @forward, @init, @micro, @update");
        return false;
    }
    for (uint32_t i = 0; i < o->n_ov; i++)
        if (!apply_recipe_override(md, &o->ov[i], &err)) {
            fprintf(stderr, "llmrun: %s: %s\n", o->model, err.msg);
            return false;
        }
    return true;
}

static bool model_load(Model *md, const Options *o) {
    memset(md, 0, sizeof *md);
    char *text = NULL;
    size_t len = 0;
    LlmcErr err = {0};
    if (!llmc_file_read(o->model, &text, &len, &err)) {
        fprintf(stderr, "llmrun: %s\n", err.msg);
        return false;
    }
    /* a bundle by its magic; a .llmc or binary file without it is a bad bundle, and
     * rt_bundle_read says so (rather than the .llm parser's flood of errors) */
    size_t n = strlen(o->model);
    if (rt_bundle_sniff(text, len) || (n > 5 && strcmp(o->model + n - 5, ".llmc") == 0) || memchr(text, 0, len)) {
        free(text);
        return bundle_load(md, o) && find_vocab(md);
    }
    LlmcDiags d = {0};
    LlmcSource src = {o->model, text, len};
    md->prog = fe_parse(&src, &d);
    FeLowerOptions lo = {o->ov, o->n_ov};
    bool ok = md->prog && fe_lower(md->prog, &lo, &md->m, &d);
    llmc_diags_print(&d, stderr);
    llmc_diags_free(&d);
    free(text);
    if (!ok) return false;
    md->fwd = graph_named(&md->m, "forward");
    md->init = graph_named(&md->m, "init");
    if (!md->fwd || !md->init || !md->fwd->train.present) {
        fprintf(stderr, "llmrun: %s: the model has no %s\n", o->model, !md->fwd ? "@forward graph"
                                                                    : !md->init ? "@init graph" : "train block");
        return false;
    }
    if (!cc_train_step_build(&md->m, &md->step, &err)) {
        fprintf(stderr, "llmrun: %s: %s\n", o->model, err.msg);
        return false;
    }
    if (!model_hash(md->prog, &lo, md->hash)) {
        fprintf(stderr, "llmrun: %s: cannot lower the model at batch 1, seq 1 for its hash\n", o->model);
        return false;
    }
    return find_vocab(md);
}

static void model_free(Model *md) {
    if (!md->is_bundle) cc_train_step_free(&md->step);
    rt_bundle_free(&md->bundle);
    ir_module_free(&md->m);
    fe_program_free(md->prog);
}

static char *dup_n(const char *s, size_t n) {
    char *d = llmc_xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

/* The recipe, for checkpoints: the train record's fields as the IR prints them
 * ("lr" -> "0.001"), from the canonical `train {k=v, ...}` line. */
static RtKv *recipe_of(const IrGraph *fwd, uint32_t *n) {
    LlmcBuf text = {0};
    ir_print_graph(fwd, &text);
    RtKv *kv = NULL;
    *n = 0;
    const char *open = text.data ? strstr(text.data, "train {") : NULL;
    const char *close = open ? strchr(open, '}') : NULL;
    for (const char *p = open ? open + 7 : NULL; p && p < close;) {
        const char *end = p;
        while (end < close && *end != ',') end++;
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (eq) {
            kv = llmc_xrealloc(kv, (*n + 1) * sizeof *kv);
            kv[*n].key = dup_n(p, (size_t)(eq - p));
            kv[*n].value = dup_n(eq + 1, (size_t)(end - eq - 1));
            (*n)++;
        }
        p = end + (end < close ? 2 : 0); /* ", " */
        if (end >= close) break;
    }
    llmc_buf_free(&text);
    return kv;
}

static void recipe_free(RtKv *kv, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) {
        free(kv[i].key);
        free(kv[i].value);
    }
    free(kv);
}

/* --- memory ------------------------------------------------------------------------- */

static uint64_t available_bytes(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    uint64_t kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %" SCNu64 " kB", &kb) == 1) break;
    if (f) fclose(f);
    if (kb) return kb * 1024;
    long pages = sysconf(_SC_AVPHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : UINT64_MAX;
}

/* What training will hold at once, before anything big is allocated: params and
 * optimizer state (every var), two copies of the micro outputs (one micro-batch's and
 * the tree sums), and both arenas. */
static bool fits_in_memory(const Model *md, const char *path, LlmcErr *err) {
    uint64_t vars = 0, grads = 0, arenas = 0;
    const IrGraph *gs[2] = {md->step.micro, md->step.update};
    for (int k = 0; k < 2; k++) {
        uint32_t n_in = ir_graph_inputs(gs[k], NULL);
        IrId *ids = llmc_xcalloc(n_in + 1, sizeof *ids);
        ir_graph_inputs(gs[k], ids);
        for (uint32_t i = 0; i < n_in; i++) {
            const IrNode *n = ir_graph_node(gs[k], ids[i]);
            const char *name = ir_graph_str(gs[k], n->attrs.input.name);
            bool grad = strncmp(name, CC_GRAD_PREFIX, strlen(CC_GRAD_PREFIX)) == 0;
            if (n->attrs.input.role != IR_ROLE_DATA && !grad && (k == 1 || n->attrs.input.role == IR_ROLE_PARAM))
                vars += ir_type_bytes(&n->type);
        }
        free(ids);
        CcFusion f;
        CcMemPlan p;
        if (!cc_fuse(gs[k], &f, err)) return false;
        if (!cc_memplan(&f, &p, err)) {
            cc_fusion_free(&f);
            return false;
        }
        arenas += p.peak_bytes;
        cc_memplan_free(&p);
        cc_fusion_free(&f);
    }
    for (uint32_t o = 0; o < md->step.micro->n_outputs; o++)
        grads += 2 * ir_type_bytes(&md->step.micro->nodes[md->step.micro->outputs[o].node].type);
    uint64_t need = vars + grads + arenas, have = available_bytes();
    if (need <= have) return true;
    llmc_err_set(err, "%s: the model needs %.2f GB (params and optimizer state %.2f GB, gradients %.2f GB, "
                      "activation arenas %.2f GB) but %.2f GB are available",
                 path, need / 1e9, vars / 1e9, grads / 1e9, arenas / 1e9, have / 1e9);
    return false;
}

/* --- the run ------------------------------------------------------------------------ */

static volatile sig_atomic_t g_signal; /* SIGINT / SIGTERM received: stop after this step */

static void on_signal(int sig) { g_signal = sig; }

typedef struct Run {
    const Options *o;
    Model *md;
    LlmrunWorld *w;
    bool lead;                   /* rank 0: prints progress, writes metrics */
    void **eval_params;          /* [fwd inputs] buffers of params no var holds (full) */
    CcJit *jit;
    CcObjCache *cache;
    RtPool *pool;
    RtTrainer *t;
    RtData *data;
    RtExec *eval;
    void **eval_in, **eval_out;
    int32_t *eval_micro;
    uint64_t seed;
    int64_t batch, seq, accumulate, horizon, end, step; /* step: optimizer steps taken */
    int32_t *tokens, *targets;   /* the current micro-batch (train) */
    uint64_t loaded_micro;       /* global index in tokens/targets; UINT64_MAX: none */
    int32_t *val_tokens, *val_targets;
    uint64_t last_epoch;
    RtKv *recipe;
    uint32_t n_recipe;
    int64_t last_ckpt;           /* step of the newest checkpoint, -1: none */
    RtCkpt ck;                   /* --resume's checkpoint, from before compiling to restoring */
    RtSafetensors init_w;        /* --init's weights, checked before compiling, then restored */
    bool tty;
    double t0;                   /* the first timed step */
    int64_t t0_step;
    FILE *metrics;
    uint64_t prof_steps;         /* --profile: steps timed (every one after the first) */
    double prof_seconds;         /* their rt_trainer_step wall time */
    uint64_t comm_bytes;         /* rank's bytes sent up to the last report */
    double comm_wait;            /* rank's seconds blocked in collectives, likewise */
} Run;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The batch callback: micro-batch i of the current step is global micro-batch
 * step * accumulate + i (DESIGN §8: the data a micro-batch sees depends on that index
 * and the seed alone). */
static bool run_batch(void *ctx, uint32_t micro_index, const char *input, IrValue *out, LlmcErr *err) {
    Run *r = ctx;
    uint64_t global = (uint64_t)r->step * (uint64_t)r->accumulate + micro_index;
    bool targets = strcmp(input, "targets") == 0;
    if (!targets && strcmp(input, "tokens") != 0) {
        llmc_err_set(err, "the model reads data input '%s'; llmrun feeds only tokens and targets", input);
        return false;
    }
    if (r->loaded_micro != global) {
        if (!rt_data_batch(r->data, false, r->seed, global, r->batch, r->seq, r->tokens, r->targets, err)) return false;
        r->loaded_micro = global;
    }
    const int32_t *src = targets ? r->targets : r->tokens;
    ir_value_alloc(out, ir_type_make(IR_DTYPE_I32, 2, (int64_t[]){r->batch, r->seq}));
    for (int64_t i = 0; i < r->batch * r->seq; i++) out->data[i] = src[i];
    return true;
}

/* @forward through its own executor, reading the trainer's params in place. */
static bool eval_setup(Run *r, LlmcErr *err) {
    const IrGraph *g = r->md->fwd;
    if (!(r->eval = rt_exec_new(r->jit, g, r->pool, err))) return false;
    uint32_t n_in = ir_graph_inputs(g, NULL);
    IrId *ids = llmc_xcalloc(n_in + 1, sizeof *ids);
    ir_graph_inputs(g, ids);
    r->eval_in = llmc_xcalloc(n_in + 1, sizeof *r->eval_in);
    r->eval_params = llmc_xcalloc(n_in + 1, sizeof *r->eval_params);
    r->eval_micro = llmc_xcalloc(1, sizeof *r->eval_micro);
    bool ok = true;
    for (uint32_t i = 0; ok && i < n_in; i++) {
        const char *name = ir_graph_str(g, g->nodes[ids[i]].attrs.input.name);
        if (strcmp(name, "tokens") == 0) r->eval_in[i] = r->val_tokens;
        else if (strcmp(name, "targets") == 0) r->eval_in[i] = r->val_targets;
        else if (strcmp(name, "micro") == 0) r->eval_in[i] = r->eval_micro;
        else if (!(r->eval_in[i] = rt_trainer_var_data(r->t, name, NULL)) &&
                 g->nodes[ids[i]].attrs.input.role == IR_ROLE_PARAM) /* sharded: gathered per evaluation */
            r->eval_in[i] = r->eval_params[i] = llmc_xcalloc(1, ir_type_bytes(&g->nodes[ids[i]].type));
        if (!r->eval_in[i]) {
            llmc_err_set(err, "@forward input '%s' has no value for validation", name);
            ok = false;
        }
    }
    free(ids);
    r->eval_out = llmc_xcalloc(g->n_outputs + 1, sizeof *r->eval_out);
    for (uint32_t o = 0; o < g->n_outputs; o++) r->eval_out[o] = llmc_xcalloc(1, ir_type_bytes(&g->nodes[g->outputs[o].node].type));
    return ok;
}

/* The mean validation loss over --eval-batches micro-batches of the held-out split. */
static bool eval_loss(Run *r, double *loss, LlmcErr *err) {
    const IrGraph *g = r->md->fwd;
    uint32_t n_in = ir_graph_inputs(g, NULL);
    IrId *ids = llmc_xcalloc(n_in + 1, sizeof *ids);
    ir_graph_inputs(g, ids);
    const char **names = llmc_xcalloc(n_in + 1, sizeof *names);
    void **outs = llmc_xcalloc(n_in + 1, sizeof *outs);
    uint32_t n = 0;
    for (uint32_t i = 0; i < n_in; i++) /* the params no var holds whole (full) */
        if (r->eval_params[i]) {
            names[n] = ir_graph_str(g, g->nodes[ids[i]].attrs.input.name);
            outs[n++] = r->eval_params[i];
        }
    bool ok = llmrun_world_params(r->w, r->t, names, outs, n);
    free(names);
    free(outs);
    free(ids);
    if (!ok) {
        llmc_err_set(err, "a param of @forward has no var to read it from");
        return false;
    }
    double sum = 0;
    for (int64_t i = 0; i < r->o->eval_batches; i++) {
        if (!rt_data_batch(r->data, true, r->seed, (uint64_t)i, r->batch, r->seq, r->val_tokens, r->val_targets, err) ||
            !rt_exec_run(r->eval, r->eval_in, r->eval_out, err))
            return false;
        for (uint32_t o = 0; o < g->n_outputs; o++)
            if (strcmp(ir_graph_str(g, g->outputs[o].name), "loss") == 0) sum += *(const float *)r->eval_out[o];
    }
    *loss = sum / (double)r->o->eval_batches;
    return true;
}

/* --- checkpoints ---------------------------------------------------------------------- */

/* hp.* and the seed come from the run's recipe, not from a checkpoint: a changed value
 * applies (with a warning). Everything else is training state. */
static bool from_recipe(const char *var) { return strncmp(var, "hp.", 3) == 0 || strcmp(var, "seed") == 0; }

static bool save_checkpoint(Run *r, LlmcErr *err) {
    RtCkptPiece *pieces = NULL;
    uint32_t n_pieces = 0;
    if (!llmrun_world_pieces(r->w, r->t, &pieces, &n_pieces, err)) return false;
    RtCkptMeta meta = {.step = r->step,
                       .data_pos = (uint64_t)r->step * (uint64_t)r->accumulate,
                       .seed = r->seed,
                       .recipe = r->recipe,
                       .n_recipe = r->n_recipe,
                       .world_size = r->w->size};
    memcpy(meta.model_hash, r->md->hash, sizeof meta.model_hash);
    bool ok = rt_ckpt_save_pieces(r->w->comm, r->o->out, &meta, r->w->specs, r->w->n_specs, pieces, n_pieces,
                                  r->o->keep, err);
    free(pieces);
    if (ok) r->last_ckpt = r->step;
    return ok;
}

/* Loads and checks --resume's checkpoint before anything is compiled: another model's
 * checkpoint costs no compile. */
static bool open_checkpoint(Run *r, RtCkpt *ck, LlmcErr *err) {
    if (!rt_ckpt_load(r->o->resume, ck, err)) return false;
    if (!rt_ckpt_check_model(ck, r->md->hash, err)) return false;
    LlmcBuf diff = {0};
    if (rt_ckpt_recipe_diff(&ck->meta, r->recipe, r->n_recipe, &diff) && r->lead)
        fprintf(stderr, "llmrun: warning: the recipe changed since %s; the run is no longer exactly reproducible:\n%s",
                ck->dir, diff.data);
    llmc_buf_free(&diff);
    return true;
}

/* The checkpoint's training state into the trainer's vars (hp.* and the seed stay the
 * run's recipe). */
static bool restore_checkpoint(Run *r, const RtCkpt *ckp, LlmcErr *err) {
    const RtCkpt ck = *ckp;
    bool ok = true;
    for (uint32_t i = 0; ok && i < r->w->n_specs; i++) {
        const RtCkptSpec *spec = &r->w->specs[i];
        if (from_recipe(spec->name)) continue;
        const RtTensor *x = rt_safetensors_find(&ck.state, spec->name);
        if (!x) {
            llmc_err_set(err, "%s: the checkpoint has no tensor '%s'", ck.dir, spec->name);
            ok = false;
        } else if (!ir_type_equal(&x->type, &spec->type)) {
            char a[IR_TYPE_STR_MAX], b[IR_TYPE_STR_MAX];
            llmc_err_set(err, "%s: tensor '%s' is %s, the model's is %s", ck.dir, spec->name,
                         ir_type_format(&x->type, a, sizeof a), ir_type_format(&spec->type, b, sizeof b));
            ok = false;
        } else {
            ok = llmrun_world_put(r->w, r->t, spec->name, x->type, x->data, err);
        }
    }
    if (ok) {
        r->step = ck.meta.step;
        r->last_ckpt = ck.meta.step;
        int32_t *step_var = rt_trainer_var_data(r->t, CC_STEP, NULL);
        if (step_var && *step_var != r->step) {
            llmc_err_set(err, "%s: manifest step %lld but the step counter holds %d", ck.dir, (long long)r->step,
                         *step_var);
            ok = false;
        }
    }
    if (ok && r->lead)
        fprintf(stderr, "llmrun: resumed from %s at step %lld (a checkpoint written by %u rank%s)\n", ck.dir,
                (long long)r->step, ck.meta.world_size, ck.meta.world_size == 1 ? "" : "s");
    return ok;
}

/* metrics.jsonl keeps the lines of steps up to `step` (those a resume replays are
 * dropped, so the file reads as one run). */
static bool metrics_open(Run *r, LlmcErr *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/metrics.jsonl", r->o->out);
    if (r->o->resume) {
        char *text = NULL;
        size_t len = 0;
        LlmcErr rerr = {0};
        if (llmc_file_read(path, &text, &len, &rerr)) {
            LlmcBuf keep = {0};
            for (char *p = text; p < text + len;) {
                char *nl = memchr(p, '\n', (size_t)(text + len - p));
                size_t n = nl ? (size_t)(nl - p) : (size_t)(text + len - p);
                RtJson *j = NULL;
                LlmcErr jerr = {0};
                if (rt_json_parse(p, n, path, &j, &jerr)) {
                    const RtJson *s = rt_json_get(j, "step");
                    if (s && s->kind == RT_JSON_NUMBER && s->number <= (double)r->step) {
                        llmc_buf_put(&keep, p, n);
                        llmc_buf_putc(&keep, '\n');
                    }
                }
                rt_json_free(j);
                p += n + 1;
            }
            bool ok = llmc_file_write(path, keep.data ? keep.data : "", keep.len, err);
            llmc_buf_free(&keep);
            free(text);
            if (!ok) return false;
        }
    }
    r->metrics = fopen(path, "a");
    if (!r->metrics) {
        llmc_err_set(err, "%s: %s", path, strerror(errno));
        return false;
    }
    return true;
}

static void fmt_time(double s, char *out, size_t n) {
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(out, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(out, n, "%ld:%02ld", t / 60, t % 60);
}

static void report_step(Run *r, const CcStepResult *res, bool has_val, double val) {
    RtCommStats cs = rt_comm_stats(r->w->comm);
    uint64_t comm_bytes = cs.bytes_sent - r->comm_bytes;
    r->comm_bytes = cs.bytes_sent;
    double wait_before = r->comm_wait;
    r->comm_wait = cs.wait_seconds;
    if (!r->lead) return;
    double tokens_per_step = (double)(r->batch * r->seq * r->accumulate);
    double elapsed = now_s() - r->t0, done = (double)(r->step - r->t0_step);
    double tps = elapsed > 0 ? done * tokens_per_step / elapsed : 0;
    double eta = done > 0 ? elapsed / done * (double)(r->end - r->step) : 0;
    char el[32], et[32];
    fmt_time(elapsed, el, sizeof el);
    fmt_time(eta, et, sizeof et);
    char line[512];
    int n = snprintf(line, sizeof line, "step %lld/%lld | loss %.4f | lr %.2e | gnorm %.3f | %.0f tok/s | %s | ETA %s",
                     (long long)r->step, (long long)r->end, res->loss, res->lr, res->grad_norm, tps, el, et);
    if (has_val && n > 0 && (size_t)n < sizeof line)
        snprintf(line + n, sizeof line - (size_t)n, " | val %.4f", val);
    if (r->tty) fprintf(stderr, "\r%s\033[K%s", line, has_val || r->step == r->end ? "\n" : "");
    else fprintf(stderr, "%s\n", line);

    LlmcBuf j = {0};
    RtJsonWriter w;
    rt_json_writer_init(&w, &j, RT_JSON_COMPACT);
    rt_json_begin_object(&w);
    rt_json_key(&w, "step"), rt_json_int(&w, r->step);
    rt_json_key(&w, "loss"), rt_json_double(&w, res->loss);
    rt_json_key(&w, "lr"), rt_json_double(&w, res->lr);
    rt_json_key(&w, "grad_norm"), rt_json_double(&w, res->grad_norm);
    rt_json_key(&w, "tokens"), rt_json_int(&w, (int64_t)(r->step * (int64_t)tokens_per_step));
    rt_json_key(&w, "tokens_per_s"), rt_json_double(&w, tps);
    rt_json_key(&w, "elapsed_s"), rt_json_double(&w, elapsed);
    rt_json_key(&w, "eta_s"), rt_json_double(&w, eta);
    if (r->w->size > 1) {
        rt_json_key(&w, "ranks"), rt_json_int(&w, r->w->size);
        rt_json_key(&w, "comm_bytes_rank0"), rt_json_int(&w, (int64_t)comm_bytes);
        rt_json_key(&w, "comm_wait_s_rank0"), rt_json_double(&w, cs.wait_seconds - wait_before);
    }
    double dropped;
    if (rt_trainer_micro_output(r->t, "moe_dropped_tokens", &dropped)) {
        rt_json_key(&w, "moe_dropped_tokens");
        rt_json_double(&w, dropped);
    }
    if (has_val) {
        rt_json_key(&w, "val_loss");
        rt_json_double(&w, val);
    }
    rt_json_end_object(&w);
    fprintf(r->metrics, "%s\n", j.data);
    fflush(r->metrics);
    llmc_buf_free(&j);
}

/* --- main --------------------------------------------------------------------------- */

/* Every param input of the step's graphs once (whole params, or flat shards under full),
 * with room for n_more vars after them. */
static CcVar *param_vars(const CcTrainStep *s, uint32_t n_more, uint32_t *n) {
    const IrGraph *gs[2] = {s->micro, s->update};
    uint32_t cap = ir_graph_inputs(gs[0], NULL) + ir_graph_inputs(gs[1], NULL) + n_more + 1;
    CcVar *vars = llmc_xcalloc(cap, sizeof *vars);
    *n = 0;
    for (int k = 0; k < 2; k++) {
        uint32_t n_in = ir_graph_inputs(gs[k], NULL);
        IrId *ids = llmc_xcalloc(n_in + 1, sizeof *ids);
        ir_graph_inputs(gs[k], ids);
        for (uint32_t i = 0; i < n_in; i++) {
            const IrNode *node = ir_graph_node(gs[k], ids[i]);
            if (node->attrs.input.role != IR_ROLE_PARAM) continue;
            const char *name = ir_graph_str(gs[k], node->attrs.input.name);
            bool seen = false;
            for (uint32_t j = 0; j < *n; j++) seen |= strcmp(vars[j].name, name) == 0;
            if (!seen) vars[(*n)++] = (CcVar){name, {node->type, NULL}};
        }
        free(ids);
    }
    return vars;
}

/* @init as JIT code into whole params, then each into this rank's vars. */
static bool run_init(Run *r, LlmcErr *err) {
    const IrGraph *init = r->md->init;
    RtExec *ie = rt_exec_new(r->jit, init, r->pool, err);
    if (!ie) return false;
    int32_t seed = (int32_t)r->md->fwd->train.seed;
    void *in[1] = {&seed}, **out = llmc_xcalloc(init->n_outputs + 1, sizeof *out);
    for (uint32_t o = 0; o < init->n_outputs; o++)
        out[o] = llmc_xcalloc(1, ir_type_bytes(&init->nodes[init->outputs[o].node].type));
    bool ok = ir_graph_inputs(init, NULL) == 1 && rt_exec_run(ie, in, out, err);
    if (!ok && !err->set) llmc_err_set(err, "@init should have one input, the seed");
    for (uint32_t o = 0; ok && o < init->n_outputs; o++)
        ok = llmrun_world_put(r->w, r->t, ir_graph_str(init, init->outputs[o].name),
                              init->nodes[init->outputs[o].node].type, out[o], err);
    for (uint32_t o = 0; o < init->n_outputs; o++) free(out[o]);
    free(out);
    rt_exec_free(ie);
    return ok;
}

/* What a rank tells the others at start-up (fixed size: one MPI_Allgather). */
#define TARGET_TEXT_MAX 8192
typedef struct RankId {
    char hash[17];                 /* the model */
    char base[256];                /* the JIT's target without cpu and features: format, LLVM, triple */
    char cpu[128];
    char features[TARGET_TEXT_MAX];
} RankId;

/* The object-cache target text without its cpu and features lines. */
static void target_base(const CcJit *jit, char *out, size_t n) {
    char *text = cc_objcache_target(jit);
    LlmcBuf b = {0};
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) + 1 : strlen(line);
        if (strncmp(line, "cpu ", 4) != 0 && strncmp(line, "features ", 9) != 0) llmc_buf_put(&b, line, len);
        line += len;
    }
    snprintf(out, n, "%s", b.data ? b.data : "");
    llmc_buf_free(&b);
    free(text);
}

/* Every rank must run the same model with the same kernels (DESIGN §8). The ranks
 * compare the model's hash and their JIT targets; ranks whose CPUs differ all compile
 * for the features they share (cc_jit_features_common), so every kernel, and so every
 * result, is the same code on every rank. What cannot be reconciled (another model,
 * another LLVM or triple) is an error naming the ranks. */
static bool world_check(Run *r, LlmcErr *err) {
    if (r->w->size == 1) return true;
    RankId *mine = llmc_xcalloc(1, sizeof *mine);
    const char *features = NULL, *cpu = cc_jit_cpu(r->jit, &features);
    if (strlen(features ? features : "") >= sizeof mine->features || strlen(cpu) >= sizeof mine->cpu) {
        llmc_err_set(err, "the JIT's cpu or feature string is too long to compare across ranks");
        free(mine);
        return false;
    }
    snprintf(mine->hash, sizeof mine->hash, "%s", r->md->hash);
    target_base(r->jit, mine->base, sizeof mine->base);
    snprintf(mine->cpu, sizeof mine->cpu, "%s", cpu);
    snprintf(mine->features, sizeof mine->features, "%s", features ? features : "");
    RankId *all = llmc_xcalloc(r->w->size, sizeof *all);
    rt_comm_gather_bytes(r->w->comm, mine, sizeof *mine, all);
    free(mine);
    LlmcBuf bad = {0};
    bool same_cpu = true, same_features = true;
    for (uint32_t q = 1; q < r->w->size; q++) {
        if (strcmp(all[q].hash, all[0].hash) != 0)
            llmc_buf_printf(&bad, "%s rank %u differs from rank 0 in the model (another bundle or .llm)", bad.len ? ";" : "", q);
        if (strcmp(all[q].base, all[0].base) != 0)
            llmc_buf_printf(&bad, "%s rank %u differs from rank 0 in its LLVM or target triple (kernels would differ)",
                            bad.len ? ";" : "", q);
        same_cpu &= strcmp(all[q].cpu, all[0].cpu) == 0;
        same_features &= strcmp(all[q].features, all[0].features) == 0;
    }
    if (bad.len) llmc_err_set(err, "the ranks disagree:%s", bad.data);
    llmc_buf_free(&bad);
    if (!err->set && !(same_cpu && same_features)) {
        const char **strings = llmc_xcalloc(r->w->size, sizeof *strings);
        for (uint32_t q = 0; q < r->w->size; q++) strings[q] = all[q].features;
        char *common = cc_jit_features_common(strings, r->w->size);
        free(strings);
        /* a CPU name tunes scheduling: one name for all, the baseline when they differ */
        const char *common_cpu = same_cpu ? all[0].cpu : "x86-64";
        if (r->lead)
            fprintf(stderr, "llmrun: the ranks' CPUs differ; every rank compiles for the features they share (cpu %s)\n",
                    common_cpu);
        cc_jit_free(r->jit);
        r->jit = cc_jit_new_for(common_cpu, common, err);
        free(common);
    }
    free(all);
    return !err->set;
}

static void print_bytes(const char *what, uint64_t b) {
    fprintf(stderr, " %s %.2f MiB", what, (double)b / (1024.0 * 1024.0));
}

/* Each rank's memory as the trainer counted its allocations, printed by rank 0. */
static void report_memory(Run *r) {
    RtTrainerMemory m = rt_trainer_memory(r->t);
    uint64_t mine[6] = {m.params, m.grads, m.optimizer, m.other, m.peak,
                        m.arena_micro > m.arena_update ? m.arena_micro : m.arena_update};
    uint64_t *all = llmc_xcalloc(6 * (size_t)r->w->size, sizeof *all);
    if (r->w->size > 1) rt_comm_gather_bytes(r->w->comm, mine, sizeof mine, all);
    else memcpy(all, mine, sizeof mine);
    for (uint32_t q = 0; r->lead && q < r->w->size; q++) {
        const uint64_t *v = all + 6 * q;
        fprintf(stderr, "llmrun: rank %u memory:", q);
        print_bytes("params", v[0]);
        print_bytes("| grads", v[1]);
        print_bytes("| optimizer", v[2]);
        print_bytes("| other", v[3]);
        print_bytes("| arena", v[5]);
        print_bytes("| peak", v[4]);
        fputc('\n', stderr);
    }
    free(all);
}

/* Compiles, initializes (or restores) and opens everything the loop needs. */
static bool run_setup(Run *r, LlmcErr *err) {
    const IrTrainConfig *tc = &r->md->fwd->train;
    r->batch = tc->batch, r->seq = tc->seq, r->accumulate = tc->accumulate;
    r->horizon = tc->steps;
    r->end = r->o->steps >= 0 ? r->o->steps : tc->steps;
    r->seed = (uint64_t)tc->seed;
    r->loaded_micro = UINT64_MAX;
    r->last_ckpt = -1;
    r->recipe = recipe_of(r->md->fwd, &r->n_recipe);
    size_t n = (size_t)(r->batch * r->seq);
    r->tokens = llmc_xcalloc(n, sizeof *r->tokens), r->targets = llmc_xcalloc(n, sizeof *r->targets);
    r->val_tokens = llmc_xcalloc(n, sizeof *r->tokens), r->val_targets = llmc_xcalloc(n, sizeof *r->targets);
    if (!r->o->resume) { /* a fresh run never writes over an earlier one */
        char path[4096];
        struct stat st;
        for (int i = 0; i < 2; i++) {
            snprintf(path, sizeof path, "%s/%s", r->o->out, i ? "metrics.jsonl" : "latest");
            if (stat(path, &st) == 0) {
                llmc_err_set(err, "%s already holds a run (%s); continue it with --resume %s, or choose another --out",
                             r->o->out, path, r->o->out);
                return false;
            }
        }
    }
    if (!fits_in_memory(r->md, r->o->model, err)) return false;
    if (!(r->jit = cc_jit_new(err)) || !world_check(r, err)) return false;
    if (r->md->fwd->train.precision == IR_TRAIN_BF16) { /* the path changes the bytes: resuming on another warns */
        r->recipe = llmc_xrealloc(r->recipe, (r->n_recipe + 1) * sizeof *r->recipe);
        r->recipe[r->n_recipe].key = llmc_xstrdup("bf16_path");
        r->recipe[r->n_recipe++].value = llmc_xstrdup(cc_jit_has_avx512bf16(r->jit) ? "avx512bf16" : "fp32");
    }
    char msg[256];
    if (!subcmd_bf16_path_check(cc_jit_has_avx512bf16(r->jit), msg, sizeof msg)) {
        llmc_err_set(err, "%s", msg);
        return false;
    }
    if (r->o->resume && !open_checkpoint(r, &r->ck, err)) return false;
    if (r->o->init && !llmrun_weights_open(r->o->init, r->md->init, r->md->hash, &r->init_w, err)) return false;
    if (!(r->data = rt_data_open(r->o->data, (uint32_t)r->md->vocab, r->o->val_fraction, err))) return false;
    if (r->o->eval_every && !rt_data_tokens(r->data, true)) {
        llmc_err_set(err, "--eval-every needs a validation split (--val-fraction > 0)");
        return false;
    }
    LlmcErr cerr = {0};
    if (!(r->cache = cc_objcache_open(NULL, &cerr)))
        fprintf(stderr, "llmrun: warning: no kernel cache (%s); compiling everything\n", cerr.msg);
    cc_jit_set_cache(r->jit, r->cache);
    if (r->md->is_bundle && r->cache) { /* the bundle's objects: kernels load, no codegen */
        uint32_t installed = 0;
        if (!rt_bundle_install_objects(&r->md->bundle, r->o->model, r->cache, r->jit, &installed, err)) return false;
        llmc_diags_print(cc_objcache_diags(r->cache), stderr);
    }
    if (!(r->pool = rt_pool_new(r->o->threads, err))) return false;

    if (!llmrun_world_setup(r->w, &r->md->step, r->md->init, err)) return false;
    /* vars: params (the step's param inputs: whole, or flat shards under full) start as
     * zeros and are filled from @init, --init or the checkpoint */
    uint32_t n_state = 0;
    CcVar *state = cc_train_state_new(&r->w->step, &n_state, err);
    if (!state) return false;
    const IrGraph *init = r->md->init;
    uint32_t n_vars = 0;
    CcVar *vars = param_vars(&r->w->step, n_state, &n_vars);
    for (uint32_t i = 0; i < n_state; i++) vars[n_vars++] = state[i];
    double t0 = now_s();
    if (r->lead)
        fprintf(stderr, "llmrun: %s %s ...\n", r->md->is_bundle ? "loading the kernels of" : "compiling", r->o->model);
    if (r->lead && r->md->fwd && r->md->fwd->train.present && r->md->fwd->train.precision == IR_TRAIN_BF16) {
        char path[256];
        subcmd_bf16_path_text(cc_jit_has_avx512bf16(r->jit), path, sizeof path);
        fprintf(stderr, "llmrun: precision bf16: matmuls on %s\n", path);
    }
    r->t = rt_trainer_new_world(r->jit, &r->w->step, r->pool, r->w->comm, vars, n_vars, err);
    for (uint32_t i = 0; i < n_state; i++) ir_value_free(&state[i].value);
    free(state);
    free(vars);
    if (!r->t) return false;
    if (r->o->debug_nan) rt_trainer_set_check_finite(r->t, true);
    if (r->o->no_prefetch) rt_trainer_set_prefetch(r->t, false);
    if (r->o->resume) {
        if (!restore_checkpoint(r, &r->ck, err)) return false;
        rt_ckpt_free(&r->ck); /* its tensors are in the trainer now */
    } else if (r->o->init) { /* --init: the file's params instead of @init */
        for (uint32_t o = 0; o < init->n_outputs; o++) {
            const RtTensor *x = rt_safetensors_find(&r->init_w, ir_graph_str(init, init->outputs[o].name));
            if (!llmrun_world_put(r->w, r->t, x->name, x->type, x->data, err)) return false;
        }
        rt_safetensors_free(&r->init_w);
        memset(&r->init_w, 0, sizeof r->init_w);
        if (r->lead) fprintf(stderr, "llmrun: params from %s\n", r->o->init);
    } else if (!run_init(r, err)) {
        return false;
    }
    if (r->o->eval_every && !eval_setup(r, err)) return false;
    RtExecStats a = rt_exec_stats(rt_trainer_exec(r->t, false)), b = rt_exec_stats(rt_trainer_exec(r->t, true));
    if (r->lead)
        fprintf(stderr,
                "llmrun: %u kernels per step (%u functions), compiled in %.1f s; %lld tokens per step; %u thread%s"
                " x %u rank%s, --shard %s\n",
                a.kernels + b.kernels, a.functions + b.functions, now_s() - t0,
                (long long)(r->batch * r->seq * r->accumulate), rt_pool_threads(r->pool),
                rt_pool_threads(r->pool) == 1 ? "" : "s", r->w->size, r->w->size == 1 ? "" : "s",
                cc_shard_name(r->w->strategy));
    report_memory(r);
    if (mkdir(r->o->out, 0777) != 0 && errno != EEXIST) {
        llmc_err_set(err, "%s: %s", r->o->out, strerror(errno));
        return false;
    }
    return !r->lead || metrics_open(r, err);
}

static void run_free(Run *r) {
    rt_ckpt_free(&r->ck);
    rt_safetensors_free(&r->init_w);
    rt_trainer_free(r->t);
    rt_exec_free(r->eval);
    if (r->eval_out)
        for (uint32_t o = 0; o < r->md->fwd->n_outputs; o++) free(r->eval_out[o]);
    free(r->eval_out);
    if (r->eval_params)
        for (uint32_t i = 0; i < ir_graph_inputs(r->md->fwd, NULL); i++) free(r->eval_params[i]);
    free(r->eval_params);
    free(r->eval_in);
    free(r->eval_micro);
    rt_data_free(r->data);
    rt_pool_free(r->pool);
    cc_jit_free(r->jit);
    cc_objcache_free(r->cache);
    recipe_free(r->recipe, r->n_recipe);
    free(r->tokens), free(r->targets), free(r->val_tokens), free(r->val_targets);
    if (r->metrics) fclose(r->metrics);
}

/* Whether any rank got SIGINT / SIGTERM: all ranks must stop (and save) at the same step. */
static bool stop_requested(Run *r) {
    if (r->w->size == 1) return g_signal != 0;
    int32_t mine = g_signal != 0, any = 0;
    rt_comm_run(r->w->comm, RT_COMM_ALL_REDUCE, IR_DTYPE_I32, &mine, &any, 1, "all_reduce of the stop flag");
    if (any && !g_signal) g_signal = SIGTERM;
    return any != 0;
}

/* A failed rank ends the whole job: the others would wait in a collective forever. */
static int fail(Run *r, int status) {
    if (r->w->size > 1) {
        fprintf(stderr, "llmrun: rank %u failed; aborting the job\n", r->w->rank);
        rt_comm_abort(r->w->comm, status);
    }
    return status;
}

/* --profile's report, after measuring the machine's peak (a second or two). */
static void print_profile(Run *r) {
    RtMachinePeak peak;
    LlmcErr err = {0};
    fprintf(stderr, "llmrun: measuring the machine's FMA peak and memory bandwidth for the profile ...\n");
    bool measured = rt_machine_peak(r->jit, r->pool, &peak, &err);
    if (!measured) fprintf(stderr, "llmrun: the machine's peak: %s (MFU not shown)\n", err.msg);
    char path[256];
    subcmd_bf16_path_text(cc_jit_has_avx512bf16(r->jit), path, sizeof path);
    printf("\nbf16 matmuls: %s\n", path);
    llmrun_profile_print(stdout, r->t, r->prof_steps, r->prof_seconds, measured ? &peak : NULL, 30);
    fflush(stdout);
}

/* The loop: a step, its report, evaluation and checkpoints; stops at r->end, on a
 * signal (after saving), or on a non-finite loss (keeping the last good checkpoint). */
static int run_loop(Run *r) {
    LlmcErr err = {0};
    r->t0 = now_s();
    r->t0_step = r->step;
    while (r->step < r->end) {
        uint64_t epoch = rt_data_epoch(r->data, (uint64_t)r->step * (uint64_t)r->accumulate, r->batch, r->seq);
        if (epoch > r->last_epoch && r->lead) {
            fprintf(stderr, "%sllmrun: note: the data repeats: epoch %llu starts at step %lld\n", r->tty ? "\n" : "",
                    (unsigned long long)epoch + 1, (long long)r->step);
            r->last_epoch = epoch;
        }
        CcStepResult res;
        bool profiled = r->o->profile && r->step > r->t0_step;
        double t_step = now_s();
        if (!rt_trainer_step(r->t, run_batch, r, &res, &err)) {
            fprintf(stderr, "%sllmrun: step %lld: %s\n", r->tty ? "\n" : "", (long long)r->step + 1, err.msg);
            if (r->last_ckpt >= 0)
                fprintf(stderr, "llmrun: the last good checkpoint (step %lld) is intact\n", (long long)r->last_ckpt);
            return fail(r, EXIT_BAD_INPUT);
        }
        if (profiled) {
            r->prof_seconds += now_s() - t_step;
            r->prof_steps++;
        } else if (r->o->profile) {
            rt_trainer_set_profile(r->t, true); /* the first step was the warm-up */
        }
        r->step++;
        if (!isfinite(res.loss) || !isfinite(res.grad_norm)) {
            char loss[32], gnorm[32]; /* a nan's sign means nothing: never "-nan" */
            snprintf(loss, sizeof loss, "%g", isnan(res.loss) ? NAN : res.loss);
            snprintf(gnorm, sizeof gnorm, "%g", isnan(res.grad_norm) ? NAN : res.grad_norm);
            fprintf(stderr, "%sllmrun: step %lld: the loss is %s (grad norm %s); stopping. ", r->tty ? "\n" : "",
                    (long long)r->step, loss, gnorm);
            if (r->last_ckpt >= 0) fprintf(stderr, "The last good checkpoint (step %lld) is intact.", (long long)r->last_ckpt);
            fprintf(stderr, "%s\n", r->o->debug_nan ? "" : " Run with --debug-nan to find the first kernel that makes it.");
            return EXIT_BAD_INPUT; /* every rank sees the same loss: all stop here */
        }
        double val = 0;
        bool has_val = r->o->eval_every && (r->step % r->o->eval_every == 0 || r->step == r->end);
        if (has_val && !eval_loss(r, &val, &err)) {
            fprintf(stderr, "%sllmrun: validation at step %lld: %s\n", r->tty ? "\n" : "", (long long)r->step, err.msg);
            return fail(r, EXIT_BAD_INPUT);
        }
        report_step(r, &res, has_val, val);
        bool stop = stop_requested(r);
        bool ckpt = r->step == r->end || stop || (r->o->ckpt_every && r->step % r->o->ckpt_every == 0);
        if (ckpt && !save_checkpoint(r, &err)) {
            fprintf(stderr, "%sllmrun: saving the checkpoint of step %lld: %s\n", r->tty ? "\n" : "",
                    (long long)r->step, err.msg);
            return EXIT_BAD_INPUT; /* the save is collective: every rank returns its failure */
        }
        if (stop) {
            if (r->lead)
                fprintf(stderr, "%sllmrun: %s at step %lld: checkpoint saved in %s; resume with --resume %s\n",
                    r->tty ? "\n" : "", g_signal == SIGINT ? "interrupted" : "terminated", (long long)r->step,
                    r->o->out, r->o->out);
            return 128 + g_signal;
        }
    }
    if (r->lead)
        fprintf(stderr, "llmrun: done at step %lld; checkpoint and metrics in %s\n", (long long)r->step, r->o->out);
    if (r->lead && r->o->profile) print_profile(r);
    return EXIT_OK;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "generate") == 0) return llmrun_generate(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "export") == 0) return llmrun_export_main(argc - 1, argv + 1);
    char **import_argv = argc > 1 && strcmp(argv[1], "import") == 0 ? llmrun_import_argv(&argc, argv) : NULL;
    if (argc > 1 && strcmp(argv[1], "import") == 0 && !import_argv) return EXIT_USAGE;
    if (import_argv) argv = import_argv;
    Options o;
    int st = parse_args(argc, argv, &o);
    if (st != EXIT_OK) {
        free(import_argv);
        return st;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGXFSZ, SIG_IGN); /* past a file-size limit a write fails with EFBIG: a checkpoint error, not a kill */
    LlmcErr err = {0};
    LlmrunWorld w = {.strategy = o.shard};
    if (!(w.comm = rt_comm_world(&err))) {
        fprintf(stderr, "llmrun: %s\n", err.msg);
        free(import_argv);
        return EXIT_BAD_INPUT;
    }
    w.rank = rt_comm_rank(w.comm), w.size = rt_comm_size(w.comm);
    rt_comm_set_timeout(w.comm, o.comm_timeout);
    Model md;
    Run r = {.o = &o, .md = &md, .w = &w, .lead = w.rank == 0, .tty = w.rank == 0 && isatty(STDERR_FILENO) != 0};
    if (!model_load(&md, &o)) {
        st = fail(&r, EXIT_BAD_INPUT);
    } else if (!run_setup(&r, &err)) {
        if (w.size > 1) fprintf(stderr, "llmrun: rank %u: %s\n", w.rank, err.msg);
        else fprintf(stderr, "llmrun: %s\n", err.msg);
        st = fail(&r, EXIT_BAD_INPUT);
    } else if (!o.resume && r.end == 0) { /* --steps 0 on a fresh run: the initial params as a checkpoint */
        st = save_checkpoint(&r, &err) ? EXIT_OK : EXIT_BAD_INPUT;
        if (r.lead || st)
            fprintf(stderr, "llmrun: %s%s\n", st ? "saving the checkpoint of step 0: " : "step 0 saved in ",
                    st ? err.msg : o.out);
    } else if (r.step >= r.end) {
        if (r.lead)
            fprintf(stderr, "llmrun: already at step %lld (--steps %lld): nothing to do\n", (long long)r.step,
                    (long long)r.end);
        st = EXIT_OK;
    } else {
        st = run_loop(&r);
    }
    run_free(&r);
    RtComm *comm = w.comm;
    llmrun_world_free(&w); /* zeroes w */
    rt_comm_free(comm);
    model_free(&md);
    for (uint32_t i = 0; i < o.n_ov; i++) free((char *)o.ov[i].name);
    free(o.ov);
    free(import_argv);
    return st;
}
