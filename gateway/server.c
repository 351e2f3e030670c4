/* SPDX-License-Identifier: Apache-2.0 */
#include "gateway/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/text.h"
#include "gateway/connguard.h"
#include "gateway/errors.h"
#include "gateway/accesslog.h"
#include "gateway/metrics.h"

struct gw_server {
    struct MHD_Daemon *daemon;
    gw_server_opts opts;
    int port;
    int listen_fd;
    conn_guard *guard;
    /* the worker pool */
    pthread_mutex_t qmu;
    pthread_cond_t qcv;   /* a job was queued, or exit */
    pthread_cond_t qidle; /* inflight reached 0 */
    struct conn_ctx *qhead, *qtail;
    unsigned inflight; /* jobs queued or running */
    bool stopping;     /* new jobs run on the calling thread */
    bool qexit;        /* workers leave once the queue is empty */
    pthread_t *workers;
    unsigned nworkers;
};

/* Bodies of requests already answered (errors decided from the headers) are
 * read and dropped up to this much so the client sees the answer rather than
 * a reset; beyond it the connection is closed. */
enum { DISCARD_LIMIT = 8 << 20 };

typedef enum job_kind { JOB_START = 1, JOB_BODY, JOB_DONE, JOB_FINISH } job_kind;

/* Where a request is, as seen by the event thread. */
typedef enum stage {
    ST_STARTING = 1, /* start handed to a worker; libmicrohttpd still at its first call */
    ST_BODY,         /* receiving the body (if any) */
    ST_FINAL,        /* body complete */
} stage;

typedef struct conn_ctx {
    gw_req req;
    gw_server *srv;
    struct MHD_Connection *conn;
    cg_conn *guard;
    stage stage;
    bool body_expected;
    bool done;     /* answer queued for a complete request */
    bool done_ran; /* on_done has run */
    uint64_t discarded;
    uint64_t body_read; /* body bytes received, given to on_body or dropped */
    uint64_t start_ns;  /* headers in (for the duration metric) */
    /* hand-off to the workers */
    job_kind job;
    struct conn_ctx *qnext;
    uint64_t enq_ns; /* when the job was queued */
    char *chunk;     /* copy of the body bytes for JOB_BODY */
    size_t chunk_len, chunk_cap;
} conn_ctx;

static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s) {
    return strlen(s);
}

/* Query parameters a request may carry (the S3 front end's own limit too).
 * libmicrohttpd keeps one record per parameter in the connection's memory
 * pool and, when they do not fit, cannot even answer: it closes the
 * connection. So the count is checked on the request line, before that. */
#define MAX_QUERY_PARAMS 1000
/* The initial request context of a request refused for its parameters. */
static char too_many_params;

