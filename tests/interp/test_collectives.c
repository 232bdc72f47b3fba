/* tests/interp/test_collectives.c — the interpreter's simulated world: all_gather,
 * reduce_scatter, all_reduce and all_to_all on 1, 2 and 4 ranks against hand-computed
 * results; the fixed pairwise reduction tree made visible by f32 rounding; max
 * reductions with nan; i32 wraparound; and the error when a node's `ranks` differs from
 * the simulated world size.
 */
#include "harness.h"

/* One rank: every collective is the identity. */
static void test_one_rank(void) {
    Case c;
    case_begin(&c, 1);
    IrId x = case_input(&c, TY(IR_DTYPE_F32, 4), V(1, 2, 3, 4));
    case_output(&c, ir_build_all_gather(&c.b, x, 0, 1));
    case_output(&c, ir_build_all_reduce(&c.b, x, 1, IR_REDUCE_SUM));
    case_output(&c, ir_build_reduce_scatter(&c.b, x, 0, 1, IR_REDUCE_SUM));
    case_output(&c, ir_build_all_to_all(&c.b, x, 0, 0, 1));
    case_output(&c, ir_build_all_reduce(&c.b, x, 1, IR_REDUCE_MAX));
    if (case_run_ok(&c, IR_PRECISION_F32))
        for (int o = 0; o < 5; o++) CHECK_VALS(c.out[o], 1, 2, 3, 4);
    case_end(&c);
}

/* Two ranks: x0 = [[1,2],[3,4]], x1 = [[10,20],[30,40]]. */
static void test_two_ranks(void) {
    Case c;
    case_begin(&c, 2);
    IrId x = case_input_ranks(&c, TY(IR_DTYPE_F64, 2, 2), V(1, 2, 3, 4, 10, 20, 30, 40));
    case_output(&c, ir_build_all_gather(&c.b, x, 0, 2));                   /* 0 */
    case_output(&c, ir_build_all_gather(&c.b, x, 1, 2));                   /* 1 */
    case_output(&c, ir_build_all_reduce(&c.b, x, 2, IR_REDUCE_SUM));        /* 2 */
    case_output(&c, ir_build_all_reduce(&c.b, x, 2, IR_REDUCE_MAX));        /* 3 */
    case_output(&c, ir_build_reduce_scatter(&c.b, x, 0, 2, IR_REDUCE_SUM)); /* 4 */
    case_output(&c, ir_build_reduce_scatter(&c.b, x, 1, 2, IR_REDUCE_SUM)); /* 5 */
    case_output(&c, ir_build_all_to_all(&c.b, x, 0, 1, 2));                /* 6 */
    case_output(&c, ir_build_all_to_all(&c.b, x, 1, 0, 2));                /* 7 */
    case_output(&c, ir_build_all_to_all(&c.b, x, 0, 0, 2));                /* 8 */
    /* Collectives compose with per-rank ops: each rank negates its own value first. */
    case_output(&c, ir_build_all_gather(&c.b, ir_build_unary(&c.b, IR_OP_NEG, x), 0, 2)); /* 9 */
    enum { NO = 10 };
    if (case_run_ok(&c, IR_PRECISION_F64)) {
        char buf[IR_TYPE_STR_MAX];
        for (int r = 0; r < 2; r++) {
            CHECK_VALS(c.out[r * NO + 0], 1, 2, 3, 4, 10, 20, 30, 40);
            CHECK_STR(ir_type_format(&c.out[r * NO + 0].type, buf, sizeof buf), "f64[4,2]");
            CHECK_VALS(c.out[r * NO + 1], 1, 2, 10, 20, 3, 4, 30, 40);
            CHECK_STR(ir_type_format(&c.out[r * NO + 1].type, buf, sizeof buf), "f64[2,4]");
            CHECK_VALS(c.out[r * NO + 2], 11, 22, 33, 44);
            CHECK_VALS(c.out[r * NO + 3], 10, 20, 30, 40);
            CHECK_VALS(c.out[r * NO + 9], -1, -2, -3, -4, -10, -20, -30, -40);
        }
        CHECK_VALS(c.out[0 * NO + 4], 11, 22);
        CHECK_VALS(c.out[1 * NO + 4], 33, 44);
        CHECK_VALS(c.out[0 * NO + 5], 11, 33);
        CHECK_VALS(c.out[1 * NO + 5], 22, 44);
        /* split rows, join columns: rank r gets row r of x0 then row r of x1 */
        CHECK_STR(ir_type_format(&c.out[6].type, buf, sizeof buf), "f64[1,4]");
        CHECK_VALS(c.out[0 * NO + 6], 1, 2, 10, 20);
        CHECK_VALS(c.out[1 * NO + 6], 3, 4, 30, 40);
        /* split columns, join rows: rank r gets column r of x0 over column r of x1 */
        CHECK_STR(ir_type_format(&c.out[7].type, buf, sizeof buf), "f64[4,1]");
        CHECK_VALS(c.out[0 * NO + 7], 1, 3, 10, 30);
        CHECK_VALS(c.out[1 * NO + 7], 2, 4, 20, 40);
        CHECK_VALS(c.out[0 * NO + 8], 1, 2, 10, 20);
        CHECK_VALS(c.out[1 * NO + 8], 3, 4, 30, 40);
    }
    case_end(&c);
}

