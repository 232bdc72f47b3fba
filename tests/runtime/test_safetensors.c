/* tests/runtime/test_safetensors.c — the safetensors reader and writer
 * (runtime/safetensors.c).
 *
 * Covers: write->read round trips for every dtype (bf16 rounding, metadata, scalars,
 * empty tensors, alignment of the layout), byte-exact agreement with the reference
 * implementation on its own test vectors, every validation failure with its message,
 * writer-side rejections, IrValue conversions, and a bounded mutation loop over a valid
 * file that must never crash (run under ASan+UBSan in CI). Temporary files live in a
 * mkdtemp directory under /tmp that is removed at the end.
 */
#include "runtime.h"
#include "test.h"

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

static char tmpdir[64];

static char *tmp_path(const char *name) {
    LlmcBuf b = {0};
    llmc_buf_printf(&b, "%s/%s", tmpdir, name);
    return b.data;
}

static RtTensor make_tensor(const char *name, IrDtype dt, uint32_t rank, const int64_t *dims,
                            const void *data) {
    RtTensor t = {0};
    t.name = (char *)name;
    t.type = ir_type_make(dt, rank, dims);
    t.nbytes = ir_type_bytes(&t.type);
    t.data = (void *)data;
    return t;
}

/* --- round trips --------------------------------------------------------------------- */

static void test_roundtrip(void) {
    static const float f32[6] = {1.5f, -2.25f, 0.1f, 3e38f, -0.0f, 1e-40f};
    static const double f64[4] = {0.1, -1e300, 5e-324, 42.0};
    static const int32_t i32[4] = {0, -1, INT32_MAX, INT32_MIN};
    static const uint16_t bf16[3] = {0x3F80, 0xC000, 0x7FC0};
    static const float scalar = 7.0f;
    int64_t d23[] = {2, 3}, d4[] = {4}, d22[] = {2, 2}, d3[] = {3}, d05[] = {0, 5};
    RtTensor in[] = {
        make_tensor("wte", IR_DTYPE_F32, 2, d23, f32),
        make_tensor("bf", IR_DTYPE_BF16, 1, d3, bf16), /* 6 bytes: would misalign what follows */
        make_tensor("ids", IR_DTYPE_I32, 2, d22, i32),
        make_tensor("f64", IR_DTYPE_F64, 1, d4, f64),
        make_tensor("scalar", IR_DTYPE_F32, 0, NULL, &scalar),
        make_tensor("empty", IR_DTYPE_F32, 2, d05, NULL),
    };
    uint32_t n = sizeof in / sizeof in[0];
    const char *keys[] = {"format", "note"}, *values[] = {"pt", "h\xc3\xa9llo \"q\"\n"};
    char *path = tmp_path("rt.safetensors");
    LlmcErr err = {0};
    CHECK(rt_safetensors_write(path, in, n, keys, values, 2, &err));
    if (err.set) fprintf(stderr, "%s\n", err.msg);

    RtSafetensors st;
    llmc_err_clear(&err);
    CHECK(rt_safetensors_read(path, &st, &err));
    if (err.set) fprintf(stderr, "%s\n", err.msg);
    CHECK_EQ_INT(st.count, n);
    for (uint32_t i = 0; i < n; i++) {
        const RtTensor *t = rt_safetensors_find(&st, in[i].name);
        CHECK(t != NULL);
        if (!t) continue;
        CHECK(ir_type_equal(&t->type, &in[i].type));
        CHECK_EQ_INT(t->nbytes, in[i].nbytes);
        CHECK(in[i].nbytes == 0 || memcmp(t->data, in[i].data, in[i].nbytes) == 0);
        /* the layout keeps every tensor aligned to its element size */
        CHECK_EQ_INT(((const char *)t->data - (const char *)st.tensors[0].data) % ir_dtype_size(t->type.dtype), 0);
    }
    CHECK(rt_safetensors_find(&st, "nope") == NULL);
    /* what was read writes back as it is, metadata included, to the same bytes */
    LlmcBuf again = {0}, first = {0};
    CHECK(rt_safetensors_serialize(st.tensors, st.count, st.meta_keys, st.meta_values, st.n_meta, "x",
                                   &again, &err));
    CHECK(rt_safetensors_serialize(in, n, keys, values, 2, "x", &first, &err));
    CHECK(again.len == first.len && memcmp(again.data, first.data, first.len) == 0);
    llmc_buf_free(&again);
    llmc_buf_free(&first);
    /* layout order: f64 first, then the 4-byte ones in the given order, bf16 last */
    static const char *order[] = {"f64", "wte", "ids", "scalar", "empty", "bf"};
    for (uint32_t i = 0; i < n && i < 6; i++) CHECK_STR(st.tensors[i].name, order[i]);
    CHECK_EQ_INT(st.n_meta, 2);
    if (st.n_meta == 2) {
        CHECK_STR(st.meta_keys[0], "format");
        CHECK_STR(st.meta_values[0], "pt");
        CHECK_STR(st.meta_keys[1], "note");
        CHECK_STR(st.meta_values[1], "h\xc3\xa9llo \"q\"\n");
    }
    rt_safetensors_free(&st);
    CHECK(st.tensors == NULL && st.count == 0 && st.blob == NULL);

    /* the file itself: header length a multiple of 8, '{' first, space padding */
    char *bytes;
    size_t len;
    CHECK(llmc_file_read(path, &bytes, &len, &err));
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | (unsigned char)bytes[i];
    CHECK_EQ_INT(hl % 8, 0);
    CHECK_EQ_INT(bytes[8], '{');
    CHECK(strncmp(bytes + 8, "{\"__metadata__\":{\"format\":\"pt\",", 31) == 0);
    CHECK_EQ_INT(len, 8 + hl + 24 + 32 + 16 + 4 + 0 + 6);
    free(bytes);

    /* writing again gives the same bytes (deterministic), and the file is replaced */
    LlmcBuf a = {0}, b = {0};
    CHECK(rt_safetensors_serialize(in, n, keys, values, 2, "x", &a, &err));
    CHECK(rt_safetensors_serialize(in, n, keys, values, 2, "x", &b, &err));
    CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    llmc_buf_free(&a);
    llmc_buf_free(&b);
    unlink(path);
    free(path);

    /* no tensors, no metadata: "{}" padded to 8 */
    LlmcBuf e = {0};
    CHECK(rt_safetensors_serialize(NULL, 0, NULL, NULL, 0, "e", &e, &err));
    CHECK_EQ_INT(e.len, 16);
    CHECK(e.len == 16 && memcmp(e.data, "\x08\0\0\0\0\0\0\0{}      ", 16) == 0);
    CHECK(rt_safetensors_parse(e.data, e.len, "e", &st, &err));
    CHECK_EQ_INT(st.count, 0);
    rt_safetensors_free(&st);
    llmc_buf_free(&e);
}

