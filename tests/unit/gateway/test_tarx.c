/* SPDX-License-Identifier: Apache-2.0 */
/* The streaming tar reader (gateway/tarx.h). Archives are built here header
 * by header (ustar fields, checksums, pax records, GNU long names, base-256
 * sizes), compressed with zlib and libbz2, and three small real archives
 * made by GNU tar 1.34 (--format=gnu) and Python's tarfile (PAX_FORMAT)
 * are embedded. Each archive is fed whole, byte by byte, in 511/512/513-byte
 * pieces and in random pieces: the callbacks (names, sizes, pax records,
 * data bytes, ends) and the result must be the same every time. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include <bzlib.h>
#include <zlib.h>

#include "gateway/tarx.h"

/* ---- archive building ------------------------------------------------- */

typedef struct {
    uint8_t *p;
    size_t n, cap;
} bb;

static void bb_put(bb *b, const void *p, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    if (n) memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void bb_zero(bb *b, size_t n) {
    uint8_t z[512] = {0};
    while (n) {
        size_t k = n < sizeof z ? n : sizeof z;
        bb_put(b, z, k);
        n -= k;
    }
}

typedef struct {
    const char *name, *prefix, *linkname;
    char type;
    uint64_t size;
    bool b256;      /* size in GNU base-256 */
    bool gnu_magic; /* "ustar  \0" rather than "ustar\0" "00" */
} hspec;

static void header_checksum(uint8_t *h) {
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (size_t i = 0; i < 512; i++) sum += h[i];
    char f[8];
    snprintf(f, sizeof f, "%06o", sum);
    memcpy(h + 148, f, 6);
    h[154] = 0;
    h[155] = ' ';
}

static void make_header(uint8_t *h, const hspec *s) {
    memset(h, 0, 512);
    memcpy(h, s->name, strnlen(s->name, 100));
    memcpy(h + 100, "0000644", 8);
    memcpy(h + 108, "0000000", 8);
    memcpy(h + 116, "0000000", 8);
    if (s->b256) {
        h[124] = 0x80;
        for (int i = 0; i < 11; i++) h[135 - i] = (uint8_t)(i < 8 ? s->size >> (8 * i) : 0);
    } else {
        char f[13];
        snprintf(f, sizeof f, "%011llo", (unsigned long long)s->size);
        memcpy(h + 124, f, 12);
    }
    memcpy(h + 136, "14525037000", 12);
    h[156] = (uint8_t)s->type;
    if (s->linkname) memcpy(h + 157, s->linkname, strnlen(s->linkname, 100));
    if (s->gnu_magic)
        memcpy(h + 257, "ustar  ", 8);
    else
        memcpy(h + 257,
               "ustar\0"
               "00",
               8);
    memcpy(h + 265, "root", 4);
    memcpy(h + 297, "root", 4);
    if (s->prefix) memcpy(h + 345, s->prefix, strnlen(s->prefix, 155));
    header_checksum(h);
}

static void put_header(bb *b, const hspec *s) {
    uint8_t h[512];
    make_header(h, s);
    bb_put(b, h, 512);
}

static void put_data(bb *b, const void *p, size_t n) {
    bb_put(b, p, n);
    bb_zero(b, (512 - n % 512) % 512);
}

/* A regular file ('0') with its data. */
static void put_file(bb *b, const char *name, const char *data) {
    size_t n = strlen(data);
    put_header(b, &(hspec){.name = name, .type = '0', .size = n});
    put_data(b, data, n);
}

/* An entry of type type carrying data (pax 'x' / 'g', GNU 'L'). */
static void put_typed(bb *b, char type, const char *name, const void *data, size_t n) {
    put_header(b, &(hspec){.name = name, .type = type, .size = n});
    put_data(b, data, n);
}

/* Appends one pax record "len key=value\n" to s. */
static void pax_rec(bb *s, const char *k, const char *v) {
    size_t body = strlen(k) + strlen(v) + 3; /* ' ' '=' '\n' */
    size_t len = body + 1;
    for (;;) { /* the length counts its own digits */
        char d[24];
        size_t nd = (size_t)snprintf(d, sizeof d, "%zu", len);
        if (body + nd == len) break;
        len = body + nd;
    }
    char *r = malloc(len + 1);
    assert_non_null(r);
    snprintf(r, len + 1, "%zu %s=%s\n", len, k, v);
    assert_int_equal(strlen(r), len);
    bb_put(s, r, len);
    free(r);
}

static void put_end(bb *b) {
    bb_zero(b, 1024);
}

static uint8_t *gzip_of(const uint8_t *in, size_t n, size_t *outn) {
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&z, (uLong)n) + 64;
    uint8_t *o = malloc(cap);
    assert_non_null(o);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = o;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *outn = z.total_out;
    deflateEnd(&z);
    return o;
}

static uint8_t *bzip2_of(const uint8_t *in, size_t n, size_t *outn) {
    unsigned cap = (unsigned)(n + n / 50 + 1024);
    uint8_t *o = malloc(cap);
    assert_non_null(o);
    assert_int_equal(BZ2_bzBuffToBuffCompress((char *)o, &cap, (char *)in, (unsigned)n, 9, 0, 0),
                     BZ_OK);
    *outn = cap;
    return o;
}

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) {
    uint64_t x = rnd_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rnd_state = x;
}

/* ---- recording the callbacks ------------------------------------------ */

#define MAXF 80

typedef struct {
    char *name;
    uint64_t size;
    bb attrs; /* "key=value\n"... */
    bb data;
    bool ended;
} frec;

typedef struct {
    frec f[MAXF];
    size_t nf;
    bool in_file;
    bool dead; /* a callback answered TARX_ABORT, or the reader failed */
    size_t data_calls;
    /* behaviour, by file name (NULL: never) */
    const char *skip_begin, *skip_data, *abort_begin, *abort_data, *abort_end;
    kerr result;
    char error[128];
} rec;

static bool is(const char *want, const char *name) {
    return want && !strcmp(want, name);
}

