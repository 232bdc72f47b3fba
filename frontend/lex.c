/* frontend/lex.c — the .llm lexer: bytes in, tokens out, one at a time on demand.
 *
 * Tokens (docs/llm.md, "Lexical structure"):
 *
 *   IDENT   := [A-Za-z_][A-Za-z0-9_]*     minus the keywords
 *              model train extern repeat as if else true false and or not div
 *   INT     := digits                      digits := DIGIT { ['_'] DIGIT }
 *   FLOAT   := digits '.' digits [ exp ] | digits exp
 *              exp := ('e' | 'E') ['+' | '-'] digits
 *   STRING  := '"' { any byte but '"' '\\' '\n' NUL | '\"' | '\\' | '\n' | '\t' } '"'
 *   punct   := + - * ** / % == != < <= > >= = ( ) { } , ; [ ] : ->
 *   NEWLINE := a line end outside parentheses
 *
 * Blanks are ' ', '\t' and '\r'. '//' comments run to the end of the line; block
 * comments (slash-star to star-slash) do not nest, and one that spans a line end counts
 * as a line end. Line ends inside '(' ... ')' are dropped, and a run of line ends (blank
 * and comment-only lines) gives one NEWLINE, none at the very end. A '{' or '}' closes
 * any open '(' for this purpose, so an unclosed parenthesis does not swallow the rest
 * of the file.
 *
 * A number is scanned as the whole run of letters, digits, '_' and '.' (plus a sign
 * after an exponent 'e') and then validated, so "12ab" or "1.2.3" is one bad token. INT
 * values are checked against 2^63-1 (a literal has no sign: '-' is an operator); FLOAT
 * values must be finite.
 *
 * Errors are reported where the bad text starts and the lexer carries on: a run of bad
 * characters becomes one ERROR token (which the parser never reports again); a bad
 * string or number still becomes its token; a '#' comment and a 'single-quoted' string
 * are reported and then read as what they were surely meant to be. The lexer is also
 * the diagnostic sink for the parser, which gives one error cap (FE_MAX_ERRORS) for
 * both; once it is reached the lexer returns only EOF, so the parser winds down at once.
 *
 * Not here: the grammar (parse.c). Every read is bounded by the source length: the text
 * need not be NUL-terminated, and any byte sequence is handled.
 */
#include "frontend_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* --- diagnostics --------------------------------------------------------------------- */

uint32_t fe_lex_error_count(const FeLexer *L) { return L->diags->errors - L->errors_at_start; }

void fe_lex_error(FeLexer *L, uint32_t line, uint32_t col, const char *fmt, ...) {
    if (L->stop) return;
    va_list ap;
    va_start(ap, fmt);
    llmc_diag_vat(L->diags, LLMC_SEV_ERROR, L->src, line, col, fmt, ap);
    va_end(ap);
    if (fe_lex_error_count(L) >= FE_MAX_ERRORS) {
        llmc_diag_at(L->diags, LLMC_SEV_NOTE, L->src, line, col, "too many errors; stopping here");
        L->stop = true;
    }
}

void fe_lex_note(FeLexer *L, uint32_t line, uint32_t col, const char *fmt, ...) {
    if (L->stop) return;
    va_list ap;
    va_start(ap, fmt);
    llmc_diag_vat(L->diags, LLMC_SEV_NOTE, L->src, line, col, fmt, ap);
    va_end(ap);
}

/* --- characters ---------------------------------------------------------------------- */

static bool is_digit(int c) { return c >= '0' && c <= '9'; }
static bool is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool is_ident_char(int c) { return is_alpha(c) || is_digit(c); }

/* The byte at i, or -1 past the end. */
static int at(const FeLexer *L, size_t i) { return i < L->len ? (unsigned char)L->text[i] : -1; }

static uint32_t col_of(const FeLexer *L, size_t pos) { return (uint32_t)(pos - L->line_start + 1); }

