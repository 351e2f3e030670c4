#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The auth test matrix of issue 7 ("Keep them closed"), against one real
kura server over real HTTP, with requests signed here independently of kura
(the SigV4 signer of test_auth_rules.py; SigV2 header and query signing
below). Every check looks at the status and the error Code, and where a
request was refused, at what was (not) stored, changed or revealed.

usage: python3 test_auth_matrix.py PATH/TO/kura

Credentials (users alice and bob are made with `kura admin user add`):
  unsigned (anonymous) requests to private resources; wrong secret; unknown
  access key; clock skew beyond 15 minutes (both ways) and within it;
  presigned URLs: expired, not yet valid, signed long ago but unexpired,
  tampered (key, method, expiry, date, signature, credential, an added
  parameter), over a week of X-Amz-Expires, wrong secret, unknown key;
  unsigned extra x-amz-* headers and unsigned host (short re-checks: the
  full cases are auth-rules F1 and F6); the scope's region; SigV2 header
  (wrong secret, unknown key, skew of Date and x-amz-date) and query (wrong
  secret, unknown key, expired, tampered Expires / key / signature).

Operations: every row of the S3 route table (gateway/s3.c, `routes[]`),
called by the owner alice, another user bob, root and an anonymous caller,
on alice's private bucket (private object, a multipart upload) and on her
public-read bucket (a public-read object, a private object, an upload), and
on keys that do not exist there. The rules (docs/architecture.md, "Access
decisions"): owner and root may do everything; others may list a
public-read bucket (ListObjects v1/v2, HeadBucket) and read public-read
objects (GET/HEAD); an absent key is AccessDenied to those who may not
list the bucket, NoSuchKey to the others; CreateBucket and ListBuckets need
a signed-in caller; copy sources are read with the object rule. After
every refused write the fixtures (listings with ETag/size/mtime, bucket and
object ACLs, uploads and their parts, everyone's bucket list) are compared
with their state before. Then copy sources across owners (CopyObject and
UploadPartCopy), someone else's upload id in one's own bucket, ListBuckets
per caller, CreateBucket/DeleteBucket across owners, nonexistent buckets.
"""

import base64
import email.utils
import hashlib
import hmac
import http.client
import os
import re
import subprocess
import sys
import time
import types
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import REGION, Kura, Runner, check, eq  # noqa: E402
from test_auth_rules import err, send  # noqa: E402

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
NOT_SIGNED = "There were headers present in the request which were not signed"

PRIV = "am-alice-priv"  # alice's, private
PUB = "am-alice-pub"    # alice's, public-read
BOB = "am-bob"          # bob's, private
ROOTB = "am-root"       # root's, private
FIXTURE_BUCKETS = (PRIV, PUB, BOB, ROOTB)
SCRATCH = "scratch/"    # keys of allowed writes; the fixtures snapshot skips them

BODIES = {(PRIV, "obj"): b"alice private object",
          (PRIV, "obj2"): b"alice second private object",
          (PUB, "pub"): b"alice public object",
          (PUB, "priv"): b"alice private object in a public bucket",
          (BOB, "secret"): b"bob's secret",
          (ROOTB, "r"): b"root's object"}
PUBLIC_OBJECTS = {(PUB, "pub")}

DENIED = (403, "AccessDenied")
NOKEY = (404, "NoSuchKey")
OK = "ok"
WHO = ("alice", "bob", "root", "anon")


def q(*names):
    return [(n, "") for n in names]


def code(r):
    return err(r)[:2]


def texts(r, tag):
    return [e.text or "" for e in r.xml().iter(tag)]


# ------------------------------------------------------------------ callers


def cred(srv, ak, sk):
    """What the test_auth_rules signer needs to sign as someone."""
    return types.SimpleNamespace(port=srv.port, access_key=ak, secret_key=sk, tls=False)


class Ctx:
    def __init__(self, srv):
        self.srv = srv
        self.creds = {"root": cred(srv, srv.access_key, srv.secret_key)}
        self.snap = None
        self.uploads = {}    # (bucket, key) -> fixture upload id
        self.part_etag = {}  # upload id -> ETag of its part 1
        self.cases = 0

    def add_user(self, name):
        ak, sk = "AK" + name.upper() + harness.rand_key(12), harness.rand_key(40)
        r = subprocess.run([self.srv.kura_bin, "admin", "user", "add", *self.srv.store_args(),
                            ak, sk, name], capture_output=True, text=True, timeout=60)
        eq(r.returncode, 0, "kura admin user add %s (stderr: %s)" % (name, r.stderr.strip()))
        self.creds[name] = cred(self.srv, ak, sk)

    def req(self, who, method, path, query=(), headers=None, body=b""):
        """A request as who: SigV4 over every header sent, or unsigned for anon."""
        if who == "anon":
            return harness.http_request(self.srv, method, harness.uri_encode(path, False),
                                        list(query), dict(headers or {}), body)
        return send(self.creds[who], method, path, list(query), body=body, headers=headers)

    def ok(self, who, method, path, query=(), headers=None, body=b"", status=200):
        r = self.req(who, method, path, query, headers, body)
        eq(r.status, status, "%s %s %s?%s (%r)" % (who, method, path, query, r))
        return r

    # fixtures
    def put(self, who, bucket, key, data, acl=None):
        h = {"x-amz-acl": acl} if acl else None
        return self.ok(who, "PUT", "/%s/%s" % (bucket, key), headers=h, body=data)

    def new_upload(self, who, bucket, key, part=None):
        r = self.ok(who, "POST", "/%s/%s" % (bucket, key), q("uploads"))
        uid = r.xml().findtext("UploadId")
        etag = None
        if part is not None:
            r = self.ok(who, "PUT", "/%s/%s" % (bucket, key),
                        [("partNumber", "1"), ("uploadId", uid)], body=part)
            etag = r.header("ETag")
        return uid, etag

    def snapshot(self):
        """The fixtures' visible state, as root sees it: objects (ETag, size,
        mtime), bucket and object ACLs and tag sets, uploads and their parts;
        and every caller's bucket list. Keys under scratch/ are left out."""
        s = {}
        for b in FIXTURE_BUCKETS:
            r = self.ok("root", "GET", "/" + b, [("list-type", "2")])
            objs = [(c.findtext("Key"), c.findtext("ETag"), c.findtext("Size"),
                     c.findtext("LastModified")) for c in r.xml().iter("Contents")
                    if not c.findtext("Key").startswith(SCRATCH)]
            s[b, "objects"] = objs
            s[b, "acl"] = acl_of(self.ok("root", "GET", "/" + b, q("acl")))
            s[b, "tags"] = tags_of(self.req("root", "GET", "/" + b, q("tagging")))
            for k, *_ in objs:
                s[b, k, "acl"] = acl_of(self.ok("root", "GET", "/%s/%s" % (b, k), q("acl")))
                s[b, k, "tags"] = tags_of(self.ok("root", "GET", "/%s/%s" % (b, k),
                                                  q("tagging")))
            r = self.ok("root", "GET", "/" + b, q("uploads"))
            ups = [(u.findtext("Key"), u.findtext("UploadId")) for u in r.xml().iter("Upload")
                   if not u.findtext("Key").startswith(SCRATCH)]
            s[b, "uploads"] = ups
            for k, uid in ups:
                r = self.ok("root", "GET", "/%s/%s" % (b, k), [("uploadId", uid)])
                s[b, k, uid] = [(p.findtext("PartNumber"), p.findtext("ETag"), p.findtext("Size"))
                                for p in r.xml().iter("Part")]
        for who in ("alice", "bob", "root"):
            s["buckets", who] = texts(self.ok(who, "GET", "/"), "Name")
        return s

    def unchanged(self, what):
        now = self.snapshot()
        if now != self.snap:
            diff = sorted(set(now) | set(self.snap), key=repr)
            d = ["%r: %r -> %r" % (k, self.snap.get(k), now.get(k))
                 for k in diff if now.get(k) != self.snap.get(k)]
            raise AssertionError("%s changed the fixtures: %s" % (what, "; ".join(d)))


def acl_of(r):
    """(owner id, sorted (grantee, permission) pairs) of an AccessControlPolicy."""
    x = r.xml()
    grants = []
    for g in x.iter("Grant"):
        ge = g.find("Grantee")
        grants.append((ge.findtext("ID") or ge.findtext("URI"), g.findtext("Permission")))
    return x.find("Owner").findtext("ID"), sorted(grants)


def is_public(acl):
    return (ALL_USERS, "READ") in acl[1]


# -------------------------------------------------------------------- rules


def owner(who):
    return who in ("alice", "root")  # every fixture of the matrix is alice's


def may_list(who, bucket):
    return owner(who) or bucket == PUB


def r_owner(who, t):
    return OK if owner(who) else DENIED


def r_list(who, t):
    return OK if may_list(who, t.bucket) else DENIED


def r_read_object(who, t):
    if t.present:
        return OK if owner(who) or (t.bucket, t.key) in PUBLIC_OBJECTS else DENIED
    return NOKEY if may_list(who, t.bucket) else DENIED


def r_owner_object(who, t):
    if not owner(who):
        return DENIED
    return OK if t.present else NOKEY


def r_fixed(expected):
    return lambda who, t: expected


class T:
    """A target: a bucket, optionally a key (present or not), an upload."""

    def __init__(self, bucket, key=None, present=True, upload=None):
        self.bucket, self.key, self.present, self.upload = bucket, key, present, upload

    @property
    def path(self):
        return "/" + self.bucket + ("/" + self.key if self.key else "")

    def __repr__(self):
        s = self.path
        if self.key and not self.present:
            s += " (absent)"
        return s + (" upload" if self.upload else "")


def bucket_targets():
    return [T(PRIV), T(PUB)]


def object_targets():
    return [T(PRIV, "obj"), T(PUB, "pub"), T(PUB, "priv"),
            T(PRIV, "nokey", present=False), T(PUB, "nokey", present=False)]


def upload_targets(c):
    return [T(PRIV, "mp", upload=c.uploads[PRIV, "mp"]),
            T(PUB, "mp", upload=c.uploads[PUB, "mp"])]


# --------------------------------------------------------------- operations
# Each takes (c, who, target, allowed) and returns (response, verify): verify
# checks a success's effect (None: nothing more to check). When the caller
# is allowed, writes go to scratch keys and uploads made for the purpose, so
# that the fixtures stay as they are; a refused caller aims at the fixtures
# themselves (overwrites, deletions, someone else's upload).


def tags_of(r):
    """The tag set of a Tagging answer, or its error code."""
    if r.status != 200:
        return code(r)
    return [(t.findtext("Key"), t.findtext("Value")) for t in r.xml().iter("Tag")]


def tagging_doc(tags):
    return ("<Tagging><TagSet>%s</TagSet></Tagging>" % "".join(
        "<Tag><Key>%s</Key><Value>%s</Value></Tag>" % kv for kv in tags)).encode()


def scratch(who, op, t):
    return "%s%s-%s-%s" % (SCRATCH, who, op, t.key or "b")


def delete_doc(keys):
    return ("<Delete>%s</Delete>" % "".join("<Object><Key>%s</Key></Object>" % k
                                            for k in keys)).encode()


def complete_doc(parts):
    return ("<CompleteMultipartUpload>%s</CompleteMultipartUpload>" % "".join(
        "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>" % p for p in parts)).encode()


def fixture_keys(bucket):
    return sorted(k for b, k in BODIES if b == bucket)


def op_list_v1(c, who, t, allowed):
    r = c.req(who, "GET", t.path)
    return r, lambda: eq(sorted(texts(r, "Key")), fixture_keys(t.bucket), "listed keys")


def op_list_v2(c, who, t, allowed):
    r = c.req(who, "GET", t.path, [("list-type", "2")])
    return r, lambda: eq(sorted(texts(r, "Key")), fixture_keys(t.bucket), "listed keys")


def op_head_bucket(c, who, t, allowed):
    return c.req(who, "HEAD", t.path), None


def op_location(c, who, t, allowed):
    r = c.req(who, "GET", t.path, q("location"))
    return r, lambda: eq(r.xml().text, None, "LocationConstraint (us-east-1)")


def op_versioning(c, who, t, allowed):
    r = c.req(who, "GET", t.path, q("versioning"))
    return r, lambda: eq(r.xml().tag, "VersioningConfiguration", "GetBucketVersioning")


def op_get_bucket_acl(c, who, t, allowed):
    r = c.req(who, "GET", t.path, q("acl"))

    def verify():
        a = acl_of(r)
        eq(a[0], "alice", "bucket ACL owner")
        eq(is_public(a), t.bucket == PUB, "AllUsers READ in the bucket ACL")
    return r, verify


def op_list_uploads(c, who, t, allowed):
    r = c.req(who, "GET", t.path, q("uploads"))
    return r, lambda: check(c.uploads[t.bucket, "mp"] in texts(r, "UploadId"),
                            "the fixture upload is not listed")


def op_list_versions(c, who, t, allowed):
    r = c.req(who, "GET", t.path, q("versions"))
    return r, lambda: eq(sorted(texts(r, "Key")), fixture_keys(t.bucket), "versions' keys")


def op_put_bucket_acl(c, who, t, allowed):
    if allowed:  # the ACL the bucket has: a success that changes nothing
        acl = "public-read" if t.bucket == PUB else "private"
        r = c.req(who, "PUT", t.path, q("acl"), {"x-amz-acl": acl})
        return r, lambda: eq(is_public(acl_of(c.ok("root", "GET", t.path, q("acl")))),
                             t.bucket == PUB, "bucket ACL after PutBucketAcl")
    acl = "private" if t.bucket == PUB else "public-read"  # flip it
    return c.req(who, "PUT", t.path, q("acl"), {"x-amz-acl": acl}), None


def op_delete_bucket(c, who, t, allowed):
    # the fixtures are not empty: the owner gets past the access check to
    # BucketNotEmpty (real deletions: t_create_delete_bucket)
    return c.req(who, "DELETE", t.path), None


def op_delete_objects(c, who, t, allowed):
    if allowed:
        k = scratch(who, "delobjs", t)
        c.put("alice", t.bucket, k, b"to delete")
        keys = [k]
    else:
        keys = fixture_keys(t.bucket)
    doc = delete_doc(keys)
    r = c.req(who, "POST", t.path, q("delete"), {"Content-MD5": harness.md5_b64(doc)}, doc)

    def verify():
        eq(texts(r, "Key"), keys, "DeleteObjects: Deleted")
        eq(c.req("root", "HEAD", "/%s/%s" % (t.bucket, keys[0])).status, 404, "deleted object")
    return r, verify


def op_post_object(c, who, t, allowed):
    return c.req(who, "POST", t.path, headers={"Content-Type": "multipart/form-data; boundary=x"},
                 body=b"--x--\r\n"), None


def op_list_parts(c, who, t, allowed):
    if allowed:
        uid, etag = c.new_upload("alice", t.bucket, scratch(who, "parts", t), b"part one")
        key = scratch(who, "parts", t)
    else:
        uid, etag, key = t.upload, c.part_etag[t.upload], t.key
    r = c.req(who, "GET", "/%s/%s" % (t.bucket, key), [("uploadId", uid)])

    def verify():
        eq(texts(r, "ETag"), [etag], "ListParts: parts")
        c.ok("alice", "DELETE", "/%s/%s" % (t.bucket, key), [("uploadId", uid)], status=204)
    return r, verify


def op_get_object(c, who, t, allowed):
    r = c.req(who, "GET", t.path)
    return r, lambda: eq(r.body, BODIES[t.bucket, t.key], "object body")


def op_head_object(c, who, t, allowed):
    r = c.req(who, "HEAD", t.path)
    return r, lambda: eq(r.header("Content-Length"), str(len(BODIES[t.bucket, t.key])),
                         "HEAD Content-Length")


def op_get_object_acl(c, who, t, allowed):
    r = c.req(who, "GET", t.path, q("acl"))

    def verify():
        a = acl_of(r)
        eq(a[0], "alice", "object ACL owner")
        eq(is_public(a), (t.bucket, t.key) in PUBLIC_OBJECTS, "AllUsers READ in the object ACL")
    return r, verify


def op_get_object_tagging(c, who, t, allowed):
    r = c.req(who, "GET", t.path, q("tagging"))
    return r, lambda: eq(r.xml().tag, "Tagging", "GetObjectTagging")


def op_put_object_tagging(c, who, t, allowed):
    doc = tagging_doc([("by", who)])
    if allowed and t.present:
        k = scratch(who, "objtag", t)
        c.put("alice", t.bucket, k, b"tag me")
        path = "/%s/%s" % (t.bucket, k)
        r = c.req(who, "PUT", path, q("tagging"), body=doc)

        def verify():
            eq(tags_of(c.ok("root", "GET", path, q("tagging"))), [("by", who)], "object tags")
            c.ok("alice", "DELETE", path, status=204)
        return r, verify
    return c.req(who, "PUT", t.path, q("tagging"), body=doc), None


def op_delete_object_tagging(c, who, t, allowed):
    if allowed and t.present:
        k = scratch(who, "objuntag", t)
        path = "/%s/%s" % (t.bucket, k)
        c.ok("alice", "PUT", path, headers={"x-amz-tagging": "a=1"}, body=b"untag me")
        r = c.req(who, "DELETE", path, q("tagging"))

        def verify():
            eq(tags_of(c.ok("root", "GET", path, q("tagging"))), [], "object tags")
            c.ok("alice", "DELETE", path, status=204)
        return r, verify
    return c.req(who, "DELETE", t.path, q("tagging")), None


def op_get_bucket_tagging(c, who, t, allowed):
    # the fixtures have no tag set: the owner gets past the access check to
    # NoSuchTagSet (tag sets themselves: test_tagging.py)
    return c.req(who, "GET", t.path, q("tagging")), None


def op_put_bucket_tagging(c, who, t, allowed):
    r = c.req(who, "PUT", t.path, q("tagging"), body=tagging_doc([("by", who)]))

    def verify():
        eq(tags_of(c.ok("root", "GET", t.path, q("tagging"))), [("by", who)], "bucket tags")
        c.ok("alice", "DELETE", t.path, q("tagging"), status=204)
    return r, verify


def op_delete_bucket_tagging(c, who, t, allowed):
    # the fixtures have no tag set: deleting none is a success that changes nothing
    r = c.req(who, "DELETE", t.path, q("tagging"))
    return r, lambda: eq(code(c.req("root", "GET", t.path, q("tagging"))), (404, "NoSuchTagSet"),
                         "GetBucketTagging after DeleteBucketTagging")


def op_put_object_acl(c, who, t, allowed):
    if allowed and t.present:
        k = scratch(who, "objacl", t)
        c.put("alice", t.bucket, k, b"acl me")
        path = "/%s/%s" % (t.bucket, k)
        r = c.req(who, "PUT", path, q("acl"), {"x-amz-acl": "public-read"})

        def verify():
            eq(c.req("anon", "GET", path).status, 200, "anonymous GET after PutObjectAcl")
            c.ok("alice", "DELETE", path, status=204)
        return r, verify
    pub = (t.bucket, t.key) in PUBLIC_OBJECTS
    return c.req(who, "PUT", t.path, q("acl"),
                 {"x-amz-acl": "private" if pub else "public-read"}), None


def op_put_object(c, who, t, allowed):
    path = "/%s/%s" % (t.bucket, scratch(who, "put", t)) if allowed else t.path
    data = ("written by %s" % who).encode()
    r = c.req(who, "PUT", path, body=data)

    def verify():
        eq(c.ok("root", "GET", path).body, data, "stored body")
        c.ok("alice", "DELETE", path, status=204)
    return r, verify


def op_copy_object(c, who, t, allowed):
    # the source is readable by everyone (public-read): only the destination decides
    path = "/%s/%s" % (t.bucket, scratch(who, "copy", t)) if allowed else t.path
    r = c.req(who, "PUT", path, headers={"x-amz-copy-source": "/%s/pub" % PUB})

    def verify():
        eq(c.ok("root", "GET", path).body, BODIES[PUB, "pub"], "copied body")
        c.ok("alice", "DELETE", path, status=204)
    return r, verify


def op_create_upload(c, who, t, allowed):
    path = "/%s/%s" % (t.bucket, scratch(who, "mpu", t)) if allowed else t.path
    r = c.req(who, "POST", path, q("uploads"))

    def verify():
        uid = r.xml().findtext("UploadId")
        check(uid, "no UploadId")
        c.ok("alice", "DELETE", path, [("uploadId", uid)], status=204)
    return r, verify


def op_delete_object(c, who, t, allowed):
    path = t.path
    if allowed and t.present:
        path = "/%s/%s" % (t.bucket, scratch(who, "del", t))
        c.put("alice", t.bucket, path.split("/", 2)[2], b"to delete")
    r = c.req(who, "DELETE", path)
    return r, lambda: eq(c.req("root", "HEAD", path).status, 404, "deleted object")


def op_post_object_key(c, who, t, allowed):
    return c.req(who, "POST", t.path), None


def upload_for(c, who, t, allowed, op, with_part=False):
    """(path, upload id, etag of part 1): a new upload for an allowed caller,
    the fixture upload for a refused one."""
    if allowed:
        key = scratch(who, op, t)
        uid, etag = c.new_upload("alice", t.bucket, key, b"first part" if with_part else None)
        return "/%s/%s" % (t.bucket, key), uid, etag
    return t.path, t.upload, c.part_etag[t.upload]


def op_upload_part(c, who, t, allowed):
    path, uid, _ = upload_for(c, who, t, allowed, "part")
    data = ("part by %s" % who).encode()
    r = c.req(who, "PUT", path, [("partNumber", "2"), ("uploadId", uid)], body=data)

    def verify():
        lp = c.ok("alice", "GET", path, [("uploadId", uid)])
        eq(texts(lp, "PartNumber"), ["2"], "parts after UploadPart")
        c.ok("alice", "DELETE", path, [("uploadId", uid)], status=204)
    return r, verify


def op_upload_part_copy(c, who, t, allowed):
    path, uid, _ = upload_for(c, who, t, allowed, "partcopy")
    r = c.req(who, "PUT", path, [("partNumber", "3"), ("uploadId", uid)],
              {"x-amz-copy-source": "/%s/pub" % PUB})

    def verify():
        lp = c.ok("alice", "GET", path, [("uploadId", uid)])
        eq((texts(lp, "PartNumber"), texts(lp, "Size")), (["3"], [str(len(BODIES[PUB, "pub"]))]),
           "parts after UploadPartCopy")
        c.ok("alice", "DELETE", path, [("uploadId", uid)], status=204)
    return r, verify


def op_complete(c, who, t, allowed):
    path, uid, etag = upload_for(c, who, t, allowed, "complete", with_part=True)
    r = c.req(who, "POST", path, [("uploadId", uid)], body=complete_doc([(1, etag)]))

    def verify():
        eq(c.ok("root", "GET", path).body, b"first part", "completed object")
        c.ok("alice", "DELETE", path, status=204)
    return r, verify


def op_abort(c, who, t, allowed):
    path, uid, _ = upload_for(c, who, t, allowed, "abort")
    r = c.req(who, "DELETE", path, [("uploadId", uid)])
    return r, lambda: eq(code(c.req("alice", "GET", path, [("uploadId", uid)])),
                         (404, "NoSuchUpload"), "ListParts after AbortMultipartUpload")


# (operation of routes[], level, rule, function, success status, writes)
MATRIX = [
    ("ListObjects", "bucket", r_list, op_list_v1, 200, False),
    ("ListObjects list-type=2", "bucket", r_list, op_list_v2, 200, False),
    ("HeadBucket", "bucket", r_list, op_head_bucket, 200, False),
    ("GetBucketLocation", "bucket", r_owner, op_location, 200, False),
    ("GetBucketVersioning", "bucket", r_owner, op_versioning, 200, False),
    ("GetBucketAcl", "bucket", r_owner, op_get_bucket_acl, 200, False),
    # a bucket's READ grant (public-read) also allows ListMultipartUploads
    # and ListObjectVersions, as in AWS
    ("ListMultipartUploads", "bucket", r_list, op_list_uploads, 200, False),
    ("ListObjectVersions", "bucket", r_list, op_list_versions, 200, False),
    ("PutBucketAcl", "bucket", r_owner, op_put_bucket_acl, 200, True),
    ("GetBucketTagging", "bucket", lambda w, t: (404, "NoSuchTagSet") if owner(w) else DENIED,
     op_get_bucket_tagging, None, False),
    ("PutBucketTagging", "bucket", r_owner, op_put_bucket_tagging, 204, True),
    ("DeleteBucketTagging", "bucket", r_owner, op_delete_bucket_tagging, 204, True),
    ("DeleteBucket", "bucket", lambda w, t: (409, "BucketNotEmpty") if owner(w) else DENIED,
     op_delete_bucket, None, True),
    ("DeleteObjects", "bucket", r_owner, op_delete_objects, 200, True),
    # the form carries its own authentication (test_post_object.py); a form
    # without a file is refused whoever signed the request
    ("PostObject", "bucket", r_fixed((400, "InvalidArgument")), op_post_object, None, True),
    ("ListParts", "upload", r_owner, op_list_parts, 200, False),
    ("GetObject", "object", r_read_object, op_get_object, 200, False),
    ("GetObjectAcl", "object", r_owner_object, op_get_object_acl, 200, False),
    ("GetObjectTagging", "object", r_owner_object, op_get_object_tagging, 200, False),
    ("HeadObject", "object", r_read_object, op_head_object, 200, False),
    ("UploadPartCopy", "upload", r_owner, op_upload_part_copy, 200, True),
    ("UploadPart", "upload", r_owner, op_upload_part, 200, True),
    ("PutObjectAcl", "object", r_owner_object, op_put_object_acl, 200, True),
    ("PutObjectTagging", "object", r_owner_object, op_put_object_tagging, 200, True),
    ("DeleteObjectTagging", "object", r_owner_object, op_delete_object_tagging, 204, True),
    ("CopyObject", "object", r_owner, op_copy_object, 200, True),
    ("PutObject", "object", r_owner, op_put_object, 200, True),
    ("CreateMultipartUpload", "object", r_owner, op_create_upload, 200, True),
    ("CompleteMultipartUpload", "upload", r_owner, op_complete, 200, True),
    ("PostObjectKey", "object", r_fixed((405, "MethodNotAllowed")), op_post_object_key, None, True),
    ("AbortMultipartUpload", "upload", r_owner, op_abort, 204, True),
    ("DeleteObject", "object", lambda w, t: OK if owner(w) else DENIED, op_delete_object, 204,
     True),
]
# ListBuckets and CreateBucket (service level, and creating what does not
# exist yet) have their own tests below.
ROUTES_ELSEWHERE = {"ListBuckets", "CreateBucket"}


def revealed(c, r, t, what):
    """A refusal reveals neither the object (body, ETag) nor what the bucket
    holds (keys, upload ids)."""
    if (t.bucket, t.key) in BODIES:
        check(BODIES[t.bucket, t.key] not in r.body, "%s: object revealed" % what)
    check(r.header("ETag") is None, "%s: ETag revealed" % what)
    for k in fixture_keys(t.bucket) + ["mp"]:
        if k != t.key:
            check(("<Key>%s</Key>" % k).encode() not in r.body, "%s: key %s revealed" % (what, k))
    for uid in c.uploads.values():
        check(uid.encode() not in r.body, "%s: upload id revealed" % what)


def run_row(c, row):
    name, level, rule, fn, ok_status, writes = row
    targets = {"bucket": bucket_targets, "object": object_targets,
               "upload": lambda: upload_targets(c)}[level]()
    failures = []
    for who in WHO:
        for t in targets:
            c.cases += 1
            want = rule(who, t)
            allowed = want == OK
            what = "%s by %s on %r" % (name, who, t)
            try:
                r, verify = fn(c, who, t, allowed)
                if allowed:
                    eq(r.status, ok_status, "%s: status (%r)" % (what, r))
                    if verify:
                        verify()
                else:
                    if 200 <= r.status < 300:
                        raise AssertionError("%s: succeeded (%r)" % (what, r))
                    if fn in (op_head_bucket, op_head_object):  # no body, no Code
                        eq((r.status, r.body), (want[0], b""), what)
                    else:
                        eq(code(r), want, what + " (%r)" % r)
                    revealed(c, r, t, what)
                    if writes:
                        c.unchanged(what)
            except AssertionError as e:
                failures.append(str(e))
    if failures:
        raise AssertionError("%d of %d cases: %s" % (len(failures), len(WHO) * len(targets),
                                                      " | ".join(failures)))


def t_route_coverage(c):
    """Every operation of the route table is in the matrix (or has its own
    test here), so a new route cannot skip it."""
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "gateway", "s3.c")
    with open(src) as f:
        text = f.read()
    table = text[text.index("static const s3_route routes[] = {"):]
    table = table[:table.index("\n};")]
    names = re.findall(r'"(\w+)"\s*\}', table)
    check(len(names) >= 28, "routes parsed from gateway/s3.c: %r" % names)
    covered = {row[0].split()[0] for row in MATRIX} | ROUTES_ELSEWHERE
    eq(sorted(set(names) - covered), [], "routes of gateway/s3.c missing from the matrix")
    eq(sorted(covered - set(names)), [], "matrix rows that are not routes")


