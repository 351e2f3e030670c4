#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# curl --aws-sigv4 against kura, plus hand-built streaming (aws-chunked)
# uploads from streaming_checks.py.
#
# usage: bash test_curl.sh PATH/TO/kura
#
# What curl 7.88 sends (measured): SignedHeaders=host;x-amz-date (plus any
# -H header) and no x-amz-content-sha256 header. With --data it signs the
# SHA-256 of the body; with -T (upload from a file or stdin) it signs the
# SHA-256 of the EMPTY string, whatever the body is. AWS requires
# x-amz-content-sha256, and so does kura by default (curl >= 8.1 sends it
# itself): kura_curl (harness.sh) adds it as curl 8 would; the section
# "curl without x-amz-content-sha256" below checks what kura does without it,
# by default (400 InvalidRequest) and with --allow-missing-content-sha256.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/harness.sh"
kura_watchdog 300 "$0" "$@"
kura_init "${1:-}"
need_tool curl curl
need_tool cmp diffutils
unset_ca_env
kura_start
echo "$(curl --version | head -1)"

E=$KURA_ENDPOINT
B=curlb
W=$KURA_TMP/w
O=$KURA_TMP/out.txt
H=$KURA_TMP/headers.txt
mkdir -p "$W"

# status of a signed request: sc ARGS... (body to $O, headers to $H)
sc() { kura_curl -o "$O" -D "$H" -w '%{http_code}' "$@" 2>>"$KURA_TMP/curl.err"; }
header() { grep -i "^$1:" "$H" | head -1 | sed -E 's/^[^:]+: *//; s/\r$//'; }
xml_code() { "$KURA_IT_PY" -c 'import sys,xml.etree.ElementTree as ET; r=ET.parse(sys.argv[1]).getroot(); print(next((e.text for e in r.iter() if e.tag.split("}")[-1]=="Code"),""))' "$O" 2>/dev/null; }
list_keys() { "$KURA_IT_PY" -c 'import sys,xml.etree.ElementTree as ET; r=ET.parse(sys.argv[1]).getroot(); [print(e.text) for e in r.iter() if e.tag.split("}")[-1]=="Key"]' "$O"; }

expect_eq "create bucket" 200 "$(sc -X PUT "$E/$B")"
check_rid() { if [ -n "$(header x-amz-request-id)" ]; then t_ok "$1: x-amz-request-id"; else t_fail "$1: x-amz-request-id" "missing in $(tr -d '\r' <"$H" | tr '\n' '|')"; fi; }
check_rid "create bucket"

printf 'hello from curl\n' >"$W/small.txt"
head -c $((3 * 1024 * 1024 + 7)) /dev/urandom >"$W/mid.bin"
MD5_MID=$(md5sum <"$W/mid.bin" | cut -d' ' -f1)

# -T with x-amz-content-sha256: UNSIGNED-PAYLOAD
expect_eq "PUT -T (UNSIGNED-PAYLOAD)" 200 "$(sc -T "$W/mid.bin" -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$E/$B/mid.bin")"
expect_eq "PUT -T ETag" "\"$MD5_MID\"" "$(header ETag)"
check_rid "PUT"
expect_eq "GET" 200 "$(sc "$E/$B/mid.bin")"
expect_file_eq "GET body" "$W/mid.bin" "$O"
expect_eq "GET Content-Length" "$(stat -c %s "$W/mid.bin")" "$(header Content-Length)"

# -T with the real payload hash
SHA=$(sha256sum <"$W/small.txt" | cut -d' ' -f1)
expect_eq "PUT -T (x-amz-content-sha256 = real hash)" 200 "$(sc -T "$W/small.txt" -H "x-amz-content-sha256: $SHA" "$E/$B/small-hash.txt")"
expect_eq "GET small-hash" 200 "$(sc "$E/$B/small-hash.txt")"
expect_file_eq "GET small-hash body" "$W/small.txt" "$O"
expect_eq "PUT -T with a wrong x-amz-content-sha256" 400 "$(sc -T "$W/small.txt" -H "x-amz-content-sha256: $(echo x | sha256sum | cut -d' ' -f1)" "$E/$B/wrong-hash.txt")"
expect_eq "wrong hash -> XAmzContentSHA256Mismatch" XAmzContentSHA256Mismatch "$(xml_code)"
expect_eq "no object after a hash mismatch" 404 "$(sc -I "$E/$B/wrong-hash.txt")"