/* libmicrohttpd's URI log callback: runs on the request line before the
 * query is split into parameters. Too many: the query is cut off (so
 * libmicrohttpd stores none of them) and the request marked, to be
 * answered 400 by on_access. The line is libmicrohttpd's own writable read
 * buffer, which this version documents as modified in place anyway (the
 * query is split and unescaped there). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn) {
    (void)cls;
    (void)conn;
    const char *q = strchr(uri, '?');
    if (!q) return NULL;
    size_t n = 1;
    for (const char *p = q + 1; *p; p++)
        if (*p == '&' && ++n > MAX_QUERY_PARAMS) {
            ((char *)q)[1] = '\0';
            return &too_many_params;
        }
    return NULL;
}

typedef struct collect {
    arena *a;
    http_header *h;
    size_t n, cap;
    http_param *q;
    size_t qn, qcap;
} collect;

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value) {
    collect *c = cls;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 32;
        http_header *nh = arena_alloc(c->a, cap * sizeof *nh);
        if (c->n) memcpy(nh, c->h, c->n * sizeof *nh);
        c->h = nh;
        c->cap = cap;
    }
    size_t kl = strlen(key);
    char *name = arena_strndup(c->a, key, kl);
    for (size_t i = 0; i < kl; i++)
        if (name[i] >= 'A' && name[i] <= 'Z') name[i] = (char)(name[i] + 32);
    size_t vl = value ? strlen(value) : 0;
    const char *v = str_trim(value ? value : "", &vl);
    c->h[c->n].name = name;
    c->h[c->n].value = arena_strndup(c->a, v, vl);
    c->n++;
    return MHD_YES;
}

static enum MHD_Result collect_param(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value) {
    collect *c = cls;
    if (c->qn == c->qcap) {
        size_t cap = c->qcap ? c->qcap * 2 : 16;
        http_param *nq = arena_alloc(c->a, cap * sizeof *nq);
        if (c->qn) memcpy(nq, c->q, c->qn * sizeof *nq);
        c->q = nq;
        c->qcap = cap;
    }
    http_param *p = &c->q[c->qn++];
    p->raw_name = arena_strdup(c->a, key);
    char *name = arena_strdup(c->a, key);
    long nl = url_decode_inplace(name, strlen(name), true);
    p->name = nl < 0 ? p->raw_name : name;
    if (value) {
        p->raw_value = arena_strdup(c->a, value);
        char *v = arena_strdup(c->a, value);
        long vl = url_decode_inplace(v, strlen(v), true);
        p->value = vl < 0 ? p->raw_value : v;
    } else {
        p->raw_value = p->value = NULL;
    }
    return MHD_YES;
}

void gw_add_header(gw_req *r, const char *name, const char *value) {
    gw_response *rs = &r->resp;
    if (rs->nheaders == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 16;
        http_header *nh = arena_alloc(r->http.a, cap * sizeof *nh);
        if (rs->nheaders) memcpy(nh, rs->headers, rs->nheaders * sizeof *nh);
        rs->headers = nh;
        rs->cap = cap;
    }
    rs->headers[rs->nheaders].name = arena_strdup(r->http.a, name);
    rs->headers[rs->nheaders].value = arena_strdup(r->http.a, value);
    rs->nheaders++;
}

gw_body_framing gw_body_frame(const gw_req *r, uint64_t *len) {
    *len = 0;
    if (r->has_content_length) {
        *len = r->content_length;
        return GW_BODY_SIZED;
    }
    const char *te = http_header_get(&r->http, "transfer-encoding");
    return te && strstr(te, "chunked") ? GW_BODY_CHUNKED : GW_BODY_NONE;
}

bool gw_body_complete(const gw_req *r) {
    return !r->has_content_length || r->body_received == r->content_length;
}

void gw_respond(gw_req *r, int status) {
    r->resp.status = status;
    r->responded = true;
}

static void new_request_id(char out[17]) {
    uint8_t b[8];
    RAND_bytes(b, sizeof b);
    hex_encode(b, sizeof b, out);
    for (int i = 0; i < 16; i++)
        if (out[i] >= 'a') out[i] = (char)(out[i] - 32);
}

static ssize_t stream_cb(void *cls, uint64_t pos, char *buf, size_t max) {
    gw_req *r = cls;
    if (pos >= r->resp.stream_len) return MHD_CONTENT_READER_END_OF_STREAM;
    if (!r->resp.stream) return MHD_CONTENT_READER_END_WITH_ERROR; /* length_only */
    ssize_t n = r->resp.stream(r->resp.stream_ctx, pos, buf, max);
    return n <= 0 ? MHD_CONTENT_READER_END_WITH_ERROR : n;
}

/* Queues the answer. close: "Connection: close" (libmicrohttpd closes the
 * connection after it). */
