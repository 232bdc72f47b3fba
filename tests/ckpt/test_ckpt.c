/* tests/ckpt/test_ckpt.c — checkpoints (runtime/ckpt.c).
 *
 * Covers: a save/load round trip (tensors bit-exact, every meta field, the recipe in
 * canonical form), recipe differences, `latest` following the newest save, replacing a
 * checkpoint of the same step, `keep` removing only older checkpoints, leftover
 * temporaries ignored by load and cleaned by the next save, every bad input with its
 * message (manifest missing, truncated, corrupt, wrong format or version, bad checksum,
 * bad fields; state file size, checksum, truncated safetensors; `latest` garbage or
 * dangling; another model), save-side rejections, a bounded mutation loop over the
 * manifest (never a crash; anything accepted reads back identical), and two faults in a
 * forked child: a disk-full write (RLIMIT_FSIZE) and a SIGKILL in the middle of saving —
 * after both, the previous checkpoint still loads and `latest` names it.
 * Everything lives in a mkdtemp directory under /tmp, removed at the end.
 */
#include "runtime.h"
#include "test.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char tmpdir[64];

static char *tpath(const char *fmt, const char *a) {
    LlmcBuf b = {0};
    llmc_buf_printf(&b, "%s/", tmpdir);
    llmc_buf_printf(&b, fmt, a);
    return b.data;
}

static void rm_rf(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            LlmcBuf c = {0};
            llmc_buf_printf(&c, "%s/%s", path, e->d_name);
            rm_rf(c.data);
            llmc_buf_free(&c);
        }
        if (d) closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* dir/name, or dir itself when name is "". */
static void join(LlmcBuf *b, const char *dir, const char *name) {
    llmc_buf_printf(b, name[0] ? "%s/%s" : "%s%s", dir, name);
}

static bool path_exists(const char *dir, const char *name) {
    LlmcBuf b = {0};
    join(&b, dir, name);
    struct stat st;
    bool ok = lstat(b.data, &st) == 0;
    llmc_buf_free(&b);
    return ok;
}

/* Entries of dir starting with prefix. */
static int count_prefix(const char *dir, const char *prefix) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) n++;
    closedir(d);
    return n;
}

/* The whole file dir/name, NUL-terminated (NULL if it cannot be read). */
static char *read_text(const char *dir, const char *name, size_t *len) {
    LlmcBuf b = {0}, out = {0};
    join(&b, dir, name);
    FILE *f = fopen(b.data, "rb");
    if (!f) fprintf(stderr, "%s: cannot open\n", b.data);
    char chunk[4096];
    size_t r;
    while (f && (r = fread(chunk, 1, sizeof chunk, f)) > 0) llmc_buf_put(&out, chunk, r);
    if (f) fclose(f);
    if (f && !out.data) llmc_buf_puts(&out, "");
    llmc_buf_free(&b);
    if (len) *len = out.len;
    return out.data;
}

static void write_text(const char *dir, const char *name, const char *data, size_t len) {
    LlmcBuf b = {0};
    join(&b, dir, name);
    FILE *f = fopen(b.data, "wb");
    CHECK(f != NULL);
    if (f) {
        CHECK(fwrite(data, 1, len, f) == len);
        fclose(f);
    }
    llmc_buf_free(&b);
}

/* --- a model's worth of state -------------------------------------------------------- */

static float w_data[12];
static int32_t ids_data[5];
static uint16_t bf_data[3];
static double step_data;

static void make_state(RtTensor *t, float salt) {
    for (int i = 0; i < 12; i++) w_data[i] = salt + (float)i * 0.1f;
    w_data[11] = -0.0f;
    for (int i = 0; i < 5; i++) ids_data[i] = (int32_t)(i * 1000003) - 7;
    bf_data[0] = 0x3F80, bf_data[1] = 0x7FC0, bf_data[2] = 0x0001;
    step_data = 1e-300;
    int64_t d34[] = {3, 4}, d5[] = {5}, d3[] = {3};
    t[0] = (RtTensor){"layers.0.attn.wq", ir_type_make(IR_DTYPE_F32, 2, d34), w_data, sizeof w_data};
    t[1] = (RtTensor){"opt.m.ids", ir_type_make(IR_DTYPE_I32, 1, d5), ids_data, sizeof ids_data};
    t[2] = (RtTensor){"opt.v.bf", ir_type_make(IR_DTYPE_BF16, 1, d3), bf_data, sizeof bf_data};
    t[3] = (RtTensor){"opt.step", ir_type_make(IR_DTYPE_F64, 0, NULL), &step_data, sizeof step_data};
}
#define N_STATE 4

