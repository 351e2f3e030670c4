/* SPDX-License-Identifier: Apache-2.0 */
/* Redis kv backends: independent shards (consistent hashing) and Redis Cluster.
 *
 * URLs
 *   redis://HOST:PORT[,HOST:PORT...][?OPTIONS]          independent servers
 *   redis-cluster://HOST:PORT[,HOST:PORT...][?OPTIONS]  seed nodes of one cluster
 * HOST may be a name, an IPv4 address or a bracketed IPv6 address; PORT
 * defaults to 6379. OPTIONS (&-separated, unknown ones are refused so typos
 * do not silently weaken durability):
 *   wait=N               replicas every write must reach (WAIT N), see below
 *   wait_timeout_ms=T    how long WAIT may block (default 1000)
 *   connect_timeout_ms=T (default 1000)   command_timeout_ms=T (default 5000)
 *   pool=N               connections per node, 1..64 (default 8)
 *   durability=strict|relaxed   see DURABILITY CONTRACT (default strict)
 *
 * Placement
 * - Shards: a hash ring with 160 virtual nodes per shard. A shard's points
 *   are XXH64 of "HOST:PORT-i" (the address exactly as written in the URL),
 *   a key's point is XXH64 of its bytes. Adding or removing one shard only
 *   moves the keys of that shard's arcs; reordering the list moves nothing.
 *   XXH64 is implemented here and must never change: it decides where
 *   existing data lives.
 * - Cluster: CRC16/XMODEM key slot with {hash tags}, slot map from CLUSTER
 *   SLOTS, MOVED updates the slot and triggers a full map refresh, ASK is
 *   followed once with ASKING. Connection errors also refresh the map, which
 *   is how a failover (replica promoted) is discovered; the map is also
 *   reloaded every 10 s (every 1 s while some master has no replica, so WAIT
 *   resumes soon after one returns). Error-driven refreshes are at most one
 *   per 100 ms.
 * - Failover time is mostly the cluster's own: node timeout + election
 *   (~0.5-1.5 s) + our next refresh (<= 0.4 s of backoff). To serve again
 *   within 10 s of losing a master, run the cluster with
 *   cluster-node-timeout <= 5000 (the tests use 3000 and measure ~5-6 s).
 *
 * DURABILITY CONTRACT (what K_OK from put/del/cas means)
 * What Redis itself guarantees, mode by mode (Redis 7.0, aof.c):
 * - `appendfsync always`: the AOF buffer is written AND fsynced in the event
 *   loop's beforeSleep, before any reply of that iteration is sent; a failed
 *   write or fsync stops the server. Concurrent clients share one fsync per
 *   event-loop iteration. An acknowledged write survives a SIGKILL of Redis,
 *   a crash of the host and power loss.
 * - `appendfsync everysec`: the AOF buffer is normally write(2)n before the
 *   replies, but while the background fsync of the previous second is still
 *   running Redis POSTPONES that write for up to 2 s and sends the replies
 *   anyway ("Asynchronous AOF fsync is taking too long" is logged only when
 *   the 2 s run out). A SIGKILL in that window loses writes that were
 *   acknowledged: measured here with a disk hog, 2-3 thousand of ~30 thousand
 *   acknowledged SETs were gone after restart in 3 runs out of 4. Without
 *   disk pressure nothing is lost, which is why it looks safe in tests.
 * - `no-appendfsync-on-rewrite yes` skips fsyncs during an AOF rewrite,
 *   even with `always`.
 * kura's modes (URL option durability=):
 * - strict (default): every server kura writes to must run `appendonly yes`,
 *   `appendfsync always` and `no-appendfsync-on-rewrite no`. kura checks this
 *   (CONFIG GET) on every new connection and refuses to use a server that
 *   does not (or that refuses CONFIG, so cannot be checked): kv_redis_open
 *   fails when a reachable server is misconfigured, and later connections
 *   to one fail with K_EUNAVAILABLE, logged once per episode. Then an
 *   acknowledged write survives a crash or restart of any Redis process and
 *   of its host.
 * - relaxed: any persistence is accepted and a loud warning is logged per
 *   server. With AOF everysec up to ~2 s of acknowledged writes can be lost
 *   when a Redis process dies under disk pressure, all of them without AOF.
 *   For throw-away data, benchmarks, or a deployment that accepts that.
 * - With wait>=1 the gateway also sends WAIT n after each write and only
 *   acknowledges once n replicas confirmed they applied it. Such a write
 *   survives the loss of its master (and the master's disk): Redis Cluster
 *   promotes the replica with the most recent offset. WAIT makes replication
 *   synchronous for the acknowledgement only; it is not consensus: losing
 *   the master and every replica that confirmed loses the write. A replica
 *   acknowledges WAIT once it applied the write in memory; on a server that
 *   has WAITAOF (Redis >= 7.2, detected per connection from INFO) kura sends
 *   `WAITAOF 0 n T` instead, which also waits for the replicas' AOF fsync,
 *   so the write survives the master's loss followed by a crash of the
 *   promoted replica. Replicas should run the same persistence settings as
 *   masters (kura checks only the servers it talks to).
 * - Defaults: independent shards wait=0 (they are plain masters: AOF only).
 *   Cluster: wait=1 for a master that CLUSTER SLOTS lists with at least one
 *   healthy replica, wait=0 for a master that currently has none (e.g. a
 *   freshly promoted replica whose old master is down). This default keeps
 *   serving in degraded mode; an explicit wait=N instead always demands N
 *   replicas and refuses writes (K_EUNAVAILABLE) while fewer exist. A master
 *   whose replica count is not known yet is treated as having replicas.
 * - WAIT reporting fewer replicas than required -> K_EUNAVAILABLE. The write
 *   may still exist on the master (and may or may not survive a failover):
 *   "not acknowledged" means unknown outcome, never "did not happen".
 * - Any failure after a write was sent whose outcome cannot be known (the
 *   connection broke, a timeout) -> K_EUNAVAILABLE as well. get and put are
 *   idempotent and are retried (cluster: after a map refresh; shards: once,
 *   and only when a pooled connection failed at once, i.e. had gone stale;
 *   a retried put is last-writer-wins like any put). del and cas are not
 *   retried once they may have run, because a second attempt would
 *   misreport (ENOTFOUND or ECONFLICT for the caller's own effect).
 *   Redirections (MOVED/ASK), a failed connect and busy answers
 *   (CLUSTERDOWN, LOADING, TRYAGAIN, MASTERDOWN, READONLY) mean the command
 *   did not run and are retried for every operation. All retrying of one
 *   operation stays within ~1.5 s plus at most one command timeout.
 * - Reads go to the master and can observe a write that is not (yet)
 *   acknowledged, which a failover may then lose: Redis replication is
 *   asynchronous and WAIT only delays the acknowledgement.
 * - cas is one Lua script on one key, so it is atomic on that key in both
 *   modes; there are no cross-key transactions (the radix tree needs none).
 *
 * Connections: per node a pool of up to `pool` hiredis connections, each used
 * by one thread at a time (mutex + condvar; waiting for a free one is bounded
 * by the command timeout). TCP_NODELAY and keepalive are set, connects and
 * commands time out. A connection that failed is dropped; an idle one is
 * checked with poll() before reuse (a restarted server has closed it), and
 * new ones are made lazily, so the backend recovers by itself when Redis
 * comes back. Unreachable shard: connect is refused (or times out after
 * connect_timeout_ms) and the operation fails at once with K_EUNAVAILABLE.
 *
 * hiredis writes with write(2): a peer that closed the socket raises
 * SIGPIPE. kv_redis_open sets SIGPIPE to SIG_IGN if it is still SIG_DFL, so
 * a dying Redis cannot kill the gateway.
 */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common/log.h"
#include "meta/kv.h"

#define REDIS_MAX_KEY 2048
#define REDIS_MAX_VAL (1024 * 1024)
#define DEFAULT_PORT 6379
#define CLUSTER_SLOT_COUNT 16384
#define RING_VNODES 160
#define MAX_NODES 256
#define NO_OWNER UINT16_MAX
#define POOL_DEFAULT 8
#define POOL_LIMIT 64
#define CONNECT_TIMEOUT_MS 1000
#define COMMAND_TIMEOUT_MS 5000
#define WAIT_TIMEOUT_MS 1000
/* Retries of one operation: at most this many attempts, sleeping between
 * those that failed for a reason that needs time to heal (not redirects),
 * and never sleeping past the budget. 25+50+...+400 ms ~ 1.2 s of sleep. */
#define MAX_ATTEMPTS 10
#define RETRY_BUDGET_MS 1500
#define BACKOFF_FIRST_MS 25
#define BACKOFF_MAX_MS 400
/* Refreshes of the slot map closer together than this are skipped: during
 * an outage every operation asks for one. */
