/* SPDX-License-Identifier: Apache-2.0 */
/* Metadata record encodings (gateway/objsvc_records.h): every record survives an
 * encode/decode round trip field for field, and every truncation of a valid
 * encoding is rejected as K_ECORRUPT. Truncated copies live in exactly-sized
 * heap buffers so that AddressSanitizer catches any read past the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/bytes.h"
#include "storage/data.h" /* before objsvc_records.h, which holds its keys */
#include "gateway/objsvc_records.h"
#include "router/users.h"

static int setup(void **state) {
    *state = arena_new(0);
    return 0;
}

static int teardown(void **state) {
    arena_free(*state);
    return 0;
}

/* Runs decode on a heap copy of the first len bytes (no slack after it). */
typedef kerr (*decode_fn)(arena *a, const void *p, size_t n, void *ctx);

static kerr decode_exact_copy(arena *a, const char *enc, size_t len, decode_fn decode, void *ctx) {
    /* malloc(0) may return NULL; keep a valid pointer with zero readable bytes
     * by allocating one byte and handing out its end. */
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, enc, len);
    kerr e = decode(a, len ? copy : copy + 1, len, ctx);
    free(copy);
    return e;
}

static void assert_every_prefix_corrupt(arena *a, const kbuf *enc, decode_fn decode, void *ctx) {
    for (size_t len = 0; len < enc->len; len++) {
        kerr e = decode_exact_copy(a, enc->data, len, decode, ctx);
        if (e != K_ECORRUPT)
            fail_msg("prefix of %zu of %zu bytes decoded to %d, want K_ECORRUPT", len, enc->len, e);
    }
    assert_int_equal(decode_exact_copy(a, enc->data, enc->len, decode, ctx), K_OK);
}

static void assert_bad_version_corrupt(arena *a, const kbuf *enc, decode_fn decode, void *ctx) {
    char *copy = malloc(enc->len);
    assert_non_null(copy);
    memcpy(copy, enc->data, enc->len);
    /* every version byte but the record's own (object and part records are
     * at 2 since data locations became typed keys, bucket records since
     * metadata and grants; the others at 1) */
    const uint8_t versions[] = {0, 2, 3, 0xff};
    for (size_t i = 0; i < sizeof versions; i++) {
        if (versions[i] == (uint8_t)enc->data[0]) continue;
        copy[0] = (char)versions[i];
        assert_int_equal(decode(a, copy, enc->len, ctx), K_ECORRUPT);
    }
    free(copy);
}

static data_loc sample_loc(uint32_t seed) {
    return (data_loc){.kind = DLOC_VOLUME,
                      .volume = 0xfedcba9876543210ull + seed,
                      .chunk = 0x01020304u + seed,
                      .offset = 0x1122334455667788ull + seed,
                      .length = (5ull << 30) + seed};
}

static void assert_loc_equal(const data_loc *a, const data_loc *b) {
    assert_int_equal(a->kind, b->kind);
    assert_true(a->volume == b->volume);
    assert_int_equal(a->chunk, b->chunk);
    assert_true(a->offset == b->offset);
    assert_true(a->length == b->length);
}

/* ---- bucket ------------------------------------------------------------- */

static kerr decode_bucket(arena *a, const void *p, size_t n, void *ctx) {
    return rec_bucket_decode(a, p, n, ctx);
}

static bucket_info sample_bucket(void) {
    bucket_info b = {.name = "my-bucket.example",
                     .owner = "alice",
                     .region = "eu-west-3",
                     .id = {1, 2, 3, 4, 0xfd, 0xfe, 0xff, 0},
                     .created_ms = 1700000000123,
                     .acl = ACL_PUBLIC_READ};
    static obj_attr attrs[] = {{"color", "blue"}, {"temp-url-key", "s3cr\x01t"}};
    b.attrs = attrs;
    b.nattrs = 2;
    b.read_grants = ".r:*,.rlistings";
    b.write_grants = "bob:carol,dave";
    return b;
}

static void bucket_round_trip(void **state) {
    arena *a = *state;
    bucket_info in = sample_bucket(), out;
    kbuf enc = KBUF_INIT;
    rec_bucket_encode(&enc, &in);
    memset(&out, 0xa5, sizeof out);
    assert_int_equal(rec_bucket_decode(a, enc.data, enc.len, &out), K_OK);
    assert_string_equal(out.name, in.name);
    assert_string_equal(out.owner, in.owner);
    assert_string_equal(out.region, in.region);
    assert_memory_equal(out.id, in.id, 8);
    assert_true(out.created_ms == in.created_ms);
    assert_int_equal(out.acl, in.acl);
    assert_int_equal(out.nattrs, 2);
    for (uint32_t i = 0; i < 2; i++) {
        assert_string_equal(out.attrs[i].name, in.attrs[i].name);
        assert_string_equal(out.attrs[i].value, in.attrs[i].value);
    }
    assert_string_equal(out.read_grants, in.read_grants);
    assert_string_equal(out.write_grants, in.write_grants);
    kbuf_free(&enc);
}

static kerr decode_account(arena *a, const void *p, size_t n, void *ctx) {
    return rec_account_decode(a, p, n, ctx);
}

static void account_round_trip(void **state) {
    arena *a = *state;
    obj_attr attrs[] = {{"temp-url-key", "k"}, {"color", ""}};
    account_info in = {.name = "acme", .nattrs = 2, .attrs = attrs}, out;
    kbuf enc = KBUF_INIT;
    rec_account_encode(&enc, &in);
    assert_int_equal(rec_account_decode(a, enc.data, enc.len, &out), K_OK);
    assert_string_equal(out.name, "acme");
    assert_int_equal(out.nattrs, 2);
    assert_string_equal(out.attrs[0].name, "temp-url-key");
    assert_string_equal(out.attrs[0].value, "k");
    assert_string_equal(out.attrs[1].value, "");
    assert_every_prefix_corrupt(a, &enc, decode_account, &out);
    assert_bad_version_corrupt(a, &enc, decode_account, &out);
    kbuf_free(&enc);
}

