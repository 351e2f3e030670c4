/* SPDX-License-Identifier: Apache-2.0 */
/* The data layer over local volumes (the embedded default's policy). The
 * contract is in data.h; the invariants this file keeps:
 * - Every key it returns names a needle that is complete and durable
 *   (vol_writer_finish succeeded) in a volume of its volset, by stable id.
 * - A data_put owns every needle it finished until data_put_finish hands
 *   the run over; any failure before that releases them (no leak of
 *   referenced space, at most unreferenced bytes in a chunk).
 * - Window reads start on NEEDLE_BLOCK_SIZE boundaries of a key, so a block
 *   is read and checksummed once per sequential pass.
 * - On the cluster, a full segment is stored by a thread of its own while
 *   the next one fills (two buffers per upload of more than a segment): at
 *   most one segment is in flight per upload, and its key joins the run
 *   before the next segment goes, so the run stays in body order.
 */
#include "storage/data.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "storage/chunk.h"
#include "storage/chunkset.h"

#define READ_WINDOW (256u * 1024u)

struct data_layer {
    volset *vs;
    data_policy policy;
    cs_pool *cs;   /* replicated chunksets (data_open_cluster), else NULL */
    cs_pool *ec;   /* stripesets (data_open_cluster), else NULL */
    bool ec_write; /* new segments of ec_threshold bytes go to ec */
};

/* ---- location keys ---------------------------------------------------------- */

static size_t put_varint(uint8_t *p, uint64_t v) {
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static bool get_varint(const uint8_t *p, size_t n, size_t *at, uint64_t *out) {
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (*at >= n) return false;
        uint8_t b = p[(*at)++];
        if (shift == 63 && b > 1) return false; /* overflow */
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            /* canonical: no trailing zero groups (one spelling per value) */
            if (b == 0 && shift > 0) return false;
            *out = v;
            return true;
        }
    }
    return false;
}

size_t data_loc_encode(const data_loc *l, uint8_t out[DATA_LOC_MAX_ENCODED]) {
    size_t n = 0;
    out[n++] = l->kind;
    out[n++] = 1; /* format version of the kind */
    n += put_varint(out + n, l->volume);
    n += put_varint(out + n, l->chunk);
    n += put_varint(out + n, l->offset);
    n += put_varint(out + n, l->length);
    return n;
}

kerr data_loc_decode(const uint8_t *in, size_t n, data_loc *l, size_t *used) {
    if (n < 2) return K_ECORRUPT;
    uint8_t kind = in[0], version = in[1];
    if (kind != DLOC_VOLUME && kind != DLOC_VOLUME_INDEX && kind != DLOC_CHUNKSET &&
        kind != DLOC_STRIPE)
        return kind >= 5 && kind < 0x40 ? K_ENOTIMPL : K_ECORRUPT;
    if (version != 1) return version > 1 ? K_ENOTIMPL : K_ECORRUPT;
    size_t at = 2;
    uint64_t volume, chunk, offset, length;
    if (!get_varint(in, n, &at, &volume) || !get_varint(in, n, &at, &chunk) ||
        !get_varint(in, n, &at, &offset) || !get_varint(in, n, &at, &length))
        return K_ECORRUPT;
    if (chunk > UINT32_MAX || length > NEEDLE_MAX_LENGTH) return K_ECORRUPT;
    if (kind == DLOC_VOLUME_INDEX && volume > UINT32_MAX) return K_ECORRUPT;
    if ((kind == DLOC_CHUNKSET || kind == DLOC_STRIPE) && (volume == 0 || chunk != 0))
        return K_ECORRUPT;
    *l = (data_loc){.kind = kind,
                    .volume = volume,
                    .chunk = (uint32_t)chunk,
                    .offset = offset,
                    .length = length};
    *used = at;
    return K_OK;
}

void data_loc_from_legacy(const vol_loc *v, data_loc *out) {
    *out = (data_loc){.kind = DLOC_VOLUME_INDEX,
                      .volume = v->volume,
                      .chunk = v->chunk,
                      .offset = v->offset,
                      .length = v->length};
}

/* key -> the volset's own location (volume by position). */
static kerr to_vol_loc(const data_layer *d, const data_loc *l, vol_loc *out) {
    uint32_t index;
    if (l->kind == DLOC_VOLUME) {
        if (!volset_resolve_uid(d->vs, l->volume, &index)) return K_ENOTFOUND;
    } else if (l->kind == DLOC_VOLUME_INDEX) {
        if (l->volume >= volset_count(d->vs)) return K_ENOTFOUND;
        index = (uint32_t)l->volume;
    } else {
        return K_ENOTIMPL;
    }
    *out = (vol_loc){.volume = index, .chunk = l->chunk, .offset = l->offset, .length = l->length};
    return K_OK;
}

