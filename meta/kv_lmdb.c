/* SPDX-License-Identifier: Apache-2.0 */
/* Embedded LMDB kv backend with group commit.
 *
 * Writes: every put/del/cas is queued to one writer thread. The writer takes
 * everything queued, applies it in ONE write transaction in arrival order
 * (each op sees the effects of earlier ops in the batch; a cas whose
 * expectation fails reports K_ECONFLICT for that op alone), commits once
 * (LMDB's default durable sync), then wakes every waiter with its own
 * result. While one batch is being fsynced the next one accumulates, so N
 * concurrent writers share one fsync instead of paying N.
 *
 * Reads: each get runs in its own short read-only transaction, a multi-get
 * reads all its keys in one; the env is opened with MDB_NOTLS so read
 * transactions are not tied to threads.
 *
 * Long keys: LMDB's maximum key size is 511 bytes, kv keys go up to 2048.
 * A key of at most DIRECT_MAX (480) bytes is stored as itself. A longer key
 * is stored under a fixed 481-byte slot key: its first 464 bytes, a 128-bit
 * hash of the whole key, and a 0x01 byte; the stored value is then
 * [u16 little-endian key length][full key][value]. Direct keys are never
 * longer than 480 bytes and slot keys are always exactly 481, so the two
 * spaces cannot collide. Reads and writes compare the full key stored in the
 * value: two long keys that share a slot (a 128-bit hash collision on equal
 * 464-byte prefixes) are detected, and the second one is refused with
 * K_ECONFLICT rather than overwriting the first.
 *
 * Map size: the map is address space only (default 64 GiB); the file grows
 * as used. If a batch still hits MDB_MAP_FULL the writer aborts it, doubles
 * the map (with readers excluded, as LMDB requires) and replays the batch.
 *
 * Full disk: a batch whose commit fails for lack of space (ENOSPC, EDQUOT,
 * MDB_MAP_FULL once the map cannot grow, or EIO while the filesystem has
 * less than 1 MiB free: LMDB reports a short write, which is how a disk
 * that fills up during a commit usually shows, as EIO) is aborted — LMDB
 * commits all or nothing, so none of its writes happened — and every write
 * in it gets K_ENOSPC (507 InsufficientStorage), not K_EIO. That is logged once per
 * episode; the first batch that commits again logs that metadata writes
 * work again. Reads are unaffected.
 */
#include <errno.h>
#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "common/log.h"
#include "meta/kv.h"
#include "meta/meta_hash.h"

#define LMDB_MAX_KEY 2048
#define LMDB_MAX_VAL (1024 * 1024)
#define DIRECT_MAX 480
#define SLOT_PREFIX 464
#define SLOT_KEY_LEN (SLOT_PREFIX + 16 + 1)
#define DEFAULT_MAP ((size_t)64 << 30)
#define MAX_MAP ((size_t)1 << 40)
/* EIO from a commit with less free space than this is a full disk. */
#define SHORT_WRITE_FREE ((uint64_t)1 << 20)

typedef enum { WOP_PUT, WOP_DEL, WOP_CAS } wop_kind;

/* One queued write; lives on the submitting thread's stack until done. */
typedef struct wop {
    struct wop *next;
    wop_kind kind;
    const uint8_t *key;
    size_t klen;
    const uint8_t *val; /* NULL with WOP_CAS: delete */
    size_t vlen;
    const uint8_t *expect; /* NULL with WOP_CAS: key must be absent */
    size_t elen;
    bool done;
    kerr result;
} wop;

typedef struct lmdb_kv {
    kv base;
    MDB_env *env;
    MDB_dbi dbi;
    size_t map_size;
    /* queue of pending writes, guarded by mu */
    pthread_mutex_t mu;
    pthread_cond_t work_cv;
    pthread_cond_t done_cv;
    wop *head, *tail;
    bool stopping;
    pthread_t writer;
    /* readers hold it shared; the writer takes it exclusively to resize */
    pthread_rwlock_t resize_lock;
    char *dir;
    _Atomic bool full; /* the last batch failed for lack of space (set by the writer) */
    _Atomic uint64_t commits;
    _Atomic uint64_t writes;
} lmdb_kv;

static const kv_ops lmdb_ops;

/* ---- key encoding ------------------------------------------------------ */

typedef struct enc_key {
    uint8_t buf[SLOT_KEY_LEN];
    MDB_val val;
    bool slotted; /* long key stored in a hashed slot */
} enc_key;

