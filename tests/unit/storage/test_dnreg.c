/* SPDX-License-Identifier: Apache-2.0 */
/* The datanode registry (storage/dnreg.h) on the in-memory kv: record
 * codec, listing with up/down by heartbeat age, the index under concurrent
 * registrations, garbage records skipped, and the heartbeat thread. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/clock.h"
#include "storage/dnreg.h"

static void test_codec(void **state) {
    uint64_t vols[] = {0x1122334455667788u, 42};
    dn_info in = {.id = 0xabcdefu,
                  .address = "10.0.0.1:9100",
                  .zone = "z1",
                  .media = "ssd",
                  .capacity = 1000,
                  .free_bytes = 600,
                  .chunk_size = 1u << 20,
                  .heartbeat_ms = 1234567,
                  .volumes = vols,
                  .nvolumes = 2};
    kbuf b = KBUF_INIT;
    dnreg_encode(&in, &b);
    dn_info out;
    assert_int_equal(dnreg_decode(b.data, b.len, &out), K_OK);
    assert_int_equal(out.id, in.id);
    assert_string_equal(out.address, in.address);
    assert_string_equal(out.zone, "z1");
    assert_string_equal(out.media, "ssd");
    assert_int_equal(out.capacity, 1000);
    assert_int_equal(out.free_bytes, 600);
    assert_int_equal(out.chunk_size, 1u << 20);
    assert_int_equal(out.heartbeat_ms, 1234567);
    assert_int_equal(out.nvolumes, 2);
    assert_int_equal(out.volumes[0], vols[0]);
    assert_int_equal(out.volumes[1], 42);
    dnreg_info_clear(&out);
    assert_int_equal(dnreg_decode("garbage", 7, &out), K_ECORRUPT);
    assert_int_equal(dnreg_decode("kura datanode 2\nid 1\n", 21, &out), K_ECORRUPT);
    kbuf_free(&b);
}

static void test_list_up_down(void **state) {
    kv *m = kv_mem_new();
    dn_info *l;
    size_t n;
    assert_int_equal(dnreg_list(m, 0, 5000, &l, &n), K_OK);
    assert_int_equal(n, 0);
    uint64_t v1 = 7;
    dn_info a = {.id = 1,
                 .address = "a:1",
                 .zone = "z",
                 .heartbeat_ms = 10000,
                 .volumes = &v1,
                 .nvolumes = 1};
    dn_info b = {.id = 2, .address = "b:1", .zone = "z", .heartbeat_ms = 4000};
    assert_int_equal(dnreg_publish(m, &a), K_OK);
    assert_int_equal(dnreg_publish(m, &b), K_OK);
    assert_int_equal(dnreg_publish(m, &a), K_OK); /* again: indexed once */
    /* a record that does not parse is skipped */
    assert_int_equal(kv_put(m, "N0000000000000003", 17, "junk", 4), K_OK);
    kbuf idx = KBUF_INIT;
    assert_int_equal(kv_get(m, "N", 1, &idx), K_OK);
    kbuf_append(&idx, "0000000000000003\n", 17);
    assert_int_equal(kv_put(m, "N", 1, idx.data, idx.len), K_OK);
    kbuf_free(&idx);
    assert_int_equal(dnreg_list(m, 10500, 5000, &l, &n), K_OK);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        if (l[i].id == 1) {
            assert_true(l[i].up);
            assert_int_equal(l[i].nvolumes, 1);
            assert_int_equal(l[i].volumes[0], 7);
        } else {
            assert_int_equal(l[i].id, 2);
            assert_false(l[i].up); /* 6.5 s without a heartbeat */
        }
    }
    dnreg_list_free(l, n);
    kv_close(m);
}

typedef struct reg_arg {
    kv *m;
    uint64_t id;
} reg_arg;

static void *reg_main(void *p) {
    reg_arg *a = p;
    dn_info d = {.id = a->id, .address = "x:1", .zone = "z", .heartbeat_ms = 1};
    assert_int_equal(dnreg_publish(a->m, &d), K_OK);
    return NULL;
}

static void test_concurrent_registrations(void **state) {
    kv *m = kv_mem_new();
    enum { N = 16 };
    pthread_t t[N];
    reg_arg args[N];
    for (int i = 0; i < N; i++) {
        args[i] = (reg_arg){m, (uint64_t)i + 100};
        pthread_create(&t[i], NULL, reg_main, &args[i]);
    }
    for (int i = 0; i < N; i++) pthread_join(t[i], NULL);
    dn_info *l;
    size_t n;
    assert_int_equal(dnreg_list(m, 1, 5000, &l, &n), K_OK);
    assert_int_equal(n, N); /* the index lost none (compare-and-set) */
    dnreg_list_free(l, n);
    kv_close(m);
}

static int fills;
static void fill(void *arg, dn_info *info) {
    __atomic_add_fetch(&fills, 1, __ATOMIC_SEQ_CST);
    info->free_bytes = 99;
}

static void test_heartbeat_thread(void **state) {
    kv *m = kv_mem_new();
    dn_info base = {.id = 5, .address = "h:1", .zone = "z", .media = "hdd"};
    dnreg_beat *b;
    assert_int_equal(dnreg_beat_start(m, &base, 50, fill, NULL, &b), K_OK);
    /* beats keep coming (a generous deadline, not a timing assertion: a
     * loaded machine may starve the thread for a while) */
    for (int i = 0; i < 1000 && __atomic_load_n(&fills, __ATOMIC_SEQ_CST) < 3; i++)
        clock_sleep_ms(20);
    assert_true(__atomic_load_n(&fills, __ATOMIC_SEQ_CST) >= 3);
    dn_info *l;
    size_t n;
    assert_int_equal(dnreg_list(m, clock_real_ms(), 5000, &l, &n), K_OK);
    assert_int_equal(n, 1);
    assert_true(l[0].up);
    assert_int_equal(l[0].free_bytes, 99);
    dnreg_list_free(l, n);
    dnreg_beat_stop(b); /* a clean stop: down at once */
    assert_int_equal(dnreg_list(m, clock_real_ms(), 5000, &l, &n), K_OK);
    assert_int_equal(n, 1);
    assert_false(l[0].up);
    dnreg_list_free(l, n);
    kv_close(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec),
        cmocka_unit_test(test_list_up_down),
        cmocka_unit_test(test_concurrent_registrations),
        cmocka_unit_test(test_heartbeat_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
