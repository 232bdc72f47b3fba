/* runtime/bpe.c — the byte-level BPE tokenizer (GPT-2's scheme): pre-tokenization,
 * training, encoding, decoding, the `*.tok` file and the import of GPT-2's files.
 *
 * Pre-tokenization is GPT-2's regex written out by hand over bytes (rt_bpe_pretoken):
 * letters are ASCII letters and every byte >= 0x80 (so UTF-8 letters stay in words and
 * invalid UTF-8 is just more bytes), digits ASCII digits.
 *
 * Training counts the distinct pre-tokens ("words") once, then repeats: take the most
 * frequent adjacent pair from a max-heap (lazy deletion: an entry whose count is no
 * longer the pair's current count is dropped when popped), merge it in every word that
 * holds it (each pair keeps the list of words it occurs in; lists may hold stale or
 * repeated entries, skipped by a per-word stamp), and update the counts of the pairs of
 * those words only. Ties go to the smaller (left, right), so training is deterministic.
 *
 * Encoding applies, per pre-token, the lowest-ranked applicable merge everywhere, then
 * the next, as GPT-2 does; results are cached per pre-token. Each pass applies a higher
 * rank than the last (a merge only refers to earlier ids), so a short pre-token costs at
 * most (its length) x (merges that apply) steps; long ones (a page of letters with no
 * space) go through a heap of candidate merges instead, O(n log n).
 *
 * File layout (all little-endian; docs/formats.md, "BPE tokenizer"):
 *   magic "LLMCBPE\0" | u32 version 1 | u32 vocab | u32 merges | u32 specials |
 *   256 bytes: the byte of ids 0..255 | merges x (u32 left, u32 right) |
 *   specials x (u32 length, bytes) | u64 rt_checksum of every byte before it
 *
 * Deliberately not here: Unicode classes beyond ASCII (bytes >= 0x80 count as letters),
 * special tokens inside text, thread safety of the encode cache.
 */
#include "runtime.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_BYTES 24u /* magic, version, vocab, merges, specials */
#define CACHE_MAX_ENTRIES (1u << 20)
#define CACHE_MAX_KEY 256u /* longer pre-tokens are encoded every time */
/* Training counts a longer pre-token as pieces of this many bytes: a merge costs the
 * total length of the words holding its pair, and one huge word (pages of letters with
 * no space) holds every pair. Natural text has no such words; encoding is unaffected. */
#define TRAIN_MAX_WORD 64u

static uint32_t get_u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get_u64(const unsigned char *p) { return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32; }
static void put_u32(LlmcBuf *b, uint32_t v) {
    char c[4];
    for (int i = 0; i < 4; i++) c[i] = (char)(v >> (8 * i));
    llmc_buf_put(b, c, 4);
}
static void put_u64(LlmcBuf *b, uint64_t v) {
    char c[8];
    for (int i = 0; i < 8; i++) c[i] = (char)(v >> (8 * i));
    llmc_buf_put(b, c, 8);
}

static uint64_t hash_bytes(const unsigned char *p, size_t n) {
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h ^ (h >> 29);
}
static uint64_t hash_u64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

/* ===================================================================================
 * Hash maps: byte strings -> two u32 values; u64 keys -> one u32 value
 * =================================================================================== */

typedef struct StrEntry {
    uint64_t hash;
    size_t key_off;
    uint32_t key_len;
    uint32_t a, b;
} StrEntry;

typedef struct StrMap {
    uint32_t *slots; /* [cap]: 0 empty, else entry index + 1 */
    uint32_t cap;    /* power of two, or 0 */
    StrEntry *ents;  /* [n] */
    uint32_t n, ents_cap;
    unsigned char *keys; /* [keys_len] */
    size_t keys_len, keys_cap;
} StrMap;

static void strmap_free(StrMap *m) {
    free(m->slots);
    free(m->ents);
    free(m->keys);
    *m = (StrMap){0};
}

