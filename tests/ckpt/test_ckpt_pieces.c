/* tests/ckpt/test_ckpt_pieces.c — checkpoints saved in pieces (rt_ckpt_save_pieces) and
 * the safetensors layout they rely on (rt_safetensors_layout).
 *
 * Without arguments (label unit, one rank: rt_comm_single): the layout equals the
 * serializer's header and data offsets; pieces cut at odd byte boundaries and written in
 * several orders give a checkpoint byte-identical (state.safetensors, manifest.json,
 * latest) to rt_ckpt_save of the whole tensors, and it loads; empty tensors and an empty
 * state; `keep` works as for rt_ckpt_save; a gap, an overlap, a piece outside its tensor,
 * a bad spec and a bad meta are errors naming the rank, and after each the previous
 * checkpoint, `latest` and the run directory are exactly as before (no temporary left);
 * the same after a disk-full (RLIMIT_FSIZE, in a forked child).
 *
 * With --world (label mpi, under mpirun -np 3): each rank writes a third of every tensor;
 * rank 0 compares the result with rt_ckpt_save's in another directory; a gap left by rank
 * 2 and a bad piece on rank 1 fail on every rank with the same message, naming the rank.
 */
#include "runtime.h"
#include "test.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[64];

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

static char *tpath(const char *name) {
    LlmcBuf b = {0};
    llmc_buf_printf(&b, "%s/%s", tmpdir, name);
    return b.data;
}

/* dir/name's bytes (NULL if it cannot be read). */
static char *slurp(const char *dir, const char *name, size_t *len) {
    LlmcBuf p = {0};
    llmc_buf_printf(&p, "%s/%s", dir, name);
    char *data = NULL;
    LlmcErr err = {0};
    if (!llmc_file_read(p.data, &data, len, &err)) data = NULL;
    llmc_buf_free(&p);
    return data;
}

static bool same_file(const char *a, const char *b, const char *name) {
    size_t la = 0, lb = 0;
    char *x = slurp(a, name, &la), *y = slurp(b, name, &lb);
    bool same = x && y && la == lb && memcmp(x, y, la) == 0;
    if (!same) fprintf(stderr, "%s/%s and %s/%s differ\n", a, name, b, name);
    free(x);
    free(y);
    return same;
}

/* The names in dir, sorted and joined by spaces: a snapshot of a run directory. */
static char *listing(const char *dir) {
    DIR *d = opendir(dir);
    char *names[64];
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL && n < 64)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) names[n++] = llmc_xstrdup(e->d_name);
    if (d) closedir(d);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    LlmcBuf b = {0};
    llmc_buf_puts(&b, "");
    for (int i = 0; i < n; i++) {
        llmc_buf_printf(&b, "%s ", names[i]);
        free(names[i]);
    }
    return b.data;
}

/* --- the state ------------------------------------------------------------------------ */

static float w_data[12];
static int32_t ids_data[5];
static uint16_t bf_data[3];
static double step_data;
static double m_data[7];
static float empty_data[1];

/* Mixed dtypes in an order the layout's sort changes (BF16, F32, I32, F64 first...), and
 * a tensor with no elements. */
static void make_state(RtTensor *t, RtCkptSpec *specs, float salt) {
    for (int i = 0; i < 12; i++) w_data[i] = salt + (float)i * 0.1f;
    for (int i = 0; i < 5; i++) ids_data[i] = (int32_t)(i * 1000003) - 7;
    bf_data[0] = 0x3F80, bf_data[1] = 0x7FC0, bf_data[2] = 0x0001;
    step_data = 1e-300;
    for (int i = 0; i < 7; i++) m_data[i] = salt * 1e10 + i;
    int64_t d34[] = {3, 4}, d5[] = {5}, d3[] = {3}, d7[] = {7}, d20[] = {2, 0};
    t[0] = (RtTensor){"opt.v.bf", ir_type_make(IR_DTYPE_BF16, 1, d3), bf_data, sizeof bf_data};
    t[1] = (RtTensor){"layers.0.attn.wq", ir_type_make(IR_DTYPE_F32, 2, d34), w_data, sizeof w_data};
    t[2] = (RtTensor){"opt.m.ids", ir_type_make(IR_DTYPE_I32, 1, d5), ids_data, sizeof ids_data};
    t[3] = (RtTensor){"opt.step", ir_type_make(IR_DTYPE_F64, 0, NULL), &step_data, sizeof step_data};
    t[4] = (RtTensor){"opt.m.w", ir_type_make(IR_DTYPE_F64, 1, d7), m_data, sizeof m_data};
    t[5] = (RtTensor){"empty", ir_type_make(IR_DTYPE_F32, 2, d20), empty_data, 0};
    for (int i = 0; i < 6; i++) specs[i] = (RtCkptSpec){t[i].name, t[i].type};
}
#define N_STATE 6

