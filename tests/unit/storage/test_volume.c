/* SPDX-License-Identifier: Apache-2.0 */
/* Local volumes: needle round trips, chunk rollover, restart, crash tails,
 * corruption, deletion, length checks, group commit, volume identity,
 * compaction. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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

static void test_reopen_starts_a_new_chunk(void **state) {
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
    /* The newest chunk had room, but what follows a restart goes to a new
     * chunk: never after a tail a crash may have left. */
    assert_int_equal(lb.chunk, la.chunk + 1);
    assert_int_equal(lb.offset, 0);
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
    assert_int_equal(lf.chunk, l[3].chunk + 1); /* never after a torn tail */
    assert_int_equal(lf.offset, 0);
    assert_int_equal(file_size(cp), size_after_crash);
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
    /* Compaction takes the torn and the unfinished needles, nothing else. */
    vol_compact_stats st = {0};
    assert_int_equal(volset_compact(vs, false, &st), K_OK);
    assert_int_equal(st.chunks_compacted, 1);
    assert_int_equal(vol_read(vs, &l[1], 0, buf, 10), K_ENOTFOUND);
    assert_reads_back(vs, &l[0], d[0]);
    assert_reads_back(vs, &l[2], d[2]);
    assert_reads_back(vs, &lf, fresh);
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

/* ---- compaction ---- */

static volset *open_compacting(const char *dir, uint64_t chunk_size, uint32_t grace_s) {
    volset_opts o = {.chunk_size = chunk_size,
                     .sync = true,
                     .reserve = VOL_RESERVE_BYTES,
                     .compact_threshold = 30,
                     .compact_grace_s = grace_s};
    volset *vs = NULL;
    const char *dirs[] = {dir};
    assert_int_equal(volset_open_local(dirs, 1, &o, &vs), K_OK);
    return vs;
}

static uint64_t dir_bytes(const char *dir) {
    uint64_t total = 0;
    for (unsigned c = 0; c < 64; c++) {
        char *p = chunk_path(dir, c);
        struct stat st;
        if (stat(p, &st) == 0) total += (uint64_t)st.st_size;
        free(p);
    }
    return total;
}

#define CN 48

typedef struct cset {
    const char *dir;
    uint8_t *d[CN];
    vol_loc l[CN];
    bool live[CN];
    bool gone[CN]; /* deleted and reclaimed */
} cset;

static size_t cset_len(int i) {
    /* mostly small needles, a few spanning several 64 KiB blocks */
    return i % 11 == 5 ? 150 * KiB + (size_t)i : 1 + (size_t)(i * 977) % (20 * KiB);
}

static void cset_write(volset *vs, cset *s, const char *dir, uint64_t seed) {
    uint64_t rng = seed;
    s->dir = dir;
    for (int i = 0; i < CN; i++) {
        s->d[i] = random_bytes(seed * 100 + (uint64_t)i, cset_len(i));
        write_needle(vs, s->d[i], cset_len(i), 7000, &rng, &s->l[i]);
        s->live[i] = true;
        s->gone[i] = false;
    }
}

static void cset_check(volset *vs, const cset *s) {
    for (int i = 0; i < CN; i++) {
        if (s->live[i]) {
            assert_reads_back(vs, &s->l[i], s->d[i]);
            /* a range inside, across a block boundary when there is one */
            size_t len = (size_t)s->l[i].length;
            if (len > 2) {
                size_t off = len > BS + 10 ? BS - 5 : len / 3, n = len - off - 1;
                uint8_t *got = malloc(n);
                assert_int_equal(vol_read(vs, &s->l[i], off, got, n), K_OK);
                assert_memory_equal(got, s->d[i] + off, n);
                free(got);
            }
        } else {
            /* Deleted: gone once a pass rewrote its chunk, readable until. */
            uint8_t b;
            assert_int_equal(vol_read(vs, &s->l[i], 0, &b, 1), s->gone[i] ? K_ENOTFOUND : K_OK);
        }
    }
}

