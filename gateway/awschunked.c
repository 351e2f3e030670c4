/* SPDX-License-Identifier: Apache-2.0 */
/* Streaming decoder for aws-chunked bodies. See awschunked.h.
 *
 * The decoder is a byte-driven state machine so input can be split anywhere.
 * Header and trailer lines are collected in a fixed buffer (bounded, so a
 * hostile client cannot make it grow); chunk data is never buffered: it goes
 * to the sink and into a running SHA-256 as it arrives. */

/* The running chunk hash uses OpenSSL's plain SHA256_CTX: it lives inside the
 * decoder in the arena, so an abandoned upload (client gone mid-body) leaks
 * nothing, whereas an EVP_MD_CTX (khash) is heap memory the arena-only
 * contract would have no place to free. These functions are deprecated in
 * OpenSSL 3 but are the same SHA-NI code EVP uses. */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "gateway/awschunked.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "common/hash.h"

enum {
    LINE_MAX_BYTES = 4096,
    MAX_CHUNK_BYTES = 64u << 20, /* SDKs use 8 KiB..1 MiB; never allocated */
    MAX_TRAILERS = 32,
    MAX_TRAILER_TEXT = 16384,
    SIG_HEX = 64,
};

static const char EMPTY_SHA256_HEX[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

typedef enum {
    ST_SIZE_LINE, /* reading "<hex>[;ext]\r\n" */
    ST_DATA,      /* chunk payload */
    ST_DATA_CR,   /* the "\r\n" after the payload */
    ST_DATA_LF,
    ST_TRAILER_LINE, /* after the zero-size chunk: trailers, then "\r\n" */
    ST_DONE,
    ST_FAILED,
} dec_state;

struct awschunked {
    arena *a;
    dec_state state;
    kerr error; /* sticky once ST_FAILED */
    bool signed_chunks;
    bool trailers_allowed;
    bool trailer_signed;
    bool saw_trailer_signature;

    uint8_t signing_key[32];
    char amz_date[17];
    char scope[128];
    char prev_signature[65]; /* seed, then each chunk's */
    char chunk_signature[65];
    char trailer_signature[65];

    uint64_t remaining; /* payload bytes left in the current chunk */
    uint64_t decoded;
    SHA256_CTX sha;

    size_t line_len;
    char line[LINE_MAX_BYTES];

    http_header *trailers; /* in the arena, MAX_TRAILERS slots */
    size_t ntrailers;
    char *trailer_text; /* "name:value\n" per trailer as received, for the signature */
    size_t trailer_text_len;
};

awschunked *awschunked_new(arena *a, const auth_result *auth) {
    awschunked *d = arena_zalloc(a, sizeof *d);
    d->a = a;
    d->state = ST_SIZE_LINE;
    payload_mode mode = auth ? auth->payload : PAYLOAD_STREAMING_UNSIGNED_TRAILER;
    d->signed_chunks = mode == PAYLOAD_STREAMING_SIGNED || mode == PAYLOAD_STREAMING_SIGNED_TRAILER;
    d->trailer_signed = mode == PAYLOAD_STREAMING_SIGNED_TRAILER;
    /* Plain signed streaming has no trailer section; any other mode (also a
     * caller decoding aws-chunked under UNSIGNED-PAYLOAD) may carry one. */
    d->trailers_allowed = mode != PAYLOAD_STREAMING_SIGNED;
    if (d->signed_chunks) {
        memcpy(d->signing_key, auth->signing_key, sizeof d->signing_key);
        memcpy(d->amz_date, auth->amz_date, sizeof d->amz_date);
        memcpy(d->scope, auth->scope, sizeof d->scope);
        memcpy(d->prev_signature, auth->seed_signature, sizeof d->prev_signature);
        d->amz_date[sizeof d->amz_date - 1] = 0;
        d->scope[sizeof d->scope - 1] = 0;
        d->prev_signature[SIG_HEX] = 0;
    }
    return d;
}

static kerr fail(awschunked *d, kerr e) {
    d->state = ST_FAILED;
    d->error = e;
    return e;
}

static bool lower_hex64(const char *p, size_t n, char out[65]) {
    if (n != SIG_HEX) return false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c >= 'A' && c <= 'F') c = (char)(c + 32);
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
        out[i] = c;
    }
    out[n] = 0;
    return true;
}

/* hex(HMAC(signing key, sts)) compared in constant time with expected. */
static bool signature_ok(const awschunked *d, const char *sts, size_t n, const char *expected) {
    uint8_t mac[32];
    char hex[65];
    hmac_sha256(d->signing_key, sizeof d->signing_key, sts, n, mac);
    hex_encode(mac, sizeof mac, hex);
    return CRYPTO_memcmp(hex, expected, SIG_HEX) == 0;
}

