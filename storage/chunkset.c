/* SPDX-License-Identifier: Apache-2.0 */
/* Replicated chunksets, the gateway's side; contract in chunkset.h.
 *
 * Invariants:
 * - A chunkset's members change only by repair (csrepair.c), which seals
 *   the chunkset first: a cached record stays good for writes as long as
 *   the chunkset is open, and for reads it is read again after RELOAD_MS or
 *   when every cached member fails. Besides, only `sealed` and this
 *   gateway's view of whether it can write there (writable,
 *   avoid_until_ms) move.
 * - cs_put returns K_OK only after the master answered that every member
 *   holds the needle durably (datanode.h, "append"): the master, not this
 *   file, keeps the copies equal; a failure leaves no referenced needle.
 * - The cache is sorted by id (binary search); mu guards it and is never
 *   held across I/O (kv or datanode requests).
 */
#include "storage/chunkset.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "storage/dnreg.h"
#include "storage/ec.h"

/* How long the view of open chunksets and datanodes up is trusted. */
#define REFRESH_MS 2000
/* A chunkset whose write failed (not as full) is left alone this long. */
#define AVOID_MS 5000
/* Chunksets one cs_put tries, and creates, at most. */
#define PUT_ATTEMPTS 8
#define PUT_CREATES 2
/* A cached chunkset record is read again after this long. */
#define RELOAD_MS 30000
/* A datanode needs this much room above its reserves to get new chunks. */
#define MIN_FREE_FOR_NEW (UINT64_C(64) << 20)

typedef struct cs_entry {
    cs_info info;
    uint64_t tail;          /* end of the last needle seen stored there (fill) */
    int64_t loaded_ms;      /* when the record was read */
    bool writable;          /* open, and in the index at the last refresh */
    int64_t avoid_until_ms; /* a write failed there: skip until then */
} cs_entry;

/* A volume of a datanode up at the last refresh. */
typedef struct vol_up {
    uint64_t uid;
    uint64_t zone;       /* its datanode's zone, hashed */
    uint64_t chunk_size; /* its datanode's chunk size (0: not said) */
} vol_up;

struct cs_pool {
    kv *meta;
    volset *vs;
    uint32_t replicas, min_open;
    uint32_t avg_fill, min_fill; /* cs_alloc's, percent (0: off) */
    uint32_t k;                  /* stripesets RS(k, replicas - k); 0: replicated chunksets */
    const char *media;           /* preferred media of new members: ssd (replicas), hdd (stripes) */
    ec_code *ec;                 /* the code when k > 0 */
    char *zone;                  /* the gateway's, or NULL */
    uint64_t zone_h;             /* its hash */
    pthread_mutex_t mu;
    cs_entry *e; /* sorted by info.id */
    size_t n, cap;
    /* ids of the entries writable at the last refresh or created since:
     * what pick looks at, rather than every chunkset ever cached */
    uint64_t *open_ids;
    size_t n_open, cap_open;
    uint64_t rr;
    int64_t refreshed_ms;
    vol_up *up; /* volumes of datanodes up at the last refresh, by uid */
    size_t n_up;
    /* a creation for fill (not for want of chunksets) is under way, and
     * when the last one began: at most one per REFRESH_MS */
    _Atomic bool fill_creating;
    _Atomic int64_t fill_created_ms;
    pthread_mutex_t refresh_mu; /* one refresh at a time */
    pthread_mutex_t create_mu;  /* one creation at a time (held across I/O) */
    uint64_t create_gen;        /* creations done (mu) */
    kerr create_last;           /* how the last one ended (mu) */
    _Atomic uint64_t n_puts, n_retries, n_put_failures, n_created, n_sealed;
    _Atomic uint64_t n_reads, n_failovers, n_read_failures;
    _Atomic uint64_t dn_up, dn_down;
    /* A datanode up with room that no writable chunkset uses (one that
     * joined, say): the next write creates a chunkset on it. */
    bool uncovered;
    bool short_logged; /* "fewer than R datanodes" logged this episode */
    /* degraded stripe reads: logged at most once a second, with a count */
    _Atomic int64_t degraded_logged_ms;
    _Atomic uint64_t degraded_unlogged;
};

/* ---- record codec ---- */

void cs_encode(const cs_info *c, kbuf *out) {
    kbuf_printf(out, "kura chunkset 1\nid %016" PRIx64 "\nstate %s\ncreated %lld\n", c->id,
                c->sealed ? "sealed" : "open", (long long)c->created_ms);
    if (c->k) kbuf_printf(out, "code %u\n", c->k);
    for (uint32_t i = 0; i < c->n; i++)
        kbuf_printf(out, "member %016" PRIx64 " %u\n", c->m[i].uid, c->m[i].chunk);
}

kerr cs_decode(const char *p, size_t n, cs_info *out) {
    memset(out, 0, sizeof *out);
    char *text = malloc(n + 1);
    if (!text) return K_ENOMEM;
    memcpy(text, p, n);
    text[n] = 0;
    kerr rc = K_ECORRUPT;
    bool magic = false, have_id = false, have_state = false;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        unsigned long long a, b;
        long long t;
        char word[16];
        if (!strcmp(line, "kura chunkset 1")) {
            magic = true;
        } else if (sscanf(line, "id %16llx", &a) == 1) {
            out->id = a;
            have_id = a != 0;
        } else if (sscanf(line, "state %15s", word) == 1) {
            if (strcmp(word, "open") && strcmp(word, "sealed")) goto out;
            out->sealed = !strcmp(word, "sealed");
            have_state = true;
        } else if (sscanf(line, "created %lld", &t) == 1) {
            out->created_ms = t;
        } else if (sscanf(line, "code %llu", &a) == 1) {
            if (a < 1 || a >= CS_MAX_REPLICAS) goto out;
            out->k = (uint32_t)a;
        } else if (sscanf(line, "member %16llx %llu", &a, &b) == 2) {
            if (out->n == CS_MAX_REPLICAS || !a || b > UINT32_MAX) goto out;
            out->m[out->n++] = (cs_member){.uid = a, .chunk = (uint32_t)b};
        } else {
            goto out; /* a newer format: do not guess */
        }
    }
    if (magic && have_id && have_state && out->n >= 1 && out->k < out->n) rc = K_OK;
out:
    free(text);
    return rc;
}

void cs_record_key(uint64_t id, char key[18]) {
    snprintf(key, 18, "S%016" PRIx64, id);
}

