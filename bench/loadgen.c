/* SPDX-License-Identifier: Apache-2.0 */
/* kura bench: an S3 load generator (PUT, GET, LIST, or a mix) on libcurl.
 *
 * Each worker thread owns one CURL easy handle, so each keeps one keep-alive
 * connection for the whole run. Requests are signed by curl's SigV4
 * (CURLOPT_AWS_SIGV4) with an explicit "x-amz-content-sha256:
 * UNSIGNED-PAYLOAD" header, which curl 7.88 signs but does not add itself.
 *
 * Payloads come from one pseudo-random pattern of about 1 MiB, fixed by the
 * seed: byte i of object k is pattern[(base(k) + i) % PATTERN_LEN]. Bodies
 * are streamed from the pattern by the read callback, so a 1 GiB PUT uses
 * no more memory than a 4 KiB one, and GET bodies are compared against the
 * same function when --verify is given.
 *
 * Latencies go into per-thread log-bucket histograms (HDR-like, ~1.6%
 * resolution) that need no locking and are merged after the run. Only
 * successful requests count as ops; anything else (transport failure,
 * non-2xx status, short or wrong body) counts as an error and is reported.
 */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "bench/loadgen.h"
#include "common/clock.h"
#include "common/hash.h"

/* ---- options --------------------------------------------------------------- */

typedef enum bench_op { BENCH_PUT, BENCH_GET, BENCH_LIST, BENCH_MIXED } bench_op;

/* The request kinds results are broken down by (mixed runs all three). */
enum { KIND_PUT, KIND_GET, KIND_LIST, KIND__COUNT };
static const char *const kind_names[KIND__COUNT] = {"put", "get", "list"};

/* Mixed workload shares, in percent; the rest are LISTs. */
enum { MIXED_GET_PCT = 60, MIXED_PUT_PCT = 30 };

enum { MAX_CONCURRENCY = 1024, LIST_MAX_KEYS = 100, ERRORS_SHOWN = 5, STALL_SECONDS = 120 };

typedef struct bench_opts {
    char endpoint[1024]; /* without trailing slash */
    const char *access_key, *secret_key, *region;
    const char *bucket, *prefix;
    bench_op op;
    uint64_t size;
    int concurrency;
    double duration; /* seconds; 0 when --count drives the run */
    uint64_t count;
    uint64_t objects;
    bool objects_given;
    bool prepare, insecure, verify;
    uint64_t seed;
} bench_opts;

static void usage(FILE *f) {
    fputs("usage: kura bench [options]\n"
          "  --endpoint URL        S3 endpoint (default http://127.0.0.1:9000)\n"
          "  --access-key AK       (default $KURA_ROOT_ACCESS_KEY)\n"
          "  --secret-key SK       (default $KURA_ROOT_SECRET_KEY)\n"
          "  --region REGION       SigV4 region (default us-east-1)\n"
          "  --bucket NAME         created if missing (default kura-bench)\n"
          "  --prefix PREFIX       key prefix (default kura-bench)\n"
          "  --op put|get|list|mixed   mixed = 60% get, 30% put, 10% list (default put)\n"
          "  --size N[KiB|MiB|GiB] object size; K/M/G and KiB/MiB/GiB are binary,\n"
          "                        KB/MB/GB decimal (default 4KiB)\n"
          "  --concurrency N       worker threads, one connection each (default 1)\n"
          "  --duration SECONDS    run for this long (default 10 unless --count)\n"
          "  --count N             or: run exactly N requests in total\n"
          "  --objects N           key space. get/mixed read (and mixed overwrites) keys\n"
          "                        0..N-1, uploading missing ones first; put wraps around\n"
          "                        N keys when given, else writes a new key per request\n"
          "                        (default for get/mixed: 2 GiB / size, within 1..1000)\n"
          "  --prepare             upload all N keys before the run even if present\n"
          "  --verify              compare GET bodies with the generated content and PUT\n"
          "                        ETags with the MD5 of what was sent\n"
          "  --seed N              content seed (default 1; same seed, same bytes)\n"
          "  --insecure            do not verify the TLS certificate (https endpoints)\n"
          "Output: one line per request kind, key=value fields:\n"
          "  op size concurrency ops errors seconds ops/s MB/s p50_ms p99_ms max_ms new_conns\n"
          "  ops counts successful requests only; MB/s is 10^6 body bytes (objects, or\n"
          "  listing XML) per second; latencies are of successful requests; new_conns\n"
          "  counts connections opened after warm-up (0 while keep-alive holds).\n"
          "  Exit status 1 if any request failed.\n",
          f);
}

/* "4KiB", "1MiB", "1GiB", "4k", "10MB", "512": binary unless the suffix is
 * the decimal KB/MB/GB/TB form. */
