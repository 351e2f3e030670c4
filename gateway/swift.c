/* SPDX-License-Identifier: Apache-2.0 */
#include "gateway/swift.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/clock.h"
#include "common/hash.h"
#include "common/json.h"
#include "common/text.h"
#include "gateway/errors.h"
#include "gateway/metrics.h"
#include "gateway/objhttp.h"
#include "gateway/formdata.h"
#include "gateway/tarx.h"
#include "gateway/version.h"

enum {
    LISTING_LIMIT = 10000, /* Swift's container_listing_limit / account_listing_limit */
    META_OVERALL = 2048,   /* the same limit as S3 user metadata, so both read it */
    META_NAME_MAX = 128,
    META_VALUE_MAX = 256,
    META_COUNT_MAX = 90,
};

static const char TOKEN_PREFIX[] = "AUTH_tk";
static const char ACCOUNT_PREFIX[] = "AUTH_";
/* Swift's limit for an SLO manifest body (slo.py's default). */
#define SLO_MAX_MANIFEST_SIZE (8u << 20)

struct swift_frontend {
    swift_opts o;
};

typedef struct sw_op {
    gw_req *r;
    swift_frontend *fe;
    objsvc *svc;
    arena *a;
    const char *user; /* NULL: anonymous */
    principal who;
    bool foreign;        /* a user of another account than the path's: reaches only
                            what that account's containers grant it */
    const char *account; /* from the path, without AUTH_ */
    const char *container;
    const char *obj;
    size_t olen;
    bucket_info b;
    obj_put *put;
    kerr body_error;
    uint8_t etag_md5[16];
    bool has_etag;
    const char *disposition; /* TempURL GET: Content-Disposition to send */
    /* a request body read whole (an SLO manifest, a bulk delete list):
     * collected up to body_max, then handed to collect */
    void (*collect)(struct sw_op *op);
    struct extract *ex;  /* ?extract-archive in progress */
    struct formpost *fp; /* a FormPost in progress */
    bool meta_only;      /* request_attrs: only X-Object-Meta-* */
    kbuf body;
    size_t body_max;
    bool body_big;
} sw_op;

/* ------------------------------------------------------------- answers */

/* Swift's words for a status (swob.RESPONSE_REASONS). */
static void reason(int status, const char **title, const char **text) {
    static const struct {
        int status;
        const char *title, *text;
    } t[] = {
        {200, "OK", ""},
        {201, "Created", ""},
        {202, "Accepted", "The request is accepted for processing."},
        {400, "Bad Request",
         "The server could not comply with the request since it is either malformed or "
         "otherwise incorrect."},
        {401, "Unauthorized", "This server requires authentication."},
        {403, "Forbidden", "Access was denied to this resource."},
        {404, "Not Found", "The resource could not be found."},
        {405, "Method Not Allowed", "The method is not allowed for this resource."},
        {406, "Not Acceptable", "The request is not acceptable."},
        {409, "Conflict", "There was a conflict when trying to complete your request."},
        {411, "Length Required", "Length Required"},
        {412, "Precondition Failed", "A precondition for this request was not met."},
        {413, "Request Entity Too Large",
         "The body of your request was too large for this server."},
        {416, "Requested Range Not Satisfiable", "The Range requested is not available."},
        {422, "Unprocessable Entity", "Unable to process the contained instructions"},
        {499, "Client Disconnect", "The client was disconnected during request."},
        {502, "Bad Gateway", "Bad gateway."},
        {500, "Internal Error",
         "The server has either erred or is incapable of performing the requested operation."},
        {501, "Not Implemented", "The requested method is not implemented by this server."},
        {503, "Service Unavailable",
         "The server is currently unavailable. Please try again at a later time."},
        {507, "Insufficient Storage", "There was not enough space to save the resource."},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        if (t[i].status == status) {
            *title = t[i].title;
            *text = t[i].text;
            return;
        }
    }
    *title = "Error";
    *text = "The request failed.";
}

static void extract_release(sw_op *op);
static void formpost_release(sw_op *op);

static void release_put(sw_op *op) {
    if (op->put) objsvc_put_abort(op->put);
    op->put = NULL;
    kbuf_free(&op->body);
    extract_release(op);
    formpost_release(op);
}

static bool is_head(const sw_op *op) {
    return !strcmp(op->r->http.method, "HEAD");
}

/* An error answer: status with Swift's HTML body (text NULL: Swift's own
 * words for the status). Ends the request (an unfinished upload is
 * released: neither on_done nor on_abort runs after an early answer). */
static void sw_answer(sw_op *op, int status, const char *text) {
    gw_req *r = op->r;
    release_put(op);
    kbuf *b = &r->resp.body;
    kbuf_reset(b);
    r->resp.stream = NULL;
    if (status == 304 || is_head(op)) {
        r->resp.no_body = true;
    } else {
        const char *title, *dflt;
        reason(status, &title, &dflt);
        kbuf_printf(b, "<html><h1>%s</h1><p>", title);
        const char *t = text ? text : dflt;
        kbuf_xml_escape(b, t, strlen(t));
        kbuf_puts(b, "</p></html>");
        gw_add_header(r, "Content-Type", "text/html; charset=UTF-8");
    }
    gw_respond(r, status);
}

/* Answers e from the error table. An access denial is 401 to an anonymous
 * caller (it may still authenticate) and 403 to an authenticated one. */
static void sw_error(sw_op *op, kerr e) {
    int status = kerr_lookup(e)->swift_status;
    if (e == K_EACCESSDENIED && !op->user) status = 401;
    sw_answer(op, status, NULL);
}

/* Answers e with the Swift status of the error table (gateway/errors.c)
 * and a text of its own (NULL: the status' usual words). */
static void sw_error_msg(sw_op *op, kerr e, const char *text) {
    sw_answer(op, kerr_lookup(e)->swift_status, text);
}

static void sw_not_implemented(sw_op *op, const char *what) {
    sw_error_msg(op, K_ENOTIMPL, arena_printf(op->a, "kura does not implement %s.", what));
}

/* An answer with a plain-text body (Swift's middlewares answer so, not in
 * HTML). */
static void sw_text(sw_op *op, int status, const char *text) {
    gw_req *r = op->r;
    release_put(op);
    kbuf_reset(&r->resp.body);
    if (is_head(op))
        r->resp.no_body = true;
    else
        kbuf_puts(&r->resp.body, text);
    gw_add_header(r, "Content-Type", "text/plain; charset=utf-8");
    gw_respond(r, status);
}

/* A success without a body. */
static void sw_empty(sw_op *op, int status) {
    op->r->resp.no_body = true;
    gw_respond(op->r, status);
}

static const char *hdr(const sw_op *op, const char *lname) {
    return http_header_get(&op->r->http, lname);
}

static const char *param(const sw_op *op, const char *name) {
    return http_param_get(&op->r->http, name);
}

static bool truthy(const char *v) {
    return v && (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on") ||
                 !strcmp(v, "1") || !strcasecmp(v, "t") || !strcasecmp(v, "y"));
}

/* "1700000000.12345", Swift's X-Timestamp. */
static const char *x_timestamp(arena *a, int64_t ms) {
    return arena_printf(a, "%lld.%05lld", (long long)(ms / 1000), (long long)(ms % 1000) * 100);
}

/* "2026-01-02T03:04:05.678000", the listings' last_modified. */
static void iso_micro(int64_t ms, char out[64]) {
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%06d", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000) * 1000);
}

/* ------------------------------------------------------------- tokens */

static kerr lookup_secret(swift_frontend *fe, arena *a, const char *ak, const char **secret,
                          const char **name, unsigned *roles) {
    if (fe->o.root_access_key && !strcmp(ak, fe->o.root_access_key)) {
        *secret = fe->o.root_secret_key;
        *name = "root";
        *roles = USER_ROLES_ALL;
        return K_OK;
    }
    return users_get_roles(fe->o.users, a, ak, secret, name, roles);
}

static void token_mac(const char *secret, const char *ak, const char *exp_hex, uint8_t mac[32]) {
    static const char label[] = "kura-swift-token-v1";
    uint8_t k[32];
    hmac_sha256(secret, strlen(secret), label, sizeof label - 1, k);
    size_t akl = strlen(ak);
    char msg[128 + 1 + 16 + 1];
    memcpy(msg, ak, akl);
    msg[akl] = '\n';
    memcpy(msg + akl + 1, exp_hex, 16);
    hmac_sha256(k, 32, msg, akl + 17, mac);
}

