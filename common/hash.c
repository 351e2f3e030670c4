/* SPDX-License-Identifier: Apache-2.0 */
#include "common/hash.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <isa-l/crc.h>
#include <openssl/evp.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define KURA_HAVE_CLMUL 1
#include <immintrin.h>
#endif

/* ---------------------------------------------------------------------------
 * OpenSSL digests
 */

static EVP_MD *md_md5, *md_sha1, *md_sha256;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void md_fail(const char *what) {
    fprintf(stderr, "kura: OpenSSL cannot provide %s\n", what);
    abort();
}

static void md_init(void) {
    md_md5 = EVP_MD_fetch(NULL, "MD5", NULL);
    md_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
    md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!md_md5) md_fail("MD5");
    if (!md_sha1) md_fail("SHA1");
    if (!md_sha256) md_fail("SHA256");
}

static const EVP_MD *md_get(khash_alg alg) {
    pthread_once(&md_once, md_init);
    switch (alg) {
    case KH_MD5:
        return md_md5;
    case KH_SHA1:
        return md_sha1;
    case KH_SHA256:
        return md_sha256;
    }
    abort();
}

struct khash {
    EVP_MD_CTX *ctx;
    const EVP_MD *md;
};

static EVP_MD_CTX *mdctx_new(void) {
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c) {
        fputs("kura: out of memory\n", stderr);
        abort();
    }
    return c;
}

static void digest_init(EVP_MD_CTX *ctx, const EVP_MD *md) {
    if (!EVP_DigestInit_ex2(ctx, md, NULL)) md_fail("digest init");
}

khash *khash_new(khash_alg alg) {
    khash *h = malloc(sizeof(*h));
    if (!h) {
        fputs("kura: out of memory\n", stderr);
        abort();
    }
    h->md = md_get(alg);
    h->ctx = mdctx_new();
    digest_init(h->ctx, h->md);
    return h;
}

void khash_update(khash *h, const void *p, size_t n) {
    if (n) EVP_DigestUpdate(h->ctx, p, n);
}

size_t khash_final(khash *h, uint8_t out[32]) {
    unsigned int len = 0;
    EVP_DigestFinal_ex(h->ctx, out, &len);
    return len;
}

void khash_reset(khash *h) {
    digest_init(h->ctx, h->md);
}

void khash_free(khash *h) {
    if (!h) return;
    EVP_MD_CTX_free(h->ctx);
    free(h);
}

/* One EVP_MD_CTX per thread for the one-shot functions, so a SigV4 check
 * (several HMACs and a SHA-256) allocates nothing after the first call. */
static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static _Thread_local EVP_MD_CTX *tls_ctx;

static void tls_destroy(void *p) {
    EVP_MD_CTX_free(p);
}

static void tls_init(void) {
    if (pthread_key_create(&tls_key, tls_destroy) != 0) abort();
}

static EVP_MD_CTX *thread_ctx(void) {
    if (!tls_ctx) {
        pthread_once(&tls_once, tls_init);
        tls_ctx = mdctx_new();
        pthread_setspecific(tls_key, tls_ctx); /* frees it at thread exit */
    }
    return tls_ctx;
}

static unsigned oneshot(const EVP_MD *md, const void *p, size_t n, uint8_t *out) {
    EVP_MD_CTX *ctx = thread_ctx();
    unsigned len = 0;
    digest_init(ctx, md);
    if (n) EVP_DigestUpdate(ctx, p, n);
    EVP_DigestFinal_ex(ctx, out, &len);
    return len;
}

void md5_digest(const void *p, size_t n, uint8_t out[16]) {
    oneshot(md_get(KH_MD5), p, n, out);
}

void sha256_digest(const void *p, size_t n, uint8_t out[32]) {
    oneshot(md_get(KH_SHA256), p, n, out);
}

void sha256_hex(const void *p, size_t n, char out[65]) {
    uint8_t d[32];
    sha256_digest(p, n, d);
    hex_encode(d, 32, out);
}

/* HMAC (RFC 2104) directly on the cached EVP_MD and the per-thread context:
 * OpenSSL's HMAC()/EVP_Q_mac fetch the MAC and digest on every call, which
 * costs several times the hashing itself for SigV4's short messages. Both
 * supported digests have a 64-byte block. */
#define HMAC_BLOCK 64

