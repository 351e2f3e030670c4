/* SPDX-License-Identifier: Apache-2.0 */
/* gateway/formdata.h: the multipart/form-data reader. Every body is read
 * whole, one byte at a time, cut once at every point, cut twice at every
 * pair of points (small bodies), with empty feeds between pieces, and cut at
 * random; each way must give the same callback trace and the same result.
 * Pieces are copied into exactly-sized heap buffers so AddressSanitizer
 * catches a read past a feed.
 *
 * The trace: a part's begin is "[name,filename,type]" (NULL written "~"), its
 * data, joined across calls, "{len:bytes}", its end ".". A part_data call
 * answered SKIP or ABORT by the test is written "!" (its bytes depend on
 * where the feeds were cut). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "gateway/formdata.h"

#define CT "multipart/form-data; boundary=bound"
#define MAXP 8

typedef struct rec {
    kbuf trace;
    kbuf data; /* the current part's bytes, not yet written */
    bool in_part, delivering, dead;
    int part; /* index of the current part */
    /* what the test answers, per part (0 = FORMDATA_CONTINUE) */
    int begin_ret[MAXP], data_ret[MAXP], end_ret[MAXP];
} rec;

static void flush_data(rec *r) {
    if (!r->data.len) return;
    kbuf_printf(&r->trace, "{%zu:", r->data.len);
    kbuf_append(&r->trace, r->data.data, r->data.len);
    kbuf_putc(&r->trace, '}');
    r->data.len = 0;
}

static int cb_begin(void *ctx, const char *name, const char *filename, const char *ctype) {
    rec *r = ctx;
    assert_false(r->dead);
    assert_false(r->in_part);
    assert_non_null(name);
    r->part++;
    kbuf_printf(&r->trace, "[%s,%s,%s]", name, filename ? filename : "~", ctype ? ctype : "~");
    int ret = r->part < MAXP ? r->begin_ret[r->part] : 0;
    if (ret == FORMDATA_ABORT) r->dead = true;
    r->in_part = ret == FORMDATA_CONTINUE;
    r->delivering = r->in_part;
    return ret;
}

static int cb_data(void *ctx, const void *p, size_t n) {
    rec *r = ctx;
    assert_false(r->dead);
    assert_true(r->in_part);
    assert_true(r->delivering);
    assert_true(n > 0);
    int ret = r->part < MAXP ? r->data_ret[r->part] : 0;
    if (ret != FORMDATA_CONTINUE) {
        flush_data(r);
        kbuf_putc(&r->trace, '!');
        r->delivering = false;
        if (ret == FORMDATA_ABORT) r->dead = true;
        return ret;
    }
    kbuf_append(&r->data, p, n);
    return ret;
}

static int cb_end(void *ctx) {
    rec *r = ctx;
    assert_false(r->dead);
    assert_true(r->in_part);
    flush_data(r);
    kbuf_putc(&r->trace, '.');
    r->in_part = r->delivering = false;
    int ret = r->part < MAXP ? r->end_ret[r->part] : 0;
    if (ret == FORMDATA_ABORT) r->dead = true;
    return ret;
}

static const formdata_cb cbs = {cb_begin, cb_data, cb_end};

/* What the test answers the callbacks; copied into each run's rec. */
typedef struct answers {
    int begin_ret[MAXP], data_ret[MAXP], end_ret[MAXP];
} answers;

static const answers none;

/* Reads body cut at cuts[0..ncuts) (increasing), with an empty feed before
 * each piece when empties; the trace into out (the caller frees it). */
