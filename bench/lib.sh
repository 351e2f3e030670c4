# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash disable=SC2034,SC2154  # sets and uses the caller's variables
# What cluster_bench.sh and large_bench.sh share (sourced, not run): start
# the embedded default or a local cluster, and time one `kura bench` run
# with the server CPU it cost.
#
# The caller sets `kura` (the binary) and `here` (the repository) and
# removes what it started (embedded_down, cluster_down) on exit.

bench_hz=$(getconf CLK_TCK)
emb_pid=

ticks() { # pids... -> summed utime+stime in clock ticks (exited pids count 0)
    local t=0 p f
    for p in "$@"; do
        f=$(cut -d' ' -f14,15 "/proc/$p/stat" 2>/dev/null) || continue
        t=$((t + ${f% *} + ${f#* }))
    done
    echo "$t"
}

# embedded_up DIR: `kura serve` (LMDB + one local volume) on a free port, data
# in DIR (emptied first); sets emb_pid and emb_ep; root pair bak / bsk.
embedded_up() {
    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    rm -rf "$1"
    KURA_ROOT_ACCESS_KEY=bak KURA_ROOT_SECRET_KEY=bsk "$kura" serve --listen "127.0.0.1:$port" \
        --data "$1" --admin-listen off >"$1.log" 2>&1 &
    emb_pid=$!
    emb_ep="http://127.0.0.1:$port"
    for _ in $(seq 50); do curl -s -o /dev/null "$emb_ep/" && break; sleep 0.1; done
}

embedded_down() {
    [ -n "$emb_pid" ] || return 0
    kill "$emb_pid" 2>/dev/null
    wait "$emb_pid" 2>/dev/null
    emb_pid=
}

# cluster_up DIR DATANODES: deploy/local-cluster.sh with DATANODES datanodes
# in 3 zones and 1 gateway (gateway flags from KURA_SERVE_ARGS); sets c_ep,
# c_ak, c_sk and the pid lists gw (gateway), dn (datanodes), rd (Redis).
cluster_up() {
    cluster_down "$1"
    rm -rf "$1"
    KURA="$kura" "$here/deploy/local-cluster.sh" up "$1" --datanodes "$2" --zones 3 \
        --gateways 1 >"$1.up.log" 2>&1 || { cat "$1.up.log"; return 1; }
    # shellcheck disable=SC1091
    . "$1/cluster.env"
    c_ep=${KURA_GATEWAYS%% *}
    c_ak=$AWS_ACCESS_KEY_ID
    c_sk=$AWS_SECRET_ACCESS_KEY
    gw=$(awk '{print $3}' "$1/gateways" | tr '\n' ' ')
    dn=$(awk '{print $4}' "$1/datanodes" | tr '\n' ' ')
    rd=$(awk '{print $2}' "$1/redis-nodes" | tr '\n' ' ')
}

cluster_down() {
    "$here/deploy/local-cluster.sh" down "$1" >/dev/null 2>&1
    return 0
}

run_header() {
    echo "| setup | kura bench args | result | server CPU/op | server CPU/MiB | Redis CPU/op | gateway max RSS | load |"
    echo "|---|---|---|---|---|---|---|---|"
}

# run NAME ENDPOINT AK SK "SERVER PIDS" "REDIS PIDS" BENCH-ARGS...
# Prints one markdown row: the rate, the server CPU (utime + stime of SERVER
# PIDS, e.g. gateway + datanodes) per operation and per MiB moved, Redis CPU
# per operation, the peak RSS of the first SERVER PID during the run (VmHWM,
# reset to the current RSS before it through clear_refs) and the 1-minute load average before.
run() {
    local name=$1 ep=$2 ak=$3 sk=$4 spids=$5 rpids=$6
    shift 6
    local load s0 r0 out s1 r1 ops gwpid=${spids%% *} hwm=
    load=$(cut -d' ' -f1 /proc/loadavg)
    echo 5 2>/dev/null >"/proc/$gwpid/clear_refs"
    # shellcheck disable=SC2086
    s0=$(ticks $spids)
    # shellcheck disable=SC2086
    r0=$(ticks $rpids)
    out=$("$kura" bench --endpoint "$ep" --access-key "$ak" --secret-key "$sk" "$@" 2>&1 | tail -1)
    # shellcheck disable=SC2086
    s1=$(ticks $spids)
    # shellcheck disable=SC2086
    r1=$(ticks $rpids)
    hwm=$(awk '/^VmHWM/ {printf "%.0f MiB", $2 / 1024}' "/proc/$gwpid/status" 2>/dev/null)
    ops=$(sed -n 's/.* ops=\([0-9]*\) .*/\1/p' <<<"$out")
    local rate mbs p50 p99 size
    rate=$(sed -n 's/.* ops\/s=\([0-9.]*\).*/\1/p' <<<"$out")
    mbs=$(sed -n 's/.* MB\/s=\([0-9.]*\).*/\1/p' <<<"$out")
    p50=$(sed -n 's/.* p50_ms=\([0-9.]*\).*/\1/p' <<<"$out")
    p99=$(sed -n 's/.* p99_ms=\([0-9.]*\).*/\1/p' <<<"$out")
    size=$(sed -n 's/.* size=\([0-9A-Za-z]*\) .*/\1/p' <<<"$out")
    [ -z "$ops" ] || [ "$ops" = 0 ] && { echo "| $name | \`$*\` | failed: $out | | | | | $load |"; return; }
    case $out in *" errors=0 "*) ;; *) echo "$name: $out" >&2 ;; esac
    awk -v n="$name" -v a="$*" -v ops="$ops" -v rate="$rate" -v mbs="$mbs" -v p50="$p50" \
        -v p99="$p99" -v s="$((s1 - s0))" -v r="$((r1 - r0))" -v hz="$bench_hz" -v load="$load" \
        -v size="$size" -v redis="$rpids" -v hwm="${hwm:--}" '
        function us(x) {
            return x >= 1e5 ? sprintf("%.2f s", x / 1e6) : x >= 1e4 ? sprintf("%.0f ms", x / 1e3) : sprintf("%.0f µs", x)
        }
        BEGIN {
            m = size + 0; u = substr(size, length(m "") + 1)
            b = m * (u ~ /^K/ ? 1024 : u ~ /^M/ ? 1048576 : u ~ /^G/ ? 1073741824 : 1)
            so = s * 1e6 / hz / ops
            permib = b >= 1048576 ? sprintf("%.1f ms", so / 1e3 / (b / 1048576)) : "—"
            rc = redis == "" ? "—" : us(r * 1e6 / hz / ops)
            printf "| %s | `%s` | %s ops/s, %s MB/s, p50 %s ms, p99 %s ms | %s | %s | %s | %s | %s |\n",
                n, a, rate, mbs, p50, p99, us(so), permib, rc, hwm, load
        }'
}