static int cb_begin(void *ctx, const char *name, uint64_t size, const tarx_attr *a, size_t na) {
    rec *r = ctx;
    assert_false(r->dead);
    assert_false(r->in_file);
    assert_true(r->nf < MAXF);
    frec *f = &r->f[r->nf++];
    memset(f, 0, sizeof *f);
    f->name = strdup(name);
    f->size = size;
    for (size_t i = 0; i < na; i++) {
        bb_put(&f->attrs, a[i].key, strlen(a[i].key));
        bb_put(&f->attrs, "=", 1);
        bb_put(&f->attrs, a[i].value, strlen(a[i].value));
        bb_put(&f->attrs, "\n", 1);
    }
    bb_put(&f->attrs, "", 1), f->attrs.n--; /* NUL-terminated */
    if (is(r->abort_begin, name)) return r->dead = true, TARX_ABORT;
    if (is(r->skip_begin, name)) return TARX_SKIP;
    r->in_file = true;
    return TARX_CONTINUE;
}

static int cb_data(void *ctx, const void *p, size_t n) {
    rec *r = ctx;
    assert_false(r->dead);
    assert_true(r->in_file);
    assert_true(n > 0);
    frec *f = &r->f[r->nf - 1];
    bb_put(&f->data, p, n);
    assert_true(f->data.n <= f->size);
    r->data_calls++;
    if (is(r->abort_data, f->name)) return r->dead = true, TARX_ABORT;
    if (is(r->skip_data, f->name)) {
        r->in_file = false; /* file_end follows */
        f->ended = true;
        return TARX_SKIP;
    }
    return TARX_CONTINUE;
}

static int cb_end(void *ctx) {
    rec *r = ctx;
    assert_false(r->dead);
    frec *f = &r->f[r->nf - 1];
    if (is(r->skip_data, f->name) && f->ended && !r->in_file) {
        /* the end after a file_data that answered TARX_SKIP */
        r->f[r->nf - 1].ended = true;
        f->size = f->data.n; /* what was delivered: no more is owed */
        return is(r->abort_end, f->name) ? (r->dead = true, TARX_ABORT) : TARX_CONTINUE;
    }
    assert_true(r->in_file);
    assert_int_equal(f->data.n, f->size);
    r->in_file = false;
    f->ended = true;
    if (is(r->abort_end, f->name)) return r->dead = true, TARX_ABORT;
    return TARX_CONTINUE;
}

static const tarx_cb cbs = {cb_begin, cb_data, cb_end};

static void rec_clear(rec *r) {
    for (size_t i = 0; i < r->nf; i++) {
        free(r->f[i].name);
        free(r->f[i].attrs.p);
        free(r->f[i].data.p);
    }
    r->nf = 0;
}

/* split: 0 whole, > 0 pieces of that size, < 0 random pieces */
static kerr run(tarx_compression c, const uint8_t *a, size_t n, long split, rec *r) {
    rec cfg = *r;
    memset(r, 0, sizeof *r);
    r->skip_begin = cfg.skip_begin, r->skip_data = cfg.skip_data;
    r->abort_begin = cfg.abort_begin, r->abort_data = cfg.abort_data;
    r->abort_end = cfg.abort_end;
    tarx *t;
    assert_int_equal(tarx_new(c, &cbs, r, &t), K_OK);
    kerr e = K_OK;
    size_t at = 0;
    while (at < n && !e) {
        size_t k = split == 0  ? n
                   : split > 0 ? (size_t)split
                               : 1 + rnd() % (rnd() % 4 ? 700 : 9000);
        if (k > n - at) k = n - at;
        e = tarx_feed(t, a + at, k);
        at += k;
    }
    if (e) {
        r->dead = true;
        /* sticky: nothing more is called and the same error comes back */
        assert_int_equal(tarx_feed(t, a, n), e);
        assert_int_equal(tarx_finish(t), e);
    } else {
        e = tarx_finish(t);
        if (e) r->dead = true;
        assert_int_equal(tarx_finish(t), e);
    }
    if (e == K_EINVAL) assert_true(tarx_error(t)[0]);
    snprintf(r->error, sizeof r->error, "%s", tarx_error(t));
    tarx_free(t);
    r->result = e;
    return e;
}

static void rec_same(const rec *a, const rec *b, long split) {
    if (a->result != b->result || strcmp(a->error, b->error))
        fail_msg("split %ld: result %d \"%s\", whole %d \"%s\"", split, b->result, b->error,
                 a->result, a->error);
    if (a->nf != b->nf) fail_msg("split %ld: %zu files, whole %zu", split, b->nf, a->nf);
    for (size_t i = 0; i < a->nf; i++) {
        const frec *x = &a->f[i], *y = &b->f[i];
        if (strcmp(x->name, y->name) || x->size != y->size || x->ended != y->ended ||
            x->attrs.n != y->attrs.n || memcmp(x->attrs.p, y->attrs.p, x->attrs.n) ||
            x->data.n != y->data.n || (x->data.n && memcmp(x->data.p, y->data.p, x->data.n)))
            fail_msg("split %ld: file %zu (%s) differs from the whole feed", split, i, x->name);
    }
}

/* Feeds the archive whole into *r (which carries the behaviour), then in
 * every other way, and checks each gives the same as the whole feed. */
static kerr run_all(tarx_compression c, const uint8_t *a, size_t n, rec *r) {
    rec cfg = *r;
    kerr e = run(c, a, n, 0, r);
    static const long splits[] = {1,  2,  3,  7,  100, 511, 512, 513, 1023, 4096, 65536,
                                  -1, -1, -1, -1, -1,  -1,  -1,  -1,  -1,   -1};
    for (size_t i = 0; i < sizeof splits / sizeof *splits; i++) {
        rec o = cfg;
        run(c, a, n, splits[i], &o);
        rec_same(r, &o, splits[i]);
        rec_clear(&o);
    }
    return e;
}

static void expect_file(const rec *r, size_t i, const char *name, const void *data, size_t n,
                        const char *attrs) {
    if (i >= r->nf) fail_msg("file %zu (%s) missing: %zu files", i, name, r->nf);
    const frec *f = &r->f[i];
    assert_string_equal(f->name, name);
    assert_int_equal(f->size, n);
    assert_int_equal(f->data.n, n);
    if (n) assert_memory_equal(f->data.p, data, n);
    assert_true(f->ended);
    assert_string_equal(f->attrs.n ? (const char *)f->attrs.p : "", attrs ? attrs : "");
}

