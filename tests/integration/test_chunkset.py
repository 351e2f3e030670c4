#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Replicated chunksets (issue 8) with real processes.

    deploy/redis-local.sh shards python3 test_chunkset.py KURA

Four `kura datanode` processes in three zones and two gateways
(`kura serve --datanodes-from-meta`, 3 replicas) on the Redis of
KURA_META_URL. Checks, through boto3:
  * objects of many sizes (empty, one byte, one block, several blocks, two
    segments, multipart) PUT through one gateway read byte-exact through the
    other, whole and by ranges;
  * every object's bytes are on disk on three distinct datanodes, the
    three ssd ones (hybrid placement) while they are up;
  * a byte flipped in two of the three copies: reads are still exact (they
    fall over to the intact copy); in all three: a 500, never wrong bytes,
    and the gateway logs the bad members;
  * a datanode with a full disk: its chunksets are sealed, writes go on
    with 3 copies elsewhere and nothing more lands on it;
  * a datanode SIGKILLed while 6 clients write: every acknowledged object
    reads back and has three copies; writes go on over the other three;
  * two datanodes killed: every object still reads through both gateways;
    with two datanodes up a PUT fails (5xx), never a 2-copy success; one
    back: PUTs succeed again, with three copies;
  * a datanode back blank (disk replaced): `kura admin fsck` reports the
    objects degraded, `--deep` also the corrupt copies, `kura admin repair`
    re-replicates onto other datanodes, then `fsck --deep` reports 0
    degraded, 0 lost; a gateway with a short --scrub-interval finds a
    corrupt copy and re-replicates it by itself; every object reads with two
    more datanodes killed.
Prints 'N passed, N failed'; exit 1 on any failure.
"""

import os
import random
import re
import shutil
import signal
import sys
import threading
import time

import proctest

KURA = sys.argv[1]
META, SECRET, TMP, T, procs = proctest.cluster_test("cs")
from botocore.exceptions import ClientError  # noqa: E402 - after the skip check

check = T.check
free_port = proctest.free_port
chunk_files = proctest.chunk_files


def state_of(port):
    return proctest.datanode_state(KURA, META, port)


def wait_state(port, want, timeout=60):
    return proctest.wait_datanode(KURA, META, port, want, timeout)


def client(url):
    return proctest.s3_client(url, ('csroot', 'csroot-secret-key'))


def fsck(*flags, cmd="fsck"):
    return proctest.fsck(KURA, META, SECRET, *flags, cmd=cmd)


def start_datanode(node, extra=()):
    node["proc"] = procs.spawn(node["name"], [
        KURA, "datanode", "--listen", "127.0.0.1:%d" % node["port"], "--zone", node["zone"],
        "--media", node["media"],
        "--secret", SECRET, "--meta", META, "--data", node["dir"], "--heartbeat", "300"] +
        list(extra))


def restart_datanode(node, extra=()):
    node["proc"].send_signal(signal.SIGTERM)
    node["proc"].wait()
    start_datanode(node, extra)
    return wait_state(node["port"], "up")




def start_gateway(name):
    return proctest.start_gateway(procs, KURA, name, META, SECRET,
                                  user=("csroot", "csroot-secret-key"))




def snapshot(nodes):
    """Every chunk file of every datanode: [(node name, path, bytes)]."""
    return [(n["name"], path, open(path, "rb").read()) for n in nodes for path in chunk_files(n)]


def copies(snap, data):
    """(node, file, offset) of every place the payload's first bytes are."""
    probe = data[:64]
    found = []
    for name, path, blob in snap:
        at = blob.find(probe)
        while at >= 0:
            found.append((name, path, at))
            at = blob.find(probe, at + 1)
    return found


def nodes_with_copy(snap, data):
    return {name for name, _, _ in copies(snap, data)}



def brief(r):
    return {k: v for k, v in r.items() if k not in ("out", "err")}


