/* SPDX-License-Identifier: Apache-2.0 */
/* Local volumes: needle round trips, chunk rollover, restart, crash tails,
 * corruption, deletion, length checks, group commit, volume identity. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "storage/chunk.h"
#include "storage/volume.h"

#define KiB 1024u
#define MiB (1024u * 1024u)
#define BS NEEDLE_BLOCK_SIZE

/* ---- helpers ---- */

static uint64_t rng_next(uint64_t *s) {
    /* xorshift64*: deterministic per test so failures reproduce. */
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * UINT64_C(2685821657736338717);
}

static uint64_t rng_below(uint64_t *s, uint64_t n) {
    return n ? rng_next(s) % n : 0;
}

static uint8_t *random_bytes(uint64_t seed, size_t n) {
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    uint64_t s = seed * 0x9E3779B97F4A7C15u + 1;
    for (size_t i = 0; i < n; i++) {
        if (i % 8 == 0) rng_next(&s);
        p[i] = (uint8_t)(s >> (8 * (i % 8)));
    }
    return p;
}

static char *make_tmpdir(void) {
    char *t = strdup("/tmp/kura-storage-test-XXXXXX");
    assert_non_null(mkdtemp(t));
    return t;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_rf(char *dir) {
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

static char *path_in(const char *dir, const char *fmt, unsigned id) {
    char name[64];
    snprintf(name, sizeof name, fmt, id);
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

static char *chunk_path(const char *dir, unsigned chunk) {
    return path_in(dir, "chunk-%08u.dat", chunk);
}

static volset *open1(const char *dir, uint64_t chunk_size, bool sync) {
    volset_opts o = {.chunk_size = chunk_size, .sync = sync};
    volset *vs = NULL;
    const char *dirs[] = {dir};
    assert_int_equal(volset_open_local(dirs, 1, &o, &vs), K_OK);
    return vs;
}

/* Writes data in pieces of random size up to max_piece. */
static void write_needle(volset *vs, const uint8_t *data, size_t len, size_t max_piece,
                         uint64_t *rng, vol_loc *loc) {
    vol_writer *w = NULL;
    assert_int_equal(vol_writer_begin(vs, len, &w), K_OK);
    size_t done = 0;
    while (done < len) {
        size_t piece = 1 + (size_t)rng_below(rng, max_piece);
        if (piece > len - done) piece = len - done;
        assert_int_equal(vol_writer_write(w, data + done, piece), K_OK);
        done += piece;
    }
    assert_int_equal(vol_writer_finish(w, loc), K_OK);
    assert_int_equal(loc->length, len);
}

static void assert_reads_back(volset *vs, const vol_loc *loc, const uint8_t *data) {
    uint8_t *got = malloc(loc->length ? loc->length : 1);
    assert_int_equal(vol_read(vs, loc, 0, got, loc->length), K_OK);
    assert_memory_equal(got, data, loc->length);
    free(got);
}

static void flip_byte(const char *path, uint64_t off) {
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, (off_t)off), 1);
    b ^= 0x5a;
    assert_int_equal(pwrite(fd, &b, 1, (off_t)off), 1);
    close(fd);
}

static uint64_t file_size(const char *path) {
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

/* ---- format ---- */

static void test_crc32c_check_value(void **state) {
    (void)state;
    assert_int_equal(crc32c_chain(0, "123456789", 9), 0xE3069283u);
    uint32_t c = crc32c_chain(0, "1234", 4);
    assert_int_equal(crc32c_chain(c, "56789", 5), 0xE3069283u);
    assert_int_equal(crc32c_chain(0, "", 0), 0);
}

static void test_loc_roundtrip(void **state) {
    (void)state;
    vol_loc a = {.volume = 0x01020304,
                 .chunk = 0xA0B0C0D0,
                 .offset = 0x1122334455667788u,
                 .length = 0x0FEDCBA987654321u};
    uint8_t enc[VOL_LOC_ENCODED_LEN];
    vol_loc_encode(&a, enc);
    const uint8_t expect_prefix[8] = {0x04, 0x03, 0x02, 0x01, 0xD0, 0xC0, 0xB0, 0xA0};
    assert_memory_equal(enc, expect_prefix, 8); /* little-endian, fixed order */
    assert_int_equal(enc[8], 0x88);
    assert_int_equal(enc[23], 0x0F);
    vol_loc b;
    vol_loc_decode(enc, &b);
    assert_int_equal(b.volume, a.volume);
    assert_int_equal(b.chunk, a.chunk);
    assert_int_equal(b.offset, a.offset);
    assert_int_equal(b.length, a.length);
}

static void test_header_roundtrip(void **state) {
    (void)state;
    needle_header h = {.version = NEEDLE_VERSION,
                       .flags = NEEDLE_F_COMPLETE,
                       .block_size = BS,
                       .length = 123456789,
                       .volume = 3,
                       .chunk = 7,
                       .offset = 4096,
                       .created = 1700000000};
    uint8_t raw[NEEDLE_HEADER_SIZE];
    needle_header_encode(&h, raw);
    assert_memory_equal(raw, "KNDL", 4);
    needle_header d;
    assert_int_equal(needle_header_decode(raw, &d), K_OK);
    assert_int_equal(d.length, h.length);
    assert_int_equal(d.flags, h.flags);
    assert_int_equal(d.chunk, 7);
    assert_int_equal(d.offset, 4096);
    raw[9] ^= 1;
    assert_int_equal(needle_header_decode(raw, &d), K_ENOTFOUND);
    assert_int_equal(needle_size(0), NEEDLE_HEADER_SIZE);
    assert_int_equal(needle_payload_start(1), 72); /* 64 + 4, aligned to 8 */
    assert_int_equal(needle_size(1), 80);
}

/* ---- round trips ---- */

static void test_roundtrip_sizes(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    volset *vs = open1(dir, 0, false);
    const size_t sizes[] = {0, 1, 65535, 65536, 65537, 3 * MiB + 7};
    uint64_t rng = 42;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t len = sizes[i];
        uint8_t *data = random_bytes(100 + i, len);
        vol_loc loc;
        write_needle(vs, data, len, 300 * KiB, &rng, &loc);
        assert_int_equal(loc.volume, 0);
        assert_int_equal(loc.offset % NEEDLE_ALIGN, 0);
        assert_reads_back(vs, &loc, data);
        uint8_t *got = malloc(len + 1);
        for (int r = 0; r < 40; r++) {
            uint64_t off = rng_below(&rng, len + 1);
            uint64_t n = rng_below(&rng, len - off + 1);
            if (r == 0) off = len, n = 0;                /* empty at end */
            if (r == 1 && len) off = len - 1, n = 1;     /* last byte */
            if (r == 2 && len > BS) off = BS - 1, n = 2; /* straddles a block edge */
            memset(got, 0xEE, len + 1);
            assert_int_equal(vol_read(vs, &loc, off, got, n), K_OK);
            assert_memory_equal(got, data + off, n);
            assert_int_equal(got[n], 0xEE); /* nothing written past n */
        }
        assert_int_equal(vol_read(vs, &loc, 0, got, len + 1), K_EINVAL);
        assert_int_equal(vol_read(vs, &loc, len + 1, got, 0), K_EINVAL);
        free(got);
        free(data);
    }
    volset_stats st;
    volset_stats_get(vs, &st);
    assert_int_equal(st.needles_written, 6);
    assert_int_equal(st.bytes_written, 0 + 1 + 65535 + 65536 + 65537 + 3 * MiB + 7);
    assert_true(st.bytes_read > 0);
    volset_close(vs);
    rm_rf(dir);
}

#define ROLL_N 150

static void test_chunk_rollover_and_reopen(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    const uint64_t chunk_size = 256 * KiB;
    volset *vs = open1(dir, chunk_size, false);
    uint64_t rng = 7;
    static vol_loc locs[2 * ROLL_N + 1];
    static uint8_t *datas[2 * ROLL_N + 1];
    uint32_t max_chunk = 0;
    for (int i = 0; i < ROLL_N; i++) {
        size_t len = (size_t)rng_below(&rng, 40 * KiB);
        datas[i] = random_bytes(1000 + (uint64_t)i, len);
        write_needle(vs, datas[i], len, 16 * KiB, &rng, &locs[i]);
        /* A needle never straddles chunk_size unless it is alone in its chunk. */
        assert_true(locs[i].offset == 0 || locs[i].offset + needle_size(len) <= chunk_size);
        if (locs[i].chunk > max_chunk) max_chunk = locs[i].chunk;
    }
    assert_true(max_chunk >= 5);
    /* Oversized needle: a chunk of its own, and the next needle moves on. */
    size_t big = 600 * KiB;
    datas[ROLL_N] = random_bytes(999, big);
    write_needle(vs, datas[ROLL_N], big, 100 * KiB, &rng, &locs[ROLL_N]);
    assert_int_equal(locs[ROLL_N].offset, 0);
    assert_true(locs[ROLL_N].chunk > max_chunk);
    for (int i = 0; i <= ROLL_N; i++) assert_reads_back(vs, &locs[i], datas[i]);
    volset_close(vs);

    /* Restart: everything reads back, and appends continue after it. */
    vs = open1(dir, chunk_size, false);
    for (int i = 0; i <= ROLL_N; i++) assert_reads_back(vs, &locs[i], datas[i]);
    for (int i = ROLL_N + 1; i < 2 * ROLL_N + 1; i++) {
        size_t len = (size_t)rng_below(&rng, 40 * KiB);
        datas[i] = random_bytes(5000 + (uint64_t)i, len);
        write_needle(vs, datas[i], len, 16 * KiB, &rng, &locs[i]);
        assert_true(locs[i].chunk > locs[ROLL_N].chunk);
    }
    /* No two needles overlap. */
    for (int i = 0; i < 2 * ROLL_N + 1; i++)
        for (int j = i + 1; j < 2 * ROLL_N + 1; j++) {
            if (locs[i].chunk != locs[j].chunk) continue;
            uint64_t ai = locs[i].offset, ae = ai + needle_size(locs[i].length);
            uint64_t bi = locs[j].offset, be = bi + needle_size(locs[j].length);
            assert_true(ae <= bi || be <= ai);
        }
    volset_close(vs);
    vs = open1(dir, chunk_size, false);
    for (int i = 0; i < 2 * ROLL_N + 1; i++) {
        assert_reads_back(vs, &locs[i], datas[i]);
        free(datas[i]);
    }
    volset_close(vs);
    rm_rf(dir);
}

static void test_reopen_keeps_appending_same_chunk(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    volset *vs = open1(dir, 0, false);
    uint64_t rng = 3;
    uint8_t *a = random_bytes(1, 5000), *b = random_bytes(2, 70000);
    vol_loc la, lb;
    write_needle(vs, a, 5000, 4096, &rng, &la);
    volset_close(vs);
    vs = open1(dir, 0, false);
    write_needle(vs, b, 70000, 4096, &rng, &lb);
    /* The newest chunk had room, so it stays active. */
    assert_int_equal(lb.chunk, la.chunk);
    assert_int_equal(lb.offset, needle_size(5000));
    assert_reads_back(vs, &la, a);
    assert_reads_back(vs, &lb, b);
    volset_close(vs);
    free(a);
    free(b);
    rm_rf(dir);
}

static void test_abort_mid_write(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    volset *vs = open1(dir, 0, false);
    uint64_t rng = 11;
    uint8_t *first = random_bytes(1, 10000);
    vol_loc l1;
    write_needle(vs, first, 10000, 3000, &rng, &l1);

    uint8_t *junk = random_bytes(2, 300 * KiB);
    vol_writer *w;
    assert_int_equal(vol_writer_begin(vs, 1 * MiB, &w), K_OK);
    assert_int_equal(vol_writer_write(w, junk, 300 * KiB), K_OK);
    vol_writer_abort(w);
    assert_int_equal(vol_writer_begin(vs, 100, &w), K_OK);
    vol_writer_abort(w); /* aborted before any payload */

    uint8_t *second = random_bytes(3, 200000);
    vol_loc l2;
    write_needle(vs, second, 200000, 50000, &rng, &l2);
    assert_true(l2.offset >= l1.offset + needle_size(10000) + needle_size(1 * MiB));
    assert_reads_back(vs, &l1, first);
    assert_reads_back(vs, &l2, second);
    /* The aborted region holds no needle. */
    vol_loc ghost = {.volume = 0,
                     .chunk = l1.chunk,
                     .offset = l1.offset + needle_size(10000),
                     .length = 1 * MiB};
    uint8_t one;
    assert_int_equal(vol_read(vs, &ghost, 0, &one, 1), K_ENOTFOUND);
    volset_close(vs);
    vs = open1(dir, 0, false);
    assert_reads_back(vs, &l1, first);
    assert_reads_back(vs, &l2, second);
    volset_close(vs);
    free(first);
    free(second);
    free(junk);
    rm_rf(dir);
}

static void test_crash_tail_recovery(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    volset *vs = open1(dir, 0, false);
    uint64_t rng = 5;
    uint8_t *d[4];
    vol_loc l[4];
    size_t lens[4] = {1000, 70000, 12345, 200000};
    for (int i = 0; i < 4; i++) {
        d[i] = random_bytes(20 + (uint64_t)i, lens[i]);
        write_needle(vs, d[i], lens[i], 8192, &rng, &l[i]);
    }
    volset_close(vs);

    /* The last needle was "never acknowledged": its body is cut short mid
     * payload and followed by garbage from a torn write, as after a crash. */
    char *cp = chunk_path(dir, l[3].chunk);
    uint64_t cut = l[3].offset + needle_payload_start(lens[3]) + 77777;
    assert_int_equal(truncate(cp, (off_t)cut), 0);
    uint8_t *garbage = random_bytes(99, 3001);
    int fd = open(cp, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, garbage, 3001), 3001);
    close(fd);
    uint64_t size_after_crash = file_size(cp);

    vs = open1(dir, 0, false);
    for (int i = 0; i < 3; i++) assert_reads_back(vs, &l[i], d[i]);
    uint8_t *buf = malloc(lens[3]);
    kerr rc = vol_read(vs, &l[3], 0, buf, lens[3]);
    assert_true(rc == K_ECORRUPT || rc == K_ENOTFOUND);
    /* The first block lies before the cut and is intact. */
    assert_int_equal(vol_read(vs, &l[3], 0, buf, 1000), K_OK);
    assert_memory_equal(buf, d[3], 1000);

    uint8_t *fresh = random_bytes(77, 150000);
    vol_loc lf;
    write_needle(vs, fresh, 150000, 70000, &rng, &lf);
    assert_int_equal(lf.chunk, l[3].chunk);
    assert_true(lf.offset >= size_after_crash);
    assert_int_equal(lf.offset % NEEDLE_ALIGN, 0);
    assert_reads_back(vs, &lf, fresh);
    for (int i = 0; i < 3; i++) assert_reads_back(vs, &l[i], d[i]);

    /* A writer that died before its final header: the header still says
     * incomplete, so the needle does not exist. */
    uint8_t raw[NEEDLE_HEADER_SIZE];
    fd = open(cp, O_RDWR);
    assert_int_equal(pread(fd, raw, sizeof raw, (off_t)l[1].offset), (ssize_t)sizeof raw);
    needle_header h;
    assert_int_equal(needle_header_decode(raw, &h), K_OK);
    h.flags &= (uint16_t)~NEEDLE_F_COMPLETE;
    needle_header_encode(&h, raw);
    assert_int_equal(pwrite(fd, raw, sizeof raw, (off_t)l[1].offset), (ssize_t)sizeof raw);
    close(fd);
    assert_int_equal(vol_read(vs, &l[1], 0, buf, 10), K_ENOTFOUND);
    assert_reads_back(vs, &l[0], d[0]);
    assert_reads_back(vs, &l[2], d[2]);
    volset_close(vs);

    for (int i = 0; i < 4; i++) free(d[i]);
    free(buf);
    free(fresh);
    free(garbage);
    free(cp);
    rm_rf(dir);
}

