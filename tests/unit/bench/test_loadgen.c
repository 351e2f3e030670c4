/* SPDX-License-Identifier: Apache-2.0 */
/* The pure helpers of kura bench (gateway/bench.c): size parsing, the
 * latency histogram, the generated payload and URI encoding. bench.c is
 * included so its static functions can be tested without exporting them;
 * talking to a server is covered by running the bench against one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bench/loadgen.c"

static void sizes_parse(void **state) {
    (void)state;
    static const struct {
        const char *text;
        uint64_t bytes;
    } good[] = {
        {"0", 0},           {"512", 512},         {"4KiB", 4096},     {"4k", 4096},
        {"4K", 4096},       {"4Ki", 4096},        {"4KB", 4000},      {"1MiB", 1 << 20},
        {"10MB", 10000000}, {"1GiB", 1ull << 30}, {"1G", 1ull << 30}, {"2TiB", 2ull << 40},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint64_t v = 1;
        if (!parse_size(good[i].text, &v)) fail_msg("%s rejected", good[i].text);
        if (v != good[i].bytes) fail_msg("%s parsed as %" PRIu64, good[i].text, v);
    }
    static const char *const bad[] = {
        "", "KiB", "-1", "4Q", "4KiBs", "4 KiB", "4KIB", "99999999999999999999", "20000000TiB"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v;
        if (parse_size(bad[i], &v)) fail_msg("%s accepted", bad[i]);
    }
}

static void size_labels(void **state) {
    (void)state;
    char label[32];
    size_label(4096, label, sizeof label);
    assert_string_equal(label, "4KiB");
    size_label(1ull << 30, label, sizeof label);
    assert_string_equal(label, "1GiB");
    size_label(1536, label, sizeof label);
    assert_string_equal(label, "1536B");
    size_label(0, label, sizeof label);
    assert_string_equal(label, "0B");
}

/* Buckets are contiguous and ordered, and each holds values within 1/64 of
 * each other, so percentiles are off by at most ~1.6%. */
static void histogram_buckets(void **state) {
    (void)state;
    unsigned prev = 0;
    for (uint64_t v = 0; v < 1 << 20; v++) {
        unsigned idx = hist_index(v);
        assert_true(idx == prev || idx == prev + 1);
        assert_true(hist_upper(idx) >= v);
        prev = idx;
    }
    const uint64_t samples[] = {63, 64, 65, 1000, 123456789, 1ull << 40, UINT64_MAX};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        uint64_t v = samples[i];
        unsigned idx = hist_index(v);
        assert_true(idx < HIST_BUCKETS);
        uint64_t upper = hist_upper(idx);
        assert_true(upper >= v);
        assert_true(upper - v <= v / 64);
    }
}

static void histogram_percentiles(void **state) {
    (void)state;
    latency_hist *h = calloc(1, sizeof *h);
    assert_non_null(h);
    assert_int_equal(hist_percentile(h, 0.5), 0);
    /* One sample: every percentile is that sample. */
    hist_record(h, 1234567);
    assert_int_equal(hist_percentile(h, 0.5), 1234567);
    assert_int_equal(hist_percentile(h, 0.99), 1234567);
    memset(h, 0, sizeof *h);
    /* 1..1000 ms: p50 ~ 500 ms, p99 ~ 990 ms, max exact. */
    for (uint64_t ms = 1; ms <= 1000; ms++) hist_record(h, ms * 1000000);
    uint64_t p50 = hist_percentile(h, 0.50), p99 = hist_percentile(h, 0.99);
    assert_true(p50 >= 500000000 && p50 <= 500000000 + 500000000 / 64);
    assert_true(p99 >= 990000000 && p99 <= 990000000 + 990000000 / 64);
    assert_int_equal(h->max_ns, 1000000000);
    /* Merging two halves gives the same answer. */
    latency_hist *lo = calloc(1, sizeof *lo), *hi = calloc(1, sizeof *hi),
                 *m = calloc(1, sizeof *m);
    assert_true(lo && hi && m);
    for (uint64_t ms = 1; ms <= 1000; ms++) hist_record(ms <= 500 ? lo : hi, ms * 1000000);
    hist_merge(m, lo);
    hist_merge(m, hi);
    assert_int_equal(hist_percentile(m, 0.50), p50);
    assert_int_equal(hist_percentile(m, 0.99), p99);
    assert_int_equal(m->max_ns, h->max_ns);
    assert_int_equal(m->n, 1000);
    free(h);
    free(lo);
    free(hi);
    free(m);
}

