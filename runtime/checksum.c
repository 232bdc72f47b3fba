/* runtime/checksum.c — the one checksum of llmc's files (token shards, checkpoints,
 * bundles): 64-bit FNV-1a. It detects truncation, bit flips and mixed-up files; it is
 * not a defence against a deliberate forger, which no local training file needs. */
#include "runtime.h"

uint64_t rt_checksum_update(uint64_t h, const void *data, size_t len) {
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

uint64_t rt_checksum(const void *data, size_t len) { return rt_checksum_update(RT_CHECKSUM_INIT, data, len); }
