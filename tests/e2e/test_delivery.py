"""Fan-out: broadcast, room and client sends reach exactly the clients they
address, once each, and nothing reaches a connection that has not
authenticated."""

import contextlib
import uuid

from signal_client import Rest, session


@contextlib.asynccontextmanager
async def group(target, rest, room: str):
    """Yield two authenticated members of `room`, one authenticated outsider and one unauthenticated client."""
    async with (
        session(target, "member-0") as first,
        session(target, "member-1") as second,
        session(target, "outsider") as outsider,
        session(target) as anonymous,
    ):
        for member in (first, second):
            await member.join(room)
            await rest.wait_for_client(member.client_id, lambda info: room in info["rooms"])
        yield [first, second], outsider, anonymous


def unique_room() -> str:
    return f"public-group-{uuid.uuid4().hex[:8]}"


async def test_broadcast_reaches_every_authenticated_client_once(target):
    rest = Rest(target)
    async with group(target, rest, unique_room()) as (members, outsider, anonymous):
        await rest.broadcast("e2e.everyone", {"to": "all"})
        for client in members + [outsider]:
            envelope = await client.expect("e2e.everyone")
            assert envelope.data == {"to": "all"}
            await client.expect_nothing(rest)
        await anonymous.expect_quiet()


async def test_room_send_reaches_members_only(target):
    rest = Rest(target)
    room = unique_room()
    async with group(target, rest, room) as (members, outsider, anonymous):
        await rest.send_to_room(room, "e2e.members", {"room": room})
        for client in members:
            envelope = await client.expect("e2e.members")
            assert envelope.data == {"room": room}
            await client.expect_nothing(rest)
        await outsider.expect_nothing(rest)
        await anonymous.expect_quiet()


async def test_client_send_reaches_that_client_only(target):
    rest = Rest(target)
    async with group(target, rest, unique_room()) as (members, outsider, anonymous):
        await rest.send_to_client(outsider.client_id, "e2e.direct", {"to": outsider.client_id})
        envelope = await outsider.expect("e2e.direct")
        assert envelope.data == {"to": outsider.client_id}
        await outsider.expect_nothing(rest)
        for client in members:
            await client.expect_nothing(rest)
        await anonymous.expect_quiet()


async def test_client_send_reaches_one_connection_of_a_user(target):
    rest = Rest(target)
    async with session(target, "same-user") as first, session(target, "same-user") as second:
        await rest.send_to_client(second.client_id, "e2e.one-tab", {})
        envelope = await second.expect("e2e.one-tab")
        assert envelope.data == {}
        await first.expect_nothing(rest)


async def test_messages_arrive_in_send_order(target):
    rest = Rest(target)
    async with session(target, "ordered") as client:
        for n in range(20):
            response = await rest.send_to_client(client.client_id, "e2e.sequence", {"n": n})
            assert response.status == 200
        received = [(await client.expect("e2e.sequence")).data["n"] for _ in range(20)]
        assert received == list(range(20))
