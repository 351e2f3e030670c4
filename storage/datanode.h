/* SPDX-License-Identifier: Apache-2.0 */
/* The datanode: a process serving its local volumes over HTTP to the
 * gateways of a storage cluster (issue 8, Kage's datanodes), and the
 * protocol it speaks. `kura datanode` (gateway/main.c) only wires this
 * module; storage/volume_remote.c is its client, storage/dnreg.h its
 * registration in the metadata store.
 *
 * Protocol (version 1, internal to a cluster, plain HTTP/1.1):
 *
 *   PUT    /v1/volumes/UID/needles?len=N        body: the N payload bytes
 *          -> 200 {"volume":"UID","chunk":C,"offset":O,"length":N,
 *                  "crc32c":"XXXXXXXX"}
 *          Streamed into the volume with stable id UID (16 lowercase hex
 *          digits, see volume.h) as the body arrives: at most one 256 KiB
 *          buffer per request whatever N. Durable (group-committed fsync)
 *          before the answer. crc32c is the CRC32C of the payload as
 *          received; the client compares it with its own (see "Bodies").
 *   GET    /v1/volumes/UID/needles/C/O?len=N    optional Range: bytes=A-B
 *          -> 200 (whole payload) or 206 (the range), every touched 64 KiB
 *          block verified against the needle's CRC32C table before any byte
 *          is sent. A range is at most DN_MAX_READ bytes (clients split
 *          longer ones): the answer is read and verified whole, then sent,
 *          so a corrupt block is an error status, never wrong bytes.
 *   DELETE /v1/volumes/UID/needles/C/O?len=N    -> 204 (idempotent)
 *   POST   /v1/volumes/UID/chunks
 *          -> 200 {"chunk":C}: a new placed chunk for a chunkset (volume.h,
 *          "Chunkset chunks"), open until sealed.
 *   POST   /v1/volumes/UID/chunks/C/seal          -> 204 (idempotent)
 *   DELETE /v1/volumes/UID/chunks/C               -> 204 (idempotent)
 *          The chunk expires whole (volume.h vol_chunk_expire): its file
 *          and every needle in it go at once; 409 ECONFLICT while it still
 *          takes needles (seal it first), 404 for no such chunk.
 *   GET    /v1/volumes/UID/chunks/C/needles
 *          -> 200 text/plain, one line "OFFSET LENGTH DELETED" (DELETED 0|1)
 *          per complete needle of chunk C, in offset order (fsck, repair).
 *   PUT    /v1/volumes/UID/chunks/C/needles/O?len=N   body: the payload
 *          -> 200 as a needle PUT: a replica's copy at offset O of its
 *          placed chunk C (409 ECONFLICT if C is sealed or not placed, or a
 *          live needle is at O).
 *   PUT    /v1/volumes/UID/chunks/C/append?len=N[&fwd=HOST:PORT/UID/C]...
 *          -> 200 as a needle PUT, with the offset it chose: the chunkset
 *          master appends the needle at its chunk's tail and streams it, as
 *          it arrives, to every fwd replica (at most 8) at that offset
 *          (signed requests of its own); it answers 200 only once its own
 *          copy and every replica's are durable and every replica echoed
 *          the same length, offset and CRC32C. Otherwise every copy made is
 *          deleted and the answer is 409 ECONFLICT (the chunk is full or
 *          sealed, or a replica refused the offset: the client seals the
 *          chunkset) or 503 EUNAVAILABLE (a replica failed or does not
 *          answer: the client tries another chunkset).
 *   POST   /v1/compact
 *          -> 200 {"scanned":N,"compacted":N,"removed":N,"kept":N,
 *                  "reclaimed":BYTES}
 *          A compaction pass now (volume.h, volset_compact with
 *          seal_active): what the datanode's own compactor does on its
 *          interval, on demand. Location keys stay valid.
 *   GET    /health
 *          -> 200 {"id":"ID","zone":Z,"media":M,"address":A,"volumes":[
 *                  {"uid":"UID","free":F,"total":T,"reserve":R,"avail":V,
 *                   "full":false,"compacted":N,"reclaimed":BYTES}...]}
 *          avail = free space above the volume's reserve (what a client may
 *          still place there); full as in volume.h; compacted and reclaimed
 *          count compaction's work since the datanode started.
 *
 * Errors: a status and `X-Kura-Error: NAME` (kerr_name, e.g. ECORRUPT,
 * ENOTFOUND, ENOSPC) with a one-line text body: 403 authentication, 404 no
 * such volume or needle, 400 malformed, 409 ECONFLICT (chunkset chunk),
 * 416 bad range, 500 ECORRUPT/EIO, 503 EUNAVAILABLE, 507 ENOSPC, 413 too
 * large.
 *
 * Authentication: every request (health too) carries
 *   X-Kura-Date: UNIX_SECONDS
 *   X-Kura-Content-SHA256: HEX64 | UNSIGNED-PAYLOAD
 *   Authorization: KURA-HMAC-SHA256 HEX64
 * where HEX64 of Authorization is HMAC-SHA256(secret, METHOD "\n" PATH
 * ["?" QUERY] "\n" DATE "\n" CONTENT-SHA256) in lowercase hex, PATH and
 * QUERY exactly as sent on the request line. A missing or wrong signature,
 * or a date more than DN_MAX_SKEW_S from the datanode's clock, is 403
 * before anything is read or written (the body of a refused PUT is never
 * stored). Bodyless requests sign the SHA-256 of the empty string.
 *
 * Bodies: needle PUTs sign UNSIGNED-PAYLOAD, so that a body streams
 * without being hashed twice or buffered (the signature still binds method,
 * volume and length). Accidental corruption in transit is caught by the
 * CRC32C of the payload the datanode echoes, which the client compares with
 * its own at finish (a mismatch fails the write and deletes the needle);
 * bytes at rest are covered by the needle's per-block CRC32C. An attacker
 * on the path could alter an unsigned body: a cluster network that is not
 * trusted needs TLS between gateways and datanodes (not done yet). A
 * signed request can be replayed within the skew window; every operation
 * of protocol 1 is idempotent or only appends unreferenced bytes.
 *
 * Contract: dn_start returns once the daemon listens; requests run on
 * libmicrohttpd's threads (one per connection), the volset is shared
 * (thread-safe). dn_stop stops the daemon and waits for requests under
 * way; it does not close the volset (the caller owns it). Errors from
 * dn_start: K_ECONFLICT address in use, K_EIO any other failure to listen.
 */
