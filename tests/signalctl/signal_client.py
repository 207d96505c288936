"""WebSocket client and daemon launcher shared by the operations tests.

The client speaks the server's wire protocol as a browser would: an HS256
JWT and an ephemeral P-256 key in `authenticate`, ECDH and HKDF-SHA256 to
derive the AES-256-GCM session key from `connected`, and AES-GCM for every
later message. `start_daemon` runs the real signal-server on a free
loopback port and returns once it logs `event=listening`.
"""

import asyncio
import base64
import hashlib
import hmac
import json
import os
import re
import subprocess
import threading
import time

import websockets
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

HKDF_INFO = b"ignis-ecdh-p256-aes-256-gcm-v1"
API_PREFIX = "/v1/api/socket/websocket/clients"


def b64(data):
    return base64.b64encode(data).decode("ascii")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def mint_token(secret, sub, lifetime_s=3600):
    """Return an HS256 JWT for user `sub`, valid for `lifetime_s` seconds."""
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    now = int(time.time())
    claims = {"sub": sub, "iat": now, "exp": now + lifetime_s}
    payload = b64url(json.dumps(claims).encode())
    signing_input = f"{header}.{payload}".encode("ascii")
    signature = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(signature)}"


class SignalClient:
    """One authenticated, encrypted WebSocket client."""

    def __init__(self, ws, key, connected):
        self.ws = ws
        self.aead = AESGCM(key)
        self.id = connected["id"]
        self.user_id = connected["userId"]
        self.connected = connected

    @classmethod
    async def connect(cls, ws_url, secret, sub, ssl=None):
        """Connect and authenticate as user `sub`; `ssl` is for wss URLs."""
        ws = await websockets.connect(ws_url, open_timeout=5, ssl=ssl)
        private_key = ec.generate_private_key(ec.SECP256R1())
        public_point = private_key.public_key().public_bytes(
            serialization.Encoding.X962,
            serialization.PublicFormat.UncompressedPoint,
        )
        await ws.send(json.dumps({
            "event": "authenticate",
            "data": {"token": mint_token(secret, sub),
                     "clientPublicKey": b64(public_point)},
        }))
        reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if reply.get("event") != "connected":
            await ws.close()
            raise AssertionError(f"expected a connected event, got {reply!r}")

        data = reply["data"]
        server_key = ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(), base64.b64decode(data["serverPublicKey"]))
        shared = private_key.exchange(ec.ECDH(), server_key)
        key = HKDF(algorithm=hashes.SHA256(), length=32,
                   salt=base64.b64decode(data["salt"]),
                   info=HKDF_INFO).derive(shared)
        return cls(ws, key, data)

    async def send_encrypted(self, event, data=None):
        envelope = {"event": event}
        if data is not None:
            envelope["data"] = data
        iv = os.urandom(12)
        ct = self.aead.encrypt(iv, json.dumps(envelope).encode(), None)
        await self.ws.send(json.dumps(
            {"event": "encrypted", "data": {"iv": b64(iv), "ct": b64(ct)}}))

    async def receive(self, timeout=5.0):
        """Return the next event as a dict, decrypted when wrapped."""
        message = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        if message.get("event") != "encrypted":
            return message
        wrapper = message["data"]
        plain = self.aead.decrypt(base64.b64decode(wrapper["iv"]),
                                  base64.b64decode(wrapper["ct"]), None)
        return json.loads(plain)

    async def expect_nothing(self, seconds=0.5):
        """Fail if any message arrives within `seconds`."""
        try:
            message = await asyncio.wait_for(self.ws.recv(), seconds)
        except asyncio.TimeoutError:
            return
        raise AssertionError(f"expected no message, got {message!r}")

    async def close(self):
        await self.ws.close()


class Daemon:
    """A signal-server process started by start_daemon."""

    def __init__(self, process, host, port, log_lines):
        self.process = process
        self.host = host
        self.port = port
        self.log_lines = log_lines
        self.url = f"http://{host}:{port}"
        self.ws_url = f"ws://{host}:{port}/ws"

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_daemon(binary, args, timeout_s=10.0):
    """Start `binary` with `args` and wait for its event=listening line."""
    process = subprocess.Popen([binary, *args], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    log_lines = []
    listening = threading.Event()
    address = {}

    def drain_stderr():
        # Keep reading after the listening line so the pipe never fills.
        for line in process.stderr:
            log_lines.append(line)
            match = re.search(r"\bevent=listening addr=(\S+):(\d+)", line)
            if match and not listening.is_set():
                address["host"] = match.group(1).strip("[]")
                address["port"] = int(match.group(2))
                listening.set()

    threading.Thread(target=drain_stderr, daemon=True).start()
    deadline = time.monotonic() + timeout_s
    while not listening.wait(0.05):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise AssertionError(
                f"{binary} did not log event=listening within {timeout_s} s "
                f"(exit status {process.returncode}); stderr:\n"
                + "".join(log_lines))
    return Daemon(process, address["host"], address["port"], log_lines)