kerr cs_index_update(kv *meta, const char *key, uint64_t id, bool add) {
    size_t klen = strlen(key);
    char hex[17];
    snprintf(hex, sizeof hex, "%016" PRIx64, id);
    kbuf cur = KBUF_INIT, next = KBUF_INIT;
    kerr rc = K_ECONFLICT;
    for (int attempt = 0; attempt < 100 && rc == K_ECONFLICT; attempt++) {
        rc = kv_get(meta, key, klen, &cur);
        bool absent = rc == K_ENOTFOUND;
        if (rc != K_OK && !absent) break;
        kbuf_reset(&next);
        bool found = false;
        for (size_t at = 0; !absent && at + 16 <= cur.len; at += 17) {
            if (!memcmp(cur.data + at, hex, 16)) {
                found = true;
            } else {
                kbuf_append(&next, cur.data + at, 16);
                kbuf_append(&next, "\n", 1);
            }
        }
        if (found == add) {
            rc = K_OK;
            break;
        }
        if (add) kbuf_printf(&next, "%s\n", hex);
        rc = kv_cas(meta, key, klen, absent ? NULL : cur.data, absent ? 0 : cur.len,
                    next.data ? next.data : "", next.len);
        if (rc == K_ECONFLICT) { /* another writer won: step back a little, jittered */
            uint32_t r = 0;
            (void)getrandom(&r, sizeof r, 0);
            struct timespec ts = {0, (long)(r % (1000u * (unsigned)(attempt + 1))) * 1000L};
            nanosleep(&ts, NULL);
        }
    }
    kbuf_free(&cur);
    kbuf_free(&next);
    return rc;
}

/* ---- cache ---- */

/* Index of id in the cache, or where it would go (*found false). mu held. */
static size_t find(const cs_pool *p, uint64_t id, bool *found) {
    size_t lo = 0, hi = p->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->e[mid].info.id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < p->n && p->e[lo].info.id == id;
    return lo;
}

/* Inserts (or updates the state of) a chunkset. mu held. */
static kerr cache_put(cs_pool *p, const cs_info *c, bool writable) {
    bool found;
    size_t at = find(p, c->id, &found);
    if (found) {
        /* members change only by repair, which seals first; a record read
         * before a seal this gateway saw must not reopen the chunkset */
        bool sealed = c->sealed || p->e[at].info.sealed;
        p->e[at].info = *c;
        p->e[at].info.sealed = sealed;
        p->e[at].writable = writable && !sealed;
        p->e[at].loaded_ms = clock_real_ms();
        return K_OK;
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        cs_entry *grown = realloc(p->e, cap * sizeof *grown);
        if (!grown) return K_ENOMEM;
        p->e = grown;
        p->cap = cap;
    }
    memmove(p->e + at + 1, p->e + at, (p->n - at) * sizeof *p->e);
    p->e[at] =
        (cs_entry){.info = *c, .writable = writable && !c->sealed, .loaded_ms = clock_real_ms()};
    p->n++;
    return K_OK;
}

/* Adds id to the open list (mu held). */
static kerr open_add(cs_pool *p, uint64_t id) {
    for (size_t i = 0; i < p->n_open; i++)
        if (p->open_ids[i] == id) return K_OK;
    if (p->n_open == p->cap_open) {
        size_t cap = p->cap_open ? p->cap_open * 2 : 16;
        uint64_t *grown = realloc(p->open_ids, cap * sizeof *grown);
        if (!grown) return K_ENOMEM;
        p->open_ids = grown;
        p->cap_open = cap;
    }
    p->open_ids[p->n_open++] = id;
    return K_OK;
}

/* The members of csid, from the cache, or its record when not cached,
 * cached longer than RELOAD_MS (repair may have replaced a member), or
 * forced. */
static kerr lookup_fresh(cs_pool *p, uint64_t csid, cs_info *out, bool force) {
    pthread_mutex_lock(&p->mu);
    bool found;
    size_t at = find(p, csid, &found);
    bool cached = found && !force && clock_real_ms() - p->e[at].loaded_ms < RELOAD_MS;
    bool writable = found && p->e[at].writable;
    if (cached) *out = p->e[at].info;
    pthread_mutex_unlock(&p->mu);
    if (cached) return K_OK;
    char key[18];
    cs_record_key(csid, key);
    kbuf v = KBUF_INIT;
    kerr rc = kv_get(p->meta, key, 17, &v);
    if (rc == K_OK) rc = cs_decode(v.data, v.len, out);
    kbuf_free(&v);
    if (rc == K_OK && out->id != csid) rc = K_ECORRUPT;
    if (rc == K_OK) {
        pthread_mutex_lock(&p->mu);
        cache_put(p, out, writable); /* writable only once seen in the index */
        pthread_mutex_unlock(&p->mu);
    } else if (rc != K_ENOTFOUND) {
        log_warn("chunkset: cannot read the record of chunkset %016" PRIx64 ": %s", csid,
                 kerr_name(rc));
    }
    return rc;
}

