/* SPDX-License-Identifier: Apache-2.0 */
/* MetaKage's distributed radix tree over a plain kv (seeds/001).
 *
 * ---- Layout ---------------------------------------------------------------
 * A node is one kv item: key = "R" + u8 nslen + ns + prefix + '$', where
 * prefix is the full byte string leading to the node (the root's prefix is
 * empty). Its value is
 *
 *   u8 format (1) | u8 state|flags | u32 seq
 *   [u64 token]                         only in state PENDING
 *   [u64 intent token, u8 glen, G]      only with flag INTENT
 *   edge*                               sorted, to the end of the value
 *   edge = varint len | u8 flags | label bytes (any bytes, len >= 1)
 *
 * flags: NAME (prefix+label is a name) and/or CHILD (node prefix+label
 * exists and owns every longer name starting with prefix+label). Labels are
 * compared as unsigned bytes, shorter first on a tie (memcmp order). seq is
 * bumped on every write so a compare-and-set never mistakes a node that was
 * changed and changed back for an unchanged one (ABA); new nodes start at a
 * random seq. A node value stays <= NODE_MAX (4096) bytes: edges are kept
 * within ENTRY_BUDGET and the header is at most HDR_MAX.
 *
 * ---- Invariants -----------------------------------------------------------
 * I1 Edge labels in a node are unique and sorted.
 * I2 No label in a node has a CHILD label of the same node as a proper
 *    prefix: a child owns its whole range. (Several edges may share first
 *    bytes - 'abcd' and 'abxy' live side by side - so a label never has to be
 *    split and node keys, being full prefixes, never change.) Consequence:
 *    for a remainder r, the floor edge (largest label <= r) is either r
 *    itself or the only CHILD edge that can own r: lookups are one binary
 *    search per node, O(depth) nodes.
 * I3 LIVE implies linked: a non-root node in state LIVE is reachable from
 *    the root. Nodes become LIVE only after their parent edge exists
 *    (promotion) and stop being LIVE (RETIRED, empty) before the edge is
 *    removed. Hence a LIVE node found through a hint owns its range and a
 *    lookup may start there.
 * I4 A PENDING node (written by a split, tagged with its token) is trusted
 *    only when reached through a parent edge; a reader that wants to modify
 *    it re-reads the parent after reading it and, if the edge is there,
 *    promotes it to LIVE first.
 * I5 A non-root node with no edges is RETIRED; a root with no edges is
 *    deleted. A RETIRED or missing node reached through an edge is empty;
 *    whoever meets it unlinks the edge, then deletes the node.
 *
 * ---- Split (article: child first, then parent; no transactions) ----------
 * When X is full, a group of edges sharing a prefix G (a run with the same
 * first byte, G = their longest common prefix capped at MAX_GROUP_LABEL, or
 * the first byte of one long label) moves to a new child X+G:
 *   1. cas X: record an intent (token, G). Any older split of X, whose final
 *      cas expects an older X, can no longer link.
 *   2. write X+G (and, if the group is too big for one node, its own
 *      children first) as PENDING nodes tagged with the token. Each write
 *      reads the target, re-reads X to confirm the intent is still ours,
 *      then cas-es the target: a stale splitter whose intent was replaced
 *      cannot clobber them. An existing node at X+G here is an unlinked
 *      leftover (X has no edge to it, I3): X is the source of truth and it is
 *      overwritten.
 *   3. cas X: replace the group by one CHILD edge G and clear the intent,
 *      provided X still carries our intent and the group is byte-identical
 *      to what was written (else clean up and start over).
 *   4. promote the new nodes to LIVE.
 * A crash after 2 leaves X with a stale intent and an invisible PENDING
 * child: every name is still in X. Scans that meet a stale intent (token not
 * in this process's in-flight registry) clear it and delete the dangling
 * child (repairs); a later split of X replaces it anyway.
 *
 * ---- Remove ----------------------------------------------------------------
 * Clear NAME; drop an edge left with no flags. The write that removes a
 * non-root node's last edge also marks it RETIRED; then the parent's edge is
 * removed (the parent, found by a fresh descent, may retire in turn), and
 * only then the node is deleted, so no live name is ever hidden.
 *
 * ---- Write combining -------------------------------------------------------
 * Concurrent inserts/removes that target the same node are applied by one
 * leader in one cas (see combine()): with a group-committing store, a hot
 * node then takes many names per commit instead of one.
 *
 * ---- Listing -----------------------------------------------------------------
 * In-order DFS with an explicit stack of (node, next edge) frames. A seek
 * positions the stack at a bound (>= prefix, > start_after, or after every
 * string starting with a rolled-up common prefix) starting from the deepest
 * hinted node; when that start node's subtree is exhausted, the listing
 * seeks again past it. A common prefix is emitted once and its range is
 * skipped by a binary search over the current node's edges, never walked.
 * Prefetch (reads in batches, kv_mget; off with radix_set_list_prefetch 1):
 * - Children. When the walk needs a node it does not hold, it reads it in
 *   one batch with the other nodes the page should reach next, found by
 *   simulating the walk forward over the nodes already in memory (the
 *   frames from the current position down, nodes read ahead, then the
 *   kept ancestors of the seek's start node): a name or a distinct rolled-up common prefix takes
 *   one entry from what the page still wants, a node in memory is walked
 *   in turn, an unknown child becomes part of the batch and takes its
 *   expected yield: the average of what this node's completed children
 *   emitted, else of children of nodes with the same prefix length in this
 *   listing (including the seek's start node when it was a leaf), else
 *   half of what is still wanted (about two children). Rolled-up ranges
 *   and whatever lies past the prefix are never read. At most
 *   radix_set_list_prefetch nodes per batch, PREFETCH_CACHE held.
 * - Ancestors. A seek with hints reads its (up to HINT_MAX_READS) hinted
 *   candidates in one batch instead of one after the other, and keeps the
 *   LIVE ones above the chosen start node: the seek past that node, once
 *   its range is listed, starts at such an ancestor without a read.
 * Why this is safe: every node the walk uses was read after the node
 * snapshot it is reached from (a node read ahead is tagged with the id of
 * the parent snapshot whose edge named it and is only taken by a walk
 * coming from that same snapshot; ancestors and the start node come from
 * one read), just earlier than the walk gets to it, which a slow reader
 * could see as well: a split moves names down into a child written before
 * the parent is updated, never up, and a removal retires a node before
 * unlinking it, so a name present throughout the listing is in the
 * snapshot used or below it. The fixups (unlink a missing or retired
 * child, clear a stale intent) run when the walk reaches the node, as for
 * a node read there. Nodes read ahead and never used are counted
 * (radix_stats.prefetch_unused).
 *
 * ---- Hints -----------------------------------------------------------------
 * A per-handle Bloom filter of (ns, prefix) of nodes seen LIVE, plus a bitmap
 * of prefix lengths at which nodes were seen. A lookup hashes the name's
 * prefixes incrementally (one pass), probes the filter only at lengths in the
 * bitmap, longest first, and reads at most HINT_MAX_READS hinted nodes; the
 * first LIVE one is the start (I3). Stale hints cost a read, never
 * correctness. The filter is cleared when it has absorbed its capacity.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <time.h>

#include "common/buf.h"
#include "common/log.h"
#include "meta/meta_hash.h"
#include "meta/radix.h"

/* ---- format ---------------------------------------------------------------- */

#define NODE_FORMAT 1
#define ST_LIVE 0
#define ST_PENDING 1
#define ST_RETIRED 2
#define ST_MASK 0x03
#define HDR_INTENT 0x80
#define E_NAME 1
#define E_CHILD 2

#define NODE_MAX 4096
#define MAX_GROUP_LABEL 128
#define HDR_MAX (1 + 1 + 4 + 8 + 8 + 1 + MAX_GROUP_LABEL)
#define ENTRY_BUDGET (NODE_MAX - HDR_MAX)
/* A node built by a split is filled only to here so it can take inserts. */
#define CHILD_FILL 3072
#define NODE_KEY_MAX (2 + 255 + RADIX_MAX_NAME + 1)

#define OP_RETRY_BUDGET 100000
#define SPLIT_ATTEMPTS 200
#define SPLIT_LOCKS 64
#define HINT_MAX_READS 3
/* Listing prefetch: pages of more entries than this read a seek's hinted
 * candidates in one batch (see list_start_node). */
#define PREFETCH_ANCESTORS_MIN 64
#define PREFETCH_LEVELS 8
#define PREFETCH_CACHE (4 * RADIX_LIST_PREFETCH)
#define HINT_CANDIDATES 64
#define BLOOM_BITS_LOG2 25 /* 4 MiB */
#define BLOOM_PROBES 4
#define REGISTRY_SLOTS 256
#define NO_PARENT ((size_t)-1)
#define FNV_PRIME 0x100000001B3ULL

typedef struct edge {
    const uint8_t *label;
    uint32_t len;
    uint8_t flags;
} edge;

typedef struct hdr {
    uint8_t state;
    uint32_t seq;
    uint64_t token; /* PENDING: the split that wrote it */
    bool has_intent;
    uint64_t intent_token;
    uint32_t intent_glen;
    const uint8_t *intent_g;
} hdr;

typedef struct node {
    bool exists;
    hdr h;
    edge *e;
    uint32_t n, cap;
    kbuf raw; /* the stored value; labels point into it */
} node;

typedef struct edgevec {
    edge *e;
    uint32_t n, cap;
} edgevec;

/* ---- the handle ---------------------------------------------------------- */

/* One queued single-node modification (write combining, see combine()). */
typedef struct tctx tctx;

typedef struct wreq {
    struct wreq *next;
    tctx *c; /* the requester's context: namespace and handle */
    bool remove;
    const uint8_t *name;
    size_t nlen;
    size_t plen; /* the node the requester found: name[0..plen) */
    int state;   /* REQ_*; read and written under the combiner's mutex */
    int result;  /* leader's scratch */
    kerr err;
} wreq;

enum { REQ_PENDING, REQ_DONE, REQ_BOUNCED };

typedef struct combiner {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    wreq *head;
    bool busy;
} combiner;

struct radix {
    kv *store;
    uint64_t seed;
    _Atomic uint64_t token_ctr;
    _Atomic int fault_countdown;
    pthread_mutex_t split_locks[SPLIT_LOCKS];
    combiner comb[SPLIT_LOCKS];
    /* hints */
    _Atomic uint64_t *bloom;
    uint64_t bloom_mask;
    uint64_t bloom_capacity;
    _Atomic uint64_t bloom_added;
    _Atomic int bloom_resetting;
    _Atomic uint64_t lens[(RADIX_MAX_NAME + 64) / 64];
    _Atomic unsigned list_prefetch; /* radix_set_list_prefetch */
    /* stats */
    _Atomic uint64_t node_reads, root_reads, node_writes, splits, repairs, hint_hits;
    _Atomic uint64_t node_batches, prefetch_unused;
};

/* Tokens of splits in flight in this process (any handle). An intent whose
 * token is not here belongs to another process or to a split that died. */
static _Atomic uint64_t g_inflight[REGISTRY_SLOTS];

static void registry_add(uint64_t tok) {
    for (int i = 0; i < REGISTRY_SLOTS; i++) {
        uint64_t zero = 0;
        if (atomic_compare_exchange_strong(&g_inflight[i], &zero, tok)) return;
    }
    /* full: the split still works, others may just treat it as stale */
}

static void registry_del(uint64_t tok) {
    for (int i = 0; i < REGISTRY_SLOTS; i++) {
        uint64_t cur = tok;
        if (atomic_compare_exchange_strong(&g_inflight[i], &cur, 0)) return;
    }
}

static bool registry_has(uint64_t tok) {
    for (int i = 0; i < REGISTRY_SLOTS; i++)
        if (atomic_load_explicit(&g_inflight[i], memory_order_relaxed) == tok) return true;
    return false;
}

/* Per-operation context. */
struct tctx {
    radix *t;
    const uint8_t *ns;
    size_t nslen;
    uint64_t ns_seed;
};

/* ---- small helpers ---------------------------------------------------------- */

