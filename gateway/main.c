/* SPDX-License-Identifier: Apache-2.0 */
/* kura: one binary, several roles (see `kura help`). */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <malloc.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/config.h"
#include "common/hash.h"
#include "common/json.h"
#include "common/log.h"
#include "gateway/accesslog.h"
#include "gateway/admin.h"
#include "gateway/objsvc.h"
#include "gateway/s3.h"
#include "gateway/server.h"
#include "gateway/settings.h"
#include "gateway/swift.h"
#include "router/users.h"
#include "bench/loadgen.h"
#include "gateway/version.h"
#include "meta/kv.h"
#include "gateway/objsvc_data.h"
#include "storage/chunkset.h"
#include "storage/data.h"
#include "storage/datanode.h"
#include "storage/dnreg.h"

#define MAX_DIRS 256

static void usage(FILE *f) {
    fputs("usage:\n"
          "  kura serve [--config FILE] [options]\n"
          "      S3 gateway. With no options: LMDB metadata and a local volume in ./data,\n"
          "      listening on 127.0.0.1:9000 (metrics and health on 127.0.0.1:9001).\n"
          "      Root credentials come from\n"
          "      KURA_ROOT_ACCESS_KEY / KURA_ROOT_SECRET_KEY, else are generated on first\n"
          "      start and kept in DIR/root-credentials. Every option can also be set in\n"
          "      the --config file as `name = value` (flags win; docs/operations.md).\n",
          f);
    config_usage(settings_serve, settings_serve_count, f);
    fputs("  kura datanode --data DIR --meta URL --secret S|--secret-file F [options]\n"
          "      storage-cluster datanode: serves its volumes to gateways (protocol in\n"
          "      storage/datanode.h) and registers in the metadata store with heartbeats.\n",
          f);
    config_usage(settings_datanode, settings_datanode_count, f);
    fputs("  kura datanode list --meta URL [--down-after MS]\n"
          "      the registered datanodes, one a line: ID up|down ZONE MEDIA ADDRESS FREE\n"
          "      CAPACITY HEARTBEAT_AGE_MS VOLUME_UIDS (comma-separated)\n",
          f);
    fputs("  kura admin user add [--data DIR | --meta URL] [--admin] [--reseller-admin]\n"
          "                       ACCESS_KEY SECRET_KEY [NAME]\n"
          "  kura admin user list [--data DIR | --meta URL]\n"
          "  kura admin fsck --meta URL --cluster-secret-file F [--deep] [--quiet]\n"
          "  kura admin status --meta URL [--json]\n"
          "  kura admin repair --meta URL --cluster-secret-file F [--quiet]\n"
          "  kura admin user remove [--data DIR | --meta URL] ACCESS_KEY\n"
          "      (also --config FILE and --meta-prefix STRING, as for serve)\n"
          "      ACCESS_KEY ACCOUNT:USER makes a Swift (TempAuth) user acting for ACCOUNT;\n"
          "      the same key and secret sign S3 requests. --admin: it owns ACCOUNT\n"
          "      (without, it reaches only what container ACLs grant it); --reseller-admin:\n"
          "      it may act as the admin of any account. A name without ':' is its own\n"
          "      account and owns it.\n"
          "  kura bench --endpoint URL [options]   (kura bench --help)\n"
          "  kura version   (or kura --version)\n"
          "      kura's version and build type, and the versions of the libraries it links.\n",
          f);
}

/* Expands "dir{1...4}" into dir1..dir4; other strings are taken as is. */
static int expand_pattern(const char *arg, char **out, int max) {
    const char *open = strstr(arg, "{");
    const char *dots = open ? strstr(open, "...") : NULL;
    const char *close = dots ? strchr(dots, '}') : NULL;
    if (!close) {
        if (max < 1) return -1;
        out[0] = strdup(arg);
        return 1;
    }
    long lo = strtol(open + 1, NULL, 10), hi = strtol(dots + 3, NULL, 10);
    if (hi < lo || hi - lo >= max) return -1;
    int n = 0;
    for (long i = lo; i <= hi; i++) {
        char buf[4096];
        snprintf(buf, sizeof buf, "%.*s%ld%s", (int)(open - arg), arg, i, close + 1);
        out[n++] = strdup(buf);
    }
    return n;
}

static int mkdir_p(const char *path) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0755) && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(buf, 0755) && errno != EEXIST) return -1;
    return 0;
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    kbuf b = KBUF_INIT;
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) kbuf_append(&b, tmp, n);
    fclose(f);
    if (!b.data) kbuf_reserve(&b, 0);
    return kbuf_steal(&b, NULL);
}

typedef struct stores {
    kv *meta;
    volset *vols;
    data_layer *data;
    objsvc *svc;
    users *users;
    dnreg_watch *watch; /* --datanodes-from-meta: datanodes joining later */
    cs_scrubber *scrub; /* replicated chunksets: the background scrubber */
} stores;

/* --scrub-interval and --scrub-pause (replicated chunksets only). */
static unsigned scrub_interval_s, scrub_pause_ms;

/* The metadata store: meta_url (redis://..., redis-cluster://...) when
 * given, else LMDB in DATA/meta. */
static const char *meta_url;
static const char *meta_prefix;