# --------------------------------------------------------------------- setup


def t_setup(c):
    c.add_user("alice")
    c.add_user("bob")
    c.ok("alice", "PUT", "/" + PRIV)
    c.ok("alice", "PUT", "/" + PUB, headers={"x-amz-acl": "public-read"})
    c.ok("bob", "PUT", "/" + BOB)
    c.ok("root", "PUT", "/" + ROOTB)
    for (b, k), data in BODIES.items():
        owner_of = {PRIV: "alice", PUB: "alice", BOB: "bob", ROOTB: "root"}[b]
        c.put(owner_of, b, k, data, "public-read" if (b, k) in PUBLIC_OBJECTS else None)
    for b in (PRIV, PUB):
        uid, etag = c.new_upload("alice", b, "mp", b"fixture part")
        c.uploads[b, "mp"] = uid
        c.part_etag[uid] = etag
    c.snap = c.snapshot()
    eq(c.snap["buckets", "alice"], [PRIV, PUB], "alice's buckets")
    eq(c.snap[PUB, "pub", "acl"], ("alice", [("alice", "FULL_CONTROL"), (ALL_USERS, "READ")]),
       "public-read object ACL")
    eq(c.snap[PUB, "priv", "acl"], ("alice", [("alice", "FULL_CONTROL")]), "private object ACL")


