/* tools/llmc.c — llmc, the compiler driver.
 *
 *   llmc MODEL.llm --check            parse, lower and verify; diagnostics only
 *   llmc MODEL.llm --emit=STAGE       print a stage: ast, forward, init, grad, train, ...
 *   llmc MODEL.llm --emit=llvm|asm    every kernel of the training step as LLVM IR / host asm
 *   llmc MODEL.llm --stats            parameters by group, FLOPs per token, activations
 *   llmc MODEL.llm -o MODEL.llmc      compile everything into a bundle, print a report
 *   llmc MODEL.llm --emit=logits|prefill|decode   an inference graph (llmrun generate)
 *   llmc MODEL.llm --emit=sharded --ranks N [--shard S]   the step one rank of N runs
 *   -D NAME=VALUE                     override a top-level config value (repeatable)
 *   llmc plan MODEL.llm ...           costs, memory, time and compute-optimal sizing
 *                                     (tools/llmc_plan.c)
 *
 * Exit codes: 0 success, 1 bad input (file, syntax, model errors), 2 bad usage.
 * This file only handles arguments and output; the work is in frontend/, compiler/, ir/
 * and runtime/ (the bundle format: runtime/bundle.c).
 */
#include "compiler.h"
#include "frontend.h"
#include "ir.h"
#include "llmc_plan.h"
#include "runtime.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_OK = 0, EXIT_BAD_INPUT = 1, EXIT_USAGE = 2 };

static const char *const usage_text =
    "usage: llmc MODEL.llm [options]\n"
    "       llmc plan MODEL.llm [options]   what training it costs and should achieve\n"
    "                                      (llmc plan --help)\n"
    "\n"
    "Compiles a .llm model description ('-' reads stdin).\n"
    "\n"
    "options:\n"
    "  --check             parse, lower and verify only; report every error\n"
    "  --emit=STAGE        print one stage and stop:\n"
    "                        ast      the parsed syntax tree, with line:col\n"
    "                        forward  the forward IR (.llir; its output is the loss)\n"
    "                        init     the init IR (.llir; parameters from a seed)\n"
    "                        grad     forward + backward of one micro-batch\n"
    "                        train    the training step: @micro (forward + backward,\n"
    "                                 simplified) and @update (clip, schedule, optimizer)\n"
    "                        fused    @micro and @update as fused kernels (HLO-like)\n"
    "                        sharded  the step one rank of --ranks runs under --shard\n"
    "                                 (.llir, the collectives written in), then a\n"
    "                                 report: every collective in schedule order with\n"
    "                                 its bytes and the kernels overlapping it, bytes\n"
    "                                 per micro-batch and per step, memory per rank\n"
    "                        llvm     every kernel function of @micro and @update as\n"
    "                                 LLVM IR for the host, optimized (default<O3>)\n"
    "                        asm      the same kernels as host assembly (AT&T syntax)\n"
    "                        logits   the inference graph tokens -> logits (no loss,\n"
    "                                 dropout off, batch 1, seq = context)\n"
    "                        prefill  the prompt -> last logits + the K/V caches\n"
    "                        decode   one token + the caches -> logits + the caches\n"
    "  --no-opt            with --emit=llvm: the IR as generated, before optimization\n"
    "  --ranks N           with --emit=sharded: the number of ranks (default 2; a power\n"
    "                      of two that divides accumulate); with -o: the compile report\n"
    "                      adds each rank's memory on N ranks\n"
    "  --shard S           with --emit=sharded or -o: none (DDP), grad (ZeRO-2) or full\n"
    "                      (FSDP, the default)\n"
    "  --stats             parameters by group, FLOPs per token, activation bytes,\n"
    "                      training-graph sizes before and after simplification\n"
    "  -D NAME=VALUE       override a top-level assignment of the model or train\n"
    "                      block, e.g. -D dim=128 -D layers=2 (repeatable)\n"
    "  -o FILE             with --emit: write the emitted text to FILE instead of stdout;\n"
    "                      alone: compile everything (train step, fusion, memory plan,\n"
    "                      every kernel for this CPU) into the bundle FILE (MODEL.llmc,\n"
    "                      for llmrun and llmir) and print a compile report\n"
    "  --no-cache          with -o FILE.llmc: compile every kernel afresh (a private\n"
    "                      temporary object cache) instead of through the user's cache\n"
    "                      ($LLMC_CACHE_DIR, else ~/.cache/llmc)\n"
    "  -h, --help          this text\n"
    "  --version           version\n"
    "\n"
    "exit status: 0 success, 1 bad input, 2 bad usage\n";

typedef enum Emit {
    EMIT_NONE = 0,
    EMIT_AST,
    EMIT_FORWARD,
    EMIT_INIT,
    EMIT_GRAD,
    EMIT_TRAIN,
    EMIT_FUSED,
    EMIT_SHARDED,
    EMIT_LLVM,
    EMIT_ASM,
    EMIT_LOGITS,
    EMIT_PREFILL,
    EMIT_DECODE
} Emit;

typedef struct Options {
    const char *path;
    const char *out;
    bool check, stats, no_opt, no_cache;
    Emit emit;
    uint32_t ranks;     /* --ranks; 0: not given */
    CcShard shard;      /* --shard; CC_SHARD_INVALID: not given */
    FeOverride *overrides;
    uint32_t n_overrides;
} Options;

static int usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "llmc: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'llmc --help'.\n");
    return EXIT_USAGE;
}

/* Splits NAME=VALUE into an override (name copied, value points into arg). */
static int add_override(Options *o, const char *arg) {
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1]) return usage_error("-D needs NAME=VALUE, got '%s'", arg);
    o->overrides = llmc_xrealloc(o->overrides, (o->n_overrides + 1) * sizeof *o->overrides);
    char *name = llmc_xmalloc((size_t)(eq - arg) + 1);
    memcpy(name, arg, (size_t)(eq - arg));
    name[eq - arg] = 0;
    o->overrides[o->n_overrides].name = name;
    o->overrides[o->n_overrides].value = eq + 1;
    o->n_overrides++;
    return EXIT_OK;
}

