"""Concurrency stress test for signal-server, meant for a ThreadSanitizer build.

For --seconds (45), at most --max-clients (300) WebSocket clients at once
connect, authenticate with the encrypted handshake, join and leave rooms,
send encrypted heartbeats and invalid wrappers, stop reading, and end with
a clean close or a dropped TCP connection. At the same time REST tasks
broadcast, send to rooms and to single clients, disconnect random live
clients, and read the client list, single clients, /status and /metrics.

A handful of sentinel clients stay connected throughout and must receive
every broadcast and every send to their rooms that got a 200 response,
once and in order. Every client checks that what it receives decrypts and that
each REST task's sequence numbers only go up.

At the end the server must still answer /status, a fresh client must
authenticate and receive a broadcast, SIGTERM must make it exit 0, and
its stderr must hold no sanitizer report. Exit status 0 when all holds,
1 with one line per failure otherwise.
"""

import argparse
import asyncio
import collections
import json
import os
import random
import signal
import sys
import time

from websockets.exceptions import ConnectionClosed, InvalidHandshake

from signal_testkit import (
    JWT_SECRET,
    REST_PREFIX,
    AsyncClient,
    ProtocolError,
    ServerProcess,
    async_http_request,
    async_pipelined_requests,
    client_path,
    mint_token,
    room_send_path,
    server_args,
)

ROOMS = [f"public-{i}" for i in range(8)]
REFUSED_ROOMS = ["private-1", "ws:broadcast", ""]
SENTINELS = 6
REST_TASKS = 3
CONNECT_TIMEOUT_S = 20.0
# Client sends of 20 KB per burst to one stalled client: about 5 MB once
# encrypted, more than the kernel buffers plus the outbound limit.
STALLED_BURST = 250
SHUTDOWN_TIMEOUT_MS = 5000

# Server settings: short timers so the auth, heartbeat and ping sweeps run
# many times during the test, and a small outbound limit so some clients
# are closed as slow consumers while others are served.
SERVER_SETTINGS = {
    "auth_timeout_ms": 1500,
    "heartbeat_interval_ms": 500,
    "heartbeat_timeout_ms": 8000,
    "idle_timeout_s": 2,
    "outbound_limit_bytes": 32768,
    "shutdown_timeout_ms": SHUTDOWN_TIMEOUT_MS,
}

# Close codes a churn client may see, by how it behaved.
EXPECTED_CLOSE = {
    "normal": {1000},  # REST disconnect
    "stalled": {1000, 4005},
    "no_auth": {4001},
    "bad_token": {4003},
}


class Stats:
    def __init__(self):
        self.counts = collections.Counter()
        self.closes = collections.Counter()
        self.failures = []
        self.live = {}  # client id -> churn client, for REST targets
        self.stalled = set()  # ids of live clients that stopped reading
        self.sentinel_ids = set()

    def fail(self, message: str):
        if len(self.failures) < 50:
            self.failures.append(message)
        self.counts["failures"] += 1


class SequenceChecker:
    """Checks that numbered messages from each REST task arrive in order."""

    def __init__(self):
        self.last = {}

    def check(self, event: dict) -> "str | None":
        data = event.get("data")
        if not isinstance(data, dict) or "task" not in data:
            return f"event without a sequence number: {json.dumps(event)[:200]}"
        task, seq = data["task"], data["seq"]
        previous = self.last.get(task, -1)
        self.last[task] = seq
        if seq <= previous:
            return f"task {task}: seq {seq} after {previous}"
        return None


def close_code_of(exc: ConnectionClosed):
    return exc.rcvd.code if exc.rcvd is not None else None


