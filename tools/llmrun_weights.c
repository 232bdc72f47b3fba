/* tools/llmrun_weights.c — weights interchange: `llmrun export` and `--init FILE`.
 *
 * export: a checkpoint's params — its tensors minus the optimizer state ("opt.m.*",
 * "opt.v.*"), the step counter, the seed and the recipe inputs ("hp.*") — written as
 * one safetensors file under their DESIGN §4 names ("layers.0.attn.wq"), in the
 * checkpoint's order, with __metadata__ {format: "llmc-weights", model_hash, step}.
 * The write is atomic (rt_safetensors_write). Exporting the same params gives the same
 * bytes.
 *
 * --init (and its spelling `llmrun import FILE MODEL ...`): a run's initial params from
 * such a file instead of @init. The file must hold exactly the model's params, each with
 * the model's dtype and shape; a missing, extra or mismatched tensor is an error that
 * names it. Nothing converts dtypes or reshapes, and no optimizer state is read: the
 * run starts at step 0 with fresh moments. A model_hash in the metadata that is not the
 * model's only warns (the same names and shapes may come from a related model).
 */
#include "compiler.h"
#include "llmrun.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WEIGHTS_FORMAT "llmc-weights"

enum { EXIT_OK = 0, EXIT_BAD_INPUT = 1, EXIT_USAGE = 2 };

static const char *const export_usage =
    "usage: llmrun export RUN_DIR|CKPT_DIR -o MODEL.safetensors\n"
    "\n"
    "Writes the params of a checkpoint (RUN_DIR's latest, or the checkpoint folder given)\n"
    "as safetensors, by their parameter names, without the optimizer state; the metadata\n"
    "holds format \"" WEIGHTS_FORMAT "\", model_hash and step. `llmrun MODEL --init FILE ...`\n"
    "(or `llmrun import FILE MODEL ...`) starts a run from such a file.\n"
    "\n"
    "exit status: 0 done, 1 bad input, 2 bad usage\n";

/* Training state that is not a param: optimizer moments, the step counter, and what a
 * run takes from its recipe (hp.*, the seed). */
static bool is_param(const char *name) {
    return strncmp(name, CC_ADAM_M_PREFIX, strlen(CC_ADAM_M_PREFIX)) != 0 &&
           strncmp(name, CC_ADAM_V_PREFIX, strlen(CC_ADAM_V_PREFIX)) != 0 && strcmp(name, CC_STEP) != 0 &&
           strcmp(name, "seed") != 0 && strncmp(name, "hp.", 3) != 0;
}

static int export_usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "llmrun export: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'llmrun export --help'.\n");
    return EXIT_USAGE;
}

int llmrun_export_main(int argc, char **argv) {
    const char *in = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(export_usage, stdout);
            return EXIT_OK;
        } else if (strcmp(a, "-o") == 0) {
            if (i + 1 >= argc) return export_usage_error("option '%s' needs a value", a);
            out = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            return export_usage_error("unknown option '%s'", a);
        } else if (in) {
            return export_usage_error("more than one checkpoint ('%s')", a);
        } else {
            in = a;
        }
    }
    if (!in) return export_usage_error("%s", "missing RUN_DIR or CKPT_DIR");
    if (!out) return export_usage_error("%s", "missing -o MODEL.safetensors");

    RtCkpt ck = {0};
    LlmcErr err = {0};
    if (!rt_ckpt_load(in, &ck, &err)) {
        fprintf(stderr, "llmrun export: %s\n", err.msg);
        return EXIT_BAD_INPUT;
    }
    RtTensor *ts = llmc_xcalloc(ck.state.count + 1, sizeof *ts);
    uint32_t n = 0;
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < ck.state.count; i++)
        if (is_param(ck.state.tensors[i].name)) {
            ts[n++] = ck.state.tensors[i]; /* borrowed: name and data stay the checkpoint's */
            bytes += ck.state.tensors[i].nbytes;
        }
    char step[32];
    snprintf(step, sizeof step, "%" PRId64, ck.meta.step);
    const char *keys[] = {"format", "model_hash", "step"};
    const char *values[] = {WEIGHTS_FORMAT, ck.meta.model_hash, step};
    bool ok = n > 0;
    if (!ok) llmc_err_set(&err, "%s: the checkpoint holds no params", ck.dir);
    ok = ok && rt_safetensors_write(out, ts, n, keys, values, 3, &err);
    if (ok)
        fprintf(stderr, "llmrun export: %u params (%.2f MB) of %s (step %" PRId64 ") -> %s\n", n, bytes / 1e6, ck.dir,
                ck.meta.step, out);
    else
        fprintf(stderr, "llmrun export: %s\n", err.msg);
    free(ts);
    rt_ckpt_free(&ck);
    return ok ? EXIT_OK : EXIT_BAD_INPUT;
}

