/* tools/llmsweep_fit.c — `llmsweep fit`: a scaling law L(N, D) = E + A/N^alpha + B/D^beta
 * fitted to finished runs. Collects (N, D, L) from run.json files (a sweep directory
 * stands for its runs), fits with sl_fit (tools/scaling.c: Huber on log-loss, L-BFGS from
 * a grid, bootstrap intervals), prints the constants, the points with the law's
 * prediction and residual, and the compute-optimal sizing the law implies, and writes the
 * fit as JSON (sl_fit_json) for `llmc plan --law`.
 *
 * Deliberately not here: the optimizer and the bootstrap (scaling.c), the run records
 * (llmsweep_runs.c).
 */
#include "llmsweep.h"
#include "scaling.h"
#include "subcmd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef enum FitLoss {
    FIT_LOSS_INVALID = 0,
    FIT_LOSS_FINAL_VAL, /* final_val_loss */
    FIT_LOSS_BEST_VAL,  /* best_val_loss */
    FIT_LOSS_FINAL,     /* final_loss: the last training loss */
    FIT_LOSS_COUNT
} FitLoss;

static const char *loss_field(FitLoss l) {
    switch (l) {
    case FIT_LOSS_FINAL_VAL: return "final_val_loss";
    case FIT_LOSS_BEST_VAL: return "best_val_loss";
    case FIT_LOSS_FINAL: return "final_loss";
    case FIT_LOSS_INVALID:
    case FIT_LOSS_COUNT: break;
    }
    return "?";
}

static double run_loss(const SwRun *r, FitLoss l) {
    switch (l) {
    case FIT_LOSS_FINAL_VAL: return r->final_val_loss;
    case FIT_LOSS_BEST_VAL: return r->best_val_loss;
    case FIT_LOSS_FINAL: return r->final_loss;
    case FIT_LOSS_INVALID:
    case FIT_LOSS_COUNT: break;
    }
    return NAN;
}

/* Constant k of a law: E, A, B, alpha, beta. */
static double law_get(const SlLaw *l, int k) {
    return k == 0 ? l->E : k == 1 ? l->A : k == 2 ? l->B : k == 3 ? l->alpha : l->beta;
}

/* Appends the runs of path (a run directory with run.json, or a sweep directory); with
 * `label`, a sweep's runs are named SWEEP/NAME (several sweeps may share run names). */
static bool collect(const char *path, bool label, SwRun **runs, uint32_t *n, bool *is_sweep) {
    LlmcErr err = {0};
    char *json = sw_path_join(path, "run.json");
    bool single = sw_exists(json);
    free(json);
    SwRun *add = NULL;
    uint32_t n_add = 0;
    bool ok;
    if (single) {
        add = llmc_xcalloc(1, sizeof *add);
        sw_run_init(add);
        add->dir = llmc_xstrdup(path);
        n_add = 1;
        ok = sw_run_json_read(add, NULL, NULL, &err);
        if (ok && !add->name) add->name = llmc_xstrdup(path);
    } else if (!sw_is_dir(path)) {
        llmc_err_set(&err, "%s: no such directory", path);
        ok = false;
    } else {
        ok = sw_sweep_runs(path, NULL, 0, &add, &n_add, &err);
    }
    *is_sweep = !single;
    if (!ok) {
        fprintf(stderr, "llmsweep: fit: %s\n", err.msg);
        for (uint32_t i = 0; i < n_add; i++) sw_run_free(&add[i]);
        free(add);
        return false;
    }
    for (uint32_t i = 0; label && !single && i < n_add; i++) {
        size_t len = strlen(path) + strlen(add[i].name) + 2;
        char *name = llmc_xmalloc(len);
        snprintf(name, len, "%s/%s", path, add[i].name);
        free(add[i].name);
        add[i].name = name;
    }
    *runs = llmc_xrealloc(*runs, (*n + n_add + 1) * sizeof **runs);
    if (n_add) memcpy(*runs + *n, add, n_add * sizeof *add);
    *n += n_add;
    free(add);
    return true;
}

