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
 * And training runs: token shards and the data loader, checkpoints (atomic, with a
 * manifest), and compiled bundles (`llmc -o`), all documented in docs/formats.md.
 *
 * And text: the byte-level BPE tokenizer, and extern ops called through libffi.
 *
 * What comes later (see DESIGN.md section 8): MPI collectives.
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

/* The checksum of llmc's files (runtime/checksum.c): 64-bit FNV-1a, written as 16 lower-
 * case hex digits in JSON. rt_checksum_update continues a running hash (start from
 * RT_CHECKSUM_INIT), so data can be hashed in pieces. */
#define RT_CHECKSUM_INIT 0xcbf29ce484222325ull
uint64_t rt_checksum(const void *data, size_t len);
uint64_t rt_checksum_update(uint64_t h, const void *data, size_t len);

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
/* The layout rt_safetensors_serialize gives these tensors, from their names and types
 * alone (data and nbytes are not read): appends to *header the file's bytes before the
 * data buffer (the u64 length and the padded JSON header), sets data_offsets[i] (the
 * caller's array [n]) to tensor i's offset in the data buffer and *data_len to the
 * buffer's size. The serializer is built on it, so the two cannot disagree. Rejected as
 * by rt_safetensors_serialize (a type of more than 2^63 bytes instead of a bad nbytes). */
bool rt_safetensors_layout(const RtTensor *tensors, uint32_t n, const char *const *meta_keys,
                           const char *const *meta_values, uint32_t n_meta, const char *name,
                           LlmcBuf *header, uint64_t *data_offsets, uint64_t *data_len, LlmcErr *err);
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
/* from_value: allocates out->name and out->data in v's dtype. f32 rounds the double to
 * float; bf16 rounds it once, directly (ir_bf16_from_double, not through float); i32
 * truncates toward zero and saturates (NaN becomes 0), as the values of an i32 IrValue
 * are already integers this only matters for garbage. Asserts on an unsupported dtype. Free with
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
 * Token shards and data (runtime/shards.c, runtime/data.c)
 * ===================================================================================
 * A token shard (docs/formats.md, "Token shards") is a 48-byte little-endian header —
 *   magic "LLMTOK\0\0" | u32 version (1) | u32 id bytes (2 or 4) | u32 vocab |
 *   u32 reserved (0) | u64 count | u64 checksum of the id bytes | u64 checksum of the
 *   40 header bytes before it
 * — then `count` little-endian ids, u16 when vocab <= 65536, else u32. Checksums are
 * rt_checksum. Every id is < vocab. Data directories hold shards named *.shard. */

#define RT_SHARD_MAGIC "LLMTOK\0\0" /* 8 bytes, the two NULs included */
#define RT_SHARD_VERSION 1u
#define RT_SHARD_HEADER_BYTES 48u

/* A shard's header fields, as read (all validated when the read succeeds). */
typedef struct RtShardHeader {
    uint32_t version;         /* RT_SHARD_VERSION */
    uint32_t id_bytes;        /* 2 or 4, as the vocab implies */
    uint32_t vocab;           /* >= 1; every id is below it */
    uint64_t count;           /* ids in the file */
    uint64_t checksum;        /* rt_checksum of the id bytes as stored */
    uint64_t header_checksum; /* rt_checksum of header bytes [0, 40) */
} RtShardHeader;

/* Writes ids[0..count) as a shard for vocab (>= 1) atomically (llmc_file_write: temp
 * file, fsync, rename). An id >= vocab is rejected ("PATH: token T at position P is >=
 * vocab V") and nothing is written. count may be 0. */
bool rt_shard_write(const char *path, const uint32_t *ids, uint64_t count, uint32_t vocab, LlmcErr *err);
/* Reads and validates a whole shard: magic, version, header checksum, id width (must
 * match the vocab), reserved field, size (truncated / trailing bytes), data checksum,
 * every id < vocab. On success *ids is a malloc'd [count] array (never NULL, free it),
 * widened to u32. On failure *ids is NULL, *count and *vocab are 0, and err says "PATH:
 * problem". */
bool rt_shard_read(const char *path, uint32_t **ids, uint64_t *count, uint32_t *vocab, LlmcErr *err);
/* The same over bytes in memory (tests, fuzzing, `llmdata info`); name is used in
 * messages. hdr (may be NULL) receives the header fields; ids may be NULL to validate
 * only. */
bool rt_shard_parse(const void *bytes, size_t len, const char *name, RtShardHeader *hdr, uint32_t **ids,
                    LlmcErr *err);

