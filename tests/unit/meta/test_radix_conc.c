/* SPDX-License-Identifier: Apache-2.0 */
/* Radix tree over kv_mem under concurrency and injected crashes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "meta/kv.h"
#include "meta/radix.h"
#include "radix_ref.h"
#include "jitter_kv.h"
#include "radix_workers.h"

/* Every name twice, shuffled: two different workers insert each one. */
static nm *doubled_order(const nset *s, uint64_t seed, size_t *n) {
    nm *v = malloc(2 * s->n * sizeof *v);
    memcpy(v, s->v, s->n * sizeof *v);
    memcpy(v + s->n, s->v, s->n * sizeof *v);
    shuffle(v, 2 * s->n, seed);
    *n = 2 * s->n;
    return v;
}

static void assert_all_found(radix *t, const char *ns, const nset *s, bool want) {
    for (size_t i = 0; i < s->n; i++) {
        bool f;
        assert_int_equal(radix_contains(t, ns, strlen(ns), s->v[i].b, s->v[i].len, &f), K_OK);
        if (f != want) {
            fprintf(stderr, "name %zu (len %u) found=%d\n", i, s->v[i].len, f);
            fail();
        }
    }
}

/* 8 threads, two radix handles sharing one kv (so splits of one node race
 * between handles, not only threads), names with heavily shared prefixes. */
static void test_concurrent_inserts(void **st) {
    (void)st;
    kv *s = kv_mem_new();
    kv *js = jitter_wrap(s);
    radix *trees[2] = {radix_new(js), radix_new(js)};
    nset ref = {0};
    gen_names(&ref, 5000, 0xFEED, 40); /* 40% into one hot prefix */
    size_t n;
    nm *order = doubled_order(&ref, 11, &n);
    assert_int_equal(run_workers(trees, 2, "c", order, n, 8, false), 0);
    radix_stats a, b;
    radix_stats_get(trees[0], &a);
    radix_stats_get(trees[1], &b);
    print_message("%zu names by 8 threads: %llu splits, %llu node writes\n", ref.n,
                  (unsigned long long)(a.splits + b.splits),
                  (unsigned long long)(a.node_writes + b.node_writes));
    assert_true(a.splits + b.splits > 20);

    radix_list_req all = {NULL, 0, NULL, 0, NULL, 0, SIZE_MAX};
    assert_true(check_list(trees[0], "c", 1, &ref, &all));
    assert_true(check_list(trees[1], "c", 1, &ref, &all));
    assert_true(check_paging(trees[1], "c", 1, &ref, NULL, 0, "/", 1, 7));
    assert_int_equal(check_random_requests(trees[0], "c", 1, &ref, 150, 5), 0);
    assert_all_found(trees[1], "c", &ref, true);

    /* and remove everything concurrently, through both handles */
    free(order);
    order = malloc(ref.n * sizeof *order);
    memcpy(order, ref.v, ref.n * sizeof *order);
    shuffle(order, ref.n, 12);
    assert_int_equal(run_workers(trees, 2, "c", order, ref.n, 8, true), 0);
    bool empty;
    assert_int_equal(radix_is_empty(trees[0], "c", 1, &empty), K_OK);
    assert_true(empty);
    assert_int_equal(kv_mem_count_prefix(s, "R", 1), 0);
    free(order);
    nset_free(&ref);
    radix_free(trees[0]);
    radix_free(trees[1]);
    kv_close(js);
    kv_close(s);
}

/* Inserts of new names racing with removals of old ones in the same
 * ranges: nodes empty out, retire and unlink while others split. */