/* A bucket record of version 1 (before metadata and grants) still decodes,
 * with neither. */
static void bucket_v1_decodes(void **state) {
    arena *a = *state;
    kbuf enc = KBUF_INIT;
    const uint8_t v1[] = {1,   3,   0,   0,    0, 'b', 'k', 't', 5, 0, 0, 0, 'a',
                          'l', 'i', 'c', 'e',  0, 0,   0,   0,   1, 2, 3, 4, 5,
                          6,   7,   8,   0x7b, 0, 0,   0,   0,   0, 0, 0, 1};
    kbuf_append(&enc, v1, sizeof v1);
    bucket_info out;
    memset(&out, 0xa5, sizeof out);
    assert_int_equal(decode_exact_copy(a, enc.data, enc.len, decode_bucket, &out), K_OK);
    assert_string_equal(out.name, "bkt");
    assert_string_equal(out.owner, "alice");
    assert_string_equal(out.region, "");
    assert_int_equal(out.id[7], 8);
    assert_true(out.created_ms == 123);
    assert_int_equal(out.acl, ACL_PUBLIC_READ);
    assert_int_equal(out.nattrs, 0);
    assert_string_equal(out.read_grants, "");
    assert_string_equal(out.write_grants, "");
    assert_every_prefix_corrupt(a, &enc, decode_bucket, &out);
    kbuf_free(&enc);
}

static void bucket_null_strings_encode_empty(void **state) {
    arena *a = *state;
    bucket_info in = sample_bucket(), out;
    in.region = NULL;
    in.owner = NULL;
    in.attrs = NULL;
    in.nattrs = 0;
    in.read_grants = NULL;
    in.write_grants = NULL;
    kbuf enc = KBUF_INIT;
    rec_bucket_encode(&enc, &in);
    assert_int_equal(rec_bucket_decode(a, enc.data, enc.len, &out), K_OK);
    assert_string_equal(out.region, "");
    assert_string_equal(out.owner, "");
    assert_int_equal(out.nattrs, 0);
    assert_string_equal(out.read_grants, "");
    assert_string_equal(out.write_grants, "");
    kbuf_free(&enc);
}

static void bucket_truncated(void **state) {
    arena *a = *state;
    bucket_info in = sample_bucket(), out;
    kbuf enc = KBUF_INIT;
    rec_bucket_encode(&enc, &in);
    assert_every_prefix_corrupt(a, &enc, decode_bucket, &out);
    assert_bad_version_corrupt(a, &enc, decode_bucket, &out);
    kbuf_free(&enc);
}

/* ---- object ------------------------------------------------------------- */

static kerr decode_obj(arena *a, const void *p, size_t n, void *ctx) {
    return rec_obj_decode(a, p, n, ctx);
}

static obj_attr sample_attrs[] = {
    {"content-type", "application/octet-stream"},
    {"x-amz-meta-empty", ""},
    {"x-amz-meta-utf8", "\xed\x95\x9c\xea\xb8\x80 text"},
};

static obj_part_loc sample_segs[3];

static obj_meta sample_obj(void) {
    obj_meta m = {0};
    m.size = 3 * (5ull << 20) + 17;
    m.mtime_ms = 1712345678901;
    snprintf(m.etag, sizeof m.etag, "%s", "0123456789abcdef0123456789abcdef-3");
    m.acl = ACL_PUBLIC_READ_WRITE;
    m.nattrs = sizeof sample_attrs / sizeof sample_attrs[0];
    m.attrs = sample_attrs;
    m.ck_alg = CK_SHA256;
    m.ck_type = CKTYPE_COMPOSITE;
    m.ck_len = 32;
    for (int i = 0; i < 32; i++) m.ck[i] = (uint8_t)(0xc0 + i);
    m.nparts = 3;
    m.home = 0x8877665544332211ull;
    m.nsegs = 3;
    for (uint32_t i = 0; i < 3; i++) {
        sample_segs[i].loc = sample_loc(i);
        for (int j = 0; j < 16; j++) sample_segs[i].md5[j] = (uint8_t)(i * 16 + j);
    }
    m.segs = sample_segs;
    return m;
}

static void assert_obj_equal(const obj_meta *out, const obj_meta *in) {
    assert_true(out->size == in->size);
    assert_true(out->mtime_ms == in->mtime_ms);
    assert_string_equal(out->etag, in->etag);
    assert_int_equal(out->acl, in->acl);
    assert_int_equal(out->ck_alg, in->ck_alg);
    assert_int_equal(out->ck_type, in->ck_type);
    assert_int_equal(out->ck_len, in->ck_len);
    assert_memory_equal(out->ck, in->ck, in->ck_len);
    assert_int_equal(out->nparts, in->nparts);
    assert_int_equal(out->home, in->home);
    assert_int_equal(out->nattrs, in->nattrs);
    for (uint32_t i = 0; i < in->nattrs; i++) {
        assert_string_equal(out->attrs[i].name, in->attrs[i].name);
        assert_string_equal(out->attrs[i].value, in->attrs[i].value);
    }
    assert_int_equal(out->nsegs, in->nsegs);
    for (uint32_t i = 0; i < in->nsegs; i++) {
        assert_loc_equal(&out->segs[i].loc, &in->segs[i].loc);
        assert_memory_equal(out->segs[i].md5, in->segs[i].md5, 16);
    }
}

