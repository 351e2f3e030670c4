/* SPDX-License-Identifier: Apache-2.0 */
/* radix_bench model: the tree over the in-memory counting kv.
 *
 * Loads names of the four shapes (each shape in its own namespace, i.e.
 * bucket; with --shape all the shapes are inserted interleaved through one
 * radix handle, as one gateway serving four buckets would) and then measures,
 * per shape, what each operation costs in kv operations:
 *
 *   load        every insert of the load, averaged (tree growing 0 -> n)
 *   load_tail   the last 10% of the load: inserts into the full-size tree
 *   insert      new names into the loaded tree
 *   lookup      radix_contains of random existing names
 *   page        radix_list, 1000 entries after a random existing name
 *   page_delim  the same with delimiter '/' (rolled-up prefixes are skipped)
 *   dir_delim   first page of a random directory (prefix = a random name cut
 *               after one of its '/', possibly empty) with delimiter '/'
 *   scan        the whole namespace, 1000 per page, continuing after the
 *               last entry (also verifies order and count)
 *
 * "hints=warm" runs on the handle that loaded the tree (its Bloom hints know
 * every node it has read). "hints=cold" runs every operation on a fresh
 * radix handle made just before it (radix_new: an empty hint filter), which
 * is what a just-started gateway sees, so the operation has to descend from
 * the root; handle creation is outside the counted window. Cold ops are
 * fewer (--cold) because each one maps and frees a 4 MiB filter.
 *
 * Counters are differences of kv_mem_stats (kv gets and writes) and
 * radix_stats (node reads, root reads, splits, hint hits) taken around each
 * operation: the run is single-threaded so they are exact per operation.
 *
 * Node fill is measured by walking each tree from its root with plain kv
 * gets and decoding node values with the layout documented at the top of
 * meta/radix.c; the node count is cross-checked with kv_mem_count_prefix.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "common/buf.h"
#include "meta/kv.h"
#include "meta/radix.h"

#define PAGE_ENTRIES 1000
#define NODE_LIMIT 4096
#define MAX_ROWS 256
#define PROGRESS_EVERY 1000000

/* ---- cost accounting ----------------------------------------------------- */

typedef struct probe {
    kv_mem_stats kv;
    radix_stats tree;
    uint64_t at_ns;
} probe;

typedef struct cost {
    uint64_t ops;
    uint64_t kv_reads, kv_writes;
    uint64_t node_reads, root_reads, node_writes, splits, hint_hits;
    uint64_t entries; /* list entries emitted */
    uint64_t ns;
} cost;

static void probe_take(kv *store, radix *t, probe *p) {
    kv_mem_stats_get(store, &p->kv);
    radix_stats_get(t, &p->tree);
    p->at_ns = now_ns();
}

static uint64_t kv_writes_of(const kv_mem_stats *s) {
    return s->puts + s->dels + s->cas_ok + s->cas_conflict;
}

/* Adds the difference b - a (one or more operations) to c. */
static void cost_add(cost *c, const probe *a, const probe *b, uint64_t ops) {
    c->ops += ops;
    c->kv_reads += b->kv.gets - a->kv.gets;
    c->kv_writes += kv_writes_of(&b->kv) - kv_writes_of(&a->kv);
    c->node_reads += b->tree.node_reads - a->tree.node_reads;
    c->root_reads += b->tree.root_reads - a->tree.root_reads;
    c->node_writes += b->tree.node_writes - a->tree.node_writes;
    c->splits += b->tree.splits - a->tree.splits;
    c->hint_hits += b->tree.hint_hits - a->tree.hint_hits;
    c->ns += b->at_ns - a->at_ns;
}

static double per_op(uint64_t v, uint64_t ops) {
    return ops ? (double)v / (double)ops : 0;
}

typedef struct row {
    char shape[16];
    char op[16];
    char hints[8];
    cost c;
} row;

static row g_rows[MAX_ROWS];
static size_t g_nrows;

