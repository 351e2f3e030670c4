#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Starts N `kura datanode` processes on loopback, registered in the Redis of
# KURA_META_URL, and runs a command against them, always stopping them
# afterwards. Meant to run inside deploy/redis-local.sh (which sets
# KURA_META_URL and KURA_IT_SERVE_ARGS), so that the integration tests keep
# their object data on real datanodes:
#
#   deploy/redis-local.sh shards deploy/datanodes-local.sh 4 CMD...
#
# The datanodes are spread round-robin over zones z1, z2, z3, share a random
# cluster secret (a 0600 file) and register under their own --meta-prefix;
# the command starts once `kura datanode list` shows all N up. CMD runs with
#   KURA_IT_SERVE_ARGS   extended by --meta-prefix P --datanodes-from-meta
#                        --cluster-secret-file F (the --meta already there is
#                        kept): every `kura serve` the test harness starts
#                        keeps its objects as 3 replicas over chunksets of 3
#                        of these datanodes. The harness then uses that
#                        prefix instead of one of its own per server (a
#                        gateway sees only the datanodes registered under its
#                        prefix), so the servers of one run share metadata.
#   KURA_IT_DATANODES    N (tests skip the checks that need a local volume)
#   KURA_DATANODES_DIR   the datanodes' directory (DIR/dnI/, DIR/dnI.log)
#   KURA_META_PREFIX, KURA_CLUSTER_SECRET_FILE
# The kura binary is $KURA, else build/gateway/kura of this repository,
# else kura on PATH. KURA_IT_KEEP=1 keeps the directory (logs) afterwards.
set -u
prog=datanodes-local.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=deploy/redis-lib.sh
. "$here/redis-lib.sh"

n=${1:-}
if ! [[ $n =~ ^[1-9][0-9]*$ ]] || [ $# -lt 2 ]; then
    echo "usage: $prog N CMD..." >&2
    exit 2
fi
shift
[ -n "${KURA_META_URL:-}" ] || { echo "$prog: no KURA_META_URL: run it inside deploy/redis-local.sh" >&2; exit 2; }
if [ -n "${KURA:-}" ]; then
    kura=$KURA
elif [ -x "$here/../build/gateway/kura" ]; then
    kura=$here/../build/gateway/kura
else
    kura=$(command -v kura) || { echo "$prog: no kura binary: set KURA" >&2; exit 1; }
fi
[ -x "$kura" ] || { echo "$prog: $kura is not an executable" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kura-dn.XXXXXX") || exit 1
prefix="$tmp:"
secret_file=$tmp/cluster-secret
(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$secret_file") || exit 1
dn_pids=()

# A pid of ours that still runs: its command line names our directory.
ours() { # pid
    case "$({ tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null)" in *"$tmp/"*) return 0 ;; esac
    return 1
}
cleanup() {
    local p t left
    for p in "${dn_pids[@]}"; do ours "$p" && kill -TERM "$p" 2>/dev/null; done
    for t in $(seq 100); do
        left=0
        for p in "${dn_pids[@]}"; do ours "$p" && left=1; done
        [ $left = 0 ] && break
        [ "$t" = 100 ] && for p in "${dn_pids[@]}"; do ours "$p" && kill -KILL "$p" 2>/dev/null; done
        sleep 0.1
    done
    if [ "${KURA_IT_KEEP:-0}" = 1 ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# Starts datanode I on a free port and waits until it accepts connections;
# when it exits at once (another process took the port: test runs share
# the machine) it tries again on another port.
launch_datanode() { # i
    local i=$1 port pid t0
    mkdir -p "$tmp/dn$i"
    for _ in $(seq 10); do
        port=$(free_port)
        setpriv --pdeathsig KILL -- "$kura" datanode --listen "127.0.0.1:$port" \
            --data "$tmp/dn$i" --zone "z$(((i - 1) % 3 + 1))" --secret-file "$secret_file" \
            --meta "$KURA_META_URL" --meta-prefix "$prefix" </dev/null >>"$tmp/dn$i.log" 2>&1 &
        pid=$!
        dn_pids+=("$pid")
        t0=$(date +%s)
        while [ $(($(date +%s) - t0)) -lt 60 ]; do
            (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
            kill -0 "$pid" 2>/dev/null || break # exited: port taken, try another
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null
    done
    echo "$prog: datanode $i did not start (see $tmp/dn$i.log):" >&2
    tail -n 15 "$tmp/dn$i.log" >&2
    return 1
}

for i in $(seq "$n"); do launch_datanode "$i" || exit 1; done
t0=$(date +%s)
until [ "$("$kura" datanode list --meta "$KURA_META_URL" --meta-prefix "$prefix" 2>/dev/null |
    awk '$2 == "up"' | wc -l)" -ge "$n" ]; do
    if [ $(($(date +%s) - t0)) -ge 60 ]; then
        echo "$prog: $n datanodes not all registered up after 60 s:" >&2
        "$kura" datanode list --meta "$KURA_META_URL" --meta-prefix "$prefix" >&2
        exit 1
    fi
    sleep 0.2
done

export KURA_IT_DATANODES=$n
export KURA_DATANODES_DIR=$tmp
export KURA_META_PREFIX=$prefix
export KURA_CLUSTER_SECRET_FILE=$secret_file
export KURA_IT_SERVE_ARGS="${KURA_IT_SERVE_ARGS:---meta $KURA_META_URL} --meta-prefix $prefix --datanodes-from-meta --cluster-secret-file $secret_file"
"$@"
