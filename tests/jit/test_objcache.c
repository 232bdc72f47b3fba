/* tests/jit/test_objcache.c — the on-disk object cache (compiler/objcache.c).
 *
 * All in mkdtemp directories, removed at the end:
 *   - several processes (fork) filling the same key at once leave one valid entry and
 *     no temporary files (run first, before the parent touches LLVM);
 *   - the directory: explicit argument, $LLMC_CACHE_DIR, $XDG_CACHE_HOME/llmc;
 *   - the key is deterministic and moves with the text;
 *   - elementwise and matmul: the first compile misses and writes an entry; a second JIT
 *     (a new cache handle, as another run would have) hits, generates nothing, and its
 *     kernel gives the same bytes as the miss path and as the uncached entry point; the
 *     same kernel again in one JIT is reused; another op, dtype or matmul shape misses
 *     (a new key), while another length of an elementwise kernel — whose code does not
 *     depend on it — hits;
 *   - corrupt entries (a payload byte flipped, truncated, wrong magic, another key's
 *     bytes) are reported once as a warning, rebuilt, and the kernel still works;
 *   - cold vs cached compile time of a 512x512x512 f32 matmul kernel (printed).
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "compiler.h"
#include "test.h"

/* --- helpers ------------------------------------------------------------------------------ */

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static char *make_tmpdir(void) {
    const char *base = getenv("TMPDIR");
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s/llmc-objcache-XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    if (!d) {
        perror("mkdtemp");
        exit(1);
    }
    return strdup(d);
}

/* Files in dir whose name ends with `suffix` (or contains ".tmp" when suffix is NULL). */
static int count_files(const char *dir, const char *suffix) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name), s = suffix ? strlen(suffix) : 0;
        if (suffix ? (l > s && strcmp(e->d_name + l - s, suffix) == 0) : strstr(e->d_name, ".tmp") != NULL) n++;
    }
    closedir(d);
    return n;
}

static void remove_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char path[1024];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) remove_tree(path);
        else unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static float frand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((double)(rng >> 11) * 0x1.0p-53 * 2 - 1);
}

/* --- kernels ------------------------------------------------------------------------------ */

/* r = (x OP y) + exp(x), f32[n]. */
static IrGraph *ew_graph(IrOp op, int64_t n, IrId *out) {
    IrGraph *g = ir_graph_new("ew");
    IrBuilder b;
    ir_builder_init(&b, g);
    IrType t = ir_type_make(IR_DTYPE_F32, 1, &n);
    IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", t);
    IrId y = ir_build_input(&b, IR_ROLE_DATA, "y", t);
    *out = ir_build_binary(&b, IR_OP_ADD, ir_build_binary(&b, op, x, y), ir_build_unary(&b, IR_OP_EXP, x));
    ir_graph_add_output(g, "r", *out);
    CHECK(ir_builder_ok(&b));
    return g;
}

static IrGraph *mm_graph(int64_t M, int64_t N, int64_t K, IrId *mm) {
    IrGraph *g = ir_graph_new("mm");
    IrBuilder b;
    ir_builder_init(&b, g);
    int64_t xd[2] = {M, K}, yd[2] = {K, N};
    IrId x = ir_build_input(&b, IR_ROLE_DATA, "x", ir_type_make(IR_DTYPE_F32, 2, xd));
    IrId y = ir_build_input(&b, IR_ROLE_DATA, "y", ir_type_make(IR_DTYPE_F32, 2, yd));
    *mm = ir_build_matmul(&b, x, y, false, false);
    ir_graph_add_output(g, "out", *mm);
    CHECK(ir_builder_ok(&b));
    return g;
}

/* Runs the elementwise kernel of ew_graph over fixed inputs; out: float[n]. */
static void ew_run(CcKernelFn fn, int64_t n, float *out) {
    float *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)n * sizeof *y);
    for (int64_t i = 0; i < n; i++) x[i] = (float)(i % 37) * 0.05f - 0.9f, y[i] = (float)(i % 11) * 0.3f - 1.5f;
    void *bufs[3] = {x, y, out};
    fn(bufs, 0, n);
    free(x);
    free(y);
}

/* Runs the matmul kernel over fixed inputs into out [M, N]; checks it against a naive
 * loop (fma order differs from a plain sum only by rounding: 1e-4 relative). */
