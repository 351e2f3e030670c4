/* SPDX-License-Identifier: Apache-2.0 */
/* Request authentication: AWS Signature V4 (header and presigned query) and
 * V2 (header and query), for S3.
 *
 * Contract:
 * - auth_verify is thread-safe. It reads req and allocates only in req->a.
 *   It caches SigV4 signing keys per (secret, date, region, service)
 *   internally (bounded, thread-safe).
 * - It checks everything that can be checked before the body: signature over
 *   the canonical request, credential scope (date, region = opts->region,
 *   service "s3"), which headers are signed, clock skew (15 minutes, on
 *   x-amz-date or Date), presigned expiry. The payload itself is checked
 *   later by the caller: PAYLOAD_SIGNED by hashing the body as sent (before
 *   any aws-chunked decoding) and comparing with content_sha256
 *   (K_EXAMZCONTENTSHA on mismatch), streaming modes by the aws-chunked
 *   decoder (awschunked.h) seeded with this result.
 * - Signed headers (SigV4, header and presigned): SignedHeaders must name
 *   `host` and every x-amz-* header of the request, except the ones listed
 *   before auth_opts below; otherwise K_EHEADERSNOTSIGNED with the
 *   missing names in out->headers_not_signed. Other headers (User-Agent,
 *   Expect, ...) may be unsigned, as with AWS: the front end must act only
 *   on headers that are signed or harmless. SigV2 needs no such rule: its
 *   string to sign contains every x-amz-* header of the request.
 * - x-amz-content-sha256 (SigV4 header auth): required, as with AWS
 *   (K_EMISSINGCONTENTSHA), unless opts->allow_missing_content_sha256 (the
 *   server's --allow-missing-content-sha256, for curl < 8.1 which does not
 *   send it). With that option a request without the header is accepted only
 *   when its payload is covered by the signature anyway: no body and the
 *   signature over the empty payload, or a body whose SHA-256 is checked
 *   against the signature once received (body_hash_deferred). A body is never
 *   accepted unsigned this way (plain `curl -T` signs the empty payload:
 *   refused with K_ESIGNATURE).
 * - Errors: K_EACCESSDENIED (no credentials where required is decided by the
 *   caller; this returns AUTH_ANONYMOUS then), K_EINVALIDACCESSKEY,
 *   K_ESIGNATURE, K_ETIMESKEW, K_EEXPIRED, K_ENOTYETVALID (a presigned URL
 *   dated more than 15 minutes ahead), K_EAUTHHEADER (malformed
 *   Authorization or SigV2 query / unsupported algorithm / service not s3),
 *   K_EAUTHQUERY (the same for a SigV4 presigned URL's X-Amz-* parameters,
 *   X-Amz-Expires outside 1..604800 included),
 *   K_EINVALIDDIGEST (x-amz-content-sha256 neither a hex hash nor a known
 *   keyword), K_EHEADERSNOTSIGNED, K_EWRONGREGION (Authorization header) /
 *   K_EWRONGREGIONQUERY (presigned) with out->wrong_region set,
 *   K_EMISSINGCONTENTSHA. On error, out holds no credentials.
 */
#ifndef KURA_GATEWAY_AUTH_H
#define KURA_GATEWAY_AUTH_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "common/err.h"
#include "gateway/http.h"

typedef enum auth_kind {
    AUTH_ANONYMOUS = 0,
    AUTH_V4_HEADER,
    AUTH_V4_QUERY,
    AUTH_V2_HEADER,
    AUTH_V2_QUERY,
} auth_kind;

typedef enum payload_mode {
    PAYLOAD_UNSIGNED = 0,              /* UNSIGNED-PAYLOAD, V2, anonymous, presigned */
    PAYLOAD_SIGNED,                    /* body must hash to content_sha256 */
    PAYLOAD_STREAMING_SIGNED,          /* STREAMING-AWS4-HMAC-SHA256-PAYLOAD */
    PAYLOAD_STREAMING_SIGNED_TRAILER,  /* STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER */
    PAYLOAD_STREAMING_UNSIGNED_TRAILER /* STREAMING-UNSIGNED-PAYLOAD-TRAILER */
} payload_mode;

