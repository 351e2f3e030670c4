/* SPDX-License-Identifier: Apache-2.0 */
/* kv semantics, run against every backend: kv_mem and kv_lmdb. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta/kv.h"
#include "meta_test_util.h"

/* ---- fixtures: each test body runs on both backends ---------------------- */

typedef struct backend {
    kv *s;
    char *dir; /* LMDB only */
} backend;

static void open_mem(backend *b) {
    b->s = kv_mem_new();
    b->dir = NULL;
    assert_non_null(b->s);
}

static void open_lmdb(backend *b) {
    b->dir = make_tmpdir("kvtest");
    assert_int_equal(kv_lmdb_open(b->dir, 0, &b->s), K_OK);
}

static void close_backend(backend *b) {
    kv_close(b->s);
    if (b->dir) remove_tree(b->dir);
}

static void assert_value(kv *s, const void *k, size_t kl, const void *v, size_t vl) {
    kbuf got = KBUF_INIT;
    assert_int_equal(kv_get(s, k, kl, &got), K_OK);
    assert_int_equal(got.len, vl);
    if (vl) assert_memory_equal(got.data, v, vl);
    kbuf_free(&got);
}

static void assert_absent(kv *s, const void *k, size_t kl) {
    kbuf got = KBUF_INIT;
    assert_int_equal(kv_get(s, k, kl, &got), K_ENOTFOUND);
    assert_int_equal(got.len, 0);
    kbuf_free(&got);
}

/* ---- basic semantics -------------------------------------------------------- */

static void basic_semantics(kv *s) {
    assert_absent(s, "a", 1);
    assert_int_equal(kv_put(s, "a", 1, "one", 3), K_OK);
    assert_value(s, "a", 1, "one", 3);
    assert_int_equal(kv_put(s, "a", 1, "uno!", 4), K_OK); /* overwrite, new length */
    assert_value(s, "a", 1, "uno!", 4);
    assert_int_equal(kv_put(s, "empty", 5, "", 0), K_OK); /* empty value exists */
    assert_value(s, "empty", 5, "", 0);
    assert_int_equal(kv_del(s, "a", 1), K_OK);
    assert_absent(s, "a", 1);
    assert_int_equal(kv_del(s, "a", 1), K_ENOTFOUND);
    assert_int_equal(kv_del(s, "empty", 5), K_OK);

    /* invalid sizes */
    kbuf v = KBUF_INIT;
    assert_int_equal(kv_get(s, "", 0, &v), K_EINVAL);
    static char big[2049];
    memset(big, 'k', sizeof big);
    assert_int_equal(kv_put(s, big, 2049, "v", 1), K_ETOOLARGE);
    char *huge = calloc(1, (1 << 20) + 1);
    assert_int_equal(kv_put(s, "h", 1, huge, (1 << 20) + 1), K_ETOOLARGE);
    assert_int_equal(kv_put(s, "h", 1, huge, 1 << 20), K_OK); /* exactly 1 MiB is fine */
    assert_int_equal(kv_get(s, "h", 1, &v), K_OK);
    assert_int_equal(v.len, 1 << 20);
    free(huge);
    kbuf_free(&v);
}

