#!/bin/sh
# Installs the Debian 12 packages that building, running and testing need,
# when any is missing. Needs root (or sudo) only when something is missing.
set -eu

packages="meson ninja-build pkg-config gcc libc6-dev
libevent-dev libssl-dev libcjson-dev libjwt-dev libsystemd-dev check
openssl python3 python3-pytest python3-websockets python3-cryptography
python3-jsonschema
clang libclang-rt-14-dev llvm scdoc systemd prometheus curl nginx procps
gnuplot-nox iproute2"

missing=""
for p in $packages; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        "install ok installed") ;;
        *) missing="$missing $p" ;;
    esac
done
# The OpenAPI check runs Redocly CLI with npx; Debian's own Node.js is
# installed only where none is present (Redocly needs 20.19 or later).
command -v npx >/dev/null 2>&1 || missing="$missing nodejs npm"
[ -z "$missing" ] && exit 0

echo "install-deps: installing$missing" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
