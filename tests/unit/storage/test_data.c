/* SPDX-License-Identifier: Apache-2.0 */
/* The data layer (storage/data.h) over real local volumes in temporary
 * directories: location-key encoding, bodies of known and unknown length,
 * ranged and streamed reads, stable volume ids across restarts and
 * reordering-proof keys, legacy (position) keys and volume.id files, and
 * corruption surfacing through the reader. */
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "storage/chunk.h"
#include "storage/data.h"

#define MiB (1024u * 1024u)

static uint8_t *pattern(uint64_t seed, size_t n) {
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    uint64_t s = seed * 0x9E3779B97F4A7C15u + 1;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        p[i] = (uint8_t)s;
    }
    return p;
}

static char *make_tmpdir(void) {
    char *t = strdup("/tmp/kura-data-test-XXXXXX");
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

typedef struct fixture {
    char *dirs[2];
    volset *vs;
    data_layer *d;
} fixture;

static void open_fixture(fixture *f, bool swap) {
    const char *dirs[2] = {f->dirs[swap ? 1 : 0], f->dirs[swap ? 0 : 1]};
    volset_opts o = {.sync = false};
    assert_int_equal(volset_open_local(dirs, 2, &o, &f->vs), K_OK);
    assert_int_equal(data_open_local(f->vs, NULL, &f->d), K_OK);
}

static void close_fixture(fixture *f) {
    data_close(f->d);
    volset_close(f->vs);
    f->d = NULL;
    f->vs = NULL;
}

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    f->dirs[0] = make_tmpdir();
    f->dirs[1] = make_tmpdir();
    open_fixture(f, false);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    close_fixture(f);
    rm_rf(f->dirs[0]);
    rm_rf(f->dirs[1]);
    free(f);
    return 0;
}

/* Stores body (size known unless unknown) in pieces of step bytes. */
static void store(data_layer *d, const uint8_t *body, size_t n, bool unknown, size_t step,
                  data_loc **run, uint32_t *nrun) {
    data_put *w;
    assert_int_equal(data_put_begin(d, unknown ? DATA_SIZE_UNKNOWN : n, &w), K_OK);
    for (size_t at = 0; at < n; at += step)
        assert_int_equal(data_put_write(w, body + at, n - at < step ? n - at : step), K_OK);
    assert_int_equal(data_put_written(w), n);
    assert_int_equal(data_put_finish(w, run, nrun), K_OK);
}

static void expect_run(data_layer *d, const data_loc *run, uint32_t nrun, const uint8_t *body,
                       size_t n) {
    uint8_t *got = malloc(n ? n : 1);
    assert_int_equal(data_read_run(d, run, nrun, 0, got, n), K_OK);
    assert_memory_equal(got, body, n);
    free(got);
}

/* ---- location keys ---- */

