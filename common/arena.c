/* SPDX-License-Identifier: Apache-2.0 */
#include "common/arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct block {
    struct block *next;
    size_t cap;
    size_t used;
    _Alignas(16) unsigned char data[];
} block;

struct arena {
    block *head;  /* current block, newest first */
    block *first; /* kept across arena_reset */
};

static block *block_new(size_t cap) {
    block *b = malloc(sizeof(block) + cap);
    if (!b) {
        fputs("kura: out of memory\n", stderr);
        abort();
    }
    b->next = NULL;
    b->cap = cap;
    b->used = 0;
    return b;
}

arena *arena_new(size_t first_block) {
    arena *a = malloc(sizeof(*a));
    if (!a) abort();
    a->first = a->head = block_new(first_block ? first_block : 4096);
    return a;
}

static void free_chain_until(block *b, block *stop) {
    while (b && b != stop) {
        block *n = b->next;
        free(b);
        b = n;
    }
}

void arena_free(arena *a) {
    if (!a) return;
    free_chain_until(a->head, NULL);
    free(a);
}

void arena_reset(arena *a) {
    free_chain_until(a->head, a->first);
    a->head = a->first;
    a->first->used = 0;
}

void *arena_alloc(arena *a, size_t n) {
    size_t need = (n + 15) & ~(size_t)15;
    if (need < n) abort();
    block *b = a->head;
    if (b->cap - b->used < need) {
        size_t cap = b->cap * 2;
        if (cap < need) cap = need;
        if (cap > (1u << 20) && need <= (1u << 20)) cap = 1u << 20;
        block *nb = block_new(cap);
        nb->next = b;
        a->head = b = nb;
    }
    void *p = b->data + b->used;
    b->used += need;
    return p;
}

void *arena_zalloc(arena *a, size_t n) {
    void *p = arena_alloc(a, n);
    memset(p, 0, n);
    return p;
}

void *arena_memdup(arena *a, const void *p, size_t n) {
    void *d = arena_alloc(a, n ? n : 1);
    if (n) memcpy(d, p, n);
    return d;
}

char *arena_strndup(arena *a, const char *s, size_t n) {
    char *d = arena_alloc(a, n + 1);
    if (n) memcpy(d, s, n);
    d[n] = 0;
    return d;
}

char *arena_strdup(arena *a, const char *s) {
    return arena_strndup(a, s, strlen(s));
}

char *arena_vprintf(arena *a, const char *fmt, va_list ap) {
    va_list cp;
    va_copy(cp, ap);
    char probe[1];
    int n = vsnprintf(probe, sizeof probe, fmt, cp);
    va_end(cp);
    if (n < 0) return arena_strdup(a, "");
    char *d = arena_alloc(a, (size_t)n + 1);
    vsnprintf(d, (size_t)n + 1, fmt, ap);
    return d;
}

char *arena_printf(arena *a, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = arena_vprintf(a, fmt, ap);
    va_end(ap);
    return s;
}
