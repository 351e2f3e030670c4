/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness for the S3 request-body XML reader (gateway/s3_xml.c).
 *
 * Checks beyond "no crash": a successful parse yields a tree whose text is
 * NUL-terminated at text_len and whose depth respects the documented limit;
 * a failed parse returns exactly K_EMALFORMEDXML. The input is copied into
 * an exactly-sized heap buffer so AddressSanitizer flags any read past the
 * end.
 *
 * Build and run (from the repository root):
 *   mkdir -p build-fuzz-s3xml/corpus && clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -fno-sanitize-recover=undefined -I. tests/fuzz/fuzz_s3_xml.c gateway/s3_xml.c \
 *     common/arena.c common/buf.c -o build-fuzz-s3xml/fuzz_s3_xml
 *   build-fuzz-s3xml/fuzz_s3_xml -max_len=4096 -max_total_time=60 build-fuzz-s3xml/corpus
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "gateway/s3_xml.h"

/* s3_xml.h documents a depth limit of 32 below the root. */
enum { MAX_TREE_DEPTH = 33 };

static void check_tree(const xml_node *n, int depth) {
    for (; n; n = n->next) {
        if (depth > MAX_TREE_DEPTH) abort();
        /* name may read as "" in C: the parser lets NUL bytes into names. */
        if (!n->name || !n->text) abort();
        /* text is NUL-terminated after text_len bytes (it may hold NULs). */
        if (n->text[n->text_len] != '\0') abort();
        /* Lookups by a name that exists must find a node of that name. */
        if (n->child) {
            const xml_node *found = xml_child(n, n->child->name);
            if (!found || strcmp(found->name, n->child->name)) abort();
            (void)xml_child_text(n, n->child->name);
        }
        check_tree(n->child, depth + 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    arena *a = arena_new(0);
    xml_node *root = NULL;
    kerr e = xml_parse(a, size ? copy : copy + 1, size, &root);
    if (e == K_OK) {
        if (!root) abort();
        check_tree(root, 1);
    } else if (e != K_EMALFORMEDXML) {
        abort();
    }
    arena_free(a);
    free(copy);
    return 0;
}
