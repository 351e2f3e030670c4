/* SPDX-License-Identifier: Apache-2.0 */
#include "gateway/http.h"

#include <string.h>

const char *http_header_get(const http_req *r, const char *lname) {
    for (size_t i = 0; i < r->nheaders; i++)
        if (!strcmp(r->headers[i].name, lname)) return r->headers[i].value;
    return NULL;
}

const http_param *http_param_find(const http_req *r, const char *name) {
    for (size_t i = 0; i < r->nquery; i++)
        if (!strcmp(r->query[i].name, name)) return &r->query[i];
    return NULL;
}

const char *http_param_get(const http_req *r, const char *name) {
    const http_param *p = http_param_find(r, name);
    return p ? p->value : NULL;
}

bool http_param_has(const http_req *r, const char *name) {
    return http_param_find(r, name) != NULL;
}
