/* SPDX-License-Identifier: Apache-2.0 */
/* Radix tree over kv_mem: API semantics, listings against a reference
 * model over 20k names of many shapes, removal, hints, delimiter skipping. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdatomic.h>

#include "meta/kv.h"
#include "meta/radix.h"
#include "radix_ref.h"

/* A kv that forwards to kv_mem and remembers the largest value written, to
 * check the 4 KiB node bound from outside the tree. */
typedef struct spy_kv {
    kv base;
    kv *inner;
    _Atomic size_t max_val;
} spy_kv;

static void spy_note(spy_kv *s, const void *val, size_t vlen) {
    if (!val) return;
    size_t cur = atomic_load(&s->max_val);
    while (vlen > cur && !atomic_compare_exchange_weak(&s->max_val, &cur, vlen)) {
    }
}
static kerr spy_get(kv *s, const void *k, size_t kl, kbuf *v) {
    return kv_get(((spy_kv *)s)->inner, k, kl, v);
}
static kerr spy_put(kv *s, const void *k, size_t kl, const void *v, size_t vl) {
    spy_note((spy_kv *)s, v, vl);
    return kv_put(((spy_kv *)s)->inner, k, kl, v, vl);
}
static kerr spy_del(kv *s, const void *k, size_t kl) {
    return kv_del(((spy_kv *)s)->inner, k, kl);
}
static kerr spy_cas(kv *s, const void *k, size_t kl, const void *e, size_t el, const void *v,
                    size_t vl) {
    spy_note((spy_kv *)s, v, vl);
    return kv_cas(((spy_kv *)s)->inner, k, kl, e, el, v, vl);
}
static void spy_close(kv *s) {
    kv_close(((spy_kv *)s)->inner);
    free(s);
}
static kerr spy_mget(kv *s, size_t n, const void *const *k, const size_t *kl, kbuf *v, kerr *e) {
    return kv_mget(((spy_kv *)s)->inner, n, k, kl, v, e);
}
static const kv_ops spy_ops = {"spy", spy_get, spy_put, spy_del, spy_cas, spy_close, spy_mget};

static spy_kv *spy_new(void) {
    spy_kv *s = calloc(1, sizeof *s);
    s->base.ops = &spy_ops;
    s->inner = kv_mem_new();
    return s;
}

static void insert_all(radix *t, const void *ns, size_t nslen, nset *s, uint64_t seed) {
    nm *order = malloc(s->n * sizeof *order);
    memcpy(order, s->v, s->n * sizeof *order);
    shuffle(order, s->n, seed);
    for (size_t i = 0; i < s->n; i++)
        assert_int_equal(radix_insert(t, ns, nslen, order[i].b, order[i].len), K_OK);
    free(order);
}

/* ---- API semantics ------------------------------------------------------------ */

