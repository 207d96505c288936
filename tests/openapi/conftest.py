"""Fixtures for the OpenAPI contract test: one server for the module, run
with one worker and a 16-command queue so that a burst of pipelined
requests fills the queue and draws 503, and one authenticated client."""

import json
import time

import pytest

from harness import (
    REPOSITORY,
    REST_PREFIX,
    Daemon,
    LoopThread,
    WebSocketClient,
    basic_authorization,
    request,
    user_token,
)

QUEUE_LIMIT = 16
CLIENT_USER = "user-openapi"
CLIENT_ROOM = "public-openapi"


@pytest.fixture(scope="module")
def document() -> dict:
    with open(REPOSITORY / "docs" / "openapi.json", encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    server = Daemon(
        tmp_path_factory.mktemp("openapi") / "server.log",
        {"workers": 1, "command_queue_limit": QUEUE_LIMIT},
    )
    server.wait_listening()
    yield server
    status = server.stop()
    assert status == 0, f"signal-server exited with status {status}; output:\n{server.log_text()}"


@pytest.fixture(scope="module")
def loop():
    thread = LoopThread()
    yield thread
    thread.close()


@pytest.fixture(scope="module")
def client(daemon, loop):
    """A client authenticated as CLIENT_USER and in CLIENT_ROOM."""
    websocket = loop.run(WebSocketClient.connect(daemon))
    reply = loop.run(websocket.authenticate(user_token(CLIENT_USER)))
    assert reply["event"] == "connected", f"authenticate: {reply}"
    loop.run(websocket.join(CLIENT_ROOM))

    # A join has no reply; the client's rooms show when it took effect.
    deadline = time.monotonic() + 5
    path = f"{REST_PREFIX}/{websocket.client_id}"
    while CLIENT_ROOM not in request(daemon, "GET", path, {"Authorization": basic_authorization()}).json()["rooms"]:
        assert time.monotonic() < deadline, f"the join of {CLIENT_ROOM} did not take effect"
        time.sleep(0.02)
    yield websocket
    loop.run(websocket.close())
