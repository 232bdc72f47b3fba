/* tools/llmc_plan.c — `llmc plan`: what a training run costs and what it should achieve,
 * before any compute is spent.
 *
 *   llmc plan MODEL.llm [-D NAME=VALUE]... [--budget FLOPS | --hours H] [--ranks N]
 *             [--data-tokens D | --data DIR] [--law NAME|FIT.json]
 *             [--metrics RUN_DIR | --calibrate] [--threads N] [--json]
 *
 * The report, in order:
 *   1. the model: parameters with and without embeddings, tokens per optimizer step;
 *   2. exact costs counted from the compiled training step (cc_step_flops): useful FLOPs
 *      (every matmul of forward and backward, attention included, MoE experts as routed)
 *      per token and per step, all arithmetic per step, and 6N next to the exact count
 *      with the difference taken apart: attention's T-dependent matmuls, which 6N leaves
 *      out, against the parameters no matmul multiplies (embedding lookups, biases,
 *      norms, experts a token is not routed to), which 6N counts;
 *   3. per-rank memory and bytes sent per step for each sharding strategy, from the shard
 *      pass and its report (cc_shard_step, cc_shard_report: what `llmc --emit=sharded`
 *      prints), at --ranks N or at 1, 2 and 4;
 *   4. time: measured throughput (--metrics of a run, or --calibrate) turned into seconds
 *      per step, the train block's length and the budget's;
 *   5. compute-optimal sizing under C = 6 N D for a law L(N, D) = E + A/N^alpha + B/D^beta
 *      (tools/scaling.h): N_opt, D_opt, their loss and D/N; this model at C; the train
 *      block as written;
 *   6. data: unique tokens against the D planned, with a repetition warning;
 *   7. shapes of the model's family near N_opt (llmc_plan_suggest.c).
 * N is every parameter, embeddings included, as Hoffmann et al. count it (their law and
 * Besiroglu et al.'s refit are in those units).
 *
 * Exit codes: 0 done, 1 bad input (model, files, a calibration that fails), 2 bad usage
 * (options, numbers, an unknown law name). Deliberately not here: printing
 * (llmc_plan_report.c), measuring (llmc_plan_measure.c), the configs' search
 * (llmc_plan_suggest.c), running anything on several ranks, fitting laws (llmsweep fit).
 */
#include "llmc_plan.h"
#include "llmc_plan_int.h"
#include "subcmd.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum { EXIT_OK = 0, EXIT_BAD_INPUT = 1, EXIT_USAGE = 2 };

static const char *const usage_text =
    "usage: llmc plan MODEL.llm [options]\n"
    "\n"
    "What training MODEL costs and what it should achieve: parameters, exact FLOPs from\n"
    "the compiled step (next to 6N), memory and communication per rank for each sharding\n"
    "strategy, time from measured throughput, compute-optimal sizing for a budget under a\n"
    "scaling law, data repetition, and configs of the model's family near the optimum.\n"
    "\n"
    "options:\n"
    "  -D NAME=VALUE       override a top-level value of the model or train block\n"
    "                      (repeatable), as for llmc\n"
    "  --budget FLOPS      the compute budget C (e.g. 1e21), in 6*N*D FLOPs; default: the\n"
    "                      train block's own 6*N*D\n"
    "  --hours H           the budget as H hours at the measured throughput (needs\n"
    "                      --metrics or --calibrate)\n"
    "  --ranks N           memory and communication on N ranks (default: 1, 2 and 4)\n"
    "  --data-tokens D     unique tokens available (e.g. 3e9)\n"
    "  --data DIR          ... counted in DIR's token shards (*.shard)\n"
    "  --law LAW           besiroglu (Besiroglu et al. 2024, the default), hoffmann\n"
    "                      (Hoffmann et al. 2022), or FIT.json written by llmsweep fit\n"
    "  --metrics RUN       throughput from a run of llmrun: RUN_DIR or its metrics.jsonl\n"
    "                      (the median step after the first two)\n"
    "  --calibrate         measure it: 5 steps of MODEL here on random tokens, the last 3\n"
    "                      timed (more when steps take milliseconds); cached in the kernel cache directory ($LLMC_CACHE_DIR,\n"
    "                      else $XDG_CACHE_HOME/llmc, else ~/.cache/llmc) per model,\n"
    "                      overrides, threads and CPU\n"
    "  --threads N         threads for --calibrate (default: every core)\n"
    "  --json              the report as one JSON object\n"
    "  -h, --help          this text\n"
    "\n"
    "exit status: 0 success, 1 bad input, 2 bad usage\n";