static void error_at_pos(FeLexer *L, size_t pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void error_at_pos(FeLexer *L, size_t pos, const char *fmt, ...) {
    if (L->stop) return;
    LlmcBuf msg = {0};
    va_list ap;
    va_start(ap, fmt);
    llmc_buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    fe_lex_error(L, L->line, col_of(L, pos), "%s", msg.data);
    llmc_buf_free(&msg);
}

/* Quoted source text for messages: at most 32 bytes, unprintable ones as \xNN. */
static const char *quote_bytes(const char *s, size_t len, char *buf, size_t n) {
    size_t used = 0, shown = len < 32 ? len : 32;
    used += (size_t)snprintf(buf + used, n - used, "'");
    for (size_t i = 0; i < shown && used + 12 < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f)
            used += (size_t)snprintf(buf + used, n - used, "%c", c);
        else
            used += (size_t)snprintf(buf + used, n - used, "\\x%02x", c);
    }
    snprintf(buf + used, n - used, "%s'", shown < len ? "..." : "");
    return buf;
}

const char *fe_tok_describe(const FeLexer *L, const FeToken *t, char *buf, size_t n) {
    if (t->kind == FE_TOK_EOF) return "end of input";
    if (t->kind == FE_TOK_NEWLINE) return "end of line";
    return quote_bytes(L->text + t->start, t->len, buf, n);
}

const char *fe_tok_kind_text(FeTokKind k) {
    switch (k) {
    case FE_TOK_INVALID: return "invalid token";
    case FE_TOK_EOF: return "end of input";
    case FE_TOK_NEWLINE: return "end of line";
    case FE_TOK_IDENT: return "identifier";
    case FE_TOK_INT: return "integer";
    case FE_TOK_FLOAT: return "float";
    case FE_TOK_STRING: return "string";
    case FE_TOK_MODEL: return "model";
    case FE_TOK_TRAIN: return "train";
    case FE_TOK_EXTERN: return "extern";
    case FE_TOK_REPEAT: return "repeat";
    case FE_TOK_AS: return "as";
    case FE_TOK_IF: return "if";
    case FE_TOK_ELSE: return "else";
    case FE_TOK_TRUE: return "true";
    case FE_TOK_FALSE: return "false";
    case FE_TOK_AND: return "and";
    case FE_TOK_OR: return "or";
    case FE_TOK_NOT: return "not";
    case FE_TOK_DIV: return "div";
    case FE_TOK_PLUS: return "+";
    case FE_TOK_MINUS: return "-";
    case FE_TOK_STAR: return "*";
    case FE_TOK_SLASH: return "/";
    case FE_TOK_PERCENT: return "%";
    case FE_TOK_POW: return "**";
    case FE_TOK_EQ: return "==";
    case FE_TOK_NE: return "!=";
    case FE_TOK_LT: return "<";
    case FE_TOK_LE: return "<=";
    case FE_TOK_GT: return ">";
    case FE_TOK_GE: return ">=";
    case FE_TOK_ASSIGN: return "=";
    case FE_TOK_LPAREN: return "(";
    case FE_TOK_RPAREN: return ")";
    case FE_TOK_LBRACE: return "{";
    case FE_TOK_RBRACE: return "}";
    case FE_TOK_COMMA: return ",";
    case FE_TOK_SEMI: return ";";
    case FE_TOK_LBRACKET: return "[";
    case FE_TOK_RBRACKET: return "]";
    case FE_TOK_COLON: return ":";
    case FE_TOK_ARROW: return "->";
    case FE_TOK_ERROR: return "bad character";
    case FE_TOK_COUNT: return "invalid token";
    }
    return "invalid token";
}

/* --- setup --------------------------------------------------------------------------- */

void fe_lexer_init(FeLexer *L, const LlmcSource *src, LlmcArena *arena, LlmcDiags *diags) {
    memset(L, 0, sizeof *L);
    L->src = src;
    L->text = src->text;
    L->len = src->text ? src->len : 0;
    L->line = 1;
    L->last_line = 1;
    L->last_col = 1;
    L->arena = arena;
    L->diags = diags;
    L->errors_at_start = diags->errors;
}

/* --- blanks, line ends, comments ----------------------------------------------------- */

static void new_line(FeLexer *L) {
    L->pos++;
    L->line++;
    L->line_start = L->pos;
    L->pending_newline = true;
}

