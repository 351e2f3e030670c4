/* SPDX-License-Identifier: Apache-2.0 */
#include "gateway/objsvc.h"
#include "gateway/objsvc_data.h"

#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/text.h"
#include "storage/data.h" /* before objsvc_records.h, which holds its keys */
#include "gateway/objsvc_records.h"
#include "meta/kv.h"
#include "meta/radix.h"

/* Two stores: the registry (global records: buckets and the per-owner
 * bucket trees) and the member store (this bucket's cluster: objects,
 * uploads, parts and their trees). Today both are the one kv the gateway
 * opened; the router will point them at different stores. */
struct objsvc {
    kv *reg;
    radix *reg_tree; /* == tree when reg == meta */
    kv *meta;        /* member store */
    radix *tree;
    data_layer *data;
    uint64_t home;
};

/* ------------------------------------------------------------------ keys */

enum { NS_MAX = 1 + 1024 };

typedef struct keybuf {
    uint8_t b[2 + 8 + 1024 + 1 + 32 + 4];
    size_t n;
} keybuf;

static void kb_start(keybuf *k, char tag) {
    k->b[0] = (uint8_t)tag;
    k->n = 1;
}
static void kb_add(keybuf *k, const void *p, size_t n) {
    if (k->n + n > sizeof k->b) abort(); /* callers bound every part */
    memcpy(k->b + k->n, p, n);
    k->n += n;
}
static void kb_str(keybuf *k, const char *s) {
    kb_add(k, s, strlen(s));
}

static void random_hex(char *out, size_t bytes) {
    uint8_t r[32];
    if (RAND_bytes(r, (int)bytes) != 1) abort();
    hex_encode(r, bytes, out);
}

kerr objsvc_open(kv *registry, kv *member, data_layer *data, objsvc **out) {
    objsvc *s = calloc(1, sizeof *s);
    if (!s) return K_ENOMEM;
    s->reg = registry;
    s->meta = member;
    s->data = data;
    s->tree = radix_new(member);
    s->reg_tree = registry == member ? s->tree : radix_new(registry);
    if (!s->tree || !s->reg_tree) {
        objsvc_close(s);
        return K_ENOMEM;
    }
    *out = s;
    return K_OK;
}

void objsvc_close(objsvc *s) {
    if (!s) return;
    if (s->reg_tree && s->reg_tree != s->tree) radix_free(s->reg_tree);
    if (s->tree) radix_free(s->tree);
    free(s);
}

void objsvc_set_home(objsvc *s, uint64_t home) {
    s->home = home;
}

/* ---------------------------------------------------------------- access
 * Every decision about who may do what is made in this section, so that the
 * S3 and Swift front ends share it rather than copy it. */

principal objsvc_principal_roles(arena *a, const char *user, bool admin) {
    principal p = {.kind = PRINCIPAL_ANONYMOUS};
    if (!user) return p;
    p.kind = !strcmp(user, "root") ? PRINCIPAL_ROOT : PRINCIPAL_USER;
    p.user = user;
    p.account = user;
    p.admin = true;
    const char *colon = strchr(user, ':');
    if (colon && colon > user && a) {
        p.account = arena_strndup(a, user, (size_t)(colon - user));
        p.admin = admin || p.kind == PRINCIPAL_ROOT;
    }
    return p;
}

principal objsvc_principal(arena *a, const char *user) {
    return objsvc_principal_roles(a, user, true);
}

principal objsvc_principal_for(const char *user, const char *account) {
    principal p = {.kind = PRINCIPAL_ANONYMOUS};
    if (!user || !account) return p;
    p.kind = !strcmp(user, "root") ? PRINCIPAL_ROOT : PRINCIPAL_USER;
    p.user = user;
    p.account = account;
    p.admin = true;
    return p;
}

/* p owns b: root owns everything, a user the buckets of its account. */
static bool owns(const principal *p, const bucket_info *b) {
    if (p->kind == PRINCIPAL_ROOT) return true;
    return p->kind == PRINCIPAL_USER && p->admin && p->account && !strcmp(p->account, b->owner);
}

bool objsvc_bucket_owned(const principal *p, const bucket_info *b) {
    return owns(p, b);
}

/* p acts for account: its own users, and root. */
static bool owns_account(const principal *p, const char *account) {
    if (p->kind == PRINCIPAL_ROOT) return true;
    return p->kind == PRINCIPAL_USER && p->admin && p->account && !strcmp(p->account, account);
}

/* Whether the grant list (comma-separated, normalized by
 * objsvc_grants_normalize) holds entry word of n bytes. */
static bool grants_have_n(const char *grants, size_t glen, const char *word, size_t n) {
    if (!grants || !glen) return false;
    const char *g = grants, *stop = grants + glen;
    while (g < stop) {
        const char *end = memchr(g, ',', (size_t)(stop - g));
        size_t len = end ? (size_t)(end - g) : (size_t)(stop - g);
        if (len == n && !memcmp(g, word, n)) return true;
        if (!end) break;
        g = end + 1;
    }
    return false;
}

static bool grants_have(const char *grants, const char *word, size_t n) {
    return grants && grants_have_n(grants, strlen(grants), word, n);
}

/* The grant list names p: its user ("ACCOUNT:USER") or its account. */
static bool grants_name(const char *grants, const principal *p) {
    if (p->kind == PRINCIPAL_ANONYMOUS || !p->user) return false;
    return grants_have(grants, p->user, strlen(p->user)) ||
           (p->account && grants_have(grants, p->account, strlen(p->account)));
}

/* Anyone may read b's objects: ".r:*" in its read grants. */
static bool grants_anyone(const bucket_info *b) {
    return grants_have(b->read_grants, ".r:*", 4);
}

/* p may list b's objects: its owner, users its read grants name, and anyone
 * when its canned ACL says so or its read grants hold both ".r:*" and
 * ".rlistings". */
static bool may_list(const principal *p, const bucket_info *b) {
    return owns(p, b) || b->acl >= ACL_PUBLIC_READ || grants_name(b->read_grants, p) ||
           (grants_anyone(b) && grants_have(b->read_grants, ".rlistings", 10));
}

/* p may read object m of b: the bucket's owner, users its read grants name,
 * and anyone when the object's ACL says so (the bucket's canned ACL does
 * not reach its objects, as in S3) or the bucket's read grants hold ".r:*"
 * (Swift's public container). */
static bool may_read(const principal *p, const bucket_info *b, const obj_meta *m) {
    return owns(p, b) || m->acl >= ACL_PUBLIC_READ || grants_name(b->read_grants, p) ||
           grants_anyone(b);
}

/* p may write, overwrite and delete b's objects: its owner and the users its
 * write grants name. */
static bool may_write(const principal *p, const bucket_info *b) {
    return owns(p, b) || grants_name(b->write_grants, p);
}

kerr objsvc_grants_normalize(arena *a, const char *in, bool write, char **out) {
    kbuf b = KBUF_INIT;
    kerr e = K_OK;
    for (const char *g = in; g && *g && !e;) {
        const char *end = strchr(g, ',');
        const char *stop = end ? end : g + strlen(g);
        while (g < stop && (*g == ' ' || *g == '\t')) g++;
        const char *last = stop;
        while (last > g && (last[-1] == ' ' || last[-1] == '\t')) last--;
        size_t n = (size_t)(last - g);
        if (n) {
            if (*g == '.') {
                bool any = n == 4 && !memcmp(g, ".r:*", 4);
                bool listings = n == 10 && !memcmp(g, ".rlistings", 10);
                if (write && (any || listings || !strncmp(g, ".r:", 3)))
                    e = K_EINVAL; /* Swift: referrers are not allowed in a write ACL */
                else if (!any && !listings)
                    e = n > 3 && !strncmp(g, ".r:", 3) ? K_ENOTIMPL : K_EINVAL;
            } else if (memchr(g, '*', n) || n > 256) {
                e = K_EINVAL;
            } else {
                /* ACCOUNT or ACCOUNT:USER */
                const char *colon = memchr(g, ':', n);
                if (colon && (colon == g || colon == last - 1 ||
                              memchr(colon + 1, ':', (size_t)(last - colon - 1))))
                    e = K_EINVAL;
            }
            if (!e && !grants_have_n(b.data, b.len, g, n)) {
                if (b.len) kbuf_putc(&b, ',');
                kbuf_append(&b, g, n);
            }
        }
        if (!end) break;
        g = end + 1;
    }
    if (!e) *out = arena_strndup(a, b.data ? b.data : "", b.len);
    kbuf_free(&b);
    return e;
}

static kerr bucket_get(objsvc *s, arena *a, const char *name, bucket_info *out);
static bool obj_expired(const obj_meta *m, int64_t now_ms);
static kerr list_objects(objsvc *s, arena *a, const bucket_info *b, const obj_list_req *req,
                         bool with_expired, list_entry **out, size_t *n, bool *truncated);

kerr objsvc_bucket_open(objsvc *s, arena *a, const principal *p, const char *name,
                        bucket_access acc, bucket_info *out) {
    kerr e = bucket_get(s, a, name, out);
    if (e) return e;
    switch (acc) {
    case BUCKET_LOOKUP:
        return K_OK;
    case BUCKET_READ:
        return may_list(p, out) ? K_OK : K_EACCESSDENIED;
    case BUCKET_WRITE:
        return may_write(p, out) ? K_OK : K_EACCESSDENIED;
    case BUCKET_OWNER:
        return owns(p, out) ? K_OK : K_EACCESSDENIED;
    }
    return K_EACCESSDENIED;
}

/* --------------------------------------------------------------- buckets */

bool objsvc_bucket_name_valid(const char *name) {
    size_t n = strlen(name);
    if (n < 3 || n > 63) return false;
    int dots = 0, digits_only_labels = 0, labels = 1;
    bool label_digits = true;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool lower = c >= 'a' && c <= 'z', digit = c >= '0' && c <= '9';
        if (!(lower || digit || c == '-' || c == '.')) return false;
        if (c == '.') {
            if (i == 0 || name[i - 1] == '.' || name[i - 1] == '-' || name[i + 1] == '-')
                return false;
            dots++;
            labels++;
            if (label_digits) digits_only_labels++;
            label_digits = true;
        } else if (!digit) {
            label_digits = false;
        }
    }
    if (label_digits) digits_only_labels++;
    char first = name[0], last = name[n - 1];
    if (!((first >= 'a' && first <= 'z') || (first >= '0' && first <= '9'))) return false;
    if (!((last >= 'a' && last <= 'z') || (last >= '0' && last <= '9'))) return false;
    if (dots == 3 && labels == 4 && digits_only_labels == 4) return false; /* IP address form */
    if (!strncmp(name, "xn--", 4) || !strncmp(name, "sthree-", 7)) return false;
    if (n > 8 && !strcmp(name + n - 8, "-s3alias")) return false;
    if (n > 6 && !strcmp(name + n - 6, "--ol-s3")) return false;
    return true;
}

static void bucket_key(keybuf *k, const char *name) {
    kb_start(k, 'B');
    kb_str(k, name);
}

static void owner_ns(keybuf *k, const char *owner) {
    kb_start(k, 'b');
    size_t n = strlen(owner);
    kb_add(k, owner, n > 255 ? 255 : n);
}

kerr objsvc_bucket_create_check(const principal *p, const char *name) {
    if (p->kind == PRINCIPAL_ANONYMOUS || !p->account || !p->admin) return K_EACCESSDENIED;
    return objsvc_bucket_name_valid(name) ? K_OK : K_EINVALIDBUCKETNAME;
}

static kerr bucket_create(objsvc *s, const principal *p, const char *name, const char *region,
                          uint8_t acl);

kerr objsvc_bucket_create(objsvc *s, const principal *p, const char *name, const char *region,
                          uint8_t acl) {
    kerr e = objsvc_bucket_create_check(p, name);
    return e ? e : bucket_create(s, p, name, region, acl);
}

bool objsvc_container_name_valid(const char *name) {
    size_t n = strlen(name);
    if (!n || n > OBJ_MAX_CONTAINER_NAME || !utf8_valid(name, n)) return false;
    for (size_t i = 0; i < n; i++)
        if (name[i] == '/' || (unsigned char)name[i] < 0x20 || name[i] == 0x7f) return false;
    return true;
}

kerr objsvc_container_create(objsvc *s, const principal *p, const char *name, const char *region) {
    if (p->kind == PRINCIPAL_ANONYMOUS || !p->account || !p->admin) return K_EACCESSDENIED;
    if (!objsvc_container_name_valid(name)) return K_EINVALIDBUCKETNAME;
    return bucket_create(s, p, name, region, ACL_PRIVATE);
}

