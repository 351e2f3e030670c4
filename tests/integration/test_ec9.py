#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Erasure coding at full scale (issue 8): RS(6,3), 9 datanodes, 3 killed.

    python3 test_ec9.py KURA PATH/TO/local-cluster.sh

`deploy/local-cluster.sh up DIR --datanodes 9 --zones 3 --gateways 2`
(a Redis Cluster, 3 datanodes in each of z1, z2, z3) with gateways on
`--ec-threshold 256K` and the default code, k = 6, m = 3. Through boto3:
  * objects written through gateway 1: small ones (replicated), single
    stripes (300 KiB, 1 MiB, 5 MiB + 3), three segments (17 MiB + 5) and a
    multipart upload (parts of 5 MiB, 5 MiB + 7, 300 KiB + 1). The registry
    (chunkset records in Redis) puts every stripeset on 9 datanodes, 3 in
    each zone, and every replicated chunkset in 3 zones; on disk a stripe
    costs ~1.5x its size (a replicated object 3x) and the 6 data blocks of
    a stripe are on 6 datanodes;
  * the 3 datanodes of zone z1 SIGKILLed and marked down by the registry:
    every object reads byte-exact through both gateways, whole and by
    ranges across blocks and segments (both gateways log decoding);
  * with 6 up (< k + m): new large objects succeed, stored as 3 replicas
    (on disk), and read back exact; small ones too;
  * z1 back blank: fsck sees degraded objects and none lost; repair; then
    `fsck --deep` ends with "N objects, N healthy, 0 degraded, 0 lost" for
    all N objects, and every stripeset is on 9 datanodes that are up;
  * the 3 datanodes of zone z2 killed: every object reads exact;
  * z2 back, then 3 datanodes killed one in each zone (no replicated
    chunkset entirely among them, chosen from the registry): every object
    reads exact.