static int usage_error(const char *fmt, const char *arg) { return subcmd_usage_error("llmc plan", NULL, fmt, arg); }

/* The whole of s as a finite number in [lo, hi]. */
static bool parse_f64(const char *s, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) return false;
    *out = v;
    return true;
}

static int add_override(PlanOptions *o, const char *arg) {
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1]) return usage_error("-D needs NAME=VALUE, got '%s'", arg);
    o->ov = llmc_xrealloc(o->ov, (o->n_ov + 1) * sizeof *o->ov);
    char *name = llmc_xmalloc((size_t)(eq - arg) + 1);
    memcpy(name, arg, (size_t)(eq - arg));
    name[eq - arg] = 0;
    o->ov[o->n_ov++] = (FeOverride){name, eq + 1};
    return EXIT_OK;
}

static int parse_args(int argc, char **argv, PlanOptions *o) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool takes = strcmp(a, "--budget") == 0 || strcmp(a, "--hours") == 0 || strcmp(a, "--ranks") == 0 ||
                     strcmp(a, "--data-tokens") == 0 || strcmp(a, "--data") == 0 || strcmp(a, "--law") == 0 ||
                     strcmp(a, "--metrics") == 0 || strcmp(a, "--threads") == 0 || strcmp(a, "-D") == 0;
        if (takes && i + 1 >= argc) return usage_error("%s needs a value", a);
        const char *v = takes ? argv[++i] : NULL;
        double x;
        if (strcmp(a, "--budget") == 0) {
            if (!parse_f64(v, 1, 1e40, &o->budget))
                return usage_error("--budget needs a number of FLOPs from 1 to 1e40 (e.g. 1e21), got '%s'", v);
        } else if (strcmp(a, "--hours") == 0) {
            if (!parse_f64(v, 1e-6, 1e8, &o->hours) || o->hours <= 0)
                return usage_error("--hours needs a positive number of hours, got '%s'", v);
        } else if (strcmp(a, "--ranks") == 0) {
            if (!parse_f64(v, 1, 65536, &x) || x != floor(x))
                return usage_error("--ranks needs a number of ranks from 1 to 65536, got '%s'", v);
            o->ranks = (uint32_t)x;
        } else if (strcmp(a, "--data-tokens") == 0) {
            if (!parse_f64(v, 1, 1e18, &o->data_tokens))
                return usage_error("--data-tokens needs a number of tokens from 1 to 1e18 (e.g. 3e9), got '%s'", v);
            o->data_tokens = floor(o->data_tokens);
        } else if (strcmp(a, "--threads") == 0) {
            if (!parse_f64(v, 1, 4096, &x) || x != floor(x))
                return usage_error("--threads needs a number of threads from 1 to 4096, got '%s'", v);
            o->threads = (uint32_t)x;
        } else if (strcmp(a, "--data") == 0) {
            o->data_dir = v;
        } else if (strcmp(a, "--law") == 0) {
            o->law = v;
        } else if (strcmp(a, "--metrics") == 0) {
            o->metrics = v;
        } else if (strcmp(a, "--calibrate") == 0) {
            o->calibrate = true;
        } else if (strcmp(a, "--json") == 0) {
            o->json = true;
        } else if (strcmp(a, "-D") == 0) {
            int st = add_override(o, v);
            if (st != EXIT_OK) return st;
        } else if (strncmp(a, "-D", 2) == 0) {
            int st = add_override(o, a + 2);
            if (st != EXIT_OK) return st;
        } else if (a[0] == '-' && a[1] != 0) {
            return usage_error("unknown option '%s'", a);
        } else if (o->path) {
            return usage_error("more than one model ('%s')", a);
        } else {
            o->path = a;
        }
    }
    if (!o->path) return usage_error("%s", "missing MODEL.llm");
    if (o->budget && o->hours) return usage_error("%s", "choose one of --budget and --hours");
    if (o->data_tokens && o->data_dir) return usage_error("%s", "choose one of --data-tokens and --data");
    if (o->metrics && o->calibrate) return usage_error("%s", "choose one of --metrics and --calibrate");
    if (o->hours && !o->metrics && !o->calibrate)
        return usage_error("%s", "--hours needs a measured throughput: add --calibrate or --metrics RUN_DIR");
    if (o->threads && !o->calibrate) return usage_error("%s", "--threads goes with --calibrate");
    return EXIT_OK;
}