static kerr lookup(cs_pool *p, uint64_t csid, cs_info *out) {
    return lookup_fresh(p, csid, out, false);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* A zone name as a number to compare (FNV-1a). */
static uint64_t zone_hash(const char *z) {
    uint64_t h = UINT64_C(14695981039346656037);
    for (; z && *z; z++) h = (h ^ (uint8_t)*z) * UINT64_C(1099511628211);
    return h;
}

/* Reloads the open index (and records not cached yet) and the volumes of
 * the datanodes that are up. */
static void refresh(cs_pool *p, bool force) {
    int64_t now = clock_real_ms();
    /* one refresh at a time; a thread that need not force one goes on
     * with the view it has while another refreshes */
    if (force)
        pthread_mutex_lock(&p->refresh_mu);
    else if (pthread_mutex_trylock(&p->refresh_mu) != 0)
        return;
    pthread_mutex_lock(&p->mu);
    bool fresh = !force && now - p->refreshed_ms < REFRESH_MS;
    pthread_mutex_unlock(&p->mu);
    if (fresh) {
        pthread_mutex_unlock(&p->refresh_mu);
        return;
    }
    dn_info *list = NULL;
    size_t nl = 0;
    vol_up *up = NULL;
    size_t n_up = 0;
    /* per datanode up with room: its volumes, as [start, end) in up */
    size_t *dn_start = NULL, *dn_end = NULL, n_dn = 0;
    if (dnreg_list(p->meta, now, DNREG_DOWN_AFTER_MS, &list, &nl) == K_OK) {
        size_t total = 0;
        for (size_t i = 0; i < nl; i++) total += list[i].up ? list[i].nvolumes : 0;
        up = malloc((total ? total : 1) * sizeof *up);
        dn_start = malloc((nl ? nl : 1) * sizeof *dn_start);
        dn_end = malloc((nl ? nl : 1) * sizeof *dn_end);
        /* only datanodes of the media new chunksets go to count (ssd
         * when there are enough of them: see create) */
        size_t n_pref = 0;
        for (size_t i = 0; i < nl; i++)
            n_pref += list[i].up && list[i].free_bytes >= MIN_FREE_FOR_NEW && list[i].nvolumes &&
                      !strcmp(list[i].media, p->media);
        uint64_t nup = 0;
        for (size_t i = 0; i < nl; i++) nup += list[i].up;
        atomic_store(&p->dn_up, nup);
        atomic_store(&p->dn_down, nl - nup);
        for (size_t i = 0; up && dn_start && dn_end && i < nl; i++) {
            if (!list[i].up) continue;
            if (list[i].free_bytes >= MIN_FREE_FOR_NEW && list[i].nvolumes &&
                (n_pref < p->replicas || !strcmp(list[i].media, p->media))) {
                dn_start[n_dn] = n_up;
                dn_end[n_dn++] = n_up + list[i].nvolumes;
            }
            uint64_t zh = zone_hash(list[i].zone);
            for (size_t v = 0; v < list[i].nvolumes; v++)
                up[n_up++] = (vol_up){
                    .uid = list[i].volumes[v], .zone = zh, .chunk_size = list[i].chunk_size};
        }
        dnreg_list_free(list, nl);
    }
    kbuf idx = KBUF_INIT;
    kerr rc = kv_get(p->meta, CS_OPEN_INDEX, 1, &idx);
    size_t nids = rc == K_OK ? idx.len / 17 : 0;
    uint64_t *ids = calloc(nids ? nids : 1, sizeof *ids);
    size_t got = 0;
    for (size_t at = 0; ids && at + 16 <= idx.len && got < nids; at += 17) {
        unsigned long long v;
        char hex[17];
        memcpy(hex, idx.data + at, 16);
        hex[16] = 0;
        if (sscanf(hex, "%16llx", &v) == 1 && v) ids[got++] = v;
    }
    kbuf_free(&idx);
    /* records this gateway has not seen yet */
    for (size_t i = 0; i < got; i++) {
        cs_info c;
        (void)lookup(p, ids[i], &c);
    }
    if (ids) qsort(ids, got, sizeof *ids, cmp_u64);
    pthread_mutex_lock(&p->mu);
    if (rc == K_OK || rc == K_ENOTFOUND) {
        for (size_t i = 0; i < p->n; i++) {
            bool listed = ids && bsearch(&p->e[i].info.id, ids, got, sizeof *ids, cmp_u64);
            p->e[i].writable = listed && !p->e[i].info.sealed;
        }
        p->n_open = 0;
        for (size_t i = 0; i < p->n; i++)
            if (p->e[i].writable) (void)open_add(p, p->e[i].info.id);
    }
    if (up && dn_start && dn_end) {
        /* a datanode none of whose volumes is in a writable chunkset? */
        bool uncovered = false;
        for (size_t k = 0; k < n_dn && !uncovered; k++) {
            bool used = false;
            for (size_t i = 0; i < p->n && !used; i++) {
                if (!p->e[i].writable || p->e[i].info.k != p->k) continue;
                for (uint32_t m = 0; m < p->e[i].info.n && !used; m++)
                    for (size_t v = dn_start[k]; v < dn_end[k] && !used; v++)
                        used = p->e[i].info.m[m].uid == up[v].uid;
            }
            uncovered = !used;
        }
        p->uncovered = uncovered;
        qsort(up, n_up, sizeof *up, cmp_u64); /* uid first: compares uids */
        free(p->up);
        p->up = up;
        p->n_up = n_up;
        up = NULL;
    }
    free(dn_start);
    free(dn_end);
    p->refreshed_ms = now;
    pthread_mutex_unlock(&p->mu);
    free(up);
    free(ids);
    pthread_mutex_unlock(&p->refresh_mu);
}

/* The volume uid among those up at the last refresh, or NULL. mu held. */
static const vol_up *up_find(const cs_pool *p, uint64_t uid) {
    return p->up ? bsearch(&uid, p->up, p->n_up, sizeof *p->up, cmp_u64) : NULL;
}

/* Whether every member's volume is on a datanode up and known to vs. mu
 * held (vs lookups take no lock of ours). */
static bool members_up(cs_pool *p, const cs_info *c) {
    for (uint32_t i = 0; i < c->n; i++) {
        uint32_t index;
        if (!up_find(p, c->m[i].uid) || !volset_find_uid(p->vs, c->m[i].uid, &index)) return false;
    }
    return true;
}

/* Kage's order of preference among writable chunksets (seeds/000): 0
 * multi-zone with the master in the gateway's zone, 1 multi-zone with the
 * master elsewhere, 2 single-zone in the gateway's zone, 3 single-zone
 * elsewhere. Members all up (members_up); mu held. */
static int zone_class(const cs_pool *p, const cs_info *c) {
    const vol_up *master = up_find(p, c->m[0].uid);
    bool multi = false;
    for (uint32_t i = 1; master && i < c->n && !multi; i++) {
        const vol_up *u = up_find(p, c->m[i].uid);
        multi = u && u->zone != master->zone;
    }
    bool mine = p->zone && master && master->zone == p->zone_h;
    return (multi ? 0 : 2) + (mine ? 0 : 1);
}

/* How full e's chunks are, in percent: the end of the last needle seen
 * there over the smallest chunk size of its members' datanodes (1 GiB when
 * they do not say). mu held. */
static uint64_t fill_pct(const cs_pool *p, const cs_entry *e) {
    uint64_t cap = 0;
    for (uint32_t i = 0; i < e->info.n; i++) {
        const vol_up *u = up_find(p, e->info.m[i].uid);
        if (u && u->chunk_size && (!cap || u->chunk_size < cap)) cap = u->chunk_size;
    }
    if (!cap) cap = UINT64_C(1) << 30;
    return e->tail >= cap ? 100 : e->tail * 100 / cap;
}

/* The entry of open id i, if it is usable for a write now (mu held). */
static cs_entry *usable_entry(cs_pool *p, size_t i, int64_t now) {
    bool found;
    size_t at = find(p, p->open_ids[i], &found);
    cs_entry *e = found ? &p->e[at] : NULL;
    if (!e || !e->writable || e->info.n != p->replicas || e->info.k != p->k ||
        now < e->avoid_until_ms || !members_up(p, &e->info))
        return NULL;
    return e;
}

/* Picks a usable chunkset for a write: round-robin among those of the
 * best zone_class there is; false if none. Also counts the usable ones
 * (any class), and says whether that best class is full enough, by the
 * fill rules of cs_alloc, to open another chunkset. */
static bool pick(cs_pool *p, cs_info *out, size_t *usable, bool *filling) {
    int64_t now = clock_real_ms();
    pthread_mutex_lock(&p->mu);
    size_t n = 0, in_class[4] = {0};
    uint64_t fill_sum[4] = {0}, fill_min[4] = {100, 100, 100, 100};
    for (size_t i = 0; i < p->n_open; i++) {
        cs_entry *e = usable_entry(p, i, now);
        if (!e) continue;
        int z = zone_class(p, &e->info);
        uint64_t f = fill_pct(p, e);
        n++;
        in_class[z]++;
        fill_sum[z] += f;
        if (f < fill_min[z]) fill_min[z] = f;
    }
    *usable = n;
    *filling = false;
    bool ok = false;
    int best = 0;
    while (best < 4 && !in_class[best]) best++;
    if (n) {
        size_t nb = in_class[best];
        *filling = (p->avg_fill && fill_sum[best] >= (uint64_t)p->avg_fill * nb) ||
                   (p->min_fill && fill_min[best] >= p->min_fill);
        size_t want = (size_t)(p->rr++ % nb);
        for (size_t i = 0; i < p->n_open && !ok; i++) {
            cs_entry *e = usable_entry(p, i, now);
            if (e && zone_class(p, &e->info) == best && want-- == 0) {
                *out = e->info;
                ok = true;
            }
        }
    }
    pthread_mutex_unlock(&p->mu);
    return ok;
}

/* Notes that a needle ending at end was stored on chunkset csid (fill). */
static void note_tail(cs_pool *p, uint64_t csid, uint64_t end) {
    pthread_mutex_lock(&p->mu);
    bool found;
    size_t at = find(p, csid, &found);
    if (found && end > p->e[at].tail) p->e[at].tail = end;
    pthread_mutex_unlock(&p->mu);
}

static void avoid(cs_pool *p, uint64_t csid) {
    pthread_mutex_lock(&p->mu);
    bool found;
    size_t at = find(p, csid, &found);
    if (found) p->e[at].avoid_until_ms = clock_real_ms() + AVOID_MS;
    pthread_mutex_unlock(&p->mu);
}

kerr cs_seal(kv *meta, volset *vs, cs_info *c, uint32_t *sealed_members) {
    if (sealed_members) *sealed_members = 0;
    char key[18];
    cs_record_key(c->id, key);
    kbuf cur = KBUF_INIT, rec = KBUF_INIT;
    kerr rc = K_ECONFLICT;
    cs_info now;
    /* the record as it is now (a repair may have changed its members),
     * marked sealed by compare-and-set: never a stale copy written back */
    for (int attempt = 0; attempt < 16 && rc == K_ECONFLICT; attempt++) {
        rc = kv_get(meta, key, 17, &cur);
        if (rc == K_OK) rc = cs_decode(cur.data, cur.len, &now);
        if (rc == K_OK && now.id != c->id) rc = K_ECORRUPT;
        if (rc != K_OK || now.sealed) break;
        now.sealed = true;
        kbuf_reset(&rec);
        cs_encode(&now, &rec);
        rc = kv_cas(meta, key, 17, cur.data, cur.len, rec.data, rec.len);
    }
    kbuf_free(&cur);
    kbuf_free(&rec);
    if (rc == K_OK) rc = cs_index_update(meta, CS_OPEN_INDEX, c->id, false);
    if (rc != K_OK) {
        log_warn("chunkset: cannot record chunkset %016" PRIx64 " as sealed: %s", c->id,
                 kerr_name(rc));
        return rc;
    }
    *c = now;
    for (uint32_t i = 0; i < c->n; i++) {
        uint32_t index;
        kerr e = volset_resolve_uid(vs, c->m[i].uid, &index)
                     ? vol_chunk_seal(vs, index, c->m[i].chunk)
                     : K_ENOTFOUND;
        if (e == K_OK && sealed_members)
            *sealed_members |= 1u << i;
        else if (e)
            log_warn("chunkset: could not seal chunk %u of volume %016" PRIx64 ": %s",
                     c->m[i].chunk, c->m[i].uid, kerr_name(e));
    }
    return K_OK;
}

/* Seals a chunkset for this pool (cs_seal) and caches what it became. */
static void seal(cs_pool *p, const cs_info *c) {
    pthread_mutex_lock(&p->mu);
    bool found;
    size_t at = find(p, c->id, &found);
    if (found) {
        p->e[at].writable = false;
        p->e[at].info.sealed = true;
    }
    pthread_mutex_unlock(&p->mu);
    cs_info s = *c;
    if (cs_seal(p->meta, p->vs, &s, NULL) != K_OK) return;
    pthread_mutex_lock(&p->mu);
    cache_put(p, &s, false);
    pthread_mutex_unlock(&p->mu);
    atomic_fetch_add(&p->n_sealed, 1);
    log_info("chunkset: %016" PRIx64 " sealed", c->id);
}

static uint64_t random_u64(void) {
    uint64_t v = 0;
    while (v == 0)
        if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v) v = (uint64_t)clock_mono_ns();
    return v;
}

