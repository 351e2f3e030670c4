/* SPDX-License-Identifier: Apache-2.0 */
/* The Range header parser (gateway/http.h): which ranges are served, which
 * are unsatisfiable (416) and which are ignored (whole body, 200). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "gateway/http.h"

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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_range_served),
        cmocka_unit_test(test_range_unsatisfiable),
        cmocka_unit_test(test_range_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
