/* tests/passes/test_passes_golden.c — golden tests of the compiler passes, in the style
 * of mlir-opt's lit tests.
 *
 * usage: passes_golden [SOURCE_ROOT]      (default: the working directory)
 *
 * Every .llir file in tests/passes is split into cases on lines "// -----". A case is
 *
 *     // RUN: fold,dce                       the passes, in order (exactly one line)
 *     // free text: what the case is about
 *     graph @g { ... }                        the input, in canonical form
 *     // CHECK: graph @g {                    the expected print, one CHECK line per line
 *     // CHECK:   %0 = ...                    ("// CHECK:" alone is an empty line,
 *     // CHECK: }                              between graphs)
 *
 * or, for a case where the passes must change nothing, `// CHECK-UNCHANGED` instead of
 * the CHECK lines: the expected print is then the input itself.
 *
 * For each case: the input parses and is canonical; the passes run in order on every
 * graph, and after every pass the result verifies, keeps the graph's interface, and
 * computes the same outputs bit for bit as before it (f32 and f64 interpreter modes,
 * plain and salted inputs: tests/passes/check.h); the final print equals the expected
 * text and round-trips; when the last pass is simplify, running it again changes nothing
 * (idempotence). Each of fold, cse, dce, algebra and simplify must have its own file.
 */
#include "check.h"

#include <dirent.h>

static int n_cases;

typedef struct Lines {
    char **v;
    size_t n;
} Lines;

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

static const char *skip_blanks(const char *s) {
    while (*s == ' ' || *s == '\t') s++;
    return s;
}

static bool is_comment_or_blank(const char *s) {
    s = skip_blanks(s);
    return *s == 0 || (s[0] == '/' && s[1] == '/');
}

static bool is_separator(const char *s) {
    if (strncmp(s, "// -----", 8) != 0) return false;
    return *skip_blanks(s + 8) == 0;
}

static char *print_module(const IrModule *m) {
    LlmcBuf b = {0};
    llmc_buf_put(&b, "", 0);
    ir_print_module(m, &b);
    return b.data;
}

static void remove_blank_lines(char *s) {
    char *w = s;
    for (char *r = s; *r; r++)
        if (!(*r == '\n' && (r == s || r[-1] == '\n'))) *w++ = *r;
    *w = 0;
}

/* Runs the comma-separated passes on every graph of m, checking each step. */
static bool run_passes(const char *where, IrModule *m, const char *list) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *name = strtok_r(buf, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        const CcPass *pass = cc_pass_find(name);
        if (!pass) fprintf(stderr, "%s: unknown pass '%s'\n", where, name);
        CHECK(pass != NULL);
        if (!pass) return false;
        for (uint32_t gi = 0; gi < m->n_graphs; gi++) {
            char at[600];
            snprintf(at, sizeof at, "%s: %s on @%s", where, name, ir_graph_name(m->graphs[gi]));
            LlmcErr err = {0};
            IrGraph *r = pass->run(m->graphs[gi], &err);
            if (!r) fprintf(stderr, "%s: failed: %s\n", at, err.msg);
            CHECK(r != NULL);
            if (!r) return false;
            if (passes_check_verifies(at, r)) {
                passes_check_interface(at, m->graphs[gi], r);
                passes_check_results(at, m->graphs[gi], r);
            }
            ir_graph_free(m->graphs[gi]);
            m->graphs[gi] = r;
        }
    }
    return true;
}

/* A second simplify must change nothing. */
static void check_idempotent(const char *where, const IrModule *m) {
    for (uint32_t gi = 0; gi < m->n_graphs; gi++) {
        LlmcErr err = {0};
        IrGraph *again = cc_pass_simplify(m->graphs[gi], &err);
        CHECK(again != NULL);
        if (!again) continue;
        char *a = passes_print(m->graphs[gi]), *b = passes_print(again);
        if (strcmp(a, b) != 0) fprintf(stderr, "%s: simplify is not idempotent on @%s\n", where, ir_graph_name(again));
        CHECK_STR(b, a);
        free(a);
        free(b);
        ir_graph_free(again);
    }
}

/* print(parse(text)) == text. */
static void check_round_trip(const char *where, const char *text) {
    IrModule m = {0};
    LlmcDiags d = {0};
    LlmcSource src = {where, text, strlen(text)};
    bool ok = ir_parse_module(&src, &m, &d);
    if (!ok) llmc_diags_print(&d, stderr);
    CHECK(ok);
    if (ok) {
        char *p = print_module(&m);
        CHECK_STR(p, text);
        free(p);
    }
    ir_module_free(&m);
    llmc_diags_free(&d);
}

/* The print of src parsed afresh (CHECK-UNCHANGED: what the passes must give back). */
static char *reprint(const LlmcSource *src) {
    IrModule m = {0};
    LlmcDiags d = {0};
    CHECK(ir_parse_module(src, &m, &d));
    char *p = print_module(&m);
    ir_module_free(&m);
    llmc_diags_free(&d);
    return p;
}

