"""A client that stops reading is closed with 4005 once its backlog passes
outbound_limit_bytes, while a client that reads gets every message."""

import time

from signal_testkit import (
    JWT_SECRET,
    OP_CLOSE,
    REST_PREFIX,
    EventCollector,
    RawWebSocket,
    RestConnection,
    close_code,
    decode_frame,
    mint_token,
    read_metric,
)

OUTBOUND_LIMIT = 65536
PAYLOAD = "x" * 1024
# The kernel buffers several MiB for a socket before the server's own
# backlog grows (tcp_wmem autotuning on loopback), so thousands of 1 KiB
# broadcasts are needed before the limit is reached.
MAX_BROADCASTS = 8000
# The server keeps a closing connection for a grace period (2 s) before it
# drops it; 1 s after the close decision is well inside it.
READ_DELAY_S = 1.0
DESCRIPTOR_CLOSE_LIMIT_S = 4.0


def authenticated_stalled_client(port: int) -> RawWebSocket:
    client = RawWebSocket(port, rcvbuf=4096)
    assert client.upgrade() == 101
    client.authenticate(mint_token(JWT_SECRET, "stalled"))
    return client


def read_until_eof(client: RawWebSocket, timeout: float = 10.0) -> list:
    """Return every frame the server sent, until it closed the TCP connection."""
    data = client.buffer
    client.sock.settimeout(timeout)
    while True:
        chunk = client.sock.recv(1 << 20)
        if not chunk:
            break
        data += chunk
    frames = []
    while True:
        frame = decode_frame(data)
        if frame is None:
            break
        frames.append(frame[:2])
        data = data[frame[2]:]
    assert data == b"", f"{len(data)} bytes of an incomplete frame before EOF"
    return frames


def wait_for_descriptors(server, expected: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    count = server.fd_count()
    while count != expected and time.monotonic() < deadline:
        time.sleep(0.05)
        count = server.fd_count()
    return count


def test_slow_consumer_closed_with_4005(start_server):
    server = start_server(outbound_limit_bytes=OUTBOUND_LIMIT)
    port = server.port

    healthy = RawWebSocket(port)
    assert healthy.upgrade() == 101
    healthy.authenticate(mint_token(JWT_SECRET, "healthy"))
    collector = EventCollector(healthy, until="done")
    collector.start()
    late_reader = authenticated_stalled_client(port)
    never_reader = authenticated_stalled_client(port)

    rest = RestConnection(port)
    descriptors_before = server.fd_count()
    closes_before = read_metric(port, "signal_slow_consumer_closes_total")

    # Broadcast until both stalled clients are over the limit.
    sent = 0
    flagged_at = None
    while sent < MAX_BROADCASTS:
        response = rest.request("POST", REST_PREFIX + "/broadcast", {"topic": "bulk", "data": {"seq": sent, "pad": PAYLOAD}})
        assert response.status == 200, f"broadcast {sent}: {response}"
        sent += 1
        if sent % 100 == 0 and read_metric(port, "signal_slow_consumer_closes_total") == closes_before + 2:
            flagged_at = time.monotonic()
            break
    assert flagged_at is not None, f"no slow-consumer close after {sent} broadcasts of 1 KiB"
    assert rest.request("POST", REST_PREFIX + "/broadcast", {"topic": "done"}).status == 200

    # The client that resumes reading inside the grace period gets the
    # frames queued before the limit, then the close frame, then EOF.
    time.sleep(READ_DELAY_S)
    frames = read_until_eof(late_reader)
    late_reader.close()
    assert frames[-1][0] == OP_CLOSE, f"last frame has opcode {frames[-1][0]}, expected a close frame"
    assert close_code(frames[-1][1]) == 4005
    assert frames[-1][1][2:] == b"Slow consumer"
    assert all(opcode != OP_CLOSE for opcode, _ in frames[:-1])

    # The client that never reads has its descriptor closed by the server.
    remaining = wait_for_descriptors(server, descriptors_before - 2, DESCRIPTOR_CLOSE_LIMIT_S - READ_DELAY_S)
    elapsed = time.monotonic() - flagged_at
    assert remaining == descriptors_before - 2, f"{remaining} descriptors {elapsed:.1f} s after the close, expected {descriptors_before - 2}"
    never_reader.close()

    assert read_metric(port, "signal_slow_consumer_closes_total") == closes_before + 2
    events = collector.result()
    assert [event["data"]["seq"] for event in events] == list(range(sent)), "the healthy client missed or reordered broadcasts"
    assert all(event == {"event": "bulk", "data": {"seq": event["data"]["seq"], "pad": PAYLOAD}} for event in events)
    rest.close()