static bool parse_size(const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || errno || *s == '-') return false;
    uint64_t mult = 1;
    if (*end) {
        static const char units[] = "KMGT";
        const char *u = strchr(units, end[0] & ~0x20);
        if (!u || !end[0]) return false;
        bool decimal = !strcmp(end + 1, "B") || !strcmp(end + 1, "b");
        bool binary = !end[1] || !strcmp(end + 1, "i") || !strcmp(end + 1, "iB");
        if (!decimal && !binary) return false;
        for (const char *p = units; p <= u; p++) mult *= decimal ? 1000 : 1024;
    }
    if (v > UINT64_MAX / mult) return false;
    *out = v * mult;
    return true;
}

static bool parse_u64(const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end || errno || *s == '-') return false;
    *out = v;
    return true;
}

/* "4KiB" for exact binary multiples, else the byte count. */
static void size_label(uint64_t size, char *out, size_t cap) {
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (u < 4 && size && size % 1024 == 0) {
        size /= 1024;
        u++;
    }
    snprintf(out, cap, "%" PRIu64 "%s", size, units[u]);
}

static int parse_args(int argc, char **argv, bench_opts *o) {
    memset(o, 0, sizeof *o);
    snprintf(o->endpoint, sizeof o->endpoint, "%s", "http://127.0.0.1:9000");
    o->access_key = getenv("KURA_ROOT_ACCESS_KEY");
    o->secret_key = getenv("KURA_ROOT_SECRET_KEY");
    o->region = "us-east-1";
    o->bucket = "kura-bench";
    o->prefix = "kura-bench";
    o->op = BENCH_PUT;
    o->size = 4096;
    o->concurrency = 1;
    o->seed = 1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 1;
        }
        if (!strcmp(a, "--prepare")) {
            o->prepare = true;
            continue;
        }
        if (!strcmp(a, "--insecure") || !strcmp(a, "-k")) {
            o->insecure = true;
            continue;
        }
        if (!strcmp(a, "--verify")) {
            o->verify = true;
            continue;
        }
        const char *v = i + 1 < argc ? argv[++i] : NULL;
        if (!v) {
            fprintf(stderr, "kura bench: %s needs a value (see --help)\n", a);
            return 2;
        }
        uint64_t n;
        if (!strcmp(a, "--endpoint")) {
            size_t len = strlen(v);
            while (len && v[len - 1] == '/') len--;
            if (len >= sizeof o->endpoint ||
                (strncmp(v, "http://", 7) && strncmp(v, "https://", 8))) {
                fprintf(stderr, "kura bench: --endpoint wants http://HOST:PORT or https://...\n");
                return 2;
            }
            snprintf(o->endpoint, sizeof o->endpoint, "%.*s", (int)len, v);
        } else if (!strcmp(a, "--access-key")) {
            o->access_key = v;
        } else if (!strcmp(a, "--secret-key")) {
            o->secret_key = v;
        } else if (!strcmp(a, "--region")) {
            o->region = v;
        } else if (!strcmp(a, "--bucket")) {
            o->bucket = v;
        } else if (!strcmp(a, "--prefix")) {
            o->prefix = v;
        } else if (!strcmp(a, "--op")) {
            if (!strcmp(v, "put"))
                o->op = BENCH_PUT;
            else if (!strcmp(v, "get"))
                o->op = BENCH_GET;
            else if (!strcmp(v, "list"))
                o->op = BENCH_LIST;
            else if (!strcmp(v, "mixed"))
                o->op = BENCH_MIXED;
            else {
                fprintf(stderr, "kura bench: --op is put, get, list or mixed\n");
                return 2;
            }
        } else if (!strcmp(a, "--size")) {
            if (!parse_size(v, &o->size)) {
                fprintf(stderr, "kura bench: bad --size %s (e.g. 4KiB, 1MiB, 1GiB)\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--concurrency") || !strcmp(a, "-c")) {
            if (!parse_u64(v, &n) || n < 1 || n > MAX_CONCURRENCY) {
                fprintf(stderr, "kura bench: --concurrency is 1..%d\n", MAX_CONCURRENCY);
                return 2;
            }
            o->concurrency = (int)n;
        } else if (!strcmp(a, "--duration")) {
            char *end;
            o->duration = strtod(v, &end);
            if (end == v || *end || !(o->duration > 0)) {
                fprintf(stderr, "kura bench: bad --duration %s\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--count")) {
            if (!parse_u64(v, &o->count) || !o->count) {
                fprintf(stderr, "kura bench: bad --count %s\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--objects")) {
            if (!parse_u64(v, &o->objects) || !o->objects) {
                fprintf(stderr, "kura bench: bad --objects %s\n", v);
                return 2;
            }
            o->objects_given = true;
        } else if (!strcmp(a, "--seed")) {
            if (!parse_u64(v, &o->seed)) {
                fprintf(stderr, "kura bench: bad --seed %s\n", v);
                return 2;
            }
        } else {
            fprintf(stderr, "kura bench: unknown option %s (see --help)\n", a);
            return 2;
        }
    }
    if (!o->access_key || !o->secret_key || !*o->access_key || !*o->secret_key) {
        fprintf(stderr, "kura bench: no credentials: give --access-key/--secret-key or set "
                        "KURA_ROOT_ACCESS_KEY/KURA_ROOT_SECRET_KEY\n");
        return 2;
    }
    /* The bucket goes into URLs as is, so hold it to S3's naming rules. */
    size_t blen = strlen(o->bucket);
    bool bucket_ok = blen >= 3 && blen <= 63;
    for (const char *c = o->bucket; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '.'))
            bucket_ok = false;
    if (!bucket_ok) {
        fprintf(stderr, "kura bench: --bucket wants 3-63 of a-z 0-9 . -\n");
        return 2;
    }
    if (strlen(o->prefix) > 256) {
        fprintf(stderr, "kura bench: --prefix is at most 256 bytes\n");
        return 2;
    }
    if (o->duration > 0 && o->count) {
        fprintf(stderr, "kura bench: give --duration or --count, not both\n");
        return 2;
    }
    if (!o->duration && !o->count) o->duration = 10;
    if (!o->objects_given) {
        uint64_t fit = (2ull << 30) / (o->size ? o->size : 1);
        o->objects = fit < 1 ? 1 : fit > 1000 ? 1000 : fit;
    }
    return 0;
}

