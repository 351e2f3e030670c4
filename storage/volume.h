/* SPDX-License-Identifier: Apache-2.0 */
/* Object data storage: needles in append-only chunk files (seeds/000, Kage).
 *
 * A volume is one directory (local) or one volume of a remote datanode
 * (volume_remote.c, over the protocol of datanode.h); every kind implements
 * volume_ops. A volset spreads new needles over its volumes.
 * A needle is one contiguous run of object bytes plus a header carrying its
 * length, a checksum per 64 KiB block (so ranged reads verify only what they
 * touch) and a header checksum. Writing returns a location key (volume,
 * chunk, offset, length) from which a read needs no other lookup.
 *
 * Contract:
 * - volset and volume functions are thread-safe; a vol_writer is used by one
 *   thread at a time.
 * - vol_writer_finish returns only after the needle's bytes are durable
 *   (fdatasync shared among concurrent writers: group commit).
 * - An unfinished (aborted, crashed) writer leaves unreferenced bytes in a
 *   chunk but never corrupts other needles; a restart resumes appending
 *   after the last byte on disk.
 * - Reads verify block checksums: K_ECORRUPT on mismatch, K_ENOTFOUND if the
 *   location does not hold a needle, K_EIO on I/O errors.
 */
#ifndef KURA_STORAGE_VOLUME_H
#define KURA_STORAGE_VOLUME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef struct vol_loc {
    uint32_t volume; /* index in the volset */
    uint32_t chunk;  /* chunk file id within the volume */
    uint64_t offset; /* byte offset of the needle header in the chunk */
    uint64_t length; /* payload bytes */
} vol_loc;

#define VOL_LOC_ENCODED_LEN 24
/* Fixed little-endian encoding for metadata records. */
void vol_loc_encode(const vol_loc *l, uint8_t out[VOL_LOC_ENCODED_LEN]);
void vol_loc_decode(const uint8_t in[VOL_LOC_ENCODED_LEN], vol_loc *l);

typedef struct volset volset;
typedef struct vol_writer vol_writer;

/* The free-space reserve: new needles skip a volume whose filesystem would
 * be left with less free space than this, so that metadata (LMDB usually
 * shares the first volume's filesystem), DELETEs and writes already under
 * way still have room when new writes are refused. */
typedef enum vol_reserve_mode {
    VOL_RESERVE_AUTO = 0, /* 1 GiB or 5% of the filesystem, the smaller */
    VOL_RESERVE_BYTES,    /* min_free_bytes (0: no reserve; refused only at ENOSPC) */
    VOL_RESERVE_PERCENT,  /* min_free_percent of the filesystem's size */
} vol_reserve_mode;

typedef struct volset_opts {
    uint64_t chunk_size; /* target chunk file size; 0 = 1 GiB */
    bool sync;           /* false only in tests/benchmarks that opt out */
    vol_reserve_mode reserve;
    uint64_t min_free_bytes;   /* VOL_RESERVE_BYTES */
    uint32_t min_free_percent; /* VOL_RESERVE_PERCENT: 1..99 */
    /* Compaction of local volumes (see volset_compact): a chunk whose
     * reclaimable bytes reach compact_threshold percent of its file is
     * rewritten without them (0: never). Deleted needles younger than
     * compact_grace_s seconds are kept, so a reader that loaded a record
     * just before a DELETE or an overwrite finishes its stream. A
     * background thread runs a pass every compact_interval_s seconds (0:
     * no thread), and soon after a volume refuses a write for lack of
     * space. */
    uint32_t compact_threshold;
    uint32_t compact_grace_s;
    uint32_t compact_interval_s;
} volset_opts;

/* Opens (creating if needed) one local volume per directory. Volume ids are
 * the directories' positions in dirs; a directory records its id so that a
 * reordered command line is detected (K_EINVAL). */
kerr volset_open_local(const char *const *dirs, size_t ndirs, const volset_opts *opts,
                       volset **out);
/* A volume served by a datanode: its HOST:PORT and the volume's stable id
 * there. */
