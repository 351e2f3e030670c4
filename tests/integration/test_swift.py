#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The Swift front end (gateway/swift.c) with real clients: the swift CLI and
python-swiftclient (Debian's python3-swiftclient), plus boto3 on the same
data (cross-protocol) and raw HTTP for the answers clients hide.

    /usr/bin/python3 tests/integration/test_swift.py build/gateway/kura
"""
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Runner, check, eq  # noqa: E402

try:
    import swiftclient.client as sc
    from swiftclient.exceptions import ClientException
except ImportError:
    harness.fail("python-swiftclient is required (Debian package: python3-swiftclient)")

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

ACCT, USER, KEY = "acme", "alice", "alice-secret-key-123"
OTHER, OTHER_KEY = "zeta:bob", "bob-secret-key-456"


class T:
    def __init__(self, kura):
        self.kura = kura
        self.srv = harness.Kura(kura).start()
        self.tmp = tempfile.mkdtemp(prefix="kura-swift.")
        for ak, sk in (("%s:%s" % (ACCT, USER), KEY), (OTHER, OTHER_KEY)):
            r = subprocess.run([kura, "admin", "user", "add", *self.srv.store_args(), ak, sk],
                               capture_output=True, text=True)
            eq(r.returncode, 0, "kura admin user add (stderr: %s)" % r.stderr.strip())
        self.auth_url = self.srv.endpoint + "/auth/v1.0"
        self.conn = sc.Connection(authurl=self.auth_url, user="%s:%s" % (ACCT, USER), key=KEY,
                                  retries=0)
        self.url, self.token = self.conn.get_auth()

    def close(self):
        self.srv.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- helpers
    def swift(self, *args, user="%s:%s" % (ACCT, USER), key=KEY, check_rc=True):
        cmd = ["swift", "-A", self.auth_url, "-U", user, "-K", key] + list(args)
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=self.tmp, timeout=120)
        if check_rc:
            eq(r.returncode, 0, "swift %s (stdout %r, stderr %r)" % (" ".join(args), r.stdout,
                                                                   r.stderr))
        return r

    def raw(self, method, path, headers=None, body=b"", token=True, **kw):
        h = dict(headers or {})
        if token:
            h["X-Auth-Token"] = self.token if token is True else token
        return harness.http_request(self.srv, method, path, headers=h, body=body, **kw)

    def s3(self, ak="%s:%s" % (ACCT, USER), sk=KEY):
        return boto3.client("s3", endpoint_url=self.srv.endpoint, aws_access_key_id=ak,
                            aws_secret_access_key=sk, region_name="us-east-1",
                            config=Config(s3={"addressing_style": "path"},
                                          retries={"max_attempts": 1}))

    # -- tests
    def t_auth(self):
        r = harness.http_request(self.srv, "GET", "/auth/v1.0", headers={
            "X-Auth-User": "%s:%s" % (ACCT, USER), "X-Auth-Key": KEY})
        eq(r.status, 200, "auth status")
        tok = r.header("X-Auth-Token")
        check(tok and tok.startswith("AUTH_tk"), "token %r" % tok)
        eq(r.header("X-Storage-Token"), tok, "X-Storage-Token")
        eq(r.header("X-Storage-Url"), "http://127.0.0.1:%d/v1/AUTH_%s" % (self.srv.port, ACCT),
           "X-Storage-Url")
        exp = int(r.header("X-Auth-Token-Expires"))
        check(86000 < exp <= 86400, "expires %d" % exp)
        check(r.header("X-Trans-Id", "").startswith("tx"), "X-Trans-Id on auth")
        # the variants clients use, and the X-Storage-* header names
        for path in ("/auth/v1.0/", "/auth/v1"):
            r = harness.http_request(self.srv, "GET", path, headers={
                "X-Storage-User": "%s:%s" % (ACCT, USER), "X-Storage-Pass": KEY})
            eq(r.status, 200, "auth at " + path)
        for u, k in (("%s:%s" % (ACCT, USER), "wrong"), ("nobody:x", KEY), (None, None)):
            h = {"X-Auth-User": u, "X-Auth-Key": k} if u else {}
            r = harness.http_request(self.srv, "GET", "/auth/v1.0", headers=h)
            eq(r.status, 401, "bad credentials %r" % u)
            check(r.header("X-Auth-Token") is None, "no token on 401")
        try:
            sc.Connection(authurl=self.auth_url, user="%s:%s" % (ACCT, USER), key="bad",
                          retries=0).get_auth()
            raise AssertionError("bad key accepted")
        except ClientException as e:
            eq(e.http_status, 401, "swiftclient bad key")

    def t_tokens(self):
        r = self.raw("HEAD", "/v1/AUTH_%s" % ACCT)
        eq(r.status, 204, "valid token")
        r = self.raw("HEAD", "/v1/AUTH_%s" % ACCT, token=False)
        eq(r.status, 401, "no token")
        # forged: another MAC
        bad = self.token[:7 + 16] + ("0" * 64) + self.token[7 + 80:]
        r = self.raw("GET", "/v1/AUTH_%s" % ACCT, token=bad)
        eq(r.status, 401, "forged token")
        check(b"Unauthorized" in r.body, "401 body %r" % r.body)
        r = self.raw("GET", "/v1/AUTH_%s" % ACCT, token="AUTH_tkjunk")
        eq(r.status, 401, "junk token")
        # expired: a correctly signed token whose expiry has passed
        ak = "%s:%s" % (ACCT, USER)
        exp_hex = "%016x" % (int(time.time()) - 10)
        k = hmac.new(KEY.encode(), b"kura-swift-token-v1", hashlib.sha256).digest()
        mac = hmac.new(k, ak.encode() + b"\n" + exp_hex.encode(), hashlib.sha256).hexdigest()
        expired = "AUTH_tk" + exp_hex + mac + ak.encode().hex()
        r = self.raw("GET", "/v1/AUTH_%s" % ACCT, token=expired)
        eq(r.status, 401, "expired token")
        # the same construction with a future expiry is accepted (proves the
        # expired one failed for its expiry only)
        exp_hex = "%016x" % (int(time.time()) + 100)
        mac = hmac.new(k, ak.encode() + b"\n" + exp_hex.encode(), hashlib.sha256).hexdigest()
        r = self.raw("GET", "/v1/AUTH_%s" % ACCT,
                     token="AUTH_tk" + exp_hex + mac + ak.encode().hex())
        check(r.status in (200, 204), "fresh token: %r" % r)
        # another account's token: 403
        c2 = sc.Connection(authurl=self.auth_url, user=OTHER, key=OTHER_KEY, retries=0)
        url2, tok2 = c2.get_auth()
        check(url2.endswith("/v1/AUTH_zeta"), "zeta storage url %s" % url2)
        r = self.raw("GET", "/v1/AUTH_%s" % ACCT, token=tok2)
        eq(r.status, 403, "cross-account token on account")
        self.conn.put_container("acme-private")
        r = self.raw("GET", "/v1/AUTH_%s/acme-private" % ACCT, token=tok2)
        eq(r.status, 403, "cross-account token on container")
        # bob cannot reach acme's container through his own account either
        try:
            c2.get_container("acme-private")
            raise AssertionError("zeta listed acme's container")
        except ClientException as e:
            eq(e.http_status, 403, "acme container via zeta account")
        # root authenticates with its access key and may act on any account
        root = sc.Connection(authurl=self.auth_url, user=self.srv.access_key,
                             key=self.srv.secret_key, retries=0)
        rurl, rtok = root.get_auth()
        check(rurl.endswith("/v1/AUTH_root"), "root storage url %s" % rurl)
        r = self.raw("GET", "/v1/AUTH_%s?format=json" % ACCT, token=rtok)
        eq(r.status, 200, "root lists acme")
        check("acme-private" in [x["name"] for x in json.loads(r.body)], "root sees %r" % r.body)
        self.conn.delete_container("acme-private")

    def t_cli(self):
        d = self.tmp
        data = os.urandom(300 * 1024 + 7)
        with open(os.path.join(d, "big.bin"), "wb") as f:
            f.write(data)
        os.makedirs(os.path.join(d, "docs"), exist_ok=True)
        for n in ("a.txt", "b.txt"):
            with open(os.path.join(d, "docs", n), "w") as f:
                f.write("hello " + n)
        r = self.swift("stat")
        check("Account: AUTH_%s" % ACCT in r.stdout, "stat output %r" % r.stdout)
        self.swift("post", "cli-box")
        self.swift("upload", "cli-box", "big.bin")
        self.swift("upload", "cli-box", "docs")
        r = self.swift("list")
        check("cli-box" in r.stdout.split(), "account listing %r" % r.stdout)
        r = self.swift("list", "cli-box")
        eq(r.stdout.split(), ["big.bin", "docs/a.txt", "docs/b.txt"], "container listing")
        r = self.swift("list", "cli-box", "--prefix", "docs/")
        eq(r.stdout.split(), ["docs/a.txt", "docs/b.txt"], "prefix listing")
        r = self.swift("list", "cli-box", "--delimiter", "/")
        eq(r.stdout.split(), ["big.bin", "docs/"], "delimiter listing")
        self.swift("download", "cli-box", "big.bin", "-o", "got.bin")
        with open(os.path.join(d, "got.bin"), "rb") as f:
            eq(f.read() == data, True, "downloaded bytes equal")
        self.swift("post", "cli-box", "big.bin", "-m", "Color:Blue")
        r = self.swift("stat", "cli-box", "big.bin")
        check("Meta Color: Blue" in r.stdout, "object stat %r" % r.stdout)
        check("Content Length: %d" % len(data) in r.stdout, "stat length %r" % r.stdout)
        check("ETag: %s" % hashlib.md5(data).hexdigest() in r.stdout, "stat etag %r" % r.stdout)
        r = self.swift("stat", "cli-box")
        check("Objects: 3" in r.stdout, "container stat %r" % r.stdout)
        self.swift("post", "cli-copy")
        self.swift("copy", "-d", "/cli-copy/copied.bin", "cli-box", "big.bin")
        self.swift("download", "cli-copy", "copied.bin", "-o", "copied.bin")
        with open(os.path.join(d, "copied.bin"), "rb") as f:
            eq(f.read() == data, True, "copied bytes equal")
        r = self.swift("stat", "cli-copy", "copied.bin")
        check("Meta Color: Blue" in r.stdout, "copy keeps metadata %r" % r.stdout)
        self.swift("delete", "cli-box", "docs/a.txt")
        r = self.swift("list", "cli-box")
        eq(r.stdout.split(), ["big.bin", "docs/b.txt"], "after delete")
        # a non-empty container is refused (the CLI would empty it first)
        try:
            self.conn.delete_container("cli-box")
            raise AssertionError("non-empty container deleted")
        except ClientException as e:
            eq(e.http_status, 409, "delete non-empty container")
        self.swift("delete", "cli-box")  # objects, then the container
        self.swift("delete", "cli-copy")
        r = self.swift("list")
        check("cli-box" not in r.stdout.split(), "container gone %r" % r.stdout)
        try:
            self.conn.delete_container("cli-box")
            raise AssertionError("absent container deleted")
        except ClientException as e:
            eq(e.http_status, 404, "delete absent container")

    def t_listings(self):
        c = self.conn
        c.put_container("lists")
        eq(self.raw("PUT", "/v1/AUTH_%s/lists" % ACCT).status, 202, "re-PUT own container")
        eq(c.get_container("lists", full_listing=True)[1], [], "empty json listing")
        r = self.raw("GET", "/v1/AUTH_%s/lists" % ACCT)
        eq(r.status, 204, "empty plain listing")
        objs = {"a/1": b"one", "a/2": b"two!", "b": b"bee", "c/x/y": b"deep"}
        for k, v in objs.items():
            c.put_object("lists", k, v, content_type="text/x-test")
        hdrs, listing = c.get_container("lists")
        eq([e["name"] for e in listing], sorted(objs), "json names")
        e0 = listing[0]
        eq(e0["hash"], hashlib.md5(b"one").hexdigest(), "json hash")
        eq(e0["bytes"], 3, "json bytes")
        eq(e0["content_type"], "text/x-test", "json content_type")
        check(len(e0["last_modified"]) == 26 and "T" in e0["last_modified"],
              "last_modified %r" % e0["last_modified"])
        eq(hdrs["x-container-object-count"], "4", "count header")
        eq(hdrs["x-container-bytes-used"], str(sum(len(v) for v in objs.values())), "bytes")
        _, l2 = c.get_container("lists", delimiter="/")
        eq(l2, [{"subdir": "a/"}, l2[1], {"subdir": "c/"}], "subdirs")
        eq(l2[1]["name"], "b", "object between subdirs")
        eq([e["name"] for e in c.get_container("lists", prefix="a/")[1]], ["a/1", "a/2"],
           "prefix")
        eq([e["name"] for e in c.get_container("lists", marker="a/2")[1]], ["b", "c/x/y"],
           "marker")
        eq([e["name"] for e in c.get_container("lists", end_marker="b")[1]], ["a/1", "a/2"],
           "end_marker")
        eq([e["name"] for e in c.get_container("lists", limit=2)[1]], ["a/1", "a/2"], "limit")
        r = self.raw("GET", "/v1/AUTH_%s/lists" % ACCT)
        eq(r.body.decode().split("\n"), sorted(objs) + [""], "plain listing")
        r = self.raw("GET", "/v1/AUTH_%s/lists" % ACCT, headers={"Accept": "application/json"})
        eq([e["name"] for e in json.loads(r.body)], sorted(objs), "Accept json")
        r = self.raw("GET", "/v1/AUTH_%s/lists?format=xml" % ACCT)
        root = ET.fromstring(r.body)
        eq(root.tag, "container", "xml root")
        eq([o.findtext("name") for o in root.findall("object")], sorted(objs), "xml names")
        eq(root.find("object").findtext("hash"), hashlib.md5(b"one").hexdigest(), "xml hash")
        h = c.head_container("lists")
        eq(h["x-container-object-count"], "4", "HEAD container count")
        # account listing in every format, with counts
        hdrs, conts = c.get_account()
        names = [x["name"] for x in conts]
        check("lists" in names, "account json %r" % conts)
        ent = conts[names.index("lists")]
        eq((ent["count"], ent["bytes"]), (4, 14), "account entry count/bytes")
        h = c.head_account()
        check(int(h["x-account-container-count"]) >= 1, "container count %r" % h)
        check(int(h["x-account-object-count"]) >= 4, "object count %r" % h)
        check("x-timestamp" in h, "account X-Timestamp")
        r = self.raw("GET", "/v1/AUTH_%s?format=xml" % ACCT)
        root = ET.fromstring(r.body)
        eq(root.tag, "account", "account xml root")
        check("lists" in [x.findtext("name") for x in root.findall("container")], "xml account")
        r = self.raw("GET", "/v1/AUTH_%s" % ACCT)
        check("lists" in r.body.decode().split("\n"), "plain account listing %r" % r.body)
        eq([x["name"] for x in c.get_account(prefix="lis")[1]], ["lists"], "account prefix")
        for k in objs:
            c.delete_object("lists", k)
        c.delete_container("lists")
        try:
            c.put_container("Bad_Name")
            raise AssertionError("invalid container name accepted")
        except ClientException as e:
            eq(e.http_status, 400, "invalid container name")

    def t_objects(self):
        c = self.conn
        c.put_container("objs")
        data = bytes(range(256)) * 100
        etag = c.put_object("objs", "o", data, headers={
            "X-Object-Meta-Color": "Blue", "Content-Disposition": "attachment",
            "Content-Type": "image/x-kura"})
        eq(etag, hashlib.md5(data).hexdigest(), "put etag")
        h, body = c.get_object("objs", "o")
        eq(body, data, "get bytes")
        eq(h["x-object-meta-color"], "Blue", "meta")
        eq(h["content-type"], "image/x-kura", "content type")
        eq(h["content-disposition"], "attachment", "content disposition")
        eq(h["etag"], etag, "get etag (unquoted, as Swift sends it)")
        check("x-timestamp" in h and "last-modified" in h, "timestamps %r" % h)
        check(h.get("x-trans-id", "").startswith("tx"), "X-Trans-Id")
        check(h.get("x-openstack-request-id", "").startswith("tx"), "X-Openstack-Request-Id")
        # Range
        h, body = c.get_object("objs", "o", headers={"Range": "bytes=10-19"})
        eq(body, data[10:20], "range bytes")
        eq(h["content-range"], "bytes 10-19/%d" % len(data), "content-range")
        r = self.raw("GET", "/v1/AUTH_%s/objs/o" % ACCT, headers={"Range": "bytes=-5"})
        eq((r.status, r.body), (206, data[-5:]), "suffix range")
        r = self.raw("GET", "/v1/AUTH_%s/objs/o" % ACCT,
                     headers={"Range": "bytes=%d-" % len(data)})
        eq(r.status, 416, "unsatisfiable range")
        r = self.raw("GET", "/v1/AUTH_%s/objs/o" % ACCT, headers={"Range": "bytes=0-1,5-6"})
        eq(r.status, 501, "multiple ranges refused")
        # conditionals
        r = self.raw("GET", "/v1/AUTH_%s/objs/o" % ACCT, headers={"If-None-Match": '"%s"' % etag})
        eq(r.status, 304, "If-None-Match")
        r = self.raw("GET", "/v1/AUTH_%s/objs/o" % ACCT, headers={"If-Match": '"nope"'})
        eq(r.status, 412, "If-Match")
        r = self.raw("GET", "/v1/AUTH_%s/objs/o" % ACCT, headers={"If-Match": etag})
        eq((r.status, r.body), (200, data), "If-Match ok")
        try:
            c.get_object("objs", "o", headers={"If-None-Match": etag})
            raise AssertionError("304 not raised")
        except ClientException as e:
            eq(e.http_status, 304, "swiftclient 304")
        # ETag check on PUT: nothing stored on a mismatch
        try:
            c.put_object("objs", "bad", b"abc", etag=hashlib.md5(b"abd").hexdigest())
            raise AssertionError("etag mismatch accepted")
        except ClientException as e:
            eq(e.http_status, 422, "etag mismatch")
        try:
            c.head_object("objs", "bad")
            raise AssertionError("mismatched object stored")
        except ClientException as e:
            eq(e.http_status, 404, "nothing stored")
        eq(c.put_object("objs", "good", b"abc", etag=hashlib.md5(b"abc").hexdigest()),
           hashlib.md5(b"abc").hexdigest(), "etag match")
        # chunked upload (a generator: no length)
        chunks = [os.urandom(70000) for _ in range(5)]

        def gen():
            yield from chunks
        etag2 = c.put_object("objs", "chunked", gen())
        whole = b"".join(chunks)
        eq(etag2, hashlib.md5(whole).hexdigest(), "chunked etag")
        eq(c.get_object("objs", "chunked")[1], whole, "chunked bytes")
        # POST replaces metadata
        c.post_object("objs", "o", headers={"X-Object-Meta-Shape": "Round"})
        h = c.head_object("objs", "o")
        eq(h.get("x-object-meta-shape"), "Round", "new meta")
        check("x-object-meta-color" not in h, "old meta replaced %r" % h)
        eq(h["content-type"], "image/x-kura", "content type kept by POST")
        # copies: COPY and PUT with X-Copy-From
        c.copy_object("objs", "o", "/objs/o2", headers={"X-Object-Meta-Extra": "1"})
        h, body = c.get_object("objs", "o2")
        eq(body, data, "copy bytes")
        eq((h.get("x-object-meta-shape"), h.get("x-object-meta-extra")), ("Round", "1"),
           "copy merges metadata")
        r = self.raw("PUT", "/v1/AUTH_%s/objs/o3" % ACCT,
                     headers={"X-Copy-From": "objs/o", "X-Fresh-Metadata": "true",
                              "Content-Length": "0"})
        eq(r.status, 201, "X-Copy-From")
        eq(r.header("X-Copied-From"), "objs/o", "X-Copied-From")
        h, body = c.get_object("objs", "o3")
        eq(body, data, "X-Copy-From bytes")
        check("x-object-meta-shape" not in h, "fresh metadata %r" % h)
        # DELETE
        c.delete_object("objs", "o3")
        try:
            c.delete_object("objs", "o3")
            raise AssertionError("absent delete succeeded")
        except ClientException as e:
            eq(e.http_status, 404, "delete absent object")
        r = self.raw("GET", "/v1/AUTH_%s/objs/nope" % ACCT)
        eq(r.status, 404, "404")
        eq(r.body, b"<html><h1>Not Found</h1><p>The resource could not be found.</p></html>",
           "404 body")
        check(r.header("X-Trans-Id", "").startswith("tx"), "X-Trans-Id on errors")
        for k in ("o", "o2", "good", "chunked"):
            c.delete_object("objs", k)
        c.delete_container("objs")

    def t_refusals(self):
        c = self.conn
        c.put_container("refused")
        base = "/v1/AUTH_%s/refused" % ACCT
        cases = [
            ("PUT", base + "/m", {"X-Object-Manifest": "refused/seg"}, "DLO manifest"),
            ("PUT", base + "/m?multipart-manifest=put", {}, "SLO manifest"),
            ("PUT", base + "/m", {"X-Delete-After": "60"}, "X-Delete-After"),
            ("PUT", base + "/m", {"X-Delete-At": "9999999999"}, "X-Delete-At"),
            ("GET", base + "/m?temp_url_sig=x&temp_url_expires=1", {}, "TempURL"),
            ("PUT", base, {"X-Container-Read": ".r:*"}, "container ACL"),
            ("POST", base, {"X-Container-Meta-Color": "x"}, "container metadata"),
            ("POST", "/v1/AUTH_%s" % ACCT, {"X-Account-Meta-Temp-URL-Key": "k"},
             "account metadata"),
            ("PUT", base + "/m", {"X-Detect-Content-Type": "true"}, "content type detection"),
        ]
        for method, path, h, what in cases:
            r = self.raw(method, path, headers=dict(h, **{"Content-Length": "1"}), body=b"x")
            eq(r.status, 501, what)
        try:
            c.head_object("refused", "m")
            raise AssertionError("a refused PUT stored an object")
        except ClientException as e:
            eq(e.http_status, 404, "nothing stored by refusals")
        r = self.raw("GET", base + "?path=x")
        eq(r.status, 501, "path listing refused")
        c.delete_container("refused")

    def t_info(self):
        r = harness.http_request(self.srv, "GET", "/info")
        eq(r.status, 200, "info")
        info = json.loads(r.body)
        check("swift" in info and info["swift"]["max_file_size"] == 5 << 30, "info %r" % info)
        for absent in ("slo", "dlo", "tempurl", "bulk_delete", "bulk_upload", "formpost"):
            check(absent not in info, "/info must not claim %s" % absent)
        caps = self.conn.get_capabilities()
        eq(caps["swift"]["container_listing_limit"], 10000, "capabilities")

    def t_cross_protocol(self):
        c = self.conn
        s3 = self.s3()
        c.put_container("xproto")
        data = os.urandom(12345)
        etag = c.put_object("xproto", "from-swift", data,
                            headers={"X-Object-Meta-Color": "Blue"}, content_type="text/plain")
        o = s3.get_object(Bucket="xproto", Key="from-swift")
        eq(o["Body"].read(), data, "S3 reads Swift's bytes")
        eq(o["ETag"], '"%s"' % etag, "S3 ETag equal")
        eq(o["Metadata"], {"color": "Blue"}, "x-amz-meta-color")
        eq(o["ContentType"], "text/plain", "S3 content type")
        data2 = os.urandom(4321)
        r = s3.put_object(Bucket="xproto", Key="from-s3", Body=data2, Metadata={"shape": "Sq"},
                          ContentType="application/x-s3")
        h, body = c.get_object("xproto", "from-s3")
        eq(body, data2, "Swift reads S3's bytes")
        eq(h["etag"].strip('"'), r["ETag"].strip('"'), "Swift ETag equal")
        eq(h["x-object-meta-shape"], "Sq", "X-Object-Meta-Shape")
        eq(h["content-type"], "application/x-s3", "Swift content type")
        # S3 buckets of the account are Swift containers, and the reverse
        s3.create_bucket(Bucket="made-by-s3")
        names = [x["name"] for x in c.get_account()[1]]
        check("made-by-s3" in names and "xproto" in names, "account lists both %r" % names)
        bs = [b["Name"] for b in s3.list_buckets()["Buckets"]]
        check("xproto" in bs, "S3 lists the Swift container %r" % bs)
        listing = [x["name"] for x in c.get_container("xproto")[1]]
        eq(listing, ["from-s3", "from-swift"], "Swift lists both")
        c.delete_container("made-by-s3")
        for k in ("from-s3", "from-swift"):
            s3.delete_object(Bucket="xproto", Key=k)
        c.delete_container("xproto")

    def t_s3_unchanged_paths(self):
        # S3 still owns everything else on the listener
        r = harness.s3_request(self.srv, "GET", "/")
        eq(r.status, 200, "S3 ListBuckets")
        r = harness.http_request(self.srv, "GET", "/nobucket-here/x")
        eq(r.status, 404, "anonymous S3 request")
        check(b"<Code>NoSuchBucket</Code>" in r.body, "S3 XML error %r" % r.body)
        check(r.header("X-Trans-Id") is None, "no Swift headers on S3 answers")


def main():
    if len(sys.argv) < 2:
        harness.fail("usage: test_swift.py KURA_BINARY")
    harness.need_tool("swift", "python3-swiftclient")
    t = T(sys.argv[1])
    run = Runner("swift")
    try:
        for name in ("t_auth", "t_tokens", "t_cli", "t_listings", "t_objects", "t_refusals",
                     "t_info", "t_cross_protocol", "t_s3_unchanged_paths"):
            run.run(name, getattr(t, name))
    finally:
        t.close()
    sys.exit(run.finish())


if __name__ == "__main__":
    main()
