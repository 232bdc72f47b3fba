/* runtime/json.c — JSON (RFC 8259): a strict reader into a read-only DOM, and a
 * streaming writer over LlmcBuf.
 *
 * The reader is recursive descent over a length-delimited text, with a depth limit so
 * no input can overflow the stack. The whole tree lives in one arena owned by the root.
 * Children of open containers wait on one shared stack and are copied into the arena
 * when their container closes, so a document costs O(size) memory and no reallocation
 * of arena blocks. Line and column are tracked while skipping whitespace (the only
 * place a raw newline may appear), so every node knows where it came from for free.
 *
 * Deliberately not here: comments, trailing commas, NaN/Infinity and other JSON5
 * extensions; streaming (incremental) parsing; a mutable DOM; locale handling (number
 * conversion uses strtod, which assumes the "C" locale every program starts in; llmc
 * never calls setlocale).
 */
#include "runtime.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ===================================================================================
 * UTF-8
 * =================================================================================== */

/* Length of the well-formed UTF-8 sequence at s[0..n), or 0 if it is malformed
 * (Unicode Table 3-7: exact ranges for the second byte rule out overlongs, surrogates
 * and code points above U+10FFFF). */
static size_t utf8_seq_len(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c == 0xE0) len = 3, lo = 0xA0;
    else if (c >= 0xE1 && c <= 0xEC) len = 3;
    else if (c == 0xED) len = 3, hi = 0x9F;
    else if (c >= 0xEE && c <= 0xEF) len = 3;
    else if (c == 0xF0) len = 4, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3) len = 4;
    else if (c == 0xF4) len = 4, hi = 0x8F;
    else return 0;
    if (n < len) return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF) return 0;
    return len;
}

bool rt_utf8_valid(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t k = utf8_seq_len(u + i, n - i);
        if (k == 0) return false;
        i += k;
    }
    return true;
}