static RtKv recipe[] = {
    {"lr", "0.001"}, {"schedule", "cosine"}, {"global_batch", "64"}, {"wd", "\"0.1\""}, {"beta2", "9.5e-1"},
};
#define N_RECIPE 5

static RtCkptMeta make_meta(int64_t step) {
    RtCkptMeta m = {0};
    m.step = step;
    m.data_pos = UINT64_MAX - 1;
    m.seed = UINT64_MAX;
    memcpy(m.model_hash, "0123456789abcdef", 17);
    m.recipe = recipe;
    m.n_recipe = N_RECIPE;
    m.world_size = 4;
    return m;
}

static bool save(const char *run, int64_t step, uint32_t keep) {
    RtTensor t[N_STATE];
    make_state(t, (float)step);
    RtCkptMeta m = make_meta(step);
    LlmcErr err = {0};
    bool ok = rt_ckpt_save(run, &m, t, N_STATE, keep, &err);
    if (!ok) fprintf(stderr, "save: %s\n", err.msg);
    return ok;
}

/* Loads path and returns the step (-1 on failure, printing the error). */
static int64_t load_step(const char *path) {
    RtCkpt c;
    LlmcErr err = {0};
    if (!rt_ckpt_load(path, &c, &err)) {
        fprintf(stderr, "load: %s\n", err.msg);
        return -1;
    }
    int64_t s = c.meta.step;
    rt_ckpt_free(&c);
    return s;
}

/* --- round trip ---------------------------------------------------------------------- */

static void check_loaded(const RtCkpt *c, int64_t step) {
    CHECK_EQ_INT(c->meta.step, step);
    CHECK(c->meta.data_pos == UINT64_MAX - 1);
    CHECK(c->meta.seed == UINT64_MAX);
    CHECK_STR(c->meta.model_hash, "0123456789abcdef");
    CHECK_EQ_INT(c->meta.world_size, 4);
    CHECK_EQ_INT(c->meta.n_recipe, N_RECIPE);
    static const char *canon[N_RECIPE] = {"0.001", "\"cosine\"", "64", "\"0.1\"", "0.95"};
    for (uint32_t i = 0; i < c->meta.n_recipe && i < N_RECIPE; i++) {
        CHECK_STR(c->meta.recipe[i].key, recipe[i].key);
        CHECK_STR(c->meta.recipe[i].value, canon[i]);
    }
    CHECK_EQ_INT(rt_ckpt_recipe_diff(&c->meta, recipe, N_RECIPE, NULL), 0);
    RtTensor t[N_STATE];
    make_state(t, (float)step);
    CHECK_EQ_INT(c->state.count, N_STATE);
    for (int i = 0; i < N_STATE; i++) {
        const RtTensor *g = rt_safetensors_find(&c->state, t[i].name);
        CHECK(g != NULL);
        if (!g) continue;
        CHECK(ir_type_equal(&g->type, &t[i].type));
        CHECK(g->nbytes == t[i].nbytes && memcmp(g->data, t[i].data, t[i].nbytes) == 0);
    }
}

static void test_roundtrip(void) {
    char *run = tpath("rt/nested/run%s", "");
    CHECK(save(run, 7, 0));
    size_t len;
    char *latest = read_text(run, "latest", &len);
    CHECK_STR(latest, "ckpt-00000007\n");
    free(latest);

    RtCkpt c;
    LlmcErr err = {0};
    CHECK(rt_ckpt_load(run, &c, &err));
    if (err.set) fprintf(stderr, "%s\n", err.msg);
    check_loaded(&c, 7);
    LlmcBuf want = {0};
    llmc_buf_printf(&want, "%s/ckpt-00000007", run);
    CHECK_STR(c.dir, want.data);
    CHECK(rt_ckpt_check_model(&c, "0123456789abcdef", &err));
    rt_ckpt_free(&c);

    /* the folder itself, with a trailing slash */
    llmc_buf_putc(&want, '/');
    CHECK(rt_ckpt_load(want.data, &c, &err));
    if (err.set) fprintf(stderr, "%s\n", err.msg);
    check_loaded(&c, 7);
    want.data[--want.len] = 0;
    CHECK_STR(c.dir, want.data);
    rt_ckpt_free(&c);
    rt_ckpt_free(&c); /* twice is fine: it zeroes */
    llmc_buf_free(&want);
    free(run);
}

