/* tests/step/test_step_flops.c — the useful FLOPs of a training step (compiler/flops.c)
 * do not depend on how attention is lowered: every tiny model with attention, built into
 * a step (cc_train_step_build) once with the default fused `attention` op and once with
 * `fused = false` on every attention call (the composite: QK^T and PV matmuls and the
 * backward's four), credits exactly the same useful FLOPs per micro-batch and per step.
 * Also: the fused step really has the fused ops (and the composite none); its matmul
 * work exceeds its useful work by exactly the attention_lse recomputation; and
 * cc_node_useful_flops summed over @micro is cc_step_flops' micro_useful.
 */
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "frontend.h"
#include "test.h"

/* text with ", fused = false" added before the closing parenthesis of every
 * `attention(` call (nested parentheses skipped). Caller frees. */
static char *unfuse(const char *text) {
    static const char add[] = ", fused = false";
    size_t n = strlen(text), cap = n + 1;
    for (const char *p = text; (p = strstr(p, "attention(")) != NULL; p++) cap += sizeof add;
    char *out = malloc(cap), *o = out;
    const char *p = text;
    for (const char *a; (a = strstr(p, "attention(")) != NULL;) {
        const char *q = a + strlen("attention(");
        for (int depth = 1; *q && depth > 0; q++) depth += (*q == '(') - (*q == ')');
        q--; /* the closing parenthesis */
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        memcpy(o, add, sizeof add - 1);
        o += sizeof add - 1;
        p = q;
    }
    strcpy(o, p);
    return out;
}

static bool build_step(const char *path, const char *text, CcTrainStep *step) {
    LlmcSource src = {path, text, strlen(text)};
    LlmcDiags d = {0};
    FeProgram *p = fe_parse(&src, &d);
    static const FeOverride ov[] = {{"batch", "2"}, {"seq", "8"}};
    FeLowerOptions opt = {ov, 2};
    IrModule m = {0};
    bool ok = p && fe_lower(p, &opt, &m, &d);
    if (!ok) llmc_diags_print(&d, stderr);
    LlmcErr err = {0};
    if (ok && !(ok = cc_train_step_build(&m, step, &err))) fprintf(stderr, "  %s: %s\n", path, err.msg);
    ir_module_free(&m);
    fe_program_free(p);
    llmc_diags_free(&d);
    return ok;
}

static uint32_t count_op(const IrGraph *g, IrOp op) {
    uint32_t n = 0;
    for (IrId id = 0; id < g->n_nodes; id++) n += g->nodes[id].op == op;
    return n;
}

static void check_model(const char *name) {
    char path[128];
    snprintf(path, sizeof path, "models/%s.llm", name);
    char *text = NULL;
    size_t len = 0;
    LlmcErr err = {0};
    if (!llmc_file_read(path, &text, &len, &err)) {
        fprintf(stderr, "  %s\n", err.msg);
        CHECK(!"model file readable");
        return;
    }
    char *plain_text = unfuse(text);
    CHECK(strstr(plain_text, "fused = false") != NULL);
    CcTrainStep fused = {0}, plain = {0};
    bool ok = build_step(path, text, &fused) && build_step(path, plain_text, &plain);
    CHECK(ok);
    if (ok) {
        uint32_t layers = count_op(fused.micro, IR_OP_ATTENTION);
        CHECK(layers > 0);
        CHECK_EQ_INT(count_op(fused.micro, IR_OP_ATTENTION_LSE), layers);
        CHECK_EQ_INT(count_op(fused.micro, IR_OP_ATTENTION_GRAD), 3 * layers);
        CHECK_EQ_INT(count_op(plain.micro, IR_OP_ATTENTION) + count_op(plain.micro, IR_OP_ATTENTION_GRAD), 0);
        CcStepFlops ff = cc_step_flops(&fused), fp = cc_step_flops(&plain);
        fprintf(stderr, "  %-16s useful %.0f (fused) vs %.0f (composite) FLOPs per micro-batch\n", name,
                ff.micro_useful, fp.micro_useful);
        CHECK(ff.micro_useful > 0);
        CHECK(ff.micro_useful == fp.micro_useful);
        CHECK(ff.step_useful == fp.step_useful);
        double lse = 0, useful = 0;
        for (IrId id = 0; id < fused.micro->n_nodes; id++) {
            if (fused.micro->nodes[id].op == IR_OP_ATTENTION_LSE) lse += (double)ir_node_flops(fused.micro, id);
            useful += cc_node_useful_flops(fused.micro, id);
        }
        CHECK(lse > 0);
        CHECK(ff.micro_matmul == fp.micro_matmul + lse);
        CHECK(useful == ff.micro_useful);
    }
    cc_train_step_free(&fused);
    cc_train_step_free(&plain);
    free(plain_text);
    free(text);
}

int main(void) {
    /* MHA with biases, GQA + RoPE, MQA, parallel blocks, post-norm */
    static const char *const models[] = {"gpt2-tiny", "llama-tiny", "mqa-tiny", "parallel-tiny", "transformer-tiny"};
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) check_model(models[i]);
    TEST_MAIN();
}
