/* SPDX-License-Identifier: Apache-2.0 */
#include "gateway/settings.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Chunk files and compaction: the same for kura serve and kura datanode
 * (main.c turns them into storage/volume.h's volset_opts). */
/* clang-format off */
#define VOLUME_SETTINGS                                                                           \
    {"chunk-size", CFG_SIZE, "1G", 1 << 20, 1ll << 40, "SIZE",                                    \
     "chunk files grow to about SIZE before a new one is started"},                               \
    {"compact-threshold", CFG_INT, "30", 0, 100, "PCT",                                           \
     "rewrite a chunk file once PCT percent of it is reclaimable (deleted needles); 0: never"},  \
    {"compact-grace", CFG_INT, "900", 0, 604800, "SECS",                                          \
     "keep deleted needles SECS seconds, so that reads begun before a delete finish"},            \
    {"compact-interval", CFG_INT, "60", 0, 86400, "SECS",                                         \
     "compaction pass every SECS seconds, and soon after a volume fills up; 0: no compaction"},
/* clang-format on */

/* clang-format off */
const cfg_item settings_serve[] = {
    {"listen", CFG_STR, "127.0.0.1:9000", 1, 0, "HOST:PORT", "address to listen on"},
    {"admin-listen", CFG_STR, "127.0.0.1:9001", 1, 0, "HOST:PORT|off",
     "admin listener: /metrics, /health/live, /health/ready (off: none)"},
    {"data", CFG_LIST, "./data", 0, 0, "DIR",
     "data directory; repeat it or give DIR{1...4} for one volume each (metadata in the first)"},
    {"tls-cert", CFG_STR, NULL, 0, 0, "FILE", "PEM certificate: serve HTTPS on the same port"},
    {"tls-key", CFG_STR, NULL, 0, 0, "FILE", "PEM private key for --tls-cert"},
    {"domain", CFG_LIST, "localhost", 0, 0, "NAME", "base domain of virtual-host style buckets"},
    {"region", CFG_STR, "us-east-1", 1, 0, "NAME",
     "region of new buckets, and the only one SigV4 scopes may name"},
    {"meta", CFG_STR, NULL, 0, 0, "URL",
     "metadata on Redis: redis://H:P[,H:P...] or redis-cluster://H:P[,...] (default: LMDB)"},
    {"meta-prefix", CFG_STR, NULL, 0, 0, "STRING", "prefix of every metadata key"},
    {"swift-token-ttl", CFG_INT, "86400", 60, 31536000, "SECS",
     "lifetime of a Swift TempAuth token (GET /auth/v1.0)"},
    {"allow-missing-content-sha256", CFG_BOOL, "false", 0, 0, NULL,
     "accept SigV4 without x-amz-content-sha256 when the signature covers the body (curl < 8.1)"},
    {"metrics-token-file", CFG_STR, NULL, 0, 0, "FILE",
     "/metrics on the admin listener wants Authorization: Bearer <the first line of FILE>"},
    {"access-log", CFG_STR, "off", 1, 0, "FILE|-|off",
     "one JSON line per request to FILE (reopened on SIGHUP) or standard output (-)"},
    {"expiry-interval", CFG_INT, "60", 0, 86400, "SECS",
     "reclaim expired objects (Swift X-Delete-At) every SECS seconds; 0: never"},
    {"workers", CFG_INT, "64", 1, 4096, "N",
     "worker threads: requests worked on at once (more wait in a queue)"},
    {"event-threads", CFG_INT, "2", 1, 64, "N", "epoll threads that accept, read and write"},
    {"max-conns", CFG_INT, "10000", 1, 1000000, "N", "connections open at once (all clients)"},
    {"max-conns-per-ip", CFG_INT, "256", 0, 1000000, "N",
     "connections open at once from one address (0: no limit)"},
    {"idle-timeout", CFG_INT, "30", 0, 86400, "SECS",
     "close a connection without traffic for this long (0: never)"},
    {"header-timeout", CFG_INT, "15", 0, 86400, "SECS",
     "request line and headers within SECS of their first byte (0: no deadline)"},
    {"min-upload-rate", CFG_INT, "1024", 0, 1 << 30, "BYTES",
     "cut an upload slower than BYTES per second (0: no minimum)"},
    {"upload-rate-window", CFG_INT, "30", 1, 86400, "SECS",
     "window over which --min-upload-rate is measured"},
    {"min-free-space", CFG_STR, "auto", 1, 0, "SIZE|N%",
     "free space kept on each volume's filesystem: writes below it get 507 (auto: 1G or 5%, "
     "the smaller)"},
    VOLUME_SETTINGS
    {"datanodes-from-meta", CFG_BOOL, "false", 0, 0, NULL,
     "store object data on the datanodes registered in --meta (kura datanode) instead of local "
     "volumes"},
    {"cluster-secret", CFG_STR, NULL, 0, 0, "SECRET",
     "secret signing requests to datanodes (with --datanodes-from-meta)"},
    {"cluster-secret-file", CFG_STR, NULL, 0, 0, "FILE", "read --cluster-secret from FILE"},
    {"replicas", CFG_INT, "3", 1, 8, "N",
     "copies of every object on the datanodes (replicated chunksets; 1: one copy, no chunksets)"},
    {"open-chunksets", CFG_INT, "4", 1, 256, "N",
     "open chunksets each gateway keeps to spread writes over (creating more when fewer)"},
    {"chunkset-avg-fill", CFG_INT, "75", 0, 100, "PCT",
     "open one more chunkset (up to twice --open-chunksets) when the average fill of the open "
     "ones reaches PCT (0: never)"},
    {"chunkset-min-fill", CFG_INT, "50", 0, 100, "PCT",
     "open one more chunkset (up to twice --open-chunksets) when the least filled open one "
     "reaches PCT (0: never)"},
    {"zone", CFG_STR, NULL, 0, 0, "NAME",
     "the gateway's failure zone: chunksets it creates get their master there when they can"},
    {"scrub-interval", CFG_INT, "86400", 0, 31536000, "SECS",
     "a scrub pass (every copy read, damaged ones re-replicated) every SECS; one gateway of the "
     "cluster at a time (0: never)"},
    {"scrub-pause", CFG_INT, "100", 0, 60000, "MS", "pause between chunksets during a scrub"},
    {"ec-data", CFG_INT, "6", 1, 15, "K", "data shards of an erasure-coded stripe"},
    {"ec-parity", CFG_INT, "3", 0, 15, "M",
     "parity shards of an erasure-coded stripe (0: objects are replicated, never striped)"},
    {"ec-threshold", CFG_SIZE, "1M", 0, 1ll << 40, "SIZE",
     "objects at least this large are erasure-coded, smaller ones replicated"},
};
/* clang-format on */
const size_t settings_serve_count = sizeof settings_serve / sizeof *settings_serve;

const cfg_item settings_admin[] = {
    {"data", CFG_STR, "./data", 1, 0, "DIR", "data directory holding the LMDB metadata"},
    {"meta", CFG_STR, NULL, 0, 0, "URL", "metadata on Redis instead (as kura serve --meta)"},
    {"meta-prefix", CFG_STR, NULL, 0, 0, "STRING", "prefix of every metadata key"},
    {"admin", CFG_BOOL, "false", 0, 0, NULL,
     "user add: an ACCOUNT:USER that owns its account (others reach what container ACLs grant)"},
    {"reseller-admin", CFG_BOOL, "false", 0, 0, NULL,
     "user add: may act as the admin of any account (Swift)"},
};
const size_t settings_admin_count = sizeof settings_admin / sizeof *settings_admin;

/* clang-format off */
const cfg_item settings_datanode[] = {
    {"listen", CFG_STR, "127.0.0.1:9100", 1, 0, "HOST:PORT", "address to serve the volumes on"},
    {"advertise", CFG_STR, NULL, 0, 0, "HOST:PORT",
     "address gateways reach this datanode at (default: --listen)"},
    {"data", CFG_LIST, NULL, 0, 0, "DIR",
     "data directory; repeat it or give DIR{1...4} for one volume each (id in the first)"},
    {"zone", CFG_STR, "default", 1, 0, "NAME", "failure zone (letters, digits, . _ -)"},
    {"media", CFG_STR, "hdd", 1, 0, "ssd|hdd", "what the volumes are on (placement by size)"},
    {"secret", CFG_STR, NULL, 0, 0, "SECRET", "cluster secret signing datanode requests"},
    {"secret-file", CFG_STR, NULL, 0, 0, "FILE", "read the cluster secret from FILE (first line)"},
    {"meta", CFG_STR, NULL, 0, 0, "URL",
     "metadata store to register in: redis://H:P[,...] or redis-cluster://H:P[,...]"},
    {"meta-prefix", CFG_STR, NULL, 0, 0, "STRING", "prefix of every metadata key"},
    {"heartbeat", CFG_INT, "1000", 50, 60000, "MS", "registry record rewritten every MS"},
    {"min-free-space", CFG_STR, "auto", 1, 0, "SIZE|N%",
     "free space kept on each volume's filesystem (as kura serve)"},
    VOLUME_SETTINGS
    {"max-conns", CFG_INT, "1024", 1, 100000, "N", "connections open at once"},
};
/* clang-format on */
const size_t settings_datanode_count = sizeof settings_datanode / sizeof *settings_datanode;

/* clang-format off */
const cfg_item settings_fsck[] = {
    {"meta", CFG_STR, NULL, 1, 0, "URL", "metadata store of the cluster (as kura serve --meta)"},
    {"meta-prefix", CFG_STR, NULL, 0, 0, "STRING", "prefix of every metadata key"},
    {"cluster-secret", CFG_STR, NULL, 0, 0, "SECRET", "secret signing requests to datanodes"},
    {"cluster-secret-file", CFG_STR, NULL, 0, 0, "FILE", "read --cluster-secret from FILE"},
    {"deep", CFG_BOOL, "false", 0, 0, NULL,
     "read every copy of every needle (checksums verified), not only the chunk inventories"},
    {"quiet", CFG_BOOL, "false", 0, 0, NULL, "no progress, no line per damaged object"},
    {"ec-threshold", CFG_SIZE, "1M", 0, 1ll << 40, "SIZE",
     "the gateways' --ec-threshold: segments this large stored as replicas are counted apart "
     "(written while fewer than k+m datanodes were up)"},
};
/* clang-format on */
const size_t settings_fsck_count = sizeof settings_fsck / sizeof *settings_fsck;

/* clang-format off */
const cfg_item settings_status[] = {
    {"meta", CFG_STR, NULL, 1, 0, "URL", "metadata store of the cluster (as kura serve --meta)"},
    {"meta-prefix", CFG_STR, NULL, 0, 0, "STRING", "prefix of every metadata key"},
    {"down-after", CFG_INT, "5000", 100, 3600000, "MS",
     "a datanode without a heartbeat for MS milliseconds is down"},
    {"json", CFG_BOOL, "false", 0, 0, NULL, "one JSON document instead of text"},
};
/* clang-format on */
const size_t settings_status_count = sizeof settings_status / sizeof *settings_status;

/* clang-format off */
const cfg_item settings_datanode_list[] = {
    {"meta", CFG_STR, NULL, 1, 0, "URL", "metadata store the datanodes register in"},
    {"meta-prefix", CFG_STR, NULL, 0, 0, "STRING", "prefix of every metadata key"},
    {"down-after", CFG_INT, "5000", 100, 3600000, "MS",
     "a datanode whose last heartbeat is older is down"},
};
/* clang-format on */
const size_t settings_datanode_list_count =
    sizeof settings_datanode_list / sizeof *settings_datanode_list;

static bool check_listen(const char *flag, const char *listen, char *err, size_t cap) {
    const char *colon = strrchr(listen, ':');
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    if (!colon || colon == listen || !colon[1] || *end || port < 0 || port > 65535) {
        snprintf(err, cap, "%s wants HOST:PORT, got '%s'", flag, listen);
        return false;
    }
    return true;
}

/* A zone name: up to 64 letters, digits, '.', '_' or '-'. */
static bool check_zone(const char *zone, char *err, size_t cap) {
    for (const char *p = zone; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '_' || *p == '-') ||
            p - zone >= 64) {
            snprintf(err, cap, "--zone wants up to 64 letters, digits, '.', '_' or '-', got '%s'",
                     zone);
            return false;
        }
    return true;
}