static void test_recipe_diff(void) {
    RtKv was_kv[] = {{"lr", "0.001"}, {"schedule", "\"cosine\""}, {"batch", "64"}, {"seed", "42"}};
    RtCkptMeta was = {0};
    was.recipe = was_kv;
    was.n_recipe = 4;
    RtKv now[] = {{"seed", "42.0"}, {"lr", "0.002"}, {"schedule", "cosine"}, {"warmup", "100"}};
    LlmcBuf msg = {0};
    CHECK_EQ_INT(rt_ckpt_recipe_diff(&was, now, 4, &msg), 3);
    CHECK_STR(msg.data, "lr: 0.001 -> 0.002\nbatch: 64 -> (not set)\nwarmup: (not set) -> 100\n");
    llmc_buf_free(&msg);
    /* "1e-3" is 0.001; 42.0 is not the integer 42 in JSON */
    RtKv same[] = {{"lr", "1e-3"}, {"schedule", "\"cosine\""}, {"batch", "64"}, {"seed", "42"}};
    CHECK_EQ_INT(rt_ckpt_recipe_diff(&was, same, 4, NULL), 0);
}

/* --- latest, keep, replace, leftovers ------------------------------------------------ */

static void test_latest_keep(void) {
    char *run = tpath("keep%s", "");
    for (int s = 1; s <= 5; s++) CHECK(save(run, s, 3));
    CHECK_EQ_INT(load_step(run), 5);
    CHECK(!path_exists(run, "ckpt-00000001") && !path_exists(run, "ckpt-00000002"));
    CHECK(path_exists(run, "ckpt-00000003") && path_exists(run, "ckpt-00000004"));
    CHECK(path_exists(run, "ckpt-00000005"));
    CHECK_EQ_INT(count_prefix(run, "."), 2); /* "." and "..": no temporaries left */

    /* an older step written after newer ones: it stays (just written) and becomes latest */
    CHECK(save(run, 2, 2));
    CHECK_EQ_INT(load_step(run), 2);
    CHECK(path_exists(run, "ckpt-00000002") && path_exists(run, "ckpt-00000005"));
    CHECK(!path_exists(run, "ckpt-00000003") && !path_exists(run, "ckpt-00000004"));

    /* keep = 0 keeps everything */
    CHECK(save(run, 9, 0));
    CHECK(path_exists(run, "ckpt-00000002") && path_exists(run, "ckpt-00000005"));

    /* the same step again replaces the folder, contents and all */
    RtTensor t[N_STATE];
    make_state(t, 100.0f);
    RtCkptMeta m = make_meta(9);
    m.data_pos = 12345;
    LlmcErr err = {0};
    CHECK(rt_ckpt_save(run, &m, t, N_STATE, 0, &err));
    RtCkpt c;
    CHECK(rt_ckpt_load(run, &c, &err));
    if (err.set) fprintf(stderr, "%s\n", err.msg);
    CHECK(c.meta.data_pos == 12345);
    const RtTensor *w = rt_safetensors_find(&c.state, "layers.0.attn.wq");
    CHECK(w && memcmp(w->data, w_data, sizeof w_data) == 0);
    rt_ckpt_free(&c);
    CHECK_EQ_INT(count_prefix(run, ".tmp"), 0);
    CHECK_EQ_INT(count_prefix(run, "ckpt-"), 3);

    /* steps past 8 digits */
    CHECK(save(run, 123456789, 0));
    CHECK_EQ_INT(load_step(run), 123456789);
    CHECK(path_exists(run, "ckpt-123456789"));
    free(run);
}

