/* SPDX-License-Identifier: Apache-2.0 */
/* A kv that prepends a fixed prefix to every key of an inner kv: lets
 * several independent kura namespaces (tests, tenants, member clusters)
 * share one Redis deployment without seeing each other's keys. */
#include <stdlib.h>
#include <string.h>

#include "meta/kv.h"

enum { PREFIX_MAX = 256, KEY_MAX = 2048 + PREFIX_MAX };

typedef struct kv_prefixed {
    kv base;
    kv *inner;
    size_t plen;
    char prefix[PREFIX_MAX];
} kv_prefixed;

/* Builds prefix+key in buf: K_EINVAL for an empty key (which would name the
 * prefix itself, as every backend refuses it), K_ETOOLARGE if too long. */
static kerr join(const kv_prefixed *p, const void *key, size_t klen, char *buf, size_t *n) {
    if (klen == 0) return K_EINVAL;
    if (klen > KEY_MAX - p->plen) return K_ETOOLARGE;
    memcpy(buf, p->prefix, p->plen);
    memcpy(buf + p->plen, key, klen);
    *n = p->plen + klen;
    return K_OK;
}

static kerr px_get(kv *s, const void *key, size_t klen, kbuf *val) {
    kv_prefixed *p = (kv_prefixed *)s;
    char k[KEY_MAX];
    size_t n;
    kbuf_reset(val);
    kerr err = join(p, key, klen, k, &n);
    if (err) return err;
    return kv_get(p->inner, k, n, val);
}

static kerr px_put(kv *s, const void *key, size_t klen, const void *val, size_t vlen) {
    kv_prefixed *p = (kv_prefixed *)s;
    char k[KEY_MAX];
    size_t n;
    kerr err = join(p, key, klen, k, &n);
    if (err) return err;
    return kv_put(p->inner, k, n, val, vlen);
}

static kerr px_del(kv *s, const void *key, size_t klen) {
    kv_prefixed *p = (kv_prefixed *)s;
    char k[KEY_MAX];
    size_t n;
    kerr err = join(p, key, klen, k, &n);
    if (err) return err;
    return kv_del(p->inner, k, n);
}

static kerr px_cas(kv *s, const void *key, size_t klen, const void *expect, size_t elen,
                   const void *val, size_t vlen) {
    kv_prefixed *p = (kv_prefixed *)s;
    char k[KEY_MAX];
    size_t n;
    kerr err = join(p, key, klen, k, &n);
    if (err) return err;
    return kv_cas(p->inner, k, n, expect, elen, val, vlen);
}

/* Prefixes every key into one scratch allocation and forwards one mget, so
 * the inner backend still batches. A key join refuses gets that error on
 * its own, like px_get. */
static kerr px_mget(kv *s, size_t n, const void *const *keys, const size_t *klens, kbuf *vals,
                    kerr *errs) {
    kv_prefixed *p = (kv_prefixed *)s;
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        if (klens[i] <= KEY_MAX - p->plen) total += p->plen + klens[i];
    char *buf = malloc(total ? total : 1);
    const void **pk = calloc(n, sizeof *pk);
    size_t *pl = calloc(n, sizeof *pl);
    kbuf *pv = malloc(n * sizeof *pv);
    kerr *pe = malloc(n * sizeof *pe);
    size_t *map = malloc(n * sizeof *map); /* pk index -> caller index */
    kerr err = K_OK;
    if (!buf || !pk || !pl || !pv || !pe || !map) {
        err = K_ENOMEM;
        goto out;
    }
    size_t m = 0, off = 0;
    for (size_t i = 0; i < n; i++) {
        kbuf_reset(&vals[i]);
        errs[i] = join(p, keys[i], klens[i], buf + off, &pl[m]);
        if (errs[i]) continue;
        pk[m] = buf + off;
        off += pl[m];
        /* the caller's kbuf receives the value directly */
        pv[m] = vals[i];
        map[m++] = i;
    }
    err = kv_mget(p->inner, m, pk, pl, pv, pe);
    for (size_t j = 0; j < m; j++) {
        vals[map[j]] = pv[j]; /* the inner backend may have grown it */
        if (!err) errs[map[j]] = pe[j];
    }
out:
    free(buf);
    free(pk);
    free(pl);
    free(pv);
    free(pe);
    free(map);
    return err;
}

static void px_close(kv *s) {
    kv_prefixed *p = (kv_prefixed *)s;
    kv_close(p->inner);
    free(p);
}

static const kv_ops prefixed_ops = {
    .name = "prefixed",
    .get = px_get,
    .put = px_put,
    .del = px_del,
    .cas = px_cas,
    .close = px_close,
    .mget = px_mget,
};

kerr kv_prefixed_new(kv *inner, const void *prefix, size_t plen, kv **out) {
    if (plen > PREFIX_MAX) return K_EINVAL;
    kv_prefixed *p = calloc(1, sizeof *p);
    if (!p) return K_ENOMEM;
    p->base.ops = &prefixed_ops;
    p->inner = inner;
    p->plen = plen;
    memcpy(p->prefix, prefix, plen);
    *out = &p->base;
    return K_OK;
}
