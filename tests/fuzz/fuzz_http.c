/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness for the Range and conditional request headers: the
 * Range parsers (gateway/http.c http_range_parse, and http_ranges_parse,
 * Swift's reading of several ranges), HTTP and ISO 8601 dates
 * (common/text.c parse_http_date, parse_iso8601_basic), ETag lists and the
 * If-* evaluation (gateway/http.c http_etag_list_matches,
 * http_conditions; S3's 304-or-412 mapping as gateway/s3.c makes it). See
 * README.md.
 *
 * Input: line 1 is an object size in decimal (optional: not digits means
 * none), line 2 an ETag (at most 47 bytes are used, as an object's ETag),
 * the rest the header value, given to every parser.
 *
 * Oracles besides memory safety:
 * - Range: on each of several sizes (0, 1, 10, 1000, 2^64-1 and line 1), a
 *   served range lies within the body (first <= last < size), and the
 *   result equals a reference written from the contract in http.h;
 *   the same for several ranges (http_ranges_parse) against a reference
 *   written from swob.Range / ranges_for_length (positions compared as
 *   digit strings, as Python's integers are);
 * - dates: a parsed date formats (fmt_http_date) and parses back to the
 *   same time; an ISO 8601 basic date formats back to the same text unless
 *   it names a leap second;
 * - ETag lists: http_etag_list_matches equals a reference matcher; the If-*
 *   evaluation answers only what S3 does (a copy source never 304) and
 *   follows If-Match / If-None-Match as the reference says. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/arena.h"
#include "common/text.h"
#include "common/err.h"
#include "gateway/http.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "oracle failed at %s:%d: %s\n", __FILE__, __LINE__, #c);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* ---- Range reference --------------------------------------------------------- */

static bool ws(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Digits of s[0..n) as a number, saturating: "huge" beyond 64 bits. */
static bool ref_num(const char *s, size_t n, unsigned __int128 *out) {
    if (!n) return false;
    unsigned __int128 v = 0, cap = (unsigned __int128)UINT64_MAX + 1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (unsigned)(s[i] - '0');
        if (v > cap) v = cap;
    }
    *out = v;
    return true;
}

static http_range_result ref_range(const char *v, uint64_t size, uint64_t *first, uint64_t *last) {
    size_t n = strlen(v);
    while (n && ws(*v)) v++, n--;
    while (n && ws(v[n - 1])) n--;
    if (n < 6 || strncasecmp(v, "bytes=", 6)) return HTTP_RANGE_NONE;
    v += 6, n -= 6;
    while (n && ws(*v)) v++, n--;
    if (memchr(v, ',', n)) return HTTP_RANGE_NONE;
    const char *dash = memchr(v, '-', n);
    if (!dash) return HTTP_RANGE_NONE;
    size_t an = (size_t)(dash - v), bn = n - an - 1;
    unsigned __int128 a = 0, b = 0;
    if (!an && !bn) return HTTP_RANGE_NONE;
    if (an && !ref_num(v, an, &a)) return HTTP_RANGE_NONE;
    if (bn && !ref_num(dash + 1, bn, &b)) return HTTP_RANGE_NONE;
    /* a saturated position stands for "beyond any end": clamp to 2^64-1,
     * which no representation reaches either */
    if (a > UINT64_MAX) a = UINT64_MAX;
    if (b > UINT64_MAX) b = UINT64_MAX;
    if (!an) {
        if (b == 0 || size == 0) return HTTP_RANGE_UNSATISFIABLE;
        *first = b >= size ? 0 : size - (uint64_t)b;
        *last = size - 1;
        return HTTP_RANGE_OK;
    }
    if (bn && b < a) return HTTP_RANGE_NONE;
    if (a >= size) return HTTP_RANGE_UNSATISFIABLE;
    *first = (uint64_t)a;
    *last = bn && b < size ? (uint64_t)b : size - 1;
    return HTTP_RANGE_OK;
}

static void check_range(const char *v, uint64_t size) {
    uint64_t f = 7, l = 7, rf = 9, rl = 9;
    http_range_result r = http_range_parse(v, size, &f, &l);
    http_range_result want = ref_range(v, size, &rf, &rl);
    CHECK(r == want);
    if (r == HTTP_RANGE_OK) {
        CHECK(size > 0 && f <= l && l < size);
        CHECK(f == rf && l == rl);
    }
}

/* ---- several ranges, as Swift reads them: a reference written from
 * swob.Range and Range.ranges_for_length ---------------------------------------- */

/* Python int() of a start (spaces already removed): digits to *d (no '_',
 * no leading zeros) */
static bool ref_py_int(const char *s, size_t n, char *d, size_t *dn) {
    while (n && ((*s >= '\t' && *s <= '\r') || *s == ' ' || *s == '\x85' || *s == '\xa0')) s++, n--;
    while (n && ((s[n - 1] >= '\t' && s[n - 1] <= '\r') || s[n - 1] == ' ' || s[n - 1] == '\x85' ||
                 s[n - 1] == '\xa0'))
        n--;
    if (n && *s == '+') s++, n--;
    if (!n || s[0] == '_' || s[n - 1] == '_') return false;
    *dn = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '_') {
            if (s[i + 1] == '_') return false;
            continue;
        }
        if (s[i] < '0' || s[i] > '9') return false;
        if (*dn || s[i] != '0') d[(*dn)++] = s[i];
    }
    return true;
}

static bool ref_isdigit(const char *s, size_t n, char *d, size_t *dn) {
    if (!n) return false;
    *dn = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        if (*dn || s[i] != '0') d[(*dn)++] = s[i];
    }
    return true;
}

/* the number of digits d[0..n) (no leading zeros), saturated at 2^64 */
static unsigned __int128 ref_val(const char *d, size_t n) {
    unsigned __int128 v = 0, cap = (unsigned __int128)UINT64_MAX + 1;
    for (size_t i = 0; i < n && v < cap; i++) v = v * 10 + (unsigned)(d[i] - '0');
    return v > cap ? cap : v;
}

static int ref_cmp(const char *a, size_t an, const char *b, size_t bn) {
    if (an != bn) return an < bn ? -1 : 1;
    return memcmp(a, b, an);
}

static http_range_result ref_ranges(arena *a, const char *v, uint64_t size, uint64_t *rs,
                                    size_t *n) {
    size_t len = strlen(v), k = 0;
    char *c = arena_alloc(a, len + 1);
    for (size_t i = 0; i < len; i++)
        if (v[i] != ' ') c[k++] = v[i];
    c[k] = 0;
    if (k < 6 || strncasecmp(c, "bytes=", 6)) return HTTP_RANGE_NONE;
    char *da = arena_alloc(a, k + 1), *db = arena_alloc(a, k + 1);
    unsigned __int128 all[2 * 1000];
    size_t cnt = 0;
    const char *p = c + 6;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t sl = comma ? (size_t)(comma - p) : strlen(p);
        const char *dash = memchr(p, '-', sl);
        if (!dash) return HTTP_RANGE_NONE;
        size_t an = (size_t)(dash - p), bn = sl - an - 1, dan = 0, dbn = 0;
        if (an && !ref_py_int(p, an, da, &dan)) return HTTP_RANGE_NONE;
        if (bn && !ref_isdigit(dash + 1, bn, db, &dbn)) return HTTP_RANGE_NONE;
        if (!an && !bn) return HTTP_RANGE_NONE;
        if (an && bn && ref_cmp(db, dbn, da, dan) < 0) return HTTP_RANGE_NONE;
        unsigned __int128 sa = ref_val(da, dan), sb = ref_val(db, dbn), L = size;
        bool keep = true;
        unsigned __int128 s0 = 0, e0 = 0;
        if (!an) {
            if (sb == 0)
                keep = false;
            else if (sb > L)
                s0 = 0, e0 = L;
            else
                s0 = L - sb, e0 = L;
        } else if (!bn) {
            if (sa < L)
                s0 = sa, e0 = L;
            else
                keep = false;
        } else if (sa < L) {
            s0 = sa, e0 = sb + 1 < L ? sb + 1 : L;
        } else {
            keep = false;
        }
        if (keep && cnt < 1000) all[2 * cnt] = s0, all[2 * cnt + 1] = e0;
        if (keep) cnt++;
        if (!comma) break;
        p = comma + 1;
    }
    if (!cnt || cnt > 50) return HTTP_RANGE_UNSATISFIABLE;
    int ov = 0;
    for (size_t i = 0; i < cnt; i++)
        for (size_t j = i + 1; j < cnt; j++) {
            unsigned __int128 s1 = all[2 * i], e1 = all[2 * i + 1], s2 = all[2 * j],
                              e2 = all[2 * j + 1];
            if ((s1 < s2 && s2 < e1) || (s1 < e2 && e2 < e1) || (s2 < s1 && s1 < e2) ||
                (s2 < e1 && e1 < e2))
                ov++;
        }
    if (ov > 2) return HTTP_RANGE_UNSATISFIABLE;
    bool asc = true;
    for (size_t i = 0; i + 1 < cnt; i++)
        if (all[2 * i] > all[2 * i + 2] ||
            (all[2 * i] == all[2 * i + 2] && all[2 * i + 1] > all[2 * i + 3]))
            asc = false;
    if (!asc && cnt >= 8) return HTTP_RANGE_UNSATISFIABLE;
    if (size == 0) return HTTP_RANGE_NONE;
    for (size_t i = 0; i < cnt; i++)
        rs[2 * i] = (uint64_t)all[2 * i], rs[2 * i + 1] = (uint64_t)all[2 * i + 1] - 1;
    *n = cnt;
    return HTTP_RANGE_OK;
}

