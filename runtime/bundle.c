/* runtime/bundle.c — the compiled bundle (`llmc MODEL.llm -o MODEL.llmc`): a versioned,
 * checksummed container of named sections, its reader and writer, and the two things the
 * runtime does with one: parse its IR, and install its kernel objects into an object
 * cache so that building executors from it needs no code generation.
 *
 * File layout (all integers little-endian; docs/formats.md "Bundles" says the same):
 *     0   magic "LLMCBNDL"                       8 bytes
 *     8   version (u32)                          RT_BUNDLE_VERSION = 1
 *     12  section count n (u32)                  1 .. RT_BUNDLE_MAX_SECTIONS
 *     16  file size (u64)                        the whole file, in bytes
 *     24  n table entries of 64 bytes:
 *           name      32 bytes, NUL-terminated, NUL-padded, printable ASCII, unique
 *           offset    u64  from the start of the file
 *           size      u64
 *           checksum  u64  rt_checksum (FNV-1a 64) of the section's bytes
 *           reserved  u64  0
 *     24+64n  header checksum (u64): rt_checksum of bytes [0, 24+64n)
 *     32+64n  the sections, back to back in table order: the first at 32+64n, each next
 *             one where the previous ends, the last one ending at the file size.
 * So every byte of a valid file is covered by a checksum (header and table by the header
 * checksum, which is itself checked; each section by its own), and nothing can hide in
 * gaps: a flipped bit or a cut anywhere is an error, never a silently different model.
 *
 * Sections written by llmc (all required):
 *   config.json   model, source, model_hash (rt_model_hash, hex), train record fields,
 *                 tokens_per_step, parameters, flops_per_step, memory {params, grads,
 *                 optimizer_state, activations_micro, activations_update, total}, kernels,
 *                 target {cpu, features, llvm}
 *   module.llir   ir_print_graph of @forward, @init, @micro, @update (one module text)
 *   memplan.json  {"graphs": [{"name", "kernels", "functions", "peak_bytes",
 *                 "total_bytes", "buffers": [[node id, offset, size], ...]}, ...]}
 *   kernels.bc    a blob table (below) of LLVM bitcode, one kernel module per entry
 *   objects       a blob table of host object files, one per kernel, as cache entries
 *                 (the inference graphs' kernels included)
 * and one optional section (a bundle without it trains but cannot sample):
 *   inference.llir  ir_print_module of the simplified inference graphs @logits, @prefill,
 *                 @decode (frontend.h "Inference graphs"), for llmrun generate
 * Blob table: u32 count, u32 target length L, L bytes of target text
 * (cc_objcache_target: cache format, LLVM version, triple, cpu, features), then per
 * entry: u64 key lo, u64 key hi (the CcObjKey), u64 length, the bytes.
 *
 * Deliberately not here: compiling (tools/llmc.c does it, with compiler/), mapping the
 * file (it is read whole: bundles of the models here are a few MB), and compression.
 */
#include "runtime.h"

#include "compiler.h"

#include <stdlib.h>
#include <string.h>

#define HEADER_FIXED 24u
#define ENTRY_SIZE 64u

const char *const rt_bundle_required[] = {"config.json", "module.llir", "memplan.json", "kernels.bc", "objects",
                                          NULL};

static void put_u32(LlmcBuf *b, uint32_t v) {
    unsigned char p[4];
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
    llmc_buf_put(b, (const char *)p, 4);
}
static void put_u64(LlmcBuf *b, uint64_t v) {
    unsigned char p[8];
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
    llmc_buf_put(b, (const char *)p, 8);
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

static bool name_valid(const char *s, size_t max) {
    size_t n = strnlen(s, max);
    if (n == 0 || n >= max) return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x21 || s[i] > 0x7e) return false;
    for (size_t i = n; i < max; i++)
        if (s[i]) return false;
    return true;
}

/* --- writing ------------------------------------------------------------------------ */