static void test_leftover_tmp(void) {
    char *run = tpath("left%s", "");
    CHECK(save(run, 1, 0));
    /* a killed save of step 2: a partial folder under the temporary name */
    char *tmp = tpath("left/.tmp-ckpt-00000002-%s", "99999");
    CHECK(mkdir(tmp, 0755) == 0);
    write_text(tmp, "manifest.json", "{\"format\": \"llmc-chec", 21);
    char *junk = tpath("left/.latest.tmp-%s", "99999");
    write_text(junk, "", "", 0);
    CHECK_EQ_INT(load_step(run), 1);
    /* the next successful save cleans both */
    CHECK(save(run, 2, 0));
    CHECK(!path_exists(tmp, ""));
    CHECK(!path_exists(junk, ""));
    CHECK_EQ_INT(load_step(run), 2);
    free(tmp);
    free(junk);
    free(run);
}

/* --- bad input ----------------------------------------------------------------------- */

/* Recomputes manifest_checksum after an edit, as a careful forger would. */
static void reseal(char *text, size_t len) {
    const char *key = "\"manifest_checksum\"";
    char *at = NULL;
    for (char *p = strstr(text, key); p; p = strstr(p + 1, key)) at = p;
    if (!at) return;
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)rt_checksum(text, (size_t)(at - text)));
    char *q = strchr(at + strlen(key), '"');
    if (q && q + 17 <= text + len) memcpy(q + 1, hex, 16);
}

/* Replaces the first `from` in the text by `to`, optionally resealing, and writes it. */
static void edit_manifest(const char *dir, const char *orig, const char *from, const char *to, bool seal) {
    const char *p = strstr(orig, from);
    CHECK(p != NULL);
    if (!p) return;
    LlmcBuf b = {0};
    llmc_buf_put(&b, orig, (size_t)(p - orig));
    llmc_buf_puts(&b, to);
    llmc_buf_puts(&b, p + strlen(from));
    if (seal) reseal(b.data, b.len);
    write_text(dir, "manifest.json", b.data, b.len);
    llmc_buf_free(&b);
}

static void expect_fail(const char *path, const char *want, int line) {
    RtCkpt c;
    LlmcErr err = {0};
    bool ok = rt_ckpt_load(path, &c, &err);
    CHECK(!ok);
    CHECK(c.dir == NULL && c.state.count == 0 && c.meta.recipe == NULL);
    if (ok) rt_ckpt_free(&c);
    if (!strstr(err.msg, want)) {
        test_failures++;
        fprintf(stderr, "line %d: expected the message to contain\n  %s\ngot\n  %s\n", line, want, err.msg);
    }
}
#define EXPECT_FAIL(path, want) expect_fail(path, want, __LINE__)