static void hmac(const EVP_MD *md, const void *key, size_t klen, const void *msg, size_t mlen,
                 uint8_t *out) {
    EVP_MD_CTX *ctx = thread_ctx();
    uint8_t k[HMAC_BLOCK] = {0}, pad[HMAC_BLOCK], inner[EVP_MAX_MD_SIZE];
    unsigned len = 0;

    if (klen > HMAC_BLOCK) {
        oneshot(md, key, klen, k);
    } else if (klen) {
        memcpy(k, key, klen);
    }
    for (int i = 0; i < HMAC_BLOCK; i++) pad[i] = k[i] ^ 0x36;
    digest_init(ctx, md);
    EVP_DigestUpdate(ctx, pad, HMAC_BLOCK);
    if (mlen) EVP_DigestUpdate(ctx, msg, mlen);
    EVP_DigestFinal_ex(ctx, inner, &len);

    for (int i = 0; i < HMAC_BLOCK; i++) pad[i] = k[i] ^ 0x5c;
    digest_init(ctx, md);
    EVP_DigestUpdate(ctx, pad, HMAC_BLOCK);
    EVP_DigestUpdate(ctx, inner, len);
    EVP_DigestFinal_ex(ctx, out, &len);
}

void hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen, uint8_t out[32]) {
    hmac(md_get(KH_SHA256), key, klen, msg, mlen, out);
}

void hmac_sha1(const void *key, size_t klen, const void *msg, size_t mlen, uint8_t out[20]) {
    hmac(md_get(KH_SHA1), key, klen, msg, mlen, out);
}

/* ---------------------------------------------------------------------------
 * CRC32 and CRC32C (ISA-L)
 */

uint32_t crc32_update(uint32_t crc, const void *p, size_t n) {
    if (!n) return crc;
    return crc32_gzip_refl(crc, p, n);
}

uint32_t crc32c_update(uint32_t crc, const void *p, size_t n) {
    unsigned char *b = (unsigned char *)(uintptr_t)p; /* ISA-L lacks const here */
    unsigned state = ~crc;
    while (n) {
        size_t chunk = n > (1u << 30) ? (1u << 30) : n; /* ISA-L takes an int length */
        state = crc32_iscsi(b, (int)chunk, state);
        b += chunk;
        n -= chunk;
    }
    return ~state;
}

/* ---------------------------------------------------------------------------
 * CRC-64/NVME: width 64, poly 0xAD93D23594C93659, reflected, init and xorout
 * all ones. Slice-by-16 tables, plus a PCLMULQDQ folding path on x86-64.
 *
 * Internally "state" is the CRC register before the final inversion; the
 * public functions take and return finished values (state = ~crc).
 */

#define CRC64NVME_POLY 0xAD93D23594C93659ull      /* normal form, x^64 implicit */
#define CRC64NVME_POLY_REFL 0x9A6C9329AC4BC9B5ull /* bit-reversed */

static uint64_t crc64_tab[16][256];
static pthread_once_t crc64_once = PTHREAD_ONCE_INIT;
static uint64_t (*crc64_impl)(uint64_t state, const uint8_t *p, size_t n);

static uint64_t crc64_state_table(uint64_t state, const uint8_t *p, size_t n) {
    while (n && ((uintptr_t)p & 7)) {
        state = crc64_tab[0][(state ^ *p++) & 0xff] ^ (state >> 8);
        n--;
    }
    while (n >= 16) {
        uint64_t a, b;
        memcpy(&a, p, 8);
        memcpy(&b, p + 8, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        a = __builtin_bswap64(a);
        b = __builtin_bswap64(b);
#endif
        a ^= state;
        state = crc64_tab[15][a & 0xff] ^ crc64_tab[14][(a >> 8) & 0xff] ^
                crc64_tab[13][(a >> 16) & 0xff] ^ crc64_tab[12][(a >> 24) & 0xff] ^
                crc64_tab[11][(a >> 32) & 0xff] ^ crc64_tab[10][(a >> 40) & 0xff] ^
                crc64_tab[9][(a >> 48) & 0xff] ^ crc64_tab[8][a >> 56] ^ crc64_tab[7][b & 0xff] ^
                crc64_tab[6][(b >> 8) & 0xff] ^ crc64_tab[5][(b >> 16) & 0xff] ^
                crc64_tab[4][(b >> 24) & 0xff] ^ crc64_tab[3][(b >> 32) & 0xff] ^
                crc64_tab[2][(b >> 40) & 0xff] ^ crc64_tab[1][(b >> 48) & 0xff] ^
                crc64_tab[0][b >> 56];
        p += 16;
        n -= 16;
    }
    while (n--) state = crc64_tab[0][(state ^ *p++) & 0xff] ^ (state >> 8);
    return state;
}

#ifdef KURA_HAVE_CLMUL
/* Folding constants. A 128-bit lane loaded little-endian holds the
 * polynomial L(x)*x^64 + H(x) (L = low quadword, H = high quadword, both
 * bit-reflected). Moving it D bits further along the message multiplies it by
 * x^D; with a reflected carry-less multiply, which yields A*B*x, that is
 *   L * (x^(D+63) mod P)  xor  H * (x^(D-1) mod P).
 * fold_k[j] holds the pair for D = 128*(j+1), j = 0..7. */
static __m128i fold_k[8];

static uint64_t xn_mod_p(unsigned n) { /* x^n mod P, normal form */
    uint64_t r = 1;
    while (n--) r = (r << 1) ^ ((r >> 63) ? CRC64NVME_POLY : 0);
    return r;
}

static uint64_t rev64(uint64_t v) {
    uint64_t r = 0;
    for (int i = 0; i < 64; i++, v >>= 1) r = (r << 1) | (v & 1);
    return r;
}

__attribute__((target("pclmul,sse2"))) static void clmul_init(void) {
    for (unsigned j = 0; j < 8; j++) {
        unsigned d = 128 * (j + 1);
        fold_k[j] =
            _mm_set_epi64x((long long)rev64(xn_mod_p(d - 1)), (long long)rev64(xn_mod_p(d + 63)));
    }
}

__attribute__((target("pclmul,sse2"))) static inline __m128i fold(__m128i x, __m128i k) {
    return _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11));
}

