/* SPDX-License-Identifier: Apache-2.0 */
#include "gateway/formdata.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/text.h"

#define MAX_BOUNDARY 70 /* RFC 2046 */

typedef enum { ST_SEEK, ST_AFTER, ST_HEADERS, ST_BODY, ST_DONE, ST_FAILED } state;

struct formdata {
    const formdata_cb *cb;
    void *ctx;
    char delim[4 + MAX_BOUNDARY + 1]; /* "\r\n--" boundary */
    size_t dlen;
    kbuf buf;        /* bytes not consumed yet */
    size_t preamble; /* bytes consumed looking for the first delimiter */
    state st;
    bool deliver; /* the current part's data goes to part_data */
    const char *error;
    kerr err;
};

static kerr fail(formdata *f, const char *why) {
    if (f->st != ST_FAILED) {
        f->st = ST_FAILED;
        f->error = why;
        f->err = K_EINVAL;
    }
    return f->err;
}

static kerr aborted(formdata *f) {
    f->st = ST_FAILED;
    f->error = "aborted";
    f->err = K_EINTERNAL;
    return f->err;
}

/* The value of parameter name in a header value ("form-data; name=x;
 * filename=\"a b\""), unquoted, in out (size cap); false when absent. A
 * quoted value is skipped whole: a ';' inside it starts no parameter. */
static bool header_param(const char *v, const char *name, char *out, size_t cap) {
    size_t nl = strlen(name);
    const char *p = strchr(v, ';');
    while (p) {
        p++;
        while (*p == ' ' || *p == '\t') p++;
        bool match = !strncasecmp(p, name, nl) && p[nl] == '=';
        const char *s = p + strcspn(p, "=;");
        size_t n = 0;
        if (*s == '=') {
            s++;
            if (*s == '"') {
                for (s++; *s && *s != '"'; s++) {
                    if (*s == '\\' && s[1]) s++;
                    if (match && n + 1 < cap) out[n++] = *s;
                }
            } else {
                for (; *s && *s != ';' && *s != ' ' && *s != '\t'; s++)
                    if (match && n + 1 < cap) out[n++] = *s;
            }
        }
        if (match) {
            out[n] = 0;
            return true;
        }
        p = strchr(s, ';');
    }
    return false;
}

kerr formdata_new(const char *content_type, const formdata_cb *cb, void *ctx, formdata **out) {
    *out = NULL;
    if (!content_type) return K_EINVAL;
    size_t tl = strcspn(content_type, "; \t");
    if (tl != 19 || strncasecmp(content_type, "multipart/form-data", 19)) return K_EINVAL;
    char b[MAX_BOUNDARY + 2];
    if (!header_param(content_type, "boundary", b, sizeof b)) return K_EINVAL;
    size_t bl = strlen(b);
    if (!bl || bl > MAX_BOUNDARY) return K_EINVAL;
    formdata *f = calloc(1, sizeof *f);
    if (!f) return K_ENOMEM;
    f->cb = cb;
    f->ctx = ctx;
    memcpy(f->delim, "\r\n--", 4);
    memcpy(f->delim + 4, b, bl);
    f->dlen = 4 + bl;
    kbuf_init(&f->buf);
    /* the first boundary need not follow a CRLF: pretend one came */
    kbuf_append(&f->buf, "\r\n", 2);
    *out = f;
    return K_OK;
}

void formdata_free(formdata *f) {
    if (!f) return;
    kbuf_free(&f->buf);
    free(f);
}

const char *formdata_error(const formdata *f) {
    return f->error ? f->error : "";
}

static void consume(formdata *f, size_t n) {
    memmove(f->buf.data, f->buf.data + n, f->buf.len - n);
    f->buf.len -= n;
}

/* Parses the part headers in buf[0..n) (without the blank line). */
static kerr part_headers(formdata *f, size_t n) {
    char name[1024] = "", filename[1024], ctype[256];
    bool has_file = false, has_ctype = false;
    const char *p = f->buf.data, *end = p + n;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *le = eol ? eol : end;
        size_t len = (size_t)(le - p);
        if (len && p[len - 1] == '\r') len--;
        char line[2048];
        if (len >= sizeof line) return fail(f, "a part header is too long");
        memcpy(line, p, len);
        line[len] = 0;
        char *colon = strchr(line, ':');
        if (colon) {
            *colon = 0;
            char *v = colon + 1;
            while (*v == ' ' || *v == '\t') v++;
            if (!strcasecmp(line, "content-disposition")) {
                if (strncasecmp(v, "form-data", 9) || (v[9] && !strchr("; \t", v[9])))
                    return fail(f, "a part is not form-data");
                header_param(v, "name", name, sizeof name);
                has_file = header_param(v, "filename", filename, sizeof filename);
            } else if (!strcasecmp(line, "content-type")) {
                snprintf(ctype, sizeof ctype, "%s", v);
                has_ctype = true;
            }
        } else if (len) {
            return fail(f, "a malformed part header");
        }
        p = le + (eol ? 1 : 0);
    }
    int r = f->cb->part_begin(f->ctx, name, has_file ? filename : NULL, has_ctype ? ctype : NULL);
    if (r == FORMDATA_ABORT) return aborted(f);
    f->deliver = r == FORMDATA_CONTINUE;
    return K_OK;
}

