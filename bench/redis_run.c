/* SPDX-License-Identifier: Apache-2.0 */
/* radix_bench redis: the tree over 3 real Redis shards, side by side with
 * the simplest Redis alternative, one sorted set per bucket.
 *
 * Both stores get exactly the same names, in the same order, from the same
 * number of client threads:
 *   tree  radix_insert / radix_list over kv_redis (consistent hashing of
 *         node keys over the shards; a node update is one Lua cas);
 *   zset  ZADD <bucket> 0 <name> / ZRANGEBYLEX <bucket> (<start + LIMIT 0
 *         1000, plain hiredis, one connection per thread to the shard that
 *         kv_redis_shard_of would put the bucket key on. The whole bucket is
 *         one Redis key, so it lives on one shard.
 *
 * Measurements, per store:
 *   insert_rate  a fresh bucket per thread count (--threads), --rate-keys
 *                names: inserts/s and per-insert latency;
 *   grow         one bucket grown to each --sizes value with the largest
 *                thread count: inserts/s of that segment, Redis memory per
 *                name (INFO used_memory summed over the shards, difference
 *                from before the bucket existed), Redis and client CPU per
 *                insert;
 *   page         at each size, single client: 1000 entries after a random
 *                existing name; p50/p99/mean latency, kv reads per page.
 *                For the tree twice: on the loading handle (warm hints) and
 *                on a fresh handle per page (cold hints). The tree's and the
 *                sorted set's pages start at the same names and must return
 *                the same entries (checked by count and hash).
 *
 * Unless --url is given, 3 redis-servers are started on free loopback ports
 * (no persistence: --save '' --appendonly no, this is a benchmark) in a
 * temporary directory and stopped at the end; PR_SET_PDEATHSIG kills them
 * if this process dies first.
 */
#include <errno.h>
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"
#include "meta/kv.h"
#include "meta/radix.h"

#define SHARDS 3
#define MAX_SHARDS 16
#define MAX_LIST 8
#define MAX_THREADS 64
#define PAGE_ENTRIES 1000
#define MAX_ROWS 128
/* the servers' directory; a log path inside it must always fit */
#define SERVER_DIR_MAX 256
#define SERVER_PATH_MAX (SERVER_DIR_MAX + 32)

typedef struct shard {
    char host[64];
    int port;
    pid_t pid; /* 0: not started by us */
} shard;

typedef struct redis_opts {
    uint64_t sizes[MAX_LIST];
    size_t nsizes;
    uint64_t threads[MAX_LIST];
    size_t nthreads;
    uint64_t rate_keys, pages, cold_pages, seed;
    name_shape shape;
    const char *url; /* external servers, NULL: start our own */
    bool tree, zset;
} redis_opts;

static int g_failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "radix_bench: CHECK FAILED: " __VA_ARGS__);                            \
            fputc('\n', stderr);                                                                   \
            g_failures++;                                                                          \
        }                                                                                          \
    } while (0)

/* ---- redis-server processes ---------------------------------------------- */

static bool port_free(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return false;
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static redisContext *connect_shard(const shard *s) {
    struct timeval tv = {.tv_sec = 2, .tv_usec = 0};
    redisContext *c = redisConnectWithTimeout(s->host, s->port, tv);
    if (c && c->err) {
        redisFree(c);
        return NULL;
    }
    if (c) redisSetTimeout(c, (struct timeval){.tv_sec = 30, .tv_usec = 0});
    return c;
}

static bool shard_pong(const shard *s) {
    redisContext *c = connect_shard(s);
    if (!c) return false;
    redisReply *r = redisCommand(c, "PING");
    bool ok = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
    if (r) freeReplyObject(r);
    redisFree(c);
    return ok;
}

static bool spawn_server(shard *s, const char *dir) {
    char port[16], logfile[SERVER_PATH_MAX];
    snprintf(port, sizeof port, "%d", s->port);
    snprintf(logfile, sizeof logfile, "%s/redis-%d.log", dir, s->port);
    const char *argv[] = {"redis-server", "--port",      port, "--bind",
                          "127.0.0.1",    "--save",      "",   "--appendonly",
                          "no",           "--dir",       dir,  "--logfile",
                          logfile,        "--daemonize", "no", NULL};
    pid_t pid = fork();
    if (pid < 0) return false;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the benchmark */
        execvp("redis-server", (char *const *)argv);
        _exit(127);
    }
    s->pid = pid;
    for (int i = 0; i < 200; i++) { /* up to 10 s */
        if (shard_pong(s)) return true;
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            s->pid = 0;
            return false;
        }
        usleep(50000);
    }
    return false;
}

static void stop_server(shard *s) {
    if (s->pid <= 0) return;
    kill(s->pid, SIGTERM);
    for (int i = 0; i < 100; i++) { /* up to 5 s, then force */
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
            s->pid = 0;
            return;
        }
        usleep(50000);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
}

static bool start_servers(shard *sh, int n, char *dir, size_t dirlen) {
    snprintf(dir, dirlen, "%s/radix-bench-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) {
        perror("radix_bench: mkdtemp");
        return false;
    }
    unsigned seed = (unsigned)getpid() ^ (unsigned)time(NULL);
    for (int i = 0; i < n; i++) {
        snprintf(sh[i].host, sizeof sh[i].host, "127.0.0.1");
        bool started = false;
        for (int attempt = 0; attempt < 20 && !started; attempt++) {
            int port = 20000 + (int)(rand_r(&seed) % 20000);
            if (!port_free(port)) continue;
            sh[i].port = port;
            started = spawn_server(&sh[i], dir);
            if (!started) stop_server(&sh[i]);
        }
        if (!started) {
            fprintf(stderr, "radix_bench: could not start redis-server (log in %s)\n", dir);
            for (int k = 0; k < i; k++) stop_server(&sh[k]);
            return false;
        }
    }
    return true;
}

static void remove_dir(const char *dir, const shard *sh, int n) {
    for (int i = 0; i < n; i++) {
        char path[SERVER_PATH_MAX];
        snprintf(path, sizeof path, "%s/redis-%d.log", dir, sh[i].port);
        unlink(path);
    }
    if (rmdir(dir) != 0) fprintf(stderr, "radix_bench: left %s behind\n", dir);
}

/* "redis://h:p,h:p" -> shards (only the plain form, which is all we need). */
static int parse_url_shards(const char *url, shard *sh, int cap) {
    const char *p = strncmp(url, "redis://", 8) == 0 ? url + 8 : NULL;
    if (!p) return 0;
    int n = 0;
    while (*p && *p != '?' && n < cap) {
        size_t len = strcspn(p, ",?");
        char item[128];
        if (len == 0 || len >= sizeof item) return 0;
        memcpy(item, p, len);
        item[len] = '\0';
        char *colon = strrchr(item, ':');
        if (!colon || (size_t)(colon - item) >= sizeof sh[n].host) return 0;
        *colon = '\0';
        memcpy(sh[n].host, item, (size_t)(colon - item) + 1);
        sh[n].port = atoi(colon + 1);
        sh[n].pid = 0;
        n++;
        p += len;
        if (*p == ',') p++;
    }
    return n;
}

/* ---- INFO figures -------------------------------------------------------- */

/* The value of an INFO field on one shard, copied to out; false if absent. */
static bool info_field(const shard *s, const char *section, const char *field, char *out,
                       size_t cap) {
    bool found = false;
    size_t flen = strlen(field);
    redisContext *c = connect_shard(s);
    if (!c) return false;
    redisReply *r = redisCommand(c, "INFO %s", section);
    if (r && r->type == REDIS_REPLY_STRING) {
        for (const char *line = r->str; line && *line && !found;) {
            if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
                size_t vlen = strcspn(line + flen + 1, "\r\n");
                snprintf(out, cap, "%.*s", (int)vlen, line + flen + 1);
                found = true;
            }
            line = strchr(line, '\n');
            if (line) line++;
        }
    }
    if (r) freeReplyObject(r);
    redisFree(c);
    return found;
}

