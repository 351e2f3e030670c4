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
 * Threading: one thread per connection (handlers may block on fsync group
 * commits and metadata round trips). A gw_req is only touched by its
 * connection's thread.
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
    bool no_body; /* 204/304/HEAD: send Content-Length but no body */
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
    void *server_priv;
};

typedef struct gw_frontend {
    /* Returns true if it takes this request (routing by path). */
    bool (*match)(void *ctx, gw_req *r);
    void (*start)(void *ctx, gw_req *r);
    void *ctx;
} gw_frontend;

typedef struct gw_server_opts {
    const char *host;
    int port;
    const char *tls_cert_pem; /* file contents, or NULL for plain HTTP */
    const char *tls_key_pem;
    const gw_frontend *frontends;
    size_t nfrontends;
    unsigned max_connections;
} gw_server_opts;

typedef struct gw_server gw_server;

kerr gw_server_start(const gw_server_opts *o, gw_server **out);
/* Port actually bound (useful when 0 was asked). */
int gw_server_port(gw_server *s);
void gw_server_stop(gw_server *s);

void gw_add_header(gw_req *r, const char *name, const char *value);
void gw_respond(gw_req *r, int status);

#endif
