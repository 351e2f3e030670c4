#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# aws-cli against kura: high-level `aws s3` and low-level `aws s3api`.
#
# usage: bash test_awscli_v2.sh PATH/TO/kura
#   KURA_IT_AWS=/path/to/aws   aws binary (default /usr/bin/aws, Debian's aws-cli v2)
#   KURA_IT_AWS_TLS=1          talk HTTPS to kura (self-signed CA via --ca-bundle)
#   KURA_IT_AWS_SUBSET=core    only the payload-related parts
# The same script drives the machine's python aws-cli v1 (it sends CRC32
# checksums by default, and aws-chunked with a trailer over HTTPS).
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/harness.sh"
kura_watchdog 570 "$0" "$@"
kura_init "${1:-}"

AWS_BIN=${KURA_IT_AWS:-/usr/bin/aws}
if [ "$AWS_BIN" == v1 ]; then
    # the machine's own python aws-cli (v1): first `aws` on PATH that is not Debian's
    AWS_BIN=""
    for a in $(type -ap aws); do
        [ "$(realpath "$a")" != /usr/bin/aws ] && { AWS_BIN=$a; break; }
    done
    [ -n "$AWS_BIN" ] || kura_die "no python aws-cli v1 on PATH besides /usr/bin/aws (PATH=$PATH)"
fi
[ -x "$AWS_BIN" ] || command -v "$AWS_BIN" >/dev/null || kura_die "aws-cli not found at $AWS_BIN (Debian package: awscli)"
need_tool curl curl
need_tool cmp diffutils

if [ "${KURA_IT_AWS_TLS:-0}" == 1 ]; then
    kura_start --tls
else
    kura_start
fi

unset_ca_env
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN \
    AWS_DEFAULT_REGION AWS_REGION AWS_ENDPOINT_URL AWS_REQUEST_CHECKSUM_CALCULATION \
    AWS_RESPONSE_CHECKSUM_VALIDATION
export AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=$KURA_TMP/aws-config
export AWS_SHARED_CREDENTIALS_FILE=$KURA_TMP/aws-credentials
export AWS_PAGER=""
cat >"$AWS_CONFIG_FILE" <<EOF
[default]
region = us-east-1
output = json
s3 =
  multipart_threshold = 8MB
  multipart_chunksize = 5MB
  addressing_style = path
EOF
cat >"$AWS_SHARED_CREDENTIALS_FILE" <<EOF
[default]
aws_access_key_id = $KURA_AK
aws_secret_access_key = $KURA_SK
EOF

# KURA_IT_AWS_SUBSET=core: skip the parts that do not depend on how the
# client sends payloads (copy, listing variants, abort), to save time.
FULL=1
[ "${KURA_IT_AWS_SUBSET:-}" == core ] && FULL=0
echo "aws: $("$AWS_BIN" --version 2>&1)$([ $FULL == 0 ] && echo ' (core subset)')"
echo "endpoint: $KURA_ENDPOINT"

AWS_CA=()
[ "$KURA_TLS" == 1 ] && AWS_CA=(--ca-bundle "$KURA_CA")
aws() {
    local t0=$EPOCHREALTIME rc
    "$AWS_BIN" --endpoint-url "$KURA_ENDPOINT" "${AWS_CA[@]}" "$@"
    rc=$?
    [ -n "${KURA_IT_TIMING:-}" ] && echo "$(awk "BEGIN{print $EPOCHREALTIME - $t0}") aws $*" >>"$KURA_IT_TIMING"
    return $rc
}
CURL_CA=()
[ "$KURA_TLS" == 1 ] && CURL_CA=(--cacert "$KURA_CA")

# json EXPR < json : evaluate a python expression over the parsed document d
json() { "$KURA_IT_PY" -c 'import json,sys; d=json.load(sys.stdin); r=eval(sys.argv[1]); print(r if isinstance(r,str) else json.dumps(r, ensure_ascii=False))' "$1"; }

W=$KURA_TMP/w
mkdir -p "$W"
B=cli-bkt
O=$KURA_TMP/out.txt

# ---------------------------------------------------------------- buckets
run_ok "s3 mb" aws s3 mb "s3://$B"
aws s3 ls >"$O" 2>&1
expect_grep "s3 ls lists the bucket" " $B\$" "$O"
expect_fail "s3 mb of an existing bucket fails" aws s3 mb "s3://$B"
expect_grep "s3 mb existing -> BucketAlreadyOwnedByYou" "BucketAlreadyOwnedByYou" "$KURA_TMP/last.out"

