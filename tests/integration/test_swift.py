#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The Swift front end (gateway/swift.c) with real clients: the swift CLI and
python-swiftclient (Debian's python3-swiftclient), plus boto3 on the same
data (cross-protocol) and raw HTTP for the answers clients hide.

    /usr/bin/python3 tests/integration/test_swift.py build/gateway/kura
"""
import hashlib
import hmac
import email.parser
import json
import os
import re
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
        # a sweeper every second, so that t_expiry sees expired objects reclaimed
        self.srv = harness.Kura(kura, extra_args=["--expiry-interval", "1"]).start()
        self.tmp = tempfile.mkdtemp(prefix="kura-swift.")
        for ak, sk, roles in (("%s:%s" % (ACCT, USER), KEY, ["--admin"]),
                              (OTHER, OTHER_KEY, ["--admin"]),
                              ("%s:carol" % ACCT, "carol-secret-key-789", []),
                              ("ops:reseller", "reseller-secret-key-0", ["--reseller-admin"])):
            r = subprocess.run([kura, "admin", "user", "add", *self.srv.store_args(), *roles, ak, sk],
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
        # Swift's container names are wider than S3's (the CLI's NAME_segments)
        c.put_container("Odd_Name")
        c.put_object("Odd_Name", "k", b"odd")
        eq(c.get_object("Odd_Name", "k")[1], b"odd", "object in a wide-named container")
        eq(self.s3().get_object(Bucket="Odd_Name", Key="k")["Body"].read(), b"odd",
           "S3 path-style reaches it")
        c.delete_object("Odd_Name", "k")
        c.delete_container("Odd_Name")
        c.put_container("ünï côdé")
        eq([x["name"] for x in c.get_account(prefix="ün")[1]], ["ünï côdé"], "UTF-8 container")
        c.delete_container("ünï côdé")
        try:
            c.put_container("x" * 257)
            raise AssertionError("a 257-byte container name was accepted")
        except ClientException as e:
            eq(e.http_status, 400, "container name too long")

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
        eq(r.status, 206, "multiple ranges (t_multirange has the details)")
        check(r.header("Content-Type", "").startswith("multipart/byteranges;boundary="),
              "multipart/byteranges %r" % r.header("Content-Type"))
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
            ("GET", base + "/m?temp_url_ip_range=1.2.3.4&temp_url_sig=x&temp_url_expires=1", {},
             "TempURL IP range"),
            ("PUT", base, {"X-Container-Read": ".r:example.com"}, "referrer ACL"),
            ("POST", base, {"X-Container-Sync-To": "http://x/v1/AUTH_a/c"}, "container sync"),
            ("POST", base, {"X-Container-Meta-Color": "x", "X-Versions-Location": "v"},
             "versioning beside metadata"),
            ("POST", "/v1/AUTH_%s" % ACCT, {"X-Account-Access-Control": "{}"},
             "account ACLs"),
            ("POST", "/v1/AUTH_%s" % ACCT, {"X-Account-Meta-Quota-Bytes": "10"},
             "account quotas"),
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
        check("x-container-meta-color" not in c.head_container("refused"),
              "a refused POST stored no metadata")
        c.delete_container("refused")

    def t_acls(self):
        c = self.conn
        cont = "/v1/AUTH_%s/shared" % ACCT
        c.put_container("shared")
        c.put_object("shared", "doc", b"shared bytes", content_type="text/plain")
        c2 = sc.Connection(authurl=self.auth_url, user=OTHER, key=OTHER_KEY, retries=0)
        _, tok2 = c2.get_auth()
        # bob acts on acme's container through acme's storage URL
        bob = sc.Connection(preauthurl=self.url, preauthtoken=tok2, retries=0)

        def status(fn, *a, **kw):
            try:
                fn(*a, **kw)
                return 200
            except ClientException as e:
                return e.http_status
        # no ACL: bob and anonymous callers get nothing
        eq(status(bob.get_container, "shared"), 403, "bob lists before ACL")
        eq(status(bob.get_object, "shared", "doc"), 403, "bob reads before ACL")
        eq(self.raw("GET", cont + "/doc", token=False).status, 401, "anonymous before ACL")
        # read ACL for a user (the CLI's post -r)
        self.swift("post", "-r", "zeta:bob", "shared")
        h = c.head_container("shared")
        eq(h.get("x-container-read"), "zeta:bob", "X-Container-Read stored")
        hb, listing = bob.get_container("shared")
        eq([e["name"] for e in listing], ["doc"], "bob lists with read ACL")
        check("x-container-read" not in hb, "ACLs are shown to owners only %r" % hb)
        eq(bob.get_object("shared", "doc")[1], b"shared bytes", "bob reads with read ACL")
        eq(status(bob.put_object, "shared", "bobs", b"x"), 403, "read ACL lets no writes")
        eq(status(bob.delete_object, "shared", "doc"), 403, "read ACL lets no deletes")
        eq(status(bob.post_container, "shared", {"X-Container-Meta-A": "1"}), 403,
           "container metadata stays the owner's")
        eq(status(bob.put_container, "shared"), 403, "bob cannot PUT in acme's account")
        eq(status(bob.delete_container, "shared"), 403, "bob cannot delete the container")
        eq(status(bob.head_account), 403, "bob cannot see acme's account")
        # the same grant through S3: bob's S3 key reads (the decision is shared)
        s3b = self.s3(OTHER, OTHER_KEY)
        eq(s3b.get_object(Bucket="shared", Key="doc")["Body"].read(), b"shared bytes",
           "S3 read with the Swift read grant")
        # write ACL for the account: bob writes and deletes
        self.swift("post", "-w", "zeta", "shared")
        bob.put_object("shared", "from-bob", b"bob wrote this")
        eq(c.get_object("shared", "from-bob")[1], b"bob wrote this", "alice reads bob's object")
        bob.post_object("shared", "from-bob", headers={"X-Object-Meta-By": "bob"})
        eq(c.head_object("shared", "from-bob").get("x-object-meta-by"), "bob", "bob's POST")
        bob.copy_object("shared", "doc", "/shared/doc-copy")
        eq(c.get_object("shared", "doc-copy")[1], b"shared bytes", "bob's COPY")
        bob.delete_object("shared", "doc-copy")
        eq(status(c.head_object, "shared", "doc-copy"), 404, "bob's DELETE")
        eq(c.head_container("shared").get("x-container-write"), "zeta", "X-Container-Write")
        # a writer who may not read (write ACL only)
        c.post_container("shared", headers={"X-Remove-Container-Read": "x"})
        check("x-container-read" not in c.head_container("shared"), "read ACL removed")
        eq(status(bob.get_object, "shared", "doc"), 403, "write ACL lets no reads")
        bob.put_object("shared", "blind", b"b")
        c.post_container("shared", headers={"X-Container-Write": ""})
        eq(status(bob.put_object, "shared", "again", b"x"), 403, "write ACL removed")
        # public: .r:* lets anyone read objects; listing needs .rlistings
        self.swift("post", "-r", ".r:*", "shared")
        r = self.raw("GET", cont + "/doc", token=False)
        eq((r.status, r.body), (200, b"shared bytes"), "anonymous GET with .r:*")
        eq(self.raw("HEAD", cont + "/doc", token=False).status, 200, "anonymous HEAD")
        eq(self.raw("GET", cont, token=False).status, 401, "no anonymous listing without .rlistings")
        eq(self.raw("GET", cont + "/absent", token=False).status, 401,
           "an absent name is no one's business without listings")
        eq(self.raw("PUT", cont + "/anon", token=False, headers={"Content-Length": "1"},
                    body=b"x").status, 401, "anonymous PUT")
        r = harness.http_request(self.srv, "GET", "/shared/doc")
        eq((r.status, r.body), (200, b"shared bytes"), "anonymous S3 GET with .r:*")
        self.swift("post", "-r", ".r:*,.rlistings", "shared")
        r = self.raw("GET", cont, token=False)
        eq((r.status, sorted(r.body.decode().split())), (200, ["blind", "doc", "from-bob"]),
           "anonymous listing with .rlistings")
        eq(self.raw("GET", cont + "/absent", token=False).status, 404, "absent: 404 with listings")
        eq(c.head_container("shared").get("x-container-read"), ".r:*,.rlistings", "stored")
        # refusals: referrer rules kura lacks (501), nonsense (400); nothing changes
        eq(self.raw("POST", cont, headers={"X-Container-Read": ".r:.example.com"}).status, 501,
           "referrer domain rule")
        eq(self.raw("POST", cont, headers={"X-Container-Read": ".bogus"}).status, 400, "bad ACL")
        eq(self.raw("POST", cont, headers={"X-Container-Write": ".r:*"}).status, 400,
           "referrer in a write ACL")
        eq(c.head_container("shared").get("x-container-read"), ".r:*,.rlistings", "unchanged")
        r = self.raw("PUT", "/v1/AUTH_%s/acl-new" % ACCT, headers={"X-Container-Read": ".bogus"})
        eq(r.status, 400, "PUT with a bad ACL")
        eq(self.raw("HEAD", "/v1/AUTH_%s/acl-new" % ACCT).status, 404, "nothing created")
        # PUT with ACLs sets them at creation
        c.put_container("acl-new", headers={"X-Container-Read": "zeta:bob"})
        eq(bob.get_container("acl-new")[1], [], "read ACL set by PUT")
        c.delete_container("acl-new")
        for k in ("doc", "from-bob", "blind"):
            c.delete_object("shared", k)
        c.delete_container("shared")

    def curl(self, *args):
        r = subprocess.run(["curl", "-sS", "-D", "-", "-o", os.path.join(self.tmp, "curl.out"),
                            *args], capture_output=True, text=True, timeout=60)
        eq(r.returncode, 0, "curl %s: %s" % (args, r.stderr))
        # the last header block (after any 100 Continue)
        blocks = [b for b in r.stdout.replace("\r", "").split("\n\n") if b.startswith("HTTP/")]
        lines = blocks[-1].split("\n")
        status = int(lines[0].split()[1])
        hdrs = {}
        for ln in lines[1:]:
            if ":" in ln:
                k, v = ln.split(":", 1)
                hdrs[k.strip().lower()] = v.strip()
        with open(os.path.join(self.tmp, "curl.out"), "rb") as f:
            return status, hdrs, f.read()

    def tempurl(self, *args):
        return self.swift("tempurl", *args).stdout.strip()

    def t_tempurl(self):
        c = self.conn
        ep = self.srv.endpoint
        path = "/v1/AUTH_%s/tmpu/dir/file.txt" % ACCT
        c.put_container("tmpu")
        c.put_object("tmpu", "dir/file.txt", b"temp url bytes", content_type="text/plain")
        c.put_object("tmpu", "other", b"other bytes")
        # no key yet: nothing validates
        url = self.tempurl("GET", "60", path, "secret-one")
        eq(self.curl(ep + url)[0], 401, "no key set")
        self.swift("post", "-m", "Temp-URL-Key:secret-one", "tmpu")
        # GET with the CLI's default (sha256 hex), sha1 hex, sha512 base64
        for digest in ("sha256", "sha1", "sha512"):
            url = self.tempurl("--digest", digest, "GET", "60", path, "secret-one")
            st, h, body = self.curl(ep + url)
            eq((st, body), (200, b"temp url bytes"), "tempurl GET %s" % digest)
            eq(h.get("content-disposition"),
               "attachment; filename=\"file.txt\"; filename*=UTF-8''file.txt",
               "default disposition")
            eq(h.get("content-type"), "text/plain", "content type")
        # sha256: with base64 (the prefixed form)
        exp = int(time.time()) + 60
        mac = hmac.new(b"secret-one", ("GET\n%d\n%s" % (exp, path)).encode(), hashlib.sha256)
        b64 = __import__("base64").urlsafe_b64encode(mac.digest()).decode().rstrip("=")
        st, _, body = self.curl("%s%s?temp_url_sig=sha256:%s&temp_url_expires=%d" %
                                (ep, path, b64, exp))
        eq((st, body), (200, b"temp url bytes"), "sha256: base64 signature")
        # HEAD with a GET signature; the signature binds method, path, expiry
        url = self.tempurl("GET", "60", path, "secret-one")
        st, h, _ = self.curl("-I", ep + url)
        eq((st, h.get("content-length")), (200, "14"), "HEAD with a GET signature")
        eq(self.curl("-X", "PUT", "--data-binary", "x", ep + url)[0], 401, "PUT with GET sig")
        eq(self.curl(ep + url.replace("file.txt", "other"))[0], 401, "another object")
        st, _, body = self.curl(ep + url.replace("temp_url_expires=", "temp_url_expires=1"))
        eq((st, body), (401, b"401 Unauthorized: Temp URL invalid\n"), "changed expiry")
        bad = url.replace("temp_url_sig=", "temp_url_sig=0")[:-1]
        eq(self.curl(ep + bad)[0], 401, "bad signature")
        # expired (absolute time in the past)
        url = self.tempurl("--absolute", "GET", str(int(time.time()) - 5), path, "secret-one")
        eq(self.curl(ep + url)[0], 401, "expired")
        # ISO 8601 expiry, filename and inline
        url = self.tempurl("--iso8601", "GET", "60", path, "secret-one")
        check("Z" in url, "iso url %s" % url)
        st, h, _ = self.curl(ep + url + "&filename=report%20one.txt")
        eq((st, h.get("content-disposition")),
           (200, "attachment; filename=\"report one.txt\"; filename*=UTF-8''report%20one.txt"),
           "filename")
        st, h, _ = self.curl(ep + url + "&inline")
        eq((st, h.get("content-disposition")), (200, "inline"), "inline")
        # PUT through a TempURL (curl -T), readable by the owner
        up = os.path.join(self.tmp, "up.bin")
        data = os.urandom(50000)
        with open(up, "wb") as f:
            f.write(data)
        url = self.tempurl("PUT", "60", "/v1/AUTH_%s/tmpu/uploaded.bin" % ACCT, "secret-one")
        st, h, _ = self.curl("-T", up, ep + url)
        eq(st, 201, "tempurl PUT")
        eq(h.get("etag"), hashlib.md5(data).hexdigest(), "tempurl PUT etag")
        eq(c.get_object("tmpu", "uploaded.bin")[1], data, "uploaded bytes")
        st, _, _ = self.curl("-X", "PUT", "-H", "X-Copy-From: tmpu/other", "-H",
                             "Content-Length: 0", ep + url)
        eq(st, 400, "no copies through a TempURL")
        # prefix-based, with the second key
        c.post_container("tmpu", headers={"X-Container-Meta-Temp-URL-Key-2": "secret-two"})
        url = self.tempurl("--prefix-based", "GET", "60", "/v1/AUTH_%s/tmpu/dir/" % ACCT,
                           "secret-two")
        q = url.split("?", 1)[1]
        st, _, body = self.curl("%s%s?%s" % (ep, path, q))
        eq((st, body), (200, b"temp url bytes"), "prefix-based GET (key 2)")
        eq(self.curl("%s/v1/AUTH_%s/tmpu/other?%s" % (ep, ACCT, q))[0], 401, "outside the prefix")
        # a removed key stops validating
        c.post_container("tmpu", headers={"X-Remove-Container-Meta-Temp-URL-Key-2": "x"})
        eq(self.curl("%s%s?%s" % (ep, path, q))[0], 401, "key removed")
        # what stays refused; the keys are the owner's secret
        url = self.tempurl("DELETE", "60", path, "secret-one")
        eq(self.curl("-X", "DELETE", ep + url)[0], 501, "DELETE TempURL")
        eq(c.head_object("tmpu", "dir/file.txt")["content-length"], "14", "still there")
        c.post_container("tmpu", headers={"X-Container-Read": "zeta:bob"})
        c2 = sc.Connection(authurl=self.auth_url, user=OTHER, key=OTHER_KEY, retries=0)
        _, tok2 = c2.get_auth()
        hb = sc.Connection(preauthurl=self.url, preauthtoken=tok2, retries=0).head_container("tmpu")
        check("x-container-meta-temp-url-key" not in hb, "key hidden from readers %r" % hb)
        eq(c.head_container("tmpu").get("x-container-meta-temp-url-key"), "secret-one", "owner")
        for k in ("dir/file.txt", "other", "uploaded.bin"):
            c.delete_object("tmpu", k)
        c.delete_container("tmpu")

    def t_account_meta(self):
        c = self.conn
        acct = "/v1/AUTH_%s" % ACCT
        check(not any(k.startswith("x-account-meta-") for k in c.head_account()),
              "no account metadata yet")
        self.swift("post", "-m", "Color:Blue", "-m", "Shape:Round")
        r = self.swift("stat")
        check("Meta Color: Blue" in r.stdout and "Meta Shape: Round" in r.stdout,
              "account stat %r" % r.stdout)
        h, _ = c.get_account()
        eq(h.get("x-account-meta-color"), "Blue", "meta on account GET")
        c.post_account({"X-Remove-Account-Meta-Shape": "x", "X-Account-Meta-Color": "Red"})
        h = c.head_account()
        eq(h.get("x-account-meta-color"), "Red", "replaced")
        check("x-account-meta-shape" not in h, "removed %r" % h)
        eq(self.raw("POST", acct, headers={"X-Account-Meta-Color": ""}).status, 204, "empty")
        check("x-account-meta-color" not in c.head_account(), "empty value removes")
        eq(self.raw("POST", acct, headers={"X-Account-Meta-Big": "v" * 257}).status, 400,
           "value too long")
        # another account's user and anonymous callers: refused, nothing stored
        c2 = sc.Connection(authurl=self.auth_url, user=OTHER, key=OTHER_KEY, retries=0)
        _, tok2 = c2.get_auth()
        eq(self.raw("POST", acct, headers={"X-Account-Meta-X": "1"}, token=tok2).status, 403,
           "foreign account POST")
        eq(self.raw("POST", acct, headers={"X-Account-Meta-X": "1"}, token=False).status, 401,
           "anonymous account POST")
        check("x-account-meta-x" not in c.head_account(), "nothing stored")
        # zeta's metadata is zeta's own
        c2.post_account({"X-Account-Meta-Team": "Z"})
        eq(c2.head_account().get("x-account-meta-team"), "Z", "zeta's own")
        check("x-account-meta-team" not in c.head_account(), "accounts apart")
        # the account's TempURL key signs for every container of the account
        c.put_container("acctkey")
        c.put_object("acctkey", "o.txt", b"account key object")
        self.swift("post", "-m", "Temp-URL-Key:account-secret")
        url = self.tempurl("GET", "60", "/v1/AUTH_%s/acctkey/o.txt" % ACCT, "account-secret")
        st, _, body = self.curl(self.srv.endpoint + url)
        eq((st, body), (200, b"account key object"), "TempURL with the account key")
        url = self.tempurl("GET", "60", "/v1/AUTH_zeta/acctkey/o.txt", "account-secret")
        eq(self.curl(self.srv.endpoint + url)[0], 401, "another account's path")
        c.post_account({"X-Remove-Account-Meta-Temp-URL-Key": "x"})
        url = self.tempurl("GET", "60", "/v1/AUTH_%s/acctkey/o.txt" % ACCT, "account-secret")
        eq(self.curl(self.srv.endpoint + url)[0], 401, "account key removed")
        c.delete_object("acctkey", "o.txt")
        c.delete_container("acctkey")

    def t_container_meta(self):
        c = self.conn
        c.put_container("metabox", headers={"X-Container-Meta-Owner": "Team A"})
        h = c.head_container("metabox")
        eq(h.get("x-container-meta-owner"), "Team A", "meta set by PUT")
        # the CLI: post -m NAME:VALUE sets, stat shows
        self.swift("post", "-m", "Color:Blue", "-m", "Shape:Round", "metabox")
        r = self.swift("stat", "metabox")
        for line in ("Meta Color: Blue", "Meta Shape: Round", "Meta Owner: Team A"):
            check(line in r.stdout, "container stat %r lacks %r" % (r.stdout, line))
        # GET returns it too, beside the listing
        h, _ = c.get_container("metabox")
        eq((h.get("x-container-meta-color"), h.get("x-container-meta-shape")), ("Blue", "Round"),
           "meta on GET")
        # replacing, removing by X-Remove-…, removing by an empty value
        c.post_container("metabox", headers={"X-Container-Meta-Color": "Red",
                                             "X-Remove-Container-Meta-Shape": "x"})
        h = c.head_container("metabox")
        eq(h.get("x-container-meta-color"), "Red", "meta replaced")
        check("x-container-meta-shape" not in h, "X-Remove-Container-Meta %r" % h)
        r = self.raw("POST", "/v1/AUTH_%s/metabox" % ACCT,
                     headers={"X-Container-Meta-Owner": ""})
        eq(r.status, 204, "POST container")
        h = c.head_container("metabox")
        check("x-container-meta-owner" not in h, "empty value removes %r" % h)
        # re-PUT of one's container updates metadata (202) and keeps the rest
        r = self.raw("PUT", "/v1/AUTH_%s/metabox" % ACCT, headers={"X-Container-Meta-New": "1"})
        eq(r.status, 202, "re-PUT with metadata")
        h = c.head_container("metabox")
        eq((h.get("x-container-meta-new"), h.get("x-container-meta-color")), ("1", "Red"),
           "re-PUT merged")
        # limits, as Swift: too long a value, too much in all
        r = self.raw("POST", "/v1/AUTH_%s/metabox" % ACCT,
                     headers={"X-Container-Meta-Big": "v" * 257})
        eq(r.status, 400, "value over 256 bytes")
        many = {"X-Container-Meta-K%02d" % i: "v" * 250 for i in range(8)}
        eq(self.raw("POST", "/v1/AUTH_%s/metabox" % ACCT, headers=many).status, 204, "1.6 KiB")
        more = {"X-Container-Meta-L%02d" % i: "v" * 250 for i in range(4)}
        eq(self.raw("POST", "/v1/AUTH_%s/metabox" % ACCT, headers=more).status, 400,
           "over 2 KiB in all")
        h = c.head_container("metabox")
        check("x-container-meta-l00" not in h, "a refused POST changed nothing %r" % h)
        # a container PUT refused for its metadata creates nothing
        r = self.raw("PUT", "/v1/AUTH_%s/metabox2" % ACCT,
                     headers={"X-Container-Meta-Big": "v" * 257})
        eq(r.status, 400, "PUT with too long a value")
        eq(self.raw("HEAD", "/v1/AUTH_%s/metabox2" % ACCT).status, 404, "nothing created")
        # only the owner writes it; S3 does not see it as object metadata
        c2 = sc.Connection(authurl=self.auth_url, user=OTHER, key=OTHER_KEY, retries=0)
        url2, tok2 = c2.get_auth()
        r = self.raw("POST", "/v1/AUTH_zeta/metabox", headers={"X-Container-Meta-X": "1"},
                     token=tok2)
        eq(r.status, 403, "a stranger's container metadata POST")
        check("x-container-meta-x" not in c.head_container("metabox"), "stranger wrote nothing")
        self.s3().head_bucket(Bucket="metabox")
        c.delete_container("metabox")

    def t_expiry(self):
        c, s3 = self.conn, self.s3()
        base = "/v1/AUTH_%s/exp" % ACCT
        c.put_container("exp")
        # the CLI's post -H X-Delete-After (first: the CLI is slow to start)
        c.put_object("exp", "cli", b"cli object")
        now = int(time.time())
        self.swift("post", "-H", "X-Delete-After:600", "exp", "cli")
        r = self.swift("stat", "exp", "cli")
        check("X-Delete-At:" in r.stdout or "Delete At" in r.stdout, "stat %r" % r.stdout)
        at = int(c.head_object("exp", "cli")["x-delete-at"])
        check(now + 600 <= at <= now + 700, "CLI X-Delete-At %d (now %d)" % (at, now))
        now = int(time.time())
        # X-Delete-After becomes X-Delete-At
        c.put_object("exp", "short", b"short-lived", headers={"X-Delete-After": "3"})
        c.put_object("exp", "long", b"long-lived", headers={"X-Delete-At": str(now + 3600)})
        c.put_object("exp", "plain", b"no expiry")
        h = c.head_object("exp", "short")
        short_at = int(h["x-delete-at"])
        check(now + 3 <= short_at <= now + 5, "X-Delete-At %r" % h)
        eq(c.head_object("exp", "long")["x-delete-at"], str(now + 3600), "X-Delete-At kept")
        check("x-delete-at" not in c.head_object("exp", "plain"), "no expiry, no header")
        if time.time() < short_at - 0.5:
            eq(c.get_object("exp", "short")[1], b"short-lived", "readable before expiry")
        # refusals, as Swift: in the past, not an integer; nothing stored
        for hname, v, what in (("X-Delete-At", str(now - 10), "X-Delete-At in past"),
                               ("X-Delete-At", "soon", "Non-integer X-Delete-At"),
                               ("X-Delete-After", "-5", "X-Delete-After in past"),
                               ("X-Delete-After", "1.5", "Non-integer X-Delete-After")):
            r = self.raw("PUT", base + "/bad", headers={hname: v, "Content-Length": "1"},
                         body=b"x")
            eq(r.status, 400, what)
            check(what.encode() in r.body, "%s body %r" % (what, r.body))
        eq(self.raw("HEAD", base + "/bad").status, 404, "nothing stored by a refused PUT")
        # POST sets it, and a POST without it takes it away (metadata replaced)
        c.post_object("exp", "plain", headers={"X-Delete-At": str(now + 7200)})
        eq(c.head_object("exp", "plain").get("x-delete-at"), str(now + 7200), "POST sets")
        c.post_object("exp", "plain", headers={"X-Object-Meta-A": "1"})
        check("x-delete-at" not in c.head_object("exp", "plain"), "POST without it clears")
        # a copy does not carry the source's expiry; the request's applies
        c.copy_object("exp", "long", "/exp/long-copy")
        check("x-delete-at" not in c.head_object("exp", "long-copy"), "copy drops expiry")
        c.copy_object("exp", "plain", "/exp/copy-exp", headers={"X-Delete-After": "1"})
        copy_at = int(c.head_object("exp", "copy-exp")["x-delete-at"])
        time.sleep(max(0, max(short_at, copy_at) - time.time()) + 0.2)
        # expired: absent to Swift and S3, in listings, counts and reads
        for k in ("short", "copy-exp"):
            try:
                c.get_object("exp", k)
                raise AssertionError("expired %s readable" % k)
            except ClientException as e:
                eq(e.http_status, 404, "expired %s" % k)
            try:
                s3.get_object(Bucket="exp", Key=k)
                raise AssertionError("S3 read expired %s" % k)
            except s3.exceptions.NoSuchKey:
                pass
        # the sweeper reclaims them: its log line counts both (one sweep or two)
        deadline, reclaimed = time.time() + 15, 0
        while time.time() < deadline and reclaimed < 2:
            with open(self.srv.log, errors="replace") as f:
                reclaimed = sum(int(m) for m in re.findall(
                    r"expiry sweep: (\d+) expired objects? reclaimed", f.read()))
            time.sleep(0.2)
        eq(reclaimed, 2, "expired objects reclaimed by the sweeper (server log)")
        hdrs, listing = c.get_container("exp")
        live = ["cli", "long", "long-copy", "plain"]
        eq([e["name"] for e in listing], live, "listing after expiry")
        eq(hdrs["x-container-object-count"], "4", "count after expiry")
        eq([o["Key"] for o in s3.list_objects_v2(Bucket="exp")["Contents"]], live,
           "S3 listing after expiry")
        eq(self.raw("POST", base + "/short", headers={"X-Object-Meta-A": "1"}).status, 404,
           "POST to an expired object")
        eq(c.get_object("exp", "long")[1], b"long-lived", "unexpired still readable")
        # a PUT over an expired name makes a fresh object
        c.put_object("exp", "short", b"again")
        eq(c.get_object("exp", "short")[1], b"again", "re-PUT after expiry")
        for k in ("cli", "long", "long-copy", "plain", "short"):
            c.delete_object("exp", k)
        # the container holds only an expired object ("copy-exp"): empty
        c.delete_container("exp")

    def t_info(self):
        r = harness.http_request(self.srv, "GET", "/info")
        eq(r.status, 200, "info")
        info = json.loads(r.body)
        check("swift" in info and info["swift"]["max_file_size"] == 5 << 30, "info %r" % info)
        eq(info["slo"]["max_manifest_segments"], 1000, "slo limits")
        eq(info["slo"]["min_segment_size"], 1, "slo minimum segment")
        eq(info["bulk_delete"]["max_deletes_per_request"], 10000, "bulk delete limits")
        eq(info["bulk_upload"]["max_containers_per_extraction"], 10000, "bulk upload limits")
        eq(info["formpost"]["allowed_digests"], ["sha1", "sha256", "sha512"], "formpost")
        for absent in ("dlo",):
            check(absent not in info, "/info must not claim %s" % absent)
        eq(info["tempurl"]["methods"], ["GET", "HEAD", "PUT"], "tempurl methods")
        eq(info["tempurl"]["allowed_digests"], ["sha1", "sha256", "sha512"], "tempurl digests")
        caps = self.conn.get_capabilities()
        eq(caps["swift"]["container_listing_limit"], 10000, "capabilities")

    def t_slo(self):
        c = self.conn
        c.put_container("slo")
        c.put_container("slo-segs")
        segs = [os.urandom(1000 + 37 * i) for i in range(3)]
        etags = [c.put_object("slo-segs", "s%d" % i, d) for i, d in enumerate(segs)]
        manifest = [{"path": "/slo-segs/s0", "etag": etags[0], "size_bytes": len(segs[0])},
                    {"path": "slo-segs/s1", "etag": None, "size_bytes": None},
                    {"path": "/slo-segs/s2", "range": "10-99"}]
        want = segs[0] + segs[1] + segs[2][10:100]
        slo_etag = hashlib.md5((etags[0] + etags[1] + etags[2] + ":10-99;").encode()).hexdigest()
        base = "/v1/AUTH_%s/slo" % ACCT
        r = self.raw("PUT", base + "/big?multipart-manifest=put",
                     headers={"Content-Type": "text/x-big", "X-Object-Meta-Kind": "slo"},
                     body=json.dumps(manifest).encode())
        eq(r.status, 201, "SLO PUT: %r" % r.body)
        eq(r.header("etag"), '"%s"' % slo_etag, "SLO PUT etag (quoted SLO etag)")
        h, body = c.get_object("slo", "big")
        eq(body, want, "SLO content")
        eq(h["etag"], '"%s"' % slo_etag, "SLO GET etag")
        eq(h["x-static-large-object"], "True", "X-Static-Large-Object")
        eq(int(h["content-length"]), len(want), "SLO length")
        eq(h["content-type"], "text/x-big", "manifest content type")
        eq(h["x-object-meta-kind"], "slo", "manifest metadata")
        # ranges across segment boundaries
        h, body = c.get_object("slo", "big", headers={"Range": "bytes=990-2100"})
        eq(body, want[990:2101], "range across segments")
        eq(h["content-range"], "bytes 990-2100/%d" % len(want), "content-range")
        h, body = c.get_object("slo", "big", headers={"Range": "bytes=-50"})
        eq(body, want[-50:], "suffix range in a ranged segment")
        # conditionals against the SLO etag
        r = self.raw("GET", base + "/big", headers={"If-None-Match": '"%s"' % slo_etag})
        eq(r.status, 304, "If-None-Match on the SLO etag")
        r = self.raw("GET", base + "/big", headers={"If-Match": etags[0]})
        eq(r.status, 412, "If-Match with a segment etag")
        # listing shows the content size
        listing = {o["name"]: o for o in c.get_container("slo")[1]}
        eq(listing["big"]["bytes"], len(want), "listing bytes")
        # the manifest itself
        r = self.raw("GET", base + "/big?multipart-manifest=get")
        eq(r.status, 200, "manifest get")
        got = json.loads(r.body)
        eq([g["name"] for g in got], ["/slo-segs/s0", "/slo-segs/s1", "/slo-segs/s2"], "names")
        eq([g["hash"] for g in got], etags, "hashes")
        eq([g["bytes"] for g in got], [len(d) for d in segs], "bytes")
        eq(got[2]["range"], "10-99", "range kept")
        check("range" not in got[0], "a whole segment has no range")
        eq(r.header("content-type"), "application/json; charset=utf-8", "manifest type")
        eq(r.header("etag"), hashlib.md5(r.body).hexdigest(), "manifest etag")
        r = self.raw("GET", base + "/big?multipart-manifest=get&format=raw")
        raw = json.loads(r.body)
        eq(raw[0], {"path": "/slo-segs/s0", "etag": etags[0], "size_bytes": len(segs[0])}, "raw")
        eq(raw[2]["range"], "10-99", "raw range")
        # the raw form PUTs back as an equal SLO
        r = self.raw("PUT", base + "/again?multipart-manifest=put", body=r.body)
        eq(r.status, 201, "raw manifest re-PUT: %r" % r.body)
        eq(c.get_object("slo", "again")[1], want, "re-PUT SLO content")
        # nested: an SLO of an SLO and a plain segment, with a range into the inner one
        nested = [{"path": "/slo/big", "range": "900-1100"}, {"path": "/slo-segs/s0"}]
        r = self.raw("PUT", base + "/nested?multipart-manifest=put",
                     body=json.dumps(nested).encode())
        eq(r.status, 201, "nested SLO PUT: %r" % r.body)
        eq(c.get_object("slo", "nested")[1], want[900:1101] + segs[0], "nested content")
        r = self.raw("GET", base + "/nested?multipart-manifest=get")
        eq(json.loads(r.body)[0].get("sub_slo"), True, "sub_slo marked")
        # S3 reads the SLO as one object
        s3 = self.s3()
        o = s3.get_object(Bucket="slo", Key="big")
        eq(o["Body"].read(), want, "SLO through S3")
        eq(o["ContentLength"], len(want), "S3 length")
        o = s3.get_object(Bucket="slo", Key="big", Range="bytes=995-1005")
        eq(o["Body"].read(), want[995:1006], "S3 range over an SLO")
        # COPY makes an ordinary object of the content; ?multipart-manifest=get copies the manifest
        c.copy_object("slo", "big", "/slo/flat")
        h, body = c.get_object("slo", "flat")
        eq(body, want, "copied content")
        check("x-static-large-object" not in h, "a content copy is not an SLO")
        eq(h["etag"], hashlib.md5(want).hexdigest(), "copy etag is the md5")
        r = self.raw("COPY", base + "/big?multipart-manifest=get",
                     headers={"Destination": "slo/big2"})
        eq(r.status, 201, "manifest copy")
        h = c.head_object("slo", "big2")
        eq(h.get("x-static-large-object"), "True", "manifest copy is an SLO")
        # validation: every problem of every segment, nothing written
        bad = [{"path": "/slo-segs/nope"}, {"path": "/slo-segs/s0", "etag": "0" * 32},
               {"path": "/slo-segs/s1", "size_bytes": 1}, {"path": "/slo-segs/s2"}]
        r = self.raw("PUT", base + "/bad?multipart-manifest=put", body=json.dumps(bad).encode())
        eq(r.status, 400, "bad segments")
        text = r.body.decode()
        check(text.startswith("Errors:\n"), "errors body %r" % text)
        check("/slo-segs/nope, 404 Not Found" in text, "missing segment %r" % text)
        check("/slo-segs/s0, Etag Mismatch" in text, "etag mismatch %r" % text)
        check("/slo-segs/s1, Size Mismatch" in text, "size mismatch %r" % text)
        check("/slo-segs/s2" not in text, "a good segment is not reported")
        r = self.raw("PUT", base + "/bad?multipart-manifest=put", body=json.dumps(bad).encode(),
                     headers={"Accept": "application/json"})
        errs = json.loads(r.body)["Errors"]
        eq(sorted(e[1] for e in errs), ["404 Not Found", "Etag Mismatch", "Size Mismatch"], "json")
        for body, words in ((b"{", "valid JSON"), (b"{}", "must be a list"),
                            (b'[{"path": "/slo-segs/s0", "foo": 1}]', 'extraneous keys "foo"'),
                            (b'[{"etag": "x"}]', "'data' or 'path'"),
                            (b'[{"path": "nocontainer"}]', "/container/object"),
                            (b'[{"path": "/slo/bad"}]', "must not include itself"),
                            (b'[{"path": "/slo-segs/s0", "range": "1-2,4-5"}]', "multiple ranges"),
                            (b'[{"path": "/slo-segs/s0", "size_bytes": 0}, {"path": "/slo-segs/s1"}]',
                             "too small")):
            r = self.raw("PUT", base + "/bad?multipart-manifest=put", body=body)
            eq(r.status, 400, "manifest %r" % body)
            check(words in r.body.decode(), "manifest %r: %r" % (body, r.body))
        r = self.raw("PUT", base + "/bad?multipart-manifest=put", headers={"Etag": "0" * 32},
                     body=json.dumps(manifest).encode())
        eq(r.status, 422, "client Etag differs from the SLO etag")
        r = self.raw("PUT", base + "/bad", headers={"X-Static-Large-Object": "True"}, body=b"x")
        eq(r.status, 400, "X-Static-Large-Object is reserved")
        r = self.raw("PUT", base + "/bad?multipart-manifest=put",
                     body=json.dumps([{"path": "/slo-segs/s0"}] * 1001).encode())
        eq(r.status, 413, "more than 1000 segments")
        try:
            c.head_object("slo", "bad")
            raise AssertionError("a refused manifest was stored")
        except ClientException as e:
            eq(e.http_status, 404, "nothing stored")
        # a segment changed after the manifest was written: 409, nothing streamed
        c.put_object("slo-segs", "s1", b"changed")
        r = self.raw("GET", base + "/big")
        eq(r.status, 409, "changed segment")
        c.put_object("slo-segs", "s1", segs[1])  # same bytes, same etag and size: valid again
        eq(c.get_object("slo", "big")[1], want, "restored segment")
        # ?multipart-manifest=delete removes the segments too
        r = self.raw("DELETE", base + "/big2?multipart-manifest=delete",
                     headers={"Accept": "application/json"})
        eq(r.status, 200, "manifest delete")
        res = json.loads(r.body)
        eq(res["Number Deleted"], 4, "3 segments and the manifest: %r" % res)
        eq(res["Response Status"], "200 OK", "delete status")
        names = [o["name"] for o in c.get_container("slo-segs")[1]]
        eq(names, [], "segments deleted")
        try:
            c.get_object("slo", "big")
            raise AssertionError("an SLO whose segments are gone was served")
        except ClientException as e:
            eq(e.http_status, 409, "SLO without segments")
        r = self.raw("DELETE", base + "/flat?multipart-manifest=delete")
        check("Not an SLO manifest" in r.body.decode() and "400 Bad Request" in r.body.decode(),
              "not an SLO: %r" % r.body)
        c.head_object("slo", "flat")  # still there
        r = self.raw("DELETE", base + "/big")  # a plain DELETE removes the manifest only
        eq(r.status, 204, "manifest delete")

    def t_dlo(self):
        c = self.conn
        c.put_container("dlo")
        c.put_container("dlo-segs")
        parts = [os.urandom(700 + i) for i in range(4)]
        for i, d in enumerate(parts):
            c.put_object("dlo-segs", "file/%04d" % i, d)
        c.put_object("dlo-segs", "other/0000", b"not mine")
        base = "/v1/AUTH_%s/dlo" % ACCT
        r = self.raw("PUT", base + "/m", headers={"X-Object-Manifest": "dlo-segs/file/"}, body=b"")
        eq(r.status, 201, "DLO manifest PUT")
        want = b"".join(parts)
        h, body = c.get_object("dlo", "m")
        eq(body, want, "DLO content")
        eq(h["x-object-manifest"], "dlo-segs/file/", "X-Object-Manifest shown")
        seg_etags = "".join(hashlib.md5(d).hexdigest() for d in parts)
        eq(h["etag"], '"%s"' % hashlib.md5(seg_etags.encode()).hexdigest(), "DLO etag")
        eq(int(h["content-length"]), len(want), "DLO length")
        h, body = c.get_object("dlo", "m", headers={"Range": "bytes=690-1500"})
        eq(body, want[690:1501], "DLO range")
        r = self.raw("GET", base + "/m", headers={"Range": "bytes=0-1,5-6"})
        eq((r.status, r.body), (200, want), "DLO multi-range: the whole body, as dlo.py")
        # segments are listed when read: a new one shows up
        c.put_object("dlo-segs", "file/0004", b"tail")
        eq(c.get_object("dlo", "m")[1], want + b"tail", "DLO grows")
        r = self.raw("GET", base + "/m?multipart-manifest=get")
        eq((r.status, r.body), (200, b""), "the manifest itself")
        # S3 sees the content
        eq(self.s3().get_object(Bucket="dlo", Key="m")["Body"].read(), want + b"tail", "S3 DLO")
        # copying makes an ordinary object of the content
        c.copy_object("dlo", "m", "/dlo/copy")
        h, body = c.get_object("dlo", "copy")
        eq(body, want + b"tail", "copied DLO content")
        check("x-object-manifest" not in h, "the copy is no DLO")
        # a POST keeps the manifest
        c.post_object("dlo", "m", headers={"X-Object-Meta-A": "1"})
        eq(c.head_object("dlo", "m")["x-object-manifest"], "dlo-segs/file/", "POST keeps DLO")
        for bad in ("nocontainer", "/prefix", "c/", "c/p?x"):
            r = self.raw("PUT", base + "/bad", headers={"X-Object-Manifest": bad}, body=b"")
            eq(r.status, 400, "X-Object-Manifest %r" % bad)
        # a reader who may not read the segments' container reads nothing
        c.put_container("dlo-pub", headers={"X-Container-Read": ".r:*"})
        c.put_object("dlo-pub", "m", b"", headers={"X-Object-Manifest": "dlo-segs/file/"})
        r = self.raw("GET", "/v1/AUTH_%s/dlo-pub/m" % ACCT, token=False)
        eq(r.status, 401, "segments of a private container stay private")

    def t_bulk_delete(self):
        c = self.conn
        for cont in ("bulk-a", "bulk-b", "bulk-full"):
            c.put_container(cont)
        for k in ("x", "y/z", "sp ace"):
            c.put_object("bulk-a", k, b"1")
        c.put_object("bulk-full", "keep", b"1")
        c.put_container("bulk-other-acct-denied")
        acct = "/v1/AUTH_%s" % ACCT
        body = "\n".join(["/bulk-a/x", "/bulk-a/y/z", "/bulk-a/sp%20ace", "/bulk-a/missing",
                          "/bulk-a", "/bulk-b", "/bulk-full", "", "/nosuch-container"]) + "\n"
        r = self.raw("POST", acct + "?bulk-delete", body=body.encode(),
                     headers={"Accept": "application/json", "Content-Type": "text/plain"})
        eq(r.status, 200, "bulk delete answers 200")
        res = json.loads(r.body)
        eq(res["Number Deleted"], 5, "3 objects and 2 emptied containers: %r" % res)
        eq(res["Number Not Found"], 2, "a missing object and container")
        eq(res["Errors"], [["/bulk-full", "409 Conflict"]], "a non-empty container")
        eq(res["Response Status"], "400 Bad Request", "errors make the status 400")
        names = [x["name"] for x in c.get_account()[1]]
        check("bulk-a" not in names and "bulk-b" not in names, "containers gone %r" % names)
        check("bulk-full" in names, "the non-empty container stays")
        # DELETE ?bulk-delete=1 as docker-registry sends it; text/plain answer by default
        c.put_object("bulk-full", "more", b"2")
        r = self.raw("DELETE", acct + "?bulk-delete=1",
                     body=b"/bulk-full/keep\n/bulk-full/more\n/bulk-full\n")
        text = r.body.decode()
        check("Number Deleted: 3\n" in text and "Response Status: 200 OK\n" in text
              and text.endswith("Errors:\n"), "text answer %r" % text)
        # the other user of another account may not delete here
        c.put_container("bulk-priv")
        c.put_object("bulk-priv", "o", b"1")
        other = sc.Connection(authurl=self.auth_url, user=OTHER, key=OTHER_KEY, retries=0)
        ourl, otok = other.get_auth()
        r = self.raw("POST", acct + "?bulk-delete", token=otok, body=b"/bulk-priv/o\n",
                     headers={"Accept": "application/json"})
        eq(json.loads(r.body)["Errors"], [["/bulk-priv/o", "403 Forbidden"]], "no grant, no delete")
        c.head_object("bulk-priv", "o")
        r = self.raw("POST", acct + "?bulk-delete", body=b"/bulk-priv/o\n",
                     headers={"Content-Type": "application/json", "Accept": "application/json"})
        eq(json.loads(r.body)["Response Status"], "406 Not Acceptable", "list must be text/plain")
        r = self.raw("POST", acct + "?bulk-delete", body=b"\n\n",
                     headers={"Accept": "application/json"})
        res = json.loads(r.body)
        eq((res["Response Status"], res["Response Body"]), ("400 Bad Request",
                                                            "Invalid bulk delete."), "empty list")
        r = self.raw("POST", acct + "?bulk-delete", token=False, body=b"/bulk-priv/o\n")
        eq(r.status, 401, "anonymous bulk delete")
        r = self.raw("POST", acct + "?bulk-delete",
                     body=("/bulk-priv/o\n" * 10001).encode(), headers={"Accept": "application/json"})
        eq(json.loads(r.body)["Response Status"], "413 Request Entity Too Large", "10001 deletes")
        c.head_object("bulk-priv", "o")
        c.delete_object("bulk-priv", "o")
        c.delete_container("bulk-priv")
        c.delete_container("bulk-other-acct-denied")

    def t_roles(self):
        """--admin owns the account; a plain ACCOUNT:USER reaches only what
        container ACLs grant; a reseller admin acts on any account."""
        c = self.conn
        c.put_container("roles-priv")
        c.put_object("roles-priv", "o", b"secret")
        c.put_container("roles-shared", headers={"X-Container-Read": "%s:carol" % ACCT,
                                                 "X-Container-Write": "%s:carol" % ACCT})
        c.put_object("roles-shared", "o", b"shared")
        carol = sc.Connection(authurl=self.auth_url, user="%s:carol" % ACCT,
                              key="carol-secret-key-789", retries=0)
        curl, ctok = carol.get_auth()
        eq(curl, self.url, "carol's storage URL is her account's")
        acct = "/v1/AUTH_%s" % ACCT
        eq(self.raw("GET", acct, token=ctok).status, 403, "a non-admin may not list the account")
        eq(self.raw("PUT", acct + "/roles-carol", token=ctok).status, 403,
           "a non-admin may not create containers")
        eq(self.raw("POST", acct, token=ctok, headers={"X-Account-Meta-X": "1"}).status, 403,
           "a non-admin may not set account metadata")
        eq(self.raw("GET", acct + "/roles-priv/o", token=ctok).status, 403, "no grant, no read")
        eq(self.raw("GET", acct + "/roles-priv", token=ctok).status, 403, "no grant, no listing")
        eq(self.raw("DELETE", acct + "/roles-priv/o", token=ctok).status, 403, "no grant, no delete")
        eq(carol.get_object("roles-shared", "o")[1], b"shared", "read through a grant")
        carol.put_object("roles-shared", "mine", b"by carol")
        eq(c.get_object("roles-shared", "mine")[1], b"by carol", "write through a grant")
        eq(self.raw("POST", acct + "/roles-shared", token=ctok,
                    headers={"X-Container-Read": ""}).status, 403,
           "a non-admin may not change the container's ACLs")
        # the same rules through S3 with the same key and secret
        s3c = self.s3("%s:carol" % ACCT, "carol-secret-key-789")
        try:
            s3c.list_buckets()
            raise AssertionError("a non-admin listed the account's buckets over S3")
        except Exception as e:  # botocore ClientError
            check("AccessDenied" in str(e), "S3 ListBuckets: %s" % e)
        eq(s3c.get_object(Bucket="roles-shared", Key="o")["Body"].read(), b"shared", "S3 grant")
        try:
            s3c.get_object(Bucket="roles-priv", Key="o")
            raise AssertionError("a non-admin read a private object over S3")
        except Exception as e:
            check("AccessDenied" in str(e), "S3 GetObject: %s" % e)
        # a reseller admin: any account, as its admin
        res = sc.Connection(authurl=self.auth_url, user="ops:reseller",
                            key="reseller-secret-key-0", retries=0)
        rurl, rtok = res.get_auth()
        r = self.raw("GET", acct + "?format=json", token=rtok)
        eq(r.status, 200, "a reseller lists another account")
        check("roles-priv" in [x["name"] for x in json.loads(r.body)], "reseller sees containers")
        eq(self.raw("GET", acct + "/roles-priv/o", token=rtok).body, b"secret", "reseller reads")
        eq(self.raw("PUT", acct + "/roles-by-reseller", token=rtok).status, 201,
           "a reseller creates a container in another account")
        check("roles-by-reseller" in [x["name"] for x in c.get_account()[1]],
              "owned by the account, listed to its admin")
        c.delete_container("roles-by-reseller")
        # the admin of another account stays out
        other = sc.Connection(authurl=self.auth_url, user=OTHER, key=OTHER_KEY, retries=0)
        _, otok = other.get_auth()
        eq(self.raw("GET", acct, token=otok).status, 403, "another account's admin")
        r = subprocess.run([self.kura, "admin", "user", "list", *self.srv.store_args()],
                           capture_output=True, text=True)
        lines = dict((l.split("\t")[0], l.split("\t")[1:]) for l in r.stdout.splitlines())
        eq(lines.get("%s:carol" % ACCT), ["%s:carol" % ACCT], "carol has no role")
        eq(lines.get("%s:%s" % (ACCT, USER)), ["%s:%s" % (ACCT, USER), "admin"], "alice is admin")
        eq(lines.get("ops:reseller"), ["ops:reseller", "reseller-admin"], "reseller listed")
        for k in ("o", "mine"):
            c.delete_object("roles-shared", k)
        c.delete_object("roles-priv", "o")
        c.delete_container("roles-shared")
        c.delete_container("roles-priv")

    def t_reverse(self):
        c = self.conn
        c.put_container("rev")
        # more names than a page of the object service (1000), put in parallel
        names = ["a", "b/1", "b/2", "c", "d/x/y", "e"] + ["p%04d" % i for i in range(1100)]
        from concurrent.futures import ThreadPoolExecutor
        conns = [sc.Connection(preauthurl=self.url, preauthtoken=self.token, retries=0)
                 for _ in range(8)]
        with ThreadPoolExecutor(8) as ex:
            list(ex.map(lambda i: conns[i % 8].put_object("rev", names[i], b""), range(len(names))))
        srt = sorted(names)

        def lst(**q):
            q = dict(q, format="json")
            qs = "&".join("%s=%s" % (k, str(v).lower() if isinstance(v, bool) else v)
                          for k, v in q.items())
            r = self.raw("GET", "/v1/AUTH_%s/rev?%s" % (ACCT, qs))
            eq(r.status, 200, "listing %s" % qs)
            return [o.get("name", o.get("subdir")) for o in json.loads(r.body)]

        eq(lst(reverse=True, limit=10000), srt[::-1], "whole container reversed")
        eq(lst(reverse=True, limit=3), srt[::-1][:3], "limit takes the last names")
        eq(lst(reverse=True, marker="c", limit=10), ["b/2", "b/1", "a"], "marker bounds above")
        eq(lst(reverse=True, end_marker="p1096"), ["p1099", "p1098", "p1097"], "end_marker below")
        eq(lst(reverse=True, marker="p0003", end_marker="c"),
           ["p0002", "p0001", "p0000", "e", "d/x/y"], "both bounds")
        eq(lst(reverse=True, delimiter="/", limit=4), ["p1099", "p1098", "p1097", "p1096"],
           "delimiter, reversed")
        eq(lst(reverse=True, delimiter="/", marker="p0000"), ["e", "d/", "c", "b/", "a"],
           "subdirs reversed")
        eq(lst(reverse=True, prefix="b/"), ["b/2", "b/1"], "prefix reversed")
        # paging backwards with marker, as a client walks a reversed listing
        got, marker = [], None
        while True:
            page = lst(reverse=True, limit=400, **({"marker": marker} if marker else {}))
            if not page:
                break
            got += page
            marker = page[-1]
        eq(got, srt[::-1], "paged reversed listing")
        r = self.raw("GET", "/v1/AUTH_%s?reverse=true&prefix=re" % ACCT)
        check(r.body.decode().split("\n")[0] == "rev", "account listing reversed %r" % r.body)
        c.put_container("rew")
        r = self.raw("GET", "/v1/AUTH_%s?reverse=true&prefix=re" % ACCT)
        eq(r.body.decode().split("\n")[:2], ["rew", "rev"], "account reversed")
        r = self.raw("GET", "/v1/AUTH_%s?reverse=true&prefix=re&marker=rew" % ACCT)
        eq(r.body.decode().split("\n")[:1], ["rev"], "account reversed with marker")
        c.delete_container("rew")
        r = self.raw("POST", "/v1/AUTH_%s?bulk-delete" % ACCT,
                     body="".join("/rev/%s\n" % k for k in names).encode() + b"/rev\n",
                     headers={"Accept": "application/json"})
        eq(json.loads(r.body)["Number Deleted"], len(names) + 1, "cleanup by bulk delete")

    def t_formpost(self):
        import base64
        c = self.conn
        c.put_container("fp", headers={"X-Container-Meta-Temp-URL-Key": "fp-key"})
        path = "/v1/AUTH_%s/fp/up/" % ACCT

        def form(fields, files, boundary="kuraFormBoundary7MA4YWxkTrZu0gW"):
            out = b""
            for k, v in fields:
                out += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
                        % (boundary, k, v)).encode()
            for name, fname, ctype, data in files:
                out += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
                        % (boundary, name, fname)).encode()
                if ctype:
                    out += ("Content-Type: %s\r\n" % ctype).encode()
                out += b"\r\n" + data + b"\r\n"
            out += ("--%s--\r\n" % boundary).encode()
            return out, "multipart/form-data; boundary=%s" % boundary

        def signed(redirect="", max_size=4 << 20, max_count=5, expires=None, key="fp-key",
                   digest="sha1", p=path):
            expires = expires or int(time.time()) + 600
            msg = "%s\n%s\n%s\n%s\n%s" % (p, redirect, max_size, max_count, expires)
            mac = hmac.new(key.encode(), msg.encode(), getattr(hashlib, digest))
            sig = mac.hexdigest() if digest == "sha1" else "%s:%s" % (
                digest, base64.urlsafe_b64encode(mac.digest()).decode().rstrip("="))
            return [("redirect", redirect), ("max_file_size", max_size),
                    ("max_file_count", max_count), ("expires", expires), ("signature", sig)]

        big = os.urandom(2 * 1024 * 1024 + 5)
        body, ct = form(signed(), [("file1", "a.txt", None, b"alpha"),
                                   ("file2", "b.bin", "image/png", big),
                                   ("file3", "", None, b"")])
        r = self.raw("POST", path, token=False, body=body, headers={"Content-Type": ct})
        eq((r.status, r.body), (201, b"201 Created"), "FormPost upload")
        h, got = c.get_object("fp", "up/a.txt")
        eq((got, h["content-type"]), (b"alpha", "application/octet-stream"), "first file")
        h, got = c.get_object("fp", "up/b.bin")
        eq((got, h["content-type"]), (big, "image/png"), "second file, streamed, its type")
        # a redirect carries the outcome; SHA-256 in Swift's prefixed base64 form
        body, ct = form(signed(redirect="https://example.com/done?x=1", digest="sha256"),
                        [("f", "c.txt", "text/plain", b"charlie")])
        r = self.raw("POST", path, token=False, body=body, headers={"Content-Type": ct})
        eq(r.status, 303, "redirect")
        eq(r.header("location"), "https://example.com/done?x=1&status=201&message=", "location")
        eq(c.get_object("fp", "up/c.txt")[1], b"charlie", "third file")
        # refusals: signature, expiry, counts, sizes; nothing written by them
        for fields, files, status, words, what in (
                (signed(key="wrong"), [("f", "x1", None, b"x")], 401, b"Invalid Signature",
                 "wrong key"),
                (signed(expires=int(time.time()) - 5), [("f", "x2", None, b"x")], 401,
                 b"Form Expired", "expired"),
                (signed(p="/v1/AUTH_%s/fp/" % ACCT), [("f", "x3", None, b"x")], 401,
                 b"Invalid Signature", "signed for another path"),
                (signed(max_size=3), [("f", "x4", None, b"four")], 400,
                 b"max_file_size exceeded", "too big"),
                (signed(), [], 400, b"No Files To Process", "no file")):
            body, ct = form(fields, files)
            r = self.raw("POST", path, token=False, body=body, headers={"Content-Type": ct})
            eq(r.status, status, what)
            check(words in r.body, "%s: %r" % (what, r.body))
        # a content-type field that would split the object's response header
        body, ct = form(signed() + [("content-type", "text/html\x0bX-Evil: 1")],
                        [("f", "z1", None, b"z")])
        r = self.raw("POST", path, token=False, body=body, headers={"Content-Type": ct})
        eq(r.status, 400, "control byte in content-type (%r)" % r)
        body, ct = form(signed(max_count=1), [("f", "y1", None, b"1"), ("g", "y2", None, b"2")])
        r = self.raw("POST", path, token=False, body=body, headers={"Content-Type": ct})
        eq(r.status, 400, "too many files")
        check(b"Max File Count Exceeded" in r.body, "count message %r" % r.body)
        names = sorted(o["name"] for o in c.get_container("fp")[1])
        eq(names, ["up/a.txt", "up/b.bin", "up/c.txt", "up/y1"], "only the allowed files")
        r = self.raw("POST", path, token=False, body=b"junk",
                     headers={"Content-Type": "multipart/form-data"})
        eq(r.status, 400, "no boundary")
        for o in names:
            c.delete_object("fp", o)
        c.delete_container("fp")

    def aws(self, *args):
        env = dict(os.environ, AWS_ACCESS_KEY_ID="%s:%s" % (ACCT, USER), AWS_SECRET_ACCESS_KEY=KEY,
                   AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
                   AWS_CONFIG_FILE=os.path.join(self.tmp, "no-aws-config"),
                   AWS_SHARED_CREDENTIALS_FILE=os.path.join(self.tmp, "no-aws-credentials"))
        for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CA_BUNDLE", "HTTP_PROXY", "HTTPS_PROXY"):
            env.pop(k, None)
        r = subprocess.run(["/usr/bin/aws", "--endpoint-url", self.srv.endpoint, *args],
                           capture_output=True, env=env, cwd=self.tmp, timeout=120)
        eq(r.returncode, 0, "aws %s (stderr %r)" % (" ".join(args), r.stderr[-400:]))
        return r.stdout

    def t_awscli_cross(self):
        """aws-cli v2 on what Swift wrote (an object, an SLO, a DLO) and the reverse."""
        if not os.path.exists("/usr/bin/aws"):
            harness.fail("aws-cli v2 is required (Debian package: awscli)")
        c = self.conn
        c.put_container("awsx")
        c.put_container("awsx-segs")
        plain = os.urandom(3000)
        c.put_object("awsx", "plain.bin", plain, headers={"X-Object-Meta-Color": "green"})
        segs = [os.urandom(1500), os.urandom(700)]
        for i, d in enumerate(segs):
            c.put_object("awsx-segs", "dlo/%02d" % i, d)
        c.put_object("awsx", "dlo.bin", b"", headers={"X-Object-Manifest": "awsx-segs/dlo/"})
        manifest = [{"path": "/awsx-segs/dlo/00"}, {"path": "/awsx-segs/dlo/01"}]
        r = self.raw("PUT", "/v1/AUTH_%s/awsx/slo.bin?multipart-manifest=put" % ACCT,
                     body=json.dumps(manifest).encode())
        eq(r.status, 201, "SLO for aws-cli")
        listing = self.aws("s3", "ls", "s3://awsx/").decode()
        for name, size in (("plain.bin", 3000), ("slo.bin", 2200)):
            check(any(l.split()[-1] == name and l.split()[-2] == str(size)
                      for l in listing.splitlines()), "aws s3 ls %s %d: %r" % (name, size, listing))
        for name, want in (("plain.bin", plain), ("slo.bin", segs[0] + segs[1]),
                           ("dlo.bin", segs[0] + segs[1])):
            self.aws("s3", "cp", "s3://awsx/" + name, os.path.join(self.tmp, "aws-" + name))
            with open(os.path.join(self.tmp, "aws-" + name), "rb") as f:
                eq(f.read(), want, "aws s3 cp %s" % name)
        head = json.loads(self.aws("s3api", "head-object", "--bucket", "awsx", "--key", "plain.bin"))
        eq(head["Metadata"], {"color": "green"}, "Swift metadata through aws-cli")
        eq(head["ETag"].strip('"'), hashlib.md5(plain).hexdigest(), "same ETag")
        # aws-cli writes (a multipart upload above its 8 MiB threshold too), Swift reads
        big = os.urandom(9 * 1024 * 1024 + 11)
        with open(os.path.join(self.tmp, "up.bin"), "wb") as f:
            f.write(big)
        self.aws("s3", "cp", os.path.join(self.tmp, "up.bin"), "s3://awsx/from-aws.bin",
                 "--metadata", "origin=aws-cli", "--content-type", "text/x-aws")
        h, got = c.get_object("awsx", "from-aws.bin")
        eq(got, big, "aws-cli multipart upload read through Swift")
        eq((h["x-object-meta-origin"], h["content-type"]), ("aws-cli", "text/x-aws"), "metadata")
        r = self.raw("POST", "/v1/AUTH_%s?bulk-delete" % ACCT,
                     body=b"/awsx/plain.bin\n/awsx/slo.bin\n/awsx/dlo.bin\n/awsx/from-aws.bin\n"
                          b"/awsx-segs/dlo/00\n/awsx-segs/dlo/01\n/awsx\n/awsx-segs\n",
                     headers={"Accept": "application/json"})
        eq(json.loads(r.body)["Number Deleted"], 8, "cleanup")

    def t_content_type(self):
        c = self.conn
        c.put_container("ctype")
        base = "/v1/AUTH_%s/ctype" % ACCT
        for name, want in (("a.jpg", "image/jpeg"), ("b.TXT", "text/plain"),
                           ("c.tar.gz", "application/gzip"), ("noext", "application/octet-stream"),
                           ("d.unknownext", "application/octet-stream")):
            eq(self.raw("PUT", base + "/" + name, body=b"x").status, 201, "PUT " + name)
            eq(c.head_object("ctype", name)["content-type"], want, "guessed type of " + name)
        self.raw("PUT", base + "/e.png", body=b"x", headers={"Content-Type": "text/x-given"})
        eq(c.head_object("ctype", "e.png")["content-type"], "text/x-given", "given type kept")
        self.raw("PUT", base + "/f.png", body=b"x",
                 headers={"Content-Type": "text/x-given", "X-Detect-Content-Type": "true"})
        eq(c.head_object("ctype", "f.png")["content-type"], "image/png", "detection overrides")
        for k in ("a.jpg", "b.TXT", "c.tar.gz", "noext", "d.unknownext", "e.png", "f.png"):
            c.delete_object("ctype", k)
        c.delete_container("ctype")

    def t_extract(self):
        import io
        import tarfile

        def tarball(files, mode="w", fmt=tarfile.PAX_FORMAT, extra=None):
            bio = io.BytesIO()
            with tarfile.open(fileobj=bio, mode=mode, format=fmt) as tf:
                for name, data, pax in files:
                    ti = tarfile.TarInfo(name)
                    ti.size = len(data)
                    if pax:
                        ti.pax_headers = pax
                    tf.addfile(ti, io.BytesIO(data))
                for ti in extra or ():
                    tf.addfile(ti)
            return bio.getvalue()

        c = self.conn
        big = os.urandom(3 * 1024 * 1024 + 77)
        d = tarfile.TarInfo("ex-a/dir")
        d.type = tarfile.DIRTYPE
        ln = tarfile.TarInfo("ex-a/link")
        ln.type = tarfile.SYMTYPE
        ln.linkname = "x.txt"
        files = [("ex-a/x.txt", b"hello", None),
                 ("./ex-a/sub/big.bin", big, None),
                 ("ex-b/" + "n" * 150 + "/deep.dat", b"long name", None),
                 ("ex-b/meta.bin", b"m", {"SCHILY.xattr.user.mime_type": "text/x-kura",
                                          "SCHILY.xattr.user.meta.color": "red"}),
                 ("top-level-file", b"ignored", None)]
        acct = "/v1/AUTH_%s" % ACCT
        for mode, fmt in (("w", "tar"), ("w:gz", "tar.gz"), ("w:bz2", "tar.bz2")):
            body = tarball(files, mode, extra=[d, ln])
            r = self.raw("PUT", acct + "?extract-archive=" + fmt, body=body,
                         headers={"Accept": "application/json", "X-Object-Meta-Batch": "7"})
            eq(r.status, 200, "extract %s" % fmt)
            res = json.loads(r.body)
            eq((res["Number Files Created"], res["Response Status"], res["Errors"]),
               (4, "201 Created", []), "extract %s: %r" % (fmt, res))
            eq(c.get_object("ex-a", "sub/big.bin")[1], big, "big file byte-exact (%s)" % fmt)
            h, body = c.get_object("ex-a", "x.txt")
            eq((body, h["content-type"], h["x-object-meta-batch"]),
               (b"hello", "text/plain", "7"), "small file, guessed type, request metadata")
            eq(c.get_object("ex-b", "n" * 150 + "/deep.dat")[1], b"long name", "pax long name")
            h = c.head_object("ex-b", "meta.bin")
            eq((h["content-type"], h["x-object-meta-color"]), ("text/x-kura", "red"), "pax xattrs")
            names = sorted(o["name"] for o in c.get_container("ex-a")[1])
            eq(names, ["sub/big.bin", "x.txt"], "directories and links are not objects")
        # into a container, under a prefix
        r = self.raw("PUT", acct + "/ex-a/pre?extract-archive=tar",
                     body=tarball([("one", b"1", None), ("two/three", b"3", None)]))
        text = r.body.decode()
        check("Number Files Created: 2\n" in text and "Response Status: 201 Created" in text,
              "text answer %r" % text)
        eq(c.get_object("ex-a", "pre/two/three")[1], b"3", "prefixed object")
        # XML answer, a corrupt archive, nothing valid, a format kura does not read
        body = bytearray(tarball([("ex-a/z", b"z" * 600, None)]))
        body[148:156] = b"0000000\0"  # bad checksum
        r = self.raw("PUT", acct + "?extract-archive=tar", body=bytes(body),
                     headers={"Accept": "application/xml"})
        root = ET.fromstring(r.body)
        eq(root.tag, "extract", "xml root")
        eq(root.findtext("response_status"), "400 Bad Request", "corrupt archive status")
        check(root.findtext("response_body").startswith("Invalid Tar File: "), "corrupt archive")
        r = self.raw("PUT", acct + "?extract-archive=tar", body=tarball([("only-top", b"x", None)]),
                     headers={"Accept": "application/json"})
        eq(json.loads(r.body)["Response Body"], "Invalid Tar File: No Valid Files", "no files")
        r = self.raw("PUT", acct + "?extract-archive=zip", body=b"PK")
        eq(r.status, 400, "unsupported archive format")
        r = self.raw("PUT", acct + "?extract-archive=tar.gz", body=b"not gzip at all",
                     headers={"Accept": "application/json"})
        check(json.loads(r.body)["Response Body"].startswith("Invalid Tar File"), "bad gzip")
        # another account's admin: every file refused, nothing written
        other = sc.Connection(authurl=self.auth_url, user=OTHER, key=OTHER_KEY, retries=0)
        _, otok = other.get_auth()
        r = self.raw("PUT", acct + "/ex-a?extract-archive=tar", token=otok,
                     body=tarball([("intruder", b"x", None)]), headers={"Accept": "application/json"})
        res = json.loads(r.body)
        eq((res["Number Files Created"], res["Errors"]), (0, [["/ex-a/intruder", "403 Forbidden"]]),
           "a stranger extracts nothing: %r" % res)
        r = self.raw("PUT", acct + "?extract-archive=tar", token=False, body=b"x")
        eq(r.status, 401, "anonymous extract")
        for cont in ("ex-a", "ex-b"):
            for o in c.get_container(cont)[1]:
                c.delete_object(cont, o["name"])
            c.delete_container(cont)

    def t_cli_large(self):
        path = os.path.join(self.tmp, "large.bin")
        data = os.urandom(3 * 1024 * 1024 + 12345)
        with open(path, "wb") as f:
            f.write(data)
        for flag, cont in (([], "cli-dlo"), (["--use-slo"], "cli-slo")):
            self.swift("upload", cont, "large.bin", "--segment-size", "1048576",
                       "--object-threads", "4", *flag)
            h = self.conn.head_object(cont, "large.bin")
            eq(int(h["content-length"]), len(data), "%s length" % cont)
            check(("x-static-large-object" in h) == bool(flag), "%s kind %r" % (cont, h))
            check(("x-object-manifest" in h) != bool(flag), "%s kind %r" % (cont, h))
            out = os.path.join(self.tmp, "out-" + cont)
            self.swift("download", cont, "large.bin", "-o", out)
            with open(out, "rb") as f:
                eq(f.read(), data, "%s downloaded bytes" % cont)
            segs = self.conn.get_container(cont + "_segments")[1]
            eq(len(segs), 4, "%s segments" % cont)
            self.swift("delete", cont, "large.bin")
            eq(self.conn.get_container(cont + "_segments")[1], [], "%s segments deleted" % cont)

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
        # an S3 multipart object reads through Swift as one object
        p1, p2 = os.urandom(5 * 1024 * 1024), os.urandom(12345)
        up = s3.create_multipart_upload(Bucket="xproto", Key="mpu", ContentType="text/x-mpu",
                                        Metadata={"origin": "s3-mpu"})
        parts = []
        for i, d in enumerate((p1, p2), 1):
            r = s3.upload_part(Bucket="xproto", Key="mpu", UploadId=up["UploadId"], PartNumber=i,
                               Body=d)
            parts.append({"PartNumber": i, "ETag": r["ETag"]})
        done = s3.complete_multipart_upload(Bucket="xproto", Key="mpu", UploadId=up["UploadId"],
                                            MultipartUpload={"Parts": parts})
        h, body = c.get_object("xproto", "mpu")
        eq(body, p1 + p2, "S3 multipart object through Swift")
        eq(h["etag"], done["ETag"].strip('"'), "same ETag (md5 of md5s -2)")
        eq((h["content-type"], h["x-object-meta-origin"]), ("text/x-mpu", "s3-mpu"), "metadata")
        h, body = c.get_object("xproto", "mpu", headers={"Range": "bytes=5242870-5242889"})
        eq(body, (p1 + p2)[5242870:5242890], "range across the parts through Swift")
        for k in ("from-s3", "from-swift", "mpu"):
            s3.delete_object(Bucket="xproto", Key=k)
        c.delete_container("xproto")

    def t_multirange(self):
        """Several ranges in one GET: multipart/byteranges framed as swob
        frames it, and swob's rules for dropped, unsatisfiable and egregious
        ranges."""
        c = self.conn
        c.put_container("ranges")
        size = 300000  # parts beyond the first read window of the range reader
        data = os.urandom(size)
        ctype = "lovecraft/rugose; squamous=true"
        etag = c.put_object("ranges", "o", data, headers={"Content-Type": ctype})
        path = "/v1/AUTH_%s/ranges/o" % ACCT

        def get(rng, method="GET", **kw):
            h = {"Range": rng}
            h.update(kw)
            return self.raw(method, path, headers=h)

        def multipart(r, spans, what):
            """Checks a multipart/byteranges answer part by part and byte
            for byte against spans [(first, last)]; returns the boundary."""
            eq(r.status, 206, what + ": status")
            m = re.fullmatch(r"multipart/byteranges;boundary=([0-9a-f]{32})",
                             r.header("Content-Type", ""))
            check(m, what + ": Content-Type %r" % r.header("Content-Type"))
            b = m.group(1).encode()
            eq(r.header("Content-Length"), str(len(r.body)), what + ": Content-Length")
            eq(r.header("Content-Range"), None, what + ": no Content-Range on the whole")
            eq(r.header("ETag"), etag, what + ": ETag")
            check(r.body.endswith(b"\r\n--" + b + b"--"), what + ": closing boundary, no CRLF")
            parts = r.body[:-len(b"\r\n--" + b + b"--")].split(b"\r\n--" + b + b"\r\n")
            check(parts[0].startswith(b"--" + b + b"\r\n"), what + ": first boundary")
            parts[0] = parts[0][len(b"--" + b + b"\r\n"):]
            eq(len(parts), len(spans), what + ": part count")
            for i, ((f, last), p) in enumerate(zip(spans, parts)):
                head, sep, body = p.partition(b"\r\n\r\n")
                eq(sep, b"\r\n\r\n", "%s: part %d headers end" % (what, i))
                eq(head.split(b"\r\n"), [b"Content-Type: " + ctype.encode(),
                                         b"Content-Range: bytes %d-%d/%d" % (f, last, size)],
                   "%s: part %d headers" % (what, i))
                eq(body, data[f:last + 1], "%s: part %d bytes" % (what, i))
            # and the whole, byte for byte
            want = b"".join(b"--%s\r\nContent-Type: %s\r\nContent-Range: bytes %d-%d/%d\r\n\r\n"
                            % (b, ctype.encode(), f, last, size) + data[f:last + 1] + b"\r\n"
                            for f, last in spans) + b"--" + b + b"--"
            eq(r.body, want, what + ": exact body")
            return b

        r = get("bytes=0-1,5-9,-3,10-")
        b1 = multipart(r, [(0, 1), (5, 9), (size - 3, size - 1), (10, size - 1)], "four ranges")
        # out of order, overlapping, across read windows, spaces as Swift allows
        b2 = multipart(get("bytes = 250000-299999, 0-99999,100-200 "),
                       [(250000, 299999), (0, 99999), (100, 200)], "unordered")
        check(b1 != b2, "a boundary per answer")
        multipart(get("bytes=0-0,0-0"), [(0, 0), (0, 0)], "repeated range")
        # some unsatisfiable: dropped; two left stay multipart
        multipart(get("bytes=0-9,%d-,20-29,-0" % size), [(0, 9), (20, 29)], "some unsatisfiable")
        # one left: a plain 206, as swob answers a single range
        r = get("bytes=0-9,%d-%d" % (size, size + 10))
        eq((r.status, r.body), (206, data[:10]), "one satisfiable range left")
        eq(r.header("Content-Range"), "bytes 0-9/%d" % size, "its Content-Range")
        eq(r.header("Content-Type"), ctype, "its Content-Type")
        # none satisfiable: 416 with the size
        r = get("bytes=%d-,%d-%d,-0" % (size, size + 100, size + 102))
        eq(r.status, 416, "all unsatisfiable")
        eq(r.header("Content-Range"), "bytes */%d" % size, "416 Content-Range")
        # swob's limits: egregious requests are 416 as well
        fifty = ",".join("%d-%d" % (2 * i, 2 * i) for i in range(50))
        multipart(get("bytes=" + fifty), [(2 * i, 2 * i) for i in range(50)], "50 ranges")
        multipart(get("bytes=%s,%d-" % (fifty, size)), [(2 * i, 2 * i) for i in range(50)],
                  "50 ranges and an unsatisfiable one")
        for rng, what in (("bytes=%s,100-100" % fifty, "51 ranges"),
                          ("bytes=0-9,5-14,8-20", "3 overlapping pairs"),
                          ("bytes=" + ",".join("%d-%d" % (2 * i, 2 * i)
                                               for i in range(7, -1, -1)), "8 not ascending")):
            r = get(rng)
            eq((r.status, r.header("Content-Range")), (416, "bytes */%d" % size), what)
        multipart(get("bytes=0-9,5-14,12-20"), [(0, 9), (5, 14), (12, 20)], "2 overlapping")
        multipart(get("bytes=" + ",".join("%d-%d" % (2 * i, 2 * i) for i in range(6, -1, -1))),
                  [(2 * i, 2 * i) for i in range(6, -1, -1)], "7 not ascending")
        # syntactically invalid: the header is ignored (200, whole body)
        for rng in ("bytes=0-1,x", "bytes=0-1,", "bytes=0-1,5-3", "bytes=0-1,-", "items=0-1,2-3"):
            r = get(rng)
            eq((r.status, r.body == data, r.header("Content-Type")), (200, True, ctype),
               "ignored %r" % rng)
        # HEAD answers before swob reads Range: 200, the whole length
        r = get("bytes=0-1,4-5", method="HEAD")
        eq((r.status, r.header("Content-Length"), r.body), (200, str(size), b""), "HEAD")
        # conditionals come first
        r = get("bytes=0-1,4-5", **{"If-None-Match": etag})
        eq(r.status, 304, "If-None-Match before the ranges")
        r = get("bytes=0-1,4-5", **{"If-Match": "nope"})
        eq(r.status, 412, "If-Match before the ranges")
        # an empty object: a suffix asks for up to n bytes, so the whole
        # (empty) body (200), as swob answers; other ranges are 416
        c.put_object("ranges", "empty", b"")
        r = self.raw("GET", "/v1/AUTH_%s/ranges/empty" % ACCT, headers={"Range": "bytes=-5,-3"})
        eq((r.status, r.body), (200, b""), "suffixes of an empty object")
        r = self.raw("GET", "/v1/AUTH_%s/ranges/empty" % ACCT, headers={"Range": "bytes=0-,1-2"})
        eq((r.status, r.header("Content-Range")), (416, "bytes */0"), "ranges of an empty object")
        # python-swiftclient, the body read as MIME by the email module
        h, body = c.get_object("ranges", "o", headers={"Range": "bytes=0-1,4-5"})
        check(h["content-type"].startswith("multipart/byteranges"), "swiftclient content type")
        eq(int(h["content-length"]), len(body), "swiftclient length")
        p = email.parser.BytesFeedParser()
        p.feed(b"Content-Type: %s\r\n\r\n" % h["content-type"].encode())
        p.feed(body)
        msg = p.close()
        check(msg.is_multipart(), "email: multipart")
        got = [(m["Content-Type"], m["Content-Range"], m.get_payload(decode=True))
               for m in msg.get_payload()]
        eq(got, [(ctype, "bytes 0-1/%d" % size, data[0:2]),
                 (ctype, "bytes 4-5/%d" % size, data[4:6])], "email: parts")

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
                     "t_container_meta", "t_expiry", "t_acls", "t_tempurl", "t_account_meta",
                     "t_info", "t_multirange", "t_slo", "t_dlo", "t_cli_large", "t_bulk_delete", "t_roles", "t_reverse", "t_formpost", "t_awscli_cross", "t_content_type", "t_extract",
                     "t_cross_protocol", "t_s3_unchanged_paths"):
            if len(sys.argv) > 2 and name not in sys.argv[2:]:
                continue
            run.run(name, getattr(t, name))
    finally:
        t.close()
    sys.exit(run.finish())


if __name__ == "__main__":
    main()
