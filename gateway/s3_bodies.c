/* SPDX-License-Identifier: Apache-2.0 */
#include "gateway/s3_bodies.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/text.h"
#include "gateway/s3_rules.h"
#include "gateway/s3_xml.h"

s3_create_bucket_result s3_body_create_bucket(arena *a, const char *p, size_t n,
                                              const char **location) {
    *location = NULL;
    xml_node *root;
    if (xml_parse(a, p, n, &root) || strcmp(root->name, "CreateBucketConfiguration"))
        return S3_CREATE_BUCKET_MALFORMED;
    for (xml_node *c = root->child; c; c = c->next) {
        if (!strcmp(c->name, "LocationConstraint")) continue;
        if (!strcmp(c->name, "Location") || !strcmp(c->name, "Bucket") || !strcmp(c->name, "Tags"))
            return S3_CREATE_BUCKET_NOTIMPL;
        return S3_CREATE_BUCKET_MALFORMED;
    }
    const char *loc = xml_child_text(root, "LocationConstraint");
    if (loc && *loc) {
        if (!s3_location_valid(loc)) return S3_CREATE_BUCKET_INVALID_LOCATION;
        *location = loc;
    }
    return S3_CREATE_BUCKET_OK;
}

#define ALL_USERS_URI "http://acs.amazonaws.com/groups/global/AllUsers"

s3_acl_result s3_body_acl(arena *a, const char *p, size_t n, const char *owner, uint8_t *acl) {
    xml_node *root;
    if (!n || xml_parse(a, p, n, &root) || strcmp(root->name, "AccessControlPolicy"))
        return S3_ACL_MALFORMED;
    xml_node *o = xml_child(root, "Owner");
    const char *oid = o ? xml_child_text(o, "ID") : NULL;
    if (oid && strcmp(oid, owner)) return S3_ACL_OTHER_OWNER;
    bool owner_full = false, all_read = false, all_write = false, other = false;
    xml_node *list = xml_child(root, "AccessControlList");
    for (xml_node *g = list ? list->child : NULL; g; g = g->next) {
        if (strcmp(g->name, "Grant")) continue;
        xml_node *grantee = xml_child(g, "Grantee");
        const char *perm = xml_child_text(g, "Permission");
        if (!grantee || !perm ||
            (strcmp(perm, "FULL_CONTROL") && strcmp(perm, "READ") && strcmp(perm, "WRITE") &&
             strcmp(perm, "READ_ACP") && strcmp(perm, "WRITE_ACP")))
            return S3_ACL_BAD_GRANT;
        const char *id = xml_child_text(grantee, "ID");
        const char *uri = xml_child_text(grantee, "URI");
        if (id && !uri && !xml_child(grantee, "EmailAddress") && !strcmp(id, owner)) {
            if (!strcmp(perm, "FULL_CONTROL")) owner_full = true; /* other owner grants: implied */
        } else if (uri && !id && !strcmp(uri, ALL_USERS_URI) && !strcmp(perm, "READ")) {
            all_read = true;
        } else if (uri && !id && !strcmp(uri, ALL_USERS_URI) && !strcmp(perm, "WRITE")) {
            all_write = true;
        } else {
            other = true;
        }
    }
    if (other || !owner_full || (all_write && !all_read)) return S3_ACL_NOTIMPL;
    *acl = all_write ? ACL_PUBLIC_READ_WRITE : all_read ? ACL_PUBLIC_READ : ACL_PRIVATE;
    return S3_ACL_OK;
}

/* The ETag of an If-Match / ETag element without its quotes, in the arena. */
static const char *etag_unquote(arena *a, const char *v) {
    size_t n = strlen(v);
    const char *t = str_trim(v, &n);
    if (n >= 2 && t[0] == '"' && t[n - 1] == '"') t++, n -= 2;
    return arena_strndup(a, t, n);
}

bool s3_body_delete(arena *a, const char *p, size_t n, s3_delete_body *out) {
    memset(out, 0, sizeof *out);
    xml_node *root;
    if (!n || xml_parse(a, p, n, &root) || strcmp(root->name, "Delete")) return false;
    const char *quiet_s = xml_child_text(root, "Quiet");
    out->quiet = quiet_s && !strcasecmp(quiet_s, "true");
    size_t count = 0;
    for (xml_node *o = root->child; o; o = o->next) {
        if (strcmp(o->name, "Object")) continue;
        if (!xml_child(o, "Key")) return false;
        count++;
    }
    if (count == 0 || count > S3_DELETE_MAX_OBJECTS) return false;
    out->objects = arena_zalloc(a, count * sizeof *out->objects);
    for (xml_node *o = root->child; o; o = o->next) {
        if (strcmp(o->name, "Object")) continue;
        s3_delete_object *d = &out->objects[out->n++];
        xml_node *k = xml_child(o, "Key");
        d->key = k->text;
        d->key_len = k->text_len;
        d->version_id = xml_child_text(o, "VersionId");
        const char *etag = xml_child_text(o, "ETag");
        d->etag = etag ? etag_unquote(a, etag) : NULL;
        d->other_conditions = xml_child(o, "LastModifiedTime") || xml_child(o, "Size");
    }
    return true;
}

/* A part's ETag as CompleteMultipartUpload lists it: the MD5 in hex, quoted,
 * bare, or with the quotes as entities a client escaped twice. */
