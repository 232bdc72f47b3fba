/* runtime/runtime.h — the public face of runtime/ (prefix rt_, types Rt...).
 *
 * What is here now: the file formats the runtime reads and writes —
 *   - JSON (RFC 8259): a strict reader into a small read-only DOM, and a streaming
 *     writer (compact for one-object-per-line metrics.jsonl, or pretty for manifests);
 *   - safetensors: a validating reader (path or in-memory bytes) and an atomic writer,
 *     plus conversions between safetensors tensors and the interpreter's IrValue;
 *   - small helpers they share (UTF-8 validation, bf16 <-> f32).
 *
 * And execution: the thread pool (static, deterministic work split), the executor (a
 * graph as JIT kernels over one arena, state written back in place), native buffers and
 * the tree-ordered accumulator, and RtTrainer (whole optimizer steps through JIT code).
 *
 * What comes later (see DESIGN.md section 7): loading a compiled bundle, MPI
 * collectives, token shards and data loading, the tokenizer, checkpoints (safetensors +
 * a JSON manifest) and metrics.
 *
 * Every reader validates what it reads and reports a bad input through LlmcErr with a
 * message that names the file and the problem; no input makes a reader crash.
 */
#ifndef LLMC_RUNTIME_H
#define LLMC_RUNTIME_H

#include "ir.h"

/* ===================================================================================
 * Shared helpers
 * =================================================================================== */

/* True when s[0..n) is well-formed UTF-8: no overlong forms, no surrogates (U+D800..
 * U+DFFF), nothing above U+10FFFF. NUL bytes are well-formed. */
bool rt_utf8_valid(const char *s, size_t n);

/* bfloat16 is the top half of an f32. From f32: round to nearest, ties to even; NaN stays
 * NaN (quieted, sign kept); values past the largest bf16 round to infinity. */
uint16_t rt_bf16_from_f32(float f);
float rt_bf16_to_f32(uint16_t h);

/* ===================================================================================
 * JSON reader
 * =================================================================================== */

/* Containers nest at most this deep, in the reader and in the writer: the reader is
 * recursive, and a limit turns "[[[[..." into an error instead of a stack overflow. */
#define RT_JSON_MAX_DEPTH 256

typedef enum RtJsonKind {
    RT_JSON_INVALID = 0,
    RT_JSON_NULL,
    RT_JSON_BOOL,
    RT_JSON_NUMBER,
    RT_JSON_STRING,
    RT_JSON_ARRAY,
    RT_JSON_OBJECT,
    RT_JSON_KIND_COUNT
} RtJsonKind;

/* One value of a parsed document. The whole tree lives in one arena owned by the root;
 * treat it as read-only. */
typedef struct RtJson RtJson;
struct RtJson {
    RtJsonKind kind;
    /* 1-based line and byte column in the text: of the key for an object member, of
     * the value's first character otherwise. For callers' own messages. */
    uint32_t line, col;
    const char *key; /* object members: the key, UTF-8, NUL-terminated; NULL otherwise */
    size_t key_len;
    bool boolean;    /* BOOL */
    /* NUMBER: `number` is the nearest double (always set). `is_int` is true when the
     * text has no fraction and no exponent and fits int64; `integer` is then exact
     * (safetensors offsets need all 63 bits). "1.0" and "1e3" are not integers. */
    bool is_int;
    int64_t integer;
    double number;
    const char *str; /* STRING: UTF-8, NUL-terminated; may hold NULs from \u0000 */
    size_t str_len;
    RtJson *items;   /* ARRAY elements or OBJECT members, in document order */
    uint32_t count;
};

/* Parses exactly one JSON value from text[0..len) (no NUL needed). Strict RFC 8259:
 * no comments, no trailing commas, no NaN/Infinity, no leading zeros, no BOM, no
 * trailing characters other than whitespace; strings must be valid UTF-8 with control
 * characters escaped; \uXXXX escapes (surrogate pairs combined) become UTF-8, a lone
 * surrogate is an error. Numbers whose magnitude overflows a double are rejected.
 * Duplicate keys in one object are rejected (safetensors forbids duplicate names, and
 * "last one wins" hides mistakes). Nesting deeper than RT_JSON_MAX_DEPTH is rejected.
 * Errors read "NAME:LINE:COL: message". On success *out is the root: free it with
 * rt_json_free. On failure *out is NULL. */
bool rt_json_parse(const char *text, size_t len, const char *name, RtJson **out, LlmcErr *err);
/* Frees a whole document; root must come from rt_json_parse (NULL is fine). */
void rt_json_free(RtJson *root);

