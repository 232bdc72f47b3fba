/* tests/extern/test_extern.c — extern functions end to end (docs/llm.md "Extern
 * functions"): the .llm declaration and its errors, the extern_call nodes and their
 * .llir round trip, autodiff through the declared backward against finite differences,
 * and the executor's libffi calls against the interpreter's hook, with every error case.
 *
 * The library is libllmc_test_act.so (tests/extern/act.c), which ctest puts on
 * LD_LIBRARY_PATH; the model is tests/extern/gpt2-swish-tiny.llm.
 *
 * usage: test_extern lower|grad|exec      (run from the source dir)
 *   lower  (unit) declarations, calls and their diagnostics at line:col; the nodes'
 *          attributes; print(parse(print)) of the lowered module; autodiff's error for
 *          an extern without a backward under training
 *   grad   (grad) the model's gradient (cc_grad, through swish_grad) against the
 *          five-point central difference of the f64 forward (the hook calls swish_f64),
 *          on 3 random coordinates of every param tensor; criterion as
 *          tests/grad/test_grad_models.c
 *   exec   (jit) @micro of the model through the executor (libffi) against the
 *          interpreter (hook, f32): loss within 1e-5 relative, every gradient within 1e-4
 *          by ||jit - ref|| / ||ref||; a two-argument extern; and the build-time errors
 *          (missing library, missing symbol, unsatisfiable signature, bad symbol)
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "frontend.h"
#include "runtime.h"
#include "test.h"

#define LIB "libllmc_test_act.so"
#define MODEL "tests/extern/gpt2-swish-tiny.llm"
#define TOL 1e-6

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint64_t rng_next(void) { /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* --- lowering ------------------------------------------------------------------------ */

static const FeOverride small[] = {{"batch", "1"}, {"seq", "8"}};

/* Lowers text; diagnostics into *d (caller frees). */
static bool lower_text(const char *name, const char *text, IrModule *m, LlmcDiags *d) {
    LlmcSource src = {name, text, strlen(text)};
    FeProgram *p = fe_parse(&src, d);
    FeLowerOptions opt = {small, 2};
    bool ok = p && fe_lower(p, &opt, m, d);
    fe_program_free(p);
    return ok;
}

