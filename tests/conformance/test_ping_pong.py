"""Ping and pong (RFC 6455 sections 5.5.2 and 5.5.3)."""

import os

import pytest

import rfc6455
from wsclient import NOT_AUTHENTICATED, WebSocket, probe_envelope

PING_PAYLOADS = {
    "empty": b"",
    "text": b"Hello, world",
    "binary": bytes(range(256))[:125][::-1],
    "125-bytes": b"\xfe" * 125,
}


@pytest.mark.parametrize("payload", PING_PAYLOADS.values(), ids=PING_PAYLOADS.keys())
def test_ping_answered_with_identical_pong(target, payload):
    with WebSocket.open(target) as ws:
        ws.send_frame(rfc6455.OP_PING, payload)
        ws.expect_pong(payload)


def test_pings_in_one_write_answered_in_order(target):
    payloads = [os.urandom(i * 12) for i in range(10)]
    with WebSocket.open(target) as ws:
        ws.send_raw(b"".join(rfc6455.encode_frame(rfc6455.OP_PING, p) for p in payloads))
        for payload in payloads:
            ws.expect_pong(payload)


@pytest.mark.parametrize("payload", [b"", b"unsolicited"], ids=["empty", "with-payload"])
def test_unsolicited_pong_ignored(target, payload):
    with WebSocket.open(target) as ws:
        ws.send_frame(rfc6455.OP_PONG, payload)
        ws.expect_silence(0.3)
        ws.send_frame(rfc6455.OP_PING, b"after the pong")
        ws.expect_pong(b"after the pong")
        ws.send_text(probe_envelope(60))
        ws.expect_error_event(NOT_AUTHENTICATED)
