"""Malformed and hostile input on every surface: raw TCP, the HTTP request
head, REST bodies and paths, WebSocket frames and every field of the
application events. Each case gets one exact response: an HTTP status with
a JSON error, an `error` event, or a close code. After each case, a client
that connected before the first case still receives a broadcast.

All cases share one server per module; the healthy client and the server
must survive them all.
"""

import json
import os
import random
import socket
import time

import pytest

from signal_testkit import (
    JWT_SECRET,
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    REST_PREFIX,
    RawWebSocket,
    SessionCrypto,
    authenticated_raw_client,
    b64,
    b64url,
    basic_header,
    client_path,
    encode_frame,
    http_request,
    mint_token,
    parse_response_head,
)

TOKEN = mint_token(JWT_SECRET, "bad-input")
AUTH = basic_header().encode()
BROADCAST = REST_PREFIX.encode() + b"/broadcast"
NESTING = 10000

MALFORMED = (400, "Malformed HTTP request")


@pytest.fixture(scope="module")
def server(module_launcher):
    return module_launcher.start(workers=2, idle_timeout_s=60)


@pytest.fixture(scope="module")
def healthy(server):
    client = authenticated_raw_client(server.port, "healthy")
    yield client
    client.close()


@pytest.fixture(autouse=True)
def still_serving(request, server, healthy, module_launcher):
    """After each case: the server responds and the healthy client is served."""
    request.node.signal_servers = module_launcher.servers
    yield
    probe = {"topic": "probe", "data": {"case": request.node.name}}
    response = http_request(server.port, "POST", REST_PREFIX + "/broadcast", probe)
    assert response.status == 200, f"broadcast after {request.node.name}: {response}"
    assert healthy.recv_event(timeout=5.0) == {"event": "probe", "data": {"case": request.node.name}}


