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

# A free port P whose cluster bus port P+10000 is free too.
free_port() {
    python3 - <<'PY'
import random, socket
while True:
    p = random.randrange(20000, 50000)
    try:
        for q in (p, p + 10000):
            s = socket.socket()
            s.bind(("127.0.0.1", q))
            s.close()
        print(p)
        break
    except OSError:
        pass
PY
}

start_redis() { # port dir extra-args...
    local port=$1 dir=$2
    shift 2
    mkdir -p "$dir"
    redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' \
        --appendonly yes --appendfsync "$fsync" --no-appendfsync-on-rewrite no \
        --daemonize no --logfile "$dir/redis.log" "$@" &
    pids+=($!)
    disown $!
}

# Starts redis-server on a free port and waits until it answers; sets
# launched_port (no subshell: the server's pid must reach the cleanup list).
# When the server exits at once (another process took the port between
# free_port and the bind: several test runs share the machine) it tries
# again on another port. The wait is generous (60 s): a loaded machine may
# be slow to start a process, and that is no failure.
launch_redis() { # dir extra-args...
    local dir=$1 port pid t0
    shift
    for _ in $(seq 10); do
        port=$(free_port)
        start_redis "$port" "$dir" "$@"
        pid=${pids[-1]}
        t0=$(date +%s)
        while [ $(($(date +%s) - t0)) -lt 60 ]; do
            if [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ]; then
                launched_port=$port
                return 0
            fi
            kill -0 "$pid" 2>/dev/null || break # exited: port taken, try another
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null
    done
    echo "redis-local.sh: redis did not start in $dir (see $dir/redis.log)" >&2
    return 1
}

ports=()
case "$mode" in
shards)
    for i in 1 2 3; do
        launch_redis "$tmp/shard$i" || exit 1
        ports+=("$launched_port")
    done
    url="redis://$(printf '127.0.0.1:%s,' "${ports[@]}")"
    url=${url%,}$url_opts
    ;;
cluster)
    for i in 1 2 3 4 5 6; do
        launch_redis "$tmp/node$i" --cluster-enabled yes --cluster-config-file nodes.conf \
            --cluster-node-timeout 3000 --repl-ping-replica-period 1 \
            --repl-diskless-sync-delay 0 || exit 1
        ports+=("$launched_port")
    done
    redis-cli --cluster create $(printf '127.0.0.1:%s ' "${ports[@]}") --cluster-replicas 1 \
        --cluster-yes >"$tmp/cluster-create.log" 2>&1 || { cat "$tmp/cluster-create.log" >&2; exit 1; }
    ok=0
    for _ in $(seq 1200); do
        if redis-cli -p "${ports[0]}" cluster info 2>/dev/null | grep -q 'cluster_state:ok'; then
            ok=1
            break
        fi
        sleep 0.1
    done
    [ $ok = 1 ] || { echo "redis-local.sh: cluster did not become ready" >&2; exit 1; }
    # a replica that never synced cannot take over: wait for every link
    for p in "${ports[@]}"; do
        for _ in $(seq 1200); do
            role=$(redis-cli -p "$p" info replication 2>/dev/null)
            case "$role" in
            *role:master*) break ;;
            *master_link_status:up*) break ;;
            esac
            sleep 0.1
        done
    done
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
