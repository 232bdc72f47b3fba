/* tests/passes/test_passes.c — the simplification passes as properties, not examples.
 *
 * usage: passes_unit [SOURCE_ROOT]      (default: the working directory)
 *
 *   - On every example graph in tests/ir, on autodiff's output for the ones with a loss,
 *     and on random builder graphs full of what the passes look for (identities,
 *     constants, duplicates, dead code, movement chains, rand), every pass (fold, cse,
 *     dce, algebra, simplify) returns a graph that verifies, keeps the interface, and
 *     computes the same outputs bit for bit in f32 and f64 mode, on plain and on salted
 *     (-0, inf, NaN) inputs; simplify is idempotent and never grows a graph.
 *   - Cases that need code rather than text: the train record and provenance survive,
 *     attribute comparison ignores the bytes of the IrAttrs union outside the schema's
 *     fields, the folding size limits, sharded rand in cse.
 */
#include "check.h"
#include "compiler_int.h"

#include <dirent.h>

static const char *const pass_names[] = {"fold", "cse", "dce", "algebra", "simplify"};
#define N_PASSES (sizeof pass_names / sizeof pass_names[0])

/* Runs pass `name` on g and checks the result every way; returns it (caller frees). */
static IrGraph *run_checked(const char *where, const char *name, const IrGraph *g) {
    char at[512];
    snprintf(at, sizeof at, "%s: %s", where, name);
    const CcPass *p = cc_pass_find(name);
    CHECK(p != NULL);
    if (!p) return NULL;
    LlmcErr err = {0};
    IrGraph *r = p->run(g, &err);
    if (!r) fprintf(stderr, "%s: failed: %s\n", at, err.msg);
    CHECK(r != NULL);
    if (!r) return NULL;
    if (passes_check_verifies(at, r)) {
        passes_check_interface(at, g, r);
        passes_check_results(at, g, r);
    }
    return r;
}

/* Every pass on g; simplify also idempotent and not growing. Returns simplify's node
 * count (or g's on failure). */
static uint32_t check_all_passes(const char *where, const IrGraph *g) {
    uint32_t simplified = g->n_nodes;
    for (size_t i = 0; i < N_PASSES; i++) {
        IrGraph *r = run_checked(where, pass_names[i], g);
        if (!r) continue;
        if (strcmp(pass_names[i], "simplify") == 0) {
            simplified = r->n_nodes;
            LlmcErr err = {0};
            IrGraph *again = cc_pass_simplify(r, &err);
            CHECK(again != NULL);
            if (again) {
                char *a = passes_print(r), *b = passes_print(again);
                if (strcmp(a, b) != 0) fprintf(stderr, "%s: simplify is not idempotent\n", where);
                CHECK_STR(b, a);
                free(a);
                free(b);
                ir_graph_free(again);
            }
        }
        CHECK(r->n_nodes <= g->n_nodes); /* a node is replaced by at most one new node */
        ir_graph_free(r);
    }
    return simplified;
}

/* --- the examples, and autodiff's output on them --------------------------------------- */

