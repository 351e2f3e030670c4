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
