/* tests/unit/test_builder.c — shape inference through the builder: results for every
 * rule family, and error values (never aborts) whose messages name the op and shapes. */
#include "ir.h"
#include "test.h"

static IrType t2(IrDtype dt, int64_t a, int64_t b) { return ir_type_make(dt, 2, (int64_t[]){a, b}); }
static IrType t3(IrDtype dt, int64_t a, int64_t b, int64_t c) { return ir_type_make(dt, 3, (int64_t[]){a, b, c}); }

static const IrType *type_of(IrGraph *g, IrId id) { return &ir_graph_node(g, id)->type; }

static void check_type(IrGraph *g, IrId id, const char *want) {
    char buf[IR_TYPE_STR_MAX];
    CHECK(id != IR_ID_NONE);
    if (id == IR_ID_NONE) return;
    CHECK_STR(ir_type_format(type_of(g, id), buf, sizeof buf), want);
}

/* Expects the build to have failed with a message containing `want`. */
static void check_error(IrBuilder *b, IrId id, const char *want) {
    CHECK(id == IR_ID_NONE);
    CHECK(b->err.set);
    if (!strstr(b->err.msg, want)) {
        fprintf(stderr, "  message: %s\n  wanted substring: %s\n", b->err.msg, want);
        CHECK(!"message mismatch");
    }
    llmc_err_clear(&b->err);
}

static void test_elementwise(void) {
    IrGraph *g = ir_graph_new("t");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", t2(IR_DTYPE_F32, 2, 3));
    IrId y = ir_build_input(&b, IR_ROLE_PARAM, "y", t2(IR_DTYPE_F32, 2, 3));
    IrId v = ir_build_input(&b, IR_ROLE_PARAM, "v", ir_type_make(IR_DTYPE_F32, 1, (int64_t[]){3}));
    IrId i = ir_build_input(&b, IR_ROLE_DATA, "i", t2(IR_DTYPE_I32, 2, 3));
    check_type(g, ir_build_binary(&b, IR_OP_ADD, x, y), "f32[2,3]");
    check_type(g, ir_build_unary(&b, IR_OP_EXP, x), "f32[2,3]");
    check_type(g, ir_build_cast(&b, x, IR_DTYPE_I32), "i32[2,3]");
    check_type(g, ir_build_select(&b, i, x, y), "f32[2,3]");
    check_error(&b, ir_build_binary(&b, IR_OP_ADD, x, v), "add: operand types f32[2,3] and f32[3] differ");
    check_error(&b, ir_build_unary(&b, IR_OP_EXP, i), "exp: needs a float operand, got i32[2,3]");
    check_error(&b, ir_build_binary(&b, IR_OP_MUL, x, i), "mul: operand types f32[2,3] and i32[2,3]");
    /* Errors are sticky: a failed operand propagates without a second message. */
    IrId bad = ir_build_binary(&b, IR_OP_ADD, x, v);
    IrId worse = ir_build_unary(&b, IR_OP_NEG, bad);
    CHECK(worse == IR_ID_NONE);
    CHECK(strstr(b.err.msg, "add:") != NULL);
    llmc_err_clear(&b.err);
    /* numpy-style helper inserts explicit broadcasts. */
    IrId s = ir_build_binary_bcast(&b, IR_OP_MUL, x, v);
    check_type(g, s, "f32[2,3]");
    CHECK(ir_graph_node(g, ir_graph_node(g, s)->operands[1])->op == IR_OP_BROADCAST);
    check_error(&b, ir_build_binary_bcast(&b, IR_OP_ADD, x, ir_build_input(&b, IR_ROLE_DATA, "w", t2(IR_DTYPE_F32, 3, 2))),
                "do not broadcast");
    ir_graph_free(g);
}