/* The data loader: every shard of a directory, concatenated, split into a training and
 * a validation part, and cut into windows of seq+1 tokens (stride seq: a window's last
 * token is the next one's first) for next-token prediction.
 *
 * Split: the last ceil(val_fraction * N) of the N tokens are the validation split —
 * but at least one window (seq+1 tokens) when val_fraction > 0, and the training split
 * must keep at least one window too. The split therefore depends on seq (fixed for a
 * run); rt_data_split gives the exact numbers.
 *
 * Order: training sample s = micro_index * batch + b of global micro-batch micro_index
 * is in epoch e = s / W (W training windows) and reads window perm(seed, e)(s mod W),
 * a pseudo-random permutation of [0, W) keyed by (seed, epoch) (a Feistel network with
 * cycle walking, runtime/data.c). It is a pure function of (seed, micro_index, batch,
 * seq) and the data: neither the number of ranks nor the order of calls changes any
 * batch, and each epoch reads every window exactly once. Validation batches read the
 * windows in order, unshuffled (sample s reads window s mod W_val). */
typedef struct RtData RtData;

typedef struct RtDataSplit {
    uint64_t train_tokens, val_tokens;   /* train_tokens + val_tokens == all tokens */
    uint64_t train_windows, val_windows; /* windows of seq+1 tokens, stride seq */
} RtDataSplit;

/* Opens every *.shard file of dir (dot-files skipped) in byte order of the names, checks
 * each (rt_shard_read) and that its vocab <= model_vocab, and concatenates the ids.
 * model_vocab must be in [1, 2^31) (ids become int32); val_fraction in [0, 1).
 * Errors name the directory or the shard: a missing directory, no shards, no tokens. */
RtData *rt_data_open(const char *dir, uint32_t model_vocab, double val_fraction, LlmcErr *err);
/* The split for windows of seq+1 tokens; false + "DIR: too little data ..." when either
 * split (the validation one only when val_fraction > 0) cannot hold one window. */
bool rt_data_split(const RtData *d, int64_t seq, RtDataSplit *out, LlmcErr *err);
/* Fills tokens and targets, both [batch, seq] row-major: row b is window w's tokens
 * [0, seq) and targets [1, seq] (the next token), w as described above. false + message
 * on batch or seq < 1, too little data, or sample numbers past 2^64. */
bool rt_data_batch(RtData *d, bool validation, uint64_t seed, uint64_t micro_index, int64_t batch, int64_t seq,
                   int32_t *tokens, int32_t *targets, LlmcErr *err);
/* The training epoch (0-based) of the last sample of micro-batch micro_index, so the
 * first micro-batch that repeats data reports 1 ("data repeats: epoch 2 starts at step
 * N"). 0 when rt_data_batch would fail for these batch and seq (it reports why). */
uint64_t rt_data_epoch(const RtData *d, uint64_t micro_index, int64_t batch, int64_t seq);
/* Tokens in the split as cut by val_fraction alone: ceil(val_fraction * N) for
 * validation, the rest for training. rt_data_split adds the one-window minimum. */
uint64_t rt_data_tokens(const RtData *d, bool validation);
uint32_t rt_data_shards(const RtData *d); /* shards read */
void rt_data_free(RtData *d);             /* NULL is fine */

/* ===================================================================================
 * Bundles (runtime/bundle.c): the compiled model `llmc MODEL.llm -o MODEL.llmc` writes.
 * The byte layout and every section's contents are in the banner of runtime/bundle.c
 * and docs/formats.md ("Bundles").
 * =================================================================================== */

#define RT_BUNDLE_MAGIC "LLMCBNDL"
#define RT_BUNDLE_VERSION 1u
#define RT_BUNDLE_MAX_SECTIONS 64u
#define RT_BUNDLE_NAME_MAX 32u /* a section name's bytes, its NUL included */

typedef struct RtBundleSection {
    char name[RT_BUNDLE_NAME_MAX]; /* "config.json", "module.llir", ... */
    const unsigned char *data;     /* [size]: into the bundle's blob (read), or the
                                      caller's bytes (write) */
    uint64_t size;
} RtBundleSection;

typedef struct RtBundle {
    RtBundleSection *sections; /* [n_sections] in file order; names unique */
    uint32_t n_sections;
    uint32_t version;
    void *blob;                /* owns the file's bytes */
    size_t blob_len;
} RtBundle;

/* The sections every bundle has (rt_bundle_read rejects a bundle without one). */
extern const char *const rt_bundle_required[]; /* NULL-terminated */

/* Serializes sections into *out (appending): header, table, header checksum, then the
 * sections back to back in the given order. Asserts on bad names or more than
 * RT_BUNDLE_MAX_SECTIONS; deterministic. */
void rt_bundle_serialize(const RtBundleSection *sections, uint32_t n, LlmcBuf *out);
/* Serializes and writes atomically (llmc_file_write). */
bool rt_bundle_write(const char *path, const RtBundleSection *sections, uint32_t n, LlmcErr *err);
/* Validates and loads: magic, version, the header checksum, the table (names, offsets,
 * sizes, no gaps or overlaps, nothing after the last section), every section's
 * checksum, the required sections, config.json and memplan.json as JSON objects.
 * Every byte of a valid file is covered by a checksum, so any flipped bit is an error.
 * Errors read "PATH: problem" (truncated, not a bundle, unsupported version, corrupt
 * header or section, missing section). On failure *out is zeroed. */
