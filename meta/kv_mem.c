/* SPDX-License-Identifier: Apache-2.0 */
/* In-memory kv: an open-addressing hash table behind one mutex.
 *
 * Used by unit tests and the radix-tree benchmark (millions of keys), so it
 * is kept lean: a slot is 16 bytes (cached hash + pointer) and each key/value
 * pair is one malloc holding both. Linear probing with backward-shift
 * deletion keeps probe chains short without tombstones. One mutex is enough:
 * the point of this backend is counting operations, not scaling.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "meta/kv.h"
#include "meta/meta_hash.h"

#define MEM_MAX_KEY 2048
#define MEM_MAX_VAL (1024 * 1024)
#define MEM_HASH_SEED 0x6B76206D656D2121ULL

typedef struct mem_entry {
    uint32_t klen;
    uint32_t vlen;
    uint8_t data[]; /* key bytes, then value bytes */
} mem_entry;

typedef struct mem_slot {
    uint64_t hash;
    mem_entry *e; /* NULL = empty */
} mem_slot;

typedef struct mem_kv {
    kv base;
    pthread_mutex_t mu;
    mem_slot *slots;
    size_t cap; /* power of two */
    size_t count;
    kv_mem_stats stats;
} mem_kv;

static void *xmalloc(size_t n) {
    void *p = malloc(n);
    if (!p) abort(); /* same policy as common/arena.h: OOM is fatal */
    return p;
}

static size_t find_slot(const mem_kv *m, uint64_t h, const void *key, size_t klen, bool *found) {
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const mem_slot *s = &m->slots[i];
        if (!s->e) {
            *found = false;
            return i;
        }
        if (s->hash == h && s->e->klen == klen && memcmp(s->e->data, key, klen) == 0) {
            *found = true;
            return i;
        }
    }
}

static void grow(mem_kv *m) {
    size_t ncap = m->cap * 2;
    mem_slot *ns = calloc(ncap, sizeof *ns);
    if (!ns) abort();
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].e) continue;
        size_t j = m->slots[i].hash & (ncap - 1);
        while (ns[j].e) j = (j + 1) & (ncap - 1);
        ns[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
}

/* Backward-shift deletion: pull later members of the probe chain into the
 * hole so lookups never need tombstones. */
static void remove_slot(mem_kv *m, size_t i) {
    size_t mask = m->cap - 1;
    free(m->slots[i].e);
    m->slots[i].e = NULL;
    size_t hole = i;
    for (size_t j = (i + 1) & mask; m->slots[j].e; j = (j + 1) & mask) {
        size_t home = m->slots[j].hash & mask;
        /* j may move to hole iff home is not in (hole, j] cyclically */
        bool between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!between) {
            m->slots[hole] = m->slots[j];
            m->slots[j].e = NULL;
            hole = j;
        }
    }
    m->count--;
}

static mem_entry *make_entry(const void *key, size_t klen, const void *val, size_t vlen) {
    mem_entry *e = xmalloc(sizeof *e + klen + vlen);
    e->klen = (uint32_t)klen;
    e->vlen = (uint32_t)vlen;
    memcpy(e->data, key, klen);
    if (vlen) memcpy(e->data + klen, val, vlen);
    return e;
}

/* Stores val under key (slot i from find_slot). Caller holds the mutex. */
static void store(mem_kv *m, size_t i, bool found, uint64_t h, const void *key, size_t klen,
                  const void *val, size_t vlen) {
    if (found) {
        mem_entry *old = m->slots[i].e;
        if (old->vlen == vlen) {
            if (vlen) memcpy(old->data + klen, val, vlen);
            return;
        }
        m->slots[i].e = make_entry(key, klen, val, vlen);
        free(old);
        return;
    }
    m->slots[i].hash = h;
    m->slots[i].e = make_entry(key, klen, val, vlen);
    m->count++;
    if (m->count * 4 > m->cap * 3) grow(m);
}

static kerr check_sizes(size_t klen, size_t vlen) {
    if (klen == 0) return K_EINVAL;
    if (klen > MEM_MAX_KEY || vlen > MEM_MAX_VAL) return K_ETOOLARGE;
    return K_OK;
}

static kerr mem_get(kv *s, const void *key, size_t klen, kbuf *val) {
    mem_kv *m = (mem_kv *)s;
    kbuf_reset(val);
    kerr err = check_sizes(klen, 0);
    if (err) return err;
    uint64_t h = mh_hash64(key, klen, MEM_HASH_SEED);
    pthread_mutex_lock(&m->mu);
    m->stats.gets++;
    bool found;
    size_t i = find_slot(m, h, key, klen, &found);
    if (found) {
        const mem_entry *e = m->slots[i].e;
        kbuf_append(val, e->data + e->klen, e->vlen);
    }
    pthread_mutex_unlock(&m->mu);
    return found ? K_OK : K_ENOTFOUND;
}

/* One lock for the whole batch: a consistent snapshot, though kv_mget does
 * not promise one. */
