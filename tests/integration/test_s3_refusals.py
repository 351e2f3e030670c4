#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Issue 7: never a wrong success. Every S3 sub-resource and every request
header family kura does not implement is either honoured (with a visible
effect) or refused with the AWS error, never answered 200 while ignored;
and nothing is stored or changed where a refusal happened. Requests are
signed here (SigV4, independently of kura) and sent over real HTTP.

usage: python3 test_s3_refusals.py PATH/TO/kura

  F2  sub-resources (bucket and object level, known to S3 or not) and
      request headers (SSE, object lock, storage class, tagging, ACL grants
      and canned ACLs, object ownership, expected bucket owner, website
      redirect, requester pays), ACL bodies, ListBuckets paging
  F3  keys that are not UTF-8 or hold characters XML 1.0 cannot carry are
      refused; listings stay well-formed
  F4  conditional writes (If-None-Match: *, If-Match) on PutObject,
      CompleteMultipartUpload, CopyObject, DeleteObject(s), including racing
      writers; Range overflow and Range with partNumber; malformed
      %-escapes; LocationConstraint validation; DeleteObjects integrity
      headers; 10,000 query parameters; the whole-object checksum a
      CompleteMultipartUpload declares (x-amz-checksum-<alg>) is checked
"""

import base64
import binascii
import hashlib
import http.client
import os
import sys
import threading
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Kura, Runner, check, eq  # noqa: E402
from test_auth_rules import err, raw, send, sign  # noqa: E402

B = "refusals"
NOT_IMPL = "NotImplemented"
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def q(*names):
    """Query pairs for sub-resources given without a value."""
    return [(n, "") for n in names]


def code(r):
    return err(r)[:2]


def exists(srv, key, bucket=B):
    r = send(srv, "HEAD", "/%s/%s" % (bucket, key))
    check(r.status in (200, 404), "HEAD %s/%s: unexpected %r" % (bucket, key, r))
    return r.status == 200


def body_of(srv, key, bucket=B):
    r = send(srv, "GET", "/%s/%s" % (bucket, key))
    eq(r.status, 200, "GET %s/%s (%r)" % (bucket, key, r))
    return r.body


def put(srv, key, data=b"x", headers=None, bucket=B, query=()):
    return send(srv, "PUT", "/%s/%s" % (bucket, key), query, body=data, headers=headers)


def uploads(srv, bucket=B):
    r = send(srv, "GET", "/" + bucket, q("uploads"))
    eq(r.status, 200, "ListMultipartUploads")
    return [u.findtext("Key") for u in r.xml().iter("Upload")]


def bucket_exists(srv, bucket):
    return send(srv, "HEAD", "/" + bucket).status == 200


def well_formed(r, what):
    eq(r.status, 200, "%s status (%r)" % (what, r))
    try:
        return harness.strip_ns(ET.fromstring(r.body))
    except ET.ParseError as e:
        raise AssertionError("%s: not well-formed XML (%s): %r" % (what, e, r.body[:300]))


def create_upload(srv, key, headers=None):
    r = send(srv, "POST", "/%s/%s" % (B, key), q("uploads"), headers=headers)
    eq(r.status, 200, "CreateMultipartUpload %s (%r)" % (key, r))
    return r.xml().findtext("UploadId")


def one_part_upload(srv, key, data):
    uid = create_upload(srv, key)
    r = send(srv, "PUT", "/%s/%s" % (B, key), [("partNumber", "1"), ("uploadId", uid)], body=data)
    eq(r.status, 200, "UploadPart (%r)" % r)
    doc = ("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part>"
           "</CompleteMultipartUpload>" % r.header("ETag")).encode()
    return uid, doc


# --------------------------------------------------------------- setup


def t_setup(srv):
    eq(send(srv, "PUT", "/" + B).status, 200, "create bucket")
    eq(put(srv, "obj", b"original").status, 200, "PUT obj")


# ------------------------------------------------------ F2 sub-resources

BUCKET_SUBRESOURCES = [
    "accelerate", "acl", "analytics", "cors", "encryption", "intelligent-tiering", "inventory",
    "lifecycle", "location", "logging", "metrics", "notification", "object-lock",
    "ownershipControls", "policy", "policyStatus", "publicAccessBlock", "replication",
    "requestPayment", "tagging", "uploads", "versioning", "versions", "website", "delete",
    "metadataTable", "metadataConfiguration", "session", "abac"]
OBJECT_SUBRESOURCES = ["acl", "attributes", "legal-hold", "retention", "restore", "select",
                       "tagging", "torrent", "uploads", "renameObject"]

# GET of a bucket sub-resource kura answers: status, and the error code or
# the root element of the document
BUCKET_GET = {
    "acl": (200, "AccessControlPolicy"), "location": (200, "LocationConstraint"),
    "versioning": (200, "VersioningConfiguration"), "uploads": (200, "ListMultipartUploadsResult"),
    "versions": (200, "ListVersionsResult"), "logging": (200, "BucketLoggingStatus"),
    "notification": (200, "NotificationConfiguration"),
    "requestPayment": (200, "RequestPaymentConfiguration"),
    "accelerate": (200, "AccelerateConfiguration"),
    "policy": (404, "NoSuchBucketPolicy"), "policyStatus": (404, "NoSuchBucketPolicy"),
    "cors": (404, "NoSuchCORSConfiguration"), "lifecycle": (404, "NoSuchLifecycleConfiguration"),
    "tagging": (404, "NoSuchTagSet"), "website": (404, "NoSuchWebsiteConfiguration"),
    "encryption": (404, "ServerSideEncryptionConfigurationNotFoundError"),
    "object-lock": (404, "ObjectLockConfigurationNotFoundError"),
    "replication": (404, "ReplicationConfigurationNotFoundError"),
    "ownershipControls": (404, "OwnershipControlsNotFoundError"),
    "publicAccessBlock": (404, "NoSuchPublicAccessBlockConfiguration"),
}


def answer(r):
    """(status, error Code or root element) of a response."""
    if r.status == 204 or not r.body:
        return r.status, None
    try:
        x = r.xml()
    except ET.ParseError:
        return r.status, "not-xml"
    return r.status, x.findtext("Code") if x.tag == "Error" else x.tag


def t_bucket_subresources(srv):
    path = "/" + B
    for sub in BUCKET_SUBRESOURCES:
        got = answer(send(srv, "GET", path, q(sub)))
        if sub == "delete":
            check(got[0] in (405, 501), "GET ?delete: %r" % (got,))
            continue
        eq(got, BUCKET_GET.get(sub, (501, NOT_IMPL)), "GET ?%s" % sub)
        # the same with a value: still that sub-resource, never a listing
        got = answer(send(srv, "GET", path, [(sub, "x")]))
        check(got[1] != "ListBucketResult", "GET ?%s=x answered as a listing" % sub)
    for sub in BUCKET_SUBRESOURCES:
        if sub in ("acl", "tagging"):
            continue  # honoured: t_acl_bodies, test_tagging.py
        doc = b"<Configuration><Anything>1</Anything></Configuration>"
        eq(answer(send(srv, "PUT", path, q(sub), body=doc)), (501, NOT_IMPL), "PUT ?%s" % sub)
        if sub != "delete":
            eq(answer(send(srv, "POST", path, q(sub), body=doc)), (501, NOT_IMPL),
               "POST ?%s" % sub)
        eq(answer(send(srv, "DELETE", path, q(sub))), (501, NOT_IMPL), "DELETE ?%s" % sub)
        r = send(srv, "HEAD", path, q(sub))
        eq(r.status, 501, "HEAD ?%s" % sub)
    check(bucket_exists(srv, B), "bucket gone after DELETE ?sub-resource requests")
    eq(answer(send(srv, "GET", path, q("policy"))), (404, "NoSuchBucketPolicy"),
       "no policy stored by PUT ?policy")
    # unknown sub-resources: a parameter without a value that nobody knows
    for sub in ("foo", "policystatus", "ACL", "notAThing"):
        eq(answer(send(srv, "GET", path, q(sub))), (501, NOT_IMPL), "GET ?%s" % sub)
        eq(answer(send(srv, "GET", path, [("list-type", "2")] + q(sub))), (501, NOT_IMPL),
           "GET ?list-type=2&%s" % sub)
        eq(answer(send(srv, "PUT", path, q(sub))), (501, NOT_IMPL), "PUT ?%s" % sub)
        eq(answer(send(srv, "DELETE", path, q(sub))), (501, NOT_IMPL), "DELETE ?%s" % sub)
    check(bucket_exists(srv, B), "bucket gone after DELETE ?unknown")
    eq(answer(send(srv, "GET", "/", q("foo"))), (501, NOT_IMPL), "GET /?foo")
    # POST Object (test_post_object.py) needs a multipart/form-data body
    eq(answer(send(srv, "POST", path)), (400, "MalformedPOSTRequest"),
       "POST (browser upload) without a form")
    # ordinary parameters and parameters with values are not sub-resources
    for extra in ([("x-id", "ListObjectsV2"), ("list-type", "2")], [("_", "1234")],
                  [("prefix", ""), ("delimiter", ""), ("list-type", "2")],
                  [("encoding-type", "url")], [("max-keys", "5"), ("marker", "")]):
        eq(answer(send(srv, "GET", path, extra)), (200, "ListBucketResult"), "GET ?%r" % extra)


def t_object_subresources(srv):
    path = "/%s/obj" % B
    expect_get = {"acl": (200, "AccessControlPolicy"), "tagging": (200, "Tagging")}
    for sub in OBJECT_SUBRESOURCES:
        got = answer(send(srv, "GET", path, q(sub)))
        eq(got, expect_get.get(sub, (501, NOT_IMPL)), "GET obj?%s" % sub)
        check(got[1] != "not-xml" and b"original" not in send(srv, "GET", path, q(sub)).body,
              "GET obj?%s served the object" % sub)
        eq(send(srv, "HEAD", path, q(sub)).status, 501, "HEAD obj?%s" % sub)
        if sub not in ("acl", "uploads", "tagging"):
            eq(answer(send(srv, "PUT", path, q(sub), body=b"<Tagging/>")), (501, NOT_IMPL),
               "PUT obj?%s" % sub)
        if sub != "uploads":
            eq(answer(send(srv, "POST", path, q(sub), body=b"<RestoreRequest/>")),
               (501, NOT_IMPL), "POST obj?%s" % sub)
        if sub != "tagging":  # honoured: test_tagging.py
            eq(answer(send(srv, "DELETE", path, q(sub))), (501, NOT_IMPL), "DELETE obj?%s" % sub)
    # a Tagging document without a TagSet is not one
    eq(answer(send(srv, "PUT", path, q("tagging"), body=b"<Tagging/>")), (400, "MalformedXML"),
       "PUT obj?tagging <Tagging/>")
    eq(body_of(srv, "obj"), b"original", "object unchanged by refused sub-resource requests")
    eq(answer(send(srv, "GET", path, [("uploadId", "nope")])), (404, "NoSuchUpload"),
       "GET obj?uploadId=nope")
    # ?uploadId without a value (crashed the server before)
    for m in ("GET", "PUT", "POST", "DELETE"):
        qq = q("uploadId") + ([("partNumber", "1")] if m == "PUT" else [])
        eq(answer(send(srv, m, path, qq, body=b"<CompleteMultipartUpload/>" if m == "POST"
                       else b"")), (404, "NoSuchUpload"), "%s obj?uploadId" % m)
    for sub in ("foo", "Tagging"):
        eq(answer(send(srv, "GET", path, q(sub))), (501, NOT_IMPL), "GET obj?%s" % sub)
        eq(answer(send(srv, "PUT", path, q(sub), body=b"new")), (501, NOT_IMPL), "PUT obj?%s" % sub)
        eq(answer(send(srv, "DELETE", path, q(sub))), (501, NOT_IMPL), "DELETE obj?%s" % sub)
    eq(body_of(srv, "obj"), b"original", "object unchanged by unknown sub-resources")
    # versions: kura keeps one, "null"
    eq(send(srv, "GET", path, [("versionId", "null")]).body, b"original", "versionId=null")
    for m in ("GET", "HEAD", "DELETE"):
        r = send(srv, m, path, [("versionId", "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY")])
        eq(r.status, 400, "%s with another versionId" % m)
        if m != "HEAD":
            eq(code(r), (400, "InvalidArgument"), "%s with another versionId" % m)
    eq(body_of(srv, "obj"), b"original", "DELETE ?versionId=other deleted the object")
    # ordinary parameters with values are fine
    eq(send(srv, "GET", path, [("x-id", "GetObject"), ("cachebust", "1")]).body, b"original",
       "GET with x-id and a cache buster")


# ------------------------------------------------------ F2 request headers


def t_sse(srv):
    cases = [({"x-amz-server-side-encryption": "AES256"}, (501, NOT_IMPL)),
             ({"x-amz-server-side-encryption": "aws:kms"}, (501, NOT_IMPL)),
             ({"x-amz-server-side-encryption": "aws:kms",
               "x-amz-server-side-encryption-aws-kms-key-id": "k1"}, (501, NOT_IMPL)),
             ({"x-amz-server-side-encryption-context": "e30="}, (501, NOT_IMPL)),
             ({"x-amz-server-side-encryption-bucket-key-enabled": "true"}, (501, NOT_IMPL)),
             ({"x-amz-server-side-encryption": "ROT13"}, (400, "InvalidArgument")),
             ({"x-amz-server-side-encryption-customer-algorithm": "AES256",
               "x-amz-server-side-encryption-customer-key": "a" * 44,
               "x-amz-server-side-encryption-customer-key-MD5": "b" * 24}, (501, NOT_IMPL))]
    for i, (h, want) in enumerate(cases):
        key = "sse-%d" % i
        eq(code(put(srv, key, b"secret", h)), want, "PutObject %r" % h)
        check(not exists(srv, key), "object stored despite %r" % h)
        r = send(srv, "PUT", "/%s/%s" % (B, key), headers=dict(h, **{"x-amz-copy-source":
                                                                       "/%s/obj" % B}))
        eq(code(r), want, "CopyObject %r" % h)
        check(not exists(srv, key), "object copied despite %r" % h)
        r = send(srv, "POST", "/%s/%s" % (B, key), q("uploads"), headers=h)
        eq(code(r), want, "CreateMultipartUpload %r" % h)
    eq(uploads(srv), [], "uploads created despite SSE headers")
    ssec = {"x-amz-server-side-encryption-customer-algorithm": "AES256",
            "x-amz-server-side-encryption-customer-key": "a" * 44}
    eq(code(send(srv, "GET", "/%s/obj" % B, headers=ssec)), (501, NOT_IMPL), "GET with SSE-C")
    eq(send(srv, "HEAD", "/%s/obj" % B, headers=ssec).status, 501, "HEAD with SSE-C")
    eq(code(send(srv, "GET", "/%s/obj" % B, headers={"x-amz-server-side-encryption": "AES256"})),
       (400, "InvalidArgument"), "GET with x-amz-server-side-encryption")
    r = send(srv, "PUT", "/%s/c" % B, headers={
        "x-amz-copy-source": "/%s/obj" % B,
        "x-amz-copy-source-server-side-encryption-customer-algorithm": "AES256"})
    eq(code(r), (501, NOT_IMPL), "CopyObject with copy-source SSE-C")
    uid = create_upload(srv, "sse-part")
    r = send(srv, "PUT", "/%s/sse-part" % B, [("partNumber", "1"), ("uploadId", uid)],
             body=b"p", headers=ssec)
    eq(code(r), (501, NOT_IMPL), "UploadPart with SSE-C")
    r = send(srv, "GET", "/%s/sse-part" % B, [("uploadId", uid)])
    eq([p.findtext("PartNumber") for p in r.xml().iter("Part")], [], "part stored despite SSE-C")
    eq(send(srv, "DELETE", "/%s/sse-part" % B, [("uploadId", uid)]).status, 204, "abort")


def t_object_headers(srv):
    refused = [({"x-amz-object-lock-mode": "GOVERNANCE",
                 "x-amz-object-lock-retain-until-date": "2030-01-01T00:00:00Z"},
                (400, "InvalidRequest")),
               ({"x-amz-object-lock-legal-hold": "ON"}, (400, "InvalidRequest")),
               ({"x-amz-storage-class": "GLACIER"}, (501, NOT_IMPL)),
               ({"x-amz-storage-class": "REDUCED_REDUNDANCY"}, (501, NOT_IMPL)),
               ({"x-amz-storage-class": "STANDARD_IA"}, (501, NOT_IMPL)),
               ({"x-amz-storage-class": "COLD"}, (400, "InvalidStorageClass")),
               ({"x-amz-storage-class": "standard"}, (400, "InvalidStorageClass")),
               ({"x-amz-website-redirect-location": "example.com/x"}, (400, "InvalidArgument")),
               ({"x-amz-grant-read": 'uri="%s"' % ALL_USERS}, (501, NOT_IMPL)),
               ({"x-amz-grant-full-control": 'id="someone"'}, (501, NOT_IMPL)),
               ({"x-amz-grant-read": 'id="x"', "x-amz-acl": "private"}, (400, "InvalidRequest")),
               ({"x-amz-acl": "authenticated-read"}, (501, NOT_IMPL)),
               ({"x-amz-acl": "aws-exec-read"}, (501, NOT_IMPL)),
               ({"x-amz-acl": "log-delivery-write"}, (501, NOT_IMPL)),
               ({"x-amz-acl": "world-writable"}, (400, "InvalidArgument"))]
    for i, (h, want) in enumerate(refused):
        key = "hdr-%d" % i
        eq(code(put(srv, key, b"data", h)), want, "PutObject %r" % h)
        check(not exists(srv, key), "object stored despite %r" % h)
        r = send(srv, "POST", "/%s/%s" % (B, key), q("uploads"), headers=h)
        eq(code(r), want, "CreateMultipartUpload %r" % h)
        r = send(srv, "PUT", "/%s/%s" % (B, key),
                 headers=dict(h, **{"x-amz-copy-source": "/%s/obj" % B}))
        eq(code(r), want, "CopyObject %r" % h)
        check(not exists(srv, key), "object copied despite %r" % h)
    eq(uploads(srv), [], "uploads created despite refused headers")
    eq(code(put(srv, "hdr-append", b"more", {"x-amz-write-offset-bytes": "8"})), (501, NOT_IMPL),
       "PutObject with x-amz-write-offset-bytes")
    # copy: the tagging directive (tags themselves: test_tagging.py)
    src = {"x-amz-copy-source": "/%s/obj" % B}
    r = send(srv, "PUT", "/%s/tag-copy" % B, headers=dict(src, **{
        "x-amz-tagging-directive": "REPLACE", "x-amz-tagging": "aws:a=b"}))
    eq(code(r), (400, "InvalidTag"), "copy with REPLACE tagging and a reserved key")
    r = send(srv, "PUT", "/%s/tag-copy" % B, headers=dict(src, **{
        "x-amz-tagging-directive": "MERGE"}))
    eq(code(r), (400, "InvalidArgument"), "copy with an unknown tagging directive")
    check(not exists(srv, "tag-copy"), "copy stored despite refused tagging")
    # honoured
    honoured = [({"x-amz-storage-class": "STANDARD"}, None),
                ({"x-amz-acl": "bucket-owner-full-control"}, None),
                ({"x-amz-acl": "bucket-owner-read"}, None),
                ({"x-amz-tagging": ""}, None),
                ({"x-amz-request-payer": "requester"}, None),
                ({"x-amz-website-redirect-location": "/other"},
                 ("x-amz-website-redirect-location", "/other")),
                ({"x-amz-website-redirect-location": "https://example.com/"},
                 ("x-amz-website-redirect-location", "https://example.com/"))]
    for i, (h, shown) in enumerate(honoured):
        key = "ok-%d" % i
        eq(put(srv, key, b"fine", h).status, 200, "PutObject %r" % h)
        r = send(srv, "HEAD", "/%s/%s" % (B, key))
        eq(r.status, 200, "HEAD after %r" % h)
        if shown:
            eq(r.header(shown[0]), shown[1], "%s returned" % shown[0])
    r = send(srv, "GET", "/%s/ok-1" % B, q("acl"))
    eq([g.findtext("Permission") for g in r.xml().iter("Grant")], ["FULL_CONTROL"],
       "bucket-owner-full-control stored as the owner's FULL_CONTROL")


def t_expected_owner(srv):
    owner = send(srv, "GET", "/").xml().find("Owner").findtext("ID")
    check(owner, "ListBuckets Owner/ID")
    mine = {"x-amz-expected-bucket-owner": owner}
    theirs = {"x-amz-expected-bucket-owner": "111122223333"}
    eq(send(srv, "GET", "/%s/obj" % B, headers=mine).status, 200, "GET, expected owner")
    eq(code(send(srv, "GET", "/%s/obj" % B, headers=theirs)), (403, "AccessDenied"),
       "GET, another expected owner")
    eq(send(srv, "GET", "/" + B, [("list-type", "2")], headers=mine).status, 200, "list, mine")
    eq(code(send(srv, "GET", "/" + B, [("list-type", "2")], headers=theirs)),
       (403, "AccessDenied"), "list, another expected owner")
    eq(code(put(srv, "eo", b"x", theirs)), (403, "AccessDenied"), "PUT, another expected owner")
    check(not exists(srv, "eo"), "stored despite x-amz-expected-bucket-owner")
    eq(code(send(srv, "DELETE", "/%s/obj" % B, headers=theirs)), (403, "AccessDenied"),
       "DELETE, another expected owner")
    eq(put(srv, "eo", b"x", mine).status, 200, "PUT, expected owner")
    r = send(srv, "PUT", "/%s/eo-copy" % B, headers={
        "x-amz-copy-source": "/%s/obj" % B, "x-amz-source-expected-bucket-owner": "111122223333"})
    eq(code(r), (403, "AccessDenied"), "copy, another source owner")
    check(not exists(srv, "eo-copy"), "copied despite x-amz-source-expected-bucket-owner")
    r = send(srv, "PUT", "/%s/eo-copy" % B, headers={
        "x-amz-copy-source": "/%s/obj" % B, "x-amz-source-expected-bucket-owner": owner})
    eq(r.status, 200, "copy, expected source owner")
    check(exists(srv, "obj"), "obj deleted despite x-amz-expected-bucket-owner")


def acl_doc(owner, grants, owner_id=None):
    g = []
    for kind, who, perm in grants:
        if kind == "user":
            gr = '<Grantee xsi:type="CanonicalUser"><ID>%s</ID></Grantee>' % who
        elif kind == "group":
            gr = '<Grantee xsi:type="Group"><URI>%s</URI></Grantee>' % who
        else:
            gr = ('<Grantee xsi:type="AmazonCustomerByEmail"><EmailAddress>%s</EmailAddress>'
                  '</Grantee>' % who)
        g.append("<Grant>%s<Permission>%s</Permission></Grant>" % (gr, perm))
    return ('<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><Owner><ID>%s</ID></Owner>'
            '<AccessControlList>%s</AccessControlList></AccessControlPolicy>'
            % (owner_id or owner, "".join(g))).encode()


def grants_of(srv, path):
    r = send(srv, "GET", path, q("acl"))
    eq(r.status, 200, "GET %s?acl" % path)
    out = []
    for g in r.xml().iter("Grant"):
        ge = g.find("Grantee")
        out.append((ge.findtext("ID") or ge.findtext("URI"), g.findtext("Permission")))
    return sorted(out)


def t_acl_bodies(srv):
    owner = send(srv, "GET", "/").xml().find("Owner").findtext("ID")
    bkt = "refusals-acl"
    eq(send(srv, "PUT", "/" + bkt).status, 200, "create bucket")
    eq(send(srv, "PUT", "/%s/o" % bkt, body=b"o").status, 200, "PUT object")
    private = [(owner, "FULL_CONTROL")]
    for path in ("/" + bkt, "/%s/o" % bkt):
        refused = [
            [("user", owner, "FULL_CONTROL"), ("group", ALL_USERS, "FULL_CONTROL")],
            [("user", owner, "FULL_CONTROL"), ("group", ALL_USERS, "READ_ACP")],
            [("user", owner, "FULL_CONTROL"), ("user", "someone-else", "READ")],
            [("user", owner, "FULL_CONTROL"), ("email", "x@example.com", "READ")],
            [("user", owner, "FULL_CONTROL"),
             ("group", "http://acs.amazonaws.com/groups/global/AuthenticatedUsers", "READ")],
            [("user", owner, "FULL_CONTROL"),
             ("group", "http://acs.amazonaws.com/groups/s3/LogDelivery", "WRITE")],
            [("user", owner, "FULL_CONTROL"), ("group", ALL_USERS, "WRITE")],  # WRITE w/o READ
            [("group", ALL_USERS, "READ")],  # the owner left without FULL_CONTROL
            [],
        ]
        for grants in refused:
            r = send(srv, "PUT", path, q("acl"), body=acl_doc(owner, grants))
            eq(code(r), (501, NOT_IMPL), "PUT %s?acl %r" % (path, grants))
            eq(grants_of(srv, path), private, "%s ACL changed by %r" % (path, grants))
        owner_full = [("user", owner, "FULL_CONTROL")]
        r = send(srv, "PUT", path, q("acl"), body=acl_doc(owner, owner_full, "someone-else"))
        eq(code(r), (501, NOT_IMPL), "PUT %s?acl with another owner" % path)
        r = send(srv, "PUT", path, q("acl"), body=acl_doc(owner, [("user", owner, "READ")]))
        eq(code(r), (501, NOT_IMPL), "PUT %s?acl owner READ only" % path)
        r = send(srv, "PUT", path, q("acl"), body=b"<AccessControlPolicy><Grant>")
        eq(code(r), (400, "MalformedXML"), "PUT %s?acl malformed" % path)
        r = send(srv, "PUT", path, q("acl"), body=acl_doc(owner, owner_full),
                 headers={"x-amz-acl": "public-read"})
        eq(code(r), (400, "UnexpectedContent"), "PUT %s?acl header and body" % path)
        r = send(srv, "PUT", path, q("acl"), headers={"x-amz-grant-read": 'uri="%s"' % ALL_USERS})
        eq(code(r), (501, NOT_IMPL), "PUT %s?acl x-amz-grant-read" % path)
        r = send(srv, "PUT", path, q("acl"), headers={"x-amz-acl": "authenticated-read"})
        eq(code(r), (501, NOT_IMPL), "PUT %s?acl authenticated-read" % path)
        eq(grants_of(srv, path), private, "%s ACL changed by refused requests" % path)
        # honoured: public-read and back, by body
        pub = private + [(ALL_USERS, "READ")]
        r = send(srv, "PUT", path, q("acl"),
                 body=acl_doc(owner, [("user", owner, "FULL_CONTROL"), ("group", ALL_USERS, "READ")]))
        eq(r.status, 200, "PUT %s?acl public-read body (%r)" % (path, r))
        eq(grants_of(srv, path), sorted(pub), "%s public-read" % path)
        r = send(srv, "PUT", path, q("acl"), body=acl_doc(owner, owner_full))
        eq(r.status, 200, "PUT %s?acl private body" % path)
        eq(grants_of(srv, path), private, "%s private again" % path)
    eq(body_of(srv, "o", bkt), b"o", "object data intact after ACL changes")


def t_create_bucket(srv):
    cases = [("rf-lock", {"x-amz-bucket-object-lock-enabled": "true"}, b"", (501, NOT_IMPL)),
             ("rf-lock2", {"x-amz-bucket-object-lock-enabled": "maybe"}, b"",
              (400, "InvalidArgument")),
             ("rf-own", {"x-amz-object-ownership": "BucketOwnerEnforced"}, b"", (501, NOT_IMPL)),
             ("rf-own2", {"x-amz-object-ownership": "ObjectWriter"}, b"", (501, NOT_IMPL)),
             ("rf-own3", {"x-amz-object-ownership": "Nobody"}, b"", (400, "InvalidArgument")),
             ("rf-grant", {"x-amz-grant-read": 'uri="%s"' % ALL_USERS}, b"", (501, NOT_IMPL)),
             ("rf-acl", {"x-amz-acl": "log-delivery-write"}, b"", (501, NOT_IMPL)),
             ("rf-acl2", {"x-amz-acl": "nonsense"}, b"", (400, "InvalidArgument")),
             ("rf-loc", {}, b"<CreateBucketConfiguration><LocationConstraint>" + b"x" * 100000
              + b"</LocationConstraint></CreateBucketConfiguration>",
              (400, "InvalidLocationConstraint")),
             ("rf-loc2", {}, b"<CreateBucketConfiguration><LocationConstraint>&lt;b&gt;"
              b"</LocationConstraint></CreateBucketConfiguration>",
              (400, "InvalidLocationConstraint")),
             ("rf-tags", {}, b"<CreateBucketConfiguration><Tags><Tag><Key>a</Key><Value>b</Value>"
              b"</Tag></Tags></CreateBucketConfiguration>", (501, NOT_IMPL))]
    for name, h, body, want in cases:
        eq(code(send(srv, "PUT", "/" + name, headers=h, body=body)), want,
           "CreateBucket %s %r" % (name, h))
        check(not bucket_exists(srv, name), "bucket %s created despite the refusal" % name)
    r = send(srv, "PUT", "/rf-unlocked", headers={"x-amz-bucket-object-lock-enabled": "false"})
    eq(r.status, 200, "CreateBucket with object lock disabled")
    r = send(srv, "PUT", "/rf-eu", body=b"<CreateBucketConfiguration><LocationConstraint>"
             b"eu-west-1</LocationConstraint></CreateBucketConfiguration>")
    eq(r.status, 200, "CreateBucket eu-west-1")
    eq(send(srv, "GET", "/rf-eu", q("location")).xml().text, "eu-west-1", "location")


def t_list_buckets(srv):
    names = ["rf-page-%d" % i for i in range(5)]
    for n in names:
        eq(send(srv, "PUT", "/" + n).status, 200, "create " + n)
    seen, token, pages = [], None, 0
    while True:
        qq = [("max-buckets", "2"), ("prefix", "rf-page-")]
        if token:
            qq.append(("continuation-token", token))
        x = well_formed(send(srv, "GET", "/", qq), "ListBuckets page")
        got = [b.findtext("Name") for b in x.iter("Bucket")]
        check(len(got) <= 2, "page of %d buckets with max-buckets=2" % len(got))
        eq(x.findtext("Prefix"), "rf-page-", "Prefix echoed")
        check(all(b.findtext("BucketRegion") for b in x.iter("Bucket")), "BucketRegion")
        seen += got
        pages += 1
        token = x.findtext("ContinuationToken")
        if not token:
            break
        check(pages < 10, "ListBuckets paging does not end")
    eq(seen, names, "paged ListBuckets")
    eq(pages, 3, "pages of 2")
    x = well_formed(send(srv, "GET", "/", [("bucket-region", "eu-west-1")]), "bucket-region")
    check("rf-page-0" not in [b.findtext("Name") for b in x.iter("Bucket")],
          "bucket-region filter")
    for bad in ("0", "10001", "x", "-1"):
        eq(code(send(srv, "GET", "/", [("max-buckets", bad)])), (400, "InvalidArgument"),
           "max-buckets=%s" % bad)
    eq(code(send(srv, "GET", "/", [("continuation-token", "!!!")])), (400, "InvalidArgument"),
       "bad continuation token")


# ------------------------------------------------------------ F3 keys

BAD_KEYS = [  # (raw key bytes, Code)
    (b"bad\xff\xfekey", "InvalidURI"),
    (b"overlong\xc0\xaf", "InvalidURI"),
    (b"overlong3\xe0\x80\xaf", "InvalidURI"),
    (b"surrogate\xed\xa0\x80", "InvalidURI"),
    (b"beyond\xf4\x90\x80\x80", "InvalidURI"),
    (b"truncated\xe6\x97", "InvalidURI"),
    (b"ctrl\x01char", "InvalidArgument"),
    (b"esc\x1bape", "InvalidArgument"),
    (b"nonchar\xef\xbf\xbe", "InvalidArgument"),
]


def check_listings(srv, what):
    for qq in ([], [("list-type", "2")], q("versions"), q("uploads"),
               [("list-type", "2"), ("encoding-type", "url")]):
        well_formed(send(srv, "GET", "/" + B, qq), "%s: listing %r" % (what, qq))
    # a prefix and a delimiter that are not UTF-8 are echoed, and must not
    # break the document
    well_formed(send(srv, "GET", "/" + B, [("prefix", b"bad\xff\xfe"), ("delimiter", b"\x01")]),
                "%s: listing with a prefix that is not UTF-8" % what)


def t_keys(srv):
    for key, want in BAD_KEYS:
        path = b"/" + B.encode() + b"/" + key
        r = send(srv, "PUT", path, body=b"bad")
        eq(code(r), (400, want), "PUT %r" % key)
        r = send(srv, "PUT", path, headers={"x-amz-copy-source": "/%s/obj" % B})
        eq(code(r), (400, want), "CopyObject to %r" % key)
        r = send(srv, "POST", path, q("uploads"))
        eq(code(r), (400, want), "CreateMultipartUpload %r" % key)
    x = well_formed(send(srv, "GET", "/" + B, [("list-type", "2")]), "listing")
    keys = [c.findtext("Key") for c in x.iter("Contents")]
    check(not [k for k in keys if k.startswith(("bad", "overlong", "ctrl", "esc", "nonchar"))],
          "refused keys listed: %r" % keys)
    eq(uploads(srv), [], "uploads created for refused keys")
    check_listings(srv, "after refused keys")
    # keys XML carries are stored and listed back exactly: tab, LF, CR, DEL,
    # non-BMP characters
    good = ["tab\there", "line\nfeed", "carriage\rreturn", "del\x7f", "emoji-\U0001F600",
            "日本語/ファイル", "amp&<lt>\"'"]
    for k in good:
        eq(put(srv, "k/" + k, k.encode()).status, 200, "PUT %r" % k)
    x = well_formed(send(srv, "GET", "/" + B, [("list-type", "2"), ("prefix", "k/")]),
                    "listing of unusual keys")
    eq(sorted(c.findtext("Key") for c in x.iter("Contents")), sorted("k/" + k for k in good),
       "keys listed back exactly")
    for k in good:
        eq(body_of(srv, "k/" + k), k.encode(), "GET %r" % k)
    check_listings(srv, "with unusual keys")


# -------------------------------------------------- F4 conditional writes


def etag_of(srv, key):
    return send(srv, "HEAD", "/%s/%s" % (B, key)).header("ETag")


def t_conditional_put(srv):
    inm = {"If-None-Match": "*"}
    eq(put(srv, "cw/new", b"first", inm).status, 200, "If-None-Match: * on a new key")
    eq(code(put(srv, "cw/new", b"second", inm)), (412, "PreconditionFailed"),
       "If-None-Match: * on an existing key")
    eq(body_of(srv, "cw/new"), b"first", "object not overwritten")
    etag = etag_of(srv, "cw/new")
    eq(code(put(srv, "cw/new", b"third", {"If-Match": '"0123456789abcdef0123456789abcdef"'})),
       (412, "PreconditionFailed"), "If-Match with another ETag")
    eq(body_of(srv, "cw/new"), b"first", "object not overwritten (If-Match)")
    eq(put(srv, "cw/new", b"fourth", {"If-Match": etag}).status, 200, "If-Match with the ETag")
    eq(body_of(srv, "cw/new"), b"fourth", "object replaced (If-Match)")
    eq(put(srv, "cw/new", b"fifth", {"If-Match": "*"}).status, 200, "If-Match: * existing")
    eq(code(put(srv, "cw/missing", b"x", {"If-Match": etag})), (404, "NoSuchKey"),
       "If-Match on a missing key")
    eq(code(put(srv, "cw/missing", b"x", {"If-Match": "*"})), (404, "NoSuchKey"),
       "If-Match: * on a missing key")
    check(not exists(srv, "cw/missing"), "stored despite If-Match on a missing key")
    eq(code(put(srv, "cw/x", b"x", {"If-None-Match": etag})), (501, NOT_IMPL),
       "If-None-Match with an ETag on PUT")
    eq(code(put(srv, "cw/x", b"x", {"If-Unmodified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"})),
       (501, NOT_IMPL), "If-Unmodified-Since on PUT")
    check(not exists(srv, "cw/x"), "stored despite refused conditions")
    # copy: the destination's conditions
    src = {"x-amz-copy-source": "/%s/obj" % B}
    r = send(srv, "PUT", "/%s/cw/new" % B, headers=dict(src, **inm))
    eq(code(r), (412, "PreconditionFailed"), "copy with If-None-Match: * onto an object")
    eq(body_of(srv, "cw/new"), b"fifth", "copy did not overwrite")
    r = send(srv, "PUT", "/%s/cw/copy" % B, headers=dict(src, **inm))
    eq(r.status, 200, "copy with If-None-Match: * to a new key")
    r = send(srv, "PUT", "/%s/cw/copy" % B, headers=dict(src, **{"If-Match": '"00"'}))
    eq(code(r), (412, "PreconditionFailed"), "copy with a wrong If-Match")
    # delete
    eq(code(send(srv, "DELETE", "/%s/cw/new" % B, headers={"If-Match": '"00"'})),
       (412, "PreconditionFailed"), "DELETE with a wrong If-Match")
    check(exists(srv, "cw/new"), "deleted despite If-Match")
    eq(send(srv, "DELETE", "/%s/cw/new" % B, headers={"If-Match": etag_of(srv, "cw/new")}).status,
       204, "DELETE with the right If-Match")
    check(not exists(srv, "cw/new"), "not deleted with the right If-Match")
    eq(send(srv, "DELETE", "/%s/cw/new" % B, headers={"If-Match": '"00"'}).status, 204,
       "DELETE If-Match of a missing key")


def t_conditional_complete(srv):
    eq(put(srv, "cw/mp", b"existing").status, 200, "PUT cw/mp")
    uid, doc = one_part_upload(srv, "cw/mp", b"multipart data")
    path = "/%s/cw/mp" % B
    r = send(srv, "POST", path, [("uploadId", uid)], body=doc, headers={"If-None-Match": "*"})
    eq(code(r), (412, "PreconditionFailed"), "Complete with If-None-Match: * onto an object")
    eq(body_of(srv, "cw/mp"), b"existing", "object not replaced by the upload")
    check("cw/mp" in uploads(srv), "upload kept after a failed condition (retry or abort)")
    r = send(srv, "POST", path, [("uploadId", uid)], body=doc, headers={"If-Match": '"00"'})
    eq(code(r), (412, "PreconditionFailed"), "Complete with a wrong If-Match")
    r = send(srv, "POST", path, [("uploadId", uid)], body=doc,
             headers={"x-amz-mp-object-size": "3"})
    eq(code(r), (400, "InvalidRequest"), "Complete with a wrong x-amz-mp-object-size")
    eq(body_of(srv, "cw/mp"), b"existing", "object not replaced (size)")
    r = send(srv, "POST", path, [("uploadId", uid)], body=doc,
             headers={"If-Match": etag_of(srv, "cw/mp"), "x-amz-mp-object-size": "14"})
    eq(r.status, 200, "Complete with the right If-Match and size (%r)" % r)
    eq(body_of(srv, "cw/mp"), b"multipart data", "object replaced by the upload")
    uid, doc = one_part_upload(srv, "cw/mp-new", b"new multipart")
    r = send(srv, "POST", "/%s/cw/mp-new" % B, [("uploadId", uid)], body=doc,
             headers={"If-None-Match": "*"})
    eq(r.status, 200, "Complete with If-None-Match: * on a new key")
    eq(body_of(srv, "cw/mp-new"), b"new multipart", "new object")
    uid, doc = one_part_upload(srv, "cw/mp-missing", b"x")
    r = send(srv, "POST", "/%s/cw/mp-missing" % B, [("uploadId", uid)], body=doc,
             headers={"If-Match": '"00"'})
    eq(code(r), (404, "NoSuchKey"), "Complete with If-Match on a missing key")
    eq(send(srv, "DELETE", "/%s/cw/mp-missing" % B, [("uploadId", uid)]).status, 204, "abort")
    eq(uploads(srv), [], "uploads left")


def t_conditional_race(srv):
    """Writers racing with If-None-Match: * on one key: exactly one wins; the
    others get 412 (the winner was already there) or 409 (it committed while
    they were uploading); the object is the winner's."""
    n = 8
    bodies = [bytes([65 + i]) * (1 << 20) for i in range(n)]
    results = [None] * n
    go = threading.Barrier(n)

    def writer(i):
        go.wait()
        results[i] = put(srv, "cw/race", bodies[i], {"If-None-Match": "*"})

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    winners = [i for i, r in enumerate(results) if r is not None and r.status == 200]
    eq(len(winners), 1, "winners among %s" % [r.status if r else None for r in results])
    for i, r in enumerate(results):
        if i not in winners:
            check(code(r) in ((412, "PreconditionFailed"), (409, "ConditionalRequestConflict")),
                  "loser %d: %r" % (i, code(r)))
    print("     racing writers: %s" % sorted(r.status for r in results), flush=True)
    got = body_of(srv, "cw/race")
    eq(hashlib.md5(got).hexdigest(), hashlib.md5(bodies[winners[0]]).hexdigest(),
       "object is the winner's")
    eq(etag_of(srv, "cw/race"), results[winners[0]].header("ETag"), "ETag is the winner's")


