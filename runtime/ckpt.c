/* runtime/ckpt.c — training checkpoints: an atomic, checksummed save and a validating
 * load of a run's params and optimizer state plus what exact resume needs.
 *
 * Layout of a run directory:
 *   RUN_DIR/ckpt-00000120/state.safetensors   params and optimizer state, names as given
 *   RUN_DIR/ckpt-00000120/manifest.json       the manifest below
 *   RUN_DIR/latest                            "ckpt-00000120\n": the newest checkpoint
 *   RUN_DIR/.tmp-ckpt-*                       a save in progress (or killed): ignored
 * The folder name is "ckpt-" and the step in at least 8 decimal digits (more only past
 * step 99999999). The manifest (pretty JSON, members in this order):
 *   {"format": "llmc-checkpoint", "version": 1,
 *    "step": 120,                       int, >= 0; equals the folder's number
 *    "data_pos": "7680",                u64: the next global micro-batch index
 *    "seed": "42",                      u64: the run's seed (RNG state is keyed by it)
 *    "model_hash": "0123456789abcdef",  16 lower-case hex digits
 *    "world_size": 1,                   informational: a resume may change it
 *    "recipe": {"lr": 0.001, "schedule": "cosine", ...},   numbers and strings only
 *    "files": {"state.safetensors": {"bytes": N, "checksum": "<16 hex>"}},
 *    "manifest_checksum": "<16 hex>"}
 * u64 values are decimal strings because JSON readers (ours included) hold integers
 * exactly only up to 2^63-1. Checksums are rt_checksum (FNV-1a 64). manifest_checksum
 * covers the manifest's bytes from the start of the file up to (not including) the
 * opening quote of the "manifest_checksum" key, which must be the object's last member:
 * everything that carries meaning is covered, only the closing brace and whitespace
 * are not, and no re-serialization (with its number formatting) is involved.
 *
 * Save (rt_ckpt_save): everything is written into RUN_DIR/.tmp-ckpt-<step>-<pid>, each
 * file fsync'd, then the folder; it is renamed to ckpt-<step> and RUN_DIR fsync'd; then
 * `latest` is rewritten atomically (temp file, fsync, rename, fsync RUN_DIR); then old
 * checkpoints beyond `keep` are removed and leftover temporaries of killed saves are
 * cleaned. A checkpoint of the same step is replaced with renameat2(RENAME_EXCHANGE)
 * where the system has it (Linux), so ckpt-<step> is always a complete folder; elsewhere
 * the old one is renamed away first (a crash in between leaves `latest` dangling, which
 * load reports). Folders are removed by first renaming them to a .tmp-ckpt- name, so a
 * deletion cut short never leaves a half-checkpoint under a checkpoint's name.
 *
 * Deliberately not here: what the tensors mean (llmrun names them), streaming writes (the
 * state file is built in memory, as rt_safetensors_write does), locking against two
 * processes saving into one run directory at once, and MPI (rank 0 saves).
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* renameat2 and RENAME_EXCHANGE */
#endif
#include "runtime.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CKPT_FORMAT "llmc-checkpoint"
#define CKPT_VERSION 1
#define STATE_FILE "state.safetensors"
#define MANIFEST_FILE "manifest.json"
#define LATEST_FILE "latest"
#define TMP_PREFIX ".tmp-ckpt-"
#define LATEST_TMP_PREFIX ".latest.tmp-"
#define CHECKSUM_KEY "manifest_checksum"
/* A manifest is a few hundred bytes plus the recipe; anything this large is not one. */
#define MAX_MANIFEST_BYTES (16u << 20)
#define MAX_LATEST_BYTES 256u

/* ===================================================================================
 * Small helpers
 * =================================================================================== */

static char *path_join(const char *dir, const char *name) {
    LlmcBuf b = {0};
    llmc_buf_printf(&b, "%s/%s", dir, name);
    return b.data;
}

static void hex16(uint64_t v, char out[17]) { snprintf(out, 17, "%016llx", (unsigned long long)v); }

static bool is_hex16(const char *s, size_t n) {
    if (n != 16) return false;
    for (size_t i = 0; i < 16; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
    return true;
}

static uint64_t parse_hex16(const char *s) {
    uint64_t v = 0;
    for (int i = 0; i < 16; i++) v = v << 4 | (uint64_t)(s[i] <= '9' ? s[i] - '0' : s[i] - 'a' + 10);
    return v;
}

/* "ckpt-" followed by at least 8 decimal digits (no sign, fits int64) -> *step. */
static bool parse_ckpt_name(const char *name, int64_t *step) {
    if (strncmp(name, "ckpt-", 5) != 0) return false;
    const char *d = name + 5;
    size_t n = strlen(d);
    if (n < 8 || n > 18) return false; /* 18 digits always fit int64 */
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (d[i] < '0' || d[i] > '9') return false;
        v = v * 10 + (d[i] - '0');
    }
    if (n > 8 && d[0] == '0') return false; /* one spelling per step */
    *step = v;
    return true;
}