/* Four ranks: x_r = [10r+1, 10r+2, 10r+3, 10r+4]; and a 2-D all_to_all. */
static void test_four_ranks(void) {
    Case c;
    case_begin(&c, 4);
    IrId x = case_input_ranks(&c, TY(IR_DTYPE_F32, 4), V(1, 2, 3, 4, 11, 12, 13, 14, 21, 22, 23, 24, 31, 32, 33, 34));
    /* y_r [2,4]: y_r[i,j] = 100r + 10i + j */
    double yv[4 * 8];
    for (int r = 0; r < 4; r++)
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 4; j++) yv[r * 8 + i * 4 + j] = 100 * r + 10 * i + j;
    IrId y = case_input_ranks(&c, TY(IR_DTYPE_F32, 2, 4), yv);
    case_output(&c, ir_build_all_gather(&c.b, x, 0, 4));                   /* 0 */
    case_output(&c, ir_build_all_reduce(&c.b, x, 4, IR_REDUCE_SUM));        /* 1 */
    case_output(&c, ir_build_reduce_scatter(&c.b, x, 0, 4, IR_REDUCE_SUM)); /* 2 */
    case_output(&c, ir_build_all_to_all(&c.b, x, 0, 0, 4));                /* 3 */
    case_output(&c, ir_build_all_to_all(&c.b, y, 1, 0, 4));                /* 4: [8,1] */
    case_output(&c, ir_build_reduce_scatter(&c.b, y, 1, 4, IR_REDUCE_MAX)); /* 5: [2,1] */
    enum { NO = 6 };
    if (case_run_ok(&c, IR_PRECISION_F32)) {
        for (int r = 0; r < 4; r++) {
            CHECK_VALS(c.out[r * NO + 0], 1, 2, 3, 4, 11, 12, 13, 14, 21, 22, 23, 24, 31, 32, 33, 34);
            CHECK_VALS(c.out[r * NO + 1], 64, 68, 72, 76);
        }
        CHECK_VALS(c.out[0 * NO + 2], 64);
        CHECK_VALS(c.out[1 * NO + 2], 68);
        CHECK_VALS(c.out[2 * NO + 2], 72);
        CHECK_VALS(c.out[3 * NO + 2], 76);
        CHECK_VALS(c.out[0 * NO + 3], 1, 11, 21, 31);
        CHECK_VALS(c.out[1 * NO + 3], 2, 12, 22, 32);
        CHECK_VALS(c.out[2 * NO + 3], 3, 13, 23, 33);
        CHECK_VALS(c.out[3 * NO + 3], 4, 14, 24, 34);
        /* rank 2 gets column 2 of every y_s, stacked in source order */
        CHECK_VALS(c.out[2 * NO + 4], 2, 12, 102, 112, 202, 212, 302, 312);
        CHECK_VALS(c.out[0 * NO + 4], 0, 10, 100, 110, 200, 210, 300, 310);
        /* max over ranks is rank 3's; rank r keeps column r */
        CHECK_VALS(c.out[1 * NO + 5], 301, 311);
        CHECK_VALS(c.out[3 * NO + 5], 303, 313);
    }
    case_end(&c);
}