static kerr bucket_create(objsvc *s, const principal *p, const char *name, const char *region,
                          uint8_t acl) {
    kerr e;
    const char *owner = p->account;
    bucket_info b = {.name = (char *)name,
                     .owner = (char *)owner,
                     .region = (char *)(region ? region : ""),
                     .created_ms = clock_real_ms(),
                     .acl = acl};
    if (RAND_bytes(b.id, 8) != 1) return K_EINTERNAL;
    keybuf ns, key;
    owner_ns(&ns, owner);
    bucket_key(&key, name);
    /* The owner's listing gets the name first: a crash before the record is
     * written leaves a name that listings skip, never a hidden bucket. */
    e = radix_insert(s->reg_tree, ns.b, ns.n, name, strlen(name));
    if (e) return e;
    kbuf rec = KBUF_INIT;
    rec_bucket_encode(&rec, &b);
    e = kv_cas(s->reg, key.b, key.n, NULL, 0, rec.data, rec.len);
    kbuf_free(&rec);
    if (e == K_ECONFLICT) {
        arena *a = arena_new(0);
        bucket_info cur;
        e = bucket_get(s, a, name, &cur);
        if (!e) e = strcmp(cur.owner, owner) ? K_EBUCKETEXISTS : K_EBUCKETOWNED;
        arena_free(a);
        if (e == K_EBUCKETEXISTS) radix_remove(s->reg_tree, ns.b, ns.n, name, strlen(name));
    }
    return e;
}

static kerr bucket_get(objsvc *s, arena *a, const char *name, bucket_info *out) {
    if (strlen(name) > OBJ_MAX_CONTAINER_NAME) return K_ENOSUCHBUCKET;
    keybuf key;
    bucket_key(&key, name);
    kbuf v = KBUF_INIT;
    kerr e = kv_get(s->reg, key.b, key.n, &v);
    if (!e)
        e = rec_bucket_decode(a, v.data, v.len, out);
    else if (e == K_ENOTFOUND)
        e = K_ENOSUCHBUCKET;
    kbuf_free(&v);
    return e;
}

/* ---- read-modify-write of one record --------------------------------------
 * Every record update is: read the current value, compute the next one,
 * compare-and-set, and start over when another writer got there first. The
 * step function sees the current value (NULL when the key is absent) and
 * either fills next, or sets *remove to delete the key, or returns an error
 * that ends the update (e.g. "no such key"). It may run several times, so
 * it must not have side effects beyond next. On success *old holds the
 * value that was replaced (len 0 and *was_absent when there was none), for
 * the caller to release what it pointed to. */
typedef kerr (*record_step_fn)(void *ctx, const kbuf *cur, kbuf *next, bool *remove);

#define RECORD_UPDATE_ATTEMPTS 100

static kerr record_update(kv *store, const keybuf *k, record_step_fn step, void *ctx, kbuf *old,
                          bool *was_absent) {
    kbuf next = KBUF_INIT;
    kerr e = K_ECONFLICT;
    for (int attempt = 0; attempt < RECORD_UPDATE_ATTEMPTS && e == K_ECONFLICT; attempt++) {
        e = kv_get(store, k->b, k->n, old);
        bool absent = e == K_ENOTFOUND;
        if (e && !absent) break;
        if (absent) kbuf_reset(old);
        bool remove = false;
        kbuf_reset(&next);
        e = step(ctx, absent ? NULL : old, &next, &remove);
        if (e) break;
        if (remove && absent) break; /* nothing to delete: done */
        e = kv_cas(store, k->b, k->n, absent ? NULL : old->data, absent ? 0 : old->len,
                   remove ? NULL : next.data, remove ? 0 : next.len);
        if (was_absent) *was_absent = absent;
    }
    kbuf_free(&next);
    return e;
}

/* A step that stores a value computed once, whatever was there. */
static kerr step_store(void *ctx, const kbuf *cur, kbuf *next, bool *remove) {
    (void)cur;
    (void)remove;
    const kbuf *value = ctx;
    kbuf_append(next, value->data, value->len);
    return K_OK;
}

/* objsvc_tags_check without the message. */
static kerr tags_valid(const obj_attr *tags, uint32_t n, uint32_t max) {
    const char *why, *bad;
    return objsvc_tags_check(tags, n, max, &why, &bad);
}

/* A change to a bucket's record, made by bucket_update: modifies *b (its
 * strings and arrays may live in a, or be borrowed from the caller for the
 * call) or refuses with an error, then the record is written back. */
typedef kerr (*bucket_change_fn)(void *ctx, arena *a, bucket_info *b);

typedef struct bucket_step {
    arena *a;
    bucket_change_fn change;
    void *ctx;
} bucket_step;

static kerr step_bucket(void *ctx, const kbuf *cur, kbuf *next, bool *remove) {
    (void)remove;
    bucket_step *st = ctx;
    if (!cur) return K_ENOSUCHBUCKET;
    bucket_info b;
    kerr e = rec_bucket_decode(st->a, cur->data, cur->len, &b);
    if (!e) e = st->change(st->ctx, st->a, &b);
    if (e) return e;
    rec_bucket_encode(next, &b);
    return K_OK;
}

/* Applies change to bucket name's record with compare-and-set (again on a
 * conflict, on the record then current). K_ENOSUCHBUCKET. */
static kerr bucket_update(objsvc *s, const char *name, bucket_change_fn change, void *ctx) {
    keybuf key;
    bucket_key(&key, name);
    kbuf old = KBUF_INIT;
    bucket_step st = {.a = arena_new(0), .change = change, .ctx = ctx};
    kerr e = record_update(s->reg, &key, step_bucket, &st, &old, NULL);
    arena_free(st.a);
    kbuf_free(&old);
    return e;
}

typedef struct tags_change {
    const obj_attr *tags;
    uint32_t ntags;
} tags_change;

static kerr change_bucket_tags(void *ctx, arena *a, bucket_info *b) {
    (void)a;
    const tags_change *c = ctx;
    b->tags = (obj_attr *)c->tags;
    b->ntags = c->ntags;
    return K_OK;
}

kerr objsvc_bucket_set_tags(objsvc *s, const char *name, const obj_attr *tags, uint32_t ntags) {
    kerr e = tags_valid(tags, ntags, BUCKET_MAX_TAGS);
    if (e) return e;
    tags_change c = {.tags = tags, .ntags = ntags};
    return bucket_update(s, name, change_bucket_tags, &c);
}

static kerr change_bucket_acl(void *ctx, arena *a, bucket_info *b) {
    (void)a;
    b->acl = *(const uint8_t *)ctx;
    return K_OK;
}

kerr objsvc_bucket_set_acl(objsvc *s, const char *name, uint8_t acl) {
    return bucket_update(s, name, change_bucket_acl, &acl);
}

typedef struct attrs_change {
    const obj_attr *set;
    uint32_t nset, max_count;
    size_t max_bytes;
} attrs_change;

/* The metadata change of a set_attrs (objsvc_bucket_set_attrs) on cur: into
 * *out (allocated in a), or K_EMETADATATOOLARGE. */
static kerr merge_attrs(arena *a, const obj_attr *cur, uint32_t ncur, const obj_attr *set,
                        uint32_t nset, uint32_t max_count, size_t max_bytes, obj_attr **out,
                        uint32_t *nout) {
    obj_attr *attrs = arena_alloc(a, (ncur + nset + 1) * sizeof *attrs);
    uint32_t n = 0;
    /* the current ones in place (the last value set for a name wins), then
     * the new names in the order given; empty values remove */
    for (uint32_t i = 0; i < ncur; i++) attrs[n++] = cur[i];
    for (uint32_t j = 0; j < nset; j++) {
        bool dup = false;
        for (uint32_t i = 0; i < n && !dup; i++) {
            if (!strcmp(attrs[i].name, set[j].name)) {
                attrs[i].value = set[j].value ? set[j].value : "";
                dup = true;
            }
        }
        if (!dup) attrs[n++] = set[j];
    }
    uint32_t kept = 0;
    for (uint32_t i = 0; i < n; i++)
        if (attrs[i].value && *attrs[i].value) attrs[kept++] = attrs[i];
    n = kept;
    size_t bytes = 0;
    for (uint32_t i = 0; i < n; i++) bytes += strlen(attrs[i].name) + strlen(attrs[i].value);
    if (n > max_count || bytes > max_bytes) return K_EMETADATATOOLARGE;
    *out = attrs;
    *nout = n;
    return K_OK;
}

static kerr change_bucket_attrs(void *ctx, arena *a, bucket_info *b) {
    const attrs_change *c = ctx;
    return merge_attrs(a, b->attrs, b->nattrs, c->set, c->nset, c->max_count, c->max_bytes,
                       &b->attrs, &b->nattrs);
}

kerr objsvc_bucket_set_attrs(objsvc *s, const char *name, const obj_attr *set, uint32_t nset,
                             uint32_t max_count, size_t max_bytes) {
    attrs_change c = {.set = set, .nset = nset, .max_count = max_count, .max_bytes = max_bytes};
    return bucket_update(s, name, change_bucket_attrs, &c);
}

typedef struct grants_change {
    const char *read, *write;
} grants_change;

static kerr change_bucket_grants(void *ctx, arena *a, bucket_info *b) {
    (void)a;
    const grants_change *c = ctx;
    if (c->read) b->read_grants = (char *)c->read;
    if (c->write) b->write_grants = (char *)c->write;
    return K_OK;
}

kerr objsvc_bucket_set_grants(objsvc *s, const char *name, const char *read, const char *write) {
    arena *a = arena_new(0);
    char *r = NULL, *w = NULL;
    kerr e = read ? objsvc_grants_normalize(a, read, false, &r) : K_OK;
    if (!e && write) e = objsvc_grants_normalize(a, write, true, &w);
    if (!e) {
        grants_change c = {.read = r, .write = w};
        e = bucket_update(s, name, change_bucket_grants, &c);
    }
    arena_free(a);
    return e;
}

/* ------------------------------------------------------------- accounts */

static kerr account_key(keybuf *k, const char *account) {
    size_t n = strlen(account);
    if (!n || n > 255) return K_EINVAL;
    kb_start(k, 'A');
    kb_add(k, account, n);
    return K_OK;
}

kerr objsvc_account_open(objsvc *s, arena *a, const principal *p, const char *account,
                         account_info *out) {
    if (p && !owns_account(p, account)) return K_EACCESSDENIED;
    keybuf key;
    kerr e = account_key(&key, account);
    if (e) return e;
    kbuf v = KBUF_INIT;
    e = kv_get(s->reg, key.b, key.n, &v);
    if (!e) {
        e = rec_account_decode(a, v.data, v.len, out);
    } else if (e == K_ENOTFOUND) {
        out->name = arena_strdup(a, account);
        out->nattrs = 0;
        out->attrs = arena_alloc(a, sizeof(obj_attr));
        e = K_OK;
    }
    kbuf_free(&v);
    return e;
}

typedef struct account_attrs_step {
    arena *a;
    const char *account;
    const obj_attr *set;
    uint32_t nset, max_count;
    size_t max_bytes;
} account_attrs_step;

static kerr step_account_attrs(void *ctx, const kbuf *cur, kbuf *next, bool *remove) {
    account_attrs_step *st = ctx;
    account_info ai = {.name = (char *)st->account};
    if (cur) {
        kerr e = rec_account_decode(st->a, cur->data, cur->len, &ai);
        if (e) return e;
    }
    kerr e = merge_attrs(st->a, ai.attrs, ai.nattrs, st->set, st->nset, st->max_count,
                         st->max_bytes, &ai.attrs, &ai.nattrs);
    if (e) return e;
    if (!ai.nattrs) {
        *remove = true; /* no metadata, no record */
        return K_OK;
    }
    rec_account_encode(next, &ai);
    return K_OK;
}

kerr objsvc_account_set_attrs(objsvc *s, const principal *p, const char *account,
                              const obj_attr *set, uint32_t nset, uint32_t max_count,
                              size_t max_bytes) {
    if (!owns_account(p, account)) return K_EACCESSDENIED;
    keybuf key;
    kerr e = account_key(&key, account);
    if (e) return e;
    kbuf old = KBUF_INIT;
    account_attrs_step st = {.a = arena_new(0),
                             .account = account,
                             .set = set,
                             .nset = nset,
                             .max_count = max_count,
                             .max_bytes = max_bytes};
    e = record_update(s->reg, &key, step_account_attrs, &st, &old, NULL);
    arena_free(st.a);
    kbuf_free(&old);
    return e;
}

