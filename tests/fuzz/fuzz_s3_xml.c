/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness for the S3 request-body XML reader (gateway/s3_xml.c)
 * and every body the front end reads with it (gateway/s3_bodies.c):
 * CreateBucketConfiguration, AccessControlPolicy, Delete,
 * CompleteMultipartUpload and Tagging; and the x-amz-tagging header's query
 * string (the body as the header's value), with the tag rules
 * (gateway/objsvc_tags.c objsvc_tags_check) over every tag set read. See
 * README.md.
 *
 * Input: byte 0 picks the upload's checksum algorithm for
 * CompleteMultipartUpload (byte 0 % CK__COUNT); the rest is the body, given
 * to every reader. The body is copied into an exactly-sized heap buffer so
 * AddressSanitizer flags any read past its end.
 *
 * Oracles besides memory safety:
 * - xml_parse: a tree's text is NUL-terminated at text_len, its depth within
 *   the documented limit, lookups by a present name find it; and the tree
 *   written back as XML (names and escaped text) parses to the same tree,
 *   whenever its names and text can be written (no prefix left, XML text).
 * - every body reader fails exactly when the XML does not parse or is not
 *   its element, and what it returns is within its contract;
 * - Delete and CompleteMultipartUpload: the parsed request written back as
 *   XML reads back to the same request;
 * - AccessControlPolicy: the policy GetBucketAcl answers for the ACL read
 *   (as gateway/s3.c writes it) reads back to the same ACL;
 * - Tagging: read exactly when the document is one TagSet of Tags of one
 *   Key and one Value; written back as GetObjectTagging writes it, it reads
 *   as the same tag set;
 * - x-amz-tagging: what is read is UTF-8 without NUL; percent-encoded
 *   again it reads as the same tag set;
 * - objsvc_tags_check: too many exactly beyond the maximum; a set it
 *   accepts has no duplicate key, no "aws:" key, no empty key, lengths
 *   within bounds; a refusal says why. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/text.h"
#include "gateway/s3_bodies.h"
#include "gateway/s3_rules.h"
#include "gateway/s3_xml.h"

/* s3_xml.h documents a depth limit of 32 below the root. */
enum { MAX_TREE_DEPTH = 33 };

#define OWNER "owner-id"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "oracle failed at %s:%d: %s\n", __FILE__, __LINE__, #c);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void check_tree(const xml_node *n, int depth) {
    for (; n; n = n->next) {
        CHECK(depth <= MAX_TREE_DEPTH);
        CHECK(n->name && n->text);
        /* text is NUL-terminated after text_len bytes (it may hold NULs). */
        CHECK(n->text[n->text_len] == '\0');
        /* Lookups by a name that exists must find a node of that name. */
        if (n->child) {
            const xml_node *found = xml_child(n, n->child->name);
            CHECK(found && !strcmp(found->name, n->child->name));
            CHECK(xml_child_text(n, n->child->name) == found->text);
        }
        check_tree(n->child, depth + 1);
    }
}

/* Whether the subtree can be written back as XML and read unchanged: names
 * without a namespace prefix that do not start like markup ("<a:?x>" has
 * the local name "?x", but "<?x>" is a processing instruction), text made
 * of XML characters. */
static bool writable(const xml_node *n) {
    for (; n; n = n->next) {
        if (!n->name[0] || strchr(n->name, ':') || n->name[0] == '?' || n->name[0] == '!')
            return false;
        if (!xml_text_ok(n->text, n->text_len)) return false;
        if (!writable(n->child)) return false;
    }
    return true;
}

static void write_tree(kbuf *b, const xml_node *n) {
    for (; n; n = n->next) {
        kbuf_printf(b, "<%s>", n->name);
        kbuf_xml_escape(b, n->text, n->text_len);
        write_tree(b, n->child);
        kbuf_printf(b, "</%s>", n->name);
    }
}

