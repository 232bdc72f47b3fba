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
 * Save in pieces (rt_ckpt_save_pieces): the ranks of a world write one checkpoint
 * together, each its own byte ranges, and the result is byte for byte the one
 * rt_ckpt_save makes of the whole tensors (so any world size resumes from it). The state
 * file's layout comes from the names and types alone (rt_safetensors_layout, the
 * serializer's own); rank 0 creates the temporary folder and the file (header, size),
 * every rank pwrite()s its pieces into it, and rank 0 checksums the file and installs
 * the folder through the same steps as rt_ckpt_save. The rounds are described above the
 * function. Errors: a rank's own problem is "rank R: ..." on every rank; a gap is no
 * rank's fault and is reported as the bytes no rank writes.
 *
 * Deliberately not here: what the tensors mean (llmrun names them), streaming writes in
 * rt_ckpt_save (its state file is built in memory, as rt_safetensors_write does; large
 * states go through rt_ckpt_save_pieces, which never holds the whole file), locking
 * against two processes saving into one run directory at once, and the communicator
 * (runtime/comm.c; only its rank, size, gather and broadcast are used).
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

/* Reads the whole open file fd from where it is, hashing it: *bytes and *sum. Streamed,
 * because a state file may be gigabytes. */
static bool file_sum(int fd, const char *path, uint64_t *bytes, uint64_t *sum, LlmcErr *err) {
    enum { CHUNK = 1 << 20 };
    unsigned char *buf = llmc_xmalloc(CHUNK);
    uint64_t h = RT_CHECKSUM_INIT, total = 0;
    bool ok = true;
    for (;;) {
        ssize_t r = read(fd, buf, CHUNK);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            llmc_err_set(err, "%s: read error: %s", path, strerror(errno));
            ok = false;
            break;
        }
        if (r == 0) break;
        h = rt_checksum_update(h, buf, (size_t)r);
        total += (uint64_t)r;
    }
    free(buf);
    *bytes = total;
    *sum = h;
    return ok;
}

/* One save from its temporary folder to the installed checkpoint. rt_ckpt_save and rank 0
 * of rt_ckpt_save_pieces both go through it, so the two install checkpoints the same way:
 * save_begin, the state file written into tmp by the caller, save_install, save_end. */
typedef struct Save {
    const char *run_dir;
    const RtCkptMeta *meta;
    char name[32];    /* ckpt-<step> */
    LlmcBuf tmp;      /* RUN_DIR/.tmp-ckpt-<step>-<pid> */
    char *state_path; /* tmp/state.safetensors */
    bool made_tmp;    /* tmp exists and is ours to remove on failure */
} Save;

/* Checks meta, creates RUN_DIR and an empty temporary folder. */
static bool save_begin(Save *s, const char *run_dir, const RtCkptMeta *meta, LlmcErr *err) {
    memset(s, 0, sizeof *s);
    s->run_dir = run_dir;
    s->meta = meta;
    if (!meta_check(run_dir, meta, err) || !mkdir_p(run_dir, err)) return false;
    ckpt_name(meta->step, s->name, sizeof s->name);
    llmc_buf_printf(&s->tmp, "%s/%s%s-%ld", run_dir, TMP_PREFIX, s->name + 5, (long)getpid());
    s->state_path = path_join(s->tmp.data, STATE_FILE);
    remove_tree(s->tmp.data, 0); /* a leftover of a killed process with our pid */
    if (mkdir(s->tmp.data, 0755) != 0) {
        llmc_err_set(err, "%s: cannot create directory: %s", s->tmp.data, strerror(errno));
        return false;
    }
    s->made_tmp = true;
    return true;
}

/* The state file in tmp is complete and durable (state_bytes, state_sum): writes the
 * manifest, installs the folder, points `latest` at it, removes what `keep` drops. */
