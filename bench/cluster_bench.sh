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
emb_pid=
cleanup() {
    [ -n "$emb_pid" ] && kill "$emb_pid" 2>/dev/null
    "$here/deploy/local-cluster.sh" down "$tmp/cluster" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT

ticks() { # pids... -> summed utime+stime in clock ticks
    local t=0 p f
    for p in "$@"; do
        f=$(cut -d' ' -f14,15 "/proc/$p/stat" 2>/dev/null) || continue
        t=$((t + ${f% *} + ${f#* }))
    done
    echo "$t"
}
hz=$(getconf CLK_TCK)

# run NAME ENDPOINT AK SK "SERVER PIDS" "REDIS PIDS" BENCH-ARGS...
run() {
    local name=$1 ep=$2 ak=$3 sk=$4 spids=$5 rpids=$6
    shift 6
    local load s0 r0 out s1 r1 ops
    load=$(cut -d' ' -f1 /proc/loadavg)
    # shellcheck disable=SC2086
    s0=$(ticks $spids)
    # shellcheck disable=SC2086
    r0=$(ticks $rpids)
    out=$("$kura" bench --endpoint "$ep" --access-key "$ak" --secret-key "$sk" "$@" 2>&1 | tail -1)
    # shellcheck disable=SC2086
    s1=$(ticks $spids)
    # shellcheck disable=SC2086
    r1=$(ticks $rpids)
    ops=$(sed -n 's/.* ops=\([0-9]*\) .*/\1/p' <<<"$out")
    local rate mbs p50 p99
    rate=$(sed -n 's/.* ops\/s=\([0-9.]*\).*/\1/p' <<<"$out")
    mbs=$(sed -n 's/.* MB\/s=\([0-9.]*\).*/\1/p' <<<"$out")
    p50=$(sed -n 's/.* p50_ms=\([0-9.]*\).*/\1/p' <<<"$out")
    p99=$(sed -n 's/.* p99_ms=\([0-9.]*\).*/\1/p' <<<"$out")
    [ -z "$ops" ] || [ "$ops" = 0 ] && { echo "| $name | $* | failed: $out |"; return; }
    awk -v n="$name" -v a="$*" -v ops="$ops" -v rate="$rate" -v mbs="$mbs" -v p50="$p50" \
        -v p99="$p99" -v s="$((s1 - s0))" -v r="$((r1 - r0))" -v hz="$hz" -v load="$load" \
        'BEGIN { printf "| %s | `%s` | %s ops/s, %s MB/s, p50 %s ms, p99 %s ms | %.0f µs | %.0f µs | %s |\n",
                 n, a, rate, mbs, p50, p99, s * 1e6 / hz / ops, r * 1e6 / hz / ops, load }'
}

echo "| setup | kura bench args | result | server CPU/op | Redis CPU/op | load |"
echo "|---|---|---|---|---|---|"
for round in 1 2; do
    # embedded default
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    rm -rf "$tmp/emb"
    KURA_ROOT_ACCESS_KEY=bak KURA_ROOT_SECRET_KEY=bsk "$kura" serve --listen "127.0.0.1:$port" \
        --data "$tmp/emb" --admin-listen off >"$tmp/emb.log" 2>&1 &
    emb_pid=$!
    for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
    e="http://127.0.0.1:$port"
    run "embedded #$round" "$e" bak bsk "$emb_pid" "" --bucket b4k --op put --size 4KiB --concurrency 16 --duration 10
    run "embedded #$round" "$e" bak bsk "$emb_pid" "" --bucket b4k --op get --size 4KiB --objects 1000 --concurrency 16 --duration 10
    run "embedded #$round" "$e" bak bsk "$emb_pid" "" --bucket blg --op put --size "$large" --objects 1 --count 1
    run "embedded #$round" "$e" bak bsk "$emb_pid" "" --bucket blg --op get --size "$large" --objects 1 --count 2
    kill "$emb_pid"
    wait "$emb_pid" 2>/dev/null
    emb_pid=
    # the cluster
    "$here/deploy/local-cluster.sh" down "$tmp/cluster" >/dev/null 2>&1
    rm -rf "$tmp/cluster"
    KURA="$kura" "$here/deploy/local-cluster.sh" up "$tmp/cluster" --datanodes 3 --zones 3 \
        --gateways 1 >"$tmp/up.log" 2>&1 || { cat "$tmp/up.log"; exit 1; }
    # shellcheck disable=SC1091
    . "$tmp/cluster/cluster.env"
    gw=$(awk '{print $3}' "$tmp/cluster/gateways" | tr '\n' ' ')
    dn=$(awk '{print $4}' "$tmp/cluster/datanodes" | tr '\n' ' ')
    rd=$(awk '{print $2}' "$tmp/cluster/redis-nodes" | tr '\n' ' ')
    c=${KURA_GATEWAYS%% *}
    run "cluster #$round" "$c" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$gw $dn" "$rd" --bucket b4k --op put --size 4KiB --concurrency 16 --duration 10
    run "cluster #$round" "$c" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$gw $dn" "$rd" --bucket b4k --op get --size 4KiB --objects 1000 --concurrency 16 --duration 10
    run "cluster #$round" "$c" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$gw $dn" "$rd" --bucket blg --op put --size "$large" --objects 1 --count 1
    run "cluster #$round" "$c" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$gw $dn" "$rd" --bucket blg --op get --size "$large" --objects 1 --count 2
    "$here/deploy/local-cluster.sh" down "$tmp/cluster" >/dev/null 2>&1
done
