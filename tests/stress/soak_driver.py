"""Bounded soak of signal-server: steady mixed load for --seconds, with the
server's RSS and open descriptors sampled every 10 s into a CSV file.

Load, all on loopback:
- watchers: long-lived encrypted clients, each in two rooms; each must
  receive every broadcast and every send to its rooms exactly once, in
  order (the deliveries counted as verified);
- churn: short-lived clients that connect, authenticate, join and leave
  rooms, send heartbeats, and close cleanly or drop the connection;
- REST: broadcasts and room sends at a steady rate, client sends,
  disconnects of churn clients, list and show requests;
- signal-bench: every --bench-interval seconds, when the binary exists, a
  `signal-bench smoke` run (200 clients, exactly-once check) while the
  driver's broadcasts pause, since signal-bench counts events it did not
  send as errors.

The run fails when any error is seen, when the mean RSS of the last
minute exceeds the mean RSS around the midpoint by more than
--rss-margin-kib, when the server has more descriptors open after the
churn than before it, or when SIGTERM does not end the server with status 0.
"""

import argparse
import asyncio
import csv
import json
import os
import random
import statistics
import sys
import time

from websockets.exceptions import ConnectionClosed, InvalidHandshake

from signal_testkit import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    JWT_SECRET,
    REST_PREFIX,
    AsyncClient,
    ProtocolError,
    ServerProcess,
    async_http_request,
    client_path,
    mint_token,
    proc_status_field,
    room_send_path,
    server_args,
)

ROOMS = [f"public-soak-{i}" for i in range(8)]
WATCHERS = 40
MAX_CHURN_CLIENTS = 80
SAMPLE_PERIOD_S = 10
BROADCAST_PERIOD_S = 0.1
ROOM_SEND_PERIOD_S = 0.1
REST_MISC_PERIOD_S = 0.25
TIMEOUT_S = 20.0
# Far above the queue depth this load reaches (tens of commands a second).
SOAK_COMMAND_QUEUE_LIMIT = 1024


class Soak:
    def __init__(self, port: int, seed: int):
        self.port = port
        self.rng = random.Random(seed)
        self.errors = []
        self.error_count = 0
        self.counts = {"verified": 0, "churn_connects": 0, "churn_received": 0, "broadcasts": 0, "room_sends": 0,
                       "client_sends": 0, "disconnects": 0, "joins": 0, "leaves": 0, "bench_runs": 0,
                       "bench_deliveries": 0, "disconnects_seen_as_reset": 0}
        self.live = {}  # churn client id -> client
        self.disconnect_targets = set()  # churn client ids sent to REST disconnect
        self.max_loop_lag = 0.0
        self.reset_clients = []  # disconnect targets that saw a reset
        self.broadcasts_allowed = asyncio.Event()
        self.broadcasts_allowed.set()
        self.broadcast_idle = asyncio.Event()
        self.broadcast_idle.set()
        self.stopping = False

    def error(self, message: str):
        self.error_count += 1
        if len(self.errors) < 50:
            self.errors.append(f"{time.strftime('%H:%M:%S')} {message}")
        print(f"soak: error: {message}", flush=True)


class Watcher:
    """A client that stays for the whole soak and checks exact delivery."""

    def __init__(self, index: int, rooms):
        self.index = index
        self.rooms = rooms
        self.client = None
        self.next_broadcast = None  # set by the first broadcast seen
        self.next_room = {}

    async def start(self, soak: Soak):
        self.client = await AsyncClient(soak.port).connect(TIMEOUT_S)
        await self.client.authenticate(mint_token(JWT_SECRET, f"watcher-{self.index}"), TIMEOUT_S)
        await self.client.send_sealed("join", {"rooms": self.rooms})

    async def read(self, soak: Soak, first_broadcast: int, first_room_seq: dict):
        """Checks that broadcasts and room sends arrive exactly once, in order,
        starting from the sequence numbers sent after the watchers joined."""
        self.next_broadcast = first_broadcast
        self.next_room = {room: first_room_seq[room] for room in self.rooms}
        try:
            while True:
                event = await self.client.recv_event(timeout=3600)
                topic = event.get("event")
                if topic == "soak.broadcast":
                    seq = event["data"]["seq"]
                    if seq != self.next_broadcast:
                        soak.error(f"watcher {self.index}: broadcast {seq}, expected {self.next_broadcast}")
                    self.next_broadcast = seq + 1
                    soak.counts["verified"] += 1
                elif topic == "soak.room":
                    room, seq = event["data"]["room"], event["data"]["seq"]
                    if room not in self.next_room:
                        soak.error(f"watcher {self.index}: send to {room}, which it never joined")
                    elif seq != self.next_room[room]:
                        soak.error(f"watcher {self.index}: {room} send {seq}, expected {self.next_room[room]}")
                    self.next_room[room] = seq + 1
                    soak.counts["verified"] += 1
                elif topic == "error":
                    soak.error(f"watcher {self.index}: {event}")
                # Anything else is signal-bench traffic, which is not ours to check.
        except ConnectionClosed as exc:
            if not soak.stopping:
                soak.error(f"watcher {self.index}: closed with {exc.rcvd.code if exc.rcvd else None}")
        except (ProtocolError, ValueError, KeyError) as exc:
            soak.error(f"watcher {self.index}: {exc!r}")

    async def heartbeat(self, soak: Soak):
        while not soak.stopping:
            await self.client.send_sealed("heartbeat")
            await asyncio.sleep(20)


