# SPDX-License-Identifier: Apache-2.0
"""Shared harness for kura integration tests (Python 3, stdlib only).

Starts `kura serve` on a free loopback port with a fresh data directory and
fresh root credentials, optionally with a self-signed TLS certificate, and
makes sure the server can never outlive the test:

  * the server runs as  setpriv --pdeathsig TERM -- timeout -k 5 WATCHDOG
                        setpriv --pdeathsig KILL -- kura serve ...
    so it is terminated when the test process dies (even by SIGKILL), and
    in any case after WATCHDOG seconds;
  * stop() sends SIGTERM, then SIGKILL after a grace period; an atexit hook
    and SIGTERM/SIGINT handlers call it.

Also here: a SigV4 signer (header and presigned), raw HTTP requests through
http.client (optionally with HTTP chunked transfer encoding), aws-chunked
body encoders (signed, signed with trailer, unsigned with trailer), the
checksums S3 uses (CRC32, CRC32C, CRC64/NVME, SHA-1, SHA-256, base64) and a
tiny test runner that prints the closing line 'N passed, N failed'.

Command line (for the shell tests):
  harness.py free-port
  harness.py gen-tls DIR           -> DIR/ca.pem DIR/cert.pem DIR/key.pem
  harness.py wait-port PORT SECS   -> exit 0 when 127.0.0.1:PORT accepts
"""

import atexit
import base64
import datetime
import hashlib
import hmac
import http.client
import os
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse
import xml.etree.ElementTree as ET
import zlib

REGION = "us-east-1"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

# ---------------------------------------------------------------- utilities


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr, flush=True)
    sys.exit(1)


def need_tool(name, package):
    if shutil.which(name) is None:
        fail("required tool '%s' not found (Debian package: %s)" % (name, package))


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_port(port, secs, proc_alive=None):
    deadline = time.time() + secs
    while time.time() < deadline:
        if port_open(port):
            return True
        if proc_alive is not None and not proc_alive():
            return False
        time.sleep(0.05)
    return False


def rand_key(n, alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"):
    raw = os.urandom(n)
    return "".join(alphabet[b % len(alphabet)] for b in raw)


def gen_tls(d):
    """A throw-away CA and a server certificate for localhost/127.0.0.1,
    signed by it. Returns (ca_pem, cert_pem, key_pem) paths."""
    os.makedirs(d, exist_ok=True)
    ca_key, ca = os.path.join(d, "ca-key.pem"), os.path.join(d, "ca.pem")
    key, csr, cert = (os.path.join(d, n) for n in ("key.pem", "server.csr", "cert.pem"))
    ext = os.path.join(d, "server.ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:FALSE\n"
                "keyUsage=digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectAltName=DNS:localhost,DNS:*.localhost,IP:127.0.0.1\n")
    q = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE, "check": True}
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", ca_key, "-out", ca, "-subj", "/CN=kura test CA",
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign"], **q)
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", csr, "-subj", "/CN=localhost"], **q)
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
                    "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", cert], **q)
    return ca, cert, key


# ------------------------------------------------------------------ server

_live_servers = []


def _cleanup_all():
    for s in list(_live_servers):
        try:
            s.stop()
        except Exception:
            pass


atexit.register(_cleanup_all)


def _on_signal(signum, frame):
    _cleanup_all()
    sys.exit(128 + signum)


for _s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    try:
        signal.signal(_s, _on_signal)
    except (ValueError, OSError):
        pass


def on_datanodes():
    """True when the servers keep object data on datanodes
    (deploy/datanodes-local.sh): no local volume to look at."""
    return bool(os.environ.get("KURA_IT_DATANODES"))


