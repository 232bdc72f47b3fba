/* tests/golden/test_golden.c — the .llir golden files, the round-trip contract, and the
 * text cases a file cannot hold.
 *
 * usage: golden_llir [SOURCE_ROOT]      (default: the working directory)
 *
 * Every .llir file in tests/golden is split into cases on lines "// -----". A case is
 * parsed as its own source, padded with newlines so line numbers are those of the file.
 *   - A case without annotations must parse; print(parse(case)) must equal the case with
 *     its comment-only and blank lines removed (so golden cases are written in canonical
 *     form; blank lines are dropped from the print too, since graphs print separated by
 *     one), and printing the reparse of that print must give the same bytes.
 *   - A case with annotations must fail, and its error diagnostics must be exactly the
 *     annotated ones, line and column included:
 *         // expected-error:COL {{substring}}       on this line
 *         // expected-error@+N:COL {{substring}}    N lines below (@-N: above)
 *         // expected-error@unknown {{substring}}   a diagnostic without a location
 * Every op of the op table must appear in some valid case. The examples in tests/ir must
 * be valid and canonical too. Then come cases built in code: non-canonical spellings and
 * their canonical print, CRLF, no trailing newline, NUL bytes, deep nesting, the error cap.
 */
#include "ir_int.h"
#include "test.h"

#include <dirent.h>
#include <stdlib.h>

static bool op_seen[IR_OP_COUNT];
static int n_valid, n_invalid;

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

static bool blank_or_comment(const char *s) {
    while (*s == ' ' || *s == '\t') s++;
    return *s == 0 || (s[0] == '/' && s[1] == '/');
}

/* The text with blank and comment-only lines removed, each line ending in '\n'. */
static char *strip_comments(const char *text, size_t len) {
    Lines l = split_lines(text, len);
    LlmcBuf b = {0};
    llmc_buf_put(&b, "", 0);
    for (size_t i = 0; i < l.n; i++) {
        if (blank_or_comment(l.v[i])) continue;
        llmc_buf_puts(&b, l.v[i]);
        llmc_buf_putc(&b, '\n');
    }
    lines_free(&l);
    return b.data;
}

static char *print_module(const IrModule *m) {
    LlmcBuf b = {0};
    llmc_buf_put(&b, "", 0);
    ir_print_module(m, &b);
    return b.data;
}

/* Parses text as one source named `name`. */
static bool parse_text(const char *name, const char *text, size_t len, IrModule *m, LlmcDiags *d) {
    LlmcSource src = {name, text, len};
    return ir_parse_module(&src, m, d);
}

/* --- the round-trip contract --------------------------------------------------------- */

/* print(parse(print(g))) == print(g), byte for byte. Returns the print of m. */
static char *check_round_trip(const char *where, const IrModule *m) {
    char *p1 = print_module(m);
    IrModule m2 = {0};
    LlmcDiags d = {0};
    bool ok = parse_text(where, p1, strlen(p1), &m2, &d);
    CHECK(ok);
    if (ok) {
        char *p2 = print_module(&m2);
        CHECK_STR(p2, p1);
        free(p2);
    } else {
        fprintf(stderr, "%s: the print does not reparse:\n%s", where, p1);
        llmc_diags_print(&d, stderr);
    }
    for (uint32_t i = 0; i < m->n_graphs; i++) {
        LlmcBuf dot = {0};
        ir_print_dot(m->graphs[i], &dot);
        CHECK(dot.data && strncmp(dot.data, "digraph \"", 9) == 0);
        llmc_buf_free(&dot);
    }
    ir_module_free(&m2);
    llmc_diags_free(&d);
    return p1;
}

/* --- annotations --------------------------------------------------------------------- */

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

static void note_ops(const IrModule *m) {
    for (uint32_t i = 0; i < m->n_graphs; i++)
        for (IrId id = 0; id < m->graphs[i]->n_nodes; id++) op_seen[m->graphs[i]->nodes[id].op] = true;
}