static void report_cost(const char *shape, const char *op, const char *hints, const cost *c) {
    double root_share = c->node_reads ? (double)c->root_reads / (double)c->node_reads : 0;
    printf("RESULT mode=model shape=%s op=%s hints=%s ops=%llu kv_reads_per_op=%.3f "
           "kv_writes_per_op=%.3f node_reads_per_op=%.3f root_reads_per_op=%.4f "
           "root_share=%.4f hint_hits_per_op=%.3f splits_per_op=%.5f entries_per_op=%.1f "
           "us_per_op=%.2f\n",
           shape, op, hints, (unsigned long long)c->ops, per_op(c->kv_reads, c->ops),
           per_op(c->kv_writes, c->ops), per_op(c->node_reads, c->ops),
           per_op(c->root_reads, c->ops), root_share, per_op(c->hint_hits, c->ops),
           per_op(c->splits, c->ops), per_op(c->entries, c->ops), per_op(c->ns, c->ops) / 1000.0);
    fflush(stdout);
    if (g_nrows < MAX_ROWS) {
        row *r = &g_rows[g_nrows++];
        snprintf(r->shape, sizeof r->shape, "%s", shape);
        snprintf(r->op, sizeof r->op, "%s", op);
        snprintf(r->hints, sizeof r->hints, "%s", hints);
        r->c = *c;
    }
}

/* ---- per-shape state ----------------------------------------------------- */

typedef struct shape_run {
    name_shape shape;
    const char *label; /* also the namespace */
    uint64_t n;        /* loaded names: index perm_at(0..n-1), i.e. all of [0, n) */
    uint64_t extra;    /* names [n, n + extra) inserted by the measurements */
    permutation perm;
    cost load, load_tail;
} shape_run;

typedef struct model_opts {
    uint64_t keys;
    int shape; /* SHAPE_COUNT = all */
    uint64_t lookups, pages, cold_ops, cold_pages;
    uint64_t seed;
} model_opts;

static int g_failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "radix_bench: CHECK FAILED: " __VA_ARGS__);                            \
            fputc('\n', stderr);                                                                   \
            g_failures++;                                                                          \
        }                                                                                          \
    } while (0)

static kerr insert_name(radix *t, const shape_run *s, uint64_t j) {
    char name[BENCH_NAME_MAX];
    size_t len = shape_name(s->shape, j, name);
    return radix_insert(t, s->label, strlen(s->label), name, len);
}

/* ---- load ---------------------------------------------------------------- */

static void load(kv *store, radix *t, shape_run *runs, size_t nruns) {
    uint64_t most = 0, total = 0, done = 0, t0 = now_ns();
    for (size_t s = 0; s < nruns; s++) {
        if (runs[s].n > most) most = runs[s].n;
        total += runs[s].n;
    }
    /* round-robin over the shapes so every tree grows at the same pace */
    for (uint64_t i = 0; i < most; i++) {
        for (size_t s = 0; s < nruns; s++) {
            shape_run *r = &runs[s];
            if (i >= r->n) continue;
            probe a, b;
            probe_take(store, t, &a);
            kerr err = insert_name(t, r, perm_at(&r->perm, i));
            probe_take(store, t, &b);
            CHECK(err == K_OK, "insert %s #%llu: error %d", r->label, (unsigned long long)i, err);
            cost_add(&r->load, &a, &b, 1);
            if (i >= r->n - r->n / 10) cost_add(&r->load_tail, &a, &b, 1);
            if (++done % PROGRESS_EVERY == 0) {
                double secs = (double)(now_ns() - t0) / 1e9;
                fprintf(stderr, "load: %llu/%llu names, %.0f s, %.0f inserts/s, RSS %.0f MiB\n",
                        (unsigned long long)done, (unsigned long long)total, secs,
                        (double)done / secs, (double)proc_status_kib("VmRSS") / 1024.0);
            }
        }
    }
}

/* ---- listing ------------------------------------------------------------- */

/* Collects a page: counts entries, checks they ascend strictly, keeps the
 * last one (the next page's start_after). */
typedef struct page_sink {
    kbuf last;
    uint64_t entries;
    bool out_of_order;
} page_sink;

static int sink_entry(void *ctx, const void *entry, size_t len, bool is_prefix) {
    (void)is_prefix;
    page_sink *ps = ctx;
    if (ps->entries > 0) {
        size_t m = len < ps->last.len ? len : ps->last.len;
        int c = memcmp(ps->last.data, entry, m);
        if (c > 0 || (c == 0 && ps->last.len >= len)) ps->out_of_order = true;
    }
    kbuf_reset(&ps->last);
    kbuf_append(&ps->last, entry, len);
    ps->entries++;
    return 0;
}

typedef enum page_kind { PAGE_PLAIN, PAGE_DELIM, PAGE_DIR } page_kind;

