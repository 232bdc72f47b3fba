/* tests/shard/test_shard.c — the shard pass.
 *
 * A test-local driver runs a sharded step on the interpreter with simulated ranks
 * (f32): round k of accumulate/ranks runs global micro-batch k*ranks + r on rank r, all
 * ranks side by side; each rank accumulates its micro outputs over the rounds (CcAccum)
 * and runs @update' with its tree sums and its "rank". For gpt2-tiny, llama-tiny and
 * moe-tiny (batch 1, seq 8, accumulate 4) and every strategy: two steps on 1, 2 and 4
 * ranks give BIT-IDENTICAL losses and params, close to the unsharded cc_step_interp.
 * Also: the error for 3 and 8 ranks, the plan (groups, members, shards), verified graphs,
 * none's update equal to @update, and where full puts its gathers.
 */
#include "../step/step_harness.h"

#include <time.h>

static const FeOverride k_ov[] = {{"batch", "1"}, {"seq", "8"}, {"accumulate", "4"}};
/* the other branches of the update: SGD with momentum, a linear schedule, no clipping */
static const FeOverride k_ov_sgd[] = {{"batch", "1"},
                                      {"seq", "8"},
                                      {"accumulate", "4"},
                                      {"optimizer", "sgd(lr = 0.05, momentum = 0.9)"},
                                      {"schedule", "linear(warmup = 1, min_lr = 0.0001)"},
                                      {"clip_grad_norm", "0"}};
static bool g_sgd; /* load with k_ov_sgd */
enum { STEPS = 2 };

static bool load(Model *md, const char *name) {
    char path[256];
    snprintf(path, sizeof path, "models/%s.llm", name);
    char *text = NULL;
    size_t len = 0;
    LlmcErr err = {0};
    if (!llmc_file_read(path, &text, &len, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        memset(md, 0, sizeof *md);
        return false;
    }
    bool ok = g_sgd ? model_load(md, path, text, k_ov_sgd, sizeof k_ov_sgd / sizeof k_ov_sgd[0])
                    : model_load(md, path, text, k_ov, sizeof k_ov / sizeof k_ov[0]);
    free(text);
    return ok;
}

static bool verified(const IrGraph *g) {
    LlmcDiags d = {0};
    bool ok = ir_verify(g, &d, NULL, NULL);
    if (!ok) llmc_diags_print(&d, stderr);
    llmc_diags_free(&d);
    return ok;
}

static void value_copy(IrValue *dst, const IrValue *src) {
    ir_value_alloc(dst, src->type);
    memcpy(dst->data, src->data, (size_t)ir_type_numel(&src->type) * sizeof(double));
}

static CcVar *find(CcVar *vars, uint32_t n, const char *name) {
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(vars[i].name, name) == 0) return &vars[i];
    return NULL;
}

static int32_t out_index(const IrGraph *g, const char *name) {
    for (uint32_t o = 0; o < g->n_outputs; o++)
        if (strcmp(ir_graph_str(g, g->outputs[o].name), name) == 0) return (int32_t)o;
    return -1;
}

/* --- the driver ------------------------------------------------------------------------- */

typedef struct World {
    CcTrainStep step;
    CcShardPlan plan;
    uint32_t ranks;
    CcVar **vars; /* [ranks][n_vars[r]] */
    uint32_t *n_vars;
    char **names; /* owned names of the flat vars */
    uint32_t n_names;
} World;

static void world_free(World *w) {
    for (uint32_t r = 0; r < w->ranks; r++) {
        for (uint32_t i = 0; i < w->n_vars[r]; i++) ir_value_free(&w->vars[r][i].value);
        free(w->vars[r]);
    }
    free(w->vars);
    free(w->n_vars);
    for (uint32_t i = 0; i < w->n_names; i++) free(w->names[i]);
    free(w->names);
    cc_shard_plan_free(&w->plan);
    cc_train_step_free(&w->step);
    memset(w, 0, sizeof *w);
}

/* The world's initial vars from the unsharded model's: params (flat shards under full),
 * then cc_train_state_new of the sharded step. */
