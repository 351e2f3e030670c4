#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Request-authentication rules (issue 7) against a real kura server, over
real HTTP: requests signed here independently of kura (SigV4 and SigV2, with
chosen SignedHeaders, regions and payload hashes) and presigned URLs made by
botocore, the way an attacker or a confused client would send them.

usage: python3 test_auth_rules.py PATH/TO/kura

  F1  x-amz-* headers outside SignedHeaders: 403 AccessDenied with
      HeadersNotSigned (header auth and presigned URLs); SigV2 signs every
      x-amz-* header, so an added one fails the signature
  F6  host must be signed; the scope's region must be the server's --region
  F7  response-* overrides on anonymous GET/HEAD: 400 InvalidRequest
  F9  SigV4 without x-amz-content-sha256: 400 InvalidRequest by default; with
      --allow-missing-content-sha256 only payloads the signature covers, and
      only for operations that check the body before acting; a signed payload
      hash covers the body as sent (no re-framing as aws-chunked)

Every check looks at the status, the error Code (and Message / detail
element where AWS documents one) and at what was or was not stored.
"""

import base64
import email.utils
import hashlib
import hmac
import http.client
import os
import sys
import types
import urllib.parse
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import EMPTY_SHA256, REGION, Kura, Runner, Skip, check, eq  # noqa: E402

try:
    import boto3
    import botocore
    from botocore.config import Config
except ImportError:
    boto3 = None

NOT_SIGNED = "There were headers present in the request which were not signed"
MISSING_SHA = "Missing required header for this request: x-amz-content-sha256"
ANON_OVERRIDE = "Request specific response headers cannot be used for anonymous GET requests."


def sha256(b):
    return hashlib.sha256(b).hexdigest()


# ------------------------------------------------------------------ signing


def sign(srv, method, path, query=(), headers=None, body=b"", payload_hash=None,
         send_sha=True, signed=None, region=REGION, service="s3", host=None, amz_date=None):
    """SigV4 header auth over exactly the header names in `signed` (default:
    every header sent, host and x-amz-date included). Returns (path_enc, headers)."""
    path_enc = harness.uri_encode(path, encode_slash=False)
    h = {k.lower(): str(v) for k, v in (headers or {}).items()}
    h["host"] = host or "127.0.0.1:%d" % srv.port
    amz_date = amz_date or harness.amz_now()
    h["x-amz-date"] = amz_date
    if payload_hash is None:
        payload_hash = sha256(body)
    if send_sha:
        h["x-amz-content-sha256"] = payload_hash
    names = sorted(signed if signed is not None else h)
    canon = "\n".join([method, path_enc, harness.canonical_query(list(query))]
                      + ["%s:%s" % (n, h.get(n, "")) for n in names]
                      + ["", ";".join(names), payload_hash])
    scope = "%s/%s/%s/aws4_request" % (amz_date[:8], region, service)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, sha256(canon.encode())])
    key = hmac.new(("AWS4" + srv.secret_key).encode(), amz_date[:8].encode(), hashlib.sha256)
    for p in (region, service, "aws4_request"):
        key = hmac.new(key.digest(), p.encode(), hashlib.sha256)
    sig = harness.hmac_hex(key.digest(), sts)
    h["authorization"] = ("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s"
                          % (srv.access_key, scope, ";".join(names), sig))
    return path_enc, h


def send(srv, method, path, query=(), body=b"", extra=None, **kw):
    """A signed request; `extra` headers are added after signing (unsigned)."""
    path_enc, h = sign(srv, method, path, query, body=body, **kw)
    h.update(extra or {})
    return harness.http_request(srv, method, path_enc, query, h, body)


def raw(srv, method, target, headers=None, body=b""):
    """Sends target (path?query exactly as given) with these headers."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
    try:
        h = {"Host": "127.0.0.1:%d" % srv.port}
        h.update(headers or {})
        conn.request(method, target, body=body, headers=h)
        r = conn.getresponse()
        return harness.Response(r.status, r.reason, r.getheaders(), r.read())
    finally:
        conn.close()