static void ckpt_name(int64_t step, char *buf, size_t n) { snprintf(buf, n, "ckpt-%08lld", (long long)step); }

static bool is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool exists(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0;
}

/* fsync of a directory makes the entries created, renamed or removed in it durable.
 * Some file systems refuse fsync on a directory (EINVAL): nothing more can be done. */
static bool fsync_dir(const char *dir, LlmcErr *err) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
        llmc_err_set(err, "%s: cannot open directory to flush it: %s", dir, strerror(errno));
        return false;
    }
    if (fsync(fd) != 0 && errno != EINVAL) {
        llmc_err_set(err, "%s: cannot flush directory to disk: %s", dir, strerror(errno));
        close(fd);
        return false;
    }
    close(fd);
    return true;
}

/* Creates path (which must not exist), writes data, fsyncs and closes it. On failure the
 * partial file is removed. */
static bool write_file_sync(const char *path, const void *data, size_t len, LlmcErr *err) {
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) {
        llmc_err_set(err, "%s: cannot create: %s", path, strerror(errno));
        return false;
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            llmc_err_set(err, "%s: write error: %s", path, w < 0 ? strerror(errno) : "no progress");
            close(fd);
            unlink(path);
            return false;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0) {
        llmc_err_set(err, "%s: cannot flush to disk: %s", path, strerror(errno));
        close(fd);
        unlink(path);
        return false;
    }
    if (close(fd) != 0) {
        llmc_err_set(err, "%s: cannot close: %s", path, strerror(errno));
        unlink(path);
        return false;
    }
    return true;
}

/* mkdir -p; each directory created is made durable in its parent. */
static bool mkdir_p(const char *path, LlmcErr *err) {
    if (is_dir(path)) return true;
    char *p = llmc_xstrdup(path);
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/') p[--n] = 0;
    bool ok = true;
    for (char *s = p + 1; ok; s++) {
        bool end = *s == 0;
        if (*s != '/' && !end) continue;
        *s = 0;
        if (mkdir(p, 0755) == 0) {
            char *slash = strrchr(p, '/');
            if (slash && slash != p) {
                *slash = 0;
                ok = fsync_dir(p, err);
                *slash = '/';
            } else {
                ok = fsync_dir(slash ? "/" : ".", err);
            }
        } else if (errno != EEXIST || !is_dir(p)) {
            llmc_err_set(err, "%s: cannot create directory: %s", p,
                         errno == EEXIST ? "exists and is not a directory" : strerror(errno));
            ok = false;
        }
        if (end) break;
        *s = '/';
    }
    free(p);
    return ok;
}

/* rm -r of a tree of plain files and folders (checkpoint folders hold two files);
 * symlinks are removed, never followed. Best effort: returns false if anything stayed. */
static bool remove_tree(const char *path, int depth) {
    struct stat st;
    if (lstat(path, &st) != 0) return errno == ENOENT;
    if (!S_ISDIR(st.st_mode)) return unlink(path) == 0;
    bool ok = depth < 16;
    DIR *d = ok ? opendir(path) : NULL;
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            char *child = path_join(path, e->d_name);
            ok = remove_tree(child, depth + 1) && ok;
            free(child);
        }
        closedir(d);
    }
    return rmdir(path) == 0 && ok;
}

/* Reads a whole small file, refusing one above `limit` bytes. */
static bool read_small_file(const char *path, size_t limit, const char *what, char **data, size_t *len,
                            LlmcErr *err) {
    struct stat st;
    if (stat(path, &st) != 0) {
        llmc_err_set(err, "%s: cannot open: %s", path, strerror(errno));
        return false;
    }
    if (!S_ISREG(st.st_mode)) {
        llmc_err_set(err, "%s: not a regular file", path);
        return false;
    }
    if ((uint64_t)st.st_size > limit) {
        llmc_err_set(err, "%s: %llu bytes, more than a %s can be (%zu bytes)", path,
                     (unsigned long long)st.st_size, what, limit);
        return false;
    }
    return llmc_file_read(path, data, len, err);
}

/* ===================================================================================
 * Recipe values
 * =================================================================================== */

/* Writes a recipe value canonically into w: a value that parses as one JSON number is
 * written in shortest round-trip form (integers as integers), one that parses as a JSON
 * string literal is re-escaped, and anything else is taken as a plain string. So "1e-3"
 * and "0.001" are the same value, and "cosine" and "\"cosine\"" too. */
static void recipe_write(RtJsonWriter *w, const char *value) {
    RtJson *v = NULL;
    LlmcErr ignored = {0};
    if (rt_json_parse(value, strlen(value), "recipe", &v, &ignored) && v->kind == RT_JSON_NUMBER) {
        if (v->is_int) rt_json_int(w, v->integer);
        else rt_json_double(w, v->number);
    } else if (v && v->kind == RT_JSON_STRING) {
        rt_json_string_n(w, v->str, v->str_len);
    } else {
        rt_json_string(w, value);
    }
    rt_json_free(v);
}