static void test_corruption_is_block_local(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    volset *vs = open1(dir, 0, false);
    uint64_t rng = 9;
    const size_t len = 5 * BS + BS / 2; /* blocks 0..5, the last one partial */
    uint8_t *data = random_bytes(4, len);
    vol_loc loc;
    write_needle(vs, data, len, 100000, &rng, &loc);
    char *cp = chunk_path(dir, loc.chunk);
    uint64_t payload = loc.offset + needle_payload_start(len);

    flip_byte(cp, payload + 2 * BS + 1234); /* block 2 */
    uint8_t *buf = malloc(len);
    assert_int_equal(vol_read(vs, &loc, 0, buf, len), K_ECORRUPT);
    assert_int_equal(vol_read(vs, &loc, 2 * BS + 1234, buf, 1), K_ECORRUPT);
    assert_int_equal(vol_read(vs, &loc, 2 * BS - 1, buf, 2), K_ECORRUPT);
    assert_int_equal(vol_read(vs, &loc, 3 * BS - 1, buf, 1), K_ECORRUPT);
    /* Ranges that do not touch block 2 still read. */
    assert_int_equal(vol_read(vs, &loc, 0, buf, 2 * BS), K_OK);
    assert_memory_equal(buf, data, 2 * BS);
    assert_int_equal(vol_read(vs, &loc, 3 * BS, buf, len - 3 * BS), K_OK);
    assert_memory_equal(buf, data + 3 * BS, len - 3 * BS);
    assert_int_equal(vol_read(vs, &loc, 3 * BS + 5, buf, 17), K_OK);
    assert_memory_equal(buf, data + 3 * BS + 5, 17);

    /* A damaged crc table entry (block 5) condemns only its block. */
    flip_byte(cp, loc.offset + NEEDLE_HEADER_SIZE + 5 * NEEDLE_CRC_SIZE);
    assert_int_equal(vol_read(vs, &loc, 5 * BS + 3, buf, 10), K_ECORRUPT);
    assert_int_equal(vol_read(vs, &loc, 4 * BS, buf, BS), K_OK);
    assert_memory_equal(buf, data + 4 * BS, BS);

    /* Locations that do not name this needle exactly. */
    vol_loc bad = loc;
    bad.offset += 8;
    assert_int_equal(vol_read(vs, &bad, 0, buf, 1), K_ENOTFOUND);
    bad = loc;
    bad.length -= 1;
    assert_int_equal(vol_read(vs, &bad, 0, buf, 1), K_ENOTFOUND);
    bad = loc;
    bad.chunk = 999;
    assert_int_equal(vol_read(vs, &bad, 0, buf, 1), K_ENOTFOUND);
    bad = loc;
    bad.volume = 4;
    assert_int_equal(vol_read(vs, &bad, 0, buf, 1), K_ENOTFOUND);
    bad = loc;
    bad.offset = 1 << 30; /* past the end of the file */
    assert_int_equal(vol_read(vs, &bad, 0, buf, 1), K_ENOTFOUND);

    /* A damaged header makes the needle unreadable as a whole. */
    flip_byte(cp, loc.offset + 10);
    assert_int_equal(vol_read(vs, &loc, 0, buf, 1), K_ENOTFOUND);
    assert_int_equal(vol_read(vs, &loc, 0, buf, 0), K_ENOTFOUND);
    volset_close(vs);
    free(buf);
    free(data);
    free(cp);
    rm_rf(dir);
}