static void test_examples(const char *root) {
    LlmcBuf dir = {0};
    llmc_buf_printf(&dir, "%s/tests/ir", root);
    DIR *d = opendir(dir.data);
    CHECK(d != NULL);
    int files = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".llir") != 0) continue;
        LlmcBuf path = {0};
        llmc_buf_printf(&path, "%s/%s", dir.data, e->d_name);
        char *text;
        size_t len;
        LlmcErr err = {0};
        IrModule m = {0};
        LlmcDiags diags = {0};
        bool ok = llmc_file_read(path.data, &text, &len, &err);
        CHECK(ok);
        if (ok) {
            LlmcSource src = {path.data, text, len};
            CHECK(ir_parse_module(&src, &m, &diags));
            free(text);
        }
        for (uint32_t gi = 0; gi < m.n_graphs; gi++) {
            const IrGraph *g = m.graphs[gi];
            check_all_passes(path.data, g);
            /* What autodiff writes is what simplify is for: it must shrink it. */
            for (int remat = 0; remat < 2; remat++) {
                bool has_loss = false;
                for (uint32_t o = 0; o < g->n_outputs; o++)
                    has_loss |= strcmp(ir_graph_str(g, g->outputs[o].name), "loss") == 0;
                if (!has_loss) continue;
                CcGradOptions opt = {.remat_layers = remat != 0};
                IrGraph *grad = cc_grad(g, &opt, &err);
                if (!grad) fprintf(stderr, "%s: autodiff: %s\n", path.data, err.msg);
                CHECK(grad != NULL);
                if (!grad) continue;
                char where[600];
                snprintf(where, sizeof where, "%s (autodiff%s)", path.data, remat ? ", remat" : "");
                uint32_t after = check_all_passes(where, grad);
                fprintf(stderr, "%s: simplify: %u -> %u nodes\n", where, grad->n_nodes, after);
                CHECK(after < grad->n_nodes);
                ir_graph_free(grad);
            }
        }
        ir_module_free(&m);
        llmc_diags_free(&diags);
        llmc_buf_free(&path);
        files++;
    }
    if (d) closedir(d);
    CHECK(files >= 4);
    llmc_buf_free(&dir);
}

/* --- random builder graphs ------------------------------------------------------------- */

typedef struct Gen {
    IrBuilder b;
    uint64_t s;
    IrId pool[512];
    uint32_t n;
    IrId seed, step, micro; /* i32[] state inputs for rand */
    IrDtype fdt;            /* the graph's float dtype */
} Gen;

static uint32_t rnd(Gen *g, uint32_t n) {
    g->s ^= g->s << 13;
    g->s ^= g->s >> 7;
    g->s ^= g->s << 17;
    return (uint32_t)(g->s % n);
}

static void push(Gen *g, IrId id) {
    if (id != IR_ID_NONE && g->n < sizeof g->pool / sizeof g->pool[0]) g->pool[g->n++] = id;
}

static const IrType *type_of(Gen *g, IrId id) { return &g->b.g->nodes[id].type; }

/* A pool value of dtype dt (any, if none). */
static IrId pick(Gen *g, IrDtype dt) {
    for (int tries = 0; tries < 16; tries++) {
        IrId id = g->pool[rnd(g, g->n)];
        if (type_of(g, id)->dtype == dt) return id;
    }
    for (uint32_t i = g->n; i-- > 0;)
        if (type_of(g, g->pool[i])->dtype == dt) return g->pool[i];
    return g->pool[0];
}

/* A const of type t: a splat of an interesting value, or varied values. */
static IrId gen_const(Gen *g, IrType t) {
    static const double splats[] = {1, 0, -0.0, 2, 0.5, -1, 3};
    int64_t numel = ir_type_numel(&t);
    if (rnd(g, 3) || numel > 64) {
        double v = splats[rnd(g, sizeof splats / sizeof splats[0])];
        return ir_build_const(&g->b, t, &v, 1);
    }
    double vals[64];
    for (int64_t i = 0; i < numel; i++) vals[i] = rnd(g, 4) ? 1.0 : (double)rnd(g, 5) - 2.0;
    return ir_build_const(&g->b, t, vals, (uint64_t)numel);
}

/* A same-typed partner for x: another pool value, or a constant. */
static IrId partner(Gen *g, IrId x) {
    const IrType *t = type_of(g, x);
    if (rnd(g, 2))
        for (int tries = 0; tries < 24; tries++) {
            IrId y = g->pool[rnd(g, g->n)];
            if (ir_type_equal(type_of(g, y), t)) return y;
        }
    return gen_const(g, *t);
}