/* The reference implementation's own test vectors (bindings/python/tests/test_simple.py). */
static void test_reference_vectors(void) {
    /* today's writer: header padded to 64 with spaces */
    static const char cur[] = "@\0\0\0\0\0\0\0{\"test\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}    "
                              "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
    int32_t zeros[4] = {0};
    int64_t d22[] = {2, 2};
    RtTensor t = make_tensor("test", IR_DTYPE_I32, 2, d22, zeros);
    LlmcBuf out = {0};
    LlmcErr err = {0};
    CHECK(rt_safetensors_serialize(&t, 1, NULL, NULL, 0, "ref", &out, &err));
    CHECK_EQ_INT(out.len, sizeof cur - 1);
    CHECK(out.len == sizeof cur - 1 && memcmp(out.data, cur, out.len) == 0);
    llmc_buf_free(&out);

    /* an older writer: unpadded 60-byte header, so the data starts misaligned */
    static const char old[] = "<\0\0\0\0\0\0\0{\"test\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}"
                              "\x01\0\0\0\x02\0\0\0\x03\0\0\0\x04\0\0\0";
    RtSafetensors st;
    CHECK(rt_safetensors_parse(old, sizeof old - 1, "old", &st, &err));
    if (err.set) fprintf(stderr, "%s\n", err.msg);
    const RtTensor *x = rt_safetensors_find(&st, "test");
    CHECK(x && x->type.dtype == IR_DTYPE_I32 && x->type.rank == 2 && x->type.dims[1] == 2);
    IrValue v;
    CHECK(x && rt_tensor_to_value(x, &v, &err));
    if (x) {
        for (int i = 0; i < 4; i++) CHECK_CLOSE(v.data[i], i + 1, 0);
        ir_value_free(&v);
    }
    rt_safetensors_free(&st);

    /* with metadata, header padded by the writer */
    static const char meta[] = "f\0\0\0\0\0\0\0{\"__metadata__\":{\"framework\":\"pt\"},\"test1\":{\"dtype\":\"I32\","
                               "\"shape\":[2,2],\"data_offsets\":[0,16]}}       "
                               "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
    CHECK(rt_safetensors_parse(meta, sizeof meta - 1, "meta", &st, &err));
    CHECK(st.count == 1 && st.n_meta == 1);
    if (st.n_meta == 1) CHECK_STR(st.meta_values[0], "pt");
    rt_safetensors_free(&st);
}

