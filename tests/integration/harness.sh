# SPDX-License-Identifier: Apache-2.0
# Shared harness for the shell integration tests. Source it first thing:
#
#   #!/bin/bash
#   HERE=$(cd "$(dirname "$0")" && pwd)
#   source "$HERE/harness.sh"
#   kura_watchdog 300 "$0" "$@"     # re-exec under `timeout`
#   kura_init "$1"                  # kura binary; temp dir; cleanup trap
#   kura_start [--tls] [--domain D] # -> KURA_PORT KURA_PID KURA_ENDPOINT KURA_AK KURA_SK KURA_CA
#                                   # (more serve flags: KURA_EXTRA_ARGS=(...), kept on restarts)
#   kura_store_args                 # -> KURA_STORE=(...): the store flags for `kura admin`
#   ... checks: t_ok / t_fail / expect_eq / expect_file_eq ...
#   t_finish                        # prints 'N passed, N failed', exits 0/1
#
# The server runs as
#   setpriv --pdeathsig TERM -- timeout -k 5 W setpriv --pdeathsig KILL -- kura serve ...
# so it dies with the test script (even on SIGKILL) and after W seconds at
# the latest; the EXIT trap stops it with SIGTERM, then SIGKILL.

set -u -o pipefail

HARNESS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KURA_IT_PY=${KURA_IT_PY:-python3}

kura_die() {
    echo "FAIL: $*" >&2
    exit 1
}

# need_tool TOOL DEBIAN-PACKAGE
need_tool() {
    command -v "$1" >/dev/null 2>&1 || kura_die "required tool '$1' not found (install Debian package: $2)"
}

# kura_watchdog SECONDS SCRIPT ARGS...: re-exec the script under timeout(1)
# once, so a hung test ends by itself.
kura_watchdog() {
    local secs=$1 script=$2
    shift 2
    if [ -z "${KURA_IT_UNDER_WATCHDOG:-}" ]; then
        export KURA_IT_UNDER_WATCHDOG=1
        exec timeout -k 10 "$secs" bash "$script" "$@"
    fi
}

