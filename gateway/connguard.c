/* SPDX-License-Identifier: Apache-2.0 */
#include "gateway/connguard.h"

#include <errno.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/clock.h"
#include "common/log.h"

enum { PH_WAIT, PH_BODY, PH_BUSY };

typedef struct shard shard;

struct cg_conn {
    cg_conn *prev, *next; /* registry list, under its shard's lock */
    shard *sh;
    int fd;
    /* Written by the connection's owner thread, read by the sweeper. seq is
     * odd while a phase change is being written. */
    _Atomic uint32_t seq;
    _Atomic int phase;
    _Atomic uint64_t since_ns;   /* phase start */
    _Atomic uint64_t bytes_base; /* tcpi_bytes_received at a waiting phase's start */
    _Atomic uint64_t body_bytes;
    _Atomic uint64_t server_ns;
    /* The sweeper's own (under the shard's lock). */
    uint32_t seen_seq;
    uint64_t req_start_ns; /* waiting: when bytes of the next request were seen; 0 none */
    uint64_t win_start_ns, win_bytes, win_server_ns;
    bool cut; /* shut down in this phase already */
};

/* The registry is split in shards, each with its own lock, so that a sweep
 * (a TCP_INFO call per waiting connection) holds up the opening and closing
 * of connections for one shard's worth of work at most. */
enum { SHARDS = 16 };

struct shard {
    pthread_mutex_t mu;
    cg_conn *head;
    size_t n;
};

struct conn_guard {
    conn_guard_opts o;
    shard shards[SHARDS];
    pthread_mutex_t mu; /* stop flag and wake-up */
    pthread_cond_t cv;
    bool stop;
    pthread_t thread;
    _Atomic uint64_t header_timeouts, slow_bodies;
};

/* Bytes the kernel received on this TCP socket; UINT64_MAX when it cannot
 * tell (kernels before 4.1 lack the field). */
static uint64_t tcp_bytes_received(int fd) {
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    memset(&ti, 0, sizeof ti);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) return UINT64_MAX;
    if (len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof ti.tcpi_bytes_received)
        return UINT64_MAX;
    return ti.tcpi_bytes_received;
}

static void set_phase(cg_conn *c, int phase, uint64_t bytes_base) {
    uint32_t s = atomic_load_explicit(&c->seq, memory_order_relaxed);
    atomic_store_explicit(&c->seq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&c->phase, phase, memory_order_relaxed);
    atomic_store_explicit(&c->since_ns, clock_mono_ns(), memory_order_relaxed);
    atomic_store_explicit(&c->bytes_base, bytes_base, memory_order_relaxed);
    atomic_store_explicit(&c->body_bytes, 0, memory_order_relaxed);
    atomic_store_explicit(&c->server_ns, 0, memory_order_relaxed);
    atomic_store_explicit(&c->seq, s + 2, memory_order_release);
}

cg_conn *cg_conn_open(conn_guard *g, int fd) {
    cg_conn *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->fd = fd;
    set_phase(c, PH_WAIT, 0);
    shard *sh = &g->shards[(unsigned)fd % SHARDS];
    c->sh = sh;
    pthread_mutex_lock(&sh->mu);
    c->next = sh->head;
    if (sh->head) sh->head->prev = c;
    sh->head = c;
    sh->n++;
    pthread_mutex_unlock(&sh->mu);
    return c;
}

void cg_conn_close(conn_guard *g, cg_conn *c) {
    if (!c) return;
    shard *sh = c->sh;
    pthread_mutex_lock(&sh->mu);
    if (c->prev)
        c->prev->next = c->next;
    else
        sh->head = c->next;
    if (c->next) c->next->prev = c->prev;
    sh->n--;
    pthread_mutex_unlock(&sh->mu);
    free(c);
}

void cg_headers_done(cg_conn *c) {
    if (c) set_phase(c, PH_BUSY, 0);
}

void cg_body_start(cg_conn *c) {
    if (c) set_phase(c, PH_BODY, 0);
}

void cg_body_progress(cg_conn *c, uint64_t total) {
    if (c) atomic_store_explicit(&c->body_bytes, total, memory_order_relaxed);
}

void cg_add_server_time(cg_conn *c, uint64_t ns) {
    if (c) atomic_fetch_add_explicit(&c->server_ns, ns, memory_order_relaxed);
}

void cg_body_done(cg_conn *c) {
    if (c) set_phase(c, PH_BUSY, 0);
}

void cg_request_done(cg_conn *c) {
    if (c) set_phase(c, PH_WAIT, tcp_bytes_received(c->fd));
}

/* now - t, 0 if t is later: a phase may start after the sweeper read its
 * clock (it reads it once per shard). */
static uint64_t ns_since(uint64_t now, uint64_t t) {
    return now > t ? now - t : 0;
}