async def churn_client(stats: Stats, port: int, rng: random.Random, stop_at: float):
    """One short-lived client with a random behaviour."""
    roll = rng.random()
    if roll < 0.04:
        kind = "no_auth"
    elif roll < 0.08:
        kind = "bad_token"
    elif roll < 0.15:
        kind = "stalled"
    else:
        kind = "normal"
    client = AsyncClient(port)
    try:
        await client.connect(CONNECT_TIMEOUT_S, rcvbuf=4096 if kind == "stalled" else 0)
    except (OSError, asyncio.TimeoutError, InvalidHandshake) as exc:
        stats.fail(f"connect failed: {exc!r}")
        return
    stats.counts["connects"] += 1

    try:
        if kind == "no_auth":
            await run_unauthenticated(stats, client, rng)
        elif kind == "bad_token":
            await run_bad_token(stats, client)
        else:
            await run_authenticated(stats, client, rng, kind, stop_at)
    except ConnectionClosed as exc:
        code = close_code_of(exc)
        stats.closes[code] += 1
        if code not in EXPECTED_CLOSE[kind]:
            stats.fail(f"{kind} client {client.client_id}: closed with {code}, expected one of {sorted(EXPECTED_CLOSE[kind])}")
    except (ProtocolError, ValueError, KeyError, asyncio.TimeoutError) as exc:
        stats.fail(f"{kind} client {client.client_id}: {exc!r}")
    finally:
        stats.live.pop(client.client_id, None)
        stats.stalled.discard(client.client_id)
        client.abort()


async def run_unauthenticated(stats: Stats, client: AsyncClient, rng: random.Random):
    """Sends a join before authenticating, then waits for the 4001 close
    (or drops the connection early)."""
    await client.send_plain({"event": "join", "data": {"rooms": ["public-0"]}})
    reply = json.loads(await asyncio.wait_for(client.ws.recv(), CONNECT_TIMEOUT_S))
    if reply != {"event": "error", "data": {"message": "Not authenticated"}}:
        stats.fail(f"join before authenticate: got {reply}")
    if rng.random() < 0.5:
        return
    await asyncio.wait_for(client.ws.recv(), CONNECT_TIMEOUT_S)
    stats.fail("unauthenticated client received a message instead of the 4001 close")


async def run_bad_token(stats: Stats, client: AsyncClient):
    await client.send_plain({"event": "authenticate", "data": {"token": mint_token("wrong-secret"), "clientPublicKey": client.crypto.public_key_b64()}})
    reply = json.loads(await asyncio.wait_for(client.ws.recv(), CONNECT_TIMEOUT_S))
    if reply != {"event": "error", "data": {"message": "Authentication failed"}}:
        stats.fail(f"bad token: got {reply}")
    await asyncio.wait_for(client.ws.recv(), CONNECT_TIMEOUT_S)
    stats.fail("client with a bad token received a message instead of the 4003 close")


async def run_authenticated(stats: Stats, client: AsyncClient, rng: random.Random, kind: str, stop_at: float):
    await client.authenticate(mint_token(JWT_SECRET, f"churn-{rng.randrange(1000)}"), CONNECT_TIMEOUT_S)
    stats.counts["authenticated"] += 1
    stats.live[client.client_id] = client
    reader = asyncio.ensure_future(read_events(stats, client))
    lifetime = rng.uniform(2.0, 12.0) if kind == "stalled" else rng.uniform(0.3, 6.0)
    lifetime = min(lifetime, max(0.0, stop_at - time.monotonic()))
    end = time.monotonic() + lifetime
    try:
        if kind == "stalled":
            # Stop reading: the kernel buffers fill and the server's
            # backlog for this client grows until it is closed with 4005
            # or the client gives up.
            reader.cancel()
            client.ws.transport.pause_reading()
            stats.stalled.add(client.client_id)
            await asyncio.sleep(lifetime)
            stats.counts["stalled"] += 1
            return
        while time.monotonic() < end and not reader.done():
            await random_action(stats, client, rng)
            await asyncio.sleep(rng.uniform(0.02, 0.3))
        if reader.done():
            # The server closed the connection (a REST disconnect).
            raise reader.result()
        if rng.random() < 0.5:
            await client.close()
            stats.counts["clean_closes"] += 1
        else:
            stats.counts["dropped"] += 1
    finally:
        reader.cancel()


