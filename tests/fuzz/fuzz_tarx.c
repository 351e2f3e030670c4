/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness for the streaming tar reader, gateway/tarx.c (see
 * README.md).
 *
 * Input: byte 0 `% 4` picks the compression (0 plain, 1 gzip, 2 bzip2,
 * 3 plain) and its bits 2-7, when not all zero, make the callbacks answer
 * TARX_SKIP or TARX_ABORT for some files (chosen by the file's index: skip
 * or abort at file_begin, at the file's first file_data, abort at
 * file_end); byte 1 sets the feed piece sizes (pieces of 1 to 8 * byte 1 + 1
 * bytes, drawn from a generator seeded by it); the rest is the archive.
 *
 * Oracles: per file the callbacks come as file_begin (file_data)* file_end,
 * never file_data or file_end without a file (nor after file_begin answered
 * TARX_SKIP), only file_end after a file_data answered TARX_SKIP; the data
 * of a file never exceeds the size file_begin announced and sums to it at
 * file_end unless skipped; the name and pax records are NUL-terminated; no
 * callback after one answered TARX_ABORT or after tarx_feed / tarx_finish
 * failed; errors are sticky (a later tarx_feed and tarx_finish answer the
 * same); K_EINTERNAL exactly when a callback aborted, K_EINVAL with a
 * tarx_error text. The archive fed in those pieces, fed whole and fed byte
 * by byte gives the same callback trace (names, sizes, records, data bytes
 * (hashed), ends, skips) and the same result and error text. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/tarx.h"

typedef struct {
    uint8_t *p;
    size_t n, cap;
} tbuf;

static void put(tbuf *b, const void *p, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 256;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort();
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void put_u64(tbuf *b, uint64_t v) {
    put(b, &v, sizeof v);
}

enum { OUT, IN_FILE, WANT_END, DEAD };

typedef struct {
    tbuf trace;
    int state;
    unsigned behaviour; /* 0: always TARX_CONTINUE */
    uint64_t files;     /* file_begin calls so far */
    int action;         /* of the current file */
    uint64_t size, got; /* announced, delivered */
    bool first_data;
    uint64_t hash; /* FNV-1a of the file's data */
    bool aborted;
} run_ctx;

enum { A_CONTINUE, A_SKIP_BEGIN, A_SKIP_DATA, A_ABORT_BEGIN, A_ABORT_DATA, A_ABORT_END };

static int action_of(unsigned behaviour, uint64_t i) {
    if (!behaviour) return A_CONTINUE;
    uint64_t h = (behaviour * 0x9e3779b97f4a7c15ull) ^ (i * 0xbf58476d1ce4e5b9ull);
    h ^= h >> 29;
    switch ((h * 0x94d049bb133111ebull) >> 60) {
    case 10:
    case 11:
        return A_SKIP_BEGIN;
    case 12:
    case 13:
        return A_SKIP_DATA;
    case 14:
        return A_ABORT_BEGIN;
    case 15:
        return i & 1 ? A_ABORT_DATA : A_ABORT_END;
    default:
        return A_CONTINUE;
    }
}

static int cb_begin(void *c, const char *name, uint64_t size, const tarx_attr *a, size_t na) {
    run_ctx *r = c;
    if (r->state != OUT) abort();
    size_t nl = strlen(name);
    put(&r->trace, "B", 1);
    put(&r->trace, name, nl + 1);
    put_u64(&r->trace, size);
    put_u64(&r->trace, na);
    for (size_t i = 0; i < na; i++) {
        if (!a[i].key || !a[i].value || !a[i].key[0]) abort();
        put(&r->trace, a[i].key, strlen(a[i].key) + 1);
        put(&r->trace, a[i].value, strlen(a[i].value) + 1);
    }
    r->action = action_of(r->behaviour, r->files++);
    r->size = size;
    r->got = 0;
    r->hash = 0xcbf29ce484222325ull;
    r->first_data = true;
    if (r->action == A_ABORT_BEGIN) {
        put(&r->trace, "A", 1);
        r->state = DEAD, r->aborted = true;
        return TARX_ABORT;
    }
    if (r->action == A_SKIP_BEGIN) {
        put(&r->trace, "S", 1);
        return TARX_SKIP;
    }
    r->state = IN_FILE;
    return TARX_CONTINUE;
}

static int cb_data(void *c, const void *p, size_t n) {
    run_ctx *r = c;
    if (r->state != IN_FILE || !n) abort();
    r->got += n;
    if (r->got > r->size || r->got < n) abort();
    bool first = r->first_data;
    r->first_data = false;
    /* decided on the first piece only, whose length depends on the feeding:
     * its bytes are left out of the trace */
    if (first && r->action == A_ABORT_DATA) {
        put(&r->trace, "a", 1);
        r->state = DEAD, r->aborted = true;
        return TARX_ABORT;
    }
    if (first && r->action == A_SKIP_DATA) {
        put(&r->trace, "s", 1);
        r->state = WANT_END;
        return TARX_SKIP;
    }
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) r->hash = (r->hash ^ b[i]) * 0x100000001b3ull;
    return TARX_CONTINUE;
}

