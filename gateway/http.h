/* SPDX-License-Identifier: Apache-2.0 */
/* The parsed form of one HTTP request, as the protocol front ends see it.
 *
 * Contract:
 * - Everything a http_req points to lives in req->a (the per-request arena)
 *   and is valid until the request completes. Front ends allocate their
 *   per-request state there too.
 * - Header names are lower-cased; values have surrounding whitespace trimmed.
 *   Order is the order received. Repeated headers appear repeatedly.
 * - raw_path is the path exactly as received (still percent-encoded, no
 *   query); path is its decoded form (may contain any bytes but NUL).
 * - query holds each query parameter as received (raw = still encoded) and
 *   decoded. value/raw_value are NULL for a parameter given without '='.
 */
#ifndef KURA_GATEWAY_HTTP_H
#define KURA_GATEWAY_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/arena.h"

typedef struct http_header {
    const char *name; /* lower-case */
    const char *value;
} http_header;

typedef struct http_param {
    const char *raw_name;
    const char *raw_value; /* NULL when the parameter had no '=' */
    const char *name;      /* decoded */
    const char *value;     /* decoded; NULL when no '=' */
} http_param;

typedef struct http_req {
    arena *a;
    const char *method; /* "GET", "PUT", ... */
    const char *raw_path;
    const char *path;
    size_t path_len;
    http_header *headers;
    size_t nheaders;
    http_param *query;
    size_t nquery;
    bool tls;
    const char *remote_addr;
} http_req;

/* First header with that lower-case name, or NULL. */
const char *http_header_get(const http_req *r, const char *lname);
/* First query parameter with that decoded name, or NULL. has_param tells
 * apart "absent" from "present without value" (e.g. ?uploads). */
const http_param *http_param_find(const http_req *r, const char *name);
const char *http_param_get(const http_req *r, const char *name);
bool http_param_has(const http_req *r, const char *name);

/* A Range request header ("bytes=first-last", "bytes=first-", "bytes=-suffix")
 * evaluated against a representation of size bytes (RFC 9110 section 14):
 * - HTTP_RANGE_NONE: not a range to honour, serve the whole body (200): not
 *   the bytes unit, several ranges, last < first, or not digits;
 * - HTTP_RANGE_OK: bytes *first..*last (inclusive) of the body (206);
 * - HTTP_RANGE_UNSATISFIABLE: first >= size, a suffix of 0 bytes, or any
 *   range of an empty body (416).
 * Positions too large for 64 bits are taken as "huge", not as junk: a range
 * that starts beyond any possible end is unsatisfiable, and one that ends
 * beyond it stops at the last byte. */
typedef enum http_range_result {
    HTTP_RANGE_NONE,
    HTTP_RANGE_OK,
    HTTP_RANGE_UNSATISFIABLE
} http_range_result;
http_range_result http_range_parse(const char *v, uint64_t size, uint64_t *first, uint64_t *last);

/* A Range header with one or more byte-range-specs ("bytes=0-1,5-9,-3,10-")
 * as OpenStack Swift reads it (swob.Range and Range.ranges_for_length), for
 * the Swift front end (S3 keeps http_range_parse):
 * - every ' ' is removed first, then the value must start with "bytes="
 *   (any case) and each comma-separated spec have a '-'. A first position
 *   is read as Python's int() reads it (surrounding whitespace, a leading
 *   '+', '_' between digits); a last position is digits only. A spec
 *   without '-', with neither position, with last < first or with junk
 *   makes the whole header syntactically invalid: HTTP_RANGE_NONE, serve
 *   the whole body (200);
 * - each spec is resolved against size: "a-b" is bytes a..min(b, size-1),
 *   "a-" is a..size-1, "-n" the last n bytes (the whole body when n >=
 *   size); one that starts at or beyond size, or "-0", is unsatisfiable and
 *   dropped;
 * - HTTP_RANGE_UNSATISFIABLE (416 with an unsatisfied-range Content-Range) when none
 *   is left, or when what is left is egregious (RFC 9110 section 14.3):
 *   more than HTTP_MAX_RANGES ranges, more than HTTP_MAX_RANGE_OVERLAPS
 *   overlapping pairs (half-open ranges overlapping strictly; equal ranges
 *   do not count), or at least HTTP_MAX_NONASCENDING_RANGES ranges not in
 *   ascending (first, last) order;
 * - HTTP_RANGE_NONE as well for an empty body with something left (a
 *   suffix "-n", n > 0): Swift then serves the whole, empty, body (200);
 * - HTTP_RANGE_OK: out[0..*n) (1 <= *n <= HTTP_MAX_RANGES) are the ranges
 *   left, inclusive, in the order given (overlaps and repeats kept).
 * Positions beyond 64 bits compare exactly (as Python's integers). */
enum { HTTP_MAX_RANGES = 50, HTTP_MAX_RANGE_OVERLAPS = 2, HTTP_MAX_NONASCENDING_RANGES = 8 };
typedef struct http_byte_range {
    uint64_t first, last; /* inclusive */
} http_byte_range;
http_range_result http_ranges_parse(const char *v, uint64_t size, http_byte_range *out, size_t *n);

/* Does a comma-separated If-Match / If-None-Match list name etag (given
 * without quotes)? Entries may be quoted or bare; "*" matches any
 * representation. */
bool http_etag_list_matches(const char *list, const char *etag);

/* The conditional request headers of RFC 9110 section 13.2.2, evaluated in
 * its order against a representation's ETag (unquoted) and modification
 * time: If-Match, then If-Unmodified-Since (only without If-Match), then
 * If-None-Match, then If-Modified-Since (only without If-None-Match).
 * Unparseable dates are ignored, as the RFC says. Any header may be NULL.
 * - HTTP_COND_PASS: go on with the request;
 * - HTTP_COND_FAILED: 412 Precondition Failed;
 * - HTTP_COND_NOT_MODIFIED: 304 for GET/HEAD; a caller evaluating another
 *   method (or S3's x-amz-copy-source-if-*) answers 412 instead. */
typedef enum http_cond { HTTP_COND_PASS, HTTP_COND_FAILED, HTTP_COND_NOT_MODIFIED } http_cond;
typedef struct http_conds {
    const char *if_match;
    const char *if_none_match;
    const char *if_modified_since;
    const char *if_unmodified_since;
} http_conds;
/* The four headers of r under their standard names. */
http_conds http_conds_of(const http_req *r);
http_cond http_conditions(const http_conds *c, const char *etag, time_t mtime);

#endif