/* The reduction tree, made visible by f32 rounding (float spacing at 1e8 is 8).
 *   4 ranks, v = (1e8, 1, -1e8, 1):
 *     tree ((v0+v1) + (v2+v3)) in f32 = (1e8 + -1e8) = 0;
 *     in exact arithmetic (f64 mode) = 2; a left-to-right f32 chain would give 1.
 *   3 ranks, v = (1, 1e8, -1e8): tree ((v0+v1)+v2) in f32 = 1e8 - 1e8 = 0;
 *     v0 + (v1+v2) would give 1; f64 mode gives 1.
 *   2 ranks: (1e8 + 1) in f32 = 1e8. */
static void test_tree_order(void) {
    Case c;
    case_begin(&c, 4);
    /* element 1 puts the same values in the opposite rank order: (1, -1e8, 1, 1e8)
     * -> ((1 + -1e8) + (1 + 1e8)) = (-1e8 + 1e8) = 0 in f32 too. */
    IrId x = case_input_ranks(&c, TY(IR_DTYPE_F32, 4, 1), V(1e8, 1, 0, 0, 1, -1e8, 0, 0, -1e8, 1, 0, 0, 1, 1e8, 0, 0));
    case_output(&c, ir_build_all_reduce(&c.b, x, 4, IR_REDUCE_SUM));
    case_output(&c, ir_build_reduce_scatter(&c.b, x, 0, 4, IR_REDUCE_SUM));
    IrId x64 = ir_build_cast(&c.b, x, IR_DTYPE_F64);
    case_output(&c, ir_build_all_reduce(&c.b, x64, 4, IR_REDUCE_SUM));
    if (case_run_ok(&c, IR_PRECISION_F32)) {
        for (int r = 0; r < 4; r++) {
            CHECK_VALS(c.out[r * 3 + 0], 0, 0, 0, 0);
            CHECK_VALS(c.out[r * 3 + 2], 2, 2, 0, 0); /* f64 nodes are never rounded */
        }
        CHECK_VALS(c.out[0 * 3 + 1], 0); /* reduce_scatter uses the same tree */
        CHECK_VALS(c.out[1 * 3 + 1], 0);
    }
    if (case_run_ok(&c, IR_PRECISION_F64))
        for (int r = 0; r < 4; r++) CHECK_VALS(c.out[r * 3 + 0], 2, 2, 0, 0);
    case_end(&c);

    case_begin(&c, 3);
    x = case_input_ranks(&c, TY(IR_DTYPE_F32, 1), V(1, 1e8, -1e8));
    case_output(&c, ir_build_all_reduce(&c.b, x, 3, IR_REDUCE_SUM));
    if (case_run_ok(&c, IR_PRECISION_F32))
        for (int r = 0; r < 3; r++) CHECK_VALS(c.out[r], 0);
    if (case_run_ok(&c, IR_PRECISION_F64))
        for (int r = 0; r < 3; r++) CHECK_VALS(c.out[r], 1);
    case_end(&c);

    case_begin(&c, 2);
    x = case_input_ranks(&c, TY(IR_DTYPE_F32, 1), V(1e8, 1));
    case_output(&c, ir_build_all_reduce(&c.b, x, 2, IR_REDUCE_SUM));
    if (case_run_ok(&c, IR_PRECISION_F32)) CHECK_VALS(c.out[1], 1e8);
    if (case_run_ok(&c, IR_PRECISION_F64)) CHECK_VALS(c.out[1], 1e8 + 1);
    case_end(&c);
}