__attribute__((target("pclmul,sse2"))) static inline __m128i load16(const uint8_t *p) {
    return _mm_loadu_si128((const __m128i *)(const void *)p);
}

__attribute__((target("pclmul,sse2"))) static uint64_t
crc64_state_clmul(uint64_t state, const uint8_t *p, size_t n) {
    if (n < 256) return crc64_state_table(state, p, n);

    __m128i x0 = load16(p + 0 * 16), x1 = load16(p + 1 * 16);
    __m128i x2 = load16(p + 2 * 16), x3 = load16(p + 3 * 16);
    __m128i x4 = load16(p + 4 * 16), x5 = load16(p + 5 * 16);
    __m128i x6 = load16(p + 6 * 16), x7 = load16(p + 7 * 16);
    /* The register enters as if xored into the first 8 message bytes. */
    x0 = _mm_xor_si128(x0, _mm_cvtsi64_si128((long long)state));
    p += 128;
    n -= 128;

    const __m128i k1024 = fold_k[7];
    while (n >= 128) {
        x0 = _mm_xor_si128(fold(x0, k1024), load16(p + 0 * 16));
        x1 = _mm_xor_si128(fold(x1, k1024), load16(p + 1 * 16));
        x2 = _mm_xor_si128(fold(x2, k1024), load16(p + 2 * 16));
        x3 = _mm_xor_si128(fold(x3, k1024), load16(p + 3 * 16));
        x4 = _mm_xor_si128(fold(x4, k1024), load16(p + 4 * 16));
        x5 = _mm_xor_si128(fold(x5, k1024), load16(p + 5 * 16));
        x6 = _mm_xor_si128(fold(x6, k1024), load16(p + 6 * 16));
        x7 = _mm_xor_si128(fold(x7, k1024), load16(p + 7 * 16));
        p += 128;
        n -= 128;
    }

    /* Eight lanes into one: lane i is 7-i lanes before the last. */
    __m128i acc = _mm_xor_si128(x7, fold(x6, fold_k[0]));
    acc = _mm_xor_si128(acc, fold(x5, fold_k[1]));
    acc = _mm_xor_si128(acc, fold(x4, fold_k[2]));
    acc = _mm_xor_si128(acc, fold(x3, fold_k[3]));
    acc = _mm_xor_si128(acc, fold(x2, fold_k[4]));
    acc = _mm_xor_si128(acc, fold(x1, fold_k[5]));
    acc = _mm_xor_si128(acc, fold(x0, fold_k[6]));

    while (n >= 16) {
        acc = _mm_xor_si128(fold(acc, fold_k[0]), load16(p));
        p += 16;
        n -= 16;
    }

    /* acc is congruent to everything so far; its CRC from a zero register,
     * continued over the tail, is the result. */
    uint8_t tmp[16];
    _mm_storeu_si128((__m128i *)(void *)tmp, acc);
    state = crc64_state_table(0, tmp, 16);
    return crc64_state_table(state, p, n);
}
#endif

