/* SPDX-License-Identifier: Apache-2.0 */
/* Reference model for radix tree tests: a sorted array of names and a
 * straightforward listing over it (S3 semantics), plus name generators for
 * the shapes the tree must handle. Included by the radix test programs
 * after cmocka.h. */
#ifndef KURA_TESTS_META_RADIX_REF_H
#define KURA_TESTS_META_RADIX_REF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta/radix.h"
#include "meta_test_util.h"

typedef struct nm {
    uint8_t *b;
    uint32_t len;
} nm;

typedef struct nset {
    nm *v;
    size_t n, cap;
} nset;

static inline int bytes_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl) {
    size_t m = al < bl ? al : bl;
    int c = m ? memcmp(a, b, m) : 0;
    if (c) return c;
    return al < bl ? -1 : al > bl ? 1 : 0;
}

static inline int nm_cmp(const void *x, const void *y) {
    const nm *a = x, *b = y;
    return bytes_cmp(a->b, a->len, b->b, b->len);
}

static inline void nset_add(nset *s, const void *b, size_t len) {
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n].b = malloc(len ? len : 1);
    memcpy(s->v[s->n].b, b, len);
    s->v[s->n].len = (uint32_t)len;
    s->n++;
}

static inline void nset_sort_unique(nset *s) {
    if (!s->n) return;
    qsort(s->v, s->n, sizeof *s->v, nm_cmp);
    size_t w = 1;
    for (size_t r = 1; r < s->n; r++) {
        if (nm_cmp(&s->v[w - 1], &s->v[r]) == 0) {
            free(s->v[r].b);
        } else {
            s->v[w++] = s->v[r];
        }
    }
    s->n = w;
}

static inline void nset_free(nset *s) {
    for (size_t i = 0; i < s->n; i++) free(s->v[i].b);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* first index with name >= key (or > key when strict) */
static inline size_t nset_lower(const nset *s, const uint8_t *k, size_t kl, bool strict) {
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = bytes_cmp(s->v[mid].b, s->v[mid].len, k, kl);
        if (c < 0 || (strict && c == 0)) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static inline bool nset_has(const nset *s, const uint8_t *k, size_t kl) {
    size_t i = nset_lower(s, k, kl, false);
    return i < s->n && bytes_cmp(s->v[i].b, s->v[i].len, k, kl) == 0;
}

/* ---- listings --------------------------------------------------------------- */

typedef struct ent {
    uint8_t *b;
    uint32_t len;
    bool is_prefix;
} ent;

typedef struct elist {
    ent *v;
    size_t n, cap;
} elist;

static inline void elist_add(elist *l, const void *b, size_t len, bool is_prefix) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n].b = malloc(len ? len : 1);
    memcpy(l->v[l->n].b, b, len);
    l->v[l->n].len = (uint32_t)len;
    l->v[l->n].is_prefix = is_prefix;
    l->n++;
}

static inline void elist_clear(elist *l) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i].b);
    l->n = 0;
}