static void strmap_grow(StrMap *m) {
    uint32_t cap = m->cap ? m->cap * 2 : 1024;
    uint32_t *slots = llmc_xcalloc(cap, sizeof *slots);
    for (uint32_t i = 0; i < m->n; i++) {
        uint32_t s = (uint32_t)m->ents[i].hash & (cap - 1);
        while (slots[s]) s = (s + 1) & (cap - 1);
        slots[s] = i + 1;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
}

/* The entry of key k, or NULL; with add, inserts it (a = b = 0) and sets *added. */
static StrEntry *strmap_get(StrMap *m, const unsigned char *k, uint32_t len, bool add, bool *added) {
    if (added) *added = false;
    if (m->cap == 0) {
        if (!add) return NULL;
        strmap_grow(m);
    }
    uint64_t h = hash_bytes(k, len);
    uint32_t s = (uint32_t)h & (m->cap - 1);
    for (; m->slots[s]; s = (s + 1) & (m->cap - 1)) {
        StrEntry *e = &m->ents[m->slots[s] - 1];
        if (e->hash == h && e->key_len == len && memcmp(m->keys + e->key_off, k, len) == 0) return e;
    }
    if (!add) return NULL;
    if (m->n == m->ents_cap) {
        m->ents_cap = m->ents_cap ? m->ents_cap * 2 : 1024;
        m->ents = llmc_xrealloc(m->ents, m->ents_cap * sizeof *m->ents);
    }
    if (m->keys_len + len > m->keys_cap) {
        while (m->keys_len + len > m->keys_cap) m->keys_cap = m->keys_cap ? m->keys_cap * 2 : 65536;
        m->keys = llmc_xrealloc(m->keys, m->keys_cap);
    }
    if (len) memcpy(m->keys + m->keys_len, k, len);
    m->ents[m->n] = (StrEntry){h, m->keys_len, len, 0, 0};
    m->keys_len += len;
    m->slots[s] = ++m->n;
    if (added) *added = true;
    StrEntry *e = &m->ents[m->n - 1];
    if (m->n * 2 > m->cap) strmap_grow(m);
    return e;
}

typedef struct PairMap {
    uint64_t *keys; /* [cap]; UINT64_MAX = empty (no pair of u32 ids is all ones: ids < 2^25) */
    uint32_t *vals; /* [cap] */
    uint32_t cap, n;
} PairMap;

static uint64_t pair_key(uint32_t l, uint32_t r) { return (uint64_t)l << 32 | r; }

static void pairmap_free(PairMap *m) {
    free(m->keys);
    free(m->vals);
    *m = (PairMap){0};
}

static void pairmap_grow(PairMap *m) {
    uint32_t cap = m->cap ? m->cap * 2 : 1024;
    uint64_t *keys = llmc_xmalloc(cap * sizeof *keys);
    uint32_t *vals = llmc_xmalloc(cap * sizeof *vals);
    memset(keys, 0xff, cap * sizeof *keys);
    for (uint32_t i = 0; i < m->cap; i++) {
        if (m->keys[i] == UINT64_MAX) continue;
        uint32_t s = (uint32_t)hash_u64(m->keys[i]) & (cap - 1);
        while (keys[s] != UINT64_MAX) s = (s + 1) & (cap - 1);
        keys[s] = m->keys[i];
        vals[s] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
}

/* The value slot of key, or NULL; with add, inserts it with value `init`. */
static uint32_t *pairmap_get(PairMap *m, uint64_t key, bool add, uint32_t init) {
    if (m->cap == 0) {
        if (!add) return NULL;
        pairmap_grow(m);
    }
    uint32_t s = (uint32_t)hash_u64(key) & (m->cap - 1);
    for (; m->keys[s] != UINT64_MAX; s = (s + 1) & (m->cap - 1))
        if (m->keys[s] == key) return &m->vals[s];
    if (!add) return NULL;
    if ((m->n + 1) * 2 > m->cap) {
        pairmap_grow(m);
        return pairmap_get(m, key, add, init);
    }
    m->keys[s] = key;
    m->vals[s] = init;
    m->n++;
    return &m->vals[s];
}

/* ===================================================================================
 * Pre-tokenization
 * =================================================================================== */

enum { CH_OTHER, CH_LETTER, CH_DIGIT, CH_SPACE };

static int char_class(unsigned char c) {
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return CH_LETTER;
    if (c >= 0x80) return CH_LETTER;
    if (c >= '0' && c <= '9') return CH_DIGIT;
    if (c == ' ' || (c >= '\t' && c <= '\r')) return CH_SPACE;
    return CH_OTHER;
}

size_t rt_bpe_pretoken(const void *text, size_t len, size_t pos) {
    const unsigned char *s = text;
    LLMC_ASSERT(pos < len);
    size_t n = len - pos;
    s += pos;
    /* 's 't 're 've 'm 'll 'd */
    if (s[0] == '\'' && n >= 2) {
        if (s[1] == 's' || s[1] == 't' || s[1] == 'm' || s[1] == 'd') return 2;
        if (n >= 3 && ((s[1] == 'r' && s[2] == 'e') || (s[1] == 'v' && s[2] == 'e') || (s[1] == 'l' && s[2] == 'l')))
            return 3;
    }
    /* ' ?L+', ' ?N+', ' ?[^\sLN]+' */
    size_t j = (s[0] == ' ' && n >= 2 && char_class(s[1]) != CH_SPACE) ? 1 : 0;
    int cls = char_class(s[j]);
    if (cls != CH_SPACE) {
        size_t k = j + 1;
        while (k < n && char_class(s[k]) == cls) k++;
        return k;
    }
    /* '\s+(?!\S)|\s+': a run before a non-space leaves its last byte to what follows */
    size_t k = 1;
    while (k < n && char_class(s[k]) == CH_SPACE) k++;
    if (k < n && k > 1) return k - 1;
    return k;
}

/* ===================================================================================
 * The tokenizer object
 * =================================================================================== */

struct RtBpe {
    uint32_t vocab, n_merges, n_specials;
    uint8_t byte_of[256];     /* id (< 256) -> byte */
    uint32_t id_of_byte[256]; /* byte -> id */
    RtBpeMerge *merges;       /* [n_merges] */
    uint64_t *tok_off;        /* [vocab]: token bytes in tok_bytes */
    uint32_t *tok_len;        /* [vocab] */
    unsigned char *tok_bytes;
    PairMap rank; /* (left, right) -> merge index */
    /* the encode cache: pre-token bytes -> (offset, count) of ids in cache_ids */
    StrMap cache;
    uint32_t *cache_ids;
    size_t cache_n, cache_cap;
    uint32_t *work; /* scratch ids for one pre-token */
    size_t work_cap;
};

void rt_bpe_free(RtBpe *t) {
    if (!t) return;
    free(t->merges);
    free(t->tok_off);
    free(t->tok_len);
    free(t->tok_bytes);
    pairmap_free(&t->rank);
    strmap_free(&t->cache);
    free(t->cache_ids);
    free(t->work);
    free(t);
}

RtBpe *rt_bpe_new(const uint8_t *byte_of, const RtBpeMerge *merges, uint32_t n_merges, const char *const *specials,
                  const size_t *special_lens, uint32_t n_specials, const char *name, LlmcErr *err) {
    if (n_merges > RT_BPE_MAX_MERGES) {
        llmc_err_set(err, "%s: %" PRIu32 " merges (at most %u)", name, n_merges, RT_BPE_MAX_MERGES);
        return NULL;
    }
    if (n_specials > RT_BPE_MAX_SPECIALS) {
        llmc_err_set(err, "%s: %" PRIu32 " special tokens (at most %u)", name, n_specials, RT_BPE_MAX_SPECIALS);
        return NULL;
    }
    RtBpe *t = llmc_xcalloc(1, sizeof *t);
    t->n_merges = n_merges;
    t->n_specials = n_specials;
    t->vocab = 256 + n_merges + n_specials;
    bool seen[256] = {0};
    for (uint32_t i = 0; i < 256; i++) {
        uint8_t b = byte_of ? byte_of[i] : (uint8_t)i;
        if (seen[b]) {
            llmc_err_set(err, "%s: byte table: byte 0x%02x appears twice (ids 0..255 must be the 256 bytes)", name, b);
            rt_bpe_free(t);
            return NULL;
        }
        seen[b] = true;
        t->byte_of[i] = b;
        t->id_of_byte[b] = i;
    }
    t->merges = llmc_xmalloc((n_merges ? n_merges : 1) * sizeof *t->merges);
    t->tok_off = llmc_xmalloc(t->vocab * sizeof *t->tok_off);
    t->tok_len = llmc_xmalloc(t->vocab * sizeof *t->tok_len);
    uint64_t total = 256;
    for (uint32_t i = 0; i < 256; i++) t->tok_off[i] = i, t->tok_len[i] = 1;
    for (uint32_t i = 0; i < n_merges; i++) {
        RtBpeMerge m = merges[i];
        uint32_t id = 256 + i;
        if (m.left >= id || m.right >= id) {
            llmc_err_set(err, "%s: merge %" PRIu32 " (%" PRIu32 ", %" PRIu32 ") refers to an id >= its own (%" PRIu32 ")",
                         name, i, m.left, m.right, id);
            rt_bpe_free(t);
            return NULL;
        }
        uint32_t *r = pairmap_get(&t->rank, pair_key(m.left, m.right), true, i);
        if (*r != i) {
            llmc_err_set(err, "%s: merge %" PRIu32 " (%" PRIu32 ", %" PRIu32 ") repeats merge %" PRIu32, name, i, m.left,
                         m.right, *r);
            rt_bpe_free(t);
            return NULL;
        }
        uint64_t len = (uint64_t)t->tok_len[m.left] + t->tok_len[m.right];
        if (len > RT_BPE_MAX_TOKEN_BYTES) {
            llmc_err_set(err, "%s: merge %" PRIu32 " makes a token of %" PRIu64 " bytes (at most %u)", name, i, len,
                         RT_BPE_MAX_TOKEN_BYTES);
            rt_bpe_free(t);
            return NULL;
        }
        t->merges[i] = m;
        t->tok_off[id] = total;
        t->tok_len[id] = (uint32_t)len;
        total += len;
    }
    for (uint32_t k = 0; k < n_specials; k++) {
        size_t len = special_lens ? special_lens[k] : strlen(specials[k]);
        if (len == 0 || len > RT_BPE_MAX_TOKEN_BYTES) {
            llmc_err_set(err, "%s: special token %" PRIu32 " has %zu bytes (1..%u)", name, k, len, RT_BPE_MAX_TOKEN_BYTES);
            rt_bpe_free(t);
            return NULL;
        }
        for (uint32_t q = 0; q < k; q++) {
            size_t lq = special_lens ? special_lens[q] : strlen(specials[q]);
            if (lq == len && memcmp(specials[q], specials[k], len) == 0) {
                llmc_err_set(err, "%s: special token %" PRIu32 " repeats special token %" PRIu32, name, k, q);
                rt_bpe_free(t);
                return NULL;
            }
        }
        uint32_t id = 256 + n_merges + k;
        t->tok_off[id] = total;
        t->tok_len[id] = (uint32_t)len;
        total += len;
    }
    t->tok_bytes = llmc_xmalloc(total);
    for (uint32_t i = 0; i < 256; i++) t->tok_bytes[i] = t->byte_of[i];
    for (uint32_t i = 0; i < n_merges; i++) {
        uint32_t id = 256 + i, l = t->merges[i].left, r = t->merges[i].right;
        memcpy(t->tok_bytes + t->tok_off[id], t->tok_bytes + t->tok_off[l], t->tok_len[l]);
        memcpy(t->tok_bytes + t->tok_off[id] + t->tok_len[l], t->tok_bytes + t->tok_off[r], t->tok_len[r]);
    }
    for (uint32_t k = 0; k < n_specials; k++) {
        uint32_t id = 256 + n_merges + k;
        memcpy(t->tok_bytes + t->tok_off[id], specials[k], t->tok_len[id]);
    }
    return t;
}

uint32_t rt_bpe_vocab(const RtBpe *t) { return t->vocab; }
uint32_t rt_bpe_n_merges(const RtBpe *t) { return t->n_merges; }
uint32_t rt_bpe_n_specials(const RtBpe *t) { return t->n_specials; }
RtBpeMerge rt_bpe_merge(const RtBpe *t, uint32_t i) {
    LLMC_ASSERT(i < t->n_merges);
    return t->merges[i];
}
uint8_t rt_bpe_byte_of(const RtBpe *t, uint32_t id) {
    LLMC_ASSERT(id < 256);
    return t->byte_of[id];
}

const unsigned char *rt_bpe_token(const RtBpe *t, uint32_t id, size_t *len) {
    if (id >= t->vocab) {
        if (len) *len = 0;
        return NULL;
    }
    if (len) *len = t->tok_len[id];
    return t->tok_bytes + t->tok_off[id];
}

int64_t rt_bpe_special(const RtBpe *t, const char *text) {
    size_t n = strlen(text);
    for (uint32_t k = 0; k < t->n_specials; k++) {
        uint32_t id = 256 + t->n_merges + k;
        if (t->tok_len[id] == n && memcmp(t->tok_bytes + t->tok_off[id], text, n) == 0) return id;
    }
    return -1;
}

/* ===================================================================================
 * Encoding and decoding
 * =================================================================================== */

static void ids_push(RtBpeIds *o, const uint32_t *ids, size_t n) {
    if (o->count + n > o->cap) {
        size_t cap = o->cap ? o->cap : 1024;
        while (o->count + n > cap) cap *= 2;
        o->ids = llmc_xrealloc(o->ids, cap * sizeof *o->ids);
        o->cap = cap;
    }
    memcpy(o->ids + o->count, ids, n * sizeof *ids);
    o->count += n;
}

/* Long pre-tokens: the same result as the passes below (lowest rank first; within a
 * rank, left to right, since a merge never creates a pair of its own rank), in
 * O(n log n) instead of O(n x merges that apply). Symbols form a linked list; a min-heap
 * of (rank, left position) candidates is checked when popped. */
typedef struct Cand {
    uint32_t rank;
    size_t pos;
} Cand;

static bool cand_before(Cand a, Cand b) { return a.rank != b.rank ? a.rank < b.rank : a.pos < b.pos; }

static void cand_push(Cand *h, size_t *n, Cand c) {
    size_t i = (*n)++;
    while (i > 0 && cand_before(c, h[(i - 1) / 2])) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = c;
}

static Cand cand_pop(Cand *h, size_t *n) {
    Cand top = h[0], last = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && cand_before(h[c + 1], h[c])) c++;
        if (!cand_before(h[c], last)) break;
        h[i] = h[c];
        i = c;
    }
    if (*n) h[i] = last;
    return top;
}