static void encode_key(const void *key, size_t klen, enc_key *ek) {
    if (klen <= DIRECT_MAX) {
        ek->slotted = false;
        ek->val.mv_data = (void *)key;
        ek->val.mv_size = klen;
        return;
    }
    ek->slotted = true;
    memcpy(ek->buf, key, SLOT_PREFIX);
    mh_hash128(key, klen, ek->buf + SLOT_PREFIX);
    ek->buf[SLOT_PREFIX + 16] = 0x01;
    ek->val.mv_data = ek->buf;
    ek->val.mv_size = SLOT_KEY_LEN;
}

/* Stored value → logical value of key. Returns false when the slot holds
 * another key (or is malformed), i.e. key is logically absent. */
static bool decode_value(const enc_key *ek, const void *key, size_t klen, const MDB_val *stored,
                         const uint8_t **val, size_t *vlen) {
    if (!ek->slotted) {
        *val = stored->mv_data;
        *vlen = stored->mv_size;
        return true;
    }
    const uint8_t *p = stored->mv_data;
    if (stored->mv_size < 2) return false;
    size_t sklen = (size_t)p[0] | ((size_t)p[1] << 8);
    if (sklen != klen || stored->mv_size < 2 + sklen || memcmp(p + 2, key, klen) != 0) return false;
    *val = p + 2 + klen;
    *vlen = stored->mv_size - 2 - klen;
    return true;
}

static kerr check_sizes(size_t klen, size_t vlen) {
    if (klen == 0) return K_EINVAL;
    if (klen > LMDB_MAX_KEY || vlen > LMDB_MAX_VAL) return K_ETOOLARGE;
    return K_OK;
}

/* ---- reads ------------------------------------------------------------- */

static kerr lm_get(kv *s, const void *key, size_t klen, kbuf *out) {
    lmdb_kv *l = (lmdb_kv *)s;
    kbuf_reset(out);
    kerr err = check_sizes(klen, 0);
    if (err) return err;
    enc_key ek;
    encode_key(key, klen, &ek);
    pthread_rwlock_rdlock(&l->resize_lock);
    MDB_txn *txn;
    int rc = mdb_txn_begin(l->env, NULL, MDB_RDONLY, &txn);
    if (rc) {
        pthread_rwlock_unlock(&l->resize_lock);
        log_error("lmdb: read txn: %s", mdb_strerror(rc));
        return K_EIO;
    }
    MDB_val stored;
    rc = mdb_get(txn, l->dbi, &ek.val, &stored);
    if (rc == 0) {
        const uint8_t *v;
        size_t vlen;
        if (decode_value(&ek, key, klen, &stored, &v, &vlen)) {
            kbuf_append(out, v, vlen);
            err = K_OK;
        } else {
            err = K_ENOTFOUND;
        }
    } else if (rc == MDB_NOTFOUND) {
        err = K_ENOTFOUND;
    } else {
        log_error("lmdb: get: %s", mdb_strerror(rc));
        err = K_EIO;
    }
    mdb_txn_abort(txn);
    pthread_rwlock_unlock(&l->resize_lock);
    return err;
}

/* All keys in one read-only transaction (one snapshot). */
static kerr lm_mget(kv *s, size_t n, const void *const *keys, const size_t *klens, kbuf *vals,
                    kerr *errs) {
    lmdb_kv *l = (lmdb_kv *)s;
    pthread_rwlock_rdlock(&l->resize_lock);
    MDB_txn *txn;
    int rc = mdb_txn_begin(l->env, NULL, MDB_RDONLY, &txn);
    if (rc) {
        pthread_rwlock_unlock(&l->resize_lock);
        log_error("lmdb: read txn: %s", mdb_strerror(rc));
        return K_EIO;
    }
    kerr err = K_OK;
    for (size_t i = 0; i < n && !err; i++) {
        kbuf_reset(&vals[i]);
        errs[i] = check_sizes(klens[i], 0);
        if (errs[i]) continue;
        enc_key ek;
        encode_key(keys[i], klens[i], &ek);
        MDB_val stored;
        rc = mdb_get(txn, l->dbi, &ek.val, &stored);
        const uint8_t *v;
        size_t vlen;
        if (rc == 0 && decode_value(&ek, keys[i], klens[i], &stored, &v, &vlen)) {
            kbuf_append(&vals[i], v, vlen);
            errs[i] = K_OK;
        } else if (rc == 0 || rc == MDB_NOTFOUND) {
            errs[i] = K_ENOTFOUND;
        } else {
            log_error("lmdb: get: %s", mdb_strerror(rc));
            err = K_EIO;
        }
    }
    mdb_txn_abort(txn);
    pthread_rwlock_unlock(&l->resize_lock);
    return err;
}

