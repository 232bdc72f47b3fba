/* tests/bundle/test_bundle_reader.c — the bundle container (runtime/bundle.c) without
 * LLVM: a small bundle built in-process from a tiny .llir graph, read back through memory
 * and through a file; every bad-input case with its message; blob tables; and a bounded
 * mutation test (random flips and cuts, never a crash, always detected). Label unit (runs
 * under ASan+UBSan too).
 */
#include "runtime.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const tiny_llir =
    "graph @forward {\n"
    "  %0 = input() {name=\"w\", role=param} : f32[2,3]\n"
    "  %1 = input() {name=\"x\", role=data} : f32[2,3]\n"
    "  %2 = mul(%0, %1) : f32[2,3]\n"
    "  %3 = reduce_sum(%2) {axis=1} : f32[2]\n"
    "  %4 = reduce_sum(%3) {axis=0} : f32[]\n"
    "  output \"loss\" = %4\n"
    "}\n";

/* A complete small bundle: the five sections, a two-entry blob table of fake objects. */
static void build_tiny(LlmcBuf *out) {
    static const char config[] = "{\"model\": \"tiny\", \"model_hash\": \"0123456789abcdef\"}\n";
    static const char memplan[] = "{\"graphs\": []}\n";
    static const unsigned char obj_a[] = {0x7f, 'E', 'L', 'F', 1, 2, 3}, obj_b[] = {9, 8, 7, 6, 5};
    RtBundleBlob items[2] = {{1, 2, obj_a, sizeof obj_a}, {3, 4, obj_b, sizeof obj_b}};
    LlmcBuf objs = {0}, bc = {0};
    rt_bundle_blobs_serialize("format 1\nllvm 0.0.0\ncpu test\n", items, 2, &objs);
    rt_bundle_blobs_serialize("format 1\nllvm 0.0.0\ncpu test\n", items, 1, &bc);
    RtBundleSection s[5] = {
        {"config.json", (const unsigned char *)config, sizeof config - 1},
        {"module.llir", (const unsigned char *)tiny_llir, strlen(tiny_llir)},
        {"memplan.json", (const unsigned char *)memplan, sizeof memplan - 1},
        {"kernels.bc", (const unsigned char *)bc.data, bc.len},
        {"objects", (const unsigned char *)objs.data, objs.len},
    };
    rt_bundle_serialize(s, 5, out);
    llmc_buf_free(&objs);
    llmc_buf_free(&bc);
}

/* Parses bytes expecting failure with `want` in the message. */
static void expect_error(const void *bytes, size_t len, const char *want) {
    RtBundle b;
    LlmcErr err = {0};
    bool ok = rt_bundle_parse(bytes, len, "t.llmc", &b, &err);
    CHECK(!ok);
    CHECK(b.blob == NULL && b.sections == NULL);
    if (!strstr(err.msg, want) || strncmp(err.msg, "t.llmc", 6) != 0) {
        fprintf(stderr, "  message '%s' lacks '%s'\n", err.msg, want);
        CHECK(false);
    }
    rt_bundle_free(&b);
}

