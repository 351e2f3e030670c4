/* SPDX-License-Identifier: Apache-2.0 */
/* volset: a set of volumes, placement of new needles, and dispatch through
 * volume_ops. Knows nothing about files; see volume_local.c for those. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"

#include "common/log.h"
#include "storage/chunk.h"
#include "storage/volume_impl.h"

#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)

/* Per-volume space state (see "Full volumes" in volume.h). */
typedef struct vol_state {
    _Atomic bool full;
    _Atomic uint64_t refusals;
    _Atomic uint64_t chunks_compacted, bytes_reclaimed; /* by volset_compact */
} vol_state;

struct volset {
    volume **vols;
    vol_state *state; /* one per volume */
    /* Grows only (volset_append): readers load it, then use vols[i] and
     * state[i] for i below it, which are written before it is raised. */
    _Atomic size_t nvols;
    size_t cap; /* slots in vols and state */
    pthread_mutex_t append_mu;
    vol_reserve_mode reserve;
    uint64_t min_free_bytes;
    uint32_t min_free_percent;
    _Atomic uint64_t next; /* round-robin cursor */
    volset_counters counters;
    void (*miss_hook)(void *ctx); /* volset_resolve_uid */
    void *miss_ctx;

    /* Compaction (volset_compact and the background thread). */
    uint32_t compact_threshold, compact_grace_s, compact_interval_s;
    pthread_mutex_t cmu;
    pthread_cond_t ccond;
    pthread_t cthread;
    bool cthread_on, cstop;
    _Atomic bool ckick;
    _Atomic bool closing;            /* passes stop between chunks */
    _Atomic int64_t last_refusal_ns; /* a write was refused for lack of space */
};

static uint64_t reserve_of(const volset *vs, uint64_t total);

/* A volume refused a write for lack of space, or something was deleted on
 * a full volume: ask the compactor for a pass soon (it leaves at least a
 * second between passes). */
static void compact_kick(volset *vs) {
    if (!vs->cthread_on || atomic_exchange(&vs->ckick, true)) return;
    pthread_mutex_lock(&vs->cmu);
    pthread_cond_signal(&vs->ccond);
    pthread_mutex_unlock(&vs->cmu);
}

/* Waits on the compactor's condition until the absolute time until, a
 * stop, or (if kicks) a kick. Lock held. */
static void compactor_wait(volset *vs, const struct timespec *until, bool kicks) {
    while (!vs->cstop && !(kicks && atomic_load(&vs->ckick)))
        if (pthread_cond_timedwait(&vs->ccond, &vs->cmu, until) != 0) break;
}

static void *compactor_main(void *arg) {
    volset *vs = arg;
    pthread_mutex_lock(&vs->cmu);
    while (!vs->cstop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += vs->compact_interval_s;
        compactor_wait(vs, &until, true);
        if (vs->cstop) break;
        atomic_store(&vs->ckick, false);
        pthread_mutex_unlock(&vs->cmu);
        (void)volset_compact(vs, false, NULL);
        pthread_mutex_lock(&vs->cmu);
        /* a breather: kicks that arrive meanwhile are served after it */
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        compactor_wait(vs, &until, false);
    }
    pthread_mutex_unlock(&vs->cmu);
    return NULL;
}

