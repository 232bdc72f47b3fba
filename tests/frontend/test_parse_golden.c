/* tests/frontend/test_parse_golden.c — the .llm parser against golden files, plus the
 * cases a file cannot hold.
 *
 * usage: parse_golden [SOURCE_ROOT] [--update]      (default root: the working directory)
 *
 * Every .llm file in tests/frontend/parse is split into cases on lines "// -----". A case
 * is parsed as its own source, padded with newlines so line numbers are those of the
 * file. Each case carries exactly one kind of expectation:
 *   - Valid: a block comment that opens with a line "/" "* expected-ast" and closes
 *     with a line "*" "/". The case must parse without any diagnostic, and fe_ast_print
 *     must give exactly the lines in between. The comment is part of the case's text (it
 *     is a comment, so the parser skips it). `--update` rewrites these blocks in place
 *     from the current output — review the diff before committing it.
 *   - Invalid: annotations in place, as in tests/golden:
 *         // expected-error:COL {{substring}}       on this line
 *         // expected-error@+N:COL {{substring}}    N lines below (@-N: above)
 *         // expected-error@unknown {{substring}}   a diagnostic without a location
 *     The parse must fail, and its error diagnostics must be exactly the annotated
 *     ones, line and column included (notes are not checked).
 * A case with neither, or both, is a test failure. (A string holding star-slash cannot
 * be in a valid case: its dump would close the comment. test_source_copy has one.)
 *
 * Then come cases built in code: the source copy, text without a NUL, CRLF, hostile
 * nesting, wide inputs, NUL bytes, the error cap, fe_parse_expr, the token stream, fe_op_text.
 */
#include "frontend_int.h"
#include "test.h"

#include <dirent.h>
#include <stdlib.h>

static int n_valid, n_invalid;
static bool update_mode;

/* --- small text helpers -------------------------------------------------------------- */

typedef struct Lines {
    char **v;
    size_t n;
} Lines;

/* Splits on '\n'; a final line without one still counts; '\r' before '\n' is dropped. */
static Lines split_lines(const char *text, size_t len) {
    Lines l = {NULL, 0};
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && text[i] != '\n') continue;
        if (i == len && start == len) break;
        size_t end = i;
        if (end > start && text[end - 1] == '\r') end--;
        l.v = llmc_xrealloc(l.v, (l.n + 1) * sizeof *l.v);
        l.v[l.n] = llmc_xmalloc(end - start + 1);
        memcpy(l.v[l.n], text + start, end - start);
        l.v[l.n][end - start] = 0;
        l.n++;
        start = i + 1;
    }
    return l;
}

static void lines_free(Lines *l) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
}

static bool line_is(const char *s, const char *want) {
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(want);
    if (strncmp(s, want, n) != 0) return false;
    for (s += n; *s; s++)
        if (*s != ' ' && *s != '\t') return false;
    return true;
}

static bool is_separator(const char *s) { return strncmp(s, "// -----", 8) == 0 && line_is(s + 8, ""); }

static char *ast_text(const FeProgram *p) {
    LlmcBuf b = {0};
    fe_ast_print(p, &b);
    return b.data;
}

static FeProgram *parse_text(const char *name, const char *text, size_t len, LlmcDiags *d) {
    LlmcSource src = {name, text, len};
    return fe_parse(&src, d);
}

/* --- annotations (as in tests/golden/test_golden.c) ---------------------------------- */

typedef struct Expect {
    uint32_t line, col; /* line 0: a diagnostic without location */
    char *msg;
    bool matched;
} Expect;

typedef struct Expects {
    Expect *v;
    size_t n;
} Expects;