static bool same_tree(const xml_node *x, const xml_node *y) {
    for (; x && y; x = x->next, y = y->next) {
        if (strcmp(x->name, y->name) || x->text_len != y->text_len ||
            memcmp(x->text, y->text, x->text_len) || !same_tree(x->child, y->child))
            return false;
    }
    return !x && !y;
}

static void elem(kbuf *b, const char *name, const char *text, size_t n) {
    kbuf_printf(b, "<%s>", name);
    kbuf_xml_escape(b, text, n);
    kbuf_printf(b, "</%s>", name);
}

static void check_create_bucket(arena *a, const char *p, size_t n, bool parsed,
                                const xml_node *root) {
    const char *loc = "unset";
    s3_create_bucket_result r = s3_body_create_bucket(a, p, n, &loc);
    if (!parsed || strcmp(root->name, "CreateBucketConfiguration")) {
        CHECK(r == S3_CREATE_BUCKET_MALFORMED);
        return;
    }
    if (r == S3_CREATE_BUCKET_OK) {
        CHECK(!loc || (loc[0] && s3_location_valid(loc)));
        for (const xml_node *c = root->child; c; c = c->next)
            CHECK(!strcmp(c->name, "LocationConstraint"));
    } else {
        CHECK(r == S3_CREATE_BUCKET_MALFORMED || r == S3_CREATE_BUCKET_NOTIMPL ||
              r == S3_CREATE_BUCKET_INVALID_LOCATION);
    }
}

/* The AccessControlPolicy GetBucketAcl / GetObjectAcl answer (s3.c acl_xml). */
static void write_acl(kbuf *b, uint8_t acl) {
    kbuf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<AccessControlPolicy "
                 "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Owner><ID>" OWNER
                 "</ID><DisplayName>" OWNER "</DisplayName></Owner><AccessControlList><Grant>"
                 "<Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
                 "xsi:type=\"CanonicalUser\"><ID>" OWNER "</ID><DisplayName>" OWNER
                 "</DisplayName></Grantee><Permission>FULL_CONTROL</Permission></Grant>");
    static const char *const perms[] = {"READ", "WRITE"};
    for (uint8_t i = 0; i < acl && i < 2; i++)
        kbuf_printf(b,
                    "<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
                    "xsi:type=\"Group\"><URI>http://acs.amazonaws.com/groups/global/AllUsers"
                    "</URI></Grantee><Permission>%s</Permission></Grant>",
                    perms[i]);
    kbuf_puts(b, "</AccessControlList></AccessControlPolicy>");
}

static void check_acl(arena *a, const char *p, size_t n, bool parsed, const xml_node *root) {
    uint8_t acl = 0xEE;
    s3_acl_result r = s3_body_acl(a, p, n, OWNER, &acl);
    if (!parsed || strcmp(root->name, "AccessControlPolicy")) {
        CHECK(r == S3_ACL_MALFORMED);
        return;
    }
    CHECK(r != S3_ACL_MALFORMED);
    if (r != S3_ACL_OK) {
        CHECK(acl == 0xEE); /* untouched on failure */
        return;
    }
    CHECK(acl == ACL_PRIVATE || acl == ACL_PUBLIC_READ || acl == ACL_PUBLIC_READ_WRITE);
    kbuf b = KBUF_INIT;
    write_acl(&b, acl);
    uint8_t again = 0xEE;
    CHECK(s3_body_acl(a, b.data, b.len, OWNER, &again) == S3_ACL_OK && again == acl);
    kbuf_free(&b);
}