# ---------------------------------------------------------------- credentials


def v2_string(method, resource, date_line, headers=None, md5="", ctype=""):
    amz = sorted((k.lower(), v.strip()) for k, v in (headers or {}).items()
                 if k.lower().startswith("x-amz-"))
    return "%s\n%s\n%s\n%s\n%s%s" % (method, md5, ctype, date_line,
                                     "".join("%s:%s\n" % kv for kv in amz), resource)


def v2_sig(secret, sts):
    return base64.b64encode(hmac.new(secret.encode(), sts.encode(), hashlib.sha1).digest()).decode()


def v2_header(cr, method, resource, date=None, amz_date=None):
    """SigV2 header auth; the date line is Date (or x-amz-date when given)."""
    h = {"Date": date or email.utils.formatdate(usegmt=True)}
    if amz_date:
        h["x-amz-date"] = amz_date
    sts = v2_string(method, resource, "" if amz_date else h["Date"], h)
    h["Authorization"] = "AWS %s:%s" % (cr.access_key, v2_sig(cr.secret_key, sts))
    return h


def v2_query(cr, method, resource, expires):
    sig = v2_sig(cr.secret_key, v2_string(method, resource, str(expires)))
    return [("AWSAccessKeyId", cr.access_key), ("Expires", str(expires)), ("Signature", sig)]


