/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/buf.h"

/* ---- arena ------------------------------------------------------------ */

static void test_arena_alignment(void **st) {
    (void)st;
    arena *a = arena_new(0);
    for (size_t n = 0; n < 300; n++) {
        unsigned char *p = arena_alloc(a, n);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        memset(p, 0xA5, n); /* must be writable in full (ASan checks) */
    }
    arena_free(a);
}

static void test_arena_distinct(void **st) {
    (void)st;
    arena *a = arena_new(64);
    char *p[200];
    for (int i = 0; i < 200; i++) {
        p[i] = arena_alloc(a, 24);
        memset(p[i], i, 24);
    }
    for (int i = 0; i < 200; i++) {
        for (int j = 0; j < 24; j++) assert_int_equal((unsigned char)p[i][j], i);
    }
    arena_free(a);
}

static void test_arena_large(void **st) {
    (void)st;
    arena *a = arena_new(0);
    char *small = arena_strdup(a, "before");
    size_t big = 10u << 20;
    unsigned char *p = arena_alloc(a, big);
    assert_int_equal((uintptr_t)p % 16, 0);
    memset(p, 0x5A, big);
    assert_int_equal(p[0], 0x5A);
    assert_int_equal(p[big - 1], 0x5A);
    char *after = arena_strdup(a, "after");
    assert_int_equal((uintptr_t)after % 16, 0);
    assert_string_equal(small, "before");
    assert_string_equal(after, "after");
    arena_free(a);
}

static void test_arena_reset(void **st) {
    (void)st;
    arena *a = arena_new(256);
    char *first = arena_alloc(a, 32);
    for (int i = 0; i < 100; i++) arena_alloc(a, 1000); /* forces extra blocks */
    arena_reset(a);
    char *again = arena_alloc(a, 32);
    assert_ptr_equal(again, first); /* first block kept and reused */
    char *s = arena_printf(a, "%s-%d", "x", 5);
    assert_string_equal(s, "x-5");
    arena_reset(a);
    arena_reset(a); /* idempotent */
    assert_ptr_equal(arena_alloc(a, 1), first);
    arena_free(a);
    arena_free(NULL);
}

static void test_arena_helpers(void **st) {
    (void)st;
    arena *a = arena_new(0);
    unsigned char *z = arena_zalloc(a, 100);
    for (int i = 0; i < 100; i++) assert_int_equal(z[i], 0);

    char *d = arena_strndup(a, "hello world", 5);
    assert_string_equal(d, "hello");
    char *e = arena_strndup(a, "", 0);
    assert_string_equal(e, "");
    char *m = arena_memdup(a, "a\0b", 3);
    assert_memory_equal(m, "a\0b", 3);
    assert_non_null(arena_memdup(a, NULL, 0));

    char *p = arena_printf(a, "%d/%s/%05.1f/%x", 42, "abc", 3.14159, 255u);
    assert_string_equal(p, "42/abc/003.1/ff");
    /* printf longer than the current block */
    char *longs = arena_printf(a, "%0*d", 9000, 7);
    assert_int_equal(strlen(longs), 9000);
    assert_int_equal(longs[0], '0');
    assert_int_equal(longs[8999], '7');
    assert_string_equal(arena_printf(a, "%s", ""), "");
    arena_free(a);
}

/* ---- kbuf ------------------------------------------------------------- */

static void test_kbuf_append(void **st) {
    (void)st;
    kbuf b = KBUF_INIT;
    kbuf_append(&b, "abc", 3);
    assert_int_equal(b.len, 3);
    assert_string_equal(b.data, "abc");
    kbuf_putc(&b, '-');
    kbuf_puts(&b, "def");
    assert_int_equal(b.len, 7);
    assert_string_equal(b.data, "abc-def");
    kbuf_append(&b, "x\0y", 3);
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.data, "abc-defx\0y", 11); /* NUL-terminated too */

    /* growth over many appends keeps content */
    kbuf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    for (int i = 0; i < 10000; i++) kbuf_putc(&b, (char)('a' + i % 26));
    assert_int_equal(b.len, 10000);
    assert_true(b.cap > b.len);
    for (int i = 0; i < 10000; i++) assert_int_equal(b.data[i], 'a' + i % 26);
    assert_int_equal(b.data[10000], 0);

    size_t cap = b.cap;
    kbuf_reset(&b);
    assert_int_equal(b.cap, cap); /* capacity kept */
    kbuf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
}

