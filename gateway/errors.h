/* SPDX-License-Identifier: Apache-2.0 */
/* The one table that maps internal error codes (common/err.h) to what each
 * protocol answers. S3: HTTP status, error Code and Message for the XML body.
 * Swift: HTTP status (Swift bodies are plain text: the status phrase). */
#ifndef KURA_GATEWAY_ERRORS_H
#define KURA_GATEWAY_ERRORS_H

#include "common/err.h"

typedef struct kerr_info {
    int s3_status;
    const char *s3_code;
    const char *message;
    int swift_status;
} kerr_info;

/* Never NULL: unknown codes map to InternalError. */
const kerr_info *kerr_lookup(kerr e);

#endif