async def random_action(stats: Stats, client: AsyncClient, rng: random.Random):
    roll = rng.random()
    if roll < 0.3:
        rooms = rng.sample(ROOMS, rng.randint(1, 3)) + ([rng.choice(REFUSED_ROOMS)] if rng.random() < 0.2 else [])
        await client.send_sealed("join", {"rooms": rooms})
        stats.counts["joins"] += 1
    elif roll < 0.5:
        await client.send_sealed("leave", {"rooms": rng.sample(ROOMS, rng.randint(1, 3))})
        stats.counts["leaves"] += 1
    elif roll < 0.95:
        await client.send_sealed("heartbeat")
        stats.counts["heartbeats"] += 1
    else:
        # A wrapper whose tag does not verify: the server replies with an
        # error event and keeps the connection.
        client.expected_errors = getattr(client, "expected_errors", 0) + 1
        await client.send_plain({"event": "encrypted", "data": {"iv": "AAAAAAAAAAAAAAAA", "ct": "AAAAAAAAAAAAAAAAAAAAAA=="}})
        stats.counts["invalid_wrappers"] += 1


async def read_events(stats: Stats, client: AsyncClient) -> ConnectionClosed:
    """Reads until the connection closes; returns the ConnectionClosed."""
    checker = SequenceChecker()
    while True:
        try:
            event = await client.recv_event(timeout=3600)
        except ConnectionClosed as exc:
            return exc
        except (ProtocolError, ValueError, KeyError) as exc:
            stats.fail(f"client {client.client_id}: {exc!r}")
            continue
        if event.get("event") == "error":
            if event != {"event": "error", "data": {"message": "Invalid encrypted payload"}} or getattr(client, "expected_errors", 0) == 0:
                stats.fail(f"client {client.client_id}: unexpected {event}")
            else:
                client.expected_errors -= 1
            continue
        stats.counts["received"] += 1
        problem = checker.check(event)
        if problem:
            stats.fail(f"client {client.client_id}: {problem}")


class Sentinel:
    """A client that stays for the whole run and records every message."""

    def __init__(self, index: int, rooms):
        self.index = index
        self.rooms = rooms
        self.client = None
        self.received = []
        self.reader = None

    async def start(self, port: int, stats: Stats):
        self.client = await AsyncClient(port).connect(CONNECT_TIMEOUT_S)
        await self.client.authenticate(mint_token(JWT_SECRET, f"sentinel-{self.index}"), CONNECT_TIMEOUT_S)
        await self.client.send_sealed("join", {"rooms": self.rooms})
        stats.sentinel_ids.add(self.client.client_id)
        self.reader = asyncio.ensure_future(self.read(stats))

    async def read(self, stats: Stats):
        try:
            while True:
                event = await self.client.recv_event(timeout=3600)
                if event.get("event") == "error":
                    stats.fail(f"sentinel {self.index}: unexpected {event}")
                    continue
                self.received.append(event)
        except ConnectionClosed as exc:
            stats.fail(f"sentinel {self.index}: closed with {close_code_of(exc)} during the run")
        except (ProtocolError, ValueError, KeyError) as exc:
            stats.fail(f"sentinel {self.index}: {exc!r}")

    async def heartbeat(self, stop_at: float):
        while time.monotonic() < stop_at and not self.reader.done():
            await self.client.send_sealed("heartbeat")
            await asyncio.sleep(1.0)


class RestLog:
    """What each REST task sent and the status codes of the responses."""

    def __init__(self):
        self.accepted = []  # (task, seq, kind, room or None)
        self.statuses = collections.Counter()


