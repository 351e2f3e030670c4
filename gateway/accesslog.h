/* SPDX-License-Identifier: Apache-2.0 */
/* The structured access log: one JSON object per line per request
 * (issue 15), written by the HTTP listener when a request ends.
 *
 * Line (keys always present, in this order; null where unknown):
 *   {"time":"2026-12-07T15:04:05.123Z","request_id":"…","remote":"127.0.0.1",
 *    "principal":"AK or ACCOUNT:USER"|null,"protocol":"s3"|"swift",
 *    "op":"PutObject","method":"PUT","bucket":…,"key":…,"status":200,
 *    "error":"NoSuchKey"|null,"bytes_in":N,"bytes_out":N,"duration_ms":1.234,
 *    "user_agent":"…"|null}
 * request_id is the x-amz-request-id the client saw (Swift's X-Trans-Id is
 * "tx" followed by it). No query string is logged: presigned URLs and
 * TempURLs carry credentials there. status is 0 when the connection was
 * lost before an answer was queued. Strings are JSON-escaped, and a byte
 * that is not part of well-formed UTF-8 is written as \ufffd, so a line is
 * always valid JSON whatever a request carried.
 *
 * Output: a file opened for append (created 0640 if missing), or standard
 * output for "-". Each line goes out in one write(2), so lines of
 * concurrent requests never interleave. accesslog_reopen_request (async-
 * signal-safe: SIGHUP) makes the next line reopen the file by name, for
 * logrotate's rename-then-HUP.
 *
 * Threads: accesslog_write from any thread (a mutex around the write and a
 * reopen). Errors: a failed write is counted and reported once per episode
 * in the server log; the request is never affected.
 */
#ifndef KURA_GATEWAY_ACCESSLOG_H
#define KURA_GATEWAY_ACCESSLOG_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

typedef struct accesslog accesslog;

typedef struct accesslog_entry {
    int64_t time_ms; /* wall clock, end of the request */
    const char *request_id;
    const char *remote;
    const char *principal; /* NULL: anonymous or not authenticated */
    const char *protocol;  /* "s3", "swift" */
    const char *op;        /* operation name (metrics.h), "Unknown" if none */
    const char *method;
    const char *bucket; /* NULL: none */
    const char *key;    /* NULL: none; key_len bytes (may hold any byte) */
    size_t key_len;
    int status;
    const char *error; /* error code, NULL if none */
    uint64_t bytes_in, bytes_out;
    uint64_t duration_ns;
    const char *user_agent; /* NULL: none */
} accesslog_entry;

/* path: a file name, or "-" for standard output. K_EIO if it cannot be
 * opened (logged). */
kerr accesslog_open(const char *path, accesslog **out);
void accesslog_close(accesslog *l);
void accesslog_write(accesslog *l, const accesslog_entry *e);
/* Async-signal-safe: the next write reopens the file (no-op for stdout). */
void accesslog_reopen_request(void);

/* Formats e as one line (with the newline) into out; for tests and the
 * fuzz harness. */
void accesslog_format(kbuf *out, const accesslog_entry *e);

#endif
