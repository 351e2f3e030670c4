/* SPDX-License-Identifier: Apache-2.0 */
#include "gateway/tarx.h"

#include <bzlib.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define BLOCK 512
#define MAX_META (1u << 20) /* a pax header or a GNU long name */
#define MAX_ATTRS 64
#define OUT_CHUNK (64u << 10)

typedef enum { ST_HEADER, ST_DATA, ST_END, ST_FAILED } state;
typedef enum { D_DELIVER, D_SKIP, D_PAX, D_LONGNAME } data_mode;

struct tarx {
    tarx_compression comp;
    z_stream z;
    bz_stream bz;
    bool zdone;   /* the compressed stream (gzip: its last member so far) ended */
    uint8_t *out; /* decompressed bytes */
    const tarx_cb *cb;
    void *ctx;
    state st;
    uint8_t hdr[BLOCK];
    size_t hlen;
    data_mode mode;
    uint64_t data_left; /* of the current entry */
    uint64_t pad_left;
    /* a pax header or long name being read, then pending for the next file */
    char *meta;
    size_t mlen;
    char *long_name;
    char *pax;
    size_t pax_len;
    const char *error;
    kerr err;
};

static kerr fail(tarx *t, const char *why) {
    if (t->st != ST_FAILED) {
        t->st = ST_FAILED;
        t->error = why;
        t->err = K_EINVAL;
    }
    return t->err;
}

kerr tarx_new(tarx_compression c, const tarx_cb *cb, void *ctx, tarx **out) {
    *out = NULL;
    if (c != TARX_PLAIN && c != TARX_GZIP && c != TARX_BZIP2) return K_EINVAL;
    tarx *t = calloc(1, sizeof *t);
    if (!t) return K_ENOMEM;
    t->comp = c;
    t->cb = cb;
    t->ctx = ctx;
    if (c != TARX_PLAIN) {
        t->out = malloc(OUT_CHUNK);
        if (!t->out) {
            free(t);
            return K_ENOMEM;
        }
    }
    if (c == TARX_GZIP && inflateInit2(&t->z, 15 + 32) != Z_OK) {
        free(t->out);
        free(t);
        return K_ENOMEM;
    }
    if (c == TARX_BZIP2 && BZ2_bzDecompressInit(&t->bz, 0, 0) != BZ_OK) {
        free(t->out);
        free(t);
        return K_ENOMEM;
    }
    *out = t;
    return K_OK;
}

void tarx_free(tarx *t) {
    if (!t) return;
    if (t->comp == TARX_GZIP) inflateEnd(&t->z);
    if (t->comp == TARX_BZIP2) BZ2_bzDecompressEnd(&t->bz);
    free(t->out);
    free(t->meta);
    free(t->long_name);
    free(t->pax);
    free(t);
}

const char *tarx_error(const tarx *t) {
    return t->error ? t->error : "";
}

/* A numeric header field: octal (NUL or space terminated, leading spaces),
 * or GNU base-256 when the first byte has its high bit set. */
static bool field_num(const uint8_t *f, size_t n, uint64_t *out) {
    uint64_t v = 0;
    if (f[0] & 0x80) {
        if (f[0] != 0x80) return false; /* negative, or too large */
        for (size_t i = 1; i < n; i++) {
            if (v >> 56) return false;
            v = v << 8 | f[i];
        }
        *out = v;
        return true;
    }
    size_t i = 0;
    while (i < n && f[i] == ' ') i++;
    bool digits = false;
    for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
        if (v >> 61) return false;
        v = v << 3 | (uint64_t)(f[i] - '0');
        digits = true;
    }
    for (; i < n; i++)
        if (f[i] != ' ' && f[i] != 0) return false;
    *out = v;
    return digits;
}

static bool checksum_ok(const uint8_t *h) {
    uint64_t want;
    if (!field_num(h + 148, 8, &want)) return false;
    uint64_t u = 0;
    int64_t sgn = 0;
    for (size_t i = 0; i < BLOCK; i++) {
        uint8_t c = i >= 148 && i < 156 ? ' ' : h[i];
        u += c;
        sgn += (int8_t)c;
    }
    return u == want || (uint64_t)sgn == want;
}

/* Parses the pax records of pax[0..n) into attrs (pointers into pax, whose
 * '\n' and '=' are overwritten with NULs; the first MAX_ATTRS) and the last
 * "path" and "size" values, of whichever record (NULL when absent). */
static bool pax_parse(char *pax, size_t n, tarx_attr *attrs, size_t *nattrs, const char **path,
                      const char **size) {
    size_t i = 0;
    *nattrs = 0;
    *path = *size = NULL;
    while (i < n) {
        size_t len = 0, j = i;
        while (j < n && pax[j] >= '0' && pax[j] <= '9') {
            if (len > n) return false;
            len = len * 10 + (size_t)(pax[j] - '0');
            j++;
        }
        if (j == i || j >= n || pax[j] != ' ' || len < (j - i) + 3 || len > n - i) return false;
        char *rec = pax + j + 1, *end = pax + i + len - 1;
        if (*end != '\n') return false;
        char *eq = memchr(rec, '=', (size_t)(end - rec));
        if (!eq || eq == rec) return false;
        *eq = 0;
        *end = 0;
        if (!strcmp(rec, "path")) *path = eq + 1;
        if (!strcmp(rec, "size")) *size = eq + 1;
        if (*nattrs < MAX_ATTRS) {
            attrs[*nattrs].key = rec;
            attrs[*nattrs].value = eq + 1;
            (*nattrs)++;
        }
        i += len;
    }
    return true;
}