static kerr mem_mget(kv *s, size_t n, const void *const *keys, const size_t *klens, kbuf *vals,
                     kerr *errs) {
    mem_kv *m = (mem_kv *)s;
    pthread_mutex_lock(&m->mu);
    m->stats.mgets++;
    for (size_t i = 0; i < n; i++) {
        kbuf_reset(&vals[i]);
        errs[i] = check_sizes(klens[i], 0);
        if (errs[i]) continue;
        m->stats.gets++;
        m->stats.mget_keys++;
        uint64_t h = mh_hash64(keys[i], klens[i], MEM_HASH_SEED);
        bool found;
        size_t j = find_slot(m, h, keys[i], klens[i], &found);
        if (found) {
            const mem_entry *e = m->slots[j].e;
            kbuf_append(&vals[i], e->data + e->klen, e->vlen);
        }
        errs[i] = found ? K_OK : K_ENOTFOUND;
    }
    pthread_mutex_unlock(&m->mu);
    return K_OK;
}

static kerr mem_put(kv *s, const void *key, size_t klen, const void *val, size_t vlen) {
    mem_kv *m = (mem_kv *)s;
    kerr err = check_sizes(klen, vlen);
    if (err) return err;
    uint64_t h = mh_hash64(key, klen, MEM_HASH_SEED);
    pthread_mutex_lock(&m->mu);
    m->stats.puts++;
    bool found;
    size_t i = find_slot(m, h, key, klen, &found);
    store(m, i, found, h, key, klen, val, vlen);
    pthread_mutex_unlock(&m->mu);
    return K_OK;
}

static kerr mem_del(kv *s, const void *key, size_t klen) {
    mem_kv *m = (mem_kv *)s;
    kerr err = check_sizes(klen, 0);
    if (err) return err;
    uint64_t h = mh_hash64(key, klen, MEM_HASH_SEED);
    pthread_mutex_lock(&m->mu);
    m->stats.dels++;
    bool found;
    size_t i = find_slot(m, h, key, klen, &found);
    if (found) remove_slot(m, i);
    pthread_mutex_unlock(&m->mu);
    return found ? K_OK : K_ENOTFOUND;
}

static kerr mem_cas(kv *s, const void *key, size_t klen, const void *expect, size_t elen,
                    const void *val, size_t vlen) {
    mem_kv *m = (mem_kv *)s;
    kerr err = check_sizes(klen, val ? vlen : 0);
    if (err) return err;
    uint64_t h = mh_hash64(key, klen, MEM_HASH_SEED);
    pthread_mutex_lock(&m->mu);
    bool found;
    size_t i = find_slot(m, h, key, klen, &found);
    bool match;
    if (!expect) {
        match = !found;
    } else {
        const mem_entry *e = found ? m->slots[i].e : NULL;
        match = e && e->vlen == elen && (elen == 0 || memcmp(e->data + e->klen, expect, elen) == 0);
    }
    if (!match) {
        m->stats.cas_conflict++;
        pthread_mutex_unlock(&m->mu);
        return K_ECONFLICT;
    }
    m->stats.cas_ok++;
    if (!val) {
        if (found) remove_slot(m, i);
    } else {
        store(m, i, found, h, key, klen, val, vlen);
    }
    pthread_mutex_unlock(&m->mu);
    return K_OK;
}

static void mem_close(kv *s) {
    mem_kv *m = (mem_kv *)s;
    for (size_t i = 0; i < m->cap; i++) free(m->slots[i].e);
    free(m->slots);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static const kv_ops mem_ops = {
    .name = "mem",
    .get = mem_get,
    .put = mem_put,
    .del = mem_del,
    .cas = mem_cas,
    .close = mem_close,
    .mget = mem_mget,
};

kv *kv_mem_new(void) {
    mem_kv *m = calloc(1, sizeof *m);
    if (!m) abort();
    m->base.ops = &mem_ops;
    pthread_mutex_init(&m->mu, NULL);
    m->cap = 1024;
    m->slots = calloc(m->cap, sizeof *m->slots);
    if (!m->slots) abort();
    return &m->base;
}

void kv_mem_stats_get(kv *s, kv_mem_stats *out) {
    mem_kv *m = (mem_kv *)s;
    pthread_mutex_lock(&m->mu);
    *out = m->stats;
    pthread_mutex_unlock(&m->mu);
}

void kv_mem_stats_reset(kv *s) {
    mem_kv *m = (mem_kv *)s;
    pthread_mutex_lock(&m->mu);
    memset(&m->stats, 0, sizeof m->stats);
    pthread_mutex_unlock(&m->mu);
}

size_t kv_mem_count_prefix(kv *s, const void *prefix, size_t plen) {
    mem_kv *m = (mem_kv *)s;
    size_t n = 0;
    pthread_mutex_lock(&m->mu);
    if (plen == 0) {
        n = m->count;
    } else {
        for (size_t i = 0; i < m->cap; i++) {
            const mem_entry *e = m->slots[i].e;
            if (e && e->klen >= plen && memcmp(e->data, prefix, plen) == 0) n++;
        }
    }
    pthread_mutex_unlock(&m->mu);
    return n;
}
