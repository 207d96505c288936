"""The authenticate event: the connected reply and every failure with its
error event and close code."""

import json
import os
import re
import time
from datetime import datetime, timezone

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from signal_client import (
    KeyExchange,
    Rest,
    b64decode_strict,
    b64encode,
    b64url,
    mint_jwt,
    session,
    user_token,
)

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
ISO_UTC_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


async def test_connected_event_shape(target):
    async with session(target) as client:
        exchange = KeyExchange()
        token = user_token(target.secret, "user-shape")
        await client.send_json({"event": "authenticate", "data": {"token": token, "clientPublicKey": exchange.public_b64}})
        envelope = await client.expect("connected")

    message = json.loads(envelope.text)
    assert set(message) == {"event", "data"}, message
    data = envelope.data
    assert set(data) == {"id", "userId", "time", "serverPublicKey", "salt"}, data
    assert UUID4.match(data["id"]), f"id {data['id']!r} is not a lower-case UUIDv4"
    assert data["userId"] == "user-shape"

    assert ISO_UTC_MS.match(data["time"]), f"time {data['time']!r}"
    sent_at = datetime.strptime(data["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    assert abs(sent_at.timestamp() - time.time()) < 60, f"time {data['time']!r} is far from now"

    server_key = b64decode_strict(data["serverPublicKey"])
    assert len(server_key) == 65
    assert server_key[0] == 0x04
    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), server_key)
    assert len(b64decode_strict(data["salt"])) == 32


async def test_user_id_from_user_id_claim_without_sub(target):
    now = int(time.time())
    token = mint_jwt(target.secret, {"userId": "claim-user", "iat": now, "exp": now + 300})
    async with session(target) as client:
        data = await client.authenticate(token)
        assert data["userId"] == "claim-user"


async def test_sub_preferred_over_user_id_claim(target):
    token = user_token(target.secret, "sub-user", userId="claim-user")
    async with session(target) as client:
        data = await client.authenticate(token)
        assert data["userId"] == "sub-user"


async def test_each_connection_gets_fresh_id_key_and_salt(target):
    async with session(target) as first, session(target) as second:
        one = await first.authenticate(sub="same-user")
        two = await second.authenticate(sub="same-user")
    assert one["id"] != two["id"]
    assert one["serverPublicKey"] != two["serverPublicKey"]
    assert one["salt"] != two["salt"]


async def test_no_event_before_authentication(target):
    async with session(target) as client:
        await client.expect_quiet()


def bad_tokens(secret: str) -> dict:
    now = int(time.time())
    header_none = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    claims = b64url(json.dumps({"sub": "mallory", "iat": now, "exp": now + 300}).encode())
    return {
        "bad-signature": user_token(secret + "-wrong", "mallory"),
        "expired": mint_jwt(secret, {"sub": "mallory", "iat": now - 600, "exp": now - 300}),
        "not-yet-valid": mint_jwt(secret, {"sub": "mallory", "iat": now, "nbf": now + 300, "exp": now + 600}),
        "alg-none": f"{header_none}.{claims}.",
        "garbage": "not-a-jwt",
        "empty": "",
    }


@pytest.mark.parametrize("case", ["bad-signature", "expired", "not-yet-valid", "alg-none", "garbage", "empty", "missing"])
async def test_bad_token_fails_with_4003(target, case):
    data = {"clientPublicKey": KeyExchange().public_b64}
    if case != "missing":
        data["token"] = bad_tokens(target.secret)[case]
    async with session(target) as client:
        await client.send_json({"event": "authenticate", "data": data})
        await client.expect_error("Authentication failed")
        code, _ = await client.expect_close()
        assert code == 4003


def unusable_keys() -> dict:
    valid = KeyExchange().public_bytes
    compressed = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
    )
    off_curve = bytearray(valid)
    off_curve[-1] ^= 0x01
    return {
        "not-base64": "!!!not base64!!!",
        "random-65-bytes": b64encode(b"\x04" + os.urandom(64)),
        "point-off-curve": b64encode(bytes(off_curve)),
        "compressed-point": b64encode(compressed),
        "truncated": b64encode(valid[:64]),
        "number": 12345,
    }


@pytest.mark.parametrize(
    "case", ["missing", "not-base64", "random-65-bytes", "point-off-curve", "compressed-point", "truncated", "number"]
)
async def test_unusable_client_key_fails_with_4004(target, case):
    data = {"token": user_token(target.secret, "keyless")}
    if case != "missing":
        data["clientPublicKey"] = unusable_keys()[case]
    async with session(target) as client:
        await client.send_json({"event": "authenticate", "data": data})
        await client.expect_error("Encryption handshake failed")
        code, _ = await client.expect_close()
        assert code == 4004


async def test_second_authenticate_rejected_connection_stays(target):
    rest = Rest(target)
    async with session(target) as client:
        await client.authenticate(sub="twice")
        await client.send_json(
            {"event": "authenticate", "data": {"token": user_token(target.secret, "twice"), "clientPublicKey": KeyExchange().public_b64}}
        )
        await client.expect_error("Already authenticated")
        await client.expect_nothing(rest)


async def test_join_before_authentication_rejected(target):
    async with session(target) as client:
        await client.join("public-early")
        await client.expect_error("Not authenticated")
        await client.authenticate(sub="late")


@pytest.mark.parametrize("text", ["not json", "null", "[1, 2]", '"authenticate"', '{"data": {}}', '{"event": 7}'])
async def test_malformed_message_before_authentication(target, text):
    async with session(target) as client:
        await client.send_text(text)
        await client.expect_error("Invalid message format")
        await client.authenticate(sub="after-garbage")


async def test_malformed_message_after_authentication(target):
    rest = Rest(target)
    async with session(target) as client:
        await client.authenticate(sub="garbage-after")
        await client.send_text("{not json")
        await client.expect_error("Invalid message format")
        await client.expect_nothing(rest)


async def test_authentication_timeout_closes_4001(own_server):
    target = own_server(auth_timeout_ms="300")
    async with session(target) as client:
        started = time.monotonic()
        code, _ = await client.expect_close(timeout=3)
        elapsed = time.monotonic() - started
        assert code == 4001
        assert elapsed >= 0.2, f"closed after {elapsed:.3f} s, before the 300 ms timeout"


async def test_authenticated_client_outlives_auth_timeout(own_server):
    target = own_server(auth_timeout_ms="300")
    async with session(target) as client:
        await client.authenticate(sub="in-time")
        await client.expect_quiet(window=0.8)
        await client.expect_nothing(Rest(target))
