"""Client side of the signal-server wire protocol, shared by the stress
test, the robustness suite and the soak.

It has HS256 tokens, the ECDH key exchange and AES-256-GCM wrappers, an
asyncio client on python3-websockets, and a blocking raw-socket WebSocket
for clients that misbehave on purpose. It also has small HTTP clients for
the REST API and a launcher for the daemon that waits for its
`event=listening` line and keeps its stderr in a file.

Written from the wire protocol description only; no server code is shared.
"""

import asyncio
import base64
import hashlib
import hmac
import json
import os
import re
import select
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import urllib.parse

import websockets
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

REST_PREFIX = "/v1/api/socket/websocket/clients"
HKDF_INFO = b"ignis-ecdh-p256-aes-256-gcm-v1"
ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin-password"
JWT_SECRET = "stress-secret"
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

# Lines that sanitizer runtimes print when they find a fault.
SANITIZER_MARKERS = ("ThreadSanitizer", "AddressSanitizer", "LeakSanitizer", "runtime error")

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


# --- tokens and encryption ---------------------------------------------------


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def mint_token(secret: str, sub: str = "user-1", lifetime_s: int = 3600, **claims) -> str:
    """Return an HS256 JWT for `sub`, valid from now for lifetime_s."""
    now = int(time.time())
    header = {"alg": "HS256", "typ": "JWT"}
    payload = {"sub": sub, "iat": now, "exp": now + lifetime_s, **claims}
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(payload).encode())
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(signature)


class SessionCrypto:
    """One client's ephemeral P-256 key and, after `connected`, its AES-256-GCM key."""

    def __init__(self):
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.aead = None

    def public_key_b64(self) -> str:
        raw = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64(raw)

    def derive(self, server_public_b64: str, salt_b64: str) -> None:
        peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), base64.b64decode(server_public_b64))
        shared = self.private_key.exchange(ec.ECDH(), peer)
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=base64.b64decode(salt_b64), info=HKDF_INFO).derive(shared)
        self.aead = AESGCM(key)

    def seal(self, event: str, data=None) -> dict:
        inner = {"event": event}
        if data is not None:
            inner["data"] = data
        iv = os.urandom(12)
        ct = self.aead.encrypt(iv, json.dumps(inner).encode(), None)
        return {"event": "encrypted", "data": {"iv": b64(iv), "ct": b64(ct)}}

    def open(self, wrapper_data: dict) -> dict:
        """Decrypt a wrapper's data; raises on a bad tag or bad base64."""
        iv = base64.b64decode(wrapper_data["iv"], validate=True)
        ct = base64.b64decode(wrapper_data["ct"], validate=True)
        if len(iv) != 12:
            raise ValueError(f"iv is {len(iv)} bytes, expected 12")
        return json.loads(self.aead.decrypt(iv, ct, None))


def authenticate_message(token: str, crypto: "SessionCrypto | None") -> dict:
    data = {"token": token}
    if crypto is not None:
        data["clientPublicKey"] = crypto.public_key_b64()
    return {"event": "authenticate", "data": data}


# --- asyncio client ----------------------------------------------------------


class ProtocolError(Exception):
    """The server sent something the protocol does not allow."""


