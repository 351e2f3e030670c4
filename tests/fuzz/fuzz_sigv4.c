/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness for auth_verify: the SigV4 and SigV2 parsers,
 * canonicalisers and verifiers (see README.md).
 *
 * Byte 0 picks what the rest becomes. Without bit 5 (forgery modes):
 *   byte0 % 4 == 0: the Authorization header after "AWS4-HMAC-SHA256 "
 *                1: the Authorization header after "AWS "
 *                2: the query string of the request (presigned V4 / V2)
 *                3: lines: Authorization, request target, x-amz-date,
 *                   x-amz-content-sha256, then any number of extra
 *                   "name:value" headers
 *   bit 4: no x-amz-content-sha256, and that allowed
 *   (--allow-missing-content-sha256), to reach the body-deferred path.
 *   Every access key is known, so parsing reaches the signature check.
 *   Oracle: a forged request never verifies (a random input cannot carry a
 *   valid HMAC), except as anonymous or with the signature deferred to the
 *   body hash, which a wrong body then fails.
 * With bit 5 (signing modes): the harness builds a request from the input,
 * signs it itself (an independent canonicaliser written from the AWS
 * documentation, below) and checks that auth_verify accepts it, and refuses
 * it once the method is changed.
 *   byte0 % 4 == 0: SigV4 Authorization header  1: SigV2 Authorization header
 *                2: SigV4 presigned URL          3: SigV2 presigned URL
 *   rest, lines: the path after the bucket (any bytes), then lines
 *   "q<name>[=<value>]" (a query parameter "q<name>", any bytes, sent
 *   percent-encoded) and "h<name>[:<value>]" (a header x-amz-meta-<name>,
 *   name letters/digits/hyphens in any case, at most 64 of them: kura takes
 *   SignedHeaders names of up to 255 bytes; value any bytes but NUL/CR/LF).
 * Bit 2 makes the request a PUT, bit 3 virtual-host style (both modes). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/hash.h"
#include "gateway/auth.h"
#include "tests/unit/auth/req_build.h"

#define AK "AKIAIOSFODNN7EXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define NOW ((time_t)1369353600) /* 2013-05-24T00:00:00Z */
#define AMZ_DATE "20130524T000000Z"
#define HTTP_DATE "Fri, 24 May 2013 00:00:00 GMT"
#define SCOPE "20130524/us-east-1/s3/aws4_request"
#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static kerr lookup(void *ctx, const char *access_key, arena *a, const char **secret,
                   const char **user) {
    (void)ctx, (void)a;
    if (!access_key[0]) return K_EINVALIDACCESSKEY;
    *secret = SECRET;
    *user = "fuzz";
    return K_OK;
}

/* Next '\n'-separated field of the input as an arena string (it ends at an
 * embedded NUL, as a C-string header value would). */
static char *field(arena *a, const uint8_t **p, const uint8_t *end) {
    const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
    size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
    char *s = arena_strndup(a, (const char *)*p, n);
    *p = nl ? nl + 1 : end;
    return s;
}

/* ---- forgery modes --------------------------------------------------------- */

