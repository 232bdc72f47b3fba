/* ir/text_print.c — the .llir printer (canonical form) and the Graphviz renderer.
 *
 * The printer writes the canonical form that docs/llir.md describes and text_parse.c
 * reads back: the training-config record, when the graph has one, as the body's first
 * line (`train {...}`, every field, in schema order); values renumbered %0.. by node
 * id, two-space indent, attributes in schema order (sorted by name) with fields equal
 * to their default left out unless required, `{}` left out when empty, the type always
 * written, floats through ir_format_f32/f64 so they re-parse bit-exactly, outputs
 * after the nodes, graphs separated by one blank line. Op attributes and the record's
 * fields go through the same schema-driven code. Names that are not plain words (graph
 * names, scopes) are written as quoted strings so any graph prints to text the parser
 * accepts. It deliberately does not verify: printing a broken graph shows it as it is.
 *
 * It does not judge a graph: an invalid one prints as well as it can (an unknown enum
 * value prints as its number, which the parser will then reject). It never allocates
 * anything but the output buffer.
 */
#include "ir_int.h"

#include <string.h>

/* --- small pieces -------------------------------------------------------------------- */

static bool is_name_char(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
}

/* Scope runs may also hold '-', '/', '[', ']' and ':' ("layers.3/attn[0]:q"). */
static bool is_scope_char(unsigned char c) {
    return is_name_char(c) || c == '-' || c == '/' || c == '[' || c == ']' || c == ':';
}

static bool is_bare_name(const char *s) {
    if (!*s) return false;
    for (; *s; s++)
        if (!is_name_char((unsigned char)*s)) return false;
    return true;
}

/* A bare scope must not contain "//", which would start a comment. */
static bool is_bare_scope(const char *s) {
    if (!*s || strstr(s, "//")) return false;
    for (; *s; s++)
        if (!is_scope_char((unsigned char)*s)) return false;
    return true;
}

/* Length of the well-formed UTF-8 sequence at s (1..4), or 0 if it is not one. */
static size_t utf8_seq_len(const unsigned char *s) {
    unsigned char c = s[0];
    size_t len;
    uint32_t cp, min;
    if (c >= 0xc2 && c <= 0xdf) len = 2, cp = c & 0x1f, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef) len = 3, cp = c & 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4) len = 4, cp = c & 0x07, min = 0x10000;
    else return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0; /* also stops at the NUL terminator */
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return len;
}

/* "..." with \" \\ \n \t and \xHH for every other control byte and for bytes that are
 * not part of well-formed UTF-8, so any byte string survives a round trip. */
static void print_string(LlmcBuf *out, const char *s) {
    llmc_buf_putc(out, '"');
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned char c = *p;
        if (c == '"') llmc_buf_puts(out, "\\\"");
        else if (c == '\\') llmc_buf_puts(out, "\\\\");
        else if (c == '\n') llmc_buf_puts(out, "\\n");
        else if (c == '\t') llmc_buf_puts(out, "\\t");
        else if (c < 0x20 || c == 0x7f) llmc_buf_printf(out, "\\x%02x", c);
        else if (c < 0x80) llmc_buf_putc(out, (char)c);
        else {
            size_t len = utf8_seq_len(p);
            if (len == 0) {
                llmc_buf_printf(out, "\\x%02x", c);
            } else {
                llmc_buf_put(out, (const char *)p, len);
                p += len;
                continue;
            }
        }
        p++;
    }
    llmc_buf_putc(out, '"');
}

static void print_type(LlmcBuf *out, const IrType *t) {
    llmc_buf_printf(out, "%s[", ir_dtype_name(t->dtype));
    uint32_t rank = t->rank <= IR_MAX_RANK ? t->rank : IR_MAX_RANK;
    for (uint32_t i = 0; i < rank; i++) llmc_buf_printf(out, i ? ",%lld" : "%lld", (long long)t->dims[i]);
    llmc_buf_putc(out, ']');
}

static const char *str_or_empty(const IrGraph *g, uint32_t id) {
    return id < g->strings.count ? ir_graph_str(g, id) : "";
}

