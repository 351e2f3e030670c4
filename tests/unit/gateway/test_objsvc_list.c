/* SPDX-License-Identifier: Apache-2.0 */
/* The listing paths of the object service (gateway/objsvc.c) on the
 * in-memory kv and a real local volume: object listings with and without a
 * delimiter, paging, multipart uploads and parts. Checks that the entries
 * and their records are right, that a listed name without a record is
 * skipped, and that a page's records are read in one multi-get rather
 * than one read each (kv_mem counts the calls). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/objsvc.h"
#include "meta/kv.h"
#include "meta/radix.h"
#include "storage/data.h"

typedef struct env {
    char dir[256];
    kv *meta;
    volset *vols;
    data_layer *data;
    radix *tree; /* a second handle on the member store, to plant names */
    objsvc *svc;
    arena *a;
    bucket_info b;
} env;

static env E;

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static int setup(void **state) {
    (void)state;
    const char *tmp = getenv("TMPDIR");
    snprintf(E.dir, sizeof E.dir, "%s/kura-objsvc-list-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(E.dir)) return -1;
    const char *dirs[1] = {E.dir};
    volset_opts vo = {.sync = false};
    if (volset_open_local(dirs, 1, &vo, &E.vols)) return -1;
    E.meta = kv_mem_new();
    if (data_open_local(E.vols, NULL, &E.data)) return -1;
    if (objsvc_open(E.meta, E.meta, E.data, &E.svc)) return -1;
    E.tree = radix_new(E.meta);
    if (!E.tree) return -1;
    E.a = arena_new(0);
    principal owner = objsvc_principal(NULL, "owner");
    if (objsvc_bucket_create(E.svc, &owner, "listing", "", ACL_PRIVATE)) return -1;
    if (objsvc_bucket_open(E.svc, E.a, &owner, "listing", BUCKET_OWNER, &E.b)) return -1;
    return 0;
}

static int teardown(void **state) {
    (void)state;
    radix_free(E.tree);
    objsvc_close(E.svc);
    data_close(E.data);
    volset_close(E.vols);
    kv_close(E.meta);
    arena_free(E.a);
    nftw(E.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* The size each test object gets: from its name, so listings can check it. */
static uint64_t size_of(const char *name) {
    uint64_t h = 5381;
    for (const char *p = name; *p; p++) h = h * 33 + (uint8_t)*p;
    return h % 97;
}

static void put_object(const char *name) {
    obj_put *p;
    uint64_t size = size_of(name);
    obj_put_opts o = {.size = size};
    assert_int_equal(objsvc_put_begin(E.svc, E.a, &E.b, name, strlen(name), &o, &p), K_OK);
    char data[97];
    memset(data, 'd', sizeof data);
    assert_int_equal(objsvc_put_write(p, data, size), K_OK);
    assert_int_equal(objsvc_put_finish(p, NULL, NULL), K_OK);
}

/* 1200 files "fNNNN" and 30 directories "dNN/" of 10 objects. */
static void fill(void) {
    char name[32];
    for (int i = 0; i < 1200; i++) {
        snprintf(name, sizeof name, "f%04d", i);
        put_object(name);
    }
    for (int d = 0; d < 30; d++) {
        for (int j = 0; j < 10; j++) {
            snprintf(name, sizeof name, "d%02d/o%d", d, j);
            put_object(name);
        }
    }
    /* a name whose record never got written (a PUT that died between its
     * two writes): listed by the tree, skipped by the listing */
    uint8_t ns[9] = {'o'};
    memcpy(ns + 1, E.b.id, 8);
    assert_int_equal(radix_insert(E.tree, ns, 9, "f0500x", 6), K_OK);
}

static uint64_t round_trips(void) {
    kv_mem_stats ms;
    kv_mem_stats_get(E.meta, &ms);
    return ms.gets - ms.mget_keys + ms.mgets;
}

static void check_entry(const list_entry *le, const char *want, bool is_prefix) {
    if (le->klen != strlen(want) || memcmp(le->key, want, le->klen) != 0)
        fail_msg("entry %.*s, want %s", (int)le->klen, le->key, want);
    assert_int_equal(le->is_prefix, is_prefix);
    if (!is_prefix) assert_int_equal(le->meta.size, size_of(want));
}

static void test_list_objects(void **state) {
    (void)state;
    fill();
    /* no delimiter: d00/o0 .. d29/o9 (300), then f0000 .. f0699 */
    obj_list_req req = {.max_entries = 1000};
    list_entry *ents;
    size_t n;
    bool trunc;
    kv_mem_stats_reset(E.meta);
    assert_int_equal(objsvc_list(E.svc, E.a, &E.b, &req, &ents, &n, &trunc), K_OK);
    uint64_t rt = round_trips();
    kv_mem_stats ms;
    kv_mem_stats_get(E.meta, &ms);
    print_message("1000-entry page: %llu kv reads in %llu round trips (%llu multi-gets)\n",
                  (unsigned long long)ms.gets, (unsigned long long)rt,
                  (unsigned long long)ms.mgets);
    assert_int_equal(n, 1000);
    assert_true(trunc);
    char want[32];
    for (size_t i = 0; i < n; i++) {
        if (i < 300)
            snprintf(want, sizeof want, "d%02zu/o%zu", i / 10, i % 10);
        else
            snprintf(want, sizeof want, "f%04zu", i - 300);
        check_entry(&ents[i], want, false);
    }
    /* the 1000 records came in one multi-get, not 1000 reads */
    assert_true(ms.mget_keys >= 1000);
    assert_true(rt < 40);

    /* the next page: the record-less name is skipped, the page is still
     * full-sized where names remain (f0700 .. f1199 = 500 left) */
    req.start_after = ents[n - 1].key;
    req.start_after_len = ents[n - 1].klen;
    assert_int_equal(objsvc_list(E.svc, E.a, &E.b, &req, &ents, &n, &trunc), K_OK);
    assert_int_equal(n, 500);
    assert_false(trunc);
    for (size_t i = 0; i < n; i++) {
        snprintf(want, sizeof want, "f%04zu", i + 700);
        check_entry(&ents[i], want, false);
    }
    /* the skipped name sits in the first page's range: a page around it */
    obj_list_req around = {.start_after = "f0498", .start_after_len = 5, .max_entries = 3};
    assert_int_equal(objsvc_list(E.svc, E.a, &E.b, &around, &ents, &n, &trunc), K_OK);
    assert_int_equal(n, 3);
    check_entry(&ents[0], "f0499", false);
    check_entry(&ents[1], "f0500", false);
    check_entry(&ents[2], "f0501", false); /* f0500x skipped, the page refilled */
    assert_true(trunc);

    /* with a delimiter: 30 common prefixes, then files */
    obj_list_req dreq = {.delim = "/", .delim_len = 1, .max_entries = 1000};
    kv_mem_stats_reset(E.meta);
    assert_int_equal(objsvc_list(E.svc, E.a, &E.b, &dreq, &ents, &n, &trunc), K_OK);
    kv_mem_stats_get(E.meta, &ms);
    assert_int_equal(n, 1000);
    assert_true(trunc);
    for (size_t i = 0; i < n; i++) {
        if (i < 30)
            snprintf(want, sizeof want, "d%02zu/", i);
        else
            snprintf(want, sizeof want, "f%04zu", i - 30);
        check_entry(&ents[i], want, i < 30);
    }
    assert_true(round_trips() < 40);
    /* prefix + delimiter inside a directory */
    obj_list_req in = {
        .prefix = "d07/", .prefix_len = 4, .delim = "/", .delim_len = 1, .max_entries = 1000};
    assert_int_equal(objsvc_list(E.svc, E.a, &E.b, &in, &ents, &n, &trunc), K_OK);
    assert_int_equal(n, 10);
    assert_false(trunc);
    for (size_t i = 0; i < n; i++) {
        snprintf(want, sizeof want, "d07/o%zu", i);
        check_entry(&ents[i], want, false);
    }
}

static void test_list_uploads_and_parts(void **state) {
    (void)state;
    char ids[5][33];
    for (int i = 0; i < 5; i++) {
        char key[16];
        snprintf(key, sizeof key, "up/%d", i);
        assert_int_equal(objsvc_mpu_create(E.svc, E.a, &E.b, key, strlen(key), NULL, 0, NULL, 0,
                                           ACL_PRIVATE, CK_NONE, CKTYPE_NONE, "owner", ids[i]),
                         K_OK);
    }
    /* an upload name without its record, and one that is malformed */
    uint8_t ns[9] = {'u'};
    memcpy(ns + 1, E.b.id, 8);
    const char ghost[] = "up/2x\0"
                         "0123456789abcdef0123456789abcdef";
    assert_int_equal(radix_insert(E.tree, ns, 9, ghost, sizeof ghost - 1), K_OK);
    assert_int_equal(radix_insert(E.tree, ns, 9, "up/9\0short", 10), K_OK);
    obj_list_req req = {.max_entries = 1000};
    mpu_list_entry *ups;
    size_t n;
    bool trunc;
    assert_int_equal(objsvc_mpu_list(E.svc, E.a, &E.b, &req, &ups, &n, &trunc), K_OK);
    assert_int_equal(n, 5);
    for (int i = 0; i < 5; i++) {
        char key[16];
        snprintf(key, sizeof key, "up/%d", i);
        assert_false(ups[i].is_prefix);
        assert_int_equal(ups[i].u.klen, strlen(key));
        assert_memory_equal(ups[i].u.key, key, strlen(key));
        assert_string_equal(ups[i].u.upload_id, ids[i]);
    }
    obj_list_req dreq = {.delim = "/", .delim_len = 1, .max_entries = 1000};
    assert_int_equal(objsvc_mpu_list(E.svc, E.a, &E.b, &dreq, &ups, &n, &trunc), K_OK);
    assert_int_equal(n, 1);
    assert_true(ups[0].is_prefix);
    assert_int_equal(ups[0].prefix_len, 3);
    assert_memory_equal(ups[0].prefix, "up/", 3);

    /* parts 1..3 of upload 0, listed with their sizes */
    upload_info u;
    assert_int_equal(objsvc_mpu_get(E.svc, E.a, &E.b, ids[0], &u), K_OK);
    for (uint32_t pn = 1; pn <= 3; pn++) {
        obj_put *p;
        assert_int_equal(objsvc_part_begin(E.svc, E.a, &E.b, &u, pn, pn * 10, &p), K_OK);
        char data[30];
        memset(data, 'p', sizeof data);
        assert_int_equal(objsvc_put_write(p, data, pn * 10), K_OK);
        assert_int_equal(objsvc_put_finish(p, NULL, NULL), K_OK);
    }
    part_info *parts;
    kv_mem_stats_reset(E.meta);
    assert_int_equal(objsvc_mpu_list_parts(E.svc, E.a, &u, 0, 0, &parts, &n, &trunc), K_OK);
    kv_mem_stats ms;
    kv_mem_stats_get(E.meta, &ms);
    assert_int_equal(n, 3);
    assert_false(trunc);
    for (uint32_t i = 0; i < 3; i++) {
        assert_int_equal(parts[i].number, i + 1);
        assert_int_equal(parts[i].size, (i + 1) * 10);
    }
    assert_int_equal(ms.mgets, 1);
    assert_int_equal(ms.mget_keys, 3);
    assert_int_equal(objsvc_mpu_list_parts(E.svc, E.a, &u, 1, 1, &parts, &n, &trunc), K_OK);
    assert_int_equal(n, 1);
    assert_int_equal(parts[0].number, 2);
    assert_true(trunc);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_objects),
        cmocka_unit_test(test_list_uploads_and_parts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