static inline void stat_inc(_Atomic uint64_t *c) {
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static int keycmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen) {
    size_t m = alen < blen ? alen : blen;
    int c = m ? memcmp(a, b, m) : 0;
    if (c) return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

static inline bool starts_with(const uint8_t *s, size_t slen, const uint8_t *p, size_t plen) {
    return slen >= plen && (plen == 0 || memcmp(s, p, plen) == 0);
}

static inline size_t varint_size(uint32_t v) {
    return v < 128 ? 1 : 2;
}

static inline size_t edge_size(uint32_t len) {
    return varint_size(len) + 1 + len;
}

static size_t edges_size(const edge *e, uint32_t n) {
    size_t s = 0;
    for (uint32_t i = 0; i < n; i++) s += edge_size(e[i].len);
    return s;
}

/* Split tokens: [36 bits: creation time in ms, modulo 2^36][16 bits: process
 * tag][12 bits: mixed counter]. The time gives intents of OTHER processes a
 * lease: a scan or splitter in another gateway treats an intent as in flight
 * (not stale) for SPLIT_LEASE_MS after it was written, instead of tearing
 * down a split that is merely running elsewhere. Intents of this process
 * are judged by the in-flight registry alone, which is exact. */
#define SPLIT_LEASE_MS 3000
#define TOKEN_TAG_SHIFT 12
#define TOKEN_TAG_MASK 0xFFFFu
#define TOKEN_TIME_SHIFT 28
#define TOKEN_TIME_MASK ((1ull << 36) - 1)

static uint64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t process_tag(void) {
    static _Atomic uint64_t tag; /* 0 = not chosen yet; stored as tag + 1 */
    uint64_t v = atomic_load(&tag);
    if (!v) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t mine = (mh_splitmix64((uint64_t)getpid() ^ (uint64_t)ts.tv_nsec ^ wall_ms()) &
                         TOKEN_TAG_MASK) +
                        1;
        uint64_t zero = 0;
        atomic_compare_exchange_strong(&tag, &zero, mine);
        v = atomic_load(&tag);
    }
    return v - 1;
}

static uint64_t new_token(radix *t) {
    uint64_t mix = mh_splitmix64(t->seed + atomic_fetch_add(&t->token_ctr, 1) * MH_P1);
    return (wall_ms() & TOKEN_TIME_MASK) << TOKEN_TIME_SHIFT | process_tag() << TOKEN_TAG_SHIFT |
           (mix & 0xFFF);
}

/* Is the split that wrote this intent possibly still running? */
static bool split_alive(uint64_t tok) {
    if ((tok >> TOKEN_TAG_SHIFT & TOKEN_TAG_MASK) == process_tag()) return registry_has(tok);
    uint64_t born = tok >> TOKEN_TIME_SHIFT & TOKEN_TIME_MASK, now = wall_ms() & TOKEN_TIME_MASK;
    uint64_t ahead = (now - born) & TOKEN_TIME_MASK, behind = (born - now) & TOKEN_TIME_MASK;
    /* either way round: the clocks of two hosts differ a bit */
    return ahead < SPLIT_LEASE_MS || behind < SPLIT_LEASE_MS;
}

static void sleep_us(long us) {
    struct timespec ts = {.tv_sec = 0, .tv_nsec = us * 1000};
    nanosleep(&ts, NULL);
}

static void ev_reserve(edgevec *v, uint32_t n) {
    if (n <= v->cap) return;
    uint32_t cap = v->cap ? v->cap : 32;
    while (cap < n) cap *= 2;
    edge *e = realloc(v->e, cap * sizeof *e);
    if (!e) abort();
    v->e = e;
    v->cap = cap;
}

static void ev_set(edgevec *v, const edge *e, uint32_t n) {
    ev_reserve(v, n);
    if (n) memcpy(v->e, e, n * sizeof *e);
    v->n = n;
}

static void ev_push(edgevec *v, edge ed) {
    ev_reserve(v, v->n + 1);
    v->e[v->n++] = ed;
}

static void ev_insert(edgevec *v, uint32_t pos, edge ed) {
    ev_reserve(v, v->n + 1);
    memmove(v->e + pos + 1, v->e + pos, (v->n - pos) * sizeof *v->e);
    v->e[pos] = ed;
    v->n++;
}

static void ev_remove(edgevec *v, uint32_t pos) {
    memmove(v->e + pos, v->e + pos + 1, (v->n - pos - 1) * sizeof *v->e);
    v->n--;
}

static void ev_free(edgevec *v) {
    free(v->e);
    v->e = NULL;
    v->n = v->cap = 0;
}

/* ---- node encoding ------------------------------------------------------------ */

static void node_init(node *x) {
    memset(x, 0, sizeof *x);
    kbuf_init(&x->raw);
}

static void node_free(node *x) {
    free(x->e);
    kbuf_free(&x->raw);
    memset(x, 0, sizeof *x);
}

static void put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get_u32(const uint8_t *p) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)p[i] << (8 * i);
    return v;
}
static uint64_t get_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void encode_edges(const edge *e, uint32_t n, kbuf *out) {
    for (uint32_t i = 0; i < n; i++) {
        uint8_t tmp[3];
        size_t k = 0;
        if (e[i].len < 128) {
            tmp[k++] = (uint8_t)e[i].len;
        } else {
            tmp[k++] = (uint8_t)(0x80 | (e[i].len & 0x7F));
            tmp[k++] = (uint8_t)(e[i].len >> 7);
        }
        tmp[k++] = e[i].flags;
        kbuf_append(out, tmp, k);
        kbuf_append(out, e[i].label, e[i].len);
    }
}

/* out must not be the buffer that h or e point into. */
static void encode_node(const hdr *h, const edge *e, uint32_t n, kbuf *out) {
    kbuf_reset(out);
    uint8_t head[HDR_MAX];
    size_t k = 0;
    head[k++] = NODE_FORMAT;
    head[k++] = (uint8_t)(h->state | (h->has_intent ? HDR_INTENT : 0));
    put_u32(head + k, h->seq);
    k += 4;
    if (h->state == ST_PENDING) {
        put_u64(head + k, h->token);
        k += 8;
    }
    if (h->has_intent) {
        put_u64(head + k, h->intent_token);
        k += 8;
        head[k++] = (uint8_t)h->intent_glen;
        memcpy(head + k, h->intent_g, h->intent_glen);
        k += h->intent_glen;
    }
    kbuf_append(out, head, k);
    encode_edges(e, n, out);
}

static kerr decode_node(node *x) {
    const uint8_t *p = (const uint8_t *)x->raw.data;
    size_t len = x->raw.len, k = 0;
    x->n = 0;
    if (len < 6 || p[0] != NODE_FORMAT) return K_ECORRUPT;
    uint8_t sf = p[1];
    if (sf & ~(ST_MASK | HDR_INTENT)) return K_ECORRUPT;
    memset(&x->h, 0, sizeof x->h);
    x->h.state = sf & ST_MASK;
    if (x->h.state > ST_RETIRED) return K_ECORRUPT;
    x->h.seq = get_u32(p + 2);
    k = 6;
    if (x->h.state == ST_PENDING) {
        if (len < k + 8) return K_ECORRUPT;
        x->h.token = get_u64(p + k);
        k += 8;
    }
    if (sf & HDR_INTENT) {
        if (len < k + 9) return K_ECORRUPT;
        x->h.has_intent = true;
        x->h.intent_token = get_u64(p + k);
        k += 8;
        x->h.intent_glen = p[k++];
        if (x->h.intent_glen == 0 || x->h.intent_glen > MAX_GROUP_LABEL ||
            len < k + x->h.intent_glen)
            return K_ECORRUPT;
        x->h.intent_g = p + k;
        k += x->h.intent_glen;
    }
    while (k < len) {
        uint32_t l = p[k++];
        if (l & 0x80) {
            if (k >= len) return K_ECORRUPT;
            l = (l & 0x7F) | ((uint32_t)p[k++] << 7);
        }
        if (k >= len) return K_ECORRUPT;
        uint8_t fl = p[k++];
        if (l == 0 || l > RADIX_MAX_NAME || fl == 0 || (fl & ~(E_NAME | E_CHILD)) || len - k < l)
            return K_ECORRUPT;
        if (x->n == x->cap) {
            uint32_t cap = x->cap ? x->cap * 2 : 64;
            edge *e = realloc(x->e, cap * sizeof *e);
            if (!e) abort();
            x->e = e;
            x->cap = cap;
        }
        edge *ed = &x->e[x->n];
        ed->label = p + k;
        ed->len = l;
        ed->flags = fl;
        if (x->n && keycmp(x->e[x->n - 1].label, x->e[x->n - 1].len, ed->label, l) >= 0)
            return K_ECORRUPT;
        x->n++;
        k += l;
    }
    return K_OK;
}