static void obj_ns(keybuf *k, const uint8_t bid[8]) {
    kb_start(k, 'o');
    kb_add(k, bid, 8);
}
static void upload_ns(keybuf *k, const uint8_t bid[8]) {
    kb_start(k, 'u');
    kb_add(k, bid, 8);
}

kerr objsvc_bucket_delete(objsvc *s, const char *name) {
    arena *a = arena_new(0);
    bucket_info b;
    kerr e = bucket_get(s, a, name, &b);
    if (e) goto out;
    /* Empty means no live object: expired ones are deleted on the way (so
     * their records and bytes do not outlive the bucket). */
    obj_list_req page = {.max_entries = 100};
    list_entry *ents;
    size_t n;
    bool trunc;
    int64_t now = clock_real_ms();
    do {
        e = list_objects(s, a, &b, &page, true, &ents, &n, &trunc);
        if (e) goto out;
        for (size_t i = 0; i < n; i++) {
            if (ents[i].is_prefix || !obj_expired(&ents[i].meta, now)) {
                e = K_EBUCKETNOTEMPTY;
                goto out;
            }
        }
        for (size_t i = 0; i < n; i++) {
            e = objsvc_delete(s, &b, ents[i].key, ents[i].klen, NULL);
            if (e && e != K_ENOSUCHKEY) goto out;
        }
    } while (n);
    obj_list_req one = {.max_entries = 1};
    mpu_list_entry *ups;
    e = objsvc_mpu_list(s, a, &b, &one, &ups, &n, &trunc);
    if (e) goto out;
    if (n) {
        e = K_EBUCKETNOTEMPTY;
        goto out;
    }
    keybuf key, ns;
    bucket_key(&key, name);
    e = kv_del(s->reg, key.b, key.n);
    if (e == K_ENOTFOUND) e = K_ENOSUCHBUCKET;
    if (e) goto out;
    owner_ns(&ns, b.owner);
    kerr r = radix_remove(s->reg_tree, ns.b, ns.n, name, strlen(name));
    if (r && r != K_ENOTFOUND)
        log_warn("bucket %s: owner listing not updated: %s", name, kerr_name(r));
out:
    arena_free(a);
    return e;
}

typedef struct collect_ctx {
    arena *a;
    size_t n, cap;
    struct collected {
        char *p;
        size_t len;
        bool is_prefix;
    } * items;
} collect_ctx;

static int collect_emit(void *ctx, const void *entry, size_t len, bool is_prefix) {
    collect_ctx *c = ctx;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        struct collected *items = arena_alloc(c->a, cap * sizeof *items);
        if (c->n) memcpy(items, c->items, c->n * sizeof *items);
        c->items = items;
        c->cap = cap;
    }
    c->items[c->n].p = arena_strndup(c->a, entry, len);
    c->items[c->n].len = len;
    c->items[c->n].is_prefix = is_prefix;
    c->n++;
    return 0;
}

/* The records of a listing page, read with one kv_mget (on Redis one round
 * trip per shard instead of one per record). Keys live in the arena, the
 * values in kbufs that rr_free releases. */
typedef struct rec_reads {
    size_t n;
    const void **keys;
    size_t *klens;
    kbuf *vals;
    kerr *errs;
} rec_reads;

static void rr_init(rec_reads *r, arena *a, size_t cap) {
    if (cap == 0) cap = 1;
    r->n = 0;
    r->keys = arena_alloc(a, cap * sizeof *r->keys);
    r->klens = arena_alloc(a, cap * sizeof *r->klens);
    r->vals = arena_zalloc(a, cap * sizeof *r->vals);
    r->errs = arena_alloc(a, cap * sizeof *r->errs);
}

static void rr_add(rec_reads *r, arena *a, const keybuf *k) {
    r->keys[r->n] = arena_memdup(a, k->b, k->n);
    r->klens[r->n] = k->n;
    r->n++;
}

/* K_OK when every record got an answer: r->errs[i] is then K_OK or
 * K_ENOTFOUND (any other per-key answer is turned into the call's error:
 * the keys are well-formed, so it cannot happen). */
static kerr rr_run(objsvc *s, rec_reads *r) {
    kerr e = kv_mget(s->meta, r->n, r->keys, r->klens, r->vals, r->errs);
    for (size_t i = 0; !e && i < r->n; i++)
        if (r->errs[i] != K_OK && r->errs[i] != K_ENOTFOUND) e = r->errs[i];
    return e;
}

static void rr_free(rec_reads *r) {
    for (size_t i = 0; i < r->n; i++) kbuf_free(&r->vals[i]);
    r->n = 0;
}

kerr objsvc_bucket_list(objsvc *s, arena *a, const principal *p, bucket_info **out, size_t *n) {
    if (p->kind == PRINCIPAL_ANONYMOUS || !p->account || !p->admin) return K_EACCESSDENIED;
    const char *owner = p->account;
    keybuf ns;
    owner_ns(&ns, owner);
    collect_ctx c = {.a = a};
    bucket_info *res = NULL;
    size_t count = 0, cap = 0;
    radix_list_req req = {.max_entries = 1000};
    for (;;) {
        c.n = 0;
        bool trunc = false;
        kerr e = radix_list(s->reg_tree, ns.b, ns.n, &req, collect_emit, &c, &trunc);
        if (e) return e;
        for (size_t i = 0; i < c.n; i++) {
            bucket_info b;
            kerr ge = bucket_get(s, a, c.items[i].p, &b);
            if (ge == K_ENOSUCHBUCKET) continue;
            if (ge) return ge;
            if (strcmp(b.owner, owner)) continue;
            if (count == cap) {
                cap = cap ? cap * 2 : 16;
                bucket_info *nr = arena_alloc(a, cap * sizeof *nr);
                if (count) memcpy(nr, res, count * sizeof *nr);
                res = nr;
            }
            res[count++] = b;
        }
        if (!trunc || !c.n) break;
        req.start_after = c.items[c.n - 1].p;
        req.start_after_len = c.items[c.n - 1].len;
    }
    *out = res;
    *n = count;
    return K_OK;
}

/* --------------------------------------------------------------- objects */

static kerr key_check(const char *key, size_t klen) {
    if (klen == 0) return K_EINVAL;
    if (klen > OBJ_MAX_KEY) return K_EKEYTOOLONG;
    if (memchr(key, 0, klen)) return K_EINVAL;
    return K_OK;
}

static void obj_key(keybuf *k, const uint8_t bid[8], const char *key, size_t klen) {
    kb_start(k, 'O');
    kb_add(k, bid, 8);
    kb_add(k, key, klen);
}

/* Whether object m has expired at now_ms: its OBJ_ATTR_DELETE_AT time has
 * come. The one place the service decides it; an expired object is absent
 * to every reader (objsvc_head, objsvc_object_open, objsvc_list) and to
 * conditional writes, though its record and bytes stay until it is deleted
 * (space reclamation belongs to lifecycle). */
/* The expiry time in attrs (OBJ_ATTR_DELETE_AT, unix seconds), when there
 * is a well-formed one. */
static bool delete_at_of(const obj_attr *attrs, uint32_t n, int64_t *at) {
    for (uint32_t i = 0; i < n; i++) {
        if (strcmp(attrs[i].name, OBJ_ATTR_DELETE_AT)) continue;
        const char *v = attrs[i].value;
        int64_t x = 0;
        if (!*v) return false;
        for (; *v; v++) {
            if (*v < '0' || *v > '9' || x > INT64_MAX / 10000) return false;
            x = x * 10 + (*v - '0');
        }
        *at = x;
        return true;
    }
    return false;
}

static bool obj_expired(const obj_meta *m, int64_t now_ms) {
    int64_t at;
    return delete_at_of(m->attrs, m->nattrs, &at) && at * 1000 <= now_ms;
}

static kerr get_obj_raw(objsvc *s, const uint8_t bid[8], const char *key, size_t klen, kbuf *v) {
    keybuf k;
    obj_key(&k, bid, key, klen);
    kerr e = kv_get(s->meta, k.b, k.n, v);
    return e == K_ENOTFOUND ? K_ENOSUCHKEY : e;
}

kerr objsvc_head(objsvc *s, arena *a, const bucket_info *b, const char *key, size_t klen,
                 obj_meta *out) {
    kerr e = key_check(key, klen);
    if (e) return e == K_EKEYTOOLONG ? e : K_ENOSUCHKEY;
    kbuf v = KBUF_INIT;
    e = get_obj_raw(s, b->id, key, klen, &v);
    if (!e) e = rec_obj_decode(a, v.data, v.len, out);
    if (!e && obj_expired(out, clock_real_ms())) e = K_ENOSUCHKEY;
    kbuf_free(&v);
    return e;
}

kerr objsvc_object_open_manifest(objsvc *s, arena *a, const principal *p, const bucket_info *b,
                                 const char *key, size_t klen, obj_meta *out) {
    kerr e = objsvc_head(s, a, b, key, klen, out);
    if (e == K_ENOSUCHKEY && !may_list(p, b)) return K_EACCESSDENIED;
    if (e) return e;
    return may_read(p, b, out) ? K_OK : K_EACCESSDENIED;
}

static kerr large_resolve(objsvc *s, arena *a, const principal *p, obj_meta *m);

kerr objsvc_object_open(objsvc *s, arena *a, const principal *p, const bucket_info *b,
                        const char *key, size_t klen, obj_meta *out) {
    kerr e = objsvc_object_open_manifest(s, a, p, b, key, klen, out);
    if (!e && out->large) e = large_resolve(s, a, p, out);
    return e;
}

/* Whether this gateway can read m's data (see obj_meta.home). */
static bool data_local(const objsvc *s, const obj_meta *m) {
    return !m->home || !s->home || m->home == s->home;
}

/* Reads n bytes at object offset off (across parts). */
static kerr read_pieces(objsvc *s, const obj_meta *m, uint64_t off, void *buf, size_t n);

static kerr read_range(objsvc *s, const obj_meta *m, uint64_t off, void *buf, size_t n) {
    if (off > m->size || n > m->size - off) return K_EINVALIDRANGE;
    if (!n) return K_OK;
    if (m->pieces) return read_pieces(s, m, off, buf, n);
    if (m->large == OBJ_LARGE_SLO) return K_EINVAL; /* a manifest has no data: resolve it */
    if (!data_local(s, m)) {
        log_error("object data lives on gateway %016llx, this is %016llx",
                  (unsigned long long)m->home, (unsigned long long)s->home);
        return K_EUNAVAILABLE;
    }
    uint8_t *dst = buf;
    uint64_t seg_start = 0;
    for (uint32_t i = 0; i < m->nsegs && n; i++) {
        uint64_t seg_len = m->segs[i].loc.length;
        if (off < seg_start + seg_len) {
            uint64_t in_seg = off - seg_start;
            size_t take = (size_t)(seg_len - in_seg < n ? seg_len - in_seg : n);
            kerr e = data_read(s->data, &m->segs[i].loc, in_seg, dst, take);
            if (e) return e;
            dst += take;
            off += take;
            n -= take;
        }
        seg_start += seg_len;
    }
    return n ? K_ECORRUPT : K_OK;
}

static void release_segments(objsvc *s, const obj_meta *m) {
    for (uint32_t i = 0; i < m->nsegs; i++) data_release(s->data, &m->segs[i].loc, 1);
}

void objsvc_part_range(const obj_meta *m, uint32_t part, uint64_t *off, uint64_t *len) {
    uint64_t o = 0;
    for (uint32_t i = 0; i + 1 < part && i < m->nsegs; i++) o += m->segs[i].loc.length;
    *off = o;
    *len = part >= 1 && part <= m->nsegs ? m->segs[part - 1].loc.length : 0;
}

/* One stretch of a large object's range: bytes [off, off+len) of a run. */
typedef struct piece_run {
    data_loc *run;
    uint32_t nrun;
    uint64_t off, len;
} piece_run;

struct obj_reader {
    data_reader *r; /* an ordinary object; for a large one, the current piece's */
    data_layer *data;
    piece_run *pr; /* a large object: the pieces the range crosses, in order */
    uint32_t npr, cur;
    uint64_t cur_start; /* range offset where piece cur starts */
};

static kerr pieces_reader_open(objsvc *s, const obj_meta *m, uint64_t off, uint64_t len,
                               obj_reader **out);