static void mm_run(CcKernelFn fn, const CcMatmulPlan *p, float *out) {
    int64_t M = p->M, N = p->N, K = p->K;
    float *x = malloc((size_t)(M * K) * sizeof *x), *y = malloc((size_t)(K * N) * sizeof *y);
    uint64_t save = rng;
    rng = 0x1234567;
    for (int64_t i = 0; i < M * K; i++) x[i] = frand();
    for (int64_t i = 0; i < K * N; i++) y[i] = frand();
    rng = save;
    void *bufs[3] = {x, y, out};
    fn(bufs, 0, p->tasks);
    double d2 = 0, r2 = 0;
    for (int64_t i = 0; i < M; i += 7)
        for (int64_t j = 0; j < N; j += 5) {
            double s = 0;
            for (int64_t k = 0; k < K; k++) s += (double)x[i * K + k] * y[k * N + j];
            d2 += (out[i * N + j] - s) * (out[i * N + j] - s);
            r2 += s * s;
        }
    CHECK(d2 <= 1e-8 * r2);
    free(x);
    free(y);
}

/* --- concurrency -------------------------------------------------------------------------- */

enum { N_PROCS = 4, CM = 96, CN = 80, CK = 64 };

/* A child: waits for the start signal, compiles and runs the kernel; 0 when all is well. */
static int child_fill(const char *dir, int start_fd) {
    char c;
    if (read(start_fd, &c, 1) < 0) return 10;
    LlmcErr err = {0};
    CcObjCache *cache = cc_objcache_open(dir, &err);
    CcJit *jit = cache ? cc_jit_new(&err) : NULL;
    if (!jit) return 11;
    IrId mm;
    IrGraph *g = mm_graph(CM, CN, CK, &mm);
    CcMatmulPlan plan;
    CcKernelFn fn = NULL;
    bool hit = false;
    if (!cc_matmul_plan(jit, g, mm, &plan, &err) || !cc_codegen_matmul_cached(jit, cache, g, mm, &fn, &hit, &err)) {
        fprintf(stderr, "child: %s\n", err.msg);
        return 12;
    }
    float *out = malloc(sizeof(float) * CM * CN);
    int before = test_failures;
    mm_run(fn, &plan, out);
    int rc = test_failures != before ? 13 : cc_objcache_diags(cache)->count ? 14 : 0;
    free(out);
    ir_graph_free(g);
    cc_jit_free(jit);
    cc_objcache_free(cache);
    return rc;
}

static void test_concurrent_fill(void) {
    char *dir = make_tmpdir();
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pids[N_PROCS];
    for (int i = 0; i < N_PROCS; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            close(fds[1]);
            _exit(child_fill(dir, fds[0]));
        }
        CHECK(pids[i] > 0);
    }
    close(fds[0]);
    close(fds[1]); /* EOF: every child starts now */
    for (int i = 0; i < N_PROCS; i++) {
        int status = 0;
        CHECK(waitpid(pids[i], &status, 0) == pids[i]);
        CHECK(WIFEXITED(status));
        CHECK_EQ_INT(WEXITSTATUS(status), 0);
    }
    CHECK_EQ_INT(count_files(dir, ".o"), 1);
    CHECK_EQ_INT(count_files(dir, NULL), 0); /* no temporaries left */

    /* the entry is valid: a fresh JIT hits */
    LlmcErr err = {0};
    CcObjCache *cache = cc_objcache_open(dir, &err);
    CcJit *jit = cc_jit_new(&err);
    CHECK(cache && jit);
    IrId mm;
    IrGraph *g = mm_graph(CM, CN, CK, &mm);
    CcMatmulPlan plan;
    CcKernelFn fn = NULL;
    bool hit = false;
    CHECK(cc_matmul_plan(jit, g, mm, &plan, &err));
    CHECK(cc_codegen_matmul_cached(jit, cache, g, mm, &fn, &hit, &err));
    CHECK(hit);
    CHECK_EQ_INT(cc_objcache_stats(cache).misses, 0);
    if (fn) {
        float *out = malloc(sizeof(float) * CM * CN);
        mm_run(fn, &plan, out);
        free(out);
    }
    ir_graph_free(g);
    cc_jit_free(jit);
    cc_objcache_free(cache);
    remove_tree(dir);
    free(dir);
}

/* --- directory and key -------------------------------------------------------------------- */