/* Reads every "expected-error..." in one line; false (with a message) if malformed. */
static bool parse_annotations(const char *where, const char *s, uint32_t line, Expects *out) {
    const char *p = s;
    while ((p = strstr(p, "expected-error")) != NULL) {
        p += strlen("expected-error");
        Expect e = {line, 0, NULL, false};
        if (strncmp(p, "@unknown", 8) == 0) {
            e.line = 0;
            p += 8;
        } else {
            if (*p == '@') {
                char *end;
                long off = strtol(p + 1, &end, 10);
                if (end == p + 1 || (p[1] != '+' && p[1] != '-')) goto bad;
                e.line = (uint32_t)((long)line + off);
                p = end;
            }
            if (*p != ':') goto bad;
            char *end;
            e.col = (uint32_t)strtoul(p + 1, &end, 10);
            if (end == p + 1) goto bad;
            p = end;
        }
        while (*p == ' ') p++;
        if (strncmp(p, "{{", 2) != 0) goto bad;
        const char *close = strstr(p + 2, "}}");
        if (!close) goto bad;
        size_t n = (size_t)(close - (p + 2));
        e.msg = llmc_xmalloc(n + 1);
        memcpy(e.msg, p + 2, n);
        e.msg[n] = 0;
        out->v = llmc_xrealloc(out->v, (out->n + 1) * sizeof *out->v);
        out->v[out->n++] = e;
        p = close + 2;
    }
    return true;
bad:
    fprintf(stderr, "%s:%u: malformed expected-error annotation: %s\n", where, line, s);
    return false;
}

static void expects_free(Expects *e) {
    for (size_t i = 0; i < e->n; i++) free(e->v[i].msg);
    free(e->v);
}

/* Each error diagnostic must match one annotation and each annotation one diagnostic. */
static void check_errors(const char *where, const LlmcDiags *d, Expects *ex) {
    bool ok = true;
    for (uint32_t i = 0; i < d->count; i++) {
        const LlmcDiag *g = &d->items[i];
        if (g->severity != LLMC_SEV_ERROR) continue;
        bool found = false;
        for (size_t k = 0; k < ex->n && !found; k++) {
            Expect *e = &ex->v[k];
            if (e->matched || e->line != g->line || (e->line && e->col != g->col) || !strstr(g->msg, e->msg)) continue;
            e->matched = found = true;
        }
        if (!found) {
            fprintf(stderr, "%s: unexpected error at %u:%u: %s\n", where, g->line, g->col, g->msg);
            ok = false;
        }
    }
    for (size_t k = 0; k < ex->n; k++)
        if (!ex->v[k].matched) {
            fprintf(stderr, "%s: expected error at %u:%u {{%s}} did not occur\n", where, ex->v[k].line, ex->v[k].col,
                    ex->v[k].msg);
            ok = false;
        }
    CHECK(ok);
}

/* --- one case ------------------------------------------------------------------------ */

/* A case's expected AST: file lines ast_first..ast_last (1-based, inclusive; empty when
 * ast_last < ast_first), between the "/" "* expected-ast" line ast_open and the close. */
typedef struct AstBlock {
    size_t open, first, last;
} AstBlock;

/* Finds the expected-ast block of lines first..last; false if there is none. */
static bool find_ast_block(const char *where, const Lines *l, size_t first, size_t last, AstBlock *out) {
    for (size_t i = first; i <= last; i++) {
        if (!line_is(l->v[i - 1], "/* expected-ast")) continue;
        for (size_t j = i + 1; j <= last; j++)
            if (line_is(l->v[j - 1], "*/")) {
                *out = (AstBlock){i, i + 1, j - 1};
                return true;
            }
        fprintf(stderr, "%s: expected-ast block without a closing '*/' line\n", where);
        CHECK(false);
        return false;
    }
    return false;
}

/* Returns the AST print of a valid case (caller frees), or NULL. */
static char *run_valid(const char *where, const char *text, size_t len, const Lines *l, const AstBlock *blk) {
    LlmcDiags d = {0};
    FeProgram *p = parse_text(where, text, len, &d);
    CHECK(p != NULL);
    CHECK_EQ_INT(d.count, 0);
    if (!p || d.count) {
        fprintf(stderr, "%s: a valid case did not parse cleanly:\n", where);
        llmc_diags_print(&d, stderr);
    }
    char *got = NULL;
    if (p) {
        got = ast_text(p);
        LlmcBuf want = {0};
        llmc_buf_put(&want, "", 0);
        for (size_t i = blk->first; i <= blk->last; i++) {
            llmc_buf_puts(&want, l->v[i - 1]);
            llmc_buf_putc(&want, '\n');
        }
        if (!update_mode && strcmp(got, want.data) != 0) {
            fprintf(stderr, "%s: AST differs from expected-ast\n", where);
            CHECK_STR(got, want.data);
        }
        llmc_buf_free(&want);
        fe_program_free(p);
    }
    llmc_diags_free(&d);
    n_valid++;
    return got;
}