kerr objsvc_reader_open(objsvc *s, const obj_meta *m, uint64_t off, uint64_t len,
                        obj_reader **out) {
    *out = NULL;
    if (off > m->size || len > m->size - off) return K_EINVALIDRANGE;
    if (m->pieces) return pieces_reader_open(s, m, off, len, out);
    if (m->large == OBJ_LARGE_SLO && len) return K_EINVAL; /* a manifest has no data */
    if (len && !data_local(s, m)) {
        log_error("object data lives on gateway %016llx, this is %016llx",
                  (unsigned long long)m->home, (unsigned long long)s->home);
        return K_EUNAVAILABLE;
    }
    data_loc *run = malloc((m->nsegs ? m->nsegs : 1) * sizeof *run);
    obj_reader *r = calloc(1, sizeof *r);
    if (!run || !r) {
        free(run);
        free(r);
        return K_ENOMEM;
    }
    for (uint32_t i = 0; i < m->nsegs; i++) run[i] = m->segs[i].loc;
    kerr e = data_reader_open(s->data, run, m->nsegs, off, len, &r->r);
    free(run);
    if (e) {
        free(r);
        return e;
    }
    *out = r;
    return K_OK;
}

static ssize_t pieces_reader_read(obj_reader *r, uint64_t pos, void *buf, size_t max);

ssize_t objsvc_reader_read(obj_reader *r, uint64_t pos, void *buf, size_t max) {
    if (r->pr) return pieces_reader_read(r, pos, buf, max);
    ssize_t n = data_reader_read(r->r, pos, buf, max);
    if (n < 0)
        log_error("read failed at range offset %llu: %s", (unsigned long long)pos,
                  kerr_name(data_reader_error(r->r)));
    return n;
}

void objsvc_reader_close(obj_reader *r) {
    if (!r) return;
    if (r->r) data_reader_close(r->r);
    for (uint32_t i = 0; i < r->npr; i++) free(r->pr[i].run);
    free(r->pr);
    free(r);
}

/* Whether the object record cur (NULL: none) satisfies cond (NULL: no
 * condition); K_ECONDCONFLICT if not. */
static kerr cond_check(const obj_cond *cond, const kbuf *cur) {
    if (!cond) return K_OK;
    if (cur) { /* an expired object is no object */
        arena *a = arena_new(0);
        obj_meta m;
        if (!rec_obj_decode(a, cur->data, cur->len, &m) && obj_expired(&m, clock_real_ms()))
            cur = NULL;
        arena_free(a);
    }
    if (cond->absent && cur) return K_ECONDCONFLICT;
    if (cond->etag) {
        if (!cur) return K_ECONDCONFLICT;
        if (strcmp(cond->etag, "*")) {
            arena *a = arena_new(0);
            obj_meta m;
            bool same = !rec_obj_decode(a, cur->data, cur->len, &m) && !strcmp(m.etag, cond->etag);
            arena_free(a);
            if (!same) return K_ECONDCONFLICT;
        }
    }
    return K_OK;
}

typedef struct store_obj_step {
    const kbuf *value;
    const obj_cond *cond;
} store_obj_step;

/* Stores a new object record, if the one it replaces satisfies the
 * condition. */
static kerr step_store_object(void *ctx, const kbuf *cur, kbuf *next, bool *remove) {
    (void)remove;
    const store_obj_step *st = ctx;
    kerr e = cond_check(st->cond, cur);
    if (e) return e;
    kbuf_append(next, st->value->data, st->value->len);
    return K_OK;
}

static kerr expiry_note(objsvc *s, const uint8_t bid[8], const char *key, size_t klen,
                        const obj_attr *attrs, uint32_t nattrs);

/* Writes the record of key with compare-and-set against whatever is there
 * (and only if that satisfies cond), then releases the data of the record
 * it replaced. */
static kerr replace_obj_record(objsvc *s, const uint8_t bid[8], const char *key, size_t klen,
                               const obj_meta *m, const obj_cond *cond) {
    kerr e = expiry_note(s, bid, key, klen, m->attrs, m->nattrs);
    if (e) return e;
    keybuf k;
    obj_key(&k, bid, key, klen);
    kbuf rec = KBUF_INIT, old = KBUF_INIT;
    rec_obj_encode(&rec, m);
    bool absent = true;
    store_obj_step st = {.value = &rec, .cond = cond};
    e = record_update(s->meta, &k, step_store_object, &st, &old, &absent);
    if (!e && !absent) {
        arena *a = arena_new(0);
        obj_meta prev;
        if (!rec_obj_decode(a, old.data, old.len, &prev)) release_segments(s, &prev);
        arena_free(a);
    }
    kbuf_free(&rec);
    kbuf_free(&old);
    return e;
}

static kerr step_delete_object(void *ctx, const kbuf *cur, kbuf *next, bool *remove) {
    (void)next;
    if (!cur) return K_ENOSUCHKEY;
    kerr e = cond_check(ctx, cur);
    if (e) return e;
    *remove = true;
    return K_OK;
}

kerr objsvc_delete(objsvc *s, const bucket_info *b, const char *key, size_t klen,
                   const obj_cond *cond) {
    kerr e = key_check(key, klen);
    if (e) return e == K_EKEYTOOLONG ? e : K_ENOSUCHKEY;
    keybuf k, ns;
    obj_key(&k, b->id, key, klen);
    obj_ns(&ns, b->id);
    kbuf old = KBUF_INIT;
    e = record_update(s->meta, &k, step_delete_object, (void *)cond, &old, NULL);
    if (!e) {
        arena *a = arena_new(0);
        obj_meta prev;
        if (!rec_obj_decode(a, old.data, old.len, &prev)) release_segments(s, &prev);
        arena_free(a);
        radix_remove(s->tree, ns.b, ns.n, key, klen);
        /* A PUT racing with us may have written its record after our delete;
         * its name must stay listed. */
        kbuf again = KBUF_INIT;
        if (kv_get(s->meta, k.b, k.n, &again) == K_OK) radix_insert(s->tree, ns.b, ns.n, key, klen);
        kbuf_free(&again);
    } else if (e == K_ENOSUCHKEY) {
        /* Clean a name left behind by an interrupted delete. */
        radix_remove(s->tree, ns.b, ns.n, key, klen);
    }
    kbuf_free(&old);
    return e;
}

typedef struct attrs_step {
    arena *a;
    const obj_attr *attrs; /* NULL: keep */
    uint32_t nattrs;
    bool set_acl;
    uint8_t acl;
    bool set_tags;
    const obj_attr *tags;
    uint32_t ntags;
    bool touch; /* a new Last-Modified */
    const obj_cond *cond;
    obj_meta *out;
} attrs_step;

static kerr step_object_attrs(void *ctx, const kbuf *cur, kbuf *next, bool *remove) {
    (void)remove;
    attrs_step *st = ctx;
    if (!cur) return K_ENOSUCHKEY;
    kerr e = cond_check(st->cond, cur);
    if (e) return e;
    e = rec_obj_decode(st->a, cur->data, cur->len, st->out);
    if (e) return e;
    if (obj_expired(st->out, clock_real_ms())) return K_ENOSUCHKEY;
    if (st->attrs) {
        st->out->attrs = (obj_attr *)st->attrs;
        st->out->nattrs = st->nattrs;
    }
    if (st->set_acl) st->out->acl = st->acl;
    if (st->set_tags) {
        st->out->tags = (obj_attr *)st->tags;
        st->out->ntags = st->ntags;
    }
    if (st->touch) st->out->mtime_ms = clock_real_ms();
    rec_obj_encode(next, st->out);
    return K_OK;
}

static kerr update_object(objsvc *s, const bucket_info *b, const char *key, size_t klen,
                          attrs_step *st) {
    kerr e = key_check(key, klen);
    if (e) return e == K_EKEYTOOLONG ? e : K_ENOSUCHKEY;
    if (st->set_tags) e = tags_valid(st->tags, st->ntags, OBJ_MAX_TAGS);
    if (!e && st->attrs) e = expiry_note(s, b->id, key, klen, st->attrs, st->nattrs);
    if (e) return e;
    keybuf k;
    obj_key(&k, b->id, key, klen);
    kbuf old = KBUF_INIT;
    e = record_update(s->meta, &k, step_object_attrs, st, &old, NULL);
    kbuf_free(&old);
    return e;
}

/* objsvc_update_attrs, and with set_tags objsvc_update_attrs_tags. */
static kerr update_attrs(objsvc *s, arena *a, const bucket_info *b, const char *key, size_t klen,
                         const obj_attr *attrs, uint32_t nattrs, uint8_t acl, bool set_tags,
                         const obj_attr *tags, uint32_t ntags, const obj_cond *cond,
                         obj_meta *out) {
    attrs_step st = {.a = a,
                     .attrs = attrs,
                     .nattrs = nattrs,
                     .set_acl = true,
                     .acl = acl,
                     .set_tags = set_tags,
                     .tags = tags,
                     .ntags = ntags,
                     .touch = true,
                     .cond = cond,
                     .out = out};
    return update_object(s, b, key, klen, &st);
}

kerr objsvc_update_attrs(objsvc *s, arena *a, const bucket_info *b, const char *key, size_t klen,
                         const obj_attr *attrs, uint32_t nattrs, uint8_t acl, const obj_cond *cond,
                         obj_meta *out) {
    return update_attrs(s, a, b, key, klen, attrs, nattrs, acl, false, NULL, 0, cond, out);
}

kerr objsvc_update_attrs_tags(objsvc *s, arena *a, const bucket_info *b, const char *key,
                              size_t klen, const obj_attr *attrs, uint32_t nattrs, uint8_t acl,
                              const obj_attr *tags, uint32_t ntags, const obj_cond *cond,
                              obj_meta *out) {
    return update_attrs(s, a, b, key, klen, attrs, nattrs, acl, true, tags, ntags, cond, out);
}

kerr objsvc_set_tags(objsvc *s, arena *a, const bucket_info *b, const char *key, size_t klen,
                     const obj_attr *tags, uint32_t ntags, obj_meta *out) {
    attrs_step st = {.a = a, .set_tags = true, .tags = tags, .ntags = ntags, .out = out};
    return update_object(s, b, key, klen, &st);
}

/* ---------------------------------------------------------------- expiry
 * Objects with OBJ_ATTR_DELETE_AT are indexed by expiry time so that their
 * space can be reclaimed without scanning buckets: radix tree "x" holds one
 * 32-byte name per (time, object): be64(unix seconds) + bucket id + MD5 of
 * the key (names must stay short; keys may be 1024 bytes), in time order;
 * record "X" + that name holds the key. An entry is written before the
 * object record that needs it (a crash leaves at most a stale entry, which
 * the sweeper drops), and it is only a hint: the sweeper deletes an object
 * only if its record, read in the same compare-and-set, still expires at
 * that second. */

enum { EXPIRY_NAME_LEN = 32 };
static const char expiry_ns[] = "x";

static void expiry_name(uint8_t out[EXPIRY_NAME_LEN], int64_t at, const uint8_t bid[8],
                        const char *key, size_t klen) {
    for (int i = 0; i < 8; i++) out[i] = (uint8_t)((uint64_t)at >> (56 - 8 * i));
    memcpy(out + 8, bid, 8);
    uint8_t md5[32];
    khash *h = khash_new(KH_MD5);
    if (!h) abort();
    khash_update(h, key, klen);
    khash_final(h, md5);
    khash_free(h);
    memcpy(out + 16, md5, 16);
}

/* Indexes object key of bucket bid when its attributes give an expiry. */
static kerr expiry_note(objsvc *s, const uint8_t bid[8], const char *key, size_t klen,
                        const obj_attr *attrs, uint32_t nattrs) {
    int64_t at;
    if (!attrs || !delete_at_of(attrs, nattrs, &at)) return K_OK;
    uint8_t name[EXPIRY_NAME_LEN];
    expiry_name(name, at, bid, key, klen);
    keybuf k;
    kb_start(&k, 'X');
    kb_add(&k, name, sizeof name);
    kerr e = kv_put(s->meta, k.b, k.n, key, klen);
    if (!e) e = radix_insert(s->tree, expiry_ns, 1, name, sizeof name);
    return e;
}

typedef struct expire_step {
    int64_t at, now_ms;
    arena *a;
} expire_step;