static int open_meta(const char *data_dir, kv **out) {
    if (meta_url && strncmp(meta_url, "lmdb:", 5)) {
        kerr e = kv_redis_open(meta_url, out);
        if (e) {
            fprintf(stderr, "kura: cannot use --meta %s (%s; the log above says why)\n", meta_url,
                    e == K_EINVAL ? "malformed URL or a server without durable persistence"
                                  : kerr_name(e));
            return -1;
        }
        if (meta_prefix && *meta_prefix) {
            kv *wrapped;
            e = kv_prefixed_new(*out, meta_prefix, strlen(meta_prefix), &wrapped);
            if (e) {
                fprintf(stderr, "kura: bad --meta-prefix (%s)\n", kerr_name(e));
                return -1;
            }
            *out = wrapped;
        }
        return 0;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/meta", data_dir);
    if (mkdir_p(path)) {
        fprintf(stderr, "kura: cannot create %s: %s\n", path, strerror(errno));
        return -1;
    }
    kerr e = kv_lmdb_open(path, 0, out);
    if (e) {
        fprintf(stderr, "kura: cannot open metadata in %s (%s)\n", path, kerr_name(e));
        return -1;
    }
    return 0;
}

/* --datanodes-from-meta: the volumes of the datanodes registered (and up)
 * in the metadata store, signed with cluster_secret; NULL: local volumes. */
static const char *cluster_secret;

static int open_remote_volumes(kv *meta, volset **out) {
    dn_info *list;
    size_t n;
    kerr e = dnreg_list(meta, clock_real_ms(), DNREG_DOWN_AFTER_MS, &list, &n);
    if (e) {
        fprintf(stderr, "kura: cannot read the datanode registry (%s)\n", kerr_name(e));
        return -1;
    }
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += list[i].up ? list[i].nvolumes : 0;
    vol_remote_spec *specs = calloc(total ? total : 1, sizeof *specs);
    size_t ns = 0;
    for (size_t i = 0; specs && i < n; i++)
        for (size_t v = 0; list[i].up && v < list[i].nvolumes; v++)
            specs[ns++] = (vol_remote_spec){.address = list[i].address, .uid = list[i].volumes[v]};
    e = !specs    ? K_ENOMEM
        : ns == 0 ? K_ENOTFOUND
                  : volset_open_remote(specs, ns, cluster_secret, out);
    if (e == K_OK)
        log_info("storing data on %zu volume%s of the datanodes registered in the metadata store",
                 ns, ns == 1 ? "" : "s");
    else
        fprintf(stderr, "kura: cannot use the registered datanodes (%s)\n",
                e == K_ENOTFOUND ? "none is up" : kerr_name(e));
    free(specs);
    dnreg_list_free(list, n);
    return e ? -1 : 0;
}

/* The volume options of kura serve and kura datanode from cfg (checked by
 * settings_check_*): reserve, chunk size, compaction; sync on. */
static void volset_opts_from(const config *cfg, volset_opts *o) {
    *o = (volset_opts){.sync = true};
    settings_reserve r;
    if (settings_min_free(config_str(cfg, "min-free-space"), &r) == K_OK) {
        o->reserve = r.kind == SETTINGS_RESERVE_AUTO    ? VOL_RESERVE_AUTO
                     : r.kind == SETTINGS_RESERVE_BYTES ? VOL_RESERVE_BYTES
                                                        : VOL_RESERVE_PERCENT;
        o->min_free_bytes = r.bytes;
        o->min_free_percent = r.percent;
    }
    o->chunk_size = (uint64_t)config_size(cfg, "chunk-size");
    o->compact_threshold = (uint32_t)config_int(cfg, "compact-threshold");
    o->compact_grace_s = (uint32_t)config_int(cfg, "compact-grace");
    o->compact_interval_s = (uint32_t)config_int(cfg, "compact-interval");
}

static int open_stores(char **dirs, int ndirs, const data_policy *policy, const volset_opts *vo,
                       stores *s) {
    memset(s, 0, sizeof *s);
    if (open_meta(dirs[0], &s->meta)) return -1;
    if (cluster_secret) {
        if (open_remote_volumes(s->meta, &s->vols)) return -1;
        if (dnreg_watch_start(s->meta, s->vols, cluster_secret, 2000, &s->watch)) return -1;
        ndirs = 0;
    }
    const char *vol_dirs[MAX_DIRS];
    char *owned[MAX_DIRS];
    for (int i = 0; i < ndirs; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/volume", dirs[i]);
        if (mkdir_p(path)) {
            fprintf(stderr, "kura: cannot create %s: %s\n", path, strerror(errno));
            return -1;
        }
        owned[i] = strdup(path);
        vol_dirs[i] = owned[i];
    }
    kerr e = cluster_secret ? K_OK : volset_open_local(vol_dirs, (size_t)ndirs, vo, &s->vols);
    for (int i = 0; i < ndirs; i++) free(owned[i]);
    if (e) {
        fprintf(stderr, "kura: cannot open volumes (%s)\n", kerr_name(e));
        return -1;
    }
    e = cluster_secret && policy->replicas > 1
            ? data_open_cluster(s->vols, s->meta, policy, &s->data)
            : data_open_local(s->vols, policy, &s->data);
    if (e) {
        fprintf(stderr, "kura: cannot start the data layer (%s)\n", kerr_name(e));
        return -1;
    }
    if (cluster_secret && policy->replicas > 1 && scrub_interval_s &&
        cs_scrub_start(s->meta, s->vols, scrub_interval_s, scrub_pause_ms, &s->scrub)) {
        fprintf(stderr, "kura: cannot start the scrubber\n");
        return -1;
    }
    /* one store for now: the registry and the (only) member are the same */
    e = objsvc_open(s->meta, s->meta, s->data, &s->svc);
    if (!e) e = users_open(s->meta, &s->users);
    if (e) {
        fprintf(stderr, "kura: cannot start the object service (%s)\n", kerr_name(e));
        return -1;
    }
    return 0;
}

static void close_stores(stores *s) {
    cs_scrub_stop(s->scrub);
    dnreg_watch_stop(s->watch);
    users_close(s->users);
    objsvc_close(s->svc);
    data_close(s->data);
    volset_close(s->vols);
    kv_close(s->meta);
}

/* Root credentials: environment first, then the file in the data dir,
 * else a new pair written there (0600) and printed once. */
static int root_credentials(const char *data_dir, char **ak, char **sk) {
    const char *eak = getenv("KURA_ROOT_ACCESS_KEY"), *esk = getenv("KURA_ROOT_SECRET_KEY");
    if (eak && esk && *eak && *esk) {
        *ak = strdup(eak);
        *sk = strdup(esk);
        return 0;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/root-credentials", data_dir);
    char *content = read_file(path);
    if (content) {
        char *nl = strchr(content, '\n');
        if (nl) {
            *nl = 0;
            char *second = nl + 1;
            char *nl2 = strchr(second, '\n');
            if (nl2) *nl2 = 0;
            if (*content && *second) {
                *ak = strdup(content);
                *sk = strdup(second);
                free(content);
                return 0;
            }
        }
        free(content);
    }
    uint8_t r[30];
    if (RAND_bytes(r, sizeof r) != 1) return -1;
    static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    char a[21], s[41];
    for (int i = 0; i < 20; i++) a[i] = alnum[r[i] & 31];
    a[20] = 0;
    uint8_t r2[30];
    RAND_bytes(r2, sizeof r2);
    char b64[48];
    base64_encode(r2, sizeof r2, b64);
    for (int i = 0; i < 40; i++) s[i] = b64[i] == '+' ? 'k' : b64[i] == '/' ? 'u' : b64[i];
    s[40] = 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        fprintf(stderr, "kura: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    dprintf(fd, "%s\n%s\n", a, s);
    fsync(fd);
    close(fd);
    fprintf(stderr,
            "kura: generated root credentials (kept in %s):\n"
            "  access key: %s\n  secret key: %s\n",
            path, a, s);
    *ak = strdup(a);
    *sk = strdup(s);
    return 0;
}

/* This gateway's instance id (DATA/instance-id, made on first start): marks
 * the data it stores so that another gateway sharing the metadata store never
 * reads these locations as its own. */
static int instance_id(const char *data_dir, uint64_t *out) {
    char path[4096];
    snprintf(path, sizeof path, "%s/instance-id", data_dir);
    char *content = read_file(path);
    if (content) {
        uint8_t raw[8];
        int n = hex_decode(content, strnlen(content, 16), raw, sizeof raw);
        free(content);
        if (n == 8) {
            *out = 0;
            for (int i = 0; i < 8; i++) *out = *out << 8 | raw[i];
            if (*out) return 0;
        }
        fprintf(stderr, "kura: %s is damaged\n", path);
        return -1;
    }
    uint8_t raw[8];
    do {
        if (RAND_bytes(raw, sizeof raw) != 1) return -1;
    } while (!(raw[0] | raw[1] | raw[2] | raw[3] | raw[4] | raw[5] | raw[6] | raw[7]));
    char hex[17];
    hex_encode(raw, 8, hex);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) {
        fprintf(stderr, "kura: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    dprintf(fd, "%s\n", hex);
    fsync(fd);
    close(fd);
    *out = 0;
    for (int i = 0; i < 8; i++) *out = *out << 8 | raw[i];
    return 0;
}

/* Every connection is a descriptor: raise the soft limit to the hard one
 * and keep max_connections below it (descriptors for data files, LMDB,
 * Redis and the listener stay free). */
static void fit_open_files(unsigned *max_connections) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t was = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            getrlimit(RLIMIT_NOFILE, &rl);
        } else {
            log_info("open files limit raised from %llu to %llu", (unsigned long long)was,
                     (unsigned long long)rl.rlim_cur);
        }
    } else {
        log_info("open files limit %llu", (unsigned long long)rl.rlim_cur);
    }
    unsigned long long room = rl.rlim_cur > 512 ? (unsigned long long)rl.rlim_cur - 256 : 256;
    if (*max_connections > room) {
        log_warn("--max-conns %u exceeds what the open files limit (%llu) allows; using %llu",
                 *max_connections, (unsigned long long)rl.rlim_cur, room);
        *max_connections = (unsigned)room;
    }
}

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
    stop_requested = 1;
}

