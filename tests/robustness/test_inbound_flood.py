"""A client that sends as fast as it can and never reads must not grow the
server's memory without bound or slow other clients down noticeably."""

import json
import select
import threading
import time

import pytest

from signal_testkit import (
    OP_PING,
    OP_TEXT,
    REST_PREFIX,
    RawWebSocket,
    RestConnection,
    authenticated_raw_client,
    encode_frame,
    http_request,
    sanitizer_runtime,
)

FLOOD_SECONDS = 4.0
RSS_GROWTH_LIMIT_KIB = 64 * 1024
# Sanity bounds on a loaded 2-core machine, not performance targets.
BROADCAST_LATENCY_LIMIT_S = 1.0
STATUS_LATENCY_LIMIT_S = 1.0


def flood_frames(kind: str, client: RawWebSocket) -> bytes:
    """About 64 KiB of back-to-back frames of one kind."""
    if kind == "ping":
        frame = encode_frame(OP_PING, b"p" * 125)
    else:
        # One sealed heartbeat repeated: the server decrypts every copy.
        frame = encode_frame(OP_TEXT, json.dumps(client.crypto.seal("heartbeat")).encode())
    return frame * (65536 // len(frame) + 1)


class Flooder(threading.Thread):
    """Writes the same batch of frames until `stop` is set; never reads."""

    def __init__(self, client: RawWebSocket, batch: bytes):
        super().__init__(daemon=True)
        self.client = client
        self.batch = batch
        self.stop = threading.Event()
        self.bytes_sent = 0
        self.problem = None

    def run(self):
        sock = self.client.sock
        sock.setblocking(False)
        pending = memoryview(self.batch)
        try:
            while not self.stop.is_set():
                _, writable, _ = select.select([], [sock], [], 0.05)
                if not writable:
                    continue
                try:
                    sent = sock.send(pending)
                except BlockingIOError:
                    continue
                self.bytes_sent += sent
                pending = pending[sent:] if sent < len(pending) else memoryview(self.batch)
        except OSError as exc:
            self.problem = exc


def connect_healthy(port: int, name: str) -> RawWebSocket:
    client = authenticated_raw_client(port, name)
    return client


@pytest.mark.parametrize("kind", ["ping", "heartbeat"])
def test_inbound_flood_bounded(start_server, kind):
    server = start_server(workers=2)
    port = server.port
    # Two readers, so that at least one shares a worker with the flooder
    # whatever the acceptor's choice (with two workers, the three
    # connections cannot all be on different ones).
    healthy = [connect_healthy(port, f"healthy-{i}") for i in range(2)]
    flooder = authenticated_raw_client(port, "flooder", rcvbuf=4096)
    rest = RestConnection(port)

    rss_before = server.rss_kib()
    rss_max = rss_before
    thread = Flooder(flooder, flood_frames(kind, flooder))
    thread.start()

    latencies = []
    status_latencies = []
    seq = 0
    deadline = time.monotonic() + FLOOD_SECONDS
    while time.monotonic() < deadline:
        started = time.monotonic()
        response = rest.request("POST", REST_PREFIX + "/broadcast", {"topic": "tick", "data": {"seq": seq}})
        assert response.status == 200, response
        for client in healthy:
            event = client.recv_event(timeout=5.0)
            assert event == {"event": "tick", "data": {"seq": seq}}
        latencies.append(time.monotonic() - started)

        started = time.monotonic()
        status = http_request(port, "GET", REST_PREFIX + "/status", auth=False)
        status_latencies.append(time.monotonic() - started)
        assert status.status == 200
        assert status.json() == {"isReady": True, "clientCount": 3}

        rss_max = max(rss_max, server.rss_kib())
        seq += 1
        time.sleep(0.1)

    thread.stop.set()
    thread.join(5)
    flooder.close()

    assert thread.problem is None, f"the flooding connection failed: {thread.problem!r}"
    assert thread.bytes_sent > 1 << 20, f"the flood sent only {thread.bytes_sent} bytes"
    # AddressSanitizer keeps freed memory in quarantine (256 MiB by
    # default), so RSS does not reflect the server's own bounds there.
    if sanitizer_runtime(server.binary) != "address":
        assert rss_max - rss_before < RSS_GROWTH_LIMIT_KIB, f"RSS grew from {rss_before} KiB to {rss_max} KiB during the {kind} flood"
    assert max(latencies) < BROADCAST_LATENCY_LIMIT_S, f"slowest broadcast round trip {max(latencies):.3f} s"
    assert max(status_latencies) < STATUS_LATENCY_LIMIT_S, f"slowest /status {max(status_latencies):.3f} s"
    print(f"{kind} flood: {thread.bytes_sent >> 20} MiB sent, RSS {rss_before} -> {rss_max} KiB, "
          f"{seq} broadcasts, slowest round trip {max(latencies) * 1000:.0f} ms")

    # Served normally once the flooder is gone.
    assert rest.request("POST", REST_PREFIX + "/broadcast", {"topic": "after"}).status == 200
    for client in healthy:
        assert client.recv_event() == {"event": "after"}
    rest.close()
