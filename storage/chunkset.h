/* SPDX-License-Identifier: Apache-2.0 */
/* Replicated chunksets, the gateway's side (issue 8; Kage, seeds/000).
 *
 * A chunkset is R placed chunks (volume.h, "Chunkset chunks"), one on each
 * of R distinct datanodes, holding the same needles at the same offsets.
 * The first member is the master: a gateway sends a needle to it, the
 * master appends it at its chunk's tail and forwards it to the other
 * members at that offset, and answers only once every member has it
 * durable (datanode.h, "append"). So one location key (chunkset id,
 * offset, length) names the needle on every member, a read needs nothing
 * but the chunkset's members (cached; only a repair changes them, after
 * sealing the chunkset, and a read that finds every cached member failing
 * reads the record again), and a read falls over to the next member when
 * one fails or returns a bad checksum.
 *
 * Records, through the kv interface only (the cluster's metadata store):
 *   "S" + ID (16 lowercase hex)   one text record, written at creation,
 *     rewritten when sealed and when a repair replaces a member (always by
 *     compare-and-set, cs_seal):
 *     "kura chunkset 1\nid ID\nstate open|sealed\ncreated UNIX_MS\n"
 *     "member VOLUME_UID CHUNK\n" x R (master first)
 *   "S"   the open chunksets, one ID per line (compare-and-set);
 *   "SA"  every chunkset ever created, the same way (fsck, repair).
 * No single process allocates for the cluster: any gateway creates a
 * chunkset when it sees fewer than min_open usable ones (placed chunks on
 * R datanodes that are up, in distinct zones where possible, then the
 * record, then its id in the index), so two gateways may both create one,
 * which only adds room.
 *
 * Writes (cs_put): a needle goes to an open chunkset whose members are all
 * known and answering; a chunkset that refuses it as full (or cannot take
 * it at that offset) is sealed (record, index, members), one that fails
 * otherwise is avoided by this gateway for a few seconds, and the needle
 * goes again to another chunkset, up to a few times, creating chunksets as
 * needed: never an acknowledged needle with fewer than R copies. With
 * fewer than R datanodes up, writes fail (K_EUNAVAILABLE).
 *
 * Contract: every function is thread-safe. The pool borrows meta and vs
 * (remote volumes of the registered datanodes, growing as they join; see
 * dnreg_watch), which must outlive it. Errors: K_EUNAVAILABLE when no
 * chunkset can take a needle or no member can serve a read, K_ECORRUPT
 * when every member that answered failed its checksums (a chunkset without
 * a record is K_EUNAVAILABLE too, logged: a location key that names one is
 * damaged), the kv's errors for the registry.
 */
#ifndef KURA_STORAGE_CHUNKSET_H
#define KURA_STORAGE_CHUNKSET_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "meta/kv.h"
#include "storage/volume.h"

/* Members of a chunkset (replicas) or of a stripeset (k + m blocks). */
#define CS_MAX_REPLICAS 16

typedef struct cs_member {
    uint64_t uid;   /* the member's volume (stable id) */
    uint32_t chunk; /* its placed chunk there */
} cs_member;

typedef struct cs_info {
    uint64_t id;
    bool sealed;
    /* 0: a replicated chunkset (every member holds the needle). k > 0: a
     * stripeset: the needle at an offset is one RS(k, n-k) stripe, its k
     * data blocks on the first k members and its parity on the others,
     * each block a needle of ceil(length / k) bytes (the last data block
     * zero-padded). Record line "code K". */
    uint32_t k;
    int64_t created_ms;
    uint32_t n; /* members */
    cs_member m[CS_MAX_REPLICAS];
} cs_info;

/* Record codec (exposed for tests and csrepair.c). */
void cs_encode(const cs_info *c, kbuf *out);
kerr cs_decode(const char *p, size_t n, cs_info *out);
/* The record's key: "S" + 16 hex digits and a NUL. */
void cs_record_key(uint64_t id, char key[18]);
/* The indexes: open chunksets (writes go there) and every chunkset ever
 * created (fsck and repair walk it); one id per line, 16 hex digits. */
#define CS_OPEN_INDEX "S"
#define CS_ALL_INDEX "SA"
/* Adds (add) or removes id in the index at key (compare-and-set, retried). */
kerr cs_index_update(kv *meta, const char *key, uint64_t id, bool add);
/* Seals chunkset c->id: its record as it is now (compare-and-set, so a
 * stale copy of the record is never written back), the open index, then
 * each member's chunk (vol_chunk_seal: it waits for the needles begun
 * there). On K_OK, *c is the sealed record as stored and *sealed_members
 * (may be NULL) has bit i set for each member whose chunk is now sealed
 * with no needle under way; members that do not answer are logged. Errors:
 * the kv's, K_ECORRUPT for an unreadable record. */