static bool parse_etag_md5(const char *etag, uint8_t out[16]) {
    size_t n = strlen(etag);
    const char *t = str_trim(etag, &n);
    if (n >= 2 && t[0] == '"' && t[n - 1] == '"')
        t++, n -= 2;
    else if (n >= 12 && !strncmp(t, "&quot;", 6))
        t += 6, n -= 12;
    return n == 32 && hex_decode(t, 32, out, 16) == 16;
}

s3_complete_result s3_body_complete(arena *a, const char *p, size_t n, cksum_alg alg,
                                    mpu_complete_part **parts_out, size_t *count_out) {
    *parts_out = NULL;
    *count_out = 0;
    xml_node *root;
    if (!n || xml_parse(a, p, n, &root) || strcmp(root->name, "CompleteMultipartUpload"))
        return S3_COMPLETE_MALFORMED;
    size_t count = 0;
    for (xml_node *x = root->child; x; x = x->next)
        if (!strcmp(x->name, "Part")) count++;
    if (!count) return S3_COMPLETE_MALFORMED;
    mpu_complete_part *parts = arena_zalloc(a, count * sizeof *parts);
    size_t i = 0;
    for (xml_node *x = root->child; x; x = x->next) {
        if (strcmp(x->name, "Part")) continue;
        const char *num = xml_child_text(x, "PartNumber");
        const char *etag = xml_child_text(x, "ETag");
        uint64_t v;
        if (!num || !etag || !parse_u64(num, strlen(num), &v) || v < 1 || v > OBJ_MAX_PARTS)
            return S3_COMPLETE_MALFORMED;
        parts[i].number = (uint32_t)v;
        if (!parse_etag_md5(etag, parts[i].md5)) return S3_COMPLETE_INVALID_PART;
        if (alg != CK_NONE) {
            char name[32];
            snprintf(name, sizeof name, "Checksum%s", cksum_alg_name(alg));
            const char *ck = xml_child_text(x, name);
            if (ck) {
                int dn = base64_decode(ck, strlen(ck), parts[i].ck, sizeof parts[i].ck);
                if (dn < 0 || (size_t)dn != cksum_len(alg)) return S3_COMPLETE_INVALID_PART;
                parts[i].has_ck = true;
            }
        }
        i++;
    }
    *parts_out = parts;
    *count_out = count;
    return S3_COMPLETE_OK;
}

/* The text of a tag's Key or Value element: exactly one, no NUL inside. */
static bool tag_text(const xml_node *tag, const char *name, char **out) {
    const xml_node *found = NULL;
    for (const xml_node *c = tag->child; c; c = c->next) {
        if (strcmp(c->name, name)) continue;
        if (found || c->child) return false;
        found = c;
    }
    if (!found || memchr(found->text, 0, found->text_len)) return false;
    *out = found->text;
    return true;
}

bool s3_body_tagging(arena *a, const char *p, size_t n, obj_attr **tags, uint32_t *count) {
    *tags = NULL;
    *count = 0;
    xml_node *root;
    if (!n || xml_parse(a, p, n, &root) || strcmp(root->name, "Tagging")) return false;
    const xml_node *set = NULL;
    for (const xml_node *c = root->child; c; c = c->next) {
        if (strcmp(c->name, "TagSet") || set) return false;
        set = c;
    }
    if (!set) return false;
    uint32_t total = 0;
    for (const xml_node *t = set->child; t; t = t->next) {
        if (strcmp(t->name, "Tag")) return false;
        for (const xml_node *c = t->child; c; c = c->next)
            if (strcmp(c->name, "Key") && strcmp(c->name, "Value")) return false;
        total++;
    }
    obj_attr *out = arena_zalloc(a, (total ? total : 1) * sizeof *out);
    uint32_t i = 0;
    for (const xml_node *t = set->child; t; t = t->next, i++)
        if (!tag_text(t, "Key", &out[i].name) || !tag_text(t, "Value", &out[i].value)) return false;
    *tags = out;
    *count = total;
    return true;
}

bool s3_tagging_query(arena *a, const char *q, obj_attr **tags, uint32_t *count) {
    *tags = NULL;
    *count = 0;
    size_t len = strlen(q), pairs = 1;
    for (size_t i = 0; i < len; i++) pairs += q[i] == '&';
    obj_attr *out = arena_zalloc(a, pairs * sizeof *out);
    uint32_t n = 0;
    for (const char *s = q; *s;) {
        const char *amp = strchr(s, '&');
        size_t plen = amp ? (size_t)(amp - s) : strlen(s);
        if (plen) {
            const char *eq = memchr(s, '=', plen);
            size_t klen = eq ? (size_t)(eq - s) : plen;
            char *k = arena_strndup(a, s, klen);
            char *v = eq ? arena_strndup(a, eq + 1, plen - klen - 1) : arena_strdup(a, "");
            long kn = url_decode_inplace(k, klen, true);
            long vn = url_decode_inplace(v, strlen(v), true);
            if (kn < 0 || vn < 0 || strlen(k) != (size_t)kn || strlen(v) != (size_t)vn ||
                !utf8_valid(k, (size_t)kn) || !utf8_valid(v, (size_t)vn))
                return false;
            out[n].name = k;
            out[n].value = v;
            n++;
        }
        s += plen;
        if (*s == '&') s++;
    }
    *tags = out;
    *count = n;
    return true;
}