static size_t encode_long(RtBpe *t, uint32_t *w, size_t n) {
    size_t *next = llmc_xmalloc(n * sizeof *next), *prev = llmc_xmalloc(n * sizeof *prev);
    Cand *heap = llmc_xmalloc(n * 3 * sizeof *heap); /* n-1 at first, +2 per merge */
    size_t n_heap = 0;
    for (size_t i = 0; i < n; i++) {
        next[i] = i + 1;
        prev[i] = i - 1; /* SIZE_MAX for the first */
        if (i + 1 < n) {
            uint32_t *r = pairmap_get(&t->rank, pair_key(w[i], w[i + 1]), false, 0);
            if (r) cand_push(heap, &n_heap, (Cand){*r, i});
        }
    }
    while (n_heap) {
        Cand c = cand_pop(heap, &n_heap);
        size_t i = c.pos, j = next[i];
        RtBpeMerge m = t->merges[c.rank];
        if (w[i] == UINT32_MAX || j >= n || w[i] != m.left || w[j] != m.right) continue; /* stale */
        w[i] = 256 + c.rank;
        w[j] = UINT32_MAX;
        next[i] = next[j];
        if (next[j] < n) prev[next[j]] = i;
        if (prev[i] != SIZE_MAX) {
            uint32_t *r = pairmap_get(&t->rank, pair_key(w[prev[i]], w[i]), false, 0);
            if (r) cand_push(heap, &n_heap, (Cand){*r, prev[i]});
        }
        if (next[i] < n) {
            uint32_t *r = pairmap_get(&t->rank, pair_key(w[i], w[next[i]]), false, 0);
            if (r) cand_push(heap, &n_heap, (Cand){*r, i});
        }
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i = next[i]) w[o++] = w[i];
    free(next);
    free(prev);
    free(heap);
    return o;
}

