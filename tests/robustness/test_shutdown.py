"""SIGTERM must end the process on time even when clients never read."""

import signal
import socket
import time

from signal_testkit import (
    REST_PREFIX,
    RawWebSocket,
    RestConnection,
    authenticated_raw_client,
)

SHUTDOWN_TIMEOUT_MS = 2000
MARGIN_S = 1.5
# Enough 1 KiB broadcasts to fill the kernel's buffers for a client that
# does not read, so each one keeps a backlog the server cannot flush.
BROADCASTS = 3000


def test_sigterm_with_stalled_clients_exits_in_time(start_server):
    # A large outbound limit keeps the stalled clients open (no 4005), so
    # their close frames are stuck behind a backlog at shutdown.
    server = start_server(shutdown_timeout_ms=SHUTDOWN_TIMEOUT_MS, outbound_limit_bytes=64 << 20)
    port = server.port
    stalled = []
    for i in range(4):
        client = authenticated_raw_client(port, f"stalled-{i}", rcvbuf=4096)
        stalled.append(client)
    unauthenticated = RawWebSocket(port)
    assert unauthenticated.upgrade() == 101
    half_request = socket.create_connection(("127.0.0.1", port))
    half_request.sendall(b"POST " + REST_PREFIX.encode() + b"/broadcast HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")

    rest = RestConnection(port)
    for seq in range(BROADCASTS):
        response = rest.request("POST", REST_PREFIX + "/broadcast", {"topic": "fill", "data": {"seq": seq, "pad": "x" * 1024}})
        assert response.status == 200, response
    rest.close()

    started = time.monotonic()
    server.stopped_by_test = True
    server.send_signal(signal.SIGTERM)
    status = server.process.wait(SHUTDOWN_TIMEOUT_MS / 1000 + 10)
    elapsed = time.monotonic() - started

    assert status == 0
    assert elapsed < SHUTDOWN_TIMEOUT_MS / 1000 + MARGIN_S, f"exit took {elapsed:.2f} s"
    log = server.stderr()
    # The stalled clients could not take their close frames, so the
    # deadline had to end them.
    assert "event=shutdown_deadline" in log
    assert "event=stopped status=0" in log
    for client in stalled + [unauthenticated]:
        client.close()
    half_request.close()
