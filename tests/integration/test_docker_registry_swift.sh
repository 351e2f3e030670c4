#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Debian's docker-registry (distribution 2.8) with its Swift storage driver
# on kura: TempAuth v1, DLO segments written chunked and read back as one
# object, COPY-then-DELETE moves, bulk delete, and TempURL redirects for blob
# downloads, each seen through a recording proxy. skopeo pushes a small 3-layer OCI image built with umoci and
# pulls it back; every blob is compared byte for byte (also as stored in
# kura, read through S3 as one object).
#
# usage: bash test_docker_registry_swift.sh PATH/TO/kura
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/harness.sh"
kura_watchdog 300 "$0" "$@"
kura_init "${1:-}"
need_tool docker-registry docker-registry
need_tool skopeo skopeo
need_tool umoci umoci
need_tool curl curl
need_tool cmp diffutils
unset_ca_env
unset HTTP_PROXY HTTPS_PROXY http_proxy https_proxy
kura_start

W=$KURA_TMP/w
O=$KURA_TMP/out.txt
mkdir -p "$W"
json() { "$KURA_IT_PY" -c 'import json,sys; d=json.load(sys.stdin); r=eval(sys.argv[1]); print(r if isinstance(r,str) else json.dumps(r))' "$1"; }

kura_store_args
run_ok "kura admin user add reg:pusher" "$KURA_BIN" admin user add "${KURA_STORE[@]}" --admin reg:pusher reg-secret-key-1
# A recording proxy between the registry and kura, to check the driver's
# call set below (kura builds the storage URL from Host: the proxy's).
PROXYPORT=$("$KURA_IT_PY" "$HARNESS_DIR/harness.py" free-port)
setpriv --pdeathsig TERM -- "$KURA_IT_PY" "$HARNESS_DIR/harness.py" proxy "$PROXYPORT" "$KURA_PORT" "$KURA_TMP/calls.log" \
    >"$KURA_TMP/proxy.log" 2>&1 &
PROXY_PID=$!
"$KURA_IT_PY" "$HARNESS_DIR/harness.py" wait-port "$PROXYPORT" 10 || kura_die "recording proxy did not start: $(cat "$KURA_TMP/proxy.log")"

REGPORT=$("$KURA_IT_PY" "$HARNESS_DIR/harness.py" free-port)
cat >"$W/registry.yml" <<EOF
version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  swift:
    authurl: http://127.0.0.1:$PROXYPORT/auth/v1.0
    username: reg:pusher
    password: reg-secret-key-1
    container: registry
    prefix: /reg
    chunksize: 1048576
    secretkey: kura-tempurl-secret
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
oci_image "$W" 5
MD=$(oci_manifest_of "$OCI" img)
BLOBS=$(oci_blobs_of "$OCI" "$MD")

# -------------------------------------------------------------- push
SK=(skopeo --insecure-policy)
run_ok "skopeo copy oci -> registry (swift driver)" "${SK[@]}" copy --dest-tls-verify=false "oci:$OCI:img" "docker://$REG/kura/swift:1"
[ -s "$KURA_TMP/last.out" ] && tail -5 "$KURA_TMP/last.out"
run_ok "skopeo copy again (blobs exist)" "${SK[@]}" copy --dest-tls-verify=false "oci:$OCI:img" "docker://$REG/kura/swift:2"
"${SK[@]}" inspect --tls-verify=false "docker://$REG/kura/swift:1" >"$O" 2>&1
expect_eq "skopeo inspect layer digests" "$(echo "$BLOBS" | tail -n +2 | sed 's/^/sha256:/' | tr '\n' ' ')" \
    "$(json '" ".join(d["Layers"])+" "' <"$O" 2>/dev/null)"
expect_eq "tags list" '["1", "2"]' "$(curl -s "http://$REG/v2/kura/swift/tags/list" | json 'sorted(d["tags"])')"

# blobs as stored in kura: DLO manifests over the driver's segments, read as
# one object through S3 (root) and through Swift (the registry's user)
TOK=$(curl -s -D - -o /dev/null -H 'X-Auth-User: reg:pusher' -H 'X-Auth-Key: reg-secret-key-1' "$KURA_ENDPOINT/auth/v1.0" | tr -d '\r' | sed -n 's/^[Xx]-[Aa]uth-[Tt]oken: //p')
L2=$(echo "$BLOBS" | sed -n 3p)
for d in $BLOBS; do
    path=reg/files/docker/registry/v2/blobs/sha256/${d:0:2}/$d/data
    st=$(kura_curl -o "$W/stored" -w '%{http_code}' "$KURA_ENDPOINT/registry/$path")
    if [ "$st" == 200 ] && cmp -s "$W/stored" "$OCI/blobs/sha256/$d"; then
        t_ok "blob ${d:0:12} read through S3 byte for byte"
    else
        t_fail "blob ${d:0:12} read through S3" "status $st, size $(stat -c %s "$W/stored" 2>/dev/null), want $(stat -c %s "$OCI/blobs/sha256/$d")"
    fi
    curl -s -D "$W/h" -o "$W/stored" -H "X-Auth-Token: $TOK" "$KURA_ENDPOINT/v1/AUTH_reg/registry/$path"
    cmp -s "$W/stored" "$OCI/blobs/sha256/$d" && t_ok "blob ${d:0:12} read through Swift" ||
        t_fail "blob ${d:0:12} read through Swift" "$(head -1 "$W/h")"
