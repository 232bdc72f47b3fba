/* tests/unit/test_rand_shard.c — a sharded rand draws exactly the values of the
 * unsharded one: rank r's block along shard_axis equals that block of the whole tensor,
 * for every axis and world size, so init and dropout survive sharding unchanged. */
#include "ir.h"
#include "test.h"

/* Runs one rand node on `ranks` simulated ranks; out[r] receives rank r's value. */
static bool run_rand(IrType t, int64_t shard_axis, int64_t shards, uint32_t ranks, IrValue *out) {
    IrGraph *g = ir_graph_new("r");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrId seed = ir_build_input(&b, IR_ROLE_STATE, "seed", ir_type_scalar(IR_DTYPE_I32));
    IrId step = ir_build_scalar(&b, IR_DTYPE_I32, 3);
    IrId micro = ir_build_scalar(&b, IR_DTYPE_I32, 1);
    IrAttrs a;
    ir_attrs_init_defaults(IR_OP_RAND, &a);
    a.rand.site = 42;
    a.rand.dist = IR_RAND_NORMAL;
    a.rand.shard_axis = shard_axis;
    a.rand.shards = shards;
    IrId r = ir_build(&b, IR_OP_RAND, (IrId[]){seed, step, micro}, 3, &a, &t);
    CHECK(ir_builder_ok(&b));
    ir_graph_add_output(g, "r", r);
    IrValue ins[4];
    for (uint32_t k = 0; k < ranks; k++) {
        ir_value_alloc(&ins[k], ir_type_scalar(IR_DTYPE_I32));
        ins[k].data[0] = 7;
    }
    IrInterpOptions opt = {.precision = IR_PRECISION_F64, .ranks = ranks};
    LlmcErr err = {0};
    bool ok = ir_interp_run(g, &opt, ins, out, &err);
    if (!ok) fprintf(stderr, "  %s\n", err.msg);
    for (uint32_t k = 0; k < ranks; k++) ir_value_free(&ins[k]);
    ir_graph_free(g);
    return ok;
}

static void check_axis(uint32_t axis, uint32_t ranks) {
    int64_t whole_dims[3] = {4, 6, 8};
    IrValue whole;
    CHECK(run_rand(ir_type_make(IR_DTYPE_F32, 3, whole_dims), -1, 1, 1, &whole));
    int64_t shard_dims[3] = {4, 6, 8};
    shard_dims[axis] /= ranks;
    IrValue parts[4];
    CHECK(run_rand(ir_type_make(IR_DTYPE_F32, 3, shard_dims), axis, ranks, ranks, parts));
    int mismatches = 0;
    for (uint32_t r = 0; r < ranks; r++)
        for (int64_t i = 0; i < shard_dims[0]; i++)
            for (int64_t j = 0; j < shard_dims[1]; j++)
                for (int64_t k = 0; k < shard_dims[2]; k++) {
                    int64_t c[3] = {i, j, k};
                    c[axis] += r * shard_dims[axis];
                    double want = whole.data[(c[0] * 6 + c[1]) * 8 + c[2]];
                    double got = parts[r].data[(i * shard_dims[1] + j) * shard_dims[2] + k];
                    mismatches += want != got;
                }
    CHECK_EQ_INT(mismatches, 0);
    ir_value_free(&whole);
    for (uint32_t r = 0; r < ranks; r++) ir_value_free(&parts[r]);
}

int main(void) {
    for (uint32_t axis = 0; axis < 3; axis++) {
        check_axis(axis, 2);
        check_axis(axis, 1);
    }
    check_axis(2, 4);
    check_axis(1, 3);
    /* A shard count that is not the world size is an error, not silent garbage. */
    IrValue out[2];
    CHECK(!run_rand(ir_type_make(IR_DTYPE_F32, 1, (int64_t[]){4}), 0, 2, 1, out));
    TEST_MAIN();
}
