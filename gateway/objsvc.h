/* SPDX-License-Identifier: Apache-2.0 */
/* The protocol-neutral object service: every S3 and Swift operation on
 * buckets, objects and multipart uploads goes through here. Front ends only
 * parse, authenticate and format.
 *
 * Metadata layout (all keys binary, bucket ids are 8 random bytes so a
 * re-created bucket never sees its predecessor's leftovers). On the registry
 * store:
 *   "B" name                    bucket record
 *   radix trees: "b" owner (bucket names of an owner)
 * On the bucket's member store:
 *   "O" bid name                object record (size, etag, attrs, tags, data locations)
 *   "M" bid upload_id           multipart upload record
 *   "P" upload_id part_be32     part record
 *   radix trees: "o" bid (object
 *   names), "u" bid (key \0 upload_id), "p" upload_id (part numbers).
 *
 * Ordering rules that keep crashes harmless: a name enters its tree before
 * its record is written, and leaves after the record is deleted. A listed
 * name without a record is skipped (and cleaned up lazily), so a crash
 * between the two writes never shows a half-made object. Object records are
 * replaced with compare-and-set, so of two racing PUTs exactly one wins and
 * the loser's data is released.
 *
 * The service is sealed: this header names nothing of meta/ or storage/
 * (where bytes live is opaque to callers, struct obj_part_loc), so a front
 * end (S3 today, Swift next) parses, authenticates and formats, and the
 * service decides. Every access decision is made here, from the caller's
 * principal (below): who owns what, what the canned ACLs allow, and when an
 * absent key is hidden behind AccessDenied.
 *
 * Contract:
 * - objsvc is thread-safe. Results are allocated in the caller's arena.
 * - Errors are kerr codes (common/err.h); the front end maps them through
 *   the one error table (gateway/errors.h).
 */
#ifndef KURA_GATEWAY_OBJSVC_H
#define KURA_GATEWAY_OBJSVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "common/arena.h"
#include "common/err.h"
#include "common/hash.h"

#define OBJ_MAX_KEY 1024
#define OBJ_MAX_PARTS 10000
#define OBJ_MIN_PART_SIZE (5ull << 20)
#define OBJ_MAX_SIZE (5ull << 40)
#define OBJ_MAX_PUT_SIZE (5ull << 30)

typedef enum acl_canned {
    ACL_PRIVATE = 0,
    ACL_PUBLIC_READ = 1,
    ACL_PUBLIC_READ_WRITE = 2
} acl_canned;

/* A stored header: standard representation headers (content-type,
 * content-encoding, ...) and user metadata (x-amz-meta-*), names
 * lower-case. */
typedef struct obj_attr {
    char *name;
    char *value;
} obj_attr;

/* The object attribute that gives an object's expiry time (Swift's
 * X-Delete-At: unix seconds, decimal). From that second on the service
 * treats the object as absent everywhere (objsvc_head, objsvc_object_open,
 * objsvc_list); objsvc_expire then deletes it and releases its bytes. */
#define OBJ_ATTR_DELETE_AT "x-delete-at"

typedef struct bucket_info {
    char *name;
    char *owner;
    char *region;
    uint8_t id[8];
    int64_t created_ms;
    uint8_t acl;
    /* Bucket metadata (Swift's X-Container-Meta-NAME): names lower-case,
     * without the prefix. */
    uint32_t nattrs;
    obj_attr *attrs;
    /* Grants beyond the canned ACL (Swift container ACLs, "" for none):
     * comma-separated, read as objsvc_grants_normalize says. */
    char *read_grants;
    char *write_grants;
    /* The bucket's tag set (S3 PutBucketTagging; obj_attr name = tag key,
     * value = tag value), at most BUCKET_MAX_TAGS; ntags 0: none (S3's
     * NoSuchTagSet). */
    uint32_t ntags;
    obj_attr *tags;
} bucket_info;

typedef enum cksum_type { CKTYPE_NONE = 0, CKTYPE_FULL_OBJECT, CKTYPE_COMPOSITE } cksum_type;

