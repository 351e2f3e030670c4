/* SPDX-License-Identifier: Apache-2.0 */
/* A streaming reader of tar archives (POSIX ustar and pax, GNU long names),
 * optionally gzip- or bzip2-compressed: Swift's ?extract-archive feeds it
 * the request body piece by piece and gets each regular file as a begin /
 * data... / end sequence of callbacks, never the archive whole in memory.
 *
 * What it takes from the archive: regular files ('0', '\0', '7'), named by
 * the pax "path" or a GNU 'L' long name when present, else ustar
 * prefix/name; sized by the pax "size" when present, else the octal (or
 * base-256) size field; the pax records the caller may want (every
 * "key=value" of the file's 'x' header, e.g. SCHILY.xattr.user.mime_type).
 * Everything else (directories, links, devices, global pax headers) is
 * skipped. Every header's checksum is verified.
 *
 * Invariants: bytes are handed to file_data exactly as the archive holds
 * them, in order, summing to the size file_begin announced; file_end
 * follows only after all of them. After an error, nothing more is called.
 *
 * Contract: one tarx per archive, used by one thread at a time. Errors:
 * tarx_feed / tarx_finish answer K_EINVAL for a malformed archive (then
 * tarx_error says what, in Swift's words after "Invalid Tar File: "),
 * K_ENOMEM, or K_EINTERNAL when a callback answered TARX_ABORT (the caller knows why). */
#ifndef KURA_GATEWAY_TARX_H
#define KURA_GATEWAY_TARX_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef enum tarx_compression { TARX_PLAIN, TARX_GZIP, TARX_BZIP2 } tarx_compression;

typedef struct tarx_attr {
    const char *key, *value; /* a pax record of the file */
} tarx_attr;

/* What a callback answers. */
enum { TARX_CONTINUE = 0, TARX_SKIP = 1, TARX_ABORT = -1 };

typedef struct tarx_cb {
    /* A regular file begins. name and attrs live only during the call.
     * TARX_SKIP: no data or end for it. */
    int (*file_begin)(void *ctx, const char *name, uint64_t size, const tarx_attr *attrs,
                      size_t nattrs);
    /* TARX_SKIP: the rest of this file's data is dropped, then file_end. */
    int (*file_data)(void *ctx, const void *p, size_t n);
    int (*file_end)(void *ctx);
} tarx_cb;

typedef struct tarx tarx;

/* K_ENOMEM, K_EINVAL (unknown compression). cb and ctx are borrowed. */
kerr tarx_new(tarx_compression c, const tarx_cb *cb, void *ctx, tarx **out);
kerr tarx_feed(tarx *t, const void *p, size_t n);
/* The input ended: K_EINVAL unless it ended where an archive may end (after
 * the end-of-archive blocks, or at a header boundary). Nothing after the
 * first end-of-archive block is read, not even the rest of a compressed
 * stream (its gzip CRC, say), as Python's tarfile behind Swift does not. */
kerr tarx_finish(tarx *t);
const char *tarx_error(const tarx *t);
void tarx_free(tarx *t);

#endif