/* Largest index whose label <= r, or -1. */
static long floor_idx(const edge *e, uint32_t n, const uint8_t *r, size_t rlen) {
    long lo = 0, hi = (long)n - 1, ans = -1;
    while (lo <= hi) {
        long mid = lo + (hi - lo) / 2;
        if (keycmp(e[mid].label, e[mid].len, r, rlen) <= 0) {
            ans = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return ans;
}

/* First index >= from whose label neither sorts before pre nor starts with
 * it: the end of the run of labels inside pre's range. */
static uint32_t skip_prefixed(const edge *e, uint32_t n, uint32_t from, const uint8_t *pre,
                              size_t plen) {
    uint32_t lo = from, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        bool inside = starts_with(e[mid].label, e[mid].len, pre, plen) ||
                      keycmp(e[mid].label, e[mid].len, pre, plen) < 0;
        if (inside) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* ---- hints ---------------------------------------------------------------- */

static inline uint64_t hint_step(uint64_t s, uint8_t b) {
    return (s ^ b) * FNV_PRIME;
}
static inline uint64_t hint_final(uint64_t s, size_t len) {
    return mh_fmix64(s ^ ((uint64_t)len * MH_P2));
}

static uint64_t hint_hash(const tctx *c, const uint8_t *prefix, size_t plen) {
    uint64_t s = c->ns_seed;
    for (size_t i = 0; i < plen; i++) s = hint_step(s, prefix[i]);
    return hint_final(s, plen);
}

static bool bloom_has(radix *t, uint64_t h) {
    uint64_t h2 = mh_fmix64(h ^ MH_P3) | 1;
    for (int i = 0; i < BLOOM_PROBES; i++) {
        uint64_t bit = (h + (uint64_t)i * h2) & t->bloom_mask;
        uint64_t w = atomic_load_explicit(&t->bloom[bit >> 6], memory_order_relaxed);
        if (!(w & (1ULL << (bit & 63)))) return false;
    }
    return true;
}

static void bloom_reset(radix *t) {
    int expected = 0;
    if (!atomic_compare_exchange_strong(&t->bloom_resetting, &expected, 1)) return;
    for (uint64_t i = 0; i <= t->bloom_mask >> 6; i++)
        atomic_store_explicit(&t->bloom[i], 0, memory_order_relaxed);
    for (size_t i = 0; i < sizeof t->lens / sizeof t->lens[0]; i++)
        atomic_store_explicit(&t->lens[i], 0, memory_order_relaxed);
    atomic_store(&t->bloom_added, 0);
    atomic_store(&t->bloom_resetting, 0);
}

static void hint_add(tctx *c, const uint8_t *prefix, size_t plen) {
    radix *t = c->t;
    if (plen == 0 || plen > RADIX_MAX_NAME) return;
    uint64_t h = hint_hash(c, prefix, plen);
    uint64_t h2 = mh_fmix64(h ^ MH_P3) | 1;
    bool fresh = false;
    for (int i = 0; i < BLOOM_PROBES; i++) {
        uint64_t bit = (h + (uint64_t)i * h2) & t->bloom_mask;
        uint64_t m = 1ULL << (bit & 63);
        if (!(atomic_fetch_or_explicit(&t->bloom[bit >> 6], m, memory_order_relaxed) & m))
            fresh = true;
    }
    uint64_t lm = 1ULL << (plen & 63);
    if (!(atomic_load_explicit(&t->lens[plen >> 6], memory_order_relaxed) & lm))
        atomic_fetch_or_explicit(&t->lens[plen >> 6], lm, memory_order_relaxed);
    if (fresh && atomic_fetch_add(&t->bloom_added, 1) + 1 > t->bloom_capacity) bloom_reset(t);
}

/* ---- kv access --------------------------------------------------------------- */

static kerr node_key(const tctx *c, const uint8_t *prefix, size_t plen, uint8_t *out,
                     size_t *klen) {
    if (plen > RADIX_MAX_NAME) return K_EINVAL;
    size_t k = 0;
    out[k++] = 'R';
    out[k++] = (uint8_t)c->nslen;
    if (c->nslen) memcpy(out + k, c->ns, c->nslen);
    k += c->nslen;
    if (plen) memcpy(out + k, prefix, plen);
    k += plen;
    out[k++] = '$';
    *klen = k;
    return K_OK;
}

static kerr node_read(tctx *c, const uint8_t *prefix, size_t plen, node *x) {
    uint8_t key[NODE_KEY_MAX];
    size_t klen;
    kerr err = node_key(c, prefix, plen, key, &klen);
    if (err) return err;
    stat_inc(&c->t->node_reads);
    if (plen == 0) stat_inc(&c->t->root_reads);
    x->n = 0;
    memset(&x->h, 0, sizeof x->h);
    err = kv_get(c->t->store, key, klen, &x->raw);
    if (err == K_ENOTFOUND) {
        x->exists = false;
        return K_OK;
    }
    if (err) return err;
    x->exists = true;
    err = decode_node(x);
    if (err) {
        log_error("radix: corrupt node (prefix length %zu, %zu bytes)", plen, x->raw.len);
        return err;
    }
    if (x->h.state == ST_LIVE) hint_add(c, prefix, plen);
    return K_OK;
}

/* expect NULL: must be absent; val NULL: delete. */
static kerr node_cas(tctx *c, const uint8_t *prefix, size_t plen, const kbuf *expect,
                     const kbuf *val) {
    uint8_t key[NODE_KEY_MAX];
    size_t klen;
    kerr err = node_key(c, prefix, plen, key, &klen);
    if (err) return err;
    stat_inc(&c->t->node_writes);
    return kv_cas(c->t->store, key, klen, expect ? expect->data : NULL, expect ? expect->len : 0,
                  val ? val->data : NULL, val ? val->len : 0);
}

/* Replaces x's stored value by header (x's, with state and seq+1) + edges. */
static kerr node_rewrite(tctx *c, const uint8_t *prefix, size_t plen, const node *x, uint8_t state,
                         const edgevec *v, kbuf *out) {
    hdr h = x->h;
    h.seq++;
    h.state = state;
    if (state != ST_PENDING) h.token = 0;
    if (state == ST_RETIRED) h.has_intent = false;
    encode_node(&h, v->e, v->n, out);
    return node_cas(c, prefix, plen, &x->raw, out);
}

/* The hinted prefix lengths a walk towards key tries, longest first: of
 * the lengths L <= maxlen at which nodes were seen (the last HINT_CANDIDATES
 * of them), those whose (ns, key[0..L)) the Bloom filter holds, at most
 * HINT_MAX_READS. */
static size_t hint_lengths(const tctx *c, const uint8_t *key, size_t keylen, size_t maxlen,
                           size_t out[HINT_MAX_READS]) {
    radix *t = c->t;
    if (maxlen > keylen) maxlen = keylen;
    if (maxlen > RADIX_MAX_NAME - 1) maxlen = RADIX_MAX_NAME - 1;
    struct {
        uint32_t len;
        uint64_t h;
    } cand[HINT_CANDIDATES];
    size_t nc = 0;
    uint64_t s = c->ns_seed;
    for (size_t i = 1; i <= maxlen; i++) {
        s = hint_step(s, key[i - 1]);
        uint64_t w = atomic_load_explicit(&t->lens[i >> 6], memory_order_relaxed);
        if (w & (1ULL << (i & 63))) {
            cand[nc % HINT_CANDIDATES].len = (uint32_t)i;
            cand[nc % HINT_CANDIDATES].h = hint_final(s, i);
            nc++;
        }
    }
    size_t n = 0;
    size_t lowest = nc > HINT_CANDIDATES ? nc - HINT_CANDIDATES : 0;
    for (size_t j = nc; j-- > lowest && n < HINT_MAX_READS;)
        if (bloom_has(t, cand[j % HINT_CANDIDATES].h)) out[n++] = cand[j % HINT_CANDIDATES].len;
    return n;
}

/* Start node for a walk towards key: the deepest LIVE node whose prefix is
 * key[0..L) with L <= maxlen that the hints know about, else the root. */
static kerr start_node(tctx *c, const uint8_t *key, size_t keylen, size_t maxlen, node *x,
                       size_t *plen) {
    size_t lens[HINT_MAX_READS];
    size_t n = hint_lengths(c, key, keylen, maxlen, lens);
    for (size_t k = 0; k < n; k++) {
        kerr err = node_read(c, key, lens[k], x);
        if (err) return err;
        if (x->exists && x->h.state == ST_LIVE) {
            stat_inc(&c->t->hint_hits);
            *plen = lens[k];
            return K_OK;
        }
    }
    *plen = 0;
    return node_read(c, key, 0, x);
}

/* Reads the nodes at prefixes pfx[k][0..plens[k]), k < n, with one
 * kv_mget into out[k] (decoded; a LIVE one feeds the hints), as node_read
 * does for one. */
static kerr nodes_read(tctx *c, size_t n, const uint8_t *const *pfx, const size_t *plens,
                       node *out) {
    radix *t = c->t;
    uint8_t *keybuf = malloc(n * NODE_KEY_MAX);
    const void **keys = malloc(n * sizeof *keys);
    size_t *klens = malloc(n * sizeof *klens);
    kbuf *vals = calloc(n, sizeof *vals);
    kerr *errs = malloc(n * sizeof *errs);
    if (!keybuf || !keys || !klens || !vals || !errs) abort();
    kerr err = K_OK;
    for (size_t k = 0; k < n && !err; k++) {
        keys[k] = keybuf + k * NODE_KEY_MAX;
        err = node_key(c, pfx[k], plens[k], keybuf + k * NODE_KEY_MAX, &klens[k]);
    }
    if (!err) {
        atomic_fetch_add_explicit(&t->node_reads, n, memory_order_relaxed);
        err = kv_mget(t->store, n, keys, klens, vals, errs);
    }
    for (size_t k = 0; k < n && !err; k++) {
        node *x = &out[k];
        x->n = 0;
        memset(&x->h, 0, sizeof x->h);
        if (errs[k] == K_ENOTFOUND) {
            x->exists = false;
            continue;
        }
        if (errs[k] != K_OK) {
            err = errs[k];
            break;
        }
        kbuf tmp = x->raw; /* the value's buffer becomes the node's */
        x->raw = vals[k];
        vals[k] = tmp;
        x->exists = true;
        err = decode_node(x);
        if (err)
            log_error("radix: corrupt node (prefix length %zu, %zu bytes)", plens[k], x->raw.len);
        else if (x->h.state == ST_LIVE)
            hint_add(c, pfx[k], plens[k]);
    }
    for (size_t k = 0; k < n; k++) kbuf_free(&vals[k]);
    free(keybuf);
    free(keys);
    free(klens);
    free(vals);
    free(errs);
    return err;
}

/* ---- structural helpers ------------------------------------------------------ */

/* x (at prefix[0..plen), read earlier) is PENDING and was reached through
 * the edge of its parent at prefix[0..pplen). Re-read the parent now: if
 * the edge is still there, x is linked (I4) and is promoted to LIVE; x is
 * then re-read. K_ECONFLICT: the caller should start over. */
static kerr promote_linked(tctx *c, const uint8_t *prefix, size_t pplen, size_t plen, node *x) {
    node p;
    node_init(&p);
    kbuf out = KBUF_INIT;
    edgevec v = {0};
    kerr err = node_read(c, prefix, pplen, &p);
    if (err) goto done;
    err = K_ECONFLICT;
    if (!p.exists || p.h.state != ST_LIVE) goto done;
    long i = floor_idx(p.e, p.n, prefix + pplen, plen - pplen);
    if (i < 0 || !(p.e[i].flags & E_CHILD) || p.e[i].len != plen - pplen ||
        memcmp(p.e[i].label, prefix + pplen, plen - pplen) != 0)
        goto done;
    ev_set(&v, x->e, x->n);
    err = node_rewrite(c, prefix, plen, x, ST_LIVE, &v, &out);
    if (err) goto done;
    err = node_read(c, prefix, plen, x);
done:
    node_free(&p);
    kbuf_free(&out);
    ev_free(&v);
    return err;
}

/* The node at prefix[0..clen) is RETIRED or missing: remove its parent's
 * edge first, then delete it (so no live name is ever hidden), and go on
 * upwards while parents become empty. */
static kerr unlink_child(tctx *c, const uint8_t *prefix, size_t clen) {
    node y, ch;
    node_init(&y);
    node_init(&ch);
    kbuf out = KBUF_INIT;
    edgevec v = {0};
    kerr err = K_OK;
    int budget = 1000;
    while (clen > 0) {
        if (--budget < 0) {
            err = K_EUNAVAILABLE;
            break;
        }
        size_t ylen, yplen = NO_PARENT;
        err = start_node(c, prefix, clen, clen - 1, &y, &ylen);
        if (err) break;
        bool found = false, retry = false;
        long i = -1;
        for (;;) {
            if (!y.exists || y.h.state == ST_RETIRED) break;
            if (y.h.state == ST_PENDING) {
                if (yplen == NO_PARENT) {
                    retry = true;
                    break;
                }
                err = promote_linked(c, prefix, yplen, ylen, &y);
                if (err == K_ECONFLICT) {
                    err = K_OK;
                    retry = true;
                    break;
                }
                if (err) break;
                continue;
            }
            const uint8_t *rem = prefix + ylen;
            size_t remlen = clen - ylen;
            i = floor_idx(y.e, y.n, rem, remlen);
            if (i < 0 || !(y.e[i].flags & E_CHILD)) break;
            if (y.e[i].len == remlen && memcmp(y.e[i].label, rem, remlen) == 0) {
                found = true;
                break;
            }
            if (y.e[i].len < remlen && memcmp(y.e[i].label, rem, y.e[i].len) == 0) {
                yplen = ylen;
                ylen += y.e[i].len;
                err = node_read(c, prefix, ylen, &y);
                if (err) break;
                continue;
            }
            break;
        }
        if (err) break;
        if (retry) continue;
        /* read after the parent: a child that came back to life since is
         * left alone (it can only have, through a new split, which changed
         * the parent and fails our cas anyway) */
        err = node_read(c, prefix, clen, &ch);
        if (err) break;
        if (ch.exists && ch.h.state != ST_RETIRED) break;
        bool parent_retired = false;
        if (found) {
            ev_set(&v, y.e, y.n);
            v.e[i].flags &= (uint8_t)~E_CHILD;
            if (!v.e[i].flags) ev_remove(&v, (uint32_t)i);
            if (v.n == 0 && ylen == 0) {
                err = node_cas(c, prefix, 0, &y.raw, NULL);
            } else {
                parent_retired = v.n == 0;
                err = node_rewrite(c, prefix, ylen, &y, v.n ? ST_LIVE : ST_RETIRED, &v, &out);
            }
            if (err == K_ECONFLICT) {
                err = K_OK;
                continue;
            }
            if (err) break;
        }
        if (ch.exists) {
            kerr derr = node_cas(c, prefix, clen, &ch.raw, NULL);
            if (derr && derr != K_ECONFLICT) {
                err = derr;
                break;
            }
        }
        if (!parent_retired) break;
        clen = ylen;
    }
    node_free(&y);
    node_free(&ch);
    kbuf_free(&out);
    ev_free(&v);
    return err;
}

/* Deletes the PENDING node at path (and its PENDING children) written by the
 * split with token tok. LIVE nodes below it (edges that the split moved
 * down) are left alone: they are still linked from the original parent. */
static bool delete_pending_rec(tctx *c, kbuf *path, uint64_t tok, int depth) {
    if (depth > RADIX_MAX_NAME) return false;
    node k;
    node_init(&k);
    bool deleted = false;
    if (node_read(c, (const uint8_t *)path->data, path->len, &k) == K_OK && k.exists &&
        k.h.state == ST_PENDING && k.h.token == tok) {
        size_t base = path->len;
        for (uint32_t i = 0; i < k.n; i++) {
            if (!(k.e[i].flags & E_CHILD)) continue;
            path->len = base;
            kbuf_append(path, k.e[i].label, k.e[i].len);
            delete_pending_rec(c, path, tok, depth + 1);
        }
        path->len = base;
        deleted = node_cas(c, (const uint8_t *)path->data, base, &k.raw, NULL) == K_OK;
    }
    node_free(&k);
    return deleted;
}

static bool delete_pending_subtree(tctx *c, const uint8_t *prefix, size_t plen, const uint8_t *g,
                                   size_t glen, uint64_t tok) {
    kbuf path = KBUF_INIT;
    kbuf_append(&path, prefix, plen);
    kbuf_append(&path, g, glen);
    bool deleted = delete_pending_rec(c, &path, tok, 0);
    kbuf_free(&path);
    return deleted;
}

/* A scan met x (at prefix[0..plen)) carrying an intent no split in this
 * process owns: the split died between its child write and its parent
 * write. Clear the intent (so it can never link), then delete the dangling
 * child. */
static void repair_intent(tctx *c, const uint8_t *prefix, size_t plen, const node *x) {
    if (!x->exists || !x->h.has_intent || split_alive(x->h.intent_token)) return;
    uint8_t g[MAX_GROUP_LABEL];
    size_t glen = x->h.intent_glen;
    uint64_t tok = x->h.intent_token;
    memcpy(g, x->h.intent_g, glen);
    hdr h = x->h;
    h.seq++;
    h.has_intent = false;
    kbuf out = KBUF_INIT;
    encode_node(&h, x->e, x->n, &out);
    if (node_cas(c, prefix, plen, &x->raw, &out) == K_OK) {
        delete_pending_subtree(c, prefix, plen, g, glen, tok);
        stat_inc(&c->t->repairs);
    }
    kbuf_free(&out);
}

/* ---- split ------------------------------------------------------------------- */

typedef struct group {
    uint32_t start, end; /* edges [start, end) all start with G */
    uint32_t glen;       /* G = e[start].label[0..glen) */
} group;

static uint32_t lcp_len(const edge *a, const edge *b) {
    uint32_t m = a->len < b->len ? a->len : b->len, i = 0;
    while (i < m && a->label[i] == b->label[i]) i++;
    return i;
}

/* Picks the run of edges whose move into one child frees the most bytes. */
static bool choose_group(const edge *e, uint32_t n, group *best) {
    long best_gain = 0;
    for (uint32_t a = 0, b; a < n; a = b) {
        b = a + 1;
        while (b < n && e[b].label[0] == e[a].label[0]) b++;
        uint32_t glen;
        if (b - a == 1) {
            if (e[a].len < 2) continue;
            glen = 1;
        } else {
            glen = lcp_len(&e[a], &e[b - 1]);
            if (glen > MAX_GROUP_LABEL) glen = MAX_GROUP_LABEL;
        }
        long gain = (long)edges_size(e + a, b - a) - (long)edge_size(glen);
        if (gain > best_gain) {
            best_gain = gain;
            best->start = a;
            best->end = b;
            best->glen = glen;
        }
    }
    return best_gain > 0;
}

/* Child edges of a group: labels minus G; the edge equal to G stays. */
static void group_child_edges(const edge *e, const group *g, edgevec *out) {
    out->n = 0;
    for (uint32_t i = g->start; i < g->end; i++) {
        if (e[i].len == g->glen) continue;
        ev_push(out, (edge){e[i].label + g->glen, e[i].len - g->glen, e[i].flags});
    }
}

/* Replaces the group by its CHILD edge G (keeping NAME of an edge equal
 * to G). */
static void group_collapse(edgevec *v, const group *g) {
    uint8_t fl = E_CHILD;
    if (v->e[g->start].len == g->glen) fl |= v->e[g->start].flags & E_NAME;
    edge ce = {v->e[g->start].label, g->glen, fl};
    uint32_t removed = g->end - g->start;
    memmove(v->e + g->start + 1, v->e + g->end, (v->n - g->end) * sizeof *v->e);
    v->n -= removed - 1;
    v->e[g->start] = ce;
}

typedef struct written {
    kbuf prefix, val;
} written;

typedef struct wlist {
    written *w;
    size_t n, cap;
} wlist;

static void wl_add(wlist *l, const uint8_t *prefix, size_t plen, const kbuf *val) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        written *w = realloc(l->w, cap * sizeof *w);
        if (!w) abort();
        l->w = w;
        l->cap = cap;
    }
    written *w = &l->w[l->n++];
    kbuf_init(&w->prefix);
    kbuf_init(&w->val);
    kbuf_append(&w->prefix, prefix, plen);
    kbuf_append(&w->val, val->data, val->len);
}

static void wl_clear(wlist *l) {
    for (size_t i = 0; i < l->n; i++) {
        kbuf_free(&l->w[i].prefix);
        kbuf_free(&l->w[i].val);
    }
    l->n = 0;
}

/* Deletes nodes this split wrote but never linked. */
static void wl_cleanup(tctx *c, wlist *l) {
    for (size_t i = 0; i < l->n; i++)
        node_cas(c, (const uint8_t *)l->w[i].prefix.data, l->w[i].prefix.len, &l->w[i].val, NULL);
    wl_clear(l);
}

/* Does X (prefix[0..plen)) still carry our intent? */
static kerr check_intent(tctx *c, const uint8_t *prefix, size_t plen, uint64_t tok, node *x) {
    kerr err = node_read(c, prefix, plen, x);
    if (err) return err;
    if (!x->exists || x->h.state != ST_LIVE || !x->h.has_intent || x->h.intent_token != tok)
        return K_ECONFLICT;
    return K_OK;
}

/* Writes one PENDING node of the split with token tok (step 2). */
static kerr write_pending(tctx *c, const uint8_t *xprefix, size_t xplen, uint64_t tok,
                          const kbuf *cpfx, const kbuf *val, wlist *wl) {
    node cur, x;
    node_init(&cur);
    node_init(&x);
    kerr err = K_ECONFLICT;
    for (int tries = 0; tries < 100 && err == K_ECONFLICT; tries++) {
        err = node_read(c, (const uint8_t *)cpfx->data, cpfx->len, &cur);
        if (err) break;
        if (cur.exists && cur.h.state == ST_LIVE) {
            /* Our intent may have been taken over (we stalled past the lease)
             * and the split finished by someone else: that is a conflict to
             * retry, not damage. */
            err = check_intent(c, xprefix, xplen, tok, &x);
            if (err) break;
            /* I3 says a LIVE node here would be linked from X, which has no
             * such edge: refuse rather than overwrite live data. */
            log_error("radix: split target is LIVE but unlinked (prefix length %zu)", cpfx->len);
            err = K_EINTERNAL;
            break;
        }
        /* confirm the intent after reading the target: a splitter whose
         * intent was replaced fails here or its cas fails */
        err = check_intent(c, xprefix, xplen, tok, &x);
        if (err) break;
        err =
            node_cas(c, (const uint8_t *)cpfx->data, cpfx->len, cur.exists ? &cur.raw : NULL, val);
    }
    if (err == K_OK) wl_add(wl, (const uint8_t *)cpfx->data, cpfx->len, val);
    node_free(&cur);
    node_free(&x);
    return err;
}

/* Writes the subtree for edges v under prefix cpfx, children before
 * parents, each node filled to at most CHILD_FILL. */
static kerr materialize(tctx *c, const uint8_t *xprefix, size_t xplen, uint64_t tok, kbuf *cpfx,
                        edgevec *v, wlist *wl) {
    kerr err = K_OK;
    edgevec sub = {0};
    size_t base = cpfx->len;
    while (edges_size(v->e, v->n) > CHILD_FILL) {
        group g;
        if (!choose_group(v->e, v->n, &g)) break;
        group_child_edges(v->e, &g, &sub);
        kbuf_append(cpfx, v->e[g.start].label, g.glen);
        err = materialize(c, xprefix, xplen, tok, cpfx, &sub, wl);
        cpfx->len = base;
        if (err) goto done;
        group_collapse(v, &g);
    }
    if (edges_size(v->e, v->n) > ENTRY_BUDGET) {
        err = K_EINTERNAL;
        goto done;
    }
    hdr h = {.state = ST_PENDING, .seq = (uint32_t)new_token(c->t), .token = tok};
    kbuf val = KBUF_INIT;
    encode_node(&h, v->e, v->n, &val);
    err = write_pending(c, xprefix, xplen, tok, cpfx, &val, wl);
    kbuf_free(&val);
done:
    ev_free(&sub);
    return err;
}

/* Step 3: swap the group for its CHILD edge, if X still has our intent and
 * the group is exactly what was written. */
static kerr link_group(tctx *c, const uint8_t *prefix, size_t plen, uint64_t tok, const uint8_t *g,
                       uint32_t glen, const kbuf *snap) {
    node x;
    node_init(&x);
    kbuf cur = KBUF_INIT, out = KBUF_INIT;
    edgevec v = {0};
    kerr err = K_ECONFLICT;
    for (int tries = 0; tries < 100; tries++) {
        err = check_intent(c, prefix, plen, tok, &x);
        if (err) break;
        long f = floor_idx(x.e, x.n, g, glen);
        uint32_t gs = (f >= 0 && keycmp(x.e[f].label, x.e[f].len, g, glen) == 0)
                          ? (uint32_t)f
                          : (uint32_t)(f + 1);
        uint32_t ge = gs;
        while (ge < x.n && starts_with(x.e[ge].label, x.e[ge].len, g, glen)) ge++;
        kbuf_reset(&cur);
        encode_edges(x.e + gs, ge - gs, &cur);
        if (ge == gs || cur.len != snap->len || memcmp(cur.data, snap->data, cur.len) != 0) {
            err = K_ECONFLICT; /* the group changed under us */
            break;
        }
        ev_set(&v, x.e, x.n);
        group gr = {gs, ge, glen};
        group_collapse(&v, &gr);
        hdr h = x.h;
        h.seq++;
        h.has_intent = false;
        encode_node(&h, v.e, v.n, &out);
        err = node_cas(c, prefix, plen, &x.raw, &out);
        if (err != K_ECONFLICT) break;
    }
    node_free(&x);
    kbuf_free(&cur);
    kbuf_free(&out);
    ev_free(&v);
    return err;
}

static void clear_intent(tctx *c, const uint8_t *prefix, size_t plen, uint64_t tok) {
    node x;
    node_init(&x);
    kbuf out = KBUF_INIT;
    for (int tries = 0; tries < 100; tries++) {
        if (node_read(c, prefix, plen, &x) || !x.exists || !x.h.has_intent ||
            x.h.intent_token != tok)
            break;
        hdr h = x.h;
        h.seq++;
        h.has_intent = false;
        encode_node(&h, x.e, x.n, &out);
        if (node_cas(c, prefix, plen, &x.raw, &out) != K_ECONFLICT) break;
    }
    node_free(&x);
    kbuf_free(&out);
}

/* Step 4: the nodes are linked; make them LIVE, parents first. */
static void promote_written(tctx *c, wlist *wl) {
    node k;
    node_init(&k);
    kbuf out = KBUF_INIT;
    edgevec v = {0};
    for (size_t i = wl->n; i-- > 0;) {
        written *w = &wl->w[i];
        kbuf_reset(&k.raw);
        kbuf_append(&k.raw, w->val.data, w->val.len);
        k.exists = true;
        if (decode_node(&k)) continue;
        ev_set(&v, k.e, k.n);
        if (node_rewrite(c, (const uint8_t *)w->prefix.data, w->prefix.len, &k, ST_LIVE, &v,
                         &out) == K_OK)
            hint_add(c, (const uint8_t *)w->prefix.data, w->prefix.len);
    }
    node_free(&k);
    kbuf_free(&out);
    ev_free(&v);
}

static bool fault_hit(radix *t) {
    int cur = atomic_load(&t->fault_countdown);
    while (cur > 0) {
        if (atomic_compare_exchange_weak(&t->fault_countdown, &cur, cur - 1)) return cur == 1;
    }
    return false;
}

/* Makes room for need more edge bytes in X (prefix[0..plen)), splitting as
 * often as needed. Returns K_OK also when X changed so that the caller
 * should just look again. */
static kerr split_node(tctx *c, const uint8_t *prefix, size_t plen, size_t need) {
    radix *t = c->t;
    pthread_mutex_t *mu =
        &t->split_locks[mh_hash64(prefix, plen, c->ns_seed ^ (uint64_t)plen) % SPLIT_LOCKS];
    pthread_mutex_lock(mu);
    node x;
    node_init(&x);
    kbuf out = KBUF_INIT, snap = KBUF_INIT, cpfx = KBUF_INIT;
    edgevec cv = {0};
    wlist wl = {0};
    uint64_t waited_tok = 0;
    int waits = 0;
    kerr err = K_OK;
    for (int attempt = 0; attempt < SPLIT_ATTEMPTS; attempt++) {
        err = node_read(c, prefix, plen, &x);
        if (err) break;
        if (!x.exists || x.h.state != ST_LIVE) break;
        if (edges_size(x.e, x.n) + need <= ENTRY_BUDGET) break;
        uint64_t stale_tok = 0;
        uint8_t stale_g[MAX_GROUP_LABEL];
        size_t stale_glen = 0;
        if (x.h.has_intent) {
            /* Someone else's split: give a live one (another thread or
             * process) a moment, then take over. */
            if (x.h.intent_token != waited_tok) {
                waited_tok = x.h.intent_token;
                waits = 0;
            }
            /* A live split (here or in another gateway) is waited for, up
             * to its lease, without using up attempts; a dead one is taken
             * over almost at once. */
            bool alive = split_alive(waited_tok);
            if (waits++ < (alive ? SPLIT_LEASE_MS * 4 : 2)) {
                sleep_us(250);
                if (alive) attempt--;
                continue;
            }
            stale_tok = x.h.intent_token;
            stale_glen = x.h.intent_glen;
            memcpy(stale_g, x.h.intent_g, stale_glen);
        }
        group g;
        if (!choose_group(x.e, x.n, &g)) {
            log_error("radix: node of %zu edge bytes cannot be split", edges_size(x.e, x.n));
            err = K_EINTERNAL;
            break;
        }
        uint8_t gbytes[MAX_GROUP_LABEL];
        uint32_t glen = g.glen;
        memcpy(gbytes, x.e[g.start].label, glen);
        uint64_t tok = new_token(t);
        registry_add(tok);

        /* 1. intent */
        hdr h = x.h;
        h.seq++;
        h.has_intent = true;
        h.intent_token = tok;
        h.intent_glen = glen;
        h.intent_g = gbytes;
        encode_node(&h, x.e, x.n, &out);
        err = node_cas(c, prefix, plen, &x.raw, &out);
        if (err) {
            registry_del(tok);
            if (err == K_ECONFLICT) continue;
            break;
        }
        if (stale_tok && delete_pending_subtree(c, prefix, plen, stale_g, stale_glen, stale_tok))
            stat_inc(&t->repairs);

        /* 2. the child subtree, as PENDING nodes; x still holds the edges
         * as they were when the intent was set */
        kbuf_reset(&snap);
        encode_edges(x.e + g.start, g.end - g.start, &snap);
        group_child_edges(x.e, &g, &cv);
        kbuf_reset(&cpfx);
        kbuf_append(&cpfx, prefix, plen);
        kbuf_append(&cpfx, gbytes, glen);
        err = materialize(c, prefix, plen, tok, &cpfx, &cv, &wl);
        if (err) {
            wl_cleanup(c, &wl);
            if (err == K_ECONFLICT) { /* our intent was taken over */
                registry_del(tok);
                continue;
            }
            clear_intent(c, prefix, plen, tok);
            registry_del(tok);
            break;
        }
        if (fault_hit(t)) {
            /* crash simulation: forget the split as a dead process would */
            registry_del(tok);
            wl_clear(&wl);
            err = K_EIO;
            break;
        }

        /* 3. link */
        err = link_group(c, prefix, plen, tok, gbytes, glen, &snap);
        if (err) {
            wl_cleanup(c, &wl);
            clear_intent(c, prefix, plen, tok);
            registry_del(tok);
            if (err == K_ECONFLICT) continue;
            break;
        }
        /* 4. promote */
        promote_written(c, &wl);
        wl_clear(&wl);
        registry_del(tok);
        stat_inc(&t->splits);
        need = 0; /* loop once more only if X is still over budget */
    }
    pthread_mutex_unlock(mu);
    node_free(&x);
    kbuf_free(&out);
    kbuf_free(&snap);
    kbuf_free(&cpfx);
    ev_free(&cv);
    wl_clear(&wl);
    free(wl.w);
    return err;
}

/* ---- write combining -------------------------------------------------------- */

/* Concurrent inserts and removes that land in the same node would each
 * read-modify-cas it; with a group-committing store they arrive in the same
 * batch and all but one conflict, so a hot node takes one name per commit.
 * Instead, requests for a node queue on a per-stripe combiner; whoever finds
 * it idle becomes the leader, applies every queued request for that node to
 * one copy and writes it with a single cas. Requests the leader cannot
 * settle with a plain edge change (the name belongs to a child, the node is
 * full or would become empty, the node is not LIVE) are bounced back and
 * their owners take the ordinary path. */

static size_t stripe_of(const tctx *c, const uint8_t *prefix, size_t plen) {
    return mh_hash64(prefix, plen, c->ns_seed ^ (uint64_t)plen) % SPLIT_LOCKS;
}

/* Do two requests target the same node of the same tree? */
static bool same_node(const wreq *a, const wreq *b) {
    return a->c->nslen == b->c->nslen &&
           (a->c->nslen == 0 || memcmp(a->c->ns, b->c->ns, a->c->nslen) == 0) &&
           a->plen == b->plen && (a->plen == 0 || memcmp(a->name, b->name, a->plen) == 0);
}

/* Applies r to v (the leader's working copy of the node at prefix length
 * plen). Sets r->result to REQ_DONE (r->err = outcome) or REQ_BOUNCED;
 * returns whether v changed. */
static bool apply_req(wreq *r, size_t plen, edgevec *v) {
    const uint8_t *rem = r->name + plen;
    size_t remlen = r->nlen - plen;
    long i = floor_idx(v->e, v->n, rem, remlen);
    bool exact = i >= 0 && v->e[i].len == remlen && memcmp(v->e[i].label, rem, remlen) == 0;
    r->result = REQ_DONE;
    r->err = K_OK;
    if (!exact && i >= 0 && (v->e[i].flags & E_CHILD) && v->e[i].len < remlen &&
        memcmp(v->e[i].label, rem, v->e[i].len) == 0) {
        r->result = REQ_BOUNCED; /* lives further down */
        return false;
    }
    if (r->remove) {
        if (!exact || !(v->e[i].flags & E_NAME)) {
            r->err = K_ENOTFOUND;
            return false;
        }
        if (v->e[i].flags == E_NAME && v->n == 1) {
            r->result = REQ_BOUNCED; /* emptying a node is the owner's job */
            return false;
        }
        v->e[i].flags &= (uint8_t)~E_NAME;
        if (!v->e[i].flags) ev_remove(v, (uint32_t)i);
        return true;
    }
    if (exact) {
        if (v->e[i].flags & E_NAME) return false;
        v->e[i].flags |= E_NAME;
        return true;
    }
    if (edges_size(v->e, v->n) + edge_size((uint32_t)remlen) > ENTRY_BUDGET) {
        r->result = REQ_BOUNCED; /* needs a split */
        return false;
    }
    ev_insert(v, (uint32_t)(i + 1), (edge){rem, (uint32_t)remlen, E_NAME});
    return true;
}

/* Settles every request of list that targets the node of `first`. own is
 * the leader's own recent read of that node, tried before re-reading. */
static void apply_group(wreq *list, wreq *first, const node *own) {
    tctx *c = first->c;
    size_t plen = first->plen;
    const uint8_t *prefix = first->name;
    node x;
    node_init(&x);
    kbuf out = KBUF_INIT;
    edgevec v = {0};
    bool settled = false;
    for (int tries = 0; tries < 50; tries++) {
        const node *cur = own;
        if (tries > 0 || !own) {
            if (node_read(c, prefix, plen, &x) != K_OK) break;
            cur = &x;
        }
        if (!cur->exists || cur->h.state != ST_LIVE) break;
        ev_set(&v, cur->e, cur->n);
        bool changed = false;
        for (wreq *r = list; r; r = r->next) {
            if (r->result != REQ_PENDING || !same_node(r, first)) continue;
            changed |= apply_req(r, plen, &v);
        }
        kerr err = changed ? node_rewrite(c, prefix, plen, cur, ST_LIVE, &v, &out) : K_OK;
        if (err == K_ECONFLICT) { /* reconsider all of them on a fresh read */
            for (wreq *r = list; r; r = r->next)
                if (same_node(r, first)) r->result = REQ_PENDING;
            continue;
        }
        if (err) {
            for (wreq *r = list; r; r = r->next)
                if (r->result == REQ_DONE && same_node(r, first)) r->err = err;
        }
        settled = true;
        break;
    }
    /* whatever is not settled here goes back to its owner */
    for (wreq *r = list; r; r = r->next)
        if (same_node(r, first) && (!settled || r->result == REQ_PENDING)) r->result = REQ_BOUNCED;
    node_free(&x);
    kbuf_free(&out);
    ev_free(&v);
}

/* Queues one modification of the node x (at name[0..plen)) and waits until
 * a leader (possibly this thread) has applied it. K_OK / K_ENOTFOUND: done;
 * K_ECONFLICT: bounced, the caller re-reads and proceeds on its own. */
static kerr combine(tctx *c, bool remove, const uint8_t *name, size_t nlen, size_t plen,
                    const node *x) {
    combiner *cb = &c->t->comb[stripe_of(c, name, plen)];
    wreq req = {
        .c = c, .remove = remove, .name = name, .nlen = nlen, .plen = plen, .state = REQ_PENDING};
    pthread_mutex_lock(&cb->mu);
    req.next = cb->head;
    cb->head = &req;
    while (req.state == REQ_PENDING) {
        if (cb->busy) {
            pthread_cond_wait(&cb->cv, &cb->mu);
            continue;
        }
        cb->busy = true;
        wreq *list = cb->head;
        cb->head = NULL;
        pthread_mutex_unlock(&cb->mu);
        for (wreq *r = list; r; r = r->next) r->result = REQ_PENDING;
        for (wreq *r = list; r; r = r->next)
            if (r->result == REQ_PENDING) apply_group(list, r, same_node(r, &req) ? x : NULL);
        pthread_mutex_lock(&cb->mu);
        for (wreq *r = list; r;) {
            wreq *next = r->next; /* r may vanish once its state is set */
            r->state = r->result;
            r = next;
        }
        cb->busy = false;
        pthread_cond_broadcast(&cb->cv);
    }
    pthread_mutex_unlock(&cb->mu);
    return req.state == REQ_DONE ? req.err : K_ECONFLICT;
}

/* ---- public API --------------------------------------------------------------- */

static kerr ctx_init(tctx *c, radix *t, const void *ns, size_t nslen) {
    if (!t || nslen > 255 || (nslen && !ns)) return K_EINVAL;
    c->t = t;
    c->ns = ns;
    c->nslen = nslen;
    c->ns_seed = mh_hash64(ns, nslen, t->seed);
    return K_OK;
}

radix *radix_new(kv *store) {
    radix *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->store = store;
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed)
        seed = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)t;
    t->seed = mh_splitmix64(seed);
    for (int i = 0; i < SPLIT_LOCKS; i++) {
        pthread_mutex_init(&t->split_locks[i], NULL);
        pthread_mutex_init(&t->comb[i].mu, NULL);
        pthread_cond_init(&t->comb[i].cv, NULL);
    }
    uint64_t bits = 1ULL << BLOOM_BITS_LOG2;
    t->bloom = calloc(bits / 64, sizeof *t->bloom);
    if (!t->bloom) {
        free(t);
        return NULL;
    }
    t->bloom_mask = bits - 1;
    t->bloom_capacity = bits / 12; /* ~1-2% false positives at 4 probes */
    atomic_init(&t->list_prefetch, RADIX_LIST_PREFETCH);
    return t;
}

