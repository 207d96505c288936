"""End-to-end tests of signalctl against a running signal-server.

Each test starts the daemon (conftest.py) and connects real encrypted
WebSocket clients where the command needs one. It then runs the signalctl
binary and checks its standard output, standard error and exit status (0
success, 1 rejected by the server, 2 usage error, 3 unreachable).
"""

import asyncio
import base64
import functools
import json
import pathlib
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request

from signal_client import API_PREFIX, SignalClient, mint_token

TOP = pathlib.Path(__file__).resolve().parents[2]
USAGE_HINT = "Try 'signalctl --help' for more information.\n"


def run_async(test):
    """Run an async test body to completion in a fresh event loop."""
    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))
    return wrapper


def ctl(signalctl_path, *args, server=None, auth=True, env=None, stdin=None,
        config="/dev/null"):
    """Run signalctl with the server's URL and admin credentials as flags."""
    command = [signalctl_path]
    if config is not None:
        command += ["--config", config]
    if server is not None:
        command += ["--url", server.url]
        if auth:
            command += ["--user", server.user, "--password", server.password]
    command += list(args)
    return subprocess.run(command, input=stdin, capture_output=True, text=True,
                          env=env or {"PATH": "/usr/bin:/bin"}, timeout=30)


def api_get(server, path):
    """GET an API path directly, as an independent view of the server."""
    request = urllib.request.Request(server.url + API_PREFIX + path)
    pair = f"{server.user}:{server.password}".encode()
    request.add_header("Authorization", "Basic " + base64.b64encode(pair).decode())
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def iso_time(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))


def expected_table(clients):
    rows = [["ID", "USER", "STATE", "ENC", "ROOMS", "CONNECTED", "LAST ACTIVITY"]]
    for c in clients:
        rows.append([c["id"], c.get("userId") or "-", c["state"],
                     "yes" if c["encrypted"] else "no",
                     ",".join(c["rooms"]) or "-",
                     iso_time(c["connectedAt"]), iso_time(c["lastActivity"])])
    widths = [max(len(row[i]) for row in rows) for i in range(7)]
    lines = []
    for row in rows:
        cells = [row[i].ljust(widths[i] + 2) for i in range(6)] + [row[6]]
        lines.append("".join(cells) + "\n")
    return "".join(lines)


