# SPDX-License-Identifier: Apache-2.0
"""What the multi-process tests (datanodes, gateways) share: a tally of
checks, free ports, processes that die with the test, a gateway started
on the datanodes, a deploy/local-cluster.sh cluster, what the datanodes
hold on disk, and the run/report/cleanup frame.

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
        """Counts cond; returns it."""
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL:", what, flush=True)
        return cond


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


def datanode_state(kura, meta, port, down_after=2000):
    """up if a datanode registered at 127.0.0.1:port is up (one back blank
    registers a new id at the old address), else down, or None. Down after
    down_after ms without a heartbeat (None: the registry's default, 5 s,
    what the gateways go by)."""
    after = [] if down_after is None else ["--down-after", str(down_after)]
    r = subprocess.run([kura, "datanode", "list", "--meta", meta] + after,
                       capture_output=True, text=True)
    states = [f[1] for f in (line.split(" ") for line in r.stdout.splitlines())
              if len(f) > 4 and f[4] == "127.0.0.1:%d" % port]
    return "up" if "up" in states else (states[0] if states else None)


def wait_datanode(kura, meta, port, want, timeout=60, down_after=2000):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if datanode_state(kura, meta, port, down_after) == want:
            return True
        time.sleep(0.2)
    return False


def chunk_files(node):
    """The chunk files of a datanode started with one --data node["dir"]."""
    vd = os.path.join(node["dir"], "volume")
    return [os.path.join(vd, f) for f in sorted(os.listdir(vd))
            if f.startswith("chunk-") and f.endswith(".dat")] if os.path.isdir(vd) else []


def disk_bytes(nodes):
    """The bytes of the chunk files of nodes (dicts with "dir")."""
    return sum(os.path.getsize(f) for n in nodes for f in chunk_files(n))


def where(nodes, probe):
    """(node name, chunk file, offset) of every chunk file of nodes (dicts
    with "name" and "dir") that holds the bytes probe."""
    found = []
    for n in nodes:
        for path in chunk_files(n):
            with open(path, "rb") as f:
                at = f.read().find(probe)
            if at >= 0:
                found.append((n["name"], path, at))
    return found


def fsck(kura, meta, secret, *flags, cmd="fsck", secret_file=None):
    """kura admin fsck|repair (--cluster-secret SECRET, or
    --cluster-secret-file secret_file): exit code, the counts of its last
    line (-1 when missing), the line itself, and its output."""
    auth = ["--cluster-secret-file", secret_file] if secret_file else ["--cluster-secret", secret]
    r = subprocess.run([kura, "admin", cmd, "--meta", meta] + auth + list(flags),
                       capture_output=True, text=True, timeout=300)
    last = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
    m = re.match(r"(\d+) objects, (\d+) healthy, (\d+) degraded, (\d+) lost$", last)
    res = {"rc": r.returncode, "out": r.stdout, "err": r.stderr[-2000:], "last": last}
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


class LocalCluster:
    """A cluster of deploy/local-cluster.sh in DIR, driven by a test: give
    it to run() (cluster=), which takes it down whatever happens and
    prints its logs when a check failed. serve_args: KURA_SERVE_ARGS."""

    def __init__(self, script, kura, d, serve_args=None):
        self.script, self.dir = os.path.abspath(script), d
        self.kura = os.path.abspath(kura)
        self.env = dict(os.environ, KURA=self.kura)
        for k in ("KURA_SERVE_ARGS", "KURA_DATANODE_ARGS", "AWS_CA_BUNDLE"):
            self.env.pop(k, None)
        if serve_args:
            self.env["KURA_SERVE_ARGS"] = serve_args
        self.downed = False

    def lc(self, *args):
        """local-cluster.sh ARGS (DIR is not added): its CompletedProcess."""
        t0 = time.time()
        r = subprocess.run(["bash", self.script] + list(args), env=self.env, capture_output=True,
                           text=True, timeout=180)
        print("local-cluster.sh %s: exit %d in %.1f s" % (" ".join(args), r.returncode,
                                                           time.time() - t0), flush=True)
        if r.returncode:
            print(r.stdout + r.stderr, flush=True)
        return r

    VARS = ("KURA_GATEWAYS", "KURA_META", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
            "AWS_DEFAULT_REGION", "KURA_CLUSTER_SECRET_FILE")

    def settings(self):
        """The variables of DIR/cluster.env as bash sources it (set -u);
        None when it does not source with every one set."""
        r = subprocess.run(["bash", "-c", 'set -u; . "$1"; shift; for v; do printf "%s\\n" "${!v}"; '
                            'done', "_", os.path.join(self.dir, "cluster.env")] + list(self.VARS),
                           capture_output=True, text=True)
        if r.returncode:
            print("cluster.env:", r.stderr, flush=True)
            return None
        return dict(zip(self.VARS, r.stdout.split("\n")))

    def datanodes(self):
        """DIR/datanodes: id, zone, url, pid, dir, name (dn1...), port."""
        rows = []
        with open(os.path.join(self.dir, "datanodes")) as f:
            for line in f:
                i, z, u, p, d = line.split()
                rows.append({"id": i, "zone": z, "url": u, "pid": int(p), "dir": d,
                             "name": os.path.basename(d), "port": int(u.rsplit(":", 1)[1])})
        return rows

    def listing(self, meta):
        """`kura datanode list`, each line split on spaces."""
        r = subprocess.run([self.kura, "datanode", "list", "--meta", meta], capture_output=True,
                           text=True)
        return [line.split(" ") for line in r.stdout.splitlines()]

    def up_rows(self, meta):
        """(id, zone, url) of every datanode `kura datanode list` shows up."""
        return sorted((f[0], f[2], "http://" + f[4]) for f in self.listing(meta) if f[1] == "up")

    def wait_up(self, meta, want, secs=20):
        deadline = time.time() + secs
        while time.time() < deadline:
            got = self.up_rows(meta)
            if got == want:
                return got
            time.sleep(0.3)
        return self.up_rows(meta)

    def down(self):
        r = self.lc("down", self.dir)
        self.downed = r.returncode == 0
        return r

    def cleanup(self, failed):
        """down unless done; the logs of the datanodes and gateways when
        something failed."""
        if not self.downed and os.path.exists(os.path.join(self.dir, "pids")):
            self.down()
        logs = os.path.join(self.dir, "logs")
        if failed and os.path.isdir(logs):
            for n in sorted(os.listdir(logs)):
                if n.startswith(("dn", "gw")):
                    print("---- %s" % n)
                    with open(os.path.join(logs, n), errors="replace") as f:
                        print(f.read()[-3000:])


def _raise_exit(signum, frame):
    raise SystemExit("signal %d" % signum)


def run(main, tally, procs, tmp, clean_exit=False, cluster=None):
    """Runs main; a crash is a failure. Then stops every process (with
    clean_exit, each must exit with 0), prints the logs if anything
    failed, removes tmp, prints the tally and exits 1 on any failure.
    cluster (a LocalCluster, whose processes outlive the test): SIGTERM
    (meson's timeout) and SIGINT are failures too, and it is taken down."""
    if cluster:
        signal.signal(signal.SIGTERM, _raise_exit)
        signal.signal(signal.SIGINT, _raise_exit)
    try:
        main()
    except (Exception, SystemExit, KeyboardInterrupt):  # a crash is a failure, with the logs
        traceback.print_exc()
        tally.failed += 1
    finally:
        if cluster:
            cluster.cleanup(tally.failed)
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