/* The canonical JSON text of a recipe value, appended to out. */
static void recipe_canon(const char *value, LlmcBuf *out) {
    RtJsonWriter w;
    rt_json_writer_init(&w, out, RT_JSON_COMPACT);
    recipe_write(&w, value);
}

/* ===================================================================================
 * Manifest writer
 * =================================================================================== */

static bool meta_check(const char *run_dir, const RtCkptMeta *m, LlmcErr *err) {
    if (m->step < 0) {
        llmc_err_set(err, "%s: cannot save a checkpoint of step %lld (steps are >= 0)", run_dir,
                     (long long)m->step);
        return false;
    }
    if (!is_hex16(m->model_hash, strnlen(m->model_hash, sizeof m->model_hash))) {
        llmc_err_set(err, "%s: model hash '%.16s' is not 16 lower-case hex digits", run_dir, m->model_hash);
        return false;
    }
    if (m->world_size < 1) {
        llmc_err_set(err, "%s: world_size must be at least 1", run_dir);
        return false;
    }
    for (uint32_t i = 0; i < m->n_recipe; i++) {
        const RtKv *kv = &m->recipe[i];
        if (!kv->key || !kv->value || !kv->key[0]) {
            llmc_err_set(err, "%s: recipe entry %u has an empty key or no value", run_dir, i);
            return false;
        }
        if (!rt_utf8_valid(kv->key, strlen(kv->key)) || !rt_utf8_valid(kv->value, strlen(kv->value))) {
            llmc_err_set(err, "%s: recipe '%s' is not valid UTF-8", run_dir, kv->key);
            return false;
        }
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(m->recipe[j].key, kv->key) == 0) {
                llmc_err_set(err, "%s: recipe key '%s' appears twice", run_dir, kv->key);
                return false;
            }
    }
    return true;
}

static void u64_string(RtJsonWriter *w, uint64_t v) {
    char b[24];
    snprintf(b, sizeof b, "%llu", (unsigned long long)v);
    rt_json_string(w, b);
}

static void manifest_build(const RtCkptMeta *m, uint64_t state_bytes, uint64_t state_sum, LlmcBuf *out) {
    RtJsonWriter w;
    char hex[17];
    rt_json_writer_init(&w, out, RT_JSON_PRETTY);
    rt_json_begin_object(&w);
    rt_json_key(&w, "format"), rt_json_string(&w, CKPT_FORMAT);
    rt_json_key(&w, "version"), rt_json_int(&w, CKPT_VERSION);
    rt_json_key(&w, "step"), rt_json_int(&w, m->step);
    rt_json_key(&w, "data_pos"), u64_string(&w, m->data_pos);
    rt_json_key(&w, "seed"), u64_string(&w, m->seed);
    rt_json_key(&w, "model_hash"), rt_json_string_n(&w, m->model_hash, 16);
    rt_json_key(&w, "world_size"), rt_json_int(&w, m->world_size);
    rt_json_key(&w, "recipe");
    rt_json_begin_object(&w);
    for (uint32_t i = 0; i < m->n_recipe; i++) {
        rt_json_key(&w, m->recipe[i].key);
        recipe_write(&w, m->recipe[i].value);
    }
    rt_json_end_object(&w);
    rt_json_key(&w, "files");
    rt_json_begin_object(&w);
    rt_json_key(&w, STATE_FILE);
    rt_json_begin_object(&w);
    rt_json_key(&w, "bytes"), rt_json_int(&w, (int64_t)state_bytes);
    hex16(state_sum, hex);
    rt_json_key(&w, "checksum"), rt_json_string(&w, hex);
    rt_json_end_object(&w);
    rt_json_end_object(&w);
    /* The checksum covers everything before its own key. */
    rt_json_key(&w, CHECKSUM_KEY);
    const char *key = "\"" CHECKSUM_KEY "\"";
    size_t klen = strlen(key), at = out->len;
    while (at >= klen && memcmp(out->data + at - klen, key, klen) != 0) at--;
    LLMC_ASSERT(at >= klen);
    hex16(rt_checksum(out->data, at - klen), hex);
    rt_json_string(&w, hex);
    rt_json_end_object(&w);
    llmc_buf_putc(out, '\n');
}

/* ===================================================================================
 * Save
 * =================================================================================== */

typedef struct Entry {
    int64_t step;
    char *name;
} Entry;

static int entry_cmp_desc(const void *a, const void *b) {
    const Entry *x = a, *y = b;
    return x->step < y->step ? 1 : x->step > y->step ? -1 : 0;
}

/* Removes a checkpoint folder: renamed to a temporary name first (atomic), then deleted. */
static void remove_ckpt(const char *run_dir, const char *name) {
    char *from = path_join(run_dir, name);
    LlmcBuf to = {0};
    llmc_buf_printf(&to, "%s/%s%s-%ld-del", run_dir, TMP_PREFIX, name + 5, (long)getpid());
    if (rename(from, to.data) == 0) remove_tree(to.data, 0);
    free(from);
    llmc_buf_free(&to);
}