static void on_sighup(int sig) {
    accesslog_reopen_request(); /* async-signal-safe */
}

/* Reads a command's settings: defaults, --config FILE, flags. Returns NULL
 * (after printing why) on an error, or when --help was asked (*rc = 0). */
static config *load_settings(const char *cmd, const cfg_item *items, size_t n, int argc,
                             char **argv, bool positional, int *rc) {
    config *c = config_new(items, n);
    char err[512];
    if (config_parse_args(c, argc, argv, positional, err, sizeof err)) {
        fprintf(stderr, "kura %s: %s\n", cmd, err);
        *rc = 2;
        config_free(c);
        return NULL;
    }
    if (config_wants_help(c)) {
        usage(stdout);
        *rc = 0;
        config_free(c);
        return NULL;
    }
    return c;
}

/* The admin listener's view of the stores (gateway/admin.h). */
/* Reads 64 keys that do not exist in one kv_mget: with Redis shards or a
 * cluster they fall on every shard (one round trip each), so a shard that
 * does not answer fails the probe; a missing key is an answer. */
enum { PROBE_KEYS = 64 };
static kerr admin_meta_check(void *ctx) {
    stores *st = ctx;
    char names[PROBE_KEYS][24];
    const void *keys[PROBE_KEYS];
    size_t klens[PROBE_KEYS];
    kbuf vals[PROBE_KEYS];
    kerr errs[PROBE_KEYS];
    for (int i = 0; i < PROBE_KEYS; i++) {
        int n = snprintf(names[i], sizeof names[i], "~health-probe-%d", i);
        keys[i] = names[i];
        klens[i] = (size_t)n;
        vals[i] = (kbuf)KBUF_INIT;
    }
    kerr e = kv_mget(st->meta, PROBE_KEYS, keys, klens, vals, errs);
    for (int i = 0; i < PROBE_KEYS; i++) kbuf_free(&vals[i]);
    return e;
}

static bool admin_meta_full(void *ctx) {
    stores *st = ctx;
    return kv_lmdb_full(st->meta);
}

static size_t admin_volumes(void *ctx, gw_admin_volume *out, size_t max) {
    stores *st = ctx;
    size_t n = data_space(st->data, NULL, 0);
    vol_space *vs = calloc(n ? n : 1, sizeof *vs);
    if (!vs) return 0;
    n = data_space(st->data, vs, n);
    for (size_t i = 0; i < n && i < max; i++)
        out[i] = (gw_admin_volume){.name = vs[i].name,
                                   .free_bytes = vs[i].free_bytes,
                                   .total_bytes = vs[i].total_bytes,
                                   .reserve_bytes = vs[i].reserve_bytes,
                                   .refusals = vs[i].refusals,
                                   .chunks_compacted = vs[i].chunks_compacted,
                                   .bytes_reclaimed = vs[i].bytes_reclaimed,
                                   .full = vs[i].full,
                                   .stat_failed = vs[i].stat_failed};
    free(vs);
    return n;
}

/* The storage cluster's series: chunkset pool and scrubber (none on the
 * embedded default). */
static size_t admin_series(void *ctx, gw_admin_series *out, size_t max) {
    stores *st = ctx;
    cs_pool *p = st->data ? data_chunksets(st->data) : NULL;
    if (!p || max < 16) return 0;
    cs_pool_stats c;
    cs_pool_stats_get(p, &c);
    size_t n = 0;
#define SERIES(nm, ty, hp, v) out[n++] = (gw_admin_series){nm, hp, ty, (double)(v)}
    SERIES("kura_chunkset_needles_stored_total", "counter",
           "Needles stored in replicated chunksets by this gateway.", c.puts);
    SERIES("kura_chunkset_put_retries_total", "counter",
           "Needles sent again to another chunkset after one could not take them.", c.put_retries);
    SERIES("kura_chunkset_put_failures_total", "counter",
           "Needles no chunkset could take (the request failed).", c.put_failures);
    SERIES("kura_chunkset_created_total", "counter", "Chunksets this gateway created.", c.created);
    SERIES("kura_chunkset_sealed_total", "counter", "Chunksets this gateway sealed.", c.sealed);
    SERIES("kura_chunkset_reads_total", "counter", "Needle reads from chunksets.", c.reads);
    SERIES("kura_chunkset_read_failovers_total", "counter",
           "Reads served by another member after one failed.", c.read_failovers);
    SERIES("kura_chunkset_read_failures_total", "counter", "Reads no member could serve.",
           c.read_failures);
    SERIES("kura_chunkset_open", "gauge", "Open chunksets this gateway can write to now.", c.open);
    SERIES("kura_datanodes_up", "gauge", "Registered datanodes up.", c.datanodes_up);
    SERIES("kura_datanodes_down", "gauge", "Registered datanodes down.", c.datanodes_down);
    if (st->scrub) {
        cs_scrub_stats s;
        cs_scrub_stats_get(st->scrub, &s);
        SERIES("kura_scrub_passes_total", "counter", "Scrub passes this gateway completed.",
               s.passes);
        SERIES("kura_scrub_members_replaced_total", "counter",
               "Chunkset members the scrubber replaced.", s.members_replaced);
        SERIES("kura_scrub_needles_copied_total", "counter", "Needles the scrubber copied.",
               s.needles_copied);
        SERIES("kura_scrub_last_degraded_needles", "gauge",
               "Needles found degraded by the last scrub pass.", s.last_degraded);
        SERIES("kura_scrub_last_pass_timestamp_seconds", "gauge",
               "When the last scrub pass of this gateway ended.", s.last_pass_ms / 1000);
    }
#undef SERIES
    return n;
}

/* The expiry sweeper (objsvc_expire): a thread waking every interval
 * seconds, stopped with the server. */
typedef struct sweeper {
    objsvc *svc;
    unsigned interval_s;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop, started;
} sweeper;