/* One list request of the given kind built around the random name j. */
static kerr list_one(radix *t, const shape_run *s, page_kind kind, uint64_t j, rng *r,
                     page_sink *ps) {
    char name[BENCH_NAME_MAX];
    size_t len = shape_name(s->shape, j, name);
    radix_list_req req = {.max_entries = PAGE_ENTRIES};
    if (kind == PAGE_DIR) {
        /* cut the name after a random one of its '/' (or keep nothing) */
        size_t cuts[BENCH_NAME_MAX], ncuts = 0;
        cuts[ncuts++] = 0;
        for (size_t i = 0; i < len; i++)
            if (name[i] == '/') cuts[ncuts++] = i + 1;
        req.prefix = name;
        req.prefix_len = cuts[rng_below(r, ncuts)];
    } else {
        req.start_after = name;
        req.start_after_len = len;
    }
    if (kind != PAGE_PLAIN) {
        req.delim = "/";
        req.delim_len = 1;
    }
    bool truncated;
    ps->entries = 0;
    ps->out_of_order = false;
    kbuf_reset(&ps->last);
    return radix_list(t, s->label, strlen(s->label), &req, sink_entry, ps, &truncated);
}

static const char *page_op(page_kind kind) {
    return kind == PAGE_PLAIN ? "page" : kind == PAGE_DELIM ? "page_delim" : "dir_delim";
}

static void measure_pages(kv *store, radix *warm, shape_run *s, page_kind kind, uint64_t count,
                          bool cold, uint64_t seed) {
    rng r;
    rng_seed(&r, seed);
    cost c = {0};
    page_sink ps = {.last = KBUF_INIT};
    uint64_t loaded = s->n;
    for (uint64_t k = 0; k < count; k++) {
        radix *t = cold ? radix_new(store) : warm;
        probe a, b;
        probe_take(store, t, &a);
        kerr err = list_one(t, s, kind, rng_below(&r, loaded), &r, &ps);
        probe_take(store, t, &b);
        cost_add(&c, &a, &b, 1);
        c.entries += ps.entries;
        CHECK(err == K_OK, "%s %s: error %d", s->label, page_op(kind), err);
        CHECK(!ps.out_of_order, "%s %s: entries out of order", s->label, page_op(kind));
        if (cold) radix_free(t);
    }
    kbuf_free(&ps.last);
    report_cost(s->label, page_op(kind), cold ? "cold" : "warm", &c);
}

/* Lists the whole namespace page by page; the count must equal the names
 * inserted, in strictly ascending order across pages too. */
static void measure_scan(kv *store, radix *t, shape_run *s) {
    cost c = {0};
    page_sink ps = {.last = KBUF_INIT};
    kbuf after = KBUF_INIT;
    uint64_t names = 0;
    bool ordered = true;
    for (;;) {
        radix_list_req req = {.max_entries = PAGE_ENTRIES};
        if (after.len) {
            req.start_after = after.data;
            req.start_after_len = after.len;
        }
        bool truncated = false;
        ps.entries = 0;
        ps.out_of_order = false;
        kbuf_reset(&ps.last);
        probe a, b;
        probe_take(store, t, &a);
        kerr err = radix_list(t, s->label, strlen(s->label), &req, sink_entry, &ps, &truncated);
        probe_take(store, t, &b);
        cost_add(&c, &a, &b, 1);
        c.entries += ps.entries;
        if (err) {
            CHECK(false, "%s scan: error %d", s->label, err);
            break;
        }
        if (ps.out_of_order) ordered = false;
        names += ps.entries;
        if (!truncated || ps.entries == 0) break;
        kbuf_reset(&after);
        kbuf_append(&after, ps.last.data, ps.last.len);
    }
    CHECK(ordered, "%s scan: entries out of order", s->label);
    CHECK(names == s->n + s->extra, "%s scan: listed %llu names, inserted %llu", s->label,
          (unsigned long long)names, (unsigned long long)(s->n + s->extra));
    kbuf_free(&ps.last);
    kbuf_free(&after);
    report_cost(s->label, "scan", "warm", &c);
}

/* ---- point operations ---------------------------------------------------- */

static void measure_lookups(kv *store, radix *warm, shape_run *s, uint64_t count, bool cold,
                            uint64_t seed) {
    rng r;
    rng_seed(&r, seed);
    cost c = {0};
    for (uint64_t k = 0; k < count; k++) {
        char name[BENCH_NAME_MAX];
        size_t len = shape_name(s->shape, rng_below(&r, s->n), name);
        radix *t = cold ? radix_new(store) : warm;
        bool found = false;
        probe a, b;
        probe_take(store, t, &a);
        kerr err = radix_contains(t, s->label, strlen(s->label), name, len, &found);
        probe_take(store, t, &b);
        cost_add(&c, &a, &b, 1);
        CHECK(err == K_OK && found, "%s lookup %s: error %d found %d", s->label, name, err, found);
        if (cold) radix_free(t);
    }
    report_cost(s->label, "lookup", cold ? "cold" : "warm", &c);
}