static void test_reduce_movement(void) {
    IrGraph *g = ir_graph_new("t");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", t3(IR_DTYPE_F32, 2, 3, 4));
    check_type(g, ir_build_reduce(&b, IR_OP_REDUCE_SUM, x, 1, false), "f32[2,4]");
    check_type(g, ir_build_reduce(&b, IR_OP_REDUCE_MAX, x, -1, true), "f32[2,3,1]");
    check_error(&b, ir_build_reduce(&b, IR_OP_REDUCE_SUM, x, 3, false), "axis 3 is out of range for rank 3");
    check_type(g, ir_build_reshape(&b, x, 2, (int64_t[]){6, 4}), "f32[6,4]");
    check_error(&b, ir_build_reshape(&b, x, 2, (int64_t[]){5, 5}), "cannot reshape f32[2,3,4] to f32[5,5]");
    check_type(g, ir_build_permute(&b, x, 3, (int64_t[]){2, 0, 1}), "f32[4,2,3]");
    check_error(&b, ir_build_permute(&b, x, 3, (int64_t[]){0, 0, 1}), "not a permutation");
    IrId v = ir_build_input(&b, IR_ROLE_DATA, "v", ir_type_make(IR_DTYPE_F32, 1, (int64_t[]){3}));
    check_type(g, ir_build_broadcast(&b, v, 3, (int64_t[]){2, 3, 4}, (int64_t[]){1}), "f32[2,3,4]");
    check_error(&b, ir_build_broadcast(&b, v, 2, (int64_t[]){2, 4}, (int64_t[]){1}), "cannot broadcast f32[3] to f32[2,4]");
    check_type(g, ir_build_slice(&b, x, (int64_t[]){0, 1, 0}, (int64_t[]){2, 3, 4}, (int64_t[]){1, 1, 3}), "f32[2,2,2]");
    check_error(&b, ir_build_slice(&b, x, (int64_t[]){0, 0, 0}, (int64_t[]){2, 4, 4}, NULL), "out of bounds");
    check_type(g, ir_build_concat(&b, (IrId[]){x, x, x}, 3, 2), "f32[2,3,12]");
    IrId y = ir_build_input(&b, IR_ROLE_DATA, "y", t3(IR_DTYPE_F32, 2, 2, 4));
    check_type(g, ir_build_concat(&b, (IrId[]){x, y}, 2, 1), "f32[2,5,4]");
    check_error(&b, ir_build_concat(&b, (IrId[]){x, y}, 2, 2), "does not match");
    ir_graph_free(g);
}

static void test_matmul(void) {
    IrGraph *g = ir_graph_new("t");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrId a = ir_build_input(&b, IR_ROLE_DATA, "a", t3(IR_DTYPE_F32, 5, 2, 3));
    IrId w = ir_build_input(&b, IR_ROLE_PARAM, "w", t2(IR_DTYPE_F32, 3, 4));
    IrId wt = ir_build_input(&b, IR_ROLE_PARAM, "wt", t2(IR_DTYPE_F32, 4, 3));
    check_type(g, ir_build_matmul(&b, a, w, false, false), "f32[5,2,4]");
    check_type(g, ir_build_matmul(&b, a, wt, false, true), "f32[5,2,4]");
    check_type(g, ir_build_matmul(&b, a, a, true, false), "f32[5,3,3]");
    check_error(&b, ir_build_matmul(&b, a, wt, false, false), "contraction sizes differ");
    IrId c = ir_build_input(&b, IR_ROLE_DATA, "c", t3(IR_DTYPE_F32, 4, 3, 2));
    check_error(&b, ir_build_matmul(&b, a, c, false, false), "batch dimensions");
    ir_graph_free(g);
}

static void test_index(void) {
    IrGraph *g = ir_graph_new("t");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrId wte = ir_build_input(&b, IR_ROLE_PARAM, "wte", t2(IR_DTYPE_F32, 10, 4));
    IrId tok = ir_build_input(&b, IR_ROLE_DATA, "tok", t2(IR_DTYPE_I32, 2, 3));
    check_type(g, ir_build_gather(&b, wte, tok, 0, 0), "f32[2,3,4]");
    check_error(&b, ir_build_gather(&b, wte, wte, 0, 0), "indices must be i32");
    IrId scores = ir_build_input(&b, IR_ROLE_DATA, "s", t2(IR_DTYPE_F32, 6, 8));
    IrId top = ir_build_topk(&b, scores, 2);
    check_type(g, top, "i32[6,2]");
    check_type(g, ir_build_gather(&b, scores, top, 1, 1), "f32[6,2]");
    check_error(&b, ir_build_topk(&b, scores, 9), "k=9 is out of range");
    IrId upd = ir_build_input(&b, IR_ROLE_DATA, "u", t3(IR_DTYPE_F32, 2, 3, 4));
    check_type(g, ir_build_scatter_add(&b, t2(IR_DTYPE_F32, 10, 4), tok, upd, 0, 0), "f32[10,4]");
    check_error(&b, ir_build_scatter_add(&b, t2(IR_DTYPE_F32, 10, 5), tok, upd, 0, 0), "updates are f32[2,3,4]");
    check_type(g, ir_build_onehot(&b, tok, 10, IR_DTYPE_F32), "f32[2,3,10]");
    check_type(g, ir_build_iota(&b, t2(IR_DTYPE_I32, 2, 3), 1), "i32[2,3]");
    check_type(g, ir_build_cumsum(&b, upd, -1, true, false), "f32[2,3,4]");
    IrId seed = ir_build_input(&b, IR_ROLE_STATE, "seed", ir_type_scalar(IR_DTYPE_I32));
    IrId step = ir_build_input(&b, IR_ROLE_STATE, "step", ir_type_scalar(IR_DTYPE_I32));
    IrId micro = ir_build_input(&b, IR_ROLE_DATA, "micro", ir_type_scalar(IR_DTYPE_I32));
    check_type(g, ir_build_rand(&b, t2(IR_DTYPE_F32, 3, 3), seed, step, micro, 7, IR_RAND_NORMAL), "f32[3,3]");
    check_error(&b, ir_build_rand(&b, t2(IR_DTYPE_I32, 3, 3), seed, step, micro, 7, IR_RAND_NORMAL), "float dtype");
    check_error(&b, ir_build_rand(&b, t2(IR_DTYPE_F32, 3, 3), wte, step, micro, 7, IR_RAND_NORMAL), "seed must be i32[]");
    check_type(g, ir_build_extern_call(&b, "my_op", (IrId[]){wte, tok}, 2, t2(IR_DTYPE_F32, 1, 1)), "f32[1,1]");
    ir_graph_free(g);
}