def get_target(c, target, method="GET", body=b""):
    """Sends path?query exactly as given (presigned URLs)."""
    conn = http.client.HTTPConnection("127.0.0.1", c.srv.port, timeout=60)
    try:
        conn.request(method, target, body=body or None,
                     headers={"Host": "127.0.0.1:%d" % c.srv.port})
        r = conn.getresponse()
        return harness.Response(r.status, r.reason, r.getheaders(), r.read())
    finally:
        conn.close()


def presign(cr, port, method, path, expires=300, amz_date=None, region=REGION, query=()):
    return harness.presign_v4(method, "127.0.0.1:%d" % port, harness.uri_encode(path, False),
                              cr.access_key, cr.secret_key, expires=expires, query=query,
                              amz_date=amz_date, region=region)


def set_param(target, name, value):
    path, qs = target.split("?", 1)
    pairs = [(k, value if k == name else v) for k, v in urllib.parse.parse_qsl(qs)]
    return path + "?" + urllib.parse.urlencode(pairs, quote_via=urllib.parse.quote, safe="")


def expect(c, r, want, what, secret=None):
    c.cases += 1
    got = err(r)
    eq(got[:2] if len(want) == 2 else got, want, what + " (%r)" % r)
    if secret is not None:
        check(secret not in r.body, what + ": object revealed")