/* Verifies the chunk just completed (hash in d->sha) and advances the chain. */
static kerr finish_chunk_signature(awschunked *d) {
    if (!d->signed_chunks) return K_OK;
    uint8_t digest[32];
    char data_hex[65];
    SHA256_Final(digest, &d->sha);
    hex_encode(digest, sizeof digest, data_hex);
    char sts[512];
    int n = snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256-PAYLOAD\n%s\n%s\n%s\n%s\n%s", d->amz_date,
                     d->scope, d->prev_signature, EMPTY_SHA256_HEX, data_hex);
    if (n < 0 || (size_t)n >= sizeof sts) return K_EINTERNAL;
    if (!signature_ok(d, sts, (size_t)n, d->chunk_signature)) return K_ESIGNATURE;
    memcpy(d->prev_signature, d->chunk_signature, sizeof d->prev_signature);
    return K_OK;
}

static kerr verify_trailer_signature(awschunked *d) {
    if (!d->saw_trailer_signature) return K_ESIGNATURE;
    char text_hex[65];
    sha256_hex(d->trailer_text ? d->trailer_text : "", d->trailer_text_len, text_hex);
    char sts[512];
    int n = snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256-TRAILER\n%s\n%s\n%s\n%s", d->amz_date,
                     d->scope, d->prev_signature, text_hex);
    if (n < 0 || (size_t)n >= sizeof sts) return K_EINTERNAL;
    return signature_ok(d, sts, (size_t)n, d->trailer_signature) ? K_OK : K_ESIGNATURE;
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* "<hex>[;name[=value]]*" (CR already removed). */
static kerr parse_size_line(awschunked *d, const char *s, size_t n) {
    size_t i = 0;
    uint64_t size = 0;
    for (; i < n && s[i] != ';'; i++) {
        int v = hex_digit(s[i]);
        if (v < 0) return K_EINVAL;
        size = size * 16 + (uint64_t)v;
        if (size > MAX_CHUNK_BYTES) return K_EINVAL; /* checked per digit: no overflow */
    }
    if (i == 0) return K_EINVAL;

    bool have_signature = false;
    while (i < n) { /* at ';' */
        size_t start = ++i;
        while (i < n && s[i] != ';') i++;
        const char *ext = s + start;
        size_t len = i - start;
        static const char key[] = "chunk-signature=";
        if (len >= sizeof key - 1 && !memcmp(ext, key, sizeof key - 1)) {
            if (have_signature) return K_EINVAL;
            have_signature = true;
            if (d->signed_chunks &&
                !lower_hex64(ext + sizeof key - 1, len - (sizeof key - 1), d->chunk_signature))
                return K_EINVAL;
        }
        /* Other extensions carry nothing kura needs. */
    }
    if (d->signed_chunks && !have_signature) return K_ESIGNATURE;

    if (d->signed_chunks) SHA256_Init(&d->sha);
    if (size == 0) {
        kerr e = finish_chunk_signature(d);
        if (e != K_OK) return e;
        d->state = ST_TRAILER_LINE;
    } else {
        d->remaining = size;
        d->state = ST_DATA;
    }
    return K_OK;
}

static void ascii_lower(char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] >= 'A' && s[i] <= 'Z') s[i] = (char)(s[i] + 32);
}