#define REFRESH_MIN_INTERVAL_MS 100
/* Periodic reloads: see maybe_periodic_refresh. */
#define REFRESH_PERIOD_MS 10000
#define REFRESH_DEGRADED_INTERVAL_MS 1000
#define HOST_MAX 256
#define STALE_FAILURE_MS 100

/* ---- the CAS script ------------------------------------------------------
 * KEYS[1] key. ARGV[1] '1' if ARGV[2] holds the expected value, '0' if the
 * key must be absent. ARGV[3] '1' to store ARGV[4], '0' to delete.
 * Returns 1 when applied, 0 on conflict. Lua strings are 8-bit clean and
 * compare by content; GET of an absent key is false, which never equals a
 * string. */
static const char CAS_SCRIPT[] = "local cur = redis.call('GET', KEYS[1])\n"
                                 "if ARGV[1] == '1' then\n"
                                 "  if cur ~= ARGV[2] then return 0 end\n"
                                 "elseif cur then\n"
                                 "  return 0\n"
                                 "end\n"
                                 "if ARGV[3] == '1' then\n"
                                 "  redis.call('SET', KEYS[1], ARGV[4])\n"
                                 "else\n"
                                 "  redis.call('DEL', KEYS[1])\n"
                                 "end\n"
                                 "return 1\n";

/* ---- types ---------------------------------------------------------------- */

typedef struct rconn {
    redisContext *ctx;
    bool used;          /* has carried a command before: failures may be staleness */
    bool broken;        /* output buffer is in an unknown state: never reuse */
    bool script_loaded; /* SCRIPT LOAD done on this connection, sha valid */
    bool waitaof;       /* the server has WAITAOF (Redis >= 7.2) */
    char sha[41];
} rconn;

typedef struct rnode {
    char host[HOST_MAX];
    int port;
    char addr[HOST_MAX + 16]; /* "host:port", for logs and ring points */
    uint16_t index;           /* position in the cluster node table */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    rconn *idle[POOL_LIMIT];
    int n_idle;
    int n_open; /* idle + lent out + being connected */
    bool had_error;
    /* The last connection's persistence check failed (strict mode) or was
     * weak (relaxed mode) and that was logged: log once per episode. */
    bool persist_logged;
    /* The last connection was refused by the strict persistence check. */
    atomic_bool persist_refused;
    /* Cluster: healthy replicas CLUSTER SLOTS listed for this master at the
     * last refresh; -1 = unknown (never seen as a master). */
    _Atomic int replicas;
} rnode;

typedef struct ring_point {
    uint64_t hash;
    uint32_t shard;
} ring_point;

typedef struct redis_opts {
    int wait; /* -1: mode default */
    int wait_timeout_ms;
    int connect_timeout_ms;
    int command_timeout_ms;
    int pool;
    bool relaxed; /* durability=relaxed */
} redis_opts;

typedef struct redis_kv {
    kv base;
    bool cluster;
    redis_opts opt;
    struct timeval connect_tv, command_tv;

    /* Independent shards: fixed at open. */
    rnode **shards;
    size_t n_shards;
    ring_point *ring;
    size_t n_ring;

    /* Cluster: nodes are only ever added (pointers stay valid until close);
     * nodes_mu serialises adding, readers index below n_nodes. */
    pthread_mutex_t nodes_mu;
    rnode *nodes[MAX_NODES];
    _Atomic size_t n_nodes;
    pthread_rwlock_t slots_lock;
    uint16_t slot_owner[CLUSTER_SLOT_COUNT]; /* node index or NO_OWNER */
    pthread_mutex_t refresh_mu;
    _Atomic uint64_t last_refresh_ns; /* written under refresh_mu */
    /* Some master had no healthy replica at the last refresh: poll the map
     * faster so a returning replica re-enables WAIT soon. */
    atomic_bool degraded;
    uint16_t refresh_scratch[CLUSTER_SLOT_COUNT]; /* guarded by refresh_mu */
    int replica_scratch[MAX_NODES];               /* guarded by refresh_mu */
    bool refresh_is_owner[MAX_NODES];             /* guarded by refresh_mu */
    unsigned refresh_rotor;                       /* guarded by refresh_mu */

    _Atomic uint64_t moved, asks, reconnects, conn_errors, refreshes, wait_short, retries;
    _Atomic uint64_t round_trips, mget_batches, mget_retried;
} redis_kv;

static const kv_ops redis_ops;

typedef enum { OP_GET, OP_SET, OP_DEL, OP_CAS } op_kind;

typedef struct kv_op {
    op_kind kind;
    const void *key;
    size_t klen;
    const void *val; /* SET value; CAS: NULL = delete */
    size_t vlen;
    const void *expect; /* CAS: NULL = must be absent */
    size_t elen;
    kbuf *out; /* GET */
} kv_op;

/* What one attempt on one node came to. */
typedef enum {
    AT_DONE,      /* the operation has a final answer */
    AT_NOT_SENT,  /* nothing reached the server: safe to retry anything */
    AT_AMBIGUOUS, /* failed after sending: the command may have run */
    AT_MOVED,     /* slot lives elsewhere now */
    AT_ASK,       /* slot is migrating, this key is on the target */
    AT_BUSY,      /* refused for a transient reason, did not run */
    AT_STALE_MAP, /* READONLY: we wrote to a node that is a replica now */
    AT_NOSCRIPT,  /* EVALSHA without the script: fall back to EVAL */
} attempt_status;

typedef struct attempt {
    kerr result;
    bool reused;     /* ran on a connection that had been used before */
    bool wait_short; /* write applied, too few replicas confirmed */
    unsigned redirect_slot;
    char redirect_host[HOST_MAX];
    int redirect_port;
} attempt;

/* ---- time ------------------------------------------------------------------ */

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static struct timeval ms_to_tv(int ms) {
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    return tv;
}

static void count(_Atomic uint64_t *c) {
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* ---- hashes --------------------------------------------------------------- */

/* XXH64 (reference algorithm, little-endian reads on every host so that
 * placement is identical everywhere). Shard placement depends on it. */
#define XXH_P1 0x9E3779B185EBCA87ULL
#define XXH_P2 0xC2B2AE3D27D4EB4FULL
#define XXH_P3 0x165667B19E3779F9ULL
#define XXH_P4 0x85EBCA77C2B2AE63ULL
#define XXH_P5 0x27D4EB2F165667C5ULL

static uint64_t rotl64(uint64_t x, int r) {
    return (x << r) | (x >> (64 - r));
}

static uint64_t read_le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static uint32_t read_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t xxh64_round(uint64_t acc, uint64_t input) {
    acc += input * XXH_P2;
    acc = rotl64(acc, 31);
    return acc * XXH_P1;
}

static uint64_t xxh64_merge(uint64_t acc, uint64_t val) {
    acc ^= xxh64_round(0, val);
    return acc * XXH_P1 + XXH_P4;
}

static uint64_t xxh64(const void *data, size_t len, uint64_t seed) {
    const uint8_t *p = data;
    const uint8_t *end = p + len;
    uint64_t h;
    if (len >= 32) {
        uint64_t v1 = seed + XXH_P1 + XXH_P2, v2 = seed + XXH_P2, v3 = seed, v4 = seed - XXH_P1;
        do {
            v1 = xxh64_round(v1, read_le64(p));
            v2 = xxh64_round(v2, read_le64(p + 8));
            v3 = xxh64_round(v3, read_le64(p + 16));
            v4 = xxh64_round(v4, read_le64(p + 24));
            p += 32;
        } while ((size_t)(end - p) >= 32);
        h = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18);
        h = xxh64_merge(h, v1);
        h = xxh64_merge(h, v2);
        h = xxh64_merge(h, v3);
        h = xxh64_merge(h, v4);
    } else {
        h = seed + XXH_P5;
    }
    h += (uint64_t)len;
    while ((size_t)(end - p) >= 8) {
        h ^= xxh64_round(0, read_le64(p));
        h = rotl64(h, 27) * XXH_P1 + XXH_P4;
        p += 8;
    }
    if ((size_t)(end - p) >= 4) {
        h ^= (uint64_t)read_le32(p) * XXH_P1;
        h = rotl64(h, 23) * XXH_P2 + XXH_P3;
        p += 4;
    }
    while (p < end) {
        h ^= (uint64_t)(*p++) * XXH_P5;
        h = rotl64(h, 11) * XXH_P1;
    }
    h ^= h >> 33;
    h *= XXH_P2;
    h ^= h >> 29;
    h *= XXH_P3;
    h ^= h >> 32;
    return h;
}

/* CRC16/XMODEM (poly 0x1021, init 0), as Redis Cluster specifies. */
static uint16_t crc16_table[256];
static pthread_once_t crc16_once = PTHREAD_ONCE_INIT;

