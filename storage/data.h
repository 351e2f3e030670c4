/* SPDX-License-Identifier: Apache-2.0 */
/* The data layer: an object's bytes in, typed location keys out.
 *
 * The object service hands the data layer a body (of known or unknown
 * length) under a placement policy and gets back the run of location keys
 * that hold it; it reads any byte range of such a run back, and releases a
 * run when the object is gone. How the bytes are stored — one needle in a
 * local volume today; a needle replicated over a chunkset of datanodes, or
 * an RS(k,m) stripe over k+m datanodes with the storage-cluster issue — is
 * the layer's business: callers never see volumes, chunks, needle framing or
 * checksum block sizes.
 *
 * Location keys (data_loc) are typed and versioned, and encode to a short
 * variable-length byte string for metadata records:
 *   byte 0  kind (data_loc_kind)
 *   byte 1  format version of that kind (1)
 *   then the kind's fields as unsigned LEB128 varints:
 *   DLOC_VOLUME        volume uid, chunk, offset, length
 *   DLOC_VOLUME_INDEX  volume position, chunk, offset, length
 *   DLOC_CHUNKSET      chunkset id, 0, offset, length (storage/chunkset.h:
 *                      the same offset in every member's chunk)
 *   DLOC_STRIPE        stripeset id, 0, offset, length (the stripe's data
 *                      bytes; its blocks at that offset on every member)
 * DLOC_VOLUME names its volume by the volume's stable id (kept in the
 * volume's own directory), so it stays valid whatever the order of volumes
 * on a command line. DLOC_VOLUME_INDEX exists only for records written
 * before stable ids (which named volumes by position); such keys are read
 * and released as they are, never produced for new data. Kinds 5 and up are
 * reserved (key-map entries of Cave's migration); decoding them today is
 * K_ENOTIMPL, decoding garbage K_ECORRUPT.
 *
 * Placement policy (data_policy): replicas, RS k and m, and the size
 * threshold between replication and erasure coding. The local policy of
 * the embedded default stores one copy in a local volume whatever the
 * knobs say; the layer keeps them for the policies to come.
 *
 * Bodies: a body of known length becomes one needle; a body of unknown
 * length (HTTP chunked without a declared length) becomes segments of at
 * most DATA_SEGMENT_SIZE, each durable on its own, in order. Memory per
 * upload is bounded (one segment buffer for unknown lengths, nothing for
 * known ones).
 *
 * Contract:
 * - A data_layer is thread-safe. A data_put and a data_reader are used by
 *   one thread at a time.
 * - data_put_finish returns only once every byte is durable (group-committed
 *   fsyncs) and consumes the writer on every return; on failure nothing it
 *   wrote stays referenced. data_put_abort releases what was written.
 * - Reads verify stored checksums: K_ECORRUPT on a mismatch, K_ENOTFOUND if
 *   a key does not name stored data (e.g. its volume is not in this set),
 *   K_EINVAL for a range outside the run.
 * - Releasing marks data reclaimable; readers holding a key keep reading
 *   until compaction (see storage/volume.h).
 * - Arrays returned by data_put_finish are malloc'ed; the caller frees them.
 */
#ifndef KURA_STORAGE_DATA_H
#define KURA_STORAGE_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "meta/kv.h"
#include "storage/volume.h"

typedef enum data_loc_kind {
    DLOC_VOLUME = 1,       /* needle in the volume with stable id `volume` */
    DLOC_VOLUME_INDEX = 2, /* legacy: needle in the volume at position `volume` */
    DLOC_CHUNKSET = 3,     /* needle in the chunkset with id `volume` (chunk 0) */
    DLOC_STRIPE = 4,       /* RS stripe in the stripeset with id `volume` (chunk 0) */
} data_loc_kind;

typedef struct data_loc {
    uint8_t kind;    /* data_loc_kind */
    uint64_t volume; /* stable id (DLOC_VOLUME), position (DLOC_VOLUME_INDEX) or
                        chunkset id (DLOC_CHUNKSET) */
    uint32_t chunk;
    uint64_t offset;
    uint64_t length; /* payload bytes */
} data_loc;

/* Longest encoding: 2 bytes + 4 varints (<= 10, 5, 10, 10 bytes). */
#define DATA_LOC_MAX_ENCODED 37
/* Returns the encoded length (<= DATA_LOC_MAX_ENCODED). */
size_t data_loc_encode(const data_loc *l, uint8_t out[DATA_LOC_MAX_ENCODED]);
/* Decodes one key from in[0..n); *used gets its length. K_ECORRUPT for a
 * malformed key, K_ENOTIMPL for a kind this build cannot read. */
kerr data_loc_decode(const uint8_t *in, size_t n, data_loc *l, size_t *used);
/* The key a pre-stable-id record's fixed 24-byte vol_loc stood for. */
void data_loc_from_legacy(const vol_loc *v, data_loc *out);

