/* compiler/objcache.c — the on-disk object cache: a kernel compiled once is an object
 * file that later JITs link instead of optimizing and generating code again.
 *
 * Directory: the explicit argument, else $LLMC_CACHE_DIR, else $XDG_CACHE_HOME/llmc, else
 * $HOME/.cache/llmc (created like mkdir -p). One file per kernel: <key>.o, key in hex.
 *
 * Key: FNV-1a 128 over a length-delimited composition
 *     "llmc-objcache\n" format <CC_OBJCACHE_FORMAT>\n llvm <major.minor.patch>\n
 *     pipeline default<O3> aggressive pic jitdefault\n triple <t>\n cpu <name>\n
 *     features <string>\n text <n>\n <n bytes of key text>
 * The key text is the kernel's canonical description. For the codegen entry points it is
 * the kernel module's bitcode before optimization, written with a fixed function name
 * ("llmc_mm", "llmc_ew") after cc_jit_prepare_module: a deterministic function of
 * the IR subgraph *and* of the code generator itself, so a change to codegen_*.c that
 * changes the emitted IR can never hit a stale entry. (The module is therefore still
 * built on a hit — cheap next to default<O3> and instruction selection, which a hit
 * skips.) What the IR text cannot see — jit.c's pass pipeline and target-machine options,
 * this file's entry layout — is covered by CC_OBJCACHE_FORMAT, to be bumped with them.
 * 128 bits: a collision would run the wrong code, so 64 felt thin for a shared cache.
 *
 * Kernel naming: the function is renamed "<base>_h<key hex>" after keying, so the object
 * defines exactly the symbol it is stored under in every process, and the same kernel
 * requested twice in one JIT (identical layers) is looked up, not linked twice.
 *
 * Entry format (all integers little-endian), 48-byte header then the payload:
 *     0  magic "LLMCOBJ1"           8 bytes
 *     8  format version (u32)       CC_OBJCACHE_FORMAT
 *    12  header size (u32)          48
 *    16  payload length (u64)       the object file's bytes
 *    24  payload checksum (u64)     FNV-1a 64 of the payload
 *    32  key lo, key hi (u64, u64)  echoed: the file must be the entry its name says
 *    48  payload                    an ELF relocatable object for the host
 * Any mismatch (short file, magic, version, header size, length, checksum, key) makes the
 * entry corrupt: one warning (cc_objcache_diags), a rebuild, and the new entry replaces
 * the bad one (the bad one is deleted if the new one cannot be stored, so the warning is
 * not repeated on every run).
 *
 * Concurrency: entries are written by llmc_file_write — a per-process temporary
 * "<entry>.tmp.<pid>", fsync, rename — so a reader sees no entry or a whole one, never a
 * partial file. Processes filling the same key concurrently each write the same bytes
 * (same key = same input to the same compiler) and the last rename wins; nothing is
 * locked. A crash can leave a stray temporary; it is never read (cleaning it is left to
 * the user or a later `llmc cache clean`).
 *
 * Recording (for bundles): with cc_objcache_set_recorder, every object linked through the
 * cache — hit or miss — is handed to a callback with its key and the kernel module's
 * bitcode (before optimization), so llmc can pack a model's kernels into a bundle;
 * cc_objcache_store writes such an object back as an entry in another cache.
 *
 * Deliberately not here: eviction or size limits, locking, sharing between machines
 * (the key has the CPU, so it would only miss), and thread safety (one thread per cache).
 */
#include "compiler_int.h"

#include <llvm-c/BitWriter.h>
#include <llvm-c/Core.h>
#include <llvm-c/Orc.h>

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ENTRY_MAGIC "LLMCOBJ1"
#define ENTRY_HEADER 48u

struct CcObjCache {
    char *dir;
    CcObjCacheStats stats;
    LlmcDiags diags;
    CcObjRecordFn record; /* cc_objcache_set_recorder; NULL: none */
    void *record_ctx;
};

/* --- hashing --------------------------------------------------------------------------- */

