#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Minimal reproductions of the cross-process split races found by
# radix_redis_stress.sh (one redis-server, no faults, no kills).
#
# usage: repro_split_race.sh RADIX_STRESS_EXE
#
#  A. 8 writer processes insert 40,000 keys of all shapes into one tree.
#     Expected: every radix_insert returns K_OK. Seen before 019a823:
#     some returned K_ECONFLICT (split_node gave up after SPLIT_ATTEMPTS
#     while the processes kept taking over each other's in-flight split of
#     the same node, 0.5 ms patience), and 8 processes were slower than 1.
#  B. 1 writer process and 1 lister process, nothing else. No split ever
#     dies, so there is nothing to repair. Seen before 019a823: the lister
#     reported hundreds of repairs: every split in flight in the writer that
#     a scan met was treated as dead, its intent cleared, its child deleted.
#     (Fixed by the 3 s split lease; A and B stay as regression checks.)
#  C. (gdb) a writer is stalled for 4 s (breakpoint on materialize(), i.e.
#     after it set its split intent on a node) while a second writer works
#     on the same keys: the second one waits out the 3 s lease, takes the
#     split over and completes it. When the first resumes, write_pending()
#     finds the (now linked, LIVE) child and radix_insert returns
#     K_EINTERNAL ("split target is LIVE but unlinked") instead of noticing
#     that its intent is gone (K_ECONFLICT inside split_node, then retry).
#  D. (gdb) as B, but the lister is given the writer's 10-bit process tag
#     (two processes draw the same tag with probability 1/1024 per pair: 4%
#     for 10 processes, 50% for 38): the lister judges the writer's tokens
#     by its own registry, finds them "dead" and tears live splits down
#     again (repairs > 0).
#
# Exit 1 if any of them reproduced. C and D are skipped without gdb (and
# need a build with debug info: meson's default debugoptimized).
set -u
if [ -z "${REPRO_INNER:-}" ]; then
    REPRO_INNER=1 exec timeout -k 5 240 setpriv --pdeathsig TERM bash "$0" "$@"
fi
EXE=${1:?usage: repro_split_race.sh RADIX_STRESS_EXE}
case "$EXE" in /*) ;; *) EXE="$PWD/$EXE" ;; esac
export KURA_LOG=error LC_ALL=C
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kura-repro.XXXXXX") || exit 2
PIDS=()
# shellcheck disable=SC2317 # both called by the trap
my_child() { [ "$(awk '/^PPid:/ { print $2 }' "/proc/$1/status" 2>/dev/null)" = "$$" ]; }
# shellcheck disable=SC2317
cleanup() {
    exec 3>&2 2>/dev/null
    local p
    for p in "${PIDS[@]}" "${RPID:-}"; do
        [ -n "$p" ] && my_child "$p" && kill -9 "$p"
    done
    wait
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

for _ in 1 2 3 4 5; do
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
URL="redis://127.0.0.1:$PORT?durability=relaxed" # no AOF: a throw-away repro
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

if ! command -v gdb >/dev/null; then
    echo "C, D: gdb not installed, skipped"
    exit $rc
fi

echo "C. writer 1 stalls 4 s right after setting a split intent; writer 0 goes on"
setpriv --pdeathsig KILL "$EXE" insert --meta "$URL" --ns c --writer 1 --writers 2 \
    --keys 40000 2>"$tmp/c1.log" &
P1=$!
PIDS=("$P1")
timeout 60 gdb -p "$P1" -batch -ex 'break materialize' -ex continue -ex 'shell sleep 4' \
    -ex delete -ex detach >"$tmp/c-gdb.log" 2>&1 &
G=$!
PIDS+=("$G")
sleep 1.5 # writer 1 alone makes the first splits; the breakpoint hits one
setpriv --pdeathsig KILL "$EXE" insert --meta "$URL" --ns c --writer 0 --writers 2 \
    --keys 40000 2>"$tmp/c0.log" &
PIDS+=($!)
wait "${PIDS[@]}"
if grep -q 'hit Breakpoint' "$tmp/c-gdb.log"; then
    n=$(sum internal "$tmp"/c[01].log)
    c=$(sum conflicts "$tmp"/c[01].log)
    echo "   radix_insert returned K_EINTERNAL $n times, K_ECONFLICT $c times"
    grep -h 'ERROR' "$tmp"/c[01].log | sed 's/^/   /'
    [ "$n" = 0 ] && [ "$c" = 0 ] || rc=1
else
    echo "   breakpoint not hit (no debug info?), skipped"
fi

echo "D. 1 writer + 1 lister that was given the writer's process tag"
rm -f "$tmp/stop"
setpriv --pdeathsig KILL "$EXE" insert --meta "$URL" --ns d --writer 0 --writers 1 \
    --keys 60000 2>"$tmp/d-writer.log" &
P0=$!
PIDS=("$P0")
sleep 1
# process_tag()'s static (tag + 1), named tag.0 by gcc
TAG=$(gdb -p "$P0" -batch -ex "print *(unsigned long *)&'tag.0'" 2>/dev/null |
    awk '/^\$1 = / { print $3 }')
setpriv --pdeathsig KILL "$EXE" lister --meta "$URL" --ns d --seconds 120 \
    --stop-file "$tmp/stop" 2>"$tmp/d-lister.log" &
LPID=$!
PIDS+=("$LPID")
if [ -n "$TAG" ] && [ "$TAG" != 0 ] &&
    gdb -p "$LPID" -batch -ex "set var *(unsigned long *)&'tag.0' = $TAG" >/dev/null 2>&1; then
    wait "$P0"
    touch "$tmp/stop"
    wait "$LPID"
    r=$(sum repairs "$tmp/d-lister.log")
    echo "   lister (tag $((TAG - 1)), same as the writer's): $r repairs of splits that never died"
    [ "$r" = 0 ] || rc=1
else
    echo "   could not read or set the process tag with gdb, skipped"
fi
exit $rc
