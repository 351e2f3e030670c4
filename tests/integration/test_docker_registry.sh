#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Debian's docker-registry (distribution 2.8) with its S3 storage driver on
# kura; skopeo pushes a small 3-layer OCI image built with umoci and pulls it
# back; every blob is compared byte for byte (also as stored in kura).
#
# The driver's call set (counted through a recording proxy and checked):
# Stat via ListObjectsV2 (2.8 lists; newer drivers HEAD first), ranged
# GETs "bytes=N-" (Reader), multipart uploads resumed through
# ListMultipartUploads/ListParts (Writer), Move via CopyObject or parallel
# UploadPartCopy (multipartcopythresholdsize is lowered to 5 MiB so the
# 12 MiB layer takes that path), DeleteObjects (Delete), and presigned GET
# redirects for blob downloads (redirect is left enabled).
#
# usage: bash test_docker_registry.sh PATH/TO/kura
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/harness.sh"
kura_watchdog 300 "$0" "$@"
kura_init "${1:-}"
need_tool docker-registry docker-registry
need_tool skopeo skopeo
need_tool umoci umoci
need_tool curl curl
need_tool cmp diffutils
# distribution's S3 driver (aws-sdk-go) refuses to start with these set while
# talking plain HTTP to loopback (DESIGN.md).
unset_ca_env
unset AWS_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_REGION AWS_DEFAULT_REGION \
    AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE HTTP_PROXY HTTPS_PROXY http_proxy https_proxy
export AWS_EC2_METADATA_DISABLED=true
kura_start

W=$KURA_TMP/w
O=$KURA_TMP/out.txt
mkdir -p "$W"
json() { "$KURA_IT_PY" -c 'import json,sys; d=json.load(sys.stdin); r=eval(sys.argv[1]); print(r if isinstance(r,str) else json.dumps(r))' "$1"; }

st=$(kura_curl -o "$O" -w '%{http_code}' -X PUT "$KURA_ENDPOINT/registry")
[ "$st" == 200 ] || kura_die "could not create bucket 'registry' on kura: $st $(cat "$O")"

# A recording proxy between the registry and kura, to check the driver's
# call set below (Host is forwarded unchanged, so signatures hold).
PROXYPORT=$("$KURA_IT_PY" "$HARNESS_DIR/harness.py" free-port)
setpriv --pdeathsig TERM -- "$KURA_IT_PY" "$HARNESS_DIR/harness.py" proxy "$PROXYPORT" "$KURA_PORT" "$KURA_TMP/s3calls.log" \
    >"$KURA_TMP/proxy.log" 2>&1 &
PROXY_PID=$!
"$KURA_IT_PY" "$HARNESS_DIR/harness.py" wait-port "$PROXYPORT" 10 || kura_die "recording proxy did not start: $(cat "$KURA_TMP/proxy.log")"

# ----------------------------------------------------------- registry
REGPORT=$("$KURA_IT_PY" "$HARNESS_DIR/harness.py" free-port)
cat >"$W/registry.yml" <<EOF
version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  s3:
    region: us-east-1
    regionendpoint: http://127.0.0.1:$PROXYPORT
    bucket: registry
    accesskey: $KURA_AK
    secretkey: $KURA_SK
    secure: false
    v4auth: true
    chunksize: 5242880
    multipartcopychunksize: 5242880
    multipartcopythresholdsize: 5242880
    multipartcopymaxconcurrency: 4
    rootdirectory: /reg
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
  redirect:
    disable: false
http:
  addr: 127.0.0.1:$REGPORT
  secret: kura-integration-test-secret
EOF
setpriv --pdeathsig TERM -- timeout -k 5 600 docker-registry serve "$W/registry.yml" >"$KURA_TMP/registry.log" 2>&1 &
REG_PID=$!
stop_registry() {
    kill -TERM "$REG_PID" "$PROXY_PID" 2>/dev/null
    wait "$REG_PID" "$PROXY_PID" 2>/dev/null
}
trap 'stop_registry; _kura_cleanup' EXIT
if ! "$KURA_IT_PY" "$HARNESS_DIR/harness.py" wait-port "$REGPORT" 20; then
    tail -30 "$KURA_TMP/registry.log"
    kura_die "docker-registry did not start"
fi
REG=127.0.0.1:$REGPORT
expect_eq "registry /v2/ answers" 200 "$(curl -s -o /dev/null -w '%{http_code}' "http://$REG/v2/")"

# --------------------------------------------------------- build image
OCI=$W/oci
oci_image "$W" 12
MD=$(oci_manifest_of "$OCI" img)
BLOBS=$(oci_blobs_of "$OCI" "$MD")
NL=$(($(echo "$BLOBS" | wc -l) - 1))
expect_eq "local image has 3 layers" 3 "$NL"

# -------------------------------------------------------------- push
SK=(skopeo --insecure-policy)
run_ok "skopeo copy oci -> registry" "${SK[@]}" copy --dest-tls-verify=false "oci:$OCI:img" "docker://$REG/kura/test:1"
[ -s "$KURA_TMP/last.out" ] && tail -5 "$KURA_TMP/last.out"
run_ok "skopeo copy again (blobs exist)" "${SK[@]}" copy --dest-tls-verify=false "oci:$OCI:img" "docker://$REG/kura/test:2"
"${SK[@]}" inspect --tls-verify=false "docker://$REG/kura/test:1" >"$O" 2>&1
expect_eq "skopeo inspect layer digests" "$(echo "$BLOBS" | tail -n +2 | sed 's/^/sha256:/' | tr '\n' ' ')" \
    "$(json '" ".join(d["Layers"])+" "' <"$O" 2>/dev/null)"
