/* tests/jit/test_jit_golden.c — the LLVM IR of a few small kernels as golden text.
 *
 *     test_jit_golden [SOURCE_DIR]          compare with tests/jit/golden/<case>.ll
 *     LLMC_UPDATE_GOLDEN=1 test_jit_golden  rewrite the files instead (then review the diff)
 *
 * Builder graphs, fused (cc_fuse), one kernel each printed by cc_kernel_text with
 * CC_TEXT_LLVM: the IR as our codegen builds it, before LLVM's optimizer, so a change in
 * a codegen file shows up as a diff here and LLVM upgrades do not. Cases: an elementwise
 * chain with a broadcast bias and a splat literal, a row reduction (reduce_sum of
 * squares), a scatter_add with a repeated index (the embedding-gradient shape), and a
 * small matmul with a bias epilogue.
 *
 * Host-specific lines are dropped before comparing and writing: `target datalayout`,
 * `target triple`, and the "target-cpu", "target-features", "tune-cpu",
 * "prefer-vector-width" and "min-legal-vector-width" attributes. Kernels whose code
 * depends on the host's vector width (elementwise bodies and reductions along a row are
 * W lanes wide; the matmul's microkernel is sized for the host) keep one golden per width
 * class, named
 * <case>.<class>.ll with class avx512 or other; a class without a checked-in file is
 * skipped with a note (LLMC_UPDATE_GOLDEN=1 on such a host adds it).
 */
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "test.h"

static CcJit *jit;
static const char *source_dir = ".";
static bool update;
static int compared, written, skipped;

/* Drops the host-specific parts of IR text (see the banner). malloc'd. */
static char *strip_host(const char *ir) {
    LlmcBuf out = {0};
    const char *p = ir;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);
        if (strncmp(p, "target datalayout", 17) == 0 || strncmp(p, "target triple", 13) == 0) {
            p += len;
            continue;
        }
        /* remove "name"="value" attributes of the three host keys from this line */
        char *line = llmc_xmalloc(len + 1);
        memcpy(line, p, len);
        line[len] = 0;
        static const char *const keys[] = {"\"target-cpu\"=\"", "\"target-features\"=\"", "\"tune-cpu\"=\"",
                                           "\"prefer-vector-width\"=\"", "\"min-legal-vector-width\"=\""};
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            char *at;
            while ((at = strstr(line, keys[k])) != NULL) {
                char *end = strchr(at + strlen(keys[k]), '"');
                if (!end) break;
                end++;
                if (*end == ' ') end++;
                else if (at > line && at[-1] == ' ') at--;
                memmove(at, end, strlen(end) + 1);
            }
        }
        llmc_buf_put(&out, line, strlen(line));
        free(line);
        p += len;
    }
    llmc_buf_put(&out, "", 1);
    return out.data;
}

/* First differing line of a and b, for the failure message. */
static void show_diff(const char *path, const char *want, const char *got) {
    int line = 1;
    const char *a = want, *b = got;
    while (*a && *a == *b) {
        if (*a == '\n') line++;
        a++;
        b++;
    }
    while (a > want && a[-1] != '\n') a--, b--;
    const char *ae = strchr(a, '\n'), *be = strchr(b, '\n');
    fprintf(stderr, "  %s:%d: differs\n    golden: %.*s\n    now:    %.*s\n", path, line,
            (int)(ae ? ae - a : (long)strlen(a)), a, (int)(be ? be - b : (long)strlen(b)), b);
    fprintf(stderr, "  (LLMC_UPDATE_GOLDEN=1 rewrites the golden files; review the diff)\n");
}

/* Prints the kernel rooted at `root` of g and compares it with golden file `name`. */
static void golden_case(IrGraph *g, IrId root, const char *name, bool host_class) {
    LlmcErr err = {0};
    CcFusion f;
    ir_graph_add_output(g, "out", root);
    bool ok = cc_fuse(g, &f, &err);
    if (!ok) fprintf(stderr, "  %s: %s\n", name, err.msg);
    CHECK(ok);
    if (!ok) return;
    const CcKernel *k = NULL;
    for (uint32_t i = 0; i < f.n_kernels; i++)
        if (f.kernels[i].root == root) k = &f.kernels[i];
    CHECK(k != NULL);
    char *text = k ? cc_kernel_text(jit, g, k, 0, CC_TEXT_LLVM, &err) : NULL;
    if (k && !text) fprintf(stderr, "  %s: %s\n", name, err.msg);
    CHECK(text != NULL);
    if (text) {
        char *got = strip_host(text);
        char path[512];
        if (host_class)
            snprintf(path, sizeof path, "%s/tests/jit/golden/%s.%s.ll", source_dir, name,
                     cc_jit_has_avx512(jit) ? "avx512" : "other");
        else
            snprintf(path, sizeof path, "%s/tests/jit/golden/%s.ll", source_dir, name);
        if (update) {
            ok = llmc_file_write(path, got, strlen(got), &err);
            if (!ok) fprintf(stderr, "  %s\n", err.msg);
            CHECK(ok);
            written++;
            fprintf(stderr, "  wrote %s (%zu bytes)\n", path, strlen(got));
        } else {
            char *want = NULL;
            size_t len = 0;
            if (!llmc_file_read(path, &want, &len, &err)) {
                if (host_class) {
                    fprintf(stderr, "  %s: no golden for this host class, skipped\n", path);
                    skipped++;
                } else {
                    fprintf(stderr, "  %s\n", err.msg);
                    CHECK(false);
                }
            } else {
                bool same = strcmp(want, got) == 0;
                if (!same) show_diff(path, want, got);
                CHECK(same);
                compared++;
            }
            free(want);
        }
        free(got);
    }
    free(text);
    cc_fusion_free(&f);
}