def presign(srv, method, path, signed_headers, region=REGION, expires=300):
    """A presigned URL target over the given (name, value) headers."""
    path_enc = harness.uri_encode(path, encode_slash=False)
    amz_date = harness.amz_now()
    scope = "%s/%s/s3/aws4_request" % (amz_date[:8], region)
    names = sorted(n for n, _ in signed_headers)
    vals = dict(signed_headers)
    q = [("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
         ("X-Amz-Credential", "%s/%s" % (srv.access_key, scope)),
         ("X-Amz-Date", amz_date), ("X-Amz-Expires", str(expires)),
         ("X-Amz-SignedHeaders", ";".join(names))]
    canon = "\n".join([method, path_enc, harness.canonical_query(q)]
                      + ["%s:%s" % (n, vals[n]) for n in names]
                      + ["", ";".join(names), "UNSIGNED-PAYLOAD"])
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, sha256(canon.encode())])
    sig = harness.hmac_hex(harness.signing_key(srv.secret_key, amz_date[:8], region), sts)
    return path_enc + "?" + harness.canonical_query(q) + "&X-Amz-Signature=" + sig


def sign_v2(srv, method, resource, headers):
    """SigV2 header auth: every x-amz-* header goes into the string to sign."""
    h = dict(headers)
    h["Date"] = email.utils.formatdate(usegmt=True)
    amz = sorted((k.lower(), v.strip()) for k, v in h.items() if k.lower().startswith("x-amz-"))
    sts = "%s\n%s\n%s\n%s\n%s%s" % (method, h.get("Content-MD5", ""), h.get("Content-Type", ""),
                                    h["Date"], "".join("%s:%s\n" % kv for kv in amz), resource)
    mac = hmac.new(srv.secret_key.encode(), sts.encode(), hashlib.sha1).digest()
    h["Authorization"] = "AWS %s:%s" % (srv.access_key, base64.b64encode(mac).decode())
    return h


def err(r):
    """(status, Code, Message) of an error response; Code and Message are
    None when the body is not XML (e.g. a success)."""
    try:
        x = r.xml()
    except ET.ParseError:
        return r.status, None, None
    return r.status, x.findtext("Code"), x.findtext("Message")


def exists(srv, bucket, key):
    r = send(srv, "HEAD", "/%s/%s" % (bucket, key))
    check(r.status in (200, 404), "HEAD %s/%s: unexpected %r" % (bucket, key, r))
    return r.status == 200


def get_body(srv, bucket, key):
    r = send(srv, "GET", "/%s/%s" % (bucket, key))
    eq(r.status, 200, "GET %s/%s status (%r)" % (bucket, key, r))
    return r.body


def botocore_client(srv, region=REGION):
    if boto3 is None:
        raise Skip("boto3/botocore not importable by %s" % sys.executable)
    return boto3.session.Session().client(
        "s3", endpoint_url=srv.endpoint, region_name=region,
        aws_access_key_id=srv.access_key, aws_secret_access_key=srv.secret_key,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                      retries={"max_attempts": 1}))


def split_url(url):
    u = urllib.parse.urlsplit(url)
    return u.path + "?" + u.query


# -------------------------------------------------------------------- tests

B = "auth-rules"
SECRET_B = "auth-secret"


def t_setup(srv):
    for b in (B, SECRET_B):
        eq(send(srv, "PUT", "/" + b).status, 200, "create bucket " + b)
    eq(send(srv, "PUT", "/%s/secret" % SECRET_B, body=b"top secret").status, 200,
       "PUT private object")


