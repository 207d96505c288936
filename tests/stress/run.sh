#!/bin/sh
# Runs the concurrency stress test against BUILD_DIR/signal-server, which
# should be a ThreadSanitizer build:
#   CC=clang meson setup build-tsan -Db_sanitize=thread -Db_lundef=false
#   meson compile -C build-tsan
#   sh tests/stress/run.sh build-tsan
# Extra arguments go to stress.py (--seconds, --max-clients, --seed).
set -eu

if [ $# -lt 1 ]; then
    echo "usage: $0 BUILD_DIR [stress.py options]" >&2
    exit 2
fi
build_dir=$1
shift
binary="$build_dir/signal-server"
if [ ! -x "$binary" ]; then
    echo "stress: $binary not found or not executable; build it first (see the top of $0)" >&2
    exit 2
fi

here=$(dirname "$0")
# The ~300 clients and the server's descriptors stay well below this.
ulimit -n 4096 2>/dev/null || true
exec /usr/bin/python3 "$here/stress.py" --server-bin "$binary" --workers 4 "$@"