done
path=reg/files/docker/registry/v2/blobs/sha256/${L2:0:2}/$L2/data
curl -s -D "$W/h" -o /dev/null -I -H "X-Auth-Token: $TOK" "$KURA_ENDPOINT/v1/AUTH_reg/registry/$path"
grep -qi '^x-object-manifest: registry/reg/segments/' "$W/h" && t_ok "the 5 MiB layer is a DLO over the driver's segments" ||
    t_fail "the 5 MiB layer is a DLO" "$(cat "$W/h")"
nseg=$(curl -s -H "X-Auth-Token: $TOK" "$KURA_ENDPOINT/v1/AUTH_reg/registry?prefix=reg/segments/&format=json" | json 'len(d)')
[ "${nseg:-0}" -ge 6 ] && t_ok "segments stored ($nseg)" || t_fail "segments stored" "$nseg"

# ---------------------------------------------------------------- pull
OUT=$W/pulled
run_ok "skopeo copy registry -> oci" "${SK[@]}" copy --src-tls-verify=false "docker://$REG/kura/swift:1" "oci:$OUT:pulled"
PMD=$(oci_manifest_of "$OUT" pulled)
expect_eq "pulled manifest digest" "$MD" "$PMD"
for d in $MD $BLOBS; do
    expect_file_eq "pulled blob ${d:0:12}" "$OCI/blobs/sha256/$d" "$OUT/blobs/sha256/$d"
done
# a blob download through the registry: a TempURL redirect to kura
st=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "http://$REG/v2/kura/swift/blobs/sha256:$L2")
case $st in
"307 "*temp_url_sig=*) t_ok "blob GET redirects to a kura TempURL" ;;
*) t_fail "blob GET redirects to a kura TempURL" "$st" ;;
esac
curl -sL -o "$W/range.out" -H 'Range: bytes=1000-' "http://$REG/v2/kura/swift/blobs/sha256:$L2"
tail -c +1001 "$OCI/blobs/sha256/$L2" >"$W/range.want"
expect_file_eq "blob read with Range bytes=1000- via the TempURL" "$W/range.want" "$W/range.out"

# --------------------------------------------------------------- delete
run_ok "skopeo delete tag 2's manifest" "${SK[@]}" delete --tls-verify=false "docker://$REG/kura/swift:2"
expect_fail "pull after delete fails" "${SK[@]}" inspect --tls-verify=false "docker://$REG/kura/swift:1"

stop_registry

# ------------------------------------------------- the driver's call set
echo "---- Swift calls made by the registry's driver (method, path, status, headers):"
sed -E 's/[0-9a-f]{20,}/H/g; s/[0-9]{16}/N/g; s/\?.*temp_url_sig=[^ ]*/?TEMPURL/' "$KURA_TMP/calls.log" |
    awk '{print $1, $2, $3, $4}' | sort | uniq -c | sort -rn | head -40 | sed 's/^/     /'
calls() { grep -E "$1" "$KURA_TMP/calls.log" | wc -l; }
# (a move of a DLO re-PUTs its manifest under the new name: COPY is for
# plain objects, which this image's uploads never are)
for what in '^GET /auth/v1.0 200' '^GET /info 200' '^HEAD /v1/AUTH_reg/registry 404' \
    '^PUT /v1/AUTH_reg/registry 201' '^POST /v1/AUTH_reg 204' \
    '^PUT /v1/AUTH_reg/registry/reg/segments/.* 201' \
    '^PUT /v1/AUTH_reg/registry/reg/files/.*/_uploads/.* 201 .*x-object-manifest=registry/reg/segments/' \
    '^PUT /v1/AUTH_reg/registry/reg/files/docker/registry/v2/blobs/.* 201 .*x-object-manifest=registry/reg/segments/' \
    '^DELETE /v1/AUTH_reg/registry/reg/files/.*/_uploads/.*/data 204' \
    '^DELETE /v1/AUTH_reg\?bulk-delete=1 200' '^GET /v1/AUTH_reg/registry/.*temp_url_sig=.* 20[06]' \
    '^GET /v1/AUTH_reg/registry\?.*format=json.* 200'; do
    n=$(calls "$what")
    [ "$n" -gt 0 ] && t_ok "driver call: $what ($n)" || t_fail "driver call: $what" "not seen"
done
n=$(grep -c -E ' 5[0-9][0-9]( |$)| proxy-error' "$KURA_TMP/calls.log")
expect_eq "no 5xx answers to the driver" 0 "$n"

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
