/* SPDX-License-Identifier: Apache-2.0 */
/* Per-request bump allocator.
 *
 * Contract:
 * - An arena owns every block handed out by arena_alloc and friends; they are
 *   released together by arena_free (or arena_reset). Never free() them.
 * - Allocation never returns NULL: out of memory aborts the process, because a
 *   gateway that half-handles an OOM is worse than one that restarts.
 * - Returned memory is aligned to 16 bytes.
 * - An arena is not thread-safe: one request, one thread at a time.
 */
#ifndef KURA_COMMON_ARENA_H
#define KURA_COMMON_ARENA_H

#include <stdarg.h>
#include <stddef.h>

typedef struct arena arena;

/* first_block: size of the first block; 0 picks a default (4 KiB). */
arena *arena_new(size_t first_block);
void arena_free(arena *a);
/* Drops everything allocated so far but keeps the first block for reuse. */
void arena_reset(arena *a);

void *arena_alloc(arena *a, size_t n);
void *arena_zalloc(arena *a, size_t n);
void *arena_memdup(arena *a, const void *p, size_t n);
/* Copies n bytes and appends a NUL. */
char *arena_strndup(arena *a, const char *s, size_t n);
char *arena_strdup(arena *a, const char *s);
char *arena_printf(arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *arena_vprintf(arena *a, const char *fmt, va_list ap);

#endif