static bool save_install(Save *s, uint64_t state_bytes, uint64_t state_sum, uint32_t keep, LlmcErr *err) {
    LlmcBuf manifest = {0};
    char *manifest_path = path_join(s->tmp.data, MANIFEST_FILE);
    char *final = path_join(s->run_dir, s->name);
    manifest_build(s->meta, state_bytes, state_sum, &manifest);
    bool ok = write_file_sync(manifest_path, manifest.data, manifest.len, err);
    ok = ok && fsync_dir(s->tmp.data, err);
    ok = ok && install_folder(s->tmp.data, final, err);
    if (ok) s->made_tmp = false; /* it is the checkpoint now */
    ok = ok && fsync_dir(s->run_dir, err);
    ok = ok && write_latest(s->run_dir, s->name, err);
    if (ok) cleanup(s->run_dir, s->meta->step, keep);
    llmc_buf_free(&manifest);
    free(manifest_path);
    free(final);
    return ok;
}

/* Removes the temporary folder unless it was installed; frees s. */
static void save_end(Save *s) {
    if (s->made_tmp) remove_tree(s->tmp.data, 0);
    s->made_tmp = false;
    llmc_buf_free(&s->tmp);
    free(s->state_path);
    s->state_path = NULL;
}

bool rt_ckpt_save(const char *run_dir, const RtCkptMeta *meta, const RtTensor *tensors, uint32_t n, uint32_t keep,
                  LlmcErr *err) {
    Save s;
    LlmcBuf state = {0};
    bool ok = save_begin(&s, run_dir, meta, err);
    ok = ok && rt_safetensors_serialize(tensors, n, NULL, NULL, 0, s.state_path, &state, err);
    ok = ok && write_file_sync(s.state_path, state.data ? state.data : "", state.len, err);
    uint64_t bytes = state.len, sum = ok ? rt_checksum(state.data ? state.data : "", state.len) : 0;
    llmc_buf_free(&state); /* the big one: release it before anything else is done */
    ok = ok && save_install(&s, bytes, sum, keep, err);
    save_end(&s);
    return ok;
}

/* ===================================================================================
 * Save in pieces, by every rank of a world
 * ===================================================================================
 * Three rounds, each every rank's Report gathered to rank 0 and rank 0's Verdict
 * broadcast back (so every rank returns the same result, and rank 0 alone touches the
 * run directory's names):
 *   1. every rank computes the layout from the specs and checks its pieces; rank 0 also
 *      checks meta and creates the temporary folder and the state file (header, size).
 *      The verdict carries the folder's name and the largest piece count.
 *   2. every rank sends its pieces' (tensor, offset, nbytes), padded to that count; rank
 *      0 checks that they tile every tensor exactly once.
 *   3. every rank pwrite()s its pieces and fsyncs; rank 0 then reads the file back for
 *      its checksum and installs the folder as rt_ckpt_save does.
 * A failed round ends the save on every rank; rank 0 removes the temporary folder before
 * it answers, so no rank returns while a half-written folder is still there. */

#define REPORT_MSG_BYTES 512 /* an LlmcErr message */
#define TMP_NAME_BYTES 64    /* ".tmp-ckpt-" + up to 19 step digits + "-" + a pid */
#define NO_TENSOR UINT64_MAX /* a padding entry in round 2 */

typedef struct Report { /* one rank -> rank 0, gathered */
    uint64_t ok;
    uint64_t n_pieces;
    uint64_t layout_sum; /* rt_checksum of the header: every rank must agree */
    char msg[REPORT_MSG_BYTES];
} Report;

typedef struct Verdict { /* rank 0 -> every rank, broadcast */
    uint64_t ok;
    uint64_t max_pieces;
    char tmp_name[TMP_NAME_BYTES];
    char msg[REPORT_MSG_BYTES + 32]; /* "rank R: " + the failed rank's message */
} Verdict;

typedef struct PieceRec { /* round 2's wire format */
    uint64_t tensor, offset, nbytes;
} PieceRec;

typedef struct Covered { /* a nonempty piece, with its rank, for the coverage check */
    uint64_t tensor, offset, end;
    uint32_t rank;
} Covered;

static int covered_cmp(const void *a, const void *b) {
    const Covered *x = a, *y = b;
    if (x->tensor != y->tensor) return x->tensor < y->tensor ? -1 : 1;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    return x->rank < y->rank ? -1 : x->rank > y->rank;
}