static void test_bad_input(void) {
    char *run = tpath("bad%s", ""), *dir = tpath("bad/ckpt-%s", "00000003");
    CHECK(save(run, 3, 0));
    size_t mlen, slen;
    char *man = read_text(dir, "manifest.json", &mlen), *state = read_text(dir, "state.safetensors", &slen);
    LlmcBuf b = {0}, m = {0};
    llmc_buf_printf(&m, "%s/manifest.json", dir);
    const char *mp = m.data;
#define MSG(...) (b.len = 0, llmc_buf_printf(&b, __VA_ARGS__), b.data)

    /* nothing there */
    char *nope = tpath("nope%s", "");
    EXPECT_FAIL(nope, MSG("%s: no such checkpoint or run directory", nope));
    free(nope);
    EXPECT_FAIL(tmpdir, MSG("%s: neither a checkpoint folder (no manifest.json) nor a run directory (no latest file)",
                            tmpdir));
    /* the manifest */
    unlink(mp);
    EXPECT_FAIL(run, MSG("%s: cannot open: %s", mp, strerror(ENOENT)));
    EXPECT_FAIL(dir, MSG("%s: cannot open: %s", mp, strerror(ENOENT)));
    write_text(dir, "manifest.json", man, mlen / 2);
    EXPECT_FAIL(run, MSG("%s:", mp));
    write_text(dir, "manifest.json", "", 0);
    EXPECT_FAIL(run, MSG("%s:1:1:", mp));
    write_text(dir, "manifest.json", "[1, 2]", 6);
    EXPECT_FAIL(run, MSG("%s: a manifest is a JSON object, not an array", mp));
    edit_manifest(dir, man, "\"step\": 3", "\"step\": 4", false);
    EXPECT_FAIL(run, MSG("%s: manifest checksum mismatch (the manifest says ", mp));
    edit_manifest(dir, man, "0123456789abcdef", "0123456789abcdeF", false);
    EXPECT_FAIL(run, "manifest checksum mismatch");
    edit_manifest(dir, man, "llmc-checkpoint", "safetensors", false);
    EXPECT_FAIL(run, MSG("%s: not an llmc checkpoint manifest (format is \"safetensors\", expected \"llmc-checkpoint\")",
                         mp));
    edit_manifest(dir, man, "\"format\": \"llmc-checkpoint\",", "", false);
    EXPECT_FAIL(run, MSG("%s: missing field 'format'", mp));
    edit_manifest(dir, man, "\"version\": 1", "\"version\": 2", false);
    EXPECT_FAIL(run, MSG("%s: checkpoint version 2 is not supported (this llmc reads version 1)", mp));
    edit_manifest(dir, man, "\"version\": 1", "\"version\": \"1\"", false);
    EXPECT_FAIL(run, MSG("%s: field 'version' must be a number, not \"1\"", mp));
    edit_manifest(dir, man, "\"manifest_checksum\"", "\"checksum\"", false);
    EXPECT_FAIL(run, MSG("%s: 'manifest_checksum' must be the manifest's last field", mp));
    edit_manifest(dir, man, "\"manifest_checksum\": \"", "\"manifest_checksum\": \"x", false);
    EXPECT_FAIL(run, MSG("%s: field 'manifest_checksum' is \"x", mp));
    /* fields, behind a valid checksum */
    edit_manifest(dir, man, "\"step\": 3", "\"step\": \"3\"", true);
    EXPECT_FAIL(run, MSG("%s: field 'step' must be a number, not \"3\"", mp));
    edit_manifest(dir, man, "\"step\": 3", "\"step\": -3", true);
    EXPECT_FAIL(run, MSG("%s: field 'step' is -3; it must be an integer in [0, 9223372036854775807]", mp));
    edit_manifest(dir, man, "\"step\": 3", "\"step\": 4", true);
    EXPECT_FAIL(run, MSG("%s: the manifest is of step 4, but the folder is named ckpt-00000003", mp));
    edit_manifest(dir, man, "\"seed\": \"18446744073709551615\"", "\"seed\": \"18446744073709551616\"", true);
    EXPECT_FAIL(run, MSG("%s: field 'seed' is \"18446744073709551616\"; it must be a decimal string", mp));
    edit_manifest(dir, man, "\"data_pos\": \"", "\"data_pos\": \"0", true);
    EXPECT_FAIL(run, MSG("%s: field 'data_pos' is \"018446744073709551614\"", mp));
    edit_manifest(dir, man, "\"model_hash\": \"0123456789abcdef\"", "\"model_hash\": \"0123\"", true);
    EXPECT_FAIL(run, MSG("%s: field 'model_hash' is \"0123\"; it must be 16 lower-case hex digits", mp));
    edit_manifest(dir, man, "\"world_size\": 4", "\"world_size\": 0", true);
    EXPECT_FAIL(run, MSG("%s: field 'world_size' is 0; it must be an integer in [1, 4294967295]", mp));
    edit_manifest(dir, man, "\"lr\": 0.001", "\"lr\": [0.001]", true);
    EXPECT_FAIL(run, MSG("%s: recipe 'lr' must be a number or a string, not an array", mp));
    edit_manifest(dir, man, "\"recipe\": {", "\"tokens\": 5, \"recipe\": {", true);
    EXPECT_FAIL(run, MSG("%s: unknown field 'tokens'", mp));
    edit_manifest(dir, man, "\"files\": {", "\"files\": {\"x.bin\": {}, ", true);
    EXPECT_FAIL(run, MSG("%s: files: unknown file 'x.bin'", mp));
    edit_manifest(dir, man, "\"bytes\"", "\"size\"", true);
    EXPECT_FAIL(run, MSG("%s: files.state.safetensors: unknown field 'size'", mp));
    write_text(dir, "manifest.json", man, mlen);
    CHECK_EQ_INT(load_step(run), 3);

    /* the state file */
    char *sp = tpath("bad/ckpt-00000003/state.safetensors%s", "");
    write_text(dir, "state.safetensors", state, slen - 1);
    EXPECT_FAIL(run, MSG("%s: %zu bytes, but the manifest says %zu (truncated?)", sp, slen - 1, slen));
    LlmcBuf longer = {0};
    llmc_buf_put(&longer, state, slen);
    llmc_buf_putc(&longer, 0);
    write_text(dir, "state.safetensors", longer.data, longer.len);
    EXPECT_FAIL(run, MSG("%s: %zu bytes, but the manifest says %zu (appended to?)", sp, slen + 1, slen));
    llmc_buf_free(&longer);
    state[slen - 3] ^= 0x10;
    write_text(dir, "state.safetensors", state, slen);
    EXPECT_FAIL(run, MSG("%s: checksum mismatch (the manifest says ", sp));
    state[slen - 3] ^= 0x10;
    unlink(sp);
    EXPECT_FAIL(run, MSG("%s: cannot open: %s", sp, strerror(ENOENT)));
    /* a truncated safetensors file that the manifest vouches for: the reader catches it */
    write_text(dir, "state.safetensors", state, 20);
    {
        char hex[17], sz[32];
        snprintf(hex, sizeof hex, "%016llx", (unsigned long long)rt_checksum(state, 20));
        snprintf(sz, sizeof sz, "\"bytes\": %zu", slen);
        LlmcBuf e = {0};
        const char *p = strstr(man, sz), *q = strstr(man, "\"checksum\": \"");
        CHECK(p && q && p < q);
        if (p && q) {
            llmc_buf_put(&e, man, (size_t)(p - man));
            llmc_buf_puts(&e, "\"bytes\": 20");
            llmc_buf_put(&e, p + strlen(sz), (size_t)(q - p - strlen(sz)));
            llmc_buf_printf(&e, "\"checksum\": \"%s", hex);
            llmc_buf_puts(&e, q + strlen("\"checksum\": \"") + 16);
            reseal(e.data, e.len);
            write_text(dir, "manifest.json", e.data, e.len);
        }
        llmc_buf_free(&e);
        EXPECT_FAIL(run, MSG("%s: header length ", sp));
    }
    write_text(dir, "manifest.json", man, mlen);
    write_text(dir, "state.safetensors", state, slen);
    CHECK_EQ_INT(load_step(run), 3);

    /* latest */
    char *lp = tpath("bad/latest%s", "");
    write_text(run, "latest", "ckpt-00000099\n", 14);
    EXPECT_FAIL(run, MSG("%s: points at ckpt-00000099, which does not exist", lp));
    write_text(run, "latest", "../../etc\n", 10);
    EXPECT_FAIL(run, MSG("%s: does not name a checkpoint folder (it should hold ckpt-NNNNNNNN)", lp));
    write_text(run, "latest", "ckpt-00000003\nckpt-00000003\n", 28);
    EXPECT_FAIL(run, "does not name a checkpoint folder");
    write_text(run, "latest", "", 0);
    EXPECT_FAIL(run, "does not name a checkpoint folder");
    write_text(run, "latest", "ckpt-00000003", 13); /* no newline: fine */
    CHECK_EQ_INT(load_step(run), 3);

    /* another model */
    RtCkpt c;
    LlmcErr err = {0};
    CHECK(rt_ckpt_load(run, &c, &err));
    CHECK(!rt_ckpt_check_model(&c, "fedcba9876543210", &err));
    CHECK_STR(err.msg, MSG("%s: checkpoint is of another model (hash 0123456789abcdef, this model fedcba9876543210)",
                           dir));
    rt_ckpt_free(&c);
#undef MSG
    free(lp);
    free(sp);
    free(man);
    free(state);
    llmc_buf_free(&b);
    llmc_buf_free(&m);
    free(run);
    free(dir);
}

