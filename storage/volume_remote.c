/* SPDX-License-Identifier: Apache-2.0 */
/* A volume of a remote datanode, over the protocol of datanode.h with
 * libcurl; the volume_ops contract is in volume_impl.h.
 *
 * Invariants:
 * - Connections are reused: each volume keeps a pool of transfer slots (an
 *   easy handle inside its own multi handle, whose connection cache keeps
 *   the connection to the datanode open between requests). A slot is used
 *   by one request at a time; the pool grows with the concurrency seen.
 * - A needle upload streams: the writer's transfer runs inside the multi
 *   handle and is driven by vol_writer_write (the read callback hands curl
 *   the caller's bytes, then pauses until the next write), so nothing is
 *   buffered beyond curl's own send buffer.
 * - The payload's CRC32C is computed as it passes and compared with the
 *   one the datanode echoes; a mismatch deletes the needle and fails.
 * - Reads ask for at most DN_MAX_READ bytes per request and accept exactly
 *   the bytes asked for, or fail: never a short or unverified answer.
 */
#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/hash.h"
#include "common/log.h"
#include "storage/chunk.h"
#include "storage/datanode.h"
#include "storage/volume_impl.h"

#define CONNECT_TIMEOUT_MS 3000
#define REQUEST_TIMEOUT_MS 60000
/* Placement asks a volume's health before each new needle (cached for a
 * second): a datanode that does not answer within this is skipped. */
#define HEALTH_TIMEOUT_MS 2000
/* An upload that sends nothing for this long (or whose answer takes this
 * long after the last byte) is given up: a hung datanode must not hold a
 * gateway's request forever. */
#define UPLOAD_STALL_MS 60000

typedef struct xfer {
    CURL *easy;
    CURLM *multi;
    struct xfer *next;
} xfer;

typedef struct remote_volume {
    volume base;
    char *url; /* http://HOST:PORT */
    char *secret;
    char *label; /* name: URL#UID */
    pthread_mutex_t mu;
    xfer *pool;
    /* free space cache */
    uint64_t avail, total, space_ns;
    bool space_valid;
} remote_volume;

typedef struct hdr_ctx {
    char *err; /* X-Kura-Error value */
    size_t cap;
} hdr_ctx;

typedef struct remote_writer {
    vol_writer base;
    xfer *x;
    struct curl_slist *hdrs;
    const uint8_t *src;
    size_t left;
    bool eof, running;
    uint32_t crc;
    kbuf resp;
    char err[48];
    hdr_ctx hc; /* points at err */
} remote_writer;

static const volume_ops remote_ops;

/* ---- transfers ---- */

static xfer *xfer_get(remote_volume *v) {
    pthread_mutex_lock(&v->mu);
    xfer *x = v->pool;
    if (x) v->pool = x->next;
    pthread_mutex_unlock(&v->mu);
    if (x) {
        curl_easy_reset(x->easy);
        return x;
    }
    x = calloc(1, sizeof *x);
    if (!x) return NULL;
    x->easy = curl_easy_init();
    x->multi = curl_multi_init();
    if (!x->easy || !x->multi) {
        if (x->easy) curl_easy_cleanup(x->easy);
        if (x->multi) curl_multi_cleanup(x->multi);
        free(x);
        return NULL;
    }
    return x;
}

static void xfer_put(remote_volume *v, xfer *x) {
    pthread_mutex_lock(&v->mu);
    x->next = v->pool;
    v->pool = x;
    pthread_mutex_unlock(&v->mu);
}

static void xfer_free(xfer *x) {
    curl_multi_cleanup(x->multi);
    curl_easy_cleanup(x->easy);
    free(x);
}

static size_t on_header(char *p, size_t size, size_t n, void *ud) {
    hdr_ctx *h = ud;
    size_t len = size * n;
    static const char name[] = "x-kura-error:";
    if (len > sizeof name - 1 && !strncasecmp(p, name, sizeof name - 1)) {
        const char *v = p + sizeof name - 1;
        size_t vl = len - (sizeof name - 1);
        while (vl && (*v == ' ' || *v == '\t')) v++, vl--;
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' ')) vl--;
        if (vl >= h->cap) vl = h->cap - 1;
        memcpy(h->err, v, vl);
        h->err[vl] = 0;
    }
    return len;
}

