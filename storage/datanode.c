/* SPDX-License-Identifier: Apache-2.0 */
/* The datanode's HTTP server; protocol and contract in datanode.h.
 *
 * libmicrohttpd with a thread per connection: handlers block on disk I/O
 * and group commit, which is what a datanode does, and connections are few
 * (gateways keep theirs open). Invariants:
 * - Nothing touches a volume before the signature and date checked out.
 * - A PUT's writer belongs to its request; it is finished on the last call
 *   of the access handler or aborted when the request ends any other way.
 */
#include "storage/datanode.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/hash.h"
#include "common/log.h"

struct datanode {
    struct MHD_Daemon *daemon;
    volset *vs;
    volset *peers; /* other datanodes' volumes an append forwards to */
    int listen_fd, port;
    char *secret, *id, *zone, *media, *address;
};

void dn_sign(const char *secret, const char *method, const char *path_query, const char *date,
             const char *content_sha256, char out[65]) {
    kbuf m = KBUF_INIT;
    kbuf_printf(&m, "%s\n%s\n%s\n%s", method, path_query, date, content_sha256);
    uint8_t mac[32];
    hmac_sha256(secret, strlen(secret), m.data, m.len, mac);
    hex_encode(mac, 32, out);
    kbuf_free(&m);
}

/* ---- requests ---- */

typedef enum {
    RQ_PUT = 1,
    RQ_GET,
    RQ_DELETE,
    RQ_HEALTH,
    RQ_COMPACT,
    RQ_CHUNK_CREATE,
    RQ_CHUNK_SEAL,
    RQ_CHUNK_NEEDLES,
    RQ_CHUNK_EXPIRE,
    RQ_REFUSED
} rq_kind;

typedef struct dn_req {
    rq_kind kind;
    vol_writer *w;
    uint32_t crc;
    uint64_t uid;
    kerr body_err; /* a write failed: the rest of the body is dropped */
    /* An append forwarded to replicas: their writers, on the volumes of
     * `fwd_set` (the datanode's peers, or a set of this request's own). */
    vol_writer *rw[VOL_MAX_REPLICAS];
    volset *rw_set[VOL_MAX_REPLICAS];
    size_t n_rw;
    volset *own_set;
} dn_req;

static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s) {
    return strlen(s);
}

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *ctype,
                               void *body, size_t len, bool free_body, const char *error,
                               const char *extra_name, const char *extra_value) {
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, body ? body : (void *)"", free_body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    if (ctype) MHD_add_response_header(r, "Content-Type", ctype);
    if (error) MHD_add_response_header(r, "X-Kura-Error", error);
    if (extra_name) MHD_add_response_header(r, extra_name, extra_value);
    MHD_add_response_header(r, "Server", "kura-datanode");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static unsigned status_of(kerr e) {
    switch (e) {
    case K_ECONFLICT:
        return 409;
    case K_ENOTFOUND:
        return 404;
    case K_EINVAL:
    case K_EINCOMPLETEBODY:
        return 400;
    case K_ENOSPC:
        return 507;
    case K_ETOOLARGE:
        return 413;
    case K_EINVALIDRANGE:
        return 416;
    case K_EACCESSDENIED:
    case K_ESIGNATURE:
    case K_ETIMESKEW:
        return 403;
    case K_EUNAVAILABLE:
    case K_ENOMEM:
        return 503;
    default:
        return 500;
    }
}

static enum MHD_Result respond_err(struct MHD_Connection *conn, kerr e, const char *why) {
    char text[256];
    int n = snprintf(text, sizeof text, "%s: %s\n", kerr_name(e), why);
    return respond(conn, status_of(e), "text/plain", text, (size_t)n, false, kerr_name(e), NULL,
                   NULL);
}

typedef struct query_acc {
    kbuf *b;
    int n;
} query_acc;

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value) {
    query_acc *q = cls;
    kbuf_puts(q->b, q->n++ ? "&" : "?");
    kbuf_puts(q->b, key);
    if (value) {
        kbuf_putc(q->b, '=');
        kbuf_puts(q->b, value);
    }
    return MHD_YES;
}

