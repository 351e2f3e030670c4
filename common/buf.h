/* SPDX-License-Identifier: Apache-2.0 */
/* Growable byte buffer on the heap.
 *
 * Contract:
 * - A kbuf owns data; kbuf_free releases it. data is always NUL-terminated
 *   after any append (the NUL is not counted in len), so text can be used as
 *   a C string.
 * - Growth failure aborts (see arena.h for why).
 * - Not thread-safe.
 */
#ifndef KURA_COMMON_BUF_H
#define KURA_COMMON_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct kbuf {
    char *data;
    size_t len;
    size_t cap;
} kbuf;

#define KBUF_INIT                                                                                  \
    { NULL, 0, 0 }

void kbuf_init(kbuf *b);
void kbuf_free(kbuf *b);
void kbuf_reset(kbuf *b); /* len = 0, keeps capacity */
void kbuf_reserve(kbuf *b, size_t extra);
void kbuf_append(kbuf *b, const void *p, size_t n);
void kbuf_puts(kbuf *b, const char *s);
void kbuf_putc(kbuf *b, char c);
void kbuf_printf(kbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s with &, <, >, ", ' escaped for XML text and attributes, and CR
 * as &#13; (parsers would turn a raw one into LF). The result is always
 * well-formed XML 1.0: what XML cannot carry at all, not even as a
 * character reference (controls other than tab/LF/CR, U+FFFE, U+FFFF) and
 * bytes that are not UTF-8 are written as U+FFFD, one per code point or
 * stray byte. Callers that must give such text back exactly use another
 * encoding (S3: encoding-type=url); kura refuses to store keys made of it. */
void kbuf_xml_escape(kbuf *b, const char *s, size_t n);
/* Hands the buffer to the caller (who must free() it) and empties b. */
char *kbuf_steal(kbuf *b, size_t *len);

#endif
