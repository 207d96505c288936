"""Fixtures of the RFC 6455 conformance suite: the server under test.

Without --target-url the suite starts the signal-server binary on a free
loopback port and stops it with SIGTERM at the end. The stop must exit 0
and leave no sanitizer report on stderr.
"""

import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from wsclient import Target  # noqa: E402

STARTUP_TIMEOUT_S = 10.0
# The server closes its clients and exits within shutdown_timeout_ms (5 s by
# default); the rest is slack for a sanitizer build.
SHUTDOWN_TIMEOUT_S = 15.0
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error")

JWT_SECRET = "conformance-secret"


def pytest_addoption(parser):
    group = parser.getgroup("conformance", "RFC 6455 conformance suite")
    group.addoption(
        "--target-url", default=None,
        help="test a running server instead of starting one: http://HOST:PORT or ws://HOST:PORT/PATH")
    group.addoption(
        "--server-bin", default=os.environ.get("SIGNAL_SERVER_BIN", "/work/main/build/signal-server"),
        help="signal-server binary to start (default: $SIGNAL_SERVER_BIN, else /work/main/build/signal-server)")
    group.addoption("--ws-path", default="/ws",
                    help="WebSocket path when --target-url is an http:// URL (default /ws)")
    group.addoption("--max-message-bytes", type=int, default=131072,
                    help="message size limit of the target, in bytes (default 131072)")
    group.addoption("--max-header-bytes", type=int, default=16384,
                    help="request head size limit of the target, in bytes (default 16384)")
    group.addoption("--max-body-bytes", type=int, default=1048576,
                    help="REST request body size limit of the target, in bytes (default 1048576)")
    group.addoption("--jwt-secret", default=JWT_SECRET,
                    help=f"HS256 secret for REST bearer tokens (default {JWT_SECRET}, which the started binary uses)")


def parse_target_url(url: str, ws_path: str) -> tuple[str, int, str]:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "ws") or not parts.hostname or not parts.port:
        raise pytest.UsageError(
            f"invalid --target-url {url!r}: expected http://HOST:PORT or ws://HOST:PORT/PATH")
    if parts.scheme == "ws" and parts.path not in ("", "/"):
        ws_path = parts.path
    return parts.hostname, parts.port, ws_path


@pytest.fixture(scope="session")
def target(request, tmp_path_factory):
    config = request.config
    limits = dict(
        max_message_bytes=config.getoption("--max-message-bytes"),
        max_header_bytes=config.getoption("--max-header-bytes"),
        max_body_bytes=config.getoption("--max-body-bytes"),
        jwt_secret=config.getoption("--jwt-secret"),
    )
    url = config.getoption("--target-url")
    if url:
        host, port, ws_path = parse_target_url(url, config.getoption("--ws-path"))
        yield Target(host, port, ws_path, **limits)
        return

    binary = config.getoption("--server-bin")
    if not os.access(binary, os.X_OK):
        pytest.exit(f"server binary {binary} not found or not executable; build it or pass --server-bin", 2)
    log_path = tmp_path_factory.mktemp("server") / "stderr.log"
    command = [binary, "--listen=127.0.0.1:0", f"--jwt-secret={limits['jwt_secret']}", "--workers=2",
               f"--max-message-bytes={limits['max_message_bytes']}",
               # A 1 MiB body must fit one client's backlog once encrypted.
               "--outbound-limit-bytes=4194304"]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
    host, port = wait_for_listening(process, log_path)
    try:
        yield Target(host, port, "/ws", **limits)
    finally:
        stop_server(process, log_path)


def wait_for_listening(process: subprocess.Popen, log_path) -> tuple[str, int]:
    """Wait for the `event=listening addr=HOST:PORT` line and return the address."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    pattern = re.compile(r"event=listening addr=([0-9.]+):(\d+)")
    while time.monotonic() < deadline:
        match = pattern.search(log_path.read_text(errors="replace"))
        if match:
            return match.group(1), int(match.group(2))
        if process.poll() is not None:
            pytest.exit(f"server exited with status {process.returncode} before listening; stderr:\n"
                        f"{log_path.read_text(errors='replace')}", 2)
        time.sleep(0.05)
    process.kill()
    process.wait()
    pytest.exit(f"server printed no event=listening line within {STARTUP_TIMEOUT_S} s; stderr:\n"
                f"{log_path.read_text(errors='replace')}", 2)


def stop_server(process: subprocess.Popen, log_path) -> None:
    """Stop the server with SIGTERM and assert a clean exit without sanitizer reports."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=SHUTDOWN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise AssertionError(f"server did not exit within {SHUTDOWN_TIMEOUT_S} s of SIGTERM")
    stderr = log_path.read_text(errors="replace")
    tail = "\n".join(stderr.splitlines()[-40:])
    assert process.returncode == 0, f"server exited with status {process.returncode} after SIGTERM; stderr tail:\n{tail}"
    for marker in SANITIZER_MARKERS:
        assert marker not in stderr, f"server stderr contains {marker!r}; stderr tail:\n{tail}"