static void measure_inserts(kv *store, radix *warm, shape_run *s, uint64_t count, bool cold) {
    cost c = {0};
    for (uint64_t k = 0; k < count; k++) {
        radix *t = cold ? radix_new(store) : warm;
        probe a, b;
        probe_take(store, t, &a);
        kerr err = insert_name(t, s, s->n + s->extra);
        probe_take(store, t, &b);
        cost_add(&c, &a, &b, 1);
        CHECK(err == K_OK, "%s insert: error %d", s->label, err);
        s->extra++;
        if (cold) radix_free(t);
    }
    report_cost(s->label, "insert", cold ? "cold" : "warm", &c);
}

/* ---- node fill: walk the stored tree ------------------------------------- */

typedef struct fill {
    uint64_t nodes, bytes, edges, names, not_live, with_intent;
    unsigned max_depth;
    double *sizes;
    size_t nsizes, cap;
} fill;

typedef struct walk_item {
    uint8_t *prefix;
    size_t len;
    unsigned depth; /* nodes from the root, root = 1 */
} walk_item;

/* Decodes one node value (layout: top of meta/radix.c) and queues its
 * children. Returns false if the value does not parse. */
static bool walk_node(const uint8_t *v, size_t vlen, const walk_item *at, fill *f,
                      walk_item **stack, size_t *nstack, size_t *cap) {
    enum {
        STATE_MASK = 0x03,
        STATE_PENDING = 1,
        FLAG_INTENT = 0x80,
        EDGE_NAME = 1,
        EDGE_CHILD = 2
    };
    if (vlen < 6 || v[0] != 1) return false;
    size_t k = 6;
    if ((v[1] & STATE_MASK) != 0) f->not_live++;
    if ((v[1] & STATE_MASK) == STATE_PENDING) k += 8;
    if (v[1] & FLAG_INTENT) {
        f->with_intent++;
        if (k + 9 > vlen) return false;
        k += 8;
        k += 1 + v[k];
    }
    while (k < vlen) {
        size_t len = v[k++];
        if (len & 0x80) {
            if (k >= vlen) return false;
            len = (len & 0x7F) | ((size_t)v[k++] << 7);
        }
        if (k + 1 + len > vlen) return false;
        uint8_t flags = v[k++];
        const uint8_t *label = v + k;
        k += len;
        f->edges++;
        if (flags & EDGE_NAME) f->names++;
        if (flags & EDGE_CHILD) {
            if (*nstack == *cap) {
                *cap = *cap ? *cap * 2 : 1024;
                *stack = realloc(*stack, *cap * sizeof **stack);
                if (!*stack) abort();
            }
            walk_item *c = &(*stack)[(*nstack)++];
            c->len = at->len + len;
            c->prefix = malloc(c->len + 1);
            if (!c->prefix) abort();
            memcpy(c->prefix, at->prefix, at->len);
            memcpy(c->prefix + at->len, label, len);
            c->depth = at->depth + 1;
        }
    }
    return true;
}

