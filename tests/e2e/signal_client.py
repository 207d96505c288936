"""Independent client for the signal-server wire protocol.

Written from the protocol description alone, with no code of the server.
HS256 JWTs are minted with hmac, base64 and json. ECDH P-256, HKDF-SHA256
and AES-256-GCM come from `cryptography`, WebSocket sessions from the
`websockets` package. Raw HTTP and WebSocket helpers send what that
package cannot express, and `Rest` drives the admin API.
"""

import asyncio
import base64
import contextlib
import hashlib
import hmac
import http.client
import json
import os
import re
import socket
import struct
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from typing import Any, Optional

import websockets
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

HKDF_INFO = b"ignis-ecdh-p256-aes-256-gcm-v1"
WEBSOCKET_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
REST_PREFIX = "/v1/api/socket/websocket/clients"
MARKER_TOPIC = "e2e.marker"

# Seconds to wait for an event that should arrive, and the quiet window
# after which a message that should not arrive is taken as absent.
EVENT_TIMEOUT = 5.0
QUIET_WINDOW = 0.3


# --- Base64 and JWT --------------------------------------------------------


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode_strict(text: Any) -> bytes:
    """Decode standard Base64 with padding, rejecting any other spelling."""
    if not isinstance(text, str):
        raise ValueError(f"expected a Base64 string, got {text!r}")
    if len(text) % 4 or not re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", text):
        raise ValueError(f"not strict padded Base64: {text!r}")
    data = base64.b64decode(text, validate=True)
    if b64encode(data) != text:
        raise ValueError(f"non-canonical Base64: {text!r}")
    return data


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def mint_jwt(secret: str, payload: dict, alg: str = "HS256") -> str:
    """Mint a compact JWS. `alg` "none" gives an unsigned token."""
    header = {"alg": alg, "typ": "JWT"}
    signing_input = (
        b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + b64url(json.dumps(payload, separators=(",", ":")).encode())
    )
    if alg == "none":
        return signing_input + "."
    if alg != "HS256":
        raise ValueError(f"unsupported alg {alg!r}")
    mac = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256)
    return signing_input + "." + b64url(mac.digest())


def user_token(secret: str, sub: Optional[str] = "user-1", ttl_s: int = 300, **claims) -> str:
    """Mint a valid HS256 token for `sub`, valid from now for `ttl_s` seconds."""
    now = int(time.time())
    payload = {"iat": now, "exp": now + ttl_s}
    if sub is not None:
        payload["sub"] = sub
    payload.update(claims)
    return mint_jwt(secret, payload)


# --- Key exchange and AES-256-GCM -------------------------------------------


class KeyExchange:
    """One client-side ephemeral P-256 key pair and the session key it yields."""

    def __init__(self):
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.public_bytes = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )

    @property
    def public_b64(self) -> str:
        return b64encode(self.public_bytes)

    def derive(self, server_public_key: bytes, salt: bytes) -> bytes:
        peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), server_public_key)
        shared_secret = self.private_key.exchange(ec.ECDH(), peer)
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=HKDF_INFO)
        return hkdf.derive(shared_secret)


def seal(key: bytes, envelope: dict, iv: Optional[bytes] = None) -> dict:
    """Wrap `envelope` as the `data` of an `encrypted` event."""
    iv = os.urandom(12) if iv is None else iv
    plaintext = json.dumps(envelope, separators=(",", ":")).encode()
    ciphertext = AESGCM(key).encrypt(iv, plaintext, None)
    return {"iv": b64encode(iv), "ct": b64encode(ciphertext)}


def unseal(key: bytes, data: Any) -> dict:
    """Decrypt the `data` of an `encrypted` event into the inner envelope."""
    if not isinstance(data, dict):
        raise AssertionError(f"encrypted data is not an object: {data!r}")
    iv = b64decode_strict(data.get("iv"))
    ciphertext = b64decode_strict(data.get("ct"))
    if len(iv) != 12:
        raise AssertionError(f"iv is {len(iv)} bytes, expected 12")
    if len(ciphertext) < 16:
        raise AssertionError(f"ct is {len(ciphertext)} bytes, shorter than the 16-byte tag")
    inner = json.loads(AESGCM(key).decrypt(iv, ciphertext, None).decode("utf-8"))
    if not isinstance(inner, dict):
        raise AssertionError(f"decrypted envelope is not an object: {inner!r}")
    return inner


