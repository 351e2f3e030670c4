#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Issue 7, F8: a full disk. kura's data directory is a 64 MiB tmpfs
(mounted here; needs root, else the test is skipped with status 77).

usage: python3 test_disk_full.py PATH/TO/kura

  reserve   --min-free-space 6M: PUTs are refused once the volume's free
            space would drop below the reserve, with 507 InsufficientStorage
            (not 503 SlowDown, which SDKs retry as throttling; boto3 gives up
            at once); PUT, UploadPart, HTTP-chunked PUT and CopyObject are all
            refused and store nothing; the server keeps answering GETs
            (byte-exact), HEADs, listings, DELETE and DeleteObjects, and
            metadata-only writes (CreateBucket) live on the reserve; one log
            line for the episode; a filler file removed -> writes succeed
            again without a restart, one log line saying so; while full, the
            admin listener's /health/ready is 503 naming the volume,
            kura_volume_full is 1 and kura_volume_write_refusals_total grew;
            space back -> ready 200, full 0
  enospc    --min-free-space 0: the filesystem fills under an upload that was
            admitted (pwrite answers ENOSPC mid-body) -> 507, one log line;
            metadata-only writes then fail in LMDB (ENOSPC at commit) -> 507
            too (never 500/503), one LMDB log line; reads and listings keep
            working; space back -> PUT and CreateMultipartUpload succeed,
            listings agree with what was acknowledged; while LMDB cannot
            commit, /health/ready is 503 "metadata store full" and
            kura_metadata_full is 1; space back -> ready 200, full 0

  room      --compact-grace 0: the volume full again, DeleteObjects of the
            objects that filled it gives the space back without an operator
            (the delete on a full volume starts a compaction pass: a rewrite,
            or holes punched in place when no copy fits); a 4 MiB PUT that
            was refused then succeeds, free space grew by most of what was
            deleted, every other object reads byte-exact, also after a
            restart