static int parse_args(int argc, char **argv, Options *o) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--check") == 0) {
            o->check = true;
        } else if (strcmp(a, "--stats") == 0) {
            o->stats = true;
        } else if (strncmp(a, "--emit=", 7) == 0) {
            const char *s = a + 7;
            if (strcmp(s, "ast") == 0)
                o->emit = EMIT_AST;
            else if (strcmp(s, "forward") == 0)
                o->emit = EMIT_FORWARD;
            else if (strcmp(s, "init") == 0)
                o->emit = EMIT_INIT;
            else if (strcmp(s, "grad") == 0)
                o->emit = EMIT_GRAD;
            else if (strcmp(s, "train") == 0)
                o->emit = EMIT_TRAIN;
            else if (strcmp(s, "fused") == 0)
                o->emit = EMIT_FUSED;
            else if (strcmp(s, "sharded") == 0)
                o->emit = EMIT_SHARDED;
            else if (strcmp(s, "llvm") == 0)
                o->emit = EMIT_LLVM;
            else if (strcmp(s, "asm") == 0)
                o->emit = EMIT_ASM;
            else if (strcmp(s, "logits") == 0)
                o->emit = EMIT_LOGITS;
            else if (strcmp(s, "prefill") == 0)
                o->emit = EMIT_PREFILL;
            else if (strcmp(s, "decode") == 0)
                o->emit = EMIT_DECODE;
            else
                return usage_error("unknown stage '%s' for --emit (ast, forward, init, grad, train, fused, sharded, llvm, "
                                   "asm, logits, prefill, decode)", s);
        } else if (strcmp(a, "--no-opt") == 0) {
            o->no_opt = true;
        } else if (strcmp(a, "--ranks") == 0) {
            if (i + 1 >= argc) return usage_error("%s needs a number of ranks", a);
            const char *v = argv[++i];
            char *end = NULL;
            unsigned long n = strtoul(v, &end, 10);
            if (!*v || *end || v[0] == '-' || n < 1 || n > 65536)
                return usage_error("--ranks needs a number of ranks from 1 to 65536, got '%s'", v);
            o->ranks = (uint32_t)n;
        } else if (strcmp(a, "--shard") == 0) {
            if (i + 1 >= argc) return usage_error("%s needs none, grad or full", a);
            if (!cc_shard_parse(argv[++i], &o->shard))
                return usage_error("unknown strategy '%s' for --shard (none, grad, full)", argv[i]);
        } else if (strcmp(a, "--no-cache") == 0) {
            o->no_cache = true;
        } else if (strcmp(a, "-D") == 0) {
            if (i + 1 >= argc) return usage_error("%s needs NAME=VALUE", a);
            int st = add_override(o, argv[++i]);
            if (st != EXIT_OK) return st;
        } else if (strncmp(a, "-D", 2) == 0) {
            int st = add_override(o, a + 2);
            if (st != EXIT_OK) return st;
        } else if (strcmp(a, "-o") == 0) {
            if (i + 1 >= argc) return usage_error("%s needs a file name", a);
            o->out = argv[++i];
        } else if (a[0] == '-' && a[1] != 0) {
            return usage_error("unknown option '%s'", a);
        } else if (o->path) {
            return usage_error("more than one input file ('%s')", a);
        } else {
            o->path = a;
        }
    }
    if (!o->path) return usage_error("%s", "missing MODEL.llm");
    int modes = o->check + o->stats + (o->emit != EMIT_NONE);
    if (modes > 1) return usage_error("%s", "choose one of --check, --emit, --stats");
    if (o->no_opt && o->emit != EMIT_LLVM) return usage_error("%s", "--no-opt goes with --emit=llvm");
    if ((o->ranks || o->shard != CC_SHARD_INVALID) && o->emit != EMIT_SHARDED && !(o->out && !modes))
        return usage_error("%s", "--ranks and --shard go with --emit=sharded or -o FILE.llmc");
    if (o->no_cache && (modes || !o->out)) return usage_error("%s", "--no-cache goes with -o FILE.llmc");
    return EXIT_OK;
}

static bool read_source(const char *path, char **text, size_t *len) {
    LlmcErr err = {0};
    if (strcmp(path, "-") != 0) {
        if (llmc_file_read(path, text, len, &err)) return true;
        fprintf(stderr, "llmc: %s\n", err.msg);
        return false;
    }
    LlmcBuf b = {0};
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, stdin)) > 0) llmc_buf_put(&b, chunk, got);
    llmc_buf_put(&b, "", 0);
    *text = b.data;
    *len = b.len;
    return true;
}

static bool write_output(const Options *o, const LlmcBuf *text) {
    if (!o->out) {
        if (text->len) fwrite(text->data, 1, text->len, stdout);
        return true;
    }
    LlmcErr err = {0};
    if (llmc_file_write(o->out, text->data ? text->data : "", text->len, &err)) return true;
    fprintf(stderr, "llmc: %s\n", err.msg);
    return false;
}

/* --- stats --------------------------------------------------------------------------- */

/* Parameter groups follow the fixed leaf names of docs/llm.md. */
static const char *param_group(const char *name) {
    size_t n = strlen(name);
    const char *leaf = strrchr(name, '.');
    leaf = leaf ? leaf + 1 : name;
    if (strcmp(name, "tok_emb") == 0 || strcmp(name, "pos_emb") == 0) return "embeddings";
    if (strncmp(name, "lm_head", 7) == 0 && (n == 7 || name[7] == '.')) return "output head";
    if (strstr(name, ".experts.") || strcmp(leaf, "router") == 0) return "moe";
    if (leaf[0] == 'w' || leaf[0] == 'b') {
        if (strchr("qkvo", leaf[1]) && leaf[2] == 0) return "attention";
        if (strchr("123", leaf[1]) && leaf[2] == 0) return "mlp";
    }
    if (strcmp(leaf, "gain") == 0 || strcmp(leaf, "bias") == 0) return "norms";
    return "other";
}

/* The backward pass's view of memory and size: activation bytes (forward values the
 * backward reads) with and without per-layer recomputation, and how much the
 * simplifier shrinks the micro-batch graph. */
static bool print_train_stats(const IrModule *m) {
    const IrGraph *fwd = m->graphs[0];
    LlmcErr err = {0};
    CcGradOptions plain = {0}, remat = {.remat_layers = true};
    IrGraph *g0 = cc_grad(fwd, &plain, &err);
    IrGraph *g1 = g0 ? cc_grad(fwd, &remat, &err) : NULL;
    IrGraph *simple = g0 ? cc_pass_simplify(g0, &err) : NULL;
    bool ok = g0 && g1 && simple;
    if (ok) {
        uint64_t keep = cc_grad_activation_bytes(g0, fwd->n_nodes), keep_remat = cc_grad_activation_bytes(g1, fwd->n_nodes);
        printf("activations read by backward: %llu bytes (%.1f MiB); with remat = layers: %llu (%.1f MiB)\n",
               (unsigned long long)keep, (double)keep / 1048576.0, (unsigned long long)keep_remat,
               (double)keep_remat / 1048576.0);
        printf("micro-batch graph: %u nodes (forward %u); after simplify: %u (-%.1f%%)\n", g0->n_nodes, fwd->n_nodes,
               simple->n_nodes, 100.0 * (1.0 - (double)simple->n_nodes / (double)g0->n_nodes));
        CcFusion fu;
        CcMemPlan mp;
        bool fused = cc_fuse(simple, &fu, &err);
        ok = fused && cc_memplan(&fu, &mp, &err);
        if (ok) {
            printf("memory plan: peak %llu bytes for %llu bytes of intermediates (%u kernels)\n",
                   (unsigned long long)mp.peak_bytes, (unsigned long long)mp.total_bytes, fu.n_kernels);
            cc_memplan_free(&mp);
        } else {
            fprintf(stderr, "llmc: memory plan: %s\n", err.msg);
        }
        if (fused) cc_fusion_free(&fu);
    } else {
        fprintf(stderr, "llmc: training graph: %s\n", err.msg);
    }
    ir_graph_free(g0);
    ir_graph_free(g1);
    ir_graph_free(simple);
    return ok;
}