async def rest_task(task: int, stats: Stats, log: RestLog, port: int, rng: random.Random, stop_at: float):
    seq = 0
    while time.monotonic() < stop_at:
        roll = rng.random()
        try:
            if roll < 0.35:
                seq += 1
                body = {"topic": "stress.broadcast", "data": {"task": task, "seq": seq, "pad": "x" * rng.randrange(3000)}}
                response = await async_http_request(port, "POST", REST_PREFIX + "/broadcast", body, timeout=CONNECT_TIMEOUT_S)
                check_status(stats, log, "broadcast", response, {200})
                if response.status == 200:
                    log.accepted.append((task, seq, "broadcast", None))
            elif roll < 0.6:
                seq += 1
                room = rng.choice(ROOMS)
                body = {"topic": "stress.room", "data": {"task": task, "seq": seq, "room": room}}
                response = await async_http_request(port, "POST", room_send_path(room), body, timeout=CONNECT_TIMEOUT_S)
                check_status(stats, log, "room send", response, {200})
                if response.status == 200:
                    log.accepted.append((task, seq, "room", room))
            elif roll < 0.72:
                seq += 1
                target = random_live_client(stats, rng)
                body = {"topic": "stress.direct", "data": {"task": task, "seq": seq}}
                response = await async_http_request(port, "POST", client_path(target, "send"), body, timeout=CONNECT_TIMEOUT_S)
                check_status(stats, log, "client send", response, {200})
            elif roll < 0.8:
                target = random_live_client(stats, rng)
                response = await async_http_request(port, "POST", client_path(target, "disconnect"), timeout=CONNECT_TIMEOUT_S)
                # 404 when the client left between the choice and the request.
                check_status(stats, log, "disconnect", response, {200, 404})
            elif roll < 0.88:
                response = await async_http_request(port, "GET", REST_PREFIX + "/", timeout=CONNECT_TIMEOUT_S)
                check_status(stats, log, "list", response, {200})
                if response.status == 200 and not isinstance(response.json().get("clients"), list):
                    stats.fail(f"list: no clients array in {response}")
            elif roll < 0.96:
                target = random_live_client(stats, rng)
                response = await async_http_request(port, "GET", client_path(target), timeout=CONNECT_TIMEOUT_S)
                check_status(stats, log, "show", response, {200, 404})
                if response.status == 200 and response.json().get("id") != target:
                    stats.fail(f"show {target}: got {response.body[:200]!r}")
            else:
                path = rng.choice([REST_PREFIX + "/status", "/metrics", "/readyz"])
                response = await async_http_request(port, "GET", path, auth=False, timeout=CONNECT_TIMEOUT_S)
                check_status(stats, log, path, response, {200})
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            stats.fail(f"REST task {task}: request failed: {exc!r}")
        await asyncio.sleep(rng.uniform(0.0, 0.05))


async def fill_stalled_clients(stats: Stats, port: int, rng: random.Random, stop_at: float):
    """Sends bursts of large client sends to clients that stopped reading.

    The kernel takes megabytes for a socket whose peer does not read
    (send buffer autotuning, up to tcp_wmem's maximum) before the server's
    own backlog grows, so a burst of about 4 MB is needed for the server
    to close the client with 4005 from a fan-out command while other
    threads look it up in the registry.
    """
    while time.monotonic() < stop_at:
        await asyncio.sleep(rng.uniform(0.5, 1.5))
        if not stats.stalled:
            continue
        target = rng.choice(list(stats.stalled))
        bodies = [{"topic": "stress.fill", "data": {"pad": "z" * 20000}} for _ in range(STALLED_BURST)]
        try:
            responses = await async_pipelined_requests(port, "POST", client_path(target, "send"), bodies, timeout=CONNECT_TIMEOUT_S)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError) as exc:
            stats.fail(f"burst to a stalled client: {exc!r}")
            continue
        statuses = collections.Counter(response.status for response in responses)
        if set(statuses) != {200}:
            stats.fail(f"burst to a stalled client: statuses {dict(statuses)}")
        stats.counts["stalled_bursts"] += 1


def random_live_client(stats: Stats, rng: random.Random) -> str:
    """A churn client's id (never a sentinel's), or an unknown id."""
    if stats.live and rng.random() < 0.9:
        return rng.choice(list(stats.live))
    return "00000000-0000-4000-8000-000000000000"


def check_status(stats: Stats, log: RestLog, what: str, response, allowed):
    log.statuses[(what, response.status)] += 1
    if response.status not in allowed:
        stats.fail(f"{what}: status {response.status}, expected {sorted(allowed)}: {response.body[:200]!r}")


