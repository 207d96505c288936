#!/usr/bin/python3
"""Write the seed corpora of the libFuzzer targets into fuzz/corpus/<target>/.

Each seed is a small input that reaches one interesting path, laid out as
the target's header comment describes. The committed files were made with
this script; rerun it after changing a layout:

    /usr/bin/python3 fuzz/corpus/generate.py

The GCM seeds need Debian's python3-cryptography.
"""

import base64
import hashlib
import hmac
import json
import pathlib
import struct

HERE = pathlib.Path(__file__).resolve().parent

# The constants of fuzz_base64_token.c.
FUZZ_SECRET = b"fuzz-secret-0123456789abcdef"
FUZZ_NOW = 1767225600


def write(target: str, name: str, data: bytes) -> None:
    folder = HERE / target
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(data)


# HTTP parser: one byte for the head size limit (16 + byte * 64), then the
# request. 0xFF allows 16336 bytes.

def http_seeds() -> None:
    head = 0xFF.to_bytes(1, "big")
    seeds = {
        "upgrade": b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUpgrade: websocket\r\n"
                   b"Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   b"Sec-WebSocket-Version: 13\r\n\r\n",
        "rest-post": b"POST /v1/api/socket/websocket/clients/broadcast HTTP/1.1\r\nHost: localhost\r\n"
                     b"Authorization: Basic YWRtaW46YWRtaW4=\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 16\r\n\r\n{\"topic\":\"news\"}",
        "percent-path": b"POST /v1/api/socket/websocket/clients/rooms/a%2Fb%20c/send HTTP/1.1\r\n"
                        b"Host: h\r\nContent-Length: 0\r\n\r\n",
        "http10-keep-alive": b"GET /healthz HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
        "http11-close": b"GET /metrics?x=1 HTTP/1.1\r\nHost: [::1]:80\r\nConnection: close\r\n\r\n",
        "leading-empty-lines": b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "pipelined": b"GET /readyz HTTP/1.1\r\nHost: a\r\n\r\nGET /healthz HTTP/1.1\r\nHost: a\r\n\r\n",
        "transfer-encoding": b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "duplicate-content-length": b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
        "version-2": b"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
        "missing-host": b"GET / HTTP/1.1\r\nAccept: */*\r\n\r\n",
        "obs-fold": b"GET / HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n",
        "bare-lf": b"GET / HTTP/1.1\nHost: a\n\n",
        "bad-percent": b"GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n",
        "incomplete": b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgr",
    }
    for name, request in seeds.items():
        write("fuzz_http_parser", name, head + request)
    # An 80-byte limit that this head exceeds: the 431 path.
    write("fuzz_http_parser", "head-over-limit", b"\x01" + seeds["upgrade"])


# WebSocket reader: byte 0 picks the message limit (1 << (byte % 17)),
# byte 1 the number of chunk boundaries, then one length byte per chunk,
# then the stream.

MASK = b"\x37\xfa\x21\x3d"


def frame(opcode: int, payload: bytes = b"", fin: bool = True, masked: bool = True,
          rsv: int = 0, width: int | None = None) -> bytes:
    length = len(payload)
    first = (0x80 if fin else 0) | rsv << 4 | opcode
    if width is None and length <= 125:
        width = 7
    elif width is None and length <= 0xFFFF:
        width = 16
    elif width is None:
        width = 64
    if width == 7:
        header = bytes([first, (0x80 if masked else 0) | length])
    elif width == 16:
        header = bytes([first, (0x80 if masked else 0) | 126]) + struct.pack("!H", length)
    else:
        header = bytes([first, (0x80 if masked else 0) | 127]) + struct.pack("!Q", length)
    if not masked:
        return header + payload
    return header + MASK + bytes(b ^ MASK[i % 4] for i, b in enumerate(payload))


def ws_seed(stream: bytes, limit_shift: int = 16, chunks: tuple[int, ...] = ()) -> bytes:
    return bytes([limit_shift, len(chunks)]) + bytes(chunks) + stream


