"""max_message_bytes: a message at the limit is taken, one byte over it
closes the connection with 1009."""

from signal_client import Rest, session


def heartbeat_of_size(size: int) -> str:
    frame = '{"event":"heartbeat","data":"%s"}'
    text = frame % ("x" * (size - len(frame % "")))
    assert len(text.encode()) == size
    return text


async def test_message_at_limit_accepted(own_server):
    target = own_server(max_message_bytes="1024")
    async with session(target, "at-limit") as client:
        await client.send_text(heartbeat_of_size(1024))
        await client.expect_nothing(Rest(target))


async def test_message_over_limit_closes_1009(own_server):
    target = own_server(max_message_bytes="1024")
    async with session(target, "over-limit") as client:
        await client.send_text(heartbeat_of_size(1025))
        code, _ = await client.expect_close()
        assert code == 1009