static void run_invalid(const char *where, const char *text, size_t len, Expects *ex) {
    LlmcDiags d = {0};
    FeProgram *p = parse_text(where, text, len, &d);
    CHECK(p == NULL);
    fe_program_free(p);
    check_errors(where, &d, ex);
    llmc_diags_free(&d);
    n_invalid++;
}

/* first..last are 1-based file lines. Appends the case's lines to `out` (with an
 * updated expected-ast block in update mode). */
static void run_case(const char *file, const Lines *l, size_t first, size_t last, LlmcBuf *out) {
    char where[512];
    snprintf(where, sizeof where, "%s:%zu", file, first);
    LlmcBuf text = {0};
    llmc_buf_put(&text, "", 0);
    for (size_t i = 1; i < first; i++) llmc_buf_putc(&text, '\n');
    Expects ex = {NULL, 0};
    bool annotations_ok = true;
    for (size_t i = first; i <= last; i++) {
        annotations_ok &= parse_annotations(where, l->v[i - 1], (uint32_t)i, &ex);
        llmc_buf_puts(&text, l->v[i - 1]);
        llmc_buf_putc(&text, '\n');
    }
    CHECK(annotations_ok);
    AstBlock blk;
    bool has_ast = find_ast_block(where, l, first, last, &blk);
    char *got = NULL;
    if (ex.n && has_ast) {
        fprintf(stderr, "%s: a case has both expected-error and expected-ast\n", where);
        CHECK(false);
    } else if (ex.n) {
        run_invalid(where, text.data, text.len, &ex);
    } else if (has_ast) {
        got = run_valid(where, text.data, text.len, l, &blk);
    } else {
        fprintf(stderr, "%s: a case without expected-error or expected-ast\n", where);
        CHECK(false);
    }
    for (size_t i = first; i <= last; i++) {
        if (got && i == blk.first) llmc_buf_puts(out, got);
        if (got && i >= blk.first && i <= blk.last) continue;
        llmc_buf_puts(out, l->v[i - 1]);
        llmc_buf_putc(out, '\n');
    }
    free(got);
    expects_free(&ex);
    llmc_buf_free(&text);
}

static void run_golden_file(const char *path) {
    char *text;
    size_t len;
    LlmcErr err = {0};
    if (!llmc_file_read(path, &text, &len, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        CHECK(false);
        return;
    }
    Lines l = split_lines(text, len);
    LlmcBuf out = {0};
    llmc_buf_put(&out, "", 0);
    size_t first = 1;
    for (size_t i = 1; i <= l.n + 1; i++) {
        if (i <= l.n && !is_separator(l.v[i - 1])) continue;
        if (i > first) run_case(path, &l, first, i - 1, &out);
        if (i <= l.n) {
            llmc_buf_puts(&out, l.v[i - 1]);
            llmc_buf_putc(&out, '\n');
        }
        first = i + 1;
    }
    if (update_mode && (out.len != len || memcmp(out.data, text, len) != 0)) {
        LlmcErr werr = {0};
        if (!llmc_file_write(path, out.data, out.len, &werr)) fprintf(stderr, "%s\n", werr.msg);
        fprintf(stderr, "updated %s\n", path);
    }
    llmc_buf_free(&out);
    lines_free(&l);
    free(text);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void run_dir(const char *root, size_t min_files) {
    LlmcBuf dir = {0};
    llmc_buf_printf(&dir, "%s/tests/frontend/parse", root);
    DIR *d = opendir(dir.data);
    char **files = NULL;
    size_t n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".llm") != 0) continue;
        files = llmc_xrealloc(files, (n + 1) * sizeof *files);
        LlmcBuf p = {0};
        llmc_buf_printf(&p, "%s/%s", dir.data, e->d_name);
        files[n++] = p.data;
    }
    if (d) closedir(d);
    if (n) qsort(files, n, sizeof *files, cmp_str);
    if (n < min_files) fprintf(stderr, "%s: found %zu .llm files, want >= %zu\n", dir.data, n, min_files);
    CHECK(n >= min_files);
    for (size_t i = 0; i < n; i++) {
        run_golden_file(files[i]);
        free(files[i]);
    }
    free(files);
    llmc_buf_free(&dir);
}

