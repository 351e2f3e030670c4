#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One command from a fresh machine to a full test run: installs build and
# test dependencies, builds twice (warnings as errors; then AddressSanitizer +
# UndefinedBehaviorSanitizer) and runs every test in both builds.
# Set KURA_TEST_BUILDS="build-ci" to run only the first build.
set -uo pipefail
cd "$(dirname "$0")/.."
bash deploy/install-deps.sh --test || exit 1

builds=${KURA_TEST_BUILDS:-"build-ci build-ci-asan"}
status=0
passed=0
failed=0
skipped=0
for b in $builds; do
  # The sanitizer build runs every unit test and the LMDB integration suite;
  # the Redis re-runs of the integration suite and the stress tests exercise
  # the same gateway code and run in the plain build only (time budget), as
  # does the fuzz run (tests/fuzz/run.sh builds its harnesses with clang and
  # sanitizers of their own, whatever the build).
  # The robustness suite (kill -9 cycles, minutes) is opt-in, run before
  # releases: meson test -C BUILD --suite robustness (tests/robustness/).
  # So is the suite 'extended' (the longest client runs once more on Redis
  # and on datanodes), to keep CI within 25 minutes:
  # meson test -C BUILD --suite extended.
  case "$b" in
  *asan*)
    opts=(-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug)
    skip=(--no-suite redis-integration --no-suite stress --no-suite robustness --no-suite fuzz
      --no-suite extended)
    ;;
  *)
    opts=(-Dbuildtype=debugoptimized)
    skip=(--no-suite robustness --no-suite extended)
    ;;
  esac
  if [ ! -d "$b" ]; then
    meson setup "$b" -Dwerror=true "${opts[@]}" >/dev/null || { echo "meson setup $b failed"; exit 1; }
  fi
  ninja -C "$b" || { echo "build $b failed"; exit 1; }
  echo "== tests in $b"
  # FUZZ_REQUIRE: install-deps.sh installed clang and the libFuzzer runtime,
  # so the fuzz run must not skip for want of them.
  FUZZ_REQUIRE=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C "$b" --print-errorlogs --num-processes 2 "${skip[@]}" || status=1
  counts=$(python3 - "$b/meson-logs/testlog.json" <<'PY'
import json, sys
p = f = s = 0
for line in open(sys.argv[1]):
    r = json.loads(line).get("result")
    if r in ("OK", "EXPECTEDFAIL"): p += 1
    elif r == "SKIP": s += 1
    else: f += 1
print(p, f, s)
PY
)
  read -r p f s <<<"$counts"
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
done
echo
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
