"""Closing handshake (RFC 6455 sections 5.5.1, 7.1 and 7.4)."""

import pytest

import rfc6455
from wsclient import WebSocket, probe_envelope

# Codes no endpoint may send: below 1000, reserved (1004), "never on the
# wire" (1005, 1006, 1015), unassigned in the IANA range (1016-2999) and
# outside 0-4999.
INVALID_CODES = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]

# Codes a client may send: the defined 1000-1003 and 1007-1011, and the
# registered (3000-3999) and private (4000-4999) ranges.
VALID_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999]


def test_empty_close_echoed_without_code(target):
    with WebSocket.open(target) as ws:
        ws.send_close()
        ws.expect_close(None, reply=False)


@pytest.mark.parametrize("code", VALID_CODES)
def test_valid_close_code_echoed(target, code):
    with WebSocket.open(target) as ws:
        ws.send_close(code)
        ws.expect_close(code, reply=False)


def test_close_with_reason_echoes_code(target):
    reason = "going away: κόσμε €".encode() + b"." * 97
    assert len(reason) == 123
    with WebSocket.open(target) as ws:
        ws.send_close(1000, reason)
        ws.expect_close(1000, reply=False)


def test_close_with_one_byte_payload_closes_1002(target):
    with WebSocket.open(target) as ws:
        ws.send_frame(rfc6455.OP_CLOSE, b"\x03")
        ws.expect_close(1002)


@pytest.mark.parametrize("code", INVALID_CODES)
def test_invalid_close_code_closes_1002(target, code):
    with WebSocket.open(target) as ws:
        ws.send_close(code)
        ws.expect_close(1002)


@pytest.mark.parametrize("reason", [b"\xff\xfe", b"ok \xc0\xaf", b"\xed\xa0\x80", b"cut \xe2\x82"],
                         ids=["invalid-bytes", "overlong", "surrogate", "truncated"])
def test_close_reason_invalid_utf8_closes_1007(target, reason):
    with WebSocket.open(target) as ws:
        ws.send_close(1000, reason)
        ws.expect_close(1007)


def test_frames_after_close_ignored(target):
    with WebSocket.open(target) as ws:
        ws.send_raw(rfc6455.encode_frame(rfc6455.OP_CLOSE, rfc6455.close_payload(1000))
                    + rfc6455.encode_frame(rfc6455.OP_PING, b"after close")
                    + rfc6455.encode_frame(rfc6455.OP_TEXT, probe_envelope(60)))
        ws.expect_close(1000, reply=False)


def test_close_inside_fragmented_message_echoed(target):
    payload = probe_envelope(100)
    with WebSocket.open(target) as ws:
        ws.send_frame(rfc6455.OP_TEXT, payload[:50], fin=False)
        ws.send_close(1000)
        ws.expect_close(1000, reply=False)


def test_tcp_closed_by_server_after_close_handshake(target):
    with WebSocket.open(target) as ws:
        ws.send_close(1000)
        frame = ws.recv_frame()
        assert frame.opcode == rfc6455.OP_CLOSE, f"expected the close echo, got {frame!r}"
        assert frame.close_code() == 1000, f"expected close code 1000, got {frame.close_code()}"
        ws.expect_tcp_close()