/* After a successful save: old checkpoints beyond `keep` (the one just written counts
 * first, then the others by descending step), and temporaries of killed saves. Best
 * effort: what cannot be removed now is retried by the next save. */
static void cleanup(const char *run_dir, int64_t just_written, uint32_t keep) {
    DIR *d = opendir(run_dir);
    if (!d) return;
    Entry *ents = NULL;
    uint32_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int64_t step;
        if (strncmp(e->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0 ||
            strncmp(e->d_name, LATEST_TMP_PREFIX, strlen(LATEST_TMP_PREFIX)) == 0) {
            char *p = path_join(run_dir, e->d_name);
            remove_tree(p, 0);
            free(p);
        } else if (keep > 0 && parse_ckpt_name(e->d_name, &step) && step != just_written) {
            if (n == cap) ents = llmc_xrealloc(ents, (cap = cap ? 2 * cap : 16) * sizeof *ents);
            ents[n].step = step;
            ents[n++].name = llmc_xstrdup(e->d_name);
        }
    }
    closedir(d);
    if (n) qsort(ents, n, sizeof *ents, entry_cmp_desc);
    for (uint32_t i = 0; i < n; i++) {
        if (i + 1 >= keep) remove_ckpt(run_dir, ents[i].name);
        free(ents[i].name);
    }
    free(ents);
    LlmcErr ignored = {0};
    fsync_dir(run_dir, &ignored);
}

/* Moves the complete folder tmp to final (which may already hold a checkpoint). */
static bool install_folder(const char *tmp, const char *final, LlmcErr *err) {
    if (rename(tmp, final) == 0) return true;
    if (errno != EEXIST && errno != ENOTEMPTY) {
        llmc_err_set(err, "%s: cannot rename to %s: %s", tmp, final, strerror(errno));
        return false;
    }
#if defined(__linux__) && defined(RENAME_EXCHANGE)
    /* Swap atomically: final is complete at every instant; the old one ends at tmp. */
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_EXCHANGE) == 0) {
        remove_tree(tmp, 0);
        return true;
    }
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP) {
        llmc_err_set(err, "%s: cannot exchange with %s: %s", tmp, final, strerror(errno));
        return false;
    }
#endif
    LlmcBuf old = {0};
    llmc_buf_printf(&old, "%s-old", tmp);
    bool ok = true;
    if (rename(final, old.data) != 0) {
        llmc_err_set(err, "%s: cannot move the previous checkpoint of this step aside: %s", final,
                     strerror(errno));
        ok = false;
    } else if (rename(tmp, final) != 0) {
        llmc_err_set(err, "%s: cannot rename to %s: %s", tmp, final, strerror(errno));
        rename(old.data, final); /* put the old one back */
        ok = false;
    } else {
        remove_tree(old.data, 0);
    }
    llmc_buf_free(&old);
    return ok;
}

/* latest <- "NAME\n", atomically. */
static bool write_latest(const char *run_dir, const char *name, LlmcErr *err) {
    LlmcBuf tmp = {0}, text = {0};
    llmc_buf_printf(&tmp, "%s/%s%ld", run_dir, LATEST_TMP_PREFIX, (long)getpid());
    llmc_buf_printf(&text, "%s\n", name);
    char *latest = path_join(run_dir, LATEST_FILE);
    unlink(tmp.data); /* a leftover of a killed process with our pid */
    bool ok = write_file_sync(tmp.data, text.data, text.len, err);
    if (ok && rename(tmp.data, latest) != 0) {
        llmc_err_set(err, "%s: cannot rename into place: %s (the checkpoint %s is complete, but %s still "
                          "names the previous one)",
                     latest, strerror(errno), name, LATEST_FILE);
        unlink(tmp.data);
        ok = false;
    }
    ok = ok && fsync_dir(run_dir, err);
    free(latest);
    llmc_buf_free(&tmp);
    llmc_buf_free(&text);
    return ok;
}

