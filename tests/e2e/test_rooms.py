"""Room joins under the policy `public-*`, refused names, and leave.

Refusals are silent: no error event comes, the room does not show in the
client's ClientInfo, and a room send to it does not arrive."""

import uuid

from signal_client import Rest, session


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def join_and_sync(client, rest, rooms: list, sync_room: str) -> dict:
    """Join `rooms` plus `sync_room` in one message and wait until it took effect."""
    await client.join(*rooms, sync_room)
    return await rest.wait_for_client(client.client_id, lambda info: sync_room in info["rooms"])


async def test_authenticated_client_in_own_and_default_rooms(target):
    rest = Rest(target)
    async with session(target, "defaults") as client:
        info = (await rest.get_client(client.client_id)).json()
        assert sorted(info["rooms"]) == sorted([client.client_id, "ws-default", "ws-notification"])
        for room in ("ws-default", "ws-notification", client.client_id):
            response = await rest.send_to_room(room, "e2e.default", {"room": room})
            assert response.status == 200
            envelope = await client.expect("e2e.default")
            assert envelope.data == {"room": room}


async def test_public_room_joined_and_delivered(target):
    rest = Rest(target)
    room = unique("public")
    async with session(target, "joiner") as client:
        await client.join(room)
        info = await rest.wait_for_client(client.client_id, lambda info: room in info["rooms"])
        assert sorted(info["rooms"]) == sorted([client.client_id, "ws-default", "ws-notification", room])
        await rest.send_to_room(room, "e2e.room", {"room": room})
        envelope = await client.expect("e2e.room")
        assert envelope.data == {"room": room}
        await client.expect_nothing(rest)


async def test_private_room_refused_silently(target):
    rest = Rest(target)
    private = unique("private")
    async with session(target, "refused") as client:
        info = await join_and_sync(client, rest, [private], unique("public-sync"))
        assert private not in info["rooms"]
        await rest.send_to_room(private, "e2e.private", {"leak": True})
        await client.expect_nothing(rest)


async def test_reserved_ws_prefix_refused(target):
    rest = Rest(target)
    reserved = "ws:" + unique("public")
    async with session(target, "reserved") as client:
        info = await join_and_sync(client, rest, [reserved], unique("public-sync"))
        assert reserved not in info["rooms"]
        await rest.send_to_room(reserved, "e2e.reserved", {})
        await client.expect_nothing(rest)


async def test_room_name_length_limit_256(target):
    rest = Rest(target)
    prefix = unique("public")
    longest = prefix + "a" * (256 - len(prefix))
    too_long = prefix + "b" * (257 - len(prefix))
    assert (len(longest), len(too_long)) == (256, 257)
    async with session(target, "long-names") as client:
        info = await join_and_sync(client, rest, [too_long], longest)
        assert too_long not in info["rooms"]
        await rest.send_to_room(too_long, "e2e.too-long", {})
        await rest.send_to_room(longest, "e2e.longest", {})
        envelope = await client.expect("e2e.longest")
        assert envelope.data == {}
        await client.expect_nothing(rest)


async def test_invalid_room_entries_dropped_valid_kept(target):
    rest = Rest(target)
    async with session(target, "mixed") as client:
        info = await join_and_sync(client, rest, ["", 5, None, {"name": "public-x"}], unique("public-sync"))
        assert len(info["rooms"]) == 4, info["rooms"]
        await client.expect_nothing(rest)


async def test_leave_stops_delivery(target):
    rest = Rest(target)
    room = unique("public")
    async with session(target, "leaver") as client:
        await client.join(room)
        await rest.wait_for_client(client.client_id, lambda info: room in info["rooms"])
        await client.leave(room)
        info = await rest.wait_for_client(client.client_id, lambda info: room not in info["rooms"])
        assert sorted(info["rooms"]) == sorted([client.client_id, "ws-default", "ws-notification"])
        await rest.send_to_room(room, "e2e.after-leave", {})
        await client.expect_nothing(rest)


async def test_leave_of_room_not_joined_changes_nothing(target):
    rest = Rest(target)
    async with session(target, "stray-leave") as client:
        await client.leave(unique("public"))
        room = unique("public-sync")
        await client.join(room)
        info = await rest.wait_for_client(client.client_id, lambda info: room in info["rooms"])
        assert sorted(info["rooms"]) == sorted([client.client_id, "ws-default", "ws-notification", room])
        await client.expect_nothing(rest)


async def test_wildcard_policy_still_refuses_ws_prefix(own_server):
    target = own_server(room_allow="*")
    rest = Rest(target)
    async with session(target, "wildcard") as client:
        info = await join_and_sync(client, rest, ["ws:broadcast", "ws:room:x"], "any-name")
        assert "ws:broadcast" not in info["rooms"]
        assert "ws:room:x" not in info["rooms"]


async def test_policy_with_several_patterns(own_server):
    target = own_server(room_allow="public-*,team-?")
    rest = Rest(target)
    async with session(target, "patterns") as client:
        info = await join_and_sync(client, rest, ["team-12", "teams-1", "private-1"], "team-1")
        assert sorted(info["rooms"]) == sorted([client.client_id, "ws-default", "ws-notification", "team-1"])


async def test_empty_policy_refuses_every_join(own_server):
    target = own_server(room_allow="")
    rest = Rest(target)
    async with session(target, "no-policy") as client:
        await client.join("public-x", "anything")
        await client.flush()
        await rest.send_to_room("public-x", "e2e.no-policy", {})
        await client.expect_nothing(rest)
        info = (await rest.get_client(client.client_id)).json()
        assert sorted(info["rooms"]) == sorted([client.client_id, "ws-default", "ws-notification"])
