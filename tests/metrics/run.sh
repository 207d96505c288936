#!/bin/sh
# Scrapes GET /metrics of BUILDDIR/signal-server: `promtool check metrics`
# must report nothing, and counters must hold exact values after known
# client actions.
#   sh tests/metrics/run.sh BUILDDIR [PYTEST-ARGS...]
# Needs promtool from the Debian package prometheus, besides what
# tests/openapi/pytest-suite.sh needs.
set -eu
if [ $# -lt 1 ]; then
    echo "usage: $0 BUILDDIR [PYTEST-ARGS...]" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v promtool >/dev/null 2>&1; then
    echo "$0: promtool is missing; install the Debian package prometheus" >&2
    exit 2
fi
exec sh "$here/../openapi/pytest-suite.sh" "$here" "$@"
