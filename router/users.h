/* SPDX-License-Identifier: Apache-2.0 */
/* Users: credentials (access key -> secret, user name) and the set of access
 * keys, kept on the registry store — the global store that also holds
 * buckets, as opposed to a member cluster's store that holds objects (see
 * objsvc.h). Front ends look secrets up here to authenticate; `kura admin
 * user` manages them.
 *
 * Part of the registry the router owns (router/README.md): global records,
 * as opposed to a member cluster's objects.
 *
 * Records:
 *   "S" access_key   user record: version byte (1, or 2 with roles), then
 *                    the secret and the user name, each a little-endian u32
 *                    length + bytes; version 2 ends with the roles byte
 *                    (version 1: USER_ROLE_ADMIN, what every user was
 *                    before roles)
 *   radix tree "s"   the access keys, for listing
 * A key enters the tree before its record is written, and leaves after the
 * record is deleted (a listed key without a record is skipped).
 *
 * Contract:
 * - A users handle is thread-safe; results are allocated in the caller's
 *   arena. The kv it is opened on is borrowed and must outlive it.
 * - Errors: K_EINVAL (empty or over-long access key, > 128 bytes),
 *   K_EINVALIDACCESSKEY (lookup of an unknown key), K_ENOTFOUND (delete of
 *   an unknown key), and the store's own (K_EUNAVAILABLE, K_EIO).
 */
#ifndef KURA_ROUTER_USERS_H
#define KURA_ROUTER_USERS_H

#include <stddef.h>

#include "common/arena.h"
#include "common/err.h"

typedef struct kv kv;
typedef struct users users;

kerr users_open(kv *registry, users **out);
void users_close(users *u);

/* Roles (Swift TempAuth's): an account admin owns its account (a user
 * "ACCOUNT:USER" without it reaches only what container grants give it; a
 * name without ':' is its own account and owns it whatever the roles); a
 * reseller admin acts as the admin of any account through Swift. */
#define USER_ROLE_ADMIN 1u
#define USER_ROLE_RESELLER 2u
#define USER_ROLES_ALL 3u

/* users_put: roles USER_ROLE_ADMIN. */
kerr users_put(users *u, const char *access_key, const char *secret, const char *name);
kerr users_put_roles(users *u, const char *access_key, const char *secret, const char *name,
                     unsigned roles);
kerr users_get(users *u, arena *a, const char *access_key, const char **secret, const char **name);
/* roles may be NULL. */
kerr users_get_roles(users *u, arena *a, const char *access_key, const char **secret,
                     const char **name, unsigned *roles);
kerr users_delete(users *u, const char *access_key);
/* Every user, in access-key order. */
kerr users_list(users *u, arena *a, char ***access_keys, char ***names, size_t *n);

/* The user record codec (for tests and fuzzing). The decoder allocates in a
 * and answers K_ECORRUPT for truncated or unknown-version input. */
typedef struct kbuf kbuf;
void users_record_encode(kbuf *out, const char *secret, const char *name);
void users_record_encode_roles(kbuf *out, const char *secret, const char *name, unsigned roles);
kerr users_record_decode(arena *a, const void *p, size_t n, const char **secret, const char **name);
/* roles may be NULL; trailing bytes and unknown role bits are K_ECORRUPT. */
kerr users_record_decode_roles(arena *a, const void *p, size_t n, const char **secret,
                               const char **name, unsigned *roles);

#endif
