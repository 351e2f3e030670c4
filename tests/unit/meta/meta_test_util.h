/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the meta/ unit tests: temp dirs, a deterministic PRNG. */
#ifndef KURA_TESTS_META_UTIL_H
#define KURA_TESTS_META_UTIL_H

#include <ftw.h> /* nftw: _GNU_SOURCE comes from the project arguments */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline uint64_t rng_next(uint64_t *s) {
    /* xorshift64*: deterministic across runs so failures reproduce */
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static inline uint32_t rng_below(uint64_t *s, uint32_t n) {
    return (uint32_t)(rng_next(s) % n);
}

static inline char *make_tmpdir(const char *tag) {
    const char *base = getenv("TMPDIR");
    if (!base || !*base) base = "/tmp";
    size_t cap = strlen(base) + strlen(tag) + 32;
    char *path = malloc(cap);
    if (!path) abort();
    snprintf(path, cap, "%s/kura-%s-XXXXXX", base, tag);
    if (!mkdtemp(path)) {
        perror("mkdtemp");
        abort();
    }
    return path;
}

static inline int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static inline void remove_tree(char *path) {
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(path);
}

#endif
