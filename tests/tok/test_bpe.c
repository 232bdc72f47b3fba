/* tests/tok/test_bpe.c — the BPE tokenizer (runtime/bpe.c): the pre-tokenizer against
 * GPT-2's pattern, exact round trips (random bytes, UTF-8 edge cases, a slice of the
 * fortunes corpus or a generated text), deterministic training, a golden encoding with a
 * fixed tiny vocabulary, the *.tok reader's errors and a bounded mutation loop, and the
 * import of a small hand-written pair of GPT-2 files.
 */
#include "runtime.h"
#include "test.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static uint32_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

/* Encodes, decodes, compares; returns the number of ids. */
static size_t round_trip(RtBpe *t, const char *s, size_t n) {
    RtBpeIds ids = {0};
    rt_bpe_encode(t, s, n, &ids);
    LlmcBuf back = {0};
    LlmcErr err = {0};
    CHECK(rt_bpe_decode(t, ids.ids, ids.count, &back, &err));
    CHECK_EQ_INT(back.len, n);
    CHECK(back.len == n && (n == 0 || memcmp(back.data, s, n) == 0));
    for (size_t i = 0; i < ids.count; i++)
        if (ids.ids[i] >= rt_bpe_vocab(t)) CHECK(ids.ids[i] < rt_bpe_vocab(t));
    /* encoding is a pure function of the text: a second call (from the cache) agrees */
    RtBpeIds again = {0};
    rt_bpe_encode(t, s, n, &again);
    CHECK(again.count == ids.count && (ids.count == 0 || memcmp(again.ids, ids.ids, ids.count * 4) == 0));
    size_t k = ids.count;
    free(ids.ids);
    free(again.ids);
    llmc_buf_free(&back);
    return k;
}

static RtBpe *train_on(const char *text, uint32_t vocab) {
    RtBpeText doc = {text, strlen(text)};
    LlmcErr err = {0};
    RtBpe *t = rt_bpe_train(&doc, 1, vocab, NULL, NULL, &err);
    if (!t) fprintf(stderr, "train: %s\n", err.msg);
    CHECK(t != NULL);
    return t;
}

/* --- pre-tokenization ------------------------------------------------------------------ */

/* pieces: the expected pre-tokens joined by '|' */
static void check_split(const char *text, const char *pieces) {
    LlmcBuf got = {0};
    size_t n = strlen(text);
    for (size_t pos = 0; pos < n;) {
        size_t k = rt_bpe_pretoken(text, n, pos);
        if (pos) llmc_buf_putc(&got, '|');
        llmc_buf_put(&got, text + pos, k);
        pos += k;
    }
    CHECK_STR(got.data ? got.data : "", pieces);
    llmc_buf_free(&got);
}

static void test_pretoken(void) {
    check_split("Hello world", "Hello| world");
    check_split("don't you'll we've I'm he'd they're it's", "don|'t| you|'ll| we|'ve| I|'m| he|'d| they|'re| it|'s");
    check_split("a  b", "a| | b");
    check_split("x\n\ny", "x|\n|\n|y");
    check_split("end  ", "end|  ");
    check_split("123abc 45 6", "123|abc| 45| 6");
    check_split("hi!!! ok?", "hi|!!!| ok|?");
    check_split("a \tb", "a| |\t|b");
    check_split("  lead", " | lead");
    check_split("caf\xc3\xa9 na\xc3\xafve", "caf\xc3\xa9| na\xc3\xafve");
    check_split("(x) 'quote'", "(|x|)| '|quote|'");
    check_split("\n", "\n");
    check_split("'", "'");
    check_split("A\r\n%\r\nB", "A|\r|\n|%|\r|\n|B");
    check_split("A\r\n", "A|\r\n");
}

/* --- round trips ----------------------------------------------------------------------- */

static const char *sample_text =
    "The quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs!\n"
    "Numbers: 1234, 56789 and 0.5. Don't panic -- it's only a test, isn't it?\n"
    "Caf\xc3\xa9 cr\xc3\xa8me br\xc3\xbbl\xc3\xa9" "e, \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e, \xf0\x9f\x98\x80 \xf0\x9f\x98\x80!\n";