/* Where a piece of an object's bytes lives (a part, or a segment of a large
 * PUT): opaque outside the service. */
typedef struct obj_part_loc obj_part_loc;

/* --- large objects (Swift's DLO and SLO) ---
 * A large object is a manifest whose content is other objects (segments)
 * end to end, in Swift's two kinds:
 * - DLO (dynamic): an object with attribute OBJ_ATTR_DLO = "container/prefix"
 *   (percent-encoding allowed). Its content is every object of that
 *   container whose name starts with prefix, in name order, as listed when
 *   it is read; the manifest's own bytes are not part of it.
 * - SLO (static): written by objsvc_slo_put from an explicit list of
 *   segments (whole objects, byte ranges of objects, or other SLOs), each
 *   checked when the manifest is written. Its record keeps the list, the
 *   content size and the content ETag (hex MD5 of the segments' ETags, each
 *   followed by ":FIRST-LAST;" for a range, as Swift computes it).
 * objsvc_object_open answers the content: obj_meta.size and .etag are the
 * content's (a DLO's ETag: hex MD5 of its segments' ETags), and the
 * readers (objsvc_reader_open, objsvc_put_copy) stream the segments. The
 * caller's right to read is checked on every segment, which may live in
 * other buckets: a segment the caller may not read is K_EACCESSDENIED, an
 * SLO segment gone or changed since the manifest was written K_ECONFLICT
 * (nothing is streamed; Swift's 409). SLOs nest at most OBJ_SLO_MAX_DEPTH
 * deep; a large object has at most OBJ_LO_MAX_SEGMENTS segments once
 * flattened (K_ECONFLICT beyond). objsvc_head and
 * objsvc_object_open_manifest answer the manifest itself (an SLO's record
 * still tells the content size and ETag). */
#define OBJ_ATTR_DLO "x-object-manifest"
#define OBJ_SLO_MAX_SEGMENTS 1000
#define OBJ_SLO_MAX_DEPTH 10
#define OBJ_LO_MAX_SEGMENTS 10000

typedef enum obj_large { OBJ_LARGE_NONE = 0, OBJ_LARGE_DLO = 1, OBJ_LARGE_SLO = 2 } obj_large;

/* One segment of an SLO as its record keeps it. */
typedef struct obj_slo_seg {
    char *bucket;
    char *key;
    size_t klen;
    char etag[48];        /* the segment's content ETag when the SLO was written */
    uint64_t size;        /* the segment's content size then */
    bool has_range;       /* only bytes [first, last] of the segment */
    uint64_t first, last; /* inclusive */
    bool sub_slo;         /* the segment is itself an SLO */
    char *content_type;
    int64_t mtime_ms;
} obj_slo_seg;

/* The resolved pieces of a large object (opaque: objsvc_object_open). */
typedef struct obj_piece obj_piece;

typedef struct obj_meta {
    uint64_t size;
    int64_t mtime_ms;
    char etag[48]; /* hex md5, or hex md5-of-md5s + "-N"; without quotes */
    uint8_t acl;
    uint32_t nattrs;
    obj_attr *attrs;
    /* The object's tag set (S3 object tagging; obj_attr name = tag key,
     * value = tag value), at most OBJ_MAX_TAGS, in the order given. Kept in
     * the object record, so GET and HEAD know it without another read. */
    uint32_t ntags;
    obj_attr *tags;
    uint8_t ck_alg; /* cksum_alg */
    uint8_t ck_type;
    uint8_t ck_len;
    uint8_t ck[32];
    uint32_t nparts; /* 0 for a simple PUT, else number of multipart parts */
    uint32_t nsegs;
    obj_part_loc *segs; /* data in order; one per part for multipart (opaque) */
    /* Instance id of the gateway whose volumes hold the data (0: unknown).
     * Locations are only meaningful there: another gateway sharing the
     * metadata store must not read them as its own. */
    uint64_t home;
    /* Large objects (above). large: what the record is (a DLO is an object
     * with OBJ_ATTR_DLO). An SLO's record holds its segment list (nslo,
     * slo) and no data of its own. npieces/pieces: set by
     * objsvc_object_open for a large object's content (size and etag are
     * then the content's); 0/NULL otherwise. */
    uint8_t large;
    uint32_t nslo;
    obj_slo_seg *slo;
    uint32_t npieces;
    obj_piece *pieces;
} obj_meta;

