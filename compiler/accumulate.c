/* compiler/accumulate.c — CcAccum: summing values over micro-batches in the one fixed
 * binary-tree order of DESIGN §8, with O(log n) partial sums alive.
 *
 * The order. A stack of partial sums, each with a level (it sums 2^level consecutive
 * micro-batches), works like a binary counter over the micro-batch index:
 *   push(x_i):  put x_i on top at level 0; while the top two have equal level, pop both
 *               and push (older + newer) at level + 1.
 *   finish():   with s_0 (bottom, oldest) .. s_k (top) left, the result is
 *               s_0 + (s_1 + (... + (s_{k-1} + s_k))), folding from the top.
 * After n pushes the stack holds the binary decomposition of n, largest block first, so
 *   n = 4: ((x0 + x1) + (x2 + x3))       n = 3: ((x0 + x1) + x2)
 *   n = 5: (((x0 + x1) + (x2 + x3)) + x4)
 *   n = 7: (((x0 + x1) + (x2 + x3)) + ((x4 + x5) + x6))
 * which is exactly the interpreter's all_reduce tree over n ranks (pairs level by level,
 * the odd one out moving up; ir/interp_collective.c), so 1 rank accumulating n
 * micro-batches and n ranks all-reducing one each agree bit for bit (tested); so do R
 * ranks that each finish an aligned block of 2^k micro-batches and all-reduce. A split
 * into blocks that are not powers of two (6 over 2 ranks: 3 each) must combine the
 * ranks' partial stacks rather than their finished sums to keep the order.
 *
 * Arithmetic: elementwise over each value; an f32 value in IR_PRECISION_F32 has every
 * pairwise sum rounded to float (as an f32 buffer would), f64 values and f32 values in
 * IR_PRECISION_F64 are not rounded; i32 values add exactly (in double).
 * Deliberately not here: anything about which micro-batches a rank runs, communication,
 * or averaging (callers divide by the count).
 */
#include "compiler.h"

#include <stdlib.h>
#include <string.h>

typedef struct Partial {
    uint32_t level;
    IrValue *vals; /* [n_values] */
} Partial;

struct CcAccum {
    IrType *types; /* [n_values] */
    uint32_t n_values;
    IrPrecision precision;
    Partial stack[64]; /* a counter over up to 2^64 - 1 pushes never needs more */
    uint32_t depth;
};

CcAccum *cc_accum_new(const IrType *types, uint32_t n_values, IrPrecision precision) {
    LLMC_ASSERT(precision == IR_PRECISION_F32 || precision == IR_PRECISION_F64);
    CcAccum *a = llmc_xcalloc(1, sizeof *a);
    a->types = llmc_xcalloc(n_values ? n_values : 1, sizeof *a->types);
    if (n_values) memcpy(a->types, types, n_values * sizeof *types);
    a->n_values = n_values;
    a->precision = precision;
    return a;
}

static void free_vals(CcAccum *a, IrValue *vals) {
    for (uint32_t i = 0; i < a->n_values; i++) ir_value_free(&vals[i]);
    free(vals);
}

/* older += newer, elementwise, rounded as the banner says. */
static void add_into(const CcAccum *a, IrValue *older, const IrValue *newer) {
    for (uint32_t i = 0; i < a->n_values; i++) {
        bool round = a->types[i].dtype == IR_DTYPE_F32 && a->precision == IR_PRECISION_F32;
        int64_t n = ir_type_numel(&a->types[i]);
        double *x = older[i].data;
        const double *y = newer[i].data;
        for (int64_t e = 0; e < n; e++) {
            double s = x[e] + y[e];
            x[e] = round ? (double)(float)s : s;
        }
    }
}

void cc_accum_push(CcAccum *a, const IrValue *values) {
    LLMC_ASSERT(a->depth < sizeof a->stack / sizeof a->stack[0]);
    IrValue *copy = llmc_xcalloc(a->n_values ? a->n_values : 1, sizeof *copy);
    for (uint32_t i = 0; i < a->n_values; i++) {
        LLMC_ASSERT(ir_type_equal(&values[i].type, &a->types[i]));
        ir_value_alloc(&copy[i], a->types[i]);
        memcpy(copy[i].data, values[i].data, (size_t)ir_type_numel(&a->types[i]) * sizeof(double));
    }
    a->stack[a->depth++] = (Partial){0, copy};
    while (a->depth >= 2 && a->stack[a->depth - 1].level == a->stack[a->depth - 2].level) {
        Partial *older = &a->stack[a->depth - 2], *newer = &a->stack[a->depth - 1];
        add_into(a, older->vals, newer->vals);
        free_vals(a, newer->vals);
        older->level++;
        a->depth--;
    }
}

void cc_accum_finish(CcAccum *a, IrValue *out) {
    LLMC_ASSERT(a->depth >= 1); /* nothing pushed: there is no sum of nothing with a type */
    /* acc = s_k; then acc = s_j + acc for j = k-1 .. 0, each into the older partial. */
    while (a->depth >= 2) {
        Partial *older = &a->stack[a->depth - 2], *newer = &a->stack[a->depth - 1];
        add_into(a, older->vals, newer->vals);
        free_vals(a, newer->vals);
        a->depth--;
    }
    for (uint32_t i = 0; i < a->n_values; i++) out[i] = a->stack[0].vals[i]; /* ownership moves */
    free(a->stack[0].vals);
    a->depth = 0; /* empty again: ready for the next step */
}

void cc_accum_free(CcAccum *a) {
    if (!a) return;
    for (uint32_t d = 0; d < a->depth; d++) free_vals(a, a->stack[d].vals);
    free(a->types);
    free(a);
}