_rand() { # _rand LEN CHARSET
    local out=""
    while [ ${#out} -lt "$1" ]; do
        out+=$(head -c 256 /dev/urandom | tr -dc "$2" | head -c $(($1 - ${#out})))
    done
    printf '%s' "$out"
}

T_PASS=0
T_FAIL=0
T_SKIP=0
T_FAILURES=()

t_ok() {
    T_PASS=$((T_PASS + 1))
    echo "ok   $1"
}

t_fail() {
    T_FAIL=$((T_FAIL + 1))
    T_FAILURES+=("$1: $2")
    echo "FAIL $1: $2"
}

t_skip() {
    T_SKIP=$((T_SKIP + 1))
    echo "SKIP $1: $2"
}

# expect_eq NAME EXPECTED GOT
expect_eq() {
    if [ "$2" == "$3" ]; then
        t_ok "$1"
    else
        t_fail "$1" "expected [$2], got [$3]"
    fi
}

# expect_file_eq NAME EXPECTED_FILE GOT_FILE (byte for byte)
expect_file_eq() {
    if [ ! -f "$3" ]; then
        t_fail "$1" "file $3 does not exist"
    elif cmp -s "$2" "$3"; then
        t_ok "$1"
    else
        t_fail "$1" "content differs: expected sha256 $(sha256sum <"$2" | cut -c1-16) size $(stat -c %s "$2"), got sha256 $(sha256sum <"$3" | cut -c1-16) size $(stat -c %s "$3")"
    fi
}

# expect_rc NAME EXPECTED_RC CMD...: run CMD (output to $KURA_TMP/last.out)
expect_rc() {
    local name=$1 want=$2
    shift 2
    "$@" >"$KURA_TMP/last.out" 2>&1
    local rc=$?
    if [ "$rc" == "$want" ]; then
        t_ok "$name"
    else
        t_fail "$name" "command [$*] exited $rc (expected $want); output: $(head -c 1500 "$KURA_TMP/last.out")"
    fi
}

# expect_fail NAME CMD...: CMD must exit non-zero (output in $KURA_TMP/last.out)
expect_fail() {
    local name=$1
    shift
    "$@" >"$KURA_TMP/last.out" 2>&1
    local rc=$?
    if [ "$rc" != 0 ]; then
        t_ok "$name"
    else
        t_fail "$name" "command [$*] succeeded but should have failed; output: $(head -c 1500 "$KURA_TMP/last.out")"
    fi
}

# run_ok NAME CMD...: CMD must exit 0
run_ok() {
    local name=$1
    shift
    expect_rc "$name" 0 "$@"
}

# expect_grep NAME PATTERN FILE
expect_grep() {
    if grep -q -E -- "$2" "$3"; then
        t_ok "$1"
    else
        t_fail "$1" "pattern [$2] not found in: $(head -c 1500 "$3")"
    fi
}

# kura_check_alive: records a failure if the server died on its own.
kura_check_alive() {
    [ -n "$KURA_TPID" ] || return 0
    if ! kill -0 "$KURA_TPID" 2>/dev/null; then
        wait "$KURA_TPID" 2>/dev/null
        local rc=$?
        t_fail "kura server alive" "kura exited on its own (status $rc; >128 means signal $((rc - 128))); log tail: $(tail -n 15 "$KURA_LOG" | tr '\n' '|')"
        KURA_TPID=""
        KURA_PID=""
    fi
}

t_finish() {
    kura_check_alive
    if [ ${#T_FAILURES[@]} -gt 0 ]; then
        echo
        echo "Failures:"
        local f
        for f in "${T_FAILURES[@]}"; do
            echo "  $f"
        done
    fi
    if [ "$T_SKIP" -gt 0 ]; then
        echo "$T_PASS passed, $T_FAIL failed, $T_SKIP skipped"
    else
        echo "$T_PASS passed, $T_FAIL failed"
    fi
    [ "$T_FAIL" -eq 0 ] && exit 0
    exit 1
}

KURA_PID=""
KURA_TPID=""

_kura_cleanup() {
    kura_stop
    if [ -n "${KURA_TMP:-}" ] && [ -d "$KURA_TMP" ] && [ "${KURA_IT_KEEP:-0}" != 1 ]; then
        rm -rf "$KURA_TMP"
    elif [ -n "${KURA_TMP:-}" ]; then
        echo "kept $KURA_TMP" >&2
    fi
}

# kura_init KURA_BIN: temp dir, credentials, cleanup trap.
kura_init() {
    [ $# -ge 1 ] && [ -n "$1" ] || kura_die "usage: $0 PATH/TO/kura"
    KURA_BIN=$(realpath "$1" 2>/dev/null) || kura_die "kura binary not found: $1"
    [ -x "$KURA_BIN" ] || kura_die "kura binary not found or not executable: $1"
    need_tool setpriv util-linux
    need_tool timeout coreutils
    need_tool "$KURA_IT_PY" python3
    KURA_TMP=$(mktemp -d "${TMPDIR:-/tmp}/kura-it.XXXXXX")
    KURA_DATA=$KURA_TMP/data
    KURA_LOG=$KURA_TMP/kura.log
    mkdir -p "$KURA_DATA"
    KURA_AK="AK$(_rand 18 'A-Z0-9')"
    KURA_SK="$(_rand 40 'A-Za-z0-9')"
    KURA_REGION=us-east-1
    KURA_TLS=0
    KURA_DOMAIN=""
    KURA_EXTRA_ARGS=()
    KURA_CA=""
    KURA_PORT=$("$KURA_IT_PY" "$HARNESS_DIR/harness.py" free-port)
    trap _kura_cleanup EXIT
    trap 'exit 143' TERM
    trap 'exit 130' INT
    trap 'exit 129' HUP
}

_port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# kura_start [--tls] [--domain D]: (re)start on $KURA_PORT with $KURA_DATA.
kura_start() {
    while [ $# -gt 0 ]; do
        case $1 in
        --tls) KURA_TLS=1 ;;
        --domain) KURA_DOMAIN=$2; shift ;;
        *) kura_die "kura_start: unknown option $1" ;;
        esac
        shift
    done
    # no admin listener: servers run in parallel, the default port is one for all
    local args=(serve --listen "127.0.0.1:$KURA_PORT" --data "$KURA_DATA" --admin-listen off)
    # extra serve flags for a whole run, e.g. "--meta redis://..." (deploy/redis-local.sh),
    # keys under this script's own prefix unless the run names one (data on
    # datanodes, deploy/datanodes-local.sh: a gateway sees only the
    # datanodes registered under its prefix)
    if [ -n "${KURA_IT_SERVE_ARGS:-}" ]; then
        # shellcheck disable=SC2206
        args+=($KURA_IT_SERVE_ARGS)
        case " $KURA_IT_SERVE_ARGS " in *" --meta-prefix "*) ;; *) args+=(--meta-prefix "$KURA_TMP:") ;; esac
    fi
    if [ "$KURA_TLS" == 1 ]; then
        if [ ! -f "$KURA_TMP/tls/cert.pem" ]; then
            need_tool openssl openssl
            "$KURA_IT_PY" "$HARNESS_DIR/harness.py" gen-tls "$KURA_TMP/tls" || kura_die "TLS certificate generation failed"
        fi
        KURA_CA=$KURA_TMP/tls/ca.pem
        args+=(--tls-cert "$KURA_TMP/tls/cert.pem" --tls-key "$KURA_TMP/tls/key.pem")
        KURA_ENDPOINT=https://127.0.0.1:$KURA_PORT
    else
        KURA_ENDPOINT=http://127.0.0.1:$KURA_PORT
    fi
    [ -n "$KURA_DOMAIN" ] && args+=(--domain "$KURA_DOMAIN")
    args+=("${KURA_EXTRA_ARGS[@]}")
    echo "---- start $KURA_BIN ${args[*]}" >>"$KURA_LOG"
    KURA_ROOT_ACCESS_KEY=$KURA_AK KURA_ROOT_SECRET_KEY=$KURA_SK \
        setpriv --pdeathsig TERM -- timeout -k 5 "${KURA_IT_SERVER_WATCHDOG:-900}" \
        setpriv --pdeathsig KILL -- "$KURA_BIN" "${args[@]}" </dev/null >>"$KURA_LOG" 2>&1 &
    KURA_TPID=$!
    KURA_PID=""
    SETPRIV_EXE=$(realpath "$(command -v setpriv)")
    local i kid
    for ((i = 0; i < 400; i++)); do
        if [ -z "$KURA_PID" ]; then
            for kid in $(cat "/proc/$KURA_TPID/task/$KURA_TPID/children" 2>/dev/null); do
                # setpriv has exec'd into kura once the exe is no longer setpriv
                local exe
                exe=$(readlink "/proc/$kid/exe" 2>/dev/null)
                if [ -n "$exe" ] && [ "$exe" != "$SETPRIV_EXE" ]; then
                    KURA_PID=$kid
                fi
            done
        fi
        if [ -n "$KURA_PID" ] && _port_open "$KURA_PORT"; then
            return 0
        fi
        if ! kill -0 "$KURA_TPID" 2>/dev/null; then
            break
        fi
        sleep 0.05
    done
    echo "---- kura log tail:" >&2
    tail -n 40 "$KURA_LOG" >&2
    kura_die "kura serve did not become ready on 127.0.0.1:$KURA_PORT within 20 s"
}

# kura_store_args: sets the array KURA_STORE to the flags that name the
# server's metadata store, for `kura admin` (as kura_start gives them; the
# serve-only flags of data on datanodes left out).
kura_store_args() {
    KURA_STORE=(--data "$KURA_DATA")
    [ -n "${KURA_IT_SERVE_ARGS:-}" ] || return 0
    local a=() i
    read -r -a a <<<"$KURA_IT_SERVE_ARGS"
    KURA_STORE=()
    for ((i = 0; i < ${#a[@]}; i++)); do
        case "${a[$i]}" in --meta | --meta-prefix) KURA_STORE+=("${a[$i]}" "${a[$((i + 1))]:-}") ;; esac
    done
    case " ${KURA_STORE[*]} " in *" --meta-prefix "*) ;; *) KURA_STORE+=(--meta-prefix "$KURA_TMP:") ;; esac
}

# kura_stop: SIGTERM, SIGKILL after 10 s.
kura_stop() {
    [ -n "$KURA_TPID" ] || return 0
    if kill -0 "$KURA_TPID" 2>/dev/null; then
        if [ -n "$KURA_PID" ]; then kill -TERM "$KURA_PID" 2>/dev/null; else kill -TERM "$KURA_TPID" 2>/dev/null; fi
        local i
        for ((i = 0; i < 200; i++)); do
            kill -0 "$KURA_TPID" 2>/dev/null || break
            sleep 0.05
        done
        if kill -0 "$KURA_TPID" 2>/dev/null; then
            echo "kura did not stop on SIGTERM within 10 s; SIGKILL" >&2
            [ -n "$KURA_PID" ] && kill -KILL "$KURA_PID" 2>/dev/null
            kill -KILL "$KURA_TPID" 2>/dev/null
        fi
    fi
    wait "$KURA_TPID" 2>/dev/null
    KURA_TPID=""
    KURA_PID=""
}

# kura_kill9: kill -9 the server process and wait until the port is closed.
kura_kill9() {
    [ -n "$KURA_PID" ] && kill -KILL "$KURA_PID" 2>/dev/null
    wait "$KURA_TPID" 2>/dev/null
    KURA_TPID=""
    KURA_PID=""
    local i
    for ((i = 0; i < 200; i++)); do
        _port_open "$KURA_PORT" || return 0
        sleep 0.05
    done
}

kura_restart() {
    kura_stop
    kura_start
}

KURA_EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

# kura_curl ARGS...: curl signed with the root credentials (SigV4). Unless
# ARGS set x-amz-content-sha256 themselves, it is added as curl >= 8.1 adds
# it for S3 (curl 7.x sends none, and kura, like AWS, requires it):
# UNSIGNED-PAYLOAD for uploads (-T / --upload-file), else the SHA-256 of the
# empty payload. Requests with --data* must give the body's hash themselves.
kura_curl() {
    local sha=$KURA_EMPTY_SHA256 a
    for a in "$@"; do
        case $a in
        -T | --upload-file) sha=UNSIGNED-PAYLOAD ;;
        esac
    done
    for a in "$@"; do
        case ${a,,} in
        x-amz-content-sha256:*) sha="" ;;
        esac
    done
    local hdr=()
    [ -n "$sha" ] && hdr=(-H "x-amz-content-sha256: $sha")
    kura_curl_raw "${hdr[@]}" "$@"
}

# kura_curl_raw ARGS...: the same without adding x-amz-content-sha256, i.e.
# what curl itself sends.
kura_curl_raw() {
    local ca=()
    [ "$KURA_TLS" == 1 ] && ca=(--cacert "$KURA_CA")
    curl -sS "${ca[@]}" --aws-sigv4 "aws:amz:$KURA_REGION:s3" --user "$KURA_AK:$KURA_SK" "$@"
}

# Unset the CA-bundle variables this machine exports (see DESIGN.md): some
# clients refuse to talk plain HTTP to loopback with them set.
unset_ca_env() {
    unset AWS_CA_BUNDLE CURL_CA_BUNDLE REQUESTS_CA_BUNDLE SSL_CERT_FILE SSL_CERT_DIR \
        NIX_SSL_CERT_FILE HTTPLIB2_CA_CERTS GIT_SSL_CAINFO NODE_EXTRA_CA_CERTS PIP_CERT \
        GRPC_DEFAULT_SSL_ROOTS_FILE_PATH CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE
}

# ------------------------------------------------------------ OCI images
# oci_image DIR LAYER2_MIB: a 3-layer OCI image "img" built with umoci in
# DIR/oci (small files, a random LAYER2_MIB MiB + 4321 bytes file, a 300 kB
# blob): the image the docker-registry tests push and pull.
oci_image() {
    local w=$1 oci=$1/oci
    run_ok "umoci init" umoci init --layout "$oci"
    run_ok "umoci new" umoci new --image "$oci:img"
    mkdir -p "$w/l1/etc" "$w/l2/data" "$w/l3/app/sub"
    echo "kura layer one" >"$w/l1/etc/motd"
    printf 'a=1\nb=2\n' >"$w/l1/etc/conf"
    head -c $(($2 * 1024 * 1024 + 4321)) /dev/urandom >"$w/l2/data/random.bin"
    echo '#!/bin/sh' >"$w/l3/app/run.sh"
    head -c 300000 /dev/urandom >"$w/l3/app/sub/blob"
    run_ok "umoci insert layer 1" umoci insert --image "$oci:img" "$w/l1/etc" /etc
    run_ok "umoci insert layer 2 ($2 MiB)" umoci insert --image "$oci:img" "$w/l2/data" /data
    run_ok "umoci insert layer 3" umoci insert --image "$oci:img" "$w/l3/app" /app
    run_ok "umoci config" umoci config --image "$oci:img" --config.cmd /app/run.sh
}

# oci_manifest_of OCI_DIR TAG -> the manifest digest (hex)
oci_manifest_of() {
    "$KURA_IT_PY" -c '
import json,sys
idx=json.load(open(sys.argv[1]+"/index.json"))
for m in idx["manifests"]:
    if m.get("annotations",{}).get("org.opencontainers.image.ref.name")==sys.argv[2]:
        print(m["digest"].split(":")[1]); break' "$1" "$2"
}

# oci_blobs_of OCI_DIR MANIFEST_DIGEST -> config + layer digests, one a line
oci_blobs_of() {
    "$KURA_IT_PY" -c '
import json,sys
m=json.load(open(sys.argv[1]+"/blobs/sha256/"+sys.argv[2]))
print(m["config"]["digest"].split(":")[1])
for l in m["layers"]: print(l["digest"].split(":")[1])' "$1" "$2"
}