class AsyncClient:
    """An encrypted client on python3-websockets.

    Events from the server are decrypted as they are read; `error` and
    `connected` arrive in clear, everything else must be a wrapper.
    """

    def __init__(self, port: int, path: str = "/ws"):
        self.port = port
        self.url = f"ws://127.0.0.1:{port}{path}"
        self.ws = None
        self.crypto = SessionCrypto()
        self.client_id = None

    async def connect(self, timeout: float = 10.0, rcvbuf: int = 0):
        """Open the WebSocket; rcvbuf > 0 sets a small SO_RCVBUF before the
        TCP handshake, so a client that stops reading backs up quickly."""
        sock = None
        if rcvbuf:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            sock.setblocking(False)
            await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", self.port)), timeout)
        self.ws = await asyncio.wait_for(
            websockets.connect(self.url, sock=sock, ping_interval=None, max_size=None, close_timeout=2, open_timeout=timeout),
            timeout,
        )
        return self

    async def authenticate(self, token: str, timeout: float = 10.0) -> dict:
        await self.ws.send(json.dumps(authenticate_message(token, self.crypto)))
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        message = json.loads(raw)
        if message.get("event") != "connected":
            raise ProtocolError(f"expected connected, got {raw[:200]}")
        data = message["data"]
        self.crypto.derive(data["serverPublicKey"], data["salt"])
        self.client_id = data["id"]
        return data

    async def send_sealed(self, event: str, data=None):
        await self.ws.send(json.dumps(self.crypto.seal(event, data)))

    async def send_plain(self, message):
        await self.ws.send(message if isinstance(message, (str, bytes)) else json.dumps(message))

    async def recv_event(self, timeout: float = 10.0) -> dict:
        """Return the next event, decrypted; `error` is returned as it came."""
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        message = json.loads(raw)
        if message.get("event") == "encrypted":
            return self.crypto.open(message["data"])
        if message.get("event") in ("error", "connected"):
            return message
        raise ProtocolError(f"unencrypted event after authentication: {raw[:200]}")

    async def close(self):
        if self.ws is not None:
            await self.ws.close()

    def abort(self):
        """Drop the TCP connection without a close handshake."""
        if self.ws is not None and self.ws.transport is not None:
            self.ws.transport.abort()


async def connect_authenticated(port: int, secret: str, sub: str = "user-1") -> AsyncClient:
    client = await AsyncClient(port).connect()
    await client.authenticate(mint_token(secret, sub))
    return client


# --- HTTP clients for the REST API -------------------------------------------


def basic_header(user: str = ADMIN_USER, password: str = ADMIN_PASSWORD) -> str:
    return "Basic " + b64(f"{user}:{password}".encode())


def parse_response_head(head: bytes):
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return status, headers


class HttpResponse:
    def __init__(self, status: int, headers: dict, body: bytes):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"HttpResponse({self.status}, {self.body[:200]!r})"


def format_request(port: int, method: str, path: str, body=None, headers=None, auth=True, keep_alive=False) -> bytes:
    """Return the bytes of one HTTP/1.1 request; a body that is not bytes
    or str is sent as JSON."""
    request_headers = {"Host": f"127.0.0.1:{port}"}
    if not keep_alive:
        request_headers["Connection"] = "close"
    if auth:
        request_headers["Authorization"] = basic_header()
    if body is not None:
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        request_headers["Content-Type"] = "application/json"
        request_headers["Content-Length"] = str(len(body))
    request_headers.update(headers or {})
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in request_headers.items()) + "\r\n"
    return head.encode() + (body or b"")


def http_request(port: int, method: str, path: str, body=None, headers=None, auth=True, timeout: float = 10.0) -> HttpResponse:
    """Send one request on a fresh connection and read the whole response."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(format_request(port, method, path, body, headers, auth))
        return read_http_response(sock, timeout)


class RestConnection:
    """A keep-alive connection for many requests in a row, or pipelined."""

    def __init__(self, port: int, timeout: float = 10.0):
        self.port = port
        self.timeout = timeout
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.reader = BufferedSocket(self.sock)

    def send(self, method: str, path: str, body=None, auth=True):
        self.sock.sendall(format_request(self.port, method, path, body, auth=auth, keep_alive=True))

    def send_pipelined(self, method: str, path: str, bodies):
        """Send one request per body in a single write, so the server reads
        them together."""
        data = b"".join(format_request(self.port, method, path, body, keep_alive=True) for body in bodies)
        self.sock.sendall(data)

    def receive(self) -> HttpResponse:
        return self.reader.read_response(self.timeout)

    def request(self, method: str, path: str, body=None, auth=True) -> HttpResponse:
        self.send(method, path, body, auth)
        return self.receive()

    def close(self):
        self.sock.close()


class BufferedSocket:
    """Reads HTTP responses from a socket, keeping bytes that belong to the
    next response."""

    def __init__(self, sock: socket.socket, data: bytes = b""):
        self.sock = sock
        self.data = data

    def fill(self, deadline: float):
        self.sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed in the middle of a response; got {self.data[:200]!r}")
        self.data += chunk

    def read_response(self, timeout: float = 10.0) -> HttpResponse:
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.data:
            self.fill(deadline)
        head, _, self.data = self.data.partition(b"\r\n\r\n")
        status, headers = parse_response_head(head)
        length = int(headers.get("content-length", "0"))
        while len(self.data) < length:
            self.fill(deadline)
        body, self.data = self.data[:length], self.data[length:]
        return HttpResponse(status, headers, body)


def read_http_response(sock: socket.socket, timeout: float = 10.0) -> HttpResponse:
    """Read one response with a Content-Length body from a blocking socket."""
    return BufferedSocket(sock).read_response(timeout)


async def async_http_request(port: int, method: str, path: str, body=None, auth=True, timeout: float = 10.0) -> HttpResponse:
    """The asyncio twin of http_request: one request per connection."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    try:
        payload = b""
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
        if auth:
            lines.append("Authorization: " + basic_header())
        if body is not None:
            payload = json.dumps(body).encode()
            lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        status, headers = parse_response_head(head[:-4])
        length = int(headers.get("content-length", "0"))
        content = await asyncio.wait_for(reader.readexactly(length), timeout)
        return HttpResponse(status, headers, content)
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (ConnectionError, OSError):
            pass


