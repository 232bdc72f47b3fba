/* runtime/safetensors.c — the safetensors weight format: a validating reader, an atomic
 * writer, and conversions to and from the interpreter's IrValue.
 *
 * File: u64 little-endian N | N bytes of JSON header | data buffer. The header maps each
 * tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to
 * the data buffer) and may hold "__metadata__": {string: string}.
 *
 * The reader trusts nothing: every size is checked before it is used, arithmetic on
 * file-supplied numbers is overflow-checked, and the tensors must tile the data buffer
 * exactly, as the format requires — so a truncated, padded or spliced file is caught,
 * not silently read. A file read from disk is kept as the one buffer it was read into
 * (the blob) and tensor data points into it: no second copy of the weights.
 *
 * Deliberately not here: dtypes other than F32, F64, I32, BF16 (rejected, naming the
 * tensor); mmap and lazy loading; streaming writes (the writer builds the whole file in
 * memory, then writes it atomically; rt_safetensors_layout gives a writer that places
 * the data itself — checkpoints saved in pieces — the same header and offsets); big-endian
 * hosts (refused at compile time).
 */
#include "runtime.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian and used as is: llmc needs a little-endian host"
#endif

/* The reference implementation's limit: a header this large is corruption, not a model. */
#define MAX_HEADER_BYTES 100000000u

/* ===================================================================================
 * dtypes (bf16 converts with ir_bf16_from_double / ir_bf16_to_double: one rounding)
 * =================================================================================== */

/* The safetensors spelling of a supported dtype; NULL when it cannot be stored. */
static const char *st_dtype_name(IrDtype dt) {
    switch (dt) {
    case IR_DTYPE_F32: return "F32";
    case IR_DTYPE_F64: return "F64";
    case IR_DTYPE_I32: return "I32";
    case IR_DTYPE_BF16: return "BF16";
    case IR_DTYPE_INVALID:
    case IR_DTYPE_COUNT: break;
    }
    return NULL;
}

static IrDtype st_dtype_parse(const char *s) {
    for (int dt = IR_DTYPE_INVALID + 1; dt < IR_DTYPE_COUNT; dt++) {
        const char *n = st_dtype_name((IrDtype)dt);
        if (n && strcmp(n, s) == 0) return (IrDtype)dt;
    }
    return IR_DTYPE_INVALID;
}

/* Element count and byte size of rank/dims in dtype dt, or false if either would exceed
 * INT64_MAX. A zero dimension makes the tensor empty whatever the others are. */
static bool shape_bytes(IrDtype dt, uint32_t rank, const int64_t *dims, uint64_t *numel,
                        uint64_t *bytes) {
    uint64_t n = 1;
    for (uint32_t i = 0; i < rank; i++)
        if (dims[i] == 0) n = 0;
    for (uint32_t i = 0; i < rank && n; i++) {
        uint64_t d = (uint64_t)dims[i];
        if (n > (uint64_t)INT64_MAX / d) return false;
        n *= d;
    }
    uint64_t size = ir_dtype_size(dt);
    if (n > (uint64_t)INT64_MAX / size) return false;
    *numel = n;
    *bytes = n * size;
    return true;
}

/* ===================================================================================
 * Reader
 * =================================================================================== */

/* Where one tensor sits in the data buffer, for the tiling check. */
typedef struct Span {
    uint64_t begin, end;
    uint32_t index; /* into out->tensors */
} Span;

/* A JSON value as a message fragment: "-3", "2.5", "a string", "true". */
static const char *describe_json(const RtJson *v, char *buf, size_t n) {
    switch (v->kind) {
    case RT_JSON_NUMBER:
        /* "24.0" stays visibly a non-integer: the text was not an integer literal. */
        if (v->is_int) snprintf(buf, n, "%lld", (long long)v->integer);
        else if (v->number == floor(v->number) && fabs(v->number) < 1e17)
            snprintf(buf, n, "%.1f", v->number);
        else snprintf(buf, n, "%.17g", v->number);
        return buf;
    case RT_JSON_BOOL: return v->boolean ? "true" : "false";
    case RT_JSON_NULL: return "null";
    case RT_JSON_STRING: return "a string";
    case RT_JSON_ARRAY: return "an array";
    case RT_JSON_OBJECT: return "an object";
    case RT_JSON_INVALID:
    case RT_JSON_KIND_COUNT: break;
    }
    return "?";
}