static void expect_save_fail(const char *run, const RtCkptMeta *m, const char *want, int line) {
    RtTensor t[N_STATE];
    make_state(t, 0.0f);
    LlmcErr err = {0};
    CHECK(!rt_ckpt_save(run, m, t, N_STATE, 0, &err));
    if (!strstr(err.msg, want)) {
        test_failures++;
        fprintf(stderr, "line %d: expected the message to contain\n  %s\ngot\n  %s\n", line, want, err.msg);
    }
}

static void test_save_errors(void) {
    char *run = tpath("serr%s", "");
    RtCkptMeta m = make_meta(1);
    memcpy(m.model_hash, "0123456789ABCDEF", 17);
    expect_save_fail(run, &m, "model hash '0123456789ABCDEF' is not 16 lower-case hex digits", __LINE__);
    m = make_meta(-1);
    expect_save_fail(run, &m, "cannot save a checkpoint of step -1", __LINE__);
    m = make_meta(1);
    RtKv dup[] = {{"lr", "1"}, {"lr", "2"}};
    m.recipe = dup;
    m.n_recipe = 2;
    expect_save_fail(run, &m, "recipe key 'lr' appears twice", __LINE__);
    m = make_meta(1);
    m.world_size = 0;
    expect_save_fail(run, &m, "world_size must be at least 1", __LINE__);
    CHECK(!path_exists(run, "")); /* nothing was created */

    /* RUN_DIR under a regular file */
    char *file = tpath("serr_file%s", "");
    write_text(file, "", "x", 1);
    char *under = tpath("serr_file/run%s", "");
    m = make_meta(1);
    LlmcBuf want = {0};
    llmc_buf_printf(&want, "%s: cannot create directory: ", file);
    expect_save_fail(under, &m, want.data, __LINE__);
    llmc_buf_free(&want);

    /* a read-only run directory (root ignores permissions: skip) */
    if (geteuid() != 0) {
        CHECK(save(run, 1, 0));
        chmod(run, 0555);
        m = make_meta(2);
        expect_save_fail(run, &m, "/.tmp-ckpt-00000002-", __LINE__);
        chmod(run, 0755);
        CHECK_EQ_INT(load_step(run), 1);
    }
    free(file);
    free(under);
    free(run);
}