static bool lower_model(IrModule *m) {
    char *text = NULL;
    size_t len = 0;
    LlmcErr err = {0};
    if (!llmc_file_read(MODEL, &text, &len, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return false;
    }
    LlmcDiags d = {0};
    bool ok = lower_text(MODEL, text, m, &d);
    if (!ok) llmc_diags_print(&d, stderr);
    llmc_diags_free(&d);
    free(text);
    return ok;
}

/* --- lower: declarations and diagnostics --------------------------------------------- */

static const char *const decl = "extern \"" LIB "\" fn swish(x: f32[*]) -> f32[same] backward swish_grad\n";

/* The model around `body` (line 5 on), after the declarations `decls` (one line). */
static char *program(const char *decls, const char *body) {
    LlmcBuf b = {0};
    llmc_buf_printf(&b,
                    "%s"
                    "model m {\n"
                    "    vocab = 16; context = 8; dim = 8\n"
                    "    x = embed(tokens, vocab, dim)\n"
                    "%s\n"
                    "    loss = cross_entropy(lm_head(x), targets)\n"
                    "}\n",
                    decls, body);
    return b.data;
}

/* The first error must be at line:col and contain want. */
static void expect_error(const char *decls, const char *body, uint32_t line, uint32_t col, const char *want) {
    char *text = program(decls, body);
    IrModule m = {0};
    LlmcDiags d = {0};
    bool ok = lower_text("e.llm", text, &m, &d);
    CHECK(!ok);
    const LlmcDiag *e = NULL;
    for (uint32_t i = 0; i < d.count && !e; i++)
        if (d.items[i].severity == LLMC_SEV_ERROR) e = &d.items[i];
    bool match = e && e->line == line && e->col == col && strstr(e->msg, want);
    CHECK(match);
    if (!match) {
        fprintf(stderr, "  wanted %u:%u: ...%s...\n  for:\n%s  got:\n", line, col, want, text);
        llmc_diags_print(&d, stderr);
    }
    if (ok) ir_module_free(&m);
    llmc_diags_free(&d);
    free(text);
}

static void test_diagnostics(void) {
    /* the declaration */
    expect_error("extern libact fn f(x: f32[*]) -> f32[same]\n", "", 1, 8, "expected the library as a string");
    expect_error("extern \"\" fn f(x: f32[*]) -> f32[same]\n", "", 1, 8, "expected a shared library's file name");
    expect_error("extern \"libx.so:\" fn f(x: f32[*]) -> f32[same]\n", "", 1, 8, "(no ':')");
    expect_error("extern \"libx.so\" f(x: f32[*]) -> f32[same]\n", "", 1, 18, "expected 'fn' after the library");
    expect_error("extern \"libx.so\" fn f(x f32[*]) -> f32[same]\n", "", 1, 25, "expected ':'");
    expect_error("extern \"libx.so\" fn f(x: f32[2]) -> f32[same]\n", "", 1, 30, "expected a shape");
    expect_error("extern \"libx.so\" fn f(x: f32[*]) f32[same]\n", "", 1, 34, "expected '->'");
    expect_error("extern \"libx.so\" fn f(x: f64[*]) -> f32[same]\n", "", 1, 26, "dtype 'f64' is not supported");
    expect_error("extern \"libx.so\" fn f(x: f32[*]) -> f32[*]\n", "", 1, 37, "only the first parameter takes any shape");
    expect_error("extern \"libx.so\" fn f(x: f32[*], y: f32[*]) -> f32[same]\n", "", 1, 37,
                 "only the first parameter takes any shape");
    expect_error("extern \"libx.so\" fn f() -> f32[same]\n", "", 1, 21, "needs at least one tensor parameter");
    expect_error("extern \"libx.so\" fn mlp(x: f32[*]) -> f32[same]\n", "", 1, 21, "a builtin has this name");
    expect_error("extern \"a.so\" fn f(x: f32[*]) -> f32[same]\nextern \"b.so\" fn f(x: f32[*]) -> f32[same]\n", "", 2,
                 18, "extern f is declared twice");
    /* the backward */
    expect_error("extern \"libx.so\" fn f(x: f32[*]) -> f32[same] backward g(x: f32[same]) -> f32[same]\n", "", 1,
                 56, "backward g has the wrong signature");
    expect_error("extern \"libx.so\" fn f(x: f32[*]) -> f32[same] backward g(x: f32[*], dy: f64[same]) -> f32[same]\n",
                 "", 1, 73, "dtype 'f64' is not supported");
    expect_error("extern \"libx.so\" fn f(x: f32[*], y: f32[same]) -> f32[same] backward g\n", "", 1, 70,
                 "supported for one-parameter extern functions only");
    expect_error("extern \"libx.so\" fn f(x: f32[*]) -> f32[same] backward\n", "", 1, 55,
                 "expected the backward function's name");
    /* calls */
    expect_error(decl, "    y = swish(x, x)", 5, 9, "extern swish takes 1 argument, got 2");
    expect_error(decl, "    y = swish()", 5, 9, "extern swish takes 1 argument, got 0");
    expect_error(decl, "    y = swish(tokens)", 5, 15, "argument 'x' of extern swish must be an f32 tensor, got i32[1,8]");
    expect_error(decl, "    y = swish(3)", 5, 15, "argument 'x' of extern swish must be an f32 tensor");
    expect_error(decl, "    y = swish(x = x)", 5, 15, "arguments of extern swish are positional");
    expect_error("extern \"libx.so\" fn f(a: f32[*], b: f32[same]) -> f32[same]\n", "    y = f(x, lm_head(x))", 5, 14,
                 "argument 'b' of extern f must have the shape of 'a' (f32[1,8,8]), got f32[1,8,16]");
    expect_error(decl, "    extern \"l.so\" fn g(x: f32[*]) -> f32[same]", 5, 5, "belongs at the top level");
    /* in the train block */
    char *text = program(decl, "");
    LlmcBuf b = {0};
    llmc_buf_printf(&b, "%strain {\n    steps = swish(1)\n}\n", text);
    IrModule m = {0};
    LlmcDiags d = {0};
    CHECK(!lower_text("e.llm", b.data, &m, &d));
    bool found = false;
    for (uint32_t i = 0; i < d.count; i++)
        found |= d.items[i].line == 9 && d.items[i].col == 13 && strstr(d.items[i].msg, "belongs in the model block");
    CHECK(found);
    if (!found) llmc_diags_print(&d, stderr);
    llmc_diags_free(&d);
    llmc_buf_free(&b);
    free(text);
}

/* A valid program: the node, its attributes, scope and location; a backward on a line
 * of its own; the AST dump. */
static void test_lowering(void) {
    char *text = program("extern \"libx.so\" fn f(a: f32[*], b: f32[same]) -> f32[same]\n"
                         "extern \"./d/liby.so\" fn g(x: f32[*]) -> f32[same]\n"
                         "    backward g_bwd\n",
                         "    repeat 1 { x = g(f(x, x * 2)) }");
    IrModule m = {0};
    LlmcDiags d = {0};
    bool ok = lower_text("ok.llm", text, &m, &d);
    CHECK(ok);
    if (!ok) llmc_diags_print(&d, stderr);
    llmc_diags_free(&d);
    if (ok) {
        const IrGraph *g = m.graphs[0];
        int seen = 0;
        for (IrId id = 0; id < g->n_nodes; id++) {
            const IrNode *n = &g->nodes[id];
            if (n->op != IR_OP_EXTERN_CALL) continue;
            const char *sym = ir_graph_str(g, n->attrs.extern_call.symbol);
            const char *bwd = ir_graph_str(g, n->attrs.extern_call.backward);
            CHECK_STR(ir_graph_str(g, n->scope), "blocks.0");
            CHECK_EQ_INT(n->loc.line, 7);
            if (seen == 0) {
                CHECK_STR(sym, "libx.so:f");
                CHECK_STR(bwd, "");
                CHECK_EQ_INT(n->n_operands, 2);
                CHECK_EQ_INT(n->loc.col, 22);
            } else {
                CHECK_STR(sym, "./d/liby.so:g");
                CHECK_STR(bwd, "./d/liby.so:g_bwd");
                CHECK_EQ_INT(n->loc.col, 20);
            }
            CHECK_STR(ir_type_format(&n->type, (char[IR_TYPE_STR_MAX]){0}, IR_TYPE_STR_MAX), "f32[1,8,8]");
            seen++;
        }
        CHECK_EQ_INT(seen, 2);
        ir_module_free(&m);
    }
    /* the AST */
    LlmcSource src = {"ok.llm", text, strlen(text)};
    FeProgram *p = fe_parse(&src, &d);
    CHECK(p != NULL);
    LlmcBuf ast = {0};
    fe_ast_print(p, &ast);
    const char *want = "extern \"libx.so\" fn f @1:1\n"
                       "  param a: f32[*] @1:26\n"
                       "  param b: f32[same] @1:37\n"
                       "  result: f32[same] @1:51\n"
                       "extern \"./d/liby.so\" fn g @2:1\n"
                       "  param x: f32[*] @2:30\n"
                       "  result: f32[same] @2:41\n"
                       "  backward g_bwd @3:14\n"
                       "model m @4:1\n";
    CHECK(ast.data && strncmp(ast.data, want, strlen(want)) == 0);
    if (!ast.data || strncmp(ast.data, want, strlen(want)) != 0) fprintf(stderr, "  AST:\n%s", ast.data);
    llmc_buf_free(&ast);
    fe_program_free(p);
    llmc_diags_free(&d);
    free(text);
}

/* The model: two swish calls with their backward; print(parse(print)) identical;
 * training without a backward is autodiff's error, naming the extern and the .llm. */
static void test_model_ir(void) {
    IrModule m = {0};
    bool ok = lower_model(&m);
    CHECK(ok);
    if (!ok) return;
    const IrGraph *g = m.graphs[0];
    int n = 0;
    for (IrId id = 0; id < g->n_nodes; id++)
        if (g->nodes[id].op == IR_OP_EXTERN_CALL) {
            CHECK_STR(ir_graph_str(g, g->nodes[id].attrs.extern_call.symbol), LIB ":swish");
            CHECK_STR(ir_graph_str(g, g->nodes[id].attrs.extern_call.backward), LIB ":swish_grad");
            n++;
        }
    CHECK_EQ_INT(n, 2);
    LlmcBuf t1 = {0}, t2 = {0};
    ir_print_module(&m, &t1);
    CHECK(strstr(t1.data, "{backward=\"" LIB ":swish_grad\", symbol=\"" LIB ":swish\"}") != NULL);
    IrModule back = {0};
    LlmcDiags d = {0};
    LlmcSource src = {"printed.llir", t1.data, t1.len};
    CHECK(ir_parse_module(&src, &back, &d));
    llmc_diags_print(&d, stderr);
    llmc_diags_free(&d);
    ir_print_module(&back, &t2);
    CHECK(t1.len == t2.len && memcmp(t1.data, t2.data, t1.len) == 0);
    ir_module_free(&back);
    llmc_buf_free(&t1);
    llmc_buf_free(&t2);
    /* the step builds; its backward calls swish_grad */
    CcTrainStep step = {0};
    LlmcErr err = {0};
    CHECK(cc_train_step_build(&m, &step, &err));
    int n_bwd = 0;
    for (IrId id = 0; step.micro && id < step.micro->n_nodes; id++)
        if (step.micro->nodes[id].op == IR_OP_EXTERN_CALL &&
            strcmp(ir_graph_str(step.micro, step.micro->nodes[id].attrs.extern_call.symbol), LIB ":swish_grad") == 0)
            n_bwd++;
    CHECK_EQ_INT(n_bwd, 2);
    cc_train_step_free(&step);
    ir_module_free(&m);

    /* no backward: lowering is fine (inference needs none), training is not */
    char *text = program("extern \"" LIB "\" fn swish(x: f32[*]) -> f32[same]\n", "    x = swish(x)");
    LlmcDiags d2 = {0};
    ok = lower_text("nobwd.llm", text, &m, &d2);
    CHECK(ok);
    llmc_diags_free(&d2);
    if (ok) {
        CHECK(!cc_train_step_build(&m, &step, &err));
        CHECK(strstr(err.msg, "extern '" LIB ":swish'") && strstr(err.msg, "(nobwd.llm:5:9)") &&
              strstr(err.msg, "has no backward"));
        fprintf(stderr, "  no backward: %s\n", err.msg);
        ir_module_free(&m);
    }
    free(text);
}

/* --- grad: finite differences ----------------------------------------------------------- */

/* The forward's inputs: params from @init (seed 1, f64), tokens and targets random. */
static bool make_inputs(const IrModule *m, IrValue *inputs, LlmcErr *err) {
    const IrGraph *fwd = m->graphs[0], *init = m->graphs[1];
    IrValue seed;
    ir_value_alloc(&seed, ir_type_scalar(IR_DTYPE_I32));
    seed.data[0] = 1;
    IrValue *params = calloc(init->n_outputs, sizeof *params);
    IrInterpOptions opt = {.precision = IR_PRECISION_F64, .ranks = 1};
    bool ok = ir_interp_run(init, &opt, &seed, params, err);
    ir_value_free(&seed);
    if (!ok) {
        free(params);
        return false;
    }
    int64_t vocab = fwd->nodes[ir_graph_find_input(fwd, "tok_emb")].type.dims[0];
    uint32_t k = 0;
    for (IrId id = 0; id < fwd->n_nodes; id++) {
        const IrNode *n = &fwd->nodes[id];
        if (n->op != IR_OP_INPUT) continue;
        const char *name = ir_graph_str(fwd, n->attrs.input.name);
        IrValue *v = &inputs[k++];
        ir_value_alloc(v, n->type);
        int64_t numel = ir_type_numel(&n->type);
        if (n->attrs.input.role == IR_ROLE_PARAM) {
            for (uint32_t o = 0; o < init->n_outputs; o++)
                if (strcmp(ir_graph_str(init, init->outputs[o].name), name) == 0)
                    memcpy(v->data, params[o].data, (size_t)numel * sizeof(double));
        } else {
            for (int64_t i = 0; i < numel; i++) v->data[i] = (double)(rng_next() % (uint64_t)vocab);
        }
    }
    for (uint32_t o = 0; o < init->n_outputs; o++) ir_value_free(&params[o]);
    free(params);
    return true;
}

static uint32_t output_index(const IrGraph *g, const char *name) {
    for (uint32_t o = 0; o < g->n_outputs; o++)
        if (strcmp(ir_graph_str(g, g->outputs[o].name), name) == 0) return o;
    return UINT32_MAX;
}

static void free_values(IrValue *v, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) ir_value_free(&v[i]);
    free(v);
}