static kerr read_cut(const char *ct, const char *body, size_t len, const size_t *cuts, size_t ncuts,
                     bool empties, const answers *ans, char **out) {
    rec r;
    memset(&r, 0, sizeof r);
    kbuf_init(&r.trace);
    kbuf_init(&r.data);
    r.part = -1;
    memcpy(r.begin_ret, ans->begin_ret, sizeof r.begin_ret);
    memcpy(r.data_ret, ans->data_ret, sizeof r.data_ret);
    memcpy(r.end_ret, ans->end_ret, sizeof r.end_ret);
    formdata *f;
    assert_int_equal(formdata_new(ct, &cbs, &r, &f), K_OK);
    kerr e = K_OK;
    size_t at = 0;
    for (size_t i = 0; i <= ncuts && !e; i++) {
        size_t to = i < ncuts ? cuts[i] : len;
        if (empties) e = formdata_feed(f, "", 0);
        if (e) break;
        char *piece = malloc(to - at ? to - at : 1);
        assert_non_null(piece);
        memcpy(piece, body + at, to - at);
        e = formdata_feed(f, piece, to - at);
        free(piece);
        at = to;
    }
    if (e) {
        /* errors are sticky and nothing more is called */
        assert_true(formdata_error(f)[0] != 0);
        r.dead = true;
        assert_int_equal(formdata_feed(f, "--bound--\r\n", 11), e);
        assert_int_equal(formdata_finish(f), e);
    } else {
        e = formdata_finish(f);
        if (e) {
            r.dead = true;
            assert_true(formdata_error(f)[0] != 0);
            assert_int_equal(formdata_finish(f), e);
        } else {
            assert_false(r.in_part);
            assert_string_equal(formdata_error(f), "");
        }
    }
    formdata_free(f);
    flush_data(&r);
    kbuf_free(&r.data);
    kbuf_putc(&r.trace, 0);
    *out = r.trace.data;
    return e;
}

static void expect_cut(const char *ct, const char *body, size_t len, const size_t *cuts,
                       size_t ncuts, bool empties, const answers *ans, kerr want_e,
                       const char *want, size_t wantlen) {
    char *got;
    kerr e = read_cut(ct, body, len, cuts, ncuts, empties, ans, &got);
    if (e != want_e || memcmp(got, want, wantlen + 1)) {
        fprintf(stderr, "cut into %zu pieces at:", ncuts + 1);
        for (size_t i = 0; i < ncuts && i < 20; i++) fprintf(stderr, " %zu", cuts[i]);
        fprintf(stderr, "%s\nresult %d, trace: %s\n", ncuts > 20 ? " ..." : "", (int)e, got);
    }
    assert_int_equal(e, want_e);
    assert_memory_equal(got, want, wantlen + 1);
    free(got);
}

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t next_rand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* body (len bytes) read every way gives want (trace) and want_e. */
static void check_ans_n(const char *ct, const char *body, size_t len, const answers *ans,
                        kerr want_e, const char *want, size_t wl) {
    expect_cut(ct, body, len, NULL, 0, false, ans, want_e, want, wl);
    expect_cut(ct, body, len, NULL, 0, true, ans, want_e, want, wl);
    /* one byte at a time */
    size_t *cuts = calloc(len + 1, sizeof *cuts);
    assert_non_null(cuts);
    for (size_t i = 1; i < len; i++) cuts[i - 1] = i;
    if (len > 1) expect_cut(ct, body, len, cuts, len - 1, false, ans, want_e, want, wl);
    if (len > 1) expect_cut(ct, body, len, cuts, len - 1, true, ans, want_e, want, wl);
    if (len <= 4096) { /* every split point */
        for (size_t i = 0; i <= len; i++) {
            size_t c[1] = {i};
            expect_cut(ct, body, len, c, 1, false, ans, want_e, want, wl);
        }
    }
    if (len <= 256) { /* every pair of split points */
        for (size_t i = 0; i <= len; i++)
            for (size_t j = i; j <= len; j++) {
                size_t c[2] = {i, j};
                expect_cut(ct, body, len, c, 2, false, ans, want_e, want, wl);
            }
    }
    for (int round = 0; round < 100; round++) { /* random cuts */
        size_t n = 0, at = 0, maxstep = 1 + next_rand() % (len < 64 ? len + 1 : 64);
        while (at < len && n < len) {
            at += next_rand() % (maxstep + 1);
            if (at > len) at = len;
            cuts[n++] = at;
        }
        expect_cut(ct, body, len, cuts, n, round & 1, ans, want_e, want, wl);
    }
    free(cuts);
}

static void check_ans(const char *ct, const char *body, size_t len, const answers *ans, kerr want_e,
                      const char *want) {
    check_ans_n(ct, body, len, ans, want_e, want, strlen(want));
}

static void check_ct(const char *ct, const char *body, kerr want_e, const char *want) {
    check_ans(ct, body, strlen(body), &none, want_e, want);
}

static void check(const char *body, kerr want_e, const char *want) {
    check_ct(CT, body, want_e, want);
}

/* ---- fields and files ----------------------------------------------------- */

