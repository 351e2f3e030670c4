/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness for the S3 POST Object policy check
 * (gateway/s3_post.c s3_post_policy_check), which reads the policy a
 * browser form carries before the form is authenticated. See README.md.
 *
 * Input: lines "name=value" (the form's fields, names lower-cased here),
 * then a line "--", then the policy document as JSON (base64-encoded here,
 * so that the fuzzer explores the JSON); without a "--" line the whole
 * input is given as the base64 text itself.
 *
 * Oracles besides memory safety:
 * - a failure always has a message, a success none; the result is one of
 *   the documented ones and the same when asked twice;
 * - a success leaves min <= max only through the policy's own ranges
 *   (without one: 0 and UINT64_MAX), and every field it accepted is exempt
 *   or named by a condition of the decoded document (reference written
 *   here from the tree);
 * - a policy accepted now is expired at the end of year 9999, and one
 *   accepted with one more field no condition names is refused with
 *   S3P_EXTRA. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/arena.h"
#include "common/hash.h"
#include "common/json.h"
#include "gateway/s3_post.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "oracle failed at %s:%d: %s\n", __FILE__, __LINE__, #c);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define MAX_FIELDS 32
#define NOW 1765000000 /* December 2025 */
#define FAR 253402300800LL

static bool exempt(const char *n) {
    return !strcmp(n, "x-amz-signature") || !strcmp(n, "signature") ||
           !strcmp(n, "awsaccesskeyid") || !strcmp(n, "file") || !strcmp(n, "policy") ||
           !strncmp(n, "x-ignore-", 9);
}

/* Whether a condition of doc names field n (reference). */
static bool named(const json *doc, const char *n) {
    const json *c = json_get(doc, "conditions");
    if (!c || c->type != JSON_ARRAY) return false;
    for (size_t i = 0; i < c->n; i++) {
        const json *x = c->items[i];
        if (x->type == JSON_OBJECT)
            for (size_t j = 0; j < x->n; j++)
                if (x->klens[j] == strlen(n) && !strncasecmp(x->keys[j], n, x->klens[j]))
                    return true;
        if (x->type == JSON_ARRAY && x->n == 3 && x->items[1]->type == JSON_STRING &&
            x->items[1]->len == strlen(n) + 1 && x->items[1]->s[0] == '$' &&
            !strncasecmp(x->items[1]->s + 1, n, strlen(n)))
            return true;
    }
    return false;
}

static s3p_result check(arena *a, const char *pol, obj_attr *f, uint32_t nf, time_t now,
                        s3p_range *r) {
    const char *msg = "unset";
    s3p_result res = s3_post_policy_check(a, pol, "bucket", f, nf, now, r, &msg);
    CHECK(res >= S3P_OK && res <= S3P_EXTRA);
    CHECK(res == S3P_OK ? msg == NULL : msg != NULL && *msg);
    return res;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    arena *a = arena_new(0);
    char *in = arena_alloc(a, size + 1);
    memcpy(in, data, size);
    in[size] = 0;
    obj_attr f[MAX_FIELDS + 1];
    uint32_t nf = 0;
    const char *doc_text = NULL;
    size_t doc_len = 0;
    char *sep = strstr(in, "\n--\n");
    const char *pol = in;
    if (sep && !memchr(in, 0, size)) {
        *sep = 0;
        doc_text = sep + 4;
        doc_len = strlen(doc_text);
        for (char *line = in; line && *line && nf < MAX_FIELDS;) {
            char *nl = strchr(line, '\n');
            if (nl) *nl = 0;
            char *eq = strchr(line, '=');
            if (eq) {
                *eq = 0;
                for (char *c = line; *c; c++)
                    if (*c >= 'A' && *c <= 'Z') *c = (char)(*c + 32);
                f[nf++] = (obj_attr){.name = line, .value = eq + 1};
            }
            line = nl ? nl + 1 : NULL;
        }
        char *b64 = arena_alloc(a, 4 * (doc_len / 3 + 1) + 1);
        base64_encode((const uint8_t *)doc_text, doc_len, b64);
        pol = b64;
    } else if (memchr(in, 0, size)) {
        arena_free(a);
        return 0;
    }
    s3p_range r, r2;
    s3p_result res = check(a, pol, f, nf, NOW, &r);
    CHECK(check(a, pol, f, nf, NOW, &r2) == res);
    if (res == S3P_OK) {
        CHECK(r.min == r2.min && r.max == r2.max);
        json *doc = doc_text ? json_parse(a, doc_text, doc_len, NULL) : NULL;
        for (uint32_t i = 0; doc && i < nf; i++) CHECK(exempt(f[i].name) || named(doc, f[i].name));
        CHECK(check(a, pol, f, nf, (time_t)FAR, &r2) == S3P_EXPIRED);
        if (doc && !named(doc, "zz-fuzz-extra")) {
            f[nf] = (obj_attr){.name = "zz-fuzz-extra", .value = "1"};
            CHECK(check(a, pol, f, nf + 1, NOW, &r2) == S3P_EXTRA);
        }
    }
    arena_free(a);
    return 0;
}