/* Skips blanks, line ends and comments, noting line ends in pending_newline. */
static void skip_space(FeLexer *L) {
    for (;;) {
        int c = at(L, L->pos);
        if (c == ' ' || c == '\t' || c == '\r') {
            L->pos++;
        } else if (c == '\n') {
            new_line(L);
        } else if (c == '/' && at(L, L->pos + 1) == '/') {
            while (L->pos < L->len && L->text[L->pos] != '\n') L->pos++;
        } else if (c == '#') {
            /* Reported, then taken as the comment it was surely meant to be. */
            error_at_pos(L, L->pos, "unexpected character '#' (comments start with '//')");
            while (L->pos < L->len && L->text[L->pos] != '\n') L->pos++;
        } else if (c == '/' && at(L, L->pos + 1) == '*') {
            uint32_t line = L->line, col = col_of(L, L->pos);
            L->pos += 2;
            for (;;) {
                if (L->pos >= L->len) {
                    fe_lex_error(L, line, col, "unterminated comment: expected '*/' before the end of input");
                    return;
                }
                if (L->text[L->pos] == '*' && at(L, L->pos + 1) == '/') {
                    L->pos += 2;
                    break;
                }
                if (L->text[L->pos] == '\n')
                    new_line(L);
                else
                    L->pos++;
            }
        } else {
            return;
        }
    }
}

/* --- literals ------------------------------------------------------------------------ */

/* digits := DIGIT { ['_'] DIGIT }, within [*i, end). Advances *i; false if malformed. */
static bool scan_digits(const FeLexer *L, size_t *i, size_t end) {
    if (*i >= end || !is_digit(at(L, *i))) return false;
    (*i)++;
    while (*i < end) {
        if (is_digit(at(L, *i))) {
            (*i)++;
        } else if (at(L, *i) == '_' && *i + 1 < end && is_digit(at(L, *i + 1))) {
            *i += 2;
        } else {
            break;
        }
    }
    return true;
}

static void lex_number(FeLexer *L, FeToken *t) {
    size_t start = L->pos;
    bool plain = true; /* digits, '_' and '.' only so far: an 'e' may be an exponent */
    for (;;) {
        int c = at(L, L->pos);
        if (c >= 0 && (is_ident_char(c) || c == '.')) {
            if (c == 'e' || c == 'E') {
                if (plain && (at(L, L->pos + 1) == '+' || at(L, L->pos + 1) == '-')) L->pos++;
                plain = false;
            } else if (!is_digit(c) && c != '_' && c != '.') {
                plain = false;
            }
            L->pos++;
        } else {
            break;
        }
    }
    size_t end = L->pos, i = start;
    bool ok = scan_digits(L, &i, end), is_float = false;
    if (ok && i < end && L->text[i] == '.') {
        i++;
        ok = scan_digits(L, &i, end);
        is_float = true;
    }
    if (ok && i < end && (L->text[i] == 'e' || L->text[i] == 'E')) {
        i++;
        if (i < end && (L->text[i] == '+' || L->text[i] == '-')) i++;
        ok = scan_digits(L, &i, end);
        is_float = true;
    }
    t->len = end - start;
    if (!ok || i != end) {
        char buf[FE_DESCRIBE_MAX];
        error_at_pos(L, start, "invalid number %s", quote_bytes(L->text + start, t->len, buf, sizeof buf));
        t->kind = FE_TOK_ERROR;
        return;
    }
    if (!is_float) {
        t->kind = FE_TOK_INT;
        uint64_t v = 0;
        for (size_t k = start; k < end; k++) {
            if (L->text[k] == '_') continue;
            uint64_t d = (uint64_t)(L->text[k] - '0');
            if (v > ((uint64_t)INT64_MAX - d) / 10) {
                char buf[FE_DESCRIBE_MAX];
                error_at_pos(L, start, "integer %s is too large (the largest is 9223372036854775807)",
                             quote_bytes(L->text + start, t->len, buf, sizeof buf));
                v = 0;
                break;
            }
            v = v * 10 + d;
        }
        t->v.i = (int64_t)v;
        return;
    }
    t->kind = FE_TOK_FLOAT;
    LlmcBuf b = {0};
    for (size_t k = start; k < end; k++)
        if (L->text[k] != '_') llmc_buf_putc(&b, L->text[k]);
    t->v.f = strtod(b.data, NULL); /* validated above; correctly rounded */
    llmc_buf_free(&b);
    if (isinf(t->v.f)) {
        char buf[FE_DESCRIBE_MAX];
        error_at_pos(L, start, "number %s is too large for a float",
                     quote_bytes(L->text + start, t->len, buf, sizeof buf));
    }
}

