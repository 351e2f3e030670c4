/* SPDX-License-Identifier: Apache-2.0 */
/* The protocol-neutral HTTP helpers (gateway/http.h): the Range header
 * parser (which ranges are served, which are unsatisfiable (416) and which
 * are ignored (whole body, 200)), and the conditional request headers in
 * RFC 9110's order. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "gateway/http.h"

#include <time.h>

static void expect_ok(const char *v, uint64_t size, uint64_t first, uint64_t last) {
    uint64_t a = 12345, b = 12345;
    http_range_result r = http_range_parse(v, size, &a, &b);
    if (r != HTTP_RANGE_OK)
        fail_msg("\"%s\" on %llu bytes: result %d, want OK", v, (unsigned long long)size, (int)r);
    if (a != first || b != last)
        fail_msg("\"%s\" on %llu bytes: %llu-%llu, want %llu-%llu", v, (unsigned long long)size,
                 (unsigned long long)a, (unsigned long long)b, (unsigned long long)first,
                 (unsigned long long)last);
}

static void expect(const char *v, uint64_t size, http_range_result want) {
    uint64_t a, b;
    http_range_result r = http_range_parse(v, size, &a, &b);
    if (r != want)
        fail_msg("\"%s\" on %llu bytes: result %d, want %d", v, (unsigned long long)size, (int)r,
                 (int)want);
}

static void test_range_served(void **st) {
    (void)st;
    expect_ok("bytes=0-0", 10, 0, 0);
    expect_ok("bytes=0-9", 10, 0, 9);
    expect_ok("bytes=2-5", 10, 2, 5);
    expect_ok("bytes=5-", 10, 5, 9);
    expect_ok("bytes=9-", 10, 9, 9);
    expect_ok("bytes=3-100", 10, 3, 9); /* last beyond the end: clamped */
    expect_ok("bytes=-3", 10, 7, 9);    /* suffix */
    expect_ok("bytes=-10", 10, 0, 9);
    expect_ok("bytes=-100", 10, 0, 9); /* suffix longer than the body */
    expect_ok("Bytes=1-2", 10, 1, 2);  /* the unit is case-insensitive */
    expect_ok("bytes= 1-2 ", 10, 1, 2);
    /* positions beyond 64 bits: huge, not junk */
    expect_ok("bytes=0-99999999999999999999", 10, 0, 9);
    expect_ok("bytes=-99999999999999999999", 10, 0, 9);
    expect_ok("bytes=0-18446744073709551615", 10, 0, 9);
}

static void test_range_unsatisfiable(void **st) {
    (void)st;
    expect("bytes=10-", 10, HTTP_RANGE_UNSATISFIABLE);
    expect("bytes=10-20", 10, HTTP_RANGE_UNSATISFIABLE);
    expect("bytes=99999999999999999999-", 10, HTTP_RANGE_UNSATISFIABLE); /* issue 7 F4 */
    expect("bytes=18446744073709551616-", 10, HTTP_RANGE_UNSATISFIABLE);
    expect("bytes=18446744073709551615-", 10, HTTP_RANGE_UNSATISFIABLE);
    expect("bytes=99999999999999999999-99999999999999999999", 10, HTTP_RANGE_UNSATISFIABLE);
    expect("bytes=-0", 10, HTTP_RANGE_UNSATISFIABLE);
    expect("bytes=0-", 0, HTTP_RANGE_UNSATISFIABLE);
    expect("bytes=-1", 0, HTTP_RANGE_UNSATISFIABLE);
}

static void test_range_ignored(void **st) {
    (void)st;
    const char *junk[] = {"",          "bytes",         "bytes=",     "bytes=-",    "items=0-1",
                          "bytes 0-1", "bytes=a-b",     "bytes=1-a",  "bytes=+1-2", "bytes=1--2",
                          "bytes=5-2", "bytes=0-1,3-4", "bytes=-1-2", "bytes=0x1-2"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) expect(junk[i], 10, HTTP_RANGE_NONE);
}

static void test_etag_lists(void **st) {
    (void)st;
    const char *e = "0123456789abcdef0123456789abcdef";
    assert_true(http_etag_list_matches("\"0123456789abcdef0123456789abcdef\"", e));
    assert_true(http_etag_list_matches("0123456789abcdef0123456789abcdef", e));
    assert_true(http_etag_list_matches("\"x\", \"0123456789abcdef0123456789abcdef\"", e));
    assert_true(http_etag_list_matches(" * ", e));
    assert_false(http_etag_list_matches("\"x\", \"y\"", e));
    assert_false(http_etag_list_matches("\"0123456789abcdef0123456789abcde\"", e));
    assert_false(http_etag_list_matches("\"0123456789abcdef0123456789abcdef", e));
    assert_false(http_etag_list_matches("", e));
    assert_true(http_etag_list_matches("\"abc-2\"", "abc-2"));
    assert_true(http_etag_list_matches(" \"x\" ,\t\"0123456789abcdef0123456789abcdef\" ", e));
    assert_true(http_etag_list_matches("\"x\", *", e));
    assert_false(http_etag_list_matches("W/\"0123456789abcdef0123456789abcdef\"", e));
    assert_false(http_etag_list_matches("**", e));
}

