/* SPDX-License-Identifier: Apache-2.0 */
/* Radix tree over the durable LMDB backend. Every commit costs an fsync
 * (~5 ms on the test machines), so the tree is built by 8 threads at once:
 * that is also the concurrency test over LMDB, and group commit makes it
 * affordable. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "meta/kv.h"
#include "meta/radix.h"
#include "radix_ref.h"
#include "radix_workers.h"

static void test_lmdb_tree(void **st) {
    (void)st;
    char *dir = make_tmpdir("radixlmdb");
    kv *s;
    assert_int_equal(kv_lmdb_open(dir, 0, &s), K_OK);
    radix *t = radix_new(s);
    nset ref = {0};
    gen_names(&ref, 1500, 0x1DB, 25);
    nm *order = malloc(ref.n * sizeof *order);
    memcpy(order, ref.v, ref.n * sizeof *order);
    shuffle(order, ref.n, 9);

    uint64_t c0 = kv_lmdb_commit_count(s), w0 = kv_lmdb_write_count(s);
    assert_int_equal(run_workers(&t, 1, "L", order, ref.n, 8, false), 0);
    uint64_t commits = kv_lmdb_commit_count(s) - c0, writes = kv_lmdb_write_count(s) - w0;
    radix_stats rs;
    radix_stats_get(t, &rs);
    print_message("%zu names: %llu splits, %llu writes in %llu commits\n", ref.n,
                  (unsigned long long)rs.splits, (unsigned long long)writes,
                  (unsigned long long)commits);
    assert_true(rs.splits > 5);
    assert_true(commits < writes);

    assert_int_equal(check_random_requests(t, "L", 1, &ref, 150, 17), 0);
    assert_true(check_paging(t, "L", 1, &ref, NULL, 0, NULL, 0, 7));
    assert_true(check_paging(t, "L", 1, &ref, NULL, 0, "/", 1, 2));

    /* the tree is durable: a new kv handle and a cold radix see it all */
    radix_free(t);
    kv_close(s);
    assert_int_equal(kv_lmdb_open(dir, 0, &s), K_OK);
    t = radix_new(s);
    radix_list_req all = {NULL, 0, NULL, 0, NULL, 0, SIZE_MAX};
    assert_true(check_list(t, "L", 1, &ref, &all));
    assert_int_equal(check_random_requests(t, "L", 1, &ref, 50, 18), 0);

    /* remove half concurrently, recheck */
    size_t half = ref.n / 2;
    assert_int_equal(run_workers(&t, 1, "L", order, half, 8, true), 0);
    nset rest = {0};
    for (size_t i = half; i < ref.n; i++) nset_add(&rest, order[i].b, order[i].len);
    nset_sort_unique(&rest);
    assert_int_equal(check_random_requests(t, "L", 1, &rest, 100, 19), 0);
    assert_true(check_paging(t, "L", 1, &rest, NULL, 0, NULL, 0, 1000));

    /* remove the rest: empty, and the store holds no node item */
    assert_int_equal(run_workers(&t, 1, "L", order + half, ref.n - half, 8, true), 0);
    bool empty;
    assert_int_equal(radix_is_empty(t, "L", 1, &empty), K_OK);
    assert_true(empty);
    uint64_t keys;
    assert_int_equal(kv_lmdb_key_count(s, &keys), K_OK);
    assert_int_equal(keys, 0);

    free(order);
    nset_free(&ref);
    nset_free(&rest);
    radix_free(t);
    kv_close(s);
    remove_tree(dir);
}

/* A crash between child and parent writes, on the durable store: the
 * dangling child survives a restart and is repaired by the next scan. */
static void test_lmdb_fault_survives_restart(void **st) {
    (void)st;
    char *dir = make_tmpdir("radixfault");
    kv *s;
    assert_int_equal(kv_lmdb_open(dir, 0, &s), K_OK);
    radix *t = radix_new(s);
    nset ref = {0};
    char name[64];
    radix_fault_after_child_write(t, 1);
    bool faulted = false;
    for (int i = 0; i < 600 && !faulted; i++) {
        int n = snprintf(name, sizeof name, "photos/2024/%04d-a-fairly-long-name.jpg", i * 7 % 600);
        kerr err = radix_insert(t, "F", 1, name, (size_t)n);
        if (err == K_EIO) {
            faulted = true;
        } else {
            assert_int_equal(err, K_OK);
            nset_add(&ref, name, (size_t)n);
        }
    }
    assert_true(faulted);
    nset_sort_unique(&ref);
    uint64_t before;
    assert_int_equal(kv_lmdb_key_count(s, &before), K_OK);
    radix_free(t);
    kv_close(s); /* "restart" */

    assert_int_equal(kv_lmdb_open(dir, 0, &s), K_OK);
    t = radix_new(s);
    radix_list_req all = {NULL, 0, NULL, 0, NULL, 0, SIZE_MAX};
    assert_true(check_list(t, "F", 1, &ref, &all));
    radix_stats rs;
    radix_stats_get(t, &rs);
    assert_true(rs.repairs >= 1);
    uint64_t after;
    assert_int_equal(kv_lmdb_key_count(s, &after), K_OK);
    assert_true(after < before); /* the dangling child is gone */
    assert_true(check_list(t, "F", 1, &ref, &all));
    for (size_t i = 0; i < ref.n; i++)
        assert_int_equal(radix_remove(t, "F", 1, ref.v[i].b, ref.v[i].len), K_OK);
    assert_int_equal(kv_lmdb_key_count(s, &after), K_OK);
    assert_int_equal(after, 0);
    nset_free(&ref);
    radix_free(t);
    kv_close(s);
    remove_tree(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lmdb_tree),
        cmocka_unit_test(test_lmdb_fault_survives_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