static bool world_init(World *w, Model *md, CcShard strategy, uint32_t ranks) {
    memset(w, 0, sizeof *w);
    LlmcErr err = {0};
    if (!cc_shard_step(&md->step, strategy, ranks, &w->step, &w->plan, &err)) {
        fprintf(stderr, "cc_shard_step(%s, %u): %s\n", cc_shard_name(strategy), ranks, err.msg);
        return false;
    }
    w->ranks = ranks;
    w->vars = llmc_xcalloc(ranks, sizeof *w->vars);
    w->n_vars = llmc_xcalloc(ranks, sizeof *w->n_vars);
    w->names = llmc_xcalloc(w->plan.n_groups + 1, sizeof *w->names);
    for (uint32_t g = 0; g < w->plan.n_groups; g++) {
        char buf[256];
        snprintf(buf, sizeof buf, "flat.%s", w->plan.groups[g].name);
        w->names[w->n_names++] = llmc_xstrdup(buf);
    }
    const IrGraph *init = model_graph(md, "init");
    for (uint32_t r = 0; r < ranks; r++) {
        uint32_t n_state = 0;
        CcVar *state = cc_train_state_new(&w->step, &n_state, &err);
        if (!state) {
            fprintf(stderr, "cc_train_state_new: %s\n", err.msg);
            return false;
        }
        w->vars[r] = llmc_xcalloc(init->n_outputs + w->plan.n_groups + n_state + 1, sizeof *w->vars[r]);
        CcVar *v = w->vars[r];
        uint32_t n = 0;
        if (strategy == CC_SHARD_FULL) {
            for (uint32_t g = 0; g < w->plan.n_groups; g++) {
                const CcFlatGroup *grp = &w->plan.groups[g];
                v[n].name = w->names[g];
                ir_value_alloc(&v[n].value, ir_type_make(grp->dtype, 1, (int64_t[]){(int64_t)grp->shard}));
                for (uint32_t k = 0; k < grp->n_members; k++) {
                    const CcVar *p = model_var(md, grp->members[k].name);
                    for (uint64_t e = 0; e < grp->members[k].numel; e++) {
                        uint64_t at = grp->members[k].offset + e;
                        if (at / grp->shard == r) v[n].value.data[at % grp->shard] = p->value.data[e];
                    }
                }
                n++;
            }
        } else {
            for (uint32_t o = 0; o < init->n_outputs; o++) {
                const char *name = ir_graph_str(init, init->outputs[o].name);
                v[n].name = name;
                value_copy(&v[n++].value, &model_var(md, name)->value);
            }
        }
        for (uint32_t i = 0; i < n_state; i++) v[n++] = state[i];
        free(state);
        w->n_vars[r] = n;
    }
    return true;
}

static void free_values(IrValue *v, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) ir_value_free(&v[i]);
}

