"""UTF-8 handling of text messages (RFC 6455 section 8.1, RFC 3629)."""

import pytest

import rfc6455
from wsclient import NOT_AUTHENTICATED, WebSocket

# Two-, three- and four-byte code points, so that fragment boundaries fall
# inside each kind of sequence.
VALID_TEXT = '{"event":"join","data":{"rooms":["κόσμε €uro 𝄞 Ж"]}}'.encode()


def envelope_around(raw: bytes) -> bytes:
    """Return the probe envelope with raw bytes inside its room name."""
    return b'{"event":"join","data":{"rooms":["room ' + raw + b' end"]}}'


INVALID_SEQUENCES = {
    "lone-continuation-80": b"\x80",
    "lone-continuation-bf": b"\xbf",
    "overlong-nul-c0-80": b"\xc0\x80",
    "overlong-c1-bf": b"\xc1\xbf",
    "overlong-slash-e0-80-af": b"\xe0\x80\xaf",
    "overlong-slash-f0-80-80-af": b"\xf0\x80\x80\xaf",
    "overlong-max-e0-9f-bf": b"\xe0\x9f\xbf",
    "surrogate-high-ed-a0-80": b"\xed\xa0\x80",
    "surrogate-low-ed-bf-bf": b"\xed\xbf\xbf",
    "surrogate-pair-ed-a0-80-ed-b0-80": b"\xed\xa0\x80\xed\xb0\x80",
    "above-max-f4-90-80-80": b"\xf4\x90\x80\x80",
    "lead-f5": b"\xf5\x80\x80\x80",
    "byte-fe": b"\xfe",
    "byte-ff": b"\xff",
    "truncated-2-byte-then-ascii": b"\xc2A",
    "truncated-3-byte-then-ascii": b"\xe2\x82A",
    "truncated-4-byte-then-ascii": b"\xf0\x9d\x84A",
}

TRUNCATED_ENDINGS = {
    "2-byte": b"\xce",
    "3-byte": b"\xe2\x82",
    "4-byte": b"\xf0\x9d\x84",
}


def test_valid_text_split_at_every_byte_accepted(target):
    with WebSocket.open(target) as ws:
        for position in range(1, len(VALID_TEXT)):
            ws.send_frame(rfc6455.OP_TEXT, VALID_TEXT[:position], fin=False)
            ws.send_frame(rfc6455.OP_CONTINUATION, VALID_TEXT[position:], fin=True)
            ws.expect_error_event(NOT_AUTHENTICATED)


def test_valid_text_in_single_byte_fragments_accepted(target):
    with WebSocket.open(target) as ws:
        for i in range(len(VALID_TEXT)):
            opcode = rfc6455.OP_TEXT if i == 0 else rfc6455.OP_CONTINUATION
            ws.send_frame(opcode, VALID_TEXT[i:i + 1], fin=i == len(VALID_TEXT) - 1)
        ws.expect_error_event(NOT_AUTHENTICATED)


@pytest.mark.parametrize("raw", INVALID_SEQUENCES.values(), ids=INVALID_SEQUENCES.keys())
def test_invalid_utf8_closes_1007(target, raw):
    with WebSocket.open(target) as ws:
        ws.send_frame(rfc6455.OP_TEXT, envelope_around(raw))
        ws.expect_close(1007)


@pytest.mark.parametrize("raw", INVALID_SEQUENCES.values(), ids=INVALID_SEQUENCES.keys())
def test_invalid_utf8_in_last_fragment_closes_1007(target, raw):
    message = envelope_around(raw)
    cut = message.index(b"room ") + 5
    with WebSocket.open(target) as ws:
        ws.send_frame(rfc6455.OP_TEXT, message[:cut], fin=False)
        ws.send_frame(rfc6455.OP_CONTINUATION, message[cut:], fin=True)
        ws.expect_close(1007)


@pytest.mark.parametrize("ending", TRUNCATED_ENDINGS.values(), ids=TRUNCATED_ENDINGS.keys())
def test_truncated_sequence_at_message_end_closes_1007(target, ending):
    with WebSocket.open(target) as ws:
        ws.send_frame(rfc6455.OP_TEXT, b'{"event":"join"}' + ending)
        ws.expect_close(1007)


@pytest.mark.parametrize("ending", TRUNCATED_ENDINGS.values(), ids=TRUNCATED_ENDINGS.keys())
def test_truncated_sequence_in_final_fragment_closes_1007(target, ending):
    with WebSocket.open(target) as ws:
        ws.send_frame(rfc6455.OP_TEXT, b'{"event":"join"}', fin=False)
        ws.send_frame(rfc6455.OP_CONTINUATION, b" " + ending, fin=True)
        ws.expect_close(1007)


@pytest.mark.parametrize("raw", [b"\xff", b"\xed\xa0\x80", b"\xc0\x80"], ids=["byte-ff", "surrogate", "overlong"])
def test_utf8_fail_fast_in_first_fragment(target, raw):
    with WebSocket.open(target) as ws:
        ws.send_frame(rfc6455.OP_TEXT, envelope_around(raw), fin=False)
        ws.expect_close(1007)


def test_utf8_fail_fast_across_fragments(target):
    # F4 90 can never start a valid sequence (above U+10FFFF), and the
    # second fragment that completes it is not the last one.
    with WebSocket.open(target) as ws:
        ws.send_frame(rfc6455.OP_TEXT, b'{"event":"join","data":"\xf4', fin=False)
        ws.send_frame(rfc6455.OP_CONTINUATION, b'\x90\x80\x80', fin=False)
        ws.expect_close(1007)