static void test_roundtrip(void) {
    LlmcBuf buf = {0};
    build_tiny(&buf);
    CHECK(rt_bundle_sniff(buf.data, buf.len));
    CHECK(!rt_bundle_sniff(tiny_llir, strlen(tiny_llir)));
    RtBundle b;
    LlmcErr err = {0};
    CHECK(rt_bundle_parse(buf.data, buf.len, "t.llmc", &b, &err));
    if (err.set) fprintf(stderr, "%s\n", err.msg);
    CHECK_EQ_INT(b.n_sections, 5);
    CHECK_EQ_INT(b.version, RT_BUNDLE_VERSION);
    const RtBundleSection *m = rt_bundle_section(&b, "module.llir");
    CHECK(m && m->size == strlen(tiny_llir) && memcmp(m->data, tiny_llir, m->size) == 0);
    CHECK(rt_bundle_section(&b, "nope") == NULL);

    IrModule mod;
    LlmcDiags d = {0};
    CHECK(rt_bundle_module(&b, "t.llmc", &mod, &d));
    llmc_diags_print(&d, stderr);
    llmc_diags_free(&d);
    CHECK_EQ_INT(mod.n_graphs, 1);
    LlmcBuf printed = {0};
    if (mod.n_graphs) ir_print_module(&mod, &printed);
    CHECK(printed.len == strlen(tiny_llir) && memcmp(printed.data, tiny_llir, printed.len) == 0);
    llmc_buf_free(&printed);
    ir_module_free(&mod);

    RtBundleBlobs t;
    CHECK(rt_bundle_blobs(&b, "objects", "t.llmc", &t, &err));
    CHECK_EQ_INT(t.count, 2);
    CHECK_STR(t.target, "format 1\nllvm 0.0.0\ncpu test\n");
    CHECK(t.count == 2 && t.items[1].key_lo == 3 && t.items[1].key_hi == 4 && t.items[1].size == 5 &&
          t.items[1].data[0] == 9);
    rt_bundle_blobs_free(&t);
    CHECK(!rt_bundle_blobs(&b, "config.json", "t.llmc", &t, &err)); /* not a blob table */
    CHECK(strstr(err.msg, "malformed blob table") != NULL);
    rt_bundle_free(&b);

    /* deterministic */
    LlmcBuf again = {0};
    build_tiny(&again);
    CHECK(again.len == buf.len && memcmp(again.data, buf.data, buf.len) == 0);
    llmc_buf_free(&again);
    llmc_buf_free(&buf);
}

static void test_file(void) {
    char dir[] = "/tmp/llmc-bundle-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/t.llmc", dir);
    LlmcBuf buf = {0};
    build_tiny(&buf);
    LlmcErr err = {0};
    CHECK(llmc_file_write(path, buf.data, buf.len, &err));
    RtBundle b;
    CHECK(rt_bundle_read(path, &b, &err));
    rt_bundle_free(&b);
    /* a truncated file: the message names the path */
    CHECK(llmc_file_write(path, buf.data, buf.len - 10, &err));
    CHECK(!rt_bundle_read(path, &b, &err));
    CHECK(strstr(err.msg, path) && strstr(err.msg, "truncated"));
    unlink(path);
    LlmcErr e2 = {0};
    CHECK(!rt_bundle_read(path, &b, &e2)); /* missing file */
    CHECK(strstr(e2.msg, path) != NULL);
    rmdir(dir);
    llmc_buf_free(&buf);
}

static void put_u32_at(char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (char)(v >> (8 * i));
}
static void put_u64_at(char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (char)(v >> (8 * i));
}

