"""RFC 6455 framing as the server reads it: fragments, binary messages,
pings, the close handshake, and frames it must reject."""

import json
import struct

from signal_client import KeyExchange, RawConnection, upgrade_request, user_token

TEXT, BINARY, CONTINUATION, CLOSE, PING, PONG = 0x1, 0x2, 0x0, 0x8, 0x9, 0xA


def open_raw(target) -> RawConnection:
    connection = RawConnection(target.host, target.port)
    head, _ = upgrade_request()
    connection.send(head)
    status, headers, _ = connection.read_response()
    assert status == 101, f"upgrade answered {status} {headers}"
    return connection


def authenticate_payload(target, sub: str) -> bytes:
    message = {"event": "authenticate", "data": {"token": user_token(target.secret, sub), "clientPublicKey": KeyExchange().public_b64}}
    return json.dumps(message).encode()


def read_event(connection) -> dict:
    opcode, payload = connection.read_frame()
    assert opcode == TEXT, f"expected a text frame, got opcode {opcode:#x} {payload!r}"
    return json.loads(payload)


def test_fragmented_authenticate_assembled(target):
    with open_raw(target) as connection:
        payload = authenticate_payload(target, "fragments")
        middle = len(payload) // 2
        connection.send_frame(TEXT, payload[:middle], fin=False)
        connection.send_frame(CONTINUATION, payload[middle:])
        message = read_event(connection)
        assert message["event"] == "connected", message
        assert message["data"]["userId"] == "fragments"


def test_binary_message_read_as_text(target):
    with open_raw(target) as connection:
        connection.send_frame(BINARY, authenticate_payload(target, "binary"))
        message = read_event(connection)
        assert message["event"] == "connected", message
        assert message["data"]["userId"] == "binary"


def test_ping_answered_with_same_payload(target):
    with open_raw(target) as connection:
        connection.send_frame(PING, b"are you there")
        opcode, payload = connection.read_frame()
        assert (opcode, payload) == (PONG, b"are you there")


def test_ping_between_fragments_answered(target):
    with open_raw(target) as connection:
        payload = authenticate_payload(target, "interleaved")
        connection.send_frame(TEXT, payload[:10], fin=False)
        connection.send_frame(PING, b"mid")
        assert connection.read_frame() == (PONG, b"mid")
        connection.send_frame(CONTINUATION, payload[10:])
        assert read_event(connection)["event"] == "connected"


def test_client_close_echoed(target):
    with open_raw(target) as connection:
        connection.send_frame(CLOSE, struct.pack("!H", 1000) + b"bye")
        opcode, payload = connection.read_frame()
        assert opcode == CLOSE
        assert struct.unpack("!H", payload[:2])[0] == 1000


def test_unmasked_frame_closes_1002(target):
    with open_raw(target) as connection:
        connection.send_frame(TEXT, b'{"event":"heartbeat"}', masked=False)
        assert connection.read_close() == 1002


def test_invalid_utf8_text_closes_1007(target):
    with open_raw(target) as connection:
        connection.send_frame(TEXT, b'{"event":"\xff\xfe"}')
        assert connection.read_close() == 1007


def test_continuation_without_start_closes_1002(target):
    with open_raw(target) as connection:
        connection.send_frame(CONTINUATION, b"orphan")
        assert connection.read_close() == 1002
