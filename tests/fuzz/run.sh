#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds every libFuzzer harness of tests/fuzz with clang (libFuzzer +
# AddressSanitizer + UndefinedBehaviorSanitizer, leak checking on) and runs
# each for a bounded time over a copy of its checked-in seeds
# (tests/fuzz/seeds/<harness>/). Any finding fails: a crash, a sanitizer
# report, an oracle abort, a leak, a timeout or running out of memory. The
# failing input is left in the work directory and printed in base64, so a CI
# log is enough to reproduce it (README.md).
#
# usage: tests/fuzz/run.sh [SECONDS_PER_HARNESS [HARNESS...]]
#   SECONDS_PER_HARNESS  default 10; HARNESS: names without fuzz_ (default all)
# environment:
#   FUZZ_OUT      work directory (objects, binaries, corpora, logs); default
#                 a temporary directory, removed when every harness passed
#   FUZZ_JOBS     parallel compiles (default: number of CPUs)
#   FUZZ_REQUIRE  1: fail (rather than skip, exit 77) when clang or the
#                 libFuzzer runtime is missing
#   CC            the compiler (default clang)
# Run by `meson test --suite fuzz` (tests/fuzz/meson.build).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
root=$(pwd -P)

secs=${1:-10}
shift || true
case "$secs" in '' | *[!0-9]*) echo "run.sh: seconds must be a number, not '$secs'" >&2; exit 2 ;; esac

cc=${CC:-clang}
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}

# Sources every harness links, then each harness's own.
common_src="common/arena.c common/buf.c common/err.c common/hash.c common/log.c common/text.c
  gateway/http.c"
harness_src() {
  case "$1" in
  awschunked) echo "gateway/awschunked.c gateway/auth.c" ;;
  sigv4) echo "gateway/auth.c" ;;
  s3_xml) echo "gateway/s3_xml.c gateway/s3_bodies.c gateway/s3_rules.c gateway/objsvc_tags.c" ;;
  http) echo "" ;;
  text) echo "gateway/s3_xml.c gateway/s3_rules.c" ;;
  records) echo "gateway/objsvc_records.c router/users.c meta/kv.c meta/radix.c storage/data.c storage/volset.c storage/volume_local.c
    storage/chunk.c storage/chunkset.c storage/ec.c storage/dnreg.c storage/volume_remote.c storage/datanode.c" ;;
  radix_node) echo "meta/kv.c" ;; # the harness includes meta/radix.c itself
  json) echo "common/json.c" ;;
  tarx) echo "gateway/tarx.c" ;;
  formdata) echo "gateway/formdata.c" ;;
  s3_post) echo "gateway/s3_post.c common/json.c" ;;
  *) return 1 ;;
  esac
}
# Longest input libFuzzer generates for each.
harness_max_len() {
  case "$1" in
  s3_xml | sigv4 | tarx | formdata | s3_post) echo 4096 ;;
  awschunked) echo 8192 ;;
  radix_node) echo 8192 ;;
  *) echo 1024 ;;
  esac
}
all="awschunked sigv4 s3_xml http text records radix_node json tarx formdata s3_post"
read -r -a harnesses <<<"${*:-$all}"
nh=${#harnesses[@]}
for h in "${harnesses[@]}"; do
  harness_src "$h" >/dev/null || { echo "run.sh: unknown harness '$h' (have: $all)" >&2; exit 2; }
done

if [ -n "${FUZZ_OUT:-}" ]; then
  out=$FUZZ_OUT
  mkdir -p "$out" || exit 2
  keep=1
else
  out=$(mktemp -d "${TMPDIR:-/tmp}/kura-fuzz.XXXXXX") || exit 2
  keep=0
fi
out=$(cd "$out" && pwd -P)

skip() {
  [ "$keep" = 1 ] || rm -rf "$out"
  if [ "${FUZZ_REQUIRE:-0}" = 1 ]; then
    echo "run.sh: $1 (FUZZ_REQUIRE=1: failing)" >&2
    exit 1
  fi
  echo "run.sh: $1: skipped (deploy/install-deps.sh --test installs it)"
  exit 77
}
command -v "$cc" >/dev/null || skip "no $cc"
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return 0; }\n' \
  >"$out/probe.c"
"$cc" -fsanitize=fuzzer,address,undefined "$out/probe.c" -o "$out/probe" 2>"$out/probe.log" ||
  skip "$cc cannot link libFuzzer (libclang-rt-*-dev missing?)"