static void print_stats(const IrGraph *fwd) {
    static const char *const groups[] = {"embeddings", "attention", "mlp", "moe", "norms", "output head", "other"};
    uint64_t counts[7] = {0}, total = 0;
    for (IrId id = 0; id < fwd->n_nodes; id++) {
        const IrNode *n = &fwd->nodes[id];
        if (n->op != IR_OP_INPUT || n->attrs.input.role != IR_ROLE_PARAM) continue;
        const char *g = param_group(ir_graph_str(fwd, n->attrs.input.name));
        for (int k = 0; k < 7; k++)
            if (strcmp(g, groups[k]) == 0) counts[k] += (uint64_t)ir_type_numel(&n->type);
        total += (uint64_t)ir_type_numel(&n->type);
    }
    IrStats s;
    ir_graph_stats(fwd, &s);
    const IrTrainConfig *t = &fwd->train;
    double tokens = (double)(t->batch * t->seq);
    printf("model %s: batch %lld x seq %lld = %.0f tokens per micro-batch, accumulate %lld\n",
           ir_graph_str(fwd, t->model), (long long)t->batch, (long long)t->seq, tokens, (long long)t->accumulate);
    printf("parameters: %llu (%llu without embeddings)\n", (unsigned long long)total,
           (unsigned long long)(total - counts[0]));
    for (int k = 0; k < 7; k++)
        if (counts[k]) printf("  %-12s %12llu  %5.1f%%\n", groups[k], (unsigned long long)counts[k],
                              100.0 * (double)counts[k] / (double)(total ? total : 1));
    printf("forward FLOPs per token: %.0f (6N rule of thumb for forward+backward: %.0f)\n",
           s.flops / tokens, 6.0 * (double)total);
    printf("forward FLOPs per micro-batch: %.4g\n", s.flops);
    printf("activation bytes (forward intermediates, one micro-batch): %llu (%.1f MiB)\n",
           (unsigned long long)s.bytes_intermediates, (double)s.bytes_intermediates / (1024.0 * 1024.0));
    printf("parameter bytes: %llu\n", (unsigned long long)s.bytes_params);
}

/* --- llvm / asm ---------------------------------------------------------------------- */

/* Counts of one --emit=llvm|asm run. */
typedef struct EmitTotals {
    uint32_t kernels, functions, runtime, failed, reused;
    uint64_t bytes;
} EmitTotals;

/* Optimized texts by the kernel's unoptimized IR: the same module optimizes and compiles
 * to the same text, and a model's layers repeat their kernels, so each distinct kernel is
 * optimized once (gpt2-small: ~10x fewer). Open addressing, FNV-1a 64 of the IR text. */
typedef struct TextMemo {
    char **raw, **text; /* [cap]; raw NULL: empty slot */
    uint64_t *hash;
    uint32_t cap, n;
} TextMemo;