static void check_ranges(arena *a, const char *v, uint64_t size) {
    http_byte_range got[HTTP_MAX_RANGES];
    uint64_t want[2 * HTTP_MAX_RANGES];
    size_t n = 77, wn = 0;
    http_range_result r = http_ranges_parse(v, size, got, &n);
    CHECK(r == ref_ranges(a, v, size, want, &wn));
    if (r != HTTP_RANGE_OK) {
        CHECK(n == 0);
        return;
    }
    CHECK(n >= 1 && n <= HTTP_MAX_RANGES && n == wn);
    for (size_t i = 0; i < n; i++) {
        CHECK(got[i].first <= got[i].last && got[i].last < size);
        CHECK(got[i].first == want[2 * i] && got[i].last == want[2 * i + 1]);
    }
}

/* ---- dates -------------------------------------------------------------------- */

static void check_dates(const char *v) {
    time_t t;
    if (parse_http_date(v, &t)) {
        char s[30];
        fmt_http_date(t, s);
        time_t t2;
        /* years 0..9999 only; a leap second on the last day of 9999 is the
         * one instant past what fmt_http_date can write */
        if ((long long)t <= 253402300799LL) {
            CHECK(parse_http_date(s, &t2));
            CHECK(t2 == t);
        }
    }
    if (parse_iso8601_basic(v, &t)) {
        CHECK(strlen(v) == 16);
        if (strncmp(v + 13, "60", 2)) { /* not a leap second */
            struct tm tm;
            CHECK(gmtime_r(&t, &tm));
            char s[32];
            snprintf(s, sizeof s, "%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
            CHECK(!strcmp(s, v));
        }
    }
}

/* ---- ETag lists and conditions ------------------------------------------------ */

static bool ref_etag_match(const char *list, const char *etag) {
    size_t el = strlen(etag);
    for (;;) {
        const char *comma = strchr(list, ',');
        size_t n = comma ? (size_t)(comma - list) : strlen(list);
        const char *t = list;
        while (n && ws(*t)) t++, n--;
        while (n && ws(t[n - 1])) n--;
        if (n == 1 && *t == '*') return true;
        if (n == el && !memcmp(t, etag, n)) return true;
        if (n == el + 2 && t[0] == '"' && t[n - 1] == '"' && !memcmp(t + 1, etag, el)) return true;
        if (!comma) return false;
        list = comma + 1;
    }
}

/* The If-* evaluation as the S3 front end answers it: 412, or 304 (412 for
 * a copy source's x-amz-copy-source-if-* headers). */
static kerr s3_check_conditions(const char *etag, int64_t mtime_ms, const char *im, const char *inm,
                                const char *ims, const char *ius, bool copy) {
    http_conds c = {
        .if_match = im, .if_none_match = inm, .if_modified_since = ims, .if_unmodified_since = ius};
    switch (http_conditions(&c, etag, (time_t)(mtime_ms / 1000))) {
    case HTTP_COND_PASS:
        return K_OK;
    case HTTP_COND_FAILED:
        return K_EPRECONDITION;
    case HTTP_COND_NOT_MODIFIED:
        return copy ? K_EPRECONDITION : K_ENOTMODIFIED;
    }
    return K_EINTERNAL;
}

static void check_conditions(const char *v, const char *etag) {
    bool m = http_etag_list_matches(v, etag);
    CHECK(m == ref_etag_match(v, etag));
    const int64_t mtime_ms = 1369353600000LL; /* 2013-05-24 */
    for (int copy = 0; copy < 2; copy++) {
        kerr e = s3_check_conditions(etag, mtime_ms, v, NULL, NULL, NULL, copy);
        CHECK(e == (m ? K_OK : K_EPRECONDITION));
        e = s3_check_conditions(etag, mtime_ms, NULL, v, NULL, NULL, copy);
        CHECK(e == (!m ? K_OK : copy ? K_EPRECONDITION : K_ENOTMODIFIED));
        /* v as both dates: one of them must fail unless it does not parse */
        time_t t;
        bool date = parse_http_date(v, &t);
        e = s3_check_conditions(etag, mtime_ms, NULL, NULL, v, NULL, copy);
        CHECK(e == (date && 1369353600 <= t ? (copy ? K_EPRECONDITION : K_ENOTMODIFIED) : K_OK));
        e = s3_check_conditions(etag, mtime_ms, NULL, NULL, NULL, v, copy);
        CHECK(e == (date && 1369353600 > t ? K_EPRECONDITION : K_OK));
        /* If-Match wins over If-Unmodified-Since, If-None-Match over
         * If-Modified-Since */
        e = s3_check_conditions(etag, mtime_ms, "*", NULL, NULL, v, copy);
        CHECK(e == K_OK);
        e = s3_check_conditions(etag, mtime_ms, NULL, "\"no-such-etag\"", v, NULL, copy);
        CHECK(e == K_OK || ref_etag_match("\"no-such-etag\"", etag));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    arena *a = arena_new(0);
    const char *p = (const char *)data, *end = p + size;
    const char *nl1 = memchr(p, '\n', size);
    const char *size_line = p;
    size_t size_len = nl1 ? (size_t)(nl1 - p) : size;
    const char *etag_line = nl1 ? nl1 + 1 : end;
    const char *nl2 = memchr(etag_line, '\n', (size_t)(end - etag_line));
    size_t etag_len = nl2 ? (size_t)(nl2 - etag_line) : (size_t)(end - etag_line);
    const char *value = nl2 ? nl2 + 1 : end;
    /* C strings, as header values are: they end at a NUL */
    char *v = arena_strndup(a, value, (size_t)(end - value));
    const char *etag = arena_strndup(a, etag_line, etag_len > 47 ? 47 : etag_len);
    if (!etag[0]) etag = "x"; /* an object's ETag is never empty */

    uint64_t sizes[6] = {0, 1, 10, 1000, UINT64_MAX, 0};
    size_t nsizes = 5;
    if (parse_u64(size_line, size_len, &sizes[5])) nsizes = 6;
    for (size_t i = 0; i < nsizes; i++) {
        check_range(v, sizes[i]);
        check_ranges(a, v, sizes[i]);
    }
    check_dates(v);
    check_conditions(v, etag);
    check_conditions(v, "d41d8cd98f00b204e9800998ecf8427e");
    arena_free(a);
    return 0;
}