/* Whether some writable chunkset has a member on one of d's volumes. */
static bool in_writable(cs_pool *p, const dn_info *d) {
    bool used = false;
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->n && !used; i++) {
        if (!p->e[i].writable || p->e[i].info.k != p->k) continue;
        for (uint32_t m = 0; m < p->e[i].info.n && !used; m++)
            for (size_t v = 0; v < d->nvolumes && !used; v++)
                used = p->e[i].info.m[m].uid == d->volumes[v];
    }
    pthread_mutex_unlock(&p->mu);
    return used;
}

/* Whether d answers its health check (cached for a second by the remote
 * volume): a datanode that died since its last heartbeat is not given a
 * new chunkset while the registry still says up. */
static bool answers(cs_pool *p, const dn_info *d) {
    uint32_t index;
    vol_space sp;
    return volset_resolve_uid(p->vs, d->volumes[0], &index) &&
           volset_space_get(p->vs, index, &sp) == K_OK && !sp.stat_failed;
}

/* Creates a chunkset on replicas datanodes that are up, in distinct zones
 * where there are enough zones. */
static kerr create(cs_pool *p) {
    dn_info *list;
    size_t nl;
    kerr rc = dnreg_list(p->meta, clock_real_ms(), DNREG_DOWN_AFTER_MS, &list, &nl);
    if (rc) return rc;
    size_t *cand = calloc(nl ? nl : 1, sizeof *cand);
    size_t nc = 0;
    for (size_t i = 0; cand && i < nl; i++)
        if (list[i].up && list[i].nvolumes && list[i].free_bytes >= MIN_FREE_FOR_NEW &&
            answers(p, &list[i]))
            cand[nc++] = i;
    /* shuffle, so that chunksets spread over the datanodes; then the ones
     * no writable chunkset uses yet go first */
    for (size_t i = nc; i > 1; i--) {
        size_t j = (size_t)(random_u64() % i), t = cand[i - 1];
        cand[i - 1] = cand[j];
        cand[j] = t;
    }
    /* hybrid placement: replicated chunksets on ssd, stripes on hdd, when
     * enough datanodes have that media */
    size_t n_pref = 0;
    for (size_t k = 0; k < nc; k++) n_pref += !strcmp(list[cand[k]].media, p->media);
    if (n_pref >= p->replicas) {
        size_t kept = 0;
        for (size_t k = 0; k < nc; k++)
            if (!strcmp(list[cand[k]].media, p->media)) cand[kept++] = cand[k];
        nc = kept;
    }
    size_t front = 0;
    for (size_t k = 0; k < nc; k++)
        if (!in_writable(p, &list[cand[k]])) {
            size_t t = cand[front];
            cand[front++] = cand[k];
            cand[k] = t;
        }
    size_t pickd[CS_MAX_REPLICAS], np = 0;
    /* distinct zones first, then any datanode not picked yet */
    for (int pass = 0; pass < 2 && np < p->replicas; pass++)
        for (size_t k = 0; k < nc && np < p->replicas; k++) {
            const dn_info *d = &list[cand[k]];
            bool clash = false;
            for (size_t q = 0; q < np && !clash; q++)
                clash = pickd[q] == cand[k] || (pass == 0 && !strcmp(list[pickd[q]].zone, d->zone));
            if (!clash) pickd[np++] = cand[k];
        }
    /* the master in the gateway's zone when a member is there */
    for (size_t q = 1; p->zone && q < np; q++)
        if (!strcmp(list[pickd[q]].zone, p->zone) && strcmp(list[pickd[0]].zone, p->zone)) {
            size_t t = pickd[0];
            pickd[0] = pickd[q];
            pickd[q] = t;
        }
    /* the members' zones, master first, for the log */
    char zones[160] = "";
    for (size_t q = 0, at = 0; q < np && at < sizeof zones; q++) {
        int w = snprintf(zones + at, sizeof zones - at, "%s%s", q ? "," : "", list[pickd[q]].zone);
        at += w > 0 ? (size_t)w : 0;
    }
    cs_info c = {.id = random_u64(), .created_ms = clock_real_ms(), .k = p->k};
    if (!cand) {
        rc = K_ENOMEM;
    } else if (np < p->replicas) {
        rc = K_EUNAVAILABLE;
        pthread_mutex_lock(&p->mu);
        bool logged = p->short_logged;
        p->short_logged = true;
        pthread_mutex_unlock(&p->mu);
        if (!logged && p->k)
            log_info("chunkset: %zu datanode%s with room up, %u needed for a stripe RS(%u,%u): "
                     "large objects are stored replicated instead",
                     nc, nc == 1 ? "" : "s", p->replicas, p->k, p->replicas - p->k);
        else if (!logged)
            log_error("chunkset: %zu datanode%s with room up, %u needed for a chunkset of %u "
                      "replicas: new objects cannot be stored",
                      nc, nc == 1 ? "" : "s", p->replicas, p->replicas);
    }
    for (size_t q = 0; rc == K_OK && q < np; q++) {
        const dn_info *d = &list[pickd[q]];
        uint64_t uid = d->volumes[random_u64() % d->nvolumes];
        uint32_t index, chunk;
        rc = volset_resolve_uid(p->vs, uid, &index) ? vol_chunk_create_placed(p->vs, index, &chunk)
                                                    : K_EUNAVAILABLE;
        if (rc == K_OK)
            c.m[c.n++] = (cs_member){.uid = uid, .chunk = chunk};
        else
            log_warn("chunkset: datanode %016" PRIx64 " (%s) could not create a chunk: %s", d->id,
                     d->address, kerr_name(rc));
    }
    dnreg_list_free(list, nl);
    free(cand);
    if (rc == K_OK) {
        kbuf rec = KBUF_INIT;
        cs_encode(&c, &rec);
        char key[18];
        cs_record_key(c.id, key);
        rc = kv_cas(p->meta, key, 17, NULL, 0, rec.data, rec.len);
        kbuf_free(&rec);
        if (rc == K_OK) rc = cs_index_update(p->meta, CS_ALL_INDEX, c.id, true);
        if (rc == K_OK) rc = cs_index_update(p->meta, CS_OPEN_INDEX, c.id, true);
    }
    if (rc != K_OK) {
        /* chunks made for nothing: sealed, so they compact away */
        for (uint32_t i = 0; i < c.n; i++) {
            uint32_t index;
            if (volset_resolve_uid(p->vs, c.m[i].uid, &index))
                (void)vol_chunk_seal(p->vs, index, c.m[i].chunk);
        }
        return rc;
    }
    pthread_mutex_lock(&p->mu);
    p->short_logged = false;
    rc = cache_put(p, &c, true);
    if (rc == K_OK) rc = open_add(p, c.id);
    pthread_mutex_unlock(&p->mu);
    atomic_fetch_add(&p->n_created, 1);
    log_info("chunkset: %016" PRIx64 " created on %u datanodes, zones %s (master first)", c.id, c.n,
             zones);
    return rc;
}

