/* SPDX-License-Identifier: Apache-2.0 */
/* The object service alone, without HTTP: over two in-memory kv stores (a
 * registry and a member, kept apart as the router will keep them) and a
 * temporary local volume behind the data layer. The contract of objsvc.h:
 * where each record lands; put / get / range read / unknown-length segments
 * / copy / multipart / list / delete; every access decision for the bucket's
 * owner, another user, root and an anonymous caller; users on the registry
 * store. */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "gateway/objsvc.h"
#include "router/users.h"
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

/* The principals of the access cases. */
static const principal *alice(void) {
    static principal p;
    p = objsvc_principal(NULL, "alice");
    return &p;
}

static bucket_info make_bucket(fx *f, const char *name, uint8_t acl) {
    assert_int_equal(objsvc_bucket_create(f->svc, alice(), name, "us-east-1", acl), K_OK);
    bucket_info b;
    assert_int_equal(objsvc_bucket_open(f->svc, f->a, alice(), name, BUCKET_OWNER, &b), K_OK);
    return b;
}

/* Reads [off, off+len) of m through the range reader, in odd steps. */
static void read_range(fx *f, const obj_meta *m, uint64_t off, uint64_t len, uint8_t *out) {
    obj_reader *r;
    assert_int_equal(objsvc_reader_open(f->svc, m, off, len, &r), K_OK);
    uint64_t pos = 0;
    while (pos < len) {
        ssize_t k = objsvc_reader_read(r, pos, out + pos, 12345);
        assert_true(k > 0);
        pos += (uint64_t)k;
    }
    assert_int_equal(objsvc_reader_read(r, pos, out, 1), 0);
    objsvc_reader_close(r);
}

static uint8_t *pattern(size_t n, unsigned seed) {
    uint8_t *p = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(i * 31 + seed + (i >> 9));
    return p;
}

/* Buckets on the registry, objects on the member store. */
static void records_land_in_their_store(void **state) {
    fx *f = *state;
    bucket_info b = make_bucket(f, "photos", ACL_PRIVATE);
    assert_int_equal(kv_mem_count_prefix(f->reg, "B", 1), 1);
    assert_int_equal(kv_mem_count_prefix(f->member, "B", 1), 0);
    assert_string_equal(b.owner, "alice");
    obj_meta m;
    put_object(f, &b, "cat.jpg", "meow", 4, false, &m);
    assert_int_equal(kv_mem_count_prefix(f->member, "O", 1), 1);
    assert_int_equal(kv_mem_count_prefix(f->reg, "O", 1), 0);
    bucket_info *list;
    size_t n;
    assert_int_equal(objsvc_bucket_list(f->svc, f->a, alice(), &list, &n), K_OK);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].name, "photos");
    principal bob = objsvc_principal(NULL, "bob");
    assert_int_equal(objsvc_bucket_create(f->svc, &bob, "photos", "us-east-1", ACL_PRIVATE),
                     K_EBUCKETEXISTS);
    assert_int_equal(objsvc_bucket_create(f->svc, alice(), "photos", "us-east-1", ACL_PRIVATE),
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
    bucket_info b = make_bucket(f, "data", ACL_PRIVATE);
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
            read_range(f, &h, 0, n, got);
            assert_memory_equal(got, body, n);
            /* a range that starts and ends off any storage boundary */
            if (n > 10) {
                uint64_t off = n / 3, len = n - n / 3 - 1;
                read_range(f, &h, off, len, got);
                assert_memory_equal(got, body + off, len);
                obj_reader *r;
                assert_int_equal(objsvc_reader_open(f->svc, &h, n, 1, &r), K_EINVALIDRANGE);
                assert_int_equal(objsvc_reader_open(f->svc, &h, 1, n, &r), K_EINVALIDRANGE);
            }
            free(got);
            free(body);
        }
    }
}