/* Checks date and signature; K_OK or the reason for a 403. */
static kerr authenticate(datanode *d, struct MHD_Connection *conn, const char *method,
                         const char *url, const char **why) {
    const char *date = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Kura-Date");
    const char *csha = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Kura-Content-SHA256");
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    static const char scheme[] = "KURA-HMAC-SHA256 ";
    if (!date || !csha || !auth || strncmp(auth, scheme, sizeof scheme - 1)) {
        *why = "missing X-Kura-Date, X-Kura-Content-SHA256 or Authorization";
        return K_EACCESSDENIED;
    }
    char *end;
    errno = 0;
    long long t = strtoll(date, &end, 10);
    long long now = (long long)clock_real_s();
    if (errno || *end || end == date || t - now > DN_MAX_SKEW_S || now - t > DN_MAX_SKEW_S) {
        *why = "X-Kura-Date is malformed or too far from the datanode's clock";
        return K_ETIMESKEW;
    }
    kbuf pq = KBUF_INIT;
    kbuf_puts(&pq, url);
    query_acc q = {&pq, 0};
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, add_arg, &q);
    char want[65];
    dn_sign(d->secret, method, pq.data, date, csha, want);
    kbuf_free(&pq);
    const char *got = auth + sizeof scheme - 1;
    if (strlen(got) != 64 || CRYPTO_memcmp(got, want, 64) != 0) {
        *why = "signature does not match";
        return K_ESIGNATURE;
    }
    return K_OK;
}

static bool parse_u64(const char *s, size_t n, int base, uint64_t *out) {
    if (n == 0 || n > 20) return false;
    char tmp[24];
    memcpy(tmp, s, n);
    tmp[n] = 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(tmp, &end, base);
    if (errno || *end || tmp[0] == '-' || tmp[0] == '+' || tmp[0] == ' ') return false;
    *out = v;
    return true;
}

/* "/v1/volumes/UID/needles" [ "/C/O" ]: fills uid (and chunk, offset when
 * with_loc). */
static bool parse_path(const char *url, bool with_loc, uint64_t *uid, uint64_t *chunk,
                       uint64_t *offset) {
    static const char pre[] = "/v1/volumes/";
    if (strncmp(url, pre, sizeof pre - 1)) return false;
    const char *p = url + sizeof pre - 1;
    if (strlen(p) < 16 || !parse_u64(p, 16, 16, uid) || *uid == 0) return false;
    p += 16;
    if (strncmp(p, "/needles", 8)) return false;
    p += 8;
    if (!with_loc) return *p == 0;
    if (*p++ != '/') return false;
    const char *slash = strchr(p, '/');
    if (!slash || !parse_u64(p, (size_t)(slash - p), 10, chunk) || *chunk > UINT32_MAX)
        return false;
    p = slash + 1;
    return parse_u64(p, strlen(p), 10, offset);
}

static bool query_len(struct MHD_Connection *conn, uint64_t *len) {
    const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "len");
    return v && parse_u64(v, strlen(v), 10, len);
}

/* POST /v1/compact: a compaction pass now, active chunks included. */
static enum MHD_Result do_compact(datanode *d, struct MHD_Connection *conn) {
    vol_compact_stats st = {0};
    kerr e = volset_compact(d->vs, true, &st);
    if (e) return respond_err(conn, e, "compaction failed (see the datanode's log)");
    kbuf b = KBUF_INIT;
    kbuf_printf(&b,
                "{\"scanned\":%" PRIu64 ",\"compacted\":%" PRIu64 ",\"removed\":%" PRIu64
                ",\"kept\":%" PRIu64 ",\"reclaimed\":%" PRIu64 "}\n",
                st.chunks_scanned, st.chunks_compacted, st.chunks_removed, st.needles_kept,
                st.bytes_reclaimed);
    size_t len;
    char *body = kbuf_steal(&b, &len);
    return respond(conn, 200, "application/json", body, len, true, NULL, NULL, NULL);
}

static enum MHD_Result do_health(datanode *d, struct MHD_Connection *conn) {
    kbuf b = KBUF_INIT;
    kbuf_printf(&b,
                "{\"id\":\"%s\",\"zone\":\"%s\",\"media\":\"%s\",\"address\":\"%s\",\"volumes\":[",
                d->id, d->zone, d->media, d->address);
    size_t n = volset_count(d->vs);
    for (size_t i = 0; i < n; i++) {
        vol_space s;
        if (volset_space_get(d->vs, (uint32_t)i, &s) != K_OK) continue;
        uint64_t avail = s.free_bytes > s.reserve_bytes ? s.free_bytes - s.reserve_bytes : 0;
        kbuf_printf(&b,
                    "%s{\"uid\":\"%016" PRIx64 "\",\"free\":%" PRIu64 ",\"total\":%" PRIu64
                    ",\"reserve\":%" PRIu64 ",\"avail\":%" PRIu64 ",\"full\":%s"
                    ",\"compacted\":%" PRIu64 ",\"reclaimed\":%" PRIu64 "}",
                    i ? "," : "", s.uid, s.free_bytes, s.total_bytes, s.reserve_bytes, avail,
                    s.full || s.stat_failed ? "true" : "false", s.chunks_compacted,
                    s.bytes_reclaimed);
    }
    kbuf_puts(&b, "]}\n");
    size_t len;
    char *body = kbuf_steal(&b, &len);
    return respond(conn, 200, "application/json", body, len, true, NULL, NULL, NULL);
}