static inline void elist_free(elist *l) {
    elist_clear(l);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static inline const uint8_t *find_bytes(const uint8_t *h, size_t hl, const uint8_t *n, size_t nl) {
    if (nl == 0 || hl < nl) return NULL;
    for (size_t i = 0; i + nl <= hl; i++)
        if (memcmp(h + i, n, nl) == 0) return h + i;
    return NULL;
}

/* The listing every correct implementation must produce. */
static inline void ref_list(const nset *s, const radix_list_req *rq, elist *out, bool *truncated) {
    const uint8_t *p = rq->prefix, *sa = rq->start_after, *d = rq->delim;
    size_t pl = rq->prefix_len, sal = rq->start_after ? rq->start_after_len : 0, dl = rq->delim_len;
    elist_clear(out);
    *truncated = false;
    size_t i = nset_lower(s, p, pl, false);
    if (sal) {
        size_t j = nset_lower(s, sa, sal, true);
        if (j > i) i = j;
    }
    for (; i < s->n; i++) {
        const nm *x = &s->v[i];
        if (x->len < pl || (pl && memcmp(x->b, p, pl) != 0)) break;
        size_t elen = x->len;
        bool isp = false;
        if (dl) {
            const uint8_t *hit = find_bytes(x->b + pl, x->len - pl, d, dl);
            if (hit) {
                elen = (size_t)(hit - x->b) + dl;
                isp = true;
            }
        }
        if (sal && bytes_cmp(x->b, elen, sa, sal) <= 0) continue;
        if (isp && out->n && out->v[out->n - 1].is_prefix &&
            bytes_cmp(out->v[out->n - 1].b, out->v[out->n - 1].len, x->b, elen) == 0)
            continue;
        if (out->n == rq->max_entries) {
            *truncated = true;
            break;
        }
        elist_add(out, x->b, elen, isp);
    }
}

static inline int collect_emit(void *ctx, const void *entry, size_t len, bool is_prefix) {
    elist_add(ctx, entry, len, is_prefix);
    return 0;
}

static inline void dump_entry(const char *tag, const ent *e) {
    fprintf(stderr, "  %s [%u]%s: ", tag, e->len, e->is_prefix ? " (prefix)" : "");
    for (uint32_t i = 0; i < e->len && i < 80; i++) {
        uint8_t c = e->b[i];
        if (c >= 0x20 && c < 0x7F) {
            fputc(c, stderr);
        } else {
            fprintf(stderr, "\\x%02x", c);
        }
    }
    fputc('\n', stderr);
}

static inline bool elist_equal(const elist *a, const elist *b, bool verbose) {
    bool eq = a->n == b->n;
    size_t m = a->n < b->n ? a->n : b->n, first = m;
    for (size_t i = 0; i < m; i++) {
        if (a->v[i].len != b->v[i].len || a->v[i].is_prefix != b->v[i].is_prefix ||
            memcmp(a->v[i].b, b->v[i].b, a->v[i].len) != 0) {
            eq = false;
            first = i;
            break;
        }
    }
    if (!eq && verbose) {
        fprintf(stderr, "listing mismatch: got %zu entries, want %zu, first diff at %zu\n", a->n,
                b->n, first);
        if (first < a->n) dump_entry("got ", &a->v[first]);
        if (first < b->n) dump_entry("want", &b->v[first]);
    }
    return eq;
}

/* Runs one request against tree and model; true when identical. */
static inline bool check_list(radix *t, const void *ns, size_t nslen, const nset *s,
                              const radix_list_req *rq) {
    elist got = {0}, want = {0};
    bool gt = false, wt = false;
    kerr err = radix_list(t, ns, nslen, rq, collect_emit, &got, &gt);
    ref_list(s, rq, &want, &wt);
    bool ok = err == K_OK && elist_equal(&got, &want, true) && gt == wt;
    if (!ok) {
        fprintf(stderr,
                "request: prefix %zu bytes, start_after %zu bytes, delim %zu bytes, max %zu;"
                " err %d, truncated got %d want %d\n",
                rq->prefix_len, rq->start_after_len, rq->delim_len, rq->max_entries, (int)err, gt,
                wt);
    }
    elist_free(&got);
    elist_free(&want);
    return ok;
}

/* Pages through the whole listing, max entries at a time, continuing after
 * the last entry of each page (S3 NextMarker), and compares with the model. */
static inline bool check_paging(radix *t, const void *ns, size_t nslen, const nset *s,
                                const void *prefix, size_t plen, const void *delim, size_t dlen,
                                size_t max) {
    radix_list_req all = {prefix, plen, NULL, 0, delim, dlen, SIZE_MAX};
    elist want = {0}, page = {0};
    bool wt;
    ref_list(s, &all, &want, &wt);
    size_t pos = 0;
    uint8_t *marker = NULL;
    size_t mlen = 0;
    bool ok = true;
    for (int guard = 0; ok && guard < 1000000; guard++) {
        radix_list_req rq = {prefix, plen, marker, mlen, delim, dlen, max};
        bool trunc = false;
        elist_clear(&page);
        if (radix_list(t, ns, nslen, &rq, collect_emit, &page, &trunc) != K_OK) {
            ok = false;
            break;
        }
        size_t expect_n = want.n - pos < max ? want.n - pos : max;
        if (page.n != expect_n) {
            fprintf(stderr, "page at %zu: got %zu entries, want %zu (max %zu)\n", pos, page.n,
                    expect_n, max);
            ok = false;
            break;
        }
        for (size_t i = 0; i < page.n; i++) {
            const ent *a = &page.v[i], *b = &want.v[pos + i];
            if (a->len != b->len || a->is_prefix != b->is_prefix || memcmp(a->b, b->b, a->len)) {
                fprintf(stderr, "page at %zu: entry %zu differs\n", pos, i);
                dump_entry("got ", a);
                dump_entry("want", b);
                ok = false;
                break;
            }
        }
        pos += page.n;
        if (ok && trunc != (pos < want.n)) {
            fprintf(stderr, "page at %zu: truncated %d but %zu of %zu listed\n", pos, trunc, pos,
                    want.n);
            ok = false;
        }
        if (!ok || !trunc) break;
        free(marker);
        mlen = page.v[page.n - 1].len;
        marker = malloc(mlen);
        memcpy(marker, page.v[page.n - 1].b, mlen);
    }
    if (ok && pos != want.n) ok = false;
    free(marker);
    elist_free(&want);
    elist_free(&page);
    return ok;
}

/* ---- name shapes -------------------------------------------------------------- */

enum shape { SH_RANDOM, SH_DEEP, SH_NUMERIC, SH_HOT, SH_LONG, SH_COUNT };

static const char *const TOKENS[] = {
    "a", "b", "c", "/", "//", "$", "1", "2", "9", "\xc3\xa9", "\xed\x95\x9c", "\xff", "x", "-"};

static inline size_t gen_name(uint64_t *rng, enum shape sh, uint8_t *out) {
    size_t n = 0;
    switch (sh) {
    case SH_RANDOM: {
        size_t parts = 1 + rng_below(rng, 14);
        for (size_t i = 0; i < parts; i++) {
            uint32_t r = rng_below(rng, 16);
            if (r == 14) {
                out[n++] = 0x00;
            } else if (r == 15) {
                out[n++] = (uint8_t)rng_below(rng, 256);
            } else {
                size_t tl = strlen(TOKENS[r]);
                memcpy(out + n, TOKENS[r], tl);
                n += tl;
            }
        }
        break;
    }
    case SH_DEEP: {
        static const char *const comp[] = {"a", "b", "c", "dd", "e$", "f", "g", "\xed\x95\x9c"};
        size_t depth = 1 + rng_below(rng, 10);
        for (size_t i = 0; i < depth; i++) {
            const char *c = comp[rng_below(rng, 8)];
            memcpy(out + n, c, strlen(c));
            n += strlen(c);
            if (rng_below(rng, 6) == 0) out[n++] = 0x00; /* a NUL inside a component */
            if (i + 1 < depth || rng_below(rng, 3) == 0) out[n++] = '/';
        }
        break;
    }
    case SH_NUMERIC:
        n = (size_t)sprintf((char *)out, "/%u", rng_below(rng, 100000));
        if (rng_below(rng, 2)) n += (size_t)sprintf((char *)out + n, "/%u", rng_below(rng, 100));
        break;
    case SH_HOT:
        n = (size_t)sprintf((char *)out, "hot/spot/%06u.dat", rng_below(rng, 1000000));
        break;
    case SH_LONG: {
        /* 1024-byte names sharing long prefixes, and their prefixes */
        uint32_t fam = rng_below(rng, 4);
        memset(out, 'L' + (int)fam, 1000);
        n = 1000;
        while (n < RADIX_MAX_NAME) out[n++] = (uint8_t)('a' + rng_below(rng, 3));
        uint32_t cut = rng_below(rng, 4);
        if (cut == 1) n = 1000;
        if (cut == 2) n = 1000 + rng_below(rng, 24);
        break;
    }
    default:
        break;
    }
    return n;
}

/* Adds about count names of mixed shapes (including prefixes of other
 * names) to s, sorted and unique. */
static inline void gen_names(nset *s, size_t count, uint64_t seed, int hot_percent) {
    uint64_t rng = seed | 1;
    uint8_t buf[RADIX_MAX_NAME + 64];
    size_t start = s->n;
    for (size_t i = 0; i < count; i++) {
        uint32_t r = rng_below(&rng, 100);
        enum shape sh;
        if (r < (uint32_t)hot_percent) {
            sh = SH_HOT;
        } else if (r < 50) {
            sh = SH_RANDOM;
        } else if (r < 75) {
            sh = SH_DEEP;
        } else if (r < 97) {
            sh = SH_NUMERIC;
        } else {
            sh = SH_LONG;
        }
        size_t n = gen_name(&rng, sh, buf);
        if (n == 0 || n > RADIX_MAX_NAME) continue;
        nset_add(s, buf, n);
        if (rng_below(&rng, 20) == 0 && n > 1) /* a name that is a prefix of another */
            nset_add(s, buf, 1 + rng_below(&rng, (uint32_t)n - 1));
    }
    (void)start;
    nset_sort_unique(s);
}

static inline void shuffle(nm *v, size_t n, uint64_t seed) {
    uint64_t rng = seed | 1;
    for (size_t i = n; i > 1; i--) {
        size_t j = rng_below(&rng, (uint32_t)i);
        nm tmp = v[i - 1];
        v[i - 1] = v[j];
        v[j] = tmp;
    }
}

/* Random listing requests mixing prefixes, markers, delimiters and sizes;
 * returns the number of mismatches. */
static inline int check_random_requests(radix *t, const void *ns, size_t nslen, const nset *s,
                                        int count, uint64_t seed) {
    static const struct {
        const char *d;
        size_t len;
    } delims[] = {{NULL, 0}, {NULL, 0}, {"/", 1},  {"/", 1},
                  {"$", 1},  {"\0", 1}, {"/1", 2}, {"ab", 2}};
    static const size_t maxes[] = {1, 2, 7, 1000, 100000};
    uint64_t rng = seed | 1;
    int bad = 0;
    uint8_t pbuf[RADIX_MAX_NAME + 8], sbuf[RADIX_MAX_NAME + 8];
    for (int i = 0; i < count && s->n; i++) {
        radix_list_req rq = {0};
        const nm *a = &s->v[rng_below(&rng, (uint32_t)s->n)];
        uint32_t r = rng_below(&rng, 4);
        if (r == 1 || r == 2) {
            rq.prefix_len = rng_below(&rng, a->len + 1);
            memcpy(pbuf, a->b, rq.prefix_len);
            rq.prefix = pbuf;
        } else if (r == 3) {
            rq.prefix_len = gen_name(&rng, SH_RANDOM, pbuf) % 3 + 1;
            rq.prefix = pbuf;
        }
        const nm *b = &s->v[rng_below(&rng, (uint32_t)s->n)];
        r = rng_below(&rng, 10);
        if (r < 2) {
            rq.start_after = b->b;
            rq.start_after_len = b->len;
        } else if (r < 5) {
            /* within the prefix range when possible */
            size_t n = rq.prefix_len;
            if (n) memcpy(sbuf, rq.prefix, n);
            size_t extra = gen_name(&rng, rng_below(&rng, 2) ? SH_RANDOM : SH_DEEP, sbuf + n);
            extra = rng_below(&rng, (uint32_t)extra + 1);
            rq.start_after = sbuf;
            rq.start_after_len = n + extra;
        } else if (r < 6) {
            rq.start_after_len = rng_below(&rng, b->len + 1);
            rq.start_after = b->b;
        }
        uint32_t di = rng_below(&rng, sizeof delims / sizeof delims[0]);
        rq.delim = delims[di].d;
        rq.delim_len = delims[di].len;
        rq.max_entries = maxes[rng_below(&rng, 5)];
        if (!check_list(t, ns, nslen, s, &rq)) bad++;
    }
    return bad;
}

#endif
