#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Kage's chunkset allocation policy (issue 8, seeds/000) with real processes.

    deploy/redis-local.sh shards python3 test_chunkset_policy.py KURA

Six `kura datanode` processes, three in zone z1 and three in z2, with 1 MiB
chunks, and one gateway in z1 (`--zone z1 --open-chunksets 2
--chunkset-avg-fill 40 --chunkset-min-fill 0`). Checks, through boto3 and
the gateway's log:
  * every chunkset it creates while both zones are up spans both zones and
    has its master in z1 (the gateway's zone);
  * the fill rule: once the open chunksets are 40 % full on average, a
    write opens one more before any of them is full and sealed;
  * z2 lost (its three datanodes SIGKILLed): writes go on, on a single-zone
    chunkset in z1, and every object reads byte-exact;
  * z2 back: writes go to the multi-zone chunksets again (Kage's priority:
    multi-zone first), not to the single-zone one, whose chunk files stop
    growing; every object reads byte-exact.
Prints 'N passed, N failed'; exit 1 on any failure.
"""

import os
import re
import signal
import sys
import time

import proctest

KURA = sys.argv[1]
META, SECRET, TMP, T, procs = proctest.cluster_test("policy")
check = T.check
USER = ("polroot", "polroot-secret-key")
SIZE = 64 * 1024
CREATED = re.compile(r"chunkset: ([0-9a-f]{16}) created on 3 datanodes, zones ([^ ]+) \(master first\)")


def start_datanode(node):
    node["proc"] = procs.spawn(node["name"], [
        KURA, "datanode", "--listen", "127.0.0.1:%d" % node["port"], "--zone", node["zone"],
        "--secret", SECRET, "--meta", META, "--data", node["dir"], "--heartbeat", "300",
        "--chunk-size", "1M"])


def gateway_log():
    with open(os.path.join(TMP, "gw.log")) as f:
        return f.read()


def created():
    """[(chunkset id, [zones, master first])] in the order of the log."""
    return [(m.group(1), m.group(2).split(",")) for m in CREATED.finditer(gateway_log())]


def sizes(nodes):
    return {(n["name"], f): os.path.getsize(f) for n in nodes for f in proctest.chunk_files(n)}


def main():
    nodes = []
    for i, z in enumerate(["z1", "z1", "z1", "z2", "z2", "z2"]):
        n = {"name": "dn%d" % i, "zone": z, "port": proctest.free_port(),
             "dir": os.path.join(TMP, "dn%d" % i)}
        start_datanode(n)
        nodes.append(n)
    for n in nodes:
        check(proctest.wait_datanode(KURA, META, n["port"], "up"), "%s registered up" % n["name"])
    url = proctest.start_gateway(procs, KURA, "gw", META, SECRET, user=USER, extra=[
        "--zone", "z1", "--open-chunksets", "2", "--chunkset-avg-fill", "40",
        "--chunkset-min-fill", "0"])
    check(url, "the gateway started")
    if not url:
        return
    c = proctest.s3_client(url, USER)
    c.create_bucket(Bucket="pol")
    objs = {}

    def put(key):
        objs[key] = os.urandom(SIZE)
        c.put_object(Bucket="pol", Key=key, Body=objs[key])

    def read_all(what):
        bad = [k for k, v in objs.items()
               if c.get_object(Bucket="pol", Key=k)["Body"].read() != v]
        check(not bad, "%s (%d differ: %r)" % (what, len(bad), bad[:5]))

    # both zones up: multi-zone chunksets mastered in z1; the fill rule
    # opens one more before the first ones fill up (1 MiB chunks, two
    # chunksets written in turn: 40 % on average after about 13 objects of
    # 64 KiB, the first one full after about 32)
    for i in range(20):
        put("a%02d" % i)
    made = created()
    check(len(made) >= 2, "chunksets created: %r" % made)
    check(all(z[0] == "z1" and "z2" in z for _, z in made),
          "every chunkset spans both zones with its master in z1: %r" % made)
    log = gateway_log()
    opened = log.find("opened one more, the open ones being full enough")
    sealed = log.find(" sealed")
    check(opened >= 0, "the fill rule opened a chunkset")
    check(opened >= 0 and (sealed < 0 or opened < sealed),
          "it did so before any chunkset was full and sealed")
    check(len(made) >= 3, "three chunksets after the fill rule: %r" % made)
    read_all("every object reads byte-exact")

    # zone z2 lost: writes go on, on a single-zone chunkset in z1
    for n in nodes[3:]:
        n["proc"].send_signal(signal.SIGKILL)
        n["proc"].wait()
    for n in nodes[3:]:
        check(proctest.wait_datanode(KURA, META, n["port"], "down"), "%s down" % n["name"])
    time.sleep(5.5)  # the gateway marks them down after 5 s without a heartbeat
    before = {k for k, _ in created()}
    pre_b = sizes(nodes[:3])
    for i in range(6):
        put("b%02d" % i)
    single = [(cs, z) for cs, z in created() if cs not in before]
    check(single and all(set(z) == {"z1"} for _, z in single),
          "with z2 down, a single-zone chunkset in z1 took the writes: %r" % single)
    read_all("with z2 down, every object reads byte-exact")

    # z2 back: the multi-zone chunksets are preferred again, the single-zone
    # one gets nothing more (its chunk files: the ones z1 got during b)
    post_b = sizes(nodes[:3])
    single_files = {k: v for k, v in post_b.items() if k not in pre_b}
    check(len(single_files) == 3 * len(single),
          "the single-zone chunkset's chunk files: %r" % sorted(single_files))
    for n in nodes[3:]:
        start_datanode(n)
    for n in nodes[3:]:
        check(proctest.wait_datanode(KURA, META, n["port"], "up"), "%s up again" % n["name"])
    time.sleep(2.5)  # the gateway's view of the registry is at most 2 s old
    z2_before = sum(sizes(nodes[3:]).values())
    for i in range(8):
        put("c%02d" % i)
    grew = sum(sizes(nodes[3:]).values()) - z2_before
    check(grew >= 8 * SIZE, "z2 holds copies of the new objects again: %d bytes" % grew)
    single_ids = {cs for cs, _ in single}
    later = [(cs, z) for cs, z in created() if cs not in before and cs not in single_ids]
    check(all("z2" in z for _, z in later), "no new single-zone chunkset: %r" % later)
    now = sizes(nodes[:3])
    check(single_files and all(now.get(k) == v for k, v in single_files.items()),
          "the single-zone chunkset took none of them: %r -> %r"
          % (single_files, {k: now.get(k) for k in single_files}))
    read_all("with z2 back, every object reads byte-exact")


proctest.run(main, T, procs, TMP, clean_exit=True)
