/* ir/interp_rand.c — randomness: Philox4x32-10, the value of one rand element, and the
 * rand op.
 *
 * rand is a pure function of (seed, step, micro-batch index, site, element index): no
 * generator state exists anywhere, so CSE, recomputation, sharding and rank count can
 * never change a value. The definition, which codegen must reproduce bit for bit:
 *   counter = {e & 0xffffffff, e >> 32, step, micro}, key = {seed, site}
 *   w = Philox4x32-10(counter, key)                        (Random123's, 10 rounds)
 *   uniform: (w[0] >> 8) * 2^-24                            in [0, 1), exact in f32
 *   normal:  u1 = ((w[0] >> 8) + 1) * 2^-24                 in (0, 1]: log(u1) is finite
 *            u2 = (w[1] >> 8) * 2^-24
 *            z  = sqrt(-2 ln u1) * cos(2 pi u2)             in double (Box-Muller, one
 *                                                           output; the sine half is unused)
 *
 * Deliberately not here: other generators, other distributions (the frontend composes
 * dropout masks, truncated normals etc. from these two), or a faster batch API.
 */
#include "ir_int.h"

#include <math.h>

/* Random123's constants: the round multipliers and the Weyl key increments. */
#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u
#define PHILOX_ROUNDS 10

/* One Philox round:
 *   (hi0, lo0) = M0 * c0, (hi1, lo1) = M1 * c2     (32x32 -> 64-bit products)
 *   c' = {hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0} */
static void philox_round(uint32_t c[4], const uint32_t k[2]) {
    uint64_t p0 = (uint64_t)PHILOX_M0 * c[0], p1 = (uint64_t)PHILOX_M1 * c[2];
    uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
    uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
    uint32_t n0 = hi1 ^ c[1] ^ k[0], n2 = hi0 ^ c[3] ^ k[1];
    c[0] = n0;
    c[1] = lo1;
    c[2] = n2;
    c[3] = lo0;
}

/* out = Philox4x32-10(counter, key): ten rounds, the key bumped by (W0, W1) before
 * every round but the first. */
void ir_philox4x32(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]) {
    uint32_t c[4] = {counter[0], counter[1], counter[2], counter[3]};
    uint32_t k[2] = {key[0], key[1]};
    for (int r = 0; r < PHILOX_ROUNDS; r++) {
        if (r > 0) {
            k[0] += PHILOX_W0;
            k[1] += PHILOX_W1;
        }
        philox_round(c, k);
    }
    for (int i = 0; i < 4; i++) out[i] = c[i];
}

/* The value of element e of a rand with these keys (see the banner). */
double ir_rand_value(IrRandDist dist, uint32_t seed, uint32_t step, uint32_t micro, uint32_t site, uint64_t e) {
    const uint32_t counter[4] = {(uint32_t)(e & 0xffffffffu), (uint32_t)(e >> 32), step, micro};
    const uint32_t key[2] = {seed, site};
    uint32_t w[4];
    ir_philox4x32(counter, key, w);
    const double two_m24 = 1.0 / 16777216.0; /* 2^-24 */
    switch (dist) {
    case IR_RAND_UNIFORM: return (double)(w[0] >> 8) * two_m24;
    case IR_RAND_NORMAL: {
        double u1 = (double)((w[0] >> 8) + 1u) * two_m24;
        double u2 = (double)(w[1] >> 8) * two_m24;
        const double two_pi = 6.283185307179586476925286766559;
        return sqrt(-2.0 * log(u1)) * cos(two_pi * u2);
    }
    case IR_RAND_INVALID:
    case IR_RAND_COUNT: break;
    }
    LLMC_ASSERT(!"rand: invalid distribution");
    return 0;
}

/* An i32[] key operand read as the uint32 with the same bits. */
static uint32_t key_operand(const IrValue *v) {
    return (uint32_t)((uint64_t)(int64_t)v->data[0] & 0xffffffffu);
}

/* out[e] = ir_rand_value(dist, seed, step, micro, site, E(e)); operands seed, step,
 * micro are i32[] scalars read as uint32. E(e) is the element's row-major index in the
 * unsharded tensor: e itself, or, with shard_axis >= 0, the index of this rank's block
 * (block `rank` along shard_axis) inside a tensor `shards` times as long there. So a
 * sharded rand draws exactly the values of the unsharded one. */
bool ir_interp_rand(const IrInterpCall *c) {
    const IrNode *n = c->node;
    uint32_t seed = key_operand(c->args[0]), step = key_operand(c->args[1]), micro = key_operand(c->args[2]);
    uint32_t site = (uint32_t)n->attrs.rand.site;
    IrRandDist dist = n->attrs.rand.dist;
    int64_t axis = n->attrs.rand.shard_axis;
    if (axis >= 0 && n->attrs.rand.shards != (int64_t)c->ranks) {
        llmc_err_set(c->err, "rand is sharded over %lld ranks but the world has %u", (long long)n->attrs.rand.shards,
                     c->ranks);
        return false;
    }
    const IrType *t = &c->out->type;
    IrType whole = *t;
    if (axis >= 0) whole.dims[axis] *= n->attrs.rand.shards;
    int64_t strides[IR_MAX_RANK], coords[IR_MAX_RANK];
    ir_type_strides(&whole, strides);
    int64_t numel = ir_type_numel(t);
    for (int64_t e = 0; e < numel; e++) {
        uint64_t global = (uint64_t)e;
        if (axis >= 0) {
            ir_type_unravel(t, e, coords);
            coords[axis] += (int64_t)c->rank * t->dims[axis];
            global = 0;
            for (uint32_t i = 0; i < t->rank; i++) global += (uint64_t)(coords[i] * strides[i]);
        }
        c->out->data[e] = ir_rand_value(dist, seed, step, micro, site, global);
    }
    return true;
}
