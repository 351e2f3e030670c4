#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian packages kura needs. With --test, also the real
# clients and servers the test suite drives. Idempotent; needs root (or sudo).
set -euo pipefail
build_pkgs=(meson ninja-build pkg-config gcc libc6-dev
  libmicrohttpd-dev libhiredis-dev libjansson-dev libssl-dev libisal-dev
  libcmocka-dev liblmdb-dev libcurl4-openssl-dev openssl zlib1g-dev libbz2-dev)
# clang + libclang-rt-14-dev (the libFuzzer runtime): tests/fuzz/run.sh.
test_pkgs=(redis-server curl systemd awscli s3cmd python3 python3-boto3 python3-swiftclient python3-prometheus-client docker-registry skopeo umoci
  util-linux coreutils diffutils clang libclang-rt-14-dev)
pkgs=("${build_pkgs[@]}")
if [ "${1:-}" = "--test" ]; then
  pkgs+=("${test_pkgs[@]}")
  # Node.js for the AWS JS SDK test: Debian's, unless the machine already has
  # a node + npm of its own (Debian's npm conflicts with those).
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then pkgs+=(nodejs npm); fi
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
