/* tools/llmc.c — llmc, the compiler driver.
 *
 *   llmc MODEL.llm --check            parse, lower and verify; diagnostics only
 *   llmc MODEL.llm --emit=STAGE       print a stage: ast, forward, init, grad, train, ...
 *   llmc MODEL.llm --emit=llvm|asm    every kernel of the training step as LLVM IR / host asm
 *   llmc MODEL.llm --stats            parameters by group, FLOPs per token, activations
 *   -D NAME=VALUE                     override a top-level config value (repeatable)
 *
 * Exit codes: 0 success, 1 bad input (file, syntax, model errors), 2 bad usage.
 * Later stages (bundles) arrive with the runtime issues. This file only handles arguments
 * and output; the work is in frontend/, compiler/ and ir/.
 */
#include "compiler.h"
#include "frontend.h"
#include "ir.h"

#include <stdlib.h>
#include <string.h>

enum { EXIT_OK = 0, EXIT_BAD_INPUT = 1, EXIT_USAGE = 2 };

static const char *const usage_text =
    "usage: llmc MODEL.llm [options]\n"
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
    "                        llvm     every kernel function of @micro and @update as\n"
    "                                 LLVM IR for the host, optimized (default<O3>)\n"
    "                        asm      the same kernels as host assembly (AT&T syntax)\n"
    "  --no-opt            with --emit=llvm: the IR as generated, before optimization\n"
    "  --stats             parameters by group, FLOPs per token, activation bytes,\n"
    "                      training-graph sizes before and after simplification\n"
    "  -D NAME=VALUE       override a top-level assignment of the model or train\n"
    "                      block, e.g. -D dim=128 -D layers=2 (repeatable)\n"
    "  -o FILE             write the emitted text to FILE instead of stdout\n"
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
    EMIT_LLVM,
    EMIT_ASM
} Emit;

typedef struct Options {
    const char *path;
    const char *out;
    bool check, stats, no_opt;
    Emit emit;
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
            else if (strcmp(s, "llvm") == 0)
                o->emit = EMIT_LLVM;
            else if (strcmp(s, "asm") == 0)
                o->emit = EMIT_ASM;
            else
                return usage_error("unknown stage '%s' for --emit (ast, forward, init, grad, train, fused, llvm, asm)",
                                   s);
        } else if (strcmp(a, "--no-opt") == 0) {
            o->no_opt = true;
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

/* --- main ---------------------------------------------------------------------------- */

static int run(const Options *o) {
    char *text = NULL;
    size_t len = 0;
    if (!read_source(o->path, &text, &len)) return EXIT_BAD_INPUT;
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
    if (!p || !fe_lower(p, &lo, &m, &diags)) goto done;
    const IrGraph *fwd = m.graphs[0], *init = m.n_graphs > 1 ? m.graphs[1] : NULL;
    if (o->emit == EMIT_GRAD || o->emit == EMIT_TRAIN || o->emit == EMIT_FUSED || o->emit == EMIT_LLVM ||
        o->emit == EMIT_ASM) {
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
