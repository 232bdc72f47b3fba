/* tests/data/test_shards.c — the token shard reader and writer (runtime/shards.c).
 *
 * Covers: write->read round trips for both id widths (u16 up to vocab 65536, u32 above)
 * and an empty shard; writer rejections; every validation failure of the reader with
 * its full message (each bad header is re-checksummed, so the check under test is the
 * one that fires); and a bounded mutation loop (flip / overwrite / truncate / extend,
 * 2000 times) in which every changed file must be rejected and none may crash (run
 * under ASan+UBSan in CI). Temporary files live in a mkdtemp directory under /tmp that
 * is removed at the end.
 */
#include "runtime.h"
#include "test.h"

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

static char tmpdir[64];

static char *tmp_path(const char *name) {
    LlmcBuf b = {0};
    llmc_buf_printf(&b, "%s/%s", tmpdir, name);
    return b.data;
}

static void put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* Recomputes the header checksum (after editing header fields). */
static void fix_header(unsigned char *b) { put_u64(b + 40, rt_checksum(b, 40)); }

/* Recomputes the data checksum over len - 48 bytes of ids, then the header's. */
static void fix_data(unsigned char *b, size_t len) {
    put_u64(b + 32, rt_checksum(b + 48, len - 48));
    fix_header(b);
}

/* --- round trips --------------------------------------------------------------------- */

static void roundtrip(const char *name, const uint32_t *ids, uint64_t count, uint32_t vocab, uint32_t width) {
    char *path = tmp_path(name);
    LlmcErr err = {0};
    CHECK(rt_shard_write(path, ids, count, vocab, &err));
    if (err.set) fprintf(stderr, "%s\n", err.msg);
    char *bytes;
    size_t len;
    CHECK(llmc_file_read(path, &bytes, &len, &err));
    CHECK_EQ_INT(len, 48 + count * width);
    CHECK(memcmp(bytes, "LLMTOK\0\0", 8) == 0);
    RtShardHeader h;
    CHECK(rt_shard_parse(bytes, len, path, &h, NULL, &err));
    CHECK_EQ_INT(h.version, 1);
    CHECK_EQ_INT(h.id_bytes, width);
    CHECK_EQ_INT(h.vocab, vocab);
    CHECK_EQ_INT(h.count, count);
    CHECK(h.checksum == rt_checksum(bytes + 48, len - 48));
    CHECK(h.header_checksum == rt_checksum(bytes, 40));
    free(bytes);

    uint32_t *got = NULL, v = 0;
    uint64_t n = 99;
    CHECK(rt_shard_read(path, &got, &n, &v, &err));
    CHECK(got != NULL);
    CHECK_EQ_INT(n, count);
    CHECK_EQ_INT(v, vocab);
    for (uint64_t i = 0; got && i < count; i++)
        if (got[i] != ids[i]) {
            CHECK_EQ_INT(got[i], ids[i]);
            break;
        }
    free(got);
    unlink(path);
    free(path);
}

static void test_roundtrip(void) {
    uint32_t bytes[300];
    for (int i = 0; i < 300; i++) bytes[i] = (uint32_t)(i * 7 % 256);
    roundtrip("u16.shard", bytes, 300, 256, 2);
    static const uint32_t edge16[] = {0, 65535, 1, 65534, 256};
    roundtrip("u16max.shard", edge16, 5, 65536, 2);
    static const uint32_t wide[] = {0, 65536, 65537, 99999, 123, 70000};
    roundtrip("u32.shard", wide, 6, 100000, 4);
    static const uint32_t edge32[] = {4294967294u, 0};
    roundtrip("u32max.shard", edge32, 2, 4294967295u, 4);
    roundtrip("empty.shard", NULL, 0, 256, 2);
}

static void test_writer_errors(void) {
    char *path = tmp_path("bad.shard");
    static const uint32_t ids[] = {1, 2, 300, 4};
    LlmcErr err = {0};
    CHECK(!rt_shard_write(path, ids, 4, 256, &err));
    char *want = tmp_path("bad.shard: token 300 at position 2 is >= vocab 256");
    CHECK_STR(err.msg, want);
    free(want);
    CHECK(access(path, F_OK) != 0); /* nothing written */
    llmc_err_clear(&err);
    CHECK(!rt_shard_write(path, ids, 2, 0, &err));
    CHECK(strstr(err.msg, "vocab 0") != NULL);
    llmc_err_clear(&err);
    CHECK(!rt_shard_write("/nonexistent-dir-llmc/x.shard", ids, 2, 256, &err));
    CHECK(strstr(err.msg, "/nonexistent-dir-llmc/x.shard") == err.msg);
    free(path);
}