/* Identity of each chunk file (0: none), to tell which a pass rewrote. */
static void chunk_inodes(const char *dir, uint64_t ino[64]) {
    for (unsigned c = 0; c < 64; c++) {
        char *p = chunk_path(dir, c);
        struct stat st;
        ino[c] = stat(p, &st) == 0 ? (uint64_t)st.st_ino : 0;
        free(p);
    }
}

/* One compaction pass: deleted needles of the chunks it rewrote or removed
 * are gone from then on. */
static void cset_compact(volset *vs, cset *s, vol_compact_stats *st) {
    uint64_t before[64], after[64];
    chunk_inodes(s->dir, before);
    assert_int_equal(volset_compact(vs, false, st), K_OK);
    chunk_inodes(s->dir, after);
    for (int i = 0; i < CN; i++) {
        uint32_t c = s->l[i].chunk;
        assert_true(c < 64);
        if (!s->live[i] && before[c] != after[c]) s->gone[i] = true;
    }
}

static void cset_free(cset *s) {
    for (int i = 0; i < CN; i++) free(s->d[i]);
}

static void test_compact_reclaims(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    volset *vs = open_compacting(dir, 256 * KiB, 0);
    cset s;
    cset_write(vs, &s, dir, 7);
    /* One more needle so that the last chunk of the set is not the active
     * one (the active chunk is compacted only when large or full). */
    uint64_t rng = 1;
    uint8_t *tail = random_bytes(99, 250 * KiB);
    vol_loc tail_loc;
    write_needle(vs, tail, 250 * KiB, 9000, &rng, &tail_loc);
    uint64_t before = dir_bytes(dir);
    for (int i = 0; i < CN; i++)
        if (i % 3 != 0) {
            assert_int_equal(vol_delete(vs, &s.l[i]), K_OK);
            s.live[i] = false;
        }
    vol_compact_stats st = {0};
    cset_compact(vs, &s, &st);
    assert_true(st.chunks_compacted >= 2);
    assert_true(st.bytes_reclaimed > 0);
    uint64_t after = dir_bytes(dir);
    assert_true(after < before);
    assert_int_equal(before - after, st.bytes_reclaimed);
    volset_stats vst;
    volset_stats_get(vs, &vst);
    assert_int_equal(vst.bytes_reclaimed, st.bytes_reclaimed);
    cset_check(vs, &s);
    assert_reads_back(vs, &tail_loc, tail);
    /* A second pass finds nothing worth doing. */
    vol_compact_stats st2 = {0};
    cset_compact(vs, &s, &st2);
    assert_int_equal(st2.chunks_compacted, 0);

    /* Restart: compacted chunks are found and read through their tables. */
    volset_close(vs);
    vs = open_compacting(dir, 256 * KiB, 0);
    cset_check(vs, &s);
    /* Compacting a compacted chunk; deleting a survivor reaches it. */
    for (int i = 0; i < CN; i += 3)
        if (i % 2 == 0) {
            assert_int_equal(vol_delete(vs, &s.l[i]), K_OK);
            s.live[i] = false;
        }
    memset(&st, 0, sizeof st);
    cset_compact(vs, &s, &st);
    assert_true(st.chunks_compacted >= 1);
    cset_check(vs, &s);
    /* Everything deleted: chunk files are removed, not rewritten. */
    for (int i = 0; i < CN; i++)
        if (s.live[i]) {
            assert_int_equal(vol_delete(vs, &s.l[i]), K_OK);
            s.live[i] = false;
        }
    memset(&st, 0, sizeof st);
    cset_compact(vs, &s, &st);
    assert_true(st.chunks_removed >= 1);
    cset_check(vs, &s);
    assert_int_equal(vol_delete(vs, &s.l[0]), K_ENOTFOUND);
    /* New writes still work after chunks went away, and survive a restart. */
    cset s2;
    cset_write(vs, &s2, dir, 8);
    volset_close(vs);
    vs = open_compacting(dir, 256 * KiB, 0);
    cset_check(vs, &s2);
    assert_reads_back(vs, &tail_loc, tail);
    volset_close(vs);
    cset_free(&s);
    cset_free(&s2);
    free(tail);
    rm_rf(dir);
}

