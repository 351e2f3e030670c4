/* SPDX-License-Identifier: Apache-2.0 */
#include "gateway/objhttp.h"

#include <string.h>

static ssize_t object_stream_read(void *ctx, uint64_t pos, char *out, size_t max) {
    return objsvc_reader_read(ctx, pos, out, max);
}

static void object_stream_free(void *ctx) {
    objsvc_reader_close(ctx);
}

kerr gw_respond_object(gw_req *r, objsvc *svc, const obj_meta *m, uint64_t off, uint64_t len,
                       int status) {
    gw_response *rs = &r->resp;
    if (!strcmp(r->http.method, "HEAD")) {
        rs->length_only = true;
        rs->stream_len = len;
        gw_respond(r, status);
        return K_OK;
    }
    obj_reader *g;
    kerr e = objsvc_reader_open(svc, m, len ? off : 0, len, &g);
    if (e) return e;
    rs->stream = object_stream_read;
    rs->stream_ctx = g;
    rs->stream_free = object_stream_free;
    rs->stream_len = len;
    gw_respond(r, status);
    return K_OK;
}
