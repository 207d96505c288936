"""HTTP/1.1 upgrade to WebSocket: accepted variants, rejected requests, and
bytes that travel in the same write as the request head."""

import base64
import json
import os

import pytest

from signal_client import (
    KeyExchange,
    RawConnection,
    b64encode,
    encode_frame,
    expected_accept,
    session,
    upgrade_request,
    user_token,
)


def upgrade_headers(key: str, **replace) -> list:
    """Build the headers of a valid upgrade request, then apply `replace`.

    Keyword names use `_` for `-`, and a value of None removes the header."""
    headers = {
        "Host": "127.0.0.1",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": key,
        "Sec-WebSocket-Version": "13",
    }
    for name, value in replace.items():
        name = name.replace("_", "-")
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
    return list(headers.items())


def send_upgrade(target, head: bytes, extra: bytes = b"") -> tuple:
    connection = RawConnection(target.host, target.port)
    connection.send(head + extra)
    status, headers, body = connection.read_response()
    return connection, status, headers, body


def check_switching_protocols(status, headers, key):
    assert status == 101, f"status {status}, headers {headers}"
    assert [value.lower() for value in headers["upgrade"]] == ["websocket"]
    assert "upgrade" in [token.strip().lower() for token in ",".join(headers["connection"]).split(",")]
    assert headers["sec-websocket-accept"] == [expected_accept(key)]
    assert "sec-websocket-extensions" not in headers
    assert "sec-websocket-protocol" not in headers


@pytest.mark.parametrize(
    "replace",
    [{}, {"Connection": "keep-alive, Upgrade"}, {"Upgrade": "WebSocket"}, {"Connection": "upgrade", "Upgrade": "WEBSOCKET"}],
    ids=["plain", "keep-alive-upgrade", "mixed-case-upgrade", "lower-case-connection"],
)
def test_upgrade_variants_answer_101(target, replace):
    key = b64encode(os.urandom(16))
    head, _ = upgrade_request(headers=upgrade_headers(key, **replace))
    connection, status, headers, _ = send_upgrade(target, head)
    with connection:
        check_switching_protocols(status, headers, key)


def test_upgrade_accept_for_rfc_sample_key(target):
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    head, _ = upgrade_request(headers=upgrade_headers(key))
    connection, status, headers, _ = send_upgrade(target, head)
    with connection:
        assert status == 101
        assert headers["sec-websocket-accept"] == ["s3pPLMBiTxaQ9kYGzzhZRbK+xOo="]


def test_upgrade_with_post_method_rejected(target):
    key = b64encode(os.urandom(16))
    headers = upgrade_headers(key) + [("Content-Length", "0")]
    head, _ = upgrade_request(method="POST", headers=headers)
    connection, status, _, _ = send_upgrade(target, head)
    with connection:
        assert status in (400, 405), f"POST upgrade answered {status}"


@pytest.mark.parametrize(
    "key",
    [
        None,
        "not base64 at all!",
        b64encode(os.urandom(15)),
        b64encode(os.urandom(17)),
        base64.b64encode(os.urandom(16)).decode().rstrip("="),
    ],
    ids=["missing", "not-base64", "15-bytes", "17-bytes", "unpadded"],
)
def test_upgrade_with_bad_key_rejected_400(target, key):
    head, _ = upgrade_request(headers=upgrade_headers("placeholder", Sec_WebSocket_Key=key))
    connection, status, headers, _ = send_upgrade(target, head)
    with connection:
        assert status == 400, f"key {key!r} answered {status} {headers}"


def test_upgrade_version_8_answers_426(target):
    key = b64encode(os.urandom(16))
    head, _ = upgrade_request(headers=upgrade_headers(key, Sec_WebSocket_Version="8"))
    connection, status, headers, _ = send_upgrade(target, head)
    with connection:
        assert status == 426, f"version 8 answered {status}"
        assert headers.get("sec-websocket-version") == ["13"]


def test_frame_in_same_write_as_upgrade_kept(target):
    """An authenticate frame sent right behind the request head is read, not dropped."""
    key = b64encode(os.urandom(16))
    head, _ = upgrade_request(headers=upgrade_headers(key))
    exchange = KeyExchange()
    authenticate = {
        "event": "authenticate",
        "data": {"token": user_token(target.secret, "early-bird"), "clientPublicKey": exchange.public_b64},
    }
    frame_payload = json.dumps(authenticate).encode()
    connection, status, headers, _ = send_upgrade(target, head, encode_frame(0x1, frame_payload))
    with connection:
        check_switching_protocols(status, headers, key)
        opcode, payload = connection.read_frame()
        assert opcode == 0x1
        message = json.loads(payload)
        assert message["event"] == "connected", payload
        assert message["data"]["userId"] == "early-bird"


async def test_offered_permessage_deflate_not_negotiated(target):
    async with session(target, compression="deflate") as client:
        assert client.ws.response_headers.get("Sec-WebSocket-Extensions") is None
        assert client.ws.extensions == []
        await client.authenticate(sub="deflate-user")
