/* tests/unit/test_verify.c — the verifier catches every kind of malformed graph, names
 * the node, its scope and the reason, and reports all problems, not just the first. */
#include "ir.h"
#include "test.h"

static IrType vec(IrDtype dt, int64_t n) { return ir_type_make(dt, 1, (int64_t[]){n}); }

/* Appends a raw node, bypassing the builder's checks, the way a bad parser or pass would. */
static IrId raw(IrGraph *g, IrOp op, IrType t, const IrId *ops, uint32_t n, const char *scope) {
    IrNode node;
    memset(&node, 0, sizeof node);
    node.op = op;
    node.type = t;
    node.n_operands = n;
    node.operands = (IrId *)ops;
    ir_attrs_init_defaults(op, &node.attrs);
    node.scope = ir_graph_intern(g, scope);
    return ir_graph_add_node(g, &node);
}

static IrId raw_input(IrGraph *g, const char *name, IrType t) {
    IrId id = raw(g, IR_OP_INPUT, t, NULL, 0, NULL);
    g->nodes[id].attrs.input.name = ir_graph_intern(g, name);
    g->nodes[id].attrs.input.role = IR_ROLE_DATA;
    return id;
}

/* Runs the verifier and checks that some error message contains `want`. */
static void expect(IrGraph *g, const char *want, uint32_t min_errors) {
    LlmcDiags d = {0};
    CHECK(!ir_verify(g, &d, NULL, NULL));
    CHECK(d.errors >= min_errors);
    bool found = false;
    for (uint32_t i = 0; i < d.count; i++) found |= strstr(d.items[i].msg, want) != NULL;
    if (!found) {
        llmc_diags_print(&d, stderr);
        fprintf(stderr, "  wanted: %s\n", want);
    }
    CHECK(found);
    llmc_diags_free(&d);
}

static void test_valid(void) {
    IrGraph *g = ir_graph_new("ok");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", vec(IR_DTYPE_F32, 4));
    IrId y = ir_build_unary(&b, IR_OP_TANH, x);
    ir_graph_add_output(g, "y", y);
    LlmcDiags d = {0};
    CHECK(ir_verify(g, &d, NULL, NULL));
    CHECK_EQ_INT(d.count, 0);
    llmc_diags_free(&d);
    ir_graph_free(g);
}

static void test_structure(void) {
    IrGraph *g = ir_graph_new("bad");
    IrId x = raw_input(g, "x", vec(IR_DTYPE_F32, 4));
    IrId fwd = 5;
    raw(g, IR_OP_NEG, vec(IR_DTYPE_F32, 4), &fwd, 1, "blk.a");
    IrId self[1] = {2};
    raw(g, IR_OP_NEG, vec(IR_DTYPE_F32, 4), self, 1, "blk.b");
    IrId two[2] = {x, x};
    raw(g, IR_OP_NEG, vec(IR_DTYPE_F32, 4), two, 2, "blk.c");
    ir_graph_add_output(g, "y", x);
    expect(g, "%1 (neg, scope blk.a): operand 0 refers to %5, which does not exist", 3);
    expect(g, "%2 (neg, scope blk.b): operand 0 uses %2 before its definition", 3);
    expect(g, "%3 (neg, scope blk.c): expects 1 operand, got 2", 3);
    ir_graph_free(g);
}

static void test_types_and_names(void) {
    IrGraph *g = ir_graph_new("bad");
    IrId x = raw_input(g, "x", vec(IR_DTYPE_F32, 4));
    raw_input(g, "x", vec(IR_DTYPE_F32, 4));
    IrId ops[1] = {x};
    raw(g, IR_OP_EXP, vec(IR_DTYPE_F32, 5), ops, 1, "mlp");
    raw(g, IR_OP_EXP, vec(IR_DTYPE_BF16, 4), ops, 1, NULL);
    IrId red = raw(g, IR_OP_REDUCE_SUM, ir_type_scalar(IR_DTYPE_F32), ops, 1, NULL);
    g->nodes[red].attrs.reduce.axis = 2;
    ir_graph_add_output(g, "y", x);
    ir_graph_add_output(g, "y", x);
    ir_graph_add_output(g, "z", 99);
    expect(g, "duplicate input name \"x\" (first defined by %0)", 6);
    expect(g, "%2 (exp, scope mlp): declared type f32[5], but the operands and attributes give f32[4]", 6);
    expect(g, "%3 (exp): declared type bf16[4], but the operands and attributes give f32[4]", 6);
    expect(g, "axis 2 is out of range for rank 1", 6);
    expect(g, "duplicate output name \"y\"", 6);
    expect(g, "output \"z\" refers to %99", 6);
    ir_graph_free(g);
}

static void test_empty_and_roles(void) {
    IrGraph *g = ir_graph_new("empty");
    expect(g, "has no outputs", 1);
    IrId x = raw(g, IR_OP_INPUT, vec(IR_DTYPE_F32, 2), NULL, 0, NULL);
    g->nodes[x].attrs.input.name = ir_graph_intern(g, "x");
    ir_graph_add_output(g, "x", x);
    expect(g, "input role must be param, state or data", 1);
    g->nodes[x].attrs.input.role = IR_ROLE_PARAM;
    IrId c = raw(g, IR_OP_RAND, vec(IR_DTYPE_F32, 2), (IrId[]){x, x, x}, 3, NULL);
    g->nodes[c].attrs.rand.dist = (IrRandDist)7;
    expect(g, "attribute dist has invalid value 7", 1);
    ir_graph_free(g);
}

/* With positions from a .llir text, diagnostics point at file:line:col. */
static void test_positions(void) {
    IrGraph *g = ir_graph_new("pos");
    IrId x = raw_input(g, "x", vec(IR_DTYPE_F32, 4));
    IrId ops[1] = {x};
    raw(g, IR_OP_LOG, vec(IR_DTYPE_F32, 3), ops, 1, NULL);
    ir_graph_add_output(g, "y", x);
    const char *text = "graph @pos {\n  %0 = ...\n  %1 = log(%0) : f32[3]\n}\n";
    LlmcSource src = {"pos.llir", text, strlen(text)};
    IrTextPos pos[2] = {{2, 3}, {3, 3}};
    LlmcDiags d = {0};
    CHECK(!ir_verify(g, &d, &src, pos));
    CHECK_EQ_INT(d.count, 1);
    CHECK_STR(d.items[0].file, "pos.llir");
    CHECK_EQ_INT(d.items[0].line, 3);
    CHECK_EQ_INT(d.items[0].col, 3);
    CHECK_STR(d.items[0].line_text, "  %1 = log(%0) : f32[3]");
    llmc_diags_free(&d);
    ir_graph_free(g);
}

int main(void) {
    test_valid();
    test_structure();
    test_types_and_names();
    test_empty_and_roles();
    test_positions();
    TEST_MAIN();
}
