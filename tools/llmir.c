/* tools/llmir.c — llmir, the IR workbench (in the spirit of mlir-opt).
 *
 *   llmir print F.llir     parse, verify, print canonically
 *   llmir check F.llir     diagnostics only; exit 1 on error
 *   llmir dot F.llir       Graphviz
 *   llmir stats F.llir     op histogram, FLOPs, params, bytes
 *   llmir run F.llir ...   interpret with the reference interpreter
 *   llmir opt F.llir --passes=a,b,c [--stats]   run compiler passes, print the result
 * Every command also takes a bundle (llmc -o F.llmc) and works on the IR inside it.
 *
 * Exit codes: 0 success, 1 bad input (file, parse, verify, run, a pass refusing its
 * input), 2 bad usage, 3 internal error (a pass produced a graph that does not verify).
 * This file only parses arguments and formats results; everything it does is a call
 * into ir/, compiler/ and runtime/. It deliberately has no IR logic of its own.
 */
#include "compiler.h"
#include "ir.h"
#include "runtime.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { EXIT_OK = 0, EXIT_BAD_INPUT = 1, EXIT_USAGE = 2, EXIT_INTERNAL = 3 };

static const char *const usage_text =
    "usage: llmir COMMAND FILE.llir [options]\n"
    "\n"
    "Reads a .llir file (the llmc tensor IR; '-' reads stdin) or the IR inside a bundle\n"
    "(llmc -o F.llmc), verifies it and:\n"
    "  print   prints it canonically (print(parse(print(g))) is byte-identical)\n"
    "  check   reports diagnostics only; exit status 1 if there are errors\n"
    "  dot     prints one graph as Graphviz: llmir dot g.llir | dot -Tsvg > g.svg\n"
    "          (needs Debian's graphviz for the drawing)\n"
    "  stats   prints the op histogram, FLOPs, parameter count and bytes\n"
    "  run     interprets a graph and prints each output's type, checksum and first values\n"
    "  opt     runs compiler passes on every graph (or the --graph one), verifying after\n"
    "          each, and prints the whole module canonically\n"
    "\n"
    "options (anywhere on the line):\n"
    "  --graph NAME              graph for dot, run and opt (default: the first in the\n"
    "                            file; opt: every graph)\n"
    "opt options:\n"
    "  --passes=P1,P2,...        passes to run, in order (required; listed below)\n"
    "  --stats                   node counts before and after each pass, on stderr\n"
    "run options:\n"
    "  --seed N                  seed for inputs not given with --input (default 0):\n"
    "                            floats uniform in [-1,1), i32 within the range of the\n"
    "                            gather/onehot/scatter_add they reach, else [0,10)\n"
    "  --input NAME=FILE         take input NAME from tensor NAME of a safetensors file\n"
    "                            (or its only tensor); repeatable\n"
    "  --input FILE              take every input whose name is a tensor in FILE\n"
    "  --dtype f32|f64           interpreter precision (default f32); with f64, float\n"
    "                            outputs are printed and saved as f64\n"
    "  --ranks N                 simulated world size (default: what the graph's\n"
    "                            collectives say, else 1); data inputs and inputs that\n"
    "                            are all-gathered (shards) differ per rank, others do not\n"
    "  --out FILE.safetensors    write the outputs (with --ranks N > 1 named rankR.NAME)\n"
    "  --show N                  values to print per output (default 8; 0: none)\n"
    "  --jit                     run through JIT-compiled kernels (runtime/exec.c) instead\n"
    "                            of the interpreter: one rank, the graph's own dtypes; a\n"
    "                            summary (kernels, arena, compile and run time) on stderr.\n"
    "                            Kernels are cached in $LLMC_CACHE_DIR (default\n"
    "                            ~/.cache/llmc)\n"
    "  --threads N               with --jit: threads (default: the number of cores); the\n"
    "                            results are bit-identical for every N\n"
    "  --max-memory GIB          refuse graphs that may need more (default 8)\n"
    "\n"
    "other:\n"
    "  -h, --help                this text\n"
    "  --version                 version\n"
    "\n"
    "exit status: 0 success, 1 bad input, 2 bad usage, 3 internal error (a pass\n"
    "produced a graph that does not verify)\n";

/* The pass list, from the registry, for --help and for an unknown pass. */
static void print_passes(FILE *out) {
    uint32_t n;
    const CcPass *p = cc_pass_list(&n);
    fprintf(out, "passes (for opt --passes=):\n");
    for (uint32_t i = 0; i < n; i++) fprintf(out, "  %-10s %s\n", p[i].name, p[i].summary);
}

static int usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "llmir: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'llmir --help'.\n");
    return EXIT_USAGE;
}

/* --- loading ------------------------------------------------------------------------- */

static bool read_stdin(char **data, size_t *len) {
    LlmcBuf b = {0};
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, stdin)) > 0) llmc_buf_put(&b, chunk, got);
    llmc_buf_put(&b, "", 0);
    *data = b.data;
    *len = b.len;
    return !ferror(stdin);
}