static void cas_semantics(kv *s) {
    /* absent expectation */
    assert_int_equal(kv_cas(s, "c", 1, NULL, 0, "v1", 2), K_OK);
    assert_value(s, "c", 1, "v1", 2);
    assert_int_equal(kv_cas(s, "c", 1, NULL, 0, "zz", 2), K_ECONFLICT);
    assert_value(s, "c", 1, "v1", 2); /* conflict leaves it unchanged */
    /* matching and non-matching expectations */
    assert_int_equal(kv_cas(s, "c", 1, "v1", 2, "v2", 2), K_OK);
    assert_value(s, "c", 1, "v2", 2);
    assert_int_equal(kv_cas(s, "c", 1, "v1", 2, "v3", 2), K_ECONFLICT);
    assert_int_equal(kv_cas(s, "c", 1, "v", 1, "v3", 2), K_ECONFLICT); /* prefix is not equal */
    assert_int_equal(kv_cas(s, "c", 1, "v22", 3, "v3", 2), K_ECONFLICT);
    assert_value(s, "c", 1, "v2", 2);
    /* expectation on an absent key fails */
    assert_int_equal(kv_cas(s, "nokey", 5, "v", 1, "x", 1), K_ECONFLICT);
    assert_absent(s, "nokey", 5);
    /* empty value vs absent are different states */
    assert_int_equal(kv_cas(s, "e", 1, NULL, 0, "", 0), K_OK);
    assert_int_equal(kv_cas(s, "e", 1, NULL, 0, "x", 1), K_ECONFLICT);
    assert_int_equal(kv_cas(s, "e", 1, "", 0, "x", 1), K_OK);
    assert_value(s, "e", 1, "x", 1);
    /* delete via cas */
    assert_int_equal(kv_cas(s, "c", 1, "nope", 4, NULL, 0), K_ECONFLICT);
    assert_value(s, "c", 1, "v2", 2);
    assert_int_equal(kv_cas(s, "c", 1, "v2", 2, NULL, 0), K_OK);
    assert_absent(s, "c", 1);
    /* absent -> absent via cas delete is a no-op success */
    assert_int_equal(kv_cas(s, "c", 1, NULL, 0, NULL, 0), K_OK);
    assert_absent(s, "c", 1);
    assert_int_equal(kv_cas(s, "e", 1, "x", 1, NULL, 0), K_OK);
}

/* Keys around the LMDB direct/slotted boundary, sharing long prefixes, and
 * binary bytes: each must keep its own value. */
static void long_and_binary_keys(kv *s) {
    static const size_t lens[] = {1,   2,   400, 463, 464,  465,  479, 480,
                                  481, 482, 511, 512, 1000, 2047, 2048};
    const size_t nl = sizeof lens / sizeof lens[0];
    uint8_t *key = malloc(2048);
    char val[64];
    for (int variant = 0; variant < 3; variant++) {
        for (size_t i = 0; i < nl; i++) {
            /* same bytes for every key: they share all prefixes */
            for (size_t j = 0; j < lens[i]; j++) key[j] = (uint8_t)(j * 7 + 3);
            if (variant == 1) key[lens[i] - 1] ^= 0xFF; /* differs only at the end */
            if (variant == 2) key[lens[i] / 2] = 0x00;  /* a NUL inside */
            int n = snprintf(val, sizeof val, "v%d-%zu", variant, lens[i]);
            assert_int_equal(kv_put(s, key, lens[i], val, (size_t)n), K_OK);
        }
    }
    for (int variant = 0; variant < 3; variant++) {
        for (size_t i = 0; i < nl; i++) {
            for (size_t j = 0; j < lens[i]; j++) key[j] = (uint8_t)(j * 7 + 3);
            if (variant == 1) key[lens[i] - 1] ^= 0xFF;
            if (variant == 2) key[lens[i] / 2] = 0x00;
            int n = snprintf(val, sizeof val, "v%d-%zu", variant, lens[i]);
            if (variant == 2 && lens[i] / 2 == 0) continue; /* same key as variant 0 at len 1 */
            if (variant == 2 && lens[i] == 1) continue;
            assert_value(s, key, lens[i], val, (size_t)n);
        }
    }
    /* cas and delete on a long key */
    memset(key, 0xEE, 2048);
    assert_int_equal(kv_cas(s, key, 2048, NULL, 0, "a", 1), K_OK);
    assert_int_equal(kv_cas(s, key, 2048, NULL, 0, "b", 1), K_ECONFLICT);
    assert_int_equal(kv_cas(s, key, 2048, "a", 1, "b", 1), K_OK);
    assert_value(s, key, 2048, "b", 1);
    key[2047] = 0xED; /* same slot prefix, different key */
    assert_absent(s, key, 2048);
    assert_int_equal(kv_del(s, key, 2048), K_ENOTFOUND);
    key[2047] = 0xEE;
    assert_int_equal(kv_del(s, key, 2048), K_OK);
    assert_absent(s, key, 2048);
    /* binary: all byte values as a key */
    uint8_t all[256];
    for (int i = 0; i < 256; i++) all[i] = (uint8_t)i;
    assert_int_equal(kv_put(s, all, 256, all, 256), K_OK);
    assert_value(s, all, 256, all, 256);
    free(key);
}

