/* SPDX-License-Identifier: Apache-2.0 */
/* Name shapes, random order and random numbers for radix_bench.
 *
 * Every shape maps an index j to a name injectively, so the benchmark never
 * stores its names: name j is recomputed whenever it is needed (inserting,
 * looking up, choosing a page start), which keeps 10 million names out of
 * memory and makes the tree and the sorted set see identical keys.
 */
#include <stdio.h>
#include <string.h>

#include "bench/bench.h"

static const char BASE32[] = "abcdefghijklmnopqrstuvwxyz234567";

/* Independent streams for the shapes' randomness (arbitrary constants). */
#define FLAT_KEY 0x5DEECE66DA3B1F27ULL
#define FLAT_TAIL_KEY 0x2545F4914F6CDD1DULL
#define HOT_PICK_KEY 0x9E3779B97F4A7C15ULL
#define HOT_NAME_KEY 0xD1B54A32D192ED03ULL

/* deep: org/team/user/month directories above the files */
#define DEEP_ORGS 8
#define DEEP_TEAMS 16
#define DEEP_USERS 32
#define DEEP_MONTHS 12
#define DEEP_LEAF_DIRS (DEEP_ORGS * DEEP_TEAMS * DEEP_USERS * DEEP_MONTHS)
/* numeric: "/<id>/<seq>", ids not zero-padded so "/1", "/12", "/123" share
 * digit prefixes the way MetaKage's example does */
#define NUMERIC_IDS 100000
/* hot: the share of names (in tenths) under the one hot prefix */
#define HOT_TENTHS 3
#define HOT_PREFIX "logs/2026/11/22/"

const char *shape_label(name_shape s) {
    switch (s) {
    case SHAPE_FLAT:
        return "flat";
    case SHAPE_DEEP:
        return "deep";
    case SHAPE_NUMERIC:
        return "numeric";
    case SHAPE_HOT:
        return "hot";
    default:
        return "?";
    }
}

bool shape_parse(const char *text, name_shape *out) {
    for (int s = 0; s < SHAPE_COUNT; s++) {
        if (strcmp(text, shape_label((name_shape)s)) == 0) {
            *out = (name_shape)s;
            return true;
        }
    }
    return false;
}

uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDULL;
    x ^= x >> 33;
    x *= 0xC4CEB9FE1A85EC53ULL;
    x ^= x >> 33;
    return x;
}

/* 16 base32 chars. The first 13 carry all 64 bits of a bijective mix of j
 * (so distinct j give distinct names); the last 3 add independent noise so
 * the tail is not a function of the head's last char. */
static size_t flat_name(uint64_t j, char *out) {
    uint64_t h = mix64(j ^ FLAT_KEY);
    for (int c = 0; c < 13; c++) out[c] = BASE32[(h >> (5 * c)) & 31];
    /* bits 1-15 of the tail mix (the figures in README.md were made with
     * these bits: keep them so runs stay comparable) */
    uint64_t tail = mix64(h ^ FLAT_TAIL_KEY);
    for (int c = 0; c < 3; c++) out[13 + c] = BASE32[(tail >> (5 * c + 1)) & 31];
    out[16] = '\0';
    return 16;
}

size_t shape_name(name_shape s, uint64_t j, char out[BENCH_NAME_MAX]) {
    int n = 0;
    switch (s) {
    case SHAPE_FLAT:
        return flat_name(j, out);
    case SHAPE_DEEP: {
        /* the leaf directory varies fastest, so every directory fills evenly
         * as j grows and file numbers grow with the bucket */
        uint64_t leaf = j % DEEP_LEAF_DIRS, file = j / DEEP_LEAF_DIRS;
        unsigned org = (unsigned)(leaf % DEEP_ORGS);
        unsigned team = (unsigned)(leaf / DEEP_ORGS % DEEP_TEAMS);
        unsigned user = (unsigned)(leaf / (DEEP_ORGS * DEEP_TEAMS) % DEEP_USERS);
        unsigned month = (unsigned)(leaf / (DEEP_ORGS * DEEP_TEAMS * DEEP_USERS));
        n = snprintf(out, BENCH_NAME_MAX,
                     "org-%02u/team-%02u/user-%03u/2025-%02u/part-%06llu.parquet", org, team,
                     user * 7 + 100, month + 1, (unsigned long long)file);
        break;
    }
    case SHAPE_NUMERIC:
        n = snprintf(out, BENCH_NAME_MAX, "/%llu/%llu", (unsigned long long)(j % NUMERIC_IDS),
                     (unsigned long long)(j / NUMERIC_IDS));
        break;
    case SHAPE_HOT: {
        if (mix64(j ^ HOT_PICK_KEY) % 10 >= HOT_TENTHS) return flat_name(j, out); /* no '/' */
        uint64_t h = mix64(j ^ HOT_NAME_KEY); /* bijective: distinct hot names */
        unsigned second_of_day = (unsigned)(mix64(h) % 86400);
        n = snprintf(out, BENCH_NAME_MAX, HOT_PREFIX "%02u%02u%02u-%016llx.gz",
                     second_of_day / 3600, second_of_day / 60 % 60, second_of_day % 60,
                     (unsigned long long)h);
        break;
    }
    default:
        out[0] = '\0';
        return 0;
    }
    return n > 0 ? (size_t)n : 0;
}

/* ---- permutation --------------------------------------------------------- */

void perm_init(permutation *p, uint64_t n, uint64_t seed) {
    p->n = n;
    unsigned bits = 2;
    while (bits < 62 && (1ULL << bits) < n) bits++;
    p->half_bits = (bits + 1) / 2;
    for (int r = 0; r < 4; r++)
        p->round_keys[r] = mix64(seed + (uint64_t)r * 0x9E3779B97F4A7C15ULL);
}

uint64_t perm_at(const permutation *p, uint64_t i) {
    uint64_t half_mask = (1ULL << p->half_bits) - 1;
    uint64_t x = i;
    do { /* cycle walking: at most 4 steps on average since n > domain / 4 */
        uint64_t left = x >> p->half_bits, right = x & half_mask;
        for (int r = 0; r < 4; r++) {
            uint64_t next = left ^ (mix64(right ^ p->round_keys[r]) & half_mask);
            left = right;
            right = next;
        }
        x = (left << p->half_bits) | right;
    } while (x >= p->n);
    return x;
}

/* ---- random numbers ------------------------------------------------------ */

void rng_seed(rng *r, uint64_t seed) {
    r->state = seed;
}

uint64_t rng_next(rng *r) { /* splitmix64 */
    r->state += 0x9E3779B97F4A7C15ULL;
    return mix64(r->state);
}

uint64_t rng_below(rng *r, uint64_t n) {
    return n ? rng_next(r) % n : 0;
}
