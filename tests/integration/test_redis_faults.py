#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Metadata on Redis, faults seen through the gateway (issue 3).

usage: deploy/redis-local.sh cluster python3 test_redis_faults.py PATH/TO/kura
       deploy/redis-local.sh shards  python3 test_redis_faults.py PATH/TO/kura

Needs the environment deploy/redis-local.sh sets (KURA_IT_SERVE_ARGS,
KURA_REDIS_PORTS, KURA_REDIS_DIR).

cluster: 4 writers PUT objects through kura while one Redis master is
killed with SIGKILL. Every PUT answered 200 must be readable byte for byte
and listed afterwards, and the gateway must answer writes again within 10 s
of the kill (the replica takes over; kura refreshes its slot map).

shards: one shard is stopped; requests needing it get 503 with S3 XML
(ServiceUnavailable) quickly and the gateway stays up; the shard is
restarted on the same port and data directory (AOF) and everything acked
before is still there and new writes succeed. The admin listener's
/health/ready is 503 "metadata store unavailable" while the shard is down
and 200 once it is back (issue 15).
"""
import hashlib
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Kura, Runner, check, eq, free_port, s3_request  # noqa: E402
from test_admin import admin_get  # noqa: E402

FAILOVER_LIMIT_S = 10.0


def redis_cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port)] + list(args), capture_output=True,
                          text=True, timeout=10).stdout


def redis_pid(port):
    info = redis_cli(port, "info", "server")
    for line in info.splitlines():
        if line.startswith("process_id:"):
            return int(line.split(":")[1])
    raise AssertionError("no process_id from redis on port %d" % port)


def masters(ports):
    return [p for p in ports if redis_cli(p, "role").splitlines()[:1] == ["master"]]


def body_for(key):
    return hashlib.sha256(key.encode()).digest() * 8


class Writers:
    """Writer threads PUTting fresh keys; records what was acked and when
    requests failed."""

    def __init__(self, srv, bucket, n=4):
        self.srv, self.bucket, self.n = srv, bucket, n
        self.acked = []
        self.fail_times = []
        self.ok_times = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(n)]

    def run(self, wid):
        i = 0
        while not self.stop.is_set():
            key = "w%d/obj-%06d" % (wid, i)
            i += 1
            t = time.time()
            try:
                r = s3_request(self.srv, "PUT", "/%s/%s" % (self.bucket, key), body=body_for(key))
                ok = r.status == 200
                if not ok:
                    check(r.status in (500, 503), "unexpected status %d: %r" % (r.status, r.body[:200]))
            except OSError:
                ok = False
            with self.lock:
                if ok:
                    self.acked.append(key)
                    self.ok_times.append(t)
                else:
                    self.fail_times.append(t)
            if not ok:
                time.sleep(0.05)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(60)


def list_all(srv, bucket):
    keys, token = [], None
    while True:
        q = [("list-type", "2"), ("max-keys", "1000")]
        if token:
            q.append(("continuation-token", token))
        r = s3_request(srv, "GET", "/" + bucket, query=q)
        eq(r.status, 200, "list status")
        root = r.xml()  # namespaces stripped by the harness
        keys += [c.find("Key").text for c in root.findall("Contents")]
        if root.find("IsTruncated").text != "true":
            return keys
        token = root.find("NextContinuationToken").text


def verify_acked(srv, bucket, acked):
    listed = list_all(srv, bucket)
    eq(len(listed), len(set(listed)), "listing has no duplicates")
    eq(listed, sorted(listed, key=lambda k: k.encode()), "listing is sorted")
    missing = set(acked) - set(listed)
    check(not missing, "%d acknowledged keys not listed, e.g. %s" % (len(missing), sorted(missing)[:3]))
    for key in acked:
        r = s3_request(srv, "GET", "/%s/%s" % (bucket, key))
        eq(r.status, 200, "GET %s" % key)
        eq(r.body, body_for(key), "content of %s" % key)


def cluster_failover(srv, ports):
    bucket = "failover"
    eq(s3_request(srv, "PUT", "/" + bucket).status, 200, "create bucket")
    ms = masters(ports)
    check(len(ms) == 3, "3 masters, got %r" % ms)
    with Writers(srv, bucket) as w:
        time.sleep(2.0)
        victim = ms[0]
        pid = redis_pid(victim)
        t_kill = time.time()
        os.kill(pid, signal.SIGKILL)
        print("     killed master on port %d at t=0" % victim, flush=True)
        time.sleep(FAILOVER_LIMIT_S + 5.0)
    fails_after = [t - t_kill for t in w.fail_times if t >= t_kill]
    last_fail = max(fails_after) if fails_after else 0.0
    oks_after = [t - t_kill for t in w.ok_times if t > t_kill + last_fail]
    print("     acked %d PUTs; %d failed after the kill; last failure at +%.1fs; "
          "%d successes after it" % (len(w.acked), len(fails_after), last_fail, len(oks_after)),
          flush=True)
    check(oks_after, "writes succeed again after the failover")
    check(last_fail <= FAILOVER_LIMIT_S,
          "gateway serving again within %.0f s of the kill (last failure at +%.1f s)"
          % (FAILOVER_LIMIT_S, last_fail))
    verify_acked(srv, bucket, w.acked)


def wait_ready(srv, status, what):
    deadline = time.time() + 60
    while True:
        got, _, reason = admin_get(srv.admin_port, "/health/ready")
        if got == status or time.time() > deadline:
            eq(got, status, "/health/ready %s (%r)" % (what, reason))
            return reason
        time.sleep(0.2)


def shard_outage(srv, ports):
    bucket = "outage"
    eq(s3_request(srv, "PUT", "/" + bucket).status, 200, "create bucket")
    keys = ["k/%04d" % i for i in range(60)]
    for k in keys:
        eq(s3_request(srv, "PUT", "/%s/%s" % (bucket, k), body=body_for(k)).status, 200, "PUT " + k)
    victim = ports[1]
    pid = redis_pid(victim)
    os.kill(pid, signal.SIGKILL)
    statuses = {}
    t0 = time.time()
    for k in keys:
        r = s3_request(srv, "GET", "/%s/%s" % (bucket, k))
        statuses.setdefault(r.status, []).append(k)
        if r.status == 503:
            eq(r.error_code(), "ServiceUnavailable", "503 body is S3 XML ServiceUnavailable")
    elapsed = time.time() - t0
    print("     with a shard down: %r in %.1fs" % ({s: len(v) for s, v in statuses.items()}, elapsed),
          flush=True)
    check(set(statuses) <= {200, 503}, "only 200 or 503 while a shard is down: %r" % statuses.keys())
    check(503 in statuses, "some requests needed the stopped shard")
    check(elapsed < 30, "unavailable requests answer quickly")
    check(srv.died() is None, "gateway still running")
    reason = wait_ready(srv, 503, "with a shard down")
    check(reason.startswith("metadata store unavailable"), "readiness reason %r" % reason)
    eq(admin_get(srv.admin_port, "/health/live")[0], 200, "/health/live with a shard down")
    # restart the shard on the same port and directory: AOF brings the data back
    # deploy/redis-local.sh keeps shard i (1-based, URL order) in shard<i>
    d = os.path.join(os.environ["KURA_REDIS_DIR"], "shard2")
    check(os.path.isdir(d), "found the stopped shard's directory")
    proc = subprocess.Popen(["redis-server", "--port", str(victim), "--bind", "127.0.0.1", "--dir", d,
                             "--save", "", "--appendonly", "yes", "--appendfsync", "always",
                             "--daemonize", "no",
                             "--logfile", os.path.join(d, "redis.log")],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 20
        while redis_cli(victim, "ping").strip() != "PONG":
            check(time.time() < deadline, "restarted shard answers")
            time.sleep(0.1)
        deadline = time.time() + 10
        while True:
            r = s3_request(srv, "GET", "/%s/%s" % (bucket, keys[0]))
            if r.status == 200 or time.time() > deadline:
                break
            time.sleep(0.2)
        wait_ready(srv, 200, "once the shard is back")
        for k in keys:
            r = s3_request(srv, "GET", "/%s/%s" % (bucket, k))
            eq(r.status, 200, "GET %s after the shard is back" % k)
            eq(r.body, body_for(k), "content of %s after the shard is back" % k)
        eq(s3_request(srv, "PUT", "/%s/after" % bucket, body=b"x").status, 200, "new PUT")
        eq(sorted(list_all(srv, bucket)), sorted(keys + ["after"]), "listing after recovery")
    finally:
        proc.kill()
        proc.wait(10)


def two_gateways(kura_bin):
    """Two gateways on one metadata store: both see every bucket and listing;
    each serves the data it holds, and answers 503 (never another object's
    bytes) for data held by the other, until remote datanodes exist."""
    shared = ["--meta-prefix", "shared-%d:" % os.getpid()]
    with Kura(kura_bin, extra_args=shared) as a, Kura(kura_bin, extra_args=shared) as b:
        eq(s3_request(a, "PUT", "/twogw").status, 200, "create bucket on A")
        eq(s3_request(b, "HEAD", "/twogw").status, 200, "B sees the bucket")
        eq(s3_request(a, "PUT", "/twogw/from-a", body=body_for("from-a")).status, 200, "PUT on A")
        eq(s3_request(b, "PUT", "/twogw/from-b", body=body_for("from-b")).status, 200, "PUT on B")
        for srv, name in ((a, "A"), (b, "B")):
            eq(list_all(srv, "twogw"), ["from-a", "from-b"], "listing on " + name)
        r = s3_request(a, "GET", "/twogw/from-a")
        eq((r.status, r.body), (200, body_for("from-a")), "A reads its own object")
        r = s3_request(b, "GET", "/twogw/from-b")
        eq((r.status, r.body), (200, body_for("from-b")), "B reads its own object")
        for srv, key in ((b, "from-a"), (a, "from-b")):
            r = s3_request(srv, "GET", "/twogw/" + key)
            eq(r.status, 503, "GET of data held by the other gateway")
            eq(r.error_code(), "ServiceUnavailable", "error code")
        check(a.died() is None and b.died() is None, "both gateways alive")


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    if not os.environ.get("KURA_REDIS_PORTS"):
        print("run me under deploy/redis-local.sh (no KURA_REDIS_PORTS)")
        return 2
    ports = [int(p) for p in os.environ["KURA_REDIS_PORTS"].split()]
    cluster = "redis-cluster://" in os.environ.get("KURA_IT_SERVE_ARGS", "")
    R = Runner("redis-faults-" + ("cluster" if cluster else "shards"))
    admin_port = free_port()
    with Kura(sys.argv[1], extra_args=["--admin-listen", "127.0.0.1:%d" % admin_port]) as srv:
        srv.admin_port = admin_port
        if cluster:
            R.run("master killed while writing: no acked write lost, serving within %.0fs"
                  % FAILOVER_LIMIT_S, cluster_failover, srv, ports)
        else:
            # before the outage test, which leaves a shard stopped
            R.run("two gateways share one metadata store", two_gateways, sys.argv[1])
            R.run("shard down: 503 ServiceUnavailable, recovery, nothing acked lost",
                  shard_outage, srv, ports)
        R.run("server alive", lambda: check(srv.died() is None, srv.died()))
    return R.finish()


if __name__ == "__main__":
    sys.exit(main())