kerr volset_compact(volset *vs, bool seal_active, vol_compact_stats *out) {
    kerr first = K_OK;
    vol_compact_stats st = {0};
    size_t n = atomic_load(&vs->nvols);
    for (size_t i = 0; i < n; i++) {
        volume *v = vs->vols[i];
        if (!v->ops->compact) continue;
        uint64_t avail = 0, total = 0;
        (void)v->ops->free_space(v, true, &avail, &total);
        vol_compact_params p = {.threshold = vs->compact_threshold ? vs->compact_threshold : 30,
                                .grace_s = vs->compact_grace_s,
                                .pressed = seal_active || atomic_load(&vs->state[i].full),
                                .copy_room = reserve_of(vs, total) / 2,
                                .stop = &vs->closing};
        vol_compact_stats one = {0};
        kerr rc = v->ops->compact(v, &p, &one);
        if (rc != K_OK && first == K_OK) first = rc;
        atomic_fetch_add(&vs->state[i].chunks_compacted, one.chunks_compacted);
        atomic_fetch_add(&vs->state[i].bytes_reclaimed, one.bytes_reclaimed);
        st.chunks_scanned += one.chunks_scanned;
        st.chunks_compacted += one.chunks_compacted;
        st.chunks_removed += one.chunks_removed;
        st.needles_kept += one.needles_kept;
        st.bytes_reclaimed += one.bytes_reclaimed;
    }
    if (out) {
        out->chunks_scanned += st.chunks_scanned;
        out->chunks_compacted += st.chunks_compacted;
        out->chunks_removed += st.chunks_removed;
        out->needles_kept += st.needles_kept;
        out->bytes_reclaimed += st.bytes_reclaimed;
    }
    return first;
}

void vol_loc_encode(const vol_loc *l, uint8_t out[VOL_LOC_ENCODED_LEN]) {
    store_le32(out, l->volume);
    store_le32(out + 4, l->chunk);
    store_le64(out + 8, l->offset);
    store_le64(out + 16, l->length);
}

void vol_loc_decode(const uint8_t in[VOL_LOC_ENCODED_LEN], vol_loc *l) {
    l->volume = load_le32(in);
    l->chunk = load_le32(in + 4);
    l->offset = load_le64(in + 8);
    l->length = load_le64(in + 16);
}

kerr volset_from_volumes(volume **vols, size_t n, size_t cap, const volset_opts *opts,
                         volset **out) {
    *out = NULL;
    if ((n == 0 && cap == 0) || n > UINT32_MAX || cap > UINT32_MAX) return K_EINVAL;
    if (cap < n) cap = n;
    volset *vs = calloc(1, sizeof *vs);
    if (!vs) return K_ENOMEM;
    vs->cap = cap;
    pthread_mutex_init(&vs->append_mu, NULL);
    pthread_mutex_init(&vs->cmu, NULL);
    pthread_cond_init(&vs->ccond, NULL);
    atomic_init(&vs->last_refusal_ns, INT64_MIN / 2);
    vs->vols = calloc(cap, sizeof *vs->vols);
    vs->state = calloc(cap, sizeof *vs->state);
    if (!vs->vols || !vs->state) {
        free(vs->vols);
        free(vs->state);
        free(vs);
        return K_ENOMEM;
    }
    volset_opts o = opts ? *opts : (volset_opts){.sync = true};
    vs->reserve = o.reserve;
    vs->min_free_bytes = o.min_free_bytes;
    vs->min_free_percent = o.min_free_percent;
    for (size_t i = 0; i < n; i++) {
        vs->vols[i] = vols[i];
        vols[i]->id = (uint32_t)i;
        vols[i]->set = vs;
        vols[i]->counters = &vs->counters;
    }
    vs->nvols = n;
    *out = vs;
    return K_OK;
}

kerr volset_append(volset *vs, volume *v) {
    pthread_mutex_lock(&vs->append_mu);
    size_t n = atomic_load(&vs->nvols);
    kerr rc = K_OK;
    for (size_t i = 0; i < n && rc == K_OK; i++)
        if (vs->vols[i]->uid == v->uid) rc = K_ECONFLICT;
    if (rc == K_OK && n == vs->cap) rc = K_ETOOLARGE;
    if (rc == K_OK) {
        v->id = (uint32_t)n;
        v->set = vs;
        v->counters = &vs->counters;
        vs->vols[n] = v;
        atomic_store(&vs->nvols, n + 1);
    }
    pthread_mutex_unlock(&vs->append_mu);
    return rc;
}