kerr cs_seal(kv *meta, volset *vs, cs_info *c, uint32_t *sealed_members);

typedef struct cs_pool cs_pool;

/* Kage's allocation policy (seeds/000), per pool. A write opens a new
 * chunkset when fewer than min_open are usable (0: 1), or, up to twice
 * min_open, when the chunksets it would write to are full enough: their
 * average fill has reached avg_fill percent, or the least filled one
 * min_fill percent (0: rule off; at most one such opening per 2 s per
 * pool), so that chunksets fill and seal at staggered times instead of
 * all at once. Fill is what this gateway has seen stored: the end of the
 * last needle over the members' chunk size (registry, dnreg.h). zone: the
 * gateway's (copied; NULL: none). */
typedef struct cs_alloc {
    uint32_t min_open;
    uint32_t avg_fill, min_fill; /* percent, 0..100 */
    const char *zone;
} cs_alloc;

/* replicas: members per new chunkset (2..VOL_MAX_REPLICAS + 1: the master
 * forwards to at most VOL_MAX_REPLICAS); a: the allocation policy (K_EINVAL
 * for a fill above 100).
 *
 * Placement of a new chunkset (LINE's hybrid placement): datanodes on ssd
 * when at least `replicas` of them qualify (small objects are
 * latency-bound), else any media; members in distinct zones first, then
 * any datanodes; the master is a member in the gateway's zone when there
 * is one. When only one zone has datanodes that answer, that gives a
 * single-zone chunkset: one zone alone still accepts writes.
 *
 * Writes go to Kage's zone priorities: multi-zone chunksets whose master
 * is in the gateway's zone, then multi-zone ones mastered elsewhere, then
 * single-zone ones in the gateway's zone, then single-zone ones elsewhere
 * (round-robin within the best class that has a usable chunkset). */
kerr cs_pool_open(kv *meta, volset *vs, uint32_t replicas, const cs_alloc *a, cs_pool **out);
/* A pool of stripesets RS(k, m) instead (Cave, LINE: large objects erasure
 * coded): k + m members on distinct datanodes, hdd ones first when there
 * are enough (ssd otherwise). cs_put_stripe and cs_read_stripe use it;
 * cs_release, cs_check and the audit take both kinds. */
kerr cs_pool_open_ec(kv *meta, volset *vs, uint32_t k, uint32_t m, const cs_alloc *a,
                     cs_pool **out);
/* Stores len (> 0) bytes as one stripe: the k data blocks and the m parity
 * blocks computed here, one needle on each member at the same offset (the
 * first member's append chooses it; the others write there). Retries on
 * another stripeset like cs_put. K_EUNAVAILABLE when fewer than k + m
 * datanodes are up (the caller then stores the bytes replicated). */
kerr cs_put_stripe(cs_pool *p, const void *body, size_t len, void *scratch, uint64_t *csid,
                   uint64_t *offset);
/* The scratch cs_put_stripe needs for len bytes (padding and parity,
 * (m + 2) blocks): a caller that stores many stripes keeps one buffer of
 * this size for them all (scratch may also be NULL: allocated per call). */
size_t cs_stripe_scratch_size(const cs_pool *p, size_t len);
/* Reads n bytes at off of the stripe (csid, offset, length): from the data
 * blocks the range touches, or, when one of them fails, by decoding the
 * same byte range from k blocks that answer (only the range is read). */
kerr cs_read_stripe(cs_pool *p, uint64_t csid, uint64_t offset, uint64_t length, uint64_t off,
                    void *buf, size_t n);
void cs_pool_close(cs_pool *p);

/* What a pool did since it opened (counters) and sees now (gauges). */
typedef struct cs_pool_stats {
    uint64_t puts, put_retries, put_failures; /* needles stored, extra attempts, given up */
    uint64_t created, sealed;                 /* chunksets this gateway created, sealed */
    uint64_t reads, read_failovers, read_failures;
    uint64_t open;                         /* open chunksets usable for writes now */
    uint64_t datanodes_up, datanodes_down; /* registry, at most 2 s old */
} cs_pool_stats;
void cs_pool_stats_get(cs_pool *p, cs_pool_stats *out);