void radix_free(radix *t) {
    if (!t) return;
    for (int i = 0; i < SPLIT_LOCKS; i++) {
        pthread_mutex_destroy(&t->split_locks[i]);
        pthread_mutex_destroy(&t->comb[i].mu);
        pthread_cond_destroy(&t->comb[i].cv);
    }
    free(t->bloom);
    free(t);
}

void radix_stats_get(radix *t, radix_stats *out) {
    out->node_reads = atomic_load(&t->node_reads);
    out->root_reads = atomic_load(&t->root_reads);
    out->node_writes = atomic_load(&t->node_writes);
    out->splits = atomic_load(&t->splits);
    out->repairs = atomic_load(&t->repairs);
    out->hint_hits = atomic_load(&t->hint_hits);
    out->node_batches = atomic_load(&t->node_batches);
    out->prefetch_unused = atomic_load(&t->prefetch_unused);
}

void radix_set_list_prefetch(radix *t, unsigned max_nodes) {
    atomic_store(&t->list_prefetch, max_nodes);
}

void radix_fault_after_child_write(radix *t, int n) {
    atomic_store(&t->fault_countdown, n > 0 ? n : 0);
}

static kerr check_name(size_t nlen, const void *name) {
    if (nlen == 0 || nlen > RADIX_MAX_NAME || !name) return K_EINVAL;
    return K_OK;
}