/* Field `key` of tensor entry e, required to be of kind `kind`. */
static const RtJson *entry_field(const char *file, const RtJson *e, const char *key, RtJsonKind kind,
                                 LlmcErr *err) {
    const RtJson *f = rt_json_get(e, key);
    char d[48];
    if (!f)
        llmc_err_set(err, "%s: tensor '%s': missing field '%s'", file, e->key, key);
    else if (f->kind != kind)
        llmc_err_set(err, "%s: tensor '%s': field '%s' must be %s %s, not %s", file, e->key, key,
                     kind == RT_JSON_ARRAY ? "an" : "a", rt_json_kind_name(kind),
                     describe_json(f, d, sizeof d));
    else
        return f;
    return NULL;
}

/* "shape": [d0, d1, ...] -> t->type (dtype already set). */
static bool parse_shape(const char *file, const RtJson *e, IrType *type, LlmcErr *err) {
    const RtJson *shape = entry_field(file, e, "shape", RT_JSON_ARRAY, err);
    if (!shape) return false;
    if (shape->count > IR_MAX_RANK) {
        llmc_err_set(err, "%s: tensor '%s': shape has rank %u, more than the supported %d", file, e->key,
                     shape->count, IR_MAX_RANK);
        return false;
    }
    type->rank = shape->count;
    for (uint32_t i = 0; i < shape->count; i++) {
        const RtJson *d = &shape->items[i];
        if (d->kind != RT_JSON_NUMBER || !d->is_int || d->integer < 0) {
            char buf[48];
            llmc_err_set(err, "%s: tensor '%s': shape[%u] is %s; dimensions must be non-negative integers",
                         file, e->key, i, describe_json(d, buf, sizeof buf));
            return false;
        }
        type->dims[i] = d->integer;
    }
    return true;
}

/* "data_offsets": [begin, end] -> span, checked against the type and the buffer. */
static bool parse_offsets(const char *file, const RtJson *e, const IrType *type, uint64_t data_len,
                          Span *span, LlmcErr *err) {
    const RtJson *off = entry_field(file, e, "data_offsets", RT_JSON_ARRAY, err);
    if (!off) return false;
    if (off->count != 2) {
        llmc_err_set(err, "%s: tensor '%s': data_offsets must be [BEGIN, END], not %u numbers", file,
                     e->key, off->count);
        return false;
    }
    for (uint32_t i = 0; i < 2; i++) {
        const RtJson *o = &off->items[i];
        if (o->kind != RT_JSON_NUMBER || !o->is_int || o->integer < 0) {
            char buf[48];
            llmc_err_set(err,
                         "%s: tensor '%s': data_offsets[%u] is %s; offsets must be non-negative integers",
                         file, e->key, i, describe_json(o, buf, sizeof buf));
            return false;
        }
    }
    uint64_t begin = (uint64_t)off->items[0].integer, end = (uint64_t)off->items[1].integer;
    char ts[IR_TYPE_STR_MAX];
    ir_type_format(type, ts, sizeof ts);
    uint64_t numel, need;
    if (!shape_bytes(type->dtype, type->rank, type->dims, &numel, &need)) {
        llmc_err_set(err, "%s: tensor '%s': %s is too large (its byte size overflows 64 bits)", file,
                     e->key, ts);
        return false;
    }
    if (end < begin) {
        llmc_err_set(err, "%s: tensor '%s': data_offsets [%llu, %llu] end before they begin", file, e->key,
                     (unsigned long long)begin, (unsigned long long)end);
        return false;
    }
    if (end - begin != need) {
        llmc_err_set(err, "%s: tensor '%s': data_offsets [%llu, %llu] hold %llu bytes but %s needs %llu",
                     file, e->key, (unsigned long long)begin, (unsigned long long)end,
                     (unsigned long long)(end - begin), ts, (unsigned long long)need);
        return false;
    }
    if (end > data_len) {
        llmc_err_set(err, "%s: tensor '%s': data_offsets [%llu, %llu] go beyond the data buffer (%llu bytes)",
                     file, e->key, (unsigned long long)begin, (unsigned long long)end,
                     (unsigned long long)data_len);
        return false;
    }
    span->begin = begin;
    span->end = end;
    return true;
}

