/* tests/data/test_data.c — the data loader (runtime/data.c).
 *
 * Covers: shards concatenated in name order, the validation split (fraction, the
 * one-window minimum, windows in order, wrapping), windows and next-token targets, the
 * shuffled training order (each epoch reads every window exactly once; the same (seed,
 * micro-batch index) gives the same batch whatever the call order or the way micro-
 * batches are dealt to ranks; seeds and epochs differ), epochs, wide (u32) vocabularies,
 * and every error with its message: missing / empty directory, shard vocab > model
 * vocab, a bad shard, too little data, bad arguments. The token at position p is p
 * (mod the vocab), so a row tells which window it came from.
 */
#include "runtime.h"
#include "test.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[64];

/* tmpdir/NAME, created as a directory. */
static char *make_dir(const char *name) {
    LlmcBuf b = {0};
    llmc_buf_printf(&b, "%s/%s", tmpdir, name);
    CHECK(mkdir(b.data, 0755) == 0);
    return b.data;
}

/* dir/NAME holding ids first, first+1, ..., first+count-1 (mod vocab). */
static void write_shard(const char *dir, const char *name, uint32_t first, uint32_t count, uint32_t vocab) {
    uint32_t *ids = malloc((count ? count : 1) * sizeof *ids);
    for (uint32_t i = 0; i < count; i++) ids[i] = (first + i) % vocab;
    LlmcBuf p = {0};
    llmc_buf_printf(&p, "%s/%s", dir, name);
    LlmcErr err = {0};
    CHECK(rt_shard_write(p.data, ids, count, vocab, &err));
    if (err.set) fprintf(stderr, "%s\n", err.msg);
    llmc_buf_free(&p);
    free(ids);
}

static void remove_dir(const char *dir, const char *const *files, int n) {
    for (int i = 0; i < n; i++) {
        LlmcBuf p = {0};
        llmc_buf_printf(&p, "%s/%s", dir, files[i]);
        unlink(p.data);
        llmc_buf_free(&p);
    }
    CHECK(rmdir(dir) == 0);
}

/* --- layout -------------------------------------------------------------------------- */