static void many_keys(kv *s, int n) {
    char k[32], v[32];
    for (int i = 0; i < n; i++) {
        int kl = snprintf(k, sizeof k, "key/%d", i);
        int vl = snprintf(v, sizeof v, "%d", i * 31);
        assert_int_equal(kv_put(s, k, (size_t)kl, v, (size_t)vl), K_OK);
    }
    for (int i = 0; i < n; i += 2) {
        int kl = snprintf(k, sizeof k, "key/%d", i);
        assert_int_equal(kv_del(s, k, (size_t)kl), K_OK);
    }
    for (int i = 0; i < n; i++) {
        int kl = snprintf(k, sizeof k, "key/%d", i);
        int vl = snprintf(v, sizeof v, "%d", i * 31);
        if (i % 2) {
            assert_value(s, k, (size_t)kl, v, (size_t)vl);
        } else {
            assert_absent(s, k, (size_t)kl);
        }
    }
}

/* ---- multi-get --------------------------------------------------------------------- */

/* The keys of one kv_mget check: present and absent ones interleaved,
 * binary bytes and NULs, lengths around LMDB's direct/slotted boundary and
 * the 2048-byte limit, an empty value, duplicates, and invalid keys. */
typedef struct mg_case {
    size_t n;
    uint8_t **keys;
    size_t *klens;
    kerr *want;     /* K_OK, K_ENOTFOUND, K_EINVAL, K_ETOOLARGE */
    uint8_t **vals; /* expected value when K_OK */
    size_t *vlens;
} mg_case;

static void mg_add(mg_case *c, const void *key, size_t klen, kerr want, const void *val,
                   size_t vlen) {
    size_t i = c->n++;
    c->keys = realloc(c->keys, c->n * sizeof *c->keys);
    c->klens = realloc(c->klens, c->n * sizeof *c->klens);
    c->want = realloc(c->want, c->n * sizeof *c->want);
    c->vals = realloc(c->vals, c->n * sizeof *c->vals);
    c->vlens = realloc(c->vlens, c->n * sizeof *c->vlens);
    c->keys[i] = malloc(klen ? klen : 1);
    if (klen) memcpy(c->keys[i], key, klen);
    c->klens[i] = klen;
    c->want[i] = want;
    c->vals[i] = malloc(vlen ? vlen : 1);
    if (vlen) memcpy(c->vals[i], val, vlen);
    c->vlens[i] = vlen;
}

static void mg_free(mg_case *c) {
    for (size_t i = 0; i < c->n; i++) {
        free(c->keys[i]);
        free(c->vals[i]);
    }
    free(c->keys);
    free(c->klens);
    free(c->want);
    free(c->vals);
    free(c->vlens);
    memset(c, 0, sizeof *c);
}

