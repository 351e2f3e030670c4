/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness for the multipart/form-data reader (see README.md).
 *
 * Input: the first line (without its CR) is the request's Content-Type, the
 * rest is the body. The body is read three times: whole, one byte at a time,
 * and in pieces whose sizes (1 to 64 bytes, some empty) come from a generator
 * seeded with the input's bytes. The callbacks answer by the part's name:
 * "skip" SKIP from part_begin, "skipdata" SKIP from part_data, "abort",
 * "abortdata", "abortend" ABORT from part_begin, part_data, part_end.
 *
 * Oracles: every part delivered is begin (data)* end (none after a begin
 * answered SKIP, end at once after a data answered SKIP), data never
 * empty; no callback after an ABORT or once feed or finish failed; errors
 * are sticky; K_EINTERNAL exactly when a callback aborted, otherwise K_OK or
 * K_EINVAL with a reason; a form read without error ends outside a part; and
 * the three readings give the same result and the same trace (each part's
 * begin arguments, its data joined, its end). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "gateway/formdata.h"

typedef struct rec {
    kbuf trace, data;
    bool in_part, delivering, dead, aborted;
    int data_ans, end_ans; /* the current part's answers */
} rec;

static void flush_data(rec *r) {
    if (!r->data.len) return;
    kbuf_printf(&r->trace, "D%zu:", r->data.len);
    kbuf_append(&r->trace, r->data.data, r->data.len);
    r->data.len = 0;
}

static int answer(rec *r, int a) {
    if (a == FORMDATA_ABORT) r->dead = r->aborted = true;
    return a;
}

static int cb_begin(void *ctx, const char *name, const char *filename, const char *ctype) {
    rec *r = ctx;
    if (r->dead || r->in_part || !name) abort();
    /* strings as C strings: NUL-terminated, each with its length */
    kbuf_printf(&r->trace, "B%zu:%s", strlen(name), name);
    if (filename) kbuf_printf(&r->trace, "F%zu:%s", strlen(filename), filename);
    if (ctype) kbuf_printf(&r->trace, "T%zu:%s", strlen(ctype), ctype);
    int a = FORMDATA_CONTINUE;
    r->data_ans = r->end_ans = FORMDATA_CONTINUE;
    if (!strcmp(name, "skip"))
        a = FORMDATA_SKIP;
    else if (!strcmp(name, "abort"))
        a = FORMDATA_ABORT;
    else if (!strcmp(name, "skipdata"))
        r->data_ans = FORMDATA_SKIP;
    else if (!strcmp(name, "abortdata"))
        r->data_ans = FORMDATA_ABORT;
    else if (!strcmp(name, "abortend"))
        r->end_ans = FORMDATA_ABORT;
    r->in_part = r->delivering = a == FORMDATA_CONTINUE;
    return answer(r, a);
}

static int cb_data(void *ctx, const void *p, size_t n) {
    rec *r = ctx;
    if (r->dead || !r->in_part || !r->delivering || !n || !p) abort();
    if (r->data_ans != FORMDATA_CONTINUE) {
        /* the bytes of this call depend on the cuts: not traced */
        flush_data(r);
        kbuf_putc(&r->trace, '!');
        r->delivering = false;
        return answer(r, r->data_ans);
    }
    kbuf_append(&r->data, p, n);
    return FORMDATA_CONTINUE;
}

static int cb_end(void *ctx) {
    rec *r = ctx;
    if (r->dead || !r->in_part) abort();
    flush_data(r);
    kbuf_putc(&r->trace, 'E');
    r->in_part = r->delivering = false;
    return answer(r, r->end_ans);
}

static const formdata_cb cbs = {cb_begin, cb_data, cb_end};

static uint64_t next(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* mode 0: whole; 1: byte by byte; 2: pieces from the generator. */
static kerr read_body(const char *ct, const uint8_t *body, size_t len, int mode, uint64_t seed,
                      kbuf *trace) {
    rec r;
    memset(&r, 0, sizeof r);
    kbuf_init(&r.trace);
    kbuf_init(&r.data);
    formdata *f;
    if (formdata_new(ct, &cbs, &r, &f) != K_OK) abort(); /* accepted before */
    kerr e = K_OK;
    size_t at = 0;
    while (at < len && !e) {
        size_t n = len - at;
        if (mode == 1) n = 1;
        if (mode == 2) {
            uint64_t x = next(&seed);
            size_t m = x % 8 == 0 ? 0 : 1 + (x >> 8) % ((x >> 4) % 2 ? 4 : 64);
            n = m < n ? m : n;
        }
        /* an exact copy: ASan sees a read past the piece */
        uint8_t *piece = malloc(n ? n : 1);
        if (!piece) abort();
        memcpy(piece, body + at, n);
        e = formdata_feed(f, piece, n);
        free(piece);
        at += n;
    }
    if (!e) e = formdata_finish(f);
    if (e) {
        r.dead = true; /* nothing more may be called */
        if (!formdata_error(f)[0]) abort();
        if (formdata_feed(f, "\r\n--x--\r\n", 9) != e || formdata_finish(f) != e) abort();
        if ((e == K_EINTERNAL) != r.aborted) abort();
        if (e != K_EINTERNAL && e != K_EINVAL) abort();
    } else {
        if (r.in_part || r.aborted || formdata_error(f)[0]) abort();
    }
    formdata_free(f);
    flush_data(&r);
    kbuf_free(&r.data);
    *trace = r.trace;
    return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nl = memchr(data, '\n', size);
    if (!nl) return 0;
    size_t cl = (size_t)(nl - data);
    char *ct = malloc(cl + 1);
    if (!ct) abort();
    memcpy(ct, data, cl);
    ct[cl] = 0;
    if (cl && ct[cl - 1] == '\r') ct[cl - 1] = 0;
    const uint8_t *body = nl + 1;
    size_t len = size - cl - 1;

    rec probe;
    memset(&probe, 0, sizeof probe);
    formdata *f;
    kerr e = formdata_new(ct, &cbs, &probe, &f);
    if (e) {
        if (e != K_EINVAL || f) abort();
        free(ct);
        return 0;
    }
    formdata_free(f);
    if (strncasecmp(ct, "multipart/form-data", 19)) abort();

    uint64_t seed = 0x9e3779b97f4a7c15u;
    for (size_t i = 0; i < size; i++) seed = (seed ^ data[i]) * 0x100000001b3u;
    if (!seed) seed = 1;

    kbuf t0, t;
    kerr e0 = read_body(ct, body, len, 0, seed, &t0);
    for (int mode = 1; mode <= 2; mode++) {
        kerr e1 = read_body(ct, body, len, mode, seed, &t);
        if (e1 != e0 || t.len != t0.len || (t.len && memcmp(t.data, t0.data, t.len))) abort();
        kbuf_free(&t);
    }
    kbuf_free(&t0);
    free(ct);
    return 0;
}