# --data-binary with the body's hash, as a user of AWS (or curl >= 8.1) sends it
SHA_SMALL=$(sha256sum <"$W/small.txt" | cut -d' ' -f1)
expect_eq "PUT --data-binary (x-amz-content-sha256 = body hash)" 200 "$(sc -X PUT -H 'Content-Type: text/plain' \
    -H "x-amz-content-sha256: $SHA_SMALL" --data-binary "@$W/small.txt" "$E/$B/small-data.txt")"
expect_eq "GET small-data" 200 "$(sc "$E/$B/small-data.txt")"
expect_file_eq "GET small-data body" "$W/small.txt" "$O"
expect_eq "small-data Content-Type" "text/plain" "$(header Content-Type)"

# -T - : stdin, sent with HTTP chunked transfer encoding and no length.
# AWS answers 411 MissingContentLength; storing it exactly is fine too.
head -c $((2 * 1024 * 1024 + 3)) /dev/urandom >"$W/stdin.bin"
STDIN_STORED=0
st=$(sc -T - -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$E/$B/stdin.bin" <"$W/stdin.bin")
if [ "$st" == 200 ]; then
    STDIN_STORED=1
    expect_eq "GET stdin upload" 200 "$(sc "$E/$B/stdin.bin")"
    expect_file_eq "PUT -T - (chunked, no length) stored exactly" "$W/stdin.bin" "$O"
else
    expect_eq "PUT -T - (chunked, no length) refused as AWS does" "411 MissingContentLength" "$st $(xml_code)"
    expect_eq "no object after a refused chunked PUT" 404 "$(sc -I "$E/$B/stdin.bin")"
fi

# metadata headers
expect_eq "PUT with metadata" 200 "$(sc -T "$W/small.txt" -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
    -H 'Content-Type: text/x-curl' -H 'x-amz-meta-origin: curl test' -H 'Cache-Control: no-cache' "$E/$B/meta.txt")"
expect_eq "HEAD" 200 "$(sc -I "$E/$B/meta.txt")"
expect_eq "HEAD Content-Type" "text/x-curl" "$(header Content-Type)"
expect_eq "HEAD x-amz-meta-origin" "curl test" "$(header x-amz-meta-origin)"
expect_eq "HEAD Cache-Control" "no-cache" "$(header Cache-Control)"
expect_eq "HEAD Content-Length" "$(stat -c %s "$W/small.txt")" "$(header Content-Length)"
expect_eq "HEAD ETag" "\"$(md5sum <"$W/small.txt" | cut -d' ' -f1)\"" "$(header ETag)"
check_rid "HEAD"

# Range
expect_eq "GET Range" 206 "$(sc -H 'Range: bytes=100-199' "$E/$B/mid.bin")"
tail -c +101 "$W/mid.bin" | head -c 100 >"$W/range.want"
expect_file_eq "GET Range body" "$W/range.want" "$O"
expect_eq "GET Range Content-Range" "bytes 100-199/$(stat -c %s "$W/mid.bin")" "$(header Content-Range)"
expect_eq "GET Range bytes=N- (docker-registry style)" 206 "$(sc -H 'Range: bytes=3145728-' "$E/$B/mid.bin")"
tail -c +3145729 "$W/mid.bin" >"$W/range2.want"
expect_file_eq "GET Range bytes=N- body" "$W/range2.want" "$O"