/* --- cases built in code ------------------------------------------------------------- */

static const char small[] = "model m {\n  x = f(1, \"*/\")\n}\n";

/* The program keeps its own copy of the text: diagnostics still quote it after the
 * caller's buffer is gone. And the input need not be NUL-terminated. */
static void test_source_copy(void) {
    size_t n = strlen(small);
    char *buf = llmc_xmalloc(n); /* no NUL: ASan catches a read past the end */
    memcpy(buf, small, n);
    char *name = llmc_xstrdup("copy.llm");
    LlmcDiags d = {0};
    FeProgram *p = parse_text(name, buf, n, &d);
    CHECK(p != NULL);
    memset(buf, 'x', n);
    free(buf);
    free(name);
    if (!p) return;
    CHECK_EQ_INT(p->src.len, n);
    CHECK(memcmp(p->src.text, small, n) == 0);
    CHECK_STR(p->src.name, "copy.llm");
    llmc_diag_at(&d, LLMC_SEV_ERROR, &p->src, 2, 7, "later");
    CHECK(d.count == 1 && d.items[0].line_text && strcmp(d.items[0].line_text, "  x = f(1, \"*/\")") == 0);
    CHECK(d.count == 1 && d.items[0].file && strcmp(d.items[0].file, "copy.llm") == 0);
    char *t = ast_text(p);
    CHECK_STR(t, "model m @1:1\n  assign x @2:3\n    call f @2:7\n      arg: int 1 @2:9\n"
                 "      arg: string \"*/\" @2:12\n");
    free(t);
    fe_program_free(p);
    fe_program_free(NULL);
    llmc_diags_free(&d);

    /* Control bytes in a string print escaped (they cannot be in a golden file). */
    const char ctl[] = "model m { s = \"a\x01\x7f\rb\" }";
    p = parse_text("ctl", ctl, sizeof ctl - 1, &d);
    CHECK(p != NULL);
    t = ast_text(p);
    CHECK_STR(t, "model m @1:1\n  assign s @1:11\n    string \"a\\x01\\x7f\\x0db\" @1:15\n");
    free(t);
    fe_program_free(p);

    /* A NULL or empty text and a NULL name: no model block, reported without a place. */
    p = fe_parse(&(LlmcSource){NULL, NULL, 0}, &d);
    CHECK(p == NULL);
    CHECK(d.errors == 1 && d.items[0].line == 0 && strstr(d.items[0].msg, "no model block"));
    llmc_diags_free(&d);
}

/* CRLF line ends and a missing final newline change nothing, columns included. */
static void test_line_ends(void) {
    const char lf[] = "model m {\n  a = (1,\n    2)\n  if a { b = 1 }\n  else { b = 2 }\n}\ntrain {\n}\n";
    LlmcBuf crlf = {0};
    for (const char *q = lf; *q; q++) {
        if (*q == '\n') llmc_buf_putc(&crlf, '\r');
        llmc_buf_putc(&crlf, *q);
    }
    LlmcDiags d = {0};
    FeProgram *p = parse_text("lf", lf, strlen(lf), &d);
    CHECK(p != NULL);
    char *want = ast_text(p);
    fe_program_free(p);
    const char *texts[] = {crlf.data, lf, crlf.data};
    size_t lens[] = {crlf.len, strlen(lf) - 1, crlf.len - 2};
    for (int i = 0; i < 3; i++) {
        p = parse_text("v", texts[i], lens[i], &d);
        CHECK(p != NULL);
        char *got = ast_text(p);
        CHECK_STR(got, want);
        free(got);
        fe_program_free(p);
    }
    CHECK_EQ_INT(d.count, 0);
    /* Errors in a CRLF file have the same columns. */
    const char bad[] = "model m {\r\n  a = 1 +\r\n}\r\n";
    CHECK(parse_text("crlf", bad, sizeof bad - 1, &d) == NULL);
    CHECK(d.errors == 1 && d.items[0].line == 2 && d.items[0].col == 10);
    free(want);
    llmc_diags_free(&d);
    llmc_buf_free(&crlf);
}