kerr radix_insert(radix *t, const void *ns, size_t nslen, const void *namev, size_t nlen) {
    tctx c;
    kerr err = ctx_init(&c, t, ns, nslen);
    if (!err) err = check_name(nlen, namev);
    if (err) return err;
    const uint8_t *name = namev;
    node x;
    node_init(&x);
    kbuf out = KBUF_INIT;
    edgevec v = {0};
    int budget = OP_RETRY_BUDGET;
    bool direct = false; /* set once the combiner bounced us */
restart:
    if (--budget < 0) {
        err = K_EUNAVAILABLE;
        goto done;
    }
    size_t plen, pplen = NO_PARENT;
    err = start_node(&c, name, nlen, nlen - 1, &x, &plen);
    if (err) goto done;
    for (;;) {
        if (--budget < 0) {
            err = K_EUNAVAILABLE;
            goto done;
        }
        if (!x.exists && plen == 0) {
            hdr h = {.state = ST_LIVE, .seq = (uint32_t)new_token(t)};
            edge e = {name, (uint32_t)nlen, E_NAME};
            encode_node(&h, &e, 1, &out);
            err = node_cas(&c, name, 0, NULL, &out);
            if (err != K_ECONFLICT) goto done;
            if ((err = node_read(&c, name, 0, &x))) goto done;
            continue;
        }
        if (!x.exists || x.h.state == ST_RETIRED) {
            if (plen == 0) {
                err = K_ECORRUPT;
                goto done;
            }
            if (pplen != NO_PARENT) { /* an edge leads to an empty node */
                stat_inc(&t->repairs);
                if ((err = unlink_child(&c, name, plen))) goto done;
            }
            goto restart;
        }
        if (x.h.state == ST_PENDING) {
            if (pplen == NO_PARENT) goto restart;
            err = promote_linked(&c, name, pplen, plen, &x);
            if (err == K_ECONFLICT) goto restart;
            if (err) goto done;
            continue;
        }
        const uint8_t *rem = name + plen;
        size_t remlen = nlen - plen;
        long i = floor_idx(x.e, x.n, rem, remlen);
        if (i >= 0) {
            const edge *e = &x.e[i];
            if (e->len == remlen && memcmp(e->label, rem, remlen) == 0) {
                if (e->flags & E_NAME) {
                    err = K_OK;
                    goto done;
                }
                if (!direct) {
                    err = combine(&c, false, name, nlen, plen, &x);
                    if (err != K_ECONFLICT) goto done;
                    direct = true; /* bounced: do it ourselves from here on */
                } else {
                    ev_set(&v, x.e, x.n);
                    v.e[i].flags |= E_NAME;
                    err = node_rewrite(&c, name, plen, &x, ST_LIVE, &v, &out);
                    if (err != K_ECONFLICT) goto done;
                }
                if ((err = node_read(&c, name, plen, &x))) goto done;
                continue;
            }
            if ((e->flags & E_CHILD) && e->len < remlen && memcmp(e->label, rem, e->len) == 0) {
                pplen = plen;
                plen += e->len;
                if ((err = node_read(&c, name, plen, &x))) goto done;
                continue;
            }
        }
        size_t need = edge_size((uint32_t)remlen);
        if (edges_size(x.e, x.n) + need <= ENTRY_BUDGET) {
            if (!direct) {
                err = combine(&c, false, name, nlen, plen, &x);
                if (err != K_ECONFLICT) goto done;
                direct = true;
            } else {
                ev_set(&v, x.e, x.n);
                ev_insert(&v, (uint32_t)(i + 1), (edge){rem, (uint32_t)remlen, E_NAME});
                err = node_rewrite(&c, name, plen, &x, ST_LIVE, &v, &out);
                if (err != K_ECONFLICT) goto done;
            }
        } else {
            err = split_node(&c, name, plen, need);
            if (err) goto done;
        }
        if ((err = node_read(&c, name, plen, &x))) goto done;
    }
done:
    node_free(&x);
    kbuf_free(&out);
    ev_free(&v);
    return err;
}