static void test_api_basics(void **st) {
    (void)st;
    kv *s = kv_mem_new();
    radix *t = radix_new(s);
    bool empty, found;
    assert_int_equal(radix_is_empty(t, "b1", 2, &empty), K_OK);
    assert_true(empty);
    assert_int_equal(kv_mem_count_prefix(s, NULL, 0), 0);

    /* invalid names */
    static uint8_t big[RADIX_MAX_NAME + 1];
    memset(big, 'n', sizeof big);
    assert_int_equal(radix_insert(t, "b1", 2, "", 0), K_EINVAL);
    assert_int_equal(radix_insert(t, "b1", 2, big, RADIX_MAX_NAME + 1), K_EINVAL);
    assert_int_equal(radix_insert(t, "b1", 2, big, RADIX_MAX_NAME), K_OK);
    assert_int_equal(radix_remove(t, "b1", 2, big, RADIX_MAX_NAME), K_OK);

    /* the article's example */
    const char *names[] = {"/12345/89", "/1234567", "/12", "/1", "/foo", "/fooccc", "/foocde"};
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(radix_insert(t, "b1", 2, names[i], strlen(names[i])), K_OK);
    assert_int_equal(radix_insert(t, "b1", 2, "/12", 3), K_OK); /* again: still OK */
    assert_int_equal(radix_is_empty(t, "b1", 2, &empty), K_OK);
    assert_false(empty);
    assert_int_equal(radix_contains(t, "b1", 2, "/12", 3, &found), K_OK);
    assert_true(found);
    assert_int_equal(radix_contains(t, "b1", 2, "/123", 4, &found), K_OK);
    assert_false(found);
    assert_int_equal(radix_remove(t, "b1", 2, "/123", 4), K_ENOTFOUND);
    assert_int_equal(radix_remove(t, "b1", 2, "/nothing", 8), K_ENOTFOUND);

    /* namespaces are separate trees */
    assert_int_equal(radix_is_empty(t, "b2", 2, &empty), K_OK);
    assert_true(empty);
    assert_int_equal(radix_insert(t, "b2", 2, "/12", 3), K_OK);
    assert_int_equal(radix_insert(t, "", 0, "only-in-empty-ns", 16), K_OK);
    nset ref = {0};
    for (size_t i = 0; i < 7; i++) nset_add(&ref, names[i], strlen(names[i]));
    nset_sort_unique(&ref);
    radix_list_req all = {NULL, 0, NULL, 0, NULL, 0, 100};
    assert_true(check_list(t, "b1", 2, &ref, &all));
    radix_list_req scan = {"/12345", 6, "/12345", 6, NULL, 0, 100}; /* the article's scan */
    assert_true(check_list(t, "b1", 2, &ref, &scan));
    radix_list_req roll = {"/", 1, NULL, 0, "5", 1, 100};
    assert_true(check_list(t, "b1", 2, &ref, &roll));
    nset one = {0};
    nset_add(&one, "/12", 3);
    assert_true(check_list(t, "b2", 2, &one, &all));

    /* bad list requests */
    bool tr;
    radix_list_req zero = {NULL, 0, NULL, 0, NULL, 0, 0};
    assert_int_equal(radix_list(t, "b1", 2, &zero, collect_emit, NULL, &tr), K_EINVAL);
    assert_int_equal(radix_insert(t, big, 256, "x", 1), K_EINVAL); /* namespace > 255 */

    /* a full listing is not truncated */
    elist got = {0};
    radix_list_req two = {NULL, 0, NULL, 0, NULL, 0, 100};
    assert_int_equal(radix_list(t, "b1", 2, &two, collect_emit, &got, &tr), K_OK);
    assert_int_equal(got.n, 7);
    assert_false(tr);
    elist_free(&got);

    /* empty again after removing everything; no node items left */
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(radix_remove(t, "b1", 2, names[i], strlen(names[i])), K_OK);
    assert_int_equal(radix_remove(t, "b2", 2, "/12", 3), K_OK);
    assert_int_equal(radix_remove(t, "", 0, "only-in-empty-ns", 16), K_OK);
    assert_int_equal(radix_is_empty(t, "b1", 2, &empty), K_OK);
    assert_true(empty);
    assert_int_equal(kv_mem_count_prefix(s, NULL, 0), 0);
    nset_free(&ref);
    nset_free(&one);
    radix_free(t);
    kv_close(s);
}

static int stop_after_three(void *ctx, const void *entry, size_t len, bool is_prefix) {
    (void)entry;
    (void)len;
    (void)is_prefix;
    return ++*(int *)ctx == 3;
}

static void test_emit_stop(void **st) {
    (void)st;
    kv *s = kv_mem_new();
    radix *t = radix_new(s);
    for (int i = 0; i < 10; i++) {
        char n[8];
        snprintf(n, sizeof n, "n%d", i);
        assert_int_equal(radix_insert(t, "x", 1, n, strlen(n)), K_OK);
    }
    int calls = 0;
    bool tr = false;
    radix_list_req rq = {NULL, 0, NULL, 0, NULL, 0, 100};
    assert_int_equal(radix_list(t, "x", 1, &rq, stop_after_three, &calls, &tr), K_OK);
    assert_int_equal(calls, 3);
    assert_true(tr);
    radix_free(t);
    kv_close(s);
}