static void test_concurrent_insert_remove(void **st) {
    (void)st;
    kv *s = kv_mem_new();
    kv *js = jitter_wrap(s);
    radix *t = radix_new(js);
    nset old = {0}, fresh = {0};
    gen_names(&old, 3000, 0xAB, 30);
    gen_names(&fresh, 3000, 0xCD, 30);
    nset fresh_only = {0};
    for (size_t i = 0; i < fresh.n; i++)
        if (!nset_has(&old, fresh.v[i].b, fresh.v[i].len))
            nset_add(&fresh_only, fresh.v[i].b, fresh.v[i].len);
    nset_sort_unique(&fresh_only);
    for (size_t i = 0; i < old.n; i++)
        assert_int_equal(radix_insert(t, "m", 1, old.v[i].b, old.v[i].len), K_OK);

    nm *ins = malloc(fresh_only.n * sizeof *ins), *del = malloc(old.n * sizeof *del);
    memcpy(ins, fresh_only.v, fresh_only.n * sizeof *ins);
    memcpy(del, old.v, old.n * sizeof *del);
    shuffle(ins, fresh_only.n, 1);
    shuffle(del, old.n, 2);
    pthread_t th[8];
    work w[8];
    _Atomic int errors = 0;
    for (int i = 0; i < 8; i++) {
        bool rm = i % 2;
        w[i] = (work){t,  "m",    rm ? del : ins, rm ? old.n : fresh_only.n, 4, (size_t)(i / 2),
                      rm, &errors};
        pthread_create(&th[i], NULL, work_main, &w[i]);
    }
    for (int i = 0; i < 8; i++) pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&errors), 0);

    radix_list_req all = {NULL, 0, NULL, 0, NULL, 0, SIZE_MAX};
    assert_true(check_list(t, "m", 1, &fresh_only, &all));
    assert_int_equal(check_random_requests(t, "m", 1, &fresh_only, 100, 8), 0);
    assert_all_found(t, "m", &old, false);

    for (size_t i = 0; i < fresh_only.n; i++)
        assert_int_equal(radix_remove(t, "m", 1, fresh_only.v[i].b, fresh_only.v[i].len), K_OK);
    assert_int_equal(kv_mem_count_prefix(s, "R", 1), 0);
    free(ins);
    free(del);
    nset_free(&old);
    nset_free(&fresh);
    nset_free(&fresh_only);
    radix_free(t);
    kv_close(js);
    kv_close(s);
}

/* Injected crash between a split's child write and its parent write: the
 * insert fails, nothing is lost or duplicated, scans and later splits
 * repair, and in the end no node item is left behind. */
static void test_fault_after_child_write(void **st) {
    (void)st;
    kv *s = kv_mem_new();
    radix *t = radix_new(s);
    nset pool = {0};
    gen_names(&pool, 9000, 0xFA17, 25);
    nm *order = malloc(pool.n * sizeof *order);
    memcpy(order, pool.v, pool.n * sizeof *order);
    shuffle(order, pool.n, 4);

    nset ref = {0};
    size_t next = 0, faults = 0;
    radix_list_req all = {NULL, 0, NULL, 0, NULL, 0, SIZE_MAX};
    for (int round = 0; round < 24 && next < pool.n; round++) {
        radix_fault_after_child_write(t, 1 + round % 3);
        size_t failed_at = SIZE_MAX;
        for (; next < pool.n; next++) {
            kerr err = radix_insert(t, "f", 1, order[next].b, order[next].len);
            if (err == K_EIO) {
                failed_at = next++;
                break;
            }
            assert_int_equal(err, K_OK);
            nset_add(&ref, order[next].b, order[next].len);
        }
        if (failed_at == SIZE_MAX) break;
        faults++;
        nset_sort_unique(&ref);
        /* the failed name is absent, every earlier name present: the
         * dangling child is invisible and the parent still has it all */
        bool f;
        assert_int_equal(radix_contains(t, "f", 1, order[failed_at].b, order[failed_at].len, &f),
                         K_OK);
        assert_int_equal(f, nset_has(&ref, order[failed_at].b, order[failed_at].len));
        if (round % 2 == 0) {
            /* a scan meets the stale intent and deletes the dangling child */
            radix_stats a, b;
            radix_stats_get(t, &a);
            assert_true(check_list(t, "f", 1, &ref, &all));
            radix_stats_get(t, &b);
            assert_true(b.repairs > a.repairs);
        } else {
            /* no scan: later inserts split the same node again over the
             * leftover; checked by the listings below */
            assert_true(
                check_list(t, "f", 1, &ref, &(radix_list_req){NULL, 0, NULL, 0, "/", 1, 50}));
        }
    }
    print_message("%zu injected crashes, %zu names inserted\n", faults, ref.n);
    assert_true(faults >= 10);
    /* retry the names that failed: they go in now */
    for (size_t i = 0; i < next; i++) {
        if (!nset_has(&ref, order[i].b, order[i].len)) {
            assert_int_equal(radix_insert(t, "f", 1, order[i].b, order[i].len), K_OK);
            nset_add(&ref, order[i].b, order[i].len);
        }
    }
    nset_sort_unique(&ref);
    assert_true(check_list(t, "f", 1, &ref, &all));
    assert_int_equal(check_random_requests(t, "f", 1, &ref, 100, 3), 0);
    assert_all_found(t, "f", &ref, true);

    /* a crash, then removal of everything: scans clean up, nothing remains */
    radix_fault_after_child_write(t, 1);
    for (; next < pool.n; next++) {
        kerr err = radix_insert(t, "f", 1, order[next].b, order[next].len);
        if (err == K_EIO) break;
        nset_add(&ref, order[next].b, order[next].len);
    }
    nset_sort_unique(&ref);
    assert_true(check_list(t, "f", 1, &ref, &all)); /* repairs the dangling child */
    for (size_t i = 0; i < ref.n; i++)
        assert_int_equal(radix_remove(t, "f", 1, ref.v[i].b, ref.v[i].len), K_OK);
    bool empty;
    assert_int_equal(radix_is_empty(t, "f", 1, &empty), K_OK);
    assert_true(empty);
    assert_int_equal(kv_mem_count_prefix(s, "R", 1), 0);
    free(order);
    nset_free(&pool);
    nset_free(&ref);
    radix_free(t);
    kv_close(s);
}