/* ---- the writer -------------------------------------------------------- */

static int store_value(lmdb_kv *l, MDB_txn *txn, enc_key *ek, const wop *op, const uint8_t *val,
                       size_t vlen) {
    MDB_val d = {.mv_size = ek->slotted ? 2 + op->klen + vlen : vlen, .mv_data = NULL};
    int rc = mdb_put(txn, l->dbi, &ek->val, &d, MDB_RESERVE);
    if (rc) return rc;
    uint8_t *p = d.mv_data;
    if (ek->slotted) {
        p[0] = (uint8_t)(op->klen & 0xFF);
        p[1] = (uint8_t)(op->klen >> 8);
        memcpy(p + 2, op->key, op->klen);
        p += 2 + op->klen;
    }
    if (vlen) memcpy(p, val, vlen);
    return 0;
}

/* Applies one op inside the batch transaction. Its own outcome goes to
 * op->result; a non-zero return is an LMDB failure that dooms the batch. */
static int apply_op(lmdb_kv *l, MDB_txn *txn, wop *op) {
    enc_key ek;
    encode_key(op->key, op->klen, &ek);
    MDB_val stored;
    int rc = mdb_get(txn, l->dbi, &ek.val, &stored);
    if (rc && rc != MDB_NOTFOUND) return rc;
    bool occupied = rc == 0;
    const uint8_t *cur = NULL;
    size_t curlen = 0;
    bool present = occupied && decode_value(&ek, op->key, op->klen, &stored, &cur, &curlen);
    /* A slot taken by a different long key: refuse instead of clobbering. */
    bool foreign = occupied && !present;

    switch (op->kind) {
    case WOP_PUT:
        if (foreign) {
            op->result = K_ECONFLICT;
            return 0;
        }
        rc = store_value(l, txn, &ek, op, op->val, op->vlen);
        if (rc) return rc;
        op->result = K_OK;
        return 0;
    case WOP_DEL:
        if (!present) {
            op->result = K_ENOTFOUND;
            return 0;
        }
        rc = mdb_del(txn, l->dbi, &ek.val, NULL);
        if (rc) return rc;
        op->result = K_OK;
        return 0;
    case WOP_CAS: {
        bool match = op->expect ? (present && curlen == op->elen &&
                                   (curlen == 0 || memcmp(cur, op->expect, curlen) == 0))
                                : !present;
        if (!match || (foreign && op->val)) {
            op->result = K_ECONFLICT;
            return 0;
        }
        rc = 0; /* a delete of an absent key is a successful no-op */
        if (op->val) {
            rc = store_value(l, txn, &ek, op, op->val, op->vlen);
        } else if (present) {
            rc = mdb_del(txn, l->dbi, &ek.val, NULL);
        }
        if (rc) return rc;
        op->result = K_OK;
        return 0;
    }
    }
    return EINVAL;
}

static bool grow_map(lmdb_kv *l) {
    if (l->map_size >= MAX_MAP) return false;
    size_t nsize = l->map_size * 2;
    pthread_rwlock_wrlock(&l->resize_lock);
    int rc = mdb_env_set_mapsize(l->env, nsize);
    pthread_rwlock_unlock(&l->resize_lock);
    if (rc) {
        log_error("lmdb: resize map to %zu: %s", nsize, mdb_strerror(rc));
        return false;
    }
    log_info("lmdb: map grown to %zu bytes", nsize);
    l->map_size = nsize;
    return true;
}

static bool out_of_space(const lmdb_kv *l, int rc) {
    if (rc == MDB_MAP_FULL || rc == ENOSPC || rc == EDQUOT) return true;
    if (rc != EIO) return false;
    struct statvfs st;
    return statvfs(l->dir, &st) == 0 && (uint64_t)st.f_bavail * st.f_frsize < SHORT_WRITE_FREE;
}

static void fail_batch(wop *batch, kerr err) {
    for (wop *op = batch; op; op = op->next) op->result = err;
}

