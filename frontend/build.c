/* frontend/build.c — FeBuild: what every composite shares. Parameters created as graph
 * inputs on demand (and remembered, with their init rule, for the init graph), the rand
 * keys a dropout needs, stable site ids, and the small compositions the builtins are
 * made of (softmax, logsumexp, means, linear layers and their dense matmul, in bf16
 * under precision = bf16).
 *
 * Everything here is plain IR building: no AST, no diagnostics. Errors go to the
 * builder's sticky error, like any ir_build_* call, so a caller checks once per
 * composite. Constants take the FeBuild's dtype, so a test can build a composite in
 * f64 end to end and compare it with a naive loop at ~1e-12.
 */
#include "frontend_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fe_build_init(FeBuild *fb, IrGraph *g, IrDtype dt) {
    memset(fb, 0, sizeof *fb);
    ir_builder_init(&fb->b, g);
    fb->dt = fb->mm_dt = dt;
    fb->seed = fb->step = fb->micro = IR_ID_NONE;
}

void fe_build_free(FeBuild *fb) {
    free(fb->params);
    free(fb->param_slots);
    free(fb->rand_sites);
    llmc_arena_free(&fb->arena);
    memset(fb, 0, sizeof *fb);
}

uint32_t fe_site_hash(const char *name) {
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        h ^= *p;
        h *= 16777619u;
    }
    return h & 0x7fffffffu;
}

const char *fe_build_name(FeBuild *fb, const char *a, const char *b) {
    size_t na = strlen(a), nb = strlen(b);
    char *s = llmc_arena_alloc(&fb->arena, na + nb + 2);
    memcpy(s, a, na);
    s[na] = '.';
    memcpy(s + na + 1, b, nb);
    return s;
}

/* --- parameters ---------------------------------------------------------------------
 * A hash set over the names (open addressing, slot = index + 1) keeps duplicate
 * detection linear: MoE models have thousands of parameters. */

static void param_slots_rehash(FeBuild *fb, uint32_t n_slots) {
    free(fb->param_slots);
    fb->param_slots = llmc_xcalloc(n_slots, sizeof *fb->param_slots);
    fb->n_param_slots = n_slots;
    for (uint32_t i = 0; i < fb->n_params; i++) {
        uint32_t s = fe_site_hash(fb->params[i].name) & (n_slots - 1);
        while (fb->param_slots[s]) s = (s + 1) & (n_slots - 1);
        fb->param_slots[s] = i + 1;
    }
}

const FeParam *fe_build_find_param(const FeBuild *fb, const char *name) {
    if (!fb->n_param_slots) return NULL;
    uint32_t s = fe_site_hash(name) & (fb->n_param_slots - 1);
    while (fb->param_slots[s]) {
        const FeParam *p = &fb->params[fb->param_slots[s] - 1];
        if (strcmp(p->name, name) == 0) return p;
        s = (s + 1) & (fb->n_param_slots - 1);
    }
    return NULL;
}

IrId fe_build_param(FeBuild *fb, const char *name, uint32_t rank, const int64_t *dims, FeInit init) {
    if (fe_build_find_param(fb, name)) {
        llmc_err_set(&fb->b.err, "parameter '%s' is defined twice", name);
        return IR_ID_NONE;
    }
    uint32_t scope = fb->b.scope;
    ir_builder_set_scope(&fb->b, name); /* a parameter's own node carries its name */
    IrId id = ir_build_input(&fb->b, IR_ROLE_PARAM, name, ir_type_make(fb->dt, rank, dims));
    fb->b.scope = scope;
    if (id == IR_ID_NONE) { /* say which parameter: the input's own message does not */
        char msg[sizeof fb->b.err.msg], dims_text[256];
        size_t len = 0;
        snprintf(msg, sizeof msg, "%s", fb->b.err.msg);
        dims_text[0] = 0;
        for (uint32_t i = 0; i < rank && len < sizeof dims_text; i++)
            len +=
                (size_t)snprintf(dims_text + len, sizeof dims_text - len, "%s%lld", i ? ", " : "", (long long)dims[i]);
        llmc_err_clear(&fb->b.err);
        llmc_err_set(&fb->b.err, "parameter '%s' [%s]: %s", name, dims_text, msg);
        return IR_ID_NONE;
    }
    if (fb->n_params == fb->cap_params) {
        fb->cap_params = fb->cap_params ? 2 * fb->cap_params : 32;
        fb->params = llmc_xrealloc(fb->params, fb->cap_params * sizeof *fb->params);
    }
    FeParam *p = &fb->params[fb->n_params++];
    p->name = llmc_arena_strndup(&fb->arena, name, strlen(name));
    p->type = fb->b.g->nodes[id].type;
    p->init = init;
    p->id = id;
    p->loc = fb->b.loc;
    if (2 * fb->n_params > fb->n_param_slots)
        param_slots_rehash(fb, fb->n_param_slots ? 2 * fb->n_param_slots : 64);
    else {
        uint32_t s = fe_site_hash(p->name) & (fb->n_param_slots - 1);
        while (fb->param_slots[s]) s = (s + 1) & (fb->n_param_slots - 1);
        fb->param_slots[s] = fb->n_params;
    }
    return id;
}