static void test_compact_grace_keeps_recent(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    volset *vs = open_compacting(dir, 128 * KiB, 3600);
    cset s;
    cset_write(vs, &s, dir, 9);
    for (int i = 0; i < CN; i++)
        if (i % 2) assert_int_equal(vol_delete(vs, &s.l[i]), K_OK);
    vol_compact_stats st = {0};
    cset_compact(vs, &s, &st);
    /* Deleted within the grace period: a reader holding an old record
     * still gets its bytes, so nothing is reclaimed. */
    assert_int_equal(st.bytes_reclaimed, 0);
    cset_check(vs, &s); /* every needle, deleted or not, still reads */
    volset_close(vs);
    /* Without grace they go. */
    vs = open_compacting(dir, 128 * KiB, 0);
    for (int i = 0; i < CN; i++)
        if (i % 2) s.live[i] = false;
    memset(&st, 0, sizeof st);
    cset_compact(vs, &s, &st);
    assert_true(st.bytes_reclaimed > 0);
    cset_check(vs, &s);
    volset_close(vs);
    cset_free(&s);
    rm_rf(dir);
}

static void test_compact_leftovers_and_damage(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    volset *vs = open_compacting(dir, 128 * KiB, 0);
    cset s;
    cset_write(vs, &s, dir, 10);
    for (int i = 0; i < CN; i++)
        if (i % 4) {
            assert_int_equal(vol_delete(vs, &s.l[i]), K_OK);
            s.live[i] = false;
        }
    vol_compact_stats st = {0};
    cset_compact(vs, &s, &st);
    assert_true(st.chunks_compacted >= 1);
    volset_close(vs);
    /* An interrupted compaction leaves a temporary file: removed at open,
     * the chunk it was replacing is intact. */
    char *tmp = path_in(dir, "chunk-%08u.dat.tmp", 0);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fputs("half a compaction", f);
    fclose(f);
    vs = open_compacting(dir, 128 * KiB, 0);
    struct stat sb;
    assert_int_equal(stat(tmp, &sb), -1);
    cset_check(vs, &s);
    volset_close(vs);
    /* A damaged forwarding table: that chunk's reads fail as corrupt, the
     * volume still opens and the other chunks read. */
    int victim = -1;
    for (int i = 0; i < CN && victim < 0; i++)
        if (s.live[i]) {
            char *p = chunk_path(dir, s.l[i].chunk);
            uint8_t magic[4];
            FILE *cf = fopen(p, "r");
            if (cf && fread(magic, 1, 4, cf) == 4 && memcmp(magic, "KCMP", 4) == 0) victim = i;
            if (cf) fclose(cf);
            if (victim >= 0) flip_byte(p, CHUNK_COMPACT_HEADER_SIZE + 3);
            free(p);
        }
    assert_true(victim >= 0);
    vs = open_compacting(dir, 128 * KiB, 0);
    uint8_t b;
    assert_int_equal(vol_read(vs, &s.l[victim], 0, &b, 1), K_ECORRUPT);
    for (int i = 0; i < CN; i++)
        if (s.live[i] && s.l[i].chunk != s.l[victim].chunk) assert_reads_back(vs, &s.l[i], s.d[i]);
    volset_close(vs);
    free(tmp);
    cset_free(&s);
    rm_rf(dir);
}

/* Chunks written before compaction existed may hold needles that a restart
 * appended inside the region an unfinished needle claims (the old versions
 * kept appending to the newest chunk): compaction must find them. */
