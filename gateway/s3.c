/* SPDX-License-Identifier: Apache-2.0 */
#include "gateway/s3.h"
#include "router/users.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/text.h"
#include "gateway/auth.h"
#include "gateway/awschunked.h"
#include "gateway/errors.h"
#include "gateway/formdata.h"
#include "gateway/metrics.h"
#include "gateway/objhttp.h"
#include "gateway/s3_bodies.h"
#include "gateway/s3_post.h"
#include "gateway/s3_rules.h"

#define S3_XMLNS "http://s3.amazonaws.com/doc/2006-03-01/"
#define XML_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

enum { XML_BODY_LIMIT = 4 << 20, S3_MAX_QUERY_PARAMS = 1000 };

struct s3_frontend {
    s3_opts o;
    auth_opts auth;
};

typedef struct s3_op s3_op;
typedef struct s3post s3post;
struct s3_op {
    gw_req *r;
    s3_frontend *fe;
    objsvc *svc;
    arena *a;
    auth_result auth;
    const char *user;   /* NULL when anonymous */
    unsigned roles;     /* the user's (router/users.h), from the secret lookup */
    principal who;      /* what the object service decides access by */
    const char *bucket; /* NULL for service-level requests */
    const char *key;    /* NULL for bucket-level requests */
    size_t klen;
    const char *vhost_bucket;
    bucket_info binfo;
    /* body pipeline */
    awschunked *chunked;
    khash *payload_sha;
    kbuf xml;
    bool want_xml;
    obj_put *put;
    cksum_alg ck_alg;
    const char *ck_expect_b64; /* from the header; trailer comes later */
    bool ck_from_trailer;
    uint8_t content_md5[16];
    bool has_content_md5;
    kerr body_error;
    void (*complete)(s3_op *op);
    /* multipart part upload */
    upload_info upload;
    uint32_t part_number;
    /* CompleteMultipartUpload: its conditional-write condition, the size
     * the client declared (x-amz-mp-object-size; OBJ_SIZE_UNKNOWN: none)
     * and the whole object's checksum it declared (x-amz-checksum-<alg>;
     * for a composite checksum also the part count after the "-") */
    mpu_complete_expect mpu_expect;
    uint8_t mpu_ck[32];
    long mpu_ck_parts; /* -1: not given */
    s3post *post;      /* a POST Object (browser form upload) in progress */
};

/* POST Object state (op_post_object). While capturing, an error answer is
 * recorded (the first one wins) instead of sent, and answered once the
 * whole body is in; while form_headers, header() and has_header_prefix()
 * read the form's fields, so that the PutObject checks apply to them. */
struct s3post {
    formdata *fd;
    obj_attr *fields; /* the fields before the file, names lower-case */
    uint32_t nfields, cap;
    size_t field_bytes;
    kbuf value; /* the field being read */
    char *name;
    bool in_file, file_seen, file_done, capturing, form_headers;
    uint64_t written;
    s3p_range range;
    /* the recorded error (code NULL: none) */
    int status;
    const char *code, *message, *extra_name, *extra_value;
};

/* ------------------------------------------------------------- errors */

static const char *resource_of(s3_op *op) {
    return op->r->http.path;
}

/* Frees what the body pipeline holds: the payload hash and an unfinished
 * upload (aborted: its data released). Idempotent. */
static void release_upload(s3_op *op) {
    if (op->put) objsvc_put_abort(op->put);
    op->put = NULL;
    if (op->payload_sha) khash_free(op->payload_sha);
    op->payload_sha = NULL;
}

/* An S3 error document; extra_name/extra_value add one element after the
 * message (e.g. HeadersNotSigned, Region) when extra_name is not NULL. */
static void s3_error_extra(s3_op *op, int status, const char *code, const char *message,
                           const char *extra_name, const char *extra_value) {
    gw_req *r = op->r;
    /* An error answered before the body is in (a PUT refused at its start,
     * e.g. 507 on a full disk) ends the request: the rest of the body is
     * dropped and neither on_done nor on_abort runs, so nothing may stay
     * held (the payload hash leaked here). */
    release_upload(op);
    if (op->post && op->post->capturing) {
        s3post *p = op->post;
        if (p->code) return;
        p->status = status;
        p->code = code;
        p->message = arena_strdup(op->a, message);
        p->extra_name = extra_name;
        p->extra_value = extra_value ? arena_strdup(op->a, extra_value) : NULL;
        return;
    }
    r->log_error = code;
    kbuf *b = &r->resp.body;
    kbuf_reset(b);
    r->resp.stream = NULL;
    bool head = !strcmp(r->http.method, "HEAD");
    if (!head && status != 304) {
        kbuf_puts(b, XML_DECL "<Error><Code>");
        kbuf_puts(b, code);
        kbuf_puts(b, "</Code><Message>");
        kbuf_xml_escape(b, message, strlen(message));
        kbuf_puts(b, "</Message>");
        if (extra_name && extra_value) {
            kbuf_printf(b, "<%s>", extra_name);
            kbuf_xml_escape(b, extra_value, strlen(extra_value));
            kbuf_printf(b, "</%s>", extra_name);
        }
        if (op->bucket) {
            kbuf_puts(b, "<BucketName>");
            kbuf_xml_escape(b, op->bucket, strlen(op->bucket));
            kbuf_puts(b, "</BucketName>");
        }
        if (op->key) {
            kbuf_puts(b, "<Key>");
            kbuf_xml_escape(b, op->key, op->klen);
            kbuf_puts(b, "</Key>");
        }
        kbuf_puts(b, "<Resource>");
        const char *res = resource_of(op);
        kbuf_xml_escape(b, res, strlen(res));
        kbuf_puts(b, "</Resource><RequestId>");
        kbuf_puts(b, r->request_id);
        kbuf_puts(b, "</RequestId></Error>");
        gw_add_header(r, "Content-Type", "application/xml");
    } else {
        r->resp.no_body = true;
    }
    gw_respond(r, status);
}

/* Answers e from the error table (gateway/errors.c) with a message of its
 * own (NULL: the table's), as AWS words some errors per case. */
static void s3_error_msg(s3_op *op, kerr e, const char *message) {
    const kerr_info *info = kerr_lookup(e);
    if (e == K_ENOTMODIFIED) {
        op->r->resp.no_body = true;
        gw_respond(op->r, 304);
        return;
    }
    s3_error_extra(op, info->s3_status, info->s3_code, message ? message : info->message, NULL,
                   NULL);
}

static void s3_error(s3_op *op, kerr e) {
    s3_error_msg(op, e, NULL);
}

/* ------------------------------------------------------------ helpers */

static void xml_start(s3_op *op, const char *root) {
    kbuf *b = &op->r->resp.body;
    kbuf_reset(b);
    kbuf_puts(b, XML_DECL "<");
    kbuf_puts(b, root);
    kbuf_puts(b, " xmlns=\"" S3_XMLNS "\">");
}

static void xml_end(s3_op *op, const char *root) {
    kbuf *b = &op->r->resp.body;
    kbuf_puts(b, "</");
    kbuf_puts(b, root);
    kbuf_puts(b, ">");
    gw_add_header(op->r, "Content-Type", "application/xml");
    gw_respond(op->r, 200);
}

static void xml_elem(kbuf *b, const char *name, const char *text, size_t n) {
    kbuf_printf(b, "<%s>", name);
    kbuf_xml_escape(b, text, n);
    kbuf_printf(b, "</%s>", name);
}

static void xml_elem_s(kbuf *b, const char *name, const char *text) {
    xml_elem(b, name, text ? text : "", text ? strlen(text) : 0);
}

/* Element whose text is url-encoded when the client asked for
 * encoding-type=url. */
static void xml_elem_enc(kbuf *b, const char *name, const char *text, size_t n, bool url) {
    if (!url) {
        xml_elem(b, name, text, n);
        return;
    }
    kbuf enc = KBUF_INIT;
    url_encode(&enc, text, n, true);
    xml_elem(b, name, enc.data ? enc.data : "", enc.len);
    kbuf_free(&enc);
}

static void iso_ms(int64_t ms, char out[25]) {
    fmt_iso8601_ms((time_t)(ms / 1000), out);
}

static void etag_quoted(s3_op *op, const char *etag, char *out, size_t cap) {
    snprintf(out, cap, "\"%s\"", etag);
}

static void owner_xml(kbuf *b, const char *owner) {
    kbuf_puts(b, "<Owner>");
    xml_elem_s(b, "ID", owner);
    xml_elem_s(b, "DisplayName", owner);
    kbuf_puts(b, "</Owner>");
}

static bool parse_max(const char *s, uint64_t dflt, uint64_t cap, uint64_t *out) {
    if (!s) {
        *out = dflt;
        return true;
    }
    uint64_t v;
    if (!parse_u64(s, strlen(s), &v)) return false;
    *out = v > cap ? cap : v;
    return true;
}

static const char *param(s3_op *op, const char *name) {
    return http_param_get(&op->r->http, name);
}

static const char *post_field(const s3post *p, const char *name) {
    for (uint32_t i = 0; i < p->nfields; i++)
        if (!strcasecmp(p->fields[i].name, name)) return p->fields[i].value;
    return NULL;
}

static const char *header(s3_op *op, const char *name) {
    if (op->post && op->post->form_headers) /* a form names the canned ACL "acl" */
        return post_field(op->post, strcmp(name, "x-amz-acl") ? name : "acl");
    return http_header_get(&op->r->http, name);
}

/* 501 NotImplemented, saying what kura cannot do. */
static void s3_notimpl(s3_op *op, const char *what) {
    s3_error_msg(op, K_ENOTIMPL, what);
}

/* x-amz-expected-bucket-owner: the caller states whose bucket it means to
 * act on; another owner's bucket is 403, as AWS answers. kura's canonical
 * owner ids are the user names (ListBuckets' Owner/ID). */
static bool owner_expected(s3_op *op, const char *hname, const char *owner) {
    const char *want = header(op, hname);
    if (!want || !strcmp(want, owner)) return true;
    s3_error(op, K_EACCESSDENIED);
    return false;
}

/* Loads op->binfo for an access of kind acc (the object service decides
 * who may) and checks x-amz-expected-bucket-owner. Answers the request
 * itself on failure. */
static bool open_bucket(s3_op *op, bucket_access acc) {
    kerr e = objsvc_bucket_open(op->svc, op->a, &op->who, op->bucket, acc, &op->binfo);
    if (e) {
        s3_error(op, e);
        return false;
    }
    return owner_expected(op, "x-amz-expected-bucket-owner", op->binfo.owner);
}

/* Listing a bucket's objects (and HEAD of the bucket), or anything else. */
static bool load_bucket(s3_op *op, bool listing) {
    return open_bucket(op, listing ? BUCKET_READ : BUCKET_OWNER);
}

/* The canned ACL of x-amz-acl (private without it); answers and returns
 * false for one kura cannot enforce (501) or that is not one (400). */
static bool canned_acl(s3_op *op, uint8_t *acl) {
    switch (s3_canned_acl(header(op, "x-amz-acl"), acl)) {
    case S3_CANNED_OK:
        return true;
    case S3_CANNED_NOTIMPL:
        s3_notimpl(op, "This canned ACL is not implemented: kura enforces private, public-read "
                       "and public-read-write (bucket-owner-read and bucket-owner-full-control "
                       "equal private).");
        return false;
    default:
        s3_error_msg(op, K_EINVAL, "The x-amz-acl value is not a canned ACL.");
        return false;
    }
}

/* Which operation refuse_headers checks the headers of. */
enum {
    HR_CREATE_BUCKET = 1 << 0,
    HR_PUT = 1 << 1,        /* PutObject */
    HR_COPY = 1 << 2,       /* CopyObject */
    HR_CREATE_MPU = 1 << 3, /* CreateMultipartUpload */
    HR_PART = 1 << 4,       /* UploadPart */
    HR_PART_COPY = 1 << 5,  /* UploadPartCopy */
    HR_COMPLETE = 1 << 6,   /* CompleteMultipartUpload */
    HR_READ = 1 << 7,       /* GetObject, HeadObject */
    HR_ACL = 1 << 8,        /* PutBucketAcl, PutObjectAcl */
    HR_NEW_OBJECT = HR_PUT | HR_COPY | HR_CREATE_MPU,
};

static bool has_header_prefix(s3_op *op, const char *prefix) {
    size_t n = strlen(prefix);
    if (op->post && op->post->form_headers) {
        for (uint32_t i = 0; i < op->post->nfields; i++)
            if (!strncmp(op->post->fields[i].name, prefix, n)) return true;
        return false;
    }
    for (size_t i = 0; i < op->r->http.nheaders; i++)
        if (!strncmp(op->r->http.headers[i].name, prefix, n)) return true;
    return false;
}

/* Request headers asking for something kura does not do: answers with the
 * AWS error (501 NotImplemented when none fits) and returns true, before
 * anything is stored. kind: the HR_* of the operation. */
static bool refuse_headers(s3_op *op, unsigned kind) {
    /* Server-side encryption: kura stores data unencrypted, so neither
     * SSE-S3/KMS nor customer keys (SSE-C, which GET/HEAD must repeat) can
     * be honoured. */
    const char *sse = header(op, "x-amz-server-side-encryption");
    if (sse && (!(kind & HR_NEW_OBJECT) || !s3_sse_known(sse))) {
        s3_error_msg(op, K_EINVAL,
                     kind & HR_NEW_OBJECT
                         ? "The encryption method specified is not supported"
                         : "The x-amz-server-side-encryption header is not supported for "
                           "this operation.");
        return true;
    }
    if (has_header_prefix(op, "x-amz-server-side-encryption") ||
        has_header_prefix(op, "x-amz-copy-source-server-side-encryption")) {
        s3_notimpl(op, "Server-side encryption (SSE-S3, SSE-KMS, SSE-C) is not implemented.");
        return true;
    }
    if (kind & HR_NEW_OBJECT) {
        /* No bucket can have Object Lock (CreateBucket refuses it). */
        if (header(op, "x-amz-object-lock-mode") ||
            header(op, "x-amz-object-lock-retain-until-date") ||
            header(op, "x-amz-object-lock-legal-hold")) {
            s3_error_msg(op, K_EINVALIDREQUEST, "Bucket is missing Object Lock Configuration");
            return true;
        }
        const char *sc = header(op, "x-amz-storage-class");
        s3_storage st = sc ? s3_storage_class(sc) : S3_STORAGE_STANDARD;
        if (st == S3_STORAGE_INVALID) {
            s3_error(op, K_EINVALIDSTORAGECLASS);
            return true;
        }
        if (st == S3_STORAGE_UNSUPPORTED) {
            s3_notimpl(op, "kura stores every object as STANDARD; other storage classes are "
                           "not implemented.");
            return true;
        }
        const char *redirect = header(op, "x-amz-website-redirect-location");
        if (redirect && !s3_redirect_location_valid(redirect)) {
            s3_error_msg(op, K_EINVAL,
                         "The website redirect location must have a prefix of 'http://' or "
                         "'https://' or '/'.");
            return true;
        }
        const char *directive = header(op, "x-amz-tagging-directive");
        if (kind & HR_COPY && directive && strcmp(directive, "COPY") &&
            strcmp(directive, "REPLACE")) {
            s3_error_msg(op, K_EINVAL, "Unknown tagging directive.");
            return true;
        }
    }
    if (kind & HR_PUT && header(op, "x-amz-write-offset-bytes")) {
        s3_notimpl(op, "Appending to an object (x-amz-write-offset-bytes) is not implemented.");
        return true;
    }
    if (kind & (HR_NEW_OBJECT | HR_CREATE_BUCKET | HR_ACL) &&
        has_header_prefix(op, "x-amz-grant-")) {
        if (header(op, "x-amz-acl"))
            s3_error_msg(op, K_EINVALIDREQUEST,
                         "Specifying both Canned ACLs and Header Grants is not allowed");
        else
            s3_notimpl(op, "ACL grants (x-amz-grant-*) are not implemented; use a canned ACL "
                           "(private, public-read, public-read-write).");
        return true;
    }
    if (kind & HR_CREATE_BUCKET) {
        const char *lock = header(op, "x-amz-bucket-object-lock-enabled");
        if (lock && strcasecmp(lock, "false")) {
            if (strcasecmp(lock, "true"))
                s3_error_msg(op, K_EINVAL,
                             "x-amz-bucket-object-lock-enabled must be true or false");
            else
                s3_notimpl(op, "Object Lock is not implemented.");
            return true;
        }
        const char *own = header(op, "x-amz-object-ownership");
        if (own) {
            if (strcmp(own, "BucketOwnerEnforced") && strcmp(own, "BucketOwnerPreferred") &&
                strcmp(own, "ObjectWriter"))
                s3_error_msg(op, K_EINVAL, "Invalid x-amz-object-ownership.");
            else
                s3_notimpl(op, "Object Ownership controls are not implemented (kura applies "
                               "ACLs; objects belong to the bucket owner).");
            return true;
        }
    }
    return false;
}

