#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""S3 POST Object (browser-based uploads with a POST policy): forms built
by boto3's generate_presigned_post (SigV4) and by hand (SigV2, policies
boto3 cannot express), sent as multipart/form-data over http.client and
with curl -F, against a real kura. Every refusal also checks that nothing
was stored.

usage: python3 test_post_object.py PATH/TO/kura
"""

import base64
import datetime
import hashlib
import hmac
import http.client
import json
import os
import subprocess
import sys
import tempfile
import urllib.parse
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Kura, Runner, check, eq  # noqa: E402
from test_auth_rules import err, send  # noqa: E402

B = "postbucket"
DOMAIN = "s3.kura.test"


def client(srv, sigv="s3v4"):
    import boto3
    from botocore.config import Config
    return boto3.client(
        "s3", endpoint_url=srv.endpoint, aws_access_key_id=srv.access_key,
        aws_secret_access_key=srv.secret_key, region_name=harness.REGION,
        config=Config(signature_version=sigv, s3={"addressing_style": "path"},
                      retries={"max_attempts": 1, "mode": "standard"}))


def presigned(srv, key, fields=None, conditions=None, expires=300):
    return client(srv).generate_presigned_post(B, key, Fields=fields, Conditions=conditions,
                                               ExpiresIn=expires)


def multipart(fields, data, filename="up.bin", ctype=None, after=()):
    """The form as a browser sends it: fields in order, the file, then
    `after` (fields AWS ignores)."""
    boundary = "----kuraFormBoundary7MA4YWxkTrZu0gW"
    out = []
    for k, v in list(fields.items()) if isinstance(fields, dict) else fields:
        out.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
                    % (boundary, k, v)).encode())
    if data is not None:
        hdr = "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n" % (
            boundary, filename)
        if ctype:
            hdr += "Content-Type: %s\r\n" % ctype
        out.append(hdr.encode() + b"\r\n" + data + b"\r\n")
    for k, v in after:
        out.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
                    % (boundary, k, v)).encode())
    out.append(("--%s--\r\n" % boundary).encode())
    return b"".join(out), "multipart/form-data; boundary=" + boundary


def post(srv, fields, data, path="/" + B, host=None, **kw):
    body, ctype = multipart(fields, data, **kw)
    return post_raw(srv, body, ctype, path, host)


def post_raw(srv, body, ctype, path="/" + B, host=None):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=120)
    try:
        h = {"Host": host or "127.0.0.1:%d" % srv.port, "Content-Type": ctype}
        conn.request("POST", path, body=body, headers=h)
        r = conn.getresponse()
        return harness.Response(r.status, r.reason, r.getheaders(), r.read())
    finally:
        conn.close()


def get(srv, key):
    r = send(srv, "GET", "/%s/%s" % (B, key))
    return r


def stored(srv, key):
    r = send(srv, "HEAD", "/%s/%s" % (B, key))
    check(r.status in (200, 404), "HEAD %s: unexpected %r" % (key, r))
    return r.status == 200


def md5(b):
    return hashlib.md5(b).hexdigest()


def policy_b64(conditions, expires_in=300):
    exp = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=expires_in)
    doc = {"expiration": exp.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "conditions": conditions}
    return base64.b64encode(json.dumps(doc).encode()).decode()


def v4_form(srv, key, conditions, extra=None, expires_in=300, region=None, secret=None):
    """A SigV4 form signed here, for policies boto3 would not write
    (expired ones, wrong regions)."""
    region = region or harness.REGION
    amz = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    cred = "%s/%s/%s/s3/aws4_request" % (srv.access_key, amz[:8], region)
    fields = {"key": key, "x-amz-algorithm": "AWS4-HMAC-SHA256", "x-amz-credential": cred,
              "x-amz-date": amz}
    fields.update(extra or {})
    conds = [{"bucket": B}, ["starts-with", "$key", ""],
             {"x-amz-algorithm": "AWS4-HMAC-SHA256"}, {"x-amz-credential": cred},
             {"x-amz-date": amz}] + conditions
    pol = policy_b64(conds, expires_in)
    k = harness.signing_key(secret or srv.secret_key, amz[:8], region)
    fields["policy"] = pol
    fields["x-amz-signature"] = hmac.new(k, pol.encode(), hashlib.sha256).hexdigest()
    return fields


def t_setup(srv):
    r = send(srv, "PUT", "/" + B)
    eq(r.status, 200, "create bucket: %r" % r)


def t_success_204(srv):
    data = os.urandom(100000)
    p = presigned(srv, "a/204.bin")
    r = post(srv, p["fields"], data)
    eq(r.status, 204, "POST 204: %r" % r)
    eq(r.body, b"", "204 body")
    eq(r.header("ETag"), '"%s"' % md5(data), "ETag header")
    g = get(srv, "a/204.bin")
    eq(g.status, 200, "GET after POST")
    check(g.body == data, "GET body is not byte-exact (%d bytes)" % len(g.body))
    eq(g.header("Content-Type"), "binary/octet-stream", "default Content-Type")


def t_success_201(srv):
    data = b"hello 201\n"
    p = presigned(srv, "a/201.txt", fields={"success_action_status": "201"},
                  conditions=[{"success_action_status": "201"}])
    r = post(srv, p["fields"], data)
    eq(r.status, 201, "POST 201: %r" % r)
    x = ET.fromstring(r.body)
    eq(x.tag, "PostResponse", "201 root")
    eq(x.findtext("Bucket"), B, "201 Bucket")
    eq(x.findtext("Key"), "a/201.txt", "201 Key")
    eq(x.findtext("ETag"), '"%s"' % md5(data), "201 ETag")
    check(x.findtext("Location", "").endswith("/%s/a/201.txt" % B),
          "201 Location %r" % x.findtext("Location"))
    eq(get(srv, "a/201.txt").body, data, "GET after 201")
    # 200: empty body
    p = presigned(srv, "a/200.txt", fields={"success_action_status": "200"},
                  conditions=[{"success_action_status": "200"}])
    r = post(srv, p["fields"], b"x")
    eq((r.status, r.body), (200, b""), "POST 200")


def t_redirect(srv):
    url = "https://example.com/done?x=1"
    p = presigned(srv, "a/redir key.txt", fields={"success_action_redirect": url},
                  conditions=[{"success_action_redirect": url}])
    data = b"redirected"
    r = post(srv, p["fields"], data)
    eq(r.status, 303, "POST redirect: %r" % r)
    loc = r.header("Location")
    check(loc and loc.startswith("https://example.com/done?x=1&"), "Location %r" % loc)
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query)
    eq(q.get("bucket"), [B], "redirect bucket")
    eq(q.get("key"), ["a/redir key.txt"], "redirect key")
    eq(q.get("etag"), ['"%s"' % md5(data)], "redirect etag")
    eq(get(srv, "a/redir key.txt").body, data, "GET after redirect")


def t_metadata(srv):
    f = {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "max-age=60",
         "Content-Disposition": "attachment; filename=\"m.txt\"", "x-amz-meta-color": "blue",
         "acl": "public-read", "Content-Encoding": "gzip",
         "Expires": "Thu, 01 Dec 2044 16:00:00 GMT"}
    conds = [{"Content-Type": f["Content-Type"]}, ["starts-with", "$Cache-Control", "max-age"],
             {"Content-Encoding": "gzip"}, ["starts-with", "$Expires", "Thu"],
             {"Content-Disposition": f["Content-Disposition"]}, {"x-amz-meta-color": "blue"},
             {"acl": "public-read"}]
    p = presigned(srv, "a/meta.txt", fields=f, conditions=conds)
    r = post(srv, p["fields"], b"meta", ctype="image/png")
    eq(r.status, 204, "POST with metadata: %r" % r)
    h = send(srv, "HEAD", "/%s/a/meta.txt" % B)
    eq(h.header("Content-Type"), f["Content-Type"], "Content-Type field wins over the part's")
    eq(h.header("Cache-Control"), "max-age=60", "Cache-Control")
    eq(h.header("Content-Disposition"), f["Content-Disposition"], "Content-Disposition")
    eq(h.header("x-amz-meta-color"), "blue", "x-amz-meta-color")
    eq(h.header("Content-Encoding"), "gzip", "Content-Encoding")
    eq(h.header("Expires"), f["Expires"], "Expires")
    # public-read: anonymous GET works
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    conn.request("GET", "/%s/a/meta.txt" % B)
    a = conn.getresponse()
    eq((a.status, a.read()), (200, b"meta"), "anonymous GET of a public-read POST upload")
    conn.close()
    # without a Content-Type field the file part's type is stored
    p = presigned(srv, "a/ptype.png")
    eq(post(srv, p["fields"], b"png", ctype="image/png").status, 204, "POST part type")
    eq(send(srv, "HEAD", "/%s/a/ptype.png" % B).header("Content-Type"), "image/png",
       "Content-Type from the file part")


def t_filename(srv):
    p = presigned(srv, "up/${filename}")
    r = post(srv, p["fields"], b"named", filename="photo.jpg")
    eq(r.status, 204, "POST ${filename}: %r" % r)
    eq(get(srv, "up/photo.jpg").body, b"named", "object named after the file")
    check(not stored(srv, "up/${filename}"), "literal ${filename} key stored")


def t_length_range(srv):
    p = presigned(srv, "a/range.bin", conditions=[["content-length-range", 10, 100]])
    r = post(srv, p["fields"], b"x" * 101)
    eq(err(r)[:2], (400, "EntityTooLarge"), "101 bytes over 10..100")
    check(not stored(srv, "a/range.bin"), "too large stored")
    r = post(srv, p["fields"], b"x" * 9)
    eq(err(r)[:2], (400, "EntityTooSmall"), "9 bytes under 10..100")
    check(not stored(srv, "a/range.bin"), "too small stored")
    r = post(srv, p["fields"], b"y" * 100)
    eq(r.status, 204, "100 bytes within 10..100: %r" % r)
    eq(get(srv, "a/range.bin").body, b"y" * 100, "range upload body")


def t_expired(srv):
    f = v4_form(srv, "a/expired", [], expires_in=-10)
    r = post(srv, f, b"old")
    eq(err(r)[:2], (403, "AccessDenied"), "expired policy")
    check("Policy expired" in (err(r)[2] or ""), "expired message: %r" % (err(r)[2],))
    check(not stored(srv, "a/expired"), "expired stored")
    # the same form, valid: the signing here is right
    f = v4_form(srv, "a/handsigned", [])
    eq(post(srv, f, b"ok").status, 204, "hand-signed SigV4 form")
    eq(get(srv, "a/handsigned").body, b"ok", "hand-signed body")


def t_bad_signature(srv):
    p = presigned(srv, "a/badsig")
    f = dict(p["fields"])
    s = f["x-amz-signature"]
    f["x-amz-signature"] = ("0" if s[0] != "0" else "1") + s[1:]
    eq(err(post(srv, f, b"z"))[:2], (403, "SignatureDoesNotMatch"), "wrong signature")
    f = v4_form(srv, "a/badsig", [], secret="not-the-secret")
    eq(err(post(srv, f, b"z"))[:2], (403, "SignatureDoesNotMatch"), "wrong secret")
    f = dict(p["fields"])
    f["x-amz-credential"] = "AKNOBODY" + f["x-amz-credential"][len(srv.access_key):]
    eq(err(post(srv, f, b"z"))[:2], (403, "InvalidAccessKeyId"), "unknown key")
    f = v4_form(srv, "a/badsig", [], region="eu-west-3")
    eq(err(post(srv, f, b"z"))[:2], (400, "AuthorizationHeaderMalformed"), "wrong region")
    # the policy tampered with: the signature no longer matches
    f = dict(p["fields"])
    doc = json.loads(base64.b64decode(f["policy"]))
    doc["conditions"].append(["content-length-range", 0, 10 ** 12])
    f["policy"] = base64.b64encode(json.dumps(doc).encode()).decode()
    eq(err(post(srv, f, b"z"))[:2], (403, "SignatureDoesNotMatch"), "tampered policy")
    check(not stored(srv, "a/badsig"), "bad signature stored")
    # anonymous (no policy): the bucket is private
    r = post(srv, {"key": "a/anon"}, b"anon")
    eq(err(r)[:2], (403, "AccessDenied"), "anonymous POST to a private bucket")
    check(not stored(srv, "a/anon"), "anonymous stored")


def t_conditions(srv):
    p = presigned(srv, "user/x.txt", conditions=[["starts-with", "$key", "user/"]])
    f = dict(p["fields"])
    f["key"] = "other/x.txt"
    r = post(srv, f, b"c")
    eq(err(r)[:2], (403, "AccessDenied"), "starts-with failing")
    check("Policy Condition failed" in (err(r)[2] or ""), "condition message %r" % (err(r)[2],))
    check(not stored(srv, "other/x.txt"), "starts-with failure stored")
    # the exact key condition boto3 writes
    p = presigned(srv, "exact.txt")
    f = dict(p["fields"])
    f["key"] = "exact2.txt"
    eq(err(post(srv, f, b"c"))[:2], (403, "AccessDenied"), "eq key failing")
    check(not stored(srv, "exact2.txt"), "eq failure stored")
    # a field the policy does not name
    p = presigned(srv, "extra.txt")
    f = dict(p["fields"])
    f["x-amz-meta-sneaky"] = "1"
    r = post(srv, f, b"c")
    eq(err(r)[:2], (403, "AccessDenied"), "extra field")
    eq(err(r)[2], "Invalid according to Policy: Extra input fields: x-amz-meta-sneaky",
       "extra field message")
    check(not stored(srv, "extra.txt"), "extra field stored")
    # x-ignore-* fields and fields after the file do not count
    f = dict(p["fields"])
    f["x-ignore-me"] = "1"
    r = post(srv, f, b"ign", after=[("x-amz-meta-late", "1"), ("key", "elsewhere")])
    eq(r.status, 204, "x-ignore- and fields after the file: %r" % r)
    eq(get(srv, "extra.txt").body, b"ign", "stored under the key before the file")
    check(not stored(srv, "elsewhere"), "a key after the file was used")
    # field names are case-insensitive
    f = {("KEY" if k == "key" else k): v for k, v in presigned(srv, "case.txt")["fields"].items()}
    eq(post(srv, f, b"case").status, 204, "upper-case KEY field")
    eq(get(srv, "case.txt").body, b"case", "upper-case KEY body")
    # another bucket in the policy
    p = client(srv).generate_presigned_post("otherbucket", "ob.txt")
    r = post(srv, p["fields"], b"c")
    eq(err(r)[:2], (403, "AccessDenied"), "bucket condition of another bucket")
    # a malformed policy
    f = v4_form(srv, "mal.txt", [])
    f["policy"] = base64.b64encode(b'{"expiration": 12, "conditions": []}').decode()
    eq(err(post(srv, f, b"c"))[:2], (403, "SignatureDoesNotMatch"),
       "unsigned malformed policy: the signature is checked first")
    f = v4_form(srv, "mal.txt", [["between", "$key", "a"]])
    eq(err(post(srv, f, b"c"))[:2], (400, "InvalidPolicyDocument"), "unknown condition")
    check(not stored(srv, "mal.txt"), "malformed policy stored")


def t_form_errors(srv):
    p = presigned(srv, "nokey.txt")
    f = {k: v for k, v in p["fields"].items() if k != "key"}
    r = post(srv, f, b"c")
    eq(err(r)[:2], (400, "InvalidArgument"), "missing key")
    check("must contain a field named 'key'" in (err(r)[2] or ""), "missing key message")
    r = post_raw(srv, b"key=a&file=b", "application/x-www-form-urlencoded")
    eq(err(r)[:2], (400, "MalformedPOSTRequest"), "not multipart")
    body, ctype = multipart(p["fields"], b"data")
    r = post_raw(srv, body[:-30], ctype)
    eq(err(r)[:2], (400, "MalformedPOSTRequest"), "truncated form")
    check(not stored(srv, "nokey.txt"), "truncated form stored")
    r = post(srv, p["fields"], None)
    eq(err(r)[:2], (400, "InvalidArgument"), "no file")
    # fields before the file over 20 KiB
    f = dict(p["fields"])
    f["x-ignore-pad"] = "p" * (21 << 10)
    eq(err(post(srv, f, b"c"))[:2], (400, "MaxPostPreDataLengthExceeded"), "20 KiB of fields")
    check(not stored(srv, "nokey.txt"), "oversized fields stored")
    # a field given twice
    p = presigned(srv, "twice.txt")
    fl = list(p["fields"].items()) + [("key", "twice.txt")]
    eq(err(post(srv, fl, b"c"))[:2], (400, "InvalidArgument"), "repeated field")
    check(not stored(srv, "twice.txt"), "repeated field stored")
    # fields that become response headers must be header text
    for name in ("Content-Type", "x-amz-meta-a", "success_action_redirect"):
        value = "text/plain\r\nSet-Cookie: evil=1" if name != "success_action_redirect" \
            else "https://example.com/\r\nSet-Cookie: evil=1"
        p = presigned(srv, "crlf.txt", fields={name: value}, conditions=[{name: value}])
        r = post(srv, p["fields"], b"c")
        eq(err(r)[:2], (400, "InvalidArgument"), "CR LF in %s" % name)
        check(r.header("Set-Cookie") is None, "header injected through %s" % name)
        check(not stored(srv, "crlf.txt"), "CR LF in %s stored" % name)
    p = presigned(srv, "crlf.txt", fields={"x-amz-meta-a b": "1"},
                  conditions=[{"x-amz-meta-a b": "1"}])
    eq(err(post(srv, p["fields"], b"c"))[:2], (400, "InvalidArgument"), "metadata name with a space")
    check(not stored(srv, "crlf.txt"), "metadata name with a space stored")
    # a missing bucket
    p = client(srv).generate_presigned_post("nosuchbucket", "k")
    r = post(srv, p["fields"], b"c", path="/nosuchbucket")
    eq(err(r)[:2], (404, "NoSuchBucket"), "missing bucket")


def t_refused_fields(srv):
    for name, value, want in (
            ("x-amz-server-side-encryption", "AES256", (501, "NotImplemented")),
            ("x-amz-server-side-encryption", "bogus", (400, "InvalidArgument")),
            ("x-amz-storage-class", "GLACIER", (501, "NotImplemented")),
            ("x-amz-storage-class", "NOPE", (400, "InvalidStorageClass")),
            ("tagging", "<Tagging><TagSet><Tag><Key>aws:k</Key><Value>v</Value></Tag></TagSet>"
             "</Tagging>", (400, "InvalidTag")),
            ("tagging", "k=v", (400, "MalformedXML")),
            ("x-amz-checksum-crc32", "AAAAAA==", (501, "NotImplemented")),
            ("acl", "authenticated-read", (501, "NotImplemented")),
            ("acl", "nonsense", (400, "InvalidArgument")),
            ("x-amz-grant-read", "id=x", (501, "NotImplemented")),
            ("x-amz-website-redirect-location", "ftp://x", (400, "InvalidArgument"))):
        p = presigned(srv, "refused.txt", fields={name: value}, conditions=[{name: value}])
        r = post(srv, p["fields"], b"refused")
        eq(err(r)[:2], want, "field %s: %s" % (name, value))
        check(not stored(srv, "refused.txt"), "stored despite %s: %s" % (name, value))


def t_big(srv):
    size = 20 * 1024 * 1024 + 17
    data = os.urandom(size)
    p = presigned(srv, "big/20mib.bin", conditions=[["content-length-range", 0, size]])
    r = post(srv, p["fields"], data)
    eq(r.status, 204, "20 MiB POST: %r" % r)
    eq(r.header("ETag"), '"%s"' % md5(data), "20 MiB ETag")
    g = get(srv, "big/20mib.bin")
    check(g.body == data, "20 MiB body differs (%d bytes)" % len(g.body))


def vm_hwm_kib(pid):
    with open("/proc/%d/status" % pid) as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def t_streamed_memory(srv):
    """A 96 MiB file sent in pieces: the server's peak RSS must not grow by
    anything near the file's size (it streams, it does not buffer)."""
    size, piece = 96 << 20, 1 << 20
    p = presigned(srv, "big/96mib.bin")
    head, ctype = multipart(p["fields"], b"@")
    cut = head.index(b"\r\n\r\n@") + 4
    prefix, suffix = head[:cut], head[cut + 1:]
    h = hashlib.md5()

    def body():
        yield prefix
        block = os.urandom(piece)
        for i in range(size // piece):
            b = block[:-4] + i.to_bytes(4, "big")
            h.update(b)
            yield b
        yield suffix

    before = vm_hwm_kib(srv.pid)
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=300)
    try:
        conn.request("POST", "/" + B, body=body(),
                     headers={"Content-Type": ctype,
                              "Content-Length": str(len(prefix) + size + len(suffix))})
        r = conn.getresponse()
        r.read()
    finally:
        conn.close()
    eq(r.status, 204, "96 MiB POST")
    eq(r.getheader("ETag"), '"%s"' % h.hexdigest(), "96 MiB ETag (MD5 of the bytes sent)")
    grew = vm_hwm_kib(srv.pid) - before
    print("     peak RSS grew by %d KiB (before: %d KiB)" % (grew, before), flush=True)
    check(grew < 48 * 1024, "peak RSS grew by %d MiB for a 96 MiB POST" % (grew // 1024))


def t_curl(srv):
    p = presigned(srv, "curl/${filename}", fields={"success_action_status": "201"},
                  conditions=[{"success_action_status": "201"}])
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "curl-file.txt")
        data = os.urandom(300000)
        with open(path, "wb") as fh:
            fh.write(data)
        cmd = ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}"]
        for k, v in p["fields"].items():
            cmd += ["--form-string", "%s=%s" % (k, v)]
        cmd += ["-F", "file=@%s" % path, p["url"]]
        out = subprocess.run(cmd, capture_output=True, timeout=120, check=True).stdout
        body, _, status = out.rpartition(b"\n")
        eq(status, b"201", "curl -F status (%r)" % body)
        eq(ET.fromstring(body).findtext("Key"), "curl/curl-file.txt", "curl Key")
        eq(get(srv, "curl/curl-file.txt").body, data, "curl upload body")