static RtKv recipe[] = {{"lr", "0.001"}, {"schedule", "cosine"}};

static RtCkptMeta make_meta(int64_t step, uint32_t world) {
    RtCkptMeta m = {0};
    m.step = step;
    m.data_pos = 12345;
    m.seed = 42;
    memcpy(m.model_hash, "0123456789abcdef", 17);
    m.recipe = recipe;
    m.n_recipe = 2;
    m.world_size = world;
    return m;
}

/* Each tensor cut into `cuts` ranges at byte boundaries that are not element boundaries
 * (a piece is bytes, not elements). pieces must hold N_STATE * cuts. */
static uint32_t cut_pieces(const RtTensor *t, uint32_t cuts, RtCkptPiece *pieces) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < N_STATE; i++) {
        uint64_t size = t[i].nbytes;
        for (uint32_t c = 0; c < cuts; c++) {
            uint64_t a = size * c / cuts, b = size * (c + 1) / cuts;
            if (c > 0 && a > 0 && a < size) a += (a % 2) ? 0 : 1; /* off the element grid */
            if (c + 1 < cuts && b > 0 && b < size) b += (b % 2) ? 0 : 1;
            if (b > size) b = size;
            if (a > b) a = b;
            pieces[n++] = (RtCkptPiece){i, a, b - a, (const char *)t[i].data + a};
        }
    }
    return n;
}

/* --- layout --------------------------------------------------------------------------- */

static void test_layout(void) {
    RtTensor t[N_STATE];
    RtCkptSpec specs[N_STATE];
    make_state(t, specs, 1.0f);
    const char *keys[] = {"format", "note"}, *values[] = {"pt", "x"};
    for (uint32_t n_meta = 0; n_meta <= 2; n_meta += 2) {
        LlmcBuf whole = {0}, header = {0};
        LlmcErr err = {0};
        CHECK(rt_safetensors_serialize(t, N_STATE, keys, values, n_meta, "x", &whole, &err));
        /* The layout never reads data or nbytes. */
        RtTensor bare[N_STATE];
        for (int i = 0; i < N_STATE; i++) bare[i] = (RtTensor){t[i].name, t[i].type, NULL, 999};
        uint64_t off[N_STATE], data_len = 0;
        CHECK(rt_safetensors_layout(bare, N_STATE, keys, values, n_meta, "x", &header, off, &data_len, &err));
        if (err.set) fprintf(stderr, "%s\n", err.msg);
        CHECK(header.len % 8 == 0);
        CHECK_EQ_INT(header.len + data_len, whole.len);
        CHECK(header.len <= whole.len && memcmp(header.data, whole.data, header.len) == 0);
        for (int i = 0; i < N_STATE; i++) {
            CHECK(off[i] + t[i].nbytes <= data_len);
            CHECK(t[i].nbytes == 0 || memcmp(whole.data + header.len + off[i], t[i].data, t[i].nbytes) == 0);
        }
        CHECK(off[3] == 0); /* F64 first, in the given order among the F64s */
        CHECK(off[4] == 8);
        llmc_buf_free(&whole);
        llmc_buf_free(&header);
    }
    /* Rejections: the serializer's, and a type too large for a file. */
    RtTensor bad[2] = {t[0], t[1]};
    bad[1].name = "opt.v.bf";
    LlmcBuf h = {0};
    uint64_t off[2], len;
    LlmcErr err = {0};
    CHECK(!rt_safetensors_layout(bad, 2, NULL, NULL, 0, "f", &h, off, &len, &err));
    CHECK(strstr(err.msg, "duplicate tensor name 'opt.v.bf'") != NULL);
    CHECK_EQ_INT(h.len, 0);
    int64_t huge[] = {INT64_MAX / 2, 4};
    bad[1] = (RtTensor){"huge", ir_type_make(IR_DTYPE_F32, 2, huge), NULL, 0};
    llmc_err_clear(&err);
    CHECK(!rt_safetensors_layout(bad, 2, NULL, NULL, 0, "f", &h, off, &len, &err));
    CHECK(strstr(err.msg, "f: tensor 'huge'") != NULL && strstr(err.msg, "more than 2^63 bytes") != NULL);
    CHECK_EQ_INT(h.len, 0);
    llmc_buf_free(&h);
}

