# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash disable=SC2034,SC2154 # variables set and used by the caller
# Shared by deploy/redis-local.sh and deploy/local-cluster.sh (sourced, not
# run): starting redis-servers on loopback with the persistence kura's strict
# default demands (AOF, appendfsync always, fsyncs during rewrites; see
# docs/operations.md, "Metadata on Redis") and making a Redis Cluster of them.
#
# The caller sets, before calling:
#   prog          its name, for messages
#   fsync         always|everysec (appendfsync)
#   pids          an array: every started server's pid is appended to it
#   redis_launch  an array prefix for the server command (empty, or (setsid)
#                 for servers that outlive the caller)

# A free loopback port, below the kernel's ephemeral range (32768-) so that
# no outgoing connection takes it while a server is down. With "bus", a port
# P whose cluster bus port P+10000 is free too.
free_port() { # [bus]
    python3 - "${1:-}" <<'PY'
import random, socket, sys
bus = sys.argv[1] == "bus"
while True:
    p = random.randrange(20000, 50000 if bus else 32000)
    try:
        for q in ((p, p + 10000) if bus else (p,)):
            s = socket.socket()
            s.bind(("127.0.0.1", q))
            s.close()
        print(p)
        break
    except OSError:
        pass
PY
}

start_redis() { # port dir logfile extra-args...
    local port=$1 dir=$2 log=$3
    shift 3
    mkdir -p "$dir"
    "${redis_launch[@]}" redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' \
        --appendonly yes --appendfsync "$fsync" --no-appendfsync-on-rewrite no \
        --daemonize no --logfile "$log" "$@" </dev/null >/dev/null 2>&1 &
    pids+=($!)
    disown $!
}

# Starts redis-server on a free port and waits until it answers; sets
# launched_port and launched_pid (no subshell: the server's pid must reach
# the caller's list). When the server exits at once (another process took
# the port between free_port and the bind: several test runs share the
# machine) it tries again on another port. The wait is generous (60 s): a
# loaded machine may be slow to start a process, and that is no failure.
launch_redis() { # dir logfile extra-args...
    local dir=$1 log=$2 port pid t0
    shift 2
    for _ in $(seq 10); do
        port=$(free_port bus)
        start_redis "$port" "$dir" "$log" "$@"
        pid=${pids[-1]}
        t0=$(date +%s)
        while [ $(($(date +%s) - t0)) -lt 60 ]; do
            if [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ]; then
                launched_port=$port
                launched_pid=$pid
                return 0
            fi
            kill -0 "$pid" 2>/dev/null || break # exited: port taken, try another
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null
    done
    echo "$prog: redis did not start in $dir (see $log)" >&2
    return 1
}

# Arguments of a cluster node: short timeouts, so a failover completes well
# within kura's 10 s target; replicas sync at once.
redis_cluster_args=(--cluster-enabled yes --cluster-config-file nodes.conf
    --cluster-node-timeout 3000 --repl-ping-replica-period 1 --repl-diskless-sync-delay 0)

# Makes a cluster of the servers on PORTS (3 masters + 3 replicas for six),
# waits until it serves and every replica has synced once (a replica that
# never synced cannot take over). LOG gets redis-cli's output.
create_redis_cluster() { # log port...
    local log=$1 ok=0 p role
    shift
    # shellcheck disable=SC2046 # one word a node
    redis-cli --cluster create $(printf '127.0.0.1:%s ' "$@") --cluster-replicas 1 \
        --cluster-yes >"$log" 2>&1 || { cat "$log" >&2; return 1; }
    for _ in $(seq 1200); do
        if redis-cli -p "$1" cluster info 2>/dev/null | grep -q 'cluster_state:ok'; then
            ok=1
            break
        fi
        sleep 0.1
    done
    [ $ok = 1 ] || { echo "$prog: redis cluster did not become ready" >&2; return 1; }
    for p in "$@"; do
        for _ in $(seq 1200); do
            role=$(redis-cli -p "$p" info replication 2>/dev/null)
            case "$role" in
            *role:master*) break ;;
            *master_link_status:up*) break ;;
            esac
            sleep 0.1
        done
    done
}
