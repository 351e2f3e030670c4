# SPDX-License-Identifier: Apache-2.0
"""What the multi-process tests (datanodes, gateways) share: a tally of
checks, free ports, processes that die with the test, a gateway started
on the datanodes, and the run/report/cleanup frame.

    META, SECRET, TMP, T, procs = proctest.cluster_test("name")
    check = T.check
    proctest.run(main, T, procs, TMP)   # never returns
"""

import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback


class Tally:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, cond, what):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL:", what, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def cluster_test(name, boto3=True):
    """The frame of a test on datanodes: (META, SECRET, TMP, Tally, Procs):
    the Redis of deploy/redis-local.sh, a fresh cluster secret, a temporary
    directory for the processes and their logs. Exits 77 (skipped) outside
    deploy/redis-local.sh, or without boto3 when the test needs it."""
    meta = os.environ.get("KURA_META_URL")
    if not meta:
        print("%s: run under deploy/redis-local.sh (KURA_META_URL)" % sys.argv[0])
        sys.exit(77)
    if boto3:
        import importlib.util
        if importlib.util.find_spec("boto3") is None:
            print("boto3 missing")
            sys.exit(77)
    secret = "%s-secret-%016x" % (name, random.getrandbits(64))
    tmp = tempfile.mkdtemp(prefix="kura-%s-" % name)
    return meta, secret, tmp, Tally(), Procs(tmp)


class Procs:
    """Processes started by a test: killed with it (pdeathsig), logs in
    DIR/NAME.log."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.all = []

    def spawn(self, name, args, env=None):
        log = open(os.path.join(self.tmp, name + ".log"), "a")
        p = subprocess.Popen(["setpriv", "--pdeathsig", "KILL", "--"] + args, stdout=log,
                             stderr=subprocess.STDOUT, env=env)
        self.all.append(p)
        return p

    def stop_all(self):
        """SIGTERM to every process still running; returns their exit codes
        (a sanitizer's report at exit makes one non-zero)."""
        alive = [p for p in self.all if p.poll() is None]
        for p in alive:
            p.send_signal(signal.SIGTERM)
        for p in alive:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        return [p.returncode for p in alive]


def start_gateway(procs, kura, name, meta, secret, extra=(), user=("dnroot", "dnroot-secret-key")):
    """kura serve --datanodes-from-meta on a free port; its URL once it
    accepts connections, None if it does not start."""
    port = free_port()
    env = dict(os.environ, KURA_ROOT_ACCESS_KEY=user[0], KURA_ROOT_SECRET_KEY=user[1])
    admin = [] if "--admin-listen" in extra else ["--admin-listen", "off"]
    p = procs.spawn(name, [kura, "serve", "--listen", "127.0.0.1:%d" % port, "--data",
                           os.path.join(procs.tmp, name), "--meta", meta, "--datanodes-from-meta",
                           "--cluster-secret", secret] + admin + list(extra),
                    env=env)
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return "http://127.0.0.1:%d" % port
        except OSError:
            if p.poll() is not None:
                break
            time.sleep(0.1)
    return None


def datanode_state(kura, meta, port):
    """up if a datanode registered at 127.0.0.1:port is up (one back blank
    registers a new id at the old address), else down, or None."""
    r = subprocess.run([kura, "datanode", "list", "--meta", meta, "--down-after", "2000"],
                       capture_output=True, text=True)
    states = [f[1] for f in (line.split(" ") for line in r.stdout.splitlines())
              if len(f) > 4 and f[4] == "127.0.0.1:%d" % port]
    return "up" if "up" in states else (states[0] if states else None)


def wait_datanode(kura, meta, port, want, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if datanode_state(kura, meta, port) == want:
            return True
        time.sleep(0.2)
    return False


def chunk_files(node):
    """The chunk files of a datanode started with one --data node["dir"]."""
    vd = os.path.join(node["dir"], "volume")
    return [os.path.join(vd, f) for f in sorted(os.listdir(vd))
            if f.startswith("chunk-") and f.endswith(".dat")] if os.path.isdir(vd) else []


def fsck(kura, meta, secret, *flags, cmd="fsck"):
    """kura admin fsck|repair: exit code, the counts of its last line
    (-1 when missing), and its output."""
    r = subprocess.run([kura, "admin", cmd, "--meta", meta, "--cluster-secret", secret] +
                       list(flags), capture_output=True, text=True, timeout=300)
    last = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
    m = re.match(r"(\d+) objects, (\d+) healthy, (\d+) degraded, (\d+) lost$", last)
    res = {"rc": r.returncode, "out": r.stdout, "err": r.stderr[-2000:]}
    if m:
        res.update(objects=int(m.group(1)), healthy=int(m.group(2)), degraded=int(m.group(3)),
                   lost=int(m.group(4)))
    else:
        res.update(objects=-1, healthy=-1, degraded=-1, lost=-1)
        print("fsck output:", r.stdout[-500:], r.stderr[-1500:])
    return res


def s3_client(url, user):
    import boto3
    from botocore.config import Config
    cfg = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                 read_timeout=120, connect_timeout=10)
    return boto3.client("s3", endpoint_url=url, aws_access_key_id=user[0],
                        aws_secret_access_key=user[1], region_name="us-east-1", config=cfg)


def run(main, tally, procs, tmp, clean_exit=False):
    """Runs main; a crash is a failure. Then stops every process (with
    clean_exit, each must exit with 0), prints the logs if anything
    failed, removes tmp, prints the tally and exits 1 on any failure."""
    try:
        main()
    except Exception:  # a crash is a failure, with the logs
        traceback.print_exc()
        tally.failed += 1
    finally:
        codes = procs.stop_all()
        if clean_exit:
            tally.check(all(c == 0 for c in codes),
                        "every process exits cleanly on SIGTERM: %r" % codes)
        for n in sorted(os.listdir(tmp)):
            if n.endswith(".log") and tally.failed:
                print("---- %s" % n)
                print(open(os.path.join(tmp, n)).read()[-4000:])
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (tally.passed, tally.failed))
    sys.exit(1 if tally.failed else 0)