static void test_conditions(void **st) {
    (void)st;
    const char *e = "abc";
    /* Sun, 06 Nov 1994 08:49:37 GMT */
    time_t mtime = 784111777;
    const char *before = "Sun, 06 Nov 1994 08:49:36 GMT", *at = "Sun, 06 Nov 1994 08:49:37 GMT",
               *after = "Sun, 06 Nov 1994 08:49:38 GMT";
    http_conds none = {0};
    assert_int_equal(http_conditions(&none, e, mtime), HTTP_COND_PASS);
    http_conds c = {.if_match = "\"abc\""};
    assert_int_equal(http_conditions(&c, e, mtime), HTTP_COND_PASS);
    c.if_match = "\"abd\"";
    assert_int_equal(http_conditions(&c, e, mtime), HTTP_COND_FAILED);
    /* If-Unmodified-Since counts only without If-Match */
    c = (http_conds){.if_unmodified_since = before};
    assert_int_equal(http_conditions(&c, e, mtime), HTTP_COND_FAILED);
    c.if_unmodified_since = at;
    assert_int_equal(http_conditions(&c, e, mtime), HTTP_COND_PASS);
    c = (http_conds){.if_match = "*", .if_unmodified_since = before};
    assert_int_equal(http_conditions(&c, e, mtime), HTTP_COND_PASS);
    /* If-None-Match, and If-Modified-Since only without it */
    c = (http_conds){.if_none_match = "\"abc\""};
    assert_int_equal(http_conditions(&c, e, mtime), HTTP_COND_NOT_MODIFIED);
    c = (http_conds){.if_none_match = "\"other\"", .if_modified_since = after};
    assert_int_equal(http_conditions(&c, e, mtime), HTTP_COND_PASS);
    c = (http_conds){.if_modified_since = at};
    assert_int_equal(http_conditions(&c, e, mtime), HTTP_COND_NOT_MODIFIED);
    c.if_modified_since = before;
    assert_int_equal(http_conditions(&c, e, mtime), HTTP_COND_PASS);
    /* a failed If-Match wins over everything after it */
    c = (http_conds){.if_match = "\"no\"", .if_none_match = "\"abc\""};
    assert_int_equal(http_conditions(&c, e, mtime), HTTP_COND_FAILED);
    /* unparseable dates are ignored */
    c = (http_conds){.if_modified_since = "yesterday", .if_unmodified_since = "soon"};
    assert_int_equal(http_conditions(&c, e, mtime), HTTP_COND_PASS);
}

/* ---- several ranges, as Swift reads them (http_ranges_parse) */

/* want: "F-L,F-L,..." of the ranges served */
static void expect_ranges(const char *v, uint64_t size, const char *want) {
    http_byte_range rs[HTTP_MAX_RANGES];
    size_t n = 99;
    http_range_result r = http_ranges_parse(v, size, rs, &n);
    if (r != HTTP_RANGE_OK)
        fail_msg("\"%s\" on %llu bytes: result %d, want OK", v, (unsigned long long)size, (int)r);
    char got[4096] = "";
    size_t at = 0;
    for (size_t i = 0; i < n; i++)
        at += (size_t)snprintf(got + at, sizeof got - at, "%s%llu-%llu", i ? "," : "",
                               (unsigned long long)rs[i].first, (unsigned long long)rs[i].last);
    if (strcmp(got, want))
        fail_msg("\"%s\" on %llu bytes: %s, want %s", v, (unsigned long long)size, got, want);
}

static void expect_multi(const char *v, uint64_t size, http_range_result want) {
    http_byte_range rs[HTTP_MAX_RANGES];
    size_t n = 99;
    http_range_result r = http_ranges_parse(v, size, rs, &n);
    if (r != want)
        fail_msg("\"%s\" on %llu bytes: result %d, want %d", v, (unsigned long long)size, (int)r,
                 (int)want);
    assert_int_equal(n, 0);
}