def t_credentials(c):
    """Header auth: anonymous, wrong secret, unknown key, skew."""
    alice = c.creds["alice"]
    obj, body = "/%s/obj" % PRIV, BODIES[PRIV, "obj"]
    expect(c, c.req("anon", "GET", obj), DENIED, "anonymous GET of a private object", body)
    expect(c, c.req("anon", "GET", "/" + PRIV), DENIED, "anonymous listing of a private bucket")
    expect(c, c.req("anon", "PUT", "/%s/anon-new" % PRIV, body=b"x"), DENIED, "anonymous PUT")
    wrong = cred(c.srv, alice.access_key, alice.secret_key[::-1])
    unknown = cred(c.srv, "AKUNKNOWN" + harness.rand_key(11), alice.secret_key)
    for cr, want in ((wrong, (403, "SignatureDoesNotMatch")),
                     (unknown, (403, "InvalidAccessKeyId"))):
        expect(c, send(cr, "GET", obj), want, "GET, " + want[1], body)
        expect(c, send(cr, "PUT", "/%s/forged-new" % PRIV, body=b"x"), want, "PUT, " + want[1])
        expect(c, send(cr, "PUT", obj, body=b"overwrite"), want, "overwrite, " + want[1])
        expect(c, send(cr, "DELETE", obj), want, "DELETE, " + want[1])
        expect(c, send(cr, "GET", "/"), want, "ListBuckets, " + want[1])
    skew = (403, "RequestTimeTooSkewed")
    for off in (-16 * 60, 16 * 60, -3600, 86400):
        expect(c, send(alice, "GET", obj, amz_date=harness.amz_now(off)), skew,
               "x-amz-date %+ds" % off, body)
    expect(c, send(alice, "PUT", "/%s/skewed-new" % PRIV, body=b"x",
                   amz_date=harness.amz_now(-16 * 60)), skew, "PUT with x-amz-date -16 min")
    for off in (-14 * 60, 14 * 60):
        c.cases += 1
        r = send(alice, "GET", obj, amz_date=harness.amz_now(off))
        eq((r.status, r.body), (200, body), "x-amz-date %+ds (within 15 min)" % off)
    c.unchanged("refused credentials")


