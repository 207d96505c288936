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
# run, postinst must have created the user, set the configuration's
# permissions and printed that jwt_secret is not set. Last, a purge must
# remove the user and /etc/signal-server without a message from deluser
# or delgroup.
# Needs root and the Debian packages debootstrap and debian-archive-keyring.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/packaging/chroot-common.sh"
deb=${1:-$(ls -t "$top"/dist/signal-server_*.deb 2>/dev/null | head -n 1)}
if [ -z "$deb" ] || [ ! -f "$deb" ]; then
    echo "check-deb-install: no package found; run packaging/build-deb.sh first" >&2
    exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "check-deb-install: needs root for debootstrap and chroot" >&2
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

bootstrap_root "$root" || fail "cannot create the Debian root"
mount -t proc proc "$root/proc"
name=$(basename "$deb")
install_deb "$root" "$deb" || fail "cannot install $name"
in_root dpkg -s signal-server | grep -q '^Status: install ok installed' ||
    fail "signal-server is not installed"
grep -q '^signal-server: jwt_secret is not set in /etc/signal-server/signal-server.conf' \
    "$root/tmp/install.log" ||
    fail "postinst did not say that jwt_secret is not set"

echo "\$ signal-server --version"
in_root signal-server --version || fail "signal-server --version exited with status $?"
echo "\$ signalctl --version"
in_root signalctl --version || fail "signalctl --version exited with status $?"

echo "\$ ls /usr/share/doc/signal-server/examples/"
in_root ls /usr/share/doc/signal-server/examples/ | grep -x nginx.conf ||
    fail "the nginx example is not installed"

echo "\$ test -x /bin/kill   (ExecReload of the service)"
in_root test -x /bin/kill || fail "/bin/kill is missing; the package must depend on procps"

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
if grep -E '^(deluser|delgroup|userdel|groupdel): ' "$root/tmp/purge.log"; then
    fail "purge printed the messages above"
fi
if in_root getent passwd signal-server >/dev/null; then
    fail "purge left the signal-server user"
fi
if [ -e "$root/etc/signal-server" ]; then
    fail "purge left /etc/signal-server"
fi
echo "purge removed the signal-server user and /etc/signal-server"
echo "ok: $name installs, runs and purges cleanly in a minimal bookworm"