def t_f1_header_auth(srv):
    # all x-amz-* signed: accepted and acted on (the ACL applies)
    r = send(srv, "PUT", "/%s/signed-acl" % B, body=b"ok", headers={"x-amz-acl": "public-read"})
    eq(r.status, 200, "PUT with x-amz-acl signed (%r)" % r)
    eq(harness.http_request(srv, "GET", "/%s/signed-acl" % B).status, 200,
       "anonymous GET after a signed x-amz-acl: public-read")
    # a signed PUT replayed with copy source and ACL added
    r = send(srv, "PUT", "/%s/victim" % B, body=b"x",
             extra={"x-amz-copy-source": "/%s/secret" % SECRET_B, "x-amz-acl": "public-read"})
    eq(err(r), (403, "AccessDenied", NOT_SIGNED), "unsigned x-amz-copy-source + x-amz-acl")
    eq(r.xml().findtext("HeadersNotSigned"), "x-amz-copy-source, x-amz-acl", "HeadersNotSigned")
    check(not exists(srv, B, "victim"), "object created by a request with unsigned headers")
    # unsigned user metadata
    r = send(srv, "PUT", "/%s/meta" % B, body=b"x", extra={"X-Amz-Meta-Evil": "1"})
    eq(err(r), (403, "AccessDenied", NOT_SIGNED), "unsigned x-amz-meta-evil")
    eq(r.xml().findtext("HeadersNotSigned"), "x-amz-meta-evil", "HeadersNotSigned (meta)")
    check(not exists(srv, B, "meta"), "object created with unsigned metadata")
    # x-amz-date unsigned: refused like any x-amz-*
    r = send(srv, "GET", "/%s/signed-acl" % B, signed=["host", "x-amz-content-sha256"])
    eq(err(r)[:2], (403, "AccessDenied"), "unsigned x-amz-date")
    eq(r.xml().findtext("HeadersNotSigned"), "x-amz-date", "HeadersNotSigned (x-amz-date)")
    # x-amz-content-sha256 sent but not listed: accepted (bound as the payload line)
    r = send(srv, "PUT", "/%s/sha-unlisted" % B, body=b"payload", signed=["host", "x-amz-date"])
    eq(r.status, 200, "x-amz-content-sha256 sent, not in SignedHeaders (%r)" % r)
    eq(get_body(srv, B, "sha-unlisted"), b"payload", "body stored")
    # ...and a swapped body still fails against it
    path_enc, h = sign(srv, "PUT", "/%s/sha-unlisted" % B, body=b"payload",
                       signed=["host", "x-amz-date"])
    r = harness.http_request(srv, "PUT", path_enc, (), h, b"PAYLOAD")
    eq(err(r)[:2], (400, "XAmzContentSHA256Mismatch"), "swapped body under an unlisted hash")
    eq(get_body(srv, B, "sha-unlisted"), b"payload", "body unchanged after the swap")
    # headers that are not x-amz-* may stay unsigned, as with AWS
    r = send(srv, "GET", "/%s/signed-acl" % B, extra={"X-Amzn-Trace-Id": "Root=1-2-3",
                                                      "User-Agent": "anything"})
    eq(r.status, 200, "unsigned X-Amzn-Trace-Id / User-Agent (%r)" % r)


