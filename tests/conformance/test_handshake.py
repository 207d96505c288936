"""Opening handshake (RFC 6455 section 4): accepted variants and refusals."""

import base64
import json

import pytest

import rfc6455
from wsclient import (WebSocket, build_request, check_upgrade_response, connect, http_exchange,
                      read_http_response, upgrade_headers)

STATUS_PATH = "/v1/api/socket/websocket/clients/status"


def handshake(target, *, method="GET", path=None, version="HTTP/1.1", replace=None, extra=()):
    """Build an opening handshake with some header fields replaced or removed.

    replace maps a header name of the standard request to its new value, or
    to None to drop the field. extra fields are appended.
    """
    key = rfc6455.new_key()
    replace = replace or {}
    headers = []
    for name, value in upgrade_headers(target, key):
        if name in replace:
            if replace[name] is None:
                continue
            value = replace[name]
        headers.append((name, value))
    headers += list(extra)
    return key, build_request(method, path or target.ws_path, headers, version)


def expect_live_connection(sock, leftover):
    """Assert that the upgraded connection works: a ping gets its pong."""
    ws = WebSocket(sock, leftover)
    ws.send_frame(rfc6455.OP_PING, b"alive")
    ws.expect_pong(b"alive")
    ws.send_close(1000)
    ws.expect_close(1000, reply=False)


def upgrade(target, request):
    sock = connect(target)
    sock.sendall(request)
    buffer = bytearray()
    response = read_http_response(sock, buffer)
    return sock, buffer, response


def test_upgrade_accepted_for_standard_request(target):
    key, request = handshake(target)
    sock, buffer, response = upgrade(target, request)
    with sock:
        check_upgrade_response(response, key)
        assert "sec-websocket-extensions" not in response.headers, (
            f"server negotiated an extension nobody offered: {response.headers['sec-websocket-extensions']!r}")
        assert "sec-websocket-protocol" not in response.headers, (
            f"server selected a subprotocol nobody offered: {response.headers['sec-websocket-protocol']!r}")
        expect_live_connection(sock, bytes(buffer))


HEADER_VARIANTS = {
    "upgrade-mixed-case": {"Upgrade": "WebSocket"},
    "upgrade-upper-case": {"Upgrade": "WEBSOCKET"},
    "upgrade-token-list": {"Upgrade": "h2c, websocket"},
    "connection-lower-case": {"Connection": "upgrade"},
    "connection-upper-case": {"Connection": "UPGRADE"},
    "connection-token-list": {"Connection": "keep-alive, Upgrade"},
    "connection-token-list-no-space": {"Connection": "Upgrade,keep-alive"},
    "connection-token-list-upper-case": {"Connection": "keep-alive, UPGRADE"},
    "connection-token-tab-padded": {"Connection": "keep-alive,\tupgrade\t"},
}


@pytest.mark.parametrize("replace", HEADER_VARIANTS.values(), ids=HEADER_VARIANTS.keys())
def test_upgrade_accepted_for_header_variant(target, replace):
    key, request = handshake(target, replace=replace)
    sock, buffer, response = upgrade(target, request)
    with sock:
        check_upgrade_response(response, key)
        expect_live_connection(sock, bytes(buffer))


@pytest.mark.parametrize("case", ["lower", "upper"])
def test_upgrade_accepted_for_header_name_case(target, case):
    key = rfc6455.new_key()
    headers = [(getattr(name, case)(), value) for name, value in upgrade_headers(target, key)]
    sock, buffer, response = upgrade(target, build_request("GET", target.ws_path, headers))
    with sock:
        check_upgrade_response(response, key)
        expect_live_connection(sock, bytes(buffer))


def test_upgrade_accepted_with_query_string(target):
    key, request = handshake(target, path=target.ws_path + "?client=conformance")
    sock, buffer, response = upgrade(target, request)
    with sock:
        check_upgrade_response(response, key)
        expect_live_connection(sock, bytes(buffer))


def test_upgrade_declines_offered_extension(target):
    offer = ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits")
    key, request = handshake(target, extra=[offer])
    sock, buffer, response = upgrade(target, request)
    with sock:
        check_upgrade_response(response, key)
        assert "sec-websocket-extensions" not in response.headers, (
            f"server accepted an extension: {response.headers['sec-websocket-extensions']!r}")
        expect_live_connection(sock, bytes(buffer))


def test_upgrade_declines_offered_subprotocol(target):
    key, request = handshake(target, extra=[("Sec-WebSocket-Protocol", "chat, superchat")])
    sock, buffer, response = upgrade(target, request)
    with sock:
        check_upgrade_response(response, key)
        assert "sec-websocket-protocol" not in response.headers, (
            f"server selected a subprotocol: {response.headers['sec-websocket-protocol']!r}")
        expect_live_connection(sock, bytes(buffer))


