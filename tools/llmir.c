/* tools/llmir.c — llmir, the IR workbench (in the spirit of mlir-opt).
 *
 *   llmir print F.llir     parse, verify, print canonically
 *   llmir check F.llir     diagnostics only; exit 1 on error
 *   llmir dot F.llir       Graphviz
 *   llmir stats F.llir     op histogram, FLOPs, params, bytes
 *   llmir run F.llir ...   interpret with the reference interpreter
 *
 * Exit codes: 0 success, 1 bad input (file, parse, verify, run), 2 bad usage.
 * This file only parses arguments and formats results; everything it does is a call
 * into ir/ and runtime/.
 */
#include "ir.h"
#include "runtime.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

enum { EXIT_OK = 0, EXIT_BAD_INPUT = 1, EXIT_USAGE = 2 };

static const char *const usage_text =
    "usage: llmir COMMAND FILE.llir [options]\n"
    "\n"
    "Reads a .llir file (the llmc tensor IR; '-' reads stdin), verifies it and:\n"
    "  print   prints it canonically (print(parse(print(g))) is byte-identical)\n"
    "  check   reports diagnostics only; exit status 1 if there are errors\n"
    "  dot     prints Graphviz: llmir dot g.llir | dot -Tsvg > g.svg\n"
    "  stats   prints the op histogram, FLOPs, parameter count and bytes\n"
    "  run     interprets a graph and prints each output's type, checksum and first values\n"
    "\n"
    "run options:\n"
    "  --graph NAME              graph to run (default: the first in the file)\n"
    "  --seed N                  seed for inputs not given with --input (default 0):\n"
    "                            floats uniform in [-1,1), i32 within the range of the\n"
    "                            gather/onehot/scatter_add that uses them, else [0,10)\n"
    "  --input NAME=FILE         take input NAME from tensor NAME of a safetensors file\n"
    "                            (or its only tensor); repeatable\n"
    "  --input FILE              take every input whose name is a tensor in FILE\n"
    "  --dtype f32|f64           interpreter precision (default f32)\n"
    "  --ranks N                 simulated world size for collectives (default 1);\n"
    "                            data inputs differ per rank, params and state do not\n"
    "  --out FILE.safetensors    write the outputs (with --ranks N > 1 named rankR.NAME)\n"
    "  --show N                  values to print per output (default 8)\n"
    "\n"
    "other:\n"
    "  -h, --help                this text\n"
    "  --version                 version\n"
    "\n"
    "exit status: 0 success, 1 bad input, 2 bad usage\n";

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

/* Parses and verifies; prints diagnostics. Returns false on any error. */
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
    bool ok = ir_parse_module(&src, m, &diags);
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

static int cmd_dot(const IrModule *m) {
    for (uint32_t i = 0; i < m->n_graphs; i++) {
        LlmcBuf out = {0};
        ir_print_dot(m->graphs[i], &out);
        if (out.len) fwrite(out.data, 1, out.len, stdout);
        llmc_buf_free(&out);
    }
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
    InputSpec *inputs;
    uint32_t n_inputs;
} RunOptions;

/* The exclusive upper bound for random values of an i32 input: the range of the first
 * index operand it feeds, so `llmir run --seed` works on graphs that gather. */
static int64_t index_bound(const IrGraph *g, IrId input) {
    for (IrId id = input + 1; id < g->n_nodes; id++) {
        const IrNode *n = &g->nodes[id];
        if (n->op == IR_OP_GATHER && n->operands[1] == input)
            return g->nodes[n->operands[0]].type.dims[n->attrs.gather.axis];
        if (n->op == IR_OP_SCATTER_ADD && n->operands[0] == input) return n->type.dims[n->attrs.gather.axis];
        if (n->op == IR_OP_ONEHOT && n->operands[0] == input) return n->type.dims[n->type.rank - 1];
    }
    return 10;
}

