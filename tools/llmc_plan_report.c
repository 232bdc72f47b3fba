/* tools/llmc_plan_report.c — the report of `llmc plan` (a Plan from llmc_plan.c): as text,
 * sections of "  label   value" lines in the style of llmc's compile report, or as one
 * JSON object with the same figures (exact numbers where the text rounds).
 *
 * Deliberately not here: computing anything but the figures' simple ratios (seconds from
 * tokens/s, D/N) — the plan is complete when it gets here.
 */
#include "llmc_plan_int.h"

#include <math.h>
#include <string.h>

static double mib(uint64_t b) { return (double)b / 1048576.0; }

/* 42 s, 3.5 min, 2.1 h, 4.2 days, 1.3 years */
static void fmt_duration(double s, char *out, size_t n) {
    if (s < 120) snprintf(out, n, "%.3g s", s);
    else if (s < 7200) snprintf(out, n, "%.3g min", s / 60);
    else if (s < 3 * 86400) snprintf(out, n, "%.3g h", s / 3600);
    else if (s < 730 * 86400) snprintf(out, n, "%.3g days", s / 86400);
    else snprintf(out, n, "%.3g years", s / (365.25 * 86400));
}

static const char *strategy_label(CcShard s) {
    switch (s) {
    case CC_SHARD_NONE: return "none (DDP)";
    case CC_SHARD_GRAD: return "grad (ZeRO-2)";
    case CC_SHARD_FULL: return "full (FSDP)";
    case CC_SHARD_INVALID:
    case CC_SHARD_COUNT: break;
    }
    return "-";
}

/* The llmrun command line of candidate c at the budget: the user's overrides but those the
 * candidate sets, its own, the steps for D = C / 6N (and a warmup that fits them). */
static void candidate_command(const Plan *pl, const PlanOptions *o, const PlanCandidate *c, LlmcBuf *out) {
    double D = pl->C / (6.0 * (double)c->params);
    int64_t steps = (int64_t)ceil(D / (double)pl->tokens_step);
    if (steps < 1) steps = 1;
    bool short_warmup = pl->warmup > steps; /* a warmup longer than the schedule is refused */
    llmc_buf_printf(out, "llmrun %s", o->path);
    for (uint32_t i = 0; i < o->n_ov; i++) {
        bool replaced = strcmp(o->ov[i].name, "steps") == 0 || (short_warmup && strcmp(o->ov[i].name, "warmup") == 0);
        for (uint32_t k = 0; k < c->n_set; k++) replaced |= strcmp(c->names[k], o->ov[i].name) == 0;
        if (!replaced) llmc_buf_printf(out, " -D %s=%s", o->ov[i].name, o->ov[i].value);
    }
    for (uint32_t k = 0; k < c->n_set; k++) llmc_buf_printf(out, " -D %s=%lld", c->names[k], (long long)c->values[k]);
    llmc_buf_printf(out, " -D steps=%lld", (long long)steps);
    if (short_warmup) llmc_buf_printf(out, " -D warmup=%lld", (long long)(steps / 10));
    llmc_buf_printf(out, " --data %s --out run-%s%lld-%s%lld", o->data_dir ? o->data_dir : "DATA", c->names[0],
                    (long long)c->width, c->names[1], (long long)c->depth);
}