static void loc_codec(void **state) {
    (void)state;
    const data_loc cases[] = {
        {DLOC_VOLUME, 0x8f3a11d2c4e5f607ull, 0, 0, 0},
        {DLOC_VOLUME, UINT64_MAX, UINT32_MAX, (1ull << 40) - 1, NEEDLE_MAX_LENGTH},
        {DLOC_VOLUME_INDEX, 3, 17, 123456789, 4096},
        {DLOC_VOLUME, 1, 127, 128, 16383},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        uint8_t buf[DATA_LOC_MAX_ENCODED + 4];
        memset(buf, 0xEE, sizeof buf);
        size_t n = data_loc_encode(&cases[i], buf);
        assert_true(n <= DATA_LOC_MAX_ENCODED);
        assert_int_equal(buf[0], cases[i].kind);
        assert_int_equal(buf[1], 1);
        data_loc back;
        size_t used = 0;
        /* trailing bytes (the next field of a record) are not consumed */
        assert_int_equal(data_loc_decode(buf, n + 4, &back, &used), K_OK);
        assert_int_equal(used, n);
        assert_int_equal(back.kind, cases[i].kind);
        assert_true(back.volume == cases[i].volume);
        assert_int_equal(back.chunk, cases[i].chunk);
        assert_true(back.offset == cases[i].offset);
        assert_true(back.length == cases[i].length);
        /* every truncation is refused, never misread */
        for (size_t cut = 0; cut < n; cut++)
            assert_int_equal(data_loc_decode(buf, cut, &back, &used), K_ECORRUPT);
    }
    /* a small key is small */
    uint8_t buf[DATA_LOC_MAX_ENCODED];
    data_loc small = {DLOC_VOLUME, 0x1234, 2, 4096, 100};
    assert_true(data_loc_encode(&small, buf) <= 12);

    data_loc l;
    size_t used;
    const uint8_t reserved[] = {5, 1, 0, 0, 0, 0}; /* key map: not readable yet */
    assert_int_equal(data_loc_decode(reserved, sizeof reserved, &l, &used), K_ENOTIMPL);
    /* a chunkset key: id, chunk 0, offset, length */
    const uint8_t cs[] = {DLOC_CHUNKSET, 1, 0x2a, 0, 0x80, 0x01, 5};
    assert_int_equal(data_loc_decode(cs, sizeof cs, &l, &used), K_OK);
    assert_true(l.kind == DLOC_CHUNKSET && l.volume == 42 && l.chunk == 0 && l.offset == 128 &&
                l.length == 5 && used == sizeof cs);
    const uint8_t cs_zero[] = {DLOC_CHUNKSET, 1, 0, 0, 0, 5}; /* no chunkset 0 */
    assert_int_equal(data_loc_decode(cs_zero, sizeof cs_zero, &l, &used), K_ECORRUPT);
    const uint8_t cs_chunk[] = {DLOC_CHUNKSET, 1, 0x2a, 1, 0, 5}; /* chunk must be 0 */
    assert_int_equal(data_loc_decode(cs_chunk, sizeof cs_chunk, &l, &used), K_ECORRUPT);
    /* a stripe key: the same fields */
    const uint8_t st[] = {DLOC_STRIPE, 1, 0x2b, 0, 0x80, 0x02, 0x90, 0x4e};
    assert_int_equal(data_loc_decode(st, sizeof st, &l, &used), K_OK);
    assert_true(l.kind == DLOC_STRIPE && l.volume == 43 && l.offset == 256 && l.length == 10000);
    const uint8_t st_zero[] = {DLOC_STRIPE, 1, 0, 0, 0, 5};
    assert_int_equal(data_loc_decode(st_zero, sizeof st_zero, &l, &used), K_ECORRUPT);
    const uint8_t newer[] = {DLOC_VOLUME, 2, 0, 0, 0, 0};
    assert_int_equal(data_loc_decode(newer, sizeof newer, &l, &used), K_ENOTIMPL);
    const uint8_t garbage[] = {0xff, 1, 0, 0, 0, 0};
    assert_int_equal(data_loc_decode(garbage, sizeof garbage, &l, &used), K_ECORRUPT);
    const uint8_t zero_version[] = {DLOC_VOLUME, 0, 0, 0, 0, 0};
    assert_int_equal(data_loc_decode(zero_version, sizeof zero_version, &l, &used), K_ECORRUPT);
    const uint8_t noncanonical[] = {DLOC_VOLUME, 1, 0x81, 0x00, 0, 0, 0};
    assert_int_equal(data_loc_decode(noncanonical, sizeof noncanonical, &l, &used), K_ECORRUPT);
    const uint8_t overflow[] = {DLOC_VOLUME, 1,    0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                0xff,        0xff, 0xff, 0x02, 0,    0,    0};
    assert_int_equal(data_loc_decode(overflow, sizeof overflow, &l, &used), K_ECORRUPT);
    const uint8_t big_chunk[] = {DLOC_VOLUME, 1, 1, 0x80, 0x80, 0x80, 0x80, 0x10, 0, 0};
    assert_int_equal(data_loc_decode(big_chunk, sizeof big_chunk, &l, &used), K_ECORRUPT);

    vol_loc v = {.volume = 1, .chunk = 2, .offset = 3, .length = 4};
    data_loc_from_legacy(&v, &l);
    assert_int_equal(l.kind, DLOC_VOLUME_INDEX);
    assert_int_equal(l.volume, 1);
    assert_int_equal(l.chunk, 2);
    assert_int_equal(l.offset, 3);
    assert_int_equal(l.length, 4);
}