def read_all(c, bucket, objs, what):
    ok = True
    for k, v in objs.items():
        try:
            got = c.get_object(Bucket=bucket, Key=k)["Body"].read()
        except Exception as e:  # noqa: BLE001 - reported as a failure
            got = repr(e)
        if got != v:
            ok = False
            print("  %s: %s differs (%d bytes wanted)" % (what, k, len(v)))
    check(ok, what)


def main():
    zones = ["z1", "z2", "z3", "z1"]
    nodes = []
    for i, z in enumerate(zones):
        n = {"name": "dn%d" % i, "zone": z, "port": free_port(),
             "dir": os.path.join(TMP, "dn%d" % i), "media": "hdd" if i == 3 else "ssd"}
        start_datanode(n)
        nodes.append(n)
    for n in nodes:
        check(wait_state(n["port"], "up"), "%s registered up" % n["name"])
    urls = [start_gateway("gw0"), start_gateway("gw1")]
    check(all(urls), "gateways started: %r" % urls)
    if not all(urls):
        return
    c0, c1 = client(urls[0]), client(urls[1])
    c0.create_bucket(Bucket="cs-bucket")

    # --- sizes, through one gateway and back through the other
    objs = {}
    for size in (0, 1, 1000, 65536, 65536 * 3 + 7, 300 * 1024, 9 * 1024 * 1024 + 17):
        k = "size-%d" % size
        objs[k] = os.urandom(size)
        c0.put_object(Bucket="cs-bucket", Key=k, Body=objs[k])
    mp = c0.create_multipart_upload(Bucket="cs-bucket", Key="multipart")
    parts, body = [], b""
    for i, size in enumerate((5 * 1024 * 1024, 1024 + 3)):
        data = os.urandom(size)
        body += data
        r = c0.upload_part(Bucket="cs-bucket", Key="multipart", UploadId=mp["UploadId"],
                           PartNumber=i + 1, Body=data)
        parts.append({"PartNumber": i + 1, "ETag": r["ETag"]})
    c0.complete_multipart_upload(Bucket="cs-bucket", Key="multipart", UploadId=mp["UploadId"],
                                 MultipartUpload={"Parts": parts})
    objs["multipart"] = body
    read_all(c1, "cs-bucket", objs, "every object reads byte-exact through the other gateway")
    big = objs["size-%d" % (9 * 1024 * 1024 + 17)]
    for a, b in ((0, 0), (8 * 1024 * 1024 - 5, 8 * 1024 * 1024 + 5), (4194000, 4194999)):
        got = c1.get_object(Bucket="cs-bucket", Key="size-%d" % len(big),
                            Range="bytes=%d-%d" % (a, b))["Body"].read()
        check(got == big[a:b + 1], "range %d-%d across segments" % (a, b))

    # --- hybrid placement: with three ssd datanodes up, nothing on the hdd one
    hdd = nodes[3]
    check(sum(os.path.getsize(f) for f in chunk_files(hdd)) == 0,
          "replicated chunksets go to the ssd datanodes while 3 are up")

    # --- three copies on three datanodes
    snap = snapshot(nodes)
    for k, v in objs.items():
        if len(v) >= 64:
            where = nodes_with_copy(snap, v)
            check(len(where) == 3, "%s has copies on 3 datanodes: %s" % (k, sorted(where)))

    # --- corruption in two of three copies: reads fall over to the third
    victim = objs["size-%d" % (65536 * 3 + 7)]
    places = copies(snap, victim)
    check(len(places) == 3, "three copies of the victim found: %d" % len(places))
    for _, path, at in places[:2]:
        with open(path, "r+b") as f:
            f.seek(at + 100)
            b = f.read(1)
            f.seek(at + 100)
            f.write(bytes([b[0] ^ 0xFF]))
    for c, g in ((c0, "gw0"), (c1, "gw1")):
        got = c.get_object(Bucket="cs-bucket", Key="size-%d" % len(victim))["Body"].read()
        check(got == victim, "%s reads exact bytes with two copies corrupt" % g)
    # (two of its copies stay bad: no repair yet, so later kills may take the third)
    objs.pop("size-%d" % len(victim))
    # every copy corrupt: an error, never wrong bytes, and the log says why
    lost = objs.pop("size-65536")
    for _, path, at in copies(snap, lost):
        with open(path, "r+b") as f:
            f.seek(at + 5)
            b = f.read(1)
            f.seek(at + 5)
            f.write(bytes([b[0] ^ 0xFF]))
    # (the first window is read before the headers go out: an error
    # status, with an error document of its own, not a body cut short)
    outcome = None
    try:
        got = c0.get_object(Bucket="cs-bucket", Key="size-65536")["Body"].read()
        outcome = "%d bytes" % len(got)
    except ClientError as e:
        outcome = e.response["ResponseMetadata"]["HTTPStatusCode"]
    except Exception as e:  # noqa: BLE001 - the body cut short
        outcome = type(e).__name__
    check(outcome == 500, "all three copies corrupt: a 500, not wrong bytes (%r)" % outcome)
    logs = open(os.path.join(TMP, "gw0.log")).read()
    check("ECORRUPT" in logs and "failed a read" in logs, "the bad copies are reported in the log")

    # --- a datanode whose disk is full (a reserve it cannot keep) takes no
    # more needles: its chunksets are sealed, new ones go elsewhere
    full = nodes[0]
    check(restart_datanode(full, ["--min-free-space", "99%"]), "dn0 back with a 99% reserve")
    before = sum(os.path.getsize(f) for f in chunk_files(full))
    more = {}
    for i in range(20):
        k, v = "full-%d" % i, os.urandom(3000 + i)
        try:
            c0.put_object(Bucket="cs-bucket", Key=k, Body=v)
            more[k] = v
        except ClientError as e:
            print("  PUT with dn0 full:", e)
    check(len(more) == 20, "writes go on with one datanode full: %d of 20" % len(more))
    check(sum(os.path.getsize(f) for f in chunk_files(full)) == before,
          "nothing more is written to the full datanode")
    snap = snapshot(nodes)
    check(all(len(nodes_with_copy(snap, v)) == 3 for v in more.values()),
          "the writes have 3 copies on the other datanodes")
    read_all(c1, "cs-bucket", more, "the writes read back")
    objs.update(more)
    check(restart_datanode(full), "dn0 back with room")

    # --- a datanode killed while 6 clients write
    acked, errors, stop = {}, [], threading.Event()
    lock = threading.Lock()

    def writer(t):
        c = client(urls[t % 2])
        i = 0
        while not stop.is_set():
            k, v = "w%d-%d" % (t, i), os.urandom(random.choice((100, 5000, 70000)))
            i += 1
            time.sleep(0.1)
            try:
                c.put_object(Bucket="cs-bucket", Key=k, Body=v)
                with lock:
                    acked[k] = v
            except Exception as e:  # noqa: BLE001 - an error is an allowed outcome
                with lock:
                    errors.append(repr(e)[:120])

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(6)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    killed = nodes[1]
    killed["proc"].send_signal(signal.SIGKILL)
    killed["proc"].wait()
    time.sleep(8)  # past the heartbeat timeout: writes go on without it
    n_before = len(acked)
    time.sleep(3)
    stop.set()
    for t in threads:
        t.join()
    print("writes during the kill: %d acknowledged, %d failed %r" % (len(acked), len(errors),
                                                                      errors[:3]))
    check(len(acked) > n_before, "writes succeed again once the dead datanode is down")
    read_all(c1, "cs-bucket", acked, "every acknowledged write reads back")
    snap = snapshot(nodes)
    short = [k for k, v in acked.items() if len(nodes_with_copy(snap, v)) < 3]
    check(not short, "every acknowledged write has 3 copies (%d short: %r)" % (len(short),
                                                                              short[:5]))
    start_datanode(killed)
    check(wait_state(killed["port"], "up"), "the killed datanode is back up")
    for k in random.sample(sorted(acked), min(len(acked), 200)):
        objs[k] = acked[k]

    # --- two datanodes down: everything reads, writes are refused
    down = [nodes[0], nodes[2]]
    for n in down:
        n["proc"].send_signal(signal.SIGKILL)
        n["proc"].wait()
    read_all(c0, "cs-bucket", objs, "with 2 of 4 datanodes killed, every object reads via gw0")
    read_all(c1, "cs-bucket", objs, "with 2 of 4 datanodes killed, every object reads via gw1")
    for n in down:
        check(wait_state(n["port"], "down"), "%s marked down" % n["name"])
    status = None
    try:
        c0.put_object(Bucket="cs-bucket", Key="two-up", Body=b"x" * 1000)
        status = 200
    except ClientError as e:
        status = e.response["ResponseMetadata"]["HTTPStatusCode"]
    check(status is not None and status >= 500, "a PUT with 2 datanodes up fails: %r" % status)
    with_one = nodes[0]
    start_datanode(with_one)
    check(wait_state(with_one["port"], "up"), "a datanode back: 3 up")
    data = os.urandom(4000)
    ok = False
    deadline = time.time() + 30
    while time.time() < deadline and not ok:
        try:
            c1.put_object(Bucket="cs-bucket", Key="three-up", Body=data)
            ok = True
        except ClientError:
            time.sleep(1)
    check(ok, "with 3 datanodes up PUTs succeed again")
    if ok:
        got = c0.get_object(Bucket="cs-bucket", Key="three-up")["Body"].read()
        check(got == data, "the new object reads back")
        check(len(nodes_with_copy(snapshot(nodes), data)) == 3, "the new object has 3 copies")
        objs["three-up"] = data

    # --- fsck and repair: a datanode comes back blank (disk replaced)
    # (the objects of the corruption test go: their good copies may be anywhere)
    c0.delete_object(Bucket="cs-bucket", Key="size-65536")
    c0.delete_object(Bucket="cs-bucket", Key="size-%d" % len(victim))
    # one copy of a fresh object corrupt: only a deep fsck sees it
    bad = os.urandom(70000)
    c0.put_object(Bucket="cs-bucket", Key="bad-copy", Body=bad)
    objs["bad-copy"] = bad
    place = copies(snapshot(nodes), bad)
    check(len(place) == 3, "the fresh object has 3 copies: %d" % len(place))
    with open(place[0][1], "r+b") as f:
        f.seek(place[0][2] + 1000)
        b = f.read(1)
        f.seek(place[0][2] + 1000)
        f.write(bytes([b[0] ^ 0xFF]))
    total = sum(len(pg.get("Contents", [])) for pg in
                c0.get_paginator("list_objects_v2").paginate(Bucket="cs-bucket"))
    blank = nodes[2]
    shutil.rmtree(blank["dir"])
    start_datanode(blank)
    check(wait_state(blank["port"], "up"), "the blank datanode registers up")
    shallow = fsck()
    print("fsck with a blank datanode:", brief(shallow))
    check(shallow["rc"] == 1 and shallow["degraded"] > 0 and shallow["lost"] == 0,
          "fsck sees the copies the blank datanode lost: %r" % shallow)
    deep = fsck("--deep")
    print("fsck --deep:", brief(deep))
    check(deep["lost"] == 0 and "degraded cs-bucket/bad-copy" in deep["out"] and
          ("degraded cs-bucket/bad-copy" not in shallow["out"] or deep["degraded"] >
           shallow["degraded"]) and "ECORRUPT" in deep["err"],
          "fsck --deep also sees the corrupt copy: %r" % brief(deep))
    check(deep["objects"] == shallow["objects"] == total,
          "fsck counts every object: %d for %d" % (deep["objects"], total))
    rep = fsck(cmd="repair")
    print("repair:", brief(rep))
    check(rep["rc"] == 0 and rep["healthy"] == rep["objects"] == total and
          "members replaced" in rep["err"], "repair restores every object")
    after = fsck("--deep")
    print("fsck --deep after repair:", brief(after))
    check(after["rc"] == 0 and after["degraded"] == 0 and after["lost"] == 0 and
          after["healthy"] == after["objects"] == total,
          "after repair: 0 degraded, 0 lost: %r" % brief(after))
    check(sum(os.path.getsize(f) for f in chunk_files(blank)) > 0,
          "the blank datanode took copies back")
    # --- the background scrubber finds a corrupt copy and re-replicates it
    scrub_me = os.urandom(70000)
    c0.put_object(Bucket="cs-bucket", Key="scrub-me", Body=scrub_me)
    objs["scrub-me"] = scrub_me
    place = copies(snapshot(nodes), scrub_me)
    with open(place[-1][1], "r+b") as f:
        f.seek(place[-1][2] + 2000)
        b = f.read(1)
        f.seek(place[-1][2] + 2000)
        f.write(bytes([b[0] ^ 0xFF]))
    check(fsck("--deep", "--quiet")["degraded"] == 1, "fsck --deep sees the corrupt copy")
    admin_port = free_port()
    gw2 = proctest.start_gateway(procs, KURA, "gw2", META, SECRET,
                                 extra=["--scrub-interval", "1", "--scrub-pause", "0",
                                        "--admin-listen", "127.0.0.1:%d" % admin_port],
                                 user=("csroot", "csroot-secret-key"))
    check(gw2 is not None, "a gateway with a 1 s scrub interval starts")
    healed = None
    deadline = time.time() + 60
    while time.time() < deadline:
        r = fsck("--deep", "--quiet")
        if r["rc"] == 0 and r["healthy"] == r["objects"]:
            healed = r
            break
        time.sleep(1)
    check(healed is not None, "the scrubber re-replicated the corrupt copy: %r" % healed)
    log = open(os.path.join(TMP, "gw2.log")).read()
    check(re.search(r"scrub: .* [1-9][0-9]* members replaced", log) is not None,
          "the scrub pass is logged with what it replaced")
    # ... and counted in its metrics, with the cluster's series
    import urllib.request
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % admin_port,
                                  timeout=10).read().decode()
    series = dict(line.rsplit(" ", 1) for line in text.splitlines()
                  if line.startswith("kura_") and " " in line)
    check(float(series.get("kura_scrub_passes_total", 0)) >= 1 and
          float(series.get("kura_scrub_members_replaced_total", 0)) >= 1,
          "scrub metrics: %r" % {k: v for k, v in series.items() if "scrub" in k})
    # 4 up (dn2 registered again under a new id when it came back blank), 1
    # down (its old id)
    check(float(series.get("kura_datanodes_up", 0)) == 4 and
          float(series.get("kura_datanodes_down", -1)) == 1,
          "datanode metrics: up %r down %r" % (series.get("kura_datanodes_up"),
                                               series.get("kura_datanodes_down")))
    c2 = client(gw2)
    c2.put_object(Bucket="cs-bucket", Key="via-gw2", Body=b"m" * 5000)
    objs["via-gw2"] = b"m" * 5000
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % admin_port,
                                  timeout=10).read().decode()
    check(re.search(r"^kura_chunkset_needles_stored_total [1-9]", text, re.M) is not None and
          re.search(r"^kura_chunkset_open [1-9]", text, re.M) is not None,
          "chunkset metrics count the write")
    # repaired copies are real copies: kill two other datanodes, read everything
    for n in (nodes[0], nodes[1]):
        n["proc"].send_signal(signal.SIGKILL)
        n["proc"].wait()
    read_all(c1, "cs-bucket", objs, "after repair, with 2 other datanodes killed, all reads exact")


proctest.run(main, T, procs, TMP, clean_exit=True)