static void measure_fill(kv *store, shape_run *s) {
    fill f = {0};
    size_t nslen = strlen(s->label);
    walk_item *stack = NULL;
    size_t nstack = 0, cap = 0;
    walk_item root = {.prefix = malloc(1), .len = 0, .depth = 1};
    kbuf key = KBUF_INIT, val = KBUF_INIT;
    bool corrupt = false;
    walk_item cur = root;
    for (;;) {
        kbuf_reset(&key);
        kbuf_putc(&key, 'R');
        kbuf_putc(&key, (char)nslen);
        kbuf_append(&key, s->label, nslen);
        kbuf_append(&key, cur.prefix, cur.len);
        kbuf_putc(&key, '$');
        kerr err = kv_get(store, key.data, key.len, &val);
        if (err == K_OK) {
            f.nodes++;
            f.bytes += val.len;
            if (cur.depth > f.max_depth) f.max_depth = cur.depth;
            if (f.nsizes == f.cap) {
                f.cap = f.cap ? f.cap * 2 : 4096;
                f.sizes = realloc(f.sizes, f.cap * sizeof *f.sizes);
                if (!f.sizes) abort();
            }
            f.sizes[f.nsizes++] = (double)val.len;
            if (!walk_node((const uint8_t *)val.data, val.len, &cur, &f, &stack, &nstack, &cap))
                corrupt = true;
        }
        free(cur.prefix);
        if (nstack == 0) break;
        cur = stack[--nstack];
    }
    free(stack);
    kbuf_free(&val);

    /* every node key of this namespace starts with "R" nslen ns */
    key.len = 2 + nslen;
    size_t stored = kv_mem_count_prefix(store, key.data, key.len);
    kbuf_free(&key);
    CHECK(!corrupt, "%s: a node value did not decode", s->label);
    CHECK(stored == f.nodes, "%s: %zu node keys stored but %llu reachable", s->label, stored,
          (unsigned long long)f.nodes);
    CHECK(f.names == s->n + s->extra, "%s: %llu names in nodes, %llu inserted", s->label,
          (unsigned long long)f.names, (unsigned long long)(s->n + s->extra));
    sort_doubles(f.sizes, f.nsizes);
    double avg = f.nodes ? (double)f.bytes / (double)f.nodes : 0;
    printf("RESULT mode=model shape=%s what=nodes names=%llu nodes=%llu stored_node_keys=%zu "
           "avg_node_bytes=%.0f fill=%.3f p10_bytes=%.0f p50_bytes=%.0f p90_bytes=%.0f "
           "edges_per_node=%.1f names_per_node=%.1f max_depth=%u not_live=%llu intents=%llu "
           "splits=%llu\n",
           s->label, (unsigned long long)f.names, (unsigned long long)f.nodes, stored, avg,
           avg / NODE_LIMIT, quantile_sorted(f.sizes, f.nsizes, 0.1),
           quantile_sorted(f.sizes, f.nsizes, 0.5), quantile_sorted(f.sizes, f.nsizes, 0.9),
           per_op(f.edges, f.nodes), per_op(f.names, f.nodes), f.max_depth,
           (unsigned long long)f.not_live, (unsigned long long)f.with_intent,
           (unsigned long long)s->load.splits);
    fflush(stdout);
    free(f.sizes);
}

/* ---- the run ------------------------------------------------------------- */

static void print_table(void) {
    printf("\n%-8s %-10s %-5s %9s %9s %9s %9s %9s %8s %9s\n", "shape", "op", "hints", "ops",
           "kv rd/op", "kv wr/op", "root/op", "root shr", "entries", "us/op");
    for (size_t i = 0; i < g_nrows; i++) {
        const row *r = &g_rows[i];
        const cost *c = &r->c;
        printf("%-8s %-10s %-5s %9llu %9.2f %9.3f %9.4f %8.2f%% %8.0f %9.2f\n", r->shape, r->op,
               r->hints, (unsigned long long)c->ops, per_op(c->kv_reads, c->ops),
               per_op(c->kv_writes, c->ops), per_op(c->root_reads, c->ops),
               c->node_reads ? 100.0 * (double)c->root_reads / (double)c->node_reads : 0,
               per_op(c->entries, c->ops), per_op(c->ns, c->ops) / 1000.0);
    }
    fflush(stdout);
}

static void usage(void) {
    fprintf(stderr,
            "usage: radix_bench model [--keys N] [--shape flat|deep|numeric|hot|all]\n"
            "                         [--lookups N] [--pages N] [--cold N] [--cold-pages N]\n"
            "                         [--seed S]\n"
            "  --keys        names in total (all: split evenly over the 4 shapes), default 10M\n"
            "  --lookups     warm lookups per shape (default 100000)\n"
            "  --pages       warm list pages per kind and shape (default 1000)\n"
            "  --cold        cold-handle lookups and inserts per shape (default 2000)\n"
            "  --cold-pages  cold-handle list pages per kind and shape (default 300)\n"
            "N accepts k/M suffixes (2.5M).\n");
}