#ifndef KURA_STORAGE_DATANODE_H
#define KURA_STORAGE_DATANODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "storage/volume.h"

#define DN_MAX_SKEW_S 300
#define DN_MAX_READ (4u << 20)
#define DN_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
/* SHA-256 of the empty string: the content hash of a bodyless request. */
#define DN_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* The signature of a request, as 64 lowercase hex digits and a NUL. */
void dn_sign(const char *secret, const char *method, const char *path_query, const char *date,
             const char *content_sha256, char out[65]);

typedef struct dn_opts {
    const char *host; /* address to listen on */
    int port;         /* 0: any free port (dn_port tells which) */
    const char *secret;
    const char *id;      /* the datanode's stable id (16 hex), for health */
    const char *zone;    /* for health */
    const char *media;   /* "ssd" or "hdd", for health */
    const char *address; /* HOST:PORT clients use, for health */
    unsigned max_connections;
} dn_opts;

typedef struct datanode datanode;

/* Serves vs (borrowed; it must outlive the datanode). Strings in o are
 * copied. */
kerr dn_start(volset *vs, const dn_opts *o, datanode **out);
int dn_port(const datanode *d);
void dn_stop(datanode *d);

/* The stable id of a datanode kept in dir (its first data directory):
 * file datanode.id holding 16 hex digits, created with a random non-zero
 * id on first use. K_EIO if it cannot be read or written, K_ECORRUPT if it
 * is damaged. */
kerr dn_load_id(const char *dir, uint64_t *out);

#endif
