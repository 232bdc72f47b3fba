/* runtime/data.c — the data loader: a directory of token shards as training and
 * validation batches, in an order that depends on (seed, global micro-batch index) only.
 *
 * Open: every *.shard file of the directory (dot-files skipped; byte order of the names,
 * so NAME_00000.shard, NAME_00001.shard, ... read in sequence) is read and validated whole
 * (runtime/shards.c), checked against the model's vocab, and appended to one token
 * array: u16 when the model's vocab fits, else u32. The last part is held out for
 * validation.
 *
 * Windows: a split of T tokens is cut into W = (T - 1) / seq windows of seq+1 tokens
 * with stride seq (window i is tokens [i*seq, i*seq + seq]; inputs are its first seq,
 * targets its last seq). Tokens past the last whole window are unused.
 *
 * Order: training sample s reads window P_{seed, s / W}(s mod W). P_{seed, e} is a
 * pseudo-random permutation of [0, W): a 6-round balanced Feistel network on 2h bits
 * (the smallest 2h with 2^2h >= W, so the domain is < 4W) whose round keys come from
 * splitmix64 of (seed, epoch), restricted to [0, W) by cycle walking (apply again until
 * the value is < W; a permutation of a finite set brings x back into range, and the
 * restriction is again a permutation). Each call costs a few dozen multiplications and
 * needs no table, so any rank can compute any sample without state — the order is the
 * same for every world size, call order and resume point. Validation reads windows in
 * order: sample s reads window s mod W_val.
 *
 * Deliberately not here: streaming shards from disk (all tokens are held in memory;
 * fine for the corpora of the tiny models, revisit with mmap for large ones), document
 * boundaries (windows span shard and document ends, as in GPT-2 style training), and
 * distributing shards over ranks (every rank opens the whole directory).
 */
#include "runtime.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FEISTEL_ROUNDS 6

struct RtData {
    char *dir;           /* as given, for messages */
    uint32_t model_vocab;
    double val_fraction;
    uint32_t n_shards;
    uint64_t n;          /* tokens in all */
    uint16_t *t16;       /* [n] when model_vocab <= 65536 */
    uint32_t *t32;       /* [n] otherwise */
};

static uint64_t splitmix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* ===================================================================================
 * Open
 * =================================================================================== */

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static bool is_shard_name(const char *name) {
    size_t n = strlen(name);
    return name[0] != '.' && n > 6 && strcmp(name + n - 6, ".shard") == 0;
}

/* The *.shard names of dir, sorted; NULL + message when dir cannot be listed. */
static char **list_shards(const char *dir, uint32_t *n_out, LlmcErr *err) {
    DIR *dp = opendir(dir);
    if (!dp) {
        llmc_err_set(err, "%s: cannot open data directory: %s", dir, strerror(errno));
        return NULL;
    }
    char **names = NULL;
    uint32_t n = 0, cap = 0;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(dp)) != NULL) {
        if (!is_shard_name(de->d_name)) continue;
        if (n == cap) names = llmc_xrealloc(names, (cap = cap ? 2 * cap : 16) * sizeof *names);
        names[n++] = llmc_xstrdup(de->d_name);
    }
    int read_errno = errno;
    closedir(dp);
    if (read_errno) {
        llmc_err_set(err, "%s: cannot list data directory: %s", dir, strerror(read_errno));
        for (uint32_t i = 0; i < n; i++) free(names[i]);
        free(names);
        return NULL;
    }
    if (n) qsort(names, n, sizeof *names, cmp_names);
    *n_out = n;
    return names ? names : llmc_xcalloc(1, sizeof *names);
}

/* Appends ids[0..count) to d's token array (capacity *cap). */
static void append_tokens(RtData *d, uint64_t *cap, const uint32_t *ids, uint64_t count) {
    bool wide = d->model_vocab > 65536u;
    if (d->n + count > *cap) {
        uint64_t c = *cap ? *cap : 4096;
        while (c < d->n + count) c *= 2;
        if (wide) d->t32 = llmc_xrealloc(d->t32, (size_t)c * sizeof *d->t32);
        else d->t16 = llmc_xrealloc(d->t16, (size_t)c * sizeof *d->t16);
        *cap = c;
    }
    for (uint64_t i = 0; i < count; i++) {
        if (wide) d->t32[d->n + i] = ids[i];
        else d->t16[d->n + i] = (uint16_t)ids[i]; /* < model_vocab <= 65536 */
    }
    d->n += count;
}