/* Runs a parse expected to fail with exactly one error containing msg at line:col. */
static void expect_one_error(const char *what, const char *text, size_t len, const char *msg, uint32_t line,
                             uint32_t col) {
    LlmcDiags d = {0};
    FeProgram *p = parse_text(what, text, len, &d);
    CHECK(p == NULL);
    fe_program_free(p);
    bool ok = d.errors == 1;
    for (uint32_t i = 0; i < d.count; i++) {
        if (d.items[i].severity != LLMC_SEV_ERROR) continue;
        ok &= strstr(d.items[i].msg, msg) != NULL && d.items[i].line == line && d.items[i].col == col;
    }
    if (!ok) {
        fprintf(stderr, "%s: want one error '%s' at %u:%u, got:\n", what, msg, line, col);
        llmc_diags_print(&d, stderr);
    }
    CHECK(ok);
    llmc_diags_free(&d);
}

/* Deep nesting is one error, never a stack overflow; up to the limit it parses. */
static void test_deep_nesting(void) {
    /* err_col: the token after the FE_MAX_EXPR_DEPTH-th opener ("  x = " is 6 bytes). */
    static const struct {
        const char *open, *close;
        uint32_t err_col;
    } kinds[] = {{"(", ")", 7 + FE_MAX_EXPR_DEPTH},     {"-", "", 7 + FE_MAX_EXPR_DEPTH},
                 {"not ", "", 7 + 4 * FE_MAX_EXPR_DEPTH}, {"2**", "", 7 + 3 * FE_MAX_EXPR_DEPTH},
                 {"f(", ")", 7 + 2 * FE_MAX_EXPR_DEPTH},  {"(1, ", ")", 7 + 4 * FE_MAX_EXPR_DEPTH - 3}};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        for (int n = 0; n < 2; n++) {
            int depth = n ? 100000 : FE_MAX_EXPR_DEPTH - 1;
            LlmcBuf b = {0};
            llmc_buf_puts(&b, "model m {\n  x = ");
            for (int i = 0; i < depth; i++) llmc_buf_puts(&b, kinds[k].open);
            llmc_buf_puts(&b, "1");
            for (int i = 0; i < depth; i++) llmc_buf_puts(&b, kinds[k].close);
            llmc_buf_puts(&b, "\n  y = 2\n}\n");
            if (n) {
                expect_one_error(kinds[k].open, b.data, b.len, "expression nested too deeply", 2, kinds[k].err_col);
            } else {
                LlmcDiags d = {0};
                FeProgram *p = parse_text(kinds[k].open, b.data, b.len, &d);
                CHECK(p != NULL);
                if (!p) llmc_diags_print(&d, stderr);
                LlmcBuf t = {0};
                fe_ast_print(p, &t);
                CHECK(t.len > 0);
                llmc_buf_free(&t);
                fe_program_free(p);
                llmc_diags_free(&d);
            }
            llmc_buf_free(&b);
        }
    }
    /* A long chain of binary operators makes a tall tree: 1 + 1 + ... has height
     * ops + 1, and its FE_MAX_EXPR_DEPTH-th '+' is one too many. */
    for (int n = 0; n < 2; n++) {
        LlmcBuf b = {0};
        llmc_buf_puts(&b, "model m {\n  x = 1");
        for (int i = 0; i < (n ? 100000 : FE_MAX_EXPR_DEPTH - 1); i++) llmc_buf_puts(&b, " + 1");
        llmc_buf_puts(&b, "\n}\n");
        if (n) {
            expect_one_error("chain", b.data, b.len, "expression nested too deeply", 2,
                             9 + 4 * (FE_MAX_EXPR_DEPTH - 1));
        } else {
            LlmcDiags d = {0};
            FeProgram *p = parse_text("chain", b.data, b.len, &d);
            CHECK(p != NULL);
            fe_program_free(p);
            llmc_diags_free(&d);
        }
        llmc_buf_free(&b);
    }
    /* Heights add up: 100 unary minus (height 101) then 100 '+' is 201 levels, though
     * the parser never recursed that deep. */
    LlmcBuf chain = {0};
    llmc_buf_puts(&chain, "model m {\n  x = (");
    for (int i = 0; i < 100; i++) llmc_buf_putc(&chain, '-');
    llmc_buf_puts(&chain, "1)");
    for (int i = 0; i < 100; i++) llmc_buf_puts(&chain, " + 1");
    llmc_buf_puts(&chain, "\n}\n");
    expect_one_error("heights", chain.data, chain.len, "expression nested too deeply", 2, 111 + 4 * 99);
    llmc_buf_free(&chain);

    /* Blocks: 100000 nested repeats, and a 100000-long else-if chain. The model block
     * is the first level. */
    for (int n = 0; n < 2; n++) {
        int depth = n ? 100000 : FE_MAX_BLOCK_DEPTH - 1;
        LlmcBuf b = {0};
        llmc_buf_puts(&b, "model m {\n");
        for (int i = 0; i < depth; i++) llmc_buf_puts(&b, "repeat 1 {\n");
        llmc_buf_puts(&b, "x = 1\n");
        for (int i = 0; i < depth; i++) llmc_buf_puts(&b, "}\n");
        llmc_buf_puts(&b, "}\n");
        if (n) {
            expect_one_error("blocks", b.data, b.len, "blocks nested too deeply", FE_MAX_BLOCK_DEPTH + 1, 10);
        } else {
            LlmcDiags d = {0};
            FeProgram *p = parse_text("blocks", b.data, b.len, &d);
            CHECK(p != NULL);
            fe_program_free(p);
            llmc_diags_free(&d);
        }
        llmc_buf_free(&b);
    }
    LlmcBuf b = {0};
    llmc_buf_puts(&b, "model m {\nif a { x = 1 }");
    for (int i = 0; i < 100000; i++) llmc_buf_puts(&b, " else if a { x = 1 }");
    llmc_buf_puts(&b, "\n}\n");
    /* The k-th 'else if' is level k + 1 and its block level k + 2, so the block of the
     * 99th is the first too deep: "if a { x = 1 }" is 14 bytes, each " else if a { x = 1 }"
     * 20, with its '{' 12 bytes in. */
    expect_one_error("else-if", b.data, b.len, "blocks nested too deeply", 2,
                     14 + (FE_MAX_BLOCK_DEPTH - 2) * 20 + 12);
    llmc_buf_free(&b);
}

