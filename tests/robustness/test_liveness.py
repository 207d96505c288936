"""Half-open and silent clients are dropped by the transport ping
(idle_timeout_s) and by the heartbeat sweep (code 4002)."""

import socket
import time

from signal_testkit import (
    OP_PING,
    authenticated_raw_client,
)


def test_client_ignoring_pings_dropped(start_server):
    server = start_server(idle_timeout_s=1)
    client = authenticated_raw_client(server.port, "half-open")
    silent_since = time.monotonic()

    # The server pings after 1 s of silence and drops the connection
    # (without a close frame) 1 s after an unanswered ping.
    opcode, _ = client.recv_frame(timeout=3.0)
    pinged_after = time.monotonic() - silent_since
    assert opcode == OP_PING
    assert client.wait_eof(timeout=4.0), "the server kept a client that never answered its ping"
    dropped_after = time.monotonic() - silent_since
    assert 0.9 <= pinged_after <= 1.8, f"pinged after {pinged_after:.2f} s"
    assert 1.9 <= dropped_after <= 3.5, f"dropped after {dropped_after:.2f} s"
    assert "event=transport_timeout" in server.stderr()
    client.close()


def test_client_answering_pings_kept(start_server):
    server = start_server(idle_timeout_s=1)
    client = authenticated_raw_client(server.port, "answers-pings")

    pings = 0
    deadline = time.monotonic() + 3.5
    while time.monotonic() < deadline:
        try:
            opcode, payload = client.recv_frame(timeout=deadline - time.monotonic())
        except TimeoutError:
            break
        assert opcode == OP_PING, f"unexpected frame with opcode {opcode}"
        client.send_frame(0xA, payload)
        pings += 1
    assert pings >= 2, f"{pings} pings in 3.5 s with idle_timeout_s=1"
    # Still served: a data message gets its reply.
    client.send_json({"event": "authenticate", "data": {}})
    assert client.recv_json() == {"event": "error", "data": {"message": "Already authenticated"}}
    client.close()


def test_silent_http_connection_dropped(start_server):
    server = start_server(idle_timeout_s=1)
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5.0)
    sock.sendall(b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgr")
    started = time.monotonic()
    assert sock.recv(1024) == b"", "a truncated request head got an answer"
    elapsed = time.monotonic() - started
    assert 0.9 <= elapsed <= 2.5, f"dropped after {elapsed:.2f} s"
    sock.close()


def test_authenticated_client_without_data_closed_4002(start_server):
    server = start_server(heartbeat_interval_ms=200, heartbeat_timeout_ms=600)
    client = authenticated_raw_client(server.port, "quiet")
    silent_since = time.monotonic()

    code = client.wait_close(timeout=5.0)
    elapsed = time.monotonic() - silent_since
    assert code == 4002
    # Closed at the first sweep after 600 ms of inactivity.
    assert 0.6 <= elapsed <= 1.6, f"closed after {elapsed:.2f} s"
    assert "event=heartbeat_timeout" in server.stderr()
    client.close()


def test_heartbeats_keep_client_open(start_server):
    server = start_server(heartbeat_interval_ms=200, heartbeat_timeout_ms=600)
    client = authenticated_raw_client(server.port, "beating")
    for _ in range(8):
        client.send_sealed("heartbeat")
        time.sleep(0.25)
    # 2 s without a 4002 (recv_json raises ConnectionClosedWith on a
    # close frame): a data message still gets its reply.
    client.send_json({"event": "authenticate", "data": {}})
    assert client.recv_json(timeout=2.0) == {"event": "error", "data": {"message": "Already authenticated"}}
    client.close()
