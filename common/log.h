/* SPDX-License-Identifier: Apache-2.0 */
/* Leveled logging to stderr. Thread-safe (one write(2) per line).
 * The level comes from KURA_LOG (error|warn|info|debug), default info. */
#ifndef KURA_COMMON_LOG_H
#define KURA_COMMON_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level level);
int log_enabled(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                                             \
    do {                                                                                           \
        if (log_enabled(LOG_DEBUG)) log_msg(LOG_DEBUG, __VA_ARGS__);                               \
    } while (0)

#endif
