#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Concurrency and crash proof of the radix tree on Redis (issue 3).
#
# usage: radix_redis_stress.sh RADIX_STRESS_EXE [shards|cluster|crash|all]
#
#   shards   3 independent redis-servers (AOF on). 8 writer processes insert
#            $SHARD_KEYS (200,000) keys into overlapping prefixes while 2
#            lister processes list (order, uniqueness, every acked key
#            present); then the final listing with pages of 1000, pages of 7
#            and the '/' delimiter walk each equal `LC_ALL=C sort -u` of the
#            ack logs.
#   cluster  the same against a Redis Cluster of 3 masters + 3 replicas,
#            $CLUSTER_KEYS (50,000) keys.
#   crash    3 shards, $CRASH_KEYS (30,000) keys; 8 writers with fault
#            injection (every $CRASH_FAULT_EVERY-th (3rd) split of each dies
#            between child and parent write) while a killer SIGKILLs a random
#            writer every ~0.3 s and restarts it on its share. Afterwards:
#            every acked key is listed exactly once, nothing is listed that
#            was never attempted. Then one writer adds $DANGLE_KEYS (3,000)
#            new keys with every split dying between its two writes (key
#            given up), leaving stale intents and dangling children; a second
#            pass of 8 writers over all keys (no faults, no kills) must repair
#            them (repairs > 0) and leave the listing equal to the keyspace.
#
# Environment: SHARD_KEYS, CLUSTER_KEYS, CRASH_KEYS, CRASH_FAULT_EVERY,
# DANGLE_KEYS, WRITERS (8), LISTERS (2), STRESS_LIMIT_S (whole-run limit, 600),
# KURA_KEEP_STRESS_DIR=1 keeps the temp dir (logs, ack logs, listings),
# STRESS_TOLERATE_SPLIT_RACES=1 turns K_ECONFLICT / K_EINTERNAL from
# radix_insert (known races of splits across processes, retried by the
# writers) into warnings.
#
# Every process this script starts is a child of it, recorded by pid, and
# started under `setpriv --pdeathsig KILL`, so none outlives the script even
# if it is SIGKILLed; the EXIT trap kills the recorded pids that are still
# children of this shell and removes the temp dir.
set -u

if [ -z "${RADIX_STRESS_INNER:-}" ]; then
    # the whole run has a hard limit; TERM first so the trap cleans up. The
    # run also gets TERM if timeout itself is killed (setpriv --pdeathsig).
    RADIX_STRESS_INNER=1 exec timeout -k 10 "${STRESS_LIMIT_S:-600}" \
        setpriv --pdeathsig TERM bash "$0" "$@"
fi