bool rt_bundle_read(const char *path, RtBundle *out, LlmcErr *err);
/* The same over bytes in memory (copied); name is used in messages. */
bool rt_bundle_parse(const void *bytes, size_t len, const char *name, RtBundle *out, LlmcErr *err);
/* Whether bytes start like a bundle (the magic): for tools that take .llir or .llmc. */
bool rt_bundle_sniff(const void *bytes, size_t len);
const RtBundleSection *rt_bundle_section(const RtBundle *b, const char *name); /* NULL if none */
void rt_bundle_free(RtBundle *b);

/* module.llir parsed and verified (ir_parse_module): @forward, @init (when the model has
 * parameters), @micro, @update. Diagnostics are named "NAME:module.llir". */
bool rt_bundle_module(const RtBundle *b, const char *name, IrModule *out, LlmcDiags *diags);

/* The blob tables of the sections "objects" and "kernels.bc": a target text
 * (cc_objcache_target of the JIT that compiled them) and entries (key, bytes): object
 * files for "objects", kernel-module bitcode for "kernels.bc", in compile order. */
typedef struct RtBundleBlob {
    uint64_t key_lo, key_hi; /* a CcObjKey */
    const unsigned char *data;
    uint64_t size;
} RtBundleBlob;
typedef struct RtBundleBlobs {
    char *target;          /* NUL-terminated copy */
    RtBundleBlob *items;   /* [count]; data points into the section */
    uint32_t count;
} RtBundleBlobs;
void rt_bundle_blobs_serialize(const char *target, const RtBundleBlob *items, uint32_t n, LlmcBuf *out);
/* Parses section `section` of b; false + "NAME: section 'S': problem" when malformed. */
bool rt_bundle_blobs(const RtBundle *b, const char *section, const char *name, RtBundleBlobs *out, LlmcErr *err);
void rt_bundle_blobs_free(RtBundleBlobs *t);

/* Writes every object of the bundle into `cache` as an entry (cc_objcache_store), so an
 * executor built with jit + cache from the bundle's @micro / @update loads every kernel
 * (hits, no codegen). Only when the bundle's target text equals cc_objcache_target(jit)
 * (same LLVM, CPU, features, cache format): otherwise nothing is installed, *installed
 * is 0, a warning saying why is added to the cache's diagnostics (cc_objcache_diags), and
 * the kernels will simply be compiled. false + message on a malformed section or a
 * failed write. */
typedef struct CcObjCache CcObjCache; /* compiler.h */
typedef struct CcJit CcJit;           /* compiler.h */
bool rt_bundle_install_objects(const RtBundle *b, const char *name, CcObjCache *cache, const CcJit *jit,
                               uint32_t *installed, LlmcErr *err);

/* The model hash of config.json: rt_checksum of the canonical .llir text (ir_print_graph)
 * of `fwd` with its train record and its .llm locations left out (the same model compiled
 * from another path or with edited comments has the same hash). llmc hashes the @forward graph lowered at
 * batch = 1, seq = 1, so the hash names the architecture (parameter names, shapes and
 * dtypes; every op, attribute and constant) and not the recipe: batch, seq and every
 * train {} field may change under the same hash. */
uint64_t rt_model_hash(const IrGraph *fwd);

/* ===================================================================================
 * Checkpoints (runtime/ckpt.c)
 * ===================================================================================
 * RUN_DIR/ckpt-<step, 8 digits>/{state.safetensors, manifest.json}, RUN_DIR/latest naming
 * the newest; the manifest's fields and checksums are in ckpt.c's banner and
 * docs/formats.md. Saves are atomic: a crash or a full disk never leaves a damaged
 * checkpoint under a checkpoint's name, and never moves `latest` off a complete one. */

/* One recipe entry. value is JSON text: a number ("0.001", "64") or a string literal
 * with its quotes ("\"cosine\""); on save, a value that is neither is taken as a plain
 * string ("cosine"). The manifest stores values canonically (numbers in shortest round-
 * trip form, integers as integers), and load returns that canonical JSON text, strings
 * quoted. */
typedef struct RtKv {
    char *key;
    char *value;
} RtKv;

typedef struct RtCkptMeta {
    int64_t step;         /* optimizer steps done; >= 0 */
    uint64_t data_pos;    /* the next global micro-batch index */
    uint64_t seed;        /* the run's seed: the RNG streams are keyed by it */
    char model_hash[17];  /* 16 lower-case hex digits + NUL */
    RtKv *recipe;         /* [n_recipe]: hyperparameters, global batch, seed...; keys unique */
    uint32_t n_recipe;
    uint32_t world_size;  /* >= 1; informational: a resume may change it */
} RtCkptMeta;

typedef struct RtCkpt {
    RtCkptMeta meta;      /* recipe owned */
    RtSafetensors state;  /* params and optimizer state, as saved */
    char *dir;            /* the checkpoint folder it was read from */
} RtCkpt;