def t_presigned(c):
    alice, bob = c.creds["alice"], c.creds["bob"]
    port = c.srv.port
    obj, body = "/%s/obj" % PRIV, BODIES[PRIV, "obj"]
    url = presign(alice, port, "GET", obj)
    c.cases += 1
    r = get_target(c, url)
    eq((r.status, r.body), (200, body), "presigned GET")
    c.cases += 1
    old = presign(alice, port, "GET", obj, expires=7200, amz_date=harness.amz_now(-3600))
    eq(get_target(c, old).status, 200, "presigned an hour ago for two hours (not a skew)")
    expired = presign(alice, port, "GET", obj, expires=300, amz_date=harness.amz_now(-400))
    expect(c, get_target(c, expired), (403, "AccessDenied", "Request has expired"),
           "expired presigned URL", body)
    expect(c, get_target(c, presign(alice, port, "PUT", "/%s/late-new" % PRIV, expires=60,
                                    amz_date=harness.amz_now(-120)), "PUT", b"x"),
           (403, "AccessDenied", "Request has expired"), "expired presigned PUT")
    future = presign(alice, port, "GET", obj, amz_date=harness.amz_now(20 * 60))
    expect(c, get_target(c, future), (403, "AccessDenied", "Request is not yet valid"),
           "presigned URL dated 20 min ahead", body)
    expect(c, get_target(c, presign(alice, port, "GET", obj, expires=604801)),
           (400, "AuthorizationQueryParametersError"), "X-Amz-Expires over a week", body)
    sig_bad = (403, "SignatureDoesNotMatch")
    date = urllib.parse.parse_qs(url.split("?", 1)[1])["X-Amz-Date"][0]
    other_second = date[:13] + ("00" if date[13:15] != "00" else "01") + "Z"
    tampered = {
        "another key": url.replace("/obj?", "/obj2?"),
        "X-Amz-Expires 300 -> 3600 (expired URL)": set_param(expired, "X-Amz-Expires", "3600"),
        "X-Amz-Date (same day, other second)": set_param(url, "X-Amz-Date", other_second),
        "signature": url[:-1] + ("0" if url[-1] != "0" else "1"),
        "credential of bob": url.replace(alice.access_key, bob.access_key),
        "added parameter": url + "&response-content-type=text%2Fhtml",
    }
    for what, target in tampered.items():
        expect(c, get_target(c, target), sig_bad, "presigned GET, tampered " + what, body)
        check(BODIES[PRIV, "obj2"] not in get_target(c, target).body, "obj2 revealed")
    expect(c, get_target(c, url, "DELETE"), sig_bad, "presigned GET URL used for DELETE")
    put_url = presign(alice, port, "PUT", "/%s/upload-here" % PRIV)
    expect(c, get_target(c, put_url.replace("/upload-here?", "/obj?"), "PUT", b"evil"), sig_bad,
           "presigned PUT aimed at another key")
    wrong = cred(c.srv, alice.access_key, alice.secret_key[::-1])
    unknown = cred(c.srv, "AKUNKNOWN" + harness.rand_key(11), alice.secret_key)
    expect(c, get_target(c, presign(wrong, port, "GET", obj)), sig_bad,
           "presigned with a wrong secret", body)
    expect(c, get_target(c, presign(unknown, port, "GET", obj)), (403, "InvalidAccessKeyId"),
           "presigned with an unknown key", body)
    expect(c, get_target(c, presign(alice, port, "GET", obj, region="eu-west-1")),
           (400, "AuthorizationQueryParametersError"), "presigned for eu-west-1", body)
    # bob's own, valid presigned URL: the access rule still applies
    expect(c, get_target(c, presign(bob, port, "GET", obj)), DENIED,
           "bob's presigned GET of alice's object", body)
    c.unchanged("refused presigned URLs")


def t_unsigned_headers_region(c):
    """Short re-checks; the full cases are auth-rules F1 (x-amz-*) and F6
    (host, region)."""
    alice = c.creds["alice"]
    path = "/%s/unsigned-new" % PRIV
    r = send(alice, "PUT", path, body=b"x", extra={"x-amz-acl": "public-read"})
    expect(c, r, (403, "AccessDenied", NOT_SIGNED), "unsigned x-amz-acl")
    eq(r.xml().findtext("HeadersNotSigned"), "x-amz-acl", "HeadersNotSigned")
    r = send(alice, "PUT", "/%s/copy-new" % PRIV, body=b"",
             extra={"x-amz-copy-source": "/%s/secret" % BOB})
    expect(c, r, (403, "AccessDenied", NOT_SIGNED), "unsigned x-amz-copy-source")
    r = send(alice, "GET", "/%s/obj" % PRIV, signed=["x-amz-content-sha256", "x-amz-date"])
    expect(c, r, (403, "AccessDenied", NOT_SIGNED), "host not signed", BODIES[PRIV, "obj"])
    eq(r.xml().findtext("HeadersNotSigned"), "host", "HeadersNotSigned (host)")
    r = send(alice, "GET", "/%s/obj" % PRIV, region="eu-west-1")
    expect(c, r, (400, "AuthorizationHeaderMalformed"), "scope region eu-west-1",
           BODIES[PRIV, "obj"])
    eq(r.xml().findtext("Region"), REGION, "<Region>")
    r = send(alice, "PUT", "/%s/region-new" % PRIV, body=b"x", region="us-west-2")
    expect(c, r, (400, "AuthorizationHeaderMalformed"), "PUT signed for us-west-2")
    c.unchanged("unsigned headers, wrong region")


