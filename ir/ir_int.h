/* ir/ir_int.h — private to ir/: the per-op function tables' signatures.
 *
 * The op table rows (ops.def) name, for each op, a shape-rule family and an attribute
 * schema; the interpreter function is named from the mnemonic. Each table is built by
 * expanding ops.def, so a missing function is a compile or link error.
 */
#ifndef LLMC_IR_INT_H
#define LLMC_IR_INT_H

#include "ir.h"

/* --- attribute schemas (ops.c) ----------------------------------------------------- */
#define IR_SCHEMA_DECL(name) extern const IrAttrSchema ir_attr_schema_##name;
IR_SCHEMA_DECL(none)
IR_SCHEMA_DECL(input)
IR_SCHEMA_DECL(const)
IR_SCHEMA_DECL(reduce)
IR_SCHEMA_DECL(permute)
IR_SCHEMA_DECL(broadcast)
IR_SCHEMA_DECL(slice)
IR_SCHEMA_DECL(axis)
IR_SCHEMA_DECL(matmul)
IR_SCHEMA_DECL(gather)
IR_SCHEMA_DECL(topk)
IR_SCHEMA_DECL(cumsum)
IR_SCHEMA_DECL(rand)
IR_SCHEMA_DECL(extern_call)
IR_SCHEMA_DECL(all_gather)
IR_SCHEMA_DECL(reduce_scatter)
IR_SCHEMA_DECL(all_reduce)
IR_SCHEMA_DECL(all_to_all)
IR_SCHEMA_DECL(attention)
IR_SCHEMA_DECL(attention_grad)
#undef IR_SCHEMA_DECL

extern const char *const ir_role_names[];   /* indexed by IrRole; [0] = NULL-free "?" */
extern const char *const ir_dist_names[];
extern const char *const ir_reduce_names[];
extern const char *const ir_attention_wrt_names[];

/* --- shape rules (shape.c) -----------------------------------------------------------
 * Given n's op, operands, attrs and, for hinted ops, n->type (the requested result
 * type), compute the result type or fail with a message naming op and shapes. */
typedef bool (*IrShapeFn)(const IrGraph *g, const IrNode *n, IrType *out, LlmcErr *err);
#define IR_OP(ENUM, mn, arity, kind, traits, attrs, shape, flops)                            \
    bool ir_shape_##shape(const IrGraph *g, const IrNode *n, IrType *out, LlmcErr *err);
#include "ops.def"
#undef IR_OP
extern const IrShapeFn ir_shape_table[IR_OP_COUNT];

/* --- interpreter (interp.c drives; interp_*.c hold the ops) ---------------------------
 * One call computes one node's result on one simulated rank. `out` arrives allocated
 * (zeroed) with the node's type; the driver rounds it to the dtype afterwards.
 * Collectives read every rank's operand 0 from `peers`. */
typedef struct IrInterpCall {
    const IrGraph *g;
    const IrNode *node;
    IrId id;
    IrPrecision precision;
    uint32_t rank, ranks;
    const IrValue *const *args;  /* [node->n_operands] on this rank */
    const IrValue *const *peers; /* [ranks]: operand 0 on each rank; collectives only */
    IrValue *out;
    const IrInterpOptions *opt;
    LlmcErr *err;
} IrInterpCall;
typedef bool (*IrInterpFn)(const IrInterpCall *c);
#define IR_OP(ENUM, mn, arity, kind, traits, attrs, shape, flops) bool ir_interp_##mn(const IrInterpCall *c);
#include "ops.def"
#undef IR_OP

/* An input node has no operands: the driver passes the caller's value for it on this
 * rank as args[0] (type already checked), so ir_interp_input is an ordinary table entry.
 *
 * Helpers shared by the interpreter's op files (defined in interp.c). */
/* v reduced modulo 2^32 into [INT32_MIN, INT32_MAX]: how i32 arithmetic wraps. */
int64_t ir_interp_wrap_i32(int64_t v);
/* a + b as the dtype adds: exact with 2^32 wraparound for i32, an unrounded double add
 * otherwise (the driver rounds the finished result). */
double ir_interp_accum(IrDtype dt, double a, double b);
/* Row-major coordinates of element `index` of a tensor of type t: coords[t->rank]. */
void ir_type_unravel(const IrType *t, int64_t index, int64_t *coords);

/* Row-major strides of a type: strides[i] = prod(dims[i+1..]). */
void ir_type_strides(const IrType *t, int64_t *strides);

/* Reads a const node's element i (splat-aware) as double. */
double ir_const_get(const IrNode *n, uint64_t i);

/* --- verifying a graph read from .llir (verify.c; the parser uses it) ------------------
 * ir_verify, plus where the graph's `train {...}` line is in src, so that a range error
 * in the record points at it. train_pos NULL: no position, exactly ir_verify. */
bool ir_verify_text(const IrGraph *g, LlmcDiags *diags, const LlmcSource *src, const IrTextPos *pos,
                    const IrTextPos *train_pos);

/* --- .llir float literals (text_float.c; the parser and tests use them) ---------------
 * Reads one literal of the forms ir_format_f32/f64 print: a decimal ("-1.5e-3"), inf,
 * -inf, nan, -nan (the canonical quiet NaN with the sign bit set) and nan:0xBITS (the
 * full bit pattern: 8 hex digits for f32, 16 for f64; it must be a NaN). s[0..n) need
 * not be NUL-terminated. A finite decimal beyond the type's range is IR_FLOAT_RANGE;
 * one too small rounds to zero or a subnormal as strtod does. */
typedef enum IrFloatParse {
    IR_FLOAT_OK = 0,
    IR_FLOAT_SYNTAX,   /* not a float literal */
    IR_FLOAT_RANGE,    /* finite literal that overflows the type */
    IR_FLOAT_NAN_BITS, /* nan:0x with the wrong digit count or bits that are no NaN */
} IrFloatParse;
IrFloatParse ir_parse_f32(const char *s, size_t n, float *out);
IrFloatParse ir_parse_f64(const char *s, size_t n, double *out);

#endif /* LLMC_IR_INT_H */
