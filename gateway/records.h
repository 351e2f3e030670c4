/* SPDX-License-Identifier: Apache-2.0 */
/* Binary encodings of the object service's metadata records (see objsvc.h
 * for the key layout). Little-endian, length-prefixed, versioned by a
 * leading byte so records can evolve.
 *
 * Decoders allocate strings and arrays in the given arena and return
 * K_ECORRUPT for truncated or unknown-version input (never read past the
 * end). */
#ifndef KURA_GATEWAY_RECORDS_H
#define KURA_GATEWAY_RECORDS_H

#include "common/buf.h"
#include "gateway/objsvc.h"

void rec_bucket_encode(kbuf *out, const bucket_info *b);
kerr rec_bucket_decode(arena *a, const void *p, size_t n, bucket_info *b);

void rec_obj_encode(kbuf *out, const obj_meta *m);
kerr rec_obj_decode(arena *a, const void *p, size_t n, obj_meta *m);

void rec_upload_encode(kbuf *out, const upload_info *u);
kerr rec_upload_decode(arena *a, const void *p, size_t n, upload_info *u);

void rec_part_encode(kbuf *out, const part_info *p);
kerr rec_part_decode(const void *p, size_t n, part_info *out);

void rec_user_encode(kbuf *out, const char *secret, const char *user);
kerr rec_user_decode(arena *a, const void *p, size_t n, const char **secret, const char **user);

#endif