/* Saves tensors (names as given; rt_safetensors_serialize's rules) and meta as
 * RUN_DIR/ckpt-<step> (created with its parents; one of the same step is replaced),
 * points RUN_DIR/latest at it, then removes the oldest other checkpoints so that `keep`
 * remain counting this one (keep = 0 keeps all; the one just written always stays, the
 * others go by descending step) and leftovers of killed saves. Every file and folder is
 * fsync'd before it is renamed into place. On failure (disk full, I/O error, a failed
 * rename: "PATH: problem: errno text") nothing previously saved is changed and the
 * temporary folder is removed. */
bool rt_ckpt_save(const char *run_dir, const RtCkptMeta *meta, const RtTensor *tensors, uint32_t n,
                  uint32_t keep, LlmcErr *err);
/* A save by every rank of a world, each writing its own byte ranges of one canonical
 * checkpoint: the same files, names and bytes as rt_ckpt_save of the whole tensors (the
 * canonical layout any world size resumes from). Collective: every rank calls it with the
 * same meta, specs and keep, and its own pieces. specs[i] names tensor i and its type
 * (the safetensors layout is computed from the specs alone, as rt_safetensors_serialize
 * orders it); piece bytes [nbytes] go to tensor `tensor` at byte `offset`. Between them
 * the ranks' pieces must cover every byte of every tensor exactly once (checked: a gap or
 * an overlap is an error). Rank 0 creates RUN_DIR/.tmp-ckpt-<step>-<rank 0's pid> (the
 * name is broadcast) with the state file's header and size; every rank pwrite()s its
 * pieces and fsyncs; rank 0 checksums the file, writes the manifest and installs the
 * folder exactly as rt_ckpt_save does (rename, latest, keep, cleanup). The run directory
 * must be one file system every rank sees. Returns the same result on every rank; on any
 * rank's failure nothing previously saved changes and err (on every rank) names the rank
 * and the problem. */
typedef struct RtCkptSpec {
    const char *name;
    IrType type; /* F32, F64, I32 or BF16 */
} RtCkptSpec;
typedef struct RtCkptPiece {
    uint32_t tensor;   /* index into specs */
    uint64_t offset;   /* byte offset inside the tensor's data */
    uint64_t nbytes;
    const void *bytes;
} RtCkptPiece;
typedef struct RtComm RtComm; /* below, "Communication" */
bool rt_ckpt_save_pieces(RtComm *comm, const char *run_dir, const RtCkptMeta *meta, const RtCkptSpec *specs,
                         uint32_t n_specs, const RtCkptPiece *pieces, uint32_t n_pieces, uint32_t keep,
                         LlmcErr *err);
/* path: a RUN_DIR (follows `latest`) or a checkpoint folder. Validates the manifest
 * (format, version, its own checksum, every field and type), the state file's size and
 * checksum, then reads it (rt_safetensors_read). On failure *out is zeroed and err says
 * "PATH: problem". Free with rt_ckpt_free (a zeroed RtCkpt is fine). */
bool rt_ckpt_load(const char *path, RtCkpt *out, LlmcErr *err);
void rt_ckpt_free(RtCkpt *c);
/* false + "DIR: checkpoint is of another model (hash X, this model Y)" on a mismatch. */
bool rt_ckpt_check_model(const RtCkpt *c, const char *model_hash, LlmcErr *err);
/* Compares the recipe saved in a with the current one (canonical values, so "1e-3"
 * equals "0.001"). Appends one line per difference to msg (may be NULL):
 * "lr: 0.001 -> 0.002", "warmup: (not set) -> 100", "clip: 1 -> (not set)"; saved keys
 * first in saved order, then added ones. Returns the number of differences. */
uint32_t rt_ckpt_recipe_diff(const RtCkptMeta *a, const RtKv *now, uint32_t n, LlmcBuf *msg);

/* ===================================================================================
 * BPE tokenizer (runtime/bpe.c): byte-level BPE as in GPT-2. The `*.tok` layout is in
 * docs/formats.md ("BPE tokenizer").
 * ===================================================================================
 * Ids: 0..255 are the 256 single bytes (a permutation: identity for trained tokenizers,
 * GPT-2's order for imported ones), merge i makes id 256 + i from two lower ids, and the
 * special tokens follow (vocab = 256 + merges + specials). Text is cut into pre-tokens
 * (rt_bpe_pretoken), each encoded alone by applying merges lowest rank first; decoding
 * concatenates the tokens' bytes, so any byte string round-trips exactly. Special tokens
 * are never produced from text (text "<|endoftext|>" encodes as ordinary bytes): callers
 * add them by id (rt_bpe_special). */

#define RT_BPE_MAGIC "LLMCBPE\0" /* 8 bytes, the NUL included */
#define RT_BPE_VERSION 1u
#define RT_BPE_EOT "<|endoftext|>"
#define RT_BPE_MAX_TOKEN_BYTES 1024u /* the longest token (merged or special) */
#define RT_BPE_MAX_MERGES (1u << 24)
#define RT_BPE_MAX_SPECIALS 1024u

