/* SPDX-License-Identifier: Apache-2.0 */
#include "gateway/version.h"

#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <lmdb.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <string.h>

#include "gateway/version_build.h" /* KURA_PROJECT_VERSION, KURA_BUILD_TYPE, KURA_ISAL_VERSION */
#include "gateway/version_vcs.h"   /* KURA_VCS_DESCRIBE */

#define STR_(x) #x
#define STR(x) STR_(x)

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char version[160];
static char line[256];

static void init(void) {
    /* vcs_tag falls back to the project version outside a git checkout. */
    if (!*KURA_VCS_DESCRIBE || !strcmp(KURA_VCS_DESCRIBE, KURA_PROJECT_VERSION))
        snprintf(version, sizeof version, "%s", KURA_PROJECT_VERSION);
    else
        snprintf(version, sizeof version, "%s (%s)", KURA_PROJECT_VERSION, KURA_VCS_DESCRIBE);
    snprintf(line, sizeof line, "kura %s, %s build", version, KURA_BUILD_TYPE);
}

const char *kura_version(void) {
    pthread_once(&once, init);
    return version;
}

const char *kura_build_type(void) {
    return KURA_BUILD_TYPE;
}

const char *kura_version_line(void) {
    pthread_once(&once, init);
    return line;
}

int kura_version_print(FILE *f) {
    int maj, min, patch;
    mdb_version(&maj, &min, &patch);
    const curl_version_info_data *curl = curl_version_info(CURLVERSION_NOW);
#if JANSSON_VERSION_HEX >= 0x020d00
    const char *jansson = jansson_version_str();
#else
    const char *jansson = JANSSON_VERSION;
#endif
    /* OpenSSL's string names itself: "OpenSSL 3.0.19 1 Jul 2025". */
    const char *ssl = OpenSSL_version(OPENSSL_VERSION);
    if (!strncmp(ssl, "OpenSSL ", 8)) ssl += 8;
    int n = fprintf(f,
                    "%s\n"
                    "  libmicrohttpd %s\n"
                    "  hiredis %s\n"
                    "  OpenSSL %s\n"
                    "  ISA-L %s\n"
                    "  LMDB %d.%d.%d\n"
                    "  libcurl %s\n"
                    "  jansson %s\n",
                    kura_version_line(), MHD_get_version(),
                    STR(HIREDIS_MAJOR) "." STR(HIREDIS_MINOR) "." STR(HIREDIS_PATCH), ssl,
                    KURA_ISAL_VERSION, maj, min, patch, curl->version, jansson);
    return n < 0 || fflush(f) ? -1 : 0;
}
