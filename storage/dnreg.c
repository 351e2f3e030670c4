/* SPDX-License-Identifier: Apache-2.0 */
/* The datanode registry over the kv interface; contract in dnreg.h. */
#include "storage/dnreg.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"

#define INDEX_KEY "N"

static void record_key(uint64_t id, char out[18]) {
    snprintf(out, 18, "N%016llx", (unsigned long long)id);
}

void dnreg_encode(const dn_info *in, kbuf *out) {
    kbuf_reset(out);
    kbuf_printf(out,
                "kura datanode 1\nid %016llx\naddress %s\nzone %s\nmedia %s\ncapacity %llu\n"
                "free %llu\nchunk-size %llu\nheartbeat %lld\n",
                (unsigned long long)in->id, in->address ? in->address : "",
                in->zone ? in->zone : "", in->media ? in->media : "hdd",
                (unsigned long long)in->capacity, (unsigned long long)in->free_bytes,
                (unsigned long long)in->chunk_size, (long long)in->heartbeat_ms);
    for (size_t i = 0; i < in->nvolumes; i++)
        kbuf_printf(out, "volume %016llx\n", (unsigned long long)in->volumes[i]);
}

void dnreg_info_clear(dn_info *info) {
    free(info->address);
    free(info->zone);
    free(info->media);
    free(info->volumes);
    memset(info, 0, sizeof *info);
}

kerr dnreg_decode(const char *p, size_t n, dn_info *out) {
    memset(out, 0, sizeof *out);
    char *text = strndup(p, n);
    if (!text) return K_ENOMEM;
    kerr rc = K_ECORRUPT;
    bool magic = false, have_id = false;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *sp = strchr(line, ' ');
        if (!sp) goto out;
        *sp = 0;
        const char *k = line, *v = sp + 1;
        char *end;
        if (!strcmp(k, "kura")) {
            magic = !strcmp(v, "datanode 1");
            if (!magic) goto out;
        } else if (!strcmp(k, "id")) {
            out->id = strtoull(v, &end, 16);
            if (*end || !*v) goto out;
            have_id = true;
        } else if (!strcmp(k, "address")) {
            free(out->address);
            out->address = strdup(v);
        } else if (!strcmp(k, "zone")) {
            free(out->zone);
            out->zone = strdup(v);
        } else if (!strcmp(k, "media")) {
            free(out->media);
            out->media = strdup(v);
        } else if (!strcmp(k, "capacity")) {
            out->capacity = strtoull(v, &end, 10);
        } else if (!strcmp(k, "free")) {
            out->free_bytes = strtoull(v, &end, 10);
        } else if (!strcmp(k, "chunk-size")) {
            out->chunk_size = strtoull(v, &end, 10);
        } else if (!strcmp(k, "heartbeat")) {
            out->heartbeat_ms = strtoll(v, &end, 10);
        } else if (!strcmp(k, "volume")) {
            if (out->nvolumes == DNREG_MAX_VOLUMES) goto out;
            uint64_t *grown = realloc(out->volumes, (out->nvolumes + 1) * sizeof *grown);
            if (!grown) {
                rc = K_ENOMEM;
                goto out;
            }
            out->volumes = grown;
            out->volumes[out->nvolumes++] = strtoull(v, &end, 16);
        } /* unknown keys: from a newer datanode, ignored */
    }
    if (magic && have_id && out->address && out->zone) rc = K_OK;
    if (rc == K_OK && !out->media && !(out->media = strdup("hdd"))) rc = K_ENOMEM;
out:
    free(text);
    if (rc != K_OK) dnreg_info_clear(out);
    return rc;
}

/* Adds id to the index unless it is there (compare-and-set, retried). */
static kerr index_add(kv *meta, uint64_t id) {
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)id);
    kbuf cur = KBUF_INIT, next = KBUF_INIT;
    kerr rc = K_ECONFLICT;
    for (int attempt = 0; attempt < 100 && rc == K_ECONFLICT; attempt++) {
        rc = kv_get(meta, INDEX_KEY, 1, &cur);
        bool absent = rc == K_ENOTFOUND;
        if (rc != K_OK && !absent) break;
        if (!absent) {
            for (size_t at = 0; at + 16 <= cur.len; at += 17)
                if (!memcmp(cur.data + at, hex, 16)) {
                    rc = K_OK;
                    goto done;
                }
        }
        kbuf_reset(&next);
        if (!absent) kbuf_append(&next, cur.data, cur.len);
        kbuf_printf(&next, "%s\n", hex);
        rc = kv_cas(meta, INDEX_KEY, 1, absent ? NULL : cur.data, absent ? 0 : cur.len, next.data,
                    next.len);
    }
done:
    kbuf_free(&cur);
    kbuf_free(&next);
    return rc;
}