def slow_put(srv, key, data, headers):
    """A signed PUT whose body is held back: returns send_rest, which sends
    the rest of the body and returns the response. It returns only once the
    server has checked the request's conditions on arrival: the request asks
    for `Expect: 100-continue`, and the server sends `100 Continue` after
    its start handler ran. (Returning earlier let the write "in between"
    overtake the arrival check itself on a loaded machine.)"""
    path_enc, h = sign(srv, "PUT", "/%s/%s" % (B, key), body=data, headers=headers)
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
    conn.putrequest("PUT", path_enc, skip_host=True, skip_accept_encoding=True)
    for k, v in h.items():
        conn.putheader(k, v)
    conn.putheader("Content-Length", str(len(data)))
    conn.putheader("Expect", "100-continue")
    conn.endheaders()
    interim = b""
    while not interim.endswith(b"\r\n\r\n"):  # byte by byte: leave the final answer
        c = conn.sock.recv(1)
        check(c != b"", "connection closed before 100 Continue (%r)" % interim)
        interim += c
    check(interim.startswith(b"HTTP/1.1 100"), "100 Continue first, got %r" % interim)
    conn.send(data[:len(data) // 2])

    def send_rest():
        conn.send(data[len(data) // 2:])
        r = conn.getresponse()
        out = harness.Response(r.status, r.reason, r.getheaders(), r.read())
        conn.close()
        return out
    return send_rest


def t_conditional_conflict(srv):
    """A conditional write whose condition held when it arrived but not when
    it commits (another write got in while its body was on the way): 409
    ConditionalRequestConflict, and the other write's object stays."""
    data = b"L" * (256 << 10)
    rest = slow_put(srv, "cw/conflict", data, {"If-None-Match": "*"})
    eq(put(srv, "cw/conflict", b"winner").status, 200, "the PUT that gets in between")
    eq(code(rest()), (409, "ConditionalRequestConflict"), "If-None-Match: * overtaken")
    eq(body_of(srv, "cw/conflict"), b"winner", "the winner's object stays")
    etag = etag_of(srv, "cw/conflict")
    rest = slow_put(srv, "cw/conflict", data, {"If-Match": etag})
    eq(put(srv, "cw/conflict", b"second winner").status, 200, "another PUT in between")
    eq(code(rest()), (409, "ConditionalRequestConflict"), "If-Match overtaken")
    eq(body_of(srv, "cw/conflict"), b"second winner", "the second winner's object stays")
    rest = slow_put(srv, "cw/conflict", data, {"If-Match": etag_of(srv, "cw/conflict")})
    eq(send(srv, "DELETE", "/%s/cw/conflict" % B).status, 204, "a DELETE in between")
    eq(code(rest()), (409, "ConditionalRequestConflict"), "If-Match overtaken by a delete")
    check(not exists(srv, "cw/conflict"), "object recreated by the overtaken write")


# ------------------------------------------------------ F4 smaller answers


def t_ranges(srv):
    eq(put(srv, "rng", b"0123456789").status, 200, "PUT rng")
    p = "/%s/rng" % B
    r = send(srv, "GET", p, headers={"Range": "bytes=99999999999999999999-"})
    eq(code(r), (416, "InvalidRange"), "Range past 64 bits")
    eq(r.header("Content-Range"), "bytes */10", "Content-Range of the 416")
    r = send(srv, "GET", p, headers={"Range": "bytes=0-99999999999999999999"})
    eq((r.status, r.body, r.header("Content-Range")), (206, b"0123456789", "bytes 0-9/10"),
       "Range ending past 64 bits")
    r = send(srv, "GET", p, headers={"Range": "bytes=2-3"}, query=[("partNumber", "1")])
    eq(code(r), (400, "InvalidRequest"), "Range with partNumber")
    r = send(srv, "GET", p, headers={"Range": "bytes=5-2"})
    eq((r.status, r.body), (200, b"0123456789"), "invalid range ignored (RFC 9110)")


def t_uri(srv):
    for target in ("/%s/bad%%ZZkey" % B, "/%s/trailing%%" % B, "/%s/half%%4" % B,
                   "/%s/sp%%%%41" % B):
        r = raw(srv, "PUT", target, body=b"x")
        eq(code(r), (400, "InvalidURI"), "PUT %s" % target)
        r = raw(srv, "GET", target)
        eq(code(r), (400, "InvalidURI"), "GET %s" % target)
    x = well_formed(send(srv, "GET", "/" + B, [("list-type", "2")]), "listing")
    check(not [c for c in x.iter("Contents") if "%" in c.findtext("Key")],
          "a key with a literal %% was stored")


def t_delete_objects(srv):
    for k in ("d/1", "d/2", "d/3"):
        eq(put(srv, k, b"d").status, 200, "PUT " + k)
    doc = b"<Delete><Object><Key>d/1</Key></Object></Delete>"
    r = send(srv, "POST", "/" + B, q("delete"), body=doc)
    eq(err(r), (400, "InvalidRequest", "Missing required header for this request: Content-MD5"),
       "DeleteObjects without Content-MD5 or checksum")
    r = send(srv, "POST", "/" + B, q("delete"), body=doc,
             headers={"x-amz-sdk-checksum-algorithm": "CRC32"})
    eq(code(r), (400, "InvalidRequest"), "DeleteObjects with an algorithm but no checksum")
    r = send(srv, "POST", "/" + B, q("delete"), body=doc,
             headers={"Content-MD5": harness.md5_b64(b"other")})
    eq(code(r), (400, "BadDigest"), "DeleteObjects with a wrong Content-MD5")
    r = send(srv, "POST", "/" + B, q("delete"), body=doc,
             headers={"x-amz-checksum-crc32": harness.checksum_b64("crc32", b"other")})
    eq(code(r), (400, "BadDigest"), "DeleteObjects with a wrong CRC32")
    check(exists(srv, "d/1"), "deleted despite refusals")
    r = send(srv, "POST", "/" + B, q("delete"), body=doc,
             headers={"x-amz-checksum-crc32": harness.checksum_b64("crc32", doc)})
    eq(r.status, 200, "DeleteObjects with x-amz-checksum-crc32 (%r)" % r)
    check(not exists(srv, "d/1"), "d/1 not deleted")
    # a checksum trailer (STREAMING-UNSIGNED-PAYLOAD-TRAILER)
    doc = b"<Delete><Object><Key>d/2</Key></Object></Delete>"
    mode = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    for value, want in ((harness.checksum_b64("crc32c", b"nope"), 400),
                        (harness.checksum_b64("crc32c", doc), 200)):
        body = harness.aws_chunked_unsigned_trailer(doc, 16, ("x-amz-checksum-crc32c", value))
        r = send(srv, "POST", "/" + B, q("delete"), body=body, payload_hash=mode, headers={
            "Content-Encoding": "aws-chunked", "x-amz-trailer": "x-amz-checksum-crc32c",
            "x-amz-sdk-checksum-algorithm": "CRC32C",
            "x-amz-decoded-content-length": str(len(doc))})
        eq(r.status, want, "DeleteObjects with a crc32c trailer (%r)" % r)
        eq(exists(srv, "d/2"), want != 200, "d/2 after the trailer request")
    # per-object conditions and versions
    etag3 = etag_of(srv, "d/3")
    doc = ("<Delete><Object><Key>d/3</Key><ETag>\"00\"</ETag></Object>"
           "<Object><Key>obj</Key><VersionId>abc</VersionId></Object>"
           "<Object><Key>obj</Key><Size>8</Size></Object></Delete>").encode()
    r = send(srv, "POST", "/" + B, q("delete"), body=doc,
             headers={"Content-MD5": harness.md5_b64(doc)})
    eq(r.status, 200, "DeleteObjects with conditions")
    errs = [(e.findtext("Key"), e.findtext("Code")) for e in r.xml().iter("Error")]
    eq(errs, [("d/3", "PreconditionFailed"), ("obj", "InvalidArgument"), ("obj", NOT_IMPL)],
       "per-object errors")
    check(exists(srv, "d/3") and exists(srv, "obj"), "deleted despite per-object errors")
    doc = ("<Delete><Object><Key>d/3</Key><ETag>%s</ETag></Object></Delete>" % etag3).encode()
    r = send(srv, "POST", "/" + B, q("delete"), body=doc,
             headers={"Content-MD5": harness.md5_b64(doc)})
    eq([d.findtext("Key") for d in r.xml().iter("Deleted")], ["d/3"], "deleted with its ETag")
    check(not exists(srv, "d/3"), "d/3 not deleted with its ETag")


def t_many_params(srv):
    # More than 1,000 parameters are refused on the request line, before
    # libmicrohttpd stores them (it would close the connection without an
    # answer once its per-connection pool is full: ~3,500 short ones)
    for n in (1001, 3000, 10000, 20000):
        target = "/%s?list-type=2&" % B + "&".join("p%d=v" % i for i in range(n))
        r = raw(srv, "GET", target)
        eq(code(r), (400, "InvalidArgument"), "%d query parameters" % n)
        check("at most 1000" in r.body.decode(), "%d query parameters: %r" % (n, r.body[:300]))
    # a request line longer than the read buffer: libmicrohttpd's own 414
    target = "/%s?list-type=2&" % B + "&".join("p%d=v" % i for i in range(60000))
    eq(raw(srv, "GET", target).status, 414, "a 530 KB request line")
    r = send(srv, "GET", "/" + B, [("list-type", "2")] + [("p%d" % i, "v") for i in range(900)])
    eq(r.status, 200, "900 ignored parameters (%r)" % r)


def t_location_constraint(srv):
    # covered with the other CreateBucket refusals; here: the server region
    # default and an empty LocationConstraint
    r = send(srv, "PUT", "/rf-empty-loc", body=b"<CreateBucketConfiguration><LocationConstraint>"
             b"</LocationConstraint></CreateBucketConfiguration>")
    eq(r.status, 200, "empty LocationConstraint")
    x = send(srv, "GET", "/rf-empty-loc", q("location")).xml()
    eq(x.text, None, "us-east-1 reported as an empty LocationConstraint")


def crc32_b64(data):
    return base64.b64encode(binascii.crc32(data).to_bytes(4, "big")).decode()


def t_complete_checksum(srv):
    """CompleteMultipartUpload's x-amz-checksum-<alg>: the whole object's
    checksum, of the upload's algorithm and type, checked before the object
    becomes visible (BadDigest), never ignored."""
    p1, p2 = b"a" * (5 << 20), b"tail of the object"
    whole = p1 + p2
    for mode in ("FULL_OBJECT", "COMPOSITE"):
        key = "ck/" + mode
        uid = create_upload(srv, key, headers={"x-amz-checksum-algorithm": "CRC32",
                                               "x-amz-checksum-type": mode})
        parts = []
        for n, data in ((1, p1), (2, p2)):
            r = send(srv, "PUT", "/%s/%s" % (B, key), [("partNumber", str(n)), ("uploadId", uid)],
                     body=data, headers={"x-amz-checksum-crc32": crc32_b64(data)})
            eq(r.status, 200, "UploadPart %d (%r)" % (n, r))
            parts.append("<Part><PartNumber>%d</PartNumber><ETag>%s</ETag>"
                         "<ChecksumCRC32>%s</ChecksumCRC32></Part>"
                         % (n, r.header("ETag"), crc32_b64(data)))
        doc = ("<CompleteMultipartUpload>%s</CompleteMultipartUpload>" % "".join(parts)).encode()
        if mode == "FULL_OBJECT":
            right = crc32_b64(whole)
        else:
            raw_cks = b"".join(binascii.crc32(d).to_bytes(4, "big") for d in (p1, p2))
            right = "%s-2" % base64.b64encode(binascii.crc32(raw_cks).to_bytes(4, "big")).decode()
        wrong = crc32_b64(b"something else") + ("" if mode == "FULL_OBJECT" else "-2")
        path = "/%s/%s" % (B, key)
        r = send(srv, "POST", path, [("uploadId", uid)], body=doc,
                 headers={"x-amz-checksum-crc32": wrong})
        eq(code(r), (400, "BadDigest"), "%s: Complete with a wrong whole-object CRC32" % mode)
        check(not exists(srv, key), "%s: no object after BadDigest" % mode)
        r = send(srv, "POST", path, [("uploadId", uid)], body=doc,
                 headers={"x-amz-checksum-sha256": base64.b64encode(b"x" * 32).decode()})
        eq(code(r), (400, "InvalidRequest"), "%s: Complete with another algorithm" % mode)
        other = "COMPOSITE" if mode == "FULL_OBJECT" else "FULL_OBJECT"
        r = send(srv, "POST", path, [("uploadId", uid)], body=doc,
                 headers={"x-amz-checksum-crc32": right, "x-amz-checksum-type": other})
        eq(code(r), (400, "InvalidRequest"), "%s: Complete with another checksum type" % mode)
        if mode == "COMPOSITE":
            r = send(srv, "POST", path, [("uploadId", uid)], body=doc,
                     headers={"x-amz-checksum-crc32": right[:-2] + "-3"})
            eq(code(r), (400, "BadDigest"), "COMPOSITE: a part count that is not the upload's")
        check(key in uploads(srv), "%s: upload kept for a retry" % mode)
        r = send(srv, "POST", path, [("uploadId", uid)], body=doc,
                 headers={"x-amz-checksum-crc32": right, "x-amz-checksum-type": mode})
        eq(r.status, 200, "%s: Complete with the right checksum (%r)" % (mode, r))
        eq(r.xml().findtext("ChecksumCRC32"), right, "%s: checksum in the answer" % mode)
        eq(hashlib.md5(body_of(srv, key)).hexdigest(), hashlib.md5(whole).hexdigest(),
           "%s: object bytes" % mode)


def main():
    if len(sys.argv) < 2:
        harness.fail("usage: %s PATH/TO/kura" % sys.argv[0])
    runner = Runner()
    with Kura(sys.argv[1]) as srv:
        runner.run("setup", t_setup, srv)
        runner.run("F2 bucket sub-resources", t_bucket_subresources, srv)
        runner.run("F2 object sub-resources", t_object_subresources, srv)
        runner.run("F2 server-side encryption headers", t_sse, srv)
        runner.run("F2 object headers (tagging, lock, storage class, grants, ACLs)",
                   t_object_headers, srv)
        runner.run("F2 x-amz-expected-bucket-owner", t_expected_owner, srv)
        runner.run("F2 ACL bodies", t_acl_bodies, srv)
        runner.run("F2 CreateBucket headers and LocationConstraint", t_create_bucket, srv)
        runner.run("F2 ListBuckets max-buckets / continuation-token", t_list_buckets, srv)
        runner.run("F3 keys that are not UTF-8 or not XML text", t_keys, srv)
        runner.run("F4 conditional PutObject / CopyObject / DeleteObject", t_conditional_put, srv)
        runner.run("F4 conditional CompleteMultipartUpload", t_conditional_complete, srv)
        runner.run("F4 racing If-None-Match: * writers", t_conditional_race, srv)
        runner.run("F4 conditional write overtaken: 409", t_conditional_conflict, srv)
        runner.run("F4 Range overflow, Range with partNumber", t_ranges, srv)
        runner.run("F4 malformed %-escapes", t_uri, srv)
        runner.run("F4 DeleteObjects integrity headers", t_delete_objects, srv)
        runner.run("F4 too many query parameters", t_many_params, srv)
        runner.run("F4 LocationConstraint defaults", t_location_constraint, srv)
        runner.run("CompleteMultipartUpload whole-object checksum", t_complete_checksum, srv)
        runner.run("server alive", lambda: check(srv.alive(), "kura died: " + srv.log_tail()))
    sys.exit(runner.finish())


if __name__ == "__main__":
    main()