/* Sum over the shards of a numeric INFO field (e.g. "used_memory"). */
static double info_sum(const shard *sh, int n, const char *section, const char *field) {
    double total = 0;
    for (int i = 0; i < n; i++) {
        char value[64];
        if (info_field(&sh[i], section, field, value, sizeof value)) total += strtod(value, NULL);
    }
    return total;
}

static double redis_cpu_s(const shard *sh, int n) {
    return info_sum(sh, n, "cpu", "used_cpu_user") + info_sum(sh, n, "cpu", "used_cpu_sys");
}

static double redis_memory(const shard *sh, int n) {
    return info_sum(sh, n, "memory", "used_memory");
}

/* Per-command totals from INFO commandstats, summed over the shards. */
typedef struct cmd_total {
    char name[32];
    double calls, usec;
} cmd_total;

typedef struct cmd_totals {
    cmd_total cmd[48];
    int n;
} cmd_totals;

static cmd_total *cmd_slot(cmd_totals *t, const char *name, size_t len) {
    for (int i = 0; i < t->n; i++)
        if (strlen(t->cmd[i].name) == len && memcmp(t->cmd[i].name, name, len) == 0)
            return &t->cmd[i];
    if (t->n == (int)(sizeof t->cmd / sizeof t->cmd[0]) || len >= sizeof t->cmd[0].name)
        return NULL;
    cmd_total *c = &t->cmd[t->n++];
    memcpy(c->name, name, len);
    c->name[len] = '\0';
    c->calls = c->usec = 0;
    return c;
}

/* Lines look like "cmdstat_get:calls=12,usec=34,usec_per_call=2.83,...". */
static void cmd_totals_take(const shard *sh, int n, cmd_totals *out) {
    out->n = 0;
    for (int i = 0; i < n; i++) {
        redisContext *c = connect_shard(&sh[i]);
        if (!c) continue;
        redisReply *r = redisCommand(c, "INFO commandstats");
        if (r && r->type == REDIS_REPLY_STRING) {
            for (const char *line = strstr(r->str, "cmdstat_"); line;
                 line = strstr(line + 1, "cmdstat_")) {
                const char *name = line + 8, *colon = strchr(name, ':');
                const char *calls = colon ? strstr(colon, "calls=") : NULL;
                const char *usec = colon ? strstr(colon, ",usec=") : NULL;
                if (!calls || !usec) break;
                cmd_total *t = cmd_slot(out, name, (size_t)(colon - name));
                if (!t) continue;
                t->calls += strtod(calls + 6, NULL);
                t->usec += strtod(usec + 6, NULL);
            }
        }
        if (r) freeReplyObject(r);
        redisFree(c);
    }
}

/* The commands a store ran between two snapshots, with their Redis-side
 * execution time per call (the command itself, without network I/O). */
static void cmd_totals_report(const char *store, const cmd_totals *before,
                              const cmd_totals *after) {
    static const char *const bookkeeping[] = {"info",   "ping",    "script", "config",
                                              "client", "command", "hello"};
    for (int i = 0; i < after->n; i++) {
        const cmd_total *a = &after->cmd[i];
        bool skip = false;
        size_t base = strcspn(a->name, "|"); /* "script|load" is a "script" */
        for (size_t k = 0; k < sizeof bookkeeping / sizeof bookkeeping[0]; k++)
            if (strlen(bookkeeping[k]) == base && memcmp(a->name, bookkeeping[k], base) == 0)
                skip = true;
        double calls = a->calls, usec = a->usec;
        for (int j = 0; j < before->n; j++) {
            if (strcmp(before->cmd[j].name, a->name) == 0) {
                calls -= before->cmd[j].calls;
                usec -= before->cmd[j].usec;
            }
        }
        if (skip || calls < 1) continue;
        printf("RESULT mode=redis store=%s what=commandstats cmd=%s calls=%.0f "
               "usec_per_call=%.2f\n",
               store, a->name, calls, usec / calls);
    }
}

/* Redis execution time of the commands clients sent between two snapshots
 * (microseconds, network I/O excluded). Commands run by the cas script are
 * counted by Redis as well: SET/DEL only ever come from the script here, and
 * each script run does one GET, so those are taken out to count every
 * client request once. */
static double cmd_exec_usec(const cmd_totals *before, const cmd_totals *after) {
    double usec = 0, scripts = 0, get_calls = 0, get_usec = 0;
    for (int i = 0; i < after->n; i++) {
        const cmd_total *a = &after->cmd[i];
        double calls = a->calls, us = a->usec;
        for (int j = 0; j < before->n; j++) {
            if (strcmp(before->cmd[j].name, a->name) == 0) {
                calls -= before->cmd[j].calls;
                us -= before->cmd[j].usec;
            }
        }
        size_t base = strcspn(a->name, "|");
        if (strcmp(a->name, "set") == 0 || strcmp(a->name, "del") == 0 || base != strlen(a->name) ||
            strcmp(a->name, "info") == 0 || strcmp(a->name, "ping") == 0)
            continue;
        if (strcmp(a->name, "evalsha") == 0 || strcmp(a->name, "eval") == 0) scripts += calls;
        if (strcmp(a->name, "get") == 0) {
            get_calls = calls;
            get_usec = us;
        }
        usec += us;
    }
    if (get_calls > 0 && scripts > 0)
        usec -= get_usec * (scripts < get_calls ? scripts : get_calls) / get_calls;
    return usec;
}

static double client_cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* ---- the two stores ------------------------------------------------------ */

typedef enum store_kind { STORE_TREE, STORE_ZSET } store_kind;

typedef struct bench_env {
    const redis_opts *o;
    shard *sh;
    int nshards;
    kv *store;
    radix *tree;
    char tag[16]; /* keeps bucket names of runs on shared servers apart */
} bench_env;

/* The bucket: a tree namespace, or the sorted set's key "z:" + bucket. */
static void bucket_name(const bench_env *e, store_kind k, const char *what, char *out, size_t cap) {
    snprintf(out, cap, "%s%s-%s", k == STORE_ZSET ? "z:" : "", what, e->tag);
}

static const shard *zset_shard(const bench_env *e, const char *key) {
    int i = kv_redis_shard_of(e->store, key, strlen(key));
    return &e->sh[i >= 0 && i < e->nshards ? i : 0];
}

typedef struct load_job {
    const bench_env *e;
    store_kind kind;
    const char *bucket;
    const permutation *perm;
    uint64_t from, to;
    _Atomic uint64_t next;
    _Atomic uint64_t errors;
    double *lat_us; /* [to - from] */
} load_job;

static void *load_worker(void *arg) {
    load_job *j = arg;
    const bench_env *e = j->e;
    redisContext *c = NULL;
    if (j->kind == STORE_ZSET && !(c = connect_shard(zset_shard(e, j->bucket)))) {
        atomic_fetch_add(&j->errors, 1);
        return NULL;
    }
    size_t blen = strlen(j->bucket);
    for (;;) {
        uint64_t i = atomic_fetch_add(&j->next, 1);
        if (i >= j->to) break;
        char name[BENCH_NAME_MAX];
        size_t len = shape_name(e->o->shape, perm_at(j->perm, i), name);
        uint64_t t0 = now_ns();
        bool ok;
        if (j->kind == STORE_TREE) {
            ok = radix_insert(e->tree, j->bucket, blen, name, len) == K_OK;
        } else {
            redisReply *r = redisCommand(c, "ZADD %b 0 %b", j->bucket, blen, name, len);
            ok = r && r->type == REDIS_REPLY_INTEGER;
            if (r) freeReplyObject(r);
        }
        j->lat_us[i - j->from] = (double)(now_ns() - t0) / 1000.0;
        if (!ok) atomic_fetch_add(&j->errors, 1);
    }
    if (c) redisFree(c);
    return NULL;
}

