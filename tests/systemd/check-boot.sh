#!/bin/sh
# Boot the packaged service under a real systemd and check what static
# analysis cannot: the hardened unit starts, reports READY and STATUS,
# reloads on SIGHUP, stops cleanly and works through socket activation.
# The operations guide's steps run as written: a rejected reload, an
# environment drop-in, stopping the socket-started daemon and going back
# from socket activation.
#
# Usage: tests/systemd/check-boot.sh [DEB]
#        (default: the newest dist/signal-server_*.deb)
#
# A minimal bookworm with systemd is debootstrapped into a scratch folder,
# the package is installed into it, and the folder is booted with
# systemd-nspawn in its own network namespace, so the daemon's port 8080
# is reachable only inside the container. A one-shot unit runs the checks
# inside, writes them to /root/check-boot.log and powers the container
# off. CHECK_BOOT_KEEP=1 keeps the folder for inspection. Needs root and the Debian packages debootstrap and systemd-container;
# takes about two minutes, most of it debootstrap.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/packaging/chroot-common.sh"
deb=${1:-$(ls -t "$top"/dist/signal-server_*.deb 2>/dev/null | head -n 1)}
if [ -z "$deb" ] || [ ! -f "$deb" ]; then
    echo "check-boot: no package found; run packaging/build-deb.sh first" >&2
    exit 2
fi
for tool in debootstrap systemd-nspawn; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "check-boot: $tool not found (Debian packages debootstrap, systemd-container)" >&2
        exit 2
    fi
done

root=$(mktemp -d "${TMPDIR:-/tmp}/signal-server-boot.XXXXXX")
cleanup() {
    umount "$root/proc" 2>/dev/null || true
    if [ -n "${CHECK_BOOT_KEEP:-}" ]; then
        echo "check-boot: kept $root"
    else
        rm -rf "$root"
    fi
}
trap cleanup EXIT INT TERM

bootstrap_root "$root" systemd,systemd-sysv,dbus
mount -t proc proc "$root/proc"
install_deb "$root" "$deb"
umount "$root/proc"

# The checks, run by systemd inside the container once it has booted.
cat >"$root/usr/local/sbin/check-boot" <<'EOF'
#!/bin/sh
exec >/root/check-boot.log 2>&1
passed=0
failed=0
unit=signal-server.service

check() {
    # check DESCRIPTION EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then
        echo "ok: $1"
        passed=$((passed + 1))
    else
        echo "FAIL: $1: expected '$2', got '$3'"
        failed=$((failed + 1))
    fi
}

property() {
    systemctl show -P "$1" "$2"
}

journal_has() {
    journalctl -q -u "$unit" --no-pager -o cat | grep -qF -- "$1" && echo yes || echo no
}

# Prints yes once the last LINES journal lines of the unit contain TEXT,
# else no after 5 s: the daemon may log a moment after systemctl returns.
journal_tail_has() {
    # journal_tail_has LINES TEXT
    for _ in $(seq 50); do
        if journalctl -q -u "$unit" -n "$1" --no-pager -o cat | grep -qF -- "$2"; then
            echo yes
            return
        fi
        sleep 0.1
    done
    echo no
}

now_ms() {
    date +%s%3N
}

# Installed, enabled, and refused to start at boot without jwt_secret.
check "service is enabled" enabled "$(systemctl is-enabled $unit)"
check "socket is not enabled" disabled "$(systemctl is-enabled signal-server.socket)"
check "unconfigured start exits with status 2" 2 "$(property ExecMainStatus $unit)"
check "boot log names the missing key" yes "$(journal_has 'missing value for jwt_secret')"
check "exit status 2 is not restarted" 0 "$(property NRestarts $unit)"

# Configured: starts, notifies readiness and status.
sed -i -e 's/^#jwt_secret =$/jwt_secret = check-boot-secret-0123456789abcdef/' \
    -e 's/^#admin_user =$/admin_user = admin/' \
    -e 's/^#admin_password =$/admin_password = pw/' \
    /etc/signal-server/signal-server.conf
