#!/bin/sh
# Run the signalctl end-to-end tests against the daemon of a meson build.
# Usage: tests/signalctl/run.sh BUILDDIR [PYTEST ARGS...]
# Needs the Debian packages python3-pytest, python3-websockets and
# python3-cryptography; Debian's /usr/bin/python3 is used on purpose.
set -eu
if [ $# -lt 1 ]; then
    echo "usage: $0 BUILDDIR [PYTEST ARGS...]" >&2
    exit 2
fi
builddir=$(cd "$1" && pwd)
shift
here=$(cd "$(dirname "$0")" && pwd)
meson compile -C "$builddir" signal-server signalctl >/dev/null
SIGNAL_BUILD_DIR=$builddir exec /usr/bin/python3 -m pytest -q -p no:cacheprovider "$here" "$@"