static void *sweep_main(void *arg) {
    sweeper *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += w->interval_s;
        while (!w->stop && pthread_cond_timedwait(&w->cv, &w->mu, &until) != ETIMEDOUT) {
        }
        if (w->stop) break;
        pthread_mutex_unlock(&w->mu);
        size_t total = 0, n = 0;
        kerr e;
        do { /* in batches, until a batch finds less than it could take */
            e = objsvc_expire(w->svc, clock_real_ms(), 1000, &n);
            total += n;
        } while (!e && n == 1000 && !w->stop);
        if (e) log_warn("expiry sweep: %s (again in %u s)", kerr_name(e), w->interval_s);
        if (total)
            log_info("expiry sweep: %zu expired object%s reclaimed", total, total == 1 ? "" : "s");
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static void sweeper_start(sweeper *w, objsvc *svc, unsigned interval_s) {
    memset(w, 0, sizeof *w);
    w->svc = svc;
    w->interval_s = interval_s;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (interval_s && !pthread_create(&w->thread, NULL, sweep_main, w)) w->started = true;
}

static void sweeper_stop(sweeper *w) {
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (w->started) pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
}

static int cmd_serve(int argc, char **argv) {
    int rc = 0;
    /* Upload buffers of a MiB and more (the cluster's 8 MiB segments, their
     * parity) come from mmap and go back to the system when freed: glibc's
     * per-thread arenas otherwise kept them, 369 MiB of RSS for 8
     * concurrent erasure-coded uploads against 144 MiB with this
     * (docs/performance.md, "Large objects: embedded vs replicated vs
     * erasure-coded"). */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    config *cfg =
        load_settings("serve", settings_serve, settings_serve_count, argc, argv, false, &rc);
    if (!cfg) return rc;
    char err[512];
    if (settings_check_serve(cfg, err, sizeof err)) {
        fprintf(stderr, "kura serve: %s\n", err);
        config_free(cfg);
        return 2;
    }
    const char *listen = config_str(cfg, "listen");
    const char *cert = config_str(cfg, "tls-cert"), *key = config_str(cfg, "tls-key");
    const char *region = config_str(cfg, "region");
    meta_url = config_str(cfg, "meta");
    meta_prefix = config_str(cfg, "meta-prefix");
    char *dirs[MAX_DIRS];
    int ndirs = 0;
    const char *const *data_args;
    size_t ndata = config_list(cfg, "data", &data_args);
    for (size_t i = 0; i < ndata; i++) {
        int n = expand_pattern(data_args[i], dirs + ndirs, MAX_DIRS - ndirs);
        if (n < 0) {
            fprintf(stderr, "kura serve: bad --data %s\n", data_args[i]);
            for (int d = 0; d < ndirs; d++) free(dirs[d]);
            config_free(cfg);
            return 2;
        }
        ndirs += n;
    }
    const char *const *domains;
    size_t ndomains = config_list(cfg, "domain", &domains);
    const char *colon = strrchr(listen, ':');
    char host[256];
    int port = atoi(colon + 1);
    snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
    for (int i = 0; i < ndirs; i++)
        if (mkdir_p(dirs[i])) {
            fprintf(stderr, "kura: cannot create %s: %s\n", dirs[i], strerror(errno));
            return 1;
        }
    char *cert_pem = NULL, *key_pem = NULL;
    if (cert) {
        cert_pem = read_file(cert);
        key_pem = read_file(key);
        if (!cert_pem || !key_pem) {
            fprintf(stderr, "kura serve: cannot read the TLS certificate or key\n");
            return 1;
        }
    }
    char *ak, *sk;
    if (root_credentials(dirs[0], &ak, &sk)) return 1;
    uint64_t home;
    if (instance_id(dirs[0], &home)) return 1;
    char *secret_text = NULL;
    if (config_bool(cfg, "datanodes-from-meta")) {
        const char *sf = config_str(cfg, "cluster-secret-file");
        secret_text = sf ? read_file(sf) : strdup(config_str(cfg, "cluster-secret"));
        if (secret_text) secret_text[strcspn(secret_text, "\r\n")] = 0;
        if (!secret_text || !*secret_text) {
            fprintf(stderr, "kura serve: cannot read the cluster secret from %s\n", sf);
            return 1;
        }
        cluster_secret = secret_text;
        home = 0; /* data on the datanodes: every gateway of the cluster reads it */
    }
    stores st;
    data_policy policy = {.replicas = (uint32_t)config_int(cfg, "replicas"),
                          .ec_k = (uint32_t)config_int(cfg, "ec-data"),
                          .ec_m = (uint32_t)config_int(cfg, "ec-parity"),
                          .ec_threshold = config_size(cfg, "ec-threshold"),
                          .min_open_chunksets = (uint32_t)config_int(cfg, "open-chunksets"),
                          .chunkset_avg_fill = (uint32_t)config_int(cfg, "chunkset-avg-fill"),
                          .chunkset_min_fill = (uint32_t)config_int(cfg, "chunkset-min-fill"),
                          .zone = config_str(cfg, "zone")};
    scrub_interval_s = (unsigned)config_int(cfg, "scrub-interval");
    scrub_pause_ms = (unsigned)config_int(cfg, "scrub-pause");
    volset_opts vo;
    volset_opts_from(cfg, &vo); /* checked above */
    if (open_stores(dirs, ndirs, &policy, &vo, &st)) return 1;
    objsvc_set_home(st.svc, home);
    s3_opts so = {.svc = st.svc,
                  .users = st.users,
                  .root_access_key = ak,
                  .root_secret_key = sk,
                  .region = region,
                  .domains = domains,
                  .ndomains = ndomains,
                  .allow_missing_content_sha256 = config_bool(cfg, "allow-missing-content-sha256")};
    s3_frontend *s3 = s3_frontend_new(&so);
    swift_opts wo = {.svc = st.svc,
                     .users = st.users,
                     .root_access_key = ak,
                     .root_secret_key = sk,
                     .region = region,
                     .token_ttl_s = (unsigned)config_int(cfg, "swift-token-ttl")};
    swift_frontend *swift = swift_frontend_new(&wo);
    /* Swift first: it takes only its own paths, S3 takes everything */
    gw_frontend fes[] = {swift_frontend_hook(swift), s3_frontend_hook(s3)};
    gw_server_opts opts = {0};
    gw_server_default_opts(&opts);
    opts.workers = (unsigned)config_int(cfg, "workers");
    opts.event_threads = (unsigned)config_int(cfg, "event-threads");
    opts.max_connections = (unsigned)config_int(cfg, "max-conns");
    opts.max_conns_per_ip = (unsigned)config_int(cfg, "max-conns-per-ip");
    opts.idle_timeout_s = (unsigned)config_int(cfg, "idle-timeout");
    opts.header_timeout_s = (unsigned)config_int(cfg, "header-timeout");
    opts.min_body_rate = (unsigned)config_int(cfg, "min-upload-rate");
    opts.body_rate_window_s = (unsigned)config_int(cfg, "upload-rate-window");
    opts.host = host;
    opts.port = port;
    opts.tls_cert_pem = cert_pem;
    opts.tls_key_pem = key_pem;
    opts.frontends = fes;
    opts.nfrontends = sizeof fes / sizeof *fes;
    fit_open_files(&opts.max_connections);
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    struct sigaction hup = {.sa_handler = on_sighup, .sa_flags = SA_RESTART};
    sigaction(SIGHUP, &hup, NULL);
    accesslog *alog = NULL;
    const char *alog_path = config_str(cfg, "access-log");
    if (alog_path && strcmp(alog_path, "off") && accesslog_open(alog_path, &alog)) {
        fprintf(stderr, "kura serve: cannot open the access log %s\n", alog_path);
        rc = 1;
    }
    opts.access_log = alog;
    gw_server *srv = NULL;
    kerr se = rc ? K_EINVAL : gw_server_start(&opts, &srv);
    if (rc) {
        /* said above */
    } else if (se == K_ECONFLICT) {
        fprintf(stderr, "kura serve: %s:%d is already in use\n", host, port);
        rc = 1;
    } else if (se) {
        fprintf(stderr, "kura serve: cannot listen on %s:%d (%s; the log above says why)\n", host,
                port, kerr_name(se));
        rc = 1;
    } else {
        fprintf(stderr, "%s: listening on %s:%d (%s), data in %s\n", kura_version_line(), host,
                gw_server_port(srv), cert ? "https" : "http", dirs[0]);
        gw_admin *adm = NULL;
        char *metrics_token = NULL;
        const char *admin_listen = config_str(cfg, "admin-listen");
        if (strcmp(admin_listen, "off")) {
            const char *ac = strrchr(admin_listen, ':');
            char ahost[256];
            snprintf(ahost, sizeof ahost, "%.*s", (int)(ac - admin_listen), admin_listen);
            char *mtok = NULL;
            const char *mtf = config_str(cfg, "metrics-token-file");
            if (mtf) {
                mtok = read_file(mtf);
                if (mtok) mtok[strcspn(mtok, "\r\n")] = 0;
                if (!mtok || !*mtok) {
                    fprintf(stderr, "kura serve: cannot read a token from %s\n", mtf);
                    free(mtok);
                    mtok = NULL;
                    rc = 1;
                }
            }
            metrics_token = mtok;
            gw_admin_opts ao = {.host = ahost,
                                .port = atoi(ac + 1),
                                .version = kura_version(),
                                .build_type = kura_build_type(),
                                .ctx = &st,
                                .meta_check = admin_meta_check,
                                .meta_full = admin_meta_full,
                                .volumes = admin_volumes,
                                .series = admin_series,
                                .metrics_token = mtok};
            kerr ae = rc ? K_OK : gw_admin_start(&ao, &adm);
            if (rc) {
                /* said above */
            } else if (ae == K_ECONFLICT)
                fprintf(stderr, "kura serve: admin address %s is already in use\n", admin_listen);
            else if (ae)
                fprintf(stderr,
                        "kura serve: cannot listen on admin address %s (%s; the log above says "
                        "why)\n",
                        admin_listen, kerr_name(ae));
            else
                fprintf(stderr, "kura serve: admin listener (metrics, health) on %s:%d\n", ahost,
                        gw_admin_port(adm));
            if (ae) rc = 1;
        }
        sweeper sw;
        sweeper_start(&sw, st.svc, (unsigned)config_int(cfg, "expiry-interval"));
        while (!rc && !stop_requested) pause();
        log_info("stopping");
        sweeper_stop(&sw);
        gw_admin_stop(adm);
        gw_server_stop(srv);
        free(metrics_token);
    }
    accesslog_close(alog);
    s3_frontend_free(s3);
    swift_frontend_free(swift);
    close_stores(&st);
    free(cert_pem);
    free(key_pem);
    free(secret_text);
    free(ak);
    free(sk);
    for (int i = 0; i < ndirs; i++) free(dirs[i]);
    config_free(cfg);
    return rc;
}

/* ---- kura datanode ---- */

typedef struct dn_fill_ctx {
    volset *vs;
} dn_fill_ctx;

/* Refreshes capacity, free space and volumes before every heartbeat. */
static void dn_fill(void *arg, dn_info *info) {
    dn_fill_ctx *c = arg;
    size_t n = volset_count(c->vs);
    uint64_t cap = 0, avail = 0;
    uint64_t *uids = realloc(info->volumes, (n ? n : 1) * sizeof *uids);
    if (!uids) return;
    info->volumes = uids;
    info->nvolumes = n;
    for (size_t i = 0; i < n; i++) {
        vol_space s;
        uids[i] = volset_volume_uid(c->vs, (uint32_t)i);
        if (volset_space_get(c->vs, (uint32_t)i, &s) != K_OK || s.stat_failed) continue;
        cap += s.total_bytes;
        if (!s.full && s.free_bytes > s.reserve_bytes) avail += s.free_bytes - s.reserve_bytes;
    }
    info->capacity = cap;
    info->free_bytes = avail;
}

static char *read_secret(const config *cfg) {
    const char *s = config_str(cfg, "secret");
    if (s) return strdup(s);
    char *text = read_file(config_str(cfg, "secret-file"));
    if (!text) return NULL;
    text[strcspn(text, "\r\n")] = 0;
    if (!*text) {
        free(text);
        return NULL;
    }
    return text;
}

static int cmd_datanode(int argc, char **argv) {
    int rc = 0;
    config *cfg = load_settings("datanode", settings_datanode, settings_datanode_count, argc, argv,
                                false, &rc);
    if (!cfg) return rc;
    char err[512];
    if (settings_check_datanode(cfg, err, sizeof err)) {
        fprintf(stderr, "kura datanode: %s\n", err);
        config_free(cfg);
        return 2;
    }
    char *secret = read_secret(cfg);
    if (!secret) {
        fprintf(stderr, "kura datanode: cannot read the secret from %s\n",
                config_str(cfg, "secret-file"));
        config_free(cfg);
        return 2;
    }
    meta_url = config_str(cfg, "meta");
    meta_prefix = config_str(cfg, "meta-prefix");
    const char *listen = config_str(cfg, "listen");
    const char *colon = strrchr(listen, ':');
    char host[256];
    snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
    int port = atoi(colon + 1);
    char *dirs[MAX_DIRS];
    int ndirs = 0;
    const char *const *data_args;
    size_t ndata = config_list(cfg, "data", &data_args);
    for (size_t i = 0; i < ndata; i++) {
        int n = expand_pattern(data_args[i], dirs + ndirs, MAX_DIRS - ndirs);
        if (n < 0) {
            fprintf(stderr, "kura datanode: bad --data %s\n", data_args[i]);
            rc = 2;
            goto out_dirs;
        }
        ndirs += n;
    }
    const char *vol_dirs[MAX_DIRS];
    char *owned[MAX_DIRS];
    int nowned = 0;
    for (int i = 0; i < ndirs; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/volume", dirs[i]);
        if (mkdir_p(path)) {
            fprintf(stderr, "kura datanode: cannot create %s: %s\n", path, strerror(errno));
            rc = 1;
            goto out_owned;
        }
        owned[nowned++] = strdup(path);
        vol_dirs[i] = owned[i];
    }
    uint64_t id;
    kerr e = dn_load_id(dirs[0], &id);
    if (e) {
        fprintf(stderr, "kura datanode: cannot read or create %s/datanode.id (%s)\n", dirs[0],
                kerr_name(e));
        rc = 1;
        goto out_owned;
    }
    volset_opts vo;
    volset_opts_from(cfg, &vo); /* checked above */
    volset *vs = NULL;
    e = volset_open_local(vol_dirs, (size_t)ndirs, &vo, &vs);
    if (e) {
        fprintf(stderr, "kura datanode: cannot open volumes (%s)\n", kerr_name(e));
        rc = 1;
        goto out_owned;
    }
    kv *meta = NULL;
    if (open_meta(dirs[0], &meta)) {
        rc = 1;
        goto out_vs;
    }
    char idhex[17];
    snprintf(idhex, sizeof idhex, "%016llx", (unsigned long long)id);
    const char *adv = config_str(cfg, "advertise");
    dn_opts o = {.host = host,
                 .port = port,
                 .secret = secret,
                 .id = idhex,
                 .zone = config_str(cfg, "zone"),
                 .media = config_str(cfg, "media"),
                 .max_connections = (unsigned)config_int(cfg, "max-conns")};
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* The address is known once the port is (--listen HOST:0 picks one). */
    char address[300];
    datanode *dn = NULL;
    o.address = adv ? adv : listen;
    e = dn_start(vs, &o, &dn);
    if (e) {
        fprintf(stderr, "kura datanode: cannot listen on %s (%s)\n", listen,
                e == K_ECONFLICT ? "address in use" : kerr_name(e));
        rc = 1;
        goto out_meta;
    }
    if (adv)
        snprintf(address, sizeof address, "%s", adv);
    else
        snprintf(address, sizeof address, "%s:%d", host, dn_port(dn));
    dn_info base = {.id = id,
                    .address = address,
                    .chunk_size = vo.chunk_size,
                    .zone = (char *)config_str(cfg, "zone"),
                    .media = (char *)config_str(cfg, "media")};
    dn_fill_ctx fc = {.vs = vs};
    dnreg_beat *beat = NULL;
    e = dnreg_beat_start(meta, &base, (unsigned)config_int(cfg, "heartbeat"), dn_fill, &fc, &beat);
    if (e) {
        fprintf(stderr, "kura datanode: cannot start heartbeats (%s)\n", kerr_name(e));
        rc = 1;
    } else {
        fprintf(stderr, "%s: datanode %s listening on %s (http), zone %s, media %s, %d volume%s\n",
                kura_version_line(), idhex, address, config_str(cfg, "zone"),
                config_str(cfg, "media"), ndirs, ndirs == 1 ? "" : "s");
        while (!stop_requested) pause();
        log_info("stopping");
        dnreg_beat_stop(beat);
    }
    dn_stop(dn);
out_meta:
    kv_close(meta);
out_vs:
    volset_close(vs);
out_owned:
    for (int i = 0; i < nowned; i++) free(owned[i]);
out_dirs:
    for (int i = 0; i < ndirs; i++) free(dirs[i]);
    free(secret);
    config_free(cfg);
    return rc;
}

static int cmd_datanode_list(int argc, char **argv) {
    int rc = 0;
    config *cfg = load_settings("datanode list", settings_datanode_list,
                                settings_datanode_list_count, argc, argv, false, &rc);
    if (!cfg) return rc;
    meta_url = config_str(cfg, "meta");
    meta_prefix = config_str(cfg, "meta-prefix");
    kv *meta;
    if (open_meta(".", &meta)) {
        config_free(cfg);
        return 1;
    }
    dn_info *list;
    size_t n;
    int64_t now = clock_real_ms();
    kerr e = dnreg_list(meta, now, config_int(cfg, "down-after"), &list, &n);
    if (e) {
        fprintf(stderr, "kura datanode list: cannot read the registry (%s)\n", kerr_name(e));
        rc = 1;
    } else {
        for (size_t i = 0; i < n; i++) {
            printf("%016llx %s %s %s %s %llu %llu %lld ", (unsigned long long)list[i].id,
                   list[i].up ? "up" : "down", list[i].zone, list[i].media ? list[i].media : "hdd",
                   list[i].address, (unsigned long long)list[i].free_bytes,
                   (unsigned long long)list[i].capacity, (long long)(now - list[i].heartbeat_ms));
            for (size_t v = 0; v < list[i].nvolumes; v++)
                printf("%s%016llx", v ? "," : "", (unsigned long long)list[i].volumes[v]);
            printf("\n");
        }
        dnreg_list_free(list, n);
    }
    kv_close(meta);
    config_free(cfg);
    return rc;
}

/* ---- kura admin status ---- */

/* Ids in a chunkset index ("S" open, "SA" all): 17 bytes a line. */
static long long index_count(kv *meta, const char *key) {
    kbuf v = KBUF_INIT;
    kerr e = kv_get(meta, key, strlen(key), &v);
    long long n = e == K_OK ? (long long)((v.len + 1) / 17) : e == K_ENOTFOUND ? 0 : -1;
    kbuf_free(&v);
    return n;
}

/* The cluster at a glance: datanodes and their space, chunksets, the
 * scrubber's lease; --json for scripts. Exit 0 when datanodes are
 * registered, every one is up and the store answers, 1 otherwise. */
static int cmd_admin_status(int argc, char **argv) {
    int rc = 0;
    config *cfg = load_settings("admin status", settings_status, settings_status_count, argc, argv,
                                false, &rc);
    if (!cfg) return rc;
    meta_url = config_str(cfg, "meta");
    meta_prefix = config_str(cfg, "meta-prefix");
    bool json = config_bool(cfg, "json");
    kv *meta;
    if (open_meta(".", &meta)) {
        config_free(cfg);
        return 1;
    }
    dn_info *list = NULL;
    size_t n = 0;
    int64_t now = clock_real_ms();
    kerr e = dnreg_list(meta, now, config_int(cfg, "down-after"), &list, &n);
    if (e) {
        fprintf(stderr, "kura admin status: cannot read the registry (%s)\n", kerr_name(e));
        kv_close(meta);
        config_free(cfg);
        return 1;
    }
    size_t up = 0;
    uint64_t free_b = 0, cap_b = 0;
    for (size_t i = 0; i < n; i++) {
        up += list[i].up;
        if (list[i].up) free_b += list[i].free_bytes, cap_b += list[i].capacity;
    }
    long long all = index_count(meta, CS_ALL_INDEX), open = index_count(meta, CS_OPEN_INDEX);
    kbuf lease = KBUF_INIT;
    unsigned long long holder = 0;
    long long until = 0;
    if (kv_get(meta, "SL", 2, &lease) == K_OK) {
        char t[64];
        size_t l = lease.len < sizeof t - 1 ? lease.len : sizeof t - 1;
        memcpy(t, lease.data, l);
        t[l] = 0;
        if (sscanf(t, "%16llx %lld", &holder, &until) != 2 || until < now) holder = 0;
    }
    kbuf_free(&lease);
    if (json) {
        printf("{\"datanodes\":{\"total\":%zu,\"up\":%zu,\"down\":%zu,\"list\":[", n, up, n - up);
        for (size_t i = 0; i < n; i++) {
            kbuf b = KBUF_INIT; /* the registry's strings, escaped */
            kbuf_printf(&b, "%s{\"id\":\"%016llx\",\"up\":%s,\"zone\":", i ? "," : "",
                        (unsigned long long)list[i].id, list[i].up ? "true" : "false");
            json_write_str(&b, list[i].zone, strlen(list[i].zone));
            kbuf_printf(&b, ",\"media\":");
            json_write_str(&b, list[i].media, strlen(list[i].media));
            kbuf_printf(&b, ",\"address\":");
            json_write_str(&b, list[i].address, strlen(list[i].address));
            kbuf_printf(&b,
                        ",\"free\":%llu,\"capacity\":%llu,\"heartbeat_age_ms\":%lld,"
                        "\"volumes\":%zu}",
                        (unsigned long long)list[i].free_bytes,
                        (unsigned long long)list[i].capacity,
                        (long long)(now - list[i].heartbeat_ms), list[i].nvolumes);
            fwrite(b.data, 1, b.len, stdout);
            kbuf_free(&b);
        }
        printf("]},\"capacity\":{\"free\":%llu,\"total\":%llu},"
               "\"chunksets\":{\"total\":%lld,\"open\":%lld},\"scrub\":",
               (unsigned long long)free_b, (unsigned long long)cap_b, all, open);
        if (holder)
            printf("{\"holder\":\"%016llx\",\"lease_until_ms\":%lld}}\n", holder, until);
        else
            printf("null}\n");
    } else {
        printf("datanodes: %zu up, %zu down\n", up, n - up);
        for (size_t i = 0; i < n; i++)
            printf("  %016llx %-4s zone %s, %s, %s: %.1f of %.1f GiB free, heartbeat %.1f s ago, "
                   "%zu volume%s\n",
                   (unsigned long long)list[i].id, list[i].up ? "up" : "DOWN", list[i].zone,
                   list[i].media, list[i].address, (double)list[i].free_bytes / (1 << 30),
                   (double)list[i].capacity / (1 << 30),
                   (double)(now - list[i].heartbeat_ms) / 1000.0, list[i].nvolumes,
                   list[i].nvolumes == 1 ? "" : "s");
        printf("capacity: %.1f of %.1f GiB free on the datanodes up\n", (double)free_b / (1 << 30),
               (double)cap_b / (1 << 30));
        printf("chunksets: %lld, %lld open\n", all, open);
        if (holder)
            printf("scrub: a pass is running (gateway %016llx, lease for %.0f s more)\n", holder,
                   (double)(until - now) / 1000.0);
        else
            printf("scrub: no pass running\n");
    }
    rc = n > 0 && up == n && all >= 0 && open >= 0 ? 0 : 1;
    dnreg_list_free(list, n);
    kv_close(meta);
    config_free(cfg);
    return rc;
}

/* ---- kura admin fsck / repair ---- */

typedef struct fsck_run {
    const cs_health *h;
    bool quiet, tty;
    uint64_t objects, healthy, degraded, lost;
    uint64_t newer; /* written after the chunksets were walked: not judged */
    uint64_t ec_threshold;
    /* segments: stripes; replicated at or above ec_threshold (stored so
     * while fewer than k+m datanodes were up); other replicated ones */
    uint64_t seg_stripes, seg_large_replicated, seg_replicated;
    int64_t start_ms, last_ms;
} fsck_run;

/* Progress over the chunksets: a bar with rate and ETA on a terminal, a
 * plain line every 5 s (and at the end) otherwise. */
static void fsck_progress(void *arg, uint64_t done, uint64_t total) {
    fsck_run *r = arg;
    if (r->quiet) return;
    int64_t now = clock_real_ms();
    if (!r->tty && done != total && now - r->last_ms < 5000) return;
    r->last_ms = now;
    double secs = (double)(now - r->start_ms) / 1000.0;
    double rate = secs > 0 ? (double)done / secs : 0;
    double eta = rate > 0 ? (double)(total - done) / rate : 0;
    if (r->tty) {
        int width = 30, fill = total ? (int)((uint64_t)width * done / total) : width;
        fprintf(stderr, "\r[%.*s%.*s] %llu/%llu chunksets  %.1f/s  ETA %.0fs ", fill,
                "##############################", width - fill, "..............................",
                (unsigned long long)done, (unsigned long long)total, rate, eta);
        if (done == total) fputc('\n', stderr);
    } else {
        fprintf(stderr, "progress: %llu/%llu chunksets, %.1f/s, ETA %.0f s\n",
                (unsigned long long)done, (unsigned long long)total, rate, eta);
    }
}

/* One object: healthy when every needle has all its copies, lost when one
 * has none, degraded otherwise (also data outside chunksets: one copy). */
static int fsck_object(void *arg, const char *bucket, const char *key, size_t klen,
                       int64_t mtime_ms, const data_loc *run, uint32_t n) {
    fsck_run *r = arg;
    /* written since the walk over the chunksets began (by the gateways'
     * clocks, which agree with this one: NTP): its needles may postdate
     * the lists */
    if (run && mtime_ms > r->start_ms) {
        r->newer++;
        return 0;
    }
    int state = run || n == 0 ? 0 : 2; /* 0 healthy, 1 degraded, 2 lost */
    for (uint32_t i = 0; i < n; i++) {
        if (run[i].kind == DLOC_STRIPE)
            r->seg_stripes++;
        else if (run[i].kind == DLOC_CHUNKSET && r->ec_threshold &&
                 run[i].length >= r->ec_threshold)
            r->seg_large_replicated++;
        else if (run[i].kind == DLOC_CHUNKSET)
            r->seg_replicated++;
    }
    for (uint32_t i = 0; i < n && state < 2; i++) {
        uint32_t copies = 0, replicas = 0, need = 1;
        if (run[i].kind != DLOC_CHUNKSET && run[i].kind != DLOC_STRIPE) {
            state = 1;
        } else if (!cs_health_get(r->h, run[i].volume, run[i].offset, &copies, &replicas, &need) ||
                   copies < need) {
            state = 2;
        } else if (copies < replicas) {
            state = 1;
        }
    }
    r->objects++;
    if (state == 0) {
        r->healthy++;
        return 0;
    }
    if (state == 1)
        r->degraded++;
    else
        r->lost++;
    if (!r->quiet) printf("%s %s/%.*s\n", state == 1 ? "degraded" : "lost", bucket, (int)klen, key);
    return 0;
}

static int cmd_admin_fsck(int argc, char **argv, bool repair) {
    int rc = 0;
    const char *name = repair ? "admin repair" : "admin fsck";
    config *cfg = load_settings(name, settings_fsck, settings_fsck_count, argc, argv, false, &rc);
    if (!cfg) return rc;
    meta_url = config_str(cfg, "meta");
    meta_prefix = config_str(cfg, "meta-prefix");
    const char *sf = config_str(cfg, "cluster-secret-file");
    const char *sv = config_str(cfg, "cluster-secret");
    char *secret = sf ? read_file(sf) : sv ? strdup(sv) : NULL;
    if (secret) secret[strcspn(secret, "\r\n")] = 0;
    if (!secret || !*secret) {
        fprintf(stderr,
                "kura %s: give the cluster secret (--cluster-secret or "
                "--cluster-secret-file)\n",
                name);
        free(secret);
        config_free(cfg);
        return 2;
    }
    cluster_secret = secret;
    kv *meta = NULL;
    volset *vols = NULL;
    data_layer *data = NULL;
    objsvc *svc = NULL;
    users *us = NULL;
    cs_health *h = NULL;
    arena *a = arena_new(0);
    rc = 1;
    if (open_meta(".", &meta) || open_remote_volumes(meta, &vols)) goto out;
    fsck_run run = {.quiet = config_bool(cfg, "quiet"),
                    .tty = isatty(2) == 1,
                    .start_ms = clock_real_ms(),
                    .ec_threshold = (uint64_t)config_size(cfg, "ec-threshold")};
    cs_audit_opts o = {.deep = config_bool(cfg, "deep") || repair,
                       .repair = repair,
                       .progress = fsck_progress,
                       .arg = &run};
    cs_audit_stats st;
    kerr e = cs_audit(meta, vols, &o, &st, &h);
    if (e) {
        fprintf(stderr, "kura %s: cannot walk the chunksets (%s)\n", name, kerr_name(e));
        goto out;
    }
    fprintf(stderr, "%llu chunksets, %llu needles: %llu healthy, %llu degraded, %llu lost%s\n",
            (unsigned long long)st.chunksets, (unsigned long long)st.needles,
            (unsigned long long)st.healthy, (unsigned long long)st.degraded,
            (unsigned long long)st.lost, st.unreadable ? " (some records unreadable)" : "");
    if (repair)
        fprintf(stderr,
                "repair: %llu members replaced, %llu needles (%llu bytes) copied, %llu repairs "
                "failed\n",
                (unsigned long long)st.members_replaced, (unsigned long long)st.needles_copied,
                (unsigned long long)st.bytes_copied, (unsigned long long)st.repairs_failed);
    /* the objects: every account's buckets */
    char **aks, **names;
    size_t nu;
    if (users_open(meta, &us) || users_list(us, a, &aks, &names, &nu) ||
        data_open_local(vols, NULL, &data) || objsvc_open(meta, meta, data, &svc)) {
        fprintf(stderr, "kura %s: cannot read the users and buckets\n", name);
        goto out;
    }
    const char **owners = arena_alloc(a, (nu + 1) * sizeof *owners);
    size_t no = 0;
    owners[no++] = "root";
    for (size_t i = 0; i < nu; i++) {
        const char *colon = strchr(names[i], ':');
        const char *acct =
            colon ? arena_strndup(a, names[i], (size_t)(colon - names[i])) : names[i];
        bool seen = false;
        for (size_t j = 0; j < no && !seen; j++) seen = !strcmp(owners[j], acct);
        if (!seen) owners[no++] = acct;
    }
    run.h = h;
    uint64_t unreadable = 0;
    e = objsvc_walk_data(svc, owners, no, fsck_object, &run, &unreadable);
    if (e) {
        fprintf(stderr, "kura %s: cannot walk the objects (%s)\n", name, kerr_name(e));
        goto out;
    }
    fprintf(stderr,
            "segments: %llu erasure-coded, %llu replicated, %llu replicated of %llu bytes or more "
            "(erasure-coded when k+m datanodes are up)\n",
            (unsigned long long)run.seg_stripes, (unsigned long long)run.seg_replicated,
            (unsigned long long)run.seg_large_replicated, (unsigned long long)run.ec_threshold);
    if (run.newer)
        fprintf(stderr, "%llu objects written during the run were not checked\n",
                (unsigned long long)run.newer);
    printf("%llu objects, %llu healthy, %llu degraded, %llu lost\n",
           (unsigned long long)run.objects, (unsigned long long)run.healthy,
           (unsigned long long)run.degraded, (unsigned long long)run.lost);
    rc = run.degraded || run.lost || unreadable || st.unreadable ? 1 : 0;
out:
    cs_health_free(h);
    objsvc_close(svc);
    data_close(data);
    users_close(us);
    volset_close(vols);
    kv_close(meta);
    arena_free(a);
    free(secret);
    cluster_secret = NULL;
    config_free(cfg);
    return rc;
}

static int cmd_admin_user(int argc, char **argv) {
    int rc = 0;
    config *cfg =
        load_settings("admin user", settings_admin, settings_admin_count, argc, argv, true, &rc);
    if (!cfg) return rc;
    const char *const *args;
    size_t nargs = config_positional(cfg, &args);
    if (nargs < 1 || nargs > 4) {
        usage(stderr);
        config_free(cfg);
        return 2;
    }
    const char *sub = args[0];
    const char *const *pos = args + 1;
    int npos = (int)nargs - 1;
    const char *data = config_str(cfg, "data");
    meta_url = config_str(cfg, "meta");
    meta_prefix = config_str(cfg, "meta-prefix");
    kv *meta;
    if (open_meta(data, &meta)) {
        config_free(cfg);
        return 1;
    }
    users *us;
    if (users_open(meta, &us)) {
        kv_close(meta);
        config_free(cfg);
        return 1;
    }
    if (!strcmp(sub, "add") && (npos == 2 || npos == 3)) {
        const char *name = npos == 3 ? pos[2] : pos[0];
        if (!strcmp(name, "root")) {
            fprintf(stderr, "kura: the name root is reserved\n");
            rc = 2;
        } else if (users_put_roles(
                       us, pos[0], pos[1], name,
                       (config_bool(cfg, "admin") ? USER_ROLE_ADMIN : 0u) |
                           (config_bool(cfg, "reseller-admin") ? USER_ROLE_RESELLER : 0u))) {
            fprintf(stderr, "kura: could not add user\n");
            rc = 1;
        } else {
            printf("added %s (%s)\n", pos[0], name);
        }
    } else if (!strcmp(sub, "list") && npos == 0) {
        arena *a = arena_new(0);
        char **aks, **names;
        size_t n;
        if (users_list(us, a, &aks, &names, &n))
            rc = 1;
        else
            for (size_t i = 0; i < n; i++) {
                const char *secret, *nm;
                unsigned roles = 0;
                users_get_roles(us, a, aks[i], &secret, &nm, &roles);
                printf("%s\t%s%s%s\n", aks[i], names[i],
                       roles & USER_ROLE_ADMIN && strchr(names[i], ':') ? "\tadmin" : "",
                       roles & USER_ROLE_RESELLER ? "\treseller-admin" : "");
            }
        arena_free(a);
    } else if (!strcmp(sub, "remove") && npos == 1) {
        kerr e = users_delete(us, pos[0]);
        if (e) {
            fprintf(stderr, "kura: no such user %s\n", pos[0]);
            rc = 1;
        } else {
            printf("removed %s\n", pos[0]);
        }
    } else {
        usage(stderr);
        rc = 2;
    }
    users_close(us);
    kv_close(meta);
    config_free(cfg);
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 2) return cmd_serve(0, NULL);
    const char *cmd = argv[1];
    if (!strcmp(cmd, "serve")) return cmd_serve(argc - 2, argv + 2);
    if (!strcmp(cmd, "admin") && argc >= 3 && !strcmp(argv[2], "user"))
        return cmd_admin_user(argc - 3, argv + 3);
    if (!strcmp(cmd, "admin") && argc >= 3 && !strcmp(argv[2], "status"))
        return cmd_admin_status(argc - 3, argv + 3);
    if (!strcmp(cmd, "admin") && argc >= 3 &&
        (!strcmp(argv[2], "fsck") || !strcmp(argv[2], "repair")))
        return cmd_admin_fsck(argc - 3, argv + 3, !strcmp(argv[2], "repair"));
    if (!strcmp(cmd, "datanode") && argc >= 3 && !strcmp(argv[2], "list"))
        return cmd_datanode_list(argc - 3, argv + 3);
    if (!strcmp(cmd, "datanode")) return cmd_datanode(argc - 2, argv + 2);
    if (!strcmp(cmd, "bench")) {
        return kura_bench_main(argc - 2, argv + 2);
    }
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version"))
        return kura_version_print(stdout) ? 1 : 0;
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    if (cmd[0] == '-') return cmd_serve(argc - 1, argv + 1);
    usage(stderr);
    return 2;
}