/* ---- the pool ---- */

void cs_pool_stats_get(cs_pool *p, cs_pool_stats *out) {
    refresh(p, false); /* at most one registry read per 2 s */
    *out = (cs_pool_stats){.puts = atomic_load(&p->n_puts),
                           .put_retries = atomic_load(&p->n_retries),
                           .put_failures = atomic_load(&p->n_put_failures),
                           .created = atomic_load(&p->n_created),
                           .sealed = atomic_load(&p->n_sealed),
                           .reads = atomic_load(&p->n_reads),
                           .read_failovers = atomic_load(&p->n_failovers),
                           .read_failures = atomic_load(&p->n_read_failures),
                           .datanodes_up = atomic_load(&p->dn_up),
                           .datanodes_down = atomic_load(&p->dn_down)};
    int64_t now = clock_real_ms();
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->n; i++) {
        cs_entry *e = &p->e[i];
        if (e->writable && e->info.n == p->replicas && e->info.k == p->k &&
            now >= e->avoid_until_ms && members_up(p, &e->info))
            out->open++;
    }
    pthread_mutex_unlock(&p->mu);
}

/* A pool whose chunksets have `members` members (replicas, or k + m). */
static kerr pool_new(kv *meta, volset *vs, uint32_t members, const cs_alloc *a, cs_pool **out) {
    uint32_t replicas = members;
    *out = NULL;
    if (!meta || !vs || !a || replicas < 2 || replicas > CS_MAX_REPLICAS || a->avg_fill > 100 ||
        a->min_fill > 100)
        return K_EINVAL;
    cs_pool *p = calloc(1, sizeof *p);
    if (!p) return K_ENOMEM;
    if (a->zone && *a->zone && !(p->zone = strdup(a->zone))) {
        free(p);
        return K_ENOMEM;
    }
    p->zone_h = zone_hash(p->zone);
    p->meta = meta;
    p->vs = vs;
    p->replicas = replicas;
    p->media = "ssd";
    p->min_open = a->min_open ? a->min_open : 1;
    p->avg_fill = a->avg_fill;
    p->min_fill = a->min_fill;
    p->fill_created_ms = INT64_MIN / 2;
    p->refreshed_ms = INT64_MIN / 2;
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->refresh_mu, NULL);
    pthread_mutex_init(&p->create_mu, NULL);
    *out = p;
    return K_OK;
}

void cs_pool_close(cs_pool *p) {
    if (!p) return;
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->refresh_mu);
    pthread_mutex_destroy(&p->create_mu);
    free(p->e);
    free(p->open_ids);
    free(p->up);
    free(p->zone);
    ec_free(p->ec);
    free(p);
}

/* One attempt: the needle to c's master, forwarded to the other members. */
static kerr put_on(cs_pool *p, const cs_info *c, const void *body, size_t len, uint64_t *offset) {
    uint32_t index[CS_MAX_REPLICAS];
    vol_replica fwd[CS_MAX_REPLICAS];
    for (uint32_t i = 0; i < c->n; i++) {
        if (!volset_resolve_uid(p->vs, c->m[i].uid, &index[i])) return K_EUNAVAILABLE;
        const char *addr = volset_remote_address(p->vs, index[i]);
        if (!addr) return K_EINVAL; /* not a datanode's volume */
        if (i)
            fwd[i - 1] = (vol_replica){.address = addr, .uid = c->m[i].uid, .chunk = c->m[i].chunk};
    }
    vol_writer *w;
    kerr rc =
        vol_writer_begin_at(p->vs, index[0], c->m[0].chunk, VOL_AT_TAIL, len, fwd, c->n - 1, &w);
    if (rc) return rc;
    rc = vol_writer_write(w, body, len);
    if (rc) {
        vol_writer_abort(w);
        return rc;
    }
    vol_loc loc;
    rc = vol_writer_finish(w, &loc);
    if (rc == K_OK) *offset = loc.offset;
    return rc;
}