/* The member of obj named key (NULL if obj is not an object or has no such key). */
const RtJson *rt_json_get(const RtJson *obj, const char *key);
/* Element or member i of an array or object; NULL when out of range or not a container. */
const RtJson *rt_json_at(const RtJson *v, uint32_t i);
/* "null", "boolean", "number", "string", "array", "object": for messages. */
const char *rt_json_kind_name(RtJsonKind k);

/* ===================================================================================
 * JSON writer
 * =================================================================================== */

typedef enum RtJsonStyle {
    RT_JSON_STYLE_INVALID = 0,
    RT_JSON_COMPACT, /* no whitespace at all: one value on one line */
    RT_JSON_PRETTY,  /* two-space indentation, one element per line */
    RT_JSON_STYLE_COUNT
} RtJsonStyle;

/* Appends one JSON value to *out, inserting commas, colons and indentation itself.
 * Misuse (a value in an object without a key, a key outside an object, unbalanced
 * ends, a second top-level value) is a programming error and asserts.
 * One object per line (metrics.jsonl):
 *     RtJsonWriter w; rt_json_writer_init(&w, &buf, RT_JSON_COMPACT);
 *     rt_json_begin_object(&w); rt_json_key(&w, "step"); rt_json_int(&w, 7);
 *     rt_json_end_object(&w); llmc_buf_putc(&buf, '\n');   -- then init again */
typedef struct RtJsonWriter {
    LlmcBuf *out;
    RtJsonStyle style;
    uint32_t depth;  /* open containers */
    bool after_key;  /* a key was written; its value comes next */
    bool done;       /* the top-level value is complete */
    struct {
        bool is_object, has_items;
    } open[RT_JSON_MAX_DEPTH];
} RtJsonWriter;

void rt_json_writer_init(RtJsonWriter *w, LlmcBuf *out, RtJsonStyle style);
/* True once exactly one complete top-level value has been written. */
bool rt_json_writer_done(const RtJsonWriter *w);
void rt_json_begin_object(RtJsonWriter *w);
void rt_json_end_object(RtJsonWriter *w);
void rt_json_begin_array(RtJsonWriter *w);
void rt_json_end_array(RtJsonWriter *w);
void rt_json_key(RtJsonWriter *w, const char *key);
void rt_json_key_n(RtJsonWriter *w, const char *key, size_t n);
/* Strings are escaped: '"' and '\\', \b \f \n \r \t, other control characters as
 * \u00XX; valid UTF-8 passes through as is; each byte of invalid UTF-8 becomes \ufffd,
 * so the output is always valid JSON. */
void rt_json_string(RtJsonWriter *w, const char *s);
void rt_json_string_n(RtJsonWriter *w, const char *s, size_t n);
void rt_json_int(RtJsonWriter *w, int64_t v);
/* The shortest "%.Ng" text that reads back to the same double (so 0.1 is "0.1" and
 * 3.0 is "3"; -0.0 is "-0.0" so it does not read back as the integer 0). NaN and
 * infinities are not JSON: they are written as null. */
void rt_json_double(RtJsonWriter *w, double v);
void rt_json_bool(RtJsonWriter *w, bool v);
void rt_json_null(RtJsonWriter *w);

/* ===================================================================================
 * safetensors
 * ===================================================================================
 * Layout: u64 little-endian N; N bytes of JSON header
 *   {"NAME": {"dtype": "F32", "shape": [2, 3], "data_offsets": [BEGIN, END]}, ...,
 *    "__metadata__": {"KEY": "VALUE", ...}}      (metadata optional)
 * then the data buffer; offsets are relative to its start and the tensors must tile it
 * exactly (no overlaps, no holes, nothing after the last one). Supported dtypes: F32,
 * F64, I32, BF16; any other (F16, I64, U8, BOOL, ...) is rejected naming the tensor.
 * Data is little-endian; llmc only builds on little-endian hosts (checked at compile
 * time), so the bytes are used as they are. */

typedef struct RtTensor {
    char *name;
    IrType type;     /* dtype F32, F64, I32 or BF16 */
    void *data;      /* [nbytes], row-major, little-endian. Not necessarily aligned
                        for its dtype in a file read from elsewhere: use memcpy. */
    uint64_t nbytes; /* == ir_type_bytes(&type) */
} RtTensor;

typedef struct RtSafetensors {
    RtTensor *tensors; /* [count], in header order; names unique */
    uint32_t count;
    /* __metadata__, in header order; keys unique; UTF-8. Two arrays rather than pairs
     * so they pass straight back to rt_safetensors_write. */
    const char **meta_keys;   /* [n_meta], owned by the struct */
    const char **meta_values; /* [n_meta], owned by the struct */
    uint32_t n_meta;
    void *blob;        /* owns the bytes every tensors[i].data points into */
} RtSafetensors;