/* One step; *loss (rank 0's, after checking every rank has the same bits), *lr, *gn. */
static bool world_step(World *w, Data *data, double *loss, double *lr, double *gn) {
    const IrGraph *micro = w->step.micro, *update = w->step.update;
    uint32_t R = w->ranks;
    LlmcErr err = {0};
    IrInterpOptions opt = {.precision = IR_PRECISION_F32, .ranks = R};
    uint32_t n_in = ir_graph_inputs(micro, NULL), n_out = micro->n_outputs;
    IrId *ids = llmc_xcalloc(n_in + 1, sizeof *ids);
    ir_graph_inputs(micro, ids);
    CcAccum **acc = llmc_xcalloc(R, sizeof *acc);
    IrType *types = llmc_xcalloc(n_out + 1, sizeof *types);
    for (uint32_t o = 0; o < n_out; o++) types[o] = micro->nodes[micro->outputs[o].node].type;
    for (uint32_t r = 0; r < R; r++) acc[r] = cc_accum_new(types, n_out, IR_PRECISION_F32);
    free(types);
    int64_t rounds = micro->train.accumulate / R;
    bool ok = true;
    IrValue *in = llmc_xcalloc((size_t)R * n_in + 1, sizeof *in);
    bool *owned = llmc_xcalloc((size_t)R * n_in + 1, sizeof *owned);
    IrValue *out = llmc_xcalloc((size_t)R * n_out + 1, sizeof *out);
    for (int64_t k = 0; ok && k < rounds; k++) {
        for (uint32_t r = 0; ok && r < R; r++)
            for (uint32_t i = 0; ok && i < n_in; i++) {
                const IrNode *node = &micro->nodes[ids[i]];
                const char *name = ir_graph_str(micro, node->attrs.input.name);
                IrValue *x = &in[r * n_in + i];
                uint32_t index = (uint32_t)(k * R + r);
                if (node->attrs.input.role == IR_ROLE_DATA) {
                    owned[r * n_in + i] = true;
                    if (strcmp(name, "micro") == 0) {
                        ir_value_alloc(x, node->type);
                        x->data[0] = index;
                    } else {
                        ok = data_batch(data, index, name, x, &err);
                    }
                } else {
                    CcVar *v = find(w->vars[r], w->n_vars[r], name);
                    if (!v) {
                        fprintf(stderr, "no var '%s'\n", name);
                        ok = false;
                    } else {
                        *x = v->value;
                    }
                }
            }
        if (ok) ok = ir_interp_run(micro, &opt, in, out, &err);
        if (!ok) fprintf(stderr, "micro: %s\n", err.msg);
        for (uint32_t j = 0; j < R * n_in; j++)
            if (owned[j]) {
                ir_value_free(&in[j]);
                owned[j] = false;
            }
        for (uint32_t r = 0; ok && r < R; r++) {
            cc_accum_push(acc[r], &out[r * n_out]);
            free_values(&out[r * n_out], n_out);
        }
    }
    free(in);
    free(owned);
    free(out);
    free(ids);
    IrValue *sums = llmc_xcalloc((size_t)R * n_out + 1, sizeof *sums);
    for (uint32_t r = 0; r < R; r++) {
        if (ok) cc_accum_finish(acc[r], &sums[r * n_out]);
        cc_accum_free(acc[r]);
    }
    free(acc);
    if (!ok) {
        free(sums);
        return false;
    }
    int32_t lo = out_index(micro, "loss");
    *loss = (double)(float)(sums[lo].data[0] / (double)micro->train.accumulate);
    for (uint32_t r = 1; r < R; r++) /* every rank has the same loss */
        CHECK(memcmp(&sums[r * n_out + lo].data[0], &sums[lo].data[0], sizeof(double)) == 0);

    /* the update */
    uint32_t u_in = ir_graph_inputs(update, NULL), u_out = update->n_outputs;
    ids = llmc_xcalloc(u_in + 1, sizeof *ids);
    ir_graph_inputs(update, ids);
    in = llmc_xcalloc((size_t)R * u_in + 1, sizeof *in);
    IrValue *ranks_v = llmc_xcalloc(R, sizeof *ranks_v);
    for (uint32_t r = 0; ok && r < R; r++)
        for (uint32_t i = 0; ok && i < u_in; i++) {
            const IrNode *node = &update->nodes[ids[i]];
            const char *name = ir_graph_str(update, node->attrs.input.name);
            if (strncmp(name, CC_GRAD_PREFIX, strlen(CC_GRAD_PREFIX)) == 0) {
                int32_t o = out_index(micro, name);
                CHECK(o >= 0);
                if (o < 0) ok = false;
                else in[r * u_in + i] = sums[r * n_out + o];
            } else if (strcmp(name, "rank") == 0) {
                ir_value_alloc(&ranks_v[r], node->type);
                ranks_v[r].data[0] = r;
                in[r * u_in + i] = ranks_v[r];
            } else {
                CcVar *v = find(w->vars[r], w->n_vars[r], name);
                if (!v) {
                    fprintf(stderr, "update: no var '%s'\n", name);
                    ok = false;
                } else {
                    in[r * u_in + i] = v->value;
                }
            }
        }
    IrValue *uo = llmc_xcalloc((size_t)R * u_out + 1, sizeof *uo);
    if (ok) ok = ir_interp_run(update, &opt, in, uo, &err);
    if (!ok) fprintf(stderr, "update: %s\n", err.msg);
    for (uint32_t r = 0; r < R; r++) ir_value_free(&ranks_v[r]);
    free(ranks_v);
    free(in);
    free(ids);
    for (uint32_t r = 0; r < R; r++) free_values(&sums[r * n_out], n_out);
    free(sums);
    for (uint32_t r = 0; ok && r < R; r++)
        for (uint32_t o = 0; o < u_out; o++) {
            const char *name = ir_graph_str(update, update->outputs[o].name);
            IrValue *x = &uo[r * u_out + o];
            if (r == 0 && strcmp(name, "lr") == 0) *lr = x->data[0];
            if (r == 0 && strcmp(name, "grad_norm") == 0) *gn = x->data[0];
            CcVar *v = find(w->vars[r], w->n_vars[r], name);
            if (v) {
                ir_value_free(&v->value);
                v->value = *x; /* ownership moves */
                x->data = NULL;
            } else {
                ir_value_free(x);
            }
        }
    free(uo);
    return ok;
}

