/* tests/frontend/test_parse_mutate.c — a bounded, deterministic mutation test of the
 * .llm lexer and parser.
 *
 * usage: parse_mutate [SOURCE_ROOT [ITERATIONS]]     (defaults: ".", 20000)
 *
 * Seeds are the golden files in tests/frontend/parse (whole, and split into their
 * "// -----" cases) and whatever .llm files models/ holds. Each iteration takes a seed and
 * applies 1-4 mutations drawn with a fixed-seed PRNG: bit flips, byte replacements,
 * deletions, line duplications, swaps and deletions, insertions from a dictionary of
 * .llm tokens, truncation, splices of two seeds, and interesting numbers in place of
 * numbers. Every mutant is parsed twice, as a file and as a -D value (fe_parse_expr).
 * A parse succeeds exactly when no error was reported; a program that parses prints
 * (fe_ast_print), and the same text always prints the same; every diagnostic points
 * at a line of the text and a column within it (or one past its end). Run under
 * ASan/UBSan, so a crash, leak or undefined behaviour fails it too. A failing mutant is
 * written to fuzz-failure.llm in the working directory.
 */
#include "frontend_int.h"
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

static uint64_t rng_state = 0x11c0ffee5eed1e55ull;

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
static size_t corpus_add_dir(Corpus *c, const char *root, const char *sub) {
    LlmcBuf dir = {0};
    llmc_buf_printf(&dir, "%s/%s", root, sub);
    DIR *d = opendir(dir.data);
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".llm") != 0) continue;
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
    return n;
}

/* --- mutations ----------------------------------------------------------------------- */

static const char *const dictionary[] = {
    "model", "model m {", "train", "train {", "repeat", "repeat 2 {", "repeat n as i {", "as", "as i", "if",
    "if x {", "else", "else {", "} else {", "else if", "true", "false", "and", "or", "not", "div", "{", "}",
    "(", ")", ",", ";", "=", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "**", "/", "%", "x", "x = ",
    "f(", "f(x, k = 1)", "k = ", "(1, 2)", "(1,)", "()", "\"s\"", "\"a\\qb\"", "\"", "\\", "\"\\n\\t\\\"\"",
    "'", "#", "$", "!", "&&", ".", "_", "1_0", "1__0", "0x10", "1.", "1.5", "3e-4", "1e309", "1e", "1e+",
    "9223372036854775807", "9223372036854775808", "99999999999999999999", "-", "--", "not not", "2**-",
    "\n", "\r\n", "\r", " ", "\t", "//", "// x\n", "/*", "*/", "/* c */", "/*\n*/", "// -----\n", "\xff",
    "\xc3\xa9", "\xc3", "\x00", "((((((((", "))))", "{{{{", "}}}}", "x = (", "f(k = 1, x)", "f(k=1, k=2)",
    "a < b < c", "-2 ** 2", "layernorm(x)", "attention(x, heads = 8)",
};

static const char *const numbers[] = {"0", "1", "2", "3", "8", "9", "10", "65536", "4294967295", "4294967296",
                                      "9223372036854775807", "9223372036854775808", "1e-45", "1e-320",
                                      "1e308", "1e309", "0.5", "1_000", "123456789012345678901234567890"};

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
        static const char bytes[] = {0, '\n', '"', '(', ')', '{', '}', ',', '-', '.', '\\', '#', '=', ';', '*', '/', ' '};
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
    case 4: { /* insert a dictionary token */
        const char *s = dictionary[rng_below(sizeof dictionary / sizeof dictionary[0])];
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

static void save_failure(const Text *t) {
    FILE *f = fopen("fuzz-failure.llm", "wb");
    if (!f) return;
    fwrite(t->data, 1, t->len, f);
    fclose(f);
    fprintf(stderr, "the failing input is in fuzz-failure.llm\n");
}

/* Every diagnostic with a place points at a line of the text and a column in it or
 * one past its end. */
static bool diags_in_range(const LlmcDiags *d, const Text *t) {
    size_t n;
    size_t *starts = line_starts(t, &n);
    bool ok = true;
    for (uint32_t i = 0; i < d->count && ok; i++) {
        const LlmcDiag *g = &d->items[i];
        if (g->line == 0) continue;
        if (g->line > n || g->col == 0) {
            ok = false;
            break;
        }
        size_t s = starts[g->line - 1], e = s;
        while (e < t->len && t->data[e] != '\n') e++;
        if (g->col > e - s + 1) ok = false;
    }
    if (!ok) {
        fprintf(stderr, "a diagnostic points outside the text:\n");
        llmc_diags_print(d, stderr);
    }
    free(starts);
    return ok;
}

/* Returns true when the mutant parsed as a file. */
static bool check_one(const Text *t) {
    /* An exact-size copy, so ASan sees a read past the end. */
    char *exact = llmc_xmalloc(t->len ? t->len : 1);
    memcpy(exact, t->data, t->len);
    LlmcSource src = {"mutant", exact, t->len};
    LlmcDiags d = {0};
    FeProgram *p = fe_parse(&src, &d);
    bool good = p ? d.errors == 0 && p->model != NULL : d.errors > 0;
    good &= d.errors <= FE_MAX_ERRORS;
    good &= diags_in_range(&d, t);
    if (p) {
        LlmcBuf a = {0}, b = {0};
        fe_ast_print(p, &a);
        good &= a.len > 0 && strncmp(a.data, "model ", 6) == 0;
        /* The same text again gives the same tree. */
        LlmcDiags d2 = {0};
        FeProgram *p2 = fe_parse(&src, &d2);
        good &= p2 != NULL;
        fe_ast_print(p2, &b);
        good &= b.len == a.len && memcmp(a.data, b.data, a.len) == 0;
        fe_program_free(p2);
        llmc_diags_free(&d2);
        llmc_buf_free(&a);
        llmc_buf_free(&b);
    }
    /* The same text as a -D value. */
    LlmcArena arena = {0};
    LlmcDiags d3 = {0};
    FeExpr *e = fe_parse_expr(&src, &arena, &d3);
    good &= e ? d3.errors == 0 : d3.errors > 0;
    good &= diags_in_range(&d3, t);
    llmc_arena_free(&arena);
    llmc_diags_free(&d3);
    if (!good) save_failure(t);
    CHECK(good);
    fe_program_free(p);
    llmc_diags_free(&d);
    free(exact);
    return p != NULL;
}

int main(int argc, char **argv) {
    const char *root = argc > 1 ? argv[1] : ".";
    long iterations = argc > 2 ? strtol(argv[2], NULL, 10) : 20000;
    Corpus c = {NULL, 0};
    size_t golden = corpus_add_dir(&c, root, "tests/frontend/parse");
    size_t models = corpus_add_dir(&c, root, "models");
    CHECK(golden >= 5 && c.n >= 50);
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
    fprintf(stderr, "parse_mutate: %zu seeds (%zu golden files, %zu models), %ld mutants, %ld parsed cleanly, %.1f s\n",
            c.n, golden, models, iterations, parsed, (double)(clock() - t0) / CLOCKS_PER_SEC);
    for (size_t i = 0; i < c.n; i++) free(c.v[i].data);
    free(c.v);
    TEST_MAIN();
}