static void gen_step(Gen *g) {
    IrBuilder *b = &g->b;
    IrId x = pick(g, rnd(g, 5) ? g->fdt : IR_DTYPE_I32);
    IrType t = *type_of(g, x);
    bool fl = t.dtype != IR_DTYPE_I32;
    switch (rnd(g, 17)) {
    case 0: {
        static const IrOp un[] = {IR_OP_NEG, IR_OP_EXP, IR_OP_TANH, IR_OP_ABS, IR_OP_SQRT, IR_OP_RECIP, IR_OP_SIN};
        push(g, ir_build_unary(b, fl ? un[rnd(g, 7)] : IR_OP_ABS, x));
        break;
    }
    case 1:
    case 2: {
        static const IrOp bin[] = {IR_OP_ADD, IR_OP_SUB, IR_OP_MUL, IR_OP_DIV, IR_OP_MAX, IR_OP_MIN};
        IrOp op = bin[rnd(g, fl ? 6 : 3)]; /* no i32 division: a zero divisor is an error */
        IrId y = partner(g, x);
        push(g, rnd(g, 2) ? ir_build_binary(b, op, x, y) : ir_build_binary(b, op, y, x));
        break;
    }
    case 3: { /* reshape: flat, or with a leading 1, or a chain */
        int64_t numel = ir_type_numel(&t);
        int64_t d1[1] = {numel}, d2[2] = {1, numel};
        IrId r = rnd(g, 2) ? ir_build_reshape(b, x, 1, d1) : ir_build_reshape(b, x, 2, d2);
        if (rnd(g, 2)) r = ir_build_reshape(b, r, t.rank, t.dims);
        push(g, r);
        break;
    }
    case 4: { /* permute, maybe twice */
        if (t.rank == 0) break;
        int64_t p[IR_MAX_RANK];
        for (uint32_t i = 0; i < t.rank; i++) p[i] = i;
        for (uint32_t i = t.rank; i-- > 1;) {
            uint32_t j = rnd(g, i + 1);
            int64_t s = p[i];
            p[i] = p[j];
            p[j] = s;
        }
        IrId r = ir_build_permute(b, x, t.rank, p);
        if (rnd(g, 2)) r = ir_build_permute(b, r, t.rank, p);
        push(g, r);
        break;
    }
    case 5: { /* broadcast: a new leading axis, maybe twice, or the identity */
        if (t.rank + 2 > IR_MAX_RANK || ir_type_numel(&t) > 16) break;
        int64_t dims[IR_MAX_RANK], map[IR_MAX_RANK];
        dims[0] = 2;
        for (uint32_t i = 0; i < t.rank; i++) dims[i + 1] = t.dims[i], map[i] = i + 1;
        if (rnd(g, 3) == 0) {
            for (uint32_t i = 0; i < t.rank; i++) map[i] = i;
            push(g, ir_build_broadcast(b, x, t.rank, t.dims, map));
            break;
        }
        IrId r = ir_build_broadcast(b, x, t.rank + 1, dims, map);
        if (rnd(g, 2)) {
            int64_t dims2[IR_MAX_RANK], map2[IR_MAX_RANK];
            dims2[0] = 2;
            for (uint32_t i = 0; i <= t.rank; i++) dims2[i + 1] = dims[i], map2[i] = i + 1;
            r = ir_build_broadcast(b, r, t.rank + 2, dims2, map2);
        }
        push(g, r);
        break;
    }
    case 6: { /* reduction over a random axis */
        if (t.rank == 0) break;
        push(g, ir_build_reduce(b, rnd(g, 2) ? IR_OP_REDUCE_SUM : IR_OP_REDUCE_MAX, x, rnd(g, t.rank), rnd(g, 2)));
        break;
    }
    case 7: /* cast: to its own dtype, or between floats */
        push(g, ir_build_cast(b, x, fl && rnd(g, 2) ? (t.dtype == IR_DTYPE_F32 ? IR_DTYPE_F64 : IR_DTYPE_F32) : t.dtype));
        break;
    case 8: { /* slice: full, or the front half of axis 0 */
        if (t.rank == 0) break;
        int64_t start[IR_MAX_RANK] = {0}, end[IR_MAX_RANK];
        for (uint32_t i = 0; i < t.rank; i++) end[i] = t.dims[i];
        if (rnd(g, 2) && t.dims[0] > 1) end[0] = t.dims[0] / 2;
        push(g, ir_build_slice(b, x, start, end, NULL));
        break;
    }
    case 9: { /* concat of one, or of two along axis 0 */
        if (t.rank == 0) break;
        IrId xs[2] = {x, partner(g, x)};
        push(g, ir_build_concat(b, xs, ir_type_numel(&t) <= 16 && rnd(g, 2) ? 2 : 1, 0));
        break;
    }
    case 10: { /* a verbatim duplicate of an existing node (cse's food) */
        IrId src = g->pool[rnd(g, g->n)];
        IrNode copy = g->b.g->nodes[src];
        if (copy.op == IR_OP_INPUT) break;
        push(g, ir_graph_add_node(g->b.g, &copy));
        break;
    }
    case 11: { /* rand at one of two sites, in the shape of x */
        if (!fl) break;
        push(g, ir_build_rand(b, t, g->seed, g->step, g->micro, 1 + rnd(g, 2), IR_RAND_UNIFORM));
        break;
    }
    case 12: { /* select on a comparison, or on a constant, or between equal sides */
        IrId y = partner(g, x);
        IrId c = rnd(g, 3) ? ir_build_binary(b, IR_OP_CMPLT, x, y) : gen_const(g, t);
        push(g, ir_build_select(b, c, x, rnd(g, 3) ? y : x));
        break;
    }
    case 13: /* neg of neg */
        push(g, ir_build_unary(b, IR_OP_NEG, ir_build_unary(b, IR_OP_NEG, x)));
        break;
    case 14: { /* matmul with its own transpose */
        if (t.rank != 2 || !fl) break;
        push(g, ir_build_matmul(b, x, x, false, true));
        break;
    }
    case 15: { /* constant arithmetic feeding x */
        IrId c1 = gen_const(g, t), c2 = gen_const(g, t);
        IrId c = ir_build_binary(b, rnd(g, 2) ? IR_OP_MUL : IR_OP_ADD, c1, c2);
        push(g, ir_build_binary(b, IR_OP_MUL, x, c));
        break;
    }
    case 16: { /* a broadcast scalar constant times x (autodiff's seeds) */
        double one = 1;
        IrId s = ir_build_const(b, ir_type_scalar(t.dtype), &one, 1);
        int64_t map[1] = {0};
        push(g, ir_build_binary(b, IR_OP_MUL, ir_build_broadcast(b, s, t.rank, t.dims, map), x));
        break;
    }
    }
}

