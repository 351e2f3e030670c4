/* SPDX-License-Identifier: Apache-2.0 */
/* radix_bench: the scale benchmark of the distributed radix tree (issue 3).
 *
 * Two runs share this header:
 * - model (model.c): the tree over the in-memory counting kv; reports kv
 *   reads/writes per operation, root-node reads with and without hints and
 *   node fill, for several name shapes.
 * - redis (redis_run.c): the tree over real Redis shards next to the
 *   simplest alternative (one sorted set per bucket); reports inserts/s,
 *   list-page latency and Redis memory per key as one bucket grows.
 *
 * Everything here is deterministic from a seed so two runs (and the tree
 * and the sorted set within one run) see exactly the same names.
 */
#ifndef KURA_BENCH_BENCH_H
#define KURA_BENCH_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- name shapes (shapes.c) ------------------------------------------------ */

typedef enum name_shape {
    SHAPE_FLAT,    /* 16 random base32 chars: no structure at all */
    SHAPE_DEEP,    /* org/team/user/month/file: five levels, realistic fan-out */
    SHAPE_NUMERIC, /* "/12345/89": MetaKage's numeric runs, shared digit prefixes */
    SHAPE_HOT,     /* 30% under "logs/2026/11/22/", the rest flat */
    SHAPE_COUNT
} name_shape;

#define BENCH_NAME_MAX 128

const char *shape_label(name_shape s);
bool shape_parse(const char *text, name_shape *out);
/* Name number j of a shape. Injective in j (distinct j, distinct names) for
 * every j < 2^40, so any set of indexes is a set of distinct names. */
size_t shape_name(name_shape s, uint64_t j, char out[BENCH_NAME_MAX]);

/* A pseudo-random bijection of [0, n): inserting perm_at(0..n-1) visits every
 * name once, in an order with no locality (a Feistel network over the next
 * power of four, walking cycles until the value falls below n). */
typedef struct permutation {
    uint64_t n;
    unsigned half_bits;
    uint64_t round_keys[4];
} permutation;

void perm_init(permutation *p, uint64_t n, uint64_t seed);
uint64_t perm_at(const permutation *p, uint64_t i);

/* Bijective 64-bit mixer (MurmurHash3 fmix64). */
uint64_t mix64(uint64_t x);

typedef struct rng {
    uint64_t state;
} rng;

void rng_seed(rng *r, uint64_t seed);
uint64_t rng_next(rng *r);
uint64_t rng_below(rng *r, uint64_t n);

/* ---- measuring and reporting (report.c) ------------------------------------- */

uint64_t now_ns(void);
/* A field of /proc/self/status in KiB ("VmRSS", "VmHWM"); 0 if unknown. */
uint64_t proc_status_kib(const char *field);
/* Sorts v in place and returns its p-quantile (0 <= p <= 1); 0 if n == 0. */
double quantile_sorted(double *v, size_t n, double p);
void sort_doubles(double *v, size_t n);
/* "10000,100000" -> values; returns the count, 0 on a malformed list. */
size_t parse_u64_list(const char *text, uint64_t *out, size_t cap);
/* Parses a count with an optional k/M suffix ("2.5M", "100k"); false if bad. */
bool parse_count(const char *text, uint64_t *out);
/* Prints the machine (nproc, CPU model, load average) as a RESULT line. */
void print_machine(const char *mode);
/* The 1-minute load average, as text ("?" if unknown): the machine is
 * shared, so every run records how busy it was. */
void load_average(char *out, size_t cap);

/* ---- the runs ------------------------------------------------------------------ */

int model_main(int argc, char **argv);
int redis_main(int argc, char **argv);
/* redis_run.c: one ListObjectsV2 page over 3 shards, one kv read per node
 * and record against batched (kv_mget) reads */
int listing_main(int argc, char **argv);

#endif