# list
expect_eq "ListObjectsV2" 200 "$(sc "$E/$B?list-type=2")"
want="meta.txt mid.bin small-data.txt small-hash.txt"
[ "$STDIN_STORED" == 1 ] && want="$want stdin.bin"
expect_eq "ListObjectsV2 keys" "$(printf '%s\n' $want)" "$(list_keys)"
expect_eq "ListObjectsV2 prefix" 200 "$(sc "$E/$B?list-type=2&prefix=small")"
want="small-data.txt small-hash.txt"
expect_eq "ListObjectsV2 prefix keys" "$(printf '%s\n' $want)" "$(list_keys)"
expect_eq "ListObjects v1" 200 "$(sc "$E/$B?prefix=m&max-keys=1")"
expect_eq "ListObjects v1 max-keys=1" "meta.txt" "$(list_keys)"
expect_eq "ListObjects v1 marker" 200 "$(sc "$E/$B?prefix=m&marker=meta.txt")"
expect_eq "ListObjects v1 after marker" "mid.bin" "$(list_keys)"
expect_eq "ListBuckets" 200 "$(sc "$E/")"
if grep -q "<Name>$B</Name>" "$O"; then t_ok "ListBuckets names $B"; else t_fail "ListBuckets names $B" "$(head -c 600 "$O")"; fi

# DELETE
expect_eq "DELETE" 204 "$(sc -X DELETE "$E/$B/meta.txt")"
expect_eq "GET after DELETE" 404 "$(sc "$E/$B/meta.txt")"
expect_eq "GET after DELETE code" NoSuchKey "$(xml_code)"
check_rid "404 error"