static IrGraph *gen_graph(uint64_t seed) {
    Gen g = {.s = seed * 2654435761u + 1};
    IrGraph *graph = ir_graph_new("random");
    ir_builder_init(&g.b, graph);
    g.fdt = rnd(&g, 2) ? IR_DTYPE_F32 : IR_DTYPE_F64;
    push(&g, ir_build_input(&g.b, IR_ROLE_DATA, "x", ir_type_make(g.fdt, 2, (int64_t[]){2, 3})));
    push(&g, ir_build_input(&g.b, IR_ROLE_PARAM, "w", ir_type_make(g.fdt, 2, (int64_t[]){2, 3})));
    push(&g, ir_build_input(&g.b, IR_ROLE_PARAM, "v", ir_type_make(g.fdt, 1, (int64_t[]){3})));
    push(&g, ir_build_input(&g.b, IR_ROLE_DATA, "s", ir_type_scalar(g.fdt)));
    push(&g, ir_build_input(&g.b, IR_ROLE_DATA, "n", ir_type_make(IR_DTYPE_I32, 2, (int64_t[]){2, 3})));
    g.seed = ir_build_input(&g.b, IR_ROLE_STATE, "seed", ir_type_scalar(IR_DTYPE_I32));
    g.step = ir_build_input(&g.b, IR_ROLE_STATE, "step", ir_type_scalar(IR_DTYPE_I32));
    g.micro = ir_build_input(&g.b, IR_ROLE_DATA, "micro", ir_type_scalar(IR_DTYPE_I32));
    ir_builder_set_scope(&g.b, "layers.0");
    int steps = 10 + (int)rnd(&g, 30);
    for (int i = 0; i < steps; i++) {
        if (i == steps / 2) ir_builder_set_scope(&g.b, "layers.0.grad");
        gen_step(&g);
    }
    if (!ir_builder_ok(&g.b)) fprintf(stderr, "random graph %llu: %s\n", (unsigned long long)seed, g.b.err.msg);
    CHECK(ir_builder_ok(&g.b));
    /* Outputs: the last value and a few others; the rest may be dead. */
    ir_graph_add_output(graph, "out0", g.pool[g.n - 1]);
    uint32_t extra = rnd(&g, 3);
    for (uint32_t i = 0; i < extra; i++) {
        char name[16];
        snprintf(name, sizeof name, "out%u", i + 1);
        ir_graph_add_output(graph, name, g.pool[rnd(&g, g.n)]);
    }
    return graph;
}