/* --law: a published law by name, or a fit's JSON. A value that names no law and no
 * file is a usage error (2); a file that cannot be read as a fit is bad input (1). */
static int resolve_law(const char *name, SlLaw *law, char *label, size_t cap) {
    const char *n = name ? name : "besiroglu";
    const SlLaw *known = sl_law_named(n);
    if (known) {
        *law = *known;
        bool hoff = known->E == SL_HOFFMANN_2022.E && known->A == SL_HOFFMANN_2022.A;
        snprintf(label, cap, "%s", hoff ? "Hoffmann et al. 2022" : "Besiroglu et al. 2024");
        return EXIT_OK;
    }
    FILE *f = fopen(n, "r");
    size_t len = strlen(n);
    bool file_like = f || strchr(n, '/') || (len > 5 && strcmp(n + len - 5, ".json") == 0);
    if (f) fclose(f);
    if (!file_like)
        return usage_error("unknown law '%s' for --law (besiroglu, hoffmann, or a FIT.json of llmsweep fit)", n);
    SlFit fit;
    char err[512] = "";
    if (!sl_fit_read(n, &fit, err, sizeof err)) {
        fprintf(stderr, "llmc plan: %s\n", err[0] ? err : n);
        return EXIT_BAD_INPUT;
    }
    *law = fit.law;
    if (fit.points > 0) snprintf(label, cap, "the fit %s (%d runs)", n, fit.points);
    else snprintf(label, cap, "the fit %s", n);
    return EXIT_OK;
}

/* --- the model ------------------------------------------------------------------------ */

/* Whether value id is a param seen through movement (a weight, not an activation). */
static bool reads_param(const IrGraph *g, IrId id) {
    for (int hops = 0; hops < 16; hops++) {
        const IrNode *n = ir_graph_node(g, id);
        if (n->op == IR_OP_INPUT) return n->attrs.input.role == IR_ROLE_PARAM;
        if (n->op != IR_OP_RESHAPE && n->op != IR_OP_PERMUTE && n->op != IR_OP_BROADCAST && n->op != IR_OP_SLICE &&
            n->op != IR_OP_CAST)
            return false;
        id = n->operands[0];
    }
    return false;
}

/* --- the plan ------------------------------------------------------------------------- */

static void warn(Plan *pl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(Plan *pl, const char *fmt, ...) {
    if (pl->n_warn == PLAN_MAX_WARN) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pl->warn[pl->n_warn++], sizeof pl->warn[0], fmt, ap);
    va_end(ap);
}

/* The exact costs: cc_step_flops over the step, the forward's matmuls split into weight
 * matmuls (a param operand) and the rest (attention's QK^T and PV). */
static void exact_costs(Plan *pl, const IrGraph *fwd, const CcTrainStep *step) {
    pl->f = cc_step_flops(step);
    double tokens_micro = (double)(fwd->train.batch * fwd->train.seq);
    double weight = 0, attn = 0;
    for (IrId id = 0; id < fwd->n_nodes; id++) {
        double u = cc_node_useful_flops(fwd, id);
        if (u == 0) continue;
        const IrNode *n = ir_graph_node(fwd, id);
        bool w = n->op == IR_OP_MATMUL && (reads_param(fwd, n->operands[0]) || reads_param(fwd, n->operands[1]));
        if (w) weight += u;
        else attn += u;
    }
    pl->weight_tok = weight / tokens_micro;
    pl->attn_tok = attn / tokens_micro;
    pl->forward_tok = pl->weight_tok + pl->attn_tok;
    pl->useful_tok = pl->f.step_useful / (double)pl->f.tokens_per_step;
    pl->six_n_tok = 6.0 * (double)pl->params;
    pl->all_step = (pl->f.micro_matmul + pl->f.micro_other) * (double)pl->accumulate + pl->f.update;
}

