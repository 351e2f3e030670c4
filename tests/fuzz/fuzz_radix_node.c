/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness for the radix tree's node decoder (meta/radix.c
 * decode_node): the value of a tree node as the metadata store holds it,
 * which another gateway, an older version or a damaged store may have
 * written. decode_node is static: like tests/unit/bench/test_loadgen.c does
 * for bench/loadgen.c, this harness includes meta/radix.c to reach it.
 * See README.md.
 *
 * Input: the stored node value, any bytes.
 *
 * Oracles besides memory safety:
 * - a decoded node keeps the format's invariants: a known state, a token
 *   only when PENDING, an intent label of 1..MAX_GROUP_LABEL bytes, edge
 *   labels of 1..RADIX_MAX_NAME bytes inside the value, NAME/CHILD flags
 *   only, labels strictly increasing;
 * - decode -> encode -> decode gives the same node, and encoding it again
 *   gives the same bytes; the encoding equals the input unless the input
 *   spelled a label length < 128 in two bytes (then it is shorter). */
#include "meta/radix.c"

#include <stdio.h>

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "oracle failed at %s:%d: %s\n", __FILE__, __LINE__, #c);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void fuzz_check_node(const node *x) {
    const uint8_t *base = (const uint8_t *)x->raw.data, *end = base + x->raw.len;
    CHECK(x->h.state <= ST_RETIRED);
    CHECK(x->h.state == ST_PENDING || x->h.token == 0);
    if (x->h.has_intent) {
        CHECK(x->h.intent_glen >= 1 && x->h.intent_glen <= MAX_GROUP_LABEL);
        CHECK(x->h.intent_g >= base && x->h.intent_g + x->h.intent_glen <= end);
    } else {
        CHECK(x->h.intent_glen == 0 && !x->h.intent_g);
    }
    for (uint32_t i = 0; i < x->n; i++) {
        const edge *e = &x->e[i];
        CHECK(e->len >= 1 && e->len <= RADIX_MAX_NAME);
        CHECK(e->label >= base && e->label + e->len <= end);
        CHECK(e->flags && !(e->flags & ~(E_NAME | E_CHILD)));
        if (i) CHECK(keycmp(x->e[i - 1].label, x->e[i - 1].len, e->label, e->len) < 0);
    }
}

static bool fuzz_same_node(const node *x, const node *y) {
    if (x->h.state != y->h.state || x->h.seq != y->h.seq || x->h.token != y->h.token ||
        x->h.has_intent != y->h.has_intent || x->h.intent_token != y->h.intent_token ||
        x->h.intent_glen != y->h.intent_glen ||
        (x->h.intent_glen && memcmp(x->h.intent_g, y->h.intent_g, x->h.intent_glen)) ||
        x->n != y->n)
        return false;
    for (uint32_t i = 0; i < x->n; i++)
        if (x->e[i].len != y->e[i].len || x->e[i].flags != y->e[i].flags ||
            memcmp(x->e[i].label, y->e[i].label, x->e[i].len))
            return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    node x, y;
    node_init(&x);
    node_init(&y);
    /* the value in x->raw as node_read leaves it, but in an exactly-sized
     * buffer so that a read past its end is caught */
    x.raw.data = malloc(size ? size : 1);
    if (size) memcpy(x.raw.data, data, size);
    x.raw.len = x.raw.cap = size;
    kerr e = decode_node(&x);
    if (e != K_OK) {
        CHECK(e == K_ECORRUPT);
    } else {
        fuzz_check_node(&x);
        encode_node(&x.h, x.e, x.n, &y.raw);
        CHECK(y.raw.len <= size);
        if (y.raw.len == size) CHECK(!memcmp(y.raw.data, data, size));
        CHECK(decode_node(&y) == K_OK);
        fuzz_check_node(&y);
        CHECK(fuzz_same_node(&x, &y));
        kbuf again = KBUF_INIT;
        encode_node(&y.h, y.e, y.n, &again);
        CHECK(again.len == y.raw.len && !memcmp(again.data, y.raw.data, again.len));
        kbuf_free(&again);
    }
    node_free(&x);
    node_free(&y);
    return 0;
}