static void test_compact_legacy_tail(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    volset *vs = open_compacting(dir, 0, 0);
    uint64_t rng = 4;
    uint8_t *d[4];
    vol_loc l[4];
    for (int i = 0; i < 4; i++) {
        d[i] = random_bytes(300 + (uint64_t)i, 20000 + 1000 * (size_t)i);
        write_needle(vs, d[i], 20000 + 1000 * (size_t)i, 7000, &rng, &l[i]);
    }
    volset_close(vs);
    /* needle 0 becomes an unfinished needle claiming 3 MB, so that 1..3
     * lie inside its claim, as an old restart left them */
    char *cp = chunk_path(dir, 0);
    int fd = open(cp, O_RDWR);
    uint8_t raw[NEEDLE_HEADER_SIZE];
    assert_int_equal(pread(fd, raw, sizeof raw, 0), (ssize_t)sizeof raw);
    needle_header h;
    assert_int_equal(needle_header_decode(raw, &h), K_OK);
    h.flags = 0;
    h.length = 3u * MiB;
    needle_header_encode(&h, raw);
    assert_int_equal(pwrite(fd, raw, sizeof raw, 0), (ssize_t)sizeof raw);
    close(fd);
    /* a volume.id from before compaction: no trusted-from line */
    char *idp = path_in(dir, "volume/volume.id", 0);
    FILE *f = fopen(idp, "r");
    if (!f) { /* the volume is the directory itself */
        free(idp);
        idp = path_in(dir, "volume.id", 0);
        f = fopen(idp, "r");
    }
    assert_non_null(f);
    char text[256];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    char *tf = strstr(text, "trusted-from");
    assert_non_null(tf);
    *tf = 0;
    f = fopen(idp, "w");
    fputs(text, f);
    fclose(f);
    vs = open_compacting(dir, 0, 0);
    vol_writer *w = NULL; /* a refused write would press; not needed: delete */
    (void)w;
    assert_int_equal(vol_delete(vs, &l[2]), K_OK);
    vol_compact_stats st = {0};
    assert_int_equal(volset_compact(vs, true, &st), K_OK);
    assert_int_equal(st.chunks_compacted, 1);
    assert_int_equal(st.needles_kept, 2); /* 1 and 3; 0 unfinished, 2 deleted */
    assert_reads_back(vs, &l[1], d[1]);
    assert_reads_back(vs, &l[3], d[3]);
    volset_close(vs);
    /* the file now says where trusted chunks start */
    f = fopen(idp, "r");
    n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    assert_non_null(strstr(text, "trusted-from 1\n"));
    vs = open_compacting(dir, 0, 0);
    assert_reads_back(vs, &l[1], d[1]);
    assert_reads_back(vs, &l[3], d[3]);
    volset_close(vs);
    for (int i = 0; i < 4; i++) free(d[i]);
    free(cp);
    free(idp);
    rm_rf(dir);
}

/* A volume too full for a rewritten copy gets the pages of its deleted
 * needles back in place (holes), offsets unchanged. */
static void test_compact_punch_when_no_room(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    volset *vs = open_compacting(dir, 0, 0); /* one 1 GiB chunk: the active one */
    cset s;
    cset_write(vs, &s, dir, 12);
    for (int i = 0; i < CN; i++)
        if (i % 3) {
            assert_int_equal(vol_delete(vs, &s.l[i]), K_OK);
            s.live[i] = false;
        }
    volset_close(vs);
    char *c0 = chunk_path(dir, 0);
    struct stat before, after;
    assert_int_equal(stat(c0, &before), 0);
    /* A reserve larger than the disk: every write is refused (the volume
     * is full), and no rewrite fits. */
    volset_opts o = {.sync = true,
                     .reserve = VOL_RESERVE_BYTES,
                     .min_free_bytes = UINT64_C(1) << 60,
                     .compact_threshold = 30};
    const char *dirs[] = {dir};
    assert_int_equal(volset_open_local(dirs, 1, &o, &vs), K_OK);
    vol_writer *w = NULL;
    assert_int_equal(vol_writer_begin(vs, 10, &w), K_ENOSPC);
    vol_compact_stats st = {0};
    assert_int_equal(volset_compact(vs, false, &st), K_OK);
    assert_int_equal(st.chunks_compacted, 1);
    assert_true(st.bytes_reclaimed > 0);
    assert_int_equal(stat(c0, &after), 0);
    assert_int_equal(after.st_size, before.st_size); /* in place */
    assert_int_equal(after.st_ino, before.st_ino);
    assert_int_equal((uint64_t)(before.st_blocks - after.st_blocks) * 512, st.bytes_reclaimed);
    for (int i = 0; i < CN; i++) s.gone[i] = !s.live[i];
    cset_check(vs, &s);
    volset_close(vs);
    /* With room again, a rewrite takes the slivers; survivors still read. */
    vs = open_compacting(dir, 0, 0);
    cset_check(vs, &s);
    volset_close(vs);
    free(c0);
    cset_free(&s);
    rm_rf(dir);
}

