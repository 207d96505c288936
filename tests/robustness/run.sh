#!/bin/sh
# Runs the robustness suite (limits, timeouts, reload, shutdown and bad
# input) against BUILD_DIR/signal-server. Each test starts its own server
# on 127.0.0.1 with the settings it needs.
#   sh tests/robustness/run.sh BUILD_DIR [PYTEST-ARGS...]
# Needs the Debian packages python3-pytest, python3-websockets and
# python3-cryptography, run by /usr/bin/python3.
set -eu
if [ $# -lt 1 ]; then
    echo "usage: $0 BUILD_DIR [PYTEST-ARGS...]" >&2
    exit 2
fi
build=$(cd "$1" && pwd)
shift
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -x "$build/signal-server" ]; then
    echo "$0: $build/signal-server is missing; build it with 'meson compile -C $build' first" >&2
    exit 2
fi
if ! /usr/bin/python3 -c 'import pytest, websockets, cryptography' 2>/dev/null; then
    echo "$0: missing Python modules; install python3-pytest python3-websockets python3-cryptography" >&2
    exit 2
fi
cd "$here"
PYTHONDONTWRITEBYTECODE=1 exec /usr/bin/python3 -m pytest -q "$here" --server-bin "$build/signal-server" "$@"
