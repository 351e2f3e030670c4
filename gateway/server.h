/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP listener: libmicrohttpd glue between connections and the
 * protocol front ends.
 *
 * Each request gets a gw_req living in its own arena. The front end's start
 * function runs once the headers are in; it either answers at once
 * (gw_respond_*) or installs on_body/on_done to consume the body as it
 * streams and answer at the end. on_abort runs if the connection dies before
 * the request completed, so half-made uploads are released.
 *
 * Threading contract.
 * - Event threads (event_threads, default 2): libmicrohttpd's epoll loops
 *   (MHD_USE_EPOLL_INTERNAL_THREAD with a thread pool). They accept, read
 *   and parse requests and write answers for every connection; an idle
 *   keep-alive connection costs no thread, only its socket and buffer. They
 *   never run front-end code that may block on the network or on fsync.
 * - Workers (workers, default 64): a fixed pool that runs the front end:
 *   match + start, each on_body chunk, on_done and on_abort. A request that
 *   needs front-end work has its connection suspended
 *   (MHD_suspend_connection), the job queued, and a worker runs it and
 *   resumes the connection. So `workers` is the number of requests the front
 *   ends work on at once (each may block on a group-committed fsync or a
 *   metadata round trip); more wait in the queue, in arrival order.
 * - A gw_req is used by one thread at a time: the event thread that owns its
 *   connection or the worker running its job; the hand-off (queue mutex,
 *   libmicrohttpd's resume) orders the accesses. Successive callbacks of one
 *   request may run on different workers: front ends must not keep
 *   thread-local state across them.
 * - on_body gets a copy of the received bytes (the event thread copies them
 *   before the hand-off, so the worker never reads libmicrohttpd's buffer).
 * - Exception: streaming response bodies (gw_stream_fn) are produced on the
 *   event thread by libmicrohttpd's content callback. Today they read the
 *   local volumes (page cache or disk); that read blocks the event thread and
 *   the connections it serves for the time of one read (at most 256 KiB).
 *   A remote datanode read would have to move to the workers first.
 * - on_abort runs on a worker after the request ended (the connection may be
 *   gone); the request's memory is released there, or on the event thread
 *   when there was nothing to abort.
 * - While gw_server_stop runs, queued jobs finish on the workers and any new
 *   job runs on the thread that submits it; no connection stays suspended
 *   when libmicrohttpd is stopped.
 *
 * Limits (gw_server_opts; `kura serve` flags, docs/operations.md):
 * - max_connections over all (default 10000; the caller raises
 *   RLIMIT_NOFILE), max_conns_per_ip per client address (default 256;
 *   loopback is not exempt); connections beyond them are closed at accept.
 * - idle_timeout_s: a connection with no traffic for this long is closed
 *   (keep-alive idle time, and a client that stops sending or reading).
 * - header_timeout_s: the request line and headers must be complete within
 *   this long of the request's first byte, however slowly they trickle in.
 * - min_body_rate over body_rate_window_s: an upload slower than this is cut.
 *   These two are enforced by the connection guard (gateway/connguard.h).
 *
 * Framing (request smuggling): a request with both Transfer-Encoding and
 * Content-Length, with differing Content-Length values, with whitespace in
 * a header name, or whose Transfer-Encoding is not exactly "chunked" is
 * answered 400 (501 when chunked is the final coding after others) with
 * Connection: close before any body is read; the front end formats the error
 * (gw_frontend.refuse).
 *
 * Expect: 100-continue: libmicrohttpd sends "100 Continue" after the first
 * handler call unless a response is queued in it. The first call hands the
 * request to a worker and the listener answers in the call after the resume,
 * which libmicrohttpd 0.9.75 still treats as the first (state
 * HEADERS_PROCESSED). An answer queued there makes libmicrohttpd skip the
 * body and close the connection after the answer, so it is used only when
 * the front end refused a request with a body that waits for 100 Continue
 * (the client then sends no body) and for framing errors. Other early
 * answers are sent after the body was read and dropped (up to 8 MiB, beyond
 * that the connection is closed), because closing a connection with unread
 * data makes the kernel reset it and the client may never see the answer.
 */
#ifndef KURA_GATEWAY_SERVER_H
#define KURA_GATEWAY_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/buf.h"
#include "common/err.h"
#include "gateway/http.h"

typedef struct gw_req gw_req;

/* Streaming response body: fill buf with up to max bytes at position pos
 * of the body; return bytes written, 0 never (the server knows the length),
 * or -1 on error (connection is closed). */
typedef ssize_t (*gw_stream_fn)(void *ctx, uint64_t pos, char *buf, size_t max);

typedef struct gw_response {
    int status;
    http_header *headers;
    size_t nheaders, cap;
    kbuf body; /* used when stream is NULL */
    gw_stream_fn stream;
    void *stream_ctx;
    void (*stream_free)(void *ctx);
    uint64_t stream_len;
    bool no_body;     /* 204/304/HEAD: send Content-Length but no body */
    bool length_only; /* HEAD of a stored body: Content-Length is stream_len,
                         no body and no stream */
} gw_response;

struct gw_req {
    http_req http;
    gw_response resp;
    bool responded;
    char request_id[17];
    /* Set by the front end to receive the body. on_body returns an error to
     * stop reading; the front end has then usually called gw_respond_*. */
    kerr (*on_body)(gw_req *r, const char *data, size_t n);
    void (*on_done)(gw_req *r);
    void (*on_abort)(gw_req *r);
    void *fe;
    uint64_t body_received;
    bool has_content_length;
    uint64_t content_length;
    /* Set by the front end for the metrics (gateway/metrics.h): the API
     * (GW_API_*, default S3) and the index of the operation from
     * gw_metrics_op (default 0, "Unknown"). */
    uint8_t op_api;
    uint16_t op_index;
    /* Set by the front end for the access log when known (strings that
     * live as long as the request, e.g. in http.a; NULL: none): who made
     * the request, the bucket (container) and key (object) it named, and
     * the error code of its answer. */
    const char *log_principal, *log_bucket, *log_error;
    const char *log_key;
    size_t log_key_len;
    void *server_priv;
};

typedef struct gw_frontend {
    /* Returns true if it takes this request (routing by path). May run on
     * an event thread (refusals): must not block. */
    bool (*match)(void *ctx, gw_req *r);
    void (*start)(void *ctx, gw_req *r);
    /* Optional: answer e (from the error table) for a request the listener
     * refuses before start (framing errors). Runs on an event thread: must
     * not block. Without it the answer is the table's status and message as
     * plain text. */
    void (*refuse)(void *ctx, gw_req *r, kerr e);
    void *ctx;
} gw_frontend;

#define GW_DEFAULT_MAX_CONNECTIONS 10000u
#define GW_DEFAULT_MAX_CONNS_PER_IP 256u
#define GW_DEFAULT_WORKERS 64u
#define GW_DEFAULT_EVENT_THREADS 2u
#define GW_DEFAULT_IDLE_TIMEOUT_S 30u
#define GW_DEFAULT_HEADER_TIMEOUT_S 15u
#define GW_DEFAULT_MIN_BODY_RATE 1024u
#define GW_DEFAULT_BODY_RATE_WINDOW_S 30u

typedef struct gw_server_opts {
    const char *host;
    int port;
    const char *tls_cert_pem; /* file contents, or NULL for plain HTTP */
    const char *tls_key_pem;
    const gw_frontend *frontends;
    size_t nfrontends;
    /* Limits; see the header comment. For the first four 0 means the
     * default; for the others 0 means no limit. gw_server_default_opts
     * fills in every default. */
    unsigned max_connections;
    unsigned workers;
    unsigned event_threads;
    unsigned body_rate_window_s;
    unsigned max_conns_per_ip;
    unsigned idle_timeout_s;
    unsigned header_timeout_s;
    unsigned min_body_rate; /* bytes per second */
    /* One line per request (gateway/accesslog.h), or NULL; borrowed: it
     * must outlive the server. */
    struct accesslog *access_log;
} gw_server_opts;

/* The GW_DEFAULT_* limits. */
void gw_server_default_opts(gw_server_opts *o);

typedef struct gw_server gw_server;

/* Binds host:port and starts the threads. K_ECONFLICT: the address is in use
 * (another process listens there; no port sharing); other errors are logged. */
kerr gw_server_start(const gw_server_opts *o, gw_server **out);
/* Port actually bound (useful when 0 was asked). */
int gw_server_port(gw_server *s);
void gw_server_stop(gw_server *s);

void gw_add_header(gw_req *r, const char *name, const char *value);
void gw_respond(gw_req *r, int status);

/* How the request's body is framed on the wire, for front ends that store
 * it: GW_BODY_SIZED (Content-Length: *len bytes), GW_BODY_CHUNKED
 * (Transfer-Encoding: chunked, length unknown until the end) or
 * GW_BODY_NONE (neither: no body). */
typedef enum gw_body_framing { GW_BODY_NONE, GW_BODY_SIZED, GW_BODY_CHUNKED } gw_body_framing;
gw_body_framing gw_body_frame(const gw_req *r, uint64_t *len);
/* Whether a sized body arrived whole (always true otherwise); checked at
 * on_done, since a client may end a body early. */
bool gw_body_complete(const gw_req *r);

#endif