# shellcheck disable=SC2054 # the commas are -fsanitize's
cflags=(-g -O1 -std=c17 -D_GNU_SOURCE -I"$root" -fno-omit-frame-pointer
  -fsanitize=address,undefined -fno-sanitize-recover=undefined -fsanitize=fuzzer-no-link
  -Wall -Wextra -Wno-unused-parameter -Wno-unused-function)
libs=(-lcrypto -lisal -lz -lbz2 -lpthread -lm -lcurl -lmicrohttpd)

# ---- build: each source once, then one link per harness --------------------
t0=$(date +%s)
mkdir -p "$out/obj" "$out/bin"
# shellcheck disable=SC2046,SC2086 # word lists
srcs=$(for h in "${harnesses[@]}"; do printf '%s\n' $common_src $(harness_src "$h") "tests/fuzz/fuzz_$h.c"; done |
  sort -u)
export cc out root
export cflags_str="${cflags[*]}"
# shellcheck disable=SC2317 # called through xargs
compile_one() {
  local src=$1 obj
  obj="$out/obj/$(echo "$src" | tr '/' '_').o"
  # shellcheck disable=SC2086 # cflags_str is a word list
  if ! $cc $cflags_str -c "$root/$src" -o "$obj" 2>"$obj.log"; then
    cat "$obj.log" >&2
    echo "run.sh: compiling $src failed" >&2
    return 1
  fi
  [ -s "$obj.log" ] && cat "$obj.log" >&2
  return 0
}
export -f compile_one
echo "$srcs" | xargs -P "$jobs" -I{} bash -c 'compile_one "$@"' _ {} || {
  echo "run.sh: build failed (work directory: $out)"
  exit 1
}
for h in "${harnesses[@]}"; do
  objs=()
  for s in $common_src $(harness_src "$h") "tests/fuzz/fuzz_$h.c"; do
    objs+=("$out/obj/$(echo "$s" | tr '/' '_').o")
  done
  "$cc" -fsanitize=fuzzer,address,undefined "${objs[@]}" "${libs[@]}" -o "$out/bin/fuzz_$h" ||
    { echo "run.sh: linking fuzz_$h failed (work directory: $out)"; exit 1; }
done
t1=$(date +%s)
echo "built $nh harnesses in $((t1 - t0)) s"

# ---- run ---------------------------------------------------------------------
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
status=0
failed=()
for h in "${harnesses[@]}"; do
  corpus="$out/corpus/$h"
  rm -rf "$corpus"
  mkdir -p "$corpus" "$out/artifacts/$h"
  seeds="$root/tests/fuzz/seeds/$h"
  [ -d "$seeds" ] && cp "$seeds"/* "$corpus"/ 2>/dev/null
  nseeds=$(find "$corpus" -type f | wc -l)
  dict=()
  [ -f "$root/tests/fuzz/dict/$h.dict" ] && dict=(-dict="$root/tests/fuzz/dict/$h.dict")
  ts=$(date +%s)
  "$out/bin/fuzz_$h" -max_total_time="$secs" -max_len="$(harness_max_len "$h")" -timeout=20 \
    -rss_limit_mb=2048 -error_exitcode=77 -timeout_exitcode=78 -print_final_stats=1 \
    -artifact_prefix="$out/artifacts/$h/" "${dict[@]}" "$corpus" >"$out/$h.log" 2>&1
  rc=$?
  te=$(date +%s)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$h.log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$out/$h.log" | tail -1)
  ncorpus=$(find "$corpus" -type f | wc -l)
  if [ "$rc" -eq 0 ]; then
    printf '%-12s ok    %3d s  %9s runs  %-10s corpus %d -> %d\n' "$h" $((te - ts)) "${runs:-?}" \
      "${cov:-cov: ?}" "$nseeds" "$ncorpus"
  else
    status=1
    failed+=("$h")
    printf '%-12s FAIL  exit %d after %d s\n' "$h" "$rc" $((te - ts))
    grep -E 'ERROR: |SUMMARY: |runtime error|oracle failed|refused|verified|want ' "$out/$h.log" |
      head -20 | sed 's/^/    /'
    for f in "$out/artifacts/$h"/*; do
      [ -f "$f" ] || continue
      echo "    input $(basename "$f") ($(wc -c <"$f") bytes), base64:"
      base64 -w 76 "$f" | head -60 | sed 's/^/      /'
    done
    echo "    full log: $out/$h.log"
  fi
done

if [ "$status" -ne 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (work directory kept: $out; README.md: reproducing)"
  exit 1
fi
echo "fuzz: all $nh harnesses ran ${secs} s each with no finding"
[ "$keep" = 1 ] || rm -rf "$out"
exit 0