/* ---- generated content ------------------------------------------------------ */

/* Not a power of two, so object boundaries and curl's buffer sizes do not
 * line up with the pattern's period. */
#define PATTERN_LEN (((size_t)1 << 20) + 4093)

static uint8_t *pattern;

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void pattern_init(uint64_t seed) {
    pattern = malloc(PATTERN_LEN + 8);
    if (!pattern) abort();
    uint64_t state = seed;
    for (size_t i = 0; i < PATTERN_LEN; i += 8) {
        uint64_t r = splitmix64(&state);
        memcpy(pattern + i, &r, 8);
    }
}

/* Where object k's content starts in the pattern: different keys get
 * different bytes, so a server answering with the wrong object fails
 * --verify. */
static uint64_t pattern_base(uint64_t key_index) {
    return (key_index * 2654435761ull) % PATTERN_LEN;
}

static void pattern_copy(uint8_t *dst, uint64_t pos, size_t n) {
    pos %= PATTERN_LEN;
    while (n) {
        size_t run = PATTERN_LEN - (size_t)pos < n ? PATTERN_LEN - (size_t)pos : n;
        memcpy(dst, pattern + pos, run);
        dst += run;
        n -= run;
        pos = 0;
    }
}

static bool pattern_equal(const uint8_t *src, uint64_t pos, size_t n) {
    pos %= PATTERN_LEN;
    while (n) {
        size_t run = PATTERN_LEN - (size_t)pos < n ? PATTERN_LEN - (size_t)pos : n;
        if (memcmp(src, pattern + pos, run)) return false;
        src += run;
        n -= run;
        pos = 0;
    }
    return true;
}

/* ---- latency histogram ------------------------------------------------------ */

/* Values (ns) below 2^SUB_BITS are exact; above, each power of two is split
 * into 2^SUB_BITS buckets, so a bucket is within 1/64 of its values. */
enum {
    HIST_SUB_BITS = 6,
    HIST_SUB = 1 << HIST_SUB_BITS,
    HIST_BUCKETS = (64 - HIST_SUB_BITS + 1) * HIST_SUB
};

typedef struct latency_hist {
    uint64_t counts[HIST_BUCKETS];
    uint64_t n, max_ns;
} latency_hist;

static unsigned hist_index(uint64_t v) {
    if (v < HIST_SUB) return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = msb - HIST_SUB_BITS;
    return (shift + 1) * HIST_SUB + (unsigned)((v >> shift) & (HIST_SUB - 1));
}

/* Highest value that falls in the bucket: percentiles read from it are
 * never lower than the true ones. */
static uint64_t hist_upper(unsigned idx) {
    if (idx < HIST_SUB) return idx;
    unsigned shift = idx / HIST_SUB - 1;
    uint64_t low = (uint64_t)(HIST_SUB + idx % HIST_SUB) << shift;
    return low + ((1ull << shift) - 1);
}

static void hist_record(latency_hist *h, uint64_t ns) {
    h->counts[hist_index(ns)]++;
    h->n++;
    if (ns > h->max_ns) h->max_ns = ns;
}

static void hist_merge(latency_hist *into, const latency_hist *from) {
    for (unsigned i = 0; i < HIST_BUCKETS; i++) into->counts[i] += from->counts[i];
    into->n += from->n;
    if (from->max_ns > into->max_ns) into->max_ns = from->max_ns;
}