bool rt_ckpt_save(const char *run_dir, const RtCkptMeta *meta, const RtTensor *tensors, uint32_t n, uint32_t keep,
                  LlmcErr *err) {
    if (!meta_check(run_dir, meta, err) || !mkdir_p(run_dir, err)) return false;
    char name[32];
    ckpt_name(meta->step, name, sizeof name);
    LlmcBuf tmp = {0}, state = {0}, manifest = {0};
    llmc_buf_printf(&tmp, "%s/%s%s-%ld", run_dir, TMP_PREFIX, name + 5, (long)getpid());
    char *final = path_join(run_dir, name);
    char *state_path = path_join(tmp.data, STATE_FILE);
    char *manifest_path = path_join(tmp.data, MANIFEST_FILE);

    bool ok = true, made_tmp = false;
    remove_tree(tmp.data, 0); /* a leftover of a killed process with our pid */
    if (mkdir(tmp.data, 0755) != 0) {
        llmc_err_set(err, "%s: cannot create directory: %s", tmp.data, strerror(errno));
        ok = false;
    }
    made_tmp = ok;
    ok = ok && rt_safetensors_serialize(tensors, n, NULL, NULL, 0, state_path, &state, err);
    ok = ok && write_file_sync(state_path, state.data ? state.data : "", state.len, err);
    if (ok) manifest_build(meta, state.len, rt_checksum(state.data ? state.data : "", state.len), &manifest);
    llmc_buf_free(&state); /* the big one: release it before anything else is done */
    ok = ok && write_file_sync(manifest_path, manifest.data, manifest.len, err);
    ok = ok && fsync_dir(tmp.data, err);
    ok = ok && install_folder(tmp.data, final, err);
    if (ok) made_tmp = false; /* it is the checkpoint now */
    ok = ok && fsync_dir(run_dir, err);
    ok = ok && write_latest(run_dir, name, err);
    if (made_tmp) remove_tree(tmp.data, 0);
    if (ok) cleanup(run_dir, meta->step, keep);

    free(final);
    free(state_path);
    free(manifest_path);
    llmc_buf_free(&tmp);
    llmc_buf_free(&manifest);
    return ok;
}

/* ===================================================================================
 * Manifest reader
 * =================================================================================== */

/* A JSON value as a message fragment. */
static const char *describe(const RtJson *v, char *buf, size_t n) {
    switch (v->kind) {
    case RT_JSON_NUMBER:
        if (v->is_int) snprintf(buf, n, "%lld", (long long)v->integer);
        else snprintf(buf, n, "%.17g", v->number);
        return buf;
    case RT_JSON_STRING: snprintf(buf, n, "\"%.40s\"", v->str); return buf;
    case RT_JSON_BOOL: return v->boolean ? "true" : "false";
    case RT_JSON_NULL: return "null";
    case RT_JSON_ARRAY: return "an array";
    case RT_JSON_OBJECT: return "an object";
    case RT_JSON_INVALID:
    case RT_JSON_KIND_COUNT: break;
    }
    return "?";
}

/* Member `key` of obj, required and of kind `kind`. */
static const RtJson *field(const char *file, const RtJson *obj, const char *ctx, const char *key,
                           RtJsonKind kind, LlmcErr *err) {
    const RtJson *f = rt_json_get(obj, key);
    char d[64];
    if (!f)
        llmc_err_set(err, "%s: missing field '%s%s'", file, ctx, key);
    else if (f->kind != kind)
        llmc_err_set(err, "%s: field '%s%s' must be %s %s, not %s", file, ctx, key,
                     kind == RT_JSON_ARRAY || kind == RT_JSON_OBJECT ? "an" : "a", rt_json_kind_name(kind),
                     describe(f, d, sizeof d));
    else
        return f;
    return NULL;
}

/* An integer field in [lo, hi]. */
static bool int_field(const char *file, const RtJson *obj, const char *ctx, const char *key, int64_t lo,
                      int64_t hi, int64_t *out, LlmcErr *err) {
    const RtJson *f = field(file, obj, ctx, key, RT_JSON_NUMBER, err);
    if (!f) return false;
    if (!f->is_int || f->integer < lo || f->integer > hi) {
        char d[64];
        llmc_err_set(err, "%s: field '%s%s' is %s; it must be an integer in [%lld, %lld]", file, ctx, key,
                     describe(f, d, sizeof d), (long long)lo, (long long)hi);
        return false;
    }
    *out = f->integer;
    return true;
}

/* A u64 written as a decimal string. */
static bool u64_field(const char *file, const RtJson *obj, const char *key, uint64_t *out, LlmcErr *err) {
    const RtJson *f = field(file, obj, "", key, RT_JSON_STRING, err);
    if (!f) return false;
    bool ok = f->str_len >= 1 && f->str_len <= 20 && !(f->str_len > 1 && f->str[0] == '0');
    uint64_t v = 0;
    for (size_t i = 0; ok && i < f->str_len; i++) {
        unsigned c = (unsigned char)f->str[i];
        if (c < '0' || c > '9' || v > (UINT64_MAX - (c - '0')) / 10) ok = false;
        else v = v * 10 + (c - '0');
    }
    if (!ok) {
        char d[64];
        llmc_err_set(err, "%s: field '%s' is %s; it must be a decimal string of an unsigned 64-bit integer",
                     file, key, describe(f, d, sizeof d));
        return false;
    }
    *out = v;
    return true;
}

static bool hex_field(const char *file, const RtJson *obj, const char *ctx, const char *key, uint64_t *out,
                      char *text, LlmcErr *err) {
    const RtJson *f = field(file, obj, ctx, key, RT_JSON_STRING, err);
    if (!f) return false;
    if (!is_hex16(f->str, f->str_len)) {
        char d[64];
        llmc_err_set(err, "%s: field '%s%s' is %s; it must be 16 lower-case hex digits", file, ctx, key,
                     describe(f, d, sizeof d));
        return false;
    }
    if (out) *out = parse_hex16(f->str);
    if (text) memcpy(text, f->str, 17);
    return true;
}