/* Parses and verifies; prints diagnostics. Returns false on any error. A bundle (its
 * magic) is validated whole (runtime/bundle.c) and its module.llir section is read. */
static bool load_module(const char *path, IrModule *m) {
    char *text = NULL;
    size_t len = 0;
    LlmcErr err = {0};
    if (strcmp(path, "-") == 0) {
        if (!read_stdin(&text, &len)) {
            fprintf(stderr, "llmir: <stdin>: read error\n");
            free(text);
            return false;
        }
        path = "<stdin>";
    } else if (!llmc_file_read(path, &text, &len, &err)) {
        fprintf(stderr, "llmir: %s\n", err.msg);
        return false;
    }
    LlmcSource src = {path, text, len};
    LlmcDiags diags = {0};
    bool ok;
    if (rt_bundle_sniff(text, len)) { /* a bundle (llmc -o X.llmc): the IR inside it */
        RtBundle b;
        ok = rt_bundle_parse(text, len, path, &b, &err);
        if (!ok) fprintf(stderr, "llmir: %s\n", err.msg);
        else ok = rt_bundle_module(&b, path, m, &diags);
        rt_bundle_free(&b);
    } else {
        ok = ir_parse_module(&src, m, &diags);
    }
    llmc_diags_print(&diags, stderr);
    if (!ok && diags.errors) fprintf(stderr, "%u error%s\n", diags.errors, diags.errors == 1 ? "" : "s");
    llmc_diags_free(&diags);
    free(text);
    return ok;
}

/* --- print / check / dot ------------------------------------------------------------- */

static int cmd_print(const IrModule *m) {
    LlmcBuf out = {0};
    ir_print_module(m, &out);
    if (out.len) fwrite(out.data, 1, out.len, stdout);
    llmc_buf_free(&out);
    return EXIT_OK;
}

/* One graph per drawing (several digraphs in one file are not one picture). */
static int cmd_dot(const IrGraph *g) {
    LlmcBuf out = {0};
    ir_print_dot(g, &out);
    if (out.len) fwrite(out.data, 1, out.len, stdout);
    llmc_buf_free(&out);
    return EXIT_OK;
}

/* --- stats --------------------------------------------------------------------------- */

static void print_bytes(const char *label, uint64_t bytes) {
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024 && u < 4) v /= 1024, u++;
    if (u == 0)
        printf("  %-16s %" PRIu64 " B\n", label, bytes);
    else
        printf("  %-16s %.2f %s (%" PRIu64 " B)\n", label, v, units[u], bytes);
}

static void print_count(const char *label, double v, const char *unit) {
    static const char *const prefixes[] = {"", "K", "M", "G", "T", "P"};
    double s = v;
    int p = 0;
    while (s >= 1000 && p < 5) s /= 1000, p++;
    if (p == 0)
        printf("  %-16s %.0f %s\n", label, v, unit);
    else
        printf("  %-16s %.3f %s%s (%.0f)\n", label, s, prefixes[p], unit, v);
}

static int cmd_stats(const IrModule *m) {
    for (uint32_t gi = 0; gi < m->n_graphs; gi++) {
        const IrGraph *g = m->graphs[gi];
        IrStats s;
        ir_graph_stats(g, &s);
        printf("%sgraph @%s: %u nodes, %u inputs, %u outputs\n", gi ? "\n" : "", ir_graph_name(g), s.n_nodes,
               ir_graph_inputs(g, NULL), g->n_outputs);
        printf("ops:\n");
        for (int op = 1; op < IR_OP_COUNT; op++)
            if (s.op_count[op]) printf("  %-16s %u\n", ir_op_name((IrOp)op), s.op_count[op]);
        printf("totals:\n");
        print_count("flops", s.flops, "FLOP");
        print_count("params", (double)s.n_params, "");
        print_bytes("param bytes", s.bytes_params);
        print_bytes("state bytes", s.bytes_state);
        print_bytes("data bytes", s.bytes_data);
        print_bytes("const bytes", s.bytes_consts);
        print_bytes("intermediates", s.bytes_intermediates);
    }
    return EXIT_OK;
}

/* --- run ----------------------------------------------------------------------------- */

typedef struct InputSpec {
    const char *name; /* NULL: every input found in file */
    const char *file;
} InputSpec;

typedef struct RunOptions {
    const char *graph;
    uint32_t seed;
    IrPrecision precision;
    uint32_t ranks;
    const char *out;
    uint32_t show;
    double max_memory_gib;
    InputSpec *inputs;
    uint32_t n_inputs;
    bool jit;         /* run through the JIT executor instead of the interpreter */
    uint32_t threads; /* with jit: pool size; 0 = the number of cores */
} RunOptions;

