/* tests/grad/test_grad_models.c — whole-model gradient checks: for every tiny model in
 * models/ (*-tiny.llm), lowered at a small size (-D batch=1 -D seq=8), the gradient
 * cc_grad computes against finite differences of the f64 forward, on 3 random
 * coordinates of every parameter tensor; and rematerialization: loss and every
 * gradient bit-identical with remat_layers on and off (in f32 and f64), with fewer
 * activation bytes.
 *
 * Finite differences: the five-point central stencil
 *     (L(x-2h) - L(x+2h) + 8 (L(x+h) - L(x-h))) / 12h,  h = 3e-4 * max(1, |x|)
 * on the reference interpreter in f64 (error O(h^4) plus rounding ~1e-16 |L| / h; with
 * h = 1e-3 the O(h^4) term alone reached 6e-7 relative on gpt2's attn.bo).
 * Criterion, scale-aware: err = |a - b| / max(|a|, |b|, noise / 1e-6), required
 * err <= 1e-6, where noise = 4 eps max(1, |L|) / h is the finite difference's own
 * resolution (the stencil turns the ~eps |L| rounding of each loss evaluation into
 * ~1.5 eps |L| / h; the 4 leaves room for the forward's accumulated rounding). So a
 * gradient the finite difference resolves to 1e-6 is held to 1e-6 relative, and one
 * below that (gradients that are zero up to rounding, such as the attention key bias's,
 * to which softmax is invariant, or 1e-8-sized ones) to agreement within that noise.
 * For L ~ 6 and h = 3e-4 the floor is ~2e-5.
 *
 * Kinks: ReLU (max), compares and MoE routing (topk, and the capacity drop that
 * follows from it) are piecewise. Every finite-difference run also outputs every topk,
 * every compare with a float operand, and for every max/min which side it chose; when
 * a perturbation changes any of them the step is divided by 10 (twice at most), and if
 * it still changes, the coordinate is replaced by another. The number of such retries
 * is printed.
 *
 * Printed per model: the worst error by this criterion, the worst plain relative error
 * |a - b| / max(|a|, |b|) among coordinates above the noise floor, and the activation
 * bytes without and with remat.
 */
#include <dirent.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "frontend.h"
#include "test.h"

#define COORDS_PER_TENSOR 3
#define TOL 1e-6

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint64_t rng_next(void) { /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* --- lowering and inputs ------------------------------------------------------------------- */

static bool lower_model(const char *path, IrModule *m) {
    char *text = NULL;
    size_t len = 0;
    LlmcErr err = {0};
    if (!llmc_file_read(path, &text, &len, &err)) {
        fprintf(stderr, "  %s\n", err.msg);
        return false;
    }
    LlmcSource src = {path, text, len};
    LlmcDiags d = {0};
    FeProgram *p = fe_parse(&src, &d);
    static const FeOverride ov[] = {{"batch", "1"}, {"seq", "8"}};
    FeLowerOptions opt = {ov, 2};
    bool ok = p && fe_lower(p, &opt, m, &d);
    if (!ok) llmc_diags_print(&d, stderr);
    fe_program_free(p);
    llmc_diags_free(&d);
    free(text);
    return ok;
}

/* The forward graph's input values: params from @init (seed 1), tokens and targets
 * random below the vocabulary size, i32 scalars (dropout keys) 1. inputs[n_inputs]. */
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
    IrId tok_emb = ir_graph_find_input(fwd, "tok_emb");
    int64_t vocab = tok_emb != IR_ID_NONE ? fwd->nodes[tok_emb].type.dims[0] : 2;
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
        } else if (n->type.dtype == IR_DTYPE_I32 && n->type.rank > 0) {
            for (int64_t i = 0; i < numel; i++) v->data[i] = (double)(rng_next() % (uint64_t)vocab);
        } else {
            for (int64_t i = 0; i < numel; i++) v->data[i] = 1;
        }
    }
    for (uint32_t o = 0; o < init->n_outputs; o++) ir_value_free(&params[o]);
    free(params);
    return true;
}

/* --- the finite-difference graph ------------------------------------------------------------ */

static IrId output_node(const IrGraph *g, const char *name, uint32_t *index) {
    for (uint32_t o = 0; o < g->n_outputs; o++)
        if (strcmp(ir_graph_str(g, g->outputs[o].name), name) == 0) {
            if (index) *index = o;
            return g->outputs[o].node;
        }
    return IR_ID_NONE;
}