/* Signs and sets method, URL and headers on x's easy handle. */
static struct curl_slist *prepare(remote_volume *v, xfer *x, const char *method,
                                  const char *path_query, const char *content_sha,
                                  const char *range) {
    char date[24], sig[65], h[160];
    snprintf(date, sizeof date, "%lld", (long long)clock_real_s());
    dn_sign(v->secret, method, path_query, date, content_sha, sig);
    struct curl_slist *l = NULL;
    snprintf(h, sizeof h, "X-Kura-Date: %s", date);
    l = curl_slist_append(l, h);
    snprintf(h, sizeof h, "X-Kura-Content-SHA256: %s", content_sha);
    l = curl_slist_append(l, h);
    snprintf(h, sizeof h, "Authorization: KURA-HMAC-SHA256 %s", sig);
    l = curl_slist_append(l, h);
    l = curl_slist_append(l, "Expect:");
    if (range) {
        snprintf(h, sizeof h, "Range: %s", range);
        l = curl_slist_append(l, h);
    }
    kbuf url = KBUF_INIT;
    kbuf_printf(&url, "%s%s", v->url, path_query);
    curl_easy_setopt(x->easy, CURLOPT_URL, url.data);
    kbuf_free(&url);
    curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, l);
    curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
    curl_easy_setopt(x->easy, CURLOPT_TCP_NODELAY, 1L);
    if (strcmp(method, "GET") && strcmp(method, "PUT"))
        curl_easy_setopt(x->easy, CURLOPT_CUSTOMREQUEST, method);
    return l;
}

/* Runs one step of x's transfer: false once it is over. */
static bool xfer_step(xfer *x) {
    int running = 0;
    if (curl_multi_perform(x->multi, &running) != CURLM_OK) return false;
    if (running) curl_multi_poll(x->multi, NULL, 0, 1000, NULL);
    return running != 0;
}

static kerr kerr_from_name(const char *name) {
    for (int e = 1; e < K__COUNT; e++)
        if (!strcmp(kerr_name((kerr)e), name)) return (kerr)e;
    return K_EIO;
}

/* Ends x's transfer: K_OK with the HTTP status, or the error. */
static kerr xfer_end(remote_volume *v, xfer *x, const char *what, const char *err_name,
                     long *status) {
    CURLcode res = CURLE_OK;
    int left;
    CURLMsg *m;
    bool seen = false;
    while ((m = curl_multi_info_read(x->multi, &left)))
        if (m->msg == CURLMSG_DONE) {
            res = m->data.result;
            seen = true;
        }
    curl_multi_remove_handle(x->multi, x->easy);
    if (!seen) res = CURLE_RECV_ERROR;
    *status = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, status);
    if (res != CURLE_OK) {
        log_warn("storage: %s on datanode volume %s failed: %s", what, v->label,
                 curl_easy_strerror(res));
        return res == CURLE_COULDNT_CONNECT || res == CURLE_OPERATION_TIMEDOUT ||
                       res == CURLE_COULDNT_RESOLVE_HOST
                   ? K_EUNAVAILABLE
                   : K_EIO;
    }
    if (*status >= 300) {
        kerr e = err_name && *err_name ? kerr_from_name(err_name) : K_EIO;
        if (e != K_ENOTFOUND && e != K_ENOSPC)
            log_warn("storage: %s on datanode volume %s: HTTP %ld %s", what, v->label, *status,
                     err_name && *err_name ? err_name : "");
        if (e == K_EACCESSDENIED || e == K_ESIGNATURE || e == K_ETIMESKEW) e = K_EUNAVAILABLE;
        return e;
    }
    return K_OK;
}

static kerr xfer_run(remote_volume *v, xfer *x, long timeout_ms, const char *what,
                     const char *err_name, long *status) {
    curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_multi_add_handle(x->multi, x->easy);
    while (xfer_step(x)) {
    }
    return xfer_end(v, x, what, err_name, status);
}

static size_t to_kbuf(char *p, size_t size, size_t n, void *ud) {
    kbuf_append(ud, p, size * n);
    return size * n;
}

/* ---- writer ---- */

