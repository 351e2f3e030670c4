/* SPDX-License-Identifier: Apache-2.0 */
/* Redis kv backends (meta/kv_redis.c) against real redis-server processes.
 *
 * Groups:
 *  - offline: URL parsing, the slot and ring hashes, an unreachable server.
 *  - shards: 3 independent servers: kv semantics, binary data, lost-update
 *    test, spread over shards, WAIT shortfall, a shard killed and restarted.
 *  - cluster: 3 masters + 3 replicas: semantics, MOVED/ASK during a slot
 *    migration, seeds that are not owners, WAIT with a paused replica, and
 *    a master SIGKILLed while clients write (time to recover, no acknowledged
 *    write lost).
 *
 * Every server is started here (fork+exec, PR_SET_PDEATHSIG so a crashed
 * test takes them down) and its pid recorded under $KURA_REDIS_TEST_DIR/pids
 * for redis_env.sh, which kills leftovers whatever happens. Waits poll with
 * generous limits instead of sleeping fixed amounts.
 */
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "meta/kv.h"

/* ---- small helpers ------------------------------------------------------------ */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(unsigned ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void put_ok(kv *s, const char *key, const char *val) {
    assert_int_equal(kv_put(s, key, strlen(key), val, strlen(val)), K_OK);
}

/* ---- what a failing test leaves behind ---------------------------------------
 * An assertion longjmps out of the test: handles and buffers it held would
 * be reported by LeakSanitizer as a second, unrelated failure. Tests open
 * handles with track() / open_url(), close them with close_kv(), and use
 * the scratch buffer; release_tracked (every test's teardown) frees what a
 * failed test left. */
#define MAX_TRACKED 8
static kv *tracked[MAX_TRACKED];
static kbuf scratch;

static kv *track(kv *s) {
    for (int i = 0; i < MAX_TRACKED; i++) {
        if (!tracked[i]) {
            tracked[i] = s;
            return s;
        }
    }
    fail_msg("too many open handles in one test");
    return s;
}

static void close_kv(kv *s) {
    for (int i = 0; i < MAX_TRACKED; i++)
        if (tracked[i] == s) tracked[i] = NULL;
    kv_close(s);
}

static int release_tracked(void **state) {
    (void)state;
    for (int i = 0; i < MAX_TRACKED; i++) {
        if (tracked[i]) kv_close(tracked[i]);
        tracked[i] = NULL;
    }
    kbuf_free(&scratch);
    return 0;
}

/* Frees before asserting, so a mismatch leaks nothing. */
static void expect_bytes(kv *s, const void *key, size_t klen, const void *val, size_t vlen) {
    kbuf b = KBUF_INIT;
    kerr e = kv_get(s, key, klen, &b);
    size_t got = b.len;
    bool same = e == K_OK && got == vlen && (vlen == 0 || memcmp(b.data, val, vlen) == 0);
    kbuf_free(&b);
    if (e != K_OK) print_message("get %.*s: %d\n", (int)klen, (const char *)key, (int)e);
    assert_int_equal(e, K_OK);
    assert_int_equal(got, vlen);
    assert_true(same);
}

static void expect_text(kv *s, const char *key, const char *val) {
    expect_bytes(s, key, strlen(key), val, strlen(val));
}

static void expect_absent(kv *s, const void *key, size_t klen) {
    kbuf b = KBUF_INIT;
    kerr e = kv_get(s, key, klen, &b);
    size_t got = b.len;
    kbuf_free(&b);
    assert_int_equal(e, K_ENOTFOUND);
    assert_int_equal(got, 0);
}

/* ---- redis-server processes ---------------------------------------------------- */

typedef struct redis_proc {
    pid_t pid; /* 0: not running */
    int port;
    bool cluster;
    /* persistence: NULL = what kura's strict default needs (AOF, always);
     * else extra "--name value" pairs, e.g. {"--appendfsync", "everysec"} */
    const char *const *persist;
    char dir[512];
} redis_proc;

static char test_root[400];
static bool test_root_owned; /* made here, not by redis_env.sh */
static unsigned port_seed;

static void init_test_root(void) {
    if (test_root[0]) return;
    const char *env = getenv("KURA_REDIS_TEST_DIR");
    if (env && *env) {
        snprintf(test_root, sizeof test_root, "%s", env);
    } else {
        snprintf(test_root, sizeof test_root, "/tmp/kura-redis-test.XXXXXX");
        if (!mkdtemp(test_root)) abort();
        test_root_owned = true;
    }
    char pids[480];
    snprintf(pids, sizeof pids, "%s/pids", test_root);
    mkdir(pids, 0755);
    port_seed = (unsigned)getpid() ^ (unsigned)time(NULL);
}

static void pid_file(pid_t pid, bool create) {
    char path[512];
    snprintf(path, sizeof path, "%s/pids/%d", test_root, (int)pid);
    if (create) {
        int fd = open(path, O_CREAT | O_WRONLY, 0644);
        if (fd >= 0) close(fd);
    } else {
        unlink(path);
    }
}

static bool port_free(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return false;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* Below the ephemeral range (32768+), and so is the cluster bus (+10000). */
static int pick_port(void) {
    for (int tries = 0; tries < 1000; tries++) {
        int p = 11000 + (int)(rand_r(&port_seed) % 11000);
        if (port_free(p) && port_free(p + 10000)) return p;
    }
    return -1;
}

static redisContext *connect_port(int port) {
    struct timeval tv = {1, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (!c) return NULL;
    if (c->err) {
        redisFree(c);
        return NULL;
    }
    struct timeval cmd = {10, 0};
    redisSetTimeout(c, cmd);
    return c;
}

/* One command on a fresh connection; NULL if the server cannot be reached. */
static redisReply *redis_cmd(int port, const char *fmt, ...) {
    redisContext *c = connect_port(port);
    if (!c) return NULL;
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    redisFree(c);
    return r;
}

static long long redis_int(int port, const char *cmd) {
    redisReply *r = redis_cmd(port, cmd);
    long long v = (r && r->type == REDIS_REPLY_INTEGER) ? r->integer : -1;
    if (r) freeReplyObject(r);
    return v;
}

static bool redis_pong(int port) {
    redisReply *r = redis_cmd(port, "PING");
    bool ok = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
    if (r) freeReplyObject(r);
    return ok;
}

static void spawn(redis_proc *p) {
    char port[16], logfile[600];
    snprintf(port, sizeof port, "%d", p->port);
    snprintf(logfile, sizeof logfile, "%s/redis.log", p->dir);
    const char *argv[40];
    int n = 0;
    argv[n++] = "redis-server";
    argv[n++] = "--port";
    argv[n++] = port;
    argv[n++] = "--bind";
    argv[n++] = "127.0.0.1";
    argv[n++] = "--save";
    argv[n++] = "";
    argv[n++] = "--appendonly";
    argv[n++] = "yes";
    argv[n++] = "--appendfsync";
    argv[n++] = "always";
    for (int i = 0; p->persist && p->persist[i] && n < 30; i++) argv[n++] = p->persist[i];
    argv[n++] = "--dir";
    argv[n++] = p->dir;
    argv[n++] = "--daemonize";
    argv[n++] = "no";
    argv[n++] = "--logfile";
    argv[n++] = logfile;
    if (p->cluster) {
        argv[n++] = "--cluster-enabled";
        argv[n++] = "yes";
        argv[n++] = "--cluster-config-file";
        argv[n++] = "nodes.conf";
        /* failover within the 10 s target: detection ~3 s + election */
        argv[n++] = "--cluster-node-timeout";
        argv[n++] = "3000";
        /* replicas sync at once instead of after the default 5 s batching */
        argv[n++] = "--repl-diskless-sync-delay";
        argv[n++] = "0";
        /* CLUSTER SLOTS hides replicas whose offset is still 0; on an idle
         * new cluster it moves with the replication ping (default 10 s) */
        argv[n++] = "--repl-ping-replica-period";
        argv[n++] = "1";
    }
    argv[n] = NULL;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* the server dies with the test, whatever kills the test */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
            dup2(devnull, 2);
        }
        execvp("redis-server", (char *const *)argv);
        _exit(127);
    }
    p->pid = pid;
    if (pid > 0) pid_file(pid, true);
}

static bool wait_ready(redis_proc *p, double limit_s) {
    double end = now_s() + limit_s;
    while (now_s() < end) {
        int status;
        if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
            pid_file(p->pid, false);
            p->pid = 0;
            return false;
        }
        if (redis_pong(p->port)) return true;
        sleep_ms(20);
    }
    return false;
}

/* Starts a server on a free port in its own directory under the test root. */
static void redis_start(redis_proc *p, const char *name, bool cluster) {
    init_test_root();
    p->cluster = cluster;
    for (int tries = 0; tries < 5; tries++) {
        p->port = pick_port();
        assert_true(p->port > 0);
        snprintf(p->dir, sizeof p->dir, "%s/%s-%d", test_root, name, p->port);
        mkdir(p->dir, 0755);
        spawn(p);
        assert_true(p->pid > 0);
        if (wait_ready(p, 10)) return;
        if (p->pid) { /* running but not answering: give up on it */
            kill(p->pid, SIGKILL);
            waitpid(p->pid, NULL, 0);
            pid_file(p->pid, false);
            p->pid = 0;
        }
    }
    fail_msg("redis-server did not start");
}

