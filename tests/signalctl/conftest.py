"""Fixtures for the signalctl tests: a fresh signal-server per test.

SIGNAL_BUILD_DIR names the meson build directory holding signal-server
and tools/signalctl (tests/signalctl/run.sh sets it). For a run against
another server speaking the same API, such as the reference peer, set
SIGNALCTL_TEST_SERVER to its base URL. The tests then assume Basic
credentials admin:admin, the JWT secret `bench-secret`, joins allowed for
rooms starting with `public-`, and no other client connected.
"""

import os
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from signal_client import start_daemon  # noqa: E402


class ServerUnderTest:
    def __init__(self, url, ws_url, user, password, jwt_secret):
        self.url = url
        self.ws_url = ws_url
        self.user = user
        self.password = password
        self.jwt_secret = jwt_secret


def build_dir():
    path = os.environ.get("SIGNAL_BUILD_DIR")
    if not path:
        pytest.fail("SIGNAL_BUILD_DIR is not set; run tests/signalctl/run.sh BUILDDIR")
    return pathlib.Path(path).resolve()


@pytest.fixture
def signalctl_path():
    path = build_dir() / "tools" / "signalctl"
    assert path.is_file(), f"{path} not found; build the signalctl target first"
    return str(path)


@pytest.fixture
def server():
    external = os.environ.get("SIGNALCTL_TEST_SERVER")
    if external:
        ws_url = external.replace("http://", "ws://", 1).rstrip("/") + "/ws"
        yield ServerUnderTest(external.rstrip("/"), ws_url, "admin", "admin",
                              "bench-secret")
        return

    secret = "signalctl-test-secret-0123456789abcdef"
    binary = build_dir() / "signal-server"
    assert binary.is_file(), f"{binary} not found; build the signal-server target first"
    daemon = start_daemon(str(binary), [
        "--listen=127.0.0.1:0",
        f"--jwt-secret={secret}",
        "--admin-user=admin",
        "--admin-password=pw",
        "--room-allow=public-*",
        "--workers=2",
    ])
    try:
        yield ServerUnderTest(daemon.url, daemon.ws_url, "admin", "pw", secret)
    finally:
        daemon.stop()
