/* SPDX-License-Identifier: Apache-2.0 */
/* A strict JSON parser (RFC 8259) into a tree allocated in an arena, for
 * the small documents clients send: Swift SLO manifests today, bucket
 * policies later.
 *
 * Invariants and limits: the whole input must be one value with only
 * whitespace around it; strings must be valid UTF-8 and are decoded
 * (escapes, surrogate pairs) to NUL-terminated UTF-8 that may contain NUL
 * (use len); nesting is limited to JSON_MAX_DEPTH. A number keeps its text
 * so that callers can read a 64-bit integer exactly (json_u64).
 *
 * Contract: thread-safe; everything is allocated in the caller's arena.
 * json_parse returns NULL on any malformed input and, when err is not
 * NULL, a short English reason with the byte offset. */
#ifndef KURA_COMMON_JSON_H
#define KURA_COMMON_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/buf.h"

#define JSON_MAX_DEPTH 64

typedef enum json_type {
    JSON_NULL,
    JSON_FALSE,
    JSON_TRUE,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT
} json_type;

typedef struct json json;
struct json {
    json_type type;
    char *s; /* JSON_STRING: decoded text; JSON_NUMBER: the literal */
    size_t len;
    size_t n;     /* JSON_ARRAY / JSON_OBJECT: number of items / members */
    json **items; /* the items, or the members' values */
    char **keys;  /* JSON_OBJECT: the members' names (decoded), in order */
    size_t *klens;
};

json *json_parse(arena *a, const char *text, size_t n, const char **err);
/* The value of member name of object o (the last one when repeated), or
 * NULL (also when o is not an object). */
const json *json_get(const json *o, const char *name);
/* A number that is a non-negative integer without fraction or exponent
 * that fits 64 bits. */
bool json_u64(const json *v, uint64_t *out);
/* Appends s[0..n) as a JSON string (quotes, escapes for '"', '\\' and
 * control characters; other bytes as they are). */
void json_write_str(kbuf *b, const char *s, size_t n);

#endif