RtData *rt_data_open(const char *dir, uint32_t model_vocab, double val_fraction, LlmcErr *err) {
    if (model_vocab == 0 || model_vocab > (uint32_t)INT32_MAX) {
        llmc_err_set(err, "%s: model vocab %" PRIu32 " is out of range [1, 2^31)", dir, model_vocab);
        return NULL;
    }
    if (!(val_fraction >= 0.0 && val_fraction < 1.0)) {
        llmc_err_set(err, "%s: validation fraction %g is not in [0, 1)", dir, val_fraction);
        return NULL;
    }
    uint32_t n_names = 0;
    char **names = list_shards(dir, &n_names, err);
    if (!names) return NULL;
    RtData *d = llmc_xcalloc(1, sizeof *d);
    d->dir = llmc_xstrdup(dir);
    d->model_vocab = model_vocab;
    d->val_fraction = val_fraction;
    bool ok = true;
    if (n_names == 0) {
        llmc_err_set(err, "%s: no token shards (*.shard files) in the data directory", dir);
        ok = false;
    }
    uint64_t cap = 0;
    size_t dir_len = strlen(dir);
    bool slash = dir_len > 0 && dir[dir_len - 1] == '/';
    for (uint32_t i = 0; ok && i < n_names; i++) {
        LlmcBuf path = {0};
        llmc_buf_printf(&path, "%s%s%s", dir, slash ? "" : "/", names[i]);
        uint32_t *ids, vocab;
        uint64_t count;
        if (!rt_shard_read(path.data, &ids, &count, &vocab, err)) {
            ok = false;
        } else if (vocab > model_vocab) {
            llmc_err_set(err, "%s: shard vocab %" PRIu32 " > model vocab %" PRIu32 " (its ids may not fit the model)",
                         path.data, vocab, model_vocab);
            ok = false;
        } else {
            append_tokens(d, &cap, ids, count);
            d->n_shards++;
        }
        free(ids);
        llmc_buf_free(&path);
    }
    if (ok && d->n == 0) {
        llmc_err_set(err, "%s: the token shards hold no tokens", dir);
        ok = false;
    }
    for (uint32_t i = 0; i < n_names; i++) free(names[i]);
    free(names);
    if (!ok) {
        rt_data_free(d);
        return NULL;
    }
    return d;
}

void rt_data_free(RtData *d) {
    if (!d) return;
    free(d->dir);
    free(d->t16);
    free(d->t32);
    free(d);
}

uint32_t rt_data_shards(const RtData *d) { return d->n_shards; }

/* ===================================================================================
 * Split and windows
 * =================================================================================== */

/* ceil(val_fraction * n), at most n. A product within rounding error of an integer
 * counts as that integer, so 0.1 of 1000 tokens is 100 whatever the last bit says. */
static uint64_t fraction_tokens(const RtData *d) {
    double x = d->val_fraction * (double)d->n, r = nearbyint(x);
    double v = fabs(x - r) <= 1e-9 * (r > 1.0 ? r : 1.0) ? r : ceil(x);
    return v >= (double)d->n ? d->n : (uint64_t)v;
}

uint64_t rt_data_tokens(const RtData *d, bool validation) {
    uint64_t v = fraction_tokens(d);
    return validation ? v : d->n - v;
}

static uint64_t windows_in(uint64_t tokens, int64_t seq) { return tokens >= (uint64_t)seq + 1 ? (tokens - 1) / (uint64_t)seq : 0; }

bool rt_data_split(const RtData *d, int64_t seq, RtDataSplit *out, LlmcErr *err) {
    memset(out, 0, sizeof *out);
    if (seq < 1) {
        llmc_err_set(err, "%s: sequence length %" PRId64 " must be >= 1", d->dir, seq);
        return false;
    }
    uint64_t win = (uint64_t)seq + 1;
    uint64_t val = fraction_tokens(d);
    if (d->val_fraction > 0 && val < win) val = win; /* at least one validation window */
    if (val > d->n || d->n - val < win) {
        if (d->val_fraction > 0)
            llmc_err_set(err, "%s: too little data: %" PRIu64 " tokens, but windows of seq+1 = %" PRIu64
                         " tokens need at least %" PRIu64 " for training and %" PRIu64 " for validation (val fraction %g)",
                         d->dir, d->n, win, win, val, d->val_fraction);
        else
            llmc_err_set(err, "%s: too little data: %" PRIu64 " tokens, but one window of seq+1 = %" PRIu64 " tokens is needed",
                         d->dir, d->n, win);
        return false;
    }
    out->train_tokens = d->n - val;
    out->val_tokens = val;
    out->train_windows = windows_in(out->train_tokens, seq);
    out->val_windows = windows_in(val, seq);
    return true;
}

/* ===================================================================================
 * The permutation
 * =================================================================================== */