/* This rank's pieces, before anything is written: in range and with their bytes. */
static bool pieces_check(const char *run_dir, const RtCkptSpec *specs, const uint64_t *sizes, uint32_t n_specs,
                         const RtCkptPiece *pieces, uint32_t n_pieces, LlmcErr *err) {
    if (n_pieces && !pieces) {
        llmc_err_set(err, "%s: %u pieces but no piece array", run_dir, n_pieces);
        return false;
    }
    for (uint32_t i = 0; i < n_pieces; i++) {
        const RtCkptPiece *p = &pieces[i];
        if (p->tensor >= n_specs) {
            llmc_err_set(err, "%s: piece %u names tensor %u, but there are %u specs", run_dir, i, p->tensor,
                         n_specs);
            return false;
        }
        uint64_t size = sizes[p->tensor];
        if (p->nbytes > size || p->offset > size - p->nbytes) {
            llmc_err_set(err, "%s: piece %u: %llu bytes at offset %llu lie outside tensor '%s' (%llu bytes)", run_dir,
                         i, (unsigned long long)p->nbytes, (unsigned long long)p->offset, specs[p->tensor].name,
                         (unsigned long long)size);
            return false;
        }
        if (p->nbytes && !p->bytes) {
            llmc_err_set(err, "%s: piece %u of tensor '%s' has no bytes", run_dir, i, specs[p->tensor].name);
            return false;
        }
    }
    return true;
}

/* Rank 0, round 2: every byte of every tensor written exactly once. all [ranks * per]. */
static bool coverage_check(const char *run_dir, const RtCkptSpec *specs, const uint64_t *sizes, uint32_t n_specs,
                           const PieceRec *all, uint32_t ranks, uint64_t per, Verdict *v) {
    uint64_t total = (uint64_t)ranks * per;
    Covered *c = llmc_xmalloc((total ? total : 1) * sizeof *c);
    uint64_t m = 0;
    for (uint64_t i = 0; i < total; i++)
        if (all[i].tensor != NO_TENSOR && all[i].nbytes)
            c[m++] = (Covered){all[i].tensor, all[i].offset, all[i].offset + all[i].nbytes, (uint32_t)(i / per)};
    qsort(c, m, sizeof *c, covered_cmp);
    bool ok = true;
    uint64_t k = 0;
    for (uint32_t t = 0; t < n_specs && ok; t++) {
        uint64_t pos = 0;
        uint32_t last = 0;
        for (; k < m && c[k].tensor == t && ok; k++) {
            if (c[k].offset > pos) {
                snprintf(v->msg, sizeof v->msg, "%s: tensor '%s': no rank writes bytes [%llu, %llu)", run_dir,
                         specs[t].name, (unsigned long long)pos, (unsigned long long)c[k].offset);
                ok = false;
            } else if (c[k].offset < pos) {
                snprintf(v->msg, sizeof v->msg, "rank %u: %s: tensor '%s': bytes [%llu, %llu) are also written by rank %u",
                         c[k].rank, run_dir, specs[t].name, (unsigned long long)c[k].offset,
                         (unsigned long long)(c[k].end < pos ? c[k].end : pos), last);
                ok = false;
            }
            if (c[k].end > pos) pos = c[k].end, last = c[k].rank;
        }
        if (ok && pos < sizes[t]) {
            snprintf(v->msg, sizeof v->msg, "%s: tensor '%s': no rank writes bytes [%llu, %llu)", run_dir,
                     specs[t].name, (unsigned long long)pos, (unsigned long long)sizes[t]);
            ok = false;
        }
    }
    free(c);
    return ok;
}

/* Rank 0, round 1: the state file with its header, sized to hold every tensor. */
static bool state_create(const char *path, const LlmcBuf *header, uint64_t data_len, LlmcErr *err) {
    if (!write_file_sync(path, header->data, header->len, err)) return false;
    int fd = open(path, O_WRONLY);
    if (fd < 0 || ftruncate(fd, (off_t)(header->len + data_len)) != 0) {
        llmc_err_set(err, "%s: cannot size to %llu bytes: %s", path, (unsigned long long)(header->len + data_len),
                     strerror(errno));
        if (fd >= 0) close(fd);
        return false;
    }
    close(fd);
    return true;
}

/* Round 3, every rank: its pieces at data_start + the tensor's offset + the piece's. The
 * file is opened and fsync'd even with no pieces, so rank 0's fsync covers its header. */
