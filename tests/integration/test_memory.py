#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Streaming, not buffering: N concurrent large uploads and downloads while
the server's resident memory is sampled from /proc/PID/status.

usage: python3 test_memory.py PATH/TO/kura

Default (quick, always on): 32 concurrent uploads of 16 MiB. Any server that
buffers whole request bodies shows >= 512 MiB here.
KURA_HEAVY_TESTS=1: the issue's figure, 32 concurrent uploads of 256 MiB
(8 GiB written; takes a minute or more on 2 cores; objects deleted after).
KURA_IT_MEM_MIB / KURA_IT_MEM_STREAMS override size and count.

Half the streams send a plain Content-Length body (UNSIGNED-PAYLOAD), the
other half aws-chunked with a CRC32 trailer inside HTTP chunked transfer
encoding (what current SDKs send over HTTPS). Then all objects are read back
concurrently and compared by SHA-256 and the memory limit checked again.
"""

import hashlib
import http.client
import os
import sys
import threading
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Kura, Runner, check, eq  # noqa: E402

MiB = 1 << 20
LIMIT_KIB = 256 * 1024
HEAVY = os.environ.get("KURA_HEAVY_TESTS") == "1"
SIZE = int(os.environ.get("KURA_IT_MEM_MIB", "256" if HEAVY else "16")) * MiB
STREAMS = int(os.environ.get("KURA_IT_MEM_STREAMS", "32"))
BLOCK = 256 * 1024


def blocks(seed, size):
    """Deterministic, incompressible-enough data: a random base block with a
    per-block counter."""
    base = hashlib.shake_256(b"kura-mem-%d" % seed).digest(BLOCK)
    n = 0
    sent = 0
    while sent < size:
        b = n.to_bytes(8, "big") + base[8:]
        b = b[:min(BLOCK, size - sent)]
        sent += len(b)
        n += 1
        yield b


class Sampler(threading.Thread):
    def __init__(self, srv):
        super().__init__(daemon=True)
        self.srv, self.max_kib, self.stop_ev = srv, 0, threading.Event()

    def run(self):
        while not self.stop_ev.is_set():
            v = self.srv.vm_rss_kib()
            if v:
                self.max_kib = max(self.max_kib, v)
            time.sleep(0.05)


def vm_hwm_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def upload(srv, bucket, i, results):
    key = "mem/obj-%02d" % i
    path = "/%s/%s" % (bucket, key)
    h = {"Host": "127.0.0.1:%d" % srv.port}
    chunked = i % 2 == 1
    if chunked:
        mode = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
        h.update({"x-amz-content-sha256": mode, "Content-Encoding": "aws-chunked",
                  "x-amz-decoded-content-length": str(SIZE), "x-amz-trailer": "x-amz-checksum-crc32",
                  "Transfer-Encoding": "chunked"})
    else:
        mode = "UNSIGNED-PAYLOAD"
        h.update({"x-amz-content-sha256": mode, "Content-Length": str(SIZE)})
    signed = {k: v for k, v in h.items() if k != "Transfer-Encoding"}
    hdrs, *_ = harness.sign_v4("PUT", path, [], signed, mode, srv.access_key, srv.secret_key)
    if chunked:
        hdrs["Transfer-Encoding"] = "chunked"
    sha = hashlib.sha256()
    crc = 0
    t0 = time.time()
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=600)
    try:
        conn.putrequest("PUT", path, skip_host=True, skip_accept_encoding=True)
        for k, v in hdrs.items():
            conn.putheader(k, v)
        conn.endheaders()
        for b in blocks(i, SIZE):
            sha.update(b)
            if chunked:
                crc = zlib.crc32(b, crc)
                frame = b"%x\r\n" % len(b) + b + b"\r\n"
                conn.send(b"%x\r\n" % len(frame) + frame + b"\r\n")
            else:
                conn.send(b)
        if chunked:
            import base64
            tr = b"0\r\nx-amz-checksum-crc32:%s\r\n\r\n" % base64.b64encode(
                (crc & 0xFFFFFFFF).to_bytes(4, "big"))
            conn.send(b"%x\r\n" % len(tr) + tr + b"\r\n0\r\n\r\n")
        r = conn.getresponse()
        body = r.read()
        results[i] = (r.status, body[:300], sha.hexdigest(), time.time() - t0)
    except Exception as e:  # noqa: BLE001
        results[i] = (None, repr(e), sha.hexdigest(), time.time() - t0)
    finally:
        conn.close()


def download(srv, bucket, i, results):
    path = "/%s/mem/obj-%02d" % (bucket, i)
    h = {"Host": "127.0.0.1:%d" % srv.port, "x-amz-content-sha256": harness.EMPTY_SHA256}
    hdrs, *_ = harness.sign_v4("GET", path, [], h, harness.EMPTY_SHA256, srv.access_key,
                               srv.secret_key)
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=600)
    sha, n = hashlib.sha256(), 0
    try:
        conn.request("GET", path, headers=hdrs)
        r = conn.getresponse()
        while True:
            b = r.read(1 << 20)
            if not b:
                break
            n += len(b)
            sha.update(b)
            time.sleep(0.002)  # a slow-ish reader: the server must not read ahead unboundedly
        results[i] = (r.status, n, sha.hexdigest())
    except Exception as e:  # noqa: BLE001
        results[i] = (None, repr(e), None)
    finally:
        conn.close()


def main():
    if len(sys.argv) < 2:
        harness.fail("usage: %s PATH/TO/kura" % sys.argv[0])
    print("mode: %s, %d streams x %d MiB (limit %d MiB RSS)"
          % ("heavy" if HEAVY else "quick", STREAMS, SIZE // MiB, LIMIT_KIB // 1024), flush=True)
    t_start = time.time()
    R = Runner("memory")
    with Kura(sys.argv[1]) as srv:
        B = "membucket"
        r = harness.s3_request(srv, "PUT", "/" + B)
        if r.status != 200:
            harness.fail("create bucket: %r" % r)
        idle = srv.vm_rss_kib()
        print("server pid %d, idle RSS %d MiB" % (srv.pid, (idle or 0) // 1024), flush=True)
        up, down = {}, {}

        def phase_upload():
            s = Sampler(srv)
            s.start()
            t0 = time.time()
            ts = [threading.Thread(target=upload, args=(srv, B, i, up)) for i in range(STREAMS)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            s.stop_ev.set()
            s.join()
            dt = time.time() - t0
            print("     uploads: %.1fs, %.0f MiB/s, max sampled RSS %d MiB"
                  % (dt, STREAMS * SIZE / MiB / dt, s.max_kib // 1024), flush=True)
            bad = {i: v[:2] for i, v in up.items() if v[0] != 200}
            eq(bad, {}, "uploads not answered 200")
            eq(len(up), STREAMS, "uploads finished")
            check(s.max_kib < LIMIT_KIB, "max RSS during uploads %d MiB >= %d MiB"
                  % (s.max_kib // 1024, LIMIT_KIB // 1024))

        def phase_download():
            s = Sampler(srv)
            s.start()
            t0 = time.time()
            ts = [threading.Thread(target=download, args=(srv, B, i, down)) for i in range(STREAMS)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            s.stop_ev.set()
            s.join()
            dt = time.time() - t0
            print("     downloads: %.1fs, %.0f MiB/s, max sampled RSS %d MiB"
                  % (dt, STREAMS * SIZE / MiB / dt, s.max_kib // 1024), flush=True)
            for i in range(STREAMS):
                eq(down[i][:2], (200, SIZE), "GET obj-%02d status/size" % i)
                eq(down[i][2], up[i][2], "GET obj-%02d sha256" % i)
            check(s.max_kib < LIMIT_KIB, "max RSS during downloads %d MiB >= %d MiB"
                  % (s.max_kib // 1024, LIMIT_KIB // 1024))

        def peak():
            hwm = vm_hwm_kib(srv.pid)
            print("     VmHWM (peak RSS of the server process) %d MiB" % (hwm // 1024), flush=True)
            check(hwm < LIMIT_KIB, "VmHWM %d MiB >= %d MiB" % (hwm // 1024, LIMIT_KIB // 1024))

        R.run("%d concurrent %d MiB uploads under %d MiB RSS" % (STREAMS, SIZE // MiB, LIMIT_KIB // 1024),
              phase_upload)
        if up and all(v[0] == 200 for v in up.values()):
            R.run("%d concurrent downloads, sha256 equal, under %d MiB RSS" % (STREAMS, LIMIT_KIB // 1024),
                  phase_download)
        R.run("peak RSS (VmHWM)", peak)

        def cleanup():
            for i in range(STREAMS):
                r = harness.s3_request(srv, "DELETE", "/%s/mem/obj-%02d" % (B, i))
                eq(r.status, 204, "DELETE obj-%02d" % i)
        R.run("delete all", cleanup)
        R.run("server alive", lambda: check(srv.died() is None, srv.died()))
    print("runtime %.1fs" % (time.time() - t_start))
    sys.exit(R.finish())


if __name__ == "__main__":
    main()