/* --- randomness ---------------------------------------------------------------------- */

static IrId key_input(FeBuild *fb, IrRole role, const char *name) {
    uint32_t scope = fb->b.scope;
    ir_builder_set_scope(&fb->b, name);
    IrId id = ir_build_input(&fb->b, role, name, ir_type_scalar(IR_DTYPE_I32));
    fb->b.scope = scope;
    return id;
}

IrId fe_build_rand_like(FeBuild *fb, IrId x, const char *site_name) {
    if (x == IR_ID_NONE) return IR_ID_NONE;
    if (fb->seed == IR_ID_NONE) {
        fb->seed = key_input(fb, IR_ROLE_STATE, "seed");
        fb->step = key_input(fb, IR_ROLE_STATE, "step");
        fb->micro = key_input(fb, IR_ROLE_DATA, "micro");
    }
    uint32_t site = fe_site_hash(site_name);
    for (uint32_t i = 0; i < fb->n_rand_sites; i++)
        if (fb->rand_sites[i] == site) {
            llmc_err_set(&fb->b.err, "internal error: rand site id %u of '%s' collides with another site", site,
                         site_name);
            return IR_ID_NONE;
        }
    if (fb->n_rand_sites == fb->cap_rand_sites) {
        fb->cap_rand_sites = fb->cap_rand_sites ? 2 * fb->cap_rand_sites : 16;
        fb->rand_sites = llmc_xrealloc(fb->rand_sites, fb->cap_rand_sites * sizeof *fb->rand_sites);
    }
    fb->rand_sites[fb->n_rand_sites++] = site;
    IrType t = fb->b.g->nodes[x].type;
    t.dtype = fb->dt;
    return ir_build_rand(&fb->b, t, fb->seed, fb->step, fb->micro, site, IR_RAND_UNIFORM);
}

/* --- small compositions -------------------------------------------------------------- */

int64_t fe_type_dim(const FeBuild *fb, IrId x, int axis) {
    if (x == IR_ID_NONE) return 0;
    const IrType *t = &fb->b.g->nodes[x].type;
    int a = axis < 0 ? axis + (int)t->rank : axis;
    return a >= 0 && a < (int)t->rank ? t->dims[a] : 0;
}

IrId fe_build_scalar(FeBuild *fb, double v) { return ir_build_scalar(&fb->b, fb->dt, v); }

IrId fe_build_full(FeBuild *fb, double v, IrId like) {
    if (like == IR_ID_NONE) return IR_ID_NONE;
    const IrType t = fb->b.g->nodes[like].type; /* a copy: building reallocates nodes */
    IrId s = ir_build_scalar(&fb->b, t.dtype, v);
    if (t.rank == 0) return s;
    return ir_build_broadcast_to(&fb->b, s, t.rank, t.dims);
}

/* Broadcasts r (x's shape with the last axis kept as 1) back to x's shape. */
static IrId back_to(FeBuild *fb, IrId r, IrId x) {
    if (x == IR_ID_NONE || r == IR_ID_NONE) return IR_ID_NONE;
    const IrType t = fb->b.g->nodes[x].type;
    return ir_build_broadcast_to(&fb->b, r, t.rank, t.dims);
}

/* The max shift keeps exp from overflowing; softmax and logsumexp do not depend on it
 * (shift-invariant: the true gradient through m is exactly 0), so m is a stop_gradient
 * and autodiff builds no backward through the reduce_max. */