static const char *token_make(arena *a, const char *ak, const char *secret, uint64_t expiry) {
    char exp_hex[17], mac_hex[65];
    snprintf(exp_hex, sizeof exp_hex, "%016llx", (unsigned long long)expiry);
    uint8_t mac[32];
    token_mac(secret, ak, exp_hex, mac);
    hex_encode(mac, 32, mac_hex);
    size_t akl = strlen(ak);
    char *ak_hex = arena_alloc(a, akl * 2 + 1);
    hex_encode((const uint8_t *)ak, akl, ak_hex);
    return arena_printf(a, "%s%s%s%s", TOKEN_PREFIX, exp_hex, mac_hex, ak_hex);
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

static bool unhex(const char *s, size_t n, uint8_t *out) {
    for (size_t i = 0; i < n / 2; i++) {
        int h = hexval(s[2 * i]), l = hexval(s[2 * i + 1]);
        if (h < 0 || l < 0) return false;
        out[i] = (uint8_t)(h << 4 | l);
    }
    return n % 2 == 0;
}

/* The user name a token proves, or K_ESIGNATURE (malformed, unknown user,
 * wrong MAC) / K_EEXPIRED. */
static kerr token_check(swift_frontend *fe, arena *a, const char *tok, const char **name,
                        unsigned *roles) {
    size_t pl = sizeof TOKEN_PREFIX - 1, n = strlen(tok);
    if (n < pl + 16 + 64 + 2 || strncmp(tok, TOKEN_PREFIX, pl) || n > pl + 80 + 256)
        return K_ESIGNATURE;
    const char *exp_hex = tok + pl, *mac_hex = exp_hex + 16, *ak_hex = mac_hex + 64;
    size_t akhl = n - pl - 80;
    uint8_t expb[8], mac[32];
    char ak[129];
    if (!unhex(exp_hex, 16, expb) || !unhex(mac_hex, 64, mac) || akhl > 256 ||
        !unhex(ak_hex, akhl, (uint8_t *)ak))
        return K_ESIGNATURE;
    ak[akhl / 2] = 0;
    if (strlen(ak) != akhl / 2) return K_ESIGNATURE;
    uint64_t expiry = 0;
    for (int i = 0; i < 8; i++) expiry = expiry << 8 | expb[i];
    const char *secret;
    if (lookup_secret(fe, a, ak, &secret, name, roles)) return K_ESIGNATURE;
    char exp_copy[17];
    memcpy(exp_copy, exp_hex, 16);
    exp_copy[16] = 0;
    uint8_t want[32];
    token_mac(secret, ak, exp_copy, want);
    if (CRYPTO_memcmp(want, mac, 32)) return K_ESIGNATURE;
    if ((uint64_t)clock_real_s() >= expiry) return K_EEXPIRED;
    return K_OK;
}

static void trans_headers(gw_req *r) {
    const char *id = arena_printf(r->http.a, "tx%s", r->request_id);
    gw_add_header(r, "X-Trans-Id", id);
    gw_add_header(r, "X-Openstack-Request-Id", id);
}

/* GET /auth/v1.0: TempAuth v1. */
static void op_auth(sw_op *op) {
    if (strcmp(op->r->http.method, "GET")) return sw_error_msg(op, K_EMETHODNOTALLOWED, NULL);
    const char *u = hdr(op, "x-auth-user");
    if (!u) u = hdr(op, "x-storage-user");
    const char *key = hdr(op, "x-auth-key");
    if (!key) key = hdr(op, "x-storage-pass");
    const char *secret, *name;
    unsigned roles;
    if (!u || !key || lookup_secret(op->fe, op->a, u, &secret, &name, &roles) ||
        strlen(secret) != strlen(key) || CRYPTO_memcmp(secret, key, strlen(key)))
        return sw_error_msg(op, K_ENOAUTH, NULL);
    principal p = objsvc_principal(op->a, name);
    uint64_t ttl = op->fe->o.token_ttl_s ? op->fe->o.token_ttl_s : SWIFT_DEFAULT_TOKEN_TTL_S;
    const char *tok = token_make(op->a, u, secret, (uint64_t)clock_real_s() + ttl);
    const char *host = hdr(op, "host");
    kbuf acct = KBUF_INIT;
    url_encode(&acct, p.account, strlen(p.account), false);
    const char *url = arena_printf(op->a, "%s://%s/v1/%s%.*s", op->r->http.tls ? "https" : "http",
                                   host ? host : "localhost", ACCOUNT_PREFIX, (int)acct.len,
                                   acct.data ? acct.data : "");
    kbuf_free(&acct);
    gw_add_header(op->r, "X-Auth-Token", tok);
    gw_add_header(op->r, "X-Storage-Token", tok);
    gw_add_header(op->r, "X-Storage-Url", url);
    gw_add_header(op->r, "X-Auth-Token-Expires",
                  arena_printf(op->a, "%llu", (unsigned long long)ttl));
    gw_add_header(op->r, "Content-Type", "text/plain; charset=UTF-8");
    gw_respond(op->r, 200);
}

/* GET /info: what kura's Swift API supports (no middleware it lacks). */
static void op_info(sw_op *op) {
    const char *m = op->r->http.method;
    if (strcmp(m, "GET") && strcmp(m, "HEAD")) return sw_error_msg(op, K_EMETHODNOTALLOWED, NULL);
    kbuf *b = &op->r->resp.body;
    kbuf_puts(b, "{\"swift\": {\"version\": ");
    const char *v = kura_version();
    json_write_str(b, v, strlen(v));
    kbuf_printf(
        b,
        ", \"max_file_size\": %llu, \"max_object_name_length\": %d,"
        " \"max_container_name_length\": 256, \"max_account_name_length\": 256,"
        " \"container_listing_limit\": %d, \"account_listing_limit\": %d,"
        " \"max_meta_name_length\": %d, \"max_meta_value_length\": %d,"
        " \"max_meta_count\": %d, \"max_meta_overall_size\": %d,"
        " \"max_header_size\": 8192, \"extra_header_count\": 0,"
        " \"allow_account_management\": false, \"account_autocreate\": true,"
        " \"valid_api_versions\": [\"v1\"]},"
        " \"tempauth\": {\"account_acls\": false},"
        " \"slo\": {\"max_manifest_segments\": %d, \"max_manifest_size\": %u,"
        " \"yield_frequency\": 10, \"min_segment_size\": 1, \"allow_async_delete\": false},"
        " \"bulk_delete\": {\"max_deletes_per_request\": 10000, \"max_failed_deletes\": 1000},"
        " \"formpost\": {\"allowed_digests\": [\"sha1\", \"sha256\", \"sha512\"]},"
        " \"bulk_upload\": {\"max_containers_per_extraction\": 10000,"
        " \"max_failed_extractions\": 1000},"
        " \"tempurl\": {\"methods\": [\"GET\", \"HEAD\", \"PUT\"],"
        " \"allowed_digests\": [\"sha1\", \"sha256\", \"sha512\"],"
        " \"incoming_remove_headers\": [], \"incoming_allow_headers\": [],"
        " \"outgoing_remove_headers\": [], \"outgoing_allow_headers\": []}}",
        (unsigned long long)OBJ_MAX_PUT_SIZE, OBJ_MAX_KEY, LISTING_LIMIT, LISTING_LIMIT,
        META_NAME_MAX, META_VALUE_MAX, META_COUNT_MAX, META_OVERALL, OBJ_SLO_MAX_SEGMENTS,
        SLO_MAX_MANIFEST_SIZE);
    gw_add_header(op->r, "Content-Type", "application/json; charset=utf-8");
    if (is_head(op)) op->r->resp.no_body = true;
    gw_respond(op->r, 200);
}

/* ------------------------------------------------------------ listings */

typedef enum { FMT_PLAIN, FMT_JSON, FMT_XML } list_format;

static bool list_format_of(sw_op *op, list_format *f) {
    const char *v = param(op, "format");
    *f = FMT_PLAIN;
    if (v) {
        if (!strcasecmp(v, "json"))
            *f = FMT_JSON;
        else if (!strcasecmp(v, "xml"))
            *f = FMT_XML;
        else if (strcasecmp(v, "plain") && strcasecmp(v, "txt") && strcasecmp(v, "text"))
            return false;
        return true;
    }
    const char *acc = hdr(op, "accept");
    if (acc && strstr(acc, "application/json"))
        *f = FMT_JSON;
    else if (acc && (strstr(acc, "application/xml") || strstr(acc, "text/xml")))
        *f = FMT_XML;
    return true;
}

typedef struct list_params {
    const char *prefix, *marker, *end_marker, *delim;
    size_t limit;
    bool reverse; /* descending: marker bounds from above, end_marker from below */
} list_params;

/* The listing query; false after answering a refusal. */
static bool list_params_of(sw_op *op, list_params *lp, list_format *fmt) {
    memset(lp, 0, sizeof *lp);
    if (!list_format_of(op, fmt)) {
        sw_error_msg(op, K_EINVAL, "Invalid format.");
        return false;
    }
    if (http_param_has(&op->r->http, "path")) {
        sw_not_implemented(op, "the path listing parameter");
        return false;
    }
    lp->reverse = truthy(param(op, "reverse"));
    lp->prefix = param(op, "prefix");
    lp->marker = param(op, "marker");
    lp->end_marker = param(op, "end_marker");
    lp->delim = param(op, "delimiter");
    if (lp->prefix && !*lp->prefix) lp->prefix = NULL;
    if (lp->marker && !*lp->marker) lp->marker = NULL;
    if (lp->end_marker && !*lp->end_marker) lp->end_marker = NULL;
    if (lp->delim && !*lp->delim) lp->delim = NULL;
    lp->limit = LISTING_LIMIT;
    const char *l = param(op, "limit");
    if (l) {
        uint64_t v;
        if (!parse_u64(l, strlen(l), &v)) {
            sw_error_msg(op, K_EPRECONDITION, "Value of limit must be a positive integer");
            return false;
        }
        if (v > LISTING_LIMIT) {
            sw_error_msg(op, K_EPRECONDITION, "Maximum limit is 10000");
            return false;
        }
        lp->limit = (size_t)v;
    }
    return true;
}

static const char *content_type_of(const obj_meta *m) {
    for (uint32_t i = 0; i < m->nattrs; i++)
        if (!strcmp(m->attrs[i].name, "content-type")) return m->attrs[i].value;
    return "application/octet-stream";
}

/* Object count and bytes of a bucket: a walk over its listing (cost: one
 * record read per object). */
static kerr bucket_stats(sw_op *op, const bucket_info *b, uint64_t *count, uint64_t *bytes) {
    *count = *bytes = 0;
    obj_list_req req = {.max_entries = 1000};
    char *after = NULL;
    size_t after_len = 0;
    for (;;) {
        arena *a = arena_new(0);
        if (!a) return K_ENOMEM;
        req.start_after = after;
        req.start_after_len = after_len;
        list_entry *ents;
        size_t n;
        bool trunc;
        kerr e = objsvc_list(op->svc, a, b, &req, &ents, &n, &trunc);
        if (!e) {
            for (size_t i = 0; i < n; i++) {
                (*count)++;
                *bytes += ents[i].meta.size;
            }
            if (n) {
                after = arena_memdup(op->a, ents[n - 1].key, ents[n - 1].klen);
                after_len = ents[n - 1].klen;
            }
        }
        arena_free(a);
        if (e) return e;
        if (!trunc || !n) return K_OK;
    }
}

static void finish_listing(sw_op *op, list_format fmt, size_t entries, int empty_status) {
    const char *ct = fmt == FMT_JSON  ? "application/json; charset=utf-8"
                     : fmt == FMT_XML ? "application/xml; charset=utf-8"
                                      : "text/plain; charset=utf-8";
    gw_add_header(op->r, "Content-Type", ct);
    if (is_head(op)) {
        kbuf_reset(&op->r->resp.body);
        return sw_empty(op, 204);
    }
    if (fmt == FMT_PLAIN && !entries) return sw_empty(op, empty_status);
    gw_respond(op->r, 200);
}

/* ------------------------------------------------------------- account */

static int cmp_bucket(const void *x, const void *y) {
    return strcmp(((const bucket_info *)x)->name, ((const bucket_info *)y)->name);
}

/* POST: X-Account-Meta-NAME sets NAME (an empty value removes it),
 * X-Remove-Account-Meta-NAME removes it; other account headers (account
 * ACLs, quotas) are refused. */
static void account_post(sw_op *op) {
    http_req *h = &op->r->http;
    obj_attr *set = arena_alloc(op->a, (h->nheaders + 1) * sizeof *set);
    uint32_t n = 0;
    size_t bytes = 0;
    for (size_t i = 0; i < h->nheaders; i++) {
        const char *name = h->headers[i].name, *value = h->headers[i].value;
        if (!strncmp(name, "x-account-meta-", 15)) {
            name += 15;
        } else if (!strncmp(name, "x-remove-account-meta-", 22)) {
            name += 22;
            value = "";
        } else if (!strncmp(name, "x-account-", 10) || !strncmp(name, "x-remove-account-", 17)) {
            return sw_not_implemented(op, arena_printf(op->a, "the %s header", name));
        } else {
            continue;
        }
        if (!strcmp(name, "quota-bytes") || !strcmp(name, "quota-count"))
            return sw_not_implemented(op, "account quotas");
        if (!*name || strlen(name) > META_NAME_MAX || strlen(value) > META_VALUE_MAX)
            return sw_error_msg(op, K_EINVAL, "Metadata name or value too long, or empty name.");
        bytes += strlen(name) + strlen(value);
        set[n].name = (char *)name;
        set[n].value = (char *)value;
        n++;
    }
    if (bytes > META_OVERALL || n > META_COUNT_MAX)
        return sw_error_msg(op, K_EINVAL,
                            "Total metadata too large; kura keeps at most 2048 bytes.");
    kerr e = n ? objsvc_account_set_attrs(op->svc, &op->who, op->account, set, n, META_COUNT_MAX,
                                          META_OVERALL)
               : K_OK;
    if (e == K_EMETADATATOOLARGE)
        return sw_error_msg(op, K_EINVAL,
                            "Total metadata too large; kura keeps at most 2048 bytes.");
    if (e) return sw_error(op, e);
    sw_empty(op, 204);
}

static void op_account(sw_op *op) {
    const char *m = op->r->http.method;
    if (!op->user) return sw_error_msg(op, K_ENOAUTH, NULL);
    if (op->foreign) return sw_error_msg(op, K_EACCESSDENIED, NULL);
    bool get = !strcmp(m, "GET"), head = !strcmp(m, "HEAD");
    if (!strcmp(m, "POST")) return account_post(op);
    if (!get && !head) return sw_error_msg(op, K_EMETHODNOTALLOWED, NULL);
    list_params lp;
    list_format fmt;
    if (!list_params_of(op, &lp, &fmt)) return;
    bucket_info *bs;
    size_t n;
    kerr e = objsvc_bucket_list(op->svc, op->a, &op->who, &bs, &n);
    if (e) return sw_error(op, e);
    if (n > 1) qsort(bs, n, sizeof *bs, cmp_bucket);
    uint64_t tcount = 0, tbytes = 0;
    uint64_t *counts = arena_zalloc(op->a, (n + 1) * sizeof *counts);
    uint64_t *bytes = arena_zalloc(op->a, (n + 1) * sizeof *bytes);
    int64_t oldest = 0;
    for (size_t i = 0; i < n; i++) {
        e = bucket_stats(op, &bs[i], &counts[i], &bytes[i]);
        if (e) return sw_error(op, e);
        tcount += counts[i];
        tbytes += bytes[i];
        if (!oldest || bs[i].created_ms < oldest) oldest = bs[i].created_ms;
    }
    gw_add_header(op->r, "X-Account-Container-Count", arena_printf(op->a, "%zu", n));
    gw_add_header(op->r, "X-Account-Object-Count",
                  arena_printf(op->a, "%llu", (unsigned long long)tcount));
    gw_add_header(op->r, "X-Account-Bytes-Used",
                  arena_printf(op->a, "%llu", (unsigned long long)tbytes));
    gw_add_header(op->r, "X-Timestamp", x_timestamp(op->a, oldest ? oldest : 0));
    account_info ai;
    e = objsvc_account_open(op->svc, op->a, &op->who, op->account, &ai);
    if (e) return sw_error(op, e);
    for (uint32_t i = 0; i < ai.nattrs; i++)
        gw_add_header(op->r, arena_printf(op->a, "X-Account-Meta-%s", ai.attrs[i].name),
                      ai.attrs[i].value);
    kbuf *b = &op->r->resp.body;
    if (fmt == FMT_JSON) kbuf_putc(b, '[');
    if (fmt == FMT_XML) {
        kbuf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<account name=\"");
        const char *an = arena_printf(op->a, "%s%s", ACCOUNT_PREFIX, op->account);
        kbuf_xml_escape(b, an, strlen(an));
        kbuf_puts(b, "\">");
    }
    size_t out = 0;
    const char *last_sub = NULL;
    size_t plen = lp.prefix ? strlen(lp.prefix) : 0;
    /* reverse: descending, marker bounds from above and end_marker from below */
    for (size_t j = 0; j < n && out < lp.limit; j++) {
        size_t i = lp.reverse ? n - 1 - j : j;
        const char *name = bs[i].name;
        if (lp.prefix && strncmp(name, lp.prefix, plen)) continue;
        if (!lp.reverse && lp.marker && strcmp(name, lp.marker) <= 0) continue;
        if (!lp.reverse && lp.end_marker && strcmp(name, lp.end_marker) >= 0) break;
        if (lp.reverse && lp.marker && strcmp(name, lp.marker) >= 0) continue;
        if (lp.reverse && lp.end_marker && strcmp(name, lp.end_marker) <= 0) break;
        if (lp.delim) {
            const char *d = strstr(name + plen, lp.delim);
            if (d) {
                const char *sub = arena_strndup(op->a, name, (size_t)(d - name) + strlen(lp.delim));
                if (last_sub && !strcmp(sub, last_sub)) continue;
                if (lp.marker &&
                    (lp.reverse ? strcmp(sub, lp.marker) >= 0 : strcmp(sub, lp.marker) <= 0))
                    continue;
                last_sub = sub;
                if (fmt == FMT_JSON) {
                    if (out) kbuf_putc(b, ',');
                    kbuf_puts(b, "{\"subdir\": ");
                    json_write_str(b, sub, strlen(sub));
                    kbuf_putc(b, '}');
                } else if (fmt == FMT_XML) {
                    kbuf_puts(b, "<subdir name=\"");
                    kbuf_xml_escape(b, sub, strlen(sub));
                    kbuf_puts(b, "\"><name>");
                    kbuf_xml_escape(b, sub, strlen(sub));
                    kbuf_puts(b, "</name></subdir>");
                } else {
                    kbuf_printf(b, "%s\n", sub);
                }
                out++;
                continue;
            }
        }
        char when[64];
        iso_micro(bs[i].created_ms, when);
        if (fmt == FMT_JSON) {
            if (out) kbuf_putc(b, ',');
            kbuf_puts(b, "{\"name\": ");
            json_write_str(b, name, strlen(name));
            kbuf_printf(b, ", \"count\": %llu, \"bytes\": %llu, \"last_modified\": \"%s\"}",
                        (unsigned long long)counts[i], (unsigned long long)bytes[i], when);
        } else if (fmt == FMT_XML) {
            kbuf_puts(b, "<container><name>");
            kbuf_xml_escape(b, name, strlen(name));
            kbuf_printf(b,
                        "</name><count>%llu</count><bytes>%llu</bytes><last_modified>%s"
                        "</last_modified></container>",
                        (unsigned long long)counts[i], (unsigned long long)bytes[i], when);
        } else {
            kbuf_printf(b, "%s\n", name);
        }
        out++;
    }
    if (fmt == FMT_JSON) kbuf_putc(b, ']');
    if (fmt == FMT_XML) kbuf_puts(b, "</account>");
    finish_listing(op, fmt, out, 204);
}

/* ----------------------------------------------------------- container */

/* Container headers kura does not implement yet: refused, never ignored. */
static bool refuse_container_headers(sw_op *op) {
    for (size_t i = 0; i < op->r->http.nheaders; i++) {
        const char *n = op->r->http.headers[i].name;
        if (!strncmp(n, "x-container-meta-", 17) || !strncmp(n, "x-remove-container-meta-", 24) ||
            !strcmp(n, "x-container-read") || !strcmp(n, "x-container-write") ||
            !strcmp(n, "x-remove-container-read") || !strcmp(n, "x-remove-container-write"))
            continue;
        if (!strncmp(n, "x-container-", 12) || !strncmp(n, "x-remove-container-", 19) ||
            !strcmp(n, "x-versions-location") || !strcmp(n, "x-history-location") ||
            !strcmp(n, "x-remove-versions-location") || !strcmp(n, "x-remove-history-location") ||
            !strcmp(n, "x-storage-policy")) {
            sw_not_implemented(op, arena_printf(op->a, "the %s header", n));
            return true;
        }
    }
    return false;
}

/* The container metadata a PUT or POST sets: X-Container-Meta-NAME: VALUE
 * sets NAME (an empty value removes it), X-Remove-Container-Meta-NAME
 * removes it. false after answering a refusal (checked before anything is
 * created). */
typedef struct container_meta {
    obj_attr *set;
    uint32_t n;
    const char *read, *write; /* X-Container-Read / -Write (NULL: unchanged) */
} container_meta;

/* The ACL header name (NULL: unchanged; X-Remove-…: none), checked by the
 * object service, which interprets it. false after answering. */
static bool container_acl_of(sw_op *op, const char *name, const char *remove, bool write,
                             const char **out) {
    const char *v = hdr(op, name);
    if (hdr(op, remove)) v = "";
    *out = v;
    if (!v) return true;
    char *norm;
    kerr e = objsvc_grants_normalize(op->a, v, write, &norm);
    if (e == K_ENOTIMPL) {
        sw_not_implemented(op, "referrer rules other than .r:*");
        return false;
    }
    if (e) {
        sw_error_msg(op, K_EINVAL,
                     write ? "Invalid X-Container-Write" : "Invalid X-Container-Read");
        return false;
    }
    return true;
}

static bool container_meta_of(sw_op *op, container_meta *cm) {
    http_req *h = &op->r->http;
    cm->set = arena_alloc(op->a, (h->nheaders + 1) * sizeof *cm->set);
    cm->n = 0;
    size_t bytes = 0;
    for (size_t i = 0; i < h->nheaders; i++) {
        const char *name = h->headers[i].name, *value = h->headers[i].value;
        if (!strncmp(name, "x-container-meta-", 17)) {
            name += 17;
        } else if (!strncmp(name, "x-remove-container-meta-", 24)) {
            name += 24;
            value = "";
        } else {
            continue;
        }
        if (!*name || strlen(name) > META_NAME_MAX || strlen(value) > META_VALUE_MAX) {
            sw_error_msg(op, K_EINVAL, "Metadata name or value too long, or empty name.");
            return false;
        }
        bytes += strlen(name) + strlen(value);
        cm->set[cm->n].name = (char *)name;
        cm->set[cm->n].value = (char *)value;
        cm->n++;
    }
    if (bytes > META_OVERALL || cm->n > META_COUNT_MAX) {
        sw_error_msg(op, K_EINVAL, "Total metadata too large; kura keeps at most 2048 bytes.");
        return false;
    }
    return container_acl_of(op, "x-container-read", "x-remove-container-read", false, &cm->read) &&
           container_acl_of(op, "x-container-write", "x-remove-container-write", true, &cm->write);
}

/* Stores cm in the bucket record (compare-and-set, with the limits on the
 * result). false after answering a refusal. */
static bool apply_container_meta(sw_op *op, const container_meta *cm) {
    kerr e = K_OK;
    if (cm->read || cm->write)
        e = objsvc_bucket_set_grants(op->svc, op->container, cm->read, cm->write);
    if (!e && cm->n)
        e = objsvc_bucket_set_attrs(op->svc, op->container, cm->set, cm->n, META_COUNT_MAX,
                                    META_OVERALL);
    if (e == K_EMETADATATOOLARGE) {
        sw_error_msg(op, K_EINVAL, "Total metadata too large; kura keeps at most 2048 bytes.");
        return false;
    }
    if (e) {
        sw_error(op, e);
        return false;
    }
    return true;
}

/* Whether key sorts at or after bound (bytewise). */
static bool at_or_after(const char *key, size_t klen, const char *bound) {
    size_t bl = strlen(bound), k = klen < bl ? klen : bl;
    int c = memcmp(key, bound, k);
    return c > 0 || (c == 0 && klen >= bl);
}