/* Same port, same dir (so the same AOF and cluster config). */
static void redis_restart(redis_proc *p) {
    assert_int_equal(p->pid, 0);
    spawn(p);
    assert_true(p->pid > 0);
}

static void redis_kill(redis_proc *p, int sig) {
    if (p->pid <= 0) return;
    kill(p->pid, sig);
    if (sig == SIGKILL || sig == SIGTERM) {
        waitpid(p->pid, NULL, 0);
        pid_file(p->pid, false);
        p->pid = 0;
    }
}

/* ---- offline tests ------------------------------------------------------------- */

static void test_url_parsing(void **state) {
    (void)state;
    kv *s = NULL;
    const char *bad[] = {
        "",
        "http://127.0.0.1:1",
        "redis://",
        "redis://127.0.0.1:1,",
        "redis://127.0.0.1:1?durability=everysec",
        "redis://127.0.0.1:1?durability=",
        "redis://127.0.0.1:notaport",
        "redis://127.0.0.1:70000",
        "redis://127.0.0.1:1?wait=x",
        "redis://127.0.0.1:1?bogus=1",
        "redis://127.0.0.1:1?pool=0",
        "redis://127.0.0.1:1,127.0.0.1:1",
        "redis://[::1:1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(kv_redis_open(bad[i], &s), K_EINVAL);
        assert_null(s);
    }
}

static void test_hashes(void **state) {
    (void)state;
    /* CRC16/XMODEM check value and slots published by Redis */
    assert_int_equal(kv_redis_cluster_slot("123456789", 9), 0x31C3);
    assert_int_equal(kv_redis_cluster_slot("foo", 3), 12182);
    assert_int_equal(kv_redis_cluster_slot("{user1000}.following", 20),
                     kv_redis_cluster_slot("user1000", 8));
    assert_int_equal(kv_redis_cluster_slot("foo{{bar}}zap", 13), kv_redis_cluster_slot("{bar", 4));
    assert_int_equal(kv_redis_cluster_slot("foo{bar}{zap}", 13), kv_redis_cluster_slot("bar", 3));
    /* XXH64 reference values: shard placement must never drift */
    assert_true(kv_redis_ring_hash("", 0) == 0xEF46DB3751D8E999ULL);
    assert_true(kv_redis_ring_hash("a", 1) == 0xD24EC4F1A98C6E5BULL);
    assert_true(kv_redis_ring_hash("abc", 3) == 0x44BC2CF5AD770999ULL);
}

/* Nothing listens there: open still succeeds (lazy), operations fail fast. */
static void test_unreachable(void **state) {
    (void)state;
    init_test_root();
    int port = pick_port();
    char url[128];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", port);
    kv *s = NULL;
    assert_int_equal(kv_redis_open(url, &s), K_OK);
    track(s);
    kbuf *const b = &scratch; /* freed by release_tracked */
    double t0 = now_s();
    assert_int_equal(kv_get(s, "k", 1, b), K_EUNAVAILABLE);
    assert_int_equal(kv_put(s, "k", 1, "v", 1), K_EUNAVAILABLE);
    assert_int_equal(kv_cas(s, "k", 1, NULL, 0, "v", 1), K_EUNAVAILABLE);
    assert_int_equal(kv_del(s, "k", 1), K_EUNAVAILABLE);
    assert_true(now_s() - t0 < 2.0);
    close_kv(s);
    snprintf(url, sizeof url, "redis-cluster://127.0.0.1:%d", port);
    assert_int_equal(kv_redis_open(url, &s), K_OK);
    track(s);
    t0 = now_s();
    assert_int_equal(kv_get(s, "k", 1, b), K_EUNAVAILABLE);
    double took = now_s() - t0;
    print_message("unreachable cluster seed: get failed after %.2f s\n", took);
    assert_true(took < 3.0);
    kbuf_free(b);
    close_kv(s);
}

/* ---- shared semantic checks ------------------------------------------------------ */

/* The kv contract, as every backend must honour it. */
static void check_semantics(kv *s, const char *prefix) {
    char k[128], k2[128];
    snprintf(k, sizeof k, "%s/sem/a", prefix);
    snprintf(k2, sizeof k2, "%s/sem/b", prefix);
    size_t kl = strlen(k);

    expect_absent(s, k, kl);
    assert_int_equal(kv_del(s, k, kl), K_ENOTFOUND);
    put_ok(s, k, "one");
    expect_text(s, k, "one");
    put_ok(s, k, "two");
    expect_text(s, k, "two");
    assert_int_equal(kv_del(s, k, kl), K_OK);
    expect_absent(s, k, kl);
    assert_int_equal(kv_del(s, k, kl), K_ENOTFOUND);

    /* cas: absent expectation */
    assert_int_equal(kv_cas(s, k, kl, NULL, 0, "v1", 2), K_OK);
    expect_text(s, k, "v1");
    assert_int_equal(kv_cas(s, k, kl, NULL, 0, "v9", 2), K_ECONFLICT);
    expect_text(s, k, "v1");
    /* cas: expected value */
    assert_int_equal(kv_cas(s, k, kl, "v1", 2, "v2", 2), K_OK);
    expect_text(s, k, "v2");
    /* conflict leaves the value unchanged: wrong value, prefix, longer */
    assert_int_equal(kv_cas(s, k, kl, "v1", 2, "v3", 2), K_ECONFLICT);
    assert_int_equal(kv_cas(s, k, kl, "v", 1, "v3", 2), K_ECONFLICT);
    assert_int_equal(kv_cas(s, k, kl, "v2x", 3, "v3", 2), K_ECONFLICT);
    expect_text(s, k, "v2");
    /* cas delete */
    assert_int_equal(kv_cas(s, k, kl, "v1", 2, NULL, 0), K_ECONFLICT);
    expect_text(s, k, "v2");
    assert_int_equal(kv_cas(s, k, kl, "v2", 2, NULL, 0), K_OK);
    expect_absent(s, k, kl);
    assert_int_equal(kv_cas(s, k, kl, "v2", 2, NULL, 0), K_ECONFLICT);
    assert_int_equal(kv_cas(s, k, kl, NULL, 0, NULL, 0), K_OK); /* absent stays absent */
    expect_absent(s, k, kl);
    /* an expected value on an absent key conflicts */
    assert_int_equal(kv_cas(s, k, kl, "v2", 2, "v3", 2), K_ECONFLICT);
    expect_absent(s, k, kl);

    /* empty value is a value, not absence */
    assert_int_equal(kv_put(s, k2, strlen(k2), "", 0), K_OK);
    expect_bytes(s, k2, strlen(k2), "", 0);
    assert_int_equal(kv_cas(s, k2, strlen(k2), NULL, 0, "x", 1), K_ECONFLICT);
    assert_int_equal(kv_cas(s, k2, strlen(k2), "", 0, "x", 1), K_OK);
    expect_text(s, k2, "x");
    assert_int_equal(kv_cas(s, k2, strlen(k2), "x", 1, "", 0), K_OK);
    expect_bytes(s, k2, strlen(k2), "", 0);
    assert_int_equal(kv_del(s, k2, strlen(k2)), K_OK);

    /* limits */
    assert_int_equal(kv_put(s, "", 0, "v", 1), K_EINVAL);
    static char huge_key[2049];
    memset(huge_key, 'k', sizeof huge_key);
    assert_int_equal(kv_put(s, huge_key, sizeof huge_key, "v", 1), K_ETOOLARGE);
    kbuf *const b = &scratch; /* freed by release_tracked */
    assert_int_equal(kv_get(s, huge_key, sizeof huge_key, b), K_ETOOLARGE);
    kbuf_free(b);
}

static void check_binary(kv *s, const char *prefix) {
    /* 2048-byte key holding every byte value, NULs included */
    uint8_t key[2048];
    size_t plen = strlen(prefix);
    memcpy(key, prefix, plen);
    for (size_t i = plen; i < sizeof key; i++) key[i] = (uint8_t)(i * 7);
    uint8_t val[600];
    for (size_t i = 0; i < sizeof val; i++) val[i] = (uint8_t)(255 - i);
    val[0] = 0;
    assert_int_equal(kv_put(s, key, sizeof key, val, sizeof val), K_OK);
    expect_bytes(s, key, sizeof key, val, sizeof val);
    /* the same key one byte shorter is another key */
    expect_absent(s, key, sizeof key - 1);
    uint8_t val2[3] = {0, 0, 0};
    assert_int_equal(kv_cas(s, key, sizeof key, val, sizeof val, val2, sizeof val2), K_OK);
    expect_bytes(s, key, sizeof key, val2, sizeof val2);
    /* expectation differing only after a NUL must conflict */
    uint8_t near[3] = {0, 0, 1};
    assert_int_equal(kv_cas(s, key, sizeof key, near, sizeof near, val, sizeof val), K_ECONFLICT);
    assert_int_equal(kv_del(s, key, sizeof key), K_OK);

    /* keys that differ only after a NUL */
    uint8_t ka[8] = {'n', 'u', 'l', 0, 'a'}, kb[8] = {'n', 'u', 'l', 0, 'b'};
    memcpy(ka + 5, prefix, plen < 3 ? plen : 3);
    memcpy(kb + 5, prefix, plen < 3 ? plen : 3);
    assert_int_equal(kv_put(s, ka, sizeof ka, "A", 1), K_OK);
    assert_int_equal(kv_put(s, kb, sizeof kb, "B", 1), K_OK);
    expect_bytes(s, ka, sizeof ka, "A", 1);
    expect_bytes(s, kb, sizeof kb, "B", 1);

    /* a 1 MiB value (the limit), and one byte more */
    size_t big = 1024 * 1024;
    uint8_t *v = malloc(big + 1);
    assert_non_null(v);
    for (size_t i = 0; i <= big; i++) v[i] = (uint8_t)(i * 31 + 1);
    char bk[64];
    snprintf(bk, sizeof bk, "%s/big", prefix);
    assert_int_equal(kv_put(s, bk, strlen(bk), v, big), K_OK);
    expect_bytes(s, bk, strlen(bk), v, big);
    assert_int_equal(kv_put(s, bk, strlen(bk), v, big + 1), K_ETOOLARGE);
    assert_int_equal(kv_del(s, bk, strlen(bk)), K_OK);
    free(v);
}