void rt_bundle_serialize(const RtBundleSection *sections, uint32_t n, LlmcBuf *out) {
    LLMC_ASSERT(n >= 1 && n <= RT_BUNDLE_MAX_SECTIONS);
    size_t start = out->len;
    uint64_t header = HEADER_FIXED + (uint64_t)ENTRY_SIZE * n + 8;
    uint64_t total = header;
    for (uint32_t i = 0; i < n; i++) total += sections[i].size;
    llmc_buf_put(out, RT_BUNDLE_MAGIC, 8);
    put_u32(out, RT_BUNDLE_VERSION);
    put_u32(out, n);
    put_u64(out, total);
    uint64_t off = header;
    for (uint32_t i = 0; i < n; i++) {
        char name[RT_BUNDLE_NAME_MAX] = {0};
        size_t len = strnlen(sections[i].name, RT_BUNDLE_NAME_MAX);
        LLMC_ASSERT(len > 0 && len < RT_BUNDLE_NAME_MAX);
        memcpy(name, sections[i].name, len);
        LLMC_ASSERT(name_valid(name, RT_BUNDLE_NAME_MAX));
        for (uint32_t j = 0; j < i; j++) LLMC_ASSERT(strcmp(sections[j].name, name) != 0);
        llmc_buf_put(out, name, RT_BUNDLE_NAME_MAX);
        put_u64(out, off);
        put_u64(out, sections[i].size);
        put_u64(out, rt_checksum(sections[i].data, (size_t)sections[i].size));
        put_u64(out, 0);
        off += sections[i].size;
    }
    put_u64(out, rt_checksum(out->data + start, (size_t)(header - 8)));
    for (uint32_t i = 0; i < n; i++) llmc_buf_put(out, (const char *)sections[i].data, (size_t)sections[i].size);
    LLMC_ASSERT(out->len - start == total);
}

bool rt_bundle_write(const char *path, const RtBundleSection *sections, uint32_t n, LlmcErr *err) {
    LlmcBuf b = {0};
    rt_bundle_serialize(sections, n, &b);
    bool ok = llmc_file_write(path, b.data, b.len, err);
    llmc_buf_free(&b);
    return ok;
}

/* --- reading ------------------------------------------------------------------------ */

bool rt_bundle_sniff(const void *bytes, size_t len) { return len >= 8 && memcmp(bytes, RT_BUNDLE_MAGIC, 8) == 0; }

const RtBundleSection *rt_bundle_section(const RtBundle *b, const char *name) {
    for (uint32_t i = 0; i < b->n_sections; i++)
        if (strcmp(b->sections[i].name, name) == 0) return &b->sections[i];
    return NULL;
}

void rt_bundle_free(RtBundle *b) {
    if (!b) return;
    free(b->sections);
    free(b->blob);
    memset(b, 0, sizeof *b);
}