In the first phases deletes free nothing: they are within the grace period
(--compact-grace, default 15 min) that lets a reader which loaded a record
just before a delete finish its stream; space comes back there by removing
a filler file placed on the same filesystem.
"""

import hashlib
import http.client
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Kura, Runner, check, eq  # noqa: E402
from test_admin import admin_get, scrape, series  # noqa: E402
from test_auth_rules import err, send, sign  # noqa: E402

try:
    import boto3
    import botocore
    from botocore.config import Config
except ImportError:
    boto3 = None

MiB = 1 << 20
FS_SIZE = 64 * MiB
RESERVE = 6 * MiB
FILLER = 16 * MiB
B = "full"
CODE = "InsufficientStorage"
MESSAGE = ("The storage backend has reached its minimum free space; writes are refused "
           "until an operator frees space.")
FULL_LINE = "is full:"
BACK_LINE = "has room again"
LMDB_FULL = "no room for metadata"
LMDB_BACK = "metadata writes succeed again"


def sha(b):
    return hashlib.sha256(b).hexdigest()


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def write_filler(path, size=None):
    """Writes size bytes (None: until ENOSPC) to path; returns bytes written."""
    chunk = os.urandom(MiB)
    done = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        while size is None or done < size:
            piece = chunk if size is None else chunk[:min(MiB, size - done)]
            try:
                n = os.write(fd, piece)
            except OSError:
                if size is not None:
                    raise
                # fill the last partial page too
                try:
                    n = os.write(fd, piece[:4096])
                except OSError:
                    break
            done += n
        os.fsync(fd)
    finally:
        os.close(fd)
    return done


class State:
    def __init__(self, srv, data, admin_port):
        self.srv = srv
        self.data = data
        self.admin_port = admin_port
        self.objects = {}  # key -> sha256 of acknowledged content
        self.log_mark = 0

    def log_since_mark(self):
        with open(self.srv.log, "rb") as f:
            f.seek(self.log_mark)
            return f.read().decode("utf-8", "replace")

    def mark_log(self):
        self.log_mark = os.path.getsize(self.srv.log)


def put(st, key, body, **kw):
    r = send(st.srv, "PUT", "/%s/%s" % (B, key), body=body, **kw)
    if r.status == 200:
        st.objects[key] = sha(body)
    return r


def check_full(r, what):
    status, code, msg = err(r)
    eq((status, code, msg), (507, CODE, MESSAGE), what + " (%r)" % r)


def list_keys(srv, bucket=B):
    keys, token = [], None
    while True:
        q = [("list-type", "2"), ("max-keys", "100")]
        if token:
            q.append(("continuation-token", token))
        r = send(srv, "GET", "/" + bucket, q)
        eq(r.status, 200, "ListObjectsV2 (%r)" % r)
        x = r.xml()
        keys += [c.findtext("Key") for c in x.iter("Contents")]
        if x.findtext("IsTruncated") != "true":
            return keys
        token = x.findtext("NextContinuationToken")


def check_everything_readable(st, what):
    for key, digest in sorted(st.objects.items()):
        r = send(st.srv, "GET", "/%s/%s" % (B, key))
        eq(r.status, 200, "%s: GET %s (%r)" % (what, key, r))
        eq(sha(r.body), digest, "%s: content of %s" % (what, key))
    eq(sorted(list_keys(st.srv)), sorted(st.objects), "%s: listing" % what)


def count(text, needle):
    return sum(1 for line in text.splitlines() if needle in line)


def fill(st, prefix, size, limit):
    """PUTs size-byte objects until one is refused; returns (stored, refusal)."""
    for i in range(limit):
        r = put(st, "%s-%04d" % (prefix, i), os.urandom(size))
        if r.status != 200:
            return i, r
    raise AssertionError("%d PUTs of %d bytes on a %d-byte filesystem all succeeded"
                         % (limit, size, FS_SIZE))


# ------------------------------------------------------------ reserve


def t_setup(st):
    eq(send(st.srv, "PUT", "/" + B).status, 200, "create bucket")
    for i, n in enumerate([0, 1, 4095, 65536, 100000, 300001, MiB, 2 * MiB + 7]):
        eq(put(st, "early-%d" % i, os.urandom(n)).status, 200, "PUT early-%d" % i)
    r = send(st.srv, "POST", "/%s/mpu" % B, [("uploads", "")])
    eq(r.status, 200, "CreateMultipartUpload (%r)" % r)
    st.upload_id = r.xml().findtext("UploadId")
    eq(write_filler(os.path.join(st.data, "filler"), FILLER), FILLER, "filler file")
    # kura measures free space at most once a second away from its reserve:
    # let it see the filler, so that the refusals below come from the reserve
    # (another process filling the disk within that second is the ENOSPC
    # case, tested with --min-free-space 0)
    time.sleep(1.2)
    st.mark_log()
    eq(admin_get(st.admin_port, "/health/ready")[::2], (200, "ready\n"), "ready before the fill")
    m = scrape(st.admin_port)
    st.volume = [dict(k[1])["volume"] for k in m if k[0] == "kura_volume_full"][0]
    check(st.volume.startswith(st.data), "volume label %r" % st.volume)
    eq(series(m, "kura_volume_full", volume=st.volume), 0.0, "kura_volume_full before the fill")
    st.refusals0 = series(m, "kura_volume_write_refusals_total", volume=st.volume)


def t_fill_to_reserve(st):
    stored, r = fill(st, "fill", MiB, 80)
    check(stored >= 20, "only %d MiB stored before the refusal" % stored)
    check_full(r, "1 MiB PUT on a full volume")
    free = free_bytes(st.data)
    print("   %d x 1 MiB stored, refused with %d bytes free (reserve %d)"
          % (stored, free, RESERVE), flush=True)
    check(RESERVE - 2 * MiB <= free <= RESERVE + 2 * MiB,
          "refusal with %d bytes free: not at the %d-byte reserve" % (free, RESERVE))
    # closer to the reserve with smaller objects
    _, r = fill(st, "fill64k", 65536, 200)
    check_full(r, "64 KiB PUT on a full volume")
    _, r = fill(st, "fill4k", 4096, 400)
    check_full(r, "4 KiB PUT on a full volume")
    check(free_bytes(st.data) >= RESERVE - 2 * MiB, "the reserve was not kept")


def t_writes_refused(st):
    srv = st.srv
    body = os.urandom(MiB)
    check_full(put(st, "refused-put", body), "PUT")
    r = send(srv, "PUT", "/%s/mpu" % B, [("partNumber", "1"), ("uploadId", st.upload_id)],
             body=body)
    check_full(r, "UploadPart")
    # HTTP chunked, no declared length: stored in segments, refused at the first
    path_enc, h = sign(srv, "PUT", "/%s/refused-chunked" % B, body=body)
    r = harness.http_request(srv, "PUT", path_enc, (), h, body, chunked_te=True)
    check_full(r, "HTTP-chunked PUT")
    r = send(srv, "PUT", "/%s/refused-copy" % B,
             headers={"x-amz-copy-source": "/%s/early-6" % B})
    check_full(r, "CopyObject")
    for k in ("refused-put", "refused-chunked", "refused-copy"):
        eq(send(srv, "HEAD", "/%s/%s" % (B, k)).status, 404, "%s stored after a refusal" % k)
    r = send(srv, "GET", "/%s/mpu" % B, [("uploadId", st.upload_id)])
    eq(r.status, 200, "ListParts (%r)" % r)
    eq(len(list(r.xml().iter("Part"))), 0, "parts after a refused UploadPart")
    if boto3 is None:
        print("   (boto3 not installed: SDK retry check skipped)", flush=True)
        return
    s3 = boto3.client("s3", endpoint_url=srv.endpoint, aws_access_key_id=srv.access_key,
                      aws_secret_access_key=srv.secret_key, region_name=harness.REGION,
                      config=Config(retries={"max_attempts": 5, "mode": "standard"}))
    t0 = time.time()
    try:
        s3.put_object(Bucket=B, Key="refused-boto3", Body=body)
        raise AssertionError("boto3 put_object succeeded on a full volume")
    except botocore.exceptions.ClientError as e:
        eq(e.response["Error"]["Code"], CODE, "boto3 error code")
        eq(e.response["ResponseMetadata"]["HTTPStatusCode"], 507, "boto3 status")
        eq(e.response["ResponseMetadata"].get("RetryAttempts"), 0,
           "boto3 retried a full-disk refusal")
    print("   boto3: %s after %.2fs, no retry" % (CODE, time.time() - t0), flush=True)


def t_still_serving(st):
    srv = st.srv
    check(srv.alive(), "kura died: " + srv.log_tail())
    check_everything_readable(st, "full volume")
    r = send(srv, "HEAD", "/%s/early-7" % B)
    eq((r.status, r.header("Content-Length")), (200, str(2 * MiB + 7)), "HEAD")
    r = send(srv, "GET", "/%s/early-7" % B, headers={"Range": "bytes=100-199"})
    eq(r.status, 206, "ranged GET")
    # DELETE and DeleteObjects work (metadata lives on the reserve)
    eq(send(srv, "DELETE", "/%s/early-1" % B).status, 204, "DELETE")
    del st.objects["early-1"]
    doc = (b"<Delete><Quiet>true</Quiet><Object><Key>fill-0000</Key></Object>"
           b"<Object><Key>fill-0001</Key></Object></Delete>")
    r = send(srv, "POST", "/" + B, [("delete", "")], body=doc,
             headers={"Content-MD5": harness.md5_b64(doc)})
    eq(r.status, 200, "DeleteObjects (%r)" % r)
    eq(len(list(r.xml().iter("Error"))), 0, "DeleteObjects errors (%r)" % r)
    del st.objects["fill-0000"], st.objects["fill-0001"]
    eq(send(srv, "GET", "/%s/fill-0000" % B).status, 404, "deleted object still readable")
    eq(send(srv, "PUT", "/full-meta-only").status, 200, "CreateBucket on a full volume")
    check_everything_readable(st, "after deletes")
    # within the grace period (--compact-grace) deleting frees nothing: still full
    check_full(put(st, "refused-after-delete", os.urandom(MiB)), "PUT after deletes")
    log = st.log_since_mark()
    eq(count(log, FULL_LINE), 1, "log lines for the full episode:\n" + log[-3000:])
    check("below the reserve" in log, "the log line names the reason:\n" + log[-2000:])
    check(st.data in "".join(l for l in log.splitlines() if FULL_LINE in l),
          "the log line names the directory")
    eq(count(log, BACK_LINE), 0, "space reported back while still full")
    eq(count(log, LMDB_FULL), 0, "metadata ran out of space despite the reserve")
    # health and metrics say so
    status, _, reason = admin_get(st.admin_port, "/health/ready")
    eq(status, 503, "/health/ready on a full volume (%r)" % reason)
    check(reason.startswith("storage full: " + st.volume + " free ") and "reserve" in reason
          and reason.count("\n") == 1, "readiness reason %r" % reason)
    eq(admin_get(st.admin_port, "/health/live")[0], 200, "/health/live on a full volume")
    m = scrape(st.admin_port)
    eq(series(m, "kura_volume_full", volume=st.volume), 1.0, "kura_volume_full while full")
    refusals = series(m, "kura_volume_write_refusals_total", volume=st.volume)
    check(refusals > st.refusals0, "write refusals %d, %d before the fill"
          % (refusals, st.refusals0))
    eq(series(m, "kura_metadata_full"), 0.0, "kura_metadata_full (metadata on the reserve)")
    print("   ready 503: %s   %d refusals" % (reason.strip(), refusals - st.refusals0),
          flush=True)


def t_space_back(st):
    srv = st.srv
    os.remove(os.path.join(st.data, "filler"))
    body = os.urandom(MiB)
    deadline = time.time() + 5
    while True:  # free space is measured at most once a second
        r = put(st, "after-space-back", body)
        if r.status == 200 or time.time() > deadline:
            break
        check_full(r, "PUT right after the filler was removed")
        time.sleep(0.2)
    eq(r.status, 200, "PUT once space is back (%r)" % r)
    r = send(srv, "PUT", "/%s/mpu" % B, [("partNumber", "1"), ("uploadId", st.upload_id)],
             body=body)
    eq(r.status, 200, "UploadPart once space is back (%r)" % r)
    doc = ("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part>"
           "</CompleteMultipartUpload>" % r.header("ETag")).encode()
    r = send(srv, "POST", "/%s/mpu" % B, [("uploadId", st.upload_id)], body=doc)
    eq(r.status, 200, "CompleteMultipartUpload (%r)" % r)
    st.objects["mpu"] = sha(body)
    check_everything_readable(st, "space back")
    status, _, reason = admin_get(st.admin_port, "/health/ready")
    eq((status, reason), (200, "ready\n"), "/health/ready once space is back")
    m = scrape(st.admin_port)
    eq(series(m, "kura_volume_full", volume=st.volume), 0.0, "kura_volume_full once space is back")
    log = st.log_since_mark()
    eq(count(log, FULL_LINE), 1, "log lines for the full episode:\n" + log[-3000:])
    eq(count(log, BACK_LINE), 1, "log lines for space back:\n" + log[-3000:])
    check(srv.alive(), "kura died: " + srv.log_tail())


# ------------------------------------------------------ real ENOSPC


def restart(st, *args):
    st.srv.stop()
    st.srv.extra_args = list(args) + ["--admin-listen", "127.0.0.1:%d" % st.admin_port]
    st.mark_log()
    st.srv.start()
    check(harness.wait_port(st.admin_port, 20), "admin listener did not open after the restart")
    check_everything_readable(st, "restart")


def t_restart_without_reserve(st):
    # no compaction here: it would give back the garbage the failed upload
    # leaves, and these phases are about a filesystem that stays full
    restart(st, "--min-free-space", "0", "--compact-interval", "0")


def t_enospc_mid_upload(st):
    """An upload admitted while there was room; the filesystem fills up under
    it (another process), so its pwrite fails with ENOSPC."""
    srv = st.srv
    size = 8 * MiB
    check(free_bytes(st.data) > size + 2 * MiB, "room for the upload to be admitted")
    body = os.urandom(size)
    path_enc, h = sign(srv, "PUT", "/%s/enospc" % B, body=body)
    h["Content-Length"] = str(size)
    free0 = free_bytes(st.data)
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
    try:
        conn.putrequest("PUT", path_enc, skip_host=True, skip_accept_encoding=True)
        for k, v in h.items():
            conn.putheader(k, v)
        conn.endheaders()
        conn.send(body[:MiB])
        deadline = time.time() + 20
        while free_bytes(st.data) > free0 - MiB // 2:  # admitted, writing
            check(time.time() < deadline, "kura did not start writing the upload")
            time.sleep(0.05)
        st.filler2 = os.path.join(st.data, "filler2")
        write_filler(st.filler2)  # the filesystem is now full
        try:
            conn.send(body[MiB:])
        except OSError:
            pass  # answered before the whole body was sent
        r = conn.getresponse()
        resp = harness.Response(r.status, r.reason, r.getheaders(), r.read())
    finally:
        conn.close()
    check_full(resp, "PUT whose volume filled up mid-body")
    eq(send(srv, "HEAD", "/%s/enospc" % B).status, 404, "half-written object visible")
    log = st.log_since_mark()
    eq(count(log, FULL_LINE), 1, "log lines for the full episode:\n" + log[-3000:])
    check("answered ENOSPC" in log, "the log line says the filesystem answered ENOSPC:\n"
          + log[-2000:])
    eq(count(log, "No space left"), count(log, LMDB_FULL),
       "ENOSPC logged per write:\n" + log[-3000:])


def t_metadata_full(st):
    """The filesystem is full: LMDB commits fail with ENOSPC -> 507 too."""
    srv = st.srv
    statuses = {}
    for i in range(400):
        key = "meta-%04d-" % i + "m" * 900
        r = send(srv, "POST", "/%s/%s" % (B, key), [("uploads", "")])
        statuses[r.status] = statuses.get(r.status, 0) + 1
        if r.status != 200:
            check_full(r, "CreateMultipartUpload with the metadata disk full")
            if statuses[r.status] >= 5:
                break
    print("   CreateMultipartUpload on a full disk: %s" % statuses, flush=True)
    check(set(statuses) <= {200, 507}, "statuses other than 200/507: %s" % statuses)
    check(statuses.get(507, 0) > 0, "LMDB never ran out of space: %s" % statuses)
    status, _, reason = admin_get(st.admin_port, "/health/ready")
    eq(status, 503, "/health/ready with the metadata disk full (%r)" % reason)
    check(reason.startswith("metadata store full"), "readiness reason %r" % reason)
    eq(series(scrape(st.admin_port), "kura_metadata_full"), 1.0, "kura_metadata_full")
    check_full(put(st, "refused-metadata-full", os.urandom(4096)), "PUT on a full disk")
    check(srv.alive(), "kura died: " + srv.log_tail())
    check_everything_readable(st, "metadata disk full")
    log = st.log_since_mark()
    eq(count(log, LMDB_FULL), 1, "LMDB log lines for the episode:\n" + log[-3000:])
    eq(count(log, FULL_LINE), 1, "volume log lines for the episode:\n" + log[-3000:])
    eq(count(log, "batch of"), 0, "LMDB failures logged per batch:\n" + log[-3000:])


def t_enospc_space_back(st):
    srv = st.srv
    os.remove(st.filler2)
    deadline = time.time() + 5
    body = os.urandom(MiB)
    while True:
        r = put(st, "after-enospc", body)
        if r.status == 200 or time.time() > deadline:
            break
        time.sleep(0.2)
    eq(r.status, 200, "PUT once space is back (%r)" % r)
    r = send(srv, "POST", "/%s/after-enospc-mpu" % B, [("uploads", "")])
    eq(r.status, 200, "CreateMultipartUpload once space is back (%r)" % r)
    eq(admin_get(st.admin_port, "/health/ready")[::2], (200, "ready\n"),
       "/health/ready once space is back")
    m = scrape(st.admin_port)
    eq(series(m, "kura_metadata_full"), 0.0, "kura_metadata_full once space is back")
    eq(series(m, "kura_volume_full", volume=st.volume), 0.0, "kura_volume_full once space is back")
    check_everything_readable(st, "space back after ENOSPC")
    log = st.log_since_mark()
    eq(count(log, LMDB_BACK), 1, "LMDB log lines for space back:\n" + log[-3000:])
    eq(count(log, BACK_LINE), 1, "volume log lines for space back:\n" + log[-3000:])
    check(srv.alive(), "kura died: " + srv.log_tail())


# ------------------------------------------------ delete to make room


def t_restart_compacting(st):
    # passes only when the full volume asks for one (the interval is long)
    restart(st, "--min-free-space", "6M", "--compact-grace", "0", "--compact-interval", "3600")


def t_delete_to_make_room(st):
    srv = st.srv
    time.sleep(1.2)  # free space is measured at most once a second
    stored, r = fill(st, "room", MiB, 80)
    check(stored >= 8, "only %d MiB stored before the refusal" % stored)
    check_full(r, "1 MiB PUT on a full volume")
    big = os.urandom(4 * MiB)
    check_full(put(st, "after-room", big), "4 MiB PUT on a full volume")
    free0 = free_bytes(st.data)
    keys = ["room-%04d" % i for i in range(stored)]
    doc = ("<Delete><Quiet>true</Quiet>%s</Delete>" % "".join(
        "<Object><Key>%s</Key></Object>" % k for k in keys)).encode()
    r = send(srv, "POST", "/" + B, [("delete", "")], body=doc,
             headers={"Content-MD5": harness.md5_b64(doc)})
    eq(r.status, 200, "DeleteObjects (%r)" % r)
    eq(len(list(r.xml().iter("Error"))), 0, "DeleteObjects errors (%r)" % r)
    for k in keys:
        del st.objects[k]
    t0 = time.time()
    deadline = t0 + 30
    while True:
        r = put(st, "after-room", big)
        if r.status == 200 or time.time() > deadline:
            break
        check_full(r, "PUT while the deleted space comes back")
        time.sleep(0.25)
    eq(r.status, 200, "4 MiB PUT after deleting %d MiB (%r)" % (stored, r))
    freed = free_bytes(st.data) + 4 * MiB - free0
    print("   %d x 1 MiB deleted: the 4 MiB PUT succeeded after %.1fs, %.1f MiB came back"
          % (stored, time.time() - t0, freed / MiB), flush=True)
    check(freed >= (stored - 2) * MiB, "only %d bytes came back of %d MiB deleted"
          % (freed, stored))
    log = st.log_since_mark()
    check("compacted:" in log or "given back in place" in log,
          "no compaction in the log:\n" + log[-3000:])
    m = scrape(st.admin_port)
    reclaimed = series(m, "kura_volume_reclaimed_bytes_total", volume=st.volume)
    check(reclaimed >= (stored - 2) * MiB, "kura_volume_reclaimed_bytes_total %d" % reclaimed)
    check(series(m, "kura_volume_compacted_chunks_total", volume=st.volume) >= 1,
          "kura_volume_compacted_chunks_total")
    check_everything_readable(st, "after deleting to make room")
    deadline = time.time() + 5
    while admin_get(st.admin_port, "/health/ready")[0] != 200 and time.time() < deadline:
        time.sleep(0.2)
    eq(admin_get(st.admin_port, "/health/ready")[::2], (200, "ready\n"),
       "/health/ready once deletes made room")
    # what compaction left on disk reads back after a restart too
    st.srv.stop()
    st.srv.start()
    check(harness.wait_port(st.admin_port, 20), "admin listener did not open after the restart")
    check_everything_readable(st, "restart after compaction")
    check(srv.alive(), "kura died: " + srv.log_tail())


def main():
    if len(sys.argv) < 2:
        harness.fail("usage: %s PATH/TO/kura" % sys.argv[0])
    if os.geteuid() != 0:
        print("SKIP: mounting a tmpfs needs root (this test fills a 64 MiB tmpfs)", flush=True)
        sys.exit(77)
    workdir = tempfile.mkdtemp(prefix="kura-it-full.")
    data = os.path.join(workdir, "data")
    os.makedirs(data)
    try:
        m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d" % FS_SIZE, "tmpfs", data],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        why = m.stdout.decode(errors="replace").strip() if m.returncode else None
    except OSError as e:
        why = str(e)
    if why is not None:
        print("SKIP: cannot mount a tmpfs on %s (%s)" % (data, why), flush=True)
        os.rmdir(data)
        os.rmdir(workdir)
        sys.exit(77)
    runner = Runner()
    srv = None
    try:
        admin_port = harness.free_port()
        srv = Kura(sys.argv[1], workdir=workdir,
                   extra_args=["--min-free-space", "6M",
                               "--admin-listen", "127.0.0.1:%d" % admin_port])
        srv.start()
        check(harness.wait_port(admin_port, 20), "admin listener did not open")
        st = State(srv, data, admin_port)
        runner.run("setup: objects, a multipart upload, a 16 MiB filler", t_setup, st)
        runner.run("reserve: PUTs refused with 507 at the reserve", t_fill_to_reserve, st)
        runner.run("reserve: PUT, UploadPart, chunked PUT, CopyObject refused; boto3 does not "
                   "retry", t_writes_refused, st)
        runner.run("reserve: GET, HEAD, listing, DELETE, DeleteObjects, CreateBucket work; "
                   "logged once", t_still_serving, st)
        runner.run("reserve: filler removed -> writes succeed, logged once", t_space_back, st)
        runner.run("enospc: restart with --min-free-space 0", t_restart_without_reserve, st)
        runner.run("enospc: filesystem fills under an admitted upload -> 507",
                   t_enospc_mid_upload, st)
        runner.run("enospc: LMDB out of space -> 507, reads keep working", t_metadata_full, st)
        runner.run("enospc: space back -> writes succeed", t_enospc_space_back, st)
        runner.run("room: restart with --compact-grace 0", t_restart_compacting, st)
        runner.run("room: deleting objects on a full volume makes room for new writes",
                   t_delete_to_make_room, st)
    finally:
        if srv is not None:
            srv.stop()
        for attempt in range(20):
            if subprocess.run(["umount", data], stderr=subprocess.DEVNULL).returncode == 0:
                break
            time.sleep(0.25)
        else:
            subprocess.run(["umount", "-l", data])
        if os.environ.get("KURA_IT_KEEP") != "1":
            subprocess.run(["rm", "-rf", "--one-file-system", workdir])
        else:
            print("kept %s (log: %s/kura.log)" % (workdir, workdir))
    sys.exit(runner.finish())


if __name__ == "__main__":
    main()