def ws_seeds() -> None:
    envelope = b'{"event":"join","data":{"rooms":["a"]}}'
    utf8_text = '{"event":"x","data":"κόσμε €𝄞"}'.encode()
    seeds = {
        "text": ws_seed(frame(1, envelope)),
        "text-in-chunks": ws_seed(frame(1, envelope), chunks=(1, 1, 3, 10)),
        "binary-16-bit-length": ws_seed(frame(2, b"b" * 300)),
        "fragments-with-ping": ws_seed(frame(1, envelope[:10], fin=False) + frame(9, b"ping")
                                       + frame(0, envelope[10:20], fin=False) + frame(0, envelope[20:]),
                                       chunks=(5, 7, 9)),
        "utf8-split-in-code-point": ws_seed(frame(1, utf8_text[:23], fin=False) + frame(0, utf8_text[23:]),
                                            chunks=(20, 9)),
        "close-with-reason": ws_seed(frame(8, struct.pack("!H", 1000) + "bye κ".encode())),
        "close-empty": ws_seed(frame(8)),
        "close-invalid-code": ws_seed(frame(8, struct.pack("!H", 1005))),
        "ping-pong": ws_seed(frame(9, b"") + frame(10, b"unsolicited") + frame(9, b"p" * 125)),
        "invalid-utf8": ws_seed(frame(1, b'{"event":"\xed\xa0\x80"}')),
        "too-big": ws_seed(frame(1, envelope), limit_shift=4),
        "too-big-fragments": ws_seed(frame(1, envelope[:12], fin=False) + frame(0, envelope[12:]), limit_shift=5),
        "64-bit-length-header": ws_seed(frame(2, b"", width=64)[:2] + struct.pack("!Q", 70000) + MASK),
        "non-minimal-length": ws_seed(frame(1, b"short", width=16)),
        "reserved-bits": ws_seed(frame(1, b"x", rsv=4)),
        "reserved-opcode": ws_seed(frame(0xB, b"x")),
        "continuation-without-start": ws_seed(frame(0, b"x")),
        "unmasked-server-frames": ws_seed(frame(1, envelope, masked=False) + frame(9, b"hi", masked=False)
                                          + frame(8, struct.pack("!H", 1001), masked=False)),
    }
    for name, seed in seeds.items():
        write("fuzz_ws_reader", name, seed)


# base64, token and UTF-8: byte 0 picks the mode (% 3), then the input.

def base64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def jwt(header: dict, claims: dict, secret: bytes = FUZZ_SECRET) -> bytes:
    signing_input = base64url(json.dumps(header).encode()) + b"." + base64url(json.dumps(claims).encode())
    signature = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return signing_input + b"." + base64url(signature)


def base64_token_seeds() -> None:
    point = b"\x04" + bytes(range(64))
    for name, text in {
        "base64-padded-1": b"aGVsbG8=",
        "base64-padded-2": b"Zg==",
        "base64-public-key": base64.b64encode(point),
        "base64-iv": base64.b64encode(bytes(12)),
        "base64-nonzero-pad-bits": b"Zh==",
        "base64-url-alphabet": b"-_-_",
    }.items():
        write("fuzz_base64_token", name, b"\x00" + text)

    hs256 = {"alg": "HS256", "typ": "JWT"}
    for name, token in {
        "token-valid": jwt(hs256, {"sub": "user-42", "iat": FUZZ_NOW, "exp": FUZZ_NOW + 3600}),
        "token-user-id-claim": jwt(hs256, {"userId": "user-7", "exp": FUZZ_NOW + 60}),
        "token-expired": jwt(hs256, {"sub": "u", "exp": FUZZ_NOW - 1}),
        "token-not-yet-valid": jwt(hs256, {"sub": "u", "nbf": FUZZ_NOW + 100}),
        "token-exp-string": jwt(hs256, {"sub": "u", "exp": "tomorrow"}),
        "token-no-subject": jwt(hs256, {"exp": FUZZ_NOW + 60}),
        "token-alg-none": base64url(b'{"alg":"none"}') + b"." + base64url(b'{"sub":"u"}') + b".",
        "token-alg-hs512": jwt({"alg": "HS512", "typ": "JWT"}, {"sub": "u"}),
        "token-other-secret": jwt(hs256, {"sub": "u"}, b"another secret"),
    }.items():
        write("fuzz_base64_token", name, b"\x01" + token)

    for name, text in {
        "utf8-mixed": "ascii then κόσμε, € and 𝄞 end".encode(),
        "utf8-long-ascii": b"0123456789abcdef0123456789abcdef\xc3\xa9",
        "utf8-overlong": b"abc\xc0\xaf",
        "utf8-surrogate": b"\xed\xa0\x80",
        "utf8-above-max": b"\xf4\x90\x80\x80",
        "utf8-max": b"\xf4\x8f\xbf\xbf",
        "utf8-truncated": b"text \xe2\x82",
    }.items():
        write("fuzz_base64_token", name, b"\x02" + text)


# GCM: 32 bytes of key, 12 bytes of IV, then ciphertext and tag.

def gcm_seeds() -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key = hashlib.sha256(b"fuzz key").digest()
    iv = bytes(range(12))
    plain = b'{"event":"join","data":{"rooms":["public-a"]}}'
    sealed = AESGCM(key).encrypt(iv, plain, None)
    write("fuzz_gcm_open", "valid-envelope", key + iv + sealed)
    write("fuzz_gcm_open", "valid-empty", key + iv + AESGCM(key).encrypt(iv, b"", None))
    write("fuzz_gcm_open", "tag-only-forged", key + iv + bytes(16))
    write("fuzz_gcm_open", "shorter-than-tag", key + iv + b"short")


if __name__ == "__main__":
    http_seeds()
    ws_seeds()
    base64_token_seeds()
    gcm_seeds()
