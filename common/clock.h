/* SPDX-License-Identifier: Apache-2.0 */
/* Clocks: the two kura uses, in the units it uses them.
 *
 * - clock_mono_ns: CLOCK_MONOTONIC in nanoseconds, for durations, deadlines
 *   and timeouts (never jumps with the wall clock).
 * - clock_real_ms / clock_real_s: the wall clock (CLOCK_REALTIME), for
 *   timestamps that are stored or shown (object mtimes, log lines, dates in
 *   signatures).
 * - clock_sleep_ms: sleeps at least ms milliseconds, resuming after signals.
 *
 * Contract: thread-safe, no allocation, cannot fail (clock_gettime of these
 * clocks does not fail on Linux).
 */
#ifndef KURA_COMMON_CLOCK_H
#define KURA_COMMON_CLOCK_H

#include <errno.h>
#include <stdint.h>
#include <time.h>

static inline uint64_t clock_mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline int64_t clock_real_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline time_t clock_real_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec;
}

static inline void clock_sleep_ms(unsigned ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

#endif
