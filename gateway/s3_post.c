/* SPDX-License-Identifier: Apache-2.0 */
#include "gateway/s3_post.h"

#include <string.h>

#include "common/buf.h"
#include "common/hash.h"
#include "common/json.h"
#include "common/text.h"

#define POLICY_MAX_B64 (64u << 10)

/* "2026-12-07T16:00:00Z" or with fractional seconds "...:00.000Z". */
static bool parse_expiration(const char *s, size_t n, time_t *out) {
    if (n < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
        s[n - 1] != 'Z')
        return false;
    if (n > 20) {
        if (s[19] != '.' || n == 21) return false;
        for (size_t i = 20; i < n - 1; i++)
            if (s[i] < '0' || s[i] > '9') return false;
    }
    char basic[17];
    memcpy(basic, s, 4);
    memcpy(basic + 4, s + 5, 2);
    memcpy(basic + 6, s + 8, 2);
    basic[8] = 'T';
    memcpy(basic + 9, s + 11, 2);
    memcpy(basic + 11, s + 14, 2);
    memcpy(basic + 13, s + 17, 2);
    basic[15] = 'Z';
    basic[16] = 0;
    return parse_iso8601_basic(basic, out);
}

static bool name_ieq(const char *a, size_t an, const char *b) {
    return str_ieq(a, an, b, strlen(b));
}

/* The value of field name (n bytes, any case), or NULL. */
static const char *field_of(const char *bucket, const obj_attr *f, uint32_t nf, const char *name,
                            size_t n) {
    if (name_ieq(name, n, "bucket")) return bucket;
    for (uint32_t i = 0; i < nf; i++)
        if (name_ieq(name, n, f[i].name)) return f[i].value;
    return NULL;
}

/* The condition as AWS prints it in the failure message. */
static const char *cond_text(arena *a, const char *op, const char *name, size_t nl,
                             const char *value, size_t vl) {
    kbuf b = KBUF_INIT;
    kbuf_putc(&b, '[');
    json_write_str(&b, op, strlen(op));
    kbuf_puts(&b, ", ");
    json_write_str(&b, name, nl);
    kbuf_puts(&b, ", ");
    json_write_str(&b, value, vl);
    kbuf_putc(&b, ']');
    const char *s = arena_strndup(a, b.data, b.len);
    kbuf_free(&b);
    return s;
}

static s3p_result failed(arena *a, const char *what, const char **message) {
    *message = arena_printf(a, "Invalid according to Policy: Policy Condition failed: %s", what);
    return S3P_FAILED;
}

/* Marks the fields a condition names as covered. */
static void cover(const obj_attr *f, uint32_t nf, bool *covered, const char *name, size_t n) {
    for (uint32_t i = 0; i < nf; i++)
        if (name_ieq(name, n, f[i].name)) covered[i] = true;
}

/* One eq / starts-with condition on "$name" (with the '$' for arrays). */
static s3p_result check_match(arena *a, const char *bucket, const obj_attr *f, uint32_t nf,
                              bool *covered, const char *op, bool prefix, const json *name,
                              const json *value, bool dollar, const char **message) {
    if (name->type != JSON_STRING || value->type != JSON_STRING) {
        *message = "Invalid Policy: Invalid Simple-Condition: value must be a string.";
        return S3P_MALFORMED;
    }
    const char *n = name->s;
    size_t nl = name->len;
    if (dollar) {
        if (!nl || n[0] != '$') {
            *message = "Invalid Policy: Invalid Condition: field name must start with '$'.";
            return S3P_MALFORMED;
        }
        n++, nl--;
    }
    cover(f, nf, covered, n, nl);
    const char *have = field_of(bucket, f, nf, n, nl);
    bool ok = have != NULL;
    if (ok && prefix && name_ieq(n, nl, "content-type")) {
        /* a list of types: each one must start with the prefix (AWS) */
        for (const char *t = have; ok;) {
            while (*t == ' ' || *t == '\t') t++;
            ok = strlen(t) >= value->len && !memcmp(t, value->s, value->len);
            const char *comma = strchr(t, ',');
            if (!comma) break;
            t = comma + 1;
        }
    } else if (ok && prefix)
        ok = strlen(have) >= value->len && !memcmp(have, value->s, value->len);
    else if (ok)
        ok = strlen(have) == value->len && !memcmp(have, value->s, value->len);
    if (ok) return S3P_OK;
    const char *fname = dollar ? name->s : arena_printf(a, "$%.*s", (int)nl, n);
    return failed(a, cond_text(a, op, fname, strlen(fname), value->s, value->len), message);
}

