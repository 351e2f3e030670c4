/* SPDX-License-Identifier: Apache-2.0 */
/* gateway/s3_rules.h: which query parameters are sub-resources, canned
 * ACLs, storage classes, SSE values, LocationConstraint and website
 * redirect validation, ETag lists and conditional request headers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "gateway/objsvc.h"
#include "gateway/s3_rules.h"

/* A request whose query is the given name/value pairs (value NULL: no '='). */
static const char *sub_of(const char *const *pairs, size_t n, bool *known) {
    static http_param q[16];
    http_req h;
    memset(&h, 0, sizeof h);
    for (size_t i = 0; i < n; i++) {
        q[i].name = q[i].raw_name = pairs[2 * i];
        q[i].value = q[i].raw_value = pairs[2 * i + 1];
    }
    h.query = q;
    h.nquery = n;
    return s3_subresource(&h, known);
}

static void test_subresources(void **st) {
    (void)st;
    bool known = true;
    assert_null(sub_of(NULL, 0, &known));
    /* ordinary parameters, with or without values */
    const char *ord[] = {
        "list-type",          "2", "prefix",     "",          "delimiter",       "/",
        "continuation-token", "",  "x-id",       "PutObject", "X-Amz-Signature", "ab",
        "response-expires",   "",  "partNumber", "1",         "versionId",       "null",
        "AWSAccessKeyId",     "x"};
    assert_null(sub_of(ord, 10, &known));
    /* a parameter with a value that is neither: ignored, as AWS does */
    const char *buster[] = {"_", "12345", "foo", "bar"};
    assert_null(sub_of(buster, 2, &known));
    /* S3 sub-resources, whatever their value */
    const char *names[] = {"acl",
                           "policyStatus",
                           "tagging",
                           "uploads",
                           "uploadId",
                           "delete",
                           "versions",
                           "object-lock",
                           "intelligent-tiering",
                           "metadataTable",
                           "legal-hold",
                           "retention",
                           "restore",
                           "select",
                           "attributes",
                           "torrent",
                           "publicAccessBlock",
                           "ownershipControls",
                           "website"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const char *p[] = {"x-id", "Op", names[i], NULL};
        const char *got = sub_of(p, 2, &known);
        assert_non_null(got);
        assert_string_equal(got, names[i]);
        assert_true(known);
        const char *pv[] = {names[i], "anything"};
        assert_string_equal(sub_of(pv, 1, &known), names[i]);
        assert_true(known);
    }
    /* a valueless (or empty-valued) parameter nobody knows: an unknown
     * sub-resource, never ignored */
    const char *unk[] = {"list-type", "2", "foo", NULL};
    assert_string_equal(sub_of(unk, 2, &known), "foo");
    assert_false(known);
    const char *unk2[] = {"bar", ""};
    assert_string_equal(sub_of(unk2, 1, &known), "bar");
    assert_false(known);
    /* case matters for S3's names */
    const char *caps[] = {"ACL", NULL};
    assert_string_equal(sub_of(caps, 1, &known), "ACL");
    assert_false(known);
}

static void test_canned(void **st) {
    (void)st;
    uint8_t acl = 99;
    assert_int_equal(s3_canned_acl(NULL, &acl), S3_CANNED_OK);
    assert_int_equal(acl, ACL_PRIVATE);
    assert_int_equal(s3_canned_acl("public-read", &acl), S3_CANNED_OK);
    assert_int_equal(acl, ACL_PUBLIC_READ);
    assert_int_equal(s3_canned_acl("public-read-write", &acl), S3_CANNED_OK);
    assert_int_equal(acl, ACL_PUBLIC_READ_WRITE);
    assert_int_equal(s3_canned_acl("bucket-owner-full-control", &acl), S3_CANNED_OK);
    assert_int_equal(acl, ACL_PRIVATE);
    assert_int_equal(s3_canned_acl("bucket-owner-read", &acl), S3_CANNED_OK);
    assert_int_equal(acl, ACL_PRIVATE);
    assert_int_equal(s3_canned_acl("authenticated-read", &acl), S3_CANNED_NOTIMPL);
    assert_int_equal(s3_canned_acl("aws-exec-read", &acl), S3_CANNED_NOTIMPL);
    assert_int_equal(s3_canned_acl("log-delivery-write", &acl), S3_CANNED_NOTIMPL);
    assert_int_equal(s3_canned_acl("Public-Read", &acl), S3_CANNED_INVALID);
    assert_int_equal(s3_canned_acl("", &acl), S3_CANNED_INVALID);
}

static void test_storage_class_sse(void **st) {
    (void)st;
    assert_int_equal(s3_storage_class("STANDARD"), S3_STORAGE_STANDARD);
    const char *others[] = {"REDUCED_REDUNDANCY",
                            "STANDARD_IA",
                            "ONEZONE_IA",
                            "INTELLIGENT_TIERING",
                            "GLACIER",
                            "DEEP_ARCHIVE",
                            "OUTPOSTS",
                            "GLACIER_IR",
                            "SNOW",
                            "EXPRESS_ONEZONE"};
    for (size_t i = 0; i < sizeof others / sizeof *others; i++)
        assert_int_equal(s3_storage_class(others[i]), S3_STORAGE_UNSUPPORTED);
    assert_int_equal(s3_storage_class("standard"), S3_STORAGE_INVALID);
    assert_int_equal(s3_storage_class("COLD"), S3_STORAGE_INVALID);
    assert_int_equal(s3_storage_class(""), S3_STORAGE_INVALID);
    assert_true(s3_sse_known("AES256"));
    assert_true(s3_sse_known("aws:kms"));
    assert_true(s3_sse_known("aws:kms:dsse"));
    assert_false(s3_sse_known("aes256"));
    assert_false(s3_sse_known("ROT13"));
}