static double loss_of(const IrGraph *g, const IrInterpOptions *opt, const IrValue *inputs) {
    IrValue *out = calloc(g->n_outputs, sizeof *out);
    LlmcErr err = {0};
    if (!ir_interp_run(g, opt, inputs, out, &err)) {
        fprintf(stderr, "  forward failed: %s\n", err.msg);
        free(out);
        return NAN;
    }
    double l = out[output_index(g, "loss")].data[0];
    free_values(out, g->n_outputs);
    return l;
}

static void test_grad(void) {
    IrModule m = {0};
    if (!lower_model(&m)) {
        CHECK(false);
        return;
    }
    const IrGraph *fwd = m.graphs[0];
    LlmcErr err = {0};
    uint32_t n_in = ir_graph_inputs(fwd, NULL);
    IrValue *inputs = calloc(n_in, sizeof *inputs);
    CHECK(make_inputs(&m, inputs, &err));
    IrGraph *gg = cc_grad(fwd, NULL, &err);
    CHECK(gg != NULL);
    if (!gg) {
        fprintf(stderr, "  cc_grad: %s\n", err.msg);
        free_values(inputs, n_in);
        ir_module_free(&m);
        return;
    }
    RtExternHost *host = rt_extern_host_new(IR_PRECISION_F64);
    IrInterpOptions opt = {.precision = IR_PRECISION_F64, .ranks = 1};
    rt_extern_host_install(host, &opt);
    IrValue *grads = calloc(gg->n_outputs, sizeof *grads);
    bool ok = ir_interp_run(gg, &opt, inputs, grads, &err);
    CHECK(ok);
    if (!ok) fprintf(stderr, "  gradient run: %s\n", err.msg);
    double loss0 = ok ? loss_of(fwd, &opt, inputs) : NAN;
    double worst = 0;
    uint32_t n_checked = 0, k = 0;
    for (IrId id = 0; ok && id < fwd->n_nodes; id++) {
        const IrNode *n = &fwd->nodes[id];
        if (n->op != IR_OP_INPUT) continue;
        IrValue *x = &inputs[k++];
        if (n->attrs.input.role != IR_ROLE_PARAM) continue;
        const char *name = ir_graph_str(fwd, n->attrs.input.name);
        char gname[256];
        snprintf(gname, sizeof gname, "grad.%s", name);
        uint32_t go = output_index(gg, gname);
        CHECK(go != UINT32_MAX);
        if (go == UINT32_MAX) continue;
        int64_t numel = ir_type_numel(&x->type);
        for (int c = 0; c < 3; c++) {
            int64_t e = (int64_t)(rng_next() % (uint64_t)numel);
            double x0 = x->data[e], h = 3e-4 * fmax(1.0, fabs(x0)), l[4];
            static const double off[4] = {2, 1, -1, -2};
            for (int s = 0; s < 4; s++) {
                x->data[e] = x0 + off[s] * h;
                l[s] = loss_of(fwd, &opt, inputs);
            }
            x->data[e] = x0;
            double fd = ((l[3] - l[0]) + 8 * (l[1] - l[2])) / (12 * h);
            double an = grads[go].data[e], noise = 4 * DBL_EPSILON * fmax(1.0, fabs(loss0)) / h;
            double err_c = fabs(an - fd) / fmax(fmax(fabs(an), fabs(fd)), noise / TOL);
            if (!(err_c <= TOL))
                fprintf(stderr, "  %s[%lld]: autodiff %.17g vs finite difference %.17g\n", name, (long long)e, an, fd);
            CHECK(err_c <= TOL);
            worst = fmax(worst, err_c);
            n_checked++;
        }
    }
    printf("%s: worst gradient error %.3g over %u coordinates (loss %.6f)\n", MODEL, worst, n_checked, loss0);
    CHECK(n_checked >= 30);
    if (ok) free_values(grads, gg->n_outputs);
    else free(grads);
    rt_extern_host_free(host);
    ir_graph_free(gg);
    free_values(inputs, n_in);
    ir_module_free(&m);
}

