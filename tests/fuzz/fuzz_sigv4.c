/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness for auth_verify (see README.md).
 *
 * Input: byte 0 picks what the rest becomes:
 *   0: the Authorization header after "AWS4-HMAC-SHA256 "
 *   1: the Authorization header after "AWS "
 *   2: the query string of the request (presigned V4 / V2 parameters)
 *   3: four lines: Authorization, request target, x-amz-date,
 *      x-amz-content-sha256
 * Bit 4 of byte 0 sends no x-amz-content-sha256 and allows that
 * (--allow-missing-content-sha256), to reach the body-deferred path.
 * Every access key is known, so parsing reaches the signature check. Oracle:
 * besides memory safety, a forged request must never verify (a random input
 * cannot carry a valid HMAC), except as anonymous or with the signature
 * deferred to the body hash. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "gateway/auth.h"
#include "tests/unit/auth/req_build.h"

static kerr lookup(void *ctx, const char *access_key, arena *a, const char **secret,
                   const char **user) {
    (void)ctx, (void)a;
    if (!access_key[0]) return K_EINVALIDACCESSKEY;
    *secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    *user = "fuzz";
    return K_OK;
}

/* Next '\n'-separated field of the input as an arena string (it ends at an
 * embedded NUL, as a C-string header value would). */
static char *field(arena *a, const uint8_t **p, const uint8_t *end) {
    const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
    size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
    char *s = arena_strndup(a, (const char *)*p, n);
    *p = nl ? nl + 1 : end;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    arena *a = arena_new(0);
    const uint8_t *p = data + 1, *end = data + size;
    const char *authz = NULL, *target = "/bucket/key", *date = "20130524T000000Z";
    const char *sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    char *rest = arena_strndup(a, (const char *)p, (size_t)(end - p));
    switch (data[0] % 4) {
    case 0:
        authz = arena_printf(a, "AWS4-HMAC-SHA256 %s", rest);
        break;
    case 1:
        authz = arena_printf(a, "AWS %s", rest);
        break;
    case 2:
        target = arena_printf(a, "/bucket/key?%s", rest);
        break;
    default:
        authz = field(a, &p, end);
        target = field(a, &p, end);
        date = field(a, &p, end);
        sha = field(a, &p, end);
        if (target[0] != '/') target = arena_printf(a, "/%s", target);
        break;
    }
    const char *headers[] = {"Host",
                             "bucket.example.com",
                             "Authorization",
                             authz ? authz : "",
                             "x-amz-date",
                             date,
                             "Date",
                             "Fri, 24 May 2013 00:00:00 GMT",
                             "x-amz-content-sha256",
                             sha,
                             "Content-Length",
                             "5",
                             NULL};
    if (!authz) headers[2] = "X-Ignored";
    auth_opts opts = {.region = "us-east-1", .allow_missing_content_sha256 = data[0] & 16};
    if (opts.allow_missing_content_sha256) headers[8] = "X-Ignored-Sha";
    http_req *r = req_build(a, data[0] & 4 ? "PUT" : "GET", target, headers);
    auth_result out;
    kerr e = auth_verify(r, data[0] & 8 ? "bucket" : NULL, &opts, lookup, NULL, (time_t)1369353600,
                         &out);
    if (e == K_OK && out.kind != AUTH_ANONYMOUS && !out.body_hash_deferred) {
        fprintf(stderr, "forged request verified (kind %d)\n", (int)out.kind);
        abort();
    }
    if (e == K_OK && out.body_hash_deferred &&
        auth_check_body_sha256(
            &out, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824") == K_OK)
        abort();
    arena_free(a);
    return 0;
}
