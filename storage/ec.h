/* SPDX-License-Identifier: Apache-2.0 */
/* Reed–Solomon erasure coding over GF(2^8), with ISA-L (issue 8; Cave and
 * LINE's hyperscale storage keep large objects as RS(6,3) stripes).
 *
 * A code RS(k,m) turns k data blocks of equal length into m parity blocks;
 * any k of the k+m blocks give back all of them, so a stripe survives the
 * loss of any m blocks (m datanodes). The generator is systematic: data
 * blocks are stored as they are, parity rows come from a Cauchy matrix, so
 * every k×k submatrix of the generator is invertible (a Vandermonde-style
 * RS matrix is not, for every k and m).
 *
 * Reconstruction inverts the generator rows of k surviving blocks and
 * multiplies; the expanded tables ISA-L needs for one erasure pattern (which
 * blocks are missing) are computed once and cached in the code, so a
 * degraded read of many stripes with the same datanode down pays the matrix
 * inversion once.
 *
 * Contract:
 * - ec_new: 1 <= k, 0 <= m, k + m <= EC_MAX_BLOCKS; K_EINVAL otherwise.
 * - An ec_code is thread-safe (the decode table cache has its own lock);
 *   the caller owns every buffer, and buffers never alias.
 * - ec_encode: parity[0..m) from data[0..k), each len bytes (len below
 *   INT_MAX: ISA-L counts in int; kura's blocks are at most a segment).
 * - ec_reconstruct: blocks[0..k+m), the first k data then m parity; the
 *   blocks whose bit is set in `missing` are not read, and those of them
 *   whose bit is also set in `want` are rebuilt into blocks[i] (a buffer
 *   of len bytes the caller gives; the others' buffers are left alone), so
 *   a read that needs one block decodes one. K_EINVAL when more than m
 *   blocks are missing, want names a block not missing, or a mask names
 *   blocks past k+m; K_OK with nothing done when want is empty.
 */
#ifndef KURA_STORAGE_EC_H
#define KURA_STORAGE_EC_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define EC_MAX_BLOCKS 32

typedef struct ec_code ec_code;

kerr ec_new(unsigned k, unsigned m, ec_code **out);
void ec_free(ec_code *c);
unsigned ec_k(const ec_code *c);
unsigned ec_m(const ec_code *c);

void ec_encode(const ec_code *c, size_t len, const uint8_t *const *data, uint8_t *const *parity);
kerr ec_reconstruct(ec_code *c, size_t len, uint8_t *const *blocks, uint32_t missing,
                    uint32_t want);

#endif
