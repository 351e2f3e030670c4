/* SPDX-License-Identifier: Apache-2.0 */
#include "storage/data.h" /* before the header: the records hold its keys */
#include "gateway/objsvc_records.h"

#include <string.h>

#include "common/bytes.h"

/* Record format versions. Object and part records are at 2: data locations
 * are typed, variable-length data_loc keys (storage/data.h). Version 1 of
 * those records (fixed 24-byte vol_loc naming volumes by position) is still
 * decoded, into legacy DLOC_VOLUME_INDEX keys. Bucket records are at 2:
 * metadata attributes and grants follow the canned ACL; version 1 (without
 * them) still decodes, with none. The other records are at 1. */
/* Object records: version 2, or 3 for an SLO (version 2 followed by its
 * segment list), so that a gateway too old to know SLOs refuses the record
 * instead of serving the manifest's empty data as the object.
 * Tags (S3 object and bucket tagging) need a newer version, written only
 * when there are tags, so that records without them stay readable by
 * gateways that predate tags, and a gateway that cannot keep tags refuses
 * a tagged record instead of dropping its tags when it rewrites it:
 * - object version 4: version 2, the tag set, a byte (1: an SLO, then its
 *   segment list as in version 3);
 * - upload version 2: version 1 followed by the tag set;
 * - bucket version 3: version 2 followed by the tag set. */
enum {
    REC_VERSION = 1,
    REC_OBJ_VERSION = 2,
    REC_OBJ_SLO_VERSION = 3,
    REC_OBJ_TAGS_VERSION = 4,
    REC_UPLOAD_TAGS_VERSION = 2,
    REC_PART_VERSION = 2,
    REC_BUCKET_VERSION = 2,
    REC_BUCKET_TAGS_VERSION = 3
};

static void put_u8(kbuf *b, uint8_t v) {
    kbuf_append(b, &v, 1);
}
static void put_u32(kbuf *b, uint32_t v) {
    uint8_t x[4];
    store_le32(x, v);
    kbuf_append(b, x, 4);
}
static void put_u64(kbuf *b, uint64_t v) {
    put_u32(b, (uint32_t)v);
    put_u32(b, (uint32_t)(v >> 32));
}
static void put_bytes(kbuf *b, const void *p, size_t n) {
    put_u32(b, (uint32_t)n);
    kbuf_append(b, p, n);
}
static void put_str(kbuf *b, const char *s) {
    put_bytes(b, s ? s : "", s ? strlen(s) : 0);
}

typedef struct reader {
    const uint8_t *p;
    size_t n;
    bool bad;
} reader;

static const uint8_t *take(reader *r, size_t n) {
    if (r->bad || r->n < n) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    r->n -= n;
    return p;
}
static uint8_t get_u8(reader *r) {
    const uint8_t *p = take(r, 1);
    return p ? p[0] : 0;
}
static uint32_t get_u32(reader *r) {
    const uint8_t *p = take(r, 4);
    return p ? load_le32(p) : 0;
}
static uint64_t get_u64(reader *r) {
    uint64_t lo = get_u32(r);
    return lo | (uint64_t)get_u32(r) << 32;
}
static char *get_str(reader *r, arena *a, size_t *len) {
    uint32_t n = get_u32(r);
    const uint8_t *p = take(r, n);
    if (len) *len = p ? n : 0;
    return p ? arena_strndup(a, (const char *)p, n) : arena_strdup(a, "");
}
static void get_fixed(reader *r, void *out, size_t n) {
    const uint8_t *p = take(r, n);
    if (p)
        memcpy(out, p, n);
    else
        memset(out, 0, n);
}

static void put_attrs(kbuf *out, const obj_attr *attrs, uint32_t n);
static obj_attr *get_attrs(reader *r, arena *a, uint32_t *n);

void rec_bucket_encode(kbuf *out, const bucket_info *b) {
    put_u8(out, b->ntags ? REC_BUCKET_TAGS_VERSION : REC_BUCKET_VERSION);
    put_str(out, b->name);
    put_str(out, b->owner);
    put_str(out, b->region);
    kbuf_append(out, b->id, 8);
    put_u64(out, (uint64_t)b->created_ms);
    put_u8(out, b->acl);
    put_attrs(out, b->attrs, b->nattrs);
    put_str(out, b->read_grants);
    put_str(out, b->write_grants);
    if (b->ntags) put_attrs(out, b->tags, b->ntags);
}

