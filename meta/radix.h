/* SPDX-License-Identifier: Apache-2.0 */
/* MetaKage's distributed radix tree over a plain key-value store
 * (seeds/001): ordered listing of object names without an ordered store.
 *
 * Model: many independent trees share one kv; a tree is named by a namespace
 * (bytes, e.g. a bucket id). A tree holds a set of names (arbitrary bytes,
 * 1..1024 long); it records only membership — the object records themselves
 * live under their own kv keys, owned by the caller. Each tree node is one kv
 * item keyed by (namespace, node prefix, system char '$') holding a sorted
 * array of child edges, each edge flagged "a name ends here" and/or "a child
 * node exists"; a node's value stays <= 4 KiB. Node updates use kv_cas, so
 * concurrent writers on the same node lose nothing. A split writes the new
 * child node first, then the parent: two independent writes, no
 * transaction; a child without its parent edge is invisible and repaired by
 * scans. Deletes shrink and remove emptied nodes without hiding live names.
 *
 * Contract:
 * - A radix handle is thread-safe; it caches Bloom-filter hints of existing
 *   node prefixes so lookups start at the deepest known node. Hints are only
 *   an optimisation: a stale hint falls back to the root.
 * - Errors: those of the kv (K_EUNAVAILABLE, K_EIO), K_EINVAL for an empty or
 *   over-long name, K_ENOTFOUND from radix_remove of an absent name.
 */
#ifndef KURA_META_RADIX_H
#define KURA_META_RADIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "meta/kv.h"

#define RADIX_MAX_NAME 1024

typedef struct radix radix;

typedef struct radix_stats {
    uint64_t node_reads;  /* kv gets of tree nodes */
    uint64_t root_reads;  /* of which, reads of a root node */
    uint64_t node_writes; /* puts/cas of tree nodes */
    uint64_t splits;
    uint64_t repairs; /* dangling children found and fixed by scans */
    uint64_t hint_hits;
    /* Listings: kv_mget calls that read nodes ahead of the walk (children,
     * or a seek's start node with its ancestors; their nodes are counted in
     * node_reads), and nodes so read that the listing never used. */
    uint64_t node_batches;
    uint64_t prefetch_unused;
} radix_stats;

radix *radix_new(kv *store);
void radix_free(radix *t);
void radix_stats_get(radix *t, radix_stats *out);

/* Adds name to the tree; K_OK also when already present. */
kerr radix_insert(radix *t, const void *ns, size_t nslen, const void *name, size_t nlen);
/* Removes name; K_ENOTFOUND if absent. */
kerr radix_remove(radix *t, const void *ns, size_t nslen, const void *name, size_t nlen);
/* Addition (meta/ owner): *found = whether name is in the tree. Read-only;
 * starts at the deepest hinted node, so it rarely reads the root. */
kerr radix_contains(radix *t, const void *ns, size_t nslen, const void *name, size_t nlen,
                    bool *found);
/* true if the tree has at least one name (cheap: reads the root). */
kerr radix_is_empty(radix *t, const void *ns, size_t nslen, bool *empty);

typedef struct radix_list_req {
    const void *prefix; /* only names starting with prefix */
    size_t prefix_len;
    const void *start_after; /* only entries > start_after (bytewise) */
    size_t start_after_len;
    const void *delim; /* when set, roll names up into common prefixes */
    size_t delim_len;
    size_t max_entries; /* names + common prefixes emitted, >= 1 */
} radix_list_req;

/* Called per entry in ascending byte order. is_prefix: entry is a common
 * prefix (prefix + text up to and including the first delimiter after the
 * prefix). A common prefix equal to start_after is not emitted again, and
 * its subtree is skipped without being walked. Return non-zero to stop. */
typedef int (*radix_emit_fn)(void *ctx, const void *entry, size_t len, bool is_prefix);

/* Emits up to max_entries; *truncated tells whether more entries follow.
 * If emit returns non-zero the listing stops there and *truncated is true.
 * max_entries == 0 is K_EINVAL. Nodes found inconsistent on the way (an edge
 * to a missing or retired node, the dangling child of a split that died)
 * are repaired. */
kerr radix_list(radix *t, const void *ns, size_t nslen, const radix_list_req *req,
                radix_emit_fn emit, void *ctx, bool *truncated);

/* Listing prefetch: when a listing needs a tree node it does not hold yet,
 * it reads it together with the other nodes the page is expected to reach
 * next (up to max_nodes in one kv_mget: one round trip per Redis shard
 * instead of one per node); which ones is estimated by walking forward over
 * the nodes already read, counting the names on the way and what children
 * yielded so far. Ranges a delimiter rolls up and anything past the prefix
 * are never read. Pages of more than 64 entries also read a seek's hinted
 * start candidates (the start node and its hinted ancestors) in one batch.
 * max_nodes <= 1 turns both off (one kv_get per node, as before); the
 * default is RADIX_LIST_PREFETCH. Takes effect for listings started
 * afterwards. */
#define RADIX_LIST_PREFETCH 64
void radix_set_list_prefetch(radix *t, unsigned max_nodes);

/* Fault injection for crash tests: when set to n > 0, the n-th split from now
 * stops after writing the child node (before rewriting the parent) and
 * returns K_EIO, as a crash between the two writes would. */
void radix_fault_after_child_write(radix *t, int n);

#endif