/* --- attributes and the train record ------------------------------------------------
 * One code path for both: a schema, the base its field offsets are relative to (an
 * IrAttrs or an IrTrainConfig), and the dtype DATA values are written in (the node's;
 * the record has no DATA field). */

static const void *field_ptr(const void *base, const IrAttrField *f) { return (const char *)base + f->offset; }

/* Bitwise for FLOAT, so -0 and NaN payloads that differ from the default still print. */
static bool field_is_default(const void *base, const IrAttrField *f) {
    const void *p = field_ptr(base, f);
    switch (f->kind) {
    case IR_ATTR_INT: return *(const int64_t *)p == f->default_int;
    case IR_ATTR_BOOL: return *(const bool *)p == (f->default_int != 0);
    case IR_ATTR_ENUM: return *(const int *)p == (int)f->default_int;
    case IR_ATTR_INTS: return ((const IrInts *)p)->n == 0;
    case IR_ATTR_STRING: return *(const uint32_t *)p == 0;
    case IR_ATTR_DATA: return ((const IrData *)p)->count == 0;
    case IR_ATTR_FLOAT: return memcmp(p, &f->default_float, sizeof(double)) == 0;
    case IR_ATTR_INVALID:
    case IR_ATTR_COUNT: break;
    }
    return true;
}

static void print_element(LlmcBuf *out, IrDtype dt, const void *bytes, uint64_t i) {
    char num[48];
    switch (dt) {
    case IR_DTYPE_F32: ir_format_f32(((const float *)bytes)[i], num, sizeof num); break;
    case IR_DTYPE_F64: ir_format_f64(((const double *)bytes)[i], num, sizeof num); break;
    case IR_DTYPE_I32: snprintf(num, sizeof num, "%d", (int)((const int32_t *)bytes)[i]); break;
    case IR_DTYPE_BF16: {
        /* bf16 is the top half of an f32: print that f32, which is exact. */
        uint32_t bits = (uint32_t)((const uint16_t *)bytes)[i] << 16;
        float f;
        memcpy(&f, &bits, sizeof f);
        ir_format_f32(f, num, sizeof num);
        break;
    }
    case IR_DTYPE_INVALID:
    case IR_DTYPE_COUNT: snprintf(num, sizeof num, "?"); break;
    }
    llmc_buf_puts(out, num);
}

/* A single value prints bare; anything else as a list. */
static void print_data(LlmcBuf *out, IrDtype dt, const IrData *d) {
    if (!d->bytes || d->count == 0 || ir_dtype_size(dt) == 0) {
        llmc_buf_puts(out, "[]");
        return;
    }
    if (d->count == 1) {
        print_element(out, dt, d->bytes, 0);
        return;
    }
    llmc_buf_putc(out, '[');
    for (uint64_t i = 0; i < d->count; i++) {
        if (i) llmc_buf_puts(out, ", ");
        print_element(out, dt, d->bytes, i);
    }
    llmc_buf_putc(out, ']');
}

static void print_enum(LlmcBuf *out, const IrAttrField *f, int v) {
    int count = 0;
    while (f->enum_names[count]) count++;
    if (v >= 0 && v < count && f->enum_names[v][0])
        llmc_buf_puts(out, f->enum_names[v]);
    else
        llmc_buf_printf(out, "%d", v);
}

