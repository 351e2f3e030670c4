/* SPDX-License-Identifier: Apache-2.0 */
/* Answering with a stored object's bytes, for every front end (S3 and
 * Swift): the part of a GET or HEAD that is plain HTTP once the front
 * end has decided what to send (which object, which range, which headers).
 *
 * Contract:
 * - Runs on a worker (gw_frontend.start / on_done); the body is then
 *   produced by the server's streaming callback (server.h) from a range
 *   reader of the object service, which reads ahead and verifies in the
 *   storage's own units and is closed when the request ends.
 * - HEAD (r->http.method) answers the length only: nothing is opened, so a
 *   HEAD works even where the data cannot be reached.
 * - Errors: the reader's (K_EINVALIDRANGE, K_EUNAVAILABLE when this gateway
 *   cannot reach the data, K_ENOMEM) are returned with nothing answered, so
 *   the front end answers them in its own error format.
 */
#ifndef KURA_GATEWAY_OBJHTTP_H
#define KURA_GATEWAY_OBJHTTP_H

#include <stdint.h>

#include "common/err.h"
#include "gateway/objsvc.h"
#include "gateway/server.h"

/* Answers r with status (200, or 206 for a range) and bytes [off, off+len)
 * of m as the body; headers added before stay. When the bytes cannot be
 * read (the error is returned, nothing answered), the headers added before
 * are dropped: they described the object, and the caller's error response
 * must not carry them (a second Content-Type, an ETag). The same holds for
 * gw_respond_object_ranges. */
kerr gw_respond_object(gw_req *r, objsvc *svc, const obj_meta *m, uint64_t off, uint64_t len,
                       int status);

/* Answers r with 206 and bytes ranges[0..n) (inclusive, within m, n >= 2,
 * in that order, overlaps and repeats as given) of m as a
 * multipart/byteranges body framed as OpenStack Swift frames it
 * (swob.multi_range_iterator): for each range
 *   "--B\r\nContent-Type: T\r\nContent-Range: bytes F-L/SIZE\r\n\r\n"
 *   + the bytes + "\r\n",
 * then "--B--" (no CRLF after it), where B is 32 random hex digits and T the
 * Content-Type header added before (application/octet-stream without one),
 * which becomes "multipart/byteranges;boundary=B". Content-Length is the
 * exact total, known before the first byte (no chunked encoding). One range
 * reader spans the lowest to the highest byte asked and each part reads its
 * own positions from it (never the whole object in memory). HEAD answers
 * the length only, as gw_respond_object does. */
kerr gw_respond_object_ranges(gw_req *r, objsvc *svc, const obj_meta *m,
                              const http_byte_range *ranges, size_t n);

#endif
