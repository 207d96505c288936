"""SIGTERM: every WebSocket client is closed with 1001 and the process
exits with status 0."""

import asyncio
import signal

from signal_client import session


async def test_sigterm_closes_clients_1001_and_exits_0(own_server):
    target = own_server()
    async with (
        session(target, "resident-0") as first,
        session(target, "resident-1") as second,
        session(target, "resident-2") as third,
        session(target) as unauthenticated,
    ):
        clients = [first, second, third, unauthenticated]
        target.process.popen.send_signal(signal.SIGTERM)
        results = await asyncio.gather(*(client.expect_close(timeout=5) for client in clients))
        assert [code for code, _ in results] == [1001, 1001, 1001, 1001]
    status = await asyncio.to_thread(target.process.terminate)
    assert status == 0, f"exit status {status}"
