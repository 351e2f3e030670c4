#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Proves deploy/check-includes.py can fail: on a small tree that keeps the
# rule it passes; a front end that includes a meta/ header directly, one that
# reaches a storage/ header through a gateway header, and a sealed objsvc.h
# that includes one each fail, naming the file. The object service's own
# files and main.c may include them.
# usage: test_check_includes.sh PATH/TO/check-includes.py
set -uo pipefail
check=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() {
  echo "FAIL: $*"
  fails=$((fails + 1))
}
expect() { # STATUS TEXT
  local out rc
  out=$(python3 "$check" "$tmp" 2>&1)
  rc=$?
  [ "$rc" -eq "$1" ] || fail "exited $rc, wanted $1: $out"
  grep -qF -- "$2" <<<"$out" || fail "did not print '$2': $out"
}
mkdir -p "$tmp/gateway" "$tmp/meta" "$tmp/storage"
echo '#include "common/err.h"' >"$tmp/gateway/objsvc.h"
printf '#include "gateway/objsvc.h"\n#include "meta/kv.h"\n#include "storage/data.h"\n' \
  >"$tmp/gateway/objsvc.c"
printf '#include "gateway/objsvc_records.h"\n' >"$tmp/gateway/objsvc_records.c"
printf '#include "storage/data.h"\n' >"$tmp/gateway/objsvc_records.h"
printf '#include "meta/kv.h"\n#include "gateway/objsvc.h"\n' >"$tmp/gateway/main.c"
printf '#include "gateway/s3.h"\n#include <stdio.h>\n' >"$tmp/gateway/s3.c"
printf '#include "gateway/objsvc.h"\n' >"$tmp/gateway/s3.h"
touch "$tmp/meta/kv.h" "$tmp/storage/data.h"
expect 0 "3 front-end files keep out"

cp "$tmp/gateway/s3.c" "$tmp/s3.c.good"
printf '#include "gateway/s3.h"\n#include "meta/kv.h"\n' >"$tmp/gateway/s3.c"
expect 1 "gateway/s3.c: includes meta/kv.h"
cp "$tmp/s3.c.good" "$tmp/gateway/s3.c"

printf '#include "gateway/objsvc_records.h"\n' >"$tmp/gateway/swift.c"
expect 1 "gateway/swift.c: includes storage/data.h (via gateway/swift.c -> gateway/objsvc_records.h -> storage/data.h)"
rm "$tmp/gateway/swift.c"

printf '#include "common/err.h"\n#include "storage/data.h"\n' >"$tmp/gateway/objsvc.h"
expect 1 "gateway/objsvc.h: includes storage/data.h"
expect 1 "gateway/s3.c: includes storage/data.h (via gateway/s3.c -> gateway/s3.h -> gateway/objsvc.h -> storage/data.h)"

[ "$fails" -eq 0 ] && echo "check-includes self-test: all cases behave" || exit 1