/* Representation headers stored with an object and returned on GET. */
static const char *const stored_headers[] = {"content-type",
                                             "content-encoding",
                                             "content-disposition",
                                             "cache-control",
                                             "expires",
                                             "content-language",
                                             "x-amz-website-redirect-location"};

/* Content-Encoding without the aws-chunked token, which only describes the
 * transfer. NULL if nothing is left. */
static const char *strip_aws_chunked(arena *a, const char *v) {
    kbuf out = KBUF_INIT;
    const char *p = v;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        size_t tn = n;
        const char *t = str_trim(p, &tn);
        if (tn && !str_ieq(t, tn, "aws-chunked", 11)) {
            if (out.len) kbuf_putc(&out, ',');
            kbuf_append(&out, t, tn);
        }
        p += n;
        if (*p == ',') p++;
    }
    const char *res = out.len ? arena_strndup(a, out.data, out.len) : NULL;
    kbuf_free(&out);
    return res;
}

static kerr collect_attrs(s3_op *op, obj_attr **out, uint32_t *n) {
    http_req *h = &op->r->http;
    obj_attr *attrs = arena_alloc(op->a, (h->nheaders + 1) * sizeof *attrs);
    uint32_t count = 0;
    size_t meta_bytes = 0;
    for (size_t i = 0; i < h->nheaders; i++) {
        const char *name = h->headers[i].name;
        const char *value = h->headers[i].value;
        bool keep = !strncmp(name, "x-amz-meta-", 11);
        if (keep) meta_bytes += strlen(name) - 11 + strlen(value);
        for (size_t j = 0; !keep && j < sizeof stored_headers / sizeof *stored_headers; j++)
            keep = !strcmp(name, stored_headers[j]);
        if (!keep) continue;
        if (!strcmp(name, "content-encoding")) {
            value = strip_aws_chunked(op->a, value);
            if (!value) continue;
        }
        bool dup = false;
        for (uint32_t j = 0; j < count; j++) {
            if (!strcmp(attrs[j].name, name)) {
                attrs[j].value = arena_printf(op->a, "%s,%s", attrs[j].value, value);
                dup = true;
            }
        }
        if (dup) continue;
        attrs[count].name = (char *)name;
        attrs[count].value = (char *)value;
        count++;
    }
    if (meta_bytes > 2048) return K_ETOOLARGE;
    *out = attrs;
    *n = count;
    return K_OK;
}

const char *s3_checksum_header(cksum_alg alg) {
    static const char *const names[CK__COUNT] = {
        [CK_NONE] = "",
        [CK_CRC32] = "x-amz-checksum-crc32",
        [CK_CRC32C] = "x-amz-checksum-crc32c",
        [CK_CRC64NVME] = "x-amz-checksum-crc64nvme",
        [CK_SHA1] = "x-amz-checksum-sha1",
        [CK_SHA256] = "x-amz-checksum-sha256",
    };
    return (unsigned)alg < CK__COUNT ? names[alg] : "";
}

static void add_checksum_headers(s3_op *op, const obj_meta *m) {
    if (m->ck_alg == CK_NONE || !m->ck_len) return;
    char b64[64];
    base64_encode(m->ck, m->ck_len, b64);
    const char *value = b64;
    if (m->ck_type == CKTYPE_COMPOSITE) value = arena_printf(op->a, "%s-%u", b64, m->nparts);
    gw_add_header(op->r, s3_checksum_header((cksum_alg)m->ck_alg), value);
    gw_add_header(op->r, "x-amz-checksum-type",
                  m->ck_type == CKTYPE_COMPOSITE ? "COMPOSITE" : "FULL_OBJECT");
}

/* ---------------------------------------------------------------- tags */

/* Answers a tag set objsvc_tags_check refuses (max: OBJ_MAX_TAGS or
 * BUCKET_MAX_TAGS) and returns false; true when it holds. */
static bool tags_ok(s3_op *op, const obj_attr *tags, uint32_t n, uint32_t max) {
    const char *why, *bad_key;
    kerr e = objsvc_tags_check(tags, n, max, &why, &bad_key);
    if (e == K_ETOOMANYTAGS) {
        s3_error_msg(op, e,
                     max == BUCKET_MAX_TAGS ? "Bucket tag count cannot be greater than 50"
                                            : "Object tags cannot be greater than 10");
        return false;
    }
    if (e) {
        const kerr_info *info = kerr_lookup(e);
        s3_error_extra(op, info->s3_status, info->s3_code, why ? why : info->message,
                       bad_key ? "TagKey" : NULL, bad_key);
        return false;
    }
    return true;
}

/* The tag set of the x-amz-tagging header (none without it): answers and
 * returns false when it is not a valid one. */
static bool header_tags(s3_op *op, obj_attr **tags, uint32_t *n) {
    *tags = NULL;
    *n = 0;
    const char *q = http_header_get(&op->r->http, "x-amz-tagging");
    if (!q) return true;
    if (!s3_tagging_query(op->a, q, tags, n)) {
        s3_error_extra(op, 400, "InvalidArgument",
                       "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL "
                       "query parameters without tag name duplicates.",
                       "ArgumentName", "x-amz-tagging");
        return false;
    }
    return tags_ok(op, *tags, *n, OBJ_MAX_TAGS);
}

/* A Tagging document (GetObjectTagging, GetBucketTagging). */
static void tagging_xml(s3_op *op, const obj_attr *tags, uint32_t n) {
    xml_start(op, "Tagging");
    kbuf *b = &op->r->resp.body;
    kbuf_puts(b, "<TagSet>");
    for (uint32_t i = 0; i < n; i++) {
        kbuf_puts(b, "<Tag>");
        xml_elem_s(b, "Key", tags[i].name);
        xml_elem_s(b, "Value", tags[i].value);
        kbuf_puts(b, "</Tag>");
    }
    kbuf_puts(b, "</TagSet>");
    xml_end(op, "Tagging");
}

/* The tag set of a Tagging request body (op->xml), checked with max:
 * answers and returns false when it is malformed or refused. */
static bool body_tags(s3_op *op, uint32_t max, obj_attr **tags, uint32_t *n) {
    if (!s3_body_tagging(op->a, op->xml.data, op->xml.len, tags, n)) {
        s3_error(op, K_EMALFORMEDXML);
        return false;
    }
    return tags_ok(op, *tags, *n, max);
}

/* ---------------------------------------------------------- body pipeline */

static kerr body_sink(void *ctx, const void *p, size_t n) {
    s3_op *op = ctx;
    if (op->put) return objsvc_put_write(op->put, p, n);
    if (op->want_xml) {
        if (op->xml.len + n > XML_BODY_LIMIT) return K_ETOOLARGE;
        kbuf_append(&op->xml, p, n);
    }
    return K_OK;
}

static kerr on_body(gw_req *r, const char *data, size_t n) {
    s3_op *op = r->fe;
    if (op->body_error) return K_OK; /* keep draining; the error is reported at the end */
    /* The signed payload hash is of the body as sent, before any aws-chunked
     * decoding: Content-Encoding is seldom signed, so hashing the decoded
     * bytes would let a replay re-frame another body as aws-chunked. */
    if (op->payload_sha) khash_update(op->payload_sha, data, n);
    kerr e =
        op->chunked ? awschunked_feed(op->chunked, data, n, body_sink, op) : body_sink(op, data, n);
    if (e) op->body_error = e;
    return K_OK;
}

static void release_body(s3_op *op) {
    release_upload(op);
    kbuf_free(&op->xml);
}

static void on_abort(gw_req *r) {
    release_body(r->fe);
}

/* Verifies framing, trailers and payload hash once the body is in; true if
 * the body can be trusted. Answers with an error otherwise. */
static bool body_verified(s3_op *op) {
    kerr e = op->body_error;
    if (!e && op->chunked) e = awschunked_finish(op->chunked);
    if (!e && op->payload_sha) {
        uint8_t d[32];
        char hex[65];
        khash_final(op->payload_sha, d);
        hex_encode(d, 32, hex);
        e = auth_check_body_sha256(&op->auth, hex);
    }
    if (!e && op->chunked && op->ck_from_trailer) {
        size_t nt;
        const http_header *t = awschunked_trailers(op->chunked, &nt);
        const char *want = s3_checksum_header(op->ck_alg);
        for (size_t i = 0; i < nt; i++)
            if (!strcmp(t[i].name, want)) op->ck_expect_b64 = t[i].value;
        if (!op->ck_expect_b64) e = K_EINVALIDREQUEST;
    }
    if (!e && !op->chunked && !gw_body_complete(op->r)) e = K_EINCOMPLETEBODY;
    if (e) {
        release_body(op);
        s3_error(op, e == K_ETOOLARGE ? K_EMALFORMEDXML : e);
        return false;
    }
    return true;
}

static void on_done(gw_req *r) {
    s3_op *op = r->fe;
    if (!body_verified(op)) return;
    op->complete(op);
    release_body(op);
}

/* Sets up decoding of the body. decoded_len gets the payload size (after
 * aws-chunked decoding) when known. */
static kerr setup_body(s3_op *op, uint64_t *decoded_len, bool *len_known) {
    gw_req *r = op->r;
    const char *ce = header(op, "content-encoding");
    bool chunked = op->auth.payload == PAYLOAD_STREAMING_SIGNED ||
                   op->auth.payload == PAYLOAD_STREAMING_SIGNED_TRAILER ||
                   op->auth.payload == PAYLOAD_STREAMING_UNSIGNED_TRAILER ||
                   (ce && strstr(ce, "aws-chunked"));
    *len_known = false;
    if (chunked) {
        const char *dl = header(op, "x-amz-decoded-content-length");
        if (dl) {
            if (!parse_u64(dl, strlen(dl), decoded_len)) return K_EINVAL;
            *len_known = true;
        }
        op->chunked = awschunked_new(op->a, &op->auth);
    } else if (gw_body_frame(r, decoded_len) == GW_BODY_SIZED) {
        *len_known = true;
    }
    if (op->auth.payload == PAYLOAD_SIGNED) op->payload_sha = khash_new(KH_SHA256);
    r->fe = op;
    r->on_body = on_body;
    r->on_done = on_done;
    r->on_abort = on_abort;
    return K_OK;
}

/* Expects a small XML (or empty) body; complete runs when it is in. */
static void expect_xml_body(s3_op *op, void (*complete)(s3_op *)) {
    uint64_t len;
    bool known;
    kerr e = setup_body(op, &len, &known);
    if (e) {
        s3_error(op, e);
        return;
    }
    if (known && len > XML_BODY_LIMIT) {
        s3_error(op, K_EMALFORMEDXML);
        return;
    }
    op->want_xml = true;
    op->complete = complete;
}

/* Checksum headers of a PUT: which algorithm to compute and what value to
 * expect (from a header now, or from the aws-chunked trailer later). */
static kerr setup_checksum(s3_op *op, cksum_alg dflt) {
    const char *alg_name = header(op, "x-amz-checksum-algorithm");
    if (!alg_name) alg_name = header(op, "x-amz-sdk-checksum-algorithm");
    cksum_alg alg = dflt;
    if (alg_name) {
        alg = cksum_alg_from_name(alg_name, strlen(alg_name));
        if (alg == CK_NONE) return K_EINVALIDREQUEST;
    }
    for (int a = CK_CRC32; a < CK__COUNT; a++) {
        const char *v = header(op, s3_checksum_header((cksum_alg)a));
        if (v) {
            if (alg != CK_NONE && alg != (cksum_alg)a) return K_EINVALIDREQUEST;
            alg = (cksum_alg)a;
            op->ck_expect_b64 = v;
        }
    }
    const char *trailer = header(op, "x-amz-trailer");
    if (trailer) {
        for (int a = CK_CRC32; a < CK__COUNT; a++) {
            if (!strcasecmp(trailer, s3_checksum_header((cksum_alg)a))) {
                if (alg != CK_NONE && alg != (cksum_alg)a) return K_EINVALIDREQUEST;
                alg = (cksum_alg)a;
                op->ck_from_trailer = true;
            }
        }
    }
    op->ck_alg = alg;
    const char *md5 = header(op, "content-md5");
    if (md5) {
        if (base64_decode(md5, strlen(md5), op->content_md5, 16) != 16) return K_EINVALIDDIGEST;
        op->has_content_md5 = true;
    }
    return K_OK;
}

/* Decoded expected checksum, or an error if malformed. */
static kerr expected_checksum(s3_op *op, uint8_t out[32], size_t *len) {
    *len = 0;
    if (!op->ck_expect_b64) return K_OK;
    int n = base64_decode(op->ck_expect_b64, strlen(op->ck_expect_b64), out, 32);
    if (n < 0 || (size_t)n != cksum_len(op->ck_alg)) return K_EINVALIDDIGEST;
    *len = (size_t)n;
    return K_OK;
}

static void add_computed_checksum(s3_op *op, cksum_alg alg, const uint8_t *ck, size_t len) {
    if (alg == CK_NONE || !len) return;
    char b64[64];
    base64_encode(ck, len, b64);
    gw_add_header(op->r, s3_checksum_header(alg), b64);
}

/* -------------------------------------------------------------- service */

static void op_list_buckets(s3_op *op) {
    bucket_info *bs;
    size_t n;
    kerr e = objsvc_bucket_list(op->svc, op->a, &op->who, &bs, &n);
    if (e) return s3_error(op, e);
    uint64_t max = 10000;
    const char *mb = param(op, "max-buckets");
    if (mb && (!parse_u64(mb, strlen(mb), &max) || max < 1 || max > 10000))
        return s3_error_msg(op, K_EINVAL,
                            "Argument max-buckets must be an integer between 1 and 10000.");
    const char *token = param(op, "continuation-token");
    const char *after = NULL;
    if (token) {
        size_t tl = strlen(token);
        char *dec = arena_alloc(op->a, tl + 1);
        int dl = base64_decode(token, tl, (uint8_t *)dec, tl + 1);
        if (dl <= 0)
            return s3_error_msg(op, K_EINVAL, "The continuation token provided is incorrect");
        dec[dl] = 0;
        after = dec;
    }
    const char *prefix = param(op, "prefix");
    const char *region = param(op, "bucket-region");
    xml_start(op, "ListAllMyBucketsResult");
    kbuf *b = &op->r->resp.body;
    owner_xml(b, op->user);
    kbuf_puts(b, "<Buckets>");
    uint64_t listed = 0;
    const char *last = NULL;
    bool more = false;
    for (size_t i = 0; i < n; i++) { /* in name order */
        const char *name = bs[i].name;
        const char *breg = *bs[i].region ? bs[i].region : op->fe->o.region;
        if (after && strcmp(name, after) <= 0) continue;
        if (prefix && strncmp(name, prefix, strlen(prefix))) continue;
        if (region && strcmp(breg, region)) continue;
        if (listed == max) {
            more = true;
            break;
        }
        char when[25];
        iso_ms(bs[i].created_ms, when);
        kbuf_puts(b, "<Bucket>");
        xml_elem_s(b, "Name", name);
        xml_elem_s(b, "CreationDate", when);
        xml_elem_s(b, "BucketRegion", breg);
        kbuf_puts(b, "</Bucket>");
        listed++;
        last = name;
    }
    kbuf_puts(b, "</Buckets>");
    if (more && last) {
        char *tok = arena_alloc(op->a, 4 * (strlen(last) + 2) / 3 + 4);
        base64_encode((const uint8_t *)last, strlen(last), tok);
        xml_elem_s(b, "ContinuationToken", tok);
    }
    if (prefix) xml_elem_s(b, "Prefix", prefix);
    xml_end(op, "ListAllMyBucketsResult");
}

/* --------------------------------------------------------------- buckets */

static void complete_create_bucket(s3_op *op) {
    const char *region = op->fe->o.region;
    if (op->xml.len) {
        const char *loc;
        switch (s3_body_create_bucket(op->a, op->xml.data, op->xml.len, &loc)) {
        case S3_CREATE_BUCKET_OK:
            break;
        case S3_CREATE_BUCKET_MALFORMED:
            return s3_error(op, K_EMALFORMEDXML);
        case S3_CREATE_BUCKET_NOTIMPL:
            return s3_notimpl(op, "Directory buckets and tags at bucket creation are not "
                                  "implemented.");
        case S3_CREATE_BUCKET_INVALID_LOCATION:
            return s3_error(op, K_EINVALIDLOCATION);
        }
        if (loc) region = loc;
    }
    uint8_t acl;
    if (!canned_acl(op, &acl)) return;
    kerr e = objsvc_bucket_create(op->svc, &op->who, op->bucket, region, acl);
    if (e) return s3_error(op, e);
    gw_add_header(op->r, "Location", arena_printf(op->a, "/%s", op->bucket));
    gw_respond(op->r, 200);
}

