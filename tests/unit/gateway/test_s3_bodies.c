/* SPDX-License-Identifier: Apache-2.0 */
/* gateway/s3_bodies.h: the XML request bodies (CreateBucketConfiguration,
 * AccessControlPolicy, Delete, CompleteMultipartUpload) read into values,
 * with the answer each refusal gets. Bodies are copied into exactly-sized
 * heap buffers so AddressSanitizer catches a read past the end. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "gateway/s3_bodies.h"

#define NS "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""
#define OWNER "alice"

static int setup(void **state) {
    *state = arena_new(0);
    return 0;
}

static int teardown(void **state) {
    arena_free(*state);
    return 0;
}

/* A heap copy of s with nothing after it; the caller frees it. */
static char *exact(const char *s, size_t *n) {
    *n = strlen(s);
    char *c = malloc(*n ? *n : 1);
    assert_non_null(c);
    memcpy(c, s, *n);
    return c;
}

static s3_create_bucket_result create(arena *a, const char *body, const char **loc) {
    size_t n;
    char *p = exact(body, &n);
    s3_create_bucket_result r = s3_body_create_bucket(a, p, n, loc);
    free(p);
    return r;
}

static void test_create_bucket(void **state) {
    arena *a = *state;
    const char *loc = "unset";
    assert_int_equal(create(a,
                            "<CreateBucketConfiguration " NS "><LocationConstraint>eu-west-1"
                            "</LocationConstraint></CreateBucketConfiguration>",
                            &loc),
                     S3_CREATE_BUCKET_OK);
    assert_string_equal(loc, "eu-west-1");
    /* empty constraint, or none: the server's region */
    assert_int_equal(create(a,
                            "<CreateBucketConfiguration><LocationConstraint/>"
                            "</CreateBucketConfiguration>",
                            &loc),
                     S3_CREATE_BUCKET_OK);
    assert_null(loc);
    assert_int_equal(create(a, "<CreateBucketConfiguration/>", &loc), S3_CREATE_BUCKET_OK);
    assert_null(loc);
    assert_int_equal(create(a,
                            "<CreateBucketConfiguration><LocationConstraint>Not A Region"
                            "</LocationConstraint></CreateBucketConfiguration>",
                            &loc),
                     S3_CREATE_BUCKET_INVALID_LOCATION);
    assert_int_equal(create(a,
                            "<CreateBucketConfiguration><Tags><Tag><Key>k</Key></Tag></Tags>"
                            "</CreateBucketConfiguration>",
                            &loc),
                     S3_CREATE_BUCKET_NOTIMPL);
    assert_int_equal(
        create(a, "<CreateBucketConfiguration><Bucket/></CreateBucketConfiguration>", &loc),
        S3_CREATE_BUCKET_NOTIMPL);
    assert_int_equal(
        create(a, "<CreateBucketConfiguration><Other/></CreateBucketConfiguration>", &loc),
        S3_CREATE_BUCKET_MALFORMED);
    assert_int_equal(create(a, "<Delete/>", &loc), S3_CREATE_BUCKET_MALFORMED);
    assert_int_equal(create(a, "<CreateBucketConfiguration>", &loc), S3_CREATE_BUCKET_MALFORMED);
}

static s3_acl_result acl_of(arena *a, const char *body, uint8_t *acl) {
    size_t n;
    char *p = exact(body, &n);
    s3_acl_result r = s3_body_acl(a, p, n, OWNER, acl);
    free(p);
    return r;
}

#define OWNER_FULL                                                                                 \
    "<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "                     \
    "xsi:type=\"CanonicalUser\"><ID>" OWNER "</ID></Grantee><Permission>FULL_CONTROL"              \
    "</Permission></Grant>"
#define ALL_USERS(perm)                                                                            \
    "<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "                     \
    "xsi:type=\"Group\"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee>"      \
    "<Permission>" perm "</Permission></Grant>"
#define POLICY(grants)                                                                             \
    "<AccessControlPolicy " NS "><Owner><ID>" OWNER "</ID></Owner><AccessControlList>" grants      \
    "</AccessControlList></AccessControlPolicy>"