/* fwd with only "loss" as output 0, then the piecewise decisions (see the banner). */
static IrGraph *fd_graph(const IrGraph *fwd) {
    IrGraph *g = ir_graph_clone(fwd);
    IrId loss = output_node(fwd, "loss", NULL);
    g->n_outputs = 0;
    ir_graph_add_output(g, "loss", loss);
    IrBuilder b;
    ir_builder_init(&b, g);
    uint32_t n_fwd = g->n_nodes;
    for (IrId id = 0; id < n_fwd; id++) {
        IrNode n = g->nodes[id];
        bool float_in = n.n_operands && ir_dtype_is_float(g->nodes[n.operands[0]].type.dtype);
        IrId decision = IR_ID_NONE;
        if (n.op == IR_OP_TOPK || ((n.op == IR_OP_CMPLT || n.op == IR_OP_CMPEQ) && float_in))
            decision = id;
        else if (n.op == IR_OP_MAX)
            decision = ir_build_binary(&b, IR_OP_CMPLT, n.operands[0], n.operands[1]);
        else if (n.op == IR_OP_MIN)
            decision = ir_build_binary(&b, IR_OP_CMPLT, n.operands[1], n.operands[0]);
        if (decision != IR_ID_NONE) {
            char name[32];
            snprintf(name, sizeof name, "decision.%u", id);
            ir_graph_add_output(g, name, decision);
        }
    }
    LLMC_ASSERT(ir_builder_ok(&b));
    return g;
}

typedef struct Fd {
    const IrGraph *g;
    IrValue *inputs;
    IrValue *base; /* the unperturbed outputs */
    IrValue *out;
} Fd;

/* Runs the FD graph; *same = every decision as in the base run. */
static double fd_loss(Fd *f, bool *same) {
    IrInterpOptions opt = {.precision = IR_PRECISION_F64, .ranks = 1};
    LlmcErr err = {0};
    if (!ir_interp_run(f->g, &opt, f->inputs, f->out, &err)) {
        fprintf(stderr, "  forward failed: %s\n", err.msg);
        *same = false;
        return NAN;
    }
    double l = f->out[0].data[0];
    *same = true;
    for (uint32_t o = 1; o < f->g->n_outputs; o++) {
        int64_t n = ir_type_numel(&f->out[o].type);
        if (memcmp(f->out[o].data, f->base[o].data, (size_t)n * sizeof(double)) != 0) *same = false;
    }
    for (uint32_t o = 0; o < f->g->n_outputs; o++) ir_value_free(&f->out[o]);
    return l;
}

/* --- one model -------------------------------------------------------------------------------- */

static bool outputs_identical(const IrValue *a, const IrValue *b, uint32_t n) {
    for (uint32_t o = 0; o < n; o++) {
        if (!ir_type_equal(&a[o].type, &b[o].type)) return false;
        size_t bytes = (size_t)ir_type_numel(&a[o].type) * sizeof(double);
        if (memcmp(a[o].data, b[o].data, bytes) != 0) return false;
    }
    return true;
}

static void free_values(IrValue *v, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) ir_value_free(&v[i]);
    free(v);
}

