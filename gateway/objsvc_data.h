/* SPDX-License-Identifier: Apache-2.0 */
/* Where the object service's data lives, for the operator's tools (kura
 * admin fsck): a walk over every object's location keys. Includes the
 * storage layer's types, so front ends never include it (they include
 * objsvc.h only); main.c wires it to the fsck command.
 *
 * objsvc_walk_data calls fn for every live object of every bucket owned by
 * one of owners (object records of this service's member store), in bucket
 * then key order, with the run of keys holding its bytes (n may be 0: an
 * empty object or a large-object manifest, whose segments are objects of
 * their own) and its last-modified time (unix ms; 0 for an unreadable
 * record). fn returning nonzero stops the walk (K_OK). Uploads in
 * progress are not walked. Errors: the kv's; a record that does not decode
 * is passed with run NULL and n 0 and counted in *unreadable. */
#ifndef KURA_GATEWAY_OBJSVC_DATA_H
#define KURA_GATEWAY_OBJSVC_DATA_H

#include "gateway/objsvc.h"

/* storage/data.h's location key: only its name here (callers that read
 * its fields include storage/data.h themselves). */
struct data_loc;
typedef int (*objsvc_data_fn)(void *arg, const char *bucket, const char *key, size_t klen,
                              int64_t mtime_ms, const struct data_loc *run, uint32_t n);
kerr objsvc_walk_data(objsvc *s, const char *const *owners, size_t nowners, objsvc_data_fn fn,
                      void *arg, uint64_t *unreadable);

#endif
