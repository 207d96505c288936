#!/bin/sh
# Check that every key `signal-server --help` lists appears in the packaged
# configuration file, commented out at its default, and in
# signal-server.conf(5) with the same default.
#
# Usage: packaging/check-conf-keys.sh SIGNAL_SERVER [CONF [MAN_SOURCE]]
#        (defaults: packaging/signal-server.conf,
#        docs/man/signal-server.conf.5.scd)
#
# A key that --help prints with a "[default]" must appear in CONF as
# "#key = default" and in the man page as "Default: *default*". A key
# without one (required, unset or empty by default) must appear in CONF
# as "#key =" and its man page entry must not give a literal default.
# packaging/build-deb.sh runs this on the files in the built package.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
binary=${1:?usage: check-conf-keys.sh SIGNAL_SERVER [CONF [MAN_SOURCE]]}
conf=${2:-$top/packaging/signal-server.conf}
man=${3:-$top/docs/man/signal-server.conf.5.scd}

# "key<TAB>default" for each key; the default is empty when --help shows
# none.
keys=$("$binary" --help | awk '
    /^Settings/ { settings = 1; next }
    settings && /^  [a-z_]+ / {
        default_value = ""
        if (match($0, / \[[^]]*\]$/))
            default_value = substr($0, RSTART + 2, RLENGTH - 3)
        printf "%s\t%s\n", $1, default_value
    }')
if [ -z "$keys" ]; then
    echo "check-conf-keys: $binary --help listed no keys" >&2
    exit 1
fi

# The man page entry of a key: its "*key* =" line, any key lines that
# share the entry (admin_user and admin_password), and the indented text
# under them, joined into one line.
man_entry() {
    awk -v key="$1" '
        index($0, "*" key "* =") == 1 { found = 1; print; next }
        found && /^\*[a-z_]+\* =/ && !text { print; next }
        found && /^\t/ { text = 1; print; next }
        found { exit }
    ' "$man" | tr '\t\n' '  '
}

failed=0
fail() {
    echo "FAIL: $*"
    failed=$((failed + 1))
}

tab=$(printf '\t')
count=0
while IFS="$tab" read -r key default_value; do
    count=$((count + 1))
    expected_line="#$key =${default_value:+ $default_value}"
    matches=$(grep -cxF -- "$expected_line" "$conf" || true)
    if [ "$matches" != 1 ]; then
        found=$(grep -E "^#? *$key *=" "$conf" || echo "no line")
        fail "$conf: expected the line '$expected_line', found: $found"
    fi

    entry=$(man_entry "$key")
    if [ -z "$entry" ]; then
        fail "$man: no entry for $key"
        continue
    fi
    man_default=$(printf '%s\n' "$entry" |
        sed -n 's/.*Default: \*\([^*]*\)\*.*/\1/p')
    if [ -n "$default_value" ] && [ "$man_default" != "$default_value" ]; then
        fail "$man: $key: expected 'Default: *$default_value*', found '${man_default:-none}'"
    fi
    if [ -z "$default_value" ] && [ -n "$man_default" ]; then
        fail "$man: $key has no default in --help, but the man page gives '$man_default'"
    fi
done <<EOF
$keys
EOF

if [ "$failed" -gt 0 ]; then
    echo "check-conf-keys: $failed of the checks on $count keys failed" >&2
    exit 1
fi
echo "check-conf-keys: all $count keys of --help are in $(basename "$conf") and $(basename "$man") with their defaults"