static void crc16_init(void) {
    for (unsigned i = 0; i < 256; i++) {
        uint16_t crc = (uint16_t)(i << 8);
        for (int b = 0; b < 8; b++) crc = (crc & 0x8000) ? (uint16_t)(crc << 1) ^ 0x1021 : crc << 1;
        crc16_table[i] = crc;
    }
}

static uint16_t crc16_xmodem(const uint8_t *p, size_t n) {
    pthread_once(&crc16_once, crc16_init);
    uint16_t crc = 0;
    while (n--) crc = (uint16_t)(crc << 8) ^ crc16_table[((crc >> 8) ^ *p++) & 0xff];
    return crc;
}

unsigned kv_redis_cluster_slot(const void *key, size_t klen) {
    const uint8_t *k = key;
    /* Hash tag: the bytes between the first '{' and the first '}' after it,
     * if that span is not empty. */
    const uint8_t *open = klen ? memchr(k, '{', klen) : NULL;
    if (open) {
        const uint8_t *tag = open + 1;
        size_t rest = klen - (size_t)(tag - k);
        const uint8_t *close = rest ? memchr(tag, '}', rest) : NULL;
        if (close && close > tag) return crc16_xmodem(tag, (size_t)(close - tag)) & 16383;
    }
    return crc16_xmodem(k, klen) & 16383;
}

/* ---- nodes and connection pools ------------------------------------------ */

static rnode *node_new(const char *host, int port) {
    rnode *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    snprintf(n->host, sizeof n->host, "%s", host);
    n->port = port;
    if (strchr(host, ':'))
        snprintf(n->addr, sizeof n->addr, "[%s]:%d", host, port);
    else
        snprintf(n->addr, sizeof n->addr, "%s:%d", host, port);
    pthread_mutex_init(&n->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&n->cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&n->replicas, -1);
    return n;
}

static void conn_free(rconn *c) {
    if (!c) return;
    if (c->ctx) redisFree(c->ctx);
    free(c);
}

static void node_free(rnode *n) {
    if (!n) return;
    for (int i = 0; i < n->n_idle; i++) conn_free(n->idle[i]);
    pthread_mutex_destroy(&n->mu);
    pthread_cond_destroy(&n->cv);
    free(n);
}

/* An idle connection should have nothing to read. If poll says readable, the
 * server closed it (restart, timeout, kill) or sent something unexpected;
 * either way it must not carry the next command. */
static bool conn_looks_alive(const rconn *c) {
    if (!c->ctx || c->ctx->err || c->broken) return false;
    struct pollfd p = {.fd = c->ctx->fd, .events = POLLIN};
    int r = poll(&p, 1, 0);
    return r == 0;
}

/* ---- persistence check ---------------------------------------------------- */

typedef enum {
    PERSIST_DURABLE, /* appendonly yes, appendfsync always, fsync on rewrite */
    PERSIST_WEAK,    /* something less: see why */
    PERSIST_UNKNOWN, /* CONFIG refused: cannot be checked */
    PERSIST_IOERR,   /* the connection failed during the check */
} persist_level;

static const char *config_value(const redisReply *r, const char *name) {
    if (r->type != REDIS_REPLY_ARRAY) return NULL;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *k = r->element[i], *v = r->element[i + 1];
        if (k->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING &&
            strcmp(k->str, name) == 0)
            return v->str;
    }
    return NULL;
}

/* "redis_version:7.2.4" in an INFO reply -> true when WAITAOF exists. */
static bool info_has_waitaof(const redisReply *r) {
    if (r->type != REDIS_REPLY_STRING) return false;
    const char *v = strstr(r->str, "redis_version:");
    if (!v) return false;
    int major = 0, minor = 0;
    if (sscanf(v + 14, "%d.%d", &major, &minor) != 2) return false;
    return major > 7 || (major == 7 && minor >= 2);
}

/* Asks a freshly connected server how it persists writes (one round trip:
 * CONFIG GET and INFO pipelined). why gets a human explanation. */
static persist_level check_persistence(redisContext *ctx, bool *waitaof, char *why,
                                       size_t why_cap) {
    *waitaof = false;
    why[0] = '\0';
    if (redisAppendCommand(ctx, "CONFIG GET *append*") != REDIS_OK ||
        redisAppendCommand(ctx, "INFO server") != REDIS_OK)
        return PERSIST_IOERR;
    redisReply *cfg = NULL, *info = NULL;
    if (redisGetReply(ctx, (void **)&cfg) != REDIS_OK) return PERSIST_IOERR;
    if (redisGetReply(ctx, (void **)&info) != REDIS_OK) {
        freeReplyObject(cfg);
        return PERSIST_IOERR;
    }
    *waitaof = info_has_waitaof(info);
    freeReplyObject(info);
    persist_level lvl;
    if (cfg->type == REDIS_REPLY_ERROR) {
        snprintf(why, why_cap, "CONFIG GET refused (%s), persistence cannot be checked", cfg->str);
        lvl = PERSIST_UNKNOWN;
    } else {
        const char *aof = config_value(cfg, "appendonly");
        const char *fsync = config_value(cfg, "appendfsync");
        const char *norewrite = config_value(cfg, "no-appendfsync-on-rewrite");
        if (!aof || !fsync) {
            snprintf(why, why_cap, "CONFIG GET did not report appendonly/appendfsync");
            lvl = PERSIST_UNKNOWN;
        } else if (strcmp(aof, "yes") != 0) {
            snprintf(why, why_cap, "appendonly is %s: writes are not logged", aof);
            lvl = PERSIST_WEAK;
        } else if (strcmp(fsync, "always") != 0) {
            snprintf(why, why_cap,
                     "appendfsync is %s: acknowledged writes can be lost when Redis dies", fsync);
            lvl = PERSIST_WEAK;
        } else if (norewrite && strcmp(norewrite, "no") != 0) {
            snprintf(why, why_cap, "no-appendfsync-on-rewrite is %s: fsyncs pause in rewrites",
                     norewrite);
            lvl = PERSIST_WEAK;
        } else {
            lvl = PERSIST_DURABLE;
        }
    }
    freeReplyObject(cfg);
    return lvl;
}

/* Applies the durability mode to a fresh connection: true to use it. Logs
 * a refusal (strict) or a warning (relaxed) once per episode per node. */
static bool persistence_acceptable(redis_kv *s, rnode *n, rconn *c) {
    char why[200];
    count(&s->round_trips);
    persist_level lvl = check_persistence(c->ctx, &c->waitaof, why, sizeof why);
    if (lvl == PERSIST_IOERR) {
        log_warn("redis %s: connection failed during the persistence check: %s", n->addr,
                 c->ctx->errstr);
        return false;
    }
    bool ok = lvl == PERSIST_DURABLE || s->opt.relaxed;
    pthread_mutex_lock(&n->mu);
    bool log_now = lvl != PERSIST_DURABLE && !n->persist_logged;
    n->persist_logged = lvl != PERSIST_DURABLE;
    atomic_store(&n->persist_refused, !ok);
    pthread_mutex_unlock(&n->mu);
    if (log_now && !ok)
        log_error("redis %s: refusing to use this server: %s. kura's default (durability=strict) "
                  "needs appendonly yes, appendfsync always and no-appendfsync-on-rewrite no; "
                  "add ?durability=relaxed to the URL to accept weaker persistence "
                  "(docs/operations.md)",
                  n->addr, why);
    else if (log_now)
        log_warn("redis %s: WEAK DURABILITY (durability=relaxed): %s", n->addr, why);
    return ok;
}

