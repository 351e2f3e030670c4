/* SPDX-License-Identifier: Apache-2.0 */
/* The object service alone, without HTTP: over two in-memory kv stores (a
 * registry and a member, kept apart as the router will keep them) and a
 * temporary local volume behind the data layer. The contract of objsvc.h:
 * where each record lands; put / get / range read / unknown-length segments
 * / copy / multipart / list / delete; every access decision for the bucket's
 * owner, another user, root and an anonymous caller; users on the registry
 * store. */
#include <ctype.h>
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

#include "common/text.h"
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
    assert_int_equal(objsvc_mpu_create(f->svc, f->a, &b, "big", 3, NULL, 0, NULL, 0, ACL_PRIVATE,
                                       CK_NONE, CKTYPE_NONE, "alice", upload_id),
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
    assert_int_equal(objsvc_mpu_create(f->svc, f->a, &b, "mp", 2, NULL, 0, NULL, 0, ACL_PRIVATE,
                                       CK_NONE, CKTYPE_NONE, "alice", upload_id),
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

/* Whether bucket b's record of key is still in the member store (expired
 * or not). */
static bool record_present(fx *f, const bucket_info *b, const char *key) {
    uint8_t k[1 + 8 + 64];
    size_t kl = strlen(key);
    k[0] = 'O';
    memcpy(k + 1, b->id, 8);
    memcpy(k + 9, key, kl);
    kbuf v = KBUF_INIT;
    kerr e = kv_get(f->member, k, 9 + kl, &v);
    kbuf_free(&v);
    return e == K_OK;
}

/* objsvc_expire reclaims an expired object once its time has come, only
 * while its record still expires then, and forgets stale entries. */
static void expiry_sweep(void **state) {
    fx *f = *state;
    bucket_info b = make_bucket(f, "sweeping", ACL_PRIVATE);
    int64_t now = (int64_t)time(NULL);
    char at1[32], at2[32], later[32];
    snprintf(at1, sizeof at1, "%lld", (long long)now + 100);
    snprintf(at2, sizeof at2, "%lld", (long long)now + 200);
    snprintf(later, sizeof later, "%lld", (long long)now + 5000);
    obj_attr a1[] = {{OBJ_ATTR_DELETE_AT, at1}}, a2[] = {{OBJ_ATTR_DELETE_AT, at2}},
             al[] = {{OBJ_ATTR_DELETE_AT, later}};
    put_with_attrs(f, &b, "one", a1, 1);
    put_with_attrs(f, &b, "two", a2, 1);
    put_with_attrs(f, &b, "rewritten", a1, 1);
    put_with_attrs(f, &b, "rewritten", NULL, 0); /* no expiry any more */
    put_with_attrs(f, &b, "moved", a1, 1);
    obj_meta m;
    assert_int_equal(objsvc_update_attrs(f->svc, f->a, &b, "moved", 5, al, 1, 0, NULL, &m), K_OK);
    size_t n = 99;
    /* nothing is due yet */
    assert_int_equal(objsvc_expire(f->svc, now * 1000, 1000, &n), K_OK);
    assert_int_equal(n, 0);
    assert_true(record_present(f, &b, "one"));
    /* at +150 s: "one" is due; "rewritten" and "moved" no longer expire then */
    assert_int_equal(objsvc_expire(f->svc, (now + 150) * 1000, 1000, &n), K_OK);
    assert_int_equal(n, 1);
    assert_false(record_present(f, &b, "one"));
    assert_true(record_present(f, &b, "two"));
    assert_true(record_present(f, &b, "rewritten"));
    assert_true(record_present(f, &b, "moved"));
    assert_int_equal(objsvc_head(f->svc, f->a, &b, "rewritten", 9, &m), K_OK);
    /* the entries of that second are gone: sweeping again finds nothing */
    assert_int_equal(objsvc_expire(f->svc, (now + 150) * 1000, 1000, &n), K_OK);
    assert_int_equal(n, 0);
    /* batches: max 1 takes the earliest entry only */
    assert_int_equal(objsvc_expire(f->svc, (now + 6000) * 1000, 1, &n), K_OK);
    assert_int_equal(n, 1);
    assert_false(record_present(f, &b, "two"));
    assert_int_equal(objsvc_expire(f->svc, (now + 6000) * 1000, 1000, &n), K_OK);
    assert_int_equal(n, 1);
    assert_false(record_present(f, &b, "moved"));
    /* the listing shows what is left, and the bucket empties */
    obj_list_req all = {0};
    list_entry *ents;
    bool trunc;
    assert_int_equal(objsvc_list(f->svc, f->a, &b, &all, &ents, &n, &trunc), K_OK);
    assert_int_equal(n, 1);
    assert_memory_equal(ents[0].key, "rewritten", 9);
    assert_int_equal(objsvc_delete(f->svc, &b, "rewritten", 9, NULL), K_OK);
    assert_int_equal(objsvc_bucket_delete(f->svc, "sweeping"), K_OK);
}

/* ---- large objects (Swift's SLO and DLO) --------------------------------- */

/* Hex MD5 of the n strings parts, concatenated. */
static void md5_hex_of(const char *const *parts, size_t n, char out[33]) {
    khash *h = khash_new(KH_MD5);
    assert_non_null(h);
    for (size_t i = 0; i < n; i++) khash_update(h, parts[i], strlen(parts[i]));
    uint8_t d[32];
    khash_final(h, d);
    khash_free(h);
    hex_encode(d, 16, out);
    out[32] = 0;
}

/* The whole content of m (resolved), read through the range reader. */
static uint8_t *read_all(fx *f, const obj_meta *m) {
    uint8_t *got = malloc(m->size ? m->size : 1);
    read_range(f, m, 0, m->size, got);
    return got;
}

static void put_acl(fx *f, const bucket_info *b, const char *key, const void *body, size_t n,
                    uint8_t acl, const obj_attr *attrs, uint32_t nattrs, obj_meta *out) {
    obj_put_opts o = {.size = n, .acl = acl, .attrs = attrs, .nattrs = nattrs};
    obj_put *p;
    assert_int_equal(objsvc_put_begin(f->svc, f->a, b, key, strlen(key), &o, &p), K_OK);
    if (n) assert_int_equal(objsvc_put_write(p, body, n), K_OK);
    assert_int_equal(objsvc_put_finish(p, NULL, out), K_OK);
}

static kerr slo_put(fx *f, const principal *p, const bucket_info *b, const char *key,
                    const obj_slo_in *in, uint32_t n, const char *want, obj_meta *out,
                    obj_slo_problem **errs) {
    obj_attr ct = {"content-type", "video/mp4"};
    return objsvc_slo_put(f->svc, f->a, p, b, key, strlen(key), in, n, &ct, 1, ACL_PRIVATE, want,
                          out, errs);
}

static void open_as(fx *f, const principal *p, const char *bucket, const char *key, kerr want,
                    obj_meta *out) {
    bucket_info b;
    assert_int_equal(objsvc_bucket_open(f->svc, f->a, p, bucket, BUCKET_LOOKUP, &b), K_OK);
    assert_int_equal(objsvc_object_open(f->svc, f->a, p, &b, key, strlen(key), out), want);
}

/* Segments in two buckets (one with a Swift-only name), a ranged one; the
 * content read whole and by ranges across pieces; a nested SLO with a
 * range into the inner one; copies of resolved SLOs. */
static void slo_put_read_copy(void **state) {
    fx *f = *state;
    bucket_info sa = make_bucket(f, "segs-a", ACL_PRIVATE);
    assert_int_equal(objsvc_container_create(f->svc, alice(), "lo segments_2", NULL), K_OK);
    bucket_info sb;
    assert_int_equal(objsvc_bucket_open(f->svc, f->a, alice(), "lo segments_2", BUCKET_OWNER, &sb),
                     K_OK);
    bucket_info lo = make_bucket(f, "los", ACL_PRIVATE);
    const size_t na = 70000, nb = 100, nc = 300000, nd = 1, ne = 10;
    uint8_t *A = pattern(na, 1), *B = pattern(nb, 2), *C = pattern(nc, 3), *D = pattern(nd, 4),
            *E = pattern(ne, 5);
    obj_meta ma, mb, mc, md, me;
    put_object(f, &sa, "s1", A, na, false, &ma);
    put_object(f, &sb, "s2", B, nb, false, &mb);
    put_object(f, &sa, "s3", C, nc, true, &mc); /* unknown length: several storage segments */
    put_object(f, &sb, "s4", D, nd, false, &md);
    put_object(f, &sa, "e", E, ne, false, &me);

    obj_slo_in in[4] = {
        {.bucket = "segs-a", .key = "s1", .klen = 2, .etag = ma.etag, .size = na},
        {.bucket = "lo segments_2", .key = "s2", .klen = 2, .size = UINT64_MAX},
        {.bucket = "segs-a", .key = "s3", .klen = 2, .size = nc, .range = "1000-199999"},
        {.bucket = "lo segments_2", .key = "s4", .klen = 2, .etag = md.etag, .size = UINT64_MAX},
    };
    obj_meta big;
    obj_slo_problem *errs = NULL;
    assert_int_equal(slo_put(f, alice(), &lo, "big", in, 4, NULL, &big, &errs), K_OK);
    assert_non_null(errs);
    for (int i = 0; i < 4; i++) assert_int_equal(errs[i], SLO_SEG_OK);
    const size_t nbig = na + nb + 199000 + nd;
    char want[33];
    const char *parts[] = {ma.etag, mb.etag, mc.etag, ":1000-199999;", md.etag};
    md5_hex_of(parts, 5, want);
    assert_string_equal(big.etag, want);
    assert_true(big.size == nbig);
    assert_int_equal(big.large, OBJ_LARGE_SLO);
    uint8_t *content = malloc(nbig);
    memcpy(content, A, na);
    memcpy(content + na, B, nb);
    memcpy(content + na + nb, C + 1000, 199000);
    memcpy(content + na + nb + 199000, D, nd);

    /* the manifest itself: its record keeps the list and the content's
     * size and ETag */
    obj_meta h;
    assert_int_equal(objsvc_head(f->svc, f->a, &lo, "big", 3, &h), K_OK);
    assert_int_equal(h.large, OBJ_LARGE_SLO);
    assert_int_equal(h.nslo, 4);
    assert_true(h.size == nbig);
    assert_string_equal(h.etag, want);
    assert_string_equal(h.slo[1].bucket, "lo segments_2");
    assert_true(h.slo[2].has_range && h.slo[2].first == 1000 && h.slo[2].last == 199999);
    assert_false(h.slo[0].has_range);
    assert_int_equal(h.npieces, 0);
    obj_meta man;
    assert_int_equal(objsvc_object_open_manifest(f->svc, f->a, alice(), &lo, "big", 3, &man), K_OK);
    assert_int_equal(man.large, OBJ_LARGE_SLO);
    assert_int_equal(man.npieces, 0);
    obj_reader *r;
    assert_int_equal(objsvc_reader_open(f->svc, &man, 0, 1, &r), K_EINVAL);

    /* the content */
    obj_meta m;
    assert_int_equal(objsvc_object_open(f->svc, f->a, alice(), &lo, "big", 3, &m), K_OK);
    assert_true(m.size == nbig);
    assert_string_equal(m.etag, want);
    assert_true(m.npieces >= 4);
    uint8_t *got = read_all(f, &m);
    assert_memory_equal(got, content, nbig);
    /* ranges across each boundary between pieces, inside the ranged
     * segment, and the last byte alone */
    const uint64_t bounds[] = {na, na + nb, na + nb + 199000};
    for (size_t i = 0; i < 3; i++) {
        for (uint64_t before = 1; before <= 7; before += 6) {
            uint64_t off = bounds[i] - before, len = before + 3;
            if (off + len > nbig) len = nbig - off;
            memset(got, 0, nbig);
            read_range(f, &m, off, len, got);
            assert_memory_equal(got, content + off, len);
        }
    }
    read_range(f, &m, na + nb + 5, 150000, got);
    assert_memory_equal(got, content + na + nb + 5, 150000);
    read_range(f, &m, 10, nbig - 11, got);
    assert_memory_equal(got, content + 10, nbig - 11);
    read_range(f, &m, nbig - 1, 1, got);
    assert_int_equal(got[0], D[0]);
    assert_int_equal(objsvc_reader_open(f->svc, &m, nbig, 1, &r), K_EINVALIDRANGE);
    /* a reader read forwards past a piece, then backwards into it again */
    assert_int_equal(objsvc_reader_open(f->svc, &m, 0, nbig, &r), K_OK);
    uint8_t buf[64];
    assert_int_equal(objsvc_reader_read(r, na + nb + 10, buf, 20), 20);
    assert_memory_equal(buf, content + na + nb + 10, 20);
    assert_int_equal(objsvc_reader_read(r, na - 4, buf, 4), 4);
    assert_memory_equal(buf, content + na - 4, 4);
    assert_int_equal(objsvc_reader_read(r, 3, buf, 5), 5);
    assert_memory_equal(buf, content + 3, 5);
    objsvc_reader_close(r);

    /* a nested SLO: a small object, then a range of "big" across three of
     * its segments (A's end, all of B, C's start) */
    obj_slo_in in2[2] = {
        {.bucket = "segs-a", .key = "e", .klen = 1, .size = UINT64_MAX},
        {.bucket = "los",
         .key = "big",
         .klen = 3,
         .etag = want,
         .size = nbig,
         .range = "69990-70209"},
    };
    obj_meta outer;
    assert_int_equal(slo_put(f, alice(), &lo, "outer", in2, 2, NULL, &outer, &errs), K_OK);
    const char *parts2[] = {me.etag, want, ":69990-70209;"};
    char want2[33];
    md5_hex_of(parts2, 3, want2);
    assert_string_equal(outer.etag, want2);
    assert_true(outer.size == ne + 220);
    assert_int_equal(objsvc_head(f->svc, f->a, &lo, "outer", 5, &h), K_OK);
    assert_true(h.slo[1].sub_slo);
    assert_false(h.slo[0].sub_slo);
    obj_meta mo;
    assert_int_equal(objsvc_object_open(f->svc, f->a, alice(), &lo, "outer", 5, &mo), K_OK);
    assert_true(mo.size == ne + 220);
    uint8_t *ocontent = malloc(ne + 220);
    memcpy(ocontent, E, ne);
    memcpy(ocontent + ne, content + 69990, 220);
    uint8_t *ogot = read_all(f, &mo);
    assert_memory_equal(ogot, ocontent, ne + 220);
    read_range(f, &mo, ne + 5, 120, ogot);
    assert_memory_equal(ogot, ocontent + ne + 5, 120);

    /* copies of resolved SLOs are ordinary objects with the same bytes */
    obj_put_opts o = {.size = mo.size};
    obj_put *p;
    assert_int_equal(objsvc_put_begin(f->svc, f->a, &lo, "outer-copy", 10, &o, &p), K_OK);
    assert_int_equal(objsvc_put_copy(p, &mo, 0, mo.size), K_OK);
    obj_meta cm;
    assert_int_equal(objsvc_put_finish(p, NULL, &cm), K_OK);
    assert_int_equal(cm.large, OBJ_LARGE_NONE);
    obj_meta cm2;
    assert_int_equal(objsvc_object_open(f->svc, f->a, alice(), &lo, "outer-copy", 10, &cm2), K_OK);
    assert_true(cm2.size == ne + 220);
    assert_int_equal(cm2.npieces, 0);
    uint8_t *cgot = read_all(f, &cm2);
    assert_memory_equal(cgot, ocontent, ne + 220);
    free(cgot);
    /* a part of big across pieces */
    const uint64_t coff = na - 100, clen = 300 + 150000;
    o.size = clen;
    assert_int_equal(objsvc_put_begin(f->svc, f->a, &lo, "big-part", 8, &o, &p), K_OK);
    assert_int_equal(objsvc_put_copy(p, &m, coff, clen), K_OK);
    assert_int_equal(objsvc_put_finish(p, NULL, &cm), K_OK);
    assert_int_equal(objsvc_object_open(f->svc, f->a, alice(), &lo, "big-part", 8, &cm2), K_OK);
    cgot = read_all(f, &cm2);
    assert_memory_equal(cgot, content + coff, clen);
    free(cgot);
    /* and the whole of big */
    o.size = nbig;
    assert_int_equal(objsvc_put_begin(f->svc, f->a, &lo, "big-copy", 8, &o, &p), K_OK);
    assert_int_equal(objsvc_put_copy(p, &m, 0, nbig), K_OK);
    assert_int_equal(objsvc_put_finish(p, NULL, &cm), K_OK);
    assert_int_equal(objsvc_object_open(f->svc, f->a, alice(), &lo, "big-copy", 8, &cm2), K_OK);
    cgot = read_all(f, &cm2);
    assert_memory_equal(cgot, content, nbig);
    free(cgot);
    assert_int_equal(objsvc_put_begin(f->svc, f->a, &lo, "bad-copy", 8, &o, &p), K_OK);
    assert_int_equal(objsvc_put_copy(p, &m, 1, nbig), K_EINVALIDRANGE);
    objsvc_put_abort(p);

    /* a segment changed (or gone) after the put: 409, nothing streamed */
    put_object(f, &sb, "s2", C, nb, false, &mb);
    assert_int_equal(objsvc_object_open(f->svc, f->a, alice(), &lo, "big", 3, &m), K_ECONFLICT);
    /* the nested one reaches the changed segment through its range */
    assert_int_equal(objsvc_object_open(f->svc, f->a, alice(), &lo, "outer", 5, &m), K_ECONFLICT);
    /* the manifest itself is still there */
    assert_int_equal(objsvc_object_open_manifest(f->svc, f->a, alice(), &lo, "big", 3, &m), K_OK);
    put_object(f, &sb, "s2", B, nb, false, &mb); /* the same bytes again: the same ETag */
    assert_int_equal(objsvc_object_open(f->svc, f->a, alice(), &lo, "big", 3, &m), K_OK);
    free(got);
    got = read_all(f, &m);
    assert_memory_equal(got, content, nbig);
    assert_int_equal(objsvc_delete(f->svc, &sb, "s4", 2, NULL), K_OK);
    assert_int_equal(objsvc_object_open(f->svc, f->a, alice(), &lo, "big", 3, &m), K_ECONFLICT);
    /* a range that does not reach the gone segment is still fine */
    assert_int_equal(objsvc_object_open(f->svc, f->a, alice(), &lo, "outer", 5, &m), K_OK);

    free(ogot);
    free(ocontent);
    free(got);
    free(content);
    free(A);
    free(B);
    free(C);
    free(D);
    free(E);
}

/* What objsvc_slo_put refuses, segment by segment, and that nothing is
 * written then. */
static void slo_refusals(void **state) {
    fx *f = *state;
    bucket_info sa = make_bucket(f, "segs-a", ACL_PRIVATE);
    bucket_info lo = make_bucket(f, "los", ACL_PRIVATE);
    obj_meta m1, mz;
    uint8_t *body = pattern(5000, 9);
    put_object(f, &sa, "one", body, 5000, false, &m1);
    put_object(f, &sa, "zero", "", 0, false, &mz);
    obj_meta dlo;
    obj_attr dattr = {OBJ_ATTR_DLO, "segs-a/o"};
    put_acl(f, &sa, "a-dlo", "", 0, ACL_PRIVATE, &dattr, 1, &dlo);
    const obj_slo_in in[] = {
        {.bucket = "segs-a", .key = "one", .klen = 3, .size = UINT64_MAX},
        {.bucket = "segs-a", .key = "nope", .klen = 4, .size = UINT64_MAX},
        {.bucket = "no-such-bucket", .key = "one", .klen = 3, .size = UINT64_MAX},
        {.bucket = "segs-a",
         .key = "one",
         .klen = 3,
         .etag = "0123456789abcdef0123456789abcdef",
         .size = UINT64_MAX},
        {.bucket = "segs-a", .key = "one", .klen = 3, .size = 4999},
        {.bucket = "segs-a", .key = "one", .klen = 3, .size = UINT64_MAX, .range = "5000-"},
        {.bucket = "segs-a", .key = "one", .klen = 3, .size = UINT64_MAX, .range = "20-10"},
        {.bucket = "segs-a", .key = "one", .klen = 3, .size = UINT64_MAX, .range = "x-1"},
        {.bucket = "segs-a", .key = "one", .klen = 3, .size = UINT64_MAX, .range = "-0"},
        {.bucket = "segs-a", .key = "zero", .klen = 4, .size = UINT64_MAX},
        {.bucket = "segs-a", .key = "a-dlo", .klen = 5, .size = UINT64_MAX},
        {.bucket = "segs-a",
         .key = "one",
         .klen = 3,
         .etag = m1.etag,
         .size = 5000,
         .range = "-10"},
    };
    const obj_slo_problem want[] = {SLO_SEG_OK,
                                    SLO_SEG_NOT_FOUND,
                                    SLO_SEG_NOT_FOUND,
                                    SLO_SEG_ETAG_MISMATCH,
                                    SLO_SEG_SIZE_MISMATCH,
                                    SLO_SEG_BAD_RANGE,
                                    SLO_SEG_BAD_RANGE,
                                    SLO_SEG_BAD_RANGE,
                                    SLO_SEG_BAD_RANGE,
                                    SLO_SEG_TOO_SMALL,
                                    SLO_SEG_NOT_FOUND,
                                    SLO_SEG_OK};
    const uint32_t n = sizeof in / sizeof *in;
    obj_slo_problem *errs = NULL;
    obj_meta out;
    assert_int_equal(slo_put(f, alice(), &lo, "m", in, n, NULL, &out, &errs), K_EINVAL);
    assert_non_null(errs);
    for (uint32_t i = 0; i < n; i++)
        if (errs[i] != want[i]) fail_msg("segment %u: problem %d, want %d", i, errs[i], want[i]);
    obj_meta h;
    assert_int_equal(objsvc_head(f->svc, f->a, &lo, "m", 1, &h), K_ENOSUCHKEY);

    /* a zero-byte segment may end the list, and is then no content */
    const obj_slo_in tail[] = {in[0], in[9]};
    assert_int_equal(slo_put(f, alice(), &lo, "m", tail, 2, NULL, &out, &errs), K_OK);
    assert_true(out.size == 5000);
    const char *parts[] = {m1.etag, mz.etag};
    char etag[33];
    md5_hex_of(parts, 2, etag);
    assert_string_equal(out.etag, etag);
    assert_int_equal(objsvc_object_open(f->svc, f->a, alice(), &lo, "m", 1, &h), K_OK);
    uint8_t *got = read_all(f, &h);
    assert_memory_equal(got, body, 5000);
    free(got);

    /* the ETag the client expects: quoted or not, any case; else nothing
     * is written (the earlier "m" stays) */
    const obj_slo_in last10[] = {in[11]};
    const char *p10[] = {m1.etag, ":4990-4999;"};
    md5_hex_of(p10, 2, etag);
    assert_int_equal(
        slo_put(f, alice(), &lo, "m", last10, 1, "0123456789abcdef0123456789abcdef", &out, &errs),
        K_EBADDIGEST);
    assert_int_equal(objsvc_head(f->svc, f->a, &lo, "m", 1, &h), K_OK);
    assert_true(h.size == 5000);
    assert_int_equal(slo_put(f, alice(), &lo, "new", last10, 1, "nonsense", &out, &errs),
                     K_EBADDIGEST);
    assert_int_equal(objsvc_head(f->svc, f->a, &lo, "new", 3, &h), K_ENOSUCHKEY);
    char quoted[40], upper[33];
    snprintf(quoted, sizeof quoted, "\"%s\"", etag);
    for (int i = 0; i < 33; i++) upper[i] = (char)toupper((unsigned char)etag[i]);
    assert_int_equal(slo_put(f, alice(), &lo, "new", last10, 1, quoted, &out, &errs), K_OK);
    assert_string_equal(out.etag, etag);
    assert_true(out.size == 10);
    assert_int_equal(slo_put(f, alice(), &lo, "new2", last10, 1, upper, &out, &errs), K_OK);
    assert_int_equal(objsvc_object_open(f->svc, f->a, alice(), &lo, "new", 3, &h), K_OK);
    got = read_all(f, &h);
    assert_memory_equal(got, body + 4990, 10);
    free(got);

    /* segments another user may not read */
    principal bob = objsvc_principal(NULL, "bob");
    assert_int_equal(objsvc_bucket_create(f->svc, &bob, "bobs", NULL, ACL_PRIVATE), K_OK);
    bucket_info bb;
    assert_int_equal(objsvc_bucket_open(f->svc, f->a, &bob, "bobs", BUCKET_WRITE, &bb), K_OK);
    assert_int_equal(slo_put(f, &bob, &bb, "m", in, 2, NULL, &out, &errs), K_EINVAL);
    assert_int_equal(errs[0], SLO_SEG_FORBIDDEN);
    assert_int_equal(errs[1], SLO_SEG_FORBIDDEN); /* bob may not even know it is absent */
    assert_int_equal(objsvc_head(f->svc, f->a, &bb, "m", 1, &h), K_ENOSUCHKEY);
    free(body);
}

/* Reading a large object needs the right to read every segment, wherever
 * it lives. */
static void lo_segment_access(void **state) {
    fx *f = *state;
    bucket_info sa = make_bucket(f, "segs-a", ACL_PRIVATE);
    bucket_info lo = make_bucket(f, "los", ACL_PRIVATE);
    obj_meta m1, m;
    put_object(f, &sa, "one", "hello", 5, false, &m1);
    put_object(f, &lo, "plain", "x", 1, false, &m);
    const obj_slo_in in[] = {{.bucket = "segs-a", .key = "one", .klen = 3, .size = UINT64_MAX}};
    obj_slo_problem *errs;
    assert_int_equal(slo_put(f, alice(), &lo, "slo", in, 1, NULL, &m, &errs), K_OK);
    obj_attr dattr = {OBJ_ATTR_DLO, "segs-a/on"};
    put_acl(f, &lo, "dlo", "", 0, ACL_PRIVATE, &dattr, 1, &m);
    assert_int_equal(objsvc_bucket_set_grants(f->svc, "los", "bob", NULL), K_OK);
    principal bob = objsvc_principal(NULL, "bob");
    /* bob reads lo's objects (the grant works) and the manifests */
    open_as(f, &bob, "los", "plain", K_OK, &m);
    bucket_info blo;
    assert_int_equal(objsvc_bucket_open(f->svc, f->a, &bob, "los", BUCKET_LOOKUP, &blo), K_OK);
    assert_int_equal(objsvc_object_open_manifest(f->svc, f->a, &bob, &blo, "slo", 3, &m), K_OK);
    assert_int_equal(objsvc_object_open_manifest(f->svc, f->a, &bob, &blo, "dlo", 3, &m), K_OK);
    /* but not the segments in segs-a */
    open_as(f, &bob, "los", "slo", K_EACCESSDENIED, &m);
    open_as(f, &bob, "los", "dlo", K_EACCESSDENIED, &m);
    /* nor does an anonymous caller */
    principal anon = objsvc_principal(NULL, NULL);
    open_as(f, &anon, "los", "slo", K_EACCESSDENIED, &m);
    /* alice does */
    open_as(f, alice(), "los", "slo", K_OK, &m);
    assert_true(m.size == 5);
    open_as(f, alice(), "los", "dlo", K_OK, &m);
    assert_true(m.size == 5);
    /* once segs-a's objects are readable to bob, so are the large ones */
    assert_int_equal(objsvc_bucket_set_grants(f->svc, "segs-a", "bob", NULL), K_OK);
    open_as(f, &bob, "los", "slo", K_OK, &m);
    uint8_t buf[5];
    read_range(f, &m, 0, 5, buf);
    assert_memory_equal(buf, "hello", 5);
    open_as(f, &bob, "los", "dlo", K_OK, &m);
    read_range(f, &m, 0, 5, buf);
    assert_memory_equal(buf, "hello", 5);
}

static void dlo_listed_segments(void **state) {
    fx *f = *state;
    bucket_info ds = make_bucket(f, "dlo-segs", ACL_PRIVATE);
    bucket_info lo = make_bucket(f, "los", ACL_PRIVATE);
    const char *names[] = {"part/010", "part/002", "part/001", "other/1", "part", "parts/1"};
    uint8_t *bodies[6];
    obj_meta ms[6];
    for (int i = 0; i < 6; i++) {
        size_t n = 1000 + (size_t)i * 70001;
        bodies[i] = pattern(n, (unsigned)(20 + i));
        put_object(f, &ds, names[i], bodies[i], n, false, &ms[i]);
    }
    const size_t n001 = 1000 + 2 * 70001, n002 = 1000 + 70001, n010 = 1000;
    obj_attr dattr[] = {{"content-type", "text/plain"}, {OBJ_ATTR_DLO, "dlo-segs/part/"}};
    obj_meta man;
    put_acl(f, &lo, "movie", "manifest bytes", 14, ACL_PRIVATE, dattr, 2, &man);
    obj_attr dattr2 = {OBJ_ATTR_DLO, "dlo%2Dsegs/part%2F"}; /* percent-encoded */
    put_acl(f, &lo, "movie2", "", 0, ACL_PRIVATE, &dattr2, 1, &man);
    assert_int_equal(objsvc_head(f->svc, f->a, &lo, "movie2", 6, &man), K_OK);
    assert_int_equal(man.large, OBJ_LARGE_DLO);

    const char *parts[] = {ms[2].etag, ms[1].etag, ms[0].etag};
    char etag[33];
    md5_hex_of(parts, 3, etag);
    size_t total = n001 + n002 + n010;
    uint8_t *content = malloc(total + 5000);
    memcpy(content, bodies[2], n001);
    memcpy(content + n001, bodies[1], n002);
    memcpy(content + n001 + n002, bodies[0], n010);
    for (int k = 0; k < 2; k++) {
        const char *key = k ? "movie2" : "movie";
        obj_meta m;
        assert_int_equal(objsvc_object_open(f->svc, f->a, alice(), &lo, key, strlen(key), &m),
                         K_OK);
        assert_int_equal(m.large, OBJ_LARGE_DLO);
        assert_true(m.size == total);
        assert_string_equal(m.etag, etag);
        uint8_t *got = read_all(f, &m);
        assert_memory_equal(got, content, total);
        read_range(f, &m, n001 - 3, 6, got);
        assert_memory_equal(got, content + n001 - 3, 6);
        free(got);
    }
    /* the manifest alone: its own bytes */
    obj_meta h;
    assert_int_equal(objsvc_object_open_manifest(f->svc, f->a, alice(), &lo, "movie", 5, &h), K_OK);
    assert_true(h.size == 14);
    assert_int_equal(h.npieces, 0);
    uint8_t mb[14];
    read_range(f, &h, 0, 14, mb);
    assert_memory_equal(mb, "manifest bytes", 14);

    /* a new segment appears at the next open, in its place by name */
    uint8_t *b005 = pattern(5000, 77);
    obj_meta m005;
    put_object(f, &ds, "part/005", b005, 5000, false, &m005);
    memmove(content + n001 + n002 + 5000, content + n001 + n002, n010);
    memcpy(content + n001 + n002, b005, 5000);
    total += 5000;
    const char *parts2[] = {ms[2].etag, ms[1].etag, m005.etag, ms[0].etag};
    md5_hex_of(parts2, 4, etag);
    obj_meta m;
    assert_int_equal(objsvc_object_open(f->svc, f->a, alice(), &lo, "movie", 5, &m), K_OK);
    assert_true(m.size == total);
    assert_string_equal(m.etag, etag);
    uint8_t *got = read_all(f, &m);
    assert_memory_equal(got, content, total);
    free(got);

    /* no segment at all: empty content, the MD5 of nothing */
    obj_attr none = {OBJ_ATTR_DLO, "dlo-segs/zzz"};
    put_acl(f, &lo, "empty", "", 0, ACL_PRIVATE, &none, 1, &man);
    assert_int_equal(objsvc_object_open(f->svc, f->a, alice(), &lo, "empty", 5, &m), K_OK);
    assert_true(m.size == 0);
    assert_string_equal(m.etag, "d41d8cd98f00b204e9800998ecf8427e");
    obj_reader *r;
    assert_int_equal(objsvc_reader_open(f->svc, &m, 0, 0, &r), K_OK);
    uint8_t one;
    assert_int_equal(objsvc_reader_read(r, 0, &one, 1), 0);
    objsvc_reader_close(r);

    free(b005);
    free(content);
    for (int i = 0; i < 6; i++) free(bodies[i]);
}

/* A DLO whose segments include an SLO whose own segments live in another
 * owner's bucket: every segment after it is still judged against the DLO's
 * container. */
static void dlo_with_slo_segment(void **state) {
    fx *f = *state;
    bucket_info ds = make_bucket(f, "dlo-segs", ACL_PRIVATE);
    bucket_info lo = make_bucket(f, "los", ACL_PRIVATE);
    principal bob = objsvc_principal(NULL, "bob");
    assert_int_equal(objsvc_bucket_create(f->svc, &bob, "bob-segs", NULL, ACL_PRIVATE), K_OK);
    bucket_info bs;
    assert_int_equal(objsvc_bucket_open(f->svc, f->a, &bob, "bob-segs", BUCKET_OWNER, &bs), K_OK);
    obj_meta x, m1, m3, s2;
    put_acl(f, &bs, "x", "bobs bytes", 10, ACL_PUBLIC_READ, NULL, 0, &x);
    put_object(f, &ds, "p/1", "first ", 6, false, &m1);
    const obj_slo_in in[] = {{.bucket = "bob-segs", .key = "x", .klen = 1, .size = UINT64_MAX}};
    obj_slo_problem *errs;
    assert_int_equal(slo_put(f, alice(), &ds, "p/2", in, 1, NULL, &s2, &errs), K_OK);
    put_object(f, &ds, "p/3", " last", 5, false, &m3); /* private: alice's own */
    obj_attr dattr = {OBJ_ATTR_DLO, "dlo-segs/p/"};
    obj_meta man, m;
    put_acl(f, &lo, "d", "", 0, ACL_PRIVATE, &dattr, 1, &man);
    assert_int_equal(objsvc_object_open(f->svc, f->a, alice(), &lo, "d", 1, &m), K_OK);
    assert_true(m.size == 21);
    const char *parts[] = {m1.etag, s2.etag, m3.etag};
    char etag[33];
    md5_hex_of(parts, 3, etag);
    assert_string_equal(m.etag, etag);
    uint8_t got[21];
    read_range(f, &m, 0, 21, got);
    assert_memory_equal(got, "first bobs bytes last", 21);
}

static void container_names(void **state) {
    fx *f = *state;
    char n256[258], n257[258];
    memset(n256, 'c', 256);
    n256[256] = 0;
    memset(n257, 'c', 257);
    n257[257] = 0;
    assert_true(objsvc_container_name_valid(n256));
    assert_false(objsvc_container_name_valid(n257));
    const char *ok[] = {"a_b C",       "a",       "NAME_segments",
                        "caf\xc3\xa9", "x.y-z~!", "\xf0\x9f\x98\x80"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        if (!objsvc_container_name_valid(ok[i])) fail_msg("'%s' refused", ok[i]);
    const char *bad[] = {"",      "a/b",  "/",       "a\tb",     "a\nb",        "\x01",
                         "x\x7f", "\xff", "caf\xc3", "\xc0\xaf", "\xed\xa0\x80"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (objsvc_container_name_valid(bad[i])) fail_msg("'%s' accepted", bad[i]);
    /* 256 bytes of multi-byte UTF-8 count by bytes */
    char u[260];
    for (int i = 0; i < 128; i++) memcpy(u + 2 * i, "\xc3\xa9", 2);
    u[256] = 0;
    assert_true(objsvc_container_name_valid(u));
    memcpy(u + 254, "\xe2\x82\xac", 3); /* 257 bytes */
    u[257] = 0;
    assert_false(objsvc_container_name_valid(u));

    principal anon = objsvc_principal(NULL, NULL);
    assert_int_equal(objsvc_container_create(f->svc, &anon, "a_b C", NULL), K_EACCESSDENIED);
    assert_int_equal(objsvc_container_create(f->svc, alice(), n257, NULL), K_EINVALIDBUCKETNAME);
    assert_int_equal(objsvc_container_create(f->svc, alice(), "a/b", NULL), K_EINVALIDBUCKETNAME);
    assert_int_equal(objsvc_container_create(f->svc, alice(), "a_b C", NULL), K_OK);
    assert_int_equal(objsvc_container_create(f->svc, alice(), n256, NULL), K_OK);
    bucket_info b;
    assert_int_equal(objsvc_bucket_open(f->svc, f->a, alice(), "a_b C", BUCKET_OWNER, &b), K_OK);
    assert_string_equal(b.owner, "alice");
    assert_int_equal(b.acl, ACL_PRIVATE);
    assert_int_equal(objsvc_bucket_open(f->svc, f->a, alice(), n256, BUCKET_OWNER, &b), K_OK);
    /* taken names answer as for buckets */
    principal bob = objsvc_principal(NULL, "bob");
    assert_int_equal(objsvc_container_create(f->svc, &bob, "a_b C", NULL), K_EBUCKETEXISTS);
    assert_int_equal(objsvc_container_create(f->svc, alice(), "a_b C", NULL), K_EBUCKETOWNED);
    /* S3's rules stay S3's */
    assert_false(objsvc_bucket_name_valid("a_b C"));
}

/* S3 tagging: the tag rules, and tag sets kept in object, upload and
 * bucket records. */
static void tag_rules(void **state) {
    (void)state;
    const char *why, *bad;
    obj_attr ok[] = {
        {"a", ""}, {"K +-=._:/@", "v"}, {"\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87", "\xe5\x80\xa4"}};
    assert_int_equal(objsvc_tags_check(ok, 3, OBJ_MAX_TAGS, &why, &bad), K_OK);
    assert_null(why);
    obj_attr many[51];
    char names[51][8];
    for (int i = 0; i < 51; i++) {
        snprintf(names[i], sizeof names[i], "k%d", i);
        many[i] = (obj_attr){names[i], "v"};
    }
    assert_int_equal(objsvc_tags_check(many, 10, OBJ_MAX_TAGS, &why, &bad), K_OK);
    assert_int_equal(objsvc_tags_check(many, 11, OBJ_MAX_TAGS, &why, &bad), K_ETOOMANYTAGS);
    assert_int_equal(objsvc_tags_check(many, 50, BUCKET_MAX_TAGS, &why, &bad), K_OK);
    assert_int_equal(objsvc_tags_check(many, 51, BUCKET_MAX_TAGS, &why, &bad), K_ETOOMANYTAGS);
    char k128[129], k129[130], v256[257], v257[258];
    memset(k128, 'k', 128), k128[128] = 0;
    memset(k129, 'k', 129), k129[129] = 0;
    memset(v256, 'v', 256), v256[256] = 0;
    memset(v257, 'v', 257), v257[257] = 0;
    /* 64 astral letters are 128 UTF-16 units (U+10400 DESERET CAPITAL LONG I) */
    char astral65[65 * 4 + 1] = "";
    for (int i = 0; i < 65; i++) strcat(astral65, "\xf0\x90\x90\x80");
    struct {
        const char *k, *v, *why;
    } cases[] = {
        {k128, v256, NULL},
        {astral65 + 4, "", NULL},
        {k129, "", "The TagKey you have provided is invalid"},
        {astral65, "", "The TagKey you have provided is invalid"},
        {"k", v257, "The TagValue you have provided is invalid"},
        {"", "v", "The TagKey you have provided is invalid"},
        {"a!b", "v", "The TagKey you have provided is invalid"},
        {"a\tb", "v", "The TagKey you have provided is invalid"},
        {"k", "\xe2\x82\xac", "The TagValue you have provided is invalid"}, /* a currency sign */
        {"k", "\xf0\x9f\x98\x80", "The TagValue you have provided is invalid"}, /* an emoji */
        {"k", "\xff", "The TagValue you have provided is invalid"},
        {"aws:x", "v", "Your TagKey cannot be prefixed with aws:"},
        {"AWS:x", "v", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        obj_attr t = {(char *)cases[i].k, (char *)cases[i].v};
        kerr e = objsvc_tags_check(&t, 1, OBJ_MAX_TAGS, &why, &bad);
        if (!cases[i].why) {
            assert_int_equal(e, K_OK);
            continue;
        }
        assert_int_equal(e, K_EINVALIDTAG);
        assert_string_equal(why, cases[i].why);
        assert_string_equal(bad, cases[i].k);
    }
    obj_attr dup[] = {{"a", "1"}, {"b", "2"}, {"a", "3"}};
    assert_int_equal(objsvc_tags_check(dup, 3, OBJ_MAX_TAGS, &why, &bad), K_EINVALIDTAG);
    assert_string_equal(why, "Cannot provide multiple Tags with the same key");
    assert_string_equal(bad, "a");
}

static void object_and_bucket_tags(void **state) {
    fx *f = *state;
    bucket_info b = make_bucket(f, "tags", ACL_PRIVATE);
    obj_attr t1[] = {{"a", "1"}, {"b", ""}};
    obj_put_opts o = {.size = 3, .tags = t1, .ntags = 2};
    obj_put *p;
    assert_int_equal(objsvc_put_begin(f->svc, f->a, &b, "obj", 3, &o, &p), K_OK);
    assert_int_equal(objsvc_put_write(p, "abc", 3), K_OK);
    obj_meta m, got;
    assert_int_equal(objsvc_put_finish(p, NULL, &m), K_OK);
    assert_int_equal(objsvc_head(f->svc, f->a, &b, "obj", 3, &got), K_OK);
    assert_int_equal(got.ntags, 2);
    assert_string_equal(got.tags[1].name, "b");
    /* replacing the tag set keeps data, ETag and Last-Modified */
    obj_attr t2[] = {{"c", "3"}};
    obj_meta after;
    assert_int_equal(objsvc_set_tags(f->svc, f->a, &b, "obj", 3, t2, 1, &after), K_OK);
    assert_int_equal(objsvc_head(f->svc, f->a, &b, "obj", 3, &got), K_OK);
    assert_int_equal(got.ntags, 1);
    assert_string_equal(got.tags[0].name, "c");
    assert_string_equal(got.etag, m.etag);
    assert_true(got.mtime_ms == m.mtime_ms);
    /* attribute updates (PutObjectAcl, Swift POST) keep the tags */
    assert_int_equal(
        objsvc_update_attrs(f->svc, f->a, &b, "obj", 3, NULL, 0, ACL_PUBLIC_READ, NULL, &after),
        K_OK);
    assert_int_equal(objsvc_head(f->svc, f->a, &b, "obj", 3, &got), K_OK);
    assert_int_equal(got.ntags, 1);
    assert_int_equal(objsvc_update_attrs_tags(f->svc, f->a, &b, "obj", 3, NULL, 0, ACL_PRIVATE, t1,
                                              2, NULL, &after),
                     K_OK);
    assert_int_equal(objsvc_head(f->svc, f->a, &b, "obj", 3, &got), K_OK);
    assert_int_equal(got.ntags, 2);
    /* the service refuses what the rules refuse, and changes nothing */
    obj_attr bad[] = {{"aws:x", "1"}};
    assert_int_equal(objsvc_set_tags(f->svc, f->a, &b, "obj", 3, bad, 1, &after), K_EINVALIDTAG);
    o.tags = bad;
    o.ntags = 1;
    assert_int_equal(objsvc_put_begin(f->svc, f->a, &b, "obj2", 4, &o, &p), K_EINVALIDTAG);
    char id[33];
    assert_int_equal(objsvc_mpu_create(f->svc, f->a, &b, "mp", 2, NULL, 0, bad, 1, ACL_PRIVATE,
                                       CK_NONE, CKTYPE_NONE, "alice", id),
                     K_EINVALIDTAG);
    assert_int_equal(objsvc_head(f->svc, f->a, &b, "obj", 3, &got), K_OK);
    assert_int_equal(got.ntags, 2);
    /* removing every tag; a missing key */
    assert_int_equal(objsvc_set_tags(f->svc, f->a, &b, "obj", 3, NULL, 0, &after), K_OK);
    assert_int_equal(objsvc_head(f->svc, f->a, &b, "obj", 3, &got), K_OK);
    assert_int_equal(got.ntags, 0);
    assert_int_equal(objsvc_set_tags(f->svc, f->a, &b, "none", 4, t2, 1, &after), K_ENOSUCHKEY);
    /* an upload's tags reach its object */
    assert_int_equal(objsvc_mpu_create(f->svc, f->a, &b, "mp", 2, NULL, 0, t1, 2, ACL_PRIVATE,
                                       CK_NONE, CKTYPE_NONE, "alice", id),
                     K_OK);
    upload_info u;
    assert_int_equal(objsvc_mpu_get(f->svc, f->a, &b, id, &u), K_OK);
    assert_int_equal(objsvc_part_begin(f->svc, f->a, &b, &u, 1, 2, &p), K_OK);
    assert_int_equal(objsvc_put_write(p, "xy", 2), K_OK);
    obj_meta pm;
    assert_int_equal(objsvc_put_finish(p, NULL, &pm), K_OK);
    mpu_complete_part cp = {.number = 1};
    hex_decode(pm.etag, 32, cp.md5, 16);
    assert_int_equal(objsvc_mpu_complete(f->svc, f->a, &b, &u, &cp, 1, NULL, &m), K_OK);
    assert_int_equal(objsvc_head(f->svc, f->a, &b, "mp", 2, &got), K_OK);
    assert_int_equal(got.ntags, 2);
    assert_string_equal(got.tags[0].name, "a");
    /* bucket tags */
    bucket_info bb;
    assert_int_equal(objsvc_bucket_set_tags(f->svc, "tags", t1, 2), K_OK);
    assert_int_equal(objsvc_bucket_open(f->svc, f->a, alice(), "tags", BUCKET_OWNER, &bb), K_OK);
    assert_int_equal(bb.ntags, 2);
    assert_int_equal(objsvc_bucket_set_tags(f->svc, "tags", bad, 1), K_EINVALIDTAG);
    assert_int_equal(objsvc_bucket_set_tags(f->svc, "tags", NULL, 0), K_OK);
    assert_int_equal(objsvc_bucket_open(f->svc, f->a, alice(), "tags", BUCKET_OWNER, &bb), K_OK);
    assert_int_equal(bb.ntags, 0);
    assert_int_equal(objsvc_bucket_set_tags(f->svc, "nobucket", t1, 1), K_ENOSUCHBUCKET);
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
        cmocka_unit_test_setup_teardown(expiry_sweep, setup, teardown),
        cmocka_unit_test_setup_teardown(slo_put_read_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(slo_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(lo_segment_access, setup, teardown),
        cmocka_unit_test_setup_teardown(dlo_listed_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(dlo_with_slo_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(container_names, setup, teardown),
        cmocka_unit_test(tag_rules),
        cmocka_unit_test_setup_teardown(object_and_bucket_tags, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