/* One attempt to store something on chunkset c (put_on, stripe_on). */
typedef kerr (*attempt_fn)(cs_pool *p, const cs_info *c, void *arg, uint64_t *offset);

/* Creates a chunkset for want of usable ones (or for a datanode in none),
 * one creation at a time per pool: writers that find too few at once do
 * not each create one; those that waited go on with what the first made. */
static kerr create_wanted(cs_pool *p, bool uncovered) {
    pthread_mutex_lock(&p->mu);
    uint64_t gen = p->create_gen;
    pthread_mutex_unlock(&p->mu);
    pthread_mutex_lock(&p->create_mu);
    kerr e;
    pthread_mutex_lock(&p->mu);
    bool other = p->create_gen != gen; /* one ended while this waited */
    e = p->create_last;
    pthread_mutex_unlock(&p->mu);
    if (!other) {
        cs_info c;
        size_t usable;
        bool filling;
        (void)pick(p, &c, &usable, &filling);
        e = usable < p->min_open || uncovered ? create(p) : K_OK;
        pthread_mutex_lock(&p->mu);
        p->create_gen++;
        p->create_last = e;
        pthread_mutex_unlock(&p->mu);
    }
    pthread_mutex_unlock(&p->create_mu);
    return e;
}

/* Whether this write should open a chunkset because the ones it would
 * use are full enough (cs_alloc's fill rules): one such creation at a
 * time per pool, at most one per REFRESH_MS, and never beyond twice
 * min_open usable chunksets. */
static bool claim_fill_create(cs_pool *p, size_t usable) {
    int64_t now = clock_real_ms();
    if (usable >= 2 * (size_t)p->min_open || now - atomic_load(&p->fill_created_ms) < REFRESH_MS)
        return false;
    if (atomic_exchange(&p->fill_creating, true)) return false;
    atomic_store(&p->fill_created_ms, now);
    return true;
}

/* Tries chunksets of p (creating some when fewer than min_open are usable,
 * a datanode is in none, or the fill rules say so) until one takes it: a
 * chunkset that refuses as full is sealed, one that fails otherwise is
 * avoided for a while. span: the bytes the needle takes on each member
 * (fill). */
static kerr put_loop(cs_pool *p, attempt_fn fn, void *arg, uint64_t span, uint64_t *csid,
                     uint64_t *offset) {
    kerr last = K_EUNAVAILABLE;
    int creates = 0;
    for (int attempt = 0; attempt < PUT_ATTEMPTS; attempt++) {
        cs_info c;
        size_t usable;
        bool filling;
        bool have = pick(p, &c, &usable, &filling);
        pthread_mutex_lock(&p->mu);
        bool uncovered = p->uncovered;
        p->uncovered = false; /* one try per refresh */
        pthread_mutex_unlock(&p->mu);
        if ((usable < p->min_open || uncovered) && creates < PUT_CREATES) {
            creates++;
            kerr e = create_wanted(p, uncovered);
            if (e == K_OK && !have) have = pick(p, &c, &usable, &filling);
            if (e != K_OK) last = e;
        } else if (filling && attempt == 0 && claim_fill_create(p, usable)) {
            pthread_mutex_lock(&p->create_mu);
            kerr e = create(p);
            pthread_mutex_unlock(&p->create_mu);
            atomic_store(&p->fill_creating, false);
            if (e == K_OK) log_info("chunkset: opened one more, the open ones being full enough");
        }
        if (!have) {
            if (attempt == 0) {
                refresh(p, true);
                continue;
            }
            break;
        }
        if (attempt) atomic_fetch_add(&p->n_retries, 1);
        kerr rc = fn(p, &c, arg, offset);
        if (rc == K_OK) {
            note_tail(p, c.id, *offset + span);
            atomic_fetch_add(&p->n_puts, 1);
            *csid = c.id;
            return K_OK;
        }
        last = rc;
        if (rc == K_ECONFLICT || rc == K_ENOSPC) {
            /* full (chunk size or a member's disk), or its copies went
             * apart: no more needles there */
            seal(p, &c);
        } else {
            log_warn("chunkset: %016" PRIx64 " could not take a %s (%s); trying another", c.id,
                     p->k ? "stripe" : "needle", kerr_name(rc));
            avoid(p, c.id);
        }
    }
    atomic_fetch_add(&p->n_put_failures, 1);
    if (last == K_ECONFLICT || last == K_EIO || last == K_ENOTFOUND) last = K_EUNAVAILABLE;
    return last;
}

typedef struct body_arg {
    const void *body;
    size_t len;
} body_arg;

static kerr put_attempt(cs_pool *p, const cs_info *c, void *arg, uint64_t *offset) {
    body_arg *b = arg;
    return put_on(p, c, b->body, b->len, offset);
}

kerr cs_put(cs_pool *p, const void *body, size_t len, uint64_t *csid, uint64_t *offset) {
    refresh(p, false);
    body_arg b = {body, len};
    return put_loop(p, put_attempt, &b, len, csid, offset);
}

kerr cs_check(cs_pool *p, uint64_t csid) {
    cs_info c;
    kerr rc = lookup(p, csid, &c);
    return rc == K_OK ? K_OK : K_EUNAVAILABLE;
}

/* Reads n bytes at off of the needle (offset, length) from the members of
 * c: read_members (replicas) or read_stripe_members (blocks). */
typedef kerr (*members_fn)(cs_pool *p, const cs_info *c, uint64_t offset, uint64_t length,
                           uint64_t off, void *buf, size_t n);
static kerr read_members(cs_pool *p, const cs_info *c, uint64_t offset, uint64_t length,
                         uint64_t off, void *buf, size_t n);
static kerr read_stripe_members(cs_pool *p, const cs_info *c, uint64_t offset, uint64_t length,
                                uint64_t off, void *buf, size_t n);

static bool same_members(const cs_info *a, const cs_info *b) {
    if (a->n != b->n) return false;
    for (uint32_t i = 0; i < a->n; i++)
        if (a->m[i].uid != b->m[i].uid || a->m[i].chunk != b->m[i].chunk) return false;
    return true;
}

/* A read of chunkset csid through fn: with the cached record, then, when
 * that fails for want of members, once more with the record read afresh
 * if it names other members (a repair may have moved the copies). */
static kerr read_via(cs_pool *p, members_fn fn, uint64_t csid, uint64_t offset, uint64_t length,
                     uint64_t off, void *buf, size_t n) {
    refresh(p, false); /* who is up: at most one registry read per 2 s */
    atomic_fetch_add(&p->n_reads, 1);
    cs_info c;
    kerr rc = lookup(p, csid, &c);
    if (rc == K_ENOTFOUND)
        log_error("chunkset: a location names chunkset %016" PRIx64 ", which has no record", csid);
    if (rc) return K_EUNAVAILABLE;
    rc = fn(p, &c, offset, length, off, buf, n);
    if (rc == K_OK || rc == K_EINVAL) return rc;
    cs_info again;
    if (lookup_fresh(p, csid, &again, true) == K_OK && !same_members(&again, &c))
        rc = fn(p, &again, offset, length, off, buf, n);
    if (rc) atomic_fetch_add(&p->n_read_failures, 1);
    return rc;
}

