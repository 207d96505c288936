# Helpers for the scripts that install the package into a fresh Debian 12
# root: packaging/check-deb-install.sh and tests/systemd/check-boot.sh.
# Source this file; it defines functions only.

# Print the first bookworm mirror of the host's apt configuration, in
# either the one-line or the deb822 format, leaving out security mirrors.
debian_mirror() {
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
}

# bootstrap_root ROOT [PACKAGE,...]: debootstrap a minimal bookworm into
# ROOT, with the extra packages given. Prints the log tail on failure.
bootstrap_root() {
    _root=$1
    _include=${2:-}
    _mirror=$(debian_mirror)
    if [ -z "$_mirror" ]; then
        echo "no bookworm mirror found in /etc/apt/sources.list{,.d}" >&2
        return 1
    fi
    echo "\$ debootstrap --variant=minbase${_include:+ --include=$_include} bookworm $_root $_mirror"
    if ! debootstrap --variant=minbase ${_include:+--include="$_include"} \
        bookworm "$_root" "$_mirror" >"$_root.debootstrap.log" 2>&1; then
        tail -n 30 "$_root.debootstrap.log" >&2
        rm -f "$_root.debootstrap.log"
        echo "debootstrap failed; the last 30 lines are above" >&2
        return 1
    fi
    rm -f "$_root.debootstrap.log"
    # ROOT often comes from mktemp -d (mode 0700); as "/" of a system it
    # must let system users such as signal-server in.
    chmod 755 "$_root"
}

# install_deb ROOT DEB: install DEB and its dependencies inside ROOT with
# apt-get, through chroot. /proc must be mounted in ROOT. Prints the
# "Setting up" lines and the messages of signal-server's postinst, or the
# whole log on failure.
install_deb() {
    _root=$1
    _name=$(basename "$2")
    cp "$2" "$_root/tmp/$_name"
    echo "\$ apt-get install -y ./$_name   (in the chroot)"
    if ! chroot "$_root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 \
        DEBIAN_FRONTEND=noninteractive \
        sh -c "apt-get update -qq && cd /tmp && apt-get install -y -q ./$_name" \
        >"$_root/tmp/install.log" 2>&1; then
        cat "$_root/tmp/install.log"
        echo "apt-get install ./$_name failed" >&2
        return 1
    fi
    grep -E '^(Setting up |signal-server: )' "$_root/tmp/install.log"
}