/* One header member "NAME": {...} -> t (data not yet set) and its span. */
static bool parse_entry(const char *file, const RtJson *e, uint64_t data_len, RtTensor *t, Span *span,
                        LlmcErr *err) {
    char d[48];
    if (memchr(e->key, 0, e->key_len)) {
        llmc_err_set(err, "%s: a tensor name contains a NUL character ('%s...')", file, e->key);
        return false;
    }
    if (e->kind != RT_JSON_OBJECT) {
        llmc_err_set(err, "%s: tensor '%s': entry must be an object, not %s", file, e->key,
                     describe_json(e, d, sizeof d));
        return false;
    }
    const RtJson *dt = entry_field(file, e, "dtype", RT_JSON_STRING, err);
    if (!dt) return false;
    memset(&t->type, 0, sizeof t->type);
    t->type.dtype = st_dtype_parse(dt->str);
    if (t->type.dtype == IR_DTYPE_INVALID) {
        llmc_err_set(err, "%s: tensor '%s': dtype '%s' is not supported (llmc reads F32, F64, I32, BF16)",
                     file, e->key, dt->str);
        return false;
    }
    if (!parse_shape(file, e, &t->type, err) || !parse_offsets(file, e, &t->type, data_len, span, err))
        return false;
    t->name = llmc_xstrdup(e->key);
    t->nbytes = span->end - span->begin;
    return true;
}

/* "__metadata__": {"KEY": "VALUE", ...} */
static bool parse_metadata(const char *file, const RtJson *m, RtSafetensors *out, LlmcErr *err) {
    char d[48];
    if (m->kind != RT_JSON_OBJECT) {
        llmc_err_set(err, "%s: __metadata__ must be an object of strings, not %s", file,
                     describe_json(m, d, sizeof d));
        return false;
    }
    out->meta_keys = llmc_xcalloc(m->count, sizeof *out->meta_keys);
    out->meta_values = llmc_xcalloc(m->count, sizeof *out->meta_values);
    for (uint32_t i = 0; i < m->count; i++) {
        const RtJson *v = &m->items[i];
        if (v->kind != RT_JSON_STRING) {
            llmc_err_set(err, "%s: __metadata__ '%s' must be a string, not %s", file, v->key,
                         describe_json(v, d, sizeof d));
            return false;
        }
        if (memchr(v->key, 0, v->key_len) || memchr(v->str, 0, v->str_len)) {
            llmc_err_set(err, "%s: __metadata__ '%s' contains a NUL character", file, v->key);
            return false;
        }
        out->meta_keys[i] = llmc_xstrdup(v->key);
        out->meta_values[i] = llmc_xstrdup(v->str);
        out->n_meta = i + 1;
    }
    return true;
}