static rconn *conn_open(redis_kv *s, rnode *n) {
    redisContext *ctx = redisConnectWithTimeout(n->host, n->port, s->connect_tv);
    if (!ctx || ctx->err) {
        pthread_mutex_lock(&n->mu);
        bool first = !n->had_error;
        n->had_error = true;
        pthread_mutex_unlock(&n->mu);
        if (first)
            log_warn("redis %s: cannot connect: %s", n->addr, ctx ? ctx->errstr : "out of memory");
        if (ctx) redisFree(ctx);
        count(&s->conn_errors);
        return NULL;
    }
    redisSetTimeout(ctx, s->command_tv);
    int one = 1;
    setsockopt(ctx->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    redisEnableKeepAlive(ctx);
    rconn *c = calloc(1, sizeof *c);
    if (!c) {
        redisFree(ctx);
        return NULL;
    }
    c->ctx = ctx;
    if (!persistence_acceptable(s, n, c)) {
        conn_free(c);
        count(&s->conn_errors);
        return NULL;
    }
    pthread_mutex_lock(&n->mu);
    bool recovered = n->had_error;
    n->had_error = false;
    pthread_mutex_unlock(&n->mu);
    if (recovered) {
        count(&s->reconnects);
        log_info("redis %s: connected again", n->addr);
    }
    return c;
}

static void deadline_ts(struct timespec *ts, int ms) {
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Lends a connection of node n to the calling thread: an idle live one, a
 * new one if the pool has room, else waits (bounded) for one to come back. */
static kerr pool_acquire(redis_kv *s, rnode *n, rconn **out) {
    struct timespec deadline;
    deadline_ts(&deadline, s->opt.command_timeout_ms);
    pthread_mutex_lock(&n->mu);
    for (;;) {
        while (n->n_idle > 0) {
            rconn *c = n->idle[--n->n_idle];
            if (conn_looks_alive(c)) {
                pthread_mutex_unlock(&n->mu);
                *out = c;
                return K_OK;
            }
            n->n_open--;
            pthread_mutex_unlock(&n->mu);
            conn_free(c);
            count(&s->conn_errors);
            pthread_mutex_lock(&n->mu);
        }
        if (n->n_open < s->opt.pool) {
            n->n_open++;
            pthread_mutex_unlock(&n->mu);
            rconn *c = conn_open(s, n);
            if (c) {
                *out = c;
                return K_OK;
            }
            pthread_mutex_lock(&n->mu);
            n->n_open--;
            pthread_cond_signal(&n->cv);
            pthread_mutex_unlock(&n->mu);
            return K_EUNAVAILABLE;
        }
        if (pthread_cond_timedwait(&n->cv, &n->mu, &deadline) == ETIMEDOUT) {
            pthread_mutex_unlock(&n->mu);
            log_warn("redis %s: no free connection within %d ms", n->addr,
                     s->opt.command_timeout_ms);
            return K_EUNAVAILABLE;
        }
    }
}

static void pool_release(redis_kv *s, rnode *n, rconn *c) {
    bool healthy = c->ctx && c->ctx->err == 0 && !c->broken;
    pthread_mutex_lock(&n->mu);
    if (healthy) {
        n->idle[n->n_idle++] = c;
    } else {
        n->n_open--;
        bool first = !n->had_error;
        n->had_error = true;
        if (first) log_warn("redis %s: connection lost: %s", n->addr, c->ctx ? c->ctx->errstr : "");
    }
    pthread_cond_signal(&n->cv);
    pthread_mutex_unlock(&n->mu);
    if (!healthy) {
        conn_free(c);
        count(&s->conn_errors);
    }
}

/* ---- cluster node table and slot map ------------------------------------- */

static rnode *cluster_node(redis_kv *s, const char *host, int port) {
    pthread_mutex_lock(&s->nodes_mu);
    size_t n = atomic_load(&s->n_nodes);
    for (size_t i = 0; i < n; i++) {
        if (s->nodes[i]->port == port && strcmp(s->nodes[i]->host, host) == 0) {
            pthread_mutex_unlock(&s->nodes_mu);
            return s->nodes[i];
        }
    }
    rnode *node = NULL;
    if (n < MAX_NODES && strlen(host) < HOST_MAX) {
        node = node_new(host, port);
        if (node) {
            node->index = (uint16_t)n;
            s->nodes[n] = node;
            atomic_store(&s->n_nodes, n + 1);
        }
    } else {
        log_error("redis cluster: node table full, ignoring %s:%d", host, port);
    }
    pthread_mutex_unlock(&s->nodes_mu);
    return node;
}

/* Reads one CLUSTER SLOTS reply into a new slot map; false if it is not a
 * usable map (wrong shape, or no slot covered). */
static bool apply_cluster_slots(redis_kv *s, rnode *from, const redisReply *r) {
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) return false;
    uint16_t *owner = s->refresh_scratch;
    for (size_t i = 0; i < CLUSTER_SLOT_COUNT; i++) owner[i] = NO_OWNER;
    for (size_t i = 0; i < MAX_NODES; i++) s->replica_scratch[i] = INT_MIN;
    size_t covered = 0;
    for (size_t e = 0; e < r->elements; e++) {
        const redisReply *range = r->element[e];
        if (range->type != REDIS_REPLY_ARRAY || range->elements < 3) continue;
        const redisReply *lo = range->element[0], *hi = range->element[1];
        if (lo->type != REDIS_REPLY_INTEGER || hi->type != REDIS_REPLY_INTEGER) continue;
        if (lo->integer < 0 || hi->integer >= CLUSTER_SLOT_COUNT || lo->integer > hi->integer)
            continue;
        rnode *master = NULL;
        int healthy_replicas = 0;
        for (size_t j = 2; j < range->elements; j++) {
            const redisReply *ep = range->element[j];
            if (ep->type != REDIS_REPLY_ARRAY || ep->elements < 2) continue;
            if (ep->element[0]->type != REDIS_REPLY_STRING ||
                ep->element[1]->type != REDIS_REPLY_INTEGER)
                continue;
            /* An empty or "?" endpoint means "the address you reached me at". */
            const char *host = ep->element[0]->str;
            if (host[0] == '\0' || strcmp(host, "?") == 0) host = from->host;
            int port = (int)ep->element[1]->integer;
            if (port <= 0 || port > 65535) continue;
            rnode *node = cluster_node(s, host, port);
            if (j == 2) {
                master = node;
                if (!master) break;
            } else if (node) {
                healthy_replicas++;
            }
        }
        if (!master) continue;
        s->replica_scratch[master->index] = healthy_replicas;
        for (long long slot = lo->integer; slot <= hi->integer; slot++) {
            owner[slot] = master->index;
            covered++;
        }
    }
    if (covered == 0) return false;
    pthread_rwlock_wrlock(&s->slots_lock);
    memcpy(s->slot_owner, owner, sizeof s->slot_owner);
    pthread_rwlock_unlock(&s->slots_lock);
    /* Store per node, never through a transient reset: a concurrent write
     * must not see "0 replicas" for a master that has some. */
    size_t n = atomic_load(&s->n_nodes);
    bool degraded = false;
    for (size_t i = 0; i < n; i++) {
        if (s->replica_scratch[i] == INT_MIN) continue;
        atomic_store(&s->nodes[i]->replicas, s->replica_scratch[i]);
        if (s->replica_scratch[i] == 0) degraded = true;
    }
    atomic_store(&s->degraded, degraded);
    count(&s->refreshes);
    return true;
}

static bool refresh_from(redis_kv *s, rnode *n) {
    rconn *c;
    if (pool_acquire(s, n, &c) != K_OK) return false;
    c->used = true;
    /* A hung node must not hold the map back for a whole command timeout:
     * the next node can answer. */
    redisSetTimeout(c->ctx, s->connect_tv);
    count(&s->round_trips);
    redisReply *r = redisCommand(c->ctx, "CLUSTER SLOTS");
    if (c->ctx->err == 0) redisSetTimeout(c->ctx, s->command_tv);
    pool_release(s, n, c);
    if (!r) return false;
    bool ok = apply_cluster_slots(s, n, r);
    if (!ok && r->type == REDIS_REPLY_ERROR)
        log_debug("redis %s: CLUSTER SLOTS: %s", n->addr, r->str);
    freeReplyObject(r);
    return ok;
}

typedef enum {
    REFRESH_FORCE,       /* always (open) */
    REFRESH_AFTER_ERROR, /* unless another thread refreshed moments ago */
    REFRESH_IF_IDLE,     /* periodic: only if no other refresh is running */
} refresh_mode;

/* Reloads the whole slot map from the first node that answers. Error-driven
 * refreshes closer together than REFRESH_MIN_INTERVAL_MS are skipped: during
 * an outage every operation asks for one, and callers that queued behind a
 * refresh in progress use its result. */
static bool refresh_map(redis_kv *s, refresh_mode mode) {
    if (mode == REFRESH_IF_IDLE) {
        if (pthread_mutex_trylock(&s->refresh_mu) != 0) return true;
    } else {
        pthread_mutex_lock(&s->refresh_mu);
    }
    uint64_t now = now_ns();
    uint64_t last = atomic_load(&s->last_refresh_ns);
    if (mode != REFRESH_FORCE && last &&
        now - last < (uint64_t)REFRESH_MIN_INTERVAL_MS * 1000000u) {
        pthread_mutex_unlock(&s->refresh_mu);
        return true;
    }
    atomic_store(&s->last_refresh_ns, now);
    size_t n = atomic_load(&s->n_nodes);
    /* Ask current masters first (they are what we route to), then other
     * nodes, then nodes that just failed; rotate so one node is not always
     * the oracle. */
    bool *owner = s->refresh_is_owner;
    memset(owner, 0, sizeof s->refresh_is_owner);
    pthread_rwlock_rdlock(&s->slots_lock);
    for (size_t i = 0; i < CLUSTER_SLOT_COUNT; i++)
        if (s->slot_owner[i] != NO_OWNER) owner[s->slot_owner[i]] = true;
    pthread_rwlock_unlock(&s->slots_lock);
    unsigned start = s->refresh_rotor++;
    bool ok = false;
    for (int pass = 0; pass < 3 && !ok; pass++) {
        for (size_t k = 0; k < n && !ok; k++) {
            rnode *node = s->nodes[(start + k) % n];
            pthread_mutex_lock(&node->mu);
            bool had_error = node->had_error;
            pthread_mutex_unlock(&node->mu);
            int rank = had_error ? 2 : owner[node->index] ? 0 : 1;
            if (rank != pass) continue;
            ok = refresh_from(s, node);
        }
    }
    pthread_mutex_unlock(&s->refresh_mu);
    if (!ok) log_debug("redis cluster: slot map refresh failed (no node answered)");
    return ok;
}

/* Topology also changes without telling us through an error: a replica
 * comes back (WAIT should resume), one is added. A map older than the
 * interval is reloaded by whichever operation notices first. */
static void maybe_periodic_refresh(redis_kv *s) {
    uint64_t interval_ms =
        atomic_load(&s->degraded) ? REFRESH_DEGRADED_INTERVAL_MS : REFRESH_PERIOD_MS;
    if (now_ns() - atomic_load(&s->last_refresh_ns) >= interval_ms * 1000000u)
        refresh_map(s, REFRESH_IF_IDLE);
}

static void note_moved(redis_kv *s, const attempt *a) {
    rnode *node = cluster_node(s, a->redirect_host, a->redirect_port);
    if (!node || a->redirect_slot >= CLUSTER_SLOT_COUNT) return;
    pthread_rwlock_wrlock(&s->slots_lock);
    s->slot_owner[a->redirect_slot] = node->index;
    pthread_rwlock_unlock(&s->slots_lock);
}

/* ---- routing --------------------------------------------------------------- */

static size_t ring_lookup(const redis_kv *s, uint64_t h) {
    size_t lo = 0, hi = s->n_ring;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->ring[mid].hash < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == s->n_ring ? 0 : lo;
}

static size_t shard_index(const redis_kv *s, const void *key, size_t klen) {
    return s->ring[ring_lookup(s, xxh64(key, klen, 0))].shard;
}

static rnode *route(redis_kv *s, const void *key, size_t klen) {
    if (!s->cluster) return s->shards[shard_index(s, key, klen)];
    unsigned slot = kv_redis_cluster_slot(key, klen);
    pthread_rwlock_rdlock(&s->slots_lock);
    uint16_t idx = s->slot_owner[slot];
    pthread_rwlock_unlock(&s->slots_lock);
    return idx == NO_OWNER ? NULL : s->nodes[idx];
}

static int replicas_required(const redis_kv *s, rnode *node) {
    if (s->opt.wait >= 0) return s->opt.wait;
    if (!s->cluster) return 0;
    /* Unknown (-1) counts as "has replicas": never acknowledge with less
     * durability than the policy because the map is behind. */
    return atomic_load(&node->replicas) != 0 ? 1 : 0;
}

/* ---- one attempt ------------------------------------------------------------ */

static bool starts_with(const char *s, const char *prefix) {
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* "MOVED 3999 127.0.0.1:6381" / "ASK 3999 [::1]:6381"-style endpoints; the
 * host may be empty, meaning the node that answered. */
static bool parse_redirect(const char *msg, const rnode *from, attempt *a) {
    const char *p = strchr(msg, ' ');
    if (!p) return false;
    char *end;
    unsigned long slot = strtoul(p + 1, &end, 10);
    if (end == p + 1 || *end != ' ' || slot >= CLUSTER_SLOT_COUNT) return false;
    const char *ep = end + 1;
    const char *colon = strrchr(ep, ':');
    if (!colon) return false;
    long port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || port <= 0 || port > 65535) return false;
    size_t hlen = (size_t)(colon - ep);
    if (hlen >= 2 && ep[0] == '[' && ep[hlen - 1] == ']') {
        ep++;
        hlen -= 2;
    }
    if (hlen >= sizeof a->redirect_host) return false;
    if (hlen == 0) {
        snprintf(a->redirect_host, sizeof a->redirect_host, "%s", from->host);
    } else {
        memcpy(a->redirect_host, ep, hlen);
        a->redirect_host[hlen] = '\0';
    }
    a->redirect_slot = (unsigned)slot;
    a->redirect_port = (int)port;
    return true;
}

static attempt_status classify_error(rnode *node, const redisReply *r, attempt *a) {
    const char *msg = r->str;
    if (starts_with(msg, "MOVED ")) return parse_redirect(msg, node, a) ? AT_MOVED : AT_BUSY;
    if (starts_with(msg, "ASK ")) return parse_redirect(msg, node, a) ? AT_ASK : AT_BUSY;
    if (starts_with(msg, "TRYAGAIN") || starts_with(msg, "CLUSTERDOWN") ||
        starts_with(msg, "LOADING") || starts_with(msg, "MASTERDOWN") || starts_with(msg, "BUSY"))
        return AT_BUSY;
    if (starts_with(msg, "READONLY")) return AT_STALE_MAP;
    if (starts_with(msg, "NOSCRIPT")) return AT_NOSCRIPT;
    if (starts_with(msg, "OOM")) {
        a->result = K_ENOMEM;
        return AT_DONE;
    }
    log_warn("redis %s: %s", node->addr, msg);
    a->result = K_EIO;
    return AT_DONE;
}

/* SCRIPT LOAD once per connection (scripts are per server, and a server may
 * have restarted or flushed its cache since another connection loaded it). */
static attempt_status load_cas_script(rnode *node, rconn *c, attempt *a) {
    redisReply *r = redisCommand(c->ctx, "SCRIPT LOAD %s", CAS_SCRIPT);
    if (!r) return AT_NOT_SENT; /* the operation itself was not sent */
    attempt_status st = AT_DONE;
    if (r->type == REDIS_REPLY_STRING && r->len == 40) {
        memcpy(c->sha, r->str, 40);
        c->sha[40] = '\0';
        c->script_loaded = true;
    } else if (r->type == REDIS_REPLY_ERROR) {
        st = classify_error(node, r, a);
        /* A plain error (scripting disabled?) leaves EVAL to try. */
        if (st == AT_DONE || st == AT_NOSCRIPT) st = AT_DONE;
    }
    freeReplyObject(r);
    return st;
}

/* Sends [ASKING] + the command [+ WAIT] in one round trip and reads every
 * reply (the connection must stay in step even when one is an error). */
static attempt_status send_op(redis_kv *s, rnode *node, rconn *c, const kv_op *op, bool asking,
                              bool use_eval, attempt *a) {
    const char *argv[8];
    size_t argvlen[8];
    int argc = 0;
#define ARG(p, n) (argv[argc] = (const char *)(p), argvlen[argc] = (n), argc++)
    switch (op->kind) {
    case OP_GET:
        ARG("GET", 3);
        ARG(op->key, op->klen);
        break;
    case OP_SET:
        ARG("SET", 3);
        ARG(op->key, op->klen);
        ARG(op->vlen ? op->val : "", op->vlen);
        break;
    case OP_DEL:
        ARG("DEL", 3);
        ARG(op->key, op->klen);
        break;
    case OP_CAS:
        if (use_eval) {
            ARG("EVAL", 4);
            ARG(CAS_SCRIPT, sizeof CAS_SCRIPT - 1);
        } else {
            ARG("EVALSHA", 7);
            ARG(c->sha, 40);
        }
        ARG("1", 1);
        ARG(op->key, op->klen);
        ARG(op->expect ? "1" : "0", 1);
        ARG(op->expect && op->elen ? op->expect : "", op->expect ? op->elen : 0);
        ARG(op->val ? "1" : "0", 1);
        ARG(op->val && op->vlen ? op->val : "", op->val ? op->vlen : 0);
        break;
    }
#undef ARG
    int wait_n = op->kind == OP_GET ? 0 : replicas_required(s, node);
    char wait_n_str[16], wait_ms_str[16];
    snprintf(wait_n_str, sizeof wait_n_str, "%d", wait_n);
    snprintf(wait_ms_str, sizeof wait_ms_str, "%d", s->opt.wait_timeout_ms);
    /* WAITAOF numlocal=0: with appendfsync always the master fsynced before
     * replying; numreplicas=n fsynced on the replicas too. */
    const char *wait_argv[4] = {"WAIT", wait_n_str, wait_ms_str, NULL};
    size_t wait_argvlen[4] = {4, strlen(wait_n_str), strlen(wait_ms_str), 0};
    int wait_argc = 3;
    if (c->waitaof) {
        wait_argv[0] = "WAITAOF";
        wait_argvlen[0] = 7;
        wait_argv[1] = "0";
        wait_argvlen[1] = 1;
        wait_argv[2] = wait_n_str;
        wait_argvlen[2] = strlen(wait_n_str);
        wait_argv[3] = wait_ms_str;
        wait_argvlen[3] = strlen(wait_ms_str);
        wait_argc = 4;
    }
    const char *asking_argv[1] = {"ASKING"};
    size_t asking_argvlen[1] = {6};

    int n_cmds = 0;
    bool append_ok = true;
    if (asking) {
        append_ok &= redisAppendCommandArgv(c->ctx, 1, asking_argv, asking_argvlen) == REDIS_OK;
        n_cmds++;
    }
    append_ok &= redisAppendCommandArgv(c->ctx, argc, argv, argvlen) == REDIS_OK;
    n_cmds++;
    if (wait_n > 0) {
        append_ok &= redisAppendCommandArgv(c->ctx, wait_argc, wait_argv, wait_argvlen) == REDIS_OK;
        n_cmds++;
    }
    if (!append_ok) { /* out of memory building the buffer; nothing written yet */
        c->broken = true;
        return AT_NOT_SENT;
    }
    count(&s->round_trips);
    redisReply *replies[3] = {NULL, NULL, NULL};
    for (int i = 0; i < n_cmds; i++) {
        void *r = NULL;
        if (redisGetReply(c->ctx, &r) != REDIS_OK) {
            for (int j = 0; j < i; j++) freeReplyObject(replies[j]);
            c->broken = true;
            return AT_AMBIGUOUS;
        }
        replies[i] = r;
    }
    const redisReply *reply = replies[asking ? 1 : 0];
    const redisReply *wait_reply = wait_n > 0 ? replies[n_cmds - 1] : NULL;
    attempt_status st = AT_DONE;
    bool wrote = false;
    if (reply->type == REDIS_REPLY_ERROR) {
        st = classify_error(node, reply, a);
        if (st == AT_NOSCRIPT && (op->kind != OP_CAS || use_eval)) {
            a->result = K_EIO;
            st = AT_DONE;
        }
    } else {
        switch (op->kind) {
        case OP_GET:
            kbuf_reset(op->out);
            if (reply->type == REDIS_REPLY_STRING) {
                kbuf_append(op->out, reply->str, reply->len);
                a->result = K_OK;
            } else if (reply->type == REDIS_REPLY_NIL) {
                a->result = K_ENOTFOUND;
            } else {
                a->result = K_EIO;
            }
            break;
        case OP_SET:
            wrote = reply->type == REDIS_REPLY_STATUS;
            a->result = wrote ? K_OK : K_EIO;
            break;
        case OP_DEL:
            wrote = reply->type == REDIS_REPLY_INTEGER && reply->integer > 0;
            a->result = wrote ? K_OK : reply->type == REDIS_REPLY_INTEGER ? K_ENOTFOUND : K_EIO;
            break;
        case OP_CAS:
            wrote = reply->type == REDIS_REPLY_INTEGER && reply->integer == 1;
            a->result = wrote ? K_OK : reply->type == REDIS_REPLY_INTEGER ? K_ECONFLICT : K_EIO;
            break;
        }
    }
    if (st == AT_DONE && wrote && wait_reply) {
        /* WAIT answers an integer, WAITAOF [numlocal, numreplicas] */
        const redisReply *confirmed = wait_reply;
        if (c->waitaof)
            confirmed = wait_reply->type == REDIS_REPLY_ARRAY && wait_reply->elements == 2
                            ? wait_reply->element[1]
                            : NULL;
        if (!confirmed || confirmed->type != REDIS_REPLY_INTEGER || confirmed->integer < wait_n) {
            a->wait_short = true;
            a->result = K_EUNAVAILABLE;
            log_debug("redis %s: WAIT %d: %s", node->addr, wait_n,
                      confirmed && confirmed->type == REDIS_REPLY_INTEGER ? "too few replicas"
                                                                          : "error");
        }
    }
    for (int i = 0; i < n_cmds; i++) freeReplyObject(replies[i]);
    return st;
}

static attempt_status attempt_on(redis_kv *s, rnode *node, const kv_op *op, bool asking,
                                 attempt *a) {
    rconn *c;
    if (pool_acquire(s, node, &c) != K_OK) return AT_NOT_SENT;
    a->reused = c->used;
    c->used = true;
    attempt_status st = AT_DONE;
    if (op->kind == OP_CAS && !c->script_loaded) {
        count(&s->round_trips);
        st = load_cas_script(node, c, a);
    }
    if (st == AT_DONE) {
        st = send_op(s, node, c, op, asking, !c->script_loaded, a);
        if (st == AT_NOSCRIPT) { /* script cache flushed under us */
            c->script_loaded = false;
            if (c->ctx->err == 0) st = send_op(s, node, c, op, asking, true, a);
        }
    }
    pool_release(s, node, c);
    return st;
}

/* ---- the retry loop -------------------------------------------------------- */

static kerr run_op(redis_kv *s, const kv_op *op) {
    const uint64_t deadline = now_ns() + (uint64_t)RETRY_BUDGET_MS * 1000000u;
    const bool idempotent = op->kind == OP_GET || op->kind == OP_SET;
    rnode *ask_target = NULL;
    bool asked = false, stale_retry_done = false;
    unsigned backoff_ms = BACKOFF_FIRST_MS;
    /* A pooled connection the server closed fails within a round trip; a
     * failure slower than this was a timeout and is not worth repeating. */
    int fast_ms = s->opt.command_timeout_ms / 2 < STALE_FAILURE_MS ? s->opt.command_timeout_ms / 2
                                                                   : STALE_FAILURE_MS;
    const uint64_t fast_failure_ns = (uint64_t)fast_ms * 1000000u;
    if (s->cluster) maybe_periodic_refresh(s);
    for (int n = 0; n < MAX_ATTEMPTS; n++) {
        /* an attempt can itself take a command timeout: never start a new
         * one past the budget */
        if (n > 0 && now_ns() > deadline) break;
        if (n > 0) count(&s->retries);
        rnode *node = ask_target ? ask_target : route(s, op->key, op->klen);
        bool asking = ask_target != NULL;
        ask_target = NULL;
        attempt a = {.result = K_EUNAVAILABLE};
        const uint64_t started = now_ns();
        attempt_status st = node ? attempt_on(s, node, op, asking, &a) : AT_NOT_SENT;
        const bool failed_fast = now_ns() - started < fast_failure_ns;
        bool pause = true;
        switch (st) {
        case AT_DONE:
            if (a.wait_short) {
                count(&s->wait_short);
                /* maybe the replica is gone: let the next write see it */
                if (s->cluster) refresh_map(s, REFRESH_AFTER_ERROR);
            }
            return a.result;
        case AT_MOVED:
            count(&s->moved);
            note_moved(s, &a);
            refresh_map(s, REFRESH_AFTER_ERROR);
            pause = false;
            break;
        case AT_ASK:
            count(&s->asks);
            if (!asked) {
                asked = true;
                ask_target = cluster_node(s, a.redirect_host, a.redirect_port);
                pause = ask_target == NULL;
            }
            break;
        case AT_AMBIGUOUS:
            if (!idempotent) return K_EUNAVAILABLE;
            /* for get/put a second run is harmless */
            __attribute__((fallthrough));
        case AT_NOT_SENT:
            if (!s->cluster) {
                /* One server, no alternative: only a connection that went
                 * stale while pooled (it fails at once) deserves a second
                 * try; a server that timed out gets no second timeout. */
                if (a.reused && failed_fast && !stale_retry_done) {
                    stale_retry_done = true;
                    pause = false;
                    break;
                }
                return K_EUNAVAILABLE;
            }
            refresh_map(s, REFRESH_AFTER_ERROR);
            break;
        case AT_STALE_MAP:
            refresh_map(s, REFRESH_AFTER_ERROR);
            break;
        case AT_BUSY:
        case AT_NOSCRIPT:
            break;
        }
        if (pause) {
            if (now_ns() + (uint64_t)backoff_ms * 1000000u > deadline) break;
            sleep_ms(backoff_ms);
            backoff_ms = backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff_ms * 2;
        }
    }
    return K_EUNAVAILABLE;
}

/* ---- kv_ops ------------------------------------------------------------------ */

static kerr check_sizes(size_t klen, size_t vlen) {
    if (klen == 0) return K_EINVAL;
    if (klen > REDIS_MAX_KEY || vlen > REDIS_MAX_VAL) return K_ETOOLARGE;
    return K_OK;
}

static kerr rd_get(kv *kv_, const void *key, size_t klen, kbuf *val) {
    kbuf_reset(val);
    kerr err = check_sizes(klen, 0);
    if (err) return err;
    kv_op op = {.kind = OP_GET, .key = key, .klen = klen, .out = val};
    return run_op((redis_kv *)kv_, &op);
}

static kerr rd_put(kv *kv_, const void *key, size_t klen, const void *val, size_t vlen) {
    kerr err = check_sizes(klen, vlen);
    if (err) return err;
    kv_op op = {.kind = OP_SET, .key = key, .klen = klen, .val = val, .vlen = vlen};
    return run_op((redis_kv *)kv_, &op);
}

static kerr rd_del(kv *kv_, const void *key, size_t klen) {
    kerr err = check_sizes(klen, 0);
    if (err) return err;
    kv_op op = {.kind = OP_DEL, .key = key, .klen = klen};
    return run_op((redis_kv *)kv_, &op);
}

static kerr rd_cas(kv *kv_, const void *key, size_t klen, const void *expect, size_t elen,
                   const void *val, size_t vlen) {
    kerr err = check_sizes(klen, val ? vlen : 0);
    if (err) return err;
    /* No stored value can be longer than REDIS_MAX_VAL. */
    if (expect && elen > REDIS_MAX_VAL) return K_ECONFLICT;
    kv_op op = {.kind = OP_CAS,
                .key = key,
                .klen = klen,
                .expect = expect,
                .elen = elen,
                .val = val,
                .vlen = val ? vlen : 0};
    return run_op((redis_kv *)kv_, &op);
}

/* ---- multi-get ------------------------------------------------------------------
 * Keys are grouped by the node route() gives them (shard, or slot owner in
 * the current map). One connection per node is taken, in ascending node
 * order (every thread takes them in the same order, so pools cannot wait on
 * each other in a cycle); every node's GETs are appended and written out
 * before any reply is read, so the nodes work in parallel and the call
 * costs about one round trip. A key whose answer is not a plain value or
 * nil (MOVED, ASK, a busy or unknown error), or whose batch failed (no
 * connection, a broken or timed-out one: GET is idempotent, so whatever
 * was read before the failure stands), goes through run_op afterwards:
 * the single-key path, with its redirections, map refreshes, retry rules
 * and time budget. The first key that run_op cannot answer ends the call
 * with its error. */

typedef struct mget_key {
    uint32_t rank; /* node order: shard index, or cluster node index */
    size_t i;      /* the caller's index */
} mget_key;

static int mget_key_cmp(const void *a, const void *b) {
    const mget_key *x = a, *y = b;
    if (x->rank != y->rank) return x->rank < y->rank ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

typedef struct mget_group {
    rnode *node;
    rconn *conn;     /* NULL: not sent, every key goes the single-key way */
    size_t from, to; /* its keys: order[from..to) */
} mget_group;

static kerr rd_mget(kv *kv_, size_t n, const void *const *keys, const size_t *klens, kbuf *vals,
                    kerr *errs) {
    redis_kv *s = (redis_kv *)kv_;
    mget_key *order = malloc(n * sizeof *order);
    mget_group *groups = malloc(n * sizeof *groups);
    rnode **node_of = malloc(n * sizeof *node_of);
    bool *retry = calloc(n, sizeof *retry);
    if (!order || !groups || !node_of || !retry) {
        free(order);
        free(groups);
        free(node_of);
        free(retry);
        return K_ENOMEM;
    }
    if (s->cluster) maybe_periodic_refresh(s);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        kbuf_reset(&vals[i]);
        errs[i] = check_sizes(klens[i], 0);
        if (errs[i]) continue;
        rnode *node = route(s, keys[i], klens[i]);
        if (!node) { /* no owner in the map yet: run_op refreshes it */
            retry[i] = true;
            continue;
        }
        node_of[i] = node;
        uint32_t rank = s->cluster ? node->index : (uint32_t)shard_index(s, keys[i], klens[i]);
        order[m++] = (mget_key){.rank = rank, .i = i};
    }
    qsort(order, m, sizeof *order, mget_key_cmp);
    size_t ng = 0;
    for (size_t k = 0; k < m; k++) {
        if (k == 0 || order[k].rank != order[k - 1].rank)
            groups[ng++] = (mget_group){.node = node_of[order[k].i], .from = k};
        groups[ng - 1].to = k + 1;
    }
    /* connect and queue, in node order */
    for (size_t g = 0; g < ng; g++) {
        mget_group *gr = &groups[g];
        if (pool_acquire(s, gr->node, &gr->conn) != K_OK) {
            gr->conn = NULL;
            continue;
        }
        gr->conn->used = true;
        bool ok = true;
        for (size_t k = gr->from; k < gr->to && ok; k++) {
            size_t i = order[k].i;
            const char *argv[2] = {"GET", keys[i]};
            size_t argvlen[2] = {3, klens[i]};
            ok = redisAppendCommandArgv(gr->conn->ctx, 2, argv, argvlen) == REDIS_OK;
        }
        if (!ok) { /* out of memory: the buffer is half built, never reuse it */
            gr->conn->broken = true;
            pool_release(s, gr->node, gr->conn);
            gr->conn = NULL;
        }
    }
    /* send everything, then read */
    for (size_t g = 0; g < ng; g++) {
        mget_group *gr = &groups[g];
        if (!gr->conn) continue;
        int done = 0;
        while (!done && redisBufferWrite(gr->conn->ctx, &done) == REDIS_OK) {
        }
        if (!done) gr->conn->broken = true;
        count(&s->round_trips);
        count(&s->mget_batches);
    }
    for (size_t g = 0; g < ng; g++) {
        mget_group *gr = &groups[g];
        size_t k = gr->from;
        if (gr->conn && !gr->conn->broken) {
            for (; k < gr->to; k++) {
                size_t i = order[k].i;
                void *rv = NULL;
                if (redisGetReply(gr->conn->ctx, &rv) != REDIS_OK) {
                    gr->conn->broken = true;
                    break;
                }
                const redisReply *r = rv;
                if (r->type == REDIS_REPLY_STRING) {
                    kbuf_append(&vals[i], r->str, r->len);
                    errs[i] = K_OK;
                } else if (r->type == REDIS_REPLY_NIL) {
                    errs[i] = K_ENOTFOUND;
                } else {
                    retry[i] = true;
                }
                freeReplyObject(rv);
            }
        }
        for (; k < gr->to; k++) retry[order[k].i] = true;
        if (gr->conn) pool_release(s, gr->node, gr->conn);
    }
    kerr err = K_OK;
    for (size_t i = 0; i < n && !err; i++) {
        if (!retry[i]) continue;
        count(&s->mget_retried);
        kv_op op = {.kind = OP_GET, .key = keys[i], .klen = klens[i], .out = &vals[i]};
        kerr e = run_op(s, &op);
        if (e == K_OK || e == K_ENOTFOUND)
            errs[i] = e;
        else
            err = e;
    }
    free(order);
    free(groups);
    free(node_of);
    free(retry);
    return err;
}

static void rd_close(kv *kv_) {
    redis_kv *s = (redis_kv *)kv_;
    for (size_t i = 0; i < s->n_shards; i++) node_free(s->shards[i]);
    free(s->shards);
    free(s->ring);
    size_t n = atomic_load(&s->n_nodes);
    for (size_t i = 0; i < n; i++) node_free(s->nodes[i]);
    pthread_mutex_destroy(&s->nodes_mu);
    pthread_rwlock_destroy(&s->slots_lock);
    pthread_mutex_destroy(&s->refresh_mu);
    free(s);
}

static const kv_ops redis_ops = {
    .name = "redis",
    .get = rd_get,
    .put = rd_put,
    .del = rd_del,
    .cas = rd_cas,
    .close = rd_close,
    .mget = rd_mget,
};

/* ---- opening ------------------------------------------------------------------ */

static bool parse_int_opt(const char *v, size_t vlen, int lo, int hi, int *out) {
    if (vlen == 0 || vlen > 9) return false;
    int x = 0;
    for (size_t i = 0; i < vlen; i++) {
        if (v[i] < '0' || v[i] > '9') return false;
        x = x * 10 + (v[i] - '0');
    }
    if (x < lo || x > hi) return false;
    *out = x;
    return true;
}

static kerr parse_options(const char *q, redis_opts *o) {
    while (*q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', len);
        if (!eq) return K_EINVAL;
        size_t klen = (size_t)(eq - q);
        const char *v = eq + 1;
        size_t vlen = len - klen - 1;
#define IS(name) (klen == strlen(name) && memcmp(q, name, klen) == 0)
        bool ok;
        if (IS("wait"))
            ok = parse_int_opt(v, vlen, 0, 64, &o->wait);
        else if (IS("wait_timeout_ms"))
            ok = parse_int_opt(v, vlen, 1, 600000, &o->wait_timeout_ms);
        else if (IS("connect_timeout_ms"))
            ok = parse_int_opt(v, vlen, 1, 600000, &o->connect_timeout_ms);
        else if (IS("command_timeout_ms"))
            ok = parse_int_opt(v, vlen, 1, 600000, &o->command_timeout_ms);
        else if (IS("pool"))
            ok = parse_int_opt(v, vlen, 1, POOL_LIMIT, &o->pool);
        else if (IS("durability")) {
            ok = (vlen == 6 && memcmp(v, "strict", 6) == 0) ||
                 (vlen == 7 && memcmp(v, "relaxed", 7) == 0);
            o->relaxed = vlen == 7;
        } else
            ok = false;
#undef IS
        if (!ok) {
            log_error("redis url: bad option '%.*s'", (int)len, q);
            return K_EINVAL;
        }
        q += len;
        if (*q == '&') q++;
    }
    return K_OK;
}

/* "host:port", "host", "[v6]:port", "[v6]" -> host, port. */
static bool parse_endpoint(const char *p, size_t len, char *host, size_t host_cap, int *port) {
    const char *hs = p, *rest;
    size_t hl;
    if (len && p[0] == '[') {
        const char *close = memchr(p, ']', len);
        if (!close) return false;
        hs = p + 1;
        hl = (size_t)(close - hs);
        rest = close + 1;
    } else {
        const char *colon = memchr(p, ':', len);
        hl = colon ? (size_t)(colon - p) : len;
        rest = p + hl;
    }
    size_t rest_len = len - (size_t)(rest - p);
    if (hl == 0 || hl >= host_cap) return false;
    memcpy(host, hs, hl);
    host[hl] = '\0';
    *port = DEFAULT_PORT;
    if (rest_len == 0) return true;
    if (rest[0] != ':') return false;
    return parse_int_opt(rest + 1, rest_len - 1, 1, 65535, port);
}

static int ring_cmp(const void *a, const void *b) {
    const ring_point *x = a, *y = b;
    if (x->hash != y->hash) return x->hash < y->hash ? -1 : 1;
    return x->shard < y->shard ? -1 : x->shard > y->shard;
}

static kerr build_ring(redis_kv *s) {
    s->n_ring = s->n_shards * RING_VNODES;
    s->ring = calloc(s->n_ring, sizeof *s->ring);
    if (!s->ring) return K_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < s->n_shards; i++) {
        for (unsigned v = 0; v < RING_VNODES; v++) {
            char point[HOST_MAX + 32];
            int n = snprintf(point, sizeof point, "%s-%u", s->shards[i]->addr, v);
            s->ring[k].hash = xxh64(point, (size_t)n, 0);
            s->ring[k].shard = (uint32_t)i;
            k++;
        }
    }
    qsort(s->ring, s->n_ring, sizeof *s->ring, ring_cmp);
    return K_OK;
}

