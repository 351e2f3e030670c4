/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness for the metadata record decoders (gateway/objsvc_records.c:
 * bucket, object, upload, part and user records) and the data location key
 * decoder (storage/data.c data_loc_decode). These read what the metadata
 * store holds, which another gateway, an older version or a damaged store
 * may have written. See README.md.
 *
 * Input: byte 0 % 6 picks the decoder (0 bucket, 1 object, 2 upload,
 * 3 part, 4 user, 5 location key); the rest is the encoded record.
 *
 * Oracles besides memory safety:
 * - a record that decodes encodes again, and that encoding decodes to the
 *   same values and encodes to the same bytes (decode -> encode -> decode
 *   round trip; old record versions come back in the current one). Object
 *   records include an SLO's (version 3): its kind and segment list (bucket,
 *   binary key, ETag, size, range, nesting, content type, time) compare
 *   too, and a DLO's kind, which comes from its attribute; tag sets (object
 *   version 4, upload version 2, bucket version 3) compare too;
 * - every proper prefix of an encoding is refused (K_ECORRUPT): a
 *   truncated record is never taken for a shorter valid one;
 * - a location key decodes from exactly the bytes it encodes to (one
 *   spelling per key), or is refused as K_ECORRUPT / K_ENOTIMPL. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/buf.h"
#include "storage/data.h" /* before objsvc_records.h, which holds its keys */
#include "gateway/objsvc_records.h"
#include "router/users.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "oracle failed at %s:%d: %s\n", __FILE__, __LINE__, #c);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

enum { K_BUCKET, K_OBJ, K_UPLOAD, K_PART, K_USER, K_LOC, K_KINDS };

typedef union rec {
    bucket_info b;
    obj_meta o;
    upload_info u;
    part_rec p;
    struct {
        const char *secret, *user;
        unsigned roles;
    } user;
} rec;

static kerr decode(int kind, arena *a, const void *p, size_t n, rec *r) {
    memset(r, 0, sizeof *r);
    switch (kind) {
    case K_BUCKET:
        return rec_bucket_decode(a, p, n, &r->b);
    case K_OBJ:
        return rec_obj_decode(a, p, n, &r->o);
    case K_UPLOAD:
        return rec_upload_decode(a, p, n, &r->u);
    case K_PART:
        return rec_part_decode(p, n, &r->p);
    default:
        return users_record_decode_roles(a, p, n, &r->user.secret, &r->user.user, &r->user.roles);
    }
}

static void encode(int kind, const rec *r, kbuf *out) {
    switch (kind) {
    case K_BUCKET:
        rec_bucket_encode(out, &r->b);
        break;
    case K_OBJ:
        rec_obj_encode(out, &r->o);
        break;
    case K_UPLOAD:
        rec_upload_encode(out, &r->u);
        break;
    case K_PART:
        rec_part_encode(out, &r->p);
        break;
    default:
        users_record_encode_roles(out, r->user.secret, r->user.user, r->user.roles);
        break;
    }
}

/* Strings are written up to their first NUL (put_str uses strlen). */
static bool same_str(const char *x, const char *y) {
    return !strcmp(x ? x : "", y ? y : "");
}

static bool same_loc(const data_loc *x, const data_loc *y) {
    return x->kind == y->kind && x->volume == y->volume && x->chunk == y->chunk &&
           x->offset == y->offset && x->length == y->length;
}

static bool same_attrs(const obj_attr *x, uint32_t nx, const obj_attr *y, uint32_t ny) {
    if (nx != ny) return false;
    for (uint32_t i = 0; i < nx; i++)
        if (!same_str(x[i].name, y[i].name) || !same_str(x[i].value, y[i].value)) return false;
    return true;
}

static bool same_obj(const obj_meta *x, const obj_meta *y) {
    if (x->size != y->size || x->mtime_ms != y->mtime_ms || strcmp(x->etag, y->etag) ||
        x->acl != y->acl || x->ck_alg != y->ck_alg || x->ck_type != y->ck_type ||
        x->ck_len != y->ck_len || memcmp(x->ck, y->ck, x->ck_len) || x->nparts != y->nparts ||
        !same_attrs(x->attrs, x->nattrs, y->attrs, y->nattrs) || x->nsegs != y->nsegs ||
        x->home != y->home || !same_attrs(x->tags, x->ntags, y->tags, y->ntags))
        return false;
    for (uint32_t i = 0; i < x->nsegs; i++)
        if (!same_loc(&x->segs[i].loc, &y->segs[i].loc) ||
            memcmp(x->segs[i].md5, y->segs[i].md5, 16))
            return false;
    if (x->large != y->large || x->nslo != y->nslo) return false;
    for (uint32_t i = 0; i < x->nslo; i++) {
        const obj_slo_seg *g = &x->slo[i], *h = &y->slo[i];
        if (!same_str(g->bucket, h->bucket) || g->klen != h->klen ||
            memcmp(g->key, h->key, g->klen) || strcmp(g->etag, h->etag) || g->size != h->size ||
            g->has_range != h->has_range || g->sub_slo != h->sub_slo ||
            !same_str(g->content_type, h->content_type) || g->mtime_ms != h->mtime_ms)
            return false;
        if (g->has_range && (g->first != h->first || g->last != h->last || g->first > g->last))
            return false;
    }
    return true;
}