static void apply_batch(lmdb_kv *l, wop *batch) {
    uint64_t n = 0;
    for (wop *op = batch; op; op = op->next) n++;
    for (;;) {
        MDB_txn *txn;
        int rc = mdb_txn_begin(l->env, NULL, 0, &txn);
        if (rc == MDB_MAP_RESIZED) {
            /* another process grew the map: adopt its size and retry */
            pthread_rwlock_wrlock(&l->resize_lock);
            mdb_env_set_mapsize(l->env, 0);
            pthread_rwlock_unlock(&l->resize_lock);
            continue;
        }
        if (rc) {
            log_error("lmdb: write txn: %s", mdb_strerror(rc));
            fail_batch(batch, K_EIO);
            return;
        }
        for (wop *op = batch; op && rc == 0; op = op->next) rc = apply_op(l, txn, op);
        if (rc) {
            mdb_txn_abort(txn);
        } else {
            rc = mdb_txn_commit(txn);
        }
        if (rc == 0) {
            atomic_fetch_add(&l->commits, 1);
            atomic_fetch_add(&l->writes, n);
            if (atomic_load(&l->full)) {
                atomic_store(&l->full, false);
                log_info("lmdb: %s: metadata writes succeed again", l->dir);
            }
            return;
        }
        if (rc == MDB_MAP_FULL && grow_map(l)) continue; /* replay the whole batch */
        if (out_of_space(l, rc)) {
            if (!atomic_load(&l->full)) {
                atomic_store(&l->full, true);
                log_warn("lmdb: %s: no room for metadata (%s); writes are refused with 507 "
                         "InsufficientStorage until space is freed",
                         l->dir, mdb_strerror(rc));
            }
            fail_batch(batch, K_ENOSPC);
            return;
        }
        log_error("lmdb: batch of %llu writes failed: %s", (unsigned long long)n, mdb_strerror(rc));
        fail_batch(batch, K_EIO);
        return;
    }
}

static void *writer_main(void *arg) {
    lmdb_kv *l = arg;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->head && !l->stopping) pthread_cond_wait(&l->work_cv, &l->mu);
        if (!l->head) break; /* stopping and drained */
        wop *batch = l->head;
        l->head = l->tail = NULL;
        pthread_mutex_unlock(&l->mu);
        apply_batch(l, batch);
        pthread_mutex_lock(&l->mu);
        /* Under mu: a waiter cannot return (and free its stack op) before
         * we are done touching the whole list. */
        for (wop *op = batch; op;) {
            wop *next = op->next;
            op->done = true;
            op = next;
        }
        pthread_cond_broadcast(&l->done_cv);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

static kerr submit(lmdb_kv *l, wop *op) {
    op->next = NULL;
    op->done = false;
    op->result = K_EINTERNAL;
    pthread_mutex_lock(&l->mu);
    if (l->stopping) {
        pthread_mutex_unlock(&l->mu);
        return K_EUNAVAILABLE;
    }
    if (l->tail) {
        l->tail->next = op;
    } else {
        l->head = op;
    }
    l->tail = op;
    pthread_cond_signal(&l->work_cv);
    while (!op->done) pthread_cond_wait(&l->done_cv, &l->mu);
    pthread_mutex_unlock(&l->mu);
    return op->result;
}

static kerr lm_put(kv *s, const void *key, size_t klen, const void *val, size_t vlen) {
    kerr err = check_sizes(klen, vlen);
    if (err) return err;
    wop op = {.kind = WOP_PUT, .key = key, .klen = klen, .val = val, .vlen = vlen};
    return submit((lmdb_kv *)s, &op);
}

static kerr lm_del(kv *s, const void *key, size_t klen) {
    kerr err = check_sizes(klen, 0);
    if (err) return err;
    wop op = {.kind = WOP_DEL, .key = key, .klen = klen};
    return submit((lmdb_kv *)s, &op);
}

static kerr lm_cas(kv *s, const void *key, size_t klen, const void *expect, size_t elen,
                   const void *val, size_t vlen) {
    kerr err = check_sizes(klen, val ? vlen : 0);
    if (err) return err;
    if (expect && elen > LMDB_MAX_VAL) return K_ECONFLICT; /* cannot be stored */
    wop op = {.kind = WOP_CAS,
              .key = key,
              .klen = klen,
              .val = val,
              .vlen = val ? vlen : 0,
              .expect = expect,
              .elen = elen};
    return submit((lmdb_kv *)s, &op);
}

static void lm_close(kv *s) {
    lmdb_kv *l = (lmdb_kv *)s;
    pthread_mutex_lock(&l->mu);
    l->stopping = true;
    pthread_cond_signal(&l->work_cv);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->writer, NULL);
    mdb_env_close(l->env);
    pthread_rwlock_destroy(&l->resize_lock);
    pthread_cond_destroy(&l->work_cv);
    pthread_cond_destroy(&l->done_cv);
    pthread_mutex_destroy(&l->mu);
    free(l->dir);
    free(l);
}

static const kv_ops lmdb_ops = {
    .name = "lmdb",
    .get = lm_get,
    .put = lm_put,
    .del = lm_del,
    .cas = lm_cas,
    .close = lm_close,
    .mget = lm_mget,
};