/* One entry of a container listing in fmt; i: how many came before. */
static void emit_object(sw_op *op, list_format fmt, const list_entry *le, size_t i) {
    kbuf *b = &op->r->resp.body;
    if (le->is_prefix) {
        if (fmt == FMT_JSON) {
            if (i) kbuf_putc(b, ',');
            kbuf_puts(b, "{\"subdir\": ");
            json_write_str(b, le->key, le->klen);
            kbuf_putc(b, '}');
        } else if (fmt == FMT_XML) {
            kbuf_puts(b, "<subdir name=\"");
            kbuf_xml_escape(b, le->key, le->klen);
            kbuf_puts(b, "\"><name>");
            kbuf_xml_escape(b, le->key, le->klen);
            kbuf_puts(b, "</name></subdir>");
        } else {
            kbuf_append(b, le->key, le->klen);
            kbuf_putc(b, '\n');
        }
        return;
    }
    char when[64];
    iso_micro(le->meta.mtime_ms, when);
    const char *ct = content_type_of(&le->meta);
    if (fmt == FMT_JSON) {
        if (i) kbuf_putc(b, ',');
        kbuf_puts(b, "{\"name\": ");
        json_write_str(b, le->key, le->klen);
        kbuf_printf(b, ", \"hash\": \"%s\", \"bytes\": %llu, \"content_type\": ", le->meta.etag,
                    (unsigned long long)le->meta.size);
        json_write_str(b, ct, strlen(ct));
        kbuf_printf(b, ", \"last_modified\": \"%s\"}", when);
    } else if (fmt == FMT_XML) {
        kbuf_puts(b, "<object><name>");
        kbuf_xml_escape(b, le->key, le->klen);
        kbuf_printf(b, "</name><hash>%s</hash><bytes>%llu</bytes><content_type>", le->meta.etag,
                    (unsigned long long)le->meta.size);
        kbuf_xml_escape(b, ct, strlen(ct));
        kbuf_printf(b, "</content_type><last_modified>%s</last_modified></object>", when);
    } else {
        kbuf_append(b, le->key, le->klen);
        kbuf_putc(b, '\n');
    }
}

static obj_list_req list_req_of(const list_params *lp, const char *after, size_t after_len,
                                size_t max) {
    return (obj_list_req){.prefix = lp->prefix,
                          .prefix_len = lp->prefix ? strlen(lp->prefix) : 0,
                          .start_after = after,
                          .start_after_len = after_len,
                          .delim = lp->delim,
                          .delim_len = lp->delim ? strlen(lp->delim) : 0,
                          .max_entries = max};
}

/* Ascending: names after marker and before end_marker, at most limit. */
static kerr list_forward(sw_op *op, const list_params *lp, list_entry **out, size_t *n) {
    obj_list_req req = list_req_of(lp, lp->marker, lp->marker ? strlen(lp->marker) : 0, lp->limit);
    bool trunc;
    kerr e = objsvc_list(op->svc, op->a, &op->b, &req, out, n, &trunc);
    if (e || !lp->end_marker) return e;
    for (size_t i = 0; i < *n; i++)
        if (at_or_after((*out)[i].key, (*out)[i].klen, lp->end_marker)) *n = i;
    return K_OK;
}

/* Descending (?reverse=true, as Swift's container server): names after
 * end_marker and before marker, the last limit of them, last first. The
 * range is walked in ascending pages of their own arena, keeping copies of
 * the last limit entries only: memory stays bounded by limit, time grows
 * with the range. */
typedef struct rev_item {
    char *key; /* malloc'd */
    size_t klen;
    bool is_prefix;
    char etag[48];
    uint64_t size;
    int64_t mtime_ms;
    char *ctype; /* malloc'd */
} rev_item;

static kerr list_reverse(sw_op *op, const list_params *lp, list_entry **out, size_t *n) {
    size_t cap = lp->limit, count = 0, head = 0;
    rev_item *ring = calloc(cap, sizeof *ring);
    if (!ring) return K_ENOMEM;
    char *after = lp->end_marker ? strdup(lp->end_marker) : NULL;
    size_t after_len = after ? strlen(after) : 0;
    kerr e = K_OK;
    for (bool more = true; more && !e;) {
        arena *pa = arena_new(0);
        list_entry *ents;
        size_t m = 0;
        obj_list_req req = list_req_of(lp, after, after_len, 1000);
        e = objsvc_list(op->svc, pa, &op->b, &req, &ents, &m, &more);
        for (size_t i = 0; !e && i < m; i++) {
            const list_entry *le = &ents[i];
            if (lp->marker && at_or_after(le->key, le->klen, lp->marker)) {
                more = false;
                break;
            }
            rev_item *it = &ring[count < cap ? count : head];
            if (count < cap)
                count++;
            else
                head = (head + 1) % cap;
            free(it->key);
            free(it->ctype);
            it->key = malloc(le->klen + 1);
            it->ctype = strdup(le->is_prefix ? "" : content_type_of(&le->meta));
            if (!it->key || !it->ctype) {
                e = K_ENOMEM;
                break;
            }
            memcpy(it->key, le->key, le->klen);
            it->key[le->klen] = 0;
            it->klen = le->klen;
            it->is_prefix = le->is_prefix;
            memcpy(it->etag, le->meta.etag, sizeof it->etag);
            it->size = le->meta.size;
            it->mtime_ms = le->meta.mtime_ms;
        }
        if (!e && m) {
            free(after);
            after = malloc(ents[m - 1].klen + 1);
            if (!after) {
                e = K_ENOMEM;
            } else {
                memcpy(after, ents[m - 1].key, ents[m - 1].klen);
                after[ents[m - 1].klen] = 0;
                after_len = ents[m - 1].klen;
            }
        }
        if (!m) more = false;
        arena_free(pa);
    }
    list_entry *res = arena_zalloc(op->a, (count ? count : 1) * sizeof *res);
    for (size_t k = 0; !e && k < count; k++) { /* newest first */
        const rev_item *it = &ring[(head + count - 1 - k) % count];
        list_entry *le = &res[k];
        le->key = arena_strndup(op->a, it->key, it->klen);
        le->klen = it->klen;
        le->is_prefix = it->is_prefix;
        memcpy(le->meta.etag, it->etag, sizeof it->etag);
        le->meta.size = it->size;
        le->meta.mtime_ms = it->mtime_ms;
        le->meta.nattrs = 1;
        le->meta.attrs = arena_alloc(op->a, sizeof *le->meta.attrs);
        le->meta.attrs[0].name = "content-type";
        le->meta.attrs[0].value = arena_strdup(op->a, it->ctype);
    }
    for (size_t k = 0; k < count; k++) {
        free(ring[k].key);
        free(ring[k].ctype);
    }
    free(ring);
    free(after);
    *out = res;
    *n = e ? 0 : count;
    return e;
}

static void container_list(sw_op *op) {
    list_params lp;
    list_format fmt;
    if (!list_params_of(op, &lp, &fmt)) return;
    kerr e = objsvc_bucket_open(op->svc, op->a, &op->who, op->container, BUCKET_READ, &op->b);
    if (e) return sw_error(op, e);
    uint64_t count, bytes;
    e = bucket_stats(op, &op->b, &count, &bytes);
    if (e) return sw_error(op, e);
    gw_add_header(op->r, "X-Container-Object-Count",
                  arena_printf(op->a, "%llu", (unsigned long long)count));
    gw_add_header(op->r, "X-Container-Bytes-Used",
                  arena_printf(op->a, "%llu", (unsigned long long)bytes));
    gw_add_header(op->r, "X-Timestamp", x_timestamp(op->a, op->b.created_ms));
    /* ACLs and TempURL keys only to the owner, as Swift's swift_owner_headers */
    bool owner = objsvc_bucket_owned(&op->who, &op->b);
    if (owner && *op->b.read_grants)
        gw_add_header(op->r, "X-Container-Read", op->b.read_grants);
    else if (owner && op->b.acl >= ACL_PUBLIC_READ)
        gw_add_header(op->r, "X-Container-Read", ".r:*,.rlistings");
    if (owner && *op->b.write_grants) gw_add_header(op->r, "X-Container-Write", op->b.write_grants);
    for (uint32_t i = 0; i < op->b.nattrs; i++) {
        const char *n = op->b.attrs[i].name;
        if (!owner && (!strcmp(n, "temp-url-key") || !strcmp(n, "temp-url-key-2"))) continue;
        gw_add_header(op->r, arena_printf(op->a, "X-Container-Meta-%s", n), op->b.attrs[i].value);
    }
    kbuf *b = &op->r->resp.body;
    if (fmt == FMT_JSON) kbuf_putc(b, '[');
    if (fmt == FMT_XML) {
        kbuf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<container name=\"");
        kbuf_xml_escape(b, op->container, strlen(op->container));
        kbuf_puts(b, "\">");
    }
    size_t out = 0;
    if (lp.limit && !is_head(op)) {
        list_entry *ents;
        size_t n;
        e = lp.reverse ? list_reverse(op, &lp, &ents, &n) : list_forward(op, &lp, &ents, &n);
        if (e) return sw_error(op, e);
        for (size_t i = 0; i < n; i++) emit_object(op, fmt, &ents[i], out++);
    }
    if (fmt == FMT_JSON) kbuf_putc(b, ']');
    if (fmt == FMT_XML) kbuf_puts(b, "</container>");
    finish_listing(op, fmt, out, 204);
}

static void op_container(sw_op *op) {
    const char *m = op->r->http.method;
    if (!strcmp(m, "GET") || !strcmp(m, "HEAD")) return container_list(op);
    if (!op->user) return sw_error_msg(op, K_ENOAUTH, NULL);
    if (!strcmp(m, "PUT")) {
        /* containers are made in the token's own account */
        if (op->foreign) return sw_error_msg(op, K_EACCESSDENIED, NULL);
        container_meta cm;
        if (refuse_container_headers(op) || !container_meta_of(op, &cm)) return;
        if (strlen(op->container) > OBJ_MAX_CONTAINER_NAME)
            return sw_error_msg(op, K_EINVAL,
                                arena_printf(op->a, "Container name length of %zu longer than %d",
                                             strlen(op->container), OBJ_MAX_CONTAINER_NAME));
        if (!objsvc_container_name_valid(op->container))
            return sw_error_msg(op, K_EPRECONDITION, "Invalid UTF8 or contains NULL");
        kerr e = objsvc_container_create(op->svc, &op->who, op->container, op->fe->o.region);
        if (e && e != K_EBUCKETOWNED) return sw_error(op, e);
        if (!apply_container_meta(op, &cm)) return;
        return sw_empty(op, e == K_EBUCKETOWNED ? 202 : 201);
    }
    if (!strcmp(m, "POST")) {
        container_meta cm;
        if (refuse_container_headers(op) || !container_meta_of(op, &cm)) return;
        kerr e = objsvc_bucket_open(op->svc, op->a, &op->who, op->container, BUCKET_OWNER, &op->b);
        if (e) return sw_error(op, e);
        if (!apply_container_meta(op, &cm)) return;
        return sw_empty(op, 204);
    }
    if (!strcmp(m, "DELETE")) {
        kerr e = objsvc_bucket_open(op->svc, op->a, &op->who, op->container, BUCKET_OWNER, &op->b);
        if (!e) e = objsvc_bucket_delete(op->svc, op->container);
        if (e) return sw_error(op, e);
        return sw_empty(op, 204);
    }
    sw_error_msg(op, K_EMETHODNOTALLOWED, NULL);
}

/* -------------------------------------------------------------- object */

static const char *const stored_headers[] = {
    "content-type", "content-encoding", "content-disposition", "cache-control",
    "expires",      "content-language", OBJ_ATTR_DLO};

/* X-Object-Manifest as Swift's dlo.py accepts it: "container/prefix",
 * both non-empty once percent-decoded, no '?' or '&', the prefix not
 * starting with '/'. */
static bool dlo_value_ok(sw_op *op, const char *v) {
    char *d = arena_strdup(op->a, v);
    long n = url_decode_inplace(d, strlen(d), false);
    if (n <= 0 || strpbrk(d, "?&")) return false;
    char *slash = strchr(d, '/');
    return slash && slash != d && slash[1] && slash[1] != '/';
}

static bool is_stored_header(const char *n) {
    for (size_t j = 0; j < sizeof stored_headers / sizeof *stored_headers; j++)
        if (!strcmp(n, stored_headers[j])) return true;
    return false;
}

/* The attributes a request sets: stored standard headers and
 * X-Object-Meta-NAME as x-amz-meta-name (S3's name for the same metadata).
 * Appended to *attrs (capacity for every header), replacing any of the
 * same name. false after answering a refusal (metadata too large). */
static bool request_attrs(sw_op *op, obj_attr *attrs, uint32_t *n) {
    http_req *h = &op->r->http;
    size_t meta_bytes = 0;
    uint32_t meta_count = 0;
    for (size_t i = 0; i < h->nheaders; i++) {
        const char *name = h->headers[i].name, *value = h->headers[i].value;
        if (!strncmp(name, "x-object-meta-", 14)) {
            size_t nl = strlen(name) - 14, vl = strlen(value);
            if (!nl || nl > META_NAME_MAX || vl > META_VALUE_MAX) {
                sw_error_msg(op, K_EINVAL, "Metadata name or value too long, or empty name.");
                return false;
            }
            meta_bytes += nl + vl;
            meta_count++;
            name = arena_printf(op->a, "x-amz-meta-%s", name + 14);
        } else if (!is_stored_header(name) || op->meta_only) {
            continue;
        } else if (!strcmp(name, "content-type") && !*value) {
            continue;
        } else if (!strcmp(name, OBJ_ATTR_DLO) && !dlo_value_ok(op, value)) {
            sw_text(op, 400, "X-Object-Manifest must be in the format container/prefix");
            return false;
        }
        bool dup = false;
        for (uint32_t j = 0; j < *n && !dup; j++) {
            if (!strcmp(attrs[j].name, name)) {
                attrs[j].value = (char *)value;
                dup = true;
            }
        }
        if (dup) continue;
        attrs[*n].name = (char *)name;
        attrs[*n].value = (char *)value;
        (*n)++;
    }
    if (meta_bytes > META_OVERALL || meta_count > META_COUNT_MAX) {
        sw_error_msg(op, K_EINVAL, "Total metadata too large; kura keeps at most 2048 bytes.");
        return false;
    }
    return true;
}

static bool has_attr(const obj_attr *attrs, uint32_t n, const char *name) {
    for (uint32_t i = 0; i < n; i++)
        if (!strcmp(attrs[i].name, name)) return true;
    return false;
}

/* Sets attribute name to value in attrs (replacing one of that name), or
 * removes it when value is NULL. attrs has room for one more. */
static void set_attr(obj_attr *attrs, uint32_t *n, const char *name, const char *value) {
    for (uint32_t i = 0; i < *n; i++) {
        if (strcmp(attrs[i].name, name)) continue;
        if (value) {
            attrs[i].value = (char *)value;
        } else {
            memmove(&attrs[i], &attrs[i + 1], (*n - i - 1) * sizeof *attrs);
            (*n)--;
        }
        return;
    }
    if (!value) return;
    attrs[*n].name = (char *)name;
    attrs[*n].value = (char *)value;
    (*n)++;
}

/* The expiry a request asks for: X-Delete-At (unix seconds) or
 * X-Delete-After (seconds from now, turned into X-Delete-At), stored as the
 * object attribute the object service expires objects by; none given: any
 * expiry in attrs goes (a POST replaces metadata, a copy does not carry the
 * source's expiry), as in Swift. false after answering 400. */
/* The Content-Type of a new object (attrs has room for one more): the
 * request's, else (or with X-Detect-Content-Type: true, instead) the one
 * the name's extension gives, else application/octet-stream: what Swift's
 * proxy does. */
static void put_content_type(sw_op *op, const char *name, size_t nlen, obj_attr *attrs,
                             uint32_t *n) {
    bool detect = truthy(hdr(op, "x-detect-content-type"));
    if (!detect && has_attr(attrs, *n, "content-type")) return;
    const char *t = mime_type_guess(name, nlen);
    if (detect && !t && has_attr(attrs, *n, "content-type")) return;
    set_attr(attrs, n, "content-type", t ? t : "application/octet-stream");
}

static bool delete_at_attr(sw_op *op, obj_attr *attrs, uint32_t *n) {
    const char *at = hdr(op, "x-delete-at"), *after = hdr(op, "x-delete-after");
    uint64_t now = (uint64_t)clock_real_s(), v;
    if (after) {
        if (after[0] == '-' && parse_u64(after + 1, strlen(after + 1), &v)) {
            sw_error_msg(op, K_EINVAL, "X-Delete-After in past");
            return false;
        }
        if (!parse_u64(after, strlen(after), &v) || v > (uint64_t)INT64_MAX / 2000) {
            sw_error_msg(op, K_EINVAL, "Non-integer X-Delete-After");
            return false;
        }
        at = arena_printf(op->a, "%llu", (unsigned long long)(now + v));
    } else if (at) {
        if (!parse_u64(at, strlen(at), &v) || v > (uint64_t)INT64_MAX / 2000) {
            sw_error_msg(op, K_EINVAL, "Non-integer X-Delete-At");
            return false;
        }
        if (v <= now) {
            sw_error_msg(op, K_EINVAL, "X-Delete-At in past");
            return false;
        }
        at = arena_printf(op->a, "%llu", (unsigned long long)v);
    }
    set_attr(attrs, n, OBJ_ATTR_DELETE_AT, at);
    return true;
}