static bool same(int kind, const rec *x, const rec *y) {
    switch (kind) {
    case K_BUCKET:
        return same_str(x->b.name, y->b.name) && same_str(x->b.owner, y->b.owner) &&
               same_str(x->b.region, y->b.region) && !memcmp(x->b.id, y->b.id, 8) &&
               x->b.created_ms == y->b.created_ms && x->b.acl == y->b.acl &&
               same_attrs(x->b.tags, x->b.ntags, y->b.tags, y->b.ntags);
    case K_OBJ:
        return same_obj(&x->o, &y->o);
    case K_UPLOAD:
        return x->u.klen == y->u.klen && !memcmp(x->u.key, y->u.key, x->u.klen) &&
               !strcmp(x->u.upload_id, y->u.upload_id) && x->u.initiated_ms == y->u.initiated_ms &&
               same_str(x->u.owner, y->u.owner) && x->u.proto.acl == y->u.proto.acl &&
               x->u.proto.ck_alg == y->u.proto.ck_alg && x->u.proto.ck_type == y->u.proto.ck_type &&
               same_attrs(x->u.proto.attrs, x->u.proto.nattrs, y->u.proto.attrs,
                          y->u.proto.nattrs) &&
               same_attrs(x->u.proto.tags, x->u.proto.ntags, y->u.proto.tags, y->u.proto.ntags);
    case K_PART:
        return x->p.info.number == y->p.info.number && x->p.info.size == y->p.info.size &&
               x->p.info.mtime_ms == y->p.info.mtime_ms &&
               !memcmp(x->p.info.md5, y->p.info.md5, 16) && same_loc(&x->p.loc, &y->p.loc) &&
               x->p.info.ck_len == y->p.info.ck_len &&
               !memcmp(x->p.info.ck, y->p.info.ck, x->p.info.ck_len) && x->p.home == y->p.home;
    default:
        return same_str(x->user.secret, y->user.secret) && same_str(x->user.user, y->user.user) &&
               x->user.roles == y->user.roles;
    }
}

/* Proper prefixes of an encoding to try: all of them for short ones, else
 * an even sample and the last few. */
static void check_prefixes(int kind, arena *a, const kbuf *enc) {
    size_t n = enc->len, step = n <= 256 ? 1 : n / 64;
    for (size_t k = 0; k < n; k += step) {
        rec r;
        /* an exactly-sized copy: a read past the prefix is caught */
        char *cut = malloc(k ? k : 1);
        memcpy(cut, enc->data, k);
        CHECK(decode(kind, a, cut, k, &r) == K_ECORRUPT);
        free(cut);
    }
    for (size_t k = n > 8 ? n - 8 : 0; k < n; k++) {
        rec r;
        char *cut = malloc(k ? k : 1);
        memcpy(cut, enc->data, k);
        CHECK(decode(kind, a, cut, k, &r) == K_ECORRUPT);
        free(cut);
    }
}

static void check_record(int kind, const uint8_t *p, size_t n) {
    arena *a = arena_new(0);
    rec r1;
    kerr e = decode(kind, a, p, n, &r1);
    if (e != K_OK) {
        CHECK(e == K_ECORRUPT);
        arena_free(a);
        return;
    }
    kbuf enc = KBUF_INIT, enc2 = KBUF_INIT;
    encode(kind, &r1, &enc);
    rec r2;
    CHECK(decode(kind, a, enc.data, enc.len, &r2) == K_OK);
    CHECK(same(kind, &r1, &r2));
    encode(kind, &r2, &enc2);
    CHECK(enc.len == enc2.len && !memcmp(enc.data, enc2.data, enc.len));
    check_prefixes(kind, a, &enc);
    kbuf_free(&enc);
    kbuf_free(&enc2);
    arena_free(a);
}

static void check_loc(const uint8_t *p, size_t n) {
    data_loc l;
    size_t used = 12345;
    kerr e = data_loc_decode(p, n, &l, &used);
    if (e != K_OK) {
        CHECK(e == K_ECORRUPT || e == K_ENOTIMPL);
        return;
    }
    CHECK(used >= 6 && used <= n && used <= DATA_LOC_MAX_ENCODED);
    CHECK(l.kind == DLOC_VOLUME || l.kind == DLOC_VOLUME_INDEX || l.kind == DLOC_CHUNKSET ||
          l.kind == DLOC_STRIPE);
    if (l.kind == DLOC_CHUNKSET || l.kind == DLOC_STRIPE) CHECK(l.volume != 0 && l.chunk == 0);
    uint8_t enc[DATA_LOC_MAX_ENCODED];
    size_t en = data_loc_encode(&l, enc);
    CHECK(en == used && !memcmp(enc, p, used));
    for (size_t k = 0; k < en; k++) {
        uint8_t *cut = malloc(k ? k : 1);
        memcpy(cut, enc, k);
        data_loc l2;
        size_t u2;
        CHECK(data_loc_decode(cut, k, &l2, &u2) == K_ECORRUPT);
        free(cut);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int kind = data[0] % K_KINDS;
    /* an exactly-sized copy: a read past the record is caught */
    uint8_t *copy = malloc(size > 1 ? size - 1 : 1);
    if (size > 1) memcpy(copy, data + 1, size - 1);
    if (kind == K_LOC)
        check_loc(copy, size - 1);
    else
        check_record(kind, copy, size - 1);
    free(copy);
    return 0;
}