static void obj_round_trip(void **state) {
    arena *a = *state;
    obj_meta in = sample_obj(), out;
    kbuf enc = KBUF_INIT;
    rec_obj_encode(&enc, &in);
    assert_int_equal(rec_obj_decode(a, enc.data, enc.len, &out), K_OK);
    assert_obj_equal(&out, &in);
    kbuf_free(&enc);
}

/* A simple PUT: no attributes, one segment, no checksum. */
static void obj_minimal_round_trip(void **state) {
    arena *a = *state;
    obj_meta in = {0}, out;
    obj_part_loc seg = {.loc = sample_loc(9)};
    in.size = 0;
    snprintf(in.etag, sizeof in.etag, "%s", "d41d8cd98f00b204e9800998ecf8427e");
    in.nsegs = 1;
    in.segs = &seg;
    kbuf enc = KBUF_INIT;
    rec_obj_encode(&enc, &in);
    assert_int_equal(rec_obj_decode(a, enc.data, enc.len, &out), K_OK);
    assert_obj_equal(&out, &in);
    assert_non_null(out.attrs); /* callers may index it even when empty */
    kbuf_free(&enc);
}

static void obj_truncated(void **state) {
    arena *a = *state;
    obj_meta in = sample_obj(), out;
    kbuf enc = KBUF_INIT;
    rec_obj_encode(&enc, &in);
    assert_every_prefix_corrupt(a, &enc, decode_obj, &out);
    assert_bad_version_corrupt(a, &enc, decode_obj, &out);
    kbuf_free(&enc);
}

/* Hostile counts must be rejected before they size an allocation. */
static void obj_huge_counts_rejected(void **state) {
    arena *a = *state;
    obj_meta in = sample_obj(), out;
    in.nattrs = 0;
    in.nsegs = 0;
    kbuf enc = KBUF_INIT;
    rec_obj_encode(&enc, &in);
    /* The record ends with nattrs (u32), nsegs (u32), then home (u64). */
    assert_true(enc.len >= 16);
    uint8_t *tail = (uint8_t *)enc.data + enc.len - 16;
    memset(tail, 0xff, 4); /* nattrs = 4294967295 */
    assert_int_equal(rec_obj_decode(a, enc.data, enc.len, &out), K_ECORRUPT);
    memset(tail, 0, 4);
    memset(tail + 4, 0xff, 4); /* nsegs = 4294967295 */
    assert_int_equal(rec_obj_decode(a, enc.data, enc.len, &out), K_ECORRUPT);
    kbuf_free(&enc);
}

static void obj_oversized_fields_rejected(void **state) {
    arena *a = *state;
    obj_meta in = sample_obj(), out;
    kbuf enc = KBUF_INIT;
    rec_obj_encode(&enc, &in);
    /* version(1) size(8) mtime(8) etag_len(4) etag acl(1) alg(1) type(1) ck_len(1) */
    size_t etag_len = strlen(in.etag);
    size_t ck_len_at = 1 + 8 + 8 + 4 + etag_len + 3;
    assert_int_equal((uint8_t)enc.data[ck_len_at], 32);
    enc.data[ck_len_at] = 33; /* longer than obj_meta.ck */
    assert_int_equal(rec_obj_decode(a, enc.data, enc.len, &out), K_ECORRUPT);
    enc.data[ck_len_at] = 32;
    /* An etag that would not fit obj_meta.etag (48 bytes with its NUL). */
    kbuf big = KBUF_INIT;
    kbuf_append(&big, enc.data, 17);
    uint8_t len48[4] = {48, 0, 0, 0};
    kbuf_append(&big, len48, 4);
    for (int i = 0; i < 48; i++) kbuf_putc(&big, 'e');
    kbuf_append(&big, enc.data + 21 + etag_len, enc.len - 21 - etag_len);
    assert_int_equal(rec_obj_decode(a, big.data, big.len, &out), K_ECORRUPT);
    kbuf_free(&big);
    kbuf_free(&enc);
}

/* ---- large objects (SLO records at version 3, DLOs by attribute) ---------- */

static const char slo_key0[] = "video/part\0with-nul/0001";

static obj_slo_seg sample_slo_segs[4];

static obj_attr slo_attrs[] = {{"content-type", "video/mp4"}, {"x-object-meta-color", "red"}};

/* An SLO of four segments: a whole object (binary key), a range of one in
 * another bucket, a whole nested SLO, a range of another nested SLO. */
static obj_meta sample_slo(void) {
    obj_meta m = {0};
    m.size = 1048576 + 95 + 3000000 + 1;
    m.mtime_ms = 1733333333333;
    snprintf(m.etag, sizeof m.etag, "%s", "fedcba9876543210fedcba9876543210");
    m.acl = ACL_PUBLIC_READ;
    m.nattrs = sizeof slo_attrs / sizeof *slo_attrs;
    m.attrs = slo_attrs;
    m.home = 0x0102030405060708ull;
    m.large = OBJ_LARGE_SLO;
    m.nslo = 4;
    m.slo = sample_slo_segs;
    obj_slo_seg *g = sample_slo_segs;
    g[0] = (obj_slo_seg){.bucket = "segments",
                         .key = (char *)slo_key0,
                         .klen = sizeof slo_key0 - 1,
                         .size = 1048576,
                         .content_type = "application/octet-stream",
                         .mtime_ms = 1733333333000};
    snprintf(g[0].etag, sizeof g[0].etag, "%s", "00112233445566778899aabbccddeeff");
    g[1] = (obj_slo_seg){.bucket = "other segments \xc3\xa9",
                         .key = "k",
                         .klen = 1,
                         .size = 1000,
                         .has_range = true,
                         .first = 5,
                         .last = 99,
                         .content_type = "text/plain",
                         .mtime_ms = -1};
    snprintf(g[1].etag, sizeof g[1].etag, "%s", "0123456789abcdef0123456789abcdef-2");
    g[2] = (obj_slo_seg){.bucket = "segments",
                         .key = "inner.slo",
                         .klen = 9,
                         .size = 3000000,
                         .sub_slo = true,
                         .content_type = "",
                         .mtime_ms = 1};
    snprintf(g[2].etag, sizeof g[2].etag, "%s", "ffeeddccbbaa99887766554433221100");
    g[3] = (obj_slo_seg){.bucket = "b",
                         .key = "inner2",
                         .klen = 6,
                         .size = UINT64_MAX,
                         .has_range = true,
                         .first = UINT64_MAX - 1,
                         .last = UINT64_MAX - 1,
                         .sub_slo = true,
                         .content_type = "x/y",
                         .mtime_ms = INT64_MAX};
    snprintf(g[3].etag, sizeof g[3].etag, "%s", "");
    return m;
}

