/* SPDX-License-Identifier: Apache-2.0 */
/* Decoder for aws-chunked request bodies (SigV4 streaming uploads).
 *
 * Body: "<hex-size>[;chunk-signature=<sig>]\r\n<data>\r\n" repeated, ending
 * with a zero-size chunk, optionally followed by trailer lines
 * ("x-amz-checksum-crc32:<b64>\r\n", "x-amz-trailer-signature:<sig>\r\n")
 * and a final "\r\n". Signed modes verify each chunk's signature (chained
 * from the seed signature) and the trailer signature.
 *
 * Contract:
 * - Streaming: input arrives in arbitrary pieces (1 byte at a time must
 *   work); payload bytes are passed to the sink as they are decoded, never
 *   buffered whole. A chunk's signature is only known valid at its end, so
 *   the caller must not commit anything before awschunked_finish succeeds.
 * - The decoder and its trailers live in the arena given at creation.
 * - Errors: K_ESIGNATURE (chunk or trailer signature mismatch),
 *   K_EINCOMPLETEBODY (input ended before the final chunk/trailer),
 *   K_EINVAL (malformed framing: bad hex, missing CRLF, oversized header
 *   line (4 KiB), chunk larger than 64 MiB, more than 32 trailers or 16 KiB
 *   of trailer text, bytes after the final CRLF), or whatever the sink
 *   returns. Errors are sticky: later feeds and finish return the same code.
 * - Trailer lines may end in CRLF or a bare LF; everything else needs CRLF.
 * - Nothing to free: the decoder holds no heap memory.
 */
#ifndef KURA_GATEWAY_AWSCHUNKED_H
#define KURA_GATEWAY_AWSCHUNKED_H

#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/err.h"
#include "gateway/auth.h"
#include "gateway/http.h"

typedef struct awschunked awschunked;
typedef kerr (*awschunked_sink)(void *ctx, const void *p, size_t n);

/* auth: the request's auth_result; its payload mode says whether chunk
 * signatures and a trailer are expected. */
awschunked *awschunked_new(arena *a, const auth_result *auth);
kerr awschunked_feed(awschunked *d, const void *p, size_t n, awschunked_sink sink, void *ctx);
/* Call at end of body: K_OK only if the final chunk (and trailer, if the mode
 * has one) was complete and verified. */
kerr awschunked_finish(awschunked *d);
/* Trailer headers (names lower-cased), valid after finish. */
const http_header *awschunked_trailers(const awschunked *d, size_t *n);
uint64_t awschunked_decoded_bytes(const awschunked *d);

#endif