@pytest.mark.parametrize("method", ["POST", "PUT", "HEAD"])
def test_upgrade_rejected_for_method_other_than_get(target, method):
    _, request = handshake(target, method=method, extra=[("Content-Length", "0")])
    response = http_exchange(target, request) if method != "HEAD" else head_exchange(target, request)
    assert response.status == 405, f"{method} upgrade: expected 405, got {response.status} {response.body[:200]!r}"
    assert response.headers.get("allow") == "GET", f"Allow header is {response.headers.get('allow')!r}, expected 'GET'"


def head_exchange(target, request):
    """Read the response to a HEAD request, which has no body whatever its Content-Length."""
    with connect(target) as sock:
        sock.sendall(request)
        return read_http_response(sock, bytearray(), expect_body=False)


MISSING_UPGRADE = {
    "no-upgrade-field": {"Upgrade": None},
    "upgrade-other-protocol": {"Upgrade": "h2c"},
    "no-connection-field": {"Connection": None},
    "connection-without-upgrade-token": {"Connection": "keep-alive"},
    "connection-token-as-substring": {"Connection": "upgraded"},
}


@pytest.mark.parametrize("replace", MISSING_UPGRADE.values(), ids=MISSING_UPGRADE.keys())
def test_upgrade_rejected_without_upgrade_tokens(target, replace):
    _, request = handshake(target, replace=replace)
    response = http_exchange(target, request)
    assert response.status == 400, f"expected 400, got {response.status} {response.body[:200]!r}"


INVALID_KEYS = {
    "missing": None,
    "empty": "",
    "not-base64": "not base64 at all!!",
    "15-bytes": base64.b64encode(b"k" * 15).decode(),
    "17-bytes": base64.b64encode(b"k" * 17).decode(),
    "16-bytes-without-padding": base64.b64encode(b"k" * 16).decode().rstrip("="),
    "16-bytes-url-alphabet": base64.urlsafe_b64encode(b"\xfb\xff" * 8).decode(),
}


@pytest.mark.parametrize("key", INVALID_KEYS.values(), ids=INVALID_KEYS.keys())
def test_upgrade_rejected_for_invalid_key(target, key):
    _, request = handshake(target, replace={"Sec-WebSocket-Key": key})
    response = http_exchange(target, request)
    assert response.status == 400, f"key {key!r}: expected 400, got {response.status} {response.body[:200]!r}"


@pytest.mark.parametrize("version", [None, "0", "8", "12", "14", "13, 8"])
def test_upgrade_rejected_for_unsupported_version(target, version):
    _, request = handshake(target, replace={"Sec-WebSocket-Version": version})
    response = http_exchange(target, request)
    assert response.status == 426, f"version {version!r}: expected 426, got {response.status}"
    assert response.headers.get("sec-websocket-version") == "13", (
        f"426 response carries Sec-WebSocket-Version {response.headers.get('sec-websocket-version')!r}, expected '13'")


def test_upgrade_rejected_without_host(target):
    _, request = handshake(target, replace={"Host": None})
    response = http_exchange(target, request)
    assert response.status == 400, f"expected 400, got {response.status} {response.body[:200]!r}"


def test_upgrade_rejected_on_http_1_0(target):
    _, request = handshake(target, version="HTTP/1.0")
    response = http_exchange(target, request)
    assert response.status == 400, f"expected 400, got {response.status} {response.body[:200]!r}"


@pytest.mark.parametrize("with_upgrade", [True, False], ids=["upgrade-request", "plain-request"])
def test_unknown_path_returns_json_404(target, with_upgrade):
    if with_upgrade:
        _, request = handshake(target, path="/no-such-path")
    else:
        request = build_request("GET", "/no-such-path", [("Host", target.host_header)])
    response = http_exchange(target, request)
    assert response.status == 404, f"expected 404, got {response.status} {response.body[:200]!r}"
    content_type = response.headers.get("content-type", "")
    assert content_type.split(";")[0].strip() == "application/json", f"Content-Type is {content_type!r}"
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str), f"404 body is {body!r}"


def test_http_1_0_request_answered_then_closed(target):
    request = build_request("GET", STATUS_PATH, [("Host", target.host_header)], version="HTTP/1.0")
    with connect(target) as sock:
        sock.sendall(request)
        buffer = bytearray()
        response = read_http_response(sock, buffer)
        assert response.status == 200, f"expected 200, got {response.status} {response.body[:200]!r}"
        assert isinstance(json.loads(response.body)["isReady"], bool)
        ws = WebSocket(sock, bytes(buffer))
        ws.expect_tcp_close()