static void test_round_trip_random(void) {
    LlmcBuf corpus = {0};
    for (int i = 0; i < 40; i++) llmc_buf_puts(&corpus, sample_text);
    for (int i = 0; i < 4000; i++) llmc_buf_putc(&corpus, (char)(rnd() & 0xff)); /* merges over odd bytes too */
    RtBpeText doc = {corpus.data, corpus.len};
    LlmcErr err = {0};
    RtBpe *t = rt_bpe_train(&doc, 1, 600, NULL, NULL, &err);
    CHECK(t != NULL);
    if (!t) return;
    round_trip(t, "", 0);
    for (int trial = 0; trial < 200; trial++) {
        size_t n = rnd() % 600;
        char *s = malloc(n + 1);
        for (size_t i = 0; i < n; i++) s[i] = trial % 3 == 0 ? (char)(rnd() & 0xff) : " aeiou\n\xc3\xa9'0!"[rnd() % 12];
        round_trip(t, s, n);
        free(s);
    }
    /* a long run of one letter is one pre-token */
    char *run = malloc(20000);
    memset(run, 'a', 20000);
    round_trip(t, run, 20000);
    free(run);
    rt_bpe_free(t);
    llmc_buf_free(&corpus);
}

static void test_round_trip_utf8(void) {
    LlmcBuf corpus = {0};
    for (int i = 0; i < 20; i++) llmc_buf_puts(&corpus, sample_text);
    RtBpe *t = train_on(corpus.data, 400);
    llmc_buf_free(&corpus);
    if (!t) return;
    static const struct {
        const char *s;
        size_t n;
    } cases[] = {
        {"\xc3\x28", 2},                        /* invalid 2-byte sequence */
        {"\xa0\xa1", 2},                        /* lone continuation bytes */
        {"\xe2\x28\xa1", 3},                    /* invalid 3-byte sequence */
        {"\xf0\x28\x8c\xbc", 4},                /* invalid 4-byte sequence */
        {"\xc0\xaf \xe0\x80\xaf", 6},           /* overlong '/' */
        {"\xed\xa0\x80\xed\xbf\xbf", 6},        /* UTF-16 surrogates */
        {"\xf4\x90\x80\x80", 4},                /* above U+10FFFF */
        {"\xff\xfe\xfd", 3},                    /* never valid */
        {"a\0b\0\0c", 6},                       /* NULs */
        {"\xf0\x9f\x98\x80\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd", 12}, /* emoji, skin tone */
        {"\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9", 11},     /* ZWJ sequence */
        {"e\xcc\x81 a\xcc\x8a\xcc\x81", 8},     /* combining marks */
        {"\xef\xbb\xbf" "BOM", 6},              /* byte order mark */
        {"\xe3\x80\x80\xc2\xa0 x", 7},          /* ideographic space, NBSP */
        {"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 9},
        {"\xf0\x9f\x98", 3},                    /* truncated emoji */
        {"<|endoftext|>", 13},                  /* special text is plain bytes */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) round_trip(t, cases[i].s, cases[i].n);
    /* special text never becomes the special token */
    RtBpeIds ids = {0};
    rt_bpe_encode(t, "<|endoftext|>", 13, &ids);
    int64_t eot = rt_bpe_special(t, RT_BPE_EOT);
    CHECK_EQ_INT(eot, rt_bpe_vocab(t) - 1);
    for (size_t i = 0; i < ids.count; i++) CHECK(ids.ids[i] != (uint32_t)eot);
    free(ids.ids);
    /* every byte value alone and every pair of them */
    char two[2];
    for (int a = 0; a < 256; a++) {
        two[0] = (char)a;
        round_trip(t, two, 1);
        for (int b = 0; b < 256; b += 17) {
            two[1] = (char)b;
            round_trip(t, two, 2);
        }
    }
    rt_bpe_free(t);
}

/* Up to max_bytes of fortune files (or a generated text when there are none). */
static char *corpus_slice(size_t max_bytes, size_t *len) {
    LlmcBuf b = {0};
    const char *dir = "/usr/share/games/fortunes";
    static const char *const names[] = {"fortunes", "literature", "riddles", "science", "wisdom", "people"};
    for (size_t i = 0; i < sizeof names / sizeof names[0] && b.len < max_bytes; i++) {
        LlmcBuf path = {0};
        llmc_buf_printf(&path, "%s/%s", dir, names[i]);
        char *text;
        size_t n;
        LlmcErr err = {0};
        if (llmc_file_read(path.data, &text, &n, &err)) {
            llmc_buf_put(&b, text, n < max_bytes - b.len ? n : max_bytes - b.len);
            free(text);
        }
        llmc_buf_free(&path);
    }
    if (b.len == 0) {
        printf("note: no fortunes corpus; using a generated text\n");
        static const char *const words[] = {"the", "cat", "sat", "on", "mat", "and", "a", "dog", "ran", "far",
                                            "away,", "while", "it", "rained.", "Why?", "42", "\n%\n", "--"};
        while (b.len < max_bytes) {
            llmc_buf_puts(&b, words[rnd() % (sizeof words / sizeof words[0])]);
            llmc_buf_putc(&b, rnd() % 9 ? ' ' : '\n');
        }
    }
    *len = b.len;
    return b.data;
}

/* GPT-2's algorithm, slowly, from the public merges (identity byte table): the lowest
 * rank present, merged everywhere left to right, until none applies. */
static size_t reference_encode(const RtBpe *t, const char *s, size_t n, uint32_t *w) {
    for (size_t i = 0; i < n; i++) w[i] = (unsigned char)s[i];
    uint32_t m = rt_bpe_n_merges(t);
    for (;;) {
        uint32_t best = UINT32_MAX;
        for (uint32_t r = 0; r < m && best == UINT32_MAX; r++) {
            RtBpeMerge g = rt_bpe_merge(t, r);
            for (size_t i = 0; i + 1 < n && best == UINT32_MAX; i++)
                if (w[i] == g.left && w[i + 1] == g.right) best = r;
        }
        if (best == UINT32_MAX) return n;
        RtBpeMerge g = rt_bpe_merge(t, best);
        size_t o = 0;
        for (size_t i = 0; i < n;) {
            if (i + 1 < n && w[i] == g.left && w[i + 1] == g.right) {
                w[o++] = 256 + best;
                i += 2;
            } else {
                w[o++] = w[i++];
            }
        }
        n = o;
    }
}

/* Long pre-tokens take another path in the encoder (a heap): same ids as the reference. */
static void check_long_pieces(RtBpe *t, const char *text, size_t len) {
    uint32_t w[400];
    for (int trial = 0; trial < 6; trial++) {
        /* the letters of a stretch of text, run together: one pre-token */
        char s[400];
        size_t n = 0, at = (rnd() % (len / 2));
        size_t want = 40 + (size_t)trial * 60;
        while (n < want && at < len) {
            char c = text[at++];
            if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') s[n++] = c;
        }
        size_t k = reference_encode(t, s, n, w);
        RtBpeIds ids = {0};
        rt_bpe_encode(t, s, n, &ids);
        CHECK_EQ_INT(ids.count, k);
        CHECK(ids.count == k && memcmp(ids.ids, w, k * sizeof *w) == 0);
        free(ids.ids);
    }
}

static void test_round_trip_corpus(void) {
    size_t n;
    char *text = corpus_slice(200000, &n);
    RtBpeText doc = {text, n};
    LlmcErr err = {0};
    RtBpe *t = rt_bpe_train(&doc, 1, 1024, NULL, NULL, &err);
    CHECK(t != NULL);
    if (t) {
        size_t k = round_trip(t, text, n);
        printf("corpus slice: %zu bytes -> %zu tokens (%.2f bytes/token), vocab %u\n", n, k, (double)n / (double)k,
               rt_bpe_vocab(t));
        CHECK(k * 2 < n); /* English compresses well past 2 bytes a token at vocab 1024 */
        CHECK_EQ_INT(rt_bpe_vocab(t), 1024);
        check_long_pieces(t, text, n);
    }
    rt_bpe_free(t);
    free(text);
}

/* --- determinism and the golden encoding ---------------------------------------------- */

static void test_deterministic(void) {
    size_t n;
    char *text = corpus_slice(60000, &n);
    RtBpeText docs[2] = {{text, n / 2}, {text + n / 2, n - n / 2}};
    LlmcErr err = {0};
    RtBpe *a = rt_bpe_train(docs, 2, 700, NULL, NULL, &err);
    RtBpe *b = rt_bpe_train(docs, 2, 700, NULL, NULL, &err);
    CHECK(a && b);
    if (a && b) {
        LlmcBuf sa = {0}, sb = {0};
        rt_bpe_serialize(a, &sa);
        rt_bpe_serialize(b, &sb);
        CHECK(sa.len == sb.len && memcmp(sa.data, sb.data, sa.len) == 0);
        llmc_buf_free(&sa);
        llmc_buf_free(&sb);
    }
    rt_bpe_free(a);
    rt_bpe_free(b);
    free(text);
}

/* A fixed text and vocab 266 (9 merges + 256 bytes + <|endoftext|>). Worked by hand:
 * words "low" 1, " lower" 1, " lowest" 1, " newer" 2, " newest" 2, " wider" 1, " low" 2;
 * (w,e) occurs 6 times, then (l,o) 5, then four pairs tie at 4 and the smallest ids win:
 * ( ,n), ( ,lo), (e,we), ( n,ewe); then (s,t) 3, ( lo,w) 2 and ( lo,we) 2. */
static void test_golden(void) {
    const char *text = "low lower lowest newer newest wider low low newer newest";
    RtBpe *t = train_on(text, 266);
    if (!t) return;
    CHECK_EQ_INT(rt_bpe_vocab(t), 266);
    CHECK_EQ_INT(rt_bpe_n_merges(t), 9);
    /* pairs by count (ties to the smaller pair): ' '+'l' ... see test output on failure */
    static const RtBpeMerge want[] = {
        {'w', 'e'}, {'l', 'o'}, {' ', 'n'}, {' ', 257}, {'e', 256}, {258, 260}, {'s', 't'}, {259, 'w'}, {259, 256},
    };
    for (uint32_t i = 0; i < 9 && i < rt_bpe_n_merges(t); i++) {
        RtBpeMerge m = rt_bpe_merge(t, i);
        if (m.left != want[i].left || m.right != want[i].right)
            fprintf(stderr, "merge %u: got (%u, %u), want (%u, %u)\n", i, m.left, m.right, want[i].left, want[i].right);
        CHECK(m.left == want[i].left && m.right == want[i].right);
    }
    RtBpeIds ids = {0};
    const char *s = "lowest newer slow";
    rt_bpe_encode(t, s, strlen(s), &ids);
    static const uint32_t golden[] = {257, 256, 262, 261, 'r', ' ', 's', 257, 'w'};
    CHECK_EQ_INT(ids.count, sizeof golden / sizeof golden[0]);
    bool same = ids.count == sizeof golden / sizeof golden[0];
    for (size_t i = 0; same && i < ids.count; i++) same = ids.ids[i] == golden[i];
    if (!same) {
        fprintf(stderr, "golden: got");
        for (size_t i = 0; i < ids.count; i++) fprintf(stderr, " %u", ids.ids[i]);
        fprintf(stderr, "\n");
    }
    CHECK(same);
    /* the long-piece path: 'lowest' x 20 in one pre-token */
    LlmcBuf many = {0};
    for (int i = 0; i < 20; i++) llmc_buf_puts(&many, "lowest");
    ids.count = 0;
    rt_bpe_encode(t, many.data, many.len, &ids);
    CHECK_EQ_INT(ids.count, 60);
    for (size_t i = 0; i + 2 < ids.count; i += 3) CHECK(ids.ids[i] == 257 && ids.ids[i + 1] == 256 && ids.ids[i + 2] == 262);
    llmc_buf_free(&many);
    free(ids.ids);
    rt_bpe_free(t);
}

/* --- the file -------------------------------------------------------------------------- */

static void expect_parse_error(const void *bytes, size_t len, const char *needle) {
    LlmcErr err = {0};
    RtBpe *t = rt_bpe_parse(bytes, len, "x.tok", &err);
    CHECK(t == NULL);
    rt_bpe_free(t);
    if (!t && (strncmp(err.msg, "x.tok: ", 7) != 0 || !strstr(err.msg, needle))) {
        fprintf(stderr, "error '%s' lacks '%s'\n", err.msg, needle);
        CHECK(strstr(err.msg, needle) != NULL);
    }
}

/* Rewrites the trailing checksum so a semantic error is what the reader finds. */
static void reseal(unsigned char *p, size_t len) {
    uint64_t h = rt_checksum(p, len - 8);
    for (int i = 0; i < 8; i++) p[len - 8 + i] = (unsigned char)(h >> (8 * i));
}

static void put32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void test_file(void) {
    RtBpe *t = train_on("one two three one two three tree trio twin toe one two", 280);
    if (!t) return;
    LlmcBuf b = {0};
    rt_bpe_serialize(t, &b);
    unsigned char *p = (unsigned char *)b.data;
    size_t len = b.len;
    /* write + read back */
    char path[] = "/tmp/llmc-test-bpe-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd >= 0) close(fd);
    LlmcErr err = {0};
    CHECK(rt_bpe_write(path, t, &err));
    RtBpe *r = rt_bpe_read(path, &err);
    CHECK(r != NULL);
    if (r) {
        LlmcBuf b2 = {0};
        rt_bpe_serialize(r, &b2);
        CHECK(b2.len == len && memcmp(b2.data, p, len) == 0);
        CHECK_EQ_INT(rt_bpe_special(r, RT_BPE_EOT), rt_bpe_vocab(r) - 1);
        llmc_buf_free(&b2);
    }
    rt_bpe_free(r);
    unlink(path);
    llmc_err_clear(&err);
    r = rt_bpe_read("/nonexistent/x.tok", &err);
    CHECK(r == NULL && strstr(err.msg, "/nonexistent/x.tok") != NULL);
    /* every truncation fails */
    for (size_t n = 0; n < len; n++) {
        LlmcErr e = {0};
        RtBpe *x = rt_bpe_parse(p, n, "x.tok", &e);
        CHECK(x == NULL && strncmp(e.msg, "x.tok: ", 7) == 0);
        rt_bpe_free(x);
    }
    expect_parse_error(p, 20, "truncated");
    /* every flipped byte fails (the checksum covers all) */
    unsigned char *q = malloc(len + 4);
    for (size_t i = 0; i < len; i++) {
        memcpy(q, p, len);
        q[i] ^= 0x5a;
        LlmcErr e = {0};
        RtBpe *x = rt_bpe_parse(q, len, "x.tok", &e);
        CHECK(x == NULL);
        rt_bpe_free(x);
    }
    memcpy(q, p, len);
    q[0] = 'X';
    expect_parse_error(q, len, "bad magic");
    memcpy(q, p, len);
    put32(q + 8, 2);
    expect_parse_error(q, len, "unsupported version 2");
    memcpy(q, p, len);
    q[300] ^= 1;
    expect_parse_error(q, len, "checksum mismatch");
    memcpy(q, p, len);
    memcpy(q + len, "abcd", 4);
    reseal(q, len + 4);
    expect_parse_error(q, len + 4, "trailing bytes");
    memcpy(q, p, len);
    put32(q + 12, rt_bpe_vocab(t) + 1);
    reseal(q, len);
    expect_parse_error(q, len, "is not 256 +");
    memcpy(q, p, len);
    q[24 + 5] = q[24 + 6]; /* byte table not a permutation */
    reseal(q, len);
    expect_parse_error(q, len, "appears twice");
    memcpy(q, p, len);
    put32(q + 24 + 256, 256 + 7); /* merge 0 refers to a later id */
    reseal(q, len);
    expect_parse_error(q, len, "refers to an id >= its own");
    memcpy(q, p, len);
    memcpy(q + 24 + 256 + 8, q + 24 + 256, 8); /* merge 1 repeats merge 0 */
    reseal(q, len);
    expect_parse_error(q, len, "repeats merge 0");
    memcpy(q, p, len);
    put32(q + len - 8 - 13 - 4, 14); /* the special token's length */
    reseal(q, len);
    expect_parse_error(q, len, "special token");
    /* bounded mutation: random byte edits, resealed so the checks past the checksum run */
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(q, p, len);
        int edits = 1 + (int)(rnd() % 4);
        for (int e = 0; e < edits; e++) q[rnd() % len] = (unsigned char)rnd();
        size_t n = iter % 5 == 0 ? rnd() % (len + 1) : len;
        if (n >= 8 && iter % 2) reseal(q, n);
        LlmcErr e = {0};
        RtBpe *x = rt_bpe_parse(q, n, "x.tok", &e);
        if (x) {
            round_trip(x, sample_text, strlen(sample_text));
            rt_bpe_free(x);
        } else {
            CHECK(strncmp(e.msg, "x.tok: ", 7) == 0);
        }
    }
    free(q);
    llmc_buf_free(&b);
    rt_bpe_free(t);
}