static void test_acl(void **state) {
    arena *a = *state;
    uint8_t acl = 0xEE;
    assert_int_equal(acl_of(a, POLICY(OWNER_FULL), &acl), S3_ACL_OK);
    assert_int_equal(acl, ACL_PRIVATE);
    assert_int_equal(acl_of(a, POLICY(OWNER_FULL ALL_USERS("READ")), &acl), S3_ACL_OK);
    assert_int_equal(acl, ACL_PUBLIC_READ);
    assert_int_equal(acl_of(a, POLICY(ALL_USERS("WRITE") OWNER_FULL ALL_USERS("READ")), &acl),
                     S3_ACL_OK);
    assert_int_equal(acl, ACL_PUBLIC_READ_WRITE);
    acl = 0xEE;
    /* what kura cannot represent, and leaves untouched */
    assert_int_equal(acl_of(a, POLICY(OWNER_FULL ALL_USERS("WRITE")), &acl), S3_ACL_NOTIMPL);
    assert_int_equal(acl_of(a, POLICY(OWNER_FULL ALL_USERS("FULL_CONTROL")), &acl), S3_ACL_NOTIMPL);
    assert_int_equal(acl_of(a, POLICY(ALL_USERS("READ")), &acl), S3_ACL_NOTIMPL);
    assert_int_equal(acl_of(a,
                            POLICY(OWNER_FULL "<Grant><Grantee><EmailAddress>b@example.com"
                                              "</EmailAddress></Grantee><Permission>READ"
                                              "</Permission></Grant>"),
                            &acl),
                     S3_ACL_NOTIMPL);
    assert_int_equal(acl, 0xEE);
    assert_int_equal(acl_of(a,
                            "<AccessControlPolicy><Owner><ID>mallory</ID></Owner>"
                            "</AccessControlPolicy>",
                            &acl),
                     S3_ACL_OTHER_OWNER);
    assert_int_equal(
        acl_of(a, POLICY(OWNER_FULL "<Grant><Permission>READ</Permission></Grant>"), &acl),
        S3_ACL_BAD_GRANT);
    assert_int_equal(acl_of(a,
                            POLICY("<Grant><Grantee><ID>" OWNER "</ID></Grantee><Permission>ALL"
                                   "</Permission></Grant>"),
                            &acl),
                     S3_ACL_BAD_GRANT);
    assert_int_equal(acl_of(a, "", &acl), S3_ACL_MALFORMED);
    assert_int_equal(acl_of(a, "<Policy/>", &acl), S3_ACL_MALFORMED);
    assert_int_equal(acl, 0xEE);
}

static bool delete_of(arena *a, const char *body, s3_delete_body *d) {
    size_t n;
    char *p = exact(body, &n);
    bool r = s3_body_delete(a, p, n, d);
    free(p);
    return r;
}

static void test_delete(void **state) {
    arena *a = *state;
    s3_delete_body d;
    assert_true(delete_of(a,
                          "<Delete " NS "><Quiet>TRUE</Quiet><Object><Key>a&amp;b</Key></Object>"
                          "<Object><Key>v</Key><VersionId>null</VersionId><ETag> \"e1\" </ETag>"
                          "</Object><Object><Key></Key><Size>3</Size></Object></Delete>",
                          &d));
    assert_true(d.quiet);
    assert_int_equal(d.n, 3);
    assert_int_equal(d.objects[0].key_len, 3);
    assert_memory_equal(d.objects[0].key, "a&b", 3);
    assert_null(d.objects[0].version_id);
    assert_null(d.objects[0].etag);
    assert_false(d.objects[0].other_conditions);
    assert_string_equal(d.objects[1].version_id, "null");
    assert_string_equal(d.objects[1].etag, "e1"); /* blanks and quotes gone */
    assert_int_equal(d.objects[2].key_len, 0);
    assert_true(d.objects[2].other_conditions);
    assert_true(delete_of(a, "<Delete><Object><Key>x</Key></Object></Delete>", &d));
    assert_false(d.quiet);
    assert_int_equal(d.n, 1);
    /* refusals */
    assert_false(delete_of(a, "<Delete><Quiet>true</Quiet></Delete>", &d));
    assert_false(delete_of(a, "<Delete><Object><VersionId>1</VersionId></Object></Delete>", &d));
    assert_false(delete_of(a, "<Remove><Object><Key>x</Key></Object></Remove>", &d));
    assert_false(delete_of(a, "", &d));
    kbuf big = KBUF_INIT;
    kbuf_puts(&big, "<Delete>");
    for (int i = 0; i < S3_DELETE_MAX_OBJECTS; i++)
        kbuf_printf(&big, "<Object><Key>%d</Key></Object>", i);
    kbuf_puts(&big, "</Delete>");
    assert_true(delete_of(a, big.data, &d));
    assert_int_equal(d.n, S3_DELETE_MAX_OBJECTS);
    big.len -= strlen("</Delete>");
    kbuf_puts(&big, "<Object><Key>one too many</Key></Object></Delete>");
    assert_false(delete_of(a, big.data, &d));
    kbuf_free(&big);
}