/* Removes the record if it still expires at st->at and that time has come. */
static kerr step_expire(void *ctx, const kbuf *cur, kbuf *next, bool *remove) {
    (void)next;
    expire_step *st = ctx;
    if (!cur) return K_ENOSUCHKEY;
    obj_meta m;
    int64_t at;
    if (rec_obj_decode(st->a, cur->data, cur->len, &m) || !delete_at_of(m.attrs, m.nattrs, &at) ||
        at != st->at || !obj_expired(&m, st->now_ms))
        return K_ECONDCONFLICT;
    *remove = true;
    return K_OK;
}

kerr objsvc_expire(objsvc *s, int64_t now_ms, size_t max, size_t *removed) {
    *removed = 0;
    arena *a = arena_new(0);
    collect_ctx c = {.a = a};
    radix_list_req req = {.max_entries = max ? max : 1000};
    bool trunc;
    kerr e = radix_list(s->tree, expiry_ns, 1, &req, collect_emit, &c, &trunc);
    for (size_t i = 0; !e && i < c.n; i++) {
        const uint8_t *name = (const uint8_t *)c.items[i].p;
        if (c.items[i].len != EXPIRY_NAME_LEN) continue;
        int64_t at = 0;
        for (int j = 0; j < 8; j++) at = at << 8 | name[j];
        if (at > now_ms / 1000) break; /* in time order: the rest is later */
        keybuf xk;
        kb_start(&xk, 'X');
        kb_add(&xk, name, EXPIRY_NAME_LEN);
        kbuf key = KBUF_INIT, old = KBUF_INIT;
        kerr ge = kv_get(s->meta, xk.b, xk.n, &key);
        if (!ge && key.len && key.len <= OBJ_MAX_KEY) {
            keybuf ok;
            obj_key(&ok, name + 8, (const char *)key.data, key.len);
            expire_step st = {.at = at, .now_ms = now_ms, .a = a};
            kerr de = record_update(s->meta, &ok, step_expire, &st, &old, NULL);
            if (!de) {
                obj_meta prev;
                if (!rec_obj_decode(a, old.data, old.len, &prev)) release_segments(s, &prev);
                keybuf ns;
                obj_ns(&ns, name + 8);
                radix_remove(s->tree, ns.b, ns.n, key.data, key.len);
                kbuf again = KBUF_INIT; /* a PUT racing with us keeps its name */
                if (kv_get(s->meta, ok.b, ok.n, &again) == K_OK)
                    radix_insert(s->tree, ns.b, ns.n, key.data, key.len);
                kbuf_free(&again);
                (*removed)++;
            } else if (de != K_ENOSUCHKEY && de != K_ECONDCONFLICT) {
                e = de; /* the store failed: try again next time */
            }
        } else if (ge && ge != K_ENOTFOUND) {
            e = ge;
        }
        if (!e) {
            kv_del(s->meta, xk.b, xk.n);
            radix_remove(s->tree, expiry_ns, 1, name, EXPIRY_NAME_LEN);
        }
        kbuf_free(&key);
        kbuf_free(&old);
    }
    arena_free(a);
    return e;
}

/* --------------------------------------------------------- large objects */

struct obj_piece {
    obj_meta m; /* an ordinary object */
    uint64_t off, len;
};

/* A resolution in progress: the pieces so far, and the last bucket looked
 * up (segments mostly share one). */
typedef struct lo_ctx {
    objsvc *s;
    arena *a;
    const principal *p;
    obj_piece *pieces;
    uint32_t n, cap;
    const char *bname;
    bucket_info b;
    kerr be;
} lo_ctx;

static kerr lo_add(lo_ctx *c, const obj_meta *m, uint64_t off, uint64_t len) {
    if (!len) return K_OK;
    if (c->n >= OBJ_LO_MAX_SEGMENTS) {
        log_warn("large object of more than %u segments refused", OBJ_LO_MAX_SEGMENTS);
        return K_ECONFLICT;
    }
    if (c->n == c->cap) {
        uint32_t cap = c->cap ? c->cap * 2 : 16;
        obj_piece *np = arena_alloc(c->a, cap * sizeof *np);
        if (c->n) memcpy(np, c->pieces, c->n * sizeof *np);
        c->pieces = np;
        c->cap = cap;
    }
    c->pieces[c->n++] = (obj_piece){.m = *m, .off = off, .len = len};
    return K_OK;
}

static kerr lo_bucket(lo_ctx *c, const char *name, const bucket_info **out) {
    if (!c->bname || strcmp(c->bname, name)) {
        c->bname = arena_strdup(c->a, name);
        c->be = objsvc_bucket_open(c->s, c->a, c->p, name, BUCKET_LOOKUP, &c->b);
    }
    *out = &c->b;
    return c->be;
}

/* Adds the pieces of bytes [woff, woff+wlen) of SLO m's content. */
static kerr slo_pieces(lo_ctx *c, const obj_meta *m, int depth, uint64_t woff, uint64_t wlen) {
    if (depth > OBJ_SLO_MAX_DEPTH) {
        log_warn("SLO nested more than %d deep refused", OBJ_SLO_MAX_DEPTH);
        return K_ECONFLICT;
    }
    uint64_t pos = 0, wend = woff + wlen;
    for (uint32_t i = 0; i < m->nslo && pos < wend; i++) {
        const obj_slo_seg *g = &m->slo[i];
        uint64_t base = g->has_range ? g->first : 0;
        uint64_t glen = g->has_range ? g->last - g->first + 1 : g->size;
        uint64_t from = pos > woff ? pos : woff, to = pos + glen < wend ? pos + glen : wend;
        pos += glen;
        if (from >= to) continue;
        const bucket_info *b;
        obj_meta sm;
        kerr e = lo_bucket(c, g->bucket, &b);
        if (!e) e = objsvc_object_open_manifest(c->s, c->a, c->p, b, g->key, g->klen, &sm);
        if (e == K_ENOSUCHBUCKET || e == K_ENOSUCHKEY ||
            (!e && (strcmp(sm.etag, g->etag) || sm.size != g->size ||
                    (sm.large == OBJ_LARGE_SLO) != g->sub_slo))) {
            log_warn("SLO segment %s/%.*s gone or changed since the manifest was written",
                     g->bucket, (int)g->klen, g->key);
            return K_ECONFLICT;
        }
        if (e) return e;
        uint64_t soff = base + (from - (pos - glen)), slen = to - from;
        e = g->sub_slo ? slo_pieces(c, &sm, depth + 1, soff, slen) : lo_add(c, &sm, soff, slen);
        if (e) return e;
    }
    return K_OK;
}

/* The DLO m's segments as listed now: pieces, content size and ETag. */
static kerr dlo_pieces(lo_ctx *c, const obj_meta *m, uint64_t *size, char etag[48]) {
    const char *v = NULL;
    for (uint32_t i = 0; i < m->nattrs; i++)
        if (!strcmp(m->attrs[i].name, OBJ_ATTR_DLO)) v = m->attrs[i].value;
    char *cont = arena_strdup(c->a, v ? v : "");
    long dn = url_decode_inplace(cont, strlen(cont), false);
    char *slash = dn > 0 ? memchr(cont, '/', (size_t)dn) : NULL;
    if (!slash || slash == cont) return K_ECONFLICT; /* checked when written */
    cont[dn] = 0;
    *slash = 0;
    const char *prefix = slash + 1;
    khash *h = khash_new(KH_MD5);
    if (!h) return K_ENOMEM;
    *size = 0;
    const bucket_info *b;
    kerr e = lo_bucket(c, cont, &b);
    if (e == K_ENOSUCHBUCKET) e = K_OK, b = NULL; /* no segments (yet): empty */
    /* a copy: an SLO segment's own segments reuse lo_bucket's slot, and the
     * listing and every later may_read must still see the DLO's container */
    bucket_info cb;
    if (b && !e) cb = *b, b = &cb;
    obj_list_req req = {.prefix = prefix, .prefix_len = strlen(prefix), .max_entries = 1000};
    for (bool more = b && !e; more && !e;) {
        list_entry *le;
        size_t n;
        e = list_objects(c->s, c->a, b, &req, false, &le, &n, &more);
        for (size_t i = 0; !e && i < n; i++) {
            if (le[i].is_prefix) continue;
            obj_meta *sm = &le[i].meta;
            if (!may_read(c->p, b, sm)) {
                e = K_EACCESSDENIED;
                break;
            }
            khash_update(h, sm->etag, strlen(sm->etag));
            *size += sm->size;
            e = sm->large == OBJ_LARGE_SLO ? slo_pieces(c, sm, 1, 0, sm->size)
                                           : lo_add(c, sm, 0, sm->size);
        }
        if (n) {
            req.start_after = le[n - 1].key;
            req.start_after_len = le[n - 1].klen;
        } else {
            more = false;
        }
    }
    uint8_t md5[32];
    khash_final(h, md5);
    khash_free(h);
    hex_encode(md5, 16, etag);
    return e;
}

/* Turns m (a large object's manifest, p allowed to read it) into its
 * content: size, etag and pieces. */
static kerr large_resolve(objsvc *s, arena *a, const principal *p, obj_meta *m) {
    lo_ctx c = {.s = s, .a = a, .p = p};
    kerr e;
    if (m->large == OBJ_LARGE_SLO) {
        e = slo_pieces(&c, m, 1, 0, m->size);
    } else {
        uint64_t size;
        char etag[48];
        e = dlo_pieces(&c, m, &size, etag);
        if (!e) {
            m->size = size;
            memcpy(m->etag, etag, sizeof etag);
        }
    }
    if (e) return e;
    m->nsegs = 0;
    m->segs = NULL;
    m->nparts = 0;
    m->ck_alg = CK_NONE;
    m->ck_type = CKTYPE_NONE;
    m->ck_len = 0;
    m->npieces = c.n;
    m->pieces = c.pieces ? c.pieces : arena_zalloc(a, sizeof(obj_piece));
    return K_OK;
}

static kerr read_pieces(objsvc *s, const obj_meta *m, uint64_t off, void *buf, size_t n) {
    uint8_t *dst = buf;
    uint64_t start = 0;
    for (uint32_t i = 0; i < m->npieces && n; i++) {
        const obj_piece *pc = &m->pieces[i];
        if (off < start + pc->len) {
            uint64_t in = off - start;
            size_t take = (size_t)(pc->len - in < n ? pc->len - in : n);
            kerr e = read_range(s, &pc->m, pc->off + in, dst, take);
            if (e) return e;
            dst += take;
            off += take;
            n -= take;
        }
        start += pc->len;
    }
    return n ? K_ECORRUPT : K_OK;
}

static kerr pieces_reader_open(objsvc *s, const obj_meta *m, uint64_t off, uint64_t len,
                               obj_reader **out) {
    obj_reader *r = calloc(1, sizeof *r);
    if (!r) return K_ENOMEM;
    r->data = s->data;
    r->pr = calloc(m->npieces ? m->npieces : 1, sizeof *r->pr);
    if (!r->pr) {
        free(r);
        return K_ENOMEM;
    }
    kerr e = K_OK;
    uint64_t start = 0, end = off + len;
    for (uint32_t i = 0; i < m->npieces && start < end && !e; i++) {
        const obj_piece *pc = &m->pieces[i];
        uint64_t from = start > off ? start : off;
        uint64_t to = start + pc->len < end ? start + pc->len : end;
        start += pc->len;
        if (from >= to) continue;
        if (!data_local(s, &pc->m)) {
            log_error("segment data lives on gateway %016llx, this is %016llx",
                      (unsigned long long)pc->m.home, (unsigned long long)s->home);
            e = K_EUNAVAILABLE;
            break;
        }
        piece_run *p = &r->pr[r->npr++];
        p->nrun = pc->m.nsegs;
        p->run = malloc((p->nrun ? p->nrun : 1) * sizeof *p->run);
        if (!p->run) {
            e = K_ENOMEM;
            break;
        }
        for (uint32_t j = 0; j < p->nrun; j++) p->run[j] = pc->m.segs[j].loc;
        p->off = pc->off + (from - (start - pc->len));
        p->len = to - from;
    }
    /* the first piece is opened now, so that unreachable data is answered
     * before any header */
    if (!e && r->npr)
        e = data_reader_open(s->data, r->pr[0].run, r->pr[0].nrun, r->pr[0].off, r->pr[0].len,
                             &r->r);
    if (e) {
        objsvc_reader_close(r);
        return e;
    }
    *out = r;
    return K_OK;
}

