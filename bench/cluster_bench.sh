#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The storage cluster against the embedded default, same run, same client
# (issue 8): 4 KiB PUT and GET, and one large object PUT and GET, through
# `kura bench`, with the server CPU per operation read from /proc.
#
#   bench/cluster_bench.sh [KURA] [LARGE_SIZE]      (default 256MiB)
#
# Embedded: `kura serve` (LMDB + one local volume). Cluster:
# deploy/local-cluster.sh with 3 datanodes in 3 zones, 1 gateway, Redis
# Cluster 3+3 metadata; every object 3 replicas. CPU per op sums the
# gateway and the datanodes ("server"), Redis is given apart. Prints a
# markdown table row per case; the load average before each run.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
kura=${1:-$here/build/gateway/kura}
large=${2:-256MiB}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kura-cbench.XXXXXX")
# shellcheck source=bench/lib.sh
. "$here/bench/lib.sh"
cleanup() {
    embedded_down
    cluster_down "$tmp/cluster"
    rm -rf "$tmp"
}
trap cleanup EXIT

run_header
for round in 1 2; do
    # embedded default
    embedded_up "$tmp/emb"
    e=$emb_ep
    run "embedded #$round" "$e" bak bsk "$emb_pid" "" --bucket b4k --op put --size 4KiB --concurrency 16 --duration 10
    run "embedded #$round" "$e" bak bsk "$emb_pid" "" --bucket b4k --op get --size 4KiB --objects 1000 --concurrency 16 --duration 10
    run "embedded #$round" "$e" bak bsk "$emb_pid" "" --bucket blg --op put --size "$large" --objects 1 --count 1
    run "embedded #$round" "$e" bak bsk "$emb_pid" "" --bucket blg --op get --size "$large" --objects 1 --count 2
    embedded_down
    # the cluster
    cluster_up "$tmp/cluster" 3 || exit 1
    c=$c_ep
    run "cluster #$round" "$c" "$c_ak" "$c_sk" "$gw $dn" "$rd" --bucket b4k --op put --size 4KiB --concurrency 16 --duration 10
    run "cluster #$round" "$c" "$c_ak" "$c_sk" "$gw $dn" "$rd" --bucket b4k --op get --size 4KiB --objects 1000 --concurrency 16 --duration 10
    run "cluster #$round" "$c" "$c_ak" "$c_sk" "$gw $dn" "$rd" --bucket blg --op put --size "$large" --objects 1 --count 1
    run "cluster #$round" "$c" "$c_ak" "$c_sk" "$gw $dn" "$rd" --bucket blg --op get --size "$large" --objects 1 --count 2
    cluster_down "$tmp/cluster"
done
