/* runtime/shards.c — token shards: a validating reader and an atomic writer.
 *
 * Layout (all little-endian; docs/formats.md, "Token shards"):
 *
 *   offset  size  field
 *        0     8  magic "LLMTOK\0\0"
 *        8     4  u32 version, 1
 *       12     4  u32 id bytes: 2 when vocab <= 65536 (u16 ids), else 4 (u32 ids)
 *       16     4  u32 vocab: the vocabulary the ids were made for; every id is < vocab
 *       20     4  u32 reserved, 0
 *       24     8  u64 count: number of ids
 *       32     8  u64 checksum: rt_checksum (64-bit FNV-1a) of the count * id-bytes
 *                 bytes of ids, as stored
 *       40     8  u64 header checksum: rt_checksum of bytes [0, 40)
 *       48        count ids, nothing after them
 *
 * The header checksum makes any corruption of the header (the count or the data
 * checksum included) detectable before a field is believed; the size check catches
 * truncation and appended bytes; the data checksum catches corrupt ids. FNV-1a changes
 * for any single changed byte (each step is a bijection of the running hash), so every
 * one-byte corruption is caught.
 *
 * The reader checks, in order: magic (so a foreign file says "not a token shard"),
 * version (a later version may lay its header out differently), header checksum, id
 * width, vocab, reserved, size, data checksum, ids < vocab. Fields are decoded with
 * shifts, so the code does not depend on the host's byte order.
 *
 * Deliberately not here: streaming or mmap (a shard is read whole; shards are meant to
 * be ~1M tokens), the directory loader (runtime/data.c), any tokenizer.
 */
#include "runtime.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_HASHED_BYTES 40u /* the header checksum covers [0, 40) */

static uint32_t get_u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const unsigned char *p) { return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32; }

static void put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* The id width the format prescribes for a vocabulary. */
static uint32_t id_bytes_for(uint32_t vocab) { return vocab <= 65536u ? 2u : 4u; }

/* ===================================================================================
 * Reader
 * =================================================================================== */

bool rt_shard_parse(const void *bytes, size_t len, const char *name, RtShardHeader *hdr, uint32_t **ids,
                    LlmcErr *err) {
    const unsigned char *p = bytes;
    if (hdr) memset(hdr, 0, sizeof *hdr);
    if (ids) *ids = NULL;
    size_t magic_n = len < 8 ? len : 8;
    if (magic_n > 0 && memcmp(p, RT_SHARD_MAGIC, magic_n) != 0) {
        llmc_err_set(err, "%s: not a token shard (bad magic; expected \"LLMTOK\")", name);
        return false;
    }
    if (len < RT_SHARD_HEADER_BYTES) {
        llmc_err_set(err, "%s: truncated header: %zu bytes, a token shard header is %u", name, len,
                     RT_SHARD_HEADER_BYTES);
        return false;
    }
    RtShardHeader h = {
        .version = get_u32(p + 8),
        .id_bytes = get_u32(p + 12),
        .vocab = get_u32(p + 16),
        .count = get_u64(p + 24),
        .checksum = get_u64(p + 32),
        .header_checksum = get_u64(p + 40),
    };
    uint32_t reserved = get_u32(p + 20);
    if (h.version != RT_SHARD_VERSION) {
        llmc_err_set(err, "%s: unsupported token shard version %" PRIu32 " (this build reads version %u)", name,
                     h.version, RT_SHARD_VERSION);
        return false;
    }
    uint64_t hh = rt_checksum(p, HEADER_HASHED_BYTES);
    if (hh != h.header_checksum) {
        llmc_err_set(err, "%s: header checksum mismatch (stored %016" PRIx64 ", computed %016" PRIx64 "): the header is corrupt",
                     name, h.header_checksum, hh);
        return false;
    }
    if (h.id_bytes != 2 && h.id_bytes != 4) {
        llmc_err_set(err, "%s: bad id width %" PRIu32 " bytes (must be 2 or 4)", name, h.id_bytes);
        return false;
    }
    if (h.vocab == 0) {
        llmc_err_set(err, "%s: vocab is 0", name);
        return false;
    }
    if (h.id_bytes != id_bytes_for(h.vocab)) {
        llmc_err_set(err, "%s: id width %" PRIu32 " does not match vocab %" PRIu32 " (ids are u16 when vocab <= 65536, else u32)",
                     name, h.id_bytes, h.vocab);
        return false;
    }
    if (reserved != 0) {
        llmc_err_set(err, "%s: reserved header field is %" PRIu32 ", must be 0", name, reserved);
        return false;
    }
    size_t payload = len - RT_SHARD_HEADER_BYTES;
    if (h.count > payload / h.id_bytes) {
        llmc_err_set(err, "%s: truncated: the header says %" PRIu64 " ids but only %zu bytes of ids follow", name,
                     h.count, payload);
        return false;
    }
    size_t data_bytes = (size_t)h.count * h.id_bytes; /* <= payload: no overflow */
    if (data_bytes != payload) {
        llmc_err_set(err, "%s: %zu trailing bytes after the %" PRIu64 " ids", name, payload - data_bytes, h.count);
        return false;
    }
    const unsigned char *data = p + RT_SHARD_HEADER_BYTES;
    uint64_t dh = rt_checksum(data, data_bytes);
    if (dh != h.checksum) {
        llmc_err_set(err, "%s: data checksum mismatch (stored %016" PRIx64 ", computed %016" PRIx64 "): the token ids are corrupt",
                     name, h.checksum, dh);
        return false;
    }
    uint32_t *out = ids ? llmc_xmalloc((h.count ? (size_t)h.count : 1) * sizeof *out) : NULL;
    for (uint64_t i = 0; i < h.count; i++) {
        const unsigned char *q = data + i * h.id_bytes;
        uint32_t id = h.id_bytes == 2 ? (uint32_t)q[0] | (uint32_t)q[1] << 8 : get_u32(q);
        if (id >= h.vocab) {
            llmc_err_set(err, "%s: token %" PRIu32 " at position %" PRIu64 " is >= vocab %" PRIu32, name, id, i,
                         h.vocab);
            free(out);
            return false;
        }
        if (out) out[i] = id;
    }
    if (hdr) *hdr = h;
    if (ids) *ids = out;
    return true;
}