typedef struct RtBpe RtBpe;
typedef struct RtBpeMerge {
    uint32_t left, right; /* both < 256 + the merge's index */
} RtBpeMerge;
typedef struct RtBpeText {
    const char *data; /* [len] bytes, any values */
    size_t len;
} RtBpeText;
/* A growable id array; zero-initialize, free `ids` with free(). */
typedef struct RtBpeIds {
    uint32_t *ids; /* [count] */
    size_t count, cap;
} RtBpeIds;

/* The length (>= 1) of the pre-token starting at text[pos] (pos < len), GPT-2's pattern
 *   's|'t|'re|'ve|'m|'ll|'d| ?L+| ?N+| ?[^\sLN]+|\s+(?!\S)|\s+
 * over bytes: L = ASCII letters and every byte >= 0x80, N = ASCII digits, \s = space,
 * \t \n \v \f \r. A whitespace run before a non-space leaves its last byte to the next
 * pre-token. */
size_t rt_bpe_pretoken(const void *text, size_t len, size_t pos);

/* Builds a tokenizer from its parts, validating them like the file reader: byte_of (may
 * be NULL for identity) a permutation of 0..255 giving the byte of ids 0..255; merges
 * referring only to earlier ids, no pair twice, no token above RT_BPE_MAX_TOKEN_BYTES;
 * specials non-empty, unique, at most RT_BPE_MAX_TOKEN_BYTES each. Copies everything.
 * NULL + "NAME: problem" on bad parts. */
RtBpe *rt_bpe_new(const uint8_t *byte_of, const RtBpeMerge *merges, uint32_t n_merges, const char *const *specials,
                  const size_t *special_lens, uint32_t n_specials, const char *name, LlmcErr *err);
void rt_bpe_free(RtBpe *t); /* NULL is fine */

/* Progress of training: called every few hundred merges and at the end. */
typedef void (*RtBpeProgressFn)(void *ctx, uint32_t merges_done, uint32_t merges_wanted);

/* Learns merges from docs (pre-tokenized, counted as words) until vocab = 256 + merges
 * + 1 (the one special token RT_BPE_EOT) or no pair occurs twice (the vocab is then
 * smaller: rt_bpe_vocab tells). Each step merges the most frequent adjacent pair; ties
 * go to the smaller (left, right); a pair whose token would exceed
 * RT_BPE_MAX_TOKEN_BYTES is never merged. Pair counts are updated incrementally (only
 * the words holding the merged pair), so the result is a pure function of the texts and
 * vocab. Pre-tokens longer than 64 bytes are counted as 64-byte pieces (so a page of
 * letters without a space costs no more than text; encoding is not affected). vocab
 * must be in [257, 256 + RT_BPE_MAX_MERGES]. progress may be NULL. */
RtBpe *rt_bpe_train(const RtBpeText *docs, size_t n_docs, uint32_t vocab, RtBpeProgressFn progress, void *ctx,
                    LlmcErr *err);

uint32_t rt_bpe_vocab(const RtBpe *t);
uint32_t rt_bpe_n_merges(const RtBpe *t);
uint32_t rt_bpe_n_specials(const RtBpe *t);
RtBpeMerge rt_bpe_merge(const RtBpe *t, uint32_t i); /* i < n_merges */
uint8_t rt_bpe_byte_of(const RtBpe *t, uint32_t id); /* id < 256 */
/* Token id's bytes (a special token's text); NULL when id >= vocab. */
const unsigned char *rt_bpe_token(const RtBpe *t, uint32_t id, size_t *len);
/* The id of special token `text` (e.g. RT_BPE_EOT), or -1. */
int64_t rt_bpe_special(const RtBpe *t, const char *text);

/* Appends the ids of text[0..len) to *out. Never fails. Keeps a cache of pre-token
 * encodings inside t, so a tokenizer is not to be used by two threads at once. */
void rt_bpe_encode(RtBpe *t, const void *text, size_t len, RtBpeIds *out);
/* Appends the bytes of ids[0..n) to *out; false + "token T at position P is >= vocab V"
 * on a bad id (the bytes before it are appended). */
bool rt_bpe_decode(const RtBpe *t, const uint32_t *ids, size_t n, LlmcBuf *out, LlmcErr *err);

/* The file (docs/formats.md): serialize appends the bytes (deterministic); write is
 * atomic (llmc_file_write). read / parse validate everything (magic, version, sizes,
 * checksum, then rt_bpe_new's rules) and fail with "PATH: problem". */
void rt_bpe_serialize(const RtBpe *t, LlmcBuf *out);
bool rt_bpe_write(const char *path, const RtBpe *t, LlmcErr *err);
RtBpe *rt_bpe_parse(const void *bytes, size_t len, const char *name, LlmcErr *err);
RtBpe *rt_bpe_read(const char *path, LlmcErr *err);

/* GPT-2 / tiktoken-style files: encoder.json maps token strings (bytes through GPT-2's
 * bytes_to_unicode table) to ids; vocab.bpe lists merges "A B", one a line, after an
 * optional "#version" line. Ids must follow GPT-2's layout: 0..255 the single bytes,
 * merge i (line order) makes id 256 + i, every other entry (e.g. "<|endoftext|>") is a
 * special token after them. The ids are kept, so they match the original vocabulary. */