typedef struct load_result {
    uint64_t keys;
    double secs, per_s, p50_us, p99_us, redis_cpu_us, client_cpu_us, redis_exec_us;
} load_result;

/* Inserts names perm[from..to) into bucket with nthreads threads. */
static load_result run_load(const bench_env *e, store_kind kind, const char *bucket,
                            const permutation *perm, uint64_t from, uint64_t to,
                            unsigned nthreads) {
    load_job j = {.e = e, .kind = kind, .bucket = bucket, .perm = perm, .from = from, .to = to};
    atomic_init(&j.next, from);
    atomic_init(&j.errors, 0);
    j.lat_us = calloc(to - from + 1, sizeof *j.lat_us);
    if (!j.lat_us) abort();
    pthread_t th[MAX_THREADS];
    cmd_totals cmd0, cmd1;
    cmd_totals_take(e->sh, e->nshards, &cmd0);
    double rcpu0 = redis_cpu_s(e->sh, e->nshards), ccpu0 = client_cpu_s();
    uint64_t t0 = now_ns();
    for (unsigned k = 0; k < nthreads; k++) pthread_create(&th[k], NULL, load_worker, &j);
    for (unsigned k = 0; k < nthreads; k++) pthread_join(th[k], NULL);
    load_result r = {.keys = to - from, .secs = (double)(now_ns() - t0) / 1e9};
    double rcpu = redis_cpu_s(e->sh, e->nshards) - rcpu0, ccpu = client_cpu_s() - ccpu0;
    cmd_totals_take(e->sh, e->nshards, &cmd1);
    r.redis_exec_us = r.keys ? cmd_exec_usec(&cmd0, &cmd1) / (double)r.keys : 0;
    r.per_s = r.secs > 0 ? (double)r.keys / r.secs : 0;
    r.redis_cpu_us = r.keys ? rcpu * 1e6 / (double)r.keys : 0;
    r.client_cpu_us = r.keys ? ccpu * 1e6 / (double)r.keys : 0;
    sort_doubles(j.lat_us, r.keys);
    r.p50_us = quantile_sorted(j.lat_us, r.keys, 0.5);
    r.p99_us = quantile_sorted(j.lat_us, r.keys, 0.99);
    uint64_t errors = atomic_load(&j.errors);
    CHECK(errors == 0, "%s: %llu failed inserts into %s", kind == STORE_TREE ? "tree" : "zset",
          (unsigned long long)errors, bucket);
    free(j.lat_us);
    return r;
}

/* ---- pages --------------------------------------------------------------- */

typedef struct page_digest {
    uint64_t entries, hash;
} page_digest;

static void digest_add(page_digest *d, const void *entry, size_t len) {
    uint64_t h = d->hash ^ 0xCBF29CE484222325ULL; /* FNV-1a over the entries, in order */
    const uint8_t *p = entry;
    for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * 0x100000001B3ULL;
    d->hash = mix64(h + len);
    d->entries++;
}

static int tree_sink(void *ctx, const void *entry, size_t len, bool is_prefix) {
    (void)is_prefix;
    digest_add(ctx, entry, len);
    return 0;
}

typedef struct page_result {
    uint64_t pages;
    double p50_us, p99_us, mean_us, reads_per_page, root_reads_per_page, entries_per_page;
    double redis_cpu_us, client_cpu_us, redis_exec_us;
} page_result;

/* count pages after random existing names (indexes perm[0..loaded)); each
 * page's digest goes to digests[k] (compared between the stores). */
static page_result run_pages(const bench_env *e, store_kind kind, bool cold, const char *bucket,
                             const permutation *perm, uint64_t loaded, uint64_t count,
                             uint64_t seed, page_digest *digests) {
    rng r;
    rng_seed(&r, seed);
    double *lat = calloc(count + 1, sizeof *lat);
    if (!lat) abort();
    redisContext *c = kind == STORE_ZSET ? connect_shard(zset_shard(e, bucket)) : NULL;
    CHECK(kind == STORE_TREE || c, "zset: cannot connect");
    size_t blen = strlen(bucket);
    uint64_t reads = 0, root_reads = 0, entries = 0;
    cmd_totals cmd0, cmd1;
    cmd_totals_take(e->sh, e->nshards, &cmd0);
    double rcpu0 = redis_cpu_s(e->sh, e->nshards), ccpu0 = client_cpu_s();
    for (uint64_t k = 0; k < count; k++) {
        char name[BENCH_NAME_MAX];
        size_t len = shape_name(e->o->shape, perm_at(perm, rng_below(&r, loaded)), name);
        page_digest d = {0};
        radix *t = kind == STORE_TREE ? (cold ? radix_new(e->store) : e->tree) : NULL;
        radix_stats s0 = {0}, s1 = {0};
        if (t) radix_stats_get(t, &s0);
        uint64_t t0 = now_ns();
        if (kind == STORE_TREE) {
            radix_list_req req = {
                .start_after = name, .start_after_len = len, .max_entries = PAGE_ENTRIES};
            bool truncated;
            kerr err = radix_list(t, bucket, blen, &req, tree_sink, &d, &truncated);
            CHECK(err == K_OK, "tree page: error %d", err);
        } else if (c) {
            char start[BENCH_NAME_MAX + 1];
            start[0] = '(';
            memcpy(start + 1, name, len);
            char limit[16];
            snprintf(limit, sizeof limit, "%d", PAGE_ENTRIES);
            const char *argv[] = {"ZRANGEBYLEX", bucket, start, "+", "LIMIT", "0", limit};
            size_t argl[] = {11, blen, len + 1, 1, 5, 1, strlen(limit)};
            redisReply *rep = redisCommandArgv(c, 7, argv, argl);
            CHECK(rep && rep->type == REDIS_REPLY_ARRAY, "zset page failed");
            if (rep && rep->type == REDIS_REPLY_ARRAY)
                for (size_t i = 0; i < rep->elements; i++)
                    digest_add(&d, rep->element[i]->str, rep->element[i]->len);
            if (rep) freeReplyObject(rep);
        }
        lat[k] = (double)(now_ns() - t0) / 1000.0;
        if (t) {
            radix_stats_get(t, &s1);
            reads += s1.node_reads - s0.node_reads;
            root_reads += s1.root_reads - s0.root_reads;
            if (cold) radix_free(t);
        }
        entries += d.entries;
        if (digests) {
            if (digests[k].entries == 0 && digests[k].hash == 0) {
                digests[k] = d;
            } else {
                CHECK(digests[k].entries == d.entries && digests[k].hash == d.hash,
                      "page %llu after %s: tree and zset differ (%llu vs %llu entries)",
                      (unsigned long long)k, name, (unsigned long long)digests[k].entries,
                      (unsigned long long)d.entries);
            }
        }
    }
    page_result pr = {.pages = count};
    double rcpu = redis_cpu_s(e->sh, e->nshards) - rcpu0, ccpu = client_cpu_s() - ccpu0;
    cmd_totals_take(e->sh, e->nshards, &cmd1);
    pr.redis_exec_us = count ? cmd_exec_usec(&cmd0, &cmd1) / (double)count : 0;
    double sum = 0;
    for (uint64_t k = 0; k < count; k++) sum += lat[k];
    sort_doubles(lat, count);
    pr.p50_us = quantile_sorted(lat, count, 0.5);
    pr.p99_us = quantile_sorted(lat, count, 0.99);
    pr.mean_us = count ? sum / (double)count : 0;
    pr.reads_per_page = count ? (double)reads / (double)count : 0;
    pr.root_reads_per_page = count ? (double)root_reads / (double)count : 0;
    pr.entries_per_page = count ? (double)entries / (double)count : 0;
    pr.redis_cpu_us = count ? rcpu * 1e6 / (double)count : 0;
    pr.client_cpu_us = count ? ccpu * 1e6 / (double)count : 0;
    if (c) redisFree(c);
    free(lat);
    return pr;
}

/* ---- reporting ----------------------------------------------------------- */