/* --- bf16 and IrValue conversions ---------------------------------------------------- */

static void test_bf16(void) {
    CHECK_EQ_INT(ir_bf16_from_double(1.0f), 0x3F80);
    CHECK_EQ_INT(ir_bf16_from_double(-2.0f), 0xC000);
    CHECK_EQ_INT(ir_bf16_from_double(-0.0f), 0x8000);
    CHECK_EQ_INT(ir_bf16_from_double(1.00390625f), 0x3F80);  /* halfway, even below: down */
    CHECK_EQ_INT(ir_bf16_from_double(1.01171875f), 0x3F82);  /* halfway, even above: up */
    CHECK_EQ_INT(ir_bf16_from_double(nextafterf(1.00390625f, 2.0f)), 0x3F81); /* just past halfway: up */
    CHECK_EQ_INT(ir_bf16_from_double(INFINITY), 0x7F80);
    CHECK_EQ_INT(ir_bf16_from_double(-INFINITY), 0xFF80);
    CHECK_EQ_INT(ir_bf16_from_double(3.4028235e38f), 0x7F80); /* FLT_MAX rounds to inf */
    uint16_t qn = ir_bf16_from_double(NAN);
    CHECK((qn & 0x7F80) == 0x7F80 && (qn & 0x7F) != 0);
    float snan;
    uint32_t snan_bits = 0x7F800001u; /* signalling NaN with only low payload bits */
    memcpy(&snan, &snan_bits, 4);
    CHECK(isnan(ir_bf16_to_double(ir_bf16_from_double(snan))));
    CHECK_CLOSE(ir_bf16_to_double(0x3F80), 1.0, 0);
    CHECK_CLOSE(ir_bf16_to_double(0x4049), 3.140625, 0);
}