kerr rec_bucket_decode(arena *a, const void *p, size_t n, bucket_info *b) {
    reader r = {p, n, false};
    unsigned version = get_u8(&r);
    if (version != 1 && version != REC_BUCKET_VERSION && version != REC_BUCKET_TAGS_VERSION)
        return K_ECORRUPT;
    b->name = get_str(&r, a, NULL);
    b->owner = get_str(&r, a, NULL);
    b->region = get_str(&r, a, NULL);
    get_fixed(&r, b->id, 8);
    b->created_ms = (int64_t)get_u64(&r);
    b->acl = get_u8(&r);
    if (version == 1) {
        b->nattrs = 0;
        b->attrs = arena_alloc(a, sizeof(obj_attr));
        b->read_grants = arena_strdup(a, "");
        b->write_grants = arena_strdup(a, "");
    } else {
        b->attrs = get_attrs(&r, a, &b->nattrs);
        b->read_grants = get_str(&r, a, NULL);
        b->write_grants = get_str(&r, a, NULL);
    }
    b->ntags = 0;
    b->tags = NULL;
    if (version == REC_BUCKET_TAGS_VERSION) {
        b->tags = get_attrs(&r, a, &b->ntags);
        if (!b->ntags) return K_ECORRUPT; /* written only with tags */
    }
    return r.bad ? K_ECORRUPT : K_OK;
}

static void put_attrs(kbuf *out, const obj_attr *attrs, uint32_t n) {
    put_u32(out, n);
    for (uint32_t i = 0; i < n; i++) {
        put_str(out, attrs[i].name);
        put_str(out, attrs[i].value);
    }
}

static obj_attr *get_attrs(reader *r, arena *a, uint32_t *n) {
    *n = get_u32(r);
    if (*n > r->n / 8) { /* each attr needs at least two length words */
        r->bad = true;
        *n = 0;
        return NULL;
    }
    obj_attr *attrs = arena_alloc(a, sizeof(obj_attr) * (*n ? *n : 1));
    for (uint32_t i = 0; i < *n; i++) {
        attrs[i].name = get_str(r, a, NULL);
        attrs[i].value = get_str(r, a, NULL);
    }
    return attrs;
}

void rec_account_encode(kbuf *out, const account_info *ai) {
    put_u8(out, REC_VERSION);
    put_str(out, ai->name);
    put_attrs(out, ai->attrs, ai->nattrs);
}

kerr rec_account_decode(arena *a, const void *p, size_t n, account_info *ai) {
    reader r = {p, n, false};
    if (get_u8(&r) != REC_VERSION) return K_ECORRUPT;
    ai->name = get_str(&r, a, NULL);
    ai->attrs = get_attrs(&r, a, &ai->nattrs);
    return r.bad ? K_ECORRUPT : K_OK;
}

static void put_loc(kbuf *out, const data_loc *l) {
    uint8_t enc[DATA_LOC_MAX_ENCODED];
    size_t n = data_loc_encode(l, enc);
    kbuf_append(out, enc, n);
}

/* version 2: a data_loc key; version 1: the fixed legacy vol_loc */
static void get_loc(reader *r, unsigned version, data_loc *l) {
    memset(l, 0, sizeof *l);
    if (r->bad) return;
    if (version == 1) {
        const uint8_t *p = take(r, VOL_LOC_ENCODED_LEN);
        if (!p) return;
        vol_loc v;
        vol_loc_decode(p, &v);
        data_loc_from_legacy(&v, l);
        /* Only a location a version 2 record can hold (data_loc_decode's
         * limits, e.g. a length no needle exceeds): anything else is damage,
         * and would otherwise decode here but not once re-encoded (found by
         * tests/fuzz/fuzz_records.c). */
        uint8_t enc[DATA_LOC_MAX_ENCODED];
        data_loc check;
        size_t used;
        if (data_loc_decode(enc, data_loc_encode(l, enc), &check, &used) != K_OK) r->bad = true;
        return;
    }
    size_t used;
    if (data_loc_decode(r->p, r->n, l, &used) != K_OK) {
        r->bad = true;
        return;
    }
    take(r, used);
}

