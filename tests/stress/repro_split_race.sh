#!/bin/bash
# Minimal reproductions of the cross-process split races found by
# radix_redis_stress.sh (one redis-server, no faults, no kills).
#
# usage: repro_split_race.sh RADIX_STRESS_EXE
#
#  A. 8 writer processes insert 40,000 keys of all shapes (the long labels,
#     "L/" + 100..159 x + digits, split slowest) into one tree. Expected: every
#     radix_insert returns K_OK. Seen: some return K_ECONFLICT (split_node
#     gives up after SPLIT_ATTEMPTS while the processes keep taking over each
#     other's in-flight split of the same node), and 8 processes are slower
#     than 1.
#  B. 1 writer process and 1 lister process, nothing else. No split ever
#     dies, so there is nothing to repair. Seen: the lister reports
#     repairs > 0: every split in flight in the writer that a scan meets is
#     treated as dead (its token is not in the lister's registry), its
#     intent cleared and its child deleted, and the writer redoes it.
#
# Exit 1 if A or B reproduced.
set -u
if [ -z "${REPRO_INNER:-}" ]; then
    REPRO_INNER=1 exec timeout -k 5 240 setpriv --pdeathsig TERM bash "$0" "$@"
fi
EXE=${1:?usage: repro_split_race.sh RADIX_STRESS_EXE}
case "$EXE" in /*) ;; *) EXE="$PWD/$EXE" ;; esac
export KURA_LOG=error LC_ALL=C
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kura-repro.XXXXXX") || exit 2
PIDS=()
cleanup() {
    exec 3>&2 2>/dev/null
    local p
    for p in "${PIDS[@]}"; do kill -9 "$p"; done
    [ -n "${RPID:-}" ] && [ "$(cat "/proc/$RPID/comm" 2>/dev/null)" = redis-server ] &&
        kill -9 "$RPID"
    wait
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

for try in 1 2 3 4 5; do
    PORT=$((11000 + RANDOM % 11000))
    setpriv --pdeathsig KILL redis-server --port "$PORT" --bind 127.0.0.1 --save "" \
        --appendonly no --dir "$tmp" --logfile "$tmp/redis.log" </dev/null >/dev/null 2>&1 &
    RPID=$!
    for i in $(seq 1 100); do
        [ "$(redis-cli -p "$PORT" ping 2>/dev/null)" = PONG ] && break 2
        kill -0 "$RPID" 2>/dev/null || break
        sleep 0.05
    done
    kill -9 "$RPID" 2>/dev/null
done
URL="redis://127.0.0.1:$PORT"
rc=0

sum() { grep -ho " $1=[0-9]*" "${@:2}" | awk -F= '{ s += $2 } END { print s + 0 }'; }

echo "A. 1 writer, then up to 3 rounds of 8 writers, 40000 mixed keys each run"
for round in 0 1 2 3; do
    W=8
    [ $round = 0 ] && W=1
    t0=$(date +%s.%N)
    PIDS=()
    for i in $(seq 0 $((W - 1))); do
        setpriv --pdeathsig KILL "$EXE" insert --meta "$URL" --ns "a$round" --writer "$i" \
            --writers "$W" --keys 40000 2>"$tmp/a$round.$i.log" &
        PIDS+=($!)
    done
    wait "${PIDS[@]}"
    dt=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
    c=$(sum conflicts "$tmp"/a$round.*.log)
    n=$(sum internal "$tmp"/a$round.*.log)
    echo "   $W writer(s): $dt s, radix_insert returned K_ECONFLICT $c times, K_EINTERNAL $n times"
    if [ "$c" != 0 ] || [ "$n" != 0 ]; then
        rc=1
        break
    fi
done

echo "B. 1 writer (40000 mixed keys) + 1 lister, no faults, no kills"
setpriv --pdeathsig KILL "$EXE" lister --meta "$URL" --ns b --seconds 120 \
    --stop-file "$tmp/stop" 2>"$tmp/b-lister.log" &
LPID=$!
PIDS=("$LPID")
"$EXE" insert --meta "$URL" --ns b --writer 0 --writers 1 --keys 40000 2>"$tmp/b-writer.log"
touch "$tmp/stop"
wait "$LPID"
r=$(sum repairs "$tmp/b-lister.log")
s=$(sum splits "$tmp/b-writer.log")
w=$(sum repairs "$tmp/b-writer.log")
echo "   writer: $s splits, $w repairs; lister: $r repairs (of splits that never died)"
[ "$r" = 0 ] || rc=1
exit $rc