static void print_field_value(LlmcBuf *out, const IrGraph *g, const void *base, IrDtype data_dtype,
                              const IrAttrField *f) {
    const void *p = field_ptr(base, f);
    switch (f->kind) {
    case IR_ATTR_INT: llmc_buf_printf(out, "%lld", (long long)*(const int64_t *)p); break;
    case IR_ATTR_BOOL: llmc_buf_puts(out, *(const bool *)p ? "true" : "false"); break;
    case IR_ATTR_ENUM: print_enum(out, f, *(const int *)p); break;
    case IR_ATTR_INTS: {
        const IrInts *v = p;
        uint32_t count = v->n <= IR_MAX_RANK ? v->n : IR_MAX_RANK;
        llmc_buf_putc(out, '[');
        for (uint32_t i = 0; i < count; i++) llmc_buf_printf(out, i ? ", %lld" : "%lld", (long long)v->v[i]);
        llmc_buf_putc(out, ']');
        break;
    }
    case IR_ATTR_STRING: print_string(out, str_or_empty(g, *(const uint32_t *)p)); break;
    case IR_ATTR_DATA: print_data(out, data_dtype, p); break;
    case IR_ATTR_FLOAT: {
        char num[48];
        ir_format_f64(*(const double *)p, num, sizeof num);
        llmc_buf_puts(out, num);
        break;
    }
    case IR_ATTR_INVALID:
    case IR_ATTR_COUNT: llmc_buf_puts(out, "?"); break;
    }
}

/* " {a=1, b=2}": the fields of base in schema order, defaults left out unless required;
 * nothing at all when no field prints, unless `braces` asks for " {}". */
static void print_fields(LlmcBuf *out, const IrGraph *g, const IrAttrSchema *s, const void *base,
                         IrDtype data_dtype, bool braces) {
    bool any = false;
    for (uint32_t i = 0; i < s->count; i++) {
        const IrAttrField *f = &s->fields[i];
        if (!f->required && field_is_default(base, f)) continue;
        llmc_buf_puts(out, any ? ", " : " {");
        any = true;
        llmc_buf_printf(out, "%s=", f->name);
        print_field_value(out, g, base, data_dtype, f);
    }
    if (any)
        llmc_buf_putc(out, '}');
    else if (braces)
        llmc_buf_puts(out, " {}");
}

/* "  train {accumulate=1, batch=1, ...}": the whole record on one line. */
static void print_train(LlmcBuf *out, const IrGraph *g) {
    llmc_buf_puts(out, "  train");
    print_fields(out, g, ir_train_schema(), &g->train, IR_DTYPE_INVALID, true);
    llmc_buf_putc(out, '\n');
}

/* --- nodes and graphs ---------------------------------------------------------------- */

/* "  # scope @ "file":L:C", each half only when present. */
static void print_provenance(LlmcBuf *out, const IrGraph *g, const IrNode *n) {
    const char *scope = str_or_empty(g, n->scope);
    bool has_loc = n->loc.file || n->loc.line || n->loc.col;
    if (!*scope && !has_loc) return;
    llmc_buf_puts(out, "  #");
    if (*scope) {
        llmc_buf_putc(out, ' ');
        if (is_bare_scope(scope))
            llmc_buf_puts(out, scope);
        else
            print_string(out, scope);
    }
    if (has_loc) {
        llmc_buf_puts(out, " @ ");
        print_string(out, str_or_empty(g, n->loc.file));
        llmc_buf_printf(out, ":%u:%u", n->loc.line, n->loc.col);
    }
}

static void print_node(LlmcBuf *out, const IrGraph *g, IrId id) {
    const IrNode *n = &g->nodes[id];
    llmc_buf_printf(out, "  %%%u = %s(", id, ir_op_name(n->op));
    for (uint32_t i = 0; i < n->n_operands; i++) llmc_buf_printf(out, i ? ", %%%u" : "%%%u", n->operands[i]);
    llmc_buf_putc(out, ')');
    if (n->op > IR_OP_INVALID && n->op < IR_OP_COUNT)
        print_fields(out, g, ir_op_info(n->op)->attrs, &n->attrs, n->type.dtype, false);
    llmc_buf_puts(out, " : ");
    print_type(out, &n->type);
    print_provenance(out, g, n);
    llmc_buf_putc(out, '\n');
}

static void print_graph_name(LlmcBuf *out, const char *name) {
    llmc_buf_putc(out, '@');
    if (is_bare_name(name))
        llmc_buf_puts(out, name);
    else
        print_string(out, name);
}