bool rt_shard_read(const char *path, uint32_t **ids, uint64_t *count, uint32_t *vocab, LlmcErr *err) {
    *ids = NULL;
    *count = 0;
    *vocab = 0;
    char *bytes;
    size_t len;
    if (!llmc_file_read(path, &bytes, &len, err)) return false;
    RtShardHeader h;
    bool ok = rt_shard_parse(bytes, len, path, &h, ids, err);
    free(bytes);
    if (ok) {
        *count = h.count;
        *vocab = h.vocab;
    }
    return ok;
}

/* ===================================================================================
 * Writer
 * =================================================================================== */

bool rt_shard_write(const char *path, const uint32_t *ids, uint64_t count, uint32_t vocab, LlmcErr *err) {
    if (vocab == 0) {
        llmc_err_set(err, "%s: cannot write a token shard for vocab 0", path);
        return false;
    }
    for (uint64_t i = 0; i < count; i++) {
        if (ids[i] >= vocab) {
            llmc_err_set(err, "%s: token %" PRIu32 " at position %" PRIu64 " is >= vocab %" PRIu32, path, ids[i], i,
                         vocab);
            return false;
        }
    }
    uint32_t w = id_bytes_for(vocab);
    if (count > (SIZE_MAX - RT_SHARD_HEADER_BYTES) / w) {
        llmc_err_set(err, "%s: %" PRIu64 " ids do not fit in memory", path, count);
        return false;
    }
    size_t len = RT_SHARD_HEADER_BYTES + (size_t)count * w;
    unsigned char *buf = llmc_xmalloc(len);
    unsigned char *data = buf + RT_SHARD_HEADER_BYTES;
    for (uint64_t i = 0; i < count; i++) {
        if (w == 2) {
            data[2 * i] = (unsigned char)ids[i];
            data[2 * i + 1] = (unsigned char)(ids[i] >> 8);
        } else {
            put_u32(data + 4 * i, ids[i]);
        }
    }
    memcpy(buf, RT_SHARD_MAGIC, 8);
    put_u32(buf + 8, RT_SHARD_VERSION);
    put_u32(buf + 12, w);
    put_u32(buf + 16, vocab);
    put_u32(buf + 20, 0);
    put_u64(buf + 24, count);
    put_u64(buf + 32, rt_checksum(data, len - RT_SHARD_HEADER_BYTES));
    put_u64(buf + 40, rt_checksum(buf, HEADER_HASHED_BYTES));
    bool ok = llmc_file_write(path, buf, len, err);
    free(buf);
    return ok;
}