/* Multipart: parts become the object's extents, part ranges line up. */
static void multipart(void **state) {
    fx *f = *state;
    bucket_info b = make_bucket(f, "mpu", ACL_PRIVATE);
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
    assert_int_equal(objsvc_mpu_complete(f->svc, f->a, &b, &u, cp, 2, NULL, &m), K_OK);
    assert_true(m.size == sizes[0] + sizes[1]);
    assert_non_null(strstr(m.etag, "-2"));
    uint64_t off, len;
    objsvc_part_range(&m, 2, &off, &len);
    assert_true(off == sizes[0] && len == sizes[1]);
    uint8_t *got = malloc(sizes[1]);
    read_range(f, &m, off, len, got);
    assert_memory_equal(got, parts[1], sizes[1]);
    free(got);
    /* the listing has exactly the object */
    obj_list_req req = {.max_entries = 10};
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

/* CopyObject and UploadPartCopy: whole objects (segmented ones too) and
 * ranges that cross segment boundaries, into objects and parts. */
static void copies(void **state) {
    fx *f = *state;
    bucket_info b = make_bucket(f, "copies", ACL_PRIVATE);
    size_t n = DATA_SEGMENT_SIZE + 100000;
    uint8_t *body = pattern(n, 7);
    obj_meta src;
    put_object(f, &b, "src", body, n, true, &src); /* unknown length: two segments */
    assert_true(src.nsegs == 2);
    /* whole object */
    obj_put_opts o = {.size = n};
    obj_put *p;
    assert_int_equal(objsvc_put_begin(f->svc, f->a, &b, "dst", 3, &o, &p), K_OK);
    assert_int_equal(objsvc_put_copy(p, &src, 0, n), K_OK);
    obj_meta dst;
    assert_int_equal(objsvc_put_finish(p, NULL, &dst), K_OK);
    assert_string_equal(dst.etag, src.etag);
    uint8_t *got = malloc(n);
    read_range(f, &dst, 0, n, got);
    assert_memory_equal(got, body, n);
    /* a range across the segment boundary, as a part */
    char upload_id[33];
    assert_int_equal(objsvc_mpu_create(f->svc, f->a, &b, "mp", 2, NULL, 0, ACL_PRIVATE, CK_NONE,
                                       CKTYPE_NONE, "alice", upload_id),
                     K_OK);
    upload_info u;
    assert_int_equal(objsvc_mpu_get(f->svc, f->a, &b, upload_id, &u), K_OK);
    uint64_t off = DATA_SEGMENT_SIZE - 4321, len = 9876;
    assert_int_equal(objsvc_part_begin(f->svc, f->a, &b, &u, 1, len, &p), K_OK);
    assert_int_equal(objsvc_put_copy(p, &src, off, len), K_OK);
    obj_meta pm;
    assert_int_equal(objsvc_put_finish(p, NULL, &pm), K_OK);
    part_info *parts;
    size_t np;
    bool trunc;
    assert_int_equal(objsvc_mpu_list_parts(f->svc, f->a, &u, 0, 10, &parts, &np, &trunc), K_OK);
    assert_int_equal(np, 1);
    assert_true(parts[0].size == len);
    mpu_complete_part cp = {.number = 1};
    memcpy(cp.md5, parts[0].md5, 16);
    obj_meta m;
    assert_int_equal(
        objsvc_mpu_complete(f->svc, f->a, &b, &u, &cp, 1, &(mpu_complete_expect){.size = len}, &m),
        K_OK);
    read_range(f, &m, 0, len, got);
    assert_memory_equal(got, body + off, len);
    /* a range that is not inside the source */
    assert_int_equal(objsvc_put_begin(f->svc, f->a, &b, "bad", 3, &o, &p), K_OK);
    assert_int_equal(objsvc_put_copy(p, &src, n - 10, 11), K_EINVALIDRANGE);
    objsvc_put_abort(p);
    free(got);
    free(body);
}

/* Every access decision, for the bucket's owner (alice), another user
 * (bob), root and an anonymous caller. */
static void access_decisions(void **state) {
    fx *f = *state;
    principal who[4] = {objsvc_principal(NULL, "alice"), objsvc_principal(NULL, "bob"),
                        objsvc_principal(NULL, "root"), objsvc_principal(NULL, NULL)};
    enum { ALICE, BOB, ROOT, ANON };
    assert_int_equal(who[ALICE].kind, PRINCIPAL_USER);
    assert_int_equal(who[ROOT].kind, PRINCIPAL_ROOT);
    assert_int_equal(who[ANON].kind, PRINCIPAL_ANONYMOUS);
    assert_null(who[ANON].user);

    /* creating buckets: anyone signed in, never anonymous */
    assert_int_equal(objsvc_bucket_create_check(&who[ANON], "anon-bucket"), K_EACCESSDENIED);
    assert_int_equal(objsvc_bucket_create(f->svc, &who[ANON], "anon-bucket", "", ACL_PRIVATE),
                     K_EACCESSDENIED);
    assert_int_equal(objsvc_bucket_create_check(&who[ALICE], "Bad_Name"), K_EINVALIDBUCKETNAME);
    assert_int_equal(objsvc_bucket_create_check(&who[BOB], "bobs"), K_OK);
    assert_int_equal(objsvc_bucket_create(f->svc, &who[BOB], "bobs", "", ACL_PRIVATE), K_OK);

    bucket_info priv = make_bucket(f, "private", ACL_PRIVATE);
    bucket_info open = make_bucket(f, "listable", ACL_PUBLIC_READ);
    obj_meta m;
    put_object(f, &priv, "secret", "s", 1, false, &m);
    obj_put_opts pub = {.size = 1, .acl = ACL_PUBLIC_READ};
    obj_put *p;
    assert_int_equal(objsvc_put_begin(f->svc, f->a, &priv, "shared", 6, &pub, &p), K_OK);
    assert_int_equal(objsvc_put_write(p, "p", 1), K_OK);
    assert_int_equal(objsvc_put_finish(p, NULL, NULL), K_OK);
    put_object(f, &open, "inside", "i", 1, false, &m);

    /* listing one's buckets: one's own only; root lists root's */
    for (int w = 0; w < 4; w++) {
        bucket_info *list;
        size_t n;
        kerr e = objsvc_bucket_list(f->svc, f->a, &who[w], &list, &n);
        if (w == ANON) {
            assert_int_equal(e, K_EACCESSDENIED);
            continue;
        }
        assert_int_equal(e, K_OK);
        assert_int_equal(n, w == ALICE ? 2 : w == BOB ? 1 : 0);
        if (w == BOB) assert_string_equal(list[0].name, "bobs");
    }

    /* bucket access: expected[who][access] for the private and the
     * public-read bucket */
    const kerr want_priv[4][3] = {
        [ALICE] = {K_OK, K_OK, K_OK},
        [BOB] = {K_OK, K_EACCESSDENIED, K_EACCESSDENIED},
        [ROOT] = {K_OK, K_OK, K_OK},
        [ANON] = {K_OK, K_EACCESSDENIED, K_EACCESSDENIED},
    };
    const kerr want_open[4][3] = {
        [ALICE] = {K_OK, K_OK, K_OK},
        [BOB] = {K_OK, K_OK, K_EACCESSDENIED},
        [ROOT] = {K_OK, K_OK, K_OK},
        [ANON] = {K_OK, K_OK, K_EACCESSDENIED},
    };
    const bucket_access accs[3] = {BUCKET_LOOKUP, BUCKET_READ, BUCKET_OWNER};
    for (int w = 0; w < 4; w++) {
        for (int k = 0; k < 3; k++) {
            bucket_info b;
            assert_int_equal(objsvc_bucket_open(f->svc, f->a, &who[w], "private", accs[k], &b),
                             want_priv[w][k]);
            assert_int_equal(objsvc_bucket_open(f->svc, f->a, &who[w], "listable", accs[k], &b),
                             want_open[w][k]);
            /* a bucket that does not exist is no secret */
            assert_int_equal(objsvc_bucket_open(f->svc, f->a, &who[w], "nowhere", accs[k], &b),
                             K_ENOSUCHBUCKET);
        }
    }
    /* bob's bucket is his: alice is a stranger there, root is not */
    bucket_info bb;
    assert_int_equal(objsvc_bucket_open(f->svc, f->a, &who[ALICE], "bobs", BUCKET_OWNER, &bb),
                     K_EACCESSDENIED);
    assert_int_equal(objsvc_bucket_open(f->svc, f->a, &who[ROOT], "bobs", BUCKET_OWNER, &bb), K_OK);

    /* reading objects: the owner and root read everything; others read
     * public-read objects only, and learn a name is absent only where they
     * may list */
    struct {
        const bucket_info *b;
        const char *key;
        kerr want[4];
    } reads[] = {
        {&priv, "secret", {K_OK, K_EACCESSDENIED, K_OK, K_EACCESSDENIED}},
        {&priv, "shared", {K_OK, K_OK, K_OK, K_OK}},
        {&priv, "missing", {K_ENOSUCHKEY, K_EACCESSDENIED, K_ENOSUCHKEY, K_EACCESSDENIED}},
        {&open, "inside", {K_OK, K_EACCESSDENIED, K_OK, K_EACCESSDENIED}},
        {&open, "missing", {K_ENOSUCHKEY, K_ENOSUCHKEY, K_ENOSUCHKEY, K_ENOSUCHKEY}},
    };
    for (size_t i = 0; i < sizeof reads / sizeof *reads; i++) {
        for (int w = 0; w < 4; w++) {
            obj_meta om;
            kerr e = objsvc_object_open(f->svc, f->a, &who[w], reads[i].b, reads[i].key,
                                        strlen(reads[i].key), &om);
            if (e != reads[i].want[w])
                fail_msg("object_open(%s/%s) as %d: %s, want %s", reads[i].b->name, reads[i].key, w,
                         kerr_name(e), kerr_name(reads[i].want[w]));
            if (!e) assert_true(om.size == 1);
        }
    }
    /* a canned ACL change moves the decision with it */
    assert_int_equal(objsvc_bucket_set_acl(f->svc, "private", ACL_PUBLIC_READ), K_OK);
    bucket_info now;
    assert_int_equal(objsvc_bucket_open(f->svc, f->a, &who[ANON], "private", BUCKET_READ, &now),
                     K_OK);
    assert_int_equal(objsvc_object_open(f->svc, f->a, &who[ANON], &now, "missing", 7, &m),
                     K_ENOSUCHKEY);
    assert_int_equal(objsvc_object_open(f->svc, f->a, &who[ANON], &now, "secret", 6, &m),
                     K_EACCESSDENIED);
}

/* Swift-style users "ACCOUNT:USER" act for ACCOUNT: two users of one account
 * share its buckets, another account's user is a stranger, plain names stay
 * their own account, and root acts for any account it is given. */
static void swift_accounts(void **state) {
    fx *f = *state;
    principal u1 = objsvc_principal(f->a, "acme:alice");
    principal u2 = objsvc_principal(f->a, "acme:bob");
    principal other = objsvc_principal(f->a, "zeta:alice");
    principal plain = objsvc_principal(f->a, "alice");
    assert_int_equal(u1.kind, PRINCIPAL_USER);
    assert_string_equal(u1.user, "acme:alice");
    assert_string_equal(u1.account, "acme");
    assert_string_equal(plain.account, "alice");
    /* without an arena a ':' name is its own account */
    assert_string_equal(objsvc_principal(NULL, "acme:alice").account, "acme:alice");
    assert_int_equal(objsvc_bucket_create(f->svc, &u1, "acme-box", "", ACL_PRIVATE), K_OK);
    bucket_info b;
    assert_int_equal(objsvc_bucket_open(f->svc, f->a, &u2, "acme-box", BUCKET_OWNER, &b), K_OK);
    assert_string_equal(b.owner, "acme");
    assert_int_equal(objsvc_bucket_create(f->svc, &u2, "acme-box", "", ACL_PRIVATE),
                     K_EBUCKETOWNED);
    assert_int_equal(objsvc_bucket_open(f->svc, f->a, &other, "acme-box", BUCKET_READ, &b),
                     K_EACCESSDENIED);
    assert_int_equal(objsvc_bucket_open(f->svc, f->a, &plain, "acme-box", BUCKET_READ, &b),
                     K_EACCESSDENIED);
    bucket_info *list;
    size_t n;
    assert_int_equal(objsvc_bucket_list(f->svc, f->a, &u2, &list, &n), K_OK);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].name, "acme-box");
    assert_int_equal(objsvc_bucket_list(f->svc, f->a, &other, &list, &n), K_OK);
    assert_int_equal(n, 0);
    principal root_for = objsvc_principal_for("root", "acme");
    assert_int_equal(root_for.kind, PRINCIPAL_ROOT);
    assert_int_equal(objsvc_bucket_list(f->svc, f->a, &root_for, &list, &n), K_OK);
    assert_int_equal(n, 1);
    principal user_for = objsvc_principal_for("acme:bob", "acme");
    assert_int_equal(user_for.kind, PRINCIPAL_USER);
    assert_null(objsvc_principal_for(NULL, "acme").user);
}