static void test_location(void **st) {
    (void)st;
    const char *good[] = {"us-east-1",
                          "eu-west-3",
                          "ap-southeast-2",
                          "us-gov-west-1",
                          "cn-north-1",
                          "il-central-1",
                          "EU",
                          "local",
                          "a"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        if (!s3_location_valid(good[i])) fail_msg("refused %s", good[i]);
    char big[100 * 1024 + 1];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    const char *bad[] = {
        "",         "US-EAST-1", "us_east_1", "us-east-1-", "-us",
        "us--east", "1us",       "us east",   "<x>",        "abcdefghijabcdefghijabcdefghijabc",
        big};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (s3_location_valid(bad[i])) fail_msg("accepted bad location #%zu", i);
    assert_true(s3_location_valid("abcdefghijabcdefghijabcdefghijab")); /* 32 */
}

static void test_redirect(void **st) {
    (void)st;
    assert_true(s3_redirect_location_valid("/other/key"));
    assert_true(s3_redirect_location_valid("http://example.com/x"));
    assert_true(s3_redirect_location_valid("https://example.com/x"));
    assert_false(s3_redirect_location_valid("example.com"));
    assert_false(s3_redirect_location_valid("ftp://example.com"));
    assert_false(s3_redirect_location_valid(""));
    char big[2100];
    memset(big, 'a', sizeof big - 1);
    big[0] = '/';
    big[sizeof big - 1] = 0;
    assert_false(s3_redirect_location_valid(big));
}

static void test_etag_list(void **st) {
    (void)st;
    const char *e = "9b2cf535f27731c974343645a3985328";
    assert_true(s3_etag_list_matches("\"9b2cf535f27731c974343645a3985328\"", e));
    assert_true(s3_etag_list_matches("9b2cf535f27731c974343645a3985328", e));
    assert_true(s3_etag_list_matches("*", e));
    assert_true(s3_etag_list_matches(" \"x\" ,\t\"9b2cf535f27731c974343645a3985328\" ", e));
    assert_true(s3_etag_list_matches("\"x\", *", e));
    assert_false(s3_etag_list_matches("", e));
    assert_false(s3_etag_list_matches("\"x\", \"y\"", e));
    assert_false(s3_etag_list_matches("\"9b2cf535f27731c974343645a398532\"", e));
    assert_false(s3_etag_list_matches("W/\"9b2cf535f27731c974343645a3985328\"", e));
    assert_false(s3_etag_list_matches("**", e));
    assert_true(s3_etag_list_matches("\"abc-2\"", "abc-2"));
}

static void test_conditions(void **st) {
    (void)st;
    const char *e = "abc";
    const int64_t ms = 784111777000; /* Sun, 06 Nov 1994 08:49:37 GMT */
    const char *same = "Sun, 06 Nov 1994 08:49:37 GMT", *before = "Sun, 06 Nov 1994 08:49:36 GMT";
    assert_int_equal(s3_check_conditions(e, ms, NULL, NULL, NULL, NULL, false), K_OK);
    assert_int_equal(s3_check_conditions(e, ms, "\"abc\"", NULL, NULL, NULL, false), K_OK);
    assert_int_equal(s3_check_conditions(e, ms, "\"x\"", NULL, NULL, NULL, false), K_EPRECONDITION);
    assert_int_equal(s3_check_conditions(e, ms, NULL, "\"abc\"", NULL, NULL, false),
                     K_ENOTMODIFIED);
    assert_int_equal(s3_check_conditions(e, ms, NULL, "\"abc\"", NULL, NULL, true),
                     K_EPRECONDITION);
    assert_int_equal(s3_check_conditions(e, ms, NULL, "\"x\"", NULL, NULL, false), K_OK);
    /* modified since: not when the object is as old as the date */
    assert_int_equal(s3_check_conditions(e, ms, NULL, NULL, same, NULL, false), K_ENOTMODIFIED);
    assert_int_equal(s3_check_conditions(e, ms, NULL, NULL, before, NULL, false), K_OK);
    assert_int_equal(s3_check_conditions(e, ms, NULL, NULL, same, NULL, true), K_EPRECONDITION);
    /* unmodified since: fails when the object is newer */
    assert_int_equal(s3_check_conditions(e, ms, NULL, NULL, NULL, same, false), K_OK);
    assert_int_equal(s3_check_conditions(e, ms, NULL, NULL, NULL, before, false), K_EPRECONDITION);
    /* If-Match overrides If-Unmodified-Since; If-None-Match overrides
     * If-Modified-Since (RFC 9110 13.2.2) */
    assert_int_equal(s3_check_conditions(e, ms, "\"abc\"", NULL, NULL, before, false), K_OK);
    assert_int_equal(s3_check_conditions(e, ms, NULL, "\"x\"", same, NULL, false), K_OK);
    /* dates that do not parse are ignored */
    assert_int_equal(s3_check_conditions(e, ms, NULL, NULL, "yesterday", "tomorrow", false), K_OK);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subresources),      cmocka_unit_test(test_canned),
        cmocka_unit_test(test_storage_class_sse), cmocka_unit_test(test_location),
        cmocka_unit_test(test_redirect),          cmocka_unit_test(test_etag_list),
        cmocka_unit_test(test_conditions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