typedef struct row {
    char store[8], what[16], hints[8];
    uint64_t threads, bucket_keys;
    double per_s, p50_us, p99_us, mean_us, reads, bytes_per_key;
    double redis_exec_us, redis_cpu_us, client_cpu_us;
} row;

static row g_rows[MAX_ROWS];
static size_t g_nrows;

static row *new_row(store_kind k, const char *what, const char *hints) {
    static row spare;
    row *r = g_nrows < MAX_ROWS ? &g_rows[g_nrows++] : &spare;
    memset(r, 0, sizeof *r);
    snprintf(r->store, sizeof r->store, "%s", k == STORE_TREE ? "tree" : "zset");
    snprintf(r->what, sizeof r->what, "%s", what);
    snprintf(r->hints, sizeof r->hints, "%s", hints);
    return r;
}

static void report_load(store_kind k, const char *what, uint64_t threads, uint64_t bucket_keys,
                        const load_result *lr, double bytes_per_key) {
    row *r = new_row(k, what, "-");
    r->threads = threads;
    r->bucket_keys = bucket_keys;
    r->per_s = lr->per_s;
    r->p50_us = lr->p50_us;
    r->p99_us = lr->p99_us;
    r->bytes_per_key = bytes_per_key;
    r->redis_exec_us = lr->redis_exec_us;
    r->redis_cpu_us = lr->redis_cpu_us;
    r->client_cpu_us = lr->client_cpu_us;
    printf("RESULT mode=redis store=%s what=%s threads=%llu bucket_keys=%llu inserted=%llu "
           "secs=%.2f inserts_per_s=%.0f p50_us=%.0f p99_us=%.0f redis_exec_us_per_insert=%.1f "
           "redis_cpu_us_per_insert=%.1f "
           "client_cpu_us_per_insert=%.1f",
           r->store, what, (unsigned long long)threads, (unsigned long long)bucket_keys,
           (unsigned long long)lr->keys, lr->secs, lr->per_s, lr->p50_us, lr->p99_us,
           lr->redis_exec_us, lr->redis_cpu_us, lr->client_cpu_us);
    if (bytes_per_key > 0) printf(" redis_bytes_per_key=%.1f", bytes_per_key);
    printf("\n");
}

static void report_pages(store_kind k, const char *hints, uint64_t bucket_keys,
                         const page_result *pr) {
    row *r = new_row(k, "page", hints);
    r->threads = 1;
    r->bucket_keys = bucket_keys;
    r->p50_us = pr->p50_us;
    r->p99_us = pr->p99_us;
    r->mean_us = pr->mean_us;
    r->reads = k == STORE_TREE ? pr->reads_per_page : 1;
    r->redis_exec_us = pr->redis_exec_us;
    r->redis_cpu_us = pr->redis_cpu_us;
    r->client_cpu_us = pr->client_cpu_us;
    printf("RESULT mode=redis store=%s what=page hints=%s bucket_keys=%llu pages=%llu "
           "entries_per_page=%.1f p50_us=%.0f p99_us=%.0f mean_us=%.0f kv_reads_per_page=%.2f "
           "root_reads_per_page=%.3f redis_exec_us_per_page=%.1f redis_cpu_us_per_page=%.1f "
           "client_cpu_us_per_page=%.1f\n",
           r->store, hints, (unsigned long long)bucket_keys, (unsigned long long)pr->pages,
           pr->entries_per_page, pr->p50_us, pr->p99_us, pr->mean_us, r->reads,
           pr->root_reads_per_page, pr->redis_exec_us, pr->redis_cpu_us, pr->client_cpu_us);
}

static void print_table(void) {
    printf("\n%-5s %-11s %-5s %4s %9s %10s %8s %8s %8s %8s %8s %8s %8s %8s\n", "store", "what",
           "hints", "thr", "bucket", "inserts/s", "p50 us", "p99 us", "mean us", "rd/page", "B/key",
           "rexec us", "rcpu us", "ccpu us");
    for (size_t i = 0; i < g_nrows; i++) {
        const row *r = &g_rows[i];
        char per_s[16] = "-", mean[16] = "-", reads[16] = "-", bytes[16] = "-";
        if (r->per_s > 0) snprintf(per_s, sizeof per_s, "%.0f", r->per_s);
        if (r->mean_us > 0) snprintf(mean, sizeof mean, "%.0f", r->mean_us);
        if (r->reads > 0) snprintf(reads, sizeof reads, "%.1f", r->reads);
        if (r->bytes_per_key > 0) snprintf(bytes, sizeof bytes, "%.0f", r->bytes_per_key);
        printf("%-5s %-11s %-5s %4llu %9llu %10s %8.0f %8.0f %8s %8s %8s %8.1f %8.1f %8.1f\n",
               r->store, r->what, r->hints, (unsigned long long)r->threads,
               (unsigned long long)r->bucket_keys, per_s, r->p50_us, r->p99_us, mean, reads, bytes,
               r->redis_exec_us, r->redis_cpu_us, r->client_cpu_us);
    }
}

/* ---- one store's whole run ----------------------------------------------- */

static void run_store(const bench_env *e, store_kind kind, page_digest **digests) {
    const redis_opts *o = e->o;
    const char *label = kind == STORE_TREE ? "tree" : "zset";
    cmd_totals cmds_before, cmds_after;
    cmd_totals_take(e->sh, e->nshards, &cmds_before);
    uint64_t max_threads = 1;
    for (size_t i = 0; i < o->nthreads; i++)
        if (o->threads[i] > max_threads) max_threads = o->threads[i];

    /* insert rate: a fresh bucket per thread count */
    permutation rate_perm;
    perm_init(&rate_perm, o->rate_keys, o->seed + 1);
    for (size_t i = 0; i < o->nthreads; i++) {
        char what[32], bucket[64];
        snprintf(what, sizeof what, "rate%llu", (unsigned long long)o->threads[i]);
        bucket_name(e, kind, what, bucket, sizeof bucket);
        load_result lr =
            run_load(e, kind, bucket, &rate_perm, 0, o->rate_keys, (unsigned)o->threads[i]);
        report_load(kind, "insert_rate", o->threads[i], o->rate_keys, &lr, 0);
    }

    /* one bucket grown through every size */
    uint64_t largest = o->sizes[o->nsizes - 1];
    permutation perm;
    perm_init(&perm, largest, o->seed + 2);
    char bucket[64];
    bucket_name(e, kind, "big", bucket, sizeof bucket);
    double mem0 = redis_memory(e->sh, e->nshards);
    uint64_t loaded = 0;
    for (size_t s = 0; s < o->nsizes; s++) {
        uint64_t size = o->sizes[s];
        fprintf(stderr, "%s: growing %s to %llu names\n", label, bucket, (unsigned long long)size);
        load_result lr = run_load(e, kind, bucket, &perm, loaded, size, (unsigned)max_threads);
        loaded = size;
        double bytes_per_key = (redis_memory(e->sh, e->nshards) - mem0) / (double)size;
        report_load(kind, "grow", max_threads, size, &lr, bytes_per_key);
        uint64_t seed = o->seed * 1000003 + s;
        page_result pr =
            run_pages(e, kind, false, bucket, &perm, loaded, o->pages, seed, digests[s]);
        report_pages(kind, kind == STORE_TREE ? "warm" : "-", size, &pr);
        if (kind == STORE_TREE) {
            pr = run_pages(e, kind, true, bucket, &perm, loaded, o->cold_pages, seed, NULL);
            report_pages(kind, "cold", size, &pr);
        }
    }
    cmd_totals_take(e->sh, e->nshards, &cmds_after);
    cmd_totals_report(label, &cmds_before, &cmds_after);
}

/* ---- options and main ---------------------------------------------------- */