static int span_cmp(const void *a, const void *b) {
    const Span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* The format requires the tensors to cover the data buffer exactly, in some order. */
static bool check_tiling(const char *file, Span *spans, uint32_t n, const RtTensor *ts, uint64_t data_len,
                         LlmcErr *err) {
    qsort(spans, n, sizeof *spans, span_cmp);
    uint64_t covered = 0;
    for (uint32_t i = 0; i < n; i++) {
        const Span *s = &spans[i];
        if (s->begin > covered) {
            llmc_err_set(err, "%s: bytes [%llu, %llu] of the data buffer belong to no tensor (before '%s')",
                         file, (unsigned long long)covered, (unsigned long long)s->begin, ts[s->index].name);
            return false;
        }
        if (s->begin < covered) {
            const Span *p = &spans[i - 1]; /* everything before tiles, so p ends at `covered` */
            llmc_err_set(err, "%s: tensors '%s' [%llu, %llu] and '%s' [%llu, %llu] overlap", file,
                         ts[p->index].name, (unsigned long long)p->begin, (unsigned long long)p->end,
                         ts[s->index].name, (unsigned long long)s->begin, (unsigned long long)s->end);
            return false;
        }
        covered = s->end;
    }
    if (covered != data_len) {
        llmc_err_set(err,
                     "%s: bytes [%llu, %llu] of the data buffer belong to no tensor (after the last one)",
                     file, (unsigned long long)covered, (unsigned long long)data_len);
        return false;
    }
    return true;
}

/* Validates the parsed header against a data buffer of data_len bytes and fills out;
 * tensor data points into `data_base`, where the caller keeps that buffer. */
static bool parse_header(const char *file, const RtJson *root, uint64_t data_len,
                         const unsigned char *data_base, RtSafetensors *out, LlmcErr *err) {
    char d[48];
    if (root->kind != RT_JSON_OBJECT) {
        llmc_err_set(err, "%s: header must be a JSON object, not %s", file, describe_json(root, d, sizeof d));
        return false;
    }
    out->tensors = llmc_xcalloc(root->count, sizeof *out->tensors);
    Span *spans = llmc_xcalloc(root->count, sizeof *spans);
    bool ok = true;
    for (uint32_t i = 0; i < root->count && ok; i++) {
        const RtJson *e = &root->items[i];
        if (strcmp(e->key, "__metadata__") == 0 && e->key_len == strlen("__metadata__")) {
            ok = parse_metadata(file, e, out, err);
            continue;
        }
        Span *s = &spans[out->count];
        s->index = out->count;
        ok = parse_entry(file, e, data_len, &out->tensors[out->count], s, err);
        if (ok) out->count++;
    }
    ok = ok && check_tiling(file, spans, out->count, out->tensors, data_len, err);
    if (ok)
        for (uint32_t i = 0; i < out->count; i++)
            out->tensors[spans[i].index].data = (void *)(data_base + spans[i].begin);
    free(spans);
    return ok;
}

/* The common reader. The data buffer is bytes[8 + N .. len); when `owned` is given it is
 * the allocation holding bytes and becomes the blob, otherwise the data is copied. On
 * failure `owned` is not freed and *out is zeroed. */
static bool parse_file(const unsigned char *bytes, size_t len, const char *file, void *owned,
                       RtSafetensors *out, LlmcErr *err) {
    memset(out, 0, sizeof *out);
    if (len < 8) {
        llmc_err_set(err, "%s: file is %zu bytes, too short for the 8-byte header length", file, len);
        return false;
    }
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | bytes[i];
    if (n > MAX_HEADER_BYTES) {
        llmc_err_set(err, "%s: header length %llu is absurd (the limit is %u bytes): not a safetensors file?",
                     file, (unsigned long long)n, MAX_HEADER_BYTES);
        return false;
    }
    if (n > len - 8) {
        llmc_err_set(err, "%s: header length %llu exceeds the %zu bytes that follow it (truncated file?)",
                     file, (unsigned long long)n, len - 8);
        return false;
    }
    LlmcBuf jname = {0};
    llmc_buf_printf(&jname, "%s header", file);
    RtJson *root = NULL;
    bool ok = rt_json_parse((const char *)bytes + 8, (size_t)n, jname.data, &root, err);
    llmc_buf_free(&jname);
    if (!ok) return false;

    const unsigned char *data = bytes + 8 + n;
    size_t data_len = len - 8 - (size_t)n;
    unsigned char *blob = owned;
    const unsigned char *base = data;
    if (!owned) {
        blob = llmc_xmalloc(data_len);
        if (data_len) memcpy(blob, data, data_len);
        base = blob;
    }
    ok = parse_header(file, root, data_len, base, out, err);
    rt_json_free(root);
    out->blob = blob;
    if (!ok) {
        if (!owned) free(blob);
        out->blob = NULL;
        rt_safetensors_free(out);
    }
    return ok;
}

bool rt_safetensors_parse(const void *bytes, size_t len, const char *name, RtSafetensors *out,
                          LlmcErr *err) {
    return parse_file(bytes, len, name ? name : "<safetensors>", NULL, out, err);
}

bool rt_safetensors_read(const char *path, RtSafetensors *out, LlmcErr *err) {
    memset(out, 0, sizeof *out);
    char *buf;
    size_t len;
    if (!llmc_file_read(path, &buf, &len, err)) return false;
    if (!parse_file((const unsigned char *)buf, len, path, buf, out, err)) {
        free(buf);
        return false;
    }
    return true;
}

const RtTensor *rt_safetensors_find(const RtSafetensors *st, const char *name) {
    for (uint32_t i = 0; i < st->count; i++)
        if (strcmp(st->tensors[i].name, name) == 0) return &st->tensors[i];
    return NULL;
}

void rt_safetensors_free(RtSafetensors *st) {
    if (!st) return;
    if (st->tensors)
        for (uint32_t i = 0; i < st->count; i++) free(st->tensors[i].name);
    for (uint32_t i = 0; i < st->n_meta; i++) { /* const only for the callers */
        free((void *)st->meta_keys[i]);
        free((void *)st->meta_values[i]);
    }
    free(st->tensors);
    free((void *)st->meta_keys);
    free((void *)st->meta_values);
    free(st->blob);
    memset(st, 0, sizeof *st);
}

/* ===================================================================================
 * Writer
 * =================================================================================== */

/* The checks on one tensor. Its byte size comes from the type (*bytes); with_data also
 * requires nbytes to match it and the data to be there (a layout reads neither). */
static bool check_tensor(const char *file, const RtTensor *t, bool with_data, uint64_t *bytes, LlmcErr *err) {
    if (!t->name) {
        llmc_err_set(err, "%s: a tensor has no name", file);
        return false;
    }
    if (!rt_utf8_valid(t->name, strlen(t->name)) || strcmp(t->name, "__metadata__") == 0) {
        llmc_err_set(err, "%s: '%s' cannot be a tensor name (%s)", file, t->name,
                     strcmp(t->name, "__metadata__") == 0 ? "reserved for metadata" : "not valid UTF-8");
        return false;
    }
    if (!st_dtype_name(t->type.dtype)) {
        llmc_err_set(err, "%s: tensor '%s': dtype %s cannot be stored (F32, F64, I32, BF16 only)", file,
                     t->name, ir_dtype_name(t->type.dtype));
        return false;
    }
    if (t->type.rank > IR_MAX_RANK) {
        llmc_err_set(err, "%s: tensor '%s': rank %u exceeds %d", file, t->name, t->type.rank, IR_MAX_RANK);
        return false;
    }
    for (uint32_t i = 0; i < t->type.rank; i++)
        if (t->type.dims[i] < 0) {
            llmc_err_set(err, "%s: tensor '%s': dims[%u] is negative (%lld)", file, t->name, i,
                         (long long)t->type.dims[i]);
            return false;
        }
    uint64_t numel = 0;
    char ts[IR_TYPE_STR_MAX];
    ir_type_format(&t->type, ts, sizeof ts);
    *bytes = 0;
    bool sized = shape_bytes(t->type.dtype, t->type.rank, t->type.dims, &numel, bytes);
    if (!with_data && !sized) {
        llmc_err_set(err, "%s: tensor '%s': %s holds more than 2^63 bytes", file, t->name, ts);
        return false;
    }
    if (with_data && (!sized || t->nbytes != *bytes)) {
        llmc_err_set(err, "%s: tensor '%s': nbytes is %llu but %s needs %llu", file, t->name,
                     (unsigned long long)t->nbytes, ts, (unsigned long long)*bytes);
        return false;
    }
    if (with_data && *bytes && !t->data) {
        llmc_err_set(err, "%s: tensor '%s': %s has no data", file, t->name, ts);
        return false;
    }
    return true;
}

static int str_ptr_cmp(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first name (in sorted order) that appears twice, or NULL. */
static const char *find_duplicate(const char **names, uint32_t n) {
    qsort(names, n, sizeof *names, str_ptr_cmp);
    for (uint32_t i = 1; i < n; i++)
        if (strcmp(names[i - 1], names[i]) == 0) return names[i];
    return NULL;
}

/* bytes [n]: each tensor's byte size, from its type. */
static bool check_inputs(const char *file, const RtTensor *ts, uint32_t n, const char *const *keys,
                         const char *const *values, uint32_t n_meta, bool with_data, uint64_t *bytes,
                         LlmcErr *err) {
    for (uint32_t i = 0; i < n; i++)
        if (!check_tensor(file, &ts[i], with_data, &bytes[i], err)) return false;
    for (uint32_t i = 0; i < n_meta; i++) {
        if (!keys || !values || !keys[i] || !values[i] || !rt_utf8_valid(keys[i], strlen(keys[i])) ||
            !rt_utf8_valid(values[i], strlen(values[i]))) {
            llmc_err_set(err, "%s: metadata entry %u: key and value must be valid UTF-8 strings", file, i);
            return false;
        }
    }
    uint32_t most = n > n_meta ? n : n_meta;
    const char **names = llmc_xmalloc((most ? most : 1) * sizeof *names);
    for (uint32_t i = 0; i < n; i++) names[i] = ts[i].name;
    const char *dup = find_duplicate(names, n);
    if (dup) llmc_err_set(err, "%s: duplicate tensor name '%s'", file, dup);
    for (uint32_t i = 0; i < n_meta && !dup; i++) names[i] = keys[i];
    if (!dup && (dup = find_duplicate(names, n_meta)))
        llmc_err_set(err, "%s: duplicate metadata key '%s'", file, dup);
    free(names);
    return dup == NULL;
}

/* Layout order: larger dtypes first, so each tensor is aligned to its element size
 * (every prefix is a multiple of the smaller sizes); ties keep the given order. */
typedef struct Slot {
    const RtTensor *t;
    uint32_t index;
    uint64_t bytes; /* from the type */
} Slot;

static int slot_cmp(const void *a, const void *b) {
    const Slot *x = a, *y = b;
    size_t sx = ir_dtype_size(x->t->type.dtype), sy = ir_dtype_size(y->t->type.dtype);
    if (sx != sy) return sx > sy ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static void write_header(const Slot *order, uint32_t n, const char *const *keys, const char *const *values,
                         uint32_t n_meta, LlmcBuf *hdr) {
    RtJsonWriter w;
    rt_json_writer_init(&w, hdr, RT_JSON_COMPACT);
    rt_json_begin_object(&w);
    if (n_meta) {
        rt_json_key(&w, "__metadata__");
        rt_json_begin_object(&w);
        for (uint32_t i = 0; i < n_meta; i++) {
            rt_json_key(&w, keys[i]);
            rt_json_string(&w, values[i]);
        }
        rt_json_end_object(&w);
    }
    uint64_t offset = 0;
    for (uint32_t i = 0; i < n; i++) {
        const RtTensor *t = order[i].t;
        rt_json_key(&w, t->name);
        rt_json_begin_object(&w);
        rt_json_key(&w, "dtype");
        rt_json_string(&w, st_dtype_name(t->type.dtype));
        rt_json_key(&w, "shape");
        rt_json_begin_array(&w);
        for (uint32_t k = 0; k < t->type.rank; k++) rt_json_int(&w, t->type.dims[k]);
        rt_json_end_array(&w);
        rt_json_key(&w, "data_offsets");
        rt_json_begin_array(&w);
        rt_json_int(&w, (int64_t)offset);
        rt_json_int(&w, (int64_t)(offset + order[i].bytes));
        rt_json_end_array(&w);
        rt_json_end_object(&w);
        offset += order[i].bytes;
    }
    rt_json_end_object(&w);
    LLMC_ASSERT(rt_json_writer_done(&w));
    /* Pad so the data buffer starts 8-byte aligned in the file, as the reference does. */
    while (hdr->len % 8) llmc_buf_putc(hdr, ' ');
}

/* The one place the file's layout is decided: the serializer and rt_safetensors_layout
 * (which checkpoints written in pieces rely on) both come here, so they cannot differ.
 * Appends the u64 length and the padded header to *out only on success; offsets [n]
 * (by input index); *order_out (optional) gets the tensors in data order. */
static bool layout(const char *name, const RtTensor *tensors, uint32_t n, const char *const *meta_keys,
                   const char *const *meta_values, uint32_t n_meta, bool with_data, LlmcBuf *out,
                   uint64_t *offsets, uint64_t *data_len, Slot **order_out, LlmcErr *err) {
    uint64_t *bytes = llmc_xmalloc((n ? n : 1) * sizeof *bytes);
    if (!check_inputs(name, tensors, n, meta_keys, meta_values, n_meta, with_data, bytes, err)) {
        free(bytes);
        return false;
    }
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (bytes[i] > (uint64_t)INT64_MAX - total) {
            llmc_err_set(err, "%s: the tensors hold more than 2^63 bytes together", name);
            free(bytes);
            return false;
        }
        total += bytes[i];
    }
    Slot *order = llmc_xmalloc((n ? n : 1) * sizeof *order);
    for (uint32_t i = 0; i < n; i++) order[i] = (Slot){&tensors[i], i, bytes[i]};
    free(bytes);
    qsort(order, n, sizeof *order, slot_cmp);
    uint64_t at = 0;
    for (uint32_t i = 0; i < n; i++) {
        offsets[order[i].index] = at;
        at += order[i].bytes;
    }
    LlmcBuf hdr = {0};
    write_header(order, n, meta_keys, meta_values, n_meta, &hdr);
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)hdr.len >> (8 * i));
    llmc_buf_put(out, (const char *)len8, 8);
    llmc_buf_put(out, hdr.data, hdr.len);
    llmc_buf_free(&hdr);
    *data_len = total;
    if (order_out) *order_out = order;
    else free(order);
    return true;
}

