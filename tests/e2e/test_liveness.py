"""Heartbeat timeout: an authenticated client that sends nothing is closed
with 4002, and any data message keeps it open."""

import time

import pytest

from signal_client import Rest, session

# The server checks every 100 ms for clients silent for over 800 ms.
HEARTBEAT_FLAGS = {"heartbeat_interval_ms": "100", "heartbeat_timeout_ms": "800"}


async def test_silent_client_closed_4002(own_server):
    target = own_server(**HEARTBEAT_FLAGS)
    async with session(target, "silent") as client:
        started = time.monotonic()
        code, _ = await client.expect_close(timeout=3)
        elapsed = time.monotonic() - started
        assert code == 4002
        assert elapsed >= 0.7, f"closed after {elapsed:.3f} s, before the 800 ms heartbeat timeout"


@pytest.mark.parametrize("encrypt", [True, False], ids=["sealed", "plain"])
async def test_heartbeats_keep_client_open(own_server, encrypt):
    target = own_server(**HEARTBEAT_FLAGS)
    async with session(target, "beating") as client:
        # Twice the heartbeat timeout, one heartbeat every 150 ms.
        deadline = time.monotonic() + 1.6
        while time.monotonic() < deadline:
            await client.send_event("heartbeat", encrypt=encrypt)
            await client.expect_quiet(0.15)
        await client.expect_nothing(Rest(target), window=0.05)

        code, _ = await client.expect_close(timeout=3)
        assert code == 4002


async def test_unauthenticated_client_left_to_auth_timeout(own_server):
    target = own_server(auth_timeout_ms="1500", **HEARTBEAT_FLAGS)
    async with session(target) as client:
        started = time.monotonic()
        code, _ = await client.expect_close(timeout=4)
        elapsed = time.monotonic() - started
        assert code == 4001, f"closed with {code} after {elapsed:.3f} s"
        assert elapsed >= 1.3
