#!/bin/sh
# Bounded soak of BUILD_DIR/signal-server (`make soak` passes a release
# build): steady churn, room joins and leaves, broadcasts and room sends
# with every delivery to long-lived clients checked, and `signal-bench
# smoke` runs when BUILD_DIR/bench/signal-bench exists. The server's RSS
# and open descriptors are sampled every 10 s into a CSV file.
#
#   sh tests/soak.sh BUILD_DIR
#
# Environment:
#   SOAK_SECONDS     duration of the load in seconds (900)
#   SOAK_CSV         where to write the samples
#                    (BUILD_DIR/soak-<UTC time>.csv)
#   SOAK_RSS_MARGIN_KIB
#                    RSS growth allowed over the second half, in KiB (4096)
#   SOAK_LOG_LEVEL   the server's log_level (info); debug logs every close
#
# Exit status 0 when no error was seen, RSS stayed within the margin, no
# descriptor leaked and SIGTERM stopped the server with status 0.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -x "$build/signal-server" ]; then
    echo "$0: $build/signal-server is missing; build it with 'meson compile -C $build' first" >&2
    exit 2
fi
if ! /usr/bin/python3 -c 'import websockets, cryptography' 2>/dev/null; then
    echo "$0: missing Python modules; install python3-websockets python3-cryptography" >&2
    exit 2
fi

seconds=${SOAK_SECONDS:-900}
csv=${SOAK_CSV:-$build/soak-$(date -u +%Y%m%dT%H%M%SZ).csv}
margin=${SOAK_RSS_MARGIN_KIB:-4096}
log_level=${SOAK_LOG_LEVEL:-info}

# About 120 clients of the driver and 200 of signal-bench, plus REST.
ulimit -n 4096 2>/dev/null || true
PYTHONDONTWRITEBYTECODE=1 exec /usr/bin/python3 "$here/stress/soak_driver.py" \
    --server-bin "$build/signal-server" --bench "$build/bench/signal-bench" \
    --seconds "$seconds" --csv "$csv" --rss-margin-kib "$margin" \
    --log-level "$log_level"