static s3_complete_result complete_of(arena *a, const char *body, cksum_alg alg,
                                      mpu_complete_part **parts, size_t *count) {
    size_t n;
    char *p = exact(body, &n);
    s3_complete_result r = s3_body_complete(a, p, n, alg, parts, count);
    free(p);
    return r;
}

#define PART(num, etag) "<Part><PartNumber>" num "</PartNumber><ETag>" etag "</ETag></Part>"

static const char complete_three[] =
    "<CompleteMultipartUpload " NS ">" PART("1", "\"a54357aff0632cce46d942af68356b38\"")
        PART("10000", "0C78AEF83F66ABC1FA1E8477F296D394")
            PART("2", "&quot;acbd18db4cc2f85cedef654fccc4a4d8&quot;") "<Other/>"
                                                                      "</CompleteMultipartUpload>";
static const char complete_crc32[] =
    "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"
    "a54357aff0632cce46d942af68356b38</ETag><ChecksumCRC32>bXK3Vw==</ChecksumCRC32>"
    "<ChecksumSHA256>x</ChecksumSHA256></Part></CompleteMultipartUpload>";
static const char complete_crc32_short[] =
    "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"
    "a54357aff0632cce46d942af68356b38</ETag><ChecksumCRC32>AAAA</ChecksumCRC32></Part>"
    "</CompleteMultipartUpload>";
static const char complete_part0[] = "<CompleteMultipartUpload>" PART(
    "0", "a54357aff0632cce46d942af68356b38") "</CompleteMultipartUpload>";
static const char complete_no_etag[] =
    "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>";
static const char complete_bad_etag_first[] =
    "<CompleteMultipartUpload>" PART("1", "\"not-an-md5\"")
        PART("10001", "a54357aff0632cce46d942af68356b38") "</CompleteMultipartUpload>";

static void test_complete(void **state) {
    arena *a = *state;
    mpu_complete_part *parts;
    size_t count;
    assert_int_equal(complete_of(a, complete_three, CK_NONE, &parts, &count), S3_COMPLETE_OK);
    assert_int_equal(count, 3);
    assert_int_equal(parts[0].number, 1);
    assert_int_equal(parts[0].md5[0], 0xa5);
    assert_int_equal(parts[1].number, 10000);
    assert_int_equal(parts[1].md5[15], 0x94);
    assert_int_equal(parts[2].number, 2); /* body order; objsvc checks the order */
    assert_int_equal(parts[2].md5[0], 0xac);
    assert_false(parts[0].has_ck);
    /* with the upload's checksum algorithm, its element is read */
    assert_int_equal(complete_of(a, complete_crc32, CK_CRC32, &parts, &count), S3_COMPLETE_OK);
    assert_true(parts[0].has_ck);
    assert_memory_equal(parts[0].ck, "\x6d\x72\xb7\x57", 4);
    /* 3 bytes, not 4 */
    assert_int_equal(complete_of(a, complete_crc32_short, CK_CRC32, &parts, &count),
                     S3_COMPLETE_INVALID_PART);
    /* malformed: no part, a number out of range, a missing ETag */
    assert_int_equal(complete_of(a, "<CompleteMultipartUpload/>", CK_NONE, &parts, &count),
                     S3_COMPLETE_MALFORMED);
    assert_int_equal(complete_of(a, complete_part0, CK_NONE, &parts, &count),
                     S3_COMPLETE_MALFORMED);
    assert_int_equal(complete_of(a, complete_no_etag, CK_NONE, &parts, &count),
                     S3_COMPLETE_MALFORMED);
    /* the first failing part decides: here the ETag that is not an MD5 */
    assert_int_equal(complete_of(a, complete_bad_etag_first, CK_NONE, &parts, &count),
                     S3_COMPLETE_INVALID_PART);
    assert_int_equal(complete_of(a, "", CK_NONE, &parts, &count), S3_COMPLETE_MALFORMED);
    assert_int_equal(complete_of(a, "<Delete/>", CK_NONE, &parts, &count), S3_COMPLETE_MALFORMED);
}