/* ---- 20k names of every shape ------------------------------------------------- */

static void test_many_names(void **st) {
    (void)st;
    spy_kv *spy = spy_new();
    kv *s = &spy->base;
    radix *t = radix_new(s);
    nset ref = {0};
    gen_names(&ref, 20000, 0xC0FFEE, 10);
    print_message("%zu distinct names\n", ref.n);
    insert_all(t, "bkt", 3, &ref, 7);
    radix_stats rs;
    radix_stats_get(t, &rs);
    print_message("inserted: %llu splits, %llu node reads, %llu writes, %zu node items\n",
                  (unsigned long long)rs.splits, (unsigned long long)rs.node_reads,
                  (unsigned long long)rs.node_writes, kv_mem_count_prefix(spy->inner, "R", 1));
    assert_true(rs.splits > 50);
    assert_true(atomic_load(&spy->max_val) <= 4096);

    /* every name is found, near misses are not */
    for (size_t i = 0; i < ref.n; i += 3) {
        bool found;
        assert_int_equal(radix_contains(t, "bkt", 3, ref.v[i].b, ref.v[i].len, &found), K_OK);
        assert_true(found);
    }
    uint8_t probe[RADIX_MAX_NAME + 1];
    for (size_t i = 0; i < ref.n; i += 7) {
        if (ref.v[i].len >= RADIX_MAX_NAME) continue;
        memcpy(probe, ref.v[i].b, ref.v[i].len);
        probe[ref.v[i].len] = 0x7F;
        bool found;
        assert_int_equal(radix_contains(t, "bkt", 3, probe, ref.v[i].len + 1, &found), K_OK);
        assert_int_equal(found, nset_has(&ref, probe, ref.v[i].len + 1));
    }

    assert_int_equal(check_random_requests(t, "bkt", 3, &ref, 400, 99), 0);
    /* whole-tree paging with several page sizes, with and without roll-up */
    assert_true(check_paging(t, "bkt", 3, &ref, NULL, 0, NULL, 0, 1));
    assert_true(check_paging(t, "bkt", 3, &ref, NULL, 0, NULL, 0, 7));
    assert_true(check_paging(t, "bkt", 3, &ref, NULL, 0, NULL, 0, 1000));
    assert_true(check_paging(t, "bkt", 3, &ref, NULL, 0, "/", 1, 1));
    assert_true(check_paging(t, "bkt", 3, &ref, NULL, 0, "/", 1, 2));
    assert_true(check_paging(t, "bkt", 3, &ref, "hot/", 4, NULL, 0, 2));
    assert_true(check_paging(t, "bkt", 3, &ref, "hot/spot/", 9, "5", 1, 7));
    assert_true(check_paging(t, "bkt", 3, &ref, "/", 1, "/", 1, 1));
    assert_true(check_paging(t, "bkt", 3, &ref, "a", 1, "$", 1, 3));

    /* remove half (in random order), recheck */
    nm *order = malloc(ref.n * sizeof *order);
    memcpy(order, ref.v, ref.n * sizeof *order);
    shuffle(order, ref.n, 31337);
    size_t half = ref.n / 2;
    for (size_t i = 0; i < half; i++)
        assert_int_equal(radix_remove(t, "bkt", 3, order[i].b, order[i].len), K_OK);
    for (size_t i = 0; i < half; i += 50)
        assert_int_equal(radix_remove(t, "bkt", 3, order[i].b, order[i].len), K_ENOTFOUND);
    nset rest = {0};
    for (size_t i = half; i < ref.n; i++) nset_add(&rest, order[i].b, order[i].len);
    nset_sort_unique(&rest);
    assert_int_equal(check_random_requests(t, "bkt", 3, &rest, 200, 123), 0);
    assert_true(check_paging(t, "bkt", 3, &rest, NULL, 0, NULL, 0, 1000));
    assert_true(check_paging(t, "bkt", 3, &rest, NULL, 0, "/", 1, 7));

    /* remove the rest: the tree is empty and leaves no node items behind */
    for (size_t i = half; i < ref.n; i++)
        assert_int_equal(radix_remove(t, "bkt", 3, order[i].b, order[i].len), K_OK);
    bool empty;
    assert_int_equal(radix_is_empty(t, "bkt", 3, &empty), K_OK);
    assert_true(empty);
    nset none = {0};
    assert_true(check_paging(t, "bkt", 3, &none, NULL, 0, NULL, 0, 5));
    assert_int_equal(kv_mem_count_prefix(spy->inner, "R", 1), 0);
    assert_true(atomic_load(&spy->max_val) <= 4096);

    free(order);
    nset_free(&rest);
    nset_free(&ref);
    radix_free(t);
    kv_close(s);
}