char **llmrun_import_argv(int *argc, char **argv) {
    if (*argc < 3 || strcmp(argv[2], "-h") == 0 || strcmp(argv[2], "--help") == 0) {
        fprintf(stderr, "usage: llmrun import MODEL.safetensors MODEL.llmc|MODEL.llm --data DIR --out RUN_DIR "
                        "[options]\n(the same as `llmrun MODEL ... --init MODEL.safetensors`)\n");
        return NULL;
    }
    /* argv[0] MODEL ARGS... --init FILE */
    char **nv = llmc_xcalloc((size_t)*argc + 1, sizeof *nv);
    int n = 0;
    nv[n++] = argv[0];
    for (int i = 3; i < *argc; i++) nv[n++] = argv[i];
    nv[n++] = "--init";
    nv[n++] = argv[2];
    nv[n] = NULL;
    *argc = n;
    return nv;
}

/* The model's param `name` (an output of @init), or NULL. */
static const IrNode *init_param(const IrGraph *init, const char *name) {
    for (uint32_t o = 0; o < init->n_outputs; o++)
        if (strcmp(ir_graph_str(init, init->outputs[o].name), name) == 0) return &init->nodes[init->outputs[o].node];
    return NULL;
}

bool llmrun_weights_open(const char *path, const IrGraph *init, const char *model_hash, RtSafetensors *out,
                         LlmcErr *err) {
    if (!rt_safetensors_read(path, out, err)) return false;
    bool ok = true;
    char a[IR_TYPE_STR_MAX], b[IR_TYPE_STR_MAX];
    /* the model's params, in its order: each present, with its type */
    for (uint32_t o = 0; ok && o < init->n_outputs; o++) {
        const char *name = ir_graph_str(init, init->outputs[o].name);
        const IrType *want = &init->nodes[init->outputs[o].node].type;
        const RtTensor *x = rt_safetensors_find(out, name);
        if (!x) {
            llmc_err_set(err, "%s: the model's param '%s' (%s) is missing", path, name, ir_type_format(want, a, sizeof a));
            ok = false;
        } else if (!ir_type_equal(&x->type, want)) {
            llmc_err_set(err, "%s: tensor '%s' is %s, the model's is %s", path, name, ir_type_format(&x->type, a, sizeof a),
                         ir_type_format(want, b, sizeof b));
            ok = false;
        }
    }
    /* nothing else */
    for (uint32_t i = 0; ok && i < out->count; i++)
        if (!init_param(init, out->tensors[i].name)) {
            llmc_err_set(err, "%s: tensor '%s' (%s) is not a param of the model", path, out->tensors[i].name,
                         ir_type_format(&out->tensors[i].type, a, sizeof a));
            ok = false;
        }
    if (!ok) {
        rt_safetensors_free(out);
        memset(out, 0, sizeof *out);
        return false;
    }
    const char *format = NULL, *hash = NULL;
    for (uint32_t i = 0; i < out->n_meta; i++) {
        if (strcmp(out->meta_keys[i], "format") == 0) format = out->meta_values[i];
        if (strcmp(out->meta_keys[i], "model_hash") == 0) hash = out->meta_values[i];
    }
    if (format && strcmp(format, WEIGHTS_FORMAT) == 0 && hash && model_hash && strcmp(hash, model_hash) != 0)
        fprintf(stderr, "llmrun: warning: %s was exported from another model (hash %s, this model %s); its params "
                        "match by name and shape\n",
                path, hash, model_hash);
    return true;
}
