#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Hand-built SigV4 streaming uploads (aws-chunked), run by test_curl.sh.

usage: streaming_checks.py --port P --ak AK --sk SK --bucket B [--ca CA.pem]

Builds the bodies per AWS's documentation, computing chunk and trailer
signatures here:
  STREAMING-AWS4-HMAC-SHA256-PAYLOAD            (chunk signatures)
  STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER    (chunk + trailer signatures)
  STREAMING-UNSIGNED-PAYLOAD-TRAILER            (x-amz-checksum-* trailer)
each with Content-Length and inside HTTP chunked transfer encoding, and
checks that exactly the payload is stored (no chunk framing), that
checksums are verified and returned, and that bad signatures, bad
checksums and truncated bodies store nothing.
"""

import argparse
import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Runner, check, eq  # noqa: E402


class Srv:
    def __init__(self, a):
        self.port, self.access_key, self.secret_key = a.port, a.ak, a.sk
        self.tls = a.ca is not None
        self.ca = a.ca

    def ssl_context(self):
        import ssl
        return ssl.create_default_context(cafile=self.ca) if self.tls else None


SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"


def streaming_put(srv, path, data, mode, chunk=65536, te=False, trailer_alg="crc32",
                  trailer_value=None, content_encoding="aws-chunked", extra_headers=None,
                  query=(), corrupt=None, decoded_len=None):
    """corrupt: None | 'chunk-sig' | 'chunk-data' | 'trailer-sig' | 'truncate'."""
    path_enc = harness.uri_encode(path, encode_slash=False)
    h = {"Host": "127.0.0.1:%d" % srv.port, "x-amz-content-sha256": mode,
         "x-amz-decoded-content-length": str(len(data) if decoded_len is None else decoded_len)}
    if content_encoding:
        h["Content-Encoding"] = content_encoding
    tname = "x-amz-checksum-" + trailer_alg
    tval = trailer_value or harness.checksum_b64(trailer_alg, data)
    if mode != SIGNED:
        h["x-amz-trailer"] = tname
    h.update(extra_headers or {})
    if mode == UNSIGNED_TRAILER:
        body = harness.aws_chunked_unsigned_trailer(data, chunk, (tname, tval))
        if not te:
            h["Content-Length"] = str(len(body))
        h, *_ = harness.sign_v4("PUT", path_enc, list(query), h, mode, srv.access_key, srv.secret_key)
    else:
        # Content-Length must be known before signing: build once to measure.
        amz = harness.amz_now()
        if not te:
            probe = harness.aws_chunked_signed(data, chunk, "0" * 64, b"k", "s", amz,
                                               (tname, tval) if mode == SIGNED_TRAILER else None)
            h["Content-Length"] = str(len(probe))
        h, seed, key, scope, amz = harness.sign_v4("PUT", path_enc, list(query), h, mode,
                                                   srv.access_key, srv.secret_key, amz)
        sign_data = data
        if corrupt == "chunk-data":
            sign_data = bytearray(data)
            sign_data[chunk + 5] ^= 0xFF
            sign_data = bytes(sign_data)
        body = harness.aws_chunked_signed(sign_data, chunk, seed, key, scope, amz,
                                          (tname, tval) if mode == SIGNED_TRAILER else None)
        if corrupt == "chunk-data":
            body = body.replace(sign_data[chunk:chunk + 64], data[chunk:chunk + 64], 1)
        if corrupt == "chunk-sig":
            marker = b";chunk-signature="
            i = body.find(marker, body.find(marker) + 1) + len(marker)
            body = body[:i] + (b"0" if body[i:i + 1] != b"0" else b"1") + body[i + 1:]
        if corrupt == "trailer-sig":
            marker = b"x-amz-trailer-signature:"
            i = body.find(marker) + len(marker)
            body = body[:i] + (b"0" if body[i:i + 1] != b"0" else b"1") + body[i + 1:]
    if corrupt == "truncate":
        body = body[:len(body) // 2]
        if not te:
            raise ValueError("truncate needs te")
    return harness.http_request(srv, "PUT", path_enc, query, h, body, chunked_te=te)


def get(srv, path, headers=None):
    return harness.s3_request(srv, "GET", path, headers=headers or {})


def absent(srv, path, what):
    r = harness.s3_request(srv, "HEAD", path)
    eq(r.status, 404, "%s: object must not exist (HEAD status)" % what)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ak", required=True)
    ap.add_argument("--sk", required=True)
    ap.add_argument("--bucket", required=True)
    ap.add_argument("--ca")
    a = ap.parse_args()
    srv = Srv(a)
    B = "/" + a.bucket
    r = harness.s3_request(srv, "PUT", B)
    if r.status != 200:
        harness.fail("create bucket %s: %r" % (a.bucket, r))
    R = Runner("stream")
    data = os.urandom(3 * 65536 + 12345)

    def good(mode, te, alg="crc32", chunk=65536, ce="aws-chunked", size=None):
        d = data if size is None else os.urandom(size)
        key = "%s/s-%s-%s-%s-%d-%s" % (B, mode, "te" if te else "cl", alg, chunk, ce or "none")
        resp = streaming_put(srv, key, d, mode, chunk=chunk, te=te, trailer_alg=alg,
                             content_encoding=ce)
        eq(resp.status, 200, "PUT status (%r)" % resp)
        eq(resp.header("ETag"), '"%s"' % hashlib.md5(d).hexdigest(), "PUT ETag (md5 of payload)")
        g = get(srv, key, {"x-amz-checksum-mode": "ENABLED"})
        eq(g.status, 200, "GET status")
        eq(len(g.body), len(d), "stored length")
        eq(hashlib.sha256(g.body).hexdigest(), hashlib.sha256(d).hexdigest(),
           "stored bytes are exactly the payload")
        if mode != SIGNED:
            eq(g.header("x-amz-checksum-" + alg), harness.checksum_b64(alg, d),
               "x-amz-checksum-%s returned from the trailer" % alg)
        enc = g.header("Content-Encoding")
        check(enc in (None, "", "identity") if ce in ("aws-chunked", None) else enc == "gzip",
              "stored Content-Encoding %r (sent %r)" % (enc, ce))

    for te in (False, True):
        fr = "http-chunked" if te else "content-length"
        R.run("signed chunks, %s" % fr, good, SIGNED, te)
        R.run("signed chunks + signed crc32 trailer, %s" % fr, good, SIGNED_TRAILER, te)
        R.run("unsigned + crc32 trailer, %s" % fr, good, UNSIGNED_TRAILER, te)
    for alg in ("crc32c", "crc64nvme", "sha1", "sha256"):
        R.run("unsigned + %s trailer, http-chunked" % alg, good, UNSIGNED_TRAILER, True, alg)
    R.run("signed + crc32c trailer", good, SIGNED_TRAILER, False, "crc32c")
    R.run("signed chunks, 8 KiB chunks", good, SIGNED, False, "crc32", 8192)
    R.run("unsigned trailer, 1-byte chunks", good, UNSIGNED_TRAILER, True, "crc32", 1, "aws-chunked", 300)
    R.run("signed chunks, empty payload", good, SIGNED, False, "crc32", 65536, "aws-chunked", 0)
    R.run("unsigned trailer, empty payload", good, UNSIGNED_TRAILER, False, "crc32", 65536,
          "aws-chunked", 0)
    R.run("signed chunks without Content-Encoding (minio-go)", good, SIGNED, False, "crc32", 65536, None)
    R.run("unsigned trailer without Content-Encoding", good, UNSIGNED_TRAILER, True, "crc32",
          65536, None)
    R.run("Content-Encoding aws-chunked,gzip keeps gzip", good, UNSIGNED_TRAILER, False, "crc32",
          65536, "aws-chunked,gzip")

    def bad(what, expect_status, expect_code, **kw):
        key = "%s/bad-%s" % (B, what.replace(" ", "-"))
        mode = kw.pop("mode", SIGNED)
        resp = streaming_put(srv, key, data, mode, **kw)
        eq(resp.status, expect_status, "%s: status (%r)" % (what, resp))
        if expect_code:
            code = resp.error_code()
            if isinstance(expect_code, tuple):
                check(code in expect_code, "%s: code %r not in %r" % (what, code, expect_code))
            else:
                eq(code, expect_code, "%s: error code" % what)
        absent(srv, key, what)

    R.run("corrupted chunk signature", bad, "chunk sig", 403, "SignatureDoesNotMatch",
          corrupt="chunk-sig")
    R.run("chunk data not matching its signature", bad, "chunk data", 403,
          "SignatureDoesNotMatch", corrupt="chunk-data")
    R.run("corrupted chunk signature, http-chunked", bad, "chunk sig te", 403,
          "SignatureDoesNotMatch", corrupt="chunk-sig", te=True)
    R.run("corrupted trailer signature", bad, "trailer sig", 403, "SignatureDoesNotMatch",
          mode=SIGNED_TRAILER, corrupt="trailer-sig")
    R.run("wrong crc32 trailer (unsigned)", bad, "crc32 trailer", 400, "BadDigest",
          mode=UNSIGNED_TRAILER, trailer_value="AAAAAA==")
    R.run("wrong crc32 trailer (unsigned, http-chunked)", bad, "crc32 trailer te", 400,
          "BadDigest", mode=UNSIGNED_TRAILER, trailer_value="AAAAAA==", te=True)
    R.run("wrong crc64nvme trailer", bad, "crc64 trailer", 400, "BadDigest",
          mode=UNSIGNED_TRAILER, trailer_alg="crc64nvme", trailer_value="AAAAAAAAAAA=")
    R.run("wrong crc32 trailer (signed trailer)", bad, "crc32 signed trailer", 400, "BadDigest",
          mode=SIGNED_TRAILER, trailer_value="AAAAAA==")
    R.run("x-amz-decoded-content-length larger than the payload", bad, "decoded len", 400,
          ("IncompleteBody", "InvalidRequest", "BadRequest", "InvalidArgument"),
          decoded_len=len(data) + 10)
    R.run("truncated aws-chunked body inside http-chunked", bad, "truncated", 400,
          ("IncompleteBody", "InvalidRequest", "BadRequest", "InvalidArgument"),
          corrupt="truncate", te=True, mode=UNSIGNED_TRAILER)

    def multipart_streaming():
        key = B + "/mp-streaming"
        r = harness.s3_request(srv, "POST", key, [("uploads", "")])
        eq(r.status, 200, "CreateMultipartUpload")
        uid = r.xml().findtext("UploadId")
        p1, p2 = os.urandom(5 << 20), os.urandom(100001)
        etags = []
        for n, (p, mode) in enumerate(((p1, UNSIGNED_TRAILER), (p2, SIGNED)), 1):
            resp = streaming_put(srv, key, p, mode, te=(n == 1),
                                 query=[("partNumber", str(n)), ("uploadId", uid)])
            eq(resp.status, 200, "UploadPart %d (%s): %r" % (n, mode, resp))
            eq(resp.header("ETag"), '"%s"' % hashlib.md5(p).hexdigest(), "part %d ETag" % n)
            etags.append(resp.header("ETag"))
        body = ("<CompleteMultipartUpload>%s</CompleteMultipartUpload>" % "".join(
            "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>" % (i + 1, e)
            for i, e in enumerate(etags))).encode()
        r = harness.s3_request(srv, "POST", key, [("uploadId", uid)], body=body)
        eq(r.status, 200, "CompleteMultipartUpload: %r" % r)
        eq(r.xml().findtext("ETag"), harness.multipart_etag([p1, p2]), "multipart ETag")
        g = get(srv, key)
        eq(hashlib.sha256(g.body).hexdigest(), hashlib.sha256(p1 + p2).hexdigest(),
           "multipart object from streaming parts")

    R.run("UploadPart with aws-chunked bodies", multipart_streaming)
    sys.exit(R.finish())


if __name__ == "__main__":
    main()