static data_loc from_vol_loc(const data_layer *d, const vol_loc *v) {
    return (data_loc){.kind = DLOC_VOLUME,
                      .volume = volset_volume_uid(d->vs, v->volume),
                      .chunk = v->chunk,
                      .offset = v->offset,
                      .length = v->length};
}

/* ---- the layer ----------------------------------------------------------------- */

kerr data_open_local(volset *vs, const data_policy *policy, data_layer **out) {
    *out = NULL;
    if (!vs) return K_EINVAL;
    data_layer *d = calloc(1, sizeof *d);
    if (!d) return K_ENOMEM;
    d->vs = vs;
    d->policy = policy
                    ? *policy
                    : (data_policy){.replicas = 3, .ec_k = 6, .ec_m = 3, .ec_threshold = 1 << 20};
    *out = d;
    return K_OK;
}

kerr data_open_cluster(volset *vs, kv *meta, const data_policy *policy, data_layer **out) {
    *out = NULL;
    if (!vs || !meta || !policy || policy->replicas < 2) return K_EINVAL;
    data_layer *d;
    kerr rc = data_open_local(vs, policy, &d);
    if (rc) return rc;
    cs_alloc a = {.min_open = policy->min_open_chunksets,
                  .avg_fill = policy->chunkset_avg_fill,
                  .min_fill = policy->chunkset_min_fill,
                  .zone = policy->zone};
    rc = cs_pool_open(meta, vs, policy->replicas, &a, &d->cs);
    /* stripes are read (and released) by every gateway, whatever its own
     * code: each stripeset's record names its k; new ones are written with
     * this gateway's RS(k, m) when it has one */
    d->ec_write =
        policy->ec_k >= 1 && policy->ec_m >= 1 && policy->ec_k + policy->ec_m <= CS_MAX_REPLICAS;
    if (!rc)
        rc = cs_pool_open_ec(meta, vs, d->ec_write ? policy->ec_k : 1,
                             d->ec_write ? policy->ec_m : 1, &a, &d->ec);
    if (rc) {
        cs_pool_close(d->cs);
        free(d);
        return rc;
    }
    *out = d;
    return K_OK;
}

struct cs_pool *data_chunksets(data_layer *d) {
    return d->cs;
}

void data_close(data_layer *d) {
    if (!d) return;
    cs_pool_close(d->cs);
    cs_pool_close(d->ec);
    free(d);
}

void data_policy_get(const data_layer *d, data_policy *out) {
    *out = d->policy;
}

/* ---- writing --------------------------------------------------------------------- */

struct data_put {
    data_layer *d;
    uint64_t size;  /* DATA_SIZE_UNKNOWN: segmented */
    bool segmented; /* the body is written as buffered segments */
    size_t seg_cap; /* bytes of seg_buf */
    uint64_t written;
    vol_writer *w; /* known size: the one needle */
    char *seg_buf; /* unknown size: the segment being filled */
    size_t seg_fill;
    data_loc *run; /* finished segments */
    uint32_t nrun, cap;
    void *ec_scratch; /* stripes' padding and parity, kept across segments */
    /* the segment being stored by `flusher` (cluster only) */
    char *spare; /* the other buffer, seg_cap bytes (allocated at the first) */
    bool flying; /* flusher runs: join before touching run or spare */
    pthread_t flusher;
    char *fly_buf;
    size_t fly_len;
    data_loc fly_loc;
    kerr fly_err;
};

kerr data_put_begin(data_layer *d, uint64_t size, data_put **out) {
    *out = NULL;
    if (size != DATA_SIZE_UNKNOWN && size > NEEDLE_MAX_LENGTH) return K_ETOOLARGE;
    data_put *w = calloc(1, sizeof *w);
    if (!w) return K_ENOMEM;
    w->d = d;
    w->size = size;
    /* Chunksets take buffered segments, so that a needle a chunkset could
     * not take goes again to another one. */
    w->segmented = size == DATA_SIZE_UNKNOWN || d->cs;
    kerr e;
    if (w->segmented) {
        w->seg_cap = size < DATA_SEGMENT_SIZE ? (size_t)(size ? size : 1) : DATA_SEGMENT_SIZE;
        w->seg_buf = malloc(w->seg_cap);
        e = w->seg_buf ? K_OK : K_ENOMEM;
    } else {
        e = vol_writer_begin(d->vs, size, &w->w);
    }
    if (e) {
        free(w->seg_buf);
        free(w);
        return e;
    }
    *out = w;
    return K_OK;
}

