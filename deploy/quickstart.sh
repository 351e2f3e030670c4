#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One command from a fresh machine to a running single-node gateway:
# installs the build dependencies, builds kura and starts `kura serve` on the
# embedded default (LMDB metadata + a local volume in ./data, 127.0.0.1:9000).
# Extra arguments go to `kura serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install-deps.sh
[ -d build ] || meson setup build --buildtype=release >/dev/null
ninja -C build gateway/kura
exec ./build/gateway/kura serve "$@"
