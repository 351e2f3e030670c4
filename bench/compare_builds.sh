#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A/B of two kura builds under the same load generator: starts both servers
# (fresh data directories), then for each round and op runs
#   kura bench --op OP --size 4KiB --concurrency 16 --duration 10
# against A, then B, and prints the bench line plus the server CPU time per
# request (utime + stime from /proc/PID/stat over the run), which is steadier
# than throughput on a shared machine. The load average is printed per run.
#
# usage: bench/compare_builds.sh KURA_A KURA_B [ROUNDS] [OPS]
#   e.g. bench/compare_builds.sh /tmp/kura-before build/gateway/kura 3 "put get"
# Env: KB_SIZE (4KiB), KB_CONC (16), KB_DURATION (10), KB_DIR (a temp dir).
set -euo pipefail
a=$(realpath "$1")
b=$(realpath "$2")
rounds=${3:-3}
ops=${4:-"put get"}
size=${KB_SIZE:-4KiB}
conc=${KB_CONC:-16}
dur=${KB_DURATION:-10}
dir=${KB_DIR:-$(mktemp -d /tmp/kura-ab.XXXXXX)}
export KURA_ROOT_ACCESS_KEY=abbenchak KURA_ROOT_SECRET_KEY=abbenchsecretabbenchsecret
bench=$b # one client for both
hz=$(getconf CLK_TCK)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

declare -A port pid
for w in A B; do
  bin=$a
  [ $w = B ] && bin=$b
  mkdir -p "$dir/$w"
  port[$w]=$(free_port)
  "$bin" serve --listen "127.0.0.1:${port[$w]}" --data "$dir/$w" --admin-listen off >"$dir/$w.log" 2>&1 &
  pid[$w]=$!
  pids+=("${pid[$w]}")
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:${port[$w]}/" && break
    sleep 0.1
  done
done
echo "A=$a B=$b size=$size concurrency=$conc duration=${dur}s data=$dir"
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
for round in $(seq "$rounds"); do
  for op in $ops; do
    for w in A B; do
      e="http://127.0.0.1:${port[$w]}"
      if [ "$op" = get ]; then # upload the key space before the timed run
        "$bench" bench --endpoint "$e" --bucket abbench --op get --size "$size" --concurrency "$conc" \
          --count "$conc" >/dev/null 2>&1
      fi
      c0=$(cpu "${pid[$w]}")
      load=$(cut -d' ' -f1-3 /proc/loadavg)
      full=$("$bench" bench --endpoint "$e" --bucket abbench --op "$op" --size "$size" \
        --concurrency "$conc" --duration "$dur" 2>&1 || true)
      out=$(grep '^op=' <<<"$full" || true)
      grep '^kura bench:' <<<"$full" | grep -v 'created bucket' | sed "s/^/  [$w] /" || true
      c1=$(cpu "${pid[$w]}")
      n=$(sed -n 's/.* ops=\([0-9]*\) .*/\1/p' <<<"$out")
      per=$(awk -v c=$((c1 - c0)) -v n="${n:-0}" -v hz="$hz" \
        'BEGIN { if (n > 0) printf "%.0f", c * 1e6 / hz / n; else print "-" }')
      echo "round $round $op $w load [$load] $out server_cpu_us_per_op=$per"
    done
  done
done