/* first..last: 1-based file lines of one case. */
static void run_case(const char *file, const Lines *l, size_t first, size_t last) {
    char where[512];
    snprintf(where, sizeof where, "%s:%zu", file, first);
    LlmcBuf input = {0}, canon = {0}, expect = {0};
    llmc_buf_put(&input, "", 0);
    llmc_buf_put(&canon, "", 0);
    llmc_buf_put(&expect, "", 0);
    for (size_t i = 1; i < first; i++) llmc_buf_putc(&input, '\n'); /* keep file line numbers */
    const char *run = NULL;
    int n_run = 0, n_check = 0, n_unchanged = 0;
    for (size_t i = first; i <= last; i++) {
        const char *s = l->v[i - 1], *t = skip_blanks(s);
        if (strncmp(t, "// RUN:", 7) == 0) {
            run = skip_blanks(t + 7);
            n_run++;
        } else if (strncmp(t, "// CHECK-UNCHANGED", 18) == 0) {
            n_unchanged++;
        } else if (strncmp(t, "// CHECK:", 9) == 0) {
            const char *rest = t + 9;
            if (*rest == ' ') rest++;
            llmc_buf_puts(&expect, rest);
            llmc_buf_putc(&expect, '\n');
            n_check++;
        } else if (!is_comment_or_blank(s)) {
            llmc_buf_puts(&canon, s);
            llmc_buf_putc(&canon, '\n');
        }
        llmc_buf_puts(&input, s);
        llmc_buf_putc(&input, '\n');
    }
    bool well_formed = n_run == 1 && run && *run && ((n_check > 0) != (n_unchanged == 1)) && n_unchanged <= 1;
    if (!well_formed)
        fprintf(stderr, "%s: a case needs one '// RUN: passes' line and either CHECK lines or one CHECK-UNCHANGED\n",
                where);
    CHECK(well_formed);
    IrModule m = {0};
    LlmcDiags d = {0};
    LlmcSource src = {file, input.data, input.len};
    bool parsed = well_formed && ir_parse_module(&src, &m, &d);
    if (well_formed && !parsed) llmc_diags_print(&d, stderr);
    CHECK(!well_formed || parsed);
    if (parsed) {
        char *p = print_module(&m);
        remove_blank_lines(p);
        if (strcmp(p, canon.data) != 0) fprintf(stderr, "%s: the input is not in canonical form\n", where);
        CHECK_STR(p, canon.data);
        free(p);
        if (run_passes(where, &m, run)) {
            char *got = print_module(&m);
            char *want = n_unchanged ? reprint(&src) : llmc_xstrdup(expect.data);
            const char *w = want;
            if (strcmp(got, w) != 0) fprintf(stderr, "%s: RUN %s:\n--- got\n%s--- expected\n%s", where, run, got, w);
            CHECK_STR(got, w);
            check_round_trip(where, got);
            const char *last_pass = strrchr(run, ',');
            last_pass = last_pass ? last_pass + 1 : run;
            if (strcmp(last_pass, "simplify") == 0) check_idempotent(where, &m);
            free(got);
            free(want);
        }
    }
    ir_module_free(&m);
    llmc_diags_free(&d);
    llmc_buf_free(&input);
    llmc_buf_free(&canon);
    llmc_buf_free(&expect);
    n_cases++;
}

static void run_file(const char *path) {
    char *text;
    size_t len;
    LlmcErr err = {0};
    if (!llmc_file_read(path, &text, &len, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        CHECK(false);
        return;
    }
    Lines l = split_lines(text, len);
    size_t first = 1;
    int before = n_cases;
    for (size_t i = 1; i <= l.n + 1; i++) {
        if (i <= l.n && !is_separator(l.v[i - 1])) continue;
        if (i > first) run_case(path, &l, first, i - 1);
        first = i + 1;
    }
    fprintf(stderr, "%s: %d cases\n", path, n_cases - before);
    lines_free(&l);
    free(text);
}

int main(int argc, char **argv) {
    const char *root = argc > 1 ? argv[1] : ".";
    static const char *const files[] = {"fold", "cse", "dce", "algebra", "simplify"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        LlmcBuf p = {0};
        llmc_buf_printf(&p, "%s/tests/passes/%s.llir", root, files[i]);
        run_file(p.data);
        llmc_buf_free(&p);
    }
    /* Any other .llir file in the directory runs too. */
    LlmcBuf dir = {0};
    llmc_buf_printf(&dir, "%s/tests/passes", root);
    DIR *dd = opendir(dir.data);
    CHECK(dd != NULL);
    for (struct dirent *e; dd && (e = readdir(dd)) != NULL;) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".llir") != 0) continue;
        bool known = false;
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
            known |= strlen(files[i]) + 5 == n && strncmp(e->d_name, files[i], n - 5) == 0;
        if (known) continue;
        LlmcBuf p = {0};
        llmc_buf_printf(&p, "%s/%s", dir.data, e->d_name);
        run_file(p.data);
        llmc_buf_free(&p);
    }
    if (dd) closedir(dd);
    llmc_buf_free(&dir);
    fprintf(stderr, "passes golden: %d cases; results compared %d times (%d skipped: the input fails to run)\n",
            n_cases, passes_results_compared, passes_results_skipped);
    TEST_MAIN();
}