/* Subtrees filled and emptied by 8 threads at once: nodes retire and
 * unlink while other threads insert into the same ranges. Each thread owns
 * some names of every group and checks after each step that its own names
 * are exactly visible - a removal elsewhere must never hide a live name. */
enum { CHURN_GROUPS = 12, CHURN_PER_GROUP = 48, CHURN_THREADS = 8, CHURN_ROUNDS = 4 };

typedef struct churn_arg {
    radix *t;
    int thread;
    _Atomic int *errors;
} churn_arg;

static size_t churn_name(int g, int j, uint8_t *out) {
    /* long shared prefixes so groups split into deep nodes */
    return (size_t)sprintf((char *)out, "churn/grp%02d/%s/obj-%04d", g,
                           "0123456789abcdefghijklmnopqrstuvwxyz", j * 37 % 1000);
}

static void churn_check(churn_arg *a, int g, bool want) {
    uint8_t name[128];
    for (int j = a->thread; j < CHURN_PER_GROUP; j += CHURN_THREADS) {
        size_t n = churn_name(g, j, name);
        bool f;
        if (radix_contains(a->t, "z", 1, name, n, &f) != K_OK || f != want) {
            fprintf(stderr, "churn: thread %d group %d name %d found=%d want %d\n", a->thread, g, j,
                    f, want);
            atomic_fetch_add(a->errors, 1);
        }
    }
}

static void *churn_main(void *p) {
    churn_arg *a = p;
    uint64_t rng = 0x51ED + (uint64_t)a->thread * 7919;
    uint8_t name[128];
    int order[CHURN_GROUPS];
    for (int g = 0; g < CHURN_GROUPS; g++) order[g] = g;
    for (int r = 0; r < CHURN_ROUNDS; r++) {
        for (int phase = 0; phase < 2; phase++) {
            for (int i = CHURN_GROUPS - 1; i > 0; i--) {
                int k = (int)rng_below(&rng, (uint32_t)i + 1), tmp = order[i];
                order[i] = order[k];
                order[k] = tmp;
            }
            for (int gi = 0; gi < CHURN_GROUPS; gi++) {
                int g = order[gi];
                for (int j = a->thread; j < CHURN_PER_GROUP; j += CHURN_THREADS) {
                    size_t n = churn_name(g, j, name);
                    kerr err = phase == 0 ? radix_insert(a->t, "z", 1, name, n)
                                          : radix_remove(a->t, "z", 1, name, n);
                    if (err != K_OK) {
                        fprintf(stderr, "churn: op failed %d\n", (int)err);
                        atomic_fetch_add(a->errors, 1);
                    }
                }
                churn_check(a, g, phase == 0);
            }
        }
    }
    return NULL;
}