kerr radix_remove(radix *t, const void *ns, size_t nslen, const void *namev, size_t nlen) {
    tctx c;
    kerr err = ctx_init(&c, t, ns, nslen);
    if (!err) err = check_name(nlen, namev);
    if (err) return err;
    const uint8_t *name = namev;
    node x;
    node_init(&x);
    kbuf out = KBUF_INIT;
    edgevec v = {0};
    int budget = OP_RETRY_BUDGET;
    bool direct = false; /* set once the combiner bounced us */
restart:
    if (--budget < 0) {
        err = K_EUNAVAILABLE;
        goto done;
    }
    size_t plen, pplen = NO_PARENT;
    err = start_node(&c, name, nlen, nlen - 1, &x, &plen);
    if (err) goto done;
    for (;;) {
        if (--budget < 0) {
            err = K_EUNAVAILABLE;
            goto done;
        }
        if (!x.exists || x.h.state == ST_RETIRED) {
            if (plen == 0) {
                err = x.exists ? K_ECORRUPT : K_ENOTFOUND;
                goto done;
            }
            if (pplen == NO_PARENT) goto restart;
            /* the range is empty; tidy the dangling edge on the way out */
            stat_inc(&t->repairs);
            err = unlink_child(&c, name, plen);
            if (!err) err = K_ENOTFOUND;
            goto done;
        }
        if (x.h.state == ST_PENDING) {
            if (pplen == NO_PARENT) goto restart;
            err = promote_linked(&c, name, pplen, plen, &x);
            if (err == K_ECONFLICT) goto restart;
            if (err) goto done;
            continue;
        }
        const uint8_t *rem = name + plen;
        size_t remlen = nlen - plen;
        long i = floor_idx(x.e, x.n, rem, remlen);
        if (i < 0) {
            err = K_ENOTFOUND;
            goto done;
        }
        const edge *e = &x.e[i];
        if ((e->flags & E_CHILD) && e->len < remlen && memcmp(e->label, rem, e->len) == 0) {
            pplen = plen;
            plen += e->len;
            if ((err = node_read(&c, name, plen, &x))) goto done;
            continue;
        }
        if (e->len != remlen || memcmp(e->label, rem, remlen) != 0 || !(e->flags & E_NAME)) {
            err = K_ENOTFOUND;
            goto done;
        }
        if (!direct && (x.n > 1 || e->flags != E_NAME)) {
            err = combine(&c, true, name, nlen, plen, &x);
            if (err != K_ECONFLICT) goto done;
            direct = true;
            if ((err = node_read(&c, name, plen, &x))) goto done;
            continue;
        }
        ev_set(&v, x.e, x.n);
        v.e[i].flags &= (uint8_t)~E_NAME;
        if (!v.e[i].flags) ev_remove(&v, (uint32_t)i);
        if (v.n == 0 && plen == 0) {
            err = node_cas(&c, name, 0, &x.raw, NULL); /* empty tree: no root item */
        } else {
            err = node_rewrite(&c, name, plen, &x, v.n ? ST_LIVE : ST_RETIRED, &v, &out);
            if (err == K_OK && v.n == 0) {
                /* the name is gone; unlinking the empty node is tidying */
                kerr uerr = unlink_child(&c, name, plen);
                if (uerr) log_warn("radix: unlink of emptied node failed: %s", kerr_name(uerr));
            }
        }
        if (err != K_ECONFLICT) goto done;
        if ((err = node_read(&c, name, plen, &x))) goto done;
    }
done:
    node_free(&x);
    kbuf_free(&out);
    ev_free(&v);
    return err;
}

kerr radix_contains(radix *t, const void *ns, size_t nslen, const void *namev, size_t nlen,
                    bool *found) {
    *found = false;
    tctx c;
    kerr err = ctx_init(&c, t, ns, nslen);
    if (!err) err = check_name(nlen, namev);
    if (err) return err;
    const uint8_t *name = namev;
    node x;
    node_init(&x);
    size_t plen;
    err = start_node(&c, name, nlen, nlen - 1, &x, &plen);
    while (!err) {
        /* read-only: a PENDING node reached through an edge is trusted as
         * is; a missing or RETIRED one is empty */
        if (!x.exists || x.h.state == ST_RETIRED) break;
        const uint8_t *rem = name + plen;
        size_t remlen = nlen - plen;
        long i = floor_idx(x.e, x.n, rem, remlen);
        if (i < 0) break;
        const edge *e = &x.e[i];
        if (e->len == remlen && memcmp(e->label, rem, remlen) == 0) {
            *found = (e->flags & E_NAME) != 0;
            break;
        }
        if (!(e->flags & E_CHILD) || e->len > remlen || memcmp(e->label, rem, e->len) != 0) break;
        plen += e->len;
        err = node_read(&c, name, plen, &x);
    }
    node_free(&x);
    return err;
}

kerr radix_is_empty(radix *t, const void *ns, size_t nslen, bool *empty) {
    *empty = true;
    tctx c;
    kerr err = ctx_init(&c, t, ns, nslen);
    if (err) return err;
    node x;
    node_init(&x);
    err = node_read(&c, NULL, 0, &x);
    if (!err) *empty = !x.exists || x.n == 0;
    node_free(&x);
    return err;
}

/* ---- listing ------------------------------------------------------------------- */

enum bound_mode {
    B_INCL, /* names >= key */
    B_EXCL, /* names > key */
    B_PAST, /* names after every string that starts with key */
};

typedef struct frame {
    node nd;
    uint64_t id; /* of this snapshot of the node (see struct pentry) */
    size_t plen; /* the node's prefix is path[0..plen) */
    uint32_t idx;
    /* Children walked to their end from this node, and the entries they
     * emitted: the yield estimate for sizing the next batch. */
    uint32_t kids_done;
    size_t kids_yield;
    /* Pushed by the walk from the parent's edge, at its first edge: when it
     * is popped, it is a complete sample of a child's yield. */
    bool sample;
    size_t emitted_at_push;
} frame;

typedef struct lister {
    tctx *c;
    const uint8_t *p, *sa, *d;
    size_t plen_p, salen, dlen;
    bool has_sa;
    size_t max;
    radix_emit_fn emit;
    void *ectx;
    kbuf path;  /* bytes of the current position; frames share it */
    kbuf bound; /* key of the current seek */
    frame *fr;
    size_t nfr, cap;
    size_t start_plen; /* prefix length of the current seek's start node */
    size_t emitted;
    unsigned prefetch; /* max nodes per batch, <= 1: off */
    /* Children walked to their end in this listing and what they emitted,
     * by their parent's prefix length (nodes of one tree level tend to have
     * prefixes of similar length): the yield estimate for a node none of
     * whose own children has ended yet. */
    struct level_yield {
        size_t plen, done, yield;
    } lv[PREFETCH_LEVELS];
    int nlv;
    /* The last seek's start node was a leaf and its range is done: a
     * sample for the node the next seek starts at (its ancestor). */
    bool start_sample;
    size_t start_yield;
    /* Hinted ancestors of a seek's start node, read in the same batch and
     * kept for the seeks past it (see list_start_node). */
    struct ancestor {
        bool valid;
        uint64_t id;
        kbuf prefix;
        node nd;
    } anc[HINT_MAX_READS];
    /* Nodes read ahead of the walk (see Prefetch at the top), by prefix and
     * by the snapshot of the parent they were read under: every node read
     * in this listing gets an id, and a child is taken from here only when
     * the walk comes from that same snapshot of its parent, so each node
     * the walk uses was read after the node it is reached from. */
    struct pentry {
        uint64_t h, id, parent;
        size_t plen;
        uint8_t *prefix;
        node nd;
    } * pc;
    size_t pc_n;
    uint64_t next_id;
    bool done, truncated;
    kerr err;
} lister;

/* Drops a kept ancestor; one never used is counted as unused. */
static void anc_drop(lister *L, struct ancestor *a) {
    if (a->valid) atomic_fetch_add_explicit(&L->c->t->prefetch_unused, 1, memory_order_relaxed);
    a->valid = false;
}

/* The kept ancestor at key[0..len), or NULL. */
static struct ancestor *anc_find(lister *L, const uint8_t *key, size_t len) {
    for (int i = 0; i < HINT_MAX_READS; i++) {
        struct ancestor *a = &L->anc[i];
        if (a->valid && a->prefix.len == len && memcmp(a->prefix.data, key, len) == 0) return a;
    }
    return NULL;
}

/* A listing's start node: start_node's choice (the deepest LIVE hinted
 * node, else the root), but the hinted candidates are read in one kv_mget
 * and the LIVE ones above the chosen node are kept: when the walk has
 * exhausted the start node's range it seeks past it, and that seek starts
 * at exactly such an ancestor, which then costs no read. A kept ancestor is
 * a node read during this listing, like a prefetched child; it is used
 * at most once. Pages of few entries, which rarely leave their start node,
 * read candidates one at a time as start_node does. */