typedef struct objsvc objsvc;
typedef struct kv kv;                 /* meta/kv.h: only the wiring (main) opens one */
typedef struct data_layer data_layer; /* storage/data.h: likewise */

/* --- who is asking ---
 * Front ends turn what authentication proved into a principal; the service
 * decides what it may do. Strings are borrowed for the call. */
typedef enum principal_kind {
    PRINCIPAL_ANONYMOUS = 0, /* an unsigned request */
    PRINCIPAL_USER,          /* an authenticated user */
    PRINCIPAL_ROOT           /* the operator's user: owner of everything */
} principal_kind;

typedef struct principal {
    principal_kind kind;
    const char *user;    /* user name; NULL when anonymous */
    const char *account; /* whose buckets it acts on and creates (the owner id
                            of buckets) */
    bool admin;          /* owns account (Swift's account admin); a user that
                            is not reaches only what grants give it */
} principal;

/* The principal of an authenticated user name (NULL: anonymous). The user
 * named "root" is PRINCIPAL_ROOT. A name "ACCOUNT:USER" (Swift's TempAuth
 * and s3api convention) acts for account ACCOUNT: its buckets are owned by
 * ACCOUNT and shared by every ACCOUNT:* user; any other name is its own
 * account. The account name is allocated in a (a NULL arena is allowed
 * only for names without ':'; with one, such a name is then its own
 * account). Borrows user. */
principal objsvc_principal(arena *a, const char *user);
/* The same for a user whose record says whether it is its account's admin
 * (router/users.h roles): a name without ':' is its own account and always
 * owns it; objsvc_principal is this with admin true. */
principal objsvc_principal_roles(arena *a, const char *user, bool admin);
/* The principal of user acting for account as its admin (root or a
 * reseller admin acting on an account's behalf: Swift's
 * /v1/AUTH_<account>). Borrows both. */
principal objsvc_principal_for(const char *user, const char *account);

/* registry: the store of global records (buckets, their per-owner trees);
 * member: the store of the bucket's member cluster (objects, uploads, parts
 * and their trees) — today the same kv, kept apart so the router can point
 * them at different stores. data: where object bytes go. All borrowed;
 * data may be NULL for tools that only manage buckets. Users live in
 * router/users.h, on the registry store. */
kerr objsvc_open(kv *registry, kv *member, data_layer *data, objsvc **out);
/* Sets this gateway's instance id (see obj_meta.home); data written from now
 * on is marked with it and data marked with another id is not read here
 * (K_EUNAVAILABLE) — until remote datanodes let any gateway reach it. */
void objsvc_set_home(objsvc *s, uint64_t home);
void objsvc_close(objsvc *s);

/* --- buckets --- */
/* Creates a bucket owned by p's account. K_EACCESSDENIED (anonymous),
 * K_EINVALIDBUCKETNAME, K_EBUCKETOWNED (p already owns it),
 * K_EBUCKETEXISTS (someone else does). */
kerr objsvc_bucket_create(objsvc *s, const principal *p, const char *name, const char *region,
                          uint8_t acl);
/* What objsvc_bucket_create would refuse before looking at any store
 * (K_EACCESSDENIED, then K_EINVALIDBUCKETNAME): lets a front end answer
 * before it reads a request body. */
kerr objsvc_bucket_create_check(const principal *p, const char *name);