static void expect_str(const rec *r, size_t i, const char *name, const char *data,
                       const char *attrs) {
    expect_file(r, i, name, data, strlen(data), attrs);
}

static void runs(tarx_compression c, const bb *b, rec *r, kerr want) {
    assert_int_equal(run_all(c, b->p, b->n, r), want);
    if (c == TARX_PLAIN) { /* the same, gzip- and bzip2-compressed */
        size_t zn;
        uint8_t *z = gzip_of(b->p, b->n, &zn);
        rec o = *r;
        run_all(TARX_GZIP, z, zn, &o);
        rec_same(r, &o, -100);
        rec_clear(&o);
        free(z);
        z = bzip2_of(b->p, b->n, &zn);
        o = *r;
        run_all(TARX_BZIP2, z, zn, &o);
        rec_same(r, &o, -200);
        rec_clear(&o);
        free(z);
    }
}

static char *repeat(char c, size_t n) {
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = 0;
    return s;
}

/* ---- the tests -------------------------------------------------------- */

static void test_new(void **st) {
    (void)st;
    tarx *t = (tarx *)1;
    assert_int_equal(tarx_new((tarx_compression)7, &cbs, NULL, &t), K_EINVAL);
    assert_null(t);
    tarx_free(NULL);
    rec r = {0};
    assert_int_equal(tarx_new(TARX_PLAIN, &cbs, &r, &t), K_OK);
    assert_string_equal(tarx_error(t), "");
    assert_int_equal(tarx_finish(t), K_OK); /* an empty input: no files */
    tarx_free(t);
    assert_int_equal(r.nf, 0);
}

static void test_ustar_names(void **st) {
    (void)st;
    bb b = {0};
    char *n100 = repeat('a', 100), *p155 = repeat('p', 155);
    put_file(&b, "plain.txt", "hello, world\n");
    put_header(&b, &(hspec){.name = "file.txt", .prefix = "dir/sub", .type = '0', .size = 3});
    put_data(&b, "abc", 3);
    put_header(&b, &(hspec){.name = n100, .prefix = p155, .type = '0', .size = 1}); /* no NULs */
    put_data(&b, "x", 1);
    put_header(&b, &(hspec){.name = "old", .type = 0, .size = 2}); /* '\0': a regular file */
    put_data(&b, "v7", 2);
    put_header(&b, &(hspec){.name = "contig", .type = '7', .size = 1});
    put_data(&b, "7", 1);
    put_header(&b,
               &(hspec){.name = "gnu", .prefix = "pre", .type = '0', .size = 1, .gnu_magic = true});
    put_data(&b, "g", 1);
    put_end(&b);
    rec r = {0};
    runs(TARX_PLAIN, &b, &r, K_OK);
    assert_int_equal(r.nf, 6);
    expect_str(&r, 0, "plain.txt", "hello, world\n", NULL);
    expect_str(&r, 1, "dir/sub/file.txt", "abc", NULL);
    char full[300];
    snprintf(full, sizeof full, "%s/%s", p155, n100);
    expect_str(&r, 2, full, "x", NULL);
    expect_str(&r, 3, "old", "v7", NULL);
    expect_str(&r, 4, "contig", "7", NULL);
    expect_str(&r, 5, "pre/gnu", "g", NULL); /* prefix read whatever the magic, as tarfile does */
    rec_clear(&r);
    free(n100), free(p155), free(b.p);
}

static void test_pax(void **st) {
    (void)st;
    bb b = {0}, pax = {0};
    char *longp = repeat('q', 300);
    char path[400];
    snprintf(path, sizeof path, "deep/%s.bin", longp);
    pax_rec(&pax, "path", path);
    pax_rec(&pax, "SCHILY.xattr.user.mime_type", "text/x-kura");
    pax_rec(&pax, "comment", "a = b, with\nnewline");
    pax_rec(&pax, "size", "700"); /* overrides the header's 5 */
    put_typed(&b, 'x', "./PaxHeaders/x", pax.p, pax.n);
    uint8_t data[700];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i * 7 + 3);
    put_header(&b, &(hspec){.name = "truncated-name", .type = '0', .size = 5});
    put_data(&b, data, sizeof data);
    put_file(&b, "after", "no pax for me"); /* a pax header applies to one file */
    /* a global header: skipped, its records given to nobody */
    pax.n = 0;
    pax_rec(&pax, "path", "global-should-not-apply");
    put_typed(&b, 'g', "pax_global_header", pax.p, pax.n);
    put_file(&b, "after-global", "g");
    /* pax size 0 over a header size of 9: an empty file, the header's size ignored */
    pax.n = 0;
    pax_rec(&pax, "size", "0");
    put_typed(&b, 'x', "x", pax.p, pax.n);
    put_header(&b, &(hspec){.name = "zero", .type = '0', .size = 9});
    put_end(&b);
    rec r = {0};
    runs(TARX_PLAIN, &b, &r, K_OK);
    assert_int_equal(r.nf, 4);
    char attrs[600];
    snprintf(attrs, sizeof attrs,
             "path=%s\nSCHILY.xattr.user.mime_type=text/x-kura\ncomment=a = b, with\nnewline\n"
             "size=700\n",
             path);
    expect_file(&r, 0, path, data, sizeof data, attrs);
    expect_str(&r, 1, "after", "no pax for me", NULL);
    expect_str(&r, 2, "after-global", "g", NULL);
    expect_str(&r, 3, "zero", "", "size=0\n");
    rec_clear(&r);
    free(longp), free(pax.p), free(b.p);
}

/* More pax records than tarx passes on (64): path and size still apply. */
static void test_pax_many_records(void **st) {
    (void)st;
    bb b = {0}, pax = {0};
    char k[32];
    for (int i = 0; i < 100; i++) {
        snprintf(k, sizeof k, "k%d", i);
        pax_rec(&pax, k, "v");
    }
    pax_rec(&pax, "path", "late/path");
    pax_rec(&pax, "size", "4");
    put_typed(&b, 'x', "x", pax.p, pax.n);
    put_header(&b, &(hspec){.name = "early", .type = '0', .size = 1});
    put_data(&b, "late", 4);
    put_file(&b, "next", "n");
    put_end(&b);
    rec r = {0};
    runs(TARX_PLAIN, &b, &r, K_OK);
    assert_int_equal(r.nf, 2);
    assert_string_equal(r.f[0].name, "late/path");
    assert_int_equal(r.f[0].size, 4);
    assert_memory_equal(r.f[0].data.p, "late", 4);
    assert_true(r.f[0].attrs.n > 0);
    assert_memory_equal(r.f[0].attrs.p, "k0=v\nk1=v\n", 10);
    expect_str(&r, 1, "next", "n", NULL);
    rec_clear(&r);
    free(pax.p), free(b.p);
}

