/* SPDX-License-Identifier: Apache-2.0 */
#include "gateway/admin.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "gateway/metrics.h"

enum { MAX_VOLUMES = 256 };

struct gw_admin {
    struct MHD_Daemon *daemon;
    gw_admin_opts o;
    int listen_fd;
    int port;
};

static size_t volumes(gw_admin *a, gw_admin_volume **out) {
    *out = NULL;
    if (!a->o.volumes) return 0;
    gw_admin_volume *v = calloc(MAX_VOLUMES, sizeof *v);
    if (!v) return 0;
    size_t n = a->o.volumes(a->o.ctx, v, MAX_VOLUMES);
    *out = v;
    return n < MAX_VOLUMES ? n : MAX_VOLUMES;
}

/* Prometheus label value: \, " and newline escaped. */
static void label(kbuf *b, const char *s) {
    for (; s && *s; s++) {
        if (*s == '\\' || *s == '"')
            kbuf_printf(b, "\\%c", *s);
        else if (*s == '\n')
            kbuf_puts(b, "\\n");
        else
            kbuf_append(b, s, 1);
    }
}

static void volume_series(kbuf *b, const gw_admin_volume *v, size_t n, const char *name,
                          const char *type, const char *help, int which) {
    kbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
    for (size_t i = 0; i < n; i++) {
        unsigned long long x = which == 0   ? v[i].free_bytes
                               : which == 1 ? v[i].total_bytes
                               : which == 2 ? v[i].reserve_bytes
                               : which == 3 ? v[i].full
                               : which == 4 ? v[i].refusals
                               : which == 5 ? v[i].chunks_compacted
                                            : v[i].bytes_reclaimed;
        kbuf_printf(b, "%s{volume=\"", name);
        label(b, v[i].name);
        kbuf_printf(b, "\"} %llu\n", x);
    }
}

static void render_metrics(gw_admin *a, kbuf *b) {
    kbuf_puts(b, "# HELP kura_build_info The running kura's version and build type.\n"
                 "# TYPE kura_build_info gauge\nkura_build_info{version=\"");
    label(b, a->o.version);
    kbuf_puts(b, "\",build_type=\"");
    label(b, a->o.build_type);
    kbuf_puts(b, "\"} 1\n");
    gw_metrics_render(b);
    gw_admin_volume *v;
    size_t n = volumes(a, &v);
    volume_series(b, v, n, "kura_volume_free_bytes", "gauge",
                  "Bytes free for kura on the volume's filesystem.", 0);
    volume_series(b, v, n, "kura_volume_total_bytes", "gauge",
                  "Size of the volume's filesystem in bytes.", 1);
    volume_series(b, v, n, "kura_volume_reserve_bytes", "gauge",
                  "Free space kept on the volume's filesystem (--min-free-space).", 2);
    volume_series(b, v, n, "kura_volume_full", "gauge",
                  "1 while writes to the volume are refused for lack of space.", 3);
    volume_series(b, v, n, "kura_volume_write_refusals_total", "counter",
                  "Writes refused on the volume for lack of space.", 4);
    volume_series(b, v, n, "kura_volume_compacted_chunks_total", "counter",
                  "Chunk files of the volume rewritten or removed by compaction.", 5);
    volume_series(b, v, n, "kura_volume_reclaimed_bytes_total", "counter",
                  "Bytes compaction gave back to the volume's filesystem.", 6);
    free(v);
    kbuf_printf(b,
                "# HELP kura_metadata_full 1 while metadata writes fail for lack of space "
                "(LMDB).\n# TYPE kura_metadata_full gauge\nkura_metadata_full %d\n",
                a->o.meta_full && a->o.meta_full(a->o.ctx) ? 1 : 0);
    gw_admin_series more[32];
    size_t nm = a->o.series ? a->o.series(a->o.ctx, more, 32) : 0;
    for (size_t i = 0; i < nm && i < 32; i++)
        kbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", more[i].name, more[i].help,
                    more[i].name, more[i].type, more[i].name, more[i].value);
}

/* 200 and "ready", or 503 and the reason. */
static int readiness(gw_admin *a, kbuf *b) {
    kerr e = a->o.meta_check ? a->o.meta_check(a->o.ctx) : K_OK;
    if (e) {
        kbuf_printf(b, "metadata store unavailable (%s)\n", kerr_name(e));
        return 503;
    }
    if (a->o.meta_full && a->o.meta_full(a->o.ctx)) {
        kbuf_puts(b, "metadata store full: its writes fail for lack of space\n");
        return 503;
    }
    gw_admin_volume *v;
    size_t n = volumes(a, &v);
    size_t writable = 0;
    for (size_t i = 0; i < n; i++) writable += !v[i].full && !v[i].stat_failed;
    int status = 200;
    if (!writable) {
        status = 503;
        if (!n) kbuf_puts(b, "no storage volume");
        for (size_t i = 0; i < n; i++) {
            if (i) kbuf_puts(b, "; ");
            if (v[i].stat_failed)
                kbuf_printf(b, "storage unavailable: %s (its free space cannot be read)",
                            v[i].name);
            else
                kbuf_printf(b, "storage full: %s free %llu of %llu bytes (reserve %llu)", v[i].name,
                            (unsigned long long)v[i].free_bytes,
                            (unsigned long long)v[i].total_bytes,
                            (unsigned long long)v[i].reserve_bytes);
        }
        kbuf_puts(b, "\n");
    } else {
        kbuf_puts(b, "ready\n");
    }
    free(v);
    return status;
}