RtBpe *rt_bpe_import_gpt2(const char *encoder_json, const char *vocab_bpe, LlmcErr *err);
/* GPT-2's bytes_to_unicode: the code point byte b is written as in those files. */
uint32_t rt_bpe_gpt2_char(uint8_t b);

/* ===================================================================================
 * Native buffers (runtime/native.c): dense float / double / int32_t arrays, as kernels
 * read and write them, and the interpreter's values.
 * =================================================================================== */

void *rt_native_from_value(const IrValue *v);      /* malloc'd, rounded to the dtype */
void rt_native_store(const IrValue *v, void *p);    /* into an existing buffer */
void rt_native_to_value(const void *p, IrType type, IrValue *out); /* allocates *out */
double rt_native_at(const void *p, IrDtype dt, int64_t i);        /* element i, widened exactly */

/* The tree-ordered sum over micro-batches (compiler/accumulate.c's binary counter, same
 * order, same per-addition rounding in the dtype) over native buffers. push copies;
 * finish writes the sum into out[i] and empties the accumulator. */
typedef struct RtAccum RtAccum;
RtAccum *rt_accum_new(const IrType *types, uint32_t n_values);
void rt_accum_push(RtAccum *a, void *const *values);
void rt_accum_finish(RtAccum *a, void *const *out);
void rt_accum_free(RtAccum *a);

/* ===================================================================================
 * Extern functions (runtime/extern.c): extern_call through libffi. Symbol
 * "library:function", library opened with dlopen as written; the C signature is
 *     void function(const float *x1, ..., const float *xk, float *out, int64_t n)
 * (every buffer dense f32 with n elements; docs/llm.md "Extern functions").
 * =================================================================================== */

typedef struct RtExtern RtExtern;
/* Whether extern_call node id of g fits the calling convention (f32, one element count);
 * false + "extern 'lib:fn': the call cannot satisfy ..." otherwise. */
bool rt_extern_check(const IrGraph *g, IrId id, LlmcErr *err);
/* Checks node id, loads its library and resolves its function: NULL + a message naming
 * the library and function when either is missing. */
RtExtern *rt_extern_new(const IrGraph *g, IrId id, LlmcErr *err);
/* Calls it once: ptr[] is the executor's per-node buffer table [n_nodes]. */
void rt_extern_run(const RtExtern *x, void *const *ptr);
bool rt_extern_reads(const RtExtern *x, IrId id); /* id is one of its operands */
void rt_extern_free(RtExtern *x);

/* The interpreter's extern hook over the same libraries: values go through float
 * buffers, or in f64 mode through "<function>_f64" (same convention over double) when
 * the library exports it. One host caches the functions it resolved. */
typedef struct RtExternHost RtExternHost;
RtExternHost *rt_extern_host_new(IrPrecision precision);
void rt_extern_host_free(RtExternHost *h);
/* opt->extern_hook = rt_extern_hook, opt->extern_ctx = h. */
void rt_extern_host_install(RtExternHost *h, IrInterpOptions *opt);
bool rt_extern_hook(void *host, const char *symbol, const IrValue *args, uint32_t n_args, IrValue *out,
                    LlmcErr *err);

/* ===================================================================================
 * Communication (runtime/comm.c): the world of ranks a job runs on, and the collectives
 * the shard pass writes into the IR, carried out with MPI (OpenMPI).
 * ===================================================================================
 * Outside mpirun (no OMPI_COMM_WORLD_SIZE in the environment) the world is one rank and
 * MPI is never initialized; every collective over one rank is a copy.
 *
 * Determinism (DESIGN §8): no MPI reduction is used. A reduction over ranks is the
 * interpreter's pairwise tree in rank order (ir/interp_collective.c): reduce_scatter is an
 * MPI_Ialltoall of the blocks followed by that tree over the N received blocks, each
 * pairwise sum rounded to the dtype; all_reduce is that reduce_scatter over the element
 * range cut into N near-equal blocks, then an MPI_Iallgatherv. So the result is bit-
 * identical to the interpreter's simulation and independent of MPI's algorithms.
 *
 * Every operation is non-blocking: start returns a request, wait completes it. wait polls
 * (MPI_Test) until the request completes or `timeout` seconds pass; on a timeout it prints
 * "llmrun: rank R: collective <what> waited more than T s (comm-timeout); aborting" to
 * stderr and calls MPI_Abort (exit status 3), so a stuck or dead peer ends the job. */

typedef enum RtCommOp {
    RT_COMM_INVALID = 0,
    RT_COMM_ALL_GATHER,     /* in [count] from each rank -> out [ranks * count], rank order */
    RT_COMM_REDUCE_SCATTER, /* in [ranks * count] -> out [count]: block `rank` of the tree sum */
    RT_COMM_ALL_REDUCE,     /* in [count] -> out [count]: the tree sum */
    RT_COMM_COUNT
} RtCommOp;

