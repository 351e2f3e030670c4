/* SPDX-License-Identifier: Apache-2.0 */
/* A streaming reader of multipart/form-data bodies (RFC 7578): HTML form
 * uploads, for Swift's FormPost today and S3's POST Object next. The body
 * is fed piece by piece; each part comes out as begin (its field name, file
 * name and content type) / data... / end, so file parts stream into
 * uploads and are never held whole in memory.
 *
 * Invariants: a part's bytes reach part_data exactly as sent, without the
 * CRLF that precedes the next boundary; parts come in order; after an
 * error or TARX-style abort nothing more is called. Part headers are
 * limited to FORMDATA_MAX_HEADERS bytes, the preamble before the first
 * boundary to FORMDATA_MAX_PREAMBLE.
 *
 * Contract: one formdata per body, one thread at a time. Errors: K_EINVAL
 * for a Content-Type without a usable boundary or a malformed body
 * (formdata_error says what), K_ENOMEM, K_EINTERNAL when a callback
 * answered FORMDATA_ABORT. */
#ifndef KURA_GATEWAY_FORMDATA_H
#define KURA_GATEWAY_FORMDATA_H

#include <stddef.h>

#include "common/err.h"

#define FORMDATA_MAX_HEADERS (16u << 10)
#define FORMDATA_MAX_PREAMBLE (64u << 10)

enum { FORMDATA_CONTINUE = 0, FORMDATA_SKIP = 1, FORMDATA_ABORT = -1 };

typedef struct formdata_cb {
    /* A part begins: name from Content-Disposition (never NULL; "" when
     * absent), filename (NULL for a plain field), content_type (NULL when
     * absent). The strings live only during the call. FORMDATA_SKIP: no
     * data or end for it. */
    int (*part_begin)(void *ctx, const char *name, const char *filename, const char *content_type);
    /* FORMDATA_SKIP: the rest of the part is dropped, then part_end. */
    int (*part_data)(void *ctx, const void *p, size_t n);
    int (*part_end)(void *ctx);
} formdata_cb;

typedef struct formdata formdata;

/* content_type: the request's Content-Type header (multipart/form-data;
 * boundary=...). cb and ctx are borrowed. */
kerr formdata_new(const char *content_type, const formdata_cb *cb, void *ctx, formdata **out);
kerr formdata_feed(formdata *f, const void *p, size_t n);
/* The body ended: K_EINVAL unless the closing boundary came. */
kerr formdata_finish(formdata *f);
const char *formdata_error(const formdata *f);
void formdata_free(formdata *f);

#endif