static void test_ranges_served(void **st) {
    (void)st;
    expect_ranges("bytes=0-1,5-9,-3,10-", 20, "0-1,5-9,17-19,10-19");
    expect_ranges("bytes=0-0", 10, "0-0");
    expect_ranges("bytes=5-", 10, "5-9");
    expect_ranges("bytes=-3", 10, "7-9");
    expect_ranges("bytes=-10", 10, "0-9");
    expect_ranges("bytes=-11", 10, "0-9");
    expect_ranges("bytes=0-99", 10, "0-9");
    expect_ranges("bytes=0-1,4-5", 10, "0-1,4-5");
    /* whitespace: every ' ' goes first (swob), as in Swift's LWS test */
    expect_ranges("BYTES = 0 - 999", 2000, "0-999");
    expect_ranges("bytes = 0 - 999", 2000, "0-999");
    expect_ranges(" bytes=0-999 ", 2000, "0-999");
    expect_ranges("bytes=0-1, 4-5 , 7 -8", 10, "0-1,4-5,7-8");
    expect_ranges("bytes=1 0-2 0", 30, "10-20");
    /* a first position is read by Python's int() */
    expect_ranges("bytes=+1-2", 10, "1-2");
    expect_ranges("bytes=1_0-20", 30, "10-20");
    expect_ranges("bytes=\t1\v-2", 10, "1-2");
    expect_ranges("bytes=007-8", 10, "7-8");
    /* repeats and overlaps are kept, in the order given */
    expect_ranges("bytes=0-9,0-9,0-9,0-9", 10, "0-9,0-9,0-9,0-9");
    expect_ranges("bytes=5-6,0-1", 10, "5-6,0-1");
    /* positions beyond 64 bits */
    expect_ranges("bytes=0-99999999999999999999", 10, "0-9");
    expect_ranges("bytes=-99999999999999999999", 10, "0-9");
    expect_ranges("bytes=18446744073709551614-18446744073709551616", UINT64_MAX,
                  "18446744073709551614-18446744073709551614");
}

static void test_ranges_some_unsatisfiable(void **st) {
    (void)st;
    /* unsatisfiable specs are dropped when one is left: a single range
     * left is a plain 206 for the caller */
    expect_ranges("bytes=0-1,100-200", 10, "0-1");
    expect_ranges("bytes=10-,2-3,-0,4-", 10, "2-3,4-9");
    expect_ranges("bytes=-0,-1", 10, "9-9");
    expect_multi("bytes=10-,20-30,-0", 10, HTTP_RANGE_UNSATISFIABLE);
    expect_multi("bytes=10-", 10, HTTP_RANGE_UNSATISFIABLE);
    expect_multi("bytes=-0", 10, HTTP_RANGE_UNSATISFIABLE);
    expect_multi("bytes=99999999999999999998-99999999999999999999", 10, HTTP_RANGE_UNSATISFIABLE);
    expect_multi("bytes=000099999999999999999999-99999999999999999999", 10,
                 HTTP_RANGE_UNSATISFIABLE);
    expect_multi("bytes=18446744073709551615-18446744073709551616", 10, HTTP_RANGE_UNSATISFIABLE);
    /* an empty body: a suffix is "up to n bytes", so Swift sends the whole
     * (empty) body; anything else is unsatisfiable */
    expect_multi("bytes=-5", 0, HTTP_RANGE_NONE);
    expect_multi("bytes=0-,-5", 0, HTTP_RANGE_NONE);
    expect_multi("bytes=0-", 0, HTTP_RANGE_UNSATISFIABLE);
    expect_multi("bytes=0-0", 0, HTTP_RANGE_UNSATISFIABLE);
    expect_multi("bytes=-0", 0, HTTP_RANGE_UNSATISFIABLE);
}

static void test_ranges_ignored(void **st) {
    (void)st;
    static const char *const junk[] = {"",
                                       " ",
                                       "bytes",
                                       "bytes=",
                                       "bytes=0-1,",
                                       "bytes=,0-1",
                                       "bytes=0-1,,2-3",
                                       "bytes=5-3",
                                       "bytes=0-1,5-3",
                                       "bytes=-",
                                       "bytes=0-1,-",
                                       "bytes=1",
                                       "bytes=0-1,2",
                                       "bytes=a-1",
                                       "bytes=1-a",
                                       "bytes=--0",
                                       "bytes=0--1",
                                       "bytes=1-2-3",
                                       "bytes=0-+5",
                                       "bytes=0-1_0",
                                       "bytes=_1-2",
                                       "bytes=1_-2",
                                       "bytes=1__0-20",
                                       "bytes=+_1-2",
                                       "bytes=++1-2",
                                       "bytes=0x1-2",
                                       "bytes=1\t0-20",
                                       "bytes=0-\t1",
                                       "bytes=0-1\t",
                                       "items=0-1",
                                       "bytes:0-1",
                                       "bytes=18446744073709551616-18446744073709551615",
                                       "bytes=99999999999999999999-99999999999999999998",
                                       "bytes=1_8446744073709551617-18446744073709551616",
                                       "bytes=0-1,10-5,100-"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++)
        expect_multi(junk[i], 10, HTTP_RANGE_NONE);
    /* invalid whatever the size, even when the rest is unsatisfiable */
    expect_multi("bytes=100-,x", 10, HTTP_RANGE_NONE);
    expect_multi("bytes=-5,x", 0, HTTP_RANGE_NONE);
}

