/* tests/fuzz/test_mutate.c — a bounded, deterministic mutation test of the .llir parser.
 *
 * usage: fuzz_mutate [SOURCE_ROOT [ITERATIONS]]     (defaults: ".", 50000)
 *
 * Seeds are the golden files (whole, and split into their "// -----" cases) and the
 * examples in tests/ir. Each iteration takes a seed and applies 1-4 mutations drawn with
 * a fixed-seed PRNG: bit flips, byte replacements, deletions, line duplications, swaps
 * and deletions, insertions from a small dictionary of grammar tokens, truncation,
 * splices of two seeds, and interesting numbers in place of numbers. Every mutant is
 * parsed; one that parses must keep the round-trip contract (print(parse(print(m))) ==
 * print(m)) and render as Graphviz; diagnostics must point inside the text. Run under
 * ASan/UBSan, so a crash, leak or undefined behaviour fails it too. A failing mutant is
 * written to fuzz-failure.llir in the working directory.
 */
#include "ir.h"
#include "test.h"

#include <dirent.h>
#include <stdlib.h>
#include <time.h>

typedef struct Text {
    char *data;
    size_t len;
} Text;

typedef struct Corpus {
    Text *v;
    size_t n;
} Corpus;

static uint64_t rng_state = 0x5eed1e55c0ffee11ull;

static uint64_t rng_next(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n); n > 0. */
static size_t rng_below(size_t n) { return (size_t)(rng_next() % n); }

/* --- corpus -------------------------------------------------------------------------- */

static void corpus_add(Corpus *c, const char *data, size_t len) {
    c->v = llmc_xrealloc(c->v, (c->n + 1) * sizeof *c->v);
    c->v[c->n].data = llmc_xmalloc(len + 1);
    memcpy(c->v[c->n].data, data, len);
    c->v[c->n].data[len] = 0;
    c->v[c->n].len = len;
    c->n++;
}

/* The whole file, then each of its "// -----" cases. */
static void corpus_add_file(Corpus *c, const char *path) {
    char *text;
    size_t len;
    LlmcErr err = {0};
    if (!llmc_file_read(path, &text, &len, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    corpus_add(c, text, len);
    const char *sep = "\n// -----\n", *start = text, *p;
    while ((p = strstr(start, sep)) != NULL) {
        corpus_add(c, start, (size_t)(p - start) + 1);
        start = p + strlen(sep);
    }
    if (start != text) corpus_add(c, start, len - (size_t)(start - text));
    free(text);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted, so the corpus order (and so every mutant) is the same on every machine. */
static void corpus_add_dir(Corpus *c, const char *root, const char *sub) {
    LlmcBuf dir = {0};
    llmc_buf_printf(&dir, "%s/%s", root, sub);
    DIR *d = opendir(dir.data);
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".llir") != 0) continue;
        names = llmc_xrealloc(names, (n + 1) * sizeof *names);
        names[n++] = llmc_xstrdup(e->d_name);
    }
    if (d) closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        LlmcBuf path = {0};
        llmc_buf_printf(&path, "%s/%s", dir.data, names[i]);
        corpus_add_file(c, path.data);
        llmc_buf_free(&path);
        free(names[i]);
    }
    free(names);
    llmc_buf_free(&dir);
}

/* --- mutations ----------------------------------------------------------------------- */

static const char *const dictionary[] = {
    "graph", "@g", "@\"q\"", "{", "}", "(", ")", "[", "]", ",", "=", ":", "#", "@", "%", "%0", "%1", "%2",
    "%x.y", "output", "\"y\"", "input()", "const", "add", "matmul", "reduce_sum", "concat", "tanh", "f32",
    "i32", "f64", "bf16", "f32[2,3]", "i32[]", "{axis=0}", "{axis=1, keepdims=true}", "value=", "name=\"n\"",
    "role=data", "role=param", "ranks=2", "perm=[1, 0]", "dims=[0]", "nan", "-inf", "inf", "-0",
    "nan:0x7fc00001", "nan:0xfff8000000000001", "nan:0x", "1e38", "1e39", "0.1", "-1", "0", "1", "7",
    "2147483648", "9223372036854775808", "99999999999999999999", "\n", "\r\n", "\r", " ", "\t", "//",
    "// -----\n", "\"\\x00\"", "\"\\q\"", "\"\\xff\"", "\\", "\"", "\xff", "\xc3", "\x00", "[[[[[[[[",
    "]]]]", "true", "false", "# scope.a/b[0]:c", "# \"s\" @ \"f\":1:2", "@ \"f\":4294967296:1", "e+",
    ".", "-", "é", "train", "train {", "lr=", "lr=0.1", "model=\"m\"", "optimizer=sgd", "warmup=",
};

