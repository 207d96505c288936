"""A raw-socket WebSocket and HTTP/1.1 client for the conformance tests.

It sends exactly the bytes a test requests and checks what the server
sends back against RFC 6455: server frames unmasked, no RSV bits, control
frames whole, and every close frame with a code that may be sent, arriving
before the server closes TCP.
"""

import dataclasses
import json
import select
import socket
import time

import rfc6455
from rfc6455 import Frame

TIMEOUT_S = 5.0


@dataclasses.dataclass
class Target:
    """The server under test and the limits it was started with."""

    host: str
    port: int
    ws_path: str
    max_message_bytes: int
    max_header_bytes: int
    max_body_bytes: int
    jwt_secret: str

    @property
    def host_header(self) -> str:
        return f"{self.host}:{self.port}"


class ServerClosedError(AssertionError):
    """The server closed TCP while the test still expected a frame."""


@dataclasses.dataclass
class HttpResponse:
    version: str
    status: int
    reason: str
    headers: dict[str, str]  # lower-case names; repeated names joined by ", "
    body: bytes

    def json(self):
        return json.loads(self.body.decode("utf-8"))


def connect(target: Target) -> socket.socket:
    sock = socket.create_connection((target.host, target.port), timeout=TIMEOUT_S)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def send_ignoring_reset(sock: socket.socket, data: bytes) -> bool:
    """Send data; return False when the server had already closed."""
    try:
        sock.sendall(data)
        return True
    except (BrokenPipeError, ConnectionResetError):
        return False


def build_request(method: str, path: str, headers: list[tuple[str, str]],
                  version: str = "HTTP/1.1", body: bytes = b"") -> bytes:
    lines = [f"{method} {path} {version}"]
    lines += [f"{name}: {value}" for name, value in headers]
    head = "\r\n".join(lines) + "\r\n\r\n"
    return head.encode("latin-1") + body


def upgrade_headers(target: Target, key: str | None = None) -> list[tuple[str, str]]:
    """Return the header fields of a valid opening handshake, in order."""
    return [
        ("Host", target.host_header),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", key or rfc6455.new_key()),
        ("Sec-WebSocket-Version", "13"),
    ]


def read_http_response(sock: socket.socket, buffer: bytearray,
                       expect_body: bool = True) -> HttpResponse:
    """Read one response; bytes after it stay in buffer.

    The body is read by Content-Length, or up to the server's TCP close when
    there is none. A 101 response has no body.
    """
    deadline = time.monotonic() + TIMEOUT_S
    while b"\r\n\r\n" not in buffer:
        chunk = _recv_before(sock, deadline, "an HTTP response head")
        if not chunk:
            raise ServerClosedError(
                f"server closed TCP before a complete response head; received {bytes(buffer)!r}")
        buffer += chunk
    head_end = buffer.index(b"\r\n\r\n")
    head = bytes(buffer[:head_end]).decode("latin-1")
    del buffer[:head_end + 4]

    status_line, *header_lines = head.split("\r\n")
    version, status, *reason = status_line.split(" ", 2)
    headers: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        value = value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value

    body = b""
    status_code = int(status)
    if expect_body and status_code != 101:
        if "content-length" in headers:
            length = int(headers["content-length"])
            while len(buffer) < length:
                chunk = _recv_before(sock, deadline, "the response body")
                if not chunk:
                    raise ServerClosedError(
                        f"server closed TCP after {len(buffer)} of {length} body bytes")
                buffer += chunk
            body = bytes(buffer[:length])
            del buffer[:length]
        else:
            while chunk := _recv_before(sock, deadline, "the end of the response body"):
                buffer += chunk
            body = bytes(buffer)
            buffer.clear()
    return HttpResponse(version, status_code, reason[0] if reason else "", headers, body)


def http_exchange(target: Target, raw_request: bytes) -> HttpResponse:
    """Send a raw request on a new connection and read the response."""
    with connect(target) as sock:
        send_ignoring_reset(sock, raw_request)
        return read_http_response(sock, bytearray())


def _recv_before(sock: socket.socket, deadline: float, what: str) -> bytes:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise AssertionError(f"timed out after {TIMEOUT_S} s waiting for {what}")
    sock.settimeout(remaining)
    try:
        return sock.recv(65536)
    except socket.timeout:
        raise AssertionError(f"timed out after {TIMEOUT_S} s waiting for {what}") from None
    except ConnectionResetError:
        return b""


