"""Every route of the running server, checked against docs/openapi.json.

Each test calls a route, with success or with one of the failures it can
give. The status must be listed for that operation and the media type
documented for it. The body must validate against the documented schema
(JSON Schema draft 2020-12, $refs resolved in the document), and each
documented header must be present and valid. The last test checks that
every documented status was seen.
"""

import json
import time
import uuid

import jsonschema
import pytest

from harness import (
    REPOSITORY,
    REST_PREFIX,
    Daemon,
    LoopThread,
    Response,
    WebSocketClient,
    basic_authorization,
    bearer_authorization,
    exchange,
    raw_request,
    request,
    user_token,
)

STATUS = REST_PREFIX + "/status"
LIST = REST_PREFIX
CLIENT = REST_PREFIX + "/{clientId}"
BROADCAST = REST_PREFIX + "/broadcast"
ROOM_SEND = REST_PREFIX + "/rooms/{roomName}/send"
CLIENT_SEND = REST_PREFIX + "/{clientId}/send"
DISCONNECT = REST_PREFIX + "/{clientId}/disconnect"
METRICS = "/metrics"
HEALTH = "/healthz"
READY = "/readyz"
OPENAPI = "/v1/api/openapi.json"

# (path template, documented method, needs credentials)
OPERATIONS = [
    (STATUS, "get", False),
    (LIST, "get", True),
    (CLIENT, "get", True),
    (BROADCAST, "post", True),
    (ROOM_SEND, "post", True),
    (CLIENT_SEND, "post", True),
    (DISCONNECT, "post", True),
    (METRICS, "get", False),
    (HEALTH, "get", False),
    (READY, "get", False),
    (OPENAPI, "get", False),
]
SEND_OPERATIONS = [BROADCAST, ROOM_SEND, CLIENT_SEND]
# Short names for test ids.
NAMES = {
    STATUS: "status",
    LIST: "list",
    CLIENT: "get",
    BROADCAST: "broadcast",
    ROOM_SEND: "room_send",
    CLIENT_SEND: "client_send",
    DISCONNECT: "disconnect",
    METRICS: "metrics",
    HEALTH: "healthz",
    READY: "readyz",
    OPENAPI: "openapi",
}


def case_id(value) -> str:
    return NAMES.get(value, str(value))

# Documented statuses no test here can cause on purpose: /readyz returns 503
# only between the start of a shutdown and the moment the worker drops its
# HTTP connections, too short a window to hit.
UNREACHABLE = {(READY, "get", "503")}

MESSAGE = {"topic": "openapi.check", "data": {"n": 1, "list": [1, "two", None]}}
AUTH = {"Authorization": basic_authorization()}


# --- Fixtures -----------------------------------------------------------------------
# One server for the module, run with one worker and a 16-command queue so
# that a burst of pipelined requests fills the queue and draws 503, and one
# authenticated client.

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


def concrete(template: str, client_id: str, room: str = CLIENT_ROOM) -> str:
    return template.replace("{clientId}", client_id).replace("{roomName}", room)


class Contract:
    """docs/openapi.json as a checker of live responses, recording what it saw."""

    def __init__(self, document: dict):
        self.document = document
        self.resolver = jsonschema.RefResolver(base_uri="", referrer=document)
        self.seen = set()

    def resolve(self, node: dict) -> dict:
        while "$ref" in node:
            node = self.resolver.resolve(node["$ref"])[1]
        return node

    def validate(self, schema: dict, instance, what: str):
        validator = jsonschema.Draft202012Validator(schema, resolver=self.resolver)
        problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]
        assert problems == [], f"{what} does not match its schema: {problems}"

    def check(self, template: str, method: str, response: Response, default: bool = False):
        """Check a response against the operation `method` of path `template`.

        With default=True the status must fall to the operation's `default`
        response; otherwise it must be listed explicitly."""
        operation = self.document["paths"][template][method]
        label = f"{method.upper()} {template} -> {response.status}"
        documented = operation["responses"]
        key = "default" if default else str(response.status)
        if default:
            assert str(response.status) not in documented, f"{label}: expected the default response"
        assert key in documented, f"{label}: status not documented; documented: {sorted(documented)}; {response}"
        self.seen.add((template, method, key))
        entry = self.resolve(documented[key])

        content = entry.get("content", {})
        media_type = response.media_type()
        assert media_type in content, f"{label}: media type {media_type!r} not documented: {sorted(content)}"
        schema = content[media_type]["schema"]
        if media_type == "application/json":
            instance = response.json()
        else:
            instance = response.body.decode("utf-8")
        self.validate(schema, instance, f"{label} body {response.body[:200]!r}")

        for name, header in entry.get("headers", {}).items():
            header = self.resolve(header)
            value = response.headers.get(name.lower())
            assert value is not None, f"{label}: documented header {name} missing; {response}"
            if header["schema"].get("type") == "integer":
                value = int(value)
            self.validate(header["schema"], value, f"{label} header {name}")

    def request_schema(self, template: str, method: str) -> dict:
        body = self.resolve(self.document["paths"][template][method]["requestBody"])
        return body["content"]["application/json"]["schema"]


