/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"

/* Deterministic PRNG so failures reproduce. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void) {
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}
static void rnd_fill(uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(rnd() >> 24);
}

static void hexof(const uint8_t *p, size_t n, char *out) {
    hex_encode(p, n, out);
}

/* ---- digests ---------------------------------------------------------- */

static void test_md5(void **st) {
    (void)st;
    uint8_t d[16];
    char hex[65];
    md5_digest("abc", 3, d);
    hexof(d, 16, hex);
    assert_string_equal(hex, "900150983cd24fb0d6963f7d28e17f72"); /* RFC 1321 */
    md5_digest("", 0, d);
    hexof(d, 16, hex);
    assert_string_equal(hex, "d41d8cd98f00b204e9800998ecf8427e");
    md5_digest(NULL, 0, d);
    hexof(d, 16, hex);
    assert_string_equal(hex, "d41d8cd98f00b204e9800998ecf8427e");
}

static void test_sha256(void **st) {
    (void)st;
    uint8_t d[32];
    char hex[65];
    sha256_digest("abc", 3, d);
    hexof(d, 32, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m2 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256_hex(m2, strlen(m2), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_int_equal(strlen(hex), 64);
}

static void test_khash_stream(void **st) {
    (void)st;
    uint8_t d[32];
    char hex[65];

    /* MD5 of a million 'a's, fed in uneven pieces. */
    khash *h = khash_new(KH_MD5);
    char a[1000];
    memset(a, 'a', sizeof a);
    size_t left = 1000000;
    size_t piece = 1;
    while (left) {
        size_t n = piece < left ? piece : left;
        if (n > sizeof a) n = sizeof a;
        khash_update(h, a, n);
        left -= n;
        piece = piece * 3 + 1;
    }
    assert_int_equal(khash_final(h, d), 16);
    hexof(d, 16, hex);
    assert_string_equal(hex, "7707d6ae4e027c70eea2a935c2296f21");

    /* Reset and reuse on "abc" split across updates. */
    khash_reset(h);
    khash_update(h, "a", 1);
    khash_update(h, "", 0);
    khash_update(h, "bc", 2);
    assert_int_equal(khash_final(h, d), 16);
    hexof(d, 16, hex);
    assert_string_equal(hex, "900150983cd24fb0d6963f7d28e17f72");
    khash_free(h);

    h = khash_new(KH_SHA1);
    khash_update(h, "ab", 2);
    khash_update(h, "c", 1);
    assert_int_equal(khash_final(h, d), 20);
    hexof(d, 20, hex);
    assert_string_equal(hex, "a9993e364706816aba3e25717850c26c9cd0d89d"); /* FIPS 180 */
    khash_free(h);

    h = khash_new(KH_SHA256);
    khash_update(h, "abc", 3);
    assert_int_equal(khash_final(h, d), 32);
    hexof(d, 32, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    khash_reset(h);
    assert_int_equal(khash_final(h, d), 32);
    hexof(d, 32, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    khash_free(h);
    khash_free(NULL);
}

static void test_hmac_sha256(void **st) {
    (void)st;
    uint8_t d[32];
    char hex[65];
    /* RFC 4231 test case 1 */
    uint8_t k1[20];
    memset(k1, 0x0b, sizeof k1);
    hmac_sha256(k1, sizeof k1, "Hi There", 8, d);
    hexof(d, 32, hex);
    assert_string_equal(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    /* RFC 4231 test case 2 */
    const char *m2 = "what do ya want for nothing?";
    hmac_sha256("Jefe", 4, m2, strlen(m2), d);
    hexof(d, 32, hex);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* RFC 4231 test case 6: key longer than the block, hashed first */
    uint8_t k6[131];
    memset(k6, 0xaa, sizeof k6);
    const char *m6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    hmac_sha256(k6, sizeof k6, m6, strlen(m6), d);
    hexof(d, 32, hex);
    assert_string_equal(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static void test_hmac_sha1(void **st) {
    (void)st;
    uint8_t d[20];
    char hex[41];
    /* RFC 2202 test cases 1, 2 and 6 */
    uint8_t k1[20];
    memset(k1, 0x0b, sizeof k1);
    hmac_sha1(k1, sizeof k1, "Hi There", 8, d);
    hexof(d, 20, hex);
    assert_string_equal(hex, "b617318655057264e28bc0b6fb378c8ef146be00");
    const char *m2 = "what do ya want for nothing?";
    hmac_sha1("Jefe", 4, m2, strlen(m2), d);
    hexof(d, 20, hex);
    assert_string_equal(hex, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    uint8_t k6[80];
    memset(k6, 0xaa, sizeof k6);
    const char *m6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    hmac_sha1(k6, sizeof k6, m6, strlen(m6), d);
    hexof(d, 20, hex);
    assert_string_equal(hex, "aa4ae5e15272d00e95705637ce8a3b55ed402112");
}

/* The one-shot functions share a per-thread context: hammer them from
 * several threads and check every result. */
static void *hmac_thread(void *arg) {
    long bad = 0;
    for (int i = 0; i < 2000; i++) {
        uint8_t d[32], e[32];
        char hex[65];
        hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, d);
        hexof(d, 32, hex);
        if (strcmp(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")) bad++;
        sha256_digest("abc", 3, e);
        hexof(e, 32, hex);
        if (strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")) bad++;
    }
    return (void *)bad;
}

static void test_threads(void **st) {
    (void)st;
    pthread_t t[4];
    for (int i = 0; i < 4; i++) assert_int_equal(pthread_create(&t[i], NULL, hmac_thread, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        assert_int_equal((long)r, 0);
    }
}

/* ---- CRCs ------------------------------------------------------------- */

static uint64_t ref_crc64nvme(uint64_t crc, const uint8_t *p, size_t n) {
    uint64_t c = ~crc;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ ((c & 1) ? 0x9A6C9329AC4BC9B5ull : 0);
    }
    return ~c;
}

static uint32_t ref_crc32(uint32_t poly, uint32_t crc, const uint8_t *p, size_t n) {
    uint32_t c = ~crc;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ ((c & 1) ? poly : 0);
    }
    return ~c;
}

static void test_crc_check_values(void **st) {
    (void)st;
    const char *c = "123456789";
    assert_int_equal(crc32_update(0, c, 9), 0xCBF43926u);
    assert_int_equal(crc32c_update(0, c, 9), 0xE3069283u);
    assert_true(crc64nvme_update(0, c, 9) == 0xAE8B14860A799888ull);
    assert_true(crc64nvme_update_table(0, c, 9) == 0xAE8B14860A799888ull);
    assert_true(ref_crc64nvme(0, (const uint8_t *)c, 9) == 0xAE8B14860A799888ull);

    /* chaining from a finished value */
    assert_int_equal(crc32_update(crc32_update(0, "1234", 4), "56789", 5), 0xCBF43926u);
    assert_int_equal(crc32c_update(crc32c_update(0, "1234", 4), "56789", 5), 0xE3069283u);
    assert_true(crc64nvme_update(crc64nvme_update(0, "1234", 4), "56789", 5) ==
                0xAE8B14860A799888ull);

    /* empty input leaves the value alone */
    assert_int_equal(crc32_update(0, "", 0), 0);
    assert_int_equal(crc32c_update(0, "", 0), 0);
    assert_true(crc64nvme_update(0, "", 0) == 0);
    assert_int_equal(crc32_update(0xCBF43926u, NULL, 0), 0xCBF43926u);
    assert_int_equal(crc32c_update(0xE3069283u, NULL, 0), 0xE3069283u);
    assert_true(crc64nvme_update(0xAE8B14860A799888ull, NULL, 0) == 0xAE8B14860A799888ull);

    assert_true(crc64nvme_update(0, "hello world", 11) == 0x8D29D5C3F6EA8EBEull);
}

static void test_crc_vs_reference(void **st) {
    (void)st;
    size_t cap = 70000;
    uint8_t *buf = malloc(cap + 16);
    rnd_fill(buf, cap + 16);
    for (int iter = 0; iter < 300; iter++) {
        size_t n = iter < 40 ? (size_t)iter : rnd() % (iter < 200 ? 600 : cap);
        size_t off = rnd() % 16;
        uint32_t c32 = (uint32_t)rnd();
        uint64_t c64 = rnd();
        const uint8_t *p = buf + off;
        assert_int_equal(crc32_update(c32, p, n), ref_crc32(0xEDB88320u, c32, p, n));
        assert_int_equal(crc32c_update(c32, p, n), ref_crc32(0x82F63B78u, c32, p, n));
        uint64_t want = ref_crc64nvme(c64, p, n);
        assert_true(crc64nvme_update_table(c64, p, n) == want);
        assert_true(crc64nvme_update(c64, p, n) == want);
    }
    free(buf);
}

/* The dispatched crc64 (PCLMUL where available) against the table version
 * on random buffers, lengths, alignments and split points. */
static void test_crc64_clmul_vs_table(void **st) {
    (void)st;
    print_message("crc64nvme PCLMUL path: %s\n", crc64nvme_have_clmul() ? "yes" : "no");
    size_t cap = 1 << 20;
    uint8_t *buf = malloc(cap + 64);
    rnd_fill(buf, cap + 64);
    for (int iter = 0; iter < 3000; iter++) {
        size_t n;
        switch (iter % 4) {
        case 0:
            n = rnd() % 300;
            break;
        case 1:
            n = rnd() % 4096;
            break;
        case 2:
            n = 128 * (rnd() % 64) + rnd() % 3;
            break;
        default:
            n = rnd() % cap;
            break;
        }
        if (iter % 4 == 3 && iter > 200) n = rnd() % 70000; /* keep it quick */
        size_t off = rnd() % 64;
        uint64_t init = (iter & 1) ? rnd() : 0;
        const uint8_t *p = buf + off;
        uint64_t t = crc64nvme_update_table(init, p, n);
        assert_true(crc64nvme_update(init, p, n) == t);
        size_t cut = n ? rnd() % (n + 1) : 0;
        assert_true(crc64nvme_update(crc64nvme_update(init, p, cut), p + cut, n - cut) == t);
    }
    /* the whole megabyte, also against the bitwise reference */
    uint64_t t = crc64nvme_update_table(0, buf, cap);
    assert_true(crc64nvme_update(0, buf, cap) == t);
    assert_true(ref_crc64nvme(0, buf, cap) == t);
    free(buf);
}

static void test_crc_combine(void **st) {
    (void)st;
    size_t cap = 20000;
    uint8_t *buf = malloc(cap);
    rnd_fill(buf, cap);
    for (int iter = 0; iter < 500; iter++) {
        size_t n = iter < 20 ? (size_t)iter : rnd() % cap;
        size_t la = n ? rnd() % (n + 1) : 0;
        if (iter % 7 == 0) la = n; /* len_b == 0 */
        if (iter % 11 == 0) la = 0;
        size_t lb = n - la;
        const uint8_t *a = buf, *b = buf + la;

        uint32_t x = crc32_update(0, a, la), y = crc32_update(0, b, lb);
        assert_int_equal(crc32_combine(x, y, lb), crc32_update(0, buf, n));
        x = crc32c_update(0, a, la), y = crc32c_update(0, b, lb);
        assert_int_equal(crc32c_combine(x, y, lb), crc32c_update(0, buf, n));
        uint64_t u = crc64nvme_update(0, a, la), v = crc64nvme_update(0, b, lb);
        assert_true(crc64nvme_combine(u, v, lb) == crc64nvme_update(0, buf, n));
    }
    /* known value: "1234" + "56789" */
    assert_int_equal(crc32_combine(crc32_update(0, "1234", 4), crc32_update(0, "56789", 5), 5),
                     0xCBF43926u);
    assert_int_equal(crc32c_combine(crc32c_update(0, "1234", 4), crc32c_update(0, "56789", 5), 5),
                     0xE3069283u);
    assert_true(crc64nvme_combine(crc64nvme_update(0, "1234", 4), crc64nvme_update(0, "56789", 5),
                                  5) == 0xAE8B14860A799888ull);
    assert_int_equal(crc32_combine(0xCBF43926u, 0, 0), 0xCBF43926u);

    /* Huge lengths cannot be hashed here; check associativity instead:
     * (A.B).C == A.(B.C) with |B|, |C| up to 2^62. */
    for (int i = 0; i < 200; i++) {
        uint64_t lb = rnd() >> (2 + rnd() % 60), lc = rnd() >> (2 + rnd() % 60);
        uint64_t a = rnd(), b = rnd(), c = rnd();
        assert_true(crc64nvme_combine(crc64nvme_combine(a, b, lb), c, lc) ==
                    crc64nvme_combine(a, crc64nvme_combine(b, c, lc), lb + lc));
        uint32_t a3 = (uint32_t)a, b3 = (uint32_t)b, c3 = (uint32_t)c;
        assert_int_equal(crc32_combine(crc32_combine(a3, b3, lb), c3, lc),
                         crc32_combine(a3, crc32_combine(b3, c3, lc), lb + lc));
        assert_int_equal(crc32c_combine(crc32c_combine(a3, b3, lb), c3, lc),
                         crc32c_combine(a3, crc32c_combine(b3, c3, lc), lb + lc));
    }
    free(buf);
}

/* ---- encodings -------------------------------------------------------- */

static void test_hex(void **st) {
    (void)st;
    const uint8_t in[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
    char out[13];
    hex_encode(in, sizeof in, out);
    assert_string_equal(out, "00017f80abff");
    hex_encode(in, 0, out);
    assert_string_equal(out, "");

    uint8_t d[8];
    assert_int_equal(hex_decode("00017f80abff", 12, d, sizeof d), 6);
    assert_memory_equal(d, in, 6);
    assert_int_equal(hex_decode("00017F80ABFF", 12, d, sizeof d), 6);
    assert_memory_equal(d, in, 6);
    assert_int_equal(hex_decode("", 0, d, sizeof d), 0);
    assert_int_equal(hex_decode("abc", 3, d, sizeof d), -1);          /* odd */
    assert_int_equal(hex_decode("0g", 2, d, sizeof d), -1);           /* bad char */
    assert_int_equal(hex_decode(" 0", 2, d, sizeof d), -1);           /* space */
    assert_int_equal(hex_decode("000102030405060708", 18, d, 8), -1); /* too small */
    assert_int_equal(hex_decode("0001020304050607", 16, d, 8), 8);    /* exact fit */
    assert_int_equal(d[7], 7);
}

static void test_base64_rfc4648(void **st) {
    (void)st;
    static const char *v[][2] = {{"", ""},
                                 {"f", "Zg=="},
                                 {"fo", "Zm8="},
                                 {"foo", "Zm9v"},
                                 {"foob", "Zm9vYg=="},
                                 {"fooba", "Zm9vYmE="},
                                 {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char out[16];
        uint8_t d[16];
        size_t n = strlen(v[i][0]);
        assert_int_equal(base64_encode((const uint8_t *)v[i][0], n, out), strlen(v[i][1]));
        assert_string_equal(out, v[i][1]);
        assert_int_equal(base64_decode(v[i][1], strlen(v[i][1]), d, sizeof d), (int)n);
        assert_memory_equal(d, v[i][0], n);
    }
}

static void test_base64_strict(void **st) {
    (void)st;
    uint8_t d[16];
    const char *bad[] = {
        "Zg=",              /* wrong length */
        "Zg",               /* padding missing */
        "Z===",             /* too much padding */
        "====",             /* only padding */
        "Zm=v",             /* padding in the middle */
        "Zg==Zm9v",         /* data after padding */
        "Zm9*",             /* bad character */
        "Zm9 ",             /* space */
        "Zm9-",             /* URL-safe alphabet is not accepted */
        "Zm9_",     "Zh==", /* non-canonical: unused bits set */
        "Zm9=",             /* non-canonical */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int r = base64_decode(bad[i], strlen(bad[i]), d, sizeof d);
        if (r != -1) fail_msg("accepted \"%s\" (%d)", bad[i], r);
    }
    assert_int_equal(base64_decode("Zm9vYmFy", 8, d, 5), -1); /* out too small */
    assert_int_equal(base64_decode("Zm9vYmFy", 8, d, 6), 6);
    assert_int_equal(base64_decode("Zm9vYg==", 8, d, 4), 4);
    assert_memory_equal(d, "foob", 4);
    assert_int_equal(base64_decode("Zm9v\0", 5, d, sizeof d), -1);

    /* round trip of every byte value at every length up to 64 */
    uint8_t in[64];
    for (int i = 0; i < 64; i++) in[i] = (uint8_t)(i * 37 + 200);
    for (size_t n = 0; n <= 64; n++) {
        char enc[4 * ((64 + 2) / 3) + 1];
        uint8_t dec[64];
        size_t el = base64_encode(in, n, enc);
        assert_int_equal(el, 4 * ((n + 2) / 3));
        assert_int_equal(strlen(enc), el);
        assert_int_equal(base64_decode(enc, el, dec, sizeof dec), (int)n);
        assert_memory_equal(dec, in, n);
    }
}

/* ---- S3 checksums ----------------------------------------------------- */

static void b64_cksum(cksum_alg alg, const char *msg, size_t step, char *out) {
    cksum c;
    uint8_t raw[32];
    cksum_init(&c, alg);
    size_t n = strlen(msg);
    for (size_t i = 0; i < n; i += step) cksum_update(&c, msg + i, n - i < step ? n - i : step);
    size_t len = cksum_final(&c, raw);
    assert_int_equal(len, cksum_len(alg));
    base64_encode(raw, len, out);
    cksum_free(&c);
}

static void test_cksum(void **st) {
    (void)st;
    static const struct {
        cksum_alg alg;
        const char *b64;
    } v[] = {
        {CK_CRC32, "DUoRhQ=="},
        {CK_CRC32C, "yZRlqg=="},
        {CK_CRC64NVME, "jSnVw/bqjr4="},
        {CK_SHA1, "Kq5sNclPz7QV2+lfQIuc6R7oRu0="},
        {CK_SHA256, "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        for (size_t step = 1; step <= 11; step += 5) {
            char out[48];
            b64_cksum(v[i].alg, "hello world", step, out);
            assert_string_equal(out, v[i].b64);
        }
    }
    /* big-endian raw bytes of the check values */
    cksum c;
    uint8_t raw[32];
    cksum_init(&c, CK_CRC32);
    cksum_update(&c, "123456789", 9);
    assert_int_equal(cksum_final(&c, raw), 4);
    assert_memory_equal(raw, "\xCB\xF4\x39\x26", 4);
    cksum_free(&c);
    cksum_init(&c, CK_CRC64NVME);
    cksum_update(&c, "123456789", 9);
    assert_int_equal(cksum_final(&c, raw), 8);
    assert_memory_equal(raw, "\xAE\x8B\x14\x86\x0A\x79\x98\x88", 8);
    cksum_free(&c);
    /* empty CRC32 is four zero bytes */
    cksum_init(&c, CK_CRC32C);
    assert_int_equal(cksum_final(&c, raw), 4);
    assert_memory_equal(raw, "\0\0\0\0", 4);
    cksum_free(&c);
    cksum_init(&c, CK_NONE);
    cksum_update(&c, "x", 1);
    assert_int_equal(cksum_final(&c, raw), 0);
    cksum_free(&c);
}

static void test_cksum_names(void **st) {
    (void)st;
    assert_int_equal(cksum_alg_from_name("CRC32", 5), CK_CRC32);
    assert_int_equal(cksum_alg_from_name("crc32", 5), CK_CRC32);
    assert_int_equal(cksum_alg_from_name("crc32c", 6), CK_CRC32C);
    assert_int_equal(cksum_alg_from_name("Crc64Nvme", 9), CK_CRC64NVME);
    assert_int_equal(cksum_alg_from_name("sha1", 4), CK_SHA1);
    assert_int_equal(cksum_alg_from_name("SHA256", 6), CK_SHA256);
    assert_int_equal(cksum_alg_from_name("CRC32C", 5), CK_CRC32); /* length wins */
    assert_int_equal(cksum_alg_from_name("CRC", 3), CK_NONE);
    assert_int_equal(cksum_alg_from_name("MD5", 3), CK_NONE);
    assert_int_equal(cksum_alg_from_name("", 0), CK_NONE);
    assert_int_equal(cksum_alg_from_name("sha2566", 7), CK_NONE);

    assert_string_equal(cksum_alg_name(CK_CRC32), "CRC32");
    assert_string_equal(cksum_alg_name(CK_CRC32C), "CRC32C");
    assert_string_equal(cksum_alg_name(CK_CRC64NVME), "CRC64NVME");
    assert_string_equal(cksum_alg_name(CK_SHA1), "SHA1");
    assert_string_equal(cksum_alg_name(CK_SHA256), "SHA256");
    assert_int_equal(cksum_len(CK_CRC32), 4);
    assert_int_equal(cksum_len(CK_CRC32C), 4);
    assert_int_equal(cksum_len(CK_CRC64NVME), 8);
    assert_int_equal(cksum_len(CK_SHA1), 20);
    assert_int_equal(cksum_len(CK_SHA256), 32);
    assert_int_equal(cksum_len(CK_NONE), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_md5),
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_khash_stream),
        cmocka_unit_test(test_hmac_sha256),
        cmocka_unit_test(test_hmac_sha1),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_crc_check_values),
        cmocka_unit_test(test_crc_vs_reference),
        cmocka_unit_test(test_crc64_clmul_vs_table),
        cmocka_unit_test(test_crc_combine),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_base64_rfc4648),
        cmocka_unit_test(test_base64_strict),
        cmocka_unit_test(test_cksum),
        cmocka_unit_test(test_cksum_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
