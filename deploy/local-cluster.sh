#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A local storage cluster in one command (issue 8): a Redis Cluster (3+3)
# for metadata, `kura datanode` processes and `kura serve` gateways, all on
# loopback, running in the background until `down`.
#
#   deploy/local-cluster.sh up DIR [--datanodes 9] [--zones 3] [--gateways 2]
#   deploy/local-cluster.sh restart-datanode DIR ID [--blank]
#   deploy/local-cluster.sh down DIR
#
# up starts everything, returns once every gateway answers HTTP and every
# datanode is registered up, and writes
#   DIR/cluster.env   shell assignments: KURA_GATEWAYS (space-separated
#                     URLs), KURA_META, AWS_ACCESS_KEY_ID,
#                     AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION,
#                     KURA_CLUSTER_SECRET_FILE (mode 0600: it holds a key)
#   DIR/datanodes     one line a datanode: ID ZONE URL PID DATADIR
#   DIR/gateways      one line a gateway:  URL ADMIN_URL PID DATADIR
#   DIR/redis-nodes   one line a Redis node: PORT PID DATADIR
#   DIR/pids          every process started for DIR: ROLE PID (down's list)
#   DIR/cluster-secret (0600), DIR/logs/*.log
# Datanodes are spread round-robin over zones z1..zN and keep their port and
# zone across restart-datanode (so their address is unchanged); --blank
# empties the datanode's data directory first (a replaced disk: it comes back
# with a new id, written to DIR/datanodes). restart-datanode stops the
# datanode first if it still runs. down stops every recorded process
# (SIGTERM, SIGKILL after 10 s) and may be run any number of times; the data
# stays in DIR. up refuses a DIR where a cluster runs and a non-empty DIR it
# did not make; a DIR of a stopped cluster is emptied and used again. When up
# fails half-way it stops what it started and exits 1 with the reason (logs
# stay in DIR/logs).
#
# Environment: KURA (the kura binary; else build/gateway/kura of this
# repository, else kura on PATH), KURA_SERVE_ARGS (extra flags for every
# gateway, split on white space), KURA_DATANODE_ARGS (the same for every
# datanode), KURA_CLUSTER_TIMEOUT (seconds to wait for the processes to
# answer, default 60), KURA_REDIS_FSYNC=everysec (as redis-local.sh: Redis
# with appendfsync everysec and durability=relaxed in KURA_META).
set -u
prog=local-cluster.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=deploy/redis-lib.sh
. "$here/redis-lib.sh"
redis_launch=(setsid) # the servers outlive this script
pids=()
timeout=${KURA_CLUSTER_TIMEOUT:-60}

usage() {
    cat >&2 <<EOF
usage: $prog up DIR [--datanodes N] [--zones N] [--gateways N]
       $prog restart-datanode DIR ID [--blank]
       $prog down DIR
EOF
    exit 2
}
die() {
    echo "$prog: $*" >&2
    exit 1
}

find_kura() {
    if [ -n "${KURA:-}" ]; then
        kura=$KURA
    elif [ -x "$here/../build/gateway/kura" ]; then
        kura=$here/../build/gateway/kura
    else
        kura=$(command -v kura) ||
            die "no kura binary: set KURA, build this repository (meson setup build && ninja -C build) or put kura on PATH"
    fi
    [ -x "$kura" ] || die "$kura is not an executable"
    kura=$(cd "$(dirname "$kura")" && pwd -P)/$(basename "$kura")
}

set_dir() { # DIR: sets dir (absolute, must exist unless $2 = new)
    [ -n "$1" ] || usage
    if [ "${2:-}" = new ]; then
        mkdir -p "$1" || die "cannot create $1"
    fi
    [ -d "$1" ] || die "no directory $1"
    dir=$(cd "$1" && pwd -P)
}

# A pid of ours that still runs: alive, not a zombie, and started for this
# DIR (its command line names a path under it, or, for redis-server, which
# rewrites its command line, its working directory is under it), so a pid
# the system reused for another process is never signalled.
is_ours() { # pid
    local cmd cwd
    [ -n "$1" ] && [ -r "/proc/$1/cmdline" ] || return 1
    cmd=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null)
    case "$cmd" in *"$dir/"*) return 0 ;; esac
    cwd=$(readlink "/proc/$1/cwd" 2>/dev/null) || return 1
    case "$cwd/" in "$dir/"?*) [ -n "$cmd" ] && return 0 ;; esac
    return 1
}