typedef struct Fnv128 {
    uint64_t lo, hi;
} Fnv128;

static Fnv128 fnv128_init(void) { return (Fnv128){.lo = 0x62b821756295c58dull, .hi = 0x6c62272e07bb0142ull}; }

/* h = (h ^ byte) * (2^88 + 0x13b) mod 2^128, on 64-bit halves. */
static void fnv128_put(Fnv128 *h, const void *data, size_t n) {
    const unsigned char *p = data;
    uint64_t lo = h->lo, hi = h->hi;
    for (size_t i = 0; i < n; i++) {
        lo ^= p[i];
        uint64_t t0 = (lo & 0xffffffffu) * 0x13bu;
        uint64_t t1 = (lo >> 32) * 0x13bu + (t0 >> 32);
        uint64_t nhi = hi * 0x13bu + (t1 >> 32) + (lo << 24);
        lo = (t1 << 32) | (t0 & 0xffffffffu);
        hi = nhi;
    }
    h->lo = lo;
    h->hi = hi;
}

static void fnv128_str(Fnv128 *h, const char *tag, const char *s) {
    fnv128_put(h, tag, strlen(tag));
    fnv128_put(h, " ", 1);
    fnv128_put(h, s, strlen(s));
    fnv128_put(h, "\n", 1);
}

static uint64_t fnv64(const void *data, size_t n) {
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

CcObjKey cc_objcache_key(const CcJit *jit, const char *triple, const char *key_text, size_t key_len) {
    const char *features = NULL;
    const char *cpu = cc_jit_cpu(jit, &features);
    unsigned major = 0, minor = 0, patch = 0;
    LLVMGetVersion(&major, &minor, &patch);
    char num[64];
    Fnv128 h = fnv128_init();
    fnv128_put(&h, "llmc-objcache\n", 14);
    snprintf(num, sizeof num, "%u", CC_OBJCACHE_FORMAT);
    fnv128_str(&h, "format", num);
    snprintf(num, sizeof num, "%u.%u.%u", major, minor, patch);
    fnv128_str(&h, "llvm", num);
    fnv128_str(&h, "pipeline", "default<O3> aggressive pic jitdefault");
    fnv128_str(&h, "triple", triple ? triple : "");
    fnv128_str(&h, "cpu", cpu);
    fnv128_str(&h, "features", features ? features : "");
    snprintf(num, sizeof num, "%zu", key_len);
    fnv128_str(&h, "text", num);
    fnv128_put(&h, key_text, key_len);
    return (CcObjKey){.lo = h.lo, .hi = h.hi};
}

char *cc_objcache_target(const CcJit *jit) {
    const char *features = NULL;
    const char *cpu = cc_jit_cpu(jit, &features);
    unsigned major = 0, minor = 0, patch = 0;
    LLVMGetVersion(&major, &minor, &patch);
    char *triple = LLVMGetDefaultTargetTriple(); /* what cc_jit_new targets */
    LlmcBuf b = {0};
    llmc_buf_printf(&b, "format %u\nllvm %u.%u.%u\ntriple %s\ncpu %s\nfeatures %s\n", CC_OBJCACHE_FORMAT, major, minor,
                    patch, triple, cpu, features ? features : "");
    LLVMDisposeMessage(triple);
    return b.data;
}

void cc_objkey_hex(CcObjKey k, char hex[33]) {
    snprintf(hex, 33, "%016llx%016llx", (unsigned long long)k.hi, (unsigned long long)k.lo);
}

/* --- the directory ------------------------------------------------------------------------ */

/* mkdir -p; true when `path` ends up a directory. */
static bool make_dirs(const char *path, LlmcErr *err) {
    char *p = llmc_xstrdup(path);
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/') p[--n] = 0;
    for (char *s = p + 1;; s++) {
        bool last = *s == 0;
        if (*s == '/' || last) {
            *s = 0;
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                llmc_err_set(err, "%s: cannot create cache directory: %s", p, strerror(errno));
                free(p);
                return false;
            }
            if (last) break;
            *s = '/';
        }
    }
    struct stat st;
    bool ok = stat(p, &st) == 0 && S_ISDIR(st.st_mode);
    if (!ok) llmc_err_set(err, "%s: not a directory", p);
    free(p);
    return ok;
}

