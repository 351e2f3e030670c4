#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs one Redis-backed test binary with a private temp dir for the
# redis-servers it starts, and guarantees that none of them outlives it.
#
# The test binary starts every redis-server itself (so it can kill and
# restart them mid-test), records each pid as an empty file in
# $KURA_REDIS_TEST_DIR/pids/, and asks the kernel to SIGKILL each server if
# the test process dies (PR_SET_PDEATHSIG). This script is the second line of
# defence: whatever way the test ends (success, assertion, crash, timeout,
# meson killing us), the trap kills every recorded pid that is still a
# redis-server and removes the temp dir.
#
# usage: redis_env.sh TEST_BINARY [ARGS...]
set -u
test_bin="$1"
shift

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kura-redis-test.XXXXXX") || exit 1
mkdir -p "$tmp/pids"

cleanup() {
    for f in "$tmp"/pids/*; do
        [ -e "$f" ] || continue
        pid=$(basename "$f")
        # only a live redis-server: never a recycled pid of something else
        if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "redis-server" ]; then
            kill -9 "$pid" 2>/dev/null
        fi
    done
    if [ "${KURA_KEEP_REDIS_TEST_DIR:-0}" = 1 ]; then
        echo "redis_env.sh: kept $tmp" >&2
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# timeout: the whole test must finish well inside meson's own limit.
KURA_REDIS_TEST_DIR="$tmp" timeout -k 5 150 "$test_bin" "$@"
rc=$?
if [ $rc -ne 0 ]; then
    # the servers' logs say why a cluster did not form or a node refused
    for log in "$tmp"/*/redis.log "$tmp"/cluster-create.log; do
        [ -e "$log" ] || continue
        echo "---- $log (tail)" >&2
        tail -n 15 "$log" >&2
    done
fi
exit $rc
