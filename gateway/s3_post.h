/* SPDX-License-Identifier: Apache-2.0 */
/* S3 POST Object policies: the base64 JSON document a browser form carries
 * ({"expiration": ISO 8601, "conditions": [...]}) and the check of a form's
 * fields against it, as AWS documents them.
 *
 * Conditions: {"field": "value"} and ["eq", "$field", "value"] (exact),
 * ["starts-with", "$field", "prefix"] ("" matches any value, but the field
 * must be there; for Content-Type each type of a comma-separated list must
 * start with the prefix), ["content-length-range", min, max]. Field names compare
 * case-insensitively; "bucket" is checked against the request's bucket.
 * Every form field must be named by some condition except x-amz-signature,
 * signature, awsaccesskeyid, file, policy and x-ignore-*.
 *
 * Contract: pure and thread-safe; everything allocated in the caller's
 * arena. fields: the form's fields before the file, names lower-case (the
 * file part itself is not among them). Results:
 *   S3P_OK           all holds; *range gets the content-length-range
 *                    (min 0, max UINT64_MAX without one)
 *   S3P_MALFORMED    not base64 / JSON / the documented shape:
 *                    400 InvalidPolicyDocument
 *   S3P_EXPIRED, S3P_FAILED, S3P_EXTRA: 403 AccessDenied
 * *message (never NULL on failure) is the AWS wording, e.g. "Invalid
 * according to Policy: Policy Condition failed: [\"eq\", \"$key\", \"a\"]". */
#ifndef KURA_GATEWAY_S3_POST_H
#define KURA_GATEWAY_S3_POST_H

#include <stdint.h>
#include <time.h>

#include "common/arena.h"
#include "gateway/objsvc.h"

typedef enum s3p_result { S3P_OK, S3P_MALFORMED, S3P_EXPIRED, S3P_FAILED, S3P_EXTRA } s3p_result;

typedef struct s3p_range {
    uint64_t min, max;
} s3p_range;

s3p_result s3_post_policy_check(arena *a, const char *policy_b64, const char *bucket,
                                const obj_attr *fields, uint32_t nfields, time_t now,
                                s3p_range *range, const char **message);

#endif
