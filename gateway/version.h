/* SPDX-License-Identifier: Apache-2.0 */
/* Version report: what `kura version` prints and what `kura serve` logs as
 * it starts.
 *
 * kura's version is meson.build's project version; a build from a git
 * checkout adds `git describe --always --dirty`, generated at build time by
 * meson's vcs_tag (gateway/version_vcs.h in the build directory). Outside a
 * checkout the describe falls back to the project version and is not
 * repeated. The build type is meson's buildtype option.
 *
 * Library versions are those of the libraries loaded in this process where
 * the library can say (libmicrohttpd, OpenSSL, LMDB, libcurl, jansson >=
 * 2.13) and those built against where it cannot: hiredis (its header's
 * HIREDIS_MAJOR/MINOR/PATCH) and ISA-L (the pkg-config version meson saw;
 * ISA-L has no version call).
 *
 * Contract:
 * - Every function is thread-safe and may be called at any time, before or
 *   after any other kura initialisation.
 * - Returned strings are static, owned by this module, valid for the life
 *   of the process; never free or modify them.
 */
#ifndef KURA_GATEWAY_VERSION_H
#define KURA_GATEWAY_VERSION_H

#include <stdio.h>

/* "0.1.0", or "0.1.0 (753925c-dirty)" when built from a git checkout. */
const char *kura_version(void);

/* meson's buildtype: "debug", "debugoptimized", "release", ... */
const char *kura_build_type(void);

/* "kura 0.1.0 (753925c-dirty), debugoptimized build": the first line of
 * `kura version` and the start of the line `kura serve` logs at start. */
const char *kura_version_line(void);

/* Writes the version line, then one "  NAME VERSION" line per library kura
 * links (libmicrohttpd, hiredis, OpenSSL, ISA-L, LMDB, libcurl, jansson).
 * Returns 0, or -1 if writing to f failed. */
int kura_version_print(FILE *f);

#endif
