"""Run signal-server and talk to it, for the OpenAPI, metrics and notify suites.

`Daemon` starts the real binary on a free loopback port and waits for its
`event=listening` line. `request` and `exchange` speak HTTP/1.1 to it, the
second on a raw socket for malformed or pipelined requests. `WebSocketClient`
is a protocol client written from the wire protocol alone: an HS256 JWT,
an ephemeral P-256 key, ECDH and HKDF-SHA256 for the session key, and
AES-256-GCM for every message after `connected`. `LoopThread` runs its
coroutines while the test thread makes blocking HTTP calls.
"""

import asyncio
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import websockets
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

REPOSITORY = Path(__file__).resolve().parents[2]
REST_PREFIX = "/v1/api/socket/websocket/clients"
JWT_SECRET = "test-secret-for-openapi-metrics-notify"
ADMIN_USER = "admin"
ADMIN_PASSWORD = "pw"
HKDF_INFO = b"ignis-ecdh-p256-aes-256-gcm-v1"

LISTEN_TIMEOUT_S = 10
STOP_TIMEOUT_S = 10
IO_TIMEOUT_S = 5


def server_binary() -> str:
    """Return the binary under test: $SIGNAL_SERVER_BIN, else build/signal-server."""
    return os.environ.get("SIGNAL_SERVER_BIN", str(REPOSITORY / "build" / "signal-server"))


# --- The daemon -----------------------------------------------------------------


class Daemon:
    """One signal-server child process, its stderr in a file.

    `flags` are configuration keys added to or replacing the defaults below;
    `env` adds environment variables. SIGNAL_* variables of the test's own
    environment are not passed on, because they would override keys."""

    def __init__(self, log_path: Path, flags: Optional[dict] = None, env: Optional[dict] = None):
        settings = {
            "listen": "127.0.0.1:0",
            "jwt_secret": JWT_SECRET,
            "admin_user": ADMIN_USER,
            "admin_password": ADMIN_PASSWORD,
            "room_allow": "public-*",
        }
        settings.update(flags or {})
        argv = [server_binary()] + [f"--{key.replace('_', '-')}={value}" for key, value in settings.items()]
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNAL_") and k != "NOTIFY_SOCKET"}
        child_env.update(env or {})

        self.log_path = log_path
        self.host: Optional[str] = None
        self.port: Optional[int] = None
        self.returncode: Optional[int] = None
        self._log_file = open(log_path, "wb")
        self.process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=self._log_file, stderr=subprocess.STDOUT, env=child_env
        )

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def listening_address(self) -> Optional[tuple]:
        """Return (host, port) from the `event=listening` line, or None before it."""
        match = re.search(r"event=listening addr=(\S+):(\d+)", self.log_text())
        if match is None:
            return None
        return match.group(1).strip("[]"), int(match.group(2))

    def wait_listening(self) -> tuple:
        deadline = time.monotonic() + LISTEN_TIMEOUT_S
        while time.monotonic() < deadline:
            address = self.listening_address()
            if address is not None:
                self.host, self.port = address
                return address
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        self.kill()
        raise AssertionError(
            f"signal-server printed no event=listening line (exit status {self.process.returncode}); "
            f"output:\n{self.log_text()}"
        )

    def send_signal(self, number: int):
        self.process.send_signal(number)

    def stop(self) -> int:
        """Send SIGTERM and return the exit status; kill the process if it does not exit in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.returncode = self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"signal-server did not exit within {STOP_TIMEOUT_S} s of SIGTERM")
        finally:
            self._log_file.close()
        return self.returncode

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._log_file.close()


# --- HTTP -----------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: dict  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    def media_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip()

    def __str__(self) -> str:
        return f"HTTP {self.status} {self.headers} {self.body[:300]!r}"


def basic_authorization(user: str = ADMIN_USER, password: str = ADMIN_PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def bearer_authorization(sub: str = "rest-operator") -> str:
    return "Bearer " + user_token(sub)


def request(daemon: Daemon, method: str, path: str, headers: Optional[dict] = None, body: Any = None) -> Response:
    """Make one request on a fresh connection. A dict or list body is sent as JSON."""
    connection = http.client.HTTPConnection(daemon.host, daemon.port, timeout=IO_TIMEOUT_S)
    headers = dict(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    try:
        connection.request(method, path, body=body, headers=headers)
        reply = connection.getresponse()
        data = reply.read()
        return Response(reply.status, {k.lower(): v for k, v in reply.getheaders()}, data)
    finally:
        connection.close()


def exchange(daemon: Daemon, data: bytes, count: int = 1) -> list:
    """Send raw bytes on one connection and read `count` responses."""
    with socket.create_connection((daemon.host, daemon.port), timeout=IO_TIMEOUT_S) as sock:
        sock.sendall(data)
        received = b""
        responses = []
        while len(responses) < count:
            parsed, used = parse_response(received)
            if parsed is not None:
                responses.append(parsed)
                received = received[used:]
                continue
            chunk = sock.recv(65536)
            if not chunk:
                raise AssertionError(f"connection closed after {len(responses)} of {count} responses")
            received += chunk
        return responses


def parse_response(data: bytes) -> tuple:
    """Return (Response, bytes used) for the first complete response in data, else (None, 0)."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None, 0
    lines = data[:end].decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    if len(data) < end + 4 + length:
        return None, 0
    return Response(status, headers, data[end + 4 : end + 4 + length]), end + 4 + length


