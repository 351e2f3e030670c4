/* SPDX-License-Identifier: Apache-2.0 */
/* A small, strict-enough XML reader for S3 request bodies (CreateBucket,
 * DeleteObjects, CompleteMultipartUpload, ACLs). It builds an element tree
 * in an arena: names without namespace prefixes, text with entities decoded.
 * Attributes, comments, processing instructions and the XML declaration are
 * skipped. Depth is limited to 32; malformed input gives K_EMALFORMEDXML,
 * never a crash (fuzzed in tests/fuzz). */
#ifndef KURA_GATEWAY_S3_XML_H
#define KURA_GATEWAY_S3_XML_H

#include <stddef.h>

#include "common/arena.h"
#include "common/err.h"

typedef struct xml_node {
    const char *name;
    char *text; /* concatenated character data directly inside, decoded */
    size_t text_len;
    struct xml_node *child, *next;
} xml_node;

kerr xml_parse(arena *a, const char *p, size_t n, xml_node **root);
xml_node *xml_child(const xml_node *n, const char *name);
/* Text of a child element, or NULL. */
const char *xml_child_text(const xml_node *n, const char *name);

#endif