static void remove_blank_lines(char *s) {
    char *w = s;
    for (char *r = s; *r; r++)
        if (!(*r == '\n' && (r == s || r[-1] == '\n'))) *w++ = *r;
    *w = 0;
}

static void run_valid(const char *where, const char *text, size_t len) {
    IrModule m = {0};
    LlmcDiags d = {0};
    bool ok = parse_text(where, text, len, &m, &d);
    CHECK(ok);
    CHECK_EQ_INT(d.count, 0);
    if (!ok || d.count) llmc_diags_print(&d, stderr);
    if (ok) {
        note_ops(&m);
        char *printed = check_round_trip(where, &m);
        char *want = strip_comments(text, len);
        remove_blank_lines(printed);
        if (strcmp(printed, want) != 0) fprintf(stderr, "%s: print is not the case's canonical text\n", where);
        CHECK_STR(printed, want);
        free(want);
        free(printed);
    }
    ir_module_free(&m);
    llmc_diags_free(&d);
    n_valid++;
}

static void run_invalid(const char *where, const char *text, size_t len, Expects *ex) {
    IrModule m = {0};
    LlmcDiags d = {0};
    bool ok = parse_text(where, text, len, &m, &d);
    CHECK(!ok);
    CHECK_EQ_INT(m.n_graphs, 0);
    check_errors(where, &d, ex);
    ir_module_free(&m);
    llmc_diags_free(&d);
    n_invalid++;
}

/* first..last are 1-based file lines; the case text is padded to keep line numbers. */
static void run_case(const char *file, const Lines *l, size_t first, size_t last) {
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
    if (ex.n)
        run_invalid(where, text.data, text.len, &ex);
    else
        run_valid(where, text.data, text.len);
    expects_free(&ex);
    llmc_buf_free(&text);
}

static bool is_separator(const char *s) {
    if (strncmp(s, "// -----", 8) != 0) return false;
    for (s += 8; *s; s++)
        if (*s != ' ' && *s != '\t') return false;
    return true;
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
    size_t first = 1;
    for (size_t i = 1; i <= l.n + 1; i++) {
        if (i <= l.n && !is_separator(l.v[i - 1])) continue;
        if (i > first) run_case(path, &l, first, i - 1);
        first = i + 1;
    }
    lines_free(&l);
    free(text);
}

/* Examples must be valid and already canonical. */
static void run_example(const char *path) {
    char *text;
    size_t len;
    LlmcErr err = {0};
    if (!llmc_file_read(path, &text, &len, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        CHECK(false);
        return;
    }
    run_valid(path, text, len);
    free(text);
}

/* --- directory walking --------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted paths of the .llir files in dir; returns the count. */
static size_t list_llir(const char *dir, char ***out) {
    DIR *d = opendir(dir);
    *out = NULL;
    if (!d) return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".llir") != 0) continue;
        *out = llmc_xrealloc(*out, (n + 1) * sizeof **out);
        LlmcBuf p = {0};
        llmc_buf_printf(&p, "%s/%s", dir, e->d_name);
        (*out)[n++] = p.data;
    }
    closedir(d);
    if (n) qsort(*out, n, sizeof **out, cmp_str);
    return n;
}

static void run_dir(const char *root, const char *sub, void (*fn)(const char *), size_t min_files) {
    LlmcBuf dir = {0};
    llmc_buf_printf(&dir, "%s/%s", root, sub);
    char **files;
    size_t n = list_llir(dir.data, &files);
    if (n < min_files) fprintf(stderr, "%s: found %zu .llir files, want >= %zu\n", dir.data, n, min_files);
    CHECK(n >= min_files);
    for (size_t i = 0; i < n; i++) {
        fn(files[i]);
        free(files[i]);
    }
    free(files);
    llmc_buf_free(&dir);
}

/* --- cases built in code ------------------------------------------------------------- */