/* One look at one connection; true if it is past a deadline. */
static bool overdue(conn_guard *g, cg_conn *c, uint64_t now, bool *slow_body) {
    uint32_t s1 = atomic_load_explicit(&c->seq, memory_order_acquire);
    if (s1 & 1) return false; /* being changed: next round */
    int phase = atomic_load_explicit(&c->phase, memory_order_relaxed);
    uint64_t since = atomic_load_explicit(&c->since_ns, memory_order_relaxed);
    uint64_t base = atomic_load_explicit(&c->bytes_base, memory_order_relaxed);
    uint64_t body = atomic_load_explicit(&c->body_bytes, memory_order_relaxed);
    uint64_t server = atomic_load_explicit(&c->server_ns, memory_order_relaxed);
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&c->seq, memory_order_relaxed) != s1) return false;
    if (s1 != c->seen_seq) { /* a new phase since the last look */
        c->seen_seq = s1;
        c->req_start_ns = 0;
        c->win_start_ns = since;
        c->win_bytes = 0;
        c->win_server_ns = 0;
        c->cut = false;
    }
    if (c->cut) return false;
    if (phase == PH_WAIT && g->o.header_timeout_s) {
        if (!c->req_start_ns) {
            uint64_t now_bytes = tcp_bytes_received(c->fd);
            if (now_bytes == UINT64_MAX || base == UINT64_MAX)
                c->req_start_ns = since; /* cannot tell: count from the phase start */
            else if (now_bytes > base)
                c->req_start_ns = now;
        }
        return c->req_start_ns &&
               ns_since(now, c->req_start_ns) >= g->o.header_timeout_s * 1000000000ull;
    }
    if (phase == PH_BODY && g->o.min_body_rate) {
        uint64_t window = (uint64_t)g->o.body_rate_window_s * 1000000000ull;
        uint64_t elapsed = ns_since(now, c->win_start_ns);
        uint64_t waited = server > c->win_server_ns ? server - c->win_server_ns : 0;
        uint64_t client = elapsed > waited ? elapsed - waited : 0;
        if (client < window) return false;
        uint64_t got = body - c->win_bytes;
        /* got / (client ns / 1e9) < rate */
        if ((double)got * 1e9 < (double)g->o.min_body_rate * (double)client) {
            *slow_body = true;
            return true;
        }
        c->win_start_ns = now;
        c->win_bytes = body;
        c->win_server_ns = server;
    }
    return false;
}

static void *sweeper(void *arg) {
    conn_guard *g = arg;
    pthread_mutex_lock(&g->mu);
    while (!g->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += 1;
        while (!g->stop && pthread_cond_timedwait(&g->cv, &g->mu, &ts) != ETIMEDOUT) {
        }
        if (g->stop) break;
        pthread_mutex_unlock(&g->mu);
        uint64_t start = clock_mono_ns();
        unsigned headers = 0, bodies = 0;
        size_t open = 0;
        for (int i = 0; i < SHARDS; i++) {
            shard *sh = &g->shards[i];
            pthread_mutex_lock(&sh->mu);
            uint64_t now = clock_mono_ns();
            open += sh->n;
            for (cg_conn *c = sh->head; c; c = c->next) {
                bool slow_body = false;
                if (!overdue(g, c, now, &slow_body)) continue;
                /* The listener sees the socket fail and closes it. */
                shutdown(c->fd, SHUT_RDWR);
                c->cut = true;
                if (slow_body)
                    bodies++;
                else
                    headers++;
            }
            pthread_mutex_unlock(&sh->mu);
        }
        uint64_t took_ms = (clock_mono_ns() - start) / 1000000;
        if (took_ms >= 100)
            log_warn("connection sweep took %llu ms over %zu connections",
                     (unsigned long long)took_ms, open);
        if (headers) {
            atomic_fetch_add(&g->header_timeouts, headers);
            log_info("closed %u connection(s) whose request headers took longer than %u s "
                     "(%zu open)",
                     headers, g->o.header_timeout_s, open);
        }
        if (bodies) {
            atomic_fetch_add(&g->slow_bodies, bodies);
            log_info("closed %u upload(s) slower than %u bytes/s over %u s", bodies,
                     g->o.min_body_rate, g->o.body_rate_window_s);
        }
        pthread_mutex_lock(&g->mu);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

kerr conn_guard_start(const conn_guard_opts *o, conn_guard **out) {
    conn_guard *g = calloc(1, sizeof *g);
    if (!g) return K_ENOMEM;
    g->o = *o;
    if (!g->o.body_rate_window_s) g->o.body_rate_window_s = 30;
    pthread_mutex_init(&g->mu, NULL);
    for (int i = 0; i < SHARDS; i++) pthread_mutex_init(&g->shards[i].mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&g->thread, NULL, sweeper, g) != 0) {
        pthread_cond_destroy(&g->cv);
        pthread_mutex_destroy(&g->mu);
        for (int i = 0; i < SHARDS; i++) pthread_mutex_destroy(&g->shards[i].mu);
        free(g);
        return K_ENOMEM;
    }
    *out = g;
    return K_OK;
}

void conn_guard_get_stats(conn_guard *g, conn_guard_stats *out) {
    out->header_timeouts = atomic_load(&g->header_timeouts);
    out->slow_bodies = atomic_load(&g->slow_bodies);
}

void conn_guard_stop(conn_guard *g) {
    if (!g) return;
    pthread_mutex_lock(&g->mu);
    g->stop = true;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->thread, NULL);
    /* Connections still registered belong to the listener, which closes
     * them (cg_conn_close) as it stops. */
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    for (int i = 0; i < SHARDS; i++) pthread_mutex_destroy(&g->shards[i].mu);
    free(g);
}