static size_t put_read(char *buf, size_t size, size_t nitems, void *ud) {
    remote_writer *w = ud;
    if (w->left == 0) return w->eof ? 0 : CURL_READFUNC_PAUSE;
    size_t n = size * nitems < w->left ? size * nitems : w->left;
    memcpy(buf, w->src, n);
    w->src += n;
    w->left -= n;
    return n;
}

static void writer_free(remote_volume *v, remote_writer *w) {
    if (w->x) {
        if (w->running) curl_multi_remove_handle(w->x->multi, w->x->easy);
        xfer_put(v, w->x);
    }
    curl_slist_free_all(w->hdrs);
    kbuf_free(&w->resp);
    free(w);
}

/* Starts the upload of a needle of len bytes to path+query pq. */
static kerr start_upload(volume *base, uint64_t len, uint64_t at, const char *pq,
                         vol_writer **out) {
    remote_volume *v = (remote_volume *)base;
    remote_writer *w = calloc(1, sizeof *w);
    if (!w) return K_ENOMEM;
    w->base = (vol_writer){.ops = &remote_ops, .vol = base, .len = len, .at = at};
    w->x = xfer_get(v);
    if (!w->x) {
        free(w);
        return K_ENOMEM;
    }
    w->hdrs = prepare(v, w->x, "PUT", pq, DN_UNSIGNED_PAYLOAD, NULL);
    CURL *e = w->x->easy;
    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, put_read);
    curl_easy_setopt(e, CURLOPT_READDATA, w);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, to_kbuf);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &w->resp);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    w->hc = (hdr_ctx){.err = w->err, .cap = sizeof w->err};
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &w->hc);
    curl_multi_add_handle(w->x->multi, e);
    w->running = true;
    *out = &w->base;
    return K_OK;
}

static kerr rv_begin(volume *base, uint64_t len, vol_writer **out) {
    char pq[96];
    snprintf(pq, sizeof pq, "/v1/volumes/%016" PRIx64 "/needles?len=%" PRIu64, base->uid, len);
    return start_upload(base, len, VOL_AT_TAIL, pq, out);
}

/* A replica's needle at a given offset, or a master's append (at the tail,
 * forwarded to fwd): datanode.h. */
static kerr rv_begin_at(volume *base, uint32_t chunk, uint64_t at, uint64_t len,
                        const vol_replica *fwd, size_t n_fwd, vol_writer **out) {
    kbuf pq = KBUF_INIT;
    if (at == VOL_AT_TAIL) {
        kbuf_printf(&pq, "/v1/volumes/%016" PRIx64 "/chunks/%u/append?len=%" PRIu64, base->uid,
                    chunk, len);
        for (size_t i = 0; i < n_fwd; i++) {
            if (!fwd[i].address || strpbrk(fwd[i].address, "/&=?# ")) {
                kbuf_free(&pq);
                return K_EINVAL;
            }
            kbuf_printf(&pq, "&fwd=%s/%016" PRIx64 "/%u", fwd[i].address, fwd[i].uid, fwd[i].chunk);
        }
    } else {
        if (n_fwd) return K_EINVAL;
        kbuf_printf(&pq, "/v1/volumes/%016" PRIx64 "/chunks/%u/needles/%" PRIu64 "?len=%" PRIu64,
                    base->uid, chunk, at, len);
    }
    kerr e = pq.data ? start_upload(base, len, at, pq.data, out) : K_ENOMEM;
    kbuf_free(&pq);
    return e;
}

/* Drives the upload until the bytes handed over are sent (or, at eof, until
 * the answer is in). false if the transfer ended early. */
static kerr writer_drive(remote_writer *w) {
    curl_easy_pause(w->x->easy, CURLPAUSE_CONT);
    uint64_t last = clock_mono_ns();
    size_t left = w->left;
    while (w->eof || w->left) {
        if (!xfer_step(w->x)) return w->eof ? K_OK : K_EIO;
        uint64_t now = clock_mono_ns();
        if (w->left != left) {
            left = w->left;
            last = now;
        } else if (now - last > (uint64_t)UPLOAD_STALL_MS * 1000000u) {
            return K_EUNAVAILABLE;
        }
    }
    return K_OK;
}