/* ---- open -------------------------------------------------------------- */

static int mkdir_p(const char *dir) {
    char path[PATH_MAX];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof path) return ENAMETOOLONG;
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0') continue;
        char saved = path[i];
        path[i] = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST) return errno;
        path[i] = saved;
    }
    struct stat st;
    if (stat(dir, &st) != 0) return errno;
    return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
}

kerr kv_lmdb_open(const char *dir, size_t map_size, kv **out) {
    *out = NULL;
    int rc = mkdir_p(dir);
    if (rc) {
        log_error("lmdb: cannot create %s: %s", dir, strerror(rc));
        return K_EIO;
    }
    lmdb_kv *l = calloc(1, sizeof *l);
    if (!l) return K_ENOMEM;
    l->base.ops = &lmdb_ops;
    l->map_size = map_size ? map_size : DEFAULT_MAP;
    l->dir = strdup(dir);
    if (!l->dir) {
        free(l);
        return K_ENOMEM;
    }
    if ((rc = mdb_env_create(&l->env)) != 0) goto fail;
    /* Many gateway threads read concurrently; MDB_NOTLS frees read
     * transactions from thread-local reader slots. */
    if ((rc = mdb_env_set_maxreaders(l->env, 1022)) != 0) goto fail_env;
    if ((rc = mdb_env_set_mapsize(l->env, l->map_size)) != 0) goto fail_env;
    if ((rc = mdb_env_open(l->env, dir, MDB_NOTLS, 0644)) != 0) goto fail_env;
    MDB_envinfo info;
    if (mdb_env_info(l->env, &info) == 0 && info.me_mapsize > l->map_size)
        l->map_size = info.me_mapsize; /* an existing file may be larger */
    MDB_txn *txn;
    if ((rc = mdb_txn_begin(l->env, NULL, 0, &txn)) != 0) goto fail_env;
    if ((rc = mdb_dbi_open(txn, NULL, 0, &l->dbi)) != 0) {
        mdb_txn_abort(txn);
        goto fail_env;
    }
    if ((rc = mdb_txn_commit(txn)) != 0) goto fail_env;
    if (mdb_env_get_maxkeysize(l->env) < SLOT_KEY_LEN) {
        log_error("lmdb: max key size %d too small", mdb_env_get_maxkeysize(l->env));
        rc = EINVAL;
        goto fail_env;
    }

    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->work_cv, NULL);
    pthread_cond_init(&l->done_cv, NULL);
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    /* a resize must not starve behind a steady stream of readers */
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&l->resize_lock, &ra);
    pthread_rwlockattr_destroy(&ra);
    if ((rc = pthread_create(&l->writer, NULL, writer_main, l)) != 0) {
        pthread_rwlock_destroy(&l->resize_lock);
        pthread_cond_destroy(&l->work_cv);
        pthread_cond_destroy(&l->done_cv);
        pthread_mutex_destroy(&l->mu);
        goto fail_env;
    }
    *out = &l->base;
    return K_OK;

fail_env:
    mdb_env_close(l->env);
fail:
    log_error("lmdb: open %s: %s", dir, mdb_strerror(rc));
    free(l->dir);
    free(l);
    return K_EIO;
}

uint64_t kv_lmdb_commit_count(kv *s) {
    if (!s || s->ops != &lmdb_ops) return 0;
    return atomic_load(&((lmdb_kv *)s)->commits);
}

uint64_t kv_lmdb_write_count(kv *s) {
    if (!s || s->ops != &lmdb_ops) return 0;
    return atomic_load(&((lmdb_kv *)s)->writes);
}

bool kv_lmdb_full(kv *s) {
    if (!s || s->ops != &lmdb_ops) return false;
    return atomic_load(&((lmdb_kv *)s)->full);
}

kerr kv_lmdb_key_count(kv *s, uint64_t *out) {
    *out = 0;
    if (!s || s->ops != &lmdb_ops) return K_EINVAL;
    lmdb_kv *l = (lmdb_kv *)s;
    pthread_rwlock_rdlock(&l->resize_lock);
    MDB_txn *txn;
    int rc = mdb_txn_begin(l->env, NULL, MDB_RDONLY, &txn);
    if (rc == 0) {
        MDB_stat st;
        rc = mdb_stat(txn, l->dbi, &st);
        if (rc == 0) *out = st.ms_entries;
        mdb_txn_abort(txn);
    }
    pthread_rwlock_unlock(&l->resize_lock);
    return rc ? K_EIO : K_OK;
}