/* Byte offset of (line, col) in text (both 1-based, col in bytes). */
static size_t text_offset(const char *text, size_t len, uint32_t line, uint32_t col) {
    size_t off = 0;
    for (uint32_t l = 1; l < line && off < len; off++)
        if (text[off] == '\n') l++;
    return off + col - 1;
}

static void meta_free(RtCkptMeta *m) {
    for (uint32_t i = 0; i < m->n_recipe; i++) {
        free(m->recipe[i].key);
        free(m->recipe[i].value);
    }
    free(m->recipe);
    memset(m, 0, sizeof *m);
}

/* A file the manifest lists, as found on disk. */
typedef struct FileRec {
    const char *name;
    uint64_t bytes, checksum;
} FileRec;

static const char *const top_fields[] = {"format", "version",    "step",   "data_pos", "seed",
                                         "model_hash", "world_size", "recipe", "files", CHECKSUM_KEY};

/* Validates the manifest text and fills meta (recipe owned) and the state file record. */
static bool manifest_parse(const char *file, const char *text, size_t len, RtCkptMeta *meta, FileRec *state,
                           LlmcErr *err) {
    memset(meta, 0, sizeof *meta);
    RtJson *root = NULL;
    if (!rt_json_parse(text, len, file, &root, err)) return false;
    bool ok = false;
    char d[64];
    const RtJson *f;
    int64_t iv;
    if (root->kind != RT_JSON_OBJECT) {
        llmc_err_set(err, "%s: a manifest is a JSON object, not %s", file, describe(root, d, sizeof d));
        goto done;
    }
    if (!(f = field(file, root, "", "format", RT_JSON_STRING, err))) goto done;
    if (strcmp(f->str, CKPT_FORMAT) != 0 || f->str_len != strlen(CKPT_FORMAT)) {
        llmc_err_set(err, "%s: not an llmc checkpoint manifest (format is %s, expected \"%s\")", file,
                     describe(f, d, sizeof d), CKPT_FORMAT);
        goto done;
    }
    if (!(f = field(file, root, "", "version", RT_JSON_NUMBER, err))) goto done;
    if (!f->is_int || f->integer != CKPT_VERSION) {
        llmc_err_set(err, "%s: checkpoint version %s is not supported (this llmc reads version %d)", file,
                     describe(f, d, sizeof d), CKPT_VERSION);
        goto done;
    }
    /* The manifest's own checksum: the last member, over every byte before its key
     * (root has at least format and version by now). */
    const RtJson *last = &root->items[root->count - 1];
    if (strcmp(last->key, CHECKSUM_KEY) != 0 || last->key_len != strlen(CHECKSUM_KEY)) {
        llmc_err_set(err, "%s: '%s' must be the manifest's last field", file, CHECKSUM_KEY);
        goto done;
    }
    uint64_t want;
    if (!hex_field(file, root, "", CHECKSUM_KEY, &want, NULL, err)) goto done;
    size_t at = text_offset(text, len, last->line, last->col);
    uint64_t got = rt_checksum(text, at < len ? at : len);
    if (got != want) {
        char g[17];
        hex16(got, g);
        llmc_err_set(err, "%s: manifest checksum mismatch (the manifest says %016llx, its content hashes to %s): "
                          "the file is corrupt",
                     file, (unsigned long long)want, g);
        goto done;
    }
    for (uint32_t i = 0; i < root->count; i++) {
        bool known = false;
        for (size_t k = 0; k < sizeof top_fields / sizeof top_fields[0]; k++)
            known = known || strcmp(root->items[i].key, top_fields[k]) == 0;
        if (!known) {
            llmc_err_set(err, "%s: unknown field '%s'", file, root->items[i].key);
            goto done;
        }
    }
    if (!int_field(file, root, "", "step", 0, INT64_MAX, &meta->step, err)) goto done;
    if (!u64_field(file, root, "data_pos", &meta->data_pos, err)) goto done;
    if (!u64_field(file, root, "seed", &meta->seed, err)) goto done;
    if (!hex_field(file, root, "", "model_hash", NULL, meta->model_hash, err)) goto done;
    if (!int_field(file, root, "", "world_size", 1, UINT32_MAX, &iv, err)) goto done;
    meta->world_size = (uint32_t)iv;

    const RtJson *recipe = field(file, root, "", "recipe", RT_JSON_OBJECT, err);
    if (!recipe) goto done;
    meta->recipe = llmc_xcalloc(recipe->count ? recipe->count : 1, sizeof *meta->recipe);
    for (uint32_t i = 0; i < recipe->count; i++) {
        const RtJson *v = &recipe->items[i];
        if (memchr(v->key, 0, v->key_len) || v->key_len == 0) {
            llmc_err_set(err, "%s: recipe key '%s' is empty or contains a NUL character", file, v->key);
            goto done;
        }
        if (v->kind != RT_JSON_NUMBER && v->kind != RT_JSON_STRING) {
            llmc_err_set(err, "%s: recipe '%s' must be a number or a string, not %s", file, v->key,
                         describe(v, d, sizeof d));
            goto done;
        }
        if (v->kind == RT_JSON_STRING && memchr(v->str, 0, v->str_len)) {
            llmc_err_set(err, "%s: recipe '%s' contains a NUL character", file, v->key);
            goto done;
        }
        LlmcBuf b = {0};
        RtJsonWriter w;
        rt_json_writer_init(&w, &b, RT_JSON_COMPACT);
        if (v->kind == RT_JSON_STRING) rt_json_string_n(&w, v->str, v->str_len);
        else if (v->is_int) rt_json_int(&w, v->integer);
        else rt_json_double(&w, v->number);
        meta->recipe[i].key = llmc_xstrdup(v->key);
        meta->recipe[i].value = b.data;
        meta->n_recipe = i + 1;
    }

    const RtJson *files = field(file, root, "", "files", RT_JSON_OBJECT, err);
    if (!files) goto done;
    for (uint32_t i = 0; i < files->count; i++) {
        const RtJson *e = &files->items[i];
        if (strcmp(e->key, STATE_FILE) != 0 || e->key_len != strlen(STATE_FILE)) {
            llmc_err_set(err, "%s: files: unknown file '%s' (a version %d checkpoint holds only %s)", file, e->key,
                         CKPT_VERSION, STATE_FILE);
            goto done;
        }
    }
    const RtJson *st = field(file, files, "files.", STATE_FILE, RT_JSON_OBJECT, err);
    if (!st) goto done;
    for (uint32_t i = 0; i < st->count; i++)
        if (strcmp(st->items[i].key, "bytes") != 0 && strcmp(st->items[i].key, "checksum") != 0) {
            llmc_err_set(err, "%s: files.%s: unknown field '%s'", file, STATE_FILE, st->items[i].key);
            goto done;
        }
    if (!int_field(file, st, "files." STATE_FILE ".", "bytes", 0, INT64_MAX, &iv, err)) goto done;
    state->bytes = (uint64_t)iv;
    if (!hex_field(file, st, "files." STATE_FILE ".", "checksum", &state->checksum, NULL, err)) goto done;
    state->name = STATE_FILE;
    ok = true;
done:
    rt_json_free(root);
    if (!ok) meta_free(meta);
    return ok;
}