def t_f1_presigned(srv):
    c = botocore_client(srv)
    url = split_url(c.generate_presigned_url("put_object", Params={"Bucket": B, "Key": "pre"},
                                             ExpiresIn=300))
    # the untrusted uploader adds a copy source and an ACL
    r = raw(srv, "PUT", url, {"x-amz-copy-source": "/%s/secret" % SECRET_B,
                              "x-amz-acl": "public-read"}, b"uploader data")
    eq(err(r), (403, "AccessDenied", NOT_SIGNED), "presigned PUT + unsigned headers")
    eq(r.xml().findtext("HeadersNotSigned"), "x-amz-copy-source, x-amz-acl", "HeadersNotSigned")
    check(not exists(srv, B, "pre"), "object written through a presigned URL with added headers")
    # checksum headers are not exempt either (AWS refuses them unsigned)
    r = raw(srv, "PUT", url, {"x-amz-checksum-crc32": harness.checksum_b64("crc32", b"d"),
                              "x-amz-sdk-checksum-algorithm": "CRC32"}, b"d")
    eq(err(r)[:2], (403, "AccessDenied"), "presigned PUT + unsigned checksum headers")
    eq(r.xml().findtext("HeadersNotSigned"), "x-amz-checksum-crc32, x-amz-sdk-checksum-algorithm",
       "HeadersNotSigned (checksums)")
    # as issued, or with x-amz-content-sha256: UNSIGNED-PAYLOAD (exempt): stored
    r = raw(srv, "PUT", url, {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}, b"uploader data")
    eq(r.status, 200, "presigned PUT with x-amz-content-sha256 (%r)" % r)
    eq(get_body(srv, B, "pre"), b"uploader data", "presigned upload stored")
    r = raw(srv, "PUT", url, {}, b"second")
    eq(r.status, 200, "presigned PUT as issued (%r)" % r)
    eq(get_body(srv, B, "pre"), b"second", "presigned upload stored again")
    # a presigned URL that signs x-amz-acl: bound to that value
    target = presign(srv, "PUT", "/%s/pre-acl" % B,
                     [("host", "127.0.0.1:%d" % srv.port), ("x-amz-acl", "public-read")])
    eq(raw(srv, "PUT", target, {"x-amz-acl": "public-read"}, b"acl").status, 200,
       "presigned PUT with its signed x-amz-acl")
    eq(err(raw(srv, "PUT", target, {"x-amz-acl": "private"}, b"acl"))[:2],
       (403, "SignatureDoesNotMatch"), "presigned PUT with another x-amz-acl value")


def t_f1_sigv2(srv):
    res = "/%s/v2obj" % B
    h = sign_v2(srv, "PUT", res, {"Content-Type": "text/plain", "x-amz-meta-a": "1"})
    eq(harness.http_request(srv, "PUT", res, (), h, b"v2 body").status, 200, "SigV2 PUT")
    h = sign_v2(srv, "PUT", "/%s/v2copy" % B, {"Content-Type": "text/plain"})
    h["x-amz-copy-source"] = "/%s/secret" % SECRET_B
    r = harness.http_request(srv, "PUT", "/%s/v2copy" % B, (), h, b"")
    eq(err(r)[:2], (403, "SignatureDoesNotMatch"), "SigV2 + x-amz-copy-source added after signing")
    check(not exists(srv, B, "v2copy"), "SigV2 copy with an unsigned copy source")
    h = sign_v2(srv, "PUT", res, {"Content-Type": "text/plain", "x-amz-meta-a": "1"})
    h["x-amz-meta-a"] = "2"
    r = harness.http_request(srv, "PUT", res, (), h, b"other")
    eq(err(r)[:2], (403, "SignatureDoesNotMatch"), "SigV2 with an x-amz-* value changed")
    eq(get_body(srv, B, "v2obj"), b"v2 body", "SigV2 object unchanged")


def t_f6_host(srv):
    r = send(srv, "GET", "/%s/signed-acl" % B, signed=["x-amz-content-sha256", "x-amz-date"])
    eq(err(r), (403, "AccessDenied", NOT_SIGNED), "SignedHeaders without host")
    eq(r.xml().findtext("HeadersNotSigned"), "host", "HeadersNotSigned (host)")
    # the replay host-less signatures allow: signed for one virtual-host
    # bucket, sent to another
    port = srv.port
    path_enc, h = sign(srv, "GET", "/secret", signed=["x-amz-content-sha256", "x-amz-date"],
                       host="%s.localhost:%d" % (B, port))
    h["host"] = "%s.localhost:%d" % (SECRET_B, port)
    r = harness.http_request(srv, "GET", path_enc, (), h)
    eq(err(r)[:2], (403, "AccessDenied"), "host-less signature replayed on another vhost bucket")
    check(b"top secret" not in r.body, "secret served")
    # presigned over content-type only
    target = presign(srv, "GET", "/%s/signed-acl" % B, [("content-type", "text/plain")])
    r = raw(srv, "GET", target, {"Content-Type": "text/plain"})
    eq(err(r), (403, "AccessDenied", NOT_SIGNED), "presigned URL without host")
    eq(r.xml().findtext("HeadersNotSigned"), "host", "HeadersNotSigned (presigned host)")