kerr dnreg_publish(kv *meta, const dn_info *info) {
    kbuf rec = KBUF_INIT;
    dnreg_encode(info, &rec);
    char key[18];
    record_key(info->id, key);
    kerr rc = kv_put(meta, key, 17, rec.data, rec.len);
    kbuf_free(&rec);
    if (rc == K_OK) rc = index_add(meta, info->id);
    return rc;
}

void dnreg_list_free(dn_info *list, size_t n) {
    if (!list) return;
    for (size_t i = 0; i < n; i++) dnreg_info_clear(&list[i]);
    free(list);
}

kerr dnreg_list(kv *meta, int64_t now_ms, int64_t timeout_ms, dn_info **out, size_t *n) {
    *out = NULL;
    *n = 0;
    kbuf idx = KBUF_INIT;
    kerr rc = kv_get(meta, INDEX_KEY, 1, &idx);
    if (rc == K_ENOTFOUND) {
        kbuf_free(&idx);
        return K_OK;
    }
    if (rc != K_OK) {
        kbuf_free(&idx);
        return rc;
    }
    size_t cap = idx.len / 17 + 1;
    char(*keys)[18] = calloc(cap, sizeof *keys);
    const void **kp = calloc(cap, sizeof *kp);
    size_t *kl = calloc(cap, sizeof *kl);
    kbuf *vals = calloc(cap, sizeof *vals);
    kerr *errs = calloc(cap, sizeof *errs);
    dn_info *list = calloc(cap, sizeof *list);
    size_t nk = 0, nl = 0;
    if (!keys || !kp || !kl || !vals || !errs || !list) {
        rc = K_ENOMEM;
        goto out;
    }
    for (size_t at = 0; at + 16 <= idx.len && nk < cap; at += 17) {
        keys[nk][0] = 'N';
        memcpy(keys[nk] + 1, idx.data + at, 16);
        keys[nk][17] = 0;
        kp[nk] = keys[nk];
        kl[nk] = 17;
        nk++;
    }
    rc = nk ? kv_mget(meta, nk, kp, kl, vals, errs) : K_OK;
    if (rc != K_OK) goto out;
    for (size_t i = 0; i < nk; i++) {
        if (errs[i] != K_OK) continue;
        if (dnreg_decode(vals[i].data, vals[i].len, &list[nl]) != K_OK) {
            log_debug("dnreg: record %s is unreadable; skipped", keys[i]);
            continue;
        }
        list[nl].up = now_ms - list[nl].heartbeat_ms <= timeout_ms;
        nl++;
    }
out:
    for (size_t i = 0; vals && i < nk; i++) kbuf_free(&vals[i]);
    free(keys);
    free(kp);
    free(kl);
    free(vals);
    free(errs);
    kbuf_free(&idx);
    if (rc != K_OK) {
        dnreg_list_free(list, nl);
        return rc;
    }
    *out = list;
    *n = nl;
    return K_OK;
}

/* ---- heartbeat thread ---- */

struct dnreg_beat {
    kv *meta;
    dn_info info;
    unsigned interval_ms;
    dnreg_fill_fn fill;
    void *arg;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
};

