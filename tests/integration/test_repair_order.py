#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Repair of a stripeset with m members gone and a corrupt block on a
survivor, with real processes.

    deploy/redis-local.sh shards python3 test_repair_order.py KURA

Five `kura datanode` processes in three zones and a gateway storing
segments of 256 KiB and more as RS(3,2) stripes (`--ec-data 3 --ec-parity 2
--ec-threshold 256K`; with 5 datanodes every stripeset has a block on each).
Six one-stripe objects (300 KiB - 1 MiB) and a few small replicated ones.
A byte is flipped in a data block of one stripe object X on datanode A;
then two other datanodes B and C are SIGKILLed and come back blank (new
ids). Every stripe but X's now has exactly k = 3 good blocks, A's among
them; X has 2 (lost). Checks:
  * before: fsck --deep sees X degraded (the flip hit a checked block),
    then, with B and C blank, X lost and nothing else lost;
  * repair rebuilds the gone members first, from A's good blocks too, and
    never swaps A out in a way that loses them: afterwards fsck --deep
    reports total objects, total-1 healthy, 0 degraded, 1 lost (X);
  * every other object reads byte-exact through the gateway, and a GET of
    X answers 500/503 (never wrong bytes);
  * a second repair replaces nothing and fsck --deep says the same (it
    converges);
  * with D and E (the two untouched datanodes) killed, a new gateway reads
    every object but X byte-exact: from A, B and C alone, so B and C were
    rebuilt and A kept its good blocks.
Prints 'N passed, N failed'; exit 1 on any failure.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import time

import proctest

KURA = sys.argv[1]
META, SECRET, TMP, T, procs = proctest.cluster_test("repairorder")
check = T.check
free_port = proctest.free_port
where = proctest.where
BUCKET = "ro-bucket"
USER = ("roroot", "roroot-secret-key")
EC = ["--ec-data", "3", "--ec-parity", "2", "--ec-threshold", "256K"]


def wait_state(port, want, timeout=60, down_after=2000):
    return proctest.wait_datanode(KURA, META, port, want, timeout, down_after)


def fsck(*flags, cmd="fsck"):
    return proctest.fsck(KURA, META, SECRET, *flags, cmd=cmd)


def repair():
    """kura admin repair, as fsck() answers, with its whole standard error
    in "log" (fsck() keeps the last 2000 characters)."""
    r = subprocess.run([KURA, "admin", "repair", "--meta", META, "--cluster-secret", SECRET],
                       capture_output=True, text=True, timeout=300)
    last = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
    m = re.match(r"(\d+) objects, (\d+) healthy, (\d+) degraded, (\d+) lost$", last)
    res = {"rc": r.returncode, "out": r.stdout, "err": r.stderr, "last": last}
    counts = [int(g) for g in m.groups()] if m else [-1] * 4
    res.update(zip(("objects", "healthy", "degraded", "lost"), counts))
    return res


def start_datanode(node):
    node["proc"] = procs.spawn(node["name"], [
        KURA, "datanode", "--listen", "127.0.0.1:%d" % node["port"], "--zone", node["zone"],
        "--secret", SECRET, "--meta", META, "--data", node["dir"], "--heartbeat", "300"])


def get(c, key):
    """(HTTP status, body or None)."""
    try:
        r = c.get_object(Bucket=BUCKET, Key=key)
    except Exception as e:  # noqa: BLE001 - the status is what is checked
        resp = getattr(e, "response", None) or {}
        return resp.get("ResponseMetadata", {}).get("HTTPStatusCode"), repr(e)
    try:
        return r["ResponseMetadata"]["HTTPStatusCode"], r["Body"].read()
    except Exception as e:  # noqa: BLE001 - a body cut short after a 200
        return r["ResponseMetadata"]["HTTPStatusCode"], repr(e)


def read_all(c, objs, what):
    bad = []
    for k, v in objs.items():
        status, got = get(c, k)
        if status != 200 or got != v:
            bad.append((k, status))
    check(not bad, "%s (%d differ: %r)" % (what, len(bad), bad[:5]))


def x_refused(c, key, what):
    status, got = get(c, key)
    check(status in (500, 503), "%s: a GET of %s answers 500/503, got %r%s" % (
        what, key, status, " with %d bytes" % len(got) if isinstance(got, bytes) else ""))