/* Encodes one pre-token into t->work; returns the number of ids. */
static size_t encode_piece(RtBpe *t, const unsigned char *s, size_t n) {
    if (n > t->work_cap) {
        t->work_cap = n < 256 ? 256 : n;
        t->work = llmc_xrealloc(t->work, t->work_cap * sizeof *t->work);
    }
    uint32_t *w = t->work;
    for (size_t i = 0; i < n; i++) w[i] = t->id_of_byte[s[i]];
    if (n > 64) return encode_long(t, w, n);
    while (n >= 2) {
        uint32_t best = UINT32_MAX;
        for (size_t i = 0; i + 1 < n; i++) {
            uint32_t *r = pairmap_get(&t->rank, pair_key(w[i], w[i + 1]), false, 0);
            if (r && *r < best) best = *r;
        }
        if (best == UINT32_MAX) break;
        uint32_t l = t->merges[best].left, r = t->merges[best].right, id = 256 + best;
        size_t o = 0;
        for (size_t i = 0; i < n;) {
            if (i + 1 < n && w[i] == l && w[i + 1] == r) {
                w[o++] = id;
                i += 2;
            } else {
                w[o++] = w[i++];
            }
        }
        n = o;
    }
    return n;
}

void rt_bpe_encode(RtBpe *t, const void *text, size_t len, RtBpeIds *out) {
    const unsigned char *s = text;
    for (size_t pos = 0; pos < len;) {
        size_t n = rt_bpe_pretoken(s, len, pos);
        const unsigned char *p = s + pos;
        pos += n;
        if (n > CACHE_MAX_KEY) {
            size_t k = encode_piece(t, p, n);
            ids_push(out, t->work, k);
            continue;
        }
        StrEntry *e = strmap_get(&t->cache, p, (uint32_t)n, false, NULL);
        if (e) {
            ids_push(out, t->cache_ids + e->a, e->b);
            continue;
        }
        size_t k = encode_piece(t, p, n);
        ids_push(out, t->work, k);
        if (t->cache.n >= CACHE_MAX_ENTRIES) { /* keep memory bounded: start over */
            strmap_free(&t->cache);
            t->cache_n = 0;
        }
        if (t->cache_n + k > t->cache_cap) {
            while (t->cache_n + k > t->cache_cap) t->cache_cap = t->cache_cap ? t->cache_cap * 2 : 65536;
            t->cache_ids = llmc_xrealloc(t->cache_ids, t->cache_cap * sizeof *t->cache_ids);
        }
        memcpy(t->cache_ids + t->cache_n, t->work, k * sizeof *t->work);
        e = strmap_get(&t->cache, p, (uint32_t)n, true, NULL);
        e->a = (uint32_t)t->cache_n;
        e->b = (uint32_t)k;
        t->cache_n += k;
    }
}

bool rt_bpe_decode(const RtBpe *t, const uint32_t *ids, size_t n, LlmcBuf *out, LlmcErr *err) {
    for (size_t i = 0; i < n; i++) {
        if (ids[i] >= t->vocab) {
            llmc_err_set(err, "token %" PRIu32 " at position %zu is >= vocab %" PRIu32, ids[i], i, t->vocab);
            return false;
        }
        llmc_buf_put(out, (const char *)t->tok_bytes + t->tok_off[ids[i]], t->tok_len[ids[i]]);
    }
    return true;
}

