/* frontend/lower_extern.c — extern functions: checking their declarations and lowering
 * their calls to `extern_call` nodes (docs/llm.md "Extern functions").
 *
 *   extern "libact.so" fn swish(x: f32[*]) -> f32[same]
 *       backward swish_grad(x: f32[same], dy: f32[same]) -> f32[same]
 *   ...
 *   x = swish(x)   ->   %9 = extern_call(%8) {backward="libact.so:swish_grad", symbol="libact.so:swish"} : f32[B,T,D]
 *
 * The declaration is the C signature under the calling convention of runtime/extern.c:
 * f32 tensors of one element count, `void fn(const float *x1, ..., float *out, int64_t n)`.
 * So a parameter's shape is `*` (any; the first parameter only) or `same` (the first
 * parameter's), and so is the result's. A backward takes the forward's parameters and
 * then the result's gradient and returns the first parameter's gradient; it is allowed
 * for one-parameter functions only (autodiff's rule, compiler/grad_misc.c, calls
 * dx = backward(x, dy)). Its signature may be left out: it is then that one.
 *
 * Not here: loading the library (the runtime's, at executor build time — the compiler
 * never opens it), other dtypes, scalar parameters, explicit dimensions.
 */
#include "frontend_int.h"

#include <stdlib.h>
#include <string.h>

const FeExtern *fe_extern_find(const FeProgram *p, const char *name) {
    for (uint32_t i = 0; i < p->n_externs; i++)
        if (strcmp(p->externs[i].fn.name, name) == 0) return &p->externs[i];
    return NULL;
}

/* "lib:fn" in the arena of the graph's strings (interned by the builder). */
static void symbol_of(LlmcBuf *b, const FeExtern *x, const char *fn) {
    b->len = 0;
    llmc_buf_printf(b, "%s:%s", x->library, fn);
}

static bool check_type(FeLower *L, const LlmcSource *src, const FeExternType *t, bool any_ok, const char *what,
                       const char *fn) {
    bool ok = true;
    if (strcmp(t->dtype, "f32") != 0) {
        fe_lower_error(L, src, t->loc, "%s of extern %s: dtype '%s' is not supported; extern functions take and "
                       "return f32 tensors", what, fn, t->dtype);
        ok = false;
    }
    if (t->shape == FE_XSHAPE_ANY && !any_ok) {
        fe_lower_error(L, src, t->loc, "%s of extern %s: only the first parameter takes any shape ('*'); the "
                       "others and the result are [same] (one element count n is passed for all)", what, fn);
        ok = false;
    }
    return ok;
}

static bool check_sig(FeLower *L, const LlmcSource *src, const FeExternSig *sig) {
    bool ok = true;
    char what[128];
    for (uint32_t i = 0; i < sig->n_params; i++) {
        snprintf(what, sizeof what, "parameter '%s'", sig->params[i].name);
        ok &= check_type(L, src, &sig->params[i].type, i == 0, what, sig->name);
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(sig->params[j].name, sig->params[i].name) == 0) {
                fe_lower_error(L, src, sig->params[i].loc, "extern %s: parameter '%s' is declared twice", sig->name,
                               sig->params[i].name);
                ok = false;
            }
    }
    return check_type(L, src, &sig->result, false, "the result", sig->name) && ok;
}

bool fe_extern_check_decls(FeLower *L, const FeProgram *p) {
    const LlmcSource *src = &p->src;
    bool ok = true;
    for (uint32_t i = 0; i < p->n_externs; i++) {
        const FeExtern *x = &p->externs[i];
        if (!x->library[0] || x->library[strlen(x->library) - 1] == '/' || strchr(x->library, ':')) {
            fe_lower_error(L, src, x->library_loc, "extern library \"%s\": expected a shared library's file name or "
                           "path, such as \"libact.so\" or \"./build/libact.so\" (no ':')", x->library);
            ok = false;
        }
        if (fe_lower_find_builtin(x->fn.name)) {
            fe_lower_error(L, src, x->fn.loc, "extern %s: a builtin has this name", x->fn.name);
            ok = false;
        }
        const FeExtern *first = fe_extern_find(p, x->fn.name);
        if (first != x) {
            fe_lower_error(L, src, x->fn.loc, "extern %s is declared twice (first at %u:%u)", x->fn.name,
                           first->fn.loc.line, first->fn.loc.col);
            ok = false;
        }
        if (x->fn.n_params == 0) {
            fe_lower_error(L, src, x->fn.loc, "extern %s: needs at least one tensor parameter (the result has the "
                           "first one's shape)", x->fn.name);
            ok = false;
        }
        ok &= check_sig(L, src, &x->fn);
        if (!x->has_backward) continue;
        const FeExternSig *bw = &x->backward;
        if (x->fn.n_params != 1) {
            fe_lower_error(L, src, bw->loc, "backward %s: a backward is supported for one-parameter extern functions "
                           "only (%s has %u)", bw->name, x->fn.name, x->fn.n_params);
            ok = false;
            continue;
        }
        if (!bw->spelled) continue;
        if (bw->n_params != 2 || !check_sig(L, src, bw)) {
            if (bw->n_params != 2)
                fe_lower_error(L, src, bw->loc, "backward %s has the wrong signature: it takes %s's parameter and the "
                               "result's gradient, (%s: f32[same], dy: f32[same]) -> f32[same]; it declares %u "
                               "parameter%s", bw->name, x->fn.name, x->fn.params[0].name, bw->n_params,
                               bw->n_params == 1 ? "" : "s");
            ok = false;
        }
    }
    return ok;
}