/* ---- hints ---------------------------------------------------------------------- */

static void test_bloom_hints(void **st) {
    (void)st;
    kv *s = kv_mem_new();
    radix *t1 = radix_new(s);
    nset ref = {0};
    gen_names(&ref, 20000, 0xB100B, 5);
    insert_all(t1, "h", 1, &ref, 3);
    radix_free(t1);

    /* a fresh handle knows nothing: the first pass learns the nodes */
    radix *t = radix_new(s);
    for (size_t i = 0; i < ref.n; i++) {
        bool f;
        assert_int_equal(radix_contains(t, "h", 1, ref.v[i].b, ref.v[i].len, &f), K_OK);
        assert_true(f);
    }
    radix_stats a, b;
    radix_stats_get(t, &a);
    nm *order = malloc(ref.n * sizeof *order);
    memcpy(order, ref.v, ref.n * sizeof *order);
    shuffle(order, ref.n, 77);
    for (size_t i = 0; i < ref.n; i++) {
        bool f;
        assert_int_equal(radix_contains(t, "h", 1, order[i].b, order[i].len, &f), K_OK);
        assert_true(f);
    }
    radix_stats_get(t, &b);
    uint64_t reads = b.node_reads - a.node_reads, roots = b.root_reads - a.root_reads;
    uint64_t hits = b.hint_hits - a.hint_hits;
    print_message("warm lookups: %zu, node reads %llu, root reads %llu, hint hits %llu\n", ref.n,
                  (unsigned long long)reads, (unsigned long long)roots, (unsigned long long)hits);
    assert_true(roots * 10 < reads);     /* the root is not a hot spot */
    assert_true(hits * 10 >= ref.n * 9); /* most lookups start at a hinted node */
    assert_true(reads < ref.n * 2);      /* and read about one node each */

    /* listings start at the hinted node too */
    radix_stats_get(t, &a);
    for (size_t i = 0; i < ref.n; i += 20) {
        radix_list_req rq = {order[i].b, order[i].len, NULL, 0, NULL, 0, 3};
        elist got = {0};
        bool tr;
        assert_int_equal(radix_list(t, "h", 1, &rq, collect_emit, &got, &tr), K_OK);
        assert_true(got.n >= 1);
        elist_free(&got);
    }
    radix_stats_get(t, &b);
    print_message("prefix listings: node reads %llu, root reads %llu\n",
                  (unsigned long long)(b.node_reads - a.node_reads),
                  (unsigned long long)(b.root_reads - a.root_reads));
    assert_true((b.root_reads - a.root_reads) * 10 < b.node_reads - a.node_reads);

    /* stale hints (nodes removed) cost reads, never answers */
    for (size_t i = 0; i < ref.n / 2; i++)
        assert_int_equal(radix_remove(t, "h", 1, order[i].b, order[i].len), K_OK);
    for (size_t i = 0; i < ref.n; i += 5) {
        bool f;
        assert_int_equal(radix_contains(t, "h", 1, order[i].b, order[i].len, &f), K_OK);
        assert_int_equal(f, i >= ref.n / 2);
    }
    free(order);
    nset_free(&ref);
    radix_free(t);
    kv_close(s);
}

