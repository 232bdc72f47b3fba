/* tools/llmsweep.h — what the files of the llmsweep tool share: a run of a sweep (its
 * overrides, the model's exact figures under them, its results), its records on disk
 * (run.json, summary.tsv, sweep.json's run list), and the commands kept out of
 * llmsweep.c. Not a library header: only the llmsweep executable includes it.
 *
 *   llmsweep.c        main, `llmsweep run`: the llmrun subprocesses, signals, progress
 *   llmsweep_plan.c   `run`'s options, the runs of a grid or list, sweep.json
 *   llmsweep_runs.c   model figures, metrics.jsonl, run.json, summary, `llmsweep status`
 *   llmsweep_fit.c    `llmsweep fit`: points from run.json files, sl_fit, the report
 */
#ifndef LLMC_LLMSWEEP_H
#define LLMC_LLMSWEEP_H

#include "frontend.h"
#include "ir.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum { SW_EXIT_OK = 0, SW_EXIT_BAD_INPUT = 1, SW_EXIT_USAGE = 2 };

/* "llmsweep: [CMD: ]<fmt % arg>" and "Try 'llmsweep [CMD ]--help'." on stderr; returns 2. */
int sw_usage_error(const char *cmd, const char *fmt, const char *arg);

typedef enum SwStatus {
    SW_STATUS_INVALID = 0,
    SW_STATUS_PENDING,     /* not started (by this command, or at all) */
    SW_STATUS_RUNNING,
    SW_STATUS_DONE,        /* run.json says done */
    SW_STATUS_FAILED,      /* run.json says failed */
    SW_STATUS_INTERRUPTED, /* stopped by a signal; resumes from its checkpoint */
    SW_STATUS_INCOMPLETE,  /* a run directory without run.json (seen by `status`) */
    SW_STATUS_COUNT
} SwStatus;
const char *sw_status_name(SwStatus s);

/* One run of a sweep. Figures unknown are -1 (counts) or NAN (losses, FLOPs, times). */
typedef struct SwRun {
    char *name;           /* the run's overrides joined: "dim=64,layers=2" */
    char *dir;            /* SWEEP_DIR/runs/<name made file-safe> */
    FeOverride *ov;       /* [n_ov] the run's own overrides (strings owned) */
    uint32_t n_ov;
    SwStatus status;
    /* the model under the common -D and the run's overrides (sw_model_stats) */
    int64_t params, params_no_embed, tokens_per_step, steps_planned, accumulate;
    double flops_per_step; /* cc_step_flops' step_useful: exact useful FLOPs per step */
    /* results */
    int64_t steps, tokens;  /* the last metrics.jsonl line's */
    double final_loss, final_val_loss, best_val_loss;
    double wall_s;
    int exit_code;          /* failed: llmrun's status (128 + N for signal N); -1: none */
    bool resumed;           /* continued from a checkpoint of an earlier attempt */
    char *error;            /* failed: what went wrong */
    char *log;              /* failed: the log's path */
} SwRun;

void sw_run_init(SwRun *r);           /* every figure unknown, status pending */
void sw_run_free(SwRun *r);
void sw_run_clear_results(SwRun *r);  /* back to unknown results (keeps name, dir, ov, figures) */

/* The model (source text already parsed as prog) lowered with ov[0..n) (the last of a
 * name wins) and its training step built: params (every param input of @forward),
 * params_no_embed (without the embedding tables: every table a gather reads, and the
 * tables the embed() sites name tok_emb / pos_emb — the compiler's own rule for weight
 * decay), flops_per_step, tokens_per_step, steps_planned (the record's steps) and
 * accumulate into r. Diagnostics go to each non-NULL stream of diag[0..2). */
bool sw_model_stats(const FeProgram *prog, const FeOverride *ov, uint32_t n, SwRun *r, FILE *const diag[2],
                    LlmcErr *err);

/* Reads RUN_DIR/metrics.jsonl: steps, tokens, final_loss (the last line's), final_val_loss
 * (the last line's val_loss, NAN when it has none), best_val_loss (the least val_loss).
 * false when the file is missing, unreadable or has no line. */