static kerr run_add(data_put *w, const data_loc *l) {
    if (w->nrun == w->cap) {
        uint32_t cap = w->cap ? w->cap * 2 : 4;
        data_loc *grown = realloc(w->run, cap * sizeof *grown);
        if (!grown) return K_ENOMEM;
        w->run = grown;
        w->cap = cap;
    }
    w->run[w->nrun++] = *l;
    return K_OK;
}

/* Stores len bytes of buf as one needle (or stripe) on the cluster. */
static kerr store_segment(data_put *w, const char *buf, size_t len, data_loc *out) {
    uint64_t csid, offset;
    uint8_t kind = DLOC_CHUNKSET;
    kerr e = K_EUNAVAILABLE;
    if (w->d->ec_write && len && len >= w->d->policy.ec_threshold) {
        if (!w->ec_scratch) w->ec_scratch = malloc(cs_stripe_scratch_size(w->d->ec, w->seg_cap));
        e = w->ec_scratch ? cs_put_stripe(w->d->ec, buf, len, w->ec_scratch, &csid, &offset)
                          : K_ENOMEM;
        if (e == K_OK)
            kind = DLOC_STRIPE;
        else
            log_debug("data: a %zu-byte segment could not be erasure-coded (%s); stored "
                      "replicated",
                      len, kerr_name(e));
    }
    if (kind == DLOC_CHUNKSET) e = cs_put(w->d->cs, buf, len, &csid, &offset);
    if (e) return e;
    *out = (data_loc){.kind = kind, .volume = csid, .offset = offset, .length = len};
    return K_OK;
}

/* Adds a stored segment's key to the run (or releases it). */
static kerr add_stored(data_put *w, const data_loc *l) {
    kerr e = run_add(w, l);
    if (e)
        cs_release(l->kind == DLOC_STRIPE ? w->d->ec : w->d->cs, l->volume, l->offset, l->length);
    return e;
}

static void *flusher_main(void *arg) {
    data_put *w = arg;
    w->fly_err = store_segment(w, w->fly_buf, w->fly_len, &w->fly_loc);
    return NULL;
}

/* Waits for the segment in flight; its key joins the run. */
static kerr land(data_put *w) {
    if (!w->flying) return K_OK;
    pthread_join(w->flusher, NULL);
    w->flying = false;
    return w->fly_err ? w->fly_err : add_stored(w, &w->fly_loc);
}

/* Writes the buffered segment as one needle. */
static kerr flush_segment(data_put *w) {
    if (w->d->cs) {
        kerr e = land(w);
        if (e) return e;
        data_loc l;
        e = store_segment(w, w->seg_buf, w->seg_fill, &l);
        if (!e) e = add_stored(w, &l);
        if (!e) w->seg_fill = 0;
        return e;
    }
    vol_writer *vw;
    kerr e = vol_writer_begin(w->d->vs, w->seg_fill, &vw);
    if (e) return e;
    e = vol_writer_write(vw, w->seg_buf, w->seg_fill);
    if (e) {
        vol_writer_abort(vw);
        return e;
    }
    vol_loc v;
    e = vol_writer_finish(vw, &v);
    if (e) return e;
    data_loc l = from_vol_loc(w->d, &v);
    e = run_add(w, &l);
    if (e) {
        vol_delete(w->d->vs, &v);
        return e;
    }
    w->seg_fill = 0;
    return K_OK;
}

/* A full segment with more body to come (cluster): stored by a thread of
 * its own while the other buffer fills; the one before lands first. */
static kerr hand_off(data_put *w) {
    kerr e = land(w);
    if (e) return e;
    if (!w->spare && !(w->spare = malloc(w->seg_cap))) return flush_segment(w);
    char *full = w->seg_buf;
    w->seg_buf = w->spare;
    w->spare = full;
    w->fly_buf = full;
    w->fly_len = w->seg_fill;
    w->seg_fill = 0;
    if (pthread_create(&w->flusher, NULL, flusher_main, w) != 0) {
        e = store_segment(w, full, w->fly_len, &w->fly_loc); /* no thread: here */
        return e ? e : add_stored(w, &w->fly_loc);
    }
    w->flying = true;
    return K_OK;
}