kerr cs_read(cs_pool *p, uint64_t csid, uint64_t offset, uint64_t length, uint64_t off, void *buf,
             size_t n) {
    return read_via(p, read_members, csid, offset, length, off, buf, n);
}

/* Reads from the members of c, falling over from one to the next. */
static kerr read_members(cs_pool *p, const cs_info *c_, uint64_t offset, uint64_t length,
                         uint64_t off, void *buf, size_t n) {
    const cs_info c = *c_;
    uint64_t csid = c.id;
    kerr rc;
    /* start at a member chosen by the needle, so reads spread over them;
     * members on datanodes the registry says are down go last */
    uint32_t first = (uint32_t)((offset >> 12) % c.n), order[CS_MAX_REPLICAS], no = 0;
    pthread_mutex_lock(&p->mu);
    for (int pass = 0; pass < 2; pass++)
        for (uint32_t k = 0; k < c.n; k++) {
            uint32_t i = (first + k) % c.n;
            bool up = !p->up || up_find(p, c.m[i].uid);
            if (up == (pass == 0)) order[no++] = i;
        }
    pthread_mutex_unlock(&p->mu);
    kerr worst = K_EUNAVAILABLE;
    for (uint32_t k = 0; k < c.n; k++) {
        const cs_member *m = &c.m[order[k]];
        uint32_t index;
        if (!volset_resolve_uid(p->vs, m->uid, &index)) continue;
        vol_loc l = {.volume = index, .chunk = m->chunk, .offset = offset, .length = length};
        rc = vol_read(p->vs, &l, off, buf, n);
        if (rc == K_OK) {
            if (k) atomic_fetch_add(&p->n_failovers, 1);
            if (k)
                log_info("chunkset: read of chunkset %016" PRIx64 " offset %" PRIu64
                         " served by member %u after %u failed",
                         csid, offset, order[k], k);
            return K_OK;
        }
        if (rc == K_EINVAL) return rc; /* the range itself is wrong */
        log_warn("chunkset: member %016" PRIx64 " of chunkset %016" PRIx64
                 " failed a read at offset %" PRIu64 ": %s",
                 m->uid, csid, offset, kerr_name(rc));
        if (rc == K_ECORRUPT) worst = K_ECORRUPT;
    }
    return worst;
}

void cs_release(cs_pool *p, uint64_t csid, uint64_t offset, uint64_t length) {
    cs_info c;
    if (lookup(p, csid, &c) != K_OK) {
        log_warn("chunkset: cannot release a needle of chunkset %016" PRIx64
                 ": its record is unreadable",
                 csid);
        return;
    }
    if (c.k) length = (length + c.k - 1) / c.k; /* each member holds one block */
    for (uint32_t i = 0; i < c.n; i++) {
        uint32_t index;
        vol_loc l = {.chunk = c.m[i].chunk, .offset = offset, .length = length};
        kerr e = K_ENOTFOUND;
        if (volset_resolve_uid(p->vs, c.m[i].uid, &index)) {
            l.volume = index;
            e = vol_delete(p->vs, &l);
        }
        if (e && e != K_ENOTFOUND)
            log_warn("chunkset: could not release a needle on member %016" PRIx64 ": %s",
                     c.m[i].uid, kerr_name(e));
    }
}

/* ---- stripesets (RS(k, m)) ---- */

kerr cs_pool_open(kv *meta, volset *vs, uint32_t replicas, const cs_alloc *a, cs_pool **out) {
    *out = NULL;
    if (replicas > VOL_MAX_REPLICAS + 1) return K_EINVAL;
    return pool_new(meta, vs, replicas, a, out);
}

kerr cs_pool_open_ec(kv *meta, volset *vs, uint32_t k, uint32_t m, const cs_alloc *a,
                     cs_pool **out) {
    *out = NULL;
    if (k < 1 || m < 1 || k + m > CS_MAX_REPLICAS) return K_EINVAL;
    kerr rc = pool_new(meta, vs, k + m, a, out);
    if (rc) return rc;
    cs_pool *p = *out;
    p->k = k;
    p->media = "hdd";
    rc = ec_new(k, m, &p->ec);
    if (rc) {
        cs_pool_close(p);
        *out = NULL;
    }
    return rc;
}

/* One attempt: block i of the stripe to member i, all at one offset: the
 * first member's append chooses it (and is durable first), then the others
 * are written there in parallel (bodies first, then the answers, so the
 * datanodes sync at the same time). */
static kerr stripe_on(cs_pool *p, const cs_info *c, uint8_t *const *blocks, size_t block,
                      uint64_t *offset) {
    uint32_t index[CS_MAX_REPLICAS];
    for (uint32_t i = 0; i < c->n; i++)
        if (!volset_resolve_uid(p->vs, c->m[i].uid, &index[i])) return K_EUNAVAILABLE;
    vol_writer *w[CS_MAX_REPLICAS] = {0};
    vol_loc done[CS_MAX_REPLICAS];
    bool ok[CS_MAX_REPLICAS] = {0};
    kerr rc =
        vol_writer_begin_at(p->vs, index[0], c->m[0].chunk, VOL_AT_TAIL, block, NULL, 0, &w[0]);
    if (rc) return rc;
    rc = vol_writer_write(w[0], blocks[0], block);
    if (rc) {
        vol_writer_abort(w[0]);
        return rc;
    }
    rc = vol_writer_finish(w[0], &done[0]);
    if (rc) return rc;
    ok[0] = true;
    uint64_t at = done[0].offset;
    uint32_t started = 1;
    for (uint32_t i = 1; rc == K_OK && i < c->n; i++) {
        rc = vol_writer_begin_at(p->vs, index[i], c->m[i].chunk, at, block, NULL, 0, &w[i]);
        if (rc == K_OK) started++;
    }
    bool sent[CS_MAX_REPLICAS] = {0};
    for (uint32_t i = 1; rc == K_OK && i < started; i++) {
        rc = vol_writer_write(w[i], blocks[i], block);
        sent[i] = rc == K_OK;
    }
    /* every block sent whole is finished, whatever happened to the others:
     * its datanode may store it, and a stored block of a failed stripe
     * must be deleted, not left behind as a needle nothing names */
    for (uint32_t i = 1; i < started; i++) {
        if (!sent[i]) {
            vol_writer_abort(w[i]);
            continue;
        }
        kerr e = vol_writer_finish(w[i], &done[i]);
        if (e == K_OK) ok[i] = true;
        if (e == K_OK && done[i].offset != at) e = K_EIO;
        if (e && rc == K_OK) rc = e;
    }
    if (rc) {
        for (uint32_t i = 0; i < c->n; i++)
            if (ok[i]) (void)vol_delete(p->vs, &done[i]);
        return rc;
    }
    *offset = at;
    return K_OK;
}

typedef struct stripe_arg {
    uint8_t *const *blocks;
    size_t block;
} stripe_arg;