# --- WebSocket session --------------------------------------------------------


@dataclass
class Envelope:
    """One received message: `text` as it came on the wire, `inner` decrypted."""

    event: str
    data: Any
    encrypted: bool
    text: str = field(repr=False)
    inner: Optional[dict] = field(default=None, repr=False)


class Closed(Exception):
    """The server closed the connection; `code` is None when no close frame came."""

    def __init__(self, code: Optional[int], reason: str):
        super().__init__(f"connection closed with code {code} reason {reason!r}")
        self.code = code
        self.reason = reason


class Client:
    """One WebSocket session of the protocol, driven by the test."""

    def __init__(self, target, ws):
        self.target = target
        self.ws = ws
        self.key: Optional[bytes] = None
        self.client_id: Optional[str] = None
        self.connected: Optional[dict] = None

    @classmethod
    async def connect(cls, target, **options) -> "Client":
        options.setdefault("compression", None)
        options.setdefault("ping_interval", None)
        options.setdefault("open_timeout", EVENT_TIMEOUT)
        options.setdefault("close_timeout", 2)
        options.setdefault("max_size", None)
        ws = await websockets.connect(target.ws_url, **options)
        return cls(target, ws)

    async def close(self):
        await self.ws.close()

    # Sending.

    async def send_text(self, text: str):
        await self.ws.send(text)

    async def send_json(self, value: Any):
        await self.ws.send(json.dumps(value))

    async def send_event(self, event: str, data: Any = None, *, encrypt: Optional[bool] = None):
        """Send an envelope, sealed with the session key when there is one."""
        envelope = {"event": event} if data is None else {"event": event, "data": data}
        if encrypt is None:
            encrypt = self.key is not None
        if encrypt:
            await self.send_json({"event": "encrypted", "data": seal(self.key, envelope)})
        else:
            await self.send_json(envelope)

    async def join(self, *rooms: str):
        await self.send_event("join", {"rooms": list(rooms)})

    async def leave(self, *rooms: str):
        await self.send_event("leave", {"rooms": list(rooms)})

    async def authenticate(self, token: Optional[str] = None, *, sub: str = "user-1", public_key: bool = True) -> dict:
        """Authenticate, check that `connected` arrives and derive the session key."""
        token = user_token(self.target.secret, sub) if token is None else token
        exchange = KeyExchange()
        data = {"token": token}
        if public_key:
            data["clientPublicKey"] = exchange.public_b64
        await self.send_json({"event": "authenticate", "data": data})
        envelope = await self.expect("connected")
        self.connected = envelope.data
        self.client_id = envelope.data["id"]
        if "serverPublicKey" in envelope.data:
            self.key = exchange.derive(
                b64decode_strict(envelope.data["serverPublicKey"]),
                b64decode_strict(envelope.data["salt"]),
            )
        return envelope.data

    # Receiving.

    async def recv(self, timeout: float = EVENT_TIMEOUT) -> Envelope:
        """Return the next envelope, decrypted when it came as `encrypted`.

        Raises Closed when the server closed, asyncio.TimeoutError when
        nothing came within `timeout` seconds."""
        try:
            message = await asyncio.wait_for(self.ws.recv(), timeout)
        except websockets.ConnectionClosed:
            received = self.ws.close_rcvd
            raise Closed(received.code if received else None, received.reason if received else "")
        text = message if isinstance(message, str) else message.decode("utf-8")
        outer = json.loads(text)
        assert isinstance(outer, dict), f"server sent a non-object message: {text!r}"
        event = outer.get("event")
        if event == "encrypted" and self.key is not None:
            inner = unseal(self.key, outer.get("data"))
            return Envelope(inner.get("event"), inner.get("data"), True, text, inner)
        if self.key is not None and event not in ("connected", "error"):
            raise AssertionError(f"plain {event!r} message to an encrypted client: {text!r}")
        return Envelope(event, outer.get("data"), False, text)

    async def expect(self, event: str, timeout: float = EVENT_TIMEOUT) -> Envelope:
        """Return the next envelope and check that its event is `event`."""
        try:
            envelope = await self.recv(timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"no {event!r} event within {timeout} s") from None
        except Closed as closed:
            raise AssertionError(f"expected {event!r}, but the {closed}") from None
        assert envelope.event == event, f"expected {event!r}, got {envelope.event!r}: {envelope.text}"
        return envelope

    async def expect_error(self, message: str, timeout: float = EVENT_TIMEOUT):
        envelope = await self.expect("error", timeout)
        assert envelope.encrypted is False, "error events must travel in plain text"
        assert envelope.data == {"message": message}, f"error data: {envelope.data!r}"

    async def flush(self):
        """Wait until the server has handled every message sent so far.

        Messages of one connection are handled in order, so the error reply
        to a non-JSON message proves that those before it were handled."""
        await self.send_text("{flush")
        await self.expect_error("Invalid message format")

    async def expect_close(self, timeout: float = EVENT_TIMEOUT) -> tuple:
        """Wait for the server's close; return (code, reason). No message may come first."""
        try:
            envelope = await self.recv(timeout)
        except Closed as closed:
            return closed.code, closed.reason
        except asyncio.TimeoutError:
            raise AssertionError(f"connection still open after {timeout} s") from None
        raise AssertionError(f"expected a close, got a message: {envelope.text}")

    async def expect_marker(self, rest, timeout: float = EVENT_TIMEOUT) -> list:
        """Send a marker to this client over REST and return what came before it."""
        token = str(uuid.uuid4())
        response = await rest.send_to_client(self.client_id, MARKER_TOPIC, {"marker": token})
        assert response.status == 200, f"marker send: {response}"
        before = []
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"marker did not arrive; before it came {before!r}")
            try:
                envelope = await self.recv(remaining)
            except asyncio.TimeoutError:
                continue
            if envelope.event == MARKER_TOPIC and envelope.data == {"marker": token}:
                return before
            before.append(envelope)

    async def expect_nothing(self, rest, window: float = QUIET_WINDOW):
        """Check that nothing but a fresh marker arrives, then nothing for `window` seconds."""
        before = await self.expect_marker(rest)
        assert before == [], f"unexpected messages: {[e.text for e in before]}"
        await self.expect_quiet(window)

    async def expect_quiet(self, window: float = QUIET_WINDOW):
        try:
            envelope = await self.recv(window)
        except asyncio.TimeoutError:
            return
        raise AssertionError(f"unexpected message: {envelope.text}")


