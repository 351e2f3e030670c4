/* SPDX-License-Identifier: Apache-2.0 */
/* Configuration: every setting of a kura command declared once, read from
 * defaults, then a config file, then command-line flags (later wins), and
 * validated in one place.
 *
 * A command declares a table of cfg_item (name, type, default, bounds,
 * help). The same name is the flag (`--name VALUE`, or `--name` alone for
 * a bool) and the config-file key.
 *
 * Config file format (`--config FILE`, read before the other flags
 * whatever their order, so flags always override it):
 *   # comment                    blank lines and #-comments are ignored
 *   listen = 127.0.0.1:9000      name = value; spaces around '=' and at the
 *   data = /srv/kura/d1          ends are trimmed; a value may be wrapped in
 *   data = /srv/kura/d2          double quotes to keep spaces or a '#'
 *   tls = true                   lists: repeat the key (values accumulate)
 * Booleans: true/false/yes/no/on/off/1/0. Sizes: a number with an optional
 * binary suffix K, M, G, T (KiB...TiB; "KiB" spellings accepted).
 * A list given by flags replaces the file's values for that key (flags of
 * one key accumulate among themselves).
 *
 * Contract:
 * - A config is used by one thread while loading; afterwards the getters
 *   are read-only and thread-safe. The config owns every string it returns
 *   (valid until config_free).
 * - Errors: config_load_file / config_parse_args return K_EINVAL with a
 *   one-line human message in err ("FILE:LINE: unknown setting 'x'",
 *   "--workers: 0 is below the minimum 1", ...); K_EIO if the file cannot be
 *   read. Unknown names, malformed values, out-of-range numbers and a
 *   non-list setting repeated in a file are errors, never ignored; on the
 *   command line a repeated non-list flag takes its last value (scripts
 *   append flags to a base set).
 * - Getters abort() on a name that is not in the table or of another type:
 *   that is a programming error, caught by any test that runs the command.
 */
#ifndef KURA_COMMON_CONFIG_H
#define KURA_COMMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/err.h"

typedef enum cfg_type {
    CFG_STR,  /* any string; "" allowed unless min > 0 (then non-empty) */
    CFG_INT,  /* signed 64-bit decimal within [min, max] */
    CFG_BOOL, /* flag without value sets true */
    CFG_SIZE, /* bytes, with K/M/G/T binary suffixes, within [min, max] */
    CFG_LIST, /* repeatable string */
} cfg_type;

typedef struct cfg_item {
    const char *name; /* "listen": flag --listen, file key listen */
    cfg_type type;
    const char *def;  /* default as text (NULL: unset / empty list) */
    int64_t min, max; /* bounds for INT and SIZE (both 0: unbounded) */
    const char *arg;  /* placeholder in usage, e.g. "HOST:PORT" */
    const char *help; /* one line */
} cfg_item;

typedef struct config config;

/* items must outlive the config. Defaults are parsed here: a bad default
 * aborts (programming error). */
config *config_new(const cfg_item *items, size_t n);
void config_free(config *c);

kerr config_load_file(config *c, const char *path, char *err, size_t errcap);
/* Parses argv (the command's own arguments, without the subcommand). A
 * `--config FILE` anywhere is loaded first. Arguments not starting with
 * "--" are positional: collected in order (see config_positional) when
 * allow_positional, else an error. "--help"/"-h" sets config_wants_help. */
kerr config_parse_args(config *c, int argc, char **argv, bool allow_positional, char *err,
                       size_t errcap);
bool config_wants_help(const config *c);
size_t config_positional(const config *c, const char *const **out);

const char *config_str(const config *c, const char *name); /* NULL if unset */
int64_t config_int(const config *c, const char *name);
uint64_t config_size(const config *c, const char *name);
bool config_bool(const config *c, const char *name);
size_t config_list(const config *c, const char *name, const char *const **out);
/* Whether a flag or the file set it (not just the default). */
bool config_is_set(const config *c, const char *name);

/* "  --name ARG   help (default: X)" lines for every item. */
void config_usage(const cfg_item *items, size_t n, FILE *f);

/* Parses a size ("64", "8M", "1GiB"); false on junk or overflow. */
bool config_parse_size(const char *s, uint64_t *out);

#endif