/* Lost-update test: threads increment one counter with get + cas. */
typedef struct incr_ctx {
    kv *s;
    const char *key;
    int per_thread;
    atomic_int failures;
    atomic_long conflicts;
} incr_ctx;

static void *incr_thread(void *arg) {
    incr_ctx *c = arg;
    size_t kl = strlen(c->key);
    kbuf cur = KBUF_INIT;
    for (int i = 0; i < c->per_thread; i++) {
        for (;;) {
            kerr e = kv_get(c->s, c->key, kl, &cur);
            if (e != K_OK) {
                atomic_fetch_add(&c->failures, 1);
                break;
            }
            long n = strtol(cur.data, NULL, 10);
            char next[32];
            int nl = snprintf(next, sizeof next, "%ld", n + 1);
            e = kv_cas(c->s, c->key, kl, cur.data, cur.len, next, (size_t)nl);
            if (e == K_OK) break;
            if (e != K_ECONFLICT) {
                atomic_fetch_add(&c->failures, 1);
                break;
            }
            atomic_fetch_add(&c->conflicts, 1);
        }
    }
    kbuf_free(&cur);
    return NULL;
}

static void check_lost_update(kv *s, const char *key, int threads, int per_thread) {
    put_ok(s, key, "0");
    incr_ctx c = {.s = s, .key = key, .per_thread = per_thread};
    pthread_t th[16];
    double t0 = now_s();
    for (int i = 0; i < threads; i++) pthread_create(&th[i], NULL, incr_thread, &c);
    for (int i = 0; i < threads; i++) pthread_join(th[i], NULL);
    double took = now_s() - t0;
    assert_int_equal(atomic_load(&c.failures), 0);
    char want[32];
    snprintf(want, sizeof want, "%d", threads * per_thread);
    expect_text(s, key, want);
    print_message("lost-update: %d x %d cas increments -> %s in %.2f s (%ld conflicts retried)\n",
                  threads, per_thread, want, took, atomic_load(&c.conflicts));
}

/* ---- multi-get ------------------------------------------------------------------- */

/* The keys of one kv_mget check (see mg_build). */
#define MG_MAX 1100
typedef struct mg_set {
    size_t n;
    char *keys[MG_MAX];
    size_t klens[MG_MAX];
    kerr want[MG_MAX];
    char *vals[MG_MAX]; /* expected value (K_OK) */
    size_t vlens[MG_MAX];
} mg_set;

static mg_set mgs; /* one at a time; freed by mg_clear (also on failure) */

static void mg_clear(void) {
    for (size_t i = 0; i < mgs.n; i++) {
        free(mgs.keys[i]);
        free(mgs.vals[i]);
    }
    memset(&mgs, 0, sizeof mgs);
}

static void mg_add(const void *key, size_t klen, kerr want, const void *val, size_t vlen) {
    assert_true(mgs.n < MG_MAX);
    size_t i = mgs.n++;
    mgs.keys[i] = malloc(klen + 1);
    memcpy(mgs.keys[i], key, klen);
    mgs.klens[i] = klen;
    mgs.want[i] = want;
    mgs.vals[i] = malloc(vlen + 1);
    if (vlen) memcpy(mgs.vals[i], val, vlen);
    mgs.vlens[i] = vlen;
}

/* n plain keys under prefix, every third absent, then binary and limit
 * cases: a key with NULs and every byte value, one of 2048 bytes, one
 * too long, an empty key, an empty value, and duplicates. */
static void mg_build(kv *s, const char *prefix, int n) {
    mg_clear();
    for (int i = 0; i < n; i++) {
        char k[64], v[64];
        snprintf(k, sizeof k, "%s/mg/%d", prefix, i);
        snprintf(v, sizeof v, "v%d-%s", i * 31, prefix);
        if (i % 3 == 1) {
            mg_add(k, strlen(k), K_ENOTFOUND, NULL, 0);
        } else {
            put_ok(s, k, v);
            mg_add(k, strlen(k), K_OK, v, strlen(v));
        }
    }
    uint8_t bin[300];
    size_t plen = strlen(prefix);
    memcpy(bin, prefix, plen);
    for (size_t i = plen; i < sizeof bin; i++) bin[i] = (uint8_t)(i * 13);
    bin[plen] = 0;
    assert_int_equal(kv_put(s, bin, sizeof bin, bin, sizeof bin), K_OK);
    mg_add(bin, sizeof bin, K_OK, bin, sizeof bin);
    bin[sizeof bin - 1] ^= 1; /* differs in the last byte only */
    mg_add(bin, sizeof bin, K_ENOTFOUND, NULL, 0);
    static uint8_t big[2049];
    memset(big, 'B', sizeof big);
    memcpy(big, prefix, plen);
    assert_int_equal(kv_put(s, big, 2048, "2048", 4), K_OK);
    mg_add(big, 2048, K_OK, "2048", 4);
    mg_add(big, 2049, K_ETOOLARGE, NULL, 0);
    mg_add("", 0, K_EINVAL, NULL, 0);
    char ek[64];
    snprintf(ek, sizeof ek, "%s/mg/empty", prefix);
    put_ok(s, ek, "");
    mg_add(ek, strlen(ek), K_OK, "", 0);
    mg_add(mgs.keys[0], mgs.klens[0], mgs.want[0], mgs.vals[0], mgs.vlens[0]);
    mg_add(mgs.keys[1], mgs.klens[1], mgs.want[1], mgs.vals[1], mgs.vlens[1]);
}

/* One kv_mget of the set: every answer as expected and equal to kv_get's.
 * Returns the number of wrong answers (printed). */
static size_t mg_verify(kv *s, kerr *call) {
    static kbuf vals[MG_MAX];
    static kerr errs[MG_MAX];
    for (size_t i = 0; i < mgs.n; i++) {
        kbuf_reset(&vals[i]);
        kbuf_append(&vals[i], "dirty", 5);
        errs[i] = K_EINTERNAL;
    }
    *call = kv_mget(s, mgs.n, (const void *const *)mgs.keys, mgs.klens, vals, errs);
    size_t bad = 0;
    for (size_t i = 0; *call == K_OK && i < mgs.n; i++) {
        bool ok = errs[i] == mgs.want[i];
        if (mgs.want[i] == K_OK)
            ok = ok && vals[i].len == mgs.vlens[i] &&
                 (mgs.vlens[i] == 0 || memcmp(vals[i].data, mgs.vals[i], mgs.vlens[i]) == 0);
        else
            ok = ok && vals[i].len == 0;
        if (!ok && bad++ < 5)
            print_error("mget key %zu (%zu bytes): err %d, want %d, %zu bytes\n", i, mgs.klens[i],
                        (int)errs[i], (int)mgs.want[i], vals[i].len);
    }
    for (size_t i = 0; i < mgs.n; i++) kbuf_free(&vals[i]);
    return bad;
}

static void mg_expect_ok(kv *s) {
    kerr call;
    size_t bad = mg_verify(s, &call);
    assert_int_equal(call, K_OK);
    assert_int_equal(bad, 0);
    /* and the single-key path agrees */
    kbuf *const b = &scratch;
    for (size_t i = 0; i < mgs.n; i += 7) {
        assert_int_equal(kv_get(s, mgs.keys[i], mgs.klens[i], b), mgs.want[i]);
        if (mgs.want[i] == K_OK) assert_int_equal(b->len, mgs.vlens[i]);
    }
    kbuf_free(b);
}

static int mg_teardown(void **state) {
    mg_clear();
    return release_tracked(state);
}

/* The semantics on a healthy deployment and its cost: one pipelined batch
 * (one round trip) per node holding keys, no key retried one by one. */