/* Grants (Swift container ACLs): named users and accounts read or write,
 * ".r:*" lets anyone read objects and ".rlistings" list them; the bucket
 * itself stays its owner's; a bucket without grants is unchanged. */
static void grant_decisions(void **state) {
    fx *f = *state;
    principal who[6] = {objsvc_principal(f->a, "alice"),     objsvc_principal(f->a, "zeta:carol"),
                        objsvc_principal(f->a, "zeta:dave"), objsvc_principal(f->a, "other:eve"),
                        objsvc_principal(f->a, "root"),      objsvc_principal(f->a, NULL)};
    enum { OWNER, CAROL, DAVE, EVE, ROOT, ANON };
    bucket_info b = make_bucket(f, "granted", ACL_PRIVATE);
    obj_meta m;
    put_object(f, &b, "obj", "o", 1, false, &m);
    const bucket_access accs[3] = {BUCKET_READ, BUCKET_WRITE, BUCKET_OWNER};
    struct {
        const char *read, *write;
        kerr want[6][3]; /* per caller: READ, WRITE, OWNER */
        kerr open[6];    /* objsvc_object_open of "obj" */
        kerr missing[6]; /* ... of an absent key */
    } rows[] = {
        /* no grants: as before */
        {"",
         "",
         {[OWNER] = {K_OK, K_OK, K_OK},
          [CAROL] = {K_EACCESSDENIED, K_EACCESSDENIED, K_EACCESSDENIED},
          [DAVE] = {K_EACCESSDENIED, K_EACCESSDENIED, K_EACCESSDENIED},
          [EVE] = {K_EACCESSDENIED, K_EACCESSDENIED, K_EACCESSDENIED},
          [ROOT] = {K_OK, K_OK, K_OK},
          [ANON] = {K_EACCESSDENIED, K_EACCESSDENIED, K_EACCESSDENIED}},
         {K_OK, K_EACCESSDENIED, K_EACCESSDENIED, K_EACCESSDENIED, K_OK, K_EACCESSDENIED},
         {K_ENOSUCHKEY, K_EACCESSDENIED, K_EACCESSDENIED, K_EACCESSDENIED, K_ENOSUCHKEY,
          K_EACCESSDENIED}},
        /* carol reads, all of zeta writes (writing does not let dave read) */
        {"zeta:carol",
         "zeta",
         {[OWNER] = {K_OK, K_OK, K_OK},
          [CAROL] = {K_OK, K_OK, K_EACCESSDENIED},
          [DAVE] = {K_EACCESSDENIED, K_OK, K_EACCESSDENIED},
          [EVE] = {K_EACCESSDENIED, K_EACCESSDENIED, K_EACCESSDENIED},
          [ROOT] = {K_OK, K_OK, K_OK},
          [ANON] = {K_EACCESSDENIED, K_EACCESSDENIED, K_EACCESSDENIED}},
         {K_OK, K_OK, K_EACCESSDENIED, K_EACCESSDENIED, K_OK, K_EACCESSDENIED},
         {K_ENOSUCHKEY, K_ENOSUCHKEY, K_EACCESSDENIED, K_EACCESSDENIED, K_ENOSUCHKEY,
          K_EACCESSDENIED}},
        /* .r:* : anyone reads objects, but lists nothing */
        {".r:*",
         "",
         {[OWNER] = {K_OK, K_OK, K_OK},
          [CAROL] = {K_EACCESSDENIED, K_EACCESSDENIED, K_EACCESSDENIED},
          [DAVE] = {K_EACCESSDENIED, K_EACCESSDENIED, K_EACCESSDENIED},
          [EVE] = {K_EACCESSDENIED, K_EACCESSDENIED, K_EACCESSDENIED},
          [ROOT] = {K_OK, K_OK, K_OK},
          [ANON] = {K_EACCESSDENIED, K_EACCESSDENIED, K_EACCESSDENIED}},
         {K_OK, K_OK, K_OK, K_OK, K_OK, K_OK},
         {K_ENOSUCHKEY, K_EACCESSDENIED, K_EACCESSDENIED, K_EACCESSDENIED, K_ENOSUCHKEY,
          K_EACCESSDENIED}},
        /* .r:*,.rlistings : anyone lists too; writing stays the owner's */
        {".r:*,.rlistings",
         "",
         {[OWNER] = {K_OK, K_OK, K_OK},
          [CAROL] = {K_OK, K_EACCESSDENIED, K_EACCESSDENIED},
          [DAVE] = {K_OK, K_EACCESSDENIED, K_EACCESSDENIED},
          [EVE] = {K_OK, K_EACCESSDENIED, K_EACCESSDENIED},
          [ROOT] = {K_OK, K_OK, K_OK},
          [ANON] = {K_OK, K_EACCESSDENIED, K_EACCESSDENIED}},
         {K_OK, K_OK, K_OK, K_OK, K_OK, K_OK},
         {K_ENOSUCHKEY, K_ENOSUCHKEY, K_ENOSUCHKEY, K_ENOSUCHKEY, K_ENOSUCHKEY, K_ENOSUCHKEY}},
        /* .rlistings alone is nothing (Swift needs a referrer rule with it) */
        {".rlistings,other:eve",
         "",
         {[OWNER] = {K_OK, K_OK, K_OK},
          [CAROL] = {K_EACCESSDENIED, K_EACCESSDENIED, K_EACCESSDENIED},
          [DAVE] = {K_EACCESSDENIED, K_EACCESSDENIED, K_EACCESSDENIED},
          [EVE] = {K_OK, K_EACCESSDENIED, K_EACCESSDENIED},
          [ROOT] = {K_OK, K_OK, K_OK},
          [ANON] = {K_EACCESSDENIED, K_EACCESSDENIED, K_EACCESSDENIED}},
         {K_OK, K_EACCESSDENIED, K_EACCESSDENIED, K_OK, K_OK, K_EACCESSDENIED},
         {K_ENOSUCHKEY, K_EACCESSDENIED, K_EACCESSDENIED, K_ENOSUCHKEY, K_ENOSUCHKEY,
          K_EACCESSDENIED}},
    };
    for (size_t r = 0; r < sizeof rows / sizeof *rows; r++) {
        assert_int_equal(objsvc_bucket_set_grants(f->svc, "granted", rows[r].read, rows[r].write),
                         K_OK);
        bucket_info cur;
        assert_int_equal(
            objsvc_bucket_open(f->svc, f->a, &who[OWNER], "granted", BUCKET_LOOKUP, &cur), K_OK);
        assert_string_equal(cur.read_grants, rows[r].read);
        assert_string_equal(cur.write_grants, rows[r].write);
        for (int w = 0; w < 6; w++) {
            for (int k = 0; k < 3; k++) {
                bucket_info got;
                kerr e = objsvc_bucket_open(f->svc, f->a, &who[w], "granted", accs[k], &got);
                if (e != rows[r].want[w][k])
                    fail_msg("row %zu caller %d access %d: %s, want %s", r, w, k, kerr_name(e),
                             kerr_name(rows[r].want[w][k]));
            }
            kerr e = objsvc_object_open(f->svc, f->a, &who[w], &cur, "obj", 3, &m);
            if (e != rows[r].open[w])
                fail_msg("row %zu caller %d open: %s, want %s", r, w, kerr_name(e),
                         kerr_name(rows[r].open[w]));
            e = objsvc_object_open(f->svc, f->a, &who[w], &cur, "nope", 4, &m);
            if (e != rows[r].missing[w])
                fail_msg("row %zu caller %d missing: %s, want %s", r, w, kerr_name(e),
                         kerr_name(rows[r].missing[w]));
        }
        assert_true(objsvc_bucket_owned(&who[OWNER], &cur));
        assert_true(objsvc_bucket_owned(&who[ROOT], &cur));
        assert_false(objsvc_bucket_owned(&who[CAROL], &cur));
        assert_false(objsvc_bucket_owned(&who[ANON], &cur));
    }
    /* NULL leaves a grant list as it is; normalization */
    assert_int_equal(
        objsvc_bucket_set_grants(f->svc, "granted", " zeta:carol , ,zeta:carol,x ", NULL), K_OK);
    bucket_info cur;
    assert_int_equal(objsvc_bucket_open(f->svc, f->a, &who[OWNER], "granted", BUCKET_LOOKUP, &cur),
                     K_OK);
    assert_string_equal(cur.read_grants, "zeta:carol,x");
    assert_string_equal(cur.write_grants, "");
    char *out;
    assert_int_equal(objsvc_grants_normalize(f->a, ".r:example.com", false, &out), K_ENOTIMPL);
    const char *bad_read[] = {".bogus", "*", "a:b:c", ":b", "a:", ".r:"};
    for (size_t i = 0; i < sizeof bad_read / sizeof *bad_read; i++)
        if (objsvc_grants_normalize(f->a, bad_read[i], false, &out) != K_EINVAL)
            fail_msg("read grant %s accepted", bad_read[i]);
    const char *bad_write[] = {".r:*", ".rlistings", ".r:example.com"};
    for (size_t i = 0; i < sizeof bad_write / sizeof *bad_write; i++)
        assert_int_equal(objsvc_grants_normalize(f->a, bad_write[i], true, &out), K_EINVAL);
    assert_int_equal(objsvc_grants_normalize(f->a, "", true, &out), K_OK);
    assert_string_equal(out, "");
    assert_int_equal(objsvc_bucket_set_grants(f->svc, "granted", ".bogus", NULL), K_EINVAL);
    assert_int_equal(objsvc_bucket_set_grants(f->svc, "nowhere", "x", NULL), K_ENOSUCHBUCKET);
}