CcObjCache *cc_objcache_open(const char *dir, LlmcErr *err) {
    LlmcBuf path = {0};
    const char *env;
    if (dir && *dir) llmc_buf_puts(&path, dir);
    else if ((env = getenv("LLMC_CACHE_DIR")) && *env) llmc_buf_puts(&path, env);
    else if ((env = getenv("XDG_CACHE_HOME")) && *env) llmc_buf_printf(&path, "%s/llmc", env);
    else if ((env = getenv("HOME")) && *env) llmc_buf_printf(&path, "%s/.cache/llmc", env);
    else {
        llmc_err_set(err, "object cache: no directory (set LLMC_CACHE_DIR, XDG_CACHE_HOME or HOME)");
        return NULL;
    }
    if (!make_dirs(path.data, err)) {
        llmc_buf_free(&path);
        return NULL;
    }
    CcObjCache *c = llmc_xcalloc(1, sizeof *c);
    c->dir = path.data;
    return c;
}

void cc_objcache_free(CcObjCache *c) {
    if (!c) return;
    llmc_diags_free(&c->diags);
    free(c->dir);
    free(c);
}

const char *cc_objcache_dir(const CcObjCache *c) { return c->dir; }
CcObjCacheStats cc_objcache_stats(const CcObjCache *c) { return c->stats; }
const LlmcDiags *cc_objcache_diags(const CcObjCache *c) { return &c->diags; }

char *cc_objcache_entry_path(const CcObjCache *c, CcObjKey k) {
    char hex[33];
    cc_objkey_hex(k, hex);
    LlmcBuf b = {0};
    llmc_buf_printf(&b, "%s/%s.o", c->dir, hex);
    return b.data;
}

void cc_objcache_warn(CcObjCache *c, const char *path, const char *fmt, ...) {
    LlmcSource src = {.name = path};
    va_list ap;
    va_start(ap, fmt);
    llmc_diag_vat(&c->diags, LLMC_SEV_WARNING, &src, 0, 0, fmt, ap);
    va_end(ap);
}

void cc_objcache_set_recorder(CcObjCache *c, CcObjRecordFn fn, void *ctx) {
    c->record = fn;
    c->record_ctx = ctx;
}

/* --- entries ----------------------------------------------------------------------------- */

static void put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get_u32(const unsigned char *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = v << 8 | p[i];
    return v;
}
static uint64_t get_u64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

/* Header + payload, malloc'd. */
static unsigned char *entry_build(CcObjKey k, const char *obj, size_t len, size_t *n) {
    *n = ENTRY_HEADER + len;
    unsigned char *e = llmc_xmalloc(*n);
    memcpy(e, ENTRY_MAGIC, 8);
    put_u32(e + 8, CC_OBJCACHE_FORMAT);
    put_u32(e + 12, ENTRY_HEADER);
    put_u64(e + 16, (uint64_t)len);
    put_u64(e + 24, fnv64(obj, len));
    put_u64(e + 32, k.lo);
    put_u64(e + 40, k.hi);
    memcpy(e + ENTRY_HEADER, obj, len);
    return e;
}

/* NULL when the entry is sound (the payload is data + ENTRY_HEADER), else why not. */
static const char *entry_check(CcObjKey k, const unsigned char *d, size_t n) {
    if (n < ENTRY_HEADER) return "shorter than its header";
    if (memcmp(d, ENTRY_MAGIC, 8) != 0) return "bad magic";
    if (get_u32(d + 8) != CC_OBJCACHE_FORMAT) return "another format version";
    if (get_u32(d + 12) != ENTRY_HEADER) return "bad header size";
    if (get_u64(d + 16) != (uint64_t)(n - ENTRY_HEADER)) return "payload length does not match the file size";
    if (get_u64(d + 32) != k.lo || get_u64(d + 40) != k.hi) return "key does not match the file name";
    if (get_u64(d + 24) != fnv64(d + ENTRY_HEADER, n - ENTRY_HEADER)) return "payload checksum mismatch";
    return NULL;
}