/* ---- bodies ---- */

static void known_size_bodies(void **state) {
    fixture *f = *state;
    const size_t sizes[] = {0, 1, 4096, 65536, 65537, 3 * MiB + 11};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        uint8_t *body = pattern(i, sizes[i]);
        data_loc *run;
        uint32_t nrun;
        store(f->d, body, sizes[i], false, 70001, &run, &nrun);
        assert_int_equal(nrun, 1);
        assert_int_equal(run[0].kind, DLOC_VOLUME);
        assert_int_equal(run[0].length, sizes[i]);
        /* named by a stable id of this set, not by position */
        uint32_t idx;
        assert_true(volset_find_uid(f->vs, run[0].volume, &idx));
        assert_true(run[0].volume > 1);
        expect_run(f->d, run, nrun, body, sizes[i]);
        free(run);
        free(body);
    }
    /* too few bytes: refused, too many: refused without accepting any */
    data_put *w;
    assert_int_equal(data_put_begin(f->d, 10, &w), K_OK);
    assert_int_equal(data_put_write(w, "0123456789x", 11), K_EINVAL);
    assert_int_equal(data_put_write(w, "01234", 5), K_OK);
    data_loc *run;
    uint32_t nrun;
    assert_int_equal(data_put_finish(w, &run, &nrun), K_EINCOMPLETEBODY);
    assert_null(run);
    assert_int_equal(data_put_begin(f->d, NEEDLE_MAX_LENGTH + 1, &w), K_ETOOLARGE);
}

static void unknown_size_bodies(void **state) {
    fixture *f = *state;
    /* 2 full segments and a tail */
    size_t n = 2 * DATA_SEGMENT_SIZE + 5;
    uint8_t *body = pattern(7, n);
    data_loc *run;
    uint32_t nrun;
    store(f->d, body, n, true, 1 * MiB + 3, &run, &nrun);
    assert_int_equal(nrun, 3);
    assert_int_equal(run[0].length, DATA_SEGMENT_SIZE);
    assert_int_equal(run[1].length, DATA_SEGMENT_SIZE);
    assert_int_equal(run[2].length, 5);
    expect_run(f->d, run, nrun, body, n);
    /* a range across the segment boundary */
    uint8_t piece[100];
    assert_int_equal(data_read_run(f->d, run, nrun, DATA_SEGMENT_SIZE - 50, piece, 100), K_OK);
    assert_memory_equal(piece, body + DATA_SEGMENT_SIZE - 50, 100);
    assert_int_equal(data_read_run(f->d, run, nrun, n - 1, piece, 2), K_EINVAL);
    free(run);
    free(body);
    /* exactly one segment: no empty tail needle */
    body = pattern(8, DATA_SEGMENT_SIZE);
    store(f->d, body, DATA_SEGMENT_SIZE, true, DATA_SEGMENT_SIZE, &run, &nrun);
    assert_int_equal(nrun, 1);
    free(run);
    free(body);
    /* empty: one key of length 0 */
    store(f->d, NULL, 0, true, 1, &run, &nrun);
    assert_int_equal(nrun, 1);
    assert_int_equal(run[0].length, 0);
    free(run);
}

/* The streaming reader: every byte of a range, in odd steps, and jumps. */
static void reader_ranges(void **state) {
    fixture *f = *state;
    size_t n = DATA_SEGMENT_SIZE + 300 * 1024 + 7;
    uint8_t *body = pattern(9, n);
    data_loc *run;
    uint32_t nrun;
    store(f->d, body, n, true, 999983, &run, &nrun);
    assert_int_equal(nrun, 2);
    const uint64_t ranges[][2] = {
        {0, n}, {1, 10}, {65535, 65538}, {DATA_SEGMENT_SIZE - 3, 9}, {n - 1, 1}, {123457, 700001}};
    uint8_t *got = malloc(n);
    for (size_t i = 0; i < sizeof ranges / sizeof *ranges; i++) {
        uint64_t off = ranges[i][0], len = ranges[i][1];
        data_reader *r;
        assert_int_equal(data_reader_open(f->d, run, nrun, off, len, &r), K_OK);
        uint64_t pos = 0;
        size_t step = 4093 + i * 1000;
        while (pos < len) {
            ssize_t k = data_reader_read(r, pos, got + pos, step);
            assert_true(k > 0);
            pos += (uint64_t)k;
        }
        assert_int_equal(data_reader_read(r, pos, got, 1), 0);
        assert_memory_equal(got, body + off, len);
        /* going back works too */
        if (len > 2) {
            uint8_t b;
            assert_int_equal(data_reader_read(r, 1, &b, 1), 1);
            assert_int_equal(b, body[off + 1]);
        }
        data_reader_close(r);
    }
    data_reader *r;
    assert_int_equal(data_reader_open(f->d, run, nrun, n, 1, &r), K_EINVAL);
    free(got);
    free(run);
    free(body);
}

