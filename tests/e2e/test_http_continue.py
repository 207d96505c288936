"""HTTP/1.1 details of the REST side that common clients rely on."""

import base64
import socket

from signal_client import REST_PREFIX


def read_until(sock: socket.socket, marker: bytes, limit: int = 65536) -> bytes:
    data = b""
    while marker not in data and len(data) < limit:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def test_expect_continue_answered_before_body(target):
    # curl sends "Expect: 100-continue" for bodies over 1 KiB and waits for
    # the interim answer (up to a second) before it sends the body.
    body = b'{"topic":"continue.check","data":"' + b"x" * 2000 + b'"}'
    credentials = base64.b64encode(f"{target.basic[0]}:{target.basic[1]}".encode()).decode()
    head = (
        f"POST {REST_PREFIX}/broadcast HTTP/1.1\r\n"
        f"Host: {target.host}\r\n"
        f"Authorization: Basic {credentials}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Expect: 100-continue\r\n\r\n"
    ).encode()
    with socket.create_connection((target.host, target.port), timeout=2) as sock:
        sock.sendall(head)
        interim = read_until(sock, b"\r\n\r\n")
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n"), interim
        sock.sendall(body)
        final = read_until(sock, b'{"success":true}')
        assert final.startswith(b"HTTP/1.1 200 OK\r\n"), final
        assert final.endswith(b'{"success":true}'), final