async def spawn_clients(stats: Stats, port: int, rng: random.Random, stop_at: float, max_clients: int):
    running = set()
    while time.monotonic() < stop_at:
        running = {task for task in running if not task.done()}
        if len(running) < max_clients:
            for _ in range(min(10, max_clients - len(running))):
                running.add(asyncio.ensure_future(churn_client(stats, port, random.Random(rng.random()), stop_at)))
        stats.counts["peak_clients"] = max(stats.counts["peak_clients"], len(running) + SENTINELS)
        await asyncio.sleep(0.1)
    if running:
        await asyncio.wait(running, timeout=30)
        for task in running:
            if not task.done():
                task.cancel()
                stats.fail("a churn client was still running 30 s after the end")


def verify_sentinels(stats: Stats, sentinels, log: RestLog):
    """Each sentinel must have received exactly the accepted broadcasts and
    sends to its rooms, in the order each task sent them."""
    for sentinel in sentinels:
        expected = [(task, seq) for task, seq, kind, room in log.accepted if kind == "broadcast" or room in sentinel.rooms]
        got = [(event["data"]["task"], event["data"]["seq"]) for event in sentinel.received if event.get("event") in ("stress.broadcast", "stress.room")]
        for task in range(REST_TASKS):
            want = [seq for t, seq in expected if t == task]
            have = [seq for t, seq in got if t == task]
            if want != have:
                missing = sorted(set(want) - set(have))[:10]
                extra = sorted(set(have) - set(want))[:10]
                stats.fail(f"sentinel {sentinel.index} task {task}: {len(have)} messages, expected {len(want)}; missing {missing}, unexpected {extra}, in order: {have == sorted(have)}")
        stats.counts["sentinel_deliveries_verified"] += len(got)


async def wait_for_marker(sentinels, stats: Stats, port: int):
    """Broadcasts a marker and waits until every sentinel has it, so all
    earlier messages have arrived."""
    response = await async_http_request(port, "POST", REST_PREFIX + "/broadcast", {"topic": "stress.marker", "data": {}})
    if response.status != 200:
        stats.fail(f"marker broadcast: {response}")
        return
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if all(any(e.get("event") == "stress.marker" for e in s.received) for s in sentinels):
            return
        await asyncio.sleep(0.1)
    stats.fail("sentinels did not all receive the marker broadcast within 30 s")


async def check_server_healthy(stats: Stats, port: int):
    """The checks after the load: /status answers and a fresh client is served."""
    status = await async_http_request(port, "GET", REST_PREFIX + "/status", auth=False)
    if status.status != 200 or status.json().get("isReady") is not True:
        stats.fail(f"/status after the run: {status}")
    client = await AsyncClient(port).connect(CONNECT_TIMEOUT_S)
    try:
        await client.authenticate(mint_token(JWT_SECRET, "final-client"), CONNECT_TIMEOUT_S)
        response = await async_http_request(port, "POST", REST_PREFIX + "/broadcast", {"topic": "stress.final", "data": {"ok": True}})
        if response.status != 200:
            stats.fail(f"final broadcast: {response}")
            return
        event = await client.recv_event(timeout=CONNECT_TIMEOUT_S)
        if event != {"event": "stress.final", "data": {"ok": True}}:
            stats.fail(f"fresh client after the run received {event}, expected the final broadcast")
    finally:
        await client.close()

    metrics = (await async_http_request(port, "GET", "/metrics", auth=False)).body.decode()
    for line in metrics.splitlines():
        if line.startswith(("signal_slow_consumer_closes_total", "signal_closes_total", "signal_handshakes_total")):
            name, value = line.rsplit(" ", 1)
            stats.counts["server:" + name.replace("signal_", "").replace('"', "")] = int(float(value))


