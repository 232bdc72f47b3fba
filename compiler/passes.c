/* compiler/passes.c — the pass registry: every pass that `llmir opt --passes=` can name,
 * in one table, with a one-line summary for --help.
 *
 * It deliberately holds no pass logic: each pass lives in its own file.
 */
#include "compiler.h"

#include <string.h>

static IrGraph *run_autodiff(const IrGraph *g, LlmcErr *err) {
    CcGradOptions opt = {0};
    return cc_grad(g, &opt, err);
}

static IrGraph *run_autodiff_remat(const IrGraph *g, LlmcErr *err) {
    CcGradOptions opt = {.remat_layers = true};
    return cc_grad(g, &opt, err);
}

static const CcPass passes[] = {
    {"autodiff", "append the backward pass of output \"loss\" (outputs grad.P per param P)", run_autodiff},
    {"autodiff-remat", "autodiff, recomputing each layers.N scope's forward in backward (simplify's CSE would "
                       "merge the copies back)", run_autodiff_remat},
    {"fold", "constant folding: evaluate nodes whose operands are all constants", cc_pass_fold},
    {"algebra", "exact algebraic identities: x*1, x+(-0), reshape of reshape, permute of permute, ...", cc_pass_algebra},
    {"cse", "common subexpression elimination", cc_pass_cse},
    {"dce", "dead code elimination: drop nodes no output depends on", cc_pass_dce},
    {"simplify", "algebra, fold, cse and dce, repeated to a fixed point", cc_pass_simplify},
};

const CcPass *cc_pass_list(uint32_t *count) {
    *count = sizeof passes / sizeof passes[0];
    return passes;
}

const CcPass *cc_pass_find(const char *name) {
    for (size_t i = 0; i < sizeof passes / sizeof passes[0]; i++)
        if (strcmp(passes[i].name, name) == 0) return &passes[i];
    return NULL;
}
