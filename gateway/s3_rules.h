/* SPDX-License-Identifier: Apache-2.0 */
/* What S3 request parameters and header values mean, as data the front end
 * (s3.c) routes and refuses by: sub-resources, canned ACLs, storage classes,
 * region names, conditional headers. Pure functions, no allocation, thread-safe; unit-tested in
 * tests/unit/gateway/test_s3_rules.c.
 *
 * The rule they serve: a request kura cannot honour gets the AWS error (501
 * NotImplemented when nothing fits), never a 200 that ignores part of what
 * was asked. */
#ifndef KURA_GATEWAY_S3_RULES_H
#define KURA_GATEWAY_S3_RULES_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "gateway/http.h"

/* The sub-resource a request names, or NULL when it names none.
 *
 * A query parameter is a sub-resource when its name is one of S3's (acl,
 * tagging, uploads, uploadId, policyStatus, ... whatever its value), or when
 * it comes without a value (or with an empty one) and is not one of the
 * ordinary parameters (listing and paging parameters, partNumber, versionId,
 * x-id, presigned-URL and SigV2 query authentication, response-*, x-amz-*):
 * such a parameter can only be a sub-resource kura does not know, and
 * answering it as if it were absent (GET ?policyStatus as an object listing)
 * would be a wrong success. Parameters with a value that are neither are
 * ignored, as AWS ignores them (cache busters and the like).
 *
 * Returns the first sub-resource parameter's name; *known tells whether it
 * is one of S3's (false: unknown to S3 as well). */
const char *s3_subresource(const http_req *h, bool *known);

/* Whether name is one of S3's bucket or object sub-resources. */
bool s3_is_subresource(const char *name);

/* x-amz-acl values. */
typedef enum s3_canned {
    S3_CANNED_OK,      /* *acl set: private, public-read, public-read-write, and
                          bucket-owner-read / bucket-owner-full-control, which
                          equal private in kura (objects always belong to the
                          bucket owner; on buckets AWS ignores them) */
    S3_CANNED_NOTIMPL, /* a canned ACL of S3 kura cannot enforce: authenticated-read,
                          aws-exec-read, log-delivery-write */
    S3_CANNED_INVALID  /* not a canned ACL */
} s3_canned;
/* v NULL (no header) is private. acl receives an acl_canned (objsvc.h). */
s3_canned s3_canned_acl(const char *v, uint8_t *acl);

/* x-amz-storage-class values. */
typedef enum s3_storage {
    S3_STORAGE_STANDARD,    /* the only class kura stores */
    S3_STORAGE_UNSUPPORTED, /* one of S3's other classes: 501 */
    S3_STORAGE_INVALID      /* not a storage class: 400 InvalidStorageClass */
} s3_storage;
s3_storage s3_storage_class(const char *v);

/* x-amz-server-side-encryption values S3 knows (AES256, aws:kms,
 * aws:kms:dsse). */
bool s3_sse_known(const char *v);

/* Whether v can be a region name in a CreateBucket LocationConstraint: 1 to
 * 32 characters, lower-case letters, digits and single hyphens, starting
 * with a letter and ending with a letter or digit (us-east-1,
 * ap-southeast-2, us-gov-west-1), or the legacy "EU". */
bool s3_location_valid(const char *v);

/* Whether a x-amz-website-redirect-location value is one S3 stores: it
 * begins with "/", "http://" or "https://" and has at most 2 KiB. */
bool s3_redirect_location_valid(const char *v);

/* Does a comma-separated If-Match / If-None-Match list name this ETag
 * (given without quotes)? Entries may be quoted or bare, with blanks
 * around them; "*" matches any object. */
bool s3_etag_list_matches(const char *list, const char *etag);

/* The conditional request headers of a read (GetObject, HeadObject) or of
 * a copy source (x-amz-copy-source-if-*), NULL when absent, against the
 * object's ETag and modification time, in the order S3 evaluates them:
 * If-Match (K_EPRECONDITION when it names another ETag), If-Unmodified-Since
 * (only without If-Match), If-None-Match (K_ENOTMODIFIED when it names this
 * ETag), If-Modified-Since (only without If-None-Match). For a copy source
 * every failure is K_EPRECONDITION. A date that does not parse is ignored
 * (RFC 9110 section 13.1.3). K_OK when the request goes ahead. */
kerr s3_check_conditions(const char *etag, int64_t mtime_ms, const char *if_match,
                         const char *if_none_match, const char *if_mod, const char *if_unmod,
                         bool copy_source);

#endif