static bool parse_model_opts(int argc, char **argv, model_opts *o) {
    static const struct option longopts[] = {{"keys", required_argument, NULL, 'k'},
                                             {"shape", required_argument, NULL, 's'},
                                             {"lookups", required_argument, NULL, 'l'},
                                             {"pages", required_argument, NULL, 'p'},
                                             {"cold", required_argument, NULL, 'c'},
                                             {"cold-pages", required_argument, NULL, 'C'},
                                             {"seed", required_argument, NULL, 'S'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    *o = (model_opts){.keys = 10000000,
                      .shape = SHAPE_COUNT,
                      .lookups = 100000,
                      .pages = 1000,
                      .cold_ops = 2000,
                      .cold_pages = 300,
                      .seed = 42};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        bool ok = true;
        switch (ch) {
        case 'k':
            ok = parse_count(optarg, &o->keys) && o->keys >= 4;
            break;
        case 's': {
            name_shape sh;
            if (strcmp(optarg, "all") == 0) {
                o->shape = SHAPE_COUNT;
            } else if (shape_parse(optarg, &sh)) {
                o->shape = sh;
            } else {
                ok = false;
            }
            break;
        }
        case 'l':
            ok = parse_count(optarg, &o->lookups);
            break;
        case 'p':
            ok = parse_count(optarg, &o->pages);
            break;
        case 'c':
            ok = parse_count(optarg, &o->cold_ops);
            break;
        case 'C':
            ok = parse_count(optarg, &o->cold_pages);
            break;
        case 'S':
            ok = parse_count(optarg, &o->seed);
            break;
        default:
            ok = false;
            break;
        }
        if (!ok) {
            if (ch != 'h') fprintf(stderr, "radix_bench model: bad option value\n");
            return false;
        }
    }
    return optind == argc;
}

int model_main(int argc, char **argv) {
    model_opts o;
    if (!parse_model_opts(argc, argv, &o)) {
        usage();
        return 2;
    }
    print_machine("model");
    shape_run runs[SHAPE_COUNT];
    size_t nruns = 0;
    for (int sh = 0; sh < SHAPE_COUNT; sh++) {
        if (o.shape != SHAPE_COUNT && o.shape != sh) continue;
        shape_run *r = &runs[nruns++];
        memset(r, 0, sizeof *r);
        r->shape = (name_shape)sh;
        r->label = shape_label((name_shape)sh);
    }
    for (size_t s = 0; s < nruns; s++) {
        runs[s].n = o.keys / nruns;
        perm_init(&runs[s].perm, runs[s].n, o.seed * 131 + s);
    }
    printf("RESULT mode=model what=config keys=%llu shapes=%zu per_shape=%llu seed=%llu\n",
           (unsigned long long)o.keys, nruns, (unsigned long long)runs[0].n,
           (unsigned long long)o.seed);

    kv *store = kv_mem_new();
    radix *t = radix_new(store);
    if (!t) {
        fprintf(stderr, "radix_bench: radix_new failed\n");
        return 1;
    }
    uint64_t t0 = now_ns();
    load(store, t, runs, nruns);
    double load_secs = (double)(now_ns() - t0) / 1e9;
    printf("RESULT mode=model what=memory after=load names=%llu load_s=%.1f rss_mib=%.0f "
           "peak_rss_mib=%.0f kv_items=%zu\n",
           (unsigned long long)(runs[0].n * nruns), load_secs,
           (double)proc_status_kib("VmRSS") / 1024.0, (double)proc_status_kib("VmHWM") / 1024.0,
           kv_mem_count_prefix(store, NULL, 0));

    for (size_t s = 0; s < nruns; s++) {
        shape_run *r = &runs[s];
        uint64_t seed = o.seed * 7919 + s;
        report_cost(r->label, "load", "warm", &r->load);
        report_cost(r->label, "load_tail", "warm", &r->load_tail);
        measure_inserts(store, t, r, o.cold_ops, false);
        measure_inserts(store, t, r, o.cold_ops, true);
        measure_lookups(store, t, r, o.lookups, false, seed);
        measure_lookups(store, t, r, o.cold_ops, true, seed + 1);
        for (int kind = PAGE_PLAIN; kind <= PAGE_DIR; kind++) {
            measure_pages(store, t, r, (page_kind)kind, o.pages, false, seed + 10 + kind);
            measure_pages(store, t, r, (page_kind)kind, o.cold_pages, true, seed + 20 + kind);
        }
        measure_scan(store, t, r);
        measure_fill(store, r);
    }
    char load[32];
    load_average(load, sizeof load);
    printf("RESULT mode=model what=memory after=all rss_mib=%.0f peak_rss_mib=%.0f "
           "total_s=%.1f failures=%d loadavg1=%s\n",
           (double)proc_status_kib("VmRSS") / 1024.0, (double)proc_status_kib("VmHWM") / 1024.0,
           (double)(now_ns() - t0) / 1e9, g_failures, load);
    print_table();
    radix_free(t);
    kv_close(store);
    return g_failures ? 1 : 0;
}