static void op_create_bucket(s3_op *op) {
    kerr e = objsvc_bucket_create_check(&op->who, op->bucket);
    if (e) return s3_error(op, e);
    if (refuse_headers(op, HR_CREATE_BUCKET)) return;
    uint8_t acl;
    if (!canned_acl(op, &acl)) return;
    expect_xml_body(op, complete_create_bucket);
}

static void op_delete_bucket(s3_op *op) {
    if (!load_bucket(op, false)) return;
    kerr e = objsvc_bucket_delete(op->svc, op->bucket);
    if (e) return s3_error(op, e);
    op->r->resp.no_body = true;
    gw_respond(op->r, 204);
}

static void op_head_bucket(s3_op *op) {
    if (!load_bucket(op, true)) return;
    gw_add_header(op->r, "x-amz-bucket-region", op->binfo.region);
    op->r->resp.no_body = true;
    gw_respond(op->r, 200);
}

static void op_bucket_location(s3_op *op) {
    if (!load_bucket(op, false)) return;
    kbuf *b = &op->r->resp.body;
    kbuf_reset(b);
    kbuf_puts(b, XML_DECL "<LocationConstraint xmlns=\"" S3_XMLNS "\">");
    if (strcmp(op->binfo.region, "us-east-1"))
        kbuf_xml_escape(b, op->binfo.region, strlen(op->binfo.region));
    kbuf_puts(b, "</LocationConstraint>");
    gw_add_header(op->r, "Content-Type", "application/xml");
    gw_respond(op->r, 200);
}

static void op_bucket_versioning(s3_op *op) {
    if (!load_bucket(op, false)) return;
    xml_start(op, "VersioningConfiguration");
    xml_end(op, "VersioningConfiguration");
}

static void acl_xml(s3_op *op, const char *owner, uint8_t acl) {
    xml_start(op, "AccessControlPolicy");
    kbuf *b = &op->r->resp.body;
    owner_xml(b, owner);
    kbuf_puts(b, "<AccessControlList><Grant><Grantee "
                 "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
                 "xsi:type=\"CanonicalUser\">");
    xml_elem_s(b, "ID", owner);
    xml_elem_s(b, "DisplayName", owner);
    kbuf_puts(b, "</Grantee><Permission>FULL_CONTROL</Permission></Grant>");
    if (acl >= ACL_PUBLIC_READ)
        kbuf_puts(b, "<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
                     "xsi:type=\"Group\"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI>"
                     "</Grantee><Permission>READ</Permission></Grant>");
    if (acl >= ACL_PUBLIC_READ_WRITE)
        kbuf_puts(b, "<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
                     "xsi:type=\"Group\"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI>"
                     "</Grantee><Permission>WRITE</Permission></Grant>");
    kbuf_puts(b, "</AccessControlList>");
    xml_end(op, "AccessControlPolicy");
}

static void op_get_bucket_acl(s3_op *op) {
    if (!load_bucket(op, false)) return;
    acl_xml(op, op->binfo.owner, op->binfo.acl);
}

/* The ACL a PutBucketAcl / PutObjectAcl asks for: the canned x-amz-acl, or
 * an AccessControlPolicy body (s3_bodies.h). kura represents exactly three
 * ACLs; a body granting anything else (another grantee, another group,
 * READ_ACP, ...) or leaving the owner without FULL_CONTROL is refused with
 * 501 rather than stored as something it does not say. Answers and returns
 * false on failure. */
static bool acl_from_request(s3_op *op, const char *owner, uint8_t *acl) {
    if (header(op, "x-amz-acl")) {
        if (op->xml.len) {
            s3_error(op, K_EUNEXPECTEDCONTENT);
            return false;
        }
        return canned_acl(op, acl);
    }
    switch (s3_body_acl(op->a, op->xml.data, op->xml.len, owner, acl)) {
    case S3_ACL_OK:
        return true;
    case S3_ACL_MALFORMED:
        s3_error(op, K_EMALFORMEDXML);
        break;
    case S3_ACL_OTHER_OWNER:
        s3_notimpl(op, "kura cannot change the owner of a bucket or object.");
        break;
    case S3_ACL_BAD_GRANT:
        s3_error(op, K_EMALFORMEDACL);
        break;
    case S3_ACL_NOTIMPL:
        s3_notimpl(op, "This ACL is not implemented: kura represents the owner's FULL_CONTROL, "
                       "plus AllUsers READ (public-read), plus AllUsers WRITE "
                       "(public-read-write).");
        break;
    }
    return false;
}

static void complete_put_bucket_acl(s3_op *op) {
    uint8_t acl;
    if (!acl_from_request(op, op->binfo.owner, &acl)) return;
    kerr e = objsvc_bucket_set_acl(op->svc, op->bucket, acl);
    if (e) return s3_error(op, e);
    gw_respond(op->r, 200);
}

static void op_put_bucket_acl(s3_op *op) {
    if (!load_bucket(op, false) || refuse_headers(op, HR_ACL)) return;
    expect_xml_body(op, complete_put_bucket_acl);
}

/* Listing ------------------------------------------------------------ */

typedef struct list_params {
    const char *prefix, *delim, *start;
    size_t prefix_len, delim_len, start_len;
    uint64_t max;
    bool url;
} list_params;

/* Bucket tagging: the bucket's owner (and root). */
static void op_get_bucket_tagging(s3_op *op) {
    if (!load_bucket(op, false)) return;
    if (!op->binfo.ntags) return s3_error(op, K_ENOSUCHTAGSET);
    tagging_xml(op, op->binfo.tags, op->binfo.ntags);
}

static void complete_put_bucket_tagging(s3_op *op) {
    obj_attr *tags;
    uint32_t n;
    if (!body_tags(op, BUCKET_MAX_TAGS, &tags, &n)) return;
    kerr e = objsvc_bucket_set_tags(op->svc, op->bucket, tags, n);
    if (e) return s3_error(op, e);
    op->r->resp.no_body = true;
    gw_respond(op->r, 204);
}

static void op_put_bucket_tagging(s3_op *op) {
    if (!load_bucket(op, false)) return;
    expect_xml_body(op, complete_put_bucket_tagging);
}

static void op_delete_bucket_tagging(s3_op *op) {
    if (!load_bucket(op, false)) return;
    kerr e = objsvc_bucket_set_tags(op->svc, op->bucket, NULL, 0);
    if (e) return s3_error(op, e);
    op->r->resp.no_body = true;
    gw_respond(op->r, 204);
}

static bool read_list_params(s3_op *op, list_params *lp, const char *start_param,
                             const char *max_param) {
    memset(lp, 0, sizeof *lp);
    lp->prefix = param(op, "prefix");
    lp->delim = param(op, "delimiter");
    lp->start = start_param ? param(op, start_param) : NULL;
    lp->prefix_len = lp->prefix ? strlen(lp->prefix) : 0;
    lp->delim_len = lp->delim ? strlen(lp->delim) : 0;
    lp->start_len = lp->start ? strlen(lp->start) : 0;
    const char *enc = param(op, "encoding-type");
    if (enc && strcmp(enc, "url")) {
        s3_error_msg(op, K_EINVAL, "Invalid Encoding Method specified in Request");
        return false;
    }
    lp->url = enc != NULL;
    if (!parse_max(param(op, max_param), 1000, 1000, &lp->max)) {
        s3_error_msg(op, K_EINVAL,
                     "Provided max-keys not an integer or within "
                     "integer range");
        return false;
    }
    return true;
}

static void list_contents(s3_op *op, kbuf *b, const list_entry *e, bool url, bool with_owner) {
    char when[25], etag[64];
    iso_ms(e->meta.mtime_ms, when);
    etag_quoted(op, e->meta.etag, etag, sizeof etag);
    kbuf_puts(b, "<Contents>");
    xml_elem_enc(b, "Key", e->key, e->klen, url);
    xml_elem_s(b, "LastModified", when);
    xml_elem_s(b, "ETag", etag);
    if (e->meta.ck_alg != CK_NONE)
        kbuf_printf(b, "<ChecksumAlgorithm>%s</ChecksumAlgorithm><ChecksumType>%s</ChecksumType>",
                    cksum_alg_name((cksum_alg)e->meta.ck_alg),
                    e->meta.ck_type == CKTYPE_COMPOSITE ? "COMPOSITE" : "FULL_OBJECT");
    kbuf_printf(b, "<Size>%llu</Size>", (unsigned long long)e->meta.size);
    if (with_owner) owner_xml(b, op->binfo.owner);
    kbuf_puts(b, "<StorageClass>STANDARD</StorageClass></Contents>");
}

static void common_prefixes(kbuf *b, list_entry *ents, size_t n, bool url) {
    for (size_t i = 0; i < n; i++) {
        if (!ents[i].is_prefix) continue;
        kbuf_puts(b, "<CommonPrefixes>");
        xml_elem_enc(b, "Prefix", ents[i].key, ents[i].klen, url);
        kbuf_puts(b, "</CommonPrefixes>");
    }
}

static kerr run_list(s3_op *op, const list_params *lp, const char *after, size_t after_len,
                     list_entry **ents, size_t *n, bool *trunc) {
    if (lp->max == 0) {
        *n = 0;
        *trunc = false;
        *ents = NULL;
        return K_OK;
    }
    obj_list_req req = {.prefix = lp->prefix,
                        .prefix_len = lp->prefix_len,
                        .start_after = after,
                        .start_after_len = after_len,
                        .delim = lp->delim_len ? lp->delim : NULL,
                        .delim_len = lp->delim_len,
                        .max_entries = lp->max};
    return objsvc_list(op->svc, op->a, &op->binfo, &req, ents, n, trunc);
}

static void op_list_objects_v1(s3_op *op) {
    if (!load_bucket(op, true)) return;
    list_params lp;
    if (!read_list_params(op, &lp, "marker", "max-keys")) return;
    list_entry *ents;
    size_t n;
    bool trunc;
    kerr e = run_list(op, &lp, lp.start, lp.start_len, &ents, &n, &trunc);
    if (e) return s3_error(op, e);
    xml_start(op, "ListBucketResult");
    kbuf *b = &op->r->resp.body;
    xml_elem_s(b, "Name", op->bucket);
    xml_elem_enc(b, "Prefix", lp.prefix ? lp.prefix : "", lp.prefix_len, lp.url);
    xml_elem_enc(b, "Marker", lp.start ? lp.start : "", lp.start_len, lp.url);
    kbuf_printf(b, "<MaxKeys>%llu</MaxKeys>", (unsigned long long)lp.max);
    if (lp.delim) xml_elem_enc(b, "Delimiter", lp.delim, lp.delim_len, lp.url);
    if (lp.url) xml_elem_s(b, "EncodingType", "url");
    kbuf_printf(b, "<IsTruncated>%s</IsTruncated>", trunc ? "true" : "false");
    if (trunc && n) xml_elem_enc(b, "NextMarker", ents[n - 1].key, ents[n - 1].klen, lp.url);
    for (size_t i = 0; i < n; i++)
        if (!ents[i].is_prefix) list_contents(op, b, &ents[i], lp.url, true);
    common_prefixes(b, ents, n, lp.url);
    xml_end(op, "ListBucketResult");
}

static void op_list_objects_v2(s3_op *op) {
    if (!load_bucket(op, true)) return;
    list_params lp;
    if (!read_list_params(op, &lp, "start-after", "max-keys")) return;
    const char *token = param(op, "continuation-token");
    const char *after = lp.start;
    size_t after_len = lp.start_len;
    if (token) {
        size_t tl = strlen(token);
        char *dec = arena_alloc(op->a, tl + 1);
        int dl = base64_decode(token, tl, (uint8_t *)dec, tl + 1);
        if (dl < 0)
            return s3_error_msg(op, K_EINVAL, "The continuation token provided is incorrect");
        dec[dl] = 0;
        if (!after || memcmp(dec, after, (size_t)dl < after_len ? (size_t)dl : after_len) > 0 ||
            ((size_t)dl > after_len && !memcmp(dec, after, after_len))) {
            after = dec;
            after_len = (size_t)dl;
        }
    }
    const char *fo = param(op, "fetch-owner");
    bool fetch_owner = fo && !strcmp(fo, "true");
    list_entry *ents;
    size_t n;
    bool trunc;
    kerr e = run_list(op, &lp, after, after_len, &ents, &n, &trunc);
    if (e) return s3_error(op, e);
    xml_start(op, "ListBucketResult");
    kbuf *b = &op->r->resp.body;
    xml_elem_s(b, "Name", op->bucket);
    xml_elem_enc(b, "Prefix", lp.prefix ? lp.prefix : "", lp.prefix_len, lp.url);
    if (lp.start) xml_elem_enc(b, "StartAfter", lp.start, lp.start_len, lp.url);
    if (token) xml_elem_s(b, "ContinuationToken", token);
    kbuf_printf(b, "<KeyCount>%zu</KeyCount>", n);
    kbuf_printf(b, "<MaxKeys>%llu</MaxKeys>", (unsigned long long)lp.max);
    if (lp.delim) xml_elem_enc(b, "Delimiter", lp.delim, lp.delim_len, lp.url);
    if (lp.url) xml_elem_s(b, "EncodingType", "url");
    kbuf_printf(b, "<IsTruncated>%s</IsTruncated>", trunc ? "true" : "false");
    if (trunc && n) {
        char *tok = arena_alloc(op->a, 4 * (ents[n - 1].klen + 2) / 3 + 4);
        base64_encode((const uint8_t *)ents[n - 1].key, ents[n - 1].klen, tok);
        xml_elem_s(b, "NextContinuationToken", tok);
    }
    for (size_t i = 0; i < n; i++)
        if (!ents[i].is_prefix) list_contents(op, b, &ents[i], lp.url, fetch_owner);
    common_prefixes(b, ents, n, lp.url);
    xml_end(op, "ListBucketResult");
}

static void op_list_object_versions(s3_op *op) {
    if (!load_bucket(op, true)) return;
    list_params lp;
    if (!read_list_params(op, &lp, "key-marker", "max-keys")) return;
    list_entry *ents;
    size_t n;
    bool trunc;
    kerr e = run_list(op, &lp, lp.start, lp.start_len, &ents, &n, &trunc);
    if (e) return s3_error(op, e);
    xml_start(op, "ListVersionsResult");
    kbuf *b = &op->r->resp.body;
    xml_elem_s(b, "Name", op->bucket);
    xml_elem_enc(b, "Prefix", lp.prefix ? lp.prefix : "", lp.prefix_len, lp.url);
    xml_elem_enc(b, "KeyMarker", lp.start ? lp.start : "", lp.start_len, lp.url);
    xml_elem_s(b, "VersionIdMarker", param(op, "version-id-marker"));
    kbuf_printf(b, "<MaxKeys>%llu</MaxKeys>", (unsigned long long)lp.max);
    if (lp.delim) xml_elem_enc(b, "Delimiter", lp.delim, lp.delim_len, lp.url);
    if (lp.url) xml_elem_s(b, "EncodingType", "url");
    kbuf_printf(b, "<IsTruncated>%s</IsTruncated>", trunc ? "true" : "false");
    if (trunc && n) {
        xml_elem_enc(b, "NextKeyMarker", ents[n - 1].key, ents[n - 1].klen, lp.url);
        xml_elem_s(b, "NextVersionIdMarker", "null");
    }
    for (size_t i = 0; i < n; i++) {
        if (ents[i].is_prefix) continue;
        char when[25], etag[64];
        iso_ms(ents[i].meta.mtime_ms, when);
        etag_quoted(op, ents[i].meta.etag, etag, sizeof etag);
        kbuf_puts(b, "<Version>");
        xml_elem_enc(b, "Key", ents[i].key, ents[i].klen, lp.url);
        kbuf_puts(b, "<VersionId>null</VersionId><IsLatest>true</IsLatest>");
        xml_elem_s(b, "LastModified", when);
        xml_elem_s(b, "ETag", etag);
        kbuf_printf(b, "<Size>%llu</Size>", (unsigned long long)ents[i].meta.size);
        owner_xml(b, op->binfo.owner);
        kbuf_puts(b, "<StorageClass>STANDARD</StorageClass></Version>");
    }
    common_prefixes(b, ents, n, lp.url);
    xml_end(op, "ListVersionsResult");
}