/* How an input is used, found by following it through movement ops. */
typedef struct InputUse {
    int64_t index_bound; /* smallest range of the index operands it reaches; 0: none */
    bool sharded;        /* it reaches an all_gather: each rank holds its own shard */
} InputUse;

static void note_bound(InputUse *u, int64_t bound) {
    if (u->index_bound == 0 || bound < u->index_bound) u->index_bound = bound;
}

static InputUse input_use(const IrGraph *g, IrId input) {
    InputUse u = {0, false};
    bool *reach = llmc_xcalloc(g->n_nodes, sizeof *reach);
    reach[input] = true;
    for (IrId id = input + 1; id < g->n_nodes; id++) {
        const IrNode *n = &g->nodes[id];
        for (uint32_t k = 0; k < n->n_operands; k++) {
            if (!reach[n->operands[k]]) continue;
            if (n->op == IR_OP_GATHER && k == 1)
                note_bound(&u, g->nodes[n->operands[0]].type.dims[n->attrs.gather.axis]);
            else if (n->op == IR_OP_SCATTER_ADD && k == 0)
                note_bound(&u, n->type.dims[n->attrs.gather.axis]);
            else if (n->op == IR_OP_ONEHOT)
                note_bound(&u, n->type.dims[n->type.rank - 1]);
            else if (n->op == IR_OP_ALL_GATHER)
                u.sharded = true;
            else if (ir_op_info(n->op)->kind == IR_KIND_MOVEMENT)
                reach[id] = true;
        }
    }
    free(reach);
    return u;
}

/* Random input values: floats uniform in [-1, 1); i32 within the index range it feeds
 * (else [0, 10)). Data differs per rank, as each rank reads its own micro-batches, and
 * so do shards (inputs that are all-gathered); other params and state are replicated. */
static void fill_random(const IrGraph *g, IrId id, uint32_t input_index, uint32_t seed, uint32_t rank, IrValue *v) {
    const IrNode *n = &g->nodes[id];
    InputUse use = input_use(g, id);
    uint32_t stream = n->attrs.input.role == IR_ROLE_DATA || use.sharded ? rank : 0;
    int64_t bound = use.index_bound ? use.index_bound : 10;
    int64_t numel = ir_type_numel(&n->type);
    for (int64_t e = 0; e < numel; e++) {
        double u = ir_rand_value(IR_RAND_UNIFORM, seed, input_index, stream, 0x11a3u, (uint64_t)e);
        if (n->type.dtype == IR_DTYPE_I32)
            v->data[e] = (double)(int64_t)(u * (double)bound);
        else if (n->type.dtype == IR_DTYPE_F32)
            v->data[e] = (double)(float)(2.0 * u - 1.0);
        else
            v->data[e] = 2.0 * u - 1.0;
    }
}

/* Finds the tensor for input `name` among the --input specs. Returns 1 found, 0 not
 * given, -1 error (printed). */
static int load_given_input(const RunOptions *o, RtSafetensors *files, const char *name, const IrType *want,
                            IrValue *v) {
    for (uint32_t i = 0; i < o->n_inputs; i++) {
        const InputSpec *s = &o->inputs[i];
        if (s->name && strcmp(s->name, name) != 0) continue;
        const RtTensor *t = rt_safetensors_find(&files[i], name);
        if (!t && s->name && files[i].count == 1) t = &files[i].tensors[0];
        if (!t) {
            if (s->name) {
                fprintf(stderr, "llmir: %s: no tensor named '%s'\n", s->file, name);
                return -1;
            }
            continue;
        }
        LlmcErr err = {0};
        if (!rt_tensor_to_value(t, v, &err)) {
            fprintf(stderr, "llmir: %s: %s\n", s->file, err.msg);
            return -1;
        }
        if (!ir_type_equal(&v->type, want)) {
            char a[IR_TYPE_STR_MAX], b[IR_TYPE_STR_MAX];
            fprintf(stderr, "llmir: %s: tensor '%s' is %s but input '%s' is %s\n", s->file, t->name,
                    ir_type_format(&v->type, a, sizeof a), name, ir_type_format(want, b, sizeof b));
            ir_value_free(v);
            return -1;
        }
        return 1;
    }
    return 0;
}

static uint64_t value_checksum(const IrValue *v) {
    /* FNV-1a over the values as stored in their dtype, so equal tensors hash equal
     * whatever produced them. */
    uint64_t h = 1469598103934665603ull;
    int64_t numel = ir_type_numel(&v->type);
    for (int64_t e = 0; e < numel; e++) {
        unsigned char bytes[8] = {0};
        size_t n;
        if (v->type.dtype == IR_DTYPE_F64) {
            memcpy(bytes, &v->data[e], 8);
            n = 8;
        } else if (v->type.dtype == IR_DTYPE_I32) {
            int32_t i = (int32_t)v->data[e];
            memcpy(bytes, &i, 4);
            n = 4;
        } else {
            float f = (float)v->data[e];
            memcpy(bytes, &f, 4);
            n = 4;
        }
        for (size_t b = 0; b < n; b++) h = (h ^ bytes[b]) * 1099511628211ull;
    }
    return h;
}