static void forgery(const uint8_t *data, size_t size) {
    arena *a = arena_new(0);
    const uint8_t *p = data + 1, *end = data + size;
    const char *authz = NULL, *target = "/bucket/key", *date = AMZ_DATE;
    const char *sha = EMPTY_SHA;
    char *rest = arena_strndup(a, (const char *)p, (size_t)(end - p));
    enum { MAX_EXTRA = 16 };
    const char *headers[2 * (7 + MAX_EXTRA) + 1] = {"Host",
                                                    "bucket.example.com",
                                                    "Authorization",
                                                    "",
                                                    "x-amz-date",
                                                    date,
                                                    "Date",
                                                    HTTP_DATE,
                                                    "x-amz-content-sha256",
                                                    sha,
                                                    "Content-Length",
                                                    "5",
                                                    NULL};
    size_t nh = 6;
    switch (data[0] % 4) {
    case 0:
        authz = arena_printf(a, "AWS4-HMAC-SHA256 %s", rest);
        break;
    case 1:
        authz = arena_printf(a, "AWS %s", rest);
        break;
    case 2:
        target = arena_printf(a, "/bucket/key?%s", rest);
        break;
    default:
        authz = field(a, &p, end);
        target = field(a, &p, end);
        date = field(a, &p, end);
        sha = field(a, &p, end);
        if (target[0] != '/') target = arena_printf(a, "/%s", target);
        /* extra headers: x-amz-* ones reach the signed-header rules and the
         * V2 canonical x-amz-* block */
        while (p < end && nh < 7 + MAX_EXTRA) {
            char *line = field(a, &p, end);
            char *colon = strchr(line, ':');
            if (!colon || colon == line) continue;
            *colon = 0;
            headers[2 * nh] = line;
            headers[2 * nh + 1] = colon + 1;
            nh++;
        }
        headers[2 * nh] = NULL;
        break;
    }
    headers[3] = authz ? authz : "";
    headers[5] = date;
    headers[9] = sha;
    if (!authz) headers[2] = "X-Ignored";
    auth_opts opts = {.region = "us-east-1", .allow_missing_content_sha256 = data[0] & 16};
    if (opts.allow_missing_content_sha256) headers[8] = "X-Ignored-Sha";
    http_req *r = req_build(a, data[0] & 4 ? "PUT" : "GET", target, headers);
    auth_result out;
    kerr e = auth_verify(r, data[0] & 8 ? "bucket" : NULL, &opts, lookup, NULL, NOW, &out);
    if (e == K_OK && out.kind != AUTH_ANONYMOUS && !out.body_hash_deferred) {
        fprintf(stderr, "forged request verified (kind %d)\n", (int)out.kind);
        abort();
    }
    if (e == K_OK && out.body_hash_deferred &&
        auth_check_body_sha256(
            &out, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824") == K_OK)
        abort();
    arena_free(a);
}

/* ---- signing modes: a reference signer ------------------------------------- */

enum { MAX_PARAMS = 12, MAX_META = 12, MAX_META_NAME = 64 };

typedef struct pair {
    char *name, *value; /* value NULL: a query parameter without '=' */
} pair;

typedef struct sreq {
    arena *a;
    const char *method;
    bool vhost;
    char *path; /* decoded, "/bucket/..." or "/..." */
    pair q[MAX_PARAMS + 8];
    size_t nq;
    pair h[MAX_META + 8]; /* headers as sent */
    size_t nh;
} sreq;

/* RFC 3986 percent-encoding of everything but the unreserved characters
 * (and '/' when keep_slash), upper-case hex: what SigV4 canonical requests
 * use. Written here rather than taken from common/text.c, so that a bug
 * there cannot cancel out. */
static char *pct(arena *a, const char *s, bool keep_slash) {
    size_t n = strlen(s);
    char *o = arena_alloc(a, 3 * n + 1), *w = o;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
            *w++ = (char)c;
        } else {
            w += sprintf(w, "%%%02X", c);
        }
    }
    *w = 0;
    return o;
}

static char *lower(arena *a, const char *s) {
    char *o = arena_strdup(a, s);
    for (char *c = o; *c; c++)
        if (*c >= 'A' && *c <= 'Z') *c = (char)(*c + 32);
    return o;
}

static bool blank(char c) {
    return c == ' ' || c == '\t';
}

/* SigV4 "Trimall": no blanks at the ends, inner runs of blanks as one space. */
static void put_trimall(kbuf *b, const char *v) {
    bool pending = false, any = false;
    for (; *v; v++) {
        if (blank(*v)) {
            pending = any;
            continue;
        }
        if (pending) kbuf_putc(b, ' ');
        pending = false;
        any = true;
        kbuf_putc(b, *v);
    }
}