/* DeleteObjects ------------------------------------------------------ */

static void delete_result_error(kbuf *out, const s3_delete_object *d, const char *code,
                                const char *msg) {
    kbuf_puts(out, "<Error>");
    xml_elem(out, "Key", d->key, d->key_len);
    xml_elem_s(out, "Code", code);
    xml_elem_s(out, "Message", msg);
    kbuf_puts(out, "</Error>");
}

/* One <Object> of a DeleteObjects body; an <ETag> makes it conditional
 * (deleted only if the object still has that ETag), as If-Match does for
 * DeleteObject. */
static kerr delete_one(s3_op *op, const s3_delete_object *d) {
    if (!d->etag) return objsvc_delete(op->svc, &op->binfo, d->key, d->key_len, NULL);
    obj_meta m;
    kerr e = objsvc_head(op->svc, op->a, &op->binfo, d->key, d->key_len, &m);
    if (e) return e;
    obj_cond *c = arena_zalloc(op->a, sizeof *c);
    c->etag = d->etag;
    if (strcmp(c->etag, m.etag)) return K_EPRECONDITION;
    return objsvc_delete(op->svc, &op->binfo, d->key, d->key_len, c);
}

/* DeleteObjects must carry an integrity check of its body, as AWS requires:
 * Content-MD5, or an x-amz-checksum-* value (a header, or an aws-chunked
 * trailer announced by x-amz-trailer; SDKs released since 2025 send a
 * CRC32 instead of the MD5). Whichever came is verified. */
static void complete_delete_objects(s3_op *op) {
    if (!op->has_content_md5 && !op->ck_expect_b64)
        return s3_error_msg(op, K_EINVALIDREQUEST,
                            "Missing required header for this request: Content-MD5");
    const char *body = op->xml.data ? op->xml.data : "";
    if (op->has_content_md5) {
        uint8_t got[16];
        md5_digest(body, op->xml.len, got);
        if (memcmp(op->content_md5, got, 16)) return s3_error(op, K_EBADDIGEST);
    }
    if (op->ck_expect_b64) {
        uint8_t want[32], got[32];
        size_t wl;
        kerr e = expected_checksum(op, want, &wl);
        if (e) return s3_error(op, e);
        cksum c;
        cksum_init(&c, op->ck_alg);
        cksum_update(&c, body, op->xml.len);
        size_t gl = cksum_final(&c, got);
        cksum_free(&c);
        if (gl != wl || memcmp(want, got, gl)) return s3_error(op, K_EBADDIGEST);
    }
    s3_delete_body del;
    if (!s3_body_delete(op->a, op->xml.data, op->xml.len, &del))
        return s3_error(op, K_EMALFORMEDXML);
    kbuf out = KBUF_INIT;
    kbuf_puts(&out, XML_DECL "<DeleteResult xmlns=\"" S3_XMLNS "\">");
    for (size_t i = 0; i < del.n; i++) {
        const s3_delete_object *d = &del.objects[i];
        const char *vid = d->version_id;
        if (vid && strcmp(vid, "null")) {
            delete_result_error(&out, d, "InvalidArgument", "Invalid version id specified");
            continue;
        }
        if (d->other_conditions) {
            delete_result_error(&out, d, "NotImplemented",
                                "Conditions on LastModifiedTime or Size are not implemented.");
            continue;
        }
        kerr e = delete_one(op, d);
        if (e == K_ENOSUCHKEY) e = K_OK;
        if (e) {
            const kerr_info *info = kerr_lookup(e);
            delete_result_error(&out, d, info->s3_code, info->message);
        } else if (!del.quiet) {
            kbuf_puts(&out, "<Deleted>");
            xml_elem(&out, "Key", d->key, d->key_len);
            if (vid) xml_elem_s(&out, "VersionId", vid);
            kbuf_puts(&out, "</Deleted>");
        }
    }
    kbuf_puts(&out, "</DeleteResult>");
    kbuf_free(&op->r->resp.body);
    op->r->resp.body = out;
    gw_add_header(op->r, "Content-Type", "application/xml");
    gw_respond(op->r, 200);
}

static void op_delete_objects(s3_op *op) {
    if (!load_bucket(op, false)) return;
    kerr e = setup_checksum(op, CK_NONE);
    if (e) return s3_error(op, e);
    expect_xml_body(op, complete_delete_objects);
}

/* --------------------------------------------------------------- objects */

/* Conditional request headers (gateway/http.h evaluates them): 412, or 304
 * (412 for the x-amz-copy-source-if-* set of a copy). */
static kerr check_conditions(const obj_meta *m, const http_conds *c, bool copy_source) {
    switch (http_conditions(c, m->etag, (time_t)(m->mtime_ms / 1000))) {
    case HTTP_COND_PASS:
        return K_OK;
    case HTTP_COND_FAILED:
        return K_EPRECONDITION;
    case HTTP_COND_NOT_MODIFIED:
        return copy_source ? K_EPRECONDITION : K_ENOTMODIFIED;
    }
    return K_EPRECONDITION;
}

/* "content-type" -> "Content-Type"; x-amz-* names stay lower-case as AWS
 * sends them. */
static const char *canonical_header_name(arena *a, const char *name) {
    if (!strncmp(name, "x-amz-", 6)) return name;
    char *c = arena_strdup(a, name);
    bool up = true;
    for (char *p = c; *p; p++) {
        if (up && *p >= 'a' && *p <= 'z') *p = (char)(*p - 32);
        up = *p == '-';
    }
    return c;
}

/* GET/HEAD Object query parameters that override a response header. */
static const struct {
    const char *param, *header;
} overrides[] = {{"response-content-type", "content-type"},
                 {"response-content-language", "content-language"},
                 {"response-expires", "expires"},
                 {"response-cache-control", "cache-control"},
                 {"response-content-disposition", "content-disposition"},
                 {"response-content-encoding", "content-encoding"}};

static bool has_response_override(s3_op *op) {
    for (size_t j = 0; j < sizeof overrides / sizeof *overrides; j++)
        if (http_param_has(&op->r->http, overrides[j].param)) return true;
    return false;
}

static void object_headers(s3_op *op, const obj_meta *m) {
    char date[30], etag[64];
    fmt_http_date((time_t)(m->mtime_ms / 1000), date);
    etag_quoted(op, m->etag, etag, sizeof etag);
    gw_add_header(op->r, "Last-Modified", date);
    gw_add_header(op->r, "ETag", etag);
    gw_add_header(op->r, "Accept-Ranges", "bytes");
    bool has_type = false;
    for (uint32_t i = 0; i < m->nattrs; i++) {
        const char *name = m->attrs[i].name;
        bool overridden = false;
        for (size_t j = 0; j < sizeof overrides / sizeof *overrides; j++)
            if (!strcmp(name, overrides[j].header) && param(op, overrides[j].param))
                overridden = true;
        if (overridden) continue;
        if (!strcmp(name, "content-type")) has_type = true;
        gw_add_header(op->r, canonical_header_name(op->a, name), m->attrs[i].value);
    }
    for (size_t j = 0; j < sizeof overrides / sizeof *overrides; j++) {
        const char *v = param(op, overrides[j].param);
        if (v) {
            gw_add_header(op->r, canonical_header_name(op->a, overrides[j].header), v);
            if (!strcmp(overrides[j].header, "content-type")) has_type = true;
        }
    }
    if (!has_type) gw_add_header(op->r, "Content-Type", "binary/octet-stream");
    if (m->nparts)
        gw_add_header(op->r, "x-amz-mp-parts-count", arena_printf(op->a, "%u", m->nparts));
    if (m->ntags) gw_add_header(op->r, "x-amz-tagging-count", arena_printf(op->a, "%u", m->ntags));
}

/* Keys kura stores: well-formed UTF-8 (else 400 InvalidURI, as AWS answers
 * for such a path) made of characters XML 1.0 can carry, so that every
 * listing stays well-formed without encoding-type=url (AWS accepts C0
 * controls in keys and then writes listings no XML parser reads; kura
 * refuses them: 400 InvalidArgument). Checked where a key is created
 * (PutObject, CopyObject's destination, CreateMultipartUpload); reads and
 * deletes take any key, so keys stored before the check can still be
 * fetched and removed. Answers and returns false on refusal. */
static bool key_storable(s3_op *op) {
    if (!utf8_valid(op->key, op->klen)) {
        s3_error(op, K_EINVALIDURI);
        return false;
    }
    if (!xml_text_ok(op->key, op->klen)) {
        s3_error_msg(op, K_EINVAL,
                     "Object key contains a character XML 1.0 cannot carry (a control "
                     "character other than tab, LF and CR, U+FFFE or U+FFFF); kura does "
                     "not store such keys.");
        return false;
    }
    return true;
}

/* S3 conditional writes (PutObject, CompleteMultipartUpload, CopyObject's
 * destination) and deletes (DeleteObject): If-None-Match: * (only if there
 * is no object) and If-Match: ETag (only if the object has it). Evaluated
 * now against the current object: a failed condition answers 412
 * PreconditionFailed (If-Match on a write to a missing key: 404 NoSuchKey;
 * a delete of a missing key just succeeds). When they hold, *cond receives
 * the condition for objsvc to check again atomically at commit, where a
 * failure means another write got in between (409
 * ConditionalRequestConflict). *cond is NULL without conditional headers.
 * Conditions S3 does not define for writes are refused (501) rather than
 * ignored. Answers and returns false on failure. */
static bool write_conditions(s3_op *op, bool is_delete, const obj_cond **cond) {
    *cond = NULL;
    const char *inm = header(op, "if-none-match"), *im = header(op, "if-match");
    if (header(op, "if-modified-since") || header(op, "if-unmodified-since") ||
        header(op, "x-amz-if-match-last-modified-time") || header(op, "x-amz-if-match-size") ||
        (is_delete && inm)) {
        s3_notimpl(op, is_delete ? "Only If-Match is implemented for deletes."
                                 : "Only If-None-Match: * and If-Match are implemented for "
                                   "writes.");
        return false;
    }
    if (inm) {
        size_t n = strlen(inm);
        const char *t = str_trim(inm, &n);
        if (n != 1 || *t != '*') {
            s3_notimpl(op, "If-None-Match on a write only takes *.");
            return false;
        }
    }
    if (!inm && !im) return true;
    obj_meta m;
    kerr e = objsvc_head(op->svc, op->a, &op->binfo, op->key, op->klen, &m);
    bool absent = e == K_ENOSUCHKEY;
    if (e && !absent) {
        s3_error(op, e);
        return false;
    }
    if (inm && !absent) {
        s3_error(op, K_EPRECONDITION);
        return false;
    }
    if (im && absent && is_delete) return true; /* deleting what is not there: 204 */
    if (im && absent) {
        s3_error(op, K_ENOSUCHKEY);
        return false;
    }
    if (im && !http_etag_list_matches(im, m.etag)) {
        s3_error(op, K_EPRECONDITION);
        return false;
    }
    obj_cond *c = arena_zalloc(op->a, sizeof *c);
    c->absent = inm != NULL;
    if (im) {
        size_t n = strlen(im);
        const char *t = str_trim(im, &n);
        c->etag = n == 1 && *t == '*' ? "*" : arena_strdup(op->a, m.etag);
    }
    *cond = c;
    return true;
}

/* versionId on an object request: kura keeps one version, "null". */
static bool version_is_null(s3_op *op) {
    const http_param *p = http_param_find(&op->r->http, "versionId");
    if (!p || (p->value && !strcmp(p->value, "null"))) return true;
    s3_error_msg(op, K_EINVAL, "Invalid version id specified");
    return false;
}

/* GetObject and HeadObject. */
static void op_get_object(s3_op *op) {
    /* As AWS: strangers may not make a public object answer with, say,
     * Content-Type: text/html (the parameters are signed by anyone else). */
    if (!op->user && has_response_override(op)) return s3_error(op, K_EANONRESPONSEHEADER);
    /* anonymous callers may still read public objects of private buckets */
    if (!open_bucket(op, BUCKET_LOOKUP)) return;
    obj_meta m;
    kerr e = objsvc_object_open(op->svc, op->a, &op->who, &op->binfo, op->key, op->klen, &m);
    if (e) return s3_error(op, e);
    if (refuse_headers(op, HR_READ)) return;
    http_conds conds = http_conds_of(&op->r->http);
    e = check_conditions(&m, &conds, false);
    if (e == K_ENOTMODIFIED) {
        char date[30], etag[64];
        fmt_http_date((time_t)(m.mtime_ms / 1000), date);
        etag_quoted(op, m.etag, etag, sizeof etag);
        gw_add_header(op->r, "ETag", etag);
        gw_add_header(op->r, "Last-Modified", date);
        op->r->resp.no_body = true;
        gw_respond(op->r, 304);
        return;
    }
    if (e) return s3_error(op, e);
    uint64_t start = 0, end = m.size ? m.size - 1 : 0;
    bool partial = false;
    const char *pn = param(op, "partNumber");
    const char *range = header(op, "range");
    if (pn && range)
        return s3_error_msg(op, K_EINVALIDREQUEST,
                            "Cannot specify both Range header and partNumber query parameter");
    if (pn) {
        uint64_t part;
        if (!parse_u64(pn, strlen(pn), &part) || part < 1 || part > OBJ_MAX_PARTS)
            return s3_error_msg(op, K_EINVAL,
                                "Part number must be an integer between 1 and 10000, inclusive");
        if (m.nparts == 0) {
            if (part != 1) return s3_error(op, K_EINVALIDPARTNUMBER);
        } else {
            if (part > m.nparts) return s3_error(op, K_EINVALIDPARTNUMBER);
            uint64_t off, plen;
            objsvc_part_range(&m, (uint32_t)part, &off, &plen);
            start = off;
            end = off + plen - 1;
            partial = true;
        }
    } else if (range) {
        http_range_result pr = http_range_parse(range, m.size, &start, &end);
        if (pr == HTTP_RANGE_UNSATISFIABLE) {
            gw_add_header(op->r, "Content-Range",
                          arena_printf(op->a, "bytes */%llu", (unsigned long long)m.size));
            return s3_error(op, K_EINVALIDRANGE);
        }
        partial = pr == HTTP_RANGE_OK;
        if (!partial) start = 0, end = m.size ? m.size - 1 : 0;
    }
    uint64_t len = m.size ? end - start + 1 : 0;
    object_headers(op, &m);
    const char *ckmode = header(op, "x-amz-checksum-mode");
    if (ckmode && !strcasecmp(ckmode, "ENABLED") && !partial) add_checksum_headers(op, &m);
    if (partial)
        gw_add_header(op->r, "Content-Range",
                      arena_printf(op->a, "bytes %llu-%llu/%llu", (unsigned long long)start,
                                   (unsigned long long)end, (unsigned long long)m.size));
    e = gw_respond_object(op->r, op->svc, &m, start, len, partial ? 206 : 200);
    if (e) s3_error(op, e);
}

static void op_delete_object(s3_op *op) {
    if (!load_bucket(op, false)) return;
    const obj_cond *cond;
    if (!write_conditions(op, true, &cond)) return;
    kerr e = objsvc_delete(op->svc, &op->binfo, op->key, op->klen, cond);
    if (e && e != K_ENOSUCHKEY) return s3_error(op, e);
    op->r->resp.no_body = true;
    gw_respond(op->r, 204);
}

static void op_get_object_acl(s3_op *op) {
    if (!load_bucket(op, false)) return;
    obj_meta m;
    kerr e = objsvc_head(op->svc, op->a, &op->binfo, op->key, op->klen, &m);
    if (e) return s3_error(op, e);
    acl_xml(op, op->binfo.owner, m.acl);
}

static void complete_put_object_acl(s3_op *op) {
    uint8_t acl;
    if (!acl_from_request(op, op->binfo.owner, &acl)) return;
    obj_meta m;
    kerr e =
        objsvc_update_attrs(op->svc, op->a, &op->binfo, op->key, op->klen, NULL, 0, acl, NULL, &m);
    if (e) return s3_error(op, e);
    gw_respond(op->r, 200);
}

static void op_put_object_acl(s3_op *op) {
    if (!load_bucket(op, false) || refuse_headers(op, HR_ACL)) return;
    expect_xml_body(op, complete_put_object_acl);
}

/* Object tagging: the bucket's owner (and root) only, as object ACLs grant
 * no tagging permission. */
static void op_get_object_tagging(s3_op *op) {
    if (!load_bucket(op, false)) return;
    obj_meta m;
    kerr e = objsvc_head(op->svc, op->a, &op->binfo, op->key, op->klen, &m);
    if (e) return s3_error(op, e);
    tagging_xml(op, m.tags, m.ntags);
}