def t_sigv2(srv):
    pol = policy_b64([{"bucket": B}, ["starts-with", "$key", "v2/"],
                      ["starts-with", "$Content-Type", "text/"]])
    sig = base64.b64encode(hmac.new(srv.secret_key.encode(), pol.encode(),
                                    hashlib.sha1).digest()).decode()
    f = {"key": "v2/two.txt", "AWSAccessKeyId": srv.access_key, "policy": pol,
         "signature": sig, "Content-Type": "text/plain"}
    r = post(srv, f, b"sigv2")
    eq(r.status, 204, "SigV2 form: %r" % r)
    eq(get(srv, "v2/two.txt").body, b"sigv2", "SigV2 body")
    f2 = dict(f, signature=base64.b64encode(b"x" * 20).decode(), key="v2/bad.txt")
    eq(err(post(srv, f2, b"bad"))[:2], (403, "SignatureDoesNotMatch"), "SigV2 wrong signature")
    f3 = dict(f, key="v2/ct.txt")
    f3["Content-Type"] = "image/png"
    eq(err(post(srv, f3, b"ct"))[:2], (403, "AccessDenied"), "SigV2 Content-Type condition")
    f3["Content-Type"] = "text/plain, image/png"
    eq(err(post(srv, f3, b"ct"))[:2], (403, "AccessDenied"),
       "starts-with on Content-Type: every type of the list")
    check(not stored(srv, "v2/bad.txt") and not stored(srv, "v2/ct.txt"), "SigV2 refusal stored")