@pytest.fixture(scope="module")
def contract(document) -> Contract:
    return Contract(document)


def wait_for_deliveries(loop, client: WebSocketClient, topic: str, count: int):
    """Receive `count` messages with `topic`; then the worker's queue has drained.

    While the queue is full the acceptor drops new connections, so tests
    wait here after filling it."""
    for _ in range(count):
        loop.run(client.receive_event(topic))


def queue_burst(daemon, client_id: str, last: bytes) -> list:
    """Pipeline QUEUE_LIMIT broadcasts and then `last` on one connection.

    The one worker reads them all in one pass before it drains its queue, so
    the broadcasts fill the queue and `last` needs a slot that is not there."""
    fill = raw_request("POST", BROADCAST, {**AUTH, "Content-Type": "application/json"},
                       json.dumps({"topic": "openapi.fill", "data": client_id}).encode())
    return exchange(daemon, fill * QUEUE_LIMIT + last, QUEUE_LIMIT + 1)


# --- The document itself ----------------------------------------------------------


def test_served_document_equals_file(daemon, contract):
    response = request(daemon, "GET", OPENAPI)
    contract.check(OPENAPI, "get", response)
    assert response.status == 200
    assert response.body == (REPOSITORY / "docs" / "openapi.json").read_bytes()


def test_document_lists_every_route(document):
    expected = {STATUS, LIST, CLIENT, BROADCAST, ROOM_SEND, CLIENT_SEND, DISCONNECT, METRICS, HEALTH, READY, OPENAPI}
    assert set(document["paths"]) == expected


# --- Success ------------------------------------------------------------------------


def test_status_counts_open_connections(daemon, contract, client):
    status = request(daemon, "GET", STATUS)
    contract.check(STATUS, "get", status)
    clients = request(daemon, "GET", LIST, AUTH).json()["clients"]
    assert status.status == 200
    assert status.json() == {"isReady": True, "clientCount": len(clients)}


@pytest.mark.parametrize("authorization", [basic_authorization(), bearer_authorization()], ids=["basic", "bearer"])
def test_list_clients_includes_client(daemon, contract, client, authorization):
    response = request(daemon, "GET", LIST, {"Authorization": authorization})
    contract.check(LIST, "get", response)
    assert response.status == 200
    ids = [info["id"] for info in response.json()["clients"]]
    assert client.client_id in ids


def test_list_clients_with_trailing_slash(daemon, contract, client):
    response = request(daemon, "GET", LIST + "/", AUTH)
    contract.check(LIST, "get", response)
    assert response.status == 200
    assert client.client_id in [info["id"] for info in response.json()["clients"]]


def test_get_client_describes_client(daemon, contract, client):
    before_ms = int(time.time() * 1000)
    response = request(daemon, "GET", concrete(CLIENT, client.client_id), AUTH)
    contract.check(CLIENT, "get", response)
    assert response.status == 200
    info = response.json()
    assert info["id"] == client.client_id
    assert info["userId"] == CLIENT_USER
    assert info["state"] == "authenticated"
    assert info["encrypted"] is True
    assert info["rooms"] == [client.client_id, "ws-default", "ws-notification", CLIENT_ROOM]
    assert info["metadata"] == {}
    assert info["connectedAt"] <= info["lastActivity"] <= before_ms + 1000
    assert before_ms - 60_000 < info["connectedAt"]


