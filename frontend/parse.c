/* frontend/parse.c — the .llm parser: tokens in (lex.c), the AST of frontend.h out.
 *
 * Recursive descent, one function per grammar rule with the rule above it; the whole
 * grammar is also in docs/llm.md. END ends a statement: a NEWLINE, a ';', or (not
 * consumed) the '}' of the enclosing block. A NEWLINE is allowed before the '{' of any
 * block and before 'else'; the lexer drops line ends inside parentheses.
 *
 * Every node records the line:col of its first token, except a binary node, which
 * records its operator (where "unsupported operands for '+'" should point).
 *
 * Errors say what was expected and what was found, at the offending token. Recovery:
 * a broken statement is skipped to its end (the next NEWLINE, a ';' outside
 * parentheses, or the '}' closing its block; blocks opened on the way are skipped
 * whole); a broken block header (model, train, repeat, if) is skipped to its '{' and
 * the block is still parsed, so errors inside it are found too. A token the lexer
 * already reported (a bad character) stops the statement silently. At most
 * FE_MAX_ERRORS errors are reported; then the lexer returns only EOF.
 *
 * Limits, so hostile input cannot exhaust the stack, here or in whoever walks the
 * tree: an expression nests at most FE_MAX_EXPR_DEPTH levels, counting both the
 * parser's recursion (parentheses, calls, unary operators, '**') and the height of the
 * tree it builds (where a + b + c ... is as deep as it is long); blocks nest at most
 * FE_MAX_BLOCK_DEPTH (each 'else if' is a level too). Nothing else recurses.
 *
 * Checks made here rather than in the lowering, because they are about the text:
 * exactly one model block and at most one train block, positional arguments before
 * named ones, no argument named twice, tuples of at least two items, no chained
 * comparisons. Everything about meaning (names, types, builtins) is the lowering's.
 */
#include "frontend_int.h"

#include <stdlib.h>
#include <string.h>

typedef struct Parser {
    FeLexer lex;
    FeToken tok;  /* the current token */
    FeToken next; /* the one after it, when have_next */
    bool have_next;
    LlmcArena *arena;
    uint32_t expr_depth, block_depth;
    uint32_t height; /* of the expression a parse function just returned */
    /* program-level state */
    FeProgram *prog;
    FeToken first_model, first_train; /* kind FE_TOK_INVALID until seen */
} Parser;

/* --- tokens -------------------------------------------------------------------------- */

static void advance(Parser *P) {
    if (P->have_next) {
        P->tok = P->next;
        P->have_next = false;
    } else {
        fe_lex_next(&P->lex, &P->tok);
    }
}

static const FeToken *peek(Parser *P) {
    if (!P->have_next) {
        fe_lex_next(&P->lex, &P->next);
        P->have_next = true;
    }
    return &P->next;
}

static bool is(const Parser *P, FeTokKind k) { return P->tok.kind == k; }

static bool accept(Parser *P, FeTokKind k) {
    if (!is(P, k)) return false;
    advance(P);
    return true;
}

static FeLoc loc_of(const FeToken *t) { return (FeLoc){t->line, t->col}; }

