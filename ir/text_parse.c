/* ir/text_parse.c — the .llir parser: text in, verified graphs out.
 *
 * Grammar (docs/llir.md explains it with examples). One node per line; NEWLINE is a
 * token; blanks are ' ', '\t' and '\r'; '//' starts a comment that runs to the end of
 * the line (outside strings).
 *
 *   module     := { NEWLINE | graph } EOF
 *   graph      := 'graph' gname '{' NEWLINE graph_body '}' (NEWLINE | EOF)
 *   gname      := '@' NAME | '@' STRING
 *   graph_body := { NEWLINE } [ train_record NEWLINE ] { line }
 *   train_record := 'train' attrs       (names and kinds from ir_train_schema())
 *   line       := [ node | output ] NEWLINE
 *   node       := VALUE '=' OPNAME '(' [ VALUE { ',' VALUE } ] ')' [ attrs ] ':' type
 *                 [ provenance ]
 *   attrs      := '{' [ attr { ',' attr } ] '}'
 *   attr       := IDENT '=' avalue          (names and kinds from the op's schema)
 *   avalue     := INT | 'true' | 'false' | IDENT | STRING | NUMBER
 *               | '[' [ NUMBER { ',' NUMBER } ] ']'
 *   type       := DTYPE '[' [ INT { ',' INT } ] ']'
 *   provenance := '#' [ SCOPE | STRING ] [ '@' STRING ':' INT ':' INT ]
 *   output     := 'output' STRING '=' VALUE
 *
 *   VALUE  := '%' [A-Za-z0-9_.]+        NAME   := [A-Za-z0-9_.]+   (right after '@')
 *   IDENT  := [A-Za-z_][A-Za-z0-9_]*    SCOPE  := [A-Za-z0-9_.\-/\[\]:]+ (right after '#',
 *                                                 ends before "//")
 *   INT    := ['-'] digits
 *   NUMBER := INT | ['-'] digits ['.' digits] [('e'|'E') ['+'|'-'] digits]
 *           | ['-'] ('inf' | 'nan') | 'nan:0x' hexdigits
 *   STRING := '"' { byte | '\"' | '\\' | '\n' | '\t' | '\x' hex hex } '"'   (on one line;
 *             no NUL byte, raw or escaped)
 *
 * Meaning: value names are local to a graph and must be defined (once) before use; the
 * printer renumbers them %0... A const's value (DATA) is read in the node's dtype, which
 * comes after the attributes, so its tokens are kept and converted once the type is known.
 * The train record (the graph's IrTrainConfig) is read by the same attribute code as an
 * op's attributes, starting from ir_train_defaults(); every field is required, FLOAT
 * fields take any NUMBER as a double. Its ranges are left to the verifier, which is
 * told the record's position so its complaints point at the line.
 * Every declared dimension must be >= 1 and a type at most 2^40 elements, so later
 * stages never see a type whose size overflows.
 *
 * Errors go to the diagnostics at the offending token, say what was expected and what
 * was found, and the parser recovers: a bad node or output line is skipped to its end, a
 * bad graph header to the next line that starts with 'graph'. It stops after 50 errors.
 * Each graph that parsed cleanly is then checked by ir_verify with the position of every
 * node. Nothing here recurses, and every read is bounded by the source length, so no
 * byte sequence makes it crash, hang or read out of bounds.
 *
 * Not here: judging types and shapes (ir_verify does, through the shape rules) and
 * printing (text_print.c).
 */
#include "ir_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ERRORS 50
#define MAX_NUMEL ((int64_t)1 << 40)

/* --- tokens -------------------------------------------------------------------------- */

typedef enum TokKind {
    TK_INVALID = 0,
    TK_EOF,
    TK_NEWLINE,
    TK_IDENT,
    TK_INT,    /* ['-'] digits */
    TK_FLOAT,  /* any other number literal */
    TK_STRING, /* validated; decoded on demand */
    TK_VALUE,  /* %name */
    TK_GNAME,  /* @name */
    TK_SCOPE,  /* a bare scope run after '#' */
    TK_PUNCT,  /* one of ( ) { } [ ] , = : # @ */
    TK_ERROR,  /* already reported by the lexer */
    TK_COUNT
} TokKind;

typedef struct Token {
    TokKind kind;
    size_t start, len;
    uint32_t line, col;
} Token;

/* --- name maps: value names, output names, graph names ------------------------------- */

typedef struct NameEntry {
    const char *s; /* NULL: empty slot */
    size_t n;
    IrId id;       /* IR_ID_NONE: the line defining it was broken */
    uint32_t line;
} NameEntry;

typedef struct NameMap {
    NameEntry *slots;
    uint32_t cap, count; /* cap is a power of two */
} NameMap;

static uint32_t name_hash(const char *s, size_t n) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static NameEntry *names_slot(const NameMap *m, const char *s, size_t n) {
    uint32_t h = name_hash(s, n) & (m->cap - 1);
    while (m->slots[h].s && !(m->slots[h].n == n && memcmp(m->slots[h].s, s, n) == 0)) h = (h + 1) & (m->cap - 1);
    return &m->slots[h];
}

static NameEntry *names_find(const NameMap *m, const char *s, size_t n) {
    if (!m->cap) return NULL;
    NameEntry *e = names_slot(m, s, n);
    return e->s ? e : NULL;
}

static void names_grow(NameMap *m) {
    NameMap bigger = {llmc_xcalloc(m->cap ? m->cap * 2 : 16, sizeof(NameEntry)), m->cap ? m->cap * 2 : 16, m->count};
    for (uint32_t i = 0; i < m->cap; i++)
        if (m->slots[i].s) *names_slot(&bigger, m->slots[i].s, m->slots[i].n) = m->slots[i];
    free(m->slots);
    *m = bigger;
}

/* s must outlive the map. The name must not be present yet. */
static void names_add(NameMap *m, const char *s, size_t n, IrId id, uint32_t line) {
    if ((m->count + 1) * 2 > m->cap) names_grow(m);
    NameEntry *e = names_slot(m, s, n);
    *e = (NameEntry){s, n, id, line};
    m->count++;
}

static void names_free(NameMap *m) {
    free(m->slots);
    memset(m, 0, sizeof *m);
}

/* --- parser state -------------------------------------------------------------------- */

typedef struct Parser {
    const LlmcSource *src;
    const char *text;
    size_t len;
    size_t pos;        /* lexer cursor: the first byte not yet lexed */
    uint32_t line;     /* line of pos, 1-based */
    size_t line_start; /* offset of the first byte of that line */
    Token tok;         /* the current token */
    LlmcDiags *diags;
    uint32_t errors_at_start;
    bool stop; /* too many errors */
    NameMap graph_names;
    LlmcArena keep; /* copies of graph names, for graph_names */
    /* The graph being parsed. */
    IrGraph *g;
    const char *g_name;
    uint32_t g_errors_at_start;
    NameMap values, outputs;
    IrTextPos *node_pos;
    uint32_t cap_pos;
    bool has_train;      /* a train record was read (or attempted) in this graph */
    IrTextPos train_pos; /* where: the 'train' keyword */
    /* Scratch reused from node to node. */
    IrId *ops;
    uint32_t cap_ops;
    Token *data; /* a const's value tokens, kept until the dtype is known */
    uint32_t n_data, cap_data;
    bool has_data;
    size_t data_offset; /* of the DATA field in IrAttrs */
    LlmcBuf str;
} Parser;

