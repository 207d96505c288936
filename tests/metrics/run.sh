#!/bin/sh
# Scrapes GET /metrics of BUILDDIR/signal-server: `promtool check metrics`
# must report nothing, and counters must hold exact values after known
# client actions.
#   sh tests/metrics/run.sh BUILDDIR [PYTEST-ARGS...]
# Needs the Debian packages prometheus (for promtool), python3-pytest,
# python3-websockets and python3-cryptography, run by /usr/bin/python3.
set -eu
if [ $# -lt 1 ]; then
    echo "usage: $0 BUILDDIR [PYTEST-ARGS...]" >&2
    exit 2
fi
build=$(cd "$1" && pwd)
shift
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -x "$build/signal-server" ]; then
    echo "$0: $build/signal-server is missing; build it with 'meson compile -C $build' first" >&2
    exit 2
fi
if ! command -v promtool >/dev/null 2>&1; then
    echo "$0: promtool is missing; install the Debian package prometheus" >&2
    exit 2
fi
if ! /usr/bin/python3 -c 'import pytest, websockets, cryptography' 2>/dev/null; then
    echo "$0: missing Python modules; install python3-pytest python3-websockets python3-cryptography" >&2
    exit 2
fi
cd "$here"
SIGNAL_SERVER_BIN="$build/signal-server" PYTHONDONTWRITEBYTECODE=1 \
    exec /usr/bin/python3 -m pytest -q -p no:cacheprovider "$here" "$@"
