/* SPDX-License-Identifier: Apache-2.0 */
/* The strict JSON parser (common/json.h): the tree of valid documents
 * (every type, nesting, member order, repeated names, decoded escapes down
 * to the UTF-8 bytes), what RFC 8259 refuses (and the depth limit), exact
 * 64-bit integers, and the reason given on failure. Inputs are parsed from
 * exactly-sized heap copies, so that AddressSanitizer catches a read past
 * the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/arena.h"
#include "common/json.h"

static int setup(void **state) {
    *state = arena_new(0);
    return 0;
}

static int teardown(void **state) {
    arena_free(*state);
    return 0;
}

/* Parses the n bytes of text from an exactly-sized copy. */
static json *parse_n(arena *a, const char *text, size_t n, const char **err) {
    char *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, text, n);
    json *v = json_parse(a, n ? copy : copy + 1, n, err);
    free(copy);
    return v;
}

static json *parse(arena *a, const char *text) {
    const char *err = NULL;
    json *v = parse_n(a, text, strlen(text), &err);
    if (!v) fail_msg("'%s' refused: %s", text, err ? err : "(no reason)");
    assert_null(err);
    return v;
}

static void refused_n(arena *a, const char *text, size_t n) {
    const char *err = NULL;
    json *v = parse_n(a, text, n, &err);
    if (v) fail_msg("'%.*s' (%zu bytes) accepted", (int)n, text, n);
    assert_non_null(err);
    assert_true(strlen(err) > 0);
}

static void refused(arena *a, const char *text) {
    refused_n(a, text, strlen(text));
}

static void assert_str(const json *v, const char *want, size_t wlen) {
    assert_non_null(v);
    assert_int_equal(v->type, JSON_STRING);
    assert_int_equal(v->len, wlen);
    assert_memory_equal(v->s, want, wlen);
    assert_int_equal(v->s[wlen], 0);
}

static const char doc[] =
    " {\"a\" : [1, -2.5e+3, \"x\", true, false, null, {}, [], {\"b\": [[0]]}],\n"
    "\t\"s\":\"caf\\u00e9\", \"n\": -0, \"e\":1E2 , \"o\":{\"k\":\"v\"}}\r\n";

static void valid_document(void **state) {
    arena *a = *state;
    json *v = parse(a, doc);
    assert_int_equal(v->type, JSON_OBJECT);
    assert_int_equal(v->n, 5);
    /* members in document order, names decoded */
    const char *names[] = {"a", "s", "n", "e", "o"};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(v->klens[i], 1);
        assert_string_equal(v->keys[i], names[i]);
        assert_ptr_equal(json_get(v, names[i]), v->items[i]);
    }
    const json *arr = json_get(v, "a");
    assert_int_equal(arr->type, JSON_ARRAY);
    assert_int_equal(arr->n, 9);
    assert_int_equal(arr->items[0]->type, JSON_NUMBER);
    assert_string_equal(arr->items[0]->s, "1");
    assert_int_equal(arr->items[0]->len, 1);
    assert_int_equal(arr->items[1]->type, JSON_NUMBER);
    assert_string_equal(arr->items[1]->s, "-2.5e+3"); /* the literal kept */
    assert_int_equal(arr->items[1]->len, 7);
    assert_str(arr->items[2], "x", 1);
    assert_int_equal(arr->items[3]->type, JSON_TRUE);
    assert_int_equal(arr->items[4]->type, JSON_FALSE);
    assert_int_equal(arr->items[5]->type, JSON_NULL);
    assert_int_equal(arr->items[6]->type, JSON_OBJECT);
    assert_int_equal(arr->items[6]->n, 0);
    assert_int_equal(arr->items[7]->type, JSON_ARRAY);
    assert_int_equal(arr->items[7]->n, 0);
    const json *b = json_get(arr->items[8], "b");
    assert_non_null(b);
    assert_int_equal(b->type, JSON_ARRAY);
    assert_int_equal(b->n, 1);
    assert_int_equal(b->items[0]->type, JSON_ARRAY);
    assert_int_equal(b->items[0]->n, 1);
    assert_string_equal(b->items[0]->items[0]->s, "0");
    assert_str(json_get(v, "s"), "caf\xc3\xa9", 5);
    assert_string_equal(json_get(v, "n")->s, "-0");
    assert_string_equal(json_get(v, "e")->s, "1E2");
    assert_str(json_get(json_get(v, "o"), "k"), "v", 1);
    /* absent names, and lookups on what is not an object */
    assert_null(json_get(v, "b"));
    assert_null(json_get(v, ""));
    assert_null(json_get(arr, "a"));
    assert_null(json_get(NULL, "a"));
    assert_null(json_get(json_get(v, "s"), "s"));
}