async def async_pipelined_requests(port: int, method: str, path: str, bodies, timeout: float = 30.0) -> list:
    """Send one request per JSON body in a single write on one keep-alive
    connection; return the responses in order."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    try:
        writer.write(b"".join(format_request(port, method, path, body, keep_alive=True) for body in bodies))
        responses = []
        for _ in bodies:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
            status, headers = parse_response_head(head[:-4])
            content = await asyncio.wait_for(reader.readexactly(int(headers.get("content-length", "0"))), timeout)
            responses.append(HttpResponse(status, headers, content))
        return responses
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (ConnectionError, OSError):
            pass


def client_path(client_id: str, action: str = "") -> str:
    path = f"{REST_PREFIX}/{urllib.parse.quote(client_id, safe='')}"
    return path + ("/" + action if action else "")


def room_send_path(room: str) -> str:
    return f"{REST_PREFIX}/rooms/{urllib.parse.quote(room, safe='')}/send"


def read_metric(port: int, name: str) -> float:
    """Return the value of an unlabelled metric from /metrics."""
    text = http_request(port, "GET", "/metrics", auth=False).body.decode()
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    if match is None:
        raise AssertionError(f"metric {name} not found in /metrics")
    return float(match.group(1))


# --- raw-socket WebSocket ----------------------------------------------------


class RawWebSocket:
    """A blocking WebSocket on a plain socket, framed by hand, for clients
    that stop reading, never reply to pings or send malformed data."""

    def __init__(self, port: int, rcvbuf: int = 0, path: str = "/ws", timeout: float = 10.0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            # Set before connect so the advertised window stays small.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        self.port = port
        self.path = path
        self.buffer = b""
        self.crypto = None
        self.client_id = None

    def upgrade(self, extra_headers: str = "") -> int:
        """Send the upgrade request; return the response status."""
        key = b64(os.urandom(16))
        request = (
            f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{extra_headers}\r\n"
        )
        self.sock.sendall(request.encode())
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed during the upgrade")
            self.buffer += chunk
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        status, headers = parse_response_head(head)
        self.response_headers = headers
        self.response_body = b""
        if status != 101:
            reader = BufferedSocket(self.sock, self.buffer)
            length = int(headers.get("content-length", "0"))
            while len(reader.data) < length:
                reader.fill(time.monotonic() + 10)
            self.response_body = reader.data[:length]
        if status == 101:
            expected = b64(hashlib.sha1(key.encode() + WS_GUID).digest())
            if headers.get("sec-websocket-accept") != expected:
                raise ProtocolError(f"Sec-WebSocket-Accept {headers.get('sec-websocket-accept')!r}, expected {expected!r}")
        return status

    def send_frame(self, opcode: int, payload: bytes, fin: bool = True, masked: bool = True):
        self.sock.sendall(encode_frame(opcode, payload, fin, masked))

    def send_text(self, text):
        self.send_frame(OP_TEXT, text.encode() if isinstance(text, str) else text)

    def send_json(self, message):
        self.send_text(json.dumps(message))

    def recv_frame(self, timeout: float = 10.0):
        """Return (opcode, payload) of the next frame; raises TimeoutError or ConnectionError."""
        deadline = time.monotonic() + timeout
        while True:
            frame = decode_frame(self.buffer)
            if frame is not None:
                opcode, payload, used = frame
                self.buffer = self.buffer[used:]
                return opcode, payload
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no complete frame in time")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout as exc:
                raise TimeoutError("no complete frame in time") from exc
            if not chunk:
                raise ConnectionError("connection closed by the server")
            self.buffer += chunk

    def recv_json(self, timeout: float = 10.0) -> dict:
        """Return the next text message as JSON, replying to pings with pongs."""
        while True:
            opcode, payload = self.recv_frame(timeout)
            if opcode == OP_PING:
                self.send_frame(OP_PONG, payload)
                continue
            if opcode == OP_CLOSE:
                raise ConnectionClosedWith(close_code(payload))
            return json.loads(payload)

    def recv_event(self, timeout: float = 10.0) -> dict:
        message = self.recv_json(timeout)
        if message.get("event") == "encrypted" and self.crypto is not None:
            return self.crypto.open(message["data"])
        return message

    def authenticate(self, token: str, encrypted: bool = True) -> dict:
        self.crypto = SessionCrypto() if encrypted else None
        self.send_json(authenticate_message(token, self.crypto))
        message = self.recv_json()
        if message.get("event") != "connected":
            raise ProtocolError(f"expected connected, got {message}")
        if encrypted:
            self.crypto.derive(message["data"]["serverPublicKey"], message["data"]["salt"])
        self.client_id = message["data"]["id"]
        return message["data"]

    def send_sealed(self, event: str, data=None):
        self.send_json(self.crypto.seal(event, data))

    def wait_close(self, timeout: float = 10.0):
        """Read until a close frame; return its code (None for a close without one)."""
        deadline = time.monotonic() + timeout
        while True:
            opcode, payload = self.recv_frame(max(0.0, deadline - time.monotonic()))
            if opcode == OP_CLOSE:
                return close_code(payload)

    def wait_eof(self, timeout: float = 10.0) -> bool:
        """Discard input until EOF or a reset; return False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            readable, _, _ = select.select([self.sock], [], [], max(0.0, deadline - time.monotonic()))
            if not readable:
                continue
            try:
                if not self.sock.recv(1 << 20):
                    return True
            except ConnectionResetError:
                return True
        return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def authenticated_raw_client(port: int, sub: str, rcvbuf: int = 0) -> RawWebSocket:
    """Return a RawWebSocket that upgraded and authenticated (encrypted) as sub."""
    client = RawWebSocket(port, rcvbuf=rcvbuf)
    status = client.upgrade()
    if status != 101:
        raise ProtocolError(f"upgrade got {status}: {client.response_body[:200]!r}")
    client.authenticate(mint_token(JWT_SECRET, sub))
    return client