typedef struct Perm {
    uint64_t n;      /* permutes [0, n) */
    unsigned half;   /* bits per Feistel half */
    uint64_t mask;   /* (1 << half) - 1 */
    uint64_t keys[FEISTEL_ROUNDS];
} Perm;

static void perm_init(Perm *pm, uint64_t seed, uint64_t epoch, uint64_t n) {
    unsigned bits = 0;
    while (bits < 64 && (1ull << bits) < n) bits++;
    pm->n = n;
    pm->half = bits < 2 ? 1 : (bits + 1) / 2;
    pm->mask = (1ull << pm->half) - 1; /* half <= 32 */
    uint64_t k = splitmix64(splitmix64(seed) ^ epoch);
    for (int r = 0; r < FEISTEL_ROUNDS; r++) pm->keys[r] = splitmix64(k + (uint64_t)r);
}

static uint64_t perm_apply(const Perm *pm, uint64_t x) {
    do {
        uint64_t l = x >> pm->half, r = x & pm->mask;
        for (int i = 0; i < FEISTEL_ROUNDS; i++) {
            uint64_t t = l ^ (splitmix64(r ^ pm->keys[i]) & pm->mask);
            l = r;
            r = t;
        }
        x = l << pm->half | r;
    } while (x >= pm->n);
    return x;
}

/* ===================================================================================
 * Batches
 * =================================================================================== */

/* Checks batch and seq; the split; and that sample numbers of micro_index fit u64. */
static bool batch_plan(const RtData *d, uint64_t micro_index, int64_t batch, int64_t seq, RtDataSplit *sp,
                       uint64_t *first_sample, LlmcErr *err) {
    if (batch < 1) {
        llmc_err_set(err, "%s: batch size %" PRId64 " must be >= 1", d->dir, batch);
        return false;
    }
    if (!rt_data_split(d, seq, sp, err)) return false;
    if (seq > INT64_MAX / batch) {
        llmc_err_set(err, "%s: batch %" PRId64 " x seq %" PRId64 " overflows", d->dir, batch, seq);
        return false;
    }
    uint64_t b = (uint64_t)batch;
    if (micro_index > (UINT64_MAX - (b - 1)) / b) {
        llmc_err_set(err, "%s: micro-batch index %" PRIu64 " is too large for batch %" PRId64, d->dir, micro_index,
                     batch);
        return false;
    }
    *first_sample = micro_index * b;
    return true;
}

bool rt_data_batch(RtData *d, bool validation, uint64_t seed, uint64_t micro_index, int64_t batch, int64_t seq,
                   int32_t *tokens, int32_t *targets, LlmcErr *err) {
    RtDataSplit sp;
    uint64_t s0;
    if (!batch_plan(d, micro_index, batch, seq, &sp, &s0, err)) return false;
    if (validation && sp.val_windows == 0) {
        llmc_err_set(err, "%s: no validation split (the validation fraction is 0)", d->dir);
        return false;
    }
    uint64_t useq = (uint64_t)seq;
    Perm pm = {0};
    uint64_t pm_epoch = UINT64_MAX; /* the epoch pm is set up for */
    for (int64_t b = 0; b < batch; b++) {
        uint64_t s = s0 + (uint64_t)b, start;
        if (validation) {
            start = sp.train_tokens + (s % sp.val_windows) * useq;
        } else {
            uint64_t e = s / sp.train_windows;
            if (e != pm_epoch || pm.n == 0) {
                perm_init(&pm, seed, e, sp.train_windows);
                pm_epoch = e;
            }
            start = perm_apply(&pm, s % sp.train_windows) * useq;
        }
        int32_t *tk = tokens + b * seq, *tg = targets + b * seq; /* [seq] each */
        if (d->t32) {
            const uint32_t *w = d->t32 + start; /* [seq + 1] */
            for (int64_t j = 0; j < seq; j++) {
                tk[j] = (int32_t)w[j];
                tg[j] = (int32_t)w[j + 1];
            }
        } else {
            const uint16_t *w = d->t16 + start; /* [seq + 1] */
            for (int64_t j = 0; j < seq; j++) {
                tk[j] = w[j];
                tg[j] = w[j + 1];
            }
        }
    }
    return true;
}

uint64_t rt_data_epoch(const RtData *d, uint64_t micro_index, int64_t batch, int64_t seq) {
    RtDataSplit sp;
    uint64_t s0;
    LlmcErr err = {0};
    if (!batch_plan(d, micro_index, batch, seq, &sp, &s0, &err)) return 0; /* rt_data_batch says why */
    return (s0 + (uint64_t)batch - 1) / sp.train_windows;
}