/* Flags of the needle loc names, read from its chunk file as chunk.h lays
 * it out (through the forwarding table of a compacted chunk); -1 if the
 * file or the needle is not there. */
static int needle_flags_on_disk(const char *dir, const vol_loc *loc) {
    char *p = chunk_path(dir, loc->chunk);
    int fd = open(p, O_RDONLY);
    free(p);
    if (fd < 0) return -1;
    uint8_t raw[CHUNK_COMPACT_HEADER_SIZE];
    uint64_t at = loc->offset;
    int flags = -1;
    assert_int_equal(pread(fd, raw, sizeof raw, 0), (ssize_t)sizeof raw);
    chunk_compact_header ch;
    if (chunk_compact_header_decode(raw, &ch) == K_OK) {
        bool found = false;
        for (uint64_t i = 0; i < ch.entries && !found; i++) {
            uint8_t e[CHUNK_COMPACT_ENTRY_SIZE];
            off_t eo = (off_t)(CHUNK_COMPACT_HEADER_SIZE + i * CHUNK_COMPACT_ENTRY_SIZE);
            assert_int_equal(pread(fd, e, sizeof e, eo), (ssize_t)sizeof e);
            if (load_le64(e) == loc->offset) {
                at = load_le64(e + 8);
                found = true;
            }
        }
        if (!found) goto out;
    }
    needle_header h;
    if (pread(fd, raw, NEEDLE_HEADER_SIZE, (off_t)at) == NEEDLE_HEADER_SIZE &&
        needle_header_decode(raw, &h) == K_OK && h.offset == loc->offset)
        flags = h.flags;
out:
    close(fd);
    return flags;
}

/* Readers and deleters run while passes compact the same chunks: a live
 * needle always reads byte-exact, and a delete that lands during a copy is
 * carried into the new file (checked on disk at the end). */
#define RN 3000

typedef struct race {
    volset *vs;
    uint8_t *d[RN];
    vol_loc l[RN];
    _Atomic bool stop, deleting_done;
    int failures;
} race;

static size_t race_len(int i) {
    return 512 + (size_t)(i * 131) % 3000;
}

static void *race_reader(void *p) {
    race *r = p;
    uint64_t rng = 5;
    uint8_t buf[4096];
    while (!atomic_load(&r->stop)) {
        int i = 2 * (int)rng_below(&rng, RN / 2); /* even needles are never deleted */
        kerr e = vol_read(r->vs, &r->l[i], 0, buf, r->l[i].length);
        if (e != K_OK || memcmp(buf, r->d[i], r->l[i].length) != 0) r->failures++;
    }
    return NULL;
}