class EventCollector(threading.Thread):
    """Reads a RawWebSocket's events in a background thread until an event
    with the topic `until` arrives, the connection closes or `timeout` passes."""

    def __init__(self, ws: RawWebSocket, until: str, timeout: float = 60.0):
        super().__init__(daemon=True)
        self.ws = ws
        self.until = until
        self.timeout = timeout
        self.events = []
        self.problem = None

    def run(self):
        deadline = time.monotonic() + self.timeout
        try:
            while True:
                event = self.ws.recv_event(max(0.0, deadline - time.monotonic()))
                self.events.append(event)
                if event.get("event") == self.until:
                    return
        except (TimeoutError, ConnectionError, ConnectionClosedWith, ProtocolError, ValueError) as exc:
            self.problem = exc

    def result(self, timeout: float = 60.0) -> list:
        """Wait for the thread; return the events before the final one."""
        self.join(timeout)
        if self.is_alive():
            raise AssertionError(f"collector still running after {timeout} s with {len(self.events)} events")
        if self.problem is not None:
            raise AssertionError(f"collector stopped after {len(self.events)} events: {self.problem!r}")
        return self.events[:-1]


class ConnectionClosedWith(Exception):
    def __init__(self, code):
        super().__init__(f"server closed with code {code}")
        self.code = code


def encode_frame(opcode: int, payload: bytes, fin: bool = True, masked: bool = True) -> bytes:
    first = (0x80 if fin else 0) | opcode
    mask_bit = 0x80 if masked else 0
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", first, mask_bit | length)
    elif length < 65536:
        header = struct.pack("!BBH", first, mask_bit | 126, length)
    else:
        header = struct.pack("!BBQ", first, mask_bit | 127, length)
    if not masked:
        return header + payload
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if length < 4096 else _mask_fast(payload, mask)
    return header + mask + body


