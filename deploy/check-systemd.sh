#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# `systemd-analyze verify` of deploy/systemd/*.service, with ExecStart
# pointed at the kura just built (verify checks the binary exists). Any
# output is a failure: systemd only warns about unknown or misspelt keys.
# usage: check-systemd.sh PATH/TO/kura [UNIT_DIR]  (exit 77 without
# systemd-analyze; UNIT_DIR defaults to deploy/systemd)
set -u
kura=$1
units=${2:-$(cd "$(dirname "$0")" && pwd)/systemd}
command -v systemd-analyze > /dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rc=0
for unit in "$units"/*.service; do
    name=$(basename "$unit")
    sed "s#/usr/local/bin/kura#$kura#" "$unit" > "$tmp/$name"
    out=$(cd "$tmp" && SYSTEMD_LOG_COLOR=0 timeout 60 systemd-analyze verify "./$name" 2>&1)
    st=$?
    if [ $st -ne 0 ] || [ -n "$out" ]; then
        echo "FAIL $name (status $st):"
        echo "$out"
        rc=1
    else
        echo "ok   $name"
    fi
done
exit $rc