static uint32_t error_count(const Parser *P) { return P->diags->errors - P->errors_at_start; }

static void error_at(Parser *P, uint32_t line, uint32_t col, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void error_at(Parser *P, uint32_t line, uint32_t col, const char *fmt, ...) {
    if (P->stop) return;
    va_list ap;
    va_start(ap, fmt);
    llmc_diag_vat(P->diags, LLMC_SEV_ERROR, P->src, line, col, fmt, ap);
    va_end(ap);
    if (error_count(P) >= MAX_ERRORS) {
        llmc_diag_at(P->diags, LLMC_SEV_NOTE, P->src, line, col, "too many errors; stopping here");
        P->stop = true;
    }
}

/* --- characters ---------------------------------------------------------------------- */

static bool is_digit(int c) { return c >= '0' && c <= '9'; }
static bool is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool is_ident_char(int c) { return is_alpha(c) || is_digit(c); }
static bool is_name_char(int c) { return is_ident_char(c) || c == '.'; }
static bool is_scope_char(int c) {
    return is_name_char(c) || c == '-' || c == '/' || c == '[' || c == ']' || c == ':';
}
static bool is_hex(int c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
static int hex_val(int c) { return is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10; }

/* The byte at i, or -1 past the end (the text need not be NUL-terminated). */
static int at(const Parser *P, size_t i) { return i < P->len ? (unsigned char)P->text[i] : -1; }

static uint32_t col_of(const Parser *P, size_t pos) { return (uint32_t)(pos - P->line_start + 1); }

/* Token text for messages: quoted, at most 32 bytes, unprintable bytes as \xNN. */
static const char *describe(const Parser *P, const Token *t, char *buf, size_t n) {
    if (t->kind == TK_EOF) return "end of input";
    if (t->kind == TK_NEWLINE) return "end of line";
    size_t used = 0, shown = t->len < 32 ? t->len : 32;
    used += (size_t)snprintf(buf + used, n - used, "'");
    for (size_t i = 0; i < shown && used + 12 < n; i++) {
        unsigned char c = (unsigned char)P->text[t->start + i];
        if (c >= 0x20 && c < 0x7f && c != '\'')
            used += (size_t)snprintf(buf + used, n - used, "%c", c);
        else
            used += (size_t)snprintf(buf + used, n - used, "\\x%02x", c);
    }
    snprintf(buf + used, n - used, "%s'", shown < t->len ? "..." : "");
    return buf;
}

#define DESCRIBE_MAX 160

/* --- lexer --------------------------------------------------------------------------- */

/* Blanks and comments, never the newline. */
static void skip_blanks(Parser *P) {
    for (;;) {
        int c = at(P, P->pos);
        if (c == ' ' || c == '\t' || c == '\r') {
            P->pos++;
        } else if (c == '/' && at(P, P->pos + 1) == '/') {
            while (P->pos < P->len && P->text[P->pos] != '\n') P->pos++;
        } else {
            return;
        }
    }
}

static void lex_error(Parser *P, size_t pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void lex_error(Parser *P, size_t pos, const char *fmt, ...) {
    if (P->stop) return;
    LlmcBuf msg = {0};
    va_list ap;
    va_start(ap, fmt);
    llmc_buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    error_at(P, P->line, col_of(P, pos), "%s", msg.data);
    llmc_buf_free(&msg);
}

/* STRING: validates escapes; the token spans the quotes. Only the first problem in a
 * string is reported. */
static TokKind lex_string(Parser *P) {
    size_t open = P->pos++;
    bool bad = false;
    for (;;) {
        int c = at(P, P->pos);
        if (c < 0 || c == '\n') {
            if (!bad) lex_error(P, open, "unterminated string: expected '\"' before the end of the line");
            return TK_ERROR;
        }
        if (c == '"') {
            P->pos++;
            return bad ? TK_ERROR : TK_STRING;
        }
        if (c == 0) {
            if (!bad) lex_error(P, P->pos, "NUL byte inside a string");
            bad = true;
            P->pos++;
            continue;
        }
        if (c != '\\') {
            P->pos++;
            continue;
        }
        size_t esc = P->pos++;
        int e = at(P, P->pos);
        if (e == '"' || e == '\\' || e == 'n' || e == 't') {
            P->pos++;
        } else if (e == 'x' && is_hex(at(P, P->pos + 1)) && is_hex(at(P, P->pos + 2))) {
            if (hex_val(at(P, P->pos + 1)) == 0 && hex_val(at(P, P->pos + 2)) == 0 && !bad) {
                lex_error(P, esc, "'\\x00' is not allowed in a string");
                bad = true;
            }
            P->pos += 3;
        } else if (e >= 0 && e != '\n') {
            if (!bad) {
                if (e == 'x')
                    lex_error(P, esc, "'\\x' needs two hex digits");
                else if (e >= 0x20 && e < 0x7f)
                    lex_error(P, esc, "unknown escape '\\%c' in a string; use \\\" \\\\ \\n \\t or \\xHH", e);
                else
                    lex_error(P, esc, "unknown escape in a string; use \\\" \\\\ \\n \\t or \\xHH");
            }
            bad = true;
            P->pos++;
        }
    }
}

/* NUMBER or INT: scans the whole run of number-like bytes, then validates it, so
 * "12ab" or "1.2.3" is one bad token rather than several confusing ones. */
static TokKind lex_number(Parser *P) {
    size_t start = P->pos;
    if (at(P, P->pos) == '-') P->pos++;
    size_t body = P->pos;
    for (;;) {
        int c = at(P, P->pos);
        bool exp_sign = (c == '+' || c == '-') && P->pos > body && is_digit(at(P, body)) &&
                        (P->text[P->pos - 1] == 'e' || P->text[P->pos - 1] == 'E');
        if (c >= 0 && (is_name_char(c) || exp_sign))
            P->pos++;
        else
            break;
    }
    /* nan:0xBITS carries its bit pattern after a colon. */
    if (P->pos - body == 3 && memcmp(P->text + body, "nan", 3) == 0 && at(P, P->pos) == ':' &&
        at(P, P->pos + 1) == '0' && at(P, P->pos + 2) == 'x') {
        P->pos += 3;
        while (P->pos < P->len && is_name_char(at(P, P->pos))) P->pos++;
    }
    size_t n = P->pos - start;
    bool is_int = P->pos > body;
    for (size_t i = body; i < P->pos && is_int; i++) is_int = is_digit(P->text[i]);
    if (is_int) return TK_INT;
    double ignored;
    if (ir_parse_f64(P->text + start, n, &ignored) == IR_FLOAT_SYNTAX) {
        Token t = {TK_ERROR, start, n, P->line, col_of(P, start)};
        char buf[DESCRIBE_MAX];
        lex_error(P, start, "invalid number %s", describe(P, &t, buf, sizeof buf));
        return TK_ERROR;
    }
    return TK_FLOAT;
}

/* VALUE := '%' [A-Za-z0-9_.]+ */
static TokKind lex_value(Parser *P) {
    size_t start = P->pos++;
    while (P->pos < P->len && is_name_char(at(P, P->pos))) P->pos++;
    if (P->pos == start + 1) {
        lex_error(P, start, "expected a value name after '%%'");
        return TK_ERROR;
    }
    return TK_VALUE;
}

static TokKind lex_other(Parser *P) {
    int c = at(P, P->pos);
    if (c == '\n') {
        P->pos++;
        P->line++;
        P->line_start = P->pos;
        return TK_NEWLINE;
    }
    if (c == '"') return lex_string(P);
    if (c == '%') return lex_value(P);
    if (c == '-' || is_digit(c)) return lex_number(P);
    if (c == '@') {
        P->pos++;
        if (!is_name_char(at(P, P->pos))) return TK_PUNCT;
        while (P->pos < P->len && is_name_char(at(P, P->pos))) P->pos++;
        return TK_GNAME;
    }
    if (is_alpha(c)) {
        size_t start = P->pos;
        while (P->pos < P->len && is_ident_char(at(P, P->pos))) P->pos++;
        size_t n = P->pos - start;
        if (n == 3 && (memcmp(P->text + start, "inf", 3) == 0 || memcmp(P->text + start, "nan", 3) == 0)) {
            P->pos = start;
            return lex_number(P);
        }
        return TK_IDENT;
    }
    if (c != 0 && strchr("(){}[],=:#", c)) {
        P->pos++;
        return TK_PUNCT;
    }
    if (c >= 0x20 && c < 0x7f)
        lex_error(P, P->pos, "unexpected character '%c'", c);
    else
        lex_error(P, P->pos, "unexpected byte 0x%02x", (unsigned)c);
    P->pos++;
    return TK_ERROR;
}

/* Reads the next token into P->tok. An end of line or of input is placed right after
 * the previous token, not after a trailing comment, for "expected X, found end of line". */
static void next(Parser *P) {
    uint32_t prev_end = col_of(P, P->pos);
    skip_blanks(P);
    Token t = {TK_EOF, P->pos, 0, P->line, col_of(P, P->pos)};
    if (P->pos < P->len) t.kind = lex_other(P);
    if (t.kind == TK_EOF || t.kind == TK_NEWLINE) t.col = prev_end;
    t.len = P->pos - t.start;
    P->tok = t;
}

/* After '#': a bare scope run if one follows, else an ordinary token. */
static void next_scope(Parser *P) {
    skip_blanks(P);
    int c = at(P, P->pos);
    if (c < 0 || !is_scope_char(c)) {
        next(P);
        return;
    }
    Token t = {TK_SCOPE, P->pos, 0, P->line, col_of(P, P->pos)};
    while (P->pos < P->len && is_scope_char(at(P, P->pos)) && !(at(P, P->pos) == '/' && at(P, P->pos + 1) == '/'))
        P->pos++;
    t.len = P->pos - t.start;
    P->tok = t;
}

/* --- raw line skipping for recovery (no lexing, so no further lexer errors) ---------- */

/* Moves the cursor past the next newline; false at the end of the text. */
static bool raw_next_line(Parser *P) {
    while (P->pos < P->len && P->text[P->pos] != '\n') P->pos++;
    if (P->pos >= P->len) return false;
    P->pos++;
    P->line++;
    P->line_start = P->pos;
    return true;
}

/* Recovery inside a line: drops the rest of it; the current token becomes its NEWLINE. */
static void skip_line(Parser *P) {
    if (P->tok.kind == TK_NEWLINE || P->tok.kind == TK_EOF) return;
    while (P->pos < P->len && P->text[P->pos] != '\n') P->pos++;
    next(P);
}

static size_t skip_raw_blanks(const Parser *P, size_t p) {
    while (p < P->len && (P->text[p] == ' ' || P->text[p] == '\t' || P->text[p] == '\r')) p++;
    return p;
}

static bool raw_keyword_at(const Parser *P, size_t p, const char *kw) {
    size_t n = strlen(kw);
    return p + n <= P->len && memcmp(P->text + p, kw, n) == 0 && !is_ident_char(at(P, p + n));
}

/* Recovery from a broken graph header: on to the next line that starts with 'graph'. */
static void skip_to_graph(Parser *P) {
    if (P->tok.kind == TK_EOF) return;
    if (P->tok.kind != TK_NEWLINE && !raw_next_line(P)) {
        next(P);
        return;
    }
    for (;;) {
        size_t p = skip_raw_blanks(P, P->pos);
        if (raw_keyword_at(P, p, "graph")) {
            P->pos = p;
            next(P);
            return;
        }
        if (!raw_next_line(P)) {
            next(P);
            return;
        }
    }
}

/* For a name used before it exists: the line of a later definition in this graph, or 0.
 * Scans raw lines up to the graph's closing '}' or the next 'graph'. */
static uint32_t find_later_definition(const Parser *P, const char *name, size_t n) {
    size_t p = P->pos;
    uint32_t line = P->line;
    for (;;) {
        while (p < P->len && P->text[p] != '\n') p++;
        if (p >= P->len) return 0;
        p++;
        line++;
        size_t q = skip_raw_blanks(P, p);
        if (at(P, q) == '}' || raw_keyword_at(P, q, "graph")) return 0;
        if (at(P, q) != '%') continue;
        size_t s = ++q;
        while (q < P->len && is_name_char(at(P, q))) q++;
        if (q - s == n && memcmp(P->text + s, name, n) == 0 && at(P, skip_raw_blanks(P, q)) == '=') return line;
    }
}

/* --- token helpers ------------------------------------------------------------------- */

static bool tok_punct(const Parser *P, char c) { return P->tok.kind == TK_PUNCT && P->text[P->tok.start] == c; }

static bool tok_keyword(const Parser *P, const char *kw) {
    return P->tok.kind == TK_IDENT && P->tok.len == strlen(kw) && memcmp(P->text + P->tok.start, kw, P->tok.len) == 0;
}

static bool tok_at_eol(const Parser *P) { return P->tok.kind == TK_NEWLINE || P->tok.kind == TK_EOF; }

/* "expected WHAT, found X" at the current token; silent on a token the lexer already
 * reported. Always returns false, for `return expected(...)`. */
static bool expected(Parser *P, const char *what) {
    if (P->tok.kind == TK_ERROR) return false;
    char buf[DESCRIBE_MAX];
    error_at(P, P->tok.line, P->tok.col, "expected %s, found %s", what, describe(P, &P->tok, buf, sizeof buf));
    return false;
}

static bool expect_punct(Parser *P, char c, const char *context) {
    if (tok_punct(P, c)) {
        next(P);
        return true;
    }
    char what[96];
    snprintf(what, sizeof what, "'%c' %s", c, context);
    return expected(P, what);
}

/* INT token to int64, with overflow checked. */
static bool tok_int64(Parser *P, const Token *t, int64_t *out) {
    const char *s = P->text + t->start;
    size_t i = 0;
    bool neg = s[0] == '-';
    if (neg) i++;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, v = 0;
    for (; i < t->len; i++) {
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (limit - d) / 10) {
            char buf[DESCRIBE_MAX];
            error_at(P, t->line, t->col, "integer %s is out of range", describe(P, t, buf, sizeof buf));
            return false;
        }
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    if (neg && v == (uint64_t)INT64_MAX + 1) *out = INT64_MIN;
    return true;
}

/* An INT in [lo, hi] from the current token, consumed; `noun` names it in messages. */
static bool parse_int_in(Parser *P, const char *noun, int64_t lo, int64_t hi, int64_t *out) {
    char what[64];
    snprintf(what, sizeof what, "a %s", noun);
    if (P->tok.kind != TK_INT) return expected(P, what);
    Token t = P->tok;
    if (!tok_int64(P, &t, out)) return false;
    if (*out < lo || *out > hi) {
        char buf[DESCRIBE_MAX];
        error_at(P, t.line, t.col, "%s %s is out of range [%lld, %lld]", noun, describe(P, &t, buf, sizeof buf),
                 (long long)lo, (long long)hi);
        return false;
    }
    next(P);
    return true;
}

/* The bytes of a validated STRING token, escapes decoded, into P->str (NUL-terminated). */
static const char *string_value(Parser *P, const Token *t) {
    P->str.len = 0;
    llmc_buf_put(&P->str, "", 0);
    const char *s = P->text + t->start + 1;
    size_t n = t->len - 2;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\') {
            char e = s[++i];
            if (e == 'n') c = '\n';
            else if (e == 't') c = '\t';
            else if (e == 'x') {
                c = (char)(hex_val((unsigned char)s[i + 1]) * 16 + hex_val((unsigned char)s[i + 2]));
                i += 2;
            } else c = e;
        }
        llmc_buf_putc(&P->str, c);
    }
    return P->str.data;
}

/* --- graphs and values --------------------------------------------------------------- */

static uint32_t edit_distance(const char *a, size_t na, const char *b) {
    size_t nb = strlen(b);
    uint32_t row[64];
    if (nb >= 64) return UINT32_MAX;
    for (size_t j = 0; j <= nb; j++) row[j] = (uint32_t)j;
    for (size_t i = 1; i <= na; i++) {
        uint32_t diag = row[0];
        row[0] = (uint32_t)i;
        for (size_t j = 1; j <= nb; j++) {
            uint32_t up = row[j];
            uint32_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

/* The closest op name within a small edit distance, or NULL. */
static const char *suggest_op(const char *s, size_t n) {
    if (n > 32) return NULL;
    uint32_t limit = n <= 3 ? 1 : 2, best = limit + 1;
    const char *found = NULL;
    for (int op = 1; op < IR_OP_COUNT; op++) {
        uint32_t d = edit_distance(s, n, ir_op_name((IrOp)op));
        if (d < best) {
            best = d;
            found = ir_op_name((IrOp)op);
        }
    }
    return found;
}

/* VALUE to node id, or an error for a name that is undefined or defined only later. */
static bool resolve_value(Parser *P, const Token *t, IrId *out) {
    const char *name = P->text + t->start + 1;
    size_t n = t->len - 1;
    NameEntry *e = names_find(&P->values, name, n);
    if (e) {
        *out = e->id; /* IR_ID_NONE for a broken definition: the graph is dropped anyway */
        return true;
    }
    uint32_t later = find_later_definition(P, name, n);
    if (later)
        error_at(P, t->line, t->col, "%%%.*s is used before its definition on line %u", (int)n, name, later);
    else
        error_at(P, t->line, t->col, "undefined value %%%.*s", (int)n, name);
    return false;
}

static void record_pos(Parser *P, IrId id, const Token *t) {
    if (id >= P->cap_pos) {
        P->cap_pos = P->cap_pos ? P->cap_pos * 2 : 64;
        P->node_pos = llmc_xrealloc(P->node_pos, P->cap_pos * sizeof *P->node_pos);
    }
    P->node_pos[id] = (IrTextPos){t->line, t->col};
}

static void push_operand(Parser *P, uint32_t n, IrId id) {
    if (n >= P->cap_ops) {
        P->cap_ops = P->cap_ops ? P->cap_ops * 2 : 16;
        P->ops = llmc_xrealloc(P->ops, P->cap_ops * sizeof *P->ops);
    }
    P->ops[n] = id;
}

static void push_data(Parser *P) {
    if (P->n_data >= P->cap_data) {
        P->cap_data = P->cap_data ? P->cap_data * 2 : 64;
        P->data = llmc_xrealloc(P->data, P->cap_data * sizeof *P->data);
    }
    P->data[P->n_data++] = P->tok;
}

/* --- attributes and the train record -------------------------------------------------
 * Op attributes and the fields of the training-config record are both `name=value`
 * lists described by an IrAttrSchema, so one code path reads them: a FieldSet names the
 * schema, the base its offsets are relative to (an IrAttrs or an IrTrainConfig), and
 * how messages call the owner ("reduce_sum", "train") and its entries ("attribute",
 * "field"). */

typedef struct FieldSet {
    const IrAttrSchema *schema;
    void *base;
    const char *owner;  /* "reduce_sum", "train" */
    const char *noun;   /* "attribute", "field"; plural adds an 's' */
    const char *a_noun; /* "an attribute", "a field" */
} FieldSet;

static FieldSet op_fields(IrOp op, IrAttrs *a) {
    return (FieldSet){ir_op_info(op)->attrs, a, ir_op_name(op), "attribute", "an attribute"};
}

static const IrAttrField *find_field(const IrAttrSchema *s, const char *name, size_t n, uint32_t *index) {
    for (uint32_t i = 0; i < s->count; i++)
        if (strlen(s->fields[i].name) == n && memcmp(s->fields[i].name, name, n) == 0) {
            *index = i;
            return &s->fields[i];
        }
    return NULL;
}

static void field_names(const IrAttrSchema *s, char *buf, size_t n) {
    size_t used = 0;
    buf[0] = 0;
    for (uint32_t i = 0; i < s->count && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%s", i ? ", " : "", s->fields[i].name);
}

static bool kind_error(Parser *P, const FieldSet *fs, const IrAttrField *f, const char *want) {
    char what[256];
    snprintf(what, sizeof what, "%s for %s '%s' of %s", want, fs->noun, f->name, fs->owner);
    return expected(P, what);
}

static bool float_error(Parser *P, const Token *t, IrFloatParse r, IrDtype dt) {
    char buf[DESCRIBE_MAX];
    const char *d = ir_dtype_name(dt);
    switch (r) {
    case IR_FLOAT_OK: return true;
    case IR_FLOAT_SYNTAX: error_at(P, t->line, t->col, "invalid number %s", describe(P, t, buf, sizeof buf)); break;
    case IR_FLOAT_RANGE:
        error_at(P, t->line, t->col, "value %s is out of range for %s", describe(P, t, buf, sizeof buf), d);
        break;
    case IR_FLOAT_NAN_BITS:
        error_at(P, t->line, t->col, "%s is not a NaN of type %s: write nan:0x and the %d hex digits of a NaN",
                 describe(P, t, buf, sizeof buf), d, dt == IR_DTYPE_F64 ? 16 : 8);
        break;
    }
    return false;
}

/* avalue for an ENUM field: IDENT naming one of the field's values */
static bool parse_enum_value(Parser *P, const FieldSet *fs, const IrAttrField *f, int *out) {
    for (int i = 0; P->tok.kind == TK_IDENT && f->enum_names[i]; i++)
        if (f->enum_names[i][0] && strlen(f->enum_names[i]) == P->tok.len &&
            memcmp(f->enum_names[i], P->text + P->tok.start, P->tok.len) == 0) {
            *out = i;
            next(P);
            return true;
        }
    char names[160];
    size_t used = 0;
    names[0] = 0;
    for (int i = 0; f->enum_names[i] && used < sizeof names; i++)
        if (f->enum_names[i][0])
            used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", used ? ", " : "", f->enum_names[i]);
    char want[200];
    snprintf(want, sizeof want, "one of %s", names);
    return kind_error(P, fs, f, want);
}

/* avalue for an INTS field: '[' [ INT { ',' INT } ] ']' */
static bool parse_ints_value(Parser *P, const FieldSet *fs, const IrAttrField *f, IrInts *out) {
    if (!tok_punct(P, '[')) return kind_error(P, fs, f, "a list of integers '[...]'");
    next(P);
    out->n = 0;
    if (tok_punct(P, ']')) {
        next(P);
        return true;
    }
    for (;;) {
        if (P->tok.kind != TK_INT) return expected(P, "an integer in the list");
        if (out->n == IR_MAX_RANK) {
            error_at(P, P->tok.line, P->tok.col, "%s '%s' has more than %d entries", fs->noun, f->name, IR_MAX_RANK);
            return false;
        }
        Token t = P->tok;
        if (!tok_int64(P, &t, &out->v[out->n])) return false;
        out->n++;
        next(P);
        if (tok_punct(P, ']')) {
            next(P);
            return true;
        }
        if (!expect_punct(P, ',', "or ']' in the list")) return false;
    }
}

static bool is_number(const Parser *P) { return P->tok.kind == TK_INT || P->tok.kind == TK_FLOAT; }

/* avalue for a FLOAT field: NUMBER (an INT too), read as a double, correctly rounded */
static bool parse_float_value(Parser *P, const FieldSet *fs, const IrAttrField *f, double *out) {
    if (!is_number(P)) return kind_error(P, fs, f, "a number");
    Token t = P->tok;
    if (!float_error(P, &t, ir_parse_f64(P->text + t.start, t.len, out), IR_DTYPE_F64)) return false;
    next(P);
    return true;
}

/* avalue for DATA: NUMBER | '[' [ NUMBER { ',' NUMBER } ] ']'; kept as tokens until the
 * node's dtype is known (see parse_node_line) */
static bool parse_data_value(Parser *P, const FieldSet *fs, const IrAttrField *f) {
    P->n_data = 0;
    P->has_data = true;
    P->data_offset = f->offset;
    if (is_number(P)) {
        push_data(P);
        next(P);
        return true;
    }
    if (!tok_punct(P, '[')) return kind_error(P, fs, f, "a number or a list of numbers");
    next(P);
    if (tok_punct(P, ']')) {
        next(P);
        return true;
    }
    for (;;) {
        if (!is_number(P)) return expected(P, "a number in the list");
        push_data(P);
        next(P);
        if (tok_punct(P, ']')) {
            next(P);
            return true;
        }
        if (!expect_punct(P, ',', "or ']' in the list")) return false;
    }
}

/* avalue := INT | 'true' | 'false' | IDENT | STRING | NUMBER | '[' ... ']'
 * which of them is chosen by the field's kind; the value lands in the field. */
static bool parse_field_value(Parser *P, const FieldSet *fs, const IrAttrField *f) {
    void *p = (char *)fs->base + f->offset;
    switch (f->kind) {
    case IR_ATTR_INT: {
        if (P->tok.kind != TK_INT) return kind_error(P, fs, f, "an integer");
        Token t = P->tok;
        if (!tok_int64(P, &t, p)) return false;
        next(P);
        return true;
    }
    case IR_ATTR_BOOL:
        if (!tok_keyword(P, "true") && !tok_keyword(P, "false")) return kind_error(P, fs, f, "true or false");
        *(bool *)p = tok_keyword(P, "true");
        next(P);
        return true;
    case IR_ATTR_ENUM: return parse_enum_value(P, fs, f, p);
    case IR_ATTR_INTS: return parse_ints_value(P, fs, f, p);
    case IR_ATTR_STRING:
        if (P->tok.kind != TK_STRING) return kind_error(P, fs, f, "a string");
        *(uint32_t *)p = ir_graph_intern(P->g, string_value(P, &P->tok));
        next(P);
        return true;
    case IR_ATTR_DATA: return parse_data_value(P, fs, f);
    case IR_ATTR_FLOAT: return parse_float_value(P, fs, f, p);
    case IR_ATTR_INVALID:
    case IR_ATTR_COUNT: break;
    }
    return kind_error(P, fs, f, "a value");
}

/* attrs := '{' [ attr { ',' attr } ] '}'
 * attr  := IDENT '=' avalue
 * The current token is the '{'. Each field read sets its bit in *seen. */
static bool parse_fields(Parser *P, const FieldSet *fs, uint32_t *seen) {
    const IrAttrSchema *s = fs->schema;
    LLMC_ASSERT(s->count <= 32);
    next(P);
    if (tok_punct(P, '}')) {
        next(P);
        return true;
    }
    for (;;) {
        char what[64];
        snprintf(what, sizeof what, "%s name", fs->a_noun);
        if (P->tok.kind != TK_IDENT) return expected(P, what);
        uint32_t index = 0;
        const IrAttrField *f = find_field(s, P->text + P->tok.start, P->tok.len, &index);
        char buf[DESCRIBE_MAX];
        if (!f) {
            char names[512];
            field_names(s, names, sizeof names);
            if (s->count)
                error_at(P, P->tok.line, P->tok.col, "unknown %s %s for %s; valid: %s", fs->noun,
                         describe(P, &P->tok, buf, sizeof buf), fs->owner, names);
            else
                error_at(P, P->tok.line, P->tok.col, "%s takes no %ss, found %s", fs->owner, fs->noun,
                         describe(P, &P->tok, buf, sizeof buf));
            return false;
        }
        if (*seen & (1u << index)) {
            error_at(P, P->tok.line, P->tok.col, "duplicate %s '%s'", fs->noun, f->name);
            return false;
        }
        *seen |= 1u << index;
        next(P);
        snprintf(what, sizeof what, "after the %s name", fs->noun);
        if (!expect_punct(P, '=', what)) return false;
        if (!parse_field_value(P, fs, f)) return false;
        if (tok_punct(P, '}')) {
            next(P);
            return true;
        }
        snprintf(what, sizeof what, "or '}' after %s", fs->a_noun);
        if (!expect_punct(P, ',', what)) return false;
    }
}

/* Every required field must have been read; one message names all that are missing. */
static bool check_required(Parser *P, const FieldSet *fs, uint32_t seen, const Token *at_tok) {
    const IrAttrSchema *s = fs->schema;
    char missing[512];
    size_t used = 0;
    uint32_t count = 0;
    missing[0] = 0;
    for (uint32_t i = 0; i < s->count; i++)
        if (s->fields[i].required && !(seen & (1u << i)) && used < sizeof missing) {
            used += (size_t)snprintf(missing + used, sizeof missing - used, "%s'%s'", count ? ", " : "",
                                     s->fields[i].name);
            count++;
        }
    if (!count) return true;
    error_at(P, at_tok->line, at_tok->col, "%s is missing required %s%s %s", fs->owner, fs->noun,
             count == 1 ? "" : "s", missing);
    return false;
}

/* --- constants ----------------------------------------------------------------------- */

/* bf16 keeps the top half of an f32. A value that is already a bf16 (the printer only
 * writes those) is kept bit for bit, signalling NaNs included; other NaNs are quieted. */
static uint16_t bf16_from_f32(float f) {
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    if ((bits & 0xffffu) == 0) return (uint16_t)(bits >> 16);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits | 0x00400000u) >> 16);
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return (uint16_t)(bits >> 16);
}

static bool convert_element(Parser *P, const Token *t, IrDtype dt, void *bytes, uint32_t i) {
    const char *s = P->text + t->start;
    IrFloatParse r = IR_FLOAT_OK;
    switch (dt) {
    case IR_DTYPE_F32: r = ir_parse_f32(s, t->len, &((float *)bytes)[i]); break;
    case IR_DTYPE_F64: r = ir_parse_f64(s, t->len, &((double *)bytes)[i]); break;
    case IR_DTYPE_BF16: {
        /* A decimal rounds once, from its double (ir_round_bf16; through f32 it would
         * round twice); a finite one past the bf16 range is out of range, as for f32.
         * What f64 does not take is an f32 NaN pattern ("nan:0x" + 8 digits, which the
         * printer writes for a bf16 NaN): its top half is kept. */
        double d = 0;
        r = ir_parse_f64(s, t->len, &d);
        if (r == IR_FLOAT_OK) {
            if (isfinite(d) && isinf(ir_round_bf16(d))) r = IR_FLOAT_RANGE;
            ((uint16_t *)bytes)[i] = ir_bf16_from_double(d);
            break;
        }
        float f = 0;
        r = ir_parse_f32(s, t->len, &f);
        ((uint16_t *)bytes)[i] = bf16_from_f32(f);
        break;
    }
    case IR_DTYPE_I32: {
        char buf[DESCRIBE_MAX];
        int64_t v;
        if (t->kind != TK_INT) {
            error_at(P, t->line, t->col, "expected an integer for an i32 constant, found %s",
                     describe(P, t, buf, sizeof buf));
            return false;
        }
        if (!tok_int64(P, t, &v)) return false;
        if (v < INT32_MIN || v > INT32_MAX) {
            error_at(P, t->line, t->col, "value %s is out of range for i32", describe(P, t, buf, sizeof buf));
            return false;
        }
        ((int32_t *)bytes)[i] = (int32_t)v;
        return true;
    }
    case IR_DTYPE_INVALID:
    case IR_DTYPE_COUNT: return false;
    }
    return float_error(P, t, r, dt);
}

/* The kept value tokens, converted to the node's dtype into the graph arena. */
static bool convert_data(Parser *P, IrDtype dt, IrData *d) {
    d->count = P->n_data;
    d->bytes = NULL;
    if (!P->n_data) return true; /* the verifier reports the missing values */
    d->bytes = llmc_arena_alloc(&P->g->arena, (size_t)P->n_data * ir_dtype_size(dt));
    bool ok = true;
    for (uint32_t i = 0; i < P->n_data && ok; i++) ok = convert_element(P, &P->data[i], dt, d->bytes, i);
    return ok;
}

/* --- node lines ---------------------------------------------------------------------- */

/* type := DTYPE '[' [ INT { ',' INT } ] ']' */
static bool parse_type(Parser *P, IrType *t) {
    memset(t, 0, sizeof *t);
    if (P->tok.kind != TK_IDENT) return expected(P, "a type such as f32[2,3]");
    Token dt = P->tok;
    t->dtype = ir_dtype_from_name(P->text + dt.start, dt.len);
    if (t->dtype == IR_DTYPE_INVALID) {
        char buf[DESCRIBE_MAX];
        error_at(P, dt.line, dt.col, "unknown dtype %s; expected f32, f64, i32 or bf16", describe(P, &dt, buf, sizeof buf));
        return false;
    }
    next(P);
    if (!expect_punct(P, '[', "after the dtype")) return false;
    int64_t numel = 1;
    if (tok_punct(P, ']')) {
        next(P);
        return true;
    }
    for (;;) {
        if (P->tok.kind == TK_INT && t->rank == IR_MAX_RANK) {
            error_at(P, P->tok.line, P->tok.col, "rank exceeds %d: a type has at most %d dimensions", IR_MAX_RANK,
                     IR_MAX_RANK);
            return false;
        }
        int64_t d;
        if (!parse_int_in(P, "dimension", 1, MAX_NUMEL, &d)) return false;
        if (numel > MAX_NUMEL / d) {
            error_at(P, dt.line, dt.col, "type has more than 2^40 elements");
            return false;
        }
        numel *= d;
        t->dims[t->rank++] = d;
        if (tok_punct(P, ']')) {
            next(P);
            return true;
        }
        if (!expect_punct(P, ',', "or ']' in the type")) return false;
    }
}

/* provenance := '#' [ SCOPE | STRING ] [ '@' STRING ':' INT ':' INT ] */
static bool parse_provenance(Parser *P, IrNode *n) {
    next_scope(P);
    if (P->tok.kind == TK_SCOPE) {
        n->scope = ir_graph_intern_n(P->g, P->text + P->tok.start, P->tok.len);
        next(P);
    } else if (P->tok.kind == TK_STRING) {
        n->scope = ir_graph_intern(P->g, string_value(P, &P->tok));
        next(P);
    } else if (!tok_punct(P, '@') && !tok_at_eol(P)) {
        return expected(P, "a scope or '@ \"file\":line:col' after '#'");
    }
    if (!tok_punct(P, '@')) return true;
    next(P);
    if (P->tok.kind != TK_STRING) return expected(P, "a file name string after '@'");
    n->loc.file = ir_graph_intern(P->g, string_value(P, &P->tok));
    next(P);
    int64_t line, col;
    if (!expect_punct(P, ':', "after the file name")) return false;
    if (!parse_int_in(P, "line number", 0, UINT32_MAX, &line)) return false;
    if (!expect_punct(P, ':', "after the line number")) return false;
    if (!parse_int_in(P, "column number", 0, UINT32_MAX, &col)) return false;
    n->loc.line = (uint32_t)line;
    n->loc.col = (uint32_t)col;
    return true;
}

/* '(' [ VALUE { ',' VALUE } ] ')' — the operand list, into P->ops */
static bool parse_operands(Parser *P, uint32_t *count) {
    if (!expect_punct(P, '(', "after the op name")) return false;
    *count = 0;
    if (tok_punct(P, ')')) {
        next(P);
        return true;
    }
    for (;;) {
        if (P->tok.kind != TK_VALUE) return expected(P, "an operand ('%name')");
        IrId id;
        if (!resolve_value(P, &P->tok, &id)) return false;
        push_operand(P, (*count)++, id);
        next(P);
        if (tok_punct(P, ')')) {
            next(P);
            return true;
        }
        if (!expect_punct(P, ',', "or ')' in the operand list")) return false;
    }
}

static bool check_arity(Parser *P, IrOp op, uint32_t count, const Token *op_tok) {
    int arity = ir_op_info(op)->arity;
    if (arity < 0 || count == (uint32_t)arity) return true;
    error_at(P, op_tok->line, op_tok->col, "%s expects %d operand%s, found %u", ir_op_name(op), arity,
             arity == 1 ? "" : "s", count);
    return false;
}

/* OPNAME := IDENT naming a row of ops.def */
static bool parse_op_name(Parser *P, IrOp *op) {
    if (P->tok.kind != TK_IDENT) return expected(P, "an op name");
    const char *s = P->text + P->tok.start;
    *op = ir_op_from_name(s, P->tok.len);
    if (*op != IR_OP_INVALID) {
        next(P);
        return true;
    }
    char buf[DESCRIBE_MAX];
    const char *guess = suggest_op(s, P->tok.len);
    if (guess)
        error_at(P, P->tok.line, P->tok.col, "unknown op %s; did you mean '%s'?", describe(P, &P->tok, buf, sizeof buf),
                 guess);
    else
        error_at(P, P->tok.line, P->tok.col, "unknown op %s", describe(P, &P->tok, buf, sizeof buf));
    return false;
}

/* node := VALUE '=' OPNAME '(' [ VALUE { ',' VALUE } ] ')' [ attrs ] ':' type [ provenance ] */
static bool parse_node_line(Parser *P, const Token *def) {
    IrNode n;
    memset(&n, 0, sizeof n);
    next(P);
    if (!expect_punct(P, '=', "after the value name")) return false;
    Token op_tok = P->tok;
    if (!parse_op_name(P, &n.op)) return false;
    if (!parse_operands(P, &n.n_operands)) return false;
    if (!check_arity(P, n.op, n.n_operands, &op_tok)) return false;
    ir_attrs_init_defaults(n.op, &n.attrs);
    FieldSet fs = op_fields(n.op, &n.attrs);
    uint32_t seen = 0;
    P->has_data = false;
    if (tok_punct(P, '{') && !parse_fields(P, &fs, &seen)) return false;
    if (!check_required(P, &fs, seen, &op_tok)) return false;
    if (!expect_punct(P, ':', "before the type")) return false;
    if (!parse_type(P, &n.type)) return false;
    if (P->has_data && !convert_data(P, n.type.dtype, (IrData *)((char *)&n.attrs + P->data_offset))) return false;
    if (tok_punct(P, '#') && !parse_provenance(P, &n)) return false;
    if (!tok_at_eol(P)) return expected(P, "the end of the line after the node");
    n.operands = P->ops;
    IrId id = ir_graph_add_node(P->g, &n);
    record_pos(P, id, def);
    names_add(&P->values, P->text + def->start + 1, def->len - 1, id, def->line);
    return true;
}

/* node := VALUE '=' ...  (the rest in parse_node_line)
 * The name is defined even when the line is broken, so later uses of it do not add
 * errors that only repeat this one. */
static bool parse_node(Parser *P) {
    Token def = P->tok;
    const char *name = P->text + def.start + 1;
    size_t n = def.len - 1;
    NameEntry *prev = names_find(&P->values, name, n);
    if (prev) {
        error_at(P, def.line, def.col, "redefinition of %%%.*s (first defined on line %u)", (int)n, name, prev->line);
        return false;
    }
    if (parse_node_line(P, &def)) return true;
    if (!names_find(&P->values, name, n)) names_add(&P->values, name, n, IR_ID_NONE, def.line);
    return false;
}

/* output := 'output' STRING '=' VALUE */
static bool parse_output(Parser *P) {
    next(P);
    if (P->tok.kind != TK_STRING) return expected(P, "the output name as a string");
    Token name_tok = P->tok;
    uint32_t name = ir_graph_intern(P->g, string_value(P, &name_tok));
    next(P);
    if (!expect_punct(P, '=', "after the output name")) return false;
    if (P->tok.kind != TK_VALUE) return expected(P, "a value ('%name')");
    IrId id;
    if (!resolve_value(P, &P->tok, &id)) return false;
    next(P);
    if (!tok_at_eol(P)) return expected(P, "the end of the line after the output");
    const char *s = ir_graph_str(P->g, name);
    NameEntry *prev = names_find(&P->outputs, s, strlen(s));
    if (prev) {
        char buf[DESCRIBE_MAX];
        error_at(P, name_tok.line, name_tok.col, "duplicate output name %s (first on line %u)",
                 describe(P, &name_tok, buf, sizeof buf), prev->line);
        return false;
    }
    names_add(&P->outputs, s, strlen(s), id, name_tok.line);
    ir_graph_add_output(P->g, s, id);
    return true;
}

/* --- the training-config record ------------------------------------------------------ */

/* train_record := 'train' attrs       (the fields of ir_train_schema(), all required)
 * Only as the first line of a graph body, at most once. The record starts from
 * ir_train_defaults(); its ranges are judged by the verifier, at this line. */
static bool parse_train(Parser *P, bool first_line) {
    Token kw = P->tok;
    if (P->has_train) {
        error_at(P, kw.line, kw.col, "duplicate train record (first on line %u)", P->train_pos.line);
        return false;
    }
    if (!first_line) {
        error_at(P, kw.line, kw.col, "train record must be the first line of the graph");
        return false;
    }
    P->has_train = true; /* even if broken, so a second record is reported as such */
    P->train_pos = (IrTextPos){kw.line, kw.col};
    next(P);
    IrTrainConfig t;
    ir_train_defaults(&t);
    FieldSet fs = {ir_train_schema(), &t, "train", "field", "a field"};
    uint32_t seen = 0;
    if (!tok_punct(P, '{')) return expected(P, "'{' after 'train'");
    if (!parse_fields(P, &fs, &seen)) return false;
    if (!check_required(P, &fs, seen, &kw)) return false;
    if (!tok_at_eol(P)) return expected(P, "the end of the line after the train record");
    t.present = true;
    P->g->train = t;
    return true;
}

/* --- graphs -------------------------------------------------------------------------- */

/* gname := '@' NAME | '@' STRING ; the decoded name into P->str */
static bool parse_graph_name(Parser *P, Token *name_tok) {
    *name_tok = P->tok;
    if (P->tok.kind == TK_GNAME) {
        P->str.len = 0;
        llmc_buf_put(&P->str, P->text + P->tok.start + 1, P->tok.len - 1);
        next(P);
        return true;
    }
    if (!tok_punct(P, '@')) return expected(P, "a graph name '@name' after 'graph'");
    next(P);
    *name_tok = P->tok;
    if (P->tok.kind != TK_STRING) return expected(P, "a graph name after '@'");
    string_value(P, &P->tok);
    next(P);
    return true;
}

static void graph_begin(Parser *P, const Token *name_tok) {
    const char *name = P->str.data;
    size_t n = P->str.len;
    NameEntry *prev = names_find(&P->graph_names, name, n);
    if (prev) {
        char buf[DESCRIBE_MAX];
        error_at(P, name_tok->line, name_tok->col, "graph %s is already defined on line %u",
                 describe(P, name_tok, buf, sizeof buf), prev->line);
    } else {
        names_add(&P->graph_names, llmc_arena_strndup(&P->keep, name, n), n, 0, name_tok->line);
    }
    P->g = ir_graph_new(name);
    P->g_name = ir_graph_name(P->g);
    P->g_errors_at_start = error_count(P);
    P->has_train = false;
    names_free(&P->values);
    names_free(&P->outputs);
}

/* A clean graph is verified and kept; one with errors is dropped. */
static void graph_end(Parser *P, IrModule *m) {
    bool ok = !P->stop && error_count(P) == P->g_errors_at_start;
    if (ok) ok = ir_verify_text(P->g, P->diags, P->src, P->node_pos, P->has_train ? &P->train_pos : NULL);
    if (!P->stop && error_count(P) >= MAX_ERRORS) {
        llmc_diag_at(P->diags, LLMC_SEV_NOTE, P->src, 0, 0, "too many errors; stopping here");
        P->stop = true;
    }
    if (ok)
        ir_module_add(m, P->g);
    else
        ir_graph_free(P->g);
    P->g = NULL;
}

/* graph_body '}' (NEWLINE | EOF)    — a graph's body and its end
 * graph_body := { NEWLINE } [ train_record NEWLINE ] { line }
 * line       := [ node | output ] NEWLINE */
static void parse_body(Parser *P, const Token *open) {
    bool first_line = true;
    while (!P->stop) {
        bool ok = true;
        if (P->tok.kind == TK_NEWLINE) {
            next(P);
            continue;
        }
        if (P->tok.kind == TK_EOF || tok_keyword(P, "graph")) {
            char what[160];
            snprintf(what, sizeof what, "'}' to close graph @%.64s (opened on line %u)", P->g_name, open->line);
            expected(P, what);
            return;
        }
        if (tok_punct(P, '}')) {
            next(P);
            if (!tok_at_eol(P)) {
                expected(P, "the end of the line after '}'");
                skip_line(P);
            }
            return;
        }
        if (P->tok.kind == TK_VALUE)
            ok = parse_node(P);
        else if (tok_keyword(P, "train"))
            ok = parse_train(P, first_line);
        else if (tok_keyword(P, "output"))
            ok = parse_output(P);
        else
            ok = expected(P, "a node ('%name = op(...)'), 'output' or '}'");
        first_line = false;
        if (!ok) skip_line(P);
    }
}

/* graph := 'graph' gname '{' NEWLINE { line } '}' (NEWLINE | EOF) */
static void parse_graph(Parser *P, IrModule *m) {
    next(P);
    Token name_tok;
    if (!parse_graph_name(P, &name_tok)) {
        skip_to_graph(P);
        return;
    }
    Token open = P->tok;
    if (!expect_punct(P, '{', "after the graph name")) {
        skip_to_graph(P);
        return;
    }
    graph_begin(P, &name_tok);
    if (!tok_at_eol(P)) {
        expected(P, "the end of the line after '{'");
        skip_line(P);
    }
    parse_body(P, &open);
    graph_end(P, m);
}

/* module := { NEWLINE | graph } EOF */
static void parse_module(Parser *P, IrModule *m) {
    next(P);
    while (!P->stop && P->tok.kind != TK_EOF) {
        if (P->tok.kind == TK_NEWLINE)
            next(P);
        else if (tok_keyword(P, "graph"))
            parse_graph(P, m);
        else {
            expected(P, "'graph'");
            skip_to_graph(P);
        }
    }
}

bool ir_parse_module(const LlmcSource *src, IrModule *out, LlmcDiags *diags) {
    Parser P;
    memset(&P, 0, sizeof P);
    P.src = src;
    P.text = src->text ? src->text : "";
    P.len = src->text ? src->len : 0;
    P.line = 1;
    P.diags = diags;
    P.errors_at_start = diags->errors;
    IrModule m = {0};
    parse_module(&P, &m);
    bool ok = error_count(&P) == 0 && !P.stop;
    for (uint32_t i = 0; i < m.n_graphs; i++) {
        if (ok)
            ir_module_add(out, m.graphs[i]);
        else
            ir_graph_free(m.graphs[i]);
    }
    free(m.graphs);
    names_free(&P.values);
    names_free(&P.outputs);
    names_free(&P.graph_names);
    llmc_arena_free(&P.keep);
    free(P.node_pos);
    free(P.ops);
    free(P.data);
    llmc_buf_free(&P.str);
    return ok;
}