static enum MHD_Result send_response(struct MHD_Connection *conn, conn_ctx *cc, bool close) {
    gw_req *r = &cc->req;
    gw_response *rs = &r->resp;
    struct MHD_Response *resp;
    /* For HEAD, libmicrohttpd sends the callback response's size as
     * Content-Length and never reads the body. */
    if (rs->stream || rs->length_only) {
        /* length_only: libmicrohttpd never calls back for HEAD */
        resp = MHD_create_response_from_callback(rs->stream_len, 256 * 1024, stream_cb, r, NULL);
    } else if (rs->no_body) {
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    } else {
        resp = MHD_create_response_from_buffer(rs->body.len, rs->body.data ? rs->body.data : "",
                                               MHD_RESPMEM_MUST_COPY);
    }
    if (!resp) return MHD_NO;
    for (size_t i = 0; i < rs->nheaders; i++) {
        if (!strcmp(rs->headers[i].name, "content-length")) continue; /* MHD writes it */
        MHD_add_response_header(resp, rs->headers[i].name, rs->headers[i].value);
    }
    MHD_add_response_header(resp, "x-amz-request-id", r->request_id);
    MHD_add_response_header(resp, "x-amz-id-2", r->request_id);
    MHD_add_response_header(resp, "Server", "kura");
    if (close) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)rs->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void fill_request(gw_server *srv, conn_ctx *cc, struct MHD_Connection *conn, const char *url,
                         const char *method) {
    gw_req *r = &cc->req;
    http_req *h = &r->http;
    h->a = arena_new(16384);
    h->method = arena_strdup(h->a, method);
    h->raw_path = arena_strdup(h->a, url);
    char *path = arena_strdup(h->a, url);
    long pl = url_decode_inplace(path, strlen(path), false);
    if (pl < 0) {
        path = arena_strdup(h->a, url);
        pl = (long)strlen(path);
    }
    h->path = path;
    h->path_len = (size_t)pl;
    collect c = {.a = h->a};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, &c);
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_param, &c);
    h->headers = c.h;
    h->nheaders = c.n;
    h->query = c.q;
    h->nquery = c.qn;
    h->tls = srv->opts.tls_cert_pem != NULL;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char addr[64] = "";
    if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)ci->client_addr)->sin_addr, addr, sizeof addr);
    h->remote_addr = arena_strdup(h->a, addr);
    const char *cl = http_header_get(h, "content-length");
    if (cl && parse_u64(cl, strlen(cl), &r->content_length)) r->has_content_length = true;
    new_request_id(r->request_id);
    r->resp.status = 200;
    cc->srv = srv;
    cc->start_ns = clock_mono_ns();
    gw_metrics_request_begin();
}

/* ------------------------------------------------------------ framing */

typedef struct framing {
    unsigned nte, ncl;
    const char *te, *cl;
    bool cl_differs;
    bool bad_name;
} framing;

static enum MHD_Result framing_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value) {
    framing *f = cls;
    if (strpbrk(key, " \t")) f->bad_name = true;
    if (!value) value = "";
    if (!strcasecmp(key, "transfer-encoding")) {
        f->nte++;
        f->te = value;
    } else if (!strcasecmp(key, "content-length")) {
        if (f->ncl && strcmp(f->cl, value)) f->cl_differs = true;
        f->ncl++;
        f->cl = value;
    }
    return MHD_YES;
}

/* K_OK if the body's length is unambiguous. The values are libmicrohttpd's
 * own (untrimmed), so that whatever it would not read as chunked is refused. */
static kerr framing_error(struct MHD_Connection *conn) {
    framing f = {0};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, framing_header, &f);
    if (f.bad_name || f.cl_differs || (f.nte && f.ncl) || f.nte > 1) return K_EBADFRAMING;
    if (f.nte && strcasecmp(f.te, "chunked")) {
        /* "gzip, chunked": a coding kura does not do (501); anything not
         * ending in chunked has no knowable length (400). */
        const char *last = strrchr(f.te, ',');
        last = last ? last + 1 : f.te;
        size_t n = strlen(last);
        last = str_trim(last, &n);
        return n == 7 && !strncasecmp(last, "chunked", 7) ? K_ENOTIMPL : K_EBADFRAMING;
    }
    return K_OK;
}

static bool expects_continue(const http_req *h) {
    const char *e = http_header_get(h, "expect");
    return e && !strcasecmp(e, "100-continue");
}

/* ----------------------------------------------------------- workers */

static void run_start(gw_server *srv, conn_ctx *cc) {
    gw_req *r = &cc->req;
    for (size_t i = 0; i < srv->opts.nfrontends; i++) {
        const gw_frontend *fe = &srv->opts.frontends[i];
        if (fe->match(fe->ctx, r)) {
            fe->start(fe->ctx, r);
            /* No body to wait for: finish in the same hand-off. */
            if (!cc->body_expected && !r->responded && r->on_done) {
                cc->done_ran = true;
                r->on_done(r);
            }
            return;
        }
    }
    kbuf_puts(&r->resp.body, "not found\n");
    gw_respond(r, 404);
}

static void run_body(conn_ctx *cc) {
    gw_req *r = &cc->req;
    kerr e = r->on_body(r, cc->chunk, cc->chunk_len);
    if (e && !r->responded) {
        /* a front end answers its own errors; this is the safety net */
        const kerr_info *info = kerr_lookup(e);
        log_error("body handler failed without an answer: %s", kerr_name(e));
        kbuf_printf(&r->resp.body, "%s\n", info->message);
        gw_respond(r, info->s3_status);
    }
    /* The whole Content-Length is in: finish in the same hand-off. */
    if (!r->responded && r->on_done && r->has_content_length &&
        r->body_received >= r->content_length) {
        cc->done_ran = true;
        r->on_done(r);
    }
}

