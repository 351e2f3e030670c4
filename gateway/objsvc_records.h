/* SPDX-License-Identifier: Apache-2.0 */
/* Binary encodings of the object service's metadata records (see objsvc.h
 * for the key layout), and the service's internal types that name storage
 * locations. Internal to the object service (objsvc.c, objsvc_records.c and their
 * tests): front ends include objsvc.h only. Little-endian, length-prefixed, versioned by a
 * leading byte so records can evolve.
 *
 * Decoders allocate strings and arrays in the given arena and return
 * K_ECORRUPT for truncated or unknown-version input (never read past the
 * end). */
#ifndef KURA_GATEWAY_OBJSVC_RECORDS_H
#define KURA_GATEWAY_OBJSVC_RECORDS_H

#include "common/buf.h"
#include "gateway/objsvc.h"

/* The records hold storage's location keys by value: the object service's
 * files include storage/data.h before this header (front ends never do). */
#ifndef KURA_STORAGE_DATA_H
#error "include storage/data.h before gateway/objsvc_records.h (object service files only)"
#endif

/* The opaque piece of objsvc.h. */
struct obj_part_loc {
    data_loc loc; /* loc.length = bytes held there (a part, or a segment) */
    uint8_t md5[16];
};

/* A part record: what ListParts shows, plus where the bytes are. */
typedef struct part_rec {
    part_info info;
    data_loc loc;
    uint64_t home; /* as obj_meta.home */
} part_rec;

void rec_bucket_encode(kbuf *out, const bucket_info *b);
kerr rec_bucket_decode(arena *a, const void *p, size_t n, bucket_info *b);

void rec_account_encode(kbuf *out, const account_info *ai);
kerr rec_account_decode(arena *a, const void *p, size_t n, account_info *ai);

void rec_obj_encode(kbuf *out, const obj_meta *m);
kerr rec_obj_decode(arena *a, const void *p, size_t n, obj_meta *m);

void rec_upload_encode(kbuf *out, const upload_info *u);
kerr rec_upload_decode(arena *a, const void *p, size_t n, upload_info *u);

void rec_part_encode(kbuf *out, const part_rec *p);
kerr rec_part_decode(const void *p, size_t n, part_rec *out);

#endif
