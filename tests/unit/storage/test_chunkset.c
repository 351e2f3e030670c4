/* SPDX-License-Identifier: Apache-2.0 */
/* The chunkset record codec (storage/chunkset.h): round trips, and records
 * that are damaged or from a newer format are refused, never guessed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "storage/chunkset.h"

static void test_roundtrip(void **state) {
    (void)state;
    cs_info c = {.id = 0x0123456789abcdefu, .sealed = false, .created_ms = 1765000000123, .n = 3};
    c.m[0] = (cs_member){.uid = 0xfeedface00000001u, .chunk = 0};
    c.m[1] = (cs_member){.uid = 0x1u, .chunk = 4000000};
    c.m[2] = (cs_member){.uid = UINT64_MAX, .chunk = 17};
    for (int sealed = 0; sealed < 2; sealed++) {
        c.sealed = sealed;
        kbuf b = KBUF_INIT;
        cs_encode(&c, &b);
        cs_info back;
        assert_int_equal(cs_decode(b.data, b.len, &back), K_OK);
        assert_true(back.id == c.id && back.sealed == c.sealed && back.n == 3 &&
                    back.created_ms == c.created_ms);
        for (int i = 0; i < 3; i++)
            assert_true(back.m[i].uid == c.m[i].uid && back.m[i].chunk == c.m[i].chunk);
        /* every truncation before the first member is refused */
        const char *first = strstr(b.data, "member");
        for (size_t cut = 0; cut < (size_t)(first - b.data); cut++)
            assert_int_not_equal(cs_decode(b.data, cut, &back), K_OK);
        kbuf_free(&b);
    }
}

static void test_refusals(void **state) {
    (void)state;
    cs_info c;
    const char *bad[] = {
        "",                                                          /* empty */
        "kura chunkset 2\nid 1\nstate open\nmember 1 0\n",           /* newer format */
        "kura chunkset 1\nid 0\nstate open\nmember 1 0\n",           /* id 0 */
        "kura chunkset 1\nid 1\nstate half\nmember 1 0\n",           /* unknown state */
        "kura chunkset 1\nid 1\nstate open\n",                       /* no member */
        "kura chunkset 1\nid 1\nstate open\nmember 0 0\n",           /* volume 0 */
        "kura chunkset 1\nid 1\nstate open\nmember 1 4294967296\n",  /* chunk > 32 bits */
        "kura chunkset 1\nid 1\nstate open\nmember 1 0\nweight 3\n", /* unknown line */
        "kura chunkset 1\nid 1\nstate open\nmember 1 0\nmember 2 0\nmember 3 0\nmember 4 0\n"
        "member 5 0\nmember 6 0\nmember 7 0\nmember 8 0\nmember 9 0\nmember 10 0\n"
        "member 11 0\nmember 12 0\nmember 13 0\nmember 14 0\nmember 15 0\nmember 16 0\n"
        "member 17 0\n",                                                       /* too many */
        "kura chunkset 1\nid 1\nstate open\ncode 2\nmember 1 0\nmember 2 0\n", /* k >= n */
        "kura chunkset 1\nid 1\nstate open\ncode 0\nmember 1 0\nmember 2 0\n", /* k 0 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_not_equal(cs_decode(bad[i], strlen(bad[i]), &c), K_OK);
    const char *ok = "kura chunkset 1\nid a\nstate sealed\nmember b 2\n";
    assert_int_equal(cs_decode(ok, strlen(ok), &c), K_OK);
    assert_true(c.id == 10 && c.sealed && c.n == 1 && c.m[0].uid == 11 && c.m[0].chunk == 2 &&
                c.k == 0);
    /* a stripeset RS(2,1) round trip */
    cs_info st = {.id = 7, .k = 2, .n = 3};
    for (uint32_t i = 0; i < 3; i++) st.m[i] = (cs_member){.uid = 100 + i, .chunk = i};
    kbuf b = KBUF_INIT;
    cs_encode(&st, &b);
    assert_non_null(strstr(b.data, "code 2\n"));
    assert_int_equal(cs_decode(b.data, b.len, &c), K_OK);
    assert_true(c.k == 2 && c.n == 3 && c.m[2].uid == 102);
    kbuf_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