static bool parse_quiet(const char *text, size_t len, IrModule *m, LlmcDiags *d) {
    return parse_text("<test>", text, len, m, d);
}

/* Non-canonical spellings parse and print in canonical form. */
static void test_canonicalization(void) {
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"graph @g {\n%in = input() {role=data, name=\"x\"} : f32[1]\n%b.2 = exp(%in) {} : f32[1]\n"
         "%c = reduce_sum(%b.2) {keepdims=false, axis=0} : f32[]\noutput \"y\" = %c\n}",
         "graph @g {\n  %0 = input() {name=\"x\", role=data} : f32[1]\n  %1 = exp(%0) : f32[1]\n"
         "  %2 = reduce_sum(%1) {axis=0} : f32[]\n  output \"y\" = %2\n}\n"},
        {"graph @g{\n output \"a\"=%k\n}", NULL}, /* use before definition: invalid */
        {"graph @g {\n%0 = const() {value=[1.50]} : f32[1]\n%1 = const() {value=[7, 7]} : i32[2]\n"
         "%2 = const() {value=[-0.0, 1e-320]} : f64[2]\n%3 = const() {value=1E+2} : f32[]  #   \n"
         "%4 = const() {value=nan:0x7fc00000} : f32[]  # s @ \"\":0:0\n"
         "%5 = input() {name=\"n\", role=state} : i32[]\n"
         "%6 = rand(%5, %5, %5) {dist=uniform, site=0} : f32[2]  # \"a b\"\n"
         "output \"a\" = %0\noutput \"b\" = %6\n}\n"
         "graph @\"x y\" {\n%0 = input() {name=\"\\x41\\t\", role=param} : f64[3]\noutput \"\\xff\" = %0\n}",
         "graph @g {\n  %0 = const() {value=1.5} : f32[1]\n  %1 = const() {value=[7, 7]} : i32[2]\n"
         "  %2 = const() {value=[-0, 1e-320]} : f64[2]\n  %3 = const() {value=100} : f32[]\n"
         "  %4 = const() {value=nan} : f32[]  # s\n"
         "  %5 = input() {name=\"n\", role=state} : i32[]\n"
         "  %6 = rand(%5, %5, %5) {site=0} : f32[2]  # \"a b\"\n"
         "  output \"a\" = %0\n  output \"b\" = %6\n}\n\n"
         "graph @\"x y\" {\n  %0 = input() {name=\"A\\t\", role=param} : f64[3]\n  output \"\\xff\" = %0\n}\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        IrModule m = {0};
        LlmcDiags d = {0};
        bool ok = parse_quiet(cases[i].in, strlen(cases[i].in), &m, &d);
        CHECK(ok == (cases[i].out != NULL));
        if (ok && cases[i].out) {
            char *p = check_round_trip("canonicalization", &m);
            CHECK_STR(p, cases[i].out);
            free(p);
        } else if (!ok && cases[i].out) {
            llmc_diags_print(&d, stderr);
        }
        ir_module_free(&m);
        llmc_diags_free(&d);
    }
}

static const char simple[] = "graph @g {\n  %0 = input() {name=\"x\", role=data} : f32[4]\n"
                             "  %1 = tanh(%0) : f32[4]  # blk.a\n  output \"y\" = %1\n}\n";

