/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness for the aws-chunked decoder (see README.md).
 *
 * Input: byte 0 picks the payload mode, byte 1 the feed piece size (0 =
 * whole input at once), the rest is the body. Checks that the decoder never
 * crashes, never hands the sink more bytes than it counts, and that errors
 * are sticky. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "gateway/auth.h"
#include "gateway/awschunked.h"

static kerr count_sink(void *ctx, const void *p, size_t n) {
    (void)p;
    *(uint64_t *)ctx += n;
    return K_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    static const payload_mode modes[] = {PAYLOAD_STREAMING_SIGNED, PAYLOAD_STREAMING_SIGNED_TRAILER,
                                         PAYLOAD_STREAMING_UNSIGNED_TRAILER, PAYLOAD_UNSIGNED};
    auth_result auth;
    memset(&auth, 0, sizeof auth);
    auth.payload = modes[data[0] % 4];
    sigv4_signing_key("secret", "20130524", "us-east-1", "s3", auth.signing_key);
    memcpy(auth.seed_signature, "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
           65);
    memcpy(auth.amz_date, "20130524T000000Z", 17);
    strcpy(auth.scope, "20130524/us-east-1/s3/aws4_request");
    size_t step = data[1] ? data[1] : size;
    data += 2, size -= 2;

    arena *a = arena_new(0);
    awschunked *d = awschunked_new(a, &auth);
    uint64_t sunk = 0;
    kerr e = K_OK;
    for (size_t at = 0; at < size && e == K_OK; at += step) {
        size_t n = size - at < step ? size - at : step;
        e = awschunked_feed(d, data + at, n, count_sink, &sunk);
    }
    kerr f = awschunked_finish(d);
    if (e != K_OK && f != e) abort(); /* errors are sticky */
    if (sunk != awschunked_decoded_bytes(d) || sunk > size) abort();
    size_t nt;
    const http_header *t = awschunked_trailers(d, &nt);
    for (size_t i = 0; i < nt; i++)
        if (!t[i].name[0] || strlen(t[i].value) > size) abort();
    arena_free(a);
    return 0;
}