static bool pieces_write(const char *path, uint64_t data_start, const uint64_t *offsets, const RtCkptPiece *pieces,
                         uint32_t n_pieces, LlmcErr *err) {
    int fd = open(path, O_WRONLY);
    if (fd < 0) {
        llmc_err_set(err, "%s: cannot open: %s", path, strerror(errno));
        return false;
    }
    bool ok = true;
    for (uint32_t i = 0; i < n_pieces && ok; i++) {
        const char *p = pieces[i].bytes;
        uint64_t left = pieces[i].nbytes, at = data_start + offsets[pieces[i].tensor] + pieces[i].offset;
        while (left > 0) {
            ssize_t w = pwrite(fd, p, left < (1u << 30) ? left : (1u << 30), (off_t)at);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) {
                llmc_err_set(err, "%s: write error at byte %llu: %s", path, (unsigned long long)at,
                             w < 0 ? strerror(errno) : "no progress");
                ok = false;
                break;
            }
            p += w, at += (uint64_t)w, left -= (uint64_t)w;
        }
    }
    if (ok && fsync(fd) != 0) {
        llmc_err_set(err, "%s: cannot flush to disk: %s", path, strerror(errno));
        ok = false;
    }
    if (close(fd) != 0 && ok) {
        llmc_err_set(err, "%s: cannot close: %s", path, strerror(errno));
        ok = false;
    }
    return ok;
}

/* Rank 0, round 3: the size and checksum of what the ranks wrote. */
static bool state_sum(const char *path, uint64_t want_bytes, uint64_t *sum, LlmcErr *err) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        llmc_err_set(err, "%s: cannot open: %s", path, strerror(errno));
        return false;
    }
    uint64_t bytes;
    bool ok = file_sum(fd, path, &bytes, sum, err);
    close(fd);
    if (ok && bytes != want_bytes) {
        llmc_err_set(err, "%s: %llu bytes after the ranks wrote it, expected %llu", path, (unsigned long long)bytes,
                     (unsigned long long)want_bytes);
        ok = false;
    }
    return ok;
}

static void report_set(Report *r, bool ok, const LlmcErr *e) {
    r->ok = ok;
    snprintf(r->msg, sizeof r->msg, "%s", ok ? "" : e->set ? e->msg : "failed");
}

/* Gathers every rank's report to rank 0 (into all [ranks]); returns the lowest failed
 * rank, or ranks when none failed. Meaningful on rank 0 only. */
static uint32_t reports_gather(RtComm *comm, const Report *mine, Report *all, uint32_t ranks) {
    rt_comm_gather_bytes(comm, mine, sizeof *mine, all);
    for (uint32_t r = 0; r < ranks; r++)
        if (!all[r].ok) return r;
    return ranks;
}

static void verdict_fail(Verdict *v, uint32_t rank, const char *msg) {
    v->ok = 0;
    snprintf(v->msg, sizeof v->msg, "rank %u: %s", rank, msg);
}