/* Copy and compare agree across the pattern's wrap-around, and distinct
 * keys get distinct content. */
static void payload_pattern(void **state) {
    (void)state;
    pattern_init(7);
    size_t n = 3 * PATTERN_LEN + 17;
    uint8_t *buf = malloc(n);
    assert_non_null(buf);
    uint64_t base = pattern_base(12345);
    pattern_copy(buf, base, n);
    assert_true(pattern_equal(buf, base, n));
    /* Piecewise at odd offsets, as curl's callbacks see it. */
    for (size_t off = 0; off < n; off += 65521) {
        size_t len = n - off < 65521 ? n - off : 65521;
        assert_true(pattern_equal(buf + off, base + off, len));
    }
    buf[PATTERN_LEN + 3] ^= 1;
    assert_false(pattern_equal(buf, base, n));
    assert_true(pattern_base(1) != pattern_base(2));
    uint8_t a[64], b[64];
    pattern_copy(a, pattern_base(1), sizeof a);
    pattern_copy(b, pattern_base(2), sizeof b);
    assert_memory_not_equal(a, b, sizeof a);
    free(buf);
    free(pattern);
    pattern = NULL;
}

static void uri_encoding(void **state) {
    (void)state;
    char out[128];
    uri_encode(out, sizeof out, "kura-bench/4KiB/obj_1.~x", true);
    assert_string_equal(out, "kura-bench/4KiB/obj_1.~x");
    uri_encode(out, sizeof out, "a/b c+d=e&f%", false);
    assert_string_equal(out, "a%2Fb%20c%2Bd%3De%26f%25");
    uri_encode(out, sizeof out, "\xed\x95\x9c", true);
    assert_string_equal(out, "%ED%95%9C");
    /* Never overflows: stops at a whole escape. */
    char tiny[8];
    uri_encode(tiny, sizeof tiny, "//////", false);
    assert_true(strlen(tiny) < sizeof tiny);
}

static void options(void **state) {
    (void)state;
    bench_opts o;
    char *ok[] = {"--access-key", "a",          "--secret-key",  "s", "--op",    "get",
                  "--size",       "1MiB",       "--concurrency", "8", "--count", "100",
                  "--endpoint",   "http://h:1/"};
    assert_int_equal(parse_args(14, ok, &o), 0);
    assert_int_equal(o.op, BENCH_GET);
    assert_true(o.size == 1 << 20);
    assert_int_equal(o.concurrency, 8);
    assert_true(o.count == 100);
    assert_true(o.duration == 0);
    assert_string_equal(o.endpoint, "http://h:1");
    assert_true(o.objects == 1000); /* 2 GiB / 1 MiB, capped */
    char *big[] = {"--access-key", "a", "--secret-key", "s", "--size", "1GiB"};
    assert_int_equal(parse_args(6, big, &o), 0);
    assert_true(o.objects == 2);
    assert_true(o.duration == 10);
    char *both[] = {"--access-key", "a", "--secret-key", "s", "--count", "1", "--duration", "1"};
    assert_int_equal(parse_args(8, both, &o), 2);
    char *bad_bucket[] = {"--access-key", "a", "--secret-key", "s", "--bucket", "Bad/Name"};
    assert_int_equal(parse_args(6, bad_bucket, &o), 2);
    char *bad_endpoint[] = {"--access-key", "a", "--secret-key", "s", "--endpoint", "ftp://x"};
    assert_int_equal(parse_args(6, bad_endpoint, &o), 2);
    char *zero_conc[] = {"--access-key", "a", "--secret-key", "s", "--concurrency", "0"};
    assert_int_equal(parse_args(6, zero_conc, &o), 2);
    char *missing_value[] = {"--access-key", "a", "--secret-key", "s", "--op"};
    assert_int_equal(parse_args(5, missing_value, &o), 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sizes_parse),       cmocka_unit_test(size_labels),
        cmocka_unit_test(histogram_buckets), cmocka_unit_test(histogram_percentiles),
        cmocka_unit_test(payload_pattern),   cmocka_unit_test(uri_encoding),
        cmocka_unit_test(options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