/* Param `name` as floats (rank 0's copy; under full, reassembled from every rank). */
static float *world_param(World *w, Model *md, const char *name, uint64_t *numel) {
    const CcVar *ref = model_var(md, name);
    *numel = (uint64_t)ir_type_numel(&ref->value.type);
    float *x = llmc_xcalloc(*numel + 1, sizeof *x);
    if (w->plan.strategy != CC_SHARD_FULL) {
        CcVar *v = find(w->vars[0], w->n_vars[0], name);
        for (uint64_t e = 0; e < *numel; e++) x[e] = (float)v->value.data[e];
        for (uint32_t r = 1; r < w->ranks; r++) {
            CcVar *o = find(w->vars[r], w->n_vars[r], name);
            CHECK(memcmp(o->value.data, v->value.data, *numel * sizeof(double)) == 0);
        }
        return x;
    }
    uint32_t g, k;
    CHECK(cc_shard_plan_find(&w->plan, name, &g, &k));
    const CcFlatGroup *grp = &w->plan.groups[g];
    for (uint64_t e = 0; e < *numel; e++) {
        uint64_t at = grp->members[k].offset + e;
        CcVar *v = find(w->vars[at / grp->shard], w->n_vars[at / grp->shard], w->names[g]);
        x[e] = (float)v->value.data[at % grp->shard];
    }
    return x;
}

/* --- the whole-step comparison ---------------------------------------------------------- */

static void check_model(const char *name) {
    clock_t t0 = clock();
    Model md;
    bool ok = load(&md, name);
    CHECK(ok);
    if (!ok) return;
    const IrGraph *init = model_graph(&md, "init");
    uint32_t n_params = init->n_outputs;
    Data data = data_for(&md, 7, false);

    /* the unsharded reference */
    Model ref_md;
    ok = load(&ref_md, name);
    CHECK(ok);
    double ref_loss[STEPS] = {0}, ref_lr[STEPS] = {0}, ref_gn[STEPS] = {0};
    LlmcErr err = {0};
    for (int s = 0; ok && s < STEPS; s++) {
        CcStepResult res;
        ok = cc_step_interp(&ref_md.step, ref_md.vars, ref_md.n_vars, data_batch, &data, IR_PRECISION_F32, &res, &err);
        if (!ok) fprintf(stderr, "%s reference: %s\n", name, err.msg);
        ref_loss[s] = res.loss;
        ref_lr[s] = res.lr;
        ref_gn[s] = res.grad_norm;
    }
    CHECK(ok);

    static const uint32_t rank_counts[] = {1, 2, 4};
    for (int st = CC_SHARD_NONE; ok && st <= CC_SHARD_FULL; st++) {
        float *first[64] = {0};
        float first_loss[STEPS];
        double first_gn[STEPS];
        double max_rel = 0;
        for (size_t ri = 0; ri < 3; ri++) {
            World w;
            bool wok = world_init(&w, &md, (CcShard)st, rank_counts[ri]);
            CHECK(wok);
            if (!wok) {
                world_free(&w);
                continue;
            }
            CHECK(verified(w.step.micro) && verified(w.step.update));
            for (int s = 0; wok && s < STEPS; s++) {
                double loss = 0, lr = 0, gn = 0;
                wok = world_step(&w, &data, &loss, &lr, &gn);
                CHECK(wok);
                if (!wok) break;
                CHECK_CLOSE(loss, ref_loss[s], 1e-5);
                CHECK(memcmp(&lr, &ref_lr[s], sizeof lr) == 0); /* the same schedule ops */
                CHECK_CLOSE(gn, ref_gn[s], 1e-5);
                if (ri == 0) {
                    first_loss[s] = (float)loss;
                    first_gn[s] = gn;
                } else {
                    CHECK((float)loss == first_loss[s]);
                    CHECK(memcmp(&gn, &first_gn[s], sizeof gn) == 0);
                }
            }
            for (uint32_t p = 0; wok && p < n_params && p < 64; p++) {
                const char *pname = ir_graph_str(init, init->outputs[p].name);
                uint64_t n;
                float *x = world_param(&w, &md, pname, &n);
                const CcVar *ref = model_var(&ref_md, pname);
                for (uint64_t e = 0; e < n; e++) {
                    double d = fabs((double)x[e] - ref->value.data[e]);
                    double rel = d / (fabs(ref->value.data[e]) > 1e-2 ? fabs(ref->value.data[e]) : 1e-2);
                    if (rel > max_rel) max_rel = rel;
                }
                if (ri == 0) {
                    first[p] = x;
                } else {
                    bool same = memcmp(first[p], x, n * sizeof *x) == 0;
                    if (!same)
                        fprintf(stderr, "%s %s ranks=%u: param %s differs from 1 rank\n", name,
                                cc_shard_name((CcShard)st), rank_counts[ri], pname);
                    CHECK(same);
                    free(x);
                }
            }
            world_free(&w);
        }
        fprintf(stderr, "%s %s: max relative param difference to the unsharded step %.3g\n", name,
                cc_shard_name((CcShard)st), max_rel);
        CHECK(max_rel < 1e-4);
        for (int p = 0; p < 64; p++) free(first[p]);
    }
    model_free(&ref_md);
    model_free(&md);
    fprintf(stderr, "%s: %.1f s\n", name, (double)(clock() - t0) / CLOCKS_PER_SEC);
}