@contextlib.asynccontextmanager
async def session(target, sub: Optional[str] = None, **options):
    """Yield a connected client, authenticated as `sub` unless it is None; close it at the end."""
    client = await Client.connect(target, **options)
    try:
        if sub is not None:
            await client.authenticate(sub=sub)
        yield client
    finally:
        await client.close()


# --- REST ----------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    def __str__(self) -> str:
        return f"HTTP {self.status} {self.body[:300]!r}"


class Rest:
    """Client of the REST admin API; `auth` is "basic", "bearer", None or a raw header value."""

    def __init__(self, target):
        self.target = target

    def authorization(self, auth) -> Optional[str]:
        if auth is None:
            return None
        if auth == "basic":
            user, password = self.target.basic
            return "Basic " + b64encode(f"{user}:{password}".encode())
        if auth == "bearer":
            return "Bearer " + user_token(self.target.secret, "rest-admin")
        return auth

    def request_sync(self, method: str, path: str, body: Any = None, *, raw: Optional[bytes] = None, auth="basic") -> Response:
        connection = http.client.HTTPConnection(self.target.host, self.target.port, timeout=EVENT_TIMEOUT)
        headers = {}
        value = self.authorization(auth)
        if value is not None:
            headers["Authorization"] = value
        payload = raw
        if payload is None and body is not None:
            payload = json.dumps(body).encode()
        if payload is not None:
            headers["Content-Type"] = "application/json"
        try:
            connection.request(method, REST_PREFIX + path, body=payload, headers=headers)
            reply = connection.getresponse()
            data = reply.read()
            return Response(reply.status, {k.lower(): v for k, v in reply.getheaders()}, data)
        finally:
            connection.close()

    async def request(self, method: str, path: str, body: Any = None, **options) -> Response:
        return await asyncio.to_thread(self.request_sync, method, path, body, **options)

    async def status(self) -> Response:
        return await self.request("GET", "/status", auth=None)

    async def list_clients(self, **options) -> Response:
        return await self.request("GET", "/", **options)

    async def get_client(self, client_id: str, **options) -> Response:
        return await self.request("GET", "/" + quote(client_id), **options)

    async def broadcast(self, topic: str, data: Any, **options) -> Response:
        return await self.request("POST", "/broadcast", {"topic": topic, "data": data}, **options)

    async def send_to_room(self, room: str, topic: str, data: Any, **options) -> Response:
        return await self.request("POST", f"/rooms/{quote(room)}/send", {"topic": topic, "data": data}, **options)

    async def send_to_client(self, client_id: str, topic: str, data: Any, **options) -> Response:
        return await self.request("POST", f"/{quote(client_id)}/send", {"topic": topic, "data": data}, **options)

    async def disconnect(self, client_id: str, **options) -> Response:
        return await self.request("POST", f"/{quote(client_id)}/disconnect", **options)

    async def wait_for_client(self, client_id: str, predicate, timeout: float = EVENT_TIMEOUT) -> dict:
        """Poll GET /{id} until `predicate(info)` holds; return the last ClientInfo."""
        deadline = time.monotonic() + timeout
        while True:
            response = await self.get_client(client_id)
            assert response.status == 200, f"GET client {client_id}: {response}"
            info = response.json()
            if predicate(info):
                return info
            if time.monotonic() > deadline:
                raise AssertionError(f"client info did not reach the expected state: {info!r}")
            await asyncio.sleep(0.02)

    async def wait_for_client_count(self, count: int, timeout: float = EVENT_TIMEOUT) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            body = (await self.status()).json()
            if body.get("clientCount") == count:
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"clientCount stayed {body!r}, expected {count}")
            await asyncio.sleep(0.02)