static void test_concurrent_churn(void **st) {
    (void)st;
    kv *s = kv_mem_new();
    kv *js = jitter_wrap(s);
    radix *t = radix_new(js);
    pthread_t th[CHURN_THREADS];
    churn_arg args[CHURN_THREADS];
    _Atomic int errors = 0;
    for (int i = 0; i < CHURN_THREADS; i++) {
        args[i] = (churn_arg){t, i, &errors};
        pthread_create(&th[i], NULL, churn_main, &args[i]);
    }
    for (int i = 0; i < CHURN_THREADS; i++) pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&errors), 0);
    radix_stats rs;
    radix_stats_get(t, &rs);
    print_message("churn: %llu splits, %llu repairs, %llu node writes\n",
                  (unsigned long long)rs.splits, (unsigned long long)rs.repairs,
                  (unsigned long long)rs.node_writes);
    assert_true(rs.splits >= CHURN_ROUNDS);
    bool empty;
    assert_int_equal(radix_is_empty(t, "z", 1, &empty), K_OK);
    assert_true(empty);
    assert_int_equal(kv_mem_count_prefix(s, "R", 1), 0);
    /* fill once more and compare the whole listing */
    nset ref = {0};
    uint8_t name[128];
    for (int g = 0; g < CHURN_GROUPS; g++) {
        for (int j = 0; j < CHURN_PER_GROUP; j++) {
            size_t n = churn_name(g, j, name);
            nset_add(&ref, name, n);
            assert_int_equal(radix_insert(t, "z", 1, name, n), K_OK);
        }
    }
    nset_sort_unique(&ref);
    radix_list_req all = {NULL, 0, NULL, 0, NULL, 0, SIZE_MAX};
    assert_true(check_list(t, "z", 1, &ref, &all));
    assert_true(check_paging(t, "z", 1, &ref, "churn/", 6, "/", 1, 5));
    nset_free(&ref);
    radix_free(t);
    kv_close(js);
    kv_close(s);
}

/* Listings while the tree changes under them (listing prefetch on): 4
 * writers insert new names and remove others, through a jitter kv, while
 * listers page through the whole tree (pages of 1000, which read children
 * and seek ancestors in batches, and pages of 7, which do not). A page
 * may or may not show a name inserted or removed during it, but every
 * name present throughout is listed exactly once, in order, and nothing
 * else appears. */
typedef struct lister_arg {
    radix *t;
    const nset *stable, *added, *removed;
    size_t page;
    atomic_bool *stop;
    _Atomic int *errors;
    int scans;
} lister_arg;

static void *lister_main(void *p) {
    lister_arg *a = p;
    elist page = {0};
    uint8_t *last = malloc(RADIX_MAX_NAME);
    while (!atomic_load(a->stop) || a->scans == 0) {
        size_t stable_seen = 0, llen = 0;
        bool first = true;
        for (;;) {
            radix_list_req rq = {NULL, 0, first ? NULL : last, first ? 0 : llen, NULL, 0, a->page};
            bool trunc = false;
            elist_clear(&page);
            if (radix_list(a->t, "w", 1, &rq, collect_emit, &page, &trunc) != K_OK) {
                atomic_fetch_add(a->errors, 1);
                break;
            }
            for (size_t i = 0; i < page.n; i++) {
                const ent *e = &page.v[i];
                if (!first && bytes_cmp(e->b, e->len, last, llen) <= 0) {
                    fprintf(stderr, "lister: entries out of order\n");
                    atomic_fetch_add(a->errors, 1);
                }
                if (nset_has(a->stable, e->b, e->len)) {
                    stable_seen++;
                } else if (!nset_has(a->added, e->b, e->len) &&
                           !nset_has(a->removed, e->b, e->len)) {
                    fprintf(stderr, "lister: a name that never existed\n");
                    atomic_fetch_add(a->errors, 1);
                }
                memcpy(last, e->b, e->len);
                llen = e->len;
                first = false;
            }
            if (!trunc || page.n == 0) break;
        }
        if (stable_seen != a->stable->n) {
            fprintf(stderr, "lister (pages of %zu): %zu of %zu untouched names listed\n", a->page,
                    stable_seen, a->stable->n);
            atomic_fetch_add(a->errors, 1);
        }
        a->scans++;
    }
    free(last);
    elist_free(&page);
    return NULL;
}