static void test_layout(void) {
    char *dir = make_dir("layout");
    /* written out of order: b holds 100..199, a holds 0..99; a dot-file and a non-shard
     * are ignored */
    write_shard(dir, "b.shard", 100, 100, 65536);
    write_shard(dir, "a.shard", 0, 100, 65536);
    write_shard(dir, ".hidden.shard", 5000, 10, 65536);
    write_shard(dir, "notes.txt", 7000, 10, 65536);
    LlmcErr err = {0};
    RtData *d = rt_data_open(dir, 65536, 0.1, &err);
    CHECK(d != NULL);
    if (!d) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    CHECK_EQ_INT(rt_data_shards(d), 2);
    CHECK_EQ_INT(rt_data_tokens(d, false), 180);
    CHECK_EQ_INT(rt_data_tokens(d, true), 20);
    RtDataSplit sp;
    CHECK(rt_data_split(d, 4, &sp, &err));
    CHECK_EQ_INT(sp.train_tokens, 180);
    CHECK_EQ_INT(sp.val_tokens, 20);
    CHECK_EQ_INT(sp.train_windows, 44); /* (180 - 1) / 4 */
    CHECK_EQ_INT(sp.val_windows, 4);    /* (20 - 1) / 4 */

    /* validation: windows in order from token 180, wrapping; targets = next token */
    int32_t tok[5 * 4], tgt[5 * 4];
    CHECK(rt_data_batch(d, true, 1, 0, 4, 4, tok, tgt, &err));
    for (int b = 0; b < 4; b++)
        for (int j = 0; j < 4; j++) {
            CHECK_EQ_INT(tok[b * 4 + j], 180 + 4 * b + j);
            CHECK_EQ_INT(tgt[b * 4 + j], 181 + 4 * b + j);
        }
    CHECK(rt_data_batch(d, true, 99, 1, 3, 4, tok, tgt, &err)); /* samples 3, 4, 5 -> windows 3, 0, 1 */
    CHECK_EQ_INT(tok[0], 192);
    CHECK_EQ_INT(tok[4], 180);
    CHECK_EQ_INT(tok[8], 184);
    CHECK_EQ_INT(tgt[11], 188);

    /* training rows are whole windows of the training split */
    CHECK(rt_data_batch(d, false, 7, 3, 5, 4, tok, tgt, &err));
    for (int b = 0; b < 5; b++) {
        CHECK(tok[b * 4] % 4 == 0);
        CHECK(tok[b * 4] + 4 < 180);
        for (int j = 0; j < 4; j++) CHECK_EQ_INT(tgt[b * 4 + j], tok[b * 4 + j] + 1);
    }

    /* the one-window minimum: ceil(0.01 * 200) = 2 tokens, raised to seq + 1 */
    rt_data_free(d);
    d = rt_data_open(dir, 65536, 0.01, &err);
    CHECK(d != NULL);
    CHECK_EQ_INT(rt_data_tokens(d, true), 2);
    CHECK(rt_data_split(d, 8, &sp, &err));
    CHECK_EQ_INT(sp.val_tokens, 9);
    CHECK_EQ_INT(sp.val_windows, 1);
    CHECK_EQ_INT(sp.train_tokens, 191);
    CHECK_EQ_INT(sp.train_windows, 23);
    int32_t vt[8], vg[8];
    CHECK(rt_data_batch(d, true, 0, 5, 1, 8, vt, vg, &err));
    CHECK_EQ_INT(vt[0], 191);
    CHECK_EQ_INT(vg[7], 199);

    /* no validation split */
    rt_data_free(d);
    d = rt_data_open(dir, 65536, 0.0, &err);
    CHECK(d != NULL);
    CHECK(rt_data_split(d, 4, &sp, &err));
    CHECK_EQ_INT(sp.train_tokens, 200);
    CHECK_EQ_INT(sp.val_windows, 0);
    CHECK(!rt_data_batch(d, true, 0, 0, 1, 4, tok, tgt, &err));
    LlmcBuf want = {0};
    llmc_buf_printf(&want, "%s: no validation split (the validation fraction is 0)", dir);
    CHECK_STR(err.msg, want.data);
    llmc_buf_free(&want);
    rt_data_free(d);
    static const char *const files[] = {"a.shard", "b.shard", ".hidden.shard", "notes.txt"};
    remove_dir(dir, files, 4);
    free(dir);
}

/* --- order --------------------------------------------------------------------------- */

enum { ORD_W = 1000, ORD_SEQ = 4, ORD_BATCH = 8, ORD_MICRO = 2 * ORD_W / ORD_BATCH };

/* The window index of each row of micro-batch m (tokens are positions). */
static void rows(RtData *d, uint64_t seed, uint64_t m, int32_t *win) {
    int32_t tok[ORD_BATCH * ORD_SEQ], tgt[ORD_BATCH * ORD_SEQ];
    LlmcErr err = {0};
    CHECK(rt_data_batch(d, false, seed, m, ORD_BATCH, ORD_SEQ, tok, tgt, &err));
    if (err.set) fprintf(stderr, "%s\n", err.msg);
    for (int b = 0; b < ORD_BATCH; b++) win[b] = tok[b * ORD_SEQ] / ORD_SEQ;
}