bool sw_metrics_read(SwRun *r, LlmcErr *err);

/* What a sweep is run with, recorded in each run.json so a finished run is only skipped
 * when it was trained the same way. */
typedef struct SwContext {
    const char *model, *data;  /* absolute paths */
    const FeOverride *defines; /* [n_defines] the merged -D list of this run (common, then the run's) */
    uint32_t n_defines;
} SwContext;

/* RUN_DIR/run.json, written atomically (docs in llmsweep.c's `run` help). */
bool sw_run_json_write(const SwRun *r, const SwContext *ctx, LlmcErr *err);
/* Reads RUN_DIR/run.json into r (name and overrides too when r has none). *matches (may
 * be NULL) tells whether its model, data and defines are ctx's (ctx NULL: true). false
 * when there is no run.json (errno ENOENT, err empty) or it cannot be read. */
bool sw_run_json_read(SwRun *r, const SwContext *ctx, bool *matches, LlmcErr *err);

/* The table of runs[0..n): aligned text to f, or tab-separated with a header row
 * (summary.tsv, written atomically to path). Columns: name, params, params_no_embed,
 * tokens, flops, final_loss, final_val_loss, best_val_loss, wall_s, status. */
void sw_summary_print(FILE *f, const SwRun *runs, uint32_t n);
bool sw_summary_write(const char *path, const SwRun *runs, uint32_t n, LlmcErr *err);

/* The runs of sweep directory dir: those of sweep.json's list, in its order, then any
 * other directory of dir/runs/ in name order; each with its run.json's figures, or
 * incomplete (a metrics.jsonl, no run.json) or pending. Those named in skip[0..n_skip)
 * (by directory) are left out. false when dir is no sweep (neither sweep.json nor runs/). */
bool sw_sweep_runs(const char *dir, const SwRun *skip, uint32_t n_skip, SwRun **runs, uint32_t *n, LlmcErr *err);

/* --- `llmsweep run`: options and plan (llmsweep_plan.c) ------------------------------------ */

#define SW_MAX_RUNS 10000u
#define SW_MAX_JOBS 64u

typedef struct SwAxis {
    char *name;
    char **values;
    uint32_t n;
} SwAxis;

typedef struct SwOptions {
    const char *model, *data, *out, *llmrun, *runs_spec;
    SwAxis *axes;
    uint32_t n_axes;
    FeOverride *defines; /* strings owned */
    uint32_t n_defines;
    uint64_t steps, eval_every, eval_batches, threads, jobs, mpi; /* 0: not given (jobs, mpi: 1) */
    bool force;
} SwOptions;

/* The arguments of `llmsweep run` (after "run"); 2 with a message on a usage error. */
int sw_options_parse(int argc, char **argv, SwOptions *o);
void sw_options_free(SwOptions *o);
/* The runs: the grid's product (first axis slowest) or the --runs list, each named by its
 * overrides joined ("default" with none), in SWEEP_DIR/runs/<the name made file-safe>.
 * 2 with a message when the list is malformed or two runs share a directory. */
int sw_plan_build(const SwOptions *o, SwRun **runs, uint32_t *n);
/* The -D list run r gets: the common ones, then its own (malloc'd; strings borrowed). */
FeOverride *sw_run_defines(const SwOptions *o, const SwRun *r, uint32_t *n);
/* Refuses (1) when SWEEP_DIR/sweep.json is a sweep of another model, data, common -D list
 * or --steps, unless o->force; then writes this command's sweep.json (atomically). */
int sw_sweep_json_update(const SwOptions *o, const char *model_abs, const char *data_abs, const SwRun *runs,
                         uint32_t n, int argc, char **argv);

/* The commands (argv after the command name). */
int sw_cmd_run(int argc, char **argv);
int sw_cmd_status(int argc, char **argv);
int sw_cmd_fit(int argc, char **argv);

/* Shared helpers. */
char *sw_path_join(const char *dir, const char *name); /* malloc'd "dir/name" */
bool sw_is_dir(const char *path);
bool sw_exists(const char *path);

#endif /* LLMC_LLMSWEEP_H */