bool cc_objcache_store(CcObjCache *c, CcObjKey key, const void *obj, size_t len, LlmcErr *err) {
    char *path = cc_objcache_entry_path(c, key);
    size_t n = 0;
    unsigned char *entry = entry_build(key, obj, len, &n);
    bool ok = llmc_file_write(path, entry, n, err);
    free(entry);
    free(path);
    return ok;
}

/* Hands the recorder (if any) the object and the bitcode of mod (prepared, not yet
 * optimized: the module the key was computed from). */
static void record(CcObjCache *c, CcObjKey key, LLVMModuleRef mod, const void *obj, size_t len) {
    if (!c->record) return;
    LLVMMemoryBufferRef mb = LLVMWriteBitcodeToMemoryBuffer(mod);
    CcObjRecord r = {.key = key, .obj = obj, .obj_len = len};
    if (mb) {
        r.bitcode = LLVMGetBufferStart(mb);
        r.bitcode_len = LLVMGetBufferSize(mb);
    }
    c->record(c->record_ctx, &r);
    if (mb) LLVMDisposeMemoryBuffer(mb);
}

/* A miss's object, compiled here: stored as the entry at path (a corrupt entry it
 * replaces is counted, and deleted if the store fails, so its warning is not repeated),
 * linked into the JIT under the key's name, and handed to the recorder with bc, the
 * module's bitcode before optimization (NULL when there is no recorder). */
static bool store_and_link(CcJit *jit, CcObjCache *c, CcObjKey key, const char *path, bool corrupt, const char *obj,
                           size_t len, LLVMMemoryBufferRef bc, LlmcErr *err) {
    c->stats.misses++;
    if (corrupt) c->stats.rebuilds++;
    size_t n = 0;
    unsigned char *entry = entry_build(key, obj, len, &n);
    LlmcErr werr = {0};
    if (!llmc_file_write(path, entry, n, &werr)) {
        c->stats.store_failures++;
        cc_objcache_warn(c, path, "cannot store cache entry: %s", werr.msg);
        if (corrupt) unlink(path);
    }
    free(entry);
    char hex[33];
    cc_objkey_hex(key, hex);
    if (!cc_jit_add_object(jit, obj, len, hex, err)) return false;
    if (c->record) {
        CcObjRecord r = {.key = key, .obj = obj, .obj_len = len};
        if (bc) {
            r.bitcode = LLVMGetBufferStart(bc);
            r.bitcode_len = LLVMGetBufferSize(bc);
        }
        c->record(c->record_ctx, &r);
    }
    return true;
}

/* --- adding modules --------------------------------------------------------------------------- */

static bool add_with_key(CcJit *jit, CcObjCache *c, LLVMModuleRef mod, LLVMOrcThreadSafeContextRef tsctx,
                         CcObjKey key, bool *hit, LlmcErr *err) {
    char *path = cc_objcache_entry_path(c, key);
    char hex[33];
    cc_objkey_hex(key, hex);
    bool corrupt = false, ok = false;
    struct stat st;
    if (stat(path, &st) == 0) {
        char *data = NULL;
        size_t n = 0;
        LlmcErr rerr = {0};
        if (!llmc_file_read(path, &data, &n, &rerr)) {
            /* gone since the stat: another process replaced a corrupt entry; not news */
            if (stat(path, &st) == 0) cc_objcache_warn(c, path, "cannot read cache entry (%s); recompiling", rerr.msg);
        } else {
            const char *why = entry_check(key, (const unsigned char *)data, n);
            if (why) {
                corrupt = true;
                cc_objcache_warn(c, path, "corrupt cache entry (%s); rebuilding it", why);
            } else {
                ok = cc_jit_add_object(jit, data + ENTRY_HEADER, n - ENTRY_HEADER, hex, err);
                if (ok) record(c, key, mod, data + ENTRY_HEADER, n - ENTRY_HEADER);
                free(data);
                LLVMDisposeModule(mod);
                LLVMOrcDisposeThreadSafeContext(tsctx);
                free(path);
                if (ok) c->stats.hits++;
                if (hit) *hit = ok;
                return ok;
            }
        }
        free(data);
    }

    /* miss: generate, store, link what was stored */
    if (hit) *hit = false;
    char *obj = NULL;
    size_t len = 0;
    LLVMMemoryBufferRef bc = c->record ? LLVMWriteBitcodeToMemoryBuffer(mod) : NULL; /* before O3 */
    ok = cc_jit_emit_object(jit, mod, &obj, &len, err);
    LLVMDisposeModule(mod);
    LLVMOrcDisposeThreadSafeContext(tsctx);
    if (ok) ok = store_and_link(jit, c, key, path, corrupt, obj, len, bc, err);
    if (bc) LLVMDisposeMemoryBuffer(bc);
    free(obj);
    free(path);
    return ok;
}

