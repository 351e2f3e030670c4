/* SPDX-License-Identifier: Apache-2.0 */
/* Thread workers for the concurrent radix tests. */
#ifndef KURA_TESTS_META_RADIX_WORKERS_H
#define KURA_TESTS_META_RADIX_WORKERS_H

#include <pthread.h>
#include <stdatomic.h>

#include "radix_ref.h"

typedef struct work {
    radix *t;
    const char *ns;
    const nm *names;
    size_t n;
    size_t stride, offset; /* this worker takes names[offset + k*stride] */
    bool remove;
    _Atomic int *errors;
} work;

static void *work_main(void *p) {
    work *w = p;
    for (size_t i = w->offset; i < w->n; i += w->stride) {
        const nm *x = &w->names[i];
        kerr err = w->remove ? radix_remove(w->t, w->ns, strlen(w->ns), x->b, x->len)
                             : radix_insert(w->t, w->ns, strlen(w->ns), x->b, x->len);
        if (err != K_OK) {
            fprintf(stderr, "worker %s failed: %d\n", w->remove ? "remove" : "insert", (int)err);
            atomic_fetch_add(w->errors, 1);
        }
    }
    return NULL;
}

/* Runs nthreads workers over names (each takes every nthreads-th name,
 * optionally each name twice via overlap) and returns the error count. */
static int run_workers(radix *const *trees, int ntrees, const char *ns, const nm *names, size_t n,
                       int nthreads, bool remove) {
    pthread_t th[32];
    work w[32];
    _Atomic int errors = 0;
    for (int i = 0; i < nthreads; i++) {
        w[i] =
            (work){trees[i % ntrees], ns, names, n, (size_t)nthreads, (size_t)i, remove, &errors};
        pthread_create(&th[i], NULL, work_main, &w[i]);
    }
    for (int i = 0; i < nthreads; i++) pthread_join(th[i], NULL);
    return atomic_load(&errors);
}

#endif