static void check_mget(kv *s, const char *prefix, uint64_t nodes) {
    assert_int_equal(kv_mget(s, 0, NULL, NULL, NULL, NULL), K_OK);
    mg_build(s, prefix, 1000);
    mg_expect_ok(s); /* also warms a connection per node */
    kv_redis_counters c0, c1;
    kv_redis_stats(s, &c0);
    kerr call;
    assert_int_equal(mg_verify(s, &call), 0);
    assert_int_equal(call, K_OK);
    kv_redis_stats(s, &c1);
    uint64_t rt = c1.round_trips - c0.round_trips - (c1.refreshes - c0.refreshes);
    print_message("mget of %zu keys: %llu round trips, %llu batches, %llu keys retried\n", mgs.n,
                  (unsigned long long)rt, (unsigned long long)(c1.mget_batches - c0.mget_batches),
                  (unsigned long long)(c1.mget_retried - c0.mget_retried));
    assert_int_equal(c1.mget_batches - c0.mget_batches, nodes);
    assert_int_equal(rt, nodes);
    assert_int_equal(c1.mget_retried, c0.mget_retried);
    /* a single key is one round trip too */
    kbuf v = KBUF_INIT;
    kerr e;
    const void *k0 = mgs.keys[0];
    kv_redis_stats(s, &c0);
    assert_int_equal(kv_mget(s, 1, &k0, &mgs.klens[0], &v, &e), K_OK);
    kv_redis_stats(s, &c1);
    kbuf_free(&v);
    assert_int_equal(e, K_OK);
    assert_int_equal(c1.mget_batches - c0.mget_batches, 1);
}

/* ---- shards group ---------------------------------------------------------------- */

#define N_SHARDS 3
static redis_proc shard[N_SHARDS];
static char shards_url[512];

static int shards_setup(void **state) {
    (void)state;
    for (int i = 0; i < N_SHARDS; i++) redis_start(&shard[i], "shard", false);
    snprintf(shards_url, sizeof shards_url, "redis://127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d",
             shard[0].port, shard[1].port, shard[2].port);
    return 0;
}

static int shards_teardown(void **state) {
    (void)state;
    for (int i = 0; i < N_SHARDS; i++) redis_kill(&shard[i], SIGKILL);
    return 0;
}

static kv *open_url(const char *url) {
    kv *s = NULL;
    assert_int_equal(kv_redis_open(url, &s), K_OK);
    assert_non_null(s);
    return track(s);
}

static void test_shards_semantics(void **state) {
    (void)state;
    kv *s = open_url(shards_url);
    check_semantics(s, "shards");
    check_binary(s, "shards");
    close_kv(s);
}

static void test_shards_lost_update(void **state) {
    (void)state;
    /* a small pool: 8 threads must queue for 3 connections */
    char url[600];
    snprintf(url, sizeof url, "%s?pool=3", shards_url);
    kv *s = open_url(url);
    check_lost_update(s, "shards/counter", 8, 500);
    close_kv(s);
}

static void test_shards_spread(void **state) {
    (void)state;
    kv *s = open_url(shards_url);
    long long before[N_SHARDS];
    for (int i = 0; i < N_SHARDS; i++) before[i] = redis_int(shard[i].port, "DBSIZE");
    const int n = 3000;
    for (int i = 0; i < n; i++) {
        char k[64];
        snprintf(k, sizeof k, "spread/%d", i);
        put_ok(s, k, "x");
        /* the shard kv_redis_shard_of names is the one holding the key */
        if (i % 50 == 0) {
            int sh = kv_redis_shard_of(s, k, strlen(k));
            assert_true(sh >= 0 && sh < N_SHARDS);
            redisReply *r = redis_cmd(shard[sh].port, "EXISTS %s", k);
            assert_non_null(r);
            assert_int_equal(r->integer, 1);
            freeReplyObject(r);
        }
    }
    long long total = 0;
    for (int i = 0; i < N_SHARDS; i++) {
        long long added = redis_int(shard[i].port, "DBSIZE") - before[i];
        print_message("shard %d (port %d): %lld of %d keys\n", i, shard[i].port, added, n);
        assert_true(added > n / 5); /* 160 virtual nodes: ~1/3 each */
        total += added;
    }
    assert_int_equal(total, n);
    close_kv(s);
}

static void test_shards_mget(void **state) {
    (void)state;
    kv *s = open_url(shards_url);
    check_mget(s, "shards", N_SHARDS);
    /* the keys really span every shard */
    int seen[N_SHARDS] = {0};
    for (size_t i = 0; i < mgs.n; i++)
        if (mgs.klens[i] && mgs.klens[i] <= 2048)
            seen[kv_redis_shard_of(s, mgs.keys[i], mgs.klens[i])]++;
    for (int i = 0; i < N_SHARDS; i++) assert_true(seen[i] > 100);
    close_kv(s);
}

/* A dead shard fails the whole call, fast; the others' keys are still read
 * by kv_get, and kv_mget works again once the shard is back. */
static void test_shards_mget_outage(void **state) {
    (void)state;
    kv *s = open_url(shards_url);
    mg_build(s, "mgout", 300);
    mg_expect_ok(s);
    const int victim = 2;
    redis_kill(&shard[victim], SIGKILL);
    kerr call;
    double t0 = now_s();
    mg_verify(s, &call);
    double took = now_s() - t0;
    print_message("mget with a dead shard: %d after %.3f s\n", (int)call, took);
    assert_int_equal(call, K_EUNAVAILABLE);
    assert_true(took < 2.0);
    /* a batch that avoids the dead shard is served */
    const void *alive[64];
    size_t alens[64], na = 0;
    for (size_t i = 0; i < mgs.n && na < 64; i++)
        if (mgs.want[i] == K_OK && kv_redis_shard_of(s, mgs.keys[i], mgs.klens[i]) != victim) {
            alive[na] = mgs.keys[i];
            alens[na++] = mgs.klens[i];
        }
    kbuf vals[64];
    kerr errs[64];
    for (size_t i = 0; i < na; i++) kbuf_init(&vals[i]);
    kerr e = kv_mget(s, na, alive, alens, vals, errs);
    size_t ok = 0;
    for (size_t i = 0; i < na; i++) {
        ok += errs[i] == K_OK;
        kbuf_free(&vals[i]);
    }
    assert_int_equal(e, K_OK);
    assert_int_equal(ok, na);
    redis_restart(&shard[victim]);
    t0 = now_s();
    do {
        mg_verify(s, &call);
        if (call != K_OK) sleep_ms(50);
    } while (call != K_OK && now_s() - t0 < 20);
    assert_int_equal(call, K_OK);
    mg_expect_ok(s); /* appendfsync always: nothing acknowledged was lost */
    close_kv(s);
}

static void test_shards_wait_shortfall(void **state) {
    (void)state;
    /* plain masters have no replica: a required WAIT 1 cannot be met */
    char url[600];
    snprintf(url, sizeof url, "%s?wait=1&wait_timeout_ms=100", shards_url);
    kv *s = open_url(url);
    double t0 = now_s();
    assert_int_equal(kv_put(s, "shortfall", 9, "v", 1), K_EUNAVAILABLE);
    assert_true(now_s() - t0 < 2.0);
    kv_redis_counters c;
    kv_redis_stats(s, &c);
    assert_int_equal(c.wait_short, 1);
    /* not acknowledged does not mean absent: the master applied it */
    kv *plain = open_url(shards_url);
    expect_text(plain, "shortfall", "v");
    /* reads never wait */
    expect_text(s, "shortfall", "v");
    close_kv(plain);
    close_kv(s);
}

/* A server that accepts connections but never answers (SIGSTOP): the
 * command timeout bounds every operation, and it serves again after. */
static void test_shards_hung_server(void **state) {
    (void)state;
    char url[600];
    snprintf(url, sizeof url, "%s?command_timeout_ms=1000", shards_url);
    kv *s = open_url(url);
    char key[32];
    for (int i = 0;; i++) {
        snprintf(key, sizeof key, "hung/%d", i);
        if (kv_redis_shard_of(s, key, strlen(key)) == 2) break;
    }
    put_ok(s, key, "v");
    redis_kill(&shard[2], SIGSTOP);
    kbuf *const b = &scratch; /* freed by release_tracked */
    double t0 = now_s();
    kerr get_err = kv_get(s, key, strlen(key), b);
    double get_took = now_s() - t0;
    t0 = now_s();
    kerr put_err = kv_put(s, key, strlen(key), "v", 1);
    double put_took = now_s() - t0;
    redis_kill(&shard[2], SIGCONT);
    print_message("hung shard: get failed after %.2f s, put after %.2f s\n", get_took, put_took);
    assert_int_equal(get_err, K_EUNAVAILABLE);
    assert_int_equal(put_err, K_EUNAVAILABLE);
    /* one timeout each (1 s), never a second one (>= 2 s); the margin is for
     * a loaded machine, not a tolerance of the behaviour */
    assert_true(get_took < 1.9 && put_took < 1.9);
    kerr e = K_EUNAVAILABLE;
    for (double end = now_s() + 10; e != K_OK && now_s() < end; sleep_ms(50))
        e = kv_get(s, key, strlen(key), b);
    assert_int_equal(e, K_OK);
    kbuf_free(b);
    close_kv(s);
}