/* --- reader errors ------------------------------------------------------------------- */

/* A valid shard of 10 u16 ids (vocab 256) in memory: [68] bytes. */
static unsigned char *valid_shard(size_t *len) {
    uint32_t ids[10];
    for (int i = 0; i < 10; i++) ids[i] = (uint32_t)(10 * i + 5);
    char *path = tmp_path("valid.shard");
    LlmcErr err = {0};
    CHECK(rt_shard_write(path, ids, 10, 256, &err));
    char *bytes = NULL;
    CHECK(llmc_file_read(path, &bytes, len, &err));
    unlink(path);
    free(path);
    return (unsigned char *)bytes;
}

/* Writes bytes[0..len) to NAME, reads it back expecting failure with "PATH: want". */
static void expect_error(const char *name, const unsigned char *bytes, size_t len, const char *want) {
    char *path = tmp_path(name);
    LlmcErr err = {0};
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    CHECK(fwrite(bytes, 1, len, f) == len);
    fclose(f);
    uint32_t *ids = (uint32_t *)1, vocab = 7;
    uint64_t count = 7;
    CHECK(!rt_shard_read(path, &ids, &count, &vocab, &err));
    CHECK(ids == NULL);
    CHECK_EQ_INT(count, 0);
    CHECK_EQ_INT(vocab, 0);
    LlmcBuf full = {0};
    llmc_buf_printf(&full, "%s: %s", path, want);
    CHECK_STR(err.msg, full.data);
    llmc_buf_free(&full);
    unlink(path);
    free(path);
}

static void test_reader_errors(void) {
    size_t len;
    unsigned char *v = valid_shard(&len);
    CHECK_EQ_INT(len, 68);
    unsigned char *b = malloc(len + 16);

    expect_error("empty.shard", v, 0, "truncated header: 0 bytes, a token shard header is 48");
    expect_error("short.shard", v, 30, "truncated header: 30 bytes, a token shard header is 48");
    expect_error("trunc.shard", v, len - 1, "truncated: the header says 10 ids but only 19 bytes of ids follow");
    expect_error("trunc2.shard", v, 48, "truncated: the header says 10 ids but only 0 bytes of ids follow");

    memcpy(b, v, len);
    memcpy(b + len, "abc", 3);
    expect_error("trailing.shard", b, len + 3, "3 trailing bytes after the 10 ids");

    memcpy(b, v, len);
    b[0] = 'X';
    expect_error("magic.shard", b, len, "not a token shard (bad magic; expected \"LLMTOK\")");
    expect_error("magic_short.shard", (const unsigned char *)"LLMX", 4, "not a token shard (bad magic; expected \"LLMTOK\")");

    memcpy(b, v, len);
    put_u32(b + 8, 2);
    fix_header(b);
    expect_error("version.shard", b, len, "unsupported token shard version 2 (this build reads version 1)");

    memcpy(b, v, len);
    put_u32(b + 12, 3);
    fix_header(b);
    expect_error("width.shard", b, len, "bad id width 3 bytes (must be 2 or 4)");

    memcpy(b, v, len);
    put_u32(b + 12, 4);
    fix_header(b);
    expect_error("width4.shard", b, len, "id width 4 does not match vocab 256 (ids are u16 when vocab <= 65536, else u32)");

    memcpy(b, v, len);
    put_u32(b + 16, 0);
    fix_header(b);
    expect_error("vocab0.shard", b, len, "vocab is 0");

    memcpy(b, v, len);
    put_u32(b + 20, 9);
    fix_header(b);
    expect_error("reserved.shard", b, len, "reserved header field is 9, must be 0");

    memcpy(b, v, len);
    b[24] ^= 1; /* count 10 -> 11, header checksum not updated */
    LlmcBuf want = {0};
    llmc_buf_printf(&want, "header checksum mismatch (stored %016llx, computed %016llx): the header is corrupt",
                    (unsigned long long)rt_checksum(v, 40), (unsigned long long)rt_checksum(b, 40));
    expect_error("hcheck.shard", b, len, want.data);
    llmc_buf_free(&want);

    memcpy(b, v, len);
    b[50] ^= 0x10;
    llmc_buf_printf(&want, "data checksum mismatch (stored %016llx, computed %016llx): the token ids are corrupt",
                    (unsigned long long)rt_checksum(v + 48, 10 * 2), (unsigned long long)rt_checksum(b + 48, 10 * 2));
    expect_error("dcheck.shard", b, len, want.data);
    llmc_buf_free(&want);

    memcpy(b, v, len);
    b[48 + 2 * 3] = 0x2c; /* id 3: 300 = 0x012c */
    b[48 + 2 * 3 + 1] = 0x01;
    fix_data(b, len);
    expect_error("vocab.shard", b, len, "token 300 at position 3 is >= vocab 256");

    memcpy(b, v, len);
    put_u32(b + 16, 65537); /* vocab needs u32 ids, width says 2 */
    fix_header(b);
    expect_error("vocabwide.shard", b, len, "id width 2 does not match vocab 65537 (ids are u16 when vocab <= 65536, else u32)");

    /* a count so large that count * width overflows: caught as truncation */
    memcpy(b, v, len);
    put_u64(b + 24, UINT64_MAX / 2 + 7);
    fix_header(b);
    expect_error("huge.shard", b, len, "truncated: the header says 9223372036854775814 ids but only 20 bytes of ids follow");

    LlmcErr err = {0};
    uint32_t *ids, vocab;
    uint64_t count;
    CHECK(!rt_shard_read("no/such/shard.shard", &ids, &count, &vocab, &err));
    CHECK(strncmp(err.msg, "no/such/shard.shard: cannot open", 30) == 0);
    llmc_err_clear(&err);
    CHECK(!rt_shard_read(tmpdir, &ids, &count, &vocab, &err)); /* a directory */
    CHECK(strstr(err.msg, "is a directory") != NULL);
    free(b);
    free(v);
}