static void test_gnu_longname(void **st) {
    (void)st;
    bb b = {0};
    char *ln = repeat('L', 700);
    put_typed(&b, 'L', "././@LongLink", ln, strlen(ln) + 1); /* GNU tar counts the NUL */
    put_header(&b, &(hspec){.name = "LLLLshort", .type = '0', .size = 4, .gnu_magic = true});
    put_data(&b, "long", 4);
    put_file(&b, "short", "s"); /* a long name applies to one file */
    /* a long name then a pax path: the pax path wins */
    put_typed(&b, 'L', "././@LongLink", "gnu-name", 8);
    bb pax = {0};
    pax_rec(&pax, "path", "pax-name");
    put_typed(&b, 'x', "x", pax.p, pax.n);
    put_file(&b, "hdr-name", "both");
    /* an empty long name */
    put_typed(&b, 'L', "././@LongLink", "", 0);
    put_file(&b, "hdr", "e");
    put_end(&b);
    rec r = {0};
    runs(TARX_PLAIN, &b, &r, K_OK);
    assert_int_equal(r.nf, 4);
    expect_str(&r, 0, ln, "long", NULL);
    expect_str(&r, 1, "short", "s", NULL);
    expect_str(&r, 2, "pax-name", "both", "path=pax-name\n");
    expect_str(&r, 3, "", "e", NULL);
    rec_clear(&r);
    free(ln), free(pax.p), free(b.p);
}

/* An empty pax header or long name replaces a pending one (which was leaked
 * before: run under valgrind or ASan to see it). */
static void test_empty_meta_replaces(void **st) {
    (void)st;
    bb b = {0}, pax = {0};
    pax_rec(&pax, "path", "first");
    put_typed(&b, 'x', "x", pax.p, pax.n);
    put_typed(&b, 'x', "x", "", 0);
    put_file(&b, "hdr1", "1");
    put_typed(&b, 'L', "././@LongLink", "long", 5);
    put_typed(&b, 'L', "././@LongLink", "", 0);
    put_file(&b, "hdr2", "2");
    put_end(&b);
    rec r = {0};
    runs(TARX_PLAIN, &b, &r, K_OK);
    assert_int_equal(r.nf, 2);
    expect_str(&r, 0, "hdr1", "1", NULL);
    expect_str(&r, 1, "", "2", NULL);
    rec_clear(&r);
    free(pax.p), free(b.p);
}

static void test_base256_size(void **st) {
    (void)st;
    bb b = {0};
    uint8_t d[1300];
    for (size_t i = 0; i < sizeof d; i++) d[i] = (uint8_t)(rnd() >> 13);
    put_header(&b, &(hspec){.name = "b256", .type = '0', .size = sizeof d, .b256 = true});
    put_data(&b, d, sizeof d);
    put_file(&b, "next", "after base-256");
    put_end(&b);
    rec r = {0};
    runs(TARX_PLAIN, &b, &r, K_OK);
    assert_int_equal(r.nf, 2);
    expect_file(&r, 0, "b256", d, sizeof d, NULL);
    expect_str(&r, 1, "next", "after base-256", NULL);
    rec_clear(&r);
    free(b.p);

    /* a negative base-256 size (0xff...) is refused */
    b = (bb){0};
    uint8_t h[512];
    make_header(h, &(hspec){.name = "neg", .type = '0', .size = 1});
    memset(h + 124, 0xff, 12);
    header_checksum(h);
    bb_put(&b, h, 512);
    put_end(&b);
    r = (rec){0};
    assert_int_equal(run_all(TARX_PLAIN, b.p, b.n, &r), K_EINVAL);
    assert_int_equal(r.nf, 0);
    rec_clear(&r);
    free(b.p);
}

static void test_skipped_entries(void **st) {
    (void)st;
    bb b = {0}, pax = {0};
    put_header(&b, &(hspec){.name = "dir/", .type = '5'});
    put_file(&b, "dir/a", "A");
    put_header(&b, &(hspec){.name = "sym", .type = '2', .linkname = "dir/a"});
    put_header(&b, &(hspec){.name = "hard", .type = '1', .linkname = "dir/a"});
    put_header(&b, &(hspec){.name = "chr", .type = '3'});
    put_header(&b, &(hspec){.name = "blk", .type = '4'});
    put_header(&b, &(hspec){.name = "fifo", .type = '6'});
    pax_rec(&pax, "comment", "global");
    put_typed(&b, 'g', "pax_global_header", pax.p, pax.n);
    /* a pax path and a long name before a directory go with it */
    pax.n = 0;
    pax_rec(&pax, "path", "paxdir");
    put_typed(&b, 'x', "x", pax.p, pax.n);
    put_header(&b, &(hspec){.name = "d2/", .type = '5'});
    put_typed(&b, 'L', "././@LongLink", "longsym", 8);
    put_header(&b, &(hspec){.name = "s2", .type = '2', .linkname = "x"});
    /* an entry of an unknown type with data: skipped with its data */
    put_typed(&b, 'V', "volume", "0123456789", 10);
    put_file(&b, "dir/b", "B");
    put_end(&b);
    rec r = {0};
    runs(TARX_PLAIN, &b, &r, K_OK);
    assert_int_equal(r.nf, 2);
    expect_str(&r, 0, "dir/a", "A", NULL);
    expect_str(&r, 1, "dir/b", "B", NULL);
    rec_clear(&r);
    free(pax.p), free(b.p);
}

