#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""deploy/local-cluster.sh with real processes (issue 8).

    python3 test_local_cluster.py KURA PATH/TO/local-cluster.sh

  * `up DIR --datanodes 5 --zones 3 --gateways 2` returns with everything
    answering; cluster.env sets every variable (0600), DIR/datanodes has 5
    lines that match `kura datanode list` (ids, zones round-robin,
    addresses, live pids, datanode.id files); a second `up` refuses;
  * objects (small ones and 9 MiB) written through gateway 1 read
    byte-exact through gateway 2 (boto3, aws-cli v2 when /usr/bin/aws is
    there);
  * the 2 datanodes holding the most data SIGKILLed: every object still
    reads byte-exact through both gateways (3 replicas over 5 datanodes);
  * `restart-datanode DIR ID --blank` (new id, same address and zone) and
    `restart-datanode DIR ID` (same id): both registered up again, new
    writes succeed and read back through the other gateway;
  * `down DIR`: every recorded pid gone, every port closed; `down` again
    succeeds.
The cluster is taken down whatever happens. Prints 'N passed, N failed'.
"""

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import proctest

KURA = os.path.abspath(sys.argv[1])
SCRIPT = os.path.abspath(sys.argv[2])
if not shutil.which("redis-server"):
    print("SKIP: redis-server missing")
    sys.exit(77)
try:
    import boto3
    from botocore.config import Config
except ImportError:
    print("SKIP: boto3 missing")
    sys.exit(77)

TMP = tempfile.mkdtemp(prefix="kura-lc-")
DIR = os.path.join(TMP, "cluster")
CL = proctest.LocalCluster(SCRIPT, KURA, DIR)
ENV = CL.env
T = proctest.Tally()
check = T.check
lc = CL.lc
datanodes = CL.datanodes
up_rows = CL.up_rows
wait_up = CL.wait_up


def alive(pid):
    """Running and not a zombie (an exited daemon waits for init to reap it)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def dir_bytes(d):
    return sum(os.path.getsize(os.path.join(r, n)) for r, _, ns in os.walk(d) for n in ns)


def sha(b):
    return hashlib.sha256(b).hexdigest()


def read_all(clients, objs, what):
    for gi, c in enumerate(clients):
        bad = []
        for k, v in objs.items():
            try:
                got = c.get_object(Bucket="lc-bucket", Key=k)["Body"].read()
                if sha(got) != sha(v):
                    bad.append("%s: %d bytes, wrong" % (k, len(got)))
            except Exception as e:  # noqa: BLE001 - any failure is reported
                bad.append("%s: %s" % (k, e))
        check(not bad, "%s: every object reads byte-exact through gateway %d: %s"
              % (what, gi + 1, bad[:3]))