/* --- exec: the executor against the interpreter, and the build-time errors ------------- */

static double ratio(const IrValue *a, const IrValue *r) {
    double d2 = 0, r2 = 0;
    for (int64_t i = 0; i < ir_type_numel(&r->type); i++) {
        double d = a->data[i] - r->data[i];
        d2 += d * d;
        r2 += r->data[i] * r->data[i];
    }
    return r2 > 0 ? sqrt(d2 / r2) : sqrt(d2);
}

static double norm(const IrValue *v) {
    double s = 0;
    for (int64_t i = 0; i < ir_type_numel(&v->type); i++) s += v->data[i] * v->data[i];
    return sqrt(s);
}

/* Runs g (inputs ins) on the interpreter (f32, host hook) and the executor; every output
 * within tol by ratio (the loss, a scalar, is then a relative error). A gradient that is
 * zero in exact arithmetic (the attention key bias's: softmax is invariant to it) is
 * rounding noise on both sides, as in tests/exec/test_train_jit.c: when the reference's
 * norm is below 1e-6 of the global norm, both must just stay below that bound. */
static void compare(const IrGraph *g, const IrValue *ins, CcJit *jit, RtPool *pool, double tol, uint32_t want_ext) {
    uint32_t n_in = ir_graph_inputs(g, NULL);
    RtExternHost *host = rt_extern_host_new(IR_PRECISION_F32);
    IrInterpOptions opt = {.precision = IR_PRECISION_F32, .ranks = 1};
    rt_extern_host_install(host, &opt);
    IrValue *ref = calloc(g->n_outputs, sizeof *ref);
    LlmcErr err = {0};
    bool ok = ir_interp_run(g, &opt, ins, ref, &err);
    CHECK(ok);
    if (!ok) fprintf(stderr, "  interpreter: %s\n", err.msg);
    RtExec *e = ok ? rt_exec_new(jit, g, pool, &err) : NULL;
    CHECK(e != NULL);
    if (ok && !e) fprintf(stderr, "  rt_exec_new: %s\n", err.msg);
    if (e) {
        CHECK_EQ_INT(rt_exec_stats(e).runtime_kernels, want_ext);
        void **bufs = calloc(n_in, sizeof *bufs), **outs = calloc(g->n_outputs, sizeof *outs);
        for (uint32_t i = 0; i < n_in; i++) bufs[i] = rt_native_from_value(&ins[i]);
        for (uint32_t o = 0; o < g->n_outputs; o++) outs[o] = calloc(1, ir_type_bytes(&ref[o].type));
        CHECK(rt_exec_run(e, bufs, outs, &err));
        double worst = 0, global = 0;
        for (uint32_t o = 0; o < g->n_outputs; o++) global += norm(&ref[o]) * norm(&ref[o]);
        global = sqrt(global);
        for (uint32_t o = 0; o < g->n_outputs; o++) {
            IrValue got;
            rt_native_to_value(outs[o], ref[o].type, &got);
            double r = ratio(&got, &ref[o]);
            if (norm(&ref[o]) < 1e-6 * global) {
                fprintf(stderr, "  %s: %s is zero up to rounding (%.3g, %.3g of %.3g)\n", ir_graph_name(g),
                        ir_graph_str(g, g->outputs[o].name), norm(&ref[o]), norm(&got), global);
                r = norm(&got) < 1e-6 * global ? 0 : INFINITY;
            }
            if (!(r <= tol))
                fprintf(stderr, "  %s: output %s: ratio %.3g > %g\n", ir_graph_name(g),
                        ir_graph_str(g, g->outputs[o].name), r, tol);
            CHECK(r <= tol);
            worst = fmax(worst, r);
            ir_value_free(&got);
            free(outs[o]);
        }
        printf("@%s: %u outputs, executor vs interpreter worst ratio %.3g, %u extern calls\n", ir_graph_name(g),
               g->n_outputs, worst, rt_exec_stats(e).runtime_kernels);
        for (uint32_t i = 0; i < n_in; i++) free(bufs[i]);
        free(bufs);
        free(outs);
        rt_exec_free(e);
    }
    if (ok) free_values(ref, g->n_outputs);
    else free(ref);
    rt_extern_host_free(host);
}