bool rt_safetensors_layout(const RtTensor *tensors, uint32_t n, const char *const *meta_keys,
                           const char *const *meta_values, uint32_t n_meta, const char *name,
                           LlmcBuf *header, uint64_t *data_offsets, uint64_t *data_len, LlmcErr *err) {
    if (!name) name = "<safetensors>";
    return layout(name, tensors, n, meta_keys, meta_values, n_meta, false, header, data_offsets, data_len, NULL,
                  err);
}

bool rt_safetensors_serialize(const RtTensor *tensors, uint32_t n, const char *const *meta_keys,
                              const char *const *meta_values, uint32_t n_meta, const char *name,
                              LlmcBuf *out, LlmcErr *err) {
    if (!name) name = "<safetensors>";
    uint64_t *offsets = llmc_xmalloc((n ? n : 1) * sizeof *offsets), data_len;
    Slot *order = NULL;
    bool ok = layout(name, tensors, n, meta_keys, meta_values, n_meta, true, out, offsets, &data_len, &order, err);
    size_t data_start = out->len;
    for (uint32_t i = 0; ok && i < n; i++) {
        LLMC_ASSERT(out->len - data_start == offsets[order[i].index]);
        if (order[i].bytes) llmc_buf_put(out, order[i].t->data, order[i].bytes);
    }
    LLMC_ASSERT(!ok || out->len - data_start == data_len);
    free(order);
    free(offsets);
    return ok;
}

