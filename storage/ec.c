/* SPDX-License-Identifier: Apache-2.0 */
/* Reed–Solomon coding with ISA-L; contract in ec.h.
 *
 * Invariants:
 * - gen is the (k+m)×k generator: the identity on top (data blocks are
 *   stored as they are), gf_gen_cauchy1_matrix's Cauchy rows below.
 * - enc_tbls are ISA-L's expanded tables of the m parity rows, built once.
 * - A cached decode entry for erasure pattern `missing` holds the k
 *   surviving blocks it reads (the first k present, in block order) and
 *   the expanded tables of one row per missing block; entries are never
 *   changed once published (lookups copy the small struct, the tables are
 *   shared). The cache has room for every pattern of up to m missing
 *   blocks (at most 4096; beyond, an entry is built for one call).
 */
#include "storage/ec.h"

#include <isa-l/erasure_code.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct decode_entry {
    uint32_t missing;
    unsigned nmiss;
    unsigned src[EC_MAX_BLOCKS]; /* the k blocks read */
    unsigned dst[EC_MAX_BLOCKS]; /* the blocks rebuilt, in block order */
    unsigned char *tbls;         /* k * nmiss * 32 bytes */
} decode_entry;

struct ec_code {
    unsigned k, m;
    unsigned char *gen;      /* (k+m) * k */
    unsigned char *enc_tbls; /* k * m * 32 */
    pthread_mutex_t mu;
    decode_entry *cache;
    size_t ncache, cap;
};

kerr ec_new(unsigned k, unsigned m, ec_code **out) {
    *out = NULL;
    if (k < 1 || k + m > EC_MAX_BLOCKS) return K_EINVAL;
    ec_code *c = calloc(1, sizeof *c);
    if (!c) return K_ENOMEM;
    pthread_mutex_init(&c->mu, NULL);
    c->k = k;
    c->m = m;
    c->gen = malloc((size_t)(k + m) * k);
    c->enc_tbls = malloc((size_t)k * (m ? m : 1) * 32);
    if (!c->gen || !c->enc_tbls) {
        ec_free(c);
        return K_ENOMEM;
    }
    /* room for every erasure pattern of up to m blocks, at most 4096 */
    uint64_t patterns = 0, comb = 1;
    for (unsigned i = 1; i <= m && patterns < 4096; i++) {
        comb = comb * (k + m - i + 1) / i;
        patterns += comb;
    }
    c->cap = patterns < 4096 ? (size_t)patterns : 4096;
    c->cache = calloc(c->cap ? c->cap : 1, sizeof *c->cache);
    if (!c->cache) {
        ec_free(c);
        return K_ENOMEM;
    }
    gf_gen_cauchy1_matrix(c->gen, (int)(k + m), (int)k);
    if (m) ec_init_tables((int)k, (int)m, c->gen + (size_t)k * k, c->enc_tbls);
    *out = c;
    return K_OK;
}

void ec_free(ec_code *c) {
    if (!c) return;
    for (size_t i = 0; i < c->ncache; i++) free(c->cache[i].tbls);
    free(c->cache);
    free(c->gen);
    free(c->enc_tbls);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

unsigned ec_k(const ec_code *c) {
    return c->k;
}

unsigned ec_m(const ec_code *c) {
    return c->m;
}

void ec_encode(const ec_code *c, size_t len, const uint8_t *const *data, uint8_t *const *parity) {
    if (!c->m || !len) return;
    ec_encode_data((int)len, (int)c->k, (int)c->m, c->enc_tbls, (unsigned char **)data,
                   (unsigned char **)parity);
}

/* Builds the decode entry for `missing` (at most m bits, within k+m). */
static kerr build_entry(const ec_code *c, uint32_t missing, decode_entry *e) {
    unsigned k = c->k, n = c->k + c->m;
    *e = (decode_entry){.missing = missing};
    unsigned ns = 0;
    for (unsigned i = 0; i < n; i++) {
        if (missing & (1u << i))
            e->dst[e->nmiss++] = i;
        else if (ns < k)
            e->src[ns++] = i;
    }
    if (ns < k) return K_EINVAL;
    unsigned char b[EC_MAX_BLOCKS * EC_MAX_BLOCKS], inv[EC_MAX_BLOCKS * EC_MAX_BLOCKS];
    for (unsigned r = 0; r < k; r++) memcpy(b + r * k, c->gen + (size_t)e->src[r] * k, k);
    if (gf_invert_matrix(b, inv, (int)k) != 0) return K_EINTERNAL; /* Cauchy: cannot happen */
    /* row of a missing block = its generator row times inv (GF(2^8)) */
    unsigned char rows[EC_MAX_BLOCKS * EC_MAX_BLOCKS];
    for (unsigned d = 0; d < e->nmiss; d++) {
        const unsigned char *g = c->gen + (size_t)e->dst[d] * k;
        for (unsigned j = 0; j < k; j++) {
            unsigned char s = 0;
            for (unsigned t = 0; t < k; t++) s ^= gf_mul(g[t], inv[t * k + j]);
            rows[d * k + j] = s;
        }
    }
    e->tbls = malloc((size_t)k * e->nmiss * 32);
    if (!e->tbls) return K_ENOMEM;
    ec_init_tables((int)k, (int)e->nmiss, rows, e->tbls);
    return K_OK;
}

/* The cached entry for `missing`, built on first use; *tmp is set when the
 * cache is full and the entry is the caller's to free (tbls). */
static kerr entry_for(ec_code *c, uint32_t missing, decode_entry *out, bool *tmp) {
    *tmp = false;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->ncache; i++)
        if (c->cache[i].missing == missing) {
            *out = c->cache[i]; /* published entries never change */
            pthread_mutex_unlock(&c->mu);
            return K_OK;
        }
    kerr rc = build_entry(c, missing, out);
    if (rc == K_OK) {
        if (c->ncache < c->cap)
            c->cache[c->ncache++] = *out;
        else
            *tmp = true;
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

kerr ec_reconstruct(ec_code *c, size_t len, uint8_t *const *blocks, uint32_t missing,
                    uint32_t want) {
    unsigned n = c->k + c->m;
    if (n < 32 && (missing >> n)) return K_EINVAL;
    if ((unsigned)__builtin_popcount(missing) > c->m || (want & ~missing)) return K_EINVAL;
    if (!want || !len) return K_OK;
    decode_entry e;
    bool tmp;
    kerr rc = entry_for(c, missing, &e, &tmp);
    if (rc) return rc;
    unsigned char *src[EC_MAX_BLOCKS];
    for (unsigned i = 0; i < c->k; i++) src[i] = blocks[e.src[i]];
    /* the table has one row of k * 32 bytes per missing block, in block
     * order: rows of the blocks wanted only (a degraded read wants one) */
    for (unsigned i = 0; i < e.nmiss; i++) {
        if (!(want & (1u << e.dst[i]))) continue;
        unsigned char *dst = blocks[e.dst[i]];
        ec_encode_data((int)len, (int)c->k, 1, e.tbls + (size_t)i * c->k * 32, src, &dst);
    }
    if (tmp) free(e.tbls);
    return K_OK;
}
