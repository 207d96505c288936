"""A client that stops reading is closed with 4005 once its backlog passes
outbound_limit_bytes, while a client that reads gets every message."""

import socket
import time

from signal_testkit import (
    OP_CLOSE,
    REST_PREFIX,
    EventCollector,
    RawWebSocket,
    RestConnection,
    authenticated_raw_client,
    close_code,
    decode_frame,
    http_request,
    read_metric,
)

OUTBOUND_LIMIT = 65536
PAYLOAD = "x" * 1024
# The kernel buffers several MiB for a socket before the server's own
# backlog grows (tcp_wmem autotuning on loopback), so thousands of 1 KiB
# broadcasts are needed before the limit is reached.
MAX_BROADCASTS = 8000
# The server keeps a closing connection for a grace period (2 s) before it
# drops it. Reading 0.5 s after the close decision leaves time to drain
# the megabytes queued in the kernel before the close frame.
READ_DELAY_S = 0.5
# Grace period plus one tick of the server's 1 s idle timer, plus margin.
DESCRIPTOR_CLOSE_LIMIT_S = 5.0


def authenticated_stalled_client(port: int) -> RawWebSocket:
    client = authenticated_raw_client(port, "stalled", rcvbuf=4096)
    return client


def read_until_eof(client: RawWebSocket, timeout: float = 10.0) -> list:
    """Return every frame the server sent, until it closed the TCP connection."""
    # A 4 KiB window with delayed ACKs would take many seconds to drain
    # the kernel's backlog on a loaded machine.
    client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
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

    healthy = authenticated_raw_client(port, "healthy")
    collector = EventCollector(healthy, until="done")
    collector.start()
    late_reader = authenticated_stalled_client(port)
    never_reader = authenticated_stalled_client(port)

    rest = RestConnection(port)
    # A response proves that the server has accepted the connection, so
    # the count below includes it.
    assert rest.request("GET", "/healthz", auth=False).status == 200
    descriptors_before = server.fd_count()
    closes_before = read_metric(port, "signal_slow_consumer_closes_total")

    # Broadcast until both stalled clients are over the limit.
    sent = 0
    flagged_at = None
    while sent < MAX_BROADCASTS:
        response = rest.request("POST", REST_PREFIX + "/broadcast", {"topic": "bulk", "data": {"seq": sent, "pad": PAYLOAD}})
        assert response.status == 200, f"broadcast {sent}: {response}"
        sent += 1
        # Keep the healthy reader (Python, decrypting every message) within
        # 20 KiB of the sender, far below the limit, so on a loaded machine
        # it is never the one closed as a slow consumer.
        lag_deadline = time.monotonic() + 5.0
        while len(collector.events) < sent - 20 and time.monotonic() < lag_deadline:
            time.sleep(0.001)
        if sent % 20 == 0 and read_metric(port, "signal_slow_consumer_closes_total") == closes_before + 2:
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
    remaining = wait_for_descriptors(server, descriptors_before - 2, DESCRIPTOR_CLOSE_LIMIT_S - (time.monotonic() - flagged_at))
    elapsed = time.monotonic() - flagged_at
    assert remaining == descriptors_before - 2, f"{remaining} descriptors {elapsed:.1f} s after the close, expected {descriptors_before - 2}"
    never_reader.close()

    assert read_metric(port, "signal_slow_consumer_closes_total") == closes_before + 2
    events = collector.result()
    assert [event["data"]["seq"] for event in events] == list(range(sent)), "the healthy client missed or reordered broadcasts"
    assert all(event == {"event": "bulk", "data": {"seq": event["data"]["seq"], "pad": PAYLOAD}} for event in events)
    rest.close()


def test_broadcast_over_outbound_limit_rejected(start_server):
    # Defaults: max_body_bytes and outbound_limit_bytes are both 1 MiB, and
    # the encrypted wrapper is about 4/3 of the plain text, so 800,000
    # bytes of data fit a request but not one client's backlog.
    server = start_server()
    client = authenticated_raw_client(server.port, "reader")
    response = http_request(server.port, "POST", REST_PREFIX + "/broadcast", {"topic": "large", "data": "x" * 800_000})
    assert response.status == 413
    error = response.json()["error"]
    assert error.startswith("Message too large: its frame of "), error
    assert error.endswith(" bytes exceeds outbound_limit_bytes (1048576)"), error

    # The client was not closed and gets the largest message that fits.
    payload = "x" * 700_000
    response = http_request(server.port, "POST", REST_PREFIX + "/broadcast", {"topic": "large", "data": payload})
    assert response.status == 200
    assert client.recv_event(timeout=10.0) == {"event": "large", "data": payload}
    client.close()