/* Keys name volumes by stable id: they read after a restart even with the
 * directories given in another order; legacy position keys read too. */
static void stable_ids(void **state) {
    fixture *f = *state;
    uint8_t *body[4];
    data_loc *run[4];
    uint32_t nrun[4];
    uint32_t on_volume[2] = {0, 0};
    for (int i = 0; i < 4; i++) {
        body[i] = pattern(20 + (uint64_t)i, 5000);
        store(f->d, body[i], 5000, false, 5000, &run[i], &nrun[i]);
        uint32_t idx;
        assert_true(volset_find_uid(f->vs, run[i][0].volume, &idx));
        on_volume[idx]++;
    }
    assert_true(on_volume[0] > 0 && on_volume[1] > 0);
    uint64_t uid0 = volset_volume_uid(f->vs, 0), uid1 = volset_volume_uid(f->vs, 1);
    assert_true(uid0 != 0 && uid1 != 0 && uid0 != uid1);
    close_fixture(f);

    /* restart: same ids */
    open_fixture(f, false);
    assert_int_equal(volset_volume_uid(f->vs, 0), uid0);
    assert_int_equal(volset_volume_uid(f->vs, 1), uid1);
    for (int i = 0; i < 4; i++) expect_run(f->d, run[i], nrun[i], body[i], 5000);
    /* a legacy key (volume by position) of the same needle reads too */
    uint32_t idx;
    assert_true(volset_find_uid(f->vs, run[0][0].volume, &idx));
    data_loc legacy = run[0][0];
    legacy.kind = DLOC_VOLUME_INDEX;
    legacy.volume = idx;
    expect_run(f->d, &legacy, 1, body[0], 5000);
    /* a key of a volume that is not in this set */
    data_loc stranger = run[0][0];
    stranger.volume ^= 0x5555;
    uint8_t b[10];
    assert_int_equal(data_read(f->d, &stranger, 0, b, 10), K_ENOTFOUND);
    for (int i = 0; i < 4; i++) {
        free(run[i]);
        free(body[i]);
    }
}

/* A volume.id written before stable ids (position only) gets a uid at the
 * next open, and its old needles read by legacy key; two directories with
 * the same uid (a copied directory) are refused. */