static enum MHD_Result do_get(datanode *d, struct MHD_Connection *conn, const char *url) {
    uint64_t uid, chunk, offset, len;
    if (!parse_path(url, true, &uid, &chunk, &offset) || !query_len(conn, &len))
        return respond_err(conn, K_EINVAL, "want /v1/volumes/UID/needles/CHUNK/OFFSET?len=N");
    uint32_t index;
    if (!volset_find_uid(d->vs, uid, &index))
        return respond_err(conn, K_ENOTFOUND, "no such volume here");
    uint64_t first = 0, last = len ? len - 1 : 0;
    bool ranged = false;
    const char *range = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Range");
    if (range) {
        const char *dash;
        if (strncmp(range, "bytes=", 6) || !(dash = strchr(range + 6, '-')) ||
            !parse_u64(range + 6, (size_t)(dash - range - 6), 10, &first))
            return respond_err(conn, K_EINVAL, "Range wants bytes=A-B or bytes=A-");
        if (dash[1] && !parse_u64(dash + 1, strlen(dash + 1), 10, &last))
            return respond_err(conn, K_EINVAL, "Range wants bytes=A-B or bytes=A-");
        if (!dash[1]) last = len ? len - 1 : 0;
        if (last >= len) last = len - 1;
        if (len == 0 || first > last) return respond_err(conn, K_EINVALIDRANGE, "bad range");
        ranged = true;
    }
    uint64_t n = len ? last - first + 1 : 0;
    if (n > DN_MAX_READ) return respond_err(conn, K_ETOOLARGE, "read at most 4 MiB per request");
    void *buf = malloc(n ? n : 1);
    if (!buf) return respond_err(conn, K_ENOMEM, "out of memory");
    vol_loc loc = {.volume = index, .chunk = (uint32_t)chunk, .offset = offset, .length = len};
    kerr e = vol_read(d->vs, &loc, first, buf, n);
    if (e) {
        free(buf);
        if (e == K_ECORRUPT)
            log_error("datanode: volume %016" PRIx64 " chunk %" PRIu64 " offset %" PRIu64
                      ": a block failed its checksum",
                      uid, chunk, offset);
        return respond_err(conn, e,
                           e == K_ECORRUPT ? "a block failed its checksum" : "read failed");
    }
    char cr[96];
    snprintf(cr, sizeof cr, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first, last, len);
    return respond(conn, ranged ? 206 : 200, "application/octet-stream", buf, n, true, NULL,
                   ranged ? "Content-Range" : NULL, cr);
}

static enum MHD_Result do_delete(datanode *d, struct MHD_Connection *conn, const char *url) {
    uint64_t uid, chunk, offset, len;
    if (!parse_path(url, true, &uid, &chunk, &offset) || !query_len(conn, &len))
        return respond_err(conn, K_EINVAL, "want /v1/volumes/UID/needles/CHUNK/OFFSET?len=N");
    uint32_t index;
    if (!volset_find_uid(d->vs, uid, &index))
        return respond_err(conn, K_ENOTFOUND, "no such volume here");
    vol_loc loc = {.volume = index, .chunk = (uint32_t)chunk, .offset = offset, .length = len};
    kerr e = vol_delete(d->vs, &loc);
    if (e) return respond_err(conn, e, "delete failed");
    return respond(conn, 204, NULL, NULL, 0, false, NULL, NULL, NULL);
}

/* "/v1/volumes/UID/chunks" [ "/C" [ TAIL ] ]: fills uid, and chunk when
 * the path goes on; *rest points after the chunk id ("" if none). */
