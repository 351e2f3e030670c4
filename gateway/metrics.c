/* SPDX-License-Identifier: Apache-2.0 */
#include "gateway/metrics.h"

#include <stdatomic.h>
#include <string.h>

typedef _Atomic uint64_t counter;

typedef struct op_stats {
    counter by_class[4]; /* 2xx 3xx 4xx 5xx */
    counter buckets[GW_METRICS_BUCKETS];
    counter sum_us;
} op_stats;

static const char *api_names[GW_API_COUNT] = {"s3", "swift"};
/* upper bounds in seconds; the +Inf bucket is the total count */
static const double bucket_le[GW_METRICS_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                     0.1,   0.25,   0.5,   1,    2.5,   10};
static const uint64_t bucket_ns[GW_METRICS_BUCKETS] = {
    1000000,   2500000,   5000000,   10000000,   25000000,   50000000,
    100000000, 250000000, 500000000, 1000000000, 2500000000, 10000000000};

static const char *op_names[GW_API_COUNT][GW_METRICS_MAX_OPS];
static uint16_t nops[GW_API_COUNT];
static op_stats stats[GW_API_COUNT][GW_METRICS_MAX_OPS];
static counter bytes_in[GW_API_COUNT], bytes_out[GW_API_COUNT], aborted[GW_API_COUNT];
static _Atomic int64_t in_flight, connections;

uint16_t gw_metrics_op(int api, const char *name) {
    if (api < 0 || api >= GW_API_COUNT) return GW_OP_UNKNOWN;
    if (!nops[api]) {
        op_names[api][0] = "Unknown";
        nops[api] = 1;
    }
    for (uint16_t i = 0; i < nops[api]; i++)
        if (!strcmp(op_names[api][i], name)) return i;
    if (nops[api] == GW_METRICS_MAX_OPS) return GW_OP_UNKNOWN;
    op_names[api][nops[api]] = name;
    return nops[api]++;
}

void gw_metrics_request_begin(void) {
    atomic_fetch_add_explicit(&in_flight, 1, memory_order_relaxed);
}

void gw_metrics_request_end(int api, uint16_t op, int status, bool answered, uint64_t in,
                            uint64_t out, uint64_t duration_ns) {
    atomic_fetch_sub_explicit(&in_flight, 1, memory_order_relaxed);
    if (api < 0 || api >= GW_API_COUNT) api = GW_API_S3;
    if (op >= GW_METRICS_MAX_OPS) op = GW_OP_UNKNOWN;
    atomic_fetch_add_explicit(&bytes_in[api], in, memory_order_relaxed);
    atomic_fetch_add_explicit(&bytes_out[api], out, memory_order_relaxed);
    if (!answered) {
        atomic_fetch_add_explicit(&aborted[api], 1, memory_order_relaxed);
        return;
    }
    int cls = status / 100 - 2;
    if (cls < 0) cls = 0;
    if (cls > 3) cls = 3;
    op_stats *s = &stats[api][op];
    atomic_fetch_add_explicit(&s->by_class[cls], 1, memory_order_relaxed);
    for (int b = 0; b < GW_METRICS_BUCKETS; b++)
        if (duration_ns <= bucket_ns[b]) {
            atomic_fetch_add_explicit(&s->buckets[b], 1, memory_order_relaxed);
            break;
        }
    atomic_fetch_add_explicit(&s->sum_us, duration_ns / 1000, memory_order_relaxed);
}

void gw_metrics_connection(int delta) {
    atomic_fetch_add_explicit(&connections, delta, memory_order_relaxed);
}

static uint64_t get(counter *c) {
    return atomic_load_explicit(c, memory_order_relaxed);
}

static const char *op_name(int api, int op) {
    return op == 0 ? "Unknown" : op_names[api][op];
}