/* ===================================================================================
 * Training
 * =================================================================================== */

typedef struct Word {
    size_t off;     /* into Trainer.sym */
    uint32_t len;   /* current symbols */
    uint32_t stamp; /* last merge that visited it, + 1 */
    uint64_t count; /* occurrences in the corpus */
} Word;

typedef struct Pair {
    uint32_t left, right;
    int64_t count;  /* weighted occurrences now */
    int64_t before; /* count when first touched by the current merge */
    uint32_t touched; /* merge index + 1 that last touched it */
    bool banned;    /* its token would be too long */
    uint32_t *where; /* [n_where]: words holding it (maybe stale / repeated) */
    uint32_t n_where, cap_where;
} Pair;

typedef struct HeapItem {
    int64_t count;
    uint32_t pair;
} HeapItem;

typedef struct Trainer {
    Word *words;
    uint32_t n_words;
    uint32_t *sym; /* all words' symbols */
    Pair *pairs;
    uint32_t n_pairs, cap_pairs;
    PairMap index; /* (left, right) -> pairs index */
    HeapItem *heap;
    size_t n_heap, cap_heap;
    uint32_t *changed; /* pairs touched by the current merge */
    uint32_t n_changed, cap_changed;
} Trainer;

/* a before b in the heap: higher count, then smaller (left, right) */
static bool heap_before(const Trainer *tr, HeapItem a, HeapItem b) {
    if (a.count != b.count) return a.count > b.count;
    const Pair *pa = &tr->pairs[a.pair], *pb = &tr->pairs[b.pair];
    if (pa->left != pb->left) return pa->left < pb->left;
    return pa->right < pb->right;
}

static void heap_push(Trainer *tr, HeapItem it) {
    if (tr->n_heap == tr->cap_heap) {
        tr->cap_heap = tr->cap_heap ? tr->cap_heap * 2 : 4096;
        tr->heap = llmc_xrealloc(tr->heap, tr->cap_heap * sizeof *tr->heap);
    }
    size_t i = tr->n_heap++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!heap_before(tr, it, tr->heap[p])) break;
        tr->heap[i] = tr->heap[p];
        i = p;
    }
    tr->heap[i] = it;
}

static HeapItem heap_pop(Trainer *tr) {
    HeapItem top = tr->heap[0], last = tr->heap[--tr->n_heap];
    size_t i = 0, n = tr->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && heap_before(tr, tr->heap[c + 1], tr->heap[c])) c++;
        if (!heap_before(tr, tr->heap[c], last)) break;
        tr->heap[i] = tr->heap[c];
        i = c;
    }
    if (n) tr->heap[i] = last;
    return top;
}

static uint32_t pair_id(Trainer *tr, uint32_t l, uint32_t r) {
    uint32_t *v = pairmap_get(&tr->index, pair_key(l, r), true, tr->n_pairs);
    if (*v == tr->n_pairs) {
        if (tr->n_pairs == tr->cap_pairs) {
            tr->cap_pairs = tr->cap_pairs ? tr->cap_pairs * 2 : 4096;
            tr->pairs = llmc_xrealloc(tr->pairs, tr->cap_pairs * sizeof *tr->pairs);
        }
        tr->pairs[tr->n_pairs++] = (Pair){.left = l, .right = r};
    }
    return *v;
}

static void pair_add_where(Pair *p, uint32_t w) {
    if (p->n_where && p->where[p->n_where - 1] == w) return;
    if (p->n_where == p->cap_where) {
        p->cap_where = p->cap_where ? p->cap_where * 2 : 4;
        p->where = llmc_xrealloc(p->where, p->cap_where * sizeof *p->where);
    }
    p->where[p->n_where++] = w;
}

/* Adds delta to pair (l, r)'s count, remembering its count before this merge. */
static void pair_bump(Trainer *tr, uint32_t l, uint32_t r, int64_t delta, uint32_t stamp, uint32_t word) {
    uint32_t id = pair_id(tr, l, r);
    Pair *p = &tr->pairs[id];
    if (p->touched != stamp) {
        p->touched = stamp;
        p->before = p->count;
        if (tr->n_changed == tr->cap_changed) {
            tr->cap_changed = tr->cap_changed ? tr->cap_changed * 2 : 1024;
            tr->changed = llmc_xrealloc(tr->changed, tr->cap_changed * sizeof *tr->changed);
        }
        tr->changed[tr->n_changed++] = id;
    }
    p->count += delta;
    if (delta > 0 && word != UINT32_MAX) pair_add_where(p, word);
}

static void trainer_free(Trainer *tr) {
    for (uint32_t i = 0; i < tr->n_pairs; i++) free(tr->pairs[i].where);
    free(tr->pairs);
    free(tr->words);
    free(tr->sym);
    free(tr->heap);
    free(tr->changed);
    pairmap_free(&tr->index);
}