static void assert_slo_equal(const obj_meta *out, const obj_meta *in) {
    assert_obj_equal(out, in);
    assert_int_equal(out->large, in->large);
    assert_int_equal(out->nslo, in->nslo);
    for (uint32_t i = 0; i < in->nslo; i++) {
        const obj_slo_seg *x = &out->slo[i], *y = &in->slo[i];
        assert_string_equal(x->bucket, y->bucket);
        assert_int_equal(x->klen, y->klen);
        assert_memory_equal(x->key, y->key, y->klen);
        assert_string_equal(x->etag, y->etag);
        assert_true(x->size == y->size);
        assert_int_equal(x->has_range, y->has_range);
        if (y->has_range) {
            assert_true(x->first == y->first);
            assert_true(x->last == y->last);
        }
        assert_int_equal(x->sub_slo, y->sub_slo);
        assert_string_equal(x->content_type, y->content_type);
        assert_true(x->mtime_ms == y->mtime_ms);
    }
    assert_int_equal(out->npieces, 0);
    assert_null(out->pieces);
}

static void slo_round_trip(void **state) {
    arena *a = *state;
    obj_meta in = sample_slo(), out;
    kbuf enc = KBUF_INIT, again = KBUF_INIT;
    rec_obj_encode(&enc, &in);
    assert_int_equal((uint8_t)enc.data[0], 3);
    assert_int_equal(rec_obj_decode(a, enc.data, enc.len, &out), K_OK);
    assert_slo_equal(&out, &in);
    /* and the decoded record encodes to the same bytes */
    rec_obj_encode(&again, &out);
    assert_int_equal(again.len, enc.len);
    assert_memory_equal(again.data, enc.data, enc.len);
    /* the SLO keeps its data locations too, should it have any */
    in.nsegs = 1;
    obj_part_loc seg = {.loc = sample_loc(4), .md5 = {9}};
    in.segs = &seg;
    kbuf_reset(&enc);
    rec_obj_encode(&enc, &in);
    assert_int_equal(rec_obj_decode(a, enc.data, enc.len, &out), K_OK);
    assert_slo_equal(&out, &in);
    /* an SLO of no segments is still an SLO */
    in.nslo = 0;
    kbuf_reset(&enc);
    rec_obj_encode(&enc, &in);
    assert_int_equal((uint8_t)enc.data[0], 3);
    assert_int_equal(rec_obj_decode(a, enc.data, enc.len, &out), K_OK);
    assert_int_equal(out.large, OBJ_LARGE_SLO);
    assert_int_equal(out.nslo, 0);
    kbuf_free(&enc);
    kbuf_free(&again);
}

static void slo_truncated(void **state) {
    arena *a = *state;
    obj_meta in = sample_slo(), out;
    kbuf enc = KBUF_INIT;
    rec_obj_encode(&enc, &in);
    assert_every_prefix_corrupt(a, &enc, decode_obj, &out);
    /* unknown versions (2 would read the record as an ordinary object
     * followed by bytes it does not look at) */
    const uint8_t versions[] = {0, 4, 0x83, 0xff};
    for (size_t i = 0; i < sizeof versions; i++) {
        enc.data[0] = (char)versions[i];
        assert_int_equal(rec_obj_decode(a, enc.data, enc.len, &out), K_ECORRUPT);
    }
    kbuf_free(&enc);
}

/* Damage inside the segment list is refused. */
static void slo_damage_refused(void **state) {
    arena *a = *state;
    obj_meta in = sample_slo(), out;
    in.nslo = 1;
    in.slo[0].has_range = true;
    in.slo[0].first = 10;
    in.slo[0].last = 20;
    kbuf enc = KBUF_INIT;
    rec_obj_encode(&enc, &in);
    assert_int_equal(rec_obj_decode(a, enc.data, enc.len, &out), K_OK);
    /* the record ends: ... flags(1) first(8) last(8) ct_len(4) ct mtime(8) */
    size_t ct = strlen(in.slo[0].content_type);
    size_t first_at = enc.len - 8 - ct - 4 - 8 - 8;
    assert_int_equal((uint8_t)enc.data[first_at - 1], 1); /* flags: a range */
    assert_int_equal((uint8_t)enc.data[first_at], 10);
    enc.data[first_at] = 21; /* first > last */
    assert_int_equal(rec_obj_decode(a, enc.data, enc.len, &out), K_ECORRUPT);
    enc.data[first_at] = 20; /* first == last: one byte */
    assert_int_equal(rec_obj_decode(a, enc.data, enc.len, &out), K_OK);
    assert_true(out.slo[0].first == 20 && out.slo[0].last == 20);
    /* a segment count beyond what the bytes can hold */
    in.nslo = 0;
    kbuf_reset(&enc);
    rec_obj_encode(&enc, &in);
    memset(enc.data + enc.len - 4, 0xff, 4);
    assert_int_equal(rec_obj_decode(a, enc.data, enc.len, &out), K_ECORRUPT);
    /* a segment ETag longer than obj_slo_seg.etag holds */
    in = sample_slo();
    in.nslo = 1;
    kbuf_reset(&enc);
    rec_obj_encode(&enc, &in);
    size_t etag_at = enc.len - (4 + 32 + 8 + 1 + 4 + strlen(in.slo[0].content_type) + 8);
    assert_int_equal((uint8_t)enc.data[etag_at], 32);
    kbuf big = KBUF_INIT;
    kbuf_append(&big, enc.data, etag_at);
    uint8_t len48[4] = {48, 0, 0, 0};
    kbuf_append(&big, len48, 4);
    for (int i = 0; i < 48; i++) kbuf_putc(&big, 'e');
    kbuf_append(&big, enc.data + etag_at + 4 + 32, enc.len - etag_at - 4 - 32);
    assert_int_equal(rec_obj_decode(a, big.data, big.len, &out), K_ECORRUPT);
    kbuf_free(&big);
    kbuf_free(&enc);
}