def not_healthy(r):
    """The 'degraded B/K' and 'lost B/K' lines of an fsck."""
    return sorted(line for line in r["out"].splitlines() if re.match(r"(degraded|lost) ", line))


def repair_counts(r):
    m = re.search(r"repair: (\d+) members replaced, (\d+) needles \((\d+) bytes\) copied, "
                  r"(\d+) repairs failed", r["err"])
    return tuple(int(g) for g in m.groups()) if m else None


def repair_lines(r):
    return [line for line in r["err"].splitlines() if "repair: " in line]


def main():
    nodes = []
    for i, z in enumerate(["z1", "z2", "z3", "z1", "z2"]):
        n = {"name": "dn%d" % i, "zone": z, "port": free_port(),
             "dir": os.path.join(TMP, "dn%d" % i)}
        start_datanode(n)
        nodes.append(n)
    for n in nodes:
        check(wait_state(n["port"], "up"), "%s registered up" % n["name"])
    url = proctest.start_gateway(procs, KURA, "gw0", META, SECRET, extra=EC, user=USER)
    check(url, "gateway started")
    if not url:
        return
    c0 = proctest.s3_client(url, USER)
    c0.create_bucket(Bucket=BUCKET)

    stripes, small = {}, {}
    for i, size in enumerate((300 * 1024, 400 * 1024 + 1, 512 * 1024 + 7, 700 * 1024 + 3,
                              900 * 1024 + 11, 1024 * 1024)):
        stripes["stripe-%d" % i] = os.urandom(size)
    for i, size in enumerate((1000, 30 * 1024 + 5, 100 * 1024)):
        small["small-%d" % i] = os.urandom(size)
    objs = dict(stripes, **small)
    for k, v in objs.items():
        c0.put_object(Bucket=BUCKET, Key=k, Body=v)
    total = len(objs)
    read_all(c0, objs, "every object reads byte-exact once written")

    # where the blocks are: each stripe's 3 data blocks (ceil(size/3)
    # bytes each) on 3 distinct datanodes, each small object on 3
    places = {}
    for k, v in stripes.items():
        bs = -(-len(v) // 3)
        places[k] = [where(nodes, v[i * bs:i * bs + 64]) for i in range(3)]
        holders = [p[0][0] for p in places[k] if len(p) == 1]
        print("%s (%d bytes): data blocks on %s" % (k, len(v), holders))
        check(len(set(holders)) == 3, "%s: its 3 data blocks on 3 datanodes: %r" % (k, places[k]))
    for k, v in small.items():
        holders = sorted({w[0] for w in where(nodes, v[:64])})
        print("%s (%d bytes): replicas on %s" % (k, len(v), holders))
        check(len(holders) == 3, "%s: 3 replicas: %r" % (k, holders))
    check(all(proctest.chunk_files(n) for n in nodes), "every datanode holds chunks")

    # X: a stripe whose first data block shares its chunk (A's member of
    # the stripeset) with data blocks of other objects, so that A's member
    # holds the corrupt block and good blocks repair needs. A byte flipped
    # inside that block, on datanode A. Data block 0 is member 0's: first
    # in member order, so a repair that takes the members in order (not
    # the gone ones first) meets A before B and C.
    def companions(k):
        chunk = places[k][0][0][1]
        return sorted(o for o in stripes if o != k and
                      any(w[1] == chunk for p in places[o] for w in p))

    xkey = max(sorted(stripes), key=lambda k: len(companions(k)) if places[k][0] else -1)
    check(places[xkey][0] and companions(xkey),
          "a stripe shares A's chunk with others: %s with %r" % (xkey, companions(xkey)))
    x = stripes[xkey]
    name_a, path, at = places[xkey][0][0]
    print("X = %s; A's chunk also holds data blocks of %r" % (xkey, companions(xkey)))
    with open(path, "r+b") as f:
        f.seek(at + 5000)
        b = f.read(1)
        f.seek(at + 5000)
        f.write(bytes([b[0] ^ 0xFF]))
    node_a = next(n for n in nodes if n["name"] == name_a)
    status, got = get(c0, xkey)
    check(status == 200 and got == x, "X with its corrupt block reads exact (decoded)")
    r = fsck("--deep")
    check(r["objects"] == total and r["healthy"] == total - 1 and r["degraded"] == 1 and
          r["lost"] == 0 and not_healthy(r) == ["degraded %s/%s" % (BUCKET, xkey)],
          "fsck --deep sees X's corrupt block on %s: %r %r" % (name_a, r["last"], not_healthy(r)))

    # B and C: the datanodes of X's other two data blocks (so X keeps no
    # good data block), killed and back blank, as after disk replacements
    names_bc = [places[xkey][i][0][0] for i in (1, 2)]
    gone = [n for n in nodes if n["name"] in names_bc]
    check(len(gone) == 2 and node_a not in gone, "B, C: two datanodes other than A: %r" % names_bc)
    for n in gone:
        n["proc"].send_signal(signal.SIGKILL)
        n["proc"].wait()
    for n in gone:
        # down by the registry's default, what repair goes by
        check(wait_state(n["port"], "down", down_after=None), "%s marked down" % n["name"])
        shutil.rmtree(n["dir"])
        start_datanode(n)
    for n in gone:
        check(wait_state(n["port"], "up"), "%s back up, blank" % n["name"])
    print("A = %s (corrupt block of %s), B, C = %s (blank)" % (name_a, xkey, names_bc))
    x_refused(c0, xkey, "with B and C blank")

    r = fsck("--deep")
    lost = ["lost %s/%s" % (BUCKET, xkey)]
    check(r["objects"] == total and r["lost"] == 1 and r["degraded"] >= len(stripes) - 1 and
          [line for line in not_healthy(r) if line.startswith("lost ")] == lost,
          "before repair fsck --deep: X lost, every other stripe degraded: %r %r"
          % (r["last"], not_healthy(r)))

    t0 = time.time()
    r = repair()
    print("repair: %.1f s; %s" % (time.time() - t0, r["last"]))
    print("\n".join(repair_lines(r)))
    counts = repair_counts(r)
    check(counts is not None and counts[0] >= 2 and counts[3] == 0,
          "repair replaces the gone members (at least 2), none failed: %r" % (counts,))
    check(r["rc"] == 1 and r["objects"] == total and r["healthy"] == total - 1 and
          r["lost"] == 1 and r["degraded"] == 0,
          "repair leaves X lost and every other object healthy: %r %r" % (r["last"],
                                                                           r["err"][-3000:]))
    check(not [line for line in repair_lines(r) if " INFO " not in line and
               not line.startswith("repair: ")],
          "repair logs no error or warning (no swap refused, no copy failed): %r"
          % repair_lines(r))
    r = fsck("--deep")
    check(r["rc"] == 1 and r["objects"] == total and r["healthy"] == total - 1 and
          r["degraded"] == 0 and r["lost"] == 1 and not_healthy(r) == lost,
          "after repair fsck --deep: %d objects, %d healthy, 0 degraded, 1 lost (X): %r %r"
          % (total, total - 1, r["last"], not_healthy(r)))
    others = {k: v for k, v in objs.items() if k != xkey}
    read_all(c0, others, "after repair every object but X reads byte-exact")
    x_refused(c0, xkey, "after repair")

    # a second run: nothing left to do
    r = repair()
    print("repair again: %s" % r["last"])
    counts = repair_counts(r)
    check(counts is not None and counts[:3] == (0, 0, 0) and counts[3] == 0,
          "a second repair replaces and copies nothing: %r %r" % (counts, repair_lines(r)))
    check(r["objects"] == total and r["healthy"] == total - 1 and r["lost"] == 1 and
          r["degraded"] == 0, "a second repair: the same counts: %r" % r["last"])
    r = fsck("--deep")
    check(r["objects"] == total and r["healthy"] == total - 1 and r["degraded"] == 0 and
          r["lost"] == 1 and not_healthy(r) == lost,
          "after a second repair fsck --deep still: %r %r" % (r["last"], not_healthy(r)))

    # D and E killed: every object but X reads from A, B and C alone
    rest = [n for n in nodes if n is not node_a and n not in gone]
    for n in rest:
        n["proc"].send_signal(signal.SIGKILL)
        n["proc"].wait()
    url1 = proctest.start_gateway(procs, KURA, "gw1", META, SECRET, extra=EC, user=USER)
    check(url1, "a second gateway started")
    if url1:
        c1 = proctest.s3_client(url1, USER)
        read_all(c1, others, "with D and E killed every object but X reads from A, B, C")
        x_refused(c1, xkey, "with D and E killed")


proctest.run(main, T, procs, TMP, clean_exit=True)
