/* tests/runtime/test_json.c — the JSON reader and writer (runtime/json.c).
 *
 * Covers: values and their positions, exact int64, escapes and unicode, every error
 * kind with its line:col, the depth limit, compact and pretty writing, shortest
 * round-trip doubles, write->parse->write identity, and a bounded mutation loop that
 * must never crash (run under ASan+UBSan in CI).
 */
#include "runtime.h"
#include "test.h"

#include <stdint.h>
#include <stdlib.h>

/* Parses a NUL-terminated text; NULL (and the message in *err) on failure. */
static RtJson *parse(const char *text, LlmcErr *err) {
    RtJson *j = NULL;
    llmc_err_clear(err);
    rt_json_parse(text, strlen(text), "t.json", &j, err);
    return j;
}

/* Re-serializes a parsed value through the writer: the canonical form. */
static void dump(RtJsonWriter *w, const RtJson *v) {
    switch (v->kind) {
    case RT_JSON_NULL: rt_json_null(w); return;
    case RT_JSON_BOOL: rt_json_bool(w, v->boolean); return;
    case RT_JSON_NUMBER:
        if (v->is_int) rt_json_int(w, v->integer);
        else rt_json_double(w, v->number);
        return;
    case RT_JSON_STRING: rt_json_string_n(w, v->str, v->str_len); return;
    case RT_JSON_ARRAY:
        rt_json_begin_array(w);
        for (uint32_t i = 0; i < v->count; i++) dump(w, rt_json_at(v, i));
        rt_json_end_array(w);
        return;
    case RT_JSON_OBJECT:
        rt_json_begin_object(w);
        for (uint32_t i = 0; i < v->count; i++) {
            rt_json_key_n(w, v->items[i].key, v->items[i].key_len);
            dump(w, &v->items[i]);
        }
        rt_json_end_object(w);
        return;
    case RT_JSON_INVALID:
    case RT_JSON_KIND_COUNT: break;
    }
    CHECK(!"invalid kind");
}

static char *dump_str(const RtJson *v, RtJsonStyle style) {
    LlmcBuf b = {0};
    RtJsonWriter w;
    rt_json_writer_init(&w, &b, style);
    dump(&w, v);
    CHECK(rt_json_writer_done(&w));
    return b.data;
}

static void test_values(void) {
    LlmcErr err;
    RtJson *j = parse("{\"a\": 1, \"b\": [true, false, null],\n  \"c\": \"x\", \"d\": -2.5e3, \"e\": {}, \"f\": []}", &err);
    CHECK(j != NULL);
    if (!j) return;
    CHECK_EQ_INT(j->kind, RT_JSON_OBJECT);
    CHECK_EQ_INT(j->count, 6);
    const RtJson *a = rt_json_get(j, "a"), *b = rt_json_get(j, "b"), *c = rt_json_get(j, "c");
    const RtJson *d = rt_json_get(j, "d"), *e = rt_json_get(j, "e"), *f = rt_json_get(j, "f");
    CHECK(a && a->kind == RT_JSON_NUMBER && a->is_int && a->integer == 1 && a->number == 1.0);
    CHECK(b && b->kind == RT_JSON_ARRAY && b->count == 3);
    CHECK(b && rt_json_at(b, 0)->kind == RT_JSON_BOOL && rt_json_at(b, 0)->boolean);
    CHECK(b && rt_json_at(b, 1)->kind == RT_JSON_BOOL && !rt_json_at(b, 1)->boolean);
    CHECK(b && rt_json_at(b, 2)->kind == RT_JSON_NULL);
    CHECK(b && rt_json_at(b, 3) == NULL);
    CHECK(c && c->kind == RT_JSON_STRING && c->str_len == 1);
    CHECK_STR(c ? c->str : NULL, "x");
    CHECK(d && d->kind == RT_JSON_NUMBER && !d->is_int);
    CHECK_CLOSE(d ? d->number : 0, -2500.0, 0);
    CHECK(e && e->kind == RT_JSON_OBJECT && e->count == 0 && rt_json_at(e, 0) == NULL);
    CHECK(f && f->kind == RT_JSON_ARRAY && f->count == 0);
    CHECK(rt_json_get(j, "zz") == NULL);
    CHECK(rt_json_get(b, "a") == NULL); /* not an object */
    CHECK_STR(rt_json_at(j, 0)->key, "a");
    /* positions: members point at their key, elements at themselves */
    CHECK_EQ_INT(a->line, 1);
    CHECK_EQ_INT(a->col, 2);
    CHECK_EQ_INT(rt_json_at(b, 1)->col, 22);
    CHECK_EQ_INT(c->line, 2);
    CHECK_EQ_INT(c->col, 3);
    CHECK_STR(rt_json_kind_name(RT_JSON_OBJECT), "object");
    CHECK_STR(rt_json_kind_name(RT_JSON_NULL), "null");
    rt_json_free(j);

    /* scalars at top level, surrounded by whitespace */
    j = parse(" \t\r\n 42 \n", &err);
    CHECK(j && j->kind == RT_JSON_NUMBER && j->integer == 42);
    rt_json_free(j);
    j = parse("\"\"", &err);
    CHECK(j && j->kind == RT_JSON_STRING && j->str_len == 0 && j->str && j->str[0] == 0);
    rt_json_free(j);
    rt_json_free(NULL);
}