static void usage(void) {
    fprintf(stderr,
            "usage: radix_bench redis [--sizes 10k,100k,1M] [--threads 1,16] [--rate-keys N]\n"
            "                         [--pages N] [--cold-pages N] [--shape S] [--seed S]\n"
            "                         [--url redis://H:P,H:P,H:P] [--only tree|zset]\n"
            "  --sizes       bucket sizes at which pages are measured (default 10k,100k,1M)\n"
            "  --threads     client thread counts for the insert rate (default 1,16); the\n"
            "                largest also grows the big bucket\n"
            "  --rate-keys   names per insert-rate bucket (default 20000)\n"
            "  --pages       pages per size (default 1000; tree warm and zset)\n"
            "  --cold-pages  tree pages per size on a fresh handle each (default 200)\n"
            "  --shape       flat|deep|numeric|hot (default flat)\n"
            "  --url         use these servers instead of starting 3 (nothing is flushed;\n"
            "                bucket names carry a random tag)\n");
}

static bool parse_redis_opts(int argc, char **argv, redis_opts *o) {
    static const struct option longopts[] = {{"sizes", required_argument, NULL, 'z'},
                                             {"threads", required_argument, NULL, 't'},
                                             {"rate-keys", required_argument, NULL, 'r'},
                                             {"pages", required_argument, NULL, 'p'},
                                             {"cold-pages", required_argument, NULL, 'C'},
                                             {"shape", required_argument, NULL, 's'},
                                             {"seed", required_argument, NULL, 'S'},
                                             {"url", required_argument, NULL, 'u'},
                                             {"only", required_argument, NULL, 'o'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    *o = (redis_opts){.sizes = {10000, 100000, 1000000},
                      .nsizes = 3,
                      .threads = {1, 16},
                      .nthreads = 2,
                      .rate_keys = 20000,
                      .pages = 1000,
                      .cold_pages = 200,
                      .seed = 42,
                      .shape = SHAPE_FLAT,
                      .tree = true,
                      .zset = true};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        bool ok = true;
        switch (ch) {
        case 'z':
            ok = (o->nsizes = parse_u64_list(optarg, o->sizes, MAX_LIST)) > 0;
            break;
        case 't':
            ok = (o->nthreads = parse_u64_list(optarg, o->threads, MAX_LIST)) > 0;
            break;
        case 'r':
            ok = parse_count(optarg, &o->rate_keys) && o->rate_keys > 0;
            break;
        case 'p':
            ok = parse_count(optarg, &o->pages) && o->pages > 0;
            break;
        case 'C':
            ok = parse_count(optarg, &o->cold_pages);
            break;
        case 's':
            ok = shape_parse(optarg, &o->shape);
            break;
        case 'S':
            ok = parse_count(optarg, &o->seed);
            break;
        case 'u':
            o->url = optarg;
            break;
        case 'o':
            o->tree = strcmp(optarg, "tree") == 0;
            o->zset = strcmp(optarg, "zset") == 0;
            ok = o->tree || o->zset;
            break;
        default:
            ok = false;
            break;
        }
        if (!ok) {
            if (ch != 'h') fprintf(stderr, "radix_bench redis: bad option value\n");
            return false;
        }
    }
    for (size_t i = 0; i < o->nthreads; i++)
        if (o->threads[i] < 1 || o->threads[i] > MAX_THREADS) return false;
    for (size_t i = 1; i < o->nsizes; i++)
        if (o->sizes[i] <= o->sizes[i - 1]) return false;
    return optind == argc && o->sizes[0] > 0;
}

int redis_main(int argc, char **argv) {
    redis_opts o;
    if (!parse_redis_opts(argc, argv, &o)) {
        usage();
        return 2;
    }
    print_machine("redis");
    shard sh[MAX_SHARDS];
    int nshards = 0;
    char dir[SERVER_DIR_MAX] = "";
    if (o.url) {
        nshards = parse_url_shards(o.url, sh, MAX_SHARDS);
        if (nshards == 0) {
            fprintf(stderr, "radix_bench: --url must be redis://HOST:PORT[,HOST:PORT...]\n");
            return 2;
        }
    } else {
        if (!start_servers(sh, SHARDS, dir, sizeof dir)) return 1;
        nshards = SHARDS;
    }
    uint64_t max_threads = 1;
    for (size_t i = 0; i < o.nthreads; i++)
        if (o.threads[i] > max_threads) max_threads = o.threads[i];
    /* the kv's connection pool must not make client threads queue */
    char url[1024];
    int n = snprintf(url, sizeof url, "redis://");
    for (int i = 0; i < nshards; i++)
        n += snprintf(url + n, sizeof url - (size_t)n, "%s%s:%d", i ? "," : "", sh[i].host,
                      sh[i].port);
    /* the benchmark's servers run without persistence (see above): tell
     * the backend so, or its strict durability check refuses them */
    snprintf(url + n, sizeof url - (size_t)n, "?pool=%llu&durability=relaxed",
             (unsigned long long)max_threads);
    char version[32] = "?";
    info_field(&sh[0], "server", "redis_version", version, sizeof version);
    printf("RESULT mode=redis what=config redis_version=%s url=%s shape=%s sizes=", version, url,
           shape_label(o.shape));
    for (size_t i = 0; i < o.nsizes; i++)
        printf("%s%llu", i ? "," : "", (unsigned long long)o.sizes[i]);
    printf(" rate_keys=%llu pages=%llu cold_pages=%llu seed=%llu\n",
           (unsigned long long)o.rate_keys, (unsigned long long)o.pages,
           (unsigned long long)o.cold_pages, (unsigned long long)o.seed);

    bench_env e = {.o = &o, .sh = sh, .nshards = nshards};
    snprintf(e.tag, sizeof e.tag, "%04x",
             (unsigned)(mix64(now_ns() ^ (uint64_t)getpid()) & 0xFFFF));
    int rc = 1;
    page_digest *digests[MAX_LIST] = {0};
    if (kv_redis_open(url, &e.store) != K_OK) {
        fprintf(stderr, "radix_bench: kv_redis_open(%s) failed\n", url);
        goto out;
    }
    e.tree = radix_new(e.store);
    for (size_t s = 0; s < o.nsizes; s++) {
        digests[s] = calloc(o.pages, sizeof *digests[s]);
        if (!digests[s]) abort();
    }
    uint64_t t0 = now_ns();
    if (o.tree) run_store(&e, STORE_TREE, digests);
    if (o.zset) run_store(&e, STORE_ZSET, digests);
    kv_redis_counters rc_stats;
    kv_redis_stats(e.store, &rc_stats);
    char load[32];
    load_average(load, sizeof load);
    printf("RESULT mode=redis what=summary total_s=%.1f failures=%d kv_retries=%llu "
           "kv_conn_errors=%llu kv_reconnects=%llu loadavg1=%s\n",
           (double)(now_ns() - t0) / 1e9, g_failures, (unsigned long long)rc_stats.retries,
           (unsigned long long)rc_stats.conn_errors, (unsigned long long)rc_stats.reconnects, load);
    print_table();
    rc = g_failures ? 1 : 0;
out:
    for (size_t s = 0; s < o.nsizes; s++) free(digests[s]);
    radix_free(e.tree);
    kv_close(e.store);
    if (!o.url) {
        for (int i = 0; i < nshards; i++) stop_server(&sh[i]);
        remove_dir(dir, sh, nshards);
    }
    return rc;
}

/* ==== radix_bench listing: one ListObjectsV2 page, before and after batching ====
 *
 * What the gateway does for a 1000-entry page (gateway/objsvc.c,
 * objsvc_list): list the names from the tree, then read each listed name's
 * object record. Here with kura's key layout ("o" + bucket id for the tree,
 * "O" + bucket id + name for records) over 3 Redis shards, in four
 * variants measured on the same pages:
 *   tree   seq   one kv_get per tree node (radix_set_list_prefetch 1)
 *          batch children fetched in batches (kv_mget, the default)
 *   recs   seq   one kv_get per record (kura before issue 6 point 6)
 *          batch one kv_mget for the page's records (objsvc_list now)
 * "before" is seq/seq, "after" batch/batch. The bucket holds items in one
 * directory: even items are objects "item-NNNNNN", odd ones subdirectories
 * of 10 objects "item-NNNNNN/part-NN" (--items 20000: 110,000 objects).
 * Without a delimiter a page is 1000 objects after a random one; with
 * delimiter '/' it is 1000 entries after a random item, half objects and
 * half common prefixes (which need no record). Variants run in interleaved
 * blocks of --block pages (their order rotating) so a busy machine slows
 * them alike; every variant must return the same entries and records
 * (checked by digest). Per page: Redis round trips (kv_redis_counters.
 * round_trips: one per request/reply exchange with one server, so a
 * multi-get over 3 shards counts 3, although they overlap), kv calls (the
 * waits: one per kv_get, one per kv_mget), latency, tree node reads, this
 * thread's CPU (getrusage); Redis CPU per page from INFO around each block.
 * The benchmark's servers run without persistence (reads only are timed).
 */

#define LIST_VARIANTS 4
#define LIST_PAGE 1000
#define LIST_MAX_ITEMS 10000000

typedef struct list_opts {
    uint64_t items, pages, block, seed, record_bytes, threads;
    const char *url;
} list_opts;

/* Forwards to the Redis kv and counts the calls that wait for it: one per
 * kv_get, one per kv_mget however many shards it spans (they are sent to
 * all shards before any reply is read). */
typedef struct calls_kv {
    kv base;
    kv *inner;
    _Atomic uint64_t gets, mgets;
} calls_kv;

static kerr ck_get(kv *s, const void *k, size_t kl, kbuf *v) {
    atomic_fetch_add(&((calls_kv *)s)->gets, 1);
    return kv_get(((calls_kv *)s)->inner, k, kl, v);
}
static kerr ck_put(kv *s, const void *k, size_t kl, const void *v, size_t vl) {
    return kv_put(((calls_kv *)s)->inner, k, kl, v, vl);
}
static kerr ck_del(kv *s, const void *k, size_t kl) {
    return kv_del(((calls_kv *)s)->inner, k, kl);
}
static kerr ck_cas(kv *s, const void *k, size_t kl, const void *e, size_t el, const void *v,
                   size_t vl) {
    return kv_cas(((calls_kv *)s)->inner, k, kl, e, el, v, vl);
}
static void ck_close(kv *s) {
    (void)s; /* the inner kv is closed by its owner */
}
static kerr ck_mget(kv *s, size_t n, const void *const *k, const size_t *kl, kbuf *v, kerr *e) {
    atomic_fetch_add(&((calls_kv *)s)->mgets, 1);
    return kv_mget(((calls_kv *)s)->inner, n, k, kl, v, e);
}
static const kv_ops calls_ops = {.name = "calls",
                                 .get = ck_get,
                                 .put = ck_put,
                                 .del = ck_del,
                                 .cas = ck_cas,
                                 .close = ck_close,
                                 .mget = ck_mget};

typedef struct list_env {
    const list_opts *o;
    shard *sh;
    int nshards;
    kv *store;   /* the Redis kv (its counters) */
    calls_kv ck; /* what the tree and the record reads go through */
    radix *tree;
    uint8_t bid[8]; /* the bucket id: random, so runs on shared servers stay apart */
    uint64_t names; /* objects in the bucket */
} list_env;

/* Object number i in name order: pairs of (object item, directory item of
 * 10 parts) make 11 names. */
static size_t list_name(uint64_t i, char *out) {
    uint64_t pair = i / 11, r = i % 11;
    if (r == 0) return (size_t)snprintf(out, 40, "item-%06llu", (unsigned long long)(2 * pair));
    return (size_t)snprintf(out, 40, "item-%06llu/part-%02llu", (unsigned long long)(2 * pair + 1),
                            (unsigned long long)(r - 1));
}

/* Delimiter listing entry k: item k, an object or a common prefix. */
static size_t list_entry_name(uint64_t k, char *out) {
    if (k % 2 == 0) return (size_t)snprintf(out, 40, "item-%06llu", (unsigned long long)k);
    return (size_t)snprintf(out, 40, "item-%06llu/", (unsigned long long)k);
}

static void list_ns(const list_env *e, uint8_t out[9]) {
    out[0] = 'o';
    memcpy(out + 1, e->bid, 8);
}

static size_t list_rec_key(const list_env *e, const char *name, size_t len, uint8_t *out) {
    out[0] = 'O';
    memcpy(out + 1, e->bid, 8);
    memcpy(out + 9, name, len);
    return 9 + len;
}

/* The record of a name: record_bytes deterministic bytes. */
static void list_record(const list_env *e, const char *name, size_t len, uint8_t *out) {
    uint64_t h = 0x6B757261ULL;
    for (size_t i = 0; i < len; i++) h = mix64(h ^ (uint8_t)name[i]);
    for (uint64_t i = 0; i < e->o->record_bytes; i++) {
        if (i % 8 == 0) h = mix64(h + i);
        out[i] = (uint8_t)(h >> (8 * (i % 8)));
    }
}

typedef struct fill_job {
    const list_env *e;
    permutation perm;
    _Atomic uint64_t next, errors;
} fill_job;

static void *fill_worker(void *arg) {
    fill_job *j = arg;
    const list_env *e = j->e;
    uint8_t ns[9], key[64], *rec = malloc(e->o->record_bytes + 1);
    list_ns(e, ns);
    for (;;) {
        uint64_t i = atomic_fetch_add(&j->next, 1);
        if (i >= e->names) break;
        char name[40];
        size_t len = list_name(perm_at(&j->perm, i), name);
        /* the gateway's order: the name enters the tree, then the record */
        bool ok = radix_insert(e->tree, ns, sizeof ns, name, len) == K_OK;
        list_record(e, name, len, rec);
        size_t kl = list_rec_key(e, name, len, key);
        ok = ok && kv_put(e->store, key, kl, rec, e->o->record_bytes) == K_OK;
        if (!ok) atomic_fetch_add(&j->errors, 1);
    }
    free(rec);
    return NULL;
}

typedef struct list_page_ctx {
    char (*names)[40];
    size_t *lens;
    bool *is_prefix;
    size_t n;
} list_page_ctx;

static int list_sink(void *ctx, const void *entry, size_t len, bool is_prefix) {
    list_page_ctx *c = ctx;
    if (c->n >= LIST_PAGE + 1 || len >= 40) return 1;
    memcpy(c->names[c->n], entry, len);
    c->lens[c->n] = len;
    c->is_prefix[c->n] = is_prefix;
    c->n++;
    return 0;
}

typedef struct list_acc {
    uint64_t pages, entries, records, missing, round_trips, calls, node_reads, batches, unused;
    double *lat_us;
    double client_cpu_s, redis_cpu_s;
} list_acc;

static double thread_cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* One page as objsvc_list reads it; returns its digest (entries and
 * records). variant bit 0: tree batched, bit 1: records batched. */
static page_digest list_one_page(const list_env *e, int variant, bool delim, const char *start,
                                 size_t slen, list_acc *acc) {
    static char names[LIST_PAGE + 1][40];
    static size_t lens[LIST_PAGE + 1], klens[LIST_PAGE + 1];
    static bool is_prefix[LIST_PAGE + 1];
    static uint8_t keybuf[LIST_PAGE + 1][64];
    static const void *keys[LIST_PAGE + 1];
    static kbuf vals[LIST_PAGE + 1];
    static kerr errs[LIST_PAGE + 1];
    page_digest d = {0};
    uint8_t ns[9];
    list_ns(e, ns);
    radix_set_list_prefetch(e->tree, variant & 1 ? RADIX_LIST_PREFETCH : 1);
    kv_redis_counters c0, c1;
    radix_stats s0, s1;
    calls_kv *ck = (calls_kv *)&e->ck;
    uint64_t calls0 = atomic_load(&ck->gets) + atomic_load(&ck->mgets);
    kv_redis_stats(e->store, &c0);
    radix_stats_get(e->tree, &s0);
    double cpu0 = thread_cpu_s();
    uint64_t t0 = now_ns();

    list_page_ctx pc = {.names = names, .lens = lens, .is_prefix = is_prefix};
    radix_list_req req = {.start_after = start,
                          .start_after_len = slen,
                          .delim = delim ? "/" : NULL,
                          .delim_len = delim ? 1 : 0,
                          .max_entries = LIST_PAGE};
    bool truncated;
    kerr err = radix_list(e->tree, ns, sizeof ns, &req, list_sink, &pc, &truncated);
    CHECK(err == K_OK, "listing: radix_list error %d", err);
    size_t nk = 0;
    for (size_t i = 0; i < pc.n; i++) {
        if (is_prefix[i]) continue;
        klens[nk] = list_rec_key(e, names[i], lens[i], keybuf[nk]);
        keys[nk] = keybuf[nk];
        nk++;
    }
    kv *rs = &ck->base;
    if (variant & 2) {
        err = kv_mget(rs, nk, keys, klens, vals, errs);
        CHECK(err == K_OK, "listing: kv_mget error %d", err);
    } else {
        for (size_t k = 0; k < nk; k++) {
            errs[k] = kv_get(rs, keys[k], klens[k], &vals[k]);
            CHECK(errs[k] == K_OK || errs[k] == K_ENOTFOUND, "listing: kv_get error %d", errs[k]);
        }
    }
    uint64_t took = now_ns() - t0;
    double cpu = thread_cpu_s() - cpu0;
    kv_redis_stats(e->store, &c1);
    radix_stats_get(e->tree, &s1);

    for (size_t i = 0, k = 0; i < pc.n; i++) {
        digest_add(&d, names[i], lens[i]);
        if (is_prefix[i]) continue;
        if (errs[k] == K_OK)
            digest_add(&d, vals[k].data, vals[k].len);
        else
            acc->missing++;
        k++;
    }
    acc->lat_us[acc->pages] = (double)took / 1000.0;
    acc->pages++;
    acc->entries += pc.n;
    acc->records += nk;
    acc->round_trips += c1.round_trips - c0.round_trips;
    acc->calls += atomic_load(&ck->gets) + atomic_load(&ck->mgets) - calls0;
    acc->node_reads += s1.node_reads - s0.node_reads;
    acc->batches += s1.node_batches - s0.node_batches;
    acc->unused += s1.prefetch_unused - s0.prefetch_unused;
    acc->client_cpu_s += cpu;
    return d;
}

static const char *const variant_label[LIST_VARIANTS] = {"seq/seq", "batch/seq", "seq/batch",
                                                         "batch/batch"};

static void list_report(bool delim, int v, list_acc *a) {
    double p = a->pages ? (double)a->pages : 1;
    double sum = 0;
    for (uint64_t i = 0; i < a->pages; i++) sum += a->lat_us[i];
    sort_doubles(a->lat_us, a->pages);
    printf("RESULT mode=listing delim=%s tree_records=%s pages=%llu entries_per_page=%.1f "
           "records_per_page=%.1f missing=%llu round_trips_per_page=%.2f kv_calls_per_page=%.2f "
           "node_reads_per_page=%.2f "
           "node_batches_per_page=%.2f prefetch_unused_per_page=%.2f p50_ms=%.3f p99_ms=%.3f "
           "mean_ms=%.3f client_cpu_ms_per_page=%.3f redis_cpu_ms_per_page=%.3f\n",
           delim ? "/" : "none", variant_label[v], (unsigned long long)a->pages,
           (double)a->entries / p, (double)a->records / p, (unsigned long long)a->missing,
           (double)a->round_trips / p, (double)a->calls / p, (double)a->node_reads / p,
           (double)a->batches / p, (double)a->unused / p,
           quantile_sorted(a->lat_us, a->pages, 0.5) / 1000.0,
           quantile_sorted(a->lat_us, a->pages, 0.99) / 1000.0, sum / p / 1000.0,
           a->client_cpu_s * 1000.0 / p, a->redis_cpu_s * 1000.0 / p);
}

static void list_table(bool delim, list_acc *acc) {
    printf("\ndelimiter %s (tree/records: seq = one kv_get each, batch = kv_mget)\n",
           delim ? "'/'" : "none");
    printf("%-12s %6s %8s %8s %9s %9s %9s %8s %8s %8s %9s %9s\n", "tree/recs", "pages", "entries",
           "records", "rt/page", "calls", "reads", "unused", "p50 ms", "p99 ms", "ccpu ms",
           "rcpu ms");
    for (int v = 0; v < LIST_VARIANTS; v++) {
        list_acc *a = &acc[v];
        double p = a->pages ? (double)a->pages : 1;
        /* lat_us is sorted by list_report */
        printf("%-12s %6llu %8.1f %8.1f %9.2f %9.2f %9.2f %8.2f %8.3f %8.3f %9.3f %9.3f\n",
               variant_label[v], (unsigned long long)a->pages, (double)a->entries / p,
               (double)a->records / p, (double)a->round_trips / p, (double)a->calls / p,
               (double)a->node_reads / p, (double)a->unused / p,
               quantile_sorted(a->lat_us, a->pages, 0.5) / 1000.0,
               quantile_sorted(a->lat_us, a->pages, 0.99) / 1000.0, a->client_cpu_s * 1000.0 / p,
               a->redis_cpu_s * 1000.0 / p);
    }
}

static void print_loadavg(const char *when) {
    char line[128] = "?";
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (!fgets(line, sizeof line, f)) snprintf(line, sizeof line, "?");
        fclose(f);
    }
    line[strcspn(line, "\n")] = '\0';
    printf("RESULT mode=listing what=loadavg when=%s proc_loadavg=\"%s\"\n", when, line);
}