/* --- one rank ------------------------------------------------------------------------- */

static bool save_pieces(RtComm *c, const char *run, int64_t step, const RtCkptSpec *specs, uint32_t n_specs,
                        const RtCkptPiece *p, uint32_t n, uint32_t keep, LlmcErr *err) {
    RtCkptMeta m = make_meta(step, 2);
    return rt_ckpt_save_pieces(c, run, &m, specs, n_specs, p, n, keep, err);
}

static void test_identical(void) {
    RtComm *c = rt_comm_single();
    RtTensor t[N_STATE];
    RtCkptSpec specs[N_STATE];
    make_state(t, specs, 3.0f);
    char *ref = tpath("ref");
    RtCkptMeta m = make_meta(3, 2);
    LlmcErr err = {0};
    CHECK(rt_ckpt_save(ref, &m, t, N_STATE, 0, &err));
    if (err.set) fprintf(stderr, "%s\n", err.msg);

    RtCkptPiece p[N_STATE * 4], q[N_STATE * 4];
    for (uint32_t cuts = 1; cuts <= 4; cuts++) {
        uint32_t n = cut_pieces(t, cuts, p);
        for (int order = 0; order < 3; order++) {
            /* as cut, reversed, and a fixed shuffle */
            for (uint32_t i = 0; i < n; i++) q[i] = order == 0 ? p[i] : order == 1 ? p[n - 1 - i] : p[(i * 7) % n];
            if (order == 2 && n % 7 == 0) continue; /* i*7 % n is no permutation then */
            char name[32];
            snprintf(name, sizeof name, "pieces-%u-%d", cuts, order);
            char *run = tpath(name);
            llmc_err_clear(&err);
            CHECK(save_pieces(c, run, 3, specs, N_STATE, q, n, 0, &err));
            if (err.set) fprintf(stderr, "%s: %s\n", name, err.msg);
            LlmcBuf a = {0}, b = {0};
            llmc_buf_printf(&a, "%s/ckpt-00000003", ref);
            llmc_buf_printf(&b, "%s/ckpt-00000003", run);
            CHECK(same_file(a.data, b.data, "state.safetensors"));
            CHECK(same_file(a.data, b.data, "manifest.json"));
            CHECK(same_file(ref, run, "latest"));
            char *l = listing(run);
            CHECK_STR(l, "ckpt-00000003 latest ");
            free(l);
            RtCkpt ck;
            CHECK(rt_ckpt_load(run, &ck, &err));
            if (err.set) fprintf(stderr, "load: %s\n", err.msg);
            CHECK_EQ_INT(ck.state.count, N_STATE);
            for (int i = 0; i < N_STATE; i++) {
                const RtTensor *g = rt_safetensors_find(&ck.state, t[i].name);
                CHECK(g && g->nbytes == t[i].nbytes && (!g->nbytes || memcmp(g->data, t[i].data, g->nbytes) == 0));
            }
            rt_ckpt_free(&ck);
            llmc_buf_free(&a);
            llmc_buf_free(&b);
            free(run);
        }
    }

    /* No tensors at all. */
    char *e1 = tpath("empty-ref"), *e2 = tpath("empty-pieces");
    CHECK(rt_ckpt_save(e1, &m, NULL, 0, 0, &err));
    CHECK(save_pieces(c, e2, 3, NULL, 0, NULL, 0, 0, &err));
    if (err.set) fprintf(stderr, "%s\n", err.msg);
    CHECK(same_file(e1, e2, "ckpt-00000003/state.safetensors"));
    CHECK(same_file(e1, e2, "ckpt-00000003/manifest.json"));
    free(e1);
    free(e2);
    free(ref);
    rt_comm_free(c);
}