static uint64_t hist_percentile(const latency_hist *h, double p) {
    if (!h->n) return 0;
    uint64_t rank = (uint64_t)(p * (double)h->n + 0.999999);
    if (rank < 1) rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t v = hist_upper(i);
            return v > h->max_ns ? h->max_ns : v;
        }
    }
    return h->max_ns;
}

/* ---- workers ----------------------------------------------------------------- */

typedef struct kind_stats {
    latency_hist hist;
    uint64_t ops, errors, bytes;
} kind_stats;

typedef struct bench bench;

/* State of the request in flight, read and written by curl's callbacks. */
typedef struct transfer {
    /* upload */
    uint64_t up_size, up_sent, up_base;
    khash *up_md5; /* set when PUT ETags are verified */
    /* download */
    long status;
    bool verify_body, body_mismatch;
    uint64_t down_base, received;
    char snippet[512]; /* start of an error body, or of a listing */
    size_t snippet_len;
    bool capture_body;
    char etag[80];
} transfer;

typedef struct worker {
    bench *b;
    int index;
    pthread_t thread;
    CURL *curl;
    struct curl_slist *headers;
    char errbuf[CURL_ERROR_SIZE];
    char url[8192];
    transfer t;
    uint64_t rng;
    kind_stats stats[KIND__COUNT];
    uint64_t failed_by_status[600]; /* 0 = transport failure */
    uint64_t prepared, present;     /* prepare phase */
    uint64_t connects;              /* new connections opened */
    bool failed_setup;
} worker;

struct bench {
    bench_opts o;
    char userpwd[512];
    char sigv4[256];
    char size_label[32];
    char key_prefix[512]; /* "<prefix>/<size>/" */
    worker *workers;
    atomic_uint_fast64_t next_op;
    atomic_int errors_shown;
    struct timespec deadline;
    bool use_deadline;
};

static uint64_t xorshift64(uint64_t *s) {
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static size_t on_read(char *dst, size_t size, size_t nitems, void *ctx) {
    transfer *t = ctx;
    size_t want = size * nitems;
    uint64_t left = t->up_size - t->up_sent;
    size_t n = left < want ? (size_t)left : want;
    pattern_copy((uint8_t *)dst, t->up_base + t->up_sent, n);
    if (t->up_md5) khash_update(t->up_md5, dst, n);
    t->up_sent += n;
    return n;
}

/* curl rewinds the body when it must resend it (e.g. on a redirect or a
 * reused connection that died); only a rewind to the start keeps the MD5
 * meaningful, and that is the only one curl asks for here. */
static int on_seek(void *ctx, curl_off_t offset, int origin) {
    transfer *t = ctx;
    if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > t->up_size)
        return CURL_SEEKFUNC_CANTSEEK;
    if (t->up_md5) {
        if (offset != 0) return CURL_SEEKFUNC_CANTSEEK;
        khash_reset(t->up_md5);
    }
    t->up_sent = (uint64_t)offset;
    return CURL_SEEKFUNC_OK;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *ctx) {
    worker *w = ctx;
    transfer *t = &w->t;
    size_t n = size * nmemb;
    if (!t->status) curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &t->status);
    bool ok = t->status >= 200 && t->status < 300;
    if ((!ok || t->capture_body) && t->snippet_len < sizeof t->snippet - 1) {
        size_t room = sizeof t->snippet - 1 - t->snippet_len;
        size_t c = n < room ? n : room;
        memcpy(t->snippet + t->snippet_len, data, c);
        t->snippet_len += c;
        t->snippet[t->snippet_len] = 0;
    }
    if (ok && t->verify_body && !t->body_mismatch &&
        !pattern_equal((const uint8_t *)data, t->down_base + t->received, n))
        t->body_mismatch = true;
    t->received += n;
    return n;
}

static size_t on_header(char *data, size_t size, size_t nitems, void *ctx) {
    transfer *t = ctx;
    size_t n = size * nitems;
    if (n > 5 && !strncasecmp(data, "etag:", 5)) {
        const char *v = data + 5, *end = data + n;
        while (v < end && (*v == ' ' || *v == '"')) v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '"'))
            end--;
        snprintf(t->etag, sizeof t->etag, "%.*s", (int)(end - v), v);
    }
    return n;
}

typedef enum http_method { M_GET, M_HEAD, M_PUT } http_method;

/* Percent-encodes s for a URL path (keep_slash) or a query value, with the
 * SigV4 unreserved set, so the URL curl signs is already canonical. */
static size_t uri_encode(char *out, size_t cap, const char *s, bool keep_slash) {
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/');
        if (o + 4 >= cap) break;
        if (plain) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = 0;
    return o;
}

/* Runs one request on the worker's handle. Returns true for a 2xx answer
 * with the expected body; fills status (0 when the transport failed). */