def test_get_unauthenticated_client_has_no_user(daemon, contract, loop):
    websocket = loop.run(WebSocketClient.connect(daemon))
    try:
        clients = request(daemon, "GET", LIST, AUTH).json()["clients"]
        fresh = [info for info in clients if info["state"] == "unauthorized"]
        assert len(fresh) == 1, f"expected one unauthorized client: {clients}"
        response = request(daemon, "GET", concrete(CLIENT, fresh[0]["id"]), AUTH)
        contract.check(CLIENT, "get", response)
        assert response.status == 200
        assert "userId" not in response.json()
        assert response.json()["rooms"] == []
        assert response.json()["encrypted"] is False
    finally:
        loop.run(websocket.close())


@pytest.mark.parametrize(
    "template, topic",
    [(BROADCAST, "openapi.broadcast"), (ROOM_SEND, "openapi.room"), (CLIENT_SEND, "openapi.client")],
    ids=case_id,
)
def test_send_reaches_client(daemon, contract, client, loop, template, topic):
    response = request(daemon, "POST", concrete(template, client.client_id), AUTH, {**MESSAGE, "topic": topic})
    contract.check(template, "post", response)
    assert response.status == 200
    assert response.json()["success"] is True
    received = loop.run(client.receive_event(topic))
    assert received == {"event": topic, "data": MESSAGE["data"]}


def test_send_to_unknown_client_succeeds(daemon, contract):
    path = concrete(CLIENT_SEND, str(uuid.uuid4()))
    response = request(daemon, "POST", path, AUTH, MESSAGE)
    contract.check(CLIENT_SEND, "post", response)
    assert response.status == 200


def test_send_to_empty_room_succeeds(daemon, contract):
    response = request(daemon, "POST", concrete(ROOM_SEND, "", room="public-nobody"), AUTH, MESSAGE)
    contract.check(ROOM_SEND, "post", response)
    assert response.status == 200


def test_disconnect_closes_with_1000(daemon, contract, loop):
    websocket = loop.run(WebSocketClient.connect(daemon))
    reply = loop.run(websocket.authenticate(user_token("user-disconnect")))
    assert reply["event"] == "connected"
    path = concrete(DISCONNECT, websocket.client_id)

    response = request(daemon, "POST", path, AUTH)
    contract.check(DISCONNECT, "post", response)
    assert response.status == 200
    assert response.json()["success"] is True
    assert loop.run(websocket.wait_closed()) == 1000

    # The registry removes the client once its connection is gone.
    deadline = time.monotonic() + 5
    while request(daemon, "GET", concrete(CLIENT, websocket.client_id), AUTH).status != 404:
        assert time.monotonic() < deadline, "the disconnected client is still listed"
        time.sleep(0.02)
    again = request(daemon, "POST", path, AUTH)
    contract.check(DISCONNECT, "post", again)
    assert again.status == 404
    assert again.json() == {"error": "Client not found"}


@pytest.mark.parametrize("template", [METRICS, HEALTH, READY], ids=case_id)
def test_operational_endpoints_succeed(daemon, contract, template):
    response = request(daemon, "GET", template)
    contract.check(template, "get", response)
    assert response.status == 200
    if template == METRICS:
        assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
        assert "\nsignal_handshakes_total " in response.body.decode()
    else:
        assert response.json() == {"status": "ok"}


# --- Request bodies -------------------------------------------------------------------

GOOD_BODIES = [
    {"topic": "t"},
    {"topic": ""},
    {"topic": "t", "data": None},
    {"topic": "t", "data": [1, 2]},
    {"topic": "t", "data": "text", "extra": True},
]
BAD_BODIES = [
    (b"not json", "Body must be a JSON object"),
    (b"[1, 2]", "Body must be a JSON object"),
    (b'"topic"', "Body must be a JSON object"),
    (b"{}", 'Body must have a string "topic"'),
    (b'{"topic": 7}', 'Body must have a string "topic"'),
    (b'{"topic": null, "data": 1}', 'Body must have a string "topic"'),
]


@pytest.mark.parametrize("template", SEND_OPERATIONS, ids=case_id)
def test_bodies_accepted_match_schema(daemon, contract, client, template):
    schema = contract.request_schema(template, "post")
    for body in GOOD_BODIES:
        contract.validate(schema, body, f"request body {body}")
        response = request(daemon, "POST", concrete(template, client.client_id), AUTH, body)
        contract.check(template, "post", response)
        assert response.status == 200, f"body {body}: {response}"