bool fe_extern_call(FeLower *L, const LlmcSource *src, FeBuild *fb, const FeExtern *x, const FeExpr *call,
                    const FeValue *args, FeValue *out) {
    const FeExternSig *sig = &x->fn;
    uint32_t n = call->u.call.n_args;
    for (uint32_t i = 0; i < n; i++)
        if (args[i].kind == FE_VAL_ERROR) return false; /* reported already */
    if (!fb) return fe_lower_error(L, src, call->loc, "extern %s(...) belongs in the model block", sig->name);
    for (uint32_t i = 0; i < n; i++)
        if (call->u.call.args[i].name)
            return fe_lower_error(L, src, call->u.call.args[i].name_loc, "arguments of extern %s are positional",
                                  sig->name);
    if (n != sig->n_params)
        return fe_lower_error(L, src, call->loc, "extern %s takes %u argument%s, got %u", sig->name, sig->n_params,
                              sig->n_params == 1 ? "" : "s", n);
    const IrGraph *g = fb->b.g;
    IrId *ids = llmc_xcalloc(n ? n : 1, sizeof *ids);
    bool ok = true;
    char ts[IR_TYPE_STR_MAX], fs[IR_TYPE_STR_MAX];
    for (uint32_t i = 0; ok && i < n; i++) {
        FeLoc at = call->u.call.args[i].value->loc;
        if (args[i].kind != FE_VAL_TENSOR) {
            ok = fe_lower_error(L, src, at, "argument '%s' of extern %s must be an f32 tensor", sig->params[i].name,
                                sig->name);
            break;
        }
        ids[i] = args[i].u.t;
        const IrType *t = &g->nodes[ids[i]].type;
        if (t->dtype != IR_DTYPE_F32)
            ok = fe_lower_error(L, src, at, "argument '%s' of extern %s must be an f32 tensor, got %s",
                                sig->params[i].name, sig->name, ir_type_format(t, ts, sizeof ts));
        else if (i > 0 && !ir_type_equal(t, &g->nodes[ids[0]].type))
            ok = fe_lower_error(L, src, at, "argument '%s' of extern %s must have the shape of '%s' (%s), got %s",
                                sig->params[i].name, sig->name, sig->params[0].name,
                                ir_type_format(&g->nodes[ids[0]].type, fs, sizeof fs), ir_type_format(t, ts, sizeof ts));
    }
    if (ok) {
        LlmcBuf sym = {0}, bwd = {0};
        symbol_of(&sym, x, sig->name);
        if (x->has_backward) symbol_of(&bwd, x, x->backward.name);
        IrType rt = g->nodes[ids[0]].type;
        IrId y = ir_build_extern_call_bwd(&fb->b, sym.data, x->has_backward ? bwd.data : NULL, ids, n, rt);
        llmc_buf_free(&sym);
        llmc_buf_free(&bwd);
        if (!ir_builder_ok(&fb->b) || y == IR_ID_NONE) {
            ok = fe_lower_error(L, src, call->loc, "extern %s: %s", sig->name,
                                fb->b.err.set ? fb->b.err.msg : "could not build the IR");
            llmc_err_clear(&fb->b.err);
        } else {
            out->kind = FE_VAL_TENSOR;
            out->u.t = y;
        }
    }
    free(ids);
    return ok;
}