/* Size and checksum of a listed file, streamed (it may be gigabytes). */
static bool check_file(const char *dir, const FileRec *rec, LlmcErr *err) {
    char *path = path_join(dir, rec->name);
    bool ok = false;
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0) {
        llmc_err_set(err, "%s: cannot open: %s", path, strerror(errno));
        goto out;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        llmc_err_set(err, "%s: not a regular file", path);
        goto out;
    }
    if ((uint64_t)st.st_size != rec->bytes) {
        llmc_err_set(err, "%s: %llu bytes, but the manifest says %llu (%s)", path, (unsigned long long)st.st_size,
                     (unsigned long long)rec->bytes,
                     (uint64_t)st.st_size < rec->bytes ? "truncated?" : "appended to?");
        goto out;
    }
    enum { CHUNK = 1 << 20 };
    unsigned char *buf = llmc_xmalloc(CHUNK);
    uint64_t h = RT_CHECKSUM_INIT, total = 0;
    for (;;) {
        ssize_t r = read(fd, buf, CHUNK);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            llmc_err_set(err, "%s: read error: %s", path, strerror(errno));
            free(buf);
            goto out;
        }
        if (r == 0) break;
        h = rt_checksum_update(h, buf, (size_t)r);
        total += (uint64_t)r;
    }
    free(buf);
    if (total != rec->bytes) {
        llmc_err_set(err, "%s: read %llu bytes, but the manifest says %llu", path, (unsigned long long)total,
                     (unsigned long long)rec->bytes);
        goto out;
    }
    if (h != rec->checksum) {
        llmc_err_set(err, "%s: checksum mismatch (the manifest says %016llx, the file hashes to %016llx): the file "
                          "is corrupt",
                     path, (unsigned long long)rec->checksum, (unsigned long long)h);
        goto out;
    }
    ok = true;
out:
    if (fd >= 0) close(fd);
    free(path);
    return ok;
}

/* ===================================================================================
 * Load
 * =================================================================================== */

/* RUN_DIR/latest -> the checkpoint folder's path (malloc'd). */
static char *follow_latest(const char *run_dir, LlmcErr *err) {
    char *latest = path_join(run_dir, LATEST_FILE), *text = NULL, *out = NULL;
    size_t len;
    if (!read_small_file(latest, MAX_LATEST_BYTES, "latest file", &text, &len, err)) goto done;
    size_t n = len;
    if (n > 0 && text[n - 1] == '\n') n--;
    int64_t step;
    if (memchr(text, 0, n) || memchr(text, '\n', n) || (text[n] = 0, !parse_ckpt_name(text, &step))) {
        llmc_err_set(err, "%s: does not name a checkpoint folder (it should hold ckpt-NNNNNNNN)", latest);
        goto done;
    }
    out = path_join(run_dir, text);
    if (!is_dir(out)) {
        llmc_err_set(err, "%s: points at %s, which does not exist", latest, text);
        free(out);
        out = NULL;
    }
done:
    free(latest);
    free(text);
    return out;
}