/* Writes the present keys of a fresh case to s (tag keeps runs apart). */
static void mg_build(kv *s, const char *tag, size_t many, size_t maxkey, mg_case *c) {
    memset(c, 0, sizeof *c);
    char k[64], v[64];
    for (size_t i = 0; i < many; i++) {
        int kl = snprintf(k, sizeof k, "%s/mg/%zu", tag, i);
        int vl = snprintf(v, sizeof v, "value-%zu-%s", i * 7919, tag);
        if (i % 3 == 1) {
            mg_add(c, k, (size_t)kl, K_ENOTFOUND, NULL, 0);
        } else {
            assert_int_equal(kv_put(s, k, (size_t)kl, v, (size_t)vl), K_OK);
            mg_add(c, k, (size_t)kl, K_OK, v, (size_t)vl);
        }
    }
    /* binary: NULs, every byte value, keys differing only after a NUL */
    uint8_t bin[256];
    for (int i = 0; i < 256; i++) bin[i] = (uint8_t)(255 - i);
    size_t tl = strlen(tag);
    memcpy(bin + 1, tag, tl); /* bin[0] = 0xFF, then the tag */
    assert_int_equal(kv_put(s, bin, sizeof bin, bin, sizeof bin), K_OK);
    mg_add(c, bin, sizeof bin, K_OK, bin, sizeof bin);
    uint8_t nul_a[8] = {'n', 0, 'a'}, nul_b[8] = {'n', 0, 'b'};
    memcpy(nul_a + 3, tag, tl < 5 ? tl : 5);
    memcpy(nul_b + 3, tag, tl < 5 ? tl : 5);
    assert_int_equal(kv_put(s, nul_a, sizeof nul_a, "\0A", 2), K_OK);
    mg_add(c, nul_a, sizeof nul_a, K_OK, "\0A", 2);
    mg_add(c, nul_b, sizeof nul_b, K_ENOTFOUND, NULL, 0);
    /* long keys around 480/481 (LMDB slots) and the 2048 limit */
    const size_t lens[] = {479, 480, 481, 1000, maxkey};
    uint8_t *lk = malloc(maxkey + 1);
    for (size_t j = 0; j < sizeof lens / sizeof lens[0]; j++) {
        memset(lk, 0x5A, maxkey + 1);
        memcpy(lk, tag, tl);
        lk[lens[j] - 1] = (uint8_t)j;
        char lv[16];
        int lvl = snprintf(lv, sizeof lv, "long%zu", lens[j]);
        assert_int_equal(kv_put(s, lk, lens[j], lv, (size_t)lvl), K_OK);
        mg_add(c, lk, lens[j], K_OK, lv, (size_t)lvl);
        lk[lens[j] - 1] ^= 0xFF; /* same length, last byte differs: absent */
        mg_add(c, lk, lens[j], K_ENOTFOUND, NULL, 0);
    }
    memset(lk, 'x', maxkey + 1);
    mg_add(c, lk, maxkey + 1, K_ETOOLARGE, NULL, 0);
    free(lk);
    /* an empty value is a value; an empty key is invalid */
    int kl = snprintf(k, sizeof k, "%s/empty", tag);
    assert_int_equal(kv_put(s, k, (size_t)kl, "", 0), K_OK);
    mg_add(c, k, (size_t)kl, K_OK, "", 0);
    mg_add(c, "", 0, K_EINVAL, NULL, 0);
    /* duplicates get the same answer each */
    mg_add(c, c->keys[0], c->klens[0], c->want[0], c->vals[0], c->vlens[0]);
    mg_add(c, c->keys[1], c->klens[1], c->want[1], c->vals[1], c->vlens[1]);
}

/* Runs one kv_mget of the case: every answer must be the expected one and
 * the same as kv_get's. vals start dirty, to see that absent keys reset. */
static void mg_check(kv *s, const mg_case *c) {
    kbuf *vals = calloc(c->n, sizeof *vals);
    kerr *errs = malloc(c->n * sizeof *errs);
    for (size_t i = 0; i < c->n; i++) {
        kbuf_append(&vals[i], "dirty", 5);
        errs[i] = K_EINTERNAL;
    }
    assert_int_equal(kv_mget(s, c->n, (const void *const *)c->keys, c->klens, vals, errs), K_OK);
    kbuf one = KBUF_INIT;
    size_t bad = 0;
    for (size_t i = 0; i < c->n; i++) {
        kerr single = kv_get(s, c->keys[i], c->klens[i], &one);
        bool ok = errs[i] == c->want[i] && single == c->want[i];
        if (c->want[i] == K_OK)
            ok = ok && vals[i].len == c->vlens[i] && one.len == c->vlens[i] &&
                 (c->vlens[i] == 0 || (memcmp(vals[i].data, c->vals[i], c->vlens[i]) == 0 &&
                                       memcmp(one.data, c->vals[i], c->vlens[i]) == 0));
        else
            ok = ok && vals[i].len == 0;
        if (!ok && bad++ < 5)
            print_message("mget key %zu (%zu bytes): err %d want %d (get %d), %zu bytes\n", i,
                          c->klens[i], (int)errs[i], (int)c->want[i], (int)single, vals[i].len);
        kbuf_free(&vals[i]);
    }
    kbuf_free(&one);
    free(vals);
    free(errs);
    assert_int_equal(bad, 0);
}