static kerr data_done(tarx *t);

/* A complete header is in t->hdr. */
static kerr on_header(tarx *t) {
    const uint8_t *h = t->hdr;
    bool zero = true;
    for (size_t i = 0; i < BLOCK && zero; i++) zero = !h[i];
    if (zero) { /* end of archive: whatever follows is padding */
        t->st = ST_END;
        return K_OK;
    }
    if (!checksum_ok(h)) return fail(t, "checksum mismatch in a header");
    uint64_t size;
    if (!field_num(h + 124, 12, &size)) return fail(t, "invalid size field in a header");
    char type = (char)h[156];
    t->st = ST_DATA;
    t->data_left = size;
    t->pad_left = (BLOCK - size % BLOCK) % BLOCK;
    t->mode = D_SKIP;
    if (type == 'x' || type == 'L') {
        if (size > MAX_META) return fail(t, "extended header too large");
        free(t->meta);
        t->meta = malloc((size_t)size + 1);
        if (!t->meta) return t->err = K_ENOMEM, t->st = ST_FAILED, K_ENOMEM;
        t->mlen = 0;
        t->mode = type == 'x' ? D_PAX : D_LONGNAME;
    } else if (type == '0' || type == 0 || type == '7') {
        char name[256 + 2];
        size_t n = 0;
        if (!memcmp(h + 257, "ustar", 5) && h[345]) {
            size_t pl = strnlen((const char *)h + 345, 155);
            memcpy(name, h + 345, pl);
            n = pl;
            name[n++] = '/';
        }
        size_t nl = strnlen((const char *)h, 100);
        memcpy(name + n, h, nl);
        n += nl;
        name[n] = 0;
        tarx_attr attrs[MAX_ATTRS];
        size_t nattrs = 0;
        const char *fname = t->long_name ? t->long_name : name;
        if (t->pax) {
            const char *ppath, *psize;
            if (!pax_parse(t->pax, t->pax_len, attrs, &nattrs, &ppath, &psize))
                return fail(t, "invalid pax extended header");
            if (ppath) fname = ppath;
            if (psize) { /* decimal digits only: strtoull would take " -1" */
                char *end;
                errno = 0;
                unsigned long long v = strtoull(psize, &end, 10);
                if (*psize < '0' || *psize > '9' || *end || errno)
                    return fail(t, "invalid pax size");
                size = v;
                t->data_left = size;
                t->pad_left = (BLOCK - size % BLOCK) % BLOCK;
            }
        }
        int r = t->cb->file_begin(t->ctx, fname, size, attrs, nattrs);
        free(t->long_name);
        free(t->pax);
        t->long_name = t->pax = NULL;
        if (r == TARX_ABORT) return t->st = ST_FAILED, t->err = K_EINTERNAL;
        t->mode = r == TARX_SKIP ? D_SKIP : D_DELIVER;
        if (t->mode == D_DELIVER && !size) {
            if (t->cb->file_end(t->ctx) == TARX_ABORT)
                return t->st = ST_FAILED, t->err = K_EINTERNAL;
            t->mode = D_SKIP;
        }
    } else { /* directories, links, devices, global headers: not files */
        free(t->long_name);
        free(t->pax);
        t->long_name = t->pax = NULL;
    }
    if (!t->data_left && !t->pad_left) {
        /* an empty one: replaces a pending one as a non-empty one does */
        if (t->mode == D_PAX || t->mode == D_LONGNAME) data_done(t);
        t->st = ST_HEADER;
    }
    return K_OK;
}

/* The end of an entry's data (padding may follow). */
static kerr data_done(tarx *t) {
    if (t->mode == D_DELIVER) {
        if (t->cb->file_end(t->ctx) == TARX_ABORT) return t->st = ST_FAILED, t->err = K_EINTERNAL;
    } else if (t->mode == D_PAX) {
        free(t->pax);
        t->pax = t->meta;
        t->pax_len = t->mlen;
        t->pax[t->mlen] = 0;
        t->meta = NULL;
    } else if (t->mode == D_LONGNAME) {
        free(t->long_name);
        t->meta[t->mlen] = 0;
        t->long_name = t->meta;
        t->meta = NULL;
    }
    t->mode = D_SKIP;
    return K_OK;
}