static ssize_t pieces_reader_read(obj_reader *r, uint64_t pos, void *buf, size_t max) {
    if (pos < r->cur_start) { /* backwards: find the piece from the start */
        if (r->r) data_reader_close(r->r);
        r->r = NULL;
        r->cur = 0;
        r->cur_start = 0;
    }
    while (r->cur < r->npr && pos >= r->cur_start + r->pr[r->cur].len) {
        r->cur_start += r->pr[r->cur].len;
        r->cur++;
        if (r->r) data_reader_close(r->r);
        r->r = NULL;
    }
    if (r->cur >= r->npr) return 0;
    piece_run *p = &r->pr[r->cur];
    if (!r->r) {
        kerr e = data_reader_open(r->data, p->run, p->nrun, p->off, p->len, &r->r);
        if (e) {
            log_error("large object segment unreadable: %s", kerr_name(e));
            return -1;
        }
    }
    uint64_t in = pos - r->cur_start, left = p->len - in;
    ssize_t n = data_reader_read(r->r, in, buf, max < left ? max : (size_t)left);
    if (n < 0)
        log_error("read failed at range offset %llu: %s", (unsigned long long)pos,
                  kerr_name(data_reader_error(r->r)));
    return n;
}

/* Parses Swift's SLO segment "range" against a segment of size bytes:
 * "A-B", "A-" or "-N" (RFC 7233 byte-range-spec without "bytes="). */
static bool slo_range(const char *v, uint64_t size, uint64_t *first, uint64_t *last) {
    const char *dash = strchr(v, '-');
    if (!dash || strchr(dash + 1, '-')) return false;
    uint64_t a = 0, b = 0;
    bool ha = dash > v, hb = dash[1] != 0;
    for (const char *q = v; q < dash; q++) {
        if (*q < '0' || *q > '9' || a > UINT64_MAX / 10 - 10) return false;
        a = a * 10 + (uint64_t)(*q - '0');
    }
    for (const char *q = dash + 1; *q; q++) {
        if (*q < '0' || *q > '9' || b > UINT64_MAX / 10 - 10) return false;
        b = b * 10 + (uint64_t)(*q - '0');
    }
    if (!ha && !hb) return false;
    if (!ha) { /* the last b bytes */
        if (!b || !size) return false;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return true;
    }
    if (hb && b < a) return false;
    if (a >= size) return false;
    *first = a;
    *last = hb && b < size ? b : size - 1;
    return true;
}

static const char *attr_of(const obj_meta *m, const char *name) {
    for (uint32_t i = 0; i < m->nattrs; i++)
        if (!strcmp(m->attrs[i].name, name)) return m->attrs[i].value;
    return NULL;
}

kerr objsvc_slo_put(objsvc *s, arena *a, const principal *p, const bucket_info *b, const char *key,
                    size_t klen, const obj_slo_in *in, uint32_t n, const obj_attr *attrs,
                    uint32_t nattrs, uint8_t acl, const char *want_etag, obj_meta *out,
                    obj_slo_problem **errs) {
    *errs = NULL;
    kerr e = key_check(key, klen);
    if (e) return e;
    if (n > OBJ_SLO_MAX_SEGMENTS) return K_EINVAL;
    obj_slo_problem *pr = arena_zalloc(a, (n ? n : 1) * sizeof *pr);
    obj_slo_seg *segs = arena_zalloc(a, (n ? n : 1) * sizeof *segs);
    lo_ctx c = {.s = s, .a = a, .p = p};
    khash *h = khash_new(KH_MD5);
    if (!h) return K_ENOMEM;
    bool bad = false;
    uint64_t total = 0;
    for (uint32_t i = 0; i < n && !e; i++) {
        const bucket_info *sb;
        obj_meta sm;
        kerr se = lo_bucket(&c, in[i].bucket, &sb);
        if (!se) se = objsvc_object_open_manifest(s, a, p, sb, in[i].key, in[i].klen, &sm);
        if (se == K_ENOSUCHBUCKET || se == K_ENOSUCHKEY || se == K_EINVALIDBUCKETNAME) {
            pr[i] = SLO_SEG_NOT_FOUND;
        } else if (se == K_EACCESSDENIED) {
            pr[i] = SLO_SEG_FORBIDDEN;
        } else if (se) {
            pr[i] = SLO_SEG_ERROR;
            e = se;
        } else if (sm.large == OBJ_LARGE_DLO) {
            pr[i] = SLO_SEG_NOT_FOUND; /* kura keeps DLOs out of SLOs */
        } else if (in[i].etag && strcasecmp(in[i].etag, sm.etag)) {
            pr[i] = SLO_SEG_ETAG_MISMATCH;
        } else if (in[i].size != UINT64_MAX && in[i].size != sm.size) {
            pr[i] = SLO_SEG_SIZE_MISMATCH;
        } else {
            obj_slo_seg *g = &segs[i];
            g->bucket = arena_strdup(a, in[i].bucket);
            g->key = arena_strndup(a, in[i].key, in[i].klen);
            g->klen = in[i].klen;
            memcpy(g->etag, sm.etag, sizeof g->etag);
            g->size = sm.size;
            g->sub_slo = sm.large == OBJ_LARGE_SLO;
            const char *ct = attr_of(&sm, "content-type");
            g->content_type = arena_strdup(a, ct ? ct : "application/octet-stream");
            g->mtime_ms = sm.mtime_ms;
            if (in[i].range) {
                if (!slo_range(in[i].range, sm.size, &g->first, &g->last)) {
                    pr[i] = SLO_SEG_BAD_RANGE;
                    bad = true;
                    continue;
                }
                /* a range of the whole segment is no range (as Swift) */
                g->has_range = g->first || g->last + 1 != sm.size;
            }
            uint64_t glen = g->has_range ? g->last - g->first + 1 : g->size;
            if (!glen && i + 1 < n) {
                pr[i] = SLO_SEG_TOO_SMALL;
                bad = true;
                continue;
            }
            total += glen;
            khash_update(h, g->etag, strlen(g->etag));
            if (g->has_range) {
                char rs[48];
                int rn = snprintf(rs, sizeof rs, ":%llu-%llu;", (unsigned long long)g->first,
                                  (unsigned long long)g->last);
                khash_update(h, rs, (size_t)rn);
            }
            continue;
        }
        bad = true;
    }
    uint8_t md5[32];
    khash_final(h, md5);
    khash_free(h);
    *errs = pr;
    if (e) return e;
    if (bad) return K_EINVAL;
    if (total > OBJ_MAX_SIZE) return K_EENTITYTOOLARGE;
    char etag[48];
    hex_encode(md5, 16, etag);
    if (want_etag) {
        size_t wl = strlen(want_etag);
        if (wl >= 2 && want_etag[0] == '"' && want_etag[wl - 1] == '"') want_etag++, wl -= 2;
        if (wl != 32 || strncasecmp(want_etag, etag, 32)) return K_EBADDIGEST;
    }
    obj_meta m = {.size = total,
                  .mtime_ms = clock_real_ms(),
                  .acl = acl,
                  .nattrs = nattrs,
                  .attrs = (obj_attr *)attrs,
                  .home = s->home,
                  .large = OBJ_LARGE_SLO,
                  .nslo = n,
                  .slo = segs};
    memcpy(m.etag, etag, sizeof etag);
    keybuf ns;
    obj_ns(&ns, b->id);
    e = radix_insert(s->tree, ns.b, ns.n, key, klen);
    if (!e) e = replace_obj_record(s, b->id, key, klen, &m, NULL);
    if (!e && out) *out = m;
    return e;
}

/* ------------------------------------------------------------ uploading */

struct obj_put {
    objsvc *s;
    arena *a;
    const bucket_info *b;
    const char *key;
    size_t klen;
    uint64_t size, written; /* size: OBJ_SIZE_UNKNOWN until finish */
    data_put *w;
    khash *md5;
    cksum ck;
    uint8_t ck_out[32];
    size_t ck_out_len;
    const obj_attr *attrs;
    uint32_t nattrs;
    const obj_attr *tags;
    uint32_t ntags;
    uint8_t acl;
    const obj_cond *cond;
    /* part uploads */
    const upload_info *upload;
    uint32_t part_number;
    uint8_t md5_out[32];
};

static kerr put_start(objsvc *s, arena *a, uint64_t size, cksum_alg ck_alg, obj_put **out) {
    obj_put *p = arena_zalloc(a, sizeof *p);
    p->s = s;
    p->a = a;
    p->size = size;
    kerr e = data_put_begin(s->data, size == OBJ_SIZE_UNKNOWN ? DATA_SIZE_UNKNOWN : size, &p->w);
    if (e) return e;
    p->md5 = khash_new(KH_MD5);
    cksum_init(&p->ck, ck_alg);
    *out = p;
    return K_OK;
}

kerr objsvc_put_begin(objsvc *s, arena *a, const bucket_info *b, const char *key, size_t klen,
                      const obj_put_opts *o, obj_put **out) {
    kerr e = key_check(key, klen);
    if (e) return e;
    if (o->size > OBJ_MAX_PUT_SIZE && o->size != OBJ_SIZE_UNKNOWN) return K_EENTITYTOOLARGE;
    e = tags_valid(o->tags, o->ntags, OBJ_MAX_TAGS);
    if (e) return e;
    e = put_start(s, a, o->size, o->ck_alg, out);
    if (e) return e;
    obj_put *p = *out;
    p->b = b;
    p->key = key;
    p->klen = klen;
    p->attrs = o->attrs;
    p->nattrs = o->nattrs;
    p->tags = o->tags;
    p->ntags = o->ntags;
    p->acl = o->acl;
    p->cond = o->cond;
    return K_OK;
}

kerr objsvc_put_write(obj_put *p, const void *data, size_t n) {
    if (p->size == OBJ_SIZE_UNKNOWN) {
        if (n > OBJ_MAX_PUT_SIZE - p->written) return K_EENTITYTOOLARGE;
    } else if (n > p->size - p->written) {
        return K_EINVAL;
    }
    kerr e = data_put_write(p->w, data, n);
    if (e) return e;
    khash_update(p->md5, data, n);
    if (p->ck.alg != CK_NONE) cksum_update(&p->ck, data, n);
    p->written += n;
    return K_OK;
}

#define COPY_PIECE (1u << 20)

kerr objsvc_put_copy(obj_put *p, const obj_meta *src, uint64_t off, uint64_t len) {
    if (off > src->size || len > src->size - off) return K_EINVALIDRANGE;
    if (!len) return K_OK;
    char *buf = malloc(len < COPY_PIECE ? (size_t)len : COPY_PIECE);
    if (!buf) return K_ENOMEM;
    kerr e = K_OK;
    while (len && !e) {
        size_t n = len < COPY_PIECE ? (size_t)len : COPY_PIECE;
        e = read_range(p->s, src, off, buf, n);
        if (!e) e = objsvc_put_write(p, buf, n);
        off += n;
        len -= n;
    }
    free(buf);
    return e;
}

size_t objsvc_put_cksum(const obj_put *p, uint8_t out[32]) {
    memcpy(out, p->ck_out, p->ck_out_len);
    return p->ck_out_len;
}

/* A write whose record could not be committed: its data is released,
 * unless the failure leaves open whether the record was written after all
 * (a metadata store that timed out or dropped the connection after taking
 * the write): compaction would then really remove bytes a record names.
 * Such data is kept (a leak a scrub can find) rather than risked. */
static void release_unless_committed(objsvc *s, const data_loc *run, uint32_t nrun, kerr e) {
    if (e == K_EUNAVAILABLE || e == K_EIO || e == K_EINTERNAL || e == K_ENOMEM) {
        log_warn("objsvc: keeping the data of a write whose commit may have taken effect (%s)",
                 kerr_name(e));
        return;
    }
    data_release(s->data, run, nrun);
}

/* Drops the writer (releasing whatever it stored) and the hashes. */
static void put_release(obj_put *p) {
    if (p->w) data_put_abort(p->w);
    p->w = NULL;
    khash_free(p->md5);
    p->md5 = NULL;
    cksum_free(&p->ck);
}

void objsvc_put_abort(obj_put *p) {
    if (!p) return;
    put_release(p);
}

static void part_key(keybuf *k, const char *upload_id, uint32_t number) {
    kb_start(k, 'P');
    kb_str(k, upload_id);
    uint8_t n[4];
    store_be32(n, number);
    kb_add(k, n, 4);
}
static void part_ns(keybuf *k, const char *upload_id) {
    kb_start(k, 'p');
    kb_str(k, upload_id);
}