static void print_value(const char *prefix, const char *name, const IrValue *v, uint32_t show) {
    char t[IR_TYPE_STR_MAX];
    int64_t numel = ir_type_numel(&v->type);
    double sum = 0;
    for (int64_t e = 0; e < numel; e++) sum += v->data[e];
    printf("%s%s: %s  fnv1a=%016" PRIx64 "  sum=%.9g\n", prefix, name, ir_type_format(&v->type, t, sizeof t),
           value_checksum(v), sum);
    if (show == 0) return;
    printf("  [");
    for (int64_t e = 0; e < numel && e < (int64_t)show; e++) {
        char f[64];
        if (v->type.dtype == IR_DTYPE_I32)
            snprintf(f, sizeof f, "%d", (int32_t)v->data[e]);
        else if (v->type.dtype == IR_DTYPE_F64)
            ir_format_f64(v->data[e], f, sizeof f);
        else
            ir_format_f32((float)v->data[e], f, sizeof f);
        printf("%s%s", e ? ", " : "", f);
    }
    printf("%s]\n", numel > (int64_t)show ? ", ..." : "");
}

static bool write_outputs(const RunOptions *o, const IrGraph *g, const IrValue *outs) {
    uint32_t n = g->n_outputs * o->ranks;
    RtTensor *ts = llmc_xcalloc(n, sizeof *ts);
    char **names = llmc_xcalloc(n, sizeof *names);
    for (uint32_t r = 0; r < o->ranks; r++)
        for (uint32_t i = 0; i < g->n_outputs; i++) {
            uint32_t k = r * g->n_outputs + i;
            LlmcBuf name = {0};
            if (o->ranks > 1) llmc_buf_printf(&name, "rank%u.", r);
            llmc_buf_puts(&name, ir_graph_str(g, g->outputs[i].name));
            names[k] = name.data;
            rt_tensor_from_value(&outs[k], names[k], &ts[k]);
        }
    LlmcErr err = {0};
    bool ok = rt_safetensors_write(o->out, ts, n, NULL, NULL, 0, &err);
    if (!ok) fprintf(stderr, "llmir: %s\n", err.msg);
    for (uint32_t k = 0; k < n; k++) {
        rt_tensor_free(&ts[k]);
        free(names[k]);
    }
    free(ts);
    free(names);
    return ok;
}

static const IrGraph *pick_graph(const IrModule *m, const char *name) {
    if (!name) return m->n_graphs ? m->graphs[0] : NULL;
    for (uint32_t i = 0; i < m->n_graphs; i++)
        if (strcmp(ir_graph_name(m->graphs[i]), name) == 0) return m->graphs[i];
    return NULL;
}

/* The world size the graph's collectives (and sharded rands) were written for; 1 if
 * none. The interpreter rejects a graph whose collectives disagree. */
static uint32_t graph_ranks(const IrGraph *g) {
    int64_t ranks = 1;
    for (IrId id = 0; id < g->n_nodes; id++) {
        const IrNode *n = &g->nodes[id];
        if (ir_op_info(n->op)->kind == IR_KIND_COLLECTIVE && n->attrs.coll.ranks > ranks) ranks = n->attrs.coll.ranks;
        if (n->op == IR_OP_RAND && n->attrs.rand.shard_axis >= 0 && n->attrs.rand.shards > ranks)
            ranks = n->attrs.rand.shards;
    }
    return (uint32_t)ranks;
}

/* The interpreter keeps every value as doubles; refuse graphs that cannot fit instead
 * of dying in the allocator. An upper bound: every node's value at once. */
static bool check_memory(const IrGraph *g, uint32_t ranks, double limit_gib) {
    double bytes = 0;
    for (IrId id = 0; id < g->n_nodes; id++) bytes += (double)ir_type_numel(&g->nodes[id].type) * sizeof(double);
    bytes *= ranks;
    double gib = bytes / (1024.0 * 1024.0 * 1024.0);
    if (gib <= limit_gib) return true;
    fprintf(stderr, "llmir: run @%s: the interpreter may need up to %.1f GiB (values are kept as f64 on %u rank%s); "
            "the limit is %.1f GiB (--max-memory GIB)\n", ir_graph_name(g), gib, ranks, ranks == 1 ? "" : "s",
            limit_gib);
    return false;
}

/* In f64 mode the interpreter keeps f32-typed results unrounded: report and save them
 * as f64 so what is shown is what was computed. */