static bool parse_chunk_path(const char *url, uint64_t *uid, bool *has_chunk, uint64_t *chunk,
                             const char **rest) {
    static const char pre[] = "/v1/volumes/";
    if (strncmp(url, pre, sizeof pre - 1)) return false;
    const char *p = url + sizeof pre - 1;
    if (strlen(p) < 16 || !parse_u64(p, 16, 16, uid) || *uid == 0) return false;
    p += 16;
    if (strncmp(p, "/chunks", 7)) return false;
    p += 7;
    *has_chunk = false;
    *rest = p;
    if (*p == 0) return true;
    if (*p++ != '/') return false;
    const char *end = p;
    while (*end >= '0' && *end <= '9') end++;
    if (!parse_u64(p, (size_t)(end - p), 10, chunk) || *chunk > UINT32_MAX) return false;
    *has_chunk = true;
    *rest = end;
    return true;
}

/* POST /v1/volumes/UID/chunks: a new placed chunk; POST .../chunks/C/seal. */
static enum MHD_Result do_chunk(datanode *d, struct MHD_Connection *conn, const char *url,
                                bool create) {
    uint64_t uid, chunk = 0;
    bool has_chunk;
    const char *rest;
    if (!parse_chunk_path(url, &uid, &has_chunk, &chunk, &rest) ||
        (create ? has_chunk : (!has_chunk || strcmp(rest, "/seal"))))
        return respond_err(conn, K_EINVAL,
                           "want POST /v1/volumes/UID/chunks or /v1/volumes/UID/chunks/C/seal");
    uint32_t index;
    if (!volset_find_uid(d->vs, uid, &index))
        return respond_err(conn, K_ENOTFOUND, "no such volume here");
    if (!create) {
        kerr e = vol_chunk_seal(d->vs, index, (uint32_t)chunk);
        if (e) return respond_err(conn, e, "cannot seal the chunk");
        return respond(conn, 204, NULL, NULL, 0, false, NULL, NULL, NULL);
    }
    uint32_t id;
    kerr e = vol_chunk_create_placed(d->vs, index, &id);
    if (e) return respond_err(conn, e, "cannot create a chunk");
    char body[64];
    int n = snprintf(body, sizeof body, "{\"chunk\":%u}\n", id);
    return respond(conn, 200, "application/json", body, (size_t)n, false, NULL, NULL, NULL);
}

/* DELETE /v1/volumes/UID/chunks/C: the chunk dropped whole. */
static enum MHD_Result do_chunk_expire(datanode *d, struct MHD_Connection *conn, const char *url) {
    uint64_t uid, chunk = 0;
    bool has_chunk;
    const char *rest;
    if (!parse_chunk_path(url, &uid, &has_chunk, &chunk, &rest) || !has_chunk || *rest)
        return respond_err(conn, K_EINVAL, "want DELETE /v1/volumes/UID/chunks/C");
    uint32_t index;
    if (!volset_find_uid(d->vs, uid, &index))
        return respond_err(conn, K_ENOTFOUND, "no such volume here");
    kerr e = vol_chunk_expire(d->vs, index, (uint32_t)chunk);
    if (e)
        return respond_err(conn, e,
                           e == K_ECONFLICT ? "the chunk still takes needles: seal it first"
                                            : "cannot expire the chunk");
    return respond(conn, 204, NULL, NULL, 0, false, NULL, NULL, NULL);
}

/* GET /v1/volumes/UID/chunks/C/needles: "OFFSET LENGTH 0|1\n" per
 * complete needle (1: deleted). */
static enum MHD_Result do_chunk_needles(datanode *d, struct MHD_Connection *conn, const char *url) {
    uint64_t uid, chunk = 0;
    bool has_chunk;
    const char *rest;
    if (!parse_chunk_path(url, &uid, &has_chunk, &chunk, &rest) || !has_chunk ||
        strcmp(rest, "/needles"))
        return respond_err(conn, K_EINVAL, "want GET /v1/volumes/UID/chunks/C/needles");
    uint32_t index;
    if (!volset_find_uid(d->vs, uid, &index))
        return respond_err(conn, K_ENOTFOUND, "no such volume here");
    vol_needle *list;
    size_t n;
    kerr e = vol_chunk_needles(d->vs, index, (uint32_t)chunk, &list, &n);
    if (e) return respond_err(conn, e, "cannot list the chunk");
    if (n == 0) return respond(conn, 200, "text/plain", NULL, 0, false, NULL, NULL, NULL);
    kbuf b = KBUF_INIT;
    for (size_t i = 0; i < n; i++)
        kbuf_printf(&b, "%" PRIu64 " %" PRIu64 " %d\n", list[i].offset, list[i].length,
                    list[i].deleted ? 1 : 0);
    free(list);
    size_t len;
    char *body = kbuf_steal(&b, &len);
    return respond(conn, 200, "text/plain", body, len, true, NULL, NULL, NULL);
}