/* The compute-optimal frontier: N_opt ~ C^a, D_opt ~ C^b, and a few budgets from the
 * points' own compute to a thousand times more. */
static void print_optimal(const SlLaw *law, double c_min, double c_max) {
    double s = law->alpha + law->beta;
    printf("\ncompute-optimal under C = 6 N D: N_opt ~ C^%.3f, D_opt ~ C^%.3f\n", law->beta / s, law->alpha / s);
    printf("  %-10s  %-10s  %-10s  %-12s  %s\n", "C (FLOPs)", "N_opt", "D_opt", "D/N (tok/p)", "predicted L");
    int lo = (int)floor(log10(c_min)), hi = (int)ceil(log10(c_max)) + 3;
    if (hi - lo > 12) lo = hi - 12;
    for (int e = lo; e <= hi; e++) {
        double C = pow(10.0, e), N, D;
        sl_optimal(law, C, &N, &D);
        printf("  %-10.0e  %-10.4g  %-10.4g  %-12.4g  %.4f%s\n", C, N, D, D / N, sl_loss(law, N, D),
               C > c_max * 1.0001 ? "  (extrapolated)" : "");
    }
}

int sw_cmd_fit(int argc, char **argv) {
    const char *out = NULL;
    uint64_t bootstrap = 200;
    bool non_embed = false;
    FitLoss lk = FIT_LOSS_FINAL_VAL;
    int n_paths = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool takes = strcmp(a, "--out") == 0 || strcmp(a, "-o") == 0 || strcmp(a, "--bootstrap") == 0 ||
                     strcmp(a, "--params") == 0 || strcmp(a, "--loss") == 0;
        if (takes && i + 1 >= argc) return sw_usage_error("fit", "%s needs a value", a);
        const char *v = takes ? argv[++i] : NULL;
        if (strcmp(a, "--out") == 0 || strcmp(a, "-o") == 0) {
            out = v;
        } else if (strcmp(a, "--bootstrap") == 0) {
            if (!subcmd_parse_u64(v, 0, 100000, &bootstrap))
                return sw_usage_error("fit", "--bootstrap needs a count (0..100000), got '%s'", v);
        } else if (strcmp(a, "--params") == 0) {
            if (strcmp(v, "all") == 0) non_embed = false;
            else if (strcmp(v, "non-embedding") == 0) non_embed = true;
            else return sw_usage_error("fit", "--params needs all or non-embedding, got '%s'", v);
        } else if (strcmp(a, "--loss") == 0) {
            if (strcmp(v, "final_val") == 0) lk = FIT_LOSS_FINAL_VAL;
            else if (strcmp(v, "best_val") == 0) lk = FIT_LOSS_BEST_VAL;
            else if (strcmp(v, "final") == 0) lk = FIT_LOSS_FINAL;
            else return sw_usage_error("fit", "--loss needs final_val, best_val or final, got '%s'", v);
        } else if (a[0] == '-' && a[1]) {
            return sw_usage_error("fit", "unknown option '%s'", a);
        } else {
            argv[n_paths++] = argv[i]; /* paths to the front, in order */
        }
    }
    if (!n_paths) return sw_usage_error("fit", "%s", "missing RUN_OR_SWEEP_DIR");

    SwRun *runs = NULL;
    uint32_t n = 0;
    bool is_sweep = false, ok = true;
    for (int i = 0; i < n_paths && ok; i++) ok = collect(argv[i], n_paths > 1, &runs, &n, &is_sweep);
    char *default_out = !out && n_paths == 1 && is_sweep ? sw_path_join(argv[0], "fit.json") : NULL;
    int status = SW_EXIT_BAD_INPUT;
    SlPoint *pts = llmc_xcalloc(n + 1, sizeof *pts);
    const SwRun **used = llmc_xcalloc(n + 1, sizeof *used);
    int np = 0;
    if (!ok) goto done;

    const char *nfield = non_embed ? "params_no_embed" : "params";
    for (uint32_t i = 0; i < n; i++) {
        const SwRun *r = &runs[i];
        double N = (double)(non_embed ? r->params_no_embed : r->params), D = (double)r->tokens, L = run_loss(r, lk);
        const char *why = r->status != SW_STATUS_DONE                      ? sw_status_name(r->status)
                          : !(N > 0)                                       ? nfield
                          : !(D > 0)                                       ? "tokens"
                          : !(isfinite(L) && L > 0)                        ? loss_field(lk)
                                                                           : NULL;
        if (why) {
            fprintf(stderr, "llmsweep: fit: left out %s (%s%s)\n", r->name ? r->name : r->dir,
                    r->status != SW_STATUS_DONE ? "" : "no usable ", why);
            continue;
        }
        used[np] = r;
        pts[np++] = (SlPoint){N, D, L};
    }
    if (np < 5) {
        fprintf(stderr,
                "llmsweep: fit: %d usable point%s; the law has 5 constants and needs at least 5 runs that are done, with\n"
                "positive %s and tokens and a %s\n",
                np, np == 1 ? "" : "s", nfield, loss_field(lk));
        goto done;
    }
    SlFitOptions fo = {.huber_delta = 0, .bootstrap = (int)bootstrap, .seed = 1};
    SlFit fit;
    char err[512] = "";
    if (!sl_fit(pts, np, &fo, &fit, err, sizeof err)) {
        fprintf(stderr, "llmsweep: fit: %s\n", err);
        goto done;
    }

    printf("%d points: N = %s, D = tokens, L = %s\n", np, nfield, loss_field(lk));
    size_t w = 3;
    for (int i = 0; i < np; i++)
        if (strlen(used[i]->name) > w) w = strlen(used[i]->name);
    printf("  %-*s  %10s  %10s  %8s  %8s  %9s  %s\n", (int)w, "run", "N", "D", "L", "law", "log resid", "FLOPs/6ND");
    double c_min = INFINITY, c_max = 0;
    for (int i = 0; i < np; i++) {
        double pred = sl_loss(&fit.law, pts[i].N, pts[i].D), c = 6 * pts[i].N * pts[i].D;
        double exact = used[i]->flops_per_step * (double)used[i]->steps;
        c_min = fmin(c_min, c), c_max = fmax(c_max, c);
        printf("  %-*s  %10.4g  %10.4g  %8.4f  %8.4f  %+9.5f", (int)w, used[i]->name, pts[i].N, pts[i].D, pts[i].loss,
               pred, log(pts[i].loss) - log(pred));
        if (isfinite(exact) && exact > 0) printf("  %.3f", exact / c);
        else printf("  -");
        printf("\n");
    }
    printf("\nL(N, D) = E + A / N^alpha + B / D^beta  (Huber delta 1e-3 on log L; objective %.4g", fit.objective);
    if (fit.bootstrap)
        printf("; 95%% intervals from %d of %d bootstrap resamples, seed 1)\n", fit.bootstrap, (int)bootstrap);
    else printf("; no bootstrap)\n");
    const char *names[5] = {"E", "A", "B", "alpha", "beta"};
    for (int k = 0; k < 5; k++) {
        printf("  %-5s = %-12.6g", names[k], law_get(&fit.law, k));
        if (fit.bootstrap) printf("  [%.6g, %.6g]", law_get(&fit.lo, k), law_get(&fit.hi, k));
        printf("\n");
    }
    print_optimal(&fit.law, c_min, c_max);

    const char *path = out ? out : default_out;
    status = SW_EXIT_OK;
    if (path) {
        char *json = sl_fit_json(&fit);
        LlmcErr werr = {0};
        if (llmc_file_write(path, json, strlen(json), &werr)) {
            printf("\nwrote %s\n", path);
        } else {
            fprintf(stderr, "llmsweep: fit: %s\n", werr.msg);
            status = SW_EXIT_BAD_INPUT;
        }
        free(json);
    }
done:
    for (uint32_t i = 0; i < n; i++) sw_run_free(&runs[i]);
    free(runs);
    free(pts);
    free(used);
    free(default_out);
    return status;
}
