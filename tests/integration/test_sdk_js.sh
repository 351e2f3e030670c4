#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# AWS SDK for JavaScript v3 (@aws-sdk/client-s3, @aws-sdk/lib-storage) from
# Node.js against kura, over HTTP and HTTPS.
#
# usage: bash test_sdk_js.sh PATH/TO/kura
#   KURA_IT_NPM_DIR  where the npm packages are installed (default:
#                    <builddir>/kura-it-npm, next to the build's gateway/)
# Exits 77 (skip) only when the packages are missing and npm cannot reach
# its registry.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/harness.sh"
kura_watchdog 300 "$0" "$@"
kura_init "${1:-}"
need_tool node nodejs
need_tool npm npm

NPM_DIR=${KURA_IT_NPM_DIR:-$(dirname "$(dirname "$KURA_BIN")")/kura-it-npm}
mkdir -p "$NPM_DIR"
if [ ! -f "$NPM_DIR/node_modules/@aws-sdk/client-s3/package.json" ] ||
    [ ! -f "$NPM_DIR/node_modules/@aws-sdk/lib-storage/package.json" ]; then
    echo "installing @aws-sdk/client-s3 @aws-sdk/lib-storage into $NPM_DIR"
    if ! timeout 180 npm install --prefix "$NPM_DIR" --no-audit --no-fund --loglevel=error \
        @aws-sdk/client-s3 @aws-sdk/lib-storage >"$KURA_TMP/npm.log" 2>&1; then
        cat "$KURA_TMP/npm.log"
        if ! timeout 30 npm ping >/dev/null 2>&1; then
            echo "SKIP: npm registry unreachable and @aws-sdk/client-s3 not installed in $NPM_DIR"
            exit 77
        fi
        kura_die "npm install of @aws-sdk/client-s3 failed although the registry answers"
    fi
fi
echo "node $(node --version), @aws-sdk/client-s3 $(node -p "require('$NPM_DIR/node_modules/@aws-sdk/client-s3/package.json').version")"

unset_ca_env
export NODE_PATH=$NPM_DIR/node_modules
export NODE_NO_WARNINGS=1
for mode in http https; do
    if [ $mode == https ]; then
        kura_check_alive
        kura_stop
        KURA_PORT=$("$KURA_IT_PY" "$HARNESS_DIR/harness.py" free-port)
        kura_start --tls
        export NODE_EXTRA_CA_CERTS=$KURA_CA
    else
        kura_start
    fi
    node "$HERE/sdk_js_checks.cjs" "$KURA_ENDPOINT" "$KURA_AK" "$KURA_SK" "$mode" 2>&1 | tee "$KURA_TMP/js-$mode.out"
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$KURA_TMP/js-$mode.out" | tail -1)
    if [ -z "$line" ]; then
        t_fail "sdk_js_checks.cjs ($mode)" "did not finish"
    else
        T_PASS=$((T_PASS + $(echo "$line" | awk '{print $1}')))
        nf=$(echo "$line" | awk '{print $3}')
        T_FAIL=$((T_FAIL + nf))
        [ "$nf" -gt 0 ] && T_FAILURES+=("sdk_js_checks.cjs ($mode): $nf failed (see above)")
    fi
done
t_finish
