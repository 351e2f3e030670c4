#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The structured access log (issue 15): kura serve --access-log FILE writes
one JSON line per request.

usage: python3 test_access_log.py PATH/TO/kura

  s3        signed PUT, GET, a 404 and an anonymous refusal: one line each, in
            order, whose request_id is the x-amz-request-id the client got,
            with op, method, bucket, key, principal, status, S3 error code,
            exact body bytes in and out, and the user agent; no query
            string anywhere (presigned URLs carry credentials there)
  swift     TempAuth, then object PUT and GET with the token: request_id is
            the X-Trans-Id without "tx", the principal is ACCOUNT:USER
  odd keys  a key with quotes, a backslash, a newline-free control byte
            and UTF-8 comes out intact (json.loads), invalid UTF-8 in a
            refused request as U+FFFD: every line parses
  reopen    logrotate's way: the file renamed, SIGHUP, the next request
            goes to a new file of the same name; nothing lost
"""

import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Kura, Runner, check, eq  # noqa: E402
from test_auth_rules import send  # noqa: E402

B = "alog"
ACCT, USER, KEY = "logacct", "logger", "logger-secret-key-123"


class State:
    def __init__(self, srv, path):
        self.srv = srv
        self.path = path
        self.seen = 0  # lines already checked

    def new_lines(self, want, timeout=5):
        """The lines written since the last call; waits for want of them (a
        line is written when its request completes, just after the answer)."""
        deadline = time.time() + timeout
        while True:
            with open(self.path, "rb") as f:
                lines = f.read().decode("utf-8").splitlines()
            if len(lines) - self.seen >= want or time.time() > deadline:
                break
            time.sleep(0.05)
        out = [json.loads(line) for line in lines[self.seen:]]
        self.seen = len(lines)
        return out


FIELDS = ["time", "request_id", "remote", "principal", "protocol", "op", "method", "bucket",
          "key", "status", "error", "bytes_in", "bytes_out", "duration_ms", "user_agent"]


def check_line(line, what, **want):
    eq(list(line.keys()), FIELDS, what + ": keys and their order")
    for k, v in want.items():
        eq(line[k], v, "%s: %s" % (what, k))
    check(line["time"].endswith("Z") and "T" in line["time"], what + ": time %r" % line["time"])
    check(line["duration_ms"] >= 0, what + ": duration")
    eq(line["remote"], "127.0.0.1", what + ": remote")


def t_s3(st):
    srv = st.srv
    ua = {"User-Agent": "access-log-test/1.0"}
    r = send(srv, "PUT", "/" + B, extra=ua)
    eq(r.status, 200, "create bucket (%r)" % r)
    body = os.urandom(12345)
    r1 = send(srv, "PUT", "/%s/dir/obj" % B, body=body, extra=ua)
    eq(r1.status, 200, "PUT (%r)" % r1)
    r2 = send(srv, "GET", "/%s/dir/obj" % B, extra=ua)
    eq((r2.status, r2.body), (200, body), "GET")
    r3 = send(srv, "GET", "/%s/missing" % B, extra=ua)
    eq(r3.status, 404, "GET missing")
    r4 = harness.http_request(srv, "GET", "/%s/dir/obj" % B, [("X-Amz-Signature", "secret")],
                              {"User-Agent": "anon"})
    check(r4.status in (400, 403), "anonymous GET with a bogus signature parameter (%r)" % r4)
    lines = st.new_lines(5)
    eq(len(lines), 5, "one line per request: %r" % lines)
    if len(lines) != 5:
        return
    user = "root"
    check_line(lines[0], "CreateBucket", request_id=r.header("x-amz-request-id"), protocol="s3",
               op="CreateBucket", method="PUT", bucket=B, key=None, status=200, error=None,
               principal=user, bytes_in=0, user_agent="access-log-test/1.0")
    check_line(lines[1], "PutObject", request_id=r1.header("x-amz-request-id"), op="PutObject",
               method="PUT", bucket=B, key="dir/obj", status=200, error=None, principal=user,
               bytes_in=len(body), bytes_out=0)
    check_line(lines[2], "GetObject", request_id=r2.header("x-amz-request-id"), op="GetObject",
               method="GET", bucket=B, key="dir/obj", status=200, error=None,
               bytes_in=0, bytes_out=len(body))
    check_line(lines[3], "GetObject 404", request_id=r3.header("x-amz-request-id"),
               op="GetObject", key="missing", status=404, error="NoSuchKey",
               bytes_out=len(r3.body))
    check_line(lines[4], "anonymous refusal", request_id=r4.header("x-amz-request-id"),
               principal=None, status=r4.status, bytes_out=len(r4.body), user_agent="anon")
    check(lines[4]["error"] in ("AccessDenied", "AuthorizationQueryParametersError"),
          "refusal error code %r" % lines[4]["error"])
    with open(st.path, "rb") as f:
        check(b"secret" not in f.read(), "a query string reached the access log")


def t_swift(st):
    srv = st.srv
    r = subprocess.run([sys.argv[1], "admin", "user", "add", *srv.store_args(), "--admin",
                        "%s:%s" % (ACCT, USER), KEY], capture_output=True, text=True)
    eq(r.returncode, 0, "user add (%s)" % r.stderr)
    a = harness.http_request(srv, "GET", "/auth/v1.0", headers={
        "X-Auth-User": "%s:%s" % (ACCT, USER), "X-Auth-Key": KEY})
    eq(a.status, 200, "TempAuth (%r)" % a)
    tok = {"X-Auth-Token": a.header("X-Auth-Token")}
    c = harness.http_request(srv, "PUT", "/v1/AUTH_%s/box" % ACCT, headers=tok)
    check(c.status in (201, 202), "container PUT (%r)" % c)
    body = b"swift body " * 100
    p = harness.http_request(srv, "PUT", "/v1/AUTH_%s/box/o%%C3%%A9" % ACCT, headers=tok,
                             body=body)
    eq(p.status, 201, "object PUT (%r)" % p)
    g = harness.http_request(srv, "GET", "/v1/AUTH_%s/box/o%%C3%%A9" % ACCT, headers=tok)
    eq((g.status, g.body), (200, body), "object GET")
    lines = st.new_lines(4)
    eq(len(lines), 4, "one line per Swift request")
    if len(lines) != 4:
        return
    eq([x["protocol"] for x in lines], ["swift"] * 4, "protocol")
    for x, resp in zip(lines, (a, c, p, g)):
        eq("tx" + x["request_id"], resp.header("X-Trans-Id"), "X-Trans-Id of %s" % x["op"])
    who = "%s:%s" % (ACCT, USER)
    check_line(lines[2], "Swift PUT", method="PUT", bucket="box", key="o\u00e9", status=201,
               principal=who, bytes_in=len(body))
    check_line(lines[3], "Swift GET", method="GET", bucket="box", key="o\u00e9", status=200,
               principal=who, bytes_out=len(body))


def t_odd_keys(st):
    srv = st.srv
    key = 'we"ird\\key\u00fc\u4e2d'
    r = send(srv, "PUT", "/%s/%s" % (B, key), body=b"x")
    eq(r.status, 200, "PUT odd key (%r)" % r)
    bad = harness.http_request(srv, "PUT", "/%s/bad%%FF%%FEkey" % B, body=b"y")
    check(bad.status >= 400, "invalid UTF-8 key refused (%r)" % bad)
    lines = st.new_lines(2)
    eq(len(lines), 2, "two lines")
    if len(lines) == 2:
        eq(lines[0]["key"], key, "odd key logged as it is")
        eq(lines[1]["key"], "bad\ufffd\ufffdkey", "invalid UTF-8 as U+FFFD")


def t_reopen(st):
    srv = st.srv
    rotated = st.path + ".1"
    os.rename(st.path, rotated)
    r = send(srv, "HEAD", "/%s/dir/obj" % B)
    eq(r.status, 200, "HEAD before the HUP")
    # its line is written when the request completes, just after the answer:
    # wait for it, or the HUP could come first and send it to the new file
    deadline = time.time() + 5
    while time.time() < deadline:
        with open(rotated, "rb") as f:
            if r.header("x-amz-request-id").encode() in f.read():
                break
        time.sleep(0.02)
    os.kill(srv.pid, signal.SIGHUP)
    time.sleep(0.3)
    r2 = send(srv, "HEAD", "/%s/dir/obj" % B)
    eq(r2.status, 200, "HEAD after the HUP")
    deadline = time.time() + 5
    while not os.path.exists(st.path) and time.time() < deadline:
        time.sleep(0.05)
    check(os.path.exists(st.path), "no new file after SIGHUP")
    with open(rotated) as f:
        old = [json.loads(x) for x in f.read().splitlines()]
    eq(old[-1]["request_id"], r.header("x-amz-request-id"),
       "the request before the HUP went to the renamed file")
    st.seen = 0
    new = st.new_lines(1)
    eq([x["request_id"] for x in new], [r2.header("x-amz-request-id")],
       "the request after the HUP went to the new file")
    check(srv.alive(), "kura died: " + srv.log_tail())


def main():
    if len(sys.argv) < 2:
        harness.fail("usage: %s PATH/TO/kura" % sys.argv[0])
    runner = Runner()
    srv = Kura(sys.argv[1])
    path = os.path.join(srv.workdir, "access.log")
    srv.extra_args = ["--access-log", path]
    try:
        srv.start()
        st = State(srv, path)
        runner.run("s3: one line per request, ids, ops, bytes, errors", t_s3, st)
        runner.run("swift: TempAuth and object requests", t_swift, st)
        runner.run("odd keys: every line is JSON", t_odd_keys, st)
        runner.run("reopen on SIGHUP after a rename", t_reopen, st)
    finally:
        srv.stop()
    sys.exit(runner.finish())


if __name__ == "__main__":
    main()