RtBpe *rt_bpe_train(const RtBpeText *docs, size_t n_docs, uint32_t vocab, RtBpeProgressFn progress, void *ctx,
                    LlmcErr *err) {
    if (vocab < 257 || vocab - 257 > RT_BPE_MAX_MERGES) {
        llmc_err_set(err, "vocab %" PRIu32 " is out of range [257, %u]", vocab, 257 + RT_BPE_MAX_MERGES);
        return NULL;
    }
    uint32_t want = vocab - 257;
    /* 1. distinct pre-tokens with their counts */
    StrMap wm = {0};
    for (size_t d = 0; d < n_docs; d++) {
        const unsigned char *s = (const unsigned char *)docs[d].data;
        for (size_t pos = 0; pos < docs[d].len;) {
            size_t end = pos + rt_bpe_pretoken(s, docs[d].len, pos);
            for (; pos < end; pos += TRAIN_MAX_WORD) {
                size_t n = end - pos < TRAIN_MAX_WORD ? end - pos : TRAIN_MAX_WORD;
                StrEntry *e = strmap_get(&wm, s + pos, (uint32_t)n, true, NULL);
                e->a++; /* a count; 2^32 occurrences would need far more than 4 GB of text */
            }
            pos = end;
        }
    }
    Trainer tr = {0};
    tr.n_words = wm.n;
    tr.words = llmc_xmalloc((wm.n ? wm.n : 1) * sizeof *tr.words);
    tr.sym = llmc_xmalloc((wm.keys_len ? wm.keys_len : 1) * sizeof *tr.sym);
    size_t off = 0;
    for (uint32_t w = 0; w < wm.n; w++) {
        const StrEntry *e = &wm.ents[w];
        tr.words[w] = (Word){off, e->key_len, 0, e->a};
        for (uint32_t i = 0; i < e->key_len; i++) tr.sym[off + i] = wm.keys[e->key_off + i];
        off += e->key_len;
    }
    strmap_free(&wm);
    /* 2. initial pair counts */
    for (uint32_t w = 0; w < tr.n_words; w++) {
        const Word *wd = &tr.words[w];
        const uint32_t *s = tr.sym + wd->off;
        for (uint32_t i = 0; i + 1 < wd->len; i++) {
            uint32_t pid = pair_id(&tr, s[i], s[i + 1]); /* may move tr.pairs */
            Pair *p = &tr.pairs[pid];
            p->count += (int64_t)wd->count;
            pair_add_where(p, w);
        }
    }
    for (uint32_t i = 0; i < tr.n_pairs; i++) heap_push(&tr, (HeapItem){tr.pairs[i].count, i});
    /* 3. merges */
    RtBpeMerge *merges = llmc_xmalloc((want ? want : 1) * sizeof *merges);
    uint32_t *tok_len = llmc_xmalloc(((size_t)256 + want) * sizeof *tok_len);
    for (uint32_t i = 0; i < 256; i++) tok_len[i] = 1;
    uint32_t n_merges = 0;
    while (n_merges < want && tr.n_heap) {
        HeapItem top = heap_pop(&tr);
        Pair *bp = &tr.pairs[top.pair];
        if (bp->banned || top.count != bp->count || bp->count < 2) continue;
        if ((uint64_t)tok_len[bp->left] + tok_len[bp->right] > RT_BPE_MAX_TOKEN_BYTES) {
            bp->banned = true;
            continue;
        }
        uint32_t l = bp->left, r = bp->right, id = 256 + n_merges, stamp = n_merges + 1;
        merges[n_merges] = (RtBpeMerge){l, r};
        tok_len[id] = tok_len[l] + tok_len[r];
        n_merges++;
        /* the word list is detached: updates below may append to other pairs' lists */
        uint32_t *where = bp->where, n_where = bp->n_where;
        bp->where = NULL;
        bp->n_where = bp->cap_where = 0;
        tr.n_changed = 0;
        for (uint32_t k = 0; k < n_where; k++) {
            uint32_t w = where[k];
            Word *wd = &tr.words[w];
            if (wd->stamp == stamp) continue;
            wd->stamp = stamp;
            uint32_t *s = tr.sym + wd->off, n = wd->len;
            bool has = false;
            for (uint32_t i = 0; i + 1 < n && !has; i++) has = s[i] == l && s[i + 1] == r;
            if (!has) continue;
            int64_t c = (int64_t)wd->count;
            for (uint32_t i = 0; i + 1 < n; i++) pair_bump(&tr, s[i], s[i + 1], -c, stamp, UINT32_MAX);
            uint32_t o = 0;
            for (uint32_t i = 0; i < n;) {
                if (i + 1 < n && s[i] == l && s[i + 1] == r) {
                    s[o++] = id;
                    i += 2;
                } else {
                    s[o++] = s[i++];
                }
            }
            wd->len = n = o;
            /* only pairs with the new id are new to this word: only they need it listed */
            for (uint32_t i = 0; i + 1 < n; i++)
                pair_bump(&tr, s[i], s[i + 1], c, stamp, s[i] == id || s[i + 1] == id ? w : UINT32_MAX);
        }
        free(where);
        bp = &tr.pairs[top.pair]; /* pair_id may have moved the array */
        bp->count = 0;
        for (uint32_t k = 0; k < tr.n_changed; k++) {
            Pair *p = &tr.pairs[tr.changed[k]];
            if (p->count != p->before && p->count > 0 && !p->banned) heap_push(&tr, (HeapItem){p->count, tr.changed[k]});
        }
        if (progress && n_merges % 256 == 0 && n_merges < want) progress(ctx, n_merges, want);
    }
    if (progress) progress(ctx, n_merges, want);
    trainer_free(&tr);
    free(tok_len);
    const char *eot = RT_BPE_EOT;
    RtBpe *t = rt_bpe_new(NULL, merges, n_merges, &eot, NULL, 1, "trained tokenizer", err);
    free(merges);
    return t;
}

/* ===================================================================================
 * The file
 * =================================================================================== */

void rt_bpe_serialize(const RtBpe *t, LlmcBuf *out) {
    size_t start = out->len;
    llmc_buf_put(out, RT_BPE_MAGIC, 8);
    put_u32(out, RT_BPE_VERSION);
    put_u32(out, t->vocab);
    put_u32(out, t->n_merges);
    put_u32(out, t->n_specials);
    llmc_buf_put(out, (const char *)t->byte_of, 256);
    for (uint32_t i = 0; i < t->n_merges; i++) {
        put_u32(out, t->merges[i].left);
        put_u32(out, t->merges[i].right);
    }
    for (uint32_t k = 0; k < t->n_specials; k++) {
        uint32_t id = 256 + t->n_merges + k;
        put_u32(out, t->tok_len[id]);
        llmc_buf_put(out, (const char *)t->tok_bytes + t->tok_off[id], t->tok_len[id]);
    }
    put_u64(out, rt_checksum(out->data + start, out->len - start));
}

bool rt_bpe_write(const char *path, const RtBpe *t, LlmcErr *err) {
    LlmcBuf b = {0};
    rt_bpe_serialize(t, &b);
    bool ok = llmc_file_write(path, b.data, b.len, err);
    llmc_buf_free(&b);
    return ok;
}