static void test_empty_file(void **st) {
    (void)st;
    bb b = {0};
    put_file(&b, "e1", "");
    put_file(&b, "e2", "");
    put_file(&b, "f", "data");
    put_end(&b);
    rec r = {0};
    runs(TARX_PLAIN, &b, &r, K_OK);
    assert_int_equal(r.nf, 3);
    expect_str(&r, 0, "e1", "", NULL);
    expect_str(&r, 1, "e2", "", NULL);
    expect_str(&r, 2, "f", "data", NULL);
    assert_int_equal(r.data_calls, 1);
    rec_clear(&r);
    free(b.p);
}

static bb three_files(size_t mid) {
    bb b = {0};
    put_file(&b, "one", "first file");
    char *m = repeat('m', mid);
    put_file(&b, "two", m);
    free(m);
    put_file(&b, "three", "third");
    put_end(&b);
    return b;
}

static void test_skip(void **st) {
    (void)st;
    bb b = three_files(3000);
    /* from file_begin: no data, no end for it */
    rec r = {.skip_begin = "two"};
    runs(TARX_PLAIN, &b, &r, K_OK);
    assert_int_equal(r.nf, 3);
    expect_str(&r, 0, "one", "first file", NULL);
    assert_string_equal(r.f[1].name, "two");
    assert_int_equal(r.f[1].data.n, 0);
    assert_false(r.f[1].ended);
    expect_str(&r, 2, "three", "third", NULL);
    rec_clear(&r);

    /* from file_data: then file_end, the rest dropped, later files arrive */
    static const long splits[] = {0, 1, 100, 512, 513, -1, -1, -1};
    for (size_t i = 0; i < sizeof splits / sizeof *splits; i++) {
        r = (rec){.skip_data = "two"};
        assert_int_equal(run(TARX_PLAIN, b.p, b.n, splits[i], &r), K_OK);
        assert_int_equal(r.nf, 3);
        expect_str(&r, 0, "one", "first file", NULL);
        assert_true(r.f[1].ended);
        assert_true(r.f[1].data.n >= 1 && r.f[1].data.n <= 3000);
        if (splits[i] == 1) assert_int_equal(r.f[1].data.n, 1);
        expect_str(&r, 2, "three", "third", NULL);
        rec_clear(&r);
    }
    /* skipping the last data piece of a file: one file_end all the same */
    r = (rec){.skip_data = "one"};
    assert_int_equal(run(TARX_PLAIN, b.p, b.n, 0, &r), K_OK);
    assert_int_equal(r.nf, 3);
    assert_int_equal(r.f[0].data.n, 10);
    assert_true(r.f[0].ended);
    expect_str(&r, 2, "three", "third", NULL);
    rec_clear(&r);
    free(b.p);
}

static void test_abort(void **st) {
    (void)st;
    bb b = three_files(2000);
    for (int c = 0; c < 3; c++) {
        uint8_t *a = b.p, *z = NULL;
        size_t n = b.n;
        if (c == 1) a = z = gzip_of(b.p, b.n, &n);
        if (c == 2) a = z = bzip2_of(b.p, b.n, &n);
        static const long splits[] = {0, 1, 511, -1};
        for (size_t i = 0; i < sizeof splits / sizeof *splits; i++) {
            /* the callbacks assert that nothing is called once one aborted */
            rec r = {.abort_begin = "two"};
            assert_int_equal(run((tarx_compression)c, a, n, splits[i], &r), K_EINTERNAL);
            assert_int_equal(r.nf, 2);
            assert_true(r.f[0].ended);
            assert_string_equal(r.error, ""); /* the caller knows why */
            rec_clear(&r);
            r = (rec){.abort_data = "two"};
            assert_int_equal(run((tarx_compression)c, a, n, splits[i], &r), K_EINTERNAL);
            assert_int_equal(r.nf, 2);
            assert_false(r.f[1].ended);
            rec_clear(&r);
            r = (rec){.abort_end = "two"};
            assert_int_equal(run((tarx_compression)c, a, n, splits[i], &r), K_EINTERNAL);
            assert_int_equal(r.nf, 2);
            assert_int_equal(r.f[1].data.n, 2000);
            rec_clear(&r);
        }
        free(z);
    }
    free(b.p);

    /* file_end of an empty file answering TARX_ABORT */
    b = (bb){0};
    put_file(&b, "e", "");
    put_file(&b, "f", "later");
    put_end(&b);
    rec r = {.abort_end = "e"};
    assert_int_equal(run_all(TARX_PLAIN, b.p, b.n, &r), K_EINTERNAL);
    assert_int_equal(r.nf, 1);
    rec_clear(&r);
    free(b.p);
}

static void test_bad_checksum(void **st) {
    (void)st;
    bb b = three_files(100);
    b.p[512 * 2 + 10] ^= 1; /* the name of "two" (its header follows one of "one"'s data) */
    rec r = {0};
    runs(TARX_PLAIN, &b, &r, K_EINVAL);
    assert_int_equal(r.nf, 1);
    expect_str(&r, 0, "one", "first file", NULL);
    assert_string_equal(r.error, "checksum mismatch in a header");
    rec_clear(&r);
    free(b.p);

    /* a checksum field that is not a number */
    b = (bb){0};
    put_file(&b, "a", "a");
    memcpy(b.p + 148, "zzzzzz", 6);
    put_end(&b);
    r = (rec){0};
    assert_int_equal(run_all(TARX_PLAIN, b.p, b.n, &r), K_EINVAL);
    assert_string_equal(r.error, "checksum mismatch in a header");
    assert_int_equal(r.nf, 0);
    rec_clear(&r);
    free(b.p);

    /* a signed checksum (old tars summed signed chars) is accepted */
    b = (bb){0};
    uint8_t h[512];
    make_header(h, &(hspec){.name = "\xc3\xa9t\xc3\xa9", .type = '0', .size = 1});
    memset(h + 148, ' ', 8);
    int sum = 0;
    for (size_t i = 0; i < 512; i++) sum += (signed char)h[i];
    char f[8];
    snprintf(f, sizeof f, "%06o", sum);
    memcpy(h + 148, f, 7);
    bb_put(&b, h, 512);
    put_data(&b, "s", 1);
    put_end(&b);
    r = (rec){0};
    assert_int_equal(run_all(TARX_PLAIN, b.p, b.n, &r), K_OK);
    expect_str(&r, 0, "\xc3\xa9t\xc3\xa9", "s", NULL);
    rec_clear(&r);
    free(b.p);

    /* a size field that is not a number */
    b = (bb){0};
    make_header(h, &(hspec){.name = "s", .type = '0', .size = 1});
    memcpy(h + 124, "12x", 3);
    header_checksum(h);
    bb_put(&b, h, 512);
    put_end(&b);
    r = (rec){0};
    assert_int_equal(run_all(TARX_PLAIN, b.p, b.n, &r), K_EINVAL);
    assert_string_equal(r.error, "invalid size field in a header");
    rec_clear(&r);
    free(b.p);
}

