/* SPDX-License-Identifier: Apache-2.0 */
/* Text helpers: HTTP and ISO dates, URL encoding, small parsers.
 * All functions are thread-safe and allocate nothing unless they take a
 * kbuf or arena, which then owns the result. */
#ifndef KURA_COMMON_TEXT_H
#define KURA_COMMON_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/buf.h"

/* "Sun, 06 Nov 1994 08:49:37 GMT"; out needs 30 bytes. */
void fmt_http_date(time_t t, char out[30]);
/* "2024-01-02T03:04:05.000Z"; out needs 25 bytes. */
void fmt_iso8601_ms(time_t t, char out[25]);
/* Parses RFC 1123, RFC 850 and asctime forms; returns false if invalid. */
bool parse_http_date(const char *s, time_t *out);
/* Parses ISO 8601 basic UTC "20130524T000000Z" (as in x-amz-date); false if
 * invalid. */
bool parse_iso8601_basic(const char *s, time_t *out);

/* Percent-encodes per RFC 3986 unreserved set (A-Z a-z 0-9 - _ . ~), as SigV4
 * canonical requests and S3 encoding-type=url need; '/' is kept when
 * keep_slash. Upper-case hex. */
void url_encode(kbuf *b, const char *s, size_t n, bool keep_slash);
/* Decodes %XX (and '+' as space when plus_is_space) in place; returns the
 * new length, or -1 if a %-escape is malformed. Result is NUL-terminated
 * (s must have room for n+1 bytes); on -1 s is left partly decoded. */
long url_decode_inplace(char *s, size_t n, bool plus_is_space);

/* Decodes the UTF-8 sequence at s[0..n) (n > 0): returns its length (1-4)
 * and sets *cp, or 0 if it is not well-formed UTF-8 (RFC 3629: no overlong
 * forms, no surrogates U+D800-U+DFFF, nothing above U+10FFFF, no truncated
 * sequence). */
size_t utf8_next(const char *s, size_t n, uint32_t *cp);
/* Whether all of s[0..n) is well-formed UTF-8 (see utf8_next). */
bool utf8_valid(const char *s, size_t n);
/* Whether code point cp is a Char of XML 1.0: tab, LF, CR, U+0020-U+D7FF,
 * U+E000-U+FFFD, U+10000-U+10FFFF. */
bool xml_char_ok(uint32_t cp);
/* Whether s[0..n) is well-formed UTF-8 made only of XML 1.0 Chars, i.e. text
 * an XML document can carry (escaped) and give back unchanged. */
bool xml_text_ok(const char *s, size_t n);

/* Case-insensitive equal of two byte ranges (ASCII). */
bool str_ieq(const char *a, size_t an, const char *b, size_t bn);
/* Parses a decimal uint64 occupying all of s[0..n); false on junk/overflow. */
bool parse_u64(const char *s, size_t n, uint64_t *out);
/* Strips ASCII whitespace at both ends: returns pointer into s, sets *n. */
const char *str_trim(const char *s, size_t *n);

/* The media type of a file name by its extension (case-insensitive), as
 * Python's mimetypes (what Swift's proxy uses when a PUT names no
 * Content-Type) maps the common ones; NULL when the extension is unknown. */
const char *mime_type_guess(const char *name, size_t n);

#endif
