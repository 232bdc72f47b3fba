/* frontend/ast_print.c — the AST as text (`llmc --emit=ast`), and operator spellings.
 *
 * One node per line, children indented by two spaces, every node ending in @LINE:COL
 * (its location, see parse.c). A child that plays a named part is prefixed by it:
 *
 *   model NAME @L:C                    train @L:C
 *   assign NAME @L:C                   + the value
 *   repeat @L:C | repeat as I @L:C     + "count: " expr, then the body's statements
 *   if @L:C                            + "cond: " expr, a line "then" with the body below
 *                                        it, and (when not empty) a line "else" likewise;
 *                                        an 'else if' is an if statement under "else"
 *   int 42 | float 0.0003 | bool true | string "a\"b" | name x   (then @L:C)
 *   tuple @L:C                         + the items
 *   unary - @L:C | unary not @L:C      + the operand
 *   binary + @L:C                      + left, right
 *   call f @L:C                        + "arg: " expr (positional) or
 *                                        "arg NAME @L:C = " expr (named, at the name)
 *
 *   extern "LIB" fn NAME @L:C          + "param X: f32[*] @L:C" per parameter, "result:
 *                                        f32[same] @L:C", and "backward NAME @L:C" with
 *                                        the same children when its signature is spelled
 *
 * Floats print in the shortest form that reads back exactly (ir_format_f64); strings
 * escaped as \" \\ \n \t and \xNN for other control bytes. Extern declarations come
 * first, in order; then the model block, then the train block, whatever their order in
 * the file.
 *
 * Not here: pretty-printing back to .llm source.
 */
#include "frontend_int.h"

const char *fe_op_text(FeOp op) {
    switch (op) {
    case FE_OP_ADD: return "+";
    case FE_OP_SUB: return "-";
    case FE_OP_MUL: return "*";
    case FE_OP_DIV: return "/";
    case FE_OP_FLOORDIV: return "div";
    case FE_OP_MOD: return "%";
    case FE_OP_POW: return "**";
    case FE_OP_EQ: return "==";
    case FE_OP_NE: return "!=";
    case FE_OP_LT: return "<";
    case FE_OP_LE: return "<=";
    case FE_OP_GT: return ">";
    case FE_OP_GE: return ">=";
    case FE_OP_AND: return "and";
    case FE_OP_OR: return "or";
    case FE_OP_NEG: return "-";
    case FE_OP_NOT: return "not";
    case FE_OP_INVALID:
    case FE_OP_COUNT: return "?";
    }
    return "?";
}

static void indent(LlmcBuf *out, int depth) {
    for (int i = 0; i < depth; i++) llmc_buf_puts(out, "  ");
}

static void put_loc(LlmcBuf *out, FeLoc loc) { llmc_buf_printf(out, " @%u:%u\n", loc.line, loc.col); }

static void put_string(LlmcBuf *out, const char *s) {
    llmc_buf_putc(out, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            llmc_buf_putc(out, '\\');
            llmc_buf_putc(out, (char)c);
        } else if (c == '\n') {
            llmc_buf_puts(out, "\\n");
        } else if (c == '\t') {
            llmc_buf_puts(out, "\\t");
        } else if (c < 0x20 || c == 0x7f) {
            llmc_buf_printf(out, "\\x%02x", c);
        } else {
            llmc_buf_putc(out, (char)c);
        }
    }
    llmc_buf_putc(out, '"');
}

/* One expression and its children; the line starts with `part` (may be ""). */
static void print_expr(LlmcBuf *out, const FeExpr *e, int depth, const char *part) {
    indent(out, depth);
    llmc_buf_puts(out, part);
    if (!e) {
        llmc_buf_puts(out, "(null)\n");
        return;
    }
    char num[64];
    switch (e->kind) {
    case FE_EXPR_INT:
        llmc_buf_printf(out, "int %lld", (long long)e->u.i);
        put_loc(out, e->loc);
        return;
    case FE_EXPR_FLOAT:
        ir_format_f64(e->u.f, num, sizeof num);
        llmc_buf_printf(out, "float %s", num);
        put_loc(out, e->loc);
        return;
    case FE_EXPR_BOOL:
        llmc_buf_printf(out, "bool %s", e->u.b ? "true" : "false");
        put_loc(out, e->loc);
        return;
    case FE_EXPR_STRING:
        llmc_buf_puts(out, "string ");
        put_string(out, e->u.str ? e->u.str : "");
        put_loc(out, e->loc);
        return;
    case FE_EXPR_NAME:
        llmc_buf_printf(out, "name %s", e->u.str ? e->u.str : "?");
        put_loc(out, e->loc);
        return;
    case FE_EXPR_TUPLE:
        llmc_buf_puts(out, "tuple");
        put_loc(out, e->loc);
        for (uint32_t i = 0; i < e->u.tuple.n; i++) print_expr(out, e->u.tuple.items[i], depth + 1, "");
        return;
    case FE_EXPR_UNARY:
        llmc_buf_printf(out, "unary %s", fe_op_text(e->u.unary.op));
        put_loc(out, e->loc);
        print_expr(out, e->u.unary.x, depth + 1, "");
        return;
    case FE_EXPR_BINARY:
        llmc_buf_printf(out, "binary %s", fe_op_text(e->u.binary.op));
        put_loc(out, e->loc);
        print_expr(out, e->u.binary.lhs, depth + 1, "");
        print_expr(out, e->u.binary.rhs, depth + 1, "");
        return;
    case FE_EXPR_CALL:
        llmc_buf_printf(out, "call %s", e->u.call.callee ? e->u.call.callee : "?");
        put_loc(out, e->loc);
        for (uint32_t i = 0; i < e->u.call.n_args; i++) {
            const FeArg *a = &e->u.call.args[i];
            if (!a->name) {
                print_expr(out, a->value, depth + 1, "arg: ");
                continue;
            }
            LlmcBuf part2 = {0};
            llmc_buf_printf(&part2, "arg %s @%u:%u = ", a->name, a->name_loc.line, a->name_loc.col);
            print_expr(out, a->value, depth + 1, part2.data);
            llmc_buf_free(&part2);
        }
        return;
    case FE_EXPR_INVALID:
    case FE_EXPR_COUNT: break;
    }
    llmc_buf_puts(out, "?");
    put_loc(out, e->loc);
}