/* max with nan, and i32 sums that wrap. */
static void test_max_and_i32(void) {
    Case c;
    case_begin(&c, 2);
    IrId x = case_input_ranks(&c, TY(IR_DTYPE_F32, 4), V(1, NAN, -0.0, -5, 2, 0, 0.0, -7));
    case_output(&c, ir_build_all_reduce(&c.b, x, 2, IR_REDUCE_MAX));
    case_output(&c, ir_build_reduce_scatter(&c.b, x, 0, 2, IR_REDUCE_MAX));
    IrId i = case_input_ranks(&c, TY(IR_DTYPE_I32, 2), V(2147483647, -2147483648.0, 1, -1));
    case_output(&c, ir_build_all_reduce(&c.b, i, 2, IR_REDUCE_SUM));
    case_output(&c, ir_build_all_reduce(&c.b, i, 2, IR_REDUCE_MAX));
    if (case_run_ok(&c, IR_PRECISION_F32)) {
        for (int r = 0; r < 2; r++) {
            CHECK_VALS(c.out[r * 4 + 0], 2, NAN, -0.0, -5); /* nan wins; ties keep rank 0's */
            CHECK_VALS(c.out[r * 4 + 2], -2147483648.0, 2147483647);
            CHECK_VALS(c.out[r * 4 + 3], 2147483647, -1);
        }
        CHECK_VALS(c.out[0 * 4 + 1], 2, NAN);
        CHECK_VALS(c.out[1 * 4 + 1], -0.0, -5);
    }
    case_end(&c);
}

/* A graph sharded for one world size cannot run in another. */
static void test_ranks_mismatch(void) {
    Case c;
    case_begin(&c, 2);
    IrId x = case_input_ranks(&c, TY(IR_DTYPE_F32, 4), V(1, 2, 3, 4, 5, 6, 7, 8));
    ir_builder_set_scope(&c.b, "layers.0.attn.wq");
    case_output(&c, ir_build_all_reduce(&c.b, x, 4, IR_REDUCE_SUM));
    case_run_fails(&c, IR_PRECISION_F32,
                   "%1 (all_reduce, scope layers.0.attn.wq, rank 0): the node is for 4 ranks but the interpreter "
                   "simulates 2");
    case_end(&c);

    case_begin(&c, 1);
    x = case_input(&c, TY(IR_DTYPE_F32, 4), V(1, 2, 3, 4));
    case_output(&c, ir_build_all_gather(&c.b, x, 0, 2));
    case_run_fails(&c, IR_PRECISION_F32, "%1 (all_gather): the node is for 2 ranks but the interpreter simulates 1");
    case_end(&c);

    case_begin(&c, 4);
    double v[16] = {0};
    x = case_input_ranks(&c, TY(IR_DTYPE_F32, 4), v);
    case_output(&c, ir_build_reduce_scatter(&c.b, x, 0, 2, IR_REDUCE_SUM));
    case_run_fails(&c, IR_PRECISION_F32, "the node is for 2 ranks but the interpreter simulates 4");
    case_end(&c);

    case_begin(&c, 2);
    x = case_input_ranks(&c, TY(IR_DTYPE_F32, 4), V(1, 2, 3, 4, 5, 6, 7, 8));
    case_output(&c, ir_build_all_to_all(&c.b, x, 0, 0, 4));
    case_run_fails(&c, IR_PRECISION_F32, "the node is for 4 ranks but the interpreter simulates 2");
    case_end(&c);
}

/* Ordinary ops run per rank on per-rank values; an error says which rank hit it. */
static void test_rank_errors(void) {
    Case c;
    case_begin(&c, 2);
    IrId table = case_input(&c, TY(IR_DTYPE_F32, 3), V(1, 2, 3));
    IrId idx = case_input_ranks(&c, TY(IR_DTYPE_I32, 1), V(2, 5));
    case_output(&c, ir_build_gather(&c.b, table, idx, 0, 0));
    case_run_fails(&c, IR_PRECISION_F32, "%2 (gather, rank 1): index 5 out of range [0, 3) at element 0");
    case_end(&c);
}

int main(void) {
    test_one_rank();
    test_two_ranks();
    test_four_ranks();
    test_tree_order();
    test_max_and_i32();
    test_ranks_mismatch();
    test_rank_errors();
    TEST_MAIN();
}