# ------------------------------------------------------------ small cp
printf 'hello kura\nsecond line\n' >"$W/small.txt"
run_ok "s3 cp small up" aws s3 cp "$W/small.txt" "s3://$B/small.txt"
run_ok "s3 cp small down" aws s3 cp "s3://$B/small.txt" "$W/small.down"
expect_file_eq "small round trip" "$W/small.txt" "$W/small.down"
aws s3api head-object --bucket "$B" --key small.txt >"$O" 2>&1
expect_eq "small ETag is md5" "\"$(md5sum <"$W/small.txt" | cut -d' ' -f1)\"" "$(json 'd["ETag"]' <"$O")"

# --------------------------------------------------- 20 MiB multipart cp
head -c $((20 * 1024 * 1024)) /dev/urandom >"$W/big.bin"
run_ok "s3 cp 20 MiB up (multipart)" aws s3 cp "$W/big.bin" "s3://$B/big/big.bin"
aws s3api head-object --bucket "$B" --key big/big.bin >"$O" 2>&1
expect_eq "20 MiB object size" "20971520" "$(json 'd["ContentLength"]' <"$O")"
expect_eq "20 MiB object is a 4-part multipart upload (ETag -4)" "-4\"" "$(json 'd["ETag"][-3:]' <"$O")"
run_ok "s3 cp 20 MiB down" aws s3 cp "s3://$B/big/big.bin" "$W/big.down"
expect_file_eq "20 MiB round trip" "$W/big.bin" "$W/big.down"
rm -f "$W/big.down"

# stdin upload of unknown length, stdout download
head -c $((11 * 1024 * 1024 + 5)) /dev/urandom >"$W/stream.bin"
run_ok "s3 cp from stdin" bash -c "cat '$W/stream.bin' | '$AWS_BIN' --endpoint-url '$KURA_ENDPOINT' ${AWS_CA[*]} s3 cp - s3://$B/stream.bin"
aws s3 cp "s3://$B/stream.bin" - >"$W/stream.down" 2>"$O"
expect_file_eq "s3 cp to stdout" "$W/stream.bin" "$W/stream.down"

# ----------------------------------------------------------------- sync
T=$W/tree
mkdir -p "$T/sub/deeper" "$T/ü"
echo a >"$T/a.txt"
echo b >"$T/sub/b.txt"
head -c 100000 /dev/urandom >"$T/sub/deeper/c.bin"
echo space >"$T/space name.txt"
echo uni >"$T/ü/uni.txt"
echo plus >"$T/plus+sign.txt"
# sync compares sizes and mtimes, and LastModified has 1 s resolution:
# files made in the same second as their upload would look newer
find "$T" -type f -exec touch -d '-1 hour' {} +
run_ok "s3 sync up" aws s3 sync "$T" "s3://$B/tree/"
aws s3 ls --recursive "s3://$B/tree/" >"$O" 2>&1
got=$(sed -E 's/^[0-9-]+ +[0-9:]+ +[0-9]+ //' "$O" | LC_ALL=C sort)
want=$(printf '%s\n' tree/a.txt tree/plus+sign.txt "tree/space name.txt" tree/sub/b.txt tree/sub/deeper/c.bin tree/ü/uni.txt | LC_ALL=C sort)
expect_eq "s3 ls --recursive after sync" "$want" "$got"
sizes=$(awk '{print $3}' "$O" | sort -n | tr '\n' ' ')
expect_eq "s3 ls --recursive sizes" "2 2 4 5 6 100000 " "$sizes"
aws s3 sync "$T" "s3://$B/tree/" >"$O" 2>&1
expect_eq "second sync uploads nothing" "" "$(cat "$O")"
run_ok "s3 sync down" aws s3 sync "s3://$B/tree/" "$W/tree.down"
run_ok "synced tree identical" diff -r "$T" "$W/tree.down"
aws s3 ls "s3://$B/tree/" >"$O" 2>&1
got=$(LC_ALL=C sort "$O" | sed -E 's/^[0-9-]+ +[0-9:]+ +[0-9]+ //; s/^ +PRE /PRE /')
want=$(printf '%s\n' "PRE sub/" "PRE ü/" a.txt plus+sign.txt "space name.txt" | LC_ALL=C sort)
expect_eq "s3 ls (delimiter) of tree/" "$want" "$(echo "$got" | LC_ALL=C sort)"