static bool perform(worker *w, http_method method, const char *url, uint64_t up_size,
                    uint64_t up_base, uint64_t *latency_ns) {
    bench *b = w->b;
    CURL *c = w->curl;
    /* Options are reset per request so no setting leaks from one method to
     * the next; the reset keeps the handle's live connection. */
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROXY, ""); /* never route a benchmark through a proxy */
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, b->sigv4);
    curl_easy_setopt(c, CURLOPT_USERPWD, b->userpwd);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, w->headers);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, w->errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, w);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &w->t);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    /* A request that moves no byte for STALL_SECONDS is an error, not a
     * reason to hang the run. */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)STALL_SECONDS);
    if (b->o.insecure) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (b->o.size >= (1u << 20)) {
        /* Bigger transfer buffers: fewer callbacks and syscalls per GiB. */
        curl_easy_setopt(c, CURLOPT_BUFFERSIZE, (long)CURL_MAX_READ_SIZE);
        curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 2L << 20);
    }
    if (method == M_PUT) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)up_size);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, &w->t);
        curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(c, CURLOPT_SEEKDATA, &w->t);
    } else if (method == M_HEAD) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    }
    w->t.up_size = up_size;
    w->t.up_sent = 0;
    w->t.up_base = up_base;
    if (w->t.up_md5) khash_reset(w->t.up_md5);
    w->t.status = 0;
    w->t.body_mismatch = false;
    w->t.received = 0;
    w->t.snippet_len = 0;
    w->t.snippet[0] = 0;
    w->t.etag[0] = 0;
    w->errbuf[0] = 0;

    uint64_t t0 = clock_mono_ns();
    CURLcode rc = curl_easy_perform(c);
    *latency_ns = clock_mono_ns() - t0;
    long connects = 0;
    if (curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK && connects > 0)
        w->connects += (uint64_t)connects;
    if (rc != CURLE_OK) {
        w->t.status = 0;
        return false;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &w->t.status);
    return w->t.status >= 200 && w->t.status < 300;
}

/* Prints the first few failures in full; the rest are only counted. */
static void report_error(worker *w, const char *what, const char *url, const char *detail) {
    bench *b = w->b;
    if (atomic_fetch_add(&b->errors_shown, 1) >= ERRORS_SHOWN) return;
    const char *path = url + strlen(b->o.endpoint);
    if (detail) {
        fprintf(stderr, "kura bench: %s %s: %s\n", what, path, detail);
    } else if (!w->t.status) {
        fprintf(stderr, "kura bench: %s %s: %s\n", what, path,
                w->errbuf[0] ? w->errbuf : "transfer failed");
    } else {
        /* Show the S3 error Code when the body has one. */
        const char *code = strstr(w->t.snippet, "<Code>");
        const char *code_end = code ? strstr(code, "</Code>") : NULL;
        if (code && code_end)
            fprintf(stderr, "kura bench: %s %s: HTTP %ld %.*s\n", what, path, w->t.status,
                    (int)(code_end - code - 6), code + 6);
        else
            fprintf(stderr, "kura bench: %s %s: HTTP %ld %.200s\n", what, path, w->t.status,
                    w->t.snippet);
    }
}

static void object_url(worker *w, uint64_t key_index) {
    bench *b = w->b;
    char key[1024], enc[3072];
    snprintf(key, sizeof key, "%sobj-%08" PRIu64, b->key_prefix, key_index);
    uri_encode(enc, sizeof enc, key, true);
    snprintf(w->url, sizeof w->url, "%s/%s/%s", b->o.endpoint, b->o.bucket, enc);
}

static bool do_put(worker *w, uint64_t key_index, uint64_t *latency) {
    object_url(w, key_index);
    bool ok = perform(w, M_PUT, w->url, w->b->o.size, pattern_base(key_index), latency);
    if (ok && w->t.up_sent != w->b->o.size) {
        report_error(w, "PUT", w->url, "curl sent fewer bytes than the object size");
        ok = false;
    } else if (ok && w->t.up_md5) {
        uint8_t md5[32];
        char hex[33];
        khash_final(w->t.up_md5, md5);
        hex_encode(md5, 16, hex);
        if (strcmp(w->t.etag, hex)) {
            char msg[256];
            snprintf(msg, sizeof msg, "ETag %s is not the MD5 of the body sent (%s)", w->t.etag,
                     hex);
            report_error(w, "PUT", w->url, msg);
            ok = false;
        }
    } else if (!ok) {
        report_error(w, "PUT", w->url, NULL);
    }
    return ok;
}

