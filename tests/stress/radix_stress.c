/* SPDX-License-Identifier: Apache-2.0 */
/* Stress tool for the radix tree (meta/radix.c) over a real kv backend
 * (normally Redis shards or a Redis Cluster), driven by radix_redis_stress.sh.
 *
 * Modes (every name is written hex-encoded, one per line; hex keeps the
 * bytewise order, so `LC_ALL=C sort` of the logs is the tree's order):
 *
 *   insert --meta URL --ns NS --writer I --writers N --keys K [--from J]
 *          [--threads T] [--fault-every F [--fault-skip]] [--ack-log FILE]
 *          [--try-log FILE] [--shape S]
 *       Inserts writer I's share of keys J..K-1 of make_key(): key j belongs
 *       to writer j % N, so all writers work in the same nodes at the same
 *       time. A key is appended to --try-log before radix_insert and to
 *       --ack-log only after radix_insert returned K_OK (fflush per line).
 *       Restarted with an existing ack log, it skips the keys acked there
 *       (a killed writer continues its share). With --fault-every F the
 *       F-th split from now stops after its child write
 *       (radix_fault_after_child_write); the insert then fails with K_EIO
 *       and is retried, as a client would after the crash, and the switch
 *       is armed again (with --fault-skip the key is given up instead:
 *       tried, never acked, so every split can be left dangling).
 *       K_EUNAVAILABLE is retried for a while; K_ECONFLICT and K_EINTERNAL
 *       (not in radix_insert's contract) are counted (conflicts=,
 *       internal=) and retried.
 *   list --meta URL --ns NS [--page P] [--delim D] [--prefix X]
 *       Pages through the tree (start_after = last entry) and prints every
 *       name. With --delim it walks the tree through the common prefixes:
 *       each one is listed again with itself as the prefix, recursively, so
 *       the output is again every name. Verifies strict ascending order, no
 *       duplicates, well-formed roll-ups; exits 1 on a violation.
 *   lister --meta URL --ns NS --seconds S [--ack-dir DIR] [--stop-file F]
 *       Lists repeatedly while writers run, until S seconds passed or F
 *       exists (full listings with pages of 1000, delimiter roll-ups, pages
 *       of 7 under a hot prefix), checking order and uniqueness of each
 *       listing; with --ack-dir, also that every key acknowledged
 *       (DIR/ *.ack) before a full listing started is in it. Exits 1 on a
 *       violation.
 *   keys --keys K
 *       Prints the whole keyspace (hex), for reference.
 *
 * --shape S (insert, keys) restricts the keyspace to shape S of make_key()
 * (key j is then the j-th key of that shape), e.g. to reproduce a problem
 * of one shape in isolation.
 *
 * A summary line "radix_stress MODE ... key=value ..." goes to stderr.
 * Exit codes: 0 ok, 1 violation found, 2 usage or backend error.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "meta/kv.h"
#include "meta/radix.h"

#define KEY_MAX 1100

/* ---- small helpers ------------------------------------------------------- */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "radix_stress: out of memory\n");
        exit(2);
    }
    return p;
}

static void *xrealloc(void *p, size_t n) {
    p = realloc(p, n ? n : 1);
    if (!p) {
        fprintf(stderr, "radix_stress: out of memory\n");
        exit(2);
    }
    return p;
}

