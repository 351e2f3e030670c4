/* SPDX-License-Identifier: Apache-2.0 */
/* Test client of the storage cluster for test_datanode.py: discovers the
 * datanodes in the registry and writes, reads and deletes needles through
 * remote volumes (storage/volume_remote.c) and the data layer, exactly as a
 * gateway would.
 *
 *   dnclient META_URL SECRET write FILE...
 *       prints "KEYHEX VOLUME_UID CHUNK OFFSET LENGTH" per file (one process
 *       writing several files spreads them over the volumes, round-robin)
 *   dnclient META_URL SECRET read KEYHEX OFF LEN OUTFILE
 *   dnclient META_URL SECRET delete KEYHEX
 *   dnclient META_URL SECRET abort SIZE SENT
 *       starts a needle of SIZE bytes, sends SENT of them and aborts it,
 *       then writes and reads back another needle; prints "ok"
 *   dnclient META_URL SECRET stress THREADS COUNT SIZE
 *       THREADS threads share one remote volset (and its connection
 *       pools); each writes COUNT needles of SIZE bytes and reads every one
 *       back, comparing bytes; prints "ok NEEDLES"
 * Exit 0 on success; otherwise prints the error's name (kerr_name) on
 * stderr as "error: NAME" and exits 3 (1 for usage/setup problems).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/hash.h"
#include "meta/kv.h"
#include "storage/data.h"
#include "storage/dnreg.h"

static int fail(kerr e) {
    fprintf(stderr, "error: %s\n", kerr_name(e));
    return 3;
}

static int write_file(data_layer *d, const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return 1;
    fseek(f, 0, SEEK_END);
    uint64_t size = (uint64_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    data_put *w;
    kerr e = data_put_begin(d, size, &w);
    static char buf[100000]; /* odd size: writes straddle blocks */
    size_t got;
    while (!e && (got = fread(buf, 1, sizeof buf, f)) > 0) e = data_put_write(w, buf, got);
    fclose(f);
    data_loc *run = NULL;
    uint32_t nrun = 0;
    if (!e) {
        e = data_put_finish(w, &run, &nrun);
    } else if (w) {
        data_put_abort(w);
    }
    if (e) return fail(e);
    uint8_t enc[DATA_LOC_MAX_ENCODED];
    char hex[2 * DATA_LOC_MAX_ENCODED + 1];
    size_t el = data_loc_encode(&run[0], enc);
    hex_encode(enc, el, hex);
    printf("%s %016" PRIx64 " %u %" PRIu64 " %" PRIu64 "\n", hex, run[0].volume, run[0].chunk,
           run[0].offset, run[0].length);
    free(run);
    return 0;
}

typedef struct stress_arg {
    data_layer *d;
    unsigned thread, count;
    size_t size;
    kerr err;
    int mismatches;
} stress_arg;

static void *stress_main(void *p) {
    stress_arg *a = p;
    uint8_t *buf = malloc(a->size + 1), *back = malloc(a->size + 1);
    for (unsigned i = 0; i < a->count && !a->err; i++) {
        for (size_t k = 0; k < a->size; k++) buf[k] = (uint8_t)(k * 131 + a->thread * 7 + i);
        data_put *w;
        data_loc *run = NULL;
        uint32_t nrun = 0;
        kerr e = data_put_begin(a->d, a->size, &w);
        /* two writes of uneven size: the upload is driven across calls */
        size_t half = a->size / 3;
        if (!e) e = data_put_write(w, buf, half);
        if (!e) e = data_put_write(w, buf + half, a->size - half);
        if (!e) {
            e = data_put_finish(w, &run, &nrun);
        } else if (w) {
            data_put_abort(w);
        }
        if (!e) e = data_read_run(a->d, run, nrun, 0, back, a->size);
        if (!e && memcmp(buf, back, a->size)) a->mismatches++;
        free(run);
        a->err = e;
    }
    free(buf);
    free(back);
    return NULL;
}