static void test_keep(void) {
    RtComm *c = rt_comm_single();
    RtTensor t[N_STATE];
    RtCkptSpec specs[N_STATE];
    make_state(t, specs, 1.0f);
    RtCkptPiece p[N_STATE * 2];
    uint32_t n = cut_pieces(t, 2, p);
    char *run = tpath("keep");
    LlmcErr err = {0};
    for (int64_t s = 1; s <= 4; s++) CHECK(save_pieces(c, run, s, specs, N_STATE, p, n, 2, &err));
    if (err.set) fprintf(stderr, "%s\n", err.msg);
    char *l = listing(run);
    CHECK_STR(l, "ckpt-00000003 ckpt-00000004 latest ");
    free(l);
    /* the same step again replaces it */
    CHECK(save_pieces(c, run, 4, specs, N_STATE, p, n, 2, &err));
    l = listing(run);
    CHECK_STR(l, "ckpt-00000003 ckpt-00000004 latest ");
    free(l);
    free(run);
    rt_comm_free(c);
}

/* A failing save: false, the message holds every `want`, and the run directory is as it
 * was (names, the previous checkpoint's bytes, latest). */
static void expect_fail(RtComm *c, const char *run, int64_t step, const RtCkptSpec *specs, uint32_t n_specs,
                        const RtCkptPiece *p, uint32_t n, const char *const *want, int n_want) {
    char *before = listing(run);
    size_t len0 = 0, len1 = 0;
    char *state0 = slurp(run, "ckpt-00000005/state.safetensors", &len0);
    LlmcErr err = {0};
    CHECK(!save_pieces(c, run, step, specs, n_specs, p, n, 1, &err));
    CHECK(err.set);
    for (int i = 0; i < n_want; i++)
        if (!strstr(err.msg, want[i])) {
            CHECK(!"message");
            fprintf(stderr, "  message '%s' lacks '%s'\n", err.msg, want[i]);
        }
    char *after = listing(run);
    CHECK_STR(after, before);
    char *state1 = slurp(run, "ckpt-00000005/state.safetensors", &len1);
    CHECK(state0 && state1 && len0 == len1 && memcmp(state0, state1, len0) == 0);
    char *latest = slurp(run, "latest", &len1);
    CHECK(latest && len1 == 14 && memcmp(latest, "ckpt-00000005\n", 14) == 0);
    free(latest);
    free(state0);
    free(state1);
    free(before);
    free(after);
}