static void check_delete(arena *a, const char *p, size_t n, bool parsed, const xml_node *root) {
    s3_delete_body d;
    bool ok = s3_body_delete(a, p, n, &d);
    if (!parsed || strcmp(root->name, "Delete")) {
        CHECK(!ok);
        return;
    }
    size_t objects = 0;
    for (const xml_node *c = root->child; c; c = c->next) objects += !strcmp(c->name, "Object");
    if (!ok) {
        bool keyless = false;
        for (const xml_node *c = root->child; c; c = c->next)
            if (!strcmp(c->name, "Object") && !xml_child(c, "Key")) keyless = true;
        CHECK(keyless || objects == 0 || objects > S3_DELETE_MAX_OBJECTS);
        return;
    }
    CHECK(d.n == objects && d.n >= 1 && d.n <= S3_DELETE_MAX_OBJECTS);
    bool representable = true;
    for (size_t i = 0; i < d.n; i++) {
        const s3_delete_object *o = &d.objects[i];
        CHECK(o->key && o->key[o->key_len] == '\0');
        if (!xml_text_ok(o->key, o->key_len) ||
            (o->version_id && !xml_text_ok(o->version_id, strlen(o->version_id))) ||
            (o->etag && !xml_text_ok(o->etag, strlen(o->etag))))
            representable = false;
    }
    if (!representable) return;
    /* Written back (ETags quoted), it reads as the same request. */
    kbuf b = KBUF_INIT;
    kbuf_puts(&b, "<Delete>");
    if (d.quiet) kbuf_puts(&b, "<Quiet>true</Quiet>");
    for (size_t i = 0; i < d.n; i++) {
        const s3_delete_object *o = &d.objects[i];
        kbuf_puts(&b, "<Object>");
        elem(&b, "Key", o->key, o->key_len);
        if (o->version_id) elem(&b, "VersionId", o->version_id, strlen(o->version_id));
        if (o->etag) {
            kbuf_puts(&b, "<ETag>\"");
            kbuf_xml_escape(&b, o->etag, strlen(o->etag));
            kbuf_puts(&b, "\"</ETag>");
        }
        if (o->other_conditions) kbuf_puts(&b, "<Size>1</Size>");
        kbuf_puts(&b, "</Object>");
    }
    kbuf_puts(&b, "</Delete>");
    s3_delete_body d2;
    CHECK(s3_body_delete(a, b.data, b.len, &d2));
    CHECK(d2.quiet == d.quiet && d2.n == d.n);
    for (size_t i = 0; i < d.n; i++) {
        const s3_delete_object *x = &d.objects[i], *y = &d2.objects[i];
        CHECK(x->key_len == y->key_len && !memcmp(x->key, y->key, x->key_len));
        CHECK(!x->version_id == !y->version_id);
        CHECK(!x->version_id || !strcmp(x->version_id, y->version_id));
        CHECK(!x->etag == !y->etag);
        CHECK(!x->etag || !strcmp(x->etag, y->etag));
        CHECK(x->other_conditions == y->other_conditions);
    }
    kbuf_free(&b);
}

