/* SPDX-License-Identifier: Apache-2.0 */
#include "gateway/s3_rules.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/text.h"
#include "gateway/objsvc.h"

/* S3's sub-resources, bucket and object level (the AWS API reference:
 * every operation whose request names one of these in its query). */
static const char *const subresources[] = {
    "abac",
    "accelerate",
    "acl",
    "analytics",
    "attributes",
    "cors",
    "delete",
    "encryption",
    "intelligent-tiering",
    "inventory",
    "legal-hold",
    "lifecycle",
    "location",
    "logging",
    "metadataConfiguration",
    "metadataInventoryTable",
    "metadataJournalTable",
    "metadataTable",
    "metrics",
    "notification",
    "object-lock",
    "ownershipControls",
    "policy",
    "policyStatus",
    "publicAccessBlock",
    "renameObject",
    "replication",
    "requestPayment",
    "restore",
    "retention",
    "select",
    "session",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versioning",
    "versions",
    "website",
};

/* Parameters that are never sub-resources, even without a value. */
static const char *const ordinary[] = {
    /* listing and paging */
    "prefix",
    "delimiter",
    "marker",
    "max-keys",
    "encoding-type",
    "list-type",
    "continuation-token",
    "start-after",
    "fetch-owner",
    "key-marker",
    "version-id-marker",
    "upload-id-marker",
    "max-uploads",
    "part-number-marker",
    "max-parts",
    "max-buckets",
    "bucket-region",
    "id",
    "select-type",
    /* qualifiers of object operations */
    "partNumber",
    "versionId",
    /* the operation name newer SDKs append (?x-id=PutObject) */
    "x-id",
    /* SigV2 query authentication (SigV4's are X-Amz-*) */
    "AWSAccessKeyId",
    "Signature",
    "Expires",
};

bool s3_is_subresource(const char *name) {
    for (size_t i = 0; i < sizeof subresources / sizeof *subresources; i++)
        if (!strcmp(name, subresources[i])) return true;
    return false;
}

static bool is_ordinary(const char *name) {
    if (!strncasecmp(name, "x-amz-", 6) || !strncmp(name, "response-", 9)) return true;
    for (size_t i = 0; i < sizeof ordinary / sizeof *ordinary; i++)
        if (!strcmp(name, ordinary[i])) return true;
    return false;
}

const char *s3_subresource(const http_req *h, bool *known) {
    for (size_t i = 0; i < h->nquery; i++) {
        const http_param *p = &h->query[i];
        if (s3_is_subresource(p->name)) {
            *known = true;
            return p->name;
        }
        if ((!p->value || !*p->value) && !is_ordinary(p->name)) {
            *known = false;
            return p->name;
        }
    }
    *known = false;
    return NULL;
}

s3_canned s3_canned_acl(const char *v, uint8_t *acl) {
    if (!v || !strcmp(v, "private") || !strcmp(v, "bucket-owner-full-control") ||
        !strcmp(v, "bucket-owner-read")) {
        *acl = ACL_PRIVATE;
        return S3_CANNED_OK;
    }
    if (!strcmp(v, "public-read")) {
        *acl = ACL_PUBLIC_READ;
        return S3_CANNED_OK;
    }
    if (!strcmp(v, "public-read-write")) {
        *acl = ACL_PUBLIC_READ_WRITE;
        return S3_CANNED_OK;
    }
    if (!strcmp(v, "authenticated-read") || !strcmp(v, "aws-exec-read") ||
        !strcmp(v, "log-delivery-write"))
        return S3_CANNED_NOTIMPL;
    return S3_CANNED_INVALID;
}

s3_storage s3_storage_class(const char *v) {
    static const char *const others[] = {"REDUCED_REDUNDANCY",
                                         "STANDARD_IA",
                                         "ONEZONE_IA",
                                         "INTELLIGENT_TIERING",
                                         "GLACIER",
                                         "DEEP_ARCHIVE",
                                         "OUTPOSTS",
                                         "GLACIER_IR",
                                         "SNOW",
                                         "EXPRESS_ONEZONE"};
    if (!strcmp(v, "STANDARD")) return S3_STORAGE_STANDARD;
    for (size_t i = 0; i < sizeof others / sizeof *others; i++)
        if (!strcmp(v, others[i])) return S3_STORAGE_UNSUPPORTED;
    return S3_STORAGE_INVALID;
}

bool s3_sse_known(const char *v) {
    return !strcmp(v, "AES256") || !strcmp(v, "aws:kms") || !strcmp(v, "aws:kms:dsse");
}

bool s3_location_valid(const char *v) {
    if (!strcmp(v, "EU")) return true;
    size_t n = strlen(v);
    if (n < 1 || n > 32) return false;
    if (!(v[0] >= 'a' && v[0] <= 'z')) return false;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
        if (!ok) return false;
        if (c == '-' && (i + 1 == n || v[i + 1] == '-')) return false;
    }
    return true;
}

bool s3_redirect_location_valid(const char *v) {
    if (strlen(v) > 2048) return false;
    return v[0] == '/' || !strncmp(v, "http://", 7) || !strncmp(v, "https://", 8);
}

bool s3_etag_list_matches(const char *list, const char *etag) {
    char quoted[64];
    snprintf(quoted, sizeof quoted, "\"%s\"", etag);
    size_t ql = strlen(quoted), el = strlen(etag);
    const char *p = list;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        size_t tn = n;
        const char *t = str_trim(p, &tn);
        if ((tn == 1 && *t == '*') || (tn == ql && !memcmp(t, quoted, tn)) ||
            (tn == el && !memcmp(t, etag, tn)))
            return true;
        p += n;
        if (*p == ',') p++;
    }
    return false;
}

kerr s3_check_conditions(const char *etag, int64_t mtime_ms, const char *if_match,
                         const char *if_none_match, const char *if_mod, const char *if_unmod,
                         bool copy_source) {
    time_t mtime = (time_t)(mtime_ms / 1000);
    if (if_match && !s3_etag_list_matches(if_match, etag)) return K_EPRECONDITION;
    if (if_unmod && !if_match) {
        time_t t;
        if (parse_http_date(if_unmod, &t) && mtime > t) return K_EPRECONDITION;
    }
    if (if_none_match) {
        if (s3_etag_list_matches(if_none_match, etag))
            return copy_source ? K_EPRECONDITION : K_ENOTMODIFIED;
    } else if (if_mod) {
        time_t t;
        if (parse_http_date(if_mod, &t) && mtime <= t)
            return copy_source ? K_EPRECONDITION : K_ENOTMODIFIED;
    }
    return K_OK;
}
