"""SIGHUP reloads jwt_secret, the admin credentials, room_allow and
log_level from the config file; a file that does not parse keeps the
settings in force."""

import re
import signal
import time

from signal_testkit import (
    ADMIN_USER,
    REST_PREFIX,
    RawWebSocket,
    SessionCrypto,
    authenticate_message,
    basic_header,
    client_path,
    http_request,
    mint_token,
)

OLD_SECRET = "secret-before-reload"
NEW_SECRET = "secret-after-reload"


def write_config(path, **settings):
    values = {
        "listen": "127.0.0.1:0",
        "workers": "2",
        "admin_user": ADMIN_USER,
        "admin_password": "admin-password",
    }
    values.update(settings)
    path.write_text("# written by test_reload.py\n" + "".join(f"{key} = {value}\n" for key, value in values.items()))


def reload_and_wait(server, event: str, count_before: int, timeout: float = 5.0) -> str:
    """Send SIGHUP and wait for one more `event=...` line; return that line."""
    server.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = [line for line in server.stderr().splitlines() if f"event={event}" in line]
        if len(lines) > count_before:
            return lines[-1]
        time.sleep(0.02)
    raise AssertionError(f"no new event={event} line {timeout} s after SIGHUP")


def count_lines(server, event: str) -> int:
    return sum(f"event={event}" in line for line in server.stderr().splitlines())


def authenticate(port: int, secret: str, sub: str):
    """Return (client, None) when accepted, (None, close code) when not."""
    client = RawWebSocket(port)
    assert client.upgrade() == 101
    client.crypto = SessionCrypto()
    client.send_json(authenticate_message(mint_token(secret, sub), client.crypto))
    first = client.recv_json()
    if first.get("event") == "connected":
        client.crypto.derive(first["data"]["serverPublicKey"], first["data"]["salt"])
        client.client_id = first["data"]["id"]
        return client, None
    assert first == {"event": "error", "data": {"message": "Authentication failed"}}
    code = client.wait_close()
    client.close()
    return None, code


def rooms_of(port: int, client_id: str) -> list:
    return http_request(port, "GET", client_path(client_id)).json()["rooms"]


def join_and_wait(port: int, client: RawWebSocket, room: str) -> bool:
    """Join through an encrypted join; return whether the room was added."""
    client.send_sealed("join", {"rooms": [room]})
    # Joins have no reply; a second message on the same connection is
    # handled after the join, and its reply marks the join as done.
    client.send_json({"event": "authenticate", "data": {}})
    assert client.recv_json() == {"event": "error", "data": {"message": "Already authenticated"}}
    return room in rooms_of(port, client.client_id)


def broadcast_reaches(port: int, client: RawWebSocket, topic: str):
    assert http_request(port, "POST", REST_PREFIX + "/broadcast", {"topic": topic}).status == 200
    assert client.recv_event() == {"event": topic}


def test_sighup_applies_reloadable_settings(start_server, tmp_path):
    config = tmp_path / "signal-server.conf"
    write_config(config, jwt_secret=OLD_SECRET, room_allow="public-*", log_level="info")
    server = start_server(config_file=str(config))
    port = server.port

    existing, refused = authenticate(port, OLD_SECRET, "existing")
    assert refused is None
    assert join_and_wait(port, existing, "public-1")
    assert "level=debug" not in server.stderr()

    write_config(config, jwt_secret=NEW_SECRET, room_allow="team-*", log_level="debug")
    line = reload_and_wait(server, "reloaded", count_lines(server, "reloaded"))
    applied = re.search(r"applied=(\S+)", line).group(1).split(",")
    for key in ("jwt_secret", "admin_user", "admin_password", "room_allow", "log_level"):
        assert key in applied, f"{key} missing from {line}"

    # The client authenticated under the old secret stays and is served.
    broadcast_reaches(port, existing, "after-reload")

    # New clients need the new secret.
    _, code = authenticate(port, OLD_SECRET, "old-secret")
    assert code == 4003
    fresh, refused = authenticate(port, NEW_SECRET, "new-secret")
    assert refused is None

    # room_allow now admits team-* and no longer public-*.
    assert not join_and_wait(port, fresh, "public-2")
    assert join_and_wait(port, fresh, "team-1")
    assert not join_and_wait(port, existing, "public-3")
    assert rooms_of(port, existing.client_id)[-1] == "public-1"

    # log_level=debug: the authentication above logged at debug.
    assert re.search(r"level=debug event=authenticated client=\S+ fd=\d+ user=\"new-secret\"", server.stderr())

    # A second reload rotates the admin password.
    write_config(config, jwt_secret=NEW_SECRET, room_allow="team-*", log_level="debug", admin_password="rotated-password")
    reload_and_wait(server, "reloaded", count_lines(server, "reloaded"))
    assert http_request(port, "GET", REST_PREFIX + "/").status == 401
    rotated = {"Authorization": basic_header(ADMIN_USER, "rotated-password")}
    assert http_request(port, "GET", REST_PREFIX + "/", headers=rotated, auth=False).status == 200

    existing.close()
    fresh.close()


def test_sighup_with_invalid_file_keeps_settings(start_server, tmp_path):
    config = tmp_path / "signal-server.conf"
    write_config(config, jwt_secret=OLD_SECRET, room_allow="public-*", log_level="info")
    server = start_server(config_file=str(config))
    port = server.port
    existing, _ = authenticate(port, OLD_SECRET, "existing")

    write_config(config, jwt_secret=NEW_SECRET, room_allow="team-*", log_level="debug", workers="abc")
    line = reload_and_wait(server, "reload_failed", 0)
    assert "level=error" in line
    assert 'invalid value \\"abc\\" for workers' in line, line
    assert "kept=previous" in line
    assert count_lines(server, "reloaded") == 0

    # Everything from before stays in force.
    broadcast_reaches(port, existing, "after-failed-reload")
    _, code = authenticate(port, NEW_SECRET, "new-secret")
    assert code == 4003
    fresh, refused = authenticate(port, OLD_SECRET, "old-secret")
    assert refused is None
    assert join_and_wait(port, fresh, "public-1")
    assert not join_and_wait(port, fresh, "team-1")
    assert "level=debug" not in server.stderr()
    assert http_request(port, "GET", REST_PREFIX + "/").status == 200

    existing.close()
    fresh.close()