static enum MHD_Result answer(struct MHD_Connection *conn, int status, const char *type, kbuf *b) {
    struct MHD_Response *r = MHD_create_response_from_buffer(b->len, b->data ? b->data : (void *)"",
                                                             MHD_RESPMEM_MUST_COPY);
    kbuf_free(b);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "Server", "kura");
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Whether the request carries "Authorization: Bearer <token>" (the
 * comparison takes the same time wherever the first difference is). */
static bool bearer_ok(struct MHD_Connection *conn, const char *token) {
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7)) return false;
    h += 7;
    size_t n = strlen(h), m = strlen(token);
    unsigned diff = n != m;
    for (size_t i = 0; i < m; i++)
        diff |= (unsigned)(unsigned char)token[i] ^ (unsigned)(unsigned char)(i < n ? h[i] : 0);
    return diff == 0;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls) {
    gw_admin *a = cls;
    if (!*con_cls) { /* headers in: wait for the (ignored) body */
        *con_cls = a;
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    kbuf b = KBUF_INIT;
    const char *text = "text/plain; charset=utf-8";
    bool known =
        !strcmp(url, "/metrics") || !strcmp(url, "/health/live") || !strcmp(url, "/health/ready");
    if (!known) {
        kbuf_puts(&b, "not found: the admin listener serves /metrics, /health/live and "
                      "/health/ready\n");
        return answer(conn, 404, text, &b);
    }
    if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
        kbuf_puts(&b, "method not allowed\n");
        return answer(conn, 405, text, &b);
    }
    if (!strcmp(url, "/metrics")) {
        if (a->o.metrics_token && !bearer_ok(conn, a->o.metrics_token)) {
            kbuf_puts(&b, "unauthorized: /metrics wants Authorization: Bearer <token>\n");
            struct MHD_Response *r =
                MHD_create_response_from_buffer(b.len, b.data, MHD_RESPMEM_MUST_COPY);
            kbuf_free(&b);
            if (!r) return MHD_NO;
            MHD_add_response_header(r, "Content-Type", text);
            MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"kura metrics\"");
            MHD_add_response_header(r, "Server", "kura");
            enum MHD_Result ret = MHD_queue_response(conn, 401, r);
            MHD_destroy_response(r);
            return ret;
        }
        render_metrics(a, &b);
        return answer(conn, 200, "text/plain; version=0.0.4; charset=utf-8", &b);
    }
    if (!strcmp(url, "/health/live")) {
        kbuf_puts(&b, "ok\n");
        return answer(conn, 200, text, &b);
    }
    int status = readiness(a, &b);
    return answer(conn, status, text, &b);
}

static void log_mhd(void *cls, const char *fmt, va_list ap) {
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && line[n - 1] == '\n') line[--n] = 0;
    log_debug("mhd (admin): %s", line);
}

kerr gw_admin_start(const gw_admin_opts *o, gw_admin **out) {
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
    if (inet_pton(AF_INET, o->host, &sa.sin_addr) != 1) {
        log_error("admin listen address %s is not an IPv4 address", o->host);
        return K_EINVAL;
    }
    gw_admin *a = calloc(1, sizeof *a);
    if (!a) return K_ENOMEM;
    a->o = *o;
    /* as the S3 listener: SO_REUSEADDR, never SO_REUSEPORT, so that an
     * address in use is reported as such */
    a->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (a->listen_fd < 0) {
        log_error("socket: %s", strerror(errno));
        free(a);
        return K_EIO;
    }
    int one = 1;
    setsockopt(a->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(a->listen_fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(a->listen_fd, 64) != 0) {
        int err = errno;
        close(a->listen_fd);
        free(a);
        if (err == EADDRINUSE) return K_ECONFLICT;
        log_error("admin listener: %s", strerror(err));
        return K_EIO;
    }
    struct sockaddr_in bound;
    socklen_t blen = sizeof bound;
    a->port = getsockname(a->listen_fd, (struct sockaddr *)&bound, &blen) == 0
                  ? ntohs(bound.sin_port)
                  : o->port;
    a->daemon =
        MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_access,
                         a, MHD_OPTION_LISTEN_SOCKET, a->listen_fd, MHD_OPTION_CONNECTION_TIMEOUT,
                         (unsigned)10, MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
                         MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL, MHD_OPTION_END);
    if (!a->daemon) {
        log_error("cannot start the admin listener on %s:%d", o->host, a->port);
        close(a->listen_fd);
        free(a);
        return K_EIO;
    }
    *out = a;
    return K_OK;
}

int gw_admin_port(gw_admin *a) {
    return a->port;
}

void gw_admin_stop(gw_admin *a) {
    if (!a) return;
    MHD_stop_daemon(a->daemon); /* closes the listening socket */
    free(a);
}
