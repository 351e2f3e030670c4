/* SPDX-License-Identifier: Apache-2.0 */
/* aws-chunked decoder: the AWS SigV4 streaming example, signed and unsigned
 * trailers (signatures computed here independently), framing errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/hash.h"
#include "gateway/auth.h"
#include "gateway/awschunked.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SEED "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"

typedef struct collected {
    kbuf data;
    int fail_after; /* sink returns K_EIO once this many bytes passed; <0 never */
} collected;

static kerr collect(void *ctx, const void *p, size_t n) {
    collected *c = ctx;
    if (c->fail_after >= 0 && c->data.len + n > (size_t)c->fail_after) return K_EIO;
    kbuf_append(&c->data, p, n);
    return K_OK;
}

static auth_result streaming_auth(payload_mode mode) {
    auth_result r;
    memset(&r, 0, sizeof r);
    r.kind = AUTH_V4_HEADER;
    r.payload = mode;
    sigv4_signing_key(SECRET, "20130524", "us-east-1", "s3", r.signing_key);
    strcpy(r.seed_signature, SEED);
    strcpy(r.amz_date, "20130524T000000Z");
    strcpy(r.scope, "20130524/us-east-1/s3/aws4_request");
    return r;
}

/* The body of the AWS "PUT Object, signed in chunks" example. */
static void aws_example_body(kbuf *b) {
    char a[65536];
    memset(a, 'a', sizeof a);
    kbuf_puts(b, "10000;chunk-signature="
                 "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n");
    kbuf_append(b, a, 65536);
    kbuf_puts(b, "\r\n400;chunk-signature="
                 "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n");
    kbuf_append(b, a, 1024);
    kbuf_puts(b, "\r\n0;chunk-signature="
                 "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n");
}

typedef struct run_result {
    kerr feed, finish;
    uint64_t decoded;
} run_result;

/* Feeds body in pieces of `step` bytes (0 = whole). */
static run_result run(arena *a, const auth_result *auth, const char *body, size_t n, size_t step,
                      collected *out) {
    awschunked *d = awschunked_new(a, auth);
    run_result rr = {K_OK, K_OK, 0};
    if (!step) step = n ? n : 1;
    for (size_t at = 0; at < n && rr.feed == K_OK; at += step) {
        size_t k = n - at < step ? n - at : step;
        rr.feed = awschunked_feed(d, body + at, k, collect, out);
    }
    rr.finish = awschunked_finish(d);
    rr.decoded = awschunked_decoded_bytes(d);
    return rr;
}

static int setup(void **state) {
    *state = arena_new(0);
    return 0;
}

static int teardown(void **state) {
    arena_free(*state);
    return 0;
}

static void check_all_a(const kbuf *b, size_t n) {
    assert_int_equal(b->len, n);
    for (size_t i = 0; i < n; i++)
        if (b->data[i] != 'a') fail_msg("byte %zu", i);
}

static void test_aws_example_whole_and_bytewise(void **state) {
    auth_result auth = streaming_auth(PAYLOAD_STREAMING_SIGNED);
    kbuf body = KBUF_INIT;
    aws_example_body(&body);
    size_t steps[] = {0, 1, 7, 4096, 65536 + 87};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        collected c = {KBUF_INIT, -1};
        run_result rr = run(*state, &auth, body.data, body.len, steps[i], &c);
        assert_int_equal(rr.feed, K_OK);
        assert_int_equal(rr.finish, K_OK);
        assert_int_equal(rr.decoded, 66560);
        check_all_a(&c.data, 66560);
        kbuf_free(&c.data);
    }
    kbuf_free(&body);
}

