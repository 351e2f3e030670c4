/* SPDX-License-Identifier: Apache-2.0 */
#include "common/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"

void kbuf_init(kbuf *b) {
    b->data = NULL;
    b->len = b->cap = 0;
}

void kbuf_free(kbuf *b) {
    free(b->data);
    kbuf_init(b);
}

void kbuf_reset(kbuf *b) {
    b->len = 0;
    if (b->data) b->data[0] = 0;
}

void kbuf_reserve(kbuf *b, size_t extra) {
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) {
        fputs("kura: out of memory\n", stderr);
        abort();
    }
    b->data = d;
    b->cap = cap;
}

void kbuf_append(kbuf *b, const void *p, size_t n) {
    kbuf_reserve(b, n);
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
}

void kbuf_puts(kbuf *b, const char *s) {
    kbuf_append(b, s, strlen(s));
}

void kbuf_putc(kbuf *b, char c) {
    kbuf_append(b, &c, 1);
}

void kbuf_printf(kbuf *b, const char *fmt, ...) {
    va_list ap, cp;
    va_start(ap, fmt);
    va_copy(cp, ap);
    char probe[1];
    int n = vsnprintf(probe, sizeof probe, fmt, cp);
    va_end(cp);
    if (n > 0) {
        kbuf_reserve(b, (size_t)n);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        b->len += (size_t)n;
    }
    va_end(ap);
}

void kbuf_xml_escape(kbuf *b, const char *s, size_t n) {
    static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */
    size_t run = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        const char *rep = NULL;
        size_t len = 1;
        switch (c) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&apos;";
            break;
        case '\r':
            rep = "&#13;"; /* a raw CR would be normalised away by parsers */
            break;
        default: {
            uint32_t cp = c;
            len = c < 0x80 ? 1 : utf8_next(s + i, n - i, &cp);
            if (!len) {
                len = 1; /* a byte that is not UTF-8: one replacement per byte */
                rep = replacement;
            } else if (!xml_char_ok(cp)) {
                rep = replacement; /* not even a character reference may carry it */
            }
        }
        }
        if (rep) {
            kbuf_append(b, s + run, i - run);
            kbuf_puts(b, rep);
            run = i + len;
        }
        i += len;
    }
    kbuf_append(b, s + run, n - run);
}

char *kbuf_steal(kbuf *b, size_t *len) {
    if (!b->data) kbuf_reserve(b, 0), b->data[0] = 0;
    char *d = b->data;
    if (len) *len = b->len;
    kbuf_init(b);
    return d;
}