static void test_shards_outage(void **state) {
    (void)state;
    kv *s = open_url(shards_url);
    const int victim = 1;
    /* 300 acknowledged keys on every shard, written just before the kill:
     * with appendfsync always (kura's strict default checks it) each was
     * fsynced before its reply, so a SIGKILL must not lose one */
    int per_shard[N_SHARDS] = {0};
    char keys[N_SHARDS][300][32];
    for (int i = 0; per_shard[0] < 300 || per_shard[1] < 300 || per_shard[2] < 300; i++) {
        char k[32];
        snprintf(k, sizeof k, "outage/%d", i);
        int sh = kv_redis_shard_of(s, k, strlen(k));
        if (per_shard[sh] >= 300) continue;
        put_ok(s, k, k);
        memcpy(keys[sh][per_shard[sh]++], k, sizeof k);
    }
    redis_kill(&shard[victim], SIGKILL);

    /* the dead shard's keys: every operation fails fast */
    kbuf *const b = &scratch; /* freed by release_tracked */
    double worst = 0;
    for (int i = 0; i < 20; i++) {
        const char *k = keys[victim][i];
        size_t kl = strlen(k);
        double t0 = now_s();
        assert_int_equal(kv_get(s, k, kl, b), K_EUNAVAILABLE);
        assert_int_equal(kv_put(s, k, kl, "new", 3), K_EUNAVAILABLE);
        assert_int_equal(kv_cas(s, k, kl, k, kl, "new", 3), K_EUNAVAILABLE);
        assert_int_equal(kv_del(s, k, kl), K_EUNAVAILABLE);
        double took = (now_s() - t0) / 4;
        if (took > worst) worst = took;
    }
    print_message("dead shard: slowest failing operation took %.3f s\n", worst);
    assert_true(worst < 2.0);
    /* the other shards keep serving */
    for (int sh = 0; sh < N_SHARDS; sh++) {
        if (sh == victim) continue;
        for (int i = 0; i < 300; i++) expect_text(s, keys[sh][i], keys[sh][i]);
    }

    /* back on the same port and dir: the same handle serves again */
    redis_restart(&shard[victim]);
    double t0 = now_s();
    kerr e = K_EUNAVAILABLE;
    while (now_s() - t0 < 20) {
        e = kv_get(s, keys[victim][0], strlen(keys[victim][0]), b);
        if (e == K_OK) break;
        sleep_ms(50);
    }
    assert_int_equal(e, K_OK);
    print_message("restarted shard serving again after %.2f s\n", now_s() - t0);
    for (int i = 0; i < 300; i++) expect_text(s, keys[victim][i], keys[victim][i]);
    put_ok(s, keys[victim][0], "after");
    expect_text(s, keys[victim][0], "after");
    kv_redis_counters c;
    kv_redis_stats(s, &c);
    assert_true(c.reconnects >= 1);
    assert_true(c.conn_errors >= 1);
    kbuf_free(b);
    close_kv(s);
}

/* ---- persistence group: the strict durability check ------------------------------ */

static kv *open_expect(const char *url, kerr want) {
    kv *s = NULL;
    assert_int_equal(kv_redis_open(url, &s), want);
    if (want != K_OK) {
        assert_null(s);
        return NULL;
    }
    assert_non_null(s);
    return track(s);
}

/* A server kura's strict default must refuse (at open) and relaxed mode
 * must use. */
static void check_refused_then_relaxed(const char *name, const char *const *persist) {
    redis_proc p = {.persist = persist};
    redis_start(&p, name, false);
    char url[200], relaxed[240];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", p.port);
    snprintf(relaxed, sizeof relaxed, "%s?durability=relaxed", url);
    print_message("%s: strict open must fail\n", name);
    open_expect(url, K_EINVAL);
    char strict[240];
    snprintf(strict, sizeof strict, "%s?durability=strict", url);
    open_expect(strict, K_EINVAL);
    kv *s = open_expect(relaxed, K_OK);
    put_ok(s, "k", name);
    expect_text(s, "k", name);
    close_kv(s);
    redis_kill(&p, SIGKILL);
}

static void test_persist_everysec_refused(void **state) {
    (void)state;
    static const char *const everysec[] = {"--appendfsync", "everysec", NULL};
    check_refused_then_relaxed("everysec", everysec);
}

static void test_persist_no_aof_refused(void **state) {
    (void)state;
    static const char *const no_aof[] = {"--appendonly", "no", NULL};
    check_refused_then_relaxed("noaof", no_aof);
}

static void test_persist_rewrite_pause_refused(void **state) {
    (void)state;
    static const char *const pause[] = {"--no-appendfsync-on-rewrite", "yes", NULL};
    check_refused_then_relaxed("norewritefsync", pause);
}

/* CONFIG renamed away (as managed services do): cannot be checked, so
 * strict refuses; relaxed accepts. */
static void test_persist_unverifiable_refused(void **state) {
    (void)state;
    static const char *const hidden[] = {"--rename-command", "CONFIG", "", NULL};
    check_refused_then_relaxed("noconfig", hidden);
}

/* The check runs on every new connection: a server reconfigured to
 * everysec at run time is refused as soon as kura reconnects, and used
 * again once it is fixed. */
static void test_persist_checked_on_reconnect(void **state) {
    (void)state;
    redis_proc p = {0};
    redis_start(&p, "reconf", false);
    char url[200];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d?pool=1", p.port);
    kv *s = open_expect(url, K_OK);
    put_ok(s, "k", "durable");
    redisReply *r = redis_cmd(p.port, "CONFIG SET appendfsync everysec");
    assert_non_null(r);
    freeReplyObject(r);
    r = redis_cmd(p.port, "CLIENT KILL TYPE normal SKIPME yes");
    assert_non_null(r);
    freeReplyObject(r);
    assert_int_equal(kv_put(s, "k", 1, "weak", 4), K_EUNAVAILABLE);
    kbuf *const b = &scratch;
    assert_int_equal(kv_get(s, "k", 1, b), K_EUNAVAILABLE);
    r = redis_cmd(p.port, "CONFIG SET appendfsync always");
    assert_non_null(r);
    freeReplyObject(r);
    expect_text(s, "k", "durable");
    put_ok(s, "k", "again");
    expect_text(s, "k", "again");
    close_kv(s);
    redis_kill(&p, SIGKILL);
}

/* ---- cluster group ------------------------------------------------------------------ */

#define N_CLUSTER 6
static redis_proc cnode[N_CLUSTER];
static char cluster_url[512];

typedef struct slot_range {
    int lo, hi;
    int master_port;
    int replica_port; /* 0 if none listed */
} slot_range;

/* CLUSTER SLOTS as one node sees it; returns the number of ranges. */
static int cluster_ranges(int port, slot_range *out, int cap) {
    redisReply *r = redis_cmd(port, "CLUSTER SLOTS");
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        if (r) freeReplyObject(r);
        return -1;
    }
    int n = 0;
    for (size_t i = 0; i < r->elements && n < cap; i++) {
        redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 3) continue;
        out[n].lo = (int)e->element[0]->integer;
        out[n].hi = (int)e->element[1]->integer;
        out[n].master_port = (int)e->element[2]->element[1]->integer;
        out[n].replica_port = e->elements >= 4 ? (int)e->element[3]->element[1]->integer : 0;
        n++;
    }
    freeReplyObject(r);
    return n;
}

static bool cluster_state_ok(int port) {
    redisReply *r = redis_cmd(port, "CLUSTER INFO");
    bool ok = r && r->type == REDIS_REPLY_STRING && strstr(r->str, "cluster_state:ok");
    if (r) freeReplyObject(r);
    return ok;
}

/* Every node: state ok, full coverage, every range with a synced replica. */
static bool cluster_converged(void) {
    for (int i = 0; i < N_CLUSTER; i++) {
        if (!cluster_state_ok(cnode[i].port)) return false;
        slot_range rg[16];
        int n = cluster_ranges(cnode[i].port, rg, 16);
        if (n <= 0) return false;
        int covered = 0;
        for (int j = 0; j < n; j++) {
            if (!rg[j].replica_port) return false;
            covered += rg[j].hi - rg[j].lo + 1;
        }
        if (covered != 16384) return false;
    }
    return true;
}

static redis_proc *proc_by_port(int port) {
    for (int i = 0; i < N_CLUSTER; i++)
        if (cnode[i].port == port) return &cnode[i];
    return NULL;
}