static void test_random(void) {
    uint64_t before = 0, after = 0;
    for (uint64_t seed = 1; seed <= 120; seed++) {
        IrGraph *g = gen_graph(seed);
        char where[64];
        snprintf(where, sizeof where, "random graph %llu", (unsigned long long)seed);
        if (!passes_check_verifies(where, g)) {
            ir_graph_free(g);
            continue;
        }
        before += g->n_nodes;
        after += check_all_passes(where, g);
        ir_graph_free(g);
    }
    fprintf(stderr, "random graphs: simplify %llu -> %llu nodes\n", (unsigned long long)before,
            (unsigned long long)after);
    CHECK(after * 10 < before * 9); /* they are built to be simplified */
}

/* --- what text cannot show ------------------------------------------------------------- */

/* The train record, the graph name, scopes and locations survive every pass; a folded
 * constant carries the folded node's provenance. */
static void test_provenance(void) {
    IrGraph *g = ir_graph_new("step graph");
    g->train.present = true;
    g->train.model = ir_graph_intern(g, "tiny");
    g->train.batch = 3;
    IrBuilder b;
    ir_builder_init(&b, g);
    IrId x = ir_build_input(&b, IR_ROLE_PARAM, "x", ir_type_make(IR_DTYPE_F32, 1, (int64_t[]){2}));
    ir_builder_set_scope(&b, "layers.1.mlp");
    ir_builder_set_loc(&b, "m.llm", 7, 3);
    IrId c = ir_build_binary(&b, IR_OP_ADD, ir_build_scalar(&b, IR_DTYPE_F32, 1), ir_build_scalar(&b, IR_DTYPE_F32, 2));
    ir_builder_set_scope(&b, "layers.1.act");
    ir_builder_set_loc(&b, "m.llm", 8, 5);
    IrId y = ir_build_unary(&b, IR_OP_TANH, x);
    IrId z = ir_build_binary(&b, IR_OP_MUL, y, ir_build_broadcast_to(&b, c, 1, (int64_t[]){2}));
    CHECK(ir_builder_ok(&b));
    ir_graph_add_output(g, "z", z);
    for (size_t i = 0; i < N_PASSES; i++) {
        IrGraph *r = run_checked("provenance", pass_names[i], g);
        if (!r) continue;
        CHECK_STR(ir_graph_name(r), "step graph");
        CHECK(r->train.present);
        CHECK_EQ_INT(r->train.batch, 3);
        CHECK_STR(ir_graph_str(r, r->train.model), "tiny");
        for (IrId id = 0; id < r->n_nodes; id++) {
            const IrNode *n = &r->nodes[id];
            if (n->op == IR_OP_TANH) {
                CHECK_STR(ir_graph_str(r, n->scope), "layers.1.act");
                CHECK_EQ_INT(n->loc.line, 8);
                CHECK_STR(ir_graph_str(r, n->loc.file), "m.llm");
            }
        }
        if (strcmp(pass_names[i], "simplify") == 0) {
            /* tanh(x) * broadcast(1 + 2): the sum folds to a splat 3 of the broadcast. */
            const IrNode *out = &r->nodes[r->outputs[0].node];
            CHECK(out->op == IR_OP_MUL);
            const IrNode *k = &r->nodes[out->operands[1]];
            CHECK(k->op == IR_OP_CONST && cc_const_all(k, 3));
            CHECK_STR(ir_graph_str(r, k->scope), "layers.1.act");
            CHECK_EQ_INT(k->loc.col, 5);
            CHECK_EQ_INT(r->n_nodes, 4);
        }
        ir_graph_free(r);
    }
    ir_graph_free(g);
}

