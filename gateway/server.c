/* SPDX-License-Identifier: Apache-2.0 */
#include "gateway/server.h"

#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "common/hash.h"
#include "common/log.h"
#include "gateway/errors.h"
#include "common/text.h"

struct gw_server {
    struct MHD_Daemon *daemon;
    gw_server_opts opts;
    int port;
};

/* Bodies of requests already answered (errors decided from the headers) are
 * read and dropped up to this much so the client sees the answer rather than
 * a reset; beyond it the connection is closed. */
enum { DISCARD_LIMIT = 8 << 20 };

typedef struct conn_ctx {
    gw_req req;
    gw_server *srv;
    int calls;
    bool done;
    uint64_t discarded;
} conn_ctx;

static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s) {
    return strlen(s);
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
    ssize_t n = r->resp.stream(r->resp.stream_ctx, pos, buf, max);
    return n <= 0 ? MHD_CONTENT_READER_END_WITH_ERROR : n;
}

static enum MHD_Result send_response(struct MHD_Connection *conn, conn_ctx *cc) {
    gw_req *r = &cc->req;
    gw_response *rs = &r->resp;
    struct MHD_Response *resp;
    /* For HEAD, libmicrohttpd sends the callback response's size as
     * Content-Length and never reads the body. */
    if (rs->stream) {
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
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls) {
    gw_server *srv = cls;
    conn_ctx *cc = *con_cls;
    if (!cc) {
        cc = calloc(1, sizeof *cc);
        if (!cc) return MHD_NO;
        *con_cls = cc;
        fill_request(srv, cc, conn, url, method);
        gw_req *r = &cc->req;
        bool taken = false;
        for (size_t i = 0; i < srv->opts.nfrontends && !taken; i++) {
            const gw_frontend *fe = &srv->opts.frontends[i];
            if (fe->match(fe->ctx, r)) {
                fe->start(fe->ctx, r);
                taken = true;
            }
        }
        if (!taken) {
            kbuf_puts(&r->resp.body, "not found\n");
            gw_respond(r, 404);
        }
        /* Queueing on the first call makes this libmicrohttpd close the
         * connection; answer from the second call on. */
        return MHD_YES;
    }
    gw_req *r = &cc->req;
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->responded || !r->on_body) {
            cc->discarded += n;
            if (cc->discarded > DISCARD_LIMIT) {
                if (!r->responded) gw_respond(r, 400);
                return send_response(conn, cc);
            }
            return MHD_YES;
        }
        r->body_received += n;
        kerr e = r->on_body(r, upload_data, n);
        if (e && !r->responded) {
            /* a front end answers its own errors; this is the safety net */
            const kerr_info *info = kerr_lookup(e);
            log_error("body handler failed without an answer: %s", kerr_name(e));
            kbuf_printf(&r->resp.body, "%s\n", info->message);
            gw_respond(r, info->s3_status);
        }
        return MHD_YES;
    }
    if (!r->responded && r->on_done) r->on_done(r);
    if (!r->responded) gw_respond(r, 500);
    cc->done = true;
    return send_response(conn, cc);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    conn_ctx *cc = *con_cls;
    if (!cc) return;
    gw_req *r = &cc->req;
    if ((!cc->done || toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) && r->on_abort) r->on_abort(r);
    if (r->resp.stream_free) r->resp.stream_free(r->resp.stream_ctx);
    kbuf_free(&r->resp.body);
    arena_free(r->http.a);
    free(cc);
    *con_cls = NULL;
}

static void log_mhd(void *cls, const char *fmt, va_list ap) {
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && line[n - 1] == '\n') line[--n] = 0;
    log_debug("mhd: %s", line);
}

kerr gw_server_start(const gw_server_opts *o, gw_server **out) {
    gw_server *s = calloc(1, sizeof *s);
    if (!s) return K_ENOMEM;
    s->opts = *o;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
    if (inet_pton(AF_INET, o->host ? o->host : "127.0.0.1", &sa.sin_addr) != 1) {
        log_error("listen address %s is not an IPv4 address", o->host);
        free(s);
        return K_EINVAL;
    }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG;
    if (o->tls_cert_pem) flags |= MHD_USE_TLS;
    struct MHD_OptionItem opts[16];
    int i = 0;
    opts[i++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &sa};
    opts[i++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, NULL};
    opts[i++] = (struct MHD_OptionItem){MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)no_unescape, NULL};
    opts[i++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, 300, NULL};
    opts[i++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT,
                                        o->max_connections ? o->max_connections : 1024, NULL};
    /* libmicrohttpd keeps the request line, the headers and one record per
     * query parameter (~56 bytes each) in this per-connection pool, and
     * closes the connection without an answer when they do not fit. 1 MiB
     * holds 10,000 short parameters, so the S3 front end gets to refuse
     * such requests with a 400 (it accepts at most 1000). */
    opts[i++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, 1024 * 1024, NULL};
    opts[i++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)log_mhd, NULL};
    opts[i++] = (struct MHD_OptionItem){MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL};
    if (o->tls_cert_pem) {
        opts[i++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)o->tls_cert_pem};
        opts[i++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)o->tls_key_pem};
    }
    opts[i++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_access, s, MHD_OPTION_ARRAY, opts,
                                 MHD_OPTION_END);
    if (!s->daemon) {
        log_error("cannot listen on %s:%d", o->host, o->port);
        free(s);
        return K_EIO;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : o->port;
    *out = s;
    return K_OK;
}

int gw_server_port(gw_server *s) {
    return s->port;
}

void gw_server_stop(gw_server *s) {
    if (!s) return;
    MHD_stop_daemon(s->daemon);
    free(s);
}