/* SigV2: no blanks at the ends, inner ones kept. */
static void put_trimmed(kbuf *b, const char *v) {
    size_t n = strlen(v);
    while (n && blank(*v)) v++, n--;
    while (n && blank(v[n - 1])) n--;
    kbuf_append(b, v, n);
}

/* Sorted distinct lower-case names of the headers that pass keep(). */
static size_t header_names(const sreq *r, bool v4_signed, const char **out) {
    size_t n = 0;
    for (size_t i = 0; i < r->nh; i++) {
        const char *ln = lower(r->a, r->h[i].name);
        if (!v4_signed && strncmp(ln, "x-amz-", 6)) continue;
        bool dup = false;
        for (size_t j = 0; j < n; j++) dup |= !strcmp(out[j], ln);
        if (dup) continue;
        size_t k = n++;
        while (k > 0 && strcmp(out[k - 1], ln) > 0) out[k] = out[k - 1], k--;
        out[k] = ln;
    }
    return n;
}

static void sort_query(const sreq *r, char **enc_name, char **enc_value, size_t n) {
    /* insertion sort by encoded name, then encoded value (AWS: "sort by
     * name, parameters with the same name by value") */
    for (size_t i = 1; i < n; i++) {
        for (size_t k = i; k > 0; k--) {
            int c = strcmp(enc_name[k - 1], enc_name[k]);
            if (c < 0 || (c == 0 && strcmp(enc_value[k - 1], enc_value[k]) <= 0)) break;
            char *t = enc_name[k];
            enc_name[k] = enc_name[k - 1], enc_name[k - 1] = t;
            t = enc_value[k];
            enc_value[k] = enc_value[k - 1], enc_value[k - 1] = t;
        }
    }
    (void)r;
}

static void v4_signing_key(uint8_t k[32]) {
    const char *secret = "AWS4" SECRET;
    hmac_sha256(secret, strlen(secret), "20130524", 8, k);
    hmac_sha256(k, 32, "us-east-1", 9, k);
    hmac_sha256(k, 32, "s3", 2, k);
    hmac_sha256(k, 32, "aws4_request", 12, k);
}

/* Signature of the canonical request over r (query parameters and headers
 * as they are at the call) with the given payload line. */
static char *v4_sign(const sreq *r, const char *payload, const char **names, size_t nn) {
    kbuf c = KBUF_INIT;
    kbuf_printf(&c, "%s\n%s\n", r->method, pct(r->a, r->path, true));
    char *en[MAX_PARAMS + 8], *ev[MAX_PARAMS + 8];
    for (size_t i = 0; i < r->nq; i++) {
        en[i] = pct(r->a, r->q[i].name, false);
        ev[i] = pct(r->a, r->q[i].value ? r->q[i].value : "", false);
    }
    sort_query(r, en, ev, r->nq);
    for (size_t i = 0; i < r->nq; i++) kbuf_printf(&c, "%s%s=%s", i ? "&" : "", en[i], ev[i]);
    kbuf_putc(&c, '\n');
    for (size_t i = 0; i < nn; i++) {
        kbuf_printf(&c, "%s:", names[i]);
        bool first = true;
        for (size_t j = 0; j < r->nh; j++) {
            if (strcmp(lower(r->a, r->h[j].name), names[i])) continue;
            if (!first) kbuf_putc(&c, ',');
            put_trimall(&c, r->h[j].value);
            first = false;
        }
        kbuf_putc(&c, '\n');
    }
    kbuf_putc(&c, '\n');
    for (size_t i = 0; i < nn; i++) kbuf_printf(&c, "%s%s", i ? ";" : "", names[i]);
    kbuf_printf(&c, "\n%s", payload);
    char hash[65];
    sha256_hex(c.data, c.len, hash);
    kbuf_free(&c);
    char *sts = arena_printf(r->a, "AWS4-HMAC-SHA256\n" AMZ_DATE "\n" SCOPE "\n%s", hash);
    uint8_t k[32], mac[32];
    v4_signing_key(k);
    hmac_sha256(k, 32, sts, strlen(sts), mac);
    char *hex = arena_alloc(r->a, 65);
    hex_encode(mac, 32, hex);
    return hex;
}