/* Roll-up must skip a big subtree without reading it. */
static void test_delimiter_skips_subtrees(void **st) {
    (void)st;
    kv *s = kv_mem_new();
    radix *t = radix_new(s);
    nset ref = {0};
    char buf[64];
    for (int i = 0; i < 8000; i++) {
        int n = snprintf(buf, sizeof buf, "big/%05d/part-%d", i * 7 % 8000, i % 13);
        nset_add(&ref, buf, (size_t)n);
    }
    const char *others[] = {"a.txt", "big", "big0", "bigger/x", "c/d/e", "zz"};
    for (int i = 0; i < 6; i++) nset_add(&ref, others[i], strlen(others[i]));
    nset_sort_unique(&ref);
    insert_all(t, "d", 1, &ref, 5);
    radix_stats rs;
    radix_stats_get(t, &rs);
    assert_true(rs.splits > 20);

    radix *cold = radix_new(s); /* no hints: count every read from the root */
    radix_stats a, b;
    radix_stats_get(cold, &a);
    radix_list_req rq = {NULL, 0, NULL, 0, "/", 1, 1000};
    assert_true(check_list(cold, "d", 1, &ref, &rq));
    radix_stats_get(cold, &b);
    print_message("roll-up over %zu names read %llu nodes\n", ref.n,
                  (unsigned long long)(b.node_reads - a.node_reads));
    assert_true(b.node_reads - a.node_reads <= 12);
    /* a marker equal to the common prefix skips it, also without walking */
    radix_stats_get(cold, &a);
    radix_list_req after = {NULL, 0, "big/", 4, "/", 1, 1000};
    assert_true(check_list(cold, "d", 1, &ref, &after));
    radix_stats_get(cold, &b);
    assert_true(b.node_reads - a.node_reads <= 12);
    radix_free(cold);
    nset_free(&ref);
    radix_free(t);
    kv_close(s);
}

/* ---- listing prefetch -------------------------------------------------------------- */

/* Round trips a remote store would need for the kv reads since the last
 * reset: single gets one each, a multi-get one per call. */
static uint64_t mem_round_trips(kv *mem) {
    kv_mem_stats ms;
    kv_mem_stats_get(mem, &ms);
    return ms.gets - ms.mget_keys + ms.mgets;
}

typedef struct page_cost {
    uint64_t round_trips, node_reads, batches, unused, entries;
} page_cost;

/* pages of max entries after names of ref (every step-th), all compared
 * with the model; returns the summed costs. */
static page_cost run_pages(radix *t, kv *mem, const nset *ref, const char *delim, size_t max,
                           size_t step) {
    page_cost pc = {0};
    radix_stats a, b;
    radix_stats_get(t, &a);
    kv_mem_stats_reset(mem);
    for (size_t i = 0; i < ref->n; i += step) {
        radix_list_req rq = {NULL, 0, ref->v[i].b, ref->v[i].len, delim, delim ? 1 : 0, max};
        elist got = {0}, want = {0};
        bool gt = false, wt = false;
        assert_int_equal(radix_list(t, "pf", 2, &rq, collect_emit, &got, &gt), K_OK);
        ref_list(ref, &rq, &want, &wt);
        bool same = elist_equal(&got, &want, true) && gt == wt;
        pc.entries += got.n;
        elist_free(&got);
        elist_free(&want);
        assert_true(same);
    }
    radix_stats_get(t, &b);
    pc.round_trips = mem_round_trips(mem);
    pc.node_reads = b.node_reads - a.node_reads;
    pc.batches = b.node_batches - a.node_batches;
    pc.unused = b.prefetch_unused - a.prefetch_unused;
    return pc;
}

/* Names for the cost comparison: flat (16 random base32 chars, no '/') or
 * a directory of items (even: a file "item-NNNNNN", odd: a subdirectory of
 * 10 parts "item-NNNNNN/part-NN"), where '/' rolls each subdirectory up. */