static void test_tagging(void **state) {
    arena *a = *state;
    obj_attr *tags;
    uint32_t n;
    const char *good = "<Tagging xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><TagSet>"
                       "<Tag><Key>a</Key><Value>1</Value></Tag>"
                       "<Tag><Value></Value><Key>b&amp;c</Key></Tag></TagSet></Tagging>";
    assert_true(s3_body_tagging(a, good, strlen(good), &tags, &n));
    assert_int_equal(n, 2);
    assert_string_equal(tags[0].name, "a");
    assert_string_equal(tags[0].value, "1");
    assert_string_equal(tags[1].name, "b&c");
    assert_string_equal(tags[1].value, "");
    const char *empty = "<Tagging><TagSet/></Tagging>";
    assert_true(s3_body_tagging(a, empty, strlen(empty), &tags, &n));
    assert_int_equal(n, 0);
    /* not checked against the tag rules here: duplicates still read */
    const char *dup = "<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag>"
                      "<Tag><Key>a</Key><Value>2</Value></Tag></TagSet></Tagging>";
    assert_true(s3_body_tagging(a, dup, strlen(dup), &tags, &n));
    assert_int_equal(n, 2);
    const char *const bad[] = {
        "",
        "junk",
        "<Tagging/>",
        "<Other><TagSet/></Other>",
        "<Tagging><TagSet/><TagSet/></Tagging>",
        "<Tagging><TagSet/><Extra/></Tagging>",
        "<Tagging><TagSet><Tag><Key>a</Key></Tag></TagSet></Tagging>",
        "<Tagging><TagSet><Tag><Value>a</Value></Tag></TagSet></Tagging>",
        "<Tagging><TagSet><Tag><Key>a</Key><Key>b</Key><Value/></Tag></TagSet></Tagging>",
        "<Tagging><TagSet><Tag><Key>a</Key><Value/><Other/></Tag></TagSet></Tagging>",
        "<Tagging><TagSet><Tag><Key><b/></Key><Value/></Tag></TagSet></Tagging>",
        "<Tagging><TagSet><Item><Key>a</Key><Value/></Item></TagSet></Tagging>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_false(s3_body_tagging(a, bad[i], strlen(bad[i]), &tags, &n));
}

static void test_tagging_query(void **state) {
    arena *a = *state;
    obj_attr *tags;
    uint32_t n;
    assert_true(s3_tagging_query(a, "a=1&b=x%20y+z&c=&d&&e=%C3%A4=%2B", &tags, &n));
    assert_int_equal(n, 5);
    const char *want[][2] = {{"a", "1"}, {"b", "x y z"}, {"c", ""}, {"d", ""}, {"e", "\xc3\xa4=+"}};
    for (uint32_t i = 0; i < 5; i++) {
        assert_string_equal(tags[i].name, want[i][0]);
        assert_string_equal(tags[i].value, want[i][1]);
    }
    assert_true(s3_tagging_query(a, "", &tags, &n));
    assert_int_equal(n, 0);
    assert_false(s3_tagging_query(a, "a=%zz", &tags, &n));
    assert_false(s3_tagging_query(a, "a%2=1", &tags, &n));
    assert_false(s3_tagging_query(a, "a=%FF", &tags, &n));
    assert_false(s3_tagging_query(a, "a=%00", &tags, &n));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_bucket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_acl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_complete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tagging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tagging_query, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