static void error_at(Parser *P, const FeToken *t, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void error_at(Parser *P, const FeToken *t, const char *fmt, ...) {
    if (P->lex.stop) return;
    LlmcBuf msg = {0};
    va_list ap;
    va_start(ap, fmt);
    llmc_buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    fe_lex_error(&P->lex, t->line, t->col, "%s", msg.data);
    llmc_buf_free(&msg);
}

/* "expected WHAT, found X" at the current token; silent on a token the lexer already
 * reported. Returns false, for `return expected(...)`. */
static bool expected(Parser *P, const char *what) {
    if (is(P, FE_TOK_ERROR)) return false;
    char buf[FE_DESCRIBE_MAX];
    error_at(P, &P->tok, "expected %s, found %s", what, fe_tok_describe(&P->lex, &P->tok, buf, sizeof buf));
    return false;
}

/* After a missing ')': where the '(' was. */
static void note_open(Parser *P, const FeToken *open, const char *what) {
    if (is(P, FE_TOK_ERROR)) return; /* expected() was silent */
    fe_lex_note(&P->lex, open->line, open->col, "to match this %s", what);
}

/* --- recovery ------------------------------------------------------------------------ */

/* Skips to the end of a broken statement and stops on it, without consuming it: a
 * NEWLINE (unless 'else' follows it), a ';' outside parentheses, the '}' that closes the
 * enclosing block, or EOF. Blocks opened on the way are skipped whole. */
static void skip_stmt(Parser *P) {
    uint32_t braces = 0;
    for (;;) {
        if (is(P, FE_TOK_EOF)) return;
        if (braces == 0) {
            if (is(P, FE_TOK_NEWLINE) && peek(P)->kind != FE_TOK_ELSE) return;
            if (is(P, FE_TOK_SEMI) && P->tok.paren_depth == 0) return;
            if (is(P, FE_TOK_RBRACE)) return;
        }
        if (is(P, FE_TOK_LBRACE)) braces++;
        if (is(P, FE_TOK_RBRACE)) braces--;
        advance(P);
    }
}

/* Recovery in a block header: skips to its '{' (true, positioned on it) or gives up at
 * the end of the statement (false, not consumed). */
static bool skip_to_brace(Parser *P) {
    for (;;) {
        if (is(P, FE_TOK_LBRACE)) return true;
        if (is(P, FE_TOK_NEWLINE)) {
            if (peek(P)->kind != FE_TOK_LBRACE) return false;
            advance(P);
            return true;
        }
        if (is(P, FE_TOK_EOF) || is(P, FE_TOK_RBRACE) || (is(P, FE_TOK_SEMI) && P->tok.paren_depth == 0)) return false;
        advance(P);
    }
}

/* Recovery at the top level, where only blocks and extern declarations may be: on to
 * the next 'model', 'train' or 'extern' that starts a line outside braces, or EOF.
 * Always moves past the current token unless it is EOF. */
static void skip_top(Parser *P) {
    uint32_t braces = 0;
    bool line_start = false;
    while (!is(P, FE_TOK_EOF)) {
        if (braces == 0 && line_start && (is(P, FE_TOK_MODEL) || is(P, FE_TOK_TRAIN) || is(P, FE_TOK_EXTERN)))
            return;
        line_start = is(P, FE_TOK_NEWLINE);
        if (is(P, FE_TOK_LBRACE)) braces++;
        if (is(P, FE_TOK_RBRACE) && braces) braces--;
        advance(P);
    }
}

/* Skips a whole '{' ... '}' (the current token is the '{'). */
static void skip_block(Parser *P) {
    uint32_t braces = 0;
    do {
        if (is(P, FE_TOK_LBRACE)) braces++;
        if (is(P, FE_TOK_RBRACE)) braces--;
        advance(P);
    } while (braces > 0 && !is(P, FE_TOK_EOF));
}

/* --- AST construction ---------------------------------------------------------------- */

/* Grows an arena array to hold one more element (the old copy stays in the arena). */
static void *grow(Parser *P, void *items, uint32_t n, uint32_t *cap, size_t elem) {
    if (n < *cap) return items;
    uint32_t new_cap = *cap ? *cap * 2 : 4;
    void *bigger = llmc_arena_alloc(P->arena, (size_t)new_cap * elem);
    if (n) memcpy(bigger, items, (size_t)n * elem);
    *cap = new_cap;
    return bigger;
}

static FeExpr *new_expr(Parser *P, FeExprKind kind, FeLoc loc) {
    FeExpr *e = llmc_arena_alloc(P->arena, sizeof *e);
    e->kind = kind;
    e->loc = loc;
    return e;
}

static FeStmt *new_stmt(Parser *P, FeStmtKind kind, const FeToken *t) {
    FeStmt *s = llmc_arena_alloc(P->arena, sizeof *s);
    s->kind = kind;
    s->loc = loc_of(t);
    return s;
}

/* --- expressions --------------------------------------------------------------------- */

/* Two guards against deep expressions, both at FE_MAX_EXPR_DEPTH. On the way down,
 * enter() bounds the parser's recursion (parentheses nest without making nodes). On the
 * way up, every parse function leaves the height of the tree it returns in P->height (a
 * leaf is 1) and a node taller than the limit is an error, since whoever walks the
 * tree recurses too, and a + b + c + ... is as deep as it is long. */

static FeExpr *parse_expr(Parser *P);
static FeExpr *parse_unary(Parser *P);

static void too_deep(Parser *P, uint32_t line, uint32_t col) {
    fe_lex_error(&P->lex, line, col, "expression nested too deeply (the limit is %d levels)", FE_MAX_EXPR_DEPTH);
}

/* One more level of recursion; false (reported) past the limit. */
static bool enter(Parser *P) {
    if (P->expr_depth >= FE_MAX_EXPR_DEPTH) {
        too_deep(P, P->tok.line, P->tok.col);
        return false;
    }
    P->expr_depth++;
    return true;
}

static void leave(Parser *P) { P->expr_depth--; }

static uint32_t max_u32(uint32_t a, uint32_t b) { return a > b ? a : b; }

/* Returns e as the result of height h, or NULL (reported at e) if that is too tall. */
static FeExpr *with_height(Parser *P, FeExpr *e, uint32_t h) {
    if (h > FE_MAX_EXPR_DEPTH) {
        too_deep(P, e->loc.line, e->loc.col);
        return NULL;
    }
    P->height = h;
    return e;
}

static FeExpr *new_unary(Parser *P, FeOp op, const FeToken *op_tok, FeExpr *x) {
    FeExpr *e = new_expr(P, FE_EXPR_UNARY, loc_of(op_tok));
    e->u.unary.op = op;
    e->u.unary.x = x;
    return with_height(P, e, P->height + 1);
}

/* arg  := [ IDENT '=' ] expr
 * args := '(' [ arg { ',' arg } [ ',' ] ] ')'        -- positional arguments first
 * The current token is the '('. Sets P->height to the tallest argument's. */
static bool parse_args(Parser *P, FeExpr *call) {
    FeToken open = P->tok;
    advance(P);
    uint32_t cap = 0, height = 0;
    bool ok = true;
    const char *first_named = NULL;
    while (!is(P, FE_TOK_RPAREN)) {
        FeArg arg = {NULL, {0, 0}, NULL};
        FeToken start = P->tok;
        if (is(P, FE_TOK_IDENT) && peek(P)->kind == FE_TOK_ASSIGN) {
            arg.name = P->tok.v.str;
            arg.name_loc = loc_of(&P->tok);
            advance(P);
            advance(P);
        }
        if (!(arg.value = parse_expr(P))) return false;
        height = max_u32(height, P->height);
        if (!arg.name && first_named) {
            error_at(P, &start, "positional argument after the named argument '%s'", first_named);
            ok = false;
        }
        if (arg.name && !first_named) first_named = arg.name;
        uint32_t n = call->u.call.n_args;
        call->u.call.args = grow(P, call->u.call.args, n, &cap, sizeof(FeArg));
        call->u.call.args[n] = arg;
        call->u.call.n_args = n + 1;
        if (accept(P, FE_TOK_COMMA)) continue;
        if (!is(P, FE_TOK_RPAREN)) {
            expected(P, "',' or ')' after an argument");
            note_open(P, &open, "'('");
            return false;
        }
    }
    advance(P);
    P->height = height;
    return ok;
}

static uint32_t name_hash(const char *s) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* No argument named twice (with a hash set, so a call with many arguments is no
 * quadratic trap). Reported at the second, in source order. */
static bool check_duplicate_args(Parser *P, const FeExpr *call) {
    uint32_t n = call->u.call.n_args, cap = 16;
    while (cap < 2 * n) cap *= 2;
    uint32_t *slots = llmc_xcalloc(cap, sizeof *slots); /* arg index + 1; 0: empty */
    bool ok = true;
    for (uint32_t i = 0; i < n; i++) {
        const FeArg *a = &call->u.call.args[i];
        if (!a->name) continue;
        uint32_t h = name_hash(a->name) & (cap - 1);
        while (slots[h] && strcmp(call->u.call.args[slots[h] - 1].name, a->name) != 0) h = (h + 1) & (cap - 1);
        if (!slots[h]) {
            slots[h] = i + 1;
            continue;
        }
        FeLoc first = call->u.call.args[slots[h] - 1].name_loc;
        fe_lex_error(&P->lex, a->name_loc.line, a->name_loc.col, "argument '%s' is given twice", a->name);
        fe_lex_note(&P->lex, first.line, first.col, "'%s' was first given here", a->name);
        ok = false;
    }
    free(slots);
    return ok;
}

/* primary := INT | FLOAT | STRING | 'true' | 'false'
 *          | IDENT [ args ]
 *          | '(' expr ')'
 *          | '(' expr ',' expr { ',' expr } [ ',' ] ')'       -- a tuple */
static FeExpr *parse_primary(Parser *P) {
    FeToken t = P->tok;
    FeExpr *e;
    P->height = 1;
    switch (t.kind) {
    case FE_TOK_INT:
        e = new_expr(P, FE_EXPR_INT, loc_of(&t));
        e->u.i = t.v.i;
        advance(P);
        return e;
    case FE_TOK_FLOAT:
        e = new_expr(P, FE_EXPR_FLOAT, loc_of(&t));
        e->u.f = t.v.f;
        advance(P);
        return e;
    case FE_TOK_STRING:
        e = new_expr(P, FE_EXPR_STRING, loc_of(&t));
        e->u.str = t.v.str;
        advance(P);
        return e;
    case FE_TOK_TRUE:
    case FE_TOK_FALSE:
        e = new_expr(P, FE_EXPR_BOOL, loc_of(&t));
        e->u.b = t.kind == FE_TOK_TRUE;
        advance(P);
        return e;
    case FE_TOK_IDENT: {
        advance(P);
        if (!is(P, FE_TOK_LPAREN)) {
            e = new_expr(P, FE_EXPR_NAME, loc_of(&t));
            e->u.str = t.v.str;
            return e;
        }
        e = new_expr(P, FE_EXPR_CALL, loc_of(&t));
        e->u.call.callee = t.v.str;
        bool ok = parse_args(P, e);
        uint32_t height = P->height;
        ok &= check_duplicate_args(P, e); /* also over the arguments before an error */
        return ok ? with_height(P, e, height + 1) : NULL;
    }
    case FE_TOK_LPAREN: {
        advance(P);
        FeExpr *first = parse_expr(P);
        if (!first) return NULL;
        if (accept(P, FE_TOK_RPAREN)) return first; /* P->height is first's */
        if (!is(P, FE_TOK_COMMA)) {
            expected(P, "')' or ','");
            note_open(P, &t, "'('");
            return NULL;
        }
        advance(P);
        e = new_expr(P, FE_EXPR_TUPLE, loc_of(&t));
        uint32_t cap = 0, height = P->height;
        e->u.tuple.items = grow(P, NULL, 0, &cap, sizeof(FeExpr *));
        e->u.tuple.items[e->u.tuple.n++] = first;
        while (!is(P, FE_TOK_RPAREN)) {
            FeExpr *item = parse_expr(P);
            if (!item) return NULL;
            height = max_u32(height, P->height);
            e->u.tuple.items = grow(P, e->u.tuple.items, e->u.tuple.n, &cap, sizeof(FeExpr *));
            e->u.tuple.items[e->u.tuple.n++] = item;
            if (accept(P, FE_TOK_COMMA)) continue;
            if (!is(P, FE_TOK_RPAREN)) {
                expected(P, "',' or ')' in a tuple");
                note_open(P, &t, "'('");
                return NULL;
            }
        }
        if (e->u.tuple.n < 2) {
            error_at(P, &t, "a tuple needs at least two items");
            return NULL;
        }
        advance(P);
        return with_height(P, e, height + 1);
    }
    case FE_TOK_INVALID: case FE_TOK_EOF: case FE_TOK_NEWLINE: case FE_TOK_MODEL: case FE_TOK_TRAIN: case FE_TOK_EXTERN:
    case FE_TOK_REPEAT: case FE_TOK_AS: case FE_TOK_IF: case FE_TOK_ELSE: case FE_TOK_AND: case FE_TOK_OR:
    case FE_TOK_NOT: case FE_TOK_DIV: case FE_TOK_PLUS: case FE_TOK_MINUS: case FE_TOK_STAR: case FE_TOK_SLASH:
    case FE_TOK_PERCENT: case FE_TOK_POW: case FE_TOK_EQ: case FE_TOK_NE: case FE_TOK_LT: case FE_TOK_LE:
    case FE_TOK_GT: case FE_TOK_GE: case FE_TOK_ASSIGN: case FE_TOK_RPAREN: case FE_TOK_LBRACE:
    case FE_TOK_RBRACE: case FE_TOK_COMMA: case FE_TOK_SEMI: case FE_TOK_ERROR: case FE_TOK_COUNT:
    case FE_TOK_LBRACKET: case FE_TOK_RBRACKET: case FE_TOK_COLON: case FE_TOK_ARROW: break;
    }
    expected(P, "an expression");
    return NULL;
}

/* A binary node over lhs (of height hl) and rhs (of height P->height). */
static FeExpr *binary(Parser *P, FeOp op, const FeToken *op_tok, FeExpr *lhs, uint32_t hl, FeExpr *rhs) {
    FeExpr *e = new_expr(P, FE_EXPR_BINARY, loc_of(op_tok));
    e->u.binary.op = op;
    e->u.binary.lhs = lhs;
    e->u.binary.rhs = rhs;
    return with_height(P, e, max_u32(hl, P->height) + 1);
}

/* power := primary [ '**' unary ]          -- right-associative: 2**3**2 = 2**(3**2),
 *                                             and 2**-1 works */
static FeExpr *parse_power(Parser *P) {
    FeExpr *base = parse_primary(P);
    if (!base || !is(P, FE_TOK_POW)) return base;
    uint32_t hb = P->height;
    FeToken op = P->tok;
    advance(P);
    if (!enter(P)) return NULL;
    FeExpr *exp = parse_unary(P);
    leave(P);
    return exp ? binary(P, FE_OP_POW, &op, base, hb, exp) : NULL;
}

/* unary := '-' unary | power               -- so -2**2 = -(2**2) */
static FeExpr *parse_unary(Parser *P) {
    if (!is(P, FE_TOK_MINUS)) return parse_power(P);
    FeToken op = P->tok;
    advance(P);
    if (!enter(P)) return NULL;
    FeExpr *x = parse_unary(P);
    leave(P);
    return x ? new_unary(P, FE_OP_NEG, &op, x) : NULL;
}

/* The binary operator of a token at one precedence level, or FE_OP_INVALID. */
static FeOp term_op(FeTokKind k) {
    return k == FE_TOK_STAR ? FE_OP_MUL
         : k == FE_TOK_SLASH ? FE_OP_DIV
         : k == FE_TOK_DIV ? FE_OP_FLOORDIV
         : k == FE_TOK_PERCENT ? FE_OP_MOD
         : FE_OP_INVALID;
}

static FeOp sum_op(FeTokKind k) {
    return k == FE_TOK_PLUS ? FE_OP_ADD : k == FE_TOK_MINUS ? FE_OP_SUB : FE_OP_INVALID;
}

static FeOp compare_op(FeTokKind k) {
    return k == FE_TOK_EQ ? FE_OP_EQ
         : k == FE_TOK_NE ? FE_OP_NE
         : k == FE_TOK_LT ? FE_OP_LT
         : k == FE_TOK_LE ? FE_OP_LE
         : k == FE_TOK_GT ? FE_OP_GT
         : k == FE_TOK_GE ? FE_OP_GE
         : FE_OP_INVALID;
}

/* term := unary { ( '*' | '/' | 'div' | '%' ) unary } */
static FeExpr *parse_term(Parser *P) {
    FeExpr *lhs = parse_unary(P);
    FeOp op;
    while (lhs && (op = term_op(P->tok.kind)) != FE_OP_INVALID) {
        uint32_t hl = P->height;
        FeToken t = P->tok;
        advance(P);
        FeExpr *rhs = parse_unary(P);
        lhs = rhs ? binary(P, op, &t, lhs, hl, rhs) : NULL;
    }
    return lhs;
}

/* sum := term { ( '+' | '-' ) term } */
static FeExpr *parse_sum(Parser *P) {
    FeExpr *lhs = parse_term(P);
    FeOp op;
    while (lhs && (op = sum_op(P->tok.kind)) != FE_OP_INVALID) {
        uint32_t hl = P->height;
        FeToken t = P->tok;
        advance(P);
        FeExpr *rhs = parse_term(P);
        lhs = rhs ? binary(P, op, &t, lhs, hl, rhs) : NULL;
    }
    return lhs;
}

/* compare := sum [ ( '==' | '!=' | '<' | '<=' | '>' | '>=' ) sum ]   -- no chains */
static FeExpr *parse_compare(Parser *P) {
    FeExpr *lhs = parse_sum(P);
    FeOp op;
    if (!lhs || (op = compare_op(P->tok.kind)) == FE_OP_INVALID) return lhs;
    uint32_t hl = P->height;
    FeToken t = P->tok;
    advance(P);
    FeExpr *rhs = parse_sum(P);
    if (!rhs) return NULL;
    if (compare_op(P->tok.kind) != FE_OP_INVALID) {
        error_at(P, &P->tok, "comparisons cannot be chained; join them with 'and'");
        return NULL;
    }
    return binary(P, op, &t, lhs, hl, rhs);
}

/* not := 'not' not | compare */
static FeExpr *parse_not(Parser *P) {
    if (!is(P, FE_TOK_NOT)) return parse_compare(P);
    FeToken op = P->tok;
    advance(P);
    if (!enter(P)) return NULL;
    FeExpr *x = parse_not(P);
    leave(P);
    return x ? new_unary(P, FE_OP_NOT, &op, x) : NULL;
}

/* and := not { 'and' not } */
static FeExpr *parse_and(Parser *P) {
    FeExpr *lhs = parse_not(P);
    while (lhs && is(P, FE_TOK_AND)) {
        uint32_t hl = P->height;
        FeToken t = P->tok;
        advance(P);
        FeExpr *rhs = parse_not(P);
        lhs = rhs ? binary(P, FE_OP_AND, &t, lhs, hl, rhs) : NULL;
    }
    return lhs;
}

/* or := and { 'or' and } */
static FeExpr *parse_or(Parser *P) {
    FeExpr *lhs = parse_and(P);
    while (lhs && is(P, FE_TOK_OR)) {
        uint32_t hl = P->height;
        FeToken t = P->tok;
        advance(P);
        FeExpr *rhs = parse_and(P);
        lhs = rhs ? binary(P, FE_OP_OR, &t, lhs, hl, rhs) : NULL;
    }
    return lhs;
}

/* expr := or */
static FeExpr *parse_expr(Parser *P) {
    if (!enter(P)) return NULL;
    FeExpr *e = parse_or(P);
    leave(P);
    return e;
}

/* --- statements ---------------------------------------------------------------------- */

static FeStmt *parse_stmt(Parser *P);

static void body_push(Parser *P, FeBody *b, uint32_t *cap, FeStmt *s) {
    b->stmts = grow(P, b->stmts, b->n, cap, sizeof *b->stmts);
    b->stmts[b->n++] = s;
}

/* body := { stmt END | ';' | NEWLINE }        END := NEWLINE | ';' | before '}'
 * The current token is the block's '{'; consumes through its '}'. */
static bool parse_body(Parser *P, FeBody *out, const char *what) {
    FeToken open = P->tok;
    advance(P);
    uint32_t cap = 0;
    bool ok = true;
    for (;;) {
        if (accept(P, FE_TOK_NEWLINE) || accept(P, FE_TOK_SEMI)) continue;
        if (accept(P, FE_TOK_RBRACE)) return ok;
        if (is(P, FE_TOK_EOF)) {
            char msg[96];
            snprintf(msg, sizeof msg, "'}' to close the %s", what);
            expected(P, msg);
            note_open(P, &open, "'{'");
            return false;
        }
        FeStmt *s = parse_stmt(P);
        if (s && !is(P, FE_TOK_RBRACE) && !is(P, FE_TOK_EOF) && !accept(P, FE_TOK_NEWLINE) && !accept(P, FE_TOK_SEMI)) {
            expected(P, "a new line or ';' after the statement");
            s = NULL;
        }
        if (s) {
            body_push(P, out, &cap, s);
        } else {
            ok = false;
            skip_stmt(P);
        }
    }
}

/* Before a block: moves onto its '{' (past a NEWLINE) and returns true. Without one,
 * reports "expected WHAT" (unless *ok is already false: the header's error was
 * reported), sets *ok false, and skips to a '{' if the statement has one: returns
 * whether it found one. */
static bool at_block(Parser *P, const char *what, bool *ok) {
    if (is(P, FE_TOK_NEWLINE) && peek(P)->kind == FE_TOK_LBRACE) advance(P);
    if (is(P, FE_TOK_LBRACE)) return true;
    if (*ok) expected(P, what);
    *ok = false;
    return skip_to_brace(P);
}

/* block := [ NEWLINE ] '{' body '}'
 * The current token is the '{' (see at_block); `what` names the block. */
static bool parse_block(Parser *P, FeBody *out, const char *what) {
    if (P->block_depth >= FE_MAX_BLOCK_DEPTH) {
        error_at(P, &P->tok, "blocks nested too deeply (the limit is %d levels)", FE_MAX_BLOCK_DEPTH);
        skip_block(P);
        return false;
    }
    P->block_depth++;
    bool ok = parse_body(P, out, what);
    P->block_depth--;
    return ok;
}

/* assign := IDENT '=' expr */
static FeStmt *parse_assign(Parser *P) {
    FeToken name = P->tok;
    advance(P);
    if (!is(P, FE_TOK_ASSIGN)) {
        char msg[96];
        snprintf(msg, sizeof msg, "'=' after '%.40s'", name.v.str);
        expected(P, msg);
        return NULL;
    }
    advance(P);
    FeExpr *value = parse_expr(P);
    if (!value) return NULL;
    FeStmt *s = new_stmt(P, FE_STMT_ASSIGN, &name);
    s->u.assign.name = name.v.str;
    s->u.assign.name_loc = loc_of(&name);
    s->u.assign.value = value;
    return s;
}

static bool is_keyword(FeTokKind k) { return k >= FE_TOK_MODEL && k <= FE_TOK_DIV; }

static bool starts_expr(FeTokKind k) {
    return k == FE_TOK_INT || k == FE_TOK_FLOAT || k == FE_TOK_STRING || k == FE_TOK_TRUE || k == FE_TOK_FALSE ||
           k == FE_TOK_LPAREN || k == FE_TOK_MINUS || k == FE_TOK_NOT;
}

/* repeat := 'repeat' expr [ 'as' IDENT ] block */
static FeStmt *parse_repeat(Parser *P) {
    FeStmt *s = new_stmt(P, FE_STMT_REPEAT, &P->tok);
    advance(P);
    bool ok = true;
    if (!starts_expr(P->tok.kind) && !is(P, FE_TOK_IDENT) && !is(P, FE_TOK_ERROR)) {
        ok = expected(P, "the number of repetitions after 'repeat'");
    } else if (!(s->u.repeat.count = parse_expr(P))) {
        ok = false;
    }
    if (ok && accept(P, FE_TOK_AS)) {
        if (is(P, FE_TOK_IDENT)) {
            s->u.repeat.index = P->tok.v.str;
            advance(P);
        } else {
            ok = expected(P, "a name after 'as'");
        }
    }
    const char *what = s->u.repeat.index ? "'{' after the loop variable" : "'as' or '{' after the repeat count";
    if (!at_block(P, what, &ok)) return NULL;
    ok &= parse_block(P, &s->u.repeat.body, "repeat block");
    return ok ? s : NULL;
}

/* if := 'if' expr block [ [ NEWLINE ] 'else' ( if | block ) ] */
static FeStmt *parse_if(Parser *P) {
    FeStmt *s = new_stmt(P, FE_STMT_IF, &P->tok);
    advance(P);
    bool ok = (s->u.if_.cond = parse_expr(P)) != NULL;
    if (!at_block(P, "'{' after the condition", &ok)) return NULL;
    /* At the depth limit the then block fails, and so would every 'else if' after it:
     * leave the rest of the chain to the statement's recovery. */
    bool too_deep = P->block_depth >= FE_MAX_BLOCK_DEPTH;
    ok &= parse_block(P, &s->u.if_.then_body, "if block");
    if (too_deep) return NULL;
    if (!(is(P, FE_TOK_ELSE) || (is(P, FE_TOK_NEWLINE) && peek(P)->kind == FE_TOK_ELSE))) return ok ? s : NULL;
    accept(P, FE_TOK_NEWLINE);
    advance(P); /* 'else' */
    if (is(P, FE_TOK_IF)) {
        P->block_depth++; /* bounded: the then block above was checked at this depth */
        FeStmt *elif = parse_if(P);
        P->block_depth--;
        if (!elif) return NULL;
        s->u.if_.else_body.stmts = llmc_arena_alloc(P->arena, sizeof(FeStmt *));
        s->u.if_.else_body.stmts[0] = elif;
        s->u.if_.else_body.n = 1;
        return ok ? s : NULL;
    }
    bool else_ok = true;
    if (!at_block(P, "'if' or '{' after 'else'", &else_ok)) return NULL;
    ok &= else_ok;
    ok &= parse_block(P, &s->u.if_.else_body, "else block");
    return ok ? s : NULL;
}

/* stmt := assign | repeat | if */
static FeStmt *parse_stmt(Parser *P) {
    FeTokKind k = P->tok.kind;
    if (k == FE_TOK_IDENT) return parse_assign(P);
    if (k == FE_TOK_REPEAT) return parse_repeat(P);
    if (k == FE_TOK_IF) return parse_if(P);
    if (is_keyword(k) && peek(P)->kind == FE_TOK_ASSIGN)
        error_at(P, &P->tok, "'%s' is a keyword; it cannot be assigned to", fe_tok_kind_text(k));
    else if (k == FE_TOK_ELSE)
        error_at(P, &P->tok, "'else' without an 'if' before it");
    else if (k == FE_TOK_MODEL || k == FE_TOK_TRAIN)
        error_at(P, &P->tok, "a %s block cannot be inside another block (is a '}' missing before it?)",
                 fe_tok_kind_text(k));
    else if (k == FE_TOK_EXTERN)
        error_at(P, &P->tok, "an extern declaration belongs at the top level, outside the blocks");
    else if (starts_expr(k))
        expected(P, "a name to assign to");
    else
        expected(P, "a statement");
    return NULL;
}

/* --- blocks and the program ---------------------------------------------------------- */

/* model_block := 'model' IDENT block
 * train_block := 'train' block
 * A second block of a kind is reported and parsed (for its own errors), then dropped. */
static void parse_top_block(Parser *P) {
    FeToken kw = P->tok;
    bool is_model = kw.kind == FE_TOK_MODEL;
    FeToken *first = is_model ? &P->first_model : &P->first_train;
    bool ok = true;
    if (first->kind != FE_TOK_INVALID) {
        error_at(P, &kw, is_model ? "a second model block (a file has exactly one)"
                                  : "a second train block (a file has at most one)");
        fe_lex_note(&P->lex, first->line, first->col, "the first %s block is here", is_model ? "model" : "train");
        ok = false;
    } else {
        *first = kw;
    }
    FeBlock *b = llmc_arena_alloc(P->arena, sizeof *b);
    b->kind = is_model ? FE_BLOCK_MODEL : FE_BLOCK_TRAIN;
    b->loc = loc_of(&kw);
    advance(P);
    bool header_ok = true;
    if (is_model) {
        if (is(P, FE_TOK_IDENT)) {
            b->name = P->tok.v.str;
            advance(P);
        } else {
            header_ok = expected(P, "the model's name after 'model'");
        }
    }
    if (!at_block(P, is_model ? "'{' after the model's name" : "'{' after 'train'", &header_ok)) {
        skip_top(P);
        return;
    }
    ok &= header_ok;
    ok &= parse_block(P, &b->body, is_model ? "model block" : "train block");
    if (!ok) return;
    if (is_model)
        P->prog->model = b;
    else
        P->prog->train = b;
}

/* xtype := IDENT '[' ( '*' | 'same' ) ']'        -- f32[*], f32[same] */
static bool parse_xtype(Parser *P, FeExternType *t) {
    t->loc = loc_of(&P->tok);
    if (!is(P, FE_TOK_IDENT)) return expected(P, "a tensor type such as f32[*] or f32[same]");
    t->dtype = P->tok.v.str;
    advance(P);
    if (!accept(P, FE_TOK_LBRACKET)) return expected(P, "'[' and a shape ('*' or 'same') after the dtype");
    if (accept(P, FE_TOK_STAR)) {
        t->shape = FE_XSHAPE_ANY;
    } else if (is(P, FE_TOK_IDENT) && strcmp(P->tok.v.str, "same") == 0) {
        t->shape = FE_XSHAPE_SAME;
        advance(P);
    } else {
        return expected(P, "a shape: '*' (any) or 'same' (the first parameter's)");
    }
    if (!accept(P, FE_TOK_RBRACKET)) return expected(P, "']' after the shape");
    return true;
}

/* xsig   := '(' [ xparam { ',' xparam } [ ',' ] ] ')' '->' xtype
 * xparam := IDENT ':' xtype */
static bool parse_xsig(Parser *P, FeExternSig *sig) {
    FeToken open = P->tok;
    if (!accept(P, FE_TOK_LPAREN)) return expected(P, "'(' and the parameters");
    uint32_t cap = 0;
    sig->spelled = true;
    while (!is(P, FE_TOK_RPAREN)) {
        FeExternParam prm = {0};
        prm.loc = loc_of(&P->tok);
        if (!is(P, FE_TOK_IDENT)) return expected(P, "a parameter name or ')'");
        prm.name = P->tok.v.str;
        advance(P);
        if (!accept(P, FE_TOK_COLON)) return expected(P, "':' and the parameter's type");
        if (!parse_xtype(P, &prm.type)) return false;
        sig->params = grow(P, sig->params, sig->n_params, &cap, sizeof *sig->params);
        sig->params[sig->n_params++] = prm;
        if (accept(P, FE_TOK_COMMA)) continue;
        if (!is(P, FE_TOK_RPAREN)) {
            expected(P, "',' or ')'");
            note_open(P, &open, "'('");
            return false;
        }
    }
    advance(P);
    if (!accept(P, FE_TOK_ARROW)) return expected(P, "'->' and the result type");
    return parse_xtype(P, &sig->result);
}

/* extern_decl := 'extern' STRING 'fn' IDENT xsig [ [ NEWLINE ] 'backward' IDENT [ xsig ] ]
 * 'fn', 'backward' and 'same' are plain identifiers elsewhere. */
static void parse_extern(Parser *P) {
    FeExtern x = {0};
    x.loc = loc_of(&P->tok);
    advance(P);
    bool ok = false;
    if (!is(P, FE_TOK_STRING)) {
        expected(P, "the library as a string after 'extern' (extern \"libname.so\" fn ...)");
        goto done;
    }
    x.library = P->tok.v.str;
    x.library_loc = loc_of(&P->tok);
    advance(P);
    if (!is(P, FE_TOK_IDENT) || strcmp(P->tok.v.str, "fn") != 0) {
        expected(P, "'fn' after the library");
        goto done;
    }
    advance(P);
    if (!is(P, FE_TOK_IDENT)) {
        expected(P, "the function's name after 'fn'");
        goto done;
    }
    x.fn.name = P->tok.v.str;
    x.fn.loc = loc_of(&P->tok);
    advance(P);
    if (!parse_xsig(P, &x.fn)) goto done;
    if (is(P, FE_TOK_NEWLINE) && peek(P)->kind == FE_TOK_IDENT && strcmp(peek(P)->v.str, "backward") == 0)
        advance(P);
    if (is(P, FE_TOK_IDENT) && strcmp(P->tok.v.str, "backward") == 0) {
        advance(P);
        x.has_backward = true;
        if (!is(P, FE_TOK_IDENT)) {
            expected(P, "the backward function's name after 'backward'");
            goto done;
        }
        x.backward.name = P->tok.v.str;
        x.backward.loc = loc_of(&P->tok);
        advance(P);
        if (is(P, FE_TOK_LPAREN) && !parse_xsig(P, &x.backward)) goto done;
    }
    if (!is(P, FE_TOK_EOF) && !is(P, FE_TOK_NEWLINE) && !is(P, FE_TOK_SEMI)) {
        expected(P, "the end of the extern declaration");
        goto done;
    }
    ok = true;
done:
    if (!ok) {
        skip_top(P);
        return;
    }
    FeProgram *prog = P->prog;
    FeExtern *v = llmc_arena_alloc(P->arena, (prog->n_externs + 1) * sizeof *v);
    if (prog->n_externs) memcpy(v, prog->externs, prog->n_externs * sizeof *v);
    v[prog->n_externs++] = x;
    prog->externs = v;
}

/* program := { NEWLINE | ';' | model_block | train_block | extern_decl } EOF
 *            -- exactly one model block, at most one train block */
static void parse_program(Parser *P) {
    for (;;) {
        if (accept(P, FE_TOK_NEWLINE) || accept(P, FE_TOK_SEMI)) continue;
        if (is(P, FE_TOK_EOF)) break;
        if (is(P, FE_TOK_MODEL) || is(P, FE_TOK_TRAIN)) {
            parse_top_block(P);
            continue;
        }
        if (is(P, FE_TOK_EXTERN)) {
            parse_extern(P);
            continue;
        }
        expected(P, "a 'model' or 'train' block, or an extern declaration");
        skip_top(P);
    }
    if (P->first_model.kind == FE_TOK_INVALID)
        fe_lex_error(&P->lex, 0, 0, "no model block: a .llm file needs one 'model NAME { ... }'");
}

static void parser_init(Parser *P, const LlmcSource *src, LlmcArena *arena, LlmcDiags *diags) {
    memset(P, 0, sizeof *P);
    P->arena = arena;
    fe_lexer_init(&P->lex, src, arena, diags);
    advance(P);
}

FeProgram *fe_parse(const LlmcSource *src, LlmcDiags *diags) {
    LlmcArena arena = {0};
    FeProgram *prog = llmc_arena_alloc(&arena, sizeof *prog);
    const char *text = src->text ? src->text : "";
    size_t len = src->text ? src->len : 0;
    prog->src.name = src->name ? llmc_arena_strndup(&arena, src->name, strlen(src->name)) : NULL;
    prog->src.text = llmc_arena_strndup(&arena, text, len);
    prog->src.len = len;
    /* Lexed from the caller's text (bounded by its length, which a sanitizer checks);
     * the copy is for diagnostics after the parse. */
    Parser P;
    parser_init(&P, src, &arena, diags);
    P.prog = prog;
    parse_program(&P);
    if (fe_lex_error_count(&P.lex) > 0) {
        llmc_arena_free(&arena);
        return NULL;
    }
    prog->arena = arena;
    return prog;
}

void fe_program_free(FeProgram *p) {
    if (!p) return;
    LlmcArena arena = p->arena; /* p itself lives in the arena */
    llmc_arena_free(&arena);
}

FeExpr *fe_parse_expr(const LlmcSource *src, LlmcArena *arena, LlmcDiags *diags) {
    Parser P;
    parser_init(&P, src, arena, diags);
    FeExpr *e = parse_expr(&P);
    if (e) {
        accept(&P, FE_TOK_NEWLINE);
        if (!is(&P, FE_TOK_EOF)) expected(&P, "the end of the value");
    }
    return fe_lex_error_count(&P.lex) > 0 ? NULL : e;
}