def t_f6_region(srv):
    r = send(srv, "GET", "/" + B, [("list-type", "2")], region="eu-west-1")
    eq(err(r), (400, "AuthorizationHeaderMalformed",
                "The authorization header is malformed; the region 'eu-west-1' is wrong; "
                "expecting 'us-east-1'"), "header auth for eu-west-1")
    eq(r.xml().findtext("Region"), "us-east-1", "<Region>")
    target = harness.presign_v4("GET", "127.0.0.1:%d" % srv.port, "/%s/signed-acl" % B,
                                srv.access_key, srv.secret_key, region="eu-west-1")
    r = raw(srv, "GET", target)
    eq(err(r), (400, "AuthorizationQueryParametersError",
                "Error parsing the X-Amz-Credential parameter; the region 'eu-west-1' is wrong; "
                "expecting 'us-east-1'"), "presigned for eu-west-1")
    eq(r.xml().findtext("Region"), "us-east-1", "<Region> (presigned)")
    r = send(srv, "PUT", "/%s/region-put" % B, body=b"x", region="us-west-2")
    eq(err(r)[:2], (400, "AuthorizationHeaderMalformed"), "PUT signed for us-west-2")
    check(not exists(srv, B, "region-put"), "object stored under a wrong-region signature")
    r = send(srv, "GET", "/" + B, [("list-type", "2")], service="iam")
    eq(err(r)[:2], (400, "AuthorizationHeaderMalformed"), "scope service iam")
    eq(send(srv, "GET", "/" + B, [("list-type", "2")]).status, 200, "us-east-1 scope accepted")


def t_f6_region_flag(kura, runner):
    """A server started with --region eu-west-3."""
    with Kura(kura, extra_args=["--region", "eu-west-3"]) as srv:
        r = send(srv, "GET", "/")
        eq(err(r), (400, "AuthorizationHeaderMalformed",
                    "The authorization header is malformed; the region 'us-east-1' is wrong; "
                    "expecting 'eu-west-3'"), "us-east-1 scope on an eu-west-3 server")
        eq(r.xml().findtext("Region"), "eu-west-3", "<Region> eu-west-3")
        eq(send(srv, "GET", "/", region="eu-west-3").status, 200, "eu-west-3 scope accepted")
        if boto3 is not None:
            c = botocore_client(srv, region="eu-west-3")
            c.create_bucket(Bucket="in-eu", CreateBucketConfiguration={
                "LocationConstraint": "eu-west-3"})
            eq(c.get_bucket_location(Bucket="in-eu").get("LocationConstraint"), "eu-west-3",
               "botocore configured for the server's region")