static kerr list_start_node(lister *L, const uint8_t *key, size_t keylen, size_t maxlen, node *x,
                            uint64_t *id, size_t *plen) {
    tctx *c = L->c;
    size_t lens[HINT_MAX_READS];
    size_t n = hint_lengths(c, key, keylen, maxlen, lens);
    struct ancestor *kept[HINT_MAX_READS];
    size_t uncached = 0;
    for (size_t k = 0; k < n; k++) {
        kept[k] = anc_find(L, key, lens[k]);
        if (!kept[k]) uncached++;
    }
    bool batch = L->prefetch > 1 && L->max > PREFETCH_ANCESTORS_MIN && uncached > 1;
    node got[HINT_MAX_READS];
    for (size_t k = 0; k < n; k++) node_init(&got[k]);
    kerr err = K_OK;
    if (batch) {
        const uint8_t *pfx[HINT_MAX_READS];
        size_t pl[HINT_MAX_READS];
        node rd[HINT_MAX_READS];
        size_t m = 0;
        for (size_t k = 0; k < n; k++) {
            if (kept[k]) continue;
            pfx[m] = key;
            pl[m++] = lens[k];
        }
        for (size_t k = 0; k < m; k++) node_init(&rd[k]);
        stat_inc(&c->t->node_batches);
        err = nodes_read(c, m, pfx, pl, rd);
        for (size_t k = 0, r = 0; k < n; k++)
            if (!kept[k]) got[k] = rd[r++];
    }
    long chosen = -1;
    for (size_t k = 0; k < n && !err && chosen < 0; k++) {
        node *cand = kept[k] ? &kept[k]->nd : &got[k];
        if (!kept[k] && !batch) err = node_read(c, key, lens[k], cand);
        if (!err && cand->exists && cand->h.state == ST_LIVE) chosen = (long)k;
    }
    if (!err && chosen >= 0) {
        node *src = kept[chosen] ? &kept[chosen]->nd : &got[chosen];
        node tmp = *x;
        *x = *src;
        *src = tmp;
        *id = kept[chosen] ? kept[chosen]->id : ++L->next_id;
        if (kept[chosen]) kept[chosen]->valid = false; /* used */
        stat_inc(&c->t->hint_hits);
        *plen = lens[chosen];
        /* keep the LIVE ancestors of the chosen node, drop the rest */
        for (int i = 0; i < HINT_MAX_READS; i++) {
            bool ancestor = false;
            for (size_t k = (size_t)chosen + 1; k < n; k++) ancestor |= kept[k] == &L->anc[i];
            if (!ancestor) anc_drop(L, &L->anc[i]);
        }
        for (size_t k = (size_t)chosen + 1; k < n && batch; k++) {
            if (kept[k]) continue;
            if (!got[k].exists || got[k].h.state != ST_LIVE) {
                /* read for nothing: one at a time it would not have been */
                atomic_fetch_add_explicit(&c->t->prefetch_unused, 1, memory_order_relaxed);
                continue;
            }
            for (int i = 0; i < HINT_MAX_READS; i++) {
                struct ancestor *a = &L->anc[i];
                if (a->valid) continue;
                kbuf_reset(&a->prefix);
                kbuf_append(&a->prefix, key, lens[k]);
                node tmp2 = a->nd;
                a->nd = got[k];
                got[k] = tmp2;
                a->id = ++L->next_id;
                a->valid = true;
                break;
            }
        }
    }
    for (size_t k = 0; k < n; k++) node_free(&got[k]);
    if (err) return err;
    if (chosen >= 0) return K_OK;
    *plen = 0;
    *id = ++L->next_id;
    return node_read(c, key, 0, x);
}

static frame *push_frame(lister *L, size_t plen) {
    if (L->nfr == L->cap) {
        size_t cap = L->cap ? L->cap * 2 : 16;
        frame *f = realloc(L->fr, cap * sizeof *f);
        if (!f) abort();
        for (size_t i = L->cap; i < cap; i++) {
            memset(&f[i], 0, sizeof f[i]);
            node_init(&f[i].nd);
        }
        L->fr = f;
        L->cap = cap;
    }
    frame *f = &L->fr[L->nfr++];
    f->plen = plen;
    f->idx = 0;
    f->kids_done = 0;
    f->kids_yield = 0;
    f->sample = false;
    f->emitted_at_push = L->emitted;
    return f;
}

/* Reads the node for a frame reached through an edge (or as a seek start)
 * and repairs what it finds broken. */
static void frame_load_fixups(lister *L, frame *f, bool via_edge) {
    tctx *c = L->c;
    const uint8_t *prefix = (const uint8_t *)L->path.data;
    if (!f->nd.exists || f->nd.h.state == ST_RETIRED) {
        f->nd.n = 0; /* empty (I5) */
        if (via_edge && f->plen > 0) {
            stat_inc(&c->t->repairs);
            kerr err = unlink_child(c, prefix, f->plen);
            if (err) log_warn("radix: scan repair failed: %s", kerr_name(err));
        }
        return;
    }
    if (f->nd.h.has_intent) repair_intent(c, prefix, f->plen, &f->nd);
}

/* ---- the prefetch cache ----
 * Nodes read ahead, by prefix, until the walk takes them (at most
 * PREFETCH_CACHE; a batch never overfills it). Taking moves the node into
 * the walk's frame; a node the walk passed by is dropped at the next seek,
 * the rest when the listing ends, and both count as prefetch_unused. */

static uint64_t pc_hash(const uint8_t *prefix, size_t plen) {
    return mh_hash64(prefix, plen, 0x70726566ULL);
}

static struct pentry *pc_find(lister *L, const uint8_t *prefix, size_t plen, uint64_t parent) {
    uint64_t h = pc_hash(prefix, plen);
    for (size_t i = 0; i < L->pc_n; i++) {
        struct pentry *e = &L->pc[i];
        if (e->h == h && e->parent == parent && e->plen == plen &&
            memcmp(e->prefix, prefix, plen) == 0)
            return e;
    }
    return NULL;
}

/* Removes entry e; its node is swapped with *into when into != NULL (taken),
 * else counted as unused. */
static void pc_remove(lister *L, struct pentry *e, node *into, uint64_t *id) {
    if (into) {
        node tmp = *into;
        *into = e->nd;
        e->nd = tmp;
        *id = e->id;
    } else {
        atomic_fetch_add_explicit(&L->c->t->prefetch_unused, 1, memory_order_relaxed);
    }
    node_free(&e->nd);
    free(e->prefix);
    *e = L->pc[--L->pc_n];
}

/* Drops the nodes whose whole range sorts before key (and, for a seek past
 * key, the nodes inside its range): no walk from this seek reaches them. */
static void pc_drop_behind(lister *L, const uint8_t *key, size_t klen, bool past) {
    for (size_t i = 0; i < L->pc_n;) {
        struct pentry *e = &L->pc[i];
        bool behind = keycmp(e->prefix, e->plen, key, klen) < 0 &&
                      !starts_with(key, klen, e->prefix, e->plen);
        if (behind || (past && starts_with(e->prefix, e->plen, key, klen)))
            pc_remove(L, e, NULL, NULL);
        else
            i++;
    }
}

/* Pushes the child at path[0..flen) of the top frame: taken from the cache
 * if it was read under this snapshot of the top frame's node, else read. */
static void push_child(lister *L, size_t flen) {
    uint64_t parent = L->fr[L->nfr - 1].id;
    frame *f = push_frame(L, flen);
    struct pentry *e = pc_find(L, (const uint8_t *)L->path.data, flen, parent);
    if (e) {
        pc_remove(L, e, &f->nd, &f->id);
    } else {
        L->err = node_read(L->c, (const uint8_t *)L->path.data, flen, &f->nd);
        if (L->err) {
            L->done = true;
            return;
        }
        f->id = ++L->next_id;
    }
    frame_load_fixups(L, f, true);
}

static void level_add(lister *L, size_t plen, size_t yield) {
    int i = 0;
    while (i < L->nlv && L->lv[i].plen != plen) i++;
    if (i == L->nlv) {
        if (L->nlv == PREFETCH_LEVELS) return;
        L->lv[L->nlv++] = (struct level_yield){.plen = plen};
    }
    L->lv[i].done++;
    L->lv[i].yield += yield;
}

/* Average yield of children of nodes with prefix length plen; 0: none seen. */
static size_t level_avg(const lister *L, size_t plen) {
    for (int i = 0; i < L->nlv; i++)
        if (L->lv[i].plen == plen) return L->lv[i].yield / L->lv[i].done + 1;
    return 0;
}

/* A simulated walk forward from the current position, over nodes already
 * in memory, collecting the unknown nodes the page should reach. */
typedef struct sim {
    lister *L;
    size_t budget;      /* entries still to account for */
    size_t first_guess; /* a child's yield where nothing is known */
    uint8_t *buf;       /* prefixes: 2 * RADIX_MAX_NAME + 8 bytes */
    size_t n, cap;
    uint8_t **pfx; /* candidates: prefixes (copies), lengths, parent ids */
    size_t *plens;
    uint64_t *parents;
    bool stop; /* past the listing prefix, or nothing more is knowable */
} sim;

static size_t sim_per(const sim *S, const frame *f, size_t plen) {
    size_t per = f && f->kids_done ? f->kids_yield / f->kids_done : level_avg(S->L, plen);
    if (per == 0) per = S->first_guess;
    return per ? per : 1;
}

static void sim_add(sim *S, const uint8_t *prefix, size_t plen, uint64_t parent) {
    S->pfx[S->n] = malloc(plen ? plen : 1);
    if (!S->pfx[S->n]) abort();
    memcpy(S->pfx[S->n], prefix, plen);
    S->plens[S->n] = plen;
    S->parents[S->n++] = parent;
}

/* Walks x (prefix buf[0..plen), f its frame if it is on the stack) from
 * edge `from`, as list_run would: names and distinct rolled-up common
 * prefixes take one entry each from the budget, a known child (cached) is
 * walked in turn, an unknown one becomes a candidate and takes its
 * expected yield. */
static void sim_node(sim *S, const node *x, uint64_t xid, size_t plen, const frame *f,
                     uint32_t from, int depth) {
    lister *L = S->L;
    if (depth > 64 || !x->exists || x->h.state == ST_RETIRED) return;
    size_t per = sim_per(S, f, plen);
    uint8_t *full = S->buf;
    const uint8_t *cp = NULL; /* the last common prefix counted (label bytes) */
    size_t cpl = 0;
    for (uint32_t j = from; j < x->n && !S->stop && S->budget > 0 && S->n < S->cap; j++) {
        const edge *e = &x->e[j];
        size_t fl = plen + e->len;
        if (fl > 2 * RADIX_MAX_NAME) {
            S->stop = true;
            return;
        }
        memcpy(full + plen, e->label, e->len);
        if (!starts_with(full, fl, L->p, L->plen_p)) {
            size_t m = fl < L->plen_p ? fl : L->plen_p;
            if (m && memcmp(full, L->p, m) < 0) continue; /* before the prefix */
            S->stop = true; /* past it, or a path into it: not simulated */
            return;
        }
        if (L->dlen) {
            size_t dfrom = plen + 1 > L->dlen ? plen + 1 - L->dlen : 0;
            if (dfrom < L->plen_p) dfrom = L->plen_p;
            const uint8_t *hit =
                fl > dfrom ? memmem(full + dfrom, fl - dfrom, L->d, L->dlen) : NULL;
            if (hit) { /* rolled up: one entry per distinct common prefix */
                size_t cplen = (size_t)(hit - full) + L->dlen;
                size_t ll = cplen > plen ? cplen - plen : 0;
                if (!cp || cpl != ll || memcmp(cp, e->label, ll) != 0) S->budget--;
                cp = e->label;
                cpl = ll;
                continue;
            }
        }
        if (e->flags & E_NAME) S->budget--;
        if (!(e->flags & E_CHILD) || S->budget == 0) continue;
        struct pentry *known = pc_find(L, full, fl, xid);
        if (known) {
            sim_node(S, &known->nd, known->id, fl, NULL, 0, depth + 1);
        } else {
            sim_add(S, full, fl, xid);
            S->budget = S->budget > per ? S->budget - per : 0;
        }
    }
}

/* The nodes to read in one batch with the child at path[0..flen) that the
 * walk needs now (see Prefetch at the top): the unknown nodes a simulated
 * walk forward meets before the page is full, from the current position
 * through the frames below it and on into the kept ancestors above the
 * seek's start node. Fills S->pfx/plens (the needed child first). */
