/* SPDX-License-Identifier: Apache-2.0 */
/* The XML request bodies of the S3 front end, read into plain values:
 * CreateBucketConfiguration, AccessControlPolicy (PutBucketAcl and
 * PutObjectAcl), Delete (DeleteObjects), CompleteMultipartUpload and
 * Tagging (PutObjectTagging, PutBucketTagging, POST Object's tagging
 * field); and the x-amz-tagging header's query string. Pure
 * functions over the body bytes: no I/O, no object service, everything they
 * return lives in the given arena. s3.c answers by the result; the
 * libFuzzer harness tests/fuzz/fuzz_s3_xml.c drives every one of them.
 *
 * Each reader takes the body as received (p[0..n), any bytes) and never
 * reads past it. A body that is not XML, or whose root element is not the
 * one the operation takes, is MalformedXML. */
#ifndef KURA_GATEWAY_S3_BODIES_H
#define KURA_GATEWAY_S3_BODIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/hash.h"
#include "gateway/objsvc.h"

/* CreateBucketConfiguration. */
typedef enum s3_create_bucket_result {
    S3_CREATE_BUCKET_OK,
    S3_CREATE_BUCKET_MALFORMED,       /* 400 MalformedXML: not XML, another root, an
                                         unknown element */
    S3_CREATE_BUCKET_NOTIMPL,         /* 501: Location, Bucket or Tags (directory buckets,
                                         tags at creation) */
    S3_CREATE_BUCKET_INVALID_LOCATION /* 400 InvalidLocationConstraint (s3_location_valid) */
} s3_create_bucket_result;
/* *location: the LocationConstraint when the body names a non-empty one,
 * else NULL (the server's region). */
s3_create_bucket_result s3_body_create_bucket(arena *a, const char *p, size_t n,
                                              const char **location);

/* AccessControlPolicy. kura represents exactly three ACLs (objsvc.h
 * acl_canned): the owner's FULL_CONTROL (private), plus AllUsers READ
 * (public-read), plus AllUsers WRITE (public-read-write). */
typedef enum s3_acl_result {
    S3_ACL_OK,          /* *acl set */
    S3_ACL_MALFORMED,   /* 400 MalformedXML: empty, not XML, another root */
    S3_ACL_BAD_GRANT,   /* 400 MalformedACLError: a Grant without Grantee or with a
                           Permission S3 does not define */
    S3_ACL_OTHER_OWNER, /* 501: an Owner ID other than owner (kura cannot change owners) */
    S3_ACL_NOTIMPL      /* 501: a grant kura cannot represent, or the owner left without
                           FULL_CONTROL */
} s3_acl_result;
s3_acl_result s3_body_acl(arena *a, const char *p, size_t n, const char *owner, uint8_t *acl);

/* Delete (DeleteObjects): 1 to S3_DELETE_MAX_OBJECTS objects. */
#define S3_DELETE_MAX_OBJECTS 1000
typedef struct s3_delete_object {
    const char *key; /* the Key element's text (any bytes; key_len of them) */
    size_t key_len;
    const char *version_id; /* NULL when absent */
    const char *etag;       /* the ETag element without surrounding blanks and quotes,
                               NULL when absent */
    bool other_conditions;  /* LastModifiedTime or Size given (not implemented) */
} s3_delete_object;
typedef struct s3_delete_body {
    bool quiet;
    size_t n; /* 1..S3_DELETE_MAX_OBJECTS */
    s3_delete_object *objects;
} s3_delete_body;
/* false: 400 MalformedXML (empty, not XML, another root, an Object without
 * Key, no Object or more than S3_DELETE_MAX_OBJECTS). */
bool s3_body_delete(arena *a, const char *p, size_t n, s3_delete_body *out);

/* CompleteMultipartUpload. alg: the upload's checksum algorithm; with one,
 * a part's Checksum<ALG> element (CRC32, SHA256, ...) is decoded into
 * has_ck / ck. Parts come out in the body's order (objsvc checks the order
 * and the ETags against the stored parts). */
typedef enum s3_complete_result {
    S3_COMPLETE_OK,
    S3_COMPLETE_MALFORMED,   /* 400 MalformedXML: empty, not XML, another root, no Part, a
                                Part without PartNumber or ETag, a PartNumber not in
                                1..OBJ_MAX_PARTS */
    S3_COMPLETE_INVALID_PART /* 400 InvalidPart: an ETag that is not a quoted or bare MD5
                                in hex, a checksum of the wrong size or not base64 */
} s3_complete_result;
/* The first failing Part decides the result (in body order). */
s3_complete_result s3_body_complete(arena *a, const char *p, size_t n, cksum_alg alg,
                                    mpu_complete_part **parts, size_t *count);

/* Tagging: <Tagging><TagSet><Tag><Key>K</Key><Value>V</Value></Tag>...
 * </TagSet></Tagging>. false: 400 MalformedXML (empty, not XML, another
 * root, no TagSet or more than one, anything but Tag elements in it, a Tag
 * without exactly one Key and one Value or with other elements, a NUL
 * character in a key or value). *tags (name = key, value = value, in body
 * order, allocated in a) is not checked against the tag rules: that is
 * objsvc_tags_check's job. */
bool s3_body_tagging(arena *a, const char *p, size_t n, obj_attr **tags, uint32_t *count);

/* The x-amz-tagging header: an URL query string "k1=v1&k2=v2" (percent
 * escapes, '+' a space; a pair without '=' is a key with an empty value;
 * empty pairs are skipped; "" is no tag). false: 400 InvalidArgument (a
 * malformed escape, text that is not UTF-8, or a NUL). Not checked against
 * the tag rules, as above. */
bool s3_tagging_query(arena *a, const char *q, obj_attr **tags, uint32_t *count);

#endif