static void test_values(void) {
    LlmcErr err = {0};
    int64_t d5[] = {5};
    IrValue v;
    ir_value_alloc(&v, ir_type_make(IR_DTYPE_BF16, 1, d5));
    double in[5] = {1.00390625, 1.01171875, 3.14159, -1e39, NAN};
    memcpy(v.data, in, sizeof in);
    RtTensor t;
    rt_tensor_from_value(&v, "b", &t);
    CHECK_STR(t.name, "b");
    CHECK_EQ_INT(t.nbytes, 10);
    uint16_t h[5];
    memcpy(h, t.data, 10);
    CHECK_EQ_INT(h[0], 0x3F80);
    CHECK_EQ_INT(h[1], 0x3F82);
    CHECK_EQ_INT(h[2], 0x4049);
    CHECK_EQ_INT(h[3], 0xFF80);
    IrValue back;
    CHECK(rt_tensor_to_value(&t, &back, &err));
    CHECK(back.type.dtype == IR_DTYPE_BF16 && back.type.dims[0] == 5);
    CHECK_CLOSE(back.data[0], 1.0, 0);
    CHECK_CLOSE(back.data[1], 1.015625, 0);
    CHECK_CLOSE(back.data[2], 3.140625, 0);
    CHECK(isinf(back.data[3]) && back.data[3] < 0);
    CHECK(isnan(back.data[4]));
    ir_value_free(&back);
    rt_tensor_free(&t);
    CHECK(t.name == NULL && t.data == NULL);
    ir_value_free(&v);

    /* f32 rounds through float, f64 is exact, i32 truncates and saturates */
    int64_t d4[] = {4};
    static const struct {
        IrDtype dt;
        double in[4], out[4];
    } cases[] = {
        {IR_DTYPE_F32, {0.1, -1e-50, 16777217.0, 1e300}, {(double)0.1f, -0.0, 16777216.0, INFINITY}},
        {IR_DTYPE_F64, {0.1, -1e-300, 5e-324, 1e300}, {0.1, -1e-300, 5e-324, 1e300}},
        {IR_DTYPE_I32, {-2.7, 3e9, -3e9, NAN}, {-2.0, 2147483647.0, -2147483648.0, 0.0}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ir_value_alloc(&v, ir_type_make(cases[c].dt, 1, d4));
        memcpy(v.data, cases[c].in, sizeof cases[c].in);
        rt_tensor_from_value(&v, "v", &t);
        CHECK_EQ_INT(t.nbytes, 4 * ir_dtype_size(cases[c].dt));
        CHECK(rt_tensor_to_value(&t, &back, &err));
        for (int i = 0; i < 4; i++) CHECK(back.data[i] == cases[c].out[i]);
        ir_value_free(&back);
        rt_tensor_free(&t);
        ir_value_free(&v);
    }

    /* a tensor whose byte count does not match its type */
    float f[3] = {0};
    int64_t d22[] = {2, 2};
    t = make_tensor("odd", IR_DTYPE_F32, 2, d22, f);
    t.nbytes = 12;
    llmc_err_clear(&err);
    CHECK(!rt_tensor_to_value(&t, &back, &err));
    CHECK_STR(err.msg, "tensor 'odd': holds 12 bytes but f32[2,2] needs 16");
}

/* --- reader validation --------------------------------------------------------------- */

/* A file from a header text and a data buffer of data_len bytes (value i & 0xFF). */
static LlmcBuf build(const char *header, size_t data_len) {
    LlmcBuf b = {0};
    uint64_t n = strlen(header);
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)(n >> (8 * i));
    llmc_buf_put(&b, (const char *)len8, 8);
    llmc_buf_puts(&b, header);
    for (size_t i = 0; i < data_len; i++) llmc_buf_putc(&b, (char)(i & 0xFF));
    return b;
}

typedef struct BadCase {
    const char *header;
    size_t data_len;
    const char *msg; /* the whole message */
} BadCase;

#define T24 "{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}"