static void hex_encode(const uint8_t *p, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static int keycmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen) {
    size_t m = alen < blen ? alen : blen;
    int c = m ? memcmp(a, b, m) : 0;
    if (c) return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* ---- the keyspace ----------------------------------------------------------
 * Key j (injective in j) has one of seven shapes, chosen by j % 7; writer
 * j % N owns it (N = 8 is coprime to 7, so every writer makes every shape,
 * and neighbouring keys of one node come from different writers):
 *   0 p/%05u/%03u       many names under one node, then many such nodes
 *   1 p/%05u            names that are proper prefixes of shape 0 names
 *   2 hot/%08u          one very hot prefix, scattered order
 *   3 /%u/%u            numeric runs like /12345/89 (unpadded: 1/10 < 1/9)
 *   4 d/%u/%u/%u/%u/f%u deep paths
 *   5 L/xxx...x%u       long labels (100..159 'x'), beyond MAX_GROUP_LABEL
 *   6 u/é/$<be32>€      UTF-8, the system character '$', binary bytes
 *                       (NUL, 0xff, '/' inside the 4 bytes of m)
 */
static size_t make_key(uint64_t j, uint8_t *out) {
    unsigned s = (unsigned)(j % 7);
    uint64_t m = j / 7;
    int n = 0;
    switch (s) {
    case 0:
        n = snprintf((char *)out, KEY_MAX, "p/%05llu/%03llu", (unsigned long long)(m / 1000),
                     (unsigned long long)(m % 1000));
        break;
    case 1:
        n = snprintf((char *)out, KEY_MAX, "p/%05llu", (unsigned long long)m);
        break;
    case 2:
        n = snprintf((char *)out, KEY_MAX, "hot/%08llu",
                     (unsigned long long)((m * 2654435761ULL) % 100000000ULL));
        break;
    case 3:
        n = snprintf((char *)out, KEY_MAX, "/%llu/%llu", (unsigned long long)(m / 100),
                     (unsigned long long)(m % 100));
        break;
    case 4:
        n = snprintf((char *)out, KEY_MAX, "d/%llu/%llu/%llu/%llu/f%llu",
                     (unsigned long long)(m % 3), (unsigned long long)(m / 3 % 5),
                     (unsigned long long)(m / 15 % 7), (unsigned long long)(m / 105 % 11),
                     (unsigned long long)m);
        break;
    case 5: {
        size_t x = 100 + (size_t)(m % 60);
        memcpy(out, "L/", 2);
        memset(out + 2, 'x', x);
        n = (int)(2 + x);
        n += snprintf((char *)out + n, KEY_MAX - (size_t)n, "%llu", (unsigned long long)m);
        break;
    }
    default: {
        static const uint8_t head[] = {'u', '/', 0xc3, 0xa9, '/', '$'};
        static const uint8_t tail[] = {0xe2, 0x82, 0xac};
        memcpy(out, head, sizeof head);
        n = (int)sizeof head;
        out[n++] = (uint8_t)(m >> 24);
        out[n++] = (uint8_t)(m >> 16);
        out[n++] = (uint8_t)(m >> 8);
        out[n++] = (uint8_t)m;
        memcpy(out + n, tail, sizeof tail);
        n += (int)sizeof tail;
        break;
    }
    }
    return (size_t)n;
}

/* ---- options ------------------------------------------------------------------ */

typedef struct opts {
    const char *mode;
    const char *meta, *ns;
    long writer, writers, keys, from, threads, fault_every, page, seconds, shape;
    bool fault_skip;
    const char *ack_log, *try_log, *ack_dir, *delim, *prefix, *stop_file;
} opts;

static void usage(void) {
    fprintf(stderr,
            "usage: radix_stress insert --meta URL --ns NS --writer I --writers N --keys K\n"
            "                          [--threads T] [--fault-every F] [--ack-log FILE]\n"
            "                          [--try-log FILE] [--shape S] [--from J] [--fault-skip]\n"
            "       radix_stress list   --meta URL --ns NS [--page P] [--delim D] [--prefix X]\n"
            "       radix_stress lister --meta URL --ns NS --seconds S [--ack-dir DIR]\n"
            "                          [--stop-file FILE]\n"
            "       radix_stress keys   --keys K [--shape S]\n");
    exit(2);
}

static long num_arg(const char *s) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < 0) usage();
    return v;
}

static void parse(int argc, char **argv, opts *o) {
    memset(o, 0, sizeof *o);
    o->writers = 1;
    o->threads = 1;
    o->page = 1000;
    o->seconds = 10;
    o->shape = -1;
    if (argc < 2) usage();
    o->mode = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--fault-skip")) {
            o->fault_skip = true;
            continue;
        }
        if (i + 1 >= argc) usage();
        const char *v = argv[++i];
        if (!strcmp(a, "--meta"))
            o->meta = v;
        else if (!strcmp(a, "--ns"))
            o->ns = v;
        else if (!strcmp(a, "--writer"))
            o->writer = num_arg(v);
        else if (!strcmp(a, "--writers"))
            o->writers = num_arg(v);
        else if (!strcmp(a, "--keys"))
            o->keys = num_arg(v);
        else if (!strcmp(a, "--from"))
            o->from = num_arg(v);
        else if (!strcmp(a, "--threads"))
            o->threads = num_arg(v);
        else if (!strcmp(a, "--shape"))
            o->shape = num_arg(v);
        else if (!strcmp(a, "--fault-every"))
            o->fault_every = num_arg(v);
        else if (!strcmp(a, "--page"))
            o->page = num_arg(v);
        else if (!strcmp(a, "--seconds"))
            o->seconds = num_arg(v);
        else if (!strcmp(a, "--ack-log"))
            o->ack_log = v;
        else if (!strcmp(a, "--try-log"))
            o->try_log = v;
        else if (!strcmp(a, "--ack-dir"))
            o->ack_dir = v;
        else if (!strcmp(a, "--delim"))
            o->delim = v;
        else if (!strcmp(a, "--prefix"))
            o->prefix = v;
        else if (!strcmp(a, "--stop-file"))
            o->stop_file = v;
        else
            usage();
    }
    if (o->writers < 1 || o->writer >= o->writers || o->threads < 1 || o->threads > 64 ||
        o->page < 1 || o->page > 1000 || o->shape > 6)
        usage();
    if (strcmp(o->mode, "keys") != 0 && (!o->meta || !o->ns)) usage();
}

