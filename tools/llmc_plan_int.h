/* tools/llmc_plan_int.h — what the files of `llmc plan` share: llmc_plan.c (arguments,
 * the exact costs, memory and sizing), llmc_plan_report.c (the report as text or JSON),
 * llmc_plan_measure.c (throughput from a run's metrics or a calibration, tokens in a data
 * folder) and llmc_plan_suggest.c (configs near N_opt). Not a library header: only these
 * files include it.
 */
#ifndef LLMC_PLAN_INT_H
#define LLMC_PLAN_INT_H

#include "compiler.h"
#include "frontend.h"
#include "runtime.h"
#include "scaling.h"

/* --- throughput (llmc_plan_measure.c) ------------------------------------------------- */

typedef struct PlanThroughput {
    bool have;
    bool calibrated;          /* from --calibrate; else from --metrics */
    bool cached;              /* the calibration was read back from its cache file */
    char where[4096];         /* the metrics.jsonl read, or the calibration's cache file */
    double tokens_per_s;      /* over all ranks */
    uint32_t samples;         /* steps (calibration) or step intervals (metrics) measured */
    uint32_t threads;         /* calibration: the pool's threads */
    uint32_t ranks;           /* metrics: the run's ranks (1 when not recorded) */
    char cpu[128];            /* calibration: the JIT's CPU name */
    double compile_s;         /* calibration: compiling the step (0 when cached) */
    int64_t run_tokens_per_step; /* metrics: the run's tokens per step (0: unknown) */
    char run_model_hash[17];  /* metrics: the model hash of the run's latest checkpoint ("" if none) */
} PlanThroughput;

/* --metrics RUN_DIR | FILE: the median throughput of the run's steps after its first two
 * (per step interval: tokens between consecutive lines over the time between them; a
 * resumed run's restart, where elapsed_s starts again, is skipped). false + message on an
 * unreadable file, a malformed line or too few steps. */
bool plan_metrics_read(const char *path, PlanThroughput *out, LlmcErr *err);

/* --calibrate: trains `step` for 5 optimizer steps on random tokens on `threads` threads
 * (0: every core) with random params, times the last 3 (or more, up to a second, when
 * steps are that short) and keeps their median, and caches the result as JSON in
 * the kernel cache directory (cc_objcache_open's) under a key of the model text, the
 * overrides, the threads and the CPU; a later call with the same key reads it back
 * (out->cached). need_bytes: what the trainer will allocate, checked against the memory
 * available first. Progress goes to stderr. */
bool plan_calibrate(const CcTrainStep *step, const char *model_text, size_t model_len, const FeOverride *ov,
                    uint32_t n_ov, uint32_t threads, uint64_t need_bytes, PlanThroughput *out, LlmcErr *err);

/* --data DIR: the tokens of every shard (rt_data_open's reading: each validated, its vocab
 * within the model's). */
bool plan_data_count(const char *dir, uint32_t vocab, uint64_t *tokens, uint32_t *shards, LlmcErr *err);

/* --- configs near N_opt (llmc_plan_suggest.c) ------------------------------------------ */

#define PLAN_MAX_CANDIDATES 5
#define PLAN_MAX_SET 4 /* overrides one candidate sets: width, depth, heads, kv_heads, ... */

typedef struct PlanCandidate {
    char names[PLAN_MAX_SET + 4][32]; /* the overrides it sets (width and depth first) */
    int64_t values[PLAN_MAX_SET + 4];
    uint32_t n_set;
    int64_t width, depth;
    uint64_t params;   /* counted from the lowered model */
} PlanCandidate;

typedef struct PlanSuggest {
    bool possible;               /* the model has a width and a depth to vary */
    char width[32], depth[32];   /* their names */
    int64_t width0, depth0;      /* their values as given */
    char varied[128];            /* what else follows the width: "heads, kv_heads, hidden" */
    PlanCandidate c[PLAN_MAX_CANDIDATES];
    uint32_t n;
    char note[512];              /* why there are none, or a limit reached */
} PlanSuggest;

/* Shapes of the model's family with N near n_opt: dim/layers ratios from half to twice
 * the model's own; for each, the depth and a width on the model's grid (heads kept at
 * their head size, kv groups kept, hidden sizes written as numbers kept proportional)
 * whose N — counted by lowering the model with those -D overrides — is nearest n_opt.
 * ov: the user's overrides (they stay, except where a candidate sets the name). */
void plan_suggest(const FeProgram *p, const FeOverride *ov, uint32_t n_ov, double n_opt, PlanSuggest *out);

/* --- the plan (llmc_plan.c) and its report (llmc_plan_report.c) ------------------------- */

/* The command line. */
typedef struct PlanOptions {
    const char *path;
    FeOverride *ov;
    uint32_t n_ov;
    double budget, hours, data_tokens; /* 0: not given */
    uint32_t ranks;                    /* 0: not given */
    const char *data_dir, *law, *metrics;
    bool calibrate, json;
    uint32_t threads;
} PlanOptions;

/* One row of the memory table: a strategy on some ranks, or why it cannot be. Bytes per
 * rank, from cc_shard_report: params, grads, optimizer state, each graph's arena, the
 * peak, and the bytes this rank sends per optimizer step. */
typedef struct PlanMemRow {
    uint32_t ranks;
    CcShard strategy; /* CC_SHARD_INVALID: every strategy (one rank, or one reason for all) */
    bool ok;
    char why[512];
    uint64_t params, grads, optimizer, arena_micro, arena_update, peak, sent_step;
} PlanMemRow;

#define PLAN_MAX_WARN 8

/* Everything the report prints. */
typedef struct Plan {
    const char *path, *model;
    uint64_t params, embedding;
    int64_t batch, seq, accumulate, steps, warmup, tokens_step;
    /* per token, exact: useful = forward + backward; forward = weight + attention matmuls */
    double useful_tok, forward_tok, weight_tok, attn_tok, six_n_tok;
    CcStepFlops f;
    double all_step;
    PlanMemRow rows[12];
    uint32_t n_rows;
    PlanThroughput tp;
    SlLaw law;
    char law_label[4200];
    double C;              /* the budget, 6 N D FLOPs */
    char C_source[128];    /* where it comes from */
    /* the optimum at C; this model at C (D = C / 6N); the train block (steps x tokens) */
    double n_opt, d_opt, l_opt, d_this, l_this, d_train, l_train;
    bool have_data;
    double unique;         /* unique tokens available */
    uint32_t shards;
    const char *data_dir;
    char warn[PLAN_MAX_WARN][512];
    uint32_t n_warn;
    PlanSuggest sug;
} Plan;

void plan_print_text(const Plan *pl, const PlanOptions *o);
void plan_print_json(const Plan *pl, const PlanOptions *o); /* one object, pretty-printed */

#endif /* LLMC_PLAN_INT_H */