# ---------------------------------------------- s3api put/head metadata
run_ok "s3api put-object with metadata" aws s3api put-object --bucket "$B" --key meta/obj --body "$W/small.txt" \
    --content-type text/x-kura --cache-control "max-age=60" --content-disposition 'inline; filename="x.txt"' \
    --metadata color=blue,shape=round
aws s3api head-object --bucket "$B" --key meta/obj >"$O" 2>&1
expect_eq "head ContentType" "text/x-kura" "$(json 'd.get("ContentType")' <"$O")"
expect_eq "head CacheControl" "max-age=60" "$(json 'd.get("CacheControl")' <"$O")"
expect_eq "head ContentDisposition" 'inline; filename="x.txt"' "$(json 'd.get("ContentDisposition")' <"$O")"
expect_eq "head Metadata" '{"color": "blue", "shape": "round"}' "$(json 'dict(sorted(d.get("Metadata",{}).items()))' <"$O")"

# ranged get
aws s3api get-object --bucket "$B" --key big/big.bin --range bytes=1000-1999 "$W/range.out" >"$O" 2>&1
expect_eq "get-object --range ContentRange" "bytes 1000-1999/20971520" "$(json 'd.get("ContentRange")' <"$O")"
tail -c +1001 "$W/big.bin" | head -c 1000 >"$W/range.want"
expect_file_eq "get-object --range body" "$W/range.want" "$W/range.out"

# --------------------------------------------------------- copy-object
if [ "$FULL" == 1 ]; then
run_ok "copy-object COPY" aws s3api copy-object --bucket "$B" --key meta/copy --copy-source "$B/meta/obj"
aws s3api head-object --bucket "$B" --key meta/copy >"$O" 2>&1
expect_eq "COPY keeps metadata" '{"color": "blue", "shape": "round"} text/x-kura' \
    "$(json '"%s %s" % (json.dumps(dict(sorted(d.get("Metadata",{}).items()))), d.get("ContentType"))' <"$O")"
run_ok "copy-object REPLACE" aws s3api copy-object --bucket "$B" --key meta/copy2 --copy-source "$B/meta/obj" \
    --metadata-directive REPLACE --metadata new=yes --content-type application/x-new
aws s3api head-object --bucket "$B" --key meta/copy2 >"$O" 2>&1
expect_eq "REPLACE sets new metadata" '{"new": "yes"} application/x-new' \
    "$(json '"%s %s" % (json.dumps(d.get("Metadata",{})), d.get("ContentType"))' <"$O")"
aws s3 cp "s3://$B/meta/copy2" "$W/copy2.down" >/dev/null 2>&1
expect_file_eq "copied content" "$W/small.txt" "$W/copy2.down"
run_ok "copy-object onto itself REPLACE" aws s3api copy-object --bucket "$B" --key meta/obj --copy-source "$B/meta/obj" \
    --metadata-directive REPLACE --metadata self=1
aws s3api head-object --bucket "$B" --key meta/obj >"$O" 2>&1
expect_eq "self-copy metadata" '{"self": "1"}' "$(json 'd.get("Metadata")' <"$O")"
fi

# ------------------------------------------------- list-objects-v2 paging
mkdir -p "$W/page"
for i in $(seq -w 1 25); do echo "$i" >"$W/page/k$i"; done
run_ok "sync 25 keys" aws s3 sync "$W/page" "s3://$B/page/"
if [ "$FULL" == 1 ]; then
want=$(for i in $(seq -w 1 25); do echo "page/k$i"; done)
got="" tok="" n=0
while :; do
    args=(--bucket "$B" --prefix page/ --page-size 4 --max-items 10)
    [ -n "$tok" ] && args+=(--starting-token "$tok")
    aws s3api list-objects-v2 "${args[@]}" >"$O" 2>&1 || break
    got+=$(json '"\n".join(x["Key"] for x in d.get("Contents",[]))' <"$O")$'\n'
    tok=$(json 'd.get("NextToken","")' <"$O")
    n=$((n + 1))
    [ -z "$tok" ] || [ $n -gt 10 ] && break
