#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# 4 KiB PUTs through kura on 3 Redis shards: appendfsync always (kura's
# strict default) against everysec (durability=relaxed), alternating in one
# run. Prints ops/s, p50/p99 and CPU per PUT of the gateway and of the three
# redis-servers together (from /proc, so machine noise shows up as
# variation between rounds, not in the per-op CPU).
#
#   bench/redis_durability.sh build/gateway/kura [ROUNDS] [SECONDS] [CONNS]
set -u
kura=$(realpath "${1:?usage: redis_durability.sh PATH/TO/kura [ROUNDS] [SECONDS] [CONNS]}")
rounds=${2:-2}
secs=${3:-10}
conns=${4:-16}
here=$(cd "$(dirname "$0")/.." && pwd)
export KURA_ROOT_ACCESS_KEY=benchkey KURA_ROOT_SECRET_KEY=benchsecret

# ticks (utime+stime) of the given pids
ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo $t; }

one_run() { # inside redis-local.sh: KURA_META_URL, KURA_REDIS_PORTS set
    local data port pid rpids=() p out t0 t1 r0 r1 hz
    hz=$(getconf CLK_TCK)
    data=$(mktemp -d)
    port=$((20000 + RANDOM % 20000))
    for p in $KURA_REDIS_PORTS; do rpids+=("$(redis-cli -p "$p" info server | awk -F: '/^process_id/{print $2}' | tr -d '\r')"); done
    "$kura" serve --listen "127.0.0.1:$port" --data "$data" --meta "$KURA_META_URL" --admin-listen off >"$data.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
    # warm-up: bucket, connections, tree
    "$kura" bench --endpoint "http://127.0.0.1:$port" --op put --size 4KiB --concurrency "$conns" --duration 2 --prefix warm >/dev/null
    t0=$(ticks "$pid"); r0=$(ticks "${rpids[@]}")
    out=$("$kura" bench --endpoint "http://127.0.0.1:$port" --op put --size 4KiB --concurrency "$conns" --duration "$secs")
    t1=$(ticks "$pid"); r1=$(ticks "${rpids[@]}")
    kill "$pid"; wait "$pid" 2>/dev/null
    rm -rf "$data" "$data.log"
    python3 - "$KURA_FSYNC_LABEL" "$out" $((t1 - t0)) $((r1 - r0)) "$hz" <<'PY'
import sys
label, out, kt, rt, hz = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
f = dict(kv.split("=", 1) for kv in out.split() if "=" in kv)
ops = int(f["ops"])
print("appendfsync=%-8s ops/s=%-8s p50_ms=%-6s p99_ms=%-7s errors=%s gateway_cpu_us/op=%.0f redis_cpu_us/op=%.0f"
      % (label, f["ops/s"], f["p50_ms"], f["p99_ms"], f["errors"],
         kt / hz * 1e6 / max(ops, 1), rt / hz * 1e6 / max(ops, 1)))
PY
}
export -f one_run ticks
export kura secs conns

echo "# $(date -u +%FT%TZ) load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
for r in $(seq "$rounds"); do
    for mode in always everysec; do
        KURA_REDIS_FSYNC=$mode KURA_FSYNC_LABEL=$mode "$here/deploy/redis-local.sh" shards bash -c one_run
    done
done
echo "# end load average: $(cut -d' ' -f1-3 /proc/loadavg)"
