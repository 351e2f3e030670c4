/* SPDX-License-Identifier: Apache-2.0 */
/* What the kv interface does itself, for every backend: kv_mget's argument
 * handling and its fallback for backends without a multi-get. */
#include "meta/kv.h"

kerr kv_mget(kv *s, size_t n, const void *const *keys, const size_t *klens, kbuf *vals,
             kerr *errs) {
    if (n == 0) return K_OK;
    if (s->ops->mget) return s->ops->mget(s, n, keys, klens, vals, errs);
    for (size_t i = 0; i < n; i++) {
        kerr e = kv_get(s, keys[i], klens[i], &vals[i]);
        switch (e) {
        case K_OK:
        case K_ENOTFOUND:
        case K_EINVAL:
        case K_ETOOLARGE:
            errs[i] = e;
            break;
        default:
            return e;
        }
    }
    return K_OK;
}