/* All pages of one delimiter mode, variants interleaved by blocks. */
static void list_run_mode(const list_env *e, bool delim) {
    const list_opts *o = e->o;
    list_acc acc[LIST_VARIANTS] = {{0}};
    for (int v = 0; v < LIST_VARIANTS; v++) {
        acc[v].lat_us = calloc(o->pages + 1, sizeof *acc[v].lat_us);
        if (!acc[v].lat_us) abort();
    }
    uint64_t block = o->block;
    page_digest *ref = calloc(block, sizeof *ref);
    char(*starts)[40] = calloc(block, sizeof *starts);
    size_t *slens = calloc(block, sizeof *slens);
    if (!ref || !starts || !slens) abort();
    rng r;
    rng_seed(&r, o->seed * 7919 + (delim ? 1 : 0));
    uint64_t span = delim ? o->items : e->names;
    for (uint64_t done = 0, round = 0; done < o->pages; round++) {
        uint64_t nb = o->pages - done < block ? o->pages - done : block;
        for (uint64_t k = 0; k < nb; k++) {
            uint64_t at = rng_below(&r, span - LIST_PAGE - 1);
            slens[k] = delim ? list_entry_name(at, starts[k]) : list_name(at, starts[k]);
        }
        for (int vi = 0; vi < LIST_VARIANTS; vi++) {
            int v = (int)((round + (uint64_t)vi) % LIST_VARIANTS);
            double rcpu0 = redis_cpu_s(e->sh, e->nshards);
            for (uint64_t k = 0; k < nb; k++) {
                page_digest d = list_one_page(e, v, delim, starts[k], slens[k], &acc[v]);
                if (vi == 0) {
                    ref[k] = d;
                } else {
                    CHECK(d.entries == ref[k].entries && d.hash == ref[k].hash,
                          "listing: variant %s differs from the others after %s", variant_label[v],
                          starts[k]);
                }
            }
            acc[v].redis_cpu_s += redis_cpu_s(e->sh, e->nshards) - rcpu0;
        }
        done += nb;
        fprintf(stderr, "listing %s: %llu/%llu pages per variant\n", delim ? "'/'" : "none",
                (unsigned long long)done, (unsigned long long)o->pages);
    }
    for (int v = 0; v < LIST_VARIANTS; v++) {
        CHECK(acc[v].missing == 0, "listing: %llu records missing",
              (unsigned long long)acc[v].missing);
        CHECK(acc[v].entries == acc[v].pages * LIST_PAGE, "listing: short pages (%s)",
              variant_label[v]);
        list_report(delim, v, &acc[v]);
    }
    list_table(delim, acc);
    for (int v = 0; v < LIST_VARIANTS; v++) free(acc[v].lat_us);
    free(ref);
    free(starts);
    free(slens);
}