static kerr rv_write(vol_writer *base, const void *p, size_t n) {
    remote_writer *w = (remote_writer *)base;
    remote_volume *v = (remote_volume *)base->vol;
    if (n > base->len - base->written) return K_EINVAL;
    if (!w->running) return K_EIO;
    w->crc = crc32c_update(w->crc, p, n);
    w->src = p;
    w->left = n;
    kerr d = writer_drive(w);
    if (d == K_EUNAVAILABLE) {
        log_warn("storage: needle upload to datanode volume %s stalled for %d s; given up",
                 v->label, UPLOAD_STALL_MS / 1000);
        return d;
    }
    if (d != K_OK) {
        long status;
        w->running = false;
        kerr e = xfer_end(v, w->x, "needle upload", w->err, &status);
        return e ? e : K_EIO;
    }
    base->written += n;
    return K_OK;
}

static bool json_u64(const char *body, const char *key, uint64_t *out) {
    char pat[40];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(body, pat);
    if (!p) return false;
    p += strlen(pat);
    if (*p == '"') p++;
    char *end;
    *out = strtoull(p, &end, key[0] == 'c' && key[1] == 'r' ? 16 : 10);
    return end != p;
}

static kerr rv_del(volume *base, const vol_loc *loc);

static kerr rv_finish(vol_writer *base, vol_loc *loc) {
    remote_writer *w = (remote_writer *)base;
    remote_volume *v = (remote_volume *)base->vol;
    if (base->written != base->len) {
        writer_free(v, w);
        return K_EINCOMPLETEBODY;
    }
    if (!w->running) {
        writer_free(v, w);
        return K_EIO;
    }
    w->eof = true;
    w->left = 0;
    if (writer_drive(w) == K_EUNAVAILABLE) {
        log_warn("storage: datanode volume %s did not answer a needle upload within %d s", v->label,
                 UPLOAD_STALL_MS / 1000);
        writer_free(v, w);
        return K_EUNAVAILABLE;
    }
    long status;
    w->running = false;
    kerr e = xfer_end(v, w->x, "needle upload", w->err, &status);
    if (e == K_OK && status != 200) e = K_EIO;
    uint64_t chunk, offset, length, crc;
    if (e == K_OK) {
        if (!w->resp.data || !json_u64(w->resp.data, "chunk", &chunk) ||
            !json_u64(w->resp.data, "offset", &offset) ||
            !json_u64(w->resp.data, "length", &length) || !json_u64(w->resp.data, "crc32c", &crc) ||
            chunk > UINT32_MAX) {
            log_error("storage: datanode volume %s answered a needle upload with %s", v->label,
                      w->resp.data ? w->resp.data : "nothing");
            e = K_EIO;
        }
    }
    if (e == K_OK) {
        *loc = (vol_loc){.chunk = (uint32_t)chunk, .offset = offset, .length = length};
        if (base->at != VOL_AT_TAIL && offset != base->at) {
            log_error("storage: datanode volume %s put a needle at offset %" PRIu64
                      " when asked for %" PRIu64,
                      v->label, offset, base->at);
            e = K_EIO;
        } else if (length != base->len || crc != w->crc) {
            log_error("storage: datanode volume %s stored a needle of %" PRIu64
                      " bytes, crc32c %08" PRIx64 ", for %" PRIu64 " bytes, crc32c %08x sent: "
                      "corrupted in transit; deleting it",
                      v->label, length, crc, base->len, w->crc);
            loc->volume = base->vol->id;
            rv_del(base->vol, loc);
            e = K_EIO;
        }
    }
    writer_free(v, w);
    return e;
}

static void rv_abort(vol_writer *base) {
    /* Removing the handle drops the connection: the datanode sees a short
     * body and abandons its needle. */
    writer_free((remote_volume *)base->vol, (remote_writer *)base);
}

/* ---- reads, deletes, space ---- */

typedef struct read_ctx {
    CURL *easy;
    uint8_t *dst;
    size_t cap, got;
    bool overflow;
} read_ctx;

static size_t to_buf(char *p, size_t size, size_t n, void *ud) {
    read_ctx *r = ud;
    size_t len = size * n;
    long status = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 300) return len; /* an error's text: dropped */
    if (len > r->cap - r->got) {
        r->overflow = true;
        return 0; /* aborts the transfer */
    }
    memcpy(r->dst + r->got, p, len);
    r->got += len;
    return len;
}

