#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Checks that every source file under the repository carries the license
# line `SPDX-License-Identifier: Apache-2.0` as a comment on its first line,
# or on its second line after a `#!` shebang. C files use exactly
#   /* SPDX-License-Identifier: Apache-2.0 */
# Source files: *.c *.h *.h.in *.sh *.py *.js *.mjs *.cjs, meson.build,
# meson_options.txt / meson.options, and any other file starting with `#!`.
#
# usage: deploy/check-spdx.sh [ROOT]   (ROOT defaults to the repository)
# In a git checkout the files are the tracked ones plus untracked files not
# ignored by .gitignore (so a new file fails before it is committed);
# elsewhere (a release tarball) every file found under ROOT, skipping .git,
# build directories and node_modules. Prints each offending file and exits 1
# if there is any, 0 otherwise. Run by `meson test --suite lint`.
set -uo pipefail

root=${1:-"$(dirname "$0")/.."}
root=$(cd "$root" && pwd -P) || { echo "check-spdx: no directory $1" >&2; exit 2; }
cd "$root" || exit 2

list_files() {
  local top
  top=$(git rev-parse --show-toplevel 2>/dev/null) || top=
  if [ -n "$top" ] && [ "$(cd "$top" && pwd -P)" = "$root" ]; then
    git ls-files -z --cached --others --exclude-standard
  else
    find . \( -name .git -o -name 'build*' -o -name node_modules -o -name __pycache__ \) -prune \
      -o -type f -print0 | sed -z 's|^\./||'
  fi
}

want='SPDX-License-Identifier: Apache-2.0'
checked=0
bad=0
while IFS= read -r -d '' f; do
  [ -f "$f" ] || continue # deleted in the work tree, not yet committed
  case "$f" in
  *.c | *.h | *.h.in) kind=c ;;
  *.sh | *.py | */meson.build | meson.build | meson_options.txt | */meson_options.txt | \
    meson.options | */meson.options) kind=hash ;;
  *.js | *.mjs | *.cjs) kind=slash ;;
  *)
    # Other scripts: anything starting with a shebang.
    [ "$(head -c 2 "$f" | tr -d '\0')" = '#!' ] || continue
    kind=hash
    ;;
  esac
  checked=$((checked + 1))
  { IFS= read -r l1 || true; IFS= read -r l2 || true; } <"$f"
  line=$l1
  case "$l1" in '#!'*) line=$l2 ;; esac
  line=${line%$'\r'}
  case "$kind" in
  c) ok=$([ "$line" = "/* $want */" ] && echo 1) ;;
  hash) ok=$([ "$line" = "# $want" ] && echo 1) ;;
  slash) ok=$([ "$line" = "// $want" ] || [ "$line" = "/* $want */" ] && echo 1) ;;
  esac
  if [ -z "$ok" ]; then
    echo "check-spdx: $f: no '$want' comment on its first line (second after #!)"
    bad=$((bad + 1))
  fi
done < <(list_files)

if [ "$checked" -eq 0 ]; then
  echo "check-spdx: no source files found under $root" >&2
  exit 2
fi
if [ "$bad" -gt 0 ]; then
  echo "check-spdx: $bad of $checked source files lack the SPDX line"
  exit 1
fi
echo "check-spdx: $checked source files carry the SPDX line"
exit 0
