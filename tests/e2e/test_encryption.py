"""Per-client AES-256-GCM: every server message after `connected` is sealed
with the session key, sealed client messages are handled like plain ones,
and a broken wrapper gets an error event while the connection stays open."""

import json
import os
import uuid

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from signal_client import Rest, b64decode_strict, b64encode, seal, session

# Exercises JSON round trips: nesting, non-ASCII text, numbers, null, booleans.
RICH_DATA = {"orderId": "123", "items": [1, 2.5, None, True], "note": "caf\u00e9 \u2713", "nested": {"deep": [{}]}}


async def test_every_send_kind_arrives_encrypted(target):
    rest = Rest(target)
    async with session(target, "sealed") as client:
        sends = [
            ("e2e.broadcast", rest.broadcast),
            ("e2e.own-room", lambda topic, data: rest.send_to_room(client.client_id, topic, data)),
            ("e2e.default-room", lambda topic, data: rest.send_to_room("ws-default", topic, data)),
            ("e2e.client", lambda topic, data: rest.send_to_client(client.client_id, topic, data)),
        ]
        ivs = set()
        for topic, send in sends:
            response = await send(topic, RICH_DATA)
            assert response.status == 200, f"{topic}: {response}"
            envelope = await client.expect(topic)
            assert envelope.encrypted is True, f"{topic} arrived in plain text: {envelope.text}"
            assert envelope.inner == {"event": topic, "data": RICH_DATA}
            wire = json.loads(envelope.text)
            assert set(wire) == {"event", "data"}
            assert set(wire["data"]) == {"iv", "ct"}
            iv = b64decode_strict(wire["data"]["iv"])
            assert len(iv) == 12
            ivs.add(iv)
        assert len(ivs) == len(sends), "an IV was reused"


async def test_encrypted_join_then_room_send_arrives(target):
    rest = Rest(target)
    room = f"public-sealed-{uuid.uuid4().hex[:8]}"
    async with session(target, "sealed-join") as client:
        await client.send_event("join", {"rooms": [room]}, encrypt=True)
        await rest.wait_for_client(client.client_id, lambda info: room in info["rooms"])
        response = await rest.send_to_room(room, "e2e.sealed-room", {"n": 1})
        assert response.status == 200
        envelope = await client.expect("e2e.sealed-room")
        assert envelope.encrypted is True
        assert envelope.data == {"n": 1}


async def test_encrypted_heartbeat_gets_no_reply(target):
    async with session(target, "sealed-heartbeat") as client:
        await client.send_event("heartbeat", encrypt=True)
        await client.expect_nothing(Rest(target))


def broken_wrappers(key: bytes) -> dict:
    """Wrappers that fail the shape check, the Base64 check or decryption."""
    good = seal(key, {"event": "heartbeat"})
    ciphertext = b64decode_strict(good["ct"])
    tampered = ciphertext[:-1] + bytes([ciphertext[-1] ^ 0x01])
    other_key = seal(AESGCM.generate_key(bit_length=256), {"event": "heartbeat"})
    return {
        "iv-not-base64": {"iv": "****not*base64**", "ct": good["ct"]},
        "ct-not-base64": {"iv": good["iv"], "ct": "%%%%"},
        "iv-8-bytes": {"iv": b64encode(os.urandom(8)), "ct": good["ct"]},
        "iv-16-bytes": {"iv": b64encode(os.urandom(16)), "ct": good["ct"]},
        "ct-15-bytes": {"iv": good["iv"], "ct": b64encode(os.urandom(15))},
        "wrong-key": other_key,
        "tampered-tag": {"iv": good["iv"], "ct": b64encode(tampered)},
        "iv-not-string": {"iv": 12, "ct": good["ct"]},
        "ct-missing": {"iv": good["iv"]},
        "data-not-object": "not an object",
        "data-missing": None,
    }


@pytest.mark.parametrize(
    "case",
    [
        "iv-not-base64",
        "ct-not-base64",
        "iv-8-bytes",
        "iv-16-bytes",
        "ct-15-bytes",
        "wrong-key",
        "tampered-tag",
        "iv-not-string",
        "ct-missing",
        "data-not-object",
        "data-missing",
    ],
)
async def test_broken_wrapper_rejected_connection_stays(target, case):
    rest = Rest(target)
    room = f"public-after-{uuid.uuid4().hex[:8]}"
    async with session(target, "broken-wrapper") as client:
        data = broken_wrappers(client.key)[case]
        message = {"event": "encrypted"} if data is None else {"event": "encrypted", "data": data}
        await client.send_json(message)
        await client.expect_error("Invalid encrypted payload")

        # The connection still takes sealed messages and delivers to the client.
        await client.send_event("join", {"rooms": [room]}, encrypt=True)
        await rest.wait_for_client(client.client_id, lambda info: room in info["rooms"])
        await rest.send_to_room(room, "e2e.still-usable", {"case": case})
        envelope = await client.expect("e2e.still-usable")
        assert envelope.data == {"case": case}


async def test_sealed_non_json_is_invalid_message_format(target):
    async with session(target, "sealed-garbage") as client:
        iv = os.urandom(12)
        ciphertext = AESGCM(client.key).encrypt(iv, b"this is not json", None)
        await client.send_json({"event": "encrypted", "data": {"iv": b64encode(iv), "ct": b64encode(ciphertext)}})
        await client.expect_error("Invalid message format")
        await client.expect_nothing(Rest(target))


async def test_wrapper_before_authentication_rejected(target):
    async with session(target) as client:
        wrapper = seal(AESGCM.generate_key(bit_length=256), {"event": "join", "data": {"rooms": ["public-x"]}})
        await client.send_json({"event": "encrypted", "data": wrapper})
        await client.expect_error("Not authenticated")
        await client.authenticate(sub="wrapper-first")