static void utf8_put(LlmcBuf *b, uint32_t cp) {
    char s[4];
    size_t n;
    if (cp < 0x80) {
        s[0] = (char)cp, n = 1;
    } else if (cp < 0x800) {
        s[0] = (char)(0xC0 | (cp >> 6)), s[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    } else if (cp < 0x10000) {
        s[0] = (char)(0xE0 | (cp >> 12)), s[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        s[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    } else {
        s[0] = (char)(0xF0 | (cp >> 18)), s[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        s[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), s[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    }
    llmc_buf_put(b, s, n);
}

/* ===================================================================================
 * Reader
 * =================================================================================== */

/* The root comes first so a root pointer is a document pointer (C11 6.7.2.1p15). */
typedef struct JsonDoc {
    RtJson root;
    LlmcArena arena;
} JsonDoc;

typedef struct Parser {
    const char *text;
    size_t len, pos;
    uint32_t line;     /* line of pos, 1-based */
    size_t line_start; /* offset of the first byte of that line */
    const char *name;
    LlmcErr *err;
    LlmcArena *arena;
    uint32_t depth;
    RtJson *stack;     /* children of the open containers, innermost last */
    size_t n_stack, cap_stack;
    LlmcBuf scratch;   /* decoded string being built */
} Parser;

static uint32_t col_of(const Parser *p, size_t pos) {
    if (pos < p->line_start) return 1; /* not on the current line: cannot happen today */
    size_t c = pos - p->line_start + 1;
    return c > UINT32_MAX ? UINT32_MAX : (uint32_t)c;
}

/* Records "NAME:LINE:COL: message" at byte pos (which must be on the current line)
 * and returns false, so callers can `return fail(...)`. */
static bool fail(Parser *p, size_t pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool fail(Parser *p, size_t pos, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    llmc_err_set(p->err, "%s:%u:%u: %s", p->name, p->line, col_of(p, pos), msg);
    return false;
}

/* Describes the byte at pos for a message: 'x', byte 0x07, or end of input. */
static const char *describe_at(const Parser *p, size_t pos, char *buf, size_t n) {
    if (pos >= p->len) return "end of input";
    unsigned char c = (unsigned char)p->text[pos];
    if (c >= 0x20 && c < 0x7F) snprintf(buf, n, "'%c'", c);
    else snprintf(buf, n, "byte 0x%02X", c);
    return buf;
}

static void skip_ws(Parser *p) {
    while (p->pos < p->len) {
        char c = p->text[p->pos];
        if (c == '\n') {
            p->line++;
            p->line_start = p->pos + 1;
        } else if (c != ' ' && c != '\t' && c != '\r') {
            return;
        }
        p->pos++;
    }
}

static void stack_push(Parser *p, const RtJson *v) {
    if (p->n_stack == p->cap_stack) {
        p->cap_stack = p->cap_stack ? p->cap_stack * 2 : 64;
        p->stack = llmc_xrealloc(p->stack, p->cap_stack * sizeof *p->stack);
    }
    p->stack[p->n_stack++] = *v;
}

/* Moves the children pushed since `base` into the arena as v's items. */
static bool stack_pop_into(Parser *p, size_t base, RtJson *v, size_t open_pos) {
    size_t n = p->n_stack - base;
    if (n > UINT32_MAX) return fail(p, open_pos, "container has more than 2^32-1 elements");
    v->count = (uint32_t)n;
    if (n) {
        v->items = llmc_arena_alloc(p->arena, n * sizeof *v->items);
        memcpy(v->items, p->stack + base, n * sizeof *v->items);
    }
    p->n_stack = base;
    return true;
}

static bool parse_value(Parser *p, RtJson *out);

/* --- literals ------------------------------------------------------------------------ */

/* literal = "true" | "false" | "null" */
static bool parse_literal(Parser *p, RtJson *out) {
    static const struct {
        const char *text;
        RtJsonKind kind;
        bool value;
    } lits[] = {{"true", RT_JSON_BOOL, true}, {"false", RT_JSON_BOOL, false}, {"null", RT_JSON_NULL, false}};
    for (size_t i = 0; i < sizeof lits / sizeof lits[0]; i++) {
        size_t n = strlen(lits[i].text);
        if (p->len - p->pos >= n && memcmp(p->text + p->pos, lits[i].text, n) == 0) {
            out->kind = lits[i].kind;
            out->boolean = lits[i].value;
            p->pos += n;
            return true;
        }
    }
    return fail(p, p->pos, "invalid literal (expected true, false or null)");
}

/* --- numbers ------------------------------------------------------------------------- */

static bool is_digit(const Parser *p, size_t pos) {
    return pos < p->len && p->text[pos] >= '0' && p->text[pos] <= '9';
}

/* Exact int64 value of the integer text [start, end) ("-"? digits); false on overflow. */
static bool int64_from_text(const char *s, size_t n, int64_t *out) {
    bool neg = s[0] == '-';
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, v = 0;
    for (size_t i = neg; i < n; i++) {
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (limit - d) / 10) return false;
        v = v * 10 + d;
    }
    /* -2^63 has no positive counterpart: build it as -(v - 1) - 1. */
    *out = neg ? (v == 0 ? 0 : -(int64_t)(v - 1) - 1) : (int64_t)v;
    return true;
}

/* number = "-"? ("0" | [1-9][0-9]*) ("." [0-9]+)? ([eE] [+-]? [0-9]+)? */
static bool parse_number(Parser *p, RtJson *out) {
    size_t start = p->pos, i = p->pos;
    if (p->text[i] == '-') i++;
    if (!is_digit(p, i)) return fail(p, i, "invalid number: expected a digit after '-'");
    if (p->text[i] == '0') {
        i++;
        if (is_digit(p, i)) return fail(p, start, "invalid number: leading zeros are not allowed");
    } else {
        while (is_digit(p, i)) i++;
    }
    bool integral = true;
    if (i < p->len && p->text[i] == '.') {
        integral = false;
        if (!is_digit(p, ++i)) return fail(p, i, "invalid number: expected a digit after '.'");
        while (is_digit(p, i)) i++;
    }
    if (i < p->len && (p->text[i] == 'e' || p->text[i] == 'E')) {
        integral = false;
        i++;
        if (i < p->len && (p->text[i] == '+' || p->text[i] == '-')) i++;
        if (!is_digit(p, i)) return fail(p, i, "invalid number: expected a digit in the exponent");
        while (is_digit(p, i)) i++;
    }
    size_t n = i - start;
    /* strtod needs a NUL-terminated copy; the scratch buffer is free between strings. */
    p->scratch.len = 0;
    llmc_buf_put(&p->scratch, p->text + start, n);
    double d = strtod(p->scratch.data, NULL);
    if (isinf(d)) return fail(p, start, "number out of range: %.40s", p->scratch.data);
    out->kind = RT_JSON_NUMBER;
    out->number = d;
    out->is_int = integral && int64_from_text(p->text + start, n, &out->integer);
    p->pos = i;
    return true;
}

/* --- strings ------------------------------------------------------------------------- */

static int hex_val(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The 4 hex digits of a \u escape whose backslash is at pos; -1 if malformed. */
static long hex4_at(const Parser *p, size_t pos) {
    if (p->len - pos < 6 || p->text[pos] != '\\' || p->text[pos + 1] != 'u') return -1;
    long v = 0;
    for (size_t i = 2; i < 6; i++) {
        int h = hex_val(p->text[pos + i]);
        if (h < 0) return -1;
        v = v * 16 + h;
    }
    return v;
}

/* A \u escape at p->pos (the backslash), combining a surrogate pair; appends UTF-8. */
static bool parse_u_escape(Parser *p) {
    size_t at = p->pos;
    long hi = hex4_at(p, at);
    if (hi < 0) return fail(p, at, "invalid \\u escape: expected 4 hex digits");
    p->pos += 6;
    if (hi >= 0xDC00 && hi <= 0xDFFF)
        return fail(p, at, "unpaired surrogate \\u%04lX (a low surrogate must follow a high one)", hi);
    if (hi < 0xD800 || hi > 0xDBFF) {
        utf8_put(&p->scratch, (uint32_t)hi);
        return true;
    }
    long lo = hex4_at(p, p->pos);
    if (lo < 0xDC00 || lo > 0xDFFF)
        return fail(p, at, "unpaired surrogate \\u%04lX (a low surrogate \\uDC00-\\uDFFF must follow)", hi);
    p->pos += 6;
    utf8_put(&p->scratch, 0x10000 + (((uint32_t)hi - 0xD800) << 10) + ((uint32_t)lo - 0xDC00));
    return true;
}

/* One escape at p->pos (the backslash); appends its decoded bytes. */
static bool parse_escape(Parser *p) {
    if (p->pos + 1 >= p->len) return fail(p, p->pos, "unterminated escape at end of input");
    char c = p->text[p->pos + 1];
    const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
    const char *hit = c ? strchr(from, c) : NULL;
    if (hit) {
        llmc_buf_putc(&p->scratch, to[hit - from]);
        p->pos += 2;
        return true;
    }
    if (c == 'u') return parse_u_escape(p);
    char d[16];
    return fail(p, p->pos, "invalid escape: '\\' followed by %s", describe_at(p, p->pos + 1, d, sizeof d));
}

/* string = '"' (unescaped UTF-8 >= U+0020 except '"' and '\' | escape)* '"'
 * Leaves the decoded bytes in p->scratch. */
static bool parse_string_raw(Parser *p) {
    size_t open = p->pos++;
    p->scratch.len = 0;
    llmc_buf_put(&p->scratch, "", 0); /* data non-NULL even for "" */
    for (;;) {
        if (p->pos >= p->len) return fail(p, open, "unterminated string");
        unsigned char c = (unsigned char)p->text[p->pos];
        if (c == '"') {
            p->pos++;
            return true;
        } else if (c == '\\') {
            if (!parse_escape(p)) return false;
        } else if (c < 0x20) {
            return fail(p, p->pos, "control character 0x%02X in string must be escaped", c);
        } else if (c < 0x80) {
            llmc_buf_putc(&p->scratch, (char)c);
            p->pos++;
        } else {
            size_t k = utf8_seq_len((const unsigned char *)p->text + p->pos, p->len - p->pos);
            if (k == 0) return fail(p, p->pos, "invalid UTF-8 in string (byte 0x%02X)", c);
            llmc_buf_put(&p->scratch, p->text + p->pos, k);
            p->pos += k;
        }
    }
}

static bool parse_string(Parser *p, RtJson *out) {
    if (!parse_string_raw(p)) return false;
    out->kind = RT_JSON_STRING;
    out->str_len = p->scratch.len;
    out->str = llmc_arena_strndup(p->arena, p->scratch.data, p->scratch.len);
    return true;
}

/* --- containers ---------------------------------------------------------------------- */

/* Entering a container whose bracket is at `open`. */
static bool enter(Parser *p, size_t open) {
    if (++p->depth > RT_JSON_MAX_DEPTH)
        return fail(p, open, "nesting deeper than %d levels", RT_JSON_MAX_DEPTH);
    return true;
}

/* After an element: ',' continues (returns true, *more = true), `close` ends. */
static bool after_element(Parser *p, char close, bool *more) {
    skip_ws(p);
    if (p->pos < p->len && p->text[p->pos] == ',') {
        p->pos++;
        *more = true;
        return true;
    }
    if (p->pos < p->len && p->text[p->pos] == close) {
        p->pos++;
        *more = false;
        return true;
    }
    char d[16];
    return fail(p, p->pos, "expected ',' or '%c', got %s", close, describe_at(p, p->pos, d, sizeof d));
}

/* array = '[' (value (',' value)*)? ']' */
static bool parse_array(Parser *p, RtJson *out) {
    size_t open = p->pos++, base = p->n_stack;
    out->kind = RT_JSON_ARRAY;
    if (!enter(p, open)) return false;
    skip_ws(p);
    if (p->pos < p->len && p->text[p->pos] == ']') {
        p->pos++;
    } else {
        for (bool more = true; more;) {
            RtJson v = {0};
            if (!parse_value(p, &v)) return false;
            stack_push(p, &v);
            if (!after_element(p, ']', &more)) return false;
        }
    }
    p->depth--;
    return stack_pop_into(p, base, out, open);
}

static int member_cmp(const void *a, const void *b) {
    const RtJson *x = *(const RtJson *const *)a, *y = *(const RtJson *const *)b;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(x->key, y->key, n);
    if (c) return c;
    if (x->key_len != y->key_len) return x->key_len < y->key_len ? -1 : 1;
    return x < y ? -1 : x > y; /* same array: document order breaks ties */
}

/* Finds the first repeated key in document order by sorting member pointers:
 * O(n log n), so a header with a million tensors is no slower to check than to read. */
static const RtJson *find_duplicate_key(const RtJson *obj) {
    if (obj->count < 2) return NULL;
    const RtJson **m = llmc_xmalloc(obj->count * sizeof *m);
    for (uint32_t i = 0; i < obj->count; i++) m[i] = &obj->items[i];
    qsort(m, obj->count, sizeof *m, member_cmp);
    const RtJson *dup = NULL;
    for (uint32_t i = 1; i < obj->count; i++) {
        if (m[i]->key_len == m[i - 1]->key_len && memcmp(m[i]->key, m[i - 1]->key, m[i]->key_len) == 0 &&
            (!dup || m[i] < dup))
            dup = m[i];
    }
    free(m);
    return dup;
}

/* member = string ':' value */
static bool parse_member(Parser *p, RtJson *v) {
    char d[16];
    if (p->pos >= p->len || p->text[p->pos] != '"')
        return fail(p, p->pos, "expected a string key, got %s", describe_at(p, p->pos, d, sizeof d));
    uint32_t line = p->line, col = col_of(p, p->pos);
    if (!parse_string_raw(p)) return false;
    size_t key_len = p->scratch.len;
    const char *key = llmc_arena_strndup(p->arena, p->scratch.data, key_len);
    skip_ws(p);
    if (p->pos >= p->len || p->text[p->pos] != ':')
        return fail(p, p->pos, "expected ':' after key, got %s", describe_at(p, p->pos, d, sizeof d));
    p->pos++;
    if (!parse_value(p, v)) return false;
    v->key = key;
    v->key_len = key_len;
    v->line = line;
    v->col = col;
    return true;
}

/* object = '{' (member (',' member)*)? '}' */
static bool parse_object(Parser *p, RtJson *out) {
    size_t open = p->pos++, base = p->n_stack;
    out->kind = RT_JSON_OBJECT;
    if (!enter(p, open)) return false;
    skip_ws(p);
    if (p->pos < p->len && p->text[p->pos] == '}') {
        p->pos++;
    } else {
        for (bool more = true; more;) {
            RtJson v = {0};
            skip_ws(p);
            if (!parse_member(p, &v)) return false;
            stack_push(p, &v);
            if (!after_element(p, '}', &more)) return false;
        }
    }
    p->depth--;
    if (!stack_pop_into(p, base, out, open)) return false;
    const RtJson *dup = find_duplicate_key(out);
    if (dup) {
        /* The duplicate may sit on an earlier line than the parser: report its own. */
        llmc_err_set(p->err, "%s:%u:%u: duplicate key '%s'", p->name, dup->line, dup->col, dup->key);
        return false;
    }
    return true;
}

/* value = object | array | string | number | literal */
static bool parse_value(Parser *p, RtJson *out) {
    skip_ws(p);
    out->line = p->line;
    out->col = col_of(p, p->pos);
    char d[16];
    if (p->pos >= p->len) return fail(p, p->pos, "expected a value, got end of input");
    char c = p->text[p->pos];
    if (c == '{') return parse_object(p, out);
    if (c == '[') return parse_array(p, out);
    if (c == '"') return parse_string(p, out);
    if (c == '-' || (c >= '0' && c <= '9')) return parse_number(p, out);
    if (c == 't' || c == 'f' || c == 'n') return parse_literal(p, out);
    return fail(p, p->pos, "expected a value, got %s", describe_at(p, p->pos, d, sizeof d));
}

bool rt_json_parse(const char *text, size_t len, const char *name, RtJson **out, LlmcErr *err) {
    *out = NULL;
    JsonDoc *doc = llmc_xcalloc(1, sizeof *doc);
    Parser p = {.text = text, .len = len, .line = 1, .name = name ? name : "<json>", .err = err,
                .arena = &doc->arena};
    bool ok = parse_value(&p, &doc->root);
    if (ok) {
        skip_ws(&p);
        char d[16];
        if (p.pos < p.len)
            ok = fail(&p, p.pos, "unexpected %s after the JSON value", describe_at(&p, p.pos, d, sizeof d));
    }
    free(p.stack);
    llmc_buf_free(&p.scratch);
    if (!ok) {
        llmc_arena_free(&doc->arena);
        free(doc);
        return false;
    }
    *out = &doc->root;
    return true;
}

void rt_json_free(RtJson *root) {
    if (!root) return;
    JsonDoc *doc = (JsonDoc *)root;
    llmc_arena_free(&doc->arena);
    free(doc);
}

const RtJson *rt_json_get(const RtJson *obj, const char *key) {
    if (!obj || obj->kind != RT_JSON_OBJECT) return NULL;
    size_t n = strlen(key);
    for (uint32_t i = 0; i < obj->count; i++) {
        const RtJson *m = &obj->items[i];
        if (m->key_len == n && memcmp(m->key, key, n) == 0) return m;
    }
    return NULL;
}

const RtJson *rt_json_at(const RtJson *v, uint32_t i) {
    if (!v || (v->kind != RT_JSON_ARRAY && v->kind != RT_JSON_OBJECT) || i >= v->count) return NULL;
    return &v->items[i];
}

const char *rt_json_kind_name(RtJsonKind k) {
    switch (k) {
    case RT_JSON_NULL: return "null";
    case RT_JSON_BOOL: return "boolean";
    case RT_JSON_NUMBER: return "number";
    case RT_JSON_STRING: return "string";
    case RT_JSON_ARRAY: return "array";
    case RT_JSON_OBJECT: return "object";
    case RT_JSON_INVALID:
    case RT_JSON_KIND_COUNT: break;
    }
    return "?";
}

/* ===================================================================================
 * Writer
 * =================================================================================== */

void rt_json_writer_init(RtJsonWriter *w, LlmcBuf *out, RtJsonStyle style) {
    LLMC_ASSERT(style == RT_JSON_COMPACT || style == RT_JSON_PRETTY);
    w->out = out;
    w->style = style;
    w->depth = 0;
    w->after_key = false;
    w->done = false;
}

bool rt_json_writer_done(const RtJsonWriter *w) { return w->done; }

static void newline_indent(RtJsonWriter *w) {
    if (w->style != RT_JSON_PRETTY) return;
    llmc_buf_putc(w->out, '\n');
    for (uint32_t i = 0; i < w->depth; i++) llmc_buf_put(w->out, "  ", 2);
}

/* Called before every value and key: the comma and indentation that precede it. */
static void before_item(RtJsonWriter *w, bool is_key) {
    LLMC_ASSERT(!w->done);
    if (w->depth == 0) return;
    bool in_object = w->open[w->depth - 1].is_object;
    if (w->after_key) { /* the value of a member: the key already placed it */
        LLMC_ASSERT(!is_key);
        w->after_key = false;
        return;
    }
    LLMC_ASSERT(in_object == is_key); /* objects take keys first, arrays never */
    if (w->open[w->depth - 1].has_items) llmc_buf_putc(w->out, ',');
    w->open[w->depth - 1].has_items = true;
    newline_indent(w);
}

static void after_value(RtJsonWriter *w) {
    if (w->depth == 0) w->done = true;
}

static void begin(RtJsonWriter *w, bool is_object) {
    before_item(w, false);
    LLMC_ASSERT(w->depth < RT_JSON_MAX_DEPTH);
    llmc_buf_putc(w->out, is_object ? '{' : '[');
    w->open[w->depth].is_object = is_object;
    w->open[w->depth].has_items = false;
    w->depth++;
}

static void end(RtJsonWriter *w, bool is_object) {
    LLMC_ASSERT(w->depth > 0 && w->open[w->depth - 1].is_object == is_object && !w->after_key);
    bool had_items = w->open[w->depth - 1].has_items;
    w->depth--;
    if (had_items) newline_indent(w);
    llmc_buf_putc(w->out, is_object ? '}' : ']');
    after_value(w);
}

void rt_json_begin_object(RtJsonWriter *w) { begin(w, true); }
void rt_json_end_object(RtJsonWriter *w) { end(w, true); }
void rt_json_begin_array(RtJsonWriter *w) { begin(w, false); }
void rt_json_end_array(RtJsonWriter *w) { end(w, false); }

static void put_escaped(LlmcBuf *b, const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    llmc_buf_putc(b, '"');
    size_t i = 0;
    while (i < n) {
        unsigned char c = u[i];
        const char *short_esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\b' ? "\\b"
                              : c == '\f' ? "\\f" : c == '\n' ? "\\n" : c == '\r' ? "\\r"
                              : c == '\t' ? "\\t" : NULL;
        if (short_esc) {
            llmc_buf_puts(b, short_esc);
            i++;
        } else if (c < 0x20) {
            llmc_buf_printf(b, "\\u%04X", c);
            i++;
        } else if (c < 0x80) {
            llmc_buf_putc(b, (char)c);
            i++;
        } else {
            size_t k = utf8_seq_len(u + i, n - i);
            if (k == 0) {
                llmc_buf_puts(b, "\\ufffd"); /* keep the output valid JSON */
                i++;
            } else {
                llmc_buf_put(b, s + i, k);
                i += k;
            }
        }
    }
    llmc_buf_putc(b, '"');
}

void rt_json_key(RtJsonWriter *w, const char *key) { rt_json_key_n(w, key, strlen(key)); }

void rt_json_key_n(RtJsonWriter *w, const char *key, size_t n) {
    LLMC_ASSERT(w->depth > 0 && !w->after_key);
    before_item(w, true);
    put_escaped(w->out, key, n);
    llmc_buf_put(w->out, ": ", w->style == RT_JSON_PRETTY ? 2 : 1);
    w->after_key = true;
}

void rt_json_string_n(RtJsonWriter *w, const char *s, size_t n) {
    before_item(w, false);
    put_escaped(w->out, s, n);
    after_value(w);
}

void rt_json_string(RtJsonWriter *w, const char *s) { rt_json_string_n(w, s, strlen(s)); }

void rt_json_int(RtJsonWriter *w, int64_t v) {
    before_item(w, false);
    llmc_buf_printf(w->out, "%lld", (long long)v);
    after_value(w);
}

void rt_json_double(RtJsonWriter *w, double v) {
    if (!isfinite(v)) {
        rt_json_null(w);
        return;
    }
    before_item(w, false);
    char s[40] = "-0.0"; /* "-0" would read back as the integer 0, which has no sign */
    /* Shortest precision that reads back bit-exactly; 17 digits always does. */
    for (int prec = 1; prec <= 17 && !(v == 0 && signbit(v)); prec++) {
        snprintf(s, sizeof s, "%.*g", prec, v);
        if (strtod(s, NULL) == v) break;
    }
    llmc_buf_puts(w->out, s);
    after_value(w);
}

void rt_json_bool(RtJsonWriter *w, bool v) {
    before_item(w, false);
    llmc_buf_puts(w->out, v ? "true" : "false");
    after_value(w);
}

void rt_json_null(RtJsonWriter *w) {
    before_item(w, false);
    llmc_buf_puts(w->out, "null");
    after_value(w);
}