/* "//   LABEL   123 B ..." of a cc_shard_report: the number; false if absent. The report is
 * the one place that counts a sharded step's bytes as runtime/comm.c sends them (rank 0's)
 * and its memory per rank; compiler.h offers the bytes only as those lines, so the plan
 * reads them back (fixed labels: a change there fails test_llmc_plan, never silently). */
static bool report_value(const char *text, const char *label, uint64_t *out) {
    size_t ll = strlen(label);
    for (const char *p = text; p && *p;) {
        if (strncmp(p, "//   ", 5) == 0 && strncmp(p + 5, label, ll) == 0 && p[5 + ll] == ' ') {
            const char *q = p + 5 + ll;
            while (*q == ' ') q++;
            char *end;
            unsigned long long v = strtoull(q, &end, 10);
            if (end != q && strncmp(end, " B", 2) == 0) {
                *out = v;
                return true;
            }
        }
        p = strchr(p, '\n');
        if (p) p++;
    }
    return false;
}

/* One memory row from the shard pass and its report. */
static void mem_row(const CcTrainStep *step, uint32_t ranks, CcShard s, PlanMemRow *r) {
    memset(r, 0, sizeof *r);
    r->ranks = ranks, r->strategy = s;
    CcTrainStep sh = {0};
    CcShardPlan plan = {0};
    LlmcBuf rep = {0};
    LlmcErr err = {0};
    r->ok = cc_shard_step(step, s, ranks, &sh, &plan, &err) && cc_shard_report(&sh, &plan, &rep, &err);
    if (r->ok) {
        r->ok = report_value(rep.data, "params", &r->params) && report_value(rep.data, "grads", &r->grads) &&
                report_value(rep.data, "optimizer", &r->optimizer) &&
                report_value(rep.data, "arena @micro", &r->arena_micro) &&
                report_value(rep.data, "arena @update", &r->arena_update) && report_value(rep.data, "peak", &r->peak) &&
                report_value(rep.data, "per optimizer step", &r->sent_step);
        if (!r->ok) snprintf(r->why, sizeof r->why, "internal error: the shard report's lines were not found");
    } else {
        /* "cannot shard for 2 ranks: the number ..." -> "the number ..." */
        const char *m = err.msg, *colon = strstr(m, "ranks: ");
        snprintf(r->why, sizeof r->why, "%s", strncmp(m, "cannot shard for", 16) == 0 && colon ? colon + 7 : m);
    }
    llmc_buf_free(&rep);
    cc_shard_plan_free(&plan);
    cc_train_step_free(&sh);
}

static void memory_table(Plan *pl, const CcTrainStep *step, uint32_t ranks) {
    uint32_t list[3] = {ranks, 0, 0}, n = 1;
    if (ranks <= 1) list[0] = 1, list[1] = 2, list[2] = 4, n = 3;
    for (uint32_t i = 0; i < n; i++) {
        if (list[i] == 1) { /* one rank: no strategy changes anything but padding */
            mem_row(step, 1, CC_SHARD_NONE, &pl->rows[pl->n_rows]);
            pl->rows[pl->n_rows++].strategy = CC_SHARD_INVALID;
            continue;
        }
        PlanMemRow r[3];
        for (int s = 0; s < 3; s++) mem_row(step, list[i], (CcShard)(CC_SHARD_NONE + s), &r[s]);
        if (!r[0].ok && !r[1].ok && !r[2].ok && strcmp(r[0].why, r[1].why) == 0 && strcmp(r[1].why, r[2].why) == 0) {
            pl->rows[pl->n_rows] = r[0];
            pl->rows[pl->n_rows++].strategy = CC_SHARD_INVALID;
        } else {
            for (int s = 0; s < 3; s++) pl->rows[pl->n_rows++] = r[s];
        }
    }
}