/* Reads and validates a whole file. Headers above 100 MB are rejected. Unknown fields
 * inside a tensor entry are ignored; everything the format defines is checked. On
 * failure *out is zeroed and err says "PATH: problem". */
bool rt_safetensors_read(const char *path, RtSafetensors *out, LlmcErr *err);
/* The same over bytes in memory (for tests and fuzzing); the data is copied, so bytes
 * may be freed afterwards. name is used in messages. */
bool rt_safetensors_parse(const void *bytes, size_t len, const char *name, RtSafetensors *out,
                          LlmcErr *err);
const RtTensor *rt_safetensors_find(const RtSafetensors *st, const char *name); /* linear */
void rt_safetensors_free(RtSafetensors *st);

/* Serializes n tensors and n_meta metadata pairs (meta_keys[i], meta_values[i]; both
 * may be NULL when n_meta is 0) into *out (appending). Layout: stable sort by dtype
 * size, largest first (ties keep the given order), so every tensor is naturally
 * aligned in the data buffer; the header lists them in that same order,
 * __metadata__ first (omitted when n_meta is 0), compact, padded with spaces to a
 * multiple of 8 bytes. Deterministic: the same input gives the same bytes.
 * Rejected with a message naming `name` and the tensor: duplicate or invalid UTF-8
 * names, the name "__metadata__", unsupported dtypes, bad shapes, nbytes not matching
 * the type, duplicate metadata keys. */
bool rt_safetensors_serialize(const RtTensor *tensors, uint32_t n, const char *const *meta_keys,
                              const char *const *meta_values, uint32_t n_meta, const char *name,
                              LlmcBuf *out, LlmcErr *err);
/* Serializes, then writes atomically (llmc_file_write: temp file, fsync, rename). The
 * whole file is built in memory first. */
bool rt_safetensors_write(const char *path, const RtTensor *tensors, uint32_t n,
                          const char *const *meta_keys, const char *const *meta_values,
                          uint32_t n_meta, LlmcErr *err);

/* Conversions with the interpreter's values (which store every dtype as double).
 * to_value: allocates *out (ir_value_alloc) with t's type; bf16 widens exactly through
 * float. Fails (naming the tensor) on an unsupported dtype, a byte count that does not
 * match the type, missing data, or zero elements (IrValue has no empty values). */
bool rt_tensor_to_value(const RtTensor *t, IrValue *out, LlmcErr *err);
/* from_value: allocates out->name and out->data in v's dtype. f32 and bf16 round from
 * the double through float (bf16: nearest-even from that float); i32 truncates toward
 * zero and saturates (NaN becomes 0), as the values of an i32 IrValue are already
 * integers this only matters for garbage. Asserts on an unsupported dtype. Free with
 * rt_tensor_free. */
void rt_tensor_from_value(const IrValue *v, const char *name, RtTensor *out);
void rt_tensor_free(RtTensor *t); /* frees name and data of a tensor made above */

/* ===================================================================================
 * Thread pool (runtime/pool.c)
 * ===================================================================================
 * A fixed set of threads that run one kernel call at a time over a range of work items
 * (an elementwise kernel's elements, a matmul's output blocks, ...). The split is a
 * static rule, so which thread computes which item never depends on timing: [0, n) is
 * cut into units of `grain` items, the units into C = min(threads, units) contiguous
 * chunks as evenly as integer division allows (chunk i: units [i*U/C, (i+1)*U/C)), and
 * chunk i runs on thread i (the caller is thread 0). Kernels split only over
 * independent outputs, and each item is computed by exactly one call, so the bytes are
 * the same for any thread count and grain. Idle workers poll briefly for the next call,
 * then sleep on a condition variable (no polling when there are more threads than cores).
 * Not reentrant: one thread calls rt_pool_run at a time, and fn must not call it. */

/* The signature of a kernel (CcKernelFn in compiler.h): items [begin, end). */
typedef void (*RtKernelFn)(void **bufs, int64_t begin, int64_t end);

typedef struct RtPool RtPool;
/* threads counts the caller: 1 starts no thread. 0 means the number of online cores.
 * NULL + message when a thread cannot be started (those started are joined). */
RtPool *rt_pool_new(uint32_t threads, LlmcErr *err);
uint32_t rt_pool_threads(const RtPool *pool);
/* Runs fn(bufs, begin, end) over [0, n_items) as above and returns when every chunk is
 * done. n_items <= 0 calls nothing; grain < 1 counts as 1. */
void rt_pool_run(RtPool *pool, RtKernelFn fn, void **bufs, int64_t n_items, int64_t grain);
/* Stops and joins the workers (none may be running a call). NULL is fine. */
void rt_pool_free(RtPool *pool);