static void test_exec_model(CcJit *jit, RtPool *pool) {
    IrModule m = {0};
    if (!lower_model(&m)) {
        CHECK(false);
        return;
    }
    LlmcErr err = {0};
    CcTrainStep step = {0};
    bool ok = cc_train_step_build(&m, &step, &err);
    CHECK(ok);
    if (!ok) fprintf(stderr, "  cc_train_step_build: %s\n", err.msg);
    const IrGraph *fwd = m.graphs[0];
    uint32_t n_in = ir_graph_inputs(fwd, NULL);
    IrValue *inputs = calloc(n_in, sizeof *inputs);
    CHECK(make_inputs(&m, inputs, &err));
    for (uint32_t i = 0; i < n_in; i++) /* to f32 values */
        for (int64_t e = 0; e < ir_type_numel(&inputs[i].type); e++) inputs[i].data[e] = (float)inputs[i].data[e];
    compare(fwd, inputs, jit, pool, 1e-5, 2);
    if (ok) {
        /* @micro takes @forward's inputs, in its order */
        uint32_t n_mi = ir_graph_inputs(step.micro, NULL);
        CHECK_EQ_INT(n_mi, n_in);
        compare(step.micro, inputs, jit, pool, 1e-4, 4);
    }
    free_values(inputs, n_in);
    cc_train_step_free(&step);
    ir_module_free(&m);
}