/* --- mutation: the manifest reader never crashes, never accepts a changed meaning ------ */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t next_rand(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void test_mutations(void) {
    char *run = tpath("mut%s", ""), *dir = tpath("mut/ckpt-%s", "00000005");
    CHECK(save(run, 5, 0));
    size_t mlen;
    char *man = read_text(dir, "manifest.json", &mlen);
    unsigned char *buf = llmc_xmalloc(mlen + 16);
    int accepted = 0, rejected = 0;
    for (int iter = 0; iter < 1000; iter++) {
        memcpy(buf, man, mlen);
        size_t len = mlen;
        int edits = 1 + (int)(next_rand() % 3);
        for (int k = 0; k < edits && len > 0; k++) {
            uint64_t r = next_rand();
            size_t pos = (size_t)(r % len);
            switch ((r >> 32) % 5) {
            case 0: buf[pos] ^= (unsigned char)(1u << ((r >> 40) % 8)); break; /* bit flip */
            case 1: buf[pos] = (unsigned char)(r >> 48); break;               /* random byte */
            case 2: len = pos; break;                                          /* truncate */
            case 3:                                                           /* delete a byte */
                memmove(buf + pos, buf + pos + 1, len - pos - 1);
                len--;
                break;
            case 4: /* insert a byte */
                memmove(buf + pos + 1, buf + pos, len - pos);
                buf[pos] = (unsigned char)(r >> 48);
                len++;
                break;
            }
        }
        write_text(dir, "manifest.json", (const char *)buf, len);
        RtCkpt c;
        LlmcErr err = {0};
        if (rt_ckpt_load(run, &c, &err)) {
            accepted++;
            check_loaded(&c, 5); /* harmless: only whitespace after the checksum changed */
            rt_ckpt_free(&c);
        } else {
            rejected++;
            CHECK(err.set && strncmp(err.msg, dir, strlen(dir)) == 0);
        }
    }
    fprintf(stderr, "mutations: %d accepted (harmless), %d rejected\n", accepted, rejected);
    CHECK(rejected > 900);
    free(buf);
    free(man);
    free(run);
    free(dir);
}

/* --- faults in a child process ------------------------------------------------------- */

/* A disk that fills up: RLIMIT_FSIZE makes write() fail with EFBIG past the limit. */
static void test_disk_full(void) {
    char *run = tpath("full%s", "");
    CHECK(save(run, 1, 2));
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {64 << 10, 64 << 10};
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(10);
        enum { N = 1 << 18 };
        float *big = calloc(N, sizeof *big);
        int64_t d[] = {N};
        RtTensor t = {"big", ir_type_make(IR_DTYPE_F32, 1, d), big, N * sizeof(float)};
        RtCkptMeta m = make_meta(2);
        LlmcErr err = {0};
        if (rt_ckpt_save(run, &m, &t, 1, 2, &err)) _exit(11);
        LlmcBuf want = {0};
        llmc_buf_printf(&want, "/state.safetensors: write error: %s", strerror(EFBIG));
        if (!strstr(err.msg, want.data) || !strstr(err.msg, run)) {
            fprintf(stderr, "child: unexpected message: %s\n", err.msg);
            _exit(12);
        }
        if (count_prefix(run, ".tmp") != 0) _exit(13); /* the temporary folder is gone */
        _exit(0);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status)) fprintf(stderr, "disk-full child: status %d\n", status);
    CHECK_EQ_INT(load_step(run), 1);
    char *latest = read_text(run, "latest", NULL);
    CHECK_STR(latest, "ckpt-00000001\n");
    free(latest);
    CHECK(!path_exists(run, "ckpt-00000002"));
    free(run);
}