/* ===================================================================================
 * Native buffers (runtime/native.c): dense float / double / int32_t arrays, as kernels
 * read and write them, and the interpreter's values.
 * =================================================================================== */

void *rt_native_from_value(const IrValue *v);      /* malloc'd, rounded to the dtype */
void rt_native_store(const IrValue *v, void *p);    /* into an existing buffer */
void rt_native_to_value(const void *p, IrType type, IrValue *out); /* allocates *out */

/* The tree-ordered sum over micro-batches (compiler/accumulate.c's binary counter, same
 * order, same per-addition rounding in the dtype) over native buffers. push copies;
 * finish writes the sum into out[i] and empties the accumulator. */
typedef struct RtAccum RtAccum;
RtAccum *rt_accum_new(const IrType *types, uint32_t n_values);
void rt_accum_push(RtAccum *a, void *const *values);
void rt_accum_finish(RtAccum *a, void *const *out);
void rt_accum_free(RtAccum *a);

/* ===================================================================================
 * Executor (runtime/exec.c): one graph as JIT kernels over one arena, run on the pool.
 * The rules (buffers, write-back of state, determinism) are in the file's banner.
 * =================================================================================== */

typedef struct CcJit CcJit;             /* compiler.h */
typedef struct CcFusion CcFusion;       /* compiler.h */
typedef struct CcMemPlan CcMemPlan;     /* compiler.h */
typedef struct RtExec RtExec;
typedef struct RtExecStats {
    uint32_t kernels;          /* of the fusion, RUNTIME ones included */
    uint32_t functions;        /* compiled kernel functions */
    uint32_t runtime_kernels;  /* collectives over one rank: copies */
    uint64_t arena_bytes;      /* the memory plan's peak */
    uint32_t writeback_direct; /* outputs written straight over their input */
    uint32_t writeback_copied; /* outputs written back through a scratch copy */
    double compile_ms;         /* generating (or loading) every kernel */
    uint64_t runs;
} RtExecStats;

/* Fuses g, plans its memory and compiles every kernel with jit (and the jit's object
 * cache, if set). g, jit and pool must outlive the executor. NULL + message (naming the
 * kernel) when a kernel cannot be generated: nothing falls back to interpretation. */
RtExec *rt_exec_new(CcJit *jit, const IrGraph *g, RtPool *pool, LlmcErr *err);
void rt_exec_free(RtExec *e);
/* One run. inputs[i]: dense native buffer of the i-th input (ir_graph_inputs order);
 * outputs[o]: the buffer for output o, or NULL for an output named like an input of the
 * same type: it is then written back into that input's buffer (the update graph's
 * params, moments, step).
 * Buffers must not overlap one another. false + message on a missing buffer. */
bool rt_exec_run(RtExec *e, void *const *inputs, void *const *outputs, LlmcErr *err);
const CcFusion *rt_exec_fusion(const RtExec *e);
const CcMemPlan *rt_exec_memplan(const RtExec *e);
const IrGraph *rt_exec_graph(const RtExec *e);
RtExecStats rt_exec_stats(const RtExec *e);

/* ===================================================================================
 * Training steps through JIT code (runtime/train.c): cc_step_interp's semantics (tree-
 * ordered accumulation, the update graph, state written back) on two executors.
 * =================================================================================== */

typedef struct CcTrainStep CcTrainStep; /* compiler.h */
typedef struct CcVar CcVar;
typedef struct CcStepResult CcStepResult;
typedef bool (*RtBatchFn)(void *ctx, uint32_t micro_index, const char *input, IrValue *out, LlmcErr *err);
typedef struct RtTrainer RtTrainer;
/* Copies vars (params, optimizer state, hp.*: every non-data input of both graphs, e.g.
 * @init's params plus cc_train_state_new) into native buffers and compiles both graphs.
 * s, jit and pool must outlive the trainer. NULL + message on failure. */
RtTrainer *rt_trainer_new(CcJit *jit, const CcTrainStep *s, RtPool *pool, const CcVar *vars, uint32_t n_vars,
                          LlmcErr *err);
void rt_trainer_free(RtTrainer *t);
/* One optimizer step (batch: the micro graph's data inputs, as for cc_step_interp). On
 * failure the vars may hold a partial step. */
bool rt_trainer_step(RtTrainer *t, RtBatchFn batch, void *ctx, CcStepResult *res, LlmcErr *err);
/* Var `name`'s current value as an interpreter value (allocated); false if unknown. */
bool rt_trainer_var(const RtTrainer *t, const char *name, IrValue *out);
const RtExec *rt_trainer_exec(const RtTrainer *t, bool update);

#endif /* LLMC_RUNTIME_H */