/* --- GPT-2's files --------------------------------------------------------------------- */

static void put_utf8(LlmcBuf *b, uint32_t cp) {
    if (cp < 0x80) {
        llmc_buf_putc(b, (char)cp);
    } else {
        llmc_buf_putc(b, (char)(0xc0 | cp >> 6));
        llmc_buf_putc(b, (char)(0x80 | (cp & 0x3f)));
    }
}

static bool write_file(const char *path, const char *s, size_t n) {
    LlmcErr err = {0};
    bool ok = llmc_file_write(path, s, n, &err);
    CHECK(ok);
    return ok;
}

static void test_import_gpt2(void) {
    /* the table: a few values every GPT-2 user knows */
    CHECK_EQ_INT(rt_bpe_gpt2_char(' '), 0x120);  /* 'Ġ' */
    CHECK_EQ_INT(rt_bpe_gpt2_char('\n'), 0x10a); /* 'Ċ' */
    CHECK_EQ_INT(rt_bpe_gpt2_char(0), 0x100);
    CHECK_EQ_INT(rt_bpe_gpt2_char('!'), '!');
    CHECK_EQ_INT(rt_bpe_gpt2_char(0x7f), 0x121);
    CHECK_EQ_INT(rt_bpe_gpt2_char(0xad), 0x143); /* soft hyphen: 'Ń' */
    CHECK_EQ_INT(rt_bpe_gpt2_char(0xa0), 0x142);
    CHECK_EQ_INT(rt_bpe_gpt2_char(0xff), 0xff);

    char dir[] = "/tmp/llmc-test-gpt2-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    LlmcBuf enc_path = {0}, bpe_path = {0};
    llmc_buf_printf(&enc_path, "%s/encoder.json", dir);
    llmc_buf_printf(&bpe_path, "%s/vocab.bpe", dir);
    /* encoder.json: the bytes in GPT-2's order (printable ones first, then the rest),
     * then the merges' tokens, then <|endoftext|> */
    LlmcBuf json = {0}, key = {0};
    RtJsonWriter w;
    rt_json_writer_init(&w, &json, RT_JSON_COMPACT);
    rt_json_begin_object(&w);
    uint32_t id = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t b = 0; b < 256; b++) {
            bool printable = rt_bpe_gpt2_char((uint8_t)b) == b;
            if (printable != (pass == 0)) continue;
            key.len = 0;
            put_utf8(&key, rt_bpe_gpt2_char((uint8_t)b));
            rt_json_key_n(&w, key.data, key.len);
            rt_json_int(&w, id++);
        }
    }
    rt_json_key(&w, "\xc4\xa0t"); /* "Ġt" */
    rt_json_int(&w, 256);
    rt_json_key(&w, "he");
    rt_json_int(&w, 257);
    rt_json_key(&w, "\xc4\xa0the");
    rt_json_int(&w, 258);
    rt_json_key(&w, "\xc4\x8a\xc4\x8a"); /* "ĊĊ": two newlines */
    rt_json_int(&w, 259);
    rt_json_key(&w, "<|endoftext|>");
    rt_json_int(&w, 260);
    rt_json_end_object(&w);
    const char *merges = "#version: 0.2\n\xc4\xa0 t\nh e\n\xc4\xa0t he\n\xc4\x8a \xc4\x8a\n";
    write_file(enc_path.data, json.data, json.len);
    write_file(bpe_path.data, merges, strlen(merges));
    LlmcErr err = {0};
    RtBpe *t = rt_bpe_import_gpt2(enc_path.data, bpe_path.data, &err);
    if (!t) fprintf(stderr, "import: %s\n", err.msg);
    CHECK(t != NULL);
    if (t) {
        CHECK_EQ_INT(rt_bpe_vocab(t), 261);
        CHECK_EQ_INT(rt_bpe_special(t, RT_BPE_EOT), 260);
        /* GPT-2's ids: ' ' 220, '\n' 198, 't' 83, 'h' 71, 'e' 68, '!' 0 */
        RtBpeIds ids = {0};
        const char *s = "the the!\n\n";
        rt_bpe_encode(t, s, strlen(s), &ids);
        static const uint32_t want[] = {83, 257, 258, 0, 259};
        CHECK_EQ_INT(ids.count, 5);
        for (size_t i = 0; i < 5 && i < ids.count; i++) CHECK_EQ_INT(ids.ids[i], want[i]);
        free(ids.ids);
        ids = (RtBpeIds){0};
        rt_bpe_encode(t, " x\n", 3, &ids);
        CHECK(ids.count == 3 && ids.ids[0] == 220 && ids.ids[1] == 'x' - 0x21 && ids.ids[2] == 198);
        free(ids.ids);
        round_trip(t, sample_text, strlen(sample_text));
        /* the imported tokenizer survives our own file format */
        LlmcBuf b = {0};
        rt_bpe_serialize(t, &b);
        RtBpe *r = rt_bpe_parse(b.data, b.len, "gpt2.tok", &err);
        CHECK(r != NULL);
        if (r) {
            ids = (RtBpeIds){0};
            rt_bpe_encode(r, " the", 4, &ids);
            CHECK(ids.count == 1 && ids.ids[0] == 258);
            free(ids.ids);
        }
        rt_bpe_free(r);
        llmc_buf_free(&b);
    }
    rt_bpe_free(t);
    /* errors: a merge whose token has another id; a token missing; a bad line */
    static const struct {
        const char *merges, *needle;
    } bad[] = {
        {"#version: 0.2\nh e\n", "not 256"},
        {"#version: 0.2\n\xc4\xa0 t\nh e\n\xc4\xa0t hz\n", "is not in"},
        {"#version: 0.2\n\xc4\xa0 t\nh  e\n", ":3: expected two tokens"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_file(bpe_path.data, bad[i].merges, strlen(bad[i].merges));
        llmc_err_clear(&err);
        t = rt_bpe_import_gpt2(enc_path.data, bpe_path.data, &err);
        CHECK(t == NULL);
        if (!strstr(err.msg, bad[i].needle)) fprintf(stderr, "import error '%s' lacks '%s'\n", err.msg, bad[i].needle);
        CHECK(strstr(err.msg, bad[i].needle) != NULL);
        rt_bpe_free(t);
    }
    write_file(enc_path.data, "{\"a\": 0}", 8);
    llmc_err_clear(&err);
    t = rt_bpe_import_gpt2(enc_path.data, bpe_path.data, &err);
    CHECK(t == NULL && strstr(err.msg, "encoder.json") != NULL);
    write_file(enc_path.data, "[1, 2", 5);
    llmc_err_clear(&err);
    t = rt_bpe_import_gpt2(enc_path.data, bpe_path.data, &err);
    CHECK(t == NULL && strstr(err.msg, "encoder.json") != NULL);
    unlink(enc_path.data);
    unlink(bpe_path.data);
    rmdir(dir);
    llmc_buf_free(&enc_path);
    llmc_buf_free(&bpe_path);
    llmc_buf_free(&json);
    llmc_buf_free(&key);
}

static void test_bad_train_args(void) {
    RtBpeText doc = {"abc", 3};
    LlmcErr err = {0};
    RtBpe *t = rt_bpe_train(&doc, 1, 256, NULL, NULL, &err);
    CHECK(t == NULL && strstr(err.msg, "vocab 256") != NULL);
    /* a tiny text runs out of pairs: the vocab is smaller than asked */
    t = rt_bpe_train(&doc, 1, 1000, NULL, NULL, &err);
    CHECK(t != NULL);
    if (t) CHECK_EQ_INT(rt_bpe_vocab(t), 257);
    rt_bpe_free(t);
    t = rt_bpe_train(NULL, 0, 300, NULL, NULL, &err);
    CHECK(t != NULL && rt_bpe_vocab(t) == 257);
    rt_bpe_free(t);
}

int main(void) {
    test_pretoken();
    test_round_trip_random();
    test_round_trip_utf8();
    test_round_trip_corpus();
    test_deterministic();
    test_golden();
    test_file();
    test_import_gpt2();
    test_bad_train_args();
    TEST_MAIN();
}