typedef struct RtComm RtComm;
typedef struct RtCommReq RtCommReq;

/* The job's world: MPI_Init_thread (FUNNELED) under mpirun, else one rank. NULL +
 * message when MPI fails to start. Free (MPI_Finalize) with rt_comm_free. */
RtComm *rt_comm_world(LlmcErr *err);
/* A one-rank world that never touches MPI (tests, tools). */
RtComm *rt_comm_single(void);
void rt_comm_free(RtComm *c); /* NULL is fine */
uint32_t rt_comm_rank(const RtComm *c);
uint32_t rt_comm_size(const RtComm *c);
bool rt_comm_is_mpi(const RtComm *c);
/* Seconds a wait may last (0 = forever, the default). */
void rt_comm_set_timeout(RtComm *c, double seconds);
/* Ends the job from one rank: MPI_Abort under MPI, exit(status) otherwise. */
_Noreturn void rt_comm_abort(RtComm *c, int status);

/* Starts op over dtype dt (F32, F64 or I32; sums in the dtype's arithmetic, f32 rounded
 * after every pairwise addition; I32 exact) on `count` elements as defined above.
 * `in` and `out` must stay valid and untouched until the wait (out may be written at
 * any time before it); they must not overlap. `what` names the operation in a timeout
 * message (copied; e.g. "all_gather %812 (layers.3)"). */
RtCommReq *rt_comm_start(RtComm *c, RtCommOp op, IrDtype dt, const void *in, void *out, uint64_t count,
                         const char *what);
/* Completes it (and frees it). Aborts the job on a timeout or an MPI error. */
void rt_comm_wait(RtComm *c, RtCommReq *r);
/* Lets MPI progress r without blocking (one MPI_Test; a two-phase all_reduce may move
 * on to its second phase); true when r is complete. r must still be waited for. */
bool rt_comm_test(RtComm *c, RtCommReq *r);
/* Blocking conveniences over start + wait. */
void rt_comm_run(RtComm *c, RtCommOp op, IrDtype dt, const void *in, void *out, uint64_t count, const char *what);
void rt_comm_barrier(RtComm *c);
/* Every rank's `bytes` [n] (same n everywhere) into out [ranks * n], rank order. */
void rt_comm_gather_bytes(RtComm *c, const void *bytes, size_t n, void *out);
/* Rank root's bytes [n] to everyone. */
void rt_comm_broadcast(RtComm *c, void *bytes, size_t n, uint32_t root);

/* What this rank has communicated since the world began (or the last reset): bytes it
 * sent at the MPI calls, and seconds spent inside wait (blocked on communication). */
typedef struct RtCommStats {
    uint64_t bytes_sent;
    uint64_t calls;
    double wait_seconds;
} RtCommStats;
RtCommStats rt_comm_stats(const RtComm *c);
void rt_comm_reset_stats(RtComm *c);

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
    uint32_t runtime_kernels;  /* collectives over one rank (copies) and extern calls */
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
/* The same as one rank of comm's world (NULL: one rank); the graph's collectives must be
 * over that many ranks. comm must outlive the executor. */
RtExec *rt_exec_new_world(CcJit *jit, const IrGraph *g, RtPool *pool, RtComm *comm, LlmcErr *err);
void rt_exec_free(RtExec *e);
/* One run. inputs[i]: dense native buffer of the i-th input (ir_graph_inputs order);
 * outputs[o]: the buffer for output o, or NULL for an output named like an input of the
 * same type: it is then written back into that input's buffer (the update graph's
 * params, moments, step).
 * Buffers must not overlap one another. false + message on a missing buffer. */
bool rt_exec_run(RtExec *e, void *const *inputs, void *const *outputs, LlmcErr *err);
/* Debugging aid (llmrun --debug-nan): after every kernel function, scan what it wrote;
 * the first nan or infinity stops the run with an error naming the kernel, the IR node
 * and its .llm provenance (-inf passes in select and movement outputs: masks use it).
 * Costs a pass over every output. */
void rt_exec_set_check_finite(RtExec *e, bool on);
/* Whether a collective may stay in flight until its first reader (the default) or must
 * complete where it stands: for measuring what the overlap hides (llmrun --no-prefetch).
 * The results are the same bytes either way. */
void rt_exec_set_prefetch(RtExec *e, bool on);
const CcFusion *rt_exec_fusion(const RtExec *e);
const CcMemPlan *rt_exec_memplan(const RtExec *e);
const IrGraph *rt_exec_graph(const RtExec *e);
RtExecStats rt_exec_stats(const RtExec *e);

/* Profiling (llmrun --profile): while on, every run adds each kernel's wall time to its
 * slot: a compute kernel from its first function's start to its last one's end; a
 * collective the time spent starting, polling and waiting for it. The timer reads
 * CLOCK_MONOTONIC around each kernel, nothing more, so a profiled run computes the same
 * bytes. rt_exec_profile: [n_kernels] seconds summed over *runs profiled runs; NULL
 * when profiling was never on. */