/* CRLF line ends and a missing final newline change nothing. */
static void test_line_ends(void) {
    LlmcBuf crlf = {0};
    for (const char *p = simple; *p; p++) {
        if (*p == '\n') llmc_buf_putc(&crlf, '\r');
        llmc_buf_putc(&crlf, *p);
    }
    const char *variants[] = {simple, crlf.data};
    size_t lens[] = {strlen(simple), crlf.len};
    for (int v = 0; v < 2; v++)
        for (int trim = 0; trim < 2; trim++) { /* with and without the final line end */
            size_t len = lens[v] - (size_t)(trim ? (v ? 2 : 1) : 0);
            IrModule m = {0};
            LlmcDiags d = {0};
            bool ok = parse_quiet(variants[v], len, &m, &d);
            CHECK(ok);
            if (ok) {
                char *p = print_module(&m);
                CHECK_STR(p, simple);
                free(p);
            } else {
                llmc_diags_print(&d, stderr);
            }
            ir_module_free(&m);
            llmc_diags_free(&d);
        }
    /* A CRLF file reports the same columns as an LF one. */
    const char bad[] = "graph @g {\r\n  %0 = input() {name=\"x\", role=data} : f32[4]\r\n  %1 = tahn(%0) : f32[4]\r\n}";
    IrModule m = {0};
    LlmcDiags d = {0};
    CHECK(!parse_quiet(bad, sizeof bad - 1, &m, &d));
    CHECK_EQ_INT(d.errors, 1);
    if (d.count) {
        CHECK_EQ_INT(d.items[0].line, 3);
        CHECK_EQ_INT(d.items[0].col, 8);
        CHECK(strstr(d.items[0].msg, "did you mean 'tanh'") != NULL);
    }
    llmc_diags_free(&d);
    llmc_buf_free(&crlf);
}

/* Hostile bytes: NULs, invalid UTF-8, a huge number, 10k-deep brackets, an empty text. */
static void test_hostile(void) {
    LlmcBuf b = {0};
    llmc_buf_puts(&b, "graph @g {\n  %0 = const() {value=");
    for (int i = 0; i < 10000; i++) llmc_buf_putc(&b, '[');
    llmc_buf_puts(&b, "} : f32[]\n  %1 = const() {value=");
    for (int i = 0; i < 5000; i++) llmc_buf_putc(&b, '9');
    llmc_buf_puts(&b, "} : f32[]\n  %2 = input() {name=\"\xff\xfe\", role=data} : i32[");
    for (int i = 0; i < 400; i++) llmc_buf_putc(&b, '9');
    llmc_buf_puts(&b, "]\n");
    llmc_buf_put(&b, "  %3 = \0\0\0 exp(%0)\n\xc3\x28 \x80\n", 23);
    llmc_buf_puts(&b, "}\n");
    IrModule m = {0};
    LlmcDiags d = {0};
    CHECK(!parse_quiet(b.data, b.len, &m, &d));
    CHECK(d.errors >= 4 && d.errors <= 8);
    CHECK_EQ_INT(m.n_graphs, 0);
    llmc_diags_free(&d);

    /* Empty and comment-only texts are empty modules. */
    CHECK(parse_quiet("", 0, &m, &d));
    CHECK(parse_quiet(NULL, 0, &m, &d));
    CHECK(parse_quiet("// nothing\n\n", 12, &m, &d));
    CHECK_EQ_INT(m.n_graphs, 0);
    CHECK_EQ_INT(d.count, 0);
    llmc_diags_free(&d);
    llmc_buf_free(&b);
}

/* After 50 errors the parser stops, with a note saying so. */
static void test_error_cap(void) {
    LlmcBuf b = {0};
    llmc_buf_puts(&b, "graph @g {\n");
    for (int i = 0; i < 500; i++) llmc_buf_printf(&b, "  %%%d = nope() : f32[]\n", i);
    llmc_buf_puts(&b, "}\n");
    IrModule m = {0};
    LlmcDiags d = {0};
    CHECK(!parse_quiet(b.data, b.len, &m, &d));
    CHECK_EQ_INT(d.errors, 50);
    CHECK(d.count == 51 && d.items[50].severity == LLMC_SEV_NOTE);
    llmc_diags_free(&d);
    llmc_buf_free(&b);
}

/* The parser appends to a module and leaves it alone on failure; diagnostics already
 * present are not counted as its own. */