/* The last component of path, trailing slashes ignored (malloc'd). */
static char *base_name(const char *path) {
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') n--;
    size_t b = n;
    while (b > 0 && path[b - 1] != '/') b--;
    char *s = llmc_xmalloc(n - b + 1);
    memcpy(s, path + b, n - b);
    s[n - b] = 0;
    return s;
}


bool rt_ckpt_load(const char *path, RtCkpt *out, LlmcErr *err) {
    memset(out, 0, sizeof *out);
    if (!is_dir(path)) {
        llmc_err_set(err, "%s: %s", path, exists(path) ? "not a directory" : "no such checkpoint or run directory");
        return false;
    }
    char *latest = path_join(path, LATEST_FILE), *dir = NULL, *mpath = NULL, *spath = NULL, *text = NULL;
    char *base = NULL;
    bool ok = false;
    if (exists(latest)) {
        if (!(dir = follow_latest(path, err))) goto done;
    } else {
        char *m = path_join(path, MANIFEST_FILE), *s = path_join(path, STATE_FILE);
        int64_t step;
        base = base_name(path);
        bool looks = exists(m) || exists(s) || parse_ckpt_name(base, &step);
        free(m);
        free(s);
        free(base);
        base = NULL;
        if (!looks) {
            llmc_err_set(err, "%s: neither a checkpoint folder (no %s) nor a run directory (no %s file)", path,
                         MANIFEST_FILE, LATEST_FILE);
            goto done;
        }
        dir = llmc_xstrdup(path);
        for (size_t n = strlen(dir); n > 1 && dir[n - 1] == '/';) dir[--n] = 0;
    }
    mpath = path_join(dir, MANIFEST_FILE);
    size_t len;
    if (!read_small_file(mpath, MAX_MANIFEST_BYTES, "manifest", &text, &len, err)) goto done;
    FileRec state;
    if (!manifest_parse(mpath, text, len, &out->meta, &state, err)) goto done;
    base = base_name(dir);
    int64_t named;
    if (parse_ckpt_name(base, &named) && named != out->meta.step) {
        llmc_err_set(err, "%s: the manifest is of step %lld, but the folder is named %s", mpath,
                     (long long)out->meta.step, base);
        goto done;
    }
    if (!check_file(dir, &state, err)) goto done;
    spath = path_join(dir, STATE_FILE);
    if (!rt_safetensors_read(spath, &out->state, err)) goto done;
    out->dir = dir;
    dir = NULL;
    ok = true;
done:
    if (!ok) rt_ckpt_free(out);
    free(latest);
    free(dir);
    free(mpath);
    free(spath);
    free(text);
    free(base);
    return ok;
}

void rt_ckpt_free(RtCkpt *c) {
    if (!c) return;
    meta_free(&c->meta);
    rt_safetensors_free(&c->state);
    free(c->dir);
    memset(c, 0, sizeof *c);
}

bool rt_ckpt_check_model(const RtCkpt *c, const char *model_hash, LlmcErr *err) {
    if (strcmp(c->meta.model_hash, model_hash) == 0) return true;
    llmc_err_set(err, "%s: checkpoint is of another model (hash %s, this model %s)", c->dir ? c->dir : "checkpoint",
                 c->meta.model_hash, model_hash);
    return false;
}

/* ===================================================================================
 * Recipe differences
 * =================================================================================== */

static const RtKv *kv_find(const RtKv *kv, uint32_t n, const char *key) {
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(kv[i].key, key) == 0) return &kv[i];
    return NULL;
}

uint32_t rt_ckpt_recipe_diff(const RtCkptMeta *a, const RtKv *now, uint32_t n, LlmcBuf *msg) {
    uint32_t changes = 0;
    LlmcBuf x = {0}, y = {0};
    for (uint32_t i = 0; i < a->n_recipe; i++) {
        const RtKv *was = &a->recipe[i], *is = kv_find(now, n, was->key);
        x.len = y.len = 0;
        recipe_canon(was->value, &x);
        if (is) recipe_canon(is->value, &y);
        if (is && strcmp(x.data, y.data) == 0) continue;
        changes++;
        if (msg) llmc_buf_printf(msg, "%s: %s -> %s\n", was->key, x.data, is ? y.data : "(not set)");
    }
    for (uint32_t i = 0; i < n; i++) {
        if (kv_find(a->recipe, a->n_recipe, now[i].key)) continue;
        y.len = 0;
        recipe_canon(now[i].value, &y);
        changes++;
        if (msg) llmc_buf_printf(msg, "%s: (not set) -> %s\n", now[i].key, y.data);
    }
    llmc_buf_free(&x);
    llmc_buf_free(&y);
    return changes;
}