static void test_fields_and_files(void **state) {
    (void)state;
    check("--bound\r\n"
          "Content-Disposition: form-data; name=\"redirect\"\r\n"
          "\r\n"
          "https://example.com/done\r\n"
          "--bound\r\n"
          "Content-Disposition: form-data; name=\"file1\"; filename=\"a b.txt\"\r\n"
          "Content-Type: text/plain\r\n"
          "\r\n"
          "hello\r\nworld\r\n"
          "--bound\r\n"
          "content-disposition: FORM-DATA; NAME=plain; FileName=x.bin\r\n"
          "CONTENT-TYPE: application/octet-stream\r\n"
          "X-Other: ignored\r\n"
          "\r\n"
          "\x01\xff\r\n"
          "--bound--\r\n",
          K_OK,
          "[redirect,~,~]{24:https://example.com/done}."
          "[file1,a b.txt,text/plain]{12:hello\r\nworld}."
          "[plain,x.bin,application/octet-stream]{2:\x01\xff}.");
}

static void test_nul_bytes_in_data(void **state) {
    (void)state;
    static const char body[] = "--bound\r\nContent-Disposition: form-data; name=z\r\n\r\n"
                               "\0\0\r\n\0\r\n--bound--";
    static const char want[] = "[z,~,~]{5:\0\0\r\n\0}.";
    check_ans_n(CT, body, sizeof body - 1, &none, K_OK, want, sizeof want - 1);
}

/* Bytes that look like the start of a delimiter stay in the part. */
static void test_partial_boundaries_in_data(void **state) {
    (void)state;
    check(
        "--bound\r\nContent-Disposition: form-data; name=a\r\n\r\n"
        "x\r\n--\r\n--bou\r\n--boun\r\n-bound\n--bound\r--bound\r\r\n\r\n-\r\r\n--boun"
        "\r\n--bound\r\n"
        "Content-Disposition: form-data; name=b\r\n\r\n"
        "b--bound\r\n\r\n"
        "--bound\r\n"
        "Content-Disposition: form-data; name=c\r\n\r\n"
        "\r"
        "\r\n--bound\r\n"
        "Content-Disposition: form-data; name=d\r\n\r\n"
        "\r\n"
        "\r\n--bound--",
        K_OK,
        "[a,~,~]{59:x\r\n--\r\n--bou\r\n--boun\r\n-bound\n--bound\r--bound\r\r\n\r\n-\r\r\n--boun}."
        "[b,~,~]{10:b--bound\r\n}."
        "[c,~,~]{1:\r}."
        "[d,~,~]{2:\r\n}.");
    /* a part that ends in what begins a delimiter, then the body ends */
    check("--bound\r\nContent-Disposition: form-data; name=a\r\n\r\nabc\r\n--boun", K_EINVAL,
          "[a,~,~]{3:abc}");
    check("--bound\r\nContent-Disposition: form-data; name=a\r\n\r\nabc\r\n--bound", K_EINVAL,
          "[a,~,~]{3:abc}.");
}