static void list_usage(void) {
    fprintf(stderr,
            "usage: radix_bench listing [--items N] [--pages N] [--block N] [--threads N]\n"
            "                           [--record-bytes N] [--seed S] [--url redis://H:P,...]\n"
            "  --items         items in the directory (default 20000: 10000 objects and 10000\n"
            "                  subdirectories of 10 objects = 110000 objects)\n"
            "  --pages         1000-entry pages per variant and delimiter mode (default 200)\n"
            "  --block         pages per variant before switching variant (default 10)\n"
            "  --threads       threads filling the bucket (default 16)\n"
            "  --record-bytes  size of each object record (default 300)\n"
            "  --url           use these servers instead of starting 3 (nothing is flushed;\n"
            "                  the bucket id is random)\n");
}

static bool parse_list_opts(int argc, char **argv, list_opts *o) {
    static const struct option longopts[] = {{"items", required_argument, NULL, 'i'},
                                             {"pages", required_argument, NULL, 'p'},
                                             {"block", required_argument, NULL, 'b'},
                                             {"threads", required_argument, NULL, 't'},
                                             {"record-bytes", required_argument, NULL, 'r'},
                                             {"seed", required_argument, NULL, 'S'},
                                             {"url", required_argument, NULL, 'u'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    *o = (list_opts){
        .items = 20000, .pages = 200, .block = 10, .seed = 42, .record_bytes = 300, .threads = 16};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        bool ok = true;
        switch (ch) {
        case 'i':
            ok = parse_count(optarg, &o->items) && o->items > 2 * LIST_PAGE + 2 &&
                 o->items <= LIST_MAX_ITEMS;
            break;
        case 'p':
            ok = parse_count(optarg, &o->pages) && o->pages > 0;
            break;
        case 'b':
            ok = parse_count(optarg, &o->block) && o->block > 0;
            break;
        case 't':
            ok = parse_count(optarg, &o->threads) && o->threads > 0 && o->threads <= MAX_THREADS;
            break;
        case 'r':
            ok = parse_count(optarg, &o->record_bytes) && o->record_bytes > 0 &&
                 o->record_bytes <= 65536;
            break;
        case 'S':
            ok = parse_count(optarg, &o->seed);
            break;
        case 'u':
            o->url = optarg;
            break;
        default:
            ok = false;
            break;
        }
        if (!ok) {
            if (ch != 'h') fprintf(stderr, "radix_bench listing: bad option value\n");
            return false;
        }
    }
    return optind == argc;
}

int listing_main(int argc, char **argv) {
    list_opts o;
    if (!parse_list_opts(argc, argv, &o)) {
        list_usage();
        return 2;
    }
    print_machine("listing");
    print_loadavg("start");
    shard sh[MAX_SHARDS];
    int nshards;
    char dir[SERVER_DIR_MAX] = "";
    char url[1024];
    if (o.url) {
        nshards = parse_url_shards(o.url, sh, MAX_SHARDS);
        if (nshards == 0) {
            fprintf(stderr, "radix_bench: --url must be redis://HOST:PORT[,HOST:PORT...]\n");
            return 2;
        }
        snprintf(url, sizeof url, "%s", o.url);
    } else {
        if (!start_servers(sh, SHARDS, dir, sizeof dir)) return 1;
        nshards = SHARDS;
        int n = snprintf(url, sizeof url, "redis://");
        for (int i = 0; i < nshards; i++)
            n += snprintf(url + n, sizeof url - (size_t)n, "%s%s:%d", i ? "," : "", sh[i].host,
                          sh[i].port);
        /* our servers run without persistence (a read benchmark): say so */
        snprintf(url + n, sizeof url - (size_t)n, "?pool=%llu&durability=relaxed",
                 (unsigned long long)o.threads);
    }
    char version[32] = "?";
    info_field(&sh[0], "server", "redis_version", version, sizeof version);
    list_env e = {.o = &o, .sh = sh, .nshards = nshards};
    e.names = o.items / 2 * 11 + (o.items % 2);
    uint64_t tag = mix64(now_ns() ^ (uint64_t)getpid());
    memcpy(e.bid, &tag, 8);
    printf("RESULT mode=listing what=config redis_version=%s url=%s items=%llu objects=%llu "
           "record_bytes=%llu pages=%llu block=%llu seed=%llu prefetch_max=%d\n",
           version, url, (unsigned long long)o.items, (unsigned long long)e.names,
           (unsigned long long)o.record_bytes, (unsigned long long)o.pages,
           (unsigned long long)o.block, (unsigned long long)o.seed, RADIX_LIST_PREFETCH);
    int rc = 1;
    if (kv_redis_open(url, &e.store) != K_OK) {
        fprintf(stderr, "radix_bench: kv_redis_open(%s) failed\n", url);
        goto out;
    }
    e.ck.base.ops = &calls_ops;
    e.ck.inner = e.store;
    e.tree = radix_new(&e.ck.base);
    fill_job fj = {.e = &e};
    perm_init(&fj.perm, e.names, o.seed + 3);
    atomic_init(&fj.next, 0);
    atomic_init(&fj.errors, 0);
    fprintf(stderr, "listing: filling %llu objects with %llu threads\n",
            (unsigned long long)e.names, (unsigned long long)o.threads);
    uint64_t t0 = now_ns();
    pthread_t th[MAX_THREADS];
    for (uint64_t k = 0; k < o.threads; k++) pthread_create(&th[k], NULL, fill_worker, &fj);
    for (uint64_t k = 0; k < o.threads; k++) pthread_join(th[k], NULL);
    double fill_s = (double)(now_ns() - t0) / 1e9;
    CHECK(atomic_load(&fj.errors) == 0, "listing: %llu failed inserts",
          (unsigned long long)atomic_load(&fj.errors));
    printf("RESULT mode=listing what=fill objects=%llu secs=%.1f per_s=%.0f\n",
           (unsigned long long)e.names, fill_s, (double)e.names / fill_s);
    print_loadavg("filled");
    /* a warm handle, as in a running gateway: one pass over the bucket lets
     * its hints learn the nodes (not measured) */
    radix_list_req all = {.max_entries = SIZE_MAX};
    uint8_t ns[9];
    list_ns(&e, ns);
    page_digest scan = {0};
    bool trunc;
    CHECK(radix_list(e.tree, ns, sizeof ns, &all, tree_sink, &scan, &trunc) == K_OK,
          "listing: full scan failed");
    CHECK(scan.entries == e.names, "listing: full scan found %llu of %llu names",
          (unsigned long long)scan.entries, (unsigned long long)e.names);
    list_run_mode(&e, false);
    list_run_mode(&e, true);
    kv_redis_counters rcs;
    kv_redis_stats(e.store, &rcs);
    char load[32];
    load_average(load, sizeof load);
    print_loadavg("end");
    printf("RESULT mode=listing what=summary failures=%d kv_retries=%llu kv_conn_errors=%llu "
           "mget_retried=%llu loadavg1=%s\n",
           g_failures, (unsigned long long)rcs.retries, (unsigned long long)rcs.conn_errors,
           (unsigned long long)rcs.mget_retried, load);
    rc = g_failures ? 1 : 0;
out:
    radix_free(e.tree);
    kv_close(e.store);
    if (!o.url) {
        for (int i = 0; i < nshards; i++) stop_server(&sh[i]);
        remove_dir(dir, sh, nshards);
    }
    return rc;
}
