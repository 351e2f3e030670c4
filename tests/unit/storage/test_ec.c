/* SPDX-License-Identifier: Apache-2.0 */
/* Reed–Solomon coding (storage/ec.h): every erasure pattern of up to m
 * blocks rebuilds the exact bytes, for several (k, m) and lengths; more
 * than m missing is refused; concurrent degraded reads share the cache. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "storage/ec.h"

static uint64_t rng = 88172645463325252u;
static uint8_t next_byte(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint8_t)rng;
}

typedef struct stripe {
    unsigned n;
    size_t len;
    uint8_t *orig[EC_MAX_BLOCKS], *work[EC_MAX_BLOCKS];
} stripe;

static void stripe_make(ec_code *c, size_t len, stripe *s) {
    unsigned k = ec_k(c), m = ec_m(c);
    s->n = k + m;
    s->len = len;
    for (unsigned i = 0; i < s->n; i++) {
        s->orig[i] = malloc(len ? len : 1);
        s->work[i] = malloc(len ? len : 1);
        assert_non_null(s->orig[i]);
        assert_non_null(s->work[i]);
        for (size_t j = 0; i < k && j < len; j++) s->orig[i][j] = next_byte();
    }
    ec_encode(c, len, (const uint8_t *const *)s->orig, s->orig + k);
}

static void stripe_free(stripe *s) {
    for (unsigned i = 0; i < s->n; i++) {
        free(s->orig[i]);
        free(s->work[i]);
    }
}

/* Erases the blocks of `missing` (filled with garbage), rebuilds, compares. */
static void check_pattern(ec_code *c, stripe *s, uint32_t missing) {
    for (unsigned i = 0; i < s->n; i++) {
        if (missing & (1u << i))
            memset(s->work[i], 0xA5, s->len);
        else
            memcpy(s->work[i], s->orig[i], s->len);
    }
    assert_int_equal(ec_reconstruct(c, s->len, s->work, missing, missing), K_OK);
    for (unsigned i = 0; i < s->n; i++) assert_memory_equal(s->work[i], s->orig[i], s->len);
    /* one wanted block only: rebuilt; the other missing ones untouched */
    for (unsigned w = 0; w < s->n; w++) {
        if (!(missing & (1u << w))) continue;
        for (unsigned i = 0; i < s->n; i++)
            if (missing & (1u << i)) memset(s->work[i], 0xA5, s->len);
        assert_int_equal(ec_reconstruct(c, s->len, s->work, missing, 1u << w), K_OK);
        for (unsigned i = 0; i < s->n; i++) {
            if (i == w) {
                assert_memory_equal(s->work[i], s->orig[i], s->len);
            } else if (missing & (1u << i)) {
                for (size_t j = 0; j < s->len; j++) assert_int_equal(s->work[i][j], 0xA5);
            }
        }
    }
}

static void every_pattern(unsigned k, unsigned m, size_t len) {
    ec_code *c;
    assert_int_equal(ec_new(k, m, &c), K_OK);
    stripe s;
    stripe_make(c, len, &s);
    unsigned n = k + m, tried = 0;
    for (uint32_t mask = 0; mask < (1u << n); mask++) {
        if ((unsigned)__builtin_popcount(mask) > m) {
            if (tried < 40 && (unsigned)__builtin_popcount(mask) == m + 1) {
                assert_int_equal(ec_reconstruct(c, len, s.work, mask, mask), K_EINVAL);
                tried++;
            }
            continue;
        }
        check_pattern(c, &s, mask);
    }
    /* the second time round comes from the cache: same bytes */
    check_pattern(c, &s, (1u << n) - (1u << (n - m)));
    stripe_free(&s);
    ec_free(c);
}

static void test_rs_6_3(void **state) {
    (void)state;
    every_pattern(6, 3, 4096);
    every_pattern(6, 3, 1);
    every_pattern(6, 3, 65536 + 13);
}

static void test_other_codes(void **state) {
    (void)state;
    every_pattern(4, 2, 1000);
    every_pattern(10, 4, 777);
    every_pattern(1, 2, 64); /* replication as a code */
    every_pattern(3, 0, 64); /* no parity: nothing may be missing */
}

static void test_refusals(void **state) {
    (void)state;
    ec_code *c;
    assert_int_equal(ec_new(0, 3, &c), K_EINVAL);
    assert_int_equal(ec_new(30, 3, &c), K_EINVAL);
    assert_int_equal(ec_new(6, 3, &c), K_OK);
    uint8_t *b[9] = {0};
    assert_int_equal(ec_reconstruct(c, 16, b, 1u << 9, 1u << 9), K_EINVAL); /* past k+m */
    assert_int_equal(ec_reconstruct(c, 16, b, 1u, 2u), K_EINVAL);           /* want not missing */
    assert_int_equal(ec_reconstruct(c, 16, b, 0, 0), K_OK);                 /* nothing to do */
    ec_free(c);
}

typedef struct worker_arg {
    ec_code *c;
    stripe *s;
    uint32_t mask;
    int ok;
} worker_arg;

static void *worker(void *p) {
    worker_arg *w = p;
    uint8_t *blocks[EC_MAX_BLOCKS];
    for (unsigned i = 0; i < w->s->n; i++) {
        blocks[i] = malloc(w->s->len);
        memcpy(blocks[i], w->s->orig[i], w->s->len);
    }
    w->ok = 1;
    for (int round = 0; round < 200; round++) {
        for (unsigned i = 0; i < w->s->n; i++)
            if (w->mask & (1u << i)) memset(blocks[i], 0, w->s->len);
        if (ec_reconstruct(w->c, w->s->len, blocks, w->mask, w->mask) != K_OK) w->ok = 0;
        for (unsigned i = 0; i < w->s->n; i++)
            if (memcmp(blocks[i], w->s->orig[i], w->s->len)) w->ok = 0;
    }
    for (unsigned i = 0; i < w->s->n; i++) free(blocks[i]);
    return NULL;
}

static void test_concurrent_patterns(void **state) {
    (void)state;
    ec_code *c;
    assert_int_equal(ec_new(6, 3, &c), K_OK);
    stripe s;
    stripe_make(c, 8192, &s);
    pthread_t t[8];
    worker_arg a[8];
    for (int i = 0; i < 8; i++) {
        a[i] = (worker_arg){.c = c, .s = &s, .mask = (1u << (i % 9)) | (1u << ((i + 3) % 9))};
        pthread_create(&t[i], NULL, worker, &a[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        assert_true(a[i].ok);
    }
    stripe_free(&s);
    ec_free(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rs_6_3),
        cmocka_unit_test(test_other_codes),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_concurrent_patterns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