static int run_cluster_create(void) {
    char log[600];
    snprintf(log, sizeof log, "%s/cluster-create.log", test_root);
    char addrs[N_CLUSTER][32];
    const char *argv[32];
    int n = 0;
    argv[n++] = "redis-cli";
    argv[n++] = "--cluster";
    argv[n++] = "create";
    for (int i = 0; i < N_CLUSTER; i++) {
        snprintf(addrs[i], sizeof addrs[i], "127.0.0.1:%d", cnode[i].port);
        argv[n++] = addrs[i];
    }
    argv[n++] = "--cluster-replicas";
    argv[n++] = "1";
    argv[n++] = "--cluster-yes";
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(log, O_CREAT | O_WRONLY | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execvp("redis-cli", (char *const *)argv);
        _exit(127);
    }
    if (pid < 0) return -1;
    double end = now_s() + 60;
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (now_s() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        sleep_ms(50);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int cluster_setup(void **state) {
    (void)state;
    double t0 = now_s();
    for (int i = 0; i < N_CLUSTER; i++) redis_start(&cnode[i], "cluster", true);
    if (run_cluster_create() != 0) {
        print_error("redis-cli --cluster create failed (see cluster-create.log)\n");
        return -1;
    }
    double end = now_s() + 30;
    while (!cluster_converged()) {
        if (now_s() > end) {
            print_error("cluster did not converge within 30 s\n");
            return -1;
        }
        sleep_ms(100);
    }
    print_message("cluster of 3 masters + 3 replicas ready in %.2f s\n", now_s() - t0);
    /* seeds: two of the nodes, whichever role they ended up with */
    snprintf(cluster_url, sizeof cluster_url, "redis-cluster://127.0.0.1:%d,127.0.0.1:%d",
             cnode[0].port, cnode[3].port);
    return 0;
}

static int cluster_teardown(void **state) {
    (void)state;
    for (int i = 0; i < N_CLUSTER; i++) redis_kill(&cnode[i], SIGKILL);
    return 0;
}

/* The cluster with a WAIT timeout that a loaded machine does not run into:
 * tests that are not about WAIT must not fail because a replica was slow to
 * confirm (the WAIT-specific tests set their own, short, timeouts). */
static kv *open_cluster(void) {
    char url[600];
    snprintf(url, sizeof url, "%s?wait_timeout_ms=4000", cluster_url);
    return open_url(url);
}

static void test_cluster_keyslot(void **state) {
    (void)state;
    const char *keys[] = {"foo",
                          "{user1000}.following",
                          "{user1000}.followers",
                          "foo{}{bar}",
                          "foo{{bar}}zap",
                          "foo{bar}{zap}",
                          "{",
                          "}{",
                          "a{b}",
                          "radix/node$"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        long long want = -1;
        redisReply *r = redis_cmd(cnode[0].port, "CLUSTER KEYSLOT %s", keys[i]);
        if (r && r->type == REDIS_REPLY_INTEGER) want = r->integer;
        if (r) freeReplyObject(r);
        assert_int_equal(kv_redis_cluster_slot(keys[i], strlen(keys[i])), want);
    }
    uint8_t bin[64];
    for (size_t i = 0; i < sizeof bin; i++) bin[i] = (uint8_t)(i * 37);
    redisReply *r = redis_cmd(cnode[0].port, "CLUSTER KEYSLOT %b", bin, sizeof bin);
    assert_non_null(r);
    assert_int_equal(kv_redis_cluster_slot(bin, sizeof bin), r->integer);
    freeReplyObject(r);
}

static void test_cluster_semantics(void **state) {
    (void)state;
    kv *s = open_cluster();
    check_semantics(s, "cl");
    check_binary(s, "cl");
    check_semantics(s, "{tagged}"); /* everything in one slot too */
    kv_redis_counters c;
    kv_redis_stats(s, &c);
    assert_int_equal(c.wait_short, 0);
    close_kv(s);
}

static void test_cluster_lost_update(void **state) {
    (void)state;
    kv *s = open_cluster();
    check_lost_update(s, "cluster/counter", 8, 250);
    close_kv(s);
}

static void test_cluster_mget(void **state) {
    (void)state;
    kv *s = open_cluster();
    check_mget(s, "cmg", 3);
    check_mget(s, "{cmg-one-slot}", 1); /* hash tag: one slot, one node */
    close_kv(s);
}

static void test_cluster_spread_and_seed(void **state) {
    (void)state;
    slot_range rg[16];
    int n = cluster_ranges(cnode[0].port, rg, 16);
    assert_int_equal(n, 3);
    /* seed with a replica only: the map comes from CLUSTER SLOTS anyway */
    char url[128];
    snprintf(url, sizeof url, "redis-cluster://127.0.0.1:%d", rg[0].replica_port);
    kv *s = open_url(url);
    long long before[3];
    for (int i = 0; i < 3; i++) before[i] = redis_int(rg[i].master_port, "DBSIZE");
    const int total = 3000;
    for (int i = 0; i < total; i++) {
        char k[64];
        snprintf(k, sizeof k, "cspread/%d", i);
        put_ok(s, k, "y");
    }
    long long sum = 0;
    for (int i = 0; i < 3; i++) {
        long long added = redis_int(rg[i].master_port, "DBSIZE") - before[i];
        print_message("master %d (slots %d-%d): %lld of %d keys\n", rg[i].master_port, rg[i].lo,
                      rg[i].hi, added, total);
        assert_true(added > total / 5);
        sum += added;
    }
    assert_int_equal(sum, total);
    expect_text(s, "cspread/1234", "y");
    close_kv(s);
}

static char *node_id(int port) {
    redisReply *r = redis_cmd(port, "CLUSTER MYID");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    char *id = strdup(r->str);
    freeReplyObject(r);
    return id;
}

static void redis_ok(int port, const char *fmt, const char *a, const char *b) {
    redisReply *r = redis_cmd(port, fmt, a, b);
    assert_non_null(r);
    if (r->type == REDIS_REPLY_ERROR) fail_msg("port %d: %s: %s", port, fmt, r->str);
    freeReplyObject(r);
}

/* Moves the slot of "{mv}" to another master by hand (the SETSLOT
 * IMPORTING / MIGRATING / MIGRATE / SETSLOT NODE sequence of the spec) and
 * checks that the backend follows ASK while it migrates and MOVED after. */
static void test_cluster_migration(void **state) {
    (void)state;
    kv *s = open_cluster();
    unsigned slot = kv_redis_cluster_slot("{mv}", 4);
    slot_range rg[16];
    int n = cluster_ranges(cnode[0].port, rg, 16);
    assert_int_equal(n, 3);
    int src = -1, dst = -1;
    for (int i = 0; i < n; i++) {
        if ((int)slot >= rg[i].lo && (int)slot <= rg[i].hi)
            src = rg[i].master_port;
        else if (dst < 0)
            dst = rg[i].master_port;
    }
    assert_true(src > 0 && dst > 0);
    char *src_id = node_id(src), *dst_id = node_id(dst);
    char slot_s[16];
    snprintf(slot_s, sizeof slot_s, "%u", slot);

    put_ok(s, "{mv}old", "1");
    put_ok(s, "{mv}old2", "2");
    kv_redis_counters c0, c1, c2;
    kv_redis_stats(s, &c0);

    redis_ok(dst, "CLUSTER SETSLOT %s IMPORTING %s", slot_s, src_id);
    redis_ok(src, "CLUSTER SETSLOT %s MIGRATING %s", slot_s, dst_id);
    /* a new key of a migrating slot goes to the target (ASK) */
    put_ok(s, "{mv}new", "3");
    expect_text(s, "{mv}new", "3");
    assert_int_equal(kv_cas(s, "{mv}new2", 8, NULL, 0, "4", 1), K_OK);
    /* existing keys are still served by the source */
    expect_text(s, "{mv}old", "1");
    /* move one key: now it is only on the target */
    char dst_port_s[16];
    snprintf(dst_port_s, sizeof dst_port_s, "%d", dst);
    redisReply *r = redis_cmd(src, "MIGRATE 127.0.0.1 %s %s 0 5000 KEYS {mv}old", dst_port_s, "");
    assert_non_null(r);
    if (r->type == REDIS_REPLY_ERROR) fail_msg("MIGRATE: %s", r->str);
    freeReplyObject(r);
    expect_text(s, "{mv}old", "1");
    kv_redis_stats(s, &c1);
    assert_true(c1.asks >= c0.asks + 3);
    assert_int_equal(c1.moved, c0.moved);

    /* finish: the rest of the slot, then assign it everywhere */
    r = redis_cmd(src, "MIGRATE 127.0.0.1 %s %s 0 5000 KEYS {mv}old2", dst_port_s, "");
    assert_non_null(r);
    freeReplyObject(r);
    redis_ok(dst, "CLUSTER SETSLOT %s NODE %s", slot_s, dst_id);
    redis_ok(src, "CLUSTER SETSLOT %s NODE %s", slot_s, dst_id);
    for (int i = 0; i < n; i++)
        if (rg[i].master_port != src && rg[i].master_port != dst)
            redis_ok(rg[i].master_port, "CLUSTER SETSLOT %s NODE %s", slot_s, dst_id);
    /* our map still says src: src answers MOVED, we follow and refresh
     * (refreshes are at most one per 100 ms: let the last one age) */
    sleep_ms(150);
    expect_text(s, "{mv}old2", "2");
    kv_redis_stats(s, &c2);
    assert_true(c2.moved >= c1.moved + 1);
    assert_true(c2.refreshes > c1.refreshes);
    uint64_t moved_after = c2.moved;
    expect_text(s, "{mv}old", "1");
    expect_text(s, "{mv}new", "3");
    expect_text(s, "{mv}new2", "4");
    assert_int_equal(kv_cas(s, "{mv}old", 7, "1", 1, "5", 1), K_OK);
    expect_text(s, "{mv}old", "5");
    kv_redis_stats(s, &c2);
    assert_int_equal(c2.moved, moved_after); /* the map is right now */
    /* the new owner really holds the slot's keys */
    r = redis_cmd(dst, "CLUSTER COUNTKEYSINSLOT %s", slot_s);
    assert_non_null(r);
    assert_int_equal(r->integer, 4);
    freeReplyObject(r);
    print_message("migration: %llu ASK and %llu MOVED followed\n",
                  (unsigned long long)(c2.asks - c0.asks),
                  (unsigned long long)(c2.moved - c0.moved));
    free(src_id);
    free(dst_id);
    close_kv(s);
}

/* kv_mget while a slot migrates (keys answered with ASK) and after it moved
 * (MOVED to the whole batch part of that node): those keys go the
 * single-key way, every answer is right, and once the map is refreshed the
 * batch is clean again. */
static void test_cluster_mget_migration(void **state) {
    (void)state;
    kv *s = open_cluster();
    unsigned slot = kv_redis_cluster_slot("{mgmv}", 6);
    slot_range rg[16];
    int n = cluster_ranges(cnode[0].port, rg, 16);
    assert_true(n >= 3);
    int src = -1, dst = -1;
    for (int i = 0; i < n; i++)
        if ((int)slot >= rg[i].lo && (int)slot <= rg[i].hi) src = rg[i].master_port;
    for (int i = 0; i < n && dst < 0; i++)
        if (rg[i].master_port != src) dst = rg[i].master_port;
    assert_true(src > 0 && dst > 0);
    char *src_id = node_id(src), *dst_id = node_id(dst);
    char slot_s[16], dst_port_s[16];
    snprintf(slot_s, sizeof slot_s, "%u", slot);
    snprintf(dst_port_s, sizeof dst_port_s, "%d", dst);

    mg_build(s, "mgmv", 200);
    /* three keys of the migrating slot: moved, staying, absent */
    put_ok(s, "{mgmv}moved", "m");
    put_ok(s, "{mgmv}stays", "s");
    mg_add("{mgmv}moved", 11, K_OK, "m", 1);
    mg_add("{mgmv}stays", 11, K_OK, "s", 1);
    mg_add("{mgmv}absent", 12, K_ENOTFOUND, NULL, 0);
    mg_expect_ok(s);

    redis_ok(dst, "CLUSTER SETSLOT %s IMPORTING %s", slot_s, src_id);
    redis_ok(src, "CLUSTER SETSLOT %s MIGRATING %s", slot_s, dst_id);
    redisReply *r =
        redis_cmd(src, "MIGRATE 127.0.0.1 %s %s 0 5000 KEYS {mgmv}moved", dst_port_s, "");
    assert_non_null(r);
    if (r->type == REDIS_REPLY_ERROR) fail_msg("MIGRATE: %s", r->str);
    freeReplyObject(r);
    kv_redis_counters c0, c1, c2;
    kv_redis_stats(s, &c0);
    mg_expect_ok(s); /* {mgmv}moved and {mgmv}absent: ASK from the source */
    kv_redis_stats(s, &c1);
    print_message("mget during migration: %llu keys retried, %llu ASK\n",
                  (unsigned long long)(c1.mget_retried - c0.mget_retried),
                  (unsigned long long)(c1.asks - c0.asks));
    assert_true(c1.mget_retried - c0.mget_retried >= 2);
    assert_true(c1.asks - c0.asks >= 2);

    /* the rest of the slot: {mgmv}stays and whatever earlier tests left
     * there (a source holding keys refuses to give the slot away) */
    for (int round = 0; round < 100; round++) {
        r = redis_cmd(src, "CLUSTER GETKEYSINSLOT %s 100", slot_s);
        assert_non_null(r);
        size_t left = r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
        for (size_t i = 0; i < left; i++) {
            redisReply *m = redis_cmd(src, "MIGRATE 127.0.0.1 %s %s 0 5000 KEYS %b", dst_port_s, "",
                                      r->element[i]->str, r->element[i]->len);
            assert_non_null(m);
            if (m->type == REDIS_REPLY_ERROR) fail_msg("MIGRATE: %s", m->str);
            freeReplyObject(m);
        }
        freeReplyObject(r);
        if (left == 0) break;
    }
    /* the new owner first, then the old one, then the rest */
    redis_ok(dst, "CLUSTER SETSLOT %s NODE %s", slot_s, dst_id);
    redis_ok(src, "CLUSTER SETSLOT %s NODE %s", slot_s, dst_id);
    for (int i = 0; i < n; i++)
        if (rg[i].master_port != src && rg[i].master_port != dst)
            redis_ok(rg[i].master_port, "CLUSTER SETSLOT %s NODE %s", slot_s, dst_id);
    sleep_ms(150); /* let the last map refresh age (at most one per 100 ms) */
    kv_redis_stats(s, &c1);
    mg_expect_ok(s); /* the map still says src: MOVED */
    kv_redis_stats(s, &c2);
    print_message("mget after the move: %llu keys retried, %llu MOVED\n",
                  (unsigned long long)(c2.mget_retried - c1.mget_retried),
                  (unsigned long long)(c2.moved - c1.moved));
    assert_true(c2.mget_retried - c1.mget_retried >= 3);
    assert_true(c2.moved > c1.moved);
    kv_redis_stats(s, &c1);
    kerr call;
    assert_int_equal(mg_verify(s, &call), 0);
    assert_int_equal(call, K_OK);
    kv_redis_stats(s, &c2);
    assert_int_equal(c2.mget_retried, c1.mget_retried); /* the map is right now */
    free(src_id);
    free(dst_id);
    close_kv(s);
}

/* Default cluster policy: acknowledged only once a replica has it. A paused
 * replica makes WAIT time out, and the write is not acknowledged. */
static void test_cluster_wait_needs_replica(void **state) {
    (void)state;
    char url[600];
    snprintf(url, sizeof url, "%s?wait_timeout_ms=300", cluster_url);
    kv *s = open_url(url);
    slot_range rg[16];
    assert_true(cluster_ranges(cnode[0].port, rg, 16) >= 3);
    /* a key owned by the first range's master */
    char key[32];
    for (int i = 0;; i++) {
        snprintf(key, sizeof key, "wr/%d", i);
        int slot = (int)kv_redis_cluster_slot(key, strlen(key));
        if (slot >= rg[0].lo && slot <= rg[0].hi) break;
    }
    put_ok(s, key, "before");
    redis_proc *replica = proc_by_port(rg[0].replica_port);
    assert_non_null(replica);
    redis_kill(replica, SIGSTOP);
    double t0 = now_s();
    kerr e = kv_put(s, key, strlen(key), "during", 6);
    double took = now_s() - t0;
    redis_kill(replica, SIGCONT);
    assert_int_equal(e, K_EUNAVAILABLE);
    assert_true(took < 2.0);
    kv_redis_counters c;
    kv_redis_stats(s, &c);
    assert_int_equal(c.wait_short, 1);
    /* explicit wait=2 can never be met with one replica per master */
    kv *two = NULL;
    snprintf(url, sizeof url, "%s?wait=2&wait_timeout_ms=100", cluster_url);
    two = open_url(url);
    assert_int_equal(kv_put(two, key, strlen(key), "x", 1), K_EUNAVAILABLE);
    close_kv(two);
    /* with the replica back, writes are acknowledged again */
    double end = now_s() + 10;
    while ((e = kv_put(s, key, strlen(key), "after", 5)) != K_OK && now_s() < end) sleep_ms(50);
    assert_int_equal(e, K_OK);
    expect_text(s, key, "after");
    close_kv(s);
}

/* ---- failover --------------------------------------------------------------------- */

#define FO_WRITERS 4
#define FO_MAX 200000

typedef struct fo_writer {
    kv *s;
    int id;
    atomic_bool *stop;
    uint8_t *acked; /* acked[i]: put of key i returned K_OK */
    int written;
    long refused;
    double slowest_failure;
} fo_writer;

static void fo_key(char *buf, size_t cap, int writer, int i) {
    snprintf(buf, cap, "fo/%d/%d", writer, i);
}

static void *fo_writer_main(void *arg) {
    fo_writer *w = arg;
    for (int i = 0; i < FO_MAX && !atomic_load(w->stop); i++) {
        char k[48];
        fo_key(k, sizeof k, w->id, i);
        double t0 = now_s();
        kerr e = kv_put(w->s, k, strlen(k), k, strlen(k));
        if (e == K_OK) {
            w->acked[i] = 1;
        } else {
            w->refused++;
            double took = now_s() - t0;
            if (took > w->slowest_failure) w->slowest_failure = took;
        }
        w->written = i + 1;
        sleep_ms(2);
    }
    return NULL;
}

/* Reads a fixed key set with kv_mget during the failover: each call must
 * answer every key right or fail as a whole, never answer wrongly. */
typedef struct fo_reader {
    kv *s;
    atomic_bool *stop;
    long ok_calls, failed_calls, wrong;
    double slowest_failure;
} fo_reader;

static void *fo_reader_main(void *arg) {
    fo_reader *r = arg;
    while (!atomic_load(r->stop)) {
        double t0 = now_s();
        kerr call;
        size_t bad = mg_verify(r->s, &call);
        if (call == K_OK) {
            r->ok_calls++;
            r->wrong += (long)bad;
        } else {
            r->failed_calls++;
            double took = now_s() - t0;
            if (took > r->slowest_failure) r->slowest_failure = took;
        }
        sleep_ms(50); /* light: the writers' acknowledged count is checked */
    }
    return NULL;
}

static void test_cluster_failover(void **state) {
    (void)state;
    kv *s = open_url(cluster_url);
    mg_build(s, "fo/mg", 60); /* keys on every master */
    mg_expect_ok(s);
    /* ranges, not masters: the migration test left the {mv} slot apart */
    slot_range rg[16];
    int n_ranges = cluster_ranges(cnode[0].port, rg, 16);
    assert_true(n_ranges >= 3);
    const int victim_port = rg[1].master_port, heir_port = rg[1].replica_port;
    char probe[48];
    for (int i = 0;; i++) {
        snprintf(probe, sizeof probe, "probe/%d", i);
        int slot = (int)kv_redis_cluster_slot(probe, strlen(probe));
        if (slot >= rg[1].lo && slot <= rg[1].hi) break;
    }
    put_ok(s, probe, "p0");

    atomic_bool stop = false;
    fo_writer w[FO_WRITERS];
    pthread_t th[FO_WRITERS];
    for (int i = 0; i < FO_WRITERS; i++) {
        w[i] = (fo_writer){.s = s, .id = i, .stop = &stop, .acked = calloc(FO_MAX, 1)};
        assert_non_null(w[i].acked);
        pthread_create(&th[i], NULL, fo_writer_main, &w[i]);
    }
    fo_reader rd = {.s = s, .stop = &stop};
    pthread_t rth;
    pthread_create(&rth, NULL, fo_reader_main, &rd);
    sleep_ms(700);

    redis_proc *master = proc_by_port(victim_port);
    assert_non_null(master);
    double t_kill = now_s();
    redis_kill(master, SIGKILL);

    /* the killed master's slots: how long until a write is acknowledged? */
    kerr e = K_EUNAVAILABLE;
    int probes = 0;
    while (now_s() - t_kill < 40) {
        e = kv_put(s, probe, strlen(probe), "p1", 2);
        probes++;
        if (e == K_OK) break;
        sleep_ms(10);
    }
    double recovery = now_s() - t_kill;
    sleep_ms(1000); /* keep writing on the new topology */
    atomic_store(&stop, true);
    for (int i = 0; i < FO_WRITERS; i++) pthread_join(th[i], NULL);
    pthread_join(rth, NULL);
    print_message("failover: kv_mget of %zu keys: %ld calls answered, %ld failed whole "
                  "(slowest %.2f s), %ld wrong answers\n",
                  mgs.n, rd.ok_calls, rd.failed_calls, rd.slowest_failure, rd.wrong);
    assert_int_equal(rd.wrong, 0);
    assert_true(rd.ok_calls > 5);
    assert_true(rd.slowest_failure < 5.0);
    mg_expect_ok(s); /* on the new topology */
    assert_int_equal(e, K_OK);
    print_message("failover: master :%d SIGKILLed, writes to its slots acknowledged again "
                  "after %.2f s (%d probes)\n",
                  victim_port, recovery, probes);
    assert_true(recovery <= 15.0);

    /* every acknowledged write survived the loss of its master */
    long acked = 0, refused = 0, lost = 0;
    double slowest = 0;
    kbuf *const b = &scratch; /* freed by release_tracked */
    for (int i = 0; i < FO_WRITERS; i++) {
        refused += w[i].refused;
        if (w[i].slowest_failure > slowest) slowest = w[i].slowest_failure;
        for (int j = 0; j < w[i].written; j++) {
            if (!w[i].acked[j]) continue;
            acked++;
            char k[48];
            fo_key(k, sizeof k, i, j);
            kerr ge = kv_get(s, k, strlen(k), b);
            if (ge != K_OK || b->len != strlen(k) || memcmp(b->data, k, b->len) != 0) {
                if (lost < 5) print_error("lost acknowledged write %s (%d)\n", k, ge);
                lost++;
            }
        }
        free(w[i].acked);
    }
    kbuf_free(b);
    expect_text(s, probe, "p1");
    kv_redis_counters c;
    kv_redis_stats(s, &c);
    print_message("failover: %ld acknowledged writes verified, %ld refused during the outage "
                  "(slowest refusal %.2f s); %llu map refreshes, %llu connection errors\n",
                  acked, refused, slowest, (unsigned long long)c.refreshes,
                  (unsigned long long)c.conn_errors);
    assert_int_equal(lost, 0);
    /* writers made progress (a sanity floor, not a rate: on a loaded
     * machine a few hundred is normal; the point is that none was lost) */
    assert_true(acked > 100);
    assert_true(refused > 0);   /* the outage was real */
    assert_true(slowest < 5.0); /* refusals are bounded, not hangs */
    /* the replica was promoted: it owns the victim's slots now */
    slot_range now[16];
    int n = cluster_ranges(heir_port, now, 16);
    bool promoted = false;
    for (int i = 0; i < n; i++)
        if (now[i].lo == rg[1].lo && now[i].master_port == heir_port) promoted = true;
    assert_true(promoted);

    /* The old master returns (same port, same dir) and becomes a replica of
     * its heir. Nothing fails, yet the backend must notice by itself (the
     * degraded map is reloaded every second) and require the replica again:
     * with it paused, a write is no longer acknowledged. */
    redis_restart(master);
    double t_back = now_s();
    bool rejoined = false;
    while (!rejoined && now_s() - t_back < 30) {
        n = cluster_ranges(heir_port, now, 16);
        for (int i = 0; i < n; i++)
            if (now[i].master_port == heir_port && now[i].replica_port == victim_port)
                rejoined = true;
        if (!rejoined) sleep_ms(100);
    }
    assert_true(rejoined);
    print_message("failover: old master rejoined as replica after %.2f s\n", now_s() - t_back);
    kerr paused_put = K_OK;
    double t_wait = now_s();
    while (paused_put == K_OK && now_s() - t_wait < 10) {
        redis_kill(master, SIGSTOP);
        paused_put = kv_put(s, probe, strlen(probe), "p2", 2);
        redis_kill(master, SIGCONT);
        if (paused_put == K_OK) sleep_ms(200);
    }
    assert_int_equal(paused_put, K_EUNAVAILABLE);
    print_message("failover: WAIT required again %.2f s after the replica was back\n",
                  now_s() - t_wait);
    e = K_EUNAVAILABLE;
    for (double end = now_s() + 10; e != K_OK && now_s() < end; sleep_ms(50))
        e = kv_put(s, probe, strlen(probe), "p3", 2);
    assert_int_equal(e, K_OK);
    expect_text(s, probe, "p3");
    close_kv(s);
}

static void cleanup_at_exit(void) {
    for (int i = 0; i < N_SHARDS; i++) redis_kill(&shard[i], SIGKILL);
    for (int i = 0; i < N_CLUSTER; i++) {
        if (cnode[i].pid > 0) kill(cnode[i].pid, SIGCONT);
        redis_kill(&cnode[i], SIGKILL);
    }
    if (test_root_owned) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", test_root);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", test_root);
    }
}

