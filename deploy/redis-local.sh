#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Starts local redis-servers for kura on loopback and runs a command against
# them, always stopping them afterwards.
#
#   deploy/redis-local.sh shards  CMD...   3 independent servers
#   deploy/redis-local.sh cluster CMD...   Redis Cluster, 3 masters + 3 replicas
#
# CMD runs with KURA_META_URL set (redis://... or redis-cluster://...) and,
# for the test harness, KURA_IT_SERVE_ARGS="--meta $KURA_META_URL". Servers
# run AOF with appendfsync always (and fsyncs during rewrites), the
# persistence kura's strict default checks for and needs: an acknowledged
# write survives a SIGKILL of Redis (meta/kv_redis.c, docs/operations.md).
# KURA_REDIS_FSYNC=everysec starts them with everysec instead and adds
# durability=relaxed to the URL (benchmarks comparing the two).
# Cluster timeouts are short (node timeout 3 s) so a failover completes
# well within kura's 10 s target.
set -u
prog=redis-local.sh
# shellcheck source=deploy/redis-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/redis-lib.sh"
redis_launch=()
mode=${1:?usage: redis-local.sh shards|cluster CMD...}
shift
command -v redis-server >/dev/null || { echo "redis-local.sh: redis-server missing (apt-get install redis-server)" >&2; exit 1; }
fsync=${KURA_REDIS_FSYNC:-always}
case "$fsync" in
always) url_opts="" ;;
everysec) url_opts="?durability=relaxed" ;;
*) echo "redis-local.sh: KURA_REDIS_FSYNC must be always or everysec" >&2; exit 2 ;;
esac
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kura-redis.XXXXXX") || exit 1
pids=()
cleanup() {
    for p in "${pids[@]}"; do
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "redis-server" ] && kill -9 "$p" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

ports=()
case "$mode" in
shards)
    for i in 1 2 3; do
        launch_redis "$tmp/shard$i" "$tmp/shard$i/redis.log" || exit 1
        ports+=("$launched_port")
    done
    url="redis://$(printf '127.0.0.1:%s,' "${ports[@]}")"
    url=${url%,}$url_opts
    ;;
cluster)
    for i in 1 2 3 4 5 6; do
        launch_redis "$tmp/node$i" "$tmp/node$i/redis.log" "${redis_cluster_args[@]}" || exit 1
        ports+=("$launched_port")
    done
    create_redis_cluster "$tmp/cluster-create.log" "${ports[@]}" || exit 1
    url="redis-cluster://127.0.0.1:${ports[0]},127.0.0.1:${ports[1]}$url_opts"
    ;;
*)
    echo "redis-local.sh: unknown mode $mode" >&2
    exit 2
    ;;
esac

export KURA_META_URL=$url
export KURA_REDIS_PORTS="${ports[*]}"
export KURA_REDIS_DIR=$tmp
export KURA_IT_SERVE_ARGS="--meta $url"
"$@"
