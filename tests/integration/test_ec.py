#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Erasure-coded stripes (issue 8) with real processes.

    deploy/redis-local.sh shards python3 test_ec.py KURA

Five `kura datanode` processes in three zones and two gateways storing
segments of 256 KiB and more as RS(3,2) stripes (`--ec-data 3 --ec-parity 2
--ec-threshold 256K`), smaller ones as 3 replicas. Checks, through boto3:
  * objects of many sizes (replicated, one stripe, two segments, multipart)
    read byte-exact through the other gateway, whole and by ranges across
    blocks;
  * on disk a stripe's data block is on one datanode only and the stripe
    costs ~5/3 of its size (3 replicas would cost 3x);
  * a byte flipped in a data block: reads still exact (decoded from the
    others);
  * a datanode killed during concurrent 1 MiB uploads: every acknowledged
    upload reads back exact;
  * 2 datanodes killed (m = 2): every object reads byte-exact through both
    gateways, by decoding; with 3 up, new large objects are stored
    replicated (fewer than k + m datanodes) and read back;
  * the two come back, one blank: fsck sees the damage, repair rebuilds the
    missing blocks (decoding them), fsck --deep reports 0 degraded, 0 lost,
    and every object reads with two other datanodes killed.
Prints 'N passed, N failed'; exit 1 on any failure.
"""

import os
import re
import shutil
import signal
import sys
import threading
import time

import proctest

KURA = sys.argv[1]
META, SECRET, TMP, T, procs = proctest.cluster_test("ec")
check = T.check
free_port = proctest.free_port
disk_bytes = proctest.disk_bytes
where = proctest.where


def state_of(port):
    return proctest.datanode_state(KURA, META, port)


def wait_state(port, want, timeout=60):
    return proctest.wait_datanode(KURA, META, port, want, timeout)


def client(url):
    return proctest.s3_client(url, ('ecroot', 'ecroot-secret-key'))


def fsck(*flags, cmd="fsck"):
    return proctest.fsck(KURA, META, SECRET, *flags, cmd=cmd)
EC = ["--ec-data", "3", "--ec-parity", "2", "--ec-threshold", "256K"]


def start_datanode(node):
    node["proc"] = procs.spawn(node["name"], [
        KURA, "datanode", "--listen", "127.0.0.1:%d" % node["port"], "--zone", node["zone"],
        "--secret", SECRET, "--meta", META, "--data", node["dir"], "--heartbeat", "300"])






def read_all(c, objs, what):
    bad = []
    for k, v in objs.items():
        try:
            got = c.get_object(Bucket="ec-bucket", Key=k)["Body"].read()
        except Exception as e:  # noqa: BLE001 - reported as a failure
            got = repr(e)
        if got != v:
            bad.append(k)
    check(not bad, "%s (%d differ: %r)" % (what, len(bad), bad[:5]))



def main():
    nodes = []
    for i, z in enumerate(["z1", "z2", "z3", "z1", "z2"]):
        n = {"name": "dn%d" % i, "zone": z, "port": free_port(),
             "dir": os.path.join(TMP, "dn%d" % i)}
        start_datanode(n)
        nodes.append(n)
    for n in nodes:
        check(wait_state(n["port"], "up"), "%s registered up" % n["name"])
    urls = [proctest.start_gateway(procs, KURA, "gw%d" % i, META, SECRET, extra=EC,
                                   user=("ecroot", "ecroot-secret-key")) for i in range(2)]
    check(all(urls), "gateways started: %r" % urls)
    if not all(urls):
        return
    c0, c1 = client(urls[0]), client(urls[1])
    c0.create_bucket(Bucket="ec-bucket")

    objs = {}
    for size in (100 * 1024, 1024 * 1024, 3 * 1024 * 1024 + 7, 9 * 1024 * 1024 + 5):
        objs["size-%d" % size] = os.urandom(size)
        c0.put_object(Bucket="ec-bucket", Key="size-%d" % size, Body=objs["size-%d" % size])
    mp = c0.create_multipart_upload(Bucket="ec-bucket", Key="multipart")
    parts, body = [], b""
    for i, size in enumerate((5 * 1024 * 1024, 300 * 1024)):
        data = os.urandom(size)
        body += data
        r = c0.upload_part(Bucket="ec-bucket", Key="multipart", UploadId=mp["UploadId"],
                           PartNumber=i + 1, Body=data)
        parts.append({"PartNumber": i + 1, "ETag": r["ETag"]})
    c0.complete_multipart_upload(Bucket="ec-bucket", Key="multipart", UploadId=mp["UploadId"],
                                 MultipartUpload={"Parts": parts})
    objs["multipart"] = body
    read_all(c1, objs, "every object reads byte-exact through the other gateway")
    big = objs["size-%d" % (9 * 1024 * 1024 + 5)]
    for a, b in ((0, 10), (1398101 - 3, 1398101 + 3), (8 * 1024 * 1024 - 2, 8 * 1024 * 1024 + 2),
                 (len(big) - 5, len(big) - 1)):
        got = c1.get_object(Bucket="ec-bucket", Key="size-%d" % len(big),
                            Range="bytes=%d-%d" % (a, b))["Body"].read()
        check(got == big[a:b + 1], "range %d-%d across blocks and segments" % (a, b))

    # on disk: a data block on one datanode; ~5/3 of the size in all
    small = objs["size-%d" % (100 * 1024)]
    check(len({w[0] for w in where(nodes, small[:64])}) == 3, "a small object: 3 replicas")
    three = objs["size-%d" % (3 * 1024 * 1024 + 7)]
    check(len({w[0] for w in where(nodes, three[:64])}) == 1,
          "a stripe's first data block is on one datanode")
    before = disk_bytes(nodes)
    six = os.urandom(6 * 1024 * 1024)
    c0.put_object(Bucket="ec-bucket", Key="six", Body=six)
    objs["six"] = six
    grown = disk_bytes(nodes) - before
    print("6 MiB object: %d bytes on disk (%.2fx)" % (grown, grown / len(six)))
    check(1.6 * len(six) <= grown <= 1.8 * len(six),
          "a stripe costs ~5/3 of its size on disk: %.2fx" % (grown / len(six)))

    # a flipped byte in a data block: decoded around
    place = where(nodes, three[:64])
    with open(place[0][1], "r+b") as f:
        f.seek(place[0][2] + 5000)
        b = f.read(1)
        f.seek(place[0][2] + 5000)
        f.write(bytes([b[0] ^ 0xFF]))
    got = c1.get_object(Bucket="ec-bucket", Key="size-%d" % len(three))["Body"].read()
    check(got == three, "a corrupt data block: the read decodes the exact bytes")

    # a datanode killed while 4 clients upload 1 MiB objects (stripes) and
    # 17 MiB ones (three segments):
    # every acknowledged object reads back exact, whatever it became
    # (a stripe before the kill, replicated after: 4 datanodes cannot hold
    # an RS(3,2) stripe); then it comes back with its data
    victim = next(n for n in nodes if n["name"] != place[0][0])
    acked, stop = {}, threading.Event()
    lock = threading.Lock()

    def writer(t):
        c = client(urls[t % 2])
        i = 0
        while not stop.is_set():
            # writer 3: bodies of three segments (stored while the next
            # segment arrives: a segment lost mid-body must fail the upload)
            size = 17 * 1024 * 1024 + i if t == 3 else 1024 * 1024 + i
            k, v = "up%d-%d" % (t, i), os.urandom(size)
            i += 1
            try:
                c.put_object(Bucket="ec-bucket", Key=k, Body=v)
                with lock:
                    acked[k] = v
            except Exception:  # noqa: BLE001 - an error is an allowed outcome
                pass

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    victim["proc"].send_signal(signal.SIGKILL)
    victim["proc"].wait()
    time.sleep(3)
    stop.set()
    for t in threads:
        t.join()
    print("uploads during the kill: %d acknowledged" % len(acked))
    check(len(acked) > 0, "uploads were acknowledged around the kill")
    check(any(k.startswith("up3-") for k in acked), "three-segment uploads were acknowledged")
    read_all(c1, acked, "every upload acknowledged around the kill reads back")
    start_datanode(victim)
    check(wait_state(victim["port"], "up"), "the killed datanode is back")
    objs.update(acked)

    # two datanodes killed, one of them the one with the corrupt block (a
    # third bad block would be one too many for m = 2): every object decodes
    bad_node = next(n for n in nodes if n["name"] == place[0][0])
    killed = [bad_node] + [n for n in nodes if n is not bad_node][:1]
    for n in killed:
        n["proc"].send_signal(signal.SIGKILL)
        n["proc"].wait()
    read_all(c0, objs, "with 2 of 5 datanodes killed, every object reads via gw0")
    read_all(c1, objs, "with 2 of 5 datanodes killed, every object reads via gw1")
    logs = open(os.path.join(TMP, "gw0.log")).read() + open(os.path.join(TMP, "gw1.log")).read()
    check("decoding from the others" in logs, "degraded reads are logged")
    for n in killed:
        check(wait_state(n["port"], "down"), "%s marked down" % n["name"])
    late = os.urandom(2 * 1024 * 1024)
    c0.put_object(Bucket="ec-bucket", Key="late", Body=late)
    objs["late"] = late
    check(len({w[0] for w in where(nodes, late[:64])}) == 3,
          "with 3 datanodes up a large object is stored as 3 replicas")
    read_all(c1, {"late": late}, "it reads back")

    # back, one blank: fsck, repair, fsck --deep
    start_datanode(killed[0])
    shutil.rmtree(killed[1]["dir"])
    start_datanode(killed[1])
    for n in killed:
        check(wait_state(n["port"], "up"), "%s back up" % n["name"])
    total = len(objs)
    r = fsck("--ec-threshold", "256K")
    check(r["objects"] == total and r["degraded"] > 0 and r["lost"] == 0,
          "fsck sees the blank datanode's blocks missing: %r" % r)
    m = re.search(r"segments: (\d+) erasure-coded, (\d+) replicated, (\d+) replicated of "
                  r"262144 bytes or more", r["err"])
    check(m and int(m.group(1)) > 0 and int(m.group(3)) >= 1,
          "fsck counts the large segments stored replicated while too few datanodes were up: %r"
          % (m.group(0) if m else r["err"][-300:]))
    r = fsck(cmd="repair")
    check(r["rc"] == 0 and r["healthy"] == total, "repair restores every object: %r" % r)
    r = fsck("--deep")
    check(r["rc"] == 0 and r["degraded"] == 0 and r["lost"] == 0 and r["healthy"] == total,
          "after repair fsck --deep: 0 degraded, 0 lost: %r" % r)
    for n in [n for n in nodes if n not in killed][:2]:
        n["proc"].send_signal(signal.SIGKILL)
        n["proc"].wait()
    read_all(c1, objs, "after repair, with 2 other datanodes killed, every object reads")


proctest.run(main, T, procs, TMP, clean_exit=True)