@pytest.mark.parametrize("template", SEND_OPERATIONS, ids=case_id)
def test_bodies_rejected_match_schema(daemon, contract, client, template):
    schema = contract.request_schema(template, "post")
    validator = jsonschema.Draft202012Validator(schema, resolver=contract.resolver)
    for raw, message in BAD_BODIES:
        try:
            instance = json.loads(raw)
        except ValueError:
            instance = None
        else:
            assert not validator.is_valid(instance), f"the schema accepts the body the server rejects: {raw!r}"
        response = request(
            daemon, "POST", concrete(template, client.client_id), {**AUTH, "Content-Type": "application/json"}, raw
        )
        contract.check(template, "post", response)
        assert response.status == 400, f"body {raw!r}: {response}"
        assert response.json() == {"error": message}


def test_missing_body_rejected(daemon, contract):
    response = request(daemon, "POST", BROADCAST, AUTH)
    contract.check(BROADCAST, "post", response)
    assert response.status == 400
    assert response.json() == {"error": "Body must be a JSON object"}


# --- Path parameters ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "template, method",
    [(CLIENT, "get"), (ROOM_SEND, "post"), (CLIENT_SEND, "post"), (DISCONNECT, "post")],
    ids=case_id,
)
def test_nul_in_path_parameter_rejected(daemon, contract, template, method):
    path = concrete(template, "a%00b", room="a%00b")
    response = request(daemon, method.upper(), path, AUTH, MESSAGE if method == "post" else None)
    contract.check(template, method, response)
    assert response.status == 400
    assert response.json() == {"error": "Invalid percent-encoding in path"}


@pytest.mark.parametrize(
    "template, method",
    [(CLIENT, "get"), (ROOM_SEND, "post"), (CLIENT_SEND, "post"), (DISCONNECT, "post")],
    ids=case_id,
)
def test_long_path_parameter_rejected(daemon, contract, template, method):
    long_value = "x" * 4200  # paths over 4096 bytes get 414
    path = concrete(template, long_value, room=long_value)
    response = request(daemon, method.upper(), path, AUTH, MESSAGE if method == "post" else None)
    contract.check(template, method, response)
    assert response.status == 414
    assert response.json() == {"error": "Request path too long"}


def test_percent_encoded_client_id_decoded(daemon, contract, client):
    encoded = "".join(f"%{ord(c):02X}" for c in client.client_id)
    response = request(daemon, "GET", concrete(CLIENT, encoded), AUTH)
    contract.check(CLIENT, "get", response)
    assert response.status == 200
    assert response.json()["id"] == client.client_id


@pytest.mark.parametrize("template", [CLIENT, DISCONNECT], ids=case_id)
def test_unknown_client_not_found(daemon, contract, template):
    method = "GET" if template == CLIENT else "POST"
    response = request(daemon, method, concrete(template, str(uuid.uuid4())), AUTH)
    contract.check(template, method.lower(), response)
    assert response.status == 404
    assert response.json() == {"error": "Client not found"}


def test_get_broadcast_is_client_lookup(daemon, contract):
    response = request(daemon, "GET", BROADCAST, AUTH)
    contract.check(CLIENT, "get", response)
    assert response.status == 404
    assert response.json() == {"error": "Client not found"}


# --- Credentials ------------------------------------------------------------------------------

CREDENTIAL_FAILURES = [
    ({}, "Missing Authorization header"),
    ({"Authorization": "Bearer " + user_token("x", secret="another-secret")}, "Invalid token"),
    ({"Authorization": "Bearer " + user_token("x", ttl_s=-60)}, "Invalid token"),
    ({"Authorization": "Bearer not.a.jwt"}, "Invalid token"),
    ({"Authorization": basic_authorization(password="wrong")}, "Invalid credentials"),
    ({"Authorization": basic_authorization(user="nobody")}, "Invalid credentials"),
    ({"Authorization": "Digest username=admin"}, "Unsupported authorization scheme; use Bearer or Basic"),
]


@pytest.mark.parametrize(
    "template, method", [(t, m) for t, m, needs in OPERATIONS if needs], ids=case_id
)
def test_bad_credentials_unauthorized(daemon, contract, client, template, method):
    path = concrete(template, client.client_id)
    for headers, message in CREDENTIAL_FAILURES:
        response = request(daemon, method.upper(), path, headers, MESSAGE if method == "post" else None)
        contract.check(template, method, response)
        assert response.status == 401, f"{headers}: {response}"
        assert response.json() == {"error": message}
        assert response.headers["www-authenticate"] == 'Bearer, Basic realm="signal-server"'


