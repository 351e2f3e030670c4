/* SPDX-License-Identifier: Apache-2.0 */
/* Local volume: one directory of append-only chunk files (format: chunk.h).
 *
 * Concurrency model:
 * - The volume lock guards the chunk table, the active chunk and every
 *   chunk's append position. It is held only to reserve a byte range (and,
 *   on rollover, to create the next chunk file): payload I/O of concurrent
 *   writers runs in parallel at their reserved offsets.
 * - Each chunk has its own group-commit state (sync_lock): finishing writers
 *   take a ticket after their pwrites are complete; one of them (the leader)
 *   runs fdatasync covering every ticket handed out before it started, the
 *   others wait and are woken when covered.
 * - Chunk structs live until the volume closes, so a chunk pointer obtained
 *   under the lock stays valid without it. A chunk's file, fd and
 *   forwarding table change only when compaction swaps them (see
 *   "Compaction" below): every read and delete holds the chunk's swap lock
 *   for reading while it uses them, the swap takes it for writing. Writers
 *   never meet a swap: compaction takes only sealed chunks (not active)
 *   whose writer count has dropped to zero.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h> /* sync_file_range (_GNU_SOURCE) */
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "storage/chunk.h"
#include "storage/volume_impl.h"

#define DEFAULT_CHUNK_SIZE (UINT64_C(1) << 30)
/* Payload staged per streaming writer before a pwrite: four blocks. Large
 * enough that pwrite overhead is negligible, small enough that many
 * concurrent uploads keep RSS low. Needles whose whole image fits are built
 * in one buffer of their exact size and written with a single pwrite. */
#define WRITE_BUFFER_SIZE (4 * NEEDLE_BLOCK_SIZE)
/* crc table entries a streaming writer holds before writing them out: one
 * small pwrite per 64 MiB of payload instead of a table sized by len. */
#define CRC_BATCH 1024u
/* Chunk ids above this are refused at open: the chunk table is an array
 * indexed by id (4 M chunks of 1 GiB = 4 PiB per volume). */
#define MAX_CHUNKS (UINT32_C(1) << 22)
/* Gaps up to this size between wanted byte ranges are read and discarded
 * rather than paying another syscall. */
#define READ_GAP_MAX 4096u
/* A streaming writer starts writeback of every this many payload bytes (when
 * syncing): the disk works while the body is still arriving, the final
 * fdatasync has little left to do, and one upload cannot pile up gigabytes
 * of dirty page cache that stall everybody else's commits. */
#define WRITEBACK_STEP (8u * 1024 * 1024)
#define SPACE_REFRESH_NS INT64_C(1000000000)
#define VOLUME_ID_FILE "volume.id"
/* Open chunkset chunks a volume can hold markers for (scan_chunks). */
#define MAX_MARKERS 65536u

typedef struct chunk {
    uint32_t id;
    _Atomic int fd; /* -1 until first use; set under the volume lock */
    uint64_t tail;  /* next append offset (aligned); volume lock */

    pthread_mutex_t sync_lock;
    pthread_cond_t sync_cond;
    uint64_t sync_tickets; /* tickets handed out */
    uint64_t sync_done;    /* every ticket <= sync_done is durable */
    bool sync_running;     /* a leader is inside fdatasync */
    bool dir_synced;       /* the chunk's directory entry is durable */
    /* After a failed fdatasync the kernel may have dropped dirty pages, so
     * nothing unsynced in this chunk can be trusted again: every later
     * waiter fails (with sync_errno's code) and no new needle is placed
     * here. */
    _Atomic bool sync_failed;
    _Atomic int sync_errno;

    /* Writers holding a reservation in this chunk (begin to finish/abort). */
    _Atomic uint32_t writers;
    /* Swap lock: read by lv_read/lv_del around every use of fd, fwd and
     * gone; written by compaction to replace them. */
    pthread_rwlock_t swap;
    bool sealed; /* never active again (compaction sealed it); volume lock */
    /* A chunkset's chunk (volume.h, "Chunkset chunks"): needles placed by
     * begin_at only; open until sealed (marker file), never compacted while
     * open. Volume lock. */
    bool placed, placed_open;
    /* an open placed chunk found at open: its tail may lie inside a needle
     * a crash cut short, so it takes replica writes at given offsets but
     * no append at the tail (the chunkset gets sealed instead) */
    bool tail_unknown;
    bool gone;          /* compaction removed the file: it held no needle */
    bool broken;        /* a compacted file whose table is unreadable: reads fail */
    const uint8_t *fwd; /* compacted: forwarding table (in fwd_map), else NULL */
    uint64_t nfwd;      /* entries in fwd */
    void *fwd_map;      /* mmap of the file's header and table */
    size_t fwd_map_len;
    /* Deletes that arrive while compaction copies the chunk (del_mu). */
    pthread_mutex_t del_mu;
    bool compacting;
    uint64_t *dels;
    size_t ndels, dels_cap;
    /* Garbage bookkeeping: bytes deleted since the last scan (lv_del), and
     * the compactor's own view (compactor only). */
    _Atomic uint64_t dead_since;
    bool scanned;
    uint64_t known_dead; /* dead bytes the last scan left in place */
    int64_t young_until; /* unix s when the oldest kept deleted needle comes of age */
} chunk;

typedef struct local_volume {
    volume base;
    char *dir;
    int dirfd; /* also holds the flock that keeps other processes out */
    uint64_t chunk_size;
    bool sync;

    pthread_mutex_t lock;
    chunk **chunks; /* indexed by id; NULL for a missing id */
    uint32_t nchunks, chunks_cap;
    chunk *active;

    /* Free space: statvfs at most once a second (or on demand), less the
     * bytes reserved by writers and not written yet (pending); between
     * measurements each reservation is subtracted from space_avail. */
    _Atomic uint64_t space_avail, space_total;
    _Atomic int64_t space_checked_ns;
    _Atomic uint64_t pending;

    pthread_mutex_t compact_mu; /* one compaction pass at a time */
    /* Chunks with a lower id may have been written by versions that kept
     * appending to the newest chunk after a restart, i.e. possibly inside
     * the region an unfinished needle claims: their scans do not step over
     * unfinished needles (volume.id, "trusted-from"). */
    uint32_t trusted_from;
} local_volume;

typedef struct local_writer {
    vol_writer base;
    local_volume *vol;
    chunk *chunk;
    uint64_t needle_off;  /* file offset of the header */
    uint64_t payload_off; /* file offset of the payload */
    needle_header hdr;
    /* whole: buf is the needle image (header, table, payload), written once
     * at finish. Otherwise buf stages payload bytes [flushed, written). */
    bool whole;
    bool failed;    /* an I/O error happened: only abort/finish remain */
    kerr fail_code; /* what it was (K_EIO, K_ENOSPC) */
    uint8_t *buf;
    size_t buf_len, buf_cap;
    uint64_t flushed;
    uint64_t writeback_started; /* payload bytes handed to writeback */
    uint64_t unwritten;         /* of the reservation, still counted in the volume's pending */
    uint32_t block_crc;         /* crc of the bytes of the current, unfinished block */
    uint8_t *crcs;              /* pending table entries, LE; in buf when whole */
    uint64_t crcs_first;        /* block index of crcs[0] */
    size_t crcs_len, crcs_cap;
} local_writer;

static const volume_ops local_ops;

static bool no_space(int e) {
    return e == ENOSPC || e == EDQUOT;
}

static kerr kerr_from_errno(int e) {
    switch (e) {
    case ENOSPC:
    case EDQUOT:
        return K_ENOSPC;
    case EMFILE:
    case ENFILE:
    case ENOMEM:
        return K_ENOMEM;
    default:
        return K_EIO;
    }
}

/* After running out of space the cached free space is wrong: the next
 * free_space call measures again. */
static void space_stale(local_volume *v) {
    atomic_store(&v->space_checked_ns, INT64_MIN / 2);
}