void gw_metrics_render(kbuf *b) {
    static const char *cls_names[4] = {"2xx", "3xx", "4xx", "5xx"};
    kbuf_puts(b, "# HELP kura_requests_total Requests answered, by API, operation and status "
                 "class.\n# TYPE kura_requests_total counter\n");
    for (int a = 0; a < GW_API_COUNT; a++) {
        int n = nops[a] ? nops[a] : 1;
        for (int o = 0; o < n; o++)
            for (int c = 0; c < 4; c++) {
                uint64_t v = get(&stats[a][o].by_class[c]);
                /* every class of Unknown and of the ops seen, so rates start at 0 */
                kbuf_printf(b, "kura_requests_total{api=\"%s\",op=\"%s\",code_class=\"%s\"} %llu\n",
                            api_names[a], op_name(a, o), cls_names[c], (unsigned long long)v);
            }
    }
    kbuf_puts(b, "# HELP kura_requests_aborted_total Requests whose connection ended before "
                 "an answer was queued.\n# TYPE kura_requests_aborted_total counter\n");
    for (int a = 0; a < GW_API_COUNT; a++)
        kbuf_printf(b, "kura_requests_aborted_total{api=\"%s\"} %llu\n", api_names[a],
                    (unsigned long long)get(&aborted[a]));
    kbuf_puts(b, "# HELP kura_request_bytes_received_total Request body bytes received.\n"
                 "# TYPE kura_request_bytes_received_total counter\n");
    for (int a = 0; a < GW_API_COUNT; a++)
        kbuf_printf(b, "kura_request_bytes_received_total{api=\"%s\"} %llu\n", api_names[a],
                    (unsigned long long)get(&bytes_in[a]));
    kbuf_puts(b, "# HELP kura_response_bytes_sent_total Response body bytes of answers sent.\n"
                 "# TYPE kura_response_bytes_sent_total counter\n");
    for (int a = 0; a < GW_API_COUNT; a++)
        kbuf_printf(b, "kura_response_bytes_sent_total{api=\"%s\"} %llu\n", api_names[a],
                    (unsigned long long)get(&bytes_out[a]));
    kbuf_printf(b,
                "# HELP kura_requests_in_flight Requests received and not yet completed.\n"
                "# TYPE kura_requests_in_flight gauge\nkura_requests_in_flight %lld\n",
                (long long)atomic_load_explicit(&in_flight, memory_order_relaxed));
    kbuf_printf(b,
                "# HELP kura_connections_open Client connections open on the S3/Swift "
                "listener.\n# TYPE kura_connections_open gauge\nkura_connections_open %lld\n",
                (long long)atomic_load_explicit(&connections, memory_order_relaxed));
    kbuf_puts(b, "# HELP kura_request_duration_seconds Time from a request's headers to its "
                 "answer sent, by API and operation.\n"
                 "# TYPE kura_request_duration_seconds histogram\n");
    for (int a = 0; a < GW_API_COUNT; a++) {
        int n = nops[a] ? nops[a] : 1;
        for (int o = 0; o < n; o++) {
            op_stats *s = &stats[a][o];
            uint64_t total = 0;
            for (int c = 0; c < 4; c++) total += get(&s->by_class[c]);
            if (!total) continue;
            uint64_t cum = 0;
            for (int k = 0; k < GW_METRICS_BUCKETS; k++) {
                cum += get(&s->buckets[k]);
                if (cum > total) cum = total; /* read while a request was being counted */
                kbuf_printf(b,
                            "kura_request_duration_seconds_bucket{api=\"%s\",op=\"%s\",le=\"%g\"} "
                            "%llu\n",
                            api_names[a], op_name(a, o), bucket_le[k], (unsigned long long)cum);
            }
            kbuf_printf(b,
                        "kura_request_duration_seconds_bucket{api=\"%s\",op=\"%s\",le=\"+Inf\"} "
                        "%llu\n",
                        api_names[a], op_name(a, o), (unsigned long long)total);
            kbuf_printf(b, "kura_request_duration_seconds_sum{api=\"%s\",op=\"%s\"} %.6f\n",
                        api_names[a], op_name(a, o), (double)get(&s->sum_us) / 1e6);
            kbuf_printf(b, "kura_request_duration_seconds_count{api=\"%s\",op=\"%s\"} %llu\n",
                        api_names[a], op_name(a, o), (unsigned long long)total);
        }
    }
}

const char *gw_metrics_op_name(int api, uint16_t op) {
    if (api < 0 || api >= GW_API_COUNT || op >= GW_METRICS_MAX_OPS || !op_names[api][op])
        return "Unknown";
    return op_name(api, op);
}

const char *gw_metrics_api_name(int api) {
    return api >= 0 && api < GW_API_COUNT ? api_names[api] : "unknown";
}