static kerr read_piece(remote_volume *v, const vol_loc *loc, uint64_t off, uint8_t *buf, size_t n) {
    xfer *x = xfer_get(v);
    if (!x) return K_ENOMEM;
    char pq[128], range[64], err[48] = "";
    snprintf(pq, sizeof pq, "/v1/volumes/%016" PRIx64 "/needles/%u/%" PRIu64 "?len=%" PRIu64,
             v->base.uid, loc->chunk, loc->offset, loc->length);
    snprintf(range, sizeof range, "bytes=%" PRIu64 "-%" PRIu64, off, off + n - 1);
    struct curl_slist *hl = prepare(v, x, "GET", pq, DN_EMPTY_SHA256, range);
    read_ctx rc = {.easy = x->easy, .dst = buf, .cap = n};
    hdr_ctx h = {.err = err, .cap = sizeof err};
    curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, to_buf);
    curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, &rc);
    curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, &h);
    long status;
    kerr e = xfer_run(v, x, REQUEST_TIMEOUT_MS, "needle read", err, &status);
    if (e == K_OK && (status != 206 || rc.got != n || rc.overflow)) {
        log_warn("storage: datanode volume %s answered a %zu-byte read with HTTP %ld and %zu "
                 "bytes",
                 v->label, n, status, rc.got);
        e = K_EIO;
    }
    curl_slist_free_all(hl);
    xfer_put(v, x);
    return e;
}

static kerr rv_read(volume *base, const vol_loc *loc, uint64_t off, void *buf, size_t n) {
    remote_volume *v = (remote_volume *)base;
    if (off > loc->length || n > loc->length - off) return K_EINVAL;
    uint8_t *p = buf;
    while (n) {
        size_t piece = n < DN_MAX_READ ? n : DN_MAX_READ;
        kerr e = read_piece(v, loc, off, p, piece);
        if (e) return e;
        p += piece;
        off += piece;
        n -= piece;
    }
    return K_OK;
}

static kerr rv_del(volume *base, const vol_loc *loc) {
    remote_volume *v = (remote_volume *)base;
    xfer *x = xfer_get(v);
    if (!x) return K_ENOMEM;
    char pq[128], err[48] = "";
    snprintf(pq, sizeof pq, "/v1/volumes/%016" PRIx64 "/needles/%u/%" PRIu64 "?len=%" PRIu64,
             v->base.uid, loc->chunk, loc->offset, loc->length);
    struct curl_slist *hl = prepare(v, x, "DELETE", pq, DN_EMPTY_SHA256, NULL);
    kbuf sink = KBUF_INIT;
    hdr_ctx h = {.err = err, .cap = sizeof err};
    curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, to_kbuf);
    curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, &h);
    long status;
    kerr e = xfer_run(v, x, REQUEST_TIMEOUT_MS, "needle delete", err, &status);
    curl_slist_free_all(hl);
    kbuf_free(&sink);
    xfer_put(v, x);
    return e;
}

static kerr rv_free_space(volume *base, bool fresh, uint64_t *avail, uint64_t *total) {
    remote_volume *v = (remote_volume *)base;
    uint64_t now = clock_mono_ns();
    pthread_mutex_lock(&v->mu);
    if (!fresh && v->space_valid && now - v->space_ns < 1000000000u) {
        *avail = v->avail;
        *total = v->total;
        pthread_mutex_unlock(&v->mu);
        return K_OK;
    }
    pthread_mutex_unlock(&v->mu);
    xfer *x = xfer_get(v);
    if (!x) return K_ENOMEM;
    char err[48] = "";
    struct curl_slist *hl = prepare(v, x, "GET", "/health", DN_EMPTY_SHA256, NULL);
    kbuf body = KBUF_INIT;
    hdr_ctx h = {.err = err, .cap = sizeof err};
    curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, to_kbuf);
    curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, &h);
    long status;
    kerr e = xfer_run(v, x, HEALTH_TIMEOUT_MS, "health check", err, &status);
    curl_slist_free_all(hl);
    xfer_put(v, x);
    uint64_t a = 0, t = 0;
    if (e == K_OK) {
        char pat[40];
        snprintf(pat, sizeof pat, "\"uid\":\"%016" PRIx64 "\"", base->uid);
        const char *p = body.data ? strstr(body.data, pat) : NULL;
        const char *end = p ? strchr(p, '}') : NULL;
        if (!p || !end || !json_u64(p, "avail", &a) || !json_u64(p, "total", &t)) {
            e = K_ENOTFOUND; /* the datanode no longer serves this volume */
        } else {
            const char *full = strstr(p, "\"full\":true");
            if (full && full < end) a = 0;
        }
    }
    kbuf_free(&body);
    if (e) return e;
    pthread_mutex_lock(&v->mu);
    v->avail = a;
    v->total = t;
    v->space_ns = now;
    v->space_valid = true;
    pthread_mutex_unlock(&v->mu);
    *avail = a;
    *total = t;
    return K_OK;
}