static void test_delete(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    volset *vs = open1(dir, 0, false);
    uint64_t rng = 13;
    uint8_t *d[3];
    vol_loc l[3];
    for (int i = 0; i < 3; i++) {
        d[i] = random_bytes(50 + (uint64_t)i, 3000 * (size_t)(i + 1));
        write_needle(vs, d[i], 3000 * (size_t)(i + 1), 1000, &rng, &l[i]);
    }
    assert_int_equal(vol_delete(vs, &l[1]), K_OK);
    /* Readers that still hold the location keep working until compaction. */
    assert_reads_back(vs, &l[1], d[1]);
    assert_int_equal(vol_delete(vs, &l[1]), K_OK); /* idempotent */
    assert_reads_back(vs, &l[0], d[0]);
    assert_reads_back(vs, &l[2], d[2]);
    vol_loc bogus = l[0];
    bogus.offset += 16;
    assert_int_equal(vol_delete(vs, &bogus), K_ENOTFOUND);
    volset_close(vs);
    vs = open1(dir, 0, false);
    assert_reads_back(vs, &l[1], d[1]);
    assert_reads_back(vs, &l[0], d[0]);
    assert_reads_back(vs, &l[2], d[2]);
    volset_close(vs);
    for (int i = 0; i < 3; i++) free(d[i]);
    rm_rf(dir);
}