class Kura:
    """One kura server. Attributes after start(): port, endpoint, pid,
    access_key, secret_key, ca (CA file for https, else None)."""

    def __init__(self, kura_bin, tls=False, domain=None, workdir=None, watchdog=900,
                 access_key=None, secret_key=None, extra_args=(), env=None):
        self.kura_bin = os.path.abspath(kura_bin)
        if not os.access(self.kura_bin, os.X_OK):
            fail("kura binary not found or not executable: %s" % kura_bin)
        for tool, pkg in (("setpriv", "util-linux"), ("timeout", "coreutils")):
            need_tool(tool, pkg)
        self.tls = tls
        self.domain = domain
        self.own_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix="kura-it.")
        self.datadir = os.path.join(self.workdir, "data")
        os.makedirs(self.datadir, exist_ok=True)
        self.log = os.path.join(self.workdir, "kura.log")
        self.watchdog = watchdog
        self.access_key = access_key or ("AK" + rand_key(18))
        self.secret_key = secret_key or rand_key(
            40, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/+")
        self.extra_args = list(extra_args)
        self.extra_env = dict(env or {})
        self.port = None
        self.proc = None
        self.pid = None
        self.ca = self.cert = self.key = None
        if tls:
            need_tool("openssl", "openssl")
            self.ca, self.cert, self.key = gen_tls(os.path.join(self.workdir, "tls"))

    @property
    def scheme(self):
        return "https" if self.tls else "http"

    @property
    def endpoint(self):
        return "%s://127.0.0.1:%d" % (self.scheme, self.port)

    def ssl_context(self):
        if not self.tls:
            return None
        return ssl.create_default_context(cafile=self.ca)

    def _cmd(self):
        cmd = ["setpriv", "--pdeathsig", "TERM", "--",
               "timeout", "-k", "5", str(self.watchdog),
               "setpriv", "--pdeathsig", "KILL", "--",
               self.kura_bin, "serve", "--listen", "127.0.0.1:%d" % self.port,
               "--data", self.datadir]
        if self.tls:
            cmd += ["--tls-cert", self.cert, "--tls-key", self.key]
        if self.domain:
            cmd += ["--domain", self.domain]
        # extra serve flags for a whole run, e.g. "--meta redis://..." (deploy/redis-local.sh)
        cmd += self.serve_args()
        # no admin listener unless a test asks for one: servers run in
        # parallel and the default admin port (9001) is one for all
        if "--admin-listen" not in self.extra_args:
            cmd += ["--admin-listen", "off"]
        return cmd + self.extra_args

    def serve_args(self):
        """KURA_IT_SERVE_ARGS for `kura serve`. On a shared metadata store
        ("--meta ..."): this server's keys under its own prefix, stable
        across its restarts, unless the run names one (data on datanodes,
        deploy/datanodes-local.sh: a gateway sees only the datanodes
        registered under its prefix)."""
        extra = shlex.split(os.environ.get("KURA_IT_SERVE_ARGS", ""))
        if extra and "--meta-prefix" not in extra:
            extra += ["--meta-prefix", os.path.abspath(self.workdir) + ":"]
        return extra

    def store_args(self):
        """The flags that name this server's metadata store, for `kura admin`
        (the serve-only flags of data on datanodes left out)."""
        args, extra = ["--data", self.datadir], self.serve_args()
        for i, a in enumerate(extra):
            if a in ("--meta", "--meta-prefix") and i + 1 < len(extra):
                args += [a, extra[i + 1]]
        return args

    def start(self, timeout=20):
        if self.port is None:
            self.port = free_port()
        env = dict(os.environ)
        env.update(self.extra_env)
        env["KURA_ROOT_ACCESS_KEY"] = self.access_key
        env["KURA_ROOT_SECRET_KEY"] = self.secret_key
        logf = open(self.log, "ab")
        logf.write(("---- start %s\n" % " ".join(self._cmd())).encode())
        logf.flush()
        self.proc = subprocess.Popen(self._cmd(), stdin=subprocess.DEVNULL, stdout=logf,
                                     stderr=logf, env=env)
        logf.close()
        _live_servers.append(self)
        # The kura process is the child of `timeout` once setpriv has exec'd.
        setpriv = os.path.realpath(shutil.which("setpriv"))
        deadline = time.time() + timeout
        self.pid = None
        while time.time() < deadline and self.proc.poll() is None:
            try:
                with open("/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)) as f:
                    kids = [int(x) for x in f.read().split()]
                for k in kids:
                    # setpriv has exec'd into kura once the exe is no longer setpriv
                    exe = os.path.realpath("/proc/%d/exe" % k)
                    if exe != setpriv and os.path.exists(exe):
                        self.pid = k
            except OSError:
                pass
            if self.pid:
                break
            time.sleep(0.02)
        ok = self.pid is not None and wait_port(
            self.port, max(0.1, deadline - time.time()), lambda: self.proc.poll() is None)
        if not ok:
            tail = self.log_tail()
            self.stop()
            fail("kura serve did not become ready on port %d within %ds; log tail:\n%s"
                 % (self.port, timeout, tail))
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n=40):
        try:
            with open(self.log, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            return "\n".join(lines[-n:])
        except OSError:
            return "(no log)"

    def died(self):
        """None while running; else a description of how it exited."""
        if self.proc is None or self.proc.poll() is None:
            return None
        rc = self.proc.returncode
        return ("kura exited on its own with status %d%s; log tail:\n%s"
                % (rc, " (signal %d)" % (rc - 128) if rc > 128 else "", self.log_tail(15)))

    def stop(self, grace=10):
        if self.proc is None:
            return
        d = self.died()
        if d:
            print("ERROR: " + d, flush=True)
        if self.proc.poll() is None:
            try:
                if self.pid:
                    os.kill(self.pid, signal.SIGTERM)
                else:
                    self.proc.terminate()
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                for p in (self.pid, self.proc.pid):
                    try:
                        if p:
                            os.kill(p, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                self.proc.wait(10)
        self.proc = None
        if self in _live_servers:
            _live_servers.remove(self)

    def kill9(self):
        """kill -9 the server process itself and wait until it is gone."""
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc is not None:
            self.proc.wait(20)
        self.proc = None
        if self in _live_servers:
            _live_servers.remove(self)
        deadline = time.time() + 10
        while port_open(self.port) and time.time() < deadline:
            time.sleep(0.05)

    def restart(self):
        self.stop()
        return self.start()

    def vm_rss_kib(self):
        try:
            with open("/proc/%d/status" % self.pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            return None
        return None

    def cleanup(self):
        self.stop()
        if self.own_workdir and os.environ.get("KURA_IT_KEEP") != "1":
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()


# ---------------------------------------------------------------- checksums


def _crc_table(poly, width):
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table, (1 << width) - 1


_CRC32C = _crc_table(0x82F63B78, 32)
_CRC64NVME = _crc_table(0x9A6C9329AC4BC9B5, 64)


def _crc_reflected(data, tab):
    table, mask = tab
    c = mask
    for b in data:
        c = table[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ mask


def crc32(data):
    return zlib.crc32(data) & 0xFFFFFFFF


def crc32c(data):
    return _crc_reflected(data, _CRC32C)


def crc64nvme(data):
    return _crc_reflected(data, _CRC64NVME)


assert crc32c(b"123456789") == 0xE3069283
assert crc64nvme(b"123456789") == 0xAE8B14860A799888


def checksum_raw(alg, data):
    alg = alg.lower()
    if alg == "crc32":
        return crc32(data).to_bytes(4, "big")
    if alg == "crc32c":
        return crc32c(data).to_bytes(4, "big")
    if alg == "crc64nvme":
        return crc64nvme(data).to_bytes(8, "big")
    if alg == "sha1":
        return hashlib.sha1(data).digest()
    if alg == "sha256":
        return hashlib.sha256(data).digest()
    raise ValueError(alg)


def checksum_b64(alg, data):
    return base64.b64encode(checksum_raw(alg, data)).decode()


def md5_b64(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def multipart_etag(parts):
    d = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    return '"%s-%d"' % (d, len(parts))


# ------------------------------------------------------------------- SigV4


def uri_encode(s, encode_slash=True):
    safe = "-_.~" + ("" if encode_slash else "/")
    if isinstance(s, str):
        s = s.encode("utf-8")
    return urllib.parse.quote(s, safe=safe)


def canonical_query(query):
    """query: list of (name, value) pairs, unencoded."""
    enc = sorted((uri_encode(k), uri_encode(v)) for k, v in query)
    return "&".join("%s=%s" % kv for kv in enc)


def signing_key(secret, date8, region=REGION, service="s3"):
    k = ("AWS4" + secret).encode()
    for p in (date8, region, service, "aws4_request"):
        k = hmac.new(k, p.encode(), hashlib.sha256).digest()
    return k


def hmac_hex(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).hexdigest()


def amz_now(offset_seconds=0):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=offset_seconds)
    return t.strftime("%Y%m%dT%H%M%SZ")


def sign_v4(method, path_enc, query, headers, payload_hash, ak, sk, amz_date=None,
            region=REGION):
    """Adds x-amz-date and Authorization to headers (dict, any case). path_enc is
    the already URI-encoded path. Returns (headers, seed_signature, key, scope, date)."""
    amz_date = amz_date or amz_now()
    h = {k.lower(): str(v).strip() for k, v in headers.items()}
    h["x-amz-date"] = amz_date
    signed = sorted(h)
    canon = "\n".join([method, path_enc, canonical_query(query)]
                      + ["%s:%s" % (k, h[k]) for k in signed]
                      + ["", ";".join(signed), payload_hash])
    scope = "%s/%s/s3/aws4_request" % (amz_date[:8], region)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                     hashlib.sha256(canon.encode()).hexdigest()])
    key = signing_key(sk, amz_date[:8], region)
    sig = hmac_hex(key, sts)
    out = dict(headers)
    out["x-amz-date"] = amz_date
    out["Authorization"] = ("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s"
                            % (ak, scope, ";".join(signed), sig))
    return out, sig, key, scope, amz_date


def presign_v4(method, host, path_enc, ak, sk, expires=300, query=(), amz_date=None,
               region=REGION):
    amz_date = amz_date or amz_now()
    scope = "%s/%s/s3/aws4_request" % (amz_date[:8], region)
    q = list(query) + [("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
                       ("X-Amz-Credential", "%s/%s" % (ak, scope)),
                       ("X-Amz-Date", amz_date), ("X-Amz-Expires", str(expires)),
                       ("X-Amz-SignedHeaders", "host")]
    canon = "\n".join([method, path_enc, canonical_query(q), "host:" + host, "", "host",
                       "UNSIGNED-PAYLOAD"])
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                     hashlib.sha256(canon.encode()).hexdigest()])
    sig = hmac_hex(signing_key(sk, amz_date[:8], region), sts)
    return path_enc + "?" + canonical_query(q) + "&X-Amz-Signature=" + sig


# ------------------------------------------------------------ aws-chunked


def _chunks(data, size):
    return [data[i:i + size] for i in range(0, len(data), size)]


def aws_chunked_signed(data, chunk_size, seed_sig, key, scope, amz_date, trailer=None):
    """STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER] body. trailer: (name, value)."""
    out, prev = [], seed_sig
    algo = "AWS4-HMAC-SHA256-PAYLOAD"
    for c in _chunks(data, chunk_size) + [b""]:
        sts = "\n".join([algo, amz_date, scope, prev, EMPTY_SHA256,
                         hashlib.sha256(c).hexdigest()])
        prev = hmac_hex(key, sts)
        out.append(b"%x;chunk-signature=%s\r\n" % (len(c), prev.encode()))
        if c:
            out.append(c + b"\r\n")
    if trailer is None:
        out.append(b"\r\n")
    else:
        tline = "%s:%s\n" % trailer
        sts = "\n".join(["AWS4-HMAC-SHA256-TRAILER", amz_date, scope, prev,
                         hashlib.sha256(tline.encode()).hexdigest()])
        tsig = hmac_hex(key, sts)
        out.append(("%s:%s\r\n" % trailer).encode())
        out.append(("x-amz-trailer-signature:%s\r\n" % tsig).encode())
        out.append(b"\r\n")
    return b"".join(out)


def aws_chunked_unsigned_trailer(data, chunk_size, trailer):
    out = []
    for c in _chunks(data, chunk_size):
        out.append(b"%x\r\n" % len(c) + c + b"\r\n")
    out.append(b"0\r\n")
    out.append(("%s:%s\r\n" % trailer).encode())
    out.append(b"\r\n")
    return b"".join(out)


# ------------------------------------------------------------ raw requests


class Response:
    def __init__(self, status, reason, headers, body):
        self.status, self.reason, self.headers, self.body = status, reason, headers, body

    def header(self, name, default=None):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return default

    def xml(self):
        return strip_ns(ET.fromstring(self.body))

    def error_code(self):
        try:
            return self.xml().findtext("Code")
        except ET.ParseError:
            return None

    def __repr__(self):
        return "<%d %s %r>" % (self.status, self.reason, self.body[:300])


def strip_ns(root):
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.startswith("{"):
            el.tag = el.tag.split("}", 1)[1]
    return root


def http_request(srv, method, path_enc, query=(), headers=None, body=b"", chunked_te=False,
                 chunk_pieces=7919, timeout=120):
    """Plain request (no signing). With chunked_te the body is sent with HTTP
    Transfer-Encoding: chunked in pieces of chunk_pieces bytes."""
    headers = dict(headers or {})
    qs = "&".join("%s=%s" % (uri_encode(k), uri_encode(v)) if v != "" else uri_encode(k)
                  for k, v in query)
    url = path_enc + ("?" + qs if qs else "")
    if srv.tls:
        conn = http.client.HTTPSConnection("127.0.0.1", srv.port, timeout=timeout,
                                           context=srv.ssl_context())
    else:
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=timeout)
    try:
        if chunked_te:
            headers["Transfer-Encoding"] = "chunked"
            conn.putrequest(method, url, skip_host=True, skip_accept_encoding=True)
            if not any(k.lower() == "host" for k in headers):
                conn.putheader("Host", "127.0.0.1:%d" % srv.port)
            for k, v in headers.items():
                conn.putheader(k, v)
            conn.endheaders()
            for piece in _chunks(body, chunk_pieces):
                conn.send(b"%x\r\n" % len(piece) + piece + b"\r\n")
            conn.send(b"0\r\n\r\n")
        else:
            if not any(k.lower() == "host" for k in headers):
                headers["Host"] = "127.0.0.1:%d" % srv.port
            conn.request(method, url, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, r.reason, r.getheaders(), data)
    finally:
        conn.close()


def s3_request(srv, method, path, query=(), headers=None, body=b"", payload_hash=None,
               ak=None, sk=None, amz_date=None, chunked_te=False):
    """SigV4-signed request. path is raw (unencoded); payload_hash defaults to the
    body's SHA-256 and is sent as x-amz-content-sha256."""
    path_enc = uri_encode(path, encode_slash=False)
    headers = dict(headers or {})
    headers["Host"] = "127.0.0.1:%d" % srv.port
    if payload_hash is None:
        payload_hash = hashlib.sha256(body).hexdigest()
    headers["x-amz-content-sha256"] = payload_hash
    h, *_ = sign_v4(method, path_enc, list(query), headers, payload_hash,
                    ak or srv.access_key, sk or srv.secret_key, amz_date)
    return http_request(srv, method, path_enc, query, h, body, chunked_te=chunked_te)


# -------------------------------------------------------------- test runner


class Runner:
    """Runs named test functions, never stops at the first failure, prints
    one line per test and the closing 'N passed, N failed' line."""

    def __init__(self, label=""):
        self.label = label
        self.passed = self.failed = self.skipped = 0
        self.failures = []

    def run(self, name, fn, *args, **kwargs):
        full = (self.label + ": " if self.label else "") + name
        t0 = time.time()
        try:
            fn(*args, **kwargs)
        except Skip as e:
            self.skipped += 1
            print("SKIP %s: %s" % (full, e), flush=True)
            return
        except Exception as e:  # noqa: BLE001 - report everything
            self.failed += 1
            msg = "%s: %s" % (type(e).__name__, e)
            self.failures.append((full, msg))
            print("FAIL %s (%.1fs): %s" % (full, time.time() - t0, msg), flush=True)
            if os.environ.get("KURA_IT_TRACE"):
                traceback.print_exc()
            return
        self.passed += 1
        print("ok   %s (%.1fs)" % (full, time.time() - t0), flush=True)

    def merge(self, other):
        self.passed += other.passed
        self.failed += other.failed
        self.skipped += other.skipped
        self.failures += other.failures

    def finish(self):
        if self.failures:
            print("\nFailures:")
            for n, m in self.failures:
                print("  %s: %s" % (n, m))
        line = "%d passed, %d failed" % (self.passed, self.failed)
        if self.skipped:
            line += ", %d skipped" % self.skipped
        print(line, flush=True)
        return 1 if self.failed else 0


class Skip(Exception):
    pass


def eq(got, expected, what=""):
    if got != expected:
        g, e = repr(got), repr(expected)
        if len(g) > 600:
            g = g[:600] + "..."
        if len(e) > 600:
            e = e[:600] + "..."
        raise AssertionError("%s: expected %s, got %s" % (what or "value", e, g))


def check(cond, what):
    if not cond:
        raise AssertionError(what)


# --------------------------------------------------- recording proxy


def run_proxy(listen_port, target_port, log_path, lifetime=900):
    """A transparent HTTP/1.1 proxy 127.0.0.1:listen_port -> 127.0.0.1:target_port
    that logs one line per request: METHOD PATH?QUERY STATUS [range=..]
    [copy-source] [copy-range] [destination=..] [x-object-manifest=..]. Host is forwarded unchanged, so signatures hold.
    Bodies are buffered per request (test-sized objects only)."""
    import http.server
    import threading

    logf = open(log_path, "a", buffering=1)
    lock = threading.Lock()

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def _body(self):
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                out = []
                while True:
                    n = int(self.rfile.readline().split(b";")[0].strip(), 16)
                    if n == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        break
                    out.append(self.rfile.read(n))
                    self.rfile.readline()
                return b"".join(out), True
            n = int(self.headers.get("Content-Length") or 0)
            return (self.rfile.read(n) if n else b""), False

        def _any(self):
            body, chunked = self._body()
            hdrs = [(k, v) for k, v in self.headers.items()
                    if k.lower() not in ("connection", "transfer-encoding", "keep-alive")]
            conn = http.client.HTTPConnection("127.0.0.1", target_port, timeout=300)
            try:
                conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for k, v in hdrs:
                    conn.putheader(k, v)
                if chunked:
                    conn.putheader("Transfer-Encoding", "chunked")
                    conn.endheaders()
                    if body:
                        conn.send(b"%x\r\n" % len(body) + body + b"\r\n")
                    conn.send(b"0\r\n\r\n")
                else:
                    if body or self.command in ("PUT", "POST"):
                        if not any(k.lower() == "content-length" for k, _ in hdrs):
                            conn.putheader("Content-Length", str(len(body)))
                    conn.endheaders(body if body else None)
                r = conn.getresponse()
                data = r.read()
                status = r.status
                self.send_response_only(r.status, r.reason)
                for k, v in r.getheaders():
                    if k.lower() not in ("connection", "transfer-encoding", "keep-alive",
                                         "content-length"):
                        self.send_header(k, v)
                if self.command != "HEAD" and status not in (204, 304):
                    self.send_header("Content-Length", str(len(data)))
                elif r.getheader("Content-Length") is not None:
                    self.send_header("Content-Length", r.getheader("Content-Length"))
                self.end_headers()
                if self.command != "HEAD" and status not in (204, 304):
                    self.wfile.write(data)
            except Exception as e:  # noqa: BLE001
                status = "proxy-error:%s" % e
                try:
                    self.send_error(502)
                except Exception:  # noqa: BLE001
                    pass
            finally:
                conn.close()
            extra = []
            for h in ("Range", "x-amz-copy-source", "x-amz-copy-source-range", "Destination",
                      "X-Object-Manifest"):
                if self.headers.get(h):
                    extra.append("%s=%s" % (h.lower(), self.headers.get(h)))
            with lock:
                logf.write("%s %s %s %s\n" % (self.command, self.path, status, " ".join(extra)))

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_COPY = _any

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", listen_port), H)
    srv.daemon_threads = True
    t = threading.Timer(lifetime, srv.shutdown)
    t.daemon = True
    t.start()
    srv.serve_forever()


# --------------------------------------------------------------------- CLI


def _main(argv):
    if len(argv) == 4 and argv[0] == "proxy":
        run_proxy(int(argv[1]), int(argv[2]), argv[3])
        return 0
    if len(argv) >= 1 and argv[0] == "free-port":
        print(free_port())
        return 0
    if len(argv) == 2 and argv[0] == "gen-tls":
        need_tool("openssl", "openssl")
        gen_tls(argv[1])
        return 0
    if len(argv) == 3 and argv[0] == "wait-port":
        return 0 if wait_port(int(argv[1]), float(argv[2])) else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