static IrType t2(IrDtype dt, int64_t a, int64_t b) {
    const int64_t d[2] = {a, b};
    return ir_type_make(dt, 2, d);
}

static IrType t1(IrDtype dt, int64_t a) { return ir_type_make(dt, 1, &a); }

/* y = max((x + b) * x, 0): x f32[4,8], b f32[8] through a broadcast, 0 a splat literal. */
static void test_elementwise(void) {
    IrGraph *g = ir_graph_new("golden");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", t2(IR_DTYPE_F32, 4, 8));
    IrId bias = ir_build_input(&b, IR_ROLE_DATA, "b", t1(IR_DTYPE_F32, 8));
    IrId s = ir_build_binary_bcast(&b, IR_OP_ADD, x, bias);
    IrId m = ir_build_binary(&b, IR_OP_MUL, s, x);
    IrId zero = ir_build_const(&b, t2(IR_DTYPE_F32, 4, 8), (const double[]){0.0}, 1);
    IrId y = ir_build_binary(&b, IR_OP_MAX, m, zero);
    CHECK(ir_builder_ok(&b));
    golden_case(g, y, "elementwise", true);
    ir_graph_free(g);
}

/* y[i] = sum_j x[i, j]^2: x f32[4,20] (vectorized along the row: W-lane bodies, a tail
 * of 20 % W elements, the lane tree; per width class). */
static void test_reduce(void) {
    IrGraph *g = ir_graph_new("golden");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", t2(IR_DTYPE_F32, 4, 20));
    IrId y = ir_build_reduce(&b, IR_OP_REDUCE_SUM, ir_build_binary(&b, IR_OP_MUL, x, x), 1, false);
    CHECK(ir_builder_ok(&b));
    golden_case(g, y, "reduce", true);
    ir_graph_free(g);
}

/* out f32[10,3] = scatter_add of upd f32[6,3] at token ids idx i32[6] (axis 0). */
static void test_scatter_add(void) {
    IrGraph *g = ir_graph_new("golden");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrId idx = ir_build_input(&b, IR_ROLE_DATA, "idx", t1(IR_DTYPE_I32, 6));
    IrId upd = ir_build_input(&b, IR_ROLE_DATA, "upd", t2(IR_DTYPE_F32, 6, 3));
    IrId y = ir_build_scatter_add(&b, t2(IR_DTYPE_F32, 10, 3), idx, upd, 0, 0);
    CHECK(ir_builder_ok(&b));
    golden_case(g, y, "scatter_add", false);
    ir_graph_free(g);
}

/* y = x @ w + bias: x f32[4,8], w f32[8,16], bias f32[16]. */
static void test_matmul(void) {
    IrGraph *g = ir_graph_new("golden");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", t2(IR_DTYPE_F32, 4, 8));
    IrId w = ir_build_input(&b, IR_ROLE_PARAM, "w", t2(IR_DTYPE_F32, 8, 16));
    IrId bias = ir_build_input(&b, IR_ROLE_PARAM, "bias", t1(IR_DTYPE_F32, 16));
    IrId y = ir_build_binary_bcast(&b, IR_OP_ADD, ir_build_matmul(&b, x, w, false, false), bias);
    CHECK(ir_builder_ok(&b));
    golden_case(g, y, "matmul", true);
    ir_graph_free(g);
}

int main(int argc, char **argv) {
    if (argc > 1) source_dir = argv[1];
    const char *u = getenv("LLMC_UPDATE_GOLDEN");
    update = u && *u && strcmp(u, "0") != 0;
    LlmcErr err = {0};
    jit = cc_jit_new(&err);
    if (!jit) {
        fprintf(stderr, "cc_jit_new: %s\n", err.msg);
        return 1;
    }
    test_elementwise();
    test_reduce();
    test_scatter_add();
    test_matmul();
    fprintf(stderr, "golden kernels: %d compared, %d written, %d skipped (host class %s)\n", compared, written,
            skipped, cc_jit_has_avx512(jit) ? "avx512" : "other");
    cc_jit_free(jit);
    TEST_MAIN();
}
