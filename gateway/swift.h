/* SPDX-License-Identifier: Apache-2.0 */
/* The OpenStack Swift front end: TempAuth v1 (GET /auth/v1.0), GET /info and
 * the /v1/AUTH_<account>[/<container>[/<object>]] API on the same namespace
 * as S3 (a container is an S3 bucket, owned by the account). It parses,
 * authenticates and formats; every operation and access decision goes
 * through the object service (gateway/objsvc.h).
 *
 * Users and accounts: a Swift user is a users-registry entry (router/users.h)
 * whose access key and name are "ACCOUNT:USER" and whose secret is the
 * TempAuth key; objsvc_principal makes it act for account ACCOUNT. The root
 * user (its access key, from the root credentials) may act on any account.
 *
 * Tokens are self-validating, so any gateway sharing the users registry
 * accepts them and no token state is kept: "AUTH_tk" followed by hex of the
 * expiry (16 digits, Unix seconds), of HMAC-SHA256(K, access_key "\n"
 * expiry_hex) where K = HMAC-SHA256(secret, "kura-swift-token-v1"), and of
 * the access key. Changing a user's secret (or removing the user) revokes
 * its tokens.
 *
 * Contract: swift_frontend_new keeps pointers to svc, users and the option
 * strings (they must outlive it). The front end is thread-safe; all
 * per-request state lives in the request's arena. Errors are answered with
 * the error table's swift_status (gateway/errors.h) and a short HTML body as
 * Swift words it; every response carries X-Trans-Id and
 * X-Openstack-Request-Id. Requests for features kura does not have (large
 * object manifests, bulk operations, and the others docs/compatibility.md
 * lists) are refused (501 or Swift's own code), never answered with a
 * success that ignores them. An object GET reads Range as swob does
 * (http_ranges_parse): several satisfiable ranges answer 206
 * multipart/byteranges (gw_respond_object_ranges), one a plain 206; a HEAD
 * ignores Range.
 */
#ifndef KURA_GATEWAY_SWIFT_H
#define KURA_GATEWAY_SWIFT_H

#include "gateway/objsvc.h"
#include "gateway/server.h"
#include "router/users.h"

#define SWIFT_DEFAULT_TOKEN_TTL_S 86400u

typedef struct swift_opts {
    objsvc *svc;
    users *users; /* credentials of users other than root */
    const char *root_access_key;
    const char *root_secret_key;
    const char *region;   /* region recorded on containers it creates */
    unsigned token_ttl_s; /* lifetime of a TempAuth token; 0: the default */
} swift_opts;

typedef struct swift_frontend swift_frontend;

swift_frontend *swift_frontend_new(const swift_opts *o);
void swift_frontend_free(swift_frontend *f);
/* The gw_frontend to register with the server, before S3's (S3 takes every
 * request): it matches /auth/v1.0, /auth/v1.0/, /auth/v1, /info and /v1/...
 * ("v1" is too short to be an S3 bucket name). */
gw_frontend swift_frontend_hook(swift_frontend *f);

#endif