static void test_truncated(void **st) {
    (void)st;
    bb b = three_files(1000);
    /* one: header 0, data 512; two: header 1024, data 1536..2536, padding to 2560;
     * three: header 2560 */
    static const struct {
        size_t len;
        kerr want;
        size_t files;
        const char *error;
    } cuts[] = {
        {0, K_OK, 0, ""},
        {100, K_EINVAL, 0, "truncated header"},
        {511, K_EINVAL, 0, "truncated header"},
        {512, K_EINVAL, 1, "unexpected end of data"},  /* in one's data */
        {1024, K_OK, 1, ""},                           /* a header boundary */
        {1500, K_EINVAL, 1, "truncated header"},       /* in two's header */
        {2000, K_EINVAL, 2, "unexpected end of data"}, /* in two's data */
        {2536, K_EINVAL, 2, "unexpected end of data"}, /* in two's padding */
        {2559, K_EINVAL, 2, "unexpected end of data"},
        {2560, K_OK, 2, ""},
        {3584, K_OK, 3, ""},                           /* no end-of-archive blocks */
        {3584 + 100, K_EINVAL, 3, "truncated header"}, /* in the first end block */
        {3584 + 512, K_OK, 3, ""},                     /* one end block */
        {3584 + 1024, K_OK, 3, ""},                    /* both */
    };
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        rec r = {0};
        kerr e = run_all(TARX_PLAIN, b.p, cuts[i].len, &r);
        if (e != cuts[i].want || r.nf != cuts[i].files || strcmp(r.error, cuts[i].error))
            fail_msg("cut at %zu: %d, %zu files, \"%s\"", cuts[i].len, e, r.nf, r.error);
        /* cut in two's data: its end never comes; in its padding: it came */
        if (cuts[i].len == 2000) assert_false(r.f[1].ended);
        if (cuts[i].len == 2536) assert_true(r.f[1].ended);
        rec_clear(&r);
    }
    free(b.p);
}

static void test_trailing_garbage(void **st) {
    (void)st;
    bb b = three_files(10);
    for (int i = 0; i < 5000; i++) {
        uint8_t g = (uint8_t)rnd();
        bb_put(&b, &g, 1);
    }
    rec r = {0};
    runs(TARX_PLAIN, &b, &r, K_OK);
    assert_int_equal(r.nf, 3);
    expect_str(&r, 2, "three", "third", NULL);
    rec_clear(&r);
    /* garbage right after a single zero block */
    b.n = 512 * 6 + 512;
    r = (rec){0};
    runs(TARX_PLAIN, &b, &r, K_OK);
    assert_int_equal(r.nf, 3);
    rec_clear(&r);
    free(b.p);
}

/* Big enough for several output chunks of the decompressors (64 KiB). */
static bb big_archive(void) {
    bb b = {0};
    size_t n = 300000;
    uint8_t *d = malloc(n);
    assert_non_null(d);
    for (size_t i = 0; i < n; i++) d[i] = (uint8_t)(i % 251 < 200 ? i % 7 : rnd() >> 9);
    put_header(&b, &(hspec){.name = "big", .type = '0', .size = n});
    put_data(&b, d, n);
    free(d);
    put_file(&b, "small", "tail");
    put_end(&b);
    bb_zero(&b, 10240 - b.n % 10240); /* as tar pads to its record size */
    return b;
}

static void test_compressed(void **st) {
    (void)st;
    bb b = big_archive();
    rec r = {0};
    runs(TARX_PLAIN, &b, &r, K_OK);
    assert_int_equal(r.nf, 2);
    assert_int_equal(r.f[0].size, 300000);
    expect_str(&r, 1, "small", "tail", NULL);
    rec_clear(&r);

    /* gzip: two members, split inside the big file's data, and then at a header boundary */
    size_t cut1 = 70001, cut2 = 512 + 300000 + 16; /* the second in the padding */
    size_t n1, n2, n3;
    uint8_t *z1 = gzip_of(b.p, cut1, &n1), *z2 = gzip_of(b.p + cut1, cut2 - cut1, &n2),
            *z3 = gzip_of(b.p + cut2, b.n - cut2, &n3);
    bb z = {0};
    bb_put(&z, z1, n1), bb_put(&z, z2, n2), bb_put(&z, z3, n3);
    r = (rec){0};
    assert_int_equal(run_all(TARX_GZIP, z.p, z.n, &r), K_OK);
    assert_int_equal(r.nf, 2);
    assert_int_equal(r.f[0].data.n, 300000);
    assert_memory_equal(r.f[0].data.p, b.p + 512, 300000);
    expect_str(&r, 1, "small", "tail", NULL);
    rec_clear(&r);
    /* the archive cut after the second member, at a header boundary: fine */
    size_t hb = 512 + 300000 + 32; /* where "small"'s header starts */
    free(z2);
    z2 = gzip_of(b.p + cut1, hb - cut1, &n2);
    z.n = 0;
    bb_put(&z, z1, n1), bb_put(&z, z2, n2);
    r = (rec){0};
    assert_int_equal(run_all(TARX_GZIP, z.p, z.n, &r), K_OK);
    assert_int_equal(r.nf, 1);
    rec_clear(&r);
    /* ...and a member cut short: the end of the input is not the end of the data */
    r = (rec){0};
    assert_int_equal(run_all(TARX_GZIP, z.p, z.n - 20, &r), K_EINVAL);
    assert_string_equal(r.error, "unexpected end of data");
    rec_clear(&r);
    free(z1), free(z2), free(z3), free(z.p);

    /* truncated streams, cut in the middle: tarx_finish says so */
    size_t zn;
    uint8_t *gz = gzip_of(b.p, b.n, &zn);
    for (size_t cut = 1; cut < zn - 100; cut += zn / 7) { /* the tar ends near the end */
        r = (rec){0};
        if (run_all(TARX_GZIP, gz, cut, &r) != K_EINVAL)
            fail_msg("gzip cut at %zu of %zu: %d, %zu files", cut, zn, r.result, r.nf);
        rec_clear(&r);
    }
    uint8_t *bz = bzip2_of(b.p, b.n, &zn);
    for (size_t cut = 1; cut < zn - 100; cut += zn / 7) { /* the tar ends near the end */
        rec r2 = {0};
        tarx *t;
        assert_int_equal(tarx_new(TARX_BZIP2, &cbs, &r2, &t), K_OK);
        assert_int_equal(tarx_feed(t, bz, cut), K_OK); /* nothing wrong yet */
        assert_int_equal(tarx_finish(t), K_EINVAL);
        assert_string_equal(tarx_error(t), "unexpected end of data");
        tarx_free(t);
        rec_clear(&r2);
        r = (rec){0};
        assert_int_equal(run_all(TARX_BZIP2, bz, cut, &r), K_EINVAL);
        rec_clear(&r);
    }
    /* bytes after the bzip2 stream are ignored */
    uint8_t *bz2 = malloc(zn + 100);
    memcpy(bz2, bz, zn);
    memset(bz2 + zn, 'j', 100);
    r = (rec){0};
    assert_int_equal(run_all(TARX_BZIP2, bz2, zn + 100, &r), K_OK);
    assert_int_equal(r.nf, 2);
    rec_clear(&r);
    free(bz2);
    free(gz), free(bz), free(b.p);
}