bool rt_safetensors_write(const char *path, const RtTensor *tensors, uint32_t n,
                          const char *const *meta_keys, const char *const *meta_values, uint32_t n_meta,
                          LlmcErr *err) {
    LlmcBuf buf = {0};
    bool ok = rt_safetensors_serialize(tensors, n, meta_keys, meta_values, n_meta, path, &buf, err) &&
              llmc_file_write(path, buf.data, buf.len, err);
    llmc_buf_free(&buf);
    return ok;
}

/* ===================================================================================
 * Conversions with IrValue
 * =================================================================================== */

bool rt_tensor_to_value(const RtTensor *t, IrValue *out, LlmcErr *err) {
    memset(out, 0, sizeof *out);
    const char *name = t->name ? t->name : "?";
    if (!st_dtype_name(t->type.dtype) || t->type.rank > IR_MAX_RANK) {
        llmc_err_set(err, "tensor '%s': dtype %s and rank %u cannot be converted", name,
                     ir_dtype_name(t->type.dtype), t->type.rank);
        return false;
    }
    uint64_t numel, bytes;
    bool sized = true;
    for (uint32_t i = 0; i < t->type.rank; i++) sized = sized && t->type.dims[i] >= 0;
    sized = sized && shape_bytes(t->type.dtype, t->type.rank, t->type.dims, &numel, &bytes);
    if (!sized || bytes != t->nbytes) {
        char ts[IR_TYPE_STR_MAX];
        llmc_err_set(err, "tensor '%s': holds %llu bytes but %s needs %llu", name,
                     (unsigned long long)t->nbytes, ir_type_format(&t->type, ts, sizeof ts),
                     sized ? (unsigned long long)bytes : 0ull);
        return false;
    }
    if (!t->data) {
        llmc_err_set(err, "tensor '%s': has no data", name);
        return false;
    }
    if (numel == 0) {
        /* IrValue has no empty values (ir_value_alloc asserts numel >= 1). */
        char ts[IR_TYPE_STR_MAX];
        llmc_err_set(err, "tensor '%s': %s has no elements; the interpreter has no empty values", name,
                     ir_type_format(&t->type, ts, sizeof ts));
        return false;
    }
    ir_value_alloc(out, t->type);
    const unsigned char *p = t->data; /* maybe unaligned: memcpy every element */
    double *v = out->data;
    switch (t->type.dtype) {
    case IR_DTYPE_F32:
        for (uint64_t i = 0; i < numel; i++) {
            float f;
            memcpy(&f, p + 4 * i, 4);
            v[i] = f;
        }
        break;
    case IR_DTYPE_F64: memcpy(v, p, numel * 8); break;
    case IR_DTYPE_I32:
        for (uint64_t i = 0; i < numel; i++) {
            int32_t x;
            memcpy(&x, p + 4 * i, 4);
            v[i] = x;
        }
        break;
    case IR_DTYPE_BF16:
        for (uint64_t i = 0; i < numel; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            v[i] = ir_bf16_to_double(h); /* exact */
        }
        break;
    case IR_DTYPE_INVALID:
    case IR_DTYPE_COUNT: LLMC_ASSERT(!"dtype checked above"); break;
    }
    return true;
}