bool rt_ckpt_save_pieces(RtComm *comm, const char *run_dir, const RtCkptMeta *meta, const RtCkptSpec *specs,
                         uint32_t n_specs, const RtCkptPiece *pieces, uint32_t n_pieces, uint32_t keep,
                         LlmcErr *err) {
    LLMC_ASSERT(comm && run_dir && meta);
    uint32_t rank = rt_comm_rank(comm), ranks = rt_comm_size(comm);
    LlmcErr local = {0};
    Report mine, *all = llmc_xcalloc(ranks, sizeof *all);
    Verdict v;
    Save s = {0};
    memset(&mine, 0, sizeof mine); /* the padding goes over the wire too */
    memset(&v, 0, sizeof v);

    /* Round 1. Every rank computes the layout itself (it needs the offsets); the header's
     * checksum catches ranks that were given different specs. */
    RtTensor *ts = llmc_xcalloc(n_specs ? n_specs : 1, sizeof *ts);
    uint64_t *offsets = llmc_xcalloc(n_specs ? n_specs : 1, sizeof *offsets);
    uint64_t *sizes = llmc_xcalloc(n_specs ? n_specs : 1, sizeof *sizes), data_len = 0;
    LlmcBuf header = {0};
    PieceRec *recs = NULL, *all_recs = NULL;
    LlmcBuf state_path = {0};
    uint64_t per = 0;
    for (uint32_t i = 0; i < n_specs; i++) ts[i] = (RtTensor){.name = (char *)specs[i].name, .type = specs[i].type};
    bool ok = rt_safetensors_layout(ts, n_specs, NULL, NULL, 0, run_dir, &header, offsets, &data_len, &local);
    for (uint32_t i = 0; ok && i < n_specs; i++) sizes[i] = ir_type_bytes(&specs[i].type);
    ok = ok && pieces_check(run_dir, specs, sizes, n_specs, pieces, n_pieces, &local);
    if (ok && rank == 0)
        ok = save_begin(&s, run_dir, meta, &local) && state_create(s.state_path, &header, data_len, &local);
    report_set(&mine, ok, &local);
    mine.n_pieces = n_pieces;
    mine.layout_sum = ok ? rt_checksum(header.data, header.len) : 0;
    uint32_t failed = reports_gather(comm, &mine, all, ranks);
    if (rank == 0) {
        v.ok = 1;
        if (failed < ranks) verdict_fail(&v, failed, all[failed].msg);
        for (uint32_t r = 1; v.ok && r < ranks; r++)
            if (all[r].layout_sum != all[0].layout_sum)
                verdict_fail(&v, r, "its specs give another file layout than rank 0's (every rank must pass the "
                                    "same specs)");
        for (uint32_t r = 0; r < ranks; r++)
            if (all[r].n_pieces > v.max_pieces) v.max_pieces = all[r].n_pieces;
        const char *slash = strrchr(s.tmp.data ? s.tmp.data : "", '/');
        if (v.ok) snprintf(v.tmp_name, sizeof v.tmp_name, "%s", slash ? slash + 1 : "");
        if (!v.ok) save_end(&s);
    }
    rt_comm_broadcast(comm, &v, sizeof v, 0);
    if (!v.ok) goto done;

    /* Round 2: the coverage check, over every rank's pieces at rank 0. */
    per = v.max_pieces;
    if (per) {
        recs = llmc_xmalloc(per * sizeof *recs);
        for (uint64_t i = 0; i < per; i++)
            recs[i] = i < n_pieces ? (PieceRec){pieces[i].tensor, pieces[i].offset, pieces[i].nbytes}
                                   : (PieceRec){NO_TENSOR, 0, 0};
        all_recs = llmc_xmalloc(ranks * per * sizeof *all_recs);
        rt_comm_gather_bytes(comm, recs, per * sizeof *recs, all_recs);
    }
    if (rank == 0) {
        v.ok = coverage_check(run_dir, specs, sizes, n_specs, all_recs, ranks, per, &v);
        if (!v.ok) save_end(&s);
    }
    rt_comm_broadcast(comm, &v, sizeof v, 0);
    if (!v.ok) goto done;

    /* Round 3: the writes, then rank 0 checksums and installs. */
    llmc_buf_printf(&state_path, "%s/%.*s/%s", run_dir, (int)sizeof v.tmp_name, v.tmp_name, STATE_FILE);
    llmc_err_clear(&local);
    ok = pieces_write(state_path.data, header.len, offsets, pieces, n_pieces, &local);
    report_set(&mine, ok, &local);
    failed = reports_gather(comm, &mine, all, ranks);
    if (rank == 0) {
        uint64_t sum = 0;
        if (failed < ranks) verdict_fail(&v, failed, all[failed].msg);
        else if (!state_sum(s.state_path, header.len + data_len, &sum, &local) ||
                 !save_install(&s, header.len + data_len, sum, keep, &local))
            verdict_fail(&v, 0, local.msg);
        save_end(&s);
    }
    rt_comm_broadcast(comm, &v, sizeof v, 0);

done:
    if (!v.ok) llmc_err_set(err, "%s", v.msg);
    free(all);
    free(ts);
    free(offsets);
    free(sizes);
    free(recs);
    free(all_recs);
    llmc_buf_free(&state_path);
    llmc_buf_free(&header);
    return v.ok != 0;
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
    uint64_t h, total;
    if (!file_sum(fd, path, &total, &h, err)) goto out;
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