static uint64_t fnv1a(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

/* The slot of raw: its entry, or the empty slot where it goes. */
static uint32_t memo_slot(const TextMemo *m, const char *raw, uint64_t h) {
    uint32_t i = (uint32_t)h & (m->cap - 1);
    while (m->raw[i] && (m->hash[i] != h || strcmp(m->raw[i], raw) != 0)) i = (i + 1) & (m->cap - 1);
    return i;
}

/* Takes ownership of raw and text. */
static void memo_put(TextMemo *m, char *raw, char *text) {
    if (2 * (m->n + 1) > m->cap) {
        TextMemo g = {.cap = m->cap ? 2 * m->cap : 256};
        g.raw = llmc_xcalloc(g.cap, sizeof *g.raw);
        g.text = llmc_xcalloc(g.cap, sizeof *g.text);
        g.hash = llmc_xcalloc(g.cap, sizeof *g.hash);
        for (uint32_t i = 0; i < m->cap; i++)
            if (m->raw[i]) {
                uint32_t j = memo_slot(&g, m->raw[i], m->hash[i]);
                g.raw[j] = m->raw[i];
                g.text[j] = m->text[i];
                g.hash[j] = m->hash[i];
            }
        g.n = m->n;
        free(m->raw);
        free(m->text);
        free(m->hash);
        *m = g;
    }
    uint64_t h = fnv1a(raw);
    uint32_t i = memo_slot(m, raw, h);
    m->raw[i] = raw;
    m->text[i] = text;
    m->hash[i] = h;
    m->n++;
}

static void memo_free(TextMemo *m) {
    for (uint32_t i = 0; i < m->cap; i++) {
        free(m->raw[i]);
        free(m->text[i]);
    }
    free(m->raw);
    free(m->text);
    free(m->hash);
}

/* Function fn of k as `kind` text (malloc'd; NULL + message), through the memo (which
 * also counts the distinct functions). */
static char *kernel_text(CcJit *jit, TextMemo *memo, const IrGraph *g, const CcKernel *k, uint32_t fn,
                         CcTextKind kind, EmitTotals *t, LlmcErr *err) {
    char *raw = cc_kernel_text(jit, g, k, fn, CC_TEXT_LLVM, err);
    if (!raw) return NULL;
    if (memo->cap) {
        uint32_t i = memo_slot(memo, raw, fnv1a(raw));
        if (memo->raw[i]) {
            free(raw);
            t->reused++;
            return llmc_xstrdup(memo->text[i]);
        }
    }
    char *text = kind == CC_TEXT_LLVM ? llmc_xstrdup(raw) : cc_kernel_text(jit, g, k, fn, kind, err);
    if (!text) {
        free(raw);
        return NULL;
    }
    memo_put(memo, raw, llmc_xstrdup(text));
    return text;
}

/* Every kernel function of one fused graph, each under a header comment
 *   ; @micro kernel %k12 (matmul, root %57), function 0 of 1
 * (`#` comments for asm); RUNTIME kernels as one comment line, no code. A function that
 * cannot be generated is an error on stderr naming the kernel (and a comment in its
 * place); the others are still printed, so one run shows every failure. */
static void emit_graph_kernels(CcJit *jit, TextMemo *memo, const char *file, const char *name, const CcFusion *f,
                               CcTextKind kind, LlmcBuf *out, EmitTotals *t) {
    const char *c = kind == CC_TEXT_ASM ? "#" : ";";
    for (uint32_t i = 0; i < f->n_kernels; i++) {
        const CcKernel *k = &f->kernels[i];
        const char *kn = cc_kernel_kind_name(k->kind);
        uint32_t nf = cc_kernel_functions(k);
        t->kernels++;
        if (nf == 0) {
            t->runtime++;
            llmc_buf_printf(out, "%s @%s kernel %%k%u (%s, root %%%u): carried out by the runtime, no code\n\n", c,
                            name, i, kn, k->root);
            continue;
        }
        for (uint32_t fn = 0; fn < nf; fn++) {
            LlmcErr e = {0};
            char *text = kernel_text(jit, memo, f->g, k, fn, kind, t, &e);
            if (!text) {
                fprintf(stderr, "llmc: %s: error: @%s kernel %%k%u (%s, root %%%u), function %u of %u: %s\n", file, name,
                        i, kn, k->root, fn, nf, e.msg);
                llmc_buf_printf(out, "%s @%s kernel %%k%u (%s, root %%%u), function %u of %u: NOT GENERATED: %s\n\n", c,
                                name, i, kn, k->root, fn, nf, e.msg);
                t->failed++;
                continue;
            }
            llmc_buf_printf(out, "%s @%s kernel %%k%u (%s, root %%%u), function %u of %u\n", c, name, i, kn, k->root, fn,
                            nf);
            size_t len = strlen(text);
            llmc_buf_put(out, text, len);
            if (len && text[len - 1] != '\n') llmc_buf_put(out, "\n", 1);
            llmc_buf_put(out, "\n", 1);
            t->functions++;
            t->bytes += len;
            free(text);
        }
    }
}

/* --emit=llvm|asm: the step's two graphs, fused, every kernel through cc_kernel_text for
 * the host JIT's target; a closing summary comment. false + message when the step, the
 * JIT or the fusion fails, or when some kernel function could not be generated (each
 * already reported on stderr; out still holds the rest). */
static bool emit_kernels(const IrModule *m, const char *file, CcTextKind kind, LlmcBuf *out, LlmcErr *err) {
    CcTrainStep step = {0};
    if (!cc_train_step_build(m, &step, err)) return false;
    CcJit *jit = cc_jit_new(err);
    bool ok = jit != NULL;
    const IrGraph *graphs[2] = {step.micro, step.update};
    const char *names[2] = {"micro", "update"};
    EmitTotals t = {0};
    TextMemo memo = {0};
    for (int i = 0; i < 2 && ok; i++) {
        CcFusion f;
        if (!cc_fuse(graphs[i], &f, err)) {
            ok = false;
            break;
        }
        emit_graph_kernels(jit, &memo, file, names[i], &f, kind, out, &t);
        cc_fusion_free(&f);
    }
    if (ok) {
        const char *cpu = cc_jit_cpu(jit, NULL);
        const char *what = kind == CC_TEXT_ASM ? "assembly" : kind == CC_TEXT_LLVM ? "LLVM IR (unoptimized)" : "LLVM IR";
        llmc_buf_printf(out,
                        "%s %u kernels (%u carried out by the runtime), %u functions (%u distinct), %llu bytes of %s "
                        "for %s\n",
                        kind == CC_TEXT_ASM ? "#" : ";", t.kernels, t.runtime, t.functions, t.functions - t.reused,
                        (unsigned long long)t.bytes, what, cpu);
        if (t.failed) {
            llmc_buf_printf(out, "%s %u kernel functions NOT GENERATED (see the errors)\n", kind == CC_TEXT_ASM ? "#" : ";",
                            t.failed);
            llmc_err_set(err, "%u kernel function%s could not be generated", t.failed, t.failed == 1 ? "" : "s");
            ok = false;
        }
    }
    memo_free(&memo);
    cc_jit_free(jit);
    cc_train_step_free(&step);
    return ok;
}

/* --- bundle (-o FILE without --emit) ------------------------------------------------- */

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* What the object cache hands over while the kernels compile (cc_objcache_set_recorder):
 * owned copies of each distinct kernel's object and bitcode, in compile order. */
typedef struct Recorded {
    RtBundleBlob *objs, *bcs; /* [n]; data malloc'd */
    uint32_t n, cap;
} Recorded;

static void *copy_bytes(const void *p, size_t n) {
    void *q = llmc_xmalloc(n ? n : 1);
    if (n) memcpy(q, p, n);
    return q;
}

static void on_record(void *ctx, const CcObjRecord *r) {
    Recorded *rec = ctx;
    if (rec->n == rec->cap) {
        rec->cap = rec->cap ? 2 * rec->cap : 64;
        rec->objs = llmc_xrealloc(rec->objs, rec->cap * sizeof *rec->objs);
        rec->bcs = llmc_xrealloc(rec->bcs, rec->cap * sizeof *rec->bcs);
    }
    rec->objs[rec->n] = (RtBundleBlob){r->key.lo, r->key.hi, copy_bytes(r->obj, r->obj_len), r->obj_len};
    rec->bcs[rec->n] = (RtBundleBlob){r->key.lo, r->key.hi, copy_bytes(r->bitcode, r->bitcode_len), r->bitcode_len};
    rec->n++;
}

static void recorded_free(Recorded *rec) {
    for (uint32_t i = 0; i < rec->n; i++) {
        free((void *)rec->objs[i].data);
        free((void *)rec->bcs[i].data);
    }
    free(rec->objs);
    free(rec->bcs);
}

/* One compiled graph of the step: its fusion and memory plan. */
typedef struct Planned {
    const IrGraph *g;
    CcFusion fusion;
    CcMemPlan plan;
    bool fused, planned;
    uint32_t functions;
} Planned;

/* Sums of the report. */
typedef struct Report {
    uint64_t params, param_bytes, grad_bytes, state_bytes, act_micro, act_update;
    double flops_step;
    int64_t tokens_step;
    uint32_t kernels[2], functions;
    double t_frontend, t_step, t_fuse, t_llvm; /* the training step's compile */
    double t_infer;                            /* the inference graphs' kernels */
    uint64_t hash;
    CcObjCacheStats cache;
} Report;

/* The value of line "KEY value" of a cc_objcache_target text (malloc'd; "" if absent). */
static char *target_field(const char *target, const char *key) {
    size_t kl = strlen(key);
    for (const char *p = target; p && *p;) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n > kl && strncmp(p, key, kl) == 0 && p[kl] == ' ') {
            char *v = llmc_xmalloc(n - kl);
            memcpy(v, p + kl + 1, n - kl - 1);
            v[n - kl - 1] = 0;
            return v;
        }
        p = e ? e + 1 : NULL;
    }
    return llmc_xstrdup("");
}

static void json_str_field(RtJsonWriter *w, const char *key, const char *value) {
    rt_json_key(w, key);
    rt_json_string(w, value);
}
static void json_int_field(RtJsonWriter *w, const char *key, int64_t value) {
    rt_json_key(w, key);
    rt_json_int(w, value);
}

/* The train record, field by field from its schema (so a new field needs no edit here). */
static void json_train(RtJsonWriter *w, const IrGraph *g) {
    const IrAttrSchema *sc = ir_train_schema();
    const char *base = (const char *)&g->train;
    rt_json_begin_object(w);
    for (uint32_t i = 0; i < sc->count; i++) {
        const IrAttrField *f = &sc->fields[i];
        const char *p = base + f->offset;
        rt_json_key(w, f->name);
        switch (f->kind) {
        case IR_ATTR_INT: {
            int64_t v;
            memcpy(&v, p, sizeof v);
            rt_json_int(w, v);
            break;
        }
        case IR_ATTR_BOOL: {
            bool v;
            memcpy(&v, p, sizeof v);
            rt_json_bool(w, v);
            break;
        }
        case IR_ATTR_FLOAT: {
            double v;
            memcpy(&v, p, sizeof v);
            rt_json_double(w, v);
            break;
        }
        case IR_ATTR_ENUM: {
            int v;
            memcpy(&v, p, sizeof v);
            rt_json_string(w, v >= 0 && f->enum_names ? f->enum_names[v] : "?");
            break;
        }
        case IR_ATTR_STRING: {
            uint32_t v;
            memcpy(&v, p, sizeof v);
            rt_json_string(w, ir_graph_str(g, v));
            break;
        }
        case IR_ATTR_INVALID:
        case IR_ATTR_INTS:
        case IR_ATTR_DATA:
        case IR_ATTR_COUNT: rt_json_null(w); break;
        }
    }
    rt_json_end_object(w);
}