/* Object features kura does not implement: refused, never ignored. */
static bool refuse_object_features(sw_op *op) {
    static const char *const hs[] = {"x-symlink-target",    "x-symlink-target-account",
                                     "x-copy-from-account", "destination-account",
                                     "x-versions-location", "x-history-location"};
    for (size_t i = 0; i < sizeof hs / sizeof *hs; i++) {
        if (hdr(op, hs[i])) {
            sw_not_implemented(op, arena_printf(op->a, "the %s header", hs[i]));
            return true;
        }
    }
    /* ?symlink=get (what the CLI sends before a delete) is honoured as it
     * is: kura stores no symlinks, so every object is its own target */
    const char *mm = param(op, "multipart-manifest");
    if (hdr(op, "x-static-large-object") &&
        (!strcmp(op->r->http.method, "POST") ||
         (!strcmp(op->r->http.method, "PUT") && !(mm && !strcmp(mm, "put"))))) {
        sw_text(op, 400,
                "X-Static-Large-Object is a reserved header. To create a static large object "
                "add query param multipart-manifest=put.");
        return true;
    }
    return false;
}

/* etag, ctype: what to send instead of the object's (NULL: its own). */
static void object_headers_as(sw_op *op, const obj_meta *m, const char *etag, const char *ctype) {
    char date[30];
    fmt_http_date((time_t)(m->mtime_ms / 1000), date);
    /* unquoted, as Swift sends it (its etag_quoter middleware is opt-in),
     * but a large object's content ETag quoted, as slo.py and dlo.py do */
    if (etag)
        gw_add_header(op->r, "ETag", etag);
    else if (m->pieces)
        gw_add_header(op->r, "ETag", arena_printf(op->a, "\"%s\"", m->etag));
    else
        gw_add_header(op->r, "ETag", m->etag);
    if (m->large == OBJ_LARGE_SLO) gw_add_header(op->r, "X-Static-Large-Object", "True");
    gw_add_header(op->r, "Last-Modified", date);
    gw_add_header(op->r, "X-Timestamp", x_timestamp(op->a, m->mtime_ms));
    gw_add_header(op->r, "Accept-Ranges", "bytes");
    bool has_type = false;
    for (uint32_t i = 0; i < m->nattrs; i++) {
        const char *n = m->attrs[i].name, *v = m->attrs[i].value;
        if (!strcmp(n, OBJ_ATTR_DELETE_AT)) {
            gw_add_header(op->r, "X-Delete-At", v);
        } else if (!strncmp(n, "x-amz-meta-", 11)) {
            gw_add_header(op->r, arena_printf(op->a, "X-Object-Meta-%s", n + 11), v);
        } else if (is_stored_header(n)) {
            if (op->disposition && !strcmp(n, "content-disposition")) continue;
            if (!strcmp(n, "content-type")) {
                has_type = true;
                if (ctype) v = ctype;
            }
            gw_add_header(op->r, n, v);
        }
    }
    if (!has_type) gw_add_header(op->r, "Content-Type", ctype ? ctype : "application/octet-stream");
    if (op->disposition) gw_add_header(op->r, "Content-Disposition", op->disposition);
}

static void object_headers(sw_op *op, const obj_meta *m) {
    object_headers_as(op, m, NULL, NULL);
}

/* -------------------------------------------------------- large objects */

/* "/container/object" percent-encoded as Swift's quote() does (keeps '/'). */
static const char *quoted_path(sw_op *op, const char *cont, const char *key, size_t klen) {
    kbuf q = KBUF_INIT;
    kbuf_putc(&q, '/');
    url_encode(&q, cont, strlen(cont), true);
    kbuf_putc(&q, '/');
    url_encode(&q, key, klen, true);
    const char *r = arena_strndup(op->a, q.data, q.len);
    kbuf_free(&q);
    return r;
}

/* Accept: which format a bulk-style answer takes (bulk.py). */
typedef enum { BULK_PLAIN, BULK_JSON, BULK_XML } bulk_format;

static bulk_format bulk_format_of(sw_op *op) {
    const char *acc = hdr(op, "accept");
    if (acc && strstr(acc, "application/json")) return BULK_JSON;
    if (acc && (strstr(acc, "application/xml") || strstr(acc, "text/xml"))) return BULK_XML;
    return BULK_PLAIN;
}

/* The outcome of a bulk operation (bulk delete, SLO delete, extract). */
typedef struct bulk_err {
    const char *path; /* quoted, as Swift reports it */
    const char *status;
} bulk_err;

typedef struct bulk_result {
    bool extract; /* an extract-archive answer, else a delete answer */
    uint64_t deleted, not_found, created;
    int status;     /* of the whole when not derived from the errors */
    bulk_err *errs; /* in op->a */
    uint32_t nerrors, cap;
    const char *body; /* "Response Body": why the whole request failed, or NULL */
} bulk_result;

static void bulk_error_text(sw_op *op, bulk_result *br, const char *path, const char *status) {
    if (br->nerrors == br->cap) {
        uint32_t cap = br->cap ? br->cap * 2 : 16;
        bulk_err *n = arena_alloc(op->a, cap * sizeof *n);
        if (br->nerrors) memcpy(n, br->errs, br->nerrors * sizeof *n);
        br->errs = n;
        br->cap = cap;
    }
    br->errs[br->nerrors++] = (bulk_err){path, status};
}

static void bulk_error(sw_op *op, bulk_result *br, const char *path, size_t plen, int status) {
    const char *title, *text;
    reason(status, &title, &text);
    bulk_error_text(op, br, arena_strndup(op->a, path, plen),
                    arena_printf(op->a, "%d %s", status, title));
}

/* Answers 200 with the outcome in the caller's format (bulk.py's
 * get_response_body): keys sorted in text, lower_snake_case elements
 * under <delete> or <extract> in XML. */
static void bulk_answer(sw_op *op, bulk_result *br) {
    int st = br->status ? br->status : br->nerrors ? 400 : br->extract ? 201 : 200;
    const char *title, *text;
    reason(st, &title, &text);
    const char *rb = br->body ? br->body : "";
    kbuf *b = &op->r->resp.body;
    kbuf_reset(b);
    switch (bulk_format_of(op)) {
    case BULK_JSON:
        if (br->extract)
            kbuf_printf(b, "{\"Number Files Created\": %llu, \"Response Body\": ",
                        (unsigned long long)br->created);
        else
            kbuf_printf(b,
                        "{\"Number Deleted\": %llu, \"Number Not Found\": %llu, "
                        "\"Response Body\": ",
                        (unsigned long long)br->deleted, (unsigned long long)br->not_found);
        json_write_str(b, rb, strlen(rb));
        kbuf_printf(b, ", \"Response Status\": \"%d %s\", \"Errors\": [", st, title);
        for (uint32_t i = 0; i < br->nerrors; i++) {
            kbuf_puts(b, i ? ", [" : "[");
            json_write_str(b, br->errs[i].path, strlen(br->errs[i].path));
            kbuf_puts(b, ", ");
            json_write_str(b, br->errs[i].status, strlen(br->errs[i].status));
            kbuf_putc(b, ']');
        }
        kbuf_puts(b, "]}");
        gw_add_header(op->r, "Content-Type", "application/json; charset=utf-8");
        break;
    case BULK_XML: {
        const char *root = br->extract ? "extract" : "delete";
        kbuf_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<%s>", root);
        if (br->extract)
            kbuf_printf(b, "<number_files_created>%llu</number_files_created>",
                        (unsigned long long)br->created);
        else
            kbuf_printf(b,
                        "<number_deleted>%llu</number_deleted><number_not_found>%llu"
                        "</number_not_found>",
                        (unsigned long long)br->deleted, (unsigned long long)br->not_found);
        kbuf_puts(b, "<response_body>");
        kbuf_xml_escape(b, rb, strlen(rb));
        kbuf_printf(b, "</response_body><response_status>%d %s</response_status><errors>", st,
                    title);
        for (uint32_t i = 0; i < br->nerrors; i++) {
            kbuf_puts(b, "<object><name>");
            kbuf_xml_escape(b, br->errs[i].path, strlen(br->errs[i].path));
            kbuf_puts(b, "</name><status>");
            kbuf_xml_escape(b, br->errs[i].status, strlen(br->errs[i].status));
            kbuf_puts(b, "</status></object>");
        }
        kbuf_printf(b, "</errors></%s>\n", root);
        gw_add_header(op->r, "Content-Type", "application/xml; charset=utf-8");
        break;
    }
    default:
        if (br->extract)
            kbuf_printf(b, "Number Files Created: %llu\n", (unsigned long long)br->created);
        else
            kbuf_printf(b, "Number Deleted: %llu\nNumber Not Found: %llu\n",
                        (unsigned long long)br->deleted, (unsigned long long)br->not_found);
        kbuf_printf(b, "Response Body: %s\nResponse Status: %d %s\nErrors:\n", rb, st, title);
        for (uint32_t i = 0; i < br->nerrors; i++)
            kbuf_printf(b, "%s, %s\n", br->errs[i].path, br->errs[i].status);
        gw_add_header(op->r, "Content-Type", "text/plain; charset=utf-8");
    }
    gw_respond(op->r, 200);
}

/* Deletes object key of container cont for the caller, counting the
 * outcome in br. */
static void bulk_delete_object(sw_op *op, bulk_result *br, const char *cont, const char *key,
                               size_t klen) {
    bucket_info b;
    kerr e = objsvc_bucket_open(op->svc, op->a, &op->who, cont, BUCKET_WRITE, &b);
    if (!e) e = objsvc_delete(op->svc, &b, key, klen, NULL);
    const char *path = quoted_path(op, cont, key, klen);
    if (!e) {
        br->deleted++;
    } else if (e == K_ENOSUCHKEY || e == K_ENOSUCHBUCKET) {
        br->not_found++;
    } else {
        int st = kerr_lookup(e)->swift_status;
        if (e == K_EACCESSDENIED && !op->user) st = 401;
        if (st >= 500) br->status = 502;
        bulk_error(op, br, path, strlen(path), st);
    }
}

/* The segments of SLO m (and of the SLOs it nests) for a manifest delete. */
static void slo_delete_segments(sw_op *op, bulk_result *br, const obj_meta *m, int depth) {
    for (uint32_t i = 0; i < m->nslo; i++) {
        const obj_slo_seg *g = &m->slo[i];
        if (g->sub_slo && depth < OBJ_SLO_MAX_DEPTH) {
            bucket_info b;
            obj_meta sm;
            kerr e = objsvc_bucket_open(op->svc, op->a, &op->who, g->bucket, BUCKET_LOOKUP, &b);
            if (!e)
                e = objsvc_object_open_manifest(op->svc, op->a, &op->who, &b, g->key, g->klen, &sm);
            if (!e && sm.large == OBJ_LARGE_SLO) slo_delete_segments(op, br, &sm, depth + 1);
        }
        bulk_delete_object(op, br, g->bucket, g->key, g->klen);
    }
}

/* DELETE ?multipart-manifest=delete: an SLO with its segments; any other
 * object alone. */
static void slo_delete(sw_op *op) {
    bucket_info b;
    obj_meta m;
    kerr e = objsvc_bucket_open(op->svc, op->a, &op->who, op->container, BUCKET_WRITE, &b);
    if (!e) e = objsvc_object_open_manifest(op->svc, op->a, &op->who, &b, op->obj, op->olen, &m);
    bulk_result br = {0};
    if (e == K_ENOSUCHKEY) {
        br.not_found++;
        return bulk_answer(op, &br);
    }
    if (e) return sw_error(op, e);
    if (m.large != OBJ_LARGE_SLO) {
        bulk_error_text(op, &br, quoted_path(op, op->container, op->obj, op->olen),
                        "Not an SLO manifest");
        return bulk_answer(op, &br);
    }
    slo_delete_segments(op, &br, &m, 1);
    bulk_delete_object(op, &br, op->container, op->obj, op->olen);
    bulk_answer(op, &br);
}

/* ---------------------------------------------------------- bulk delete */

#define BULK_MAX_DELETES 10000
#define BULK_MAX_FAILED 1000
#define BULK_MAX_PATH (2 * (OBJ_MAX_KEY + 256 + 2))

/* Deletes container cont (empty) for the caller, counting in br. */
static void bulk_delete_container(sw_op *op, bulk_result *br, const char *cont) {
    bucket_info b;
    kerr e = objsvc_bucket_open(op->svc, op->a, &op->who, cont, BUCKET_OWNER, &b);
    if (!e) e = objsvc_bucket_delete(op->svc, cont);
    if (!e) {
        br->deleted++;
    } else if (e == K_ENOSUCHBUCKET) {
        br->not_found++;
    } else {
        const char *path = quoted_path(op, cont, "", 0);
        int st = kerr_lookup(e)->swift_status;
        if (e == K_EACCESSDENIED && !op->user) st = 401;
        if (st >= 500) br->status = 502;
        bulk_error(op, br, path, strlen(path) - 1, st);
    }
}

/* POST or DELETE ?bulk-delete, once the list is in: newline-separated,
 * percent-encoded "/container/object" and "/container" paths of the
 * request's account; objects go first, then containers. The answer is
 * always 200, the outcome in the body (bulk.py). */
static void bulk_delete_done(sw_op *op) {
    bulk_result br = {0};
    if (op->body_big) {
        br.status = 413;
        br.body = "Maximum Bulk Deletes: 10000 per request";
        return bulk_answer(op, &br);
    }
    typedef struct item {
        const char *cont, *obj;
        size_t olen;
        const char *raw;
        size_t rawlen;
    } item;
    item *items = arena_alloc(op->a, (BULK_MAX_DELETES + 1) * sizeof *items);
    size_t n = 0;
    const char *p = op->body.data ? op->body.data : "", *end = p + op->body.len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        size_t len = (size_t)(le - p);
        const char *t = str_trim(p, &len);
        p = nl ? nl + 1 : end;
        if (!len) continue;
        if (len > BULK_MAX_PATH) {
            br.status = 400;
            br.body = "Invalid File Name";
            return bulk_answer(op, &br);
        }
        if (n == BULK_MAX_DELETES) {
            br.status = 413;
            br.body = "Maximum Bulk Deletes: 10000 per request";
            return bulk_answer(op, &br);
        }
        char *d = arena_strndup(op->a, t, len);
        long dl = url_decode_inplace(d, len, false);
        item *it = &items[n++];
        it->raw = t;
        it->rawlen = len;
        it->cont = NULL;
        if (dl < 0 || !utf8_valid(d, (size_t)dl) || memchr(d, 0, (size_t)dl)) continue;
        while (*d == '/') d++;
        char *slash = strchr(d, '/');
        if (slash) *slash = 0;
        if (!*d) continue;
        it->cont = d;
        it->obj = slash && slash[1] ? slash + 1 : NULL;
        it->olen = it->obj ? strlen(it->obj) : 0;
    }
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) {
            item *it = &items[i];
            if (br.nerrors >= BULK_MAX_FAILED) {
                br.status = 400;
                br.body = "Max delete failures exceeded";
                return bulk_answer(op, &br);
            }
            if (!it->cont) { /* not a path of UTF-8 */
                if (pass == 0) bulk_error(op, &br, it->raw, it->rawlen, 412);
                continue;
            }
            if (pass == 0 && it->obj) bulk_delete_object(op, &br, it->cont, it->obj, it->olen);
            if (pass == 1 && !it->obj) bulk_delete_container(op, &br, it->cont);
        }
    }
    if (!br.deleted && !br.not_found && !br.nerrors) {
        br.status = 400;
        br.body = "Invalid bulk delete.";
    }
    bulk_answer(op, &br);
}

static kerr on_body(gw_req *r, const char *data, size_t n);
static void on_done(gw_req *r);
static void on_abort(gw_req *r);

static void bulk_delete(sw_op *op) {
    if (!op->user) return sw_error_msg(op, K_ENOAUTH, NULL);
    bulk_result br = {0};
    const char *ct = hdr(op, "content-type");
    if (ct && strncasecmp(ct, "text/plain", 10)) {
        br.status = 406;
        return bulk_answer(op, &br);
    }
    uint64_t len;
    if (gw_body_frame(op->r, &len) == GW_BODY_NONE) {
        br.status = 411;
        return bulk_answer(op, &br);
    }
    op->collect = bulk_delete_done;
    op->body_max = (size_t)BULK_MAX_DELETES * (BULK_MAX_PATH + 1);
    op->r->fe = op;
    op->r->on_body = on_body;
    op->r->on_done = on_done;
    op->r->on_abort = on_abort;
}

/* ------------------------------------------------------ extract archive */

#define EXTRACT_MAX_CONTAINERS 10000
#define EXTRACT_MAX_FAILED 1000

/* PUT ?extract-archive=tar|tar.gz|tar.bz2 in progress: the archive streams
 * through tarx into one object upload at a time (bulk.py's
 * handle_extract_iter). */
