/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness for the strict JSON parser (common/json.c json_parse),
 * which reads what clients send: Swift SLO manifests today. See README.md.
 *
 * Input: the document itself.
 *
 * Oracles besides memory safety:
 * - a refusal always says why (err set), an acceptance never does;
 * - the tree keeps the contract: strings and names are valid UTF-8 of len
 *   bytes followed by a NUL, numbers are their literal (digits, sign, '.',
 *   exponent; len bytes), nesting within JSON_MAX_DEPTH, json_get finds the
 *   last member of a name, json_u64 reads back as the literal it came from;
 * - a document that parses also parses with whitespace around it, to the
 *   same tree, and the tree written back as JSON parses to the same tree;
 * - a document that ends in ']', '}' or '"' is refused without that last
 *   byte (the value it closes is then unfinished). */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/json.h"
#include "common/text.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "oracle failed at %s:%d: %s\n", __FILE__, __LINE__, #c);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Parses n bytes from an exactly-sized copy (a read past the end is caught). */
static json *parse(arena *a, const void *p, size_t n, const char **err) {
    char *copy = malloc(n ? n : 1);
    if (n) memcpy(copy, p, n);
    *err = NULL;
    json *v = json_parse(a, copy, n, err);
    free(copy);
    CHECK(v ? *err == NULL : *err != NULL && **err);
    return v;
}

static bool number_char(char c) {
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

static void check_tree(const json *v, int depth) {
    CHECK(v);
    switch (v->type) {
    case JSON_NULL:
    case JSON_FALSE:
    case JSON_TRUE:
        break;
    case JSON_NUMBER: {
        CHECK(v->s && v->len && strlen(v->s) == v->len);
        for (size_t i = 0; i < v->len; i++) CHECK(number_char(v->s[i]));
        uint64_t x;
        if (json_u64(v, &x)) {
            char back[24];
            snprintf(back, sizeof back, "%" PRIu64, x);
            CHECK(!strcmp(back, v->s));
        }
        break;
    }
    case JSON_STRING:
        CHECK(v->s && v->s[v->len] == 0 && utf8_valid(v->s, v->len));
        CHECK(!json_u64(v, &(uint64_t){0}));
        break;
    case JSON_ARRAY:
    case JSON_OBJECT:
        CHECK(depth < JSON_MAX_DEPTH);
        CHECK(!v->n || v->items);
        for (size_t i = 0; i < v->n; i++) {
            if (v->type == JSON_OBJECT) {
                const char *k = v->keys[i];
                size_t kl = v->klens[i];
                CHECK(k && k[kl] == 0 && utf8_valid(k, kl));
                /* json_get: the last member of that name (names with a NUL
                 * cannot be asked for) */
                if (strlen(k) == kl) {
                    size_t last = i;
                    for (size_t j = i + 1; j < v->n; j++)
                        if (v->klens[j] == kl && !memcmp(v->keys[j], k, kl)) last = j;
                    CHECK(json_get(v, k) == v->items[last]);
                }
            }
            check_tree(v->items[i], depth + 1);
        }
        if (v->type == JSON_ARRAY) CHECK(json_get(v, "") == NULL);
        break;
    default:
        CHECK(!"unknown type");
    }
}

static bool same_tree(const json *x, const json *y) {
    if (x->type != y->type) return false;
    switch (x->type) {
    case JSON_NUMBER:
    case JSON_STRING:
        return x->len == y->len && !memcmp(x->s, y->s, x->len);
    case JSON_ARRAY:
    case JSON_OBJECT:
        if (x->n != y->n) return false;
        for (size_t i = 0; i < x->n; i++) {
            if (x->type == JSON_OBJECT &&
                (x->klens[i] != y->klens[i] || memcmp(x->keys[i], y->keys[i], x->klens[i])))
                return false;
            if (!same_tree(x->items[i], y->items[i])) return false;
        }
        return true;
    default:
        return true;
    }
}

/* The tree as JSON, compact. */
static void write_json(kbuf *out, const json *v) {
    switch (v->type) {
    case JSON_NULL:
        kbuf_append(out, "null", 4);
        break;
    case JSON_FALSE:
        kbuf_append(out, "false", 5);
        break;
    case JSON_TRUE:
        kbuf_append(out, "true", 4);
        break;
    case JSON_NUMBER:
        kbuf_append(out, v->s, v->len);
        break;
    case JSON_STRING:
        json_write_str(out, v->s, v->len);
        break;
    case JSON_ARRAY:
    case JSON_OBJECT:
        kbuf_putc(out, v->type == JSON_ARRAY ? '[' : '{');
        for (size_t i = 0; i < v->n; i++) {
            if (i) kbuf_putc(out, ',');
            if (v->type == JSON_OBJECT) {
                json_write_str(out, v->keys[i], v->klens[i]);
                kbuf_putc(out, ':');
            }
            write_json(out, v->items[i]);
        }
        kbuf_putc(out, v->type == JSON_ARRAY ? ']' : '}');
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    arena *a = arena_new(0);
    const char *err;
    json *v = parse(a, data, size, &err);
    if (!v) {
        arena_free(a);
        return 0;
    }
    check_tree(v, 0);

    /* whitespace around: the same tree */
    static const char ws[] = " \t\r\n";
    kbuf wrapped = KBUF_INIT;
    kbuf_append(&wrapped, ws + size % 4, 4 - size % 4);
    kbuf_append(&wrapped, data, size);
    kbuf_append(&wrapped, ws, 1 + size % 3);
    json *w = parse(a, wrapped.data, wrapped.len, &err);
    CHECK(w && same_tree(v, w));
    kbuf_free(&wrapped);

    /* written back: the same tree */
    kbuf back = KBUF_INIT;
    write_json(&back, v);
    json *b = parse(a, back.data, back.len, &err);
    CHECK(b && same_tree(v, b));
    kbuf_free(&back);

    /* the closing byte cut off: refused */
    char last = size ? (char)data[size - 1] : 0;
    if (last == ']' || last == '}' || last == '"') CHECK(!parse(a, data, size - 1, &err));
    arena_free(a);
    return 0;
}