def quote(segment: str) -> str:
    """Percent-encode one path segment, every reserved character included."""
    return urllib.parse.quote(segment, safe="")


# --- Raw HTTP and WebSocket frames ----------------------------------------------


def upgrade_request(path: str = "/ws", *, host: str = "127.0.0.1", method: str = "GET", headers: Optional[list] = None, key: Optional[str] = None) -> tuple:
    """Build an upgrade request head; return (bytes, key). `headers` replaces the defaults."""
    key = b64encode(os.urandom(16)) if key is None else key
    if headers is None:
        headers = [
            ("Host", host),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", key),
            ("Sec-WebSocket-Version", "13"),
        ]
    lines = [f"{method} {path} HTTP/1.1"] + [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode(), key


def expected_accept(key: str) -> str:
    return b64encode(hashlib.sha1(key.encode() + WEBSOCKET_GUID).digest())


class RawConnection:
    """A plain TCP connection that reads an HTTP response head and WebSocket frames."""

    def __init__(self, host: str, port: int, timeout: float = EVENT_TIMEOUT):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buffer = b""

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data: bytes):
        self.sock.sendall(data)

    def fill(self, count: int):
        while len(self.buffer) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"connection closed with {len(self.buffer)} of {count} bytes read")
            self.buffer += chunk

    def take(self, count: int) -> bytes:
        self.fill(count)
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def read_response(self) -> tuple:
        """Read a response head (and a Content-Length body); return (status, headers, body)."""
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"connection closed before the response head: {self.buffer!r}")
            self.buffer += chunk
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), []).append(value.strip())
        body = b""
        if status != 101 and "content-length" in headers:
            body = self.take(int(headers["content-length"][0]))
        return status, headers, body

    def send_frame(self, opcode: int, payload: bytes, *, fin: bool = True, masked: bool = True):
        self.send(encode_frame(opcode, payload, fin=fin, masked=masked))

    def read_frame(self) -> tuple:
        """Return (opcode, payload) of the next server frame; server frames are unmasked."""
        first, second = self.take(2)
        opcode = first & 0x0F
        assert second & 0x80 == 0, "server frame is masked"
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self.take(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self.take(8))
        return opcode, self.take(length)

    def read_close(self) -> Optional[int]:
        """Skip data frames up to the close frame and return its status code."""
        while True:
            opcode, payload = self.read_frame()
            if opcode == 0x8:
                return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None


def encode_frame(opcode: int, payload: bytes, *, fin: bool = True, masked: bool = True) -> bytes:
    head = bytes([(0x80 if fin else 0) | opcode])
    mask_bit = 0x80 if masked else 0
    length = len(payload)
    if length < 126:
        head += bytes([mask_bit | length])
    elif length < 65536:
        head += bytes([mask_bit | 126]) + struct.pack("!H", length)
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", length)
    if not masked:
        return head + payload
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
