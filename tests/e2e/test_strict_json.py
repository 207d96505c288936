"""JSON the server must relay exactly or reject: numbers that a double
printer would round, NUL characters that C strings would cut short, and
text after the JSON value. HEAD gets headers without a body."""

import socket

from signal_client import Rest, session


async def test_broadcast_data_relayed_byte_for_byte(target):
    rest = Rest(target)
    async with session(target, "numbers") as client:
        # 2^53 - 1 and 0.1 + 0.2 print differently through %.15g.
        raw = b'{"topic":"e2e.numbers","data":[0.30000000000000004,9007199254740991]}'
        response = await rest.request("POST", "/broadcast", raw=raw)
        assert response.status == 200
        envelope = await client.expect("e2e.numbers")
        assert envelope.data == [0.30000000000000004, 9007199254740991]


async def test_rest_body_with_nul_or_trailing_text_rejected(target):
    rest = Rest(target)
    for raw in (b'{"topic":"t\\u0000x"}', b'{"topic":"t","data":"a\\u0000b"}',
                b'{"topic":"t"} junk', b'{"topic":"a"}{"topic":"b"}'):
        response = await rest.request("POST", "/broadcast", raw=raw)
        assert response.status == 400, raw
        assert response.json() == {"error": "Body must be a JSON object"}, raw


async def test_join_with_nul_in_room_name_rejected(target):
    rest = Rest(target)
    async with session(target, "nul-join") as client:
        await client.send_text('{"event":"join","data":{"rooms":["public-a\\u0000secret"]}}')
        await client.expect_error("Invalid message format")
        info = await rest.get_client(client.client_id)
        assert "public-a" not in info.json()["rooms"]


def test_head_answers_without_body(target):
    request = (f"HEAD /healthz HTTP/1.1\r\nHost: {target.host}\r\n\r\n"
               f"GET /healthz HTTP/1.1\r\nHost: {target.host}\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection((target.host, target.port), timeout=2) as sock:
        sock.sendall(request)
        data = b""
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    first, _, rest = data.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 200 OK\r\n"), data
    assert b"Content-Length: 15\r\n" in first, data
    # The next bytes are the GET's response, not a body of the HEAD.
    assert rest.startswith(b"HTTP/1.1 200 OK\r\n"), data
    assert rest.endswith(b'{"status":"ok"}'), data
