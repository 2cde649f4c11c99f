"""Byte factories for link-layer frames and whole pcap/pcapng files.

Built with `struct` so that every field (lengths, byte orders, flags) can be set wrong on
purpose. Layouts follow the specs named in `dpi/capture.py` and `dpi/decode.py`.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# -- TCP / IP -----------------------------------------------------------------------

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def tcp_segment(
    payload: bytes = b"",
    *,
    sport: int = 40000,
    dport: int = 80,
    seq: int = 1000,
    ack: int = 0,
    flags: int = PSH | ACK,
    options: bytes = b"",
    data_offset: int | None = None,
) -> bytes:
    """A TCP header (RFC 9293 3.1) plus payload; options padded to 4 bytes."""
    options = options + b"\x00" * (-len(options) % 4)
    doff = data_offset if data_offset is not None else (20 + len(options)) // 4
    return (
        struct.pack("!HHIIBBHHH", sport, dport, seq, ack, doff << 4, flags, 65535, 0, 0)
        + options
        + payload
    )


def _addr(text: str) -> bytes:
    return ipaddress.ip_address(text).packed


def ipv4_packet(
    payload: bytes,
    *,
    src: str = "10.0.0.1",
    dst: str = "10.0.0.2",
    proto: int = 6,
    ident: int = 1,
    more_fragments: bool = False,
    frag_offset: int = 0,
    options: bytes = b"",
    total_length: int | None = None,
    version: int = 4,
) -> bytes:
    """An IPv4 header (RFC 791) plus payload; `frag_offset` in bytes (multiple of 8)."""
    options = options + b"\x00" * (-len(options) % 4)
    ihl = (20 + len(options)) // 4
    total = total_length if total_length is not None else ihl * 4 + len(payload)
    flags = (0x2000 if more_fragments else 0) | (frag_offset // 8)
    header = struct.pack(
        "!BBHHHBBH4s4s",
        (version << 4) | ihl,
        0,
        total,
        ident,
        flags,
        64,
        proto,
        0,
        _addr(src),
        _addr(dst),
    )
    return header + options + payload


def ipv6_packet(
    payload: bytes,
    *,
    src: str = "fd00::1",
    dst: str = "fd00::2",
    next_header: int = 6,
    extensions: Sequence[tuple[int, bytes]] = (),
    payload_length: int | None = None,
) -> bytes:
    """An IPv6 header (RFC 8200) with extension headers: each (type, raw header bytes
    without the next-header byte); use `ipv6_ext` and `ipv6_fragment_header`."""
    chain = b""
    types = [t for t, _ in extensions] + [next_header]
    for i, (_, body) in enumerate(extensions):
        chain += bytes([types[i + 1]]) + body
    first = types[0]
    plen = payload_length if payload_length is not None else len(chain) + len(payload)
    header = struct.pack("!IHBB16s16s", 6 << 28, plen, first, 64, _addr(src), _addr(dst))
    return header + chain + payload


def ipv6_ext(kind: int, size: int = 8) -> tuple[int, bytes]:
    """Hop-by-hop (0), routing (43), destination options (60) or AH (51) of `size`
    bytes, as (type, bytes after the next-header byte)."""
    if kind == 51:
        length = size // 4 - 2
    else:
        length = size // 8 - 1
    return kind, bytes([length]) + b"\x00" * (size - 2)


def ipv6_fragment_header(offset: int, more: bool, ident: int) -> tuple[int, bytes]:
    return 44, struct.pack("!BHI", 0, offset | (1 if more else 0), ident)


def ipv4_fragments(
    datagram_payload: bytes, sizes: Sequence[int], *, proto: int = 6, ident: int = 7, **ip: str
) -> list[bytes]:
    """Split a payload into IPv4 fragments of the given sizes (multiples of 8 except
    the last), in order."""
    packets = []
    pos = 0
    for i, size in enumerate(sizes):
        last = i == len(sizes) - 1
        chunk = datagram_payload[pos:] if last else datagram_payload[pos : pos + size]
        packets.append(
            ipv4_packet(
                chunk, proto=proto, ident=ident, more_fragments=not last, frag_offset=pos, **ip
            )
        )
        pos += len(chunk)
    return packets


def ipv6_fragments(
    datagram_payload: bytes, sizes: Sequence[int], *, next_header: int = 6, ident: int = 9
) -> list[bytes]:
    packets = []
    pos = 0
    for i, size in enumerate(sizes):
        last = i == len(sizes) - 1
        chunk = datagram_payload[pos:] if last else datagram_payload[pos : pos + size]
        packets.append(
            ipv6_packet(
                chunk,
                next_header=next_header,
                extensions=[ipv6_fragment_header(pos, not last, ident)],
            )
        )
        pos += len(chunk)
    return packets


# -- link layers --------------------------------------------------------------------

ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD


def ethernet(
    packet: bytes,
    *,
    ethertype: int = ETH_IPV4,
    vlans: Sequence[tuple[int, int]] = (),
    padding: int = 0,
) -> bytes:
    """Ethernet II with stacked tags given as (TPID, VLAN id), outermost first."""
    # Each tag is TPID + TCI; after the last tag comes the EtherType.
    parts = [b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01"]
    for tpid, vid in vlans:
        parts.append(struct.pack("!HH", tpid, vid & 0x0FFF))
    parts.append(struct.pack("!H", ethertype))
    return b"".join(parts) + packet + b"\x00" * padding


def null_loopback(packet: bytes, family: int, *, big_endian: bool = False) -> bytes:
    return struct.pack(">I" if big_endian else "<I", family) + packet


def linux_sll(packet: bytes, ethertype: int = ETH_IPV4) -> bytes:
    return struct.pack("!HHH8sH", 0, 1, 6, b"\x02\x00\x00\x00\x00\x01\x00\x00", ethertype) + packet


def linux_sll2(packet: bytes, ethertype: int = ETH_IPV4) -> bytes:
    return (
        struct.pack("!HHIHBB8s", ethertype, 0, 3, 1, 0, 6, b"\x02\x00\x00\x00\x00\x01\x00\x00")
        + packet
    )


def nflog(packet: bytes, *, family: int = 2, big_endian: bool = False) -> bytes:
    """NFLOG: header, a prefix TLV (type 10), the payload TLV (type 9), a timestamp TLV."""
    order = ">" if big_endian else "<"

    def tlv(kind: int, value: bytes) -> bytes:
        raw = struct.pack(order + "HH", 4 + len(value), kind) + value
        return raw + b"\x00" * (-len(raw) % 4)

    return (
        struct.pack("!BBH", family, 0, 0)
        + tlv(10, b"prefix\x00")
        + tlv(9, packet)
        + tlv(3, b"\x00" * 16)
    )


def tcp_frame(
    payload: bytes = b"",
    *,
    linktype: int = 1,
    ipv6: bool = False,
    vlans: Sequence[tuple[int, int]] = (),
    **tcp: int,
) -> bytes:
    """A whole link-layer frame carrying one TCP segment."""
    seg = tcp_segment(payload, **tcp)  # type: ignore[arg-type]
    packet = ipv6_packet(seg) if ipv6 else ipv4_packet(seg)
    return link_frame(packet, linktype=linktype, ipv6=ipv6, vlans=vlans)


def link_frame(
    packet: bytes, *, linktype: int = 1, ipv6: bool = False, vlans: Sequence[tuple[int, int]] = ()
) -> bytes:
    """Wrap an IP packet in the link layer of `linktype`."""
    et = ETH_IPV6 if ipv6 else ETH_IPV4
    if linktype == 1:
        return ethernet(packet, ethertype=et, vlans=vlans)
    if linktype == 0:
        return null_loopback(packet, 30 if ipv6 else 2)
    if linktype == 108:
        return null_loopback(packet, 24 if ipv6 else 2, big_endian=True)
    if linktype in (12, 14, 101, 228, 229):
        return packet
    if linktype == 113:
        return linux_sll(packet, et)
    if linktype == 276:
        return linux_sll2(packet, et)
    if linktype == 239:
        return nflog(packet, family=10 if ipv6 else 2)
    raise ValueError(f"no builder for link type {linktype}")


# -- classic pcap -------------------------------------------------------------------

Record = bytes | tuple[int, bytes] | tuple[int, bytes, int]


def pcap_record(
    data: bytes,
    *,
    ts_ns: int = 0,
    nanosecond: bool = False,
    big_endian: bool = False,
    wire_len: int | None = None,
    incl_len: int | None = None,
) -> bytes:
    order = ">" if big_endian else "<"
    frac = ts_ns % 1_000_000_000 if nanosecond else (ts_ns % 1_000_000_000) // 1000
    return (
        struct.pack(
            order + "IIII",
            ts_ns // 1_000_000_000,
            frac,
            len(data) if incl_len is None else incl_len,
            len(data) if wire_len is None else wire_len,
        )
        + data
    )


def pcap_header(
    *,
    nanosecond: bool = False,
    big_endian: bool = False,
    linktype: int = 1,
    snaplen: int = 65535,
    version: tuple[int, int] = (2, 4),
) -> bytes:
    order = ">" if big_endian else "<"
    magic = 0xA1B23C4D if nanosecond else 0xA1B2C3D4
    return struct.pack(order + "IHHiIII", magic, version[0], version[1], 0, 0, snaplen, linktype)


def pcap_file(
    frames: Iterable[Record],
    *,
    nanosecond: bool = False,
    big_endian: bool = False,
    linktype: int = 1,
    snaplen: int = 65535,
    version: tuple[int, int] = (2, 4),
) -> bytes:
    """A classic pcap. Each frame is bytes, (ts_ns, bytes) or (ts_ns, bytes, wire_len);
    bare bytes get timestamps 1 s apart from 1_700_000_000 s."""
    out = [
        pcap_header(
            nanosecond=nanosecond,
            big_endian=big_endian,
            linktype=linktype,
            snaplen=snaplen,
            version=version,
        )
    ]
    for i, frame in enumerate(frames):
        ts, data, wire = _unpack_record(frame, i)
        if version < (2, 3):
            # old libpcap wrote the two lengths swapped
            out.append(
                pcap_record(
                    data,
                    ts_ns=ts,
                    nanosecond=nanosecond,
                    big_endian=big_endian,
                    incl_len=wire,
                    wire_len=len(data),
                )
            )
            continue
        out.append(
            pcap_record(data, ts_ns=ts, nanosecond=nanosecond, big_endian=big_endian, wire_len=wire)
        )
    return b"".join(out)


def _unpack_record(frame: Record, i: int) -> tuple[int, bytes, int]:
    if isinstance(frame, bytes):
        return (1_700_000_000 + i) * 1_000_000_000, frame, len(frame)
    if len(frame) == 2:
        return frame[0], frame[1], len(frame[1])
    return frame[0], frame[1], frame[2]  # type: ignore[misc]


# -- pcapng -------------------------------------------------------------------------


def pcapng_block(
    btype: int,
    body: bytes,
    *,
    big_endian: bool = False,
    length: int | None = None,
    trailer: int | None = None,
) -> bytes:
    """A generic block; `length`/`trailer` override the two length fields (damage)."""
    order = ">" if big_endian else "<"
    body = body + b"\x00" * (-len(body) % 4)
    total = 12 + len(body)
    return (
        struct.pack(order + "II", btype, total if length is None else length)
        + body
        + struct.pack(order + "I", total if trailer is None else trailer)
    )


def _options(options: Sequence[tuple[int, bytes]], order: str) -> bytes:
    if not options:
        return b""
    out = b""
    for code, value in options:
        out += struct.pack(order + "HH", code, len(value)) + value + b"\x00" * (-len(value) % 4)
    return out + struct.pack(order + "HH", 0, 0)


@dataclass
class Pcapng:
    """Builds a pcapng file block by block; every method returns self.

    >>> Pcapng().section().interface(linktype=1).packet(frame, ts=1).bytes()
    """

    big_endian: bool = False

    def __post_init__(self) -> None:
        self.parts: list[bytes] = []

    @property
    def _order(self) -> str:
        return ">" if self.big_endian else "<"

    def section(self, *, big_endian: bool | None = None) -> Pcapng:
        if big_endian is not None:
            self.big_endian = big_endian
        body = struct.pack(self._order + "IHHq", 0x1A2B3C4D, 1, 0, -1)
        self.parts.append(pcapng_block(0x0A0D0D0A, body, big_endian=self.big_endian))
        return self

    def interface(
        self,
        *,
        linktype: int = 1,
        snaplen: int = 0,
        tsresol: int | None = None,
        tsoffset: int | None = None,
    ) -> Pcapng:
        """`tsresol` is the raw option byte: 9 = ns, 0x80|10 = 2**-10 s."""
        opts: list[tuple[int, bytes]] = [(2, b"eth0")]
        if tsresol is not None:
            opts.append((9, bytes([tsresol])))
        if tsoffset is not None:
            opts.append((14, struct.pack(self._order + "q", tsoffset)))
        body = struct.pack(self._order + "HHI", linktype, 0, snaplen) + _options(opts, self._order)
        self.parts.append(pcapng_block(1, body, big_endian=self.big_endian))
        return self

    def packet(
        self,
        data: bytes,
        *,
        interface: int = 0,
        ts: int = 0,
        wire_len: int | None = None,
        caplen: int | None = None,
    ) -> Pcapng:
        """Enhanced Packet Block; `ts` in the interface's units."""
        body = (
            struct.pack(
                self._order + "IIIII",
                interface,
                ts >> 32,
                ts & 0xFFFFFFFF,
                len(data) if caplen is None else caplen,
                len(data) if wire_len is None else wire_len,
            )
            + data
        )
        body += b"\x00" * (-len(body) % 4) + _options([(1, b"a comment")], self._order)
        self.parts.append(pcapng_block(6, body, big_endian=self.big_endian))
        return self

    def simple(self, data: bytes, *, wire_len: int | None = None) -> Pcapng:
        body = struct.pack(self._order + "I", len(data) if wire_len is None else wire_len) + data
        self.parts.append(pcapng_block(3, body, big_endian=self.big_endian))
        return self

    def obsolete(self, data: bytes, *, interface: int = 0, ts: int = 0) -> Pcapng:
        body = (
            struct.pack(
                self._order + "HHIIII",
                interface,
                0,
                ts >> 32,
                ts & 0xFFFFFFFF,
                len(data),
                len(data),
            )
            + data
        )
        self.parts.append(pcapng_block(2, body, big_endian=self.big_endian))
        return self

    def block(self, btype: int, body: bytes = b"", **damage: int) -> Pcapng:
        """Any other block (NRB 4, ISB 5, DSB 10, custom 0xBAD), or a damaged one."""
        self.parts.append(pcapng_block(btype, body, big_endian=self.big_endian, **damage))
        return self

    def raw(self, data: bytes) -> Pcapng:
        self.parts.append(data)
        return self

    def bytes(self) -> bytes:
        return b"".join(self.parts)


def pcapng_file(
    frames: Iterable[Record],
    *,
    linktype: int = 1,
    big_endian: bool = False,
    tsresol: int | None = 9,
) -> bytes:
    """One section, one interface, EPBs; timestamps in ns (tsresol 9) by default."""
    b = Pcapng(big_endian=big_endian).section().interface(linktype=linktype, tsresol=tsresol)
    for i, frame in enumerate(frames):
        ts, data, wire = _unpack_record(frame, i)
        units = ts if tsresol == 9 else ts // 1000
        b.packet(data, ts=units, wire_len=wire)
    return b.bytes()