static void cost_names(nset *ref, bool items, size_t count, uint64_t seed) {
    char buf[48];
    uint64_t rng = seed;
    for (size_t i = 0; ref->n < count; i++) {
        int n;
        if (items) {
            size_t item = i / 11, part = i % 11;
            if (item % 2 == 0 && part > 0) continue;
            if (item % 2 == 1 && part == 10) continue;
            n = item % 2 ? snprintf(buf, sizeof buf, "item-%06zu/part-%02zu", item, part)
                         : snprintf(buf, sizeof buf, "item-%06zu", item);
        } else {
            for (int k = 0; k < 16; k++)
                buf[k] = "abcdefghijklmnopqrstuvwxyz234567"[rng_below(&rng, 32)];
            n = 16;
        }
        nset_add(ref, buf, (size_t)n);
    }
    nset_sort_unique(ref);
}

/* The same 1000-entry pages with prefetch off and on: identical results
 * (checked against the model), far fewer round trips, few wasted reads. */
static void test_list_prefetch_cost(void **st) {
    (void)st;
    for (int items = 0; items < 2; items++) {
        kv *s = kv_mem_new();
        radix *t = radix_new(s);
        nset ref = {0};
        cost_names(&ref, items, 40000, 0xF1A7);
        insert_all(t, "pf", 2, &ref, 11);
        const char *delim = items ? "/" : NULL;
        radix_set_list_prefetch(t, 1); /* off */
        page_cost off = run_pages(t, s, &ref, delim, 1000, 97);
        assert_int_equal(off.batches, 0);
        assert_int_equal(off.unused, 0);
        assert_int_equal(off.round_trips, off.node_reads); /* one get per node */
        radix_set_list_prefetch(t, RADIX_LIST_PREFETCH);
        page_cost on = run_pages(t, s, &ref, delim, 1000, 97);
        double pages = (double)((ref.n + 96) / 97);
        print_message("%s names, delimiter %s: %.0f entries/page; prefetch off: %.2f round trips "
                      "(= node reads) per page; on: %.2f round trips (%.2f batches), %.2f node "
                      "reads, %.2f unused\n",
                      items ? "item" : "flat", delim ? delim : "none", (double)on.entries / pages,
                      (double)off.round_trips / pages, (double)on.round_trips / pages,
                      (double)on.batches / pages, (double)on.node_reads / pages,
                      (double)on.unused / pages);
        assert_int_equal(on.entries, off.entries);
        assert_true(on.batches > 0);
        /* the walk's reads come in batches: at most 40% of the round trips */
        assert_true(on.round_trips * 5 <= off.round_trips * 2);
        /* what was fetched and not needed stays small */
        assert_true(on.node_reads * 100 <= off.node_reads * 115);
        assert_true(on.unused * 10 <= on.node_reads);
        nset_free(&ref);
        radix_free(t);
        kv_close(s);
    }
}

/* Prefetch on, off and with small caps gives the model's answers for every
 * kind of request, over names of every shape. */
static void test_list_prefetch_results(void **st) {
    (void)st;
    kv *s = kv_mem_new();
    radix *t = radix_new(s);
    nset ref = {0};
    gen_names(&ref, 20000, 0x9EF7C4, 10);
    insert_all(t, "pf", 2, &ref, 11);
    unsigned caps[] = {1, 2, 3, RADIX_LIST_PREFETCH};
    for (int c = 0; c < 4; c++) {
        radix_set_list_prefetch(t, caps[c]);
        radix_stats a, b;
        radix_stats_get(t, &a);
        assert_int_equal(check_random_requests(t, "pf", 2, &ref, 300, 5 + (uint64_t)c), 0);
        assert_true(check_paging(t, "pf", 2, &ref, NULL, 0, NULL, 0, 7));
        assert_true(check_paging(t, "pf", 2, &ref, NULL, 0, "/", 1, 3));
        assert_true(check_paging(t, "pf", 2, &ref, "/", 1, "/", 1, 1000));
        radix_stats_get(t, &b);
        if (caps[c] <= 1)
            assert_int_equal(b.node_batches, a.node_batches);
        else
            assert_true(b.node_batches > a.node_batches);
    }
    /* stopping the emit callback midway: what was prefetched is counted as
     * unused, nothing leaks (the sanitizer builds check) */
    int calls = 0;
    bool tr = false;
    radix_list_req rq = {NULL, 0, NULL, 0, NULL, 0, 1000};
    assert_int_equal(radix_list(t, "pf", 2, &rq, stop_after_three, &calls, &tr), K_OK);
    assert_int_equal(calls, 3);
    assert_true(tr);
    nset_free(&ref);
    radix_free(t);
    kv_close(s);
}

