/* SPDX-License-Identifier: Apache-2.0 */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int current_level = -1;

static int level_from_env(void) {
    const char *e = getenv("KURA_LOG");
    if (!e) return LOG_INFO;
    if (!strcmp(e, "error")) return LOG_ERROR;
    if (!strcmp(e, "warn")) return LOG_WARN;
    if (!strcmp(e, "debug")) return LOG_DEBUG;
    return LOG_INFO;
}

void log_set_level(enum log_level level) {
    current_level = (int)level;
}

int log_enabled(enum log_level level) {
    if (current_level < 0) current_level = level_from_env();
    return (int)level <= current_level;
}

void log_msg(enum log_level level, const char *fmt, ...) {
    if (!log_enabled(level)) return;
    static const char *names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    char line[2048];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, names[level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2) len = sizeof line - 2;
    line[len++] = '\n';
    ssize_t w = write(2, line, len);
    (void)w;
}