/* --shape S: only keys of that shape (the j-th of them), for focused runs */
static uint64_t key_index(const opts *o, long j) {
    return o->shape < 0 ? (uint64_t)j : (uint64_t)j * 7 + (uint64_t)o->shape;
}

static kv *open_store(const opts *o) {
    kv *s = NULL;
    kerr e = kv_redis_open(o->meta, &s);
    if (e) {
        fprintf(stderr, "radix_stress: cannot open %s: %s\n", o->meta, kerr_name(e));
        exit(2);
    }
    return s;
}

static void print_stats(radix *t) {
    radix_stats st;
    radix_stats_get(t, &st);
    fprintf(stderr,
            " node_reads=%llu root_reads=%llu node_writes=%llu splits=%llu repairs=%llu "
            "hint_hits=%llu",
            (unsigned long long)st.node_reads, (unsigned long long)st.root_reads,
            (unsigned long long)st.node_writes, (unsigned long long)st.splits,
            (unsigned long long)st.repairs, (unsigned long long)st.hint_hits);
}

/* ---- a set of hex strings (sorted array) ---------------------------------------- */

typedef struct strset {
    char **v;
    size_t n, cap;
} strset;

static void ss_add(strset *s, const char *str, size_t len) {
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 1024;
        s->v = xrealloc(s->v, s->cap * sizeof *s->v);
    }
    char *c = xmalloc(len + 1);
    memcpy(c, str, len);
    c[len] = '\0';
    s->v[s->n++] = c;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void ss_sort(strset *s) {
    if (s->n > 1) qsort(s->v, s->n, sizeof *s->v, cmp_str);
}

static bool ss_has(const strset *s, const char *str) {
    if (!s->n) return false;
    return bsearch(&str, s->v, s->n, sizeof *s->v, cmp_str) != NULL;
}

static void ss_free(strset *s) {
    for (size_t i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* Adds the complete lines of path (a line without its '\n' was cut by a
 * kill and is ignored); returns the byte length of those lines, -1 if the
 * file cannot be opened. */
static long load_lines(const char *path, strset *s) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long good = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] != '\n') break;
        if (n > 1) ss_add(s, line, (size_t)n - 1);
        good += (long)n;
    }
    free(line);
    fclose(f);
    return good;
}

/* ---- insert ----------------------------------------------------------------------- */

typedef struct writer {
    const opts *o;
    radix *t;
    strset done; /* acked by an earlier run of this writer */
    FILE *ack, *try_;
    pthread_mutex_t mu;
    _Atomic long inserted, skipped, faults, unavailable, conflicts, internal, failed;
    _Atomic bool fatal;
} writer;

typedef struct wthread {
    writer *w;
    long tid;
} wthread;

static void log_line(writer *w, FILE *f, const char *hex) {
    if (!f) return;
    pthread_mutex_lock(&w->mu);
    /* one write(2) per line: a kill -9 never leaves half a line behind a
     * later complete one */
    if (fprintf(f, "%s\n", hex) < 0 || fflush(f) != 0) {
        fprintf(stderr, "radix_stress: log write failed: %s\n", strerror(errno));
        exit(2);
    }
    pthread_mutex_unlock(&w->mu);
}