void ir_print_graph(const IrGraph *g, LlmcBuf *out) {
    llmc_buf_puts(out, "graph ");
    print_graph_name(out, ir_graph_name(g));
    llmc_buf_puts(out, " {\n");
    if (g->train.present) print_train(out, g);
    for (IrId id = 0; id < g->n_nodes; id++) print_node(out, g, id);
    for (uint32_t o = 0; o < g->n_outputs; o++) {
        llmc_buf_puts(out, "  output ");
        print_string(out, str_or_empty(g, g->outputs[o].name));
        llmc_buf_printf(out, " = %%%u\n", g->outputs[o].node);
    }
    llmc_buf_puts(out, "}\n");
}

void ir_print_module(const IrModule *m, LlmcBuf *out) {
    for (uint32_t i = 0; i < m->n_graphs; i++) {
        if (i) llmc_buf_putc(out, '\n');
        ir_print_graph(m->graphs[i], out);
    }
}

/* --- Graphviz ------------------------------------------------------------------------ */

/* Inside a DOT "..." string: quotes and backslashes escaped, newlines as \n, other
 * control bytes (which Graphviz rejects) as spaces. */
static void dot_escape(LlmcBuf *out, const char *s) {
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') llmc_buf_putc(out, '\\');
        if (c == '\n')
            llmc_buf_puts(out, "\\n");
        else
            llmc_buf_putc(out, c < 0x20 || c == 0x7f ? ' ' : (char)c);
    }
}

static const char *dot_style(const IrNode *n) {
    if (n->op != IR_OP_INPUT) {
        if (n->op == IR_OP_CONST) return "shape=box, style=\"rounded,filled\", fillcolor=\"#eeeeee\"";
        return "shape=box";
    }
    switch (n->attrs.input.role) {
    case IR_ROLE_PARAM: return "shape=invhouse, style=filled, fillcolor=\"#c6dbef\"";
    case IR_ROLE_STATE: return "shape=invhouse, style=filled, fillcolor=\"#fdd0a2\"";
    case IR_ROLE_DATA: return "shape=invhouse, style=filled, fillcolor=\"#c7e9c0\"";
    case IR_ROLE_INVALID:
    case IR_ROLE_COUNT: break;
    }
    return "shape=invhouse";
}

void ir_print_dot(const IrGraph *g, LlmcBuf *out) {
    llmc_buf_puts(out, "digraph \"");
    dot_escape(out, ir_graph_name(g));
    llmc_buf_puts(out, "\" {\n  node [fontname=\"monospace\"];\n");
    for (IrId id = 0; id < g->n_nodes; id++) {
        const IrNode *n = &g->nodes[id];
        char type[IR_TYPE_STR_MAX];
        llmc_buf_printf(out, "  n%u [label=\"%%%u ", id, id);
        dot_escape(out, ir_op_name(n->op));
        if (n->op == IR_OP_INPUT) {
            llmc_buf_puts(out, " ");
            dot_escape(out, str_or_empty(g, n->attrs.input.name));
            llmc_buf_printf(out, " (%s)", ir_role_name(n->attrs.input.role));
        }
        llmc_buf_puts(out, "\\n");
        dot_escape(out, ir_type_format(&n->type, type, sizeof type));
        const char *scope = str_or_empty(g, n->scope);
        if (*scope) {
            llmc_buf_puts(out, "\\n");
            dot_escape(out, scope);
        }
        llmc_buf_printf(out, "\", %s];\n", dot_style(n));
    }
    for (IrId id = 0; id < g->n_nodes; id++) {
        const IrNode *n = &g->nodes[id];
        for (uint32_t i = 0; i < n->n_operands; i++) llmc_buf_printf(out, "  n%u -> n%u;\n", n->operands[i], id);
    }
    for (uint32_t o = 0; o < g->n_outputs; o++) {
        llmc_buf_printf(out, "  out%u [label=\"output ", o);
        dot_escape(out, str_or_empty(g, g->outputs[o].name));
        llmc_buf_puts(out, "\", shape=house, style=filled, fillcolor=\"#fcbba1\"];\n");
        llmc_buf_printf(out, "  n%u -> out%u;\n", g->outputs[o].node, o);
    }
    llmc_buf_puts(out, "}\n");
}