static void test_collectives_and_sources(void) {
    IrGraph *g = ir_graph_new("t");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrId x = ir_build_input(&b, IR_ROLE_PARAM, "x", t2(IR_DTYPE_F32, 4, 6));
    check_type(g, ir_build_all_gather(&b, x, 0, 4), "f32[16,6]");
    check_type(g, ir_build_reduce_scatter(&b, x, 1, 2, IR_REDUCE_SUM), "f32[4,3]");
    check_error(&b, ir_build_reduce_scatter(&b, x, 1, 4, IR_REDUCE_SUM), "not divisible by 4 ranks");
    check_type(g, ir_build_all_reduce(&b, x, 4, IR_REDUCE_MAX), "f32[4,6]");
    check_type(g, ir_build_all_to_all(&b, x, 0, 1, 2), "f32[2,12]");
    check_error(&b, ir_build_all_gather(&b, x, 0, 0), "ranks 0 is out of range");
    check_type(g, ir_build_scalar(&b, IR_DTYPE_F64, 0.5), "f64[]");
    check_type(g, ir_build_const(&b, t2(IR_DTYPE_I32, 1, 3), (double[]){1, 2, 3}, 3), "i32[1,3]");
    check_error(&b, ir_build_const(&b, t2(IR_DTYPE_I32, 2, 3), (double[]){1, 2}, 2), "2 values for i32[2,3]");
    check_error(&b, ir_build_input(&b, IR_ROLE_DATA, "z", t2(IR_DTYPE_F32, 0, 3)), "every dimension must be >= 1");
    ir_graph_free(g);
}

static void test_provenance(void) {
    IrGraph *g = ir_graph_new("t");
    IrBuilder b;
    ir_builder_init(&b, g);
    ir_builder_set_scope(&b, "layers.3.attn.wq");
    ir_builder_set_loc(&b, "model.llm", 12, 5);
    IrId x = ir_build_input(&b, IR_ROLE_PARAM, "layers.3.attn.wq", t2(IR_DTYPE_F32, 2, 2));
    const IrNode *n = ir_graph_node(g, x);
    CHECK_STR(ir_graph_str(g, n->scope), "layers.3.attn.wq");
    CHECK_STR(ir_graph_str(g, n->loc.file), "model.llm");
    CHECK_EQ_INT(n->loc.line, 12);
    CHECK_EQ_INT(n->loc.col, 5);
    /* Interning returns the same id for the same text. */
    CHECK_EQ_INT(ir_graph_intern(g, "layers.3.attn.wq"), n->scope);
    IrGraph *c = ir_graph_clone(g);
    CHECK_STR(ir_graph_str(c, ir_graph_node(c, x)->scope), "layers.3.attn.wq");
    ir_graph_free(c);
    /* A graph renamed after other strings were interned (as passes do) clones too. */
    g->name = ir_graph_intern(g, "renamed");
    c = ir_graph_clone(g);
    CHECK_STR(ir_graph_name(c), "renamed");
    CHECK_STR(ir_graph_str(c, ir_graph_node(c, x)->scope), "layers.3.attn.wq");
    ir_graph_free(c);
    ir_graph_free(g);
}

int main(void) {
    test_elementwise();
    test_reduce_movement();
    test_matmul();
    test_index();
    test_collectives_and_sources();
    test_provenance();
    TEST_MAIN();
}