def t_f7_anonymous_overrides(srv):
    r = send(srv, "PUT", "/%s/pub.txt" % B, body=b"<b>public</b>",
             headers={"x-amz-acl": "public-read", "Content-Type": "text/plain"})
    eq(r.status, 200, "PUT public-read object")
    anon = lambda m, q: harness.http_request(srv, m, "/%s/pub.txt" % B, q)  # noqa: E731
    r = anon("GET", ())
    eq((r.status, r.header("Content-Type"), r.body), (200, "text/plain", b"<b>public</b>"),
       "anonymous GET without overrides")
    for p, v in (("response-content-type", "text/html"),
                 ("response-content-disposition", "inline"),
                 ("response-content-encoding", "gzip"), ("response-content-language", "en"),
                 ("response-cache-control", "no-cache"),
                 ("response-expires", "Thu, 01 Dec 1994 16:00:00 GMT")):
        r = anon("GET", [(p, v)])
        eq(err(r), (400, "InvalidRequest", ANON_OVERRIDE), "anonymous GET with " + p)
        check(b"public</b>" not in r.body, "object body served with " + p)
    r = anon("HEAD", [("response-content-type", "text/html")])
    eq(r.status, 400, "anonymous HEAD with an override")
    check(r.header("Content-Type") != "text/html", "anonymous HEAD answered as text/html")
    # signed: allowed
    r = send(srv, "GET", "/%s/pub.txt" % B, [("response-content-type", "text/html")])
    eq((r.status, r.header("Content-Type")), (200, "text/html"), "signed GET with an override")
    if boto3 is not None:
        url = botocore_client(srv).generate_presigned_url(
            "get_object", Params={"Bucket": B, "Key": "pub.txt",
                                  "ResponseContentType": "text/html"}, ExpiresIn=300)
        r = raw(srv, "GET", split_url(url))
        eq((r.status, r.header("Content-Type")), (200, "text/html"),
           "presigned GET with an override")


def t_f9_default(srv):
    r = send(srv, "GET", "/%s/signed-acl" % B, send_sha=False, payload_hash=EMPTY_SHA256)
    eq(err(r), (400, "InvalidRequest", MISSING_SHA), "GET without x-amz-content-sha256")
    r = send(srv, "PUT", "/%s/nosha" % B, body=b"body", send_sha=False)
    eq(err(r), (400, "InvalidRequest", MISSING_SHA), "PUT without x-amz-content-sha256")
    check(not exists(srv, B, "nosha"), "object stored without x-amz-content-sha256")


def t_f9_payload_as_sent(srv):
    """The signed payload hash covers the body as sent: a signed PUT replayed
    with an unsigned Content-Encoding: aws-chunked (inside HTTP chunked, so
    no x-amz-decoded-content-length is needed) cannot re-frame another body."""
    orig = b"the body that was signed"
    path_enc, h = sign(srv, "PUT", "/%s/framed" % B, body=orig)
    eq(harness.http_request(srv, "PUT", path_enc, (), h, orig).status, 200, "signed PUT")
    evil = b"another body"
    framed = b"%x\r\n" % len(evil) + evil + b"\r\n0\r\n\r\n"
    h["Content-Encoding"] = "aws-chunked"
    r = harness.http_request(srv, "PUT", path_enc, (), h, framed, chunked_te=True)
    eq(err(r)[:2], (400, "XAmzContentSHA256Mismatch"), "replay re-framed as aws-chunked")
    eq(get_body(srv, B, "framed"), orig, "object unchanged after the re-framed replay")


