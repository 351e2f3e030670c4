#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Issue 15 (first increment): the admin listener of `kura serve`.

usage: python3 test_admin.py PATH/TO/kura

  health    /health/live 200 "ok", /health/ready 200 "ready"; other paths
            404, other methods 405
  metrics   /metrics parses with prometheus_client's text-format parser
            (Debian python3-prometheus-client); kura_build_info; after
            CreateBucket, 3 PUTs of known sizes, 2 GETs, a GET of a missing
            key, ListObjectsV2 (boto3) and a Swift GET /info, every
            kura_requests_total series moved by exactly those counts per
            op and status class and no other; bytes received / sent grew by
            at least the bodies; duration histograms count the same; volume
            and metadata series present
  shadow    GET /metrics on the S3 port is still the bucket "metrics"
  refusals  --admin-listen on the --listen address refused at start (2);
            an admin address in use: exit 1 naming it
"""

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Kura, Runner, check, eq, free_port  # noqa: E402

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    # Debian's package, when the python3 first on PATH is another one
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:
        text_string_to_metric_families = None

try:
    import boto3
    from botocore.config import Config
    import botocore.exceptions
except ImportError:
    boto3 = None

B = "admin-metrics"
SIZES = [1000, 70000, 300001]


def admin_get(port, path, method="GET"):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers.get("Content-Type"), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode()


def scrape(port):
    """{(sample name, frozenset(labels)): value} of /metrics."""
    status, ctype, text = admin_get(port, "/metrics")
    eq(status, 200, "GET /metrics")
    check(ctype.startswith("text/plain; version=0.0.4"), "content type %r" % ctype)
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            key = (s.name, frozenset(s.labels.items()))
            check(key not in out, "sample %r twice" % (key,))
            out[key] = s.value
    return out


def series(m, name, **labels):
    return m.get((name, frozenset(labels.items())), 0.0)


def requests_by(m):
    return {k: v for k, v in m.items() if k[0] == "kura_requests_total"}


def t_health(srv, port):
    eq(admin_get(port, "/health/live")[::2], (200, "ok\n"), "/health/live")
    eq(admin_get(port, "/health/ready")[::2], (200, "ready\n"), "/health/ready")
    eq(admin_get(port, "/")[0], 404, "/ on the admin listener")
    eq(admin_get(port, "/health")[0], 404, "/health")
    eq(admin_get(port, "/metrics", "POST")[0], 405, "POST /metrics")


def t_metrics(srv, port):
    if text_string_to_metric_families is None:
        raise harness.Skip("prometheus_client not installed (Debian python3-prometheus-client)")
    if boto3 is None:
        raise harness.Skip("boto3 not installed")
    m0 = scrape(port)
    info = [k for k in m0 if k[0] == "kura_build_info"]
    eq(len(info), 1, "kura_build_info samples")
    labels = dict(info[0][1])
    check(labels.get("version") and labels.get("build_type"), "build info labels %r" % labels)
    eq(m0[info[0]], 1.0, "kura_build_info value")
    for name in ("kura_volume_free_bytes", "kura_volume_total_bytes",
                 "kura_volume_reserve_bytes", "kura_volume_full",
                 "kura_volume_write_refusals_total"):
        vols = [k for k in m0 if k[0] == name]
        if harness.on_datanodes():  # one remote volume a datanode (deploy/datanodes-local.sh)
            eq(len(vols), int(os.environ["KURA_IT_DATANODES"]), name + " samples (one a datanode)")
            check(all(dict(v[1])["volume"].startswith("http://127.0.0.1:") for v in vols),
                  "volume labels of %s: %r" % (name, vols))
            continue
        eq(len(vols), 1, name + " samples (one volume)")
        check(dict(vols[0][1])["volume"].startswith(srv.datadir), "volume label of " + name)
    eq(series(m0, "kura_volume_full", volume=dict(vols[0][1])["volume"]), 0.0, "volume full")
    check(("kura_metadata_full", frozenset()) in m0, "kura_metadata_full present")
    eq(series(m0, "kura_metadata_full"), 0.0, "metadata full")
    check(("kura_requests_in_flight", frozenset()) in m0, "in-flight gauge present")
    check(("kura_connections_open", frozenset()) in m0, "connections gauge present")

    s3 = boto3.client("s3", endpoint_url=srv.endpoint, aws_access_key_id=srv.access_key,
                      aws_secret_access_key=srv.secret_key, region_name=harness.REGION,
                      config=Config(retries={"max_attempts": 1}))
    s3.create_bucket(Bucket=B)
    bodies = [os.urandom(n) for n in SIZES]
    for i, body in enumerate(bodies):
        s3.put_object(Bucket=B, Key="o%d" % i, Body=body)
    for i in (1, 2):
        eq(s3.get_object(Bucket=B, Key="o%d" % i)["Body"].read(), bodies[i], "GET o%d" % i)
    try:
        s3.get_object(Bucket=B, Key="missing")
        raise AssertionError("GET of a missing key succeeded")
    except botocore.exceptions.ClientError as e:
        eq(e.response["ResponseMetadata"]["HTTPStatusCode"], 404, "missing key")
    eq(len(s3.list_objects_v2(Bucket=B)["Contents"]), 3, "ListObjectsV2")
    r = harness.http_request(srv, "GET", "/info")
    eq(r.status, 200, "Swift GET /info")

    expected = {("s3", "CreateBucket", "2xx"): 1, ("s3", "PutObject", "2xx"): 3,
                ("s3", "GetObject", "2xx"): 2, ("s3", "GetObject", "4xx"): 1,
                ("s3", "ListObjectsV2", "2xx"): 1, ("swift", "Info", "2xx"): 1}
    want = sum(expected.values())
    # a request is counted once its answer is sent: the client may see the
    # answer first, so wait for the count (generous deadline, loaded machines)
    deadline = time.time() + 60
    while True:
        m1 = scrape(port)
        before, after = requests_by(m0), requests_by(m1)
        moved = sum(after[k] - before.get(k, 0) for k in after)
        if moved >= want or time.time() > deadline:
            break
        time.sleep(0.2)
    got = {}
    for k, v in after.items():
        d = v - before.get(k, 0)
        if d:
            lab = dict(k[1])
            got[(lab["api"], lab["op"], lab["code_class"])] = d
    eq(got, {k: float(v) for k, v in expected.items()}, "kura_requests_total deltas")
    for (api, op, _), _n in expected.items():
        total = sum(n for (a, o, _c), n in expected.items() if (a, o) == (api, op))
        eq(series(m1, "kura_request_duration_seconds_count", api=api, op=op)
           - series(m0, "kura_request_duration_seconds_count", api=api, op=op), float(total),
           "duration count of %s %s" % (api, op))
        eq(series(m1, "kura_request_duration_seconds_bucket", api=api, op=op, le="+Inf"),
           series(m1, "kura_request_duration_seconds_count", api=api, op=op),
           "+Inf bucket of %s %s" % (api, op))
    rx = (series(m1, "kura_request_bytes_received_total", api="s3")
          - series(m0, "kura_request_bytes_received_total", api="s3"))
    check(rx >= sum(SIZES), "S3 bytes received grew by %d, less than %d" % (rx, sum(SIZES)))
    tx = (series(m1, "kura_response_bytes_sent_total", api="s3")
          - series(m0, "kura_response_bytes_sent_total", api="s3"))
    check(tx >= SIZES[1] + SIZES[2], "S3 bytes sent grew by %d, less than %d"
          % (tx, SIZES[1] + SIZES[2]))
    check(series(m1, "kura_response_bytes_sent_total", api="swift")
          > series(m0, "kura_response_bytes_sent_total", api="swift"), "Swift bytes sent")
    print("   %d requests counted, %d bytes received, %d sent" % (want, rx, tx), flush=True)


def t_not_shadowed(srv, port):
    r = harness.s3_request(srv, "GET", "/metrics")
    eq(r.status, 404, "GET /metrics on the S3 port (%r)" % r)
    eq(r.xml().findtext("Code"), "NoSuchBucket", "GET /metrics on the S3 port")
    r = harness.s3_request(srv, "GET", "/health/ready")
    eq((r.status, r.xml().findtext("Code")), (404, "NoSuchBucket"), "GET /health/ready on S3")


def run_serve(srv, *args):
    env = dict(os.environ, KURA_ROOT_ACCESS_KEY=srv.access_key,
               KURA_ROOT_SECRET_KEY=srv.secret_key)
    other = os.path.join(srv.workdir, "other-%d" % time.time_ns())
    os.makedirs(other)
    p = subprocess.run([srv.kura_bin, "serve", "--data", other] + list(args), env=env,
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    return p.returncode, p.stderr.decode("utf-8", "replace")


def t_refusals(srv, port):
    p = free_port()
    rc, err = run_serve(srv, "--listen", "127.0.0.1:%d" % p, "--admin-listen", "127.0.0.1:%d" % p)
    eq(rc, 2, "exit status with the admin address = the S3 address (%s)" % err[-300:])
    check("--admin-listen 127.0.0.1:%d is the --listen address" % p in err, "message: %r" % err)
    rc, err = run_serve(srv, "--listen", "0.0.0.0:%d" % p, "--admin-listen", "127.0.0.1:%d" % p)
    eq(rc, 2, "exit status with the admin address within 0.0.0.0 (%s)" % err[-300:])
    rc, err = run_serve(srv, "--listen", "127.0.0.1:%d" % p, "--admin-listen", "nowhere")
    eq(rc, 2, "exit status with a malformed admin address (%s)" % err[-300:])
    check("--admin-listen wants HOST:PORT" in err, "message: %r" % err)
    rc, err = run_serve(srv, "--listen", "127.0.0.1:%d" % free_port(),
                        "--admin-listen", "127.0.0.1:%d" % port)
    eq(rc, 1, "exit status with the admin address in use (%s)" % err[-300:])
    check("admin address 127.0.0.1:%d is already in use" % port in err, "message: %r" % err)
    # the first server still answers on both
    eq(admin_get(port, "/health/live")[0], 200, "first server's admin listener")
    eq(harness.s3_request(srv, "GET", "/").status, 200, "first server's S3 listener")


def t_metrics_token(kura_bin):
    """--metrics-token-file: /metrics wants the bearer token, probes stay open."""
    port = free_port()
    srv = Kura(kura_bin, extra_args=["--admin-listen", "127.0.0.1:%d" % port])
    tok = os.path.join(srv.workdir, "metrics.token")
    with open(tok, "w") as f:
        f.write("s3cr3t-scrape-token\n")
    srv.extra_args += ["--metrics-token-file", tok]
    with srv:
        deadline = time.time() + 20
        while not harness.port_open(port) and time.time() < deadline:
            time.sleep(0.05)

        def get(headers):
            req = urllib.request.Request("http://127.0.0.1:%d/metrics" % port, headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    return r.status, dict(r.headers), r.read().decode()
            except urllib.error.HTTPError as e:
                return e.code, dict(e.headers), e.read().decode()
        st, h, body = get({})
        eq(st, 401, "/metrics without a token")
        eq(h.get("WWW-Authenticate"), 'Bearer realm="kura metrics"', "challenge")
        check("kura_build_info" not in body, "metrics leaked without a token")
        for bad in ("Bearer wrong", "Bearer s3cr3t-scrape-token-longer", "Bearer s3cr3t",
                    "Basic czNjcjN0", "s3cr3t-scrape-token"):
            eq(get({"Authorization": bad})[0], 401, "/metrics with %r" % bad)
        st, _, body = get({"Authorization": "Bearer s3cr3t-scrape-token"})
        eq(st, 200, "/metrics with the token")
        check("kura_build_info" in body, "metrics body")
        eq(admin_get(port, "/health/live")[0], 200, "/health/live stays open")
        eq(admin_get(port, "/health/ready")[0], 200, "/health/ready stays open")
    rc, err = run_serve(srv, "--listen", "127.0.0.1:%d" % free_port(),
                        "--admin-listen", "127.0.0.1:%d" % free_port(),
                        "--metrics-token-file", os.path.join(srv.workdir, "missing"))
    eq(rc, 1, "a missing token file refuses to start (%s)" % err[-300:])
    check("cannot read a token from" in err, "message: %r" % err)


def main():
    if len(sys.argv) < 2:
        harness.fail("usage: %s PATH/TO/kura" % sys.argv[0])
    runner = Runner()
    port = free_port()
    with Kura(sys.argv[1], extra_args=["--admin-listen", "127.0.0.1:%d" % port]) as srv:
        deadline = time.time() + 20
        while not harness.port_open(port) and time.time() < deadline:
            time.sleep(0.05)
        runner.run("health probes", t_health, srv, port)
        runner.run("metrics parse and count requests exactly", t_metrics, srv, port)
        runner.run("/metrics on the S3 port is a bucket", t_not_shadowed, srv, port)
        runner.run("refused admin addresses", t_refusals, srv, port)
        runner.run("server alive", lambda: check(srv.alive(), "kura died: " + srv.log_tail()))
    runner.run("/metrics behind a bearer token", t_metrics_token, sys.argv[1])
    sys.exit(runner.finish())


if __name__ == "__main__":
    main()