/* What a caller means to do with a bucket; objsvc_bucket_open decides. */
typedef enum bucket_access {
    BUCKET_LOOKUP, /* only find it: the object decides (objsvc_object_open) */
    BUCKET_READ,   /* list its objects, versions and uploads, HEAD it: its
                      owner and root, users its read grants name, and anyone
                      when its ACL is public-read or public-read-write or its
                      read grants hold ".r:*" and ".rlistings" */
    BUCKET_WRITE,  /* write, overwrite and delete its objects (Swift): its
                      owner and root, and users its write grants name */
    BUCKET_OWNER   /* anything else: write, delete or overwrite objects,
                      multipart uploads (but listing them), ACLs and sub-resources, delete the
                      bucket: its owner and root */
} bucket_access;

/* Loads bucket name and decides whether p may access it as acc.
 * K_ENOSUCHBUCKET (to anyone: bucket names are global and public, as in
 * S3), K_EACCESSDENIED. The objsvc calls below that take a bucket_info act
 * for a caller cleared here (BUCKET_OWNER unless they say otherwise). */
kerr objsvc_bucket_open(objsvc *s, arena *a, const principal *p, const char *name,
                        bucket_access acc, bucket_info *out);
/* Whether p owns b (its account's, or root): what only owners see, such as
 * a bucket's grants. */
bool objsvc_bucket_owned(const principal *p, const bucket_info *b);
/* Grants (bucket_info.read_grants / write_grants; Swift's container ACL
 * syntax): a comma-separated list of "ACCOUNT:USER" (that user), "ACCOUNT"
 * (every user of the account) and, in read grants only, ".r:*" (anyone may
 * read the objects) and ".rlistings" (with ".r:*": anyone may list them).
 * A named user may list and read (read grants) or write and delete objects
 * (write grants); the bucket itself stays its owner's. Normalizes in
 * (spaces and empty entries dropped, duplicates once) into *out:
 * K_EINVAL for what Swift refuses, K_ENOTIMPL for referrer rules other than
 * ".r:*". */
kerr objsvc_grants_normalize(arena *a, const char *in, bool write, char **out);
/* Replaces the bucket's read and/or write grants (NULL: unchanged; "":
 * none), normalized as above, with compare-and-set on its record. */
kerr objsvc_bucket_set_grants(objsvc *s, const char *name, const char *read, const char *write);
/* K_ENOSUCHBUCKET, K_EBUCKETNOTEMPTY (objects or in-progress uploads). */
kerr objsvc_bucket_delete(objsvc *s, const char *name);
/* Replaces the bucket's canned ACL (compare-and-set on its record). */
kerr objsvc_bucket_set_acl(objsvc *s, const char *name, uint8_t acl);
/* Changes the bucket's metadata (compare-and-set on its record): each of
 * set replaces the attribute of its name, or removes it when its value is
 * empty; the rest stay. K_EMETADATATOOLARGE when the result would hold more than
 * max_count attributes or max_bytes of names and values. */
kerr objsvc_bucket_set_attrs(objsvc *s, const char *name, const obj_attr *set, uint32_t nset,
                             uint32_t max_count, size_t max_bytes);
/* The buckets of p's account. K_EACCESSDENIED for anonymous callers. */
kerr objsvc_bucket_list(objsvc *s, arena *a, const principal *p, bucket_info **out, size_t *n);
bool objsvc_bucket_name_valid(const char *name);
/* Swift's container names are wider than S3's bucket names: 1 to
 * OBJ_MAX_CONTAINER_NAME bytes of UTF-8 without '/' or control characters
 * (the swift client's "NAME_segments", for one). S3 clients reach such a
 * bucket path-style, as AWS's legacy us-east-1 names. */
#define OBJ_MAX_CONTAINER_NAME 256
bool objsvc_container_name_valid(const char *name);
/* objsvc_bucket_create for a Swift container (private, names as above). */
kerr objsvc_container_create(objsvc *s, const principal *p, const char *name, const char *region);

/* --- accounts ---
 * An account's own record holds its metadata (Swift's X-Account-Meta-*,
 * TempURL keys among them); an account without one has none. */
typedef struct account_info {
    char *name;
    uint32_t nattrs; /* names lower-case, without the prefix */
    obj_attr *attrs;
} account_info;

