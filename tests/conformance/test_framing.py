"""Base framing (RFC 6455 section 5.2): masking, reserved bits and opcodes,
payload length encodings and the message size limit."""

import time

import pytest

import rfc6455
from wsclient import INVALID_FORMAT, NOT_AUTHENTICATED, WebSocket, probe_envelope

DATA_OPCODES = {"text": rfc6455.OP_TEXT, "binary": rfc6455.OP_BINARY}


def test_unmasked_client_frame_closes_1002(target):
    with WebSocket.open(target) as ws:
        ws.send_frame(rfc6455.OP_TEXT, probe_envelope(60), masked=False)
        ws.expect_close(1002)


def test_unmasked_ping_closes_1002(target):
    with WebSocket.open(target) as ws:
        ws.send_frame(rfc6455.OP_PING, b"unmasked", masked=False)
        ws.expect_close(1002)


@pytest.mark.parametrize("rsv", [4, 2, 1, 7], ids=["rsv1", "rsv2", "rsv3", "all-rsv"])
@pytest.mark.parametrize("opcode", [rfc6455.OP_TEXT, rfc6455.OP_BINARY, rfc6455.OP_PING], ids=["text", "binary", "ping"])
def test_reserved_bits_close_1002(target, rsv, opcode):
    with WebSocket.open(target) as ws:
        ws.send_frame(opcode, b"reserved bits", rsv=rsv)
        ws.expect_close(1002)


def test_reserved_bit_after_valid_message_closes_1002(target):
    with WebSocket.open(target) as ws:
        ws.send_text(probe_envelope(60))
        ws.expect_error_event(NOT_AUTHENTICATED)
        ws.send_frame(rfc6455.OP_TEXT, probe_envelope(60), rsv=4)
        ws.expect_close(1002)


@pytest.mark.parametrize("opcode", [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF], ids=lambda op: f"opcode-{op:#x}")
def test_reserved_opcode_closes_1002(target, opcode):
    with WebSocket.open(target) as ws:
        ws.send_frame(opcode, b"reserved opcode")
        ws.expect_close(1002)


@pytest.mark.parametrize("opcode", DATA_OPCODES.values(), ids=DATA_OPCODES.keys())
@pytest.mark.parametrize("length", [0, 125, 126, 65535, 65536])
def test_message_length_arrives_whole(target, opcode, length):
    # 125, 126, 65535 and 65536 sit on both sides of the 7-bit, 16-bit and
    # 64-bit length encodings.
    payload = probe_envelope(length) if length else b""
    with WebSocket.open(target) as ws:
        ws.send_frame(opcode, payload)
        ws.expect_error_event(NOT_AUTHENTICATED if length else INVALID_FORMAT)
        ws.send_frame(rfc6455.OP_PING, b"still open")
        ws.expect_pong(b"still open")


@pytest.mark.parametrize("length, width", [(0, 16), (125, 16), (126, 64), (65535, 64)],
                         ids=["0-as-16-bit", "125-as-16-bit", "126-as-64-bit", "65535-as-64-bit"])
def test_non_minimal_length_encoding_closes_1002(target, length, width):
    # RFC 6455 section 5.2: "the minimal number of bytes MUST be used to
    # encode the length".
    payload = probe_envelope(length) if length else b""
    with WebSocket.open(target) as ws:
        ws.send_raw(rfc6455.encode_frame(rfc6455.OP_TEXT, payload, length_width=width))
        ws.expect_close(1002)


def test_64_bit_length_with_top_bit_closes_1002(target):
    payload = probe_envelope(60)
    with WebSocket.open(target) as ws:
        ws.send_raw(rfc6455.encode_frame(rfc6455.OP_TEXT, payload, length=(1 << 63) | len(payload), length_width=64))
        ws.expect_close(1002)


def test_message_at_size_limit_accepted(target):
    with WebSocket.open(target) as ws:
        ws.send_text(probe_envelope(target.max_message_bytes))
        ws.expect_error_event(NOT_AUTHENTICATED)


@pytest.mark.parametrize("opcode", DATA_OPCODES.values(), ids=DATA_OPCODES.keys())
def test_message_over_size_limit_closes_1009(target, opcode):
    with WebSocket.open(target) as ws:
        ws.send_frame(opcode, probe_envelope(target.max_message_bytes + 1))
        ws.expect_close(1009)


def test_oversized_frame_header_closes_1009_before_payload(target):
    # Only the header of a 1 GiB frame is sent: the server must decide from
    # the declared length without waiting for the payload.
    with WebSocket.open(target) as ws:
        ws.send_raw(rfc6455.encode_frame(rfc6455.OP_BINARY, b"", length=1 << 30))
        ws.expect_close(1009)


def test_fragmented_message_over_size_limit_closes_1009(target):
    fragment = b" " * (target.max_message_bytes // 4)
    with WebSocket.open(target) as ws:
        ws.send_frame(rfc6455.OP_TEXT, b'{"event":"join"', fin=False)
        for _ in range(4):
            ws.send_frame(rfc6455.OP_CONTINUATION, fragment, fin=False)
        ws.expect_close(1009)


def test_frame_delivered_byte_by_byte_accepted(target):
    frame = rfc6455.encode_frame(rfc6455.OP_TEXT, probe_envelope(200))
    with WebSocket.open(target) as ws:
        for i in range(len(frame)):
            ws.send_raw(frame[i:i + 1])
            time.sleep(0.002)
        ws.expect_error_event(NOT_AUTHENTICATED)


def test_several_frames_in_one_write_answered_in_order(target):
    frames = (rfc6455.encode_frame(rfc6455.OP_TEXT, probe_envelope(80))
              + rfc6455.encode_frame(rfc6455.OP_PING, b"between")
              + rfc6455.encode_frame(rfc6455.OP_TEXT, b"not json")
              + rfc6455.encode_frame(rfc6455.OP_BINARY, probe_envelope(300)))
    with WebSocket.open(target) as ws:
        ws.send_raw(frames)
        ws.expect_error_event(NOT_AUTHENTICATED)
        ws.expect_pong(b"between")
        ws.expect_error_event(INVALID_FORMAT)
        ws.expect_error_event(NOT_AUTHENTICATED)
