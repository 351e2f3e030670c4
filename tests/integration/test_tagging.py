#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""S3 object and bucket tagging against a real kura: PutObjectTagging /
GetObjectTagging / DeleteObjectTagging, x-amz-tagging on PutObject,
CreateMultipartUpload (applied at completion), CopyObject with
x-amz-tagging-directive COPY / REPLACE (onto another key and onto itself) and
POST Object's tagging field, x-amz-tagging-count on GET and HEAD, the limits
and errors AWS answers (exact codes, and nothing changed or stored by a
refusal), bucket tagging (NoSuchTagSet, 50 tags), who may tag, tags leaving
with their object, and every tag set after a restart. Clients: boto3, raw
SigV4 requests for what boto3 will not send, and aws-cli v2
(/usr/bin/aws s3api put-object-tagging / get-object-tagging).

Runs on the embedded LMDB store, and on Redis under deploy/redis-local.sh
(tests/integration/meson.build, suite redis-integration).

usage: python3 test_tagging.py PATH/TO/kura
"""

import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Kura, Runner, check, eq  # noqa: E402
from test_auth_rules import err, send  # noqa: E402
from test_post_object import multipart, post_raw  # noqa: E402

B = "tagbucket"


def client(srv, ak=None, sk=None):
    import boto3
    from botocore.config import Config
    return boto3.client(
        "s3", endpoint_url=srv.endpoint, aws_access_key_id=ak or srv.access_key,
        aws_secret_access_key=sk or srv.secret_key, region_name=harness.REGION,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                      retries={"max_attempts": 1, "mode": "standard"}))


def q(*names):
    return [(n, "") for n in names]


def code(r):
    return err(r)[:2]


def tagset(pairs):
    return [{"Key": k, "Value": v} for k, v in pairs]


def doc(pairs):
    """A Tagging document (keys and values XML-escaped)."""
    from xml.sax.saxutils import escape
    return ("<Tagging><TagSet>%s</TagSet></Tagging>" % "".join(
        "<Tag><Key>%s</Key><Value>%s</Value></Tag>" % (escape(k), escape(v))
        for k, v in pairs)).encode()


def tags(srv, key, bucket=B):
    r = client(srv).get_object_tagging(Bucket=bucket, Key=key)
    return [(t["Key"], t["Value"]) for t in r["TagSet"]]


def head(srv, key):
    r = send(srv, "HEAD", "/%s/%s" % (B, key))
    eq(r.status, 200, "HEAD %s" % key)
    return r


def tag_count(srv, key):
    """x-amz-tagging-count on HEAD and GET (they must agree)."""
    h = head(srv, key).header("x-amz-tagging-count")
    g = send(srv, "GET", "/%s/%s" % (B, key))
    eq(g.status, 200, "GET %s" % key)
    eq(g.header("x-amz-tagging-count"), h, "x-amz-tagging-count of GET and HEAD")
    return h


def exists(srv, key):
    return send(srv, "HEAD", "/%s/%s" % (B, key)).status == 200


UNICODE = [("ключ", "значение"), ("鍵", "値 ２"), ("k +-=._:/@", "v +-=._:/@"), ("empty", "")]


def t_setup(srv):
    client(srv).create_bucket(Bucket=B)


def t_object_tagging(srv):
    c = client(srv)
    c.put_object(Bucket=B, Key="plain", Body=b"plain bytes")
    eq(tags(srv, "plain"), [], "tags of an untagged object")
    eq(tag_count(srv, "plain"), None, "x-amz-tagging-count without tags")
    before = head(srv, "plain")
    c.put_object_tagging(Bucket=B, Key="plain", Tagging={"TagSet": tagset(UNICODE)})
    eq(tags(srv, "plain"), UNICODE, "tags after PutObjectTagging (order kept)")
    eq(tag_count(srv, "plain"), "4", "x-amz-tagging-count")
    after = head(srv, "plain")
    for h in ("ETag", "Last-Modified", "Content-Length"):
        eq(after.header(h), before.header(h), "%s unchanged by tagging" % h)
    eq(c.get_object(Bucket=B, Key="plain")["Body"].read(), b"plain bytes", "body after tagging")
    # a new tag set replaces the old one whole
    c.put_object_tagging(Bucket=B, Key="plain", Tagging={"TagSet": tagset([("only", "one")])})
    eq(tags(srv, "plain"), [("only", "one")], "tags replaced")
    eq(tag_count(srv, "plain"), "1", "x-amz-tagging-count after replacing")
    # the raw answers: 200 empty PutObjectTagging, 204 DeleteObjectTagging
    r = send(srv, "PUT", "/%s/plain" % B, q("tagging"), body=doc([("raw", "1")]))
    eq((r.status, r.body), (200, b""), "PutObjectTagging answer")
    r = send(srv, "GET", "/%s/plain" % B, q("tagging"))
    eq(r.status, 200, "GetObjectTagging")
    x = r.xml()
    eq(x.tag, "Tagging", "GetObjectTagging root")
    check(b'<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' in r.body,
          "GetObjectTagging namespace: %r" % r.body)
    r = send(srv, "DELETE", "/%s/plain" % B, q("tagging"))
    eq(r.status, 204, "DeleteObjectTagging")
    eq(tags(srv, "plain"), [], "tags after DeleteObjectTagging")
    eq(tag_count(srv, "plain"), None, "x-amz-tagging-count after DeleteObjectTagging")
    # DeleteObjectTagging of an untagged object: 204 as well
    eq(send(srv, "DELETE", "/%s/plain" % B, q("tagging")).status, 204, "delete no tags")
    # an empty TagSet is a valid tag set: no tags
    c.put_object_tagging(Bucket=B, Key="plain", Tagging={"TagSet": tagset([("x", "y")])})
    c.put_object_tagging(Bucket=B, Key="plain", Tagging={"TagSet": []})
    eq(tags(srv, "plain"), [], "tags after an empty TagSet")
    # limits that hold exactly
    ten = [("k%d" % i, "v%d" % i) for i in range(10)]
    c.put_object_tagging(Bucket=B, Key="plain", Tagging={"TagSet": tagset(ten)})
    eq(tags(srv, "plain"), ten, "10 tags")
    longest = [("k" * 128, "v" * 256), ("é" * 128, "ж" * 256)]
    c.put_object_tagging(Bucket=B, Key="plain", Tagging={"TagSet": tagset(longest)})
    eq(tags(srv, "plain"), longest, "128-character key, 256-character value")


def t_missing(srv):
    eq(code(send(srv, "GET", "/%s/nope" % B, q("tagging"))), (404, "NoSuchKey"), "GET tagging")
    eq(code(send(srv, "PUT", "/%s/nope" % B, q("tagging"), body=doc([("a", "b")]))),
       (404, "NoSuchKey"), "PUT tagging of a missing key")
    eq(code(send(srv, "DELETE", "/%s/nope" % B, q("tagging"))), (404, "NoSuchKey"),
       "DELETE tagging of a missing key")
    check(not exists(srv, "nope"), "PutObjectTagging created an object")
    eq(code(send(srv, "GET", "/nobucket/x", q("tagging"))), (404, "NoSuchBucket"), "no bucket")


def t_version_id(srv):
    c = client(srv)
    c.put_object(Bucket=B, Key="ver", Body=b"v", Tagging="a=1")
    r = c.get_object_tagging(Bucket=B, Key="ver", VersionId="null")
    eq([(t["Key"], t["Value"]) for t in r["TagSet"]], [("a", "1")], "versionId=null")
    c.put_object_tagging(Bucket=B, Key="ver", VersionId="null",
                         Tagging={"TagSet": tagset([("b", "2")])})
    eq(tags(srv, "ver"), [("b", "2")], "PutObjectTagging versionId=null")
    # kura keeps no other version (as GetObject: 400 InvalidArgument)
    for m, body in (("GET", b""), ("PUT", doc([("c", "3")])), ("DELETE", b"")):
        r = send(srv, m, "/%s/ver" % B, q("tagging") + [("versionId", "3HL4kqtJlcpXroDTDmJ")],
                 body=body)
        eq(err(r), (400, "InvalidArgument", "Invalid version id specified"), "%s versionId" % m)
    eq(tags(srv, "ver"), [("b", "2")], "tags unchanged by refused version requests")


BAD_TAGS = [
    ("11 tags", [("k%d" % i, "v") for i in range(11)],
     ("BadRequest", "Object tags cannot be greater than 10")),
    ("duplicate keys", [("a", "1"), ("a", "2")],
     ("InvalidTag", "Cannot provide multiple Tags with the same key")),
    ("aws: prefix", [("aws:cloudformation", "x")],
     ("InvalidTag", "Your TagKey cannot be prefixed with aws:")),
    ("129-character key", [("k" * 129, "v")],
     ("InvalidTag", "The TagKey you have provided is invalid")),
    ("empty key", [("", "v")], ("InvalidTag", "The TagKey you have provided is invalid")),
    ("257-character value", [("k", "v" * 257)],
     ("InvalidTag", "The TagValue you have provided is invalid")),
    ("! in a key", [("a!b", "v")], ("InvalidTag", "The TagKey you have provided is invalid")),
    ("; in a value", [("k", "a;b")], ("InvalidTag", "The TagValue you have provided is invalid")),
    ("emoji", [("k", "\U0001F600")], ("InvalidTag", "The TagValue you have provided is invalid")),
    ("tab", [("a\tb", "v")], ("InvalidTag", "The TagKey you have provided is invalid")),
]


def t_object_errors(srv):
    c = client(srv)
    c.put_object(Bucket=B, Key="bad", Body=b"b", Tagging="keep=me")
    for what, pairs, (want_code, want_msg) in BAD_TAGS:
        r = send(srv, "PUT", "/%s/bad" % B, q("tagging"), body=doc(pairs))
        eq(err(r), (400, want_code, want_msg), "PutObjectTagging: " + what)
        if want_code == "InvalidTag":
            eq(r.xml().findtext("TagKey"), pairs[-1][0], "TagKey of " + what)
    eq(tags(srv, "bad"), [("keep", "me")], "tags unchanged by refused PutObjectTagging")
    # documents that are not a tag set
    for body in (b"", b"not xml", b"<Tagging/>", b"<Tagging><TagSet/><TagSet/></Tagging>",
                 b"<Other><TagSet/></Other>",
                 b"<Tagging><TagSet><Tag><Key>a</Key></Tag></TagSet></Tagging>",
                 b"<Tagging><TagSet><Tag><Value>a</Value></Tag></TagSet></Tagging>",
                 b"<Tagging><TagSet><Tag><Key>a</Key><Key>b</Key><Value>c</Value></Tag>"
                 b"</TagSet></Tagging>",
                 b"<Tagging><TagSet><Item><Key>a</Key><Value>b</Value></Item></TagSet></Tagging>"):
        r = send(srv, "PUT", "/%s/bad" % B, q("tagging"), body=body)
        eq(code(r), (400, "MalformedXML"), "PutObjectTagging %r" % body)
    eq(tags(srv, "bad"), [("keep", "me")], "tags unchanged by malformed documents")


def t_header(srv):
    c = client(srv)
    c.put_object(Bucket=B, Key="hdr", Body=b"h", Tagging="a=1&b=x%20y&c=&d&e=%C3%A4+%2B")
    eq(tags(srv, "hdr"), [("a", "1"), ("b", "x y"), ("c", ""), ("d", ""), ("e", "ä +")],
       "tags from x-amz-tagging")
    eq(tag_count(srv, "hdr"), "5", "x-amz-tagging-count")
    c.put_object(Bucket=B, Key="hdr", Body=b"h2")
    eq(tags(srv, "hdr"), [], "an overwrite without x-amz-tagging has no tags")
    c.put_object(Bucket=B, Key="hdr-empty", Body=b"h", Tagging="")
    eq(tags(srv, "hdr-empty"), [], "empty x-amz-tagging")
    refused = [("11 tags", "&".join("k%d=v" % i for i in range(11)),
                (400, "BadRequest", "Object tags cannot be greater than 10")),
               ("duplicate keys", "a=1&a=2",
                (400, "InvalidTag", "Cannot provide multiple Tags with the same key")),
               ("aws: prefix", "aws%3Ax=1",
                (400, "InvalidTag", "Your TagKey cannot be prefixed with aws:")),
               ("a currency sign", "a=%E2%82%AC",
                (400, "InvalidTag", "The TagValue you have provided is invalid")),
               ("bad character", "a=%21",
                (400, "InvalidTag", "The TagValue you have provided is invalid")),
               ("bad escape", "a=%zz", (400, "InvalidArgument", None)),
               ("not UTF-8", "a=%FF", (400, "InvalidArgument", None))]
    for i, (what, value, want) in enumerate(refused):
        key = "hdr-bad-%d" % i
        r = send(srv, "PUT", "/%s/%s" % (B, key), headers={"x-amz-tagging": value}, body=b"x")
        got = err(r)
        eq(got if want[2] else got[:2], want if want[2] else want[:2], "PutObject: " + what)
        if want[1] == "InvalidArgument":
            eq(r.xml().findtext("ArgumentName"), "x-amz-tagging", "ArgumentName")
        check(not exists(srv, key), "object stored despite " + what)
        r = send(srv, "POST", "/%s/%s" % (B, key), q("uploads"), headers={"x-amz-tagging": value})
        eq(code(r), want[:2], "CreateMultipartUpload: " + what)
    ups = c.list_multipart_uploads(Bucket=B).get("Uploads", [])
    eq([u["Key"] for u in ups if u["Key"].startswith("hdr-bad")], [], "uploads despite refusals")


def t_copy(srv):
    c = client(srv)
    c.put_object(Bucket=B, Key="src", Body=b"source", Tagging="s=1&t=2")
    c.copy_object(Bucket=B, Key="cp-default", CopySource={"Bucket": B, "Key": "src"})
    eq(tags(srv, "cp-default"), [("s", "1"), ("t", "2")], "copy keeps tags by default")
    c.copy_object(Bucket=B, Key="cp-copy", CopySource={"Bucket": B, "Key": "src"},
                  TaggingDirective="COPY", Tagging="ignored=1")
    eq(tags(srv, "cp-copy"), [("s", "1"), ("t", "2")], "COPY ignores x-amz-tagging")
    c.copy_object(Bucket=B, Key="cp-replace", CopySource={"Bucket": B, "Key": "src"},
                  TaggingDirective="REPLACE", Tagging="r=9")
    eq(tags(srv, "cp-replace"), [("r", "9")], "REPLACE takes x-amz-tagging")
    eq(tag_count(srv, "cp-replace"), "1", "x-amz-tagging-count of the copy")
    c.copy_object(Bucket=B, Key="cp-none", CopySource={"Bucket": B, "Key": "src"},
                  TaggingDirective="REPLACE")
    eq(tags(srv, "cp-none"), [], "REPLACE without x-amz-tagging: no tags")
    eq(tags(srv, "src"), [("s", "1"), ("t", "2")], "source tags unchanged")
    # onto itself: a metadata change keeps the tags, REPLACE changes them too
    c.copy_object(Bucket=B, Key="src", CopySource={"Bucket": B, "Key": "src"},
                  MetadataDirective="REPLACE", Metadata={"m": "1"})
    eq(tags(srv, "src"), [("s", "1"), ("t", "2")], "self-copy keeps tags")
    c.copy_object(Bucket=B, Key="src", CopySource={"Bucket": B, "Key": "src"},
                  MetadataDirective="REPLACE", Metadata={"m": "2"},
                  TaggingDirective="REPLACE", Tagging="self=1")
    eq(tags(srv, "src"), [("self", "1")], "self-copy with REPLACE tags")
    eq(c.head_object(Bucket=B, Key="src")["Metadata"], {"m": "2"}, "self-copy metadata")
    # refusals store nothing
    r = send(srv, "PUT", "/%s/cp-bad" % B, headers={
        "x-amz-copy-source": "/%s/src" % B, "x-amz-tagging-directive": "REPLACE",
        "x-amz-tagging": "a=1&a=2"})
    eq(code(r), (400, "InvalidTag"), "copy with duplicate tag keys")
    check(not exists(srv, "cp-bad"), "copy stored despite a refused tag set")
    r = send(srv, "PUT", "/%s/src" % B, headers={
        "x-amz-copy-source": "/%s/src" % B, "x-amz-metadata-directive": "REPLACE",
        "x-amz-tagging-directive": "REPLACE", "x-amz-tagging": "aws:x=1"})
    eq(code(r), (400, "InvalidTag"), "self-copy with a reserved key")
    eq(tags(srv, "src"), [("self", "1")], "tags unchanged by a refused self-copy")


def t_multipart(srv):
    c = client(srv)
    up = c.create_multipart_upload(Bucket=B, Key="mp", Tagging="mp=yes&n=2")
    uid = up["UploadId"]
    part1 = b"a" * (5 << 20)
    e1 = c.upload_part(Bucket=B, Key="mp", UploadId=uid, PartNumber=1, Body=part1)["ETag"]
    e2 = c.upload_part(Bucket=B, Key="mp", UploadId=uid, PartNumber=2, Body=b"tail")["ETag"]
    check(not exists(srv, "mp"), "object visible before completion")
    c.complete_multipart_upload(Bucket=B, Key="mp", UploadId=uid, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    eq(tags(srv, "mp"), [("mp", "yes"), ("n", "2")], "tags of the completed upload")
    eq(tag_count(srv, "mp"), "2", "x-amz-tagging-count of a multipart object")
    eq(c.head_object(Bucket=B, Key="mp")["ContentLength"], len(part1) + 4, "size")
    # without tags
    up = c.create_multipart_upload(Bucket=B, Key="mp-plain")
    e1 = c.upload_part(Bucket=B, Key="mp-plain", UploadId=up["UploadId"], PartNumber=1,
                       Body=b"x")["ETag"]
    c.complete_multipart_upload(Bucket=B, Key="mp-plain", UploadId=up["UploadId"],
                                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}]})
    eq(tags(srv, "mp-plain"), [], "untagged multipart object")


def t_post_object(srv):
    xml = doc([("form", "yes"), ("k", "v w")]).decode()
    p = client(srv).generate_presigned_post(B, "posted", Fields={"tagging": xml},
                                            Conditions=[{"tagging": xml}], ExpiresIn=300)
    body, ctype = multipart(p["fields"], b"posted bytes")
    r = post_raw(srv, body, ctype, path="/" + B)
    eq(r.status, 204, "POST Object with tagging (%r)" % r)
    eq(tags(srv, "posted"), [("form", "yes"), ("k", "v w")], "tags of a POST upload")
    eq(tag_count(srv, "posted"), "2", "x-amz-tagging-count of a POST upload")
    for i, (field, want) in enumerate((
            (doc([("a", "1"), ("a", "2")]).decode(), (400, "InvalidTag")),
            (doc([("k%d" % j, "v") for j in range(11)]).decode(), (400, "BadRequest")),
            ("a=1", (400, "MalformedXML")))):
        key = "posted-bad-%d" % i
        p = client(srv).generate_presigned_post(B, key, Fields={"tagging": field},
                                                Conditions=[{"tagging": field}], ExpiresIn=300)
        body, ctype = multipart(p["fields"], b"x")
        eq(code(post_raw(srv, body, ctype, path="/" + B)), want, "POST tagging %r" % field)
        check(not exists(srv, key), "POST stored despite a refused tag set")
    # the tagging field is a form field like any other: the policy must name it
    p = client(srv).generate_presigned_post(B, "posted-unsigned", ExpiresIn=300)
    body, ctype = multipart(list(p["fields"].items()) + [("tagging", xml)], b"x")
    eq(post_raw(srv, body, ctype, path="/" + B).status, 403, "tagging outside the policy")
    check(not exists(srv, "posted-unsigned"), "POST stored with a field outside the policy")


def t_bucket_tagging(srv):
    c = client(srv)
    eq(code(send(srv, "GET", "/" + B, q("tagging"))), (404, "NoSuchTagSet"), "no tag set")
    eq(send(srv, "DELETE", "/" + B, q("tagging")).status, 204, "DeleteBucketTagging of none")
    pairs = [("team", "storage"), ("cost center", "42"), ("ключ", "")]
    r = send(srv, "PUT", "/" + B, q("tagging"), body=doc(pairs))
    eq((r.status, r.body), (204, b""), "PutBucketTagging answer")
    got = c.get_bucket_tagging(Bucket=B)["TagSet"]
    eq([(t["Key"], t["Value"]) for t in got], pairs, "bucket tags")
    fifty = [("k%d" % i, "v") for i in range(50)]
    c.put_bucket_tagging(Bucket=B, Tagging={"TagSet": tagset(fifty)})
    eq(len(c.get_bucket_tagging(Bucket=B)["TagSet"]), 50, "50 bucket tags")
    for body, want in ((doc([("k%d" % i, "v") for i in range(51)]),
                        (400, "BadRequest", "Bucket tag count cannot be greater than 50")),
                       (doc([("a", "1"), ("a", "2")]),
                        (400, "InvalidTag", "Cannot provide multiple Tags with the same key")),
                       (doc([("aws:x", "1")]),
                        (400, "InvalidTag", "Your TagKey cannot be prefixed with aws:")),
                       (b"<Tagging></Tagging>", (400, "MalformedXML", None))):
        r = send(srv, "PUT", "/" + B, q("tagging"), body=body)
        got = err(r)
        eq(got if want[2] else got[:2], want if want[2] else want[:2], "PutBucketTagging")
    eq(len(c.get_bucket_tagging(Bucket=B)["TagSet"]), 50, "bucket tags unchanged by refusals")
    c.put_bucket_tagging(Bucket=B, Tagging={"TagSet": tagset(pairs)})
    eq(send(srv, "DELETE", "/" + B, q("tagging")).status, 204, "DeleteBucketTagging")
    eq(code(send(srv, "GET", "/" + B, q("tagging"))), (404, "NoSuchTagSet"), "after delete")
    c.put_bucket_tagging(Bucket=B, Tagging={"TagSet": tagset(pairs)})


def t_access(srv):
    ak, sk = "AKBOB" + harness.rand_key(12), harness.rand_key(40)
    r = subprocess.run([srv.kura_bin, "admin", "user", "add", *srv.store_args(), ak, sk, "bob"],
                       capture_output=True, text=True, timeout=60)
    eq(r.returncode, 0, "kura admin user add bob: " + r.stderr)
    c = client(srv)
    c.put_object(Bucket=B, Key="pub", Body=b"public", ACL="public-read", Tagging="p=1")
    bob = copy.copy(srv)  # the same server, bob's keys
    bob.access_key, bob.secret_key = ak, sk
    for who, s in (("bob", bob), ("anonymous", None)):
        def req(m, path, query, body=b""):
            if s is None:
                return harness.http_request(srv, m, path, query, {}, body)
            return send(s, m, path, query, body=body)
        for m, path, body in (("GET", "/%s/pub" % B, b""), ("PUT", "/%s/pub" % B, doc([("x", "1")])),
                              ("DELETE", "/%s/pub" % B, b""), ("GET", "/" + B, b""),
                              ("PUT", "/" + B, doc([("x", "1")])), ("DELETE", "/" + B, b"")):
            eq(code(req(m, path, q("tagging"), body)), (403, "AccessDenied"),
               "%s %s %s?tagging" % (who, m, path))
        # reading the public object is allowed; its tag count comes along
        r = req("GET", "/%s/pub" % B, [])
        eq((r.status, r.header("x-amz-tagging-count")), (200, "1"), who + " GET public object")
    eq(tags(srv, "pub"), [("p", "1")], "object tags unchanged by refused callers")
    eq(len(c.get_bucket_tagging(Bucket=B)["TagSet"]), 3, "bucket tags unchanged")


def t_delete_with_object(srv):
    c = client(srv)
    c.put_object(Bucket=B, Key="gone", Body=b"g", Tagging="old=1")
    c.delete_object(Bucket=B, Key="gone")
    eq(code(send(srv, "GET", "/%s/gone" % B, q("tagging"))), (404, "NoSuchKey"), "after delete")
    c.put_object(Bucket=B, Key="gone", Body=b"new")
    eq(tags(srv, "gone"), [], "a new object under the name has no tags")
    c.put_object(Bucket=B, Key="gone2", Body=b"g", Tagging="old=1")
    c.delete_objects(Bucket=B, Delete={"Objects": [{"Key": "gone2"}]})
    c.put_object(Bucket=B, Key="gone2", Body=b"new")
    eq(tags(srv, "gone2"), [], "no tags after DeleteObjects and a new PUT")


def t_awscli(srv):
    aws = "/usr/bin/aws"
    if not os.access(aws, os.X_OK):
        harness.fail("aws-cli v2 not found at /usr/bin/aws (Debian package: awscli)")
    d = tempfile.mkdtemp(prefix="kura-tag-aws.")
    try:
        with open(os.path.join(d, "config"), "w") as f:
            f.write("[default]\nregion = us-east-1\noutput = json\ns3 =\n"
                    "  addressing_style = path\n")
        with open(os.path.join(d, "credentials"), "w") as f:
            f.write("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
                    % (srv.access_key, srv.secret_key))
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_CONFIG_FILE=os.path.join(d, "config"),
                   AWS_SHARED_CREDENTIALS_FILE=os.path.join(d, "credentials"),
                   AWS_EC2_METADATA_DISABLED="true", AWS_PAGER="")

        def run(*args):
            r = subprocess.run([aws, "--endpoint-url", srv.endpoint, "s3api", *args],
                               capture_output=True, text=True, env=env, timeout=120)
            return r
        client(srv).put_object(Bucket=B, Key="cli", Body=b"cli")
        r = run("put-object-tagging", "--bucket", B, "--key", "cli", "--tagging",
                json.dumps({"TagSet": tagset([("cli", "v2"), ("späť", "ok")])}))
        eq(r.returncode, 0, "aws s3api put-object-tagging: " + r.stderr)
        r = run("get-object-tagging", "--bucket", B, "--key", "cli")
        eq(r.returncode, 0, "aws s3api get-object-tagging: " + r.stderr)
        eq(json.loads(r.stdout)["TagSet"], tagset([("cli", "v2"), ("späť", "ok")]),
           "aws-cli TagSet")
        r = run("put-object-tagging", "--bucket", B, "--key", "cli", "--tagging",
                json.dumps({"TagSet": tagset([("aws:no", "x")])}))
        check(r.returncode != 0 and "InvalidTag" in r.stderr,
              "aws-cli reserved key refused: %r" % r.stderr)
        r = run("put-object", "--bucket", B, "--key", "cli-put", "--tagging", "via=cli")
        eq(r.returncode, 0, "aws s3api put-object --tagging: " + r.stderr)
        eq(tags(srv, "cli-put"), [("via", "cli")], "tags from aws-cli put-object")
        r = run("delete-object-tagging", "--bucket", B, "--key", "cli")
        eq(r.returncode, 0, "aws s3api delete-object-tagging: " + r.stderr)
        eq(tags(srv, "cli"), [], "tags after aws-cli delete-object-tagging")
    finally:
        shutil.rmtree(d, ignore_errors=True)


EXPECT_AFTER_RESTART = {
    "mp": [("mp", "yes"), ("n", "2")],
    "src": [("self", "1")],
    "cp-default": [("s", "1"), ("t", "2")],
    "posted": [("form", "yes"), ("k", "v w")],
    "hdr": [],
    "cli-put": [("via", "cli")],
}


def t_restart(srv):
    c = client(srv)
    c.put_object(Bucket=B, Key="restart", Body=b"r", Tagging="keep=1&ключ=значение")
    up = c.create_multipart_upload(Bucket=B, Key="mp-restart", Tagging="during=restart")
    srv.restart()
    eq(tags(srv, "restart"), [("keep", "1"), ("ключ", "значение")], "tags after restart")
    eq(tag_count(srv, "restart"), "2", "x-amz-tagging-count after restart")
    for k, want in EXPECT_AFTER_RESTART.items():
        eq(tags(srv, k), want, "tags of %s after restart" % k)
    got = c.get_bucket_tagging(Bucket=B)["TagSet"]
    eq(len(got), 3, "bucket tags after restart")
    # an upload created before the restart still tags its object
    e1 = c.upload_part(Bucket=B, Key="mp-restart", UploadId=up["UploadId"], PartNumber=1,
                       Body=b"x")["ETag"]
    c.complete_multipart_upload(Bucket=B, Key="mp-restart", UploadId=up["UploadId"],
                                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}]})
    eq(tags(srv, "mp-restart"), [("during", "restart")], "upload across a restart")


def main():
    if len(sys.argv) < 2:
        harness.fail("usage: %s PATH/TO/kura" % sys.argv[0])
    runner = Runner()
    with Kura(sys.argv[1]) as srv:
        runner.run("setup", t_setup, srv)
        runner.run("object tagging", t_object_tagging, srv)
        runner.run("missing key or bucket", t_missing, srv)
        runner.run("versionId", t_version_id, srv)
        runner.run("object tag errors", t_object_errors, srv)
        runner.run("x-amz-tagging", t_header, srv)
        runner.run("CopyObject directives", t_copy, srv)
        runner.run("multipart", t_multipart, srv)
        runner.run("POST Object", t_post_object, srv)
        runner.run("bucket tagging", t_bucket_tagging, srv)
        runner.run("access", t_access, srv)
        runner.run("tags leave with the object", t_delete_with_object, srv)
        runner.run("aws-cli v2", t_awscli, srv)
        runner.run("restart", t_restart, srv)
        runner.run("server alive", lambda: check(srv.alive(), "kura died: " + srv.log_tail()))
    sys.exit(runner.finish())


if __name__ == "__main__":
    main()