/* The record of account for p: its own users and root (K_EACCESSDENIED for
 * anyone else). p NULL: no caller, for authentication only (a front end
 * checking a signature against the account's keys). */
kerr objsvc_account_open(objsvc *s, arena *a, const principal *p, const char *account,
                         account_info *out);
/* Changes the account's metadata for p (its users and root), as
 * objsvc_bucket_set_attrs does for a bucket's. */
kerr objsvc_account_set_attrs(objsvc *s, const principal *p, const char *account,
                              const obj_attr *set, uint32_t nset, uint32_t max_count,
                              size_t max_bytes);

/* Reclaims expired objects (OBJ_ATTR_DELETE_AT at or before now_ms): up
 * to max of the earliest expiry entries are looked at; each object whose
 * record still expires then is deleted and its data released. *removed
 * counts the objects deleted. Safe to run from several gateways at once
 * (every deletion is a compare-and-set); a gateway runs it periodically
 * (kura serve --expiry-interval). */
kerr objsvc_expire(objsvc *s, int64_t now_ms, size_t max, size_t *removed);

/* --- objects --- */
/* A condition on the object a write replaces or removes (S3 conditional
 * writes: If-None-Match / If-Match), checked atomically with the
 * compare-and-set that commits the write, against the record being
 * replaced. The front end evaluates the same condition when the request
 * arrives (and answers 412 / 404 then); failing here means another write
 * changed the object in between: K_ECONDCONFLICT (409
 * ConditionalRequestConflict), nothing is replaced and the data the write
 * brought is released. NULL wherever one is taken: unconditional. */
typedef struct obj_cond {
    bool absent;      /* there must be no object (If-None-Match: *) */
    const char *etag; /* there must be an object with this ETag (unquoted;
                         "*": any object) */
} obj_cond;

/* The metadata of object key of b, for a caller that may read it: p, with b
 * from objsvc_bucket_open(BUCKET_LOOKUP) (GET, HEAD, a copy source). The
 * bucket's owner, root and the users its read grants name read every
 * object, anyone else the objects whose ACL is public-read, or every object
 * when the read grants hold ".r:*". An absent key is K_ENOSUCHKEY only to a caller who may
 * list the bucket (BUCKET_READ); to anyone else K_EACCESSDENIED, so that
 * strangers cannot probe which names exist. K_EKEYTOOLONG. */
kerr objsvc_object_open(objsvc *s, arena *a, const principal *p, const bucket_info *b,
                        const char *key, size_t klen, obj_meta *out);
/* The same for the manifest of a large object itself, not its content
 * (Swift's ?multipart-manifest=get). */
kerr objsvc_object_open_manifest(objsvc *s, arena *a, const principal *p, const bucket_info *b,
                                 const char *key, size_t klen, obj_meta *out);
/* The same without a decision, for a caller cleared with BUCKET_OWNER
 * (the manifest of a large object, not its content). */
kerr objsvc_head(objsvc *s, arena *a, const bucket_info *b, const char *key, size_t klen,
                 obj_meta *out);
/* Streams the byte range [off, off+len) of an object for a response body:
 * reads ahead and verifies in the storage's own units (callers need not
 * align). objsvc_reader_read copies up to max bytes at position pos of the
 * range: returns the count, 0 at the end, -1 on an error (logged). m is
 * copied. K_EUNAVAILABLE when this gateway cannot reach the data (never for
 * an empty range: nothing is read). */
typedef struct obj_reader obj_reader;
/* Byte range of part `part` (1-based, <= m->nparts) of a multipart object. */
void objsvc_part_range(const obj_meta *m, uint32_t part, uint64_t *off, uint64_t *len);
kerr objsvc_reader_open(objsvc *s, const obj_meta *m, uint64_t off, uint64_t len, obj_reader **out);
ssize_t objsvc_reader_read(obj_reader *r, uint64_t pos, void *buf, size_t max);
void objsvc_reader_close(obj_reader *r);
/* K_ENOSUCHKEY when absent (S3 DeleteObject maps that to 204). */
kerr objsvc_delete(objsvc *s, const bucket_info *b, const char *key, size_t klen,
                   const obj_cond *cond);
