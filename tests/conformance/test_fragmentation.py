"""Fragmentation (RFC 6455 section 5.4) and control frame rules (section 5.5)."""

import time

import pytest

import rfc6455
from wsclient import NOT_AUTHENTICATED, WebSocket, probe_envelope

CONTROL_OPCODES = {"ping": rfc6455.OP_PING, "pong": rfc6455.OP_PONG, "close": rfc6455.OP_CLOSE}


def split(payload: bytes, count: int) -> list[bytes]:
    step = -(-len(payload) // count)
    return [payload[i:i + step] for i in range(0, len(payload), step)]


def send_fragments(ws: WebSocket, opcode: int, fragments: list[bytes]) -> None:
    for i, fragment in enumerate(fragments):
        ws.send_frame(opcode if i == 0 else rfc6455.OP_CONTINUATION, fragment, fin=i == len(fragments) - 1)


@pytest.mark.parametrize("opcode", [rfc6455.OP_TEXT, rfc6455.OP_BINARY], ids=["text", "binary"])
def test_fragmented_message_reassembled(target, opcode):
    with WebSocket.open(target) as ws:
        send_fragments(ws, opcode, split(probe_envelope(3000), 20))
        ws.expect_error_event(NOT_AUTHENTICATED)


def test_pings_between_fragments_answered_in_order(target):
    fragments = split(probe_envelope(1000), 10)
    with WebSocket.open(target) as ws:
        for i, fragment in enumerate(fragments):
            opcode = rfc6455.OP_TEXT if i == 0 else rfc6455.OP_CONTINUATION
            ws.send_frame(opcode, fragment, fin=i == len(fragments) - 1)
            if i < len(fragments) - 1:
                ws.send_frame(rfc6455.OP_PING, f"ping {i}".encode())
        for i in range(len(fragments) - 1):
            ws.expect_pong(f"ping {i}".encode())
        ws.expect_error_event(NOT_AUTHENTICATED)


@pytest.mark.parametrize("cut", [1, 2, 7, 20], ids=lambda cut: f"cut-after-{cut}-bytes")
def test_fragment_then_partial_frame_reassembled(target, cut):
    # One write carries a whole non-final fragment and the start of the
    # next frame, so the server reads a fragment it can consume together
    # with a frame it cannot complete yet.
    payload = probe_envelope(200)
    first = rfc6455.encode_frame(rfc6455.OP_TEXT, payload[:100], fin=False)
    second = rfc6455.encode_frame(rfc6455.OP_CONTINUATION, payload[100:], fin=True)
    with WebSocket.open(target) as ws:
        ws.send_raw(first + second[:cut])
        time.sleep(0.2)
        ws.send_raw(second[cut:])
        ws.expect_error_event(NOT_AUTHENTICATED)


def test_single_byte_fragments_reassembled(target):
    with WebSocket.open(target) as ws:
        send_fragments(ws, rfc6455.OP_TEXT, split(probe_envelope(100), 100))
        ws.expect_error_event(NOT_AUTHENTICATED)


def test_empty_fragments_reassembled(target):
    payload = probe_envelope(100)
    with WebSocket.open(target) as ws:
        send_fragments(ws, rfc6455.OP_TEXT, [b"", payload[:50], b"", payload[50:], b""])
        ws.expect_error_event(NOT_AUTHENTICATED)


@pytest.mark.parametrize("fin", [True, False], ids=["final", "not-final"])
def test_continuation_without_start_closes_1002(target, fin):
    with WebSocket.open(target) as ws:
        ws.send_frame(rfc6455.OP_CONTINUATION, probe_envelope(60), fin=fin)
        ws.expect_close(1002)


def test_continuation_after_complete_message_closes_1002(target):
    with WebSocket.open(target) as ws:
        ws.send_text(probe_envelope(60))
        ws.expect_error_event(NOT_AUTHENTICATED)
        ws.send_frame(rfc6455.OP_CONTINUATION, b"stray", fin=True)
        ws.expect_close(1002)


@pytest.mark.parametrize("opcode", [rfc6455.OP_TEXT, rfc6455.OP_BINARY], ids=["text", "binary"])
def test_data_frame_inside_fragmented_message_closes_1002(target, opcode):
    payload = probe_envelope(100)
    with WebSocket.open(target) as ws:
        ws.send_frame(rfc6455.OP_TEXT, payload[:50], fin=False)
        ws.send_frame(opcode, payload[50:], fin=True)
        ws.expect_close(1002)


@pytest.mark.parametrize("opcode", CONTROL_OPCODES.values(), ids=CONTROL_OPCODES.keys())
def test_fragmented_control_frame_closes_1002(target, opcode):
    payload = rfc6455.close_payload(1000) if opcode == rfc6455.OP_CLOSE else b"fragmented"
    with WebSocket.open(target) as ws:
        ws.send_frame(opcode, payload, fin=False)
        ws.send_frame(rfc6455.OP_CONTINUATION, b"rest", fin=True)
        ws.expect_close(1002)


@pytest.mark.parametrize("opcode", CONTROL_OPCODES.values(), ids=CONTROL_OPCODES.keys())
def test_control_frame_with_126_bytes_closes_1002(target, opcode):
    payload = rfc6455.close_payload(1000, b"r" * 124) if opcode == rfc6455.OP_CLOSE else b"p" * 126
    with WebSocket.open(target) as ws:
        ws.send_frame(opcode, payload)
        ws.expect_close(1002)
