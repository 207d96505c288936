"""GET /metrics: the exposition passes `promtool check metrics`, and the
counters hold exact values after a known sequence of client actions."""

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "openapi"))

from harness import (  # noqa: E402
    REST_PREFIX,
    Daemon,
    LoopThread,
    WebSocketClient,
    basic_authorization,
    request,
    user_token,
)

AUTH = {"Authorization": basic_authorization()}
AUTH_TIMEOUT_MS = 1000
SAMPLE_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
CLOSE_CODES = ["1000", "1001", "1002", "1007", "1009", "4001", "4002", "4003", "4004", "4005", "other"]


@pytest.fixture
def daemon(tmp_path):
    server = Daemon(tmp_path / "server.log", {"workers": 2, "auth_timeout_ms": AUTH_TIMEOUT_MS})
    server.wait_listening()
    yield server
    status = server.stop()
    assert status == 0, f"signal-server exited with status {status}; output:\n{server.log_text()}"


@pytest.fixture
def loop():
    thread = LoopThread()
    yield thread
    thread.close()


def scrape(daemon) -> str:
    response = request(daemon, "GET", "/metrics")
    assert response.status == 200, f"GET /metrics: {response}"
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return response.body.decode("utf-8")


def parse_samples(text: str) -> dict:
    """Map (name, frozenset of label pairs) to the sample's value."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = SAMPLE_LINE.match(line)
        assert match is not None, f"not a sample line: {line!r}"
        name, labels, value = match.groups()
        key = (name, frozenset(LABEL.findall(labels or "")))
        assert key not in samples, f"sample repeated: {line!r}"
        samples[key] = float(value)
    return samples


def sample(samples: dict, name: str, **labels) -> float:
    key = (name, frozenset(labels.items()))
    assert key in samples, f"no sample {name}{labels}; names present: {sorted({k[0] for k in samples})}"
    return samples[key]


def promtool_problems(text: str) -> str:
    """Run `promtool check metrics` on text; return what it reported, empty when clean."""
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool is missing; install the Debian package prometheus"
    result = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
    report = (result.stdout + result.stderr).strip()
    if result.returncode != 0 and not report:
        report = f"promtool exited with status {result.returncode}"
    return report


def wait_no_connections(daemon):
    deadline = time.monotonic() + 5
    while request(daemon, "GET", REST_PREFIX + "/status").json()["clientCount"] != 0:
        assert time.monotonic() < deadline, "WebSocket connections still open after 5 s"
        time.sleep(0.02)


def test_fresh_scrape_passes_promtool(daemon):
    text = scrape(daemon)
    assert promtool_problems(text) == ""


def test_counters_after_known_actions(daemon, loop):
    started_s = time.time()

    # One successful handshake.
    good = loop.run(WebSocketClient.connect(daemon))
    assert loop.run(good.authenticate(user_token("user-metrics")))["event"] == "connected"

    # One token signed with another secret: error, then close 4003.
    bad_token = loop.run(WebSocketClient.connect(daemon))
    reply = loop.run(bad_token.authenticate(user_token("user-metrics", secret="another-secret")))
    assert reply == {"event": "error", "data": {"message": "Authentication failed"}}
    assert loop.run(bad_token.wait_closed()) == 4003

    # One valid token without a public key: error, then close 4004.
    no_key = loop.run(WebSocketClient.connect(daemon))
    reply = loop.run(no_key.authenticate(user_token("user-metrics"), send_public_key=False))
    assert reply == {"event": "error", "data": {"message": "Encryption handshake failed"}}
    assert loop.run(no_key.wait_closed()) == 4004

    # One client that never authenticates: close 4001 after auth_timeout_ms.
    silent = loop.run(WebSocketClient.connect(daemon))
    assert loop.run(silent.wait_closed(timeout=AUTH_TIMEOUT_MS / 1000 + 5)) == 4001

    # One client that closes with a code of its own, which the server echoes.
    leaving = loop.run(WebSocketClient.connect(daemon))
    loop.run(leaving.ws.close(code=4321))

    # One broadcast reaches the one authenticated client; then REST closes it.
    response = request(daemon, "POST", REST_PREFIX + "/broadcast", AUTH, {"topic": "metrics.check", "data": 1})
    assert response.status == 200
    assert loop.run(good.receive_event("metrics.check")) == {"event": "metrics.check", "data": 1}
    response = request(daemon, "POST", f"{REST_PREFIX}/{good.client_id}/disconnect", AUTH)
    assert response.status == 200
    assert loop.run(good.wait_closed()) == 1000
    wait_no_connections(daemon)

    text = scrape(daemon)
    samples = parse_samples(text)
    assert sample(samples, "signal_handshakes_total") == 1
    assert sample(samples, "signal_auth_failures_total", reason="invalid_token") == 1
    assert sample(samples, "signal_auth_failures_total", reason="key_exchange") == 1
    assert sample(samples, "signal_auth_failures_total", reason="timeout") == 1

    expected_closes = {"1000": 1, "4001": 1, "4003": 1, "4004": 1, "other": 1}
    for code in CLOSE_CODES:
        assert sample(samples, "signal_closes_total", code=code) == expected_closes.get(code, 0), f"close code {code}"

    assert sample(samples, "signal_messages_delivered_total") == 1
    assert sample(samples, "signal_deliveries_dropped_total") == 0
    assert sample(samples, "signal_slow_consumer_closes_total") == 0
    assert sample(samples, "signal_commands_rejected_total") == 0
    for state in ("unauthorized", "authenticating", "authenticated"):
        assert sample(samples, "signal_clients", state=state) == 0, f"clients in state {state}"

    assert sample(samples, "signal_http_requests_total", route="websocket_upgrade", status="101") == 5
    assert sample(samples, "signal_http_requests_total", route="broadcast", status="200") == 1
    assert sample(samples, "signal_http_requests_total", route="disconnect", status="200") == 1
    for worker in ("0", "1"):
        assert sample(samples, "signal_worker_queue_depth", worker=worker) == 0
    assert sample(samples, "process_open_fds") > 0
    assert sample(samples, "process_resident_memory_bytes") > 0
    assert started_s - 60 <= sample(samples, "process_start_time_seconds") <= started_s

    assert promtool_problems(text) == ""


def test_scrapes_are_counted(daemon):
    for count in range(3):
        samples = parse_samples(scrape(daemon))
        if count == 0:
            assert ("signal_http_requests_total", frozenset({("route", "metrics"), ("status", "200")})) not in samples
        else:
            assert sample(samples, "signal_http_requests_total", route="metrics", status="200") == count