static void *writer_thread(void *arg) {
    wthread *wt = arg;
    writer *w = wt->w;
    const opts *o = w->o;
    uint8_t key[KEY_MAX];
    char hex[2 * KEY_MAX + 1];
    long k = 0;
    for (long j = o->from + o->writer; j < o->keys; j += o->writers, k++) {
        if (k % o->threads != wt->tid) continue;
        if (atomic_load(&w->fatal)) break;
        size_t len = make_key(key_index(o, j), key);
        hex_encode(key, len, hex);
        if (w->done.n && ss_has(&w->done, hex)) {
            atomic_fetch_add(&w->skipped, 1);
            continue;
        }
        log_line(w, w->try_, hex);
        int unavailable = 0, races = 0;
        bool ok = false;
        for (;;) {
            kerr e = radix_insert(w->t, o->ns, strlen(o->ns), key, len);
            if (e == K_OK) {
                ok = true;
                break;
            }
            if (e == K_EIO && o->fault_every > 0) {
                /* the injected crash between the two writes of a split */
                atomic_fetch_add(&w->faults, 1);
                radix_fault_after_child_write(w->t, (int)o->fault_every);
                if (o->fault_skip) break; /* given up: tried, never acked */
                continue;
            }
            if ((e == K_ECONFLICT || e == K_EINTERNAL) && ++races < 1000) {
                /* not in radix_insert's contract (seen when splits of one
                 * node race across processes): counted, reported by the
                 * driver as a failure, retried so the run goes on */
                atomic_fetch_add(e == K_ECONFLICT ? &w->conflicts : &w->internal, 1);
                continue;
            }
            if (e == K_EUNAVAILABLE && ++unavailable < 50) {
                atomic_fetch_add(&w->unavailable, 1);
                sleep_ms(100);
                continue;
            }
            fprintf(stderr, "radix_stress: writer %ld: insert of key %ld (%s) failed: %s\n",
                    o->writer, j, hex, kerr_name(e));
            atomic_fetch_add(&w->failed, 1);
            atomic_store(&w->fatal, true);
            return NULL;
        }
        if (!ok) continue;
        log_line(w, w->ack, hex);
        atomic_fetch_add(&w->inserted, 1);
    }
    return NULL;
}

static FILE *open_log(const char *path, long keep) {
    if (!path) return NULL;
    /* drop a partial last line (a kill in the middle of a write) */
    if (keep >= 0 && truncate(path, keep) != 0 && errno != ENOENT) {
        fprintf(stderr, "radix_stress: truncate %s: %s\n", path, strerror(errno));
        exit(2);
    }
    FILE *f = fopen(path, "a");
    if (!f) {
        fprintf(stderr, "radix_stress: cannot open %s: %s\n", path, strerror(errno));
        exit(2);
    }
    return f;
}

static int run_insert(const opts *o) {
    writer w;
    memset(&w, 0, sizeof w);
    w.o = o;
    pthread_mutex_init(&w.mu, NULL);
    long keep_ack = -1, keep_try = -1;
    if (o->ack_log) {
        keep_ack = load_lines(o->ack_log, &w.done);
        ss_sort(&w.done);
    }
    if (o->try_log) {
        strset tmp = {0};
        keep_try = load_lines(o->try_log, &tmp);
        ss_free(&tmp);
    }
    w.ack = open_log(o->ack_log, keep_ack);
    w.try_ = open_log(o->try_log, keep_try);
    kv *s = open_store(o);
    w.t = radix_new(s);
    if (o->fault_every > 0) radix_fault_after_child_write(w.t, (int)o->fault_every);
    double t0 = now_s();
    pthread_t th[64];
    wthread wt[64];
    for (long i = 0; i < o->threads; i++) {
        wt[i] = (wthread){&w, i};
        if (pthread_create(&th[i], NULL, writer_thread, &wt[i]) != 0) {
            fprintf(stderr, "radix_stress: pthread_create failed\n");
            return 2;
        }
    }
    for (long i = 0; i < o->threads; i++) pthread_join(th[i], NULL);
    double dt = now_s() - t0;
    long ins = atomic_load(&w.inserted);
    fprintf(stderr,
            "radix_stress insert writer=%ld inserted=%ld skipped=%ld faults=%ld "
            "unavailable_retries=%ld conflicts=%ld internal=%ld failed=%ld seconds=%.2f "
            "keys_per_s=%.0f",
            o->writer, ins, atomic_load(&w.skipped), atomic_load(&w.faults),
            atomic_load(&w.unavailable), atomic_load(&w.conflicts), atomic_load(&w.internal),
            atomic_load(&w.failed), dt, dt > 0 ? ins / dt : 0.0);
    print_stats(w.t);
    fprintf(stderr, "\n");
    if (w.ack) fclose(w.ack);
    if (w.try_) fclose(w.try_);
    radix_free(w.t);
    kv_close(s);
    ss_free(&w.done);
    return atomic_load(&w.failed) ? 2 : 0;
}