static void test_list_during_writes(void **st) {
    (void)st;
    kv *s = kv_mem_new();
    kv *js = jitter_wrap(s);
    radix *t = radix_new(js);
    nset pool = {0}, stable = {0}, added = {0}, removed = {0};
    gen_names(&pool, 12000, 0x11575, 30);
    /* a third each: untouched, inserted during the test, removed during it */
    for (size_t i = 0; i < pool.n; i++)
        nset_add(i % 3 == 0 ? &stable : i % 3 == 1 ? &added : &removed, pool.v[i].b, pool.v[i].len);
    /* and structural change for sure: a region that grows from nothing
     * (splits) and one removed entirely (nodes retire and are unlinked) */
    char buf[64];
    for (int i = 0; i < 1500; i++) {
        int n = snprintf(buf, sizeof buf, "grow/%05d-%s", i * 7 % 1500, "abcdefghij");
        nset_add(&added, buf, (size_t)n);
        n = snprintf(buf, sizeof buf, "gone/%05d-%s", i * 11 % 1500, "abcdefghij");
        nset_add(&removed, buf, (size_t)n);
    }
    nset_sort_unique(&stable);
    nset_sort_unique(&added);
    nset_sort_unique(&removed);
    nm *pre = malloc((stable.n + removed.n) * sizeof *pre);
    size_t npre = 0;
    for (size_t i = 0; i < stable.n; i++) pre[npre++] = stable.v[i];
    for (size_t i = 0; i < removed.n; i++) pre[npre++] = removed.v[i];
    shuffle(pre, npre, 3);
    for (size_t i = 0; i < npre; i++)
        assert_int_equal(radix_insert(t, "w", 1, pre[i].b, pre[i].len), K_OK);
    nm *ins = malloc(added.n * sizeof *ins), *del = malloc(removed.n * sizeof *del);
    memcpy(ins, added.v, added.n * sizeof *ins);
    memcpy(del, removed.v, removed.n * sizeof *del);
    shuffle(ins, added.n, 4);
    shuffle(del, removed.n, 5);

    radix_stats a, b;
    radix_stats_get(t, &a);
    atomic_bool stop = false;
    _Atomic int errors = 0;
    pthread_t lt[2], wt[4];
    lister_arg la[2];
    for (int i = 0; i < 2; i++) {
        la[i] = (lister_arg){t, &stable, &added, &removed, i ? 7 : 1000, &stop, &errors, 0};
        pthread_create(&lt[i], NULL, lister_main, &la[i]);
    }
    work w[4];
    for (int i = 0; i < 4; i++) {
        bool rm = i % 2;
        w[i] = (work){t,  "w",    rm ? del : ins, rm ? removed.n : added.n, 2, (size_t)(i / 2),
                      rm, &errors};
        pthread_create(&wt[i], NULL, work_main, &w[i]);
    }
    for (int i = 0; i < 4; i++) pthread_join(wt[i], NULL);
    atomic_store(&stop, true);
    for (int i = 0; i < 2; i++) pthread_join(lt[i], NULL);
    radix_stats_get(t, &b);
    print_message("%d and %d full scans during %zu inserts and %zu removals; %llu splits, "
                  "%llu node batches\n",
                  la[0].scans, la[1].scans, added.n, removed.n,
                  (unsigned long long)(b.splits - a.splits),
                  (unsigned long long)(b.node_batches - a.node_batches));
    assert_int_equal(atomic_load(&errors), 0);
    assert_true(b.splits > a.splits);             /* the tree did change shape */
    assert_true(b.node_batches > a.node_batches); /* and was listed in batches */
    nset now = {0};
    for (size_t i = 0; i < stable.n; i++) nset_add(&now, stable.v[i].b, stable.v[i].len);
    for (size_t i = 0; i < added.n; i++) nset_add(&now, added.v[i].b, added.v[i].len);
    nset_sort_unique(&now);
    assert_true(check_paging(t, "w", 1, &now, NULL, 0, NULL, 0, 1000));
    free(pre);
    free(ins);
    free(del);
    nset_free(&now);
    nset_free(&pool);
    nset_free(&stable);
    nset_free(&added);
    nset_free(&removed);
    radix_free(t);
    kv_close(js);
    kv_close(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_inserts), cmocka_unit_test(test_concurrent_insert_remove),
        cmocka_unit_test(test_concurrent_churn),   cmocka_unit_test(test_fault_after_child_write),
        cmocka_unit_test(test_list_during_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
