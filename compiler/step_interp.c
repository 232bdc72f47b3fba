/* compiler/step_interp.c — cc_step_interp: one whole optimizer step on the reference
 * interpreter, the way the runtime will run it: the micro-batch graph once per global
 * micro-batch 0..accumulate-1, every output summed in the fixed tree order (CcAccum),
 * then the update graph once.
 *
 * Inputs of the micro graph, by role and name: "micro" (data, i32[]) is the micro-batch
 * index; any other data input comes from the callback; params and state ("seed",
 * "step") from vars. Inputs of the update graph: "grad.P" is the accumulated micro
 * output of that name; everything else from vars. Outputs of the update graph replace
 * the vars of the same name; "lr" and "grad_norm" also go to the result.
 * Deliberately not here: ranks (the shard issue divides micro-batches among them; the
 * tree order is what keeps that bit-identical), data loading, checkpoints.
 */
#include "compiler.h"

#include <stdlib.h>
#include <string.h>

static CcVar *find_var(CcVar *vars, uint32_t n, const char *name) {
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(vars[i].name, name) == 0) return &vars[i];
    return NULL;
}

static bool var_input(CcVar *vars, uint32_t n_vars, const IrGraph *g, const IrNode *node, IrValue *out,
                      LlmcErr *err) {
    const char *name = ir_graph_str(g, node->attrs.input.name);
    CcVar *v = find_var(vars, n_vars, name);
    if (!v) {
        llmc_err_set(err, "graph @%s needs %s input '%s', which no var holds", ir_graph_name(g),
                     ir_role_name(node->attrs.input.role), name);
        return false;
    }
    if (!ir_type_equal(&v->value.type, &node->type) || !v->value.data) {
        char a[IR_TYPE_STR_MAX], b[IR_TYPE_STR_MAX];
        llmc_err_set(err, "var '%s' is %s but graph @%s expects %s", name, ir_type_format(&v->value.type, a, sizeof a),
                     ir_graph_name(g), ir_type_format(&node->type, b, sizeof b));
        return false;
    }
    *out = v->value; /* shallow: the interpreter only reads inputs */
    return true;
}

static void free_values(IrValue *v, uint32_t n) {
    if (!v) return;
    for (uint32_t i = 0; i < n; i++) ir_value_free(&v[i]);
    free(v);
}

static int32_t output_index(const IrGraph *g, const char *name) {
    for (uint32_t o = 0; o < g->n_outputs; o++)
        if (strcmp(ir_graph_str(g, g->outputs[o].name), name) == 0) return (int32_t)o;
    return -1;
}

/* Runs micro-batch `index`: its outputs into out[micro->n_outputs]. */
static bool run_micro(const CcTrainStep *s, uint32_t index, CcVar *vars, uint32_t n_vars, CcBatchFn batch, void *ctx,
                      const IrInterpOptions *opt, IrValue *out, LlmcErr *err) {
    const IrGraph *g = s->micro;
    uint32_t n_in = ir_graph_inputs(g, NULL);
    IrId *ids = llmc_xcalloc(n_in ? n_in : 1, sizeof *ids);
    ir_graph_inputs(g, ids);
    IrValue *in = llmc_xcalloc(n_in ? n_in : 1, sizeof *in);
    bool *owned = llmc_xcalloc(n_in ? n_in : 1, sizeof *owned);
    bool ok = true;
    for (uint32_t i = 0; ok && i < n_in; i++) {
        const IrNode *node = &g->nodes[ids[i]];
        const char *name = ir_graph_str(g, node->attrs.input.name);
        if (node->attrs.input.role != IR_ROLE_DATA) {
            ok = var_input(vars, n_vars, g, node, &in[i], err);
            continue;
        }
        owned[i] = true;
        if (strcmp(name, "micro") == 0 && node->type.dtype == IR_DTYPE_I32 && node->type.rank == 0) {
            ir_value_alloc(&in[i], node->type);
            in[i].data[0] = (double)index;
            continue;
        }
        if (!batch) {
            llmc_err_set(err, "graph @%s needs data input '%s' but no batch callback was given", ir_graph_name(g), name);
            ok = false;
            break;
        }
        LlmcErr e = {0};
        if (!batch(ctx, index, name, &in[i], &e)) {
            llmc_err_set(err, "micro-batch %u, input '%s': %s", index, name, e.set ? e.msg : "the callback failed");
            ok = false;
        } else if (!in[i].data || !ir_type_equal(&in[i].type, &node->type)) {
            char a[IR_TYPE_STR_MAX], b[IR_TYPE_STR_MAX];
            llmc_err_set(err, "micro-batch %u: the callback gave input '%s' as %s, expected %s", index, name,
                         in[i].data ? ir_type_format(&in[i].type, a, sizeof a) : "nothing",
                         ir_type_format(&node->type, b, sizeof b));
            ok = false;
        }
    }
    if (ok) ok = ir_interp_run(g, opt, in, out, err);
    for (uint32_t i = 0; i < n_in; i++)
        if (owned[i]) ir_value_free(&in[i]);
    free(in);
    free(owned);
    free(ids);
    return ok;
}