/* Scalars are documents too, with whitespace around them. */
static void scalar_documents(void **state) {
    arena *a = *state;
    assert_int_equal(parse(a, "true")->type, JSON_TRUE);
    assert_int_equal(parse(a, " false ")->type, JSON_FALSE);
    assert_int_equal(parse(a, "\nnull\t")->type, JSON_NULL);
    assert_string_equal(parse(a, "0")->s, "0");
    assert_string_equal(parse(a, "-0.0e-0")->s, "-0.0e-0");
    assert_str(parse(a, "\"\""), "", 0);
}

static void repeated_names_last_wins(void **state) {
    arena *a = *state;
    json *v = parse(a, "{\"k\":1,\"other\":2,\"k\":3,\"k\":\"last\"}");
    assert_int_equal(v->n, 4); /* every member is kept, in order */
    assert_string_equal(v->items[0]->s, "1");
    assert_string_equal(v->items[2]->s, "3");
    assert_str(json_get(v, "k"), "last", 4);
    assert_string_equal(json_get(v, "other")->s, "2");
}

static void escapes_decode_to_utf8(void **state) {
    arena *a = *state;
    assert_str(parse(a, "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\""), "\"\\/\b\f\n\r\t", 8);
    assert_str(parse(a, "\"\\u00e9\""), "\xc3\xa9", 2);
    assert_str(parse(a, "\"\\u00E9\""), "\xc3\xa9", 2);
    assert_str(parse(a, "\"\\u0041\\u07ff\\u0800\\uffff\""), "A\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf",
               9);
    /* U+1F600 as a surrogate pair: 4 bytes of UTF-8 */
    assert_str(parse(a, "\"\\ud83d\\ude00\""), "\xf0\x9f\x98\x80", 4);
    assert_str(parse(a, "\"\\uDBFF\\uDFFF\""), "\xf4\x8f\xbf\xbf", 4);
    /* raw UTF-8 passes through as is */
    assert_str(parse(a, "\"\xf0\x9f\x98\x80 \xe2\x82\xac\""), "\xf0\x9f\x98\x80 \xe2\x82\xac", 8);
    /* an escaped NUL is kept: len tells where the string ends */
    json *v = parse(a, "{\"a\\u0000b\":\"x\\u0000y\"}");
    assert_int_equal(v->klens[0], 3);
    assert_memory_equal(v->keys[0], "a\0b", 4);
    assert_str(v->items[0], "x\0y", 3);
    /* a name with a NUL is not the name before it */
    assert_null(json_get(v, "a"));
}