static void build_config(LlmcBuf *out, const char *src_name, const IrGraph *fwd, const Report *r,
                         const char *target) {
    RtJsonWriter w;
    rt_json_writer_init(&w, out, RT_JSON_PRETTY);
    rt_json_begin_object(&w);
    json_str_field(&w, "format", "llmc-bundle");
    json_str_field(&w, "model", ir_graph_str(fwd, fwd->train.model));
    json_str_field(&w, "source", src_name);
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)r->hash);
    json_str_field(&w, "model_hash", hex);
    rt_json_key(&w, "train");
    json_train(&w, fwd);
    json_int_field(&w, "tokens_per_step", r->tokens_step);
    json_int_field(&w, "parameters", (int64_t)r->params);
    rt_json_key(&w, "flops_per_step");
    rt_json_double(&w, r->flops_step);
    rt_json_key(&w, "memory");
    rt_json_begin_object(&w);
    json_int_field(&w, "params", (int64_t)r->param_bytes);
    json_int_field(&w, "grads", (int64_t)r->grad_bytes);
    json_int_field(&w, "optimizer_state", (int64_t)r->state_bytes);
    json_int_field(&w, "activations_micro", (int64_t)r->act_micro);
    json_int_field(&w, "activations_update", (int64_t)r->act_update);
    json_int_field(&w, "total",
                   (int64_t)(r->param_bytes + r->grad_bytes + r->state_bytes + r->act_micro + r->act_update));
    rt_json_end_object(&w);
    rt_json_key(&w, "kernels");
    rt_json_begin_object(&w);
    json_int_field(&w, "micro", r->kernels[0]);
    json_int_field(&w, "update", r->kernels[1]);
    json_int_field(&w, "functions", r->functions);
    rt_json_end_object(&w);
    rt_json_key(&w, "target");
    rt_json_begin_object(&w);
    static const char *const keys[] = {"llvm", "triple", "cpu", "features"};
    for (int i = 0; i < 4; i++) {
        char *v = target_field(target, keys[i]);
        json_str_field(&w, keys[i], v);
        free(v);
    }
    rt_json_end_object(&w);
    rt_json_end_object(&w);
    llmc_buf_putc(out, '\n');
}

static void build_memplan(LlmcBuf *out, const Planned *pl, uint32_t n) {
    RtJsonWriter w;
    rt_json_writer_init(&w, out, RT_JSON_COMPACT);
    rt_json_begin_object(&w);
    rt_json_key(&w, "graphs");
    rt_json_begin_array(&w);
    for (uint32_t i = 0; i < n; i++) {
        const CcMemPlan *p = &pl[i].plan;
        rt_json_begin_object(&w);
        json_str_field(&w, "name", ir_graph_name(pl[i].g));
        json_int_field(&w, "kernels", pl[i].fusion.n_kernels);
        json_int_field(&w, "functions", pl[i].functions);
        json_int_field(&w, "peak_bytes", (int64_t)p->peak_bytes);
        json_int_field(&w, "total_bytes", (int64_t)p->total_bytes);
        rt_json_key(&w, "buffers"); /* [node id, offset, size] per arena buffer */
        rt_json_begin_array(&w);
        for (uint32_t id = 0; id < p->n_nodes; id++) {
            if (p->offset[id] == CC_MEMPLAN_NONE) continue;
            rt_json_begin_array(&w);
            rt_json_int(&w, id);
            rt_json_int(&w, (int64_t)p->offset[id]);
            rt_json_int(&w, (int64_t)p->size[id]);
            rt_json_end_array(&w);
        }
        rt_json_end_array(&w);
        rt_json_end_object(&w);
    }
    rt_json_end_array(&w);
    rt_json_end_object(&w);
    llmc_buf_putc(out, '\n');
}

static uint64_t role_bytes(const IrGraph *g, IrRole role, uint64_t *numel) {
    uint64_t b = 0;
    for (IrId id = 0; id < g->n_nodes; id++) {
        const IrNode *n = &g->nodes[id];
        if (n->op != IR_OP_INPUT || n->attrs.input.role != role) continue;
        b += ir_type_bytes(&n->type);
        if (numel) *numel += (uint64_t)ir_type_numel(&n->type);
    }
    return b;
}

/* The model hash (rt_model_hash) of @forward lowered again at batch = 1, seq = 1 (so the
 * recipe does not change it); false when that lowering fails. */
static bool model_hash(const FeProgram *p, const Options *o, uint64_t *hash) {
    FeLowerOptions lo = {o->overrides, o->n_overrides};
    IrModule m = {0};
    LlmcDiags d = {0};
    bool ok = fe_lower_architecture(p, &lo, &m, &d) && m.n_graphs > 0;
    if (ok) *hash = rt_model_hash(m.graphs[0]);
    ir_module_free(&m);
    llmc_diags_free(&d);
    return ok;
}

static void print_bytes_line(const char *label, uint64_t b, const char *extra) {
    printf("  %-18s %10.2f MiB  %14llu bytes%s\n", label, (double)b / 1048576.0, (unsigned long long)b, extra);
}

