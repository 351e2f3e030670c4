/* SPDX-License-Identifier: Apache-2.0 */
/* The request metrics (gateway/metrics.c): operation names interned once,
 * counts by API, operation and status class, aborted requests, bytes,
 * histogram buckets, and the rendering of the series. Threads: 4 threads
 * counting at once lose nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "gateway/metrics.h"

static char *render(void) {
    kbuf b = KBUF_INIT;
    gw_metrics_render(&b);
    kbuf_append(&b, "", 1);
    return b.data;
}

static bool has_line(const char *text, const char *line) {
    size_t n = strlen(line);
    for (const char *p = strstr(text, line); p; p = strstr(p + 1, line))
        if ((p == text || p[-1] == '\n') && p[n] == '\n') return true;
    return false;
}

static void interning(void **state) {
    (void)state;
    uint16_t put = gw_metrics_op(GW_API_S3, "PutObject");
    assert_int_not_equal(put, GW_OP_UNKNOWN);
    assert_int_equal(gw_metrics_op(GW_API_S3, "PutObject"), put);
    assert_int_equal(gw_metrics_op(GW_API_S3, "Unknown"), GW_OP_UNKNOWN);
    assert_int_not_equal(gw_metrics_op(GW_API_S3, "GetObject"), put);
    assert_int_equal(gw_metrics_op(7, "PutObject"), GW_OP_UNKNOWN);
    /* the table fills up: further names count as Unknown */
    static char names[GW_METRICS_MAX_OPS + 4][16];
    uint16_t last = 0;
    for (int i = 0; i < GW_METRICS_MAX_OPS + 4; i++) {
        snprintf(names[i], sizeof names[i], "Op%d", i);
        last = gw_metrics_op(GW_API_SWIFT, names[i]);
    }
    assert_int_equal(last, GW_OP_UNKNOWN);
    assert_int_equal(gw_metrics_op(GW_API_SWIFT, "Op0"), 1);
}

static void counting_and_rendering(void **state) {
    (void)state;
    uint16_t put = gw_metrics_op(GW_API_S3, "PutObject");
    uint16_t get = gw_metrics_op(GW_API_S3, "GetObject");
    for (int i = 0; i < 3; i++) gw_metrics_request_begin();
    gw_metrics_request_end(GW_API_S3, put, 200, true, 1000, 0, 500000); /* 0.5 ms */
    gw_metrics_request_end(GW_API_S3, get, 404, true, 0, 300, 3000000); /* 3 ms */
    gw_metrics_request_end(GW_API_S3, get, 503, false, 10, 0, 1000);    /* aborted */
    gw_metrics_request_begin();
    gw_metrics_request_end(GW_API_S3, 9999, 100, true, 0, 0, 20000000000ull); /* bad op, 20 s */
    gw_metrics_connection(1);
    gw_metrics_connection(1);
    gw_metrics_connection(-1);
    char *t = render();
    assert_true(
        has_line(t, "kura_requests_total{api=\"s3\",op=\"PutObject\",code_class=\"2xx\"} 1"));
    assert_true(
        has_line(t, "kura_requests_total{api=\"s3\",op=\"PutObject\",code_class=\"4xx\"} 0"));
    assert_true(
        has_line(t, "kura_requests_total{api=\"s3\",op=\"GetObject\",code_class=\"4xx\"} 1"));
    assert_true(
        has_line(t, "kura_requests_total{api=\"s3\",op=\"GetObject\",code_class=\"5xx\"} 0"));
    /* out-of-range op and a 1xx status: Unknown, 2xx */
    assert_true(has_line(t, "kura_requests_total{api=\"s3\",op=\"Unknown\",code_class=\"2xx\"} 1"));
    assert_true(has_line(t, "kura_requests_aborted_total{api=\"s3\"} 1"));
    assert_true(has_line(t, "kura_requests_aborted_total{api=\"swift\"} 0"));
    assert_true(has_line(t, "kura_request_bytes_received_total{api=\"s3\"} 1010"));
    assert_true(has_line(t, "kura_response_bytes_sent_total{api=\"s3\"} 300"));
    assert_true(has_line(t, "kura_requests_in_flight 0"));
    assert_true(has_line(t, "kura_connections_open 1"));
    assert_true(has_line(
        t, "kura_request_duration_seconds_bucket{api=\"s3\",op=\"PutObject\",le=\"0.001\"} 1"));
    assert_true(has_line(
        t, "kura_request_duration_seconds_bucket{api=\"s3\",op=\"GetObject\",le=\"0.0025\"} 0"));
    assert_true(has_line(
        t, "kura_request_duration_seconds_bucket{api=\"s3\",op=\"GetObject\",le=\"0.005\"} 1"));
    assert_true(
        has_line(t, "kura_request_duration_seconds_bucket{api=\"s3\",op=\"Unknown\",le=\"10\"} 0"));
    assert_true(has_line(
        t, "kura_request_duration_seconds_bucket{api=\"s3\",op=\"Unknown\",le=\"+Inf\"} 1"));
    assert_true(has_line(t, "kura_request_duration_seconds_sum{api=\"s3\",op=\"GetObject\"} "
                            "0.003000"));
    assert_true(has_line(t, "kura_request_duration_seconds_count{api=\"s3\",op=\"GetObject\"} 1"));
    assert_true(has_line(t, "# TYPE kura_request_duration_seconds histogram"));
    free(t);
}

static void *hammer(void *arg) {
    uint16_t op = *(uint16_t *)arg;
    for (int i = 0; i < 100000; i++) {
        gw_metrics_request_begin();
        gw_metrics_request_end(GW_API_SWIFT, op, 201, true, 1, 2, 1000);
    }
    return NULL;
}

static void threads(void **state) {
    (void)state;
    uint16_t op = gw_metrics_op(GW_API_SWIFT, "Op1");
    pthread_t th[4];
    for (int i = 0; i < 4; i++) assert_int_equal(pthread_create(&th[i], NULL, hammer, &op), 0);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    char *t = render();
    assert_true(has_line(t, "kura_requests_total{api=\"swift\",op=\"Op1\",code_class=\"2xx\"} "
                            "400000"));
    assert_true(has_line(t, "kura_request_bytes_received_total{api=\"swift\"} 400000"));
    assert_true(has_line(t, "kura_response_bytes_sent_total{api=\"swift\"} 800000"));
    assert_true(has_line(t, "kura_requests_in_flight 0"));
    free(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(interning),
        cmocka_unit_test(counting_and_rendering),
        cmocka_unit_test(threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
