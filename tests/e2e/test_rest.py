"""REST admin API: every route, its credentials, its failures and the
ClientInfo it reports."""

import asyncio
import time
import uuid

import pytest

from signal_client import Rest, b64encode, mint_jwt, session, user_token

CLIENT_INFO_KEYS = {"id", "userId", "state", "encrypted", "rooms", "connectedAt", "lastActivity", "metadata"}


def check_json(response, status: int):
    assert response.status == status, f"expected {status}, got {response}"
    assert response.headers.get("content-type", "").split(";")[0].strip() == "application/json", response.headers
    return response.json()


def check_error_body(response, status: int):
    body = check_json(response, status)
    assert isinstance(body, dict) and set(body) == {"error"}, body
    assert isinstance(body["error"], str) and body["error"], body


def bad_credentials(target) -> dict:
    user, password = target.basic
    now = int(time.time())
    return {
        "none": None,
        "wrong-password": "Basic " + b64encode(f"{user}:{password}-wrong".encode()),
        "wrong-user": "Basic " + b64encode(f"{user}-wrong:{password}".encode()),
        "basic-not-base64": "Basic !!!",
        "bearer-wrong-secret": "Bearer " + user_token(target.secret + "-wrong", "admin"),
        "bearer-expired": "Bearer " + mint_jwt(target.secret, {"sub": "admin", "iat": now - 600, "exp": now - 300}),
        "bearer-garbage": "Bearer not-a-jwt",
        "other-scheme": "Token abc",
    }


CREDENTIAL_CASES = [
    "none",
    "wrong-password",
    "wrong-user",
    "basic-not-base64",
    "bearer-wrong-secret",
    "bearer-expired",
    "bearer-garbage",
    "other-scheme",
]


def protected_routes() -> list:
    unknown = str(uuid.uuid4())
    body = {"topic": "e2e.denied", "data": {}}
    return [
        ("GET", "/", None),
        ("GET", f"/{unknown}", None),
        ("POST", "/broadcast", body),
        ("POST", "/rooms/public-denied/send", body),
        ("POST", f"/{unknown}/send", body),
        ("POST", f"/{unknown}/disconnect", None),
    ]


async def test_status_needs_no_credentials(target):
    rest = Rest(target)
    body = check_json(await rest.status(), 200)
    assert set(body) == {"isReady", "clientCount"}, body
    assert body["isReady"] is True
    assert isinstance(body["clientCount"], int) and not isinstance(body["clientCount"], bool)


async def test_status_counts_every_open_connection(target):
    rest = Rest(target)
    baseline = (await rest.status()).json()["clientCount"]
    async with session(target, "counted"):
        async with session(target):
            await rest.wait_for_client_count(baseline + 2)
        await rest.wait_for_client_count(baseline + 1)
    await rest.wait_for_client_count(baseline)


@pytest.mark.parametrize("case", CREDENTIAL_CASES)
async def test_protected_routes_reject_bad_credentials(target, case):
    rest = Rest(target)
    header = bad_credentials(target)[case]
    for method, path, body in protected_routes():
        response = await rest.request(method, path, body, auth=header)
        check_error_body(response, 401)


@pytest.mark.parametrize("auth", ["basic", "bearer"])
async def test_list_clients_with_valid_credentials(target, auth):
    rest = Rest(target)
    async with session(target, f"listed-{auth}") as client:
        body = check_json(await rest.list_clients(auth=auth), 200)
        assert set(body) == {"clients"}, body
        ours = [info for info in body["clients"] if info["id"] == client.client_id]
        assert len(ours) == 1, body
        assert ours[0]["userId"] == f"listed-{auth}"


async def test_client_info_shape(target):
    rest = Rest(target)
    before_ms = int(time.time() * 1000)
    async with session(target, "described") as client:
        after_ms = int(time.time() * 1000)
        info = check_json(await rest.get_client(client.client_id), 200)

    assert set(info) == CLIENT_INFO_KEYS, info
    assert info["id"] == client.client_id
    assert info["userId"] == "described"
    assert info["state"] == "authenticated"
    assert info["encrypted"] is True
    assert sorted(info["rooms"]) == sorted([client.client_id, "ws-default", "ws-notification"])
    assert info["metadata"] == {}
    for name in ("connectedAt", "lastActivity"):
        assert type(info[name]) is int, f"{name} is {info[name]!r}, expected integer milliseconds"
    assert before_ms - 1000 <= info["connectedAt"] <= after_ms + 1000, (before_ms, info["connectedAt"], after_ms)
    assert info["lastActivity"] >= info["connectedAt"]