static void test_reader_errors(void) {
    static const BadCase cases[] = {
        /* the header itself */
        {"[1]", 0, "w.st: header must be a JSON object, not an array"},
        {"\"x\"", 0, "w.st: header must be a JSON object, not a string"},
        {"{\"a\":", 0, "w.st header:1:6: expected a value, got end of input"},
        {"{\"a\":1,\"a\":2}", 0, "w.st header:1:8: duplicate key 'a'"},
        {"{\"wte\":" T24 ",\"wte\":" T24 "}", 24, "w.st header:1:60: duplicate key 'wte'"},
        {"", 0, "w.st header:1:1: expected a value, got end of input"},
        {"{} x", 0, "w.st header:1:4: unexpected 'x' after the JSON value"},
        /* entries */
        {"{\"wte\":3}", 0, "w.st: tensor 'wte': entry must be an object, not 3"},
        {"{\"wte\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "w.st: tensor 'wte': missing field 'dtype'"},
        {"{\"wte\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
         "w.st: tensor 'wte': field 'dtype' must be a string, not 32"},
        {"{\"wte\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,2]}}", 2,
         "w.st: tensor 'wte': dtype 'F16' is not supported (llmc reads F32, F64, I32, BF16)"},
        {"{\"wte\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8,
         "w.st: tensor 'wte': dtype 'I64' is not supported (llmc reads F32, F64, I32, BF16)"},
        {"{\"mask\":{\"dtype\":\"BOOL\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
         "w.st: tensor 'mask': dtype 'BOOL' is not supported (llmc reads F32, F64, I32, BF16)"},
        {"{\"x\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
         "w.st: tensor 'x': dtype 'f32' is not supported (llmc reads F32, F64, I32, BF16)"},
        {"{\"wte\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "w.st: tensor 'wte': missing field 'shape'"},
        {"{\"wte\":{\"dtype\":\"F32\",\"shape\":{},\"data_offsets\":[0,4]}}", 4,
         "w.st: tensor 'wte': field 'shape' must be an array, not an object"},
        {"{\"wte\":{\"dtype\":\"F32\",\"shape\":[2,-3],\"data_offsets\":[0,4]}}", 4,
         "w.st: tensor 'wte': shape[1] is -3; dimensions must be non-negative integers"},
        {"{\"wte\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,4]}}", 4,
         "w.st: tensor 'wte': shape[0] is 2.5; dimensions must be non-negative integers"},
        {"{\"wte\":{\"dtype\":\"F32\",\"shape\":[1e2],\"data_offsets\":[0,400]}}", 400,
         "w.st: tensor 'wte': shape[0] is 100.0; dimensions must be non-negative integers"},
        {"{\"wte\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", 8,
         "w.st: tensor 'wte': shape[0] is a string; dimensions must be non-negative integers"},
        {"{\"wte\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,4]}}", 4,
         "w.st: tensor 'wte': shape[0] is 1e+20; dimensions must be non-negative integers"},
        {"{\"wte\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
         "w.st: tensor 'wte': shape has rank 9, more than the supported 8"},
        {"{\"wte\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", 4,
         "w.st: tensor 'wte': f32[4294967296,4294967296] is too large (its byte size overflows 64 bits)"},
        {"{\"wte\":{\"dtype\":\"F64\",\"shape\":[2305843009213693952],\"data_offsets\":[0,4]}}", 4,
         "w.st: tensor 'wte': f64[2305843009213693952] is too large (its byte size overflows 64 bits)"},
        {"{\"wte\":{\"dtype\":\"F32\",\"shape\":[2,3]}}", 24, "w.st: tensor 'wte': missing field 'data_offsets'"},
        {"{\"wte\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":\"0,24\"}}", 24,
         "w.st: tensor 'wte': field 'data_offsets' must be an array, not a string"},
        {"{\"wte\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,12,24]}}", 24,
         "w.st: tensor 'wte': data_offsets must be [BEGIN, END], not 3 numbers"},
        {"{\"wte\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[-8,16]}}", 24,
         "w.st: tensor 'wte': data_offsets[0] is -8; offsets must be non-negative integers"},
        {"{\"wte\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24.0]}}", 24,
         "w.st: tensor 'wte': data_offsets[1] is 24.0; offsets must be non-negative integers"},
        {"{\"wte\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,null]}}", 24,
         "w.st: tensor 'wte': data_offsets[1] is null; offsets must be non-negative integers"},
        {"{\"wte\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[24,0]}}", 24,
         "w.st: tensor 'wte': data_offsets [24, 0] end before they begin"},
        {"{\"wte\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,12]}}", 12,
         "w.st: tensor 'wte': data_offsets [0, 12] hold 12 bytes but f32[2,3] needs 24"},
        {"{\"wte\":{\"dtype\":\"BF16\",\"shape\":[],\"data_offsets\":[0,4]}}", 4,
         "w.st: tensor 'wte': data_offsets [0, 4] hold 4 bytes but bf16[] needs 2"},
        {"{\"wte\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[8,32]}}", 24,
         "w.st: tensor 'wte': data_offsets [8, 32] go beyond the data buffer (24 bytes)"},
        {"{\"wte\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[9223372036854775800,9223372036854775807]}}", 24,
         "w.st: tensor 'wte': data_offsets [9223372036854775800, 9223372036854775807] hold 7 bytes but f32[2,3] needs 24"},
        {"{\"a\\u0000b\":" T24 "}", 24, "w.st: a tensor name contains a NUL character ('a...')"},
        /* tiling */
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12,
         "w.st: tensors 'a' [0, 8] and 'b' [4, 12] overlap"},
        {"{\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
         "w.st: tensors 'b' [0, 8] and 'a' [0, 8] overlap"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}", 8,
         "w.st: tensors 'a' [0, 8] and 'z' [4, 4] overlap"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}", 20,
         "w.st: bytes [8, 12] of the data buffer belong to no tensor (before 'b')"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12,
         "w.st: bytes [0, 4] of the data buffer belong to no tensor (before 'a')"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 9,
         "w.st: bytes [8, 9] of the data buffer belong to no tensor (after the last one)"},
        {"{}", 3, "w.st: bytes [0, 3] of the data buffer belong to no tensor (after the last one)"},
        /* metadata */
        {"{\"__metadata__\":[\"a\"]}", 0, "w.st: __metadata__ must be an object of strings, not an array"},
        {"{\"__metadata__\":{\"step\":3}}", 0, "w.st: __metadata__ 'step' must be a string, not 3"},
        {"{\"__metadata__\":{\"k\":\"a\\u0000b\"}}", 0, "w.st: __metadata__ 'k' contains a NUL character"},
        {"{\"__metadata__\":{},\"__metadata__\":{}}", 0, "w.st header:1:20: duplicate key '__metadata__'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        LlmcBuf b = build(cases[i].header, cases[i].data_len);
        RtSafetensors st;
        LlmcErr err = {0};
        bool ok = rt_safetensors_parse(b.data, b.len, "w.st", &st, &err);
        CHECK(!ok);
        CHECK(st.tensors == NULL && st.count == 0 && st.meta_keys == NULL && st.meta_values == NULL && st.blob == NULL);
        CHECK_STR(err.msg, cases[i].msg);
        rt_safetensors_free(&st);
        llmc_buf_free(&b);
    }

    /* the 8-byte length */
    RtSafetensors st;
    LlmcErr err = {0};
    CHECK(!rt_safetensors_parse("\x02\0\0\0\0", 5, "w.st", &st, &err));
    CHECK_STR(err.msg, "w.st: file is 5 bytes, too short for the 8-byte header length");
    llmc_err_clear(&err);
    CHECK(!rt_safetensors_parse("", 0, "w.st", &st, &err));
    CHECK_STR(err.msg, "w.st: file is 0 bytes, too short for the 8-byte header length");
    llmc_err_clear(&err);
    CHECK(!rt_safetensors_parse("\x00\xe1\xf5\x05\0\0\0\0{}", 10, "w.st", &st, &err)); /* 100000000 */
    CHECK_STR(err.msg, "w.st: header length 100000000 exceeds the 2 bytes that follow it (truncated file?)");
    llmc_err_clear(&err);
    CHECK(!rt_safetensors_parse("\x01\xe1\xf5\x05\0\0\0\0{}", 10, "w.st", &st, &err));
    CHECK_STR(err.msg, "w.st: header length 100000001 is absurd (the limit is 100000000 bytes): not a safetensors file?");
    llmc_err_clear(&err);
    CHECK(!rt_safetensors_parse("\xff\xff\xff\xff\xff\xff\xff\xff{}", 10, "w.st", &st, &err));
    CHECK(strstr(err.msg, "header length 18446744073709551615 is absurd") != NULL);
    llmc_err_clear(&err);
    CHECK(!rt_safetensors_parse("\x03\0\0\0\0\0\0\0{}", 10, "w.st", &st, &err));
    CHECK_STR(err.msg, "w.st: header length 3 exceeds the 2 bytes that follow it (truncated file?)");

    /* the path API names the path */
    char *missing = tmp_path("missing.safetensors");
    llmc_err_clear(&err);
    CHECK(!rt_safetensors_read(missing, &st, &err));
    CHECK(strncmp(err.msg, missing, strlen(missing)) == 0 && strstr(err.msg, "cannot open") != NULL);
    char *bad = tmp_path("bad.safetensors");
    LlmcBuf b = build("{\"wte\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,12]}}", 12);
    CHECK(llmc_file_write(bad, b.data, b.len, &err));
    llmc_err_clear(&err);
    CHECK(!rt_safetensors_read(bad, &st, &err));
    LlmcBuf want = {0};
    llmc_buf_printf(&want, "%s: tensor 'wte': data_offsets [0, 12] hold 12 bytes but f32[2,3] needs 24", bad);
    CHECK_STR(err.msg, want.data);
    llmc_buf_free(&want);
    llmc_buf_free(&b);
    unlink(bad);
    free(bad);
    free(missing);
}