RtBpe *rt_bpe_parse(const void *bytes, size_t len, const char *name, LlmcErr *err) {
    const unsigned char *p = bytes;
    if (len < 8 || memcmp(p, RT_BPE_MAGIC, 8) != 0) {
        llmc_err_set(err, "%s: not an llmc BPE tokenizer (bad magic)", name);
        return NULL;
    }
    if (len < 12) {
        llmc_err_set(err, "%s: truncated (%zu bytes)", name, len);
        return NULL;
    }
    uint32_t version = get_u32(p + 8);
    if (version != RT_BPE_VERSION) {
        llmc_err_set(err, "%s: unsupported version %" PRIu32 " (this llmc reads version %u)", name, version,
                     RT_BPE_VERSION);
        return NULL;
    }
    size_t fixed = HEADER_BYTES + 256 + 8;
    if (len < fixed) {
        llmc_err_set(err, "%s: truncated (%zu bytes, a tokenizer has at least %zu)", name, len, fixed);
        return NULL;
    }
    uint64_t want = get_u64(p + len - 8), got = rt_checksum(p, len - 8);
    if (want != got) {
        llmc_err_set(err, "%s: checksum mismatch (stored %016" PRIx64 ", computed %016" PRIx64 "): corrupt or truncated",
                     name, want, got);
        return NULL;
    }
    uint32_t vocab = get_u32(p + 12), n_merges = get_u32(p + 16), n_specials = get_u32(p + 20);
    if (n_merges > RT_BPE_MAX_MERGES || n_specials > RT_BPE_MAX_SPECIALS) {
        llmc_err_set(err, "%s: %" PRIu32 " merges and %" PRIu32 " special tokens (at most %u and %u)", name, n_merges,
                     n_specials, RT_BPE_MAX_MERGES, RT_BPE_MAX_SPECIALS);
        return NULL;
    }
    if (vocab != 256 + n_merges + n_specials) {
        llmc_err_set(err, "%s: vocab %" PRIu32 " is not 256 + %" PRIu32 " merges + %" PRIu32 " special tokens", name,
                     vocab, n_merges, n_specials);
        return NULL;
    }
    size_t body = len - 8, at = HEADER_BYTES + 256;
    if ((uint64_t)n_merges * 8 > body - at) {
        llmc_err_set(err, "%s: truncated: %" PRIu32 " merges do not fit", name, n_merges);
        return NULL;
    }
    RtBpeMerge *merges = llmc_xmalloc((n_merges ? n_merges : 1) * sizeof *merges);
    for (uint32_t i = 0; i < n_merges; i++, at += 8) merges[i] = (RtBpeMerge){get_u32(p + at), get_u32(p + at + 4)};
    const char **specials = llmc_xcalloc(n_specials ? n_specials : 1, sizeof *specials);
    size_t *lens = llmc_xcalloc(n_specials ? n_specials : 1, sizeof *lens);
    bool ok = true;
    for (uint32_t k = 0; ok && k < n_specials; k++) {
        if (body - at < 4) {
            llmc_err_set(err, "%s: truncated: special token %" PRIu32 " is missing", name, k);
            ok = false;
            break;
        }
        uint32_t n = get_u32(p + at);
        at += 4;
        if (n > body - at) {
            llmc_err_set(err, "%s: truncated: special token %" PRIu32 " (%" PRIu32 " bytes) does not fit", name, k, n);
            ok = false;
            break;
        }
        specials[k] = (const char *)p + at;
        lens[k] = n;
        at += n;
    }
    if (ok && at != body) {
        llmc_err_set(err, "%s: %zu trailing bytes before the checksum", name, body - at);
        ok = false;
    }
    RtBpe *t = ok ? rt_bpe_new(p + HEADER_BYTES, merges, n_merges, specials, lens, n_specials, name, err) : NULL;
    free(merges);
    free(specials);
    free(lens);
    return t;
}

RtBpe *rt_bpe_read(const char *path, LlmcErr *err) {
    char *bytes;
    size_t len;
    if (!llmc_file_read(path, &bytes, &len, err)) return NULL;
    RtBpe *t = rt_bpe_parse(bytes, len, path, err);
    free(bytes);
    return t;
}

/* ===================================================================================
 * GPT-2's files
 * =================================================================================== */

/* bytes_to_unicode(): printable bytes ('!'..'~', 0xA1..0xAC, 0xAE..0xFF) stand for
 * themselves; the other 68, in increasing order, for U+0100, U+0101, ... */
static bool gpt2_printable(uint32_t b) { return (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff); }

uint32_t rt_bpe_gpt2_char(uint8_t b) {
    if (gpt2_printable(b)) return b;
    uint32_t n = 0;
    for (uint32_t c = 0; c < b; c++) n += !gpt2_printable(c);
    return 256 + n;
}

/* The inverse: -1 for a code point no byte maps to. */
static int gpt2_byte(uint32_t cp) {
    if (cp < 256) return gpt2_printable(cp) ? (int)cp : -1;
    if (cp >= 256 + 68) return -1;
    uint32_t n = 0;
    for (uint32_t c = 0; c < 256; c++)
        if (!gpt2_printable(c) && n++ == cp - 256) return (int)c;
    return -1;
}

/* Decodes GPT-2's mapped text s[0..n) (UTF-8) into bytes; false if a character is not
 * one of the 256 mapped ones or the UTF-8 is bad. */
static bool gpt2_unmap(const char *s, size_t n, LlmcBuf *out) {
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        if (u[i] < 0x80) {
            cp = u[i++];
        } else if ((u[i] & 0xe0) == 0xc0 && i + 1 < n && (u[i + 1] & 0xc0) == 0x80) {
            cp = (uint32_t)(u[i] & 0x1f) << 6 | (u[i + 1] & 0x3f);
            i += 2;
        } else {
            return false; /* every mapped character is below U+0800 */
        }
        int b = gpt2_byte(cp);
        if (b < 0) return false;
        llmc_buf_putc(out, (char)b);
    }
    return true;
}