static void test_length_mismatch(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    volset *vs = open1(dir, 0, false);
    uint8_t *data = random_bytes(8, 400 * KiB);
    vol_writer *w;
    vol_loc loc;

    assert_int_equal(vol_writer_begin(vs, 100, &w), K_OK);
    assert_int_equal(vol_writer_write(w, data, 50), K_OK);
    assert_int_equal(vol_writer_finish(w, &loc), K_EINCOMPLETEBODY); /* w is freed */

    /* Streaming path too (larger than one write buffer). */
    assert_int_equal(vol_writer_begin(vs, 400 * KiB, &w), K_OK);
    assert_int_equal(vol_writer_write(w, data, 300 * KiB), K_OK);
    assert_int_equal(vol_writer_finish(w, &loc), K_EINCOMPLETEBODY);

    /* Too many bytes: the offending call is refused whole, the writer
     * stays usable. */
    assert_int_equal(vol_writer_begin(vs, 100, &w), K_OK);
    assert_int_equal(vol_writer_write(w, data, 60), K_OK);
    assert_int_equal(vol_writer_write(w, data + 60, 41), K_EINVAL);
    assert_int_equal(vol_writer_write(w, data + 60, 40), K_OK);
    assert_int_equal(vol_writer_write(w, data, 1), K_EINVAL);
    assert_int_equal(vol_writer_finish(w, &loc), K_OK);
    assert_reads_back(vs, &loc, data);

    assert_int_equal(vol_writer_begin(vs, 0, &w), K_OK);
    assert_int_equal(vol_writer_write(w, data, 1), K_EINVAL);
    assert_int_equal(vol_writer_write(w, data, 0), K_OK);
    assert_int_equal(vol_writer_finish(w, &loc), K_OK);
    assert_int_equal(loc.length, 0);
    assert_int_equal(vol_read(vs, &loc, 0, NULL, 0), K_OK);

    assert_int_equal(vol_writer_begin(vs, NEEDLE_MAX_LENGTH + 1, &w), K_ETOOLARGE);
    volset_close(vs);
    free(data);
    rm_rf(dir);
}