/* maxkey: the longest key s takes (2048; less behind a prefix). */
static void mget_semantics(kv *s, const char *tag, size_t maxkey) {
    /* nothing to read: K_OK, nothing touched (NULL arrays are fine) */
    assert_int_equal(kv_mget(s, 0, NULL, NULL, NULL, NULL), K_OK);
    mg_case c;
    mg_build(s, tag, 2000, maxkey, &c);
    mg_check(s, &c);
    /* a value changed or deleted since is read as it is now */
    assert_int_equal(kv_put(s, c.keys[0], c.klens[0], "changed", 7), K_OK);
    free(c.vals[0]);
    c.vals[0] = malloc(7);
    memcpy(c.vals[0], "changed", 7);
    c.vlens[0] = 7;
    c.vlens[c.n - 2] = 7;
    free(c.vals[c.n - 2]);
    c.vals[c.n - 2] = malloc(7);
    memcpy(c.vals[c.n - 2], "changed", 7);
    assert_int_equal(kv_del(s, c.keys[2], c.klens[2]), K_OK);
    c.want[2] = K_ENOTFOUND;
    mg_check(s, &c);
    /* one key alone */
    mg_case one = {0};
    mg_add(&one, c.keys[3], c.klens[3], c.want[3], c.vals[3], c.vlens[3]);
    mg_check(s, &one);
    mg_free(&one);
    mg_free(&c);
}

/* A wrapper without a multi-get (kv_mget's generic fallback) whose gets
 * fail for keys starting with '!': a backend failure fails the call. */
typedef struct nomget_kv {
    kv base;
    kv *inner;
    int gets;
} nomget_kv;

static kerr nm_get(kv *s, const void *k, size_t kl, kbuf *v) {
    nomget_kv *w = (nomget_kv *)s;
    w->gets++;
    if (kl && ((const char *)k)[0] == '!') return K_EUNAVAILABLE;
    return kv_get(w->inner, k, kl, v);
}
static kerr nm_put(kv *s, const void *k, size_t kl, const void *v, size_t vl) {
    return kv_put(((nomget_kv *)s)->inner, k, kl, v, vl);
}
static kerr nm_del(kv *s, const void *k, size_t kl) {
    return kv_del(((nomget_kv *)s)->inner, k, kl);
}
static kerr nm_cas(kv *s, const void *k, size_t kl, const void *e, size_t el, const void *v,
                   size_t vl) {
    return kv_cas(((nomget_kv *)s)->inner, k, kl, e, el, v, vl);
}
static void nm_close(kv *s) {
    kv_close(((nomget_kv *)s)->inner);
    free(s);
}
static const kv_ops nomget_ops = {
    .name = "nomget",
    .get = nm_get,
    .put = nm_put,
    .del = nm_del,
    .cas = nm_cas,
    .close = nm_close, /* .mget left NULL */
};

static void test_mget_mem(void **st) {
    (void)st;
    kv *s = kv_mem_new();
    kv_mem_stats ms;
    mget_semantics(s, "mem", 2048);
    /* one call, one batch: the counters tell a remote store's round trips */
    kv_mem_stats_reset(s);
    const void *keys[3] = {"mem/mg/0", "mem/mg/1", "nope"};
    size_t klens[3] = {8, 8, 4};
    kbuf vals[3] = {KBUF_INIT, KBUF_INIT, KBUF_INIT};
    kerr errs[3];
    assert_int_equal(kv_mget(s, 3, keys, klens, vals, errs), K_OK);
    kv_mem_stats_get(s, &ms);
    assert_int_equal(ms.mgets, 1);
    assert_int_equal(ms.mget_keys, 3);
    assert_int_equal(ms.gets, 3);
    assert_int_equal(errs[0], K_OK);
    assert_int_equal(errs[1], K_ENOTFOUND);
    assert_int_equal(errs[2], K_ENOTFOUND);
    for (int i = 0; i < 3; i++) kbuf_free(&vals[i]);
    kv_close(s);
}