static void test_dir_and_key(void) {
    char *dir = make_tmpdir();
    char sub[1024], want[1024];
    LlmcErr err = {0};
    snprintf(sub, sizeof sub, "%s/a/b/c", dir);
    CcObjCache *c = cc_objcache_open(sub, &err);
    CHECK(c);
    if (c) CHECK_STR(cc_objcache_dir(c), sub);
    cc_objcache_free(c);

    char *old_llmc = getenv("LLMC_CACHE_DIR") ? strdup(getenv("LLMC_CACHE_DIR")) : NULL;
    char *old_xdg = getenv("XDG_CACHE_HOME") ? strdup(getenv("XDG_CACHE_HOME")) : NULL;
    snprintf(sub, sizeof sub, "%s/env", dir);
    setenv("LLMC_CACHE_DIR", sub, 1);
    c = cc_objcache_open(NULL, &err);
    CHECK(c);
    if (c) CHECK_STR(cc_objcache_dir(c), sub);
    cc_objcache_free(c);
    unsetenv("LLMC_CACHE_DIR");
    snprintf(sub, sizeof sub, "%s/xdg", dir);
    setenv("XDG_CACHE_HOME", sub, 1);
    snprintf(want, sizeof want, "%s/xdg/llmc", dir);
    c = cc_objcache_open(NULL, &err);
    CHECK(c);
    if (c) CHECK_STR(cc_objcache_dir(c), want);
    cc_objcache_free(c);
    struct stat st;
    CHECK(stat(want, &st) == 0 && S_ISDIR(st.st_mode));
    if (old_llmc) setenv("LLMC_CACHE_DIR", old_llmc, 1);
    if (old_xdg) setenv("XDG_CACHE_HOME", old_xdg, 1);
    else unsetenv("XDG_CACHE_HOME");
    free(old_llmc);
    free(old_xdg);

    CcJit *jit = cc_jit_new(&err);
    CHECK(jit);
    if (jit) {
        CcObjKey a = cc_objcache_key(jit, "x86_64-pc-linux-gnu", "kernel text", 11);
        CcObjKey b = cc_objcache_key(jit, "x86_64-pc-linux-gnu", "kernel text", 11);
        CcObjKey d = cc_objcache_key(jit, "x86_64-pc-linux-gnu", "kernel texu", 11);
        CcObjKey t = cc_objcache_key(jit, "aarch64-unknown-linux-gnu", "kernel text", 11);
        CHECK(a.lo == b.lo && a.hi == b.hi);
        CHECK(a.lo != d.lo && a.hi != d.hi);
        CHECK(a.lo != t.lo && a.hi != t.hi);
        char hex[33];
        cc_objkey_hex(a, hex);
        CHECK_EQ_INT(strlen(hex), 32);
    }
    cc_jit_free(jit);
    remove_tree(dir);
    free(dir);
}

/* --- hit, miss, invalidation ------------------------------------------------------------------ */

enum { EW_N = 1000 };

/* Compiles ew_graph(op, n) through a fresh JIT and cache handle on dir; runs it into out. */
static bool ew_compile_run(const char *dir, IrOp op, int64_t n, float *out, bool *hit, CcObjCacheStats *stats,
                           uint32_t *warnings) {
    LlmcErr err = {0};
    CcObjCache *cache = cc_objcache_open(dir, &err);
    CcJit *jit = cc_jit_new(&err);
    IrId r;
    IrGraph *g = ew_graph(op, n, &r);
    IrId set[3] = {2, 3, r}; /* op, exp, add */
    CcKernelFn fn = NULL;
    bool ok = cache && jit && cc_codegen_elementwise_cached(jit, cache, g, set, 3, r, &fn, hit, &err);
    if (!ok) fprintf(stderr, "ew_compile_run: %s\n", err.msg);
    if (ok) ew_run(fn, n, out);
    if (cache) {
        *stats = cc_objcache_stats(cache);
        *warnings = cc_objcache_diags(cache)->count;
        if (*warnings) llmc_diags_print(cc_objcache_diags(cache), stderr);
    }
    ir_graph_free(g);
    cc_jit_free(jit);
    cc_objcache_free(cache);
    return ok;
}