async def test_heartbeat_advances_last_activity(target):
    rest = Rest(target)
    async with session(target, "active") as client:
        first = (await rest.get_client(client.client_id)).json()["lastActivity"]
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            await client.send_event("heartbeat")
            info = (await rest.get_client(client.client_id)).json()
            if info["lastActivity"] > first:
                break
        assert info["lastActivity"] > first, f"lastActivity stayed {first} after heartbeats"


@pytest.mark.parametrize("client_id", ["00000000-0000-4000-8000-000000000000", "not-a-client"])
async def test_get_unknown_client_404(target, client_id):
    rest = Rest(target)
    response = await rest.get_client(client_id)
    assert check_json(response, 404) == {"error": "Client not found"}


async def test_broadcast_reaches_client(target):
    rest = Rest(target)
    async with session(target, "broadcast-target") as client:
        body = check_json(await rest.broadcast("e2e.broadcast", {"n": 1}), 200)
        assert body.get("success") is True, body
        envelope = await client.expect("e2e.broadcast")
        assert envelope.data == {"n": 1}


async def test_room_send_with_percent_encoded_name(target):
    rest = Rest(target)
    room = f"public-a b-{uuid.uuid4().hex[:6]}"
    async with session(target, "spaced") as client:
        await client.join(room)
        await rest.wait_for_client(client.client_id, lambda info: room in info["rooms"])
        path = "/rooms/" + room.replace(" ", "%20") + "/send"
        body = check_json(await rest.request("POST", path, {"topic": "e2e.spaced", "data": room}), 200)
        assert body.get("success") is True, body
        envelope = await client.expect("e2e.spaced")
        assert envelope.data == room


async def test_client_send_with_percent_encoded_id(target):
    rest = Rest(target)
    async with session(target, "encoded-id") as client:
        path = "/" + client.client_id.replace("-", "%2D") + "/send"
        body = check_json(await rest.request("POST", path, {"topic": "e2e.encoded", "data": [1]}), 200)
        assert body.get("success") is True, body
        envelope = await client.expect("e2e.encoded")
        assert envelope.data == [1]
        info = check_json(await rest.request("GET", "/" + client.client_id.replace("-", "%2d")), 200)
        assert info["id"] == client.client_id


async def test_client_send_to_unknown_id_still_200(target):
    rest = Rest(target)
    body = check_json(await rest.send_to_client(str(uuid.uuid4()), "e2e.nobody", {}), 200)
    assert body.get("success") is True, body


async def test_room_send_to_empty_room_200(target):
    rest = Rest(target)
    body = check_json(await rest.send_to_room(f"public-empty-{uuid.uuid4().hex[:6]}", "e2e.nobody", {}), 200)
    assert body.get("success") is True, body


BAD_BODIES = {
    "not-json": b"not json",
    "truncated-json": b'{"topic": "x"',
    "array": b'[{"topic": "x"}]',
    "string": b'"x"',
    "number": b"42",
    "null": b"null",
    "no-topic": b'{"data": 1}',
    "topic-number": b'{"topic": 5, "data": 1}',
    "topic-null": b'{"topic": null}',
    "topic-object": b'{"topic": {"name": "x"}}',
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
async def test_send_routes_reject_bad_body_400(target, case):
    rest = Rest(target)
    async with session(target, "bad-body") as client:
        for path in ("/broadcast", f"/rooms/{client.client_id}/send", f"/{client.client_id}/send"):
            response = await rest.request("POST", path, raw=BAD_BODIES[case])
            check_error_body(response, 400)
        await client.expect_nothing(rest)


async def test_disconnect_closes_client_1000(target):
    rest = Rest(target)
    async with session(target, "kicked") as client:
        body = check_json(await rest.disconnect(client.client_id), 200)
        assert body.get("success") is True, body
        code, _ = await client.expect_close()
        assert code == 1000
        deadline = time.monotonic() + 3
        while (response := await rest.get_client(client.client_id)).status != 404 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert check_json(response, 404) == {"error": "Client not found"}


async def test_disconnect_unknown_client_404(target):
    rest = Rest(target)
    response = await rest.disconnect(str(uuid.uuid4()))
    assert check_json(response, 404) == {"error": "Client not found"}