/* Which kind a record is: an SLO by its version, a DLO by its attribute,
 * anything else none; ordinary records stay at version 2. */
static void large_kinds(void **state) {
    arena *a = *state;
    obj_meta in = sample_obj(), out;
    kbuf enc = KBUF_INIT;
    rec_obj_encode(&enc, &in);
    assert_int_equal((uint8_t)enc.data[0], 2);
    assert_int_equal(rec_obj_decode(a, enc.data, enc.len, &out), K_OK);
    assert_int_equal(out.large, OBJ_LARGE_NONE);
    assert_int_equal(out.nslo, 0);
    obj_attr dlo_attrs[] = {{"content-type", "text/plain"}, {OBJ_ATTR_DLO, "segs/prefix%20x"}};
    in.attrs = dlo_attrs;
    in.nattrs = 2;
    in.nsegs = 0;
    in.large = OBJ_LARGE_DLO;
    kbuf_reset(&enc);
    rec_obj_encode(&enc, &in);
    assert_int_equal((uint8_t)enc.data[0], 2); /* a DLO is an ordinary record */
    assert_int_equal(rec_obj_decode(a, enc.data, enc.len, &out), K_OK);
    assert_int_equal(out.large, OBJ_LARGE_DLO);
    assert_int_equal(out.nslo, 0);
    assert_string_equal(out.attrs[1].value, "segs/prefix%20x");
    assert_every_prefix_corrupt(a, &enc, decode_obj, &out);
    /* the kind comes from the attribute, not from what the encoder was told */
    in.large = OBJ_LARGE_NONE;
    kbuf_reset(&enc);
    rec_obj_encode(&enc, &in);
    assert_int_equal(rec_obj_decode(a, enc.data, enc.len, &out), K_OK);
    assert_int_equal(out.large, OBJ_LARGE_DLO);
    /* a name that only resembles it is no DLO */
    obj_attr near[] = {{"x-object-manifest-x", "segs/p"}};
    in.attrs = near;
    in.nattrs = 1;
    kbuf_reset(&enc);
    rec_obj_encode(&enc, &in);
    assert_int_equal(rec_obj_decode(a, enc.data, enc.len, &out), K_OK);
    assert_int_equal(out.large, OBJ_LARGE_NONE);
    kbuf_free(&enc);
}

/* ---- multipart upload ---------------------------------------------------- */

static kerr decode_upload(arena *a, const void *p, size_t n, void *ctx) {
    return rec_upload_decode(a, p, n, ctx);
}

static upload_info sample_upload(void) {
    static const char key[] = "dir/with\0nul/and-\xff-bytes";
    upload_info u = {0};
    u.key = (char *)key;
    u.klen = sizeof key - 1; /* keys are binary: the NUL is part of it */
    snprintf(u.upload_id, sizeof u.upload_id, "%s", "0123456789abcdef0123456789abcdef");
    u.initiated_ms = 1699999999999;
    u.owner = "bob";
    u.proto.acl = ACL_PUBLIC_READ;
    u.proto.ck_alg = CK_CRC64NVME;
    u.proto.ck_type = CKTYPE_FULL_OBJECT;
    u.proto.nattrs = sizeof sample_attrs / sizeof sample_attrs[0];
    u.proto.attrs = sample_attrs;
    return u;
}

static void upload_round_trip(void **state) {
    arena *a = *state;
    upload_info in = sample_upload(), out;
    kbuf enc = KBUF_INIT;
    rec_upload_encode(&enc, &in);
    assert_int_equal(rec_upload_decode(a, enc.data, enc.len, &out), K_OK);
    assert_int_equal(out.klen, in.klen);
    assert_memory_equal(out.key, in.key, in.klen);
    assert_int_equal(out.key[out.klen], 0); /* decoders NUL-terminate */
    assert_string_equal(out.upload_id, in.upload_id);
    assert_true(out.initiated_ms == in.initiated_ms);
    assert_string_equal(out.owner, in.owner);
    assert_int_equal(out.proto.acl, in.proto.acl);
    assert_int_equal(out.proto.ck_alg, in.proto.ck_alg);
    assert_int_equal(out.proto.ck_type, in.proto.ck_type);
    assert_int_equal(out.proto.nattrs, in.proto.nattrs);
    for (uint32_t i = 0; i < in.proto.nattrs; i++) {
        assert_string_equal(out.proto.attrs[i].name, in.proto.attrs[i].name);
        assert_string_equal(out.proto.attrs[i].value, in.proto.attrs[i].value);
    }
    kbuf_free(&enc);
}

