/* SPDX-License-Identifier: Apache-2.0 */
/* Builds http_req values by hand for the auth tests, the way the HTTP layer
 * would: header names lower-cased, values trimmed, path and query decoded. */
#ifndef KURA_TESTS_AUTH_REQ_BUILD_H
#define KURA_TESTS_AUTH_REQ_BUILD_H

#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/text.h"
#include "gateway/http.h"

/* target: raw path with optional "?query", exactly as on the request line.
 * headers: name, value pairs, NULL-terminated. */
static inline http_req *req_build(arena *a, const char *method, const char *target,
                                  const char *const *headers) {
    http_req *r = arena_zalloc(a, sizeof *r);
    r->a = a;
    r->method = arena_strdup(a, method);
    const char *q = strchr(target, '?');
    size_t plen = q ? (size_t)(q - target) : strlen(target);
    r->raw_path = arena_strndup(a, target, plen);
    char *path = arena_strndup(a, target, plen);
    long dl = url_decode_inplace(path, plen, false);
    r->path = path;
    r->path_len = dl < 0 ? 0 : (size_t)dl;

    size_t nh = 0;
    while (headers && headers[2 * nh]) nh++;
    r->headers = arena_zalloc(a, (nh ? nh : 1) * sizeof *r->headers);
    for (size_t i = 0; i < nh; i++) {
        char *name = arena_strdup(a, headers[2 * i]);
        for (char *c = name; *c; c++)
            if (*c >= 'A' && *c <= 'Z') *c = (char)(*c + 32);
        size_t vn = strlen(headers[2 * i + 1]);
        const char *v = str_trim(headers[2 * i + 1], &vn);
        r->headers[i].name = name;
        r->headers[i].value = arena_strndup(a, v, vn);
    }
    r->nheaders = nh;

    if (q && q[1]) {
        size_t cap = 1;
        for (const char *c = q + 1; *c; c++) cap += *c == '&';
        r->query = arena_zalloc(a, cap * sizeof *r->query);
        const char *s = q + 1;
        while (*s) {
            const char *amp = strchr(s, '&');
            size_t len = amp ? (size_t)(amp - s) : strlen(s);
            if (len) {
                http_param *p = &r->query[r->nquery++];
                const char *eq = memchr(s, '=', len);
                size_t nlen = eq ? (size_t)(eq - s) : len;
                p->raw_name = arena_strndup(a, s, nlen);
                char *name = arena_strndup(a, s, nlen);
                url_decode_inplace(name, nlen, true);
                p->name = name;
                if (eq) {
                    size_t vlen = len - nlen - 1;
                    p->raw_value = arena_strndup(a, eq + 1, vlen);
                    char *value = arena_strndup(a, eq + 1, vlen);
                    url_decode_inplace(value, vlen, true);
                    p->value = value;
                }
            }
            if (!amp) break;
            s = amp + 1;
        }
    }
    return r;
}

#endif
