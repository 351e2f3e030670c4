/* SPDX-License-Identifier: Apache-2.0 */
/* gateway/s3_post.h: the S3 POST Object policy check. Policies are written
 * here as JSON and base64-encoded; each case checks the result, the AWS
 * wording of the message and the content-length-range. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/hash.h"
#include "gateway/s3_post.h"

#define NOW 1765000000 /* 2025-12-06 */

static const char *b64(arena *a, const char *json) {
    char *out = arena_alloc(a, 4 * (strlen(json) / 3 + 1) + 1);
    base64_encode((const uint8_t *)json, strlen(json), out);
    return out;
}

/* Checks policy json against fields "name=value" (NULL-terminated). */
static s3p_result run(const char *json, const char *const *fields, s3p_range *r, const char **msg,
                      arena *a) {
    obj_attr f[16];
    uint32_t n = 0;
    for (; fields && fields[n]; n++) {
        char *s = arena_strdup(a, fields[n]);
        char *eq = strchr(s, '=');
        *eq = 0;
        f[n] = (obj_attr){.name = s, .value = eq + 1};
    }
    return s3_post_policy_check(a, b64(a, json), "bkt", f, n, NOW, r, msg);
}

#define EXP "\"expiration\": \"2030-01-01T00:00:00.000Z\""

static void test_accepted(void **state) {
    (void)state;
    arena *a = arena_new(0);
    s3p_range r;
    const char *msg = "x";
    const char *f[] = {"key=user/a.txt",
                       "content-type=image/png",
                       "x-amz-meta-a=1",
                       "x-amz-signature=s",
                       "policy=p",
                       "x-ignore-z=9",
                       "success_action_status=201",
                       NULL};
    assert_int_equal(
        run("{" EXP ", \"conditions\": [{\"bucket\": \"bkt\"},"
            " [\"starts-with\", \"$key\", \"user/\"],"
            " [\"starts-with\", \"$Content-Type\", \"image/\"],"
            " {\"X-Amz-Meta-A\": \"1\"}, [\"eq\", \"$success_action_status\", \"201\"],"
            " [\"content-length-range\", 5, 100], [\"content-length-range\", 1, 50]]}",
            f, &r, &msg, a),
        S3P_OK);
    assert_null(msg);
    assert_int_equal(r.min, 5);
    assert_int_equal(r.max, 50);
    /* without a range: anything; expiration without fractional seconds */
    const char *k[] = {"key=a", NULL};
    assert_int_equal(run("{\"expiration\": \"2030-01-01T00:00:00Z\", \"conditions\":"
                         " [[\"starts-with\", \"$key\", \"\"]]}",
                         k, &r, &msg, a),
                     S3P_OK);
    assert_int_equal(r.min, 0);
    assert_true(r.max == UINT64_MAX);
    arena_free(a);
}

static void test_refused(void **state) {
    (void)state;
    arena *a = arena_new(0);
    s3p_range r;
    const char *msg;
    const char *k[] = {"key=other/a", NULL};
    assert_int_equal(
        run("{" EXP ", \"conditions\": [[\"starts-with\", \"$key\", \"user/\"]]}", k, &r, &msg, a),
        S3P_FAILED);
    assert_string_equal(
        msg, "Invalid according to Policy: Policy Condition failed: [\"starts-with\", \"$key\", "
             "\"user/\"]");
    assert_int_equal(run("{" EXP ", \"conditions\": [{\"key\": \"x\"}]}", k, &r, &msg, a),
                     S3P_FAILED);
    assert_string_equal(msg, "Invalid according to Policy: Policy Condition failed: [\"eq\", "
                             "\"$key\", \"x\"]");
    assert_int_equal(run("{" EXP ", \"conditions\": [{\"bucket\": \"other\"}, [\"starts-with\","
                         " \"$key\", \"\"]]}",
                         k, &r, &msg, a),
                     S3P_FAILED);
    /* a field no condition names */
    const char *extra[] = {"key=a", "x-amz-meta-b=2", NULL};
    assert_int_equal(
        run("{" EXP ", \"conditions\": [[\"starts-with\", \"$key\", \"\"]]}", extra, &r, &msg, a),
        S3P_EXTRA);
    assert_string_equal(msg, "Invalid according to Policy: Extra input fields: x-amz-meta-b");
    /* a condition on a missing field fails, even starts-with "" */
    assert_int_equal(run("{" EXP ", \"conditions\": [[\"starts-with\", \"$key\", \"\"],"
                         " [\"starts-with\", \"$content-type\", \"\"]]}",
                         k, &r, &msg, a),
                     S3P_FAILED);
    /* Content-Type lists: every type must start with the prefix */
    const char *ct[] = {"content-type=image/png, text/html", NULL};
    assert_int_equal(run("{" EXP ", \"conditions\": [[\"starts-with\", \"$Content-Type\","
                         " \"image/\"]]}",
                         ct, &r, &msg, a),
                     S3P_FAILED);
    const char *ct2[] = {"content-type=image/png, image/gif", NULL};
    assert_int_equal(run("{" EXP ", \"conditions\": [[\"starts-with\", \"$Content-Type\","
                         " \"image/\"]]}",
                         ct2, &r, &msg, a),
                     S3P_OK);
    /* expired */
    assert_int_equal(
        run("{\"expiration\": \"2020-01-01T00:00:00.000Z\", \"conditions\": []}", k, &r, &msg, a),
        S3P_EXPIRED);
    assert_string_equal(msg, "Invalid according to Policy: Policy expired.");
    arena_free(a);
}

static void test_malformed(void **state) {
    (void)state;
    arena *a = arena_new(0);
    s3p_range r;
    const char *msg;
    const char *k[] = {"key=a", NULL};
    static const char *const bad[] = {
        "not json",
        "[]",
        "{\"conditions\": []}",
        "{\"expiration\": \"2030-01-01\", \"conditions\": []}",
        "{\"expiration\": \"2030-01-01T00:00:00.Z\", \"conditions\": []}",
        "{\"expiration\": 5, \"conditions\": []}",
        "{" EXP "}",
        "{" EXP ", \"conditions\": {}}",
        "{" EXP ", \"conditions\": [[\"eq\", \"key\", \"a\"]]}",
        "{" EXP ", \"conditions\": [[\"between\", \"$key\", \"a\"]]}",
        "{" EXP ", \"conditions\": [[\"eq\", \"$key\"]]}",
        "{" EXP ", \"conditions\": [[\"content-length-range\", 10, 5]]}",
        "{" EXP ", \"conditions\": [[\"content-length-range\", -1, 5]]}",
        "{" EXP ", \"conditions\": [{\"key\": 5}]}",
        "{" EXP ", \"conditions\": [\"key\"]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        msg = NULL;
        if (run(bad[i], k, &r, &msg, a) != S3P_MALFORMED) fail_msg("accepted: %s", bad[i]);
        assert_non_null(msg);
    }
    /* not base64 */
    obj_attr f = {.name = "key", .value = "a"};
    assert_int_equal(s3_post_policy_check(a, "!!!", "bkt", &f, 1, NOW, &r, &msg), S3P_MALFORMED);
    /* a malformed condition is 400 even after one that fails */
    assert_int_equal(run("{" EXP ", \"conditions\": [{\"key\": \"zz\"}, [\"x\", \"$key\", \"a\"]]}",
                         k, &r, &msg, a),
                     S3P_MALFORMED);
    arena_free(a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