static void test_int64(void) {
    LlmcErr err;
    RtJson *j = parse("[9223372036854775807, -9223372036854775808, 9223372036854775808, "
                      "9007199254740993, -0, 0, 1.0, 1e3, -9223372036854775809, 123456789012]", &err);
    CHECK(j != NULL);
    if (!j) return;
    CHECK(j->items[0].is_int && j->items[0].integer == INT64_MAX);
    CHECK(j->items[1].is_int && j->items[1].integer == INT64_MIN);
    CHECK(!j->items[2].is_int); /* 2^63 does not fit */
    CHECK_CLOSE(j->items[2].number, 9223372036854775808.0, 0);
    CHECK(j->items[3].is_int && j->items[3].integer == 9007199254740993LL); /* 2^53 + 1: not a double */
    CHECK(j->items[4].is_int && j->items[4].integer == 0 && signbit(j->items[4].number));
    CHECK(j->items[5].is_int && j->items[5].integer == 0);
    CHECK(!j->items[6].is_int && j->items[6].number == 1.0);
    CHECK(!j->items[7].is_int && j->items[7].number == 1000.0);
    CHECK(!j->items[8].is_int);
    CHECK(j->items[9].is_int && j->items[9].integer == 123456789012LL);
    rt_json_free(j);
}