static void test_boundary_parameter(void **state) {
    (void)state;
    const char *body = "--b'(),.?=:/_ +x\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\n"
                       "v\r\n--b'(),.?=:/_ +x--\r\n";
    check_ct("multipart/form-data; boundary=\"b'(),.?=:/_ +x\"", body, K_OK, "[f,~,~]{1:v}.");
    check_ct("Multipart/Form-Data; charset=utf-8; BOUNDARY=\"b'(),.?=:/_ +x\"", body, K_OK,
             "[f,~,~]{1:v}.");
    check_ct("MULTIPART/FORM-DATA;boundary=q'", "--q'\r\n\r\nv\r\n--q'--", K_OK, "[,~,~]{1:v}.");
    /* a boundary parameter inside another parameter's quoted value is not it */
    check_ct("multipart/form-data; x=\"a; boundary=wrong\"; boundary=right",
             "--right\r\n\r\nv\r\n--right--", K_OK, "[,~,~]{1:v}.");
    /* 70 characters is the most */
    char ct[200], b70[80], body70[400];
    memset(b70, 'z', 70);
    b70[70] = 0;
    snprintf(ct, sizeof ct, "multipart/form-data; boundary=%s", b70);
    snprintf(body70, sizeof body70, "--%s\r\n\r\nv\r\n--%s--", b70, b70);
    check_ct(ct, body70, K_OK, "[,~,~]{1:v}.");
    snprintf(ct, sizeof ct, "multipart/form-data; boundary=\"%s\"", b70);
    check_ct(ct, body70, K_OK, "[,~,~]{1:v}.");

    formdata *f = (formdata *)1;
    rec r;
    memset(&r, 0, sizeof r);
    snprintf(ct, sizeof ct, "multipart/form-data; boundary=%sz", b70);
    assert_int_equal(formdata_new(ct, &cbs, &r, &f), K_EINVAL);
    assert_null(f);
    snprintf(ct, sizeof ct, "multipart/form-data; boundary=\"%sz\"", b70);
    assert_int_equal(formdata_new(ct, &cbs, &r, &f), K_EINVAL);
    char b200[201];
    memset(b200, 'y', 200);
    b200[200] = 0;
    snprintf(body70, sizeof body70, "multipart/form-data; boundary=%s", b200);
    assert_int_equal(formdata_new(body70, &cbs, &r, &f), K_EINVAL);
    assert_int_equal(formdata_new("multipart/form-data", &cbs, &r, &f), K_EINVAL);
    assert_int_equal(formdata_new("multipart/form-data;", &cbs, &r, &f), K_EINVAL);
    assert_int_equal(formdata_new("multipart/form-data; boundary=", &cbs, &r, &f), K_EINVAL);
    assert_int_equal(formdata_new("multipart/form-data; boundary=\"\"", &cbs, &r, &f), K_EINVAL);
    assert_int_equal(formdata_new("multipart/form-data; charset=x", &cbs, &r, &f), K_EINVAL);
    assert_int_equal(formdata_new("multipart/mixed; boundary=x", &cbs, &r, &f), K_EINVAL);
    assert_int_equal(formdata_new("multipart/form-datax; boundary=x", &cbs, &r, &f), K_EINVAL);
    assert_int_equal(formdata_new("application/x-www-form-urlencoded", &cbs, &r, &f), K_EINVAL);
    assert_int_equal(formdata_new("text/plain; boundary=x", &cbs, &r, &f), K_EINVAL);
    assert_int_equal(formdata_new("", &cbs, &r, &f), K_EINVAL);
    assert_int_equal(formdata_new(NULL, &cbs, &r, &f), K_EINVAL);
    assert_null(f);
}

static void test_preamble_epilogue_padding(void **state) {
    (void)state;
    check("This is the preamble. --bound is not at a line start\r\n"
          "--bound  \t \r\n"
          "Content-Disposition: form-data; name=a\r\n\r\n"
          "1\r\n"
          "--bound \r\n"
          "Content-Disposition: form-data; name=b\r\n\r\n"
          "2\r\n"
          "--bound--  trailing\r\n"
          "This is the epilogue.\r\n--bound\r\n\r\nnot a part\r\n--bound--\r\n",
          K_OK, "[a,~,~]{1:1}.[b,~,~]{1:2}.");
    /* a preamble that is a blank line; bare LF after a boundary */
    check("\r\n--bound\n\r\nv\r\n--bound--", K_OK, "[,~,~]{1:v}.");
    /* the closing delimiter at once: no parts */
    check("--bound--", K_OK, "");
    check("--bound--\r\n", K_OK, "");
    /* something other than padding after a boundary */
    check("--bound x\r\n\r\nv\r\n--bound--", K_EINVAL, "");
    check("--bound\r\n\r\nv\r\n--boundary\r\n\r\nw\r\n--bound--", K_EINVAL, "[,~,~]{1:v}.");
    check("--bound-\r\n\r\nv\r\n--bound--", K_EINVAL, "");
}

static void test_parts_without_headers_and_empty(void **state) {
    (void)state;
    check("--bound\r\n"
          "\r\n"
          "no headers\r\n"
          "--bound\r\n"
          "Content-Disposition: form-data; name=empty\r\n"
          "\r\n"
          "\r\n"
          "--bound\r\n"
          "\r\n"
          "\r\n"
          "--bound\r\n"
          "Content-Disposition: form-data; name=\"\"; filename=\"\"\r\n"
          "\r\n"
          "x\r\n"
          "--bound\r\n"
          "Content-Disposition: form-data\r\n"
          "Content-Type: \r\n"
          "\r\n"
          "\r\n"
          "--bound--",
          K_OK, "[,~,~]{10:no headers}.[empty,~,~].[,~,~].[,,~]{1:x}.[,~,].");
}