static void upload_truncated(void **state) {
    arena *a = *state;
    upload_info in = sample_upload(), out;
    kbuf enc = KBUF_INIT;
    rec_upload_encode(&enc, &in);
    assert_every_prefix_corrupt(a, &enc, decode_upload, &out);
    assert_bad_version_corrupt(a, &enc, decode_upload, &out);
    kbuf_free(&enc);
}

/* ---- part ---------------------------------------------------------------- */

static kerr decode_part(arena *a, const void *p, size_t n, void *ctx) {
    (void)a;
    return rec_part_decode(p, n, ctx);
}

static part_rec sample_part(void) {
    part_rec r = {0};
    part_info *p = &r.info;
    p->number = 10000;
    p->size = 5ull << 20;
    p->mtime_ms = 1700000000000;
    for (int i = 0; i < 16; i++) p->md5[i] = (uint8_t)(0xf0 | i);
    r.loc = sample_loc(77);
    r.home = 0x1234567890abcdefull;
    p->ck_len = 4;
    memcpy(p->ck, "\xde\xad\xbe\xef", 4);
    return r;
}

static void part_round_trip(void **state) {
    arena *a = *state;
    part_rec in = sample_part(), out;
    kbuf enc = KBUF_INIT;
    rec_part_encode(&enc, &in);
    memset(&out, 0x5a, sizeof out);
    assert_int_equal(rec_part_decode(enc.data, enc.len, &out), K_OK);
    assert_int_equal(out.info.number, in.info.number);
    assert_true(out.info.size == in.info.size);
    assert_true(out.info.mtime_ms == in.info.mtime_ms);
    assert_memory_equal(out.info.md5, in.info.md5, 16);
    assert_loc_equal(&out.loc, &in.loc);
    assert_true(out.home == in.home);
    assert_int_equal(out.info.ck_len, in.info.ck_len);
    assert_memory_equal(out.info.ck, in.info.ck, in.info.ck_len);
    (void)a;
    kbuf_free(&enc);
}

static void part_truncated(void **state) {
    arena *a = *state;
    part_rec in = sample_part(), out;
    kbuf enc = KBUF_INIT;
    rec_part_encode(&enc, &in);
    assert_every_prefix_corrupt(a, &enc, decode_part, &out);
    assert_bad_version_corrupt(a, &enc, decode_part, &out);
    /* ck_len sits just before the checksum bytes, which the home id (u64)
     * follows. */
    enc.data[enc.len - 8 - in.info.ck_len - 1] = 33;
    assert_int_equal(rec_part_decode(enc.data, enc.len, &out), K_ECORRUPT);
    kbuf_free(&enc);
}

/* ---- user ---------------------------------------------------------------- */

typedef struct user_out {
    const char *secret, *user;
} user_out;

static kerr decode_user(arena *a, const void *p, size_t n, void *ctx) {
    user_out *u = ctx;
    return users_record_decode(a, p, n, &u->secret, &u->user);
}

