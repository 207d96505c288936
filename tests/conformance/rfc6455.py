"""RFC 6455 frame encoding and decoding for the conformance tests.

The encoder can also build frames that break the protocol on purpose
(unmasked, reserved bits or opcodes, non-minimal or oversized lengths),
because the tests need to send exactly those.
"""

import base64
import dataclasses
import hashlib
import os
import struct

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

# Appended to Sec-WebSocket-Key before hashing (RFC 6455 section 1.3).
ACCEPT_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

# Close codes that an endpoint must never put in a close frame
# (RFC 6455 section 7.4.1): no status, abnormal closure, TLS failure.
FORBIDDEN_CLOSE_CODES = (1005, 1006, 1015)


def is_control(opcode: int) -> bool:
    return opcode >= 0x8


def new_key() -> str:
    """Return a fresh Sec-WebSocket-Key: base64 of 16 random bytes."""
    return base64.b64encode(os.urandom(16)).decode("ascii")


def accept_key(key: str) -> str:
    """Compute the Sec-WebSocket-Accept value the server must send for key."""
    digest = hashlib.sha1(key.encode("ascii") + ACCEPT_GUID).digest()
    return base64.b64encode(digest).decode("ascii")


def apply_mask(payload: bytes, mask: bytes) -> bytes:
    return bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def encode_length(length: int, width: int | None = None) -> tuple[int, bytes]:
    """Return the 7-bit length field and the extended length bytes.

    width None picks the minimal encoding, as RFC 6455 section 5.2 requires.
    width 16 or 64 forces that extended form, which lets a test send a
    non-minimal encoding or a 64-bit length with its top bit set.
    """
    if width is None:
        if length <= 125:
            return length, b""
        width = 16 if length <= 0xFFFF else 64
    if width == 7:
        return length, b""
    if width == 16:
        return 126, struct.pack("!H", length)
    if width == 64:
        return 127, struct.pack("!Q", length)
    raise ValueError(f"invalid length width {width}, expected None, 7, 16 or 64")


def encode_frame(opcode: int, payload: bytes = b"", *, fin: bool = True,
                 rsv: int = 0, masked: bool = True, mask: bytes | None = None,
                 length: int | None = None,
                 length_width: int | None = None) -> bytes:
    """Encode one frame.

    rsv contains the three RSV bits as a number 0..7 (RSV1 is 4). length puts
    a different number in the header than len(payload), for frames whose
    header lies about the payload. A client frame is masked unless masked
    is False; mask defaults to 4 random bytes.
    """
    if length is None:
        length = len(payload)
    first = (0x80 if fin else 0) | (rsv & 0x7) << 4 | (opcode & 0xF)
    length7, extended = encode_length(length, length_width)
    header = bytes([first, (0x80 if masked else 0) | length7]) + extended
    if not masked:
        return header + payload
    if mask is None:
        mask = os.urandom(4)
    return header + mask + apply_mask(payload, mask)


def close_payload(code: int | None, reason: bytes = b"") -> bytes:
    if code is None:
        return reason
    return struct.pack("!H", code) + reason


@dataclasses.dataclass
class Frame:
    fin: bool
    rsv: int
    opcode: int
    masked: bool
    payload: bytes

    def close_code(self) -> int | None:
        """Return the status code of a close frame, None when it has none."""
        if len(self.payload) < 2:
            return None
        return struct.unpack("!H", self.payload[:2])[0]

    def close_reason(self) -> bytes:
        return self.payload[2:]


def decode_frame(buf: bytes) -> tuple[Frame | None, int]:
    """Decode the frame at the start of buf.

    Returns (frame, bytes consumed), or (None, 0) when buf does not yet
    hold the whole frame. Performs no protocol checks: callers inspect the
    fields themselves.
    """
    if len(buf) < 2:
        return None, 0
    first, second = buf[0], buf[1]
    masked = bool(second & 0x80)
    length = second & 0x7F
    offset = 2
    if length == 126:
        if len(buf) < offset + 2:
            return None, 0
        length = struct.unpack("!H", buf[offset:offset + 2])[0]
        offset += 2
    elif length == 127:
        if len(buf) < offset + 8:
            return None, 0
        length = struct.unpack("!Q", buf[offset:offset + 8])[0]
        offset += 8
    mask = b""
    if masked:
        if len(buf) < offset + 4:
            return None, 0
        mask = buf[offset:offset + 4]
        offset += 4
    if len(buf) < offset + length:
        return None, 0
    payload = bytes(buf[offset:offset + length])
    if masked:
        payload = apply_mask(payload, mask)
    frame = Frame(fin=bool(first & 0x80), rsv=(first >> 4) & 0x7,
                  opcode=first & 0xF, masked=masked, payload=payload)
    return frame, offset + length