void plan_print_text(const Plan *pl, const PlanOptions *o) {
    printf("llmc plan: %s (model %s)\n", pl->path, pl->model);
    printf("model\n");
    printf("  %-20s %llu (%llu without the %llu of embedding tables)\n", "parameters N", (unsigned long long)pl->params,
           (unsigned long long)(pl->params - pl->embedding), (unsigned long long)pl->embedding);
    printf("  %-20s %lld (batch %lld x seq %lld x accumulate %lld); the train block: %lld steps = %.4g tokens\n",
           "tokens per step", (long long)pl->tokens_step, (long long)pl->batch, (long long)pl->seq,
           (long long)pl->accumulate, (long long)pl->steps, pl->d_train);

    printf("exact costs (counted from the compiled training step)\n");
    printf("  %-20s %.0f (forward %.0f + backward %.0f: every matmul, attention's QK^T and PV at T = %lld)\n",
           "useful FLOPs/token", pl->useful_tok, pl->forward_tok, pl->useful_tok - pl->forward_tok, (long long)pl->seq);
    double diff = pl->useful_tok - pl->six_n_tok;
    double non_mm = (double)pl->params - pl->weight_tok / 2.0;
    printf("  %-20s %.0f: the exact count is %+.2f%% of it\n", "6N per token", pl->six_n_tok,
           100.0 * diff / pl->six_n_tok);
    printf("  %-20s exact - 6N = %+.0f (attention's QK^T and PV: they grow with T, 6N leaves them out) %+.0f (-6 x "
           "%.0f params no matmul multiplies: embedding lookups, biases, norms, MoE experts a token skips)\n",
           "", 3.0 * pl->attn_tok, -6.0 * non_mm, non_mm);
    printf("  %-20s %.6g (%.0f per micro-batch x %lld)\n", "useful FLOPs/step", pl->f.step_useful, pl->f.micro_useful,
           (long long)pl->accumulate);
    printf("  %-20s %.6g (matmuls %.4g, recomputation included; other ops %.4g; optimizer update %.4g)\n",
           "all FLOPs/step", pl->all_step, pl->f.micro_matmul * (double)pl->accumulate,
           pl->f.micro_other * (double)pl->accumulate, pl->f.update);

    printf("memory per rank and bytes sent per step (llmc --emit=sharded --ranks N --shard S shows how)\n");
    printf("  %5s  %-13s %10s %10s %10s %10s %10s %12s\n", "ranks", "shard", "params", "grads", "optimizer", "arena",
           "peak", "sent/step");
    for (uint32_t i = 0; i < pl->n_rows; i++) {
        const PlanMemRow *r = &pl->rows[i];
        const char *label = r->ranks == 1 ? "(one rank)" : r->strategy == CC_SHARD_INVALID ? "any" : strategy_label(r->strategy);
        if (!r->ok) {
            printf("  %5u  %-13s cannot: %s\n", r->ranks, label, r->why);
            continue;
        }
        uint64_t arena = r->arena_micro > r->arena_update ? r->arena_micro : r->arena_update;
        printf("  %5u  %-13s %6.1f MiB %6.1f MiB %6.1f MiB %6.1f MiB %6.1f MiB %8.1f MiB\n", r->ranks, label,
               mib(r->params), mib(r->grads), mib(r->optimizer), mib(arena), mib(r->peak), mib(r->sent_step));
    }
    bool refused = false;
    for (uint32_t i = 0; i < pl->n_rows; i++) refused |= !pl->rows[i].ok && strstr(pl->rows[i].why, "divide accumulate");
    if (refused)
        printf("  %5s  N ranks run accumulate / N micro-batches each: -D accumulate=4 allows 1, 2 and 4 ranks (and 4x "
               "the tokens per step; -D batch=%lld -D accumulate=4 keeps them)\n", "",
               (long long)(pl->batch % 4 == 0 ? pl->batch / 4 : pl->batch));

    char t1[64], t2[64], t3[64];
    printf("time\n");
    if (!pl->tp.have) {
        printf("  %-20s none measured: add --calibrate (a few steps here, cached) or --metrics RUN_DIR (a run of "
               "llmrun)\n", "throughput");
    } else {
        const PlanThroughput *t = &pl->tp;
        if (t->calibrated)
            printf("  %-20s %.4g tokens/s: calibration, median of %u steps on %u thread%s of %s%s (%s)\n", "throughput",
                   t->tokens_per_s, t->samples, t->threads, t->threads == 1 ? "" : "s", t->cpu, t->cached ? ", cached" : "",
                   t->where[0] ? t->where : "not cached");
        else
            printf("  %-20s %.4g tokens/s: median of %u steps of %s%s\n", "throughput", t->tokens_per_s, t->samples,
                   t->where, t->ranks > 1 ? " (on its ranks together)" : "");
        printf("  %-20s %.4g useful FLOP/s (%.4g in 6N units)\n", "achieved", t->tokens_per_s * pl->useful_tok,
               t->tokens_per_s * pl->six_n_tok);
        double sps = (double)pl->tokens_step / t->tokens_per_s;
        fmt_duration(sps, t1, sizeof t1);
        fmt_duration(sps * (double)pl->steps, t2, sizeof t2);
        fmt_duration(pl->C / (t->tokens_per_s * pl->six_n_tok), t3, sizeof t3);
        printf("  %-20s %s\n", "per step", t1);
        printf("  %-20s %s (%lld steps)\n", "the train block", t2, (long long)pl->steps);
        printf("  %-20s %s (C at this rate; any model of the same achieved 6N FLOP/s)\n", "the budget", t3);
    }

    const SlLaw *L = &pl->law;
    printf("compute-optimal sizing: %s, L(N, D) = %.6g + %.6g / N^%.6g + %.6g / D^%.6g\n", pl->law_label, L->E, L->A,
           L->alpha, L->B, L->beta);
    printf("  %-20s %.4g FLOPs = 6 N D (%s)\n", "budget C", pl->C, pl->C_source);
    printf("  %-20s N_opt = %.4g, D_opt = %.4g tokens, D/N = %.3g, loss %.4f\n", "optimum", pl->n_opt, pl->d_opt,
           pl->d_opt / pl->n_opt, pl->l_opt);
    printf("  %-20s N = %.4g (%.3g x N_opt), D = C/6N = %.4g, D/N = %.3g, loss %.4f (exact FLOPs: %.4g)\n",
           "this model at C", (double)pl->params, (double)pl->params / pl->n_opt, pl->d_this,
           pl->d_this / (double)pl->params, pl->l_this, pl->d_this * pl->useful_tok);
    printf("  %-20s D = %.4g (%lld steps x %lld), C = %.4g, D/N = %.3g, loss %.4f\n", "the train block", pl->d_train,
           (long long)pl->steps, (long long)pl->tokens_step, 6.0 * (double)pl->params * pl->d_train,
           pl->d_train / (double)pl->params, pl->l_train);
    printf("  %-20s losses are the law's (nats per token on its fit's data and tokenizer): they compare sizes, they do "
           "not predict another corpus's loss\n", "");

    printf("data\n");
    if (pl->have_data) {
        if (pl->data_dir)
            printf("  %-20s %.0f in %u shard%s of %s (llmrun holds out --val-fraction 0.1 of them by default)\n",
                   "unique tokens", pl->unique, pl->shards, pl->shards == 1 ? "" : "s", pl->data_dir);
        else
            printf("  %-20s %.0f (--data-tokens)\n", "unique tokens", pl->unique);
    } else {
        printf("  %-20s not given: --data-tokens D or --data DIR checks D against it\n", "unique tokens");
    }
    for (uint32_t i = 0; i < pl->n_warn; i++) printf("  warning: %s\n", pl->warn[i]);

    const PlanSuggest *s = &pl->sug;
    printf("configs near N_opt = %.4g", pl->n_opt);
    if (s->possible)
        printf(" (%s and %s of %s = %lld, %s = %lld%s%s)\n", s->width, s->depth, s->width, (long long)s->width0, s->depth,
               (long long)s->depth0, s->varied[0] ? "; following the width: " : "", s->varied);
    else
        printf("\n");
    if (s->n) printf("  %8s %7s %14s %8s %8s  %s\n", s->width, s->depth, "N", "N/N_opt", "aspect", "command (steps for D = C/6N)");
    for (uint32_t i = 0; i < s->n; i++) {
        const PlanCandidate *c = &s->c[i];
        LlmcBuf cmd = {0};
        candidate_command(pl, o, c, &cmd);
        printf("  %8lld %7lld %14llu %8.3f %8.1f  %s\n", (long long)c->width, (long long)c->depth,
               (unsigned long long)c->params, (double)c->params / pl->n_opt, (double)c->width / (double)c->depth,
               cmd.data);
        llmc_buf_free(&cmd);
    }
    if (s->note[0]) printf("  %s\n", s->note);
}