static int stress(data_layer *d, unsigned threads, unsigned count, size_t size) {
    pthread_t t[64];
    stress_arg args[64];
    if (threads > 64) threads = 64;
    for (unsigned i = 0; i < threads; i++) {
        args[i] = (stress_arg){.d = d, .thread = i, .count = count, .size = size};
        pthread_create(&t[i], NULL, stress_main, &args[i]);
    }
    int rc = 0;
    for (unsigned i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        if (args[i].err) rc = fail(args[i].err);
        if (args[i].mismatches) {
            fprintf(stderr, "error: thread %u read back wrong bytes\n", i);
            rc = 3;
        }
    }
    if (!rc) printf("ok %u\n", threads * count);
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: dnclient META_URL SECRET write FILE | read KEYHEX OFF LEN OUT | "
                        "delete KEYHEX\n");
        return 1;
    }
    kv *meta;
    if (kv_redis_open(argv[1], &meta)) return 1;
    dn_info *list;
    size_t n;
    kerr e = dnreg_list(meta, clock_real_ms(), 5000, &list, &n);
    if (e) return fail(e);
    vol_remote_spec specs[64];
    size_t ns = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t v = 0; list[i].up && v < list[i].nvolumes && ns < 64; v++)
            specs[ns++] = (vol_remote_spec){.address = list[i].address, .uid = list[i].volumes[v]};
    volset *vs;
    e = volset_open_remote(specs, ns, argv[2], &vs);
    if (e) return fail(e);
    data_layer *d;
    if (data_open_local(vs, NULL, &d)) return 1;
    const char *cmd = argv[3];
    int rc = 0;
    if (!strcmp(cmd, "write") && argc >= 5) {
        for (int a = 4; a < argc && rc == 0; a++) rc = write_file(d, argv[a]);
    } else if (!strcmp(cmd, "abort") && argc == 6) {
        size_t size = (size_t)strtoull(argv[4], NULL, 10),
               sent = (size_t)strtoull(argv[5], NULL, 10);
        char *buf = calloc(1, size + 1);
        data_put *w;
        e = data_put_begin(d, size, &w);
        if (!e) e = data_put_write(w, buf, sent);
        if (w) data_put_abort(w);
        free(buf);
        rc = e ? fail(e) : stress(d, 1, 1, 70000);
    } else if (!strcmp(cmd, "stress") && argc == 7) {
        rc = stress(d, (unsigned)atoi(argv[4]), (unsigned)atoi(argv[5]),
                    (size_t)strtoull(argv[6], NULL, 10));
    } else if ((!strcmp(cmd, "read") && argc == 8) || (!strcmp(cmd, "delete") && argc == 5)) {
        uint8_t enc[DATA_LOC_MAX_ENCODED];
        int el = hex_decode(argv[4], strlen(argv[4]), enc, sizeof enc);
        data_loc l;
        size_t used;
        if (el < 0 || data_loc_decode(enc, (size_t)el, &l, &used)) return 1;
        if (!strcmp(cmd, "delete")) {
            uint32_t index;
            if (!volset_find_uid(vs, l.volume, &index)) return fail(K_ENOTFOUND);
            vol_loc vl = {
                .volume = index, .chunk = l.chunk, .offset = l.offset, .length = l.length};
            e = vol_delete(vs, &vl);
            if (e) rc = fail(e);
        } else {
            uint64_t off = strtoull(argv[5], NULL, 10), len = strtoull(argv[6], NULL, 10);
            char *out = malloc(len ? len : 1);
            e = data_read(d, &l, off, out, len);
            if (e) {
                rc = fail(e);
            } else {
                FILE *f = fopen(argv[7], "wb");
                if (!f || fwrite(out, 1, len, f) != len) rc = 1;
                if (f) fclose(f);
            }
            free(out);
        }
    } else {
        rc = 1;
    }
    data_close(d);
    volset_close(vs);
    dnreg_list_free(list, n);
    kv_close(meta);
    return rc;
}