def exchange(port: int, data: bytes, shut_write: bool = False, timeout: float = 3.0):
    """Send raw bytes; return (response bytes, whether the server closed)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.sendall(data)
    if shut_write:
        sock.shutdown(socket.SHUT_WR)
    received = b""
    closed = False
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                closed = True
                break
            received += chunk
            if response_complete(received):
                # A keep-alive response ends here; a closing one is followed by EOF.
                sock.settimeout(0.3)
    except socket.timeout:
        pass
    except ConnectionResetError:
        closed = True
    sock.close()
    return received, closed


def response_complete(data: bytes) -> bool:
    head, separator, body = data.partition(b"\r\n\r\n")
    if not separator:
        return False
    _, headers = parse_response_head(head)
    return len(body) >= int(headers.get("content-length", "0"))


def parse_answer(data: bytes):
    head, _, body = data.partition(b"\r\n\r\n")
    status, headers = parse_response_head(head)
    return status, headers, body


def request_bytes(method: bytes, target: bytes, headers: bytes = b"", body: bytes = b"", version: bytes = b"HTTP/1.1") -> bytes:
    length = b"Content-Length: %d\r\n" % len(body) if body else b""
    return method + b" " + target + b" " + version + b"\r\nHost: 127.0.0.1\r\n" + headers + length + b"\r\n" + body


# --- raw TCP and the HTTP request head ---------------------------------------

# (case, bytes sent, expected status, expected error, whether the server closes)
HEAD_CASES = [
    ("random_bytes_seed_1", random.Random(1).randbytes(512), *MALFORMED, True),
    ("random_bytes_seed_2", random.Random(2).randbytes(512), *MALFORMED, True),
    ("random_line_then_blank", bytes(random.Random(3).choice(b"!#$%&'*+-.^_`|~ABCxyz09\x01\x7f") for _ in range(64)) + b"\r\n\r\n", *MALFORMED, True),
    ("tls_client_hello", bytes.fromhex("16030100a5010000a10303") + bytes(160), *MALFORMED, True),
    ("nul_bytes", bytes(64) + b"\r\n\r\n", *MALFORMED, True),
    ("header_20k", request_bytes(b"GET", b"/metrics", b"X-Big: " + b"a" * 20000 + b"\r\n"), 431, "Request header fields too large", True),
    ("headers_3000", request_bytes(b"GET", b"/metrics", b"".join(b"X-%d: y\r\n" % i for i in range(3000))), 431, "Request header fields too large", True),
    ("target_5000", request_bytes(b"GET", b"/" + b"a" * 5000), 414, "Request path too long", False),
    ("method_brew_on_ws", request_bytes(b"BREW", b"/ws"), 405, "WebSocket upgrade requires GET", True),
    ("method_lowercase", request_bytes(b"get", b"/metrics"), 405, "Method not allowed", False),
    ("method_put_metrics", request_bytes(b"PUT", b"/metrics"), 405, "Method not allowed", False),
    ("method_delete_broadcast", request_bytes(b"DELETE", BROADCAST, b"Authorization: " + AUTH + b"\r\n"), 405, "Method not allowed", False),
    ("method_get_broadcast", request_bytes(b"GET", BROADCAST, b"Authorization: " + AUTH + b"\r\n"), 404, "Client not found", False),
    ("options_asterisk", request_bytes(b"OPTIONS", b"*"), *MALFORMED, True),
    ("connect_authority", request_bytes(b"CONNECT", b"127.0.0.1:80"), *MALFORMED, True),
    ("absolute_form_target", request_bytes(b"GET", b"http://127.0.0.1/metrics"), *MALFORMED, True),
    ("http_0_9", b"GET /metrics\r\n\r\n", *MALFORMED, True),
    ("http_1_0_upgrade", request_bytes(b"GET", b"/ws", b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n", version=b"HTTP/1.0"), 400, "WebSocket upgrade requires HTTP/1.1", True),
    ("http_2_0", request_bytes(b"GET", b"/metrics", version=b"HTTP/2.0"), 505, "HTTP version not supported", True),
    ("bare_lf_lines", b"GET /metrics HTTP/1.1\nHost: x\n\n", *MALFORMED, True),
    ("header_without_colon", request_bytes(b"GET", b"/metrics", b"Broken header\r\n"), *MALFORMED, True),
    ("obsolete_line_folding", request_bytes(b"GET", b"/metrics", b"X-A: b\r\n  folded\r\n"), *MALFORMED, True),
    ("nul_in_header_value", request_bytes(b"GET", b"/metrics", b"X-A: b\x00c\r\n"), *MALFORMED, True),
    ("chunked_body", request_bytes(b"POST", BROADCAST, b"Authorization: " + AUTH + b"\r\nTransfer-Encoding: chunked\r\n") + b"0\r\n\r\n", 501, "Transfer-Encoding is not supported; send Content-Length", True),
    ("negative_content_length", request_bytes(b"POST", BROADCAST, b"Content-Length: -5\r\n"), *MALFORMED, True),
    ("two_content_lengths", request_bytes(b"POST", BROADCAST, b"Content-Length: 2\r\nContent-Length: 3\r\n") + b"{}", *MALFORMED, True),
    ("content_length_over_limit", request_bytes(b"POST", BROADCAST, b"Authorization: " + AUTH + b"\r\nContent-Length: 99999999\r\n"), 413, "Request body too large", True),
    ("upgrade_without_key", request_bytes(b"GET", b"/ws", b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"), 400, "Sec-WebSocket-Key must be base64 of 16 bytes", True),
    ("upgrade_short_key", request_bytes(b"GET", b"/ws", b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: AAAA\r\nSec-WebSocket-Version: 13\r\n"), 400, "Sec-WebSocket-Key must be base64 of 16 bytes", True),
    ("upgrade_version_8", request_bytes(b"GET", b"/ws", b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n"), 426, "Unsupported WebSocket version; use 13", True),
    ("upgrade_with_body", request_bytes(b"GET", b"/ws", b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n", b"{}"), 400, "WebSocket upgrade must not carry a body", True),
]


@pytest.mark.parametrize("case,data,status,error,closes", HEAD_CASES, ids=[case[0] for case in HEAD_CASES])
def test_bad_request_head_answered(server, case, data, status, error, closes):
    received, closed = exchange(server.port, data)
    assert received, f"{case}: no answer"
    got_status, headers, body = parse_answer(received)
    assert got_status == status
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"error": error}
    assert closed == closes


def test_truncated_head_then_eof_closed(server):
    received, closed = exchange(server.port, b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgr", shut_write=True)
    assert received == b""
    assert closed


def test_truncated_body_then_eof_closed(server):
    data = request_bytes(b"POST", BROADCAST, b"Authorization: " + AUTH + b"\r\nContent-Length: 100\r\n") + b'{"topic"'
    received, closed = exchange(server.port, data, shut_write=True)
    assert received == b""
    assert closed


# --- REST paths and bodies ---------------------------------------------------

PERCENT_CASES = [
    ("invalid_hex_digits", REST_PREFIX + "/%zz", "GET", *MALFORMED),
    ("truncated_escape", REST_PREFIX + "/abc%4", "GET", *MALFORMED),
    ("escape_at_end", REST_PREFIX + "/abc%", "GET", *MALFORMED),
    ("encoded_nul", REST_PREFIX + "/%00", "GET", 400, "Invalid percent-encoding in path"),
    ("invalid_room_escape", REST_PREFIX + "/rooms/%G1/send", "POST", *MALFORMED),
    ("encoded_nul_in_room", REST_PREFIX + "/rooms/a%00b/send", "POST", 400, "Invalid percent-encoding in path"),
    ("encoded_nul_in_disconnect", REST_PREFIX + "/%00/disconnect", "POST", 400, "Invalid percent-encoding in path"),
    ("path_too_long", REST_PREFIX + "/" + "a" * 4200, "GET", 414, "Request path too long"),
]


@pytest.mark.parametrize("case,path,method,status,error", PERCENT_CASES, ids=[case[0] for case in PERCENT_CASES])
def test_bad_percent_encoding_answered(server, case, path, method, status, error):
    body = {"topic": "t"} if method == "POST" else None
    response = http_request(server.port, method, path, body)
    assert response.status == status
    assert response.json() == {"error": error}


def nested(opening: str, closing: str, depth: int, inner: str = "") -> str:
    return opening * depth + inner + closing * depth


NOT_AN_OBJECT = (400, "Body must be a JSON object")
NO_TOPIC = (400, 'Body must have a string "topic"')

BODY_CASES = [
    ("nested_arrays_in_data", '{"topic":"t","data":' + nested("[", "]", NESTING) + "}", *NOT_AN_OBJECT),
    ("nested_objects_in_data", '{"topic":"t","data":' + nested('{"a":', "}", NESTING, "1") + "}", *NOT_AN_OBJECT),
    ("nested_arrays_at_root", nested("[", "]", NESTING), *NOT_AN_OBJECT),
    ("unclosed_nesting", "[" * NESTING, *NOT_AN_OBJECT),
    ("not_json", "topic=t", *NOT_AN_OBJECT),
    ("empty_body", "", *NOT_AN_OBJECT),
    ("json_array", '["topic","t"]', *NOT_AN_OBJECT),
    ("json_string", '"t"', *NOT_AN_OBJECT),
    ("json_null", "null", *NOT_AN_OBJECT),
    ("truncated_object", '{"topic":"t"', *NOT_AN_OBJECT),
    ("lone_surrogate", '{"topic":"t","data":"\\ud800"}', *NOT_AN_OBJECT),
    ("topic_missing", '{"data":1}', *NO_TOPIC),
    ("topic_number", '{"topic":5}', *NO_TOPIC),
    ("topic_null", '{"topic":null}', *NO_TOPIC),
    ("topic_array", '{"topic":["t"]}', *NO_TOPIC),
    ("topic_object", '{"topic":{"t":1}}', *NO_TOPIC),
    ("topic_bool", '{"topic":true}', *NO_TOPIC),
]
BODY_PATHS = ["/broadcast", "/rooms/public-1/send", "/00000000-0000-4000-8000-000000000000/send"]


@pytest.mark.parametrize("target", BODY_PATHS)
@pytest.mark.parametrize("case,body,status,error", BODY_CASES, ids=[case[0] for case in BODY_CASES])
def test_bad_rest_body_answered(server, target, case, body, status, error):
    response = http_request(server.port, "POST", REST_PREFIX + target, body)
    assert response.status == status
    assert response.json() == {"error": error}


def test_rest_body_with_invalid_utf8_rejected(server, healthy):
    # Messages travel in text frames, which RFC 6455 requires to be UTF-8.
    response = http_request(server.port, "POST", REST_PREFIX + "/broadcast", b'{"topic":"t","data":"\xc3\x28"}')
    if response.status == 200:
        # Take the relayed message off the healthy client's input, so the
        # check after this case gets its own broadcast.
        healthy.recv_frame()
    assert response.status == 400
    assert response.json() == {"error": "Body must be UTF-8 JSON"}


# --- WebSocket frames and application events ----------------------------------


def fresh_client(port: int, authenticated: bool) -> RawWebSocket:
    client = RawWebSocket(port)
    assert client.upgrade() == 101
    if authenticated:
        client.authenticate(TOKEN)
    return client


def outcome(client: RawWebSocket) -> list:
    """Everything the server sends in answer to what was just sent: JSON
    messages, then ("close", code), or "open" when it answers a ping sent
    after the case (frames are handled in order, so the pong comes last)."""
    marker = b"still-open"
    try:
        client.send_frame(OP_PING, marker)
    except OSError:
        pass  # already closed by the server; its close frame is read below
    answers = []
    try:
        while True:
            opcode, payload = client.recv_frame(timeout=5.0)
            if opcode == OP_CLOSE:
                answers.append(("close", int.from_bytes(payload[:2], "big") if payload else None))
                return answers
            if opcode == OP_PONG and payload == marker:
                answers.append("open")
                return answers
            answers.append(json.loads(payload))
    except ConnectionError:
        answers.append("eof")
    return answers


def error(message: str) -> dict:
    return {"event": "error", "data": {"message": message}}


INVALID_FORMAT = error("Invalid message format")
NOT_AUTHENTICATED = error("Not authenticated")
AUTH_FAILED = [error("Authentication failed"), ("close", 4003)]
HANDSHAKE_FAILED = [error("Encryption handshake failed"), ("close", 4004)]
INVALID_WRAPPER = error("Invalid encrypted payload")


def authenticate_with(**data) -> str:
    return json.dumps({"event": "authenticate", "data": data})


VALID_KEY = SessionCrypto().public_key_b64()
# The claims of TOKEN under {"alg": "none"} and an empty signature.
UNSIGNED_TOKEN = b64url(b'{"alg":"none","typ":"JWT"}') + "." + TOKEN.split(".")[1] + "."

BEFORE_AUTH_CASES = [
    ("text_not_json", "hello", [INVALID_FORMAT, "open"]),
    ("json_array", "[1,2]", [INVALID_FORMAT, "open"]),
    ("json_number", "5", [INVALID_FORMAT, "open"]),
    ("json_string", '"authenticate"', [INVALID_FORMAT, "open"]),
    ("json_null", "null", [INVALID_FORMAT, "open"]),
    ("empty_text", "", [INVALID_FORMAT, "open"]),
    ("deeply_nested", nested("[", "]", NESTING), [INVALID_FORMAT, "open"]),
    ("nested_in_data", '{"event":"join","data":' + nested("[", "]", NESTING) + "}", [INVALID_FORMAT, "open"]),
    ("event_missing", '{"data":{}}', [INVALID_FORMAT, "open"]),
    ("event_number", '{"event":1}', [INVALID_FORMAT, "open"]),
    ("event_null", '{"event":null}', [INVALID_FORMAT, "open"]),
    ("event_object", '{"event":{"name":"authenticate"}}', [INVALID_FORMAT, "open"]),
    ("event_array", '{"event":["authenticate"]}', [INVALID_FORMAT, "open"]),
    ("auth_without_data", '{"event":"authenticate"}', AUTH_FAILED),
    ("auth_data_string", '{"event":"authenticate","data":"token"}', AUTH_FAILED),
    ("auth_data_array", '{"event":"authenticate","data":[1]}', AUTH_FAILED),
    ("auth_data_null", '{"event":"authenticate","data":null}', AUTH_FAILED),
    ("auth_token_number", authenticate_with(token=5, clientPublicKey=VALID_KEY), AUTH_FAILED),
    ("auth_token_null", authenticate_with(token=None, clientPublicKey=VALID_KEY), AUTH_FAILED),
    ("auth_token_bool", authenticate_with(token=True, clientPublicKey=VALID_KEY), AUTH_FAILED),
    ("auth_token_object", authenticate_with(token={"sub": "x"}, clientPublicKey=VALID_KEY), AUTH_FAILED),
    ("auth_token_array", authenticate_with(token=[TOKEN], clientPublicKey=VALID_KEY), AUTH_FAILED),
    ("auth_token_empty", authenticate_with(token="", clientPublicKey=VALID_KEY), AUTH_FAILED),
    ("auth_token_two_parts", authenticate_with(token="a.b", clientPublicKey=VALID_KEY), AUTH_FAILED),
    ("auth_token_huge", authenticate_with(token="a." * 30000 + "b", clientPublicKey=VALID_KEY), AUTH_FAILED),
    ("auth_token_alg_none", authenticate_with(token=UNSIGNED_TOKEN, clientPublicKey=VALID_KEY), AUTH_FAILED),
    ("auth_key_missing", authenticate_with(token=TOKEN), HANDSHAKE_FAILED),
    ("auth_key_number", authenticate_with(token=TOKEN, clientPublicKey=4), HANDSHAKE_FAILED),
    ("auth_key_null", authenticate_with(token=TOKEN, clientPublicKey=None), HANDSHAKE_FAILED),
    ("auth_key_array", authenticate_with(token=TOKEN, clientPublicKey=[VALID_KEY]), HANDSHAKE_FAILED),
    ("auth_key_not_base64", authenticate_with(token=TOKEN, clientPublicKey="!!not base64!!"), HANDSHAKE_FAILED),
    ("auth_key_unpadded", authenticate_with(token=TOKEN, clientPublicKey=VALID_KEY.rstrip("=")), HANDSHAKE_FAILED),
    ("auth_key_64_bytes", authenticate_with(token=TOKEN, clientPublicKey=b64(b"\x04" + bytes(63))), HANDSHAKE_FAILED),
    ("auth_key_off_curve", authenticate_with(token=TOKEN, clientPublicKey=b64(b"\x04" + b"\x01" * 64)), HANDSHAKE_FAILED),
    ("auth_key_compressed", authenticate_with(token=TOKEN, clientPublicKey=b64(b"\x02" + b"\x01" * 32)), HANDSHAKE_FAILED),
    ("join_before_auth", '{"event":"join","data":{"rooms":["public-1"]}}', [NOT_AUTHENTICATED, "open"]),
    ("leave_before_auth", '{"event":"leave","data":{"rooms":["public-1"]}}', [NOT_AUTHENTICATED, "open"]),
    ("heartbeat_before_auth", '{"event":"heartbeat"}', [NOT_AUTHENTICATED, "open"]),
    ("wrapper_before_auth", '{"event":"encrypted","data":{"iv":"AAAAAAAAAAAAAAAA","ct":"AAAAAAAAAAAAAAAAAAAAAA=="}}', [NOT_AUTHENTICATED, "open"]),
]


@pytest.mark.parametrize("case,text,expected", BEFORE_AUTH_CASES, ids=[case[0] for case in BEFORE_AUTH_CASES])
def test_bad_event_before_auth_answered(server, case, text, expected):
    client = fresh_client(server.port, authenticated=False)
    client.send_text(text)
    assert outcome(client) == expected
    client.close()


AFTER_AUTH_CASES = [
    ("second_authenticate", authenticate_with(token=TOKEN, clientPublicKey=VALID_KEY), [error("Already authenticated"), "open"]),
    ("unknown_event", '{"event":"subscribe","data":{"rooms":["public-1"]}}', ["open"]),
    ("wrapper_data_missing", '{"event":"encrypted"}', [INVALID_WRAPPER, "open"]),
    ("wrapper_data_string", '{"event":"encrypted","data":"AAAA"}', [INVALID_WRAPPER, "open"]),
    ("wrapper_data_array", '{"event":"encrypted","data":["AAAAAAAAAAAAAAAA","AAAA"]}', [INVALID_WRAPPER, "open"]),
    ("wrapper_iv_missing", '{"event":"encrypted","data":{"ct":"AAAAAAAAAAAAAAAAAAAAAA=="}}', [INVALID_WRAPPER, "open"]),
    ("wrapper_iv_number", '{"event":"encrypted","data":{"iv":12,"ct":"AAAAAAAAAAAAAAAAAAAAAA=="}}', [INVALID_WRAPPER, "open"]),
    ("wrapper_iv_null", '{"event":"encrypted","data":{"iv":null,"ct":"AAAAAAAAAAAAAAAAAAAAAA=="}}', [INVALID_WRAPPER, "open"]),
    ("wrapper_iv_8_bytes", '{"event":"encrypted","data":{"iv":"AAAAAAAAAAA=","ct":"AAAAAAAAAAAAAAAAAAAAAA=="}}', [INVALID_WRAPPER, "open"]),
    ("wrapper_iv_with_space", '{"event":"encrypted","data":{"iv":"AAAA AAAAAAAAAAA","ct":"AAAAAAAAAAAAAAAAAAAAAA=="}}', [INVALID_WRAPPER, "open"]),
    ("wrapper_ct_missing", '{"event":"encrypted","data":{"iv":"AAAAAAAAAAAAAAAA"}}', [INVALID_WRAPPER, "open"]),
    ("wrapper_ct_object", '{"event":"encrypted","data":{"iv":"AAAAAAAAAAAAAAAA","ct":{}}}', [INVALID_WRAPPER, "open"]),
    ("wrapper_ct_under_16_bytes", '{"event":"encrypted","data":{"iv":"AAAAAAAAAAAAAAAA","ct":"AAAA"}}', [INVALID_WRAPPER, "open"]),
    ("wrapper_ct_url_alphabet", '{"event":"encrypted","data":{"iv":"AAAAAAAAAAAAAAAA","ct":"____________________AA=="}}', [INVALID_WRAPPER, "open"]),
    ("wrapper_wrong_tag", '{"event":"encrypted","data":{"iv":"AAAAAAAAAAAAAAAA","ct":"AAAAAAAAAAAAAAAAAAAAAA=="}}', [INVALID_WRAPPER, "open"]),
]

# Joins and leaves with wrong types are dropped without an answer; the
# client's rooms must stay its own id and the default rooms.
ROOM_CASES = [
    ("join_without_data", '{"event":"join"}'),
    ("join_data_string", '{"event":"join","data":"public-1"}'),
    ("join_data_array", '{"event":"join","data":["public-1"]}'),
    ("join_rooms_string", '{"event":"join","data":{"rooms":"public-1"}}'),
    ("join_rooms_object", '{"event":"join","data":{"rooms":{"public-1":true}}}'),
    ("join_room_number", '{"event":"join","data":{"rooms":[1]}}'),
    ("join_room_null", '{"event":"join","data":{"rooms":[null]}}'),
    ("join_room_nested_array", '{"event":"join","data":{"rooms":[["public-1"]]}}'),
    ("join_room_empty_name", '{"event":"join","data":{"rooms":[""]}}'),
    ("join_room_257_chars", json.dumps({"event": "join", "data": {"rooms": ["public-" + "a" * 250]}})),
    ("join_reserved_prefix", '{"event":"join","data":{"rooms":["ws:broadcast"]}}'),
    ("join_room_not_allowed", '{"event":"join","data":{"rooms":["private-1"]}}'),
    ("leave_rooms_number", '{"event":"leave","data":{"rooms":5}}'),
    ("leave_own_room", None),  # filled in with the client's id below
    ("leave_room_null", '{"event":"leave","data":{"rooms":[null]}}'),
]


@pytest.mark.parametrize("case,text,expected", AFTER_AUTH_CASES, ids=[case[0] for case in AFTER_AUTH_CASES])
def test_bad_event_after_auth_answered(server, case, text, expected):
    client = fresh_client(server.port, authenticated=True)
    client.send_text(text)
    assert outcome(client) == expected
    client.close()


@pytest.mark.parametrize("case,text", ROOM_CASES, ids=[case[0] for case in ROOM_CASES])
def test_bad_room_event_dropped(server, case, text):
    client = fresh_client(server.port, authenticated=True)
    if text is None:
        # Leaving one's own room is not refused by the protocol; it is the
        # one leave in this table that changes the rooms.
        text = json.dumps({"event": "leave", "data": {"rooms": [client.client_id]}})
        expected_rooms = ["ws-default", "ws-notification"]
    else:
        expected_rooms = [client.client_id, "ws-default", "ws-notification"]
    client.send_sealed(*unwrap(text))
    client.send_text(text)
    assert outcome(client) == ["open"]
    rooms = http_request(server.port, "GET", client_path(client.client_id)).json()["rooms"]
    assert sorted(rooms) == sorted(expected_rooms)
    client.close()


def unwrap(text: str):
    """(event, data) of an envelope, for sending it sealed as well."""
    envelope = json.loads(text)
    return envelope["event"], envelope.get("data")


SEALED_INNER_CASES = [
    ("inner_not_json", b"not json", [INVALID_FORMAT, "open"]),
    ("inner_array", b"[1]", [INVALID_FORMAT, "open"]),
    ("inner_event_missing", b'{"data":1}', [INVALID_FORMAT, "open"]),
    ("inner_event_number", b'{"event":7}', [INVALID_FORMAT, "open"]),
    ("inner_deeply_nested", nested("[", "]", NESTING).encode(), [INVALID_FORMAT, "open"]),
    ("inner_wrapper", b'{"event":"encrypted","data":{"iv":"AAAAAAAAAAAAAAAA","ct":"AAAAAAAAAAAAAAAAAAAAAA=="}}', [INVALID_WRAPPER, "open"]),
    ("inner_authenticate", b'{"event":"authenticate","data":{}}', [error("Already authenticated"), "open"]),
    ("inner_empty", b"", [INVALID_FORMAT, "open"]),
]


@pytest.mark.parametrize("case,inner,expected", SEALED_INNER_CASES, ids=[case[0] for case in SEALED_INNER_CASES])
def test_bad_sealed_envelope_answered(server, case, inner, expected):
    client = fresh_client(server.port, authenticated=True)
    iv = os.urandom(12)
    sealed = client.crypto.aead.encrypt(iv, inner, None)
    client.send_json({"event": "encrypted", "data": {"iv": b64(iv), "ct": b64(sealed)}})
    assert outcome(client) == expected
    client.close()


def frame_with_rsv1(payload: bytes) -> bytes:
    frame = bytearray(encode_frame(OP_TEXT, payload))
    frame[0] |= 0x40
    return bytes(frame)


FRAME_CASES = [
    ("unmasked_frame", encode_frame(OP_TEXT, b'{"event":"heartbeat"}', masked=False), 1002),
    ("reserved_opcode_3", encode_frame(0x3, b"x"), 1002),
    ("reserved_opcode_11", encode_frame(0xB, b"x"), 1002),
    ("rsv1_without_extension", frame_with_rsv1(b'{"event":"heartbeat"}'), 1002),
    ("fragmented_ping", encode_frame(OP_PING, b"x", fin=False), 1002),
    ("ping_over_125_bytes", encode_frame(OP_PING, b"x" * 126), 1002),
    ("continuation_without_start", encode_frame(OP_CONT, b"x"), 1002),
    ("text_inside_fragmented_text", encode_frame(OP_TEXT, b"{", fin=False) + encode_frame(OP_TEXT, b"}"), 1002),
    ("invalid_utf8_text", encode_frame(OP_TEXT, b'{"event":"\xff"}'), 1007),
    ("overlong_utf8_text", encode_frame(OP_TEXT, b'{"event":"\xc0\xaf"}'), 1007),
    ("surrogate_utf8_text", encode_frame(OP_TEXT, b'{"event":"\xed\xa0\x80"}'), 1007),
    ("message_over_limit", encode_frame(OP_TEXT, b" " * (128 * 1024 + 1)), 1009),
    ("fragments_over_limit", encode_frame(OP_TEXT, b" " * (64 * 1024), fin=False) + encode_frame(OP_CONT, b" " * (64 * 1024 + 1)), 1009),
    ("close_code_1005", encode_frame(OP_CLOSE, (1005).to_bytes(2, "big")), 1002),
    ("close_code_999", encode_frame(OP_CLOSE, (999).to_bytes(2, "big")), 1002),
    ("close_one_byte_payload", encode_frame(OP_CLOSE, b"\x03"), 1002),
    ("close_reason_not_utf8", encode_frame(OP_CLOSE, (1000).to_bytes(2, "big") + b"\xff"), 1007),
]


@pytest.mark.parametrize("authenticated", [False, True], ids=["before_auth", "after_auth"])
@pytest.mark.parametrize("case,data,code", FRAME_CASES, ids=[case[0] for case in FRAME_CASES])
def test_bad_frame_closed_with_code(server, case, data, code, authenticated):
    client = fresh_client(server.port, authenticated)
    client.sock.sendall(data)
    assert outcome(client) == [("close", code)]
    client.close()


def test_binary_message_read_as_text(server):
    client = fresh_client(server.port, authenticated=False)
    client.send_frame(OP_BINARY, b'{"event":"join","data":{"rooms":["public-1"]}}')
    assert outcome(client) == [NOT_AUTHENTICATED, "open"]
    client.close()


def test_closed_client_left_no_trace(server):
    """After all cases, only the healthy client is still listed: closed
    clients are unlisted once the server has seen their EOF."""
    deadline = time.monotonic() + 3.0
    while True:
        clients = http_request(server.port, "GET", REST_PREFIX + "/").json()["clients"]
        if len(clients) == 1 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert [client["userId"] for client in clients] == ["healthy"]