/* Account metadata: none until set; only the account's users and root see
 * or change it; NULL caller reads it (authentication); limits as buckets'. */
static void account_attrs(void **state) {
    fx *f = *state;
    principal u1 = objsvc_principal(f->a, "acme:alice"), u2 = objsvc_principal(f->a, "acme:bob");
    principal other = objsvc_principal(f->a, "zeta:eve"), anon = objsvc_principal(f->a, NULL);
    principal root = objsvc_principal(f->a, "root");
    account_info ai;
    assert_int_equal(objsvc_account_open(f->svc, f->a, &u1, "acme", &ai), K_OK);
    assert_int_equal(ai.nattrs, 0);
    obj_attr set1[] = {{"color", "blue"}, {"temp-url-key", "k1"}};
    assert_int_equal(objsvc_account_set_attrs(f->svc, &u1, "acme", set1, 2, 90, 2048), K_OK);
    assert_int_equal(objsvc_account_open(f->svc, f->a, &u2, "acme", &ai), K_OK);
    assert_int_equal(ai.nattrs, 2);
    assert_string_equal(ai.attrs[1].name, "temp-url-key");
    assert_string_equal(ai.attrs[1].value, "k1");
    assert_int_equal(objsvc_account_open(f->svc, f->a, NULL, "acme", &ai), K_OK);
    assert_int_equal(ai.nattrs, 2);
    assert_int_equal(objsvc_account_open(f->svc, f->a, &root, "acme", &ai), K_OK);
    assert_int_equal(objsvc_account_open(f->svc, f->a, &other, "acme", &ai), K_EACCESSDENIED);
    assert_int_equal(objsvc_account_open(f->svc, f->a, &anon, "acme", &ai), K_EACCESSDENIED);
    assert_int_equal(objsvc_account_set_attrs(f->svc, &other, "acme", set1, 1, 90, 2048),
                     K_EACCESSDENIED);
    assert_int_equal(objsvc_account_set_attrs(f->svc, &anon, "acme", set1, 1, 90, 2048),
                     K_EACCESSDENIED);
    obj_attr big[] = {{"x", "0123456789"}};
    assert_int_equal(objsvc_account_set_attrs(f->svc, &u1, "acme", big, 1, 90, 10),
                     K_EMETADATATOOLARGE);
    /* removing the last one removes the record; an account is its own */
    obj_attr clear[] = {{"color", ""}, {"temp-url-key", ""}};
    assert_int_equal(objsvc_account_set_attrs(f->svc, &root, "acme", clear, 2, 90, 2048), K_OK);
    assert_int_equal(objsvc_account_open(f->svc, f->a, &u1, "acme", &ai), K_OK);
    assert_int_equal(ai.nattrs, 0);
    assert_int_equal(objsvc_account_open(f->svc, f->a, &other, "zeta", &ai), K_OK);
    assert_int_equal(ai.nattrs, 0);
}