typedef struct vol_remote_spec {
    const char *address;
    uint64_t uid;
} vol_remote_spec;
/* Opens a set of remote volumes (no I/O: a datanode that does not answer
 * fails the ops that reach it, K_EUNAVAILABLE). Requests are signed with
 * secret (datanode.h). Placement skips a remote volume with no room above
 * the reserve its datanode keeps; this set keeps no reserve of its own.
 * Uids must be unique and non-zero (K_EINVAL). */
kerr volset_open_remote(const vol_remote_spec *specs, size_t n, const char *secret, volset **out);
/* Adds a remote volume to a set from volset_open_remote while it is in use
 * (thread-safe with every op; new needles start going there at once).
 * K_OK also if a volume with that uid is already in the set; K_ETOOLARGE
 * beyond VOLSET_REMOTE_MAX volumes (and for a local set, which cannot
 * grow). Volumes are never removed: one that stops answering is skipped by
 * placement and its reads fail. */
#define VOLSET_REMOTE_MAX 4096
kerr volset_add_remote(volset *vs, const vol_remote_spec *spec, const char *secret);
void volset_close(volset *vs);
/* Volumes in the set; the stable id of the volume at index (0 if out of
 * range); the index of the volume with stable id uid (false if none).
 * Stable ids are random, kept with each volume's data, and unique in a set
 * (opening two directories with the same id is refused: K_EINVAL). */
size_t volset_count(const volset *vs);
uint64_t volset_volume_uid(const volset *vs, uint32_t index);
bool volset_find_uid(const volset *vs, uint64_t uid, uint32_t *index);
/* The same, for a location a record names: on a miss it calls the set's
 * miss hook (if any) once and looks again, so a set of datanode volumes
 * learns a volume that another gateway already writes to before its own
 * registry watcher gets there. Thread-safe as volset_find_uid. */
bool volset_resolve_uid(volset *vs, uint64_t uid, uint32_t *index);
/* Sets the miss hook (NULL: none). Called before the set is shared. The
 * hook may block (a registry read) and may add volumes (volset_append). */
void volset_set_miss_hook(volset *vs, void (*fn)(void *ctx), void *ctx);

/* Starts a needle of exactly len payload bytes (len may be 0) on the next
 * volume (round-robin) with enough free space above its reserve; K_ENOSPC
 * if none has, K_ETOOLARGE above 1 TiB. Writes, finishes and begins that
 * fail because the filesystem is full (ENOSPC, EDQUOT) answer K_ENOSPC too.
 *
 * Full volumes: a volume becomes "full" when a needle is refused for lack
 * of space while its free space is within a margin (1% of the filesystem,
 * at least 1 MiB, at most 1 GiB) of its reserve, or when its filesystem
 * answers ENOSPC; this is logged once (volume, directory, free bytes,
 * reserve). It stops being full, logged once too, when a free-space check
 * (at most one statvfs a second, made by the next write or by
 * volset_space_get) finds reserve + margin free again: no restart needed.
 * A needle merely larger than a volume's room (a big upload on a volume that
 * is not near its reserve) is refused with K_ENOSPC without marking the
 * volume full. */
kerr vol_writer_begin(volset *vs, uint64_t len, vol_writer **out);
/* The same on the volume at index only (a datanode placing a needle where
 * its client asked): K_ENOTFOUND if there is no such volume, K_ENOSPC if it
 * lacks room. */