async def rest(soak: Soak, method: str, path: str, body=None, allowed=(200,)):
    """One REST request; a failure or an unexpected status is an error."""
    try:
        response = await async_http_request(soak.port, method, path, body, timeout=TIMEOUT_S)
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError) as exc:
        soak.error(f"{method} {path}: {exc!r}")
        return None
    if response.status not in allowed:
        soak.error(f"{method} {path}: status {response.status}: {response.body[:200]!r}")
    return response


async def broadcaster(soak: Soak, state: dict):
    while not soak.stopping:
        await soak.broadcasts_allowed.wait()
        soak.broadcast_idle.clear()
        seq = state["broadcast"]
        response = await rest(soak, "POST", REST_PREFIX + "/broadcast",
                              {"topic": "soak.broadcast", "data": {"seq": seq, "pad": "b" * 200}})
        soak.broadcast_idle.set()
        if response is not None and response.status == 200:
            state["broadcast"] = seq + 1
            soak.counts["broadcasts"] += 1
        await asyncio.sleep(BROADCAST_PERIOD_S)


async def room_sender(soak: Soak, state: dict):
    turn = 0
    while not soak.stopping:
        room = ROOMS[turn % len(ROOMS)]
        turn += 1
        seq = state[room]
        response = await rest(soak, "POST", room_send_path(room), {"topic": "soak.room", "data": {"room": room, "seq": seq}})
        if response is not None and response.status == 200:
            state[room] = seq + 1
            soak.counts["room_sends"] += 1
        await asyncio.sleep(ROOM_SEND_PERIOD_S)


async def rest_misc(soak: Soak):
    """Client sends, disconnects, list and show requests on churn clients."""
    rng = random.Random(soak.rng.random())
    while not soak.stopping:
        target = rng.choice(list(soak.live)) if soak.live else "00000000-0000-4000-8000-000000000000"
        roll = rng.random()
        if roll < 0.4:
            await rest(soak, "POST", client_path(target, "send"), {"topic": "soak.direct", "data": {"n": rng.random()}})
            soak.counts["client_sends"] += 1
        elif roll < 0.55:
            # 404 when the client left between the choice and the request.
            soak.disconnect_targets.add(target)
            response = await rest(soak, "POST", client_path(target, "disconnect"), allowed=(200, 404))
            if response is not None and response.status == 200:
                soak.counts["disconnects"] += 1
        elif roll < 0.75:
            await rest(soak, "GET", client_path(target), allowed=(200, 404))
        elif roll < 0.9:
            response = await rest(soak, "GET", REST_PREFIX + "/")
            if response is not None and response.status == 200 and not isinstance(response.json().get("clients"), list):
                soak.error(f"list without a clients array: {response.body[:200]!r}")
        else:
            await rest(soak, "GET", "/metrics")
        await asyncio.sleep(REST_MISC_PERIOD_S)


