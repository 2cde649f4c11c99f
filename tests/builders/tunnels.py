"""Byte factories for tunnel headers around frames and packets (specs in `dpi/decode.py`):
UDP, VXLAN (RFC 7348), GENEVE (RFC 8926), GRE (RFC 2784/2890), ERSPAN types I-III
(draft-foschiano-erspan-03) and MPLS label stacks (RFC 3032). Built with `struct` so that
any field can be set wrong on purpose.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from tests.builders.frames import ethernet, ipv4_packet

ETH_TEB = 0x6558
ETH_MPLS = 0x8847


def udp(payload: bytes, *, sport: int = 50000, dport: int = 53, length: int | None = None) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(payload) if length is None else length, 0) + payload


def vxlan(inner_frame: bytes, *, vni: int = 42, flags: int = 0x08) -> bytes:
    """VXLAN header (flags, VNI) and the inner Ethernet frame."""
    return struct.pack("!B3xI", flags, vni << 8) + inner_frame


def geneve(
    inner: bytes, *, protocol: int = ETH_TEB, options: bytes = b"", version: int = 0, vni: int = 42
) -> bytes:
    """GENEVE header with `options` (a multiple of 4 bytes) and the inner frame/packet."""
    first = (version << 6) | (len(options) // 4)
    return struct.pack("!BBHI", first, 0, protocol, vni << 8) + options + inner


def geneve_option(cls: int = 0x0108, kind: int = 1, data: bytes = b"\x00\x00\x00\x00") -> bytes:
    return struct.pack("!HBB", cls, kind, len(data) // 4) + data


def gre(
    inner: bytes,
    *,
    protocol: int = 0x0800,
    checksum: bool = False,
    key: int | None = None,
    seq: int | None = None,
    version: int = 0,
    routing: bool = False,
) -> bytes:
    flags = version
    extra = b""
    if checksum or routing:
        flags |= 0x8000 if checksum else 0
        flags |= 0x4000 if routing else 0
        extra += b"\x00\x00\x00\x00"
    if key is not None:
        flags |= 0x2000
        extra += struct.pack("!I", key)
    if seq is not None:
        flags |= 0x1000
        extra += struct.pack("!I", seq)
    return struct.pack("!HH", flags, protocol) + extra + inner


def erspan2(inner_frame: bytes, *, session: int = 7, seq: int = 1) -> bytes:
    """GRE (sequence number) + ERSPAN type II header + the mirrored frame."""
    header = struct.pack("!HHI", 0x1000 | 0, session & 0x3FF, 0)
    return gre(header + inner_frame, protocol=0x88BE, seq=seq)


def erspan1(inner_frame: bytes) -> bytes:
    """ERSPAN type I: GRE 0x88BE without a sequence number, no ERSPAN header."""
    return gre(inner_frame, protocol=0x88BE)


def erspan3(
    inner: bytes, *, frame_type: int = 0, platform: bytes | None = None, seq: int = 1
) -> bytes:
    """GRE (sequence number) + ERSPAN type III header (+ optional 8-byte platform
    sub-header, the O bit) + the mirrored frame (FT 0) or IP packet (FT 2)."""
    last = 0x01 if platform is not None else 0x00
    header = struct.pack("!HHIHBB", 0x2000, 9, 123456, 0, (frame_type & 0x1F) << 2, last)
    return gre(header + (platform or b"") + inner, protocol=0x22EB, seq=seq)


def mpls(payload: bytes, labels: Sequence[int] = (100,), *, bottom: bool = True) -> bytes:
    """A label stack (the last entry gets the bottom-of-stack bit unless `bottom` is
    False) and the payload."""
    out = []
    for i, label in enumerate(labels):
        s = 0x100 if bottom and i == len(labels) - 1 else 0
        out.append(struct.pack("!I", (label << 12) | s | 64))
    return b"".join(out) + payload


def outer_udp(
    payload: bytes, dport: int, *, src: str = "172.31.0.10", dst: str = "172.31.0.20"
) -> bytes:
    """An outer Ethernet/IPv4/UDP frame carrying a tunnel to a collector."""
    return ethernet(ipv4_packet(udp(payload, sport=49999, dport=dport), src=src, dst=dst, proto=17))


def outer_gre(payload: bytes, *, src: str = "172.31.0.10", dst: str = "172.31.0.20") -> bytes:
    return ethernet(ipv4_packet(payload, src=src, dst=dst, proto=47))