/* Replace only the attributes/acl of an existing object (copy onto itself,
 * PutObjectAcl): data untouched. attrs NULL keeps the current attributes
 * (read in the same compare-and-set, so a concurrent PUT's are never lost). */
kerr objsvc_update_attrs(objsvc *s, arena *a, const bucket_info *b, const char *key, size_t klen,
                         const obj_attr *attrs, uint32_t nattrs, uint8_t acl, const obj_cond *cond,
                         obj_meta *out);
/* objsvc_update_attrs that also replaces the tag set with tags[0..ntags)
 * (checked as objsvc_tags_check with OBJ_MAX_TAGS: K_EINVALIDTAG,
 * K_ETOOMANYTAGS), in the same compare-and-set: CopyObject onto itself with
 * x-amz-tagging-directive: REPLACE. */
kerr objsvc_update_attrs_tags(objsvc *s, arena *a, const bucket_info *b, const char *key,
                              size_t klen, const obj_attr *attrs, uint32_t nattrs, uint8_t acl,
                              const obj_attr *tags, uint32_t ntags, const obj_cond *cond,
                              obj_meta *out);

/* --- tags (S3 object and bucket tagging) ---
 * A tag set is an array of obj_attr (name = key, value = value). What S3
 * takes: at most OBJ_MAX_TAGS per object, BUCKET_MAX_TAGS per bucket; a key
 * of 1..OBJ_TAG_KEY_MAX and a value of 0..OBJ_TAG_VALUE_MAX characters
 * (counted in UTF-16 code units, as AWS counts), made of Unicode letters,
 * digits and spaces and the characters + - = . _ : / @ (well-formed UTF-8);
 * no two tags with one key; no key starting with "aws:" (reserved). */
#define OBJ_MAX_TAGS 10
#define BUCKET_MAX_TAGS 50
#define OBJ_TAG_KEY_MAX 128
#define OBJ_TAG_VALUE_MAX 256
/* Checks tags[0..n) against the rules above with at most max tags: K_OK,
 * K_ETOOMANYTAGS (n > max), or K_EINVALIDTAG with *why the AWS message and
 * *bad_key the key at fault (NULL when the message names none). Pure: no
 * store, usable by a front end before it answers. */
kerr objsvc_tags_check(const obj_attr *tags, uint32_t n, uint32_t max, const char **why,
                       const char **bad_key);
/* Replaces the tag set of object key of b (cleared with BUCKET_OWNER) with
 * tags[0..ntags) (0: removes every tag), checked as objsvc_tags_check with
 * OBJ_MAX_TAGS; data, attributes, ACL, ETag and Last-Modified stay (S3
 * PutObjectTagging / DeleteObjectTagging). Compare-and-set on the record:
 * a concurrent PUT's object is either tagged whole or not at all.
 * K_ENOSUCHKEY (an expired object included). out: the record written. */
kerr objsvc_set_tags(objsvc *s, arena *a, const bucket_info *b, const char *key, size_t klen,
                     const obj_attr *tags, uint32_t ntags, obj_meta *out);
/* Replaces the bucket's tag set (compare-and-set on its record), checked
 * with BUCKET_MAX_TAGS; ntags 0 removes it. K_ENOSUCHBUCKET. */
kerr objsvc_bucket_set_tags(objsvc *s, const char *name, const obj_attr *tags, uint32_t ntags);

/* Streaming upload of a whole object (PUT) or of one part. */
typedef struct obj_put obj_put;
/* obj_put_opts.size for a body whose length is not known up front (HTTP
 * chunked without x-amz-decoded-content-length): the data is then stored as
 * a run of segments of at most DATA_SEGMENT_SIZE, each durable on its own. */
#define OBJ_SIZE_UNKNOWN UINT64_MAX