static void test_mget_lmdb(void **st) {
    (void)st;
    backend b;
    open_lmdb(&b);
    mget_semantics(b.s, "lmdb", 2048);
    close_backend(&b);
}

static void test_mget_prefixed_and_fallback(void **st) {
    (void)st;
    /* prefixed over kv_mem: keys are prefixed, and still one batch */
    kv *mem = kv_mem_new(), *px;
    assert_int_equal(kv_prefixed_new(mem, "tenant/", 7, &px), K_OK);
    mget_semantics(px, "px", 2048 - 7);
    kv_mem_stats_reset(mem);
    const void *keys[2] = {"px/mg/0", "px/mg/1"};
    size_t klens[2] = {7, 7};
    kbuf vals[2] = {KBUF_INIT, KBUF_INIT};
    kerr errs[2];
    assert_int_equal(kv_mget(px, 2, keys, klens, vals, errs), K_OK);
    assert_int_equal(errs[0], K_OK);
    assert_int_equal(errs[1], K_ENOTFOUND);
    kv_mem_stats ms;
    kv_mem_stats_get(mem, &ms);
    assert_int_equal(ms.mgets, 1);
    assert_value(mem, "tenant/px/mg/0", 14, vals[0].data, vals[0].len);
    assert_absent(mem, "px/mg/0", 7);
    kbuf_free(&vals[0]);
    kbuf_free(&vals[1]);
    kv_close(px);

    /* no mget in the backend: one get per key, same answers */
    nomget_kv *w = calloc(1, sizeof *w);
    w->base.ops = &nomget_ops;
    w->inner = kv_mem_new();
    mget_semantics(&w->base, "nomget", 2048);
    w->gets = 0;
    const void *k3[3] = {"nomget/mg/0", "!down", "nomget/mg/3"};
    size_t kl3[3] = {11, 5, 11};
    kbuf v3[3] = {KBUF_INIT, KBUF_INIT, KBUF_INIT};
    kerr e3[3];
    assert_int_equal(kv_mget(&w->base, 3, k3, kl3, v3, e3), K_EUNAVAILABLE);
    assert_int_equal(w->gets, 2); /* stopped at the failure */
    for (int i = 0; i < 3; i++) kbuf_free(&v3[i]);
    kv_close(&w->base);
}

/* ---- lost-update test: concurrent cas increments ----------------------------- */

typedef struct incr_arg {
    kv *s;
    const char *tag; /* counter keys are tag + index: each run starts at 0 */
    int iters;
    int counters;
    int thread;
} incr_arg;

static void *incr_main(void *p) {
    incr_arg *a = p;
    kbuf cur = KBUF_INIT;
    for (int i = 0; i < a->iters; i++) {
        char key[32];
        int kl = snprintf(key, sizeof key, "%s%d", a->tag, (i + a->thread) % a->counters);
        for (;;) {
            kerr err = kv_get(a->s, key, (size_t)kl, &cur);
            uint64_t v = 0;
            if (err == K_OK) memcpy(&v, cur.data, sizeof v);
            uint64_t nv = v + 1;
            err = kv_cas(a->s, key, (size_t)kl, err == K_OK ? cur.data : NULL,
                         err == K_OK ? cur.len : 0, &nv, sizeof nv);
            if (err == K_OK) break;
            if (err != K_ECONFLICT) abort();
        }
    }
    kbuf_free(&cur);
    return NULL;
}

static void concurrent_increments(kv *s, const char *tag, int threads, int iters, int counters) {
    pthread_t th[16];
    incr_arg args[16];
    for (int i = 0; i < threads; i++) {
        args[i] = (incr_arg){s, tag, iters, counters, i};
        pthread_create(&th[i], NULL, incr_main, &args[i]);
    }
    for (int i = 0; i < threads; i++) pthread_join(th[i], NULL);
    uint64_t total = 0;
    kbuf cur = KBUF_INIT;
    for (int c = 0; c < counters; c++) {
        char key[32];
        int kl = snprintf(key, sizeof key, "%s%d", tag, c);
        assert_int_equal(kv_get(s, key, (size_t)kl, &cur), K_OK);
        uint64_t v;
        memcpy(&v, cur.data, sizeof v);
        total += v;
    }
    kbuf_free(&cur);
    assert_int_equal(total, (uint64_t)threads * (uint64_t)iters);
}

