/* SPDX-License-Identifier: Apache-2.0 */
#include "common/json.h"

#include <stdio.h>
#include <string.h>

#include "common/text.h"

typedef struct parser {
    arena *a;
    const char *p, *start, *end;
    const char *err;
    char msg[96];
} parser;

static json *fail(parser *ps, const char *why) {
    if (!ps->err) {
        snprintf(ps->msg, sizeof ps->msg, "%s at byte %zu", why, (size_t)(ps->p - ps->start));
        ps->err = ps->msg;
    }
    return NULL;
}

static void skip_ws(parser *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static json *node(parser *ps, json_type t) {
    json *v = arena_zalloc(ps->a, sizeof *v);
    v->type = t;
    return v;
}

static int hex4(const char *p) {
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

static size_t put_utf8(char *o, uint32_t cp) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* At the opening quote; the decoded text never outgrows the input. */
static bool string(parser *ps, char **out, size_t *olen) {
    ps->p++;
    const char *q = ps->p;
    /* an escape's second byte is skipped, never past the end (a '\\' as
     * the last byte would put q two past it) */
    while (q < ps->end && *q != '"') q += *q == '\\' && ps->end - q > 1 ? 2 : 1;
    if (q >= ps->end) return fail(ps, "unterminated string"), false;
    char *o = arena_alloc(ps->a, (size_t)(q - ps->p) + 1);
    size_t n = 0;
    while (*ps->p != '"') {
        unsigned char c = (unsigned char)*ps->p;
        if (c < 0x20) return fail(ps, "control character in string"), false;
        if (c != '\\') {
            uint32_t cp;
            size_t l = utf8_next(ps->p, (size_t)(ps->end - ps->p), &cp);
            if (!l) return fail(ps, "invalid UTF-8 in string"), false;
            memcpy(o + n, ps->p, l);
            n += l;
            ps->p += l;
            continue;
        }
        ps->p++;
        char e = *ps->p++;
        switch (e) {
        case '"':
            o[n++] = '"';
            break;
        case '\\':
            o[n++] = '\\';
            break;
        case '/':
            o[n++] = '/';
            break;
        case 'b':
            o[n++] = '\b';
            break;
        case 'f':
            o[n++] = '\f';
            break;
        case 'n':
            o[n++] = '\n';
            break;
        case 'r':
            o[n++] = '\r';
            break;
        case 't':
            o[n++] = '\t';
            break;
        case 'u': {
            int u = ps->end - ps->p >= 4 ? hex4(ps->p) : -1;
            if (u < 0) return fail(ps, "bad \\u escape"), false;
            ps->p += 4;
            uint32_t cp = (uint32_t)u;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                int lo = ps->end - ps->p >= 6 && ps->p[0] == '\\' && ps->p[1] == 'u'
                             ? hex4(ps->p + 2)
                             : -1;
                if (lo < 0xDC00 || lo > 0xDFFF) return fail(ps, "lone surrogate"), false;
                ps->p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return fail(ps, "lone surrogate"), false;
            }
            n += put_utf8(o + n, cp);
            break;
        }
        default:
            return fail(ps, "bad escape"), false;
        }
    }
    ps->p++;
    o[n] = 0;
    *out = o;
    *olen = n;
    return true;
}

static json *number(parser *ps) {
    const char *s = ps->p;
    if (ps->p < ps->end && *ps->p == '-') ps->p++;
    if (ps->p >= ps->end) return fail(ps, "bad number");
    if (*ps->p == '0') {
        ps->p++;
    } else if (*ps->p >= '1' && *ps->p <= '9') {
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') ps->p++;
    } else {
        return fail(ps, "bad number");
    }
    if (ps->p < ps->end && *ps->p == '.') {
        ps->p++;
        if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9') return fail(ps, "bad number");
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') ps->p++;
    }
    if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
        ps->p++;
        if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-')) ps->p++;
        if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9') return fail(ps, "bad number");
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') ps->p++;
    }
    json *v = node(ps, JSON_NUMBER);
    v->len = (size_t)(ps->p - s);
    v->s = arena_strndup(ps->a, s, v->len);
    return v;
}

static bool literal(parser *ps, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n)) return false;
    ps->p += n;
    return true;
}

static json *value(parser *ps, int depth);