/* bf16_dot: the JIT multiplies bf16 operands with vdpbf16ps (else widened to f32). */
static void print_report(const Options *o, const char *src_name, const IrGraph *fwd, const Report *r,
                         size_t file_bytes, uint32_t objects, const char *cpu, bool bf16_dot) {
    const IrTrainConfig *t = &fwd->train;
    printf("llmc: wrote %s (%.2f MiB) from %s\n", o->out, (double)file_bytes / 1048576.0, src_name);
    printf("model              %s, hash %016llx\n", ir_graph_str(fwd, t->model), (unsigned long long)r->hash);
    printf("parameters         %llu\n", (unsigned long long)r->params);
    if (t->precision == IR_TRAIN_BF16)
        printf("precision          bf16 matmuls, on %s for %s (llmrun on another CPU recompiles them)\n",
               bf16_dot ? "vdpbf16ps" : "f32 FMA kernels (bf16 widened: no avx512bf16)", cpu);
    printf("tokens per step    %lld (batch %lld x seq %lld x accumulate %lld)\n", (long long)r->tokens_step,
           (long long)t->batch, (long long)t->seq, (long long)t->accumulate);
    printf("FLOPs per step     %.4g (%.4g per token)\n", r->flops_step,
           r->flops_step / (double)(r->tokens_step ? r->tokens_step : 1));
    uint64_t act = r->act_micro + r->act_update;
    printf("peak memory        %.2f MiB\n",
           (double)(r->param_bytes + r->grad_bytes + r->state_bytes + act) / 1048576.0);
    print_bytes_line("params", r->param_bytes, "");
    print_bytes_line("grads", r->grad_bytes, "");
    print_bytes_line("optimizer state", r->state_bytes, "");
    char extra[128];
    snprintf(extra, sizeof extra, "  (arena: @micro %llu, @update %llu)", (unsigned long long)r->act_micro,
             (unsigned long long)r->act_update);
    print_bytes_line("activations arena", act, extra);
    printf("kernels            %u (@micro %u, @update %u): %u functions, %u distinct objects for %s\n",
           r->kernels[0] + r->kernels[1], r->kernels[0], r->kernels[1], r->functions, objects, cpu);
    printf("object cache       %llu hits, %llu misses%s\n", (unsigned long long)r->cache.hits,
           (unsigned long long)r->cache.misses, o->no_cache ? " (private, --no-cache)" : "");
    double total = r->t_frontend + r->t_step + r->t_fuse + r->t_llvm;
    printf("compile time       %10.1f ms  (the training step)\n", total);
    printf("  %-18s %10.1f ms\n", "frontend", r->t_frontend);
    printf("  %-18s %10.1f ms\n", "train step", r->t_step);
    printf("  %-18s %10.1f ms\n", "fusion + memplan", r->t_fuse);
    printf("  %-18s %10.1f ms\n", "LLVM codegen", r->t_llvm);
}

/* Removes a private cache directory's entries (those recorded) and the directory. */
static void private_cache_remove(CcObjCache *c, const Recorded *rec) {
    for (uint32_t i = 0; i < rec->n; i++) {
        char *path = cc_objcache_entry_path(c, (CcObjKey){rec->objs[i].key_lo, rec->objs[i].key_hi});
        unlink(path);
        free(path);
    }
    rmdir(cc_objcache_dir(c));
}

/* The inference graphs llmrun generate runs (frontend.h "Inference graphs"), each
 * simplified as the training step is: @logits, @prefill, @decode. A model the frontend
 * cannot lower them for (no `logits`) gets none: a warning, and a bundle that trains but
 * cannot sample. */
static const FeInferKind infer_kinds[] = {FE_INFER_LOGITS, FE_INFER_PREFILL, FE_INFER_DECODE};
#define N_INFER (sizeof infer_kinds / sizeof infer_kinds[0])

static bool lower_inference(const FeProgram *p, const Options *o, IrModule *out) {
    FeLowerOptions lo = {o->overrides, o->n_overrides};
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < N_INFER; i++) {
        IrModule m = {0};
        LlmcDiags d = {0};
        LlmcErr err = {0};
        IrGraph *s = NULL;
        if (fe_lower_inference(p, &lo, infer_kinds[i], 0, &m, &d)) s = cc_pass_simplify(m.graphs[0], &err);
        if (!s) {
            fprintf(stderr, "llmc: warning: no inference graph @%s (llmrun generate needs it):\n",
                    fe_infer_graph_name(infer_kinds[i]));
            llmc_diags_print(&d, stderr);
            if (err.set) fprintf(stderr, "%s\n", err.msg);
            llmc_diags_free(&d);
            ir_module_free(&m);
            ir_module_free(out);
            return false;
        }
        ir_module_add(out, s);
        llmc_diags_free(&d);
        ir_module_free(&m);
    }
    return true;
}

/* Each rank's memory on --ranks N under --shard S (cc_shard_memory), for the report;
 * computed before the bundle is written, so a world the step cannot be sharded for
 * writes nothing. */
static bool rank_memory(const Options *o, const CcTrainStep *step, CcShardMemory *mem, LlmcErr *err) {
    CcTrainStep sharded = {0};
    CcShardPlan plan = {0};
    bool ok = cc_shard_step(step, o->shard != CC_SHARD_INVALID ? o->shard : CC_SHARD_FULL, o->ranks ? o->ranks : 2,
                            &sharded, &plan, err) &&
              cc_shard_memory(&sharded, mem, err);
    cc_shard_plan_free(&plan);
    cc_train_step_free(&sharded);
    return ok;
}

static void print_rank_memory(const Options *o, const CcShardMemory *mem) {
    printf("per rank           %u ranks, --shard %s (llmc --emit=sharded shows the collectives)\n",
           o->ranks ? o->ranks : 2, cc_shard_name(o->shard != CC_SHARD_INVALID ? o->shard : CC_SHARD_FULL));
    print_bytes_line("  params", mem->params, "");
    print_bytes_line("  grads", mem->grads, "");
    print_bytes_line("  optimizer state", mem->optimizer, "");
    char extra[128];
    snprintf(extra, sizeof extra, "  (arena: @micro %llu, @update %llu)", (unsigned long long)mem->arena_micro,
             (unsigned long long)mem->arena_update);
    print_bytes_line("  peak", mem->peak, extra);
}