/* Stores len bytes as one needle in a chunkset: *csid and *offset name it. */
kerr cs_put(cs_pool *p, const void *body, size_t len, uint64_t *csid, uint64_t *offset);
/* Reads n bytes at off of the needle (csid, offset, length). */
kerr cs_read(cs_pool *p, uint64_t csid, uint64_t offset, uint64_t length, uint64_t off, void *buf,
             size_t n);
/* K_OK if the chunkset's members are known (its record read), so that a
 * read can start; K_EUNAVAILABLE if the registry cannot say. */
kerr cs_check(cs_pool *p, uint64_t csid);
/* Marks the needle deleted on every member (best effort, logged). */
void cs_release(cs_pool *p, uint64_t csid, uint64_t offset, uint64_t length);

/* ---- Audit and repair (kura admin fsck / repair; storage/csrepair.c) ----
 *
 * cs_audit walks every chunkset ever created (index "SA"): it lists the
 * needles of each member's chunk on the datanodes that are up, and with
 * deep reads every copy whole (checksums verified by the datanode). A
 * needle is healthy with a good copy on every member, degraded with fewer,
 * lost with none. With repair, a chunkset with a member that is gone (its
 * datanode down or replaced blank), lacks a needle, or holds a bad copy is
 * sealed, and each such member is replaced by a new chunk on another
 * datanode (up, answering, on no other member's datanode, in a zone no
 * other member uses when possible) that receives every needle with a good
 * copy; the record then names the new member (compare-and-set: a record
 * changed meanwhile is left for the next run). The old copy, when its
 * datanode still answers, has its needles deleted so compaction reclaims
 * them. Gateways pick up the new members when they next read the record
 * (within 30 s, or at once when every member they know fails).
 *
 * *out maps (chunkset, offset) to the copies found (after repair), for the
 * object-level count of fsck; cs_health_get is false for a needle no
 * member lists (lost). Single-threaded; reads and writes go through vs
 * (the datanodes' volumes, as a gateway opens them). */
typedef struct cs_audit_opts {
    bool deep;   /* read every copy, not only the chunk inventories */
    bool repair; /* replace the members that need it */
    void (*progress)(void *arg, uint64_t done, uint64_t total);
    /* Optional: checked before each chunkset; true ends the walk early
     * (cs_audit then answers K_ECONFLICT and no health map). */
    bool (*cancel)(void *arg);
    void *arg;
    unsigned pause_ms; /* between chunksets (a background scrub's pace) */
} cs_audit_opts;
typedef struct cs_audit_stats {
    uint64_t chunksets, unreadable; /* records walked, records unreadable */
    uint64_t needles, healthy, degraded, lost;
    uint64_t members_replaced, needles_copied, bytes_copied, repairs_failed;
} cs_audit_stats;
typedef struct cs_health cs_health;
kerr cs_audit(kv *meta, volset *vs, const cs_audit_opts *o, cs_audit_stats *st, cs_health **out);
/* copies: good copies (blocks, for a stripe) found; replicas: members;
 * need: how many a read needs (1, or k for a stripe). */
bool cs_health_get(const cs_health *h, uint64_t csid, uint64_t offset, uint32_t *copies,
                   uint32_t *replicas, uint32_t *need);
void cs_health_free(cs_health *h);

/* The background scrubber (in every gateway on the cluster; one at a time
 * does the work): every interval_s seconds, a pass of cs_audit with deep
 * and repair, pausing pause_ms between chunksets, so corrupt or missing
 * copies are found and re-replicated without an operator. A lease in the
 * metadata store (key "SL": "HOLDER UNTIL_MS", compare-and-set, renewed
 * during the pass) keeps the other gateways out while one scrubs; a pass
 * whose lease is lost stops. Each pass logs one line (what it checked and
 * repaired). cs_scrub_stop ends a pass in progress at the next chunkset and
 * joins the thread. */
typedef struct cs_scrubber cs_scrubber;
typedef struct cs_scrub_stats {
    uint64_t passes;                           /* passes this gateway completed */
    uint64_t members_replaced, needles_copied; /* by them */
    uint64_t last_degraded, last_lost;         /* needles, at its last pass */
    int64_t last_pass_ms;                      /* when it ended (unix ms; 0: none yet) */
} cs_scrub_stats;
void cs_scrub_stats_get(cs_scrubber *s, cs_scrub_stats *out);
kerr cs_scrub_start(kv *meta, volset *vs, unsigned interval_s, unsigned pause_ms,
                    cs_scrubber **out);
void cs_scrub_stop(cs_scrubber *s);

#endif