static void test_quoted_parameters(void **state) {
    (void)state;
    check("--bound\r\n"
          "Content-Disposition: form-data; filename=\"a;name=evil.txt\"; name=\"good\"\r\n"
          "\r\n"
          "x\r\n"
          "--bound\r\n"
          "Content-Disposition: form-data; name=\"q\\\"uote\\\\d\"; filename=\"f\\\"\"\r\n"
          "\r\n"
          "y\r\n"
          "--bound--",
          K_OK, "[good,a;name=evil.txt,~]{1:x}.[q\"uote\\d,f\",~]{1:y}.");
}

/* ---- callbacks answering SKIP and ABORT ----------------------------------- */

#define THREE                                                                                      \
    "--bound\r\nContent-Disposition: form-data; name=a\r\n\r\nAAAA\r\n"                            \
    "--bound\r\nContent-Disposition: form-data; name=b\r\n\r\nBBBB\r\n"                            \
    "--bound\r\nContent-Disposition: form-data; name=c\r\n\r\nCCCC\r\n--bound--\r\n"

static void test_skip(void **state) {
    (void)state;
    answers a = none;
    a.begin_ret[1] = FORMDATA_SKIP;
    check_ans(CT, THREE, strlen(THREE), &a, K_OK, "[a,~,~]{4:AAAA}.[b,~,~][c,~,~]{4:CCCC}.");
    a = none;
    a.data_ret[0] = FORMDATA_SKIP;
    a.data_ret[2] = FORMDATA_SKIP;
    check_ans(CT, THREE, strlen(THREE), &a, K_OK, "[a,~,~]!.[b,~,~]{4:BBBB}.[c,~,~]!.");
    /* every part skipped */
    a = none;
    for (int i = 0; i < 3; i++) a.begin_ret[i] = FORMDATA_SKIP;
    check_ans(CT, THREE, strlen(THREE), &a, K_OK, "[a,~,~][b,~,~][c,~,~]");
}

static void test_abort(void **state) {
    (void)state;
    answers a = none;
    a.begin_ret[1] = FORMDATA_ABORT;
    check_ans(CT, THREE, strlen(THREE), &a, K_EINTERNAL, "[a,~,~]{4:AAAA}.[b,~,~]");
    a = none;
    a.data_ret[1] = FORMDATA_ABORT;
    check_ans(CT, THREE, strlen(THREE), &a, K_EINTERNAL, "[a,~,~]{4:AAAA}.[b,~,~]!");
    a = none;
    a.end_ret[0] = FORMDATA_ABORT;
    check_ans(CT, THREE, strlen(THREE), &a, K_EINTERNAL, "[a,~,~]{4:AAAA}.");
    a = none;
    a.end_ret[2] = FORMDATA_ABORT;
    check_ans(CT, THREE, strlen(THREE), &a, K_EINTERNAL,
              "[a,~,~]{4:AAAA}.[b,~,~]{4:BBBB}.[c,~,~]{4:CCCC}.");
    /* skipped by part_data, then the end it gets aborts */
    a = none;
    a.data_ret[0] = FORMDATA_SKIP;
    a.end_ret[0] = FORMDATA_ABORT;
    check_ans(CT, THREE, strlen(THREE), &a, K_EINTERNAL, "[a,~,~]!.");
}

/* ---- malformed bodies ----------------------------------------------------- */

static void test_malformed(void **state) {
    (void)state;
    /* no closing delimiter */
    check("--bound\r\nContent-Disposition: form-data; name=a\r\n\r\nabc", K_EINVAL, "[a,~,~]");
    check("--bound\r\nContent-Disposition: form-data; name=a\r\n\r\nabc\r\n", K_EINVAL, "[a,~,~]");
    check("--bound\r\nContent-Disposition: form-data; name=a\r\n", K_EINVAL, "");
    check("--bound\r\n", K_EINVAL, "");
    check("--bound", K_EINVAL, "");
    check("--bound-", K_EINVAL, "");
    check("", K_EINVAL, "");
    check("no boundary at all", K_EINVAL, "");
    /* a header line without ':' */
    check("--bound\r\nContent-Disposition: form-data; name=a\r\nnocolon\r\n\r\nv\r\n--bound--",
          K_EINVAL, "");
    check("--bound\r\nnocolon\r\n\r\nv\r\n--bound--", K_EINVAL, "");
    /* a second part's bad header: the first part is whole */
    check("--bound\r\n\r\nv\r\n--bound\r\nbad\r\n\r\nw\r\n--bound--", K_EINVAL, "[,~,~]{1:v}.");
    /* Content-Disposition other than form-data */
    check("--bound\r\nContent-Disposition: attachment; name=a\r\n\r\nv\r\n--bound--", K_EINVAL, "");
    check("--bound\r\nContent-Disposition: form-datax; name=a\r\n\r\nv\r\n--bound--", K_EINVAL, "");
    check("--bound\r\nContent-Disposition: \r\n\r\nv\r\n--bound--", K_EINVAL, "");
}