/* Tar bytes (decompressed). */
static kerr tar_bytes(tarx *t, const uint8_t *p, size_t n) {
    while (n) {
        if (t->st == ST_FAILED) return t->err;
        if (t->st == ST_END) return K_OK;
        if (t->st == ST_HEADER) {
            size_t take = BLOCK - t->hlen < n ? BLOCK - t->hlen : n;
            memcpy(t->hdr + t->hlen, p, take);
            t->hlen += take;
            p += take;
            n -= take;
            if (t->hlen == BLOCK) {
                t->hlen = 0;
                kerr e = on_header(t);
                if (e) return e;
            }
            continue;
        }
        if (t->data_left) {
            size_t take = t->data_left < n ? (size_t)t->data_left : n;
            if (t->mode == D_DELIVER) {
                int r = t->cb->file_data(t->ctx, p, take);
                if (r == TARX_ABORT) return t->st = ST_FAILED, t->err = K_EINTERNAL;
                if (r == TARX_SKIP) {
                    if (t->cb->file_end(t->ctx) == TARX_ABORT)
                        return t->st = ST_FAILED, t->err = K_EINTERNAL;
                    t->mode = D_SKIP;
                }
            } else if (t->mode == D_PAX || t->mode == D_LONGNAME) {
                memcpy(t->meta + t->mlen, p, take);
                t->mlen += take;
            }
            t->data_left -= take;
            p += take;
            n -= take;
            if (!t->data_left) {
                kerr e = data_done(t);
                if (e) return e;
            }
        } else {
            size_t take = t->pad_left < n ? (size_t)t->pad_left : n;
            t->pad_left -= take;
            p += take;
            n -= take;
        }
        if (!t->data_left && !t->pad_left) t->st = ST_HEADER;
    }
    return K_OK;
}

/* What the decompressors produce is handed on before their verdict, and
 * nothing after the end of the archive is looked at (Python's tarfile, behind
 * Swift, does not either): then the result and the callbacks do not depend
 * on how the input was cut into pieces. */
static kerr feed(tarx *t, const void *p, size_t n) {
    if (t->st == ST_FAILED) return t->err;
    if (t->st == ST_END) return K_OK; /* whatever follows the end is ignored */
    if (t->comp == TARX_PLAIN) return tar_bytes(t, p, n);
    if (t->comp == TARX_GZIP) {
        t->z.next_in = (Bytef *)p;
        t->z.avail_in = (uInt)n;
        while (t->z.avail_in && t->st != ST_END) {
            if (t->zdone) { /* another gzip member follows (concatenated) */
                if (inflateReset(&t->z) != Z_OK) return fail(t, "not a valid gzip stream");
                t->zdone = false;
            }
            t->z.next_out = t->out;
            t->z.avail_out = OUT_CHUNK;
            int r = inflate(&t->z, Z_NO_FLUSH);
            kerr e = tar_bytes(t, t->out, OUT_CHUNK - t->z.avail_out);
            if (e || t->st == ST_END) return e;
            if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR)
                return fail(t, "not a valid gzip stream");
            if (r == Z_STREAM_END) t->zdone = true;
            if (r == Z_BUF_ERROR) break; /* needs more input */
        }
        return K_OK;
    }
    if (t->zdone) return K_OK; /* bytes after the bzip2 stream: ignored */
    t->bz.next_in = (char *)p;
    t->bz.avail_in = (unsigned)n;
    while (t->bz.avail_in) {
        t->bz.next_out = (char *)t->out;
        t->bz.avail_out = OUT_CHUNK;
        int r = BZ2_bzDecompress(&t->bz);
        kerr e = tar_bytes(t, t->out, OUT_CHUNK - t->bz.avail_out);
        if (e || t->st == ST_END) return e;
        if (r != BZ_OK && r != BZ_STREAM_END) return fail(t, "not a valid bzip2 stream");
        if (r == BZ_STREAM_END) {
            t->zdone = true;
            break;
        }
    }
    return K_OK;
}

kerr tarx_feed(tarx *t, const void *p, size_t n) {
    const uint8_t *b = p;
    while (n > UINT_MAX / 2) { /* zlib and libbz2 count their input in unsigned ints */
        kerr e = feed(t, b, UINT_MAX / 2);
        if (e) return e;
        b += UINT_MAX / 2;
        n -= UINT_MAX / 2;
    }
    return feed(t, b, n);
}

kerr tarx_finish(tarx *t) {
    if (t->st == ST_FAILED) return t->err;
    if (t->comp == TARX_GZIP && !t->zdone && t->st != ST_END) {
        /* drain what inflate still holds */
        for (;;) {
            t->z.next_in = NULL;
            t->z.avail_in = 0;
            t->z.next_out = t->out;
            t->z.avail_out = OUT_CHUNK;
            int r = inflate(&t->z, Z_FINISH);
            kerr e = tar_bytes(t, t->out, OUT_CHUNK - t->z.avail_out);
            if (e) return e;
            if (r == Z_STREAM_END || t->st == ST_END) break;
            if (r != Z_OK && r != Z_BUF_ERROR) return fail(t, "not a valid gzip stream");
            if (t->z.avail_out) return fail(t, "unexpected end of data");
        }
    }
    if (t->comp == TARX_BZIP2 && !t->zdone && t->st != ST_END)
        return fail(t, "unexpected end of data");
    if (t->st == ST_END || (t->st == ST_HEADER && !t->hlen)) return K_OK;
    return fail(t, t->st == ST_HEADER ? "truncated header" : "unexpected end of data");
}