/* Sizing: the budget, the optimum, this model at it, the train block as written. */
static void sizing(Plan *pl, const PlanOptions *o) {
    double N = (double)pl->params;
    pl->d_train = (double)pl->steps * (double)pl->tokens_step;
    pl->l_train = sl_loss(&pl->law, N, pl->d_train);
    if (o->budget) {
        pl->C = o->budget;
        snprintf(pl->C_source, sizeof pl->C_source, "--budget");
    } else if (o->hours && pl->tp.have) {
        /* H hours of this machine, in 6N FLOPs: D = H h x tokens/s for this model */
        pl->C = o->hours * 3600.0 * pl->tp.tokens_per_s * 6.0 * N;
        snprintf(pl->C_source, sizeof pl->C_source, "--hours %g at the measured %.4g tokens/s", o->hours,
                 pl->tp.tokens_per_s);
    } else {
        pl->C = 6.0 * N * pl->d_train;
        snprintf(pl->C_source, sizeof pl->C_source, "no --budget: the train block's");
    }
    sl_optimal(&pl->law, pl->C, &pl->n_opt, &pl->d_opt);
    pl->l_opt = sl_loss(&pl->law, pl->n_opt, pl->d_opt);
    pl->d_this = pl->C / (6.0 * N);
    pl->l_this = sl_loss(&pl->law, N, pl->d_this);
}

static void data_warnings(Plan *pl) {
    if (!pl->have_data) return;
    struct {
        const char *what;
        double D;
    } ds[3] = {{"the train block's D", pl->d_train}, {"D_opt", pl->d_opt}, {"this model's D at the budget", pl->d_this}};
    for (int i = 0; i < 3; i++) {
        if (i == 2 && !strstr(pl->C_source, "--")) continue; /* the train block's again */
        if (ds[i].D <= pl->unique) continue;
        warn(pl,
             "%s = %.3g tokens is %.1f epochs of the %.4g unique tokens: repeated data is worth less (Muennighoff et "
             "al. 2023: up to ~4 epochs about as good as new data, fast diminishing returns beyond)",
             ds[i].what, ds[i].D, ds[i].D / pl->unique, pl->unique);
    }
}

/* --- main ----------------------------------------------------------------------------- */

