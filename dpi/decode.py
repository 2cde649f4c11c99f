"""Frames -> TCP segments (link layer, IPv4/IPv6, TCP), with `struct`, no per-packet scapy.

Placeholder: the types are fixed here so that reassembly and the engine can be built
against them; the decoder itself lands with the capture layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class DecodeError(Exception):
    """A frame that cannot be decoded. The message names offsets and sizes, never bytes."""


@dataclass(frozen=True, slots=True)
class Segment:
    """One TCP segment. Addresses are packed (4 or 16 bytes); `missing` counts payload
    bytes that were on the wire but not captured (snaplen), so reassembly can report
    them as a gap."""

    src: bytes
    dst: bytes
    sport: int
    dport: int
    seq: int
    ack: int
    flags: int
    payload: bytes = field(repr=False)
    missing: int = 0


# TCP flag bits (RFC 9293, section 3.1)
FIN = 0x01
SYN = 0x02
RST = 0x04
PSH = 0x08
ACK = 0x10