static void free_ctx(conn_ctx *cc) {
    gw_req *r = &cc->req;
    if (r->resp.stream_free) r->resp.stream_free(r->resp.stream_ctx);
    kbuf_free(&r->resp.body);
    arena_free(r->http.a);
    free(cc->chunk);
    free(cc);
}

static void run_job(gw_server *srv, conn_ctx *cc) {
    gw_req *r = &cc->req;
    switch (cc->job) {
    case JOB_START:
        run_start(srv, cc);
        break;
    case JOB_BODY:
        run_body(cc);
        break;
    case JOB_DONE:
        if (!r->responded) r->on_done(r);
        break;
    case JOB_FINISH: /* the request is over: release what it held */
        r->on_abort(r);
        free_ctx(cc);
        break;
    }
}

/* Runs cc's job on a worker: true if the connection was suspended for it
 * (the event thread returns; the worker resumes the connection and
 * libmicrohttpd calls on_access again), false if it ran on this thread
 * (server stopping). JOB_FINISH does not suspend: it owns cc. */
static bool submit(gw_server *srv, conn_ctx *cc, job_kind k) {
    cc->job = k;
    pthread_mutex_lock(&srv->qmu);
    if (srv->stopping) {
        pthread_mutex_unlock(&srv->qmu);
        run_job(srv, cc);
        return false;
    }
    srv->inflight++;
    if (k != JOB_FINISH) {
        cc->enq_ns = clock_mono_ns();
        MHD_suspend_connection(cc->conn);
    }
    cc->qnext = NULL;
    if (srv->qtail)
        srv->qtail->qnext = cc;
    else
        srv->qhead = cc;
    srv->qtail = cc;
    pthread_cond_signal(&srv->qcv);
    pthread_mutex_unlock(&srv->qmu);
    return true;
}

static void *worker_main(void *arg) {
    gw_server *srv = arg;
    pthread_mutex_lock(&srv->qmu);
    for (;;) {
        while (!srv->qhead && !srv->qexit) pthread_cond_wait(&srv->qcv, &srv->qmu);
        conn_ctx *cc = srv->qhead;
        if (!cc) break;
        srv->qhead = cc->qnext;
        if (!srv->qhead) srv->qtail = NULL;
        pthread_mutex_unlock(&srv->qmu);
        /* After the resume the event thread may free cc: nothing of it is
         * touched past this point. */
        struct MHD_Connection *conn = cc->job == JOB_FINISH ? NULL : cc->conn;
        cg_conn *guard = cc->guard;
        uint64_t enq_ns = cc->enq_ns;
        run_job(srv, cc);
        if (conn) {
            /* the time the connection waited for the server */
            cg_add_server_time(guard, clock_mono_ns() - enq_ns);
            MHD_resume_connection(conn);
        }
        pthread_mutex_lock(&srv->qmu);
        if (--srv->inflight == 0) pthread_cond_broadcast(&srv->qidle);
    }
    pthread_mutex_unlock(&srv->qmu);
    return NULL;
}

/* ------------------------------------------------------ libmicrohttpd */

static bool conn_suspended(struct MHD_Connection *conn) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_SUSPENDED);
    return ci && ci->suspended;
}

static void refuse(gw_server *srv, conn_ctx *cc, kerr e) {
    gw_req *r = &cc->req;
    for (size_t i = 0; i < srv->opts.nfrontends; i++) {
        const gw_frontend *fe = &srv->opts.frontends[i];
        if (fe->refuse && fe->match(fe->ctx, r)) {
            fe->refuse(fe->ctx, r, e);
            if (r->responded) return;
        }
    }
    const kerr_info *info = kerr_lookup(e);
    kbuf_printf(&r->resp.body, "%s\n", info->message);
    gw_add_header(r, "Content-Type", "text/plain");
    gw_respond(r, info->s3_status);
}

/* Called by libmicrohttpd (on the event thread owning the connection):
 * first when the headers are in (state HEADERS_PROCESSED), again after every
 * resume, with each piece of body, and with *upload_data_size 0 once the
 * request is complete (FULL_REQ_RECEIVED), until an answer is queued. */
