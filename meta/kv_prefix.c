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

/* Builds prefix+key in buf; false if too long. */
static bool join(const kv_prefixed *p, const void *key, size_t klen, char *buf, size_t *n) {
    if (klen > KEY_MAX - p->plen) return false;
    memcpy(buf, p->prefix, p->plen);
    memcpy(buf + p->plen, key, klen);
    *n = p->plen + klen;
    return true;
}

static kerr px_get(kv *s, const void *key, size_t klen, kbuf *val) {
    kv_prefixed *p = (kv_prefixed *)s;
    char k[KEY_MAX];
    size_t n;
    if (!join(p, key, klen, k, &n)) return K_ETOOLARGE;
    return kv_get(p->inner, k, n, val);
}

static kerr px_put(kv *s, const void *key, size_t klen, const void *val, size_t vlen) {
    kv_prefixed *p = (kv_prefixed *)s;
    char k[KEY_MAX];
    size_t n;
    if (!join(p, key, klen, k, &n)) return K_ETOOLARGE;
    return kv_put(p->inner, k, n, val, vlen);
}

static kerr px_del(kv *s, const void *key, size_t klen) {
    kv_prefixed *p = (kv_prefixed *)s;
    char k[KEY_MAX];
    size_t n;
    if (!join(p, key, klen, k, &n)) return K_ETOOLARGE;
    return kv_del(p->inner, k, n);
}

static kerr px_cas(kv *s, const void *key, size_t klen, const void *expect, size_t elen,
                   const void *val, size_t vlen) {
    kv_prefixed *p = (kv_prefixed *)s;
    char k[KEY_MAX];
    size_t n;
    if (!join(p, key, klen, k, &n)) return K_ETOOLARGE;
    return kv_cas(p->inner, k, n, expect, elen, val, vlen);
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