static void print_body(LlmcBuf *out, const FeBody *b, int depth);

static void print_stmt(LlmcBuf *out, const FeStmt *s, int depth) {
    indent(out, depth);
    switch (s->kind) {
    case FE_STMT_ASSIGN:
        llmc_buf_printf(out, "assign %s", s->u.assign.name ? s->u.assign.name : "?");
        put_loc(out, s->loc);
        print_expr(out, s->u.assign.value, depth + 1, "");
        return;
    case FE_STMT_REPEAT:
        llmc_buf_puts(out, "repeat");
        if (s->u.repeat.index) llmc_buf_printf(out, " as %s", s->u.repeat.index);
        put_loc(out, s->loc);
        print_expr(out, s->u.repeat.count, depth + 1, "count: ");
        print_body(out, &s->u.repeat.body, depth + 1);
        return;
    case FE_STMT_IF:
        llmc_buf_puts(out, "if");
        put_loc(out, s->loc);
        print_expr(out, s->u.if_.cond, depth + 1, "cond: ");
        indent(out, depth + 1);
        llmc_buf_puts(out, "then\n");
        print_body(out, &s->u.if_.then_body, depth + 2);
        if (s->u.if_.else_body.n) {
            indent(out, depth + 1);
            llmc_buf_puts(out, "else\n");
            print_body(out, &s->u.if_.else_body, depth + 2);
        }
        return;
    case FE_STMT_INVALID:
    case FE_STMT_COUNT: break;
    }
    llmc_buf_puts(out, "?");
    put_loc(out, s->loc);
}

static void print_body(LlmcBuf *out, const FeBody *b, int depth) {
    for (uint32_t i = 0; i < b->n; i++) print_stmt(out, b->stmts[i], depth);
}

static void print_block(LlmcBuf *out, const FeBlock *b) {
    if (!b) return;
    if (b->kind == FE_BLOCK_MODEL)
        llmc_buf_printf(out, "model %s", b->name ? b->name : "?");
    else
        llmc_buf_puts(out, "train");
    put_loc(out, b->loc);
    print_body(out, &b->body, 1);
}

static void print_xtype(LlmcBuf *out, const FeExternType *t) {
    llmc_buf_printf(out, "%s[%s]", t->dtype ? t->dtype : "?", t->shape == FE_XSHAPE_ANY ? "*" : "same");
    put_loc(out, t->loc);
}

static void print_xsig(LlmcBuf *out, const FeExternSig *sig, int depth) {
    if (!sig->spelled) return;
    for (uint32_t i = 0; i < sig->n_params; i++) {
        indent(out, depth);
        llmc_buf_printf(out, "param %s: ", sig->params[i].name);
        print_xtype(out, &sig->params[i].type);
    }
    indent(out, depth);
    llmc_buf_puts(out, "result: ");
    print_xtype(out, &sig->result);
}

void fe_ast_print(const FeProgram *p, LlmcBuf *out) {
    llmc_buf_put(out, "", 0);
    if (!p) return;
    for (uint32_t i = 0; i < p->n_externs; i++) {
        const FeExtern *x = &p->externs[i];
        llmc_buf_puts(out, "extern ");
        put_string(out, x->library);
        llmc_buf_printf(out, " fn %s", x->fn.name);
        put_loc(out, x->loc);
        print_xsig(out, &x->fn, 1);
        if (x->has_backward) {
            indent(out, 1);
            llmc_buf_printf(out, "backward %s", x->backward.name);
            put_loc(out, x->backward.loc);
            print_xsig(out, &x->backward, 2);
        }
    }
    print_block(out, p->model);
    print_block(out, p->train);
}