/* One trailer line (line ending removed). An empty line ends the body. */
static kerr parse_trailer_line(awschunked *d, const char *s, size_t n) {
    if (n == 0) {
        if (d->trailer_signed) {
            kerr e = verify_trailer_signature(d);
            if (e != K_OK) return e;
        }
        d->state = ST_DONE;
        return K_OK;
    }
    if (!d->trailers_allowed || d->saw_trailer_signature) return K_EINVAL;
    const char *colon = memchr(s, ':', n);
    if (!colon || colon == s) return K_EINVAL;
    size_t name_len = (size_t)(colon - s);
    for (size_t i = 0; i < name_len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c >= 0x7f) return K_EINVAL;
    }
    const char *value = colon + 1;
    size_t value_len = n - name_len - 1;
    static const char sig_name[] = "x-amz-trailer-signature";
    if (name_len == sizeof sig_name - 1 && !strncasecmp(s, sig_name, name_len)) {
        size_t vl = value_len;
        const char *v = value;
        while (vl && (*v == ' ' || *v == '\t')) v++, vl--;
        while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t')) vl--;
        if (d->trailer_signed && !lower_hex64(v, vl, d->trailer_signature)) return K_EINVAL;
        d->saw_trailer_signature = true;
        return K_OK;
    }

    if (d->ntrailers == MAX_TRAILERS || d->trailer_text_len + n + 1 > MAX_TRAILER_TEXT)
        return K_EINVAL;
    if (!d->trailers) {
        d->trailers = arena_alloc(d->a, MAX_TRAILERS * sizeof *d->trailers);
        d->trailer_text = arena_alloc(d->a, MAX_TRAILER_TEXT);
    }
    /* The trailer signature covers each line exactly as received. */
    memcpy(d->trailer_text + d->trailer_text_len, s, n);
    d->trailer_text[d->trailer_text_len + n] = '\n';
    d->trailer_text_len += n + 1;

    char *name = arena_strndup(d->a, s, name_len);
    ascii_lower(name, name_len);
    size_t vl = value_len;
    while (vl && (*value == ' ' || *value == '\t')) value++, vl--;
    while (vl && (value[vl - 1] == ' ' || value[vl - 1] == '\t')) vl--;
    d->trailers[d->ntrailers].name = name;
    d->trailers[d->ntrailers].value = arena_strndup(d->a, value, vl);
    d->ntrailers++;
    return K_OK;
}

/* Collects bytes of a CRLF-terminated line. Returns 1 when a line is
 * complete (in d->line, d->line_len, without the terminator), 0 when more
 * input is needed, -1 on framing error. Chunk-size lines need "\r\n";
 * trailer lines may end in a bare "\n" (some SDKs send that). */
static int line_take(awschunked *d, const char **p, const char *end, bool lf_ok) {
    while (*p < end) {
        char c = *(*p)++;
        if (c == '\n') {
            if (d->line_len && d->line[d->line_len - 1] == '\r')
                d->line_len--;
            else if (!lf_ok)
                return -1;
            return 1;
        }
        if (d->line_len && d->line[d->line_len - 1] == '\r') return -1; /* bare CR */
        if (d->line_len == sizeof d->line) return -1;
        d->line[d->line_len++] = c;
    }
    return 0;
}

kerr awschunked_feed(awschunked *d, const void *data, size_t n, awschunked_sink sink, void *ctx) {
    const char *p = data, *end = p + n;
    while (p < end) {
        switch (d->state) {
        case ST_SIZE_LINE:
        case ST_TRAILER_LINE: {
            bool trailer = d->state == ST_TRAILER_LINE;
            int r = line_take(d, &p, end, trailer);
            if (r < 0) return fail(d, K_EINVAL);
            if (r == 0) return K_OK;
            size_t len = d->line_len;
            d->line_len = 0;
            kerr e =
                trailer ? parse_trailer_line(d, d->line, len) : parse_size_line(d, d->line, len);
            if (e != K_OK) return fail(d, e);
            break;
        }
        case ST_DATA: {
            size_t take = (size_t)(end - p);
            if (take > d->remaining) take = (size_t)d->remaining;
            if (d->signed_chunks) SHA256_Update(&d->sha, p, take);
            kerr e = sink ? sink(ctx, p, take) : K_OK;
            if (e != K_OK) return fail(d, e);
            p += take;
            d->remaining -= take;
            d->decoded += take;
            if (d->remaining == 0) {
                /* Verified before the framing so that tampering reports as
                 * a signature error, not malformed input. */
                e = finish_chunk_signature(d);
                if (e != K_OK) return fail(d, e);
                d->state = ST_DATA_CR;
            }
            break;
        }
        case ST_DATA_CR:
            if (*p++ != '\r') return fail(d, K_EINVAL);
            d->state = ST_DATA_LF;
            break;
        case ST_DATA_LF:
            if (*p++ != '\n') return fail(d, K_EINVAL);
            d->state = ST_SIZE_LINE;
            break;
        case ST_DONE:
            return fail(d, K_EINVAL); /* bytes after the end of the body */
        case ST_FAILED:
            return d->error;
        }
    }
    return d->state == ST_FAILED ? d->error : K_OK;
}

kerr awschunked_finish(awschunked *d) {
    if (d->state == ST_DONE) return K_OK;
    if (d->state == ST_FAILED) return d->error;
    return fail(d, K_EINCOMPLETEBODY);
}

const http_header *awschunked_trailers(const awschunked *d, size_t *n) {
    *n = d->ntrailers;
    return d->trailers;
}

uint64_t awschunked_decoded_bytes(const awschunked *d) {
    return d->decoded;
}