static char *join_names(arena *a, const char **names, size_t n) {
    kbuf b = KBUF_INIT;
    for (size_t i = 0; i < n; i++) kbuf_printf(&b, "%s%s", i ? ";" : "", names[i]);
    char *s = arena_strndup(a, b.data ? b.data : "", b.len);
    kbuf_free(&b);
    return s;
}

static char *v2_sign(const sreq *r, const char *date_line) {
    kbuf s = KBUF_INIT;
    kbuf_printf(&s, "%s\n\n\n%s\n", r->method, date_line);
    const char *names[MAX_META + 8];
    size_t nn = header_names(r, false, names);
    for (size_t i = 0; i < nn; i++) {
        kbuf_printf(&s, "%s:", names[i]);
        bool first = true;
        for (size_t j = 0; j < r->nh; j++) {
            if (strcmp(lower(r->a, r->h[j].name), names[i])) continue;
            if (!first) kbuf_putc(&s, ',');
            put_trimmed(&s, r->h[j].value);
            first = false;
        }
        kbuf_putc(&s, '\n');
    }
    if (r->vhost) kbuf_puts(&s, "/bucket");
    kbuf_puts(&s, pct(r->a, r->path, true));
    uint8_t mac[20];
    hmac_sha1(SECRET, strlen(SECRET), s.data, s.len, mac);
    kbuf_free(&s);
    char *b64 = arena_alloc(r->a, 32);
    base64_encode(mac, 20, b64);
    return b64;
}

static void add_q(sreq *r, const char *name, const char *value) {
    r->q[r->nq++] = (pair){arena_strdup(r->a, name), value ? arena_strdup(r->a, value) : NULL};
}

static void add_h(sreq *r, const char *name, const char *value) {
    r->h[r->nh++] = (pair){arena_strdup(r->a, name), arena_strdup(r->a, value)};
}

static kerr submit(const sreq *r, const char *method, auth_result *out) {
    kbuf t = KBUF_INIT;
    kbuf_puts(&t, pct(r->a, r->path, true));
    for (size_t i = 0; i < r->nq; i++) {
        kbuf_printf(&t, "%c%s", i ? '&' : '?', pct(r->a, r->q[i].name, false));
        if (r->q[i].value) kbuf_printf(&t, "=%s", pct(r->a, r->q[i].value, false));
    }
    const char **hv = arena_zalloc(r->a, (2 * r->nh + 1) * sizeof *hv);
    for (size_t i = 0; i < r->nh; i++) hv[2 * i] = r->h[i].name, hv[2 * i + 1] = r->h[i].value;
    http_req *h = req_build(r->a, method, t.data, hv);
    kbuf_free(&t);
    auth_opts opts = {.region = "us-east-1"};
    return auth_verify(h, r->vhost ? "bucket" : NULL, &opts, lookup, NULL, NOW, out);
}

/* Replaces bytes that cannot travel in a header value or a C string. */
static void clean(char *s, bool header) {
    for (; *s; s++)
        if (header && (*s == '\r' || *s == '\v' || *s == '\f')) *s = 'x';
}

