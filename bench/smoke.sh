#!/bin/sh
# End-to-end smoke test: starts signal-server on a free loopback port and
# runs `signal-bench smoke` against it (200 clients in 4 rooms, 100
# broadcasts, 100 room sends, 200 client sends), once with encryption
# required and once with it turned off. Fails unless every message arrived
# exactly once, in order, decrypted, with no error, and the server then
# stops cleanly on SIGTERM.
#
#   sh bench/smoke.sh BUILD_DIR
set -eu

build=${1:?usage: sh bench/smoke.sh BUILD_DIR}
server=$build/signal-server
bench=$build/bench/signal-bench
for program in "$server" "$bench"; do
    if [ ! -x "$program" ]; then
        echo "smoke: $program not found; build first: meson compile -C $build" >&2
        exit 1
    fi
done

work=$(mktemp -d)
server_pid=
cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# Starts the server with the given extra flags; sets server_pid and port.
start_server() {
    log=$work/server.log
    : >"$log"
    "$server" --listen=127.0.0.1:0 --workers=2 --jwt-secret=smoke-secret \
        --admin-user=admin --admin-password=smoke-password \
        --room-allow='public-*' "$@" 2>"$log" &
    server_pid=$!
    port=
    tries=0
    while [ -z "$port" ]; do
        port=$(sed -n 's/.*event=listening addr=[^ ]*:\([0-9][0-9]*\).*/\1/p' "$log" | head -n 1)
        [ -n "$port" ] && break
        if ! kill -0 "$server_pid" 2>/dev/null || [ "$tries" -ge 100 ]; then
            echo "smoke: signal-server did not start listening; its log:" >&2
            cat "$log" >&2
            exit 1
        fi
        tries=$((tries + 1))
        sleep 0.1
    done
}

stop_server() {
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "smoke: signal-server died during the run; its log:" >&2
        cat "$work/server.log" >&2
        exit 1
    fi
    kill -TERM "$server_pid"
    status=0
    wait "$server_pid" || status=$?
    server_pid=
    if [ "$status" -ne 0 ]; then
        echo "smoke: signal-server exited with status $status on SIGTERM, expected 0" >&2
        exit 1
    fi
}

# Runs the smoke scenario; $1 names the mode, the rest goes to signal-bench.
run_smoke() {
    mode=$1
    shift
    status=0
    "$bench" smoke --target "127.0.0.1:$port" --jwt-secret smoke-secret \
        --admin-password smoke-password --server-pid "$server_pid" \
        --connect-timeout 20 --drain-timeout 10 --json "$@" \
        >"$work/result.json" 2>"$work/summary.txt" || status=$?
    cat "$work/summary.txt"
    if [ "$status" -ne 0 ] || ! grep -q '"passed":true' "$work/result.json"; then
        echo "smoke ($mode): FAIL, signal-bench exited with status $status" >&2
        exit 1
    fi
    echo "smoke ($mode): PASS"
}

start_server
run_smoke encrypted
stop_server

start_server --require-encryption=false
run_smoke plain --plain
stop_server