typedef struct extract {
    sw_op *op;
    tarx *t;
    const char *base_cont;   /* the URL's container, or NULL at account level */
    const char *base_prefix; /* the URL's object part + '/', or "" */
    obj_attr *base;          /* metadata the request gives every object */
    uint32_t nbase;
    bulk_result br;
    uint32_t made; /* containers created */
    bool stop;     /* the run is over (a failure that ends it) */
    /* the file being written */
    obj_put *put;
    const char *path;
    /* the bucket of the last file */
    const char *bname;
    bucket_info b;
    kerr be;
} extract;

static const char *pax_get(const tarx_attr *a, size_t n, const char *k1, const char *k2) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(a[i].key, k1) || !strcmp(a[i].key, k2)) return a[i].value;
    return NULL;
}

static void extract_fail(extract *x, const char *path, int status) {
    bulk_error(x->op, &x->br, path, strlen(path), status);
    if (status >= 500) x->br.status = 502;
    if (x->br.nerrors >= EXTRACT_MAX_FAILED) {
        x->br.status = 400;
        x->br.body = "Max extraction failures exceeded";
        x->stop = true;
    }
}

static int extract_begin(void *ctx, const char *name, uint64_t size, const tarx_attr *attrs,
                         size_t nattrs) {
    extract *x = ctx;
    sw_op *op = x->op;
    if (x->stop) return TARX_ABORT;
    while (!strncmp(name, "./", 2)) name += 2;
    while (*name == '/') name++;
    if (!*name) return TARX_SKIP;
    const char *cont, *obj;
    if (x->base_cont) {
        cont = x->base_cont;
        obj = arena_printf(op->a, "%s%s", x->base_prefix, name);
    } else { /* account level: the first component is the container */
        const char *slash = strchr(name, '/');
        if (!slash || !slash[1]) return TARX_SKIP; /* files at the top are ignored */
        cont = arena_strndup(op->a, name, (size_t)(slash - name));
        obj = arena_strdup(op->a, slash + 1); /* name lives only during this call */
    }
    size_t olen = strlen(obj);
    x->path = quoted_path(op, cont, obj, olen);
    if (size > OBJ_MAX_PUT_SIZE) return extract_fail(x, x->path, 413), TARX_SKIP;
    if (olen > OBJ_MAX_KEY || !utf8_valid(obj, olen))
        return extract_fail(x, x->path, 400), TARX_SKIP;
    if (!x->bname || strcmp(x->bname, cont)) {
        x->bname = cont;
        x->be = objsvc_bucket_open(op->svc, op->a, &op->who, cont, BUCKET_WRITE, &x->b);
        if (x->be == K_ENOSUCHBUCKET && !x->base_cont) {
            if (x->made >= EXTRACT_MAX_CONTAINERS) {
                x->br.status = 400;
                x->br.body = "More than 10000 containers to create from tar.";
                x->stop = true;
                return TARX_ABORT;
            }
            kerr ce = objsvc_container_create(op->svc, &op->who, cont, op->fe->o.region);
            if (!ce) x->made++;
            x->be = ce && ce != K_EBUCKETOWNED
                        ? ce
                        : objsvc_bucket_open(op->svc, op->a, &op->who, cont, BUCKET_WRITE, &x->b);
        }
    }
    if (x->be) {
        int st = kerr_lookup(x->be)->swift_status;
        if (x->be == K_EACCESSDENIED && !op->user) st = 401;
        if (x->be == K_EINVALIDBUCKETNAME) st = 400;
        return extract_fail(x, x->path, st), TARX_SKIP;
    }
    obj_attr *a = arena_alloc(op->a, (x->nbase + nattrs + 2) * sizeof *a);
    uint32_t n = x->nbase;
    memcpy(a, x->base, x->nbase * sizeof *a);
    const char *mt =
        pax_get(attrs, nattrs, "SCHILY.xattr.user.mime_type", "LIBARCHIVE.xattr.user.mime_type");
    if (mt) set_attr(a, &n, "content-type", arena_strdup(op->a, mt)); /* attrs die with the call */
    for (size_t i = 0; i < nattrs; i++) {
        const char *k = attrs[i].key;
        const char *m = !strncmp(k, "SCHILY.xattr.user.meta.", 23)       ? k + 23
                        : !strncmp(k, "LIBARCHIVE.xattr.user.meta.", 27) ? k + 27
                                                                         : NULL;
        if (m && *m && strlen(m) <= META_NAME_MAX && strlen(attrs[i].value) <= META_VALUE_MAX)
            set_attr(a, &n, arena_printf(op->a, "x-amz-meta-%s", m),
                     arena_strdup(op->a, attrs[i].value));
    }
    put_content_type(op, obj, olen, a, &n);
    obj_put_opts o = {.size = size, .attrs = a, .nattrs = n, .acl = ACL_PRIVATE};
    kerr e = objsvc_put_begin(op->svc, op->a, &x->b, obj, olen, &o, &x->put);
    if (e) return extract_fail(x, x->path, kerr_lookup(e)->swift_status), TARX_SKIP;
    return TARX_CONTINUE;
}

static int extract_data(void *ctx, const void *p, size_t n) {
    extract *x = ctx;
    kerr e = objsvc_put_write(x->put, p, n);
    if (!e) return TARX_CONTINUE;
    objsvc_put_abort(x->put);
    x->put = NULL;
    extract_fail(x, x->path, kerr_lookup(e)->swift_status);
    return TARX_SKIP;
}

static int extract_end(void *ctx) {
    extract *x = ctx;
    if (!x->put) return TARX_CONTINUE; /* failed under way: counted */
    obj_meta m;
    kerr e = objsvc_put_finish(x->put, NULL, &m);
    x->put = NULL;
    if (e)
        extract_fail(x, x->path, kerr_lookup(e)->swift_status);
    else
        x->br.created++;
    return x->stop ? TARX_ABORT : TARX_CONTINUE;
}

static const tarx_cb extract_cb = {extract_begin, extract_data, extract_end};

static void extract_release(sw_op *op) {
    extract *x = op->ex;
    if (!x) return;
    if (x->put) objsvc_put_abort(x->put);
    x->put = NULL;
    tarx_free(x->t);
    x->t = NULL;
    op->ex = NULL;
}

/* The body is all in: the outcome. */
static void extract_done(sw_op *op) {
    extract *x = op->ex;
    kerr e = x->stop ? K_OK : tarx_finish(x->t);
    if (e == K_EINVAL) {
        x->br.status = 400;
        x->br.body = arena_printf(op->a, "Invalid Tar File: %s", tarx_error(x->t));
    } else if (e && !x->stop) {
        x->br.status = 500;
    } else if (!x->stop && !x->br.created && !x->br.nerrors) {
        x->br.status = 400;
        x->br.body = "Invalid Tar File: No Valid Files";
    }
    bulk_result br = x->br;
    extract_release(op);
    bulk_answer(op, &br);
}

static void extract_start(sw_op *op) {
    if (!op->user) return sw_error_msg(op, K_ENOAUTH, NULL);
    const char *fmt = param(op, "extract-archive");
    if (fmt && *fmt == '.') fmt++;
    tarx_compression c;
    if (fmt && !strcmp(fmt, "tar"))
        c = TARX_PLAIN;
    else if (fmt && (!strcmp(fmt, "tar.gz") || !strcmp(fmt, "tgz")))
        c = TARX_GZIP;
    else if (fmt && (!strcmp(fmt, "tar.bz2") || !strcmp(fmt, "tbz2")))
        c = TARX_BZIP2;
    else
        return sw_text(op, 400, "Unsupported archive format");
    uint64_t len;
    if (gw_body_frame(op->r, &len) == GW_BODY_NONE) return sw_error_msg(op, K_EMISSINGLENGTH, NULL);
    extract *x = arena_zalloc(op->a, sizeof *x);
    x->op = op;
    x->br.extract = true;
    if (op->container) {
        x->base_cont = op->container;
        x->base_prefix =
            op->obj && op->olen ? arena_printf(op->a, "%.*s/", (int)op->olen, op->obj) : "";
    }
    x->base = arena_alloc(op->a, (op->r->http.nheaders + 2) * sizeof *x->base);
    /* only metadata and expiry travel to each object (bulk.py) */
    op->meta_only = true;
    if (!request_attrs(op, x->base, &x->nbase) || !delete_at_attr(op, x->base, &x->nbase)) return;
    if (tarx_new(c, &extract_cb, x, &x->t)) return sw_error_msg(op, K_ENOMEM, NULL);
    op->ex = x;
    op->r->fe = op;
    op->r->on_body = on_body;
    op->r->on_done = on_done;
    op->r->on_abort = on_abort;
}

/* ------------------------------------------------------------ FormPost */

static bool tempurl_sig(arena *a, const char *sig, const EVP_MD **md, uint8_t *out, size_t *n);

#define FORMPOST_MAX_VALUE 4096 /* formpost.py's MAX_VALUE_LENGTH */

/* POST of an HTML form (multipart/form-data) to a container or a prefix in
 * it, signed with a TempURL key over the form's own fields: each file part
 * streams into one object (formpost.py). */
typedef struct formpost {
    sw_op *op;
    formdata *fd;
    bucket_info b;
    const char *path; /* the request path, as signed */
    obj_attr *fields; /* the form's fields so far, names lower-case */
    uint32_t nfields;
    kbuf value; /* the field being read */
    char *name;
    bool in_file, checked;
    uint64_t files, max_size, written;
    obj_put *put;
    char *obj;
    int status; /* 0 while all is well */
    const char *message;
    bool unauthorized, invalid;
} formpost;

static const char *fp_field(const formpost *f, const char *name) {
    for (uint32_t i = 0; i < f->nfields; i++)
        if (!strcmp(f->fields[i].name, name)) return f->fields[i].value;
    return NULL;
}

static bool fp_int(const char *v, int64_t *out) {
    if (!v || !*v) return *out = 0, true;
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (*end || errno) return false;
    *out = x;
    return true;
}

/* Visible ASCII, spaces, tabs and UTF-8: nothing that could end or split
 * a response header. */
static bool header_text(const char *v) {
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f) return false;
    return true;
}

/* Checks expiry and signature, once, at the first file (formpost.py). */
static bool fp_check(formpost *f) {
    sw_op *op = f->op;
    int64_t expires, max_size, max_count;
    if (!fp_int(fp_field(f, "max_file_size"), &max_size))
        return f->invalid = true, f->message = "max_file_size not an integer", false;
    if (!fp_int(fp_field(f, "max_file_count"), &max_count))
        return f->invalid = true, f->message = "max_file_count not an integer", false;
    if (!fp_int(fp_field(f, "expires"), &expires))
        return f->invalid = true, f->message = "expired not an integer", false;
    if (expires < (int64_t)clock_real_s())
        return f->unauthorized = true, f->message = "Form Expired", false;
    const char *sig = fp_field(f, "signature");
    const EVP_MD *md;
    uint8_t sigb[64];
    size_t sigl;
    if (!sig || !tempurl_sig(op->a, sig, &md, sigb, &sigl))
        return f->unauthorized = true, f->message = "Invalid Signature", false;
    const char *r = fp_field(f, "redirect"), *ms = fp_field(f, "max_file_size"),
               *mc = fp_field(f, "max_file_count"), *ex = fp_field(f, "expires");
    kbuf body = KBUF_INIT;
    kbuf_printf(&body, "%s\n%s\n%s\n%s\n%s", f->path, r ? r : "", ms && *ms ? ms : "0",
                mc && *mc ? mc : "0", ex && *ex ? ex : "0");
    account_info ai;
    if (objsvc_account_open(op->svc, op->a, NULL, op->account, &ai)) ai.nattrs = 0;
    const obj_attr *sets[2] = {f->b.attrs, ai.attrs};
    uint32_t counts[2] = {f->b.nattrs, ai.nattrs};
    bool ok = false;
    for (int k = 0; k < 2 && !ok; k++) {
        for (uint32_t i = 0; i < counts[k] && !ok; i++) {
            const char *n = sets[k][i].name, *key = sets[k][i].value;
            if (strcmp(n, "temp-url-key") && strcmp(n, "temp-url-key-2")) continue;
            uint8_t mac[EVP_MAX_MD_SIZE];
            unsigned int ml = 0;
            ok = HMAC(md, key, (int)strlen(key), (const uint8_t *)body.data, body.len, mac, &ml) &&
                 ml == sigl && !CRYPTO_memcmp(mac, sigb, sigl);
        }
    }
    kbuf_free(&body);
    if (!ok) return f->unauthorized = true, f->message = "Invalid Signature", false;
    f->max_size = (uint64_t)(max_size > 0 ? max_size : 0);
    f->checked = true;
    (void)max_count;
    return true;
}

static int fp_begin(void *ctx, const char *name, const char *filename, const char *ctype) {
    formpost *f = ctx;
    sw_op *op = f->op;
    if (f->status || f->unauthorized || f->invalid) return FORMDATA_ABORT;
    if (!filename || !*filename) { /* a field (a file input left empty is one too) */
        f->in_file = false;
        f->name = arena_strdup(op->a, name);
        kbuf_reset(&f->value);
        return FORMDATA_CONTINUE;
    }
    f->files++;
    int64_t max_count = 0;
    if (!fp_int(fp_field(f, "max_file_count"), &max_count))
        return f->invalid = true, f->message = "max_file_count not an integer", FORMDATA_ABORT;
    if ((int64_t)f->files > max_count) {
        f->status = 400;
        f->message = "max file count exceeded";
        return FORMDATA_ABORT;
    }
    if (!f->checked && !fp_check(f)) return FORMDATA_ABORT;
    obj_attr *a = arena_alloc(op->a, 6 * sizeof *a);
    uint32_t n = 0;
    const char *t = fp_field(f, "content-type");
    if (!t) t = ctype && *ctype ? ctype : "application/octet-stream";
    const char *enc = fp_field(f, "content-encoding");
    /* they become response headers of the object: header text only */
    if (!header_text(t) || (enc && !header_text(enc))) {
        f->status = 400;
        f->message = "content-type or content-encoding is not valid header text";
        return FORMDATA_ABORT;
    }
    set_attr(a, &n, "content-type", arena_strdup(op->a, t));
    if (enc) set_attr(a, &n, "content-encoding", enc);
    int64_t at = 0, after = 0;
    const char *da = fp_field(f, "x_delete_at"), *dafter = fp_field(f, "x_delete_after");
    if (da && (!fp_int(da, &at) || !*da))
        return f->invalid = true,
               f->message = "x_delete_at not an integer: Unix timestamp required.", FORMDATA_ABORT;
    if (dafter && (!fp_int(dafter, &after) || !*dafter))
        return f->invalid = true,
               f->message = "x_delete_after not an integer: Number of seconds required.",
               FORMDATA_ABORT;
    if (dafter) at = (int64_t)clock_real_s() + after;
    if (da || dafter) {
        if (at <= (int64_t)clock_real_s()) {
            f->status = 400;
            f->message = "X-Delete-At in past";
            return FORMDATA_ABORT;
        }
        set_attr(a, &n, OBJ_ATTR_DELETE_AT, arena_printf(op->a, "%lld", (long long)at));
    }
    /* the object: the URL's object part (or the container) and the file name */
    f->obj = arena_printf(op->a, "%.*s%s", (int)op->olen, op->obj ? op->obj : "", filename);
    size_t olen = strlen(f->obj);
    if (olen > OBJ_MAX_KEY || !utf8_valid(f->obj, olen)) {
        f->status = 400;
        f->message = "invalid object name";
        return FORMDATA_ABORT;
    }
    obj_put_opts o = {.size = OBJ_SIZE_UNKNOWN, .attrs = a, .nattrs = n, .acl = ACL_PRIVATE};
    kerr e = objsvc_put_begin(op->svc, op->a, &f->b, f->obj, olen, &o, &f->put);
    if (e) {
        f->status = kerr_lookup(e)->swift_status;
        return FORMDATA_ABORT;
    }
    f->in_file = true;
    f->written = 0;
    return FORMDATA_CONTINUE;
}

static int fp_data(void *ctx, const void *p, size_t n) {
    formpost *f = ctx;
    if (!f->in_file) {
        /* the first FORMPOST_MAX_VALUE bytes, however the body was split */
        size_t room = FORMPOST_MAX_VALUE - f->value.len;
        kbuf_append(&f->value, p, n < room ? n : room);
        return FORMDATA_CONTINUE;
    }
    if (n > f->max_size - f->written) { /* formpost.py's capped body */
        f->invalid = true;
        f->message = "max_file_size exceeded";
        return FORMDATA_ABORT;
    }
    kerr e = objsvc_put_write(f->put, p, n);
    if (e) {
        f->status = kerr_lookup(e)->swift_status;
        return FORMDATA_ABORT;
    }
    f->written += n;
    return FORMDATA_CONTINUE;
}

