/* SPDX-License-Identifier: Apache-2.0 */
/* The volume interface behind volset (internal to storage/).
 *
 * A volset dispatches every call through volume_ops so that a remote datanode
 * volume can implement the same interface as the local directory volume.
 * Implementations embed `volume` and `vol_writer` as their first members.
 *
 * Contract for implementations:
 * - All ops except the writer ops are thread-safe.
 * - begin reserves space for exactly len payload bytes and returns a writer
 *   whose base fields are filled (ops, vol, len, written = 0).
 * - write must reject (K_EINVAL, nothing accepted) a call that would exceed
 *   len, and keep memory per writer bounded whatever len is.
 * - finish always consumes the writer, also on error; on success the needle
 *   is durable (unless the volset was opened with sync = false) and loc
 *   holds chunk, offset and length (the volset fills loc->volume).
 * - read and del get a loc whose volume field is this volume's index.
 * - open sets uid: a random 64-bit id kept with the volume's data for good
 *   (a local directory stores it in volume.id), never 0, unique in the set.
 * - free_space reports bytes still writable (free on the filesystem, less
 *   what writers have reserved and not written yet) and the backing
 *   filesystem's size, for placement; it may be stale by a second or so,
 *   unless fresh is set or an op just failed for lack of space (then it
 *   measures again).
 * - Lack of space (ENOSPC, EDQUOT) is K_ENOSPC from every op and is not
 *   logged by the implementation: the volset logs a full volume once per
 *   episode.
 * - Counters in `counters` that the volset cannot see (fsyncs) are
 *   maintained by the implementation.
 */
#ifndef KURA_STORAGE_VOLUME_IMPL_H
#define KURA_STORAGE_VOLUME_IMPL_H

#include <stdatomic.h>

#include "storage/volume.h"

typedef struct volume volume;

typedef struct volset_counters {
    _Atomic uint64_t bytes_written, needles_written, fsyncs, bytes_read;
    _Atomic uint64_t chunks_compacted, bytes_reclaimed;
} volset_counters;

/* What one compaction pass of a volume is asked to do (volset_compact). */
typedef struct vol_compact_params {
    uint32_t threshold;       /* percent of a chunk's file that must be reclaimable */
    uint32_t grace_s;         /* keep needles deleted less than this long ago */
    bool pressed;             /* the volume is full: seal and compact the active chunk too */
    uint64_t copy_room;       /* free bytes a rewrite must leave on the filesystem */
    const _Atomic bool *stop; /* the set is closing: end the pass after this chunk */
} vol_compact_params;

typedef struct volume_ops {
    const char *kind; /* "local", "remote" */
    kerr (*begin)(volume *v, uint64_t len, vol_writer **out);
    kerr (*write)(vol_writer *w, const void *p, size_t n);
    kerr (*finish)(vol_writer *w, vol_loc *loc);
    void (*abort)(vol_writer *w);
    kerr (*read)(volume *v, const vol_loc *loc, uint64_t off, void *buf, size_t n);
    kerr (*del)(volume *v, const vol_loc *loc);
    kerr (*free_space)(volume *v, bool fresh, uint64_t *avail, uint64_t *total);
    /* Optional (NULL: the volume is compacted elsewhere, e.g. by its
     * datanode). One pass; adds to *st. Never called concurrently for the
     * same volume. */
    kerr (*compact)(volume *v, const vol_compact_params *p, vol_compact_stats *st);
    void (*close)(volume *v);
    /* Placed chunks (volume.h, "Chunkset chunks"); the writer's `at` is
     * filled by begin_at. fwd is only for remote volumes. */
    kerr (*begin_at)(volume *v, uint32_t chunk, uint64_t at, uint64_t len, const vol_replica *fwd,
                     size_t n_fwd, vol_writer **out);
    kerr (*chunk_create)(volume *v, uint32_t *chunk);
    kerr (*chunk_seal)(volume *v, uint32_t chunk);
    kerr (*chunk_expire)(volume *v, uint32_t chunk);
    kerr (*chunk_needles)(volume *v, uint32_t chunk, vol_needle **out, size_t *n);
    /* HOST:PORT for a remote volume, NULL for a local one. */
    const char *(*address)(const volume *v);
} volume_ops;

struct volume {
    const volume_ops *ops;
    const char *name; /* for logs and health: a local volume's directory */
    uint32_t id;      /* index in the volset (position in the data directory list) */
    uint64_t uid;     /* stable id, never 0: names the volume in location keys */
    volset_counters *counters;
    volset *set; /* the set it belongs to (filled by the volset) */
};

struct vol_writer {
    const volume_ops *ops;
    volume *vol;
    uint64_t len;     /* declared payload length */
    uint64_t written; /* payload bytes accepted so far */
    uint64_t at;      /* begin_at: the needle's offset in its chunk */
};

/* A set over already opened volumes: on success the set owns them (closed
 * with it), on failure they stay the caller's. Fills each volume's
 * id (its index), set and counters. Reserve settings come from opts. cap
 * (>= n) is how many volumes the set can hold: volset_append adds up to
 * cap - n more. */
kerr volset_from_volumes(volume **vols, size_t n, size_t cap, const volset_opts *opts,
                         volset **out);
/* Adds v as the next volume (index = count so far), safely against every
 * concurrent op (the count is published after the slot is filled). The set
 * owns v on success; K_ECONFLICT if a volume with its uid is in the set,
 * K_ETOOLARGE when the set is at its capacity (v stays the caller's). */
kerr volset_append(volset *vs, volume *v);

/* Opens (creating if needed) the local volume in dir as volume id. */
kerr local_volume_open(const char *dir, uint32_t id, const volset_opts *opts,
                       volset_counters *counters, volume **out);

#endif