static void test_elementwise_hit_miss(void) {
    char *dir = make_tmpdir();
    float *a = calloc(EW_N + 1, sizeof *a), *b = calloc(EW_N + 1, sizeof *b), *u = calloc(EW_N + 1, sizeof *u);
    bool hit = true;
    CcObjCacheStats st;
    uint32_t warn = 0;

    CHECK(ew_compile_run(dir, IR_OP_MUL, EW_N, a, &hit, &st, &warn));
    CHECK(!hit);
    CHECK_EQ_INT(st.misses, 1);
    CHECK_EQ_INT(st.hits, 0);
    CHECK_EQ_INT(count_files(dir, ".o"), 1);

    CHECK(ew_compile_run(dir, IR_OP_MUL, EW_N, b, &hit, &st, &warn));
    CHECK(hit);
    CHECK_EQ_INT(st.hits, 1);
    CHECK_EQ_INT(st.misses, 0); /* no codegen */
    CHECK_EQ_INT(warn, 0);
    CHECK(memcmp(a, b, EW_N * sizeof *a) == 0);

    /* the uncached entry point computes the same bytes */
    {
        LlmcErr err = {0};
        CcJit *jit = cc_jit_new(&err);
        IrId r;
        IrGraph *g = ew_graph(IR_OP_MUL, EW_N, &r);
        IrId set[3] = {2, 3, r}; /* op, exp, add */
        CcKernelFn fn = NULL;
        CHECK(jit && cc_codegen_elementwise(jit, g, set, 3, r, &fn, &err));
        if (fn) ew_run(fn, EW_N, u);
        CHECK(memcmp(a, u, EW_N * sizeof *a) == 0);
        /* and cache == NULL falls back to it */
        bool h = true;
        CHECK(jit && cc_codegen_elementwise_cached(jit, NULL, g, set, 3, r, &fn, &h, &err));
        CHECK(!h);
        ir_graph_free(g);
        cc_jit_free(jit);
    }

    /* another op, another shape: new keys */
    CHECK(ew_compile_run(dir, IR_OP_SUB, EW_N, b, &hit, &st, &warn));
    CHECK(!hit);
    CHECK_EQ_INT(st.misses, 1);
    CHECK_EQ_INT(count_files(dir, ".o"), 2);
    CHECK(memcmp(a, b, EW_N * sizeof *a) != 0);
    /* another length: the elementwise kernel takes [begin, end) and does not depend on it,
     * so its IR, key and object are the same (a hit); shape keys are tested on matmul */
    CHECK(ew_compile_run(dir, IR_OP_MUL, EW_N + 1, b, &hit, &st, &warn));
    CHECK(hit);
    CHECK_EQ_INT(count_files(dir, ".o"), 2);
    CHECK(memcmp(a, b, EW_N * sizeof *a) == 0); /* same values, one more */
    /* another dtype: a new key */
    {
        LlmcErr err = {0};
        CcObjCache *cache = cc_objcache_open(dir, &err);
        CcJit *jit = cc_jit_new(&err);
        IrGraph *g = ir_graph_new("ew64");
        IrBuilder bld;
        ir_builder_init(&bld, g);
        int64_t n = EW_N;
        IrType t = ir_type_make(IR_DTYPE_F64, 1, &n);
        IrId x = ir_build_input(&bld, IR_ROLE_DATA, "x", t), y = ir_build_input(&bld, IR_ROLE_DATA, "y", t);
        IrId r = ir_build_binary(&bld, IR_OP_MUL, x, y);
        CHECK(ir_builder_ok(&bld));
        CcKernelFn fn = NULL;
        bool h = true;
        CHECK(cache && jit && cc_codegen_elementwise_cached(jit, cache, g, &r, 1, r, &fn, &h, &err));
        CHECK(!h);
        CHECK_EQ_INT(count_files(dir, ".o"), 3);
        ir_graph_free(g);
        cc_jit_free(jit);
        cc_objcache_free(cache);
    }
    CHECK(ew_compile_run(dir, IR_OP_SUB, EW_N, b, &hit, &st, &warn));
    CHECK(hit);
    CHECK_EQ_INT(count_files(dir, NULL), 0);

    free(a);
    free(b);
    free(u);
    remove_tree(dir);
    free(dir);
}