typedef struct fwd_acc {
    vol_replica r[VOL_MAX_REPLICAS];
    char text[VOL_MAX_REPLICAS][80];
    size_t n;
    bool bad;
} fwd_acc;

/* Collects the fwd=HOST:PORT/UID/CHUNK arguments of an append. */
static enum MHD_Result add_fwd(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value) {
    fwd_acc *f = cls;
    if (strcmp(key, "fwd")) return MHD_YES;
    if (!value || f->n == VOL_MAX_REPLICAS || strlen(value) >= sizeof f->text[0]) {
        f->bad = true;
        return MHD_YES;
    }
    char *t = f->text[f->n];
    strcpy(t, value);
    char *s1 = strchr(t, '/'), *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
    uint64_t uid, chunk;
    if (!s1 || !s2 || s1 == t || s2 - s1 - 1 != 16 || !parse_u64(s1 + 1, 16, 16, &uid) || !uid ||
        !parse_u64(s2 + 1, strlen(s2 + 1), 10, &chunk) || chunk > UINT32_MAX) {
        f->bad = true;
        return MHD_YES;
    }
    *s1 = 0;
    f->r[f->n++] = (vol_replica){.address = t, .uid = uid, .chunk = (uint32_t)chunk};
    return MHD_YES;
}

/* The volume of replica r among the datanode's peers (added on first use);
 * a replica whose datanode moved to another address, or one that no longer
 * fits in the peers' set (full of volumes of datanodes long gone), gets a
 * set of this request's own. */
static kerr peer_volume(datanode *d, dn_req *rq, const vol_replica *r, volset **set,
                        uint32_t *index) {
    vol_remote_spec spec = {.address = r->address, .uid = r->uid};
    kerr e = volset_add_remote(d->peers, &spec, d->secret);
    if (e && e != K_ETOOLARGE) return e;
    const char *addr = NULL;
    if (!e) {
        if (!volset_find_uid(d->peers, r->uid, index)) return K_EINTERNAL;
        addr = volset_remote_address(d->peers, *index);
    }
    if (addr && !strcmp(addr, r->address)) {
        *set = d->peers;
        return K_OK;
    }
    if (!rq->own_set) {
        e = volset_open_remote(NULL, 0, d->secret, &rq->own_set);
        if (e) return e;
    }
    e = volset_add_remote(rq->own_set, &spec, d->secret);
    if (e) return e;
    if (!volset_find_uid(rq->own_set, r->uid, index)) return K_EINTERNAL;
    *set = rq->own_set;
    return K_OK;
}

/* What a replica's failure is to the client of an append: the chunkset
 * cannot take the needle now (it tries another). */
static kerr forward_error(kerr e) {
    if (e == K_ENOSPC) return K_ECONFLICT; /* a full member: the chunkset is done */
    return e == K_ECONFLICT || e == K_ENOMEM ? e : K_EUNAVAILABLE;
}

/* First call of PUT .../chunks/C/needles/O (a replica's needle at the
 * master's offset) or PUT .../chunks/C/append (the master: at its tail, and
 * forwarded to every fwd replica at the same offset). */