/* Appends v to a growing array (items, n, cap) in the arena. */
static void push(parser *ps, json ***items, char ***keys, size_t **klens, size_t *n, size_t *cap,
                 json *v, char *k, size_t kl) {
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 8;
        json **ni = arena_alloc(ps->a, c * sizeof *ni);
        if (*n) memcpy(ni, *items, *n * sizeof *ni);
        *items = ni;
        if (keys) {
            char **nk = arena_alloc(ps->a, c * sizeof *nk);
            size_t *nl = arena_alloc(ps->a, c * sizeof *nl);
            if (*n) {
                memcpy(nk, *keys, *n * sizeof *nk);
                memcpy(nl, *klens, *n * sizeof *nl);
            }
            *keys = nk;
            *klens = nl;
        }
        *cap = c;
    }
    (*items)[*n] = v;
    if (keys) {
        (*keys)[*n] = k;
        (*klens)[*n] = kl;
    }
    (*n)++;
}

static json *container(parser *ps, int depth, bool obj) {
    if (depth >= JSON_MAX_DEPTH) return fail(ps, "nested too deep");
    json *v = node(ps, obj ? JSON_OBJECT : JSON_ARRAY);
    size_t cap = 0;
    ps->p++;
    skip_ws(ps);
    char close = obj ? '}' : ']';
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return v;
    }
    for (;;) {
        char *k = NULL;
        size_t kl = 0;
        if (obj) {
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != '"') return fail(ps, "expected a member name");
            if (!string(ps, &k, &kl)) return NULL;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') return fail(ps, "expected ':'");
            ps->p++;
        }
        json *item = value(ps, depth + 1);
        if (!item) return NULL;
        push(ps, &v->items, obj ? &v->keys : NULL, obj ? &v->klens : NULL, &v->n, &cap, item, k,
             kl);
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            return v;
        }
        return fail(ps, obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static json *value(parser *ps, int depth) {
    skip_ws(ps);
    if (ps->p >= ps->end) return fail(ps, "unexpected end");
    char c = *ps->p;
    if (c == '{') return container(ps, depth, true);
    if (c == '[') return container(ps, depth, false);
    if (c == '"') {
        json *v = node(ps, JSON_STRING);
        return string(ps, &v->s, &v->len) ? v : NULL;
    }
    if (c == '-' || (c >= '0' && c <= '9')) return number(ps);
    if (literal(ps, "true")) return node(ps, JSON_TRUE);
    if (literal(ps, "false")) return node(ps, JSON_FALSE);
    if (literal(ps, "null")) return node(ps, JSON_NULL);
    return fail(ps, "unexpected character");
}

json *json_parse(arena *a, const char *text, size_t n, const char **err) {
    parser ps = {.a = a, .p = text, .start = text, .end = text + n};
    json *v = value(&ps, 0);
    if (v) {
        skip_ws(&ps);
        if (ps.p != ps.end) v = fail(&ps, "trailing data");
    }
    if (!v && err) *err = arena_strdup(a, ps.err ? ps.err : "invalid JSON");
    return v;
}

const json *json_get(const json *o, const char *name) {
    if (!o || o->type != JSON_OBJECT) return NULL;
    size_t nl = strlen(name);
    const json *found = NULL;
    for (size_t i = 0; i < o->n; i++)
        if (o->klens[i] == nl && !memcmp(o->keys[i], name, nl)) found = o->items[i];
    return found;
}

bool json_u64(const json *v, uint64_t *out) {
    if (!v || v->type != JSON_NUMBER || !v->len) return false;
    uint64_t x = 0;
    for (size_t i = 0; i < v->len; i++) {
        char c = v->s[i];
        if (c < '0' || c > '9') return false;
        if (x > (UINT64_MAX - (uint64_t)(c - '0')) / 10) return false;
        x = x * 10 + (uint64_t)(c - '0');
    }
    *out = x;
    return true;
}

void json_write_str(kbuf *b, const char *s, size_t n) {
    kbuf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            kbuf_putc(b, '\\');
            kbuf_putc(b, (char)c);
        } else if (c < 0x20) {
            kbuf_printf(b, "\\u%04x", c);
        } else {
            kbuf_putc(b, (char)c);
        }
    }
    kbuf_putc(b, '"');
}