static void crc64_init(void) {
    for (unsigned b = 0; b < 256; b++) {
        uint64_t c = b;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ ((c & 1) ? CRC64NVME_POLY_REFL : 0);
        crc64_tab[0][b] = c;
    }
    for (unsigned b = 0; b < 256; b++) {
        for (int t = 1; t < 16; t++) {
            uint64_t c = crc64_tab[t - 1][b];
            crc64_tab[t][b] = (c >> 8) ^ crc64_tab[0][c & 0xff];
        }
    }
    crc64_impl = crc64_state_table;
#ifdef KURA_HAVE_CLMUL
    __builtin_cpu_init();
    if (__builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse2")) {
        clmul_init();
        crc64_impl = crc64_state_clmul;
    }
#endif
}

uint64_t crc64nvme_update(uint64_t crc, const void *p, size_t n) {
    if (!n) return crc;
    pthread_once(&crc64_once, crc64_init);
    return ~crc64_impl(~crc, p, n);
}

uint64_t crc64nvme_update_table(uint64_t crc, const void *p, size_t n) {
    if (!n) return crc;
    pthread_once(&crc64_once, crc64_init);
    return ~crc64_state_table(~crc, p, n);
}

bool crc64nvme_have_clmul(void) {
    pthread_once(&crc64_once, crc64_init);
    return crc64_impl != crc64_state_table;
}

/* ---------------------------------------------------------------------------
 * CRC combination (zlib 1.2.12's method: multiply by x^(8*len_b) mod P using
 * a table of x^(2^k) mod P; equivalent to the GF(2) matrix-squaring
 * crc32_combine but O(width) per step). Values are reflected, width w bits.
 */

typedef struct {
    uint64_t poly;    /* reflected */
    uint64_t top;     /* 1 << (w-1): the reflected x^0 */
    uint64_t x2n[72]; /* x^(2^k) mod P, k = 0..71 (8*len_b < 2^67) */
} crc_field;

static crc_field f_crc32 = {0xEDB88320u, 1ull << 31, {0}};
static crc_field f_crc32c = {0x82F63B78u, 1ull << 31, {0}};
static crc_field f_crc64 = {CRC64NVME_POLY_REFL, 1ull << 63, {0}};
static pthread_once_t combine_once = PTHREAD_ONCE_INIT;

/* a * b mod P, both reflected. */
static uint64_t multmodp(const crc_field *f, uint64_t a, uint64_t b) {
    uint64_t m = f->top, p = 0;
    for (;;) {
        if (a & m) {
            p ^= b;
            if ((a & (m - 1)) == 0) break;
        }
        m >>= 1;
        b = (b & 1) ? (b >> 1) ^ f->poly : b >> 1;
    }
    return p;
}

static void field_init(crc_field *f) {
    uint64_t p = f->top >> 1; /* x^1 */
    f->x2n[0] = p;
    for (int k = 1; k < 72; k++) f->x2n[k] = p = multmodp(f, p, p);
}

static void combine_init(void) {
    field_init(&f_crc32);
    field_init(&f_crc32c);
    field_init(&f_crc64);
}

static uint64_t combine(crc_field *f, uint64_t a, uint64_t b, uint64_t len_b) {
    pthread_once(&combine_once, combine_init);
    /* x^(8 * len_b): bit i of len_b contributes x^(2^(i+3)). */
    uint64_t x = f->top;
    for (unsigned k = 3; len_b; len_b >>= 1, k++) {
        if (len_b & 1) x = multmodp(f, f->x2n[k], x);
    }
    return multmodp(f, x, a) ^ b;
}

uint32_t crc32_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b) {
    return (uint32_t)combine(&f_crc32, crc_a, crc_b, len_b);
}

uint32_t crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b) {
    return (uint32_t)combine(&f_crc32c, crc_a, crc_b, len_b);
}

uint64_t crc64nvme_combine(uint64_t crc_a, uint64_t crc_b, uint64_t len_b) {
    return combine(&f_crc64, crc_a, crc_b, len_b);
}

/* ---------------------------------------------------------------------------
 * Hex and base64
 */

static const char hexdig[] = "0123456789abcdef";

void hex_encode(const uint8_t *p, size_t n, char *out) {
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexdig[p[i] >> 4];
        out[2 * i + 1] = hexdig[p[i] & 15];
    }
    out[2 * n] = 0;
}

