/* SPDX-License-Identifier: Apache-2.0 */
/* The protocol-neutral HTTP helpers (gateway/http.h): the Range header
 * parser (which ranges are served, which are unsatisfiable (416) and which
 * are ignored (whole body, 200)), and the conditional request headers in
 * RFC 9110's order. */
#include <stdarg.h>
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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_range_served),  cmocka_unit_test(test_range_unsatisfiable),
        cmocka_unit_test(test_range_ignored), cmocka_unit_test(test_etag_lists),
        cmocka_unit_test(test_conditions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
