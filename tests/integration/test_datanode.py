#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The storage cluster's foundation (issue 8) with real processes.

    deploy/redis-local.sh shards python3 test_datanode.py KURA DNCLIENT

Starts three `kura datanode` processes on loopback (one with two data
directories, one configured through --config and --secret-file) that
register in the Redis of KURA_META_URL, then checks:
  * registration: `kura datanode list` shows all three up, with their zone,
    media, address and the stable uids of their volumes (volume.id);
  * the protocol, by raw HTTP signed here: health, a needle PUT and a ranged
    GET; a missing or wrong signature, a tampered path and a skewed date are
    403 and write nothing;
  * dnclient (remote volumes + the data layer, as a gateway): needles of
    many sizes written over the datanodes and read back byte-exact, whole
    and by ranges (reads longer than one request's 4 MiB are split); delete;
  * a hung datanode (SIGSTOP) is skipped for new needles;
  * 8 threads sharing one remote volset write and read back 96 needles;
  * a byte flipped inside a needle on disk: reads touching that block fail
    with ECORRUPT (never wrong bytes), reads of other blocks still work;
  * SIGKILL of a datanode: marked down once its heartbeats stop; SIGTERM: it
    exits and marks itself down at once.
Prints 'N passed, N failed'; exit 1 on any failure.
"""

import hashlib
import hmac
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import time

import proctest

KURA, DNCLIENT = sys.argv[1], sys.argv[2]
META, SECRET, TMP, T, PROCS = proctest.cluster_test("dn", boto3=False)
check = T.check
free_port = proctest.free_port


def start_datanode(name, zone, ndirs=1, media="hdd", via_config=False):
    port = free_port()
    dirs = [os.path.join(TMP, name, "d%d" % i) for i in range(ndirs)]
    args = [KURA, "datanode"]
    if via_config:
        sf = os.path.join(TMP, name + ".secret")
        with open(sf, "w") as f:
            f.write(SECRET + "\n")
        cf = os.path.join(TMP, name + ".conf")
        with open(cf, "w") as f:
            f.write("listen = 127.0.0.1:%d\n" % port)
            for d in dirs:
                f.write("data = %s\n" % d)
            f.write("zone = %s\nmedia = %s\nsecret-file = %s\nmeta = %s\n" % (zone, media, sf, META))
            f.write("compact-grace = 0\ncompact-interval = 0\n")
        args += ["--config", cf]
    else:
        args += ["--listen", "127.0.0.1:%d" % port, "--zone", zone, "--media", media,
                 "--secret", SECRET, "--meta", META]
        # compaction only when asked (POST /v1/compact), deleted data at once
        args += ["--compact-grace", "0", "--compact-interval", "0"]
        for d in dirs:
            args += ["--data", d]
    p = PROCS.spawn(name, args)
    return {"name": name, "port": port, "dirs": dirs, "proc": p, "zone": zone, "media": media}


def listing():
    r = subprocess.run([KURA, "datanode", "list", "--meta", META], capture_output=True, text=True)
    rows = {}
    for line in r.stdout.splitlines():
        f = line.split(" ")
        rows[f[4]] = {"id": f[0], "state": f[1], "zone": f[2], "media": f[3], "address": f[4],
                      "free": int(f[5]), "capacity": int(f[6]), "age": int(f[7]),
                      "volumes": f[8].split(",") if len(f) > 8 and f[8] else []}
    return rows


def volume_uid(d):
    with open(os.path.join(d, "volume", "volume.id")) as f:
        for line in f:
            if line.startswith("uid "):
                return line.split()[1]


def chunk_bytes(node):
    total = 0
    for d in node["dirs"]:
        vd = os.path.join(d, "volume")
        for n in os.listdir(vd):
            if n.startswith("chunk-"):
                total += os.path.getsize(os.path.join(vd, n))
    return total


def sign(method, pq, date, csha, secret=SECRET):
    msg = "%s\n%s\n%s\n%s" % (method, pq, date, csha)
    return hmac.new(secret.encode(), msg.encode(), hashlib.sha256).hexdigest()


EMPTY = hashlib.sha256(b"").hexdigest()


def raw(node, method, pq, body=None, date=None, secret=SECRET, auth=True, sign_pq=None,
        headers=None):
    date = str(int(time.time()) if date is None else date)
    csha = "UNSIGNED-PAYLOAD" if method == "PUT" else EMPTY
    h = dict(headers or {})
    if auth:
        h["X-Kura-Date"] = date
        h["X-Kura-Content-SHA256"] = csha
        h["Authorization"] = "KURA-HMAC-SHA256 " + sign(method, sign_pq or pq, date, csha, secret)
    c = http.client.HTTPConnection("127.0.0.1", node["port"], timeout=30)
    c.request(method, pq, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data


def dnc(*args):
    return subprocess.run([DNCLIENT, META, SECRET] + [str(a) for a in args], capture_output=True,
                          text=True)


def settings_checks():
    """kura datanode refuses unusable settings with exit 2 and a message."""
    d = os.path.join(TMP, "bad")
    for args, words in (
            (["--meta", META, "--secret", "s"], "--data"),
            (["--data", d, "--meta", META], "secret"),
            (["--data", d, "--secret", "s"], "--meta"),
            (["--data", d, "--meta", META, "--secret", "s", "--media", "tape"], "--media"),
            (["--data", d, "--meta", META, "--secret", "s", "--zone", "a b"], "--zone")):
        r = subprocess.run([KURA, "datanode"] + args, capture_output=True, text=True, timeout=30)
        check(r.returncode == 2 and words in r.stderr, "refused %r: %d %s" % (args, r.returncode,
                                                                             r.stderr.strip()))


def main():
    settings_checks()
    nodes = [start_datanode("dn0", "z1", ndirs=2, media="ssd"),
             start_datanode("dn1", "z2"),
             start_datanode("dn2", "z3", via_config=True)]
    # --- registration and heartbeats
    deadline = time.time() + 20
    rows = {}
    while time.time() < deadline:
        rows = listing()
        if len(rows) == 3 and all(r["state"] == "up" for r in rows.values()):
            break
        time.sleep(0.2)
    check(len(rows) == 3, "three datanodes registered: %r" % rows)
    for n in nodes:
        addr = "127.0.0.1:%d" % n["port"]
        r = rows.get(addr)
        check(r is not None and r["state"] == "up", "%s up" % n["name"])
        if not r:
            continue
        n["id"] = r["id"]
        check(r["zone"] == n["zone"] and r["media"] == n["media"],
              "%s zone/media %r" % (n["name"], r))
        check(r["volumes"] == [volume_uid(d) for d in n["dirs"]], "%s volume uids" % n["name"])
        check(r["capacity"] > 0 and 0 < r["free"] <= r["capacity"], "%s capacity/free" % n["name"])
        with open(os.path.join(n["dirs"][0], "datanode.id")) as f:
            check(f.read().strip() == r["id"], "%s id kept in datanode.id" % n["name"])
    time.sleep(1.5)
    later = listing()
    check(all(later[a]["age"] < 3000 for a in later), "heartbeats keep coming: %r" % later)

    # --- protocol, raw
    n0 = nodes[0]
    st, h, body = raw(n0, "GET", "/health")
    check(st == 200, "health 200 (%d)" % st)
    if st == 200:
        health = json.loads(body)
        check(health["id"] == n0.get("id") and health["zone"] == "z1", "health id/zone")
        check([v["uid"] for v in health["volumes"]] == [volume_uid(d) for d in n0["dirs"]],
              "health lists the volumes")
        check(all(v["free"] > 0 and v["full"] is False for v in health["volumes"]),
              "health free space")
    st, h, _ = raw(n0, "GET", "/health", auth=False)
    check(st == 403, "health without a signature: 403 (%d)" % st)
    uid = volume_uid(n0["dirs"][0])
    payload = os.urandom(150000)
    pq = "/v1/volumes/%s/needles?len=%d" % (uid, len(payload))
    before = chunk_bytes(n0)
    st, h, _ = raw(n0, "PUT", pq, payload, secret="wrong-secret")
    check(st == 403 and h.get("x-kura-error") == "ESIGNATURE", "wrong secret: 403 (%d)" % st)
    st, _, _ = raw(n0, "PUT", pq, payload, auth=False)
    check(st == 403, "unsigned PUT: 403 (%d)" % st)
    st, h, _ = raw(n0, "PUT", pq, payload, date=int(time.time()) - 600)
    check(st == 403 and h.get("x-kura-error") == "ETIMESKEW", "date 10 min old: 403 (%d)" % st)
    st, _, _ = raw(n0, "PUT", pq, payload, date=int(time.time()) + 600)
    check(st == 403, "date 10 min ahead: 403 (%d)" % st)
    st, _, _ = raw(n0, "PUT", "/v1/volumes/%s/needles?len=%d" % (uid, len(payload) + 1), payload,
                   sign_pq=pq)
    check(st == 403, "tampered length: 403 (%d)" % st)
    check(chunk_bytes(n0) == before, "refused PUTs wrote nothing")
    st, h, body = raw(n0, "PUT", pq, payload)
    check(st == 200, "signed PUT 200 (%d %r)" % (st, body))
    if st == 200:
        loc = json.loads(body)
        check(loc["volume"] == uid and loc["length"] == len(payload), "PUT location %r" % loc)
        gpq = "/v1/volumes/%s/needles/%d/%d?len=%d" % (uid, loc["chunk"], loc["offset"],
                                                       len(payload))
        st, h, got = raw(n0, "GET", gpq, headers={"Range": "bytes=65530-65600"})
        check(st == 206 and got == payload[65530:65601], "raw ranged GET (%d)" % st)
        st, h, got = raw(n0, "GET", gpq)
        check(st == 200 and got == payload, "raw whole GET (%d)" % st)
        other = "/v1/volumes/%s/needles/%d/%d?len=%d" % (uid, loc["chunk"], loc["offset"] + 8,
                                                         len(payload))
        st, _, _ = raw(n0, "GET", other, sign_pq=gpq)
        check(st == 403, "GET with a path other than the signed one: 403 (%d)" % st)
        st, h, _ = raw(n0, "GET", other)
        check(st == 404 and h.get("x-kura-error") == "ENOTFOUND", "no needle there: 404 (%d)" % st)
        # compaction on demand: the deleted needle's space comes back, the
        # other needle still reads at its old location key
        keep = os.urandom(100000)
        st, _, body = raw(n0, "PUT", "/v1/volumes/%s/needles?len=%d" % (uid, len(keep)), keep)
        check(st == 200, "second PUT (%d)" % st)
        kloc = json.loads(body) if st == 200 else {"chunk": 0, "offset": 0}
        kpq = "/v1/volumes/%s/needles/%d/%d?len=%d" % (uid, kloc["chunk"], kloc["offset"],
                                                       len(keep))
        st, _, _ = raw(n0, "DELETE", gpq)
        check(st == 204, "DELETE needle (%d)" % st)
        st, _, _ = raw(n0, "POST", "/v1/compact", auth=False)
        check(st == 403, "unsigned compact: 403 (%d)" % st)
        st, _, body = raw(n0, "POST", "/v1/compact")
        check(st == 200, "POST /v1/compact (%d %r)" % (st, body))
        if st == 200:
            c = json.loads(body)
            check(c["compacted"] >= 1 and c["reclaimed"] >= len(payload) - 8192,
                  "compaction gave the deleted needle's space back: %r" % c)
        st, _, got = raw(n0, "GET", kpq)
        check(st == 200 and got == keep, "needle kept through compaction (%d)" % st)
        st, h, _ = raw(n0, "GET", gpq)
        check(st == 404, "deleted needle gone after compaction (%d)" % st)
        st, _, body = raw(n0, "GET", "/health")
        if st == 200:
            v0 = [v for v in json.loads(body)["volumes"] if v["uid"] == uid][0]
            check(v0["compacted"] >= 1 and v0["reclaimed"] >= len(payload) - 8192,
                  "health counts compaction: %r" % v0)

        # a placed chunk expired whole: refused while open, then its needles
        # and file go at once; unsigned: 403
        st, _, body = raw(n0, "POST", "/v1/volumes/%s/chunks" % uid)
        check(st == 200, "POST .../chunks (%d %r)" % (st, body))
        ch = json.loads(body)["chunk"] if st == 200 else 0
        blob = os.urandom(90000)
        st, _, body = raw(n0, "PUT", "/v1/volumes/%s/chunks/%d/append?len=%d" % (uid, ch, len(blob)),
                          blob)
        check(st == 200, "append to the placed chunk (%d %r)" % (st, body))
        off = json.loads(body)["offset"] if st == 200 else 0
        npq = "/v1/volumes/%s/needles/%d/%d?len=%d" % (uid, ch, off, len(blob))
        xpq = "/v1/volumes/%s/chunks/%d" % (uid, ch)
        st, h, _ = raw(n0, "DELETE", xpq)
        check(st == 409 and h.get("x-kura-error") == "ECONFLICT",
              "expire of an open chunk: 409 (%d)" % st)
        st, _, _ = raw(n0, "POST", xpq + "/seal")
        check(st == 204, "seal (%d)" % st)
        st, _, _ = raw(n0, "DELETE", xpq, auth=False)
        check(st == 403, "unsigned expire: 403 (%d)" % st)
        st, _, got = raw(n0, "GET", npq)
        check(st == 200 and got == blob, "the needle reads before the expiry (%d)" % st)
        files = lambda: sorted(f for f in os.listdir(os.path.join(n0["dirs"][0], "volume"))  # noqa: E731
                               if f == "chunk-%08d.dat" % ch and
                               os.path.getsize(os.path.join(n0["dirs"][0], "volume", f)) > 0)
        check(files(), "the chunk file holds the needle")
        st, _, _ = raw(n0, "DELETE", xpq)
        check(st == 204, "DELETE .../chunks/C: expired (%d)" % st)
        st, h, _ = raw(n0, "GET", npq)
        check(st == 404, "its needle is gone (%d)" % st)
        check(not files(), "its file is gone (or emptied, the newest chunk)")
        st, _, _ = raw(n0, "DELETE", xpq)
        check(st == 204, "expire again: 204, idempotent (%d)" % st)
        st, _, got = raw(n0, "GET", kpq)
        check(st == 200 and got == keep, "other chunks untouched (%d)" % st)

    # --- remote volumes through the data layer
    written = []
    nodes_used = set()
    sizes = (0, 1, 4095, 65536, 65537, 200000, 5 * 1024 * 1024 + 3)
    blobs = {}
    for size in sizes:
        blobs[size] = os.urandom(size)
        with open(os.path.join(TMP, "in-%d" % size), "wb") as f:
            f.write(blobs[size])
    r = dnc("write", *[os.path.join(TMP, "in-%d" % size) for size in sizes])
    check(r.returncode == 0, "dnclient write: %s" % r.stderr.strip())
    lines = r.stdout.splitlines()
    check(len(lines) == len(sizes), "one key per file")
    for size, line in zip(sizes, lines):
        data = blobs[size]
        key, vuid, chunk, off, length = line.split()
        check(int(length) == size, "key length %d" % size)
        written.append((key, vuid, int(chunk), int(off), data))
        for n in nodes:
            if vuid in [volume_uid(d) for d in n["dirs"]]:
                nodes_used.add(n["name"])
        out = os.path.join(TMP, "out")
        r = dnc("read", key, 0, size, out)
        ok = r.returncode == 0 and open(out, "rb").read() == data
        check(ok, "read back %d bytes byte-exact (%s)" % (size, r.stderr.strip()))
        rng = random.Random(size)
        for _ in range(4 if size else 0):
            a = rng.randrange(size)
            b = rng.randrange(a, min(size, a + 3 * 1024 * 1024))
            r = dnc("read", key, a, b - a + 1, out)
            ok = r.returncode == 0 and open(out, "rb").read() == data[a:b + 1]
            check(ok, "range %d-%d of %d (%s)" % (a, b, size, r.stderr.strip()))
    check(len(nodes_used) == 3, "needles spread over the datanodes: %r" % nodes_used)
    if written:
        key = written[1][0]
        r = dnc("delete", key)
        check(r.returncode == 0, "delete (%s)" % r.stderr.strip())

    # --- an upload abandoned half way: the datanodes carry on
    r = dnc("abort", 3 * 1024 * 1024, 1024 * 1024)
    check(r.returncode == 0 and r.stdout.strip() == "ok 1",
          "aborted upload, then a write and read (%s %s)" % (r.stdout.strip(), r.stderr.strip()))
    st, _, _ = raw(n0, "GET", "/health")
    check(st == 200, "datanode healthy after an aborted upload")

    # --- a hung datanode (SIGSTOP) is skipped for new needles
    hung = nodes[1]
    hung["proc"].send_signal(signal.SIGSTOP)
    t0 = time.time()
    r = dnc("write", *[os.path.join(TMP, "in-%d" % size) for size in (1, 4095, 65536)])
    took = time.time() - t0
    hung["proc"].send_signal(signal.SIGCONT)
    hung_uids = [volume_uid(d) for d in hung["dirs"]]
    check(r.returncode == 0 and all(l.split()[1] not in hung_uids for l in r.stdout.splitlines()),
          "writes while a datanode hangs go elsewhere (%s %s)" % (r.stdout, r.stderr.strip()))
    # no timing assertion (a loaded machine may take long): the point is that
    # the writes completed on the other datanodes
    print("writes with a hung datanode took %.1f s" % took)

    # --- many threads sharing one remote volset (connection pools)
    r = dnc("stress", 8, 12, 150001)
    check(r.returncode == 0 and r.stdout.strip() == "ok 96",
          "8 threads x 12 needles written and read back (%s %s)" % (r.stdout.strip(),
                                                                    r.stderr.strip()))

    # --- a byte flipped on disk
    data = os.urandom(300000)
    path = os.path.join(TMP, "in-corrupt")
    with open(path, "wb") as f:
        f.write(data)
    r = dnc("write", path)
    check(r.returncode == 0, "write the needle to corrupt")
    if r.returncode == 0:
        key, vuid, chunk, off, _ = r.stdout.split()
        vdir = [d for n in nodes for d in n["dirs"] if volume_uid(d) == vuid][0]
        cf = os.path.join(vdir, "volume", "chunk-%08u.dat" % int(chunk))
        nblocks = (len(data) + 65535) // 65536
        payload_at = int(off) + 64 + (4 * nblocks + 7) // 8 * 8
        with open(cf, "r+b") as f:
            f.seek(payload_at + 70000)
            b = f.read(1)
            f.seek(payload_at + 70000)
            f.write(bytes([b[0] ^ 0x20]))
        out = os.path.join(TMP, "out")
        r = dnc("read", key, 69000, 2000, out)
        check(r.returncode == 3 and "ECORRUPT" in r.stderr,
              "read over the flipped byte: ECORRUPT (%d %s)" % (r.returncode, r.stderr.strip()))
        r = dnc("read", key, 0, len(data), out)
        check(r.returncode == 3 and "ECORRUPT" in r.stderr, "whole read: ECORRUPT")
        r = dnc("read", key, 0, 1000, out)
        check(r.returncode == 0 and open(out, "rb").read() == data[:1000],
              "an intact block still reads")

    # --- two gateways storing object data on the datanodes
    gateway_checks(nodes)

    # --- SIGKILL -> down
    victim = nodes[2]
    victim["proc"].send_signal(signal.SIGKILL)
    victim["proc"].wait()
    killed_at = time.time()
    addr = "127.0.0.1:%d" % victim["port"]
    down_after = None
    # generous deadline: the property is "marked down once its heartbeats
    # stop", not how fast a loaded machine gets there (5 s timeout + listing)
    while time.time() - killed_at < 60:
        rows = listing()
        if rows.get(addr, {}).get("state") == "down":
            down_after = time.time() - killed_at
            break
        time.sleep(0.2)
    check(down_after is not None, "killed datanode marked down (%r s)" % down_after)
    print("killed datanode marked down after %r s" % down_after)
    # the live ones are up (a starved heartbeat may lag for a moment: look again)
    for _ in range(50):
        if all(rows[a]["state"] == "up" for a in rows if a != addr):
            break
        time.sleep(0.5)
        rows = listing()
    check(all(rows[a]["state"] == "up" for a in rows if a != addr), "the others stay up")
    # a clean stop (SIGTERM) is down at once
    n1 = nodes[1]
    n1["proc"].send_signal(signal.SIGTERM)
    try:
        n1["proc"].wait(timeout=15)
        exited = True
    except subprocess.TimeoutExpired:
        exited = False
    check(exited and n1["proc"].returncode == 0, "SIGTERM: the datanode exits cleanly")
    rows = listing()
    check(rows.get("127.0.0.1:%d" % n1["port"], {}).get("state") == "down",
          "a stopped datanode is down at once")
    # new writes go to the live datanodes only
    r = dnc("write", os.path.join(TMP, "in-4095"))
    if r.returncode == 0:
        vuid = r.stdout.split()[1]
        check(vuid not in [volume_uid(d) for d in victim["dirs"]], "no write to the dead node")
    else:
        check(False, "write after the kill: %s" % r.stderr.strip())


def start_gateway(name):
    return proctest.start_gateway(PROCS, KURA, name, META, SECRET)


def gateway_checks(nodes):
    """kura serve --datanodes-from-meta: an object PUT through one gateway
    is read through another, whole and by range; its bytes are on the
    datanodes, not in the gateways' directories; a datanode started later
    is picked up by both gateways."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        print("boto3 missing: gateway checks skipped")
        return
    urls = [start_gateway("gw0"), start_gateway("gw1")]
    check(all(urls), "two gateways on the datanodes started: %r" % urls)
    if not all(urls):
        return
    cfg = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1})
    c0, c1 = [boto3.client("s3", endpoint_url=u, aws_access_key_id="dnroot",
                           aws_secret_access_key="dnroot-secret-key", region_name="us-east-1",
                           config=cfg) for u in urls]
    before = sum(chunk_bytes(n) for n in nodes)
    c0.create_bucket(Bucket="dn-bucket")
    objs = {"small": os.urandom(1000), "big": os.urandom(9 * 1024 * 1024 + 17), "empty": b""}
    for k, v in objs.items():
        c0.put_object(Bucket="dn-bucket", Key=k, Body=v)
    for k, v in objs.items():
        got = c1.get_object(Bucket="dn-bucket", Key=k)["Body"].read()
        check(got == v, "object %s written via gateway 0 reads via gateway 1" % k)
    got = c1.get_object(Bucket="dn-bucket", Key="big", Range="bytes=4194000-4194999")["Body"].read()
    check(got == objs["big"][4194000:4195000], "ranged GET through the other gateway")
    after = sum(chunk_bytes(n) for n in nodes)
    check(after - before >= sum(len(v) for v in objs.values()), "the bytes are on the datanodes")
    for g in ("gw0", "gw1"):
        check(not os.path.exists(os.path.join(TMP, g, "volume")), "%s keeps no local volume" % g)
    # a datanode joining later takes new data, and both gateways find it
    late = start_datanode("dn3", "z4")
    addr = "127.0.0.1:%d" % late["port"]
    deadline = time.time() + 20
    while time.time() < deadline and listing().get(addr, {}).get("state") != "up":
        time.sleep(0.2)
    # the gateways' watchers look every 2 s; keep writing until the newcomer
    # takes some (a generous deadline, not a timing assertion)
    late_objs = {}
    deadline = time.time() + 90
    i = 0
    while time.time() < deadline and (i < 12 or chunk_bytes(late) == 0):
        k, v = "late-%d" % i, os.urandom(3000 + i)
        c0.put_object(Bucket="dn-bucket", Key=k, Body=v)
        late_objs[k] = v
        i += 1
        if i >= 12 and chunk_bytes(late) == 0:
            time.sleep(0.5)
    check(chunk_bytes(late) > 0, "a datanode registered after the gateways started takes data")
    for k, v in late_objs.items():
        got = c1.get_object(Bucket="dn-bucket", Key=k)["Body"].read()
        check(got == v, "%s reads through the other gateway" % k)


proctest.run(main, T, PROCS, TMP)