static void widen_outputs(IrValue *outs, uint32_t n) {
    for (uint32_t k = 0; k < n; k++)
        if (outs[k].type.dtype == IR_DTYPE_F32) outs[k].type.dtype = IR_DTYPE_F64;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The graph through the executor: inputs from ins (converted to native buffers), outputs
 * into outs as values. */
static bool run_jit(const IrGraph *g, const RunOptions *o, const IrValue *ins, IrValue *outs) {
    LlmcErr err = {0};
    CcJit *jit = cc_jit_new(&err);
    if (!jit) {
        fprintf(stderr, "llmir: run --jit: %s\n", err.msg);
        return false;
    }
    LlmcErr cerr = {0};
    CcObjCache *cache = cc_objcache_open(NULL, &cerr);
    if (!cache) fprintf(stderr, "llmir: warning: no kernel cache (%s); compiling everything\n", cerr.msg);
    cc_jit_set_cache(jit, cache);
    RtPool *pool = rt_pool_new(o->threads, &err);
    RtExec *ex = pool ? rt_exec_new(jit, g, pool, &err) : NULL;
    uint32_t n_in = ir_graph_inputs(g, NULL);
    void **in = llmc_xcalloc(n_in + 1, sizeof *in), **out = llmc_xcalloc(g->n_outputs + 1, sizeof *out);
    bool ok = ex != NULL;
    double ms = 0;
    if (ok) {
        for (uint32_t i = 0; i < n_in; i++) in[i] = rt_native_from_value(&ins[i]);
        for (uint32_t i = 0; i < g->n_outputs; i++)
            out[i] = llmc_xcalloc(1, ir_type_bytes(&g->nodes[g->outputs[i].node].type));
        double t0 = now_ms();
        ok = rt_exec_run(ex, in, out, &err);
        ms = now_ms() - t0;
    }
    if (!ok) fprintf(stderr, "llmir: run --jit @%s: %s\n", ir_graph_name(g), err.msg);
    for (uint32_t i = 0; ok && i < g->n_outputs; i++)
        rt_native_to_value(out[i], g->nodes[g->outputs[i].node].type, &outs[i]);
    if (ok) {
        RtExecStats st = rt_exec_stats(ex);
        CcObjCacheStats cs = cache ? cc_objcache_stats(cache) : (CcObjCacheStats){0};
        fprintf(stderr,
                "llmir: jit @%s: %u kernels (%u functions), arena %.3f MB; compiled in %.0f ms (cache: %llu hits, "
                "%llu reused, %llu compiled); ran in %.2f ms on %u thread%s\n",
                ir_graph_name(g), st.kernels, st.functions, st.arena_bytes / 1e6, st.compile_ms,
                (unsigned long long)cs.hits, (unsigned long long)cs.reused, (unsigned long long)cs.misses, ms,
                rt_pool_threads(pool), rt_pool_threads(pool) == 1 ? "" : "s");
    }
    if (cache) llmc_diags_print(cc_objcache_diags(cache), stderr);
    for (uint32_t i = 0; i < n_in; i++) free(in[i]);
    for (uint32_t i = 0; i < g->n_outputs; i++) free(out[i]);
    free(in);
    free(out);
    rt_exec_free(ex);
    rt_pool_free(pool);
    cc_jit_free(jit);
    cc_objcache_free(cache);
    return ok;
}

static int cmd_run(const IrModule *m, const RunOptions *o_in) {
    RunOptions opts = *o_in;
    const RunOptions *o = &opts;
    const IrGraph *g = pick_graph(m, o->graph);
    if (opts.ranks == 0) opts.ranks = graph_ranks(g);
    if (!check_memory(g, o->ranks, o->max_memory_gib)) return EXIT_BAD_INPUT;
    int status = EXIT_BAD_INPUT;
    RtSafetensors *files = llmc_xcalloc(o->n_inputs ? o->n_inputs : 1, sizeof *files);
    uint32_t n_in = ir_graph_inputs(g, NULL);
    IrId *in_ids = llmc_xcalloc(n_in ? n_in : 1, sizeof *in_ids);
    ir_graph_inputs(g, in_ids);
    IrValue *ins = llmc_xcalloc((size_t)n_in * o->ranks + 1, sizeof *ins);
    IrValue *outs = llmc_xcalloc((size_t)g->n_outputs * o->ranks + 1, sizeof *outs);
    uint32_t files_loaded = 0;
    for (; files_loaded < o->n_inputs; files_loaded++) {
        LlmcErr err = {0};
        if (!rt_safetensors_read(o->inputs[files_loaded].file, &files[files_loaded], &err)) {
            fprintf(stderr, "llmir: %s\n", err.msg);
            goto done;
        }
    }
    for (uint32_t k = 0; k < o->n_inputs; k++) {
        if (o->inputs[k].name && ir_graph_find_input(g, o->inputs[k].name) == IR_ID_NONE) {
            fprintf(stderr, "llmir: --input %s=%s: graph @%s has no input named '%s'\n", o->inputs[k].name,
                    o->inputs[k].file, ir_graph_name(g), o->inputs[k].name);
            goto done;
        }
        bool any = o->inputs[k].name != NULL;
        for (uint32_t t = 0; !any && t < files[k].count; t++)
            any = ir_graph_find_input(g, files[k].tensors[t].name) != IR_ID_NONE;
        if (!any)
            fprintf(stderr, "llmir: warning: --input %s: no tensor in it is named like an input of @%s\n",
                    o->inputs[k].file, ir_graph_name(g));
    }
    for (uint32_t i = 0; i < n_in; i++) {
        const IrNode *n = &g->nodes[in_ids[i]];
        const char *name = ir_graph_str(g, n->attrs.input.name);
        IrValue given = {0};
        int found = load_given_input(o, files, name, &n->type, &given);
        if (found < 0) goto done;
        for (uint32_t r = 0; r < o->ranks; r++) {
            IrValue *v = &ins[r * n_in + i];
            ir_value_alloc(v, n->type);
            if (found)
                memcpy(v->data, given.data, (size_t)ir_type_numel(&n->type) * sizeof(double));
            else
                fill_random(g, in_ids[i], i, o->seed, r, v);
        }
        if (found) ir_value_free(&given);
    }
    if (o->jit && o->ranks != 1) {
        fprintf(stderr, "llmir: run --jit @%s: the executor runs one rank; the graph has collectives over %u\n",
                ir_graph_name(g), o->ranks);
        goto done;
    }
    if (o->jit) {
        if (!run_jit(g, o, ins, outs)) goto done;
    } else {
        IrInterpOptions opt = {.precision = o->precision, .ranks = o->ranks};
        RtExternHost *host = rt_extern_host_new(o->precision); /* extern_call: the same libraries as --jit */
        rt_extern_host_install(host, &opt);
        LlmcErr err = {0};
        bool ran = ir_interp_run(g, &opt, ins, outs, &err);
        rt_extern_host_free(host);
        if (!ran) {
            fprintf(stderr, "llmir: run @%s: %s\n", ir_graph_name(g), err.msg);
            if (o->ranks == 1 && graph_ranks(g) > 1)
                fprintf(stderr, "llmir: note: try --ranks %u\n", graph_ranks(g));
            goto done;
        }
    }
    if (o->precision == IR_PRECISION_F64) widen_outputs(outs, g->n_outputs * o->ranks);
    for (uint32_t r = 0; r < o->ranks; r++)
        for (uint32_t i = 0; i < g->n_outputs; i++) {
            char prefix[32] = "";
            if (o->ranks > 1) snprintf(prefix, sizeof prefix, "rank %u: ", r);
            print_value(prefix, ir_graph_str(g, g->outputs[i].name), &outs[r * g->n_outputs + i], o->show);
        }
    status = (o->out && !write_outputs(o, g, outs)) ? EXIT_BAD_INPUT : EXIT_OK;
    if (status == EXIT_OK && o->out) printf("wrote %s\n", o->out);
done:
    for (uint32_t k = 0; k < n_in * o->ranks; k++) ir_value_free(&ins[k]);
    for (uint32_t k = 0; k < g->n_outputs * o->ranks; k++) ir_value_free(&outs[k]);
    for (uint32_t k = 0; k < files_loaded; k++) rt_safetensors_free(&files[k]);
    free(files);
    free(ins);
    free(outs);
    free(in_ids);
    return status;
}

/* --- opt ----------------------------------------------------------------------------- */

/* Runs one pass on m->graphs[gi], replacing it; verify-each: a result that does not
 * verify is the pass's bug, reported as an internal error naming it. */
static int opt_one(IrModule *m, uint32_t gi, const CcPass *pass, bool stats) {
    IrGraph *g = m->graphs[gi];
    LlmcErr err = {0};
    IrGraph *r = pass->run(g, &err);
    if (!r) {
        /* A pass that catches its own invalid result says "internal error: ...". */
        bool internal = strncmp(err.msg, "internal error", 14) == 0;
        fprintf(stderr, "llmir: opt: pass '%s' on @%s: %s\n", pass->name, ir_graph_name(g),
                err.set ? err.msg : "failed without a message");
        return internal ? EXIT_INTERNAL : EXIT_BAD_INPUT;
    }
    LlmcDiags d = {0};
    if (!ir_verify(r, &d, NULL, NULL)) {
        fprintf(stderr, "llmir: internal error: pass '%s' produced an invalid graph from @%s:\n", pass->name,
                ir_graph_name(g));
        llmc_diags_print(&d, stderr);
        llmc_diags_free(&d);
        ir_graph_free(r);
        return EXIT_INTERNAL;
    }
    llmc_diags_free(&d);
    if (stats) fprintf(stderr, "@%s: %s: %u -> %u nodes\n", ir_graph_name(g), pass->name, g->n_nodes, r->n_nodes);
    ir_graph_free(g);
    m->graphs[gi] = r;
    return EXIT_OK;
}

/* The passes in `list` (already checked) in order, on every graph or the named one; then
 * the whole module is printed, so the output is a .llir file like the input. */
static int cmd_opt(IrModule *m, const char *graph, const char *list, bool stats) {
    for (uint32_t gi = 0; gi < m->n_graphs; gi++) {
        if (graph && strcmp(ir_graph_name(m->graphs[gi]), graph) != 0) continue;
        for (const char *p = list;;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            char name[64];
            memcpy(name, p, len);
            name[len] = 0;
            int st = opt_one(m, gi, cc_pass_find(name), stats);
            if (st != EXIT_OK) return st;
            if (!comma) break;
            p = comma + 1;
        }
    }
    return cmd_print(m);
}

/* --- arguments ----------------------------------------------------------------------- */

static bool parse_uint(const char *s, uint32_t lo, uint32_t hi, uint32_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi) return false;
    *out = (uint32_t)v;
    return true;
}