static bool do_get(worker *w, uint64_t key_index, uint64_t *latency) {
    object_url(w, key_index);
    w->t.verify_body = w->b->o.verify;
    w->t.down_base = pattern_base(key_index);
    bool ok = perform(w, M_GET, w->url, 0, 0, latency);
    w->t.verify_body = false;
    if (!ok) {
        report_error(w, "GET", w->url, NULL);
    } else if (w->t.received != w->b->o.size) {
        char msg[128];
        snprintf(msg, sizeof msg, "got %" PRIu64 " bytes, want %" PRIu64, w->t.received,
                 w->b->o.size);
        report_error(w, "GET", w->url, msg);
        ok = false;
    } else if (w->t.body_mismatch) {
        report_error(w, "GET", w->url, "body differs from what was written (--verify)");
        ok = false;
    }
    return ok;
}

static bool do_list(worker *w, uint64_t *latency) {
    bench *b = w->b;
    char prefix[1536];
    uri_encode(prefix, sizeof prefix, b->key_prefix, false);
    /* Parameters already in canonical form (sorted, strictly encoded), so
     * the signature does not depend on how a curl version canonicalizes. */
    snprintf(w->url, sizeof w->url, "%s/%s?list-type=2&max-keys=%d&prefix=%s", b->o.endpoint,
             b->o.bucket, LIST_MAX_KEYS, prefix);
    w->t.capture_body = true;
    bool ok = perform(w, M_GET, w->url, 0, 0, latency);
    w->t.capture_body = false;
    if (!ok) {
        report_error(w, "LIST", w->url, NULL);
    } else if (!strstr(w->t.snippet, "<ListBucketResult")) {
        report_error(w, "LIST", w->url, "answer is not a ListBucketResult");
        ok = false;
    }
    return ok;
}

static void record(worker *w, int kind, bool ok, uint64_t latency, uint64_t bytes) {
    kind_stats *s = &w->stats[kind];
    if (ok) {
        s->ops++;
        s->bytes += bytes;
        hist_record(&s->hist, latency);
    } else {
        s->errors++;
        long status = w->t.status;
        w->failed_by_status[status > 0 && status < 600 ? status : 0]++;
    }
}

static bool past_deadline(const bench *b) {
    if (!b->use_deadline) return false;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec > b->deadline.tv_sec ||
           (ts.tv_sec == b->deadline.tv_sec && ts.tv_nsec >= b->deadline.tv_nsec);
}

static void *run_worker(void *arg) {
    worker *w = arg;
    bench *b = w->b;
    const bench_opts *o = &b->o;
    for (;;) {
        if (past_deadline(b)) break;
        uint64_t i = atomic_fetch_add(&b->next_op, 1);
        if (o->count && i >= o->count) break;
        int kind;
        switch (o->op) {
        case BENCH_PUT:
            kind = KIND_PUT;
            break;
        case BENCH_GET:
            kind = KIND_GET;
            break;
        case BENCH_LIST:
            kind = KIND_LIST;
            break;
        default: {
            uint64_t r = xorshift64(&w->rng) % 100;
            kind = r < MIXED_GET_PCT                   ? KIND_GET
                   : r < MIXED_GET_PCT + MIXED_PUT_PCT ? KIND_PUT
                                                       : KIND_LIST;
        }
        }
        uint64_t latency = 0;
        bool ok;
        if (kind == KIND_PUT) {
            /* A pure PUT run writes fresh keys unless a key space was given;
             * mixed runs overwrite the keys their GETs read. */
            uint64_t key = o->op == BENCH_PUT && !o->objects_given ? i
                           : o->op == BENCH_PUT                    ? i % o->objects
                                                : xorshift64(&w->rng) % o->objects;
            ok = do_put(w, key, &latency);
            record(w, kind, ok, latency, o->size);
        } else if (kind == KIND_GET) {
            ok = do_get(w, xorshift64(&w->rng) % o->objects, &latency);
            record(w, kind, ok, latency, o->size);
        } else {
            ok = do_list(w, &latency);
            record(w, kind, ok, latency, w->t.received);
        }
    }
    return NULL;
}

/* Prepare phase: warm the connection, then make keys 0..objects-1 exist with
 * the right size (HEAD; PUT when missing, of another size, or --prepare). */