typedef struct obj_put_opts {
    uint64_t size;
    const obj_attr *attrs;
    uint32_t nattrs;
    uint8_t acl;
    cksum_alg ck_alg;     /* checksum to compute (CK_NONE: none) */
    const obj_cond *cond; /* checked at commit; must live until finish/abort */
    const obj_attr *tags; /* the new object's tag set (objsvc_tags_check; borrowed
                             until finish/abort), ntags 0: none */
    uint32_t ntags;
} obj_put_opts;

kerr objsvc_put_begin(objsvc *s, arena *a, const bucket_info *b, const char *key, size_t klen,
                      const obj_put_opts *o, obj_put **out);
kerr objsvc_put_write(obj_put *p, const void *data, size_t n);
/* Writes bytes [off, off+len) of object src (from objsvc_object_open) into
 * p, as objsvc_put_write would: CopyObject and UploadPartCopy. The bytes are
 * read and verified in the storage's own units. K_EINVALIDRANGE when the
 * range is not inside src, K_EUNAVAILABLE when this gateway cannot reach
 * src's data. */
kerr objsvc_put_copy(obj_put *p, const obj_meta *src, uint64_t off, uint64_t len);
/* Expectations checked before anything becomes visible. */
typedef struct obj_put_expect {
    const uint8_t *md5; /* Content-MD5, or NULL */
    const uint8_t *ck;  /* expected checksum of ck_alg, or NULL */
    size_t ck_len;
} obj_put_expect;
/* Computed digests, available after objsvc_put_finish, even on failure
 * (so a caller can report what it got). */
size_t objsvc_put_cksum(const obj_put *p, uint8_t out[32]);
/* Verifies, makes the data and the record durable, then frees p. K_EBADDIGEST
 * on a mismatch (nothing stored). */
kerr objsvc_put_finish(obj_put *p, const obj_put_expect *e, obj_meta *out);
void objsvc_put_abort(obj_put *p);

/* An SLO segment as a client names it (Swift's ?multipart-manifest=put):
 * etag NULL and size UINT64_MAX when not given (not checked). */
typedef struct obj_slo_in {
    const char *bucket;
    const char *key;
    size_t klen;
    const char *etag; /* unquoted hex */
    uint64_t size;
    const char *range; /* Swift's "range" ("A-B", "A-", "-N"), or NULL: all */
} obj_slo_in;

/* Why a segment was refused (errs[i] of objsvc_slo_put). */
typedef enum obj_slo_problem {
    SLO_SEG_OK = 0,
    SLO_SEG_NOT_FOUND,     /* no such object (or bucket) */
    SLO_SEG_FORBIDDEN,     /* p may not read it */
    SLO_SEG_ETAG_MISMATCH, /* etag given and different */
    SLO_SEG_SIZE_MISMATCH, /* size given and different */
    SLO_SEG_BAD_RANGE,     /* range malformed or outside the segment */
    SLO_SEG_TOO_SMALL,     /* an empty segment (or range) */
    SLO_SEG_ERROR          /* the store failed (the call's error says why) */
} obj_slo_problem;

/* Writes key of b (cleared with BUCKET_WRITE for p) as an SLO of the n
 * segments in (0..OBJ_SLO_MAX_SEGMENTS), each of which p must be able to
 * read; every segment but the last must hold at least one byte. With any
 * segment refused, nothing is written: K_EINVAL and errs[i] (n entries,
 * allocated in a) tells each one's problem. want_etag (quotes allowed, or
 * NULL): the content ETag the client expects, K_EBADDIGEST (nothing
 * written) when it differs. attrs/nattrs/acl as obj_put_opts; the content
 * type of the manifest is among attrs. On success out is the record
 * written (size and etag: the content's). */
kerr objsvc_slo_put(objsvc *s, arena *a, const principal *p, const bucket_info *b, const char *key,
                    size_t klen, const obj_slo_in *in, uint32_t n, const obj_attr *attrs,
                    uint32_t nattrs, uint8_t acl, const char *want_etag, obj_meta *out,
                    obj_slo_problem **errs);

