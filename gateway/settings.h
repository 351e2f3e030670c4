/* SPDX-License-Identifier: Apache-2.0 */
/* The settings of kura's commands, declared once (common/config.h does the
 * reading): names, defaults, bounds and help for `kura serve`,
 * `kura datanode` and `kura admin`, and the checks that span several settings.
 *
 * Every serve setting is a flag (`--name VALUE`) and a config-file key
 * (`name = value`, file given by `--config FILE`); flags override the file,
 * the file overrides the defaults written here. docs/operations.md lists
 * them with the file format.
 *
 * Storage policy knobs (replicas, ec-data, ec-parity, ec-threshold) are
 * declared and validated now; the local-volume policy of the embedded
 * default ignores them, the storage-cluster policies read them.
 *
 * Contract: the tables are static and immutable; settings_check_serve is
 * pure (reads the config, writes err) and returns K_EINVAL with a one-line
 * message when the combination is unusable.
 */
#ifndef KURA_GATEWAY_SETTINGS_H
#define KURA_GATEWAY_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"

extern const cfg_item settings_serve[];
extern const size_t settings_serve_count;
extern const cfg_item settings_admin[];
extern const size_t settings_admin_count;

kerr settings_check_serve(const config *c, char *err, size_t errcap);

/* `kura datanode` (storage/datanode.h) and `kura datanode list`. */
extern const cfg_item settings_datanode[];
extern const size_t settings_datanode_count;
/* kura admin fsck / repair. */
extern const cfg_item settings_fsck[];
extern const size_t settings_fsck_count;
/* kura admin status. */
extern const cfg_item settings_status[];
extern const size_t settings_status_count;
extern const cfg_item settings_datanode_list[];
extern const size_t settings_datanode_list_count;
kerr settings_check_datanode(const config *c, char *err, size_t errcap);

/* --min-free-space: "auto" (1 GiB or 5% of each volume's filesystem, the
 * smaller), a size ("512M", "2G"; "0": no reserve, writes stop only when
 * the filesystem answers ENOSPC) or a percentage of each volume's
 * filesystem ("1%" to "99%"). Fills *o; K_EINVAL otherwise. main.c maps it
 * onto storage/volume.h's reserve (this layer does not see storage/). */
typedef enum settings_reserve_kind {
    SETTINGS_RESERVE_AUTO,
    SETTINGS_RESERVE_BYTES,
    SETTINGS_RESERVE_PERCENT,
} settings_reserve_kind;
typedef struct settings_reserve {
    settings_reserve_kind kind;
    uint64_t bytes;   /* SETTINGS_RESERVE_BYTES */
    unsigned percent; /* SETTINGS_RESERVE_PERCENT, 1..99 */
} settings_reserve;
kerr settings_min_free(const char *text, settings_reserve *o);

#endif