static void complete_put_object_tagging(s3_op *op) {
    obj_attr *tags;
    uint32_t n;
    if (!body_tags(op, OBJ_MAX_TAGS, &tags, &n)) return;
    obj_meta m;
    kerr e = objsvc_set_tags(op->svc, op->a, &op->binfo, op->key, op->klen, tags, n, &m);
    if (e) return s3_error(op, e);
    gw_respond(op->r, 200);
}

static void op_put_object_tagging(s3_op *op) {
    if (!load_bucket(op, false)) return;
    expect_xml_body(op, complete_put_object_tagging);
}

static void op_delete_object_tagging(s3_op *op) {
    if (!load_bucket(op, false)) return;
    obj_meta m;
    kerr e = objsvc_set_tags(op->svc, op->a, &op->binfo, op->key, op->klen, NULL, 0, &m);
    if (e) return s3_error(op, e);
    op->r->resp.no_body = true;
    gw_respond(op->r, 204);
}

/* PutObject / UploadPart --------------------------------------------- */

static void complete_put(s3_op *op) {
    uint8_t ck[32];
    size_t ck_len;
    kerr e = expected_checksum(op, ck, &ck_len);
    if (e) return s3_error(op, e);
    obj_put_expect ex = {.md5 = op->has_content_md5 ? op->content_md5 : NULL,
                         .ck = ck_len ? ck : NULL,
                         .ck_len = ck_len};
    obj_meta m;
    obj_put *put = op->put;
    op->put = NULL; /* finish consumes it */
    e = objsvc_put_finish(put, &ex, &m);
    if (e) return s3_error(op, e);
    char etag[64];
    etag_quoted(op, m.etag, etag, sizeof etag);
    gw_add_header(op->r, "ETag", etag);
    add_computed_checksum(op, (cksum_alg)m.ck_alg, m.ck, m.ck_len);
    gw_respond(op->r, 200);
}

static void op_put_object(s3_op *op) {
    if (!load_bucket(op, false) || !key_storable(op) || refuse_headers(op, HR_PUT)) return;
    uint8_t acl;
    if (!canned_acl(op, &acl)) return;
    const obj_cond *cond;
    if (!write_conditions(op, false, &cond)) return;
    uint64_t len;
    bool known;
    kerr e = setup_body(op, &len, &known);
    if (!e && !known) {
        /* HTTP chunked with no declared length: stored segment by segment. */
        uint64_t wire;
        if (gw_body_frame(op->r, &wire) == GW_BODY_CHUNKED)
            len = OBJ_SIZE_UNKNOWN;
        else
            e = K_EMISSINGLENGTH;
    }
    if (!e) e = setup_checksum(op, CK_NONE);
    if (e) return s3_error(op, e);
    obj_attr *attrs;
    uint32_t nattrs;
    e = collect_attrs(op, &attrs, &nattrs);
    if (e) return s3_error(op, K_EMETADATATOOLARGE);
    obj_attr *tags;
    uint32_t ntags;
    if (!header_tags(op, &tags, &ntags)) return;
    obj_put_opts o = {.size = len,
                      .attrs = attrs,
                      .nattrs = nattrs,
                      .acl = acl,
                      .ck_alg = op->ck_alg,
                      .cond = cond,
                      .tags = tags,
                      .ntags = ntags};
    e = objsvc_put_begin(op->svc, op->a, &op->binfo, op->key, op->klen, &o, &op->put);
    if (e) return s3_error(op, e);
    op->complete = complete_put;
}

static bool load_upload(s3_op *op, const char *upload_id) {
    /* ?uploadId without a value: no upload (objsvc_mpu_get needs a string) */
    kerr e = upload_id ? objsvc_mpu_get(op->svc, op->a, &op->binfo, upload_id, &op->upload)
                       : K_ENOSUCHUPLOAD;
    if (!e && (op->upload.klen != op->klen || memcmp(op->upload.key, op->key, op->klen)))
        e = K_ENOSUCHUPLOAD;
    if (e) {
        s3_error(op, e);
        return false;
    }
    return true;
}