static bool exempt(const char *name) {
    return !strcmp(name, "x-amz-signature") || !strcmp(name, "signature") ||
           !strcmp(name, "awsaccesskeyid") || !strcmp(name, "file") || !strcmp(name, "policy") ||
           !strncmp(name, "x-ignore-", 9);
}

s3p_result s3_post_policy_check(arena *a, const char *policy_b64, const char *bucket,
                                const obj_attr *f, uint32_t nf, time_t now, s3p_range *range,
                                const char **message) {
    range->min = 0;
    range->max = UINT64_MAX;
    size_t bl = strlen(policy_b64);
    *message = "Invalid Policy: Invalid JSON.";
    if (bl > POLICY_MAX_B64) return S3P_MALFORMED;
    char *text = arena_alloc(a, bl + 1);
    int tl = base64_decode(policy_b64, bl, (uint8_t *)text, bl + 1);
    if (tl <= 0) return S3P_MALFORMED;
    json *doc = json_parse(a, text, (size_t)tl, NULL);
    if (!doc || doc->type != JSON_OBJECT) return S3P_MALFORMED;
    const json *exp = json_get(doc, "expiration");
    const json *conds = json_get(doc, "conditions");
    time_t when;
    if (!exp || exp->type != JSON_STRING || !parse_expiration(exp->s, exp->len, &when)) {
        *message = "Invalid Policy: Invalid 'expiration' value.";
        return S3P_MALFORMED;
    }
    if (!conds || conds->type != JSON_ARRAY) {
        *message = "Invalid Policy: Invalid 'conditions' value.";
        return S3P_MALFORMED;
    }
    /* the shape first: a malformed condition is 400 wherever it sits */
    for (size_t i = 0; i < conds->n; i++) {
        const json *c = conds->items[i];
        bool ok = c->type == JSON_OBJECT;
        if (c->type == JSON_ARRAY && c->n == 3 && c->items[0]->type == JSON_STRING) {
            const char *op = c->items[0]->s;
            if (!strcasecmp(op, "content-length-range")) {
                uint64_t lo, hi;
                ok = json_u64(c->items[1], &lo) && json_u64(c->items[2], &hi) && lo <= hi;
            } else {
                ok = (!strcasecmp(op, "eq") || !strcasecmp(op, "starts-with")) &&
                     c->items[1]->type == JSON_STRING && c->items[2]->type == JSON_STRING &&
                     c->items[1]->len && c->items[1]->s[0] == '$';
            }
        }
        for (size_t j = 0; ok && c->type == JSON_OBJECT && j < c->n; j++)
            ok = c->items[j]->type == JSON_STRING;
        if (!ok) {
            *message = "Invalid Policy: Invalid Condition.";
            return S3P_MALFORMED;
        }
    }
    if (when <= now) {
        *message = "Invalid according to Policy: Policy expired.";
        return S3P_EXPIRED;
    }
    bool *covered = arena_zalloc(a, (nf + 1) * sizeof *covered);
    for (size_t i = 0; i < conds->n; i++) {
        const json *c = conds->items[i];
        s3p_result r = S3P_OK;
        if (c->type == JSON_OBJECT) {
            for (size_t j = 0; j < c->n && r == S3P_OK; j++) {
                json name = {.type = JSON_STRING, .s = c->keys[j], .len = c->klens[j]};
                r = check_match(a, bucket, f, nf, covered, "eq", false, &name, c->items[j], false,
                                message);
            }
        } else if (!strcasecmp(c->items[0]->s, "content-length-range")) {
            uint64_t lo, hi;
            json_u64(c->items[1], &lo);
            json_u64(c->items[2], &hi);
            if (lo > range->min) range->min = lo;
            if (hi < range->max) range->max = hi;
        } else {
            bool prefix = !strcasecmp(c->items[0]->s, "starts-with");
            r = check_match(a, bucket, f, nf, covered, prefix ? "starts-with" : "eq", prefix,
                            c->items[1], c->items[2], true, message);
        }
        if (r != S3P_OK) return r;
    }
    for (uint32_t i = 0; i < nf; i++) {
        if (covered[i] || exempt(f[i].name)) continue;
        *message =
            arena_printf(a, "Invalid according to Policy: Extra input fields: %s", f[i].name);
        return S3P_EXTRA;
    }
    *message = NULL;
    return S3P_OK;
}
