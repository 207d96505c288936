"""require_encryption = false: no key exchange, plain envelopes both ways."""

import json
import uuid

from signal_client import KeyExchange, Rest, session, user_token


async def test_connected_without_key_material(own_server):
    target = own_server(require_encryption="false")
    async with session(target) as client:
        data = await client.authenticate(sub="plain-user", public_key=False)
        assert set(data) == {"id", "userId", "time"}, data
        assert data["userId"] == "plain-user"
        assert client.key is None


async def test_client_public_key_ignored(own_server):
    target = own_server(require_encryption="false")
    async with session(target) as client:
        token = user_token(target.secret, "keyed-anyway")
        await client.send_json({"event": "authenticate", "data": {"token": token, "clientPublicKey": KeyExchange().public_b64}})
        envelope = await client.expect("connected")
        assert set(envelope.data) == {"id", "userId", "time"}, envelope.data


async def test_plain_envelopes_for_every_send_kind(own_server):
    target = own_server(require_encryption="false")
    rest = Rest(target)
    room = f"public-plain-{uuid.uuid4().hex[:8]}"
    async with session(target) as client:
        await client.authenticate(sub="plain-fanout", public_key=False)
        await client.join(room)
        info = await rest.wait_for_client(client.client_id, lambda info: room in info["rooms"])
        assert info["encrypted"] is False
        assert info["state"] == "authenticated"

        await rest.broadcast("e2e.plain-broadcast", {"n": 1})
        await rest.send_to_room(room, "e2e.plain-room", {"n": 2})
        await rest.send_to_client(client.client_id, "e2e.plain-client", {"n": 3})
        for n, topic in enumerate(["e2e.plain-broadcast", "e2e.plain-room", "e2e.plain-client"], start=1):
            envelope = await client.expect(topic)
            assert envelope.encrypted is False
            assert json.loads(envelope.text) == {"event": topic, "data": {"n": n}}
        await client.expect_nothing(rest)