static void test_matmul_hit_miss_reuse(void) {
    char *dir = make_tmpdir();
    enum { M = 70, N = 90, K = 50 };
    float *o1 = malloc(sizeof(float) * M * N), *o2 = malloc(sizeof(float) * M * N);
    LlmcErr err = {0};
    IrId mm;
    IrGraph *g = mm_graph(M, N, K, &mm);
    for (int round = 0; round < 2; round++) {
        CcObjCache *cache = cc_objcache_open(dir, &err);
        CcJit *jit = cc_jit_new(&err);
        CHECK(cache && jit);
        if (!cache || !jit) break;
        CcMatmulPlan plan;
        CcKernelFn fn = NULL, fn2 = NULL;
        bool hit = round == 0;
        CHECK(cc_matmul_plan(jit, g, mm, &plan, &err));
        CHECK(cc_codegen_matmul_cached(jit, cache, g, mm, &fn, &hit, &err));
        CHECK(hit == (round == 1));
        CcObjCacheStats st = cc_objcache_stats(cache);
        CHECK_EQ_INT(st.hits, round);
        CHECK_EQ_INT(st.misses, 1 - round);
        if (fn) mm_run(fn, &plan, round ? o2 : o1);
        /* the same kernel again in this JIT: the function it already has */
        CHECK(cc_codegen_matmul_cached(jit, cache, g, mm, &fn2, &hit, &err));
        CHECK(hit);
        CHECK(fn == fn2);
        CHECK_EQ_INT(cc_objcache_stats(cache).reused, 1);
        CHECK_EQ_INT(cc_objcache_stats(cache).misses, 1 - round);
        cc_jit_free(jit);
        cc_objcache_free(cache);
    }
    CHECK(memcmp(o1, o2, sizeof(float) * M * N) == 0);
    CHECK_EQ_INT(count_files(dir, ".o"), 1);
    /* another shape (K + 1): the sizes are constants in the kernel, so a new key */
    {
        CcObjCache *cache = cc_objcache_open(dir, &err);
        CcJit *jit = cc_jit_new(&err);
        IrId mm2;
        IrGraph *g2 = mm_graph(M, N, K + 1, &mm2);
        CcKernelFn fn = NULL;
        bool hit = true;
        CHECK(cache && jit && cc_codegen_matmul_cached(jit, cache, g2, mm2, &fn, &hit, &err));
        CHECK(!hit);
        CHECK_EQ_INT(count_files(dir, ".o"), 2);
        CcMatmulPlan plan;
        CHECK(cc_matmul_plan(jit, g2, mm2, &plan, &err));
        float *o3 = malloc(sizeof(float) * M * N);
        if (fn) mm_run(fn, &plan, o3);
        free(o3);
        ir_graph_free(g2);
        cc_jit_free(jit);
        cc_objcache_free(cache);
    }
    ir_graph_free(g);
    free(o1);
    free(o2);
    remove_tree(dir);
    free(dir);
}

/* --- corrupt entries ------------------------------------------------------------------------ */

typedef enum Damage { DAMAGE_FLIP = 1, DAMAGE_TRUNCATE, DAMAGE_MAGIC, DAMAGE_OTHER_KEY } Damage;

/* The single *.o in dir other than `skip`, as a path. */
static bool find_entry(const char *dir, const char *skip, char *path, size_t cap) {
    DIR *d = opendir(dir);
    if (!d) return false;
    struct dirent *e;
    bool found = false;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".o") && !(skip && strstr(skip, e->d_name))) {
            snprintf(path, cap, "%s/%s", dir, e->d_name);
            found = true;
            break;
        }
    closedir(d);
    return found;
}

static void damage(const char *dir, const char *path, Damage how) {
    char *data = NULL;
    size_t n = 0;
    LlmcErr err = {0};
    CHECK(llmc_file_read(path, &data, &n, &err));
    CHECK(n > 200);
    switch (how) {
    case DAMAGE_FLIP: data[48 + (n - 48) / 2] ^= 0x10; break;
    case DAMAGE_TRUNCATE: n -= 100; break;
    case DAMAGE_MAGIC: data[7] = '9'; break;
    case DAMAGE_OTHER_KEY: {
        /* another kernel's (sound) entry, under this kernel's name */
        float tmp[EW_N];
        bool hit;
        CcObjCacheStats st;
        uint32_t w;
        CHECK(ew_compile_run(dir, IR_OP_SUB, EW_N, tmp, &hit, &st, &w));
        char other[1024];
        CHECK(find_entry(dir, path, other, sizeof other));
        free(data);
        CHECK(llmc_file_read(other, &data, &n, &err));
        unlink(other);
        break;
    }
    }
    CHECK(llmc_file_write(path, data, n, &err));
    free(data);
}

