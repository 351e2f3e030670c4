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

/* ---- several ranges, as Swift reads them (swob.Range) */

/* The whitespace Python's int() strips, among the bytes a header holds
 * (read as latin-1, as WSGI does). */
static bool py_space(unsigned char c) {
    return (c >= '\t' && c <= '\r') || c == ' ' || c == 0x85 || c == 0xa0;
}

/* A position of a spec: its value saturated at UINT64_MAX and, when it
 * saturated, its text for an exact comparison. */
typedef struct spec_pos {
    uint64_t v;
    bool huge;
    const char *s;
    size_t n;
} spec_pos;

static void pos_digit(spec_pos *p, unsigned d) {
    if (p->v > (UINT64_MAX - d) / 10) {
        p->v = UINT64_MAX;
        p->huge = true;
    } else {
        p->v = p->v * 10 + d;
    }
}

/* s[0..n) with its ' ' removed, read by Python's int(): whitespace,
 * an optional '+', digits with single '_' between them, whitespace. */
static bool py_int(const char *s, size_t n, spec_pos *out) {
    *out = (spec_pos){.s = s, .n = n};
    size_t i = 0;
    while (i < n && py_space((unsigned char)s[i])) i++;
    if (i < n && s[i] == '+') i++;
    while (i < n && s[i] == ' ') i++;
    if (i >= n || s[i] < '0' || s[i] > '9') return false;
    for (;;) {
        pos_digit(out, (unsigned)(s[i++] - '0'));
        while (i < n && s[i] == ' ') i++;
        if (i < n && s[i] == '_') {
            i++;
            while (i < n && s[i] == ' ') i++;
            if (i >= n || s[i] < '0' || s[i] > '9') return false;
        } else if (i >= n || s[i] < '0' || s[i] > '9') {
            break;
        }
    }
    while (i < n && py_space((unsigned char)s[i])) i++;
    return i == n;
}

/* s[0..n) with its ' ' removed: digits only (str.isdigit; the non-ASCII
 * digits it also takes make int() fail, so they are junk as well). */
static bool digits_only(const char *s, size_t n, spec_pos *out) {
    *out = (spec_pos){.s = s, .n = n};
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ' ') continue;
        if (s[i] < '0' || s[i] > '9') return false;
        pos_digit(out, (unsigned)(s[i] - '0'));
        any = true;
    }
    return any;
}

static bool all_spaces(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ') return false;
    return true;
}

/* The significant digits of a position's text (no leading zeros, no
 * '_', '+', whitespace): the next one from *i, or -1 at the end. */
static int next_digit(const spec_pos *p, size_t *i, bool *leading) {
    while (*i < p->n) {
        char c = p->s[(*i)++];
        if (c < '0' || c > '9') continue;
        if (*leading && c == '0') continue;
        *leading = false;
        return c - '0';
    }
    return -1;
}

/* Is a < b, exactly (both huge: compare their digits)? */
static bool pos_less(const spec_pos *a, const spec_pos *b) {
    if (a->huge != b->huge) return b->huge;
    if (!a->huge) return a->v < b->v;
    size_t na = 0, nb = 0, i = 0;
    bool lead = true;
    while (next_digit(a, &i, &lead) >= 0) na++;
    i = 0, lead = true;
    while (next_digit(b, &i, &lead) >= 0) nb++;
    if (na != nb) return na < nb;
    size_t ia = 0, ib = 0;
    bool la = true, lb = true;
    for (;;) {
        int da = next_digit(a, &ia, &la), db = next_digit(b, &ib, &lb);
        if (da < 0) return false;
        if (da != db) return da < db;
    }
}

http_range_result http_ranges_parse(const char *v, uint64_t size, http_byte_range *out, size_t *n) {
    *n = 0;
    static const char prefix[] = "bytes=";
    const char *p = v;
    for (size_t k = 0; k < 6; k++) {
        while (*p == ' ') p++;
        char c = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;
        if (c != prefix[k]) return HTTP_RANGE_NONE;
        p++;
    }
    /* half-open [start, end), as swob resolves them; end <= size */
    struct {
        uint64_t start, end;
    } all[HTTP_MAX_RANGES];
    size_t count = 0; /* satisfiable ones, also beyond HTTP_MAX_RANGES */
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *dash = memchr(p, '-', len);
        if (!dash) return HTTP_RANGE_NONE;
        size_t an = (size_t)(dash - p), bn = len - an - 1;
        bool has_a = !all_spaces(p, an), has_b = !all_spaces(dash + 1, bn);
        spec_pos a = {0}, b = {0};
        if (has_a && !py_int(p, an, &a)) return HTTP_RANGE_NONE;
        if (has_b && !digits_only(dash + 1, bn, &b)) return HTTP_RANGE_NONE;
        if (!has_a && !has_b) return HTTP_RANGE_NONE;
        if (has_a && has_b && pos_less(&b, &a)) return HTTP_RANGE_NONE;
        uint64_t s = 0, e = 0;
        bool ok = true;
        if (!has_a) { /* suffix */
            if (b.v == 0)
                ok = false;
            else
                s = b.v > size ? 0 : size - b.v, e = size;
        } else if (a.v >= size) { /* a saturated start is beyond any size */
            ok = false;
        } else {
            s = a.v;
            e = has_b && b.v < size ? b.v + 1 : size;
        }
        if (ok) {
            if (count < HTTP_MAX_RANGES) all[count].start = s, all[count].end = e;
            count++;
        }
        if (!comma) break;
        p = comma + 1;
    }
    if (count == 0 || count > HTTP_MAX_RANGES) return HTTP_RANGE_UNSATISFIABLE;
    unsigned overlaps = 0;
    for (size_t i = 0; i < count; i++) {
        for (size_t j = i + 1; j < count; j++) {
            uint64_t s1 = all[i].start, e1 = all[i].end, s2 = all[j].start, e2 = all[j].end;
            if ((s1 < s2 && s2 < e1) || (s1 < e2 && e2 < e1) || (s2 < s1 && s1 < e2) ||
                (s2 < e1 && e1 < e2)) {
                if (++overlaps > HTTP_MAX_RANGE_OVERLAPS) return HTTP_RANGE_UNSATISFIABLE;
            }
        }
    }
    bool ascending = true;
    for (size_t i = 0; i + 1 < count && ascending; i++) {
        if (all[i].start > all[i + 1].start ||
            (all[i].start == all[i + 1].start && all[i].end > all[i + 1].end))
            ascending = false;
    }
    if (!ascending && count >= HTTP_MAX_NONASCENDING_RANGES) return HTTP_RANGE_UNSATISFIABLE;
    if (size == 0) return HTTP_RANGE_NONE;
    for (size_t i = 0; i < count; i++)
        out[i] = (http_byte_range){.first = all[i].start, .last = all[i].end - 1};
    *n = count;
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