static void *beat_main(void *p) {
    dnreg_beat *b = p;
    bool failing = false;
    pthread_mutex_lock(&b->mu);
    while (!b->stop) {
        pthread_mutex_unlock(&b->mu);
        if (b->fill) b->fill(b->arg, &b->info);
        b->info.heartbeat_ms = clock_real_ms();
        kerr rc = dnreg_publish(b->meta, &b->info);
        if (rc != K_OK && !failing)
            log_warn("datanode: cannot publish the heartbeat in the metadata store (%s); "
                     "retrying every %u ms",
                     kerr_name(rc), b->interval_ms);
        else if (rc == K_OK && failing)
            log_info("datanode: heartbeats reach the metadata store again");
        failing = rc != K_OK;
        pthread_mutex_lock(&b->mu);
        if (b->stop) break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t ns = (uint64_t)ts.tv_nsec + (uint64_t)b->interval_ms * 1000000u;
        ts.tv_sec += (time_t)(ns / 1000000000u);
        ts.tv_nsec = (long)(ns % 1000000000u);
        pthread_cond_timedwait(&b->cv, &b->mu, &ts);
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

static char *dup_or_null(const char *s) {
    return s ? strdup(s) : NULL;
}

kerr dnreg_beat_start(kv *meta, const dn_info *base, unsigned interval_ms, dnreg_fill_fn fill,
                      void *arg, dnreg_beat **out) {
    *out = NULL;
    dnreg_beat *b = calloc(1, sizeof *b);
    if (!b) return K_ENOMEM;
    b->meta = meta;
    b->info = *base;
    b->info.address = dup_or_null(base->address);
    b->info.zone = dup_or_null(base->zone);
    b->info.media = dup_or_null(base->media);
    b->info.volumes = NULL;
    b->info.nvolumes = 0;
    if (base->nvolumes) {
        b->info.volumes = malloc(base->nvolumes * sizeof *b->info.volumes);
        if (b->info.volumes) {
            memcpy(b->info.volumes, base->volumes, base->nvolumes * sizeof *b->info.volumes);
            b->info.nvolumes = base->nvolumes;
        }
    }
    b->interval_ms = interval_ms ? interval_ms : 1000;
    b->fill = fill;
    b->arg = arg;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    if (pthread_create(&b->thread, NULL, beat_main, b) != 0) {
        dnreg_info_clear(&b->info);
        pthread_mutex_destroy(&b->mu);
        pthread_cond_destroy(&b->cv);
        free(b);
        return K_ENOMEM;
    }
    *out = b;
    return K_OK;
}

void dnreg_beat_stop(dnreg_beat *b) {
    if (!b) return;
    pthread_mutex_lock(&b->mu);
    b->stop = true;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
    pthread_join(b->thread, NULL);
    /* A planned stop: readers see the datanode down at once rather than
     * after the timeout. */
    b->info.heartbeat_ms = 0;
    kerr rc = dnreg_publish(b->meta, &b->info);
    if (rc != K_OK)
        log_warn("datanode: cannot mark itself down in the metadata store (%s)", kerr_name(rc));
    dnreg_info_clear(&b->info);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
    free(b);
}

/* ---- the gateway's watcher ---- */

struct dnreg_watch {
    kv *meta;
    volset *vs;
    char *secret;
    unsigned interval_ms;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    /* on-demand refreshes (a record names a volume not known yet) */
    pthread_mutex_t miss_mu;
    int64_t miss_last_ms;
    bool miss_failing;
};

static void watch_once(dnreg_watch *w, bool *failing) {
    dn_info *list;
    size_t n;
    kerr rc = dnreg_list(w->meta, clock_real_ms(), DNREG_DOWN_AFTER_MS, &list, &n);
    if (rc != K_OK) {
        if (!*failing)
            log_warn("storage: cannot read the datanode registry (%s); retrying", kerr_name(rc));
        *failing = true;
        return;
    }
    if (*failing) log_info("storage: the datanode registry answers again");
    *failing = false;
    for (size_t i = 0; i < n; i++) {
        for (size_t v = 0; list[i].up && v < list[i].nvolumes; v++) {
            vol_remote_spec spec = {.address = list[i].address, .uid = list[i].volumes[v]};
            kerr e = volset_add_remote(w->vs, &spec, w->secret);
            if (e != K_OK)
                log_debug("storage: cannot add datanode volume %016llx (%s)",
                          (unsigned long long)spec.uid, kerr_name(e));
        }
    }
    dnreg_list_free(list, n);
}

static void *watch_main(void *p) {
    dnreg_watch *w = p;
    bool failing = false;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t ns = (uint64_t)ts.tv_nsec + (uint64_t)w->interval_ms * 1000000u;
        ts.tv_sec += (time_t)(ns / 1000000000u);
        ts.tv_nsec = (long)(ns % 1000000000u);
        pthread_cond_timedwait(&w->cv, &w->mu, &ts);
        if (w->stop) break;
        pthread_mutex_unlock(&w->mu);
        watch_once(w, &failing);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* The volset's miss hook: read the registry now rather than at the next
 * tick, at most every 200 ms however many requests miss at once (they wait
 * for the one refresh in progress, then look again). */
static void watch_miss(void *ctx) {
    dnreg_watch *w = ctx;
    pthread_mutex_lock(&w->miss_mu);
    int64_t now = (int64_t)(clock_mono_ns() / 1000000u);
    if (now - w->miss_last_ms >= 200) {
        watch_once(w, &w->miss_failing);
        w->miss_last_ms = (int64_t)(clock_mono_ns() / 1000000u);
    }
    pthread_mutex_unlock(&w->miss_mu);
}

kerr dnreg_watch_start(kv *meta, volset *vs, const char *secret, unsigned interval_ms,
                       dnreg_watch **out) {
    *out = NULL;
    dnreg_watch *w = calloc(1, sizeof *w);
    if (!w) return K_ENOMEM;
    w->meta = meta;
    w->vs = vs;
    w->secret = strdup(secret);
    w->interval_ms = interval_ms ? interval_ms : 2000;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    pthread_mutex_init(&w->miss_mu, NULL);
    w->miss_last_ms = INT64_MIN / 2;
    if (!w->secret || pthread_create(&w->thread, NULL, watch_main, w) != 0) {
        free(w->secret);
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->miss_mu);
        free(w);
        return K_ENOMEM;
    }
    volset_set_miss_hook(vs, watch_miss, w);
    *out = w;
    return K_OK;
}

void dnreg_watch_stop(dnreg_watch *w) {
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    volset_set_miss_hook(w->vs, NULL, NULL);
    free(w->secret);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->miss_mu);
    free(w);
}