/* A bodyless request whose answer is small (kept in body). */
static kerr simple_request(remote_volume *v, const char *method, const char *pq, const char *what,
                           kbuf *body, long *status) {
    xfer *x = xfer_get(v);
    if (!x) return K_ENOMEM;
    char err[48] = "";
    struct curl_slist *hl = prepare(v, x, method, pq, DN_EMPTY_SHA256, NULL);
    hdr_ctx h = {.err = err, .cap = sizeof err};
    curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, to_kbuf);
    curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, &h);
    if (!strcmp(method, "POST")) curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE, 0L);
    kerr e = xfer_run(v, x, REQUEST_TIMEOUT_MS, what, err, status);
    curl_slist_free_all(hl);
    xfer_put(v, x);
    return e;
}

static kerr rv_chunk_create(volume *base, uint32_t *chunk) {
    remote_volume *v = (remote_volume *)base;
    char pq[64];
    snprintf(pq, sizeof pq, "/v1/volumes/%016" PRIx64 "/chunks", base->uid);
    kbuf body = KBUF_INIT;
    long status;
    kerr e = simple_request(v, "POST", pq, "chunk create", &body, &status);
    uint64_t c;
    if (e == K_OK && (!body.data || !json_u64(body.data, "chunk", &c) || c > UINT32_MAX)) {
        log_error("storage: datanode volume %s answered a chunk create with %s", v->label,
                  body.data ? body.data : "nothing");
        e = K_EIO;
    }
    if (e == K_OK) *chunk = (uint32_t)c;
    kbuf_free(&body);
    return e;
}

static kerr rv_chunk_seal(volume *base, uint32_t chunk) {
    remote_volume *v = (remote_volume *)base;
    char pq[80];
    snprintf(pq, sizeof pq, "/v1/volumes/%016" PRIx64 "/chunks/%u/seal", base->uid, chunk);
    kbuf body = KBUF_INIT;
    long status;
    kerr e = simple_request(v, "POST", pq, "chunk seal", &body, &status);
    kbuf_free(&body);
    return e;
}

static kerr rv_chunk_expire(volume *base, uint32_t chunk) {
    remote_volume *v = (remote_volume *)base;
    char pq[80];
    snprintf(pq, sizeof pq, "/v1/volumes/%016" PRIx64 "/chunks/%u", base->uid, chunk);
    kbuf body = KBUF_INIT;
    long status;
    kerr e = simple_request(v, "DELETE", pq, "chunk expire", &body, &status);
    kbuf_free(&body);
    return e;
}

static kerr rv_chunk_needles(volume *base, uint32_t chunk, vol_needle **out, size_t *n) {
    remote_volume *v = (remote_volume *)base;
    *out = NULL;
    *n = 0;
    char pq[80];
    snprintf(pq, sizeof pq, "/v1/volumes/%016" PRIx64 "/chunks/%u/needles", base->uid, chunk);
    kbuf body = KBUF_INIT;
    long status;
    kerr e = simple_request(v, "GET", pq, "chunk inventory", &body, &status);
    size_t cap = 0, count = 0;
    vol_needle *list = NULL;
    for (const char *p = body.data; e == K_OK && p && p < body.data + body.len;) {
        const char *nl = memchr(p, '\n', (size_t)(body.data + body.len - p));
        unsigned long long off, len;
        int del;
        if (!nl || sscanf(p, "%llu %llu %d", &off, &len, &del) != 3 || len > NEEDLE_MAX_LENGTH ||
            off > UINT64_MAX - len) {
            log_error("storage: datanode volume %s answered a chunk inventory with a bad line",
                      v->label);
            e = K_EIO;
            break;
        }
        if (count == cap) {
            cap = cap ? cap * 2 : 256;
            vol_needle *grown = realloc(list, cap * sizeof *grown);
            if (!grown) {
                e = K_ENOMEM;
                break;
            }
            list = grown;
        }
        list[count++] = (vol_needle){.offset = off, .length = len, .deleted = del != 0};
        p = nl + 1;
    }
    kbuf_free(&body);
    if (e) {
        free(list);
        return e;
    }
    *out = list;
    *n = count;
    return K_OK;
}

