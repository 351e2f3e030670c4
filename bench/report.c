/* SPDX-License-Identifier: Apache-2.0 */
/* Measuring helpers for radix_bench: clocks, process memory, quantiles,
 * argument parsing and the machine banner. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"

uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t proc_status_kib(const char *field) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    size_t flen = strlen(field);
    uint64_t kib = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
            kib = strtoull(line + flen + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kib;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}

void sort_doubles(double *v, size_t n) {
    if (n > 1) qsort(v, n, sizeof *v, cmp_double);
}

double quantile_sorted(double *v, size_t n, double p) {
    if (n == 0) return 0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

size_t parse_u64_list(const char *text, uint64_t *out, size_t cap) {
    size_t n = 0;
    const char *p = text;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char item[32];
        if (len == 0 || len >= sizeof item || n == cap) return 0;
        memcpy(item, p, len);
        item[len] = '\0';
        if (!parse_count(item, &out[n++])) return 0;
        p += len + (comma ? 1 : 0);
        if (comma && !*p) return 0;
    }
    return n;
}

bool parse_count(const char *text, uint64_t *out) {
    char *end;
    double v = strtod(text, &end);
    if (end == text || v < 0) return false;
    if (*end == 'k' || *end == 'K') {
        v *= 1e3;
        end++;
    } else if (*end == 'M' || *end == 'm') {
        v *= 1e6;
        end++;
    }
    if (*end) return false;
    *out = (uint64_t)(v + 0.5);
    return true;
}

void load_average(char *out, size_t cap) {
    snprintf(out, cap, "?");
    FILE *f = fopen("/proc/loadavg", "r");
    if (!f) return;
    char line[128];
    if (fgets(line, sizeof line, f)) snprintf(out, cap, "%.*s", (int)strcspn(line, " \n"), line);
    fclose(f);
}

void print_machine(const char *mode) {
    char model[256] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f)) {
            if (strncmp(line, "model name", 10) != 0) continue;
            const char *colon = strchr(line, ':');
            if (!colon) continue;
            colon++;
            while (*colon == ' ' || *colon == '\t') colon++;
            snprintf(model, sizeof model, "%s", colon);
            model[strcspn(model, "\n")] = '\0';
            break;
        }
        fclose(f);
    }
    time_t now = time(NULL);
    char date[32];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    char load[32];
    load_average(load, sizeof load);
    printf("RESULT mode=%s what=machine date=%s nproc=%ld cpu=\"%s\" loadavg1=%s\n", mode, date,
           cpus, model, load);
    fflush(stdout);
}
