/* SPDX-License-Identifier: Apache-2.0 */
#include "router/users.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/bytes.h"
#include "meta/kv.h"
#include "meta/radix.h"

#define ACCESS_KEY_MAX 128

struct users {
    kv *store;
    radix *tree;
};

static const char users_ns[] = "s";

/* ------------------------------------------------------------ the record */

/* Version 1: secret and name (its user is an account admin, as every user
 * was before roles); version 2 adds the roles byte. A record whose roles
 * are exactly USER_ROLE_ADMIN is still written as version 1, so a gateway
 * that predates roles reads it unchanged. */
enum { USER_REC_VERSION = 1, USER_REC_ROLES_VERSION = 2 };

static void put_str(kbuf *b, const char *s) {
    uint8_t n[4];
    size_t len = s ? strlen(s) : 0;
    store_le32(n, (uint32_t)len);
    kbuf_append(b, n, 4);
    kbuf_append(b, s ? s : "", len);
}

/* A string at *p (advanced past it), or NULL when the input ends first. */
static const char *get_str(arena *a, const uint8_t **p, size_t *left) {
    if (*left < 4) return NULL;
    uint32_t len = load_le32(*p);
    if (*left - 4 < len) return NULL;
    const char *s = arena_strndup(a, (const char *)*p + 4, len);
    *p += 4 + (size_t)len;
    *left -= 4 + (size_t)len;
    return s;
}

void users_record_encode_roles(kbuf *out, const char *secret, const char *name, unsigned roles) {
    uint8_t v = roles == USER_ROLE_ADMIN ? USER_REC_VERSION : USER_REC_ROLES_VERSION;
    kbuf_append(out, &v, 1);
    put_str(out, secret);
    put_str(out, name);
    if (v == USER_REC_ROLES_VERSION) {
        uint8_t r = (uint8_t)(roles & USER_ROLES_ALL);
        kbuf_append(out, &r, 1);
    }
}

void users_record_encode(kbuf *out, const char *secret, const char *name) {
    users_record_encode_roles(out, secret, name, USER_ROLE_ADMIN);
}

kerr users_record_decode_roles(arena *a, const void *p, size_t n, const char **secret,
                               const char **name, unsigned *roles) {
    const uint8_t *c = p;
    if (n < 1 || (c[0] != USER_REC_VERSION && c[0] != USER_REC_ROLES_VERSION)) return K_ECORRUPT;
    uint8_t v = c[0];
    c++;
    n--;
    *secret = get_str(a, &c, &n);
    *name = *secret ? get_str(a, &c, &n) : NULL;
    if (!*secret || !*name) return K_ECORRUPT;
    unsigned r = USER_ROLE_ADMIN;
    if (v == USER_REC_ROLES_VERSION) {
        if (n < 1 || (c[0] & ~USER_ROLES_ALL)) return K_ECORRUPT;
        r = c[0];
        c++;
        n--;
    }
    if (roles) *roles = r;
    return n ? K_ECORRUPT : K_OK;
}

kerr users_record_decode(arena *a, const void *p, size_t n, const char **secret,
                         const char **name) {
    return users_record_decode_roles(a, p, n, secret, name, NULL);
}

/* ---------------------------------------------------------------- users */

kerr users_open(kv *registry, users **out) {
    *out = NULL;
    users *u = calloc(1, sizeof *u);
    if (!u) return K_ENOMEM;
    u->store = registry;
    u->tree = radix_new(registry);
    if (!u->tree) {
        free(u);
        return K_ENOMEM;
    }
    *out = u;
    return K_OK;
}

void users_close(users *u) {
    if (!u) return;
    radix_free(u->tree);
    free(u);
}

/* "S" + access key */
static size_t user_key(uint8_t out[1 + ACCESS_KEY_MAX], const char *access_key) {
    size_t n = strlen(access_key);
    if (n > ACCESS_KEY_MAX) n = ACCESS_KEY_MAX;
    out[0] = 'S';
    memcpy(out + 1, access_key, n);
    return 1 + n;
}

kerr users_put(users *u, const char *access_key, const char *secret, const char *name) {
    return users_put_roles(u, access_key, secret, name, USER_ROLE_ADMIN);
}

kerr users_put_roles(users *u, const char *access_key, const char *secret, const char *name,
                     unsigned roles) {
    size_t n = strlen(access_key);
    if (n == 0 || n > ACCESS_KEY_MAX) return K_EINVAL;
    kerr e = radix_insert(u->tree, users_ns, 1, access_key, n);
    if (e) return e;
    uint8_t k[1 + ACCESS_KEY_MAX];
    size_t kn = user_key(k, access_key);
    kbuf rec = KBUF_INIT;
    users_record_encode_roles(&rec, secret, name, roles);
    e = kv_put(u->store, k, kn, rec.data, rec.len);
    kbuf_free(&rec);
    return e;
}

kerr users_get(users *u, arena *a, const char *access_key, const char **secret, const char **name) {
    return users_get_roles(u, a, access_key, secret, name, NULL);
}

kerr users_get_roles(users *u, arena *a, const char *access_key, const char **secret,
                     const char **name, unsigned *roles) {
    if (strlen(access_key) > ACCESS_KEY_MAX) return K_EINVALIDACCESSKEY;
    uint8_t k[1 + ACCESS_KEY_MAX];
    size_t kn = user_key(k, access_key);
    kbuf v = KBUF_INIT;
    kerr e = kv_get(u->store, k, kn, &v);
    if (!e)
        e = users_record_decode_roles(a, v.data, v.len, secret, name, roles);
    else if (e == K_ENOTFOUND)
        e = K_EINVALIDACCESSKEY;
    kbuf_free(&v);
    return e;
}

kerr users_delete(users *u, const char *access_key) {
    uint8_t k[1 + ACCESS_KEY_MAX];
    size_t kn = user_key(k, access_key);
    kerr e = kv_del(u->store, k, kn);
    if (e) return e;
    radix_remove(u->tree, users_ns, 1, access_key, strlen(access_key));
    return K_OK;
}

typedef struct key_list {
    arena *a;
    char **keys;
    size_t n, cap;
} key_list;

static int collect_key(void *ctx, const void *entry, size_t len, bool is_prefix) {
    (void)is_prefix;
    key_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **grown = arena_alloc(l->a, cap * sizeof *grown);
        if (l->n) memcpy(grown, l->keys, l->n * sizeof *grown);
        l->keys = grown;
        l->cap = cap;
    }
    l->keys[l->n++] = arena_strndup(l->a, entry, len);
    return 0;
}

kerr users_list(users *u, arena *a, char ***access_keys, char ***names, size_t *n) {
    key_list l = {.a = a};
    radix_list_req req = {.max_entries = 100000};
    bool trunc;
    kerr e = radix_list(u->tree, users_ns, 1, &req, collect_key, &l, &trunc);
    if (e) return e;
    *access_keys = arena_alloc(a, (l.n + 1) * sizeof(char *));
    *names = arena_alloc(a, (l.n + 1) * sizeof(char *));
    size_t count = 0;
    for (size_t i = 0; i < l.n; i++) {
        const char *secret, *name;
        if (users_get(u, a, l.keys[i], &secret, &name)) continue;
        (*access_keys)[count] = l.keys[i];
        (*names)[count] = (char *)name;
        count++;
    }
    *n = count;
    return K_OK;
}
