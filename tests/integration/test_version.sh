#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# `kura version` and `kura --version`: exit 0, name meson.build's version and
# the build type on the first line, then one line per linked library.
# `kura serve` starts its first log line with the same version line.
# usage: test_version.sh path/to/kura PROJECT_VERSION [BUILDTYPE]
set -uo pipefail
kura=$1
want=$2
buildtype=${3:-}
fails=0
fail() {
  echo "FAIL: $*"
  fails=$((fails + 1))
}

out=$("$kura" version)
rc=$?
echo "$out"
[ "$rc" -eq 0 ] || fail "kura version exited $rc"
first=$(head -n 1 <<<"$out")
case "$first" in
"kura $want, "*" build" | "kura $want ("*"), "*" build") ;;
*) fail "first line '$first' is not 'kura $want[ (git describe)], BUILDTYPE build'" ;;
esac
if [ -n "$buildtype" ] && [ "${first%, "$buildtype" build}" = "$first" ]; then
  fail "first line '$first' does not end with ', $buildtype build'"
fi
for lib in libmicrohttpd hiredis OpenSSL ISA-L LMDB libcurl jansson; do
  grep -qE "^  $lib [0-9]+\.[0-9]+" <<<"$out" || fail "no '  $lib VERSION' line"
done
[ "$(wc -l <<<"$out")" -eq 8 ] || fail "expected 8 lines"

out2=$("$kura" --version)
rc=$?
[ "$rc" -eq 0 ] || fail "kura --version exited $rc"
[ "$out2" = "$out" ] || fail "kura --version differs from kura version: $out2"

# The start line of `kura serve` (port 0: any free port).
tmp=$(mktemp -d)
KURA_ROOT_ACCESS_KEY=versiontest KURA_ROOT_SECRET_KEY=versiontestsecret \
  "$kura" serve --listen 127.0.0.1:0 --data "$tmp/data" --admin-listen off 2>"$tmp/log" &
pid=$!
for _ in $(seq 100); do
  grep -q 'listening on' "$tmp/log" && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
started=$(grep 'listening on' "$tmp/log")
echo "$started"
case "$started" in
"$first: listening on 127.0.0.1:"*) ;;
*) fail "kura serve did not log '$first: listening on ...': $(cat "$tmp/log")" ;;
esac
rm -rf "$tmp"

[ "$fails" -eq 0 ] && echo "version: ok"
exit $((fails > 0))
