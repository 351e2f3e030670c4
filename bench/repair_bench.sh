#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Repair throughput (issue 8): 4 datanodes, 1 gateway; 160 x 1 MiB + 400 x 4 KiB objects; one datanode back blank; time kura admin repair
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
kura=$here/build/gateway/kura
d=$(mktemp -d /tmp/rb.XXXXXX)
trap '"$here/deploy/local-cluster.sh" down "$d/c" >/dev/null 2>&1; rm -rf "$d"' EXIT
KURA=$kura "$here/deploy/local-cluster.sh" up "$d/c" --datanodes 4 --zones 3 --gateways 1 >/dev/null 2>&1 || exit 1
. "$d/c/cluster.env"
ep=${KURA_GATEWAYS%% *}
"$kura" bench --endpoint "$ep" --access-key "$AWS_ACCESS_KEY_ID" --secret-key "$AWS_SECRET_ACCESS_KEY" --bucket rep-big --op put --size 1MiB --count 160 --concurrency 4 | tail -1
"$kura" bench --endpoint "$ep" --access-key "$AWS_ACCESS_KEY_ID" --secret-key "$AWS_SECRET_ACCESS_KEY" --bucket rep-small --op put --size 4KiB --count 400 --concurrency 8 | tail -1
id=$(head -1 "$d/c/datanodes" | cut -d' ' -f1)
"$here/deploy/local-cluster.sh" restart-datanode "$d/c" "$id" --blank >/dev/null 2>&1
sleep 1
echo "load $(cut -d' ' -f1 /proc/loadavg)"
/usr/bin/time -f "repair wall %e s, user %U s, sys %S s" "$kura" admin repair --meta "$KURA_META" --cluster-secret-file "$d/c/cluster-secret" --quiet 2>&1 | grep -v INFO
/usr/bin/time -f "fsck --deep wall %e s" "$kura" admin fsck --meta "$KURA_META" --cluster-secret-file "$d/c/cluster-secret" --deep --quiet 2>&1 | grep -v INFO