def t_f9_flag(kura, runner):
    """A server started with --allow-missing-content-sha256."""
    with Kura(kura, extra_args=["--allow-missing-content-sha256"]) as srv:
        eq(send(srv, "PUT", "/bkt9").status, 200, "create bucket")
        r = send(srv, "GET", "/bkt9", [("list-type", "2")], send_sha=False,
                 payload_hash=EMPTY_SHA256)
        eq(r.status, 200, "GET without x-amz-content-sha256 (%r)" % r)
        # a body whose hash is signed (curl --data): stored...
        path_enc, h = sign(srv, "PUT", "/bkt9/k", body=b"the signed body", send_sha=False)
        r = harness.http_request(srv, "PUT", path_enc, (), h, b"the signed body")
        eq(r.status, 200, "PUT, body hash signed, no header (%r)" % r)
        eq(get_body(srv, "bkt9", "k"), b"the signed body", "stored body")
        # ...and the same request replayed with another body: refused
        r = harness.http_request(srv, "PUT", path_enc, (), h, b"a swapped body!")
        eq(err(r)[:2], (403, "SignatureDoesNotMatch"), "replay with a swapped body")
        eq(get_body(srv, "bkt9", "k"), b"the signed body", "body unchanged after the replay")
        # an empty PUT signed over the empty payload, replayed with a body
        path_enc, h = sign(srv, "PUT", "/bkt9/e", send_sha=False)
        eq(harness.http_request(srv, "PUT", path_enc, (), h, b"").status, 200, "empty PUT")
        r = harness.http_request(srv, "PUT", path_enc, (), h, b"injected")
        eq(err(r)[:2], (403, "SignatureDoesNotMatch"), "empty-payload signature with a body")
        eq(get_body(srv, "bkt9", "e"), b"", "empty object unchanged")
        r = harness.http_request(srv, "PUT", path_enc, (), h, b"injected", chunked_te=True)
        eq(err(r)[:2], (403, "SignatureDoesNotMatch"), "... with a chunked body")
        eq(get_body(srv, "bkt9", "e"), b"", "empty object unchanged (chunked)")
        # a forged signature (right access key, wrong secret) with a body and
        # no header can only be checked against the body: operations that do
        # not read it must refuse, not run unauthenticated
        bad = types.SimpleNamespace(port=srv.port, access_key=srv.access_key,
                                    secret_key=srv.secret_key[::-1])
        for method in ("GET", "HEAD", "DELETE"):
            path_enc, h = sign(bad, method, "/bkt9/k", send_sha=False, payload_hash="0" * 64)
            r = harness.http_request(srv, method, path_enc, (), h, b"xxxxx")
            eq(r.status, 400, "forged %s with a body: status" % method)
            if method != "HEAD":
                eq(err(r), (400, "InvalidRequest", MISSING_SHA), "forged %s with a body" % method)
            check(b"the signed body" not in r.body, "object served to a forged %s" % method)
        path_enc, h = sign(bad, "PUT", "/bkt9/k", send_sha=False, payload_hash="0" * 64,
                           headers={"x-amz-copy-source": "/bkt9/e"})
        r = harness.http_request(srv, "PUT", path_enc, (), h, b"xxxxx")
        eq(err(r), (400, "InvalidRequest", MISSING_SHA), "forged CopyObject with a body")
        path_enc, h = sign(bad, "PUT", "/bkt9/k", send_sha=False, payload_hash="0" * 64)
        r = harness.http_request(srv, "PUT", path_enc, (), h, b"forged body")
        eq(err(r)[:2], (403, "SignatureDoesNotMatch"), "forged PutObject with a body")
        eq(get_body(srv, "bkt9", "k"), b"the signed body", "object intact after forged requests")


def main():
    if len(sys.argv) < 2:
        harness.fail("usage: %s PATH/TO/kura" % sys.argv[0])
    kura = sys.argv[1]
    for v in ("AWS_CA_BUNDLE", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
              "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_ENDPOINT_URL"):
        os.environ.pop(v, None)
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    if boto3 is not None:
        print("botocore %s" % botocore.__version__, flush=True)
    runner = Runner()
    with Kura(kura) as srv:
        runner.run("setup", t_setup, srv)
        runner.run("F1 header auth: unsigned x-amz-* refused", t_f1_header_auth, srv)
        runner.run("F1 presigned: unsigned x-amz-* refused", t_f1_presigned, srv)
        runner.run("F1 SigV2: every x-amz-* is signed", t_f1_sigv2, srv)
        runner.run("F6 host must be signed", t_f6_host, srv)
        runner.run("F6 scope region is the server's", t_f6_region, srv)
        runner.run("F7 anonymous response-* overrides refused", t_f7_anonymous_overrides, srv)
        runner.run("F9 x-amz-content-sha256 required by default", t_f9_default, srv)
        runner.run("F9 payload hash covers the body as sent", t_f9_payload_as_sent, srv)
        runner.run("server alive", lambda: check(srv.alive(), "kura died: " + srv.log_tail()))
    runner.run("F6 --region eu-west-3", t_f6_region_flag, kura, runner)
    runner.run("F9 --allow-missing-content-sha256", t_f9_flag, kura, runner)
    sys.exit(runner.finish())


if __name__ == "__main__":
    main()
