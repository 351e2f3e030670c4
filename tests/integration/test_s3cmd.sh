#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# s3cmd against kura, once with SigV2 (signature_v2 = True) and once with
# SigV4, path-style, plain HTTP.
#
# usage: bash test_s3cmd.sh PATH/TO/kura
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/harness.sh"
kura_watchdog 300 "$0" "$@"
kura_init "${1:-}"
need_tool s3cmd s3cmd
need_tool curl curl
need_tool cmp diffutils
unset_ca_env
kura_start
echo "$(s3cmd --version)"

W=$KURA_TMP/w
O=$KURA_TMP/out.txt
mkdir -p "$W"
printf 'small file for s3cmd\n' >"$W/small.txt"
head -c $((12 * 1024 * 1024 + 99)) /dev/urandom >"$W/big.bin"
T=$W/tree
mkdir -p "$T/sub/deep" "$T/ü"
echo one >"$T/one.txt"
echo two >"$T/sub/two.txt"
head -c 50000 /dev/urandom >"$T/sub/deep/three.bin"
echo space >"$T/with space.txt"
echo uni >"$T/ü/uni.txt"

# keys listed by `s3cmd ls [-r]` (object lines only)
ls_keys() { grep ' s3://' | grep -v ' DIR ' | sed -E 's#.* s3://[^/]+/#/#' | LC_ALL=C sort; }

for SIG in v2 v4; do
    CFG=$KURA_TMP/s3cfg-$SIG
    [ $SIG == v2 ] && V2=True || V2=False
    cat >"$CFG" <<EOF
[default]
access_key = $KURA_AK
secret_key = $KURA_SK
host_base = 127.0.0.1:$KURA_PORT
host_bucket = 127.0.0.1:$KURA_PORT
bucket_location = us-east-1
use_https = False
signature_v2 = $V2
check_ssl_certificate = False
multipart_chunk_size_mb = 5
progress_meter = False
guess_mime_type = True
EOF
    s3() { s3cmd -c "$CFG" "$@"; }
    B=s3cmd-$SIG
    P="[$SIG]"

    run_ok "$P mb" s3 mb "s3://$B"
    s3 ls >"$O" 2>&1
    expect_grep "$P ls lists the bucket" "s3://$B\$" "$O"
    run_ok "$P put small" s3 put "$W/small.txt" "s3://$B/small.txt"
    run_ok "$P put 12 MiB (multipart)" s3 put "$W/big.bin" "s3://$B/big/big.bin"
    run_ok "$P put with mime type and header" s3 put --mime-type=text/x-s3cmd --add-header=Cache-Control:max-age=5 \
        "$W/small.txt" "s3://$B/typed.txt"
    run_ok "$P put public" s3 put --acl-public "$W/small.txt" "s3://$B/public.txt"

    run_ok "$P get small" s3 get --force "s3://$B/small.txt" "$W/small.down"
    expect_file_eq "$P small round trip" "$W/small.txt" "$W/small.down"
    run_ok "$P get big" s3 get --force "s3://$B/big/big.bin" "$W/big.down"
    expect_file_eq "$P 12 MiB round trip" "$W/big.bin" "$W/big.down"
    rm -f "$W/big.down"

    s3 info "s3://$B/small.txt" >"$O" 2>&1
    expect_grep "$P info MD5" "MD5 sum: +$(md5sum <"$W/small.txt" | cut -d' ' -f1)" "$O"
    expect_grep "$P info size" "File size: +$(stat -c %s "$W/small.txt")" "$O"
    s3 info "s3://$B/typed.txt" >"$O" 2>&1
    expect_grep "$P info MIME type" "MIME type: +text/x-s3cmd" "$O"
    s3 info "s3://$B/big/big.bin" >"$O" 2>&1
    expect_grep "$P info of the multipart object size" "File size: +$((12 * 1024 * 1024 + 99))" "$O"
    run_ok "$P info bucket" s3 info "s3://$B"

    code=$(curl -sS -o "$W/public.down" -w '%{http_code}' "http://127.0.0.1:$KURA_PORT/$B/public.txt")
    expect_eq "$P anonymous GET of --acl-public object" 200 "$code"
    expect_file_eq "$P anonymous GET body" "$W/small.txt" "$W/public.down"
    code=$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$KURA_PORT/$B/small.txt")
    expect_eq "$P anonymous GET of a private object" 403 "$code"

    URL=$(s3 signurl "s3://$B/small.txt" +300 2>"$O")
    code=$(curl -sS -o "$W/signed.down" -w '%{http_code}' "$URL")
    expect_eq "$P signurl status" 200 "$code"
    expect_file_eq "$P signurl body" "$W/small.txt" "$W/signed.down"

    s3 ls "s3://$B" >"$O" 2>&1
    expect_eq "$P ls bucket root" "$(printf '%s\n' /public.txt /small.txt /typed.txt | LC_ALL=C sort)" "$(ls_keys <"$O")"
    expect_grep "$P ls shows DIR big/" "DIR +s3://$B/big/" "$O"

    run_ok "$P sync up" s3 sync "$T/" "s3://$B/tree/"
    s3 ls -r "s3://$B/tree/" >"$O" 2>&1
    expect_eq "$P ls -r after sync" \
        "$(printf '%s\n' /tree/one.txt /tree/sub/two.txt /tree/sub/deep/three.bin "/tree/with space.txt" /tree/ü/uni.txt | LC_ALL=C sort)" \
        "$(ls_keys <"$O")"
    run_ok "$P sync down" s3 sync "s3://$B/tree/" "$W/tree-$SIG/"
    run_ok "$P synced tree identical" diff -r "$T" "$W/tree-$SIG"
    s3 sync "$T/" "s3://$B/tree/" >"$O" 2>&1
    if grep -q "upload:" "$O"; then t_fail "$P second sync uploads nothing" "$(cat "$O")"; else t_ok "$P second sync uploads nothing"; fi

    run_ok "$P cp" s3 cp "s3://$B/small.txt" "s3://$B/copied.txt"
    s3 get --force "s3://$B/copied.txt" "$W/copied.down" >/dev/null 2>&1
    expect_file_eq "$P cp content" "$W/small.txt" "$W/copied.down"
    run_ok "$P mv" s3 mv "s3://$B/copied.txt" "s3://$B/moved.txt"
    run_ok "$P del" s3 del "s3://$B/small.txt"
    s3 ls "s3://$B" >"$O" 2>&1
    expect_eq "$P ls after del/mv" "$(printf '%s\n' /moved.txt /public.txt /typed.txt | LC_ALL=C sort)" "$(ls_keys <"$O")"
    expect_fail "$P get deleted fails" s3 get --force "s3://$B/small.txt" "$W/nothing"
    expect_fail "$P rb non-empty fails" s3 rb "s3://$B"
    expect_grep "$P rb non-empty -> BucketNotEmpty" "BucketNotEmpty" "$KURA_TMP/last.out"
    run_ok "$P del --recursive" s3 del --recursive --force "s3://$B/"
    s3 ls -r "s3://$B" >"$O" 2>&1
    expect_eq "$P bucket empty" "" "$(ls_keys <"$O")"
    run_ok "$P rb" s3 rb "s3://$B"
done

t_finish