/* ---- group commit ---- */

#define GC_THREADS 16
#define GC_PER_THREAD 20

typedef struct gc_arg {
    volset *vs;
    int thread;
    pthread_barrier_t *start;
    vol_loc locs[GC_PER_THREAD];
    kerr rc;
} gc_arg;

static size_t gc_len(int thread, int i) {
    return 1000 + (size_t)(thread * 131 + i * 977) % 9000;
}

static void *gc_worker(void *p) {
    gc_arg *a = p;
    pthread_barrier_wait(a->start);
    a->rc = K_OK;
    for (int i = 0; i < GC_PER_THREAD && a->rc == K_OK; i++) {
        size_t len = gc_len(a->thread, i);
        uint8_t *data = random_bytes((uint64_t)(a->thread * 1000 + i), len);
        vol_writer *w;
        a->rc = vol_writer_begin(a->vs, len, &w);
        if (a->rc == K_OK) a->rc = vol_writer_write(w, data, len);
        if (a->rc == K_OK)
            a->rc = vol_writer_finish(w, &a->locs[i]);
        else
            vol_writer_abort(w);
        free(data);
    }
    return NULL;
}

static void test_group_commit(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    volset *vs = open1(dir, 0, true);
    volset_stats before, after;
    volset_stats_get(vs, &before);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, GC_THREADS);
    static gc_arg args[GC_THREADS];
    pthread_t th[GC_THREADS];
    for (int t = 0; t < GC_THREADS; t++) {
        args[t] = (gc_arg){.vs = vs, .thread = t, .start = &start};
        assert_int_equal(pthread_create(&th[t], NULL, gc_worker, &args[t]), 0);
    }
    for (int t = 0; t < GC_THREADS; t++) pthread_join(th[t], NULL);
    pthread_barrier_destroy(&start);
    volset_stats_get(vs, &after);
    uint64_t needles = after.needles_written - before.needles_written;
    uint64_t fsyncs = after.fsyncs - before.fsyncs;
    print_message("group commit: %llu needles, %llu fsyncs\n", (unsigned long long)needles,
                  (unsigned long long)fsyncs);
    assert_int_equal(needles, GC_THREADS * GC_PER_THREAD);
    assert_true(fsyncs > 0);
    assert_true(fsyncs < needles);
    for (int t = 0; t < GC_THREADS; t++) {
        assert_int_equal(args[t].rc, K_OK);
        for (int i = 0; i < GC_PER_THREAD; i++) {
            uint8_t *data = random_bytes((uint64_t)(t * 1000 + i), gc_len(t, i));
            assert_reads_back(vs, &args[t].locs[i], data);
            free(data);
        }
    }
    volset_close(vs);
    rm_rf(dir);
}

