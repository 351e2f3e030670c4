/* SPDX-License-Identifier: Apache-2.0 */
/* volset: a set of volumes, placement of new needles, and dispatch through
 * volume_ops. Knows nothing about files; see volume_local.c for those. */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "storage/chunk.h"
#include "storage/volume_impl.h"

struct volset {
    volume **vols;
    size_t nvols;
    uint64_t min_free_bytes; /* 0 = default rule, see volset_opts */
    _Atomic uint64_t next;   /* round-robin cursor */
    volset_counters counters;
};

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

kerr volset_open_local(const char *const *dirs, size_t ndirs, const volset_opts *opts,
                       volset **out) {
    *out = NULL;
    if (ndirs == 0 || ndirs > UINT32_MAX) return K_EINVAL;
    volset *vs = calloc(1, sizeof *vs);
    if (!vs) return K_ENOMEM;
    vs->vols = calloc(ndirs, sizeof *vs->vols);
    if (!vs->vols) {
        free(vs);
        return K_ENOMEM;
    }
    volset_opts o = opts ? *opts : (volset_opts){.sync = true};
    vs->min_free_bytes = o.min_free_bytes;
    for (size_t i = 0; i < ndirs; i++) {
        kerr rc = local_volume_open(dirs[i], (uint32_t)i, &o, &vs->counters, &vs->vols[i]);
        if (rc != K_OK) {
            volset_close(vs);
            return rc;
        }
        vs->nvols = i + 1;
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

void volset_close(volset *vs) {
    if (!vs) return;
    for (size_t i = 0; i < vs->nvols; i++) vs->vols[i]->ops->close(vs->vols[i]);
    free(vs->vols);
    free(vs);
}

/* Free bytes a volume must keep: explicit, or 1 GiB capped at 5% of its
 * filesystem so that small (test) filesystems remain usable. */
static uint64_t free_floor(const volset *vs, uint64_t total) {
    if (vs->min_free_bytes) return vs->min_free_bytes;
    uint64_t floor = UINT64_C(1) << 30;
    uint64_t pct = total / 20;
    return pct < floor ? pct : floor;
}

kerr vol_writer_begin(volset *vs, uint64_t len, vol_writer **out) {
    *out = NULL;
    if (len > NEEDLE_MAX_LENGTH) return K_ETOOLARGE;
    uint64_t start = atomic_fetch_add(&vs->next, 1);
    kerr last = K_ENOMEM;
    for (size_t k = 0; k < vs->nvols; k++) {
        volume *v = vs->vols[(start + k) % vs->nvols];
        uint64_t avail = 0, total = 0;
        kerr rc = v->ops->free_space(v, &avail, &total);
        if (rc != K_OK) {
            last = rc;
            continue;
        }
        uint64_t need = needle_size(len);
        if (avail < need || avail - need < free_floor(vs, total)) continue;
        rc = v->ops->begin(v, len, out);
        if (rc == K_OK) return K_OK;
        last = rc;
    }
    if (last == K_ENOMEM)
        log_warn("storage: no volume has room for a %llu-byte needle above its free-space floor",
                 (unsigned long long)len);
    return last;
}

kerr vol_writer_write(vol_writer *w, const void *p, size_t n) {
    return w->ops->write(w, p, n);
}

kerr vol_writer_finish(vol_writer *w, vol_loc *loc) {
    volume *v = w->vol;
    kerr rc = w->ops->finish(w, loc);
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
    return v->ops->del(v, loc);
}

void volset_stats_get(volset *vs, volset_stats *out) {
    out->bytes_written = atomic_load(&vs->counters.bytes_written);
    out->needles_written = atomic_load(&vs->counters.needles_written);
    out->fsyncs = atomic_load(&vs->counters.fsyncs);
    out->bytes_read = atomic_load(&vs->counters.bytes_read);
}