static int fp_end(void *ctx) {
    formpost *f = ctx;
    sw_op *op = f->op;
    if (!f->in_file) {
        if (f->name && *f->name) {
            size_t l = f->value.len;
            const char *v = f->value.data ? f->value.data : "";
            while (l && strchr("\r\n-", v[l - 1])) l--; /* rstrip('\r\n--') */
            char *lname = arena_strdup(op->a, f->name);
            for (char *c = lname; *c; c++)
                if (*c >= 'A' && *c <= 'Z') *c = (char)(*c + 32);
            obj_attr *na = arena_alloc(op->a, (f->nfields + 1) * sizeof *na);
            if (f->nfields) memcpy(na, f->fields, f->nfields * sizeof *na);
            f->fields = na;
            uint32_t n = f->nfields;
            set_attr(f->fields, &n, lname, arena_strndup(op->a, v, l));
            f->nfields = n;
        }
        return FORMDATA_CONTINUE;
    }
    obj_put *put = f->put;
    f->put = NULL;
    f->in_file = false;
    obj_meta m;
    kerr e = objsvc_put_finish(put, NULL, &m);
    if (e) {
        f->status = kerr_lookup(e)->swift_status;
        return FORMDATA_ABORT;
    }
    return FORMDATA_CONTINUE;
}

static const formdata_cb formpost_cb = {fp_begin, fp_data, fp_end};

static void formpost_release(sw_op *op) {
    formpost *f = op->fp;
    if (!f) return;
    if (f->put) objsvc_put_abort(f->put);
    f->put = NULL;
    formdata_free(f->fd);
    kbuf_free(&f->value);
    op->fp = NULL;
}

static void formpost_done(sw_op *op) {
    formpost *f = op->fp;
    kerr e = f->status || f->unauthorized || f->invalid ? K_OK : formdata_finish(f->fd);
    if (e == K_EINVAL) f->invalid = true, f->message = formdata_error(f->fd);
    formpost ff = *f;
    formpost_release(op);
    if (ff.unauthorized) return sw_answer(op, 401, arena_printf(op->a, "FormPost: %s", ff.message));
    if (ff.invalid) return sw_text(op, 400, arena_printf(op->a, "FormPost: %s", ff.message));
    int status = ff.status;
    const char *message = ff.message ? ff.message : "";
    if (!status && !ff.files) status = 400, message = "no files to process";
    if (!status) status = 201;
    const char *redirect = fp_field(&ff, "redirect");
    if (redirect && *redirect) {
        kbuf q = KBUF_INIT;
        url_encode(&q, message, strlen(message), false);
        const char *loc = arena_printf(op->a, "%s%cstatus=%d&message=%.*s", redirect,
                                       strchr(redirect, '?') ? '&' : '?', status, (int)q.len,
                                       q.data ? q.data : "");
        kbuf_free(&q);
        kbuf *b = &op->r->resp.body;
        kbuf_reset(b);
        kbuf_puts(b, "<html><body><p><a href=\"");
        kbuf_xml_escape(b, loc, strlen(loc));
        kbuf_puts(b, "\">Click to continue...</a></p></body></html>");
        gw_add_header(op->r, "Location", loc);
        gw_add_header(op->r, "Content-Type", "text/html; charset=UTF-8");
        return gw_respond(op->r, 303);
    }
    const char *title, *text;
    reason(status, &title, &text);
    char *word = arena_strdup(op->a, message); /* message.title() */
    for (char *c = word, prev = ' '; *c; prev = *c++)
        if (prev == ' ' && *c >= 'a' && *c <= 'z') *c = (char)(*c - 32);
    sw_text(op, status,
            *message ? arena_printf(op->a, "%d %s\r\nFormPost: %s", status, title, word)
                     : arena_printf(op->a, "%d %s", status, title));
}

/* POST multipart/form-data to a container (or a prefix in it): FormPost,
 * before any token is looked at (the form carries its signature). */
static void formpost_start(sw_op *op) {
    formpost *f = arena_zalloc(op->a, sizeof *f);
    f->op = op;
    kbuf_init(&f->value);
    principal nobody = objsvc_principal(op->a, NULL);
    if (objsvc_bucket_open(op->svc, op->a, &nobody, op->container, BUCKET_LOOKUP, &f->b) ||
        strcmp(f->b.owner, op->account))
        return sw_answer(op, 401, "FormPost: Invalid Signature");
    f->path = arena_strndup(op->a, op->r->http.path, op->r->http.path_len);
    if (formdata_new(hdr(op, "content-type"), &formpost_cb, f, &f->fd))
        return sw_text(op, 400, "FormPost: invalid starting boundary");
    /* the files are written with the authority of the key's holder */
    op->user = ".formpost";
    op->r->log_principal = op->user;
    op->who = objsvc_principal_for(op->user, f->b.owner);
    op->fp = f;
    op->r->fe = op;
    op->r->on_body = on_body;
    op->r->on_done = on_done;
    op->r->on_abort = on_abort;
}

/* "/container/object" of an SLO segment (Swift's "path"), not encoded. */
static bool slo_path(sw_op *op, const char *p, size_t n, const char **cont, const char **obj,
                     size_t *olen) {
    while (n && *p == '/') p++, n--;
    const char *slash = memchr(p, '/', n);
    if (!slash || slash == p || slash + 1 == p + n) return false;
    *cont = arena_strndup(op->a, p, (size_t)(slash - p));
    *obj = slash + 1;
    *olen = (size_t)(p + n - slash - 1);
    return true;
}

static const char *slo_problem_text(obj_slo_problem pr) {
    switch (pr) {
    case SLO_SEG_NOT_FOUND:
        return "404 Not Found";
    case SLO_SEG_FORBIDDEN:
        return "403 Forbidden";
    case SLO_SEG_ETAG_MISMATCH:
        return "Etag Mismatch";
    case SLO_SEG_SIZE_MISMATCH:
        return "Size Mismatch";
    case SLO_SEG_BAD_RANGE:
        return "Unsatisfiable Range";
    case SLO_SEG_TOO_SMALL:
        return "Too small; each segment must be at least 1 byte.";
    default:
        return "500 Internal Error";
    }
}

/* The 400 of an SLO PUT whose segments did not check out, in the format
 * Accept asks for (Swift's get_response_body for 'upload'). */
static void slo_problems_answer(sw_op *op, const obj_slo_in *in, const obj_slo_problem *pr,
                                size_t n) {
    kbuf *b = &op->r->resp.body;
    kbuf_reset(b);
    bulk_format f = bulk_format_of(op);
    const char *ct = "text/plain; charset=utf-8";
    if (f == BULK_JSON) {
        kbuf_puts(b, "{\"Errors\": [");
        ct = "application/json; charset=utf-8";
    } else if (f == BULK_XML) {
        kbuf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<upload>\n<errors>\n");
        ct = "application/xml; charset=utf-8";
    } else {
        kbuf_puts(b, "Errors:\n");
    }
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        if (pr[i] == SLO_SEG_OK) continue;
        const char *path = quoted_path(op, in[i].bucket, in[i].key, in[i].klen);
        const char *why = slo_problem_text(pr[i]);
        if (f == BULK_JSON) {
            kbuf_puts(b, first ? "[" : ", [");
            json_write_str(b, path, strlen(path));
            kbuf_puts(b, ", ");
            json_write_str(b, why, strlen(why));
            kbuf_putc(b, ']');
        } else if (f == BULK_XML) {
            kbuf_puts(b, "<object><name>");
            kbuf_xml_escape(b, path, strlen(path));
            kbuf_puts(b, "</name><status>");
            kbuf_xml_escape(b, why, strlen(why));
            kbuf_puts(b, "</status></object>\n");
        } else {
            kbuf_printf(b, "%s, %s\n", path, why);
        }
        first = false;
    }
    if (f == BULK_JSON) kbuf_puts(b, "]}");
    if (f == BULK_XML) kbuf_puts(b, "</errors>\n</upload>\n");
    gw_add_header(op->r, "Content-Type", ct);
    gw_respond(op->r, 400);
}

/* Checks a segment's "range" as Swift's Range('bytes=' + range) would,
 * against size (UINT64_MAX: not given): NULL when fine, else the reason. */
static const char *slo_range_check(sw_op *op, const char *r, uint64_t size) {
    if (strchr(r, ',')) return "multiple ranges (only one allowed)";
    uint64_t first, last;
    http_range_result pr =
        http_range_parse(arena_printf(op->a, "bytes=%s", r), size, &first, &last);
    if (pr == HTTP_RANGE_NONE) return "invalid range";
    if (pr == HTTP_RANGE_UNSATISFIABLE && size != UINT64_MAX) return "unsatisfiable range";
    return NULL;
}

/* PUT ?multipart-manifest=put, once the manifest is in. */
static void slo_put_done(sw_op *op) {
    if (op->body_big)
        return sw_text(op, 413,
                       arena_printf(op->a, "Manifest File > %u bytes", SLO_MAX_MANIFEST_SIZE));
    json *j = json_parse(op->a, op->body.data ? op->body.data : "", op->body.len, NULL);
    if (!j) return sw_text(op, 400, "Manifest must be valid JSON.\n");
    if (j->type != JSON_ARRAY) return sw_text(op, 400, "Manifest must be a list.\n");
    obj_slo_in *in = arena_zalloc(op->a, (j->n ? j->n : 1) * sizeof *in);
    kbuf bad = KBUF_INIT;
    for (size_t i = 0; i < j->n; i++) {
        const json *it = j->items[i];
        if (it->type != JSON_OBJECT) {
            kbuf_printf(&bad, "Index %zu: not a JSON object\n", i);
            continue;
        }
        const json *path = json_get(it, "path"), *etag = json_get(it, "etag"),
                   *size = json_get(it, "size_bytes"), *range = json_get(it, "range");
        if (json_get(it, "data")) {
            kbuf_printf(&bad, "Index %zu: kura does not implement inline data segments\n", i);
            continue;
        }
        if (!path) {
            kbuf_printf(&bad, "Index %zu: expected keys to include one of 'data' or 'path'\n", i);
            continue;
        }
        kbuf extra = KBUF_INIT;
        for (size_t k = 0; k < it->n; k++) {
            const char *kn = it->keys[k];
            if (strcmp(kn, "path") && strcmp(kn, "etag") && strcmp(kn, "size_bytes") &&
                strcmp(kn, "range"))
                kbuf_printf(&extra, "%s\"%s\"", extra.len ? ", " : "", kn);
        }
        if (extra.len) {
            kbuf_printf(&bad, "Index %zu: extraneous keys %.*s\n", i, (int)extra.len, extra.data);
            kbuf_free(&extra);
            continue;
        }
        if (path->type != JSON_STRING) {
            kbuf_printf(&bad, "Index %zu: \"path\" must be a string\n", i);
            continue;
        }
        if (etag && etag->type != JSON_NULL && etag->type != JSON_STRING) {
            kbuf_printf(&bad, "Index %zu: \"etag\" must be a string or null (if provided)\n", i);
            continue;
        }
        if (!slo_path(op, path->s, path->len, &in[i].bucket, &in[i].key, &in[i].klen) ||
            in[i].klen > OBJ_MAX_KEY) {
            kbuf_printf(&bad,
                        "Index %zu: path does not refer to an object. Path must be of the form "
                        "/container/object.\n",
                        i);
            continue;
        }
        in[i].size = UINT64_MAX;
        if (size && size->type != JSON_NULL) {
            uint64_t v = 0;
            bool ok = json_u64(size, &v);
            if (size->type == JSON_STRING) {
                ok = size->len > 0 && size->len <= 19;
                for (size_t k = 0; ok && k < size->len; k++)
                    ok = size->s[k] >= '0' && size->s[k] <= '9';
                if (ok) v = strtoull(size->s, NULL, 10);
            }
            if (!ok) {
                kbuf_printf(&bad, "Index %zu: invalid size_bytes\n", i);
                continue;
            }
            if (v < 1 && i + 1 < j->n) {
                kbuf_printf(&bad, "Index %zu: too small; each segment must be at least 1 byte.\n",
                            i);
                continue;
            }
            in[i].size = v;
        }
        if (!strcmp(in[i].bucket, op->container) && in[i].klen == op->olen &&
            !memcmp(in[i].key, op->obj, op->olen)) {
            kbuf_printf(&bad, "Index %zu: manifest must not include itself as a segment\n", i);
            continue;
        }
        if (etag && etag->type == JSON_STRING) {
            const char *e = etag->s;
            size_t el = etag->len;
            if (el >= 2 && e[0] == '"' && e[el - 1] == '"') e = arena_strndup(op->a, e + 1, el - 2);
            in[i].etag = e;
        }
        if (range && range->type != JSON_NULL) {
            const char *why = range->type != JSON_STRING
                                  ? "invalid range"
                                  : slo_range_check(op, range->s, in[i].size);
            if (why) {
                kbuf_printf(&bad, "Index %zu: %s\n", i, why);
                continue;
            }
            in[i].range = range->s;
        }
    }
    if (bad.len) {
        const char *t = arena_strndup(op->a, bad.data, bad.len);
        kbuf_free(&bad);
        return sw_text(op, 400, t);
    }
    if (j->n > OBJ_SLO_MAX_SEGMENTS)
        return sw_text(op, 413,
                       arena_printf(op->a, "Number of object-backed segments must be <= %d",
                                    OBJ_SLO_MAX_SEGMENTS));
    obj_attr *attrs = arena_alloc(op->a, (op->r->http.nheaders + 2) * sizeof *attrs);
    uint32_t nattrs = 0;
    if (!request_attrs(op, attrs, &nattrs) || !delete_at_attr(op, attrs, &nattrs)) return;
    put_content_type(op, op->obj, op->olen, attrs, &nattrs);
    /* Swift checks a client's Etag before it writes: so does kura, from
     * what the segments are now (objsvc_slo_put checks them again) */
    obj_meta m;
    obj_slo_problem *pr;
    kerr e = objsvc_slo_put(op->svc, op->a, &op->who, &op->b, op->obj, op->olen, in, (uint32_t)j->n,
                            attrs, nattrs, ACL_PRIVATE, hdr(op, "etag"), &m, &pr);
    if (e == K_EINVAL && pr) return slo_problems_answer(op, in, pr, j->n);
    if (e) return sw_error(op, e);
    char date[30];
    fmt_http_date((time_t)(m.mtime_ms / 1000), date);
    gw_add_header(op->r, "ETag", arena_printf(op->a, "\"%s\"", m.etag));
    gw_add_header(op->r, "Last-Modified", date);
    sw_empty(op, 201);
}

/* GET/HEAD ?multipart-manifest=get of an SLO: its manifest as JSON (Swift's
 * stored form, or with format=raw the form a PUT takes, keys sorted). */
static void slo_manifest_get(sw_op *op, const obj_meta *m) {
    const char *fmt = param(op, "format");
    bool raw = fmt && !strcmp(fmt, "raw");
    kbuf *b = &op->r->resp.body;
    kbuf_reset(b);
    kbuf_putc(b, '[');
    for (uint32_t i = 0; i < m->nslo; i++) {
        const obj_slo_seg *g = &m->slo[i];
        const char *path = arena_printf(op->a, "/%s/%.*s", g->bucket, (int)g->klen, g->key);
        const char *range = g->has_range
                                ? arena_printf(op->a, "%llu-%llu", (unsigned long long)g->first,
                                               (unsigned long long)g->last)
                                : NULL;
        if (i) kbuf_puts(b, ", ");
        if (raw) {
            kbuf_printf(b, "{\"etag\": \"%s\", \"path\": ", g->etag);
            json_write_str(b, path, strlen(path));
            if (range) kbuf_printf(b, ", \"range\": \"%s\"", range);
            kbuf_printf(b, ", \"size_bytes\": %llu}", (unsigned long long)g->size);
            continue;
        }
        char lm[64];
        iso_micro(g->mtime_ms, lm);
        kbuf_puts(b, "{\"name\": ");
        json_write_str(b, path, strlen(path));
        kbuf_printf(b, ", \"bytes\": %llu, \"hash\": \"%s\", \"content_type\": ",
                    (unsigned long long)g->size, g->etag);
        json_write_str(b, g->content_type, strlen(g->content_type));
        kbuf_printf(b, ", \"last_modified\": \"%s\"", lm);
        if (range) kbuf_printf(b, ", \"range\": \"%s\"", range);
        if (g->sub_slo) kbuf_puts(b, ", \"sub_slo\": true");
        kbuf_putc(b, '}');
    }
    kbuf_putc(b, ']');
    uint8_t md5[32];
    char hex[33];
    khash *h = khash_new(KH_MD5);
    khash_update(h, b->data, b->len);
    khash_final(h, md5);
    khash_free(h);
    hex_encode(md5, 16, hex);
    object_headers_as(op, m, hex, raw ? NULL : "application/json; charset=utf-8");
    if (is_head(op)) op->r->resp.no_body = true;
    gw_respond(op->r, 200);
}