static void jkey_num(RtJsonWriter *w, const char *k, double v) {
    rt_json_key(w, k);
    if (v == floor(v) && fabs(v) < 9e15) rt_json_int(w, (int64_t)v);
    else rt_json_double(w, v);
}

static void jkey_str(RtJsonWriter *w, const char *k, const char *v) {
    rt_json_key(w, k);
    rt_json_string(w, v);
}

void plan_print_json(const Plan *pl, const PlanOptions *o) {
    LlmcBuf b = {0};
    RtJsonWriter w;
    rt_json_writer_init(&w, &b, RT_JSON_PRETTY);
    rt_json_begin_object(&w);
    jkey_str(&w, "format", "llmc-plan");
    jkey_str(&w, "source", pl->path);
    jkey_str(&w, "model", pl->model);
    rt_json_key(&w, "overrides");
    rt_json_begin_object(&w);
    for (uint32_t i = 0; i < o->n_ov; i++) jkey_str(&w, o->ov[i].name, o->ov[i].value);
    rt_json_end_object(&w);
    jkey_num(&w, "parameters", (double)pl->params);
    jkey_num(&w, "parameters_embedding", (double)pl->embedding);
    jkey_num(&w, "parameters_without_embeddings", (double)(pl->params - pl->embedding));
    jkey_num(&w, "batch", (double)pl->batch);
    jkey_num(&w, "seq", (double)pl->seq);
    jkey_num(&w, "accumulate", (double)pl->accumulate);
    jkey_num(&w, "tokens_per_step", (double)pl->tokens_step);
    jkey_num(&w, "steps", (double)pl->steps);

    rt_json_key(&w, "flops");
    rt_json_begin_object(&w);
    jkey_num(&w, "useful_per_token", pl->useful_tok);
    jkey_num(&w, "forward_per_token", pl->forward_tok);
    jkey_num(&w, "backward_per_token", pl->useful_tok - pl->forward_tok);
    jkey_num(&w, "weight_matmuls_forward_per_token", pl->weight_tok);
    jkey_num(&w, "attention_forward_per_token", pl->attn_tok);
    jkey_num(&w, "six_n_per_token", pl->six_n_tok);
    jkey_num(&w, "exact_vs_six_n_percent", 100.0 * (pl->useful_tok - pl->six_n_tok) / pl->six_n_tok);
    jkey_num(&w, "useful_per_step", pl->f.step_useful);
    jkey_num(&w, "matmul_per_step", pl->f.micro_matmul * (double)pl->accumulate);
    jkey_num(&w, "other_per_step", pl->f.micro_other * (double)pl->accumulate);
    jkey_num(&w, "update_per_step", pl->f.update);
    jkey_num(&w, "all_per_step", pl->all_step);
    rt_json_end_object(&w);

    rt_json_key(&w, "memory");
    rt_json_begin_array(&w);
    for (uint32_t i = 0; i < pl->n_rows; i++) {
        const PlanMemRow *r = &pl->rows[i];
        rt_json_begin_object(&w);
        jkey_num(&w, "ranks", r->ranks);
        jkey_str(&w, "shard", r->strategy == CC_SHARD_INVALID ? "any" : cc_shard_name(r->strategy));
        rt_json_key(&w, "ok");
        rt_json_bool(&w, r->ok);
        if (!r->ok) {
            jkey_str(&w, "why", r->why);
        } else {
            jkey_num(&w, "params", (double)r->params);
            jkey_num(&w, "grads", (double)r->grads);
            jkey_num(&w, "optimizer", (double)r->optimizer);
            jkey_num(&w, "arena_micro", (double)r->arena_micro);
            jkey_num(&w, "arena_update", (double)r->arena_update);
            jkey_num(&w, "peak", (double)r->peak);
            jkey_num(&w, "bytes_sent_per_step", (double)r->sent_step);
        }
        rt_json_end_object(&w);
    }
    rt_json_end_array(&w);

    rt_json_key(&w, "throughput");
    if (!pl->tp.have) {
        rt_json_null(&w);
    } else {
        const PlanThroughput *t = &pl->tp;
        rt_json_begin_object(&w);
        jkey_str(&w, "source", t->calibrated ? "calibration" : "metrics");
        jkey_str(&w, "file", t->where);
        rt_json_key(&w, "cached");
        rt_json_bool(&w, t->cached);
        jkey_num(&w, "tokens_per_s", t->tokens_per_s);
        jkey_num(&w, "useful_flops_per_s", t->tokens_per_s * pl->useful_tok);
        jkey_num(&w, "six_n_flops_per_s", t->tokens_per_s * pl->six_n_tok);
        jkey_num(&w, "samples", t->samples);
        if (t->calibrated) {
            jkey_num(&w, "threads", t->threads);
            jkey_str(&w, "cpu", t->cpu);
        } else {
            jkey_num(&w, "ranks", t->ranks);
        }
        double sps = (double)pl->tokens_step / t->tokens_per_s;
        jkey_num(&w, "seconds_per_step", sps);
        jkey_num(&w, "seconds_train_block", sps * (double)pl->steps);
        jkey_num(&w, "seconds_budget", pl->C / (t->tokens_per_s * pl->six_n_tok));
        rt_json_end_object(&w);
    }

    rt_json_key(&w, "law");
    rt_json_begin_object(&w);
    jkey_str(&w, "name", pl->law_label);
    jkey_num(&w, "E", pl->law.E);
    jkey_num(&w, "A", pl->law.A);
    jkey_num(&w, "B", pl->law.B);
    jkey_num(&w, "alpha", pl->law.alpha);
    jkey_num(&w, "beta", pl->law.beta);
    rt_json_end_object(&w);
    jkey_num(&w, "budget", pl->C);
    jkey_str(&w, "budget_source", pl->C_source);
    rt_json_key(&w, "optimal");
    rt_json_begin_object(&w);
    jkey_num(&w, "N", pl->n_opt);
    jkey_num(&w, "D", pl->d_opt);
    jkey_num(&w, "tokens_per_param", pl->d_opt / pl->n_opt);
    jkey_num(&w, "loss", pl->l_opt);
    rt_json_end_object(&w);
    rt_json_key(&w, "this_model");
    rt_json_begin_object(&w);
    jkey_num(&w, "N", (double)pl->params);
    jkey_num(&w, "D", pl->d_this);
    jkey_num(&w, "tokens_per_param", pl->d_this / (double)pl->params);
    jkey_num(&w, "loss", pl->l_this);
    jkey_num(&w, "exact_flops", pl->d_this * pl->useful_tok);
    rt_json_end_object(&w);
    rt_json_key(&w, "train_block");
    rt_json_begin_object(&w);
    jkey_num(&w, "D", pl->d_train);
    jkey_num(&w, "C", 6.0 * (double)pl->params * pl->d_train);
    jkey_num(&w, "tokens_per_param", pl->d_train / (double)pl->params);
    jkey_num(&w, "loss", pl->l_train);
    rt_json_end_object(&w);

    rt_json_key(&w, "unique_tokens");
    if (pl->have_data) rt_json_int(&w, (int64_t)pl->unique);
    else rt_json_null(&w);
    rt_json_key(&w, "warnings");
    rt_json_begin_array(&w);
    for (uint32_t i = 0; i < pl->n_warn; i++) rt_json_string(&w, pl->warn[i]);
    rt_json_end_array(&w);

    rt_json_key(&w, "configs");
    rt_json_begin_array(&w);
    for (uint32_t i = 0; i < pl->sug.n; i++) {
        const PlanCandidate *c = &pl->sug.c[i];
        rt_json_begin_object(&w);
        rt_json_key(&w, "overrides");
        rt_json_begin_object(&w);
        for (uint32_t k = 0; k < c->n_set; k++) jkey_num(&w, c->names[k], (double)c->values[k]);
        rt_json_end_object(&w);
        jkey_num(&w, "N", (double)c->params);
        jkey_num(&w, "N_over_N_opt", (double)c->params / pl->n_opt);
        jkey_num(&w, "aspect", (double)c->width / (double)c->depth);
        LlmcBuf cmd = {0};
        candidate_command(pl, o, c, &cmd);
        jkey_str(&w, "command", cmd.data);
        llmc_buf_free(&cmd);
        rt_json_end_object(&w);
    }
    rt_json_end_array(&w);
    if (pl->sug.note[0]) jkey_str(&w, "configs_note", pl->sug.note);
    rt_json_end_object(&w);
    llmc_buf_putc(&b, '\n');
    fwrite(b.data, 1, b.len, stdout);
    llmc_buf_free(&b);
}