/* cc_node_same and cc_node_hash read attributes through the schema: bytes of the union
 * that no field of the op covers (padding, other members) do not count. */
static void test_attr_compare(void) {
    IrGraph *g = ir_graph_new("attrs");
    static IrId operand[1] = {0};
    IrNode a, b;
    memset(&a, 0xAA, sizeof a);
    memset(&b, 0x55, sizeof b);
    for (IrNode *n = &a; n; n = n == &a ? &b : NULL) {
        n->op = IR_OP_REDUCE_SUM;
        n->type = ir_type_make(IR_DTYPE_F32, 1, (int64_t[]){3});
        n->n_operands = 1;
        n->operands = operand;
        n->attrs.reduce.axis = 1;
        n->attrs.reduce.keepdims = false;
        n->scope = 0;
    }
    CHECK(cc_node_same(g, &a, g, &b));
    CHECK(cc_node_hash(g, &a) == cc_node_hash(g, &b));
    b.attrs.reduce.keepdims = true;
    CHECK(!cc_node_same(g, &a, g, &b));
    b.attrs.reduce.keepdims = false;
    b.attrs.reduce.axis = 0;
    CHECK(!cc_node_same(g, &a, g, &b));
    /* IrInts: entries past n are not compared. */
    memset(&a.attrs, 0xAA, sizeof a.attrs);
    memset(&b.attrs, 0x55, sizeof b.attrs);
    a.op = b.op = IR_OP_PERMUTE;
    a.attrs.permute.perm.n = b.attrs.permute.perm.n = 2;
    a.attrs.permute.perm.v[0] = b.attrs.permute.perm.v[0] = 1;
    a.attrs.permute.perm.v[1] = b.attrs.permute.perm.v[1] = 0;
    CHECK(cc_node_same(g, &a, g, &b));
    CHECK(cc_node_hash(g, &a) == cc_node_hash(g, &b));
    /* Strings by content, across graphs with different ids. */
    IrGraph *h = ir_graph_new("other");
    ir_graph_intern(h, "padding");
    a.op = b.op = IR_OP_EXTERN_CALL;
    a.n_operands = b.n_operands = 0;
    a.attrs.extern_call.symbol = ir_graph_intern(g, "f");
    b.attrs.extern_call.symbol = ir_graph_intern(h, "f");
    a.attrs.extern_call.backward = b.attrs.extern_call.backward = 0; /* no backward (the fill above is garbage) */
    CHECK(a.attrs.extern_call.symbol != b.attrs.extern_call.symbol);
    CHECK(cc_node_same(g, &a, h, &b));
    CHECK(cc_node_hash(g, &a) == cc_node_hash(h, &b));
    ir_graph_free(h);
    ir_graph_free(g);
}

/* fold's limits: a non-uniform result above 4096 elements stays; at 4096 it folds; a
 * uniform one folds to a splat whatever its size. */