static void user_round_trip(void **state) {
    arena *a = *state;
    kbuf enc = KBUF_INIT;
    users_record_encode(&enc, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "alice");
    user_out out = {0};
    assert_int_equal(decode_user(a, enc.data, enc.len, &out), K_OK);
    assert_string_equal(out.secret, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    assert_string_equal(out.user, "alice");
    kbuf_free(&enc);

    users_record_encode(&enc, "s", NULL);
    assert_int_equal(decode_user(a, enc.data, enc.len, &out), K_OK);
    assert_string_equal(out.secret, "s");
    assert_string_equal(out.user, "");
    kbuf_free(&enc);
}

static void user_truncated(void **state) {
    arena *a = *state;
    kbuf enc = KBUF_INIT;
    users_record_encode(&enc, "secret-key", "user-name");
    user_out out;
    assert_every_prefix_corrupt(a, &enc, decode_user, &out);
    assert_bad_version_corrupt(a, &enc, decode_user, &out);
    kbuf_free(&enc);
}

/* A string length word pointing far past the end must not be trusted. */
static void lengths_past_end_rejected(void **state) {
    arena *a = *state;
    const uint8_t user_rec[] = {1, 0xff, 0xff, 0xff, 0x7f, 'x'};
    user_out out;
    assert_int_equal(
        decode_exact_copy(a, (const char *)user_rec, sizeof user_rec, decode_user, &out),
        K_ECORRUPT);
    bucket_info b;
    const uint8_t bucket_rec[] = {1, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(
        decode_exact_copy(a, (const char *)bucket_rec, sizeof bucket_rec, decode_bucket, &b),
        K_ECORRUPT);
}

/* Records written before typed location keys (version 1, a fixed 24-byte
 * vol_loc naming the volume by position) still decode, into legacy keys. */
static void legacy_v1_obj_and_part(void **state) {
    arena *a = *state;
    vol_loc v = {.volume = 1, .chunk = 7, .offset = 4096, .length = 11};
    uint8_t loc[VOL_LOC_ENCODED_LEN];
    vol_loc_encode(&v, loc);
    /* object v1: version size mtime etag acl alg type cklen nparts nattrs nsegs
     * (loc md5)* home */
    kbuf rec = KBUF_INIT;
    uint8_t u8;
    uint8_t w32[4], w64[8];
#define PUT8(x) (u8 = (uint8_t)(x), kbuf_append(&rec, &u8, 1))
#define PUT32(x) (store_le32(w32, (uint32_t)(x)), kbuf_append(&rec, w32, 4))
#define PUT64(x) (store_le64(w64, (uint64_t)(x)), kbuf_append(&rec, w64, 8))
    PUT8(1);
    PUT64(11);
    PUT64(1700000000000);
    PUT32(32);
    kbuf_append(&rec, "0123456789abcdef0123456789abcdef", 32);
    PUT8(0);
    PUT8(0);
    PUT8(0);
    PUT8(0);
    PUT32(0);
    PUT32(0);
    PUT32(1);
    kbuf_append(&rec, loc, sizeof loc);
    kbuf_append(&rec, "MD5MD5MD5MD5MD5!", 16);
    PUT64(0x42);
    obj_meta m;
    assert_int_equal(rec_obj_decode(a, rec.data, rec.len, &m), K_OK);
    assert_true(m.size == 11);
    assert_string_equal(m.etag, "0123456789abcdef0123456789abcdef");
    assert_int_equal(m.nsegs, 1);
    assert_int_equal(m.segs[0].loc.kind, DLOC_VOLUME_INDEX);
    assert_true(m.segs[0].loc.volume == 1);
    assert_int_equal(m.segs[0].loc.chunk, 7);
    assert_true(m.segs[0].loc.offset == 4096);
    assert_true(m.segs[0].loc.length == 11);
    assert_memory_equal(m.segs[0].md5, "MD5MD5MD5MD5MD5!", 16);
    assert_true(m.home == 0x42);
    /* re-encoded, it is a version 2 record with the same legacy key */
    kbuf again = KBUF_INIT;
    rec_obj_encode(&again, &m);
    assert_int_equal((uint8_t)again.data[0], 2);
    obj_meta m2;
    assert_int_equal(rec_obj_decode(a, again.data, again.len, &m2), K_OK);
    assert_loc_equal(&m2.segs[0].loc, &m.segs[0].loc);
    kbuf_free(&again);
    kbuf_reset(&rec);
    /* part v1: version number size mtime md5 loc cklen ck home */
    PUT8(1);
    PUT32(3);
    PUT64(11);
    PUT64(1700000000000);
    kbuf_append(&rec, "MD5MD5MD5MD5MD5!", 16);
    kbuf_append(&rec, loc, sizeof loc);
    PUT8(0);
    PUT64(0x42);
#undef PUT8
#undef PUT32
#undef PUT64
    part_rec p;
    assert_int_equal(rec_part_decode(rec.data, rec.len, &p), K_OK);
    assert_int_equal(p.info.number, 3);
    assert_int_equal(p.loc.kind, DLOC_VOLUME_INDEX);
    assert_true(p.loc.volume == 1 && p.loc.chunk == 7 && p.loc.offset == 4096);
    kbuf_free(&rec);
}

/* A version 1 location that no version 2 record could hold (a length past
 * NEEDLE_MAX_LENGTH, 2^40) is refused rather than decoded: it used to decode
 * and then make the record unreadable once re-encoded (a rewrite of the
 * object's ACL, say). Found by tests/fuzz/fuzz_records.c. */
static void legacy_v1_location_beyond_v2_refused(void **state) {
    arena *a = *state;
    for (int over = 0; over < 2; over++) {
        vol_loc v = {.volume = 1, .chunk = 7, .offset = 4096, .length = (1ull << 40) + over};
        uint8_t loc[VOL_LOC_ENCODED_LEN];
        vol_loc_encode(&v, loc);
        kbuf rec = KBUF_INIT;
        uint8_t u8;
        uint8_t w32[4], w64[8];
#define PUT8(x) (u8 = (uint8_t)(x), kbuf_append(&rec, &u8, 1))
#define PUT32(x) (store_le32(w32, (uint32_t)(x)), kbuf_append(&rec, w32, 4))
#define PUT64(x) (store_le64(w64, (uint64_t)(x)), kbuf_append(&rec, w64, 8))
        /* part v1: version number size mtime md5 loc cklen ck home */
        PUT8(1);
        PUT32(3);
        PUT64(v.length);
        PUT64(1700000000000);
        kbuf_append(&rec, "MD5MD5MD5MD5MD5!", 16);
        kbuf_append(&rec, loc, sizeof loc);
        PUT8(0);
        PUT64(0x42);
        part_rec p;
        kerr e = rec_part_decode(rec.data, rec.len, &p);
        kbuf_reset(&rec);
        /* object v1 with that location as its one segment */
        PUT8(1);
        PUT64(v.length);
        PUT64(1700000000000);
        PUT32(32);
        kbuf_append(&rec, "0123456789abcdef0123456789abcdef", 32);
        PUT8(0);
        PUT8(0);
        PUT8(0);
        PUT8(0);
        PUT32(0);
        PUT32(0);
        PUT32(1);
        kbuf_append(&rec, loc, sizeof loc);
        kbuf_append(&rec, "MD5MD5MD5MD5MD5!", 16);
        PUT64(0x42);
#undef PUT8
#undef PUT32
#undef PUT64
        obj_meta m;
        kerr eo = rec_obj_decode(a, rec.data, rec.len, &m);
        kbuf_free(&rec);
        if (over) {
            assert_int_equal(e, K_ECORRUPT);
            assert_int_equal(eo, K_ECORRUPT);
            continue;
        }
        /* at the limit: decodes, and still decodes once re-encoded */
        assert_int_equal(e, K_OK);
        assert_int_equal(eo, K_OK);
        kbuf again = KBUF_INIT;
        rec_part_encode(&again, &p);
        part_rec p2;
        assert_int_equal(rec_part_decode(again.data, again.len, &p2), K_OK);
        assert_true(p2.loc.length == v.length);
        kbuf_reset(&again);
        rec_obj_encode(&again, &m);
        obj_meta m2;
        assert_int_equal(rec_obj_decode(a, again.data, again.len, &m2), K_OK);
        assert_true(m2.segs[0].loc.length == v.length);
        kbuf_free(&again);
    }
}

/* Tag sets (S3 tagging): a newer version only when there are tags, so that
 * untagged records stay readable by gateways that predate tags. */
static obj_attr sample_tags[] = {{"team", "storage"}, {"ключ", ""}, {"k +-=._:/@", "v"}};

static void assert_tags_equal(const obj_attr *out, uint32_t nout, const obj_attr *in,
                              uint32_t nin) {
    assert_int_equal(nout, nin);
    for (uint32_t i = 0; i < nin; i++) {
        assert_string_equal(out[i].name, in[i].name);
        assert_string_equal(out[i].value, in[i].value);
    }
}

static void obj_tags_round_trip(void **state) {
    arena *a = *state;
    obj_meta in = sample_obj(), out;
    kbuf enc = KBUF_INIT, again = KBUF_INIT;
    rec_obj_encode(&enc, &in);
    assert_int_equal((uint8_t)enc.data[0], 2); /* untagged: still version 2 */
    in.ntags = 3;
    in.tags = sample_tags;
    kbuf_reset(&enc);
    rec_obj_encode(&enc, &in);
    assert_int_equal((uint8_t)enc.data[0], 4);
    assert_int_equal(rec_obj_decode(a, enc.data, enc.len, &out), K_OK);
    assert_obj_equal(&out, &in);
    assert_tags_equal(out.tags, out.ntags, in.tags, in.ntags);
    assert_int_equal(out.large, OBJ_LARGE_NONE);
    rec_obj_encode(&again, &out);
    assert_int_equal(again.len, enc.len);
    assert_memory_equal(again.data, enc.data, enc.len);
    assert_every_prefix_corrupt(a, &enc, decode_obj, &out);
    /* the SLO flag byte is 0 or 1 */
    kbuf bad = KBUF_INIT;
    kbuf_append(&bad, enc.data, enc.len);
    bad.data[bad.len - 1] = 2;
    assert_int_equal(rec_obj_decode(a, bad.data, bad.len, &out), K_ECORRUPT);
    kbuf_free(&bad);
    /* a tagged SLO keeps both */
    obj_meta slo = sample_slo();
    slo.ntags = 1;
    slo.tags = sample_tags;
    kbuf_reset(&enc);
    rec_obj_encode(&enc, &slo);
    assert_int_equal((uint8_t)enc.data[0], 4);
    assert_int_equal(rec_obj_decode(a, enc.data, enc.len, &out), K_OK);
    assert_slo_equal(&out, &slo);
    assert_tags_equal(out.tags, out.ntags, slo.tags, slo.ntags);
    assert_every_prefix_corrupt(a, &enc, decode_obj, &out);
    /* an untagged record decodes without tags */
    in.ntags = 0;
    kbuf_reset(&enc);
    rec_obj_encode(&enc, &in);
    assert_int_equal(rec_obj_decode(a, enc.data, enc.len, &out), K_OK);
    assert_int_equal(out.ntags, 0);
    kbuf_free(&enc);
    kbuf_free(&again);
}

static void bucket_tags_round_trip(void **state) {
    arena *a = *state;
    bucket_info in = sample_bucket(), out;
    kbuf enc = KBUF_INIT;
    rec_bucket_encode(&enc, &in);
    assert_int_equal((uint8_t)enc.data[0], 2);
    assert_int_equal(rec_bucket_decode(a, enc.data, enc.len, &out), K_OK);
    assert_int_equal(out.ntags, 0);
    in.ntags = 3;
    in.tags = sample_tags;
    kbuf_reset(&enc);
    rec_bucket_encode(&enc, &in);
    assert_int_equal((uint8_t)enc.data[0], 3);
    assert_int_equal(rec_bucket_decode(a, enc.data, enc.len, &out), K_OK);
    assert_string_equal(out.write_grants, in.write_grants);
    assert_tags_equal(out.tags, out.ntags, in.tags, in.ntags);
    assert_every_prefix_corrupt(a, &enc, decode_bucket, &out);
    kbuf_free(&enc);
}

static void upload_tags_round_trip(void **state) {
    arena *a = *state;
    upload_info in = sample_upload(), out;
    kbuf enc = KBUF_INIT;
    rec_upload_encode(&enc, &in);
    assert_int_equal((uint8_t)enc.data[0], 1);
    in.proto.ntags = 2;
    in.proto.tags = sample_tags;
    kbuf_reset(&enc);
    rec_upload_encode(&enc, &in);
    assert_int_equal((uint8_t)enc.data[0], 2);
    assert_int_equal(rec_upload_decode(a, enc.data, enc.len, &out), K_OK);
    assert_int_equal(out.proto.nattrs, in.proto.nattrs);
    assert_tags_equal(out.proto.tags, out.proto.ntags, in.proto.tags, in.proto.ntags);
    assert_every_prefix_corrupt(a, &enc, decode_upload, &out);
    assert_bad_version_corrupt(a, &enc, decode_upload, &out);
    kbuf_free(&enc);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(legacy_v1_obj_and_part, setup, teardown),
        cmocka_unit_test_setup_teardown(legacy_v1_location_beyond_v2_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(bucket_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(bucket_null_strings_encode_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(bucket_v1_decodes, setup, teardown),
        cmocka_unit_test_setup_teardown(account_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(bucket_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(obj_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(obj_minimal_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(obj_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(obj_huge_counts_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(obj_oversized_fields_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(slo_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(slo_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(slo_damage_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(large_kinds, setup, teardown),
        cmocka_unit_test_setup_teardown(upload_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(upload_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(part_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(part_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(user_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(user_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(lengths_past_end_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(obj_tags_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(bucket_tags_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(upload_tags_round_trip, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
