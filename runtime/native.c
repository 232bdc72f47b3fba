/* runtime/native.c — the interpreter's values (every dtype as double) to and from the
 * dense native buffers that kernels read and write (float, double, int32_t, and bf16 as
 * uint16_t bits: rounded once from the double by ir_bf16_from_double, widened exactly
 * by ir_bf16_to_double, the interpreter's own rounding), and the native tree-ordered
 * accumulator the JIT step uses (the order of compiler/accumulate.c; no bf16: gradients
 * accumulate in f32).
 */
#include "runtime.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void *rt_native_from_value(const IrValue *v) {
    int64_t n = ir_type_numel(&v->type);
    void *p = llmc_xcalloc((size_t)(n ? n : 1), ir_dtype_size(v->type.dtype));
    rt_native_store(v, p);
    return p;
}

void rt_native_store(const IrValue *v, void *p) {
    int64_t n = ir_type_numel(&v->type);
    switch (v->type.dtype) {
    case IR_DTYPE_F32:
        for (int64_t i = 0; i < n; i++) ((float *)p)[i] = (float)v->data[i];
        return;
    case IR_DTYPE_F64: memcpy(p, v->data, (size_t)n * sizeof(double)); return;
    case IR_DTYPE_I32:
        for (int64_t i = 0; i < n; i++) ((int32_t *)p)[i] = (int32_t)v->data[i];
        return;
    case IR_DTYPE_BF16:
        for (int64_t i = 0; i < n; i++) ((uint16_t *)p)[i] = ir_bf16_from_double(v->data[i]);
        return;
    case IR_DTYPE_INVALID:
    case IR_DTYPE_COUNT: break;
    }
    LLMC_ASSERT(!"rt_native_store: unsupported dtype");
}

void rt_native_to_value(const void *p, IrType type, IrValue *out) {
    ir_value_alloc(out, type);
    int64_t n = ir_type_numel(&type);
    switch (type.dtype) {
    case IR_DTYPE_F32:
        for (int64_t i = 0; i < n; i++) out->data[i] = ((const float *)p)[i];
        return;
    case IR_DTYPE_F64: memcpy(out->data, p, (size_t)n * sizeof(double)); return;
    case IR_DTYPE_I32:
        for (int64_t i = 0; i < n; i++) out->data[i] = ((const int32_t *)p)[i];
        return;
    case IR_DTYPE_BF16:
        for (int64_t i = 0; i < n; i++) out->data[i] = ir_bf16_to_double(((const uint16_t *)p)[i]);
        return;
    case IR_DTYPE_INVALID:
    case IR_DTYPE_COUNT: break;
    }
    LLMC_ASSERT(!"rt_native_to_value: unsupported dtype");
}

double rt_native_at(const void *p, IrDtype dt, int64_t i) {
    switch (dt) {
    case IR_DTYPE_F32: return ((const float *)p)[i];
    case IR_DTYPE_F64: return ((const double *)p)[i];
    case IR_DTYPE_I32: return ((const int32_t *)p)[i];
    case IR_DTYPE_BF16: return ir_bf16_to_double(((const uint16_t *)p)[i]);
    case IR_DTYPE_INVALID:
    case IR_DTYPE_COUNT: break;
    }
    return NAN;
}

/* --- RtAccum: compiler/accumulate.c's binary counter over native buffers ------------- */

typedef struct Partial {
    uint32_t level;
    void **vals; /* [n_values] */
} Partial;

struct RtAccum {
    IrType *types;
    uint32_t n_values;
    Partial stack[64];
    uint32_t depth;
};

RtAccum *rt_accum_new(const IrType *types, uint32_t n_values) {
    RtAccum *a = llmc_xcalloc(1, sizeof *a);
    a->types = llmc_xcalloc(n_values ? n_values : 1, sizeof *a->types);
    if (n_values) memcpy(a->types, types, n_values * sizeof *types);
    a->n_values = n_values;
    return a;
}

static void free_vals(RtAccum *a, void **vals) {
    for (uint32_t i = 0; i < a->n_values; i++) free(vals[i]);
    free(vals);
}

/* older += newer in the dtype: f32 sums rounded to float at every addition (as the
 * interpreter's CcAccum does in f32 precision), f64 in double, i32 wrapping. */
static void add_into(const RtAccum *a, void **older, void *const *newer) {
    for (uint32_t i = 0; i < a->n_values; i++) {
        int64_t n = ir_type_numel(&a->types[i]);
        switch (a->types[i].dtype) {
        case IR_DTYPE_F32:
            for (int64_t e = 0; e < n; e++) ((float *)older[i])[e] += ((const float *)newer[i])[e];
            break;
        case IR_DTYPE_F64:
            for (int64_t e = 0; e < n; e++) ((double *)older[i])[e] += ((const double *)newer[i])[e];
            break;
        case IR_DTYPE_I32:
            for (int64_t e = 0; e < n; e++)
                ((int32_t *)older[i])[e] =
                    (int32_t)((uint32_t)((int32_t *)older[i])[e] + (uint32_t)((const int32_t *)newer[i])[e]);
            break;
        case IR_DTYPE_BF16:
        case IR_DTYPE_INVALID:
        case IR_DTYPE_COUNT: LLMC_ASSERT(!"rt_accum: unsupported dtype");
        }
    }
}

void rt_accum_push(RtAccum *a, void *const *values) {
    LLMC_ASSERT(a->depth < sizeof a->stack / sizeof a->stack[0]);
    void **copy = llmc_xcalloc(a->n_values ? a->n_values : 1, sizeof *copy);
    for (uint32_t i = 0; i < a->n_values; i++) {
        uint64_t bytes = ir_type_bytes(&a->types[i]);
        copy[i] = llmc_xmalloc(bytes ? bytes : 1);
        memcpy(copy[i], values[i], bytes);
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

void rt_accum_finish(RtAccum *a, void *const *out) {
    LLMC_ASSERT(a->depth >= 1);
    while (a->depth >= 2) {
        Partial *older = &a->stack[a->depth - 2], *newer = &a->stack[a->depth - 1];
        add_into(a, older->vals, newer->vals);
        free_vals(a, newer->vals);
        a->depth--;
    }
    for (uint32_t i = 0; i < a->n_values; i++) memcpy(out[i], a->stack[0].vals[i], ir_type_bytes(&a->types[i]));
    free_vals(a, a->stack[0].vals);
    a->depth = 0;
}

void rt_accum_free(RtAccum *a) {
    if (!a) return;
    for (uint32_t d = 0; d < a->depth; d++) free_vals(a, a->stack[d].vals);
    free(a->types);
    free(a);
}
