/* SPDX-License-Identifier: Apache-2.0 */
/* On-disk needle format inside a chunk file (internal to storage/).
 *
 * A chunk file (chunk-%08u.dat) is a concatenation of needles, each starting
 * at a multiple of NEEDLE_ALIGN. A needle is:
 *
 *   header     NEEDLE_HEADER_SIZE bytes, little-endian, see below
 *   crc table  one crc32c (u32 LE) per NEEDLE_BLOCK_SIZE block of payload
 *   padding    to NEEDLE_ALIGN
 *   payload    length bytes
 *   padding    to NEEDLE_ALIGN (never written; may be a hole)
 *
 * Header layout (offsets in bytes):
 *    0 u32 magic "KNDL"        4 u16 version        6 u16 flags
 *    8 u64 payload length     16 u32 block size    20 u32 volume id
 *   24 u32 chunk id           28 u32 reserved (0)  32 u64 needle offset
 *   40 u64 created (unix s)   48 u64 deleted (unix s; 0: not deleted, or
 *                              deleted by a version that did not record it)
 *   56 4 bytes reserved        60 u32 crc32c of [0,60)
 *
 * The header names its own volume, chunk and offset so that a location key
 * pointing into the middle of some payload (which may itself contain bytes
 * that look like a needle, e.g. a stored chunk file) is never mistaken for a
 * needle: a copy carries the wrong offset.
 *
 * Every field is fixed once the writer begins (length is known up front), so
 * the header is written first with only NEEDLE_F_COMPLETE clear; a scanner
 * can step over an unfinished needle by its length.
 */
#ifndef KURA_STORAGE_CHUNK_H
#define KURA_STORAGE_CHUNK_H

#include <stddef.h>
#include <stdint.h>

#include "common/bytes.h"
#include "common/err.h"

#define NEEDLE_MAGIC 0x4c444e4bu /* bytes "KNDL" when stored little-endian */
#define NEEDLE_VERSION 1
#define NEEDLE_HEADER_SIZE 64
#define NEEDLE_BLOCK_SIZE 65536u
#define NEEDLE_ALIGN 8u
#define NEEDLE_CRC_SIZE 4u
/* Larger needles are refused (K_ETOOLARGE): bounds every size computation
 * far away from overflow; S3 caps a single PUT or part at 5 GiB anyway. */
#define NEEDLE_MAX_LENGTH (UINT64_C(1) << 40)

#define NEEDLE_F_COMPLETE 0x1u /* payload, crc table and header all written */
#define NEEDLE_F_DELETED 0x2u  /* vol_delete; still readable until compaction */
/* Deleted, and its payload pages given back to the filesystem (a hole
 * punched by compaction): reads return K_ENOTFOUND. */
#define NEEDLE_F_RECLAIMED 0x4u

typedef struct needle_header {
    uint16_t version;
    uint16_t flags;
    uint32_t block_size;
    uint64_t length;
    uint32_t volume;
    uint32_t chunk;
    uint64_t offset;
    uint64_t created;
    uint64_t deleted; /* when NEEDLE_F_DELETED was set (unix s), 0 if unknown */
} needle_header;

static inline uint64_t needle_align_up(uint64_t x) {
    return (x + NEEDLE_ALIGN - 1) & ~(uint64_t)(NEEDLE_ALIGN - 1);
}

/* Number of payload blocks, i.e. crc table entries. */
static inline uint64_t needle_blocks(uint64_t length) {
    return (length + NEEDLE_BLOCK_SIZE - 1) / NEEDLE_BLOCK_SIZE;
}

/* Offset of the payload from the needle start. */
static inline uint64_t needle_payload_start(uint64_t length) {
    return needle_align_up(NEEDLE_HEADER_SIZE + NEEDLE_CRC_SIZE * needle_blocks(length));
}

/* Bytes the needle occupies in its chunk, padding included. */
static inline uint64_t needle_size(uint64_t length) {
    return needle_align_up(needle_payload_start(length) + length);
}

/* Serialises h (magic and header crc added). */
void needle_header_encode(const needle_header *h, uint8_t out[NEEDLE_HEADER_SIZE]);
/* Parses and checks magic, version and header crc; K_ENOTFOUND if the bytes
 * are not a needle header. Flags are returned as stored, not judged. */
kerr needle_header_decode(const uint8_t in[NEEDLE_HEADER_SIZE], needle_header *h);

/* A compacted chunk file (volume_local.c, "Compaction") starts with this
 * header instead of a needle, then its forwarding table, then the surviving
 * needles, which keep their original (logical) offset in their headers:
 *
 *    0 u32 magic "KCMP"     4 u16 version (1)   6 u16 reserved
 *    8 u32 volume id       12 u32 chunk id      16 u64 entries
 *   24 u64 data start      32 u64 compacted at (unix s)
 *   40 16 bytes reserved   56 u32 crc32c of the table   60 u32 crc32c of [0,60)
 *   64 table: entries x (u64 logical offset, u64 file offset), sorted by
 *      logical offset; the needles start at data start (a multiple of 4096).
 */
#define CHUNK_COMPACT_MAGIC 0x504d434bu /* "KCMP" */
#define CHUNK_COMPACT_VERSION 1
#define CHUNK_COMPACT_HEADER_SIZE 64
#define CHUNK_COMPACT_ENTRY_SIZE 16

typedef struct chunk_compact_header {
    uint32_t volume, chunk;
    uint64_t entries, data_start, compacted;
    uint32_t table_crc;
} chunk_compact_header;

void chunk_compact_header_encode(const chunk_compact_header *h,
                                 uint8_t out[CHUNK_COMPACT_HEADER_SIZE]);
/* K_ENOTFOUND if the bytes are not a compacted chunk header (magic, version
 * or crc wrong). */
kerr chunk_compact_header_decode(const uint8_t in[CHUNK_COMPACT_HEADER_SIZE],
                                 chunk_compact_header *h);

/* CRC32C (Castagnoli) taking and returning the finished value so that calls
 * chain: c = crc32c_chain(0, a, na); c = crc32c_chain(c, b, nb). */
uint32_t crc32c_chain(uint32_t crc, const void *p, size_t n);

#endif