static bool parse_part_number(s3_op *op, uint32_t *out) {
    const char *pn = param(op, "partNumber");
    uint64_t v;
    if (!pn || !parse_u64(pn, strlen(pn), &v) || v < 1 || v > OBJ_MAX_PARTS) {
        s3_error_msg(op, K_EINVAL, "Part number must be an integer between 1 and 10000, inclusive");
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

static void op_upload_part(s3_op *op) {
    if (!load_bucket(op, false) || refuse_headers(op, HR_PART)) return;
    uint32_t pn;
    if (!parse_part_number(op, &pn)) return;
    if (!load_upload(op, param(op, "uploadId"))) return;
    uint64_t len;
    bool known;
    kerr e = setup_body(op, &len, &known);
    if (!e && !known) e = K_EMISSINGLENGTH;
    if (!e) e = setup_checksum(op, (cksum_alg)op->upload.proto.ck_alg);
    if (!e && op->upload.proto.ck_alg != CK_NONE && op->ck_alg != op->upload.proto.ck_alg)
        e = K_EINVALIDREQUEST;
    if (e) return s3_error(op, e);
    /* A part checksum algorithm the upload did not declare is still
     * verified, but only the upload's own algorithm is kept. */
    upload_info u = op->upload;
    u.proto.ck_alg = (uint8_t)op->ck_alg;
    op->upload = u;
    e = objsvc_part_begin(op->svc, op->a, &op->binfo, &op->upload, pn, len, &op->put);
    if (e) return s3_error(op, e);
    op->complete = complete_put;
}

/* Copy ---------------------------------------------------------------- */

typedef struct copy_src {
    const char *bucket, *key;
    size_t klen;
    bucket_info b;
    obj_meta m;
} copy_src;

static kerr resolve_copy_source(s3_op *op, copy_src *src) {
    const char *raw = header(op, "x-amz-copy-source");
    char *s = arena_strdup(op->a, raw);
    char *q = strchr(s, '?');
    if (q) {
        if (strncmp(q, "?versionId=", 11) || strcmp(q + 11, "null")) return K_ENOTIMPL;
        *q = 0;
    }
    long n = url_decode_inplace(s, strlen(s), false);
    if (n < 0) return K_EINVALIDREQUEST;
    if (*s == '/') s++;
    char *slash = strchr(s, '/');
    if (!slash || !slash[1]) return K_EINVALIDREQUEST;
    *slash = 0;
    src->bucket = s;
    src->key = slash + 1;
    src->klen = strlen(src->key);
    kerr e = objsvc_bucket_open(op->svc, op->a, &op->who, src->bucket, BUCKET_LOOKUP, &src->b);
    if (e) return e;
    const char *want_owner = header(op, "x-amz-source-expected-bucket-owner");
    if (want_owner && strcmp(want_owner, src->b.owner)) return K_EACCESSDENIED;
    e = objsvc_object_open(op->svc, op->a, &op->who, &src->b, src->key, src->klen, &src->m);
    if (e) return e;
    http_conds conds = {.if_match = header(op, "x-amz-copy-source-if-match"),
                        .if_none_match = header(op, "x-amz-copy-source-if-none-match"),
                        .if_modified_since = header(op, "x-amz-copy-source-if-modified-since"),
                        .if_unmodified_since = header(op, "x-amz-copy-source-if-unmodified-since")};
    return check_conditions(&src->m, &conds, true);
}

static void op_copy_object(s3_op *op) {
    if (!load_bucket(op, false) || !key_storable(op) || refuse_headers(op, HR_COPY)) return;
    const char *directive = header(op, "x-amz-metadata-directive");
    bool replace = directive && !strcmp(directive, "REPLACE");
    if (directive && !replace && strcmp(directive, "COPY"))
        return s3_error_msg(op, K_EINVAL, "Unknown metadata directive.");
    uint8_t acl;
    if (!canned_acl(op, &acl)) return;
    const char *alg_name = header(op, "x-amz-checksum-algorithm");
    cksum_alg alg = alg_name ? cksum_alg_from_name(alg_name, strlen(alg_name)) : CK_NONE;
    if (alg_name && alg == CK_NONE) return s3_error(op, K_EINVALIDREQUEST);
    copy_src src;
    kerr e = resolve_copy_source(op, &src);
    if (e) return s3_error(op, e);
    const obj_cond *cond;
    if (!write_conditions(op, false, &cond)) return;
    obj_attr *attrs = src.m.attrs;
    uint32_t nattrs = src.m.nattrs;
    if (replace && collect_attrs(op, &attrs, &nattrs)) return s3_error(op, K_EMETADATATOOLARGE);
    /* x-amz-tagging-directive: COPY (the default) keeps the source's tags,
     * REPLACE takes x-amz-tagging's (none without it) */
    const char *tdir = header(op, "x-amz-tagging-directive");
    bool replace_tags = tdir && !strcmp(tdir, "REPLACE");
    obj_attr *tags = src.m.tags;
    uint32_t ntags = src.m.ntags;
    if (replace_tags && !header_tags(op, &tags, &ntags)) return;
    bool same = !strcmp(src.bucket, op->bucket) && src.klen == op->klen &&
                !memcmp(src.key, op->key, op->klen);
    obj_meta m;
    if (same) {
        if (!replace && !header(op, "x-amz-acl") && !header(op, "x-amz-storage-class"))
            return s3_error_msg(op, K_EINVALIDREQUEST,
                                "This copy request is illegal because it is trying to copy an "
                                "object to itself without changing the object's metadata, "
                                "storage class, website redirect location or encryption "
                                "attributes.");
        /* COPY keeps the current attributes (and tags), read in the same
         * compare-and-set */
        if (replace_tags)
            e = objsvc_update_attrs_tags(op->svc, op->a, &op->binfo, op->key, op->klen,
                                         replace ? attrs : NULL, nattrs, acl, tags, ntags, cond,
                                         &m);
        else
            e = objsvc_update_attrs(op->svc, op->a, &op->binfo, op->key, op->klen,
                                    replace ? attrs : NULL, nattrs, acl, cond, &m);
    } else {
        obj_put_opts o = {.size = src.m.size,
                          .attrs = attrs,
                          .nattrs = nattrs,
                          .acl = acl,
                          .ck_alg = alg_name ? alg : (cksum_alg)src.m.ck_alg,
                          .cond = cond,
                          .tags = tags,
                          .ntags = ntags};
        obj_put *put;
        e = objsvc_put_begin(op->svc, op->a, &op->binfo, op->key, op->klen, &o, &put);
        if (!e) {
            e = objsvc_put_copy(put, &src.m, 0, src.m.size);
            if (e)
                objsvc_put_abort(put);
            else
                e = objsvc_put_finish(put, NULL, &m);
        }
    }
    if (e) return s3_error(op, e);
    char when[25], etag[64];
    iso_ms(m.mtime_ms, when);
    etag_quoted(op, m.etag, etag, sizeof etag);
    xml_start(op, "CopyObjectResult");
    kbuf *b = &op->r->resp.body;
    xml_elem_s(b, "LastModified", when);
    xml_elem_s(b, "ETag", etag);
    if (m.ck_alg != CK_NONE && m.ck_len && m.ck_type != CKTYPE_COMPOSITE) {
        char b64[64];
        base64_encode(m.ck, m.ck_len, b64);
        char name[32];
        const char *an = cksum_alg_name((cksum_alg)m.ck_alg);
        snprintf(name, sizeof name, "Checksum%s", an);
        xml_elem_s(b, name, b64);
    }
    xml_end(op, "CopyObjectResult");
}

static void op_upload_part_copy(s3_op *op) {
    if (!load_bucket(op, false) || refuse_headers(op, HR_PART_COPY)) return;
    uint32_t pn;
    if (!parse_part_number(op, &pn)) return;
    if (!load_upload(op, param(op, "uploadId"))) return;
    copy_src src;
    kerr e = resolve_copy_source(op, &src);
    if (e) return s3_error(op, e);
    uint64_t start = 0, len = src.m.size;
    const char *range = header(op, "x-amz-copy-source-range");
    if (range) {
        uint64_t a, b;
        const char *dash = strncmp(range, "bytes=", 6) ? NULL : strchr(range + 6, '-');
        if (!dash || !parse_u64(range + 6, (size_t)(dash - range - 6), &a) ||
            !parse_u64(dash + 1, strlen(dash + 1), &b) || b < a || b >= src.m.size)
            return s3_error_msg(op, K_EINVAL,
                                "The x-amz-copy-source-range value must be of the form "
                                "bytes=first-last where first and last are the zero-based "
                                "offsets of the first and last bytes to copy");
        start = a;
        len = b - a + 1;
    }
    obj_put *put;
    e = objsvc_part_begin(op->svc, op->a, &op->binfo, &op->upload, pn, len, &put);
    if (!e) {
        e = objsvc_put_copy(put, &src.m, start, len);
        if (e) objsvc_put_abort(put);
    }
    obj_meta m;
    if (!e) e = objsvc_put_finish(put, NULL, &m);
    if (e) return s3_error(op, e);
    char when[25], etag[64];
    iso_ms(m.mtime_ms, when);
    etag_quoted(op, m.etag, etag, sizeof etag);
    xml_start(op, "CopyPartResult");
    xml_elem_s(&op->r->resp.body, "LastModified", when);
    xml_elem_s(&op->r->resp.body, "ETag", etag);
    xml_end(op, "CopyPartResult");
}

/* Multipart ----------------------------------------------------------- */

static void op_create_upload(s3_op *op) {
    if (!load_bucket(op, false) || !key_storable(op) || refuse_headers(op, HR_CREATE_MPU)) return;
    uint8_t acl;
    if (!canned_acl(op, &acl)) return;
    obj_attr *attrs;
    uint32_t nattrs;
    if (collect_attrs(op, &attrs, &nattrs)) return s3_error(op, K_EMETADATATOOLARGE);
    obj_attr *tags;
    uint32_t ntags;
    if (!header_tags(op, &tags, &ntags)) return;
    const char *alg_name = header(op, "x-amz-checksum-algorithm");
    cksum_alg alg = CK_NONE;
    if (alg_name) {
        alg = cksum_alg_from_name(alg_name, strlen(alg_name));
        if (alg == CK_NONE) return s3_error(op, K_EINVALIDREQUEST);
    }
    const char *type_name = header(op, "x-amz-checksum-type");
    cksum_type type = alg == CK_CRC64NVME ? CKTYPE_FULL_OBJECT : CKTYPE_COMPOSITE;
    if (type_name) {
        if (!strcasecmp(type_name, "FULL_OBJECT"))
            type = CKTYPE_FULL_OBJECT;
        else if (!strcasecmp(type_name, "COMPOSITE"))
            type = CKTYPE_COMPOSITE;
        else
            return s3_error(op, K_EINVALIDREQUEST);
        if (type == CKTYPE_FULL_OBJECT && (alg == CK_SHA1 || alg == CK_SHA256))
            return s3_error(op, K_EINVALIDREQUEST);
    }
    char id[33];
    kerr e = objsvc_mpu_create(op->svc, op->a, &op->binfo, op->key, op->klen, attrs, nattrs, tags,
                               ntags, acl, alg, type, op->user, id);
    if (e) return s3_error(op, e);
    if (alg != CK_NONE) {
        gw_add_header(op->r, "x-amz-checksum-algorithm", cksum_alg_name(alg));
        gw_add_header(op->r, "x-amz-checksum-type",
                      type == CKTYPE_FULL_OBJECT ? "FULL_OBJECT" : "COMPOSITE");
    }
    xml_start(op, "InitiateMultipartUploadResult");
    kbuf *b = &op->r->resp.body;
    xml_elem_s(b, "Bucket", op->bucket);
    xml_elem(b, "Key", op->key, op->klen);
    xml_elem_s(b, "UploadId", id);
    xml_end(op, "InitiateMultipartUploadResult");
}

static void complete_complete_upload(s3_op *op) {
    mpu_complete_part *parts;
    size_t count;
    switch (s3_body_complete(op->a, op->xml.data, op->xml.len, (cksum_alg)op->upload.proto.ck_alg,
                             &parts, &count)) {
    case S3_COMPLETE_OK:
        break;
    case S3_COMPLETE_MALFORMED:
        return s3_error(op, K_EMALFORMEDXML);
    case S3_COMPLETE_INVALID_PART:
        return s3_error(op, K_EINVALIDPART);
    }
    obj_meta m;
    if (op->mpu_ck_parts >= 0 && (size_t)op->mpu_ck_parts != count)
        return s3_error(op, K_EBADDIGEST);
    kerr e = objsvc_mpu_complete(op->svc, op->a, &op->binfo, &op->upload, parts, count,
                                 &op->mpu_expect, &m);
    if (e == K_EINVALIDREQUEST)
        return s3_error_msg(op, K_EINVALIDREQUEST,
                            "The parts do not add up to the x-amz-mp-object-size given.");
    if (e) return s3_error(op, e);
    char etag[64];
    etag_quoted(op, m.etag, etag, sizeof etag);
    xml_start(op, "CompleteMultipartUploadResult");
    kbuf *b = &op->r->resp.body;
    const char *host = header(op, "host");
    kbuf loc = KBUF_INIT;
    kbuf_printf(&loc, "%s://%s/%s/", op->r->http.tls ? "https" : "http", host ? host : "localhost",
                op->bucket);
    url_encode(&loc, op->key, op->klen, true);
    xml_elem_s(b, "Location", loc.data);
    kbuf_free(&loc);
    xml_elem_s(b, "Bucket", op->bucket);
    xml_elem(b, "Key", op->key, op->klen);
    xml_elem_s(b, "ETag", etag);
    if (m.ck_alg != CK_NONE && m.ck_len) {
        char b64[64], name[32];
        base64_encode(m.ck, m.ck_len, b64);
        snprintf(name, sizeof name, "Checksum%s", cksum_alg_name((cksum_alg)m.ck_alg));
        const char *v =
            m.ck_type == CKTYPE_COMPOSITE ? arena_printf(op->a, "%s-%u", b64, m.nparts) : b64;
        xml_elem_s(b, name, v);
        xml_elem_s(b, "ChecksumType", m.ck_type == CKTYPE_COMPOSITE ? "COMPOSITE" : "FULL_OBJECT");
    }
    xml_end(op, "CompleteMultipartUploadResult");
}

/* The whole object's checksum a CompleteMultipartUpload declares
 * (x-amz-checksum-<alg>, with x-amz-checksum-type): it must be of the
 * upload's algorithm and type (400 InvalidRequest otherwise), and is checked
 * against the one computed before the object becomes visible (400
 * BadDigest). A composite value is "base64-N", N the number of parts.
 * Answers and returns false on a refusal. */
static bool mpu_declared_checksum(s3_op *op) {
    op->mpu_ck_parts = -1;
    cksum_alg alg = (cksum_alg)op->upload.proto.ck_alg;
    bool full = op->upload.proto.ck_type == CKTYPE_FULL_OBJECT &&
                (alg == CK_CRC32 || alg == CK_CRC32C || alg == CK_CRC64NVME);
    const char *type = header(op, "x-amz-checksum-type");
    if (type && (alg == CK_NONE || strcasecmp(type, full ? "FULL_OBJECT" : "COMPOSITE"))) {
        s3_error_msg(op, K_EINVALIDREQUEST,
                     "The x-amz-checksum-type does not match the checksum type the multipart "
                     "upload was created with.");
        return false;
    }
    for (int a = CK_NONE + 1; a < CK__COUNT; a++) {
        const char *v = header(op, s3_checksum_header((cksum_alg)a));
        if (!v) continue;
        if ((cksum_alg)a != alg) {
            s3_error_msg(op, K_EINVALIDREQUEST,
                         arena_printf(op->a,
                                      "The upload was created with %s%s; %s does not match it.",
                                      alg == CK_NONE ? "no checksum algorithm" : "the checksum ",
                                      alg == CK_NONE ? "" : cksum_alg_name(alg),
                                      s3_checksum_header((cksum_alg)a)));
            return false;
        }
        size_t n = strlen(v);
        const char *dash = full ? NULL : strrchr(v, '-');
        if (dash) {
            uint64_t parts;
            if (!parse_u64(dash + 1, strlen(dash + 1), &parts) || parts > OBJ_MAX_PARTS) {
                s3_error(op, K_EINVALIDDIGEST);
                return false;
            }
            op->mpu_ck_parts = (long)parts;
            n = (size_t)(dash - v);
        }
        int got = base64_decode(v, n, op->mpu_ck, sizeof op->mpu_ck);
        if (got < 0 || (size_t)got != cksum_len(alg)) {
            s3_error(op, K_EINVALIDDIGEST);
            return false;
        }
        op->mpu_expect.ck = op->mpu_ck;
        op->mpu_expect.ck_len = (size_t)got;
    }
    return true;
}

static void op_complete_upload(s3_op *op) {
    if (!load_bucket(op, false) || refuse_headers(op, HR_COMPLETE)) return;
    if (!load_upload(op, param(op, "uploadId"))) return;
    op->mpu_expect.size = OBJ_SIZE_UNKNOWN;
    const char *size = header(op, "x-amz-mp-object-size");
    if (size && !parse_u64(size, strlen(size), &op->mpu_expect.size))
        return s3_error_msg(op, K_EINVAL,
                            "x-amz-mp-object-size must be a decimal number of bytes.");
    if (!mpu_declared_checksum(op)) return;
    if (!write_conditions(op, false, &op->mpu_expect.cond)) return;
    expect_xml_body(op, complete_complete_upload);
}

static void op_abort_upload(s3_op *op) {
    if (!load_bucket(op, false)) return;
    if (!load_upload(op, param(op, "uploadId"))) return;
    kerr e = objsvc_mpu_abort(op->svc, &op->binfo, &op->upload);
    if (e) return s3_error(op, e);
    op->r->resp.no_body = true;
    gw_respond(op->r, 204);
}

static void op_list_parts(s3_op *op) {
    if (!load_bucket(op, false)) return;
    if (!load_upload(op, param(op, "uploadId"))) return;
    uint64_t marker = 0, max;
    const char *pm = param(op, "part-number-marker");
    if (pm && !parse_u64(pm, strlen(pm), &marker)) return s3_error(op, K_EINVAL);
    if (!parse_max(param(op, "max-parts"), 1000, 1000, &max)) return s3_error(op, K_EINVAL);
    part_info *parts;
    size_t n = 0;
    bool trunc = false;
    if (max) {
        kerr e = objsvc_mpu_list_parts(op->svc, op->a, &op->upload, (uint32_t)marker, (uint32_t)max,
                                       &parts, &n, &trunc);
        if (e) return s3_error(op, e);
    }
    xml_start(op, "ListPartsResult");
    kbuf *b = &op->r->resp.body;
    xml_elem_s(b, "Bucket", op->bucket);
    xml_elem(b, "Key", op->key, op->klen);
    xml_elem_s(b, "UploadId", op->upload.upload_id);
    kbuf_puts(b, "<Initiator>");
    xml_elem_s(b, "ID", op->upload.owner);
    xml_elem_s(b, "DisplayName", op->upload.owner);
    kbuf_puts(b, "</Initiator>");
    owner_xml(b, op->upload.owner);
    kbuf_puts(b, "<StorageClass>STANDARD</StorageClass>");
    kbuf_printf(b, "<PartNumberMarker>%llu</PartNumberMarker>", (unsigned long long)marker);
    if (n) kbuf_printf(b, "<NextPartNumberMarker>%u</NextPartNumberMarker>", parts[n - 1].number);
    kbuf_printf(b, "<MaxParts>%llu</MaxParts>", (unsigned long long)max);
    kbuf_printf(b, "<IsTruncated>%s</IsTruncated>", trunc ? "true" : "false");
    cksum_alg alg = (cksum_alg)op->upload.proto.ck_alg;
    if (alg != CK_NONE) xml_elem_s(b, "ChecksumAlgorithm", cksum_alg_name(alg));
    for (size_t i = 0; i < n; i++) {
        char when[25], hex[33];
        iso_ms(parts[i].mtime_ms, when);
        hex_encode(parts[i].md5, 16, hex);
        kbuf_puts(b, "<Part>");
        kbuf_printf(b, "<PartNumber>%u</PartNumber>", parts[i].number);
        xml_elem_s(b, "LastModified", when);
        kbuf_printf(b, "<ETag>&quot;%s&quot;</ETag>", hex);
        kbuf_printf(b, "<Size>%llu</Size>", (unsigned long long)parts[i].size);
        if (alg != CK_NONE && parts[i].ck_len) {
            char b64[64];
            base64_encode(parts[i].ck, parts[i].ck_len, b64);
            kbuf_printf(b, "<Checksum%s>%s</Checksum%s>", cksum_alg_name(alg), b64,
                        cksum_alg_name(alg));
        }
        kbuf_puts(b, "</Part>");
    }
    xml_end(op, "ListPartsResult");
}

static void op_list_uploads(s3_op *op) {
    if (!load_bucket(op, true)) return;
    list_params lp;
    if (!read_list_params(op, &lp, NULL, "max-uploads")) return;
    const char *key_marker = param(op, "key-marker");
    const char *id_marker = param(op, "upload-id-marker");
    kbuf after = KBUF_INIT;
    if (key_marker && *key_marker) {
        kbuf_puts(&after, key_marker);
        if (id_marker && *id_marker) {
            kbuf_putc(&after, 0);
            kbuf_puts(&after, id_marker);
        } else {
            kbuf_putc(&after, 1); /* after every upload of key_marker */
        }
    }
    mpu_list_entry *ents = NULL;
    size_t n = 0;
    bool trunc = false;
    if (lp.max) {
        obj_list_req req = {.prefix = lp.prefix,
                            .prefix_len = lp.prefix_len,
                            .start_after = after.len ? after.data : NULL,
                            .start_after_len = after.len,
                            .delim = lp.delim_len ? lp.delim : NULL,
                            .delim_len = lp.delim_len,
                            .max_entries = lp.max};
        kerr e = objsvc_mpu_list(op->svc, op->a, &op->binfo, &req, &ents, &n, &trunc);
        if (e) {
            kbuf_free(&after);
            return s3_error(op, e);
        }
    }
    kbuf_free(&after);
    xml_start(op, "ListMultipartUploadsResult");
    kbuf *b = &op->r->resp.body;
    xml_elem_s(b, "Bucket", op->bucket);
    xml_elem_enc(b, "KeyMarker", key_marker ? key_marker : "", key_marker ? strlen(key_marker) : 0,
                 lp.url);
    xml_elem_s(b, "UploadIdMarker", id_marker ? id_marker : "");
    if (trunc && n) {
        mpu_list_entry *last = &ents[n - 1];
        if (last->is_prefix) {
            xml_elem_enc(b, "NextKeyMarker", last->prefix, last->prefix_len, lp.url);
        } else {
            xml_elem_enc(b, "NextKeyMarker", last->u.key, last->u.klen, lp.url);
            xml_elem_s(b, "NextUploadIdMarker", last->u.upload_id);
        }
    }
    xml_elem_enc(b, "Prefix", lp.prefix ? lp.prefix : "", lp.prefix_len, lp.url);
    if (lp.delim) xml_elem_enc(b, "Delimiter", lp.delim, lp.delim_len, lp.url);
    kbuf_printf(b, "<MaxUploads>%llu</MaxUploads>", (unsigned long long)lp.max);
    if (lp.url) xml_elem_s(b, "EncodingType", "url");
    kbuf_printf(b, "<IsTruncated>%s</IsTruncated>", trunc ? "true" : "false");
    for (size_t i = 0; i < n; i++) {
        if (ents[i].is_prefix) continue;
        char when[25];
        iso_ms(ents[i].u.initiated_ms, when);
        kbuf_puts(b, "<Upload>");
        xml_elem_enc(b, "Key", ents[i].u.key, ents[i].u.klen, lp.url);
        xml_elem_s(b, "UploadId", ents[i].u.upload_id);
        kbuf_puts(b, "<Initiator>");
        xml_elem_s(b, "ID", ents[i].u.owner);
        xml_elem_s(b, "DisplayName", ents[i].u.owner);
        kbuf_puts(b, "</Initiator>");
        owner_xml(b, ents[i].u.owner);
        kbuf_puts(b, "<StorageClass>STANDARD</StorageClass>");
        xml_elem_s(b, "Initiated", when);
        kbuf_puts(b, "</Upload>");
    }
    for (size_t i = 0; i < n; i++) {
        if (!ents[i].is_prefix) continue;
        kbuf_puts(b, "<CommonPrefixes>");
        xml_elem_enc(b, "Prefix", ents[i].prefix, ents[i].prefix_len, lp.url);
        kbuf_puts(b, "</CommonPrefixes>");
    }
    xml_end(op, "ListMultipartUploadsResult");
}

/* ------------------------------------------------------------- routing */

/* GET of a bucket sub-resource kura does not store: answers as AWS does for
 * a bucket that has none configured, and returns true; false when sub is
 * not one of these. */
static bool answer_unconfigured(s3_op *op, const char *sub) {
    static const struct {
        const char *param;
        kerr answer;
    } table[] = {
        {"policy", K_ENOSUCHBUCKETPOLICY},
        /* PolicyStatus describes the bucket policy, which kura never has */
        {"policyStatus", K_ENOSUCHBUCKETPOLICY},
        {"cors", K_ENOSUCHCORS},
        {"lifecycle", K_ENOSUCHLIFECYCLE},
        {"website", K_ENOSUCHWEBSITE},
        {"encryption", K_ENOSSECONFIG},
        {"object-lock", K_ENOLOCKCONFIG},
        {"replication", K_ENOREPLICATION},
        {"ownershipControls", K_ENOOWNERSHIPCONTROLS},
        {"publicAccessBlock", K_ENOPUBLICACCESSBLOCK},
    };
    for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
        if (strcmp(sub, table[i].param)) continue;
        if (load_bucket(op, false)) s3_error(op, table[i].answer);
        return true;
    }
    static const char *const empty_docs[][2] = {
        {"logging", "BucketLoggingStatus"},
        {"notification", "NotificationConfiguration"},
        {"requestPayment", "RequestPaymentConfiguration"},
        {"accelerate", "AccelerateConfiguration"},
    };
    for (size_t i = 0; i < sizeof empty_docs / sizeof *empty_docs; i++) {
        if (strcmp(sub, empty_docs[i][0])) continue;
        if (!load_bucket(op, false)) return true;
        xml_start(op, empty_docs[i][1]);
        if (!strcmp(empty_docs[i][0], "requestPayment"))
            kbuf_puts(&op->r->resp.body, "<Payer>BucketOwner</Payer>");
        xml_end(op, empty_docs[i][1]);
        return true;
    }
    return false;
}

/* A sub-resource (or a method on it) kura does not implement. */
static void unsupported_subresource(s3_op *op, const char *sub, bool known) {
    const char *m = op->r->http.method;
    s3_notimpl(op, arena_printf(op->a,
                                known ? "%s ?%s is not implemented."
                                      : "%s ?%s: unknown sub-resource, not implemented.",
                                m, sub));
}

/* ------------------------------------------------------ the route table
 * A request is routed by its level (service, bucket, object), method,
 * sub-resource (the first one, s3_rules.h) and whether it names a copy
 * source. The first matching row wins. Flags:
 * - R_VERSION: takes ?versionId, which must be "null" (kura keeps one
 *   version), checked before the handler;
 * - R_BODY_FIRST: the handler reads its body through setup_body, whose
 *   payload-hash check runs before the operation takes effect. A request
 *   whose signature can only be checked against its body (auth.h:
 *   body_hash_deferred, with --allow-missing-content-sha256) is
 *   unauthenticated until then, so it may reach only these rows: any other
 *   operation would act with the signature unchecked. Conditional object
 *   writes are not among them: they answer from the object's state (412,
 *   404) before reading the body. */
typedef enum route_level { LV_SERVICE, LV_BUCKET, LV_OBJECT } route_level;
enum { CP_ANY = 0, CP_NO, CP_YES };
enum { R_VERSION = 1, R_BODY_FIRST = 2 };

typedef struct s3_route {
    uint8_t level;
    const char *method;
    const char *sub; /* NULL: no sub-resource */
    uint8_t copy;    /* CP_*: x-amz-copy-source absent / present / either */
    uint8_t flags;
    void (*handler)(s3_op *op);
    const char *name; /* the S3 operation */
} s3_route;

static void op_list_objects(s3_op *op) {
    const char *lt = param(op, "list-type");
    if (lt && !strcmp(lt, "2")) return op_list_objects_v2(op);
    if (lt && strcmp(lt, "1")) return s3_error_msg(op, K_EINVAL, "Invalid list-type.");
    op_list_objects_v1(op);
}

static void op_post_object(s3_op *op); /* POST Object, below the authentication */

static void op_method_not_allowed(s3_op *op) {
    s3_error(op, K_EMETHODNOTALLOWED);
}

static const s3_route routes[] = {
    {LV_SERVICE, "GET", NULL, CP_ANY, 0, op_list_buckets, "ListBuckets"},

    {LV_BUCKET, "GET", NULL, CP_ANY, 0, op_list_objects, "ListObjects"},
    {LV_BUCKET, "GET", "location", CP_ANY, 0, op_bucket_location, "GetBucketLocation"},
    {LV_BUCKET, "GET", "versioning", CP_ANY, 0, op_bucket_versioning, "GetBucketVersioning"},
    {LV_BUCKET, "GET", "acl", CP_ANY, 0, op_get_bucket_acl, "GetBucketAcl"},
    {LV_BUCKET, "GET", "uploads", CP_ANY, 0, op_list_uploads, "ListMultipartUploads"},
    {LV_BUCKET, "GET", "versions", CP_ANY, 0, op_list_object_versions, "ListObjectVersions"},
    {LV_BUCKET, "HEAD", NULL, CP_ANY, 0, op_head_bucket, "HeadBucket"},
    {LV_BUCKET, "PUT", NULL, CP_ANY, R_BODY_FIRST, op_create_bucket, "CreateBucket"},
    {LV_BUCKET, "PUT", "acl", CP_ANY, R_BODY_FIRST, op_put_bucket_acl, "PutBucketAcl"},
    {LV_BUCKET, "GET", "tagging", CP_ANY, 0, op_get_bucket_tagging, "GetBucketTagging"},
    {LV_BUCKET, "PUT", "tagging", CP_ANY, R_BODY_FIRST, op_put_bucket_tagging, "PutBucketTagging"},
    {LV_BUCKET, "DELETE", "tagging", CP_ANY, 0, op_delete_bucket_tagging, "DeleteBucketTagging"},
    {LV_BUCKET, "DELETE", NULL, CP_ANY, 0, op_delete_bucket, "DeleteBucket"},
    {LV_BUCKET, "POST", "delete", CP_ANY, R_BODY_FIRST, op_delete_objects, "DeleteObjects"},
    {LV_BUCKET, "POST", NULL, CP_ANY, 0, op_post_object, "PostObject"},

    {LV_OBJECT, "GET", "uploadId", CP_ANY, 0, op_list_parts, "ListParts"},
    {LV_OBJECT, "GET", NULL, CP_ANY, R_VERSION, op_get_object, "GetObject"},
    {LV_OBJECT, "GET", "acl", CP_ANY, R_VERSION, op_get_object_acl, "GetObjectAcl"},
    {LV_OBJECT, "GET", "tagging", CP_ANY, R_VERSION, op_get_object_tagging, "GetObjectTagging"},
    {LV_OBJECT, "HEAD", NULL, CP_ANY, R_VERSION, op_get_object, "HeadObject"},
    {LV_OBJECT, "PUT", "uploadId", CP_YES, 0, op_upload_part_copy, "UploadPartCopy"},
    {LV_OBJECT, "PUT", "uploadId", CP_NO, R_BODY_FIRST, op_upload_part, "UploadPart"},
    {LV_OBJECT, "PUT", "acl", CP_ANY, R_VERSION | R_BODY_FIRST, op_put_object_acl, "PutObjectAcl"},
    {LV_OBJECT, "PUT", "tagging", CP_ANY, R_VERSION | R_BODY_FIRST, op_put_object_tagging,
     "PutObjectTagging"},
    {LV_OBJECT, "PUT", NULL, CP_YES, 0, op_copy_object, "CopyObject"},
    {LV_OBJECT, "PUT", NULL, CP_NO, R_BODY_FIRST, op_put_object, "PutObject"},
    {LV_OBJECT, "POST", "uploads", CP_ANY, 0, op_create_upload, "CreateMultipartUpload"},
    {LV_OBJECT, "POST", "uploadId", CP_ANY, R_BODY_FIRST, op_complete_upload,
     "CompleteMultipartUpload"},
    {LV_OBJECT, "POST", NULL, CP_ANY, 0, op_method_not_allowed, "PostObjectKey"},
    {LV_OBJECT, "DELETE", "uploadId", CP_ANY, 0, op_abort_upload, "AbortMultipartUpload"},
    {LV_OBJECT, "DELETE", "tagging", CP_ANY, R_VERSION, op_delete_object_tagging,
     "DeleteObjectTagging"},
    {LV_OBJECT, "DELETE", NULL, CP_ANY, R_VERSION, op_delete_object, "DeleteObject"},
};

static route_level level_of(const s3_op *op) {
    return !op->bucket ? LV_SERVICE : !op->key ? LV_BUCKET : LV_OBJECT;
}

/* The row for op, or NULL. */
static const s3_route *find_route(s3_op *op, const char *sub) {
    route_level lv = level_of(op);
    const char *m = op->r->http.method;
    bool copy = header(op, "x-amz-copy-source") != NULL;
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++) {
        const s3_route *rt = &routes[i];
        if (rt->level != lv || strcmp(rt->method, m)) continue;
        if (rt->sub ? !sub || strcmp(rt->sub, sub) : sub != NULL) continue;
        if (rt->copy != CP_ANY && (rt->copy == CP_YES) != copy) continue;
        return rt;
    }
    return NULL;
}