/* The x-amz-* headers that may be left out of SignedHeaders (SigV4 header
 * auth and presigned URLs alike; the list is unsigned_amz_ok in auth.c):
 *
 *   x-amz-content-sha256   its value is the payload line of the canonical
 *                          request, so the signature binds it whether or not
 *                          it is listed; AWS accepts it unsigned too.
 *
 * Nothing else. In particular x-amz-date, x-amz-decoded-content-length and
 * x-amz-trailer must be signed (every SDK, s3cmd and curl sign them), and so
 * must x-amz-checksum-* and x-amz-sdk-checksum-algorithm on presigned URLs:
 * AWS answers HeadersNotSigned for those, and SDKs that presign them put them
 * in the query string, which is signed. Trailer values (x-amz-checksum-* of
 * aws-chunked uploads) arrive in the signed trailer, not as headers. */

typedef struct auth_opts {
    const char *region;                /* the server's region; NULL means "us-east-1" */
    bool allow_missing_content_sha256; /* see the contract above */
} auth_opts;

typedef struct auth_result {
    auth_kind kind;
    const char *access_key; /* in req->a; NULL when anonymous */
    const char *user;       /* owner id from the secret lookup */
    payload_mode payload;
    char content_sha256[65]; /* lower-case hex, for PAYLOAD_SIGNED */
    /* SigV4 state the aws-chunked decoder needs to verify chunk and trailer
     * signatures. */
    uint8_t signing_key[32];
    char seed_signature[65];
    char amz_date[17]; /* "20130524T000000Z" */
    char scope[128];   /* "20130524/us-east-1/s3/aws4_request" */
    /* SigV4 header auth without x-amz-content-sha256 on a request with a
     * body (only with opts->allow_missing_content_sha256): curl --aws-sigv4
     * --data signs the SHA-256 of the body but does not send it, so the
     * signature can only be checked once the body has been hashed. Then
     * payload is PAYLOAD_SIGNED, content_sha256 is empty (a caller that just
     * compares hashes rejects the body, never accepts it unverified) and the
     * caller must call auth_check_body_sha256 before committing. Until then
     * the request is NOT authenticated: nothing it asks for may take effect
     * or return data before that check, so the caller must refuse it when
     * the operation does not read its body. deferred_canonical holds the
     * canonical request up to the payload line for each URI/query spelling
     * tried (AWS-canonical first, then as received), unused slots NULL. */
    bool body_hash_deferred;
    const char *deferred_canonical[4];
    /* Details for the error answer when auth_verify fails (else NULL), in
     * req->a: K_EHEADERSNOTSIGNED: the unsigned names, "host, x-amz-acl";
     * K_EWRONGREGION(QUERY): the region the client signed for (the expected
     * one is opts->region). */
    const char *headers_not_signed;
    const char *wrong_region;
} auth_result;

/* Looks up the secret for an access key. Returns K_OK and sets *secret and
 * *user (allocated in a, or static), or K_EINVALIDACCESSKEY. */
typedef kerr (*auth_secret_fn)(void *ctx, const char *access_key, arena *a, const char **secret,
                               const char **user);

/* vhost_bucket: the bucket named by the Host header in virtual-host style
 * requests (SigV2's canonical resource needs it), else NULL. opts may be
 * NULL: region us-east-1, x-amz-content-sha256 required. */
kerr auth_verify(const http_req *req, const char *vhost_bucket, const auth_opts *opts,
                 auth_secret_fn lookup, void *ctx, time_t now, auth_result *out);

/* Helpers exposed for tests and for building presigned URLs in `kura`
 * tools. canonical request / string to sign as AWS documents them. */
void sigv4_signing_key(const char *secret, const char *date8, const char *region,
                       const char *service, uint8_t out[32]);

/* For PAYLOAD_SIGNED results, once the body is hashed (lower-case hex):
 * K_OK if the body is the one that was signed. Compares with content_sha256
 * (K_EXAMZCONTENTSHA on mismatch), or, when body_hash_deferred, checks the
 * request signature over the canonical request with this payload hash
 * (K_ESIGNATURE on mismatch). */
kerr auth_check_body_sha256(const auth_result *r, const char *body_sha256_hex);

#endif