typedef struct Args {
    const char *cmd, *path;
    RunOptions run;
    bool run_option_seen; /* the first run-only option, for "only for run" errors */
    const char *run_option_name;
    const char *passes;   /* opt: the comma-separated list */
    bool stats;           /* opt: node counts on stderr */
    const char *opt_option_name; /* the first opt-only option, for "only for opt" errors */
} Args;

static int add_input_spec(RunOptions *o, const char *v) {
    const char *eq = strchr(v, '=');
    if (eq && (eq == v || !eq[1])) return usage_error("--input needs NAME=FILE or FILE, got '%s'", v);
    char *name = NULL;
    if (eq) {
        name = llmc_xmalloc((size_t)(eq - v) + 1);
        memcpy(name, v, (size_t)(eq - v));
        name[eq - v] = 0;
    }
    o->inputs = llmc_xrealloc(o->inputs, (o->n_inputs + 1) * sizeof *o->inputs);
    o->inputs[o->n_inputs].name = name;
    o->inputs[o->n_inputs].file = eq ? eq + 1 : v;
    o->n_inputs++;
    return EXIT_OK;
}

/* One option with its value; returns EXIT_OK or EXIT_USAGE (printed). */
static int parse_option(Args *a, const char *opt, const char *v) {
    RunOptions *o = &a->run;
    if (strcmp(opt, "--graph") == 0) {
        o->graph = v[0] == '@' ? v + 1 : v;
        return EXIT_OK;
    }
    a->run_option_seen = true;
    a->run_option_name = opt;
    if (strcmp(opt, "--seed") == 0) {
        if (!parse_uint(v, 0, UINT32_MAX, &o->seed)) return usage_error("--seed needs an integer in [0, 2^32), got '%s'", v);
    } else if (strcmp(opt, "--threads") == 0) {
        if (!parse_uint(v, 1, 1024, &o->threads)) return usage_error("--threads needs an integer in [1, 1024], got '%s'", v);
    } else if (strcmp(opt, "--ranks") == 0) {
        if (!parse_uint(v, 1, 1024, &o->ranks)) return usage_error("--ranks needs an integer in [1, 1024], got '%s'", v);
    } else if (strcmp(opt, "--show") == 0) {
        if (!parse_uint(v, 0, 1u << 30, &o->show)) return usage_error("--show needs a count, got '%s'", v);
    } else if (strcmp(opt, "--max-memory") == 0) {
        char *end;
        o->max_memory_gib = strtod(v, &end);
        if (end == v || *end || !(o->max_memory_gib > 0)) return usage_error("--max-memory needs GiB > 0, got '%s'", v);
    } else if (strcmp(opt, "--dtype") == 0) {
        if (strcmp(v, "f32") == 0)
            o->precision = IR_PRECISION_F32;
        else if (strcmp(v, "f64") == 0)
            o->precision = IR_PRECISION_F64;
        else
            return usage_error("--dtype must be f32 or f64, got '%s'", v);
    } else if (strcmp(opt, "--out") == 0) {
        o->out = v;
    } else {
        return add_input_spec(o, v);
    }
    return EXIT_OK;
}