/* --- the pass's structure ---------------------------------------------------------------- */

static void test_errors(void) {
    Model md;
    bool ok = load(&md, "gpt2-tiny");
    CHECK(ok);
    if (!ok) return;
    CcTrainStep out;
    LlmcErr err = {0};
    CHECK(!cc_shard_step(&md.step, CC_SHARD_FULL, 3, &out, NULL, &err));
    CHECK(strstr(err.msg, "3 ranks") && strstr(err.msg, "power of two"));
    llmc_err_clear(&err);
    CHECK(!cc_shard_step(&md.step, CC_SHARD_GRAD, 8, &out, NULL, &err));
    CHECK(strstr(err.msg, "8 ranks") && strstr(err.msg, "divide accumulate") && strstr(err.msg, "(4"));
    llmc_err_clear(&err);
    CHECK(!cc_shard_step(&md.step, CC_SHARD_NONE, 0, &out, NULL, &err));
    CHECK(out.micro == NULL && out.update == NULL);
    CcShard s;
    CHECK(cc_shard_parse("full", &s) && s == CC_SHARD_FULL);
    CHECK(cc_shard_parse("none", &s) && s == CC_SHARD_NONE);
    CHECK(!cc_shard_parse("zero3", &s));
    CHECK_STR(cc_shard_name(CC_SHARD_GRAD), "grad");
    model_free(&md);
}

