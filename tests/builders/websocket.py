"""Byte factories for WebSocket conversations (RFC 6455 section 5.2 framing, 5.3 client
masking; RFC 7692 permessage-deflate compression with or without context takeover)."""

from __future__ import annotations

import struct
import zlib

import msgpack
import orjson

from protocols.base import Direction

TEXT, BINARY, CONTINUATION, CLOSE, PING, PONG = 1, 2, 0, 8, 9, 10
MASK_KEY = b"\x37\xfa\x21\x3d"  # RFC 6455 section 5.7's example key


def frame(
    opcode: int,
    payload: bytes,
    *,
    fin: bool = True,
    rsv1: bool = False,
    mask: bytes | None = None,
) -> bytes:
    """One frame; `mask` (4 bytes) masks it as a client must."""
    first = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    size = len(payload)
    mask_bit = 0x80 if mask else 0
    if size < 126:
        head = bytes([first, mask_bit | size])
    elif size < 1 << 16:
        head = bytes([first, mask_bit | 126]) + struct.pack(">H", size)
    else:
        head = bytes([first, mask_bit | 127]) + struct.pack(">Q", size)
    if not mask:
        return head + payload
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + masked


def client_frame(opcode: int, payload: bytes, **kwargs: bool) -> bytes:
    return frame(opcode, payload, mask=MASK_KEY, **kwargs)


class Deflater:
    """permessage-deflate sender side (RFC 7692 section 7.2.1)."""

    def __init__(self, takeover: bool = True) -> None:
        self.takeover = takeover
        self._obj = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)

    def compress(self, data: bytes) -> bytes:
        if not self.takeover:
            self._obj = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
        out = self._obj.compress(data) + self._obj.flush(zlib.Z_SYNC_FLUSH)
        assert out.endswith(b"\x00\x00\xff\xff")
        return out[:-4]


def json_text(document: object) -> bytes:
    return orjson.dumps(document)


def contract_conversation() -> list[tuple[Direction, bytes]]:
    """Masked client text, a fragmented server message with a ping between fragments,
    compressed messages (context takeover), MessagePack and protobuf binaries, a close."""
    req, resp = Direction.REQUEST, Direction.RESPONSE
    client_deflate = Deflater()
    server_deflate = Deflater()
    hello = json_text({"type": "message.send", "email": "jane@example.test"})
    reply = json_text({"event": "message.new", "phone": "+1 415 555 0134", "n": [1, 2]})
    return [
        (req, client_frame(TEXT, hello)),
        (
            resp,
            frame(TEXT, reply[:10], fin=False)
            + frame(PING, b"hb")
            + frame(CONTINUATION, reply[10:]),
        ),
        (req, client_frame(TEXT, client_deflate.compress(hello), rsv1=True)),
        (req, client_frame(TEXT, client_deflate.compress(hello), rsv1=True)),
        (resp, frame(BINARY, server_deflate.compress(reply), rsv1=True)),
        (req, client_frame(BINARY, msgpack.packb({"action": "pay", "card": "4111111111111111"}))),
        (resp, frame(BINARY, b"\x0a\x05hello\x10\x2a")),
        (req, client_frame(PONG, b"") + client_frame(TEXT, b"plain words here")),
        (req, client_frame(CLOSE, struct.pack(">H", 1000))),
        (resp, frame(CLOSE, struct.pack(">H", 1000))),
    ]
