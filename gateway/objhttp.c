/* SPDX-License-Identifier: Apache-2.0 */
#include "gateway/objhttp.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/rand.h>

static ssize_t object_stream_read(void *ctx, uint64_t pos, char *out, size_t max) {
    return objsvc_reader_read(ctx, pos, out, max);
}

static void object_stream_free(void *ctx) {
    objsvc_reader_close(ctx);
}

/* On an error, the headers describing the object are not the error's: all
 * go but the request ids the front end set first. */
static void drop_object_headers(gw_response *rs) {
    static const char *const keep[] = {"x-trans-id", "x-openstack-request-id", "x-amz-request-id",
                                       "x-amz-id-2"};
    size_t kept = 0;
    for (size_t i = 0; i < rs->nheaders; i++) {
        bool k = false;
        for (size_t j = 0; j < sizeof keep / sizeof *keep && !k; j++)
            k = !strcasecmp(rs->headers[i].name, keep[j]);
        if (k) rs->headers[kept++] = rs->headers[i];
    }
    rs->nheaders = kept;
}

kerr gw_respond_object(gw_req *r, objsvc *svc, const obj_meta *m, uint64_t off, uint64_t len,
                       int status) {
    gw_response *rs = &r->resp;
    if (!strcmp(r->http.method, "HEAD")) {
        rs->length_only = true;
        rs->stream_len = len;
        gw_respond(r, status);
        return K_OK;
    }
    obj_reader *g;
    kerr e = objsvc_reader_open(svc, m, len ? off : 0, len, &g);
    if (e) {
        drop_object_headers(rs);
        return e;
    }
    rs->stream = object_stream_read;
    rs->stream_ctx = g;
    rs->stream_free = object_stream_free;
    rs->stream_len = len;
    gw_respond(r, status);
    return K_OK;
}

/* ---- multipart/byteranges */

/* One piece of the body: bytes in memory (text != NULL) or object bytes
 * read at reader position from. at: where it starts in the body. */
typedef struct mr_piece {
    uint64_t at, len;
    const char *text;
    uint64_t from;
} mr_piece;

typedef struct mr_stream {
    obj_reader *g; /* over the object's bytes [lo, hi] */
    mr_piece *pieces;
    size_t npieces;
    size_t cur; /* piece of the last read: reads mostly go forward */
} mr_stream;

static ssize_t ranges_stream_read(void *ctx, uint64_t pos, char *out, size_t max) {
    mr_stream *s = ctx;
    size_t done = 0;
    if (s->cur >= s->npieces || pos < s->pieces[s->cur].at) s->cur = 0;
    while (done < max) {
        while (s->cur < s->npieces && pos >= s->pieces[s->cur].at + s->pieces[s->cur].len) s->cur++;
        if (s->cur >= s->npieces) break;
        const mr_piece *p = &s->pieces[s->cur];
        uint64_t in = pos - p->at, left = p->len - in;
        size_t want = max - done < left ? max - done : (size_t)left;
        if (p->text) {
            memcpy(out + done, p->text + in, want);
        } else {
            ssize_t got = objsvc_reader_read(s->g, p->from + in, out + done, want);
            if (got <= 0) return done ? (ssize_t)done : -1;
            want = (size_t)got;
        }
        done += want;
        pos += want;
    }
    return done ? (ssize_t)done : -1;
}

static void ranges_stream_free(void *ctx) {
    objsvc_reader_close(((mr_stream *)ctx)->g);
}

kerr gw_respond_object_ranges(gw_req *r, objsvc *svc, const obj_meta *m,
                              const http_byte_range *ranges, size_t n) {
    arena *a = r->http.a;
    gw_response *rs = &r->resp;
    if (!n) return K_EINVALIDRANGE;
    uint64_t lo = UINT64_MAX, hi = 0;
    for (size_t i = 0; i < n; i++) {
        if (ranges[i].first > ranges[i].last || ranges[i].last >= m->size) return K_EINVALIDRANGE;
        if (ranges[i].first < lo) lo = ranges[i].first;
        if (ranges[i].last > hi) hi = ranges[i].last;
    }
    bool head = !strcmp(r->http.method, "HEAD");
    obj_reader *g = NULL; /* opened first: an error answers nothing */
    if (!head) {
        kerr e = objsvc_reader_open(svc, m, lo, hi - lo + 1, &g);
        if (e) {
            drop_object_headers(rs);
            return e;
        }
    }
    unsigned char rnd[16];
    if (RAND_bytes(rnd, sizeof rnd) != 1) {
        objsvc_reader_close(g);
        return K_EINTERNAL;
    }
    char boundary[33];
    for (size_t i = 0; i < sizeof rnd; i++) snprintf(boundary + 2 * i, 3, "%02x", rnd[i]);
    const char *type = "application/octet-stream";
    http_header *ct = NULL;
    for (size_t i = 0; i < rs->nheaders; i++) {
        if (!strcasecmp(rs->headers[i].name, "content-type")) {
            ct = &rs->headers[i];
            type = ct->value;
            break;
        }
    }
    const char *multipart = arena_printf(a, "multipart/byteranges;boundary=%s", boundary);
    if (ct) {
        ct->name = "Content-Type";
        ct->value = multipart;
    } else {
        gw_add_header(r, "Content-Type", multipart);
    }
    mr_stream *s = arena_zalloc(a, sizeof *s);
    s->g = g;
    s->pieces = arena_alloc(a, (3 * n + 1) * sizeof *s->pieces);
    uint64_t at = 0;
    for (size_t i = 0; i < n; i++) {
        const char *part = arena_printf(
            a, "--%s\r\nContent-Type: %s\r\nContent-Range: bytes %llu-%llu/%llu\r\n\r\n", boundary,
            type, (unsigned long long)ranges[i].first, (unsigned long long)ranges[i].last,
            (unsigned long long)m->size);
        uint64_t len = ranges[i].last - ranges[i].first + 1;
        s->pieces[s->npieces++] = (mr_piece){.at = at, .len = strlen(part), .text = part};
        at += strlen(part);
        s->pieces[s->npieces++] = (mr_piece){.at = at, .len = len, .from = ranges[i].first - lo};
        at += len;
        s->pieces[s->npieces++] = (mr_piece){.at = at, .len = 2, .text = "\r\n"};
        at += 2;
    }
    const char *tail = arena_printf(a, "--%s--", boundary);
    s->pieces[s->npieces++] = (mr_piece){.at = at, .len = strlen(tail), .text = tail};
    at += strlen(tail);
    if (head) {
        rs->length_only = true;
        rs->stream_len = at;
        gw_respond(r, 206);
        return K_OK;
    }
    rs->stream = ranges_stream_read;
    rs->stream_ctx = s;
    rs->stream_free = ranges_stream_free;
    rs->stream_len = at;
    gw_respond(r, 206);
    return K_OK;
}
