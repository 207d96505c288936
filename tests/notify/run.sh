#!/bin/sh
# Checks the sd_notify messages of BUILDDIR/signal-server through a Unix
# datagram socket named by NOTIFY_SOCKET: READY=1 only once the port
# accepts connections, STATUS=, RELOADING=1 then READY=1 on SIGHUP and
# STOPPING=1 on SIGTERM. Skipped when the build has no libsystemd.
#   sh tests/notify/run.sh BUILDDIR [PYTEST-ARGS...]
# Needs what tests/openapi/pytest-suite.sh needs.
set -eu
if [ $# -lt 1 ]; then
    echo "usage: $0 BUILDDIR [PYTEST-ARGS...]" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
exec sh "$here/../openapi/pytest-suite.sh" "$here" "$@"