/* ---- list ------------------------------------------------------------------------- */

typedef struct entry {
    uint8_t *p;
    size_t len;
    bool is_prefix;
} entry;

typedef struct page {
    entry *e;
    size_t n, cap;
} page;

static int page_emit(void *ctx, const void *name, size_t len, bool is_prefix) {
    page *pg = ctx;
    if (pg->n == pg->cap) {
        pg->cap = pg->cap ? 2 * pg->cap : 64;
        pg->e = xrealloc(pg->e, pg->cap * sizeof *pg->e);
    }
    entry *e = &pg->e[pg->n++];
    e->p = xmalloc(len ? len : 1);
    memcpy(e->p, name, len);
    e->len = len;
    e->is_prefix = is_prefix;
    return 0;
}

static void page_clear(page *pg) {
    for (size_t i = 0; i < pg->n; i++) free(pg->e[i].p);
    pg->n = 0;
}

typedef struct lstate {
    radix *t;
    const char *ns;
    size_t page_size;
    const uint8_t *delim;
    size_t dlen;
    FILE *out;       /* names, hex; NULL: not printed */
    strset *collect; /* names, hex; NULL: not kept */
    uint8_t last[KEY_MAX];
    size_t last_len;
    bool have_last;
    long names, prefixes, calls, violations;
    kerr err;
} lstate;

static void violation(lstate *L, const char *what, const uint8_t *p, size_t len) {
    char hex[2 * KEY_MAX + 1];
    hex_encode(p, len < KEY_MAX ? len : KEY_MAX, hex);
    if (L->violations < 20) fprintf(stderr, "radix_stress: VIOLATION: %s: %s\n", what, hex);
    L->violations++;
}

/* A name of the whole output: strictly after the previous one. */
static void out_name(lstate *L, const uint8_t *p, size_t len) {
    if (L->have_last && keycmp(p, len, L->last, L->last_len) <= 0)
        violation(
            L, keycmp(p, len, L->last, L->last_len) == 0 ? "duplicate name" : "name out of order",
            p, len);
    if (len <= KEY_MAX) {
        memcpy(L->last, p, len);
        L->last_len = len;
        L->have_last = true;
    }
    L->names++;
    if (L->out || L->collect) {
        char hex[2 * KEY_MAX + 1];
        hex_encode(p, len, hex);
        if (L->out) fprintf(L->out, "%s\n", hex);
        if (L->collect) ss_add(L->collect, hex, 2 * len);
    }
}

static bool starts_with(const uint8_t *s, size_t slen, const uint8_t *p, size_t plen) {
    return slen >= plen && (plen == 0 || memcmp(s, p, plen) == 0);
}

/* Lists every entry under prefix; with a delimiter, every common prefix is
 * listed in turn (depth first, in place) so the names come out in order. */