def main():
    r = lc("up", DIR, "--datanodes", "5", "--zones", "3", "--gateways", "2")
    if not check(r.returncode == 0, "up starts the cluster"):
        return
    for f in ("cluster.env", "cluster-secret"):
        check(os.stat(os.path.join(DIR, f)).st_mode & 0o777 == 0o600, "%s is 0600" % f)
    env = CL.settings()
    if not check(env, "cluster.env sources with every variable set"):
        return
    gws = env["KURA_GATEWAYS"].split(" ")
    check(len(gws) == 2 and all(re.fullmatch(r"http://127\.0\.0\.1:\d+", g) for g in gws),
          "KURA_GATEWAYS: two gateway URLs: %r" % gws)
    meta = env["KURA_META"]
    check(meta.startswith("redis-cluster://127.0.0.1:"), "KURA_META is a Redis Cluster: %r" % meta)
    check(len(env["AWS_ACCESS_KEY_ID"]) >= 16 and len(env["AWS_SECRET_ACCESS_KEY"]) >= 32,
          "generated root credentials")
    check(env["AWS_DEFAULT_REGION"] == "us-east-1", "AWS_DEFAULT_REGION")
    for g in gws:
        check(subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", g + "/"],
                             capture_output=True, text=True).stdout == "403",
              "gateway %s answers (403 to an anonymous request)" % g)

    dns = datanodes()
    check(len(dns) == 5, "DIR/datanodes has 5 lines")
    check([d["zone"] for d in dns] == ["z1", "z2", "z3", "z1", "z2"],
          "zones round-robin: %r" % [d["zone"] for d in dns])
    for d in dns:
        check(re.fullmatch(r"[0-9a-f]{16}", d["id"]), "a 16-hex id: %s" % d["id"])
        check(alive(d["pid"]), "datanode pid %d runs" % d["pid"])
        with open(os.path.join(d["dir"], "datanode.id")) as f:
            check(f.read().strip() == d["id"], "the id is datanode.id of %s" % d["dir"])
    want = sorted((d["id"], d["zone"], d["url"]) for d in dns)
    check(up_rows(meta) == want, "DIR/datanodes matches `kura datanode list`: %r vs %r"
          % (want, up_rows(meta)))
    for f in ("redis-nodes", "gateways", "pids"):
        check(os.path.exists(os.path.join(DIR, f)), "DIR/%s written" % f)

    r = lc("up", DIR)
    check(r.returncode != 0 and "runs in" in r.stderr, "a second up on a running cluster refuses")
    check(all(alive(d["pid"]) for d in datanodes()), "... and leaves it running")

    cfg = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                 read_timeout=30, connect_timeout=5)
    c1, c2 = [boto3.client("s3", endpoint_url=g, aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                           aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                           region_name=env["AWS_DEFAULT_REGION"], config=cfg) for g in gws]
    c1.create_bucket(Bucket="lc-bucket")
    objs = {"empty": b"", "one": b"x", "small": os.urandom(1000), "medium": os.urandom(100_000),
            "big-9MiB": os.urandom(9 * 1024 * 1024)}
    for i in range(8):
        objs["s%d" % i] = os.urandom(200 + 517 * i)
    for k, v in objs.items():
        c1.put_object(Bucket="lc-bucket", Key=k, Body=v)
    aws = "/usr/bin/aws" if os.path.exists("/usr/bin/aws") else None
    if aws:  # aws-cli v2: a 9 MiB multipart upload through gateway 1
        src = os.path.join(TMP, "cli-9MiB")
        data = os.urandom(9 * 1024 * 1024 + 3)
        with open(src, "wb") as f:
            f.write(data)
        aenv = dict(ENV, AWS_ACCESS_KEY_ID=env["AWS_ACCESS_KEY_ID"],
                    AWS_SECRET_ACCESS_KEY=env["AWS_SECRET_ACCESS_KEY"],
                    AWS_DEFAULT_REGION=env["AWS_DEFAULT_REGION"])
        r = subprocess.run([aws, "--endpoint-url", gws[0], "s3", "cp", "--only-show-errors", src,
                            "s3://lc-bucket/cli-9MiB"], env=aenv, capture_output=True, text=True)
        if check(r.returncode == 0, "aws s3 cp (multipart) through gateway 1: %s" % r.stderr):
            objs["cli-9MiB"] = data
    read_all([c2], objs, "written through gateway 1")
    got = c2.get_object(Bucket="lc-bucket", Key="big-9MiB", Range="bytes=4194000-4194999")
    check(got["Body"].read() == objs["big-9MiB"][4194000:4195000], "a ranged GET via gateway 2")

    # kura admin status: the cluster at a glance, as text and as JSON
    r = subprocess.run([KURA, "admin", "status", "--meta", meta, "--json"], capture_output=True,
                       text=True, timeout=60)
    st = json.loads(r.stdout) if r.returncode == 0 and r.stdout.strip() else {}
    check(st.get("datanodes", {}).get("up") == 5 and st["datanodes"]["down"] == 0 and
          sorted(d["id"] for d in st["datanodes"]["list"]) == sorted(d["id"] for d in dns) and
          st["chunksets"]["open"] >= 1 and st["chunksets"]["total"] >= st["chunksets"]["open"] and
          st["capacity"]["free"] > 0 and st["capacity"]["total"] >= st["capacity"]["free"],
          "admin status --json: 5 datanodes up, chunksets, capacity: %r" % (r.stdout[-600:],))

    # SIGKILL the two datanodes holding the most bytes
    victims = sorted(dns, key=lambda d: -dir_bytes(d["dir"]))[:2]
    print("killing datanodes %s (%s bytes)" % ([v["id"] for v in victims],
                                              [dir_bytes(v["dir"]) for v in victims]), flush=True)
    check(all(dir_bytes(v["dir"]) > len(objs["big-9MiB"]) for v in victims),
          "the victims hold data")
    for v in victims:
        os.kill(v["pid"], signal.SIGKILL)
    time.sleep(0.5)
    t0 = time.time()
    read_all([c1, c2], objs, "2 datanodes killed")
    print("reads with 2 datanodes dead took %.1f s" % (time.time() - t0), flush=True)
    deadline = time.time() + 15
    while True:
        r = subprocess.run([KURA, "admin", "status", "--meta", meta], capture_output=True,
                           text=True, timeout=60)
        if "datanodes: 3 up, 2 down" in r.stdout or time.time() > deadline:
            break
        time.sleep(0.5)
    check(r.returncode == 1 and "datanodes: 3 up, 2 down" in r.stdout and
          all(("%s DOWN" % v["id"]) in r.stdout for v in victims),
          "admin status names the 2 killed datanodes down, exit 1: %r" % r.stdout[-600:])

    # bring them back: one blank (a replaced disk), one as it was
    blank, plain = victims
    r = lc("restart-datanode", DIR, blank["id"], "--blank")
    check(r.returncode == 0, "restart-datanode --blank")
    r = lc("restart-datanode", DIR, plain["id"])
    check(r.returncode == 0, "restart-datanode")
    now = {d["url"]: d for d in datanodes()}
    nb, np_ = now.get(blank["url"], {}), now.get(plain["url"], {})
    check(nb.get("id") not in (None, blank["id"]) and nb.get("zone") == blank["zone"],
          "the blank datanode has a new id, its zone and address: %r" % nb)
    check(np_.get("id") == plain["id"] and np_.get("zone") == plain["zone"],
          "the restarted datanode keeps id, zone and address: %r" % np_)
    check(alive(nb.get("pid", 0)) and alive(np_.get("pid", 0)), "both run")
    want = sorted((d["id"], d["zone"], d["url"]) for d in datanodes())
    check(wait_up(meta, want) == want, "all 5 registered up again, as in DIR/datanodes: %r vs %r"
          % (want, up_rows(meta)))
    with open(os.path.join(DIR, "pids")) as f:
        recorded = [int(line.split()[1]) for line in f]
    check(nb.get("pid") in recorded and np_.get("pid") in recorded, "new pids recorded")

    new = {"after-%d" % i: os.urandom(300 + 4096 * i) for i in range(10)}
    new["after-big"] = os.urandom(2 * 1024 * 1024 + 5)
    bad = []
    for k, v in new.items():
        try:
            c1.put_object(Bucket="lc-bucket", Key=k, Body=v)
            objs[k] = v
        except Exception as e:  # noqa: BLE001
            bad.append("%s: %s" % (k, e))
    check(not bad, "writes succeed after the restarts: %s" % bad[:3])
    read_all([c1, c2], objs, "after the restarts")

    # down: every recorded process gone, every port closed
    ports = [int(u.rsplit(":", 1)[1]) for u in gws]
    ports += [int(d["url"].rsplit(":", 1)[1]) for d in datanodes()]
    with open(os.path.join(DIR, "redis-nodes")) as f:
        ports += [int(line.split()[0]) for line in f]
    with open(os.path.join(DIR, "gateways")) as f:
        ports += [int(line.split()[1].rsplit(":", 1)[1]) for line in f]
    check(len(ports) == 2 + 5 + 6 + 2 and all(port_open(p) for p in ports),
          "all %d ports open before down" % len(ports))
    logs = os.path.join(DIR, "logs")
    for n in sorted(os.listdir(logs)):  # for the record: what the kills made kura say
        with open(os.path.join(logs, n), errors="replace") as f:
            lines = [line.rstrip() for line in f if " ERROR " in line or " WARN " in line]
        kinds = {}
        for line in lines:
            kinds.setdefault(re.sub(r"[0-9a-f]{16}|\d+", "N", line.split(" ", 1)[1]), line)
        if lines:
            print("%s: %d ERROR/WARN lines, %d kinds:" % (n, len(lines), len(kinds)))
        for line in list(kinds.values())[:8]:
            print("    " + line)
    r = CL.down()
    check(r.returncode == 0, "down")
    deadline = time.time() + 5
    while time.time() < deadline and any(alive(p) for p in recorded):
        time.sleep(0.1)
    check(not [p for p in recorded if alive(p)], "no recorded pid alive after down: %r"
          % [p for p in recorded if alive(p)])
    check(not [p for p in ports if port_open(p)], "every port closed after down: %r"
          % [p for p in ports if port_open(p)])
    r = CL.down()
    check(r.returncode == 0 and "nothing runs" in r.stdout, "down again (idempotent)")


proctest.run(main, T, proctest.Procs(TMP), TMP, cluster=CL)