static void test_plan(void) {
    Model md;
    bool ok = load(&md, "gpt2-tiny");
    CHECK(ok);
    if (!ok) return;
    for (uint32_t ranks = 1; ranks <= 4; ranks *= 2) {
        CcTrainStep out;
        CcShardPlan plan;
        LlmcErr err = {0};
        ok = cc_shard_step(&md.step, CC_SHARD_GRAD, ranks, &out, &plan, &err);
        CHECK(ok);
        if (!ok) {
            fprintf(stderr, "%s\n", err.msg);
            continue;
        }
        CHECK_EQ_INT(plan.n_groups, 4); /* tied head: no "head" group */
        static const char *const names[] = {"embed", "layers.0", "layers.1", "final"};
        for (uint32_t g = 0; g < plan.n_groups && g < 4; g++) {
            const CcFlatGroup *grp = &plan.groups[g];
            CHECK_STR(grp->name, names[g]);
            CHECK_EQ_INT(grp->shard % CC_SHARD_BLOCK, 0);
            CHECK(grp->shard * ranks >= grp->numel && (grp->shard - CC_SHARD_BLOCK) * ranks < grp->numel);
            uint64_t off = 0, dend = 0;
            bool seen_nodecay = false;
            for (uint32_t k = 0; k < grp->n_members; k++) {
                const CcFlatMember *m = &grp->members[k];
                CHECK_EQ_INT(m->offset, off);
                CHECK_EQ_INT(m->numel, ir_type_numel(&m->type));
                off += m->numel;
                if (m->decays) {
                    CHECK(!seen_nodecay);
                    dend = off;
                } else {
                    seen_nodecay = true;
                }
                uint32_t fg, fk;
                CHECK(cc_shard_plan_find(&plan, m->name, &fg, &fk) && fg == g && fk == k);
            }
            CHECK_EQ_INT(grp->numel, off);
            CHECK_EQ_INT(grp->decay_end, dend);
        }
        /* embed: tok_emb [512,64] + pos_emb [64,64], no decay */
        CHECK_EQ_INT(plan.groups[0].numel, 512 * 64 + 64 * 64);
        CHECK_EQ_INT(plan.groups[0].decay_end, 0);
        CHECK_EQ_INT(plan.groups[0].shard, (512 * 64 + 64 * 64 + ranks * 256 - 1) / (ranks * 256) * 256);
        CHECK(!cc_shard_plan_find(&plan, "no.such.param", NULL, NULL));
        /* layers: the matrices decay, the gains and biases follow */
        CHECK(plan.groups[1].decay_end > 0 && plan.groups[1].decay_end < plan.groups[1].numel);
        CHECK(verified(out.micro) && verified(out.update));
        /* outputs of @micro': loss, then grad.flat.G in plan order */
        CHECK_EQ_INT(out.micro->n_outputs, 1 + plan.n_groups);
        CHECK_STR(ir_graph_str(out.micro, out.micro->outputs[0].name), "loss");
        CHECK_STR(ir_graph_str(out.micro, out.micro->outputs[1].name), "grad.flat.embed");
        CHECK(ir_graph_find_input(out.update, "rank") != IR_ID_NONE);
        CHECK(ir_graph_find_input(out.update, "opt.v.flat.layers.1") != IR_ID_NONE);
        CHECK(ir_graph_find_input(out.update, "hp.lr") != IR_ID_NONE);
        cc_shard_plan_free(&plan);
        cc_train_step_free(&out);
    }
    /* none: the update graph is @update */
    CcTrainStep out;
    LlmcErr err = {0};
    ok = cc_shard_step(&md.step, CC_SHARD_NONE, 2, &out, NULL, &err);
    CHECK(ok);
    if (ok) {
        LlmcBuf a = {0}, b = {0};
        ir_print_graph(out.update, &a);
        ir_print_graph(md.step.update, &b);
        CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
        llmc_buf_free(&a);
        llmc_buf_free(&b);
        CHECK_EQ_INT(out.micro->n_outputs, md.step.micro->n_outputs);
        uint32_t n_ar = 0;
        for (IrId id = 0; id < out.micro->n_nodes; id++) n_ar += out.micro->nodes[id].op == IR_OP_ALL_REDUCE;
        CHECK_EQ_INT(n_ar, md.step.micro->n_outputs);
        cc_train_step_free(&out);
    }
    model_free(&md);
}

static bool scope_in(const IrGraph *g, IrId id, const char *prefix) {
    return strncmp(ir_graph_str(g, g->nodes[id].scope), prefix, strlen(prefix)) == 0;
}

