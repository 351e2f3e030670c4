/* SPDX-License-Identifier: Apache-2.0 */
/* S3 request authentication: AWS Signature V4 (Authorization header and
 * presigned query) and V2 (header and query). See auth.h for the contract.
 *
 * Performance notes: the canonical request and string to sign are built in a
 * per-thread scratch buffer that keeps its capacity between requests, so a
 * verification allocates nothing on the heap in steady state (only small
 * per-request arrays in req->a). SigV4 signing keys (four chained HMACs) are
 * cached per (secret, date, region, service). */
#include "gateway/auth.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/text.h"

enum {
    MAX_SKEW_SECONDS = 15 * 60,
    PRESIGN_MAX_EXPIRES = 7 * 24 * 3600,
    SIG_HEX_LEN = 64,
};

static const char EMPTY_SHA256_HEX[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
static const char UNSIGNED_PAYLOAD[] = "UNSIGNED-PAYLOAD";
static const char V4_ALGORITHM[] = "AWS4-HMAC-SHA256";

typedef struct strv {
    const char *p;
    size_t n;
} strv;

static bool strv_eq(strv s, const char *lit) {
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

static strv strv_trim(const char *p, size_t n) {
    while (n && (*p == ' ' || *p == '\t')) p++, n--;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
    return (strv){p, n};
}

static bool is_hex(const char *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return false;
    }
    return true;
}

static void lower_copy(char *dst, const char *src, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char c = src[i];
        dst[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    dst[n] = 0;
}

/* ---- per-thread scratch buffer ------------------------------------------ */

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_destroy(void *p) {
    kbuf *b = p;
    kbuf_free(b);
    free(b);
}

static void scratch_key_init(void) {
    if (pthread_key_create(&scratch_key, scratch_destroy) != 0) abort();
}

static kbuf *scratch_get(void) {
    pthread_once(&scratch_once, scratch_key_init);
    kbuf *b = pthread_getspecific(scratch_key);
    if (!b) {
        b = malloc(sizeof *b);
        if (!b) abort();
        kbuf_init(b);
        kbuf_reserve(b, 2048);
        pthread_setspecific(scratch_key, b);
    }
    kbuf_reset(b);
    return b;
}

/* Appends b[off, off+n) to b itself; reserving first keeps the source valid. */
static void kbuf_append_own(kbuf *b, size_t off, size_t n) {
    kbuf_reserve(b, n);
    memcpy(b->data + b->len, b->data + off, n);
    b->len += n;
    b->data[b->len] = 0;
}

/* ---- signing key cache --------------------------------------------------- */

enum {
    SKC_SLOTS = 256, /* power of two */
    SKC_SECRET_MAX = 128,
    SKC_REGION_MAX = 64,
    SKC_SERVICE_MAX = 16,
};

typedef struct skc_slot {
    pthread_mutex_t mu;
    bool valid;
    uint8_t secret_len, region_len, service_len;
    char date8[8];
    char secret[SKC_SECRET_MAX];
    char region[SKC_REGION_MAX];
    char service[SKC_SERVICE_MAX];
    uint8_t key[32];
} skc_slot;

static skc_slot skc_table[SKC_SLOTS];
static pthread_once_t skc_once = PTHREAD_ONCE_INIT;

static void skc_init(void) {
    for (size_t i = 0; i < SKC_SLOTS; i++) pthread_mutex_init(&skc_table[i].mu, NULL);
}

static uint32_t fnv1a(uint32_t h, const void *p, size_t n) {
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 16777619u;
    return h;
}

static void signing_key_compute(const char *secret, size_t secret_len, const char *date8,
                                const char *region, size_t region_len, const char *service,
                                size_t service_len, uint8_t out[32]) {
    char stack_key[4 + 256];
    char *k = secret_len <= 256 ? stack_key : malloc(4 + secret_len);
    if (!k) abort();
    memcpy(k, "AWS4", 4);
    memcpy(k + 4, secret, secret_len);
    uint8_t t[32];
    hmac_sha256(k, 4 + secret_len, date8, 8, t);
    OPENSSL_cleanse(k, 4 + secret_len);
    if (k != stack_key) free(k);
    hmac_sha256(t, 32, region, region_len, t);
    hmac_sha256(t, 32, service, service_len, t);
    hmac_sha256(t, 32, "aws4_request", 12, out);
    OPENSSL_cleanse(t, sizeof t);
}

void sigv4_signing_key(const char *secret, const char *date8, const char *region,
                       const char *service, uint8_t out[32]) {
    signing_key_compute(secret, strlen(secret), date8, region, strlen(region), service,
                        strlen(service), out);
}

static void signing_key_cached(const char *secret, strv date8, strv region, strv service,
                               uint8_t out[32]) {
    size_t secret_len = strlen(secret);
    bool cacheable = secret_len < SKC_SECRET_MAX && region.n < SKC_REGION_MAX &&
                     service.n < SKC_SERVICE_MAX && date8.n == 8;
    if (!cacheable) {
        signing_key_compute(secret, secret_len, date8.p, region.p, region.n, service.p, service.n,
                            out);
        return;
    }
    pthread_once(&skc_once, skc_init);
    /* The slot only needs to spread keys, not identify them (the entry is
     * compared in full): hashing the head of the secret is enough. */
    uint32_t h = 2166136261u;
    h = fnv1a(h, secret, secret_len < 16 ? secret_len : 16);
    h = fnv1a(h, date8.p, 8);
    h = fnv1a(h, region.p, region.n);
    h = (h ^ (uint32_t)secret_len) * 16777619u;
    skc_slot *s = &skc_table[h & (SKC_SLOTS - 1)];

    pthread_mutex_lock(&s->mu);
    if (s->valid && s->secret_len == secret_len && s->region_len == region.n &&
        s->service_len == service.n && !memcmp(s->date8, date8.p, 8) &&
        !memcmp(s->secret, secret, secret_len) && !memcmp(s->region, region.p, region.n) &&
        !memcmp(s->service, service.p, service.n)) {
        memcpy(out, s->key, 32);
        pthread_mutex_unlock(&s->mu);
        return;
    }
    pthread_mutex_unlock(&s->mu);

    /* Compute outside the lock: other requests hashing to this slot wait for
     * nothing but a memcpy. */
    uint8_t key[32];
    signing_key_compute(secret, secret_len, date8.p, region.p, region.n, service.p, service.n, key);
    memcpy(out, key, 32);

    pthread_mutex_lock(&s->mu);
    s->valid = true;
    s->secret_len = (uint8_t)secret_len;
    s->region_len = (uint8_t)region.n;
    s->service_len = (uint8_t)service.n;
    memcpy(s->date8, date8.p, 8);
    memcpy(s->secret, secret, secret_len);
    memcpy(s->region, region.p, region.n);
    memcpy(s->service, service.p, service.n);
    memcpy(s->key, key, 32);
    pthread_mutex_unlock(&s->mu);
    OPENSSL_cleanse(key, sizeof key);
}

/* ---- dates ---------------------------------------------------------------- */

static void fmt_amz_date(time_t t, char out[17]) {
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

/* HTTP dates as clients really send them: RFC 1123 with "GMT", but also
 * "Tue, 27 Mar 2007 19:36:42 +0000" (the AWS V2 examples, Java and .NET SDKs)
 * and the ISO 8601 basic form. */
static bool parse_date_lenient(const char *s, time_t *out) {
    size_t n = strlen(s);
    if (n == 16 && parse_iso8601_basic(s, out)) return true;
    if (parse_http_date(s, out)) return true;
    if (n < 7 || n > 64) return false;
    const char *z = s + n - 5;
    if (z[-1] != ' ' || (z[0] != '+' && z[0] != '-')) return false;
    for (int i = 1; i < 5; i++)
        if (z[i] < '0' || z[i] > '9') return false;
    char tmp[72];
    size_t head = (size_t)(z - s);
    memcpy(tmp, s, head);
    memcpy(tmp + head, "GMT", 4);
    time_t t;
    if (!parse_http_date(tmp, &t)) return false;
    long offset =
        ((z[1] - '0') * 10 + (z[2] - '0')) * 3600L + ((z[3] - '0') * 10 + (z[4] - '0')) * 60L;
    *out = z[0] == '+' ? t - offset : t + offset;
    return true;
}

static bool skewed(time_t now, time_t t) {
    return t > now + MAX_SKEW_SECONDS || t < now - MAX_SKEW_SECONDS;
}

/* Whether the request announces a body (Content-Length > 0 or chunked). */
static bool has_body(const http_req *req) {
    if (http_header_get(req, "transfer-encoding")) return true;
    const char *cl = http_header_get(req, "content-length");
    uint64_t v;
    return cl && parse_u64(cl, strlen(cl), &v) && v > 0;
}

/* ---- SigV4 ---------------------------------------------------------------- */

typedef struct v4_request {
    strv access_key, date8, region, service, signed_headers, signature;
    bool presigned;
    char amz_date[17];
    time_t when;
} v4_request;

/* "AK/20130524/us-east-1/s3/aws4_request"; the access key is whatever
 * precedes the last four components. */
static bool parse_credential(const char *s, size_t n, v4_request *v) {
    strv parts[4]; /* terminator, service, region, date */
    size_t end = n;
    for (int i = 0; i < 4; i++) {
        const char *slash = memrchr(s, '/', end);
        if (!slash) return false;
        size_t at = (size_t)(slash - s);
        parts[i] = (strv){slash + 1, end - at - 1};
        end = at;
    }
    if (!strv_eq(parts[0], "aws4_request")) return false;
    if (parts[3].n != 8) return false;
    for (size_t i = 0; i < 8; i++)
        if (parts[3].p[i] < '0' || parts[3].p[i] > '9') return false;
    if (parts[1].n == 0 || parts[2].n == 0 || end == 0) return false;
    v->access_key = (strv){s, end};
    v->date8 = parts[3];
    v->region = parts[2];
    v->service = parts[1];
    return true;
}

static bool valid_signature(strv sig) {
    return sig.n == SIG_HEX_LEN && is_hex(sig.p, sig.n);
}

/* "host;x-amz-date": names of 1..255 bytes separated by single ';'. */
static bool valid_signed_headers(strv sh) {
    size_t len = 0;
    for (size_t i = 0; i < sh.n; i++) {
        if (sh.p[i] != ';') {
            if (++len > 255) return false;
            continue;
        }
        if (len == 0) return false;
        len = 0;
    }
    return len > 0;
}

/* "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..." with
 * the three in any order, with or without spaces after the commas. */
static kerr parse_v4_header(const char *h, v4_request *v) {
    size_t alg_len = sizeof V4_ALGORITHM - 1;
    if (strncmp(h, V4_ALGORITHM, alg_len) != 0 || (h[alg_len] != ' ' && h[alg_len] != '\t'))
        return K_EAUTHHEADER;
    const char *p = h + alg_len;
    bool have_cred = false, have_sh = false, have_sig = false;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        strv item = strv_trim(p, len);
        const char *eq = memchr(item.p, '=', item.n);
        if (!eq) return K_EAUTHHEADER;
        strv key = strv_trim(item.p, (size_t)(eq - item.p));
        strv val = strv_trim(eq + 1, item.n - (size_t)(eq + 1 - item.p));
        if (strv_eq(key, "Credential")) {
            if (have_cred || !parse_credential(val.p, val.n, v)) return K_EAUTHHEADER;
            have_cred = true;
        } else if (strv_eq(key, "SignedHeaders")) {
            if (have_sh || !valid_signed_headers(val)) return K_EAUTHHEADER;
            v->signed_headers = val;
            have_sh = true;
        } else if (strv_eq(key, "Signature")) {
            if (have_sig || !valid_signature(val)) return K_EAUTHHEADER;
            v->signature = val;
            have_sig = true;
        } else {
            return K_EAUTHHEADER;
        }
        if (!comma) break;
        p = comma + 1;
    }
    return have_cred && have_sh && have_sig ? K_OK : K_EAUTHHEADER;
}

static const char *param_value(const http_req *req, const char *name) {
    const http_param *p = http_param_find(req, name);
    return p && p->value ? p->value : NULL;
}

static kerr parse_v4_query(const http_req *req, time_t now, v4_request *v) {
    const char *alg = param_value(req, "X-Amz-Algorithm");
    const char *cred = param_value(req, "X-Amz-Credential");
    const char *date = param_value(req, "X-Amz-Date");
    const char *expires = param_value(req, "X-Amz-Expires");
    const char *sh = param_value(req, "X-Amz-SignedHeaders");
    const char *sig = param_value(req, "X-Amz-Signature");
    if (!alg || strcmp(alg, V4_ALGORITHM) != 0 || !cred || !date || !expires || !sh || !sig)
        return K_EAUTHHEADER;
    if (!parse_credential(cred, strlen(cred), v)) return K_EAUTHHEADER;
    v->signed_headers = (strv){sh, strlen(sh)};
    v->signature = (strv){sig, strlen(sig)};
    if (!valid_signed_headers(v->signed_headers) || !valid_signature(v->signature))
        return K_EAUTHHEADER;
    if (strlen(date) != 16 || !parse_iso8601_basic(date, &v->when)) return K_EAUTHHEADER;
    memcpy(v->amz_date, date, 17);
    uint64_t exp;
    if (!parse_u64(expires, strlen(expires), &exp) || exp < 1 || exp > PRESIGN_MAX_EXPIRES)
        return K_EAUTHHEADER;
    if (v->when > now + MAX_SKEW_SECONDS) return K_ENOTYETVALID;
    if (now > v->when + (time_t)exp) return K_EEXPIRED;
    v->presigned = true;
    return K_OK;
}

/* The request time of header auth: x-amz-date, else Date. */
static kerr v4_header_time(const http_req *req, time_t now, v4_request *v) {
    const char *xd = http_header_get(req, "x-amz-date");
    if (xd) {
        if (strlen(xd) != 16 || !parse_iso8601_basic(xd, &v->when)) return K_EACCESSDENIED;
        memcpy(v->amz_date, xd, 17);
    } else {
        const char *d = http_header_get(req, "date");
        if (!d || !parse_date_lenient(d, &v->when)) return K_EACCESSDENIED;
        if (strlen(d) == 16)
            memcpy(v->amz_date, d, 17);
        else
            fmt_amz_date(v->when, v->amz_date);
    }
    return skewed(now, v->when) ? K_ETIMESKEW : K_OK;
}

typedef struct query_entry {
    size_t name_off, name_len, value_off, value_len;
} query_entry;

static int query_entry_cmp(const void *pa, const void *pb, void *ctx) {
    const char *base = ctx;
    const query_entry *a = pa, *b = pb;
    size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
    int c = memcmp(base + a->name_off, base + b->name_off, n);
    if (c) return c;
    if (a->name_len != b->name_len) return a->name_len < b->name_len ? -1 : 1;
    n = a->value_len < b->value_len ? a->value_len : b->value_len;
    c = memcmp(base + a->value_off, base + b->value_off, n);
    if (c) return c;
    return a->value_len == b->value_len ? 0 : (a->value_len < b->value_len ? -1 : 1);
}

/* Appends a header value with surrounding whitespace removed and inner runs
 * of spaces/tabs collapsed to one space (SigV4 "Trimall"). */
static void append_trimall(kbuf *b, const char *v) {
    strv t = strv_trim(v, strlen(v));
    kbuf_reserve(b, t.n);
    char *o = b->data + b->len; /* a local cursor: stores through b->data would alias */
    bool in_space = false;
    for (size_t i = 0; i < t.n; i++) {
        char c = t.p[i];
        if (c == ' ' || c == '\t') {
            in_space = true;
            continue;
        }
        if (in_space) *o++ = ' ';
        in_space = false;
        *o++ = c;
    }
    *o = 0;
    b->len = (size_t)(o - b->data);
}

/* A byte range of the scratch buffer (offsets survive its reallocation). */
typedef struct span {
    size_t off, len;
} span;

/* State shared by the attempts at one SigV4 signature. Every piece of the
 * canonical request lives in the scratch buffer; each attempt is assembled
 * after them, at attempt_off.
 *
 * Attempts ("variants") differ in how the URI and the query are spelled:
 * [0] is what AWS specifies (decoded path encoded once, query sorted and
 * encoded); [1] is exactly as received, because some clients sign what they
 * send: curl 7.88 --aws-sigv4 signs the path and the query verbatim, in the
 * order given, and SDKs differ on paths with reserved characters. */
typedef struct v4_check {
    kbuf *b;
    const char *method;
    span uri[2], query[2];
    bool have_raw_uri, have_raw_query;
    span headers; /* canonical headers, "\n", signed headers, "\n" */
    size_t attempt_off;
    uint8_t key[32];
    char amz_date[17];
    const char *scope;
    char signature[65]; /* lower-case */
} v4_check;

static bool span_eq(const kbuf *b, span x, span y) {
    return x.len == y.len && memcmp(b->data + x.off, b->data + y.off, x.len) == 0;
}

/* Builds the pieces of the canonical request that do not depend on the
 * payload hash: the URI and query spellings and the header block. */
static kerr build_v4_pieces(const http_req *req, const v4_request *v, v4_check *c) {
    kbuf *b = c->b;

    /* S3 encodes the decoded path once, keeping '/'; never normalised. */
    c->uri[0].off = b->len;
    if (req->path && req->path_len)
        url_encode(b, req->path, req->path_len, true);
    else
        kbuf_putc(b, '/');
    c->uri[0].len = b->len - c->uri[0].off;
    c->uri[1].off = b->len;
    kbuf_puts(b, req->raw_path && req->raw_path[0] ? req->raw_path : "/");
    c->uri[1].len = b->len - c->uri[1].off;
    c->have_raw_uri = !span_eq(b, c->uri[0], c->uri[1]);

    query_entry *q = req->nquery ? arena_alloc(req->a, req->nquery * sizeof *q) : NULL;
    size_t nq = 0;
    for (size_t i = 0; i < req->nquery; i++) {
        const http_param *p = &req->query[i];
        if (v->presigned && !strcmp(p->name, "X-Amz-Signature")) continue;
        query_entry *e = &q[nq++];
        e->name_off = b->len;
        url_encode(b, p->name, strlen(p->name), false);
        e->name_len = b->len - e->name_off;
        e->value_off = b->len;
        if (p->value) url_encode(b, p->value, strlen(p->value), false);
        e->value_len = b->len - e->value_off;
    }
    if (nq > 1) qsort_r(q, nq, sizeof *q, query_entry_cmp, b->data);
    c->query[0].off = b->len;
    for (size_t i = 0; i < nq; i++) {
        if (i) kbuf_putc(b, '&');
        kbuf_append_own(b, q[i].name_off, q[i].name_len);
        kbuf_putc(b, '=');
        kbuf_append_own(b, q[i].value_off, q[i].value_len);
    }
    c->query[0].len = b->len - c->query[0].off;

    c->query[1].off = b->len;
    bool first = true;
    for (size_t i = 0; i < req->nquery; i++) {
        const http_param *p = &req->query[i];
        if (v->presigned && !strcmp(p->name, "X-Amz-Signature")) continue;
        if (!first) kbuf_putc(b, '&');
        kbuf_puts(b, p->raw_name ? p->raw_name : p->name);
        if (p->raw_value) {
            kbuf_putc(b, '=');
            kbuf_puts(b, p->raw_value);
        }
        first = false;
    }
    c->query[1].len = b->len - c->query[1].off;
    c->have_raw_query = !span_eq(b, c->query[0], c->query[1]);

    /* Canonical headers in the order of SignedHeaders (clients sort it). */
    c->headers.off = b->len;
    const char *sh = v->signed_headers.p;
    size_t shn = v->signed_headers.n;
    char lname[256];
    for (size_t at = 0; at <= shn;) {
        const char *semi = memchr(sh + at, ';', shn - at);
        size_t len = semi ? (size_t)(semi - (sh + at)) : shn - at;
        if (len == 0 || len >= sizeof lname) return K_EAUTHHEADER;
        lower_copy(lname, sh + at, len);
        kbuf_append(b, lname, len);
        kbuf_putc(b, ':');
        bool first_value = true;
        for (size_t i = 0; i < req->nheaders; i++) {
            if (strcmp(req->headers[i].name, lname) != 0) continue;
            if (!first_value) kbuf_putc(b, ',');
            append_trimall(b, req->headers[i].value);
            first_value = false;
        }
        kbuf_putc(b, '\n');
        at += len + 1;
    }
    kbuf_putc(b, '\n');
    kbuf_append(b, sh, shn);
    kbuf_putc(b, '\n');
    c->headers.len = b->len - c->headers.off;
    c->attempt_off = b->len;
    return K_OK;
}

enum { V4_VARIANTS = 4 };

/* Variant i: URI spelling i & 1, query spelling i >> 1; false when it would
 * repeat an earlier one. */
static bool v4_variant_exists(const v4_check *c, int i) {
    return (!(i & 1) || c->have_raw_uri) && (!(i >> 1) || c->have_raw_query);
}

/* Lays out the canonical request of variant i up to (not including) the
 * payload hash at attempt_off. */
static void v4_attempt_prefix(v4_check *c, int i) {
    kbuf *b = c->b;
    b->len = c->attempt_off;
    kbuf_puts(b, c->method);
    kbuf_putc(b, '\n');
    kbuf_append_own(b, c->uri[i & 1].off, c->uri[i & 1].len);
    kbuf_putc(b, '\n');
    kbuf_append_own(b, c->query[i >> 1].off, c->query[i >> 1].len);
    kbuf_putc(b, '\n');
    kbuf_append_own(b, c->headers.off, c->headers.len);
}

/* Writes "AWS4-HMAC-SHA256\n<date>\n<scope>\n" into sts (room for the hash
 * after it) and returns its length, 0 if it does not fit. Hand-built rather
 * than snprintf'd: this runs on every request. */
enum { STS_CAP = 256 };
static size_t sts_prefix(char sts[STS_CAP], const char *amz_date, const char *scope) {
    size_t an = strlen(amz_date), sn = strlen(scope), alg = sizeof V4_ALGORITHM - 1;
    size_t n = alg + 1 + an + 1 + sn + 1;
    if (n + SIG_HEX_LEN + 1 > STS_CAP) return 0;
    char *o = sts;
    memcpy(o, V4_ALGORITHM, alg), o += alg, *o++ = '\n';
    memcpy(o, amz_date, an), o += an, *o++ = '\n';
    memcpy(o, scope, sn), o += sn, *o++ = '\n';
    return n;
}

/* Hashes the canonical request at attempt_off and compares the signature. */
static bool v4_attempt_matches(const v4_check *c) {
    const kbuf *b = c->b;
    char sts[STS_CAP];
    size_t n = sts_prefix(sts, c->amz_date, c->scope);
    if (!n) return false;
    sha256_hex(b->data + c->attempt_off, b->len - c->attempt_off, sts + n);
    uint8_t mac[32];
    hmac_sha256(c->key, 32, sts, n + SIG_HEX_LEN, mac);
    char hex[65];
    hex_encode(mac, 32, hex);
    return CRYPTO_memcmp(hex, c->signature, SIG_HEX_LEN) == 0;
}

/* Tries every URI/query spelling with one payload hash; on a match returns
 * true and sets *variant. */
static bool v4_try_payload(v4_check *c, const char *payload, int *variant) {
    for (int i = 0; i < V4_VARIANTS; i++) {
        if (!v4_variant_exists(c, i)) continue;
        v4_attempt_prefix(c, i);
        kbuf_puts(c->b, payload);
        if (v4_attempt_matches(c)) {
            *variant = i;
            return true;
        }
    }
    return false;
}

static kerr payload_mode_of(const char *v, payload_mode *mode) {
    size_t n = strlen(v);
    if (n == SIG_HEX_LEN && is_hex(v, n)) {
        *mode = PAYLOAD_SIGNED;
        return K_OK;
    }
    if (!strcmp(v, UNSIGNED_PAYLOAD))
        *mode = PAYLOAD_UNSIGNED;
    else if (!strcmp(v, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"))
        *mode = PAYLOAD_STREAMING_SIGNED;
    else if (!strcmp(v, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"))
        *mode = PAYLOAD_STREAMING_SIGNED_TRAILER;
    else if (!strcmp(v, "STREAMING-UNSIGNED-PAYLOAD-TRAILER"))
        *mode = PAYLOAD_STREAMING_UNSIGNED_TRAILER;
    else
        return K_EINVALIDDIGEST;
    return K_OK;
}

/* x-amz-* headers that may be absent from SignedHeaders (see auth.h). */
static const char *const unsigned_amz_ok[] = {"x-amz-content-sha256"};

/* Whether SignedHeaders (";"-separated) names the lower-case header name. */
static bool signed_header_listed(strv sh, const char *name) {
    size_t n = strlen(name);
    for (size_t at = 0; at <= sh.n;) {
        const char *semi = memchr(sh.p + at, ';', sh.n - at);
        size_t len = semi ? (size_t)(semi - (sh.p + at)) : sh.n - at;
        if (len == n && !strncasecmp(sh.p + at, name, n)) return true;
        at += len + 1;
    }
    return false;
}

/* SignedHeaders must name host and every x-amz-* header present, except
 * unsigned_amz_ok: the front end acts on x-amz-* headers (copy source, ACL,
 * metadata, ...), so an unsigned one would let whoever replays a signed
 * request, or holds a presigned URL, change what it does. */
static kerr check_signed_headers(const http_req *req, strv sh, auth_result *out) {
    kbuf miss = KBUF_INIT;
    if (!signed_header_listed(sh, "host")) kbuf_puts(&miss, "host");
    for (size_t i = 0; i < req->nheaders; i++) {
        const char *name = req->headers[i].name;
        if (strncmp(name, "x-amz-", 6) != 0 || signed_header_listed(sh, name)) continue;
        bool skip = false;
        for (size_t j = 0; j < sizeof unsigned_amz_ok / sizeof unsigned_amz_ok[0]; j++)
            if (!strcmp(name, unsigned_amz_ok[j])) skip = true;
        for (size_t j = 0; j < i && !skip; j++) /* name each header once */
            if (!strcmp(req->headers[j].name, name)) skip = true;
        if (skip) continue;
        if (miss.len) kbuf_puts(&miss, ", ");
        kbuf_puts(&miss, name);
    }
    if (!miss.len) return K_OK;
    out->headers_not_signed = arena_strndup(req->a, miss.data, miss.len);
    kbuf_free(&miss);
    return K_EHEADERSNOTSIGNED;
}

static kerr verify_v4(const http_req *req, bool presigned, const auth_opts *opts,
                      auth_secret_fn lookup, void *ctx, time_t now, auth_result *out) {
    v4_request v;
    memset(&v, 0, sizeof v);
    kerr e;
    if (presigned) {
        e = parse_v4_query(req, now, &v);
    } else {
        e = parse_v4_header(http_header_get(req, "authorization"), &v);
        if (e == K_OK) e = v4_header_time(req, now, &v);
    }
    if (e != K_OK) return e;
    if (memcmp(v.amz_date, v.date8.p, 8) != 0)
        return K_EAUTHHEADER; /* scope date != request date */
    if (!strv_eq(v.service, "s3")) return K_EAUTHHEADER;
    const char *region = opts && opts->region ? opts->region : "us-east-1";
    if (!strv_eq(v.region, region)) {
        out->wrong_region = arena_strndup(req->a, v.region.p, v.region.n);
        return presigned ? K_EWRONGREGIONQUERY : K_EWRONGREGION;
    }
    if ((e = check_signed_headers(req, v.signed_headers, out)) != K_OK) return e;

    const char *content_sha = http_header_get(req, "x-amz-content-sha256");
    bool allow_missing_sha = opts && opts->allow_missing_content_sha256;
    if (!content_sha && !presigned && !allow_missing_sha) return K_EMISSINGCONTENTSHA;
    payload_mode mode = PAYLOAD_UNSIGNED;
    if (content_sha && (e = payload_mode_of(content_sha, &mode)) != K_OK) return e;

    /* The scope exactly as the client wrote it in its credential. */
    size_t scope_len = (size_t)(v.service.p + v.service.n - v.date8.p) + sizeof "/aws4_request" - 1;
    if (scope_len >= sizeof out->scope) return K_EAUTHHEADER;
    memcpy(out->scope, v.date8.p, scope_len);
    out->scope[scope_len] = 0;

    char *access_key = arena_strndup(req->a, v.access_key.p, v.access_key.n);
    const char *secret = NULL, *user = NULL;
    if ((e = lookup(ctx, access_key, req->a, &secret, &user)) != K_OK) return e;
    if (!secret) return K_EINVALIDACCESSKEY;

    v4_check c;
    c.b = scratch_get();
    c.method = req->method;
    c.scope = out->scope;
    memcpy(c.amz_date, v.amz_date, 17);
    lower_copy(c.signature, v.signature.p, SIG_HEX_LEN);
    signing_key_cached(secret, v.date8, v.region, v.service, c.key);
    if ((e = build_v4_pieces(req, &v, &c)) != K_OK) return e;

    int variant = 0;
    bool ok;
    if (content_sha) {
        ok = v4_try_payload(&c, content_sha, &variant);
    } else if (presigned) {
        ok = v4_try_payload(&c, UNSIGNED_PAYLOAD, &variant);
    } else {
        /* No x-amz-content-sha256, allowed by opts (curl before 8.1 never
         * sends it with --aws-sigv4). curl signs the SHA-256 of the data it
         * holds in memory: of "" for requests without a body and for uploads
         * with -T, of the body for --data. Only a payload the signature
         * covers is accepted: -T (a body, but the empty payload signed) is
         * refused, since anyone replaying the request could send any body. */
        mode = PAYLOAD_SIGNED;
        if (!has_body(req)) {
            ok = v4_try_payload(&c, EMPTY_SHA256_HEX, &variant);
            content_sha = EMPTY_SHA256_HEX;
        } else if (v4_try_payload(&c, EMPTY_SHA256_HEX, &variant)) {
            ok = false;
        } else {
            /* Only the body's hash can tell; see auth_check_body_sha256. */
            ok = true;
            out->body_hash_deferred = true;
            for (int i = 0, k = 0; i < V4_VARIANTS; i++) {
                if (!v4_variant_exists(&c, i)) continue;
                v4_attempt_prefix(&c, i);
                out->deferred_canonical[k++] =
                    arena_strndup(req->a, c.b->data + c.attempt_off, c.b->len - c.attempt_off);
            }
        }
    }
    if (!ok) {
        OPENSSL_cleanse(c.key, sizeof c.key);
        return K_ESIGNATURE;
    }
    if (variant) log_debug("auth: signature matched spelling %d of %s", variant, req->raw_path);

    out->kind = presigned ? AUTH_V4_QUERY : AUTH_V4_HEADER;
    out->access_key = access_key;
    out->user = user;
    out->payload = mode;
    if (mode == PAYLOAD_SIGNED && content_sha)
        lower_copy(out->content_sha256, content_sha, SIG_HEX_LEN);
    memcpy(out->signing_key, c.key, 32);
    memcpy(out->seed_signature, c.signature, 65);
    memcpy(out->amz_date, v.amz_date, 17);
    OPENSSL_cleanse(c.key, sizeof c.key);
    return K_OK;
}

kerr auth_check_body_sha256(const auth_result *r, const char *body_sha256_hex) {
    if (!body_sha256_hex || strlen(body_sha256_hex) != SIG_HEX_LEN) return K_EINVAL;
    char lower[65];
    lower_copy(lower, body_sha256_hex, SIG_HEX_LEN);
    if (!r->body_hash_deferred)
        return CRYPTO_memcmp(lower, r->content_sha256, SIG_HEX_LEN) == 0 && r->content_sha256[0]
                   ? K_OK
                   : K_EXAMZCONTENTSHA;

    char sts[STS_CAP];
    size_t n = sts_prefix(sts, r->amz_date, r->scope);
    if (!n) return K_ESIGNATURE;
    kbuf *b = scratch_get();
    for (size_t i = 0; i < sizeof r->deferred_canonical / sizeof r->deferred_canonical[0]; i++) {
        if (!r->deferred_canonical[i]) continue;
        kbuf_reset(b);
        kbuf_puts(b, r->deferred_canonical[i]);
        kbuf_append(b, lower, SIG_HEX_LEN);
        sha256_hex(b->data, b->len, sts + n);
        uint8_t mac[32];
        char hex[65];
        hmac_sha256(r->signing_key, 32, sts, n + SIG_HEX_LEN, mac);
        hex_encode(mac, 32, hex);
        if (CRYPTO_memcmp(hex, r->seed_signature, SIG_HEX_LEN) == 0) return K_OK;
    }
    return K_ESIGNATURE;
}

/* ---- SigV2 ---------------------------------------------------------------- */

/* Sub-resources that belong to the V2 canonical resource, sorted by byte
 * value. The AWS documentation lists the ones marked true; botocore, minio-go
 * and s3cmd also sign the others, so a request naming one of those is tried
 * both ways. */
static const struct {
    const char *name;
    bool aws_doc;
} v2_subresources[] = {
    {"accelerate", false},
    {"acl", true},
    {"analytics", false},
    {"cors", true},
    {"delete", true},
    {"encryption", false},
    {"inventory", false},
    {"legal-hold", false},
    {"lifecycle", true},
    {"location", true},
    {"logging", true},
    {"metrics", false},
    {"notification", true},
    {"object-lock", false},
    {"partNumber", true},
    {"policy", true},
    {"replication", false},
    {"requestPayment", true},
    {"response-cache-control", true},
    {"response-content-disposition", true},
    {"response-content-encoding", true},
    {"response-content-language", true},
    {"response-content-type", true},
    {"response-expires", true},
    {"restore", true},
    {"retention", false},
    {"select", false},
    {"select-type", false},
    {"storageClass", false},
    {"tagging", true},
    {"torrent", true},
    {"uploadId", true},
    {"uploads", true},
    {"versionId", true},
    {"versioning", true},
    {"versions", true},
    {"website", true},
};

/* Appends the sub-resources; returns whether one outside the AWS list was
 * present (only then does the doc-only variant differ). */
static bool append_v2_subresources(kbuf *b, const http_req *req, bool doc_only) {
    bool first = true, extra = false;
    for (size_t i = 0; i < sizeof v2_subresources / sizeof v2_subresources[0]; i++) {
        if (doc_only && !v2_subresources[i].aws_doc) continue;
        const http_param *p = http_param_find(req, v2_subresources[i].name);
        if (!p) continue;
        if (!v2_subresources[i].aws_doc) extra = true;
        kbuf_putc(b, first ? '?' : '&');
        kbuf_puts(b, v2_subresources[i].name);
        if (p->value) {
            kbuf_putc(b, '=');
            kbuf_puts(b, p->value);
        }
        first = false;
    }
    return extra;
}

static int amz_header_cmp(const void *pa, const void *pb, void *ctx) {
    const http_req *req = ctx;
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    int c = strcmp(req->headers[a].name, req->headers[b].name);
    if (c) return c;
    return a < b ? -1 : (a > b); /* keeps repeated headers in received order */
}

/* Everything of the V2 string to sign before the sub-resources. */
static void build_v2_prefix(kbuf *b, const http_req *req, const char *vhost_bucket,
                            const char *date_line) {
    const char *md5 = http_header_get(req, "content-md5");
    const char *type = http_header_get(req, "content-type");
    kbuf_puts(b, req->method);
    kbuf_putc(b, '\n');
    if (md5) kbuf_puts(b, md5);
    kbuf_putc(b, '\n');
    if (type) kbuf_puts(b, type);
    kbuf_putc(b, '\n');
    kbuf_puts(b, date_line);
    kbuf_putc(b, '\n');

    size_t namz = 0;
    for (size_t i = 0; i < req->nheaders; i++)
        if (!strncmp(req->headers[i].name, "x-amz-", 6)) namz++;
    if (namz) {
        size_t *idx = arena_alloc(req->a, namz * sizeof *idx);
        size_t k = 0;
        for (size_t i = 0; i < req->nheaders; i++)
            if (!strncmp(req->headers[i].name, "x-amz-", 6)) idx[k++] = i;
        qsort_r(idx, namz, sizeof *idx, amz_header_cmp, (void *)req);
        for (size_t i = 0; i < namz; i++) {
            const http_header *h = &req->headers[idx[i]];
            strv val = strv_trim(h->value, strlen(h->value));
            if (i > 0 && !strcmp(req->headers[idx[i - 1]].name, h->name)) {
                b->len--; /* replace the previous '\n' by ',' */
                kbuf_putc(b, ',');
            } else {
                kbuf_puts(b, h->name);
                kbuf_putc(b, ':');
            }
            kbuf_append(b, val.p, val.n);
            kbuf_putc(b, '\n');
        }
    }
    if (vhost_bucket && vhost_bucket[0]) {
        kbuf_putc(b, '/');
        kbuf_puts(b, vhost_bucket);
    }
    kbuf_puts(b, req->raw_path && req->raw_path[0] ? req->raw_path : "/");
}

static bool v2_signature_matches(const char *secret, const char *sts, size_t n, const char *given,
                                 size_t given_len) {
    uint8_t mac[20];
    char b64[32];
    hmac_sha1(secret, strlen(secret), sts, n, mac);
    size_t len = base64_encode(mac, sizeof mac, b64);
    return len == given_len && CRYPTO_memcmp(b64, given, len) == 0;
}

static kerr verify_v2(const http_req *req, bool query, const char *vhost_bucket,
                      auth_secret_fn lookup, void *ctx, time_t now, auth_result *out) {
    const char *ak_p, *sig_p;
    size_t ak_n, sig_n;
    const char *date_line;
    if (query) {
        const char *ak = param_value(req, "AWSAccessKeyId");
        const char *sig = param_value(req, "Signature");
        const char *expires = param_value(req, "Expires");
        if (!ak || !sig || !expires || !ak[0] || !sig[0]) return K_EAUTHHEADER;
        uint64_t exp;
        if (!parse_u64(expires, strlen(expires), &exp) || exp > (uint64_t)INT64_MAX)
            return K_EAUTHHEADER;
        if ((int64_t)now > (int64_t)exp) return K_EEXPIRED;
        ak_p = ak, ak_n = strlen(ak);
        sig_p = sig, sig_n = strlen(sig);
        date_line = expires;
    } else {
        const char *h = http_header_get(req, "authorization") + 4; /* after "AWS " */
        strv rest = strv_trim(h, strlen(h));
        const char *colon = memchr(rest.p, ':', rest.n);
        if (!colon) return K_EAUTHHEADER;
        strv ak = strv_trim(rest.p, (size_t)(colon - rest.p));
        strv sig = strv_trim(colon + 1, rest.n - (size_t)(colon + 1 - rest.p));
        if (!ak.n || !sig.n) return K_EAUTHHEADER;
        ak_p = ak.p, ak_n = ak.n, sig_p = sig.p, sig_n = sig.n;

        const char *xd = http_header_get(req, "x-amz-date");
        const char *d = http_header_get(req, "date");
        time_t when;
        if (!(xd ? parse_date_lenient(xd, &when) : d && parse_date_lenient(d, &when)))
            return K_EACCESSDENIED;
        if (skewed(now, when)) return K_ETIMESKEW;
        date_line = xd ? "" : d;
    }
    if (sig_n > 64) return K_ESIGNATURE; /* a base64 HMAC-SHA1 is 28 characters */
    char sig[65];
    memcpy(sig, sig_p, sig_n);
    sig[sig_n] = 0;
    /* A '+' sent unencoded in a query string arrives decoded as a space. */
    for (size_t i = 0; i < sig_n; i++)
        if (sig[i] == ' ') sig[i] = '+';

    char *access_key = arena_strndup(req->a, ak_p, ak_n);
    const char *secret = NULL, *user = NULL;
    kerr e = lookup(ctx, access_key, req->a, &secret, &user);
    if (e != K_OK) return e;
    if (!secret) return K_EINVALIDACCESSKEY;

    kbuf *b = scratch_get();
    build_v2_prefix(b, req, vhost_bucket, date_line);
    size_t prefix_len = b->len;
    bool extra = append_v2_subresources(b, req, false);
    bool ok = v2_signature_matches(secret, b->data, b->len, sig, sig_n);
    if (!ok && extra) {
        b->len = prefix_len;
        append_v2_subresources(b, req, true);
        ok = v2_signature_matches(secret, b->data, b->len, sig, sig_n);
    }
    /* botocore signs "/bucket/" for a path-style request on "/bucket". */
    const char *rp = req->raw_path;
    if (!ok && !vhost_bucket && rp && rp[0] == '/' && rp[1] && !strchr(rp + 1, '/')) {
        b->len = prefix_len;
        kbuf_putc(b, '/');
        size_t slashed_len = b->len;
        bool extra2 = append_v2_subresources(b, req, false);
        ok = v2_signature_matches(secret, b->data, b->len, sig, sig_n);
        if (!ok && extra2) {
            b->len = slashed_len;
            append_v2_subresources(b, req, true);
            ok = v2_signature_matches(secret, b->data, b->len, sig, sig_n);
        }
    }
    if (!ok) return K_ESIGNATURE;
    out->kind = query ? AUTH_V2_QUERY : AUTH_V2_HEADER;
    out->access_key = access_key;
    out->user = user;
    out->payload = PAYLOAD_UNSIGNED;
    return K_OK;
}

/* ---- entry point ---------------------------------------------------------- */

kerr auth_verify(const http_req *req, const char *vhost_bucket, const auth_opts *opts,
                 auth_secret_fn lookup, void *ctx, time_t now, auth_result *out) {
    memset(out, 0, sizeof *out);
    const char *authz = http_header_get(req, "authorization");
    bool v4_query = http_param_has(req, "X-Amz-Algorithm") ||
                    http_param_has(req, "X-Amz-Credential") ||
                    http_param_has(req, "X-Amz-Signature");
    bool v2_query = http_param_has(req, "AWSAccessKeyId") || http_param_has(req, "Signature");
    if (authz) {
        if (v4_query) return K_EAUTHHEADER; /* two mechanisms at once */
        if (!strncmp(authz, "AWS4-HMAC-SHA256", 16))
            return verify_v4(req, false, opts, lookup, ctx, now, out);
        if (!strncmp(authz, "AWS ", 4))
            return verify_v2(req, false, vhost_bucket, lookup, ctx, now, out);
        return K_EAUTHHEADER;
    }
    if (v4_query) {
        /* As AWS: a malformed presigned URL is named for what it is. */
        kerr e = verify_v4(req, true, opts, lookup, ctx, now, out);
        return e == K_EAUTHHEADER ? K_EAUTHQUERY : e;
    }
    if (v2_query) return verify_v2(req, true, vhost_bucket, lookup, ctx, now, out);
    out->kind = AUTH_ANONYMOUS;
    return K_OK;
}