def t_sigv2(c):
    alice, bob = c.creds["alice"], c.creds["bob"]
    obj, body = "/%s/obj" % PRIV, BODIES[PRIV, "obj"]
    wrong = cred(c.srv, alice.access_key, alice.secret_key[::-1])
    unknown = cred(c.srv, "AKUNKNOWN" + harness.rand_key(11), alice.secret_key)
    sig_bad, bad_key = (403, "SignatureDoesNotMatch"), (403, "InvalidAccessKeyId")
    skew = (403, "RequestTimeTooSkewed")

    def hreq(method, path, h, data=b""):
        return harness.http_request(c.srv, method, path, (), h, data)

    # header auth
    c.cases += 1
    eq(hreq("GET", obj, v2_header(alice, "GET", obj)).body, body, "SigV2 header GET")
    expect(c, hreq("GET", obj, v2_header(wrong, "GET", obj)), sig_bad, "SigV2 wrong secret", body)
    expect(c, hreq("PUT", "/%s/v2-new" % PRIV, v2_header(wrong, "PUT", "/%s/v2-new" % PRIV),
                   b"x"), sig_bad, "SigV2 PUT, wrong secret")
    expect(c, hreq("GET", obj, v2_header(unknown, "GET", obj)), bad_key, "SigV2 unknown key", body)
    stale = email.utils.formatdate(time.time() - 16 * 60, usegmt=True)
    ahead = email.utils.formatdate(time.time() + 16 * 60, usegmt=True)
    expect(c, hreq("GET", obj, v2_header(alice, "GET", obj, date=stale)), skew,
           "SigV2 Date -16 min", body)
    expect(c, hreq("GET", obj, v2_header(alice, "GET", obj, date=ahead)), skew,
           "SigV2 Date +16 min", body)
    expect(c, hreq("GET", obj, v2_header(alice, "GET", obj, amz_date=stale)), skew,
           "SigV2 x-amz-date -16 min", body)
    expect(c, hreq("PUT", "/%s/v2-old" % PRIV, v2_header(alice, "PUT", "/%s/v2-old" % PRIV,
                                                         date=stale), b"x"),
           skew, "SigV2 PUT, Date -16 min")
    c.cases += 1
    recent = email.utils.formatdate(time.time() - 14 * 60, usegmt=True)
    eq(hreq("GET", obj, v2_header(alice, "GET", obj, date=recent)).status, 200,
       "SigV2 Date -14 min")
    expect(c, hreq("GET", obj, v2_header(bob, "GET", obj)), DENIED, "SigV2 bob on alice's object",
           body)
    # query auth
    now = int(time.time())

    def qreq(method, path, query, data=b""):
        return harness.http_request(c.srv, method, path, query, {}, data)

    c.cases += 1
    eq(qreq("GET", obj, v2_query(alice, "GET", obj, now + 300)).body, body, "SigV2 query GET")
    expect(c, qreq("GET", obj, v2_query(wrong, "GET", obj, now + 300)), sig_bad,
           "SigV2 query, wrong secret", body)
    expect(c, qreq("GET", obj, v2_query(unknown, "GET", obj, now + 300)), bad_key,
           "SigV2 query, unknown key", body)
    past = v2_query(alice, "GET", obj, now - 10)
    expect(c, qreq("GET", obj, past), (403, "AccessDenied", "Request has expired"),
           "SigV2 query, expired", body)
    extended = [(k, str(now + 3600) if k == "Expires" else v) for k, v in past]
    expect(c, qreq("GET", obj, extended), sig_bad, "SigV2 query, Expires extended", body)
    good = v2_query(alice, "GET", obj, now + 300)
    expect(c, qreq("GET", "/%s/obj2" % PRIV, good), sig_bad, "SigV2 query, another key")
    flipped = [(k, ("A" if v[0] != "A" else "B") + v[1:] if k == "Signature" else v)
               for k, v in good]
    expect(c, qreq("GET", obj, flipped), sig_bad, "SigV2 query, signature changed", body)
    expect(c, qreq("DELETE", obj, good), sig_bad, "SigV2 query GET used for DELETE")
    put_q = v2_query(alice, "PUT", "/%s/v2-here" % PRIV, now + 300)
    expect(c, qreq("PUT", obj, put_q, b"evil"), sig_bad, "SigV2 query PUT aimed at another key")
    expect(c, qreq("GET", obj, v2_query(bob, "GET", obj, now + 300)), DENIED,
           "SigV2 query, bob on alice's object", body)
    c.unchanged("refused SigV2 requests")


# ------------------------------------------------------------- cross-owner


def t_copy_sources(c):
    """CopyObject and UploadPartCopy: the caller may write the destination;
    the source decides."""
    cases = [
        # caller, destination bucket, source, expected
        ("alice", PRIV, (BOB, "secret"), DENIED),
        ("alice", PRIV, (ROOTB, "r"), DENIED),
        ("alice", PRIV, (PUB, "priv"), OK),
        ("bob", BOB, (PUB, "pub"), OK),
        ("bob", BOB, (PUB, "priv"), DENIED),
        ("bob", BOB, (PRIV, "obj"), DENIED),
        ("bob", BOB, (PRIV, "nokey"), DENIED),
        ("bob", BOB, (PUB, "nokey"), NOKEY),
        ("bob", BOB, ("am-no-such-bucket", "k"), (404, "NoSuchBucket")),
        ("root", ROOTB, (BOB, "secret"), OK),
        ("root", ROOTB, (PRIV, "nokey"), NOKEY),
    ]
    failures = []
    for who, dest, (sb, sk), want in cases:
        src = "/%s/%s" % (sb, sk)
        for op in ("CopyObject", "UploadPartCopy"):
            c.cases += 1
            what = "%s by %s into %s from %s" % (op, who, dest, src)
            key = "%scp-%s-%s-%s" % (SCRATCH, who, sb, sk)
            path = "/%s/%s" % (dest, key)
            try:
                if op == "CopyObject":
                    r = c.req(who, "PUT", path, headers={"x-amz-copy-source": src})
                else:
                    uid, _ = c.new_upload(who, dest, key)
                    r = c.req(who, "PUT", path, [("partNumber", "1"), ("uploadId", uid)],
                              {"x-amz-copy-source": src})
                if want == OK:
                    eq(r.status, 200, what + " (%r)" % r)
                else:
                    eq(code(r), want, what + " (%r)" % r)
                if op == "CopyObject":
                    g = c.req("root", "GET", path)
                    if want == OK:
                        eq(g.body, BODIES[sb, sk], what + ": copied body")
                        c.ok(who, "DELETE", path, status=204)
                    else:
                        eq(g.status, 404, what + ": destination created")
                else:
                    lp = c.ok(who, "GET", path, [("uploadId", uid)])
                    eq(texts(lp, "Size"), [str(len(BODIES[sb, sk]))] if want == OK else [],
                       what + ": parts")
                    c.ok(who, "DELETE", path, [("uploadId", uid)], status=204)
            except AssertionError as e:
                failures.append(str(e))
    c.unchanged("copies across owners")
    if failures:
        raise AssertionError(" | ".join(failures))