/* full on gpt2-tiny: two gathers per layer group, placed one group ahead. */
static void test_placement(void) {
    Model md;
    bool ok = load(&md, "gpt2-tiny");
    CHECK(ok);
    if (!ok) return;
    CcTrainStep out;
    CcShardPlan plan;
    LlmcErr err = {0};
    ok = cc_shard_step(&md.step, CC_SHARD_FULL, 2, &out, &plan, &err);
    CHECK(ok);
    if (!ok) {
        fprintf(stderr, "%s\n", err.msg);
        model_free(&md);
        return;
    }
    const IrGraph *g = out.micro;
    /* gathers[G][phase] */
    IrId gat[8][2];
    for (int i = 0; i < 8; i++) gat[i][0] = gat[i][1] = IR_ID_NONE;
    for (IrId id = 0; id < g->n_nodes; id++) {
        const IrNode *n = &g->nodes[id];
        if (n->op == IR_OP_INPUT && n->attrs.input.role == IR_ROLE_PARAM)
            CHECK(strncmp(ir_graph_str(g, n->attrs.input.name), "flat.", 5) == 0);
        if (n->op != IR_OP_ALL_GATHER) continue;
        const char *in = ir_graph_str(g, g->nodes[n->operands[0]].attrs.input.name);
        for (uint32_t k = 0; k < plan.n_groups; k++)
            if (strcmp(in + 5, plan.groups[k].name) == 0) gat[k][gat[k][0] == IR_ID_NONE ? 0 : 1] = id;
    }
    /* groups 1, 2 = layers.0, layers.1 */
    for (uint32_t k = 1; k <= 2; k++) CHECK(gat[k][0] != IR_ID_NONE && gat[k][1] != IR_ID_NONE);
    IrId first_mm0 = IR_ID_NONE, first_l1 = IR_ID_NONE;
    for (IrId id = 0; id < g->n_nodes; id++) {
        const IrNode *n = &g->nodes[id];
        if (first_mm0 == IR_ID_NONE && n->op == IR_OP_MATMUL && scope_in(g, id, "layers.0.")) first_mm0 = id;
        if (first_l1 == IR_ID_NONE && n->op != IR_OP_INPUT && n->op != IR_OP_ALL_GATHER && scope_in(g, id, "layers.1."))
            first_l1 = id;
    }
    CHECK(gat[2][0] < first_mm0);        /* layers.1 is prefetched during layers.0's forward */
    CHECK(gat[2][0] < first_l1);         /* ... and nothing of layers.1 runs before it */
    CHECK(gat[1][0] < gat[2][0]);        /* layers.0 before layers.1 */
    CHECK(gat[2][1] < gat[1][1]);        /* backward: layers.1 before layers.0 */
    /* the backward gather of layers.0 comes before the first backward reader of layers.1's */
    IrId first_bwd_l1 = IR_ID_NONE;
    for (IrId id = gat[2][1] + 1; id < g->n_nodes && first_bwd_l1 == IR_ID_NONE; id++) {
        const IrNode *n = &g->nodes[id];
        for (uint32_t k = 0; k < n->n_operands; k++) {
            const IrNode *o = &g->nodes[n->operands[k]];
            if (n->op != IR_OP_SLICE && o->op == IR_OP_SLICE && o->operands[0] == gat[2][1]) first_bwd_l1 = id;
            if (n->op != IR_OP_SLICE && o->op == IR_OP_RESHAPE && g->nodes[o->operands[0]].op == IR_OP_SLICE &&
                g->nodes[o->operands[0]].operands[0] == gat[2][1])
                first_bwd_l1 = id;
        }
    }
    CHECK(first_bwd_l1 != IR_ID_NONE && gat[1][1] < first_bwd_l1);
    /* live ranges: nothing after the loss reads a forward gather (through movement), and
     * the backward gathers come after the loss */
    IrId loss = g->outputs[out_index(g, "loss")].node;
    bool *chain = calloc(g->n_nodes, sizeof *chain);
    for (uint32_t k = 0; k < plan.n_groups; k++) {
        memset(chain, 0, g->n_nodes * sizeof *chain);
        chain[gat[k][0]] = true;
        IrId last = gat[k][0];
        for (IrId id = gat[k][0] + 1; id < g->n_nodes; id++) {
            const IrNode *n = &g->nodes[id];
            bool reads = false;
            for (uint32_t j = 0; j < n->n_operands; j++) reads |= chain[n->operands[j]];
            if (!reads) continue;
            last = id;
            chain[id] = n->op == IR_OP_SLICE || n->op == IR_OP_RESHAPE || n->op == IR_OP_PERMUTE ||
                        n->op == IR_OP_BROADCAST;
        }
        if (!(last < loss))
            fprintf(stderr, "forward gather of %s read at %%%u, after the loss %%%u\n", plan.groups[k].name, last, loss);
        CHECK(last < loss);
        if (gat[k][1] != IR_ID_NONE) CHECK(gat[k][1] > loss);
    }
    free(chain);
    /* embed is read by gathers (forward) and by the tied head's backward */
    CHECK(gat[0][0] != IR_ID_NONE);
    /* reduce_scatters: one per group, after the group's gradients */
    uint32_t n_rs = 0;
    for (IrId id = 0; id < g->n_nodes; id++) n_rs += g->nodes[id].op == IR_OP_REDUCE_SCATTER;
    CHECK_EQ_INT(n_rs, plan.n_groups);
    CHECK(verified(out.micro) && verified(out.update));
    CHECK(ir_graph_find_input(out.update, "flat.layers.0") != IR_ID_NONE);
    CHECK(out_index(out.update, "flat.layers.0") >= 0);
    cc_shard_plan_free(&plan);
    cc_train_step_free(&out);
    model_free(&md);
}

int main(int argc, char **argv) {
    test_errors();
    test_plan();
    test_placement();
    if (argc > 1) {
        for (int i = 1; i < argc; i++) check_model(argv[i]);
    } else {
        check_model("gpt2-tiny");
        check_model("llama-tiny");
        check_model("moe-tiny");
        g_sgd = true;
        check_model("llama-tiny");
    }
    TEST_MAIN();
}