kerr volset_open_local(const char *const *dirs, size_t ndirs, const volset_opts *opts,
                       volset **out) {
    *out = NULL;
    if (ndirs == 0 || ndirs > UINT32_MAX) return K_EINVAL;
    volset *vs = calloc(1, sizeof *vs);
    if (!vs) return K_ENOMEM;
    vs->cap = ndirs;
    pthread_mutex_init(&vs->append_mu, NULL);
    pthread_mutex_init(&vs->cmu, NULL);
    pthread_cond_init(&vs->ccond, NULL);
    atomic_init(&vs->last_refusal_ns, INT64_MIN / 2);
    vs->vols = calloc(ndirs, sizeof *vs->vols);
    vs->state = calloc(ndirs, sizeof *vs->state);
    if (!vs->vols || !vs->state) {
        volset_close(vs);
        return K_ENOMEM;
    }
    volset_opts o = opts ? *opts : (volset_opts){.sync = true};
    if (o.reserve == VOL_RESERVE_PERCENT && (o.min_free_percent < 1 || o.min_free_percent > 99)) {
        volset_close(vs);
        return K_EINVAL;
    }
    vs->reserve = o.reserve;
    vs->min_free_bytes = o.min_free_bytes;
    vs->min_free_percent = o.min_free_percent;
    vs->compact_threshold = o.compact_threshold > 100 ? 100 : o.compact_threshold;
    vs->compact_grace_s = o.compact_grace_s;
    vs->compact_interval_s = o.compact_interval_s;
    for (size_t i = 0; i < ndirs; i++) {
        kerr rc = local_volume_open(dirs[i], (uint32_t)i, &o, &vs->counters, &vs->vols[i]);
        if (rc != K_OK) {
            volset_close(vs);
            return rc;
        }
        vs->nvols = i + 1;
        vs->vols[i]->set = vs;
        for (size_t j = 0; j < i; j++) {
            if (vs->vols[j]->uid == vs->vols[i]->uid) {
                log_error("storage: %s and %s carry the same volume id %016llx (a copied "
                          "directory?); refusing to open",
                          dirs[j], dirs[i], (unsigned long long)vs->vols[i]->uid);
                volset_close(vs);
                return K_EINVAL;
            }
        }
    }
    if (vs->compact_threshold && vs->compact_interval_s) {
        if (pthread_create(&vs->cthread, NULL, compactor_main, vs) != 0) {
            volset_close(vs);
            return K_ENOMEM;
        }
        vs->cthread_on = true;
    }
    *out = vs;
    return K_OK;
}

size_t volset_count(const volset *vs) {
    return vs->nvols;
}

uint64_t volset_volume_uid(const volset *vs, uint32_t index) {
    return index < vs->nvols ? vs->vols[index]->uid : 0;
}

bool volset_find_uid(const volset *vs, uint64_t uid, uint32_t *index) {
    for (size_t i = 0; i < vs->nvols; i++) {
        if (vs->vols[i]->uid == uid) {
            *index = (uint32_t)i;
            return true;
        }
    }
    return false;
}

bool volset_resolve_uid(volset *vs, uint64_t uid, uint32_t *index) {
    if (volset_find_uid(vs, uid, index)) return true;
    if (!vs->miss_hook) return false;
    vs->miss_hook(vs->miss_ctx);
    return volset_find_uid(vs, uid, index);
}

void volset_set_miss_hook(volset *vs, void (*fn)(void *ctx), void *ctx) {
    vs->miss_hook = fn;
    vs->miss_ctx = ctx;
}

void volset_close(volset *vs) {
    if (!vs) return;
    if (vs->cthread_on) {
        atomic_store(&vs->closing, true);
        pthread_mutex_lock(&vs->cmu);
        vs->cstop = true;
        pthread_cond_signal(&vs->ccond);
        pthread_mutex_unlock(&vs->cmu);
        pthread_join(vs->cthread, NULL);
    }
    if (vs->vols)
        for (size_t i = 0; i < vs->nvols; i++) vs->vols[i]->ops->close(vs->vols[i]);
    free(vs->vols);
    free(vs->state);
    pthread_mutex_destroy(&vs->append_mu);
    pthread_mutex_destroy(&vs->cmu);
    pthread_cond_destroy(&vs->ccond);
    free(vs);
}