done
expect_eq "list-objects-v2 --max-items 10 --page-size 4 (all keys)" "$want" "$(echo -n "$got" | sed '/^$/d')"
expect_eq "list-objects-v2 --max-items 10: number of calls" 3 "$n"
aws s3api list-objects-v2 --bucket "$B" --prefix page/ --max-keys 7 --no-paginate >"$O" 2>&1
expect_eq "list-objects-v2 --max-keys 7 --no-paginate" "7 True" "$(json '"%d %s" % (d["KeyCount"], d["IsTruncated"])' <"$O")"
fi

# ------------------------------------------------------- delete-objects
aws s3api delete-objects --bucket "$B" --delete '{"Objects":[{"Key":"page/k01"},{"Key":"page/k03"},{"Key":"page/none"}]}' >"$O" 2>&1
expect_eq "delete-objects Deleted" '["page/k01", "page/k03", "page/none"]' "$(json 'sorted(x["Key"] for x in d.get("Deleted",[]))' <"$O")"
aws s3api delete-objects --bucket "$B" --delete '{"Objects":[{"Key":"page/k02"}],"Quiet":true}' >"$O" 2>&1
[ -s "$O" ] || echo '{}' >"$O"
expect_eq "quiet delete-objects reports nothing" "[]" "$(json 'd.get("Deleted",[])' <"$O")"
aws s3api list-objects-v2 --bucket "$B" --prefix page/ --max-keys 3 >"$O" 2>&1
expect_eq "after delete-objects" '["page/k04", "page/k05", "page/k06"]' "$(json '[x["Key"] for x in d.get("Contents",[])]' <"$O")"

# ------------------------------------------- list-objects v1 + delimiter
if [ "$FULL" == 1 ]; then
aws s3api list-objects --bucket "$B" --prefix tree/ --delimiter / >"$O" 2>&1
expect_eq "list-objects v1 delimiter Contents" '["tree/a.txt", "tree/plus+sign.txt", "tree/space name.txt"]' \
    "$(json '[x["Key"] for x in d.get("Contents",[])]' <"$O")"
expect_eq "list-objects v1 delimiter CommonPrefixes" '["tree/sub/", "tree/ü/"]' \
    "$(json '[x["Prefix"] for x in d.get("CommonPrefixes",[])]' <"$O")"
aws s3api list-objects --bucket "$B" --prefix tree/sub/ >"$O" 2>&1
expect_eq "list-objects v1 prefix" '["tree/sub/b.txt", "tree/sub/deeper/c.bin"]' \
    "$(json '[x["Key"] for x in d.get("Contents",[])]' <"$O")"
fi

# ------------------------------------------------------ s3api multipart
head -c $((5 * 1024 * 1024)) /dev/urandom >"$W/p1"
head -c 777777 /dev/urandom >"$W/p2"
aws s3api create-multipart-upload --bucket "$B" --key mp/obj --content-type application/x-mp >"$O" 2>&1
UPLOAD=$(json 'd["UploadId"]' <"$O")
if [ -z "$UPLOAD" ]; then t_fail "create-multipart-upload" "$(cat "$O")"; fi
aws s3api upload-part --bucket "$B" --key mp/obj --upload-id "$UPLOAD" --part-number 1 --body "$W/p1" >"$O" 2>&1
E1=$(json 'd["ETag"]' <"$O")
aws s3api upload-part --bucket "$B" --key mp/obj --upload-id "$UPLOAD" --part-number 2 --body "$W/p2" >"$O" 2>&1
E2=$(json 'd["ETag"]' <"$O")
expect_eq "upload-part ETags" "\"$(md5sum <"$W/p1" | cut -d' ' -f1)\" \"$(md5sum <"$W/p2" | cut -d' ' -f1)\"" "$E1 $E2"
aws s3api list-parts --bucket "$B" --key mp/obj --upload-id "$UPLOAD" >"$O" 2>&1
expect_eq "list-parts" "[[1, 5242880], [2, 777777]]" "$(json '[[p["PartNumber"], p["Size"]] for p in d.get("Parts",[])]' <"$O")"
aws s3api list-multipart-uploads --bucket "$B" >"$O" 2>&1
expect_eq "list-multipart-uploads" "[[\"mp/obj\", \"$UPLOAD\"]]" "$(json '[[u["Key"], u["UploadId"]] for u in d.get("Uploads",[])]' <"$O")"
printf '{"Parts":[{"PartNumber":1,"ETag":%s},{"PartNumber":2,"ETag":%s}]}' "$(printf '%s' "$E1" | "$KURA_IT_PY" -c 'import json,sys;print(json.dumps(sys.stdin.read()))')" \
    "$(printf '%s' "$E2" | "$KURA_IT_PY" -c 'import json,sys;print(json.dumps(sys.stdin.read()))')" >"$W/parts.json"