static void test_errors(void) {
    RtComm *c = rt_comm_single();
    RtTensor t[N_STATE];
    RtCkptSpec specs[N_STATE];
    make_state(t, specs, 5.0f);
    char *run = tpath("errors");
    RtCkptMeta m = make_meta(5, 2);
    LlmcErr err = {0};
    CHECK(rt_ckpt_save(run, &m, t, N_STATE, 0, &err));
    RtCkptPiece p[N_STATE * 3], q[N_STATE * 3 + 1];
    uint32_t n = cut_pieces(t, 3, p);
    /* p[3..5] are tensor 1 (layers.0.attn.wq, 48 bytes): [0, 17), [17, 33), [33, 48) */
    CHECK(p[4].tensor == 1 && p[4].offset == 17 && p[4].nbytes == 16);

    for (int64_t step = 5; step <= 6; step++) { /* replacing the saved step, and a new one */
        /* a gap: the middle third of tensor 1 missing */
        memcpy(q, p, sizeof p);
        q[4] = q[n - 1];
        const char *gap[] = {"tensor 'layers.0.attn.wq': no rank writes bytes [17, 33)"};
        expect_fail(c, run, step, specs, N_STATE, q, n - 1, gap, 1);
        /* a gap at the end */
        memcpy(q, p, sizeof p);
        q[5].nbytes -= 1;
        const char *tail[] = {"no rank writes bytes [47, 48)"};
        expect_fail(c, run, step, specs, N_STATE, q, n, tail, 1);
        /* an overlap: a piece twice, and one reaching into the next */
        memcpy(q, p, sizeof p);
        q[n] = p[4];
        const char *twice[] = {"rank 0: ", "tensor 'layers.0.attn.wq': bytes [17, 33) are also written by rank 0"};
        expect_fail(c, run, step, specs, N_STATE, q, n + 1, twice, 2);
        memcpy(q, p, sizeof p);
        q[3].nbytes += 2;
        const char *into[] = {"rank 0: ", "bytes [17, 19) are also written by rank 0"};
        expect_fail(c, run, step, specs, N_STATE, q, n, into, 2);
        /* outside the tensor, another tensor, no bytes */
        memcpy(q, p, sizeof p);
        q[5].nbytes += 1;
        const char *outside[] = {"rank 0: ", "piece 5: 16 bytes at offset 33 lie outside tensor 'layers.0.attn.wq' (48 bytes)"};
        expect_fail(c, run, step, specs, N_STATE, q, n, outside, 2);
        memcpy(q, p, sizeof p);
        q[2].offset = UINT64_MAX;
        const char *wrap[] = {"rank 0: ", "piece 2: 1 bytes at offset 18446744073709551615 lie outside"};
        expect_fail(c, run, step, specs, N_STATE, q, n, wrap, 2);
        memcpy(q, p, sizeof p);
        q[0].tensor = N_STATE;
        const char *index[] = {"rank 0: ", "piece 0 names tensor 6, but there are 6 specs"};
        expect_fail(c, run, step, specs, N_STATE, q, n, index, 2);
        memcpy(q, p, sizeof p);
        q[1].bytes = NULL;
        const char *nobytes[] = {"rank 0: ", "piece 1 of tensor 'opt.v.bf' has no bytes"};
        expect_fail(c, run, step, specs, N_STATE, q, n, nobytes, 2);
    }
    /* bad specs */
    RtCkptSpec s2[N_STATE];
    memcpy(s2, specs, sizeof specs);
    s2[2].name = "opt.v.bf";
    const char *dup[] = {"rank 0: ", "duplicate tensor name 'opt.v.bf'"};
    expect_fail(c, run, 6, s2, N_STATE, p, n, dup, 2);
    memcpy(s2, specs, sizeof specs);
    s2[1].type.dtype = IR_DTYPE_INVALID;
    const char *dtype[] = {"rank 0: ", "tensor 'layers.0.attn.wq': dtype"};
    expect_fail(c, run, 6, s2, N_STATE, p, n, dtype, 2);
    /* bad meta */
    RtCkptMeta bad = make_meta(6, 2);
    bad.model_hash[3] = 'X';
    LlmcErr e2 = {0};
    char *before = listing(run);
    CHECK(!rt_ckpt_save_pieces(c, run, &bad, specs, N_STATE, p, n, 0, &e2));
    CHECK(strncmp(e2.msg, "rank 0: ", 8) == 0 && strstr(e2.msg, "is not 16 lower-case hex digits"));
    char *after = listing(run);
    CHECK_STR(after, before);
    free(before);
    free(after);
    /* and the run still saves and loads */
    CHECK(save_pieces(c, run, 6, specs, N_STATE, p, n, 0, &err));
    RtCkpt ck;
    CHECK(rt_ckpt_load(run, &ck, &err));
    CHECK_EQ_INT(ck.meta.step, 6);
    rt_ckpt_free(&ck);
    free(run);
    rt_comm_free(c);
}

/* The state file cannot reach its size (RLIMIT_FSIZE in a child): the error names the
 * rank and the file, and the run directory is as it was. */
static void test_disk_full(void) {
    RtTensor t[N_STATE];
    RtCkptSpec specs[N_STATE];
    make_state(t, specs, 5.0f);
    char *run = tpath("full");
    RtCkptMeta m = make_meta(5, 2);
    LlmcErr err = {0};
    CHECK(rt_ckpt_save(run, &m, t, N_STATE, 0, &err));
    char *before = listing(run);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        enum { N = 1 << 16 };
        struct rlimit rl = {N, N};
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(10);
        float *big = calloc(N, sizeof *big);
        int64_t d[] = {N};
        RtCkptSpec spec = {"big", ir_type_make(IR_DTYPE_F32, 1, d)};
        RtCkptPiece piece = {0, 0, N * sizeof(float), big};
        RtComm *one = rt_comm_single();
        if (save_pieces(one, run, 6, &spec, 1, &piece, 1, 0, &err)) _exit(11);
        LlmcBuf want = {0};
        llmc_buf_printf(&want, "/state.safetensors: cannot size to ");
        if (strncmp(err.msg, "rank 0: ", 8) != 0 || !strstr(err.msg, want.data) || !strstr(err.msg, strerror(EFBIG))) {
            fprintf(stderr, "child: unexpected message: %s\n", err.msg);
            _exit(12);
        }
        _exit(0);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char *after = listing(run);
    CHECK_STR(after, before);
    free(before);
    free(after);
    free(run);
}

/* --- a world (mpirun -np 3) ------------------------------------------------------------ */