/* Free bytes a volume must keep on a filesystem of total bytes. The
 * automatic rule: 1 GiB, capped at 5% so that small filesystems stay
 * usable. */
static uint64_t reserve_of(const volset *vs, uint64_t total) {
    switch (vs->reserve) {
    case VOL_RESERVE_BYTES:
        return vs->min_free_bytes;
    case VOL_RESERVE_PERCENT:
        return total / 100 * vs->min_free_percent + total % 100 * vs->min_free_percent / 100;
    case VOL_RESERVE_AUTO:
    default: {
        uint64_t pct = total / 20;
        return pct < GiB ? pct : GiB;
    }
    }
}

/* How far above its reserve a volume's free space must be to count as not
 * full: hysteresis, so that writes hovering around the reserve do not start
 * and end an episode (and log) on every request. */
static uint64_t full_margin(uint64_t total) {
    uint64_t m = total / 100;
    return m < MiB ? MiB : m > GiB ? GiB : m;
}

static void mark_full(volset *vs, size_t i, uint64_t avail, uint64_t total, const char *why) {
    bool was = false;
    if (!atomic_compare_exchange_strong(&vs->state[i].full, &was, true)) return;
    log_warn("storage: volume %zu (%s) is full: %llu bytes free of %llu, reserve %llu bytes (%s); "
             "new data goes to other volumes, or is refused with 507 InsufficientStorage, until "
             "space is freed",
             i, vs->vols[i]->name, (unsigned long long)avail, (unsigned long long)total,
             (unsigned long long)reserve_of(vs, total), why);
}

static void check_recovered(volset *vs, size_t i, uint64_t avail, uint64_t total) {
    if (!atomic_load(&vs->state[i].full)) return;
    uint64_t reserve = reserve_of(vs, total);
    if (avail < reserve || avail - reserve < full_margin(total)) return;
    bool was = true;
    if (!atomic_compare_exchange_strong(&vs->state[i].full, &was, false)) return;
    log_info("storage: volume %zu (%s) has room again: %llu bytes free of %llu, reserve %llu "
             "bytes; writes resume",
             i, vs->vols[i]->name, (unsigned long long)avail, (unsigned long long)total,
             (unsigned long long)reserve);
}

/* An op on volume i failed with K_ENOSPC: its filesystem is full whatever
 * the reserve said (another process filled it, or there is no reserve). */
static void note_enospc(volset *vs, size_t i) {
    atomic_fetch_add(&vs->state[i].refusals, 1);
    volume *v = vs->vols[i];
    uint64_t avail = 0, total = 0;
    (void)v->ops->free_space(v, true, &avail, &total);
    mark_full(vs, i, avail, total, "the filesystem answered ENOSPC");
    atomic_store(&vs->last_refusal_ns, (int64_t)clock_mono_ns());
    compact_kick(vs);
}

/* K_OK if volume i has room for a needle of len bytes above its reserve;
 * K_ENOSPC (counted, perhaps marking the volume full) if not. */
static kerr room_for(volset *vs, size_t i, uint64_t len) {
    uint64_t need = needle_size(len);
    volume *v = vs->vols[i];
    uint64_t avail = 0, total = 0;
    kerr rc = v->ops->free_space(v, false, &avail, &total);
    /* Near the reserve a figure up to a second old is not good enough:
     * measure again (a statvfs per write only while nearly full). */
    if (rc == K_OK && (avail < need || avail - need < reserve_of(vs, total) + full_margin(total)))
        rc = v->ops->free_space(v, true, &avail, &total);
    if (rc != K_OK) return rc;
    check_recovered(vs, i, avail, total);
    uint64_t reserve = reserve_of(vs, total);
    if (avail < need || avail - need < reserve) {
        atomic_fetch_add(&vs->state[i].refusals, 1);
        /* Near the reserve: the volume is full. Merely too small for
         * this needle: refused, but the volume is not full. */
        if (avail < reserve || avail - reserve < full_margin(total))
            mark_full(vs, i, avail, total, "below the reserve");
        atomic_store(&vs->last_refusal_ns, (int64_t)clock_mono_ns());
        compact_kick(vs);
        return K_ENOSPC;
    }
    return K_OK;
}