static void test_module_use(void) {
    IrModule m = {0};
    LlmcDiags d = {0};
    llmc_diag_at(&d, LLMC_SEV_ERROR, NULL, 0, 0, "an earlier error");
    CHECK(parse_quiet(simple, strlen(simple), &m, &d));
    CHECK(parse_quiet(simple, strlen(simple), &m, &d));
    CHECK_EQ_INT(m.n_graphs, 2);
    CHECK(!parse_quiet("graph @h {\n}\n", 13, &m, &d));
    CHECK_EQ_INT(m.n_graphs, 2);
    /* Two graphs print separated by exactly one blank line. */
    char *p = print_module(&m);
    LlmcBuf want = {0};
    llmc_buf_printf(&want, "%s\n%s", simple, simple);
    CHECK_STR(p, want.data);
    free(p);
    llmc_buf_free(&want);
    ir_module_free(&m);
    llmc_diags_free(&d);
}

/* Printing a graph built in code: bf16 constants rounded by the builder (0.1 once, from
 * the double), strings needing escapes, scopes needing quotes. */
static void test_print_built(void) {
    IrGraph *g = ir_graph_new("built graph");
    IrBuilder b;
    ir_builder_init(&b, g);
    ir_builder_set_scope(&b, "a \"b\"//c");
    ir_builder_set_loc(&b, "m\"x.llm", 3, 9);
    double v[4] = {1.0, -0.0, 0.1, INFINITY};
    IrId c = ir_build_const(&b, ir_type_make(IR_DTYPE_BF16, 1, (int64_t[]){4}), v, 4);
    ir_builder_set_scope(&b, "layers.3/attn[0]:q-k");
    ir_builder_set_loc(&b, NULL, 0, 0);
    IrId x = ir_build_input(&b, IR_ROLE_STATE, "tab\there\x01\xc3\xa9\xc3", ir_type_scalar(IR_DTYPE_I32));
    CHECK(ir_builder_ok(&b));
    ir_graph_add_output(g, "c", c);
    ir_graph_add_output(g, "x", x);
    LlmcBuf out = {0};
    ir_print_graph(g, &out);
    CHECK_STR(out.data, "graph @\"built graph\" {\n"
                        "  %0 = const() {value=[1, -0, 0.100097656, inf]} : bf16[4]  # \"a \\\"b\\\"//c\" @ \"m\\\"x.llm\":3:9\n"
                        "  %1 = input() {name=\"tab\\there\\x01\xc3\xa9\\xc3\", role=state} : i32[]  # layers.3/attn[0]:q-k\n"
                        "  output \"c\" = %0\n  output \"x\" = %1\n}\n");
    /* It parses back to the same text. */
    IrModule m = {0};
    LlmcDiags d = {0};
    CHECK(parse_quiet(out.data, out.len, &m, &d));
    CHECK_EQ_INT(d.errors, 0);
    if (m.n_graphs == 1) {
        char *again = print_module(&m);
        CHECK_STR(again, out.data);
        free(again);
    }
    ir_module_free(&m);
    llmc_diags_free(&d);
    LlmcBuf dot = {0};
    ir_print_dot(g, &dot);
    CHECK(strstr(dot.data, "digraph \"built graph\" {") != NULL);
    CHECK(strstr(dot.data, "n0 -> out0;") != NULL);
    CHECK(strstr(dot.data, "\\\"") != NULL);
    llmc_buf_free(&dot);
    llmc_buf_free(&out);
    ir_graph_free(g);
}

int main(int argc, char **argv) {
    const char *root = argc > 1 ? argv[1] : ".";
    run_dir(root, "tests/golden", run_golden_file, 3);
    run_dir(root, "tests/ir", run_example, 4);
    for (int op = 1; op < IR_OP_COUNT; op++)
        if (!op_seen[op]) {
            fprintf(stderr, "op %s appears in no valid golden case\n", ir_op_name((IrOp)op));
            CHECK(op_seen[op]);
        }
    test_canonicalization();
    test_line_ends();
    test_hostile();
    test_error_cap();
    test_module_use();
    test_print_built();
    fprintf(stderr, "golden: %d valid and %d invalid cases\n", n_valid, n_invalid);
    TEST_MAIN();
}