/* The checks of rt_bundle_parse over b->blob; false + message. */
static bool parse_checked(RtBundle *b, const char *name, LlmcErr *err) {
    const unsigned char *d = b->blob;
    size_t len = b->blob_len;
    if (len < 8 || memcmp(d, RT_BUNDLE_MAGIC, 8) != 0) {
        if (len < 8 && memcmp(d, RT_BUNDLE_MAGIC, len) == 0)
            llmc_err_set(err, "%s: truncated bundle (%zu bytes, not even the magic)", name, len);
        else
            llmc_err_set(err, "%s: not an llmc bundle (wrong magic; expected \"%s\")", name, RT_BUNDLE_MAGIC);
        return false;
    }
    if (len < HEADER_FIXED) {
        llmc_err_set(err, "%s: truncated bundle (%zu bytes; the header alone is %u)", name, len, HEADER_FIXED);
        return false;
    }
    b->version = get_u32(d + 8);
    if (b->version != RT_BUNDLE_VERSION) {
        llmc_err_set(err, "%s: unsupported bundle version %u (this build reads version %u; recompile with llmc)",
                     name, b->version, RT_BUNDLE_VERSION);
        return false;
    }
    uint32_t n = get_u32(d + 12);
    if (n == 0 || n > RT_BUNDLE_MAX_SECTIONS) {
        llmc_err_set(err, "%s: corrupt bundle header (%u sections; 1 to %u allowed)", name, n, RT_BUNDLE_MAX_SECTIONS);
        return false;
    }
    size_t header = HEADER_FIXED + (size_t)ENTRY_SIZE * n + 8;
    if (len < header) {
        llmc_err_set(err, "%s: truncated bundle (%zu bytes; its header and section table need %zu)", name, len, header);
        return false;
    }
    if (get_u64(d + header - 8) != rt_checksum(d, header - 8)) {
        llmc_err_set(err, "%s: corrupt bundle header (header checksum mismatch)", name);
        return false;
    }
    uint64_t total = get_u64(d + 16);
    if (total != (uint64_t)len) {
        if (total > (uint64_t)len)
            llmc_err_set(err, "%s: truncated bundle (%zu of %llu bytes)", name, len, (unsigned long long)total);
        else
            llmc_err_set(err, "%s: corrupt bundle (%zu bytes, but the header says %llu: trailing data)", name, len,
                         (unsigned long long)total);
        return false;
    }
    b->sections = llmc_xcalloc(n, sizeof *b->sections);
    b->n_sections = n;
    uint64_t expect = header;
    for (uint32_t i = 0; i < n; i++) {
        const unsigned char *e = d + HEADER_FIXED + (size_t)ENTRY_SIZE * i;
        RtBundleSection *s = &b->sections[i];
        memcpy(s->name, e, RT_BUNDLE_NAME_MAX);
        if (!name_valid(s->name, RT_BUNDLE_NAME_MAX)) {
            llmc_err_set(err, "%s: corrupt section table (entry %u has no valid name)", name, i);
            return false;
        }
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(b->sections[j].name, s->name) == 0) {
                llmc_err_set(err, "%s: corrupt section table (section '%s' twice)", name, s->name);
                return false;
            }
        uint64_t off = get_u64(e + 32), size = get_u64(e + 40);
        if (off != expect || size > total - off || get_u64(e + 56) != 0) {
            llmc_err_set(err, "%s: corrupt section table (section '%s' at %llu, %llu bytes, in a %llu-byte file)", name,
                         s->name, (unsigned long long)off, (unsigned long long)size, (unsigned long long)total);
            return false;
        }
        s->data = d + off;
        s->size = size;
        if (rt_checksum(s->data, (size_t)size) != get_u64(e + 48)) {
            llmc_err_set(err, "%s: corrupt section '%s' (checksum mismatch)", name, s->name);
            return false;
        }
        expect = off + size;
    }
    if (expect != total) {
        llmc_err_set(err, "%s: corrupt section table (sections end at %llu of %llu bytes)", name,
                     (unsigned long long)expect, (unsigned long long)total);
        return false;
    }
    for (const char *const *r = rt_bundle_required; *r; r++)
        if (!rt_bundle_section(b, *r)) {
            llmc_err_set(err, "%s: missing section '%s' (not a complete bundle)", name, *r);
            return false;
        }
    static const char *const json_sections[] = {"config.json", "memplan.json"};
    for (int i = 0; i < 2; i++) {
        const RtBundleSection *s = rt_bundle_section(b, json_sections[i]);
        LlmcBuf where = {0};
        llmc_buf_printf(&where, "%s:%s", name, s->name);
        RtJson *root = NULL;
        bool ok = rt_json_parse((const char *)s->data, (size_t)s->size, where.data, &root, err);
        if (ok && root->kind != RT_JSON_OBJECT) {
            llmc_err_set(err, "%s: not a JSON object", where.data);
            ok = false;
        }
        rt_json_free(root);
        llmc_buf_free(&where);
        if (!ok) return false;
    }
    return true;
}

bool rt_bundle_parse(const void *bytes, size_t len, const char *name, RtBundle *out, LlmcErr *err) {
    memset(out, 0, sizeof *out);
    out->blob = llmc_xmalloc(len ? len : 1);
    if (len) memcpy(out->blob, bytes, len);
    out->blob_len = len;
    if (parse_checked(out, name, err)) return true;
    rt_bundle_free(out);
    return false;
}

bool rt_bundle_read(const char *path, RtBundle *out, LlmcErr *err) {
    memset(out, 0, sizeof *out);
    char *data = NULL;
    size_t len = 0;
    if (!llmc_file_read(path, &data, &len, err)) return false;
    out->blob = data;
    out->blob_len = len;
    if (parse_checked(out, path, err)) return true;
    rt_bundle_free(out);
    return false;
}

/* --- contents ----------------------------------------------------------------------- */

bool rt_bundle_module(const RtBundle *b, const char *name, IrModule *out, LlmcDiags *diags) {
    memset(out, 0, sizeof *out);
    const RtBundleSection *s = rt_bundle_section(b, "module.llir");
    LlmcBuf where = {0};
    llmc_buf_printf(&where, "%s:module.llir", name);
    bool ok;
    if (!s) {
        LlmcSource src = {.name = where.data};
        llmc_diag_at(diags, LLMC_SEV_ERROR, &src, 0, 0, "missing section");
        ok = false;
    } else {
        LlmcSource src = {where.data, (const char *)s->data, (size_t)s->size};
        ok = ir_parse_module(&src, out, diags);
    }
    llmc_buf_free(&where);
    return ok;
}