/* ---- kv_mem ------------------------------------------------------------------ */

static void test_mem_basic(void **st) {
    (void)st;
    backend b;
    open_mem(&b);
    basic_semantics(b.s);
    cas_semantics(b.s);
    long_and_binary_keys(b.s);
    many_keys(b.s, 20000);
    close_backend(&b);
}

static void test_mem_stats_and_count(void **st) {
    (void)st;
    kv *s = kv_mem_new();
    kv_mem_stats ms;
    assert_int_equal(kv_put(s, "Ra", 2, "1", 1), K_OK);
    assert_int_equal(kv_put(s, "Rb", 2, "1", 1), K_OK);
    assert_int_equal(kv_put(s, "Xa", 2, "1", 1), K_OK);
    kbuf v = KBUF_INIT;
    assert_int_equal(kv_get(s, "Ra", 2, &v), K_OK);
    assert_int_equal(kv_get(s, "Rz", 2, &v), K_ENOTFOUND);
    assert_int_equal(kv_cas(s, "Ra", 2, "1", 1, "2", 1), K_OK);
    assert_int_equal(kv_cas(s, "Ra", 2, "1", 1, "3", 1), K_ECONFLICT);
    assert_int_equal(kv_del(s, "Xa", 2), K_OK);
    kv_mem_stats_get(s, &ms);
    assert_int_equal(ms.puts, 3);
    assert_int_equal(ms.gets, 2);
    assert_int_equal(ms.cas_ok, 1);
    assert_int_equal(ms.cas_conflict, 1);
    assert_int_equal(ms.dels, 1);
    assert_int_equal(kv_mem_count_prefix(s, "R", 1), 2);
    assert_int_equal(kv_mem_count_prefix(s, NULL, 0), 2);
    kv_mem_stats_reset(s);
    kv_mem_stats_get(s, &ms);
    assert_int_equal(ms.puts + ms.gets + ms.cas_ok + ms.cas_conflict + ms.dels, 0);
    kbuf_free(&v);
    kv_close(s);
}

static void test_mem_concurrent_cas(void **st) {
    (void)st;
    backend b;
    open_mem(&b);
    concurrent_increments(b.s, "one", 8, 5000, 1);
    concurrent_increments(b.s, "three", 8, 2000, 3);
    close_backend(&b);
}

/* ---- kv_lmdb ------------------------------------------------------------------ */

static void test_lmdb_basic(void **st) {
    (void)st;
    backend b;
    open_lmdb(&b);
    basic_semantics(b.s);
    cas_semantics(b.s);
    long_and_binary_keys(b.s);
    many_keys(b.s, 100); /* ~5 ms per commit on this disk: keep it small */
    close_backend(&b);
}

static void test_lmdb_reopen(void **st) {
    (void)st;
    char *dir = make_tmpdir("kvreopen");
    char sub[512];
    snprintf(sub, sizeof sub, "%s/nested/deeper", dir); /* created with parents */
    kv *s;
    assert_int_equal(kv_lmdb_open(sub, 0, &s), K_OK);
    uint8_t longkey[1500];
    memset(longkey, 'L', sizeof longkey);
    assert_int_equal(kv_put(s, "persist", 7, "yes", 3), K_OK);
    assert_int_equal(kv_put(s, longkey, sizeof longkey, "long", 4), K_OK);
    assert_int_equal(kv_put(s, "gone", 4, "x", 1), K_OK);
    assert_int_equal(kv_del(s, "gone", 4), K_OK);
    uint64_t n;
    assert_int_equal(kv_lmdb_key_count(s, &n), K_OK);
    assert_int_equal(n, 2);
    kv_close(s);

    assert_int_equal(kv_lmdb_open(sub, 0, &s), K_OK);
    assert_value(s, "persist", 7, "yes", 3);
    assert_value(s, longkey, sizeof longkey, "long", 4);
    assert_absent(s, "gone", 4);
    assert_int_equal(kv_lmdb_key_count(s, &n), K_OK);
    assert_int_equal(n, 2);
    kv_close(s);
    remove_tree(dir);
}