static kerr stripe_attempt(cs_pool *p, const cs_info *c, void *arg, uint64_t *offset) {
    stripe_arg *a = arg;
    return stripe_on(p, c, a->blocks, a->block, offset);
}

size_t cs_stripe_scratch_size(const cs_pool *p, size_t len) {
    if (!p->k) return 0;
    size_t block = (len + p->k - 1) / p->k;
    return (size_t)(p->replicas - p->k + 2) * block;
}

kerr cs_put_stripe(cs_pool *p, const void *body, size_t len, void *scratch, uint64_t *csid,
                   uint64_t *offset) {
    if (!p->k || !len) return K_EINVAL;
    uint32_t k = p->k, m = p->replicas - p->k;
    size_t block = (len + k - 1) / k;
    /* data blocks point into the body; the last ones, partial or past the
     * end, are zero-padded copies; parity is computed here (in the
     * caller's scratch when it gives one) */
    uint8_t *own = scratch ? NULL : malloc(cs_stripe_scratch_size(p, len));
    uint8_t *pad = scratch ? scratch : own;
    if (!pad) return K_ENOMEM;
    uint8_t *parity = pad + 2 * block;
    memset(pad, 0, 2 * block);
    uint8_t *blocks[CS_MAX_REPLICAS];
    const uint8_t *src = body;
    for (uint32_t i = 0; i < k; i++) {
        size_t at = (size_t)i * block;
        if (at + block <= len) {
            blocks[i] = (uint8_t *)src + at;
        } else if (at < len) {
            memcpy(pad, src + at, len - at);
            blocks[i] = pad;
        } else {
            blocks[i] = pad + block; /* all zero */
        }
    }
    for (uint32_t i = 0; i < m; i++) blocks[k + i] = parity + (size_t)i * block;
    refresh(p, false);
    if (atomic_load(&p->dn_up) < p->replicas) {
        /* not enough datanodes for a stripe: the caller replicates */
        free(own);
        return K_EUNAVAILABLE;
    }
    ec_encode(p->ec, block, (const uint8_t *const *)blocks, blocks + k);
    stripe_arg a = {blocks, block};
    kerr rc = put_loop(p, stripe_attempt, &a, block, csid, offset);
    free(own);
    return rc;
}

/* Reads [from, from + n) of block b of the stripe at offset, from its
 * member. */
static kerr read_block(cs_pool *p, const cs_info *c, uint32_t b, uint64_t offset, size_t block,
                       uint64_t from, uint8_t *dst, size_t n) {
    uint32_t index;
    if (!volset_resolve_uid(p->vs, c->m[b].uid, &index)) return K_EUNAVAILABLE;
    vol_loc l = {.volume = index, .chunk = c->m[b].chunk, .offset = offset, .length = block};
    return vol_read(p->vs, &l, from, dst, n);
}

kerr cs_read_stripe(cs_pool *p, uint64_t csid, uint64_t offset, uint64_t length, uint64_t off,
                    void *buf, size_t n) {
    if (off > length || n > length - off) return K_EINVAL;
    return read_via(p, read_stripe_members, csid, offset, length, off, buf, n);
}

/* Reads a stripe range from the members of c, decoding around failures. */
static kerr read_stripe_members(cs_pool *p, const cs_info *c_, uint64_t offset, uint64_t length,
                                uint64_t off, void *buf, size_t n) {
    const cs_info c = *c_;
    uint64_t csid = c.id;
    kerr rc;
    if (!c.k || c.k >= c.n) return K_ECORRUPT;
    uint32_t k = c.k, nb = c.n;
    size_t block = (size_t)((length + k - 1) / k);
    uint8_t *dst = buf;
    ec_code *code = NULL;
    /* members on datanodes the registry says are down are tried last (a
     * dead host costs a connect timeout each time); a block that failed
     * is not tried again within this read */
    uint32_t failed = 0, down = 0;
    pthread_mutex_lock(&p->mu);
    for (uint32_t b = 0; p->up && b < nb; b++)
        if (!up_find(p, c.m[b].uid)) down |= 1u << b;
    pthread_mutex_unlock(&p->mu);
    while (n) {
        uint32_t j = (uint32_t)(off / block);
        uint64_t in = off - (uint64_t)j * block;
        size_t take = (size_t)(block - in < n ? block - in : n);
        rc = (failed | down) & (1u << j) ? K_EUNAVAILABLE
                                         : read_block(p, &c, j, offset, block, in, dst, take);
        if (rc == K_EINVAL) return rc;
        if (rc) {
            /* degraded: the same byte range from k blocks that answer */
            failed |= 1u << j;
            int64_t now = clock_real_ms();
            int64_t last = atomic_load(&p->degraded_logged_ms);
            if (now - last >= 1000 &&
                atomic_compare_exchange_strong(&p->degraded_logged_ms, &last, now))
                log_warn("chunkset: stripeset %016" PRIx64 " block %u at %" PRIu64
                         ": %s; decoding from the others (%" PRIu64 " more such reads since the "
                         "last line)",
                         csid, j, offset, kerr_name(rc), atomic_exchange(&p->degraded_unlogged, 0));
            else
                atomic_fetch_add(&p->degraded_unlogged, 1);
            atomic_fetch_add(&p->n_failovers, 1);
            if (!code && (p->k == k && p->replicas == nb ? 0 : 1)) {
                if (ec_new(k, nb - k, &code)) return K_ENOMEM;
            }
            ec_code *use = code ? code : p->ec;
            uint8_t *bl[CS_MAX_REPLICAS] = {0};
            uint8_t *space = malloc((size_t)nb * take);
            if (!space) {
                ec_free(code);
                return K_ENOMEM;
            }
            for (uint32_t b = 0; b < nb; b++) bl[b] = space + (size_t)b * take;
            /* k blocks that answer: those on datanodes up first */
            uint32_t have_mask = 0, have = 0;
            for (int pass = 0; pass < 2 && have < k; pass++)
                for (uint32_t b = 0; b < nb && have < k; b++) {
                    bool later = (down & (1u << b)) != 0;
                    if (b == j || (have_mask & (1u << b)) || (failed & (1u << b)) ||
                        later != (pass == 1))
                        continue;
                    if (read_block(p, &c, b, offset, block, in, bl[b], take) != K_OK) {
                        failed |= 1u << b;
                        continue;
                    }
                    have_mask |= 1u << b;
                    have++;
                }
            uint32_t missing = ~have_mask & (uint32_t)((UINT64_C(1) << nb) - 1);
            kerr d = have == k ? ec_reconstruct(use, take, bl, missing, 1u << j) : K_EUNAVAILABLE;
            if (d == K_OK) memcpy(dst, bl[j], take);
            free(space);
            if (d) {
                ec_free(code);
                log_error("chunkset: stripeset %016" PRIx64 " at %" PRIu64
                          ": fewer than %u blocks answer",
                          csid, offset, k);
                return rc == K_ECORRUPT ? K_ECORRUPT : K_EUNAVAILABLE;
            }
        }
        dst += take;
        off += take;
        n -= take;
    }
    ec_free(code);
    return K_OK;
}