/* Tries to start a needle of len bytes on volume i: K_ENOSPC when it lacks
 * room above its reserve (room_for). */
static kerr begin_on(volset *vs, size_t i, uint64_t len, vol_writer **out) {
    kerr rc = room_for(vs, i, len);
    if (rc) return rc;
    volume *v = vs->vols[i];
    rc = v->ops->begin(v, len, out);
    if (rc == K_ENOSPC) note_enospc(vs, i);
    return rc;
}

kerr vol_writer_begin(volset *vs, uint64_t len, vol_writer **out) {
    *out = NULL;
    if (len > NEEDLE_MAX_LENGTH) return K_ETOOLARGE;
    uint64_t start = atomic_fetch_add(&vs->next, 1);
    kerr last = K_ENOSPC;
    for (size_t k = 0; k < vs->nvols; k++) {
        size_t i = (size_t)((start + k) % vs->nvols);
        kerr rc = begin_on(vs, i, len, out);
        if (rc == K_OK) return K_OK;
        last = rc;
    }
    if (last == K_ENOSPC)
        log_debug("storage: no volume has room for a %llu-byte needle above its reserve",
                  (unsigned long long)len);
    return last;
}

kerr vol_writer_begin_on(volset *vs, uint32_t index, uint64_t len, vol_writer **out) {
    *out = NULL;
    if (len > NEEDLE_MAX_LENGTH) return K_ETOOLARGE;
    if (index >= vs->nvols) return K_ENOTFOUND;
    return begin_on(vs, index, len, out);
}

kerr vol_writer_begin_at(volset *vs, uint32_t index, uint32_t chunk, uint64_t at, uint64_t len,
                         const vol_replica *fwd, size_t n_fwd, vol_writer **out) {
    *out = NULL;
    if (len > NEEDLE_MAX_LENGTH) return K_ETOOLARGE;
    if (n_fwd > VOL_MAX_REPLICAS) return K_EINVAL;
    if (index >= vs->nvols) return K_ENOTFOUND;
    volume *v = vs->vols[index];
    if (!v->ops->begin_at) return K_ENOTIMPL;
    /* a chunkset member keeps its free-space reserve like any volume (a
     * remote volume keeps none of its own: its datanode checks) */
    kerr rc = room_for(vs, index, len);
    if (rc) return rc;
    rc = v->ops->begin_at(v, chunk, at, len, fwd, n_fwd, out);
    if (rc == K_ENOSPC) note_enospc(vs, index);
    return rc;
}

uint64_t vol_writer_offset(const vol_writer *w) {
    return w->at;
}

kerr vol_chunk_create_placed(volset *vs, uint32_t index, uint32_t *chunk) {
    if (index >= vs->nvols) return K_ENOTFOUND;
    volume *v = vs->vols[index];
    if (!v->ops->chunk_create) return K_ENOTIMPL;
    /* a full volume takes no new chunkset (room for a few needles at least) */
    kerr rc = room_for(vs, index, UINT64_C(1) << 20);
    if (rc) return rc;
    rc = v->ops->chunk_create(v, chunk);
    if (rc == K_ENOSPC) note_enospc(vs, index);
    return rc;
}

kerr vol_chunk_seal(volset *vs, uint32_t index, uint32_t chunk) {
    if (index >= vs->nvols) return K_ENOTFOUND;
    volume *v = vs->vols[index];
    return v->ops->chunk_seal ? v->ops->chunk_seal(v, chunk) : K_ENOTIMPL;
}

kerr vol_chunk_expire(volset *vs, uint32_t index, uint32_t chunk) {
    if (index >= vs->nvols) return K_ENOTFOUND;
    volume *v = vs->vols[index];
    return v->ops->chunk_expire ? v->ops->chunk_expire(v, chunk) : K_ENOTIMPL;
}