systemctl reset-failed $unit
check "systemctl start succeeds" 0 "$(systemctl start $unit; echo $?)"
check "service is running" active/running "$(property ActiveState $unit)/$(property SubState $unit)"
check "STATUS= reports the address" "Listening on 127.0.0.1:8080, 0 clients" "$(property StatusText $unit)"
pid=$(property MainPID $unit)
check "daemon runs as signal-server" signal-server "$(stat -c %U /proc/$pid)"
check "no new privileges" 1 "$(awk '/^NoNewPrivs:/ { print $2 }' /proc/$pid/status)"
check "seccomp filter active" 2 "$(awk '/^Seccomp:/ { print $2 }' /proc/$pid/status)"
check "no effective capabilities" 0000000000000000 "$(awk '/^CapEff:/ { print $2 }' /proc/$pid/status)"
# LimitNOFILE=65536, capped by the hard limit the container inherited.
hard=$(awk '/^Max open files/ { print $5 }' /proc/1/limits)
[ "$hard" = unlimited ] || [ "$hard" -gt 65536 ] && hard=65536
check "open-file limit" "$hard" "$(awk '/^Max open files/ { print $4 }' /proc/$pid/limits)"

# signalctl with nothing but the packaged configuration file.
check "signalctl status" "ready:    yes
clients:  0" "$(signalctl status)"
check "signalctl list with credentials from the config" 0 "$(signalctl list >/dev/null; echo $?)"

# Reload: same process, new settings applied.
check "systemctl reload succeeds" 0 "$(systemctl reload $unit; echo $?)"
check "reload keeps the process" "$pid" "$(property MainPID $unit)"
check "reload is logged with the applied keys" yes \
    "$(journal_tail_has 5 'event=reloaded applied=jwt_secret,jwt_claims_secret,jwt_leeway_s,admin_user,admin_password,room_allow,log_level')"

# A rejected reload: --check-config exits with status 2, systemctl reload
# still exits 0, and the daemon logs reload_failed and keeps its settings.
config=/etc/signal-server/signal-server.conf
cp $config /root/signal-server.conf.good
echo 'workers = many' >>$config
check "--check-config rejects an invalid file" 2 \
    "$(runuser -u signal-server -- signal-server --config $config --check-config >/dev/null 2>&1; echo $?)"
check "systemctl reload of an invalid file exits 0" 0 "$(systemctl reload $unit; echo $?)"
check "rejected reload is in the last 5 journal lines" yes "$(journal_tail_has 5 'event=reload_failed')"
check "rejected reload keeps the process" "$pid" "$(property MainPID $unit)"
cp /root/signal-server.conf.good $config

# An environment drop-in, in the non-interactive form of the guide, takes
# effect with daemon-reload and restart: at log level debug a rejected
# REST request is logged.
mkdir -p /etc/systemd/system/signal-server.service.d &&
    printf '[Service]\nEnvironment=SIGNAL_LOG_LEVEL=debug\n' \
        >/etc/systemd/system/signal-server.service.d/override.conf &&
    systemctl daemon-reload && systemctl restart $unit
check "restart with the drop-in succeeds" active "$(systemctl is-active $unit)"
check "daemon has the drop-in's environment" SIGNAL_LOG_LEVEL=debug \
    "$(tr '\0' '\n' </proc/$(property MainPID $unit)/environ | grep '^SIGNAL_LOG_LEVEL=')"
check "signalctl with a wrong password exits 1" 1 \
    "$(signalctl --user admin --password wrong list >/dev/null 2>&1; echo $?)"
check "drop-in log level debug applies" yes "$(journal_tail_has 5 'event=rest_unauthorized')"
rm -r /etc/systemd/system/signal-server.service.d
systemctl daemon-reload