static void test_aws_example_tampered(void **state) {
    auth_result auth = streaming_auth(PAYLOAD_STREAMING_SIGNED);
    kbuf body = KBUF_INIT;
    aws_example_body(&body);
    size_t first_data = strlen("10000;chunk-signature=") + 64 + 2;
    size_t second_data = first_data + 65536 + 2 + strlen("400;chunk-signature=") + 64 + 2;
    size_t positions[] = {first_data, first_data + 40000, second_data + 1023};
    for (size_t i = 0; i < sizeof positions / sizeof positions[0]; i++) {
        body.data[positions[i]] = 'b';
        collected c = {KBUF_INIT, -1};
        run_result rr = run(*state, &auth, body.data, body.len, 1, &c);
        assert_int_equal(rr.feed, K_ESIGNATURE);
        assert_int_equal(rr.finish, K_ESIGNATURE); /* sticky */
        body.data[positions[i]] = 'a';
        kbuf_free(&c.data);
    }
    /* A changed signature, and a wrong seed. */
    body.data[strlen("10000;chunk-signature=") + 5] ^= 1;
    collected c = {KBUF_INIT, -1};
    assert_int_equal(run(*state, &auth, body.data, body.len, 0, &c).feed, K_ESIGNATURE);
    body.data[strlen("10000;chunk-signature=") + 5] ^= 1;
    auth.seed_signature[0] = auth.seed_signature[0] == '4' ? '5' : '4';
    c.data.len = 0;
    assert_int_equal(run(*state, &auth, body.data, body.len, 0, &c).feed, K_ESIGNATURE);
    kbuf_free(&c.data);
    kbuf_free(&body);
}

static void test_aws_example_truncated(void **state) {
    auth_result auth = streaming_auth(PAYLOAD_STREAMING_SIGNED);
    kbuf body = KBUF_INIT;
    aws_example_body(&body);
    size_t cuts[] = {0, 1, 30, 100, 65536, body.len - 70, body.len - 3, body.len - 2, body.len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        collected c = {KBUF_INIT, -1};
        run_result rr = run(*state, &auth, body.data, cuts[i], 0, &c);
        assert_int_equal(rr.feed, K_OK);
        assert_int_equal(rr.finish, K_EINCOMPLETEBODY);
        kbuf_free(&c.data);
    }
    kbuf_free(&body);
}

static void test_signed_mode_rejects_trailers_and_missing_signature(void **state) {
    auth_result auth = streaming_auth(PAYLOAD_STREAMING_SIGNED);
    collected c = {KBUF_INIT, -1};
    const char *no_sig = "5\r\nhello\r\n0\r\n\r\n";
    assert_int_equal(run(*state, &auth, no_sig, strlen(no_sig), 0, &c).feed, K_ESIGNATURE);
    kbuf_free(&c.data);
}

static void test_unsigned_trailer(void **state) {
    auth_result auth = streaming_auth(PAYLOAD_STREAMING_UNSIGNED_TRAILER);
    uint8_t crc[4];
    uint32_t v = crc32_update(0, "hello world", 11);
    crc[0] = (uint8_t)(v >> 24), crc[1] = (uint8_t)(v >> 16), crc[2] = (uint8_t)(v >> 8),
    crc[3] = (uint8_t)v;
    char b64[16];
    base64_encode(crc, 4, b64);

    const char *endings[] = {"\r\n", "\n"};
    for (size_t e = 0; e < 2; e++) {
        kbuf body = KBUF_INIT;
        kbuf_printf(&body, "6;ext=1\r\nhello \r\n5\r\nworld\r\n0\r\nX-Amz-Checksum-CRC32:%s%s%s",
                    b64, endings[e], endings[e]);
        for (size_t step = 0; step <= 1; step++) {
            collected c = {KBUF_INIT, -1};
            awschunked *d = awschunked_new(*state, &auth);
            kerr fe = K_OK;
            if (step == 0) {
                fe = awschunked_feed(d, body.data, body.len, collect, &c);
            } else {
                for (size_t i = 0; i < body.len && fe == K_OK; i++)
                    fe = awschunked_feed(d, body.data + i, 1, collect, &c);
            }
            assert_int_equal(fe, K_OK);
            assert_int_equal(awschunked_finish(d), K_OK);
            assert_int_equal(c.data.len, 11);
            assert_memory_equal(c.data.data, "hello world", 11);
            size_t n;
            const http_header *t = awschunked_trailers(d, &n);
            assert_int_equal(n, 1);
            assert_string_equal(t[0].name, "x-amz-checksum-crc32");
            assert_string_equal(t[0].value, b64);
            kbuf_free(&c.data);
        }
        kbuf_free(&body);
    }

    /* No trailers at all, and the plain empty-body form. */
    collected c = {KBUF_INIT, -1};
    const char *empty = "0\r\n\r\n";
    run_result rr = run(*state, &auth, empty, strlen(empty), 1, &c);
    assert_int_equal(rr.feed, K_OK);
    assert_int_equal(rr.finish, K_OK);
    assert_int_equal(rr.decoded, 0);
    kbuf_free(&c.data);
}

/* Builds a signed-trailer body: chunk signatures chained from SEED, then a
 * trailer signed over "name:value\n". Written from the spec, not the
 * decoder. */