static void test_corrupt(Damage how, const char *reason) {
    char *dir = make_tmpdir();
    float *a = calloc(EW_N, sizeof *a), *b = calloc(EW_N, sizeof *b);
    bool hit;
    CcObjCacheStats st;
    uint32_t warn = 0;
    CHECK(ew_compile_run(dir, IR_OP_MUL, EW_N, a, &hit, &st, &warn));
    char path[1024];
    CHECK(find_entry(dir, NULL, path, sizeof path));
    damage(dir, path, how);

    /* detected, warned once, rebuilt; the kernel works */
    LlmcErr err = {0};
    CcObjCache *cache = cc_objcache_open(dir, &err);
    CcJit *jit = cc_jit_new(&err);
    IrId r;
    IrGraph *g = ew_graph(IR_OP_MUL, EW_N, &r);
    IrId set[3] = {2, 3, r}; /* op, exp, add */
    CcKernelFn fn = NULL;
    hit = true;
    CHECK(cache && jit && cc_codegen_elementwise_cached(jit, cache, g, set, 3, r, &fn, &hit, &err));
    CHECK(!hit);
    if (fn) ew_run(fn, EW_N, b);
    CHECK(memcmp(a, b, EW_N * sizeof *a) == 0);
    if (cache) {
        st = cc_objcache_stats(cache);
        CHECK_EQ_INT(st.rebuilds, 1);
        CHECK_EQ_INT(st.misses, 1);
        const LlmcDiags *d = cc_objcache_diags(cache);
        CHECK_EQ_INT(d->count, 1);
        if (d->count) {
            CHECK(d->items[0].severity == LLMC_SEV_WARNING);
            CHECK(strstr(d->items[0].msg, reason) != NULL);
            if (!strstr(d->items[0].msg, reason)) fprintf(stderr, "  warning was: %s\n", d->items[0].msg);
        }
    }
    ir_graph_free(g);
    cc_jit_free(jit);
    cc_objcache_free(cache);

    /* the rebuilt entry is sound: the next run hits, no warning */
    memset(b, 0, EW_N * sizeof *b);
    CHECK(ew_compile_run(dir, IR_OP_MUL, EW_N, b, &hit, &st, &warn));
    CHECK(hit);
    CHECK_EQ_INT(warn, 0);
    CHECK(memcmp(a, b, EW_N * sizeof *a) == 0);
    CHECK_EQ_INT(count_files(dir, ".o"), 1);
    CHECK_EQ_INT(count_files(dir, NULL), 0);
    free(a);
    free(b);
    remove_tree(dir);
    free(dir);
}

/* --- compile time --------------------------------------------------------------------------- */

static void test_compile_time(void) {
    char *dir = make_tmpdir();
    enum { M = 512, N = 512, K = 512 };
    LlmcErr err = {0};
    IrId mm;
    IrGraph *g = mm_graph(M, N, K, &mm);
    float *o1 = malloc(sizeof(float) * M * N), *o2 = malloc(sizeof(float) * M * N);
    double ms[3] = {0, 0, 0}; /* uncached, cold (miss + store), cached (hit) */
    for (int round = 0; round < 3; round++) {
        CcObjCache *cache = cc_objcache_open(dir, &err);
        CcJit *jit = cc_jit_new(&err);
        CHECK(cache && jit);
        if (!cache || !jit) break;
        CcMatmulPlan plan;
        CHECK(cc_matmul_plan(jit, g, mm, &plan, &err));
        CcKernelFn fn = NULL;
        bool hit = false;
        double t0 = now_ms();
        /* LLJIT compiles at the first lookup, which the entry points make: all inside */
        bool ok = round == 0 ? cc_codegen_matmul(jit, g, mm, &fn, &err)
                             : cc_codegen_matmul_cached(jit, cache, g, mm, &fn, &hit, &err);
        if (ok) ok = fn != NULL;
        ms[round] = now_ms() - t0;
        CHECK(ok);
        CHECK(hit == (round == 2));
        if (ok && round) mm_run(fn, &plan, round == 1 ? o1 : o2);
        cc_jit_free(jit);
        cc_objcache_free(cache);
    }
    CHECK(memcmp(o1, o2, sizeof(float) * M * N) == 0);
    printf("matmul f32 %dx%dx%d compile: uncached %.1f ms, cold (miss: codegen + store) %.1f ms, "
           "cached (hit: load object) %.1f ms\n",
           M, N, K, ms[0], ms[1], ms[2]);
    fflush(stdout);
    CHECK(ms[2] < ms[1]);
    ir_graph_free(g);
    free(o1);
    free(o2);
    remove_tree(dir);
    free(dir);
}

int main(void) {
    test_concurrent_fill(); /* first: fork before this process has any LLVM state */
    test_dir_and_key();
    test_elementwise_hit_miss();
    test_matmul_hit_miss_reuse();
    test_corrupt(DAMAGE_FLIP, "checksum");
    test_corrupt(DAMAGE_TRUNCATE, "length");
    test_corrupt(DAMAGE_MAGIC, "magic");
    test_corrupt(DAMAGE_OTHER_KEY, "key");
    test_compile_time();
    TEST_MAIN();
}