static void list_level(lstate *L, const uint8_t *prefix, size_t plen, int depth) {
    if (depth > 600) {
        violation(L, "roll-up recursion too deep", prefix, plen);
        return;
    }
    page pg = {0};
    uint8_t *after = NULL;
    size_t after_len = 0;
    for (;;) {
        radix_list_req req = {.prefix = prefix,
                              .prefix_len = plen,
                              .start_after = after,
                              .start_after_len = after_len,
                              .delim = L->delim,
                              .delim_len = L->dlen,
                              .max_entries = L->page_size};
        bool truncated = false;
        page_clear(&pg);
        kerr e = radix_list(L->t, L->ns, strlen(L->ns), &req, page_emit, &pg, &truncated);
        L->calls++;
        if (e) {
            fprintf(stderr, "radix_stress: radix_list failed: %s\n", kerr_name(e));
            L->err = e;
            break;
        }
        if (pg.n > L->page_size) violation(L, "page larger than max_entries", prefix, plen);
        if (truncated && pg.n == 0) {
            violation(L, "empty page marked truncated", prefix, plen);
            break;
        }
        for (size_t i = 0; i < pg.n && !L->err; i++) {
            entry *en = &pg.e[i];
            if (!starts_with(en->p, en->len, prefix, plen))
                violation(L, "entry outside the prefix", en->p, en->len);
            if (after && keycmp(en->p, en->len, after, after_len) <= 0)
                violation(L, "entry not after start_after", en->p, en->len);
            if (i > 0 && keycmp(en->p, en->len, pg.e[i - 1].p, pg.e[i - 1].len) <= 0)
                violation(L, "page not strictly ascending", en->p, en->len);
            if (en->is_prefix) {
                L->prefixes++;
                const uint8_t *hit = L->dlen && en->len >= plen + L->dlen
                                         ? memmem(en->p + plen, en->len - plen, L->delim, L->dlen)
                                         : NULL;
                if (!hit || (size_t)(hit - en->p) + L->dlen != en->len)
                    violation(L, "malformed common prefix", en->p, en->len);
                else
                    list_level(L, en->p, en->len, depth + 1);
            } else {
                if (L->dlen && en->len > plen &&
                    memmem(en->p + plen, en->len - plen, L->delim, L->dlen))
                    violation(L, "name with a delimiter was not rolled up", en->p, en->len);
                out_name(L, en->p, en->len);
            }
        }
        if (!truncated || L->err || pg.n == 0) break;
        entry *lastp = &pg.e[pg.n - 1];
        after = xrealloc(after, lastp->len);
        memcpy(after, lastp->p, lastp->len);
        after_len = lastp->len;
    }
    page_clear(&pg);
    free(pg.e);
    free(after);
}

static void lstate_init(lstate *L, radix *t, const char *ns, size_t page_size, const char *delim) {
    memset(L, 0, sizeof *L);
    L->t = t;
    L->ns = ns;
    L->page_size = page_size;
    L->delim = (const uint8_t *)delim;
    L->dlen = delim ? strlen(delim) : 0;
}

static int run_list(const opts *o) {
    kv *s = open_store(o);
    radix *t = radix_new(s);
    lstate L;
    lstate_init(&L, t, o->ns, (size_t)o->page, o->delim);
    L.out = stdout;
    double t0 = now_s();
    const char *pfx = o->prefix ? o->prefix : "";
    list_level(&L, (const uint8_t *)pfx, strlen(pfx), 0);
    double dt = now_s() - t0;
    if (fflush(stdout) != 0) {
        fprintf(stderr, "radix_stress: writing the listing failed\n");
        return 2;
    }
    fprintf(stderr,
            "radix_stress list page=%ld delim=%s names=%ld common_prefixes=%ld calls=%ld "
            "violations=%ld seconds=%.2f names_per_s=%.0f",
            o->page, o->delim ? o->delim : "-", L.names, L.prefixes, L.calls, L.violations, dt,
            dt > 0 ? L.names / dt : 0.0);
    print_stats(t);
    fprintf(stderr, "\n");
    radix_free(t);
    kv_close(s);
    if (L.err) return 2;
    return L.violations ? 1 : 0;
}

/* ---- lister --------------------------------------------------------------------------- */

/* Keys acknowledged so far by every writer (DIR/ *.ack), read
 * incrementally: each refresh reads only the complete lines appended since
 * the last one (a restarted writer only cuts a partial last line, which was
 * never consumed) and merges them into the sorted set. */
typedef struct ackfile {
    char *name;
    long off;
} ackfile;

typedef struct acks {
    strset all; /* sorted */
    ackfile *f;
    size_t nf;
} acks;

static void acks_read(const char *path, long *off, strset *fresh) {
    FILE *f = fopen(path, "r");
    if (!f) return;
    if (fseek(f, *off, SEEK_SET) == 0) {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        while ((n = getline(&line, &cap, f)) > 0 && line[n - 1] == '\n') {
            if (n > 1) ss_add(fresh, line, (size_t)n - 1);
            *off += (long)n;
        }
        free(line);
    }
    fclose(f);
}