static void fill_random(const IrGraph *g, IrId id, uint32_t input_index, uint32_t seed, uint32_t rank, IrValue *v) {
    const IrNode *n = &g->nodes[id];
    /* Data differs per rank, as each rank reads its own micro-batches; params and state
     * are replicated. */
    uint32_t stream = n->attrs.input.role == IR_ROLE_DATA ? rank : 0;
    int64_t bound = n->type.dtype == IR_DTYPE_I32 ? index_bound(g, id) : 0;
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
        unsigned char bytes[8];
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
    printf("%s%s: %s  fnv1a=%016" PRIx64 "  sum=%.9g\n  [", prefix, name, ir_type_format(&v->type, t, sizeof t),
           value_checksum(v), sum);
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

static int cmd_run(const IrModule *m, const RunOptions *o) {
    const IrGraph *g = pick_graph(m, o->graph);
    if (!g) {
        fprintf(stderr, "llmir: no graph named @%s in the file\n", o->graph ? o->graph : "?");
        return EXIT_BAD_INPUT;
    }
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
    for (uint32_t k = 0; k < o->n_inputs; k++)
        if (o->inputs[k].name && ir_graph_find_input(g, o->inputs[k].name) == IR_ID_NONE) {
            fprintf(stderr, "llmir: --input %s=%s: graph @%s has no input named '%s'\n", o->inputs[k].name,
                    o->inputs[k].file, ir_graph_name(g), o->inputs[k].name);
            goto done;
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
    IrInterpOptions opt = {.precision = o->precision, .ranks = o->ranks};
    LlmcErr err = {0};
    if (!ir_interp_run(g, &opt, ins, outs, &err)) {
        fprintf(stderr, "llmir: run @%s: %s\n", ir_graph_name(g), err.msg);
        goto done;
    }
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

/* --- arguments ----------------------------------------------------------------------- */

static bool parse_uint(const char *s, uint32_t lo, uint32_t hi, uint32_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi) return false;
    *out = (uint32_t)v;
    return true;
}

/* Parses run options from argv[i..]; returns EXIT_OK or EXIT_USAGE (printed). */
static int parse_run_options(int argc, char **argv, int i, RunOptions *o) {
    for (; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes_value = strcmp(a, "--seed") == 0 || strcmp(a, "--input") == 0 || strcmp(a, "--dtype") == 0 ||
                           strcmp(a, "--ranks") == 0 || strcmp(a, "--out") == 0 || strcmp(a, "--graph") == 0 ||
                           strcmp(a, "--show") == 0;
        if (!takes_value) return usage_error("unknown option '%s' for run", a);
        if (!v) return usage_error("option '%s' needs a value", a);
        i++;
        if (strcmp(a, "--seed") == 0) {
            if (!parse_uint(v, 0, UINT32_MAX, &o->seed)) return usage_error("--seed needs an integer in [0, 2^32), got '%s'", v);
        } else if (strcmp(a, "--ranks") == 0) {
            if (!parse_uint(v, 1, 1024, &o->ranks)) return usage_error("--ranks needs an integer in [1, 1024], got '%s'", v);
        } else if (strcmp(a, "--show") == 0) {
            if (!parse_uint(v, 0, 1u << 30, &o->show)) return usage_error("--show needs a count, got '%s'", v);
        } else if (strcmp(a, "--dtype") == 0) {
            if (strcmp(v, "f32") == 0)
                o->precision = IR_PRECISION_F32;
            else if (strcmp(v, "f64") == 0)
                o->precision = IR_PRECISION_F64;
            else
                return usage_error("--dtype must be f32 or f64, got '%s'", v);
        } else if (strcmp(a, "--out") == 0) {
            o->out = v;
        } else if (strcmp(a, "--graph") == 0) {
            o->graph = v[0] == '@' ? v + 1 : v;
        } else { /* --input */
            const char *eq = strchr(v, '=');
            o->inputs = llmc_xrealloc(o->inputs, (o->n_inputs + 1) * sizeof *o->inputs);
            InputSpec *s = &o->inputs[o->n_inputs++];
            if (eq) {
                if (eq == v || !eq[1]) return usage_error("--input needs NAME=FILE or FILE, got '%s'", v);
                char *name = llmc_xmalloc((size_t)(eq - v) + 1);
                memcpy(name, v, (size_t)(eq - v));
                name[eq - v] = 0;
                s->name = name;
                s->file = eq + 1;
            } else {
                s->name = NULL;
                s->file = v;
            }
        }
    }
    return EXIT_OK;
}

static void free_run_options(RunOptions *o) {
    for (uint32_t i = 0; i < o->n_inputs; i++) free((char *)o->inputs[i].name);
    free(o->inputs);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(usage_text, stdout);
            return EXIT_OK;
        }
    if (strcmp(argv[1], "--version") == 0) {
        printf("llmir (llmc) 0.1.0\n");
        return EXIT_OK;
    }
    const char *cmd = argv[1];
    bool known = strcmp(cmd, "print") == 0 || strcmp(cmd, "check") == 0 || strcmp(cmd, "dot") == 0 ||
                 strcmp(cmd, "stats") == 0 || strcmp(cmd, "run") == 0;
    if (!known) return usage_error("unknown command '%s' (print, check, dot, stats, run)", cmd);
    if (argc < 3) return usage_error("%s: missing FILE.llir", cmd);
    const char *path = argv[2];
    RunOptions ro = {.precision = IR_PRECISION_F32, .ranks = 1, .show = 8};
    if (strcmp(cmd, "run") == 0) {
        int st = parse_run_options(argc, argv, 3, &ro);
        if (st != EXIT_OK) {
            free_run_options(&ro);
            return st;
        }
    } else if (argc > 3) {
        return usage_error("unexpected argument '%s'", argv[3]);
    }
    IrModule m = {0};
    int status;
    if (!load_module(path, &m)) {
        status = EXIT_BAD_INPUT;
    } else if (strcmp(cmd, "print") == 0) {
        status = cmd_print(&m);
    } else if (strcmp(cmd, "check") == 0) {
        status = EXIT_OK;
    } else if (strcmp(cmd, "dot") == 0) {
        status = cmd_dot(&m);
    } else if (strcmp(cmd, "stats") == 0) {
        status = cmd_stats(&m);
    } else {
        status = cmd_run(&m, &ro);
    }
    ir_module_free(&m);
    free_run_options(&ro);
    return status;
}