static const char *rv_address(const volume *base) {
    const remote_volume *v = (const remote_volume *)base;
    return v->url + strlen("http://");
}

static void rv_close(volume *base) {
    remote_volume *v = (remote_volume *)base;
    while (v->pool) {
        xfer *x = v->pool;
        v->pool = x->next;
        xfer_free(x);
    }
    pthread_mutex_destroy(&v->mu);
    free(v->url);
    free(v->secret);
    free(v->label);
    free(v);
}

static const volume_ops remote_ops = {
    .kind = "remote",
    .begin = rv_begin,
    .write = rv_write,
    .finish = rv_finish,
    .abort = rv_abort,
    .read = rv_read,
    .del = rv_del,
    .free_space = rv_free_space,
    .close = rv_close,
    .begin_at = rv_begin_at,
    .chunk_create = rv_chunk_create,
    .chunk_seal = rv_chunk_seal,
    .chunk_expire = rv_chunk_expire,
    .chunk_needles = rv_chunk_needles,
    .address = rv_address,
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static remote_volume *remote_volume_new(const vol_remote_spec *spec, const char *secret) {
    remote_volume *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    kbuf b = KBUF_INIT;
    kbuf_printf(&b, "http://%s", spec->address);
    v->url = kbuf_steal(&b, NULL);
    kbuf_printf(&b, "http://%s#%016" PRIx64, spec->address, spec->uid);
    v->label = kbuf_steal(&b, NULL);
    v->secret = strdup(secret);
    pthread_mutex_init(&v->mu, NULL);
    v->base = (volume){.ops = &remote_ops, .name = v->label, .uid = spec->uid};
    if (!v->url || !v->label || !v->secret) {
        rv_close(&v->base);
        return NULL;
    }
    return v;
}

kerr volset_open_remote(const vol_remote_spec *specs, size_t n, const char *secret, volset **out) {
    *out = NULL;
    if (n > VOLSET_REMOTE_MAX || !secret || !*secret) return K_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!specs[i].uid || !specs[i].address || !*specs[i].address) return K_EINVAL;
        for (size_t j = 0; j < i; j++)
            if (specs[j].uid == specs[i].uid) return K_EINVAL;
    }
    pthread_once(&curl_once, curl_init_once);
    volume **vols = calloc(n ? n : 1, sizeof *vols);
    if (!vols) return K_ENOMEM;
    kerr e = K_OK;
    size_t made = 0;
    for (; made < n; made++) {
        remote_volume *v = remote_volume_new(&specs[made], secret);
        if (!v) {
            e = K_ENOMEM;
            break;
        }
        vols[made] = &v->base;
    }
    if (e == K_OK) {
        volset_opts o = {.sync = true, .reserve = VOL_RESERVE_BYTES, .min_free_bytes = 0};
        e = volset_from_volumes(vols, n, VOLSET_REMOTE_MAX, &o, out);
    }
    if (e != K_OK)
        for (size_t i = 0; i < made; i++) vols[i]->ops->close(vols[i]);
    free(vols);
    return e;
}

kerr volset_add_remote(volset *vs, const vol_remote_spec *spec, const char *secret) {
    if (!spec->uid || !spec->address || !*spec->address || !secret || !*secret) return K_EINVAL;
    uint32_t index;
    if (volset_find_uid(vs, spec->uid, &index)) return K_OK;
    remote_volume *v = remote_volume_new(spec, secret);
    if (!v) return K_ENOMEM;
    kerr e = volset_append(vs, &v->base);
    if (e != K_OK) rv_close(&v->base);
    if (e == K_ECONFLICT) return K_OK; /* added meanwhile by another thread */
    if (e == K_OK)
        log_info("storage: datanode volume %s joined the set as volume %u", v->label, v->base.id);
    return e;
}