static void test_strings(void) {
    LlmcErr err;
    RtJson *j = parse("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\", \"\\u0041\\u00e9\\u4E2D\\ud83d\\ude00\", \"a\\u0000b\","
                      " \"h\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80\", \"\\uDBFF\\uDFFF\", \"\x7f\"]", &err);
    CHECK(j != NULL);
    if (!j) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    CHECK_STR(j->items[0].str, "\"\\/\b\f\n\r\t");
    CHECK_STR(j->items[1].str, "A\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80");
    CHECK_EQ_INT(j->items[2].str_len, 3);
    CHECK(memcmp(j->items[2].str, "a\0b", 4) == 0);
    CHECK_STR(j->items[3].str, "h\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80");
    CHECK_STR(j->items[4].str, "\xf4\x8f\xbf\xbf"); /* U+10FFFF */
    CHECK_STR(j->items[5].str, "\x7f");
    rt_json_free(j);

    CHECK(rt_utf8_valid("h\xc3\xa9", 3));
    CHECK(rt_utf8_valid("a\0b", 3));
    CHECK(!rt_utf8_valid("\xc3", 1));           /* truncated */
    CHECK(!rt_utf8_valid("\xc0\xaf", 2));       /* overlong '/' */
    CHECK(!rt_utf8_valid("\xe0\x80\xaf", 3));   /* overlong */
    CHECK(!rt_utf8_valid("\xed\xa0\x80", 3));   /* surrogate D800 */
    CHECK(!rt_utf8_valid("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
    CHECK(!rt_utf8_valid("\x80", 1));
    CHECK(!rt_utf8_valid("\xff", 1));
}

/* One bad input, given with its length (it may hold NULs), and the exact message. */
typedef struct ErrCase {
    const char *text;
    size_t len; /* 0: strlen */
    const char *msg;
} ErrCase;

static void test_errors(void) {
    static const ErrCase cases[] = {
        {"", 0, "t.json:1:1: expected a value, got end of input"},
        {"  \n  x", 0, "t.json:2:3: expected a value, got 'x'"},
        {"[1,]", 0, "t.json:1:4: expected a value, got ']'"},
        {"[1 2]", 0, "t.json:1:4: expected ',' or ']', got '2'"},
        {"[1", 0, "t.json:1:3: expected ',' or ']', got end of input"},
        {"{\"a\":1 \"b\":2}", 0, "t.json:1:8: expected ',' or '}', got '\"'"},
        {"{\"a\" 1}", 0, "t.json:1:6: expected ':' after key, got '1'"},
        {"{1:2}", 0, "t.json:1:2: expected a string key, got '1'"},
        {"{\"a\":1,}", 0, "t.json:1:8: expected a string key, got '}'"},
        {"{\"a\":}", 0, "t.json:1:6: expected a value, got '}'"},
        {"\"abc", 0, "t.json:1:1: unterminated string"},
        {"[\n  \"a\nb\"]", 0, "t.json:2:5: control character 0x0A in string must be escaped"},
        {"\"a\tb\"", 0, "t.json:1:3: control character 0x09 in string must be escaped"},
        {"\"\\x\"", 0, "t.json:1:2: invalid escape: '\\' followed by 'x'"},
        {"\"\\", 0, "t.json:1:2: unterminated escape at end of input"},
        {"\"\\u12G4\"", 0, "t.json:1:2: invalid \\u escape: expected 4 hex digits"},
        {"\"\\u12\"", 0, "t.json:1:2: invalid \\u escape: expected 4 hex digits"},
        {"\"\\ud800\"", 0, "t.json:1:2: unpaired surrogate \\uD800 (a low surrogate \\uDC00-\\uDFFF must follow)"},
        {"\"ab\\uD83D\\u0041\"", 0, "t.json:1:4: unpaired surrogate \\uD83D (a low surrogate \\uDC00-\\uDFFF must follow)"},
        {"\"\\uDC00\"", 0, "t.json:1:2: unpaired surrogate \\uDC00 (a low surrogate must follow a high one)"},
        {"\"\xff\"", 0, "t.json:1:2: invalid UTF-8 in string (byte 0xFF)"},
        {"\"a\xc0\xaf\"", 0, "t.json:1:3: invalid UTF-8 in string (byte 0xC0)"},
        {"\"\xed\xa0\x80\"", 0, "t.json:1:2: invalid UTF-8 in string (byte 0xED)"},
        {"\"\xe4\xb8\"", 0, "t.json:1:2: invalid UTF-8 in string (byte 0xE4)"},
        {"01", 0, "t.json:1:1: invalid number: leading zeros are not allowed"},
        {"-", 0, "t.json:1:2: invalid number: expected a digit after '-'"},
        {"-a", 0, "t.json:1:2: invalid number: expected a digit after '-'"},
        {"1.", 0, "t.json:1:3: invalid number: expected a digit after '.'"},
        {"1.e5", 0, "t.json:1:3: invalid number: expected a digit after '.'"},
        {"1e+", 0, "t.json:1:4: invalid number: expected a digit in the exponent"},
        {"[1E]", 0, "t.json:1:4: invalid number: expected a digit in the exponent"},
        {".5", 0, "t.json:1:1: expected a value, got '.'"},
        {"+1", 0, "t.json:1:1: expected a value, got '+'"},
        {"[1e999]", 0, "t.json:1:2: number out of range: 1e999"},
        {"-1e400", 0, "t.json:1:1: number out of range: -1e400"},
        {"tru", 0, "t.json:1:1: invalid literal (expected true, false or null)"},
        {"[nul]", 0, "t.json:1:2: invalid literal (expected true, false or null)"},
        {"True", 0, "t.json:1:1: expected a value, got 'T'"},
        {"NaN", 0, "t.json:1:1: expected a value, got 'N'"},
        {"[1] x", 0, "t.json:1:5: unexpected 'x' after the JSON value"},
        {"{} {}", 0, "t.json:1:4: unexpected '{' after the JSON value"},
        {"truex", 0, "t.json:1:5: unexpected 'x' after the JSON value"},
        {"{\"a\":1,\n \"b\":2,\n \"a\":3}", 0, "t.json:3:2: duplicate key 'a'"},
        {"[{\"k\":{},\"k\":[]}]", 0, "t.json:1:10: duplicate key 'k'"},
        {"\xef\xbb\xbf{}", 0, "t.json:1:1: expected a value, got byte 0xEF"},
        {"[\0]", 3, "t.json:1:2: expected a value, got byte 0x00"},
        {"1\0", 2, "t.json:1:2: unexpected byte 0x00 after the JSON value"},
        {"/* c */ 1", 0, "t.json:1:1: expected a value, got '/'"},
        {"[1,\r\n\r\n  ?]", 0, "t.json:3:3: expected a value, got '?'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const ErrCase *c = &cases[i];
        LlmcErr err;
        llmc_err_clear(&err);
        RtJson *j = NULL;
        size_t len = c->len ? c->len : strlen(c->text);
        bool ok = rt_json_parse(c->text, len, "t.json", &j, &err);
        CHECK(!ok);
        CHECK(j == NULL);
        CHECK_STR(err.msg, c->msg);
        rt_json_free(j);
    }
}

/* n nested arrays, optionally wrapped in objects on every other level. */
static char *nested(size_t n, bool objects) {
    LlmcBuf b = {0};
    for (size_t i = 0; i < n; i++) llmc_buf_puts(&b, objects && i % 2 ? "{\"k\":" : "[");
    if (objects && (n - 1) % 2) llmc_buf_putc(&b, '0'); /* the innermost member's value */
    for (size_t i = n; i-- > 0;) llmc_buf_puts(&b, objects && i % 2 ? "}" : "]");
    return b.data;
}

static void test_depth(void) {
    LlmcErr err;
    char *s = nested(RT_JSON_MAX_DEPTH, false);
    RtJson *j = parse(s, &err);
    CHECK(j != NULL);
    rt_json_free(j);
    free(s);

    s = nested(RT_JSON_MAX_DEPTH, true);
    j = parse(s, &err);
    CHECK(j != NULL);
    rt_json_free(j);
    free(s);

    s = nested(RT_JSON_MAX_DEPTH + 1, false);
    j = parse(s, &err);
    CHECK(j == NULL);
    CHECK_STR(err.msg, "t.json:1:257: nesting deeper than 256 levels");
    free(s);

    /* A million open brackets: an error, not a stack overflow. */
    size_t n = 1000000;
    char *deep = malloc(n + 1);
    memset(deep, '[', n);
    deep[n] = 0;
    j = parse(deep, &err);
    CHECK(j == NULL);
    CHECK(strstr(err.msg, "nesting deeper than 256 levels") != NULL);
    free(deep);
    LlmcBuf ob = {0};
    for (int i = 0; i < 200000; i++) llmc_buf_puts(&ob, "{\"a\":");
    j = parse(ob.data, &err);
    CHECK(j == NULL);
    CHECK(strstr(err.msg, "t.json:1:1281: nesting deeper than 256 levels") != NULL);
    llmc_buf_free(&ob);

    /* wide is fine: a million elements */
    LlmcBuf b = {0};
    llmc_buf_putc(&b, '[');
    for (int i = 0; i < 1000000; i++) llmc_buf_puts(&b, i ? ",7" : "7");
    llmc_buf_putc(&b, ']');
    j = parse(b.data, &err);
    CHECK(j && j->count == 1000000 && j->items[999999].integer == 7);
    rt_json_free(j);
    llmc_buf_free(&b);
}

static void write_sample(RtJsonWriter *w) {
    rt_json_begin_object(w);
    rt_json_key(w, "step");
    rt_json_int(w, 7);
    rt_json_key(w, "loss");
    rt_json_double(w, 0.1);
    rt_json_key(w, "list");
    rt_json_begin_array(w);
    rt_json_bool(w, true);
    rt_json_null(w);
    rt_json_string(w, "x\ny");
    rt_json_begin_object(w);
    rt_json_end_object(w);
    rt_json_begin_array(w);
    rt_json_end_array(w);
    rt_json_end_array(w);
    rt_json_key(w, "nested");
    rt_json_begin_object(w);
    rt_json_key(w, "min");
    rt_json_int(w, INT64_MIN);
    rt_json_end_object(w);
    rt_json_end_object(w);
}

static void test_writer(void) {
    LlmcBuf b = {0};
    RtJsonWriter w;
    rt_json_writer_init(&w, &b, RT_JSON_COMPACT);
    CHECK(!rt_json_writer_done(&w));
    write_sample(&w);
    CHECK(rt_json_writer_done(&w));
    CHECK_STR(b.data, "{\"step\":7,\"loss\":0.1,\"list\":[true,null,\"x\\ny\",{},[]],"
                      "\"nested\":{\"min\":-9223372036854775808}}");
    /* metrics.jsonl: one object per line, re-initialising the writer each time */
    llmc_buf_putc(&b, '\n');
    rt_json_writer_init(&w, &b, RT_JSON_COMPACT);
    rt_json_begin_object(&w);
    rt_json_key(&w, "step");
    rt_json_int(&w, 8);
    rt_json_end_object(&w);
    llmc_buf_putc(&b, '\n');
    CHECK(strstr(b.data, "}}\n{\"step\":8}\n") != NULL);
    llmc_buf_free(&b);

    rt_json_writer_init(&w, &b, RT_JSON_PRETTY);
    write_sample(&w);
    CHECK_STR(b.data, "{\n"
                      "  \"step\": 7,\n"
                      "  \"loss\": 0.1,\n"
                      "  \"list\": [\n"
                      "    true,\n"
                      "    null,\n"
                      "    \"x\\ny\",\n"
                      "    {},\n"
                      "    []\n"
                      "  ],\n"
                      "  \"nested\": {\n"
                      "    \"min\": -9223372036854775808\n"
                      "  }\n"
                      "}");
    llmc_buf_free(&b);

    /* a scalar is a complete document */
    rt_json_writer_init(&w, &b, RT_JSON_COMPACT);
    rt_json_string(&w, "only");
    CHECK(rt_json_writer_done(&w));
    CHECK_STR(b.data, "\"only\"");
    llmc_buf_free(&b);
}

static void test_writer_escapes(void) {
    LlmcBuf b = {0};
    RtJsonWriter w;
    rt_json_writer_init(&w, &b, RT_JSON_COMPACT);
    rt_json_begin_array(&w);
    rt_json_string(&w, "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f");
    rt_json_string(&w, "h\xc3\xa9\xf0\x9f\x98\x80");
    rt_json_string(&w, "bad\xff\xc3(");
    rt_json_string_n(&w, "a\0b", 3);
    rt_json_end_array(&w);
    CHECK_STR(b.data, "[\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0001\\u001F\x7f\","
                      "\"h\xc3\xa9\xf0\x9f\x98\x80\","
                      "\"bad\\ufffd\\ufffd(\","
                      "\"a\\u0000b\"]");
    /* what we write, we read back */
    LlmcErr err;
    RtJson *j = parse(b.data, &err);
    CHECK(j != NULL);
    if (j) {
        CHECK_STR(j->items[0].str, "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f");
        CHECK_STR(j->items[1].str, "h\xc3\xa9\xf0\x9f\x98\x80");
        CHECK_STR(j->items[2].str, "bad\xef\xbf\xbd\xef\xbf\xbd(");
        CHECK(j->items[3].str_len == 3 && memcmp(j->items[3].str, "a\0b", 3) == 0);
    }
    rt_json_free(j);
    llmc_buf_free(&b);
}

static char *write_double(double v) {
    LlmcBuf b = {0};
    RtJsonWriter w;
    rt_json_writer_init(&w, &b, RT_JSON_COMPACT);
    rt_json_double(&w, v);
    return b.data;
}

static uint64_t xorshift64(uint64_t *s) {
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static void test_doubles(void) {
    static const struct {
        double v;
        const char *text;
    } cases[] = {
        {0.1, "0.1"}, {3.0, "3"}, {-0.0, "-0.0"}, {0.0, "0"}, {1.0 / 3.0, "0.3333333333333333"},
        {1e21, "1e+21"}, {1.5e-7, "1.5e-07"}, {5e-324, "5e-324"},
        {1.7976931348623157e308, "1.7976931348623157e+308"}, {123456.75, "123456.75"},
        {(double)0.1f, "0.10000000149011612"}, {NAN, "null"}, {INFINITY, "null"}, {-INFINITY, "null"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *s = write_double(cases[i].v);
        CHECK_STR(s, cases[i].text);
        free(s);
    }
    /* random bit patterns: every finite double reads back bit-exactly */
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    int exact = 0, tried = 0;
    for (int i = 0; i < 20000; i++) {
        uint64_t bits = xorshift64(&seed);
        double v;
        memcpy(&v, &bits, sizeof v);
        if (!isfinite(v)) continue;
        tried++;
        char *s = write_double(v);
        LlmcErr err;
        RtJson *j = parse(s, &err);
        if (j && j->kind == RT_JSON_NUMBER && memcmp(&j->number, &v, sizeof v) == 0) exact++;
        else fprintf(stderr, "double %.17g wrote %s\n", v, s);
        rt_json_free(j);
        free(s);
    }
    CHECK_EQ_INT(exact, tried);
}

static void test_roundtrip(void) {
    const char *text = "{\"name\": \"gpt\", \"dims\": [2, -3, 9223372036854775807], \"lr\": 0.0003,\n"
                       " \"x\": {\"deep\": [[[], {}], null, false]}, \"u\": \"\\u00e9\\n\"}";
    const char *canonical = "{\"name\":\"gpt\",\"dims\":[2,-3,9223372036854775807],\"lr\":0.0003,"
                            "\"x\":{\"deep\":[[[],{}],null,false]},\"u\":\"\xc3\xa9\\n\"}";
    LlmcErr err;
    RtJson *j = parse(text, &err);
    CHECK(j != NULL);
    if (!j) return;
    char *once = dump_str(j, RT_JSON_COMPACT);
    CHECK_STR(once, canonical);
    RtJson *j2 = parse(once, &err);
    CHECK(j2 != NULL);
    char *twice = j2 ? dump_str(j2, RT_JSON_COMPACT) : NULL;
    CHECK_STR(twice, once);
    /* pretty output parses to the same document too */
    char *pretty = dump_str(j, RT_JSON_PRETTY);
    RtJson *j3 = parse(pretty, &err);
    char *thrice = j3 ? dump_str(j3, RT_JSON_COMPACT) : NULL;
    CHECK_STR(thrice, once);
    free(once);
    free(twice);
    free(pretty);
    free(thrice);
    rt_json_free(j);
    rt_json_free(j2);
    rt_json_free(j3);
}

/* Random byte edits of a valid document: parsing never crashes, an error always has a
 * located message, and whatever parses re-serializes to something that parses the same. */
static void test_mutations(void) {
    const char *base = "{\"__metadata__\": {\"format\": \"pt\"}, \"a\": {\"dtype\": \"F32\", \"shape\": [2, 3],"
                       " \"data_offsets\": [0, 24]}, \"s\": \"\\u00e9\\ud83d\\ude00 x\", \"n\": [-1.5e-3, true, null]}";
    static const char alphabet[] = "{}[],:\"\\u0123456789eE.+-tfnrl aA\x80\xc3\xff\xed\x00";
    size_t n = strlen(base);
    uint64_t seed = 12345;
    char *buf = malloc(n + 1);
    int parsed = 0, rejected = 0;
    for (int it = 0; it < 3000; it++) {
        memcpy(buf, base, n + 1);
        size_t len = n;
        int edits = 1 + (int)(xorshift64(&seed) % 4);
        for (int e = 0; e < edits; e++) {
            uint64_t r = xorshift64(&seed);
            size_t pos = (size_t)(r >> 8) % len;
            if ((r & 7) == 0) len = pos; /* truncate */
            else buf[pos] = alphabet[(r >> 40) % (sizeof alphabet - 1)];
            if (len == 0) break;
        }
        LlmcErr err;
        llmc_err_clear(&err);
        RtJson *j = NULL;
        if (rt_json_parse(buf, len, "m.json", &j, &err)) {
            parsed++;
            char *s = dump_str(j, RT_JSON_COMPACT);
            RtJson *j2 = NULL;
            if (!rt_json_parse(s, strlen(s), "m2.json", &j2, &err)) {
                CHECK(!"re-serialized document does not parse");
                fprintf(stderr, "  %s\n  %s\n", s, err.msg);
            } else {
                char *s2 = dump_str(j2, RT_JSON_COMPACT);
                if (strcmp(s, s2) != 0) CHECK_STR(s2, s);
                free(s2);
            }
            rt_json_free(j2);
            free(s);
        } else {
            rejected++;
            if (strncmp(err.msg, "m.json:", 7) != 0) CHECK_STR(err.msg, "m.json:...");
        }
        rt_json_free(j);
    }
    free(buf);
    CHECK(parsed > 10);
    CHECK(rejected > 1000);
    fprintf(stderr, "mutations: %d parsed, %d rejected\n", parsed, rejected);
}

int main(void) {
    test_values();
    test_int64();
    test_strings();
    test_errors();
    test_depth();
    test_writer();
    test_writer_escapes();
    test_doubles();
    test_roundtrip();
    test_mutations();
    TEST_MAIN();
}