def raw_request(method: str, path: str, headers: Optional[dict] = None, body: bytes = b"") -> bytes:
    """Format one HTTP/1.1 request with Host and, for a body, Content-Length."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# --- Tokens and encryption -----------------------------------------------------------


def base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def user_token(sub: str, secret: str = JWT_SECRET, ttl_s: int = 300) -> str:
    """Mint an HS256 JWT for `sub`, valid from now for ttl_s seconds."""
    now = int(time.time())
    header = base64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = base64url(json.dumps({"sub": sub, "iat": now, "exp": now + ttl_s}).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{base64url(signature)}"


class ConnectionClosed(Exception):
    def __init__(self, code: Optional[int]):
        super().__init__(f"the server closed the connection with code {code}")
        self.code = code


class WebSocketClient:
    """One WebSocket session of the protocol. Use it from a LoopThread."""

    def __init__(self, ws):
        self.ws = ws
        self.key: Optional[bytes] = None
        self.client_id: Optional[str] = None
        self.user_id: Optional[str] = None

    @classmethod
    async def connect(cls, daemon: Daemon) -> "WebSocketClient":
        ws = await websockets.connect(
            daemon.ws_url, compression=None, ping_interval=None, open_timeout=IO_TIMEOUT_S, close_timeout=2
        )
        return cls(ws)

    async def send(self, envelope: dict):
        """Send an envelope, wrapped in `encrypted` once there is a session key."""
        if self.key is not None:
            iv = os.urandom(12)
            sealed = AESGCM(self.key).encrypt(iv, json.dumps(envelope).encode(), None)
            envelope = {
                "event": "encrypted",
                "data": {"iv": base64.b64encode(iv).decode(), "ct": base64.b64encode(sealed).decode()},
            }
        await self.ws.send(json.dumps(envelope))

    async def authenticate(self, token: str, send_public_key: bool = True) -> dict:
        """Send `authenticate` and return the next envelope, deriving the key from `connected`."""
        private_key = ec.generate_private_key(ec.SECP256R1())
        data = {"token": token}
        if send_public_key:
            point = private_key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
            data["clientPublicKey"] = base64.b64encode(point).decode()
        await self.send({"event": "authenticate", "data": data})

        reply = await self.receive()
        if reply["event"] != "connected":
            return reply
        info = reply["data"]
        self.client_id = info["id"]
        self.user_id = info["userId"]
        if "serverPublicKey" in info:
            server_key = ec.EllipticCurvePublicKey.from_encoded_point(
                ec.SECP256R1(), base64.b64decode(info["serverPublicKey"], validate=True)
            )
            shared_secret = private_key.exchange(ec.ECDH(), server_key)
            hkdf = HKDF(
                algorithm=hashes.SHA256(),
                length=32,
                salt=base64.b64decode(info["salt"], validate=True),
                info=HKDF_INFO,
            )
            self.key = hkdf.derive(shared_secret)
        return reply

    async def join(self, *rooms: str):
        await self.send({"event": "join", "data": {"rooms": list(rooms)}})

    async def receive(self, timeout: float = IO_TIMEOUT_S) -> dict:
        """Return the next envelope, decrypted when it came wrapped in `encrypted`."""
        try:
            text = await asyncio.wait_for(self.ws.recv(), timeout)
        except websockets.ConnectionClosed:
            received = self.ws.close_rcvd
            raise ConnectionClosed(received.code if received else None) from None
        envelope = json.loads(text)
        if envelope.get("event") == "encrypted" and self.key is not None:
            data = envelope["data"]
            plain = AESGCM(self.key).decrypt(
                base64.b64decode(data["iv"], validate=True), base64.b64decode(data["ct"], validate=True), None
            )
            envelope = json.loads(plain)
        return envelope

    async def receive_event(self, event: str, timeout: float = IO_TIMEOUT_S) -> dict:
        """Return the next envelope whose event is `event`, skipping others."""
        deadline = time.monotonic() + timeout
        skipped = []
        while time.monotonic() < deadline:
            try:
                envelope = await self.receive(deadline - time.monotonic())
            except asyncio.TimeoutError:
                break
            if envelope.get("event") == event:
                return envelope
            skipped.append(envelope.get("event"))
        raise AssertionError(f"no {event!r} event within {timeout} s; received {skipped}")

    async def wait_closed(self, timeout: float = IO_TIMEOUT_S) -> Optional[int]:
        """Skip messages until the server closes; return its close code."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                await self.receive(deadline - time.monotonic())
            except ConnectionClosed as closed:
                return closed.code
            except asyncio.TimeoutError:
                break
        raise AssertionError(f"connection still open after {timeout} s")

    async def close(self):
        await self.ws.close()


class LoopThread:
    """An asyncio event loop in a background thread.

    WebSocket clients live on it, so they keep reading while the test
    thread makes blocking HTTP calls."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine, timeout: float = 3 * IO_TIMEOUT_S):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()
