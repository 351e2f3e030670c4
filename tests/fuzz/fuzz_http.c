/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness for the Range and conditional request headers: the
 * Range parser (gateway/http.c http_range_parse), HTTP and ISO 8601 dates
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
    for (size_t i = 0; i < nsizes; i++) check_range(v, sizes[i]);
    check_dates(v);
    check_conditions(v, etag);
    check_conditions(v, "d41d8cd98f00b204e9800998ecf8427e");
    arena_free(a);
    return 0;
}