static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls) {
    gw_server *srv = cls;
    conn_ctx *cc = *con_cls;
    bool params_refused = false;
    if ((void *)cc == &too_many_params) {
        params_refused = true;
        cc = NULL;
        *con_cls = NULL;
    }
    if (!cc) {
        cc = calloc(1, sizeof *cc);
        if (!cc) return MHD_NO;
        *con_cls = cc;
        cc->conn = conn;
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        cc->guard = ci ? ci->socket_context : NULL;
        cg_headers_done(cc->guard);
        fill_request(srv, cc, conn, url, method);
        kerr fe = params_refused ? K_ETOOMANYPARAMS : framing_error(conn);
        if (fe) {
            /* Queued in the first call: libmicrohttpd reads no body and
             * closes the connection after the answer. */
            refuse(srv, cc, fe);
            cc->done = true;
            return send_response(conn, cc, true);
        }
        gw_req *r = &cc->req;
        cc->body_expected = (r->has_content_length && r->content_length > 0) ||
                            http_header_get(&r->http, "transfer-encoding") != NULL;
        cc->stage = ST_STARTING;
        if (submit(srv, cc, JOB_START)) return MHD_YES;
    } else {
        /* Called again in the same parsing loop right after a hand-off:
         * leave the data where it is; libmicrohttpd offers it again after
         * the resume. */
        if (conn_suspended(conn)) return MHD_YES;
    }
    gw_req *r = &cc->req;
    if (cc->stage == ST_STARTING) {
        /* Still libmicrohttpd's first call: it sends 100 Continue after it
         * unless an answer is queued here. */
        cc->stage = ST_BODY;
        if (cc->body_expected && r->responded && expects_continue(&r->http)) {
            /* Refused: answer instead of 100 Continue, so the client does
             * not send the body; libmicrohttpd closes after the answer. */
            cc->done = true;
            return send_response(conn, cc, true);
        }
        /* The minimum rate holds for bodies that are dropped too. */
        if (cc->body_expected) cg_body_start(cc->guard);
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        cc->body_read += n;
        cg_body_progress(cc->guard, cc->body_read);
        if (r->responded || !r->on_body) {
            cc->discarded += n;
            if (cc->discarded > DISCARD_LIMIT) {
                /* libmicrohttpd cannot answer in the middle of a body */
                log_debug("closing a connection after %llu bytes of an answered request's body",
                          (unsigned long long)cc->discarded);
                return MHD_NO;
            }
            return MHD_YES;
        }
        if (cc->chunk_cap < n) {
            char *nb = realloc(cc->chunk, n);
            if (!nb) return MHD_NO;
            cc->chunk = nb;
            cc->chunk_cap = n;
        }
        memcpy(cc->chunk, upload_data, n);
        cc->chunk_len = n;
        r->body_received += n;
        submit(srv, cc, JOB_BODY);
        return MHD_YES;
    }
    if (cc->stage == ST_BODY) {
        cc->stage = ST_FINAL;
        cg_body_done(cc->guard);
    }
    if (!cc->done_ran && !r->responded && r->on_done) {
        cc->done_ran = true;
        if (submit(srv, cc, JOB_DONE)) return MHD_YES;
    }
    if (!r->responded) gw_respond(r, 500);
    cc->done = true;
    return send_response(conn, cc, false);
}

/* Counts cc in the metrics: an answer queued counts under its status with
 * the body bytes sent (none when the connection failed while sending);
 * otherwise it is an aborted request. */
static void count_request(conn_ctx *cc, enum MHD_RequestTerminationCode toe) {
    gw_req *r = &cc->req;
    const gw_response *rs = &r->resp;
    uint64_t sent = 0;
    if (cc->done && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK && !rs->no_body &&
        !rs->length_only && strcmp(r->http.method, "HEAD"))
        sent = rs->stream ? rs->stream_len : rs->body.len;
    uint64_t took = clock_mono_ns() - cc->start_ns;
    gw_metrics_request_end(r->op_api, r->op_index, rs->status, cc->done, cc->body_read, sent, took);
    accesslog *log = cc->srv ? cc->srv->opts.access_log : NULL;
    if (!log) return;
    accesslog_entry e = {.time_ms = clock_real_ms(),
                         .request_id = r->request_id,
                         .remote = r->http.remote_addr,
                         .principal = r->log_principal,
                         .protocol = gw_metrics_api_name(r->op_api),
                         .op = gw_metrics_op_name(r->op_api, r->op_index),
                         .method = r->http.method,
                         .bucket = r->log_bucket,
                         .key = r->log_key,
                         .key_len = r->log_key_len,
                         .status = cc->done || r->responded ? rs->status : 0,
                         .error = r->log_error,
                         .bytes_in = cc->body_read,
                         .bytes_out = sent,
                         .duration_ns = took,
                         .user_agent = http_header_get(&r->http, "user-agent")};
    accesslog_write(log, &e);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    gw_server *srv = cls;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    if (ci) cg_request_done(ci->socket_context);
    conn_ctx *cc = *con_cls;
    *con_cls = NULL;
    if (!cc || (void *)cc == &too_many_params) return;
    gw_req *r = &cc->req;
    count_request(cc, toe);
    if ((!cc->done || toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) && r->on_abort)
        submit(srv, cc, JOB_FINISH); /* on_abort may block (deletes what was written) */
    else
        free_ctx(cc);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
    gw_server *srv = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = ci ? cg_conn_open(srv->guard, ci->connect_fd) : NULL;
        gw_metrics_connection(1);
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        gw_metrics_connection(-1);
        cg_conn_close(srv->guard, *socket_context);
        *socket_context = NULL;
    }
}

