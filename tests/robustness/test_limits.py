"""Admission limits: max_connections for WebSocket upgrades and
command_queue_limit for REST fan-out."""

import collections
import threading
import time

from signal_testkit import (
    JWT_SECRET,
    REST_PREFIX,
    EventCollector,
    RawWebSocket,
    RestConnection,
    authenticated_raw_client,
    http_request,
    mint_token,
    read_metric,
)

QUEUE_LIMIT = 16
REST_CONNECTIONS = 24
# More than QUEUE_LIMIT in one write: the worker handles the requests of
# one read before it takes commands from its queue, so some get 503 even
# when the connections do not overlap.
PIPELINED_PER_CONNECTION = 20
BUSY_ERROR = {"error": "Server busy: a worker command queue is full"}


def test_fourth_upgrade_rejected_at_cap(start_server):
    server = start_server(max_connections=3)
    clients = [RawWebSocket(server.port) for _ in range(3)]
    for client in clients:
        assert client.upgrade() == 101

    fourth = RawWebSocket(server.port)
    assert fourth.upgrade() == 503
    assert fourth.response_headers["content-type"] == "application/json"
    assert fourth.response_body == b'{"error":"Too many connections"}'
    assert fourth.wait_eof(5.0), "the rejected connection was not closed"
    fourth.close()
    assert http_request(server.port, "GET", REST_PREFIX + "/status", auth=False).json() == {"isReady": True, "clientCount": 3}
    assert "event=connection_limit" in server.stderr()

    # Once one client leaves, the slot is free again. The server frees it
    # when it reads the close frame, so allow it a moment.
    clients[0].send_frame(0x8, b"\x03\xe8")
    assert clients[0].wait_close(5.0) == 1000
    clients[0].close()
    deadline = time.monotonic() + 3.0
    while True:
        replacement = RawWebSocket(server.port)
        status = replacement.upgrade()
        if status == 101 or time.monotonic() > deadline:
            break
        replacement.close()
        time.sleep(0.05)
    assert status == 101, f"upgrade after a client left: {status} {replacement.response_body!r}"
    replacement.authenticate(mint_token(JWT_SECRET, "replacement"))
    for client in clients[1:] + [replacement]:
        client.close()


def pipeline_broadcasts(port: int, first_seq: int, results: list, problems: list, start: threading.Barrier):
    """Sends PIPELINED_PER_CONNECTION broadcasts in one write on one
    connection, then reads every response."""
    try:
        rest = RestConnection(port, timeout=15.0)
        # Every connection is accepted before the burst, so the burst
        # alone decides which broadcasts find the queue full.
        start.wait(10)
        bodies = [{"topic": "burst", "data": {"seq": first_seq + i}} for i in range(PIPELINED_PER_CONNECTION)]
        rest.send_pipelined("POST", REST_PREFIX + "/broadcast", bodies)
        for i in range(PIPELINED_PER_CONNECTION):
            results.append((first_seq + i, rest.receive()))
        rest.close()
    except (OSError, threading.BrokenBarrierError) as exc:
        problems.append(f"connection for seq {first_seq}: {exc!r}")


def test_command_queue_full_answers_503(start_server):
    # One worker: a broadcast with a 200 response reached the only queue
    # and one with a 503 reached none, so deliveries can be checked exactly.
    server = start_server(workers=1, command_queue_limit=QUEUE_LIMIT)
    port = server.port
    client = authenticated_raw_client(port, "listener")
    collector = EventCollector(client, until="end")
    collector.start()
    rejected_before = read_metric(port, "signal_commands_rejected_total")

    results, problems = [], []
    start = threading.Barrier(REST_CONNECTIONS)
    threads = [
        threading.Thread(target=pipeline_broadcasts, args=(port, n * PIPELINED_PER_CONNECTION, results, problems, start))
        for n in range(REST_CONNECTIONS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads), "a REST connection hung"
    assert problems == []
    assert len(results) == REST_CONNECTIONS * PIPELINED_PER_CONNECTION

    statuses = collections.Counter(response.status for _, response in results)
    assert set(statuses) <= {200, 503}, f"statuses {dict(statuses)}"
    for seq, response in results:
        if response.status == 503:
            assert response.json() == BUSY_ERROR
            assert response.headers["content-type"] == "application/json"
            assert response.headers["retry-after"] == "1"
        else:
            assert response.json() == {"success": True}
    print(f"command queue burst: {statuses[200]} got 200, {statuses[503]} got 503")
    assert statuses[503] > 0, "the burst never filled a 16-entry queue"

    assert http_request(port, "POST", REST_PREFIX + "/broadcast", {"topic": "end"}).status == 200
    accepted = sorted(seq for seq, response in results if response.status == 200)
    received = sorted(event["data"]["seq"] for event in collector.result())
    assert received == accepted, "deliveries differ from the broadcasts answered 200"
    assert read_metric(port, "signal_commands_rejected_total") == rejected_before + statuses[503]
    client.close()


def burst_until_stopped(port: int, stop: threading.Event):
    rest = RestConnection(port)
    while not stop.is_set():
        for _ in range(40):
            rest.send("POST", REST_PREFIX + "/broadcast", {"topic": "burst"})
        for _ in range(40):
            assert rest.receive().status in (200, 503)
    rest.close()


def test_new_connections_answered_during_burst(start_server):
    # New sockets reach a worker through the same command queue as the
    # fan-out, so a full queue must not drop them (event=accept_dropped).
    server = start_server(workers=1, command_queue_limit=QUEUE_LIMIT)
    stop = threading.Event()
    bursts = [threading.Thread(target=burst_until_stopped, args=(server.port, stop), daemon=True) for _ in range(2)]
    for thread in bursts:
        thread.start()
    answered, dropped = 0, []
    deadline = time.monotonic() + 3.0
    try:
        while time.monotonic() < deadline and not dropped:
            try:
                response = http_request(server.port, "GET", REST_PREFIX + "/status", auth=False)
                assert response.status == 200
                answered += 1
            except ConnectionError as exc:
                dropped.append(repr(exc))
    finally:
        stop.set()
        for thread in bursts:
            thread.join(10)
    assert dropped == [], f"a new connection was dropped after {answered} were answered"