def t_foreign_upload(c):
    """alice's upload id used by bob in his own bucket, or by alice on
    another key: NoSuchUpload, and the upload is untouched."""
    uid, etag = c.uploads[PRIV, "mp"], c.part_etag[c.uploads[PRIV, "mp"]]
    no_up = (404, "NoSuchUpload")
    for who, path in (("bob", "/%s/mp" % BOB), ("alice", "/%s/other" % PRIV),
                      ("alice", "/%s/mp" % PUB)):
        for method, query, body in (
                ("PUT", [("partNumber", "5"), ("uploadId", uid)], b"p"),
                ("GET", [("uploadId", uid)], b""),
                ("POST", [("uploadId", uid)], complete_doc([(1, etag)])),
                ("DELETE", [("uploadId", uid)], b"")):
            expect(c, c.req(who, method, path, query, body=body), no_up,
                   "%s %s %s with alice's upload id" % (who, method, path))
    c.unchanged("foreign upload ids")


def t_list_buckets(c):
    for who, want in (("alice", [PRIV, PUB]), ("bob", [BOB]), ("root", [ROOTB])):
        c.cases += 1
        r = c.ok(who, "GET", "/")
        eq(texts(r, "Name"), want, "ListBuckets as " + who)
        eq(r.xml().find("Owner").findtext("ID"), who, "ListBuckets Owner as " + who)
    expect(c, c.req("anon", "GET", "/"), DENIED, "anonymous ListBuckets")
    check(PRIV.encode() not in c.req("anon", "GET", "/").body, "bucket names revealed")


def t_create_delete_bucket(c):
    nb = "am-new-bucket"
    expect(c, c.req("anon", "PUT", "/" + nb), DENIED, "anonymous CreateBucket")
    eq(c.req("root", "HEAD", "/" + nb).status, 404, "bucket created anonymously")
    expect(c, c.req("bob", "PUT", "/" + PRIV), (409, "BucketAlreadyExists"),
           "bob creating alice's bucket")
    expect(c, c.req("root", "PUT", "/" + PRIV), (409, "BucketAlreadyExists"),
           "root creating alice's bucket")
    expect(c, c.req("alice", "PUT", "/" + PRIV), (409, "BucketAlreadyOwnedByYou"),
           "alice creating her own bucket again")
    c.unchanged("CreateBucket of an existing name")
    # a new, empty bucket of bob's: alice and anonymous may not delete it; root may
    c.cases += 1
    c.ok("bob", "PUT", "/" + nb)
    eq(texts(c.ok("bob", "GET", "/"), "Name"), [BOB, nb], "bob's buckets")
    eq(texts(c.ok("alice", "GET", "/"), "Name"), [PRIV, PUB], "alice's buckets")
    expect(c, c.req("alice", "DELETE", "/" + nb), DENIED, "alice deleting bob's empty bucket")
    expect(c, c.req("anon", "DELETE", "/" + nb), DENIED, "anonymous deleting bob's empty bucket")
    eq(c.req("bob", "HEAD", "/" + nb).status, 200, "bob's bucket still there")
    c.cases += 1
    c.ok("root", "DELETE", "/" + nb, status=204)
    eq(c.req("bob", "HEAD", "/" + nb).status, 404, "bucket deleted by root")
    c.cases += 1
    c.ok("alice", "PUT", "/" + nb)
    c.ok("alice", "DELETE", "/" + nb, status=204)
    eq(texts(c.ok("alice", "GET", "/"), "Name"), [PRIV, PUB], "alice's buckets after delete")
    c.unchanged("bucket creation and deletion")


def t_no_such_bucket(c):
    """A bucket that does not exist is NoSuchBucket to anyone."""
    nb = "/am-no-such-bucket"
    for who in WHO:
        for method, path, query in (("GET", nb, ()), ("GET", nb, q("acl")),
                                    ("GET", nb + "/k", ()), ("PUT", nb + "/k", ()),
                                    ("DELETE", nb + "/k", ()), ("DELETE", nb, ())):
            expect(c, c.req(who, method, path, query), (404, "NoSuchBucket"),
                   "%s %s %s?%s" % (who, method, path, query))


def t_bytes_intact(c):
    for (b, k), data in BODIES.items():
        eq(c.ok("root", "GET", "/%s/%s" % (b, k)).body, data, "bytes of %s/%s" % (b, k))
    c.unchanged("the whole run")


def main():
    if len(sys.argv) < 2:
        harness.fail("usage: %s PATH/TO/kura" % sys.argv[0])
    kura = sys.argv[1]
    runner = Runner()
    t0 = time.time()
    with Kura(kura) as srv:
        c = Ctx(srv)
        runner.run("every route of gateway/s3.c is in the matrix", t_route_coverage, c)
        runner.run("setup: users alice and bob, buckets, objects, uploads", t_setup, c)
        if c.snap is None:
            sys.exit(runner.finish())
        runner.run("credentials: anonymous, wrong secret, unknown key, skew", t_credentials, c)
        runner.run("presigned URLs: expired, not yet valid, tampered", t_presigned, c)
        runner.run("unsigned x-amz-* and host, wrong region", t_unsigned_headers_region, c)
        runner.run("SigV2 header and query", t_sigv2, c)
        for row in MATRIX:
            runner.run("matrix %s (alice, bob, root, anonymous)" % row[0], run_row, c, row)
        runner.run("copy sources across owners", t_copy_sources, c)
        runner.run("someone else's upload id", t_foreign_upload, c)
        runner.run("ListBuckets per caller", t_list_buckets, c)
        runner.run("CreateBucket / DeleteBucket across owners", t_create_delete_bucket, c)
        runner.run("nonexistent bucket: NoSuchBucket to anyone", t_no_such_bucket, c)
        runner.run("fixtures intact", t_bytes_intact, c)
        runner.run("server alive", lambda: check(srv.died() is None, srv.died()))
        print("%d cases in %.1fs" % (c.cases, time.time() - t0), flush=True)
    sys.exit(runner.finish())


if __name__ == "__main__":
    main()
