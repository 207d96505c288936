"""sd_notify messages: the daemon started with NOTIFY_SOCKET pointing at a
Unix datagram socket of the test, as systemd starts a Type=notify service.

READY=1 must mean that the port accepts connections: it may not come
before the `event=listening` line, and a TCP connect right after it must
succeed. SIGHUP must give RELOADING=1 then READY=1, SIGTERM STOPPING=1.
"""

import shutil
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "openapi"))

from harness import REST_PREFIX, Daemon, LoopThread, WebSocketClient, request, server_binary  # noqa: E402

READY_TIMEOUT_S = 10
# The daemon refreshes STATUS= every 5 seconds; this leaves room for one refresh.
STATUS_PERIOD_TIMEOUT_S = 8


def built_with_libsystemd() -> bool:
    config_header = Path(server_binary()).parent / "build_config.h"
    return "#define HAVE_LIBSYSTEMD 1" in config_header.read_text()


pytestmark = pytest.mark.skipif(
    not built_with_libsystemd(),
    reason="signal-server was built without libsystemd (meson option systemd), so it sends no notifications",
)


class NotifyListener:
    """The receiving end of NOTIFY_SOCKET: one datagram is one notification."""

    def __init__(self):
        self.folder = tempfile.mkdtemp(prefix="notify-")
        self.path = str(Path(self.folder) / "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.received = []

    def next(self, timeout: float) -> list:
        """Return the next notification as a list of (name, value) pairs."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            raise AssertionError(f"no notification within {timeout} s; received so far: {self.received}") from None
        text = data.decode("utf-8")
        self.received.append(text)
        return [tuple(line.split("=", 1)) for line in text.split("\n") if line]

    def next_state_change(self, timeout: float) -> list:
        """Like next(), but skip the periodic STATUS=-only refreshes."""
        deadline = time.monotonic() + timeout
        while True:
            fields = self.next(max(deadline - time.monotonic(), 0.01))
            if [name for name, _ in fields] != ["STATUS"]:
                return fields

    def close(self):
        self.sock.close()
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def listener():
    receiver = NotifyListener()
    yield receiver
    receiver.close()


@pytest.fixture
def start(tmp_path, listener):
    """Return a function that starts the daemon with NOTIFY_SOCKET set; kill what is left at the end."""
    started = []

    def start_daemon(flags: dict = None) -> Daemon:
        daemon = Daemon(tmp_path / f"server-{len(started)}.log", flags, env={"NOTIFY_SOCKET": listener.path})
        started.append(daemon)
        return daemon

    yield start_daemon
    for daemon in started:
        daemon.kill()


def wait_ready(daemon: Daemon, listener: NotifyListener) -> list:
    """Receive the first notification, which must carry READY=1, and set the daemon's address."""
    fields = listener.next(READY_TIMEOUT_S)
    assert ("READY", "1") in fields, f"first notification: {fields}"
    address = daemon.listening_address()
    assert address is not None, "READY=1 arrived before the event=listening line"
    daemon.host, daemon.port = address
    return fields


def test_ready_only_once_port_accepts(start, listener):
    daemon = start()
    fields = wait_ready(daemon, listener)

    # Connect at once: READY=1 promises a listening socket.
    with socket.create_connection((daemon.host, daemon.port), timeout=2):
        pass
    assert fields == [("READY", "1"), ("STATUS", f"Listening on {daemon.host}:{daemon.port}, 0 clients")]
    assert daemon.stop() == 0


# The daemon waits for every worker loop before READY=1, and /readyz and
# /status count running loops, so probes right after READY=1 succeed.
def test_probes_ready_right_after_ready(start, listener):
    for attempt in range(5):
        daemon = start({"workers": 2})
        wait_ready(daemon, listener)
        readyz = request(daemon, "GET", "/readyz")
        status = request(daemon, "GET", REST_PREFIX + "/status").json()
        assert daemon.stop() == 0
        assert listener.next_state_change(READY_TIMEOUT_S) == [("STOPPING", "1")]
        assert readyz.status == 200, f"start {attempt}: /readyz right after READY=1: {readyz}"
        assert status["isReady"] is True, f"start {attempt}: /status right after READY=1: {status}"


def test_status_refresh_counts_clients(start, listener):
    daemon = start({"auth_timeout_ms": 60000})
    wait_ready(daemon, listener)
    loop = LoopThread()
    try:
        websocket = loop.run(WebSocketClient.connect(daemon))
        expected = ("STATUS", f"Listening on {daemon.host}:{daemon.port}, 1 client")
        deadline = time.monotonic() + STATUS_PERIOD_TIMEOUT_S
        while listener.next(max(deadline - time.monotonic(), 0.01)) != [expected]:
            pass
        loop.run(websocket.close())
    finally:
        loop.close()
    assert daemon.stop() == 0


def test_sighup_sends_reloading_then_ready(start, listener):
    daemon = start()
    wait_ready(daemon, listener)
    daemon.send_signal(signal.SIGHUP)
    assert listener.next_state_change(READY_TIMEOUT_S) == [("RELOADING", "1")]
    assert listener.next_state_change(READY_TIMEOUT_S) == [("READY", "1")]
    assert "event=reloaded" in daemon.log_text()
    assert request(daemon, "GET", REST_PREFIX + "/status").json()["isReady"] is True
    assert daemon.stop() == 0


def test_failed_reload_still_sends_ready(start, listener, tmp_path):
    config = tmp_path / "signal-server.conf"
    config.write_text("log_level = info\n")
    daemon = start({"config": config})
    wait_ready(daemon, listener)
    config.write_text("log_level = loudest\n")
    daemon.send_signal(signal.SIGHUP)
    assert listener.next_state_change(READY_TIMEOUT_S) == [("RELOADING", "1")]
    assert listener.next_state_change(READY_TIMEOUT_S) == [("READY", "1")]
    assert "event=reload_failed" in daemon.log_text()
    assert request(daemon, "GET", "/healthz").status == 200
    assert daemon.stop() == 0


def test_sigterm_sends_stopping(start, listener):
    daemon = start()
    wait_ready(daemon, listener)
    daemon.send_signal(signal.SIGTERM)
    assert listener.next_state_change(READY_TIMEOUT_S) == [("STOPPING", "1")]
    assert daemon.stop() == 0