static void test_fold_limits(void) {
    for (int64_t numel = 4096; numel <= 4097; numel++) {
        IrGraph *g = ir_graph_new("limit");
        IrBuilder b;
        ir_builder_init(&b, g);
        double *v = llmc_xmalloc((size_t)numel * sizeof *v);
        for (int64_t i = 0; i < numel; i++) v[i] = (double)(i % 100);
        IrType t = ir_type_make(IR_DTYPE_F32, 1, &numel);
        IrId y = ir_build_unary(&b, IR_OP_NEG, ir_build_const(&b, t, v, (uint64_t)numel));
        free(v);
        ir_graph_add_output(g, "y", y);
        LlmcErr err = {0};
        IrGraph *r = cc_pass_fold(g, &err);
        CHECK(r != NULL);
        if (r) CHECK(r->nodes[r->outputs[0].node].op == (numel <= 4096 ? IR_OP_CONST : IR_OP_NEG));
        ir_graph_free(r);
        ir_graph_free(g);
    }
    IrGraph *g = ir_graph_new("big splat");
    IrBuilder b;
    ir_builder_init(&b, g);
    int64_t big[2] = {1024, 1024};
    IrId c = ir_build_const(&b, ir_type_make(IR_DTYPE_F64, 2, big), (double[]){2}, 1);
    ir_graph_add_output(g, "y", ir_build_unary(&b, IR_OP_SQRT, ir_build_binary(&b, IR_OP_MUL, c, c)));
    LlmcErr err = {0};
    IrGraph *r = cc_pass_fold(g, &err);
    CHECK(r != NULL);
    if (r) {
        const IrNode *n = &r->nodes[r->outputs[0].node];
        CHECK(n->op == IR_OP_CONST && n->attrs.constant.value.count == 1 && cc_const_all(n, 2));
    }
    ir_graph_free(r);
    ir_graph_free(g);
}

/* cse keeps sharded rands apart from unsharded ones and from other shardings. */
static void test_cse_rand_shards(void) {
    IrGraph *g = ir_graph_new("shards");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrId s = ir_build_input(&b, IR_ROLE_STATE, "seed", ir_type_scalar(IR_DTYPE_I32));
    IrType t = ir_type_make(IR_DTYPE_F32, 1, (int64_t[]){4});
    IrId r[4];
    for (int i = 0; i < 4; i++) r[i] = ir_build_rand(&b, t, s, s, s, 5, IR_RAND_UNIFORM);
    g->nodes[r[1]].attrs.rand.shard_axis = 0;
    g->nodes[r[1]].attrs.rand.shards = 2;
    g->nodes[r[2]].attrs.rand.shard_axis = 0;
    g->nodes[r[2]].attrs.rand.shards = 2;
    for (int i = 0; i < 4; i++) {
        char name[8];
        snprintf(name, sizeof name, "r%d", i);
        ir_graph_add_output(g, name, r[i]);
    }
    LlmcErr err = {0};
    IrGraph *c = cc_pass_cse(g, &err);
    CHECK(c != NULL);
    if (c) {
        CHECK_EQ_INT(c->n_nodes, 3); /* seed, the unsharded rand (r0 = r3), the sharded one */
        CHECK(c->outputs[0].node == c->outputs[3].node);
        CHECK(c->outputs[1].node == c->outputs[2].node);
        CHECK(c->outputs[0].node != c->outputs[1].node);
    }
    ir_graph_free(c);
    ir_graph_free(g);
}

int main(int argc, char **argv) {
    const char *root = argc > 1 ? argv[1] : ".";
    test_examples(root);
    test_random();
    test_provenance();
    test_attr_compare();
    test_fold_limits();
    test_cse_rand_shards();
    fprintf(stderr, "passes: results compared %d times (%d skipped: the input fails to run)\n",
            passes_results_compared, passes_results_skipped);
    TEST_MAIN();
}
