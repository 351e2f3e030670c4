/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <locale.h>
#include <string.h>

#include "common/text.h"

/* ---- formatting ------------------------------------------------------- */

static void test_fmt_http_date(void **st) {
    (void)st;
    char out[30];
    fmt_http_date(784111777, out);
    assert_string_equal(out, "Sun, 06 Nov 1994 08:49:37 GMT");
    fmt_http_date(0, out);
    assert_string_equal(out, "Thu, 01 Jan 1970 00:00:00 GMT");
    fmt_http_date(1709208000, out);
    assert_string_equal(out, "Thu, 29 Feb 2024 12:00:00 GMT");
    fmt_http_date(253402300799, out);
    assert_string_equal(out, "Fri, 31 Dec 9999 23:59:59 GMT");
    assert_int_equal(strlen(out), 29);

    /* locale must not leak in (if a non-C locale is installed at all) */
    if (setlocale(LC_ALL, "de_DE.UTF-8") || setlocale(LC_ALL, "fr_FR.UTF-8")) {
        fmt_http_date(784111777, out);
        assert_string_equal(out, "Sun, 06 Nov 1994 08:49:37 GMT");
        setlocale(LC_ALL, "C");
    }
}

static void test_fmt_iso8601(void **st) {
    (void)st;
    char out[25];
    fmt_iso8601_ms(1704164645, out);
    assert_string_equal(out, "2024-01-02T03:04:05.000Z");
    fmt_iso8601_ms(784111777, out);
    assert_string_equal(out, "1994-11-06T08:49:37.000Z");
    fmt_iso8601_ms(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
    assert_int_equal(strlen(out), 24);
}

/* ---- parsing ---------------------------------------------------------- */

static void test_parse_http_date(void **st) {
    (void)st;
    time_t t = 0;
    assert_true(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", &t));
    assert_int_equal(t, 784111777);
    t = 0;
    assert_true(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", &t));
    assert_int_equal(t, 784111777);
    t = 0;
    assert_true(parse_http_date("Sun Nov  6 08:49:37 1994", &t));
    assert_int_equal(t, 784111777);
    t = 0;
    assert_true(parse_http_date("Thu, 29 Feb 2024 12:00:00 GMT", &t));
    assert_int_equal(t, 1709208000);
    t = 0;
    assert_true(parse_http_date("Tue, 02 Jan 2024 03:04:05 GMT", &t));
    assert_int_equal(t, 1704164645);
    t = 0;
    assert_true(parse_http_date("Tuesday, 02-Jan-24 03:04:05 GMT", &t));
    assert_int_equal(t, 1704164645);
    t = 0;
    assert_true(parse_http_date("Tue Jan 02 03:04:05 2024", &t));
    assert_int_equal(t, 1704164645);
    t = 0;
    assert_true(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT", &t));
    assert_int_equal(t, 0);
    /* surrounding blanks tolerated */
    t = 0;
    assert_true(parse_http_date(" Sun, 06 Nov 1994 08:49:37 GMT ", &t));
    assert_int_equal(t, 784111777);
}

static void test_parse_http_date_invalid(void **st) {
    (void)st;
    const char *bad[] = {
        "",
        "garbage",
        "Sun, 06 Nov 1994 08:49:37 PST",
        "Sun, 06 Nov 1994 08:49:37",
        "Sun, 06 Nov 1994 08:49:37 GMTx",
        "Sun 06 Nov 1994 08:49:37 GMT",
        "Xyz, 06 Nov 1994 08:49:37 GMT",
        "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 31 Feb 1994 08:49:37 GMT",
        "Thu, 29 Feb 2023 12:00:00 GMT",
        "Sun, 00 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nov 1994 08:60:37 GMT",
        "Sun, 06 Nov 1994 08:49:61 GMT",
        "Sun, 06 Nov 94 08:49:37 GMT",
        "Sun, 06 nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 8:49:37 GMT",
        "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Sun, 06-Nov-94 08:49:37 GMT",
        "Sunday, 06 Nov 1994 08:49:37 GMT",
        "Sun Nov 6 08:49:37 1994",
        "Sun Nov  6 08:49:37 94",
        "Sun Nov  6 08:49:37 1994 GMT",
        "1994-11-06T08:49:37Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        time_t t = 12345;
        if (parse_http_date(bad[i], &t)) fail_msg("accepted \"%s\"", bad[i]);
    }
    time_t t;
    assert_false(parse_http_date(NULL, &t));
}

static void test_http_date_roundtrip(void **st) {
    (void)st;
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 2000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        time_t t = (time_t)(x % 253402300800ull); /* 1970 .. 9999 */
        char s[30];
        time_t back = -1;
        fmt_http_date(t, s);
        assert_true(parse_http_date(s, &back));
        assert_int_equal(back, t);
    }
}

static void test_parse_iso8601_basic(void **st) {
    (void)st;
    time_t t = 0;
    assert_true(parse_iso8601_basic("20130524T000000Z", &t));
    assert_int_equal(t, 1369353600);
    assert_true(parse_iso8601_basic("20240102T030405Z", &t));
    assert_int_equal(t, 1704164645);
    assert_true(parse_iso8601_basic("20240229T120000Z", &t));
    assert_int_equal(t, 1709208000);
    const char *bad[] = {
        "",
        "20130524T000000",
        "20130524T000000Zx",
        "2013052T000000Z",
        "20130524 000000Z",
        "20131324T000000Z",
        "20130001T000000Z",
        "20130532T000000Z",
        "20230229T000000Z",
        "20130524T250000Z",
        "20130524T006000Z",
        "2013-05-24T00:00:00Z",
        "20130524t000000z",
        "2013O524T000000Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (parse_iso8601_basic(bad[i], &t)) fail_msg("accepted \"%s\"", bad[i]);
    }
    assert_false(parse_iso8601_basic(NULL, &t));
}

/* ---- URL encoding ----------------------------------------------------- */

static void test_url_encode(void **st) {
    (void)st;
    kbuf b = KBUF_INIT;
    const char *s = "a b/c~-_.!*'()+=&?%";
    url_encode(&b, s, strlen(s), false);
    assert_string_equal(b.data, "a%20b%2Fc~-_.%21%2A%27%28%29%2B%3D%26%3F%25");
    assert_int_equal(b.len, strlen(b.data));
    kbuf_reset(&b);
    url_encode(&b, s, strlen(s), true);
    assert_string_equal(b.data, "a%20b/c~-_.%21%2A%27%28%29%2B%3D%26%3F%25");

    kbuf_reset(&b);
    const char *all = "ABCXYZabcxyz0189";
    url_encode(&b, all, strlen(all), false);
    assert_string_equal(b.data, all);

    /* UTF-8 bytes each encoded, upper-case hex */
    kbuf_reset(&b);
    url_encode(&b, "\xc3\xa9\xff\x01", 4, true);
    assert_string_equal(b.data, "%C3%A9%FF%01");

    /* embedded NUL and appending after existing content */
    kbuf_reset(&b);
    kbuf_puts(&b, "k=");
    url_encode(&b, "x\0y", 3, false);
    assert_string_equal(b.data, "k=x%00y");
    assert_int_equal(b.len, 7);

    kbuf_reset(&b);
    url_encode(&b, "", 0, false);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    kbuf_free(&b);
}

static void test_url_decode(void **st) {
    (void)st;
    char s[64];
    strcpy(s, "a%20b%2Fc%c3%A9");
    assert_int_equal(url_decode_inplace(s, strlen(s), false), 7);
    assert_string_equal(s, "a b/c\xc3\xa9");

    strcpy(s, "a+b%2B");
    assert_int_equal(url_decode_inplace(s, strlen(s), true), 4);
    assert_string_equal(s, "a b+");
    strcpy(s, "a+b%2B");
    assert_int_equal(url_decode_inplace(s, strlen(s), false), 4);
    assert_string_equal(s, "a+b+");

    strcpy(s, "x%00y");
    assert_int_equal(url_decode_inplace(s, strlen(s), false), 3);
    assert_memory_equal(s, "x\0y\0", 4);

    strcpy(s, "plain");
    assert_int_equal(url_decode_inplace(s, 5, false), 5);
    assert_string_equal(s, "plain");

    strcpy(s, "");
    assert_int_equal(url_decode_inplace(s, 0, false), 0);
    assert_string_equal(s, "");

    /* only the first n bytes count */
    strcpy(s, "ab%41cd");
    assert_int_equal(url_decode_inplace(s, 5, false), 3);
    assert_string_equal(s, "abA");

    const char *bad[] = {"%4", "%zz", "%", "a%", "a%g0", "%0g", "abc%4", "%%41", "% 41"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        strcpy(s, bad[i]);
        if (url_decode_inplace(s, strlen(s), false) != -1) fail_msg("accepted \"%s\"", bad[i]);
    }
    /* truncated escape because n stops early */
    strcpy(s, "ab%41");
    assert_int_equal(url_decode_inplace(s, 4, false), -1);
}

static void test_url_roundtrip(void **st) {
    (void)st;
    char raw[256], dec[800];
    for (int i = 0; i < 256; i++) raw[i] = (char)i;
    kbuf b = KBUF_INIT;
    url_encode(&b, raw, 256, false);
    assert_int_equal(b.len, 66 + 190 * 3); /* 66 unreserved, the rest %XX */
    memcpy(dec, b.data, b.len + 1);
    assert_int_equal(url_decode_inplace(dec, b.len, false), 256);
    assert_memory_equal(dec, raw, 256);
    kbuf_free(&b);
}

/* ---- UTF-8 ------------------------------------------------------------ */

static void test_utf8(void **st) {
    (void)st;
    uint32_t cp = 0;
    assert_int_equal(utf8_next("A", 1, &cp), 1);
    assert_int_equal(cp, 0x41);
    assert_int_equal(utf8_next("\xC3\xA9", 2, &cp), 2);
    assert_int_equal(cp, 0xE9);
    assert_int_equal(utf8_next("\xE6\x97\xA5", 3, &cp), 3);
    assert_int_equal(cp, 0x65E5);
    assert_int_equal(utf8_next("\xF0\x9F\x98\x80", 4, &cp), 4);
    assert_int_equal(cp, 0x1F600);
    assert_int_equal(utf8_next("\xF4\x8F\xBF\xBF", 4, &cp), 4); /* U+10FFFF */
    assert_int_equal(cp, 0x10FFFF);
    assert_int_equal(utf8_next("\xED\x9F\xBF", 3, &cp), 3); /* U+D7FF */
    assert_int_equal(utf8_next("\xEE\x80\x80", 3, &cp), 3); /* U+E000 */
    static const struct {
        const char *s;
        size_t n;
    } bad[] = {
        {"\x80", 1},             /* lone continuation byte */
        {"\xBF", 1},             /* lone continuation byte */
        {"\xFF", 1},             /* never in UTF-8 */
        {"\xFE", 1},             /* never in UTF-8 */
        {"\xC0\xAF", 2},         /* overlong '/' */
        {"\xC1\xBF", 2},         /* overlong */
        {"\xE0\x80\xAF", 3},     /* overlong '/' */
        {"\xE0\x9F\xBF", 3},     /* overlong U+07FF */
        {"\xF0\x80\x80\xAF", 4}, /* overlong '/' */
        {"\xF0\x8F\xBF\xBF", 4}, /* overlong U+FFFF */
        {"\xED\xA0\x80", 3},     /* surrogate U+D800 */
        {"\xED\xBF\xBF", 3},     /* surrogate U+DFFF */
        {"\xF4\x90\x80\x80", 4}, /* U+110000 */
        {"\xF5\x80\x80\x80", 4}, /* lead byte beyond U+10FFFF */
        {"\xC3", 1},             /* truncated */
        {"\xE6\x97", 2},         /* truncated */
        {"\xF0\x9F\x98", 3},     /* truncated */
        {"\xC3\x41", 2},         /* continuation byte missing */
        {"\xE6\x97\x41", 3},     /* continuation byte missing */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (utf8_next(bad[i].s, bad[i].n, &cp)) fail_msg("accepted bad sequence #%zu", i);
        if (utf8_valid(bad[i].s, bad[i].n)) fail_msg("utf8_valid accepted bad sequence #%zu", i);
    }
    assert_true(utf8_valid("", 0));
    assert_true(utf8_valid("plain/key.txt", 13));
    assert_true(utf8_valid("\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E/\xC3\xA9", 12));
    assert_false(utf8_valid("bad\xFF\xFEkey", 8));
    assert_false(utf8_valid("ok\xC3", 3)); /* truncated at the end */
    assert_true(utf8_valid("a\0b", 3));    /* NUL is UTF-8 (not an XML Char) */
}

static void test_xml_text_ok(void **st) {
    (void)st;
    assert_true(xml_text_ok("", 0));
    assert_true(xml_text_ok("tab\there\nand\rthere", strlen("tab\there\nand\rthere")));
    assert_true(
        xml_text_ok("\xC3\xA9\xEF\xBF\xBD\xF4\x8F\xBF\xBF", 9)); /* e-acute, U+FFFD, U+10FFFF */
    assert_false(xml_text_ok("a\x01"
                             "b",
                             3));
    assert_false(xml_text_ok("a\0b", 3));
    assert_false(xml_text_ok("\x1F", 1));
    assert_false(xml_text_ok("\x0B", 1));
    assert_false(xml_text_ok("\xEF\xBF\xBE", 3)); /* U+FFFE */
    assert_false(xml_text_ok("\xEF\xBF\xBF", 3)); /* U+FFFF */
    assert_false(xml_text_ok("bad\xFF", 4));
    assert_true(xml_char_ok(0x7F)); /* DEL is an XML Char */
    assert_true(xml_char_ok(0x85));
    assert_false(xml_char_ok(0xD800));
    assert_false(xml_char_ok(0x110000));
}

/* ---- small parsers ---------------------------------------------------- */

static void test_str_ieq(void **st) {
    (void)st;
    assert_true(str_ieq("Content-Type", 12, "content-type", 12));
    assert_true(str_ieq("ABC", 3, "abc", 3));
    assert_true(str_ieq("", 0, "", 0));
    assert_false(str_ieq("abc", 3, "abd", 3));
    assert_false(str_ieq("abc", 3, "abcd", 4));
    assert_false(str_ieq("abc", 3, "ab", 2));
    assert_false(str_ieq("[", 1, "{", 1)); /* not a blind |0x20 */
    assert_false(str_ieq("@", 1, "`", 1));
    assert_true(str_ieq("\xc3\xa9", 2, "\xc3\xa9", 2));
    assert_false(str_ieq("\xc3\xa9", 2, "\xc3\x89", 2)); /* ASCII only */
}

static void test_parse_u64(void **st) {
    (void)st;
    uint64_t v = 7;
    assert_true(parse_u64("0", 1, &v));
    assert_true(v == 0);
    assert_true(parse_u64("12345", 5, &v));
    assert_true(v == 12345);
    assert_true(parse_u64("007", 3, &v));
    assert_true(v == 7);
    assert_true(parse_u64("18446744073709551615", 20, &v));
    assert_true(v == UINT64_MAX);
    assert_true(parse_u64("123456", 3, &v)); /* only the first n bytes */
    assert_true(v == 123);

    const char *bad[] = {"",
                         "+1",
                         "-1",
                         " 1",
                         "1 ",
                         "1a",
                         "0x10",
                         "1.5",
                         "18446744073709551616",
                         "99999999999999999999",
                         "184467440737095516150"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = 42;
        if (parse_u64(bad[i], strlen(bad[i]), &v)) fail_msg("accepted \"%s\"", bad[i]);
        assert_true(v == 42); /* untouched on failure */
    }
}

static void test_str_trim(void **st) {
    (void)st;
    const char *s = " \t hello world \r\n";
    size_t n = strlen(s);
    const char *r = str_trim(s, &n);
    assert_int_equal(n, 11);
    assert_memory_equal(r, "hello world", 11);
    assert_ptr_equal(r, s + 3);

    n = 3;
    r = str_trim("   ", &n);
    assert_int_equal(n, 0);

    n = 0;
    r = str_trim("", &n);
    assert_int_equal(n, 0);

    s = "abc";
    n = 3;
    assert_ptr_equal(str_trim(s, &n), s);
    assert_int_equal(n, 3);

    s = "  x  y";
    n = 4; /* "  x " */
    r = str_trim(s, &n);
    assert_int_equal(n, 1);
    assert_int_equal(r[0], 'x');
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fmt_http_date),
        cmocka_unit_test(test_fmt_iso8601),
        cmocka_unit_test(test_parse_http_date),
        cmocka_unit_test(test_parse_http_date_invalid),
        cmocka_unit_test(test_http_date_roundtrip),
        cmocka_unit_test(test_parse_iso8601_basic),
        cmocka_unit_test(test_url_encode),
        cmocka_unit_test(test_url_decode),
        cmocka_unit_test(test_url_roundtrip),
        cmocka_unit_test(test_str_ieq),
        cmocka_unit_test(test_parse_u64),
        cmocka_unit_test(test_str_trim),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_xml_text_ok),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
