#!/bin/sh
# Runs the pytest suite in SUITE_DIR against BUILDDIR/signal-server, for the
# run.sh scripts of tests/openapi, tests/metrics and tests/notify, which
# share tests/openapi/harness.py.
#   sh tests/openapi/pytest-suite.sh SUITE_DIR BUILDDIR [PYTEST-ARGS...]
# Needs the Debian packages python3-pytest, python3-websockets and
# python3-cryptography, run by /usr/bin/python3.
set -eu
if [ $# -lt 2 ]; then
    echo "usage: $0 SUITE_DIR BUILDDIR [PYTEST-ARGS...]" >&2
    exit 2
fi
suite=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
shift 2
if [ ! -x "$build/signal-server" ]; then
    echo "$0: $build/signal-server is missing; build it with 'meson compile -C $build' first" >&2
    exit 2
fi
if ! /usr/bin/python3 -c 'import pytest, websockets, cryptography' 2>/dev/null; then
    echo "$0: missing Python modules; install python3-pytest python3-websockets python3-cryptography" >&2
    exit 2
fi
cd "$suite"
SIGNAL_SERVER_BIN="$build/signal-server" PYTHONDONTWRITEBYTECODE=1 \
    exec /usr/bin/python3 -m pytest -q -p no:cacheprovider -ra "$suite" "$@"