def test_status_needs_no_credentials(daemon, contract):
    response = request(daemon, "GET", STATUS, {"Authorization": "Basic bm9ib2R5Ondyb25n"})
    contract.check(STATUS, "get", response)
    assert response.status == 200


# --- Methods ----------------------------------------------------------------------------------

# (path template, method sent, documented method = the Allow value)
WRONG_METHODS = [
    (STATUS, "POST", "get"),
    (LIST, "POST", "get"),
    (CLIENT, "POST", "get"),
    (CLIENT, "DELETE", "get"),
    (BROADCAST, "PUT", "post"),
    (ROOM_SEND, "GET", "post"),
    (CLIENT_SEND, "GET", "post"),
    (DISCONNECT, "GET", "post"),
    (DISCONNECT, "DELETE", "post"),
    (METRICS, "POST", "get"),
    (HEALTH, "POST", "get"),
    (READY, "DELETE", "get"),
    (OPENAPI, "PUT", "get"),
]


@pytest.mark.parametrize("template, method, documented", WRONG_METHODS, ids=case_id)
def test_wrong_method_not_allowed(daemon, contract, client, template, method, documented):
    response = request(daemon, method, concrete(template, client.client_id), AUTH)
    contract.check(template, documented, response)
    assert response.status == 405
    assert response.json() == {"error": "Method not allowed"}
    # A path that serves GET also serves HEAD (RFC 9110, section 9.3.2).
    expected_allow = "GET, HEAD" if documented == "get" else documented.upper()
    assert response.headers["allow"] == expected_allow


# --- Transport-level failures ------------------------------------------------------------------


@pytest.mark.parametrize("template, method, needs_credentials", OPERATIONS, ids=case_id)
def test_transport_failures_documented(daemon, contract, client, template, method, needs_credentials):
    path = concrete(template, client.client_id)
    verb = method.upper()
    headers = dict(AUTH) if needs_credentials else {}
    cases = [
        # (request bytes, status, documented under `default`, error message)
        (f"{verb} {path} HTTP/1.1\r\n\r\n".encode(), 400, False, "Malformed HTTP request"),
        (raw_request(verb, path, {**headers, "Content-Length": "2000000"}), 413, False, "Request body too large"),
        (raw_request(verb, path, {**headers, "X-Filler": "a" * 17000}), 431, False, "Request header fields too large"),
        (
            raw_request(verb, path, {**headers, "Transfer-Encoding": "chunked"}) + b"0\r\n\r\n",
            501,
            True,
            "Transfer-Encoding is not supported; send Content-Length",
        ),
        (f"{verb} {path} HTTP/2.0\r\nHost: 127.0.0.1\r\n\r\n".encode(), 505, True, "HTTP version not supported"),
    ]
    for data, status, default, message in cases:
        (response,) = exchange(daemon, data)
        contract.check(template, method, response, default=default)
        assert response.status == status, f"{data[:60]!r}: {response}"
        assert response.json() == {"error": message}
        assert response.headers.get("connection") == "close"


# --- A full command queue -----------------------------------------------------------------------


@pytest.mark.parametrize("template", [BROADCAST, ROOM_SEND, CLIENT_SEND, DISCONNECT], ids=case_id)
def test_full_queue_busy(daemon, contract, client, loop, template):
    body = b"" if template == DISCONNECT else json.dumps(MESSAGE).encode()
    last = raw_request("POST", concrete(template, client.client_id), {**AUTH, "Content-Type": "application/json"}, body)
    responses = queue_burst(daemon, client.client_id, last)
    for response in responses[:-1]:
        contract.check(BROADCAST, "post", response)
    statuses = [response.status for response in responses]
    accepted = statuses[:-1].count(200)
    wait_for_deliveries(loop, client, "openapi.fill", accepted)

    assert statuses[-1] == 503, f"statuses of the burst: {statuses}"
    assert accepted == QUEUE_LIMIT, f"statuses of the burst: {statuses}"
    contract.check(template, "post", responses[-1])
    assert responses[-1].json() == {"error": "Server busy: a worker command queue is full"}
    assert responses[-1].headers["retry-after"] == "1"


# --- Coverage ----------------------------------------------------------------------------------


def test_every_documented_status_seen(document, contract):
    """Runs last: every status the document lists was produced by a test above."""
    documented = set()
    for template, item in document["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            for status in operation["responses"]:
                documented.add((template, method, status))
    missing = documented - contract.seen - UNREACHABLE
    assert missing == set(), f"documented but never produced: {sorted(missing)}"
