#!/bin/sh
# Starts signal-server in the foreground with a development configuration
# written on first use to .dev/signal-server.conf: a random JWT secret,
# random admin credentials, rooms "public-*" joinable. Prints what a client
# and an operator need to connect.
#   sh scripts/dev-run.sh BUILD_DIR
set -eu
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
dir="$top/.dev"
conf="$dir/signal-server.conf"

if [ ! -f "$conf" ]; then
    mkdir -p "$dir"
    umask 077
    cat > "$conf" <<CONF
# Development configuration written by scripts/dev-run.sh.
listen = ${SIGNAL_LISTEN:-127.0.0.1:8080}
jwt_secret = $(openssl rand -hex 32)
admin_user = admin
admin_password = $(openssl rand -hex 12)
room_allow = public-*
log_level = info
CONF
fi

value() { sed -n "s/^$1 *= *//p" "$conf" | tail -n 1; }
secret=$(value jwt_secret)
password=$(value admin_password)
# The environment overrides the file, as it does for the server.
listen=${SIGNAL_LISTEN:-$(value listen)}

# An HS256 token for user "dev-user", valid for 24 hours.
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
now=$(date +%s)
head=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
body=$(printf '{"sub":"dev-user","iat":%s,"exp":%s}' "$now" $((now + 86400)) | b64url)
sig=$(printf '%s.%s' "$head" "$body" | openssl dgst -sha256 -hmac "$secret" -binary | b64url)

cat <<INFO
signal-server development setup ($conf)
  WebSocket URL:   ws://$listen/ws
  JWT secret:      $secret
  client token:    $head.$body.$sig  (user dev-user, 24 hours)
  admin (Basic):   admin:$password
Try it from another shell:
  JWT_SECRET=$secret sh ../shared/peers/probe.sh ws://$listen/ws 10
  curl -s -u admin:$password -H 'content-type: application/json' \\
    -d '{"topic":"hello","data":{"n":1}}' \\
    http://$listen/v1/api/socket/websocket/clients/broadcast
INFO
exec "$top/$build/signal-server" --config "$conf"