typedef struct data_policy {
    uint32_t replicas;           /* copies of an object below ec_threshold */
    uint32_t ec_k, ec_m;         /* RS(k,m) for objects of at least ec_threshold */
    uint64_t ec_threshold;       /* bytes */
    uint32_t min_open_chunksets; /* open chunksets a gateway keeps (0: 1) */
    uint32_t chunkset_avg_fill;  /* percent: chunkset.h cs_alloc (0: off) */
    uint32_t chunkset_min_fill;  /* percent: chunkset.h cs_alloc (0: off) */
    const char *zone;            /* the gateway's zone, or NULL (borrowed) */
} data_policy;

typedef struct data_layer data_layer;

/* The embedded default: one copy in the local volumes of vs (borrowed; it
 * must outlive the layer). policy may be NULL (defaults 3, 6+3, 1 MiB). */
kerr data_open_local(volset *vs, const data_policy *policy, data_layer **out);
/* The storage cluster: every object as needles replicated over chunksets
 * of policy->replicas (>= 2) datanodes (storage/chunkset.h), registered in
 * meta; vs holds the datanodes' volumes (volset_open_remote, grown by the
 * registry watcher). Bodies are written in buffered segments of at most
 * DATA_SEGMENT_SIZE, each retried on another chunkset when one cannot take
 * it; a full segment is stored by a thread of its own while the next one
 * fills, so receiving the body and sending it to the datanodes overlap
 * (memory per upload: one segment, two for bodies longer than one, plus
 * the parity of a stripe). A segment of ec_threshold bytes
 * or more is one RS(ec_k, ec_m) stripe over a stripeset of ec_k + ec_m
 * datanodes (chunkset.h) when ec_m > 0 and that many are up; otherwise it
 * is replicated like the others (logged). Keys of the local kinds (data
 * written before, with one copy) still read. */
kerr data_open_cluster(volset *vs, kv *meta, const data_policy *policy, data_layer **out);
/* The chunkset pool of a cluster layer (NULL for the local one), for its
 * statistics (storage/chunkset.h, cs_pool_stats_get). */
struct cs_pool *data_chunksets(data_layer *d);
void data_close(data_layer *d);
void data_policy_get(const data_layer *d, data_policy *out);

#define DATA_SIZE_UNKNOWN UINT64_MAX
#define DATA_SEGMENT_SIZE (8u << 20)

typedef struct data_put data_put;
/* size: exact body length, or DATA_SIZE_UNKNOWN. K_ENOSPC when no volume has
 * room above its free-space reserve, K_ETOOLARGE above the largest storable
 * object. Writing and finishing answer K_ENOSPC too when the storage fills
 * up under way (a body of unknown length is placed segment by segment). */
kerr data_put_begin(data_layer *d, uint64_t size, data_put **out);
/* K_EINVAL past the declared size (nothing accepted). */
kerr data_put_write(data_put *w, const void *p, size_t n);
/* Bytes accepted so far. */
uint64_t data_put_written(const data_put *w);
/* Makes the body durable and returns its run of keys (*n >= 1; one key of
 * length 0 for an empty body). K_EINCOMPLETEBODY if fewer bytes than the
 * declared size arrived. Consumes w. */
kerr data_put_finish(data_put *w, data_loc **locs, uint32_t *n);
void data_put_abort(data_put *w);

/* Reads n bytes at offset off of the single key l. */
kerr data_read(data_layer *d, const data_loc *l, uint64_t off, void *buf, size_t n);
/* Reads n bytes at offset off of the run (offsets across keys, in order). */
kerr data_read_run(data_layer *d, const data_loc *run, uint32_t nrun, uint64_t off, void *buf,
                   size_t n);
/* Marks the data of every key of the run reclaimable; errors are logged
 * (a key already gone is not an error). */
void data_release(data_layer *d, const data_loc *run, uint32_t nrun);

/* Space of the storage the layer writes to, for health and metrics (issue
 * 15 exposes it): one entry per device — a local volume today, a datanode
 * later — in the order of the data directory list, with its free bytes, the
 * reserve in force and whether writes to it are being refused for lack of
 * space (storage/volume.h, "Full volumes"). Returns the number of devices
 * and fills the first max of them (out may be NULL when max is 0). */
size_t data_space(data_layer *d, vol_space *out, size_t max);

/* Sequential reader of the byte range [off, off+len) of a run, for
 * streaming responses: reads ahead in windows aligned to the storage's
 * checksum blocks so each block is verified once. Copies run. Open reads
 * the first window already (a GET's headers go out after it): bytes that
 * cannot be read there fail the open (K_ECORRUPT when every copy that
 * answered was corrupt, K_EUNAVAILABLE when too few answered), so the
 * client gets an error status rather than a body that stops short; a
 * failure further on ends the stream early (data_reader_read -1). */
typedef struct data_reader data_reader;
kerr data_reader_open(data_layer *d, const data_loc *run, uint32_t nrun, uint64_t off, uint64_t len,
                      data_reader **out);
/* Copies up to max bytes of the range starting pos bytes into it (pos may
 * move backwards or jump; reading sequentially is what is fast). Returns
 * bytes copied, 0 at the end of the range, -1 on an error
 * (data_reader_error tells which). */
ssize_t data_reader_read(data_reader *r, uint64_t pos, void *buf, size_t max);
kerr data_reader_error(const data_reader *r);
void data_reader_close(data_reader *r);

#endif
