#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Proves deploy/check-spdx.sh can fail: it passes a tree whose source files
# all carry the SPDX line and fails (naming the file) once one does not, both
# outside a git checkout (find) and inside one (git ls-files).
# usage: test_check_spdx.sh PATH/TO/check-spdx.sh
set -uo pipefail
check=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() {
  echo "FAIL: $*"
  fails=$((fails + 1))
}
# expect STATUS DIR [TEXT]: check-spdx on DIR exits STATUS (and prints TEXT).
expect() {
  local want=$1 dir=$2 text=${3:-} out rc
  out=$(bash "$check" "$dir" 2>&1)
  rc=$?
  [ "$rc" -eq "$want" ] || fail "check on $dir exited $rc, wanted $want: $out"
  if [ -n "$text" ] && ! grep -qF -- "$text" <<<"$out"; then
    fail "check on $dir did not print '$text': $out"
  fi
}

good=$tmp/good
mkdir -p "$good/sub"
printf '/* SPDX-License-Identifier: Apache-2.0 */\nint x;\n' >"$good/a.c"
printf '/* SPDX-License-Identifier: Apache-2.0 */\n#pragma once\n' >"$good/sub/a.h"
printf '#!/bin/sh\n# SPDX-License-Identifier: Apache-2.0\ntrue\n' >"$good/s.sh"
printf '# SPDX-License-Identifier: Apache-2.0\n"""doc"""\n' >"$good/p.py"
printf '# SPDX-License-Identifier: Apache-2.0\nproject(\x27x\x27)\n' >"$good/meson.build"
printf '// SPDX-License-Identifier: Apache-2.0\n' >"$good/j.cjs"
printf '#!/usr/bin/env bash\n# SPDX-License-Identifier: Apache-2.0\n' >"$good/runme"
printf 'not source\n' >"$good/notes.txt"
printf '\0\1binary seed' >"$good/seed"
expect 0 "$good" "7 source files carry"

# Each kind of miss, one at a time.
for bad in "c:int x;" "h:/* SPDX-License-Identifier: MIT */" "py:import os" "sh:#!/bin/sh" \
  "js:/* no */" "build:project('y')"; do
  ext=${bad%%:*}
  d=$tmp/bad-$ext
  cp -r "$good" "$d"
  name=sub/new.$ext
  [ "$ext" = build ] && name=sub/meson.build
  printf '%s\ntrue\n' "${bad#*:}" >"$d/$name"
  expect 1 "$d" "check-spdx: $name: no"
done
# The line after other text, a C file with a # comment, a shebang script
# without an extension.
d=$tmp/bad-late
cp -r "$good" "$d"
printf '/* x */\n/* SPDX-License-Identifier: Apache-2.0 */\n' >"$d/late.c"
expect 1 "$d" "late.c"
d=$tmp/bad-style
cp -r "$good" "$d"
printf '# SPDX-License-Identifier: Apache-2.0\n' >"$d/style.c"
expect 1 "$d" "style.c"
d=$tmp/bad-script
cp -r "$good" "$d"
printf '#!/bin/sh\necho hi\n' >"$d/tool"
expect 1 "$d" "tool"

# In a git checkout: tracked and untracked files count, ignored ones do not.
if command -v git >/dev/null; then
  g=$tmp/git
  cp -r "$good" "$g"
  git -C "$g" init -q
  printf 'ignored.c\nbuild/\n' >"$g/.gitignore"
  printf 'int y;\n' >"$g/ignored.c"
  mkdir -p "$g/build" && printf 'int z;\n' >"$g/build/gen.c"
  git -C "$g" add -A
  expect 0 "$g" "7 source files carry"
  printf 'int w;\n' >"$g/untracked.c"
  expect 1 "$g" "untracked.c"
  rm "$g/untracked.c"
  printf 'int v;\n' >"$g/sub/a.h"
  expect 1 "$g" "sub/a.h"
fi

[ "$fails" -eq 0 ] && echo "check-spdx self-test: ok"
exit $((fails > 0))
