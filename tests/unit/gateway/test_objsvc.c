/* SPDX-License-Identifier: Apache-2.0 */
/* The object service alone, without HTTP: over two in-memory kv stores (a
 * registry and a member, kept apart as the router will keep them) and a
 * temporary local volume behind the data layer. Checks where each record
 * lands, and put / get / range read / unknown-length segments / multipart /
 * list / delete; users on the registry store. (The access decisions move
 * into the service with the sealed-service work of issue 6 and get their
 * cases here then.) */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/objsvc.h"
#include "gateway/users.h"
#include "meta/kv.h"
#include "storage/data.h"

typedef struct fx {
    char dir[64];
    kv *reg, *member;
    volset *vs;
    data_layer *data;
    objsvc *svc;
    arena *a;
} fx;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state) {
    fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/kura-objsvc-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->reg = kv_mem_new();
    f->member = kv_mem_new();
    const char *dirs[] = {f->dir};
    volset_opts o = {.sync = false};
    assert_int_equal(volset_open_local(dirs, 1, &o, &f->vs), K_OK);
    assert_int_equal(data_open_local(f->vs, NULL, &f->data), K_OK);
    assert_int_equal(objsvc_open(f->reg, f->member, f->data, &f->svc), K_OK);
    f->a = arena_new(0);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx *f = *state;
    arena_free(f->a);
    objsvc_close(f->svc);
    data_close(f->data);
    volset_close(f->vs);
    kv_close(f->reg);
    kv_close(f->member);
    nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void put_object(fx *f, const bucket_info *b, const char *key, const void *body, size_t n,
                       bool unknown_length, obj_meta *out) {
    obj_put_opts o = {.size = unknown_length ? OBJ_SIZE_UNKNOWN : n};
    obj_put *p;
    assert_int_equal(objsvc_put_begin(f->svc, f->a, b, key, strlen(key), &o, &p), K_OK);
    const char *src = body;
    for (size_t at = 0; at < n; at += 100000)
        assert_int_equal(objsvc_put_write(p, src + at, n - at < 100000 ? n - at : 100000), K_OK);
    assert_int_equal(objsvc_put_finish(p, NULL, out), K_OK);
}

static uint8_t *pattern(size_t n, unsigned seed) {
    uint8_t *p = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(i * 31 + seed + (i >> 9));
    return p;
}

/* Buckets on the registry, objects on the member store. */
static void records_land_in_their_store(void **state) {
    fx *f = *state;
    assert_int_equal(objsvc_bucket_create(f->svc, "photos", "alice", "us-east-1", ACL_PRIVATE),
                     K_OK);
    assert_int_equal(kv_mem_count_prefix(f->reg, "B", 1), 1);
    assert_int_equal(kv_mem_count_prefix(f->member, "B", 1), 0);
    bucket_info b;
    assert_int_equal(objsvc_bucket_get(f->svc, f->a, "photos", &b), K_OK);
    assert_string_equal(b.owner, "alice");
    obj_meta m;
    put_object(f, &b, "cat.jpg", "meow", 4, false, &m);
    assert_int_equal(kv_mem_count_prefix(f->member, "O", 1), 1);
    assert_int_equal(kv_mem_count_prefix(f->reg, "O", 1), 0);
    bucket_info *list;
    size_t n;
    assert_int_equal(objsvc_bucket_list(f->svc, f->a, "alice", &list, &n), K_OK);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].name, "photos");
    assert_int_equal(objsvc_bucket_create(f->svc, "photos", "bob", "us-east-1", ACL_PRIVATE),
                     K_EBUCKETEXISTS);
    assert_int_equal(objsvc_bucket_create(f->svc, "photos", "alice", "us-east-1", ACL_PRIVATE),
                     K_EBUCKETOWNED);
    assert_int_equal(objsvc_bucket_delete(f->svc, "photos"), K_EBUCKETNOTEMPTY);
    assert_int_equal(objsvc_delete(f->svc, &b, "cat.jpg", 7, NULL), K_OK);
    assert_int_equal(objsvc_bucket_delete(f->svc, "photos"), K_OK);
    assert_int_equal(kv_mem_count_prefix(f->reg, "B", 1), 0);

    users *u;
    assert_int_equal(users_open(f->reg, &u), K_OK);
    assert_int_equal(users_put(u, "AKIDALICE", "s3cret", "alice"), K_OK);
    assert_int_equal(kv_mem_count_prefix(f->reg, "S", 1), 1);
    assert_int_equal(kv_mem_count_prefix(f->member, "S", 1), 0);
    const char *secret, *name;
    assert_int_equal(users_get(u, f->a, "AKIDALICE", &secret, &name), K_OK);
    assert_string_equal(secret, "s3cret");
    assert_string_equal(name, "alice");
    assert_int_equal(users_get(u, f->a, "AKIDNOBODY", &secret, &name), K_EINVALIDACCESSKEY);
    char **aks, **names;
    assert_int_equal(users_list(u, f->a, &aks, &names, &n), K_OK);
    assert_int_equal(n, 1);
    assert_string_equal(aks[0], "AKIDALICE");
    assert_int_equal(users_delete(u, "AKIDALICE"), K_OK);
    assert_int_equal(users_get(u, f->a, "AKIDALICE", &secret, &name), K_EINVALIDACCESSKEY);
    users_close(u);
}