static enum MHD_Result placed_begin(datanode *d, struct MHD_Connection *conn, const char *url,
                                    dn_req *rq) {
    uint64_t uid, chunk = 0, len, at = VOL_AT_TAIL;
    bool has_chunk;
    const char *rest;
    bool ok = parse_chunk_path(url, &uid, &has_chunk, &chunk, &rest) && has_chunk &&
              query_len(conn, &len);
    if (ok && strcmp(rest, "/append")) {
        static const char nd[] = "/needles/";
        ok = !strncmp(rest, nd, sizeof nd - 1) &&
             parse_u64(rest + sizeof nd - 1, strlen(rest + sizeof nd - 1), 10, &at) &&
             at != VOL_AT_TAIL;
    }
    if (!ok) {
        rq->kind = RQ_REFUSED;
        return respond_err(conn, K_EINVAL,
                           "want PUT /v1/volumes/UID/chunks/C/append?len=N or "
                           "/v1/volumes/UID/chunks/C/needles/OFFSET?len=N");
    }
    fwd_acc f = {0};
    if (at == VOL_AT_TAIL) MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, add_fwd, &f);
    if (f.bad) {
        rq->kind = RQ_REFUSED;
        return respond_err(conn, K_EINVAL, "fwd wants HOST:PORT/UID/CHUNK, at most 8");
    }
    uint32_t index;
    if (!volset_find_uid(d->vs, uid, &index)) {
        rq->kind = RQ_REFUSED;
        return respond_err(conn, K_ENOTFOUND, "no such volume here");
    }
    kerr e = vol_writer_begin_at(d->vs, index, (uint32_t)chunk, at, len, NULL, 0, &rq->w);
    if (e) {
        rq->kind = RQ_REFUSED;
        return respond_err(conn, e,
                           e == K_ECONFLICT ? "the chunk is not open for this needle (sealed, "
                                              "full, or a needle is there)"
                                            : "cannot start the needle");
    }
    rq->uid = uid;
    uint64_t off = vol_writer_offset(rq->w);
    for (size_t i = 0; i < f.n; i++) {
        volset *set = NULL;
        uint32_t pi;
        e = peer_volume(d, rq, &f.r[i], &set, &pi);
        if (!e)
            e = vol_writer_begin_at(set, pi, f.r[i].chunk, off, len, NULL, 0, &rq->rw[rq->n_rw]);
        rq->rw_set[rq->n_rw] = set;
        if (e) {
            log_warn("datanode: cannot forward a needle to %s volume %016" PRIx64 ": %s",
                     f.r[i].address, f.r[i].uid, kerr_name(e));
            rq->kind = RQ_REFUSED;
            return respond_err(conn, forward_error(e), "a replica cannot take the needle");
        }
        rq->n_rw++;
    }
    return MHD_YES;
}

/* First call of a PUT: starts the needle. */
static enum MHD_Result put_begin(datanode *d, struct MHD_Connection *conn, const char *url,
                                 dn_req *rq) {
    uint64_t uid, len;
    if (!parse_path(url, false, &uid, NULL, NULL) || !query_len(conn, &len)) {
        rq->kind = RQ_REFUSED;
        return respond_err(conn, K_EINVAL, "want PUT /v1/volumes/UID/needles?len=N");
    }
    const char *csha = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Kura-Content-SHA256");
    if (!csha || strcmp(csha, DN_UNSIGNED_PAYLOAD)) {
        rq->kind = RQ_REFUSED;
        return respond_err(conn, K_EINVAL, "needle bodies are sent as UNSIGNED-PAYLOAD");
    }
    uint32_t index;
    if (!volset_find_uid(d->vs, uid, &index)) {
        rq->kind = RQ_REFUSED;
        return respond_err(conn, K_ENOTFOUND, "no such volume here");
    }
    kerr e = vol_writer_begin_on(d->vs, index, len, &rq->w);
    if (e) {
        rq->kind = RQ_REFUSED;
        return respond_err(conn, e, "cannot start the needle");
    }
    rq->uid = uid;
    return MHD_YES;
}

static void drop_replicas(dn_req *rq) {
    for (size_t i = 0; i < rq->n_rw; i++) vol_writer_abort(rq->rw[i]);
    rq->n_rw = 0;
}

/* Finishes the replicas of an append after the local needle at loc is
 * durable; on any failure deletes every copy that was made. */
static kerr finish_replicas(datanode *d, dn_req *rq, const vol_loc *loc) {
    kerr first = K_OK;
    vol_loc done[VOL_MAX_REPLICAS];
    bool ok[VOL_MAX_REPLICAS] = {0};
    size_t n = rq->n_rw;
    volset *sets[VOL_MAX_REPLICAS];
    for (size_t i = 0; i < n; i++) {
        sets[i] = rq->rw_set[i];
        kerr e = vol_writer_finish(rq->rw[i], &done[i]);
        rq->rw[i] = NULL;
        if (e) {
            if (!first) first = forward_error(e);
        } else {
            ok[i] = true;
        }
    }
    rq->n_rw = 0;
    if (!first) return K_OK;
    log_warn("datanode: a replica failed an append at chunk %u offset %" PRIu64
             ": %s; the needle is dropped everywhere",
             loc->chunk, loc->offset, kerr_name(first));
    vol_delete(d->vs, loc);
    for (size_t i = 0; i < n; i++)
        if (ok[i]) vol_delete(sets[i], &done[i]);
    return first;
}