static const char *const numbers[] = {"0", "-1", "1", "2", "3", "8", "9", "65536", "65537", "4294967295",
                                      "2147483647", "-2147483648", "1099511627776", "1e-45", "1e-320",
                                      "3.4028235e38", "nan", "-0", "1.5", "123456789012345678901234567890"};

static void splice_in(Text *t, size_t at, size_t del, const char *s, size_t n) {
    char *d = llmc_xmalloc(t->len - del + n + 1);
    memcpy(d, t->data, at);
    memcpy(d + at, s, n);
    memcpy(d + at + n, t->data + at + del, t->len - at - del);
    t->len = t->len - del + n;
    d[t->len] = 0;
    free(t->data);
    t->data = d;
}

/* Offsets of line starts; count in *n. */
static size_t *line_starts(const Text *t, size_t *n) {
    size_t *v = llmc_xmalloc((t->len + 2) * sizeof *v);
    *n = 0;
    v[(*n)++] = 0;
    for (size_t i = 0; i < t->len; i++)
        if (t->data[i] == '\n') v[(*n)++] = i + 1;
    return v;
}

static size_t line_end(const Text *t, size_t start) {
    while (start < t->len && t->data[start] != '\n') start++;
    return start < t->len ? start + 1 : start;
}

static void mutate_lines(Text *t, int kind) {
    size_t n;
    size_t *starts = line_starts(t, &n);
    size_t a = starts[rng_below(n)], b = starts[rng_below(n)];
    size_t a_end = line_end(t, a);
    char *line = llmc_xmalloc(a_end - a + 1);
    memcpy(line, t->data + a, a_end - a);
    size_t len = a_end - a;
    if (kind == 0) { /* duplicate line a before line b */
        splice_in(t, b, 0, line, len);
    } else if (kind == 1) { /* delete line a */
        splice_in(t, a, len, "", 0);
    } else if (a != b) { /* move line a before line b */
        splice_in(t, a, len, "", 0);
        if (b > a) b -= len < b - a ? len : b - a;
        splice_in(t, b > t->len ? t->len : b, 0, line, len);
    }
    free(line);
    free(starts);
}

/* Replaces the digit run around a random position with an interesting number. */
static void mutate_number(Text *t) {
    for (int tries = 0; tries < 16 && t->len; tries++) {
        size_t i = rng_below(t->len);
        if (t->data[i] < '0' || t->data[i] > '9') continue;
        size_t s = i, e = i;
        while (s > 0 && t->data[s - 1] >= '0' && t->data[s - 1] <= '9') s--;
        while (e < t->len && t->data[e] >= '0' && t->data[e] <= '9') e++;
        const char *num = numbers[rng_below(sizeof numbers / sizeof numbers[0])];
        splice_in(t, s, e - s, num, strlen(num));
        return;
    }
}

static void mutate_once(Text *t, const Corpus *c) {
    size_t pos = t->len ? rng_below(t->len + 1) : 0;
    switch (rng_below(11)) {
    case 0: /* flip a bit */
        if (t->len) t->data[rng_below(t->len)] ^= (char)(1u << rng_below(8));
        break;
    case 1: { /* replace a byte */
        static const char bytes[] = {0, '\n', '"', '%', '[', ']', '{', '}', ',', '-', '.', '\\', '#', '@', ' '};
        if (t->len) t->data[rng_below(t->len)] = rng_below(2) ? bytes[rng_below(sizeof bytes)] : (char)rng_next();
        break;
    }
    case 2: { /* delete a short range */
        size_t n = rng_below(16) + 1;
        if (pos + n > t->len) n = t->len - pos;
        splice_in(t, pos, n, "", 0);
        break;
    }
    case 3:
    case 4: { /* insert a grammar token */
        size_t k = rng_below(sizeof dictionary / sizeof dictionary[0]);
        const char *s = dictionary[k];
        splice_in(t, pos, 0, s, s[0] ? strlen(s) : 1); /* "\x00" inserts one NUL */
        break;
    }
    case 5: mutate_lines(t, 0); break;
    case 6: mutate_lines(t, 1); break;
    case 7: mutate_lines(t, 2); break;
    case 8: /* truncate */
        t->len = pos;
        t->data[pos] = 0;
        break;
    case 9: { /* splice: our prefix, another seed's suffix */
        const Text *o = &c->v[rng_below(c->n)];
        size_t from = o->len ? rng_below(o->len) : 0;
        splice_in(t, pos, t->len - pos, o->data + from, o->len - from);
        break;
    }
    default: mutate_number(t); break;
    }
}