kerr data_put_write(data_put *w, const void *p, size_t n) {
    if (w->size != DATA_SIZE_UNKNOWN && n > w->size - w->written) return K_EINVAL;
    if (!w->segmented) {
        kerr e = vol_writer_write(w->w, p, n);
        if (!e) w->written += n;
        return e;
    }
    if (n > NEEDLE_MAX_LENGTH - w->written) return K_ETOOLARGE;
    const char *src = p;
    while (n) {
        size_t take = w->seg_cap - w->seg_fill;
        if (take > n) take = n;
        memcpy(w->seg_buf + w->seg_fill, src, take);
        w->seg_fill += take;
        w->written += take;
        src += take;
        n -= take;
        if (w->seg_fill == w->seg_cap) {
            bool last = w->size != DATA_SIZE_UNKNOWN && w->written == w->size;
            kerr e = w->d->cs && !last ? hand_off(w) : flush_segment(w);
            if (e) return e;
        }
    }
    return K_OK;
}

uint64_t data_put_written(const data_put *w) {
    return w->written;
}

static void put_free(data_put *w) {
    if (w->w) vol_writer_abort(w->w);
    free(w->spare);
    free(w->ec_scratch);
    free(w->seg_buf);
    free(w->run);
    free(w);
}

void data_put_abort(data_put *w) {
    if (!w) return;
    (void)land(w); /* the segment in flight joins the run, to be released */
    data_release(w->d, w->run, w->nrun);
    put_free(w);
}

kerr data_put_finish(data_put *w, data_loc **locs, uint32_t *n) {
    *locs = NULL;
    *n = 0;
    kerr e = K_OK;
    if (w->segmented && w->size != DATA_SIZE_UNKNOWN && w->written != w->size) {
        e = K_EINCOMPLETEBODY;
    } else if (!w->segmented) {
        if (w->written != w->size) {
            e = K_EINCOMPLETEBODY;
        } else {
            vol_loc v;
            e = vol_writer_finish(w->w, &v);
            w->w = NULL; /* consumed either way */
            if (!e) {
                data_loc l = from_vol_loc(w->d, &v);
                e = run_add(w, &l);
                if (e) vol_delete(w->d->vs, &v);
            }
        }
    } else {
        e = land(w);
        if (!e && (w->seg_fill || w->nrun == 0))
            e = flush_segment(w); /* the tail, or the one empty needle */
    }
    if (e) {
        data_put_abort(w);
        return e;
    }
    *locs = w->run;
    *n = w->nrun;
    w->run = NULL;
    w->nrun = 0;
    put_free(w);
    return K_OK;
}

/* ---- space ------------------------------------------------------------------------ */

size_t data_space(data_layer *d, vol_space *out, size_t max) {
    size_t n = volset_count(d->vs);
    for (size_t i = 0; i < n && i < max; i++) volset_space_get(d->vs, (uint32_t)i, &out[i]);
    return n;
}

/* ---- reading ---------------------------------------------------------------------- */

kerr data_read(data_layer *d, const data_loc *l, uint64_t off, void *buf, size_t n) {
    if (off > l->length || n > l->length - off) return K_EINVAL;
    if (l->kind == DLOC_CHUNKSET) {
        if (!d->cs) return K_EUNAVAILABLE;
        return cs_read(d->cs, l->volume, l->offset, l->length, off, buf, n);
    }
    if (l->kind == DLOC_STRIPE) {
        if (!d->ec) return K_EUNAVAILABLE;
        return cs_read_stripe(d->ec, l->volume, l->offset, l->length, off, buf, n);
    }
    vol_loc v;
    kerr e = to_vol_loc(d, l, &v);
    if (e) return e;
    return vol_read(d->vs, &v, off, buf, n);
}

kerr data_read_run(data_layer *d, const data_loc *run, uint32_t nrun, uint64_t off, void *buf,
                   size_t n) {
    uint8_t *dst = buf;
    uint64_t start = 0;
    for (uint32_t i = 0; i < nrun && n; i++) {
        uint64_t len = run[i].length;
        if (off < start + len) {
            uint64_t in = off - start;
            size_t take = (size_t)(len - in < n ? len - in : n);
            kerr e = data_read(d, &run[i], in, dst, take);
            if (e) return e;
            dst += take;
            off += take;
            n -= take;
        }
        start += len;
    }
    return n ? K_EINVAL : K_OK;
}

void data_release(data_layer *d, const data_loc *run, uint32_t nrun) {
    for (uint32_t i = 0; i < nrun; i++) {
        if (run[i].kind == DLOC_CHUNKSET || run[i].kind == DLOC_STRIPE) {
            cs_pool *p = run[i].kind == DLOC_STRIPE ? d->ec : d->cs;
            if (p) cs_release(p, run[i].volume, run[i].offset, run[i].length);
            continue;
        }
        vol_loc v;
        kerr e = to_vol_loc(d, &run[i], &v);
        if (!e) e = vol_delete(d->vs, &v);
        if (e && e != K_ENOTFOUND) log_warn("data: could not release a needle: %s", kerr_name(e));
    }
}

