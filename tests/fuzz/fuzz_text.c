/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness for URL decoding and the text checks keys go through:
 * common/text.c url_decode_inplace / url_encode, utf8_next / utf8_valid /
 * xml_text_ok, common/buf.c kbuf_xml_escape, and the query string as the
 * S3 front end routes it (gateway/s3_rules.c s3_subresource over a request
 * built the way the HTTP layer builds it). See README.md.
 *
 * Input: any bytes, taken whole as the text (and as the query string).
 *
 * Oracles besides memory safety:
 * - url_decode_inplace (both '+' modes) fails exactly when a '%' is not
 *   followed by two hex digits, and otherwise equals a reference decoder,
 *   is no longer than its input and is NUL-terminated; url_encode of the
 *   result uses only unreserved characters, '%' (and '/') and decodes back
 *   to it;
 * - utf8_valid equals a reference validator written from the Unicode
 *   table of well-formed byte sequences; utf8_next agrees with it;
 *   xml_text_ok is utf8_valid plus XML 1.0 characters only;
 * - kbuf_xml_escape always yields XML text, and for XML text the escaped
 *   form parses back (gateway/s3_xml.c) to the same bytes;
 * - s3_subresource names a parameter of the request, and a known one is
 *   one of S3's sub-resources. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/text.h"
#include "gateway/s3_rules.h"
#include "gateway/s3_xml.h"
#include "tests/unit/auth/req_build.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "oracle failed at %s:%d: %s\n", __FILE__, __LINE__, #c);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static int hexval(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Reference decoder: -1 for a malformed escape, else the decoded length. */
static long ref_decode(const char *s, size_t n, bool plus, char *out) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            if (i + 2 >= n) return -1;
            int hi = hexval((unsigned char)s[i + 1]), lo = hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0) return -1;
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = plus && s[i] == '+' ? ' ' : s[i];
        }
    }
    return (long)o;
}

static void check_url(const char *s, size_t n) {
    for (int plus = 0; plus < 2; plus++) {
        char *buf = malloc(n + 1), *ref = malloc(n + 1);
        memcpy(buf, s, n);
        buf[n] = 'Z'; /* must be overwritten by the terminator */
        long got = url_decode_inplace(buf, n, plus);
        long want = ref_decode(s, n, plus, ref);
        CHECK(got == want);
        if (got >= 0) {
            CHECK((size_t)got <= n && buf[got] == '\0');
            CHECK(!memcmp(buf, ref, (size_t)got));
            for (int keep = 0; keep < 2; keep++) {
                kbuf e = KBUF_INIT;
                url_encode(&e, buf, (size_t)got, keep);
                CHECK(e.len >= (size_t)got && (!e.len || e.data[e.len] == '\0'));
                for (size_t i = 0; i < e.len; i++) {
                    unsigned char c = (unsigned char)e.data[i];
                    CHECK((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                          (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~' ||
                          c == '%' || (keep && c == '/'));
                }
                char *back = malloc(e.len + 1);
                memcpy(back, e.data ? e.data : "", e.len);
                long bl = url_decode_inplace(back, e.len, false);
                CHECK(bl == got && !memcmp(back, buf, (size_t)got));
                free(back);
                kbuf_free(&e);
            }
        }
        free(buf);
        free(ref);
    }
}

/* Length of the well-formed UTF-8 sequence at s (Unicode table 3-7), or 0. */
static size_t ref_utf8(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    struct {
        unsigned char lo, hi;
    } r[3];
    size_t len;
    if (c <= 0x7F) return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, r[0].lo = 0x80, r[0].hi = 0xBF;
    else if (c == 0xE0)
        len = 3, r[0].lo = 0xA0, r[0].hi = 0xBF;
    else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
        len = 3, r[0].lo = 0x80, r[0].hi = 0xBF;
    else if (c == 0xED)
        len = 3, r[0].lo = 0x80, r[0].hi = 0x9F;
    else if (c == 0xF0)
        len = 4, r[0].lo = 0x90, r[0].hi = 0xBF;
    else if (c >= 0xF1 && c <= 0xF3)
        len = 4, r[0].lo = 0x80, r[0].hi = 0xBF;
    else if (c == 0xF4)
        len = 4, r[0].lo = 0x80, r[0].hi = 0x8F;
    else
        return 0;
    r[1].lo = r[2].lo = 0x80, r[1].hi = r[2].hi = 0xBF;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++)
        if (s[i] < r[i - 1].lo || s[i] > r[i - 1].hi) return 0;
    return len;
}

static void check_utf8(arena *a, const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    bool valid = true, xml = true;
    for (size_t i = 0; i < n;) {
        size_t l = ref_utf8(u + i, n - i);
        uint32_t cp = 0xFFFFFFFF;
        size_t got = utf8_next(s + i, n - i, &cp);
        CHECK(got == l);
        if (!l) {
            valid = xml = false;
            break;
        }
        CHECK(cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF));
        bool xc = cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
                  (cp >= 0xE000 && cp <= 0xFFFD) || cp >= 0x10000;
        CHECK(xml_char_ok(cp) == xc);
        if (!xc) xml = false;
        i += l;
    }
    CHECK(utf8_valid(s, n) == valid);
    CHECK(xml_text_ok(s, n) == (valid && xml));

    /* Escaped, any bytes become XML text; XML text comes back unchanged. */
    kbuf b = KBUF_INIT;
    kbuf_puts(&b, "<K>");
    size_t at = b.len;
    kbuf_xml_escape(&b, s, n);
    CHECK(xml_text_ok(b.data + at, b.len - at));
    kbuf_puts(&b, "</K>");
    xml_node *root;
    CHECK(xml_parse(a, b.data, b.len, &root) == K_OK);
    if (valid && xml) CHECK(root->text_len == n && !memcmp(root->text, s, n));
    kbuf_free(&b);
}

static void check_query(arena *a, const char *s, size_t n) {
    /* A target as on the request line; a NUL ends it, as in a C string. */
    char *target = arena_printf(a, "/bucket/key?%.*s", (int)n, s);
    http_req *r = req_build(a, "GET", target, NULL);
    bool known = false;
    const char *sub = s3_subresource(r, &known);
    if (!sub) return;
    bool present = false;
    for (size_t i = 0; i < r->nquery; i++) present |= !strcmp(r->query[i].name, sub);
    CHECK(present);
    CHECK(known == s3_is_subresource(sub));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* an exactly-sized copy: reads past the end are caught */
    char *s = malloc(size ? size : 1);
    if (size) memcpy(s, data, size);
    arena *a = arena_new(0);
    check_url(s, size);
    check_utf8(a, s, size);
    check_query(a, s, size);
    arena_free(a);
    free(s);
    return 0;
}