/* See R_BODY_FIRST. */
static bool checks_body_first(s3_op *op, const s3_route *rt) {
    if (!rt || !(rt->flags & R_BODY_FIRST)) return false;
    if (level_of(op) == LV_OBJECT && (header(op, "if-match") || header(op, "if-none-match")))
        return false;
    return true;
}

/* Runs the row for op; without one, answers what AWS answers: an empty or
 * "not configured" document for bucket sub-resources kura never stores,
 * 501 for a sub-resource (or a method on it) kura does not implement, 405
 * for anything else. */
static void route(s3_op *op, const s3_route *rt, const char *sub, bool known) {
    route_level lv = level_of(op);
    const char *m = op->r->http.method;
    if (lv == LV_OBJECT && op->klen > OBJ_MAX_KEY) return s3_error(op, K_EKEYTOOLONG);
    if (rt) {
        if ((rt->flags & R_VERSION) && !version_is_null(op)) return;
        return rt->handler(op);
    }
    bool known_method = false;
    for (size_t i = 0; i < sizeof routes / sizeof *routes && !known_method; i++)
        known_method = routes[i].level == lv && !strcmp(routes[i].method, m);
    if (!known_method) return s3_error(op, K_EMETHODNOTALLOWED);
    bool versioned = !strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "DELETE");
    if (lv == LV_OBJECT && versioned && !version_is_null(op)) return;
    if (!sub) return s3_error(op, K_EMETHODNOTALLOWED);
    if (lv == LV_BUCKET && !strcmp(m, "GET") && known && answer_unconfigured(op, sub)) return;
    unsupported_subresource(op, sub, known);
}

static kerr lookup_secret(void *ctx, const char *access_key, arena *a, const char **secret,
                          const char **user) {
    s3_op *op = ctx;
    s3_frontend *fe = op->fe;
    if (fe->o.root_access_key && !strcmp(access_key, fe->o.root_access_key)) {
        *secret = fe->o.root_secret_key;
        *user = "root";
        return K_OK;
    }
    return users_get_roles(fe->o.users, a, access_key, secret, user, &op->roles);
}

/* Splits Host into a virtual-host bucket when it is "<bucket>.<domain>". */
static const char *vhost_bucket(s3_frontend *fe, arena *a, const char *host) {
    if (!host) return NULL;
    size_t hl = strlen(host);
    const char *colon = strrchr(host, ':');
    if (colon && !strchr(colon, ']')) hl = (size_t)(colon - host);
    for (size_t i = 0; i < fe->o.ndomains; i++) {
        const char *d = fe->o.domains[i];
        size_t dl = strlen(d);
        if (hl > dl + 1 && host[hl - dl - 1] == '.' && !strncasecmp(host + hl - dl, d, dl))
            return arena_strndup(a, host, hl - dl - 1);
    }
    return NULL;
}

/* Answers an auth_verify failure, with the detail elements AWS adds. */
static void auth_error(s3_op *op, kerr e) {
    const kerr_info *info = kerr_lookup(e);
    if (e == K_EHEADERSNOTSIGNED && op->auth.headers_not_signed)
        return s3_error_extra(op, info->s3_status, info->s3_code, info->message, "HeadersNotSigned",
                              op->auth.headers_not_signed);
    if ((e == K_EWRONGREGION || e == K_EWRONGREGIONQUERY) && op->auth.wrong_region) {
        const char *what = e == K_EWRONGREGION ? "The authorization header is malformed"
                                               : "Error parsing the X-Amz-Credential parameter";
        const char *msg = arena_printf(op->a, "%s; the region '%s' is wrong; expecting '%s'", what,
                                       op->auth.wrong_region, op->fe->auth.region);
        return s3_error_extra(op, info->s3_status, info->s3_code, msg, "Region",
                              op->fe->auth.region);
    }
    s3_error(op, e);
}

/* ----------------------------------------------------------- POST Object */

/* Browser-based uploads (AWS "POST Object"): a multipart/form-data body
 * whose fields, before the one named "file", play the part of PutObject's
 * headers and carry their own authentication (a signed POST policy). The
 * fields are bounded (POST_MAX_FIELDS bytes); the file streams into the
 * object service; fields after it are ignored, as AWS does. Nothing is
 * stored unless the whole form is well formed, authenticated, allowed by
 * its policy and within its content-length-range. */
enum { POST_MAX_FIELDS = 20 << 10 };

/* Records a failure in the AWS wording (the first one wins). */
static int post_fail(s3_op *op, int status, const char *code, const char *message) {
    s3_error_extra(op, status, code, message, NULL, NULL);
    return FORMDATA_ABORT;
}

static int post_fail_k(s3_op *op, kerr e, const char *message) {
    s3_error_msg(op, e, message);
    return FORMDATA_ABORT;
}

/* a == b in time independent of where they differ; fold: hex digits in
 * any case. */
static bool sig_eq(const char *a, const char *b, bool fold) {
    size_t n = strlen(a);
    if (strlen(b) != n) return false;
    unsigned d = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (fold && x >= 'A' && x <= 'F') x += 32;
        if (fold && y >= 'A' && y <= 'F') y += 32;
        d |= x ^ y;
    }
    return d == 0;
}

/* The form's signature over its policy (SigV4 or SigV2): sets op->user and
 * op->who. Without a policy the upload is anonymous. */
static bool post_auth(s3_op *op, const char *policy) {
    s3post *p = op->post;
    const char *alg = post_field(p, "x-amz-algorithm"), *cred = post_field(p, "x-amz-credential"),
               *date = post_field(p, "x-amz-date"), *sig4 = post_field(p, "x-amz-signature"),
               *ak2 = post_field(p, "awsaccesskeyid"), *sig2 = post_field(p, "signature");
    op->user = NULL;
    op->roles = 0;
    if (!policy) {
        if (alg || cred || sig4 || ak2 || sig2) {
            post_fail(op, 400, "InvalidArgument",
                      "Bucket POST must contain a field named 'policy'.  If it is specified, "
                      "please check the order of the fields.");
            return false;
        }
        op->who = objsvc_principal_roles(op->a, NULL, false);
        return true;
    }
    const char *secret, *user;
    bool ok;
    if (alg || cred || sig4) {
        if (!alg || strcmp(alg, "AWS4-HMAC-SHA256")) {
            post_fail(op, 400, "InvalidArgument",
                      "Only AWS4-HMAC-SHA256 is supported as x-amz-algorithm.");
            return false;
        }
        const char *missing = !cred   ? "x-amz-credential"
                              : !date ? "x-amz-date"
                              : !sig4 ? "x-amz-signature"
                                      : NULL;
        if (missing) {
            post_fail(op, 400, "InvalidArgument",
                      arena_printf(op->a,
                                   "Bucket POST must contain a field named '%s'.  If it "
                                   "is specified, please check the order of the fields.",
                                   missing));
            return false;
        }
        /* AK/yyyymmdd/region/s3/aws4_request */
        char *parts[5];
        char *c = arena_strdup(op->a, cred);
        int np = 0;
        for (char *t = c; np < 5; np++) {
            parts[np] = t;
            char *slash = strchr(t, '/');
            if (!slash) {
                np++;
                break;
            }
            *slash = 0;
            t = slash + 1;
        }
        time_t when;
        if (np != 5 || !*parts[0] || strlen(parts[1]) != 8 || strchr(parts[4], '/') ||
            strcmp(parts[3], "s3") || strcmp(parts[4], "aws4_request") || strlen(date) != 16 ||
            !parse_iso8601_basic(date, &when) || strncmp(date, parts[1], 8)) {
            post_fail(op, 400, "InvalidArgument",
                      "Invalid according to Policy: x-amz-credential or x-amz-date is malformed.");
            return false;
        }
        if (strcmp(parts[2], op->fe->auth.region)) {
            op->auth.wrong_region = parts[2];
            auth_error(op, K_EWRONGREGION);
            return false;
        }
        kerr e = lookup_secret(op, parts[0], op->a, &secret, &user);
        if (e) {
            auth_error(op, e);
            return false;
        }
        uint8_t key[32], mac[32];
        char hex[65];
        sigv4_signing_key(secret, parts[1], parts[2], "s3", key);
        hmac_sha256(key, 32, policy, strlen(policy), mac);
        hex_encode(mac, 32, hex);
        ok = sig_eq(hex, sig4, true);
    } else {
        if (!ak2 || !sig2) {
            post_fail(op, 400, "InvalidArgument",
                      arena_printf(op->a,
                                   "Bucket POST must contain a field named '%s'.  If it "
                                   "is specified, please check the order of the fields.",
                                   !ak2 ? "AWSAccessKeyId" : "signature"));
            return false;
        }
        kerr e = lookup_secret(op, ak2, op->a, &secret, &user);
        if (e) {
            auth_error(op, e);
            return false;
        }
        uint8_t mac[20];
        char b64[32];
        hmac_sha1(secret, strlen(secret), policy, strlen(policy), mac);
        base64_encode(mac, 20, b64);
        ok = sig_eq(b64, sig2, false);
    }
    if (!ok) {
        s3_error(op, K_ESIGNATURE);
        return false;
    }
    op->user = user;
    op->who =
        objsvc_principal_roles(op->a, user, op->roles & (USER_ROLE_ADMIN | USER_ROLE_RESELLER));
    return true;
}

/* Form fields kura cannot honour that PutObject's headers have no
 * refusal for (they are checked as headers there). */
static bool post_refuse_fields(s3_op *op) {
    s3post *p = op->post;
    for (uint32_t i = 0; i < p->nfields; i++) {
        const char *n = p->fields[i].name;
        if (!strncmp(n, "x-amz-checksum-", 15) || !strcmp(n, "content-md5")) {
            s3_notimpl(op, arena_printf(op->a,
                                        "The form field %s is not implemented for POST "
                                        "uploads.",
                                        n));
            return false;
        }
        if (!strcmp(n, "x-amz-acl") || !strcmp(n, "x-amz-tagging")) {
            s3_notimpl(op, arena_printf(op->a, "The form field %s is not one POST takes (%s).", n,
                                        !strcmp(n, "x-amz-acl") ? "acl" : "tagging"));
            return false;
        }
        if (!strcmp(n, "x-amz-security-token")) {
            s3_notimpl(op, "Temporary credentials (x-amz-security-token) are not implemented.");
            return false;
        }
    }
    return true;
}

/* Whether v can be sent as a header value: no control character but tab
 * (a form field, unlike a request header, may hold CR and LF). */
static bool header_value_ok(const char *v) {
    for (; *v; v++)
        if (((unsigned char)*v < 0x20 && *v != '\t') || *v == 0x7f) return false;
    return true;
}

/* Whether n is an HTTP header name (RFC 9110 token). */
static bool header_name_ok(const char *n) {
    if (!*n) return false;
    for (; *n; n++)
        if (!((*n >= 'a' && *n <= 'z') || (*n >= '0' && *n <= '9') ||
              strchr("!#$%&'*+-.^_`|~", *n)))
            return false;
    return true;
}

/* The object's stored headers from the form: the representation fields and
 * x-amz-meta-*, Content-Type defaulting to the file part's. Fields that
 * become response headers (these and the redirect) must be header text. */
