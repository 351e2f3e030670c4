/* SPDX-License-Identifier: Apache-2.0 */
/* The S3 front end: routes S3 requests (path-style and virtual-host style),
 * authenticates them, calls the object service and formats S3 XML.
 *
 * Contract: s3_frontend_new keeps pointers to svc and the option strings
 * (they must outlive it). The front end is thread-safe; all per-request
 * state lives in the request's arena.
 */
#ifndef KURA_GATEWAY_S3_H
#define KURA_GATEWAY_S3_H

#include <stdbool.h>

#include "gateway/objsvc.h"
#include "gateway/server.h"
#include "router/users.h"

typedef struct s3_opts {
    objsvc *svc;
    users *users; /* credentials of users other than root */
    const char *root_access_key;
    const char *root_secret_key;
    const char *region;         /* the server's region: default for buckets, and the only
                                   region SigV4 scopes may name; "us-east-1" */
    const char *const *domains; /* virtual-host base domains, e.g. "localhost" */
    size_t ndomains;
    /* Accept SigV4 header auth without x-amz-content-sha256 when the
     * signature covers the payload anyway (curl < 8.1); see auth.h. */
    bool allow_missing_content_sha256;
} s3_opts;

typedef struct s3_frontend s3_frontend;

s3_frontend *s3_frontend_new(const s3_opts *o);
void s3_frontend_free(s3_frontend *f);
/* The gw_frontend to register with the server. */
gw_frontend s3_frontend_hook(s3_frontend *f);
/* The header carrying a checksum of alg: "x-amz-checksum-crc32", ...; ""
 * for CK_NONE or an unknown value. Static storage. */
const char *s3_checksum_header(cksum_alg alg);

#endif
