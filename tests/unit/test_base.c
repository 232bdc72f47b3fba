/* tests/unit/test_base.c — the base layer: arenas, strings, error values, caret
 * diagnostics, checked file I/O, statistics. */
#define _POSIX_C_SOURCE 200809L
#include "ir.h"
#include "test.h"

#include <stdlib.h>
#include <unistd.h>

static void test_arena_and_buf(void) {
    LlmcArena a = {0};
    char *p = NULL;
    for (int i = 0; i < 10000; i++) {
        p = llmc_arena_alloc(&a, (size_t)(i % 97) + 1);
        CHECK(((uintptr_t)p & 15) == 0);
    }
    CHECK(p[0] == 0);
    char *s = llmc_arena_strndup(&a, "hello world", 5);
    CHECK_STR(s, "hello");
    llmc_arena_free(&a);
    LlmcBuf b = {0};
    for (int i = 0; i < 1000; i++) llmc_buf_printf(&b, "%d,", i);
    CHECK(b.len > 3000);
    CHECK(strncmp(b.data, "0,1,2,", 6) == 0);
    llmc_buf_free(&b);
}

static void test_err(void) {
    LlmcErr e = {0};
    llmc_err_set(&e, "first %d", 1);
    llmc_err_set(&e, "second");
    CHECK_STR(e.msg, "first 1");
    llmc_err_set(NULL, "ignored");
}

static void test_diags_caret(void) {
    const char *text = "line one\n\tbad token here\nlast";
    LlmcSource src = {"f.llir", text, strlen(text)};
    LlmcDiags d = {0};
    llmc_diag_at(&d, LLMC_SEV_ERROR, &src, 2, 6, "unexpected '%s'", "token");
    llmc_diag_at(&d, LLMC_SEV_NOTE, &src, 3, 1, "here");
    llmc_diag_at(&d, LLMC_SEV_ERROR, &src, 9, 1, "past the end");
    CHECK_EQ_INT(d.errors, 2);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    llmc_diags_print(&d, f);
    fclose(f);
    CHECK_STR(out, "f.llir:2:6: error: unexpected 'token'\n"
                   "  \tbad token here\n"
                   "  \t    ^\n"
                   "f.llir:3:1: note: here\n"
                   "  last\n"
                   "  ^\n"
                   "f.llir:9:1: error: past the end\n");
    free(out);
    llmc_diags_free(&d);
}

static void test_file_io(void) {
    char dir[] = "/tmp/llmc_test_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/a.bin", dir);
    LlmcErr err = {0};
    CHECK(llmc_file_write(path, "abc\0def", 7, &err));
    char *data;
    size_t len;
    CHECK(llmc_file_read(path, &data, &len, &err));
    CHECK_EQ_INT(len, 7);
    CHECK(memcmp(data, "abc\0def", 7) == 0 && data[7] == 0);
    free(data);
    CHECK(!llmc_file_read(dir, &data, &len, &err));
    CHECK(strstr(err.msg, "is a directory") != NULL);
    llmc_err_clear(&err);
    snprintf(path, sizeof path, "%s/missing", dir);
    CHECK(!llmc_file_read(path, &data, &len, &err));
    CHECK(strstr(err.msg, "missing: cannot open: No such file") != NULL);
    llmc_err_clear(&err);
    snprintf(path, sizeof path, "%s/nodir/x", dir);
    CHECK(!llmc_file_write(path, "x", 1, &err));
    CHECK(strstr(err.msg, "cannot create") != NULL);
    snprintf(path, sizeof path, "%s/a.bin", dir);
    unlink(path);
    rmdir(dir);
}

static void test_stats(void) {
    IrGraph *g = ir_graph_new("s");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", ir_type_make(IR_DTYPE_F32, 3, (int64_t[]){2, 3, 4}));
    IrId w = ir_build_input(&b, IR_ROLE_PARAM, "w", ir_type_make(IR_DTYPE_F32, 2, (int64_t[]){4, 5}));
    IrId m = ir_build_input(&b, IR_ROLE_STATE, "m", ir_type_make(IR_DTYPE_F64, 2, (int64_t[]){4, 5}));
    IrId y = ir_build_matmul(&b, x, w, false, false);          /* 2*(2*3*5)*4 = 240 */
    IrId z = ir_build_unary(&b, IR_OP_TANH, y);                 /* 30 */
    IrId s = ir_build_reduce(&b, IR_OP_REDUCE_SUM, z, 2, false); /* 30 */
    IrId r = ir_build_reshape(&b, s, 1, (int64_t[]){6});        /* 0 */
    ir_graph_add_output(g, "r", r);
    ir_graph_add_output(g, "m", m);
    CHECK(ir_builder_ok(&b));
    IrStats st;
    ir_graph_stats(g, &st);
    CHECK_CLOSE(st.flops, 300, 0);
    CHECK_EQ_INT(st.n_params, 20);
    CHECK_EQ_INT(st.bytes_params, 80);
    CHECK_EQ_INT(st.bytes_state, 160);
    CHECK_EQ_INT(st.bytes_data, 96);
    CHECK_EQ_INT(st.bytes_intermediates, 120 + 120 + 24 + 24);
    CHECK_EQ_INT(st.op_count[IR_OP_MATMUL], 1);
    CHECK_EQ_INT(st.op_count[IR_OP_INPUT], 3);
    ir_graph_free(g);
}

int main(void) {
    test_arena_and_buf();
    test_err();
    test_diags_caret();
    test_file_io();
    test_stats();
    TEST_MAIN();
}