static void test_lmdb_concurrent_cas(void **st) {
    (void)st;
    backend b;
    open_lmdb(&b);
    concurrent_increments(b.s, "one", 8, 25, 1);
    concurrent_increments(b.s, "four", 8, 25, 4);
    close_backend(&b);
}

typedef struct putter_arg {
    kv *s;
    int thread, n;
} putter_arg;

static void *putter_main(void *p) {
    putter_arg *a = p;
    for (int i = 0; i < a->n; i++) {
        char k[32];
        int kl = snprintf(k, sizeof k, "t%d/%d", a->thread, i);
        if (kv_put(a->s, k, (size_t)kl, k, (size_t)kl) != K_OK) abort();
    }
    return NULL;
}

/* Group commit: 8 concurrent writers must share commits (fsyncs). */
static void test_lmdb_group_commit(void **st) {
    (void)st;
    backend b;
    open_lmdb(&b);
    uint64_t c0 = kv_lmdb_commit_count(b.s), w0 = kv_lmdb_write_count(b.s);
    enum { THREADS = 8, PER = 100 };
    pthread_t th[THREADS];
    putter_arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (putter_arg){b.s, i, PER};
        pthread_create(&th[i], NULL, putter_main, &args[i]);
    }
    for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
    uint64_t commits = kv_lmdb_commit_count(b.s) - c0;
    uint64_t writes = kv_lmdb_write_count(b.s) - w0;
    assert_int_equal(writes, THREADS * PER);
    print_message("group commit: %llu writes in %llu commits (%.1f per fsync)\n",
                  (unsigned long long)writes, (unsigned long long)commits,
                  (double)writes / (double)commits);
    /* one writer at a time would be writes == commits */
    assert_true(commits * 2 <= writes);
    for (int t = 0; t < THREADS; t++) {
        for (int i = 0; i < PER; i += 17) {
            char k[32];
            int kl = snprintf(k, sizeof k, "t%d/%d", t, i);
            assert_value(b.s, k, (size_t)kl, k, (size_t)kl);
        }
    }
    kv *mem = kv_mem_new(); /* the getters refuse other backends */
    assert_int_equal(kv_lmdb_commit_count(mem), 0);
    kv_close(mem);
    close_backend(&b);
}

/* A map far too small for the data: the writer must grow it, not fail. */
static void test_lmdb_map_full_grows(void **st) {
    (void)st;
    char *dir = make_tmpdir("kvmapfull");
    kv *s;
    assert_int_equal(kv_lmdb_open(dir, 256 * 1024, &s), K_OK);
    char *val = malloc(64 * 1024);
    for (int i = 0; i < 64; i++) {
        memset(val, 'a' + i % 26, 64 * 1024);
        char k[16];
        int kl = snprintf(k, sizeof k, "big%d", i);
        assert_int_equal(kv_put(s, k, (size_t)kl, val, 64 * 1024), K_OK);
    }
    for (int i = 0; i < 64; i += 7) {
        memset(val, 'a' + i % 26, 64 * 1024);
        char k[16];
        int kl = snprintf(k, sizeof k, "big%d", i);
        assert_value(s, k, (size_t)kl, val, 64 * 1024);
    }
    free(val);
    kv_close(s);
    remove_tree(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mem_basic),
        cmocka_unit_test(test_mem_stats_and_count),
        cmocka_unit_test(test_mem_concurrent_cas),
        cmocka_unit_test(test_lmdb_basic),
        cmocka_unit_test(test_lmdb_reopen),
        cmocka_unit_test(test_lmdb_concurrent_cas),
        cmocka_unit_test(test_lmdb_group_commit),
        cmocka_unit_test(test_lmdb_map_full_grows),
        cmocka_unit_test(test_mget_mem),
        cmocka_unit_test(test_mget_lmdb),
        cmocka_unit_test(test_mget_prefixed_and_fallback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