EXE=${1:?usage: radix_redis_stress.sh RADIX_STRESS_EXE [shards|cluster|crash|all]}
MODE=${2:-all}
case "$EXE" in /*) ;; *) EXE="$PWD/$EXE" ;; esac
[ -x "$EXE" ] || { echo "not executable: $EXE" >&2; exit 2; }
case "$MODE" in shards | cluster | crash | all) ;; *) echo "unknown mode $MODE" >&2; exit 2 ;; esac
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    echo "redis-server/redis-cli not installed: skipped" >&2
    exit 77
fi

WRITERS=${WRITERS:-8}
LISTERS=${LISTERS:-2}
SHARD_KEYS=${SHARD_KEYS:-200000}
CLUSTER_KEYS=${CLUSTER_KEYS:-50000}
CRASH_KEYS=${CRASH_KEYS:-30000}
CRASH_FAULT_EVERY=${CRASH_FAULT_EVERY:-3}
DANGLE_KEYS=${DANGLE_KEYS:-3000}
export LC_ALL=C
export KURA_LOG=${KURA_LOG:-error}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kura-radix-stress.XXXXXX") || exit 2
REDIS_PIDS=()
CHILD_PIDS=()
FAILS=0

# Our child still (pids of reaped children may have been reused by others)
my_child() { [ "$(awk '/^PPid:/ { print $2 }' "/proc/$1/status" 2>/dev/null)" = "$$" ]; }

cleanup() {
    local p
    # no "Killed" job notices for the processes stopped here
    exec 3>&2 2>/dev/null
    for p in "${CHILD_PIDS[@]}" "${REDIS_PIDS[@]}"; do
        my_child "$p" && kill -9 "$p"
    done
    wait
    if [ "${KURA_KEEP_STRESS_DIR:-0}" = 1 ]; then
        echo "radix_redis_stress: kept $tmp" >&3
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }'; }
fail() {
    echo "FAIL: $*" >&2
    FAILS=$((FAILS + 1))
}
note() { echo "== $*"; }

# ---- redis-servers -----------------------------------------------------------

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_redis NAME [cluster]: sets R_PORT of a server answering
# PING (never call it in $(...): the server must be a child of this shell)
start_redis() {
    local name=$1 cluster=${2:-} port dir pid i
    for _ in 1 2 3 4 5 6 7 8; do
        # below the ephemeral range, and so is the cluster bus (+10000)
        port=$((11000 + RANDOM % 11000))
        port_busy "$port" && continue
        port_busy $((port + 10000)) && continue
        dir="$tmp/$name-$port"
        mkdir -p "$dir"
        # AOF everysec, not the fsync per write kura's strict default
        # demands: this test kills writer processes, never a redis-server,
        # so Redis durability is not what it checks; the URLs below say
        # durability=relaxed so kura accepts these servers.
        local args=(--port "$port" --bind 127.0.0.1 --save "" --appendonly yes
            --appendfsync everysec --dir "$dir" --daemonize no --logfile "$dir/redis.log")
        if [ -n "$cluster" ]; then
            args+=(--cluster-enabled yes --cluster-config-file nodes.conf
                --cluster-node-timeout 3000 --repl-diskless-sync-delay 0
                --repl-ping-replica-period 1)
        fi
        setpriv --pdeathsig KILL redis-server "${args[@]}" </dev/null >/dev/null 2>&1 &
        pid=$!
        REDIS_PIDS+=("$pid")
        for i in $(seq 1 200); do
            if ! kill -0 "$pid" 2>/dev/null; then break; fi
            if [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ]; then
                R_PORT=$port
                return 0
            fi
            sleep 0.05
        done
        my_child "$pid" && kill -9 "$pid" 2>/dev/null
    done
    echo "redis-server $name did not start" >&2
    return 1
}

SHARD_PORTS=()
start_shards() {
    [ ${#SHARD_PORTS[@]} -gt 0 ] && return 0
    local i
    for i in 0 1 2; do
        start_redis shard || return 1
        SHARD_PORTS+=("$R_PORT")
    done
    SHARD_URL="redis://127.0.0.1:${SHARD_PORTS[0]},127.0.0.1:${SHARD_PORTS[1]},127.0.0.1:${SHARD_PORTS[2]}?durability=relaxed"
    note "3 shards: $SHARD_URL"
}

CLUSTER_PORTS=()
start_cluster() {
    local i t0 p ok
    t0=$(now)
    for i in 0 1 2 3 4 5; do
        start_redis cluster cluster || return 1
        CLUSTER_PORTS+=("$R_PORT")
    done
    local addrs=()
    for p in "${CLUSTER_PORTS[@]}"; do addrs+=("127.0.0.1:$p"); done
    if ! timeout 60 redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 \
        --cluster-yes >"$tmp/cluster-create.log" 2>&1; then
        echo "redis-cli --cluster create failed:" >&2
        tail -n 20 "$tmp/cluster-create.log" >&2
        return 1
    fi
    # converged: every node says ok and every replica's link is up
    for i in $(seq 1 300); do
        ok=1
        for p in "${CLUSTER_PORTS[@]}"; do
            local info
            info=$(redis-cli -p "$p" cluster info 2>/dev/null)
            case "$info" in *cluster_state:ok*) ;; *) ok=0 ;; esac
            info=$(redis-cli -p "$p" info replication 2>/dev/null)
            case "$info" in *role:slave*)
                case "$info" in *master_link_status:up*) ;; *) ok=0 ;; esac ;;
            esac
        done
        [ $ok = 1 ] && break
        sleep 0.1
    done
    if [ $ok != 1 ]; then
        echo "cluster did not converge within 30 s" >&2
        return 1
    fi
    CLUSTER_URL="redis-cluster://127.0.0.1:${CLUSTER_PORTS[0]},127.0.0.1:${CLUSTER_PORTS[3]}?durability=relaxed"
    note "cluster 3+3 ready in $(elapsed "$t0") s: $CLUSTER_URL"
}

# ---- writers, listers, checks -------------------------------------------------

# spawn_writer DIR URL NS I KEYS [extra args...]: starts writer I, sets W_PID
# (not in $(...): the writer must be a child of this shell)
spawn_writer() {
    local dir=$1 url=$2 ns=$3 i=$4 keys=$5
    shift 5
    setpriv --pdeathsig KILL "$EXE" insert --meta "$url" --ns "$ns" --writer "$i" \
        --writers "$WRITERS" --keys "$keys" --ack-log "$dir/w$i.ack" \
        --try-log "$dir/w$i.try" "$@" </dev/null >/dev/null 2>>"$dir/w$i.log" &
    W_PID=$!
    CHILD_PIDS+=("$W_PID")
}

start_listers() {
    local dir=$1 url=$2 ns=$3 i
    LISTER_PIDS=()
    rm -f "$dir/stop"
    for i in $(seq 1 "$LISTERS"); do
        setpriv --pdeathsig KILL "$EXE" lister --meta "$url" --ns "$ns" --seconds 400 \
            --ack-dir "$dir" --stop-file "$dir/stop" </dev/null >/dev/null \
            2>"$dir/lister$i.log" &
        LISTER_PIDS+=($!)
        CHILD_PIDS+=($!)
    done
}

stop_listers() {
    local dir=$1 p i=0 rc
    touch "$dir/stop"
    for p in "${LISTER_PIDS[@]}"; do
        i=$((i + 1))
        wait "$p"
        rc=$?
        grep -h '^radix_stress lister\|VIOLATION\|failed' "$dir/lister$i.log" | sed 's/^/   /'
        [ $rc = 0 ] || fail "lister $i exited $rc (see above)"
    done
}

# summary of the writers' last lines: total inserted, faults, splits, repairs
writer_totals() {
    grep -h '^radix_stress insert' "$@" | awk '
        { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] += kv[2] } }
        END { printf "inserted=%d faults=%d conflicts=%d internal=%d splits=%d repairs=%d node_reads=%d root_reads=%d node_writes=%d",
              v["inserted"], v["faults"], v["conflicts"], v["internal"], v["splits"], v["repairs"],
              v["node_reads"], v["root_reads"], v["node_writes"] }'
}

# check_races LABEL LOGS...: radix_insert must never return K_ECONFLICT or
# K_EINTERNAL (the writers count and retry them)
check_races() {
    local label=$1 what n
    shift
    for what in conflicts:K_ECONFLICT internal:K_EINTERNAL; do
        n=$(grep -h '^radix_stress insert' "$@" | grep -o " ${what%:*}=[0-9]*" |
            awk -F= '{ s += $2 } END { print s + 0 }')
        [ "$n" = 0 ] && continue
        if [ "${STRESS_TOLERATE_SPLIT_RACES:-0}" = 1 ]; then
            echo "   WARNING: $label: radix_insert returned ${what#*:} $n times (retried)"
        else
            fail "$label: radix_insert returned ${what#*:} $n times (not in its contract;" \
                "retried, so the other checks still ran)"
        fi
    done
}

# final_listings DIR URL NS EXPECTED_FILE LABEL: the listing with pages of
# 1000, pages of 7 and the '/' walk must each equal EXPECTED_FILE
final_listings() {
    local dir=$1 url=$2 ns=$3 expected=$4 label=$5 args name t0 n rc
    for args in "1000" "7" "1000 /"; do
        # shellcheck disable=SC2086 # split "PAGE [DELIM]" on purpose
        set -- $args
        name="list-p$1${2:+-delim}"
        t0=$(now)
        timeout -k 5 120 "$EXE" list --meta "$url" --ns "$ns" --page "$1" ${2:+--delim "$2"} \
            >"$dir/$name.out" 2>"$dir/$name.log"
        rc=$?
        n=$(wc -l <"$dir/$name.out")
        echo "   $label listing page=$1 delim=${2:--}: $n names in $(elapsed "$t0") s" \
            "($(grep -o 'calls=[0-9]*' "$dir/$name.log"))"
        grep -h 'VIOLATION\|failed' "$dir/$name.log" | head -5 | sed 's/^/   /'
        [ $rc = 0 ] || fail "$label: list page=$1 delim=${2:--} exited $rc"
        local dups
        dups=$(uniq -d "$dir/$name.out" | wc -l)
        [ "$dups" = 0 ] || fail "$label: $dups duplicate names in listing page=$1"
        if ! cmp -s "$dir/$name.out" "$expected"; then
            fail "$label: listing page=$1 delim=${2:--} differs from the expected set:" \
                "$(comm -23 "$expected" "$dir/$name.out" | wc -l) missing," \
                "$(comm -13 "$expected" "$dir/$name.out" | wc -l) unexpected"
            comm -3 "$expected" "$dir/$name.out" | head -5 | sed 's/^/   diff: /' >&2
        fi
    done
}

# concurrency DIR URL NS KEYS LABEL
concurrency() {
    local dir=$1 url=$2 ns=$3 keys=$4 label=$5 i t0 dt rc pids=()
    mkdir -p "$dir"
    note "$label: $WRITERS writers insert $keys keys, $LISTERS listers run"
    start_listers "$dir" "$url" "$ns"
    t0=$(now)
    for i in $(seq 0 $((WRITERS - 1))); do
        spawn_writer "$dir" "$url" "$ns" "$i" "$keys"
        pids+=("$W_PID")
    done
    for i in "${!pids[@]}"; do
        wait "${pids[$i]}"
        rc=$?
        [ $rc = 0 ] || fail "$label: writer $i exited $rc: $(tail -n 3 "$dir/w$i.log")"
    done
    dt=$(elapsed "$t0")
    stop_listers "$dir"
    sort -u "$dir"/w*.ack >"$dir/expected"
    local acked
    acked=$(wc -l <"$dir/expected")
    echo "   $label inserts: $acked keys acked in $dt s = $(rate "$acked" "$dt") keys/s" \
        "($WRITERS processes; $(writer_totals "$dir"/w*.log))"
    check_races "$label" "$dir"/w*.log
    [ "$acked" = "$keys" ] || fail "$label: $acked keys acked, expected $keys"
    final_listings "$dir" "$url" "$ns" "$dir/expected" "$label"
}

# crash DIR URL NS KEYS
crash() {
    local dir=$1 url=$2 ns=$3 keys=$4 i t0 dt rc pids=() done_=() kills=0 restarts=0
    mkdir -p "$dir"
    note "crash: $WRITERS writers insert $keys keys, every $CRASH_FAULT_EVERY-th split of" \
        "each dies between its two writes, a random writer is SIGKILLed every ~0.3 s"
    start_listers "$dir" "$url" "$ns"
    t0=$(now)
    for i in $(seq 0 $((WRITERS - 1))); do
        spawn_writer "$dir" "$url" "$ns" "$i" "$keys" --fault-every "$CRASH_FAULT_EVERY"
        pids[i]=$W_PID
        done_[i]=0
    done
    local left=$WRITERS
    while [ "$left" -gt 0 ]; do
        sleep "0.$((15 + RANDOM % 30))"
        # reap finished writers
        for i in "${!pids[@]}"; do
            [ "${done_[$i]}" = 1 ] && continue
            if ! my_child "${pids[$i]}"; then
                wait "${pids[$i]}"
                rc=$?
                if [ $rc = 0 ]; then
                    done_[i]=1
                    left=$((left - 1))
                else # died on its own: a real failure, not our kill
                    fail "crash: writer $i exited $rc: $(tail -n 3 "$dir/w$i.log")"
                    done_[i]=1
                    left=$((left - 1))
                fi
            fi
        done
        [ "$left" -gt 0 ] || break
        # kill a random running writer and restart it on its share
        i=$((RANDOM % WRITERS))
        [ "${done_[$i]}" = 1 ] && continue
        if my_child "${pids[$i]}" && kill -9 "${pids[$i]}" 2>/dev/null; then
            wait "${pids[$i]}" 2>/dev/null
            kills=$((kills + 1))
            echo "radix_stress insert writer=$i killed" >>"$dir/w$i.log"
            spawn_writer "$dir" "$url" "$ns" "$i" "$keys" --fault-every "$CRASH_FAULT_EVERY"
            pids[i]=$W_PID
            restarts=$((restarts + 1))
        fi
    done
    dt=$(elapsed "$t0")
    stop_listers "$dir"
    sort -u "$dir"/w*.ack >"$dir/acked"
    sort -u "$dir"/w*.try >"$dir/tried"
    local acked tried
    acked=$(wc -l <"$dir/acked")
    tried=$(wc -l <"$dir/tried")
    echo "   crash pass 1: $acked keys acked ($tried attempted) in $dt s =" \
        "$(rate "$acked" "$dt") keys/s; $kills writers killed and restarted;" \
        "$(writer_totals "$dir"/w*.log)"
    check_races "crash pass 1" "$dir"/w*.log
    [ "$acked" = "$keys" ] || fail "crash: $acked keys acked, expected $keys"

    # every acked key listed exactly once, nothing listed that was never tried
    timeout -k 5 120 "$EXE" list --meta "$url" --ns "$ns" --page 1000 \
        >"$dir/after-crash.out" 2>"$dir/after-crash.log"
    rc=$?
    [ $rc = 0 ] || fail "crash: listing after the crashes exited $rc"
    grep -h '^radix_stress list' "$dir/after-crash.log" | sed 's/^/   after crashes: /'
    local n dups missing extra
    n=$(wc -l <"$dir/after-crash.out")
    dups=$(uniq -d "$dir/after-crash.out" | wc -l)
    missing=$(comm -23 "$dir/acked" "$dir/after-crash.out" | wc -l)
    extra=$(comm -13 "$dir/tried" "$dir/after-crash.out" | wc -l)
    echo "   after crashes: $n listed, $dups duplicates, $missing acked keys missing," \
        "$extra never-attempted keys listed"
    [ "$dups" = 0 ] || fail "crash: $dups duplicate names listed"
    [ "$missing" = 0 ] || fail "crash: $missing acked keys not listed"
    [ "$extra" = 0 ] || fail "crash: $extra listed keys were never attempted"

    # dangle: one more writer adds DANGLE_KEYS new keys with every split
    # dying between its two writes and the key given up (tried, not acked),
    # so the tree is left with stale intents and dangling children, and no
    # lister runs to clean them up
    local total=$((keys + DANGLE_KEYS)) dfaults
    timeout -k 5 120 "$EXE" insert --meta "$url" --ns "$ns" --writer 0 --writers 1 \
        --from "$keys" --keys "$total" --fault-every 1 --fault-skip \
        --ack-log "$dir/dangle.ack" --try-log "$dir/dangle.try" </dev/null 2>"$dir/dangle.log"
    rc=$?
    [ $rc = 0 ] || fail "crash: dangling writer exited $rc: $(tail -n 3 "$dir/dangle.log")"
    dfaults=$(grep -o ' faults=[0-9]*' "$dir/dangle.log" | tail -n 1 | cut -d= -f2)
    echo "   dangle: $(wc -l <"$dir/dangle.ack") of $DANGLE_KEYS new keys acked;" \
        "${dfaults:-0} splits died between their two writes (the last one of each node is left dangling)"

    # pass 2: every key again, no faults: repairs what was left dangling
    local dir2="$dir/pass2" repairs
    mkdir -p "$dir2"
    t0=$(now)
    pids=()
    for i in $(seq 0 $((WRITERS - 1))); do
        spawn_writer "$dir2" "$url" "$ns" "$i" "$total"
        pids+=("$W_PID")
    done
    for i in "${!pids[@]}"; do
        wait "${pids[$i]}"
        rc=$?
        [ $rc = 0 ] || fail "crash pass 2: writer $i exited $rc: $(tail -n 3 "$dir2/w$i.log")"
    done
    dt=$(elapsed "$t0")
    echo "   crash pass 2: $total keys inserted again in $dt s = $(rate "$total" "$dt") keys/s;" \
        "$(writer_totals "$dir2"/w*.log)"
    check_races "crash pass 2" "$dir2"/w*.log
    repairs=$(grep -h '^radix_stress insert' "$dir2"/w*.log | grep -o ' repairs=[0-9]*' |
        awk -F= '{ s += $2 } END { print s + 0 }')
    if [ "${dfaults:-0}" -gt 0 ] && [ "$repairs" = 0 ]; then
        fail "crash pass 2: ${dfaults} splits were left dangling but pass 2 repaired none"
    fi
    "$EXE" keys --keys "$total" | sort -u >"$dir/keyspace"
    final_listings "$dir" "$url" "$ns" "$dir/keyspace" "crash after pass 2"
}

T0=$(now)
if [ "$MODE" = shards ] || [ "$MODE" = all ]; then
    start_shards || exit 2
    concurrency "$tmp/shards" "$SHARD_URL" shards "$SHARD_KEYS" shards
fi
if [ "$MODE" = crash ] || [ "$MODE" = all ]; then
    start_shards || exit 2
    crash "$tmp/crash" "$SHARD_URL" crash "$CRASH_KEYS"
fi
if [ "$MODE" = cluster ] || [ "$MODE" = all ]; then
    start_cluster || exit 2
    concurrency "$tmp/cluster" "$CLUSTER_URL" cluster "$CLUSTER_KEYS" cluster
fi
note "$MODE: $FAILS failure(s) in $(elapsed "$T0") s"
[ $FAILS = 0 ]
