"""Checks through nginx with docs/nginx/signal-server.conf.

tests/nginx/test_nginx.sh starts signal-server and nginx and passes the
proxy's https URL, the certificate to trust, the JWT secret and the admin
password in NGINX_TEST_* variables.
"""

import asyncio
import base64
import json
import os
import pathlib
import ssl
import sys
import urllib.error
import urllib.request

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "signalctl"))

from signal_client import API_PREFIX, SignalClient  # noqa: E402

if "NGINX_TEST_URL" not in os.environ:
    pytest.skip("run through tests/nginx/test_nginx.sh", allow_module_level=True)

PROXY_URL = os.environ["NGINX_TEST_URL"]
WSS_URL = PROXY_URL.replace("https://", "wss://", 1) + "/ws"
TLS = ssl.create_default_context(cafile=os.environ["NGINX_TEST_CA"])
SECRET = os.environ["NGINX_TEST_SECRET"]
BASIC = "Basic " + base64.b64encode(
    f"admin:{os.environ['NGINX_TEST_PASSWORD']}".encode()).decode()


def https_request(method, path, body=None, auth=True):
    """Send a request through the proxy; return (status, parsed JSON body)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(PROXY_URL + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if auth:
        request.add_header("Authorization", BASIC)
    try:
        with urllib.request.urlopen(request, context=TLS, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


async def connect_through_proxy(sub):
    return await SignalClient.connect(WSS_URL, SECRET, sub, ssl=TLS)


def test_status_through_nginx():
    status, body = https_request("GET", API_PREFIX + "/status", auth=False)
    assert status == 200
    assert body["isReady"] is True


def test_websocket_authenticates_through_nginx():
    async def scenario():
        client = await connect_through_proxy("user-over-tls")
        try:
            assert client.user_id == "user-over-tls"
            status, info = https_request("GET", API_PREFIX + "/" + client.id)
            assert status == 200
            assert info["state"] == "authenticated"
            assert info["encrypted"] is True
        finally:
            await client.close()

    asyncio.run(scenario())


def test_rest_broadcast_reaches_client_through_nginx():
    async def scenario():
        client = await connect_through_proxy("listener")
        try:
            status, body = https_request(
                "POST", API_PREFIX + "/broadcast",
                {"topic": "order.updated", "data": {"orderId": "123"}})
            assert status == 200
            assert body["success"] is True
            event = await client.receive()
            assert event == {"event": "order.updated", "data": {"orderId": "123"}}
        finally:
            await client.close()

    asyncio.run(scenario())


def test_rest_without_credentials_rejected_through_nginx():
    status, body = https_request("GET", API_PREFIX + "/", auth=False)
    assert status == 401
    assert isinstance(body["error"], str)


def test_unknown_path_is_not_proxied():
    request = urllib.request.Request(PROXY_URL + "/metrics")
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, context=TLS, timeout=5)
    assert raised.value.code == 404
