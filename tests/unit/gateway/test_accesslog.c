/* SPDX-License-Identifier: Apache-2.0 */
/* The access log's line format (gateway/accesslog.h): every line is one
 * valid JSON object whatever bytes a request carried, with the fields in
 * order, strings round-tripping when they are valid UTF-8 and invalid bytes
 * as U+FFFD. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/arena.h"
#include "common/json.h"
#include "common/text.h"
#include "gateway/accesslog.h"

static const char *const fields[] = {
    "time", "request_id", "remote", "principal", "protocol",  "op",          "method",    "bucket",
    "key",  "status",     "error",  "bytes_in",  "bytes_out", "duration_ms", "user_agent"};

static const json *parse_line(arena *a, const kbuf *b) {
    assert_true(b->len > 0 && b->data[b->len - 1] == '\n');
    assert_null(memchr(b->data, '\n', b->len - 1)); /* one line */
    const char *err = NULL;
    json *j = json_parse(a, b->data, b->len - 1, &err);
    if (!j) fail_msg("not JSON (%s): %.*s", err, (int)b->len, b->data);
    assert_int_equal(j->type, JSON_OBJECT);
    assert_int_equal(j->n, sizeof fields / sizeof *fields);
    for (size_t i = 0; i < j->n; i++) assert_string_equal(j->keys[i], fields[i]);
    return j;
}

static void test_known_entry(void **state) {
    (void)state;
    accesslog_entry e = {.time_ms = INT64_C(1796655845123),
                         .request_id = "ABCDEF0123456789",
                         .remote = "127.0.0.1",
                         .principal = "acct:user",
                         .protocol = "swift",
                         .op = "ObjectGet",
                         .method = "GET",
                         .bucket = "box",
                         .key = "a\"b\\c\x01",
                         .key_len = 7,
                         .status = 200,
                         .bytes_in = 0,
                         .bytes_out = 1234,
                         .duration_ns = 1500000,
                         .user_agent = "ua/1"};
    kbuf b = KBUF_INIT;
    accesslog_format(&b, &e);
    arena *a = arena_new(0);
    const json *j = parse_line(a, &b);
    assert_string_equal(json_get(j, "time")->s, "2026-12-07T15:04:05.123Z");
    const json *k = json_get(j, "key");
    assert_int_equal(k->len, 7);
    assert_memory_equal(k->s, "a\"b\\c\x01", 7);
    assert_int_equal(json_get(j, "error")->type, JSON_NULL);
    uint64_t v;
    assert_true(json_u64(json_get(j, "bytes_out"), &v));
    assert_int_equal(v, 1234);
    assert_string_equal(json_get(j, "duration_ms")->s, "1.500");
    arena_free(a);
    kbuf_free(&b);
}

/* Random bytes in every string field: always one valid JSON line; a key
 * that is valid UTF-8 comes back byte for byte. */
static void test_random_bytes(void **state) {
    (void)state;
    uint64_t s = 42;
    for (int round = 0; round < 20000; round++) {
        char key[64], ua[16];
        size_t n = (size_t)(round % 64);
        for (size_t i = 0; i < n; i++) {
            s = s * 6364136223846793005u + 1442695040888963407u;
            /* mostly ASCII and UTF-8 lead/continuation bytes, some controls */
            uint8_t x = (uint8_t)(s >> 56);
            key[i] = (char)(round % 3 == 0 ? x : (x % 3 == 0 ? 0xc3 : x % 3 == 1 ? 0xa9 : x));
        }
        for (size_t i = 0; i < sizeof ua - 1; i++) ua[i] = (char)(1 + (s >> (i * 3)) % 255);
        ua[sizeof ua - 1] = 0;
        accesslog_entry e = {.time_ms = 0,
                             .request_id = "R",
                             .protocol = "s3",
                             .op = "PutObject",
                             .method = "PUT",
                             .bucket = "b",
                             .key = key,
                             .key_len = n,
                             .status = 200,
                             .user_agent = ua};
        kbuf b = KBUF_INIT;
        accesslog_format(&b, &e);
        arena *a = arena_new(0);
        const json *j = parse_line(a, &b);
        const json *k = json_get(j, "key");
        assert_int_equal(k->type, JSON_STRING);
        if (utf8_valid(key, n)) {
            assert_int_equal(k->len, n);
            assert_memory_equal(k->s, key, n);
        }
        arena_free(a);
        kbuf_free(&b);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_entry),
        cmocka_unit_test(test_random_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