static char *repeat(char c, size_t n) {
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = 0;
    return s;
}

static void check_big(const char *body, kerr want_e, const char *want) {
    size_t len = strlen(body), wl = strlen(want);
    expect_cut(CT, body, len, NULL, 0, false, &none, want_e, want, wl);
    size_t *cuts = calloc(len, sizeof *cuts);
    assert_non_null(cuts);
    for (size_t i = 1; i < len; i++) cuts[i - 1] = i;
    expect_cut(CT, body, len, cuts, len - 1, false, &none, want_e, want, wl);
    /* pieces of 1000 bytes, and one cut at every 997th point */
    size_t n = 0;
    for (size_t at = 1000; at < len; at += 1000) cuts[n++] = at;
    expect_cut(CT, body, len, cuts, n, true, &none, want_e, want, wl);
    for (size_t i = 0; i <= len; i += 997) {
        size_t c[1] = {i};
        expect_cut(CT, body, len, c, 1, false, &none, want_e, want, wl);
    }
    free(cuts);
}

static void test_header_limit(void **state) {
    (void)state;
    /* headers of FORMDATA_MAX_HEADERS bytes (without the blank line), then
     * one more */
    const char *cd = "Content-Disposition: form-data; name=h\r\n";
    for (size_t extra = 0; extra <= 1; extra++) {
        size_t total = FORMDATA_MAX_HEADERS + extra;
        /* X-Pad lines of 1000 bytes each (with CRLF), the last shorter */
        kbuf b;
        kbuf_init(&b);
        kbuf_puts(&b, "--bound\r\n");
        kbuf_puts(&b, cd);
        size_t left = total - strlen(cd);
        while (left > 1000 + 2) {
            kbuf_puts(&b, "X-Pad: ");
            char *v = repeat('p', 1000 - 7 - 2);
            kbuf_puts(&b, v);
            free(v);
            kbuf_puts(&b, "\r\n");
            left -= 1000;
        }
        assert_true(left >= 8);
        kbuf_puts(&b, "X-Pad: ");
        char *v = repeat('q', left - 7);
        kbuf_puts(&b, v);
        free(v);
        kbuf_puts(&b, "\r\n\r\nv\r\n--bound--");
        check_big(b.data, extra ? K_EINVAL : K_OK, extra ? "" : "[h,~,~]{1:v}.");
        kbuf_free(&b);
    }
    /* headers that never end */
    char *v = repeat('x', FORMDATA_MAX_HEADERS + 100);
    kbuf b;
    kbuf_init(&b);
    kbuf_printf(&b, "--bound\r\nX-Long: %s", v);
    check_big(b.data, K_EINVAL, "");
    kbuf_free(&b);
    free(v);
    /* one header line over the line limit */
    v = repeat('x', 3000);
    kbuf_init(&b);
    kbuf_printf(&b, "--bound\r\nX-Long: %s\r\n\r\nv\r\n--bound--", v);
    check_big(b.data, K_EINVAL, "");
    kbuf_free(&b);
    free(v);
}

static void test_preamble_limit(void **state) {
    (void)state;
    /* FORMDATA_MAX_PREAMBLE bytes before the first delimiter (its CRLF not
     * counted), then one more */
    for (size_t extra = 0; extra <= 1; extra++) {
        char *pre = repeat('-', FORMDATA_MAX_PREAMBLE + extra);
        kbuf b;
        kbuf_init(&b);
        kbuf_printf(&b, "%s\r\n--bound\r\n\r\nv\r\n--bound--", pre);
        check_big(b.data, extra ? K_EINVAL : K_OK, extra ? "" : "[,~,~]{1:v}.");
        kbuf_free(&b);
        free(pre);
    }
    /* no boundary ever */
    char *pre = repeat('a', FORMDATA_MAX_PREAMBLE + 100);
    check_big(pre, K_EINVAL, "");
    free(pre);
}