static void test_bad_inputs(void) {
    LlmcBuf buf = {0};
    build_tiny(&buf);
    size_t n = buf.len;
    char *c = malloc(n);

    expect_error(buf.data, 0, "truncated");
    expect_error(buf.data, 5, "truncated");
    expect_error(buf.data, 20, "truncated");
    expect_error(buf.data, 100, "truncated");
    expect_error(buf.data, n - 1, "truncated");
    expect_error(tiny_llir, strlen(tiny_llir), "not an llmc bundle (wrong magic");

    memcpy(c, buf.data, n);
    c[0] = 'X';
    expect_error(c, n, "wrong magic");

    memcpy(c, buf.data, n);
    put_u32_at(c + 8, 7);
    expect_error(c, n, "unsupported bundle version 7");

    /* a corrupt byte inside module.llir: its checksum */
    RtBundle b;
    LlmcErr err = {0};
    CHECK(rt_bundle_parse(buf.data, n, "t.llmc", &b, &err));
    size_t off = (size_t)(rt_bundle_section(&b, "module.llir")->data - (const unsigned char *)b.blob);
    rt_bundle_free(&b);
    memcpy(c, buf.data, n);
    c[off + 20] ^= 0x01;
    expect_error(c, n, "corrupt section 'module.llir' (checksum mismatch)");

    /* a corrupt table byte: the header checksum */
    memcpy(c, buf.data, n);
    c[24 + 40] ^= 0x10;
    expect_error(c, n, "corrupt bundle header (header checksum mismatch)");

    /* trailing data */
    char *longer = malloc(n + 3);
    memcpy(longer, buf.data, n);
    memset(longer + n, 0, 3);
    expect_error(longer, n + 3, "trailing data");
    free(longer);

    /* a missing section: a bundle of four */
    static const char config[] = "{}", memplan[] = "{}";
    RtBundleSection four[4] = {
        {"config.json", (const unsigned char *)config, 2},
        {"module.llir", (const unsigned char *)tiny_llir, strlen(tiny_llir)},
        {"memplan.json", (const unsigned char *)memplan, 2},
        {"kernels.bc", (const unsigned char *)"", 0},
    };
    LlmcBuf m4 = {0};
    rt_bundle_serialize(four, 4, &m4);
    expect_error(m4.data, m4.len, "missing section 'objects'");
    llmc_buf_free(&m4);

    /* a config.json that is not JSON (checksums right: written so) */
    RtBundleSection five[5] = {
        {"config.json", (const unsigned char *)"{oops", 5},
        {"module.llir", (const unsigned char *)tiny_llir, strlen(tiny_llir)},
        {"memplan.json", (const unsigned char *)memplan, 2},
        {"kernels.bc", (const unsigned char *)"", 0},
        {"objects", (const unsigned char *)"", 0},
    };
    LlmcBuf m5 = {0};
    rt_bundle_serialize(five, 5, &m5);
    expect_error(m5.data, m5.len, "t.llmc:config.json:1:");
    llmc_buf_free(&m5);

    /* a table whose header checksum is recomputed but whose offsets lie: still caught */
    memcpy(c, buf.data, n);
    put_u64_at(c + 24 + 32, 1000); /* section 0's offset */
    uint32_t count = 5;
    size_t header = 24 + 64 * (size_t)count;
    put_u64_at(c + header, rt_checksum(c, header));
    expect_error(c, n, "corrupt section table");

    /* a malformed module.llir: a parse error through rt_bundle_module, naming the section */
    static const char bad_llir[] = "graph @forward {\n  %0 = frob() : f32[]\n}\n";
    five[0] = (RtBundleSection){"config.json", (const unsigned char *)config, 2};
    five[1] = (RtBundleSection){"module.llir", (const unsigned char *)bad_llir, sizeof bad_llir - 1};
    LlmcBuf m6 = {0};
    rt_bundle_serialize(five, 5, &m6);
    CHECK(rt_bundle_parse(m6.data, m6.len, "t.llmc", &b, &err));
    IrModule mod;
    LlmcDiags d = {0};
    CHECK(!rt_bundle_module(&b, "t.llmc", &mod, &d));
    CHECK(d.errors > 0 && d.items[0].file && strcmp(d.items[0].file, "t.llmc:module.llir") == 0);
    llmc_diags_free(&d);
    rt_bundle_free(&b);
    llmc_buf_free(&m6);

    free(c);
    llmc_buf_free(&buf);
}

/* xorshift64*: a fixed sequence, so a failure reproduces. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static void test_mutations(void) {
    LlmcBuf buf = {0};
    build_tiny(&buf);
    size_t n = buf.len;
    char *c = malloc(n);
    int undetected = 0;
    for (int iter = 0; iter < 1000; iter++) {
        memcpy(c, buf.data, n);
        size_t len = n;
        uint64_t kind = rng() % 3;
        if (kind == 0 || kind == 2) { /* 1-4 flipped bytes (each flip nonzero) */
            int flips = 1 + (int)(rng() % 4);
            for (int f = 0; f < flips; f++) c[rng() % n] ^= (char)(1 + rng() % 255);
        }
        if (kind == 1 || kind == 2) len = (size_t)(rng() % n); /* a cut */
        if (len == n && memcmp(c, buf.data, n) == 0) continue; /* flips cancelled out */
        RtBundle b;
        LlmcErr err = {0};
        if (rt_bundle_parse(c, len, "m.llmc", &b, &err)) {
            undetected++;
            fprintf(stderr, "  mutation %d (kind %llu) not detected\n", iter, (unsigned long long)kind);
            rt_bundle_free(&b);
        } else {
            CHECK(err.set && strncmp(err.msg, "m.llmc", 6) == 0);
        }
    }
    CHECK_EQ_INT(undetected, 0);
    free(c);
    llmc_buf_free(&buf);
}

int main(void) {
    test_roundtrip();
    test_file();
    test_bad_inputs();
    test_mutations();
    TEST_MAIN();
}
