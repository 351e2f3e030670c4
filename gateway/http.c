/* SPDX-License-Identifier: Apache-2.0 */
#include "gateway/http.h"

#include <string.h>

#include "common/text.h"

const char *http_header_get(const http_req *r, const char *lname) {
    for (size_t i = 0; i < r->nheaders; i++)
        if (!strcmp(r->headers[i].name, lname)) return r->headers[i].value;
    return NULL;
}

const http_param *http_param_find(const http_req *r, const char *name) {
    for (size_t i = 0; i < r->nquery; i++)
        if (!strcmp(r->query[i].name, name)) return &r->query[i];
    return NULL;
}

const char *http_param_get(const http_req *r, const char *name) {
    const http_param *p = http_param_find(r, name);
    return p ? p->value : NULL;
}

bool http_param_has(const http_req *r, const char *name) {
    return http_param_find(r, name) != NULL;
}

/* Decimal digits of s[0..n) (at least one), saturating at UINT64_MAX. */
static bool range_pos(const char *s, size_t n, uint64_t *out) {
    if (!n) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        unsigned d = (unsigned)(s[i] - '0');
        v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
    }
    *out = v;
    return true;
}

http_range_result http_range_parse(const char *v, uint64_t size, uint64_t *first, uint64_t *last) {
    size_t n = strlen(v);
    const char *t = str_trim(v, &n);
    if (n < 6 || !str_ieq(t, 6, "bytes=", 6)) return HTTP_RANGE_NONE;
    t += 6, n -= 6;
    t = str_trim(t, &n);
    if (memchr(t, ',', n)) return HTTP_RANGE_NONE; /* several ranges: the whole body */
    const char *dash = memchr(t, '-', n);
    if (!dash) return HTTP_RANGE_NONE;
    size_t an = (size_t)(dash - t), bn = n - an - 1;
    uint64_t a = 0, b = 0;
    bool has_a = an > 0, has_b = bn > 0;
    if (!has_a && !has_b) return HTTP_RANGE_NONE;
    if (has_a && !range_pos(t, an, &a)) return HTTP_RANGE_NONE;
    if (has_b && !range_pos(dash + 1, bn, &b)) return HTTP_RANGE_NONE;
    if (!has_a) { /* suffix: the last b bytes */
        if (b == 0 || size == 0) return HTTP_RANGE_UNSATISFIABLE;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return HTTP_RANGE_OK;
    }
    if (has_b && b < a) return HTTP_RANGE_NONE;
    if (a >= size) return HTTP_RANGE_UNSATISFIABLE;
    *first = a;
    *last = has_b && b < size ? b : size - 1;
    return HTTP_RANGE_OK;
}

bool http_etag_list_matches(const char *list, const char *etag) {
    size_t el = strlen(etag);
    const char *p = list;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        size_t tn = n;
        const char *t = str_trim(p, &tn);
        if (tn == 1 && *t == '*') return true;
        if (tn == el + 2 && t[0] == '"' && t[tn - 1] == '"' && !memcmp(t + 1, etag, el))
            return true;
        if (tn == el && !memcmp(t, etag, el)) return true;
        p += n;
        if (*p == ',') p++;
    }
    return false;
}

http_conds http_conds_of(const http_req *r) {
    return (http_conds){.if_match = http_header_get(r, "if-match"),
                        .if_none_match = http_header_get(r, "if-none-match"),
                        .if_modified_since = http_header_get(r, "if-modified-since"),
                        .if_unmodified_since = http_header_get(r, "if-unmodified-since")};
}

http_cond http_conditions(const http_conds *c, const char *etag, time_t mtime) {
    time_t t;
    if (c->if_match && !http_etag_list_matches(c->if_match, etag)) return HTTP_COND_FAILED;
    if (c->if_unmodified_since && !c->if_match && parse_http_date(c->if_unmodified_since, &t) &&
        mtime > t)
        return HTTP_COND_FAILED;
    if (c->if_none_match) {
        if (http_etag_list_matches(c->if_none_match, etag)) return HTTP_COND_NOT_MODIFIED;
    } else if (c->if_modified_since && parse_http_date(c->if_modified_since, &t) && mtime <= t) {
        return HTTP_COND_NOT_MODIFIED;
    }
    return HTTP_COND_PASS;
}