kerr vol_chunk_needles(volset *vs, uint32_t index, uint32_t chunk, vol_needle **out, size_t *n) {
    *out = NULL;
    *n = 0;
    if (index >= vs->nvols) return K_ENOTFOUND;
    volume *v = vs->vols[index];
    return v->ops->chunk_needles ? v->ops->chunk_needles(v, chunk, out, n) : K_ENOTIMPL;
}

const char *volset_remote_address(const volset *vs, uint32_t index) {
    if (index >= vs->nvols) return NULL;
    volume *v = vs->vols[index];
    return v->ops->address ? v->ops->address(v) : NULL;
}

kerr vol_writer_write(vol_writer *w, const void *p, size_t n) {
    volume *v = w->vol;
    kerr rc = w->ops->write(w, p, n);
    if (rc == K_ENOSPC) note_enospc(v->set, v->id);
    return rc;
}

kerr vol_writer_finish(vol_writer *w, vol_loc *loc) {
    volume *v = w->vol;
    kerr rc = w->ops->finish(w, loc);
    if (rc == K_ENOSPC) note_enospc(v->set, v->id);
    if (rc != K_OK) return rc;
    loc->volume = v->id;
    atomic_fetch_add(&v->counters->needles_written, 1);
    atomic_fetch_add(&v->counters->bytes_written, loc->length);
    return K_OK;
}

void vol_writer_abort(vol_writer *w) {
    if (w) w->ops->abort(w);
}

kerr vol_read(volset *vs, const vol_loc *loc, uint64_t off, void *buf, size_t n) {
    if (loc->volume >= vs->nvols) return K_ENOTFOUND;
    volume *v = vs->vols[loc->volume];
    kerr rc = v->ops->read(v, loc, off, buf, n);
    if (rc == K_OK) atomic_fetch_add(&vs->counters.bytes_read, n);
    return rc;
}

kerr vol_delete(volset *vs, const vol_loc *loc) {
    if (loc->volume >= vs->nvols) return K_ENOTFOUND;
    volume *v = vs->vols[loc->volume];
    kerr rc = v->ops->del(v, loc);
    /* Deleting to make room: a full volume, or a set that refused a write
     * in the last minute, gets a pass soon. */
    if (rc == K_OK &&
        (atomic_load(&vs->state[loc->volume].full) ||
         (int64_t)clock_mono_ns() - atomic_load(&vs->last_refusal_ns) < INT64_C(60000000000)))
        compact_kick(vs);
    return rc;
}

kerr volset_space_get(volset *vs, uint32_t index, vol_space *out) {
    if (index >= vs->nvols) return K_EINVAL;
    volume *v = vs->vols[index];
    uint64_t avail = 0, total = 0;
    bool failed = v->ops->free_space(v, false, &avail, &total) != K_OK;
    if (!failed) check_recovered(vs, index, avail, total);
    *out = (vol_space){.uid = v->uid,
                       .name = v->name,
                       .free_bytes = failed ? 0 : avail,
                       .total_bytes = failed ? 0 : total,
                       .reserve_bytes = failed ? 0 : reserve_of(vs, total),
                       .full = atomic_load(&vs->state[index].full),
                       .stat_failed = failed,
                       .refusals = atomic_load(&vs->state[index].refusals),
                       .chunks_compacted = atomic_load(&vs->state[index].chunks_compacted),
                       .bytes_reclaimed = atomic_load(&vs->state[index].bytes_reclaimed)};
    return K_OK;
}

void volset_stats_get(volset *vs, volset_stats *out) {
    out->bytes_written = atomic_load(&vs->counters.bytes_written);
    out->needles_written = atomic_load(&vs->counters.needles_written);
    out->fsyncs = atomic_load(&vs->counters.fsyncs);
    out->bytes_read = atomic_load(&vs->counters.bytes_read);
    out->chunks_compacted = atomic_load(&vs->counters.chunks_compacted);
    out->bytes_reclaimed = atomic_load(&vs->counters.bytes_reclaimed);
}
