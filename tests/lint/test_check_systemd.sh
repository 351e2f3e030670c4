#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# check-systemd.sh can fail: a misspelt key (systemd only warns) and a
# missing binary are both caught. usage: test_check_systemd.sh CHECK KURA
set -u
check=$1
kura=$2
command -v systemd-analyze > /dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '[Unit]\nDescription=t\n[Service]\nExecStart=/usr/local/bin/kura serve\nProtectSytem=strict\n' > "$tmp/typo.service"
if bash "$check" "$kura" "$tmp" > "$tmp/out" 2>&1; then
    echo "FAIL: a misspelt key passed"; cat "$tmp/out"; exit 1
fi
grep -q "ProtectSytem" "$tmp/out" || { echo "FAIL: no word of the key"; cat "$tmp/out"; exit 1; }
rm "$tmp/typo.service"
printf '[Unit]\nDescription=t\n[Service]\nExecStart=/usr/local/bin/kura serve\n' > "$tmp/ok.service"
bash "$check" "$kura" "$tmp" > "$tmp/out" 2>&1 || { echo "FAIL: a good unit failed"; cat "$tmp/out"; exit 1; }
bash "$check" /nonexistent/kura "$tmp" > "$tmp/out" 2>&1 && { echo "FAIL: a missing binary passed"; exit 1; }
echo "ok: check-systemd.sh catches a misspelt key and a missing binary"
