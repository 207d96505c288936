#!/bin/sh
# Runs the RFC 6455 conformance suite against the signal-server binary of a
# build folder. The suite starts and stops the server itself.
#   sh tests/conformance/run.sh [BUILD_DIR] [PYTEST_ARGS...]
# BUILD_DIR defaults to build. Needs Debian's python3-pytest.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
[ $# -gt 0 ] && shift
binary=$(cd "$build" 2>/dev/null && pwd)/signal-server
if [ ! -x "$binary" ]; then
    echo "conformance: $build/signal-server not found; build it first (meson compile -C $build)" >&2
    exit 2
fi
PYTHONDONTWRITEBYTECODE=1 exec /usr/bin/python3 -m pytest -p no:cacheprovider -q \
    "$here" --server-bin "$binary" "$@"
