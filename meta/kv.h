/* SPDX-License-Identifier: Apache-2.0 */
/* The key-value interface all metadata lives on.
 *
 * Keys and values are arbitrary bytes (keys <= 2048 bytes, values <= 1 MiB).
 * Every backend (LMDB embedded, in-memory counting, Redis shards, Redis
 * Cluster) implements kv_ops; the radix tree and the object service only use
 * this interface, never a backend directly.
 *
 * Contract:
 * - All operations are thread-safe on one kv handle.
 * - A write (put/del/cas) returns only once it is durable per the backend's
 *   policy (LMDB: fsynced, using group commit so concurrent writers share
 *   fsyncs).
 * - Errors: K_ENOTFOUND (get/del of an absent key), K_ECONFLICT (cas saw a
 *   different current value), K_EUNAVAILABLE (backend unreachable; callers
 *   map it to 503), K_EIO, K_ETOOLARGE; writes also K_ENOSPC (the backend's
 *   disk is full: 507).
 * - Values returned through a kbuf are owned by that kbuf (caller frees).
 * - kv_mget reads many keys in few round trips; see its comment below.
 */
#ifndef KURA_META_KV_H
#define KURA_META_KV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

typedef struct kv kv;

typedef struct kv_ops {
    const char *name;
    /* val is reset then filled. */
    kerr (*get)(kv *s, const void *key, size_t klen, kbuf *val);
    kerr (*put)(kv *s, const void *key, size_t klen, const void *val, size_t vlen);
    kerr (*del)(kv *s, const void *key, size_t klen);
    /* Atomically: if the current value equals expect (expect == NULL means
     * "key must be absent"), replace it with val (val == NULL means delete
     * the key) and return K_OK; otherwise K_ECONFLICT and nothing changes. */
    kerr (*cas)(kv *s, const void *key, size_t klen, const void *expect, size_t elen,
                const void *val, size_t vlen);
    void (*close)(kv *s);
    /* Optional (NULL: kv_mget falls back to one get per key). Called by
     * kv_mget only, with n >= 1; same contract as kv_mget. Last member so
     * that wrappers written as positional initialisers stay valid. */
    kerr (*mget)(kv *s, size_t n, const void *const *keys, const size_t *klens, kbuf *vals,
                 kerr *errs);
} kv_ops;

struct kv {
    const kv_ops *ops;
};

static inline kerr kv_get(kv *s, const void *k, size_t kl, kbuf *v) {
    return s->ops->get(s, k, kl, v);
}
static inline kerr kv_put(kv *s, const void *k, size_t kl, const void *v, size_t vl) {
    return s->ops->put(s, k, kl, v, vl);
}
static inline kerr kv_del(kv *s, const void *k, size_t kl) {
    return s->ops->del(s, k, kl);
}
static inline kerr kv_cas(kv *s, const void *k, size_t kl, const void *e, size_t el, const void *v,
                          size_t vl) {
    return s->ops->cas(s, k, kl, e, el, v, vl);
}
static inline void kv_close(kv *s) {
    if (s) s->ops->close(s);
}

/* Multi-get: reads keys[0..n) (klens[i] bytes each) in as few backend round
 * trips as the backend allows: LMDB one read transaction, kv_mem one lock,
 * Redis one pipelined request per shard or cluster node involved (sent to
 * all of them before any reply is read), a prefixed kv forwards one mget.
 *
 * - Per key: vals[i] is reset then filled, like kv_get's val, and errs[i]
 *   is what kv_get would return for that key alone: K_OK, K_ENOTFOUND, or
 *   an argument error (K_EINVAL empty key, K_ETOOLARGE over-long key) that
 *   affects that key only.
 * - Whole call: K_OK when every key got such an answer. A backend failure
 *   (K_EUNAVAILABLE, K_EIO, K_ENOMEM) is returned for the whole call; then
 *   the contents of vals and errs are unspecified (some may be filled).
 *   n == 0 is K_OK and touches nothing.
 * - No cross-key atomicity: each value is one that key held at some moment
 *   during the call (LMDB happens to read one snapshot; Redis does not).
 * - Ownership: keys, klens, vals and errs are the caller's and only used
 *   during the call; vals[i] must be initialised kbufs (KBUF_INIT), the
 *   caller frees them. Duplicate keys are allowed (each gets its answer).
 * - Threads: like every operation, safe on one kv handle from any thread.
 * - Retries: the Redis backend retries a key whose batch failed (connection
 *   error, MOVED/ASK, a busy node) through the single-key path, with the
 *   same rules and time budget as kv_get (kv_redis.c).
 */