/* STRING, on one line. Only the first problem of a string is reported. A string in
 * single quotes is reported and then read like one in double quotes. */
static void lex_string(FeLexer *L, FeToken *t) {
    size_t open = L->pos++;
    char quote = L->text[open];
    bool bad = quote != '"';
    if (bad) error_at_pos(L, open, "unexpected character '\'' (strings use double quotes)");
    LlmcBuf b = {0};
    llmc_buf_put(&b, "", 0);
    for (;;) {
        int c = at(L, L->pos);
        if (c < 0 || c == '\n') {
            if (!bad) error_at_pos(L, open, "unterminated string: expected '\"' before the end of the line");
            break;
        }
        L->pos++;
        if (c == quote) break;
        if (c == 0) {
            if (!bad) error_at_pos(L, L->pos - 1, "NUL byte inside a string");
            bad = true;
            continue;
        }
        if (c != '\\') {
            llmc_buf_putc(&b, (char)c);
            continue;
        }
        int e = at(L, L->pos);
        if (e == '"' || e == '\\' || (e == '\'' && quote == '\'')) {
            llmc_buf_putc(&b, (char)e);
        } else if (e == 'n') {
            llmc_buf_putc(&b, '\n');
        } else if (e == 't') {
            llmc_buf_putc(&b, '\t');
        } else if (e < 0 || e == '\n') {
            continue; /* the loop reports the unterminated string */
        } else {
            if (!bad && e >= 0x20 && e < 0x7f)
                error_at_pos(L, L->pos - 1, "unknown escape '\\%c' in a string; use \\\" \\\\ \\n or \\t", e);
            else if (!bad)
                error_at_pos(L, L->pos - 1, "unknown escape in a string; use \\\" \\\\ \\n or \\t");
            bad = true;
        }
        L->pos++;
    }
    t->kind = FE_TOK_STRING;
    t->len = L->pos - open;
    t->v.str = llmc_arena_strndup(L->arena, b.data, b.len);
    llmc_buf_free(&b);
}

/* --- identifiers and keywords -------------------------------------------------------- */

static const struct {
    const char *text;
    FeTokKind kind;
} keywords[] = {
    {"model", FE_TOK_MODEL}, {"train", FE_TOK_TRAIN}, {"extern", FE_TOK_EXTERN}, {"repeat", FE_TOK_REPEAT}, {"as", FE_TOK_AS},
    {"if", FE_TOK_IF},       {"else", FE_TOK_ELSE},   {"true", FE_TOK_TRUE},     {"false", FE_TOK_FALSE},
    {"and", FE_TOK_AND},     {"or", FE_TOK_OR},       {"not", FE_TOK_NOT},       {"div", FE_TOK_DIV},
};

static void lex_ident(FeLexer *L, FeToken *t) {
    size_t start = L->pos;
    while (L->pos < L->len && is_ident_char(at(L, L->pos))) L->pos++;
    t->len = L->pos - start;
    for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++)
        if (strlen(keywords[k].text) == t->len && memcmp(keywords[k].text, L->text + start, t->len) == 0) {
            t->kind = keywords[k].kind;
            return;
        }
    t->kind = FE_TOK_IDENT;
    t->v.str = llmc_arena_strndup(L->arena, L->text + start, t->len);
}

/* --- punctuation and bad characters -------------------------------------------------- */

