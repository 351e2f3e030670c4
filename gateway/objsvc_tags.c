/* SPDX-License-Identifier: Apache-2.0 */
/* The object service's tag rules (objsvc.h, "tags"): what a tag set may
 * hold. Apart from objsvc.c so that the fuzz harness of the S3 tagging
 * parsers (tests/fuzz/fuzz_s3_xml.c) links the rules without the stores. */
#include <locale.h>
#include <pthread.h>
#include <string.h>
#include <wctype.h>

#include "common/text.h"
#include "gateway/objsvc.h"

/* Unicode letters, digits and spaces beyond ASCII are classified by the
 * C.UTF-8 locale's tables (glibc ships them). Without that locale no
 * non-ASCII character is accepted: a refusal, never a tag AWS would refuse. */
static locale_t utf8_locale;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void utf8_locale_open(void) {
    utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

static bool tag_char_ok(uint32_t cp) {
    if (cp < 0x80)
        return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') ||
               (cp && strchr(" +-=._:/@", (int)cp));
    pthread_once(&utf8_once, utf8_locale_open);
    if (!utf8_locale) return false;
    wint_t w = (wint_t)cp;
    return iswalpha_l(w, utf8_locale) || iswdigit_l(w, utf8_locale) || iswspace_l(w, utf8_locale);
}

/* Whether s (len bytes, no NUL inside) is tag text of at most max UTF-16
 * code units (and at least min). */
static bool tag_text_ok(const char *s, size_t min, size_t max) {
    size_t n = strlen(s), units = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t used = utf8_next(s + i, n - i, &cp);
        if (!used || !tag_char_ok(cp)) return false;
        units += cp > 0xFFFF ? 2 : 1;
        i += used;
    }
    return units >= min && units <= max;
}

kerr objsvc_tags_check(const obj_attr *tags, uint32_t n, uint32_t max, const char **why,
                       const char **bad_key) {
    *why = NULL;
    *bad_key = NULL;
    if (n > max) return K_ETOOMANYTAGS;
    for (uint32_t i = 0; i < n; i++) {
        const char *k = tags[i].name ? tags[i].name : "";
        const char *v = tags[i].value ? tags[i].value : "";
        if (!tag_text_ok(k, 1, OBJ_TAG_KEY_MAX)) {
            *why = "The TagKey you have provided is invalid";
            *bad_key = k;
            return K_EINVALIDTAG;
        }
        if (!tag_text_ok(v, 0, OBJ_TAG_VALUE_MAX)) {
            *why = "The TagValue you have provided is invalid";
            *bad_key = k;
            return K_EINVALIDTAG;
        }
        if (!strncmp(k, "aws:", 4)) {
            *why = "Your TagKey cannot be prefixed with aws:";
            *bad_key = k;
            return K_EINVALIDTAG;
        }
        for (uint32_t j = 0; j < i; j++) {
            if (!strcmp(tags[j].name ? tags[j].name : "", k)) {
                *why = "Cannot provide multiple Tags with the same key";
                *bad_key = k;
                return K_EINVALIDTAG;
            }
        }
    }
    return K_OK;
}
