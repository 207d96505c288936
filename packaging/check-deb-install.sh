#!/bin/sh
# Install the built package into a fresh minimal Debian 12 and run it.
#
# Usage: packaging/check-deb-install.sh [DEB]
#        (default: the newest dist/signal-server_*.deb)
#
# debootstrap --variant=minbase bookworm fills a scratch folder from the
# Debian mirror this machine's apt is configured for. Inside it, through
# chroot, `apt-get install ./signal-server_*.deb` must pull in every
# dependency. Then `signal-server --version` and `signalctl --version` must
# run, and postinst must have created the user and set the configuration's
# permissions. Last, a purge must remove the user and /etc/signal-server.
# Needs root and the Debian packages debootstrap and debian-archive-keyring.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
deb=${1:-$(ls -t "$top"/dist/signal-server_*.deb 2>/dev/null | head -n 1)}
if [ -z "$deb" ] || [ ! -f "$deb" ]; then
    echo "check-deb-install: no package found; run packaging/build-deb.sh first" >&2
    exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "check-deb-install: needs root for debootstrap and chroot" >&2
    exit 2
fi

# The mirror: the first bookworm source of the host's apt, in either the
# one-line or the deb822 format.
mirror=$(
    {
        cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
            awk '$1 == "deb" && $0 ~ / bookworm / { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }'
        for f in /etc/apt/sources.list.d/*.sources; do
            [ -e "$f" ] || continue
            awk 'BEGIN { RS = ""; FS = "\n" }
                 /(^|\n)Suites:[^\n]*bookworm( |\n|$)/ && !/(^|\n)Enabled: *no/ {
                     for (i = 1; i <= NF; i++) if ($i ~ /^URIs:/) { split($i, u, " "); print u[2]; exit }
                 }' "$f"
        done
    } | grep -v security | head -n 1
)
if [ -z "$mirror" ]; then
    echo "check-deb-install: no bookworm mirror found in /etc/apt/sources.list{,.d}" >&2
    exit 2
fi

root=$(mktemp -d "${TMPDIR:-/tmp}/signal-server-chroot.XXXXXX")
cleanup() {
    umount "$root/proc" 2>/dev/null || true
    rm -rf "$root"
}
trap cleanup EXIT INT TERM

in_root() {
    chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 \
        DEBIAN_FRONTEND=noninteractive "$@"
}

fail() {
    echo "FAIL: $*"
    exit 1
}

echo "\$ debootstrap --variant=minbase bookworm $root $mirror"
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.debootstrap.log" 2>&1 || {
    tail -n 30 "$root.debootstrap.log" >&2
    rm -f "$root.debootstrap.log"
    fail "debootstrap failed; the last 30 lines are above"
}
rm -f "$root.debootstrap.log"
mount -t proc proc "$root/proc"

cp "$deb" "$root/tmp/"
name=$(basename "$deb")

echo "\$ apt-get install -y ./$name   (in the chroot)"
in_root apt-get update -qq
in_root sh -c "cd /tmp && apt-get install -y -q ./$name" >"$root/tmp/install.log" 2>&1 || {
    cat "$root/tmp/install.log"
    fail "apt-get install ./$name failed"
}
grep '^Setting up ' "$root/tmp/install.log"
in_root dpkg -s signal-server | grep -q '^Status: install ok installed' ||
    fail "signal-server is not installed"

echo "\$ signal-server --version"
in_root signal-server --version || fail "signal-server --version exited with status $?"
echo "\$ signalctl --version"
in_root signalctl --version || fail "signalctl --version exited with status $?"

echo "\$ getent passwd signal-server"
in_root getent passwd signal-server || fail "postinst did not create the signal-server user"
echo "\$ stat -c '%a %U:%G %n' /etc/signal-server /etc/signal-server/signal-server.conf"
perms=$(in_root stat -c '%a %U:%G %n' /etc/signal-server /etc/signal-server/signal-server.conf)
echo "$perms"
[ "$perms" = "750 root:signal-server /etc/signal-server
640 root:signal-server /etc/signal-server/signal-server.conf" ] ||
    fail "unexpected owner or mode of the configuration"
echo "\$ ls /etc/systemd/system/multi-user.target.wants/"
in_root ls /etc/systemd/system/multi-user.target.wants/ | grep -x signal-server.service ||
    fail "the service is not enabled"

echo "\$ apt-get purge -y signal-server   (in the chroot)"
in_root apt-get purge -y -q signal-server >"$root/tmp/purge.log" 2>&1 || {
    cat "$root/tmp/purge.log"
    fail "apt-get purge signal-server failed"
}
if in_root getent passwd signal-server >/dev/null; then
    fail "purge left the signal-server user"
fi
if [ -e "$root/etc/signal-server" ]; then
    fail "purge left /etc/signal-server"
fi
echo "purge removed the signal-server user and /etc/signal-server"
echo "ok: $name installs, runs and purges cleanly in a minimal bookworm"