kerr settings_check_datanode(const config *c, char *err, size_t cap) {
    if (!check_listen("--listen", config_str(c, "listen"), err, cap)) return K_EINVAL;
    const char *adv = config_str(c, "advertise");
    if (adv && !check_listen("--advertise", adv, err, cap)) return K_EINVAL;
    const char *const *l;
    if (config_list(c, "data", &l) == 0) {
        snprintf(err, cap, "--data needs at least one directory");
        return K_EINVAL;
    }
    if (!check_zone(config_str(c, "zone"), err, cap)) return K_EINVAL;
    const char *media = config_str(c, "media");
    if (strcmp(media, "ssd") && strcmp(media, "hdd")) {
        snprintf(err, cap, "--media wants ssd or hdd, got '%s'", media);
        return K_EINVAL;
    }
    if ((config_str(c, "secret") != NULL) == (config_str(c, "secret-file") != NULL)) {
        snprintf(err, cap, "give the cluster secret with exactly one of --secret, --secret-file");
        return K_EINVAL;
    }
    if (!config_str(c, "meta")) {
        snprintf(err, cap, "--meta URL is needed: datanodes register in the metadata store");
        return K_EINVAL;
    }
    settings_reserve vo;
    if (settings_min_free(config_str(c, "min-free-space"), &vo) != K_OK) {
        snprintf(err, cap, "--min-free-space wants a size, a percentage or auto, got '%s'",
                 config_str(c, "min-free-space"));
        return K_EINVAL;
    }
    return K_OK;
}