static kerr finish_part(obj_put *p, const uint8_t md5[16], data_loc loc, obj_meta *out) {
    objsvc *s = p->s;
    part_rec pr = {.info = {.number = p->part_number,
                            .size = p->size,
                            .mtime_ms = clock_real_ms(),
                            .ck_len = (uint8_t)p->ck_out_len},
                   .home = s->home,
                   .loc = loc};
    part_info *pi = &pr.info;
    memcpy(pi->md5, md5, 16);
    memcpy(pi->ck, p->ck_out, p->ck_out_len);
    keybuf k, ns;
    part_key(&k, p->upload->upload_id, p->part_number);
    part_ns(&ns, p->upload->upload_id);
    uint8_t num[4];
    store_be32(num, p->part_number);
    kerr e = radix_insert(s->tree, ns.b, ns.n, num, 4);
    if (e) return e;
    kbuf rec = KBUF_INIT, old = KBUF_INIT;
    rec_part_encode(&rec, &pr);
    bool absent = true;
    e = record_update(s->meta, &k, step_store, &rec, &old, &absent);
    if (!e && !absent) {
        part_rec prev;
        if (!rec_part_decode(old.data, old.len, &prev)) data_release(s->data, &prev.loc, 1);
    }
    kbuf_free(&rec);
    kbuf_free(&old);
    if (!e && out) {
        memset(out, 0, sizeof *out);
        out->size = p->size;
        out->mtime_ms = pi->mtime_ms;
        hex_encode(md5, 16, out->etag);
        out->ck_alg = (uint8_t)p->ck.alg;
        out->ck_len = pi->ck_len;
        memcpy(out->ck, pi->ck, pi->ck_len);
    }
    return e;
}

static kerr commit_object(obj_put *p, obj_meta *m, const uint8_t md5[16]) {
    m->size = p->size;
    m->mtime_ms = clock_real_ms();
    m->acl = p->acl;
    m->nattrs = p->nattrs;
    m->attrs = (obj_attr *)p->attrs;
    m->ntags = p->ntags;
    m->tags = (obj_attr *)p->tags;
    m->ck_alg = (uint8_t)p->ck.alg;
    m->ck_type = p->ck.alg != CK_NONE ? CKTYPE_FULL_OBJECT : CKTYPE_NONE;
    m->ck_len = (uint8_t)p->ck_out_len;
    memcpy(m->ck, p->ck_out, p->ck_out_len);
    m->home = p->s->home;
    for (uint32_t i = 0; i < m->nattrs; i++)
        if (!strcmp(m->attrs[i].name, OBJ_ATTR_DLO)) m->large = OBJ_LARGE_DLO;
    hex_encode(md5, 16, m->etag);
    keybuf ns;
    obj_ns(&ns, p->b->id);
    kerr e = radix_insert(p->s->tree, ns.b, ns.n, p->key, p->klen);
    if (!e) e = replace_obj_record(p->s, p->b->id, p->key, p->klen, m, p->cond);
    return e;
}

kerr objsvc_put_finish(obj_put *p, const obj_put_expect *ex, obj_meta *out) {
    uint8_t *md5 = p->md5_out;
    khash_final(p->md5, md5);
    if (p->ck.alg != CK_NONE) p->ck_out_len = cksum_final(&p->ck, p->ck_out);
    kerr e = K_OK;
    bool unknown = p->size == OBJ_SIZE_UNKNOWN;
    if (unknown) p->size = p->written;
    if (p->written != p->size)
        e = K_EINCOMPLETEBODY;
    else if (ex && ex->md5 && memcmp(ex->md5, md5, 16))
        e = K_EBADDIGEST;
    else if (ex && ex->ck && (ex->ck_len != p->ck_out_len || memcmp(ex->ck, p->ck_out, ex->ck_len)))
        e = K_EBADDIGEST;
    if (e) {
        put_release(p);
        return e;
    }
    data_loc *run;
    uint32_t nrun;
    e = data_put_finish(p->w, &run, &nrun);
    p->w = NULL; /* consumed either way */
    if (e) {
        put_release(p);
        return e;
    }
    if (p->upload) {
        /* a part is one needle: its record holds one location */
        e = unknown || nrun != 1 ? K_EMISSINGLENGTH : finish_part(p, md5, run[0], out);
        if (e) release_unless_committed(p->s, run, nrun, e);
        free(run);
        put_release(p);
        return e;
    }
    obj_part_loc *segs = arena_zalloc(p->a, nrun * sizeof *segs);
    for (uint32_t i = 0; i < nrun; i++) segs[i].loc = run[i];
    if (nrun == 1) memcpy(segs[0].md5, md5, 16);
    obj_meta m = {.nsegs = nrun, .segs = segs};
    e = commit_object(p, &m, md5);
    if (e) release_unless_committed(p->s, run, nrun, e);
    free(run);
    put_release(p);
    if (!e && out) *out = m;
    return e;
}

/* -------------------------------------------------------------- listing */

/* The tree's request for a listing request. */
static radix_list_req tree_req(const obj_list_req *req) {
    return (radix_list_req){.prefix = req->prefix,
                            .prefix_len = req->prefix_len,
                            .start_after = req->start_after,
                            .start_after_len = req->start_after_len,
                            .delim = req->delim,
                            .delim_len = req->delim_len,
                            .max_entries = req->max_entries ? req->max_entries : 1000};
}

/* A listing; with_expired: expired objects too (to delete them). */
static kerr list_objects(objsvc *s, arena *a, const bucket_info *b, const obj_list_req *req,
                         bool with_expired, list_entry **out, size_t *n, bool *truncated) {
    int64_t now = clock_real_ms();
    keybuf ns;
    obj_ns(&ns, b->id);
    radix_list_req r = tree_req(req);
    size_t want = r.max_entries;
    list_entry *res = arena_alloc(a, want * sizeof *res);
    size_t count = 0;
    collect_ctx c = {.a = a};
    bool trunc = false;
    kerr e = K_OK;
    while (count < want) {
        r.max_entries = want - count;
        c.n = 0;
        trunc = false;
        e = radix_list(s->tree, ns.b, ns.n, &r, collect_emit, &c, &trunc);
        if (e) break;
        /* the names first, then all their records in one multi-get */
        rec_reads rr;
        rr_init(&rr, a, c.n);
        for (size_t i = 0; i < c.n; i++) {
            if (c.items[i].is_prefix) continue;
            keybuf k;
            obj_key(&k, b->id, c.items[i].p, c.items[i].len);
            rr_add(&rr, a, &k);
        }
        e = rr_run(s, &rr);
        for (size_t i = 0, j = 0; !e && i < c.n; i++) {
            list_entry *le = &res[count];
            le->key = c.items[i].p;
            le->klen = c.items[i].len;
            le->is_prefix = c.items[i].is_prefix;
            if (!le->is_prefix) {
                const kbuf *v = &rr.vals[j];
                if (rr.errs[j++] == K_ENOTFOUND) continue; /* an unfinished or interrupted write */
                e = rec_obj_decode(a, v->data, v->len, &le->meta);
                if (e) break;
                if (!with_expired && obj_expired(&le->meta, now)) continue;
            }
            count++;
        }
        rr_free(&rr);
        if (e || !trunc || !c.n) break;
        r.start_after = c.items[c.n - 1].p;
        r.start_after_len = c.items[c.n - 1].len;
    }
    if (e) return e;
    *out = res;
    *n = count;
    *truncated = trunc;
    return K_OK;
}

kerr objsvc_list(objsvc *s, arena *a, const bucket_info *b, const obj_list_req *req,
                 list_entry **out, size_t *n, bool *truncated) {
    return list_objects(s, a, b, req, false, out, n, truncated);
}

/* ------------------------------------------------------------ multipart */

static void upload_key(keybuf *k, const uint8_t bid[8], const char *upload_id) {
    kb_start(k, 'M');
    kb_add(k, bid, 8);
    kb_str(k, upload_id);
}

static void upload_name(keybuf *k, const char *key, size_t klen, const char *upload_id) {
    k->n = 0;
    kb_add(k, key, klen);
    kb_add(k, "", 1);
    kb_str(k, upload_id);
}

kerr objsvc_mpu_create(objsvc *s, arena *a, const bucket_info *b, const char *key, size_t klen,
                       const obj_attr *attrs, uint32_t nattrs, const obj_attr *tags, uint32_t ntags,
                       uint8_t acl, cksum_alg ck_alg, cksum_type ck_type, const char *owner,
                       char upload_id[33]) {
    kerr e = key_check(key, klen);
    if (!e) e = tags_valid(tags, ntags, OBJ_MAX_TAGS);
    if (e) return e;
    upload_info u = {.key = (char *)key,
                     .klen = klen,
                     .initiated_ms = clock_real_ms(),
                     .owner = (char *)owner,
                     .proto = {.attrs = (obj_attr *)attrs,
                               .nattrs = nattrs,
                               .tags = (obj_attr *)tags,
                               .ntags = ntags,
                               .acl = acl,
                               .ck_alg = (uint8_t)ck_alg,
                               .ck_type = (uint8_t)ck_type}};
    random_hex(u.upload_id, 16);
    keybuf ns, name, k;
    upload_ns(&ns, b->id);
    upload_name(&name, key, klen, u.upload_id);
    e = radix_insert(s->tree, ns.b, ns.n, name.b, name.n);
    if (e) return e;
    upload_key(&k, b->id, u.upload_id);
    kbuf rec = KBUF_INIT;
    rec_upload_encode(&rec, &u);
    e = kv_put(s->meta, k.b, k.n, rec.data, rec.len);
    kbuf_free(&rec);
    if (!e) memcpy(upload_id, u.upload_id, 33);
    (void)a;
    return e;
}

kerr objsvc_mpu_get(objsvc *s, arena *a, const bucket_info *b, const char *upload_id,
                    upload_info *out) {
    if (strlen(upload_id) != 32) return K_ENOSUCHUPLOAD;
    keybuf k;
    upload_key(&k, b->id, upload_id);
    kbuf v = KBUF_INIT;
    kerr e = kv_get(s->meta, k.b, k.n, &v);
    if (!e)
        e = rec_upload_decode(a, v.data, v.len, out);
    else if (e == K_ENOTFOUND)
        e = K_ENOSUCHUPLOAD;
    kbuf_free(&v);
    return e;
}

kerr objsvc_part_begin(objsvc *s, arena *a, const bucket_info *b, const upload_info *u,
                       uint32_t part_number, uint64_t size, obj_put **out) {
    if (part_number < 1 || part_number > OBJ_MAX_PARTS) return K_EINVAL;
    if (size > OBJ_MAX_PUT_SIZE) return K_EENTITYTOOLARGE;
    kerr e = put_start(s, a, size, (cksum_alg)u->proto.ck_alg, out);
    if (e) return e;
    (*out)->b = b;
    (*out)->upload = u;
    (*out)->part_number = part_number;
    return K_OK;
}

static kerr load_parts(objsvc *s, arena *a, const upload_info *u, uint32_t after, uint32_t max,
                       part_rec **out, size_t *n, bool *truncated) {
    keybuf ns;
    part_ns(&ns, u->upload_id);
    uint8_t start[4];
    store_be32(start, after);
    radix_list_req req = {.max_entries = max};
    if (after) {
        req.start_after = start;
        req.start_after_len = 4;
    }
    collect_ctx c = {.a = a};
    kerr e = radix_list(s->tree, ns.b, ns.n, &req, collect_emit, &c, truncated);
    if (e) return e;
    part_rec *res = arena_alloc(a, (c.n ? c.n : 1) * sizeof *res);
    size_t count = 0;
    rec_reads rr;
    rr_init(&rr, a, c.n);
    for (size_t i = 0; i < c.n; i++) {
        if (c.items[i].len != 4) continue;
        const uint8_t *num = (const uint8_t *)c.items[i].p;
        uint32_t number =
            (uint32_t)num[0] << 24 | (uint32_t)num[1] << 16 | (uint32_t)num[2] << 8 | num[3];
        keybuf k;
        part_key(&k, u->upload_id, number);
        rr_add(&rr, a, &k);
    }
    e = rr_run(s, &rr);
    for (size_t j = 0; !e && j < rr.n; j++) {
        if (rr.errs[j] == K_ENOTFOUND) continue;
        e = rec_part_decode(rr.vals[j].data, rr.vals[j].len, &res[count]);
        if (!e) count++;
    }
    rr_free(&rr);
    *out = res;
    *n = count;
    return e;
}