/* Compiles m (lowered from p) into the bundle o->out and prints the report. */
static bool write_bundle(const Options *o, const char *src_name, const FeProgram *p, const IrModule *m,
                         double t_frontend, LlmcErr *err) {
    const IrGraph *fwd = m->graphs[0], *init = m->n_graphs > 1 ? m->graphs[1] : NULL;
    Report r = {.t_frontend = t_frontend};
    if (!model_hash(p, o, &r.hash)) r.hash = rt_model_hash(fwd); /* documented fallback */
    double t0 = now_ms();
    CcTrainStep step = {0};
    if (!cc_train_step_build(m, &step, err)) return false;
    r.t_step = now_ms() - t0;
    bool per_rank = o->ranks || o->shard != CC_SHARD_INVALID;
    CcShardMemory rank_mem = {0};
    if (per_rank && !rank_memory(o, &step, &rank_mem, err)) {
        cc_train_step_free(&step);
        return false;
    }

    t0 = now_ms();
    Planned pl[2] = {{.g = step.micro}, {.g = step.update}};
    bool ok = true;
    for (int i = 0; i < 2 && ok; i++) {
        ok = (pl[i].fused = cc_fuse(pl[i].g, &pl[i].fusion, err)) &&
             (pl[i].planned = cc_memplan(&pl[i].fusion, &pl[i].plan, err));
        if (ok)
            for (uint32_t k = 0; k < pl[i].fusion.n_kernels; k++)
                pl[i].functions += cc_kernel_functions(&pl[i].fusion.kernels[k]);
    }
    r.t_fuse = now_ms() - t0;
    IrModule inf = {0};
    bool has_inf = ok && lower_inference(p, o, &inf);
    CcFusion inf_fu[N_INFER];
    uint32_t n_inf_fu = 0;
    for (uint32_t i = 0; has_inf && ok && i < inf.n_graphs; i++) {
        ok = cc_fuse(inf.graphs[i], &inf_fu[i], err);
        if (ok) n_inf_fu++;
    }

    t0 = now_ms();
    CcJit *jit = ok ? cc_jit_new(err) : NULL;
    CcObjCache *cache = NULL;
    char tmpdir[] = "/tmp/llmc-bundle-XXXXXX";
    if (jit) {
        if (o->no_cache && !mkdtemp(tmpdir)) {
            llmc_err_set(err, "%s: cannot create a temporary directory", tmpdir);
        } else {
            cache = cc_objcache_open(o->no_cache ? tmpdir : NULL, err);
        }
    }
    ok = cache != NULL;
    Recorded rec = {0};
    if (ok) {
        cc_objcache_set_recorder(cache, on_record, &rec);
        cc_jit_set_cache(jit, cache);
    }
    uint32_t threads = (uint32_t)sysconf(_SC_NPROCESSORS_ONLN); /* what the cache lacks compiles at once */
    for (int i = 0; i < 2 && ok; i++) ok = cc_codegen_kernels(jit, pl[i].g, &pl[i].fusion, threads ? threads : 1, err);
    for (int i = 0; i < 2 && ok; i++)
        for (uint32_t k = 0; k < pl[i].fusion.n_kernels && ok; k++) {
            const CcKernel *kn = &pl[i].fusion.kernels[k];
            for (uint32_t f = 0; f < cc_kernel_functions(kn) && ok; f++) {
                CcKernelFn fn;
                LlmcErr ke = {0};
                ok = cc_codegen_kernel(jit, pl[i].g, kn, f, &fn, &ke);
                if (!ok)
                    llmc_err_set(err, "@%s kernel %%k%u (%s, root %%%u): %s", ir_graph_name(pl[i].g), k,
                                 cc_kernel_kind_name(kn->kind), kn->root, ke.msg);
            }
        }
    r.t_llvm = now_ms() - t0;
    double t_inf0 = now_ms();
    uint32_t inf_kernels = 0;
    for (uint32_t i = 0; i < n_inf_fu && ok; i++) ok = cc_codegen_kernels(jit, inf.graphs[i], &inf_fu[i], threads ? threads : 1, err);
    for (uint32_t i = 0; i < n_inf_fu && ok; i++) /* the inference kernels, recorded alike */
        for (uint32_t k = 0; k < inf_fu[i].n_kernels && ok; k++) {
            const CcKernel *kn = &inf_fu[i].kernels[k];
            inf_kernels++;
            for (uint32_t f = 0; f < cc_kernel_functions(kn) && ok; f++) {
                CcKernelFn fn;
                LlmcErr ke = {0};
                ok = cc_codegen_kernel(jit, inf.graphs[i], kn, f, &fn, &ke);
                if (!ok)
                    llmc_err_set(err, "@%s kernel %%k%u (%s, root %%%u): %s", ir_graph_name(inf.graphs[i]), k,
                                 cc_kernel_kind_name(kn->kind), kn->root, ke.msg);
            }
        }
    r.t_infer = now_ms() - t_inf0;

    if (ok) {
        uint64_t state_update = role_bytes(step.update, IR_ROLE_STATE, NULL);
        r.param_bytes = role_bytes(fwd, IR_ROLE_PARAM, &r.params);
        r.grad_bytes = r.param_bytes;
        r.state_bytes = state_update;
        r.act_micro = pl[0].plan.peak_bytes;
        r.act_update = pl[1].plan.peak_bytes;
        IrStats sm, su;
        ir_graph_stats(step.micro, &sm);
        ir_graph_stats(step.update, &su);
        const IrTrainConfig *t = &fwd->train;
        r.flops_step = sm.flops * (double)t->accumulate + su.flops;
        r.tokens_step = t->batch * t->seq * t->accumulate;
        r.kernels[0] = pl[0].fusion.n_kernels;
        r.kernels[1] = pl[1].fusion.n_kernels;
        r.functions = pl[0].functions + pl[1].functions;
        r.cache = cc_objcache_stats(cache);

        char *target = cc_objcache_target(jit);
        LlmcBuf config = {0}, module = {0}, memplan = {0}, bc = {0}, objs = {0}, infer = {0};
        if (has_inf) ir_print_module(&inf, &infer);
        build_config(&config, src_name, fwd, &r, target);
        const IrGraph *graphs[4] = {fwd, init, step.micro, step.update};
        for (int i = 0; i < 4; i++)
            if (graphs[i]) {
                if (module.len) llmc_buf_putc(&module, '\n');
                ir_print_graph(graphs[i], &module);
            }
        build_memplan(&memplan, pl, 2);
        rt_bundle_blobs_serialize(target, rec.bcs, rec.n, &bc);
        rt_bundle_blobs_serialize(target, rec.objs, rec.n, &objs);
        RtBundleSection sec[6] = {
            {"config.json", (const unsigned char *)config.data, config.len},
            {"module.llir", (const unsigned char *)module.data, module.len},
            {"memplan.json", (const unsigned char *)memplan.data, memplan.len},
            {"kernels.bc", (const unsigned char *)bc.data, bc.len},
            {"objects", (const unsigned char *)objs.data, objs.len},
            {"inference.llir", (const unsigned char *)infer.data, infer.len},
        };
        LlmcBuf file = {0};
        rt_bundle_serialize(sec, has_inf ? 6 : 5, &file);
        ok = llmc_file_write(o->out, file.data, file.len, err);
        if (ok) print_report(o, src_name, fwd, &r, file.len, rec.n, cc_jit_cpu(jit, NULL), cc_jit_has_avx512bf16(jit));
        if (ok && per_rank) print_rank_memory(o, &rank_mem);
        if (ok && has_inf) {
            printf("inference graphs  ");
            for (uint32_t i = 0; i < inf.n_graphs; i++) printf(" @%s", ir_graph_name(inf.graphs[i]));
            printf(" (%u kernels, %.1f ms, in the bundle's objects)\n", inf_kernels, r.t_infer);
        }
        llmc_buf_free(&infer);
        llmc_buf_free(&file);
        llmc_buf_free(&config);
        llmc_buf_free(&module);
        llmc_buf_free(&memplan);
        llmc_buf_free(&bc);
        llmc_buf_free(&objs);
        free(target);
    }
    if (cache) {
        llmc_diags_print(cc_objcache_diags(cache), stderr);
        if (o->no_cache) private_cache_remove(cache, &rec);
    }
    recorded_free(&rec);
    cc_objcache_free(cache);
    cc_jit_free(jit);
    for (int i = 0; i < 2; i++) {
        if (pl[i].planned) cc_memplan_free(&pl[i].plan);
        if (pl[i].fused) cc_fusion_free(&pl[i].fusion);
    }
    for (uint32_t i = 0; i < n_inf_fu; i++) cc_fusion_free(&inf_fu[i]);
    ir_module_free(&inf);
    cc_train_step_free(&step);
    return ok;
}

/* --- sharded ------------------------------------------------------------------------- */