void rt_bundle_blobs_serialize(const char *target, const RtBundleBlob *items, uint32_t n, LlmcBuf *out) {
    size_t tl = strlen(target);
    put_u32(out, n);
    put_u32(out, (uint32_t)tl);
    llmc_buf_put(out, target, tl);
    for (uint32_t i = 0; i < n; i++) {
        put_u64(out, items[i].key_lo);
        put_u64(out, items[i].key_hi);
        put_u64(out, items[i].size);
        llmc_buf_put(out, (const char *)items[i].data, (size_t)items[i].size);
    }
}

void rt_bundle_blobs_free(RtBundleBlobs *t) {
    if (!t) return;
    free(t->target);
    free(t->items);
    memset(t, 0, sizeof *t);
}

bool rt_bundle_blobs(const RtBundle *b, const char *section, const char *name, RtBundleBlobs *out, LlmcErr *err) {
    memset(out, 0, sizeof *out);
    const RtBundleSection *s = rt_bundle_section(b, section);
    if (!s) {
        llmc_err_set(err, "%s: missing section '%s'", name, section);
        return false;
    }
    const unsigned char *p = s->data;
    uint64_t left = s->size;
    if (left < 8) goto bad;
    uint32_t count = get_u32(p), tl = get_u32(p + 4);
    p += 8;
    left -= 8;
    if (tl > left || count > left / 24) goto bad; /* each entry has at least 24 bytes */
    out->target = llmc_xcalloc(tl + 1, 1);
    memcpy(out->target, p, tl);
    if (strlen(out->target) != tl) goto bad;
    p += tl;
    left -= tl;
    out->items = llmc_xcalloc(count ? count : 1, sizeof *out->items);
    for (uint32_t i = 0; i < count; i++) {
        if (left < 24) goto bad;
        RtBundleBlob *it = &out->items[i];
        it->key_lo = get_u64(p);
        it->key_hi = get_u64(p + 8);
        it->size = get_u64(p + 16);
        p += 24;
        left -= 24;
        if (it->size > left) goto bad;
        it->data = p;
        p += it->size;
        left -= it->size;
    }
    if (left != 0) goto bad;
    out->count = count;
    return true;
bad:
    llmc_err_set(err, "%s: section '%s': malformed blob table", name, section);
    rt_bundle_blobs_free(out);
    return false;
}

bool rt_bundle_install_objects(const RtBundle *b, const char *name, CcObjCache *cache, const CcJit *jit,
                               uint32_t *installed, LlmcErr *err) {
    *installed = 0;
    RtBundleBlobs t;
    if (!rt_bundle_blobs(b, "objects", name, &t, err)) return false;
    char *host = cc_objcache_target(jit);
    bool ok = true;
    if (strcmp(host, t.target) != 0) {
        /* name the first line that differs: LLVM version, cpu or features */
        const char *a = t.target, *h = host;
        while (*a && *a == *h) {
            const char *na = strchr(a, '\n'), *nh = strchr(h, '\n');
            if (!na || !nh || na - a != nh - h || memcmp(a, h, (size_t)(na - a)) != 0) break;
            a = na + 1;
            h = nh + 1;
        }
        const char *ea = strchr(a, '\n');
        const char *eh = strchr(h, '\n');
        int la = ea ? (int)(ea - a) : (int)strlen(a), lh = eh ? (int)(eh - h) : (int)strlen(h);
        if (la > 120) la = 120;
        if (lh > 120) lh = 120;
        cc_objcache_warn(cache, name,
                         "the bundle's kernels were compiled for another target ('%.*s' here: '%.*s'); "
                         "none installed, they will be compiled",
                         la, a, lh, h);
    } else {
        for (uint32_t i = 0; i < t.count && ok; i++) {
            CcObjKey k = {.lo = t.items[i].key_lo, .hi = t.items[i].key_hi};
            ok = cc_objcache_store(cache, k, t.items[i].data, (size_t)t.items[i].size, err);
            if (ok) (*installed)++;
        }
    }
    free(host);
    rt_bundle_blobs_free(&t);
    return ok;
}

uint64_t rt_model_hash(const IrGraph *fwd) {
    IrGraph *g = ir_graph_clone(fwd);
    g->train.present = false;
    for (IrId id = 0; id < g->n_nodes; id++) g->nodes[id].loc = (IrLoc){0}; /* not the path nor the lines */
    LlmcBuf text = {0};
    ir_print_graph(g, &text);
    uint64_t h = rt_checksum(text.data ? text.data : "", text.len);
    llmc_buf_free(&text);
    ir_graph_free(g);
    return h;
}