def t_vhost(srv):
    p = presigned(srv, "vh/obj.txt")
    r = post(srv, p["fields"], b"virtual", path="/", host="%s.%s:%d" % (B, DOMAIN, srv.port))
    eq(r.status, 204, "virtual-host POST: %r" % r)
    eq(get(srv, "vh/obj.txt").body, b"virtual", "virtual-host body")


def main():
    if len(sys.argv) < 2:
        harness.fail("usage: %s PATH/TO/kura" % sys.argv[0])
    runner = Runner()
    with Kura(sys.argv[1], domain=DOMAIN) as srv:
        runner.run("setup", t_setup, srv)
        runner.run("204 then GET byte-exact", t_success_204, srv)
        runner.run("201 XML and 200", t_success_201, srv)
        runner.run("303 redirect", t_redirect, srv)
        runner.run("metadata, Content-Type, acl", t_metadata, srv)
        runner.run("${filename}", t_filename, srv)
        runner.run("content-length-range", t_length_range, srv)
        runner.run("expired policy", t_expired, srv)
        runner.run("signatures", t_bad_signature, srv)
        runner.run("policy conditions", t_conditions, srv)
        runner.run("malformed forms", t_form_errors, srv)
        runner.run("refused fields", t_refused_fields, srv)
        runner.run("20 MiB streamed", t_big, srv)
        runner.run("96 MiB streamed, bounded memory", t_streamed_memory, srv)
        runner.run("curl -F", t_curl, srv)
        runner.run("SigV2 form", t_sigv2, srv)
        runner.run("virtual-host style", t_vhost, srv)
        runner.run("server alive", lambda: check(srv.alive(), "kura died: " + srv.log_tail()))
    sys.exit(runner.finish())


if __name__ == "__main__":
    main()