static void test_corrupt_compressed(void **st) {
    (void)st;
    bb b = three_files(5000);
    size_t gn, bn;
    uint8_t *gz = gzip_of(b.p, b.n, &gn), *bz = bzip2_of(b.p, b.n, &bn);
    rec r = {0};
    /* not compressed at all */
    assert_int_equal(run_all(TARX_GZIP, b.p, b.n, &r), K_EINVAL);
    assert_string_equal(r.error, "not a valid gzip stream");
    assert_int_equal(r.nf, 0);
    rec_clear(&r);
    r = (rec){0};
    assert_int_equal(run_all(TARX_BZIP2, b.p, b.n, &r), K_EINVAL);
    assert_string_equal(r.error, "not a valid bzip2 stream");
    rec_clear(&r);
    /* the gzip CRC (the trailer's first 4 bytes): the tar ends first, so it is never looked at */
    gz[gn - 6] ^= 0x55;
    r = (rec){0};
    assert_int_equal(run_all(TARX_GZIP, gz, gn, &r), K_OK);
    assert_int_equal(r.nf, 3);
    rec_clear(&r);
    gz[gn - 6] ^= 0x55;
    /* damage inside the deflate data (mostly a run of 'm'): refused or, if it decodes,
     * the tar checksums or the gzip CRC catch it; some damage makes a different but
     * valid stream whose tar may still be refused: only "no crash, same every way" then */
    int refused = 0;
    for (size_t at = 10; at < gn - 8; at += 3) {
        gz[at] ^= 0xa5;
        r = (rec){0};
        if (run_all(TARX_GZIP, gz, gn, &r) == K_EINVAL) refused++;
        rec_clear(&r);
        gz[at] ^= 0xa5;
    }
    assert_true(refused > 0);
    gz[3] = 0xe0; /* reserved flag bits */
    r = (rec){0};
    assert_int_equal(run_all(TARX_GZIP, gz, gn, &r), K_EINVAL);
    assert_string_equal(r.error, "not a valid gzip stream");
    rec_clear(&r);
    /* bzip2: a damaged block fails its CRC */
    refused = 0;
    for (size_t at = 4; at < bn; at += 5) {
        bz[at] ^= 0x5a;
        r = (rec){0};
        if (run_all(TARX_BZIP2, bz, bn, &r) == K_EINVAL) refused++;
        rec_clear(&r);
        bz[at] ^= 0x5a;
    }
    assert_true(refused > (int)(bn / 5) / 2);
    bz[2] = 'x'; /* the magic */
    r = (rec){0};
    assert_int_equal(run_all(TARX_BZIP2, bz, bn, &r), K_EINVAL);
    assert_string_equal(r.error, "not a valid bzip2 stream");
    assert_int_equal(r.nf, 0);
    rec_clear(&r);
    free(gz), free(bz), free(b.p);

    /* the CRC of the first of several bzip2 blocks (100k each): its data was handed on,
     * the rest never comes */
    b = big_archive();
    unsigned cap = (unsigned)(b.n + b.n / 50 + 1024);
    bz = malloc(cap);
    assert_int_equal(
        BZ2_bzBuffToBuffCompress((char *)bz, &cap, (char *)b.p, (unsigned)b.n, 1, 0, 0), BZ_OK);
    bz[11] ^= 0x10; /* "BZh1", the block magic (6 bytes), then the block CRC */
    r = (rec){0};
    assert_int_equal(run_all(TARX_BZIP2, bz, cap, &r), K_EINVAL);
    assert_string_equal(r.error, "not a valid bzip2 stream");
    assert_int_equal(r.nf, 1);
    assert_false(r.f[0].ended);
    assert_true(r.f[0].data.n > 0 && r.f[0].data.n < 300000);
    rec_clear(&r);
    free(bz), free(b.p);
}