static void invalid_documents(void **state) {
    arena *a = *state;
    const char *bad[] = {"", " ", "[1,]", "{\"a\":1,}", "[,1]", "{,}", "01", "[01]", "-01", "00",
                         "1.", ".5", "-", "+1", "1e", "1e+", "0x10", "1.5.2", "NaN", "Infinity",
                         "tru", "nul", "True", "[1 2]", "{\"a\" 1}", "{\"a\":}", "{a:1}", "{1:2}",
                         "{\"a\":1 \"b\":2}", "'x'", "[", "]", "{", "}", "[1]]", "{}}", "1 2",
                         "[] x", "\"abc", "\"\\\"", "\"\\", "[\"a\\", "\"\\x\"", "\"\\u12\"",
                         "\"\\u12g4\"", "\"\\U0041\"",
                         /* lone and misordered surrogates */
                         "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800x\"", "\"\\ud800\\u0041\"",
                         "\"\\ude00\\ud83d\"", "\"\\ud800\\ud800\"",
                         /* control characters must be escaped */
                         "\"a\tb\"", "\"a\nb\"", "\"\x1f\"", "{\"k\x01\":1}",
                         /* invalid UTF-8: stray continuation, overlong, surrogate, beyond
                          * U+10FFFF, truncated sequence, 0xFF */
                         "\"\x80\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"",
                         "\"\xe2\x82\"", "\"\xff\"", "[\"ok\",\"\xc3\"]",
                         /* whitespace JSON does not know */
                         "\v1", "1\f",
                         "\xc2\xa0"
                         "1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) refused(a, bad[i]);
    /* a NUL byte in the input is neither whitespace nor string text */
    refused_n(a, "1\0", 2);
    refused_n(a, "\"a\0b\"", 5);
    refused_n(a, "\0", 1);
}

/* Exactly JSON_MAX_DEPTH nested containers are accepted, one more refused. */
static void depth_limit(void **state) {
    arena *a = *state;
    for (int obj = 0; obj < 2; obj++) {
        for (int depth = JSON_MAX_DEPTH - 1; depth <= JSON_MAX_DEPTH + 1; depth++) {
            char text[1024];
            size_t n = 0;
            for (int i = 0; i < depth; i++) n += (size_t)sprintf(text + n, obj ? "{\"k\":" : "[");
            n += (size_t)sprintf(text + n, "1");
            for (int i = 0; i < depth; i++) text[n++] = obj ? '}' : ']';
            text[n] = 0;
            const char *err = NULL;
            json *v = parse_n(a, text, n, &err);
            if (depth <= JSON_MAX_DEPTH) {
                assert_non_null(v);
                /* walk down to the innermost value */
                const json *c = v;
                for (int i = 0; i < depth; i++) {
                    assert_int_equal(c->type, obj ? JSON_OBJECT : JSON_ARRAY);
                    assert_int_equal(c->n, 1);
                    c = c->items[0];
                }
                assert_int_equal(c->type, JSON_NUMBER);
            } else {
                assert_null(v);
                assert_non_null(err);
                assert_non_null(strstr(err, "deep"));
            }
        }
    }
}

/* No proper prefix of a valid document is one. */
static void truncations_refused(void **state) {
    arena *a = *state;
    const char *docs[] = {doc, "[\"\\ud83d\\ude00\", \"\xc3\xa9\", 123, -4.5e-6, true, null]",
                          "{\"x\":{\"y\":[false]}}"};
    for (size_t d = 0; d < sizeof docs / sizeof *docs; d++) {
        size_t n = strlen(docs[d]);
        /* the trailing whitespace of doc may go: cut it first */
        while (n && strchr(" \t\r\n", docs[d][n - 1])) n--;
        assert_non_null(parse_n(a, docs[d], n, NULL));
        for (size_t k = 0; k < n; k++) refused_n(a, docs[d], k);
    }
}

static void u64_exact(void **state) {
    arena *a = *state;
    uint64_t x = 42;
    assert_true(json_u64(parse(a, "0"), &x));
    assert_true(x == 0);
    assert_true(json_u64(parse(a, "18446744073709551615"), &x));
    assert_true(x == UINT64_MAX);
    assert_true(json_u64(parse(a, "5368709120"), &x));
    assert_true(x == 5368709120ull);
    const char *no[] = {"18446744073709551616",
                        "99999999999999999999",
                        "-1",
                        "1.0",
                        "1e3",
                        "1E3",
                        "0.5",
                        "\"1\"",
                        "true",
                        "null",
                        "[1]"};
    for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
        x = 7;
        if (json_u64(parse(a, no[i]), &x)) fail_msg("json_u64 took %s", no[i]);
        assert_true(x == 7); /* out untouched */
    }
    assert_false(json_u64(NULL, &x));
}

/* The reason says what and where. */
static void error_messages(void **state) {
    arena *a = *state;
    const char *err = NULL;
    assert_null(parse_n(a, "[1,]", 4, &err));
    assert_non_null(err);
    assert_non_null(strstr(err, "at byte 3"));
    err = NULL;
    assert_null(parse_n(a, "\"\\ud800\"", 8, &err));
    assert_non_null(strstr(err, "surrogate"));
    err = NULL;
    assert_null(parse_n(a, "{} x", 4, &err));
    assert_non_null(strstr(err, "trailing data"));
    assert_non_null(strstr(err, "at byte 3"));
    err = NULL;
    assert_null(parse_n(a, "\"\xff\"", 3, &err));
    assert_non_null(strstr(err, "UTF-8"));
    err = NULL;
    assert_null(parse_n(a, "", 0, &err));
    assert_non_null(err);
    /* err may be NULL */
    assert_null(parse_n(a, "[", 1, NULL));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(valid_document, setup, teardown),
        cmocka_unit_test_setup_teardown(scalar_documents, setup, teardown),
        cmocka_unit_test_setup_teardown(repeated_names_last_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(escapes_decode_to_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(invalid_documents, setup, teardown),
        cmocka_unit_test_setup_teardown(depth_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(truncations_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(u64_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(error_messages, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