static int run(const PlanOptions *o) {
    Plan *pl = llmc_xcalloc(1, sizeof *pl);
    pl->path = o->path;
    int status = resolve_law(o->law, &pl->law, pl->law_label, sizeof pl->law_label);
    if (status != EXIT_OK) {
        free(pl);
        return status;
    }
    status = EXIT_BAD_INPUT;
    char *text = NULL;
    size_t len = 0;
    LlmcErr err = {0};
    LlmcDiags diags = {0};
    IrModule m = {0};
    FeProgram *p = NULL;
    CcTrainStep step = {0};
    if (!llmc_file_read(o->path, &text, &len, &err)) {
        fprintf(stderr, "llmc plan: %s\n", err.msg);
        goto done;
    }
    LlmcSource src = {o->path, text, len};
    FeLowerOptions lo = {o->ov, o->n_ov};
    if (!(p = fe_parse(&src, &diags)) || !fe_lower(p, &lo, &m, &diags)) goto done;
    const IrGraph *fwd = m.graphs[0];
    const IrTrainConfig *t = &fwd->train;
    pl->model = ir_graph_str(fwd, t->model);
    pl->params = cc_param_count(fwd, &pl->embedding);
    pl->batch = t->batch, pl->seq = t->seq, pl->accumulate = t->accumulate, pl->steps = t->steps;
    pl->warmup = t->warmup;
    pl->tokens_step = t->batch * t->seq * t->accumulate;
    if (!pl->params) {
        fprintf(stderr, "llmc plan: %s: the model has no parameters to plan for\n", o->path);
        goto done;
    }
    if (!cc_train_step_build(&m, &step, &err)) {
        fprintf(stderr, "llmc plan: %s: %s\n", o->path, err.msg);
        goto done;
    }
    exact_costs(pl, fwd, &step);
    memory_table(pl, &step, o->ranks);

    if (o->data_dir) {
        int64_t vocab = 0;
        for (IrId id = 0; id < fwd->n_nodes && !vocab; id++)
            if (fwd->nodes[id].op == IR_OP_GATHER) vocab = fwd->nodes[fwd->nodes[id].operands[0]].type.dims[0];
        uint64_t tokens = 0;
        if (!vocab) {
            fprintf(stderr, "llmc plan: %s: the model has no token embedding (a gathered param) to read data for\n",
                    o->path);
            goto done;
        }
        if (!plan_data_count(o->data_dir, (uint32_t)vocab, &tokens, &pl->shards, &err)) {
            fprintf(stderr, "llmc plan: %s\n", err.msg);
            goto done;
        }
        pl->have_data = true, pl->unique = (double)tokens, pl->data_dir = o->data_dir;
    } else if (o->data_tokens) {
        pl->have_data = true, pl->unique = o->data_tokens;
    }

    if (o->metrics) {
        if (!plan_metrics_read(o->metrics, &pl->tp, &err)) {
            fprintf(stderr, "llmc plan: %s\n", err.msg);
            goto done;
        }
        if (pl->tp.run_tokens_per_step && pl->tp.run_tokens_per_step != pl->tokens_step)
            warn(pl, "the run's steps had %lld tokens, this plan's %lld: its tokens/s carry over only roughly",
                 (long long)pl->tp.run_tokens_per_step, (long long)pl->tokens_step);
        uint64_t hash = 0;
        IrModule arch = {0};
        LlmcDiags d2 = {0};
        if (pl->tp.run_model_hash[0] && fe_lower_architecture(p, &lo, &arch, &d2) && arch.n_graphs) {
            hash = rt_model_hash(arch.graphs[0]);
            char hex[17];
            snprintf(hex, sizeof hex, "%016llx", (unsigned long long)hash);
            if (strcmp(hex, pl->tp.run_model_hash) != 0)
                warn(pl, "the run trained another model (hash %s; this one's is %s): its throughput is only a guide",
                     pl->tp.run_model_hash, hex);
        }
        ir_module_free(&arch);
        llmc_diags_free(&d2);
    } else if (o->calibrate) {
        const PlanMemRow *one = &pl->rows[0]; /* one rank: what the trainer allocates, grads twice */
        uint64_t need = one->ok ? one->params + one->optimizer + 2 * one->grads + one->arena_micro + one->arena_update : 0;
        if (!plan_calibrate(&step, text, len, o->ov, o->n_ov, o->threads, need, &pl->tp, &err)) {
            fprintf(stderr, "llmc plan: %s: %s\n", o->path, err.msg);
            goto done;
        }
    }

    sizing(pl, o);
    for (IrId id = 0; id < fwd->n_nodes; id++)
        if (fwd->nodes[id].op == IR_OP_TOPK) {
            warn(pl, "a MoE model: the laws are fits to dense models, and N counts every expert (%.0f parameters "
                     "per token are multiplied, %.0f exist)", pl->weight_tok / 2.0, (double)pl->params);
            break;
        }
    data_warnings(pl);
    plan_suggest(p, o->ov, o->n_ov, pl->n_opt, &pl->sug);
    if (o->json) plan_print_json(pl, o);
    else plan_print_text(pl, o);
    status = EXIT_OK;
done:
    llmc_diags_print(&diags, stderr);
    if (diags.errors) fprintf(stderr, "%u error%s\n", diags.errors, diags.errors == 1 ? "" : "s");
    llmc_diags_free(&diags);
    cc_train_step_free(&step);
    ir_module_free(&m);
    fe_program_free(p);
    free(text);
    free(pl);
    return status;
}

int llmc_plan_main(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(usage_text, stdout);
            return EXIT_OK;
        }
    if (argc < 2) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    PlanOptions o = {0};
    int status = parse_args(argc, argv, &o);
    if (status == EXIT_OK) status = run(&o);
    for (uint32_t i = 0; i < o.n_ov; i++) free((char *)o.ov[i].name);
    free(o.ov);
    return status;
}