# Stop: clean exit.
check "systemctl stop succeeds" 0 "$(systemctl stop $unit; echo $?)"
check "stop exit status" 0 "$(property ExecMainStatus $unit)"
check "stop is logged" yes "$(journal_has 'event=stopped status=0')"

# Socket activation: the first connection starts the service.
systemctl start signal-server.socket
check "socket unit listens" active "$(systemctl is-active signal-server.socket)"
check "service waits for a connection" inactive "$(systemctl is-active $unit)"
check "signalctl through the socket" "ready:    yes
clients:  0" "$(signalctl status)"
check "service started by the socket" active "$(systemctl is-active $unit)"
check "daemon took the socket from systemd" yes "$(journal_has 'socket_activation=yes')"

# Stopping the socket-started daemon: it must exit 0 well before systemd
# would kill it (TimeoutStopSec=30s).
started_ms=$(now_ms)
check "systemctl stop of the socket-started service succeeds" 0 "$(systemctl stop $unit; echo $?)"
elapsed_ms=$(($(now_ms) - started_ms))
check "socket-started service stops within 5 s" yes \
    "$([ "$elapsed_ms" -lt 5000 ] && echo yes || echo "no, after $elapsed_ms ms")"
check "socket-started service exit status" 0 "$(property ExecMainStatus $unit)"
check "socket-started service result" success "$(property Result $unit)"

# Going back from socket activation. enable --now does not replace the
# daemon the socket started, which keeps serving the socket's address;
# a restart does.
signalctl status >/dev/null
socket_pid=$(property MainPID $unit)
systemctl disable --now signal-server.socket
systemctl enable --now $unit
check "enable --now keeps the socket-started daemon" "$socket_pid" "$(property MainPID $unit)"
check "systemctl restart after socket activation succeeds" 0 "$(systemctl restart $unit; echo $?)"
check "socket unit is stopped" inactive "$(systemctl is-active signal-server.socket)"
check "restart replaced the socket-started daemon" yes \
    "$([ "$(property MainPID $unit)" != "$socket_pid" ] && echo yes || echo no)"
check "daemon binds its own address again" "socket_activation=no" \
    "$(journalctl -q -u $unit --no-pager -o cat | grep 'event=listening' | tail -n 1 | grep -o 'socket_activation=[a-z]*')"
check "signalctl after going back" "ready:    yes
clients:  0" "$(signalctl status)"

echo "--- journal"
journalctl -q -u $unit -u signal-server.socket --no-pager -o short-monotonic
echo "check-boot: $passed passed, $failed failed"
systemctl poweroff
EOF
chmod 755 "$root/usr/local/sbin/check-boot"
cat >"$root/etc/systemd/system/check-boot.service" <<'EOF'
[Unit]
Description=signal-server boot checks
# After the boot-time start attempt of the service, which must fail.
After=signal-server.service

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/check-boot

[Install]
WantedBy=multi-user.target
EOF
ln -s /etc/systemd/system/check-boot.service \
    "$root/etc/systemd/system/multi-user.target.wants/check-boot.service"

# --register=no and --keep-unit: the host has no systemd to register with.
echo "\$ systemd-nspawn -b -D $root --private-network"
if ! timeout 300 systemd-nspawn -q -b -D "$root" --private-network \
    --register=no --keep-unit >"$root.console.log" 2>&1; then
    tail -n 40 "$root.console.log"
    echo "check-boot: the container did not boot and power off within 300 s" >&2
fi
[ -n "${CHECK_BOOT_KEEP:-}" ] || rm -f "$root.console.log"

if [ ! -f "$root/root/check-boot.log" ]; then
    echo "check-boot: the checks did not run" >&2
    exit 1
fi
cat "$root/root/check-boot.log"
summary=$(tail -n 1 "$root/root/check-boot.log")
case "$summary" in
"check-boot: "*" passed, 0 failed") exit 0 ;;
*) exit 1 ;;
esac