kerr vol_writer_begin_on(volset *vs, uint32_t index, uint64_t len, vol_writer **out);
/* Chunkset chunks (issue 8, Kage's replicated chunksets; storage/chunkset.h).
 *
 * A chunkset is one chunk on each of several datanodes holding the same
 * needles at the same offsets, so that one location key (chunkset, offset)
 * names the needle on every replica. Such a chunk is "placed": its needles
 * go where the chunkset's master puts them, never by the volume's own
 * append (a placed chunk is never the volume's active chunk). It is open
 * (takes needles, is never compacted) until sealed; a sealed placed chunk
 * takes no needle and compacts like any other, keeping logical offsets.
 * The open state survives restarts (a marker file beside the chunk file).
 * Each replica has its own chunk id, in its volume's id space.
 *
 * vol_chunk_create_placed: a new, empty, open placed chunk on the volume at
 * index; *chunk gets its id. K_ENOSPC when the volume has less than 1 MiB
 * above its reserve (a full datanode takes no new chunkset). vol_chunk_seal:
 * seals a placed chunk (idempotent) and waits (up to 5 s) for the needles
 * begun in it before to finish, so that its list of needles is final when
 * it returns; K_EUNAVAILABLE if one is still being written then (sealed
 * all the same), K_ENOTFOUND if the volume has no such chunk. An open
 * placed chunk found when the volume opens (after a restart) takes replica
 * needles at given offsets but no append at its tail (K_ECONFLICT: the
 * chunkset is full), since a crash may have cut a needle short there.
 *
 * vol_writer_begin_at: a needle of len bytes in the open placed chunk
 * `chunk` of the volume at index, at offset `at` (a replica: the offset
 * the master chose), or at the chunk's tail when at is VOL_AT_TAIL (the
 * master; vol_writer_offset tells where). K_ECONFLICT if the chunk is not
 * an open placed chunk, at an offset where a live needle is, or (at the
 * tail) if the needle would take it past the volume's chunk size: the
 * chunkset is full. K_EINVAL for an offset that is not needle-aligned. A
 * needle written where a deleted or unfinished one is (an attempt that
 * failed on another replica) replaces it.
 * fwd (remote volumes only; n_fwd 0 elsewhere): the replicas a datanode
 * master forwards the needle to, at the same offset, before it answers
 * (storage/datanode.h, "append"); the writer then finishes only once every
 * replica is durable, and fails if any is not. */
#define VOL_AT_TAIL UINT64_MAX
typedef struct vol_replica {
    const char *address; /* HOST:PORT of the replica's datanode */
    uint64_t uid;        /* the replica's volume */
    uint32_t chunk;      /* its placed chunk */
} vol_replica;
#define VOL_MAX_REPLICAS 8
kerr vol_chunk_create_placed(volset *vs, uint32_t index, uint32_t *chunk);
kerr vol_chunk_seal(volset *vs, uint32_t index, uint32_t chunk);
/* Drops a chunk whole, its file and every needle in it (Kage's expiry: a
 * chunk whose time has passed costs one delete, not one per needle): reads
 * of its needles answer K_ENOTFOUND from then on, and its id is never
 * given to another chunk (the newest chunk's file is emptied and kept for
 * that). Idempotent; K_ECONFLICT for a chunk that still takes needles (the
 * volume's active chunk, an open placed chunk: seal it first), K_ENOTFOUND
 * for no such chunk. The caller decides that nothing live is in it. */
kerr vol_chunk_expire(volset *vs, uint32_t index, uint32_t chunk);
kerr vol_writer_begin_at(volset *vs, uint32_t index, uint32_t chunk, uint64_t at, uint64_t len,
                         const vol_replica *fwd, size_t n_fwd, vol_writer **out);
/* The complete needles of a chunk (any chunk; fsck and repair of
 * chunksets use it), in offset order, deleted ones flagged: *out is
 * malloc'ed (NULL when *n is 0). K_ENOTFOUND if the volume has no such
 * chunk. A needle still being written is not listed. */
typedef struct vol_needle {
    uint64_t offset, length;
    bool deleted;
} vol_needle;
kerr vol_chunk_needles(volset *vs, uint32_t index, uint32_t chunk, vol_needle **out, size_t *n);
/* Where a writer from vol_writer_begin_at puts its needle (chunk offset). */
uint64_t vol_writer_offset(const vol_writer *w);
/* The HOST:PORT of a remote volume at index (NULL for a local volume or an
 * index out of range); valid while the set is open. */
const char *volset_remote_address(const volset *vs, uint32_t index);

/* Appends payload; the total must not exceed len (K_EINVAL). */
kerr vol_writer_write(vol_writer *w, const void *p, size_t n);
/* Completes the needle (exactly len bytes must have been written, else
 * K_EINCOMPLETEBODY), makes it durable, frees w and sets *loc. w is freed
 * on every return, success or not: never abort it afterwards. */
kerr vol_writer_finish(vol_writer *w, vol_loc *loc);
/* Abandons the needle and frees w. */
void vol_writer_abort(vol_writer *w);

