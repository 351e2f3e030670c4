/* SPDX-License-Identifier: Apache-2.0 */
/* The datanode registry: datanodes announce themselves in the cluster's
 * metadata store, gateways discover them there (no static list).
 *
 * Records, through the kv interface only (LMDB in tests, Redis in
 * production; the registry adds no backend feature):
 *   key "N" + ID (ID: 16 lowercase hex digits)  value: one text record
 *     "kura datanode 1\nid ID\naddress HOST:PORT\nzone Z\nmedia ssd|hdd\n"
 *     "capacity BYTES\nfree BYTES\nchunk-size BYTES\nheartbeat UNIX_MS\n"
 *     "volume UID\n"...
 *     (one volume line per volume, in the datanode's --data order; free is
 *     the sum over volumes of the space above each reserve)
 *   key "N"  value: the index, one ID per line, every datanode that ever
 *     registered (added with compare-and-set, so concurrent registrations
 *     never lose one another; never shrinks on its own).
 * A datanode rewrites its record every heartbeat (1 s by default); a
 * reader marks down a datanode whose heartbeat is older than its timeout
 * (5 s by default) by its own clock, so clocks of the cluster must agree
 * within a fraction of that timeout (NTP).
 *
 * Contract:
 * - Functions are thread-safe given a thread-safe kv (every kv is).
 * - dnreg_publish writes the record and makes sure the index names the id.
 *   Errors: those of the kv (K_EUNAVAILABLE when the store is down, ...).
 * - dnreg_list returns every indexed datanode whose record parses, each
 *   with up computed from now_ms and timeout_ms; a missing or unparsable
 *   record is skipped (logged at debug). The array and its strings are
 *   owned by the caller: dnreg_list_free.
 * - The heartbeat thread (dnreg_beat_start) calls a fill function, then
 *   publishes, every interval; failures are logged once per episode (one
 *   line when the store fails, one when it answers again) and retried at
 *   the next beat. dnreg_beat_stop joins it, then publishes the record with
 *   heartbeat 0, so that readers see a datanode that stops cleanly down at
 *   once (a crashed one is down after the timeout).
 */
#ifndef KURA_STORAGE_DNREG_H
#define KURA_STORAGE_DNREG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "meta/kv.h"
#include "storage/volume.h"

#define DNREG_MAX_VOLUMES 256
/* The default timeout: a datanode without a heartbeat for this long is
 * down. */
#define DNREG_DOWN_AFTER_MS 5000

typedef struct dn_info {
    uint64_t id;
    char *address; /* HOST:PORT */
    char *zone;
    char *media; /* "ssd" | "hdd" */
    uint64_t capacity, free_bytes;
    uint64_t chunk_size; /* its volumes' chunk size (--chunk-size; 0: not said) */
    int64_t heartbeat_ms;
    uint64_t *volumes; /* stable volume uids */
    size_t nvolumes;
    bool up; /* filled by dnreg_list */
} dn_info;

kerr dnreg_publish(kv *meta, const dn_info *info);
kerr dnreg_list(kv *meta, int64_t now_ms, int64_t timeout_ms, dn_info **out, size_t *n);
void dnreg_list_free(dn_info *list, size_t n);

/* Record codec (exposed for tests). Parse fills *out with malloc'ed
 * strings (free with dnreg_list_free(out, 1) semantics: dnreg_info_clear). */
void dnreg_encode(const dn_info *info, kbuf *out);
kerr dnreg_decode(const char *p, size_t n, dn_info *out);
void dnreg_info_clear(dn_info *info);

typedef struct dnreg_beat dnreg_beat;
/* fill: called before every publish to refresh capacity, free, volumes and
 * heartbeat (the registry sets heartbeat_ms itself after fill). */
typedef void (*dnreg_fill_fn)(void *arg, dn_info *info);
kerr dnreg_beat_start(kv *meta, const dn_info *base, unsigned interval_ms, dnreg_fill_fn fill,
                      void *arg, dnreg_beat **out);
void dnreg_beat_stop(dnreg_beat *b);

/* A gateway's watcher: every interval_ms, adds to vs (a set from
 * volset_open_remote, borrowed: it must outlive the watcher) the volumes of
 * the datanodes that are up in the registry and not in vs yet, signed with
 * secret (copied), so datanodes that register after the gateway started
 * take new needles within an interval. It also becomes vs's miss hook
 * (volume.h volset_resolve_uid): a read of a volume not known yet reads the
 * registry at once (at most every 200 ms). Registry failures are logged
 * once per episode. dnreg_watch_stop joins the thread and removes the
 * hook. */
typedef struct dnreg_watch dnreg_watch;
kerr dnreg_watch_start(kv *meta, volset *vs, const char *secret, unsigned interval_ms,
                       dnreg_watch **out);
void dnreg_watch_stop(dnreg_watch *w);

#endif