/* --- multipart --- */
typedef struct upload_info {
    char *key;
    size_t klen;
    char upload_id[33];
    int64_t initiated_ms;
    char *owner;
    obj_meta proto; /* attrs, tags, acl, ck_alg to apply at completion */
} upload_info;

typedef struct part_info {
    uint32_t number;
    uint64_t size;
    int64_t mtime_ms;
    uint8_t md5[16];
    uint8_t ck_len;
    uint8_t ck[32];
} part_info;

/* tags/ntags: the tag set the object gets at completion (checked as
 * objsvc_tags_check with OBJ_MAX_TAGS; kept in the upload record). */
kerr objsvc_mpu_create(objsvc *s, arena *a, const bucket_info *b, const char *key, size_t klen,
                       const obj_attr *attrs, uint32_t nattrs, const obj_attr *tags, uint32_t ntags,
                       uint8_t acl, cksum_alg ck_alg, cksum_type ck_type, const char *owner,
                       char upload_id[33]);
kerr objsvc_mpu_get(objsvc *s, arena *a, const bucket_info *b, const char *upload_id,
                    upload_info *out);
/* Part upload: a put whose finish records a part (out->etag = part md5). */
kerr objsvc_part_begin(objsvc *s, arena *a, const bucket_info *b, const upload_info *u,
                       uint32_t part_number, uint64_t size, obj_put **out);
kerr objsvc_mpu_list_parts(objsvc *s, arena *a, const upload_info *u, uint32_t after, uint32_t max,
                           part_info **out, size_t *n, bool *truncated);
typedef struct mpu_complete_part {
    uint32_t number;
    uint8_t md5[16]; /* from the ETag the client sent */
    bool has_ck;
    uint8_t ck[32];
} mpu_complete_part;
/* What the client asserts about the object a completion makes, checked
 * before it becomes visible. NULL: nothing. */
typedef struct mpu_complete_expect {
    const obj_cond *cond; /* conditional write, as for a PUT */
    uint64_t size;        /* x-amz-mp-object-size, or OBJ_SIZE_UNKNOWN:
                             K_EINVALIDREQUEST when the parts add up to another */
    const uint8_t *ck;    /* the object's checksum of the upload's algorithm
                             and type (full-object CRC, or the composite
                             checksum of the parts' checksums), or NULL:
                             K_EBADDIGEST when it is not the one computed */
    size_t ck_len;
} mpu_complete_expect;
/* On failure the upload and its parts stay, for a retry or an abort. */
kerr objsvc_mpu_complete(objsvc *s, arena *a, const bucket_info *b, const upload_info *u,
                         const mpu_complete_part *parts, size_t nparts,
                         const mpu_complete_expect *x, obj_meta *out);
kerr objsvc_mpu_abort(objsvc *s, const bucket_info *b, const upload_info *u);
typedef struct mpu_list_entry {
    upload_info u;
    bool is_prefix;
    char *prefix;
    size_t prefix_len;
} mpu_list_entry;
/* A listing request: names of a bucket (or upload names, "key" then the
 * upload id) in ascending byte order. */
typedef struct obj_list_req {
    const char *prefix; /* only names starting with prefix */
    size_t prefix_len;
    const char *start_after; /* only names > start_after (bytewise) */
    size_t start_after_len;
    const char *delim; /* when set, roll names up into common prefixes
                          (prefix + text up to and including the first
                          delimiter after it) */
    size_t delim_len;
    size_t max_entries; /* names + common prefixes returned; 0: 1000 */
} obj_list_req;

kerr objsvc_mpu_list(objsvc *s, arena *a, const bucket_info *b, const obj_list_req *req,
                     mpu_list_entry **out, size_t *n, bool *truncated);

/* --- listing (b cleared with BUCKET_READ) --- */
typedef struct list_entry {
    char *key;
    size_t klen;
    bool is_prefix;
    obj_meta meta; /* only for keys */
} list_entry;
kerr objsvc_list(objsvc *s, arena *a, const bucket_info *b, const obj_list_req *req,
                 list_entry **out, size_t *n, bool *truncated);

#endif