static kerr part_done(formdata *f) {
    if (f->deliver && f->cb->part_end(f->ctx) == FORMDATA_ABORT) return aborted(f);
    f->deliver = false;
    return K_OK;
}

static kerr deliver(formdata *f, const char *p, size_t n) {
    if (!f->deliver || !n) return K_OK;
    int r = f->cb->part_data(f->ctx, p, n);
    if (r == FORMDATA_ABORT) return aborted(f);
    if (r == FORMDATA_SKIP) {
        if (f->cb->part_end(f->ctx) == FORMDATA_ABORT) return aborted(f);
        f->deliver = false;
    }
    return K_OK;
}

/* Runs the state machine over what buf holds. */
static kerr run(formdata *f) {
    for (;;) {
        switch (f->st) {
        case ST_SEEK: /* the preamble, up to the first delimiter */
        case ST_BODY: {
            char *hit = memmem(f->buf.data, f->buf.len, f->delim, f->dlen);
            if (!hit) {
                size_t keep = f->dlen - 1, avail = f->buf.len > keep ? f->buf.len - keep : 0;
                if (f->st == ST_BODY) {
                    kerr e = deliver(f, f->buf.data, avail);
                    if (e) return e;
                } else if ((f->preamble += avail) > FORMDATA_MAX_PREAMBLE + 2) {
                    /* + 2: the CRLF formdata_new put first */
                    return fail(f, "no boundary where the form begins");
                }
                consume(f, avail);
                return K_OK;
            }
            size_t before = (size_t)(hit - f->buf.data);
            /* the same limit whether the delimiter came in this feed or later */
            if (f->st == ST_SEEK && f->preamble + before > FORMDATA_MAX_PREAMBLE + 2)
                return fail(f, "no boundary where the form begins");
            if (f->st == ST_BODY) {
                kerr e = deliver(f, f->buf.data, before);
                if (!e) e = part_done(f);
                if (e) return e;
            }
            consume(f, before + f->dlen);
            f->st = ST_AFTER;
            break;
        }
        case ST_AFTER: /* "--" ends the form, else transport padding and CRLF */
            if (f->buf.len < 2) return K_OK;
            if (!memcmp(f->buf.data, "--", 2)) {
                f->st = ST_DONE;
                f->buf.len = 0;
                return K_OK;
            }
            {
                char *nl = memchr(f->buf.data, '\n', f->buf.len);
                if (!nl) {
                    if (f->buf.len > 256) return fail(f, "junk after a boundary");
                    return K_OK;
                }
                if (nl - f->buf.data > 256) return fail(f, "junk after a boundary");
                for (char *c = f->buf.data; c < nl; c++)
                    if (*c != ' ' && *c != '\t' && *c != '\r')
                        return fail(f, "junk after a boundary");
                consume(f, (size_t)(nl - f->buf.data) + 1);
                f->st = ST_HEADERS;
            }
            break;
        case ST_HEADERS: {
            if (f->buf.len >= 2 && !memcmp(f->buf.data, "\r\n", 2)) { /* no headers */
                kerr e = part_headers(f, 0);
                if (e) return e;
                consume(f, 2);
            } else {
                char *end = memmem(f->buf.data, f->buf.len, "\r\n\r\n", 4);
                if (!end) { /* up to 3 bytes may begin the blank line */
                    if (f->buf.len > FORMDATA_MAX_HEADERS + 3)
                        return fail(f, "part headers too large");
                    return K_OK;
                }
                size_t hl = (size_t)(end - f->buf.data);
                if (hl > FORMDATA_MAX_HEADERS) return fail(f, "part headers too large");
                kerr e = part_headers(f, hl);
                if (e) return e;
                consume(f, hl + 4);
            }
            f->st = ST_BODY; /* the CRLF before the next boundary is the delimiter's */
            break;
        }
        case ST_DONE:
            f->buf.len = 0;
            return K_OK;
        case ST_FAILED:
            return f->err;
        }
    }
}

kerr formdata_feed(formdata *f, const void *p, size_t n) {
    if (f->st == ST_FAILED) return f->err;
    if (f->st == ST_DONE) return K_OK; /* the epilogue is ignored */
    kbuf_append(&f->buf, p, n);
    return run(f);
}

kerr formdata_finish(formdata *f) {
    if (f->st == ST_FAILED) return f->err;
    if (f->st != ST_DONE) return fail(f, "the form ended before its closing boundary");
    return K_OK;
}