static void check_complete(arena *a, const char *p, size_t n, cksum_alg alg, bool parsed,
                           const xml_node *root) {
    mpu_complete_part *parts;
    size_t count;
    s3_complete_result r = s3_body_complete(a, p, n, alg, &parts, &count);
    if (!parsed || strcmp(root->name, "CompleteMultipartUpload")) {
        CHECK(r == S3_COMPLETE_MALFORMED);
        return;
    }
    if (r != S3_COMPLETE_OK) {
        CHECK(r == S3_COMPLETE_MALFORMED || r == S3_COMPLETE_INVALID_PART);
        return;
    }
    size_t listed = 0;
    for (const xml_node *c = root->child; c; c = c->next) listed += !strcmp(c->name, "Part");
    CHECK(count >= 1 && count == listed && parts);
    for (size_t i = 0; i < count; i++) {
        CHECK(parts[i].number >= 1 && parts[i].number <= OBJ_MAX_PARTS);
        CHECK(!parts[i].has_ck || alg != CK_NONE);
    }
    /* Written back the way SDKs send it, it reads as the same parts. */
    kbuf b = KBUF_INIT;
    kbuf_puts(&b, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    for (size_t i = 0; i < count; i++) {
        char hex[33];
        hex_encode(parts[i].md5, 16, hex);
        kbuf_printf(&b, "<Part><PartNumber>%u</PartNumber><ETag>&quot;%s&quot;</ETag>",
                    parts[i].number, hex);
        if (parts[i].has_ck) {
            char b64[64];
            base64_encode(parts[i].ck, cksum_len(alg), b64);
            kbuf_printf(&b, "<Checksum%s>%s</Checksum%s>", cksum_alg_name(alg), b64,
                        cksum_alg_name(alg));
        }
        kbuf_puts(&b, "</Part>");
    }
    kbuf_puts(&b, "</CompleteMultipartUpload>");
    mpu_complete_part *again;
    size_t count2;
    CHECK(s3_body_complete(a, b.data, b.len, alg, &again, &count2) == S3_COMPLETE_OK);
    CHECK(count2 == count);
    for (size_t i = 0; i < count; i++) {
        CHECK(again[i].number == parts[i].number && again[i].has_ck == parts[i].has_ck);
        CHECK(!memcmp(again[i].md5, parts[i].md5, 16));
        CHECK(!parts[i].has_ck || !memcmp(again[i].ck, parts[i].ck, cksum_len(alg)));
    }
    kbuf_free(&b);
}

/* The tag rules over a tag set read from the input (objsvc.h). */
static void check_tag_rules(const obj_attr *tags, uint32_t n) {
    const uint32_t maxes[] = {OBJ_MAX_TAGS, BUCKET_MAX_TAGS};
    for (size_t m = 0; m < 2; m++) {
        const char *why = "unset", *bad = "unset";
        kerr e = objsvc_tags_check(tags, n, maxes[m], &why, &bad);
        CHECK((e == K_ETOOMANYTAGS) == (n > maxes[m]));
        if (e == K_EINVALIDTAG) CHECK(why && why[0] && bad);
        if (e) continue;
        CHECK(e == K_OK && !why && !bad);
        for (uint32_t i = 0; i < n; i++) {
            size_t kl = strlen(tags[i].name), vl = strlen(tags[i].value);
            /* at most 4 bytes per UTF-16 unit counted */
            CHECK(kl >= 1 && kl <= 4 * OBJ_TAG_KEY_MAX && vl <= 4 * OBJ_TAG_VALUE_MAX);
            CHECK(utf8_valid(tags[i].name, kl) && utf8_valid(tags[i].value, vl));
            CHECK(strncmp(tags[i].name, "aws:", 4));
            for (uint32_t j = 0; j < i; j++) CHECK(strcmp(tags[i].name, tags[j].name));
        }
    }
}

static void check_tagging(arena *a, const char *p, size_t n, bool parsed, const xml_node *root) {
    obj_attr *tags;
    uint32_t count;
    bool ok = s3_body_tagging(a, p, n, &tags, &count);
    if (!parsed || strcmp(root->name, "Tagging")) {
        CHECK(!ok);
        return;
    }
    /* the reference: one TagSet, only Tags in it, each exactly one Key and
     * one Value without children or NUL, nothing else */
    bool want = root->child && !root->child->next && !strcmp(root->child->name, "TagSet");
    size_t listed = 0;
    for (const xml_node *t = want ? root->child->child : NULL; t && want; t = t->next) {
        listed++;
        int keys = 0, values = 0;
        want = !strcmp(t->name, "Tag");
        for (const xml_node *c = t->child; c && want; c = c->next) {
            bool k = !strcmp(c->name, "Key"), v = !strcmp(c->name, "Value");
            keys += k, values += v;
            want = (k || v) && !c->child && !memchr(c->text, 0, c->text_len);
        }
        want = want && keys == 1 && values == 1;
    }
    CHECK(ok == want);
    if (!ok) return;
    CHECK(count == listed);
    check_tag_rules(tags, count);
    for (uint32_t i = 0; i < count; i++)
        if (!xml_text_ok(tags[i].name, strlen(tags[i].name)) ||
            !xml_text_ok(tags[i].value, strlen(tags[i].value)))
            return;
    /* written back as GetObjectTagging answers (gateway/s3.c tagging_xml) */
    kbuf b = KBUF_INIT;
    kbuf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Tagging "
                  "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><TagSet>");
    for (uint32_t i = 0; i < count; i++) {
        kbuf_puts(&b, "<Tag>");
        elem(&b, "Key", tags[i].name, strlen(tags[i].name));
        elem(&b, "Value", tags[i].value, strlen(tags[i].value));
        kbuf_puts(&b, "</Tag>");
    }
    kbuf_puts(&b, "</TagSet></Tagging>");
    obj_attr *again;
    uint32_t count2;
    CHECK(s3_body_tagging(a, b.data, b.len, &again, &count2) && count2 == count);
    for (uint32_t i = 0; i < count; i++)
        CHECK(!strcmp(again[i].name, tags[i].name) && !strcmp(again[i].value, tags[i].value));
    kbuf_free(&b);
}

