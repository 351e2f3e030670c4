/* SPDX-License-Identifier: Apache-2.0 */
/* The error table (gateway/errors.c) must cover every kerr code: a code
 * without a row would reach clients as a 500 InternalError by accident.
 * And every code has a name for logs (common/err.c). Also the values of
 * --min-free-space, the setting behind K_ENOSPC's reserve. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/errors.h"
#include "gateway/settings.h"

static void every_code_has_a_row(void **state) {
    (void)state;
    const kerr_info *fallback = kerr_lookup((kerr)K__COUNT);
    for (int e = K_OK + 1; e < K__COUNT; e++) {
        const kerr_info *info = kerr_lookup((kerr)e);
        assert_non_null(info);
        if (!info->s3_code || !info->message) fail_msg("kerr %d: NULL code or message", e);
        if (!info->s3_code[0] || !info->message[0]) fail_msg("kerr %d: empty code or message", e);
        if (info->s3_status < 300 || info->s3_status > 599)
            fail_msg("kerr %d (%s): S3 status %d is not an error status", e, info->s3_code,
                     info->s3_status);
        if (info->swift_status < 200 || info->swift_status > 599)
            fail_msg("kerr %d (%s): Swift status %d out of range", e, info->s3_code,
                     info->swift_status);
        /* Only K_EINTERNAL itself may share the fallback row's address: any
         * other code landing there means its row is missing. */
        if (e != K_EINTERNAL && info == fallback)
            fail_msg("kerr %d has no row (falls back to InternalError)", e);
    }
}

static void unknown_codes_map_to_internal_error(void **state) {
    (void)state;
    const int unknown[] = {K__COUNT, K__COUNT + 1, 1000, -1};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const kerr_info *info = kerr_lookup((kerr)unknown[i]);
        assert_non_null(info);
        assert_int_equal(info->s3_status, 500);
        assert_string_equal(info->s3_code, "InternalError");
    }
}

static void well_known_rows(void **state) {
    (void)state;
    assert_int_equal(kerr_lookup(K_ENOSUCHKEY)->s3_status, 404);
    assert_string_equal(kerr_lookup(K_ENOSUCHKEY)->s3_code, "NoSuchKey");
    assert_int_equal(kerr_lookup(K_ENOSUCHBUCKET)->s3_status, 404);
    assert_string_equal(kerr_lookup(K_ESIGNATURE)->s3_code, "SignatureDoesNotMatch");
    assert_int_equal(kerr_lookup(K_ESIGNATURE)->s3_status, 403);
    assert_string_equal(kerr_lookup(K_EMALFORMEDXML)->s3_code, "MalformedXML");
    assert_int_equal(kerr_lookup(K_EINVALIDRANGE)->s3_status, 416);
    assert_int_equal(kerr_lookup(K_EPRECONDITION)->s3_status, 412);
    assert_int_equal(kerr_lookup(K_ENOTMODIFIED)->s3_status, 304);
    /* a full disk is not throttling: 507, which SDKs do not retry */
    assert_int_equal(kerr_lookup(K_ENOSPC)->s3_status, 507);
    assert_string_equal(kerr_lookup(K_ENOSPC)->s3_code, "InsufficientStorage");
    assert_int_equal(kerr_lookup(K_ENOSPC)->swift_status, 507);
    assert_int_equal(kerr_lookup(K_ENOMEM)->s3_status, 503);
}

/* --min-free-space values (gateway/settings.c). */
static void min_free_space_values(void **state) {
    (void)state;
    settings_reserve o = {0};
    assert_int_equal(settings_min_free("auto", &o), K_OK);
    assert_int_equal(o.kind, SETTINGS_RESERVE_AUTO);
    assert_int_equal(settings_min_free("64M", &o), K_OK);
    assert_int_equal(o.kind, SETTINGS_RESERVE_BYTES);
    assert_int_equal(o.bytes, 64u << 20);
    assert_int_equal(settings_min_free("0", &o), K_OK);
    assert_int_equal(o.kind, SETTINGS_RESERVE_BYTES);
    assert_int_equal(o.bytes, 0);
    assert_int_equal(settings_min_free("1%", &o), K_OK);
    assert_int_equal(o.kind, SETTINGS_RESERVE_PERCENT);
    assert_int_equal(o.percent, 1);
    assert_int_equal(settings_min_free("99%", &o), K_OK);
    assert_int_equal(o.percent, 99);
    const char *bad[] = {"", "0%", "100%", "5.5%", "%", "-1", "1x", "auto ", "12G%", NULL};
    for (int i = 0; bad[i]; i++)
        if (settings_min_free(bad[i], &o) != K_EINVAL) fail_msg("'%s' was accepted", bad[i]);
    assert_int_equal(settings_min_free(NULL, &o), K_EINVAL);
}

/* kerr_name (common/err.c) names every code, each differently, so logs
 * never print a bare number. */
static void every_code_has_a_name(void **state) {
    (void)state;
    for (int e = K_OK; e < K__COUNT; e++) {
        const char *n = kerr_name((kerr)e);
        assert_non_null(n);
        if (strcmp(n, "UNKNOWN") == 0) fail_msg("kerr %d has no name in common/err.c", e);
        for (int f = K_OK; f < e; f++)
            if (strcmp(n, kerr_name((kerr)f)) == 0)
                fail_msg("kerr %d and %d share name %s", f, e, n);
    }
    assert_string_equal(kerr_name(K_EIO), "EIO");
    assert_string_equal(kerr_name(K_ENOSUCHKEY), "ENOSUCHKEY");
    assert_string_equal(kerr_name((kerr)K__COUNT), "UNKNOWN");
    assert_string_equal(kerr_name((kerr)-1), "UNKNOWN");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_code_has_a_name),
        cmocka_unit_test(every_code_has_a_row),
        cmocka_unit_test(unknown_codes_map_to_internal_error),
        cmocka_unit_test(well_known_rows),
        cmocka_unit_test(min_free_space_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