struct data_reader {
    data_layer *d;
    data_loc *run;
    uint32_t nrun;
    uint64_t off, len; /* the range, in run offsets */
    char *buf;
    uint64_t buf_pos; /* run offset of buf[0] */
    size_t buf_len;
    kerr err;
};

static kerr refill(data_reader *r, uint64_t at);

kerr data_reader_open(data_layer *d, const data_loc *run, uint32_t nrun, uint64_t off, uint64_t len,
                      data_reader **out) {
    *out = NULL;
    uint64_t total = 0;
    for (uint32_t i = 0; i < nrun; i++) total += run[i].length;
    if (off > total || len > total - off) return K_EINVAL;
    /* every volume the range touches must be known before the caller
     * answers (a GET's headers go out before the first read) */
    for (uint32_t i = 0; i < nrun && len; i++) {
        if (run[i].kind == DLOC_CHUNKSET || run[i].kind == DLOC_STRIPE) {
            cs_pool *p = run[i].kind == DLOC_STRIPE ? d->ec : d->cs;
            if (!p || cs_check(p, run[i].volume) != K_OK) {
                log_error("data: location names chunkset %016llx, which this gateway cannot "
                          "resolve",
                          (unsigned long long)run[i].volume);
                return K_EUNAVAILABLE;
            }
            continue;
        }
        vol_loc vl;
        kerr e = to_vol_loc(d, &run[i], &vl);
        if (e == K_ENOTFOUND) {
            log_error("data: location names volume %016llx, which this gateway does not know",
                      (unsigned long long)run[i].volume);
            return K_EUNAVAILABLE;
        }
        if (e) return e;
    }
    data_reader *r = calloc(1, sizeof *r);
    if (!r) return K_ENOMEM;
    r->run = nrun ? malloc(nrun * sizeof *run) : NULL;
    if (nrun && !r->run) {
        free(r);
        return K_ENOMEM;
    }
    if (nrun) memcpy(r->run, run, nrun * sizeof *run);
    r->d = d;
    r->nrun = nrun;
    r->off = off;
    r->len = len;
    /* the first window now, so that bytes nobody can read (every copy or
     * too many blocks gone, or corrupt) get an error status instead of a
     * 200 whose body stops short */
    kerr e = len ? refill(r, off) : K_OK;
    if (e) {
        data_reader_close(r);
        return e;
    }
    *out = r;
    return K_OK;
}

/* Refills the window so that it holds run offset `at`: from the start of
 * at's checksum block (within its key) to at most READ_WINDOW bytes, not past
 * the key's end nor the range's end. */
static kerr refill(data_reader *r, uint64_t at) {
    if (!r->buf) r->buf = malloc(READ_WINDOW);
    if (!r->buf) return K_ENOMEM;
    uint64_t start = 0;
    for (uint32_t i = 0; i < r->nrun; i++) {
        const data_loc *l = &r->run[i];
        if (at < start + l->length) {
            uint64_t in = at - start;
            uint64_t from = in & ~(uint64_t)(NEEDLE_BLOCK_SIZE - 1);
            uint64_t end = r->off + r->len - start; /* range end, in key offsets */
            if (end > l->length) end = l->length;
            size_t n = (size_t)(end - from < READ_WINDOW ? end - from : READ_WINDOW);
            kerr e = data_read(r->d, l, from, r->buf, n);
            if (e) return e;
            r->buf_pos = start + from;
            r->buf_len = n;
            return K_OK;
        }
        start += l->length;
    }
    return K_EINVAL;
}

ssize_t data_reader_read(data_reader *r, uint64_t pos, void *buf, size_t max) {
    if (pos >= r->len) return 0;
    if (max > r->len - pos) max = (size_t)(r->len - pos);
    uint64_t at = r->off + pos;
    if (!(at >= r->buf_pos && at < r->buf_pos + r->buf_len)) {
        kerr e = refill(r, at);
        if (e) {
            r->err = e;
            return -1;
        }
    }
    size_t avail = (size_t)(r->buf_pos + r->buf_len - at);
    size_t n = max < avail ? max : avail;
    memcpy(buf, r->buf + (at - r->buf_pos), n);
    return (ssize_t)n;
}

kerr data_reader_error(const data_reader *r) {
    return r->err;
}

void data_reader_close(data_reader *r) {
    if (!r) return;
    free(r->buf);
    free(r->run);
    free(r);
}