/* The input as the value of x-amz-tagging (up to its first NUL: a header
 * value is a C string). */
static void check_tagging_query(arena *a, const char *p, size_t n) {
    char *q = arena_strndup(a, p, n);
    obj_attr *tags;
    uint32_t count;
    if (!s3_tagging_query(a, q, &tags, &count)) return;
    size_t pairs = 1;
    for (const char *c = q; *c; c++) pairs += *c == '&';
    CHECK(count <= pairs);
    for (uint32_t i = 0; i < count; i++) {
        CHECK(utf8_valid(tags[i].name, strlen(tags[i].name)));
        CHECK(utf8_valid(tags[i].value, strlen(tags[i].value)));
    }
    check_tag_rules(tags, count);
    /* encoded again, every pair with its '=' ("=" alone is a pair too) */
    kbuf b = KBUF_INIT;
    for (uint32_t i = 0; i < count; i++) {
        if (i) kbuf_putc(&b, '&');
        url_encode(&b, tags[i].name, strlen(tags[i].name), false);
        kbuf_putc(&b, '=');
        url_encode(&b, tags[i].value, strlen(tags[i].value), false);
    }
    obj_attr *again;
    uint32_t count2;
    CHECK(s3_tagging_query(a, b.data ? b.data : "", &again, &count2) && count2 == count);
    for (uint32_t i = 0; i < count; i++)
        CHECK(!strcmp(again[i].name, tags[i].name) && !strcmp(again[i].value, tags[i].value));
    kbuf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    cksum_alg alg = (cksum_alg)(data[0] % CK__COUNT);
    data++, size--;
    char *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    if (size) memcpy(copy, data, size);
    const char *body = size ? copy : copy + 1; /* an empty body: any read is past it */
    arena *a = arena_new(0);
    xml_node *root = NULL;
    kerr e = xml_parse(a, body, size, &root);
    bool parsed = e == K_OK;
    if (parsed) {
        CHECK(root && !root->next);
        check_tree(root, 1);
        if (writable(root)) {
            kbuf b = KBUF_INIT;
            write_tree(&b, root);
            xml_node *again = NULL;
            CHECK(xml_parse(a, b.data, b.len, &again) == K_OK);
            CHECK(same_tree(root, again));
            kbuf_free(&b);
        }
    } else {
        CHECK(e == K_EMALFORMEDXML);
    }
    check_create_bucket(a, body, size, parsed, root);
    check_acl(a, body, size, parsed, root);
    check_delete(a, body, size, parsed, root);
    check_complete(a, body, size, alg, parsed, root);
    check_tagging(a, body, size, parsed, root);
    check_tagging_query(a, body, size);
    arena_free(a);
    free(copy);
    return 0;
}