static void test_order(void) {
    char *dir = make_dir("order");
    write_shard(dir, "x_00000.shard", 0, ORD_W * ORD_SEQ + 1, 100000); /* u32 ids: 1000 windows */
    LlmcErr err = {0};
    RtData *d = rt_data_open(dir, 100000, 0.0, &err);
    CHECK(d != NULL);
    if (!d) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    RtDataSplit sp;
    CHECK(rt_data_split(d, ORD_SEQ, &sp, &err));
    CHECK_EQ_INT(sp.train_windows, ORD_W);

    /* in order, two epochs */
    static int32_t a[ORD_MICRO][ORD_BATCH], b2[ORD_MICRO][ORD_BATCH];
    for (int m = 0; m < ORD_MICRO; m++) rows(d, 42, (uint64_t)m, a[m]);
    /* each epoch reads every window exactly once, and epochs are shuffled differently */
    int seen[2][ORD_W] = {{0}};
    int fixed = 0, same_as_epoch0 = 0;
    for (int s = 0; s < 2 * ORD_W; s++) {
        int32_t w = a[s / ORD_BATCH][s % ORD_BATCH];
        CHECK(w >= 0 && w < ORD_W);
        if (w < 0 || w >= ORD_W) continue;
        seen[s / ORD_W][w]++;
        if (s < ORD_W && w == s) fixed++;
        if (s >= ORD_W && w == a[(s - ORD_W) / ORD_BATCH][(s - ORD_W) % ORD_BATCH]) same_as_epoch0++;
    }
    int bad = 0;
    for (int e = 0; e < 2; e++)
        for (int w = 0; w < ORD_W; w++) bad += seen[e][w] != 1;
    CHECK_EQ_INT(bad, 0);
    CHECK(fixed < 20);          /* shuffled, not the identity */
    CHECK(same_as_epoch0 < 20); /* a new order per epoch */

    /* call order does not matter: reversed, and dealt to 1..4 "ranks" */
    for (int m = ORD_MICRO - 1; m >= 0; m--) rows(d, 42, (uint64_t)m, b2[m]);
    CHECK(memcmp(a, b2, sizeof a) == 0);
    for (int ranks = 2; ranks <= 4; ranks++) {
        memset(b2, 0xff, sizeof b2);
        for (int r = 0; r < ranks; r++)
            for (int m = r; m < ORD_MICRO; m += ranks) rows(d, 42, (uint64_t)m, b2[m]);
        CHECK(memcmp(a, b2, sizeof a) == 0);
    }
    /* a fresh loader gives the same batches */
    RtData *d2 = rt_data_open(dir, 100000, 0.0, &err);
    CHECK(d2 != NULL);
    int32_t w1[ORD_BATCH];
    rows(d2, 42, 17, w1);
    CHECK(memcmp(w1, a[17], sizeof w1) == 0);
    /* a different seed differs */
    int differ = 0;
    for (int m = 0; m < 10; m++) {
        rows(d2, 43, (uint64_t)m, w1);
        differ += memcmp(w1, a[m], sizeof w1) != 0;
    }
    CHECK_EQ_INT(differ, 10);
    rt_data_free(d2);

    /* epochs: 125 micro-batches of 8 per epoch */
    CHECK_EQ_INT(rt_data_epoch(d, 0, ORD_BATCH, ORD_SEQ), 0);
    CHECK_EQ_INT(rt_data_epoch(d, 124, ORD_BATCH, ORD_SEQ), 0);
    CHECK_EQ_INT(rt_data_epoch(d, 125, ORD_BATCH, ORD_SEQ), 1);
    CHECK_EQ_INT(rt_data_epoch(d, 6, 128, ORD_SEQ), 0);  /* samples 768..895 */
    CHECK_EQ_INT(rt_data_epoch(d, 7, 128, ORD_SEQ), 1);  /* samples 896..1023: the last in epoch 1 */
    CHECK_EQ_INT(rt_data_epoch(d, 7, 129, ORD_SEQ), 1);  /* samples 903..1031 */
    CHECK_EQ_INT(rt_data_epoch(d, 0, 0, ORD_SEQ), 0);
    CHECK_EQ_INT(rt_data_epoch(d, 1000, 8, 5000), 0);
    /* far-away indices work (no state, no table) */
    int32_t far[ORD_BATCH];
    rows(d, 42, 1000000007ull, far);
    for (int b = 0; b < ORD_BATCH; b++) CHECK(far[b] >= 0 && far[b] < ORD_W);

    /* small split: a 1-window and a 3-window permutation still cover each epoch */
    int32_t *tok = malloc(4000 * sizeof *tok), *tgt = malloc(4000 * sizeof *tgt); /* [3, 1300] or [1, 4000] */
    CHECK(rt_data_batch(d, false, 5, 0, 3, 1300, tok, tgt, &err)); /* (4001-1)/1300 = 3 windows */
    int mask = 0;
    for (int b = 0; b < 3; b++) mask |= 1 << (tok[b * 1300] / 1300);
    CHECK_EQ_INT(mask, 7);
    CHECK(rt_data_batch(d, false, 5, 3, 1, 4000, tok, tgt, &err)); /* 1 window */
    CHECK_EQ_INT(tok[0], 0);
    CHECK_EQ_INT(tgt[3999], 4000);

    /* argument errors */
    LlmcBuf want = {0};
    CHECK(!rt_data_batch(d, false, 0, 0, 0, 4, tok, tgt, &err));
    llmc_buf_printf(&want, "%s: batch size 0 must be >= 1", dir);
    CHECK_STR(err.msg, want.data);
    llmc_err_clear(&err);
    want.len = 0;
    CHECK(!rt_data_batch(d, false, 0, 0, 1, 0, tok, tgt, &err));
    llmc_buf_printf(&want, "%s: sequence length 0 must be >= 1", dir);
    CHECK_STR(err.msg, want.data);
    llmc_err_clear(&err);
    want.len = 0;
    CHECK(!rt_data_batch(d, false, 0, UINT64_MAX / 2, 4, 4, tok, tgt, &err));
    llmc_buf_printf(&want, "%s: micro-batch index 9223372036854775807 is too large for batch 4", dir);
    CHECK_STR(err.msg, want.data);
    llmc_buf_free(&want);
    free(tok);
    free(tgt);
    rt_data_free(d);
    static const char *const files[] = {"x_00000.shard"};
    remove_dir(dir, files, 1);
    free(dir);
}