/* Reads n payload bytes starting at payload offset off of the needle at loc
 * into buf, verifying the checksum of every block touched. A needle marked
 * deleted still reads until compaction reclaims it (a reader holding an old
 * record finishes its stream). K_ENOTFOUND if no complete needle of
 * loc->length bytes starts at loc, K_EINVAL if
 * off + n > loc->length, K_ECORRUPT if a touched block fails its checksum
 * (buf then holds unspecified bytes). */
kerr vol_read(volset *vs, const vol_loc *loc, uint64_t off, void *buf, size_t n);

/* Marks the needle deleted (space is reclaimed by compaction). Idempotent;
 * K_ENOTFOUND if loc holds no needle. The flag is not fsynced: metadata is
 * the authority on what exists, the flag only tells compaction what it may
 * drop, and a flag lost in a crash leaks space, never data. */
kerr vol_delete(volset *vs, const vol_loc *loc);

/* Space of one volume, for health and metrics. free_bytes may be up to a
 * second stale (it is refreshed by statvfs at most once a second and kept
 * roughly honest between refreshes by subtracting the space reserved). */
typedef struct vol_space {
    uint64_t uid;              /* stable id */
    const char *name;          /* the volume's directory (valid while the set is open) */
    uint64_t free_bytes;       /* writable bytes on its filesystem (statvfs f_bavail) */
    uint64_t total_bytes;      /* size of its filesystem */
    uint64_t reserve_bytes;    /* the free-space reserve in force for that size */
    bool full;                 /* writes are being refused for lack of space (see above) */
    bool stat_failed;          /* the free-space check itself failed (K_EIO): values are 0 */
    uint64_t refusals;         /* needles refused for lack of space since the set opened */
    uint64_t chunks_compacted; /* chunk files rewritten or removed by compaction (set open) */
    uint64_t bytes_reclaimed;  /* bytes compaction gave back to the filesystem (set open) */
} vol_space;
/* Fills *out for the volume at index (refreshing free space if stale, which
 * may also end a full episode). K_EINVAL if index is out of range. */
kerr volset_space_get(volset *vs, uint32_t index, vol_space *out);

typedef struct volset_stats {
    uint64_t bytes_written, needles_written, fsyncs, bytes_read;
    uint64_t chunks_compacted; /* rewritten without their dead needles, or removed */
    uint64_t bytes_reclaimed;  /* file bytes given back to the filesystem by compaction */
} volset_stats;
void volset_stats_get(volset *vs, volset_stats *out);

/* Compaction (local volumes; a datanode compacts its own).
 *
 * Deleted needles, needles left incomplete by a crash or an abandoned
 * upload, and torn bytes are garbage. A pass scans every chunk whose
 * garbage may have crossed the threshold and rewrites it: the surviving
 * needles are copied into a new file that starts with a forwarding table
 * (logical offset -> file offset, see chunk.h), fsynced, and renamed over
 * the old file, so every location key stays valid and no metadata changes;
 * a chunk left with no needle is removed. Reads and deletes proceed during
 * the copy; a delete that lands meanwhile is carried over before the swap.
 * The active chunk is sealed (new needles go to a new chunk) and compacted
 * only when its garbage crosses the threshold and it is large (a quarter of
 * the chunk size) or its volume is full. A crash at any point leaves the
 * old or the new file, both complete (a leftover temporary file is removed
 * at open).
 *
 * volset_compact runs one pass over every local volume now (on the calling
 * thread; passes of one volume never overlap) with the set's threshold and
 * grace (threshold 0 is taken as 30 here), and adds what it did to *out (may
 * be NULL). seal_active: treat every volume as full (its active chunk is
 * sealed and compacted too when worth it), for an operator's "compact now". Errors of one chunk are
 * logged and the pass goes on; it returns the first error met (K_OK if none). */
typedef struct vol_compact_stats {
    uint64_t chunks_scanned;   /* chunks whose needles were walked */
    uint64_t chunks_compacted; /* rewritten, or removed (all garbage) */
    uint64_t chunks_removed;
    uint64_t needles_kept;    /* copied into rewritten chunks */
    uint64_t bytes_reclaimed; /* file bytes freed */
} vol_compact_stats;
kerr volset_compact(volset *vs, bool seal_active, vol_compact_stats *out);

#endif