static int cb_end(void *c) {
    run_ctx *r = c;
    if (r->state == WANT_END) {
        put(&r->trace, "E", 1);
        r->state = OUT;
        return TARX_CONTINUE;
    }
    if (r->state != IN_FILE || r->got != r->size) abort();
    put(&r->trace, "D", 1);
    put_u64(&r->trace, r->got);
    put_u64(&r->trace, r->hash);
    r->state = OUT;
    if (r->action == A_ABORT_END) {
        put(&r->trace, "A", 1);
        r->state = DEAD, r->aborted = true;
        return TARX_ABORT;
    }
    put(&r->trace, "E", 1);
    return TARX_CONTINUE;
}

static const tarx_cb cbs = {cb_begin, cb_data, cb_end};

/* step: 0 pieces from the generator, else pieces of that size */
static void run(tarx_compression comp, unsigned behaviour, uint8_t scale, const uint8_t *d,
                size_t n, size_t step, tbuf *trace) {
    run_ctx r;
    memset(&r, 0, sizeof r);
    r.behaviour = behaviour;
    tarx *t;
    if (tarx_new(comp, &cbs, &r, &t) != K_OK) abort();
    uint64_t g = 0x2545f4914f6cdd1dull ^ scale;
    kerr e = K_OK;
    for (size_t at = 0; at < n && !e;) {
        size_t k = step;
        if (!k) {
            g ^= g << 13, g ^= g >> 7, g ^= g << 17;
            k = 1 + (size_t)(g % (8u * scale + 1));
        }
        if (k > n - at) k = n - at;
        e = tarx_feed(t, d + at, k);
        at += k;
    }
    if (!e) e = tarx_finish(t);
    if (e) {
        int was = r.state;
        r.state = DEAD; /* any callback now aborts the process */
        if (tarx_feed(t, d, n) != e || tarx_finish(t) != e) abort();
        r.state = was;
    }
    if ((e == K_EINTERNAL) != r.aborted) abort();
    if (e != K_OK && e != K_EINVAL && e != K_EINTERNAL && e != K_ENOMEM) abort();
    const char *why = tarx_error(t);
    if (e == K_EINVAL && !why[0]) abort();
    if (!e && r.state != OUT) abort(); /* an archive ended inside a file */
    put(&r.trace, "R", 1);
    put_u64(&r.trace, (uint64_t)e);
    put(&r.trace, why, strlen(why) + 1);
    tarx_free(t);
    *trace = r.trace;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    static const tarx_compression comps[] = {TARX_PLAIN, TARX_GZIP, TARX_BZIP2, TARX_PLAIN};
    tarx_compression comp = comps[data[0] % 4];
    unsigned behaviour = data[0] >> 2;
    uint8_t scale = data[1];
    data += 2, size -= 2;

    tbuf pieces, whole, bytes;
    run(comp, behaviour, scale, data, size, 0, &pieces);
    run(comp, behaviour, scale, data, size, size ? size : 1, &whole);
    run(comp, behaviour, scale, data, size, 1, &bytes);
    if (pieces.n != whole.n || memcmp(pieces.p, whole.p, whole.n)) abort();
    if (bytes.n != whole.n || memcmp(bytes.p, whole.p, whole.n)) abort();
    free(pieces.p), free(whole.p), free(bytes.p);
    return 0;
}