static void choose_batch(lister *L, sim *S, size_t flen) {
    size_t left = L->max - (L->emitted < L->max ? L->emitted : L->max);
    S->budget = left == SIZE_MAX ? left : left + 1; /* +1: does more follow? */
    S->first_guess = S->budget / 2;                 /* unknown: about two children */
    const frame *top = &L->fr[L->nfr - 1];
    sim_add(S, (const uint8_t *)L->path.data, flen, top->id);
    size_t per = sim_per(S, top, top->plen);
    S->budget = S->budget > per ? S->budget - per : 0;
    /* the frames: each from its next edge (the top one past this child) */
    for (size_t fi = L->nfr; fi-- > 0 && !S->stop && S->budget > 0 && S->n < S->cap;) {
        const frame *f = &L->fr[fi];
        memcpy(S->buf, L->path.data, f->plen);
        sim_node(S, &f->nd, f->id, f->plen, f, f->idx, 0);
    }
    /* past the start node: its kept ancestors, each its direct parent */
    size_t cur = L->fr[0].plen;
    memcpy(S->buf, L->path.data, cur);
    uint8_t *curp = malloc(cur ? cur : 1);
    if (!curp) abort();
    memcpy(curp, L->path.data, cur);
    while (!S->stop && S->budget > 0 && S->n < S->cap && cur > L->plen_p) {
        struct ancestor *a = NULL;
        for (int i = 0; i < HINT_MAX_READS; i++) {
            struct ancestor *x = &L->anc[i];
            if (x->valid && x->prefix.len < cur &&
                memcmp(x->prefix.data, curp, x->prefix.len) == 0 &&
                (!a || x->prefix.len > a->prefix.len))
                a = x;
        }
        if (!a || !a->nd.exists || a->nd.h.state != ST_LIVE) break;
        size_t al = a->prefix.len;
        long i = floor_idx(a->nd.e, a->nd.n, curp + al, cur - al);
        if (i < 0 || !(a->nd.e[i].flags & E_CHILD) || a->nd.e[i].len != cur - al ||
            memcmp(a->nd.e[i].label, curp + al, cur - al) != 0)
            break; /* not the direct parent: a node in between is unknown */
        memcpy(S->buf, curp, al);
        sim_node(S, &a->nd, a->id, al, NULL, (uint32_t)i + 1, 0);
        cur = al;
    }
    free(curp);
}

/* Pushes the child at path[0..flen) of the top frame: from the cache, or
 * read together with the other nodes the page should need next (one
 * kv_mget). Plain push_child when prefetch is off. */
static void push_child_batched(lister *L, size_t flen) {
    if (L->prefetch <= 1) {
        push_child(L, flen);
        if (!L->done) L->fr[L->nfr - 1].sample = true;
        return;
    }
    if (!pc_find(L, (const uint8_t *)L->path.data, flen, L->fr[L->nfr - 1].id)) {
        if (!L->pc) {
            L->pc = calloc(PREFETCH_CACHE, sizeof *L->pc);
            if (!L->pc) abort();
        }
        if (L->pc_n == PREFETCH_CACHE) /* only a walk that skips a lot gets here */
            while (L->pc_n) pc_remove(L, &L->pc[L->pc_n - 1], NULL, NULL);
        sim S = {.L = L};
        S.cap = PREFETCH_CACHE - L->pc_n;
        if (S.cap > L->prefetch) S.cap = L->prefetch;
        S.buf = malloc(2 * RADIX_MAX_NAME + 8);
        S.pfx = malloc(S.cap * sizeof *S.pfx);
        S.plens = malloc(S.cap * sizeof *S.plens);
        S.parents = malloc(S.cap * sizeof *S.parents);
        if (!S.buf || !S.pfx || !S.plens || !S.parents) abort();
        choose_batch(L, &S, flen);
        node *got = malloc(S.n * sizeof *got);
        if (!got) abort();
        for (size_t k = 0; k < S.n; k++) node_init(&got[k]);
        stat_inc(&L->c->t->node_batches);
        L->err = nodes_read(L->c, S.n, (const uint8_t *const *)S.pfx, S.plens, got);
        for (size_t k = 0; k < S.n; k++) {
            if (!L->err) {
                struct pentry *e = &L->pc[L->pc_n++];
                e->h = pc_hash(S.pfx[k], S.plens[k]);
                e->id = ++L->next_id;
                e->parent = S.parents[k];
                e->plen = S.plens[k];
                e->prefix = S.pfx[k];
                e->nd = got[k];
            } else {
                free(S.pfx[k]);
                node_free(&got[k]);
            }
        }
        free(got);
        free(S.buf);
        free(S.pfx);
        free(S.plens);
        free(S.parents);
        if (L->err) {
            L->done = true;
            return;
        }
    }
    push_child(L, flen); /* from the cache */
    if (!L->done) L->fr[L->nfr - 1].sample = true;
}

static void emit_entry(lister *L, const uint8_t *entry, size_t len, bool is_prefix) {
    if (L->emitted >= L->max) {
        L->truncated = true; /* one more exists */
        L->done = true;
        return;
    }
    L->emitted++;
    if (L->emit(L->ectx, entry, len, is_prefix)) {
        L->truncated = true;
        L->done = true;
    }
}

/* Positions the frame stack at the first entry after/at the bound. */
static void seek(lister *L, const uint8_t *key, size_t klen, enum bound_mode mode) {
    /* key may point into L->bound or L->path: copy it first */
    kbuf tmp = KBUF_INIT;
    kbuf_append(&tmp, key, klen);
    kbuf_reset(&L->bound);
    kbuf_append(&L->bound, tmp.data, tmp.len);
    kbuf_free(&tmp);
    const uint8_t *B = (const uint8_t *)L->bound.data;
    size_t blen = L->bound.len;
    if (mode != B_INCL && L->dlen && blen > L->plen_p) {
        /* everything up to a delimiter in the bound rolls up into a common
         * prefix that is not after the bound: skip that whole range */
        const uint8_t *hit = memmem(B + L->plen_p, blen - L->plen_p, L->d, L->dlen);
        if (hit) {
            blen = (size_t)(hit - B) + L->dlen;
            L->bound.len = blen;
            mode = B_PAST;
        }
    }
    size_t maxlen = mode == B_EXCL ? blen : (blen ? blen - 1 : 0);
    pc_drop_behind(L, B, blen, mode == B_PAST);
    L->nfr = 0;
    frame *f = push_frame(L, 0);
    size_t slen;
    L->err = list_start_node(L, B, blen, maxlen, &f->nd, &f->id, &slen);
    if (L->err) {
        L->done = true;
        return;
    }
    if (L->start_sample && slen < L->start_plen) level_add(L, slen, L->start_yield);
    L->start_sample = false;
    f->plen = slen;
    L->start_plen = slen;
    kbuf_reset(&L->path);
    kbuf_append(&L->path, B, slen);
    frame_load_fixups(L, f, false);
    for (;;) {
        f = &L->fr[L->nfr - 1];
        const uint8_t *rem = B + f->plen;
        size_t remlen = blen - f->plen;
        long i = floor_idx(f->nd.e, f->nd.n, rem, remlen);
        const edge *e = i >= 0 ? &f->nd.e[i] : NULL;
        if (e && (e->flags & E_CHILD) && e->len < remlen && memcmp(e->label, rem, e->len) == 0) {
            f->idx = (uint32_t)i + 1;
            size_t flen = f->plen + e->len;
            L->path.len = f->plen;
            kbuf_append(&L->path, e->label, e->len);
            push_child(L, flen);
            if (L->done) return;
            continue;
        }
        bool exact = e && e->len == remlen && memcmp(e->label, rem, remlen) == 0;
        if (exact && mode == B_INCL) {
            f->idx = (uint32_t)i;
        } else {
            f->idx = (uint32_t)(i + 1);
        }
        if (mode == B_PAST) f->idx = skip_prefixed(f->nd.e, f->nd.n, f->idx, rem, remlen);
        if (exact && mode == B_EXCL && (e->flags & E_CHILD)) {
            L->path.len = f->plen;
            kbuf_append(&L->path, e->label, e->len);
            push_child(L, blen);
        }
        return;
    }
}

static void list_run(lister *L) {
    L->path.len = 0;
    kbuf_reserve(&L->path, 2 * RADIX_MAX_NAME + 8); /* never reallocated below */
    if (L->has_sa && keycmp(L->sa, L->salen, L->p, L->plen_p) >= 0) {
        if (!starts_with(L->sa, L->salen, L->p, L->plen_p)) return; /* after the whole range */
        seek(L, L->sa, L->salen, B_EXCL);
    } else {
        seek(L, L->p, L->plen_p, B_INCL);
    }
    while (!L->done) {
        if (L->nfr == 0) {
            if (L->start_plen <= L->plen_p) break; /* the start node covered it all */
            seek(L, (const uint8_t *)L->bound.data, L->start_plen, B_PAST);
            continue;
        }
        frame *f = &L->fr[L->nfr - 1];
        if (f->idx >= f->nd.n && L->nfr == 1 && !f->sample) {
            /* the seek's start node: a leaf holds all it yields as names */
            uint32_t names = 0;
            bool leaf = true;
            for (uint32_t i = 0; i < f->nd.n; i++) {
                names += (f->nd.e[i].flags & E_NAME) != 0;
                leaf &= !(f->nd.e[i].flags & E_CHILD);
            }
            L->start_sample = leaf && names > 0;
            L->start_yield = names;
        }
        if (f->idx >= f->nd.n) {
            if (f->sample && L->nfr >= 2) { /* its parent learns its yield */
                frame *p = &L->fr[L->nfr - 2];
                p->kids_done++;
                p->kids_yield += L->emitted - f->emitted_at_push;
                level_add(L, p->plen, L->emitted - f->emitted_at_push);
            }
            L->nfr--;
            continue;
        }
        const edge *e = &f->nd.e[f->idx];
        size_t flen = f->plen + e->len;
        uint8_t *full = (uint8_t *)L->path.data;
        memcpy(full + f->plen, e->label, e->len);
        L->path.len = flen;
        if (!starts_with(full, flen, L->p, L->plen_p)) {
            size_t m = flen < L->plen_p ? flen : L->plen_p;
            int cmp = m ? memcmp(full, L->p, m) : 0;
            if (cmp == 0) { /* a proper prefix of the listing prefix */
                f->idx++;
                if (e->flags & E_CHILD) push_child(L, flen);
                continue;
            }
            if (cmp < 0) {
                f->idx++;
                continue;
            }
            break; /* sorted past the prefix: nothing more can match */
        }
        if (L->dlen) {
            /* frame prefixes hold no complete delimiter after the prefix,
             * but one may start in their last dlen-1 bytes */
            size_t from = f->plen + 1 > L->dlen ? f->plen + 1 - L->dlen : 0;
            if (from < L->plen_p) from = L->plen_p;
            const uint8_t *hit =
                flen > from ? memmem(full + from, flen - from, L->d, L->dlen) : NULL;
            if (hit) {
                size_t cplen = (size_t)(hit - full) + L->dlen;
                if (!L->has_sa || keycmp(full, cplen, L->sa, L->salen) > 0)
                    emit_entry(L, full, cplen, true);
                if (L->done) break;
                if (cplen <= f->plen) { /* not expected; a re-seek is always right */
                    seek(L, full, cplen, B_PAST);
                    continue;
                }
                /* skip the rolled-up range without walking it */
                f->idx = skip_prefixed(f->nd.e, f->nd.n, f->idx, full + f->plen, cplen - f->plen);
                continue;
            }
        }
        if ((e->flags & E_NAME) && (!L->has_sa || keycmp(full, flen, L->sa, L->salen) > 0)) {
            emit_entry(L, full, flen, false);
            if (L->done) break;
        }
        f->idx++;
        if (e->flags & E_CHILD) push_child_batched(L, flen);
    }
}

kerr radix_list(radix *t, const void *ns, size_t nslen, const radix_list_req *req,
                radix_emit_fn emit, void *ctx, bool *truncated) {
    if (truncated) *truncated = false;
    tctx c;
    kerr err = ctx_init(&c, t, ns, nslen);
    if (err) return err;
    if (!req || !emit || req->max_entries == 0 || (req->prefix_len && !req->prefix) ||
        (req->start_after_len && !req->start_after) || (req->delim_len && !req->delim))
        return K_EINVAL;
    lister L;
    memset(&L, 0, sizeof L);
    L.c = &c;
    L.p = req->prefix;
    L.plen_p = req->prefix_len;
    L.sa = req->start_after;
    L.salen = req->start_after_len;
    L.has_sa = req->start_after != NULL && req->start_after_len > 0;
    L.d = req->delim;
    L.dlen = req->delim_len;
    L.max = req->max_entries;
    L.emit = emit;
    L.ectx = ctx;
    L.prefetch = atomic_load(&t->list_prefetch);
    if (L.prefetch > RADIX_LIST_PREFETCH * 4) L.prefetch = RADIX_LIST_PREFETCH * 4;
    kbuf_init(&L.path);
    kbuf_init(&L.bound);
    if (L.plen_p > RADIX_MAX_NAME) {
        L.done = true; /* no name can start with it */
    } else {
        list_run(&L);
    }
    for (int i = 0; i < HINT_MAX_READS; i++) {
        anc_drop(&L, &L.anc[i]);
        kbuf_free(&L.anc[i].prefix);
        node_free(&L.anc[i].nd);
    }
    while (L.pc_n) pc_remove(&L, &L.pc[L.pc_n - 1], NULL, NULL);
    free(L.pc);
    for (size_t i = 0; i < L.cap; i++) node_free(&L.fr[i].nd);
    free(L.fr);
    kbuf_free(&L.path);
    kbuf_free(&L.bound);
    if (truncated) *truncated = L.truncated;
    return L.err;
}