void rt_exec_set_profile(RtExec *e, bool on);
const double *rt_exec_profile(const RtExec *e, uint64_t *runs);

/* What the CPU and the OS offer bf16 matmuls (runtime/cpu.c), read with cpuid and XCR0.
 * Detecting also requests, on Linux, the AMX tile-data permission (arch_prctl), which a
 * process must hold before any tile instruction: asking is harmless and idempotent. The
 * JIT's choice of kernels follows its LLVM features, not this. */
typedef struct RtCpuBf16 {
    bool avx512bf16;             /* vdpbf16ps, with AVX-512 state enabled by the OS */
    bool amx_tile, amx_bf16;     /* cpuid */
    bool amx_os, amx_permitted;  /* XCR0 tile state; the process may use tile data */
    int amx_errno;               /* arch_prctl's errno when refused */
} RtCpuBf16;
void rt_cpu_bf16_detect(RtCpuBf16 *out);
/* One line on AMX for a report: absent, disabled, refused, or present but unused. */
void rt_cpu_bf16_amx_text(const RtCpuBf16 *c, char *out, size_t n);

/* The machine's limits (runtime/peak.c), measured through the pool: the FMA peak
 * (cc_codegen_fma_peak on every thread; best of several short runs) and the memory
 * bandwidth (best of several passes reading one buffer far larger than the caches and
 * writing another, split over the threads), for MFU and for rooflines. */
typedef struct RtMachinePeak {
    double fma_gflops;  /* f32 GFLOP/s, all the pool's threads */
    double bf16_gflops; /* vdpbf16ps chains (bf16 products, f32 sums); 0 without avx512bf16 */
    double mem_gbs;     /* GB/s (1e9 bytes), read + written bytes counted */
    uint32_t threads;
} RtMachinePeak;
bool rt_machine_peak(CcJit *jit, RtPool *pool, RtMachinePeak *out, LlmcErr *err);

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
 * @init's params plus cc_train_state_new) into native buffers (a value with no data
 * starts as zeros: fill it through rt_trainer_var_data) and compiles both graphs.
 * s, jit and pool must outlive the trainer. NULL + message on failure. */
RtTrainer *rt_trainer_new(CcJit *jit, const CcTrainStep *s, RtPool *pool, const CcVar *vars, uint32_t n_vars,
                          LlmcErr *err);
/* The same as one rank of comm's world (NULL: one rank) for a step from cc_shard_step
 * for that world's size: rank r runs global micro-batches r, r + N, ... (runtime/train.c).
 * The number of ranks must divide the record's accumulate. */
RtTrainer *rt_trainer_new_world(CcJit *jit, const CcTrainStep *s, RtPool *pool, RtComm *comm, const CcVar *vars,
                                uint32_t n_vars, LlmcErr *err);
void rt_trainer_free(RtTrainer *t);
/* This rank's memory, counted at the trainer's allocations: param vars; gradients (the
 * micro graph's grad outputs and their sums); optimizer state (opt.* vars); everything
 * else the trainer holds (step, seed, hp.*, data inputs, loss terms); each executor's
 * arena; and peak = all of these with the larger arena (the two never run together). */
typedef struct RtTrainerMemory {
    uint64_t params, grads, optimizer, other;
    uint64_t arena_micro, arena_update;
    uint64_t peak;
} RtTrainerMemory;
RtTrainerMemory rt_trainer_memory(const RtTrainer *t);
/* One optimizer step (batch: the micro graph's data inputs, as for cc_step_interp). On
 * failure the vars may hold a partial step. */
bool rt_trainer_step(RtTrainer *t, RtBatchFn batch, void *ctx, CcStepResult *res, LlmcErr *err);
/* The last step's tree-ordered sum of scalar micro output `name` over its micro-batches
 * ("loss", "moe_dropped_tokens"); false if there is no such scalar output. */
bool rt_trainer_micro_output(const RtTrainer *t, const char *name, double *value);
/* Var `name`'s current value as an interpreter value (allocated); false if unknown. */
bool rt_trainer_var(const RtTrainer *t, const char *name, IrValue *out);
const RtExec *rt_trainer_exec(const RtTrainer *t, bool update);
/* The vars in the order given to rt_trainer_new, and var `name`'s native buffer (the
 * very bytes the next step reads: checkpoints read and restore them here); NULL if
 * unknown. *type (may be NULL) gets its type. */
void rt_trainer_set_check_finite(RtTrainer *t, bool on); /* rt_exec_set_check_finite on both */
void rt_trainer_set_prefetch(RtTrainer *t, bool on);     /* rt_exec_set_prefetch on both */
void rt_trainer_set_profile(RtTrainer *t, bool on);      /* rt_exec_set_profile on both */
uint32_t rt_trainer_n_vars(const RtTrainer *t);
const char *rt_trainer_var_name(const RtTrainer *t, uint32_t i);
void *rt_trainer_var_data(const RtTrainer *t, const char *name, IrType *type);

#endif /* LLMC_RUNTIME_H */
