/* SPDX-License-Identifier: Apache-2.0 */
#include "storage/chunk.h"

#include <isa-l.h>
#include <string.h>

uint32_t crc32c_chain(uint32_t crc, const void *p, size_t n) {
    const unsigned char *s = p;
    /* crc32_iscsi takes an int length. */
    const size_t step = (size_t)1 << 30;
    crc = ~crc;
    while (n > 0) {
        size_t take = n < step ? n : step;
        crc = crc32_iscsi((unsigned char *)s, (int)take, crc);
        s += take;
        n -= take;
    }
    return ~crc;
}

void needle_header_encode(const needle_header *h, uint8_t out[NEEDLE_HEADER_SIZE]) {
    memset(out, 0, NEEDLE_HEADER_SIZE);
    store_le32(out + 0, NEEDLE_MAGIC);
    out[4] = (uint8_t)h->version;
    out[5] = (uint8_t)(h->version >> 8);
    out[6] = (uint8_t)h->flags;
    out[7] = (uint8_t)(h->flags >> 8);
    store_le64(out + 8, h->length);
    store_le32(out + 16, h->block_size);
    store_le32(out + 20, h->volume);
    store_le32(out + 24, h->chunk);
    store_le64(out + 32, h->offset);
    store_le64(out + 40, h->created);
    store_le64(out + 48, h->deleted);
    store_le32(out + 60, crc32c_chain(0, out, 60));
}

kerr needle_header_decode(const uint8_t in[NEEDLE_HEADER_SIZE], needle_header *h) {
    if (load_le32(in) != NEEDLE_MAGIC) return K_ENOTFOUND;
    if (load_le32(in + 60) != crc32c_chain(0, in, 60)) return K_ENOTFOUND;
    h->version = (uint16_t)(in[4] | in[5] << 8);
    if (h->version != NEEDLE_VERSION) return K_ENOTFOUND;
    h->flags = (uint16_t)(in[6] | in[7] << 8);
    h->length = load_le64(in + 8);
    h->block_size = load_le32(in + 16);
    h->volume = load_le32(in + 20);
    h->chunk = load_le32(in + 24);
    h->offset = load_le64(in + 32);
    h->created = load_le64(in + 40);
    h->deleted = load_le64(in + 48);
    return K_OK;
}

void chunk_compact_header_encode(const chunk_compact_header *h,
                                 uint8_t out[CHUNK_COMPACT_HEADER_SIZE]) {
    memset(out, 0, CHUNK_COMPACT_HEADER_SIZE);
    store_le32(out + 0, CHUNK_COMPACT_MAGIC);
    out[4] = CHUNK_COMPACT_VERSION;
    store_le32(out + 8, h->volume);
    store_le32(out + 12, h->chunk);
    store_le64(out + 16, h->entries);
    store_le64(out + 24, h->data_start);
    store_le64(out + 32, h->compacted);
    store_le32(out + 56, h->table_crc);
    store_le32(out + 60, crc32c_chain(0, out, 60));
}

kerr chunk_compact_header_decode(const uint8_t in[CHUNK_COMPACT_HEADER_SIZE],
                                 chunk_compact_header *h) {
    if (load_le32(in) != CHUNK_COMPACT_MAGIC) return K_ENOTFOUND;
    if (load_le32(in + 60) != crc32c_chain(0, in, 60)) return K_ENOTFOUND;
    if ((in[4] | in[5] << 8) != CHUNK_COMPACT_VERSION) return K_ENOTFOUND;
    h->volume = load_le32(in + 8);
    h->chunk = load_le32(in + 12);
    h->entries = load_le64(in + 16);
    h->data_start = load_le64(in + 24);
    h->compacted = load_le64(in + 32);
    h->table_crc = load_le32(in + 56);
    return K_OK;
}