static void test_padding_limit(void **state) {
    (void)state;
    /* padding after a boundary is bounded, however it is fed */
    for (size_t n = 250; n <= 260; n++) {
        char *pad = repeat(' ', n);
        kbuf b;
        kbuf_init(&b);
        kbuf_printf(&b, "--bound%s\r\n\r\nv\r\n--bound--", pad);
        char *got1, *got2;
        size_t len = b.len;
        size_t *cuts = calloc(len, sizeof *cuts);
        assert_non_null(cuts);
        for (size_t i = 1; i < len; i++) cuts[i - 1] = i;
        kerr e1 = read_cut(CT, b.data, len, NULL, 0, false, &none, &got1);
        kerr e2 = read_cut(CT, b.data, len, cuts, len - 1, false, &none, &got2);
        assert_int_equal(e1, e2);
        assert_string_equal(got1, got2);
        if (n <= 250) assert_int_equal(e1, K_OK);
        free(got1);
        free(got2);
        free(cuts);
        free(pad);
        kbuf_free(&b);
    }
}

/* A large file part: its bytes arrive exactly, however cut. */
static void test_large_part(void **state) {
    (void)state;
    size_t n = 100000;
    kbuf b, want;
    kbuf_init(&b);
    kbuf_init(&want);
    kbuf_puts(&b, "--bound\r\nContent-Disposition: form-data; name=f; filename=big\r\n\r\n");
    char *data = malloc(n);
    assert_non_null(data);
    for (size_t i = 0; i < n; i++) data[i] = "\r\n-bound"[next_rand() % 8];
    kbuf_append(&b, data, n);
    kbuf_puts(&b, "\r\n--bound--\r\n");
    kbuf_printf(&want, "[f,big,~]{%zu:", n);
    kbuf_append(&want, data, n);
    kbuf_puts(&want, "}.");
    for (int round = 0; round < 20; round++) {
        size_t *cuts = calloc(b.len, sizeof *cuts), nc = 0, at = 0;
        assert_non_null(cuts);
        size_t maxstep = round < 10 ? 1 + next_rand() % 16 : 1 + next_rand() % 8192;
        while ((at += 1 + next_rand() % maxstep) < b.len) cuts[nc++] = at;
        expect_cut(CT, b.data, b.len, cuts, nc, false, &none, K_OK, want.data, want.len);
        free(cuts);
    }
    expect_cut(CT, b.data, b.len, NULL, 0, false, &none, K_OK, want.data, want.len);
    free(data);
    kbuf_free(&b);
    kbuf_free(&want);
}

/* No callback after an error, however many bytes follow. */
static void test_sticky_error(void **state) {
    (void)state;
    rec r;
    memset(&r, 0, sizeof r);
    kbuf_init(&r.trace);
    kbuf_init(&r.data);
    r.part = -1;
    formdata *f;
    assert_int_equal(formdata_new(CT, &cbs, &r, &f), K_OK);
    const char *bad = "--bound\r\nbad header\r\n\r\n";
    assert_int_equal(formdata_feed(f, bad, strlen(bad)), K_EINVAL);
    assert_string_equal(formdata_error(f), "a malformed part header");
    r.dead = true; /* a callback now fails the test */
    const char *more = "--bound\r\n\r\nv\r\n--bound--";
    assert_int_equal(formdata_feed(f, more, strlen(more)), K_EINVAL);
    assert_int_equal(formdata_finish(f), K_EINVAL);
    formdata_free(f);
    assert_int_equal(r.trace.len, 0);
    kbuf_free(&r.trace);
    kbuf_free(&r.data);
    formdata_free(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields_and_files),
        cmocka_unit_test(test_nul_bytes_in_data),
        cmocka_unit_test(test_partial_boundaries_in_data),
        cmocka_unit_test(test_boundary_parameter),
        cmocka_unit_test(test_preamble_epilogue_padding),
        cmocka_unit_test(test_parts_without_headers_and_empty),
        cmocka_unit_test(test_quoted_parameters),
        cmocka_unit_test(test_skip),
        cmocka_unit_test(test_abort),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_header_limit),
        cmocka_unit_test(test_preamble_limit),
        cmocka_unit_test(test_padding_limit),
        cmocka_unit_test(test_large_part),
        cmocka_unit_test(test_sticky_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