def _mask_fast(payload: bytes, mask: bytes) -> bytes:
    repeated = (mask * (len(payload) // 4 + 1))[: len(payload)]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(len(payload), "big")


def decode_frame(buffer: bytes):
    """Return (opcode, payload, bytes used) for an unmasked server frame, or None if incomplete."""
    if len(buffer) < 2:
        return None
    opcode = buffer[0] & 0x0F
    length = buffer[1] & 0x7F
    offset = 2
    if length == 126:
        if len(buffer) < 4:
            return None
        length = struct.unpack("!H", buffer[2:4])[0]
        offset = 4
    elif length == 127:
        if len(buffer) < 10:
            return None
        length = struct.unpack("!Q", buffer[2:10])[0]
        offset = 10
    if buffer[1] & 0x80:
        raise ProtocolError("the server sent a masked frame")
    if len(buffer) < offset + length:
        return None
    return opcode, buffer[offset : offset + length], offset + length


def close_code(payload: bytes):
    return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None


# --- the daemon --------------------------------------------------------------


class ServerProcess:
    """signal-server started on 127.0.0.1:0 with stderr kept in a file."""

    def __init__(self, binary: str, args=(), env=None, config_file: "str | None" = None):
        self.binary = binary
        self.args = list(args)
        self.env = env
        self.config_file = config_file
        self.stderr_file = tempfile.NamedTemporaryFile(prefix="signal-server-", suffix=".log", delete=False)
        self.process = None
        self.port = None

    def start(self, timeout: float = 30.0) -> "ServerProcess":
        command = [self.binary]
        if self.config_file is not None:
            command += ["--config", self.config_file]
        command += self.args
        environment = dict(os.environ)
        environment.update(self.env or {})
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=self.stderr_file, stderr=self.stderr_file, env=environment)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(r"event=listening addr=127\.0\.0\.1:(\d+)", self.stderr())
            if match:
                self.port = int(match.group(1))
                return self
            if self.process.poll() is not None:
                raise RuntimeError(f"signal-server exited with {self.process.returncode} before listening:\n{self.stderr()}")
            time.sleep(0.02)
        self.process.kill()
        raise RuntimeError(f"signal-server printed no event=listening line within {timeout} s:\n{self.stderr()}")

    def stderr(self) -> str:
        with open(self.stderr_file.name, "r", errors="replace") as f:
            return f.read()

    def sanitizer_lines(self):
        return [line for line in self.stderr().splitlines() if any(marker in line for marker in SANITIZER_MARKERS)]

    def rss_kib(self) -> int:
        return proc_status_field(self.process.pid, "VmRSS")

    def fd_count(self) -> int:
        return len(os.listdir(f"/proc/{self.process.pid}/fd"))

    def send_signal(self, signum: int):
        self.process.send_signal(signum)

    def stop(self, timeout: float = 30.0):
        """SIGTERM and wait; return the exit status (None if it had to be killed)."""
        if self.process.poll() is not None:
            return self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None

    def cleanup(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.unlink(self.stderr_file.name)


def sanitizer_runtime(binary: str) -> "str | None":
    """Return "address" or "thread" when binary links a sanitizer runtime."""
    with open(binary, "rb") as f:
        image = f.read()
    if b"__asan_init" in image:
        return "address"
    if b"__tsan_init" in image:
        return "thread"
    return None


def proc_status_field(pid: int, field: str) -> int:
    """Return a kB field of /proc/PID/status (VmRSS, VmHWM...) in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(f"{field} not in /proc/{pid}/status")


def server_args(workers: int = 2, **settings) -> list:
    """Command-line flags for a loopback server with the test credentials."""
    values = {
        "listen": "127.0.0.1:0",
        "workers": str(workers),
        "jwt_secret": JWT_SECRET,
        "admin_user": ADMIN_USER,
        "admin_password": ADMIN_PASSWORD,
        "room_allow": "public-*",
    }
    values.update({key: str(value) for key, value in settings.items()})
    return [f"--{key}={value}" for key, value in values.items()]