/* Zero-size tensors may sit anywhere a tensor boundary is; unknown fields are ignored. */
static void test_reader_accepts(void) {
    LlmcBuf b = build("{\"z0\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[0,0]},"
                      "\"a\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[0,6],\"extra\":[1]},"
                      "\"z1\":{\"dtype\":\"I32\",\"shape\":[3,0],\"data_offsets\":[6,6]},"
                      "\"c\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[6,10]},"
                      "\"z2\":{\"dtype\":\"F64\",\"shape\":[0],\"data_offsets\":[10,10]}}\n\t ",
                      10);
    RtSafetensors st;
    LlmcErr err = {0};
    CHECK(rt_safetensors_parse(b.data, b.len, "ok.st", &st, &err));
    if (err.set) fprintf(stderr, "%s\n", err.msg);
    CHECK_EQ_INT(st.count, 5);
    const RtTensor *c = rt_safetensors_find(&st, "c");
    CHECK(c && c->type.rank == 0 && c->nbytes == 4);
    IrValue v;
    if (c && rt_tensor_to_value(c, &v, &err)) { /* bytes 6,7,8,9 at an unaligned offset */
        uint32_t bits = 0x09080706u;
        float f;
        memcpy(&f, &bits, 4);
        CHECK_CLOSE(v.data[0], f, 0);
        ir_value_free(&v);
    }
    const RtTensor *z = rt_safetensors_find(&st, "z1");
    CHECK(z && z->nbytes == 0 && z->type.dims[1] == 0);
    llmc_err_clear(&err);
    CHECK(z && !rt_tensor_to_value(z, &v, &err));
    CHECK_STR(err.msg, "tensor 'z1': i32[3,0] has no elements; the interpreter has no empty values");
    rt_safetensors_free(&st);
    llmc_buf_free(&b);
}