static void sign_hex(const uint8_t key[32], const char *sts, char out[65]) {
    uint8_t mac[32];
    hmac_sha256(key, 32, sts, strlen(sts), mac);
    hex_encode(mac, 32, out);
}

static void signed_trailer_body(kbuf *b, const auth_result *auth, const char *const *chunks,
                                size_t nchunks, const char *trailer_line) {
    char prev[65], sig[65], h[65], sts[512];
    strcpy(prev, auth->seed_signature);
    for (size_t i = 0; i <= nchunks; i++) {
        const char *data = i < nchunks ? chunks[i] : "";
        size_t n = strlen(data);
        sha256_hex(data, n, h);
        snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256-PAYLOAD\n%s\n%s\n%s\n%s\n%s", auth->amz_date,
                 auth->scope, prev, EMPTY_SHA, h);
        sign_hex(auth->signing_key, sts, sig);
        kbuf_printf(b, "%zx;chunk-signature=%s\r\n", n, sig);
        if (n) {
            kbuf_append(b, data, n);
            kbuf_puts(b, "\r\n");
        }
        strcpy(prev, sig);
    }
    char text[256];
    snprintf(text, sizeof text, "%s\n", trailer_line);
    sha256_hex(text, strlen(text), h);
    snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256-TRAILER\n%s\n%s\n%s\n%s", auth->amz_date,
             auth->scope, prev, h);
    sign_hex(auth->signing_key, sts, sig);
    kbuf_printf(b, "%s\r\nx-amz-trailer-signature:%s\r\n\r\n", trailer_line, sig);
}

static void test_signed_trailer(void **state) {
    auth_result auth = streaming_auth(PAYLOAD_STREAMING_SIGNED_TRAILER);
    const char *chunks[] = {"The quick brown fox ", "jumps over the lazy dog"};
    kbuf body = KBUF_INIT;
    signed_trailer_body(&body, &auth, chunks, 2, "x-amz-checksum-crc32c:sOO8/Q==");
    for (size_t step = 0; step <= 1; step++) {
        collected c = {KBUF_INIT, -1};
        awschunked *d = awschunked_new(*state, &auth);
        kerr fe = K_OK;
        size_t s = step ? 1 : body.len;
        for (size_t i = 0; i < body.len && fe == K_OK; i += s)
            fe = awschunked_feed(d, body.data + i, s, collect, &c);
        assert_int_equal(fe, K_OK);
        assert_int_equal(awschunked_finish(d), K_OK);
        assert_int_equal(c.data.len, 43);
        size_t n;
        const http_header *t = awschunked_trailers(d, &n);
        assert_int_equal(n, 1);
        assert_string_equal(t[0].name, "x-amz-checksum-crc32c");
        assert_string_equal(t[0].value, "sOO8/Q==");
        kbuf_free(&c.data);
    }

    /* Tampered trailer value. */
    char *v = strstr(body.data, "sOO8");
    v[0] = 'x';
    collected c = {KBUF_INIT, -1};
    run_result rr = run(*state, &auth, body.data, body.len, 0, &c);
    assert_int_equal(rr.feed, K_ESIGNATURE);
    v[0] = 's';

    /* Trailer signature missing. */
    char *sigline = strstr(body.data, "x-amz-trailer-signature");
    kbuf cut = KBUF_INIT;
    kbuf_append(&cut, body.data, (size_t)(sigline - body.data));
    kbuf_puts(&cut, "\r\n");
    c.data.len = 0;
    rr = run(*state, &auth, cut.data, cut.len, 0, &c);
    assert_int_equal(rr.feed, K_ESIGNATURE);
    /* Body ends before the final empty line. */
    c.data.len = 0;
    rr = run(*state, &auth, body.data, body.len - 2, 0, &c);
    assert_int_equal(rr.feed, K_OK);
    assert_int_equal(rr.finish, K_EINCOMPLETEBODY);
    kbuf_free(&cut);
    kbuf_free(&c.data);
    kbuf_free(&body);
}