int main(void) {
    atexit(cleanup_at_exit);
    /* every test's teardown frees what a failed assertion left behind */
#define T(f) cmocka_unit_test_teardown(f, mg_teardown)
    const struct CMUnitTest offline[] = {
        T(test_url_parsing),
        T(test_hashes),
        T(test_unreachable),
    };
    const struct CMUnitTest persistence[] = {
        T(test_persist_everysec_refused),      T(test_persist_no_aof_refused),
        T(test_persist_rewrite_pause_refused), T(test_persist_unverifiable_refused),
        T(test_persist_checked_on_reconnect),
    };
    const struct CMUnitTest shards[] = {
        T(test_shards_semantics),   T(test_shards_lost_update), T(test_shards_spread),
        T(test_shards_mget),        T(test_shards_mget_outage), T(test_shards_wait_shortfall),
        T(test_shards_hung_server), T(test_shards_outage),
    };
    const struct CMUnitTest cluster[] = {
        T(test_cluster_keyslot),
        T(test_cluster_semantics),
        T(test_cluster_mget),
        T(test_cluster_lost_update),
        T(test_cluster_spread_and_seed),
        T(test_cluster_migration),
        T(test_cluster_mget_migration),
        T(test_cluster_wait_needs_replica),
        T(test_cluster_failover),
    };
#undef T
    /* KURA_TEST_FILTER=test_shards_outage runs that test alone (a glob, as
     * cmocka takes it), e.g. to repeat it: the groups' setups still run. */
    const char *filter = getenv("KURA_TEST_FILTER");
    if (filter && *filter) cmocka_set_test_filter(filter);
    int failed = 0;
    failed += cmocka_run_group_tests_name("redis_offline", offline, NULL, NULL);
    failed += cmocka_run_group_tests_name("redis_persistence", persistence, NULL, NULL);
    failed += cmocka_run_group_tests_name("redis_shards", shards, shards_setup, shards_teardown);
    failed +=
        cmocka_run_group_tests_name("redis_cluster", cluster, cluster_setup, cluster_teardown);
    return failed ? 1 : 0;
}
