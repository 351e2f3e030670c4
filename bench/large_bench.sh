#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Large objects (issue 8): the embedded default, a replicated cluster and an
# erasure-coded cluster, same run, same client, with the server CPU per
# operation (bench/lib.sh `run`), then degraded erasure-coded reads.
#
#   bench/large_bench.sh [KURA] [ROUNDS] [SIZE] [STREAMS] [MID]
#                        (defaults: build/gateway/kura, 2, 1GiB, 8, 64MiB)
#
# Per setup: one SIZE object PUT and GET by one stream, STREAMS objects of
# SIZE PUT and GET by STREAMS streams, one MID object PUT and GET by one
# stream. Setups (SETUPS="embedded replicated ec" to choose):
#   embedded    `kura serve`, LMDB + one local volume
#   replicated  deploy/local-cluster.sh, 9 datanodes in 3 zones, 1 gateway,
#               --ec-threshold 16M (above the 8 MiB segment: 3 replicas)
#   ec          the same with the defaults: RS(6,3) stripes over 9
#               datanodes; then SIGKILL 1, then 3 datanodes and GET again
#               (reads decode), and one --verify GET of the SIZE object
# Each setup's data is removed before the next (replicated STREAMS x SIZE x 3
# on disk: 24 GiB for the defaults). Prints markdown rows, the disk used
# after the PUTs and the gateway's "decoding from the others" log lines.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
kura=${1:-$here/build/gateway/kura}
rounds=${2:-2}
size=${3:-1GiB}
streams=${4:-8}
mid=${5:-64MiB}
setups=${SETUPS:-embedded replicated ec}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kura-lbench.XXXXXX")
# shellcheck source=bench/lib.sh
. "$here/bench/lib.sh"
cleanup() {
    embedded_down
    cluster_down "$tmp/cluster"
    rm -rf "$tmp"
}
trap cleanup EXIT

# cases NAME ENDPOINT AK SK "SERVER PIDS" "REDIS PIDS"
cases() {
    run "$@" --bucket one --op put --size "$size" --objects 1 --count 1
    run "$@" --bucket one --op get --size "$size" --objects 1 --count 2
    run "$@" --bucket many --op put --size "$size" --objects "$streams" --count "$streams" --concurrency "$streams"
    run "$@" --bucket many --op get --size "$size" --objects "$streams" --count "$streams" --concurrency "$streams"
    run "$@" --bucket mid --op put --size "$mid" --objects 1 --count 1
    run "$@" --bucket mid --op get --size "$mid" --objects 1 --count 8
}

disk() { # DIR... -> "N GiB" in all
    du -sck "$@" 2>/dev/null | awk 'END {printf "%.1f GiB", $1 / 1048576}'
}

# degraded NAME "SERVER PIDS": the GETs of `cases` again
degraded() {
    run "$1" "$c_ep" "$c_ak" "$c_sk" "$2" "$rd" --bucket one --op get --size "$size" --objects 1 --count 2
    run "$1" "$c_ep" "$c_ak" "$c_sk" "$2" "$rd" --bucket many --op get --size "$size" --objects "$streams" --count "$streams" --concurrency "$streams"
    run "$1" "$c_ep" "$c_ak" "$c_sk" "$2" "$rd" --bucket mid --op get --size "$mid" --objects 1 --count 8
}

decoded() { grep -c 'decoding from the others' "$tmp/cluster/logs/gw1.log"; }

run_header
for round in $(seq "$rounds"); do
    for setup in $setups; do
        echo "<!-- $(date -u +%H:%M:%S) $setup #$round, /tmp: $(df -h --output=avail /tmp | tail -1 | tr -d ' ') free -->"
        case $setup in
        embedded)
            embedded_up "$tmp/emb"
            cases "embedded #$round" "$emb_ep" bak bsk "$emb_pid" ""
            echo "<!-- embedded data: $(disk "$tmp/emb") -->"
            embedded_down
            rm -rf "$tmp/emb"
            ;;
        replicated | ec)
            if [ "$setup" = replicated ]; then
                KURA_SERVE_ARGS="--ec-threshold 16M ${KURA_SERVE_ARGS:-}" cluster_up "$tmp/cluster" 9 || exit 1
            else
                cluster_up "$tmp/cluster" 9 || exit 1
            fi
            cases "$setup #$round" "$c_ep" "$c_ak" "$c_sk" "$gw $dn" "$rd"
            echo "<!-- $setup datanode data: $(disk "$tmp"/cluster/dn*) -->"
            if [ "$setup" = ec ]; then
                echo "<!-- decoded before the kills: $(decoded) -->"
                mapfile -t victims < <(awk '{print $4}' "$tmp/cluster/datanodes")
                kill -KILL "${victims[0]}"
                sleep 8
                degraded "ec 1 down #$round" "$gw $(tr ' ' '\n' <<<"$dn" | grep -vx "${victims[0]}" | xargs)"
                echo "<!-- decoded after 1 down: $(decoded) -->"
                kill -KILL "${victims[1]}" "${victims[2]}"
                sleep 8
                degraded "ec 3 down #$round" "$gw $(tr ' ' '\n' <<<"$dn" | grep -vxE "${victims[0]}|${victims[1]}|${victims[2]}" | xargs)"
                echo "<!-- decoded after 3 down: $(decoded) -->"
                echo "<!-- verify, 3 down: $("$kura" bench --endpoint "$c_ep" --access-key "$c_ak" \
                    --secret-key "$c_sk" --bucket one --op get --size "$size" --objects 1 --count 1 \
                    --verify 2>&1 | tail -1) -->"
            fi
            cluster_down "$tmp/cluster"
            rm -rf "$tmp/cluster"
            ;;
        esac
    done
done
