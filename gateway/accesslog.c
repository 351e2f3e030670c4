/* SPDX-License-Identifier: Apache-2.0 */
/* The structured access log (contract in accesslog.h). */
#include "gateway/accesslog.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/text.h"

struct accesslog {
    pthread_mutex_t mu;
    char *path; /* NULL for standard output */
    int fd;
    bool failing; /* inside an episode of failed writes (logged once) */
    uint64_t failed;
};

static _Atomic bool reopen_wanted;

void accesslog_reopen_request(void) {
    atomic_store(&reopen_wanted, true);
}

static int open_file(const char *path) {
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

kerr accesslog_open(const char *path, accesslog **out) {
    *out = NULL;
    accesslog *l = calloc(1, sizeof *l);
    if (!l) return K_ENOMEM;
    pthread_mutex_init(&l->mu, NULL);
    if (!strcmp(path, "-")) {
        l->fd = STDOUT_FILENO;
    } else {
        l->path = strdup(path);
        l->fd = l->path ? open_file(path) : -1;
        if (l->fd < 0) {
            log_error("access log: cannot open %s: %s", path, strerror(errno));
            accesslog_close(l);
            return K_EIO;
        }
    }
    *out = l;
    return K_OK;
}

void accesslog_close(accesslog *l) {
    if (!l) return;
    if (l->path && l->fd >= 0) close(l->fd);
    pthread_mutex_destroy(&l->mu);
    free(l->path);
    free(l);
}

/* A JSON string, or null; bytes outside well-formed UTF-8 become \ufffd. */
static void put_str(kbuf *b, const char *s, size_t n) {
    if (!s) {
        kbuf_puts(b, "null");
        return;
    }
    kbuf_putc(b, '"');
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            kbuf_putc(b, '\\');
            kbuf_putc(b, (char)c);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            kbuf_printf(b, "\\u%04x", c);
            i++;
        } else if (c < 0x80) {
            kbuf_putc(b, (char)c);
            i++;
        } else {
            uint32_t cp;
            size_t len = utf8_next(s + i, n - i, &cp);
            if (len == 0) {
                kbuf_puts(b, "\\ufffd");
                i++;
            } else {
                kbuf_append(b, s + i, len);
                i += len;
            }
        }
    }
    kbuf_putc(b, '"');
}

static void put_cstr(kbuf *b, const char *s) {
    put_str(b, s, s ? strlen(s) : 0);
}

void accesslog_format(kbuf *b, const accesslog_entry *e) {
    time_t secs = (time_t)(e->time_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char when[40];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    kbuf_printf(b, "{\"time\":\"%s.%03dZ\",\"request_id\":", when, (int)(e->time_ms % 1000));
    put_cstr(b, e->request_id);
    kbuf_puts(b, ",\"remote\":");
    put_cstr(b, e->remote && *e->remote ? e->remote : NULL);
    kbuf_puts(b, ",\"principal\":");
    put_cstr(b, e->principal);
    kbuf_puts(b, ",\"protocol\":");
    put_cstr(b, e->protocol);
    kbuf_puts(b, ",\"op\":");
    put_cstr(b, e->op);
    kbuf_puts(b, ",\"method\":");
    put_cstr(b, e->method);
    kbuf_puts(b, ",\"bucket\":");
    put_cstr(b, e->bucket);
    kbuf_puts(b, ",\"key\":");
    put_str(b, e->key, e->key_len);
    kbuf_printf(b, ",\"status\":%d,\"error\":", e->status);
    put_cstr(b, e->error);
    kbuf_printf(b, ",\"bytes_in\":%llu,\"bytes_out\":%llu,\"duration_ms\":%.3f,\"user_agent\":",
                (unsigned long long)e->bytes_in, (unsigned long long)e->bytes_out,
                (double)e->duration_ns / 1e6);
    put_cstr(b, e->user_agent);
    kbuf_puts(b, "}\n");
}

static int write_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

void accesslog_write(accesslog *l, const accesslog_entry *e) {
    if (!l) return;
    kbuf b = KBUF_INIT;
    accesslog_format(&b, e);
    pthread_mutex_lock(&l->mu);
    if (l->path && atomic_exchange(&reopen_wanted, false)) {
        int fd = open_file(l->path);
        if (fd < 0) {
            log_error("access log: cannot reopen %s: %s; still writing to the old file", l->path,
                      strerror(errno));
        } else {
            close(l->fd);
            l->fd = fd;
            log_info("access log: reopened %s", l->path);
        }
    }
    int err = write_all(l->fd, b.data, b.len);
    if (err) {
        l->failed++;
        if (!l->failing)
            log_error("access log: write to %s failed: %s; lines are lost until it works again",
                      l->path ? l->path : "standard output", strerror(err));
        l->failing = true;
    } else if (l->failing) {
        log_info("access log: writing again (%llu lines lost)", (unsigned long long)l->failed);
        l->failing = false;
        l->failed = 0;
    }
    pthread_mutex_unlock(&l->mu);
    kbuf_free(&b);
}