static void *run_prepare(void *arg) {
    worker *w = arg;
    bench *b = w->b;
    uint64_t latency;
    for (;;) {
        uint64_t i = atomic_fetch_add(&b->next_op, 1);
        if (i >= b->o.objects) break;
        if (!b->o.prepare) {
            object_url(w, i);
            if (perform(w, M_HEAD, w->url, 0, 0, &latency)) {
                curl_off_t len = -1;
                curl_easy_getinfo(w->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
                if (len == (curl_off_t)b->o.size) {
                    w->present++;
                    continue;
                }
            } else if (w->t.status != 404) {
                report_error(w, "HEAD", w->url, NULL);
                w->failed_setup = true;
                break;
            }
        }
        if (!do_put(w, i, &latency)) {
            w->failed_setup = true;
            break;
        }
        w->prepared++;
    }
    return NULL;
}

/* A HEAD of the bucket per worker opens every connection before timing
 * starts, so connection setup is not charged to the first requests. Only
 * failing to connect is fatal; the status was judged by ensure_bucket. */
static void *run_warmup(void *arg) {
    worker *w = arg;
    bench *b = w->b;
    snprintf(w->url, sizeof w->url, "%s/%s", b->o.endpoint, b->o.bucket);
    uint64_t latency;
    if (!perform(w, M_HEAD, w->url, 0, 0, &latency) && !w->t.status) {
        report_error(w, "HEAD", w->url, NULL);
        w->failed_setup = true;
    }
    return NULL;
}

static bool run_phase(bench *b, void *(*fn)(void *)) {
    atomic_store(&b->next_op, 0);
    int started = 0;
    for (int i = 0; i < b->o.concurrency; i++) {
        if (pthread_create(&b->workers[i].thread, NULL, fn, &b->workers[i])) {
            fprintf(stderr, "kura bench: cannot start thread %d\n", i);
            break;
        }
        started++;
    }
    for (int i = 0; i < started; i++) pthread_join(b->workers[i].thread, NULL);
    bool ok = started == b->o.concurrency;
    for (int i = 0; i < started; i++) ok = ok && !b->workers[i].failed_setup;
    return ok;
}

/* HEAD the bucket; create it on 404. Other answers (a 403 for a user who
 * may write but not read the bucket) only warn: the run then shows what
 * each request gets. */
static bool ensure_bucket(bench *b) {
    worker *w = &b->workers[0];
    uint64_t latency;
    snprintf(w->url, sizeof w->url, "%s/%s", b->o.endpoint, b->o.bucket);
    if (perform(w, M_HEAD, w->url, 0, 0, &latency)) return true;
    if (!w->t.status) {
        fprintf(stderr, "kura bench: cannot reach %s: %s\n", b->o.endpoint,
                w->errbuf[0] ? w->errbuf : "transfer failed");
        return false;
    }
    if (w->t.status != 404) {
        fprintf(stderr, "kura bench: warning: HEAD /%s answered HTTP %ld%s; running anyway\n",
                b->o.bucket, w->t.status,
                w->t.status == 403 ? " (credentials, region or bucket owner?)" : "");
        return true;
    }
    if (perform(w, M_PUT, w->url, 0, 0, &latency)) {
        fprintf(stderr, "kura bench: created bucket %s\n", b->o.bucket);
        return true;
    }
    if (w->t.status == 409 && strstr(w->t.snippet, "BucketAlreadyOwnedByYou")) return true;
    report_error(w, "PUT", w->url, NULL);
    return false;
}

static void print_line(const bench *b, const char *op, const kind_stats *s, double seconds,
                       uint64_t connects) {
    double mb_s = seconds > 0 ? (double)s->bytes / seconds / 1e6 : 0;
    double ops_s = seconds > 0 ? (double)s->ops / seconds : 0;
    printf("op=%s size=%s concurrency=%d ops=%" PRIu64 " errors=%" PRIu64
           " seconds=%.2f ops/s=%.1f MB/s=%.2f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f"
           " new_conns=%" PRIu64 "\n",
           op, b->size_label, b->o.concurrency, s->ops, s->errors, seconds, ops_s, mb_s,
           (double)hist_percentile(&s->hist, 0.50) / 1e6,
           (double)hist_percentile(&s->hist, 0.99) / 1e6, (double)s->hist.max_ns / 1e6, connects);
}

static bool workers_init(bench *b) {
    b->workers = calloc((size_t)b->o.concurrency, sizeof *b->workers);
    if (!b->workers) return false;
    for (int i = 0; i < b->o.concurrency; i++) {
        worker *w = &b->workers[i];
        w->b = b;
        w->index = i;
        w->rng = b->o.seed * 0x9E3779B97F4A7C15ull + (uint64_t)i * 0xD1B54A32D192ED03ull + 1;
        w->curl = curl_easy_init();
        /* curl signs headers that are present but does not add this one. */
        w->headers = curl_slist_append(NULL, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
        if (!w->curl || !w->headers) return false;
        if (b->o.verify) w->t.up_md5 = khash_new(KH_MD5);
    }
    return true;
}

static void workers_free(bench *b) {
    if (!b->workers) return;
    for (int i = 0; i < b->o.concurrency; i++) {
        worker *w = &b->workers[i];
        if (w->curl) curl_easy_cleanup(w->curl);
        curl_slist_free_all(w->headers);
        if (w->t.up_md5) khash_free(w->t.up_md5);
    }
    free(b->workers);
}

static void print_error_summary(bench *b) {
    uint64_t by_status[600] = {0};
    for (int i = 0; i < b->o.concurrency; i++)
        for (int s = 0; s < 600; s++) by_status[s] += b->workers[i].failed_by_status[s];
    bool any = false;
    for (int s = 0; s < 600; s++) {
        if (!by_status[s]) continue;
        if (!any) fputs("kura bench: failures by status:", stderr);
        any = true;
        if (s == 0)
            fprintf(stderr, " transport=%" PRIu64, by_status[s]);
        else if (s < 300)
            fprintf(stderr, " %d(bad body)=%" PRIu64, s, by_status[s]);
        else
            fprintf(stderr, " %d=%" PRIu64, s, by_status[s]);
    }
    if (any) fputc('\n', stderr);
}

static int bench_run(bench *b) {
    const bench_opts *o = &b->o;
    if (!ensure_bucket(b)) return 1;
    if (!run_phase(b, run_warmup)) return 1;
    if (o->op == BENCH_GET || o->op == BENCH_MIXED || o->prepare) {
        uint64_t t0 = clock_mono_ns();
        bool ok = run_phase(b, run_prepare);
        uint64_t prepared = 0, present = 0;
        for (int i = 0; i < o->concurrency; i++) {
            prepared += b->workers[i].prepared;
            present += b->workers[i].present;
        }
        fprintf(stderr,
                "kura bench: %" PRIu64 " objects of %s ready (%" PRIu64 " uploaded, %" PRIu64
                " already there) in %.1f s\n",
                prepared + present, b->size_label, prepared, present,
                (double)(clock_mono_ns() - t0) / 1e9);
        if (!ok) {
            fputs("kura bench: preparing the objects failed\n", stderr);
            return 1;
        }
        /* The prepare phase's uploads are not part of the results. */
        for (int i = 0; i < o->concurrency; i++)
            memset(b->workers[i].failed_by_status, 0, sizeof b->workers[i].failed_by_status);
        atomic_store(&b->errors_shown, 0);
    }

    for (int i = 0; i < o->concurrency; i++) b->workers[i].connects = 0;
    uint64_t start = clock_mono_ns();
    if (o->duration > 0) {
        clock_gettime(CLOCK_MONOTONIC, &b->deadline);
        double whole = (double)(time_t)o->duration;
        b->deadline.tv_sec += (time_t)o->duration;
        b->deadline.tv_nsec += (long)((o->duration - whole) * 1e9);
        if (b->deadline.tv_nsec >= 1000000000L) {
            b->deadline.tv_sec++;
            b->deadline.tv_nsec -= 1000000000L;
        }
        b->use_deadline = true;
    }
    run_phase(b, run_worker);
    double seconds = (double)(clock_mono_ns() - start) / 1e9;

    kind_stats total[KIND__COUNT];
    memset(total, 0, sizeof total);
    kind_stats all;
    memset(&all, 0, sizeof all);
    uint64_t connects = 0;
    for (int i = 0; i < o->concurrency; i++) {
        connects += b->workers[i].connects;
        for (int k = 0; k < KIND__COUNT; k++) {
            const kind_stats *s = &b->workers[i].stats[k];
            hist_merge(&total[k].hist, &s->hist);
            total[k].ops += s->ops;
            total[k].errors += s->errors;
            total[k].bytes += s->bytes;
            hist_merge(&all.hist, &s->hist);
            all.ops += s->ops;
            all.errors += s->errors;
            all.bytes += s->bytes;
        }
    }
    for (int k = 0; k < KIND__COUNT; k++)
        if (total[k].ops || total[k].errors)
            print_line(b, kind_names[k], &total[k], seconds, connects);
    if (o->op == BENCH_MIXED) print_line(b, "mixed", &all, seconds, connects);
    fflush(stdout);
    print_error_summary(b);
    return all.errors ? 1 : 0;
}

int kura_bench_main(int argc, char **argv) {
    bench *b = calloc(1, sizeof *b);
    if (!b) return 1;
    int rc = parse_args(argc, argv, &b->o);
    if (rc) {
        free(b);
        return rc == 1 ? 0 : rc;
    }
    snprintf(b->userpwd, sizeof b->userpwd, "%s:%s", b->o.access_key, b->o.secret_key);
    snprintf(b->sigv4, sizeof b->sigv4, "aws:amz:%s:s3", b->o.region);
    size_label(b->o.size, b->size_label, sizeof b->size_label);
    snprintf(b->key_prefix, sizeof b->key_prefix, "%s/%s/", b->o.prefix, b->size_label);
    atomic_init(&b->next_op, 0);
    atomic_init(&b->errors_shown, 0);
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
        fputs("kura bench: curl_global_init failed\n", stderr);
        free(b);
        return 1;
    }
    pattern_init(b->o.seed);
    rc = 1;
    if (workers_init(b))
        rc = bench_run(b);
    else
        fputs("kura bench: out of memory creating workers\n", stderr);
    workers_free(b);
    free(pattern);
    pattern = NULL;
    curl_global_cleanup();
    free(b);
    return rc;
}