static void test_world(void) {
    LlmcErr err = {0};
    RtComm *c = rt_comm_world(&err);
    if (!c) {
        fprintf(stderr, "%s\n", err.msg);
        CHECK(c != NULL);
        return;
    }
    uint32_t rank = rt_comm_rank(c), ranks = rt_comm_size(c);
    CHECK(ranks >= 2);
    /* one directory for all ranks: rank 0's mkdtemp */
    if (rank == 0 && !mkdtemp(tmpdir)) tmpdir[0] = 0;
    rt_comm_broadcast(c, tmpdir, sizeof tmpdir, 0);
    CHECK(tmpdir[0] != 0);
    RtTensor t[N_STATE];
    RtCkptSpec specs[N_STATE];
    make_state(t, specs, 9.0f);
    RtCkptMeta m = make_meta(9, ranks);
    char *ref = tpath("ref"), *run = tpath("run");
    if (rank == 0) CHECK(rt_ckpt_save(ref, &m, t, N_STATE, 0, &err));

    /* rank r writes the r-th third (by bytes) of every tensor */
    RtCkptPiece p[N_STATE];
    uint32_t n = 0;
    for (uint32_t i = 0; i < N_STATE; i++) {
        uint64_t a = t[i].nbytes * rank / ranks, b = t[i].nbytes * (rank + 1) / ranks;
        p[n++] = (RtCkptPiece){i, a, b - a, (const char *)t[i].data + a};
    }
    CHECK(rt_ckpt_save_pieces(c, run, &m, specs, N_STATE, p, n, 0, &err));
    if (err.set) fprintf(stderr, "rank %u: %s\n", rank, err.msg);
    rt_comm_barrier(c);
    if (rank == 0) {
        CHECK(same_file(ref, run, "ckpt-00000009/state.safetensors"));
        CHECK(same_file(ref, run, "ckpt-00000009/manifest.json"));
        CHECK(same_file(ref, run, "latest"));
        RtCkpt ck;
        CHECK(rt_ckpt_load(run, &ck, &err));
        rt_ckpt_free(&ck);
    }

    /* the last rank leaves its piece of tensor 1 out: a gap, on every rank */
    LlmcErr e1 = {0};
    m.step = 10;
    uint32_t n1 = n;
    RtCkptPiece q[N_STATE];
    memcpy(q, p, sizeof p);
    if (rank == ranks - 1) q[1] = q[--n1];
    CHECK(!rt_ckpt_save_pieces(c, run, &m, specs, N_STATE, q, n1, 0, &e1));
    CHECK(strstr(e1.msg, "tensor 'layers.0.attn.wq': no rank writes bytes [") != NULL);
    /* rank 1 names a tensor that does not exist */
    LlmcErr e2 = {0};
    memcpy(q, p, sizeof p);
    if (rank == 1) q[0].tensor = 77;
    CHECK(!rt_ckpt_save_pieces(c, run, &m, specs, N_STATE, q, n, 0, &e2));
    CHECK(strncmp(e2.msg, "rank 1: ", 8) == 0 && strstr(e2.msg, "piece 0 names tensor 77"));
    /* rank 2 overlaps rank 1 */
    LlmcErr e3 = {0};
    memcpy(q, p, sizeof p);
    if (rank == 2) q[1].offset -= 1, q[1].nbytes += 1, q[1].bytes = (const char *)q[1].bytes - 1;
    CHECK(!rt_ckpt_save_pieces(c, run, &m, specs, N_STATE, q, n, 0, &e3));
    CHECK(strncmp(e3.msg, "rank 2: ", 8) == 0 && strstr(e3.msg, "also written by rank 1"));
    if (rank == 0) fprintf(stderr, "messages:\n  %s\n  %s\n  %s\n", e1.msg, e2.msg, e3.msg);
    rt_comm_barrier(c);
    if (rank == 0) {
        char *l = listing(run);
        CHECK_STR(l, "ckpt-00000009 latest ");
        free(l);
        rm_rf(tmpdir);
    }
    free(ref);
    free(run);
    rt_comm_free(c);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--world") == 0) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/llmc_ckptw_XXXXXX");
        test_world();
        TEST_MAIN();
    }
    snprintf(tmpdir, sizeof tmpdir, "/tmp/llmc_ckptp_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_layout();
    test_identical();
    test_keep();
    test_errors();
    test_disk_full();
    rm_rf(tmpdir);
    TEST_MAIN();
}