static IrId shift_of(FeBuild *fb, IrId x) {
    IrBuilder *b = &fb->b;
    IrId m = ir_build_reduce(b, IR_OP_REDUCE_MAX, x, -1, true); /* [.., 1] */
    return ir_build_unary(b, IR_OP_STOP_GRADIENT, m);
}

/* softmax(x) = e / sum(e), e = exp(x - m), m = stop_gradient(max(x)) over the last axis */
IrId fe_build_softmax(FeBuild *fb, IrId x) {
    IrBuilder *b = &fb->b;
    IrId m = shift_of(fb, x);                                               /* [.., 1] */
    IrId e = ir_build_unary(b, IR_OP_EXP, ir_build_binary(b, IR_OP_SUB, x, back_to(fb, m, x)));
    IrId s = ir_build_reduce(b, IR_OP_REDUCE_SUM, e, -1, true);            /* [.., 1] */
    return ir_build_binary(b, IR_OP_DIV, e, back_to(fb, s, e));
}

/* logsumexp(x) = log(sum(exp(x - m))) + m, m = stop_gradient(max(x)) over the last axis */
IrId fe_build_logsumexp(FeBuild *fb, IrId x) {
    IrBuilder *b = &fb->b;
    if (x == IR_ID_NONE) return IR_ID_NONE;
    IrType t = b->g->nodes[x].type;
    if (t.rank == 0) {
        llmc_err_set(&b->err, "logsumexp needs a tensor of rank >= 1");
        return IR_ID_NONE;
    }
    /* m is stopped in both uses: with m constant, d/dx log(sum(exp(x - m))) is already
     * softmax(x), the whole gradient; a live `+ m0` would add the argmax's one-hot. */
    IrId m = shift_of(fb, x);                                    /* [.., 1] */
    IrId e = ir_build_unary(b, IR_OP_EXP, ir_build_binary(b, IR_OP_SUB, x, back_to(fb, m, x)));
    IrId s = ir_build_reduce(b, IR_OP_REDUCE_SUM, e, -1, false); /* [..] */
    IrId m0 = ir_build_reshape(b, m, t.rank - 1, t.dims);       /* [..] */
    return ir_build_binary(b, IR_OP_ADD, ir_build_unary(b, IR_OP_LOG, s), m0);
}

IrId fe_build_mean_all(FeBuild *fb, IrId x) {
    IrBuilder *b = &fb->b;
    if (x == IR_ID_NONE) return IR_ID_NONE;
    const IrType t = b->g->nodes[x].type;
    if (t.rank == 0) return x;
    int64_t n = ir_type_numel(&t);
    IrId flat = t.rank == 1 ? x : ir_build_reshape(b, x, 1, &n);
    IrId s = ir_build_reduce(b, IR_OP_REDUCE_SUM, flat, 0, false);
    return ir_build_binary(b, IR_OP_MUL, s, ir_build_scalar(b, t.dtype, 1.0 / (double)n));
}

/* Mixed precision (precision = bf16): matmul(cast<bf16>(x), cast<bf16>(w)) : f32. The
 * weight stays an f32 param (the master copy the optimizer updates); the cast is in the
 * graph, so autodiff sends its f32 gradient straight through (compiler/grad.c). */
IrId fe_build_dense_matmul(FeBuild *fb, IrId x, IrId w, bool tw) {
    IrBuilder *b = &fb->b;
    if (x == IR_ID_NONE || w == IR_ID_NONE) return IR_ID_NONE;
    if (fb->mm_dt == fb->dt) return ir_build_matmul(b, x, w, false, tw);
    IrId y = ir_build_matmul(b, ir_build_cast(b, x, fb->mm_dt), ir_build_cast(b, w, fb->mm_dt), false, tw);
    if (y != IR_ID_NONE && b->g->nodes[y].type.dtype != fb->dt) y = ir_build_cast(b, y, fb->dt); /* f64 tests */
    return y;
}

IrId fe_build_linear(FeBuild *fb, IrId x, IrId w, IrId bias) {
    IrId y = fe_build_dense_matmul(fb, x, w, false);
    if (bias == IR_ID_NONE) return y;
    return ir_build_binary_bcast(&fb->b, IR_OP_ADD, y, bias);
}