static void log_mhd(void *cls, const char *fmt, va_list ap) {
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && line[n - 1] == '\n') line[--n] = 0;
    log_debug("mhd: %s", line);
}

/* ------------------------------------------------------------ server */

void gw_server_default_opts(gw_server_opts *o) {
    o->max_connections = GW_DEFAULT_MAX_CONNECTIONS;
    o->max_conns_per_ip = GW_DEFAULT_MAX_CONNS_PER_IP;
    o->workers = GW_DEFAULT_WORKERS;
    o->event_threads = GW_DEFAULT_EVENT_THREADS;
    o->idle_timeout_s = GW_DEFAULT_IDLE_TIMEOUT_S;
    o->header_timeout_s = GW_DEFAULT_HEADER_TIMEOUT_S;
    o->min_body_rate = GW_DEFAULT_MIN_BODY_RATE;
    o->body_rate_window_s = GW_DEFAULT_BODY_RATE_WINDOW_S;
}

/* The listening socket, made here rather than by libmicrohttpd so that an
 * address in use is reported as such. SO_REUSEADDR only (restart while old
 * connections linger in TIME_WAIT); never SO_REUSEPORT, with which a second
 * server would silently share the port. */
static kerr open_listener(const struct sockaddr_in *sa, int *out) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log_error("socket: %s", strerror(errno));
        return K_EIO;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (const struct sockaddr *)sa, sizeof *sa) != 0) {
        int err = errno;
        close(fd);
        if (err == EADDRINUSE) return K_ECONFLICT;
        log_error("bind: %s", strerror(err));
        return K_EIO;
    }
    if (listen(fd, 4096) != 0) {
        log_error("listen: %s", strerror(errno));
        close(fd);
        return K_EIO;
    }
    *out = fd;
    return K_OK;
}

static void stop_workers(gw_server *s) {
    pthread_mutex_lock(&s->qmu);
    s->qexit = true;
    pthread_cond_broadcast(&s->qcv);
    pthread_mutex_unlock(&s->qmu);
    for (unsigned i = 0; i < s->nworkers; i++) pthread_join(s->workers[i], NULL);
    s->nworkers = 0;
}

static void server_free(gw_server *s) {
    stop_workers(s);
    conn_guard_stop(s->guard);
    if (s->listen_fd >= 0) close(s->listen_fd);
    pthread_cond_destroy(&s->qcv);
    pthread_cond_destroy(&s->qidle);
    pthread_mutex_destroy(&s->qmu);
    free(s->workers);
    free(s);
}