static int hexval(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int hex_decode(const char *s, size_t n, uint8_t *out, size_t outcap) {
    if (n % 2 || n / 2 > outcap || n / 2 > INT_MAX) return -1;
    for (size_t i = 0; i < n; i += 2) {
        int hi = hexval((unsigned char)s[i]), lo = hexval((unsigned char)s[i + 1]);
        if (hi < 0 || lo < 0) return -1;
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    return (int)(n / 2);
}

static const char b64dig[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t base64_encode(const uint8_t *p, size_t n, char *out) {
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = b64dig[v >> 18];
        out[o++] = b64dig[(v >> 12) & 63];
        out[o++] = b64dig[(v >> 6) & 63];
        out[o++] = b64dig[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        out[o++] = b64dig[v >> 18];
        out[o++] = b64dig[(v >> 12) & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        out[o++] = b64dig[v >> 18];
        out[o++] = b64dig[(v >> 12) & 63];
        out[o++] = b64dig[(v >> 6) & 63];
        out[o++] = '=';
    }
    out[o] = 0;
    return o;
}

static int b64val(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

int base64_decode(const char *s, size_t n, uint8_t *out, size_t outcap) {
    if (n % 4) return -1;
    size_t pad = 0;
    if (n && s[n - 1] == '=') pad = (n >= 2 && s[n - 2] == '=') ? 2 : 1;
    size_t outlen = n / 4 * 3 - pad;
    if (outlen > outcap || outlen > INT_MAX) return -1;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        bool last = i + 4 == n;
        int a = b64val((unsigned char)s[i]), b = b64val((unsigned char)s[i + 1]);
        int c = (last && pad == 2) ? 0 : b64val((unsigned char)s[i + 2]);
        int d = (last && pad >= 1) ? 0 : b64val((unsigned char)s[i + 3]);
        if (a < 0 || b < 0 || c < 0 || d < 0) return -1; /* includes '=' mid-string */
        uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
        out[o++] = (uint8_t)(v >> 16);
        if (last && pad == 2) {
            if (v & 0xffff) return -1; /* non-canonical: unused bits must be zero */
            break;
        }
        out[o++] = (uint8_t)(v >> 8);
        if (last && pad == 1) {
            if (v & 0xff) return -1;
            break;
        }
        out[o++] = (uint8_t)v;
    }
    return (int)o;
}

/* ---------------------------------------------------------------------------
 * Object checksums (the algorithms of S3's flexible checksums)
 */

static const struct {
    const char *name;
    size_t len;
} ck_info[CK__COUNT] = {
    [CK_NONE] = {"", 0},         [CK_CRC32] = {"CRC32", 4},
    [CK_CRC32C] = {"CRC32C", 4}, [CK_CRC64NVME] = {"CRC64NVME", 8},
    [CK_SHA1] = {"SHA1", 20},    [CK_SHA256] = {"SHA256", 32},
};

cksum_alg cksum_alg_from_name(const char *name, size_t n) {
    for (int a = CK_CRC32; a < CK__COUNT; a++) {
        const char *k = ck_info[a].name;
        if (strlen(k) != n) continue;
        size_t i = 0;
        while (i < n) {
            unsigned char c = (unsigned char)name[i];
            if (c >= 'a' && c <= 'z') c = (unsigned char)(c - 32);
            if (c != (unsigned char)k[i]) break;
            i++;
        }
        if (i == n) return (cksum_alg)a;
    }
    return CK_NONE;
}

const char *cksum_alg_name(cksum_alg alg) {
    return (unsigned)alg < CK__COUNT ? ck_info[alg].name : "";
}

size_t cksum_len(cksum_alg alg) {
    return (unsigned)alg < CK__COUNT ? ck_info[alg].len : 0;
}

void cksum_init(cksum *c, cksum_alg alg) {
    c->alg = (unsigned)alg < CK__COUNT ? alg : CK_NONE;
    c->crc = 0;
    c->h = NULL;
    if (c->alg == CK_SHA1) c->h = khash_new(KH_SHA1);
    if (c->alg == CK_SHA256) c->h = khash_new(KH_SHA256);
}

void cksum_update(cksum *c, const void *p, size_t n) {
    switch (c->alg) {
    case CK_CRC32:
        c->crc = crc32_update((uint32_t)c->crc, p, n);
        break;
    case CK_CRC32C:
        c->crc = crc32c_update((uint32_t)c->crc, p, n);
        break;
    case CK_CRC64NVME:
        c->crc = crc64nvme_update(c->crc, p, n);
        break;
    case CK_SHA1:
    case CK_SHA256:
        khash_update(c->h, p, n);
        break;
    default:
        break;
    }
}

size_t cksum_final(cksum *c, uint8_t out[32]) {
    size_t len = cksum_len(c->alg);
    switch (c->alg) {
    case CK_CRC32:
    case CK_CRC32C:
    case CK_CRC64NVME:
        for (size_t i = 0; i < len; i++) out[i] = (uint8_t)(c->crc >> (8 * (len - 1 - i)));
        return len;
    case CK_SHA1:
    case CK_SHA256:
        return khash_final(c->h, out);
    default:
        return 0;
    }
}

void cksum_free(cksum *c) {
    khash_free(c->h);
    c->h = NULL;
}
