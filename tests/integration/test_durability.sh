#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Crash durability: kill -9 right after acknowledged writes, and in the middle
# of uploads; after each restart everything acknowledged is there byte for
# byte, nothing half-written is visible, and the server keeps working.
#
# usage: bash test_durability.sh PATH/TO/kura
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/harness.sh"
kura_watchdog 300 "$0" "$@"
kura_init "${1:-}"
need_tool curl curl
need_tool cmp diffutils
unset_ca_env
kura_start

E=$KURA_ENDPOINT
B=durab
W=$KURA_TMP/w
O=$KURA_TMP/out.txt
mkdir -p "$W"
UNS=(-H 'x-amz-content-sha256: UNSIGNED-PAYLOAD')
sc() { kura_curl -o "$O" -w '%{http_code}' "$@" 2>>"$KURA_TMP/curl.err"; }
list_keys() {
    kura_curl -o "$O" "$E/$B?list-type=2&prefix=$1" 2>/dev/null
    "$KURA_IT_PY" -c 'import sys,xml.etree.ElementTree as ET; r=ET.parse(sys.argv[1]).getroot(); [print(e.text) for e in r.iter() if e.tag.split("}")[-1]=="Key"]' "$O" 2>/dev/null
}
restart_after_kill() {
    kura_kill9
    kura_start
}

expect_eq "create bucket" 200 "$(sc -X PUT "$E/$B")"
restart_after_kill

# ------------------------------------------- kill -9 after every 200 OK
SIZES=(0 1 100 4096 65536 1000000 5242881 9000000 33554432)
KEYS=()
for i in "${!SIZES[@]}"; do
    f=$W/obj$i
    head -c "${SIZES[$i]}" /dev/urandom >"$f"
    k="acked/obj-$i-${SIZES[$i]}"
    KEYS+=("$k")
    st=$(sc -T "$f" "${UNS[@]}" "$E/$B/$k")
    if [ "$st" != 200 ]; then t_fail "PUT $k" "status $st: $(head -c 300 "$O")"; fi
    restart_after_kill
done
t_ok "PUT + kill -9 + restart x${#SIZES[@]}"

# overwrite then crash: the new version must win
head -c 777 /dev/urandom >"$W/over"
expect_eq "overwrite obj-2" 200 "$(sc -T "$W/over" "${UNS[@]}" "$E/$B/${KEYS[2]}")"
cp "$W/over" "$W/obj2"
restart_after_kill
# delete then crash: must stay deleted
expect_eq "delete obj-1" 204 "$(sc -X DELETE "$E/$B/${KEYS[1]}")"
restart_after_kill

# multipart complete then crash
head -c $((5 * 1024 * 1024)) /dev/urandom >"$W/mp1"
head -c 12345 /dev/urandom >"$W/mp2"
st=$(sc -X POST "$E/$B/acked/multipart?uploads")
UPLOAD=$("$KURA_IT_PY" -c 'import sys,xml.etree.ElementTree as ET; r=ET.parse(sys.argv[1]).getroot(); print(next(e.text for e in r.iter() if e.tag.split("}")[-1]=="UploadId"))' "$O" 2>/dev/null)
expect_eq "create multipart upload" 200 "$st"
ETAGS=()
for n in 1 2; do
    kura_curl -o /dev/null -D "$KURA_TMP/h" -T "$W/mp$n" "${UNS[@]}" "$E/$B/acked/multipart?partNumber=$n&uploadId=$UPLOAD" 2>/dev/null
    ETAGS+=("$(grep -i '^etag:' "$KURA_TMP/h" | sed -E 's/^[^:]+: *//; s/\r$//')")
done
restart_after_kill # parts must survive a crash too
printf '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part><Part><PartNumber>2</PartNumber><ETag>%s</ETag></Part></CompleteMultipartUpload>' \
    "${ETAGS[0]}" "${ETAGS[1]}" >"$W/complete.xml"
st=$(sc -X POST -H "x-amz-content-sha256: $(sha256sum <"$W/complete.xml" | cut -d' ' -f1)" \
    --data-binary "@$W/complete.xml" "$E/$B/acked/multipart?uploadId=$UPLOAD")
expect_eq "complete multipart after a crash between parts and complete" "200" "$st$([ "$st" != 200 ] && echo " $(head -c 400 "$O")")"
restart_after_kill
cat "$W/mp1" "$W/mp2" >"$W/mp.want"