aws s3api complete-multipart-upload --bucket "$B" --key mp/obj --upload-id "$UPLOAD" --multipart-upload "file://$W/parts.json" >"$O" 2>&1
WANT_ETAG=$(cat "$W/p1" "$W/p2" >/dev/null; "$KURA_IT_PY" -c '
import hashlib,sys
d=b"".join(hashlib.md5(open(p,"rb").read()).digest() for p in sys.argv[1:])
print("\"%s-%d\"" % (hashlib.md5(d).hexdigest(), len(sys.argv)-1))' "$W/p1" "$W/p2")
expect_eq "complete-multipart-upload ETag" "$WANT_ETAG" "$(json 'd.get("ETag")' <"$O")"
aws s3api get-object --bucket "$B" --key mp/obj "$W/mp.down" >"$O" 2>&1
cat "$W/p1" "$W/p2" >"$W/mp.want"
expect_file_eq "multipart object content" "$W/mp.want" "$W/mp.down"
expect_eq "multipart object ContentType" "application/x-mp" "$(json 'd.get("ContentType")' <"$O")"

# abort + list-multipart-uploads
if [ "$FULL" == 1 ]; then
aws s3api create-multipart-upload --bucket "$B" --key mp/aborted >"$O" 2>&1
U2=$(json 'd["UploadId"]' <"$O")
aws s3api upload-part --bucket "$B" --key mp/aborted --upload-id "$U2" --part-number 1 --body "$W/p2" >/dev/null 2>&1
aws s3api list-multipart-uploads --bucket "$B" >"$O" 2>&1
expect_eq "upload listed before abort" "[\"$U2\"]" "$(json '[u["UploadId"] for u in d.get("Uploads",[])]' <"$O")"
run_ok "abort-multipart-upload" aws s3api abort-multipart-upload --bucket "$B" --key mp/aborted --upload-id "$U2"
aws s3api list-multipart-uploads --bucket "$B" >"$O" 2>&1
[ -s "$O" ] || echo '{}' >"$O" # aws-cli prints nothing for an empty result
expect_eq "no upload after abort" "[]" "$(json '[u["UploadId"] for u in d.get("Uploads",[])]' <"$O")"
expect_fail "head of aborted key fails" aws s3api head-object --bucket "$B" --key mp/aborted
expect_grep "head of aborted key -> 404" "404|Not Found" "$KURA_TMP/last.out"
fi

# -------------------------------------------------------------- presign
URL=$(aws s3 presign "s3://$B/small.txt" --expires-in 300 2>"$O")
curl -sS "${CURL_CA[@]}" -o "$W/presigned.down" -w '%{http_code}' "$URL" >"$O" 2>&1
expect_eq "presigned URL via curl: status" "200" "$(cat "$O")"
expect_file_eq "presigned URL via curl: body" "$W/small.txt" "$W/presigned.down"
if [ "${URL: -1}" == 0 ]; then BAD_URL=${URL%?}1; else BAD_URL=${URL%?}0; fi
curl -sS "${CURL_CA[@]}" -o /dev/null -w '%{http_code}' "$BAD_URL" >"$O" 2>&1
expect_eq "tampered presigned URL: status" "403" "$(cat "$O")"

# --------------------------------------------------------- rm, mv, rb
run_ok "s3 mv" aws s3 mv "s3://$B/small.txt" "s3://$B/moved.txt"
expect_fail "rb of a non-empty bucket fails" aws s3 rb "s3://$B"
expect_grep "rb non-empty -> BucketNotEmpty" "BucketNotEmpty" "$KURA_TMP/last.out"
run_ok "s3 rm --recursive" aws s3 rm --recursive "s3://$B/"
aws s3 ls --recursive "s3://$B" >"$O" 2>&1
expect_eq "bucket empty after rm --recursive" "" "$(cat "$O")"
run_ok "s3 rb" aws s3 rb "s3://$B"
aws s3 ls >"$O" 2>&1
if grep -q " $B\$" "$O"; then t_fail "bucket gone after rb" "$(cat "$O")"; else t_ok "bucket gone after rb"; fi

t_finish
