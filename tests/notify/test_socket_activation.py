"""Socket activation: the daemon takes its listening socket from systemd
(here from systemd-socket-activate, which passes it the same way: fd 3,
LISTEN_FDS=1, blocking) and still stops promptly on SIGTERM."""

import shutil
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "openapi"))

from harness import server_binary  # noqa: E402

STOP_LIMIT_S = 5.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def connect(port: int) -> socket.socket:
    # systemd-socket-activate binds the port shortly after it starts.
    deadline = time.monotonic() + 5
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=5)
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def upgrade(port: int) -> socket.socket:
    sock = connect(port)
    sock.sendall(
        b"GET /ws HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        assert chunk, f"connection closed during the upgrade: {head!r}"
        head += chunk
    assert head.startswith(b"HTTP/1.1 101 "), head
    return sock


def read_close_code(sock: socket.socket) -> int:
    data = b""
    while len(data) < 4:
        chunk = sock.recv(4096)
        assert chunk, f"EOF before a close frame: {data!r}"
        data += chunk
    assert data[0] == 0x88, f"expected a close frame, got {data[:4]!r}"
    return struct.unpack("!H", data[2:4])[0]


@pytest.mark.skipif(shutil.which("systemd-socket-activate") is None,
                    reason="systemd-socket-activate (package systemd) is missing")
def test_socket_activated_daemon_stops_on_sigterm(tmp_path):
    port = free_port()
    log = open(tmp_path / "stderr.log", "w+")
    daemon = subprocess.Popen(
        ["systemd-socket-activate", "-l", f"127.0.0.1:{port}", server_binary(),
         "--jwt-secret=activation-secret", "--workers=2"],
        stderr=log,
    )
    try:
        client = upgrade(port)  # the first connection starts the daemon
        log.seek(0)
        deadline = time.monotonic() + 5
        while "event=listening" not in log.read() and time.monotonic() < deadline:
            time.sleep(0.05)
            log.seek(0)
        log.seek(0)
        assert "socket_activation=yes" in log.read()

        started = time.monotonic()
        daemon.terminate()
        assert read_close_code(client) == 1001
        assert daemon.wait(STOP_LIMIT_S) == 0
        assert time.monotonic() - started < STOP_LIMIT_S
        client.close()
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        log.close()
