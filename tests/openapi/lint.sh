#!/bin/sh
# Lints docs/openapi.json with Redocly CLI. Every built-in rule is an error
# except those that tests/openapi/redocly.yaml turns off, each with its
# reason. Exits non-zero on any problem.
#   sh tests/openapi/lint.sh
# Needs Node.js 20.19 or later and npx; the CLI comes from the npm registry
# on first use and is cached in ~/.npm after that.
set -eu
REDOCLY_CLI_VERSION=2.77.0

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
if ! command -v npx >/dev/null 2>&1; then
    echo "$0: npx is missing; install Node.js 20.19 or later" >&2
    exit 2
fi

# A scratch folder, so npx finds no package.json of ours and writes nothing
# into the tree.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cd "$scratch"

# Without these variables the CLI sends usage telemetry and checks for updates.
export REDOCLY_TELEMETRY=off
export REDOCLY_SUPPRESS_UPDATE_NOTICE=true
npx --yes "@redocly/cli@$REDOCLY_CLI_VERSION" lint \
    --config "$here/redocly.yaml" "$top/docs/openapi.json"