/* A child node lost from the store (its parent's edge dangles) is met by a
 * prefetched batch: the listing treats it as empty, unlinks the edge, and
 * every other name is listed. */
static void test_list_prefetch_missing_child(void **st) {
    (void)st;
    kv *s = kv_mem_new();
    radix *t = radix_new(s);
    nset ref = {0};
    char buf[32];
    for (int i = 0; i < 6000; i++) {
        int n = snprintf(buf, sizeof buf, "m%05d/obj", i * 7 % 6000);
        nset_add(&ref, buf, (size_t)n);
    }
    nset_sort_unique(&ref);
    insert_all(t, "mc", 2, &ref, 9);
    /* find node prefixes "m" + up to 4 digits; pick one in the middle */
    char found[64][16];
    int nfound = 0;
    kbuf v = KBUF_INIT;
    for (int len = 2; len <= 5 && nfound < 64; len++) {
        int lim = 1;
        for (int k = 1; k < len; k++) lim *= 10;
        for (int x = 0; x < lim && nfound < 64; x++) {
            char pre[16], key[32];
            snprintf(pre, sizeof pre, "m%0*d", len - 1, x);
            int kl = snprintf(key, sizeof key, "R%cmc%s$", 2, pre);
            if (kv_get(s, key, (size_t)kl, &v) == K_OK && len >= 3)
                snprintf(found[nfound++], sizeof found[0], "%s", pre);
        }
    }
    assert_true(nfound >= 3);
    const char *victim = found[nfound / 2];
    char key[32];
    int kl = snprintf(key, sizeof key, "R%cmc%s$", 2, victim);
    assert_int_equal(kv_del(s, key, (size_t)kl), K_OK);
    /* what stays listable: every name outside the lost node's range */
    nset rest = {0};
    for (size_t i = 0; i < ref.n; i++)
        if (ref.v[i].len < strlen(victim) || memcmp(ref.v[i].b, victim, strlen(victim)))
            nset_add(&rest, ref.v[i].b, ref.v[i].len);
    nset_sort_unique(&rest);
    print_message("lost node %s: %zu of %zu names stay listable\n", victim, rest.n, ref.n);
    assert_true(rest.n < ref.n);

    radix *cold = radix_new(s); /* a fresh handle: the walk goes through the parent */
    radix_stats a, b;
    radix_stats_get(cold, &a);
    radix_list_req all = {NULL, 0, NULL, 0, NULL, 0, SIZE_MAX};
    assert_true(check_list(cold, "mc", 2, &rest, &all));
    radix_stats_get(cold, &b);
    assert_true(b.node_batches > a.node_batches);
    assert_true(b.repairs > a.repairs);
    /* the edge is gone: listing again repairs nothing */
    radix_stats_get(cold, &a);
    assert_true(check_list(cold, "mc", 2, &rest, &all));
    assert_true(check_paging(cold, "mc", 2, &rest, NULL, 0, NULL, 0, 1000));
    radix_stats_get(cold, &b);
    assert_int_equal(b.repairs, a.repairs);
    kbuf_free(&v);
    nset_free(&rest);
    nset_free(&ref);
    radix_free(cold);
    radix_free(t);
    kv_close(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_basics),
        cmocka_unit_test(test_emit_stop),
        cmocka_unit_test(test_many_names),
        cmocka_unit_test(test_bloom_hints),
        cmocka_unit_test(test_delimiter_skips_subtrees),
        cmocka_unit_test(test_list_prefetch_cost),
        cmocka_unit_test(test_list_prefetch_results),
        cmocka_unit_test(test_list_prefetch_missing_child),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