/* ---- volume identity and placement ---- */

static void test_volume_order_and_placement(void **state) {
    (void)state;
    char *a = make_tmpdir(), *b = make_tmpdir();
    volset_opts o = {.chunk_size = 0, .sync = false};
    const char *ab[] = {a, b}, *ba[] = {b, a}, *aa[] = {a, a};
    volset *vs;
    assert_int_equal(volset_open_local(ab, 2, &o, &vs), K_OK);
    uint64_t rng = 17;
    vol_loc l[6];
    uint8_t *d[6];
    int per_volume[2] = {0, 0};
    for (int i = 0; i < 6; i++) {
        d[i] = random_bytes(70 + (uint64_t)i, 777);
        write_needle(vs, d[i], 777, 777, &rng, &l[i]);
        assert_true(l[i].volume < 2);
        per_volume[l[i].volume]++;
    }
    assert_int_equal(per_volume[0], 3); /* round-robin */
    assert_int_equal(per_volume[1], 3);
    volset_close(vs);

    vs = (volset *)1;
    assert_int_equal(volset_open_local(ba, 2, &o, &vs), K_EINVAL);
    assert_null(vs);
    assert_int_not_equal(volset_open_local(aa, 2, &o, &vs), K_OK); /* same dir twice */
    assert_int_equal(volset_open_local(ab, 2, &o, &vs), K_OK);
    for (int i = 0; i < 6; i++) {
        assert_reads_back(vs, &l[i], d[i]);
        free(d[i]);
    }
    volset_close(vs);

    /* A dir whose volume.id was lost but still holds chunks is refused. */
    char *idp = path_in(a, "volume.id", 0);
    assert_int_equal(unlink(idp), 0);
    free(idp);
    assert_int_equal(volset_open_local(ab, 2, &o, &vs), K_EINVAL);
    rm_rf(a);
    rm_rf(b);
}