void rec_obj_encode(kbuf *out, const obj_meta *m) {
    bool slo = m->large == OBJ_LARGE_SLO;
    put_u8(out, m->ntags ? REC_OBJ_TAGS_VERSION : slo ? REC_OBJ_SLO_VERSION : REC_OBJ_VERSION);
    put_u64(out, m->size);
    put_u64(out, (uint64_t)m->mtime_ms);
    put_str(out, m->etag);
    put_u8(out, m->acl);
    put_u8(out, m->ck_alg);
    put_u8(out, m->ck_type);
    put_u8(out, m->ck_len);
    kbuf_append(out, m->ck, m->ck_len);
    put_u32(out, m->nparts);
    put_attrs(out, m->attrs, m->nattrs);
    put_u32(out, m->nsegs);
    for (uint32_t i = 0; i < m->nsegs; i++) {
        put_loc(out, &m->segs[i].loc);
        kbuf_append(out, m->segs[i].md5, 16);
    }
    put_u64(out, m->home);
    if (m->ntags) {
        put_attrs(out, m->tags, m->ntags);
        put_u8(out, slo);
    }
    if (!slo) return;
    put_u32(out, m->nslo);
    for (uint32_t i = 0; i < m->nslo; i++) {
        const obj_slo_seg *g = &m->slo[i];
        put_str(out, g->bucket);
        put_bytes(out, g->key, g->klen);
        put_str(out, g->etag);
        put_u64(out, g->size);
        put_u8(out, (uint8_t)(g->has_range | g->sub_slo << 1));
        if (g->has_range) {
            put_u64(out, g->first);
            put_u64(out, g->last);
        }
        put_str(out, g->content_type);
        put_u64(out, (uint64_t)g->mtime_ms);
    }
}

kerr rec_obj_decode(arena *a, const void *p, size_t n, obj_meta *m) {
    reader r = {p, n, false};
    memset(m, 0, sizeof *m);
    unsigned version = get_u8(&r);
    if (version != 1 && version != REC_OBJ_VERSION && version != REC_OBJ_SLO_VERSION &&
        version != REC_OBJ_TAGS_VERSION)
        return K_ECORRUPT;
    m->size = get_u64(&r);
    m->mtime_ms = (int64_t)get_u64(&r);
    size_t elen;
    char *etag = get_str(&r, a, &elen);
    if (elen >= sizeof m->etag) return K_ECORRUPT;
    memcpy(m->etag, etag, elen + 1);
    m->acl = get_u8(&r);
    m->ck_alg = get_u8(&r);
    m->ck_type = get_u8(&r);
    m->ck_len = get_u8(&r);
    if (m->ck_len > sizeof m->ck) return K_ECORRUPT;
    get_fixed(&r, m->ck, m->ck_len);
    m->nparts = get_u32(&r);
    m->attrs = get_attrs(&r, a, &m->nattrs);
    m->nsegs = get_u32(&r);
    /* a key takes at least 6 bytes (v2), 24 (v1), then 16 of md5 */
    if (r.bad || m->nsegs > r.n / ((version == 1 ? VOL_LOC_ENCODED_LEN : 6) + 16))
        return K_ECORRUPT;
    m->segs = arena_alloc(a, sizeof(obj_part_loc) * (m->nsegs ? m->nsegs : 1));
    for (uint32_t i = 0; i < m->nsegs; i++) {
        get_loc(&r, version, &m->segs[i].loc);
        get_fixed(&r, m->segs[i].md5, 16);
    }
    m->home = get_u64(&r);
    for (uint32_t i = 0; i < m->nattrs; i++)
        if (!strcmp(m->attrs[i].name, OBJ_ATTR_DLO)) m->large = OBJ_LARGE_DLO;
    bool slo = version == REC_OBJ_SLO_VERSION;
    if (version == REC_OBJ_TAGS_VERSION) {
        m->tags = get_attrs(&r, a, &m->ntags);
        uint8_t fl = get_u8(&r);
        /* written only with tags; the byte is 0 or 1 */
        if (r.bad || !m->ntags || fl > 1) return K_ECORRUPT;
        slo = fl;
    }
    if (!slo) return r.bad ? K_ECORRUPT : K_OK;
    m->large = OBJ_LARGE_SLO;
    m->nslo = get_u32(&r);
    /* a segment takes at least 4+4+4+8+1+4+8 bytes */
    if (r.bad || m->nslo > r.n / 33) return K_ECORRUPT;
    m->slo = arena_zalloc(a, sizeof *m->slo * (m->nslo ? m->nslo : 1));
    for (uint32_t i = 0; i < m->nslo && !r.bad; i++) {
        obj_slo_seg *g = &m->slo[i];
        g->bucket = get_str(&r, a, NULL);
        g->key = get_str(&r, a, &g->klen);
        size_t el;
        char *et = get_str(&r, a, &el);
        if (el >= sizeof g->etag) return K_ECORRUPT;
        memcpy(g->etag, et, el + 1);
        g->size = get_u64(&r);
        uint8_t fl = get_u8(&r);
        g->has_range = fl & 1;
        g->sub_slo = (fl >> 1) & 1;
        if (g->has_range) {
            g->first = get_u64(&r);
            g->last = get_u64(&r);
            if (g->first > g->last) return K_ECORRUPT;
        }
        g->content_type = get_str(&r, a, NULL);
        g->mtime_ms = (int64_t)get_u64(&r);
    }
    return r.bad ? K_ECORRUPT : K_OK;
}