kerr gw_server_start(const gw_server_opts *o, gw_server **out) {
    gw_server *s = calloc(1, sizeof *s);
    if (!s) return K_ENOMEM;
    s->opts = *o;
    s->listen_fd = -1;
    gw_server_opts *so = &s->opts;
    if (!so->max_connections) so->max_connections = GW_DEFAULT_MAX_CONNECTIONS;
    if (!so->workers) so->workers = GW_DEFAULT_WORKERS;
    if (!so->event_threads) so->event_threads = GW_DEFAULT_EVENT_THREADS;
    if (!so->body_rate_window_s) so->body_rate_window_s = GW_DEFAULT_BODY_RATE_WINDOW_S;
    pthread_mutex_init(&s->qmu, NULL);
    pthread_cond_init(&s->qcv, NULL);
    pthread_cond_init(&s->qidle, NULL);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
    if (inet_pton(AF_INET, o->host ? o->host : "127.0.0.1", &sa.sin_addr) != 1) {
        log_error("listen address %s is not an IPv4 address", o->host);
        server_free(s);
        return K_EINVAL;
    }
    kerr e = open_listener(&sa, &s->listen_fd);
    if (e) {
        server_free(s);
        return e;
    }
    struct sockaddr_in bound;
    socklen_t blen = sizeof bound;
    s->port = getsockname(s->listen_fd, (struct sockaddr *)&bound, &blen) == 0
                  ? ntohs(bound.sin_port)
                  : o->port;
    conn_guard_opts go = {.header_timeout_s = so->header_timeout_s,
                          .min_body_rate = so->min_body_rate,
                          .body_rate_window_s = so->body_rate_window_s};
    e = conn_guard_start(&go, &s->guard);
    if (e) {
        server_free(s);
        return e;
    }
    s->workers = calloc(so->workers, sizeof *s->workers);
    if (!s->workers) {
        server_free(s);
        return K_ENOMEM;
    }
    for (unsigned i = 0; i < so->workers; i++) {
        if (pthread_create(&s->workers[i], NULL, worker_main, s) != 0) {
            log_error("cannot start worker thread %u of %u", i + 1, so->workers);
            server_free(s);
            return K_ENOMEM;
        }
        s->nworkers++;
    }
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (o->tls_cert_pem) flags |= MHD_USE_TLS;
    struct MHD_OptionItem opts[20];
    int i = 0;
    opts[i++] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, s->listen_fd, NULL};
    opts[i++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, s};
    opts[i++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, s};
    opts[i++] = (struct MHD_OptionItem){MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)no_unescape, NULL};
    opts[i++] = (struct MHD_OptionItem){MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, NULL};
    opts[i++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, so->idle_timeout_s, NULL};
    opts[i++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, so->max_connections, NULL};
    if (so->max_conns_per_ip)
        opts[i++] =
            (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT, so->max_conns_per_ip, NULL};
    if (so->event_threads > 1)
        opts[i++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, so->event_threads, NULL};
    /* libmicrohttpd keeps the request line, the headers and one record per
     * query parameter (~56 bytes each; at most MAX_QUERY_PARAMS, on_uri) in
     * this per-connection pool, and reads the body through half of it: a
     * 64 KiB pool costs large uploads 15-30% more CPU (more, smaller reads),
     * while the pool stays resident per keep-alive connection
     * (docs/operations.md, Memory). */
    opts[i++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, 256 * 1024, NULL};
    opts[i++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)log_mhd, NULL};
    if (o->tls_cert_pem) {
        opts[i++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)o->tls_cert_pem};
        opts[i++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)o->tls_key_pem};
    }
    opts[i++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_access, s, MHD_OPTION_ARRAY, opts,
                                 MHD_OPTION_END);
    if (!s->daemon) {
        log_error("cannot start the HTTP listener on %s:%d", o->host, s->port);
        s->listen_fd = -1; /* libmicrohttpd may have closed it */
        server_free(s);
        return K_EIO;
    }
    log_info("listener: %u event threads, %u workers, at most %u connections (%u per address), "
             "idle timeout %u s, header deadline %u s, minimum upload rate %u B/s over %u s",
             so->event_threads, so->workers, so->max_connections, so->max_conns_per_ip,
             so->idle_timeout_s, so->header_timeout_s, so->min_body_rate, so->body_rate_window_s);
    *out = s;
    return K_OK;
}

int gw_server_port(gw_server *s) {
    return s->port;
}

void gw_server_stop(gw_server *s) {
    if (!s) return;
    /* Stop accepting, let the queued jobs finish (libmicrohttpd must not be
     * stopped with suspended connections), then stop libmicrohttpd: from
     * here on jobs run on the calling thread. */
    MHD_socket lfd = MHD_quiesce_daemon(s->daemon);
    pthread_mutex_lock(&s->qmu);
    s->stopping = true;
    while (s->inflight) pthread_cond_wait(&s->qidle, &s->qmu);
    pthread_mutex_unlock(&s->qmu);
    MHD_stop_daemon(s->daemon);
    /* libmicrohttpd closed the listening socket unless it was quiesced */
    if (lfd == MHD_INVALID_SOCKET) s->listen_fd = -1;
    server_free(s);
}