static void test_free_space_floor(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    volset_opts o = {
        .sync = false, .reserve = VOL_RESERVE_BYTES, .min_free_bytes = UINT64_C(1) << 62};
    const char *dirs[] = {dir};
    volset *vs;
    assert_int_equal(volset_open_local(dirs, 1, &o, &vs), K_OK);
    vol_space sp;
    assert_int_equal(volset_space_get(vs, 0, &sp), K_OK);
    assert_false(sp.full);
    assert_int_equal(sp.refusals, 0);
    assert_int_equal(sp.reserve_bytes, UINT64_C(1) << 62);
    assert_true(sp.total_bytes > 0);
    assert_string_equal(sp.name, dir);
    vol_writer *w = (vol_writer *)1;
    assert_int_equal(vol_writer_begin(vs, 10, &w), K_ENOSPC);
    assert_null(w);
    assert_int_equal(vol_writer_begin(vs, 0, &w), K_ENOSPC);
    /* below the reserve: the volume is full (logged once), refusals counted */
    assert_int_equal(volset_space_get(vs, 0, &sp), K_OK);
    assert_true(sp.full);
    assert_int_equal(sp.refusals, 2);
    assert_int_equal(volset_space_get(vs, 1, &sp), K_EINVAL);
    volset_close(vs);

    /* A needle larger than the room above the reserve is refused without
     * marking a roomy volume full; a percentage reserve is a share of the
     * filesystem. */
    o = (volset_opts){.sync = false, .reserve = VOL_RESERVE_PERCENT, .min_free_percent = 1};
    assert_int_equal(volset_open_local(dirs, 1, &o, &vs), K_OK);
    assert_int_equal(volset_space_get(vs, 0, &sp), K_OK);
    assert_true(sp.reserve_bytes >= sp.total_bytes / 100 - 1 &&
                sp.reserve_bytes <= sp.total_bytes / 100 + 1);
    if (sp.free_bytes < UINT64_C(1) << 39) {
        assert_int_equal(vol_writer_begin(vs, sp.free_bytes + 1, &w), K_ENOSPC);
        assert_int_equal(volset_space_get(vs, 0, &sp), K_OK);
        assert_false(sp.full);
        assert_int_equal(sp.refusals, 1);
    }
    assert_int_equal(vol_writer_begin(vs, 10, &w), K_OK);
    vol_writer_abort(w);
    volset_close(vs);
    o.min_free_percent = 0; /* out of range */
    assert_int_equal(volset_open_local(dirs, 1, &o, &vs), K_EINVAL);
    rm_rf(dir);
}