/* After FE_MAX_ERRORS errors the parser stops, with a note saying so; so does a file
 * of nothing but bad bytes. */
static void test_error_cap(void) {
    LlmcBuf b = {0};
    llmc_buf_puts(&b, "model m {\n");
    for (int i = 0; i < 500; i++) llmc_buf_printf(&b, "  x%d = 1 +\n", i);
    llmc_buf_puts(&b, "}\n");
    LlmcDiags d = {0};
    CHECK(parse_text("cap", b.data, b.len, &d) == NULL);
    CHECK_EQ_INT(d.errors, FE_MAX_ERRORS);
    CHECK(d.count && d.items[d.count - 1].severity == LLMC_SEV_NOTE &&
          strstr(d.items[d.count - 1].msg, "too many errors"));
    llmc_diags_free(&d);
    llmc_buf_free(&b);
    for (int i = 0; i < 10000; i++) llmc_buf_putc(&b, (char)(i % 2 ? 0x80 + i % 64 : i % 3 ? 0 : ' '));
    CHECK(parse_text("bytes", b.data, b.len, &d) == NULL);
    CHECK(d.errors == FE_MAX_ERRORS);
    llmc_diags_free(&d);
    llmc_buf_free(&b);
    /* Earlier diagnostics are not counted as the parser's own. */
    llmc_diag_at(&d, LLMC_SEV_ERROR, NULL, 0, 0, "an earlier error");
    FeProgram *p = parse_text("ok", small, strlen(small), &d);
    CHECK(p != NULL);
    fe_program_free(p);
    llmc_diags_free(&d);
}

/* Wide inputs stay linear: 100000 statements, arguments (with one duplicate at the
 * end) and tuple items. */
