#!/bin/sh
# Check the systemd units in systemd/: `systemd-analyze verify` must print
# nothing, and the service's exposure from `systemd-analyze security` must
# be at most 2.0.
#
# Usage: tests/systemd/check-units.sh [BUILDDIR]
#
# verify resolves ExecStart= and the man pages named in Documentation=, so
# the units are checked inside a scratch root that contains them at their
# installed paths: the daemon from BUILDDIR (a stand-in script when no
# build is given), the man pages rendered from docs/man with scdoc, and a
# copy of the host's own units for the targets the units refer to. Needs
# systemd 252 or later, man-db and scdoc.
set -eu

max_exposure=2.0
top=$(cd "$(dirname "$0")/../.." && pwd)
builddir=${1:-}

for tool in systemd-analyze man scdoc; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "check-units: $tool not found (Debian packages: systemd, man-db, scdoc)" >&2
        exit 2
    fi
done

root=$(mktemp -d "${TMPDIR:-/tmp}/check-units.XXXXXX")
trap 'rm -rf "$root"' EXIT INT TERM

mkdir -p "$root/usr/sbin" "$root/bin" "$root/etc/systemd/system" \
    "$root/usr/lib/systemd" "$root/usr/share/man/man5" "$root/usr/share/man/man8"
cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
cp /bin/kill "$root/bin/kill"
cp "$top/systemd/signal-server.service" "$top/systemd/signal-server.socket" \
    "$root/etc/systemd/system/"

if [ -n "$builddir" ]; then
    if [ ! -x "$builddir/signal-server" ]; then
        echo "check-units: $builddir/signal-server not found; build it first" >&2
        exit 2
    fi
    cp "$builddir/signal-server" "$root/usr/sbin/signal-server"
else
    echo "check-units: no build directory given; verifying with a stand-in /usr/sbin/signal-server"
    printf '#!/bin/sh\nexit 0\n' >"$root/usr/sbin/signal-server"
    chmod 755 "$root/usr/sbin/signal-server"
fi

scdoc <"$top/docs/man/signal-server.8.scd" >"$root/usr/share/man/man8/signal-server.8"
scdoc <"$top/docs/man/signal-server.conf.5.scd" >"$root/usr/share/man/man5/signal-server.conf.5"

status=0

# verify runs man(1) on the host for each Documentation= entry, and man
# reads MANPATH, so the rendered pages are found without installing them.
verify_output=$(MANPATH="$root/usr/share/man" systemd-analyze verify --root="$root" \
    signal-server.service signal-server.socket 2>&1) || true
if [ -n "$verify_output" ]; then
    echo "FAIL: systemd-analyze verify printed:"
    echo "$verify_output"
    status=1
else
    echo "ok: systemd-analyze verify printed nothing for signal-server.service and signal-server.socket"
fi

security_output=$(systemd-analyze security --offline=yes \
    "$top/systemd/signal-server.service" 2>&1) || true
exposure=$(printf '%s\n' "$security_output" |
    sed -n 's/.*Overall exposure level for signal-server\.service: \([0-9.]*\).*/\1/p')
if [ -z "$exposure" ]; then
    echo "FAIL: systemd-analyze security printed no overall exposure:"
    echo "$security_output"
    status=1
elif awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e > m) }'; then
    echo "FAIL: exposure of signal-server.service is $exposure, above $max_exposure; failing checks:"
    printf '%s\n' "$security_output" | grep '✗' || true
    status=1
else
    echo "ok: exposure of signal-server.service is $exposure (at most $max_exposure)"
fi

exit $status