class WebSocket:
    """One client connection after a successful opening handshake."""

    def __init__(self, sock: socket.socket, leftover: bytes = b""):
        self.sock = sock
        self.buffer = bytearray(leftover)

    @classmethod
    def open(cls, target: Target) -> "WebSocket":
        """Connect and complete the opening handshake, asserting a valid 101."""
        sock = connect(target)
        key = rfc6455.new_key()
        sock.sendall(build_request("GET", target.ws_path, upgrade_headers(target, key)))
        buffer = bytearray()
        response = read_http_response(sock, buffer)
        check_upgrade_response(response, key)
        return cls(sock, bytes(buffer))

    def close_socket(self) -> None:
        self.sock.close()

    def __enter__(self) -> "WebSocket":
        return self

    def __exit__(self, *exc) -> None:
        self.close_socket()

    # Sending.

    def send_raw(self, data: bytes) -> bool:
        return send_ignoring_reset(self.sock, data)

    def send_frame(self, opcode: int, payload: bytes = b"", **options) -> bool:
        return self.send_raw(rfc6455.encode_frame(opcode, payload, **options))

    def send_text(self, payload: bytes | str) -> bool:
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        return self.send_frame(rfc6455.OP_TEXT, payload)

    def send_close(self, code: int | None = None, reason: bytes = b"") -> bool:
        return self.send_frame(rfc6455.OP_CLOSE, rfc6455.close_payload(code, reason))

    # Receiving.

    def recv_frame(self, timeout: float = TIMEOUT_S) -> Frame:
        """Read one frame and check the rules every server frame must follow."""
        deadline = time.monotonic() + timeout
        while True:
            frame, used = rfc6455.decode_frame(self.buffer)
            if frame is not None:
                del self.buffer[:used]
                check_server_frame(frame)
                return frame
            chunk = _recv_before(self.sock, deadline, "a frame from the server")
            if not chunk:
                raise ServerClosedError(
                    "server closed TCP without sending a close frame"
                    + (f" ({len(self.buffer)} bytes of a partial frame received)" if self.buffer else ""))
            self.buffer += chunk

    def recv_message(self, timeout: float = TIMEOUT_S) -> tuple[int, bytes]:
        """Read one data message, asserting that no control frame comes first."""
        frame = self.recv_frame(timeout)
        assert frame.opcode in (rfc6455.OP_TEXT, rfc6455.OP_BINARY), (
            f"expected a data message, got opcode {frame.opcode:#x} with payload {frame.payload[:80]!r}")
        opcode, parts = frame.opcode, [frame.payload]
        while not frame.fin:
            frame = self.recv_frame(timeout)
            assert frame.opcode == rfc6455.OP_CONTINUATION, (
                f"expected a continuation frame, got opcode {frame.opcode:#x}")
            parts.append(frame.payload)
        return opcode, b"".join(parts)

    def recv_json(self, timeout: float = TIMEOUT_S):
        opcode, payload = self.recv_message(timeout)
        assert opcode == rfc6455.OP_TEXT, f"server sent opcode {opcode:#x}; it must send text frames only"
        return json.loads(payload.decode("utf-8"))

    def expect_error_event(self, message: str) -> None:
        """Assert that the next frame is the envelope {"event":"error", ...}."""
        envelope = self.recv_json()
        assert envelope.get("event") == "error", f"expected an error event, got {envelope!r}"
        assert envelope.get("data") == {"message": message}, (
            f"expected error message {message!r}, got {envelope!r}")

    def expect_pong(self, payload: bytes) -> None:
        frame = self.recv_frame()
        assert frame.opcode == rfc6455.OP_PONG, (
            f"expected a pong, got opcode {frame.opcode:#x} with payload {frame.payload[:80]!r}")
        assert frame.payload == payload, f"pong payload {frame.payload!r} differs from ping payload {payload!r}"

    def expect_silence(self, seconds: float = 0.5) -> None:
        """Assert that the server sends nothing and keeps TCP open for a while."""
        assert not self.buffer, f"unexpected bytes from the server: {bytes(self.buffer)!r}"
        readable, _, _ = select.select([self.sock], [], [], seconds)
        if readable:
            self.sock.settimeout(TIMEOUT_S)
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                data = b""
            assert data, "server closed TCP where it should have kept the connection"
            self.buffer += data
            frame, _ = rfc6455.decode_frame(self.buffer)
            raise AssertionError(f"unexpected frame from the server: {frame!r}")

    def expect_close(self, code: int | None, *, reply: bool = True) -> None:
        """Assert that the server closes with code, then closes TCP.

        code None expects a close frame without a payload. The code is
        compared exactly, and the close frame must be the next frame. With
        reply set the test sends a close frame back, as RFC 6455 section
        5.5.1 requires of an endpoint.
        """
        frame = self.recv_frame()
        assert frame.opcode == rfc6455.OP_CLOSE, f"expected a close frame with code {code}, first got {frame!r}"
        actual = frame.close_code()
        assert len(frame.payload) != 1, f"server sent a close payload of 1 byte: {frame.payload!r}"
        assert actual not in rfc6455.FORBIDDEN_CLOSE_CODES, (
            f"server sent close code {actual}, which must never appear in a close frame")
        assert actual == code, (
            f"expected close code {code}, got {actual} (reason {frame.close_reason()!r})")
        reason = frame.close_reason()
        try:
            reason.decode("utf-8")
        except UnicodeDecodeError:
            raise AssertionError(f"server close reason is not valid UTF-8: {reason!r}") from None

        if reply:
            self.send_raw(rfc6455.encode_frame(rfc6455.OP_CLOSE, rfc6455.close_payload(actual)))
        self.expect_tcp_close()

    def expect_tcp_close(self, timeout: float = TIMEOUT_S) -> None:
        """Assert that the server closes TCP without sending anything more."""
        assert not self.buffer, f"server sent bytes after its close frame: {bytes(self.buffer)!r}"
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"server kept TCP open {timeout} s after the close handshake")
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                return
            if not data:
                return
            raise AssertionError(f"server sent bytes after its close frame: {data[:80]!r}")