static int pwrite_full(int fd, const void *p, size_t n, uint64_t off) {
    const uint8_t *s = p;
    while (n > 0) {
        ssize_t w = pwrite(fd, s, n, (off_t)off);
        if (w < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        s += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

/* Reads until the iovecs are full or EOF. Returns bytes read or -errno. The
 * iovec array is consumed (modified). */
static ssize_t preadv_full(int fd, struct iovec *iov, int cnt, uint64_t off) {
    size_t total = 0;
    while (cnt > 0) {
        ssize_t r = preadv(fd, iov, cnt, (off_t)off);
        if (r < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        if (r == 0) break;
        total += (size_t)r;
        off += (uint64_t)r;
        size_t left = (size_t)r;
        while (cnt > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    return (ssize_t)total;
}

static void chunk_file_name(uint32_t id, char out[32]) {
    snprintf(out, 32, "chunk-%08u.dat", id);
}

static void chunk_marker_name(uint32_t id, char out[32]) {
    snprintf(out, 32, "chunk-%08u.cs", id);
}

/* "chunk-<digits>.dat" -> id; false for any other name. */
static bool parse_chunk_file_name(const char *name, uint32_t *id) {
    if (strncmp(name, "chunk-", 6) != 0) return false;
    const char *p = name + 6;
    uint64_t v = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9' && digits < 10) {
        v = v * 10 + (uint64_t)(*p - '0');
        p++;
        digits++;
    }
    if (digits == 0 || strcmp(p, ".dat") != 0 || v > UINT32_MAX) return false;
    *id = (uint32_t)v;
    return true;
}

/* "chunk-<digits>.cs" (an open chunkset chunk's marker) -> id. */
static bool parse_chunk_marker_name(const char *name, uint32_t *id) {
    size_t n = strlen(name);
    if (n < 4 || n > 30 || strcmp(name + n - 3, ".cs")) return false;
    char tmp[32];
    memcpy(tmp, name, n - 3);
    memcpy(tmp + n - 3, ".dat", 5);
    return parse_chunk_file_name(tmp, id);
}

static chunk *chunk_new(uint32_t id, uint64_t tail, int fd, bool dir_synced) {
    chunk *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->id = id;
    atomic_init(&c->fd, fd);
    c->tail = tail;
    c->dir_synced = dir_synced;
    atomic_init(&c->sync_failed, false);
    atomic_init(&c->sync_errno, 0);
    atomic_init(&c->writers, 0);
    atomic_init(&c->dead_since, 0);
    pthread_mutex_init(&c->sync_lock, NULL);
    pthread_cond_init(&c->sync_cond, NULL);
    /* Writer-preferring: a steady stream of readers of a hot chunk must not
     * keep compaction's swap waiting for ever. */
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&c->swap, &ra);
    pthread_rwlockattr_destroy(&ra);
    pthread_mutex_init(&c->del_mu, NULL);
    return c;
}

static void chunk_free(chunk *c) {
    if (!c) return;
    int fd = atomic_load(&c->fd);
    if (fd >= 0) close(fd);
    if (c->fwd_map) munmap(c->fwd_map, c->fwd_map_len);
    pthread_mutex_destroy(&c->sync_lock);
    pthread_cond_destroy(&c->sync_cond);
    pthread_rwlock_destroy(&c->swap);
    pthread_mutex_destroy(&c->del_mu);
    free(c->dels);
    free(c);
}

/* Makes room for ids < want in the chunk table. Volume lock held (or not
 * yet shared). */
static kerr chunk_table_reserve(local_volume *v, uint32_t want) {
    if (want <= v->chunks_cap) return K_OK;
    uint32_t cap = v->chunks_cap ? v->chunks_cap : 16;
    while (cap < want) cap *= 2;
    chunk **t = realloc(v->chunks, cap * sizeof *t);
    if (!t) return K_ENOMEM;
    memset(t + v->chunks_cap, 0, (cap - v->chunks_cap) * sizeof *t);
    v->chunks = t;
    v->chunks_cap = cap;
    return K_OK;
}

static chunk *chunk_get(local_volume *v, uint32_t id) {
    pthread_mutex_lock(&v->lock);
    chunk *c = id < v->nchunks ? v->chunks[id] : NULL;
    pthread_mutex_unlock(&v->lock);
    return c;
}

/* The chunk's fd, opening the file on first use. -errno on failure. */
static int chunk_fd(local_volume *v, chunk *c) {
    int fd = atomic_load(&c->fd);
    if (fd >= 0) return fd;
    pthread_mutex_lock(&v->lock);
    fd = atomic_load(&c->fd);
    if (fd < 0) {
        char name[32];
        chunk_file_name(c->id, name);
        fd = openat(v->dirfd, name, O_RDWR | O_CLOEXEC);
        if (fd < 0) {
            fd = -errno;
            log_error("storage: open %s/%s: %s", v->dir, name, strerror(errno));
        } else {
            atomic_store(&c->fd, fd);
        }
    }
    pthread_mutex_unlock(&v->lock);
    return fd;
}

/* Creates the next chunk file. Volume lock held. */
static kerr chunk_create_file(local_volume *v, chunk **out) {
    if (v->nchunks >= MAX_CHUNKS) {
        log_error("storage: volume %s has reached %u chunks", v->dir, MAX_CHUNKS);
        return K_ENOMEM;
    }
    uint32_t id = v->nchunks;
    kerr rc = chunk_table_reserve(v, id + 1);
    if (rc != K_OK) return rc;
    char name[32];
    chunk_file_name(id, name);
    int fd = openat(v->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        if (no_space(e)) {
            space_stale(v); /* the volset logs a full volume once */
            log_debug("storage: create %s/%s: %s", v->dir, name, strerror(e));
        } else {
            log_error("storage: create %s/%s: %s", v->dir, name, strerror(e));
        }
        return kerr_from_errno(e);
    }
    /* The directory entry is made durable by the first group commit on this
     * chunk rather than here, so the volume lock is never held across an
     * fsync. */
    chunk *c = chunk_new(id, 0, fd, false);
    if (!c) {
        close(fd);
        unlinkat(v->dirfd, name, 0);
        return K_ENOMEM;
    }
    v->chunks[id] = c;
    v->nchunks = id + 1;
    log_debug("storage: volume %s: new chunk %u", v->dir, id);
    *out = c;
    return K_OK;
}

/* Creates the next chunk file and makes it active. Volume lock held. */
static kerr chunk_create(local_volume *v, chunk **out) {
    kerr rc = chunk_create_file(v, out);
    if (rc == K_OK) v->active = *out;
    return rc;
}

/* Counts size reserved bytes as pending not written yet; keeps the cached free space roughly
 * honest between statvfs calls. */
static void pending_add(local_volume *v, uint64_t size) {
    atomic_fetch_add(&v->pending, size);
    uint64_t avail = atomic_load(&v->space_avail);
    while (!atomic_compare_exchange_weak(&v->space_avail, &avail, avail > size ? avail - size : 0))
        ;
}

/* Reserves size bytes for a needle: in the active chunk if it fits (or the
 * chunk is empty, so an oversized needle gets a chunk of its own), else in
 * a new chunk. */
static kerr reserve(local_volume *v, uint64_t size, chunk **out, uint64_t *off) {
    pthread_mutex_lock(&v->lock);
    chunk *c = v->active;
    kerr rc = K_OK;
    if (!c || atomic_load(&c->sync_failed) || (c->tail > 0 && c->tail + size > v->chunk_size))
        rc = chunk_create(v, &c);
    if (rc == K_OK) {
        *off = c->tail;
        c->tail += size;
        *out = c;
        atomic_fetch_add(&c->writers, 1);
    }
    pthread_mutex_unlock(&v->lock);
    if (rc != K_OK) return rc;
    pending_add(v, size);
    return K_OK;
}

/* Group commit: returns once every byte this thread wrote to c before the
 * call is durable. */
static kerr chunk_commit(local_volume *v, chunk *c) {
    if (!v->sync) return K_OK;
    int fd = chunk_fd(v, c);
    if (fd < 0) return kerr_from_errno(-fd);
    kerr rc = K_OK;
    pthread_mutex_lock(&c->sync_lock);
    uint64_t ticket = ++c->sync_tickets;
    for (;;) {
        if (c->sync_done >= ticket) break;
        if (atomic_load(&c->sync_failed)) {
            rc = kerr_from_errno(atomic_load(&c->sync_errno));
            break;
        }
        if (c->sync_running) {
            pthread_cond_wait(&c->sync_cond, &c->sync_lock);
            continue;
        }
        /* Lead: every ticket up to target belongs to a writer whose pwrites
         * completed before it took the ticket, hence before this sync. */
        c->sync_running = true;
        uint64_t target = c->sync_tickets;
        bool need_dir = !c->dir_synced;
        pthread_mutex_unlock(&c->sync_lock);
        int err = 0;
        if (need_dir) {
            if (fsync(v->dirfd) != 0) err = errno;
            atomic_fetch_add(&v->base.counters->fsyncs, 1);
        }
        if (!err) {
            if (fdatasync(fd) != 0) err = errno;
            atomic_fetch_add(&v->base.counters->fsyncs, 1);
        }
        pthread_mutex_lock(&c->sync_lock);
        c->sync_running = false;
        if (err) {
            if (no_space(err)) space_stale(v);
            atomic_store(&c->sync_errno, err);
            atomic_store(&c->sync_failed, true);
            log_error("storage: fdatasync %s chunk %u: %s; chunk retired from writing", v->dir,
                      c->id, strerror(err));
        } else {
            if (need_dir) c->dir_synced = true;
            c->sync_done = target;
        }
        pthread_cond_broadcast(&c->sync_cond);
    }
    pthread_mutex_unlock(&c->sync_lock);
    return rc;
}

/* ---- writer ---- */

/* n bytes of w's reservation are on disk now (statvfs sees them), or will
 * never be (the writer is done): no longer pending. */
static void settle(local_writer *w, uint64_t n) {
    if (n > w->unwritten) n = w->unwritten;
    if (n == 0) return;
    w->unwritten -= n;
    atomic_fetch_sub(&w->vol->pending, n);
}

static kerr writer_fail(local_writer *w, int e, const char *what) {
    w->failed = true;
    w->fail_code = kerr_from_errno(e);
    if (no_space(e)) {
        /* Not an error of this needle: the volset logs a full volume once
         * per episode rather than once per write. */
        space_stale(w->vol);
        log_debug("storage: %s %s chunk %u @%llu: %s", what, w->vol->dir, w->chunk->id,
                  (unsigned long long)w->needle_off, strerror(e));
    } else {
        log_error("storage: %s %s chunk %u @%llu: %s", what, w->vol->dir, w->chunk->id,
                  (unsigned long long)w->needle_off, strerror(e));
    }
    return w->fail_code;
}

static kerr flush_crcs(local_writer *w) {
    if (w->whole || w->crcs_len == 0) return K_OK;
    int fd = atomic_load(&w->chunk->fd);
    uint64_t at = w->needle_off + NEEDLE_HEADER_SIZE + NEEDLE_CRC_SIZE * w->crcs_first;
    int e = pwrite_full(fd, w->crcs, NEEDLE_CRC_SIZE * w->crcs_len, at);
    if (e) return writer_fail(w, e, "write crc table");
    w->crcs_first += w->crcs_len;
    w->crcs_len = 0;
    return K_OK;
}

static kerr emit_crc(local_writer *w, uint32_t crc) {
    store_le32(w->crcs + NEEDLE_CRC_SIZE * w->crcs_len, crc);
    w->crcs_len++;
    if (w->crcs_len == w->crcs_cap) return flush_crcs(w);
    return K_OK;
}

/* Checksums bytes as they pass, one crc per completed block. */
static kerr crc_feed(local_writer *w, const uint8_t *p, size_t n) {
    uint64_t pos = w->base.written;
    while (n > 0) {
        size_t in_block = (size_t)(pos % NEEDLE_BLOCK_SIZE);
        size_t take = NEEDLE_BLOCK_SIZE - in_block;
        if (take > n) take = n;
        w->block_crc = crc32c_chain(in_block ? w->block_crc : 0, p, take);
        pos += take;
        p += take;
        n -= take;
        if (pos % NEEDLE_BLOCK_SIZE == 0) {
            kerr rc = emit_crc(w, w->block_crc);
            if (rc != K_OK) return rc;
        }
    }
    return K_OK;
}

static kerr flush_payload(local_writer *w, const void *p, size_t n) {
    int fd = atomic_load(&w->chunk->fd);
    int e = pwrite_full(fd, p, n, w->payload_off + w->flushed);
    if (e) return writer_fail(w, e, "write payload");
    w->flushed += n;
    settle(w, n);
    if (w->vol->sync && w->flushed - w->writeback_started >= WRITEBACK_STEP) {
        /* Advisory: failures surface at fdatasync. */
        (void)sync_file_range(fd, (off_t)(w->payload_off + w->writeback_started),
                              (off_t)(w->flushed - w->writeback_started), SYNC_FILE_RANGE_WRITE);
        w->writeback_started = w->flushed;
    }
    return K_OK;
}

static void writer_free(local_writer *w) {
    if (!w) return;
    settle(w, w->unwritten);
    if (w->chunk) atomic_fetch_sub(&w->chunk->writers, 1);
    if (!w->whole) free(w->crcs);
    free(w->buf);
    free(w);
}

/* A writer for a needle of len payload bytes, not placed yet. */
static kerr writer_new(local_volume *v, uint64_t len, local_writer **out) {
    *out = NULL;
    if (len > NEEDLE_MAX_LENGTH) return K_ETOOLARGE;
    uint64_t size = needle_size(len);
    uint64_t nblocks = needle_blocks(len);
    local_writer *w = calloc(1, sizeof *w);
    if (!w) return K_ENOMEM;
    w->base.ops = &local_ops;
    w->base.vol = &v->base;
    w->base.len = len;
    w->vol = v;
    w->whole = size <= WRITE_BUFFER_SIZE;
    w->buf_cap = w->whole ? (size_t)size : WRITE_BUFFER_SIZE;
    w->buf = malloc(w->buf_cap);
    if (w->whole) {
        if (w->buf) memset(w->buf, 0, (size_t)needle_payload_start(len));
        w->crcs = w->buf + NEEDLE_HEADER_SIZE;
        w->crcs_cap = (size_t)nblocks;
    } else {
        w->crcs_cap = nblocks < CRC_BATCH ? (size_t)nblocks : CRC_BATCH;
        w->crcs = malloc(NEEDLE_CRC_SIZE * w->crcs_cap);
    }
    if (!w->buf || !w->crcs) {
        writer_free(w);
        return K_ENOMEM;
    }
    *out = w;
    return K_OK;
}

/* Starts w's needle at w->chunk, w->needle_off (reserved; the chunk's
 * writer count and the volume's pending bytes hold it): writes the
 * incomplete header. Frees w on failure. */
static kerr writer_start(local_writer *w, vol_writer **out) {
    local_volume *v = w->vol;
    volume *base = &v->base;
    uint64_t len = w->base.len;
    kerr rc;
    w->unwritten = needle_size(len);
    w->payload_off = w->needle_off + needle_payload_start(len);
    w->hdr = (needle_header){.version = NEEDLE_VERSION,
                             .flags = 0,
                             .block_size = NEEDLE_BLOCK_SIZE,
                             .length = len,
                             .volume = base->id,
                             .chunk = w->chunk->id,
                             .offset = w->needle_off,
                             .created = (uint64_t)time(NULL)};

    int fd = chunk_fd(v, w->chunk);
    if (fd < 0) {
        rc = kerr_from_errno(-fd);
        writer_free(w);
        return rc;
    }
    /* The incomplete header goes first: its length lets a scanner step over
     * this region even if the writer never finishes. */
    uint8_t hdr[NEEDLE_HEADER_SIZE];
    needle_header_encode(&w->hdr, hdr);
    int e = pwrite_full(fd, hdr, sizeof hdr, w->needle_off);
    if (e) {
        rc = writer_fail(w, e, "write header");
        writer_free(w);
        return rc;
    }
    w->base.at = w->needle_off;
    *out = &w->base;
    return K_OK;
}

static kerr lv_begin(volume *base, uint64_t len, vol_writer **out) {
    local_volume *v = (local_volume *)base;
    *out = NULL;
    local_writer *w;
    kerr rc = writer_new(v, len, &w);
    if (rc != K_OK) return rc;
    rc = reserve(v, needle_size(len), &w->chunk, &w->needle_off);
    if (rc != K_OK) {
        writer_free(w);
        return rc;
    }
    return writer_start(w, out);
}

static int pread_full(int fd, void *p, size_t n, uint64_t off, size_t *got);

/* Whether a complete needle that is not deleted starts at offset at of the
 * placed chunk c (a replica asked to write there again). Volume lock held
 * (c is open, never compacted: its file is the plain chunk). */
static bool holds_live_needle(local_volume *v, chunk *c, uint64_t at) {
    if (at >= c->tail) return false;
    int fd = atomic_load(&c->fd);
    char name[32];
    bool opened = false;
    if (fd < 0) {
        chunk_file_name(c->id, name);
        fd = openat(v->dirfd, name, O_RDONLY | O_CLOEXEC);
        if (fd < 0) return false;
        opened = true;
    }
    uint8_t raw[NEEDLE_HEADER_SIZE];
    size_t got = 0;
    needle_header h;
    bool live = pread_full(fd, raw, sizeof raw, at, &got) == 0 && got == sizeof raw &&
                needle_header_decode(raw, &h) == K_OK && h.offset == at &&
                (h.flags & NEEDLE_F_COMPLETE) && !(h.flags & NEEDLE_F_DELETED);
    if (opened) close(fd);
    return live;
}

static kerr lv_begin_at(volume *base, uint32_t id, uint64_t at, uint64_t len,
                        const vol_replica *fwd, size_t n_fwd, vol_writer **out) {
    local_volume *v = (local_volume *)base;
    *out = NULL;
    if (n_fwd) return K_ENOTIMPL; /* forwarding is the datanode's job */
    if (at != VOL_AT_TAIL && needle_align_up(at) != at) return K_EINVAL;
    local_writer *w;
    kerr rc = writer_new(v, len, &w);
    if (rc != K_OK) return rc;
    uint64_t size = needle_size(len);
    pthread_mutex_lock(&v->lock);
    chunk *c = id < v->nchunks ? v->chunks[id] : NULL;
    if (!c || !c->placed_open || c->gone || atomic_load(&c->sync_failed)) {
        rc = K_ECONFLICT;
    } else if (at == VOL_AT_TAIL) {
        if (c->tail_unknown || (c->tail > 0 && c->tail + size > v->chunk_size)) {
            rc = K_ECONFLICT; /* full: the chunkset is sealed by its owner */
        } else {
            w->needle_off = c->tail;
            c->tail += size;
        }
    } else if (at > UINT64_MAX - size) {
        rc = K_EINVAL;
    } else if (holds_live_needle(v, c, at)) {
        rc = K_ECONFLICT; /* never over a needle that may be referenced */
    } else {
        w->needle_off = at;
        if (at + size > c->tail) c->tail = at + size;
    }
    if (rc == K_OK) {
        w->chunk = c;
        atomic_fetch_add(&c->writers, 1);
    }
    pthread_mutex_unlock(&v->lock);
    if (rc != K_OK) {
        writer_free(w);
        return rc;
    }
    pending_add(v, size);
    return writer_start(w, out);
}

/* Makes the directory entries of the volume durable. */
static kerr dir_sync(local_volume *v) {
    if (v->sync && fsync(v->dirfd) != 0) {
        int e = errno;
        log_error("storage: fsync %s: %s", v->dir, strerror(e));
        return kerr_from_errno(e);
    }
    return K_OK;
}

static kerr lv_chunk_create(volume *base, uint32_t *id) {
    local_volume *v = (local_volume *)base;
    pthread_mutex_lock(&v->lock);
    chunk *c = NULL;
    kerr rc = chunk_create_file(v, &c);
    if (rc == K_OK) {
        char name[32];
        chunk_marker_name(c->id, name);
        int fd = openat(v->dirfd, name, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            rc = kerr_from_errno(errno);
            log_error("storage: create %s/%s: %s", v->dir, name, strerror(errno));
            c->sealed = true; /* an ordinary, empty chunk: never used */
        } else {
            close(fd);
            c->placed = c->placed_open = true;
            *id = c->id;
        }
    }
    pthread_mutex_unlock(&v->lock);
    if (rc == K_OK) rc = dir_sync(v);
    if (rc == K_OK) {
        c->dir_synced = true;
        log_info("storage: volume %s: chunk %u created for a chunkset", v->dir, *id);
    }
    return rc;
}

static kerr lv_chunk_seal(volume *base, uint32_t id) {
    local_volume *v = (local_volume *)base;
    pthread_mutex_lock(&v->lock);
    chunk *c = id < v->nchunks ? v->chunks[id] : NULL;
    bool was_open = c && c->placed_open;
    if (c) {
        c->placed_open = false;
        c->sealed = true;
    }
    pthread_mutex_unlock(&v->lock);
    if (!c) return K_ENOTFOUND;
    kerr rc = K_OK;
    if (was_open) { /* durable first: a restart must not find it open */
        char name[32];
        chunk_marker_name(id, name);
        if (unlinkat(v->dirfd, name, 0) != 0 && errno != ENOENT) {
            log_error("storage: remove %s/%s: %s", v->dir, name, strerror(errno));
            rc = kerr_from_errno(errno);
        } else {
            rc = dir_sync(v);
            log_info("storage: volume %s: chunkset chunk %u sealed", v->dir, id);
        }
    }
    /* needles begun before the seal finish (or fail) before it returns: a
     * caller that lists the chunk afterwards (repair) sees its final set */
    for (int i = 0; i < 500 && atomic_load(&c->writers) > 0; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (rc == K_OK && atomic_load(&c->writers) > 0) {
        log_warn("storage: volume %s: chunk %u sealed, but a needle is still being written", v->dir,
                 id);
        rc = K_EUNAVAILABLE;
    }
    return rc;
}

static kerr lv_write(vol_writer *base, const void *p, size_t n) {
    local_writer *w = (local_writer *)base;
    if (w->failed) return w->fail_code;
    if (n > base->len - base->written) return K_EINVAL;
    if (n == 0) return K_OK;
    kerr rc = crc_feed(w, p, n);
    if (rc != K_OK) return rc;
    if (w->whole) {
        memcpy(w->buf + needle_payload_start(base->len) + base->written, p, n);
    } else if (w->buf_len + n <= w->buf_cap) {
        memcpy(w->buf + w->buf_len, p, n);
        w->buf_len += n;
    } else {
        if (w->buf_len) {
            rc = flush_payload(w, w->buf, w->buf_len);
            if (rc != K_OK) return rc;
            w->buf_len = 0;
        }
        if (n >= w->buf_cap) {
            /* Large caller buffers go straight to the file: no copy. */
            rc = flush_payload(w, p, n);
            if (rc != K_OK) return rc;
        } else {
            memcpy(w->buf, p, n);
            w->buf_len = n;
        }
    }
    base->written += n;
    return K_OK;
}

static kerr finish_needle(local_writer *w) {
    uint64_t len = w->base.len;
    kerr rc;
    if (len % NEEDLE_BLOCK_SIZE != 0) {
        rc = emit_crc(w, w->block_crc);
        if (rc != K_OK) return rc;
    }
    w->hdr.flags = NEEDLE_F_COMPLETE;
    int fd = atomic_load(&w->chunk->fd);
    if (w->whole) {
        needle_header_encode(&w->hdr, w->buf);
        int e = pwrite_full(fd, w->buf, (size_t)(needle_payload_start(len) + len), w->needle_off);
        if (e) return writer_fail(w, e, "write needle");
        return K_OK;
    }
    if (w->buf_len) {
        rc = flush_payload(w, w->buf, w->buf_len);
        if (rc != K_OK) return rc;
        w->buf_len = 0;
    }
    rc = flush_crcs(w);
    if (rc != K_OK) return rc;
    /* Ordering against the payload does not matter: nothing references the
     * needle until finish returns, which is after the commit covers all. */
    uint8_t hdr[NEEDLE_HEADER_SIZE];
    needle_header_encode(&w->hdr, hdr);
    int e = pwrite_full(fd, hdr, sizeof hdr, w->needle_off);
    if (e) return writer_fail(w, e, "write header");
    return K_OK;
}

static kerr lv_finish(vol_writer *base, vol_loc *loc) {
    local_writer *w = (local_writer *)base;
    kerr rc;
    if (w->failed)
        rc = w->fail_code;
    else if (base->written != base->len)
        rc = K_EINCOMPLETEBODY;
    else
        rc = finish_needle(w);
    if (rc == K_OK) rc = chunk_commit(w->vol, w->chunk);
    if (rc == K_OK) {
        loc->volume = base->vol->id;
        loc->chunk = w->chunk->id;
        loc->offset = w->needle_off;
        loc->length = base->len;
    }
    writer_free(w);
    return rc;
}

static void lv_abort(vol_writer *base) {
    /* The reserved range stays unused: it carries an incomplete header, and
     * nothing references it. */
    writer_free((local_writer *)base);
}

/* ---- read / delete ---- */

/* Where the needle at logical offset off of c starts in c's file: the same
 * offset, or for a compacted chunk what its forwarding table says. False
 * if c holds no needle there (any more). Swap lock held. */
static bool chunk_locate(const chunk *c, uint64_t off, uint64_t *at) {
    if (c->gone) return false;
    if (!c->fwd) {
        *at = off;
        return true;
    }
    uint64_t lo = 0, hi = c->nfwd;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        uint64_t key = load_le64(c->fwd + CHUNK_COMPACT_ENTRY_SIZE * mid);
        if (key == off) {
            *at = load_le64(c->fwd + CHUNK_COMPACT_ENTRY_SIZE * mid + 8);
            return true;
        }
        if (key < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static kerr read_locked(local_volume *v, chunk *c, const vol_loc *loc, uint64_t off, void *buf,
                        size_t n);
static kerr del_locked(local_volume *v, chunk *c, const vol_loc *loc);

typedef struct read_seg {
    uint64_t off;
    size_t len;
    void *dst;
} read_seg;

/* Reads sorted, non-overlapping segments, merging neighbours closer than
 * READ_GAP_MAX into one preadv (gap bytes land in gap_buf). Sets *complete
 * to whether every segment was filled (false on EOF). 0 or an errno. */
static int read_segments(int fd, const read_seg *segs, int nsegs, uint8_t *gap_buf,
                         bool *complete) {
    *complete = true;
    int i = 0;
    while (i < nsegs) {
        struct iovec iov[2 * 8];
        int cnt = 0;
        size_t want = 0;
        uint64_t start = segs[i].off, end = start;
        do {
            if (segs[i].off > end) {
                iov[cnt++] = (struct iovec){gap_buf, (size_t)(segs[i].off - end)};
                want += (size_t)(segs[i].off - end);
            }
            iov[cnt++] = (struct iovec){segs[i].dst, segs[i].len};
            want += segs[i].len;
            end = segs[i].off + segs[i].len;
            i++;
        } while (i < nsegs && cnt + 2 <= (int)(sizeof iov / sizeof iov[0]) &&
                 segs[i].off - end <= READ_GAP_MAX);
        ssize_t r = preadv_full(fd, iov, cnt, start);
        if (r < 0) return (int)-r;
        if ((size_t)r < want) {
            *complete = false;
            return 0;
        }
    }
    return 0;
}

/* Checks that hdr describes the complete, live needle loc names. */
static kerr check_header(const local_volume *v, const uint8_t raw[NEEDLE_HEADER_SIZE],
                         const vol_loc *loc, needle_header *h) {
    if (needle_header_decode(raw, h) != K_OK) return K_ENOTFOUND;
    if (h->length != loc->length || h->block_size != NEEDLE_BLOCK_SIZE || h->volume != v->base.id ||
        h->chunk != loc->chunk || h->offset != loc->offset)
        return K_ENOTFOUND;
    if (!(h->flags & NEEDLE_F_COMPLETE) || (h->flags & NEEDLE_F_RECLAIMED)) return K_ENOTFOUND;
    return K_OK;
}

/* Checksums blocks over the concatenation of up to three pieces. */
typedef struct piece {
    const uint8_t *p;
    size_t n;
} piece;

static kerr verify_blocks(const local_volume *v, const vol_loc *loc, uint64_t first_block,
                          uint64_t nblocks, const uint8_t *crcs, piece pieces[3]) {
    int pi = 0;
    size_t used = 0; /* bytes of pieces[pi] consumed */
    for (uint64_t b = 0; b < nblocks; b++) {
        uint64_t block = first_block + b;
        uint64_t blen = loc->length - block * NEEDLE_BLOCK_SIZE;
        if (blen > NEEDLE_BLOCK_SIZE) blen = NEEDLE_BLOCK_SIZE;
        uint32_t crc = 0;
        while (blen > 0) {
            while (used == pieces[pi].n) {
                pi++;
                used = 0;
            }
            size_t take = pieces[pi].n - used;
            if (take > blen) take = (size_t)blen;
            crc = crc32c_chain(crc, pieces[pi].p + used, take);
            used += take;
            blen -= take;
        }
        if (crc != load_le32(crcs + NEEDLE_CRC_SIZE * b)) {
            log_warn("storage: crc mismatch: volume %u chunk %u needle @%llu block %llu (%s)",
                     v->base.id, loc->chunk, (unsigned long long)loc->offset,
                     (unsigned long long)block, v->dir);
            return K_ECORRUPT;
        }
    }
    return K_OK;
}

static kerr lv_read(volume *base, const vol_loc *loc, uint64_t off, void *buf, size_t n) {
    local_volume *v = (local_volume *)base;
    uint64_t len = loc->length;
    if (len > NEEDLE_MAX_LENGTH || loc->offset % NEEDLE_ALIGN != 0 ||
        loc->offset > (UINT64_C(1) << 62))
        return K_ENOTFOUND;
    if (off > len || n > len - off) return K_EINVAL;
    chunk *c = chunk_get(v, loc->chunk);
    if (!c) return K_ENOTFOUND;
    pthread_rwlock_rdlock(&c->swap);
    kerr rc = read_locked(v, c, loc, off, buf, n);
    pthread_rwlock_unlock(&c->swap);
    return rc;
}

/* lv_read with c's swap lock held for reading. */
static kerr read_locked(local_volume *v, chunk *c, const vol_loc *loc, uint64_t off, void *buf,
                        size_t n) {
    uint64_t len = loc->length, at;
    if (c->broken) return K_ECORRUPT;
    if (!chunk_locate(c, loc->offset, &at)) return K_ENOTFOUND;
    int fd = chunk_fd(v, c);
    if (fd < 0) return kerr_from_errno(-fd);

    uint8_t raw[NEEDLE_HEADER_SIZE];
    read_seg segs[5];
    int nsegs = 0;
    segs[nsegs++] = (read_seg){at, sizeof raw, raw};

    /* Whole blocks are read around the requested range so each can be
     * verified; the slack before and after lands in a side buffer and the
     * requested bytes directly in buf. */
    uint64_t first_block = 0, nblocks = 0;
    size_t head = 0, tail = 0;
    uint8_t crcs_small[64], *crcs = crcs_small;
    uint8_t slack_small[2 * 4096], *slack = slack_small;
    uint8_t gap_buf[READ_GAP_MAX];
    if (n > 0) {
        first_block = off / NEEDLE_BLOCK_SIZE;
        uint64_t last_block = (off + n - 1) / NEEDLE_BLOCK_SIZE;
        nblocks = last_block - first_block + 1;
        uint64_t span_end = (last_block + 1) * NEEDLE_BLOCK_SIZE;
        if (span_end > len) span_end = len;
        head = (size_t)(off - first_block * NEEDLE_BLOCK_SIZE);
        tail = (size_t)(span_end - (off + n));
        if (NEEDLE_CRC_SIZE * nblocks > sizeof crcs_small) {
            crcs = malloc((size_t)(NEEDLE_CRC_SIZE * nblocks));
            if (!crcs) return K_ENOMEM;
        }
        if (head + tail > sizeof slack_small) {
            slack = malloc(head + tail);
            if (!slack) {
                if (crcs != crcs_small) free(crcs);
                return K_ENOMEM;
            }
        }
        uint64_t payload = at + needle_payload_start(len);
        segs[nsegs++] = (read_seg){at + NEEDLE_HEADER_SIZE + NEEDLE_CRC_SIZE * first_block,
                                   (size_t)(NEEDLE_CRC_SIZE * nblocks), crcs};
        if (head) segs[nsegs++] = (read_seg){payload + off - head, head, slack};
        segs[nsegs++] = (read_seg){payload + off, n, buf};
        if (tail) segs[nsegs++] = (read_seg){payload + off + n, tail, slack + head};
    }

    bool complete;
    kerr rc = K_OK;
    int e = read_segments(fd, segs, nsegs, gap_buf, &complete);
    needle_header h;
    if (e) {
        log_error("storage: read %s chunk %u @%llu: %s", v->dir, loc->chunk,
                  (unsigned long long)loc->offset, strerror(e));
        rc = kerr_from_errno(e);
    } else if (!complete) {
        /* EOF somewhere: a valid header over a truncated body is damage;
         * anything else is simply not a needle. */
        uint8_t again[NEEDLE_HEADER_SIZE];
        read_seg hs = {at, sizeof again, again};
        bool hdr_complete;
        rc = K_ENOTFOUND;
        if (read_segments(fd, &hs, 1, gap_buf, &hdr_complete) == 0 && hdr_complete &&
            check_header(v, again, loc, &h) == K_OK && !(h.flags & NEEDLE_F_DELETED)) {
            log_warn("storage: needle truncated: volume %u chunk %u @%llu (%s)", v->base.id,
                     loc->chunk, (unsigned long long)loc->offset, v->dir);
            rc = K_ECORRUPT;
        }
    } else if ((rc = check_header(v, raw, loc, &h)) == K_OK) {
        /* A deleted needle stays readable until compaction reclaims it: a
         * GET that loaded the object record before a concurrent overwrite or
         * DELETE must still stream the bytes it promised. */
        if (n > 0) {
            piece pieces[3] = {{slack, head}, {buf, n}, {slack + head, tail}};
            rc = verify_blocks(v, loc, first_block, nblocks, crcs, pieces);
        }
    }
    if (crcs != crcs_small) free(crcs);
    if (slack != slack_small) free(slack);
    return rc;
}

static kerr lv_del(volume *base, const vol_loc *loc) {
    local_volume *v = (local_volume *)base;
    if (loc->length > NEEDLE_MAX_LENGTH || loc->offset % NEEDLE_ALIGN != 0) return K_ENOTFOUND;
    chunk *c = chunk_get(v, loc->chunk);
    if (!c) return K_ENOTFOUND;
    pthread_rwlock_rdlock(&c->swap);
    kerr rc = del_locked(v, c, loc);
    pthread_rwlock_unlock(&c->swap);
    return rc;
}

/* lv_del with c's swap lock held for reading. */
static kerr del_locked(local_volume *v, chunk *c, const vol_loc *loc) {
    uint64_t at;
    if (c->broken) return K_ECORRUPT;
    if (!chunk_locate(c, loc->offset, &at)) return K_ENOTFOUND;
    int fd = chunk_fd(v, c);
    if (fd < 0) return kerr_from_errno(-fd);
    uint8_t raw[NEEDLE_HEADER_SIZE];
    ssize_t r;
    do r = pread(fd, raw, sizeof raw, (off_t)at);
    while (r < 0 && errno == EINTR);
    if (r < 0) return kerr_from_errno(errno);
    if ((size_t)r < sizeof raw) return K_ENOTFOUND;
    needle_header h;
    kerr rc = check_header(v, raw, loc, &h);
    if (rc != K_OK) return rc;
    if (h.flags & NEEDLE_F_DELETED) return K_OK;
    /* No fsync (see vol_delete): the flag is a compaction hint. */
    h.flags |= NEEDLE_F_DELETED;
    h.deleted = (uint64_t)time(NULL);
    needle_header_encode(&h, raw);
    int e = pwrite_full(fd, raw, sizeof raw, at);
    if (e) {
        log_error("storage: delete %s chunk %u @%llu: %s", v->dir, loc->chunk,
                  (unsigned long long)loc->offset, strerror(e));
        return kerr_from_errno(e);
    }
    atomic_fetch_add(&c->dead_since, needle_size(h.length));
    pthread_mutex_lock(&c->del_mu);
    if (c->compacting) {
        /* Compaction may have copied the needle before this flag: it
         * carries the delete over before it swaps files. Without memory
         * the delete is lost there, which leaks space, never data. */
        if (c->ndels == c->dels_cap) {
            size_t cap = c->dels_cap ? 2 * c->dels_cap : 64;
            uint64_t *d = realloc(c->dels, cap * sizeof *d);
            if (d) {
                c->dels = d;
                c->dels_cap = cap;
            }
        }
        if (c->ndels < c->dels_cap) c->dels[c->ndels++] = loc->offset;
    }
    pthread_mutex_unlock(&c->del_mu);
    return K_OK;
}

static kerr lv_free_space(volume *base, bool fresh, uint64_t *avail, uint64_t *total) {
    local_volume *v = (local_volume *)base;
    int64_t now = (int64_t)clock_mono_ns();
    if (fresh || now - atomic_load(&v->space_checked_ns) >= SPACE_REFRESH_NS) {
        struct statvfs st;
        if (fstatvfs(v->dirfd, &st) != 0) {
            log_error("storage: statvfs %s: %s", v->dir, strerror(errno));
            return K_EIO;
        }
        uint64_t fs_avail = (uint64_t)st.f_bavail * st.f_frsize;
        uint64_t pending = atomic_load(&v->pending);
        atomic_store(&v->space_avail, fs_avail > pending ? fs_avail - pending : 0);
        atomic_store(&v->space_total, (uint64_t)st.f_blocks * st.f_frsize);
        atomic_store(&v->space_checked_ns, now);
    }
    *avail = atomic_load(&v->space_avail);
    *total = atomic_load(&v->space_total);
    return K_OK;
}

/* ---- compaction ----
 *
 * Invariants:
 * - Only the compactor (one pass per volume at a time: compact_mu) swaps a
 *   chunk's fd, table, gone and broken, and only under the chunk's swap lock
 *   held for writing; so the compactor itself may use them without the
 *   lock.
 * - A chunk is compacted only once sealed (not active, and never active
 *   again) with no writer holding a reservation in it: its needles do not
 *   change under the copy except for delete flags, which lv_del also
 *   records in dels while compacting is set.
 * - A surviving needle keeps its header byte for byte (its offset field is
 *   its logical offset, the one location keys carry); the forwarding table
 *   maps that offset to where the needle now sits in the file.
 * - The new file is complete and fsynced before it is renamed over the old
 *   one: a crash leaves one or the other, never a mix.
 */

#define COMPACT_TMP_SUFFIX ".tmp"
/* Not worth a rewrite below this much garbage (a page). */
#define COMPACT_MIN_RECLAIM 4096u
#define COMPACT_COPY_BUF (1u << 20)
/* An active chunk smaller than this is never sealed for compaction. */
#define COMPACT_MIN_SEAL (64u * 1024)

typedef struct found_needle {
    uint64_t logical, at, size; /* size: needle_size (aligned) */
    uint64_t used;              /* bytes written: header, table, payload */
    uint64_t length;            /* payload bytes */
    bool deleted;
} found_needle;

typedef struct needle_list {
    found_needle *v;
    size_t n, cap;
} needle_list;

static bool list_push(needle_list *l, found_needle f) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 256;
        found_needle *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv) return false;
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = f;
    return true;
}

static int pread_full(int fd, void *p, size_t n, uint64_t off, size_t *got) {
    uint8_t *d = p;
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(fd, d + done, n - done, (off_t)(off + done));
        if (r < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (r == 0) break;
        done += (size_t)r;
    }
    *got = done;
    return 0;
}

/* The next offset >= from (aligned) where a needle header may start, or
 * size if none: bytes between needles (a torn write) are skipped by
 * looking for the magic. */
static int next_magic(int fd, uint64_t from, uint64_t size, uint8_t *buf, uint64_t *out) {
    while (from < size) {
        size_t want = size - from < 65536 ? (size_t)(size - from) : 65536;
        size_t got;
        int e = pread_full(fd, buf, want, from, &got);
        if (e) return e;
        for (size_t i = 0; i + 4 <= got; i += NEEDLE_ALIGN) {
            if (load_le32(buf + i) == NEEDLE_MAGIC) {
                *out = from + i;
                return 0;
            }
        }
        if (got < want) break;
        from += got;
    }
    *out = size;
    return 0;
}

typedef struct scan_result {
    needle_list keep;  /* needles to carry over, in file order */
    needle_list dead;  /* deleted needles past their grace, pages not yet given back */
    needle_list stamp; /* deleted by a version that did not record when: stamped now */
    uint64_t file_size;
    uint64_t alloc; /* bytes the file occupies on the filesystem */
    uint64_t kept;  /* bytes of the kept needles (aligned sizes) */
    uint64_t young; /* of which deleted, kept for the grace period */
    int64_t young_until;
} scan_result;

/* Decides for the needle with header h at file offset at (size bytes). */
static bool scan_take(scan_result *r, const needle_header *h, uint64_t logical, uint64_t at,
                      uint64_t grace_s, int64_t now) {
    uint64_t size = needle_size(h->length);
    uint64_t used = needle_payload_start(h->length) + h->length;
    if (!(h->flags & NEEDLE_F_COMPLETE) || used > r->file_size - at) return true; /* garbage */
    if (h->flags & NEEDLE_F_DELETED) {
        if (h->deleted == 0 && grace_s > 0 &&
            !list_push(&r->stamp, (found_needle){logical, at, size, used, h->length, true}))
            return false;
        if ((h->deleted == 0 && grace_s == 0) ||
            (h->deleted != 0 && (int64_t)(h->deleted + grace_s) <= now))
            return (h->flags & NEEDLE_F_RECLAIMED) ||
                   list_push(&r->dead, (found_needle){logical, at, size, used, h->length, true});
        r->young += size;
        int64_t until = (int64_t)((h->deleted ? h->deleted : (uint64_t)now) + grace_s);
        if (r->young_until == 0 || until < r->young_until) r->young_until = until;
    }
    r->kept += size;
    return list_push(&r->keep, (found_needle){logical, at, size, used, h->length,
                                              (h->flags & NEEDLE_F_DELETED) != 0});
}

/* Walks the needles of c. Compactor only. */
static kerr scan_chunk(local_volume *v, chunk *c, int fd, uint64_t grace_s, scan_result *r) {
    struct stat st;
    if (fstat(fd, &st) != 0) return kerr_from_errno(errno);
    r->file_size = (uint64_t)st.st_size;
    r->alloc = (uint64_t)st.st_blocks * 512;
    int64_t now = (int64_t)time(NULL);
    uint8_t raw[NEEDLE_HEADER_SIZE];
    needle_header h;
    size_t got;
    if (c->fwd) {
        for (uint64_t i = 0; i < c->nfwd; i++) {
            uint64_t logical = load_le64(c->fwd + CHUNK_COMPACT_ENTRY_SIZE * i);
            uint64_t at = load_le64(c->fwd + CHUNK_COMPACT_ENTRY_SIZE * i + 8);
            int e = pread_full(fd, raw, sizeof raw, at, &got);
            if (e) return kerr_from_errno(e);
            if (got < sizeof raw || needle_header_decode(raw, &h) != K_OK || h.offset != logical ||
                h.chunk != c->id || h.length > NEEDLE_MAX_LENGTH)
                continue; /* damaged: nothing can read it anyway */
            if (!scan_take(r, &h, logical, at, grace_s, now)) return K_ENOMEM;
        }
        return K_OK;
    }
    uint8_t *buf = malloc(65536);
    if (!buf) return K_ENOMEM;
    kerr rc = K_OK;
    uint64_t p = 0;
    while (rc == K_OK && p < r->file_size && r->file_size - p >= NEEDLE_HEADER_SIZE) {
        int e = pread_full(fd, raw, sizeof raw, p, &got);
        if (e) {
            rc = kerr_from_errno(e);
            break;
        }
        if (got == sizeof raw && needle_header_decode(raw, &h) == K_OK && h.offset == p &&
            h.chunk == c->id && h.volume == v->base.id && h.length <= NEEDLE_MAX_LENGTH) {
            if (!scan_take(r, &h, p, p, grace_s, now)) rc = K_ENOMEM;
            /* An unfinished needle's region is its own, except in chunks
             * older versions appended to after a restart: there, look for
             * the next needle inside it. */
            if ((h.flags & NEEDLE_F_COMPLETE) || c->id >= v->trusted_from) {
                p += needle_size(h.length);
                continue;
            }
        }
        e = next_magic(fd, p + NEEDLE_ALIGN, r->file_size, buf, &p);
        if (e) rc = kerr_from_errno(e);
    }
    free(buf);
    return rc;
}

static int copy_range(int from, uint64_t off_in, int to, uint64_t off_out, uint64_t n,
                      uint8_t **buf) {
    while (n > 0) {
        loff_t i = (loff_t)off_in, o = (loff_t)off_out;
        ssize_t w = copy_file_range(from, &i, to, &o, (size_t)n, 0);
        if (w > 0) {
            off_in += (uint64_t)w;
            off_out += (uint64_t)w;
            n -= (uint64_t)w;
            continue;
        }
        if (w == 0) return EIO; /* the source ended early */
        if (errno == EINTR) continue;
        if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
            return errno;
        /* No kernel copy here: through a buffer. */
        if (!*buf && !(*buf = malloc(COMPACT_COPY_BUF))) return ENOMEM;
        size_t take = n < COMPACT_COPY_BUF ? (size_t)n : COMPACT_COPY_BUF, got;
        int e = pread_full(from, *buf, take, off_in, &got);
        if (e) return e;
        if (got < take) return EIO;
        e = pwrite_full(to, *buf, take, off_out);
        if (e) return e;
        off_in += take;
        off_out += take;
        n -= take;
    }
    return 0;
}

/* A delete that landed while the chunk was being copied: the header as
 * lv_del left it in the old file (read again now, under the swap lock, so
 * never torn by a write in progress as the copy may have been) goes to the
 * needle's place in the new file. */
static void carry_delete(int old_fd, uint64_t old_at, int fd, uint64_t at) {
    uint8_t raw[NEEDLE_HEADER_SIZE];
    size_t got;
    needle_header h;
    if (pread_full(old_fd, raw, sizeof raw, old_at, &got) != 0 || got < sizeof raw ||
        needle_header_decode(raw, &h) != K_OK)
        return;
    if (!(h.flags & NEEDLE_F_DELETED)) {
        h.flags |= NEEDLE_F_DELETED;
        h.deleted = (uint64_t)time(NULL);
        needle_header_encode(&h, raw);
    }
    (void)pwrite_full(fd, raw, sizeof raw, at);
}

/* Flags the (deleted) needle at file offset at as reclaimed; false if its
 * header could not be read or written (then it is not punched). */
static bool carry_reclaimed(int fd, uint64_t at) {
    uint8_t raw[NEEDLE_HEADER_SIZE];
    size_t got;
    needle_header h;
    if (pread_full(fd, raw, sizeof raw, at, &got) != 0 || got < sizeof raw ||
        needle_header_decode(raw, &h) != K_OK || !(h.flags & NEEDLE_F_DELETED))
        return false;
    h.flags |= NEEDLE_F_RECLAIMED;
    needle_header_encode(&h, raw);
    return pwrite_full(fd, raw, sizeof raw, at) == 0;
}

/* Maps the header and forwarding table of a compacted chunk file. */
static kerr map_table(int fd, uint64_t entries, void **map, size_t *len) {
    *map = NULL;
    *len = 0;
    if (entries == 0) return K_OK;
    size_t n = CHUNK_COMPACT_HEADER_SIZE + (size_t)entries * CHUNK_COMPACT_ENTRY_SIZE;
    void *m = mmap(NULL, n, PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) return kerr_from_errno(errno);
    *map = m;
    *len = n;
    return K_OK;
}

/* Writes the kept needles of c into a new file and swaps it in (or removes
 * the file when nothing is kept). */
static kerr rewrite_chunk(local_volume *v, chunk *c, int fd, scan_result *r,
                          vol_compact_stats *st) {
    char name[32], tmp[48];
    chunk_file_name(c->id, name);
    snprintf(tmp, sizeof tmp, "%s" COMPACT_TMP_SUFFIX, name);
    uint64_t n = r->keep.n;
    int nfd = -1;
    uint8_t *table = NULL, *copybuf = NULL;
    void *map = NULL;
    size_t map_len = 0;
    uint64_t new_size = 0;
    kerr rc = K_OK;
    int e = 0;
    if (n > 0) {
        uint64_t table_len = CHUNK_COMPACT_ENTRY_SIZE * n;
        uint64_t data_start = (CHUNK_COMPACT_HEADER_SIZE + table_len + 4095) & ~UINT64_C(4095);
        table = malloc(CHUNK_COMPACT_HEADER_SIZE + (size_t)table_len);
        if (!table) return K_ENOMEM;
        nfd = openat(v->dirfd, tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (nfd < 0) {
            e = errno;
            goto fail;
        }
        uint64_t pos = data_start;
        for (uint64_t i = 0; i < n; i++) {
            found_needle *f = &r->keep.v[i];
            e = copy_range(fd, f->at, nfd, pos, f->used, &copybuf);
            if (e) goto fail;
            store_le64(table + CHUNK_COMPACT_HEADER_SIZE + CHUNK_COMPACT_ENTRY_SIZE * i,
                       f->logical);
            store_le64(table + CHUNK_COMPACT_HEADER_SIZE + CHUNK_COMPACT_ENTRY_SIZE * i + 8, pos);
            pos += f->size;
        }
        found_needle *last = &r->keep.v[n - 1];
        new_size = pos - last->size + last->used; /* the last padding is not written */
        chunk_compact_header hh = {
            .volume = v->base.id,
            .chunk = c->id,
            .entries = n,
            .data_start = data_start,
            .compacted = (uint64_t)time(NULL),
            .table_crc = crc32c_chain(0, table + CHUNK_COMPACT_HEADER_SIZE, (size_t)table_len)};
        chunk_compact_header_encode(&hh, table);
        e = pwrite_full(nfd, table, CHUNK_COMPACT_HEADER_SIZE + (size_t)table_len, 0);
        if (e) goto fail;
        if (fdatasync(nfd) != 0) {
            e = errno;
            goto fail;
        }
        atomic_fetch_add(&v->base.counters->fsyncs, 1);
        rc = map_table(nfd, n, &map, &map_len);
        if (rc != K_OK) goto fail_rc;
    }

    /* The swap: no reader or deleter is inside the chunk from here on. */
    pthread_rwlock_wrlock(&c->swap);
    pthread_mutex_lock(&c->del_mu);
    if (n > 0) {
        const uint8_t *fwd = (const uint8_t *)map + CHUNK_COMPACT_HEADER_SIZE;
        chunk probe = {.fwd = fwd, .nfwd = n};
        for (size_t i = 0; i < c->ndels; i++) {
            uint64_t at, old_at;
            if (chunk_locate(&probe, c->dels[i], &at) && chunk_locate(c, c->dels[i], &old_at))
                carry_delete(fd, old_at, nfd, at);
        }
    }
    c->compacting = false;
    c->ndels = 0;
    pthread_mutex_unlock(&c->del_mu);
    /* Nothing kept: the file goes, but the newest chunk's is emptied and
     * kept instead, so that a restart (which numbers new chunks after the
     * highest file) never hands its id to a new chunk: a stale key must
     * never read another object's bytes. */
    pthread_mutex_lock(&v->lock);
    bool newest = c->id + 1 == v->nchunks;
    pthread_mutex_unlock(&v->lock);
    int ren = n > 0    ? renameat(v->dirfd, tmp, v->dirfd, name)
              : newest ? ftruncate(fd, 0)
                       : unlinkat(v->dirfd, name, 0);
    if (ren != 0) {
        e = errno;
        pthread_rwlock_unlock(&c->swap);
        goto fail;
    }
    void *old_map = c->fwd_map;
    size_t old_map_len = c->fwd_map_len;
    int old_fd = atomic_load(&c->fd);
    atomic_store(&c->fd, nfd);
    c->fwd_map = map;
    c->fwd_map_len = map_len;
    c->fwd = map ? (const uint8_t *)map + CHUNK_COMPACT_HEADER_SIZE : NULL;
    c->nfwd = n;
    c->gone = n == 0;
    pthread_rwlock_unlock(&c->swap);

    if (fsync(v->dirfd) != 0)
        log_warn("storage: fsync %s after compacting chunk %u: %s", v->dir, c->id, strerror(errno));
    atomic_fetch_add(&v->base.counters->fsyncs, 1);
    if (old_fd >= 0) close(old_fd);
    if (old_map) munmap(old_map, old_map_len);
    free(table);
    free(copybuf);
    uint64_t freed = r->file_size > new_size ? r->file_size - new_size : 0;
    st->chunks_compacted++;
    if (n == 0) st->chunks_removed++;
    st->needles_kept += n;
    st->bytes_reclaimed += freed;
    atomic_fetch_add(&v->base.counters->chunks_compacted, 1);
    atomic_fetch_add(&v->base.counters->bytes_reclaimed, freed);
    space_stale(v);
    log_info("storage: volume %u (%s): chunk %u compacted: %llu needles kept, %llu bytes freed%s",
             v->base.id, v->dir, c->id, (unsigned long long)n, (unsigned long long)freed,
             n == 0 ? " (file removed)" : "");
    return K_OK;

fail:
    rc = kerr_from_errno(e);
    if (no_space(e))
        log_warn("storage: compacting %s chunk %u: no room for the copy (%s); retried later",
                 v->dir, c->id, strerror(e));
    else
        log_error("storage: compacting %s chunk %u: %s", v->dir, c->id, strerror(e));
fail_rc:
    pthread_mutex_lock(&c->del_mu);
    c->compacting = false;
    c->ndels = 0;
    pthread_mutex_unlock(&c->del_mu);
    if (map) munmap(map, map_len);
    if (nfd >= 0) {
        close(nfd);
        unlinkat(v->dirfd, tmp, 0);
    }
    free(table);
    free(copybuf);
    return rc;
}

/* Gives the pages of the dead needles back to the filesystem in place (a
 * hole punched through each run of them): for a volume too full to hold a
 * rewritten copy. Offsets do not move and nothing is copied; each needle is
 * flagged reclaimed first (reads then answer K_ENOTFOUND), and bytes on
 * pages shared with a live neighbour stay until a rewrite. */
static kerr punch_chunk(local_volume *v, chunk *c, int fd, scan_result *r, vol_compact_stats *st) {
    uint64_t before = r->alloc;
    /* Every header stays (each needle is punched inside its own bounds), so
     * scans keep stepping from needle to needle; the flags are durable
     * before any byte goes, so a crash never leaves a header that looks
     * live over a hole. */
    bool *flagged = calloc(r->dead.n ? r->dead.n : 1, sizeof *flagged);
    if (!flagged) return K_ENOMEM;
    for (size_t k = 0; k < r->dead.n; k++) flagged[k] = carry_reclaimed(fd, r->dead.v[k].at);
    if (fdatasync(fd) != 0) {
        int e = errno;
        free(flagged);
        log_error("storage: fdatasync %s chunk %u: %s", v->dir, c->id, strerror(e));
        return kerr_from_errno(e);
    }
    atomic_fetch_add(&v->base.counters->fsyncs, 1);
    for (size_t k = 0; k < r->dead.n; k++) {
        if (!flagged[k]) continue;
        uint64_t from = (r->dead.v[k].at + NEEDLE_HEADER_SIZE + 4095) & ~UINT64_C(4095);
        uint64_t to = (r->dead.v[k].at + r->dead.v[k].size) & ~UINT64_C(4095);
        if (to > from && fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)from,
                                   (off_t)(to - from)) != 0) {
            int e = errno;
            free(flagged);
            log_error("storage: punching a hole in %s chunk %u: %s", v->dir, c->id, strerror(e));
            return kerr_from_errno(e);
        }
    }
    free(flagged);
    struct stat sb;
    uint64_t after = fstat(fd, &sb) == 0 ? (uint64_t)sb.st_blocks * 512 : before;
    uint64_t freed = before > after ? before - after : 0;
    st->chunks_compacted++;
    st->bytes_reclaimed += freed;
    atomic_fetch_add(&v->base.counters->chunks_compacted, 1);
    atomic_fetch_add(&v->base.counters->bytes_reclaimed, freed);
    space_stale(v);
    log_info("storage: volume %u (%s): chunk %u: %zu deleted needles given back in place (no "
             "room for a rewrite), %llu bytes freed",
             v->base.id, v->dir, c->id, r->dead.n, (unsigned long long)freed);
    return K_OK;
}

/* Seals c (if active) and waits a little for its writers to finish; false
 * if some are still writing (the chunk is retried at the next pass). */
static bool seal_chunk(local_volume *v, chunk *c) {
    pthread_mutex_lock(&v->lock);
    if (v->active == c) v->active = NULL;
    c->sealed = true;
    pthread_mutex_unlock(&v->lock);
    for (int i = 0; i < 200 && atomic_load(&c->writers) > 0; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return atomic_load(&c->writers) == 0;
}

static kerr compact_chunk(local_volume *v, chunk *c, const vol_compact_params *p,
                          vol_compact_stats *st) {
    int fd = chunk_fd(v, c);
    if (fd < 0) return kerr_from_errno(-fd);
    pthread_mutex_lock(&c->del_mu);
    c->compacting = true;
    c->ndels = 0;
    pthread_mutex_unlock(&c->del_mu);
    uint64_t since = atomic_exchange(&c->dead_since, 0);
    scan_result r = {0};
    kerr rc = scan_chunk(v, c, fd, p->grace_s, &r);
    st->chunks_scanned++;
    /* Deleted by an older version: the grace period starts now. */
    for (size_t i = 0; rc == K_OK && i < r.stamp.n; i++) {
        uint8_t raw[NEEDLE_HEADER_SIZE];
        size_t got;
        needle_header h;
        if (pread_full(fd, raw, sizeof raw, r.stamp.v[i].at, &got) == 0 && got == sizeof raw &&
            needle_header_decode(raw, &h) == K_OK && h.deleted == 0) {
            h.deleted = (uint64_t)time(NULL);
            needle_header_encode(&h, raw);
            (void)pwrite_full(fd, raw, sizeof raw, r.stamp.v[i].at);
        }
    }
    if (rc != K_OK) {
        atomic_fetch_add(&c->dead_since, since);
        goto out;
    }
    uint64_t overhead =
        r.keep.n ? CHUNK_COMPACT_HEADER_SIZE + CHUNK_COMPACT_ENTRY_SIZE * r.keep.n + 4096 : 0;
    /* What the file holds on disk beyond its kept needles (holes punched
     * earlier no longer count). */
    uint64_t size = r.alloc < r.file_size ? r.alloc : r.file_size;
    uint64_t dead = size > r.kept ? size - r.kept : 0;
    uint64_t reclaim = dead > overhead ? dead - overhead : 0;
    c->scanned = true;
    c->young_until = r.young_until;
    if (reclaim < COMPACT_MIN_RECLAIM || reclaim * 100 < (uint64_t)p->threshold * size) {
        c->known_dead = dead;
        goto out;
    }
    struct statvfs fs;
    uint64_t room = fstatvfs(v->dirfd, &fs) == 0 ? (uint64_t)fs.f_bavail * fs.f_frsize : 0;
    if (r.keep.n == 0 || room >= r.kept + p->copy_room + (1u << 20)) {
        rc = rewrite_chunk(v, c, fd, &r, st);
        c->known_dead = rc == K_OK ? r.young : dead;
    } else if (r.dead.n > 0) {
        rc = punch_chunk(v, c, fd, &r, st);
        c->known_dead = 0; /* what is left are slivers; new deletes count from here */
    } else {
        c->known_dead = dead;
    }
out:
    pthread_mutex_lock(&c->del_mu);
    c->compacting = false;
    c->ndels = 0;
    pthread_mutex_unlock(&c->del_mu);
    free(r.keep.v);
    free(r.dead.v);
    free(r.stamp.v);
    return rc;
}

/* Drops chunk id whole (volume.h vol_chunk_expire). Under the compaction
 * lock (no pass rewrites it meanwhile) and its swap lock (no reader is
 * inside): the file goes (the newest chunk's is emptied instead, so a
 * restart never reuses its id), the chunk is gone for reads and deletes. */
static kerr lv_chunk_expire(volume *base, uint32_t id) {
    local_volume *v = (local_volume *)base;
    chunk *c = chunk_get(v, id);
    if (!c) return K_ENOTFOUND;
    pthread_mutex_lock(&v->compact_mu);
    pthread_mutex_lock(&v->lock);
    bool gone = c->gone;
    kerr rc = !gone && (v->active == c || c->placed_open) ? K_ECONFLICT : K_OK;
    if (rc == K_OK) c->sealed = true;
    bool newest = c->id + 1 == v->nchunks;
    pthread_mutex_unlock(&v->lock);
    for (int i = 0; rc == K_OK && !gone && i < 500 && atomic_load(&c->writers) > 0; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (rc == K_OK && !gone && atomic_load(&c->writers) > 0) rc = K_EUNAVAILABLE;
    if (rc || gone) {
        pthread_mutex_unlock(&v->compact_mu);
        return rc;
    }
    int fd = chunk_fd(v, c);
    struct stat sb;
    uint64_t size = fd >= 0 && fstat(fd, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    char name[32];
    chunk_file_name(id, name);
    pthread_rwlock_wrlock(&c->swap);
    int r = newest && fd >= 0 ? ftruncate(fd, 0) : unlinkat(v->dirfd, name, 0);
    int err = r == 0 || (!newest && errno == ENOENT) ? 0 : errno;
    if (err == 0) {
        c->gone = true;
        atomic_store(&c->fd, -1);
        if (c->fwd_map) munmap(c->fwd_map, c->fwd_map_len);
        c->fwd_map = NULL;
        c->fwd_map_len = 0;
        c->fwd = NULL;
        c->nfwd = 0;
    }
    pthread_rwlock_unlock(&c->swap);
    if (err) {
        pthread_mutex_unlock(&v->compact_mu);
        log_error("storage: expire %s/%s: %s", v->dir, name, strerror(err));
        return kerr_from_errno(err);
    }
    if (fd >= 0) close(fd);
    kerr d = dir_sync(v);
    atomic_fetch_add(&v->base.counters->chunks_compacted, 1);
    atomic_fetch_add(&v->base.counters->bytes_reclaimed, size);
    space_stale(v);
    pthread_mutex_unlock(&v->compact_mu);
    log_info("storage: volume %s: chunk %u expired whole, %llu bytes freed", v->dir, id,
             (unsigned long long)size);
    return d;
}

/* The complete needles of a chunk, deleted ones flagged (an inventory for
 * fsck and repair). Takes the compaction lock: no rewrite meanwhile. */
static kerr lv_chunk_needles(volume *base, uint32_t id, vol_needle **out, size_t *n) {
    local_volume *v = (local_volume *)base;
    *out = NULL;
    *n = 0;
    chunk *c = chunk_get(v, id);
    if (!c || c->gone) return K_ENOTFOUND;
    if (c->broken) return K_ECORRUPT;
    pthread_mutex_lock(&v->compact_mu);
    scan_result r = {0};
    int fd = c->gone ? -ENOENT : chunk_fd(v, c); /* expired meanwhile? */
    kerr rc = c->gone ? K_ENOTFOUND : fd < 0 ? kerr_from_errno(-fd) : K_OK;
    /* a grace that never ends: every deleted needle is listed, none dropped */
    if (rc == K_OK) rc = scan_chunk(v, c, fd, UINT32_MAX, &r);
    pthread_mutex_unlock(&v->compact_mu);
    vol_needle *list = NULL;
    if (rc == K_OK && r.keep.n) {
        list = malloc(r.keep.n * sizeof *list);
        if (!list) rc = K_ENOMEM;
        for (size_t i = 0; list && i < r.keep.n; i++)
            list[i] = (vol_needle){.offset = r.keep.v[i].logical,
                                   .length = r.keep.v[i].length,
                                   .deleted = r.keep.v[i].deleted};
    }
    if (rc == K_OK) {
        *out = list;
        *n = r.keep.n;
    }
    free(r.keep.v);
    free(r.dead.v);
    free(r.stamp.v);
    return rc;
}

static kerr lv_compact(volume *base, const vol_compact_params *p, vol_compact_stats *st) {
    local_volume *v = (local_volume *)base;
    pthread_mutex_lock(&v->compact_mu);
    kerr first = K_OK;
    int64_t now = (int64_t)time(NULL);
    pthread_mutex_lock(&v->lock);
    uint32_t n = v->nchunks;
    pthread_mutex_unlock(&v->lock);
    for (uint32_t id = 0; id < n; id++) {
        if (p->stop && atomic_load(p->stop)) break;
        chunk *c = chunk_get(v, id);
        if (!c || c->gone || c->broken) continue;
        pthread_mutex_lock(&v->lock);
        bool active = v->active == c;
        bool open_placed = c->placed_open;
        uint64_t size = c->tail;
        pthread_mutex_unlock(&v->lock);
        if (open_placed) continue; /* a chunkset still writes there */
        if (c->fwd) {
            struct stat sb;
            int fd = atomic_load(&c->fd);
            if (fd >= 0 && fstat(fd, &sb) == 0) size = (uint64_t)sb.st_size;
        }
        if (size == 0) continue;
        /* Worth a scan? Unknown chunks always; known ones when their
         * garbage may have crossed the threshold (new deletes, or kept
         * young needles coming of age). */
        uint64_t since = atomic_load(&c->dead_since);
        if (c->scanned) {
            uint64_t est = c->known_dead + since;
            if (est < COMPACT_MIN_RECLAIM || est * 100 < (uint64_t)p->threshold * size) continue;
            if (since == 0 && (c->young_until == 0 || now < c->young_until)) continue;
        }
        if (active) {
            /* The active chunk: only when it is worth sealing. */
            if (!p->pressed && size < v->chunk_size / 4) continue;
            /* even when full: a few needles are not worth a new chunk */
            if (size < COMPACT_MIN_SEAL) continue;
            if (!c->scanned && !p->pressed && since * 100 < (uint64_t)p->threshold * size) continue;
        }
        if (!seal_chunk(v, c)) continue;
        kerr rc = compact_chunk(v, c, p, st);
        if (rc != K_OK && first == K_OK) first = rc;
    }
    pthread_mutex_unlock(&v->compact_mu);
    return first;
}

static void lv_close(volume *base) {
    local_volume *v = (local_volume *)base;
    if (!v) return;
    for (uint32_t i = 0; i < v->nchunks; i++) chunk_free(v->chunks[i]);
    free(v->chunks);
    if (v->dirfd >= 0) close(v->dirfd);
    pthread_mutex_destroy(&v->lock);
    pthread_mutex_destroy(&v->compact_mu);
    free(v->dir);
    free(v);
}

static const volume_ops local_ops = {
    .kind = "local",
    .begin = lv_begin,
    .write = lv_write,
    .finish = lv_finish,
    .abort = lv_abort,
    .read = lv_read,
    .del = lv_del,
    .free_space = lv_free_space,
    .compact = lv_compact,
    .close = lv_close,
    .begin_at = lv_begin_at,
    .chunk_create = lv_chunk_create,
    .chunk_seal = lv_chunk_seal,
    .chunk_expire = lv_chunk_expire,
    .chunk_needles = lv_chunk_needles,
};

/* ---- open ---- */

static int mkdir_p(const char *path) {
    char tmp[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp) return ENAMETOOLONG;
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] != '/' && tmp[i] != '\0') continue;
        char saved = tmp[i];
        tmp[i] = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return errno;
        tmp[i] = saved;
    }
    return 0;
}

/* volume.id: "kura volume\nid POSITION\nuid HEX16\ntrusted-from N\n". The
 * position is the
 * volume's place in the data directory list (checked: a reordered list is
 * refused, since records written before stable ids name volumes by
 * position); uid is a random 64-bit id that never changes and names the
 * volume in location keys. Files written before uids existed get one added
 * at the next open. */
static kerr write_volume_id(local_volume *v, uint32_t id, uint64_t uid) {
    char text[128];
    int len = snprintf(text, sizeof text, "kura volume\nid %u\nuid %016llx\ntrusted-from %u\n", id,
                       (unsigned long long)uid, v->trusted_from);
    int fd =
        openat(v->dirfd, VOLUME_ID_FILE ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) goto fail;
    if (pwrite_full(fd, text, (size_t)len, 0) != 0 || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        goto fail;
    }
    close(fd);
    if (renameat(v->dirfd, VOLUME_ID_FILE ".tmp", v->dirfd, VOLUME_ID_FILE) != 0) goto fail;
    if (fsync(v->dirfd) != 0) goto fail;
    atomic_fetch_add(&v->base.counters->fsyncs, 2);
    return K_OK;
fail:
    log_error("storage: write %s/%s: %s", v->dir, VOLUME_ID_FILE, strerror(errno));
    return kerr_from_errno(errno);
}

static uint64_t new_uid(void) {
    uint64_t uid = 0;
    while (uid == 0) {
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || read(fd, &uid, sizeof uid) != (ssize_t)sizeof uid) {
            if (fd >= 0) close(fd);
            abort(); /* no randomness: nothing sensible to do */
        }
        close(fd);
    }
    return uid;
}

/* Checks (or, for a fresh directory, records) the volume's position, and
 * reads (or adds) its stable uid. */
static kerr check_volume_id(local_volume *v, uint32_t id, bool has_chunks) {
    int fd = openat(v->dirfd, VOLUME_ID_FILE, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT) {
            log_error("storage: open %s/%s: %s", v->dir, VOLUME_ID_FILE, strerror(errno));
            return K_EIO;
        }
        if (has_chunks) {
            log_error("storage: %s holds chunk files but no %s; refusing to guess its volume id",
                      v->dir, VOLUME_ID_FILE);
            return K_EINVAL;
        }
        v->base.uid = new_uid();
        return write_volume_id(v, id, v->base.uid);
    }
    char text[128];
    ssize_t r = read(fd, text, sizeof text - 1);
    close(fd);
    unsigned stored;
    unsigned long long uid = 0;
    int fields =
        r < 0 ? 0 : (text[r] = '\0', sscanf(text, "kura volume\nid %u\nuid %llx", &stored, &uid));
    if (fields < 1) {
        log_error("storage: %s/%s is unreadable or malformed", v->dir, VOLUME_ID_FILE);
        return K_EINVAL;
    }
    if (stored != id) {
        log_error("storage: %s is volume %u but was given as volume %u (position in the data "
                  "directory list); keep the directories in their original order",
                  v->dir, stored, id);
        return K_EINVAL;
    }
    const char *tf = strstr(text, "\ntrusted-from ");
    unsigned trusted;
    bool has_trusted = tf && sscanf(tf, "\ntrusted-from %u", &trusted) == 1;
    /* Written by a version before compaction: every chunk so far may hold
     * needles appended after a torn tail. */
    v->trusted_from = has_trusted ? trusted : v->nchunks;
    if (fields == 2 && uid != 0) {
        v->base.uid = uid;
        return has_trusted ? K_OK : write_volume_id(v, id, v->base.uid);
    }
    v->base.uid = new_uid(); /* written before stable ids: add one */
    log_info("storage: %s is volume %u, stable id %016llx from now on", v->dir, id,
             (unsigned long long)v->base.uid);
    return write_volume_id(v, id, v->base.uid);
}

/* If the chunk file name is a compacted chunk, maps its forwarding table
 * (the chunk is sealed for good). A damaged header or table leaves the
 * chunk broken (its reads fail with K_ECORRUPT) rather than refusing the
 * volume. */
static kerr open_compacted(local_volume *v, chunk *c, const char *name) {
    int fd = openat(v->dirfd, name, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        log_error("storage: open %s/%s: %s", v->dir, name, strerror(errno));
        return kerr_from_errno(errno);
    }
    uint8_t raw[CHUNK_COMPACT_HEADER_SIZE];
    size_t got;
    int e = pread_full(fd, raw, sizeof raw, 0, &got);
    if (e || got < 4 || load_le32(raw) != CHUNK_COMPACT_MAGIC) {
        close(fd); /* a plain chunk: opened lazily on first use */
        return e ? kerr_from_errno(e) : K_OK;
    }
    atomic_store(&c->fd, fd);
    c->sealed = true;
    chunk_compact_header h;
    struct stat st;
    if (got < sizeof raw || chunk_compact_header_decode(raw, &h) != K_OK || h.chunk != c->id ||
        fstat(fd, &st) != 0 || h.entries > (uint64_t)st.st_size / CHUNK_COMPACT_ENTRY_SIZE ||
        CHUNK_COMPACT_HEADER_SIZE + CHUNK_COMPACT_ENTRY_SIZE * h.entries > h.data_start ||
        h.data_start > (uint64_t)st.st_size) {
        log_error("storage: %s/%s: damaged compacted chunk header; its needles cannot be read",
                  v->dir, name);
        c->broken = true;
        return K_OK;
    }
    if (map_table(fd, h.entries, &c->fwd_map, &c->fwd_map_len) != K_OK) {
        log_error("storage: %s/%s: cannot map its forwarding table: %s; its needles cannot be "
                  "read",
                  v->dir, name, strerror(errno));
        c->broken = true;
        return K_OK;
    }
    c->fwd = c->fwd_map ? (const uint8_t *)c->fwd_map + CHUNK_COMPACT_HEADER_SIZE : NULL;
    c->nfwd = h.entries;
    if (h.entries == 0 ||
        crc32c_chain(0, c->fwd, (size_t)(h.entries * CHUNK_COMPACT_ENTRY_SIZE)) != h.table_crc) {
        log_error("storage: %s/%s: damaged forwarding table; its needles cannot be read", v->dir,
                  name);
        c->broken = true;
    }
    return K_OK;
}

/* Finds existing chunk files; append positions come from file sizes. */
static kerr scan_chunks(local_volume *v) {
    int dfd = dup(v->dirfd);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        if (dfd >= 0) close(dfd);
        log_error("storage: list %s: %s", v->dir, strerror(errno));
        return K_EIO;
    }
    kerr rc = K_OK;
    uint32_t *markers = malloc(MAX_MARKERS * sizeof *markers);
    size_t nmarkers = 0;
    if (!markers) {
        closedir(d);
        return K_ENOMEM;
    }
    struct dirent *de;
    while (rc == K_OK && (de = readdir(d)) != NULL) {
        uint32_t id;
        size_t nl = strlen(de->d_name);
        if (strncmp(de->d_name, "chunk-", 6) == 0 && nl > strlen(COMPACT_TMP_SUFFIX) &&
            strcmp(de->d_name + nl - strlen(COMPACT_TMP_SUFFIX), COMPACT_TMP_SUFFIX) == 0) {
            /* A compaction that did not reach its rename: the chunk file
             * it was replacing is still whole. */
            log_info("storage: %s: removing %s, left by an interrupted compaction", v->dir,
                     de->d_name);
            unlinkat(v->dirfd, de->d_name, 0);
            continue;
        }
        if (parse_chunk_marker_name(de->d_name, &id)) {
            if (nmarkers < MAX_MARKERS) markers[nmarkers++] = id;
            continue;
        }
        if (!parse_chunk_file_name(de->d_name, &id)) continue;
        if (id >= MAX_CHUNKS) {
            log_error("storage: %s/%s: chunk id beyond %u", v->dir, de->d_name, MAX_CHUNKS);
            rc = K_EINVAL;
            break;
        }
        struct stat st;
        if (fstatat(v->dirfd, de->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode)) {
            log_error("storage: stat %s/%s failed or not a file", v->dir, de->d_name);
            rc = K_EIO;
            break;
        }
        rc = chunk_table_reserve(v, id + 1);
        if (rc != K_OK) break;
        /* Bytes after the last needle may be a torn write; rounding up keeps
         * new needles aligned and past anything already on disk. */
        chunk *c = chunk_new(id, needle_align_up((uint64_t)st.st_size), -1, true);
        if (!c) {
            rc = K_ENOMEM;
            break;
        }
        v->chunks[id] = c;
        rc = open_compacted(v, c, de->d_name);
        if (rc != K_OK) break;
        if (id + 1 > v->nchunks) v->nchunks = id + 1;
    }
    closedir(d);
    /* Open chunkset chunks; a marker whose chunk file is missing was left
     * by a creation that did not finish. */
    for (size_t i = 0; rc == K_OK && i < nmarkers; i++) {
        chunk *c = markers[i] < v->nchunks ? v->chunks[markers[i]] : NULL;
        if (c && !c->fwd && !c->broken) {
            c->placed = c->placed_open = c->tail_unknown = true;
        } else {
            char name[32];
            chunk_marker_name(markers[i], name);
            unlinkat(v->dirfd, name, 0);
        }
    }
    free(markers);
    return rc;
}

kerr local_volume_open(const char *dir, uint32_t id, const volset_opts *opts,
                       volset_counters *counters, volume **out) {
    *out = NULL;
    local_volume *v = calloc(1, sizeof *v);
    if (!v) return K_ENOMEM;
    v->base.ops = &local_ops;
    v->base.id = id;
    v->base.counters = counters;
    v->dirfd = -1;
    v->dir = strdup(dir);
    v->chunk_size = opts->chunk_size ? opts->chunk_size : DEFAULT_CHUNK_SIZE;
    v->sync = opts->sync;
    atomic_init(&v->space_checked_ns, INT64_MIN / 2); /* stale: first use refreshes */
    pthread_mutex_init(&v->lock, NULL);
    pthread_mutex_init(&v->compact_mu, NULL);
    if (!v->dir) {
        lv_close(&v->base);
        return K_ENOMEM;
    }
    v->base.name = v->dir;

    kerr rc = K_OK;
    int e = mkdir_p(dir);
    if (e) {
        log_error("storage: create volume directory %s: %s", dir, strerror(e));
        rc = kerr_from_errno(e);
        goto out;
    }
    v->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (v->dirfd < 0) {
        log_error("storage: open volume directory %s: %s", dir, strerror(errno));
        rc = kerr_from_errno(errno);
        goto out;
    }
    /* Two writers appending to the same chunks would corrupt each other. */
    if (flock(v->dirfd, LOCK_EX | LOCK_NB) != 0) {
        log_error("storage: volume directory %s is in use (another process, or listed twice)", dir);
        rc = errno == EWOULDBLOCK ? K_EUNAVAILABLE : K_EIO;
        goto out;
    }
    rc = scan_chunks(v);
    if (rc != K_OK) goto out;
    rc = check_volume_id(v, id, v->nchunks > 0);
    if (rc != K_OK) goto out;
    /* No chunk is active after an open: the first needle starts a new
     * chunk. Appending after whatever a crash left at the newest chunk's
     * tail would put new needles inside the region an unfinished needle
     * claims (its header, written first, carries its full length), where a
     * scan stepping by lengths (compaction) would never see them. */
    log_debug("storage: volume %u at %s: %u chunks", id, dir, v->nchunks);
out:
    if (rc != K_OK) {
        lv_close(&v->base);
        return rc;
    }
    *out = &v->base;
    return K_OK;
}