/* Truncation toward zero that saturates instead of invoking undefined behaviour. */
static int32_t i32_saturate(double d) {
    if (isnan(d)) return 0;
    if (d >= 2147483647.0) return INT32_MAX;
    if (d <= -2147483648.0) return INT32_MIN;
    return (int32_t)d;
}

void rt_tensor_from_value(const IrValue *v, const char *name, RtTensor *out) {
    LLMC_ASSERT(st_dtype_name(v->type.dtype) != NULL);
    uint64_t numel = (uint64_t)ir_type_numel(&v->type);
    out->name = llmc_xstrdup(name);
    out->type = v->type;
    out->nbytes = ir_type_bytes(&v->type);
    out->data = llmc_xmalloc(out->nbytes);
    unsigned char *p = out->data;
    const double *d = v->data;
    switch (v->type.dtype) {
    case IR_DTYPE_F32:
        for (uint64_t i = 0; i < numel; i++) {
            float f = (float)d[i];
            memcpy(p + 4 * i, &f, 4);
        }
        break;
    case IR_DTYPE_F64: memcpy(p, d, numel * 8); break;
    case IR_DTYPE_I32:
        for (uint64_t i = 0; i < numel; i++) {
            int32_t x = i32_saturate(d[i]);
            memcpy(p + 4 * i, &x, 4);
        }
        break;
    case IR_DTYPE_BF16:
        for (uint64_t i = 0; i < numel; i++) {
            uint16_t h = ir_bf16_from_double(d[i]); /* once, not through float */
            memcpy(p + 2 * i, &h, 2);
        }
        break;
    case IR_DTYPE_INVALID:
    case IR_DTYPE_COUNT: LLMC_ASSERT(!"dtype checked above"); break;
    }
}

void rt_tensor_free(RtTensor *t) {
    if (!t) return;
    free(t->name);
    free(t->data);
    memset(t, 0, sizeof *t);
}