async def churn_client(soak: Soak, rng: random.Random):
    client = AsyncClient(soak.port)
    try:
        await client.connect(TIMEOUT_S)
        await client.authenticate(mint_token(JWT_SECRET, f"churn-{rng.randrange(1000)}"), TIMEOUT_S)
    except (OSError, asyncio.TimeoutError, InvalidHandshake, ConnectionClosed, ProtocolError, KeyError) as exc:
        soak.error(f"churn client could not connect: {exc!r}")
        client.abort()
        return
    soak.counts["churn_connects"] += 1
    soak.live[client.client_id] = client
    reader = asyncio.ensure_future(churn_reader(soak, client))
    end = time.monotonic() + rng.uniform(1.0, 10.0)
    try:
        while time.monotonic() < end and not reader.done() and not soak.stopping:
            roll = rng.random()
            if roll < 0.3:
                await client.send_sealed("join", {"rooms": rng.sample(ROOMS, 2)})
                soak.counts["joins"] += 1
            elif roll < 0.5:
                await client.send_sealed("leave", {"rooms": rng.sample(ROOMS, 2)})
                soak.counts["leaves"] += 1
            else:
                await client.send_sealed("heartbeat")
            await asyncio.sleep(rng.uniform(0.2, 1.0))
        if reader.done():
            check_churn_close(soak, client, reader.result(), "while reading")
        elif rng.random() < 0.5:
            await client.close()
    except ConnectionClosed as exc:
        check_churn_close(soak, client, exc, "while sending")
    finally:
        soak.live.pop(client.client_id, None)
        soak.disconnect_targets.discard(client.client_id)
        reader.cancel()
        client.abort()


def check_churn_close(soak: Soak, client: AsyncClient, closed: "ConnectionClosed | None", when: str):
    """A churn client may only be closed by a REST disconnect (code 1000).

    The server half-closes the TCP connection right after its close frame.
    When the client writes just as both arrive, python3-websockets 10.4
    fails the connection on the write before it parses the buffered close
    frame, and reports no close code. For a disconnect target that counts
    as the disconnect, not as an error.
    """
    code = closed.rcvd.code if closed is not None and closed.rcvd else None
    if code == 1000:
        return
    if code is None and client.client_id in soak.disconnect_targets:
        soak.counts["disconnects_seen_as_reset"] += 1
        soak.reset_clients.append(client.client_id)
        return
    soak.error(f"churn client {client.client_id}: closed with {code} {when}")


async def loop_lag(soak: Soak):
    """Records how late the event loop runs a 100 ms sleep."""
    while not soak.stopping:
        started = time.monotonic()
        await asyncio.sleep(0.1)
        soak.max_loop_lag = max(soak.max_loop_lag, time.monotonic() - started - 0.1)


async def churn_reader(soak: Soak, client: AsyncClient):
    """Checks that a churn client's messages decrypt and that each stream's
    sequence numbers only go up; returns the ConnectionClosed at the end."""
    last = {}
    while True:
        try:
            event = await client.recv_event(timeout=3600)
        except ConnectionClosed as exc:
            return exc
        except (ProtocolError, ValueError, KeyError) as exc:
            soak.error(f"churn client {client.client_id}: {exc!r}")
            continue
        topic = event.get("event")
        if topic == "error":
            soak.error(f"churn client {client.client_id}: {event}")
            continue
        soak.counts["churn_received"] += 1
        if topic in ("soak.broadcast", "soak.room"):
            stream = event["data"].get("room", "broadcast")
            seq = event["data"]["seq"]
            if seq <= last.get(stream, -1):
                soak.error(f"churn client {client.client_id}: {stream} seq {seq} after {last[stream]}")
            last[stream] = seq


async def churn(soak: Soak):
    running = set()
    while not soak.stopping:
        running = {task for task in running if not task.done()}
        for _ in range(min(4, MAX_CHURN_CLIENTS - len(running))):
            running.add(asyncio.ensure_future(churn_client(soak, random.Random(soak.rng.random()))))
        await asyncio.sleep(0.2)
    if running:
        await asyncio.wait(running, timeout=30)