static void legacy_volume_id_file(void **state) {
    fixture *f = *state;
    uint8_t *body = pattern(31, 777);
    data_loc *run;
    uint32_t nrun;
    store(f->d, body, 777, false, 777, &run, &nrun);
    uint32_t idx;
    assert_true(volset_find_uid(f->vs, run[0].volume, &idx));
    close_fixture(f);
    char path[512];
    snprintf(path, sizeof path, "%s/volume.id", f->dirs[idx]);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp, "kura volume\nid %u\n", idx); /* the old format */
    fclose(fp);
    open_fixture(f, false);
    uint64_t new_uid = volset_volume_uid(f->vs, idx);
    assert_true(new_uid != 0 && new_uid != run[0].volume);
    data_loc legacy = run[0];
    legacy.kind = DLOC_VOLUME_INDEX;
    legacy.volume = idx;
    expect_run(f->d, &legacy, 1, body, 777);
    close_fixture(f);
    /* the uid was written down: the same after another restart */
    open_fixture(f, false);
    assert_int_equal(volset_volume_uid(f->vs, idx), new_uid);
    close_fixture(f);
    /* copy dir 0's id file into dir 1 (as a copied directory would): refused */
    char p0[512], p1[512], text[256];
    snprintf(p0, sizeof p0, "%s/volume.id", f->dirs[0]);
    snprintf(p1, sizeof p1, "%s/volume.id", f->dirs[1]);
    fp = fopen(p0, "r");
    size_t tn = fread(text, 1, sizeof text - 1, fp);
    fclose(fp);
    text[tn] = 0;
    char *uidline = strstr(text, "uid ");
    assert_non_null(uidline);
    fp = fopen(p1, "w");
    fprintf(fp, "kura volume\nid 1\n%s", uidline);
    fclose(fp);
    const char *dirs[2] = {f->dirs[0], f->dirs[1]};
    volset_opts o = {.sync = false};
    volset *vs = NULL;
    assert_int_equal(volset_open_local(dirs, 2, &o, &vs), K_EINVAL);
    assert_null(vs);
    /* put dir 1 back to a fresh uid so teardown can open nothing more */
    fp = fopen(p1, "w");
    fprintf(fp, "kura volume\nid 1\n");
    fclose(fp);
    open_fixture(f, false);
    free(run);
    free(body);
}

/* Flips the byte at payload offset `at` of the needle of run[0]. */
static void flip_payload(fixture *f, const data_loc *l, uint64_t at) {
    uint32_t idx;
    assert_true(volset_find_uid(f->vs, l->volume, &idx));
    char path[512];
    /* chunk files are chunk-NNNNNNNN.dat (storage/volume_local.c) */
    snprintf(path, sizeof path, "%s/chunk-%08u.dat", f->dirs[idx], l->chunk);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    off_t o = (off_t)(l->offset + NEEDLE_HEADER_SIZE + at);
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, o), 1);
    b ^= 0x40;
    assert_int_equal(pwrite(fd, &b, 1, o), 1);
    close(fd);
}

/* A flipped byte in a chunk file reaches the reader as K_ECORRUPT: at the
 * open when it is in the first window (so a GET answers an error status,
 * not a 200 that stops short), at the read of its window further on. */
static void corruption_through_reader(void **state) {
    fixture *f = *state;
    uint8_t *body = pattern(41, 200000);
    data_loc *run;
    uint32_t nrun;
    store(f->d, body, 200000, false, 200000, &run, &nrun);
    /* a payload byte in the second checksum block */
    flip_payload(f, &run[0], 70000);
    data_reader *r;
    assert_int_equal(data_reader_open(f->d, run, nrun, 0, 200000, &r), K_ECORRUPT);
    /* the intact first block still reads on its own */
    uint8_t *got = malloc(600000);
    assert_int_equal(data_read(f->d, &run[0], 0, got, 65536), K_OK);
    assert_memory_equal(got, body, 65536);
    assert_int_equal(data_read(f->d, &run[0], 65536, got, 10), K_ECORRUPT);
    free(run);
    free(body);

    /* past the first window (256 KiB): the open succeeds, the stream
     * fails at that window, after the good bytes */
    body = pattern(42, 600000);
    store(f->d, body, 600000, false, 600000, &run, &nrun);
    flip_payload(f, &run[0], 400000);
    assert_int_equal(data_reader_open(f->d, run, nrun, 0, 600000, &r), K_OK);
    uint64_t pos = 0;
    ssize_t k = 0;
    while (pos < 600000 && (k = data_reader_read(r, pos, got + pos, 65536)) > 0) pos += (uint64_t)k;
    assert_int_equal(k, -1);
    assert_int_equal(data_reader_error(r), K_ECORRUPT);
    assert_true(pos >= 262144 && pos < 600000);
    assert_memory_equal(got, body, 262144);
    data_reader_close(r);
    free(got);
    free(run);
    free(body);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loc_codec),
        cmocka_unit_test_setup_teardown(known_size_bodies, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_size_bodies, setup, teardown),
        cmocka_unit_test_setup_teardown(reader_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(stable_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(legacy_volume_id_file, setup, teardown),
        cmocka_unit_test_setup_teardown(corruption_through_reader, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