static void object_get(sw_op *op) {
    const char *mm = param(op, "multipart-manifest");
    bool manifest = mm && !strcmp(mm, "get");
    kerr e = objsvc_bucket_open(op->svc, op->a, &op->who, op->container, BUCKET_LOOKUP, &op->b);
    obj_meta m;
    if (!e && manifest)
        e = objsvc_object_open_manifest(op->svc, op->a, &op->who, &op->b, op->obj, op->olen, &m);
    else if (!e)
        e = objsvc_object_open(op->svc, op->a, &op->who, &op->b, op->obj, op->olen, &m);
    if (e) return sw_error(op, e);
    if (manifest && m.large == OBJ_LARGE_SLO) return slo_manifest_get(op, &m);
    http_conds c = http_conds_of(&op->r->http);
    http_cond cr = http_conditions(&c, m.etag, (time_t)(m.mtime_ms / 1000));
    if (cr == HTTP_COND_FAILED) return sw_error_msg(op, K_EPRECONDITION, NULL);
    if (cr == HTTP_COND_NOT_MODIFIED) {
        gw_add_header(op->r, "ETag", m.etag);
        return sw_error_msg(op, K_ENOTMODIFIED, NULL);
    }
    /* Range as swob reads it (http.h); a HEAD answers before swob looks at
     * Range, so it ignores it (200, the whole length) */
    const char *range = is_head(op) ? NULL : hdr(op, "range");
    /* dlo.py honours a single range only: several give the whole body */
    if (range && m.pieces && m.large == OBJ_LARGE_DLO && strchr(range, ',')) range = NULL;
    http_byte_range rs[HTTP_MAX_RANGES];
    size_t nr = 0;
    http_range_result pr = range ? http_ranges_parse(range, m.size, rs, &nr) : HTTP_RANGE_NONE;
    if (pr == HTTP_RANGE_UNSATISFIABLE) {
        gw_add_header(op->r, "Content-Range",
                      arena_printf(op->a, "bytes */%llu", (unsigned long long)m.size));
        return sw_error_msg(op, K_EINVALIDRANGE, NULL);
    }
    object_headers(op, &m);
    if (pr == HTTP_RANGE_OK && nr > 1) {
        e = gw_respond_object_ranges(op->r, op->svc, &m, rs, nr);
        if (e) sw_error(op, e);
        return;
    }
    bool partial = pr == HTTP_RANGE_OK;
    uint64_t first = partial ? rs[0].first : 0;
    uint64_t last = partial ? rs[0].last : m.size ? m.size - 1 : 0;
    if (partial)
        gw_add_header(op->r, "Content-Range",
                      arena_printf(op->a, "bytes %llu-%llu/%llu", (unsigned long long)first,
                                   (unsigned long long)last, (unsigned long long)m.size));
    uint64_t len = m.size ? last - first + 1 : 0;
    e = gw_respond_object(op->r, op->svc, &m, first, len, partial ? 206 : 200);
    if (e) sw_error(op, e);
}

/* "container/object" (an optional leading '/', percent-encoded) */
static bool split_target(sw_op *op, const char *v, const char **cont, const char **obj,
                         size_t *olen) {
    char *s = arena_strdup(op->a, v);
    long n = url_decode_inplace(s, strlen(s), false);
    if (n < 0) return false;
    s[n] = 0;
    if (*s == '/') s++;
    char *slash = strchr(s, '/');
    if (!slash || slash == s || !slash[1]) return false;
    *slash = 0;
    *cont = s;
    *obj = slash + 1;
    *olen = strlen(slash + 1);
    return true;
}

/* Copies container/object src to dst (PUT with X-Copy-From, or COPY). */
static void do_copy(sw_op *op, const char *scont, const char *sobj, size_t solen, const char *dcont,
                    const char *dobj, size_t dolen) {
    uint64_t blen = 0;
    if (gw_body_frame(op->r, &blen) != GW_BODY_NONE && blen != 0)
        return sw_error_msg(op, K_EINVAL, "A copy request takes no body.");
    bucket_info sb, db;
    obj_meta src;
    /* ?multipart-manifest=get copies a large object's manifest, else its
     * content becomes an ordinary object */
    const char *mm = param(op, "multipart-manifest");
    bool manifest = mm && !strcmp(mm, "get");
    kerr e = objsvc_bucket_open(op->svc, op->a, &op->who, scont, BUCKET_LOOKUP, &sb);
    if (!e && manifest)
        e = objsvc_object_open_manifest(op->svc, op->a, &op->who, &sb, sobj, solen, &src);
    else if (!e)
        e = objsvc_object_open(op->svc, op->a, &op->who, &sb, sobj, solen, &src);
    if (e) return sw_error(op, e);
    http_conds c = http_conds_of(&op->r->http);
    http_cond cr = http_conditions(&c, src.etag, (time_t)(src.mtime_ms / 1000));
    if (cr != HTTP_COND_PASS)
        return sw_error_msg(op, cr == HTTP_COND_FAILED ? K_EPRECONDITION : K_ENOTMODIFIED, NULL);
    e = objsvc_bucket_open(op->svc, op->a, &op->who, dcont, BUCKET_WRITE, &db);
    if (e) return sw_error(op, e);
    if (dolen > OBJ_MAX_KEY) return sw_error_msg(op, K_EINVAL, "Object name length too long.");
    if (!utf8_valid(dobj, dolen))
        return sw_error_msg(op, K_EPRECONDITION, "Invalid UTF8 or contains NULL");
    bool fresh = truthy(hdr(op, "x-fresh-metadata"));
    obj_attr *attrs = arena_alloc(op->a, (src.nattrs + op->r->http.nheaders + 2) * sizeof *attrs);
    uint32_t nattrs = 0;
    for (uint32_t i = 0; !fresh && i < src.nattrs; i++)
        if (!src.pieces || strcmp(src.attrs[i].name, OBJ_ATTR_DLO)) attrs[nattrs++] = src.attrs[i];
    if (!request_attrs(op, attrs, &nattrs) || !delete_at_attr(op, attrs, &nattrs)) return;
    if (!has_attr(attrs, nattrs, "content-type")) {
        attrs[nattrs].name = "content-type";
        attrs[nattrs].value = (char *)content_type_of(&src);
        nattrs++;
    }
    obj_meta m;
    bool same = !strcmp(scont, dcont) && solen == dolen && !memcmp(sobj, dobj, dolen);
    if (src.large == OBJ_LARGE_SLO && !src.pieces) { /* a manifest copied as one */
        obj_slo_in *in = arena_zalloc(op->a, (src.nslo ? src.nslo : 1) * sizeof *in);
        for (uint32_t i = 0; i < src.nslo; i++) {
            const obj_slo_seg *g = &src.slo[i];
            in[i] = (obj_slo_in){.bucket = g->bucket,
                                 .key = g->key,
                                 .klen = g->klen,
                                 .etag = g->etag,
                                 .size = g->size};
            if (g->has_range)
                in[i].range = arena_printf(op->a, "%llu-%llu", (unsigned long long)g->first,
                                           (unsigned long long)g->last);
        }
        obj_slo_problem *pr;
        e = objsvc_slo_put(op->svc, op->a, &op->who, &db, dobj, dolen, in, src.nslo, attrs, nattrs,
                           ACL_PRIVATE, NULL, &m, &pr);
        if (e == K_EINVAL && pr) e = K_ECONFLICT; /* a segment changed since */
    } else if (same && !src.pieces) {
        e = objsvc_update_attrs(op->svc, op->a, &db, dobj, dolen, attrs, nattrs, src.acl, NULL, &m);
    } else {
        obj_put_opts o = {.size = src.size,
                          .attrs = attrs,
                          .nattrs = nattrs,
                          .acl = ACL_PRIVATE,
                          .ck_alg = (cksum_alg)src.ck_alg};
        obj_put *put;
        e = objsvc_put_begin(op->svc, op->a, &db, dobj, dolen, &o, &put);
        if (!e) {
            e = objsvc_put_copy(put, &src, 0, src.size);
            if (e)
                objsvc_put_abort(put);
            else
                e = objsvc_put_finish(put, NULL, &m);
        }
    }
    if (e) return sw_error(op, e);
    char date[30], sdate[30];
    fmt_http_date((time_t)(m.mtime_ms / 1000), date);
    fmt_http_date((time_t)(src.mtime_ms / 1000), sdate);
    kbuf from = KBUF_INIT;
    url_encode(&from, scont, strlen(scont), false);
    kbuf_putc(&from, '/');
    url_encode(&from, sobj, solen, true);
    gw_add_header(op->r, "X-Copied-From", arena_strndup(op->a, from.data, from.len));
    kbuf_free(&from);
    gw_add_header(op->r, "X-Copied-From-Last-Modified", sdate);
    gw_add_header(op->r, "ETag", m.etag);
    gw_add_header(op->r, "Last-Modified", date);
    sw_empty(op, 201);
}

static kerr on_body(gw_req *r, const char *data, size_t n) {
    sw_op *op = r->fe;
    if (op->ex) { /* a malformed archive is answered at the end */
        if (!op->ex->stop) tarx_feed(op->ex->t, data, n);
        return K_OK;
    }
    if (op->fp) { /* so is a form that went wrong: the rest is read and dropped */
        formpost *f = op->fp;
        if (!f->status && !f->unauthorized && !f->invalid) formdata_feed(f->fd, data, n);
        return K_OK;
    }
    if (op->collect) {
        if (op->body_big || n > op->body_max - op->body.len)
            op->body_big = true;
        else
            kbuf_append(&op->body, data, n);
        return K_OK;
    }
    if (op->body_error || !op->put) return K_OK;
    kerr e = objsvc_put_write(op->put, data, n);
    if (e) op->body_error = e;
    return K_OK;
}

static void on_abort(gw_req *r) {
    release_put(r->fe);
}

static void on_done(gw_req *r) {
    sw_op *op = r->fe;
    if (op->body_error) return sw_error(op, op->body_error);
    if (!gw_body_complete(r)) return sw_error_msg(op, K_EINCOMPLETEBODY, NULL);
    if (op->ex) return extract_done(op);
    if (op->fp) return formpost_done(op);
    if (op->collect) {
        op->collect(op);
        kbuf_free(&op->body);
        return;
    }
    obj_put_expect ex = {.md5 = op->has_etag ? op->etag_md5 : NULL};
    obj_put *put = op->put;
    op->put = NULL;
    obj_meta m;
    kerr e = objsvc_put_finish(put, &ex, &m);
    if (e) return sw_error(op, e);
    char date[30];
    fmt_http_date((time_t)(m.mtime_ms / 1000), date);
    gw_add_header(r, "ETag", m.etag);
    gw_add_header(r, "Last-Modified", date);
    sw_empty(op, 201);
}

static void object_put(sw_op *op) {
    const char *copy_from = hdr(op, "x-copy-from");
    const char *mm = param(op, "multipart-manifest");
    bool slo = mm && !strcmp(mm, "put");
    if (slo && copy_from)
        return sw_text(op, 405, "Multipart Manifest PUTs cannot be COPY requests");
    if (copy_from) {
        const char *sc, *so;
        size_t sol;
        if (!split_target(op, copy_from, &sc, &so, &sol))
            return sw_error_msg(op, K_EPRECONDITION,
                                "X-Copy-From header must be of the form <container name>/"
                                "<object name>");
        return do_copy(op, sc, so, sol, op->container, op->obj, op->olen);
    }
    kerr e = objsvc_bucket_open(op->svc, op->a, &op->who, op->container, BUCKET_WRITE, &op->b);
    if (e) return sw_error(op, e);
    if (!utf8_valid(op->obj, op->olen))
        return sw_error_msg(op, K_EPRECONDITION, "Invalid UTF8 or contains NULL");
    uint64_t len;
    gw_body_framing fr = gw_body_frame(op->r, &len);
    if (fr == GW_BODY_NONE) return sw_error_msg(op, K_EMISSINGLENGTH, NULL);
    if (fr == GW_BODY_CHUNKED) len = OBJ_SIZE_UNKNOWN;
    if (fr == GW_BODY_SIZED && len > OBJ_MAX_PUT_SIZE)
        return sw_error_msg(op, K_EENTITYTOOLARGE, NULL);
    if (slo) { /* the manifest is read whole, then checked and written */
        if (fr == GW_BODY_SIZED && len > SLO_MAX_MANIFEST_SIZE)
            return sw_text(op, 413,
                           arena_printf(op->a, "Manifest File > %u bytes", SLO_MAX_MANIFEST_SIZE));
        op->collect = slo_put_done;
        op->body_max = SLO_MAX_MANIFEST_SIZE;
        op->r->fe = op;
        op->r->on_body = on_body;
        op->r->on_done = on_done;
        op->r->on_abort = on_abort;
        return;
    }
    const char *etag = hdr(op, "etag");
    if (etag) {
        size_t el = strlen(etag);
        if (el == 34 && etag[0] == '"' && etag[33] == '"') etag++, el = 32;
        char low[33];
        for (size_t i = 0; i < el && i < 32; i++)
            low[i] = (char)(etag[i] >= 'A' && etag[i] <= 'F' ? etag[i] + 32 : etag[i]);
        if (el != 32 || !unhex(low, 32, op->etag_md5)) return sw_error_msg(op, K_EBADDIGEST, NULL);
        op->has_etag = true;
    }
    obj_attr *attrs = arena_alloc(op->a, (op->r->http.nheaders + 2) * sizeof *attrs);
    uint32_t nattrs = 0;
    if (!request_attrs(op, attrs, &nattrs) || !delete_at_attr(op, attrs, &nattrs)) return;
    put_content_type(op, op->obj, op->olen, attrs, &nattrs);
    obj_put_opts o = {.size = len, .attrs = attrs, .nattrs = nattrs, .acl = ACL_PRIVATE};
    e = objsvc_put_begin(op->svc, op->a, &op->b, op->obj, op->olen, &o, &op->put);
    if (e) return sw_error(op, e);
    op->r->fe = op;
    op->r->on_body = on_body;
    op->r->on_done = on_done;
    op->r->on_abort = on_abort;
}

/* POST: replaces the object's metadata (X-Object-Meta-* and the stored
 * standard headers; Content-Type is kept unless given). */
static void object_post(sw_op *op) {
    kerr e = objsvc_bucket_open(op->svc, op->a, &op->who, op->container, BUCKET_WRITE, &op->b);
    obj_meta cur;
    if (!e) e = objsvc_head(op->svc, op->a, &op->b, op->obj, op->olen, &cur);
    if (e) return sw_error(op, e);
    obj_attr *attrs = arena_alloc(op->a, (op->r->http.nheaders + 2) * sizeof *attrs);
    uint32_t nattrs = 0;
    if (!request_attrs(op, attrs, &nattrs) || !delete_at_attr(op, attrs, &nattrs)) return;
    if (!has_attr(attrs, nattrs, "content-type")) {
        attrs[nattrs].name = "content-type";
        attrs[nattrs].value = (char *)content_type_of(&cur);
        nattrs++;
    }
    /* a DLO stays one unless the POST names another manifest */
    for (uint32_t i = 0; i < cur.nattrs; i++)
        if (!strcmp(cur.attrs[i].name, OBJ_ATTR_DLO) && !has_attr(attrs, nattrs, OBJ_ATTR_DLO))
            attrs[nattrs++] = cur.attrs[i];
    obj_cond cond = {.etag = cur.etag};
    obj_meta m;
    e = objsvc_update_attrs(op->svc, op->a, &op->b, op->obj, op->olen, attrs, nattrs, cur.acl,
                            &cond, &m);
    if (e == K_ECONDCONFLICT) e = K_ECONFLICT;
    if (e) return sw_error(op, e);
    sw_empty(op, 202);
}

static void op_object(sw_op *op) {
    const char *m = op->r->http.method;
    if (op->olen > OBJ_MAX_KEY) return sw_error_msg(op, K_EINVAL, "Object name length too long.");
    if (refuse_object_features(op)) return;
    if (!strcmp(m, "GET") || !strcmp(m, "HEAD")) return object_get(op);
    if (!op->user) return sw_error_msg(op, K_ENOAUTH, NULL);
    if (!strcmp(m, "PUT")) return object_put(op);
    if (!strcmp(m, "POST")) return object_post(op);
    if (!strcmp(m, "DELETE")) {
        const char *mm = param(op, "multipart-manifest");
        if (mm && !strcmp(mm, "delete")) return slo_delete(op);
        kerr e = objsvc_bucket_open(op->svc, op->a, &op->who, op->container, BUCKET_WRITE, &op->b);
        if (!e) e = objsvc_delete(op->svc, &op->b, op->obj, op->olen, NULL);
        if (e) return sw_error(op, e);
        return sw_empty(op, 204);
    }
    if (!strcmp(m, "COPY")) {
        const char *dest = hdr(op, "destination");
        const char *dc, *dob;
        size_t dol;
        if (!dest || !split_target(op, dest, &dc, &dob, &dol))
            return sw_error_msg(op, K_EPRECONDITION,
                                "Destination header must be of the form <container name>/"
                                "<object name>");
        return do_copy(op, op->container, op->obj, op->olen, dc, dob, dol);
    }
    sw_error_msg(op, K_EMETHODNOTALLOWED, NULL);
}