kerr settings_min_free(const char *text, settings_reserve *o) {
    if (!text) return K_EINVAL;
    if (!strcmp(text, "auto")) {
        *o = (settings_reserve){.kind = SETTINGS_RESERVE_AUTO};
        return K_OK;
    }
    size_t n = strlen(text);
    if (n >= 2 && n <= 3 && text[n - 1] == '%') {
        unsigned pct = 0;
        for (size_t i = 0; i + 1 < n; i++) {
            if (text[i] < '0' || text[i] > '9') return K_EINVAL;
            pct = pct * 10 + (unsigned)(text[i] - '0');
        }
        if (pct < 1 || pct > 99) return K_EINVAL;
        *o = (settings_reserve){.kind = SETTINGS_RESERVE_PERCENT, .percent = pct};
        return K_OK;
    }
    uint64_t bytes;
    if (!config_parse_size(text, &bytes)) return K_EINVAL;
    *o = (settings_reserve){.kind = SETTINGS_RESERVE_BYTES, .bytes = bytes};
    return K_OK;
}

kerr settings_check_serve(const config *c, char *err, size_t cap) {
    const char *listen = config_str(c, "listen");
    const char *colon = strrchr(listen, ':');
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    if (!colon || colon == listen || !colon[1] || *end || port < 0 || port > 65535) {
        snprintf(err, cap, "--listen wants HOST:PORT, got '%s'", listen);
        return K_EINVAL;
    }
    const char *admin = config_str(c, "admin-listen");
    if (strcmp(admin, "off")) {
        if (!check_listen("--admin-listen", admin, err, cap)) {
            snprintf(err, cap, "--admin-listen wants HOST:PORT or off, got '%s'", admin);
            return K_EINVAL;
        }
        /* same port on the same or a wildcard host: the S3 port (no bucket
         * name may be shadowed) */
        const char *ac = strrchr(admin, ':');
        long aport = strtol(ac + 1, NULL, 10);
        size_t hl = (size_t)(colon - listen), al = (size_t)(ac - admin);
        bool same_host = (hl == al && !strncmp(listen, admin, hl)) ||
                         (hl == 7 && !strncmp(listen, "0.0.0.0", 7)) ||
                         (al == 7 && !strncmp(admin, "0.0.0.0", 7));
        if (aport != 0 && aport == port && same_host) {
            snprintf(err, cap, "--admin-listen %s is the --listen address: give it its own port",
                     admin);
            return K_EINVAL;
        }
    }
    const char *zone = config_str(c, "zone");
    if (zone && !check_zone(zone, err, cap)) return K_EINVAL;
    if ((config_str(c, "tls-cert") == NULL) != (config_str(c, "tls-key") == NULL)) {
        snprintf(err, cap, "--tls-cert and --tls-key go together");
        return K_EINVAL;
    }
    const char *const *l;
    if (config_list(c, "data", &l) == 0) {
        snprintf(err, cap, "--data needs at least one directory");
        return K_EINVAL;
    }
    if (config_list(c, "domain", &l) > 32) {
        snprintf(err, cap, "at most 32 --domain values");
        return K_EINVAL;
    }
    settings_reserve vo;
    if (settings_min_free(config_str(c, "min-free-space"), &vo) != K_OK) {
        snprintf(err, cap,
                 "--min-free-space wants a size (512M, 2G, 0), a percentage from 1%% to 99%% "
                 "or auto, got '%s'",
                 config_str(c, "min-free-space"));
        return K_EINVAL;
    }
    if (config_bool(c, "datanodes-from-meta")) {
        const char *meta = config_str(c, "meta");
        if (!meta || !strncmp(meta, "lmdb:", 5)) {
            snprintf(err, cap,
                     "--datanodes-from-meta needs --meta redis://... (the datanodes' "
                     "registry)");
            return K_EINVAL;
        }
        if ((config_str(c, "cluster-secret") != NULL) ==
            (config_str(c, "cluster-secret-file") != NULL)) {
            snprintf(err, cap,
                     "--datanodes-from-meta needs exactly one of --cluster-secret, "
                     "--cluster-secret-file");
            return K_EINVAL;
        }
    }
    int64_t k = config_int(c, "ec-data"), m = config_int(c, "ec-parity");
    if (k + m > 16) { /* storage/chunkset.h CS_MAX_REPLICAS: members of a stripeset */
        snprintf(err, cap, "--ec-data + --ec-parity must be at most 16, got %lld+%lld",
                 (long long)k, (long long)m);
        return K_EINVAL;
    }
    return K_OK;
}
