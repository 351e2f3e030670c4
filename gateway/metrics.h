/* SPDX-License-Identifier: Apache-2.0 */
/* Request metrics of the HTTP listener, rendered in the Prometheus text
 * exposition format (version 0.0.4) by the admin listener (gateway/admin.h).
 *
 * What is counted (one process, since it started):
 * - requests answered, by API (s3, swift), operation and status class;
 *   a request the connection lost before its answer was queued is counted
 *   as aborted (per API) instead;
 * - request body bytes received and response body bytes sent (bodies only,
 *   not headers), per API;
 * - requests in flight (headers in, not yet completed) and connections open;
 * - request duration (headers in to answer sent), a histogram per API and
 *   operation with fixed buckets (GW_METRICS_BUCKETS).
 *
 * Operations: each front end interns its operation names once at start
 * (gw_metrics_op) and sets gw_req.op_api / op_index per request; index 0 of
 * every API is "Unknown" (a request no operation was decided for).
 *
 * Threads: gw_metrics_op only before the listeners start (it is not
 * synchronised with the counting or the rendering). Every other call is
 * safe from any thread: the counters are relaxed atomics in a fixed table,
 * no lock per request. A rendering reads each counter once; it may see a
 * request counted in one series and not yet in another.
 *
 * Errors: none (counters wrap at 2^64; a full name table answers index 0).
 */
#ifndef KURA_GATEWAY_METRICS_H
#define KURA_GATEWAY_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"

enum { GW_API_S3 = 0, GW_API_SWIFT = 1, GW_API_COUNT = 2 };
#define GW_METRICS_MAX_OPS 64
#define GW_METRICS_BUCKETS 12
#define GW_OP_UNKNOWN 0

/* The index of operation name (a static string) of api, added if new;
 * GW_OP_UNKNOWN when the table is full. */
uint16_t gw_metrics_op(int api, const char *name);

/* The name of operation op of api ("Unknown" for 0 or out of range), and
 * the API's name ("s3", "swift"): for the access log. */
const char *gw_metrics_op_name(int api, uint16_t op);
const char *gw_metrics_api_name(int api);
/* Request accounting, called by gateway/server.c. */
void gw_metrics_request_begin(void);
/* answered: an answer was queued (else the request is counted as aborted). */
void gw_metrics_request_end(int api, uint16_t op, int status, bool answered, uint64_t bytes_in,
                            uint64_t bytes_out, uint64_t duration_ns);
void gw_metrics_connection(int delta);

/* Appends the request series (counters, gauges, histograms) to out. */
void gw_metrics_render(kbuf *out);

#endif