/* --- errors -------------------------------------------------------------------------- */

static void expect_open_error(const char *dir, uint32_t vocab, double frac, const char *want) {
    LlmcErr err = {0};
    RtData *d = rt_data_open(dir, vocab, frac, &err);
    CHECK(d == NULL);
    rt_data_free(d);
    CHECK_STR(err.msg, want);
}

static void test_errors(void) {
    LlmcBuf want = {0}, missing = {0};
    llmc_buf_printf(&missing, "%s/missing", tmpdir);
    llmc_buf_printf(&want, "%s: cannot open data directory: No such file or directory", missing.data);
    expect_open_error(missing.data, 256, 0.1, want.data);

    char *empty = make_dir("empty");
    want.len = 0;
    llmc_buf_printf(&want, "%s: no token shards (*.shard files) in the data directory", empty);
    expect_open_error(empty, 256, 0.1, want.data);
    write_shard(empty, "readme.txt", 0, 10, 256); /* not a shard name: still none */
    expect_open_error(empty, 256, 0.1, want.data);

    /* shard vocab > model vocab, named by path */
    write_shard(empty, "a.shard", 0, 10, 256);
    want.len = 0;
    llmc_buf_printf(&want, "%s/a.shard: shard vocab 256 > model vocab 100 (its ids may not fit the model)", empty);
    expect_open_error(empty, 100, 0.1, want.data);

    /* a bad shard among good ones: its error, its path */
    write_shard(empty, "b.shard", 0, 10, 256);
    LlmcBuf bpath = {0};
    llmc_buf_printf(&bpath, "%s/b.shard", empty);
    CHECK(truncate(bpath.data, 50) == 0);
    want.len = 0;
    llmc_buf_printf(&want, "%s: truncated: the header says 10 ids but only 2 bytes of ids follow", bpath.data);
    expect_open_error(empty, 256, 0.1, want.data);
    unlink(bpath.data);
    llmc_buf_free(&bpath);

    /* bad arguments */
    want.len = 0;
    llmc_buf_printf(&want, "%s: validation fraction 1 is not in [0, 1)", empty);
    expect_open_error(empty, 256, 1.0, want.data);
    want.len = 0;
    llmc_buf_printf(&want, "%s: model vocab 0 is out of range [1, 2^31)", empty);
    expect_open_error(empty, 0, 0.1, want.data);

    /* only empty shards */
    char *none = make_dir("none");
    write_shard(none, "z.shard", 0, 0, 256);
    want.len = 0;
    llmc_buf_printf(&want, "%s: the token shards hold no tokens", none);
    expect_open_error(none, 256, 0.1, want.data);

    /* too little data: 10 tokens (a.shard) */
    LlmcErr err = {0};
    RtData *d = rt_data_open(empty, 256, 0.1, &err);
    CHECK(d != NULL);
    int32_t tok[16], tgt[16];
    CHECK(!rt_data_batch(d, false, 0, 0, 1, 8, tok, tgt, &err));
    want.len = 0;
    llmc_buf_printf(&want, "%s: too little data: 10 tokens, but windows of seq+1 = 9 tokens need at least 9 for "
                    "training and 9 for validation (val fraction 0.1)", empty);
    CHECK_STR(err.msg, want.data);
    CHECK_EQ_INT(rt_data_epoch(d, 100, 1, 8), 0);
    llmc_err_clear(&err);
    CHECK(rt_data_batch(d, false, 0, 0, 1, 4, tok, tgt, &err)); /* val 5, train 5: one window each */
    CHECK(rt_data_batch(d, false, 0, 0, 2, 3, tok, tgt, &err)); /* val 4, train 6: one window */
    CHECK(rt_data_batch(d, true, 0, 0, 2, 3, tok, tgt, &err));
    CHECK_EQ_INT(tok[0], 6);
    CHECK_EQ_INT(tok[3], 6);
    rt_data_free(d);
    /* 0.3 * 10 is 3.0000000000000004 in doubles: still 3 tokens, not 4 */
    d = rt_data_open(empty, 256, 0.3, &err);
    CHECK(d != NULL);
    CHECK_EQ_INT(rt_data_tokens(d, true), 3);
    CHECK_EQ_INT(rt_data_tokens(d, false), 7);
    rt_data_free(d);
    d = rt_data_open(empty, 256, 0.25, &err);
    CHECK_EQ_INT(rt_data_tokens(d, true), 3); /* ceil(2.5) */
    rt_data_free(d);
    d = rt_data_open(empty, 256, 0.0, &err);
    CHECK(d != NULL);
    llmc_err_clear(&err);
    CHECK(!rt_data_batch(d, false, 0, 0, 1, 10, tok, tgt, &err));
    want.len = 0;
    llmc_buf_printf(&want, "%s: too little data: 10 tokens, but one window of seq+1 = 11 tokens is needed", empty);
    CHECK_STR(err.msg, want.data);
    llmc_err_clear(&err);
    CHECK(rt_data_batch(d, false, 0, 0, 1, 9, tok, tgt, &err));
    rt_data_free(d);

    static const char *const files[] = {"readme.txt", "a.shard"};
    remove_dir(empty, files, 2);
    static const char *const zfiles[] = {"z.shard"};
    remove_dir(none, zfiles, 1);
    free(empty);
    free(none);
    llmc_buf_free(&want);
    llmc_buf_free(&missing);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/llmc-data-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_layout();
    test_order();
    test_errors();
    if (rmdir(tmpdir) != 0) {
        perror(tmpdir);
        CHECK(!"temporary directory left non-empty");
    }
    TEST_MAIN();
}