/* Connects once to a node so a typo or a down server is logged at start.
 * Unreachable is not an error: the backend connects lazily and serves once
 * Redis is up. A reachable server refused by the strict persistence check
 * is: returns false then. */
static bool probe_node(redis_kv *s, rnode *n) {
    rconn *c;
    if (pool_acquire(s, n, &c) != K_OK) return !atomic_load(&n->persist_refused);
    count(&s->round_trips);
    redisReply *r = redisCommand(c->ctx, "PING");
    if (r) freeReplyObject(r);
    pool_release(s, n, c);
    return true;
}

static void ignore_sigpipe_if_default(void) {
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) != 0) return;
    if (!(sa.sa_flags & SA_SIGINFO) && sa.sa_handler == SIG_DFL) {
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = SIG_IGN;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGPIPE, &sa, NULL);
    }
}

kerr kv_redis_open(const char *url, kv **out) {
    *out = NULL;
    if (!url) return K_EINVAL;
    bool cluster;
    const char *p;
    if (strncmp(url, "redis://", 8) == 0) {
        cluster = false;
        p = url + 8;
    } else if (strncmp(url, "redis-cluster://", 16) == 0) {
        cluster = true;
        p = url + 16;
    } else {
        log_error("redis url: unknown scheme in '%s'", url);
        return K_EINVAL;
    }
    redis_kv *s = calloc(1, sizeof *s);
    if (!s) return K_ENOMEM;
    s->base.ops = &redis_ops;
    s->cluster = cluster;
    s->opt = (redis_opts){.wait = -1,
                          .wait_timeout_ms = WAIT_TIMEOUT_MS,
                          .connect_timeout_ms = CONNECT_TIMEOUT_MS,
                          .command_timeout_ms = COMMAND_TIMEOUT_MS,
                          .pool = POOL_DEFAULT};
    pthread_mutex_init(&s->nodes_mu, NULL);
    pthread_rwlock_init(&s->slots_lock, NULL);
    pthread_mutex_init(&s->refresh_mu, NULL);
    for (size_t i = 0; i < CLUSTER_SLOT_COUNT; i++) s->slot_owner[i] = NO_OWNER;

    kerr err = K_OK;
    const char *query = strchr(p, '?');
    size_t hosts_len = query ? (size_t)(query - p) : strlen(p);
    if (query) err = parse_options(query + 1, &s->opt);
    /* A slow reply to WAIT must not be mistaken for a dead server. */
    int command_ms = s->opt.command_timeout_ms;
    bool may_wait = s->opt.wait > 0 || (cluster && s->opt.wait < 0);
    if (may_wait && command_ms < s->opt.wait_timeout_ms + 1000)
        command_ms = s->opt.wait_timeout_ms + 1000;
    s->connect_tv = ms_to_tv(s->opt.connect_timeout_ms);
    s->command_tv = ms_to_tv(command_ms);

    const char *h = p, *hend = p + hosts_len;
    size_t n_endpoints = 0;
    while (err == K_OK && h < hend) {
        const char *comma = memchr(h, ',', (size_t)(hend - h));
        size_t len = comma ? (size_t)(comma - h) : (size_t)(hend - h);
        char host[HOST_MAX];
        int port;
        if (!parse_endpoint(h, len, host, sizeof host, &port)) {
            log_error("redis url: bad endpoint '%.*s'", (int)len, h);
            err = K_EINVAL;
            break;
        }
        if (cluster) {
            if (!cluster_node(s, host, port)) err = K_ENOMEM;
        } else {
            rnode **grown = realloc(s->shards, (s->n_shards + 1) * sizeof *grown);
            rnode *node = grown ? node_new(host, port) : NULL;
            if (grown) s->shards = grown;
            if (!node) {
                err = K_ENOMEM;
                break;
            }
            s->shards[s->n_shards++] = node;
            for (size_t i = 0; i + 1 < s->n_shards; i++) {
                if (strcmp(s->shards[i]->addr, node->addr) == 0) {
                    log_error("redis url: shard %s listed twice", node->addr);
                    err = K_EINVAL;
                }
            }
        }
        n_endpoints++;
        h += len;
        if (h < hend) h++; /* the comma */
        if (comma && h == hend) err = K_EINVAL;
    }
    if (err == K_OK && n_endpoints == 0) err = K_EINVAL;
    if (err == K_OK && !cluster && s->n_shards > UINT32_MAX / RING_VNODES) err = K_EINVAL;
    if (err == K_OK && !cluster) err = build_ring(s);
    if (err) {
        if (err == K_EINVAL) log_error("redis url: cannot use '%s'", url);
        rd_close(&s->base);
        return err;
    }
    ignore_sigpipe_if_default();
    bool usable = true;
    if (cluster) {
        if (!refresh_map(s, REFRESH_FORCE))
            log_warn("redis cluster %s: no seed answered CLUSTER SLOTS yet; will retry", url);
        /* every node the map named (masters and replicas) and the seeds */
        size_t n = atomic_load(&s->n_nodes);
        for (size_t i = 0; i < n; i++) usable &= probe_node(s, s->nodes[i]);
    } else {
        for (size_t i = 0; i < s->n_shards; i++) usable &= probe_node(s, s->shards[i]);
    }
    if (!usable) {
        log_error("redis %s: a server does not keep acknowledged writes durably (see above)", url);
        rd_close(&s->base);
        return K_EINVAL;
    }
    *out = &s->base;
    return K_OK;
}

/* ---- observability -------------------------------------------------------------- */

void kv_redis_stats(kv *kv_, kv_redis_counters *out) {
    memset(out, 0, sizeof *out);
    if (!kv_ || kv_->ops != &redis_ops) return;
    redis_kv *s = (redis_kv *)kv_;
    out->moved = atomic_load(&s->moved);
    out->asks = atomic_load(&s->asks);
    out->reconnects = atomic_load(&s->reconnects);
    out->conn_errors = atomic_load(&s->conn_errors);
    out->refreshes = atomic_load(&s->refreshes);
    out->wait_short = atomic_load(&s->wait_short);
    out->retries = atomic_load(&s->retries);
    out->round_trips = atomic_load(&s->round_trips);
    out->mget_batches = atomic_load(&s->mget_batches);
    out->mget_retried = atomic_load(&s->mget_retried);
}

int kv_redis_shard_of(kv *kv_, const void *key, size_t klen) {
    if (!kv_ || kv_->ops != &redis_ops) return -1;
    redis_kv *s = (redis_kv *)kv_;
    if (s->cluster) return -1;
    return (int)shard_index(s, key, klen);
}

uint64_t kv_redis_ring_hash(const void *data, size_t len) {
    return xxh64(data, len, 0);
}
