/* SPDX-License-Identifier: Apache-2.0 */
/* Hashes, MACs, checksums and their encodings.
 *
 * Contract:
 * - Digest algorithms (MD5, SHA-1, SHA-256) and HMAC use OpenSSL 3; the
 *   EVP_MD objects are fetched once per process (thread-safe lazy init).
 * - khash objects are heap-owned by the caller (khash_free) and not
 *   thread-safe; the free functions (hmac_*, sha256_hex, crc*) are.
 * - CRC32 is the zlib/gzip polynomial, CRC32C Castagnoli (both via ISA-L),
 *   CRC64NVME is poly 0xAD93D23594C93659 reflected (ISA-L 2.30 lacks it, so
 *   kura carries its own; check("123456789") = 0xAE8B14860A799888). All take
 *   and return the finished CRC value, so they chain: crc = crc32_update(crc,
 *   p, n) starting from 0.
 */
#ifndef KURA_COMMON_HASH_H
#define KURA_COMMON_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { KH_MD5, KH_SHA1, KH_SHA256 } khash_alg;

typedef struct khash khash;
khash *khash_new(khash_alg alg);
void khash_update(khash *h, const void *p, size_t n);
/* Writes the digest (16, 20 or 32 bytes) and returns its length. The object
 * can be reused only after khash_reset. */
size_t khash_final(khash *h, uint8_t out[32]);
void khash_reset(khash *h);
void khash_free(khash *h);

void md5_digest(const void *p, size_t n, uint8_t out[16]);
void sha256_digest(const void *p, size_t n, uint8_t out[32]);
void sha256_hex(const void *p, size_t n, char out[65]);
void hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen, uint8_t out[32]);
void hmac_sha1(const void *key, size_t klen, const void *msg, size_t mlen, uint8_t out[20]);

uint32_t crc32_update(uint32_t crc, const void *p, size_t n);
uint32_t crc32c_update(uint32_t crc, const void *p, size_t n);
uint64_t crc64nvme_update(uint64_t crc, const void *p, size_t n);
/* Always the portable slice-by-16 table path, and whether crc64nvme_update
 * uses PCLMULQDQ folding on this CPU (tests and benchmarks compare them). */
uint64_t crc64nvme_update_table(uint64_t crc, const void *p, size_t n);
bool crc64nvme_have_clmul(void);
/* crc(A||B) from crc(A), crc(B) and len(B): used to build full-object CRCs of
 * multipart uploads from per-part CRCs. */
uint32_t crc32_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);
uint32_t crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);
uint64_t crc64nvme_combine(uint64_t crc_a, uint64_t crc_b, uint64_t len_b);

/* Lowercase hex; out gets 2n chars and a NUL. */
void hex_encode(const uint8_t *p, size_t n, char *out);
/* Returns bytes written, or -1 on bad input or if out (outcap) is too small. */
int hex_decode(const char *s, size_t n, uint8_t *out, size_t outcap);
/* Standard alphabet with padding; out needs 4*((n+2)/3)+1; returns length. */
size_t base64_encode(const uint8_t *p, size_t n, char *out);
/* Strict standard-alphabet decode (padding required); -1 on error. */
int base64_decode(const char *s, size_t n, uint8_t *out, size_t outcap);

/* Whole-object checksums, streaming: the algorithms S3's flexible checksums
 * (and the chunk format) use. Protocol spellings of header names live in the
 * front ends. */
typedef enum {
    CK_NONE = 0,
    CK_CRC32,
    CK_CRC32C,
    CK_CRC64NVME,
    CK_SHA1,
    CK_SHA256,
    CK__COUNT
} cksum_alg;

typedef struct cksum {
    cksum_alg alg;
    uint64_t crc;
    khash *h; /* for SHA algorithms */
} cksum;

/* "CRC32", "crc32", ... -> alg; CK_NONE if unknown. */
cksum_alg cksum_alg_from_name(const char *name, size_t n);
/* Upper-case name: "CRC32", "CRC64NVME". */
const char *cksum_alg_name(cksum_alg alg);
size_t cksum_len(cksum_alg alg); /* raw digest bytes: 4, 4, 8, 20, 32 */
void cksum_init(cksum *c, cksum_alg alg);
void cksum_update(cksum *c, const void *p, size_t n);
/* Raw digest, big-endian for CRCs (as S3 encodes them); returns length. */
size_t cksum_final(cksum *c, uint8_t out[32]);
void cksum_free(cksum *c);

#endif