static void test_meta_limits(void **st) {
    (void)st;
    /* a pax header or long name over 1 MiB: refused at its header */
    for (int i = 0; i < 2; i++) {
        bb b = {0};
        put_header(&b, &(hspec){.name = "x", .type = i ? 'L' : 'x', .size = (1u << 20) + 1});
        rec r = {0};
        tarx *t;
        assert_int_equal(tarx_new(TARX_PLAIN, &cbs, &r, &t), K_OK);
        assert_int_equal(tarx_feed(t, b.p, b.n), K_EINVAL);
        assert_string_equal(tarx_error(t), "extended header too large");
        tarx_free(t);
        free(b.p);
    }
    /* exactly 1 MiB of pax records: fine */
    bb b = {0}, pax = {0};
    char *v = repeat('v', 1000);
    while (pax.n < (1u << 20) - 2000) pax_rec(&pax, "SCHILY.xattr.user.filler", v);
    /* a last record "R k=www...\n" of R bytes filling up to exactly 1 MiB */
    size_t rest = (1u << 20) - pax.n;
    char *last = repeat('w', rest - 4 - 4); /* 4 digits, ' ', 'k', '=', '\n' */
    pax_rec(&pax, "k", last);
    assert_int_equal(pax.n, 1u << 20);
    put_typed(&b, 'x', "x", pax.p, pax.n);
    put_file(&b, "f", "1MiB of pax");
    put_end(&b);
    rec r = {0};
    assert_int_equal(run(TARX_PLAIN, b.p, b.n, 0, &r), K_OK);
    assert_int_equal(r.nf, 1);
    assert_int_equal(r.f[0].data.n, 11);
    rec_clear(&r);
    r = (rec){0};
    assert_int_equal(run(TARX_PLAIN, b.p, b.n, 4000, &r), K_OK);
    assert_int_equal(r.nf, 1);
    rec_clear(&r);
    free(v), free(last), free(pax.p), free(b.p);
}

static void test_malformed_pax(void **st) {
    (void)st;
    static const struct {
        const char *pax, *error;
    } bad[] = {
        {"abc", "invalid pax extended header"},
        {"5 a=b\n", "invalid pax extended header"}, /* the length is 6 */
        {"7 a=b\n", "invalid pax extended header"}, /* longer than the rest */
        {"6 a=bX", "invalid pax extended header"},  /* no newline */
        {"5 ab\n", "invalid pax extended header"},
        {"6 =ab\n", "invalid pax extended header"}, /* no key */
        {"0 a=b\n", "invalid pax extended header"},
        {"3 a\n", "invalid pax extended header"},
        {"6a a=b\n", "invalid pax extended header"},
        {"6  a=b\n", "invalid pax extended header"},
        {" 6 a=b\n", "invalid pax extended header"},
        {"6 a=b\n99999999999999999999999999 a=b\n", "invalid pax extended header"},
        {"6 a=b\n7", "invalid pax extended header"},
        {"8 size=\n", "invalid pax size"},
        {"12 size=abc\n", "invalid pax size"},
        {"11 size=-1\n", "invalid pax size"},
        {"11 size=+1\n", "invalid pax size"},
        {"11 size= 1\n", "invalid pax size"},
        {"12 size=1.5\n", "invalid pax size"},
        {"29 size=99999999999999999999\n", "invalid pax size"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        bb b = {0};
        put_file(&b, "before", "b");
        put_typed(&b, 'x', "x", bad[i].pax, strlen(bad[i].pax));
        put_file(&b, "f", "data");
        put_end(&b);
        rec r = {0};
        kerr e = run_all(TARX_PLAIN, b.p, b.n, &r);
        if (e != K_EINVAL || strcmp(r.error, bad[i].error) || r.nf != 1)
            fail_msg("pax \"%s\": %d \"%s\" %zu files", bad[i].pax, e, r.error, r.nf);
        rec_clear(&r);
        free(b.p);
    }
    /* records that are fine: a value with '=' and NULs, an empty value, repeats (the last wins) */
    bb b = {0};
    static const char ok[] = "11 a=b=c\0d\n5 e=\n12 path=one\n12 path=two\n14 size=00002\n";
    put_typed(&b, 'x', "x", ok, sizeof ok - 1);
    put_file(&b, "f", "da");
    put_end(&b);
    rec r = {0};
    assert_int_equal(run_all(TARX_PLAIN, b.p, b.n, &r), K_OK);
    expect_str(&r, 0, "two", "da", "a=b=c\ne=\npath=one\npath=two\nsize=00002\n");
    rec_clear(&r);
    free(b.p);
}

#include "test_tarx_archives.h"

static void test_real_archives(void **st) {
    (void)st;
    rec r = {0};
    assert_int_equal(run_all(TARX_GZIP, gnu_tar_gz, sizeof gnu_tar_gz, &r), K_OK);
    assert_int_equal(r.nf, 3);
    char *n120 = repeat('n', 120), name[200];
    snprintf(name, sizeof name, "d/%s.txt", n120);
    expect_str(&r, 0, name, "long name data\n", NULL);
    expect_str(&r, 1, "small.txt", "hello\n", NULL);
    expect_str(&r, 2, "empty", "", NULL);
    rec_clear(&r);
    free(n120);

    for (int c = 0; c < 2; c++) {
        r = (rec){0};
        assert_int_equal(c ? run_all(TARX_BZIP2, pax_tar_bz2, sizeof pax_tar_bz2, &r)
                           : run_all(TARX_GZIP, pax_tar_gz, sizeof pax_tar_gz, &r),
                         K_OK);
        assert_int_equal(r.nf, 3);
        expect_str(&r, 0, "caf\xc3\xa9.txt", "utf8 name\n", "path=caf\xc3\xa9.txt\n");
        char *p150 = repeat('p', 150);
        snprintf(name, sizeof name, "x/%s.bin", p150);
        char attrs[260];
        snprintf(attrs, sizeof attrs, "path=%s\n", name);
        expect_file(&r, 1, name, "\x00\x01\x02pax long\n", 12, attrs);
        expect_str(&r, 2, "typed.txt", "mime\n", "SCHILY.xattr.user.mime_type=text/x-kura\n");
        free(p150);
        rec_clear(&r);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new),           cmocka_unit_test(test_ustar_names),
        cmocka_unit_test(test_pax),           cmocka_unit_test(test_pax_many_records),
        cmocka_unit_test(test_gnu_longname),  cmocka_unit_test(test_empty_meta_replaces),
        cmocka_unit_test(test_base256_size),  cmocka_unit_test(test_skipped_entries),
        cmocka_unit_test(test_empty_file),    cmocka_unit_test(test_skip),
        cmocka_unit_test(test_abort),         cmocka_unit_test(test_bad_checksum),
        cmocka_unit_test(test_truncated),     cmocka_unit_test(test_trailing_garbage),
        cmocka_unit_test(test_compressed),    cmocka_unit_test(test_corrupt_compressed),
        cmocka_unit_test(test_meta_limits),   cmocka_unit_test(test_malformed_pax),
        cmocka_unit_test(test_real_archives),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