/* --emit=sharded: the sharded @micro and @update (.llir), then cc_shard_report's lines. */
static bool emit_sharded(const Options *o, const IrModule *m, LlmcBuf *out, LlmcErr *err) {
    uint32_t ranks = o->ranks ? o->ranks : 2;
    CcShard strategy = o->shard != CC_SHARD_INVALID ? o->shard : CC_SHARD_FULL;
    CcTrainStep step = {0}, sharded = {0};
    CcShardPlan plan = {0};
    bool ok = cc_train_step_build(m, &step, err) && cc_shard_step(&step, strategy, ranks, &sharded, &plan, err);
    if (ok) {
        IrModule both = {0};
        ir_module_add(&both, sharded.micro);
        ir_module_add(&both, sharded.update);
        ir_print_module(&both, out);
        free(both.graphs); /* the graphs still belong to sharded */
        llmc_buf_putc(out, '\n');
        ok = cc_shard_report(&sharded, &plan, out, err);
    }
    cc_shard_plan_free(&plan); /* before step: the members' names point into it */
    cc_train_step_free(&sharded);
    cc_train_step_free(&step);
    return ok;
}

/* --- main ---------------------------------------------------------------------------- */

static int run(const Options *o) {
    char *text = NULL;
    size_t len = 0;
    if (!read_source(o->path, &text, &len)) return EXIT_BAD_INPUT;
    double t_start = now_ms();
    LlmcSource src = {strcmp(o->path, "-") == 0 ? "<stdin>" : o->path, text, len};
    LlmcDiags diags = {0};
    int status = EXIT_BAD_INPUT;
    IrModule m = {0};
    FeProgram *p = fe_parse(&src, &diags);
    if (p && o->emit == EMIT_AST) {
        LlmcBuf out = {0};
        fe_ast_print(p, &out);
        status = write_output(o, &out) ? EXIT_OK : EXIT_BAD_INPUT;
        llmc_buf_free(&out);
        goto done;
    }
    FeLowerOptions lo = {o->overrides, o->n_overrides};
    if (p && (o->emit == EMIT_LOGITS || o->emit == EMIT_PREFILL || o->emit == EMIT_DECODE)) {
        FeInferKind kind = o->emit == EMIT_LOGITS    ? FE_INFER_LOGITS
                           : o->emit == EMIT_PREFILL ? FE_INFER_PREFILL
                                                     : FE_INFER_DECODE;
        if (!fe_lower_inference(p, &lo, kind, 0, &m, &diags)) goto done;
        LlmcBuf out = {0};
        ir_print_graph(m.graphs[0], &out);
        status = write_output(o, &out) ? EXIT_OK : EXIT_BAD_INPUT;
        llmc_buf_free(&out);
        goto done;
    }
    if (!p || !fe_lower(p, &lo, &m, &diags)) goto done;
    const IrGraph *fwd = m.graphs[0], *init = m.n_graphs > 1 ? m.graphs[1] : NULL;
    if (o->emit == EMIT_GRAD || o->emit == EMIT_TRAIN || o->emit == EMIT_FUSED || o->emit == EMIT_SHARDED ||
        o->emit == EMIT_LLVM || o->emit == EMIT_ASM) {
        LlmcErr err = {0};
        LlmcBuf out = {0};
        if (o->emit == EMIT_LLVM || o->emit == EMIT_ASM) {
            CcTextKind kind = o->emit == EMIT_ASM ? CC_TEXT_ASM : o->no_opt ? CC_TEXT_LLVM : CC_TEXT_LLVM_OPT;
            if (!emit_kernels(&m, src.name, kind, &out, &err)) {
                if (!err.set) llmc_err_set(&err, "kernel text failed");
                /* what could be generated (the exit status says it is incomplete); never an
                 * empty file over -o when nothing was */
                if (out.len) write_output(o, &out);
            }
        } else if (o->emit == EMIT_GRAD) {
            CcGradOptions go = {.remat_layers = fwd->train.remat == IR_REMAT_LAYERS};
            IrGraph *g = cc_grad(fwd, &go, &err);
            if (g) ir_print_graph(g, &out);
            ir_graph_free(g);
        } else if (o->emit == EMIT_FUSED) {
            CcTrainStep step = {0};
            if (cc_train_step_build(&m, &step, &err)) {
                const IrGraph *graphs[2] = {step.micro, step.update};
                for (int i = 0; i < 2 && !err.set; i++) {
                    CcFusion f;
                    if (!cc_fuse(graphs[i], &f, &err)) break;
                    cc_fusion_print(&f, &out);
                    cc_fusion_free(&f);
                }
            }
            cc_train_step_free(&step);
        } else if (o->emit == EMIT_SHARDED) {
            emit_sharded(o, &m, &out, &err);
        } else {
            CcTrainStep step = {0};
            if (cc_train_step_build(&m, &step, &err)) {
                IrModule both = {0};
                ir_module_add(&both, step.micro);
                ir_module_add(&both, step.update);
                ir_print_module(&both, &out);
                free(both.graphs); /* the graphs still belong to step */
            }
            cc_train_step_free(&step);
        }
        if (err.set) {
            fprintf(stderr, "llmc: %s: %s\n", src.name, err.msg);
        } else {
            status = write_output(o, &out) ? EXIT_OK : EXIT_BAD_INPUT;
        }
        llmc_buf_free(&out);
    } else if (o->emit == EMIT_FORWARD || o->emit == EMIT_INIT) {
        LlmcBuf out = {0};
        if (o->emit == EMIT_INIT && !init) {
            fprintf(stderr, "llmc: the model has no parameters to initialize\n");
            goto done;
        }
        ir_print_graph(o->emit == EMIT_FORWARD ? fwd : init, &out);
        status = write_output(o, &out) ? EXIT_OK : EXIT_BAD_INPUT;
        llmc_buf_free(&out);
    } else if (o->stats) {
        print_stats(fwd);
        status = print_train_stats(&m) ? EXIT_OK : EXIT_BAD_INPUT;
    } else if (o->out && !o->check) {
        LlmcErr err = {0};
        if (write_bundle(o, src.name, p, &m, now_ms() - t_start, &err)) status = EXIT_OK;
        else fprintf(stderr, "llmc: %s: %s\n", src.name, err.msg);
    } else {
        if (!o->check) printf("%s: ok (%u forward nodes)\n", src.name, fwd->n_nodes);
        status = EXIT_OK;
    }
done:
    llmc_diags_print(&diags, stderr);
    if (diags.errors) fprintf(stderr, "%u error%s\n", diags.errors, diags.errors == 1 ? "" : "s");
    llmc_diags_free(&diags);
    ir_module_free(&m);
    fe_program_free(p);
    free(text);
    return status;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "plan") == 0) return llmc_plan_main(argc - 1, argv + 1);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(usage_text, stdout);
            return EXIT_OK;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("llmc 0.1.0\n");
            return EXIT_OK;
        }
    }
    if (argc < 2) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    Options o = {0};
    int status = parse_args(argc, argv, &o);
    if (status == EXIT_OK) status = run(&o);
    for (uint32_t i = 0; i < o.n_overrides; i++) free((char *)o.overrides[i].name);
    free(o.overrides);
    return status;
}
