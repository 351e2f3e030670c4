#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# kura serve / kura admin settings from a config file (--config FILE) and
# flags: the file is read, flags override it, mistakes stop the command with
# a message naming the file and line, and a server really runs with what the
# file says (listen address, data directory, region).
# usage: test_config.sh path/to/kura
set -uo pipefail
kura=$1
fails=0
fail() {
  echo "FAIL: $*"
  fails=$((fails + 1))
}
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
export KURA_ROOT_ACCESS_KEY=configtest KURA_ROOT_SECRET_KEY=configtestsecret

# start_and_wait LOG ARGS...: runs kura serve, waits for its start line
start_and_wait() {
  local log=$1
  shift
  "$kura" serve "$@" --admin-listen off 2>"$log" &
  pids+=($!)
  for _ in $(seq 100); do
    grep -q 'listening on' "$log" && return 0
    kill -0 "${pids[-1]}" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

p1=$(free_port)
cat >"$tmp/kura.conf" <<CONF
# kura serve settings
listen = 127.0.0.1:$p1
data = $tmp/d1     # a comment after a value
region = "eu-central-1"
min-free-space = 2%
CONF

# 1. the file alone
if start_and_wait "$tmp/log1" --config "$tmp/kura.conf"; then
  grep -q "listening on 127.0.0.1:$p1 (http), data in $tmp/d1" "$tmp/log1" ||
    fail "start line does not show the file's listen/data: $(cat "$tmp/log1")"
  [ -f "$tmp/d1/root-credentials" ] || [ -d "$tmp/d1/meta" ] || fail "no data directory made in $tmp/d1"
  # the file's region is the one SigV4 scopes must name: a us-east-1 scope
  # is refused with the region in the answer
  body=$(curl -s "http://127.0.0.1:$p1/" --aws-sigv4 "aws:amz:us-east-1:s3" \
    --user "$KURA_ROOT_ACCESS_KEY:$KURA_ROOT_SECRET_KEY" \
    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
  grep -q "<Region>eu-central-1</Region>" <<<"$body" || fail "region from the file not in force: $body"
  body=$(curl -s "http://127.0.0.1:$p1/" --aws-sigv4 "aws:amz:eu-central-1:s3" \
    --user "$KURA_ROOT_ACCESS_KEY:$KURA_ROOT_SECRET_KEY" \
    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
  grep -q "<ListAllMyBucketsResult" <<<"$body" || fail "signed ListBuckets in the file's region failed: $body"
else
  fail "kura serve --config did not start: $(cat "$tmp/log1")"
fi
kill "${pids[-1]}" 2>/dev/null

# 2. a flag overrides the file, wherever --config stands
p2=$(free_port)
if start_and_wait "$tmp/log2" --listen "127.0.0.1:$p2" --config "$tmp/kura.conf"; then
  grep -q "listening on 127.0.0.1:$p2 " "$tmp/log2" || fail "--listen did not override the file: $(cat "$tmp/log2")"
else
  fail "kura serve with --config and --listen did not start: $(cat "$tmp/log2")"
fi
kill "${pids[-1]}" 2>/dev/null

# 3. mistakes: exit 2 and a message naming the place
expect_refusal() { # WANT ARGS...
  local want=$1
  shift
  out=$("$kura" "$@" 2>&1)
  rc=$?
  [ "$rc" -eq 2 ] || fail "'$*' exited $rc, want 2 (output: $out)"
  grep -qF -- "$want" <<<"$out" || fail "'$*' said '$out', want '$want'"
}
printf 'listen = 127.0.0.1:1\nbogus = 1\n' >"$tmp/bad1.conf"
expect_refusal "$tmp/bad1.conf:2: unknown setting 'bogus'" serve --config "$tmp/bad1.conf"
printf 'replicas = 0\n' >"$tmp/bad2.conf"
expect_refusal "$tmp/bad2.conf:1: replicas must be between 1 and 8" serve --config "$tmp/bad2.conf"
printf 'ec-threshold = big\n' >"$tmp/bad3.conf"
expect_refusal "ec-threshold wants a size" serve --config "$tmp/bad3.conf"
expect_refusal "unknown option --nope" serve --nope 1
printf 'min-free-space = 100%%\n' >"$tmp/bad4.conf"
expect_refusal "--min-free-space wants a size (512M, 2G, 0), a percentage from 1% to 99% or auto, got '100%'" \
  serve --config "$tmp/bad4.conf"
expect_refusal "--min-free-space wants a size" serve --min-free-space lots
expect_refusal "--tls-cert and --tls-key go together" serve --tls-cert /x.pem
expect_refusal "--ec-data + --ec-parity must be at most 16" serve --ec-data 14 --ec-parity 3
out=$("$kura" serve --config "$tmp/missing.conf" 2>&1)
[ $? -ne 0 ] && grep -q "$tmp/missing.conf" <<<"$out" || fail "missing config file not reported: $out"

# 4. kura admin reads the same file format
printf 'data = %s/d1\n' "$tmp" >"$tmp/admin.conf"
"$kura" admin user add --config "$tmp/admin.conf" AKCONFIGTEST secretsecret alice >/dev/null ||
  fail "admin user add --config failed"
"$kura" admin user list --config "$tmp/admin.conf" | grep -q "^AKCONFIGTEST	alice$" ||
  fail "admin user list --config does not show the user added"

if [ "$fails" -eq 0 ]; then
  echo "config: all checks passed"
  exit 0
fi
echo "config: $fails check(s) failed"
exit 1
