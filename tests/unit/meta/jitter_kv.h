/* SPDX-License-Identifier: Apache-2.0 */
/* A kv wrapper that yields or sleeps at random before and after each
 * operation. kv_mem is so fast that threads rarely interleave inside a
 * read-modify-cas window; the jitter makes races (cas conflicts, concurrent
 * splits of one node, promotion by helpers) common enough to test. */
#ifndef KURA_TESTS_META_JITTER_KV_H
#define KURA_TESTS_META_JITTER_KV_H

#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#include "meta/kv.h"
#include "meta_test_util.h"

typedef struct jitter_kv {
    kv base;
    kv *inner;
    _Atomic uint64_t seed;
} jitter_kv;

static void jitter(jitter_kv *j) {
    static _Thread_local uint64_t rng;
    if (!rng) rng = atomic_fetch_add(&j->seed, 0x9E3779B97F4A7C15ULL) | 1;
    uint32_t r = rng_below(&rng, 64);
    if (r < 12) {
        sched_yield();
    } else if (r < 14) {
        struct timespec ts = {0, (long)(1000 + rng_below(&rng, 40000))};
        nanosleep(&ts, NULL);
    }
}

static kerr jit_get(kv *s, const void *k, size_t kl, kbuf *v) {
    jitter((jitter_kv *)s);
    kerr e = kv_get(((jitter_kv *)s)->inner, k, kl, v);
    jitter((jitter_kv *)s);
    return e;
}
static kerr jit_put(kv *s, const void *k, size_t kl, const void *v, size_t vl) {
    jitter((jitter_kv *)s);
    return kv_put(((jitter_kv *)s)->inner, k, kl, v, vl);
}
static kerr jit_del(kv *s, const void *k, size_t kl) {
    jitter((jitter_kv *)s);
    return kv_del(((jitter_kv *)s)->inner, k, kl);
}
static kerr jit_cas(kv *s, const void *k, size_t kl, const void *e, size_t el, const void *v,
                    size_t vl) {
    jitter((jitter_kv *)s);
    kerr r = kv_cas(((jitter_kv *)s)->inner, k, kl, e, el, v, vl);
    jitter((jitter_kv *)s);
    return r;
}
static void jit_close(kv *s) {
    free(s); /* the inner kv belongs to the caller */
}
static kerr jit_mget(kv *s, size_t n, const void *const *k, const size_t *kl, kbuf *v, kerr *e) {
    jitter((jitter_kv *)s);
    kerr r = kv_mget(((jitter_kv *)s)->inner, n, k, kl, v, e);
    jitter((jitter_kv *)s);
    return r;
}
static const kv_ops jitter_ops = {"jitter", jit_get,   jit_put, jit_del,
                                  jit_cas,  jit_close, jit_mget};

static kv *jitter_wrap(kv *inner) {
    jitter_kv *j = calloc(1, sizeof *j);
    j->base.ops = &jitter_ops;
    j->inner = inner;
    j->seed = 0x1234567;
    return &j->base;
}

#endif
