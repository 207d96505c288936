#!/bin/sh
# Check docs/nginx/signal-server.conf: nginx terminates TLS with a
# self-signed certificate and proxies to a real signal-server, and through
# it a WebSocket client authenticates (wss://) and receives a broadcast
# sent to the REST API (https://).
#
# Usage: tests/nginx/test_nginx.sh BUILDDIR [PYTEST ARGS...]
#
# Installs the Debian package nginx when it is missing, without starting
# its system service. Everything listens on 127.0.0.1 and runs from a
# scratch folder that is removed afterwards. With SIGNAL_TEST_UPSTREAM set
# to HOST:PORT of a server that is already running (Basic admin:admin, JWT
# secret bench-secret), BUILDDIR is not used and no daemon is started.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
python=/usr/bin/python3

if [ -z "${SIGNAL_TEST_UPSTREAM:-}" ] && [ $# -lt 1 ]; then
    echo "usage: $0 BUILDDIR [PYTEST ARGS...]" >&2
    exit 2
fi
builddir=${1:-}
[ $# -gt 0 ] && shift

# nginx, installed without letting its package start the system service
# on port 80 of every address.
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    temporary_policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        temporary_policy=yes
    fi
    echo "test_nginx: installing nginx"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
    [ -n "$temporary_policy" ] && rm -f /usr/sbin/policy-rc.d
fi
nginx=/usr/sbin/nginx

scratch=$(mktemp -d "${TMPDIR:-/tmp}/signal-nginx.XXXXXX")
# nginx workers run as the user "nobody" and need to reach the temp folders.
chmod 755 "$scratch"
daemon_pid=
nginx_pid=
cleanup() {
    [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
    [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
    rm -rf "$scratch"
}
trap cleanup EXIT INT TERM

free_port() {
    "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A certificate for 127.0.0.1 and localhost, valid for one day.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$scratch/tls.key" -out "$scratch/tls.pem" -days 1 \
    -subj /CN=localhost -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    2>/dev/null

# The daemon on a free loopback port, or the upstream named by the caller.
if [ -n "${SIGNAL_TEST_UPSTREAM:-}" ]; then
    upstream=$SIGNAL_TEST_UPSTREAM
    admin_password=admin
    jwt_secret=bench-secret
else
    admin_password=pw
    jwt_secret=nginx-test-secret-0123456789abcdef
    "$builddir/signal-server" --listen=127.0.0.1:0 --jwt-secret="$jwt_secret" \
        --admin-user=admin --admin-password="$admin_password" \
        --room-allow='public-*' 2>"$scratch/daemon.log" &
    daemon_pid=$!
    upstream=
    for _ in $(seq 100); do
        upstream=$(sed -n 's/.*event=listening addr=\([^ ]*\).*/\1/p' "$scratch/daemon.log" | head -n 1)
        [ -n "$upstream" ] && break
        kill -0 "$daemon_pid" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$upstream" ]; then
        cat "$scratch/daemon.log" >&2
        echo "test_nginx: signal-server did not log event=listening" >&2
        exit 1
    fi
fi

# The documented config with the test's address, port and certificate.
port=$(free_port)
sed -e "s|^\( *\)listen 443 ssl;|\1listen 127.0.0.1:$port ssl;|" \
    -e '/listen \[::\]:443 ssl;/d' \
    -e "s|server 127.0.0.1:8080;|server $upstream;|" \
    -e "s|/etc/ssl/certs/signal.example.com.pem|$scratch/tls.pem|" \
    -e "s|/etc/ssl/private/signal.example.com.key|$scratch/tls.key|" \
    "$top/docs/nginx/signal-server.conf" >"$scratch/signal-server.conf"
for expected in "listen 127.0.0.1:$port ssl;" "server $upstream;" \
    "ssl_certificate     $scratch/tls.pem;" "ssl_certificate_key $scratch/tls.key;"; do
    if ! grep -qF "$expected" "$scratch/signal-server.conf"; then
        echo "test_nginx: docs/nginx/signal-server.conf changed; cannot set '$expected'" >&2
        exit 1
    fi
done
mkdir -p "$scratch/temp"
cat >"$scratch/nginx.conf" <<EOF
worker_processes 1;
pid $scratch/nginx.pid;
error_log $scratch/error.log info;
events { worker_connections 256; }
http {
    access_log $scratch/access.log;
    client_body_temp_path $scratch/temp/body;
    proxy_temp_path $scratch/temp/proxy;
    fastcgi_temp_path $scratch/temp/fastcgi;
    uwsgi_temp_path $scratch/temp/uwsgi;
    scgi_temp_path $scratch/temp/scgi;
    include $scratch/signal-server.conf;
}
EOF

"$nginx" -t -q -p "$scratch" -e "$scratch/error.log" -c "$scratch/nginx.conf"
"$nginx" -p "$scratch" -e "$scratch/error.log" -c "$scratch/nginx.conf" -g 'daemon off;' &
nginx_pid=$!
for _ in $(seq 100); do
    if "$python" -c "import socket; socket.create_connection(('127.0.0.1', $port), 1).close()" 2>/dev/null; then
        break
    fi
    kill -0 "$nginx_pid" 2>/dev/null || { cat "$scratch/error.log" >&2; exit 1; }
    sleep 0.1
done
echo "test_nginx: nginx $("$nginx" -v 2>&1 | sed 's|.*/||') on https://127.0.0.1:$port -> $upstream"

status=0
NGINX_TEST_URL="https://127.0.0.1:$port" NGINX_TEST_CA="$scratch/tls.pem" \
    NGINX_TEST_SECRET="$jwt_secret" NGINX_TEST_PASSWORD="$admin_password" \
    "$python" -m pytest -q -p no:cacheprovider "$here" "$@" || status=$?
if [ "$status" -ne 0 ]; then
    echo "--- nginx error.log" >&2
    tail -n 30 "$scratch/error.log" >&2
fi
exit "$status"