/* ------------------------------------------------------------- TempURL */

/* Swift's answer to a TempURL that does not check out. */
static void tempurl_invalid(sw_op *op) {
    gw_req *r = op->r;
    kbuf_reset(&r->resp.body);
    if (is_head(op))
        r->resp.no_body = true;
    else
        kbuf_puts(&r->resp.body, "401 Unauthorized: Temp URL invalid\n");
    gw_add_header(r, "Content-Type", "text/plain; charset=UTF-8");
    gw_add_header(r, "Www-Authenticate", "Swift realm=\"kura\"");
    gw_respond(r, 401);
}

/* temp_url_expires: unix seconds, or ISO 8601 "YYYY-MM-DDThh:mm:ssZ". */
static bool tempurl_expiry(const char *v, int64_t *out) {
    uint64_t u;
    if (parse_u64(v, strlen(v), &u)) {
        if (u > (uint64_t)INT64_MAX) return false;
        *out = (int64_t)u;
        return true;
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(v, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!end || *end) return false;
    *out = (int64_t)timegm(&tm);
    return true;
}

/* The signature as bytes and its digest: hex (40 sha1, 64 sha256, 128
 * sha512) or "sha1:"/"sha256:"/"sha512:" with base64 (URL-safe or standard,
 * padding optional). */
static bool tempurl_sig(arena *a, const char *sig, const EVP_MD **md, uint8_t *out, size_t *n) {
    const char *colon = strchr(sig, ':');
    if (!colon) {
        size_t l = strlen(sig);
        *md = l == 40 ? EVP_sha1() : l == 64 ? EVP_sha256() : l == 128 ? EVP_sha512() : NULL;
        if (!*md) return false;
        char *low = arena_strdup(a, sig);
        for (char *c = low; *c; c++)
            if (*c >= 'A' && *c <= 'F') *c = (char)(*c + 32);
        *n = l / 2;
        return unhex(low, l, out);
    }
    size_t al = (size_t)(colon - sig);
    if (al == 4 && !strncmp(sig, "sha1", 4))
        *md = EVP_sha1();
    else if (al == 6 && !strncmp(sig, "sha256", 6))
        *md = EVP_sha256();
    else if (al == 6 && !strncmp(sig, "sha512", 6))
        *md = EVP_sha512();
    else
        return false;
    const char *b = colon + 1;
    size_t bl = strlen(b);
    if (bl > 200) return false;
    char std[208];
    size_t k = 0;
    for (; k < bl; k++) std[k] = b[k] == '-' ? '+' : b[k] == '_' ? '/' : b[k];
    while (k % 4) std[k++] = '=';
    int got = base64_decode(std, k, out, 64);
    if (got < 0 || (size_t)got != (size_t)EVP_MD_size(*md)) return false;
    *n = (size_t)got;
    return true;
}

/* Whether sig is the HMAC of "METHOD\nEXPIRES\nPATH" under key. */
static bool tempurl_match(const EVP_MD *md, const char *key, const char *method,
                          const char *expires, const char *path, const uint8_t *sig,
                          size_t sig_len) {
    kbuf body = KBUF_INIT;
    kbuf_printf(&body, "%s\n%s\n%s", method, expires, path);
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned int ml = 0;
    bool ok = HMAC(md, key, (int)strlen(key), (const uint8_t *)body.data, body.len, mac, &ml) &&
              ml == sig_len && !CRYPTO_memcmp(mac, sig, sig_len);
    kbuf_free(&body);
    return ok;
}

static void disposition_value(sw_op *op, const char *kind, const char *name) {
    kbuf q = KBUF_INIT, enc = KBUF_INIT;
    for (const char *c = name; *c; c++) {
        if (*c == '"' || *c == '\\') kbuf_putc(&q, '\\');
        kbuf_putc(&q, *c);
    }
    url_encode(&enc, name, strlen(name), true);
    op->disposition =
        arena_printf(op->a, "%s; filename=\"%.*s\"; filename*=UTF-8''%.*s", kind, (int)q.len,
                     q.data ? q.data : "", (int)enc.len, enc.data ? enc.data : "");
    kbuf_free(&q);
    kbuf_free(&enc);
}

/* An object request with temp_url_sig / temp_url_expires: checked against
 * the container's TempURL keys (X-Container-Meta-Temp-URL-Key and -Key-2)
 * and the account's (X-Account-Meta-Temp-URL-Key and -Key-2);
 * a valid one acts for the container's owner on this one object, for the
 * method it was signed for (HEAD: a GET, HEAD or PUT signature). */
static void op_tempurl(sw_op *op) {
    const char *m = op->r->http.method;
    bool get = !strcmp(m, "GET"), head = !strcmp(m, "HEAD"), put = !strcmp(m, "PUT");
    if (!get && !head && !put)
        return sw_not_implemented(op, arena_printf(op->a, "TempURLs for %s", m));
    if (http_param_has(&op->r->http, "temp_url_ip_range"))
        return sw_not_implemented(op, "TempURLs restricted to an IP range");
    const char *sig = param(op, "temp_url_sig"), *exp = param(op, "temp_url_expires");
    const char *prefix = param(op, "temp_url_prefix");
    int64_t expires;
    const EVP_MD *md;
    uint8_t sigb[64];
    size_t sigl;
    if (!sig || !exp || !tempurl_expiry(exp, &expires) || expires <= (int64_t)clock_real_s() ||
        !tempurl_sig(op->a, sig, &md, sigb, &sigl))
        return tempurl_invalid(op);
    if (prefix && (strlen(prefix) > op->olen || strncmp(op->obj, prefix, strlen(prefix))))
        return tempurl_invalid(op);
    bucket_info b;
    principal nobody = objsvc_principal(op->a, NULL);
    if (objsvc_bucket_open(op->svc, op->a, &nobody, op->container, BUCKET_LOOKUP, &b) ||
        strcmp(b.owner, op->account))
        return tempurl_invalid(op);
    const char *path = prefix ? arena_printf(op->a, "prefix:/v1/%s%s/%s/%s", ACCOUNT_PREFIX,
                                             op->account, op->container, prefix)
                              : arena_strndup(op->a, op->r->http.path, op->r->http.path_len);
    /* signed as unix seconds, whichever form the URL carries */
    const char *exp_s = arena_printf(op->a, "%lld", (long long)expires);
    const char *methods[3] = {m, NULL, NULL};
    if (head) methods[1] = "GET", methods[2] = "PUT";
    /* the container's keys, then the account's */
    account_info ai;
    if (objsvc_account_open(op->svc, op->a, NULL, op->account, &ai)) ai.nattrs = 0;
    const obj_attr *sets[2] = {b.attrs, ai.attrs};
    uint32_t counts[2] = {b.nattrs, ai.nattrs};
    bool ok = false;
    for (int k = 0; k < 2 && !ok; k++) {
        for (uint32_t i = 0; i < counts[k] && !ok; i++) {
            const char *n = sets[k][i].name;
            if (strcmp(n, "temp-url-key") && strcmp(n, "temp-url-key-2")) continue;
            for (int j = 0; j < 3 && methods[j] && !ok; j++)
                ok = tempurl_match(md, sets[k][i].value, methods[j], exp_s, path, sigb, sigl);
        }
    }
    if (!ok) return tempurl_invalid(op);
    /* the key holder's authority: the container's owner, for this object */
    op->user = ".tempurl";
    op->r->log_principal = op->user;
    op->who = objsvc_principal_for(op->user, b.owner);
    if (op->olen > OBJ_MAX_KEY) return sw_error_msg(op, K_EINVAL, "Object name length too long.");
    if (refuse_object_features(op)) return;
    if (put) {
        if (hdr(op, "x-copy-from"))
            return sw_error_msg(op, K_EINVAL, "X-Copy-From is not allowed with a TempURL.");
        return object_put(op);
    }
    const char *filename = param(op, "filename");
    if (http_param_has(&op->r->http, "inline")) {
        op->disposition = "inline";
        if (filename) disposition_value(op, "inline", filename);
    } else {
        const char *base = filename;
        if (!base) {
            const char *slash = memrchr(op->obj, '/', op->olen);
            base = slash ? arena_strndup(op->a, slash + 1, op->olen - (size_t)(slash + 1 - op->obj))
                         : arena_strndup(op->a, op->obj, op->olen);
        }
        disposition_value(op, "attachment", base);
    }
    object_get(op);
}

/* ------------------------------------------------------------- routing */

static bool is_auth_path(const char *p) {
    return !strcmp(p, "/auth/v1.0") || !strcmp(p, "/auth/v1.0/") || !strcmp(p, "/auth/v1") ||
           !strcmp(p, "/auth/v1/");
}

static bool swift_match(void *ctx, gw_req *r) {
    (void)ctx;
    const char *p = r->http.path;
    return is_auth_path(p) || !strcmp(p, "/info") || !strcmp(p, "/v1") || !strncmp(p, "/v1/", 4);
}

/* Who the request's token proves, for the account in its path. A user of
 * another account keeps its own principal (op->foreign): the object service
 * decides what that account's container ACLs grant it. false after
 * answering (401 for a bad token). */
static bool authenticate(sw_op *op) {
    const char *tok = hdr(op, "x-auth-token");
    if (!tok) tok = hdr(op, "x-storage-token");
    if (!tok) {
        op->who = objsvc_principal(op->a, NULL);
        return true;
    }
    const char *name;
    unsigned roles = 0;
    kerr e = token_check(op->fe, op->a, tok, &name, &roles);
    if (e) {
        sw_error_msg(op, K_ENOAUTH, e == K_EEXPIRED ? "The token has expired." : NULL);
        return false;
    }
    op->user = name;
    op->r->log_principal = name;
    if (!strcmp(name, "root")) {
        op->who = objsvc_principal_for(name, op->account);
        return true;
    }
    op->who = objsvc_principal_roles(op->a, name, roles & (USER_ROLE_ADMIN | USER_ROLE_RESELLER));
    /* a reseller admin acts as the admin of any account it names */
    if ((roles & USER_ROLE_RESELLER) && strcmp(op->who.account, op->account))
        op->who = objsvc_principal_for(name, op->account);
    op->foreign = strcmp(op->who.account, op->account) != 0;
    return true;
}

/* Metrics operations (gateway/metrics.h): one per level and method, interned
 * once at swift_frontend_new; any other method counts as Unknown. */
enum { SW_AUTH, SW_INFO, SW_ACCOUNT, SW_CONTAINER, SW_OBJECT, SW_LEVELS };
static const char *const sw_methods[] = {"GET", "HEAD", "PUT", "POST", "DELETE", "COPY"};
enum { SW_METHODS = sizeof sw_methods / sizeof *sw_methods };
/* clang-format off */
static const char *const sw_op_names[SW_LEVELS][SW_METHODS] = {
    [SW_AUTH] = {"Auth"},
    [SW_INFO] = {"Info", "Info"},
    [SW_ACCOUNT] = {"AccountGet", "AccountHead", NULL, "AccountPost"},
    [SW_CONTAINER] = {"ContainerList", "ContainerHead", "ContainerPut", "ContainerPost",
                      "ContainerDelete"},
    [SW_OBJECT] = {"ObjectGet", "ObjectHead", "ObjectPut", "ObjectPost", "ObjectDelete",
                   "ObjectCopy"},
};
/* clang-format on */
static uint16_t sw_ops[SW_LEVELS][SW_METHODS];

static void intern_ops(void) {
    for (int l = 0; l < SW_LEVELS; l++)
        for (int m = 0; m < SW_METHODS; m++)
            if (sw_op_names[l][m]) sw_ops[l][m] = gw_metrics_op(GW_API_SWIFT, sw_op_names[l][m]);
}

static void set_metrics_op(gw_req *r, int level) {
    r->op_api = GW_API_SWIFT;
    for (int m = 0; m < SW_METHODS; m++)
        if (!strcmp(r->http.method, sw_methods[m])) r->op_index = sw_ops[level][m];
}

static void swift_start(void *ctx, gw_req *r) {
    swift_frontend *fe = ctx;
    arena *a = r->http.a;
    sw_op *op = arena_zalloc(a, sizeof *op);
    op->r = r;
    op->fe = fe;
    op->svc = fe->o.svc;
    op->a = a;
    r->fe = op;
    trans_headers(r);
    const char *p = r->http.path;
    r->op_api = GW_API_SWIFT;
    if (is_auth_path(p)) {
        set_metrics_op(r, SW_AUTH);
        return op_auth(op);
    }
    if (!strcmp(p, "/info")) {
        set_metrics_op(r, SW_INFO);
        return op_info(op);
    }
    /* /v1/AUTH_<account>[/<container>[/<object>]] */
    const char *rest = p + 3;
    if (*rest == '/') rest++;
    const char *slash = strchr(rest, '/');
    size_t al = slash ? (size_t)(slash - rest) : strlen(rest);
    size_t pl = sizeof ACCOUNT_PREFIX - 1;
    if (al <= pl || strncmp(rest, ACCOUNT_PREFIX, pl)) {
        /* no account of kura's (reseller prefix AUTH_): TempAuth's answer */
        const char *tok = hdr(op, "x-auth-token");
        return sw_error_msg(op, tok || hdr(op, "x-storage-token") ? K_EACCESSDENIED : K_ENOAUTH,
                            NULL);
    }
    op->account = arena_strndup(a, rest + pl, al - pl);
    const char *c = slash ? slash + 1 : NULL;
    const char *s2 = c ? strchr(c, '/') : NULL;
    set_metrics_op(r, !c || !*c ? SW_ACCOUNT : !s2 || !s2[1] ? SW_CONTAINER : SW_OBJECT);
    if (c && *c) {
        r->log_bucket = s2 ? arena_strndup(a, c, (size_t)(s2 - c)) : c;
        if (s2 && s2[1]) {
            r->log_key = s2 + 1;
            r->log_key_len = r->http.path_len - (size_t)(s2 + 1 - p);
        }
    }
    bool tempurl =
        http_param_has(&r->http, "temp_url_sig") || http_param_has(&r->http, "temp_url_expires");
    const char *ctype = hdr(op, "content-type");
    if (!strcmp(r->http.method, "POST") && c && *c && ctype &&
        !strncasecmp(ctype, "multipart/form-data", 19)) {
        op->container = s2 ? arena_strndup(a, c, (size_t)(s2 - c)) : c;
        if (s2 && s2[1]) {
            op->obj = s2 + 1;
            op->olen = r->http.path_len - (size_t)(op->obj - p);
        }
        return formpost_start(op);
    }
    if (!tempurl && !authenticate(op)) return;
    if (!tempurl && http_param_has(&r->http, "extract-archive") && !strcmp(r->http.method, "PUT")) {
        if (slash && slash[1]) {
            op->container = s2 ? arena_strndup(a, c, (size_t)(s2 - c)) : c;
            if (s2 && s2[1]) {
                op->obj = s2 + 1;
                op->olen = r->http.path_len - (size_t)(op->obj - p);
            }
        }
        return extract_start(op);
    }
    if (!tempurl && http_param_has(&r->http, "bulk-delete") &&
        (!strcmp(r->http.method, "POST") || !strcmp(r->http.method, "DELETE")))
        return bulk_delete(op);
    if (tempurl && (!slash || !slash[1])) return tempurl_invalid(op);
    if (!slash || !slash[1]) return op_account(op);
    op->container = s2 ? arena_strndup(a, c, (size_t)(s2 - c)) : c;
    if (!*op->container) return sw_error_msg(op, K_ENOSUCHBUCKET, NULL);
    if (!s2 || !s2[1]) return tempurl ? tempurl_invalid(op) : op_container(op);
    op->obj = s2 + 1;
    op->olen = r->http.path_len - (size_t)(op->obj - p);
    if (tempurl) return op_tempurl(op);
    op_object(op);
}

static void swift_refuse(void *ctx, gw_req *r, kerr e) {
    sw_op *op = arena_zalloc(r->http.a, sizeof *op);
    op->r = r;
    op->fe = ctx;
    op->a = r->http.a;
    op->user = "";
    r->fe = op;
    r->op_api = GW_API_SWIFT;
    trans_headers(r);
    sw_error(op, e);
}

swift_frontend *swift_frontend_new(const swift_opts *o) {
    swift_frontend *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->o = *o;
    if (!f->o.region) f->o.region = "us-east-1";
    intern_ops();
    return f;
}

void swift_frontend_free(swift_frontend *f) {
    free(f);
}

gw_frontend swift_frontend_hook(swift_frontend *f) {
    return (gw_frontend){
        .match = swift_match, .start = swift_start, .refuse = swift_refuse, .ctx = f};
}