kerr kv_mget(kv *s, size_t n, const void *const *keys, const size_t *klens, kbuf *vals, kerr *errs);

/* Embedded LMDB store in directory dir (created if missing). map_size 0
 * picks a default (64 GiB of address space; the file grows as used). */
kerr kv_lmdb_open(const char *dir, size_t map_size, kv **out);

/* Additions (meta/ owner): group-commit observability for tests and
 * benchmarks. commit_count = write transactions committed (fsyncs);
 * write_count = put/del/cas operations applied by them (including cas that
 * reported K_ECONFLICT). write_count / commit_count is the batching factor.
 * key_count = number of stored keys (LMDB entries). */
uint64_t kv_lmdb_commit_count(kv *s);
uint64_t kv_lmdb_write_count(kv *s);
kerr kv_lmdb_key_count(kv *s, uint64_t *out);
/* Whether the last write batch failed for lack of space (the disk holding
 * the LMDB files is full; writes answer K_ENOSPC until one commits again),
 * for health and metrics. false for a kv that is not LMDB. */
bool kv_lmdb_full(kv *s);

/* In-memory store that counts operations per key class; for tests and the
 * tree benchmark. Not durable. */
typedef struct kv_mem_stats {
    uint64_t gets, puts, dels, cas_ok, cas_conflict;
    /* kv_mget calls, and the keys they read (also counted in gets): round
     * trips a remote store would need = gets - mget_keys + mgets. */
    uint64_t mgets, mget_keys;
} kv_mem_stats;
kv *kv_mem_new(void);
void kv_mem_stats_get(kv *s, kv_mem_stats *out);
void kv_mem_stats_reset(kv *s);
/* Addition: number of stored keys starting with prefix (plen 0: all keys).
 * O(table size) when plen > 0; for tests. */
size_t kv_mem_count_prefix(kv *s, const void *prefix, size_t plen);

/* Wraps inner so every key gets prefix (<= 256 bytes) prepended; takes
 * ownership of inner (closing the wrapper closes it). For sharing one Redis
 * deployment between independent namespaces. */
kerr kv_prefixed_new(kv *inner, const void *prefix, size_t plen, kv **out);

/* Redis backends (kv_redis.c) */
/* url: redis://HOST:PORT[,HOST:PORT...][?opts] (independent servers, keys
 * placed by consistent hashing) or redis-cluster://HOST:PORT[,...][?opts]
 * (seed nodes of a Redis Cluster). opts: wait=N, wait_timeout_ms=T,
 * connect_timeout_ms=T, command_timeout_ms=T, pool=N,
 * durability=strict|relaxed. The durability contract (what an acknowledged
 * write survives, which server settings it needs and how they are checked)
 * is at the top of kv_redis.c. Succeeds even if no server answers yet
 * (operations then return K_EUNAVAILABLE until one does); K_EINVAL for a
 * malformed url, and (durability=strict, the default) when a reachable
 * server does not run appendonly yes + appendfsync always. */
kerr kv_redis_open(const char *url, kv **out);
typedef struct kv_redis_counters {
    uint64_t moved;       /* MOVED redirections followed */
    uint64_t asks;        /* ASK redirections seen */
    uint64_t reconnects;  /* nodes connected again after an error */
    uint64_t conn_errors; /* connections that failed or were dropped */
    uint64_t refreshes;   /* cluster slot maps loaded */
    uint64_t wait_short;  /* writes whose WAIT saw too few replicas */
    uint64_t retries;     /* attempts beyond the first of an operation */
    /* Request/reply exchanges with a server: an operation (with its ASKING
     * and WAIT, pipelined) is one, a multi-get batch to one node is one, and
     * so is each bookkeeping exchange (the persistence check of a new
     * connection, SCRIPT LOAD, CLUSTER SLOTS, PING). */
    uint64_t round_trips;
    uint64_t mget_batches; /* pipelined multi-get requests sent (one per node per call) */
    uint64_t mget_retried; /* keys of a multi-get that went the single-key way */
} kv_redis_counters;
/* Zeroes *out for a kv that is not a Redis backend. */
void kv_redis_stats(kv *s, kv_redis_counters *out);
/* Independent shards: index (URL order) of the shard holding key; -1 for a
 * cluster or another backend. */
int kv_redis_shard_of(kv *s, const void *key, size_t klen);
/* Redis Cluster hash slot of key (CRC16/XMODEM, {hash tags} honoured). */
unsigned kv_redis_cluster_slot(const void *key, size_t klen);
/* The shard ring's hash (XXH64, seed 0); exposed so tests pin it. */
uint64_t kv_redis_ring_hash(const void *data, size_t len);
/* End of Redis backends */

#endif