static void test_wide(void) {
    LlmcBuf b = {0};
    llmc_buf_puts(&b, "model m {\n");
    for (int i = 0; i < 100000; i++) llmc_buf_printf(&b, "  v%d = %d\n", i, i);
    llmc_buf_puts(&b, "  t = (0");
    for (int i = 1; i < 100000; i++) llmc_buf_printf(&b, ", %d", i);
    llmc_buf_puts(&b, ")\n");
    size_t line_start = b.len;
    llmc_buf_puts(&b, "  c = f(");
    for (int i = 0; i < 100000; i++) llmc_buf_printf(&b, "a%d = %d, ", i, i);
    uint32_t col = (uint32_t)(b.len - line_start + 1);
    llmc_buf_puts(&b, "a5 = 0)\n}\n");
    expect_one_error("wide", b.data, b.len, "argument 'a5' is given twice", 100003, col);
    llmc_buf_free(&b);
}

/* NUL bytes cannot be in a golden file (its lines are C strings). */
static void test_nul_bytes(void) {
    const char in_string[] = "model m {\n  a = \"x\0y\"\n}\n";
    expect_one_error("nul", in_string, sizeof in_string - 1, "NUL byte inside a string", 2, 9);
    const char outside[] = "model m {\n  a = 1 \0\n  b = 2\n}\n";
    expect_one_error("nul", outside, sizeof outside - 1, "unexpected byte 0x00", 2, 9);
    const char comment[] = "model m {\n  a = 1 // \0\n  b = /* \0 */ 2\n}\n";
    LlmcDiags d = {0};
    FeProgram *p = parse_text("nul", comment, sizeof comment - 1, &d);
    CHECK(p != NULL && p->train == NULL && p->model->body.n == 2);
    fe_program_free(p);
    llmc_diags_free(&d);
}