static void acks_refresh(acks *a, const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    strset fresh = {0};
    struct dirent *de;
    char path[4096];
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n < 4 || strcmp(de->d_name + n - 4, ".ack") != 0) continue;
        size_t i = 0;
        while (i < a->nf && strcmp(a->f[i].name, de->d_name) != 0) i++;
        if (i == a->nf) {
            a->f = xrealloc(a->f, (a->nf + 1) * sizeof *a->f);
            a->f[i].name = strdup(de->d_name);
            a->f[i].off = 0;
            a->nf++;
        }
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        acks_read(path, &a->f[i].off, &fresh);
    }
    closedir(d);
    if (!fresh.n) return;
    ss_sort(&fresh);
    /* merge: both sorted */
    char **m = xmalloc((a->all.n + fresh.n) * sizeof *m);
    size_t i = 0, j = 0, k = 0;
    while (i < a->all.n || j < fresh.n) {
        if (j == fresh.n || (i < a->all.n && strcmp(a->all.v[i], fresh.v[j]) <= 0))
            m[k++] = a->all.v[i++];
        else
            m[k++] = fresh.v[j++];
    }
    free(a->all.v);
    a->all.v = m;
    a->all.n = a->all.cap = k;
    free(fresh.v); /* the strings moved to all */
}

static void acks_free(acks *a) {
    ss_free(&a->all);
    for (size_t i = 0; i < a->nf; i++) free(a->f[i].name);
    free(a->f);
}

static int run_lister(const opts *o) {
    kv *s = open_store(o);
    radix *t = radix_new(s);
    double t0 = now_s(), end = t0 + (double)o->seconds;
    long rounds = 0, full = 0, violations = 0, missing = 0, calls = 0, errors = 0;
    long checked = 0;
    acks ak = {0};
    while (now_s() < end && !(o->stop_file && access(o->stop_file, F_OK) == 0)) {
        int kind = (int)(rounds++ % 3);
        lstate L;
        strset got = {0};
        if (kind == 0) {
            /* full listing; every key acked before it started must be in it */
            if (o->ack_dir) acks_refresh(&ak, o->ack_dir);
            const strset *acked = &ak.all;
            lstate_init(&L, t, o->ns, 1000, NULL);
            L.collect = &got;
            list_level(&L, (const uint8_t *)"", 0, 0);
            full++;
            if (!L.err) {
                if (L.violations) ss_sort(&got); /* else already ascending */
                size_t g = 0;
                for (size_t i = 0; i < acked->n; i++) {
                    checked++;
                    while (g < got.n && strcmp(got.v[g], acked->v[i]) < 0) g++;
                    if (g == got.n || strcmp(got.v[g], acked->v[i]) != 0) {
                        if (missing < 20)
                            fprintf(stderr,
                                    "radix_stress: VIOLATION: acked key missing from a "
                                    "listing: %s\n",
                                    acked->v[i]);
                        missing++;
                    }
                }
            }
        } else if (kind == 1) {
            /* roll-ups: the delimiter walk of the whole tree */
            lstate_init(&L, t, o->ns, 1000, "/");
            list_level(&L, (const uint8_t *)"", 0, 0);
        } else {
            /* small pages under a hot prefix */
            char pfx[32];
            snprintf(pfx, sizeof pfx, "hot/%d", (int)(rounds % 10));
            lstate_init(&L, t, o->ns, 7, NULL);
            list_level(&L, (const uint8_t *)pfx, strlen(pfx), 0);
        }
        violations += L.violations;
        calls += L.calls;
        if (L.err) {
            errors++;
            sleep_ms(100);
        }
        ss_free(&got);
    }
    double dt = now_s() - t0;
    fprintf(stderr,
            "radix_stress lister rounds=%ld full_listings=%ld list_calls=%ld "
            "acked_checked=%ld acked_missing=%ld violations=%ld errors=%ld seconds=%.2f",
            rounds, full, calls, checked, missing, violations, errors, dt);
    print_stats(t);
    fprintf(stderr, "\n");
    acks_free(&ak);
    radix_free(t);
    kv_close(s);
    return violations || missing ? 1 : 0;
}

/* ---- keys ------------------------------------------------------------------------------ */

static int run_keys(const opts *o) {
    uint8_t key[KEY_MAX];
    char hex[2 * KEY_MAX + 1];
    for (long j = 0; j < o->keys; j++) {
        hex_encode(key, make_key(key_index(o, j), key), hex);
        printf("%s\n", hex);
    }
    return fflush(stdout) == 0 ? 0 : 2;
}

int main(int argc, char **argv) {
    opts o;
    parse(argc, argv, &o);
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    if (!strcmp(o.mode, "insert")) return run_insert(&o);
    if (!strcmp(o.mode, "list")) return run_list(&o);
    if (!strcmp(o.mode, "lister")) return run_lister(&o);
    if (!strcmp(o.mode, "keys")) return run_keys(&o);
    usage();
    return 2;
}
