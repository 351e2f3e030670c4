#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""kill -9 of the gateway at random moments under mixed load, many cycles
(issue 7, "keep them closed"). Every acknowledged object must survive byte
for byte, every acknowledged DELETE must stay deleted, and listings must
agree with both.

usage: python3 kill9_cycles.py PATH/TO/kura [--cycles N] [--threads N]
           [--keys N] [--min-run S] [--max-run S] [--seed N] [--compaction]

Each cycle: client threads run mixed load (PUT of new keys and overwrites,
multipart uploads of one or two parts, DELETE, and GETs checked against the
model) for a random 1-4 s, then the gateway is killed with SIGKILL wherever
it is, restarted on the same data directory, and checked with no load:

  * every key whose last operation was acknowledged (2xx) reads back with
    exactly that content (SHA-256) or, after an acknowledged DELETE, is 404;
  * a key whose operation was in flight at the kill may hold either its
    previous or its new state (never anything else); what it holds becomes
    its state from then on;
  * ListObjectsV2 lists exactly the keys that exist, with their sizes.

Each thread owns its keys, so the model is exact without locks. Requests
are signed here (harness.py) and sent one connection each, with no client
retries: "acknowledged" means this client saw the 2xx.

Prints one line per cycle and a summary (cycles, acknowledged operations,
objects verified, lost = 0). Exit status 0 only with nothing lost and no
unexpected answer. Environment: KURA_ROBUSTNESS_CYCLES (default 20) and
KURA_ROBUSTNESS_THREADS (default 4) are the defaults of --cycles and
--threads; KURA_IT_KEEP=1 keeps the data directory and server log.
"""

import argparse
import hashlib
import os
import random
import shutil
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402
from harness import Kura  # noqa: E402

MiB = 1 << 20
PART_MIN = 5 * MiB
BUCKET = "robust"


def sha(b):
    return hashlib.sha256(b).hexdigest()


class Crashed(Exception):
    """The request got no answer (connection refused or reset)."""


class Unexpected(Exception):
    """An answer that is not what the operation should get."""


def request(srv, method, path, query=(), body=b"", headers=None):
    try:
        return harness.s3_request(srv, method, path, query, headers, body)
    except (OSError, harness.http.client.HTTPException) as e:
        raise Crashed(str(e)) from e


class Key:
    """One object's possible states: each None (absent) or (sha256, size).
    One state once acknowledged; two while an operation's outcome is
    unknown (in flight at a kill)."""

    def __init__(self, name):
        self.name = name
        self.cands = [None]

    def certain(self):
        return len(self.cands) == 1

    def unsure(self, new):
        if new not in self.cands:
            self.cands = self.cands + [new]


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.acked = {"put": 0, "multipart": 0, "delete": 0, "get": 0}
        self.in_flight = 0
        self.anomalies = []

    def ack(self, op):
        with self.lock:
            self.acked[op] += 1

    def crash(self):
        with self.lock:
            self.in_flight += 1

    def anomaly(self, msg):
        with self.lock:
            self.anomalies.append(msg)
        print("ANOMALY: " + msg, flush=True)


class Worker(threading.Thread):
    def __init__(self, n, srv, keys, stats, ctl, seed):
        super().__init__(daemon=True, name="load-%d" % n)
        self.srv, self.keys, self.stats, self.ctl = srv, keys, stats, ctl
        self.rng = random.Random(seed)

    def body(self):
        r = self.rng.random()
        if r < 0.70:
            n = self.rng.randint(0, 64 * 1024)
        elif r < 0.95:
            n = self.rng.randint(64 * 1024, MiB)
        else:
            n = self.rng.randint(MiB, 4 * MiB)
        return self.rng.randbytes(n)

    def path(self, k):
        return "/%s/%s" % (BUCKET, k.name)

    def op_put(self, k):
        data = self.body()
        new = (sha(data), len(data))
        try:
            r = request(self.srv, "PUT", self.path(k), body=data)
        except Crashed:
            k.unsure(new)
            self.stats.crash()
            return
        if r.status != 200:
            k.unsure(new)
            raise Unexpected("PUT %s: %r" % (k.name, r))
        k.cands = [new]
        self.stats.ack("put")

    def op_multipart(self, k):
        if self.rng.random() < 0.3:
            parts = [self.rng.randbytes(PART_MIN), self.body()]
        else:
            parts = [self.body()]
        data = b"".join(parts)
        new = (sha(data), len(data))
        try:
            r = request(self.srv, "POST", self.path(k), [("uploads", "")])
            if r.status != 200:
                raise Unexpected("CreateMultipartUpload %s: %r" % (k.name, r))
            uid = r.xml().findtext("UploadId")
            etags = []
            for i, p in enumerate(parts, 1):
                r = request(self.srv, "PUT", self.path(k),
                            [("partNumber", str(i)), ("uploadId", uid)], body=p)
                if r.status != 200:
                    raise Unexpected("UploadPart %s: %r" % (k.name, r))
                etags.append(r.header("ETag"))
        except Crashed:
            return  # not completed: the key is unchanged
        doc = "<CompleteMultipartUpload>%s</CompleteMultipartUpload>" % "".join(
            "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>" % (i, e)
            for i, e in enumerate(etags, 1))
        try:
            r = request(self.srv, "POST", self.path(k), [("uploadId", uid)], body=doc.encode())
        except Crashed:
            k.unsure(new)
            self.stats.crash()
            return
        if r.status != 200 or b"<CompleteMultipartUploadResult" not in r.body:
            k.unsure(new)
            raise Unexpected("CompleteMultipartUpload %s: %r" % (k.name, r))
        k.cands = [new]
        self.stats.ack("multipart")

    def op_delete(self, k):
        try:
            r = request(self.srv, "DELETE", self.path(k))
        except Crashed:
            k.unsure(None)
            self.stats.crash()
            return
        if r.status != 204:
            k.unsure(None)
            raise Unexpected("DELETE %s: %r" % (k.name, r))
        k.cands = [None]
        self.stats.ack("delete")

    def op_get(self, k):
        if not k.certain():
            return
        try:
            r = request(self.srv, "GET", self.path(k))
        except Crashed:
            return
        want = k.cands[0]
        got = None if r.status == 404 else (sha(r.body), len(r.body)) if r.status == 200 else r
        if got != want:
            raise Unexpected("GET %s during load: want %s, got %r" % (k.name, want, got))
        self.stats.ack("get")

    def run(self):
        ops = [(0.45, self.op_put), (0.12, self.op_multipart), (0.23, self.op_delete),
               (0.20, self.op_get)]
        while self.ctl.wait_for_cycle():
            while self.ctl.running:
                k = self.rng.choice(self.keys)
                x, op = self.rng.random(), None
                for w, fn in ops:
                    if x < w:
                        op = fn
                        break
                    x -= w
                try:
                    (op or self.op_get)(k)
                except Unexpected as e:
                    self.stats.anomaly(str(e))
                except Exception as e:  # noqa: BLE001 - a bug here must not hang the run
                    self.stats.anomaly("%s: %s: %s" % (k.name, type(e).__name__, e))
            self.ctl.parked()


class Control:
    """Cycle gate: threads run while `running`, then park until the next
    cycle (or the end)."""

    def __init__(self, n):
        self.n = n
        self.cv = threading.Condition()
        self.generation = 0
        self.done = False
        self.running = False
        self.parked_count = 0

    def wait_for_cycle(self):
        with self.cv:
            seen = getattr(threading.current_thread(), "gen", 0)
            while self.generation == seen and not self.done:
                self.cv.wait()
            threading.current_thread().gen = self.generation
            return not self.done

    def start_cycle(self):
        with self.cv:
            self.parked_count = 0
            self.running = True
            self.generation += 1
            self.cv.notify_all()

    def stop_cycle(self):
        self.running = False

    def parked(self):
        with self.cv:
            self.parked_count += 1
            self.cv.notify_all()

    def wait_parked(self, timeout=300):
        deadline = time.time() + timeout
        with self.cv:
            while self.parked_count < self.n:
                left = deadline - time.time()
                if left <= 0:
                    raise RuntimeError("load threads did not stop within %ds" % timeout)
                self.cv.wait(left)

    def finish(self):
        with self.cv:
            self.done = True
            self.cv.notify_all()


def list_all(srv):
    out, token = {}, None
    while True:
        q = [("list-type", "2"), ("max-keys", "250")]
        if token:
            q.append(("continuation-token", token))
        r = request(srv, "GET", "/" + BUCKET, q)
        if r.status != 200:
            raise Unexpected("ListObjectsV2: %r" % r)
        x = r.xml()
        for c in x.iter("Contents"):
            out[c.findtext("Key")] = int(c.findtext("Size"))
        if x.findtext("IsTruncated") != "true":
            return out
        token = x.findtext("NextContinuationToken")


def verify(srv, keys, stats):
    """No load: every key read back and resolved; returns (verified, lost)."""
    verified = lost = 0
    for k in keys:
        r = request(srv, "GET", "/%s/%s" % (BUCKET, k.name))
        if r.status == 200:
            got = (sha(r.body), len(r.body))
        elif r.status == 404:
            got = None
        else:
            stats.anomaly("verify GET %s: %r" % (k.name, r))
            lost += 1
            continue
        if got not in k.cands:
            lost += 1
            stats.anomaly("%s: holds %s, acknowledged state(s) %s" % (k.name, got, k.cands))
        elif got is not None:
            verified += 1
        k.cands = [got]
    listed = list_all(srv)
    want = {k.name: k.cands[0][1] for k in keys if k.cands[0] is not None}
    if listed != want:
        extra = sorted(set(listed) - set(want))[:5]
        missing = sorted(set(want) - set(listed))[:5]
        sizes = sorted(n for n in set(listed) & set(want) if listed[n] != want[n])[:5]
        stats.anomaly("listing differs: extra %s, missing %s, wrong size %s"
                      % (extra, missing, sizes))
        lost += len(set(want) - set(listed))
    return verified, lost


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("kura")
    ap.add_argument("--cycles", type=int,
                    default=int(os.environ.get("KURA_ROBUSTNESS_CYCLES", "20")))
    ap.add_argument("--threads", type=int,
                    default=int(os.environ.get("KURA_ROBUSTNESS_THREADS", "4")))
    ap.add_argument("--keys", type=int, default=40, help="keys per thread")
    ap.add_argument("--min-run", type=float, default=1.0, help="seconds of load before a kill")
    ap.add_argument("--max-run", type=float, default=4.0)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--compaction", action="store_true",
                    help="1 MiB chunks compacted every second with no grace period, so that "
                    "kills also land inside compaction passes")
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    print("kill9-cycles: %d cycles, %d threads x %d keys, load %.1f-%.1f s per cycle, seed %d"
          % (a.cycles, a.threads, a.keys, a.min_run, a.max_run, seed), flush=True)

    workdir = tempfile.mkdtemp(prefix="kura-robust.")
    extra = (["--chunk-size", "1M", "--compact-grace", "0", "--compact-interval", "1",
              "--compact-threshold", "10"] if a.compaction else [])
    srv = Kura(a.kura, workdir=workdir, watchdog=3600, extra_args=extra)
    stats = Stats()
    ctl = Control(a.threads)
    keys = [[Key("t%d/k%03d" % (t, i)) for i in range(a.keys)] for t in range(a.threads)]
    every = [k for ks in keys for k in ks]
    workers = [Worker(t, srv, keys[t], stats, ctl, seed * 100 + t) for t in range(a.threads)]
    total_verified = total_lost = 0
    t0 = time.time()
    status = 1
    try:
        srv.start()
        r = request(srv, "PUT", "/" + BUCKET)
        if r.status != 200:
            raise Unexpected("CreateBucket: %r" % r)
        for w in workers:
            w.start()
        for cycle in range(1, a.cycles + 1):
            before = dict(stats.acked), stats.in_flight
            ctl.start_cycle()
            run = rng.uniform(a.min_run, a.max_run)
            time.sleep(run)
            srv.kill9()
            ctl.stop_cycle()
            ctl.wait_parked()
            t_restart = time.time()
            srv.start()
            up = time.time() - t_restart
            verified, lost = verify(srv, every, stats)
            total_verified += verified
            total_lost += lost
            acked = sum(stats.acked[o] - before[0][o] for o in ("put", "multipart", "delete"))
            print("cycle %3d: killed after %.1fs, %4d writes acknowledged, %d in flight, "
                  "restarted in %.2fs, %3d objects verified, lost %d"
                  % (cycle, run, acked, stats.in_flight - before[1], up, verified, lost),
                  flush=True)
        # a clean stop and start at the end: same checks
        srv.stop()
        srv.start()
        verified, lost = verify(srv, every, stats)
        total_verified += verified
        total_lost += lost
        print("final clean restart: %d objects verified, lost %d" % (verified, lost), flush=True)
        status = 0 if total_lost == 0 and not stats.anomalies else 1
    finally:
        ctl.finish()
        srv.stop()
        with open("/proc/loadavg") as f:
            load = f.read().split()[:3]
        elapsed = time.time() - t0
        errors = rewrites = removals = holes = 0
        try:
            with open(srv.log, "rb") as f:
                for line in f:
                    errors += b" ERROR " in line
                    rewrites += b" compacted: " in line
                    removals += b"(file removed)" in line
                    holes += b"given back in place" in line
        except OSError:
            pass
        if a.compaction:
            print("compaction: %d chunk files rewritten (%d of them removed), %d punched in place"
                  % (rewrites, removals, holes), flush=True)
        w = stats.acked
        print("kill9-cycles: %d cycles in %.0fs; acknowledged: %d PUT, %d multipart, %d DELETE, "
              "%d GET checked under load; %d operations in flight at a kill; %d objects verified "
              "byte-exact; lost %d; unexpected answers %d; server ERROR log lines %d; "
              "load average %s"
              % (a.cycles, elapsed, w["put"], w["multipart"], w["delete"], w["get"],
                 stats.in_flight, total_verified, total_lost, len(stats.anomalies), errors,
                 " ".join(load)), flush=True)
        if os.environ.get("KURA_IT_KEEP") == "1":
            print("kept %s (server log %s)" % (workdir, srv.log))
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(status)


if __name__ == "__main__":
    main()