# SIGTERM, wait up to 10 s, then SIGKILL; returns once none runs.
stop_pids() { # pid...
    local p left t
    for p in "$@"; do is_ours "$p" && kill -TERM "$p" 2>/dev/null; done
    for t in $(seq 150); do
        left=()
        for p in "$@"; do is_ours "$p" && left+=("$p"); done
        [ ${#left[@]} -eq 0 ] && return 0
        if [ "$t" -eq 100 ]; then
            echo "$prog: still running after 10 s, SIGKILL: ${left[*]}" >&2
            kill -KILL "${left[@]}" 2>/dev/null
        fi
        sleep 0.1
    done
    echo "$prog: could not stop: ${left[*]}" >&2
    return 1
}

running_pids() { # the recorded pids of DIR that still run
    local role p
    [ -f "$dir/pids" ] || return 0
    while read -r role p; do
        [ -n "$p" ] && is_ours "$p" && echo "$role $p"
    done <"$dir/pids"
}

record_pid() { # role pid
    echo "$1 $2" >>"$dir/pids"
}

http_status() { # url: the HTTP status, 000 without an answer
    curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" 2>/dev/null || true
}

port_listens() { # port
    (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# The ID of the datanode listening on ADDRESS if `kura datanode list` shows
# it up under ID with a heartbeat younger than MAXAGE ms (so not the record
# a killed process left behind); empty otherwise.
datanode_up() { # address id maxage
    "$kura" datanode list --meta "$meta" 2>/dev/null |
        awk -v a="$1" -v id="$2" -v age="$3" '$5 == a && $2 == "up" && $1 == id && $8 <= age { print $1; exit }'
}

datanode_id() { # datadir
    local id
    id=$(head -c 16 "$1/datanode.id" 2>/dev/null) || return 1
    [[ $id =~ ^[0-9a-f]{16}$ ]] || return 1
    echo "$id"
}

tail_log() { # log
    echo "---- last lines of $1:" >&2
    tail -n 15 "$1" >&2 2>/dev/null
}

# Starts a datanode in the background; sets started_pid.
start_datanode() { # port zone datadir log
    mkdir -p "$3"
    setsid "$kura" datanode --listen "127.0.0.1:$1" --zone "$2" --data "$3" \
        --secret-file "$dir/cluster-secret" --meta "$meta" "${datanode_args[@]}" \
        </dev/null >>"$4" 2>&1 &
    started_pid=$!
    disown "$started_pid"
    pids+=("$started_pid")
    record_pid datanode "$started_pid"
}

# Waits until the datanode on PORT accepts connections (no HTTP request: it
# would log a refused unsigned request) and is registered up under
# the id in its data directory with a heartbeat sent since it started; sets
# started_id. Fails (with its log) if it exits.
await_datanode() { # port pid datadir log
    local t0 t0ms id
    t0=$(date +%s)
    t0ms=$(date +%s%3N)
    while [ $(($(date +%s) - t0)) -lt "$timeout" ]; do
        # (kill -0, not is_ours: until its exec the child is still this
        # script's subshell, whose command line does not name DIR)
        kill -0 "$2" 2>/dev/null || { echo "$prog: datanode on port $1 exited" >&2; tail_log "$4"; return 1; }
        if port_listens "$1" && id=$(datanode_id "$3") &&
            [ -n "$(datanode_up "127.0.0.1:$1" "$id" $(($(date +%s%3N) - t0ms)))" ]; then
            started_id=$id
            return 0
        fi
        sleep 0.2
    done
    echo "$prog: datanode on port $1 not registered up after ${timeout} s (KURA_CLUSTER_TIMEOUT)" >&2
    tail_log "$4"
    return 1
}

load_env() {
    [ -f "$dir/cluster.env" ] || die "$dir holds no cluster (no cluster.env): run '$prog up $dir' first"
    meta=$(sed -n "s/^KURA_META='\(.*\)'$/\1/p" "$dir/cluster.env")
    [ -n "$meta" ] || die "$dir/cluster.env has no KURA_META"
}

split_env_args() { # name: the words of $name into the array args_out
    args_out=()
    read -r -a args_out <<<"${!1:-}"
}

cmd_up() {
    local ndn=9 nzones=3 ngw=2 i port adminport zone dd log pid t0 region s
    [ $# -ge 1 ] || usage
    local d=$1
    shift
    while [ $# -gt 0 ]; do
        case "$1" in
        --datanodes | --zones | --gateways)
            if [ $# -lt 2 ] || ! [[ $2 =~ ^[1-9][0-9]*$ ]]; then die "$1 wants a positive number"; fi
            case "$1" in
            --datanodes) ndn=$2 ;;
            --zones) nzones=$2 ;;
            --gateways) ngw=$2 ;;
            esac
            shift 2
            ;;
        *) usage ;;
        esac
    done
    command -v redis-server >/dev/null || die "redis-server missing (apt-get install redis-server)"
    command -v curl >/dev/null || die "curl missing"
    find_kura
    set_dir "$d" new
    local running
    running=$(running_pids)
    [ -z "$running" ] || die "a cluster runs in $dir (pids $(echo "$running" | awk '{print $2}' | xargs)): '$prog down $dir' first"
    if [ -n "$(ls -A "$dir")" ]; then
        [ -f "$dir/.kura-local-cluster" ] ||
            die "$dir is not empty and was not made by $prog: give an empty or new directory"
        # a stopped cluster of ours: throw-away data, start afresh
        find "$dir" -mindepth 1 -delete || die "cannot empty $dir"
    fi
    [ "$ndn" -ge 3 ] || echo "$prog: warning: $ndn datanodes: gateways store 3 replicas on 3 datanodes (writes fail unless KURA_SERVE_ARGS has --replicas $ndn)" >&2
    split_env_args KURA_SERVE_ARGS
    local serve_args=("${args_out[@]}")
    split_env_args KURA_DATANODE_ARGS
    datanode_args=("${args_out[@]}")
    region=us-east-1
    for ((i = 0; i < ${#serve_args[@]}; i++)); do
        case "${serve_args[$i]}" in
        --region) region=${serve_args[$((i + 1))]:-$region} ;;
        --region=*) region=${serve_args[$i]#--region=} ;;
        esac
    done

    touch "$dir/.kura-local-cluster"
    mkdir -p "$dir/logs"
    : >"$dir/pids"
    echo "$kura" >"$dir/kura-path"
    up_ok=0
    trap 'up_cleanup' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM HUP

    (umask 077 && LC_ALL=C tr -dc 'a-f0-9' </dev/urandom | head -c 64 >"$dir/cluster-secret" &&
        echo >>"$dir/cluster-secret") || die "cannot write $dir/cluster-secret"
    local access secret
    access=$(LC_ALL=C tr -dc 'A-Z0-9' </dev/urandom | head -c 20)
    secret=$(LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 40)

    # Metadata: a Redis Cluster of 3 masters + 3 replicas.
    fsync=${KURA_REDIS_FSYNC:-always}
    local url_opts=""
    case "$fsync" in
    always) ;;
    everysec) url_opts="?durability=relaxed" ;;
    *) die "KURA_REDIS_FSYNC must be always or everysec" ;;
    esac
    local rports=()
    for i in 1 2 3 4 5 6; do
        launch_redis "$dir/redis/node$i" "$dir/logs/redis-$i.log" "${redis_cluster_args[@]}" ||
            die "Redis node $i did not start"
        rports+=("$launched_port")
        record_pid redis "$launched_pid"
        echo "$launched_port $launched_pid $dir/redis/node$i" >>"$dir/redis-nodes"
    done
    create_redis_cluster "$dir/logs/redis-cluster-create.log" "${rports[@]}" ||
        die "the Redis Cluster did not form (see $dir/logs/redis-cluster-create.log)"
    meta="redis-cluster://127.0.0.1:${rports[0]},127.0.0.1:${rports[1]},127.0.0.1:${rports[2]}$url_opts"
    echo "$prog: Redis Cluster up: $meta"

    # Datanodes: all started, then awaited. A datanode that exits at once
    # (its port taken since free_port) is started again on another port.
    local dports=() dpids=() ddirs=() dzones=() dlogs=()
    for ((i = 1; i <= ndn; i++)); do
        zone=z$(((i - 1) % nzones + 1))
        dd=$dir/dn$i
        log=$dir/logs/dn$i.log
        port=$(free_port)
        start_datanode "$port" "$zone" "$dd" "$log"
        dports+=("$port") dpids+=("$started_pid") ddirs+=("$dd") dzones+=("$zone") dlogs+=("$log")
    done
    : >"$dir/datanodes.new"
    for ((i = 0; i < ndn; i++)); do
        local tries=0
        until await_datanode "${dports[$i]}" "${dpids[$i]}" "${ddirs[$i]}" "${dlogs[$i]}"; do
            tries=$((tries + 1))
            is_ours "${dpids[$i]}" && die "datanode $((i + 1)) did not come up"
            if [ $tries -ge 5 ] || ! grep -q -i 'in use\|bind' "${dlogs[$i]}"; then
                die "datanode $((i + 1)) failed to start"
            fi
            echo "$prog: port ${dports[$i]} taken, datanode $((i + 1)) tries another" >&2
            dports[i]=$(free_port)
            start_datanode "${dports[$i]}" "${dzones[$i]}" "${ddirs[$i]}" "${dlogs[$i]}"
            dpids[i]=$started_pid
        done
        echo "$started_id ${dzones[$i]} http://127.0.0.1:${dports[$i]} ${dpids[$i]} ${ddirs[$i]}" \
            >>"$dir/datanodes.new"
    done
    mv "$dir/datanodes.new" "$dir/datanodes"
    echo "$prog: $ndn datanodes up in $nzones zones"

    # Gateways.
    local gws=()
    : >"$dir/gateways"
    for ((i = 1; i <= ngw; i++)); do
        dd=$dir/gw$i
        log=$dir/logs/gw$i.log
        mkdir -p "$dd"
        local ok=0
        for _ in 1 2 3 4 5; do
            port=$(free_port)
            adminport=$(free_port)
            [ "$port" != "$adminport" ] || continue
            KURA_ROOT_ACCESS_KEY=$access KURA_ROOT_SECRET_KEY=$secret \
                setsid "$kura" serve --listen "127.0.0.1:$port" --admin-listen "127.0.0.1:$adminport" \
                --data "$dd" --meta "$meta" --datanodes-from-meta \
                --cluster-secret-file "$dir/cluster-secret" "${serve_args[@]}" \
                </dev/null >>"$log" 2>&1 &
            pid=$!
            disown "$pid"
            pids+=("$pid")
            record_pid gateway "$pid"
            t0=$(date +%s)
            while [ $(($(date +%s) - t0)) -lt "$timeout" ]; do
                kill -0 "$pid" 2>/dev/null || break # exited (see await_datanode)
                s=$(http_status "http://127.0.0.1:$port/")
                if [ "$s" != 000 ]; then
                    ok=1
                    break
                fi
                sleep 0.2
            done
            [ $ok = 1 ] && break
            if is_ours "$pid"; then
                tail_log "$log"
                die "gateway $i does not answer on port $port after ${timeout} s (KURA_CLUSTER_TIMEOUT)"
            fi
            grep -q -i 'in use\|bind' "$log" || { tail_log "$log"; die "gateway $i exited"; }
            echo "$prog: a port of gateway $i was taken, trying others" >&2
        done
        [ $ok = 1 ] || { tail_log "$log"; die "gateway $i did not start"; }
        gws+=("http://127.0.0.1:$port")
        echo "http://127.0.0.1:$port http://127.0.0.1:$adminport $pid $dd" >>"$dir/gateways"
    done

    (
        umask 077
        cat >"$dir/cluster.env" <<EOF
KURA_GATEWAYS='${gws[*]}'
KURA_META='$meta'
AWS_ACCESS_KEY_ID='$access'
AWS_SECRET_ACCESS_KEY='$secret'
AWS_DEFAULT_REGION='$region'
KURA_CLUSTER_SECRET_FILE='$dir/cluster-secret'
EOF
    ) || die "cannot write $dir/cluster.env"
    up_ok=1
    echo "$prog: cluster up in $dir: $ngw gateways (${gws[*]}), $ndn datanodes; settings in $dir/cluster.env"
}

up_cleanup() {
    [ "${up_ok:-0}" = 1 ] && return
    if [ ${#pids[@]} -gt 0 ]; then
        echo "$prog: up failed: stopping the ${#pids[@]} processes it started (logs in $dir/logs)" >&2
        stop_pids "${pids[@]}"
    fi
    rm -f "$dir/cluster.env" "$dir/datanodes.new"
    exit 1
}

cmd_restart_datanode() {
    [ $# -ge 2 ] || usage
    local d=$1 id=$2 blank=0 line oid zone url opid dd port log
    shift 2
    case "${1:-}" in
    --blank) blank=1 ;;
    "") ;;
    *) usage ;;
    esac
    set_dir "$d"
    load_env
    if [ -n "${KURA:-}" ]; then find_kura; else
        kura=$(cat "$dir/kura-path" 2>/dev/null)
        [ -x "$kura" ] || find_kura
    fi
    line=$(awk -v id="$id" '$1 == id' "$dir/datanodes" 2>/dev/null)
    [ -n "$line" ] || die "no datanode $id in $dir/datanodes (ids: $(awk '{print $1}' "$dir/datanodes" 2>/dev/null | xargs))"
    read -r oid zone url opid dd <<<"$line"
    port=${url##*:}
    log=$dir/logs/$(basename "$dd").log
    datanode_args=()
    split_env_args KURA_DATANODE_ARGS
    datanode_args=("${args_out[@]}")
    if is_ours "$opid"; then
        echo "$prog: datanode $oid (pid $opid) still runs: stopping it"
        stop_pids "$opid" || die "cannot stop datanode $oid"
    fi
    if [ $blank = 1 ]; then
        case "$dd" in "$dir"/*) ;; *) die "data directory $dd is not under $dir" ;; esac
        rm -rf "$dd" || die "cannot empty $dd"
        echo "$prog: emptied $dd"
    fi
    echo "---- $(date -u +%FT%TZ) restart-datanode$([ $blank = 1 ] && echo ' --blank')" >>"$log"
    start_datanode "$port" "$zone" "$dd" "$log"
    await_datanode "$port" "$started_pid" "$dd" "$log" || {
        stop_pids "$started_pid"
        die "datanode $oid did not come back on port $port"
    }
    if ! awk -v id="$oid" -v new="$started_id $zone $url $started_pid $dd" \
        '$1 == id { print new; next } { print }' "$dir/datanodes" >"$dir/datanodes.new" ||
        ! mv "$dir/datanodes.new" "$dir/datanodes"; then
        die "cannot update $dir/datanodes"
    fi
    echo "$prog: datanode $started_id up at $url (zone $zone, pid $started_pid)$([ "$started_id" != "$oid" ] && echo ", was $oid")"
}

cmd_down() {
    [ $# -eq 1 ] || usage
    set_dir "$1"
    [ -f "$dir/.kura-local-cluster" ] || [ -f "$dir/pids" ] || die "$dir holds no cluster made by $prog"
    local role r p n=0
    # gateways first, then datanodes (they mark themselves down), then Redis
    for role in gateway datanode redis; do
        local these=()
        while read -r r p; do
            [ "$r" = "$role" ] && these+=("$p")
        done < <(running_pids)
        [ ${#these[@]} -eq 0 ] && continue
        n=$((n + ${#these[@]}))
        stop_pids "${these[@]}" || die "some processes would not stop: ${these[*]}"
    done
    if [ $n -eq 0 ]; then
        echo "$prog: nothing runs in $dir"
    else
        echo "$prog: stopped $n processes in $dir (data kept; 'up' on it starts afresh)"
    fi
}

[ $# -ge 2 ] || usage
cmd=$1
shift
case "$cmd" in
up) cmd_up "$@" ;;
restart-datanode) cmd_restart_datanode "$@" ;;
down) cmd_down "$@" ;;
*) usage ;;
esac
