/* SPDX-License-Identifier: Apache-2.0 */
/* kura bench: the S3 load generator behind `kura bench` (bench/loadgen.c).
 *
 * Contract: kura_bench_main parses argv (without "kura bench"), runs the
 * benchmark against an S3 endpoint over libcurl and prints one result line
 * per request kind; returns the process exit status (0 ok, 1 if any request
 * failed, 2 usage). It owns every thread and handle it creates and joins or
 * frees them before returning. It is a client: it uses nothing of the
 * gateway, only common/ (hashes for --verify).
 */
#ifndef KURA_BENCH_LOADGEN_H
#define KURA_BENCH_LOADGEN_H

int kura_bench_main(int argc, char **argv);

#endif