/* The key of a prepared module: of its bitcode, a deterministic serialization of exactly
 * what the optimizer and code generator see, several times cheaper to produce (and to
 * hash) than the IR text. */
static CcObjKey module_key(const CcJit *jit, LLVMModuleRef mod) {
    LLVMMemoryBufferRef mb = LLVMWriteBitcodeToMemoryBuffer(mod);
    CcObjKey key = cc_objcache_key(jit, LLVMGetTarget(mod), LLVMGetBufferStart(mb), LLVMGetBufferSize(mb));
    LLVMDisposeMemoryBuffer(mb);
    return key;
}

bool cc_objcache_compile_batch(CcJit *jit, CcObjCache *c, LLVMModuleRef *modules, LLVMOrcThreadSafeContextRef *tsctxs,
                               const char *const *bases, uint32_t n, uint32_t threads, CcKernelFn *fns, LlmcErr *err) {
    CcEmitJob *jobs = llmc_xcalloc(n ? n : 1, sizeof *jobs);
    CcObjKey *keys = llmc_xcalloc(n ? n : 1, sizeof *keys);
    char (*names)[160] = llmc_xcalloc(n ? n : 1, sizeof *names);
    LLVMMemoryBufferRef *bcs = llmc_xcalloc(n ? n : 1, sizeof *bcs);
    uint32_t *todo = llmc_xcalloc(n ? n : 1, sizeof *todo);
    uint32_t n_todo = 0;
    /* Key each module exactly as cc_jit_add_kernel_cached does; keep those that would miss. */
    for (uint32_t i = 0; i < n; i++) {
        fns[i] = NULL;
        LLVMModuleRef mod = modules[i];
        LLVMValueRef fn = LLVMGetNamedFunction(mod, bases[i]);
        bool keep = fn && !LLVMIsDeclaration(fn);
        if (keep) {
            cc_jit_prepare_module(jit, mod);
            keys[i] = module_key(jit, mod);
            char hex[33];
            cc_objkey_hex(keys[i], hex);
            snprintf(names[i], sizeof names[i], "%s_h%s", bases[i], hex);
            char *path = cc_objcache_entry_path(c, keys[i]);
            struct stat st;
            bool on_disk = stat(path, &st) == 0;
            free(path);
            void *have = cc_jit_find(jit, names[i]);
            if (have) { /* linked already (another graph's kernel) */
                c->stats.reused++;
                fns[i] = (CcKernelFn)have;
                continue;
            }
            if (on_disk) { /* a hit: load it as cc_jit_add_kernel_cached would */
                LLVMSetValueName2(fn, names[i], strlen(names[i]));
                bool ok = add_with_key(jit, c, mod, tsctxs[i], keys[i], NULL, err);
                modules[i] = NULL;
                tsctxs[i] = NULL; /* consumed */
                if (!ok) break;
                fns[i] = (CcKernelFn)cc_jit_lookup(jit, names[i], err);
                if (!fns[i]) break;
                continue;
            }
            for (uint32_t j = 0; j < n_todo && keep; j++) keep = strcmp(names[todo[j]], names[i]) != 0;
        }
        if (!keep) continue;
        LLVMSetValueName2(fn, names[i], strlen(names[i]));
        if (c->record) bcs[i] = LLVMWriteBitcodeToMemoryBuffer(mod); /* before O3, as record() sees it */
        jobs[n_todo].mod = mod;
        todo[n_todo++] = i;
    }
    bool ok = !err->set;
    if (ok) cc_jit_emit_objects(jit, jobs, n_todo, threads);
    else n_todo = 0;
    for (uint32_t t = 0; t < n_todo; t++) {
        uint32_t i = todo[t];
        CcEmitJob *j = &jobs[t];
        if (ok && !j->ok) {
            *err = j->err;
            ok = false;
        }
        if (ok) {
            char *path = cc_objcache_entry_path(c, keys[i]);
            ok = store_and_link(jit, c, keys[i], path, false, j->obj, j->len, bcs[i], err);
            free(path);
            if (ok) fns[i] = (CcKernelFn)cc_jit_lookup(jit, names[i], err);
            ok = ok && fns[i];
        }
        free(j->obj);
    }
    for (uint32_t i = 0; i < n; i++) {
        if (bcs[i]) LLVMDisposeMemoryBuffer(bcs[i]);
        if (modules[i]) LLVMDisposeModule(modules[i]);
        if (tsctxs[i]) LLVMOrcDisposeThreadSafeContext(tsctxs[i]);
    }
    free(jobs);
    free(keys);
    free(names);
    free(bcs);
    free(todo);
    return ok;
}