async def run_load(stats: Stats, port: int, seconds: float, max_clients: int, seed: int):
    rng = random.Random(seed)
    sentinels = [Sentinel(i, rng.sample(ROOMS, 3)) for i in range(SENTINELS)]
    for sentinel in sentinels:
        await sentinel.start(port, stats)
    # The joins were sent encrypted; confirm them before any room send counts.
    for sentinel in sentinels:
        for _ in range(100):
            info = (await async_http_request(port, "GET", client_path(sentinel.client.client_id))).json()
            if set(sentinel.rooms) <= set(info.get("rooms", [])):
                break
            await asyncio.sleep(0.05)
        else:
            stats.fail(f"sentinel {sentinel.index} did not join {sentinel.rooms}")

    stop_at = time.monotonic() + seconds
    log = RestLog()
    tasks = [spawn_clients(stats, port, rng, stop_at, max_clients - SENTINELS)]
    tasks += [rest_task(i, stats, log, port, random.Random(rng.random()), stop_at) for i in range(REST_TASKS)]
    tasks += [s.heartbeat(stop_at) for s in sentinels]
    tasks.append(fill_stalled_clients(stats, port, random.Random(rng.random()), stop_at))
    await asyncio.gather(*tasks)

    await wait_for_marker(sentinels, stats, port)
    verify_sentinels(stats, sentinels, log)
    for sentinel in sentinels:
        sentinel.reader.cancel()
        await sentinel.client.close()
    await check_server_healthy(stats, port)
    return log


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server-bin", required=True, help="signal-server binary (a ThreadSanitizer build)")
    parser.add_argument("--seconds", type=float, default=45.0, help="duration of the load, in seconds (45)")
    parser.add_argument("--max-clients", type=int, default=300, help="WebSocket clients open at once, at most (300)")
    parser.add_argument("--workers", type=int, default=4, help="server worker threads (4)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: from the clock)")
    options = parser.parse_args()
    seed = options.seed if options.seed is not None else int(time.time())

    # Keep going after a report unless the caller asked otherwise, so one
    # run shows every race it hits.
    tsan_options = os.environ.get("TSAN_OPTIONS", "halt_on_error=0:second_deadlock_stack=1")
    server = ServerProcess(options.server_bin, server_args(options.workers, **SERVER_SETTINGS), env={"TSAN_OPTIONS": tsan_options})
    server.start(timeout=60)
    print(f"stress: server on port {server.port}, {options.workers} workers, seed {seed}, {options.seconds:.0f} s, at most {options.max_clients} clients", flush=True)
    stats = Stats()
    started = time.monotonic()
    try:
        log = asyncio.run(run_load(stats, server.port, options.seconds, options.max_clients, seed))
        stopped_in = time.monotonic()
        status = server.stop(timeout=SHUTDOWN_TIMEOUT_MS / 1000 + 20)
        stopped_in = time.monotonic() - stopped_in
        if status != 0:
            stats.fail(f"SIGTERM: exit status {status}, expected 0")
        for line in server.sanitizer_lines():
            stats.fail(f"sanitizer: {line}")
        print_summary(stats, log, time.monotonic() - started, stopped_in)
        if stats.failures:
            print(f"stress: FAILED ({stats.counts['failures']} failures, seed {seed}); server stderr kept in {server.stderr_file.name}")
            for message in stats.failures:
                print("  " + message)
            tail = [line for line in server.stderr().splitlines() if "level=info" not in line and "level=debug" not in line]
            print("server stderr (warnings, errors and sanitizer output, last 80 lines):")
            print("\n".join(tail[-80:]))
            return 1
        print("stress: OK")
        server.cleanup()
        return 0
    finally:
        if server.process.poll() is None:
            server.process.send_signal(signal.SIGKILL)
            server.process.wait()


def print_summary(stats: Stats, log: RestLog, elapsed: float, stop_seconds: float):
    counts = " ".join(f"{key}={value}" for key, value in sorted(stats.counts.items()) if not key.startswith("server:"))
    server_counts = " ".join(f"{key[7:]}={value}" for key, value in sorted(stats.counts.items()) if key.startswith("server:"))
    closes = " ".join(f"{code}:{n}" for code, n in sorted(stats.closes.items(), key=lambda kv: str(kv[0])))
    statuses = " ".join(f"{what}/{status}:{n}" for (what, status), n in sorted(log.statuses.items()))
    print(f"stress: {elapsed:.1f} s; {counts}")
    print(f"stress: server metrics: {server_counts}")
    print(f"stress: close codes seen by churn clients: {closes or 'none'}")
    print(f"stress: REST responses: {statuses}")
    print(f"stress: SIGTERM to exit: {stop_seconds:.2f} s")


if __name__ == "__main__":
    sys.exit(main())
