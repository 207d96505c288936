#!/bin/sh
# Checks docs/openapi.json: lints it with Redocly CLI (lint.sh), then calls
# every route of BUILDDIR/signal-server and validates each response against
# the document.
#   sh tests/openapi/run.sh BUILDDIR [PYTEST-ARGS...]
# Needs Node.js with npx and the Debian package python3-jsonschema, besides
# what pytest-suite.sh needs.
set -eu
if [ $# -lt 1 ]; then
    echo "usage: $0 BUILDDIR [PYTEST-ARGS...]" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
if ! /usr/bin/python3 -c 'import jsonschema' 2>/dev/null; then
    echo "$0: the Python module jsonschema is missing; install python3-jsonschema" >&2
    exit 2
fi
sh "$here/lint.sh"
exec sh "$here/pytest-suite.sh" "$here" "$@"
