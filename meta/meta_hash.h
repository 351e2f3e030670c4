/* SPDX-License-Identifier: Apache-2.0 */
/* Internal to meta/: small non-cryptographic hashes.
 *
 * meta/ must not depend on common/hash.h (which is for checksums and
 * digests); these are only for hash tables, LMDB long-key slots and the
 * radix tree's Bloom hints. mh_hash64 is an xxh64-style single-lane hash:
 * fast, good avalanche (final fmix64), and independent outputs for
 * different seeds, which is what mh_hash128 relies on.
 */
#ifndef KURA_META_META_HASH_H
#define KURA_META_META_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define MH_P1 0x9E3779B185EBCA87ULL
#define MH_P2 0xC2B2AE3D27D4EB4FULL
#define MH_P3 0x165667B19E3779F9ULL
#define MH_P4 0x85EBCA77C2B2AE63ULL
#define MH_P5 0x27D4EB2F165667C5ULL

static inline uint64_t mh_rotl(uint64_t x, int r) {
    return (x << r) | (x >> (64 - r));
}

/* MurmurHash3's 64-bit finaliser: every input bit affects every output bit. */
static inline uint64_t mh_fmix64(uint64_t h) {
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDULL;
    h ^= h >> 33;
    h *= 0xC4CEB9FE1A85EC53ULL;
    h ^= h >> 33;
    return h;
}

static inline uint64_t mh_hash64(const void *data, size_t len, uint64_t seed) {
    const uint8_t *p = data;
    uint64_t h = seed + MH_P5 + (uint64_t)len * MH_P1;
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        w *= MH_P2;
        w = mh_rotl(w, 31) * MH_P1;
        h ^= w;
        h = mh_rotl(h, 27) * MH_P1 + MH_P4;
        p += 8;
        len -= 8;
    }
    if (len >= 4) {
        uint32_t w;
        memcpy(&w, p, 4);
        h ^= (uint64_t)w * MH_P1;
        h = mh_rotl(h, 23) * MH_P2 + MH_P3;
        p += 4;
        len -= 4;
    }
    while (len--) {
        h ^= (uint64_t)(*p++) * MH_P5;
        h = mh_rotl(h, 11) * MH_P1;
    }
    return mh_fmix64(h ^ (h >> 29));
}

/* 128 bits as two 64-bit hashes with unrelated seeds. */
static inline void mh_hash128(const void *data, size_t len, uint8_t out[16]) {
    uint64_t a = mh_hash64(data, len, 0x6B75726131323861ULL);
    uint64_t b = mh_hash64(data, len, 0x2545F4914F6CDD1DULL ^ MH_P3);
    memcpy(out, &a, 8);
    memcpy(out + 8, &b, 8);
}

/* splitmix64: a full-period sequence of well-mixed 64-bit values. */
static inline uint64_t mh_splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

#endif
