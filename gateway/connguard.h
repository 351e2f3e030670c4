/* SPDX-License-Identifier: Apache-2.0 */
/* The connection guard: deadlines libmicrohttpd does not have.
 *
 * libmicrohttpd's only timeout is an idle timeout that every received byte
 * resets, so a client trickling one header byte every few seconds (slowloris)
 * or a body at a few bytes per second holds its connection forever. The
 * guard keeps a registry of the listener's TCP connections, each in one of
 * three phases, and a sweeper thread that looks at them once a second:
 *
 * - waiting: between requests, or before the first. The request is counted
 *   as started when the kernel has received bytes for it (TCP_INFO
 *   tcpi_bytes_received grew since the phase began); from then its headers
 *   must be complete within header_timeout_s. A connection that sends
 *   nothing is left to the listener's idle (keep-alive) timeout.
 * - body: the request body is being received. In each window of
 *   body_rate_window_s seconds of client time the body must grow by at least
 *   min_body_rate bytes per second. Time the server spends on the body (the
 *   connection waits for a worker, or a worker runs the front end) is not
 *   client time: the listener reports it with cg_add_server_time.
 * - busy: the request is being processed or answered: no deadline here.
 *
 * A connection past a deadline is shut down (shutdown(2) SHUT_RDWR, never
 * close: libmicrohttpd owns the descriptor); the listener then sees the
 * socket fail and closes it as for any client that went away. The deadlines
 * are checked with the sweeper's 1 s granularity.
 *
 * Threading: cg_conn_open/close and the phase calls for one connection are
 * made by one thread at a time (the listener thread that owns the
 * connection, or the worker it handed the connection to:
 * cg_add_server_time). The sweeper reads the phases without locks (a sequence
 * counter per connection) and holds the registry lock (one of 16 shards)
 * while it looks at a descriptor, and cg_conn_close takes the same lock, so
 * it never shuts down a descriptor that was closed and reused.
 * libmicrohttpd calls its close notification before it closes the socket.
 */
#ifndef KURA_GATEWAY_CONNGUARD_H
#define KURA_GATEWAY_CONNGUARD_H

#include <stdint.h>

#include "common/err.h"

typedef struct conn_guard conn_guard;
typedef struct cg_conn cg_conn;

typedef struct conn_guard_opts {
    unsigned header_timeout_s;   /* 0: no header deadline */
    unsigned min_body_rate;      /* bytes per second; 0: no minimum */
    unsigned body_rate_window_s; /* 0 means 30 */
} conn_guard_opts;

typedef struct conn_guard_stats {
    uint64_t header_timeouts; /* connections shut down past the header deadline */
    uint64_t slow_bodies;     /* connections shut down below the body rate */
} conn_guard_stats;

kerr conn_guard_start(const conn_guard_opts *o, conn_guard **out);
void conn_guard_stop(conn_guard *g);
void conn_guard_get_stats(conn_guard *g, conn_guard_stats *out);

/* A new connection with socket fd: waiting for its first request. NULL when
 * out of memory (the connection is then not guarded). */
cg_conn *cg_conn_open(conn_guard *g, int fd);
/* Before the socket is closed. Frees c. */
void cg_conn_close(conn_guard *g, cg_conn *c);

/* Headers are complete: busy. */
void cg_headers_done(cg_conn *c);
/* The body is to be received now: body phase, rate window starts. */
void cg_body_start(cg_conn *c);
/* Total body bytes received so far for this request. */
void cg_body_progress(cg_conn *c, uint64_t total);
/* ns of server time (queued or in a worker) spent on this body. */
void cg_add_server_time(cg_conn *c, uint64_t ns);
/* Body complete: busy. */
void cg_body_done(cg_conn *c);
/* Request answered (or abandoned): waiting for the next one. */
void cg_request_done(cg_conn *c);

#endif