static enum MHD_Result put_finish(datanode *d, struct MHD_Connection *conn, dn_req *rq) {
    if (rq->body_err) return respond_err(conn, rq->body_err, "write failed");
    vol_loc loc;
    vol_writer *w = rq->w;
    rq->w = NULL;
    kerr e = vol_writer_finish(w, &loc);
    if (e) {
        drop_replicas(rq);
        return respond_err(conn, e, "finish failed");
    }
    e = finish_replicas(d, rq, &loc);
    if (e) return respond_err(conn, e, "a replica failed");
    kbuf b = KBUF_INIT;
    kbuf_printf(&b,
                "{\"volume\":\"%016" PRIx64 "\",\"chunk\":%u,\"offset\":%" PRIu64
                ",\"length\":%" PRIu64 ",\"crc32c\":\"%08x\"}\n",
                rq->uid, loc.chunk, loc.offset, loc.length, rq->crc);
    size_t len;
    char *body = kbuf_steal(&b, &len);
    return respond(conn, 200, "application/json", body, len, true, NULL, NULL, NULL);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls) {
    datanode *d = cls;
    dn_req *rq = *con_cls;
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        if (!rq) return MHD_NO;
        *con_cls = rq;
        const char *why = NULL;
        kerr e = authenticate(d, conn, method, url, &why);
        if (e) {
            rq->kind = RQ_REFUSED;
            const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
            char addr[64] = "?";
            if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
                inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, addr,
                          sizeof addr);
            log_warn("datanode: refused %s %s from %s: %s", method, url, addr, why);
            return respond(conn, 403, "text/plain", (void *)why, strlen(why), false, kerr_name(e),
                           NULL, NULL);
        }
        if (!strcmp(method, "PUT")) {
            rq->kind = RQ_PUT;
            if (strstr(url, "/chunks/")) return placed_begin(d, conn, url, rq);
            return put_begin(d, conn, url, rq);
        }
        if (!strcmp(method, "GET") && !strcmp(url, "/health")) {
            rq->kind = RQ_HEALTH;
        } else if (!strcmp(method, "POST") && !strcmp(url, "/v1/compact")) {
            rq->kind = RQ_COMPACT;
        } else if (!strcmp(method, "POST") && strstr(url, "/chunks")) {
            size_t ul = strlen(url);
            rq->kind = ul > 5 && !strcmp(url + ul - 5, "/seal") ? RQ_CHUNK_SEAL : RQ_CHUNK_CREATE;
        } else if (!strcmp(method, "GET") && strstr(url, "/chunks/")) {
            rq->kind = RQ_CHUNK_NEEDLES;
        } else if (!strcmp(method, "GET")) {
            rq->kind = RQ_GET;
        } else if (!strcmp(method, "DELETE") && strstr(url, "/chunks/")) {
            rq->kind = RQ_CHUNK_EXPIRE;
        } else if (!strcmp(method, "DELETE")) {
            rq->kind = RQ_DELETE;
        } else {
            rq->kind = RQ_REFUSED;
            return respond_err(conn, K_EINVAL, "unknown method");
        }
        return MHD_YES; /* answered once the (empty) body is in */
    }
    if (rq->kind == RQ_REFUSED) {
        *upload_data_size = 0; /* drop whatever follows */
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (rq->kind == RQ_PUT && rq->w && !rq->body_err) {
            kerr e = vol_writer_write(rq->w, upload_data, *upload_data_size);
            for (size_t i = 0; !e && i < rq->n_rw; i++) {
                e = vol_writer_write(rq->rw[i], upload_data, *upload_data_size);
                if (e) e = forward_error(e);
            }
            if (e) {
                rq->body_err = e;
                vol_writer_abort(rq->w);
                rq->w = NULL;
                drop_replicas(rq);
            } else {
                rq->crc = crc32c_update(rq->crc, upload_data, *upload_data_size);
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    switch (rq->kind) {
    case RQ_PUT:
        return put_finish(d, conn, rq);
    case RQ_HEALTH:
        return do_health(d, conn);
    case RQ_COMPACT:
        return do_compact(d, conn);
    case RQ_CHUNK_CREATE:
        return do_chunk(d, conn, url, true);
    case RQ_CHUNK_SEAL:
        return do_chunk(d, conn, url, false);
    case RQ_CHUNK_NEEDLES:
        return do_chunk_needles(d, conn, url);
    case RQ_CHUNK_EXPIRE:
        return do_chunk_expire(d, conn, url);
    case RQ_GET:
        return do_get(d, conn, url);
    case RQ_DELETE:
        return do_delete(d, conn, url);
    default:
        return MHD_NO;
    }
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    dn_req *rq = *con_cls;
    if (!rq) return;
    if (rq->w) vol_writer_abort(rq->w); /* the body never completed */
    drop_replicas(rq);
    volset_close(rq->own_set);
    free(rq);
    *con_cls = NULL;
}

static void log_mhd(void *cls, const char *fmt, va_list ap) {
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n') msg[--n] = 0;
    log_debug("datanode: libmicrohttpd: %s", msg);
}

static void dn_free(datanode *d) {
    if (d->listen_fd >= 0) close(d->listen_fd);
    volset_close(d->peers);
    free(d->secret);
    free(d->id);
    free(d->zone);
    free(d->media);
    free(d->address);
    free(d);
}

kerr dn_start(volset *vs, const dn_opts *o, datanode **out) {
    *out = NULL;
    if (!o->secret || !*o->secret) return K_EINVAL;
    datanode *d = calloc(1, sizeof *d);
    if (!d) return K_ENOMEM;
    d->listen_fd = -1;
    d->vs = vs;
    d->secret = strdup(o->secret);
    d->id = strdup(o->id ? o->id : "");
    d->zone = strdup(o->zone ? o->zone : "");
    d->media = strdup(o->media ? o->media : "hdd");
    d->address = strdup(o->address ? o->address : "");
    if (volset_open_remote(NULL, 0, o->secret, &d->peers) != K_OK) {
        dn_free(d);
        return K_ENOMEM;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
    if (inet_pton(AF_INET, o->host ? o->host : "127.0.0.1", &sa.sin_addr) != 1) {
        log_error("datanode: listen address %s is not an IPv4 address", o->host);
        dn_free(d);
        return K_EINVAL;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        dn_free(d);
        return K_EIO;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int err = errno;
        close(fd);
        dn_free(d);
        if (err == EADDRINUSE) return K_ECONFLICT;
        log_error("datanode: bind: %s", strerror(err));
        return K_EIO;
    }
    if (listen(fd, 1024) != 0) {
        close(fd);
        dn_free(d);
        return K_EIO;
    }
    d->listen_fd = fd;
    struct sockaddr_in bound;
    socklen_t blen = sizeof bound;
    d->port =
        getsockname(fd, (struct sockaddr *)&bound, &blen) == 0 ? ntohs(bound.sin_port) : o->port;
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
    d->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_access, d, MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, d, MHD_OPTION_UNESCAPE_CALLBACK, no_unescape,
        NULL, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_CONNECTION_LIMIT,
        o->max_connections ? o->max_connections : 1024u, MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL,
        MHD_OPTION_END);
    if (!d->daemon) {
        log_error("datanode: cannot start the HTTP daemon");
        dn_free(d);
        return K_EIO;
    }
    *out = d;
    return K_OK;
}

int dn_port(const datanode *d) {
    return d->port;
}

void dn_stop(datanode *d) {
    if (!d) return;
    MHD_stop_daemon(d->daemon);
    dn_free(d);
}

kerr dn_load_id(const char *dir, uint64_t *out) {
    char path[4096];
    snprintf(path, sizeof path, "%s/datanode.id", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        char text[40];
        ssize_t r = read(fd, text, sizeof text - 1);
        close(fd);
        if (r < 16) return K_ECORRUPT;
        uint8_t raw[8];
        if (hex_decode(text, 16, raw, sizeof raw) != 8) return K_ECORRUPT;
        uint64_t id = 0;
        for (int i = 0; i < 8; i++) id = id << 8 | raw[i];
        if (!id) return K_ECORRUPT;
        *out = id;
        return K_OK;
    }
    if (errno != ENOENT) return K_EIO;
    uint64_t id = 0;
    int rfd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    while (rfd >= 0 && id == 0)
        if (read(rfd, &id, sizeof id) != (ssize_t)sizeof id) break;
    if (rfd >= 0) close(rfd);
    if (!id) return K_EIO;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return K_EIO;
    char text[24];
    int n = snprintf(text, sizeof text, "%016" PRIx64 "\n", id);
    bool ok = write(fd, text, (size_t)n) == n && fsync(fd) == 0;
    close(fd);
    if (!ok || rename(tmp, path) != 0) return K_EIO;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    *out = id;
    return K_OK;
}