static void test_kbuf_printf(void **st) {
    (void)st;
    kbuf b;
    kbuf_init(&b);
    kbuf_printf(&b, "%s=%d", "n", 12);
    kbuf_printf(&b, ";%llu", 18446744073709551615ull);
    assert_string_equal(b.data, "n=12;18446744073709551615");
    assert_int_equal(b.len, strlen("n=12;18446744073709551615"));
    kbuf_printf(&b, "%s", ""); /* empty output leaves it alone */
    assert_int_equal(b.len, 25);
    kbuf_reset(&b);
    kbuf_printf(&b, "%0*d", 5000, 1);
    assert_int_equal(b.len, 5000);
    assert_int_equal(b.data[4999], '1');
    assert_int_equal(b.data[5000], 0);
    kbuf_free(&b);
}

static void test_kbuf_steal(void **st) {
    (void)st;
    kbuf b = KBUF_INIT;
    kbuf_puts(&b, "owned");
    size_t len = 0;
    char *s = kbuf_steal(&b, &len);
    assert_int_equal(len, 5);
    assert_string_equal(s, "owned");
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    free(s);

    s = kbuf_steal(&b, &len); /* empty buffer still yields a string */
    assert_int_equal(len, 0);
    assert_string_equal(s, "");
    free(s);
}

static void test_kbuf_xml_escape(void **st) {
    (void)st;
    kbuf b = KBUF_INIT;
    const char *s = "<a href=\"x\">&'</a>";
    kbuf_xml_escape(&b, s, strlen(s));
    assert_string_equal(b.data, "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;");

    kbuf_reset(&b);
    kbuf_xml_escape(&b, "plain text/é", strlen("plain text/é"));
    assert_string_equal(b.data, "plain text/é");

    kbuf_reset(&b);
    /* XML 1.0 cannot carry C0 controls other than tab/LF/CR, not even as
     * &#x1;: they become U+FFFD so the document stays well-formed */
    kbuf_xml_escape(&b,
                    "a\tb\nc\rd\x01"
                    "e\x1f",
                    10);
    assert_string_equal(b.data, "a\tb\nc&#13;d\xEF\xBF\xBD"
                                "e\xEF\xBF\xBD");

    kbuf_reset(&b);
    kbuf_xml_escape(&b, "x\0y", 3);
    assert_string_equal(b.data, "x\xEF\xBF\xBDy");

    /* bytes that are not UTF-8: one U+FFFD each; valid multi-byte text kept */
    kbuf_reset(&b);
    kbuf_xml_escape(&b, "bad\xFF\xFEkey \xC3\xA9 \xE6\x97\xA5 \xF0\x9F\x98\x80", 20);
    assert_string_equal(b.data, "bad\xEF\xBF\xBD\xEF\xBF\xBDkey \xC3\xA9 \xE6\x97\xA5 "
                                "\xF0\x9F\x98\x80");
    /* overlong '/', a surrogate, a truncated sequence, U+FFFE */
    kbuf_reset(&b);
    const char odd[] = "\xC0\xAF|\xED\xA0\x80|\xE6\x97|\xEF\xBF\xBE";
    kbuf_xml_escape(&b, odd, sizeof odd - 1);
    assert_string_equal(b.data, "\xEF\xBF\xBD\xEF\xBF\xBD|"
                                "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD|"
                                "\xEF\xBF\xBD\xEF\xBF\xBD|\xEF\xBF\xBD");

    kbuf_reset(&b);
    kbuf_puts(&b, "<Key>");
    kbuf_xml_escape(&b, "a&b", 3);
    kbuf_puts(&b, "</Key>");
    assert_string_equal(b.data, "<Key>a&amp;b</Key>");

    kbuf_reset(&b);
    kbuf_xml_escape(&b, "", 0);
    assert_int_equal(b.len, 0);
    kbuf_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena_alignment), cmocka_unit_test(test_arena_distinct),
        cmocka_unit_test(test_arena_large),     cmocka_unit_test(test_arena_reset),
        cmocka_unit_test(test_arena_helpers),   cmocka_unit_test(test_kbuf_append),
        cmocka_unit_test(test_kbuf_printf),     cmocka_unit_test(test_kbuf_steal),
        cmocka_unit_test(test_kbuf_xml_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