/* Bucket metadata: set replaces by name, an empty value removes, the rest
 * stay; limits are checked on the result. */
static void bucket_attrs(void **state) {
    fx *f = *state;
    make_bucket(f, "meta-box", ACL_PRIVATE);
    obj_attr set1[] = {{"color", "blue"}, {"size", "big"}};
    assert_int_equal(objsvc_bucket_set_attrs(f->svc, "meta-box", set1, 2, 90, 2048), K_OK);
    obj_attr set2[] = {{"size", ""}, {"shape", "round"}, {"color", "red"}};
    assert_int_equal(objsvc_bucket_set_attrs(f->svc, "meta-box", set2, 3, 90, 2048), K_OK);
    bucket_info b;
    assert_int_equal(objsvc_bucket_open(f->svc, f->a, alice(), "meta-box", BUCKET_READ, &b), K_OK);
    assert_int_equal(b.nattrs, 2);
    assert_string_equal(b.attrs[0].name, "color");
    assert_string_equal(b.attrs[0].value, "red");
    assert_string_equal(b.attrs[1].name, "shape");
    assert_string_equal(b.attrs[1].value, "round");
    /* over the count limit: nothing changes */
    obj_attr set3[] = {{"a", "1"}};
    assert_int_equal(objsvc_bucket_set_attrs(f->svc, "meta-box", set3, 1, 2, 2048),
                     K_EMETADATATOOLARGE);
    assert_int_equal(objsvc_bucket_set_attrs(f->svc, "meta-box", set3, 1, 90, 10),
                     K_EMETADATATOOLARGE);
    assert_int_equal(objsvc_bucket_open(f->svc, f->a, alice(), "meta-box", BUCKET_READ, &b), K_OK);
    assert_int_equal(b.nattrs, 2);
    /* the canned ACL and the metadata do not disturb each other */
    assert_int_equal(objsvc_bucket_set_acl(f->svc, "meta-box", ACL_PUBLIC_READ), K_OK);
    assert_int_equal(objsvc_bucket_open(f->svc, f->a, alice(), "meta-box", BUCKET_READ, &b), K_OK);
    assert_int_equal(b.nattrs, 2);
    assert_int_equal(b.acl, ACL_PUBLIC_READ);
    assert_int_equal(objsvc_bucket_set_attrs(f->svc, "nowhere", set3, 1, 90, 2048),
                     K_ENOSUCHBUCKET);
}

