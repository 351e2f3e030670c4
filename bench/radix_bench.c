/* SPDX-License-Identifier: Apache-2.0 */
/* radix_bench: scale benchmark of the distributed radix tree (issue 3).
 *
 *   radix_bench model [options]   the tree over the in-memory counting kv
 *   radix_bench redis [options]   the tree and one sorted set per bucket
 *                                 over 3 real Redis shards
 *   radix_bench listing [options] a 1000-entry ListObjectsV2 page (names
 *                                 and records) over 3 Redis shards, one
 *                                 kv read each against batched reads
 *
 * Each measurement prints one line starting with "RESULT " (key=value
 * pairs, greppable), and each run ends with a human-readable table. See
 * bench/README.md for what is measured and why.
 */
#include <stdio.h>
#include <string.h>

#include "bench/bench.h"

static void usage(void) {
    fprintf(stderr,
            "usage: radix_bench model|redis|listing [options]   (radix_bench MODE --help)\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage();
        return 2;
    }
    /* line-buffered stdout so RESULT lines reach a log file as they happen */
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(argv[1], "model") == 0) return model_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "redis") == 0) return redis_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "listing") == 0) return listing_main(argc - 1, argv + 1);
    usage();
    return 2;
}