expect_eq "catalog" '{"repositories": ["kura/test"]}' "$(curl -s "http://$REG/v2/_catalog" | json 'd')"
expect_eq "tags list" '["1", "2"]' "$(curl -s "http://$REG/v2/kura/test/tags/list" | json 'sorted(d["tags"])')"

# blobs as stored in kura, byte for byte
for d in $BLOBS; do
    st=$(kura_curl -o "$W/stored" -w '%{http_code}' "$KURA_ENDPOINT/registry/reg/docker/registry/v2/blobs/sha256/${d:0:2}/$d/data")
    if [ "$st" == 200 ] && cmp -s "$W/stored" "$OCI/blobs/sha256/$d"; then
        t_ok "blob ${d:0:12} stored in kura byte for byte"
    else
        t_fail "blob ${d:0:12} stored in kura" "status $st, stored size $(stat -c %s "$W/stored" 2>/dev/null), local size $(stat -c %s "$OCI/blobs/sha256/$d")"
    fi
done
# no multipart upload left behind by the driver
st=$(kura_curl -o "$O" -w '%{http_code}' "$KURA_ENDPOINT/registry?uploads")
n=$("$KURA_IT_PY" -c 'import sys,xml.etree.ElementTree as ET; r=ET.parse(sys.argv[1]).getroot(); print(sum(1 for e in r.iter() if e.tag.split("}")[-1]=="Upload"))' "$O" 2>/dev/null)
expect_eq "no multipart uploads left in the bucket" "200 0" "$st $n"

# ---------------------------------------------------------------- pull
OUT=$W/pulled
run_ok "skopeo copy registry -> oci" "${SK[@]}" copy --src-tls-verify=false "docker://$REG/kura/test:1" "oci:$OUT:pulled"
PMD=$(oci_manifest_of "$OUT" pulled)
expect_eq "pulled manifest digest" "$MD" "$PMD"
expect_eq "pulled blob list" "$BLOBS" "$(oci_blobs_of "$OUT" "$PMD" 2>/dev/null)"
for d in $MD $BLOBS; do
    expect_file_eq "pulled blob ${d:0:12}" "$OCI/blobs/sha256/$d" "$OUT/blobs/sha256/$d"
done
# a direct ranged blob read through the registry (follows the presigned redirect)
L2=$(echo "$BLOBS" | sed -n 3p)
curl -sL -o "$W/range.out" -H 'Range: bytes=1000-' "http://$REG/v2/kura/test/blobs/sha256:$L2"
tail -c +1001 "$OCI/blobs/sha256/$L2" >"$W/range.want"
expect_file_eq "blob read with Range bytes=1000- via redirect" "$W/range.want" "$W/range.out"

# --------------------------------------------------------------- delete
run_ok "skopeo delete tag 2's manifest" "${SK[@]}" delete --tls-verify=false "docker://$REG/kura/test:2"
expect_fail "pull after delete fails" "${SK[@]}" inspect --tls-verify=false "docker://$REG/kura/test:1"

stop_registry

# ------------------------------------------------- the driver's call set
"$KURA_IT_PY" "$HARNESS_DIR/s3calls.py" "$KURA_TMP/s3calls.log" >"$KURA_TMP/calls.txt"
echo "---- S3 calls made by the registry's driver (through the recording proxy):"
sed 's/^/     /' "$KURA_TMP/calls.txt"
for op in ListObjectsV2 "GetObject(bytes=N-)" "GetObject(presigned)" CreateMultipartUpload \
    UploadPart CompleteMultipartUpload ListMultipartUploads ListParts UploadPartCopy CopyObject DeleteObjects; do
    if grep -q -F "$op " "$KURA_TMP/calls.txt" && grep -F "$op " "$KURA_TMP/calls.txt" | grep -q -v ' 0$'; then
        t_ok "driver call exercised: $op"
    else
        t_fail "driver call exercised: $op" "not seen in: $(tr '\n' ' ' <"$KURA_TMP/calls.txt")"
    fi
done
if grep -q '^BAD' "$KURA_TMP/calls.txt"; then
    t_fail "no 5xx answers to the driver" "$(grep '^BAD' "$KURA_TMP/calls.txt" | head -5)"
else
    t_ok "no 5xx answers to the driver"
fi

# client-side 404s (blob/manifest unknown) are logged at error level too: ignore those
grep -E 'level=(error|panic|fatal)' "$KURA_TMP/registry.log" |
    grep -v -E 'err.code="?(manifest unknown|blob unknown|name unknown)' >"$KURA_TMP/registry.err"
if [ -s "$KURA_TMP/registry.err" ]; then
    echo "---- registry errors:"
    head -20 "$KURA_TMP/registry.err" | cut -c1-400
    t_fail "registry log has no errors" "see above"
else
    t_ok "registry log has no errors"
fi
t_finish
