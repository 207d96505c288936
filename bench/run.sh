#!/bin/sh
# Benchmarks signal-server against the reference service (ignis on Bun,
# with its Redis) with signal-bench, on loopback. Every case runs twice per
# target, alternating (ours, reference, ours, reference), each run against
# a freshly started server. Writes into bench/results/:
#   <stamp>.jsonl  one line per run: the case, target, round and the JSON
#                  that signal-bench printed
#   <stamp>.json   the machine, the commands and the per-case summary
#   <stamp>.md     the summary table with ratios ours/reference
#   <stamp>.png    throughput, latency and memory per case (gnuplot)
#
#   sh bench/run.sh BUILD_DIR
#
# Environment:
#   IGNIS_PEER      start script of the reference service (default
#                   ../shared/peers/run-ignis-peer.sh beside the repository);
#                   when it is missing only signal-server is measured
#   BENCH_ROUNDS    rounds per case and target (2)
#   BENCH_CASES     space-separated cases to run (all of them)
#   BENCH_DURATION  seconds of sending per case (10)
#   BENCH_CLIENTS   clients per case, a multiple of 100 (9000)
set -eu

build=${1:?usage: sh bench/run.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
server=$build/signal-server
bench=$build/bench/signal-bench
peer=${IGNIS_PEER:-$repo/../shared/peers/run-ignis-peer.sh}
rounds=${BENCH_ROUNDS:-2}
duration=${BENCH_DURATION:-10}
clients=${BENCH_CLIENTS:-9000}
cases=${BENCH_CASES:-connect broadcast-64 broadcast-1k latency-64 rooms idle-memory connect-plain broadcast-64-plain}
python=/usr/bin/python3

for program in "$server" "$bench"; do
    if [ ! -x "$program" ]; then
        echo "bench: $program not found; build first: meson compile -C $build" >&2
        exit 1
    fi
done
if ! command -v gnuplot >/dev/null; then
    echo "bench: gnuplot not found; install it: apt-get install gnuplot-nox" >&2
    exit 1
fi
targets="ours reference"
if [ ! -f "$peer" ]; then
    echo "bench: reference service not found at $peer (set IGNIS_PEER); measuring signal-server only" >&2
    targets=ours
fi

# The clients and the server each hold one socket per client.
ulimit -n "$(ulimit -Hn)"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
results=$here/results
mkdir -p "$results"
raw=$results/$stamp.jsonl
: >"$raw"
work=$(mktemp -d)
server_pid=
redis_port=

cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
    fi
    if [ -n "$redis_port" ]; then
        redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits up to $2 tenths of a second for the pattern $1 in $log while
# $server_pid lives.
wait_for_log() {
    tries=0
    until grep -q "$1" "$log"; do
        if ! kill -0 "$server_pid" 2>/dev/null || [ "$tries" -ge "$2" ]; then
            echo "bench: the server did not start; its log:" >&2
            cat "$log" >&2
            exit 1
        fi
        tries=$((tries + 1))
        sleep 0.1
    done
}

# start_ours ENCRYPTION: sets server_pid, port and pids.
start_ours() {
    log=$work/server.log
    : >"$log"
    "$server" --listen=127.0.0.1:0 --jwt-secret=bench-secret \
        --admin-user=admin --admin-password=admin --room-allow='public-*' \
        --max-connections=20000 --workers=2 \
        --require-encryption="$1" 2>"$log" &
    server_pid=$!
    wait_for_log "event=listening" 100
    port=$(sed -n 's/.*event=listening addr=[^ ]*:\([0-9][0-9]*\).*/\1/p' "$log" | head -n 1)
    pids=$server_pid
}

# start_reference ENCRYPTION: sets server_pid, port and pids (Bun and
# Redis, since the reference service needs both).
start_reference() {
    log=$work/server.log
    : >"$log"
    port=$(free_port)
    if [ -z "$redis_port" ]; then
        redis_port=$(free_port)
    fi
    if [ "$1" = true ]; then encryption=1; else encryption=0; fi
    PORT=$port REDIS_PORT=$redis_port REQUIRE_ENCRYPTION=$encryption \
        sh "$peer" >"$log" 2>&1 &
    server_pid=$!
    # The first start installs the peer's npm packages.
    wait_for_log "listening on" 1200
    bun_pid=$(ss -ltnpH "sport = :$port" | sed -n 's/.*pid=\([0-9][0-9]*\),.*/\1/p' | head -n 1)
    redis_pid=$(redis-cli -p "$redis_port" info server | sed -n 's/^process_id:\([0-9]*\).*/\1/p' | tr -d '\r')
    pids=$bun_pid${redis_pid:+,$redis_pid}
}

stop_server() {
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
}

# Prints the signal-bench arguments of a case.
case_arguments() {
    common="--clients $clients --connect-timeout 60 --drain-timeout 10"
    load="--duration $duration --in-flight 2"
    case $1 in
    connect) echo "connect $common" ;;
    broadcast-64) echo "broadcast $common $load --messages 5000 --size 64" ;;
    broadcast-1k) echo "broadcast $common $load --messages 5000 --size 1024" ;;
    # One broadcast in flight at a time, spaced out, so the latency is the
    # time one message takes to reach every client, without queueing.
    latency-64) echo "broadcast $common --duration $duration --in-flight 1 --rate 4 --messages 5000 --size 64" ;;
    rooms) echo "rooms --rooms 100 --room-size $((clients / 100)) --connect-timeout 60 --drain-timeout 10 $load --messages 500000 --size 64" ;;
    idle-memory) echo "idle-memory $common --settle 3" ;;
    connect-plain) echo "connect $common --plain" ;;
    broadcast-64-plain) echo "broadcast $common $load --messages 5000 --size 64 --plain" ;;
    *)
        echo "bench: unknown case '$1'" >&2
        exit 1
        ;;
    esac
}

run_case() {
    name=$1
    target=$2
    round=$3
    encryption=true
    case $name in *-plain) encryption=false ;; esac

    if [ "$target" = ours ]; then
        start_ours "$encryption"
    else
        start_reference "$encryption"
    fi

    arguments=$(case_arguments "$name")
    load=$(cut -d ' ' -f 1 /proc/loadavg)
    echo "== $name, $target, round $round (load average $load)" >&2
    status=0
    # shellcheck disable=SC2086 # the arguments are split on purpose
    timeout 180 "$bench" $arguments --target "127.0.0.1:$port" \
        --server-pid "$pids" --label "$target" --json \
        >"$work/result.json" 2>"$work/summary.txt" || status=$?
    cat "$work/summary.txt" >&2
    stop_server

    result=$(cat "$work/result.json")
    [ -n "$result" ] || result=null
    printf '{"case":"%s","target":"%s","round":%s,"status":%s,"load_average":%s,"arguments":"%s","result":%s}\n' \
        "$name" "$target" "$round" "$status" "$load" "$arguments" "$result" >>"$raw"
}

started=$(date +%s)
for name in $cases; do
    case_arguments "$name" >/dev/null
    round=1
    while [ "$round" -le "$rounds" ]; do
        for target in $targets; do
            run_case "$name" "$target" "$round"
        done
        round=$((round + 1))
    done
done
echo "bench: all runs took $(($(date +%s) - started)) s" >&2

"$python" "$here/report.py" --raw "$raw" --stamp "$stamp" \
    --build "$build" --out "$results"