/* Bodies in and out, whole and by range, known and unknown length. */
static void put_get_ranges(void **state) {
    fx *f = *state;
    assert_int_equal(objsvc_bucket_create(f->svc, "data", "alice", "us-east-1", ACL_PRIVATE), K_OK);
    bucket_info b;
    assert_int_equal(objsvc_bucket_get(f->svc, f->a, "data", &b), K_OK);
    const size_t sizes[] = {0, 1, 70000, 9 * 1024 * 1024 + 3};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        for (int unknown = 0; unknown < 2; unknown++) {
            size_t n = sizes[i];
            uint8_t *body = pattern(n, (unsigned)(i * 2 + (size_t)unknown));
            char key[32];
            snprintf(key, sizeof key, "obj-%zu-%d", n, unknown);
            obj_meta m;
            put_object(f, &b, key, body, n, unknown, &m);
            obj_meta h;
            assert_int_equal(objsvc_head(f->svc, f->a, &b, key, strlen(key), &h), K_OK);
            assert_true(h.size == n);
            assert_string_equal(h.etag, m.etag);
            /* unknown lengths above one segment are stored as several */
            if (unknown && n > DATA_SEGMENT_SIZE) assert_true(h.nsegs > 1);
            uint8_t *got = malloc(n ? n : 1);
            assert_int_equal(objsvc_read(f->svc, &h, 0, got, n), K_OK);
            assert_memory_equal(got, body, n);
            /* a streamed range, in odd steps */
            if (n > 10) {
                uint64_t off = n / 3, len = n - n / 3 - 1;
                obj_reader *r;
                assert_int_equal(objsvc_reader_open(f->svc, &h, off, len, &r), K_OK);
                uint64_t pos = 0;
                while (pos < len) {
                    ssize_t k = objsvc_reader_read(r, pos, got + pos, 12345);
                    assert_true(k > 0);
                    pos += (uint64_t)k;
                }
                assert_int_equal(objsvc_reader_read(r, pos, got, 1), 0);
                assert_memory_equal(got, body + off, len);
                objsvc_reader_close(r);
                assert_int_equal(objsvc_reader_open(f->svc, &h, n, 1, &r), K_EINVALIDRANGE);
            }
            free(got);
            free(body);
        }
    }
}

/* Multipart: parts become the object's extents, part ranges line up. */
static void multipart(void **state) {
    fx *f = *state;
    assert_int_equal(objsvc_bucket_create(f->svc, "mpu", "alice", "us-east-1", ACL_PRIVATE), K_OK);
    bucket_info b;
    assert_int_equal(objsvc_bucket_get(f->svc, f->a, "mpu", &b), K_OK);
    char upload_id[33];
    assert_int_equal(objsvc_mpu_create(f->svc, f->a, &b, "big", 3, NULL, 0, ACL_PRIVATE, CK_NONE,
                                       CKTYPE_NONE, "alice", upload_id),
                     K_OK);
    upload_info u;
    assert_int_equal(objsvc_mpu_get(f->svc, f->a, &b, upload_id, &u), K_OK);
    size_t sizes[2] = {OBJ_MIN_PART_SIZE, 1000};
    uint8_t *parts[2];
    mpu_complete_part cp[2] = {{0}};
    for (int i = 0; i < 2; i++) {
        parts[i] = pattern(sizes[i], 40u + (unsigned)i);
        obj_put *p;
        assert_int_equal(objsvc_part_begin(f->svc, f->a, &b, &u, (uint32_t)i + 1, sizes[i], &p),
                         K_OK);
        assert_int_equal(objsvc_put_write(p, parts[i], sizes[i]), K_OK);
        obj_meta pm;
        assert_int_equal(objsvc_put_finish(p, NULL, &pm), K_OK);
        cp[i].number = (uint32_t)i + 1;
        for (int j = 0; j < 16; j++) sscanf(pm.etag + 2 * j, "%2hhx", &cp[i].md5[j]);
    }
    obj_meta m;
    assert_int_equal(objsvc_mpu_complete(f->svc, f->a, &b, &u, cp, 2, NULL, OBJ_SIZE_UNKNOWN, &m),
                     K_OK);
    assert_true(m.size == sizes[0] + sizes[1]);
    assert_non_null(strstr(m.etag, "-2"));
    uint64_t off, len;
    objsvc_part_range(&m, 2, &off, &len);
    assert_true(off == sizes[0] && len == sizes[1]);
    uint8_t *got = malloc(sizes[1]);
    assert_int_equal(objsvc_read(f->svc, &m, off, got, len), K_OK);
    assert_memory_equal(got, parts[1], sizes[1]);
    free(got);
    /* the listing has exactly the object */
    radix_list_req req = {.max_entries = 10};
    list_entry *ents;
    size_t n;
    bool trunc;
    assert_int_equal(objsvc_list(f->svc, f->a, &b, &req, &ents, &n, &trunc), K_OK);
    assert_int_equal(n, 1);
    assert_memory_equal(ents[0].key, "big", 3);
    assert_false(trunc);
    free(parts[0]);
    free(parts[1]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(records_land_in_their_store, setup, teardown),
        cmocka_unit_test_setup_teardown(put_get_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(multipart, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