kerr objsvc_mpu_list_parts(objsvc *s, arena *a, const upload_info *u, uint32_t after, uint32_t max,
                           part_info **out, size_t *n, bool *truncated) {
    part_rec *recs;
    kerr e = load_parts(s, a, u, after, max ? max : 1000, &recs, n, truncated);
    if (e) return e;
    part_info *res = arena_alloc(a, (*n ? *n : 1) * sizeof *res);
    for (size_t i = 0; i < *n; i++) res[i] = recs[i].info;
    *out = res;
    return K_OK;
}

/* Deletes the upload's part records, its part tree and the upload record.
 * Needles of parts listed in keep (sorted numbers) survive: they now belong
 * to the completed object. */
static void drop_upload(objsvc *s, const bucket_info *b, const upload_info *u,
                        const mpu_complete_part *keep, size_t nkeep) {
    arena *a = arena_new(0);
    keybuf ns, name, k;
    part_ns(&ns, u->upload_id);
    uint32_t after = 0;
    for (;;) {
        part_rec *parts;
        size_t n;
        bool trunc;
        if (load_parts(s, a, u, after, 1000, &parts, &n, &trunc)) break;
        for (size_t i = 0; i < n; i++) {
            uint32_t number = parts[i].info.number;
            bool kept = false;
            for (size_t j = 0; j < nkeep && !kept; j++) kept = keep[j].number == number;
            if (!kept) data_release(s->data, &parts[i].loc, 1);
            part_key(&k, u->upload_id, number);
            kv_del(s->meta, k.b, k.n);
            uint8_t num[4];
            store_be32(num, number);
            radix_remove(s->tree, ns.b, ns.n, num, 4);
            after = number;
        }
        if (!trunc || !n) break;
        arena_reset(a);
    }
    upload_key(&k, b->id, u->upload_id);
    kv_del(s->meta, k.b, k.n);
    upload_ns(&ns, b->id);
    upload_name(&name, u->key, u->klen, u->upload_id);
    radix_remove(s->tree, ns.b, ns.n, name.b, name.n);
    arena_free(a);
}

kerr objsvc_mpu_complete(objsvc *s, arena *a, const bucket_info *b, const upload_info *u,
                         const mpu_complete_part *parts, size_t nparts,
                         const mpu_complete_expect *x, obj_meta *out) {
    const obj_cond *cond = x ? x->cond : NULL;
    uint64_t expect_size = x ? x->size : OBJ_SIZE_UNKNOWN;
    if (nparts == 0 || nparts > OBJ_MAX_PARTS) return K_EMALFORMEDXML;
    for (size_t i = 1; i < nparts; i++)
        if (parts[i].number <= parts[i - 1].number) return K_EINVALIDPARTORDER;
    obj_meta m = {.mtime_ms = clock_real_ms(),
                  .home = s->home,
                  .acl = u->proto.acl,
                  .nattrs = u->proto.nattrs,
                  .attrs = u->proto.attrs,
                  .ntags = u->proto.ntags,
                  .tags = u->proto.tags,
                  .nparts = (uint32_t)nparts,
                  .nsegs = (uint32_t)nparts};
    m.segs = arena_alloc(a, nparts * sizeof *m.segs);
    khash *etag_md5 = khash_new(KH_MD5);
    cksum_alg alg = (cksum_alg)u->proto.ck_alg;
    cksum composite;
    cksum_init(&composite, alg == CK_NONE ? CK_NONE : alg);
    uint64_t full_crc = 0;
    bool have_ck = alg != CK_NONE;
    kerr e = K_OK;
    kbuf v = KBUF_INIT;
    for (size_t i = 0; i < nparts && !e; i++) {
        keybuf k;
        part_key(&k, u->upload_id, parts[i].number);
        part_rec pr;
        e = kv_get(s->meta, k.b, k.n, &v);
        if (e == K_ENOTFOUND) e = K_EINVALIDPART;
        if (!e) e = rec_part_decode(v.data, v.len, &pr);
        if (e) break;
        const part_info pi = pr.info;
        if (memcmp(pi.md5, parts[i].md5, 16))
            e = K_EINVALIDPART;
        else if (pr.home && s->home && pr.home != s->home)
            e = K_EUNAVAILABLE; /* the part's data is on another gateway */
        else if (i + 1 < nparts && pi.size < OBJ_MIN_PART_SIZE)
            e = K_EENTITYTOOSMALL;
        else if (parts[i].has_ck && (pi.ck_len == 0 || memcmp(pi.ck, parts[i].ck, pi.ck_len)))
            e = K_EINVALIDPART;
        if (e) break;
        m.segs[i].loc = pr.loc;
        memcpy(m.segs[i].md5, pi.md5, 16);
        m.size += pi.size;
        khash_update(etag_md5, pi.md5, 16);
        if (have_ck && pi.ck_len == cksum_len(alg)) {
            cksum_update(&composite, pi.ck, pi.ck_len);
            uint64_t part_crc = 0;
            for (size_t j = 0; j < pi.ck_len && j < 8; j++) part_crc = part_crc << 8 | pi.ck[j];
            if (i == 0)
                full_crc = part_crc;
            else if (alg == CK_CRC32)
                full_crc = crc32_combine((uint32_t)full_crc, (uint32_t)part_crc, pi.size);
            else if (alg == CK_CRC32C)
                full_crc = crc32c_combine((uint32_t)full_crc, (uint32_t)part_crc, pi.size);
            else if (alg == CK_CRC64NVME)
                full_crc = crc64nvme_combine(full_crc, part_crc, pi.size);
        } else {
            have_ck = false;
        }
    }
    kbuf_free(&v);
    uint8_t digest[32];
    khash_final(etag_md5, digest);
    khash_free(etag_md5);
    uint8_t comp[32];
    size_t comp_len = cksum_final(&composite, comp);
    cksum_free(&composite);
    if (e) return e;
    if (expect_size != OBJ_SIZE_UNKNOWN && expect_size != m.size) return K_EINVALIDREQUEST;
    char hex[33];
    hex_encode(digest, 16, hex);
    snprintf(m.etag, sizeof m.etag, "%s-%zu", hex, nparts);
    if (have_ck) {
        m.ck_alg = (uint8_t)alg;
        bool full = u->proto.ck_type == CKTYPE_FULL_OBJECT &&
                    (alg == CK_CRC32 || alg == CK_CRC32C || alg == CK_CRC64NVME);
        if (full) {
            m.ck_type = CKTYPE_FULL_OBJECT;
            m.ck_len = (uint8_t)cksum_len(alg);
            for (size_t j = 0; j < m.ck_len; j++)
                m.ck[j] = (uint8_t)(full_crc >> (8 * (m.ck_len - 1 - j)));
        } else {
            m.ck_type = CKTYPE_COMPOSITE;
            m.ck_len = (uint8_t)comp_len;
            memcpy(m.ck, comp, comp_len);
        }
    }
    if (x && x->ck && (!have_ck || x->ck_len != m.ck_len || memcmp(x->ck, m.ck, m.ck_len)))
        return K_EBADDIGEST;
    keybuf ns;
    obj_ns(&ns, b->id);
    e = radix_insert(s->tree, ns.b, ns.n, u->key, u->klen);
    if (!e) e = replace_obj_record(s, b->id, u->key, u->klen, &m, cond);
    if (e) return e;
    drop_upload(s, b, u, parts, nparts);
    if (out) *out = m;
    return K_OK;
}

kerr objsvc_mpu_abort(objsvc *s, const bucket_info *b, const upload_info *u) {
    drop_upload(s, b, u, NULL, 0);
    return K_OK;
}

kerr objsvc_mpu_list(objsvc *s, arena *a, const bucket_info *b, const obj_list_req *req,
                     mpu_list_entry **out, size_t *n, bool *truncated) {
    keybuf ns;
    upload_ns(&ns, b->id);
    radix_list_req r = tree_req(req);
    size_t want = r.max_entries;
    collect_ctx c = {.a = a};
    kerr e = radix_list(s->tree, ns.b, ns.n, &r, collect_emit, &c, truncated);
    if (e) return e;
    mpu_list_entry *res = arena_zalloc(a, (c.n ? c.n : 1) * sizeof *res);
    size_t count = 0;
    /* the upload records of the listed names, in one multi-get; rec[i] is
     * item i's index in rr, or SIZE_MAX for an item without a record */
    size_t *rec = arena_alloc(a, (c.n ? c.n : 1) * sizeof *rec);
    rec_reads rr;
    rr_init(&rr, a, c.n);
    for (size_t i = 0; i < c.n; i++) {
        rec[i] = SIZE_MAX;
        if (c.items[i].is_prefix) continue;
        const char *nul = memchr(c.items[i].p, 0, c.items[i].len);
        if (!nul || strlen(nul + 1) != 32) continue; /* not "key \0 upload_id" */
        keybuf k;
        upload_key(&k, b->id, nul + 1);
        rec[i] = rr.n;
        rr_add(&rr, a, &k);
    }
    e = rr_run(s, &rr);
    for (size_t i = 0; !e && i < c.n && count < want; i++) {
        mpu_list_entry *le = &res[count];
        if (c.items[i].is_prefix) {
            le->is_prefix = true;
            le->prefix = c.items[i].p;
            le->prefix_len = c.items[i].len;
            count++;
            continue;
        }
        if (rec[i] == SIZE_MAX || rr.errs[rec[i]] == K_ENOTFOUND) continue;
        const kbuf *v = &rr.vals[rec[i]];
        e = rec_upload_decode(a, v->data, v->len, &le->u);
        if (!e) count++;
    }
    rr_free(&rr);
    if (e) return e;
    *out = res;
    *n = count;
    return K_OK;
}

/* ------------------------------------------------------------ data walk */

kerr objsvc_walk_data(objsvc *s, const char *const *owners, size_t nowners, objsvc_data_fn fn,
                      void *arg, uint64_t *unreadable) {
    *unreadable = 0;
    kerr e = K_OK;
    bool stop = false;
    for (size_t o = 0; !e && !stop && o < nowners; o++) {
        principal p = {.kind = !strcmp(owners[o], "root") ? PRINCIPAL_ROOT : PRINCIPAL_USER,
                       .user = owners[o],
                       .account = owners[o],
                       .admin = true};
        arena *a = arena_new(0);
        bucket_info *bs;
        size_t nb;
        e = objsvc_bucket_list(s, a, &p, &bs, &nb);
        for (size_t i = 0; !e && !stop && i < nb; i++) {
            keybuf ns;
            obj_ns(&ns, bs[i].id);
            radix_list_req req = {.max_entries = 1000};
            for (;;) {
                arena *pa = arena_new(0);
                collect_ctx c = {.a = pa};
                bool trunc = false;
                e = radix_list(s->tree, ns.b, ns.n, &req, collect_emit, &c, &trunc);
                for (size_t k = 0; !e && !stop && k < c.n; k++) {
                    kbuf v = KBUF_INIT;
                    kerr ge = get_obj_raw(s, bs[i].id, c.items[k].p, c.items[k].len, &v);
                    if (ge == K_ENOSUCHKEY) {
                        kbuf_free(&v);
                        continue; /* removed meanwhile */
                    }
                    if (ge) {
                        e = ge;
                        kbuf_free(&v);
                        break;
                    }
                    obj_meta m;
                    kerr de = rec_obj_decode(pa, v.data, v.len, &m);
                    kbuf_free(&v);
                    if (de) {
                        (*unreadable)++;
                        stop = fn(arg, bs[i].name, c.items[k].p, c.items[k].len, 0, NULL, 0) != 0;
                        continue;
                    }
                    if (obj_expired(&m, clock_real_ms())) continue;
                    data_loc *run = m.nsegs ? arena_alloc(pa, m.nsegs * sizeof *run) : NULL;
                    for (uint32_t j = 0; j < m.nsegs; j++) run[j] = m.segs[j].loc;
                    stop = fn(arg, bs[i].name, c.items[k].p, c.items[k].len, m.mtime_ms, run,
                              m.nsegs) != 0;
                }
                bool more = !e && !stop && trunc && c.n;
                char *last = more ? strndup(c.items[c.n - 1].p, c.items[c.n - 1].len) : NULL;
                size_t last_len = more ? c.items[c.n - 1].len : 0;
                if (more && !last) e = K_ENOMEM, more = false; /* never from the start again */
                arena_free(pa);
                free((char *)req.start_after);
                req.start_after = last;
                req.start_after_len = last_len;
                if (!more) break;
            }
            free((char *)req.start_after);
        }
        arena_free(a);
    }
    return e;
}