# auth errors
EMPTYH=(-H "x-amz-content-sha256: $KURA_EMPTY_SHA256")
st=$(curl -sS -o "$O" -D "$H" -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" --user "$KURA_AK:wrong$KURA_SK" "${EMPTYH[@]}" "$E/$B/mid.bin")
expect_eq "wrong secret status" 403 "$st"
expect_eq "wrong secret code" SignatureDoesNotMatch "$(xml_code)"
st=$(curl -sS -o "$O" -D "$H" -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" --user "AKNOBODY0000000000:$KURA_SK" "${EMPTYH[@]}" "$E/$B/mid.bin")
expect_eq "unknown key status" 403 "$st"
expect_eq "unknown key code" InvalidAccessKeyId "$(xml_code)"
st=$(curl -sS -o "$O" -D "$H" -w '%{http_code}' "$E/$B/mid.bin")
expect_eq "anonymous GET of private object" 403 "$st"
expect_eq "anonymous GET code" AccessDenied "$(xml_code)"

# virtual-host style (kura's default domain is localhost)
RES=(--resolve "$B.localhost:$KURA_PORT:127.0.0.1")
expect_eq "vhost GET" 200 "$(sc "${RES[@]}" "http://$B.localhost:$KURA_PORT/mid.bin")"
expect_file_eq "vhost GET body" "$W/mid.bin" "$O"
expect_eq "vhost PUT" 200 "$(sc "${RES[@]}" -T "$W/small.txt" -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "http://$B.localhost:$KURA_PORT/vhost.txt")"
expect_eq "path-style GET of vhost PUT" 200 "$(sc "$E/$B/vhost.txt")"
expect_file_eq "vhost PUT body" "$W/small.txt" "$O"
expect_eq "vhost list" 200 "$(sc "${RES[@]}" "http://$B.localhost:$KURA_PORT/?list-type=2&prefix=vhost")"
expect_eq "vhost list keys" "vhost.txt" "$(list_keys)"

# curl without x-amz-content-sha256 (issue 7, F9). curl 7.x sends none;
# curl >= 8.1 sends one itself, and then there is nothing to check here.
raw() { kura_curl_raw -o "$O" -D "$H" -w '%{http_code}' "$@" 2>>"$KURA_TMP/curl.err"; }
xml_message() { "$KURA_IT_PY" -c 'import sys,xml.etree.ElementTree as ET; r=ET.parse(sys.argv[1]).getroot(); print(next((e.text for e in r.iter() if e.tag.split("}")[-1]=="Message"),""))' "$O" 2>/dev/null; }
kura_curl_raw -o /dev/null -v "$E/$B/mid.bin" 2>"$KURA_TMP/probe.err"
if grep -qi '^> x-amz-content-sha256:' "$KURA_TMP/probe.err"; then
    t_skip "curl without x-amz-content-sha256" "this curl sends x-amz-content-sha256 itself"
else
    MISSING="Missing required header for this request: x-amz-content-sha256"
    # default: refused, as AWS does, and nothing is stored
    expect_eq "no x-amz-content-sha256: GET refused" "400 InvalidRequest" "$(raw "$E/$B/mid.bin") $(xml_code)"
    expect_eq "no x-amz-content-sha256: message" "$MISSING" "$(xml_message)"
    expect_eq "no x-amz-content-sha256: PUT --data-binary refused" "400 InvalidRequest" \
        "$(raw -X PUT --data-binary "@$W/small.txt" "$E/$B/nohdr-data.txt") $(xml_code)"
    expect_eq "no x-amz-content-sha256: PUT -T refused" "400 InvalidRequest" \
        "$(raw -T "$W/small.txt" "$E/$B/nohdr-T.txt") $(xml_code)"
    expect_eq "refused --data-binary: no object" 404 "$(sc -I "$E/$B/nohdr-data.txt")"
    expect_eq "refused -T: no object" 404 "$(sc -I "$E/$B/nohdr-T.txt")"

    # --allow-missing-content-sha256: accepted when the signature covers
    # the payload (no body; --data, whose hash curl signs), never -T (curl
    # signs the empty payload, so the body would be unsigned)
    KURA_EXTRA_ARGS=(--allow-missing-content-sha256)
    kura_restart
    expect_eq "allowed: GET without x-amz-content-sha256" 200 "$(raw "$E/$B/mid.bin")"
    expect_file_eq "allowed: GET body" "$W/mid.bin" "$O"
    expect_eq "allowed: PUT --data-binary (body hash checked against the signature)" 200 \
        "$(raw -X PUT -H 'Content-Type: text/plain' --data-binary "@$W/small.txt" "$E/$B/nohdr-data.txt")"
    expect_eq "allowed: GET nohdr-data" 200 "$(sc "$E/$B/nohdr-data.txt")"
    expect_file_eq "allowed: --data-binary stored exactly" "$W/small.txt" "$O"
    expect_eq "allowed: plain PUT -T still refused (body not signed)" "403 SignatureDoesNotMatch" \
        "$(raw -T "$W/small.txt" "$E/$B/nohdr-T.txt") $(xml_code)"
    expect_eq "allowed: refused -T: no object" 404 "$(sc -I "$E/$B/nohdr-T.txt")"
    expect_eq "allowed: DELETE nohdr-data" 204 "$(raw -X DELETE "$E/$B/nohdr-data.txt")"
    KURA_EXTRA_ARGS=()
    kura_restart
    expect_eq "flag off again: GET refused" "400 InvalidRequest" "$(raw "$E/$B/mid.bin") $(xml_code)"
fi

# streaming uploads built by hand
echo "---- streaming_checks.py"
"$KURA_IT_PY" "$HERE/streaming_checks.py" --port "$KURA_PORT" --ak "$KURA_AK" --sk "$KURA_SK" --bucket streamb >"$KURA_TMP/stream.out" 2>&1
cat "$KURA_TMP/stream.out"
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$KURA_TMP/stream.out" | tail -1)
if [ -n "$line" ]; then
    T_PASS=$((T_PASS + $(echo "$line" | awk '{print $1}')))
    nf=$(echo "$line" | awk '{print $3}')
    T_FAIL=$((T_FAIL + nf))
    [ "$nf" -gt 0 ] && T_FAILURES+=("streaming_checks.py: $nf failed (see above)")
else
    t_fail "streaming_checks.py" "did not finish: $(tail -5 "$KURA_TMP/stream.out")"
fi

t_finish