/* --- the checks ---------------------------------------------------------------------- */

static char *print_module(const IrModule *m) {
    LlmcBuf b = {0};
    llmc_buf_put(&b, "", 0);
    ir_print_module(m, &b);
    return b.data;
}

static void save_failure(const Text *t) {
    FILE *f = fopen("fuzz-failure.llir", "wb");
    if (!f) return;
    fwrite(t->data, 1, t->len, f);
    fclose(f);
    fprintf(stderr, "the failing input is in fuzz-failure.llir\n");
}

/* Diagnostics point at a line of the text (or nowhere, for graph-level ones). */
static bool diags_in_range(const LlmcDiags *d, const Text *t) {
    uint32_t lines = 1;
    for (size_t i = 0; i < t->len; i++) lines += t->data[i] == '\n';
    for (uint32_t i = 0; i < d->count; i++)
        if (d->items[i].line > lines || (d->items[i].line && d->items[i].col == 0)) return false;
    return true;
}

/* Returns true when the mutant parsed. */
static bool check_one(const Text *t) {
    LlmcSource src = {"mutant", t->data, t->len};
    IrModule m = {0};
    LlmcDiags d = {0};
    bool ok = ir_parse_module(&src, &m, &d);
    bool good = ok ? d.errors == 0 : d.errors > 0 && m.n_graphs == 0;
    good &= diags_in_range(&d, t);
    if (ok) {
        char *p1 = print_module(&m);
        IrModule m2 = {0};
        LlmcDiags d2 = {0};
        LlmcSource src2 = {"print", p1, strlen(p1)};
        if (ir_parse_module(&src2, &m2, &d2)) {
            char *p2 = print_module(&m2);
            if (strcmp(p1, p2) != 0) {
                fprintf(stderr, "print(parse(print)) differs:\n--- first\n%s--- second\n%s", p1, p2);
                good = false;
            }
            free(p2);
        } else {
            fprintf(stderr, "the print does not reparse:\n%s", p1);
            llmc_diags_print(&d2, stderr);
            good = false;
        }
        for (uint32_t i = 0; i < m.n_graphs; i++) {
            LlmcBuf dot = {0};
            ir_print_dot(m.graphs[i], &dot);
            good &= dot.len > 0;
            llmc_buf_free(&dot);
        }
        ir_module_free(&m2);
        llmc_diags_free(&d2);
        free(p1);
    }
    if (!good) save_failure(t);
    CHECK(good);
    ir_module_free(&m);
    llmc_diags_free(&d);
    return ok;
}

int main(int argc, char **argv) {
    const char *root = argc > 1 ? argv[1] : ".";
    long iterations = argc > 2 ? strtol(argv[2], NULL, 10) : 50000;
    Corpus c = {NULL, 0};
    corpus_add_dir(&c, root, "tests/golden");
    corpus_add_dir(&c, root, "tests/ir");
    CHECK(c.n >= 20);
    if (c.n == 0) TEST_MAIN();
    clock_t t0 = clock();
    long parsed = 0;
    for (size_t i = 0; i < c.n; i++) parsed += check_one(&c.v[i]);
    for (long it = 0; it < iterations && test_failures == 0; it++) {
        const Text *seed = &c.v[rng_below(c.n)];
        Text t = {NULL, 0};
        t.data = llmc_xmalloc(seed->len + 1);
        memcpy(t.data, seed->data, seed->len + 1);
        t.len = seed->len;
        int rounds = 1 + (int)rng_below(4);
        for (int r = 0; r < rounds; r++) mutate_once(&t, &c);
        parsed += check_one(&t);
        free(t.data);
    }
    fprintf(stderr, "fuzz_mutate: %zu seeds, %ld mutants, %ld parsed cleanly, %.1f s\n", c.n, iterations, parsed,
            (double)(clock() - t0) / CLOCKS_PER_SEC);
    for (size_t i = 0; i < c.n; i++) free(c.v[i].data);
    free(c.v);
    TEST_MAIN();
}
