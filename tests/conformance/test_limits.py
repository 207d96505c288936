"""HTTP size limits: the request head (431) and a REST request body (413)."""

import base64
import hashlib
import hmac
import json
import select
import time
import uuid

from wsclient import (WebSocket, build_request, check_upgrade_response, connect, read_http_response,
                      send_ignoring_reset, upgrade_headers)
import rfc6455

CLIENTS_PATH = "/v1/api/socket/websocket/clients"


def base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def bearer_token(secret: str) -> str:
    """Mint an HS256 JWT for the REST API, valid for five minutes."""
    now = int(time.time())
    header = base64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = base64url(json.dumps({"sub": "conformance", "iat": now, "exp": now + 300}).encode())
    signing_input = f"{header}.{claims}".encode("ascii")
    signature = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}.{claims}.{base64url(signature)}"


def padded_upgrade_request(target, head_length: int) -> tuple[str, bytes]:
    """Return a valid opening handshake whose head is exactly head_length bytes."""
    key = rfc6455.new_key()
    headers = upgrade_headers(target, key)
    bare = build_request("GET", target.ws_path, headers + [("X-Padding", "")])
    padding = head_length - len(bare)
    assert padding >= 0, f"a handshake head needs at least {len(bare)} bytes"
    request = build_request("GET", target.ws_path, headers + [("X-Padding", "p" * padding)])
    assert len(request) == head_length
    return key, request


def test_request_head_at_limit_accepted(target):
    key, request = padded_upgrade_request(target, target.max_header_bytes)
    with connect(target) as sock:
        sock.sendall(request)
        buffer = bytearray()
        check_upgrade_response(read_http_response(sock, buffer), key)
        ws = WebSocket(sock, bytes(buffer))
        ws.send_frame(rfc6455.OP_PING, b"after a large head")
        ws.expect_pong(b"after a large head")


def test_request_head_over_limit_returns_431(target):
    _, request = padded_upgrade_request(target, target.max_header_bytes + 1)
    with connect(target) as sock:
        send_ignoring_reset(sock, request)
        response = read_http_response(sock, bytearray())
    assert response.status == 431, f"expected 431, got {response.status} {response.body[:200]!r}"


def test_request_head_far_over_limit_returns_431(target):
    _, request = padded_upgrade_request(target, 4 * target.max_header_bytes)
    with connect(target) as sock:
        send_ignoring_reset(sock, request)
        response = read_http_response(sock, bytearray())
    assert response.status == 431, f"expected 431, got {response.status} {response.body[:200]!r}"


def send_request(target, body_length: int):
    """POST a message of body_length bytes to a client id that no client has.

    The body goes out only when the server has not answered the head within
    a second, so a server that rejects by Content-Length alone is not
    forced to read a body it refused.
    """
    prefix = b'{"topic":"conformance","data":"'
    suffix = b'"}'
    body = prefix + b"x" * (body_length - len(prefix) - len(suffix)) + suffix
    headers = [
        ("Host", target.host_header),
        ("Authorization", f"Bearer {bearer_token(target.jwt_secret)}"),
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
    ]
    path = f"{CLIENTS_PATH}/{uuid.uuid4()}/send"
    with connect(target) as sock:
        sock.sendall(build_request("POST", path, headers))
        readable, _, _ = select.select([sock], [], [], 1.0)
        if not readable:
            send_ignoring_reset(sock, body)
        return read_http_response(sock, bytearray())


def test_rest_body_at_limit_accepted(target):
    response = send_request(target, target.max_body_bytes)
    assert response.status == 200, f"expected 200, got {response.status} {response.body[:200]!r}"
    assert response.json().get("success") is True, f"response body is {response.body[:200]!r}"


def test_rest_body_over_limit_returns_413(target):
    response = send_request(target, target.max_body_bytes + 1)
    assert response.status == 413, f"expected 413, got {response.status} {response.body[:200]!r}"