/* fe_parse_expr, as used for -D overrides. */
static void test_parse_expr(void) {
    static const struct {
        const char *text, *ast, *error;
    } cases[] = {
        {"128", "int 128 @1:1\n", NULL},
        {"  3e-4\n\n", "float 0.0003 @1:3\n", NULL},
        {"(0.9, 0.95)", "tuple @1:1\n  float 0.9 @1:2\n  float 0.95 @1:7\n", NULL},
        {"gelu // the activation", "name gelu @1:1\n", NULL},
        {"rope(theta = 1e4)", "call rope @1:1\n  arg theta @1:6 = float 10000 @1:14\n", NULL},
        {"4 * dim", "binary * @1:3\n  int 4 @1:1\n  name dim @1:5\n", NULL},
        {"", NULL, "expected an expression, found end of input"},
        {"1 +", NULL, "expected an expression, found end of input"},
        {"1 2", NULL, "expected the end of the value, found '2'"},
        {"x = 1", NULL, "expected the end of the value, found '='"},
        {"1\n2", NULL, "expected the end of the value, found '2'"},
        {"\"abc", NULL, "unterminated string"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        LlmcArena arena = {0};
        LlmcDiags d = {0};
        LlmcSource src = {"-D x", cases[i].text, strlen(cases[i].text)};
        FeExpr *e = fe_parse_expr(&src, &arena, &d);
        if (cases[i].ast) {
            CHECK(e != NULL);
            CHECK_EQ_INT(d.count, 0);
            /* Print through a program holding the expression as `model m { v = EXPR }`. */
            FeStmt s = {FE_STMT_ASSIGN, {1, 1}, {.assign = {"v", {1, 1}, e}}};
            FeStmt *sp = &s;
            FeBlock blk = {FE_BLOCK_MODEL, "m", {1, 1}, {&sp, 1}};
            FeProgram prog = {.src = src, .model = &blk};
            char *t = ast_text(&prog);
            LlmcBuf want = {0};
            llmc_buf_puts(&want, "model m @1:1\n  assign v @1:1\n");
            Lines l = split_lines(cases[i].ast, strlen(cases[i].ast));
            for (size_t k = 0; k < l.n; k++) llmc_buf_printf(&want, "    %s\n", l.v[k]);
            lines_free(&l);
            CHECK_STR(t, want.data);
            llmc_buf_free(&want);
            free(t);
        } else {
            CHECK(e == NULL);
            CHECK(d.errors == 1 && strstr(d.items[0].msg, cases[i].error) != NULL);
            if (d.errors != 1) llmc_diags_print(&d, stderr);
        }
        llmc_diags_free(&d);
        llmc_arena_free(&arena);
    }
}

/* The token stream: kinds, positions, NEWLINE collapsing and suppression. */
static void test_tokens(void) {
    const char text[] = "x = f(a,\n  b) // c\n\n/* d\n */ y;\"s\\n\" 1_0 2.5e1 ** div\n}{(\n";
    static const struct {
        FeTokKind kind;
        uint32_t line, col;
    } want[] = {
        {FE_TOK_IDENT, 1, 1},   {FE_TOK_ASSIGN, 1, 3}, {FE_TOK_IDENT, 1, 5},  {FE_TOK_LPAREN, 1, 6},
        {FE_TOK_IDENT, 1, 7},   {FE_TOK_COMMA, 1, 8},  {FE_TOK_IDENT, 2, 3},  {FE_TOK_RPAREN, 2, 4},
        {FE_TOK_NEWLINE, 2, 5}, {FE_TOK_IDENT, 5, 5},  {FE_TOK_SEMI, 5, 6},   {FE_TOK_STRING, 5, 7},
        {FE_TOK_INT, 5, 13},    {FE_TOK_FLOAT, 5, 17}, {FE_TOK_POW, 5, 23},   {FE_TOK_DIV, 5, 26},
        {FE_TOK_NEWLINE, 5, 29}, {FE_TOK_RBRACE, 6, 1}, {FE_TOK_LBRACE, 6, 2}, {FE_TOK_LPAREN, 6, 3},
        {FE_TOK_EOF, 6, 4},     {FE_TOK_EOF, 6, 4},
    };
    LlmcArena arena = {0};
    LlmcDiags d = {0};
    LlmcSource src = {"tokens", text, sizeof text - 1};
    FeLexer L;
    fe_lexer_init(&L, &src, &arena, &d);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        FeToken t;
        fe_lex_next(&L, &t);
        if (t.kind != want[i].kind || t.line != want[i].line || t.col != want[i].col) {
            fprintf(stderr, "token %zu: got %s at %u:%u, want %s at %u:%u\n", i, fe_tok_kind_text(t.kind), t.line,
                    t.col, fe_tok_kind_text(want[i].kind), want[i].line, want[i].col);
            CHECK(false);
        }
        if (t.kind == FE_TOK_STRING) CHECK_STR(t.v.str, "s\n");
        if (t.kind == FE_TOK_INT) CHECK_EQ_INT(t.v.i, 10);
        if (t.kind == FE_TOK_FLOAT) CHECK(t.v.f == 25.0);
        if (i == 6) CHECK_EQ_INT(t.paren_depth, 1);
    }
    CHECK_EQ_INT(d.count, 0);
    for (int k = 0; k < FE_TOK_COUNT; k++) CHECK(fe_tok_kind_text((FeTokKind)k)[0] != 0);
    llmc_arena_free(&arena);
}

static void test_op_text(void) {
    static const char *const want[FE_OP_COUNT] = {"?",  "+",  "-", "*",  "/", "div", "%",   "**", "==",
                                                  "!=", "<",  "<=", ">", ">=", "and", "or", "-",  "not"};
    for (int op = 0; op < FE_OP_COUNT; op++) CHECK_STR(fe_op_text((FeOp)op), want[op]);
    CHECK_STR(fe_op_text(FE_OP_COUNT), "?");
}

int main(int argc, char **argv) {
    const char *root = ".";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--update") == 0)
            update_mode = true;
        else
            root = argv[i];
    }
    run_dir(root, 5);
    test_source_copy();
    test_line_ends();
    test_deep_nesting();
    test_wide();
    test_nul_bytes();
    test_error_cap();
    test_parse_expr();
    test_tokens();
    test_op_text();
    fprintf(stderr, "parse_golden: %d valid and %d invalid cases\n", n_valid, n_invalid);
    TEST_MAIN();
}