def free_port():
    """Return a loopback port that nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def project_version():
    text = (TOP / "meson.build").read_text()
    return re.search(r"version\s*:\s*'([^']+)'", text).group(1)


# --- Commands that succeed -------------------------------------------------


def test_version_prints_project_version(signalctl_path):
    result = ctl(signalctl_path, "--version", config=None)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"signalctl {project_version()}\n"
    assert result.stderr == ""


def test_help_lists_every_command(signalctl_path):
    result = ctl(signalctl_path, "--help", config=None)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: signalctl [OPTIONS] COMMAND [ARGS]\n")
    for command in ("status", "list [--json]", "show [--json] ID",
                    "broadcast TOPIC [DATA]", "send-room ROOM TOPIC [DATA]",
                    "send ID TOPIC [DATA]", "disconnect ID"):
        assert f"\n  {command} " in result.stdout, command


@run_async
async def test_status_counts_open_connections(signalctl_path, server):
    client = await SignalClient.connect(server.ws_url, server.jwt_secret, "user-1")
    try:
        result = ctl(signalctl_path, "status", server=server, auth=False)
        assert result.returncode == 0, result.stderr
        assert result.stdout == "ready:    yes\nclients:  1\n"
        assert result.stderr == ""
    finally:
        await client.close()


def test_status_json_prints_server_json(signalctl_path, server):
    result = ctl(signalctl_path, "status", "--json", server=server, auth=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"isReady": True, "clientCount": 0}


@run_async
async def test_list_prints_aligned_table(signalctl_path, server):
    first = await SignalClient.connect(server.ws_url, server.jwt_secret, "alice")
    second = await SignalClient.connect(server.ws_url, server.jwt_secret, "bob-longer-name")
    try:
        clients = api_get(server, "/")["clients"]
        result = ctl(signalctl_path, "list", server=server)
        assert result.returncode == 0, result.stderr
        assert result.stdout == expected_table(clients)
        assert {c["id"] for c in clients} == {first.id, second.id}
        assert result.stderr == ""
    finally:
        await first.close()
        await second.close()


def test_list_with_no_clients_prints_header_only(signalctl_path, server):
    result = ctl(signalctl_path, "list", server=server)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ID  USER  STATE  ENC  ROOMS  CONNECTED  LAST ACTIVITY\n"


@run_async
async def test_list_json_prints_server_json(signalctl_path, server):
    client = await SignalClient.connect(server.ws_url, server.jwt_secret, "user-1")
    try:
        result = ctl(signalctl_path, "list", "--json", server=server)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == api_get(server, "/")
        assert [c["id"] for c in json.loads(result.stdout)["clients"]] == [client.id]
    finally:
        await client.close()


@run_async
async def test_show_prints_client_fields(signalctl_path, server):
    client = await SignalClient.connect(server.ws_url, server.jwt_secret, "user-7")
    try:
        info = api_get(server, "/" + client.id)
        result = ctl(signalctl_path, "show", client.id, server=server)
        assert result.returncode == 0, result.stderr
        assert result.stdout == (
            f"id:             {client.id}\n"
            f"user:           {info.get('userId') or '-'}\n"
            f"state:          authenticated\n"
            f"encrypted:      yes\n"
            f"rooms:          {','.join(info['rooms'])}\n"
            f"connected:      {iso_time(info['connectedAt'])}\n"
            f"last activity:  {iso_time(info['lastActivity'])}\n"
            f"metadata:       {json.dumps(info['metadata'], separators=(',', ':'))}\n")
        assert client.id in info["rooms"]
    finally:
        await client.close()


@run_async
async def test_broadcast_reaches_client(signalctl_path, server):
    client = await SignalClient.connect(server.ws_url, server.jwt_secret, "user-1")
    try:
        result = ctl(signalctl_path, "broadcast", "order.updated",
                     '{"orderId": "123", "items": [1, 2.5, true]}',
                     server=server)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["success"] is True
        event = await client.receive()
        assert event == {"event": "order.updated",
                         "data": {"orderId": "123", "items": [1, 2.5, True]}}
    finally:
        await client.close()


@run_async
async def test_broadcast_reads_data_from_stdin(signalctl_path, server):
    client = await SignalClient.connect(server.ws_url, server.jwt_secret, "user-1")
    try:
        result = ctl(signalctl_path, "broadcast", "stock", "-", server=server,
                     stdin='[1, 2, {"three": null}]\n')
        assert result.returncode == 0, result.stderr
        assert await client.receive() == {"event": "stock",
                                          "data": [1, 2, {"three": None}]}
    finally:
        await client.close()


@run_async
async def test_broadcast_without_data_sends_null(signalctl_path, server):
    client = await SignalClient.connect(server.ws_url, server.jwt_secret, "user-1")
    try:
        result = ctl(signalctl_path, "broadcast", "ping.all", server=server)
        assert result.returncode == 0, result.stderr
        assert await client.receive() == {"event": "ping.all", "data": None}
    finally:
        await client.close()


@run_async
async def test_send_room_reaches_members_only(signalctl_path, server):
    # The room name needs percent-encoding: a space, a slash and a '%'.
    room = "public-a b/c%"
    member = await SignalClient.connect(server.ws_url, server.jwt_secret, "member")
    outsider = await SignalClient.connect(server.ws_url, server.jwt_secret, "outsider")
    try:
        await member.send_encrypted("join", {"rooms": [room]})
        for _ in range(50):
            if room in api_get(server, "/" + member.id)["rooms"]:
                break
            await asyncio.sleep(0.05)
        assert room in api_get(server, "/" + member.id)["rooms"]

        result = ctl(signalctl_path, "send-room", room, "room.news", '{"n": 1}',
                     server=server)
        assert result.returncode == 0, result.stderr
        assert await member.receive() == {"event": "room.news", "data": {"n": 1}}
        await outsider.expect_nothing()
    finally:
        await member.close()
        await outsider.close()


@run_async
async def test_send_reaches_one_client(signalctl_path, server):
    target = await SignalClient.connect(server.ws_url, server.jwt_secret, "target")
    other = await SignalClient.connect(server.ws_url, server.jwt_secret, "other")
    try:
        result = ctl(signalctl_path, "send", target.id, "direct", '"hello"',
                     server=server)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["success"] is True
        assert await target.receive() == {"event": "direct", "data": "hello"}
        await other.expect_nothing()
    finally:
        await target.close()
        await other.close()


def test_send_to_unknown_client_succeeds(signalctl_path, server):
    # The client may live on another instance, so the API returns 200.
    result = ctl(signalctl_path, "send", "no-such-client", "direct", "1",
                 server=server)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["success"] is True


@run_async
async def test_disconnect_closes_client_with_1000(signalctl_path, server):
    client = await SignalClient.connect(server.ws_url, server.jwt_secret, "user-1")
    result = ctl(signalctl_path, "disconnect", client.id, server=server)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"success": True}
    await asyncio.wait_for(client.ws.wait_closed(), 5)
    assert client.ws.close_code == 1000

    shown = ctl(signalctl_path, "show", client.id, server=server)
    assert shown.returncode == 1
    assert shown.stderr == "signalctl: server returned 404 Not Found: Client not found\n"


@run_async
async def test_token_authenticates_as_bearer(signalctl_path, server):
    client = await SignalClient.connect(server.ws_url, server.jwt_secret, "user-1")
    try:
        token = mint_token(server.jwt_secret, "operator")
        result = ctl(signalctl_path, "--url", server.url, "--token", token,
                     "list", "--json")
        assert result.returncode == 0, result.stderr
        assert [c["id"] for c in json.loads(result.stdout)["clients"]] == [client.id]
    finally:
        await client.close()


def test_config_file_supplies_url_and_credentials(signalctl_path, server, tmp_path):
    address = server.url.removeprefix("http://")
    config = tmp_path / "signal-server.conf"
    config.write_text(
        "# as the daemon reads it\n"
        f"listen = {address}\n"
        "jwt_secret = not-read-by-signalctl\n"
        f"admin_user = {server.user}\n"
        f"admin_password={server.password}\n")
    result = ctl(signalctl_path, "list", "--json", config=str(config))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"clients": []}


def test_environment_overrides_config_file(signalctl_path, server, tmp_path):
    address = server.url.removeprefix("http://")
    config = tmp_path / "signal-server.conf"
    config.write_text(f"listen = {address}\nadmin_user = {server.user}\n"
                      f"admin_password = {server.password}\n")
    env = {"PATH": "/usr/bin:/bin", "SIGNALCTL_PASSWORD": "wrong-password"}
    result = ctl(signalctl_path, "list", config=str(config), env=env)
    assert result.returncode == 1
    assert result.stderr.startswith("signalctl: server returned 401 Unauthorized")

    env = {"PATH": "/usr/bin:/bin", "SIGNALCTL_URL": server.url,
           "SIGNALCTL_USER": server.user, "SIGNALCTL_PASSWORD": server.password}
    result = ctl(signalctl_path, "list", "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"clients": []}


# --- Rejected by the server: exit status 1 ---------------------------------


def test_show_unknown_client_exits_1(signalctl_path, server):
    result = ctl(signalctl_path, "show", "no-such-client", server=server)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == "signalctl: server returned 404 Not Found: Client not found\n"


def test_disconnect_unknown_client_exits_1(signalctl_path, server):
    result = ctl(signalctl_path, "disconnect", "no-such-client", server=server)
    assert result.returncode == 1
    assert result.stderr == "signalctl: server returned 404 Not Found: Client not found\n"


def test_wrong_password_exits_1_with_401(signalctl_path, server):
    result = ctl(signalctl_path, "--url", server.url, "--user", server.user,
                 "--password", "wrong-password", "list")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("signalctl: server returned 401 Unauthorized")
    assert result.stderr.endswith("(check --user/--password or --token)\n")


def test_missing_credentials_exit_1_with_401(signalctl_path, server):
    result = ctl(signalctl_path, "list", server=server, auth=False)
    assert result.returncode == 1
    assert result.stderr.startswith("signalctl: server returned 401 Unauthorized")


# --- Usage errors: exit status 2 -------------------------------------------


def test_invalid_data_is_usage_error(signalctl_path, server):
    result = ctl(signalctl_path, "broadcast", "topic", '[1,,2]', server=server)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == ("signalctl: DATA is not valid JSON (parsing stopped "
                             "at byte 3 of 6, near ',2]')\n" + USAGE_HINT)


def test_truncated_data_is_usage_error(signalctl_path, server):
    result = ctl(signalctl_path, "send", "some-id", "topic", "-", server=server,
                 stdin='{"a": [1, 2\n')
    assert result.returncode == 2
    assert result.stderr == ("signalctl: DATA is not valid JSON (parsing stopped "
                             "at byte 11 of 11)\n" + USAGE_HINT)


def test_usage_errors_exit_2(signalctl_path):
    cases = [
        ((), "signalctl: no command given\n"),
        (("frobnicate",), "signalctl: unknown command 'frobnicate'\n"),
        (("--frobnicate", "status"), "signalctl: unknown option '--frobnicate'\n"),
        (("show",), "signalctl: show takes [--json] ID (missing arguments)\n"),
        (("disconnect", "a", "b"), "signalctl: disconnect takes ID (too many arguments)\n"),
        (("broadcast", "--json", "t"), "signalctl: broadcast: unknown option '--json'\n"),
        (("--url", "https://127.0.0.1:8443", "status"),
         "signalctl: invalid URL 'https://127.0.0.1:8443': https is not supported; "
         "reach the daemon's own http port, or a proxy's http port\n"),
        (("--url", "http://127.0.0.1:99999", "status"),
         "signalctl: invalid URL 'http://127.0.0.1:99999': the port must be a "
         "number from 1 to 65535\n"),
        (("--timeout", "0", "status"),
         "signalctl: invalid --timeout '0': give seconds, more than 0 and at most 3600\n"),
        (("--url",), "signalctl: option '--url' needs a value\n"),
    ]
    for args, message in cases:
        result = ctl(signalctl_path, *args)
        assert (result.returncode, result.stderr) == (2, message + USAGE_HINT), args


def test_missing_named_config_file_is_usage_error(signalctl_path, tmp_path):
    missing = tmp_path / "absent.conf"
    result = ctl(signalctl_path, "status", config=str(missing))
    assert result.returncode == 2
    assert result.stderr == (f"signalctl: cannot read config file {missing}: "
                             "No such file or directory\n" + USAGE_HINT)


# --- Unreachable: exit status 3 --------------------------------------------


def test_connection_refused_exits_3(signalctl_path):
    port = free_port()
    result = ctl(signalctl_path, "--url", f"http://127.0.0.1:{port}", "status")
    assert result.returncode == 3
    assert result.stdout == ""
    assert result.stderr == (f"signalctl: cannot connect to 127.0.0.1 port {port}: "
                             "Connection refused\n")


def test_silent_server_times_out_with_exit_3(signalctl_path):
    # A listening socket that never accepts: the kernel completes the TCP
    # handshake, but no HTTP response ever comes.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        started = time.monotonic()
        result = ctl(signalctl_path, "--url", f"http://127.0.0.1:{port}",
                     "--timeout", "0.5", "status")
        elapsed = time.monotonic() - started
    assert result.returncode == 3
    assert result.stderr == (f"signalctl: no complete response from 127.0.0.1 "
                             f"port {port}: timed out\n")
    assert 0.5 <= elapsed < 5, elapsed