void rec_upload_encode(kbuf *out, const upload_info *u) {
    put_u8(out, u->proto.ntags ? REC_UPLOAD_TAGS_VERSION : REC_VERSION);
    put_bytes(out, u->key, u->klen);
    put_str(out, u->upload_id);
    put_u64(out, (uint64_t)u->initiated_ms);
    put_str(out, u->owner);
    put_u8(out, u->proto.acl);
    put_u8(out, u->proto.ck_alg);
    put_u8(out, u->proto.ck_type);
    put_attrs(out, u->proto.attrs, u->proto.nattrs);
    if (u->proto.ntags) put_attrs(out, u->proto.tags, u->proto.ntags);
}

kerr rec_upload_decode(arena *a, const void *p, size_t n, upload_info *u) {
    reader r = {p, n, false};
    memset(u, 0, sizeof *u);
    unsigned version = get_u8(&r);
    if (version != REC_VERSION && version != REC_UPLOAD_TAGS_VERSION) return K_ECORRUPT;
    u->key = get_str(&r, a, &u->klen);
    size_t idlen;
    char *id = get_str(&r, a, &idlen);
    if (idlen >= sizeof u->upload_id) return K_ECORRUPT;
    memcpy(u->upload_id, id, idlen + 1);
    u->initiated_ms = (int64_t)get_u64(&r);
    u->owner = get_str(&r, a, NULL);
    u->proto.acl = get_u8(&r);
    u->proto.ck_alg = get_u8(&r);
    u->proto.ck_type = get_u8(&r);
    u->proto.attrs = get_attrs(&r, a, &u->proto.nattrs);
    if (version == REC_UPLOAD_TAGS_VERSION) {
        u->proto.tags = get_attrs(&r, a, &u->proto.ntags);
        if (!u->proto.ntags) return K_ECORRUPT; /* written only with tags */
    }
    return r.bad ? K_ECORRUPT : K_OK;
}

void rec_part_encode(kbuf *out, const part_rec *pr) {
    const part_info *p = &pr->info;
    put_u8(out, REC_PART_VERSION);
    put_u32(out, p->number);
    put_u64(out, p->size);
    put_u64(out, (uint64_t)p->mtime_ms);
    kbuf_append(out, p->md5, 16);
    put_loc(out, &pr->loc);
    put_u8(out, p->ck_len);
    kbuf_append(out, p->ck, p->ck_len);
    put_u64(out, pr->home);
}

kerr rec_part_decode(const void *p, size_t n, part_rec *pr) {
    reader r = {p, n, false};
    memset(pr, 0, sizeof *pr);
    part_info *out = &pr->info;
    unsigned version = get_u8(&r);
    if (version != 1 && version != REC_PART_VERSION) return K_ECORRUPT;
    out->number = get_u32(&r);
    out->size = get_u64(&r);
    out->mtime_ms = (int64_t)get_u64(&r);
    get_fixed(&r, out->md5, 16);
    get_loc(&r, version, &pr->loc);
    out->ck_len = get_u8(&r);
    if (out->ck_len > sizeof out->ck) return K_ECORRUPT;
    get_fixed(&r, out->ck, out->ck_len);
    pr->home = get_u64(&r);
    return r.bad ? K_ECORRUPT : K_OK;
}