The cluster is taken down whatever happens. Prints 'N passed, N failed'.
"""

import itertools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import proctest

KURA = os.path.abspath(sys.argv[1])
SCRIPT = os.path.abspath(sys.argv[2])
if not shutil.which("redis-server") or not shutil.which("redis-cli"):
    print("SKIP: redis-server or redis-cli missing")
    sys.exit(77)
try:
    import boto3  # the clients come from proctest.s3_client
    del boto3
except ImportError:
    print("SKIP: boto3 missing")
    sys.exit(77)

K, M = 6, 3  # kura's defaults (--ec-data, --ec-parity): not set below
MiB = 1024 * 1024
SEGMENT = 8 * MiB
BUCKET = "ec9-bucket"
TMP = tempfile.mkdtemp(prefix="kura-ec9-")
DIR = os.path.join(TMP, "cluster")
CL = proctest.LocalCluster(SCRIPT, KURA, DIR, serve_args="--ec-threshold 256K")
T = proctest.Tally()
check = T.check
objs = {}


def block(seg):
    return -(-seg // K)


def read_all(clients, what):
    for gi, c in enumerate(clients):
        bad = []
        for k, v in objs.items():
            try:
                got = c.get_object(Bucket=BUCKET, Key=k)["Body"].read()
                if got != v:
                    bad.append("%s: %d bytes, differ" % (k, len(got)))
            except Exception as e:  # noqa: BLE001 - any failure is reported
                bad.append("%s: %s" % (k, e))
        check(not bad, "%s: all %d objects read byte-exact through gateway %d: %r"
              % (what, len(objs), gi + 1, bad[:3]))


def ranges():
    """(key, first, last): ranges across data blocks, segments and parts."""
    b17, b5 = block(SEGMENT), block(5 * MiB + 3)
    tail = block(17 * MiB + 5 - 2 * SEGMENT)
    return [
        ("stripe-300k", block(300 * 1024) - 1, block(300 * 1024)),
        ("stripe-300k", 10, 300 * 1024 - 1),
        ("stripe-1m", block(MiB) - 7, 3 * block(MiB) + 7),
        ("stripe-5m+3", b5 - 1, b5),
        ("stripe-5m+3", 4 * b5 + 3, 5 * MiB + 2),  # into the short last data block
        ("segments-17m+5", b17 - 5, b17 + 5),
        ("segments-17m+5", 0, 3 * b17),
        ("segments-17m+5", 5 * b17 - 10, SEGMENT + b17 + 10),  # across the segments
        ("segments-17m+5", 2 * SEGMENT + tail - 2, 2 * SEGMENT + 4 * tail + 2),
        ("segments-17m+5", 17 * MiB - 1, 17 * MiB + 4),
        ("multipart", 5 * MiB - 3, 5 * MiB + 3),  # across parts
        ("multipart", 10 * MiB + 5, 10 * MiB + 300 * 1024),
    ]


def read_ranges(clients, what):
    for gi, c in enumerate(clients):
        bad = []
        for k, a, b in ranges():
            try:
                got = c.get_object(Bucket=BUCKET, Key=k, Range="bytes=%d-%d" % (a, b))
                got = got["Body"].read()
                if got != objs[k][a:b + 1]:
                    bad.append("%s %d-%d: %d bytes, differ" % (k, a, b, len(got)))
            except Exception as e:  # noqa: BLE001
                bad.append("%s %d-%d: %s" % (k, a, b, e))
        check(not bad, "%s: %d ranged GETs across blocks exact through gateway %d: %r"
              % (what, len(ranges()), gi + 1, bad[:3]))


def redis_get(port, key):
    r = subprocess.run(["redis-cli", "-c", "-p", str(port), "get", key], capture_output=True,
                       text=True, timeout=10)
    return r.stdout if r.returncode == 0 else ""


def chunksets(meta, port):
    """Every chunkset and stripeset ever created (the records "SA" lists):
    {"id", "ec": a stripeset, "members": datanode ids, master first}."""
    vol_dn = {}
    for f in CL.listing(meta):
        for uid in f[-1].split(","):
            vol_dn[uid] = f[0]
    out = []
    for cid in redis_get(port, "SA").split():
        rec = redis_get(port, "S" + cid).splitlines()
        out.append({"id": cid, "ec": any(line.startswith("code ") for line in rec),
                    "members": [vol_dn.get(line.split()[1], "?" + line.split()[1])
                                for line in rec if line.startswith("member ")]})
    return out


def put(c, key, data):
    c.put_object(Bucket=BUCKET, Key=key, Body=data)
    objs[key] = data


def kill(nodes):
    for d in nodes:
        os.kill(d["pid"], signal.SIGKILL)
    print("SIGKILLed %s" % ", ".join("%s (%s)" % (d["name"], d["zone"]) for d in nodes),
          flush=True)


def gw_log(i):
    with open(os.path.join(DIR, "logs", "gw%d.log" % i), errors="replace") as f:
        return f.read()


def main():
    t_start = time.time()
    r = CL.lc("up", DIR, "--datanodes", "9", "--zones", "3", "--gateways", "2")
    if not check(r.returncode == 0, "up: 9 datanodes in 3 zones, 2 gateways"):
        return
    env = CL.settings()
    if not check(env, "cluster.env sources with every variable set"):
        return
    meta, secret_file = env["KURA_META"], env["KURA_CLUSTER_SECRET_FILE"]
    with open(os.path.join(DIR, "redis-nodes")) as f:
        rport = int(f.readline().split()[0])
    user = (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"])
    gws = env["KURA_GATEWAYS"].split(" ")
    c1, c2 = [proctest.s3_client(g, user) for g in gws]
    both = [c1, c2]
    dns = CL.datanodes()
    zone = {z: [d for d in dns if d["zone"] == z] for z in ("z1", "z2", "z3")}
    check(len(dns) == 9 and all(len(v) == 3 for v in zone.values()),
          "9 datanodes, 3 in each zone: %r" % [(d["name"], d["zone"]) for d in dns])
    zone_of = {d["id"]: d["zone"] for d in dns}

    # 1. objects through gateway 1; what they cost on disk
    c1.create_bucket(Bucket=BUCKET)
    for k, n in (("empty", 0), ("one", 1), ("small-1000", 1000), ("small-256k-1", 256 * 1024 - 1)):
        put(c1, k, os.urandom(n))
    for i in range(6):
        put(c1, "small-%d" % i, os.urandom(300 + 7919 * i))
    costs = {}
    for k, n in (("small-100k", 100 * 1024), ("stripe-300k", 300 * 1024), ("stripe-1m", MiB),
                 ("stripe-5m+3", 5 * MiB + 3), ("segments-17m+5", 17 * MiB + 5)):
        before = proctest.disk_bytes(dns)
        put(c1, k, os.urandom(n))
        costs[k] = (proctest.disk_bytes(dns) - before) / n
    before = proctest.disk_bytes(dns)
    mp = c1.create_multipart_upload(Bucket=BUCKET, Key="multipart")
    parts, body = [], b""
    for i, n in enumerate((5 * MiB, 5 * MiB + 7, 300 * 1024 + 1)):
        data = os.urandom(n)
        body += data
        r = c1.upload_part(Bucket=BUCKET, Key="multipart", UploadId=mp["UploadId"],
                           PartNumber=i + 1, Body=data)
        parts.append({"PartNumber": i + 1, "ETag": r["ETag"]})
    c1.complete_multipart_upload(Bucket=BUCKET, Key="multipart", UploadId=mp["UploadId"],
                                 MultipartUpload={"Parts": parts})
    objs["multipart"] = body
    costs["multipart"] = (proctest.disk_bytes(dns) - before) / len(body)
    print("bytes on disk / object size: %s" % ", ".join("%s %.3f" % kv for kv in costs.items()))
    check(2.9 <= costs.pop("small-100k") <= 3.1, "a small object costs 3x (3 replicas)")
    for k, x in costs.items():
        check(1.45 <= x <= 1.6, "%s costs ~(k+m)/k = 1.5x on disk, not 3x: %.3f" % (k, x))
    one = objs["stripe-1m"]
    holders = [{w[0] for w in proctest.where(dns, one[i * block(MiB):i * block(MiB) + 64])}
               for i in range(K)]
    check(all(len(h) == 1 for h in holders) and len(set.union(*holders)) == K,
          "the 6 data blocks of a stripe: each on one datanode, 6 datanodes: %r" % holders)
    small = {w[0] for w in proctest.where(dns, objs["small-100k"][:64])}
    check(len(small) == 3 and len({d["zone"] for d in dns if d["name"] in small}) == 3,
          "a small object: 3 replicas in 3 zones: %r" % small)
    sets = chunksets(meta, rport)
    stripes = [s for s in sets if s["ec"]]
    reps = [s for s in sets if not s["ec"]]
    check(stripes and all(len(set(s["members"])) == K + M and
                          sorted(zone_of.get(m) for m in s["members"]) == ["z1"] * 3 + ["z2"] * 3 +
                          ["z3"] * 3 for s in stripes),
          "every stripeset: 9 datanodes, 3 in each zone: %r" % stripes)
    check(reps and all(sorted(zone_of.get(m) for m in s["members"]) == ["z1", "z2", "z3"]
                       for s in reps),
          "every replicated chunkset: one member in each zone: %r" % reps)
    read_all([c2], "written through gateway 1")
    print("phase 1 (up, writes, checks) done at %.1f s" % (time.time() - t_start), flush=True)

    # 2. zone z1 down: 3 of 9 (= m) blocks of every stripe, 1 of 3 replicas
    kill(zone["z1"])
    for d in zone["z1"]:
        check(proctest.wait_datanode(KURA, meta, d["port"], "down", timeout=30, down_after=None),
              "%s marked down by the registry" % d["name"])
    t0 = time.time()
    read_all(both, "zone z1 killed")
    read_ranges(both, "zone z1 killed")
    print("reads with zone z1 down took %.1f s" % (time.time() - t0), flush=True)
    for i in (1, 2):
        check("decoding from the others" in gw_log(i), "gateway %d logged decoding reads" % i)

    # 3. 6 up, fewer than k + m: large objects are stored replicated
    up6 = zone["z2"] + zone["z3"]
    before = proctest.disk_bytes(up6)
    late = {"late-3m+1": os.urandom(3 * MiB + 1), "late-9m+3": os.urandom(9 * MiB + 3)}
    bad = []
    for i, (k, v) in enumerate(late.items()):
        try:
            put(both[i], k, v)
        except Exception as e:  # noqa: BLE001
            bad.append("%s: %s" % (k, e))
    check(not bad, "with 6 datanodes up, large uploads through both gateways succeed: %r" % bad)
    x = (proctest.disk_bytes(up6) - before) / sum(len(v) for v in late.values())
    check(2.9 <= x <= 3.1, "... stored as 3 replicas: %.3f x their size on disk" % x)
    for k, v in late.items():
        found = {w[0] for w in proctest.where(up6, v[:64])}
        check(len(found) == 3, "%s: its first bytes on 3 datanodes: %r" % (k, found))
    bad = []
    for i in range(6):
        try:
            put(both[i % 2], "late-small-%d" % i, os.urandom(100 + 4099 * i))
        except Exception as e:  # noqa: BLE001
            bad.append("late-small-%d: %s" % (i, e))
    check(not bad, "with 6 up, small uploads succeed: %r" % bad)
    read_all(both, "with zone z1 down, after the new writes")

    # 4. z1 back blank (replaced disks); fsck, repair, fsck --deep
    old = {d["id"] for d in zone["z1"]}
    for d in zone["z1"]:
        r = CL.lc("restart-datanode", DIR, d["id"], "--blank")
        check(r.returncode == 0, "restart-datanode %s --blank" % d["name"])
    dns = CL.datanodes()
    zone = {z: [d for d in dns if d["zone"] == z] for z in ("z1", "z2", "z3")}
    check(len({d["id"] for d in zone["z1"]} - old) == 3,
          "the blank datanodes registered under new ids")
    zone_of.update({d["id"]: d["zone"] for d in dns})
    total = len(objs)
    r = proctest.fsck(KURA, meta, None, secret_file=secret_file)
    check(r["objects"] == total and r["degraded"] > 0 and r["lost"] == 0,
          "fsck: the blank datanodes' blocks and replicas missing, nothing lost: %r" % r["last"])
    t0 = time.time()
    r = proctest.fsck(KURA, meta, None, cmd="repair", secret_file=secret_file)
    print("repair took %.1f s: %s" % (time.time() - t0, r["last"]), flush=True)
    check(r["rc"] == 0 and r["healthy"] == total, "repair restores every object: %r" % r["last"])
    r = proctest.fsck(KURA, meta, None, "--deep", secret_file=secret_file)
    want = "%d objects, %d healthy, 0 degraded, 0 lost" % (total, total)
    check(r["rc"] == 0 and r["last"] == want, "fsck --deep after repair: %r, want %r"
          % (r["last"], want))
    up = {d["id"] for d in dns}
    stripes = [s for s in chunksets(meta, rport) if s["ec"]]
    check(stripes and all(len(set(s["members"])) == K + M and set(s["members"]) <= up and
                          sorted(zone_of.get(m) for m in s["members"]) == ["z1"] * 3 + ["z2"] * 3 +
                          ["z3"] * 3 for s in stripes),
          "after repair every stripeset is on 9 datanodes that are up, 3 in each zone")

    # 5. another zone down: z2
    kill(zone["z2"])
    read_all(both, "repaired, then zone z2 killed")
    read_ranges(both, "repaired, then zone z2 killed")

    # 6. z2 back; then one datanode of each zone down, no whole chunkset
    for d in zone["z2"]:
        r = CL.lc("restart-datanode", DIR, d["id"])
        check(r.returncode == 0, "restart-datanode %s" % d["name"])
    dns = CL.datanodes()
    zone = {z: [d for d in dns if d["zone"] == z] for z in ("z1", "z2", "z3")}
    reps = [set(s["members"]) for s in chunksets(meta, rport) if not s["ec"]]
    best = None
    for combo in itertools.product(zone["z1"], zone["z2"], zone["z3"]):
        ids = {d["id"] for d in combo}
        if any(s <= ids for s in reps):
            continue  # all 3 replicas of some objects
        hit = sum(len(s & ids) for s in reps)
        if best is None or hit > best[0]:
            best = (hit, combo)
    if not check(best, "3 datanodes in 3 zones that hold no whole chunkset: %r" % reps):
        return
    print("%d replicated chunksets; the 3 killed hold %d of their members"
          % (len(reps), best[0]), flush=True)
    kill(best[1])
    read_all(both, "3 datanodes killed in 3 zones")
    read_ranges(both, "3 datanodes killed in 3 zones")
    print("test body took %.1f s" % (time.time() - t_start), flush=True)


proctest.run(main, T, proctest.Procs(TMP), TMP, cluster=CL)