/* --- mutation: every changed shard is rejected, none crashes ------------------------- */

static uint64_t xorshift64(uint64_t *s) {
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static void test_mutations(void) {
    uint32_t ids[40];
    for (int i = 0; i < 40; i++) ids[i] = (uint32_t)((i * 37 + 11) % 1000);
    char *path = tmp_path("mut.shard");
    LlmcErr err = {0};
    CHECK(rt_shard_write(path, ids, 40, 1000, &err));
    char *vb;
    size_t vlen;
    CHECK(llmc_file_read(path, &vb, &vlen, &err));
    unlink(path);
    free(path);
    const unsigned char *valid = (const unsigned char *)vb;
    size_t cap = vlen + 64;
    unsigned char *buf = malloc(cap);
    uint64_t seed = 0x243F6A8885A308D3ull;
    int accepted = 0, rejected = 0, header_hits = 0;
    for (int it = 0; it < 2000; it++) {
        memcpy(buf, valid, vlen);
        size_t len = vlen;
        int edits = 1 + (int)(xorshift64(&seed) % 3);
        for (int e = 0; e < edits; e++) {
            uint64_t r = xorshift64(&seed);
            /* half the edits land in the 48-byte header */
            size_t span = (r & 1) ? len : (len < 48 ? len : 48);
            size_t pos = span ? (size_t)(r >> 16) % span : 0;
            if (pos < 48) header_hits++;
            switch ((r >> 8) % 5) {
            case 0: len = pos; break;                                                 /* truncate */
            case 1: if (len) buf[pos] ^= (unsigned char)(1u << ((r >> 40) % 8)); break; /* bit flip */
            case 2: if (len) buf[pos] = (unsigned char)(r >> 48); break;               /* random byte */
            case 3: {                                                                   /* extend */
                size_t add = 1 + (size_t)((r >> 40) % 8);
                if (len + add > cap) add = cap - len;
                for (size_t k = 0; k < add; k++) buf[len + k] = (unsigned char)(r >> (8 * (k % 8)));
                len += add;
                break;
            }
            default: if (len) buf[pos] = (unsigned char)((r >> 40) & 1 ? 0xff : 0x00); break;
            }
        }
        bool same = len == vlen && memcmp(buf, valid, vlen) == 0;
        RtShardHeader h;
        uint32_t *got = NULL;
        llmc_err_clear(&err);
        bool ok = rt_shard_parse(buf, len, "m.shard", &h, &got, &err);
        if (ok) {
            accepted++;
            CHECK(same); /* a corruption went undetected */
            CHECK_EQ_INT(h.count, 40);
            CHECK(got && memcmp(got, ids, sizeof ids) == 0);
        } else {
            rejected++;
            CHECK(!same);
            if (strncmp(err.msg, "m.shard: ", 7) != 0) CHECK_STR(err.msg, "m.shard: ...");
        }
        free(got);
    }
    free(buf);
    free(vb);
    CHECK(rejected > 1900);
    CHECK(header_hits > 1000);
    fprintf(stderr, "mutations: %d unchanged and accepted, %d rejected\n", accepted, rejected);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/llmc-tok-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_roundtrip();
    test_writer_errors();
    test_reader_errors();
    test_mutations();
    if (rmdir(tmpdir) != 0) {
        perror(tmpdir);
        CHECK(!"temporary directory left non-empty");
    }
    TEST_MAIN();
}