static bool takes_value(const char *opt) {
    static const char *const opts[] = {"--seed", "--input", "--dtype", "--ranks", "--out",
                                       "--graph", "--show", "--max-memory", "--threads"};
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        if (strcmp(opt, opts[i]) == 0) return true;
    return false;
}

/* Every name in the comma-separated list must be a registered pass. */
static int check_passes(const char *list) {
    if (!*list) return usage_error("%s", "--passes needs at least one pass");
    for (const char *p = list;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char name[64];
        if (len == 0 || len >= sizeof name) return usage_error("--passes: bad pass list '%s'", list);
        memcpy(name, p, len);
        name[len] = 0;
        if (!cc_pass_find(name)) {
            fprintf(stderr, "llmir: unknown pass '%s'\n", name);
            print_passes(stderr);
            fprintf(stderr, "Try 'llmir --help'.\n");
            return EXIT_USAGE;
        }
        if (!comma) return EXIT_OK;
        p = comma + 1;
    }
}

/* Options may come anywhere; the first two other words are the command and the file. */
static int parse_args(int argc, char **argv, Args *a) {
    for (int i = 1; i < argc; i++) {
        const char *w = argv[i];
        if (strcmp(w, "--jit") == 0) {
            a->run.jit = true;
            if (!a->run_option_seen) a->run_option_name = w;
            a->run_option_seen = true;
        } else if (strcmp(w, "--stats") == 0) {
            a->stats = true;
            if (!a->opt_option_name) a->opt_option_name = w;
        } else if (strncmp(w, "--passes", 8) == 0 && (w[8] == '=' || w[8] == 0)) {
            if (w[8] == 0 && i + 1 >= argc) return usage_error("option '%s' needs a value", w);
            a->passes = w[8] == '=' ? w + 9 : argv[++i];
            if (!a->opt_option_name) a->opt_option_name = "--passes";
        } else if (w[0] == '-' && w[1] == '-') {
            if (!takes_value(w)) return usage_error("unknown option '%s'", w);
            if (i + 1 >= argc) return usage_error("option '%s' needs a value", w);
            int st = parse_option(a, w, argv[++i]);
            if (st != EXIT_OK) return st;
        } else if (w[0] == '-' && w[1] != 0) {
            return usage_error("unknown option '%s'", w);
        } else if (!a->cmd) {
            a->cmd = w;
        } else if (!a->path) {
            a->path = w;
        } else {
            return usage_error("unexpected argument '%s'", w);
        }
    }
    if (!a->cmd) return usage_error("%s", "missing COMMAND");
    bool known = strcmp(a->cmd, "print") == 0 || strcmp(a->cmd, "check") == 0 || strcmp(a->cmd, "dot") == 0 ||
                 strcmp(a->cmd, "stats") == 0 || strcmp(a->cmd, "run") == 0 || strcmp(a->cmd, "opt") == 0;
    if (!known) return usage_error("unknown command '%s' (print, check, dot, stats, run, opt)", a->cmd);
    if (!a->path) return usage_error("%s: missing FILE.llir", a->cmd);
    if (a->run_option_seen && strcmp(a->cmd, "run") != 0)
        return usage_error("option '%s' is only for run", a->run_option_name);
    if (a->run.threads && !a->run.jit) return usage_error("%s", "--threads is for --jit runs (the interpreter is serial)");
    if (a->run.jit && a->run.precision == IR_PRECISION_F64)
        return usage_error("%s", "--jit computes in the graph's own dtypes; --dtype f64 is for the interpreter");
    if (a->opt_option_name && strcmp(a->cmd, "opt") != 0)
        return usage_error("option '%s' is only for opt", a->opt_option_name);
    if (strcmp(a->cmd, "opt") == 0) {
        if (!a->passes) return usage_error("%s", "opt: missing --passes=P1,P2,... (llmir --help lists them)");
        return check_passes(a->passes);
    }
    return EXIT_OK;
}