# ---------------------------------------------------- verify after crashes
verify_acked() {
    local tag=$1 i
    for i in "${!KEYS[@]}"; do
        if [ "$i" == 1 ]; then
            expect_eq "$tag: deleted ${KEYS[$i]} stays deleted" 404 "$(sc -I "$E/$B/${KEYS[$i]}")"
            continue
        fi
        expect_eq "$tag: GET ${KEYS[$i]}" 200 "$(sc "$E/$B/${KEYS[$i]}")"
        expect_file_eq "$tag: ${KEYS[$i]} byte-identical" "$W/obj$i" "$O"
    done
    expect_eq "$tag: GET multipart" 200 "$(sc "$E/$B/acked/multipart")"
    expect_file_eq "$tag: multipart byte-identical" "$W/mp.want" "$O"
    local want
    want=$(for i in "${!KEYS[@]}"; do [ "$i" != 1 ] && echo "${KEYS[$i]}"; done; echo acked/multipart)
    expect_eq "$tag: listing" "$(echo "$want" | LC_ALL=C sort)" "$(list_keys acked/)"
}
verify_acked "after crashes"

# ------------------------------------------- kill -9 in the middle of uploads
head -c $((64 * 1024 * 1024)) /dev/urandom >"$W/big"

# (a) Content-Length known, sent slowly
kura_curl -o /dev/null --limit-rate 8M -T "$W/big" "${UNS[@]}" "$E/$B/partial/cl" 2>/dev/null &
CURL_PID=$!
sleep 2.5
restart_after_kill
wait "$CURL_PID" 2>/dev/null
expect_eq "interrupted upload (Content-Length) is not visible" 404 "$(sc -I "$E/$B/partial/cl")"

# (b) chunked transfer encoding from a slow pipe
"$KURA_IT_PY" -c '
import sys, time
src = open(sys.argv[1], "rb")
out = sys.stdout.buffer
while True:
    b = src.read(1 << 20)
    if not b:
        break
    out.write(b); out.flush(); time.sleep(0.1)
' "$W/big" 2>/dev/null | kura_curl -o /dev/null -T - "${UNS[@]}" "$E/$B/partial/chunked" 2>/dev/null &
PIPE_PID=$!
sleep 2.5
restart_after_kill
wait "$PIPE_PID" 2>/dev/null
expect_eq "interrupted upload (chunked) is not visible" 404 "$(sc -I "$E/$B/partial/chunked")"

# (c) a multipart part interrupted
st=$(sc -X POST "$E/$B/partial/mp?uploads")
U3=$("$KURA_IT_PY" -c 'import sys,xml.etree.ElementTree as ET; r=ET.parse(sys.argv[1]).getroot(); print(next(e.text for e in r.iter() if e.tag.split("}")[-1]=="UploadId"))' "$O" 2>/dev/null)
kura_curl -o /dev/null --limit-rate 8M -T "$W/big" "${UNS[@]}" "$E/$B/partial/mp?partNumber=1&uploadId=$U3" 2>/dev/null &
CURL_PID=$!
sleep 2
restart_after_kill
wait "$CURL_PID" 2>/dev/null
st=$(sc "$E/$B/partial/mp?uploadId=$U3")
if [ "$st" == 200 ]; then
    n=$("$KURA_IT_PY" -c 'import sys,xml.etree.ElementTree as ET; r=ET.parse(sys.argv[1]).getroot(); print(sum(1 for e in r.iter() if e.tag.split("}")[-1]=="Part"))' "$O")
    expect_eq "interrupted part is not listed" 0 "$n"
else
    expect_eq "ListParts after an interrupted part" 200 "$st"
fi
expect_eq "abort the interrupted upload" 204 "$(sc -X DELETE "$E/$B/partial/mp?uploadId=$U3")"

verify_acked "after mid-upload crashes"
expect_eq "nothing under partial/" "" "$(list_keys partial/)"

# the server still works: full PUT of the same 64 MiB, GET back
expect_eq "PUT 64 MiB after crashes" 200 "$(sc -T "$W/big" "${UNS[@]}" "$E/$B/partial/cl")"
expect_eq "GET 64 MiB" 200 "$(sc "$E/$B/partial/cl")"
expect_file_eq "64 MiB byte-identical" "$W/big" "$O"
restart_after_kill
expect_eq "GET 64 MiB after kill -9" 200 "$(sc "$E/$B/partial/cl")"
expect_file_eq "64 MiB byte-identical after kill -9" "$W/big" "$O"

# a clean shutdown (SIGTERM) keeps everything too
kura_stop
kura_start
verify_acked "after SIGTERM restart"

t_finish