static void put_with_attrs(fx *f, const bucket_info *b, const char *key, const obj_attr *attrs,
                           uint32_t n) {
    obj_put_opts o = {.size = 3, .attrs = attrs, .nattrs = n};
    obj_put *p;
    assert_int_equal(objsvc_put_begin(f->svc, f->a, b, key, strlen(key), &o, &p), K_OK);
    assert_int_equal(objsvc_put_write(p, "abc", 3), K_OK);
    assert_int_equal(objsvc_put_finish(p, NULL, NULL), K_OK);
}

/* An object whose x-delete-at time has passed is absent to every reader
 * (head, open, listing, attribute updates, conditional writes); one whose
 * time is still ahead is there. Deleting the bucket removes expired
 * objects, which no longer keep it from being empty. */
static void expiry(void **state) {
    fx *f = *state;
    bucket_info b = make_bucket(f, "expiring", ACL_PRIVATE);
    char future[32];
    snprintf(future, sizeof future, "%lld", (long long)time(NULL) + 3600);
    obj_attr past_at[] = {{OBJ_ATTR_DELETE_AT, "1000000000"}};
    obj_attr future_at[] = {{OBJ_ATTR_DELETE_AT, future}};
    put_with_attrs(f, &b, "gone", past_at, 1);
    put_with_attrs(f, &b, "later", future_at, 1);
    put_with_attrs(f, &b, "plain", NULL, 0);
    obj_meta m;
    assert_int_equal(objsvc_head(f->svc, f->a, &b, "gone", 4, &m), K_ENOSUCHKEY);
    assert_int_equal(objsvc_object_open(f->svc, f->a, alice(), &b, "gone", 4, &m), K_ENOSUCHKEY);
    assert_int_equal(objsvc_head(f->svc, f->a, &b, "later", 5, &m), K_OK);
    assert_int_equal(m.nattrs, 1);
    assert_string_equal(m.attrs[0].value, future);
    assert_int_equal(objsvc_object_open(f->svc, f->a, alice(), &b, "later", 5, &m), K_OK);
    assert_int_equal(objsvc_update_attrs(f->svc, f->a, &b, "gone", 4, NULL, 0, 0, NULL, &m),
                     K_ENOSUCHKEY);
    obj_list_req all = {0};
    list_entry *ents;
    size_t n;
    bool trunc;
    assert_int_equal(objsvc_list(f->svc, f->a, &b, &all, &ents, &n, &trunc), K_OK);
    assert_int_equal(n, 2);
    assert_memory_equal(ents[0].key, "later", 5);
    assert_memory_equal(ents[1].key, "plain", 5);
    /* If-None-Match: * succeeds over an expired object */
    obj_cond absent = {.absent = true};
    obj_put_opts o = {.size = 1, .cond = &absent};
    obj_put *p;
    assert_int_equal(objsvc_put_begin(f->svc, f->a, &b, "gone", 4, &o, &p), K_OK);
    assert_int_equal(objsvc_put_write(p, "x", 1), K_OK);
    assert_int_equal(objsvc_put_finish(p, NULL, &m), K_OK);
    assert_int_equal(objsvc_head(f->svc, f->a, &b, "gone", 4, &m), K_OK);
    assert_true(m.size == 1);
    /* a bucket holding only expired objects is empty */
    put_with_attrs(f, &b, "gone", past_at, 1);
    assert_int_equal(objsvc_delete(f->svc, &b, "later", 5, NULL), K_OK);
    assert_int_equal(objsvc_bucket_delete(f->svc, "expiring"), K_EBUCKETNOTEMPTY);
    assert_int_equal(objsvc_delete(f->svc, &b, "plain", 5, NULL), K_OK);
    assert_int_equal(objsvc_bucket_delete(f->svc, "expiring"), K_OK);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(records_land_in_their_store, setup, teardown),
        cmocka_unit_test_setup_teardown(put_get_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(multipart, setup, teardown),
        cmocka_unit_test_setup_teardown(copies, setup, teardown),
        cmocka_unit_test_setup_teardown(access_decisions, setup, teardown),
        cmocka_unit_test_setup_teardown(swift_accounts, setup, teardown),
        cmocka_unit_test_setup_teardown(grant_decisions, setup, teardown),
        cmocka_unit_test_setup_teardown(bucket_attrs, setup, teardown),
        cmocka_unit_test_setup_teardown(account_attrs, setup, teardown),
        cmocka_unit_test_setup_teardown(expiry, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
