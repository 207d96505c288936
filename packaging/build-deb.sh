#!/bin/sh
# Build the Debian package into dist/ and check it with lintian.
#
# Usage: packaging/build-deb.sh
#
# The committed tree (git archive HEAD) is unpacked in a scratch folder
# with packaging/debian as debian/, then built with
# `dpkg-buildpackage -us -uc -b`, so commit changes before building.
# Missing build dependencies are installed with apt-get when running as
# root. The packaged configuration file and signal-server.conf(5) must
# list every key of `signal-server --help` with its default
# (packaging/check-conf-keys.sh). Lintian must report no error; its
# warnings are printed.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
dist="$top/dist"
version=$(sed -n '1s/^signal-server (\([^)]*\)).*/\1/p' "$top/packaging/debian/changelog")
upstream_version=${version%-*}
arch=$(dpkg --print-architecture)
deb="signal-server_${version}_${arch}.deb"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/signal-server-deb.XXXXXX")
trap 'rm -rf "$scratch"' EXIT INT TERM
tree="$scratch/signal-server-$upstream_version"
mkdir -p "$tree"

# The committed tree (HEAD), so files other work has left uncommitted in
# the working tree cannot break or leak into the package.
cd "$top"
git archive --format=tar HEAD | tar -xf - -C "$tree"
rm -rf "$tree/debian"
cp -r "$tree/packaging/debian" "$tree/debian"

# Build dependencies, from debian/control.
cd "$tree"
if ! missing=$(dpkg-checkbuilddeps 2>&1); then
    packages=$(printf '%s\n' "$missing" |
        sed -n 's/.*Unmet build dependencies: //p' |
        sed 's/([^)]*)//g; s/|[^ ]*//g')
    if [ "$(id -u)" -ne 0 ] || [ -z "$packages" ]; then
        echo "build-deb: $missing" >&2
        exit 1
    fi
    echo "build-deb: installing build dependencies: $packages"
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
fi

echo "build-deb: commit $(git -C "$top" rev-parse --short HEAD), dpkg-buildpackage -us -uc -b in $tree"
dpkg-buildpackage -us -uc -b >"$scratch/build.log" 2>&1 || {
    tail -n 60 "$scratch/build.log" >&2
    echo "build-deb: dpkg-buildpackage failed; the last 60 lines are above" >&2
    exit 1
}

mkdir -p "$dist"
rm -f "$dist/$deb"
cp "$scratch/$deb" "$dist/$deb"
echo "build-deb: built dist/$deb"
dpkg-deb --info "$dist/$deb" | sed -n 's/^ *\(Package\|Version\|Depends\|Installed-Size\):/  &/p'
dpkg-deb --contents "$dist/$deb" | awk '{ print "  " $1, $6 }'

# The packaged binary, configuration file and man page source must agree
# on the keys and their defaults.
dpkg-deb -x "$dist/$deb" "$scratch/contents"
sh "$tree/packaging/check-conf-keys.sh" "$scratch/contents/usr/sbin/signal-server" \
    "$scratch/contents/etc/signal-server/signal-server.conf" \
    "$tree/docs/man/signal-server.conf.5.scd"

echo "build-deb: lintian dist/$deb"
lintian --fail-on error --tag-display-limit 0 "$dist/$deb"
echo "build-deb: lintian reported no errors"