def check_upgrade_response(response: HttpResponse, key: str) -> None:
    assert response.status == 101, (
        f"expected 101 Switching Protocols, got {response.status} {response.reason}: {response.body[:200]!r}")
    assert response.headers.get("upgrade", "").lower() == "websocket", (
        f"Upgrade header is {response.headers.get('upgrade')!r}, expected websocket")
    connection_tokens = [t.strip().lower() for t in response.headers.get("connection", "").split(",")]
    assert "upgrade" in connection_tokens, (
        f"Connection header is {response.headers.get('connection')!r}, expected the upgrade token")
    expected = rfc6455.accept_key(key)
    assert response.headers.get("sec-websocket-accept") == expected, (
        f"Sec-WebSocket-Accept is {response.headers.get('sec-websocket-accept')!r}, expected {expected!r}")


def check_server_frame(frame: Frame) -> None:
    assert not frame.masked, f"server frame is masked: {frame!r}"
    assert frame.rsv == 0, f"server frame has RSV bits {frame.rsv:#b} without a negotiated extension"
    assert frame.opcode in (0x0, 0x1, 0x2, 0x8, 0x9, 0xA), f"server frame uses reserved opcode {frame.opcode:#x}"
    if rfc6455.is_control(frame.opcode):
        assert frame.fin, f"server sent a fragmented control frame: {frame!r}"
        assert len(frame.payload) <= 125, f"server control frame has {len(frame.payload)} bytes of payload"


# A well-formed envelope that the server must reject with the error event
# "Not authenticated" before authentication. The error event proves that the
# whole message arrived and was parsed. A heartbeat cannot serve because
# the server sends no reply to it.
PROBE_PREFIX = b'{"event":"join","data":{"rooms":["conformance"]}'
NOT_AUTHENTICATED = "Not authenticated"
INVALID_FORMAT = "Invalid message format"


def probe_envelope(length: int) -> bytes:
    """Return the probe envelope padded with spaces to exactly length bytes."""
    padding = length - len(PROBE_PREFIX) - 1
    if padding < 0:
        raise ValueError(f"the probe envelope needs at least {len(PROBE_PREFIX) + 1} bytes, not {length}")
    return PROBE_PREFIX + b" " * padding + b"}"