bool cc_objcache_was_hit(const CcObjCache *c, CcObjCacheStats before) {
    return c && (c->stats.hits > before.hits || c->stats.reused > before.reused);
}

bool cc_jit_add_module_cached(CcJit *jit, CcObjCache *cache, LLVMModuleRef mod, LLVMOrcThreadSafeContextRef tsctx,
                              const char *key_text, bool *hit, LlmcErr *err) {
    cc_jit_prepare_module(jit, mod);
    CcObjKey key;
    if (key_text) {
        key = cc_objcache_key(jit, LLVMGetTarget(mod), key_text, strlen(key_text));
    } else {
        key = module_key(jit, mod);
    }
    return add_with_key(jit, cache, mod, tsctx, key, hit, err);
}

bool cc_jit_add_kernel_cached(CcJit *jit, CcObjCache *cache, LLVMModuleRef mod, LLVMOrcThreadSafeContextRef tsctx,
                              const char *base, void **addr, bool *hit, LlmcErr *err) {
    *addr = NULL;
    if (hit) *hit = false;
    LLVMValueRef fn = LLVMGetNamedFunction(mod, base);
    if (!fn || LLVMIsDeclaration(fn)) {
        llmc_err_set(err, "object cache: module defines no function %s", base);
        LLVMDisposeModule(mod);
        LLVMOrcDisposeThreadSafeContext(tsctx);
        return false;
    }
    cc_jit_prepare_module(jit, mod);
    CcObjKey key = module_key(jit, mod);
    char hex[33];
    cc_objkey_hex(key, hex);
    LlmcBuf name = {0};
    llmc_buf_printf(&name, "%s_h%s", base, hex);

    void *have = cc_jit_find(jit, name.data);
    if (have) {
        LLVMDisposeModule(mod);
        LLVMOrcDisposeThreadSafeContext(tsctx);
        cache->stats.reused++;
        if (hit) *hit = true;
        *addr = have;
        llmc_buf_free(&name);
        return true;
    }
    LLVMSetValueName2(fn, name.data, name.len);
    bool ok = add_with_key(jit, cache, mod, tsctx, key, hit, err);
    if (ok) *addr = cc_jit_lookup(jit, name.data, err);
    llmc_buf_free(&name);
    return ok && *addr;
}