static bool post_attrs(s3_op *op, const char *file_ctype, obj_attr **out, uint32_t *n) {
    s3post *p = op->post;
    obj_attr *attrs = arena_alloc(op->a, (p->nfields + 1) * sizeof *attrs);
    uint32_t count = 0;
    size_t meta_bytes = 0;
    bool has_type = false;
    for (uint32_t i = 0; i < p->nfields; i++) {
        const char *name = p->fields[i].name;
        bool keep = !strncmp(name, "x-amz-meta-", 11);
        if (keep) meta_bytes += strlen(name) - 11 + strlen(p->fields[i].value);
        for (size_t j = 0; !keep && j < sizeof stored_headers / sizeof *stored_headers; j++)
            keep = !strcmp(name, stored_headers[j]);
        if (!keep && strcmp(name, "success_action_redirect") && strcmp(name, "redirect")) continue;
        if (!header_value_ok(p->fields[i].value) || !header_name_ok(name)) {
            s3_error_msg(op, K_EINVAL,
                         arena_printf(op->a,
                                      "The form field %s is not header text (a control character, "
                                      "or a name that is not a token).",
                                      name));
            return false;
        }
        if (!keep) continue;
        has_type |= !strcmp(name, "content-type");
        attrs[count++] = p->fields[i];
    }
    if (meta_bytes > 2048) {
        s3_error(op, K_EMETADATATOOLARGE);
        return false;
    }
    if (!has_type)
        attrs[count++] =
            (obj_attr){.name = "content-type",
                       .value = arena_strdup(
                           op->a, file_ctype && *file_ctype ? file_ctype : "binary/octet-stream")};
    *out = attrs;
    *n = count;
    return true;
}

/* The file part begins: every check, then the upload. */
static int post_file_begin(s3_op *op, const char *filename, const char *ctype) {
    s3post *p = op->post;
    p->file_seen = true;
    const char *key = post_field(p, "key");
    if (!key)
        return post_fail(op, 400, "InvalidArgument",
                         "Bucket POST must contain a field named 'key'.  If it is specified, "
                         "please check the order of the fields.");
    const char *policy = post_field(p, "policy");
    if (!post_auth(op, policy)) return FORMDATA_ABORT;
    if (policy) {
        const char *msg;
        switch (s3_post_policy_check(op->a, policy, op->bucket, p->fields, p->nfields,
                                     clock_real_s(), &p->range, &msg)) {
        case S3P_OK:
            break;
        case S3P_MALFORMED:
            return post_fail(op, 400, "InvalidPolicyDocument", msg);
        default:
            return post_fail_k(op, K_EACCESSDENIED, msg);
        }
    } else {
        p->range = (s3p_range){0, UINT64_MAX};
    }
    /* ${filename} in the key is the file's name */
    kbuf k = KBUF_INIT;
    for (const char *s = key; *s;) {
        const char *v = strstr(s, "${filename}");
        size_t n = v ? (size_t)(v - s) : strlen(s);
        kbuf_append(&k, s, n);
        if (!v) break;
        if (filename) kbuf_puts(&k, filename);
        s = v + 11;
    }
    op->klen = k.len;
    op->key = arena_strndup(op->a, k.data ? k.data : "", k.len);
    kbuf_free(&k);
    if (!op->klen) return post_fail_k(op, K_EINVAL, "User key must have a length greater than 0.");
    if (op->klen > OBJ_MAX_KEY) return post_fail_k(op, K_EKEYTOOLONG, NULL);
    p->form_headers = true;
    uint8_t acl = 0;
    bool ok = open_bucket(op, BUCKET_OWNER) && key_storable(op) && !refuse_headers(op, HR_PUT) &&
              post_refuse_fields(op) && canned_acl(op, &acl);
    p->form_headers = false;
    if (!ok) return FORMDATA_ABORT;
    obj_attr *attrs;
    uint32_t nattrs;
    if (!post_attrs(op, ctype, &attrs, &nattrs)) return FORMDATA_ABORT;
    /* the tagging field holds a Tagging document */
    obj_attr *tags = NULL;
    uint32_t ntags = 0;
    const char *tagging = post_field(p, "tagging");
    if (tagging) {
        if (!s3_body_tagging(op->a, tagging, strlen(tagging), &tags, &ntags))
            return post_fail_k(op, K_EMALFORMEDXML, NULL);
        if (!tags_ok(op, tags, ntags, OBJ_MAX_TAGS)) return FORMDATA_ABORT;
    }
    obj_put_opts o = {.size = OBJ_SIZE_UNKNOWN,
                      .attrs = attrs,
                      .nattrs = nattrs,
                      .acl = acl,
                      .tags = tags,
                      .ntags = ntags};
    kerr e = objsvc_put_begin(op->svc, op->a, &op->binfo, op->key, op->klen, &o, &op->put);
    if (e) return post_fail_k(op, e, NULL);
    p->in_file = true;
    p->written = 0;
    return FORMDATA_CONTINUE;
}

static int post_begin(void *ctx, const char *name, const char *filename, const char *ctype) {
    s3_op *op = ctx;
    s3post *p = op->post;
    if (p->code) return FORMDATA_ABORT;
    if (p->file_seen) return FORMDATA_SKIP; /* fields after the file do not count */
    if (!strcasecmp(name, "file")) return post_file_begin(op, filename, ctype);
    p->field_bytes += strlen(name);
    if (p->field_bytes > POST_MAX_FIELDS)
        return post_fail(op, 400, "MaxPostPreDataLengthExceeded",
                         "Your POST request fields preceding the upload file were too large.");
    char *lname = arena_strdup(op->a, name);
    for (char *c = lname; *c; c++)
        if (*c >= 'A' && *c <= 'Z') *c = (char)(*c + 32);
    if (post_field(p, lname))
        return post_fail_k(
            op, K_EINVAL, arena_printf(op->a, "The form field %s is given more than once.", lname));
    p->name = lname;
    kbuf_reset(&p->value);
    return FORMDATA_CONTINUE;
}

static int post_data(void *ctx, const void *d, size_t n) {
    s3_op *op = ctx;
    s3post *p = op->post;
    if (p->code) return FORMDATA_ABORT;
    if (!p->in_file) {
        p->field_bytes += n;
        if (p->field_bytes > POST_MAX_FIELDS)
            return post_fail(op, 400, "MaxPostPreDataLengthExceeded",
                             "Your POST request fields preceding the upload file were too large.");
        kbuf_append(&p->value, d, n);
        return FORMDATA_CONTINUE;
    }
    if (n > p->range.max - p->written)
        return post_fail_k(op, K_EENTITYTOOLARGE,
                           "Your proposed upload exceeds the maximum allowed size");
    kerr e = objsvc_put_write(op->put, d, n);
    if (e) return post_fail_k(op, e, NULL);
    p->written += n;
    return FORMDATA_CONTINUE;
}

static int post_end(void *ctx) {
    s3_op *op = ctx;
    s3post *p = op->post;
    if (p->code) return FORMDATA_ABORT;
    if (p->in_file) {
        p->in_file = false;
        p->file_done = true;
        return FORMDATA_CONTINUE;
    }
    const char *v = p->value.data ? p->value.data : "";
    if (memchr(v, 0, p->value.len))
        return post_fail(op, 400, "MalformedPOSTRequest",
                         "The body of your POST request is not well-formed multipart/form-data.");
    if (p->nfields == p->cap) {
        uint32_t cap = p->cap ? 2 * p->cap : 16;
        obj_attr *na = arena_alloc(op->a, cap * sizeof *na);
        if (p->nfields) memcpy(na, p->fields, p->nfields * sizeof *na);
        p->fields = na;
        p->cap = cap;
    }
    p->fields[p->nfields++] =
        (obj_attr){.name = p->name, .value = arena_strndup(op->a, v, p->value.len)};
    return FORMDATA_CONTINUE;
}

static const formdata_cb post_cb = {post_begin, post_data, post_end};

static void post_release(s3_op *op) {
    s3post *p = op->post;
    release_upload(op);
    if (!p) return;
    formdata_free(p->fd);
    p->fd = NULL;
    kbuf_free(&p->value);
}

static kerr post_on_body(gw_req *r, const char *data, size_t n) {
    s3_op *op = r->fe;
    s3post *p = op->post;
    if (!p->code) formdata_feed(p->fd, data, n); /* a failure is answered at the end */
    return K_OK;
}

static void post_on_abort(gw_req *r) {
    post_release(r->fe);
}

/* "?bucket=..&key=..&etag=.." appended to a success_action_redirect URL. */
static const char *post_redirect(s3_op *op, const char *url, const char *etag) {
    kbuf b = KBUF_INIT;
    kbuf_puts(&b, url);
    kbuf_putc(&b, strchr(url, '?') ? '&' : '?');
    kbuf_puts(&b, "bucket=");
    url_encode(&b, op->bucket, strlen(op->bucket), false);
    kbuf_puts(&b, "&key=");
    url_encode(&b, op->key, op->klen, false);
    kbuf_puts(&b, "&etag=");
    url_encode(&b, etag, strlen(etag), false);
    const char *s = arena_strndup(op->a, b.data, b.len);
    kbuf_free(&b);
    return s;
}

static void post_on_done(gw_req *r) {
    s3_op *op = r->fe;
    s3post *p = op->post;
    if (!p->code && formdata_finish(p->fd))
        post_fail(op, 400, "MalformedPOSTRequest",
                  "The body of your POST request is not well-formed multipart/form-data.");
    if (!p->code && !gw_body_complete(r)) s3_error(op, K_EINCOMPLETEBODY);
    if (!p->code && !p->file_done)
        post_fail(op, 400, "InvalidArgument", "POST requires exactly one file upload per request.");
    if (!p->code && p->written < p->range.min)
        post_fail_k(op, K_EENTITYTOOSMALL,
                    "Your proposed upload is smaller than the minimum allowed size");
    obj_meta m;
    if (!p->code) {
        obj_put *put = op->put;
        op->put = NULL; /* finish consumes it */
        kerr e = objsvc_put_finish(put, NULL, &m);
        if (e) s3_error(op, e);
    }
    p->capturing = false;
    post_release(op);
    if (p->code)
        return s3_error_extra(op, p->status, p->code, p->message, p->extra_name, p->extra_value);
    char etag[64];
    etag_quoted(op, m.etag, etag, sizeof etag);
    gw_add_header(op->r, "ETag", etag);
    const char *host = header(op, "host");
    kbuf loc = KBUF_INIT;
    kbuf_printf(&loc, "%s://%s/", r->http.tls ? "https" : "http", host ? host : "");
    if (!op->vhost_bucket) {
        url_encode(&loc, op->bucket, strlen(op->bucket), false);
        kbuf_putc(&loc, '/');
    }
    url_encode(&loc, op->key, op->klen, true);
    const char *location = arena_strndup(op->a, loc.data, loc.len);
    kbuf_free(&loc);
    const char *redirect = post_field(p, "success_action_redirect");
    if (!redirect) redirect = post_field(p, "redirect");
    if (redirect && *redirect) {
        gw_add_header(op->r, "Location", post_redirect(op, redirect, etag));
        op->r->resp.no_body = true;
        return gw_respond(op->r, 303);
    }
    gw_add_header(op->r, "Location", location);
    const char *st = post_field(p, "success_action_status");
    if (st && !strcmp(st, "201")) {
        kbuf *b = &op->r->resp.body;
        kbuf_reset(b);
        kbuf_puts(b, XML_DECL "<PostResponse>");
        xml_elem_s(b, "Location", location);
        xml_elem_s(b, "Bucket", op->bucket);
        xml_elem(b, "Key", op->key, op->klen);
        xml_elem_s(b, "ETag", etag);
        kbuf_puts(b, "</PostResponse>");
        gw_add_header(op->r, "Content-Type", "application/xml");
        return gw_respond(op->r, 201);
    }
    op->r->resp.no_body = true;
    gw_respond(op->r, st && !strcmp(st, "200") ? 200 : 204);
}

static void op_post_object(s3_op *op) {
    const char *ct = http_header_get(&op->r->http, "content-type");
    s3post *p = arena_zalloc(op->a, sizeof *p);
    kbuf_init(&p->value);
    if (!ct || formdata_new(ct, &post_cb, op, &p->fd))
        return s3_error_extra(op, 400, "MalformedPOSTRequest",
                              "Bucket POST must be of the enclosure-type multipart/form-data", NULL,
                              NULL);
    op->post = p;
    p->capturing = true;
    op->r->fe = op;
    op->r->on_body = post_on_body;
    op->r->on_done = post_on_done;
    op->r->on_abort = post_on_abort;
}

/* Metrics operation of each route (gateway/metrics.h), interned once at
 * s3_frontend_new; ListObjects with list-type=2 counts as ListObjectsV2. */
static uint16_t route_ops[sizeof routes / sizeof *routes];
static uint16_t op_list_v2;

static void intern_ops(void) {
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++)
        route_ops[i] = gw_metrics_op(GW_API_S3, routes[i].name);
    op_list_v2 = gw_metrics_op(GW_API_S3, "ListObjectsV2");
}

static void set_metrics_op(s3_op *op, const s3_route *rt) {
    op->r->op_api = GW_API_S3;
    if (!rt) return; /* Unknown */
    if (rt->handler == op_list_objects) {
        const char *lt = param(op, "list-type");
        if (lt && !strcmp(lt, "2")) {
            op->r->op_index = op_list_v2;
            return;
        }
    }
    op->r->op_index = route_ops[rt - routes];
}

static bool s3_match(void *ctx, gw_req *r) {
    return true; /* S3 is the default protocol on the listener */
}

static void s3_start(void *ctx, gw_req *r) {
    s3_frontend *fe = ctx;
    arena *a = r->http.a;
    s3_op *op = arena_zalloc(a, sizeof *op);
    op->r = r;
    op->fe = fe;
    op->svc = fe->o.svc;
    op->a = a;
    r->fe = op;
    /* Path: "/bucket/key" (path style) or "/key" on "bucket.domain". */
    const char *path = r->http.path;
    size_t plen = r->http.path_len;
    op->vhost_bucket = vhost_bucket(fe, a, http_header_get(&r->http, "host"));
    if (plen == 0 || path[0] != '/') return s3_error(op, K_EINVALIDREQUEST);
    /* A malformed %-escape (%ZZ, a trailing %) is an unparseable URI, not
     * literal text (the server keeps such a path undecoded). */
    char *raw = arena_strdup(a, r->http.raw_path);
    if (url_decode_inplace(raw, strlen(raw), false) < 0) return s3_error(op, K_EINVALIDURI);
    if (r->http.nquery > S3_MAX_QUERY_PARAMS)
        return s3_error_msg(op, K_EINVAL, "Too many query parameters (at most 1000 are accepted).");
    if (op->vhost_bucket) {
        op->bucket = op->vhost_bucket;
        if (plen > 1) {
            op->key = path + 1;
            op->klen = plen - 1;
        }
    } else if (plen > 1) {
        const char *slash = memchr(path + 1, '/', plen - 1);
        op->bucket = arena_strndup(a, path + 1, slash ? (size_t)(slash - path - 1) : plen - 1);
        if (slash && (size_t)(slash - path) + 1 < plen) {
            op->key = slash + 1;
            op->klen = plen - (size_t)(slash - path) - 1;
        }
    }
    r->log_bucket = op->bucket;
    r->log_key = op->key;
    r->log_key_len = op->klen;
    /* the operation is known before authentication, so refusals count
     * under it in the metrics */
    bool known;
    const char *sub = s3_subresource(&r->http, &known);
    const s3_route *rt = find_route(op, sub);
    set_metrics_op(op, rt);
    kerr e = auth_verify(&r->http, op->vhost_bucket, &fe->auth, lookup_secret, op, clock_real_s(),
                         &op->auth);
    if (e) return auth_error(op, e);
    if (op->auth.body_hash_deferred && !checks_body_first(op, rt))
        return s3_error(op, K_EMISSINGCONTENTSHA);
    if (op->auth.kind != AUTH_ANONYMOUS) op->user = op->auth.user;
    r->log_principal = op->user;
    op->who =
        objsvc_principal_roles(a, op->user, op->roles & (USER_ROLE_ADMIN | USER_ROLE_RESELLER));
    route(op, rt, sub, known);
}

/* A request the listener refuses before start (framing): the S3 error body,
 * without bucket or key (the request was not parsed further). */
static void s3_refuse(void *ctx, gw_req *r, kerr e) {
    s3_op *op = arena_zalloc(r->http.a, sizeof *op);
    op->r = r;
    op->fe = ctx;
    op->a = r->http.a;
    r->fe = op;
    s3_error(op, e);
}

s3_frontend *s3_frontend_new(const s3_opts *o) {
    s3_frontend *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->o = *o;
    if (!f->o.region) f->o.region = "us-east-1";
    f->auth.region = f->o.region;
    f->auth.allow_missing_content_sha256 = o->allow_missing_content_sha256;
    intern_ops();
    return f;
}

void s3_frontend_free(s3_frontend *f) {
    free(f);
}

gw_frontend s3_frontend_hook(s3_frontend *f) {
    return (gw_frontend){.match = s3_match, .start = s3_start, .refuse = s3_refuse, .ctx = f};
}