/* "F-L,F-L,..." of n one-byte ranges at 2i (descending: from the top) */
static const char *many(char *buf, size_t cap, size_t n, bool descending, size_t bad) {
    size_t at = (size_t)snprintf(buf, cap, "bytes=");
    for (size_t i = 0; i < n; i++) {
        size_t p = descending ? 2 * (n - 1 - i) : 2 * i;
        at += (size_t)snprintf(buf + at, cap - at, "%s%zu-%zu", i ? "," : "", p, p);
    }
    for (size_t i = 0; i < bad; i++) at += (size_t)snprintf(buf + at, cap - at, ",5000-");
    return buf;
}

static void test_ranges_limits(void **st) {
    (void)st;
    char b[2048];
    http_byte_range rs[HTTP_MAX_RANGES];
    size_t n;
    /* MAX_RANGES: more than 50 satisfiable ranges is 416 (not 200, not 400) */
    assert_int_equal(http_ranges_parse(many(b, sizeof b, 50, false, 0), 1000, rs, &n),
                     HTTP_RANGE_OK);
    assert_int_equal(n, 50);
    assert_int_equal(rs[49].first, 98);
    assert_int_equal(http_ranges_parse(many(b, sizeof b, 51, false, 0), 1000, rs, &n),
                     HTTP_RANGE_UNSATISFIABLE);
    /* counted after the unsatisfiable ones are dropped */
    assert_int_equal(http_ranges_parse(many(b, sizeof b, 50, false, 5), 1000, rs, &n),
                     HTTP_RANGE_OK);
    assert_int_equal(n, 50);
    expect_multi(many(b, sizeof b, 51, false, 0), 0, HTTP_RANGE_UNSATISFIABLE);
    expect_multi("bytes=-1,-1,-1", 0, HTTP_RANGE_NONE);
    /* MAX_RANGE_OVERLAPS: at most 2 overlapping pairs */
    expect_ranges("bytes=0-9,5-14", 100, "0-9,5-14");
    expect_ranges("bytes=0-9,5-14,12-20", 100, "0-9,5-14,12-20");
    expect_multi("bytes=0-9,5-14,8-20", 100, HTTP_RANGE_UNSATISFIABLE);
    expect_multi("bytes=0-9,1-8,2-7", 100, HTTP_RANGE_UNSATISFIABLE);
    /* touching or equal ranges do not overlap (swob's strict test) */
    expect_ranges("bytes=0-4,5-9,5-9,5-9,0-4", 100, "0-4,5-9,5-9,5-9,0-4");
    /* ranges clamped to the end are compared as served */
    expect_multi("bytes=0-50,5-60,8-70", 10, HTTP_RANGE_UNSATISFIABLE);
    /* MAX_NONASCENDING_RANGES: 8 or more out of (first, last) order */
    expect_ranges(many(b, sizeof b, 7, true, 0), 100, "12-12,10-10,8-8,6-6,4-4,2-2,0-0");
    expect_multi(many(b, sizeof b, 8, true, 0), 100, HTTP_RANGE_UNSATISFIABLE);
    assert_int_equal(http_ranges_parse(many(b, sizeof b, 8, false, 0), 100, rs, &n), HTTP_RANGE_OK);
    expect_multi("bytes=0-1,2-3,4-5,6-7,8-9,10-11,12-15,12-13", 100, HTTP_RANGE_UNSATISFIABLE);
    expect_ranges("bytes=0-1,2-3,4-5,6-7,8-9,10-11,12-13,12-15", 100,
                  "0-1,2-3,4-5,6-7,8-9,10-11,12-13,12-15");
    /* only the ranges left count */
    expect_ranges("bytes=14-14,12-12,10-10,8-8,6-6,4-4,2-2,500-", 100,
                  "14-14,12-12,10-10,8-8,6-6,4-4,2-2");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_range_served),
        cmocka_unit_test(test_range_unsatisfiable),
        cmocka_unit_test(test_range_ignored),
        cmocka_unit_test(test_etag_lists),
        cmocka_unit_test(test_conditions),
        cmocka_unit_test(test_ranges_served),
        cmocka_unit_test(test_ranges_some_unsatisfiable),
        cmocka_unit_test(test_ranges_ignored),
        cmocka_unit_test(test_ranges_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