bool cc_step_interp(const CcTrainStep *s, CcVar *vars, uint32_t n_vars, CcBatchFn batch, void *ctx,
                    IrPrecision precision, CcStepResult *res, LlmcErr *err) {
    const IrGraph *micro = s->micro, *update = s->update;
    memset(res, 0, sizeof *res);
    int64_t count = micro->train.present ? micro->train.accumulate : 1;
    if (update->train.present && update->train.accumulate != count) {
        llmc_err_set(err, "the micro graph accumulates %lld micro-batches but the update graph divides by %lld",
                     (long long)count, (long long)update->train.accumulate);
        return false;
    }
    int32_t loss_out = output_index(micro, "loss");
    if (loss_out < 0) {
        llmc_err_set(err, "graph @%s has no output \"loss\"", ir_graph_name(micro));
        return false;
    }
    IrInterpOptions opt = {.precision = precision, .ranks = 1};

    /* Micro-batches, summed in tree order. */
    uint32_t n_mo = micro->n_outputs;
    IrValue *mo = llmc_xcalloc(n_mo ? n_mo : 1, sizeof *mo);
    IrType *types = llmc_xcalloc(n_mo ? n_mo : 1, sizeof *types);
    for (uint32_t o = 0; o < n_mo; o++) types[o] = micro->nodes[micro->outputs[o].node].type;
    CcAccum *acc = cc_accum_new(types, n_mo, precision);
    free(types);
    for (int64_t i = 0; i < count; i++) {
        IrValue *one = llmc_xcalloc(n_mo ? n_mo : 1, sizeof *one);
        if (!run_micro(s, (uint32_t)i, vars, n_vars, batch, ctx, &opt, one, err)) {
            free(one);
            free(mo);
            cc_accum_free(acc);
            return false;
        }
        cc_accum_push(acc, one);
        free_values(one, n_mo);
    }
    cc_accum_finish(acc, mo);
    cc_accum_free(acc);
    double loss = mo[loss_out].data[0] / (double)count;
    res->loss = precision == IR_PRECISION_F32 ? (double)(float)loss : loss;

    /* The update. */
    uint32_t n_in = ir_graph_inputs(update, NULL);
    IrId *ids = llmc_xcalloc(n_in ? n_in : 1, sizeof *ids);
    ir_graph_inputs(update, ids);
    IrValue *in = llmc_xcalloc(n_in ? n_in : 1, sizeof *in);
    bool ok = true;
    for (uint32_t i = 0; ok && i < n_in; i++) {
        const IrNode *node = &update->nodes[ids[i]];
        const char *name = ir_graph_str(update, node->attrs.input.name);
        if (strncmp(name, CC_GRAD_PREFIX, strlen(CC_GRAD_PREFIX)) == 0) {
            int32_t o = output_index(micro, name);
            if (o < 0) {
                llmc_err_set(err, "graph @%s needs '%s', which graph @%s does not compute", ir_graph_name(update), name,
                             ir_graph_name(micro));
                ok = false;
            } else {
                in[i] = mo[o]; /* shallow; types were checked by the interpreter */
            }
            continue;
        }
        ok = var_input(vars, n_vars, update, node, &in[i], err);
    }
    IrValue *uo = llmc_xcalloc(update->n_outputs ? update->n_outputs : 1, sizeof *uo);
    if (ok) ok = ir_interp_run(update, &opt, in, uo, err);
    free(in);
    free(ids);
    free_values(mo, n_mo);
    if (!ok) {
        free(uo);
        return false;
    }
    for (uint32_t o = 0; o < update->n_outputs; o++) {
        const char *name = ir_graph_str(update, update->outputs[o].name);
        if (strcmp(name, "lr") == 0) res->lr = uo[o].data[0];
        if (strcmp(name, "grad_norm") == 0) res->grad_norm = uo[o].data[0];
        CcVar *v = find_var(vars, n_vars, name);
        if (v) {
            ir_value_free(&v->value);
            v->value = uo[o];
        } else {
            ir_value_free(&uo[o]);
        }
    }
    free(uo);
    return true;
}
