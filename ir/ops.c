/* ir/ops.c — the op table expanded from ops.def, the attribute schemas, and the small
 * type/dtype helpers every other file uses.
 *
 * Attribute schemas describe each op's typed attribute struct (a member of IrAttrs) field
 * by field, so the printer, the parser and the verifier handle attributes generically and
 * never through raw integer slots. Fields are listed sorted by name: the canonical order.
 * The same mechanism describes the training-config record. This file deliberately holds
 * no op semantics: shape rules are in shape.c, evaluation in interp_*.c.
 */
#include "ir_int.h"

#include <math.h>
#include <string.h>

/* --- enum names ---------------------------------------------------------------------- */

const char *const ir_role_names[] = {"", "param", "state", "data", NULL};
const char *const ir_dist_names[] = {"", "uniform", "normal", NULL};
const char *const ir_reduce_names[] = {"", "sum", "max", NULL};
const char *const ir_attention_wrt_names[] = {"", "q", "k", "v", NULL};

/* --- attribute schemas --------------------------------------------------------------- */

#define FIELD(name_, kind_, member, ...)                                                 \
    { .name = name_, .kind = IR_ATTR_##kind_, .offset = offsetof(IrAttrs, member), __VA_ARGS__ }
#define SCHEMA(name, arr) const IrAttrSchema ir_attr_schema_##name = {arr, sizeof arr / sizeof arr[0]}

const IrAttrSchema ir_attr_schema_none = {NULL, 0};

static const IrAttrField input_fields[] = {
    FIELD("name", STRING, input.name, .required = true),
    FIELD("role", ENUM, input.role, .required = true, .enum_names = ir_role_names),
};
SCHEMA(input, input_fields);

static const IrAttrField const_fields[] = {
    FIELD("value", DATA, constant.value, .required = true),
};
SCHEMA(const, const_fields);

static const IrAttrField reduce_fields[] = {
    FIELD("axis", INT, reduce.axis, .required = true),
    FIELD("keepdims", BOOL, reduce.keepdims),
};
SCHEMA(reduce, reduce_fields);

static const IrAttrField permute_fields[] = {
    FIELD("perm", INTS, permute.perm, .required = true),
};
SCHEMA(permute, permute_fields);

static const IrAttrField broadcast_fields[] = {
    FIELD("dims", INTS, broadcast.dims),
};
SCHEMA(broadcast, broadcast_fields);

static const IrAttrField slice_fields[] = {
    FIELD("end", INTS, slice.end, .required = true),
    FIELD("start", INTS, slice.start, .required = true),
    FIELD("step", INTS, slice.step),
};
SCHEMA(slice, slice_fields);

static const IrAttrField axis_fields[] = {
    FIELD("axis", INT, axis.axis, .required = true),
};
SCHEMA(axis, axis_fields);

static const IrAttrField matmul_fields[] = {
    FIELD("ta", BOOL, matmul.ta),
    FIELD("tb", BOOL, matmul.tb),
};
SCHEMA(matmul, matmul_fields);

static const IrAttrField gather_fields[] = {
    FIELD("axis", INT, gather.axis, .required = true),
    FIELD("batch_dims", INT, gather.batch_dims),
};
SCHEMA(gather, gather_fields);

static const IrAttrField topk_fields[] = {
    FIELD("k", INT, topk.k, .required = true),
};
SCHEMA(topk, topk_fields);

static const IrAttrField cumsum_fields[] = {
    FIELD("axis", INT, cumsum.axis, .required = true),
    FIELD("exclusive", BOOL, cumsum.exclusive),
    FIELD("reverse", BOOL, cumsum.reverse),
};
SCHEMA(cumsum, cumsum_fields);

static const IrAttrField rand_fields[] = {
    FIELD("dist", ENUM, rand.dist, .default_int = IR_RAND_UNIFORM, .enum_names = ir_dist_names),
    FIELD("shard_axis", INT, rand.shard_axis, .default_int = -1),
    FIELD("shards", INT, rand.shards, .default_int = 1),
    FIELD("site", INT, rand.site, .required = true),
};
SCHEMA(rand, rand_fields);

static const IrAttrField extern_call_fields[] = {
    FIELD("backward", STRING, extern_call.backward),
    FIELD("symbol", STRING, extern_call.symbol, .required = true),
};
SCHEMA(extern_call, extern_call_fields);

static const IrAttrField all_gather_fields[] = {
    FIELD("axis", INT, coll.axis, .required = true),
    FIELD("ranks", INT, coll.ranks, .required = true),
};
SCHEMA(all_gather, all_gather_fields);

static const IrAttrField reduce_scatter_fields[] = {
    FIELD("axis", INT, coll.axis, .required = true),
    FIELD("ranks", INT, coll.ranks, .required = true),
    FIELD("reduce", ENUM, coll.reduce, .default_int = IR_REDUCE_SUM, .enum_names = ir_reduce_names),
};
SCHEMA(reduce_scatter, reduce_scatter_fields);

static const IrAttrField all_reduce_fields[] = {
    FIELD("ranks", INT, coll.ranks, .required = true),
    FIELD("reduce", ENUM, coll.reduce, .default_int = IR_REDUCE_SUM, .enum_names = ir_reduce_names),
};
SCHEMA(all_reduce, all_reduce_fields);

static const IrAttrField all_to_all_fields[] = {
    FIELD("concat_axis", INT, coll.concat_axis, .required = true),
    FIELD("ranks", INT, coll.ranks, .required = true),
    FIELD("split_axis", INT, coll.axis, .required = true),
};
SCHEMA(all_to_all, all_to_all_fields);

static const IrAttrField attention_fields[] = {
    FIELD("causal", BOOL, attention.causal),
    FIELD("scale", FLOAT, attention.scale, .required = true),
};
SCHEMA(attention, attention_fields);

static const IrAttrField attention_grad_fields[] = {
    FIELD("causal", BOOL, attention.causal),
    FIELD("scale", FLOAT, attention.scale, .required = true),
    FIELD("wrt", ENUM, attention.wrt, .required = true, .enum_names = ir_attention_wrt_names),
};
SCHEMA(attention_grad, attention_grad_fields);

/* --- the training-config record ----------------------------------------------------- */

static const char *const optimizer_names[] = {"", "adamw", "sgd", NULL};
static const char *const schedule_names[] = {"", "constant", "cosine", "linear", NULL};
static const char *const remat_names[] = {"", "none", "layers", NULL};
static const char *const precision_names[] = {"", "fp32", "bf16", NULL};

#define TFIELD(name_, kind_, member, ...)                                                \
    { .name = name_, .kind = IR_ATTR_##kind_, .offset = offsetof(IrTrainConfig, member), __VA_ARGS__ }

/* Every field is `required` so the printed record always spells the whole recipe out. */
static const IrAttrField train_fields[] = {
    TFIELD("accumulate", INT, accumulate, .required = true, .default_int = 1),
    TFIELD("batch", INT, batch, .required = true, .default_int = 1),
    TFIELD("beta1", FLOAT, beta1, .required = true, .default_float = 0.9),
    TFIELD("beta2", FLOAT, beta2, .required = true, .default_float = 0.95),
    TFIELD("clip_grad_norm", FLOAT, clip_grad_norm, .required = true, .default_float = 0),
    TFIELD("decay_1d", BOOL, decay_1d, .required = true, .default_int = 0),
    TFIELD("decay_embeddings", BOOL, decay_embeddings, .required = true, .default_int = 0),
    TFIELD("eps", FLOAT, eps, .required = true, .default_float = 1e-8),
    TFIELD("lr", FLOAT, lr, .required = true, .default_float = 3e-4),
    TFIELD("min_lr", FLOAT, min_lr, .required = true, .default_float = 0),
    TFIELD("model", STRING, model, .required = true),
    TFIELD("momentum", FLOAT, momentum, .required = true, .default_float = 0),
    TFIELD("optimizer", ENUM, optimizer, .required = true, .default_int = IR_OPTIMIZER_ADAMW,
           .enum_names = optimizer_names),
    TFIELD("precision", ENUM, precision, .required = true, .default_int = IR_TRAIN_FP32,
           .enum_names = precision_names),
    TFIELD("remat", ENUM, remat, .required = true, .default_int = IR_REMAT_NONE, .enum_names = remat_names),
    TFIELD("schedule", ENUM, schedule, .required = true, .default_int = IR_SCHEDULE_CONSTANT,
           .enum_names = schedule_names),
    TFIELD("seed", INT, seed, .required = true, .default_int = 0),
    TFIELD("seq", INT, seq, .required = true, .default_int = 1),
    TFIELD("steps", INT, steps, .required = true, .default_int = 1000),
    TFIELD("warmup", INT, warmup, .required = true, .default_int = 0),
    TFIELD("weight_decay", FLOAT, weight_decay, .required = true, .default_float = 0.1),
};
static const IrAttrSchema train_schema = {train_fields, sizeof train_fields / sizeof train_fields[0]};

const IrAttrSchema *ir_train_schema(void) { return &train_schema; }

void ir_train_defaults(IrTrainConfig *t) {
    memset(t, 0, sizeof *t);
    for (uint32_t i = 0; i < train_schema.count; i++) {
        const IrAttrField *f = &train_fields[i];
        char *p = (char *)t + f->offset;
        if (f->kind == IR_ATTR_INT) *(int64_t *)p = f->default_int;
        if (f->kind == IR_ATTR_BOOL) *(bool *)p = f->default_int != 0;
        if (f->kind == IR_ATTR_ENUM) *(int *)p = (int)f->default_int;
        if (f->kind == IR_ATTR_FLOAT) *(double *)p = f->default_float;
    }
}

bool ir_train_check(const IrTrainConfig *t, LlmcErr *err) {
    const struct { const char *name; int64_t v; } sizes[] = {
        {"batch", t->batch}, {"seq", t->seq}, {"accumulate", t->accumulate}, {"steps", t->steps}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        if (sizes[i].v < 1) {
            llmc_err_set(err, "train: %s must be >= 1, got %lld", sizes[i].name, (long long)sizes[i].v);
            return false;
        }
    if (t->seed < 0 || t->seed > UINT32_MAX) {
        llmc_err_set(err, "train: seed must be in [0, 2^32), got %lld", (long long)t->seed);
        return false;
    }
    /* Written as !(ok) so that nan fails every check; infinities are no recipe either. */
    const struct { const char *name; double v; } reals[] = {{"lr", t->lr}, {"beta1", t->beta1}, {"beta2", t->beta2},
        {"eps", t->eps}, {"weight_decay", t->weight_decay}, {"momentum", t->momentum}, {"min_lr", t->min_lr},
        {"clip_grad_norm", t->clip_grad_norm}};
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++)
        if (isinf(reals[i].v)) return llmc_err_set(err, "train: %s must be finite", reals[i].name), false;
    if (!(t->lr > 0)) return llmc_err_set(err, "train: lr must be > 0, got %g", t->lr), false;
    if (!(t->beta1 >= 0 && t->beta1 < 1)) return llmc_err_set(err, "train: beta1 must be in [0, 1), got %g", t->beta1), false;
    if (!(t->beta2 >= 0 && t->beta2 < 1)) return llmc_err_set(err, "train: beta2 must be in [0, 1), got %g", t->beta2), false;
    if (!(t->eps > 0)) return llmc_err_set(err, "train: eps must be > 0, got %g", t->eps), false;
    if (!(t->weight_decay >= 0)) return llmc_err_set(err, "train: weight_decay must be >= 0, got %g", t->weight_decay), false;
    if (!(t->momentum >= 0 && t->momentum < 1)) return llmc_err_set(err, "train: momentum must be in [0, 1), got %g", t->momentum), false;
    if (t->warmup < 0 || t->warmup > t->steps)
        return llmc_err_set(err, "train: warmup must be in [0, steps=%lld], got %lld", (long long)t->steps, (long long)t->warmup), false;
    if (!(t->min_lr >= 0 && t->min_lr <= t->lr))
        return llmc_err_set(err, "train: min_lr must be in [0, lr=%g], got %g", t->lr, t->min_lr), false;
    if (!(t->clip_grad_norm >= 0)) return llmc_err_set(err, "train: clip_grad_norm must be >= 0 (0 = off), got %g", t->clip_grad_norm), false;
    if ((int)t->optimizer <= 0 || t->optimizer >= IR_OPTIMIZER_COUNT || (int)t->schedule <= 0 ||
        t->schedule >= IR_SCHEDULE_COUNT || (int)t->remat <= 0 || t->remat >= IR_REMAT_COUNT ||
        (int)t->precision <= 0 || t->precision >= IR_TRAIN_PRECISION_COUNT)
        return llmc_err_set(err, "train: an enum field holds an invalid value"), false;
    return true;
}

/* --- the op table -------------------------------------------------------------------- */

static const IrOpInfo op_infos[IR_OP_COUNT] = {
    [IR_OP_INVALID] = {"<invalid>", 0, IR_KIND_INVALID, 0, &ir_attr_schema_none, IR_FLOPS_INVALID},
#define IR_OP(ENUM, mn, arity, kind, traits, attrs, shape, flops)                                \
    [IR_OP_##ENUM] = {#mn, arity, IR_KIND_##kind, traits, &ir_attr_schema_##attrs, IR_FLOPS_##flops},
#include "ops.def"
#undef IR_OP
};

const IrOpInfo *ir_op_info(IrOp op) {
    LLMC_ASSERT(op > IR_OP_INVALID && op < IR_OP_COUNT);
    return &op_infos[op];
}

const char *ir_op_name(IrOp op) {
    if (op <= IR_OP_INVALID || op >= IR_OP_COUNT) return "<invalid>";
    return op_infos[op].name;
}

IrOp ir_op_from_name(const char *s, size_t n) {
    for (int op = 1; op < IR_OP_COUNT; op++)
        if (strlen(op_infos[op].name) == n && memcmp(op_infos[op].name, s, n) == 0) return (IrOp)op;
    return IR_OP_INVALID;
}

const char *ir_role_name(IrRole r) {
    if (r <= IR_ROLE_INVALID || r >= IR_ROLE_COUNT) return "?";
    return ir_role_names[r];
}

void ir_attrs_init_defaults(IrOp op, IrAttrs *a) {
    memset(a, 0, sizeof *a);
    const IrAttrSchema *s = ir_op_info(op)->attrs;
    for (uint32_t i = 0; i < s->count; i++) {
        const IrAttrField *f = &s->fields[i];
        char *p = (char *)a + f->offset;
        switch (f->kind) {
        case IR_ATTR_INT: *(int64_t *)p = f->default_int; break;
        case IR_ATTR_BOOL: *(bool *)p = f->default_int != 0; break;
        case IR_ATTR_ENUM: *(int *)p = (int)f->default_int; break;
        case IR_ATTR_FLOAT: *(double *)p = f->default_float; break;
        case IR_ATTR_INTS:
        case IR_ATTR_STRING:
        case IR_ATTR_DATA:
        case IR_ATTR_INVALID:
        case IR_ATTR_COUNT: break;
        }
    }
}

/* --- dtypes and types ---------------------------------------------------------------- */

static const char *const dtype_names[IR_DTYPE_COUNT] = {"?", "f32", "f64", "i32", "bf16"};
static const size_t dtype_sizes[IR_DTYPE_COUNT] = {0, 4, 8, 4, 2};

const char *ir_dtype_name(IrDtype dt) {
    if (dt <= IR_DTYPE_INVALID || dt >= IR_DTYPE_COUNT) return "?";
    return dtype_names[dt];
}

IrDtype ir_dtype_from_name(const char *s, size_t n) {
    for (int d = 1; d < IR_DTYPE_COUNT; d++)
        if (strlen(dtype_names[d]) == n && memcmp(dtype_names[d], s, n) == 0) return (IrDtype)d;
    return IR_DTYPE_INVALID;
}

size_t ir_dtype_size(IrDtype dt) {
    if (dt <= IR_DTYPE_INVALID || dt >= IR_DTYPE_COUNT) return 0;
    return dtype_sizes[dt];
}

bool ir_dtype_is_float(IrDtype dt) {
    return dt == IR_DTYPE_F32 || dt == IR_DTYPE_F64 || dt == IR_DTYPE_BF16;
}

IrType ir_type_make(IrDtype dt, uint32_t rank, const int64_t *dims) {
    IrType t;
    memset(&t, 0, sizeof t);
    LLMC_ASSERT(rank <= IR_MAX_RANK);
    t.dtype = dt;
    t.rank = rank;
    for (uint32_t i = 0; i < rank; i++) t.dims[i] = dims[i];
    return t;
}

IrType ir_type_scalar(IrDtype dt) { return ir_type_make(dt, 0, NULL); }

/* Saturates at INT64_MAX (and treats negative dims as 0) so that sizes of unverified
 * types never overflow; the verifier rejects such types separately. */
int64_t ir_type_numel(const IrType *t) {
    int64_t n = 1;
    for (uint32_t i = 0; i < t->rank && i < IR_MAX_RANK; i++) {
        int64_t d = t->dims[i] < 0 ? 0 : t->dims[i];
        if (d != 0 && n > INT64_MAX / d) return INT64_MAX;
        n *= d;
    }
    return n;
}

uint64_t ir_type_bytes(const IrType *t) {
    return (uint64_t)ir_type_numel(t) * ir_dtype_size(t->dtype);
}

bool ir_type_same_shape(const IrType *a, const IrType *b) {
    if (a->rank != b->rank) return false;
    for (uint32_t i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i]) return false;
    return true;
}

bool ir_type_equal(const IrType *a, const IrType *b) {
    return a->dtype == b->dtype && ir_type_same_shape(a, b);
}

char *ir_type_format(const IrType *t, char *buf, size_t n) {
    size_t used = (size_t)snprintf(buf, n, "%s[", ir_dtype_name(t->dtype));
    for (uint32_t i = 0; i < t->rank && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, i ? ",%lld" : "%lld", (long long)t->dims[i]);
    if (used < n) snprintf(buf + used, n - used, "]");
    return buf;
}

void ir_type_strides(const IrType *t, int64_t *strides) {
    int64_t s = 1;
    for (uint32_t i = t->rank; i-- > 0;) {
        strides[i] = s;
        s *= t->dims[i];
    }
}

double ir_const_get(const IrNode *n, uint64_t i) {
    const IrData *d = &n->attrs.constant.value;
    LLMC_ASSERT(d->count > 0);
    if (d->count == 1) i = 0;
    LLMC_ASSERT(i < d->count);
    switch (n->type.dtype) {
    case IR_DTYPE_F32: return ((const float *)d->bytes)[i];
    case IR_DTYPE_F64: return ((const double *)d->bytes)[i];
    case IR_DTYPE_I32: return ((const int32_t *)d->bytes)[i];
    case IR_DTYPE_BF16: return ir_bf16_to_double(((const uint16_t *)d->bytes)[i]);
    case IR_DTYPE_INVALID:
    case IR_DTYPE_COUNT: break;
    }
    LLMC_ASSERT(!"const node with invalid dtype");
    return 0;
}