static void *race_deleter(void *p) {
    race *r = p;
    uint64_t rng = 77;
    int order[RN / 2];
    for (int k = 0; k < RN / 2; k++) order[k] = 2 * k + 1;
    for (int k = RN / 2 - 1; k > 0; k--) {
        int j = (int)rng_below(&rng, (uint64_t)k + 1), t = order[k];
        order[k] = order[j];
        order[j] = t;
    }
    for (int k = 0; k < RN / 2; k++) {
        if (vol_delete(r->vs, &r->l[order[k]]) != K_OK) r->failures++;
        if (k % 16 == 0) {
            struct timespec ts = {0, 50 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    atomic_store(&r->deleting_done, true);
    return NULL;
}

static void test_compact_concurrent(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    volset *vs = open_compacting(dir, 512 * KiB, 0);
    race *r = calloc(1, sizeof *r);
    r->vs = vs;
    uint64_t rng = 3;
    for (int i = 0; i < RN; i++) {
        r->d[i] = random_bytes(1000 + (uint64_t)i, race_len(i));
        write_needle(vs, r->d[i], race_len(i), 4096, &rng, &r->l[i]);
    }
    uint8_t *tail = random_bytes(98, 400 * KiB);
    vol_loc tail_loc;
    write_needle(vs, tail, 400 * KiB, 90000, &rng, &tail_loc); /* seals the last set chunk */
    pthread_t rd[2], del;
    for (int i = 0; i < 2; i++) assert_int_equal(pthread_create(&rd[i], NULL, race_reader, r), 0);
    assert_int_equal(pthread_create(&del, NULL, race_deleter, r), 0);
    vol_compact_stats st = {0};
    while (!atomic_load(&r->deleting_done)) assert_int_equal(volset_compact(vs, false, &st), K_OK);
    pthread_join(del, NULL);
    atomic_store(&r->stop, true);
    for (int i = 0; i < 2; i++) pthread_join(rd[i], NULL);
    assert_int_equal(r->failures, 0);
    assert_true(st.chunks_compacted > 0);
    volset_close(vs);
    /* No delete was lost: each odd needle is gone from its chunk file or
     * still there flagged deleted. */
    int flagged = 0;
    for (int i = 1; i < RN; i += 2) {
        int flags = needle_flags_on_disk(dir, &r->l[i]);
        assert_true(flags < 0 || (flags & NEEDLE_F_DELETED));
        if (flags >= 0) flagged++;
    }
    vs = open_compacting(dir, 512 * KiB, 0);
    for (int i = 0; i < RN; i += 2) assert_reads_back(vs, &r->l[i], r->d[i]);
    assert_reads_back(vs, &tail_loc, tail);
    assert_true(flagged < RN / 2); /* most were reclaimed under way */
    volset_close(vs);
    free(tail);
    for (int i = 0; i < RN; i++) free(r->d[i]);
    free(r);
    rm_rf(dir);
}

/* ---- chunkset chunks (placed needles) ---- */

/* Writes a needle of len bytes at (chunk, at) through vol_writer_begin_at;
 * returns the begin error, or the finish error. */
static kerr placed_write(volset *vs, uint32_t chunk, uint64_t at, const uint8_t *data, size_t len,
                         vol_loc *loc) {
    vol_writer *w = NULL;
    kerr e = vol_writer_begin_at(vs, 0, chunk, at, len, NULL, 0, &w);
    if (e) return e;
    if (at != VOL_AT_TAIL) assert_true(vol_writer_offset(w) == at);
    assert_int_equal(vol_writer_write(w, data, len), K_OK);
    return vol_writer_finish(w, loc);
}

static void test_placed_chunks(void **state) {
    (void)state;
    char *master = make_tmpdir(), *replica = make_tmpdir();
    volset *m = open1(master, 1 * MiB, true), *r = open1(replica, 1 * MiB, true);
    /* an ordinary needle first, so that the placed chunk is not chunk 0 */
    uint64_t rng = 7;
    uint8_t *plain = random_bytes(1, 5000);
    vol_loc pl;
    write_needle(m, plain, 5000, 5000, &rng, &pl);
    uint32_t mc, rc;
    assert_int_equal(vol_chunk_create_placed(m, 0, &mc), K_OK);
    assert_int_equal(vol_chunk_create_placed(r, 0, &rc), K_OK);
    assert_true(mc != pl.chunk);
    /* the master appends at its tail; the replica takes the same offset */
    uint8_t *d[4];
    vol_loc ml[4], rl[4];
    size_t sizes[4] = {0, 1000, 200 * KiB + 3, 70000};
    for (int i = 0; i < 4; i++) {
        d[i] = random_bytes(10 + (uint64_t)i, sizes[i]);
        assert_int_equal(placed_write(m, mc, VOL_AT_TAIL, d[i], sizes[i], &ml[i]), K_OK);
        assert_true(ml[i].chunk == mc);
        assert_int_equal(placed_write(r, rc, ml[i].offset, d[i], sizes[i], &rl[i]), K_OK);
        assert_true(rl[i].chunk == rc && rl[i].offset == ml[i].offset);
        if (i) assert_true(ml[i].offset > ml[i - 1].offset);
    }
    /* ordinary needles never land in the placed chunk */
    vol_loc pl2;
    write_needle(m, plain, 5000, 5000, &rng, &pl2);
    assert_true(pl2.chunk != mc);
    for (int i = 0; i < 4; i++) {
        assert_reads_back(m, &ml[i], d[i]);
        assert_reads_back(r, &rl[i], d[i]);
    }
    /* a replica never writes over a live needle; misaligned offsets and
     * unknown chunks are refused */
    assert_int_equal(placed_write(r, rc, rl[1].offset, d[1], sizes[1], &rl[1]), K_ECONFLICT);
    vol_writer *w = NULL;
    assert_int_equal(vol_writer_begin_at(r, 0, rc, rl[3].offset + 1, 10, NULL, 0, &w), K_EINVAL);
    assert_int_equal(vol_writer_begin_at(r, 0, rc + 100, 0, 10, NULL, 0, &w), K_ECONFLICT);
    assert_int_equal(vol_writer_begin_at(m, 0, pl.chunk, VOL_AT_TAIL, 10, NULL, 0, &w),
                     K_ECONFLICT); /* not a placed chunk */
    /* a deleted needle's place may be written again (a failed attempt) */
    assert_int_equal(vol_delete(r, &rl[1]), K_OK);
    assert_int_equal(placed_write(r, rc, rl[1].offset, d[1], sizes[1], &rl[1]), K_OK);
    /* full: an append past the chunk size is refused (the chunkset seals) */
    uint8_t *big = random_bytes(99, 600 * KiB);
    vol_loc bl;
    assert_int_equal(placed_write(m, mc, VOL_AT_TAIL, big, 600 * KiB, &bl), K_OK);
    assert_int_equal(placed_write(m, mc, VOL_AT_TAIL, big, 600 * KiB, &bl), K_ECONFLICT);
    /* the open state survives a restart; compaction leaves an open chunk alone */
    for (int i = 1; i < 4; i++) assert_int_equal(vol_delete(m, &ml[i]), K_OK);
    volset_close(m);
    m = open1(master, 1 * MiB, true);
    char *cs_marker = path_in(master, "chunk-%08u.cs", mc);
    assert_int_equal(access(cs_marker, F_OK), 0);
    vol_compact_stats st = {0};
    assert_int_equal(volset_compact(m, true, &st), K_OK);
    assert_reads_back(m, &ml[2], d[2]); /* deleted, but its chunk is still open */
    /* after a restart the tail may be inside a needle a crash cut short: no
     * append there (the chunkset seals), but a replica's write at a given
     * offset still lands */
    assert_int_equal(placed_write(m, mc, VOL_AT_TAIL, d[1], sizes[1], &bl), K_ECONFLICT);
    assert_int_equal(placed_write(m, mc, ml[1].offset, d[1], sizes[1], &ml[1]), K_OK);
    assert_reads_back(m, &ml[1], d[1]);
    /* sealed: no more needles, the marker is gone, and it compacts */
    assert_int_equal(vol_chunk_seal(m, 0, mc), K_OK);
    assert_int_equal(vol_chunk_seal(m, 0, mc), K_OK); /* idempotent */
    assert_int_equal(access(cs_marker, F_OK), -1);
    assert_int_equal(placed_write(m, mc, VOL_AT_TAIL, d[1], sizes[1], &bl), K_ECONFLICT);
    assert_int_equal(vol_chunk_seal(m, 0, 4000), K_ENOTFOUND);
    assert_int_equal(vol_delete(m, &ml[1]), K_OK);
    memset(&st, 0, sizeof st);
    assert_int_equal(volset_compact(m, true, &st), K_OK);
    assert_true(st.chunks_compacted >= 1);
    assert_reads_back(m, &ml[0], d[0]); /* live needles keep their offsets */
    volset_close(m);
    m = open1(master, 1 * MiB, true);
    assert_int_equal(placed_write(m, mc, VOL_AT_TAIL, d[1], sizes[1], &bl), K_ECONFLICT);
    assert_reads_back(m, &ml[0], d[0]);
    volset_close(m);
    volset_close(r);
    free(cs_marker);
    free(big);
    free(plain);
    for (int i = 0; i < 4; i++) free(d[i]);
    rm_rf(master);
    rm_rf(replica);
}

/* A chunk expired whole (Kage's expiry): refused while it takes needles,
 * then its file and needles go at once; idempotent; its id is never given
 * to another chunk, also after a restart. */
static void test_chunk_expire(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    volset *m = open1(dir, 1 * MiB, true);
    uint64_t rng = 11;
    uint8_t *plain = random_bytes(3, 4000);
    vol_loc pl;
    write_needle(m, plain, 4000, 4000, &rng, &pl);
    uint32_t c;
    assert_int_equal(vol_chunk_create_placed(m, 0, &c), K_OK);
    uint8_t *d = random_bytes(4, 70000);
    vol_loc l[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(placed_write(m, c, VOL_AT_TAIL, d, 70000, &l[i]), K_OK);
    assert_int_equal(vol_chunk_expire(m, 0, c), K_ECONFLICT);        /* still open */
    assert_int_equal(vol_chunk_expire(m, 0, pl.chunk), K_ECONFLICT); /* the active chunk */
    assert_int_equal(vol_chunk_seal(m, 0, c), K_OK);
    char *file = path_in(dir, "chunk-%08u.dat", c);
    assert_int_equal(access(file, F_OK), 0);
    assert_int_equal(vol_chunk_expire(m, 0, c), K_OK);
    assert_int_equal(vol_chunk_expire(m, 0, c), K_OK); /* idempotent */
    assert_int_equal(vol_chunk_expire(m, 0, 4000), K_ENOTFOUND);
    uint8_t buf[16];
    for (int i = 0; i < 2; i++) assert_int_equal(vol_read(m, &l[i], 0, buf, 16), K_ENOTFOUND);
    assert_reads_back(m, &pl, plain); /* other chunks untouched */
    /* the newest chunk's file is kept, empty, so that its id stays taken */
    struct stat sb;
    assert_true(access(file, F_OK) != 0 || (stat(file, &sb) == 0 && sb.st_size == 0));
    volset_close(m);
    m = open1(dir, 1 * MiB, true);
    for (int i = 0; i < 2; i++) assert_int_equal(vol_read(m, &l[i], 0, buf, 16), K_ENOTFOUND);
    uint32_t c2;
    assert_int_equal(vol_chunk_create_placed(m, 0, &c2), K_OK);
    assert_true(c2 != c);
    assert_reads_back(m, &pl, plain);
    volset_close(m);
    free(file);
    free(d);
    free(plain);
    rm_rf(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_check_value),
        cmocka_unit_test(test_loc_roundtrip),
        cmocka_unit_test(test_header_roundtrip),
        cmocka_unit_test(test_roundtrip_sizes),
        cmocka_unit_test(test_chunk_rollover_and_reopen),
        cmocka_unit_test(test_reopen_starts_a_new_chunk),
        cmocka_unit_test(test_abort_mid_write),
        cmocka_unit_test(test_crash_tail_recovery),
        cmocka_unit_test(test_corruption_is_block_local),
        cmocka_unit_test(test_delete),
        cmocka_unit_test(test_length_mismatch),
        cmocka_unit_test(test_group_commit),
        cmocka_unit_test(test_volume_order_and_placement),
        cmocka_unit_test(test_free_space_floor),
        cmocka_unit_test(test_streaming_memory_is_bounded),
        cmocka_unit_test(test_compact_reclaims),
        cmocka_unit_test(test_compact_grace_keeps_recent),
        cmocka_unit_test(test_compact_leftovers_and_damage),
        cmocka_unit_test(test_compact_punch_when_no_room),
        cmocka_unit_test(test_compact_legacy_tail),
        cmocka_unit_test(test_compact_concurrent),
        cmocka_unit_test(test_placed_chunks),
        cmocka_unit_test(test_chunk_expire),
    };
    return cmocka_run_group_tests_name("storage/volume", tests, NULL, NULL);
}