/* y = symbol(x...) over inputs of the given types. */
static IrGraph *extern_graph(const char *symbol, const IrType *in, uint32_t n, IrType out) {
    IrGraph *g = ir_graph_new("x");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrId ids[4];
    for (uint32_t i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof name, "x%u", i);
        ids[i] = ir_build_input(&b, IR_ROLE_DATA, name, in[i]);
    }
    ir_graph_add_output(g, "y", ir_build_extern_call(&b, symbol, ids, n, out));
    LLMC_ASSERT(ir_builder_ok(&b));
    return g;
}

static void expect_exec_error(CcJit *jit, RtPool *pool, const IrGraph *g, const char *want) {
    LlmcErr err = {0};
    RtExec *e = rt_exec_new(jit, g, pool, &err);
    CHECK(e == NULL && strstr(err.msg, want) != NULL);
    if (e || !strstr(err.msg, want)) fprintf(stderr, "  wanted ...%s..., got \"%s\"\n", want, err.msg);
    else fprintf(stderr, "  as expected: %s\n", err.msg);
    rt_exec_free(e);
}

static void test_exec_small(CcJit *jit, RtPool *pool) {
    IrType f4 = ir_type_make(IR_DTYPE_F32, 1, (int64_t[]){4}), f5 = ir_type_make(IR_DTYPE_F32, 1, (int64_t[]){5});
    IrType i4 = ir_type_make(IR_DTYPE_I32, 1, (int64_t[]){4}), f22 = ir_type_make(IR_DTYPE_F32, 2, (int64_t[]){2, 2});
    /* two arguments, one of another shape with the same element count */
    IrGraph *g = extern_graph(LIB ":mul", (IrType[]){f4, f22}, 2, f4);
    IrValue ins[2];
    for (int i = 0; i < 2; i++) {
        ir_value_alloc(&ins[i], i ? f22 : f4);
        for (int e = 0; e < 4; e++) ins[i].data[e] = (float)(0.5 * e - 0.75 * i);
    }
    compare(g, ins, jit, pool, 0, 1);
    ir_value_free(&ins[0]);
    ir_value_free(&ins[1]);
    ir_graph_free(g);

    struct {
        const char *symbol;
        IrType in[2];
        uint32_t n;
        IrType out;
        const char *want;
    } cases[] = {
        {"libllmc_no_such_lib.so:swish", {f4}, 1, f4,
         "extern 'libllmc_no_such_lib.so:swish': cannot load library 'libllmc_no_such_lib.so'"},
        {"./no/such/dir/libx.so:swish", {f4}, 1, f4, "cannot load library './no/such/dir/libx.so'"},
        {LIB ":no_such_function", {f4}, 1, f4, "library '" LIB "' has no function 'no_such_function'"},
        {LIB ":swish", {i4}, 1, f4, "cannot satisfy the calling convention (f32 tensors of one element count): "
                                    "argument 1 is i32[4], the result f32[4]"},
        {LIB ":swish", {f4}, 1, f5, "argument 1 is f32[4], the result f32[5]"},
        {LIB ":swish", {f4}, 1, i4, "its result is i32[4]"},
        {"swish", {f4}, 1, f4, "extern 'swish': the symbol must be \"library:function\""},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        g = extern_graph(cases[c].symbol, cases[c].in, cases[c].n, cases[c].out);
        expect_exec_error(jit, pool, g, cases[c].want);
        ir_graph_free(g);
    }
    /* the interpreter's hook reports the same */
    g = extern_graph("libllmc_no_such_lib.so:f", &f4, 1, f4);
    RtExternHost *host = rt_extern_host_new(IR_PRECISION_F64);
    IrInterpOptions opt = {.precision = IR_PRECISION_F64, .ranks = 1};
    rt_extern_host_install(host, &opt);
    IrValue in, out;
    ir_value_alloc(&in, f4);
    LlmcErr err = {0};
    CHECK(!ir_interp_run(g, &opt, &in, &out, &err));
    CHECK(strstr(err.msg, "cannot load library 'libllmc_no_such_lib.so'") != NULL);
    ir_graph_free(g);
    g = extern_graph(LIB ":nope", &f4, 1, f4);
    err = (LlmcErr){0};
    CHECK(!ir_interp_run(g, &opt, &in, &out, &err));
    CHECK(strstr(err.msg, "has no function 'nope'") != NULL);
    ir_graph_free(g);
    /* f64 mode without an _f64 variant goes through float (mul has none) */
    g = extern_graph(LIB ":mul", (IrType[]){f4, f4}, 2, f4);
    IrValue two[2];
    ir_value_alloc(&two[0], f4);
    ir_value_alloc(&two[1], f4);
    for (int e = 0; e < 4; e++) two[0].data[e] = two[1].data[e] = 0.1 * (e + 1);
    CHECK(ir_interp_run(g, &opt, two, &out, &err));
    CHECK(out.data[1] == (double)((float)0.2 * (float)0.2));
    ir_value_free(&out);
    ir_value_free(&two[0]);
    ir_value_free(&two[1]);
    ir_graph_free(g);
    ir_value_free(&in);
    rt_extern_host_free(host);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "lower";
    if (strcmp(mode, "lower") == 0) {
        test_diagnostics();
        test_lowering();
        test_model_ir();
    } else if (strcmp(mode, "grad") == 0) {
        test_grad();
    } else if (strcmp(mode, "exec") == 0) {
        LlmcErr err = {0};
        CcJit *jit = cc_jit_new(&err);
        RtPool *pool = jit ? rt_pool_new(1, &err) : NULL;
        CHECK(jit && pool);
        if (!jit || !pool) fprintf(stderr, "%s\n", err.msg);
        if (jit && pool) {
            test_exec_small(jit, pool);
            test_exec_model(jit, pool);
        }
        rt_pool_free(pool);
        cc_jit_free(jit);
    } else {
        fprintf(stderr, "usage: test_extern lower|grad|exec\n");
        return 2;
    }
    TEST_MAIN();
}