/* --- writer validation --------------------------------------------------------------- */

static void test_writer_errors(void) {
    float f[6] = {0};
    int64_t d23[] = {2, 3}, dneg[] = {2, -3};
    RtTensor ok = make_tensor("w", IR_DTYPE_F32, 2, d23, f);
    static const struct {
        const char *name;
        IrDtype dt;
        bool negative_dim;
        uint64_t nbytes;
        const char *msg;
    } cases[] = {
        {"__metadata__", IR_DTYPE_F32, false, 24, "o.st: '__metadata__' cannot be a tensor name (reserved for metadata)"},
        {"x\xff", IR_DTYPE_F32, false, 24, "o.st: 'x\xff' cannot be a tensor name (not valid UTF-8)"},
        {"x", IR_DTYPE_INVALID, false, 24, "o.st: tensor 'x': dtype ? cannot be stored (F32, F64, I32, BF16 only)"},
        {"x", IR_DTYPE_F32, false, 20, "o.st: tensor 'x': nbytes is 20 but f32[2,3] needs 24"},
        {"x", IR_DTYPE_F32, true, 24, "o.st: tensor 'x': dims[1] is negative (-3)"},
        {"w", IR_DTYPE_F32, false, 24, "o.st: duplicate tensor name 'w'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        RtTensor ts[2] = {ok, make_tensor(cases[i].name, cases[i].dt, 2, cases[i].negative_dim ? dneg : d23, f)};
        ts[1].nbytes = cases[i].nbytes;
        LlmcBuf out = {0};
        LlmcErr err = {0};
        CHECK(!rt_safetensors_serialize(ts, 2, NULL, NULL, 0, "o.st", &out, &err));
        CHECK_STR(err.msg, cases[i].msg);
        CHECK_EQ_INT(out.len, 0);
        llmc_buf_free(&out);
    }
    RtTensor nodata = make_tensor("nd", IR_DTYPE_F32, 2, d23, NULL);
    LlmcErr err = {0};
    LlmcBuf out = {0};
    CHECK(!rt_safetensors_serialize(&nodata, 1, NULL, NULL, 0, "o.st", &out, &err));
    CHECK_STR(err.msg, "o.st: tensor 'nd': f32[2,3] has no data");
    const char *dup_k[] = {"k", "j", "k"}, *dup_v[] = {"1", "2", "3"};
    llmc_err_clear(&err);
    CHECK(!rt_safetensors_serialize(&ok, 1, dup_k, dup_v, 3, "o.st", &out, &err));
    CHECK_STR(err.msg, "o.st: duplicate metadata key 'k'");
    const char *bad_k[] = {"k"}, *bad_v[] = {"\xc3"};
    llmc_err_clear(&err);
    CHECK(!rt_safetensors_serialize(&ok, 1, bad_k, bad_v, 1, "o.st", &out, &err));
    llmc_err_clear(&err);
    CHECK(!rt_safetensors_serialize(&ok, 1, bad_k, NULL, 1, "o.st", &out, &err));
    CHECK_STR(err.msg, "o.st: metadata entry 0: key and value must be valid UTF-8 strings");
    CHECK_STR(err.msg, "o.st: metadata entry 0: key and value must be valid UTF-8 strings");
    /* a tensor may share its name with a metadata key: they live in different maps */
    const char *same_k[] = {"w"}, *same_v[] = {"x"};
    llmc_err_clear(&err);
    CHECK(rt_safetensors_serialize(&ok, 1, same_k, same_v, 1, "o.st", &out, &err));
    llmc_buf_free(&out);
    /* writing into a missing directory fails with the path */
    char *nowhere = tmp_path("no/such/dir.safetensors");
    llmc_err_clear(&err);
    CHECK(!rt_safetensors_write(nowhere, &ok, 1, NULL, NULL, 0, &err));
    CHECK(strstr(err.msg, "no/such/dir.safetensors") != NULL);
    free(nowhere);
}

/* --- mutation: no input crashes the reader ------------------------------------------- */

static uint64_t xorshift64(uint64_t *s) {
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static void test_mutations(void) {
    static const float a[6] = {1, 2, 3, 4, 5, 6};
    static const uint16_t h[3] = {0x3F80, 0x4000, 0x4040};
    static const int32_t ids[2] = {7, 8};
    int64_t d23[] = {2, 3}, d3[] = {3}, d2[] = {2};
    RtTensor ts[] = {make_tensor("h.0.w", IR_DTYPE_F32, 2, d23, a), make_tensor("h.0.b", IR_DTYPE_BF16, 1, d3, h),
                     make_tensor("ids", IR_DTYPE_I32, 1, d2, ids)};
    const char *mk[] = {"format"}, *mv[] = {"pt"};
    LlmcBuf valid = {0};
    LlmcErr err = {0};
    CHECK(rt_safetensors_serialize(ts, 3, mk, mv, 1, "m", &valid, &err));
    static const char interesting[] = "0123456789-.e\"{}[],:\\ \x00\xff\x80";
    uint64_t seed = 0x243F6A8885A308D3ull;
    unsigned char *buf = malloc(valid.len);
    int accepted = 0, rejected = 0;
    for (int it = 0; it < 3000; it++) {
        memcpy(buf, valid.data, valid.len);
        size_t len = valid.len;
        int edits = 1 + (int)(xorshift64(&seed) % 3);
        for (int e = 0; e < edits && len > 0; e++) {
            uint64_t r = xorshift64(&seed);
            /* half the edits land in the 8-byte length or the header, where parsing happens */
            size_t span = (r & 1) ? len : (len < 8 + 160 ? len : 8 + 160);
            size_t pos = (size_t)(r >> 16) % span;
            switch ((r >> 8) % 4) {
            case 0: len = pos; break;                                         /* truncate */
            case 1: buf[pos] ^= (unsigned char)(1u << ((r >> 40) % 8)); break; /* bit flip */
            case 2: buf[pos] = (unsigned char)(r >> 48); break;               /* random byte */
            default: buf[pos] = (unsigned char)interesting[(r >> 40) % (sizeof interesting - 1)]; break;
            }
        }
        RtSafetensors st;
        llmc_err_clear(&err);
        if (rt_safetensors_parse(buf, len, "m.st", &st, &err)) {
            accepted++;
            /* whatever is accepted is usable: every tensor converts */
            for (uint32_t i = 0; i < st.count; i++) {
                IrValue v;
                LlmcErr e2 = {0};
                if (rt_tensor_to_value(&st.tensors[i], &v, &e2)) ir_value_free(&v);
                else if (!strstr(e2.msg, "has no elements")) CHECK_STR(e2.msg, "(conversion of an accepted tensor)");
            }
            rt_safetensors_free(&st);
        } else {
            rejected++;
            if (strncmp(err.msg, "m.st", 4) != 0) CHECK_STR(err.msg, "m.st...");
        }
    }
    free(buf);
    llmc_buf_free(&valid);
    CHECK(accepted > 100);
    CHECK(rejected > 1000);
    fprintf(stderr, "mutations: %d accepted, %d rejected\n", accepted, rejected);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/llmc-st-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_roundtrip();
    test_reference_vectors();
    test_bf16();
    test_values();
    test_reader_errors();
    test_reader_accepts();
    test_writer_errors();
    test_mutations();
    if (rmdir(tmpdir) != 0) {
        perror(tmpdir);
        CHECK(!"temporary directory left non-empty");
    }
    TEST_MAIN();
}