static void signing(const uint8_t *data, size_t size) {
    arena *a = arena_new(0);
    sreq r = {.a = a, .method = data[0] & 4 ? "PUT" : "GET", .vhost = data[0] & 8};
    const uint8_t *p = data + 1, *end = data + size;
    char *key = field(a, &p, end);
    r.path = arena_printf(a, "%s%s", r.vhost ? "/" : "/bucket/", key);
    size_t nparams = 0, nmeta = 0;
    struct {
        char *name, *value;
    } meta[MAX_META];
    while (p < end) {
        char *line = field(a, &p, end);
        if (line[0] == 'q' && nparams < MAX_PARAMS) {
            char *eq = strchr(line, '=');
            if (eq) *eq = 0;
            add_q(&r, line, eq ? eq + 1 : NULL);
            nparams++;
        } else if (line[0] == 'h' && nmeta < MAX_META) {
            char *colon = strchr(line, ':');
            if (colon) *colon = 0;
            kbuf n = KBUF_INIT;
            kbuf_puts(&n, "X-Amz-Meta-");
            /* names stay within kura's 255 bytes per SignedHeaders entry */
            for (const char *c = line + 1; *c && n.len < 11 + MAX_META_NAME; c++)
                if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                    (*c >= '0' && *c <= '9') || *c == '-')
                    kbuf_putc(&n, *c);
            if (n.len == 11) kbuf_putc(&n, 'x');
            meta[nmeta].name = arena_strndup(a, n.data, n.len);
            meta[nmeta].value = colon ? colon + 1 : arena_strdup(a, "");
            clean(meta[nmeta].value, true);
            nmeta++;
            kbuf_free(&n);
        }
    }
    add_h(&r, "Host", r.vhost ? "bucket.s3.example.com" : "s3.example.com");
    int kind = data[0] % 4;
    auth_kind want = kind == 0   ? AUTH_V4_HEADER
                     : kind == 1 ? AUTH_V2_HEADER
                     : kind == 2 ? AUTH_V4_QUERY
                                 : AUTH_V2_QUERY;
    if (kind == 0) {
        add_h(&r, "X-Amz-Date", AMZ_DATE);
        add_h(&r, "X-Amz-Content-Sha256", EMPTY_SHA);
    } else if (kind == 1) {
        add_h(&r, "Date", HTTP_DATE);
    }
    for (size_t i = 0; i < nmeta; i++) add_h(&r, meta[i].name, meta[i].value);

    const char *names[MAX_META + 8];
    if (kind == 0) {
        size_t nn = header_names(&r, true, names);
        char *sig = v4_sign(&r, EMPTY_SHA, names, nn);
        add_h(&r, "Authorization",
              arena_printf(
                  a, "AWS4-HMAC-SHA256 Credential=" AK "/" SCOPE ", SignedHeaders=%s, Signature=%s",
                  join_names(a, names, nn), sig));
    } else if (kind == 1) {
        add_h(&r, "Authorization", arena_printf(a, "AWS " AK ":%s", v2_sign(&r, HTTP_DATE)));
    } else if (kind == 2) {
        size_t nn = header_names(&r, true, names);
        add_q(&r, "X-Amz-Algorithm", "AWS4-HMAC-SHA256");
        add_q(&r, "X-Amz-Credential", AK "/" SCOPE);
        add_q(&r, "X-Amz-Date", AMZ_DATE);
        add_q(&r, "X-Amz-Expires", "3600");
        add_q(&r, "X-Amz-SignedHeaders", join_names(a, names, nn));
        add_q(&r, "X-Amz-Signature", v4_sign(&r, "UNSIGNED-PAYLOAD", names, nn));
    } else {
        char expires[24];
        snprintf(expires, sizeof expires, "%lld", (long long)NOW + 3600);
        char *sig = v2_sign(&r, expires);
        add_q(&r, "AWSAccessKeyId", AK);
        add_q(&r, "Expires", expires);
        add_q(&r, "Signature", sig);
    }
    auth_result out;
    kerr e = submit(&r, r.method, &out);
    if (e != K_OK || out.kind != want) {
        fprintf(stderr, "a request signed as AWS documents was refused: %d (kind %d, want %d)\n",
                (int)e, (int)out.kind, (int)want);
        abort();
    }
    if (strcmp(out.access_key, AK) || strcmp(out.user, "fuzz")) abort();
    /* The method is signed: the same request as another method fails. */
    e = submit(&r, data[0] & 4 ? "GET" : "PUT", &out);
    if (e != K_ESIGNATURE) {
        fprintf(stderr, "a request with its method changed: %d, want K_ESIGNATURE\n", (int)e);
        abort();
    }
    arena_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    if (data[0] & 32)
        signing(data, size);
    else
        forgery(data, size);
    return 0;
}