/* The kind of the punctuation at pos (consuming it), or FE_TOK_INVALID. */
static FeTokKind lex_punct(FeLexer *L) {
    int c = at(L, L->pos), d = at(L, L->pos + 1);
    FeTokKind k = FE_TOK_INVALID;
    size_t n = 1;
    switch (c) {
    case '+': k = FE_TOK_PLUS; break;
    case '-': k = d == '>' ? (n = 2, FE_TOK_ARROW) : FE_TOK_MINUS; break;
    case '*': k = d == '*' ? (n = 2, FE_TOK_POW) : FE_TOK_STAR; break;
    case '/': k = FE_TOK_SLASH; break; /* a second '/' or a '*' after it made a comment */
    case '%': k = FE_TOK_PERCENT; break;
    case '=': k = d == '=' ? (n = 2, FE_TOK_EQ) : FE_TOK_ASSIGN; break;
    case '!': k = d == '=' ? (n = 2, FE_TOK_NE) : FE_TOK_INVALID; break;
    case '<': k = d == '=' ? (n = 2, FE_TOK_LE) : FE_TOK_LT; break;
    case '>': k = d == '=' ? (n = 2, FE_TOK_GE) : FE_TOK_GT; break;
    case '(': k = FE_TOK_LPAREN; break;
    case ')': k = FE_TOK_RPAREN; break;
    case '{': k = FE_TOK_LBRACE; break;
    case '}': k = FE_TOK_RBRACE; break;
    case ',': k = FE_TOK_COMMA; break;
    case ';': k = FE_TOK_SEMI; break;
    case '[': k = FE_TOK_LBRACKET; break;
    case ']': k = FE_TOK_RBRACKET; break;
    case ':': k = FE_TOK_COLON; break;
    default: break;
    }
    if (k != FE_TOK_INVALID) L->pos += n;
    return k;
}

/* A byte that starts no token and is no blank: part of a run of bad characters. */
static bool is_bad(int c) {
    if (c < 0) return false;
    if (c == 0) return true;
    return !(is_ident_char(c) || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '"' || c == '\'' ||
             c == '#' || strchr("+-*/%=<>(){},;[]:", c));
}

/* A run of bad characters (a byte >= 0x80 and its UTF-8 continuation bytes, '&&', ...)
 * is one ERROR token with one error, about its first character. */
static void lex_bad(FeLexer *L, FeToken *t) {
    int c = at(L, L->pos);
    const char *hint = c == '!' ? " (use 'not' for negation)"
                     : c == '&' ? " (use 'and')"
                     : c == '|' ? " (use 'or')"
                     : "";
    if (c > 0x20 && c < 0x7f)
        error_at_pos(L, L->pos, "unexpected character '%c'%s", c, hint);
    else
        error_at_pos(L, L->pos, "unexpected byte 0x%02x", (unsigned)c);
    L->pos++;
    while (is_bad(at(L, L->pos))) L->pos++;
    t->kind = FE_TOK_ERROR;
}

/* --- the token stream ---------------------------------------------------------------- */

void fe_lex_next(FeLexer *L, FeToken *out) {
    FeToken t;
    memset(&t, 0, sizeof t);
    if (!L->stop) skip_space(L);
    if (L->pending_newline && L->paren_depth == 0 && L->any_token && !L->stop && L->pos < L->len) {
        /* A run of line ends is one NEWLINE; the next call lexes what follows. At the
         * end of the input there is none: "found end of input" says more. */
        L->pending_newline = false;
        L->any_token = false;
        t.kind = FE_TOK_NEWLINE;
        t.line = L->last_line;
        t.col = L->last_col;
        t.start = L->pos;
        *out = t;
        return;
    }
    L->pending_newline = false;
    t.paren_depth = L->paren_depth;
    t.start = L->pos;
    t.line = L->line;
    t.col = col_of(L, L->pos);
    if (L->stop || L->pos >= L->len) {
        t.kind = FE_TOK_EOF;
        t.line = L->last_line;
        t.col = L->last_col;
        *out = t;
        return;
    }
    int c = at(L, L->pos);
    if (is_alpha(c)) {
        lex_ident(L, &t);
    } else if (is_digit(c)) {
        lex_number(L, &t);
    } else if (c == '"' || c == '\'') {
        lex_string(L, &t);
    } else {
        t.kind = lex_punct(L);
        if (t.kind == FE_TOK_INVALID) lex_bad(L, &t);
        t.len = L->pos - t.start;
    }
    if (t.kind == FE_TOK_LPAREN)
        L->paren_depth++;
    else if (t.kind == FE_TOK_RPAREN && L->paren_depth)
        L->paren_depth--;
    else if (t.kind == FE_TOK_LBRACE || t.kind == FE_TOK_RBRACE)
        L->paren_depth = 0;
    /* A token never spans lines (strings stop at the line end), so its end is here. */
    L->any_token = true;
    L->last_line = t.line;
    L->last_col = t.col + (uint32_t)t.len;
    *out = t;
}