static void check_model(const char *path) {
    IrModule m = {0};
    bool lowered = lower_model(path, &m);
    CHECK(lowered && m.n_graphs == 2);
    if (!lowered || m.n_graphs != 2) {
        ir_module_free(&m);
        return;
    }
    const IrGraph *fwd = m.graphs[0];
    LlmcErr err = {0};
    uint32_t n_in = ir_graph_inputs(fwd, NULL);
    IrValue *inputs = calloc(n_in, sizeof *inputs);
    CHECK(make_inputs(&m, inputs, &err));

    /* The gradients, and rematerialization's equality and activation bytes. */
    IrGraph *gg = cc_grad(fwd, &(CcGradOptions){.remat_layers = false}, &err);
    IrGraph *gr = cc_grad(fwd, &(CcGradOptions){.remat_layers = true}, &err);
    CHECK(gg && gr);
    if (!gg || !gr) {
        fprintf(stderr, "  %s: cc_grad failed: %s\n", path, err.msg);
        ir_graph_free(gg);
        ir_graph_free(gr);
        free_values(inputs, n_in);
        ir_module_free(&m);
        return;
    }
    uint64_t act = cc_grad_activation_bytes(gg, fwd->n_nodes), act_r = cc_grad_activation_bytes(gr, fwd->n_nodes);
    CHECK(act_r < act);
    CHECK_EQ_INT(gg->n_outputs, gr->n_outputs);
    IrValue *grads = NULL;
    for (int prec = 0; prec < 2; prec++) {
        IrInterpOptions opt = {.precision = prec ? IR_PRECISION_F64 : IR_PRECISION_F32, .ranks = 1};
        IrValue *a = calloc(gg->n_outputs, sizeof *a), *b = calloc(gr->n_outputs, sizeof *b);
        bool ok = ir_interp_run(gg, &opt, inputs, a, &err) && ir_interp_run(gr, &opt, inputs, b, &err);
        CHECK(ok);
        if (!ok) fprintf(stderr, "  %s: %s\n", path, err.msg);
        bool same = ok && outputs_identical(a, b, gg->n_outputs);
        CHECK(same);
        if (ok && !same) fprintf(stderr, "  %s: remat changes the results (%s)\n", path, prec ? "f64" : "f32");
        if (ok) free_values(b, gr->n_outputs);
        else free(b);
        if (ok && prec == 1) grads = a;
        else if (ok) free_values(a, gg->n_outputs);
        else free(a);
    }

    /* Finite differences on COORDS_PER_TENSOR coordinates of every param tensor. */
    double worst = 0, worst_an = 0, worst_fd = 0;
    double worst_plain = 0; /* |a - b| / max(|a|, |b|) where that is above the noise floor */
    const char *worst_at = "";
    int64_t worst_e = 0;
    uint32_t retries = 0, replaced = 0, n_checked = 0;
    IrGraph *fg = fd_graph(fwd);
    Fd f = {fg, inputs, calloc(fg->n_outputs, sizeof(IrValue)), calloc(fg->n_outputs, sizeof(IrValue))};
    IrInterpOptions opt64 = {.precision = IR_PRECISION_F64, .ranks = 1};
    bool base_ok = grads && ir_interp_run(fg, &opt64, inputs, f.base, &err);
    CHECK(base_ok);
    double loss0 = base_ok ? f.base[0].data[0] : 0;
    uint32_t k = 0;
    for (IrId id = 0; base_ok && id < fwd->n_nodes; id++) {
        const IrNode *n = &fwd->nodes[id];
        if (n->op != IR_OP_INPUT) continue;
        IrValue *x = &inputs[k++];
        if (n->attrs.input.role != IR_ROLE_PARAM) continue;
        const char *name = ir_graph_str(fwd, n->attrs.input.name);
        char gname[256];
        snprintf(gname, sizeof gname, "grad.%s", name);
        uint32_t go = 0;
        CHECK(output_node(gg, gname, &go) != IR_ID_NONE);
        const IrValue *gv = &grads[go];
        int64_t numel = ir_type_numel(&x->type);
        double gmax = 0;
        for (int64_t i = 0; i < numel; i++) gmax = fmax(gmax, fabs(gv->data[i]));
        for (int c = 0, attempts = 0; c < COORDS_PER_TENSOR && attempts < 20; attempts++) {
            int64_t e = (int64_t)(rng_next() % (uint64_t)numel);
            double x0 = x->data[e], h = 3e-4 * fmax(1.0, fabs(x0)), fd = NAN;
            bool stable = false;
            for (int shrink = 0; shrink < 3 && !stable; shrink++, h /= 10) {
                static const double off[4] = {2, 1, -1, -2};
                double l[4];
                stable = true;
                for (int s = 0; s < 4; s++) {
                    bool same;
                    x->data[e] = x0 + off[s] * h;
                    l[s] = fd_loss(&f, &same);
                    stable &= same;
                }
                x->data[e] = x0;
                fd = ((l[3] - l[0]) + 8 * (l[1] - l[2])) / (12 * h);
                if (!stable) retries++;
            }
            if (!stable) {
                replaced++;
                continue;
            }
            h *= 10; /* the step of the accepted stencil */
            double an = gv->data[e], noise = 4 * DBL_EPSILON * fmax(1.0, fabs(loss0)) / h;
            double err_c = fabs(an - fd) / fmax(fmax(fabs(an), fabs(fd)), noise / TOL);
            if (!(err_c <= TOL))
                fprintf(stderr, "  %s: %s[%lld]: autodiff %.17g vs finite difference %.17g (h %g, tensor max %.3g)\n",
                        path, name, (long long)e, an, fd, h, gmax);
            CHECK(err_c <= TOL);
            if (fmax(fabs(an), fabs(fd)) >= noise / TOL)
                worst_plain = fmax(worst_plain, fabs(an - fd) / fmax(fabs(an), fabs(fd)));
            if (!(err_c <= worst)) {
                worst_an = an;
                worst_fd = fd;
                worst = err_c;
                worst_at = name;
                worst_e = e;
            }
            n_checked++;
            c++;
        }
    }
    printf("%-28s worst gradient error %.3g (%s[%lld]: %.10g vs %.10g; plain relative error above the noise "
           "floor %.3g) over %u coordinates; %u step retries, %u replaced; activation bytes %llu without remat, "
           "%llu with (%.1f%%)\n",
           path, worst, worst_at, (long long)worst_e, worst_an, worst_fd, worst_plain, n_checked, retries, replaced,
           (unsigned long long)act, (unsigned long long)act_r, 100.0 * (double)act_r / (double)(act ? act : 1));
    if (base_ok) free_values(f.base, fg->n_outputs);
    else free(f.base);
    free(f.out);
    ir_graph_free(fg);
    if (grads) free_values(grads, gg->n_outputs);
    ir_graph_free(gg);
    ir_graph_free(gr);
    free_values(inputs, n_in);
    ir_module_free(&m);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(void) {
    DIR *dir = opendir("models");
    CHECK(dir != NULL);
    if (!dir) TEST_MAIN();
    char *paths[64];
    int n = 0;
    for (struct dirent *de; (de = readdir(dir)) && n < 64;) {
        size_t len = strlen(de->d_name);
        if (len > 9 && strcmp(de->d_name + len - 9, "-tiny.llm") == 0) {
            paths[n] = malloc(len + 8);
            snprintf(paths[n], len + 8, "models/%s", de->d_name);
            n++;
        }
    }
    closedir(dir);
    qsort(paths, (size_t)n, sizeof *paths, cmp_str);
    CHECK(n >= 7);
    for (int i = 0; i < n; i++) {
        check_model(paths[i]);
        free(paths[i]);
    }
    TEST_MAIN();
}