async def bench_runs(soak: Soak, bench: str, interval: float):
    """Runs `signal-bench smoke` every interval seconds with the driver's
    broadcasts paused."""
    while not soak.stopping:
        await asyncio.sleep(interval)
        if soak.stopping:
            return
        soak.broadcasts_allowed.clear()
        await soak.broadcast_idle.wait()
        # Broadcasts already posted must reach the bench clients' workers
        # before they connect; a short pause is enough on loopback.
        await asyncio.sleep(0.5)
        process = await asyncio.create_subprocess_exec(
            bench, "smoke", "--target", f"127.0.0.1:{soak.port}", "--jwt-secret", JWT_SECRET,
            "--admin-user", ADMIN_USER, "--admin-password", ADMIN_PASSWORD, "--json",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        stdout, stderr = await process.communicate()
        soak.broadcasts_allowed.set()
        soak.counts["bench_runs"] += 1
        try:
            result = json.loads(stdout)
        except ValueError:
            soak.error(f"signal-bench smoke exited {process.returncode} without JSON: {stderr.decode()[-500:]}")
            continue
        soak.counts["bench_deliveries"] += result["deliveries"]["delivered"]
        if process.returncode != 0 or not result.get("passed"):
            soak.error(f"signal-bench smoke failed: errors {result.get('errors')}, deliveries {result.get('deliveries', {}).get('lost')} lost")


async def sampler(soak: Soak, server: ServerProcess, rows: list, writer, csv_file, started: float):
    while not soak.stopping:
        status = await rest(soak, "GET", REST_PREFIX + "/status")
        row = {
            "elapsed_s": round(time.monotonic() - started),
            "rss_kib": server.rss_kib(),
            "fds": server.fd_count(),
            "threads": proc_status_field(server.process.pid, "Threads"),
            "ws_clients": status.json()["clientCount"] if status is not None else "",
            "verified_deliveries": soak.counts["verified"],
            "churn_connects": soak.counts["churn_connects"],
            "bench_runs": soak.counts["bench_runs"],
            "errors": soak.error_count,
        }
        rows.append(row)
        writer.writerow(row)
        csv_file.flush()
        print("soak: " + " ".join(f"{key}={value}" for key, value in row.items()), flush=True)
        await asyncio.sleep(SAMPLE_PERIOD_S)


async def settled_fd_count(server: ServerProcess, expected: int, timeout: float) -> int:
    """Wait up to timeout for the count to come down to expected; return it."""
    deadline = time.monotonic() + timeout
    count = server.fd_count()
    while count > expected and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        count = server.fd_count()
    return count


async def run(options, server: ServerProcess, csv_file) -> dict:
    soak = Soak(server.port, options.seed)
    rng = soak.rng
    watchers = [Watcher(i, rng.sample(ROOMS, 2)) for i in range(WATCHERS)]
    for watcher in watchers:
        await watcher.start(soak)
    for watcher in watchers:
        for _ in range(100):
            info = await rest(soak, "GET", client_path(watcher.client.client_id))
            if info is not None and set(watcher.rooms) <= set(info.json().get("rooms", [])):
                break
            await asyncio.sleep(0.05)
        else:
            soak.error(f"watcher {watcher.index} did not join {watcher.rooms}")
    # Every descriptor the server needs with only the watchers connected,
    # once the REST connections above are closed on its side too.
    await asyncio.sleep(1)
    baseline_fds = server.fd_count()

    state = {"broadcast": 0, **{room: 0 for room in ROOMS}}
    readers = [asyncio.ensure_future(w.read(soak, 0, {room: 0 for room in ROOMS})) for w in watchers]
    heartbeats = [asyncio.ensure_future(w.heartbeat(soak)) for w in watchers]
    writer = csv.DictWriter(csv_file, fieldnames=["elapsed_s", "rss_kib", "fds", "threads", "ws_clients",
                                                  "verified_deliveries", "churn_connects", "bench_runs", "errors"])
    writer.writeheader()
    rows = []
    started = time.monotonic()
    tasks = [asyncio.ensure_future(task) for task in (
        broadcaster(soak, state), room_sender(soak, state), rest_misc(soak), churn(soak), loop_lag(soak),
        sampler(soak, server, rows, writer, csv_file, started))]
    if options.bench:
        tasks.append(asyncio.ensure_future(bench_runs(soak, options.bench, options.bench_interval)))

    await asyncio.sleep(options.seconds)
    final_row_at = time.monotonic()
    soak.stopping = True
    await asyncio.wait(tasks, timeout=60)

    # Every send has its response by now. Let the last deliveries arrive,
    # then check that each watcher got everything up to the last accepted
    # message.
    await asyncio.sleep(2)
    for watcher in watchers:
        if watcher.next_broadcast != state["broadcast"]:
            soak.error(f"watcher {watcher.index}: received broadcasts up to {watcher.next_broadcast}, sent {state['broadcast']}")
        for room in watcher.rooms:
            if watcher.next_room[room] != state[room]:
                soak.error(f"watcher {watcher.index}: received {room} sends up to {watcher.next_room[room]}, sent {state[room]}")

    end_fds = await settled_fd_count(server, baseline_fds, 10)
    if end_fds > baseline_fds:
        soak.error(f"{end_fds} descriptors after the churn, {baseline_fds} before it with the same watchers connected")
    for task in readers + heartbeats:
        task.cancel()
    for watcher in watchers:
        await watcher.client.close()
    return {"soak": soak, "rows": rows, "baseline_fds": baseline_fds, "end_fds": end_fds,
            "seconds": final_row_at - started}


def rss_growth(rows: list, seconds: float):
    """Mean RSS of the last minute minus mean RSS within 30 s of the midpoint."""
    middle = seconds / 2
    around_middle = [row["rss_kib"] for row in rows if abs(row["elapsed_s"] - middle) <= 30]
    last_minute = [row["rss_kib"] for row in rows if row["elapsed_s"] >= seconds - 60]
    if not around_middle or not last_minute:
        return None, None, None
    mid, end = statistics.mean(around_middle), statistics.mean(last_minute)
    return mid, end, end - mid


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server-bin", required=True, help="signal-server binary (a release build)")
    parser.add_argument("--bench", default=None, help="signal-bench binary; smoke runs are skipped without it")
    parser.add_argument("--seconds", type=float, default=900, help="duration of the load, in seconds (900)")
    parser.add_argument("--csv", required=True, help="file for the samples")
    parser.add_argument("--rss-margin-kib", type=int, default=4096, help="allowed RSS growth over the second half, in KiB (4096)")
    parser.add_argument("--bench-interval", type=float, default=30, help="seconds between signal-bench smoke runs (30)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: from the clock)")
    parser.add_argument("--log-level", default="info", help="the server's log_level (info); debug logs every close")
    options = parser.parse_args()
    if options.seed is None:
        options.seed = int(time.time())
    if options.bench and not os.access(options.bench, os.X_OK):
        print(f"soak: {options.bench} not found; running without signal-bench smoke runs", flush=True)
        options.bench = None

    # Each worker's command queue is a ring allocated at start whose pages
    # are touched as commands pass through, so RSS rises for the first
    # (limit + 4096) commands per worker: about 2.1 MiB each with the
    # default limit of 65536. A small limit ends that rise within the
    # first minute, so growth in the second half points at a leak.
    server = ServerProcess(options.server_bin, server_args(2, room_allow="public-*", log_level=options.log_level,
                                                           command_queue_limit=SOAK_COMMAND_QUEUE_LIMIT))
    server.start()
    print(f"soak: server pid {server.process.pid} on port {server.port}, {options.seconds:.0f} s, seed {options.seed}, "
          f"samples in {options.csv}, server log in {server.stderr_file.name}", flush=True)
    try:
        with open(options.csv, "w", newline="") as csv_file:
            result = asyncio.run(run(options, server, csv_file))
        status = server.stop(timeout=30)
    finally:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()

    soak, rows = result["soak"], result["rows"]
    if status != 0:
        soak.error(f"SIGTERM: exit status {status}, expected 0")
    mid, end, growth = rss_growth(rows, result["seconds"])
    if growth is None:
        soak.error("too few samples to compare RSS between the midpoint and the end")
    elif growth > options.rss_margin_kib:
        soak.error(f"RSS grew by {growth:.0f} KiB over the second half ({mid:.0f} -> {end:.0f} KiB), margin {options.rss_margin_kib} KiB")

    counts = " ".join(f"{key}={value}" for key, value in soak.counts.items())
    print(f"soak: {result['seconds']:.0f} s; {counts}")
    print(f"soak: the driver's event loop ran up to {soak.max_loop_lag:.2f} s late")
    if growth is not None:
        print(f"soak: RSS first {rows[0]['rss_kib']} KiB, max {max(r['rss_kib'] for r in rows)} KiB, "
              f"midpoint mean {mid:.0f} KiB, last-minute mean {end:.0f} KiB, growth {growth:+.0f} KiB")
    print(f"soak: descriptors with the watchers only: {result['baseline_fds']} before the churn, {result['end_fds']} after; "
          f"max during the run {max(r['fds'] for r in rows)}")
    print(f"soak: server exit status {status}")
    if soak.error_count:
        print(f"soak: FAILED with {soak.error_count} errors; server stderr kept in {server.stderr_file.name}")
        for message in soak.errors:
            print("  " + message)
        return 1
    print("soak: OK")
    if soak.reset_clients:
        print(f"soak: server log kept in {server.stderr_file.name}; disconnect targets that saw a reset: "
              + " ".join(soak.reset_clients[:10]))
    else:
        server.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