static void free_run_options(RunOptions *o) {
    for (uint32_t i = 0; i < o->n_inputs; i++) free((char *)o->inputs[i].name);
    free(o->inputs);
}

static int dispatch(const Args *a) {
    IrModule m = {0};
    if (!load_module(a->path, &m)) return EXIT_BAD_INPUT;
    int status = EXIT_BAD_INPUT;
    if (m.n_graphs == 0) {
        fprintf(stderr, "llmir: %s: contains no graphs\n", a->path);
    } else if (a->run.graph && !pick_graph(&m, a->run.graph)) {
        fprintf(stderr, "llmir: %s: no graph named @%s\n", a->path, a->run.graph);
    } else if (strcmp(a->cmd, "print") == 0) {
        status = cmd_print(&m);
    } else if (strcmp(a->cmd, "check") == 0) {
        status = EXIT_OK;
    } else if (strcmp(a->cmd, "dot") == 0) {
        status = cmd_dot(pick_graph(&m, a->run.graph));
    } else if (strcmp(a->cmd, "stats") == 0) {
        status = cmd_stats(&m);
    } else if (strcmp(a->cmd, "opt") == 0) {
        status = cmd_opt(&m, a->run.graph, a->passes, a->stats);
    } else {
        status = cmd_run(&m, &a->run);
    }
    ir_module_free(&m);
    return status;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fputs(usage_text, stderr);
        fputc('\n', stderr);
        print_passes(stderr);
        return EXIT_USAGE;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(usage_text, stdout);
            printf("\n");
            print_passes(stdout);
            return EXIT_OK;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("llmir (llmc) 0.1.0\n");
            return EXIT_OK;
        }
    }
    Args a = {.run = {.precision = IR_PRECISION_F32, .ranks = 0, .show = 8, .max_memory_gib = 8.0}};
    int status = parse_args(argc, argv, &a);
    if (status == EXIT_OK) status = dispatch(&a);
    free_run_options(&a.run);
    /* Output that could not be written is lost work: say so and fail. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "llmir: error writing standard output: %s\n", strerror(errno));
        return EXIT_BAD_INPUT;
    }
    return status;
}