static void test_framing_errors(void **state) {
    auth_result auth = streaming_auth(PAYLOAD_STREAMING_UNSIGNED_TRAILER);
    static const struct {
        const char *body;
        kerr feed;
    } cases[] = {
        {"zz\r\n", K_EINVAL},
        {"\r\n", K_EINVAL},
        {";a=b\r\n", K_EINVAL},
        {"5\nhello\r\n0\r\n\r\n", K_EINVAL},        /* bare LF after size */
        {"5\r\nhello0\r\n\r\n", K_EINVAL},          /* no CRLF after data */
        {"5\r\nhello\r0\r\n\r\n", K_EINVAL},        /* CR without LF */
        {"5 \r\nhello\r\n0\r\n\r\n", K_EINVAL},     /* junk after size */
        {"4000001\r\n", K_EINVAL},                  /* > 64 MiB */
        {"ffffffffffffffffffffffff\r\n", K_EINVAL}, /* would overflow */
        {"0\r\n\r\nX", K_EINVAL},                   /* data after the end */
        {"0\r\n:v\r\n\r\n", K_EINVAL},              /* trailer without name */
        {"0\r\nnocolon\r\n\r\n", K_EINVAL},
        {"0\r\nbad name:v\r\n\r\n", K_EINVAL},
        {"0\r\na:b\rc\r\n\r\n", K_EINVAL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (size_t step = 0; step <= 1; step++) {
            collected c = {KBUF_INIT, -1};
            run_result rr = run(*state, &auth, cases[i].body, strlen(cases[i].body), step, &c);
            if (rr.feed != cases[i].feed)
                fail_msg("case %zu step %zu: feed %d", i, step, (int)rr.feed);
            assert_int_equal(rr.finish, cases[i].feed);
            kbuf_free(&c.data);
        }
    }
    /* Largest allowed chunk size parses (data then simply runs short). */
    collected c = {KBUF_INIT, -1};
    run_result rr = run(*state, &auth, "4000000\r\nab", 11, 0, &c);
    assert_int_equal(rr.feed, K_OK);
    assert_int_equal(rr.finish, K_EINCOMPLETEBODY);
    assert_int_equal(rr.decoded, 2);
    kbuf_free(&c.data);

    /* A header line longer than 4 KiB. */
    kbuf big = KBUF_INIT;
    kbuf_puts(&big, "5;");
    for (int i = 0; i < 5000; i++) kbuf_putc(&big, 'x');
    kbuf_puts(&big, "\r\n");
    rr = run(*state, &auth, big.data, big.len, 0, &c);
    assert_int_equal(rr.feed, K_EINVAL);
    kbuf_free(&big);

    /* Too many trailers. */
    kbuf many = KBUF_INIT;
    kbuf_puts(&many, "0\r\n");
    for (int i = 0; i < 40; i++) kbuf_printf(&many, "x-t%d:v\r\n", i);
    kbuf_puts(&many, "\r\n");
    rr = run(*state, &auth, many.data, many.len, 0, &c);
    assert_int_equal(rr.feed, K_EINVAL);
    kbuf_free(&many);

    /* Trailers where the mode has none. */
    auth_result plain = streaming_auth(PAYLOAD_STREAMING_SIGNED);
    char sig[65], sts[512];
    snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256-PAYLOAD\n%s\n%s\n%s\n%s\n%s", plain.amz_date,
             plain.scope, plain.seed_signature, EMPTY_SHA, EMPTY_SHA);
    sign_hex(plain.signing_key, sts, sig);
    char body[256];
    snprintf(body, sizeof body, "0;chunk-signature=%s\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n",
             sig);
    rr = run(*state, &plain, body, strlen(body), 0, &c);
    assert_int_equal(rr.feed, K_EINVAL);
    snprintf(body, sizeof body, "0;chunk-signature=%s\r\n\r\n", sig);
    rr = run(*state, &plain, body, strlen(body), 0, &c);
    assert_int_equal(rr.feed, K_OK);
    assert_int_equal(rr.finish, K_OK);
    kbuf_free(&c.data);
}

static void test_sink_error(void **state) {
    auth_result auth = streaming_auth(PAYLOAD_STREAMING_UNSIGNED_TRAILER);
    collected c = {KBUF_INIT, 3};
    const char *body = "5\r\nhello\r\n0\r\n\r\n";
    run_result rr = run(*state, &auth, body, strlen(body), 1, &c);
    assert_int_equal(rr.feed, K_EIO);
    assert_int_equal(rr.finish, K_EIO);
    kbuf_free(&c.data);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_aws_example_whole_and_bytewise, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aws_example_tampered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aws_example_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signed_mode_rejects_trailers_and_missing_signature,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsigned_trailer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signed_trailer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_framing_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sink_error, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