/* ---- memory stays bounded while streaming ---- */

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_MALLINFO_ACCOUNTING 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_MALLINFO_ACCOUNTING 0
#endif
#endif
#ifndef HAVE_MALLINFO_ACCOUNTING
#define HAVE_MALLINFO_ACCOUNTING 1
#endif

static size_t heap_in_use(void) {
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static void test_streaming_memory_is_bounded(void **state) {
    (void)state;
    if (!HAVE_MALLINFO_ACCOUNTING) {
        skip();
        return;
    }
    char *dir = make_tmpdir();
    volset *vs = open1(dir, 0, false);
    const size_t piece_sizes[] = {1000, 1 * MiB};
    uint8_t *piece = random_bytes(5, 1 * MiB);
    for (size_t k = 0; k < 2; k++) {
        const uint64_t len = 48 * MiB;
        size_t base = heap_in_use();
        size_t peak = 0;
        vol_writer *w;
        assert_int_equal(vol_writer_begin(vs, len, &w), K_OK);
        uint64_t done = 0;
        while (done < len) {
            size_t n = piece_sizes[k];
            if (n > len - done) n = (size_t)(len - done);
            assert_int_equal(vol_writer_write(w, piece, n), K_OK);
            done += n;
            size_t now = heap_in_use();
            if (now > peak) peak = now;
        }
        vol_loc loc;
        assert_int_equal(vol_writer_finish(w, &loc), K_OK);
        print_message("streaming %llu MiB in %zu-byte pieces: writer heap %zu KiB\n",
                      (unsigned long long)(len / MiB), piece_sizes[k], (peak - base) / 1024);
        assert_true(peak - base < 512 * KiB);
        uint8_t *check = malloc(2 * BS);
        assert_int_equal(vol_read(vs, &loc, 40 * MiB, check, 2 * BS), K_OK);
        /* payload byte i is piece[i % piece_size] */
        for (size_t i = 0; i < 2 * BS; i++)
            assert_int_equal(check[i], piece[(40 * MiB + i) % piece_sizes[k]]);
        free(check);
    }
    free(piece);
    volset_close(vs);
    rm_rf(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_check_value),
        cmocka_unit_test(test_loc_roundtrip),
        cmocka_unit_test(test_header_roundtrip),
        cmocka_unit_test(test_roundtrip_sizes),
        cmocka_unit_test(test_chunk_rollover_and_reopen),
        cmocka_unit_test(test_reopen_keeps_appending_same_chunk),
        cmocka_unit_test(test_abort_mid_write),
        cmocka_unit_test(test_crash_tail_recovery),
        cmocka_unit_test(test_corruption_is_block_local),
        cmocka_unit_test(test_delete),
        cmocka_unit_test(test_length_mismatch),
        cmocka_unit_test(test_group_commit),
        cmocka_unit_test(test_volume_order_and_placement),
        cmocka_unit_test(test_free_space_floor),
        cmocka_unit_test(test_streaming_memory_is_bounded),
    };
    return cmocka_run_group_tests_name("storage/volume", tests, NULL, NULL);
}