/* A save killed by SIGKILL: the child saves in a loop; the parent kills it while a
 * temporary folder exists, i.e. in the middle of writing a checkpoint. */
static void test_killed(void) {
    char *run = tpath("kill%s", "");
    CHECK(save(run, 1, 3));
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        enum { N = 1 << 20 };
        float *big = calloc(N, sizeof *big);
        int64_t d[] = {N};
        RtTensor t = {"big", ir_type_make(IR_DTYPE_F32, 1, d), big, N * sizeof(float)};
        for (int64_t s = 2;; s++) {
            big[s % N] = (float)s;
            RtCkptMeta m = make_meta(s);
            LlmcErr err = {0};
            if (!rt_ckpt_save(run, &m, &t, 1, 3, &err)) _exit(1);
        }
    }
    struct timespec nap = {0, 50000}, t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bool seen = false;
    double waited = 0;
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        double dt = waited = (double)(now.tv_sec - t0.tv_sec) + 1e-9 * (double)(now.tv_nsec - t0.tv_nsec);
        /* wait for the second save to be in progress, so one finished save precedes it */
        if (count_prefix(run, ".tmp-ckpt-") > 0 && count_prefix(run, "ckpt-") >= 2) {
            seen = true;
            break;
        }
        if (dt > 3.0) break;
        nanosleep(&nap, NULL);
    }
    kill(pid, SIGKILL);
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    CHECK(seen);

    /* latest names a complete checkpoint, and so does every ckpt-* folder */
    char *latest = read_text(run, "latest", NULL);
    int64_t at = load_step(run);
    CHECK(at >= 1);
    char name[32];
    snprintf(name, sizeof name, "ckpt-%08lld\n", (long long)at);
    CHECK_STR(latest, name);
    free(latest);
    DIR *d = opendir(run);
    struct dirent *e;
    int folders = 0;
    while (d && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "ckpt-", 5) != 0) continue;
        LlmcBuf p = {0};
        llmc_buf_printf(&p, "%s/%s", run, e->d_name);
        CHECK(load_step(p.data) >= 1);
        llmc_buf_free(&p);
        folders++;
    }
    if (d) closedir(d);
    CHECK(folders >= 1);
    fprintf(stderr, "killed after %.3f s: latest at step %lld, %d checkpoint folders, %d temporaries left\n",
            waited, (long long)at, folders, count_prefix(run, ".tmp-ckpt-"));
    /* the next save cleans what the killed one left */
    CHECK(save(run, 1000, 3));
    CHECK_EQ_INT(count_prefix(run, ".tmp"), 0);
    CHECK_EQ_INT(count_prefix(run, ".latest"), 0);
    CHECK_EQ_INT(load_step(run), 1000);
    free(run);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/llmc_ckpt_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
#define T(f) {#f, f}
    static const struct {
        const char *name;
        void (*fn)(void);
    } tests[] = {T(test_roundtrip),  T(test_recipe_diff), T(test_latest_keep), T(test_leftover_tmp),
                 T(test_bad_input),  T(test_save_errors), T(test_mutations),   T(test_disk_full),
                 T(test_killed)};
#undef T
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        tests[i].fn();
        clock_gettime(CLOCK_MONOTONIC, &b);
        fprintf(stderr, "%s: %.3f s\n", tests[i].name,
                (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec));
    }
    rm_rf(tmpdir);
    TEST_MAIN();
}
