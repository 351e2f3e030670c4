/* SPDX-License-Identifier: Apache-2.0 */
/* The admin listener (`kura serve --admin-listen HOST:PORT`, default
 * 127.0.0.1:9001): a second, small HTTP server next to the S3/Swift
 * listener, so that no bucket name is shadowed.
 *
 *   GET /health/live   200 "ok" while the process serves.
 *   GET /health/ready  200 "ready" when the metadata store answers a read
 *                      and at least one volume takes writes; else 503 with
 *                      a one-line plain-text reason.
 *   GET /metrics       Prometheus text exposition format 0.0.4: build info,
 *                      the request series of gateway/metrics.h, volume
 *                      space and the metadata store's full flag.
 * Anything else is 404, a method other than GET or HEAD 405. No
 * authentication: it binds loopback by default (SECURITY.md).
 *
 * The front-end layering rule (deploy/check-includes.py) keeps this module
 * away from meta/ and storage/: the state comes through the callbacks of
 * gw_admin_opts, which main.c (the wiring) fills.
 *
 * Threads: libmicrohttpd's internal polling thread (epoll on Linux, so
 * descriptors above FD_SETSIZE are fine) runs every request, one at a time; the callbacks are
 * called on it and must be thread-safe with respect to the S3 listener's threads.
 * gw_admin_start/stop from one thread.
 *
 * Errors: gw_admin_start answers K_ECONFLICT when the address is in use,
 * K_EINVAL for a host that is not an IPv4 address, K_EIO otherwise (logged).
 */
#ifndef KURA_GATEWAY_ADMIN_H
#define KURA_GATEWAY_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* One volume's space, as storage reports it (storage/volume.h vol_space). */
typedef struct gw_admin_volume {
    const char *name; /* its directory (or datanode address) */
    uint64_t free_bytes, total_bytes, reserve_bytes;
    uint64_t refusals;                          /* writes refused for lack of space since start */
    uint64_t chunks_compacted, bytes_reclaimed; /* compaction since start */
    bool full;                                  /* writes are being refused for lack of space */
    bool stat_failed;                           /* the free-space check failed: the values are 0 */
} gw_admin_volume;

/* One more series for /metrics (unlabelled): the storage cluster's and
 * the scrubber's counters and gauges, filled by the wiring. */
typedef struct gw_admin_series {
    const char *name, *help, *type; /* type: "counter" or "gauge" */
    double value;
} gw_admin_series;

typedef struct gw_admin_opts {
    const char *host;
    int port;
    const char *version, *build_type; /* for kura_build_info */
    void *ctx;                        /* passed to the callbacks */
    /* K_OK if the metadata store answers a read (a missing key is an
     * answer); the error otherwise. */
    kerr (*meta_check)(void *ctx);
    /* Whether metadata writes fail for lack of space (LMDB). */
    bool (*meta_full)(void *ctx);
    /* Fills up to max volumes, returns how many there are. */
    size_t (*volumes)(void *ctx, gw_admin_volume *out, size_t max);
    /* Optional: fills up to max more series, returns how many. */
    size_t (*series)(void *ctx, gw_admin_series *out, size_t max);
    /* When set, /metrics answers only requests carrying
     * "Authorization: Bearer <metrics_token>" (401 otherwise, as
     * Prometheus' bearer_token scrape setting expects); the health probes
     * stay open. Borrowed: must outlive the listener. */
    const char *metrics_token;
} gw_admin_opts;

typedef struct gw_admin gw_admin;

kerr gw_admin_start(const gw_admin_opts *o, gw_admin **out);
int gw_admin_port(gw_admin *a);
void gw_admin_stop(gw_admin *a);

#endif