RtBpe *rt_bpe_import_gpt2(const char *encoder_json, const char *vocab_bpe, LlmcErr *err) {
    char *jtext = NULL, *mtext = NULL;
    size_t jlen, mlen;
    RtJson *root = NULL;
    RtBpe *t = NULL;
    const char **keys = NULL; /* [n]: id -> key */
    size_t *key_lens = NULL;
    StrMap ids = {0}; /* key -> id in .a */
    RtBpeMerge *merges = NULL;
    uint32_t n_merges = 0, cap_merges = 0;
    LlmcBuf tmp = {0};
    if (!llmc_file_read(encoder_json, &jtext, &jlen, err) || !llmc_file_read(vocab_bpe, &mtext, &mlen, err)) goto done;
    if (!rt_json_parse(jtext, jlen, encoder_json, &root, err)) goto done;
    if (root->kind != RT_JSON_OBJECT) {
        llmc_err_set(err, "%s: expected an object of token -> id, got %s", encoder_json, rt_json_kind_name(root->kind));
        goto done;
    }
    uint32_t n = root->count;
    if (n < 256 || n > 256 + RT_BPE_MAX_MERGES + RT_BPE_MAX_SPECIALS) {
        llmc_err_set(err, "%s: %" PRIu32 " tokens (a byte-level vocabulary has 256 to %u)", encoder_json, n,
                     256 + RT_BPE_MAX_MERGES + RT_BPE_MAX_SPECIALS);
        goto done;
    }
    keys = llmc_xcalloc(n, sizeof *keys);
    key_lens = llmc_xcalloc(n, sizeof *key_lens);
    for (uint32_t i = 0; i < n; i++) {
        const RtJson *m = &root->items[i];
        if (m->kind != RT_JSON_NUMBER || !m->is_int || m->integer < 0 || m->integer >= n) {
            llmc_err_set(err, "%s:%" PRIu32 ":%" PRIu32 ": token id must be an integer in [0, %" PRIu32 ")", encoder_json,
                         m->line, m->col, n);
            goto done;
        }
        uint32_t id = (uint32_t)m->integer;
        if (keys[id]) {
            llmc_err_set(err, "%s:%" PRIu32 ":%" PRIu32 ": id %" PRIu32 " is given twice", encoder_json, m->line, m->col, id);
            goto done;
        }
        keys[id] = m->key;
        key_lens[id] = m->key_len;
        strmap_get(&ids, (const unsigned char *)m->key, (uint32_t)m->key_len, true, NULL)->a = id;
    }
    uint8_t byte_of[256];
    for (uint32_t id = 0; id < 256; id++) {
        tmp.len = 0;
        if (!gpt2_unmap(keys[id], key_lens[id], &tmp) || tmp.len != 1) {
            llmc_err_set(err, "%s: id %" PRIu32 " ('%s') is not a single byte: ids 0..255 must be the 256 bytes",
                         encoder_json, id, keys[id]);
            goto done;
        }
        byte_of[id] = (uint8_t)tmp.data[0];
    }
    /* merges: "A B" lines */
    uint32_t line = 0;
    for (size_t pos = 0; pos < mlen;) {
        const char *ln = mtext + pos;
        const char *nl = memchr(ln, '\n', mlen - pos);
        size_t ll = nl ? (size_t)(nl - ln) : mlen - pos;
        pos += ll + (nl ? 1 : 0);
        line++;
        if (ll && ln[ll - 1] == '\r') ll--;
        if (ll == 0) continue;
        if (line == 1 && ln[0] == '#') continue; /* "#version: 0.2" */
        const char *sp = memchr(ln, ' ', ll);
        if (!sp || sp == ln || sp == ln + ll - 1 || memchr(sp + 1, ' ', (size_t)(ln + ll - sp - 1))) {
            llmc_err_set(err, "%s:%" PRIu32 ": expected two tokens separated by one space", vocab_bpe, line);
            goto done;
        }
        size_t la = (size_t)(sp - ln), lb = ll - la - 1;
        StrEntry *ea = strmap_get(&ids, (const unsigned char *)ln, (uint32_t)la, false, NULL);
        StrEntry *eb = strmap_get(&ids, (const unsigned char *)sp + 1, (uint32_t)lb, false, NULL);
        tmp.len = 0;
        llmc_buf_put(&tmp, ln, la);
        llmc_buf_put(&tmp, sp + 1, lb);
        StrEntry *ec = strmap_get(&ids, (const unsigned char *)tmp.data, (uint32_t)tmp.len, false, NULL);
        if (!ea || !eb || !ec) {
            llmc_err_set(err, "%s:%" PRIu32 ": '%.*s' is not in %s", vocab_bpe, line,
                         (int)(!ea ? la : !eb ? lb : tmp.len), !ea ? ln : !eb ? sp + 1 : tmp.data, encoder_json);
            goto done;
        }
        if (ec->a != 256 + n_merges) {
            llmc_err_set(err, "%s:%" PRIu32 ": merge %" PRIu32 " makes '%s' whose id is %" PRIu32 ", not %" PRIu32
                         " (ids must follow the merge order, as in GPT-2)", vocab_bpe, line, n_merges, tmp.data, ec->a,
                         256 + n_merges);
            goto done;
        }
        if (n_merges == cap_merges) {
            cap_merges = cap_merges ? cap_merges * 2 : 1024;
            merges = llmc_xrealloc(merges, cap_merges * sizeof *merges);
        }
        merges[n_merges++] = (RtBpeMerge){ea->a, eb->a};
    }
    uint32_t n_specials = n - 256 - n_merges;
    t = rt_bpe_new(byte_of, merges, n_merges, keys + 256 + n_merges, key_lens + 256 + n_merges, n_specials, vocab_bpe,
                   err);
done:
    llmc_buf_free(&tmp);
    free(merges);
    strmap_free(&ids);
    free(keys);
    free(key_lens);
    rt_json_free(root);
    free(jtext);
    free(mtext);
    return t;
}
