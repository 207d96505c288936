#!/bin/sh
# Checks docs/openapi.json: lints it with Redocly CLI (lint.sh), then runs
# every route of BUILDDIR/signal-server and validates each response against
# the document.
#   sh tests/openapi/run.sh BUILDDIR [PYTEST-ARGS...]
# Needs Node.js with npx, and the Debian packages python3-pytest,
# python3-jsonschema, python3-websockets and python3-cryptography, run by
# /usr/bin/python3.
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
if ! /usr/bin/python3 -c 'import pytest, jsonschema, websockets, cryptography' 2>/dev/null; then
    echo "$0: missing Python modules; install python3-pytest python3-jsonschema python3-websockets python3-cryptography" >&2
    exit 2
fi

sh "$here/lint.sh"
cd "$here"
SIGNAL_SERVER_BIN="$build/signal-server" PYTHONDONTWRITEBYTECODE=1 \
    exec /usr/bin/python3 -m pytest -q -p no:cacheprovider "$here" "$@"
